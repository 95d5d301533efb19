"""Motion that jumps at a codec's key frames: what an inter-frame codec held in between.

An inter-frame codec (H.264, HEVC, VP8/9, MPEG-4 part 2) codes most frames as changes from
the frame before, and a change much smaller than its quantiser step is dropped: the block is
copied, or predicted from a moved block that a quarter-pixel motion vector cannot place any
closer. The sub-pixel motion the sound makes is then held until the next key frame (an intra
frame, coded from scratch), where the frame jumps to where the object really is. The
recovered motion shows those jumps as frame-to-frame changes far larger than the others,
repeating at the key-frame interval. x264 at its default quality (CRF 23, a key frame every
250 frames) holds 0.05 px of sound motion so (``benchmarks/bench_nuisance.py``'s ``h264``
rows), while the region groups agree on the held motion, so only the jumps tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_int, check_signal
from ..errors import ParameterError

__all__ = ["KeyFrameJumps", "key_frame_jumps", "JUMP_RATIO", "MIN_JUMP_CYCLES"]

#: A phase whose median squared change is this many times its neighbours' (and the median of all)
#: counts as the codec's key frames. ``benchmarks/bench_nuisance.py`` prints the ratio of each
#: condition (96 px, recovered without denoising): 6.6-64.6 on every scene without a codec that
#: holds the motion (the highest where synthetic speech's glottal pulses repeat exactly),
#: 1043-21674 under x264's default quality, 110-2735 under OpenCV's ``mp4v``. None of the real clips
#: of ``benchmarks/bench_footage.py`` is flagged.
JUMP_RATIO = 200.0

#: Fewest key frames (cycles of the period) a phase's median is taken over: a few loud onsets are
#: no pattern.
MIN_JUMP_CYCLES = 8


@dataclass(frozen=True)
class KeyFrameJumps:
    """What :func:`key_frame_jumps` found.

    Attributes
    ----------
    period : int
        Frames between the jumps (the key-frame interval), 0 when none was looked for.
    phase : int
        Index of the first frame after a jump (a key frame), modulo ``period``.
    ratio : float
        Median over the key frames of the squared frame-to-frame change into them, over the
        larger of the median of all frames' and the medians into the frames just before and
        just after them (1 when nothing was looked for), at the period the search picked; where
        speech's pauses left key frames without a jump, ``period`` may be a divisor of that one.
    snr_db : float
        Output power over the excess power of the changes into the key frames, in dB: how
        much of the output the held motion leaves (read it where ``found``; ``inf`` when
        nothing was looked for).
    found : bool
        ``ratio >= JUMP_RATIO``.
    """

    period: int
    phase: int
    ratio: float
    snr_db: float

    @property
    def found(self) -> bool:
        return self.ratio >= JUMP_RATIO


def _mean_ratio(steps, period: int, phase: int) -> float:
    at = np.zeros(len(steps), dtype=bool)
    at[phase::period] = True
    return float(np.mean(steps[at])) / max(float(np.mean(steps[~at])), 1e-12 * float(np.mean(steps)))


def _key_frame_interval(steps, period: int, phase: int, min_period: int):
    """The divisor of ``period`` (itself included) whose phase-aligned frames stand out most on average.

    Speech's pauses leave key frames without a jump, and a multiple of the interval can then
    collect more jumps in its medians; the interval itself holds every jump among its frames
    and none among the rest, a multiple leaves some among the rest, and any other divisor
    takes frames that do not jump.
    """
    divisors = [d for d in range(min_period, period + 1) if period % d == 0]
    return max(((d, phase % d) for d in divisors), key=lambda item: _mean_ratio(steps, *item))


def key_frame_jumps(motion, *, min_period: int = 8, max_period: int = 600) -> KeyFrameJumps:
    """Find frame-to-frame jumps of the recovered motion that repeat every ``period`` frames.

    For every period from ``min_period`` to ``max_period`` frames (as long as the clip holds
    :data:`MIN_JUMP_CYCLES` of it) and every phase, the median over the cycles of the squared
    change into that frame is compared with the median over all frames and with the medians of
    the phases on either side; the largest ratio wins. Medians, so that a few loud onsets do not
    make a pattern; the neighbours, so that a beat does not (an onset moves several frames, a
    key frame one).

    Parameters
    ----------
    motion : array_like [shape=(n,) or (n_channels, n)]
        Recovered motion (any units); channels are summed in power.
    min_period, max_period : int
        Key-frame intervals looked at (x264 puts one every 250 frames, OpenCV's encoders every
        12, cameras every 15 to 60).

    Returns
    -------
    KeyFrameJumps

    Examples
    --------
    >>> t = np.arange(3000)
    >>> sound = np.sin(0.3 * t)
    >>> held = sound[t // 100 * 100]          # held between key frames every 100 frames
    >>> jumps = key_frame_jumps(held + 0.01 * np.sin(1.1 * t))
    >>> jumps.found, jumps.period, jumps.phase
    (True, 100, 0)
    >>> key_frame_jumps(sound).found
    False
    """
    x = np.atleast_2d(check_signal(motion, "motion", channels=True))
    if x.shape[1] < 2:
        raise ParameterError(f"motion must hold at least 2 frames, given motion.shape={np.shape(motion)}")
    min_period = check_int(min_period, "min_period", minimum=2)
    max_period = check_int(max_period, "max_period", minimum=min_period)
    steps = np.sum(np.diff(x, axis=1) ** 2, axis=0)  # steps[i]: the change into frame i + 1
    periods = range(min_period, min(max_period, len(steps) // MIN_JUMP_CYCLES) + 1)
    if not np.any(steps) or len(periods) == 0:
        return KeyFrameJumps(0, 0, 1.0, float("inf"))
    # a codec that held every change but the key frames' leaves most changes exactly zero
    typical = max(float(np.median(steps)), 1e-12 * float(np.mean(steps)))
    found = []
    for period in periods:
        cycles = len(steps) // period
        medians = np.median(steps[: cycles * period].reshape(cycles, period), axis=0)
        # a codec jumps in one frame; a note's onset or a word moves the frames around it too
        around = np.maximum(np.roll(medians, 1), np.roll(medians, -1))
        isolated = medians / np.maximum(around, typical)
        phase = int(np.argmax(isolated))
        found.append((float(isolated[phase]), period, phase))
    top = max(found)
    # every multiple of the key-frame interval meets the jumps too (its ratio as large, give or take its
    # fewer cycles' scatter): the shortest period that stands out wins, then its best divisor
    ratio, period, phase = top if top[0] < JUMP_RATIO else next(
        item for item in found if item[0] >= max(JUMP_RATIO, top[0] / 10))
    if ratio >= JUMP_RATIO:
        period, phase = _key_frame_interval(steps, period, phase, min_period)
    at = np.zeros(len(steps), dtype=bool)
    at[phase::period] = True
    excess = float(np.mean(steps[at]) - np.mean(steps[~at]))
    power = float(np.sum(np.mean(x ** 2, axis=1)))
    snr_db = 10.0 * np.log10(power / excess) if excess > 0 else float("inf")
    return KeyFrameJumps(period, (phase + 1) % period, ratio, float(snr_db))
