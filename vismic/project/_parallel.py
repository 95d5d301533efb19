"""Frame batches projected by workers of any ``concurrent.futures``-style executor.

Local process pools (:class:`concurrent.futures.ProcessPoolExecutor`, e.g.
:func:`process_pool`) get the templates built once, here, and share them and the
frames through shared memory: the parent writes each batch's difference from the
reference into one of a few shared slots, a worker projects it in place, and only
slot names and scores cross the pipes. Segments are unlinked when the run ends,
however it ends (an error, a dead worker, KeyboardInterrupt; Python's resource
tracker removes them even if this process is killed). Any other executor (a Dask
cluster's ``client.get_executor()``, whose workers may be other machines; a
thread pool) gets a task that carries the reference, not the templates: each
worker builds them once and keeps them for every later batch. Results come back in
order and equal the serial run's bit for bit.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable, Iterator

import numpy as np

from ..errors import ParameterError, VismicError
from ._templates import (Templates, Tile, _joined, as_scores, chunk_frames, difference, make_templates, project,
                         project_difference, project_frames, with_light)

__all__ = ["ProjectTask", "SharedProjectTask", "map_ordered", "project_batches", "WorkerError", "process_pool",
           "dask_executor"]

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
    light_reference : np.ndarray [shape=(height, width)], optional
        The reference of a :class:`vismic.stabilise.NormaliseLight` folded in (see
        :func:`~vismic.project._templates.with_light`).
    precision : {'float32', 'int8'}
        As for :func:`make_templates`.
    """

    def __init__(self, reference, *, n_levels, grid, biort, qshift, device=None, templates=None,
                 light_reference=None, precision="float32"):
        self.reference = np.ascontiguousarray(reference, dtype=np.float32)
        self.light_reference = None if light_reference is None else np.asarray(light_reference, dtype=np.float64)
        self.params = (int(n_levels), tuple(int(g) for g in grid), str(biort), str(qshift))
        self.device = device
        self.precision = precision
        light_key = "" if light_reference is None else hashlib.sha1(self.light_reference.tobytes()).hexdigest()
        self.key = ((hashlib.sha1(self.reference.tobytes()).hexdigest(), light_key, self.reference.shape) + self.params
                    + (precision,))
        if templates is not None:
            _remember(self.key, templates)

    def templates(self) -> Templates:
        found = _WORKER_TEMPLATES.get(self.key)
        if found is None:
            n_levels, grid, biort, qshift = self.params
            found = make_templates(self.reference, n_levels=n_levels, grid=grid, biort=biort, qshift=qshift,
                                   precision=self.precision)
            if self.light_reference is not None:
                found = with_light(found, self.light_reference)
            found = _remember(self.key, found)
        return found

    def __call__(self, frames) -> np.ndarray:
        return project(frames, self.templates(), device=self.device)


def _remember(key, templates: Templates) -> Templates:
    if len(_WORKER_TEMPLATES) >= 2:  # keyframe references arrive in order: keep the newest
        _WORKER_TEMPLATES.pop(next(iter(_WORKER_TEMPLATES)))
    _WORKER_TEMPLATES[key] = templates
    return templates


class _Segments:
    """Shared-memory segments this process created; every one unlinked by :meth:`close`."""

    def __init__(self):
        self.segments = []

    def create(self, nbytes: int):
        from multiprocessing import shared_memory

        segment = shared_memory.SharedMemory(create=True, size=max(1, int(nbytes)))
        self.segments.append(segment)
        return segment

    def close(self) -> None:
        while self.segments:
            segment = self.segments.pop()
            try:
                segment.close()
            except BufferError:  # a view still refers to it: the mapping goes with the process
                pass
            try:
                segment.unlink()
            except FileNotFoundError:
                pass


def share_templates(templates: Templates, segments: _Segments) -> tuple:
    """Copy ``templates`` into one shared segment; returns a small picklable handle for :func:`_attached_templates`."""
    light = templates.light
    arrays = [templates.reference] + [tile.block for tile in templates.tiles]
    offsets = np.cumsum([0] + [a.nbytes for a in arrays])
    segment = segments.create(offsets[-1])
    for array, offset in zip(arrays, offsets):
        np.ndarray(array.shape, np.float32, segment.buf, offset)[...] = array
    layout = [(tuple(a.shape), int(o)) for a, o in zip(arrays, offsets)]
    places = [(tile.top, tile.bottom, tile.left, tile.right, tile.columns) for tile in templates.tiles]
    return segment.name, layout, places, templates.information, templates.grid, light, templates.precision


#: In each worker: attached segments by name (templates, then frame slots of the current run).
_ATTACHED: dict = {}


