"""Arrays kept for the next call: per thread for work arrays, handed-out arrays once let go, and a stage's held frames.

Per-batch work that takes a fresh array each time pays for it twice where freed
memory goes back to the system at once (large arrays always do; Dask's workers set
``MALLOC_TRIM_THRESHOLD_`` for small ones too): every call page-faults its array in
anew, and the kernel clears every page first (on this project's machine, in ``perf``, a
large share of ``Stabilise``'s time before its arrays were kept).
"""

from __future__ import annotations

import sys
import threading
from typing import Optional

import numpy as np

__all__ = ["ThreadBuffer", "ReturnedBuffer", "FrameQueue", "held_dtype"]


class ThreadBuffer:
    """One array of ``dtype`` per thread, reused while the shape asked for stays the same.

    Examples
    --------
    >>> buffer = ThreadBuffer(np.float32)
    >>> a = buffer.get((2, 3))
    >>> a is buffer.get((2, 3)), a.dtype.name
    (True, 'float32')
    """

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self._local = threading.local()

    def get(self, shape) -> np.ndarray:
        """An uninitialised array of ``shape`` (the same one as this thread's last call of that shape)."""
        found = getattr(self._local, "array", None)
        if found is None or found.shape != tuple(shape):
            self._local.array = None  # the old one is freed before the new one is taken
            self._local.array = found = np.empty(shape, dtype=self.dtype)
        return found


class ReturnedBuffer:
    """Memory for arrays a stage hands to its caller, used again once the caller let go of them.

    :meth:`get` gives a view of the memory of one of the ``keep`` arrays it gave
    last when nothing but this object refers to that memory any more (every view of
    an array refers to it: a caller that kept the batch, or any slice of it, keeps it
    too); otherwise a fresh array, which replaces the oldest kept. Two by default: a
    loop ``out = stage.transform(batch)`` still holds the last batch while the stage
    makes the next. CPython's reference counts tell; elsewhere (or without the GIL)
    every call takes a fresh array.

    Examples
    --------
    >>> buffer = ReturnedBuffer(np.float32, keep=1)
    >>> kept = buffer.get((4, 3))[1:]
    >>> np.shares_memory(kept, buffer.get((4, 3)))   # a slice of the last array is still held
    False
    >>> address = lambda array: array.__array_interface__["data"][0]
    >>> first = address(buffer.get((4, 3)))          # the array given back at once
    >>> address(buffer.get((2, 6))) == first         # so its memory serves the next call
    True
    """

    _COUNTS_TELL = sys.implementation.name == "cpython" and getattr(sys, "_is_gil_enabled", lambda: True)()

    def __init__(self, dtype, *, keep: int = 2):
        self.dtype = np.dtype(dtype)
        self.keep = int(keep)
        self._memories: list = []

    def get(self, shape) -> np.ndarray:
        """An uninitialised array of ``shape``."""
        size = int(np.prod(shape))
        if self._COUNTS_TELL:
            for memory in self._memories:
                # references: the list, the loop's name and getrefcount's argument: nothing else holds it
                if memory.size >= size and sys.getrefcount(memory) <= 3:
                    return memory[:size].reshape(shape)
        memory = None
        del self._memories[:max(0, len(self._memories) - self.keep + 1)]  # one still held stays with its holder
        self._memories.append(np.empty(size, dtype=self.dtype))
        return self._memories[-1].reshape(shape)


def held_dtype(dtype) -> np.dtype:
    """How the stage holds frames of ``dtype``: integers as they are stored (uint8 is a quarter of float32), others as float32.

    >>> held_dtype(np.uint8), held_dtype(np.float64)
    (dtype('uint8'), dtype('float32'))
    """
    dtype = np.dtype(dtype)
    return dtype if np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2 else np.dtype(np.float32)


class FrameQueue:
    """Frames held back: appended at the end, taken from the front, without copying the rest each time.

    A batch's arrival copied every held frame again (``np.concatenate``); here the
    held frames move only when the buffer must be compacted or grown. :meth:`take` returns a view that the next
    :meth:`append` may overwrite. ``capacity`` frames are set aside at the first append (memory the
    system gives only as it is written): a stage that knows how many frames it will hold does not
    grow the buffer, each growth copying the held frames into fresh memory.
    """

    def __init__(self, capacity: int = 64):
        self._data: Optional[np.ndarray] = None
        self._lo = self._hi = 0
        self.capacity = int(capacity)

    def __len__(self) -> int:
        return self._hi - self._lo

    @property
    def frame_shape(self) -> Optional[tuple]:
        """Shape of one frame, once any was appended."""
        return None if self._data is None else self._data.shape[1:]

    @property
    def frames(self) -> np.ndarray:
        """The held frames (a view)."""
        return self._data[self._lo:self._hi]

    def append(self, frames: np.ndarray) -> None:
        n, held = len(frames), len(self)
        dtype = held_dtype(frames.dtype)
        if self._data is not None and not np.can_cast(dtype, self._data.dtype, "safe"):
            dtype = np.promote_types(dtype, self._data.dtype)  # e.g. a float batch after integer ones
            widened = np.empty((max(int(1.5 * (held + n)) + 1, self.capacity),) + self._data.shape[1:], dtype=dtype)
            widened[:held] = self.frames
            self._data, self._lo, self._hi = widened, 0, held
        if self._data is None:
            self._data = np.empty((max(n, self.capacity),) + frames.shape[1:], dtype=dtype)
        elif self._hi + n > len(self._data):
            if held + n <= 0.75 * len(self._data):  # room enough at the front: move the held frames there
                # frame by frame, front first: numpy would copy the overlapping views through a temporary as
                # large as the held frames, whose fresh pages the kernel must clear
                for i in range(held):
                    self._data[i] = self._data[self._lo + i]
            else:  # grow by half: the buffer stays within 1.5x what must be held (a concatenation took 2x)
                grown = np.empty((int(1.5 * (held + n)) + 1,) + self._data.shape[1:], dtype=self._data.dtype)
                grown[:held] = self.frames
                self._data = grown
            self._lo, self._hi = 0, held
        self._data[self._hi:self._hi + n] = frames
        self._hi += n

    def take(self, count: int) -> np.ndarray:
        out = self._data[self._lo:self._lo + count]
        self._lo += count
        return out
