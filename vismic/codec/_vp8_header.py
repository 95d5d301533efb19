"""The quantiser index of a VP8 frame, read from its frame header (RFC 6386, sections 9 and 19).

FFmpeg's VP8 decoder exports no quantiser (its VP9 decoder does, ``export_side_data``), so
the few header fields before it are decoded here from the packet: the frame tag, and the
first partition's boolean-coded fields up to ``y_ac_qi``.
"""

from __future__ import annotations

from ..errors import ParameterError

__all__ = ["vp8_frame_quantiser", "VP8_SETTING_INDEX"]

#: The frame header's quantiser index (0-127) libvpx codes for each of its 64 quantiser settings
#: (FFmpeg's ``qmin``/``qmax``/``crf`` for libvpx): measured by encoding at each setting
#: (``tests/codec/test_vp8_header.py`` checks a sample of them).
VP8_SETTING_INDEX = (0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 15, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30,
                     31, 33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 64, 67, 70, 73, 76, 79, 82, 85,
                     88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127)

#: Bytes before a key frame's first partition: the 3-byte tag, the start code and the two sizes.
_KEY_HEADER_BYTES = 10
_TAG_BYTES = 3


class _BoolDecoder:
    """VP8's boolean entropy decoder (RFC 6386, section 7), enough to read literals."""

    def __init__(self, data: bytes):
        if len(data) < 2:
            raise ParameterError("a VP8 frame's first partition is shorter than 2 bytes")
        self._data = data
        self._next = 2
        self._value = (data[0] << 8) | data[1]
        self._range = 255
        self._bits = 0

    def read(self, probability: int = 128) -> int:
        split = 1 + (((self._range - 1) * probability) >> 8)
        big_split = split << 8
        if self._value >= big_split:
            bit = 1
            self._range -= split
            self._value -= big_split
        else:
            bit = 0
            self._range = split
        while self._range < 128:
            self._value <<= 1
            self._range <<= 1
            self._bits += 1
            if self._bits == 8:
                self._bits = 0
                if self._next < len(self._data):
                    self._value |= self._data[self._next]
                self._next += 1
        return bit

    def literal(self, bits: int) -> int:
        value = 0
        for _ in range(bits):
            value = (value << 1) | self.read()
        return value

    def skip_optional(self, bits: int, signed: bool = True) -> None:
        """A flag, then (if set) a ``bits``-bit value and its sign."""
        if self.read():
            self.literal(bits + (1 if signed else 0))


def vp8_frame_quantiser(packet: bytes) -> tuple:
    """``(key_frame, q_index)`` of one VP8 frame: whether it is a key frame, and its base quantiser index (0-127).

    ``q_index`` is the header's ``y_ac_qi``, the index every other quantiser of the frame
    is a delta from (segments may add their own on top; libvpx's default settings use
    none). Lower is finer; :data:`VP8_SETTING_INDEX` maps libvpx's settings onto it.

    Raises
    ------
    ParameterError
        The packet is too short to hold a VP8 frame header.

    Examples
    --------
    The first bytes of a 16x16 px key frame and of the frame after it, as libvpx wrote
    them at quantiser setting 10 (the header's index 12):

    >>> vp8_frame_quantiser(bytes.fromhex("7002009d012a100010000107088585888584880602000c0b"))
    (True, 12)
    >>> vp8_frame_quantiser(bytes.fromhex("b1010004103000180030282ff4000400e440"))
    (False, 12)
    """
    packet = bytes(packet)
    if len(packet) < _TAG_BYTES:
        raise ParameterError(f"a VP8 frame needs at least {_TAG_BYTES} bytes, given {len(packet)}")
    tag = packet[0] | (packet[1] << 8) | (packet[2] << 16)
    key = not tag & 1
    first_partition = (tag >> 5) & 0x7FFFF
    start = _KEY_HEADER_BYTES if key else _TAG_BYTES
    decoder = _BoolDecoder(packet[start:start + first_partition])
    if key:
        decoder.literal(2)  # colour space, clamping
    if decoder.read():  # segmentation
        update_map, update_data = decoder.read(), decoder.read()
        if update_data:
            decoder.read()  # absolute or delta values
            for _ in range(4):
                decoder.skip_optional(7)  # each segment's quantiser
            for _ in range(4):
                decoder.skip_optional(6)  # and loop filter level
        if update_map:
            for _ in range(3):
                decoder.skip_optional(8, signed=False)  # the map's probabilities
    decoder.literal(1 + 6 + 3)  # filter type, loop filter level, sharpness
    if decoder.read() and decoder.read():  # loop filter deltas, updated
        for _ in range(8):
            decoder.skip_optional(6)
    decoder.literal(2)  # log2 of the DCT partitions
    return bool(key), decoder.literal(7)
