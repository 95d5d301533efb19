"""The per-frame region scores, kept off the heap once they are long, and filtered in chunks.

The combination needs, per frame, only each region's pooled scores (two numbers a
region). Everything else it computes from second-order statistics of those
series and from a few 1-D signals, so the series can live in an anonymous
temporary file and be read back in chunks: memory stays flat in the video's length.
Zero-phase filters run forward over the chunks and then backward, carrying the
filter state across chunk borders, so their output equals one
``scipy.signal.sosfiltfilt`` over the whole series (to float rounding).
"""

from __future__ import annotations

import tempfile
import threading
from typing import Iterator, Optional

import numpy as np
from scipy import signal

#: Bytes of series kept in memory before they move to a temporary file.
SPILL_BYTES = 2 * 2**20
#: Bytes per chunk when reading a series back.
CHUNK_BYTES = 2**20


class RegionSeries:
    """An append-only ``(m, n)`` float64 series, growing in ``n`` (time).

    Parameters
    ----------
    m : int
        Values per frame.
    spill_bytes : int
        Above this size the series moves to an anonymous temporary file
        (deleted by the OS when closed, also on a crash).

    Examples
    --------
    >>> s = RegionSeries(2)
    >>> s.append(np.ones((2, 3))); s.append(np.zeros((2, 2)))
    >>> s.n, s.read(2, 4).tolist()
    (5, [[1.0, 0.0], [1.0, 0.0]])
    """

    def __init__(self, m: int, *, spill_bytes: int = SPILL_BYTES):
        self.m = int(m)
        self.n = 0
        self.spill_bytes = int(spill_bytes)
        self._memory = np.empty((0, self.m))  # time-major: one row per frame
        self._file = None
        self._lock = threading.Lock()
        self._mean = None

    @classmethod
    def from_array(cls, values: np.ndarray, **kwargs) -> "RegionSeries":
        values = np.asarray(values, dtype=np.float64)
        series = cls(values.shape[0], **kwargs)
        series.append(values)
        return series

    def append(self, block: np.ndarray) -> None:
        """Add ``block`` of shape (m, k): k more frames."""
        block = np.ascontiguousarray(np.asarray(block, dtype=np.float64).T)
        if block.shape[1:] != (self.m,):
            raise ValueError(f"a block of shape ({self.m}, k) was expected, given {block.T.shape}")
        self._mean = None
        if self._file is None and (self.n + len(block)) * self.m * 8 > self.spill_bytes:
            self._file = tempfile.TemporaryFile(prefix="vismic-series-")
            self._file.write(self._memory[: self.n].tobytes())
            self._memory = None
        if self._file is not None:
            self._file.seek(self.n * self.m * 8)
            self._file.write(block.tobytes())
        else:
            if self.n + len(block) > len(self._memory):
                limit = max(self.spill_bytes // (8 * self.m), self.n + len(block))
                grown = np.empty((min(max(2 * len(self._memory), self.n + len(block), 256), limit), self.m))
                grown[: self.n] = self._memory[: self.n]
                self._memory = grown
            self._memory[self.n: self.n + len(block)] = block
        self.n += len(block)

    def update(self, frames: np.ndarray, values: np.ndarray) -> None:
        """Overwrite frames ``frames`` (increasing indices, already appended) with ``values`` of shape (m, len(frames))."""
        frames = np.asarray(frames, dtype=np.int64)
        values = np.ascontiguousarray(np.asarray(values, dtype=np.float64).T)
        if values.shape != (len(frames), self.m) or (frames.size and (frames.min() < 0 or frames.max() >= self.n)):
            raise ValueError(f"values of shape ({self.m}, {len(frames)}) for frames below {self.n} were expected")
        self._mean = None
        if self._file is None:
            self._memory[frames] = values
            return
        with self._lock:
            for frame, row in zip(frames, values):
                self._file.seek(int(frame) * self.m * 8)
                self._file.write(row.tobytes())

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def mean(self) -> np.ndarray:
        """Mean over time, (m,); summed in fixed chunks, so it does not depend on how frames were appended."""
        if self._mean is None:
            total = np.zeros(self.m)
            for _, values in self.chunks():
                total += values.sum(axis=1)
            self._mean = total / max(self.n, 1)
        return self._mean

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start:stop`` as an (m, stop - start) array."""
        start, stop = max(int(start), 0), min(int(stop), self.n)
        if stop <= start:
            return np.empty((self.m, 0))
        if self._file is None:
            return self._memory[start:stop].T.copy()
        values = np.empty((stop - start, self.m))
        with self._lock:  # several threads may read one series at once (the combination's statistics)
            self._file.seek(start * self.m * 8)
            self._file.readinto(memoryview(values).cast("B"))
        return values.T.copy()

    @property
    def chunk_frames(self) -> int:
        """Frames a chunk holds by default: near :data:`CHUNK_BYTES`, at least 64."""
        return max(64, CHUNK_BYTES // (8 * self.m))

    def chunks(self, size: Optional[int] = None, *, reverse: bool = False) -> Iterator[tuple]:
        """``(start, values)`` of consecutive chunks of at most ``size`` frames (last first when ``reverse``).

        The default size is :attr:`chunk_frames`.
        """
        size = size or self.chunk_frames
        starts = range(0, self.n, size)
        for start in (reversed(starts) if reverse else starts):
            yield start, self.read(start, start + size)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


class Extended:
    """A series seen as ``[head, series - offset, tail]`` (ends padded for a zero-phase filter)."""

    def __init__(self, series: RegionSeries, head: np.ndarray, tail: np.ndarray, offset: np.ndarray):
        self.series, self.head, self.tail, self.offset = series, head, tail, offset[:, None]
        self.length = head.shape[1] + series.n + tail.shape[1]

    def chunks(self):
        """``(start, values)`` in time order, the padding included (negative start for the head)."""
        if self.head.shape[1]:
            yield -self.head.shape[1], self.head
        for start, values in self.series.chunks():
            yield start, values - self.offset
        if self.tail.shape[1]:
            yield self.series.n, self.tail


def streamed_filtfilt(sos: np.ndarray, extended: Extended) -> Iterator[tuple]:
    """Zero-phase ``sos`` filtering of ``extended`` (as ``sosfiltfilt(..., padlen=0)`` on the padded series).

    Yields ``(start, values)`` chunks of the output for frames ``0 .. n-1`` of the
    series, last chunk first; the padding is filtered but not returned.
    """
    n_frames = extended.series.n
    zi = signal.sosfilt_zi(sos)[:, None, :]  # (sections, 1, 2)
    forward = RegionSeries(extended.series.m, spill_bytes=extended.series.spill_bytes)
    state = None
    starts = []
    for start, block in extended.chunks():
        if state is None:
            state = zi * block[:, :1][None]
        out, state = signal.sosfilt(sos, block, axis=-1, zi=state)
        forward.append(out)
        starts.append(start)
    head = extended.head.shape[1]
    state = None
    for start, block in forward.chunks(reverse=True):
        block = block[:, ::-1]
        if state is None:
            state = zi * block[:, :1][None]
        out, state = signal.sosfilt(sos, block, axis=-1, zi=state)
        out = out[:, ::-1]
        first = start - head  # frame index of out[:, 0]
        lo, hi = max(0, -first), min(out.shape[1], n_frames - first)
        if hi > lo:
            yield first + lo, out[:, lo:hi]
    forward.close()


def scipy_padding(series: RegionSeries, sos: np.ndarray, offset: np.ndarray) -> Extended:
    """The odd extension ``scipy.signal.sosfiltfilt`` pads with by default."""
    padlen = 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    first = series.read(0, padlen + 1) - offset[:, None]
    last = series.read(series.n - padlen - 1, series.n) - offset[:, None]
    head = 2 * first[:, :1] - first[:, padlen:0:-1]
    tail = 2 * last[:, -1:] - last[:, -2::-1]
    return Extended(series, head, tail, offset)


def filtered_chunks(series: RegionSeries, filter_spec: Optional[tuple]) -> Iterator[tuple]:
    """``(start, values)`` of the mean-removed series, zero-phase high-passed per ``filter_spec``.

    ``filter_spec`` is None (mean removed only) or ``(sos, padding)``, with
    ``padding(series, sos, offset)`` returning the padded :class:`Extended` view
    (:func:`scipy_padding`, or the trend padding of :func:`vismic.denoise.highpass`).
    """
    offset = series.mean()
    if filter_spec is None:
        for start, values in series.chunks():
            yield start, values - offset[:, None]
        return
    sos, padding = filter_spec
    yield from streamed_filtfilt(sos, padding(series, sos, offset))
