"""The few numbers about a video's frames that its findings read, gathered while it streams.

:func:`frame_extract` takes what they need of each batch where it is read (a reader
thread, a worker: per-frame contrasts, the rows of every eighth frame of a window, the
codec check's frame pairs); :class:`FrameStatistics` folds those pieces, in order, over
fixed windows of :data:`WINDOW` frames from the video's first frame, so that the numbers
do not depend on how the video was read; :func:`merge_statistics` sums the windows up for
:func:`vismic._reliability.findings` and the codec checks. :func:`batch_statistics` is one
window's numbers from frames at hand; :func:`held_blocks` and :func:`codec_innovation` say
how an inter-frame codec treated the frames.
"""

from __future__ import annotations

from typing import List, Mapping, Optional

import numpy as np

from ._blank import blank_frames, contrast_grid, frame_contrasts, spans
from ._buffers import ThreadBuffer
from ._compiled import compiled, numba_loaded
from ._reliability import clipped
from .codec import BLOCK

__all__ = [
    "TOP_LEVELS",
    "WINDOW",
    "PAIR_STRIDE",
    "batch_statistics",
    "frame_extract",
    "FrameStatistics",
    "merge_statistics",
    "held_blocks",
    "held_bands",
    "codec_innovation",
]

#: The top grey levels of 8, 10, 12, 14 and 16-bit data.
TOP_LEVELS = (255.0, 1023.0, 4095.0, 16383.0, 65535.0)


#: Pixels per frame the statistics look at (evenly spaced rows of larger frames).
_SAMPLED_PIXELS = 16384
#: Frames of each window the statistics are taken over, counted from the video's first frame: the
#: findings and the estimate's caps read the same numbers however the video is read (any batch size,
#: frame ranges read by workers). 64 frames: a batch of small frames (:func:`vismic.io.auto_batch_size`),
#: on which the thresholds were measured.
WINDOW = 64
#: Frames of a window whose rows the moments read (every ``WINDOW // 8``-th frame of the video).
_WINDOW_SAMPLES = 8


def batch_statistics(frames) -> dict:
    """A few numbers about a batch of frames, shape (n, height, width[, channels]), from a subgrid of pixels.

    The batch is one window of :class:`FrameStatistics` (which a recovery folds over the
    video's fixed windows instead, whatever its batches).

    Returns
    -------
    dict
        ``texture`` (spatial standard deviation of the mean frame), ``flicker`` (mean temporal
        standard deviation of a pixel), ``unsteady`` (the same once each frame's global gain and
        offset are fitted out, :func:`_unsteady_share`), ``dark`` and ``bright`` (share of pixels at the batch's
        lowest and highest value), ``bright_at_top`` (``bright`` where that value is the top of 8
        to 16-bit data, :data:`TOP_LEVELS`; else 0), ``n`` (frames), ``sampled`` (frames the
        moments read: every ``n // 8``-th), ``blocks`` and ``difference_power``
        (:func:`held_blocks`), ``contrast`` and ``change`` (per frame,
        :func:`vismic._blank.frame_contrasts`; the first frame's change nan). Frames blank beside
        the batch's others (:func:`vismic._blank.blank_frames`) are left out of the texture,
        flicker and clipping figures.

    Examples
    --------
    >>> stats = batch_statistics(np.zeros((4, 8, 8)))
    >>> stats["texture"], stats["dark"]
    (0.0, 1.0)
    """
    frames = np.asarray(frames)
    window = max(1, len(frames))
    statistics = FrameStatistics(window)
    statistics.add(frame_extract(frames, 0, window=window))
    statistics.close()
    return statistics.windows[0]


