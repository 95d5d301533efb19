"""A video's batches as a stream a parallel run can split among workers that read for themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..data import FrameBatch
from ._prefetch import prefetch

__all__ = ["VideoStream", "StoredBatch"]


@dataclass(frozen=True)
class StoredBatch:
    """Consecutive frames as the source stores them (uint8, uint16... grey), with their place in the video.

    What :meth:`VideoStream.stored` yields where it can: the attributes of a
    :class:`~vismic.data.FrameBatch` without its float32 conversion.
    """

    frames: np.ndarray
    start: int
    fps: float

    def __len__(self) -> int:
        return self.frames.shape[0]

    @property
    def shape(self) -> tuple:
        return self.frames.shape[1:]


class VideoStream:
    """The batches of a :class:`~vismic.io.VideoSource`, decoded ahead in a thread, each summarised.

    Iterating yields the source's :class:`~vismic.data.FrameBatch` objects, as
    iterating the source does, while the next batches decode in a background
    thread. ``summarise(frames, start)`` runs on each batch's frames (``start``: the
    first one's index in the video) where they are read (in that thread) and its
    result goes to ``collect`` as the batch is taken, in the video's order. A
    parallel run (``Pipeline.run`` with an executor) whose workers can open the
    source themselves
    (:attr:`readable_by_workers`) has them read their own frame ranges
    (:meth:`VideoSource.read_stored <vismic.io.VideoSource.read_stored>`),
    summarise them there, and hands the summaries back to ``collect`` here: the
    frames never cross to the parent.

    Parameters
    ----------
    source : VideoSource
    summarise : callable, optional
        ``(frames (n, height, width), start) -> summary``; picklable (a module-level
        function) so that workers can run it.
    collect : callable, optional
        Called with each summary, in this process.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.io import open_video
    >>> from vismic._frame_statistics import FrameStatistics, frame_extract
    >>> statistics = FrameStatistics()
    >>> stream = VideoStream(open_video(np.ones((10, 4, 4)), fps=1000, batch_size=4), frame_extract, statistics.add)
    >>> [len(batch) for batch in stream], statistics.merged()["n"]
    ([4, 4, 2], 10)
    """

    def __init__(self, source, summarise: Optional[Callable[[Any, int], Any]] = None,
                 collect: Optional[Callable[[Any], None]] = None):
        self.source = source
        self.summarise = summarise
        self.collect = collect
        #: The video's first frame (float32), once iteration has begun (a parallel run's parent always reads it).
        self.first_frame = None
        #: Frames before this one have been summarised here (iteration runs ahead of what a consumer takes).
        self.observed_until = 0

    @property
    def readable_by_workers(self) -> bool:
        """Whether workers can open the source and reach any frame range directly (a camera file, raw AVI, TIFF)."""
        return self.source.path is not None and self.source.random_access

    @property
    def n_frames(self) -> Optional[int]:
        """Frames in the source, when its reader knows (random-access sources do)."""
        return self.source.frame_count_hint

    def __iter__(self) -> Iterator[FrameBatch]:
        yield from self._observed(prefetch(self._summarised(self.source)))

    def stored(self) -> Iterator:
        """As iterating, but the frames as stored where the source can give them (:class:`StoredBatch`).

        A random-access grey source at full resolution gives its stored integers
        (:meth:`VideoSource.read_stored <vismic.io.VideoSource.read_stored>`): a
        consumer that converts them itself (the projection subtracting its
        reference) saves a float32 pass over every frame. Any other source gives
        its :class:`~vismic.data.FrameBatch` objects.
        """
        source, stop = self.source, self.source.frame_count_hint
        if not source.random_access or stop is None:
            yield from self
            return
        reads = (StoredBatch(source.read_stored(start, min(source.batch_size, stop - start)), start, source.fps)
                 for start in range(0, stop, source.batch_size))
        yield from self._observed(prefetch(self._summarised(reads)))

    def _summarised(self, batches) -> Iterator:
        """``(batch, summary)``: run in the reader thread, so the summaries cost the consumer nothing."""
        for batch in batches:
            yield batch, (self.summarise(batch.frames, batch.start) if self.summarise is not None else None)

    def _observed(self, pairs) -> Iterator:
        for batch, summary in pairs:
            if self.first_frame is None:
                self.first_frame = np.array(batch.frames[0], dtype=np.float32)
            if summary is not None and self.collect is not None:
                self.collect(summary)  # here, in order, when the batch is taken (read-ahead ones may never be)
            self.observed_until = batch.start + len(batch)
            yield batch

    def observe(self, frames, start: int) -> None:
        """Summarise ``frames`` (from frame ``start`` of the video) here and hand the summary to ``collect``."""
        if self.summarise is not None:
            summary = self.summarise(frames, start)
            if self.collect is not None:
                self.collect(summary)
