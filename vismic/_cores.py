"""How many CPU cores this process may use (its affinity where the OS reports one)."""

from __future__ import annotations

import os

__all__ = ["usable_cores", "map_on_cores"]


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity (Linux), else ``os.cpu_count()``, at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def map_on_cores(function, items, *, threads=None) -> list:
    """``[function(item) for item in items]``, on a thread per core (or ``threads``) when there are several items.

    For work that releases the GIL (numpy, scipy.fft) on items that do not depend on each
    other: the results, in order, are the same on any number of threads.

    Examples
    --------
    >>> map_on_cores(abs, [-2, 3, -4], threads=2)
    [2, 3, 4]
    """
    from concurrent.futures import ThreadPoolExecutor

    items = list(items)
    threads = min(usable_cores() if threads is None else int(threads), len(items))
    if threads < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(threads, thread_name_prefix="vismic-map") as pool:
        return list(pool.map(function, items))
