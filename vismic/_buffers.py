"""Arrays kept for the next call: per thread for work arrays, and handed-out arrays once let go.

Per-batch work that takes a fresh array each time pays for it twice where freed
memory goes back to the system at once (large arrays always do; Dask's workers set
``MALLOC_TRIM_THRESHOLD_`` for small ones too): every call page-faults its array in
anew, and the kernel clears every page first (on this project's machine, in ``perf``, a
large share of ``Stabilise``'s time before its arrays were kept).
"""

from __future__ import annotations

import sys
import threading

import numpy as np

__all__ = ["ThreadBuffer", "ReturnedBuffer"]


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
