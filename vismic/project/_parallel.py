"""Frame batches projected by workers of any ``concurrent.futures``-style executor.

A task carries the reference frame and the transform's parameters, never the
templates: each worker process builds the templates of a reference once and keeps
them (a few hundred MB at most) for every later batch, so the same code runs on a
process pool, a thread pool or a Dask cluster (``client.get_executor()``), with
only frames and the 1-MB reference crossing the wire. Results come back in order.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Iterable, Iterator

import numpy as np

from ..errors import VismicError
from ._templates import Templates, make_templates, project

__all__ = ["ProjectTask", "map_ordered", "project_batches", "WorkerError", "process_pool", "dask_executor"]

#: Templates kept in each worker process, by reference digest and parameters.
_WORKER_TEMPLATES: dict = {}


class WorkerError(VismicError, RuntimeError):
    """A worker died or failed while projecting frames."""


class ProjectTask:
    """Picklable ``task(frames) -> scores (n_regions, 2, n)`` for one reference.

    Parameters
    ----------
    reference : np.ndarray [shape=(height, width)], float32
    n_levels, grid, biort, qshift
        As for :func:`make_templates`.
    device : str, optional
        As for :func:`project`.
    templates : Templates, optional
        Already built (kept by the process that built them; not pickled).
    """

    def __init__(self, reference, *, n_levels, grid, biort, qshift, device=None, templates=None):
        self.reference = np.ascontiguousarray(reference, dtype=np.float32)
        self.params = (int(n_levels), tuple(int(g) for g in grid), str(biort), str(qshift))
        self.device = device
        self.key = (hashlib.sha1(self.reference.tobytes()).hexdigest(), self.reference.shape) + self.params
        if templates is not None:
            _remember(self.key, templates)

    def templates(self) -> Templates:
        found = _WORKER_TEMPLATES.get(self.key)
        if found is None:
            n_levels, grid, biort, qshift = self.params
            found = _remember(self.key, make_templates(self.reference, n_levels=n_levels, grid=grid, biort=biort,
                                                       qshift=qshift))
        return found

    def __call__(self, frames) -> np.ndarray:
        return project(frames, self.templates(), device=self.device)


def _remember(key, templates: Templates) -> Templates:
    if len(_WORKER_TEMPLATES) >= 2:  # keyframe references arrive in order: keep the newest
        _WORKER_TEMPLATES.pop(next(iter(_WORKER_TEMPLATES)))
    _WORKER_TEMPLATES[key] = templates
    return templates


def _max_pending(executor) -> int:
    workers = getattr(executor, "_max_workers", None)
    if not workers:
        try:  # a Dask ClientExecutor
            workers = sum(executor._client.nthreads().values())
        except Exception:  # noqa: BLE001 - any executor without a worker count
            workers = 2
    return 2 * max(1, int(workers))


def map_ordered(task, items: Iterable, executor, *, max_pending=None) -> Iterator:
    """``(label, task(payload))`` for each ``(label, payload)`` of ``items``, computed on ``executor``.

    Results are yielded in order, with at most ``max_pending`` in flight; only the
    payload travels to the worker.

    Keeps memory bounded however long the input: a new item is read only when an
    earlier result has been taken. A failed or dead worker raises
    :class:`WorkerError` naming the cause; the remaining work is cancelled.
    """
    limit = max_pending or _max_pending(executor)
    pending: deque = deque()
    try:
        for label, payload in items:
            pending.append((label, executor.submit(task, payload)))
            while len(pending) >= limit:
                label, future = pending.popleft()
                yield label, _result(future)
        while pending:
            label, future = pending.popleft()
            yield label, _result(future)
    finally:
        for _, future in pending:
            future.cancel()


def _result(future):
    try:
        return future.result()
    except VismicError:
        raise
    except Exception as error:  # noqa: BLE001 - BrokenProcessPool, a killed Dask worker, ...
        raise WorkerError(f"a worker failed while projecting frames: {type(error).__name__}: {error}") from error


def project_batches(stage, batches: Iterable, executor=None) -> Iterator:
    """The :class:`~vismic.project.Project` stage's outputs for ``batches``, in order.

    Without an executor this is ``stage.transform`` batch by batch. With one, the
    batches that set the reference are projected here, and every later batch by a
    worker; the outputs are the same (to float32 rounding) either way.
    """
    batches = _regrouped(batches)
    if executor is None:
        for batch in batches:
            out = stage.transform(batch)
            if out is not None:
                yield out
    else:
        for batch in batches:
            out = stage.transform(batch)
            if out is not None:
                yield out
                break
        task = stage.parallel_task()
        if task is not None:
            labelled = (((batch.start, batch.fps), batch.frames) for batch in batches)
            for (start, fps), scores in map_ordered(task, labelled, executor):
                yield stage.band_signals(scores, start, fps)
    held = stage.flush()
    if held is not None:
        yield held


def _one_blas_thread() -> None:
    """Worker initializer: one BLAS thread per worker process (the workers share the cores)."""
    import ctypes
    import glob
    import os

    import numpy
    import scipy

    for package in (numpy, scipy):
        for path in glob.glob(os.path.join(os.path.dirname(package.__file__) + ".libs", "*openblas*")):
            try:
                library = ctypes.CDLL(path)
            except OSError:
                continue
            for name in ("openblas_set_num_threads", "openblas_set_num_threads64_",
                         "scipy_openblas_set_num_threads64_"):
                setter = getattr(library, name, None)
                if setter is not None:
                    setter(1)
                    break


def process_pool(workers):
    """A process pool of ``workers`` single-threaded workers (spawned: no fork of a threaded process)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .._checks import check_positive_int

    workers = check_positive_int(workers, "workers")
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_blas_thread)


class dask_executor:
    """``with dask_executor("tcp://host:8786") as executor:`` a Dask client's executor, closed afterwards.

    Raises
    ------
    ImportError
        ``dask.distributed`` is not installed (``pip install 'vismic[distributed]'``).
    WorkerError
        The scheduler does not answer within ``timeout_seconds``.
    """

    def __init__(self, address: str, *, timeout_seconds: float = 10.0):
        self.address = address
        self.timeout_seconds = timeout_seconds
        self.client = None

    def __enter__(self):
        try:
            from distributed import Client
        except ImportError:
            raise ImportError("a Dask scheduler needs dask.distributed: pip install 'vismic[distributed]'") from None
        try:
            self.client = Client(self.address, timeout=self.timeout_seconds)
        except (OSError, TimeoutError, ValueError) as error:
            raise WorkerError(f"the Dask scheduler at {self.address!r} did not answer within "
                              f"{self.timeout_seconds:g} s ({type(error).__name__}: {error})") from None
        return self.client.get_executor()

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        return False


def _regrouped(batches: Iterable) -> Iterator:
    """The frames of ``batches`` in batches of exactly one matrix product each (the last one shorter).

    Small batches (byte-sized ones of large frames) then cost no padding, and a
    worker's task is a whole product.
    """
    from ..data import FrameBatch
    from ._templates import chunk_frames

    pending, count, size = [], 0, None
    for batch in batches:
        if size is None:
            size = chunk_frames(batch.shape)
        pending.append(batch)
        count += len(batch)
        while count >= size:
            joined = FrameBatch.concat(pending) if len(pending) > 1 else pending[0]
            yield FrameBatch(joined.frames[:size], joined.start, joined.fps)
            rest = joined.frames[size:]
            pending = [FrameBatch(rest, joined.start + size, joined.fps)] if len(rest) else []
            count = len(rest)
    if pending:
        yield FrameBatch.concat(pending) if len(pending) > 1 else pending[0]
