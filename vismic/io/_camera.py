"""What the camera-file readers share: the header record, bit unpacking, frame stores.

High-speed cameras write their recordings as a header plus raw pixels
(Phantom ``.cine``, Photron ``.cih``/``.cihx`` + ``.mraw``). This module holds
the pieces both readers use:

- :class:`CameraHeader`, what vismic learnt from a file's header (capture
  rate and where it came from, bit depth, frame range, trigger);
- :func:`unpack`, the packed 10- and 12-bit pixel layouts (most
  significant bits first, the layout both vendors use);
- :class:`FrameStore`, frames read straight from a memory map of the file, any
  frame range at a time, at the file's own bit depth;
- :class:`CameraReader`, the reader protocol of :mod:`vismic.io._frames` on top
  of a frame store.

Damaged files raise :class:`~vismic.errors.CorruptVideoError`; see
:func:`check_complete` for what happens to a truncated recording.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import numpy as np

from ..errors import CorruptVideoError, VideoError

#: Largest decoded frame (bytes) a camera header may declare (as ``_frames.MAX_FRAME_BYTES``).
MAX_FRAME_BYTES = 1 << 30

#: Frames a reader decodes per read while streaming single frames.
STREAM_FRAMES = 16

#: Storage layouts a frame store decodes, with their bits per pixel.
PACKINGS = {"u8": 8, "u16le": 16, "p10": 10, "p12": 12}


@dataclass(frozen=True)
class CameraHeader:
    """What a camera file's header says about the recording.

    Attributes
    ----------
    format : str
        ``'Phantom cine'`` or ``'Photron MRAW'``.
    width, height : int
        Frame size in pixels.
    frame_count : int
        Frames the header promises (all of them are in the file: a shorter
        file is refused, see :func:`check_complete`).
    bit_depth : int
        Significant bits per pixel (8, 10, 12, 14 or 16).
    storage : str
        How pixels are stored, e.g. ``'16-bit little-endian'``, ``'12-bit packed'``.
    fps : float or None
        Capture rate (frames of this file per second of real time), or None
        when the header holds none.
    fps_source : str or None
        Where ``fps`` came from, e.g. ``'file header (SETUP.FrameRate)'``.
    first_frame_number : int
        Camera frame number of the file's first frame (the trigger frame is 0).
    trigger_index : int or None
        Index in this file of the trigger frame, None when it is not in the file.
    details : dict
        Further header fields as read (for provenance), names as in the format.
    """

    format: str
    width: int
    height: int
    frame_count: int
    bit_depth: int
    storage: str
    fps: Optional[float]
    fps_source: Optional[str]
    first_frame_number: int = 0
    trigger_index: Optional[int] = None
    details: Dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------- bit unpacking


def _big_endian_pairs(packed: np.ndarray, group: int, n_pairs: int):
    """For each ``group``-byte group, the big-endian 16-bit words starting at bytes 0..n_pairs-1.

    Reading two bytes at a time as one big-endian word puts a packed pixel's
    bits (most significant first) in one integer, so each pixel is a shift and
    a mask of one strided view, with no per-byte arithmetic.
    """
    flat = np.ascontiguousarray(packed).reshape(packed.shape[:-1] + (-1,))
    groups = flat.shape[-1] // group
    lead = int(np.prod(flat.shape[:-1], dtype=np.int64))
    row = flat.shape[-1]
    buffer = flat.reshape(-1)
    if buffer.size == 0:
        return [np.zeros(flat.shape[:-1] + (groups,), np.uint16) for _ in range(n_pairs)]
    # Word k spans bytes k and k + 1 of its group: inside the group for k < group - 1.
    return [
        np.ndarray(shape=(lead, groups), dtype=">u2", buffer=buffer, offset=k, strides=(row, group))
        .reshape(flat.shape[:-1] + (groups,))
        for k in range(n_pairs)
    ]


#: Pixels per byte group of the packed layouts, by bits per pixel: 4 in 5 bytes, 2 in 3.
_GROUP_PIXELS = {10: 4, 12: 2}


def unpack(packed: np.ndarray, bits: int) -> np.ndarray:
    """Unpack 10-bit (4 in 5 bytes) or 12-bit (2 in 3 bytes) pixels, most significant bits first.

    Pixel ``k`` of a group starts in byte ``k`` (true of both layouts), at bit
    ``(k * bits) % 8`` of it, counted from the most significant.

    Parameters
    ----------
    packed : np.ndarray [shape=(..., 5 * k) for 10 bits, (..., 3 * k) for 12], uint8
    bits : {10, 12}

    Returns
    -------
    np.ndarray [shape=(..., 4 * k) for 10 bits, (..., 2 * k) for 12], uint16

    Examples
    --------
    >>> import numpy as np
    >>> unpack(np.array([0xFF, 0xC0, 0x00, 0x00, 0x01], dtype=np.uint8), 10).tolist()
    [1023, 0, 0, 1]
    >>> unpack(np.array([0xAB, 0xC1, 0x23], dtype=np.uint8), 12).tolist()  # 0xABC, 0x123
    [2748, 291]
    """
    n_pixels = _GROUP_PIXELS[bits]
    words = _big_endian_pairs(packed, bits * n_pixels // 8, n_pixels)
    out = np.empty(words[0].shape + (n_pixels,), dtype=np.uint16)
    for k, word in enumerate(words):
        np.bitwise_and(np.right_shift(word, 16 - bits - (k * bits) % 8), (1 << bits) - 1, out=out[..., k])
    return out.reshape(packed.shape[:-1] + (-1,))


def image_bytes(width: int, height: int, packing: str) -> int:
    """Bytes of one stored frame (packed layouts run on across rows, unpadded)."""
    return width * height * PACKINGS[packing] // 8


def check_packable(width: int, height: int, packing: str, where: str) -> None:
    """Refuse frame sizes a packed layout cannot hold as whole pixel groups."""
    # Unpacked frames are uint16 in memory whatever the packing (10/12/16 bit).
    decoded = width * height * (1 if packing == "u8" else 2)
    if width < 1 or height < 1 or decoded > MAX_FRAME_BYTES:
        raise CorruptVideoError(
            f"{where}: the header declares frames of {width}x{height} pixels; vismic reads frames of "
            f"at least 1x1 and at most {MAX_FRAME_BYTES // 2**20} MiB decoded: the header is damaged"
        )
    group = _GROUP_PIXELS.get(PACKINGS.get(packing), 1)
    if (width * height) % group:
        raise CorruptVideoError(
            f"{where}: a {width}x{height} frame is not a whole number of {PACKINGS[packing]}-bit "
            f"pixel groups ({group} pixels each); the header's frame size is wrong"
        )


# --------------------------------------------------------------------------- frame store


class FrameStore:
    """Frames of one file, read from a memory map at the file's own bit depth.

    Parameters
    ----------
    path : pathlib.Path
        The file holding the pixels.
    data_offsets : np.ndarray [shape=(n,)], int64
        Byte offset of each frame's first pixel byte.
    width, height : int
    packing : {'u8', 'u16le', 'p10', 'p12'}
    bottom_up : bool
        Rows are stored bottom row first (they are returned top row first).
    row_bytes : int, optional
        Bytes per stored row when rows are padded (unpacked layouts only;
        the padding is dropped on reading).
    """

    def __init__(self, path: Path, data_offsets: np.ndarray, *, width: int, height: int,
                 packing: str, bottom_up: bool = False, row_bytes: Optional[int] = None):
        self.path = path
        self.offsets = np.asarray(data_offsets, dtype=np.int64)
        self.width, self.height = width, height
        self.packing = packing
        self.bottom_up = bottom_up
        self.frame_bytes = height * row_bytes if row_bytes else image_bytes(width, height, packing)
        self.dtype = np.uint8 if packing == "u8" else np.uint16
        steps = np.diff(self.offsets)
        # Evenly spaced frames (MRAW always, cine nearly always) read as one strided view.
        self.stride = int(steps[0]) if steps.size and np.all(steps == steps[0]) and steps[0] >= self.frame_bytes else None
        self._map = None

    def __len__(self) -> int:
        return self.offsets.size

    def _memmap(self) -> np.ndarray:
        if self._map is None:
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        return self._map

    def _raw(self, start: int, count: int) -> np.ndarray:
        data = self._memmap()
        offsets = self.offsets[start : start + count]
        if self.stride is not None or count == 1:
            stride = self.stride or self.frame_bytes
            first = int(offsets[0])
            span = data[first : first + (count - 1) * stride + self.frame_bytes]
            return np.lib.stride_tricks.as_strided(
                span, shape=(count, self.frame_bytes), strides=(stride, 1), writeable=False
            )
        return np.stack([data[o : o + self.frame_bytes] for o in offsets])

    def read(self, start: int, count: int) -> np.ndarray:
        """Frames ``start .. start + count - 1``, shape ``(count, height, width)``, uint8 or uint16."""
        raw = self._raw(start, count)
        h, w = self.height, self.width
        if self.packing in ("p10", "p12"):
            frames = unpack(raw, PACKINGS[self.packing]).reshape(count, h, w)
        elif self.packing == "u16le":
            frames = raw.view("<u2").reshape(count, h, -1)[:, :, :w]
        else:
            frames = raw.reshape(count, h, -1)[:, :, :w]
        if self.bottom_up:
            frames = frames[:, ::-1]
        return frames.astype(self.dtype, copy=False)

    def close(self) -> None:
        self._map = None


# --------------------------------------------------------------------------- reader protocol


class CameraReader:
    """The :mod:`vismic.io._frames` reader protocol on a :class:`FrameStore`.

    Subclasses set ``path``, ``where``, ``header`` and ``store`` (and may set
    ``readable`` below ``header.frame_count`` for a truncated file).
    """

    path: Path
    where: str
    header: CameraHeader
    store: FrameStore
    container_fps = None

    @property
    def capture_fps(self) -> Optional[float]:
        return self.header.fps

    @property
    def capture_fps_source(self) -> Optional[str]:
        return self.header.fps_source

    @property
    def full_shape(self) -> Tuple[int, int]:
        return (self.header.height, self.header.width)

    @property
    def count_hint(self) -> int:
        return self.header.frame_count

    def count(self) -> int:
        check_complete(self, None)
        return self.header.frame_count

    def read(self, start: int, count: int) -> np.ndarray:
        """Frames ``start .. start + count - 1`` at full depth, ``(count, h, w)`` uint8/uint16."""
        return self.store.read(start, count)

    def frames(self, roi) -> Iterator[np.ndarray]:
        x, y, w, h = roi
        total = min(self.header.frame_count, len(self.store))
        for start in range(0, total, STREAM_FRAMES):
            batch = self.read(start, min(STREAM_FRAMES, total - start))
            for frame in batch[:, y : y + h, x : x + w]:
                yield frame.astype(np.float32)


def readable_frames(file_size: int, data_offsets: np.ndarray, frame_bytes: int) -> int:
    """How many leading frames lie wholly inside a file of ``file_size`` bytes."""
    inside = data_offsets + frame_bytes <= file_size
    return int(inside.size if inside.all() else np.argmin(inside))


def check_complete(reader, max_frames: Optional[int]) -> None:
    """Refuse a truncated recording unless only the frames before the damage are asked for.

    A file shorter than its header promises raises
    :class:`~vismic.errors.CorruptVideoError` saying how many whole frames it
    holds, so that frames up to the damage are never taken for the whole
    recording; passing ``max_frames`` at most that number reads them on purpose.
    """
    readable = len(reader.store)
    promised = reader.header.frame_count
    if readable >= promised or (max_frames is not None and max_frames <= readable):
        return
    raise CorruptVideoError(
        f"{reader.where} is truncated: its header promises {promised} frames but the file holds "
        f"only {readable} whole frames ({reader.data_path_size} bytes). vismic does not present "
        f"part of a recording as the whole; to use the {readable} frames before the damage pass "
        f"max_frames={readable} (--max-frames {readable})"
        if readable
        else f"{reader.where} is truncated: its header promises {promised} frames but the file "
        f"({reader.data_path_size} bytes) holds no whole frame"
    )


def file_size(path: Path, where: str) -> int:
    try:
        info = os.stat(path)
    except OSError as error:
        raise CorruptVideoError(f"cannot read {where}: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        # A FIFO, socket or device would block or never end when opened.
        raise CorruptVideoError(f"cannot read {where}: {str(path)!r} is not a regular file")
    if not os.access(path, os.R_OK):  # a header's data file: its opening raised a bare PermissionError
        raise VideoError(f"cannot read {where}: permission denied")
    return info.st_size