def _attach(name: str):
    from multiprocessing import shared_memory

    segment = _ATTACHED.get(name)
    if segment is None:
        segment = _ATTACHED[name] = shared_memory.SharedMemory(name=name)
    return segment


def _attached_templates(handle) -> Templates:
    name, layout, places, information, grid, light, precision = handle
    found = _WORKER_TEMPLATES.get(name)
    if found is None:
        buffer = _attach(name).buf
        arrays = [np.ndarray(shape, np.float32, buffer, offset) for shape, offset in layout]
        tiles = tuple(Tile(*place, block) for place, block in zip(places, arrays[1:]))
        found = _remember(name, Templates(arrays[0], tiles, information, grid, light, precision))
    return found


def _forget_other_runs(keep) -> None:
    """Close what earlier runs attached in this worker (their segments are unlinked; this frees their memory)."""
    for name in [n for n in _ATTACHED if n not in keep]:
        _WORKER_TEMPLATES.pop(name, None)
        segment = _ATTACHED.pop(name)
        try:
            segment.close()
        except BufferError:
            pass


class SharedProjectTask:
    """Picklable ``task((slot, n)) -> scores (n_regions, 2, n)`` on a local process pool.

    ``slot`` names a shared segment holding a chunk of frame differences (see
    :func:`~vismic.project._templates.difference`); the templates are attached from
    their own shared segment once per worker.
    """

    def __init__(self, handle, slots):
        self.handle = handle
        self.segments = frozenset((handle[0], *slots))

    def __call__(self, payload) -> np.ndarray:
        slot, n = payload
        _forget_other_runs(self.segments)
        templates = _attached_templates(self.handle)
        size = chunk_frames(templates.shape)
        chunk = np.ndarray((size,) + templates.shape, np.float32, _attach(slot).buf)
        return as_scores(project_difference(chunk, templates)[:n], templates.n_regions)


def worker_count(executor) -> int:
    """The workers (threads) of ``executor``: a pool's, a Dask client's; 2 for an executor that does not say."""
    workers = getattr(executor, "_max_workers", None)
    if not workers:
        try:  # a Dask ClientExecutor
            workers = sum(executor._client.nthreads().values())
        except Exception:  # noqa: BLE001 - any executor without a worker count
            workers = 2
    return max(1, int(workers))


def _max_pending(executor) -> int:
    return 2 * worker_count(executor)


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
    submit, sent = _submitter(task, executor)
    try:
        for label, payload in items:
            pending.append((label, submit(payload)))
            while len(pending) >= limit:
                label, future = pending.popleft()
                yield label, _result(future)
        while pending:
            label, future = pending.popleft()
            yield label, _result(future)
    finally:
        for _, future in pending:
            future.cancel()
        if sent is not None:
            try:
                sent.release()
            except Exception:  # noqa: BLE001 - a client already closed has nothing left to release
                pass


def _submitter(task, executor) -> tuple:
    """``(submit, sent)``: ``submit(payload)`` runs ``task(payload)`` on ``executor``; ``sent`` is a Dask future or None.

    A Dask client's executor would send ``task`` (the reference, a light reference:
    3 MB at 512x512) through its scheduler with every payload; it is scattered to
    every worker once instead, and each task names it.
    """
    client = getattr(executor, "_client", None)
    if client is None or not hasattr(client, "scatter"):
        return (lambda payload: executor.submit(task, payload)), None
    try:
        sent = client.scatter(task, broadcast=True, hash=False)
    except Exception as error:  # noqa: BLE001 - no workers, a scheduler gone, a closed client...
        raise WorkerError(f"could not send the task to the Dask workers: {type(error).__name__}: {error}") from error
    return (lambda payload: executor.submit(_apply, sent, payload)), sent


def _apply(task, payload):
    return task(payload)


def _result(future):
    try:
        return future.result()
    except VismicError:
        raise
    except Exception as error:  # noqa: BLE001 - BrokenProcessPool, a killed Dask worker, ...
        raise WorkerError(f"a worker failed while projecting frames: {type(error).__name__}: {error}") from error


def project_batches(stage, batches: Iterable, executor=None, *, head=()) -> Iterator:
    """The :class:`~vismic.project.Project` stage's outputs for ``batches``, in order.

    ``head`` are ``(name, stage)`` frame stages that run before the projection.
    The frames are regrouped into chunks of one matrix product each. The chunks
    that set the reference go through ``stage.transform`` here; every later chunk is
    projected here (no executor) or by a worker of ``executor``; workers read
    their frame ranges themselves when they can (see :mod:`vismic.project._ranges`).
    The outputs are the same, bit for bit, whichever way and whatever the
    batches' sizes.
    """
    if executor is None:
        yield from _project_batches(stage, batches, None, head)
        return
    with one_blas_thread():  # the workers compute: this process's idle BLAS threads would spin on their cores
        yield from _project_batches(stage, batches, executor, head)


