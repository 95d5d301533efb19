"""Arrays kept per thread for the next call of the same shape.

Per-batch work that takes a fresh array each time pays for it twice where freed
memory goes back to the system at once (Dask's workers set
``MALLOC_TRIM_THRESHOLD_``): every call page-faults its array in anew.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["ThreadBuffer"]


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
