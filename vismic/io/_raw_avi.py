"""Uncompressed AVI files read straight from the file, without a decoder.

A raw AVI (8-bit grey ``Y800``/``Y8``/``GREY``, or 24-bit ``BI_RGB``) stores each
frame as plain bytes at the place its index (``idx1``) names, so a batch of frames
is one read of the file: any frame range is reached directly (workers of a parallel
run each read their own), and nothing is decoded. Plain reads rather than a memory
map: a mapped file's pages stay in the process's memory as it is read. Only an
intact file with one frame size throughout takes this path, OpenDML files over
1 GB included; any other (a damaged index, dropped frames, an OpenDML file whose
``ix00`` indexes are unreadable) goes to OpenCV, which locates and fills lost frames.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from ._avi import AviIndex, first_video_stream, read_avi_index

__all__ = ["RawAviReader", "raw_avi_reader"]

_GREY_CODES = (b"Y800", b"Y8  ", b"GREY")
_BI_RGB = b"\0\0\0\0"


@dataclass(frozen=True)
class RawLayout:
    """How one raw frame lies in its chunk."""

    height: int
    width: int
    channels: int
    row_bytes: int
    bottom_up: bool
    rate: Optional[float]


def raw_layout(path: Path) -> Optional[RawLayout]:
    """The frame layout of an uncompressed 8-bit grey or 24-bit colour AVI, or None for any other file."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(0)
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"AVI ":
                return None
            found = first_video_stream(handle, size)
    except (OSError, struct.error):
        return None
    strh, strf = (found.get(b"strh", b""), found.get(b"strf", b"")) if found else (b"", b"")
    if len(strh) < 28 or len(strf) < 20:
        return None
    scale, rate = struct.unpack_from("<II", strh, 20)
    _, width, height, _, bits, compression = struct.unpack_from("<IiiHH4s", strf, 0)
    if width <= 0 or height == 0:
        return None
    if compression in _GREY_CODES and bits == 8:
        channels, bottom_up = 1, False
    elif compression == _BI_RGB and bits == 24:
        channels, bottom_up = 3, height > 0
    else:
        return None
    height = abs(height)
    row_bytes = (width * channels + 3) // 4 * 4 if compression == _BI_RGB else width * channels
    fps = rate / scale if rate and scale else None
    return RawLayout(height, width, channels, row_bytes, bottom_up, fps)


def raw_avi_reader(path: Path) -> Optional["RawAviReader"]:
    """A :class:`RawAviReader` when ``path`` is an intact raw AVI this module reads, else None."""
    layout = raw_layout(path)
    if layout is None:
        return None
    index = read_avi_index(path)
    if index is None or index.n_frames == 0 or index.damaged or not index.complete:
        return None
    frame_bytes = layout.row_bytes * layout.height
    if any(size != frame_bytes for size in index.sizes):  # dropped (empty) or odd chunks
        return None
    return RawAviReader(path, layout, index)


class ReadBuffer:
    """Memory a reader fills again on each read (grown when a read needs more).

    A worker reading batch after batch of a long video would otherwise take a fresh
    block per batch; where freed memory goes back to the system at once (Dask's
    workers set ``MALLOC_TRIM_THRESHOLD_=65536``), every block is page-faulted in
    anew (16 MB per 64 frames of 512x512), and a Dask worker's tasks ran slower than
    a process pool worker's on the same frames.
    """

    def __init__(self):
        self._data = np.empty(0, dtype=np.uint8)

    def take(self, nbytes: int) -> np.ndarray:
        """``nbytes`` bytes of this buffer (earlier views of it are overwritten by the next read)."""
        if self._data.nbytes < nbytes:
            self._data = np.empty(0, dtype=np.uint8)  # the old block goes before the new one is taken
            self._data = np.empty(int(nbytes), dtype=np.uint8)
        return self._data[:nbytes]


class RawAviReader:
    """Frames of an intact raw AVI, read straight from the file (see :func:`raw_avi_reader`).

    Frames come out as stored: ``(n, height, width)`` uint8 grey, or
    ``(n, height, width, 3)`` RGB, as views of the bytes read.
    """

    strict = False
    reads_into = True  # read(..., into=ReadBuffer) reuses memory

    def __init__(self, path: Path, layout: RawLayout, index: AviIndex):
        self.path = path
        self.where = f"video {str(path)!r}"
        self.layout = layout
        self.container_fps = layout.rate
        self.count_hint = index.n_frames
        self.full_shape = (layout.height, layout.width)
        self._offsets = np.asarray(index.offsets, dtype=np.int64)
        self._frame_bytes = layout.row_bytes * layout.height

    def read(self, start: int, count: int, *, into: Optional["ReadBuffer"] = None) -> np.ndarray:
        """Frames ``start .. start + count - 1``; with ``into``, views of its memory (valid until its next use)."""
        stop = min(start + count, self.count_hint)
        if stop <= start:
            return self._frames_in(np.empty(0, dtype=np.uint8), 0, self._frame_bytes)
        steps = np.diff(self._offsets[start:stop])
        # one read of the span (frames and the chunk headers between them) when the frames lie evenly
        # spaced (not across the parts of an OpenDML file); plain reads, not a memory map, so the
        # process does not keep the file's pages
        with open(self.path, "rb") as handle:
            if stop - start == 1 or (steps[0] > 0 and np.all(steps == steps[0])):
                stride = int(steps[0]) if len(steps) else self._frame_bytes
                span = (stop - start - 1) * stride + self._frame_bytes
                return self._frames_in(self._read_span(handle, int(self._offsets[start]), span, into),
                                       stop - start, stride)
            return np.stack([self._frames_in(self._read_span(handle, int(self._offsets[i]), self._frame_bytes), 1,
                                             self._frame_bytes)[0] for i in range(start, stop)])

    def _read_span(self, handle, offset: int, size: int, into: Optional["ReadBuffer"] = None) -> np.ndarray:
        data = np.empty(size, dtype=np.uint8) if into is None else into.take(size)
        handle.seek(offset)
        if handle.readinto(memoryview(data)) != size:
            from ..errors import CorruptVideoError

            raise CorruptVideoError(f"{self.where} is shorter than its index says (changed while being read?)")
        return data

    def _frames_in(self, data: np.ndarray, n: int, stride: int) -> np.ndarray:
        layout = self.layout
        shape = (n, layout.height, layout.width) + ((3,) if layout.channels == 3 else ())
        strides = (stride, layout.row_bytes) + ((layout.channels, 1) if layout.channels == 3 else (1,))
        frames = np.lib.stride_tricks.as_strided(data, shape=shape, strides=strides, writeable=False)
        if layout.bottom_up:
            frames = frames[:, ::-1]
        if layout.channels == 3:
            frames = frames[..., ::-1]  # stored BGR
        return frames

    def frames(self, roi) -> Iterator[np.ndarray]:
        from ._frames import to_grey

        for start in range(self.count_hint):
            yield to_grey(self.read(start, 1)[0], channel_order="RGB", roi=roi, where=self.where)

    def count(self) -> int:
        return self.count_hint
