"""Parallel runs whose workers read, prepare and project their own frame ranges.

When the frames come from a file every worker can open and read at any frame
(camera files, raw AVIs, TIFF stacks: :attr:`vismic.io.VideoStream.readable_by_workers`)
and the frame stages before the projection treat each frame on its own once they
have started (``frame_independent = True``, e.g. :class:`vismic.stabilise.NormaliseLight`),
the parent reads only the first chunk (the stages' references and the templates
come from it); every later range is read, prepared, projected and summarised by a
worker, and only scores and summaries cross back. The chunks are the serial run's,
so the scores are the same bit for bit. A worker that cannot open the file (a
cluster without the file on its machines) makes the parent read the frames and
send them instead.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Iterator

import numpy as np

from ..data import FrameBatch
from ..errors import VismicError
from ..pipeline import _through
from ._parallel import (_attached_templates, _forget_other_runs, _project_later, _Segments, WorkerError,
                        chunks_of, map_ordered, share_templates, worker_count)
from ._templates import _joined, as_scores, chunk_frames, product_rows, project, project_frames

__all__ = ["reads_ranges", "project_ranges", "RangeTask", "CHUNKS_PER_TASK", "MIN_TASK_PIXELS"]

#: Chunks (matrix products) a worker reads and projects per task.
CHUNKS_PER_TASK = 4

#: Pixels a task holds at least on executors other than this machine's pools (a Dask
#: cluster), which pay a round trip through their scheduler per task: 4 chunks of small
#: frames are a few tens of milliseconds of work, and on 128x128 frames a Dask
#: ``LocalCluster`` fell well behind the process pool with them (``bench_speed.py --long``
#: prints the two side by side). 2^26 is 4096 frames of 128x128.
MIN_TASK_PIXELS = 2**26

#: ... unless that leaves a worker fewer tasks than this in the video (shorter clips
#: spread over every worker rather than over few large tasks).
MIN_TASKS_PER_WORKER = 4


def chunks_per_task(executor, chunk_pixels: int, n_chunks=None) -> int:
    """Chunks per task on ``executor`` for ``n_chunks`` chunks of ``chunk_pixels`` pixels (the grouping never
    changes a result)."""
    if isinstance(executor, (ProcessPoolExecutor, ThreadPoolExecutor)):
        return CHUNKS_PER_TASK
    wanted = -(-MIN_TASK_PIXELS // max(1, int(chunk_pixels)))
    if n_chunks is not None:
        wanted = min(wanted, int(n_chunks) // (MIN_TASKS_PER_WORKER * worker_count(executor)))
    return max(CHUNKS_PER_TASK, wanted)


def reads_ranges(batches, head, executor) -> bool:
    """Whether workers of ``executor`` can read ``batches``' frame ranges themselves, with ``head`` stages before."""
    return (executor is not None and getattr(batches, "readable_by_workers", False)
            and all(getattr(stage, "frame_independent", False) for _, stage in head))


def _flushed(head) -> Iterator[FrameBatch]:
    """What the head stages held back (a video shorter than their references), through the stages after each."""
    for index, (_, stage) in enumerate(head):
        held = stage.flush()
        data = _through(held, head[index + 1:], frames=True) if held is not None else None
        if data is not None:
            yield data


def project_ranges(stage, head, stream, executor) -> Iterator:
    """The :class:`~vismic.project.Project` stage's outputs, later ranges read and projected by workers."""
    for _, step in head:
        step.reset()
    chunks = chunks_of(stream)
    consumed, fps = 0, None
    try:
        for start, fps, pieces in chunks:
            consumed = start + sum(len(piece) for piece in pieces)
            prepared = _through(FrameBatch(_joined(pieces), start, fps), head, frames=True)
            out = None if prepared is None else stage.transform(prepared)
            if out is not None:
                yield out
            if stage.templates is not None:
                break
    finally:
        chunks.close()
    if stage.templates is None:  # the video ended before the references were complete
        for prepared in _flushed(head):
            out = stage.transform(prepared)
            if out is not None:
                yield out
        held = stage.flush()
        if held is not None:
            yield held
        return
    stop = stream.n_frames
    if stop is not None and consumed < stop:
        yield from _later_ranges(stage, head, stream, executor, consumed, stop, fps)


