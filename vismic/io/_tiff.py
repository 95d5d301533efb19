"""Multi-page and BigTIFF stacks, read with tifffile.

Uncompressed stacks whose pages lie back to back (what cameras, ImageJ and
``tifffile.imwrite`` write) are memory-mapped and read any frame range at a
time; other stacks (compressed, scattered pages) are decoded page by page, by
tifffile or, for compressions it needs the optional ``imagecodecs`` package
for (LZW, as OpenCV writes), by OpenCV.
Pixels keep their stored type (8, 12 or 16 bit in uint8/uint16). TIFF holds no
capture rate that vismic trusts, so ``fps`` must be given.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from ..errors import CorruptVideoError, FrameShapeError, VideoError, VismicError
from ._camera import MAX_FRAME_BYTES, STREAM_FRAMES


class _Kept(logging.Handler):
    """The messages of the records it is handed (what tifffile logged while reading)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _tifffile_guard(where: str, what: str):
    """Turn whatever tifffile raises on a damaged file into one :class:`CorruptVideoError`.

    tifffile parses untrusted bytes with many kinds of failure (``struct.error``,
    ``zlib.error``, ``IndexError``, ...), and logs what it skips: both are kept off
    the user's screen, replaced by one message naming the file and what was read.
    Yields the list of what it logged (warnings and errors), filled as it reads.
    """
    logger = logging.getLogger("tifffile")
    saved = logger.disabled, logger.propagate, logger.handlers
    kept = _Kept()
    logger.disabled, logger.propagate, logger.handlers = False, False, [kept]
    try:
        yield kept.messages
    except (VismicError, KeyboardInterrupt):
        raise
    except MemoryError as error:
        # pages are checked against the frame limit first, so this is a damaged size field (found by the
        # fuzz tests: a strip of 1.6 billion rows in a 16x16 page asked for 23.8 GiB)
        raise CorruptVideoError(
            f"cannot decode {what} of {where}: it asks for more memory than is free ({str(error)[:120]}); "
            "the file is damaged (a size field out of range)"
        ) from None
    except Exception as error:
        raise CorruptVideoError(
            f"cannot decode {what} of {where}: the file is damaged or not a TIFF it can read "
            f"({type(error).__name__}: {str(error)[:200]})"
        ) from None
    finally:
        logger.disabled, logger.propagate, logger.handlers = saved