def frame_extract(frames, start: int = 0, *, window: int = WINDOW) -> dict:
    """What the statistics need of frames ``start:start + n`` of a video, shape (n, height, width[, channels]).

    Computed where the frames are read (the reader's thread, a worker) and small to send:
    each frame's contrast and change (:func:`vismic._blank.frame_contrasts`), the rows the
    moments read of the frames whose index in the video is a multiple of ``window // 8``,
    :func:`held_blocks`' numbers for the pairs whose first index is a multiple of
    :data:`PAIR_STRIDE`, and the first and last frames' grids and bands, which pair them
    with the frames either side. :class:`FrameStatistics` folds the pieces into windows.
    """
    frames = np.asarray(frames)
    n = len(frames)
    if n == 0 or frames.ndim < 3:
        return {"start": int(start), "n": 0}
    contrast, change = frame_contrasts(frames)
    every = max(1, window // _WINDOW_SAMPLES)
    sampled = np.arange(-start % every, n, every)
    pairs = np.arange(-start % PAIR_STRIDE, n - 1, PAIR_STRIDE)
    counts, difference = _held_pairs(frames, pairs)
    row_step = max(1, frames.shape[1] * frames.shape[2] // _SAMPLED_PIXELS)
    return {
        "start": int(start), "n": n, "contrast": contrast, "change": change,
        "sampled": start + sampled, "rows": frames[sampled, ::row_step],  # a copy (indexed by an array)
        "pairs": start + pairs, "blocks": np.array(counts, dtype=np.int64).reshape(-1, 4),
        "difference_power": np.array(difference, dtype=np.float64),
        "grids": contrast_grid(frames)[[0, -1]], "bands": (held_bands(frames[0]), held_bands(frames[-1])),
    }


#: What :class:`FrameStatistics` keeps of its pieces until their windows close: per frame, per sampled frame, per pair.
_PER_FRAME, _PER_SAMPLE, _PER_PAIR = ("contrast", "change"), ("sampled", "rows"), ("pairs", "blocks", "difference_power")


class FrameStatistics:
    """:func:`batch_statistics` over fixed windows of a video, folded from :func:`frame_extract`'s pieces in order.

    Windows are ``window`` frames from frame 0 on, whatever pieces the frames came in;
    the pieces' edges are paired (the change of a piece's first frame, a pair of
    :func:`held_blocks` across them), so the numbers are those of the whole video read at
    once. :attr:`windows` holds the closed windows; :meth:`merged` closes the last and
    returns :func:`merge_statistics` of them.

    Examples
    --------
    >>> frames = np.random.default_rng(0).integers(0, 255, (150, 16, 16)).astype(np.uint8)
    >>> whole, pieces = FrameStatistics(), FrameStatistics()
    >>> whole.add(frame_extract(frames))
    >>> for start in range(0, 150, 37):
    ...     pieces.add(frame_extract(frames[start:start + 37], start))
    >>> len(whole.windows), whole.merged() == pieces.merged()
    (2, True)
    """

    def __init__(self, window: int = WINDOW):
        self.window = int(window)
        self.windows: List[dict] = []
        self._kept = {key: [] for key in _PER_FRAME + _PER_SAMPLE + _PER_PAIR}
        # the first frame not yet in a window; the frame after the last piece; the first frame after a gap
        self._at = self._end = self._first = None
        self._edges = None  # the last piece's last grid and bands

    def add(self, piece: Optional[Mapping]) -> None:
        """Take the next piece (:func:`frame_extract` of the frames after the last piece's)."""
        if not piece or piece.get("n", 0) == 0:
            return
        start = piece["start"]
        if self._end is not None and start != self._end:
            self.close()  # not the frames after the last: what came before is folded as it stands
            self._edges = None
        pieces = {key: [piece[key]] for key in self._kept}
        pieces["change"] = [np.array(piece["change"], dtype=np.float64)]
        if self._edges is not None:
            grid, band = self._edges
            pieces["change"][0][0] = frame_contrasts(np.stack([grid, piece["grids"][0]]))[1][1]
            if (start - 1) % PAIR_STRIDE == 0 and band is not None and piece["bands"][0] is not None:
                counts, difference = held_blocks(np.stack([band, piece["bands"][0]]), stride=1)
                pieces["pairs"].insert(0, np.array([start - 1]))
                pieces["blocks"].insert(0, np.array(counts, dtype=np.int64).reshape(-1, 4))
                pieces["difference_power"].insert(0, np.array(difference))
        for key, values in pieces.items():
            self._kept[key] += values
        self._edges = (piece["grids"][-1], piece["bands"][1])
        if self._at is None:
            self._at = self._first = start
        self._end = start + piece["n"]
        self._close_windows(last=False)

    def close(self) -> None:
        """Close every window, the last (shorter) one included."""
        self._close_windows(last=True)
        self._at = self._end = None

    def merged(self) -> Optional[dict]:
        """:func:`merge_statistics` of every window (closing the last)."""
        self.close()
        return merge_statistics(self.windows)

    def _close_windows(self, last: bool) -> None:
        while self._at is not None and self._at < self._end:
            stop = (self._at // self.window + 1) * self.window
            if stop >= self._end and not last:
                return  # the pair from the window's last frame to the next piece's first is still to come
            stop = min(stop, self._end)
            # views where a piece holds the window (no fresh copy of the rows: see _moments)
            kept = {key: values[0] if len(values) == 1 else np.concatenate(values) for key, values in self._kept.items()}
            n = stop - self._at
            sampled, pairs = np.searchsorted(kept["sampled"], stop), np.searchsorted(kept["pairs"], stop)
            self.windows.append(_window_statistics(
                kept["contrast"][:n], kept["change"][:n], kept["sampled"][:sampled] - self._at,
                kept["rows"][:sampled], kept["blocks"][:pairs], kept["difference_power"][:pairs],
                known_first=self._at != self._first))
            self._kept = {key: [kept[key][n:]] for key in _PER_FRAME}
            self._kept.update({key: [kept[key][sampled:]] for key in _PER_SAMPLE})
            self._kept.update({key: [kept[key][pairs:]] for key in _PER_PAIR})
            self._at = stop


def _window_statistics(contrast, change, sampled, rows, blocks, difference, known_first: bool = False) -> dict:
    """:func:`batch_statistics` of a window from its pieces: per frame, the sampled frames' rows, the pairs' numbers."""
    # the first frame's change, unknown, is None (as nan, the summaries of equal frames would not compare equal)
    changes = [float(c) for c in change[1:]]
    changes.insert(0, float(change[0]) if known_first else None)
    # judged against the window's most textured frame: a window mostly of blank frames has them as its 90th percentile
    blank = blank_frames(contrast, change, quantile=1.0)
    sample = rows
    if blank.any() and not blank.all() and not blank[sampled].all():
        sample = rows[~blank[sampled]]  # named by their own finding; here they would read as clipped frames or flicker
    m = len(sample)
    if m == 0:  # a window after a gap in the pieces may hold no sampled frame: its frames count, its pixels are unknown
        return {"n": len(contrast), "sampled": 0, "texture": 0.0, "flicker": 0.0, "unsteady": 0.0, "dark": 0.0,
                "bright": 0.0, "bright_at_top": 0.0, "blocks": [tuple(int(v) for v in row) for row in blocks],
                "difference_power": [float(d) for d in difference], "contrast": [float(c) for c in contrast],
                "change": changes}
    low, high, n_low, n_high, sums, squares = _moments(sample)
    size = sample.size
    dark = n_low / size
    bright = n_high / size if high > low else 0.0
    if high == low and float(high) in TOP_LEVELS:  # one value, at the top of the data's range: burnt out, not dark
        dark, bright = 0.0, 1.0
    # numpy's own steps for ``sums / m``, ``(squares / m - mean ** 2).clip(0) ** 0.5`` and ``std``, into
    # memory kept for the thread's next window (see _moments): the same numbers without fresh blocks
    mean_frame = np.divide(sums, m, out=sums)
    scratch = _SCRATCH.get(mean_frame.shape)
    flicker = 0.0
    if m > 1:
        # exact sums of integers (any frames as read: stored or converted), so both ways agree
        np.divide(squares, m, out=squares)
        np.subtract(squares, np.multiply(mean_frame, mean_frame, out=scratch), out=squares)
        flicker = float(np.sqrt(np.maximum(squares, 0.0, out=squares), out=squares).mean())
    np.subtract(mean_frame, np.add.reduce(mean_frame) / mean_frame.size, out=scratch)
    texture = float(np.sqrt(np.add.reduce(np.multiply(scratch, scratch, out=scratch)) / scratch.size))
    return {
        "n": len(contrast),
        "sampled": m,
        "texture": texture,
        "flicker": flicker,
        "unsteady": flicker * _unsteady_share(sample) if m > 1 else 0.0,
        "dark": dark,
        "bright": bright,
        "bright_at_top": bright if float(high) in TOP_LEVELS else 0.0,
        # plain numbers, as the rest (summaries compare equal however the frames were read)
        "blocks": [tuple(int(v) for v in row) for row in blocks],
        "difference_power": [float(d) for d in difference],
        "contrast": [float(c) for c in contrast],
        "change": changes,
    }


#: Pixels of a sample's frames :func:`_unsteady_share` looks at (a subgrid: no fresh memory to speak of).
_UNSTEADY_PIXELS = 256


def _unsteady_share(sample) -> float:
    """The share of the pixels' temporal deviation left once each frame's global gain and offset are fitted out.

    What :class:`~vismic.stabilise.NormaliseLight` leaves of a light change: global flicker of
    20 % read as "no stable texture" (every pixel varied as much as the image) on a scene
    recovered at 26.5 dB. On a subgrid of about :data:`_UNSTEADY_PIXELS` pixels of ``sample``
    (``(m, rows, width)``, m > 1); 1 where nothing varies.
    """
    m, height, width = sample.shape[:3]
    step = max(1, int(np.sqrt(height * width / _UNSTEADY_PIXELS)))
    flat = np.array(sample[:, ::step, ::step], dtype=np.float64).reshape(m, -1)
    before = float(flat.std(axis=0).mean())
    if before <= 0:
        return 1.0
    flat -= flat.mean(axis=1, keepdims=True)
    pattern = flat.mean(axis=0)
    power = float(pattern @ pattern)
    if power > 0:
        for row in flat:
            row -= (row @ pattern / power) * pattern
    return float(flat.std(axis=0).mean()) / before


_WORK = ThreadBuffer(np.float64)
_SUMS, _SQUARES, _SCRATCH = ThreadBuffer(np.float64), ThreadBuffer(np.float64), ThreadBuffer(np.float64)
_FLAGS = ThreadBuffer(np.bool_)


def _moments(sample) -> tuple:
    """``(low, high, pixels at low, pixels at high, per-pixel sums, per-pixel sums of squares)`` over the frames.

    Compiled (without the GIL) when numba is already loaded by the projection;
    numpy otherwise. Threads computing numpy's dozen small passes on every batch ran
    slower together than one alone.
    """
    m = len(sample)
    flat_shape = (m, sample[0].size)
    kernel = compiled(_moments_loop) if numba_loaded() and sample.ndim == 3 and sample.dtype in _KERNEL_TYPES else False
    sums, squares = _SUMS.get(flat_shape[1:]), _SQUARES.get(flat_shape[1:])
    if kernel:
        sums.fill(0.0)
        squares.fill(0.0)
        low, high, n_low, n_high = kernel(sample, sums, squares)
        return low, high, n_low, n_high, sums, squares
    # one float64 copy (exact for integer frames: stored and float32 copies of the same frames give
    # the same numbers), then sums over it: numpy's mean and std each cast and allocate again.
    # The copy goes into memory kept for the thread's next batch: a Dask worker hands freed blocks
    # back to the system at once (MALLOC_TRIM_THRESHOLD_), and page-faulting a fresh megabyte on
    # every batch slowed its tasks.
    values = _WORK.get(flat_shape)
    np.copyto(values.reshape(sample.shape), sample)  # reshaping the strided sample would copy it
    low, high = values.min(), values.max()
    at = _FLAGS.get(flat_shape)
    return (low, high, np.count_nonzero(np.equal(values, low, out=at)), np.count_nonzero(np.equal(values, high, out=at)),
            values.sum(axis=0, out=sums), np.einsum("ij,ij->j", values, values, out=squares))


_KERNEL_TYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64))


def _moments_loop(sample, sums, squares):
    # three passes that vectorise (faster than one pass that branches on each value)
    m, height, width = sample.shape
    low = high = sample[0, 0, 0]
    for f in range(m):
        for r in range(height):
            row, at = sample[f, r], r * width
            for c in range(width):
                v = np.float64(row[c])
                sums[at + c] += v
                squares[at + c] += v * v
            for c in range(width):
                low = row[c] if row[c] < low else low
                high = row[c] if row[c] > high else high
    n_low = n_high = 0
    for f in range(m):
        for r in range(height):
            row = sample[f, r]
            for c in range(width):
                n_low += np.int64(row[c] == low)
                n_high += np.int64(row[c] == high)
    return np.float64(low), np.float64(high), n_low, n_high


def _held_numpy(frames, first, rows, columns, bands: int, blocks: int) -> tuple:
    b = CODEC_BLOCK
    pair = np.stack([frames[first, rows, columns], frames[first + 1, rows, columns]])
    if pair.ndim == 5:
        pair = pair[..., 0]
    # (2, pairs, bands, 8 rows, blocks, 8 columns): reduce the contiguous columns first
    pair = pair.astype(np.float64).reshape(2, len(first), bands, b, blocks, b)
    change = pair[1] - pair[0]
    changed = np.count_nonzero(change, axis=-1).sum(axis=2).reshape(len(first), -1)
    textured = (pair[1].max(axis=-1).max(axis=2) > pair[1].min(axis=-1).min(axis=2)).reshape(len(first), -1)
    counts = np.stack([np.count_nonzero(textured & (changed == 0), axis=1), np.count_nonzero(textured, axis=1),
                       np.where(textured, changed, 0).sum(axis=1),
                       np.count_nonzero(textured & (changed > 0), axis=1) * b * b], axis=1)
    flat = change.reshape(len(first), -1)
    return counts, np.einsum("ij,ij->i", flat, flat) / flat.shape[1]


def _held_loop(frames, first, rows, left, blocks, counts, difference):
    b = CODEC_BLOCK
    bands = len(rows) // b
    for p in range(len(first)):
        before, after = frames[first[p]], frames[first[p] + 1]
        power = 0.0
        for band in range(bands):
            for k in range(blocks):
                changed = 0
                low = high = np.float64(after[rows[band * b], left + k * b])
                for i in range(b):
                    r = rows[band * b + i]
                    for j in range(left + k * b, left + (k + 1) * b):
                        v = np.float64(after[r, j])
                        d = v - np.float64(before[r, j])
                        power += d * d
                        if d != 0:
                            changed += 1
                        low = min(low, v)
                        high = max(high, v)
                if high > low:
                    counts[p, 1] += 1
                    counts[p, 2] += changed
                    if changed == 0:
                        counts[p, 0] += 1
                    else:
                        counts[p, 3] += b * b
        difference[p] = power / (bands * b * blocks * b)


def codec_innovation(difference_power) -> float:
    """Median over 95th percentile of the frame-to-frame difference power (1: steady; ~0.1: inter-frame codec).

    An inter-frame encoder (MPEG-4 part 2, H.264) predicts most frames from the
    previous ones and drops sub-pixel changes it deems too small: between key
    frames the frames barely change, and the sound there is lost.
    ``benchmarks/bench_nuisance.py`` prints it for the frames as read: lossless,
    flicker, shake and MJPG scenes 0.71-0.94, mp4v 0.03-0.11.

    Examples
    --------
    >>> codec_innovation(np.r_[np.nan, np.tile([1.0] * 11 + [12.0], 10)])
    0.0833...
    """
    values = np.asarray(difference_power, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 4:
        return 1.0
    top = float(np.percentile(values, 95))
    return float(np.median(values) / top) if top > 0 else 1.0


#: Side of the blocks :func:`held_blocks` looks at: the DCT block of JPEG and MPEG-4 (H.264's macroblocks hold 2x2 of them).
CODEC_BLOCK = BLOCK
#: :func:`held_blocks` compares frame ``i`` with ``i + 1`` every this many frames: prime to the
#: usual distances between key frames (12, 15, 25, 30, 60...), so the pairs meet every phase of them.
PAIR_STRIDE = 11
#: Blocks of each of the two bands :func:`held_blocks` looks at (1024 pixels a frame in all).
_HELD_BLOCKS_PER_BAND = 8


def held_blocks(frames, *, stride: int = PAIR_STRIDE):
    """How textured 8x8 blocks change from one frame to the next, and how much each frame changes.

    An inter-frame codec copies a block it predicts well (a skip block) bit for bit, sensor
    noise and all, and re-codes the others whole; a camera's own frames change some pixel of
    nearly every block, and frames rendered without noise change only the few pixels whose
    grey level the motion crosses. Looks at pairs of frames ``(i, i + 1)`` for every
    ``stride``-th ``i`` of the batch, on two bands of 8 rows (at a third and two thirds of
    the height) of up to 8 blocks centred across the width: a cost that does not grow
    with the frame size.

    Parameters
    ----------
    frames : array_like [shape=(n, height, width[, channels])]
    stride : int
        Distance between the pairs' first frames (1: every frame).

    Returns
    -------
    counts : list of (int, int, int, int)
        Per pair: textured blocks left unchanged, textured blocks, changed pixels of the
        changed textured blocks, pixels of the changed textured blocks.
    difference_power : list of float
        Per pair: mean squared difference, on the same pixels.

    Examples
    --------
    >>> frames = np.random.default_rng(0).integers(0, 255, (3, 16, 16)).astype(np.uint8)
    >>> frames[2] = frames[1]  # the third frame copies the second
    >>> counts, _ = held_blocks(frames, stride=1)
    >>> counts
    [(0, 4, 256, 256), (4, 4, 0, 0)]
    """
    frames = np.asarray(frames)
    return _held_pairs(frames, np.arange(0, len(frames) - 1, stride))


def _held_geometry(height: int, width: int) -> tuple:
    """``(rows, left, blocks)`` :func:`held_blocks` looks at; None for frames under a block."""
    b = CODEC_BLOCK
    if height < b or width < b:
        return None
    # two bands of 8 rows, at a third and two thirds of the height, of blocks centred across the width
    bands = 2 if height >= 2 * b else 1
    rows = ((np.arange(1, bands + 1) * height // (bands + 1)) // b * b)[:, None]
    rows = (np.minimum(rows, height - b) + np.arange(b)).ravel()
    blocks = min(width // b, _HELD_BLOCKS_PER_BAND)
    return rows, (width // b - blocks) // 2 * b, blocks


def held_bands(frame) -> Optional[np.ndarray]:
    """The pixels of ``frame`` (height, width[, channels]) :func:`held_blocks` compares, as a small frame of their own.

    Its own bands are itself: :func:`held_blocks` of two frames' bands gives the two frames' numbers.
    """
    geometry = _held_geometry(*frame.shape[:2])
    if geometry is None:
        return None
    rows, left, blocks = geometry
    bands = frame[rows, left:left + blocks * CODEC_BLOCK]
    return np.array(bands[..., 0] if bands.ndim == 3 else bands)


def _held_pairs(frames, first) -> tuple:
    """:func:`held_blocks`' two lists for the pairs ``(i, i + 1)``, ``i`` in ``first``."""
    geometry = _held_geometry(*frames.shape[1:3])
    first = np.asarray(first, dtype=np.int64)
    if geometry is None or len(frames) < 2 or first.size == 0:
        return [], []
    rows, left, blocks = geometry
    b = CODEC_BLOCK
    bands = len(rows) // b
    columns = slice(left, left + blocks * b)
    kernel = compiled(_held_loop) if numba_loaded() and frames.ndim == 3 and frames.dtype in _KERNEL_TYPES else False
    if kernel:
        counts, difference = np.zeros((len(first), 4), dtype=np.int64), np.zeros(len(first))
        kernel(frames, first, rows, left, blocks, counts, difference)
    else:
        counts, difference = _held_numpy(frames, first[:, None], rows, columns, bands, blocks)
    return [tuple(int(v) for v in row) for row in counts], [float(d) for d in difference]


def merge_statistics(batches: List[Mapping]) -> Optional[dict]:
    """One summary of :func:`batch_statistics` over a video: frame-weighted means, the worst clipping.

    Batches of a single frame carry no temporal deviation and are left out of ``flicker``.
    ``blank_spans`` lists the runs of blank frames (:func:`vismic._blank.blank_frames`) as
    ``(start, stop)`` frames of the batches in order; batches of nothing else are left out
    of the other figures (a video of nothing else keeps them: its findings say what it lacks).
    """
    batches = [b for b in batches if b and b.get("n", 0) > 0]
    if not batches:
        return None
    blank = _blank(batches)
    starts = np.cumsum([0] + [b["n"] for b in batches])
    textured = [b for b, start in zip(batches, starts) if not blank[start:start + b["n"]].all()]
    blocks = np.array([c for b in batches for c in b.get("blocks", ())], dtype=np.float64).reshape(-1, 4).sum(axis=0)
    innovation = codec_innovation([d for b in batches for d in b.get("difference_power", ())])
    batches = textured or batches  # whole batches of blank frames are named by their spans, not as clipped frames
    batches = [b for b in batches if b.get("sampled", 1) > 0] or batches
    weights = np.array([b["n"] for b in batches], dtype=np.float64)
    moving = [b for b in batches if b.get("sampled", b["n"]) > 1]
    merged = {
        "n": int(starts[-1]),
        "texture": float(np.average([b["texture"] for b in batches], weights=weights)),
        "flicker": float(np.average([b["flicker"] for b in moving], weights=[b["n"] for b in moving]))
        if moving else 0.0,
        "unsteady": float(np.average([b.get("unsteady", b["flicker"]) for b in moving], weights=[b["n"] for b in moving]))
        if moving else 0.0,
        "dark": float(max(b["dark"] for b in batches)),
        "bright": float(max(b["bright"] for b in batches)),
        "bright_at_top": float(max(b.get("bright_at_top", 0.0) for b in batches)),
        # the share of frames in batches clipped by _clipped_findings' tests, dark and bright
        "dark_frames": float(np.average([clipped(b, "dark") for b in batches], weights=weights)),
        "bright_frames": float(np.average([clipped(b, "bright") for b in batches], weights=weights)),
        "held_blocks": float(blocks[0] / blocks[1]) if blocks[1] > 0 else 0.0,
        "whole_blocks": float(blocks[2] / blocks[3]) if blocks[3] > 0 else 0.0,
        "innovation": innovation,
        "blank_spans": spans(blank),
        "repeated": _repeated_share(batches, blank),
    }
    return merged


def _repeated_share(batches: List[Mapping], blank: np.ndarray) -> float:
    """The share of the textured frames that repeat the frame before exactly, where they do so in a cadence.

    Frames of a camera differ by their noise; a file whose every frame is there twice (a rate
    converted on export) repeats every other one, in step. An inter-frame codec also copies a
    noisy frame whole now and then (x264 at its defaults repeated 28 % of a scene's frames),
    but not in a cadence: 0 there.
    """
    if not all(len(b.get("contrast", ())) == b["n"] for b in batches):
        return 0.0
    change = np.concatenate([_changes(b) for b in batches])
    contrast = np.concatenate([b["contrast"] for b in batches])
    seen = np.isfinite(change) & (contrast > 0)
    if blank.size == change.size:  # whole blank batches are left out of ``batches`` (``blank`` spans them all)
        seen &= ~blank
    if not seen.any():
        return 0.0
    repeated = seen & (change == 0)
    share = float(np.mean(repeated[seen]))
    # nearly all repeated: nothing moves (its own finding), not a duplication
    return share if share < 0.9 and _in_cadence(repeated, seen) else 0.0


#: Cadences (frames) a duplication repeats in: 2 (every frame twice) to 6 (24 fps as 30 repeats one in five: 5).
CADENCES = range(2, 7)


def _in_cadence(repeated: np.ndarray, seen: np.ndarray) -> bool:
    """Whether the repeats fall on some phases of a short cadence: at least 90 % of the frames seen at those phases repeat,
    and at least 90 % of the repeats are there.

    >>> seen = np.ones(40, bool)
    >>> _in_cadence(np.arange(40) % 2 == 1, seen), _in_cadence(np.random.default_rng(0).random(40) < 0.3, seen)
    (True, False)
    """
    total = int(repeated.sum())
    if total == 0:
        return False
    positions = np.arange(repeated.size)
    for period in CADENCES:
        phases = [phase for phase in range(period)
                  if seen[positions % period == phase].any()
                  and np.mean(repeated[(positions % period == phase) & seen]) >= 0.9]
        if phases and np.isin(positions[repeated] % period, phases).mean() >= 0.9:
            return True
    return False


def _blank(batches: List[Mapping]) -> np.ndarray:
    """Which frames of the batches, in order, are blank (none where a batch lacks the per-frame numbers)."""
    n = sum(b["n"] for b in batches)
    if not all(len(b.get("contrast", ())) == b["n"] for b in batches):
        return np.zeros(n, dtype=bool)
    return blank_frames(np.concatenate([b["contrast"] for b in batches]), np.concatenate([_changes(b) for b in batches]))


def _changes(batch: Mapping) -> np.ndarray:
    """A batch's change per frame (a first frame's unknown, None or left out: nan)."""
    change = list(batch.get("change", ()))
    change = change if len(change) == batch["n"] else [None] + change[:batch["n"] - 1]
    return np.array(change, dtype=np.float64)