def _later_ranges(stage, head, stream, executor, first: int, stop: int, fps: float) -> Iterator:
    local = isinstance(executor, ProcessPoolExecutor) and stage.device is None
    size = product_rows(stage.templates)
    span = chunks_per_task(executor, size * int(np.prod(stage.templates.shape)), -(-(stop - first) // size)) * size
    segments = _Segments()
    try:
        templates = SharedTemplates(share_templates(stage.templates, segments)) if local else stage.parallel_task()
        task = RangeTask(stream, head, templates, device=stage.device, summarised_until=stream.observed_until)
        spans = ((start, (start, min(start + span, stop))) for start in range(first, stop, span))
        for start, result in map_ordered(task, spans, executor):
            if isinstance(result, Unreachable):
                if start != first:
                    raise WorkerError(f"a worker could not open the video: {result.message}")
                break
            for at, scores, summaries in result:
                for summary in summaries:
                    if stream.collect is not None:
                        stream.collect(summary)
                yield stage.band_signals(scores, at, fps)
        else:
            return
    finally:
        segments.close()
    # the workers cannot open the file: read the frames here and send them, in the serial run's chunks
    # (a local pool's shared slots hold that many frames)
    yield from _project_later(stage, _read_here(stream, head, first, stop, chunk_frames(stage.templates.shape)),
                              executor)


def _read_here(stream, head, first: int, stop: int, size: int) -> Iterator:
    summarised = stream.observed_until
    for start in range(first, stop, size):
        pieces = []
        for batch in _pieces(stream.source, start, min(start + size, stop), stored=not head):
            skip = min(max(0, summarised - batch.start), len(batch))
            if skip < len(batch):
                stream.observe(batch.frames[skip:], batch.start + skip)
            pieces.append(_through(batch, head, frames=True).frames)
        yield start, stream.source.fps, pieces


def _pieces(source, start: int, stop: int, *, stored: bool = False) -> Iterator[FrameBatch]:
    """Frames ``start:stop`` of ``source`` read a batch at a time (bounded memory for any chunk).

    ``stored``: the frames as stored where the source can give them, as the serial run and
    the workers project them (an int8 projection takes integers exactly, floats rounded).
    """
    for at in range(start, stop, source.batch_size):
        count = min(source.batch_size, stop - at)
        if stored:
            yield FrameBatch._of_finite(source.read_stored(at, count), at, source.fps)
        else:
            yield source.read(at, count)


class Unreachable:
    """What a :class:`RangeTask` returns when its worker cannot open the video."""

    def __init__(self, message: str):
        self.message = message


class SharedTemplates:
    """Templates in a shared-memory segment of this machine, attached once per worker."""

    def __init__(self, handle):
        self.handle = handle

    def templates(self):
        _forget_other_runs({self.handle[0]})
        return _attached_templates(self.handle)


#: In each worker thread: the memory its reads reuse (see ReadBuffer).
_READ_BUFFERS = threading.local()


def _read_buffer():
    from ..io._raw_avi import ReadBuffer

    buffer = getattr(_READ_BUFFERS, "buffer", None)
    if buffer is None:
        buffer = _READ_BUFFERS.buffer = ReadBuffer()
    return buffer


#: In each worker: the head stages of the current run (unpickled once).
_HEADS: dict = {}


class RangeTask:
    """Picklable ``task((start, stop)) -> [(chunk start, scores (n_regions, 2, n), summaries), ...]``.

    Reads frames ``start:stop`` of the stream's source in the worker, a batch at a
    time, summarises them, runs them through the (started) head stages and
    projects each chunk. The head stages travel pickled once per task and are
    unpickled once per worker.
    """

    def __init__(self, stream, head, templates, *, device=None, summarised_until: int = 0):
        # a file source pickles as its recipe (opened once per worker); unpickled in __call__, where
        # a file the worker cannot reach becomes an answer rather than a broken task
        self.source = pickle.dumps(stream.source, protocol=pickle.HIGHEST_PROTOCOL)
        self.summarise = stream.summarise
        self.head = pickle.dumps([stage for _, stage in head], protocol=pickle.HIGHEST_PROTOCOL)
        self.head_key = hashlib.sha1(self.head).hexdigest()
        self.templates = templates
        self.device = device
        self.summarised_until = summarised_until  # the parent summarised the frames before this one

    def _head(self) -> list:
        found = _HEADS.get(self.head_key)
        if found is None:
            _HEADS.clear()
            found = _HEADS[self.head_key] = pickle.loads(self.head)
        return found

    def __call__(self, span) -> object:
        try:
            source = pickle.loads(self.source)
        except (OSError, VismicError) as error:
            return Unreachable(f"{type(error).__name__}: {error}")
        head = [(None, stage) for stage in self._head()]
        templates = self.templates.templates()
        size = product_rows(templates)
        start, stop = span
        out = []
        for at in range(start, stop, size):
            end = min(at + size, stop)
            # no frame stage before the product: the chunk's stored frames are read at once and go straight
            # into the difference as one piece (each piece is a pass over the tiles, and each tile's calls
            # hand the GIL to and fro between a pool's threads); they are summarised a batch at a time
            chunk = None if head else source.read_stored(at, end - at, into=_read_buffer())
            summaries = []
            prepared = [] if head else [chunk]
            for piece in range(at, end, source.batch_size):
                count = min(source.batch_size, end - piece)
                frames = chunk[piece - at: piece - at + count] if not head else source.read(piece, count).frames
                skip = min(max(0, self.summarised_until - piece), len(frames))
                if self.summarise is not None and skip < len(frames):
                    summaries.append(self.summarise(frames[skip:], piece + skip))
                if head:
                    prepared.append(_through(FrameBatch(frames, piece, source.fps), head, frames=True).frames)
            out.append((at, self._project(prepared, templates, size), summaries))
        return out

    def _project(self, pieces, templates, size: int) -> np.ndarray:
        if self.device is not None:
            return project(_joined(pieces), templates, device=self.device)
        n = sum(len(frames) for frames in pieces)
        return as_scores(project_frames(pieces, templates, size)[:n], templates.n_regions)