class TiffStackReader:
    """A multi-page (or BigTIFF) file; frames are its pages (grey or RGB)."""

    container_fps = None
    capture_fps = None
    capture_fps_source = None
    header = None

    def __init__(self, path: Path):
        import tifffile

        self.path = path
        self.where = f"TIFF file {str(path)!r}"
        with _tifffile_guard(self.where, "the header") as logged, tifffile.TiffFile(path) as tif:
            pages = tif.pages
            n_pages = len(pages)
            if n_pages < 1:
                raise VideoError(f"cannot decode video {str(path)!r}: the TIFF file holds no pages")
            first = pages.first
            # the chain of pages broke (a truncated file, a damaged page list): tifffile stops there, and says so
            # only in its log; the pages before the break read well and would pass for the whole stack
            self.damage = next((line for line in logged if line.startswith("<tifffile.TiffPages")), None)
            self.page_shape = tuple(first.shape)
            if len(self.page_shape) not in (2, 3) or min(self.page_shape) < 1:
                raise VideoError(f"{self.where}: its first page has shape {self.page_shape}, not an image")
            page_bytes = int(np.prod(self.page_shape)) * np.dtype(first.dtype or np.uint8).itemsize
            if page_bytes > MAX_FRAME_BYTES:
                raise VideoError(
                    f"{self.where}: its header declares pages of shape {self.page_shape} "
                    f"({page_bytes / 2**30:.1f} GiB each), more than the {MAX_FRAME_BYTES / 2**30:g} GiB "
                    "vismic reads per frame; the file is damaged or not a video"
                )
            stored = np.dtype(first.dtype or np.uint8)
            if stored.kind not in "buif":
                raise VideoError(f"{self.where} holds pages of {stored} values, not grey levels (vismic reads "
                                 "integer and real-valued images)")
            # Colour samples in separate planes come as (samples, h, w): moved last on reading.
            self.planar = len(first.shape) == 3 and first.planarconfig == 2
            self.full_shape = tuple(first.shape[1:3] if self.planar else first.shape[:2])
            self.bigtiff = tif.is_bigtiff
            self.layout = self._contiguous_layout(tif, n_pages)
            if self.layout is not None:
                self._check_size_on_disk(n_pages)
            self.use_opencv = False
            if self.layout is None:
                try:
                    first.asarray()
                except ValueError:  # a codec tifffile lacks without imagecodecs
                    self.use_opencv = True
        self.count_hint = n_pages
        self._map = None
        self._decoded = None

    def check_complete(self, max_frames: Optional[int]) -> None:
        """Refuse a stack whose chain of pages breaks, unless only the pages before the break are asked for."""
        if self.damage is None or (max_frames is not None and max_frames <= self.count_hint):
            return
        n = self.count_hint
        raise CorruptVideoError(
            f"{self.where} is damaged or truncated: its chain of pages breaks after page {n - 1} "
            f"({self.damage.split('> ', 1)[-1][:120]}). vismic does not present part of a stack as the whole; "
            f"to use the {n} page{'s' if n != 1 else ''} before the damage pass max_frames={n} (--max-frames {n})")

    def _contiguous_layout(self, tif, n_pages: int):
        """``(offset, dtype, shape)`` when every page lies uncompressed back to back, else None."""
        series = tif.series
        if len(series) != 1:
            return None
        one = series[0]
        offset = one.dataoffset
        shape = tuple(one.shape)
        if offset is None or int(np.prod(shape[:-len(self.page_shape)] or (1,))) != n_pages:
            return None
        if tuple(shape[-len(self.page_shape):]) != self.page_shape:
            return None
        dtype = np.dtype(one.dtype).newbyteorder(tif.byteorder)
        return offset, dtype, (n_pages,) + self.page_shape

    def _check_size_on_disk(self, n_pages: int) -> None:
        """Refuse a stack shorter than its pages need (a truncated file), as camera files are."""
        offset, dtype, shape = self.layout
        need = offset + int(np.prod(shape)) * dtype.itemsize
        size = os.stat(self.path).st_size
        if size < need:
            page_bytes = int(np.prod(shape[1:])) * dtype.itemsize
            whole = max(0, (size - offset) // page_bytes)
            raise CorruptVideoError(
                f"{self.where} holds {size} bytes but its {n_pages} pages need {need}: the file is "
                f"truncated and holds only {whole} whole page(s); vismic does not read a damaged stack"
            )

    def _pages_array(self) -> Optional[np.ndarray]:
        if self.layout is None:
            return None
        if self._map is None:
            offset, dtype, shape = self.layout
            self._map = np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=shape)
        return self._map

    def read(self, start: int, count: int) -> np.ndarray:
        """Pages ``start .. start + count - 1`` as stored, ``(count, h, w[, channels])``."""
        pages = self._read(start, count)
        return np.moveaxis(pages, 1, -1) if self.planar else pages

    def _read(self, start: int, count: int) -> np.ndarray:
        stack = self._pages_array()
        if stack is not None:
            return np.asarray(stack[start : start + count]).astype(stack.dtype.newbyteorder("="), copy=False)
        if self.use_opencv:
            return self._read_opencv(start, count)
        import tifffile

        where = f"pages {start}..{start + count - 1}"
        file_bytes = os.stat(self.path).st_size
        with _tifffile_guard(self.where, where), tifffile.TiffFile(self.path) as tif:
            out = []
            for index in range(start, start + count):
                page = tif.pages[index]
                # the sizes its fields declare, checked before decoding: a damaged one can ask for more memory
                # than the machine has, which the system may grant lazily and then end with its OOM killer
                self._check_size(page.shape, index)
                if any(o + n > file_bytes for o, n in zip(page.dataoffsets, page.databytecounts)):
                    raise CorruptVideoError(f"{self.where}: frame {index}'s data runs past the end of the file "
                                            f"({file_bytes} bytes); the file is damaged or truncated")
                page = page.asarray()
                self._check_size(page.shape, index)
                self._check_type(page.dtype, index)
                out.append(page)
        return self._stack(out, start, count)

    def _read_opencv(self, start: int, count: int) -> np.ndarray:
        import cv2

        from ._frames import opencv_path

        with opencv_path(self.path) as name:
            try:
                ok, pages = cv2.imreadmulti(name, start, count, flags=cv2.IMREAD_UNCHANGED)
            except cv2.error:
                ok, pages = False, []
        if not ok or len(pages) != count:
            raise VideoError(f"cannot decode pages {start}..{start + count - 1} of {self.where}")
        out = []
        for index, page in enumerate(pages, start):
            self._check_size(page.shape, index)
            self._check_type(page.dtype, index)
            # OpenCV hands out BGR(A); this reader's frames are RGB(A) like tifffile's.
            out.append(page[..., [2, 1, 0] + ([3] if page.shape[2] == 4 else [])] if page.ndim == 3 else page)
        return self._stack(out, start, count)

    def _check_size(self, shape: tuple, index: int) -> None:
        size = tuple(shape[1:3] if self.planar else shape[:2])
        if size != self.full_shape:
            raise FrameShapeError(
                f"{self.where}: frame {index} has size {size[1]}x{size[0]} (width x "
                f"height) but frame 0 has size {self.full_shape[1]}x{self.full_shape[0]}; all "
                "frames of a video must have one size"
            )

    def _check_type(self, dtype, index: int) -> None:
        """Refuse a page of another type than the first page decoded (as OpenCV or tifffile decode them)."""
        if self._decoded is None:
            self._decoded = (np.dtype(dtype), index)
        elif np.dtype(dtype) != self._decoded[0]:
            # different grey scales: read as one video (np.stack makes them one type) they make steps a
            # thousand times the motion, as a frame folder's would
            raise VideoError(f"{self.where}: page {index} holds {np.dtype(dtype)} values but page "
                             f"{self._decoded[1]} holds {self._decoded[0]}; all frames of a video must have one "
                             "bit depth (convert them alike)")

    def _stack(self, out, start: int, count: int) -> np.ndarray:
        try:
            return np.stack(out)
        except ValueError:
            raise FrameShapeError(f"{self.where}: pages {start}..{start + count - 1} differ in layout") from None

    def frames(self, roi) -> Iterator[np.ndarray]:
        from ._frames import to_grey

        for start in range(0, self.count_hint, STREAM_FRAMES):
            for page in self.read(start, min(STREAM_FRAMES, self.count_hint - start)):
                yield to_grey(page, channel_order="RGB", roi=roi, where=self.where)

    def count(self) -> int:
        return self.count_hint
