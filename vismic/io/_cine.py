"""Phantom ``.cine`` files (Vision Research), read from the file's documented layout.

Layout (Vision Research, *The Cine File Format*; all little-endian):

- ``CINEFILEHEADER`` (44 bytes at 0): ``Type`` = ``'CI'``, ``Headersize``,
  ``Compression`` (0 grey, 1 JPEG, 2 uninterpolated colour), ``Version`` (1:
  64-bit image offsets), ``FirstMovieImage``, ``TotalImageCount``,
  ``FirstImageNo`` (camera number of the file's first image; the trigger
  image is number 0), ``ImageCount``, ``OffImageHeader``, ``OffSetup``,
  ``OffImageOffsets``, ``TriggerTime``.
- ``BITMAPINFOHEADER`` at ``OffImageHeader``: ``biWidth``, ``biHeight``,
  ``biBitCount`` (8 or 16 for grey), ``biCompression`` (0 unpacked, 256 10-bit
  packed "P10", 1024 12-bit packed "P12L"), ``biSizeImage``.
- ``SETUP`` at ``OffSetup``: ``FrameRate16`` (offset 0), ``Mark`` = ``'ST'`` (140),
  ``Length`` (142), ``bFlipV`` (760), ``FrameRate`` (768, frames per second of
  the capture), ``RealBPP`` (896, significant bits per pixel).
- the pointer array at ``OffImageOffsets``: one 64-bit file offset per image.
  At each offset an annotation block (its first 32-bit word is its size,
  including that word and the 32-bit image size that ends it) precedes the pixels.

Unpacked frames are stored bottom row first (as in a Windows DIB) unless
``bFlipV`` is set; packed frames top row first unless it is set (the reading of
FFmpeg's ``cinedec``). Packed pixels run on across rows, most significant bits
first: P10 holds 4 pixels in 5 bytes, P12L 2 pixels in 3 bytes.

P10 frames are returned as the stored 10-bit codes (0-1023). Phantom's own
software maps these codes to 12-bit linear values through a lookup table that
the public format document does not give; vismic does not apply it. A fixed
point-wise tone curve moves with the image (``f(I(x - d)) = (f o I)(x - d)``), so
the motion vismic recovers is the same; only grey levels differ from Phantom's.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import CorruptVideoError, VideoError
from ._camera import CameraHeader, CameraReader, FrameStore, check_packable, file_size, image_bytes, readable_frames

BI_RGB, BI_PACKED_10, BI_PACKED_12 = 0, 256, 1024
_SETUP_MARK = 0x5453  # 'ST'
_SETUP_MIN_LENGTH = 900  # through RealBPP


def _unpack(fmt: str, data: bytes, offset: int):
    return struct.unpack_from("<" + fmt, data, offset)


class CineReader(CameraReader):
    """A Phantom ``.cine`` file, memory-mapped; see the module docstring for the layout."""

    def __init__(self, path: Path):
        self.path = path
        self.where = f"cine file {str(path)!r}"
        size = self.data_path_size = file_size(path, self.where)
        with open(path, "rb") as file:
            head = file.read(44)
            if len(head) < 44 or head[:2] != b"CI":
                raise CorruptVideoError(f"{self.where} is not a Phantom cine file (it does not start with 'CI')")
            (header_size, compression, version, first_movie, total_count, first_number,
             count, off_bitmap, off_setup, off_table) = _unpack("HHHiIiIIII", head, 2)
            trigger_time = _unpack("II", head, 36)
            if version != 1:
                raise CorruptVideoError(f"{self.where} has cine version {version}; vismic reads version 1")
            if compression != 0:
                kind = {1: "JPEG-compressed", 2: "uninterpolated colour (Bayer)"}.get(compression, f"compression {compression}")
                raise VideoError(f"{self.where} holds {kind} images; vismic reads grey cine files only")
            if count < 1:
                raise CorruptVideoError(f"{self.where}: its header says it holds {count} images")
            for name, offset, length in (("BITMAPINFOHEADER", off_bitmap, 40), ("SETUP", off_setup, 144)):
                if offset < header_size:
                    raise CorruptVideoError(f"{self.where}: the header puts its {name} at byte {offset}, inside the "
                                            f"header itself ({header_size} bytes): the header is damaged")
                if offset + length > size:
                    raise CorruptVideoError(
                        f"{self.where}: the header puts its {name} at byte {offset}, outside the "
                        f"file of {size} bytes (truncated or damaged)"
                    )
            file.seek(off_bitmap)
            bitmap = file.read(40)
            (_, width, height, planes, bit_count, bi_compression, size_image) = _unpack("IiiHHII", bitmap, 0)
            file.seek(off_setup)
            setup = file.read(144)
            mark, setup_length = _unpack("HH", setup, 140)
            if mark != _SETUP_MARK:
                raise CorruptVideoError(f"{self.where}: no SETUP block where the header puts it (byte {off_setup})")
            file.seek(off_setup)
            setup = file.read(max(setup_length, 144))
            table_bytes = 8 * count
            if off_table + table_bytes > size:
                raise CorruptVideoError(
                    f"{self.where} is truncated: its header promises {count} images but the file "
                    f"({size} bytes) ends inside their offset table"
                )
            file.seek(off_table)
            offsets = np.frombuffer(file.read(table_bytes), dtype="<i8").astype(np.int64)
            self._header_size = header_size

        frame_rate16 = _unpack("H", setup, 0)[0]
        long_setup = setup_length >= _SETUP_MIN_LENGTH and len(setup) >= _SETUP_MIN_LENGTH
        flip_v = _unpack("I", setup, 760)[0] if long_setup else 0
        frame_rate = _unpack("I", setup, 768)[0] if long_setup else 0
        real_bpp = _unpack("I", setup, 896)[0] if long_setup else 0

        if width < 1 or height == 0:
            raise CorruptVideoError(f"{self.where}: the header gives a frame size of {width}x{height}")
        if planes != 1:
            raise CorruptVideoError(f"{self.where}: biPlanes is {planes}, a grey image has 1")
        packing, storage = _packing(bi_compression, bit_count, self.where)
        check_packable(width, abs(height), packing, self.where)
        stored_bits = {"u8": 8, "u16le": 16, "p10": 10, "p12": 12}[packing]
        bit_depth = real_bpp if packing == "u16le" and 8 < real_bpp <= 16 else stored_bits
        bottom_up = (packing in ("u8", "u16le")) != bool(flip_v)
        if height < 0:  # a negative DIB height means rows are stored top row first
            height, bottom_up = -height, not bottom_up

        frame_bytes = image_bytes(width, height, packing)
        row_bytes = padded = None
        if packing in ("u8", "u16le"):
            # Rows of a Windows DIB may be padded to 4 bytes: accepted when the image sizes say so.
            row_bytes = width * stored_bits // 8
            padded = (row_bytes + 3) // 4 * 4
        data_offsets, readable = self._frame_layout(offsets, size, frame_bytes)
        if readable:
            sizes = self._image_sizes(data_offsets[:readable])
            if row_bytes is not None and np.all(sizes == padded * height) and padded != row_bytes:
                row_bytes, frame_bytes = padded, padded * height
                readable = readable_frames(size, data_offsets, frame_bytes)
                sizes = sizes[:readable]
            bad = np.flatnonzero(sizes != frame_bytes)
            if bad.size:
                i = int(bad[0])
                raise CorruptVideoError(
                    f"{self.where}: image {i} says it holds {int(sizes[i])} bytes but a {width}x{height} "
                    f"{storage} frame takes {frame_bytes}; the header contradicts the data"
                )
        self.store = FrameStore(path, data_offsets[:readable], width=width, height=height,
                                packing=packing, bottom_up=bottom_up, row_bytes=row_bytes)
        rate, source = (float(frame_rate), "file header (SETUP.FrameRate)") if frame_rate else (
            (float(frame_rate16), "file header (SETUP.FrameRate16)") if frame_rate16 else (None, None))
        trigger = -first_number if 0 <= -first_number < count else None
        self.header = CameraHeader(
            format="Phantom cine", width=width, height=height, frame_count=count, bit_depth=bit_depth,
            storage=storage, fps=rate, fps_source=source, first_frame_number=first_number,
            trigger_index=trigger,
            details={"FirstImageNo": first_number, "ImageCount": count, "TotalImageCount": total_count,
                     "FirstMovieImage": first_movie, "RealBPP": real_bpp, "biBitCount": bit_count,
                     "biCompression": bi_compression, "biSizeImage": size_image, "bFlipV": flip_v,
                     "bottom_up": bottom_up, "TriggerTime": trigger_time[1] + trigger_time[0] / 2**32},
        )

    def _frame_layout(self, offsets: np.ndarray, size: int, frame_bytes: int):
        """Pixel offsets of the frames and how many leading frames the file holds whole."""
        inside = (offsets >= self._header_size) & (offsets <= size - 8)  # not offsets + 8: it overflowed near 2**63
        head_ok = int(inside.size if inside.all() else np.argmin(inside))
        self._check_not_damaged(inside, offsets, "its offset table puts it at byte", size)
        data = np.memmap(self.path, dtype=np.uint8, mode="r")
        where = offsets[:head_ok, None] + np.arange(4)
        annotation = data[where].view("<u4")[:, 0].astype(np.int64) if head_ok else np.zeros(0, np.int64)
        del data
        short = np.flatnonzero(annotation < 8)
        if short.size:
            i = int(short[0])
            raise CorruptVideoError(
                f"{self.where}: image {i} has an annotation block of {int(annotation[i])} bytes "
                "(at least 8 expected); the file is damaged"
            )
        data_offsets = offsets.copy()
        data_offsets[:head_ok] += annotation
        data_offsets[head_ok:] = size + 1  # unreadable
        whole = data_offsets <= size - frame_bytes
        self._check_not_damaged(whole, data_offsets, "its annotation block ends at byte", size)
        return data_offsets, readable_frames(size, data_offsets, frame_bytes)

    def _check_not_damaged(self, whole: np.ndarray, where: np.ndarray, says: str, size: int) -> None:
        """Refuse an image the file cannot hold where a later one lies whole in it: damage, not truncation."""
        bad = np.flatnonzero(~whole)
        if bad.size and whole[bad[0]:].any():
            i = int(bad[0])
            raise CorruptVideoError(
                f"{self.where}: image {i} cannot be read ({says} {int(where[i])}, and the file holds "
                f"{size} bytes) though later images can: the file is damaged, not truncated"
            )

    def _image_sizes(self, data_offsets: np.ndarray) -> np.ndarray:
        """The 32-bit image size that ends each frame's annotation block."""
        data = np.memmap(self.path, dtype=np.uint8, mode="r")
        return data[(data_offsets - 4)[:, None] + np.arange(4)].view("<u4")[:, 0].astype(np.int64)


def _packing(bi_compression: int, bit_count: int, where: str):
    if bi_compression == BI_PACKED_10:
        return "p10", "10-bit packed (P10)"
    if bi_compression == BI_PACKED_12:
        return "p12", "12-bit packed (P12L)"
    if bi_compression != BI_RGB:
        raise CorruptVideoError(
            f"{where}: unknown pixel packing biCompression={bi_compression} (known: 0 unpacked, "
            "256 10-bit packed, 1024 12-bit packed)"
        )
    if bit_count == 8:
        return "u8", "8-bit"
    if bit_count == 16:
        return "u16le", "16-bit little-endian"
    if bit_count in (24, 48):
        raise VideoError(f"{where} holds colour images (biBitCount={bit_count}); vismic reads grey cine files only")
    raise CorruptVideoError(f"{where}: unknown bit depth biBitCount={bit_count} (known: 8 and 16 for grey images)")
