"""Is there anything in a recovery? Findings that say when it should not be trusted.

Pure functions: :func:`batch_statistics` summarises a batch of frames in a few numbers
(cheap, so :func:`vismic.recover_sound` gathers them while it streams),
:func:`merge_statistics` folds them over a video, and :func:`findings` looks at the
finished recovery and those numbers and returns one sentence per problem found:

- blank frames: every pixel the same in every frame (all black, all white, a lens cap);
- no motion: the recovered motion is numerical dust (identical frames);
- no stable texture: frames change as much over time as across the image (pure noise,
  a flat surface, nothing in focus), so there is no pattern whose motion could be read;
- an estimate below the floor: the recovery's own SNR estimate says noise dominates;
- motion too large to linearise: local phase follows motion linearly only well under
  a pixel; beyond, the sound is distorted however confident the estimate
  (rendered scenes: 0.5 px peak gives 28-30 dB, 1 px 15-18 dB, 20 px below -10 dB
  while the estimate stays above 30 dB);
- clipped frames: a large share of pixels at the darkest or brightest value, or a small
  one at the top of the data's range (saturated, as the stabiliser's report counts it).

Where nothing moved, the frames' own findings (blank, no texture, clipped) say why.

Thresholds are measured on :mod:`vismic.synth` scenes (``benchmarks/bench_reliability.py``).
"""

from __future__ import annotations

from typing import List, Mapping, Optional

import numpy as np

from ._blank import blank_frames, frame_contrasts, spans
from ._buffers import ThreadBuffer
from ._compiled import compiled, numba_loaded
from .codec import BLOCK

__all__ = [
    "NO_MOTION_PX",
    "MIN_TEXTURE_RATIO",
    "SNR_FLOOR_DB",
    "MAX_LINEAR_PX",
    "MAX_CLIPPED_FRACTION",
    "SATURATED_FRACTION",
    "batch_statistics",
    "held_blocks",
    "codec_innovation",
    "merge_statistics",
    "findings",
    "cap_snr_estimate",
]

#: A recovered peak below this many pixels is numerical dust, not motion.
NO_MOTION_PX = 1e-9
#: Spatial contrast of the batch-mean frame over the mean temporal deviation of a pixel, below
#: which frames hold no stable texture (real scenes: > 10; independent noise frames: ~0.1).
MIN_TEXTURE_RATIO = 1.0
#: The recovery's own SNR estimate below which noise dominates, in dB.
SNR_FLOOR_DB = 0.0
#: Peak recovered motion, in pixels, beyond which local phase no longer follows it linearly.
MAX_LINEAR_PX = 0.6
#: Share of pixels at the darkest or brightest value beyond which frames are called clipped.
MAX_CLIPPED_FRACTION = 0.3
#: Share of pixels at the top of 8, 10, 12, 14 or 16-bit data beyond which frames are called saturated, as
#: the stabiliser's report counts them (black at 0 is left to :data:`MAX_CLIPPED_FRACTION`: a dark
#: background holds no texture to lose, and 2 % of the real clips' pixels sat at 0).
SATURATED_FRACTION = 0.02
#: The top grey levels of 8, 10, 12, 14 and 16-bit data.
TOP_LEVELS = (255.0, 1023.0, 4095.0, 16383.0, 65535.0)


#: Pixels per frame the statistics look at (evenly spaced rows of larger frames).
_SAMPLED_PIXELS = 16384