def _project_batches(stage, batches: Iterable, executor, head) -> Iterator:
    from ..data import FrameBatch
    from ._ranges import project_ranges, reads_ranges

    if reads_ranges(batches, head, executor):
        yield from project_ranges(stage, head, batches, executor)
        return
    takes_stored = all(getattr(step, "accepts_stored", False) for _, step in head)
    if hasattr(batches, "stored") and (executor is None or head) and takes_stored:
        # the stored integers go straight into the differences, or into frame stages that hold them so
        # (vismic.stabilise.Stabilise) and hand float32 frames on: no float32 pass
        batches = batches.stored()
    if head:
        from ..pipeline import Pipeline

        batches = Pipeline._stream(head, batches, None, frames=True)
    chunks = chunks_of(batches)
    for start, fps, pieces in chunks:
        # templates are built here: on 2 workers, with the rows pickled back, they took longer (bench_speed)
        out = stage.transform(FrameBatch(_joined(pieces), start, fps))
        if out is not None:
            yield out
            break
    if stage.templates is not None:
        yield from _project_later(stage, chunks, executor)
    held = stage.flush()
    if held is not None:
        yield held


def _project_later(stage, chunks: Iterable, executor) -> Iterator:
    """The outputs for ``chunks`` once the stage has its templates: here, or on the workers of ``executor``."""
    if executor is None:
        yield from _project_here(stage, chunks)
    elif isinstance(executor, ProcessPoolExecutor) and stage.device is None:
        yield from _project_shared(stage, chunks, executor)
    else:
        labelled = (((start, fps), _joined(pieces)) for start, fps, pieces in chunks)
        for (start, fps), scores in map_ordered(stage.parallel_task(), labelled, executor):
            yield stage.band_signals(scores, start, fps)


def _project_here(stage, chunks: Iterable) -> Iterator:
    templates = stage.templates
    if stage.device is not None:
        for start, fps, pieces in chunks:
            yield stage.band_signals(project(_joined(pieces), templates, device=stage.device), start, fps)
        return
    for start, fps, pieces in chunks:
        n = sum(len(frames) for frames in pieces)
        yield stage.band_signals(as_scores(project_frames(pieces, templates)[:n], templates.n_regions), start, fps)


def _project_shared(stage, chunks: Iterable, executor) -> Iterator:
    """Later chunks on a local process pool, templates and frames through shared memory."""
    templates = stage.templates
    limit = _max_pending(executor)
    segments = _Segments()
    try:
        handle = share_templates(templates, segments)
        size = chunk_frames(templates.shape)
        # one slot per chunk in flight: map_ordered has taken chunk i's result before it asks for chunk i + limit
        slots = [segments.create(4 * size * int(np.prod(templates.shape))) for _ in range(limit)]
        names = [slot.name for slot in slots]
        task = SharedProjectTask(handle, names)

        def payloads():
            for index, (start, fps, pieces) in enumerate(chunks):
                chunk = np.ndarray((size,) + templates.shape, np.float32, slots[index % limit].buf)
                n = difference(pieces, templates.reference, chunk)
                del chunk  # no view may outlive the segment
                yield (start, fps), (names[index % limit], n)

        for (start, fps), scores in map_ordered(task, payloads(), executor, max_pending=limit):
            yield stage.band_signals(scores, start, fps)
    finally:
        segments.close()


