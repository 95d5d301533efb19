"""Frames that leap alone: one frame displaced from both its neighbours (a camera's hiccup, a codec's error).

A frame moved by a few tenths of a pixel where its neighbours are not reads, in every region,
as a spike of the evidence far past its linear range. Across the sound's direction it can take
the combination's direction to itself: a single frame of a 96 px scene leaping 0.4 px lost
the sound (-1.6 dB for 18.5; a 64 px one -28 to -45 dB), with a confident estimate where the
first frame leapt (13.1 dB for -31.6; one-off). Sound moves frames too, and synthetic speech's
glottal pulses are single-frame spikes of the output's residual as large (6337 times the median
at 2200 fps), so a spike alone proves nothing: the frames are repaired (their residual against
their neighbours taken out of every region's scores, as a codec's key frames are) and the
repair is kept only where it turns the output's direction back or where the output's own
estimate rises with it, which is what a leap across the sound did and what repairing the
sound's own pulses does not. A leap across the sound may not show in the output at all, which
reads the frames along it: it is found in the whole frame's shift across the output
(:func:`across`).
"""

from __future__ import annotations

import numpy as np

#: A frame is a candidate where its output's squared residual against its neighbours' mean is at least
#: this many times the median frame's and at least :data:`ISOLATION` times each neighbour's.
LONE_LEAP_RATIO = 1000.0

#: A leap's residual spills half its size onto each neighbour (a quarter of its power); a step of the
#: motion (an onset) puts as much on the frame after.
ISOLATION = 3.0

#: Most frames repaired at once: more than this many spikes are the sound's own.
MAX_LONE_LEAPS = 8

#: The repair is kept where the output's direction turns by at least this much (degrees)...
TURN_DEGREES = 30.0

#: ...or where the output's own estimate (``snr_estimate_db``, what the region groups agree on) rises by at
#: least this much. The groups disagree on a leap (its evidence is past the linear range, each texture's own)
#: and agree on the sound's pulses: repairing one leap of 0.1 px on 96 px scenes raised the estimate by 2.9 to
#: 3.4 dB (the output gained 3.6 to 8 dB), repairing three glottal pulses of a clean speech scene -0.1 dB (the
#: output would have lost 12 dB); a leap that pulled the direction by 20 degrees, 35 dB (one-off).
GAIN_DB = 1.0


def lone_leaps(motion) -> np.ndarray:
    """Frames of ``motion`` (n,) or (channels, n) whose residual stands out alone (see the module notes).

    End frames count against the frame beside them. None where more than :data:`MAX_LONE_LEAPS`
    stand out: so many are the sound's own.

    >>> motion = np.sin(np.arange(400) / 7.0) + 0.01 * np.random.default_rng(0).standard_normal(400)
    >>> motion[200] += 3.0
    >>> lone_leaps(motion)
    array([200])
    """
    x = np.atleast_2d(np.asarray(motion, dtype=np.float64)).sum(axis=0)
    if x.size < 5:
        return np.empty(0, dtype=np.intp)
    power, typical = _residual_power(x)
    # a leap of a spills a / 2 onto its inner neighbours' residuals (a quarter of its power) and the whole of it
    # onto an end's difference (3/4 of its power as scaled): at frame 0 it leaves frame 1 a third of the end's
    # power, at frame 1 the end 3/4 of frame 1's; each frame is held against its neighbours by what a leap of
    # its own would leave them, with room for noise
    left = ISOLATION * np.concatenate([[0.0], power[:-1]])
    right = ISOLATION * np.concatenate([power[1:], [0.0]])
    left[1], right[-2] = power[0] / 1.5, power[-1] / 1.5
    right[0], left[-1] = 2.0 * power[1], 2.0 * power[-2]
    found = np.flatnonzero((power >= LONE_LEAP_RATIO * typical) & (power >= left) & (power >= right))
    if found.size > MAX_LONE_LEAPS:
        return np.empty(0, dtype=np.intp)
    return found


def _residual_power(x: np.ndarray):
    """Each frame's squared residual against its neighbours' mean (the ends' against the frame beside them, scaled
    to the same noise: a difference has 4/3 of it) and the median inner frame's."""
    inner = (x[1:-1] - 0.5 * (x[:-2] + x[2:])) ** 2
    power = np.concatenate([[0.75 * (x[0] - x[1]) ** 2], inner, [0.75 * (x[-1] - x[-2]) ** 2]])
    return power, max(float(np.median(inner)), 1e-300)


def leap_weight(motion, frames) -> float:
    """The Wiener share of the leaping frames' residual to keep: 1 / (1 + their excess over chance).

    Their mean squared residual over the median frame's, less what their count reaches by
    chance (:func:`vismic.codec.chance_ratio`), as a codec's key frames are weighed.
    """
    from ..codec import chance_ratio

    power, typical = _residual_power(np.atleast_2d(np.asarray(motion, dtype=np.float64)).sum(axis=0))
    ratio = float(np.mean(power[np.asarray(frames, dtype=np.intp)])) / typical
    return 1.0 / (1.0 + max(0.0, ratio - chance_ratio(len(frames))))


def across(rigid_px, direction_degrees) -> np.ndarray:
    """``(n,)``: the whole frame's shift ``rigid_px`` (``(2, n)``, x and y) across the output's direction.

    A frame that leaps across the sound leaves the output, read along it, as it was, and every
    region's evidence past its linear range: the region groups then disagree over the whole clip
    (a 64 px scene with one frame 0.1 px across read 25.5 dB, estimated 12.2; one-off). Across
    the direction the leap stands alone as it does in the output when it leaps along it.

    >>> rigid = np.zeros((2, 5)); rigid[1, 2] = 0.1
    >>> across(rigid, 0.0).round(2).tolist()
    [0.0, 0.0, 0.1, 0.0, 0.0]
    """
    angle = np.radians(float(np.atleast_1d(direction_degrees)[0]))
    return np.array([-np.sin(angle), np.cos(angle)]) @ np.asarray(rigid_px, dtype=np.float64)


def turned(before_degrees, after_degrees) -> float:
    """Angle (degrees, 0-90) between two directions of motion, which have no sign."""
    difference = abs(float(np.atleast_1d(before_degrees)[0]) - float(np.atleast_1d(after_degrees)[0])) % 180.0
    return min(difference, 180.0 - difference)