def batch_statistics(frames) -> dict:
    """A few numbers about a batch of frames, shape (n, height, width[, channels]), from a subgrid of pixels.

    Returns
    -------
    dict
        ``texture`` (spatial standard deviation of the mean frame), ``flicker`` (mean temporal
        standard deviation of a pixel), ``unsteady`` (the same once each frame's global gain and
        offset are fitted out, :func:`_unsteady_share`), ``dark`` and ``bright`` (share of pixels at the batch's
        lowest and highest value), ``bright_at_top`` (``bright`` where that value is the top of 8
        to 16-bit data, :data:`TOP_LEVELS`; else 0), ``n`` (frames), ``contrast`` and ``change``
        (per frame, :func:`vismic._blank.frame_contrasts`; ``change`` from the second frame
        on). Frames blank beside the batch's others (:func:`vismic._blank.blank_frames`) are
        left out of the texture, flicker and clipping figures.

    Examples
    --------
    >>> stats = batch_statistics(np.zeros((4, 8, 8)))
    >>> stats["texture"], stats["dark"]
    (0.0, 1.0)
    """
    frames = np.asarray(frames)
    contrast, change = frame_contrasts(frames)
    everything = frames
    # judged against the batch's most textured frame: a batch mostly of blank frames has them as its 90th percentile
    blank = blank_frames(contrast, change, quantile=1.0)
    if blank.any() and not blank.all():
        frames = frames[~blank]  # named by their own finding; here they would read as clipped frames or flicker
    # Whole rows, evenly spaced, about 16k pixels a frame: these are coarse checks, and the full
    # frames would cost as much as the recovery itself on large frames (a strided subgrid
    # would too: it touches every cache line of the rows it visits).
    row_step = max(1, frames.shape[1] * frames.shape[2] // _SAMPLED_PIXELS)
    n = len(frames)
    sample = frames[:: max(1, n // 8), ::row_step]  # and at most ~8 frames of the batch
    m = len(sample)
    low, high, n_low, n_high, sums, squares = _moments(sample)
    size = sample.size
    dark = n_low / size
    bright = n_high / size if high > low else 0.0
    if high == low and float(high) in TOP_LEVELS:  # one value, at the top of the data's range: burnt out, not dark
        dark, bright = 0.0, 1.0
    # numpy's own steps for ``sums / m``, ``(squares / m - mean ** 2).clip(0) ** 0.5`` and ``std``, into
    # memory kept for the thread's next batch (see _moments): the same numbers without fresh blocks
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
    blocks, difference = held_blocks(everything)
    return {
        "n": len(everything),
        "texture": texture,
        "flicker": flicker,
        "unsteady": flicker * _unsteady_share(sample) if m > 1 else 0.0,
        "dark": dark,
        "bright": bright,
        "bright_at_top": bright if float(high) in TOP_LEVELS else 0.0,
        "blocks": blocks,
        "difference_power": difference,
        # plain numbers, as the rest (summaries compare equal however the frames were read); the first has no change
        "contrast": contrast.tolist(),
        "change": change[1:].tolist(),
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
    n, height, width = frames.shape[:3]
    b = CODEC_BLOCK
    if n < 2 or height < b or width < b:
        return [], []
    # two bands of 8 rows, at a third and two thirds of the height, of blocks centred across the width
    bands = 2 if height >= 2 * b else 1
    rows = ((np.arange(1, bands + 1) * height // (bands + 1)) // b * b)[:, None]
    rows = (np.minimum(rows, height - b) + np.arange(b)).ravel()
    blocks = min(width // b, _HELD_BLOCKS_PER_BAND)
    left = (width // b - blocks) // 2 * b
    columns = slice(left, left + blocks * b)
    first = np.arange(0, n - 1, stride)
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
    weights = np.array([b["n"] for b in batches], dtype=np.float64)
    moving = [b for b in batches if b["n"] > 1]
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
        "dark_frames": float(np.average([_clipped(b, "dark") for b in batches], weights=weights)),
        "bright_frames": float(np.average([_clipped(b, "bright") for b in batches], weights=weights)),
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
    but not in a cadence: 0 there. Pairs across two batches are not seen (their change is unknown).
    """
    if not all(len(b.get("change", ())) == b["n"] - 1 and len(b.get("contrast", ())) == b["n"] for b in batches):
        return 0.0
    change = np.concatenate([[np.nan] + list(b["change"]) for b in batches])
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
    return blank_frames(np.concatenate([b["contrast"] for b in batches]),
                        np.concatenate([[np.nan] + list(b["change"]) for b in batches]))


def cap_snr_estimate(info: dict, cap_db: float) -> None:
    """Lower ``info["snr_estimate_db"]`` (a number, or one per channel) to at most ``cap_db``, where present.

    >>> info = {"snr_estimate_db": [12.0, 3.0]}; cap_snr_estimate(info, 5.0); info
    {'snr_estimate_db': [5.0, 3.0]}
    """
    if info.get("snr_estimate_db") is None:
        return
    capped = np.minimum(np.asarray(info["snr_estimate_db"], dtype=np.float64), cap_db)
    info["snr_estimate_db"] = capped.tolist() if capped.ndim else float(capped)


def estimate_note(info: Mapping) -> str:
    """What to say after ``snr_estimate_db`` where a codec's error is or is not in it ('' otherwise).

    >>> estimate_note({"reliability": {"lossy_codec": "..."}})
    " (the codec's error not counted)"
    >>> estimate_note({"reliability": {"lossy_codec": "..."}, "codec_replica": {"snr_db": 9.5}})
    ' (at most the 9.5 dB a replica through the codec gave)'

    Output whose motion is too large for the linear evidence is said not to be trusted: a
    camera shaking at 5-60 Hz, in the sound band, read 8.8 dB for an output of -33.9 (an audit, one-off; the
    regions agree on the frame's motion; the warning said so, the summary line did not).
    """
    if any(line.startswith(TOO_LARGE_PREFIX) for line in info.get("warnings", [])):
        return " (not to be trusted: the motion is too large for the linear evidence, see the warning)"
    if "lossy_codec" not in info.get("reliability", {}):
        return ""
    replica = info.get("codec_replica")
    if replica is not None:
        return f" (at most the {replica['snr_db']:.1f} dB a replica through the codec gave)"
    return " (the codec's error not counted)"


#: How the finding of motion beyond what local phase follows linearly begins.
TOO_LARGE_PREFIX = "motion too large"

#: How the finding of an SNR estimate below :data:`SNR_FLOOR_DB` begins.
LOW_SNR_PREFIX = "the estimated SNR"
#: How the finding of frames without a pattern that stays begins.
NO_TEXTURE_PREFIX = "no stable texture"

#: How the finding of clipped frames begins (the stabiliser's ``saturated`` and ``black`` flags say it again).
CLIPPED_PREFIX = "clipped frames"


def findings(samples, info: Mapping, statistics: Optional[Mapping] = None) -> List[str]:
    """Sentences saying why a recovery should not be trusted (empty when none applies).

    Parameters
    ----------
    samples : array_like [shape=(n,) or (n_channels, n)]
        The recovered motion, in pixels.
    info : mapping
        The recovery's ``info`` (``snr_estimate_db`` is read where present).
    statistics : mapping, optional
        :func:`merge_statistics` of the frames.

    Examples
    --------
    >>> findings(np.zeros(100), {"snr_estimate_db": 5.0})[0][:40]
    'no motion found: the recovered motion pe'
    >>> findings(0.01 * np.sin(np.arange(100)), {"snr_estimate_db": 20.0})
    []
    """
    samples = np.asarray(samples, dtype=np.float64)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    found = []
    blank = statistics is not None and statistics["texture"] <= 0 and statistics["flicker"] <= 0
    if blank:  # the cause of everything else: say it first
        found.append("blank frames: every pixel holds the same value in every frame (all black, all white or one "
                     "grey), so there is nothing whose motion can be read; check the exposure, the lens cap and --roi")
    if not np.isfinite(peak) or peak < NO_MOTION_PX:
        found.append(f"no motion found: the recovered motion peaks at {peak:.2g} px (numerical noise); "
                     "check that the frames differ and that --fps and --roi point at the vibrating object")
        # what the frames show says why (texture, clipping); the SNR and size of the dust would not
        return found if blank else found + _texture_findings(statistics) + _clipped_findings(statistics)
    if blank:
        return found
    found += _texture_findings(statistics)
    snr = np.atleast_1d(np.asarray(info.get("snr_estimate_db", np.nan), dtype=np.float64))
    if samples.ndim == 2 and samples.shape[0] > 1:
        empty = np.max(np.abs(samples), axis=1) < NO_MOTION_PX
        if np.any(empty):
            found.append(f"only {int(np.sum(~empty))} of the {samples.shape[0]} sources asked for were found: "
                         f"{'channels' if np.sum(empty) > 1 else 'channel'} "
                         f"{', '.join(str(i + 1) for i in np.flatnonzero(empty))} "
                         f"{'hold' if np.sum(empty) > 1 else 'holds'} nothing; ask for fewer (--sources, n_sources=)")
            if snr.size == samples.shape[0]:
                snr = snr[~empty]  # the empty channels' estimates say the same again
    if samples.ndim == 2 and samples.shape[0] > 1 and snr.size > 1 and 0 < np.sum(snr < SNR_FLOOR_DB) < snr.size:
        low = np.flatnonzero(snr < SNR_FLOOR_DB)
        named = np.flatnonzero(~empty)[low] if snr.size < samples.shape[0] else low
        found.append(f"{LOW_SNR_PREFIX} of channel{'s' if low.size > 1 else ''} "
                     f"{', '.join(str(i + 1) for i in named)} ({', '.join(f'{v:.1f}' for v in snr[low])} dB) is below "
                     f"{SNR_FLOOR_DB:g} dB: {'they are' if low.size > 1 else 'it is'} mostly noise, regions that no "
                     "source of their own moves; the video may hold fewer sources than asked (--sources, n_sources=)")
    elif np.any(snr < SNR_FLOOR_DB):
        # more light does not undo a codec: its own finding says what would
        reliability = info.get("reliability", {})
        if "large_motion" in reliability:  # more light does not undo slow motion either
            advice = "the slow motion below the sound band caps it (see that finding)"
        elif "inter_frame_codec" in reliability or "key_frame_jumps" in reliability:
            advice = "the inter-frame codec caps it (see that finding)"
        elif "lossy_codec" in reliability:
            advice = "the codec's own error comes on top of it (see that finding)"
        else:
            advice = "try a larger --roi, more light or a closer view"
        found.append(f"{LOW_SNR_PREFIX} ({', '.join(f'{v:.1f}' for v in snr)} dB) is below {SNR_FLOOR_DB:g} dB: "
                     f"the output is mostly noise; {advice}")
    if peak > MAX_LINEAR_PX:
        found.append(f"{TOO_LARGE_PREFIX}: it peaks at {peak:.2f} px, beyond the ~{MAX_LINEAR_PX:g} px that local "
                     "phase follows linearly, so the sound is distorted whatever the SNR estimate says; "
                     "use --downsample to shrink the motion in pixels, or film from further away")
    return found + _clipped_findings(statistics)


def _texture_findings(statistics: Optional[Mapping]) -> List[str]:
    """The frames hold no pattern that stays (from :func:`merge_statistics`; empty without statistics)."""
    if statistics is None:
        return []
    # what a global light change leaves aside: NormaliseLight takes it out
    texture, flicker = statistics["texture"], statistics.get("unsteady", statistics["flicker"])
    if texture > 0 and texture >= MIN_TEXTURE_RATIO * flicker:
        return []
    return [f"{NO_TEXTURE_PREFIX}: pixels vary as much over time (mean deviation {flicker:.3g}) as "
            f"across the image ({texture:.3g}), so there is no pattern whose motion can be read; "
            "film a textured, focused, well-lit surface or choose it with --roi"]


def _clipped_findings(statistics: Optional[Mapping]) -> List[str]:
    """A share of pixels at the frames' darkest or brightest value (empty without statistics).

    More than :data:`MAX_CLIPPED_FRACTION` at any value, or more than :data:`SATURATED_FRACTION`
    at the top of the data's range (:data:`TOP_LEVELS`), in some batch.
    """
    if statistics is None:
        return []
    found = []
    for key, word in (("dark", "darkest"), ("bright", "brightest")):
        if _clipped(statistics, key):
            frames = statistics.get(f"{key}_frames")
            where = "" if frames is None else f"in {100 * frames:.0f} % of the frames, up to "
            found.append(f"{CLIPPED_PREFIX}: {where}{100 * statistics[key]:.0f} % of pixels sit at the {word} value, "
                         "where motion leaves no trace; adjust the exposure or choose a region with --roi")
    return found


def _clipped(statistics: Mapping, key: str) -> bool:
    """Whether a batch's (or a video's worst) share of pixels at the darkest or brightest value counts as clipped."""
    return bool(statistics[key] > MAX_CLIPPED_FRACTION
                or (key == "bright" and statistics.get("bright_at_top", 0.0) > SATURATED_FRACTION))