@functools.lru_cache(maxsize=1)
def _openblas_controls() -> list:
    """``(set_num_threads, get_num_threads)`` of each OpenBLAS that numpy and scipy load (ctypes functions)."""
    import ctypes
    import glob
    import os

    import numpy
    import scipy

    controls = []
    for package in (numpy, scipy):
        for path in glob.glob(os.path.join(os.path.dirname(package.__file__) + ".libs", "*openblas*")):
            try:
                library = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix, suffix in (("openblas_", ""), ("openblas_", "64_"), ("scipy_openblas_", "64_"),
                                   ("scipy_openblas_", "")):
                setter = getattr(library, f"{prefix}set_num_threads{suffix}", None)
                getter = getattr(library, f"{prefix}get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    controls.append((setter, getter))
                    break
    return controls


def _one_blas_thread() -> None:
    """One BLAS thread in this process (a worker: the workers share the cores)."""
    for setter, _ in _openblas_controls():
        setter(1)


class one_blas_thread:
    """``with one_blas_thread():`` this process's BLAS on one thread, restored afterwards.

    While workers compute, the parent's BLAS threads spin-wait after each product
    and take cores from them (measured: 4000 frames at 512x512 on 2 workers, parent
    CPU 4.7 -> 1.7 s, wall 5.6 -> 4.4 s); so a parallel run keeps them off from the
    start, template building included.
    """

    def __enter__(self):
        self.saved = [(setter, getter()) for setter, getter in _openblas_controls()]
        for setter, _ in self.saved:
            setter(1)
        return self

    def __exit__(self, *exc):
        for setter, threads in self.saved:
            setter(threads)
        return False


#: Most worker processes a pool starts for each core this process may use: every worker holds its own
#: templates and buffers, and more only wait for a core (16 workers on 2 cores ran a 0.9 s clip in 9 s
#: with 0.9 GB more; 1000 would have asked for about 60 GB).
WORKERS_PER_CORE = 4


def check_workers(workers) -> int:
    """``workers`` as a number of worker processes, at most :data:`WORKERS_PER_CORE` a usable core."""
    from .._checks import check_positive_int
    from .._cores import usable_cores

    workers = check_positive_int(workers, "workers")
    cores = usable_cores()
    if workers > WORKERS_PER_CORE * cores:
        raise ParameterError(f"workers={workers} (--workers) asks for more processes than this machine runs: "
                             f"{cores} core{'s' if cores != 1 else ''}, so at most {WORKERS_PER_CORE * cores} "
                             "workers (more only wait for a core, each with its own memory)")
    return workers


def process_pool(workers):
    """A process pool of ``workers`` single-threaded workers (spawned: no fork of a threaded process)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = check_workers(workers)
    with _children_ignore_interrupts():
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker)
        for _ in range(workers):  # a pool starts a process per task while none is idle: start them all now
            pool.submit(int, 0)
    return pool


@contextlib.contextmanager
def _children_ignore_interrupts():
    """SIGINT ignored while worker processes start, so that they start ignoring it.

    A terminal's Ctrl-C in a run's first second reached workers still importing, before
    their initializer could ignore it: 4 of 12 runs stopped at 1.1-1.3 s printed the
    workers' KeyboardInterrupt tracebacks through numpy's and scipy's imports. An ignored
    signal stays ignored across the ``exec`` that starts each spawned worker, and Python
    leaves it so. The parent ignores it only while the processes start (main thread only).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_worker() -> None:
    """Worker initializer: one BLAS thread, Ctrl-C left to the parent, the projection's modules imported first.

    A terminal's Ctrl-C reaches the whole process group: each worker printed its own
    KeyboardInterrupt traceback (and thread errors after it) above the parent's one line.
    The parent stops them (:func:`pool_closed`).
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _one_blas_thread()
    from . import _ranges  # noqa: F401


@contextlib.contextmanager
def pool_closed(pool):
    """``with pool_closed(process_pool(n)) as pool:`` shut down as it ends, and stopped at once when interrupted.

    A pool shut down as a context manager waits for its workers; after a signal that had
    killed some of them, that wait never ended (3 of about 40 signalled runs of
    ``vismic recover --workers 2`` hung). Interrupted, its tasks are cancelled and its
    workers terminated.
    """
    try:
        yield pool
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def stop_pool(pool) -> None:
    """Cancel a process pool's tasks and terminate its workers, without waiting on them."""
    # the pool offers no other way to its processes than this attribute (CPython's since 3.2)
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)


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
        except ValueError as error:  # no scheduler was asked: the address itself is not one
            raise WorkerError(f"{self.address!r} is not a Dask scheduler's address ({error}); give one such as "
                              "'tcp://host:8786'") from None
        except (OSError, TimeoutError) as error:
            raise WorkerError(f"the Dask scheduler at {self.address!r} did not answer within "
                              f"{self.timeout_seconds:g} s ({type(error).__name__}: {error})") from None
        return self.client.get_executor()

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        return False


def chunks_of(batches: Iterable) -> Iterator:
    """``(start, fps, pieces)``: the frames of ``batches`` regrouped into chunks of one matrix product each.

    ``pieces`` are views of the batches' frames (no copy, no new checks) that
    together hold :func:`~vismic.project._templates.chunk_frames` frames (the last
    chunk fewer). The chunks depend on the frame size only, never on how the video
    was split into batches.
    """
    pending, count, size, start = [], 0, None, 0
    for batch in batches:
        if size is None:
            size, start = chunk_frames(batch.shape), batch.start
        frames = batch.frames
        while len(frames):
            take = min(size - count, len(frames))
            pending.append(frames[:take])
            frames = frames[take:]
            count += take
            if count == size:
                yield start, batch.fps, pending
                start += count
                pending, count = [], 0
    if pending:
        yield start, batch.fps, pending
