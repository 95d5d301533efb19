"""Training batches for :func:`vismic.magnify.train`: rendered ahead on worker processes, seen under several views.

Rendering an example (three cubic-spline resamplings of every layer) costs far
more than a training step on a GPU, so :class:`BatchFeed` can render on a pool
of processes while the network trains, and can show each rendered example
under ``views`` of the square's eight symmetries (quarter turns and
transposes: the four frames turned alike, so the motion turns with them and the
example stays exact). Batch ``step`` depends only on the stream's seed, the
batch size, ``views`` and ``step``: any number of workers gives the same batches,
and a resumed run takes the same ones.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

import numpy as np

from .._checks import check_int

__all__ = ["BatchFeed", "symmetry", "N_SYMMETRIES"]

#: Symmetries of the square: 4 quarter turns, each optionally transposed.
N_SYMMETRIES = 8

_worker_generator = None


def symmetry(frames: np.ndarray, k: int) -> np.ndarray:
    """``frames`` ``(n, h, w)`` under symmetry ``k`` of the square (0: as they are; ``k % 4`` quarter turns, transposed for ``k >= 4``).

    >>> x = np.arange(4).reshape(1, 2, 2)
    >>> [symmetry(x, k)[0].ravel().tolist() for k in (0, 1, 4)]
    [[0, 1, 2, 3], [1, 3, 0, 2], [0, 2, 1, 3]]
    """
    out = np.rot90(frames, k % 4, axes=(1, 2))
    if k >= 4:
        out = out.transpose(0, 2, 1)
    return np.ascontiguousarray(out)


def _set_generator(generator) -> None:
    global _worker_generator
    _worker_generator = generator


def _render(start: int, count: int):
    return _worker_generator.batch(start, count)


class BatchFeed:
    """Batches of a :class:`~vismic.magnify._data.SampleGenerator` by step number.

    Parameters
    ----------
    generator : SampleGenerator
        The training stream (example ``i`` depends only on its seed and ``i``).
    batch_size : int
        Examples per step.
    views : int
        How many of its 8 symmetries each rendered example is seen under
        (1: each example once, as rendered: the stream of ``generator.batch``).
        The examples are rendered in blocks of ``views * batch_size``; a block
        is trained on for ``views ** 2`` steps, each pass over it in another
        symmetry per example, so no two steps in a row share an example.
    workers : int
        Processes rendering ahead (0: render in this process, when needed).

    Examples
    --------
    >>> from vismic.magnify._data import SampleGenerator
    >>> feed = BatchFeed(SampleGenerator(16, n_procedural=2), batch_size=2, views=2)
    >>> frame_a, frame_b, frame_c, target, alpha = feed.batch(0)
    >>> frame_a.shape, alpha.shape
    ((2, 16, 16), (2,))
    >>> feed.close()
    """

    def __init__(self, generator, batch_size: int, *, views: int = 1, workers: int = 0):
        self.generator = generator
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.views = check_int(views, "views", minimum=1, maximum=N_SYMMETRIES)
        self.workers = check_int(workers, "workers", minimum=0)
        self.block_size = self.views * self.batch_size
        self._current = None  # (block, its rendered frames)
        self._pending: dict[int, list] = {}  # block -> futures of its pieces, rendered ahead
        self._pool = None
        if self.workers:
            # spawn: the parent may hold CUDA and torch's threads, which a forked child must not inherit
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"),
                                             initializer=_set_generator, initargs=(generator,))
            self._piece = max(1, math.ceil(self.block_size / self.workers))
            self._ahead = max(2, math.ceil(2 * self.workers / math.ceil(self.block_size / self._piece)))

    def where(self, step: int):
        """Block, first example of the block's part, and the view (pass) that ``step`` trains on."""
        steps_per_block = self.views * self.views
        block, within = divmod(int(step), steps_per_block)
        view, part = divmod(within, self.views)
        return block, ((part + view) % self.views) * self.batch_size, view

    def batch(self, step: int):
        """Step ``step``'s batch: four float32 arrays ``(batch_size, size, size)`` (A, B, C, target) and alphas."""
        block, first, view = self.where(step)
        frames = self._block(block)
        rows = slice(first, first + self.batch_size)
        a, b, c, target, alpha = (array[rows] for array in frames)
        if self.views == 1:
            return a, b, c, target, alpha
        indices = block * self.block_size + first + np.arange(self.batch_size)
        turned = [np.empty_like(a) for _ in range(4)]
        for row, index in enumerate(indices):
            k = int((view + index) % N_SYMMETRIES)
            for out, frame in zip(turned, (a, b, c, target)):
                out[row] = symmetry(frame[row:row + 1], k)[0]
        return (*turned, alpha)

    def _block(self, block: int):
        if self._current is None or self._current[0] != block:
            self._current = (block, self._render_block(block))
        return self._current[1]

    def _render_block(self, block: int):
        start = block * self.block_size
        if self._pool is None:
            return self.generator.batch(start, self.block_size)
        for stale in [key for key in self._pending if key < block]:
            for future in self._pending.pop(stale):
                future.cancel()
        for ahead in range(block, block + self._ahead):
            if ahead not in self._pending:
                self._pending[ahead] = self._submit(ahead)
        try:
            pieces = [future.result() for future in self._pending.pop(block)]
        except BrokenProcessPool:
            from ..project._parallel import WorkerError

            raise WorkerError(
                "a process rendering training examples stopped (out of memory, or a script calling "
                "train(data_workers=N) without an 'if __name__ == \"__main__\":' guard); use fewer data "
                "workers, or 0") from None
        return tuple(np.concatenate(parts) for parts in zip(*pieces))

    def _submit(self, block: int):
        start, end = block * self.block_size, (block + 1) * self.block_size
        return [self._pool.submit(_render, first, min(self._piece, end - first))
                for first in range(start, end, self._piece)]

    def close(self) -> None:
        """Stop the workers (pending renders are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()
        self._current = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

