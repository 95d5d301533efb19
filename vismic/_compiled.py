"""Hot loops compiled with numba when it is installed (optional: every loop has a numpy twin).

:func:`compiled` gives a function compiled on first use (``nogil``, so threads
run it side by side; cached on disk where numba finds a writable place), or
False without numba. Loading numba's compiler costs a process a few tenths of a
second and about 100 MB (``benchmarks/bench_speed.py`` prints both), so code
that can run without it asks :func:`numba_loaded` before paying for it.
"""

from __future__ import annotations

import sys

__all__ = ["compiled", "numba_loaded"]

_KERNELS: dict = {}  # the compiled loops once built; False when numba is missing


def compiled(function):
    """``function`` compiled with numba (built once per process), or False when numba is not installed."""
    key = (function.__module__, function.__qualname__)
    found = _KERNELS.get(key)
    if found is None:
        try:
            import numba
        except ImportError:
            found = False
        else:
            found = _jit(numba, function)
        _KERNELS[key] = found
    return found


def numba_loaded() -> bool:
    """Whether this process has imported numba already (its loops then cost no load)."""
    return "numba" in sys.modules


def _jit(numba, function):
    try:
        return numba.njit(nogil=True, cache=True)(function)
    except RuntimeError:  # no writable cache location (read-only install and home): compile in each process
        return numba.njit(nogil=True)(function)
