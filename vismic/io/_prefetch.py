"""Decoding overlapped with compute: read the next batches in a thread while the current one is processed.

Decoders (OpenCV's FFmpeg, PNG/TIFF codecs, file reads) release the GIL, so one
reader thread keeps the next batch ready while numpy/BLAS work on this one.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator

__all__ = ["prefetch"]

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable, *, depth: int = 2) -> Iterator:
    """Yield the items of ``items``, read ahead by up to ``depth`` items in a background thread.

    An exception raised while reading is raised here, at the item where it
    happened. Closing the generator early (``break``, an error downstream) stops
    the reader after the item it is reading.

    Examples
    --------
    >>> list(prefetch(range(5)))
    [0, 1, 2, 3, 4]
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, given depth={depth!r}")
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    main = threading.main_thread()

    def put(item) -> bool:
        # also stops once the program's main thread has ended: an error that ends the program can leave
        # this generator suspended (its traceback holds it) until the interpreter exits
        while not stop.is_set() and main.is_alive():
            try:
                slots.put(item, timeout=0.1)
                return not stop.is_set() and main.is_alive()  # stopped while it waited: read no further
            except queue.Full:
                continue
        return False

    def read():
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            put(_Failure(error))
            return
        put(_DONE)

    # not a daemon: the interpreter kills daemon threads where they stand, and one inside a decoder's
    # C++ code took the process down with it (SIGABRT, "terminate called without an active exception")
    reader = threading.Thread(target=read, name="vismic-reader", daemon=False)
    reader.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        # a reader waiting for a free slot gets one now and stops, rather than at its put's next
        # timeout (a tenth of a second at the end of every run)
        _drain(slots)
        reader.join()
        _drain(slots)


def _drain(slots: queue.Queue) -> None:
    while True:
        try:
            slots.get_nowait()
        except queue.Empty:
            return
