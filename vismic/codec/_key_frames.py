"""Key frames whose motion reads as a spike, repaired from the frames beside them.

A codec codes a key frame from scratch and the frames between from the frame before.
The two are quantised differently (a key frame's texture comes out sharper or softer than
the predicted frames'), and a change of texture reads as motion: the recovered motion leaps
at each key frame and comes straight back. OpenCV's VP8 writer, with a key frame every 12
frames, puts most of the recovered motion's error there on some scenes
(``benchmarks/bench_nuisance.py``'s ``vp8`` rows; ``benchmarks/bench_replica.py --codec vp8``).

The repair works on each region's score series before the combination. At a key frame
``k`` the score is ``s[k] = m[k] + e[k]``, and the frames beside it predict ``m[k]`` by their
mean up to the interpolation error that the frames between key frames show. The key
frame's residual ``s[k] - (s[k-1] + s[k+1]) / 2`` is kept in the share ``w`` that error's
power has of the key frames' residual power (a Wiener weight, 1 where key frames are no
different; power that few key frames reach by chance is no leap, :func:`chance_ratio`):
a series whose key frames leap loses the leap, one whose key frames do not keeps them as
they are. The error's power is the largest over the frames' distances from
the last key frame: a sound near the key-frame rate makes some distances' residual larger
by itself, the key frames' among them, and only power above every distance's is a leap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

#: Fewest frames at one distance from the last key frame whose residual power counts as a phase of the baseline.
MIN_PHASE_FRAMES = 16

__all__ = ["KeyFrameRepair", "read_key_frames", "key_frame_weights", "chance_ratio", "repair_key_frames"]


@dataclass(frozen=True)
class KeyFrameRepair:
    """What :func:`repair_key_frames` did.

    Attributes
    ----------
    frames : int
        Key frames repaired (those with a frame on either side that is not a key frame).
    weights : np.ndarray [shape=(m,)]
        The share of each series' key-frame residual that was kept (0-1).
    spike_ratio : np.ndarray [shape=(m,)]
        Each series' mean squared residual at the key frames over the largest of the other
        frames' at one distance from the last key frame (at most about 1 where key frames
        are like any other; NaN where there was none to measure).
    """

    frames: int
    weights: np.ndarray
    spike_ratio: np.ndarray


def read_key_frames(path, max_frames=None) -> np.ndarray:
    """Indices of the key frames of a video file, in the order they are shown (its first ``max_frames``).

    Read from the container's packets (nothing is decoded), sorted by presentation time.

    Raises
    ------
    ImportError
        PyAV is not installed (``pip install vismic[codecs]``).
    VideoNotFoundError, CorruptVideoError
        No file there, or not one PyAV can demux.
    """
    from .._checks import check_positive_int
    from ._file_coding import opened_video

    max_frames = check_positive_int(max_frames, "max_frames", allow_none=True)
    stamps, keys = [], []
    with opened_video(path, "packets") as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            stamps.append(packet.pts if packet.pts is not None else len(stamps))
            keys.append(bool(packet.is_keyframe))
    order = np.argsort(np.asarray(stamps, dtype=np.float64), kind="stable")
    key = np.asarray(keys, dtype=bool)[order]
    if max_frames is not None:
        key = key[:max_frames]
    return np.flatnonzero(key)


def key_frame_masks(key_frames, n: int):
    """(repairable key frames, frames that measure the interpolation error), as boolean masks over ``n`` frames."""
    index = np.asarray(key_frames)
    if index.ndim != 1 or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise ParameterError(f"key_frames must be a 1-D array of frame indices, given {key_frames!r}")
    index = index.astype(np.intp)  # an empty list is float64: no key frames
    key = np.zeros(n, dtype=bool)
    key[index[(index >= 0) & (index < n)]] = True
    near = key.copy()
    near[1:] |= key[:-1]
    near[:-1] |= key[1:]
    inner = np.zeros(n, dtype=bool)
    inner[1:-1] = True
    repairable = key & inner
    repairable[1:-1] &= ~key[:-2] & ~key[2:]
    return repairable, inner & ~near


def neighbour_residual(values: np.ndarray) -> np.ndarray:
    """``s[t] - (s[t-1] + s[t+1]) / 2`` for the inner frames of ``values`` (m, k) -> (m, k - 2)."""
    return values[:, 1:-1] - 0.5 * (values[:, :-2] + values[:, 2:])


def chance_ratio(key_count: int) -> float:
    """How far the key frames' mean squared residual reaches over the others' by chance alone (99 %).

    Gaussian residuals: a chi-squared of ``key_count`` degrees (Wilson-Hilferty's cube) over its
    mean. Two key frames reach 4.6 times the baseline once in a hundred, and 2.8 often (a weight
    of 0.36 from that took 0.7 dB off a clean scene); 170 key frames 1.3.

    >>> round(chance_ratio(2), 1), round(chance_ratio(170), 2)
    (4.6, 1.27)
    """
    k = max(int(key_count), 1)
    return float((1.0 - 2.0 / (9.0 * k) + _CHANCE_Z * np.sqrt(2.0 / (9.0 * k))) ** 3)


#: The standard normal's 99th percentile.
_CHANCE_Z = 2.326


def _weights_from_power(key_power, key_count, base_power, base_count):
    """Wiener weights and spike ratios from the mean squared residuals at the key frames and at the others.

    The leap's power is the key frames' residual power beyond what chance gives
    (:func:`chance_ratio`); the weight keeps the baseline's share of the baseline and that leap.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = key_power / base_power
    if key_count == 0 or base_count == 0:
        ratio = np.full_like(key_power, np.nan)
    leap = np.where(np.isfinite(ratio), np.maximum(ratio - chance_ratio(key_count), 0.0), 0.0)
    return 1.0 / (1.0 + leap), ratio


def key_frame_weights(series, key_frames):
    """The Wiener weight of each series' key-frame residual, and the key frames' excess power.

    Parameters
    ----------
    series : np.ndarray [shape=(m, n)]
        Scores (or motion) per frame, ``m`` series.
    key_frames : array_like of int
        Frame indices of the key frames.

    Returns
    -------
    weights, spike_ratio : np.ndarray [shape=(m,)]
        See :class:`KeyFrameRepair`.
    """
    values = np.atleast_2d(np.asarray(series, dtype=np.float64))
    repairable, base = key_frame_masks(key_frames, values.shape[1])
    residual = neighbour_residual(values) if values.shape[1] > 2 else np.zeros((values.shape[0], 0))
    key_power = np.mean(residual[:, repairable[1:-1]] ** 2, axis=1) if repairable.any() else np.zeros(len(values))
    return _weights_from_power(key_power, int(repairable.sum()), _baseline(residual, repairable, base), int(base.sum()))


def _baseline(residual: np.ndarray, repairable: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The other frames' mean squared residual the key frames are held against: the largest of their phases'.

    Frames are grouped by their distance from the last key frame; a sound that repeats near
    the key-frame rate (a note, a voice's pitch) makes some distances' residual larger than
    others' by itself, and so may the key frames', so only power above every group's is a
    leap. Groups of fewer than :data:`MIN_PHASE_FRAMES` frames are left out; with none left,
    all the other frames together.
    """
    m = residual.shape[0]
    inner = np.arange(1, len(base) - 1)
    keys = np.flatnonzero(repairable)
    if not base[1:-1].any():
        return np.zeros(m)
    pooled = np.mean(residual[:, base[1:-1]] ** 2, axis=1)
    if keys.size == 0:
        return pooled
    last = np.searchsorted(keys, inner, side="right") - 1
    distance = np.where(last >= 0, inner - keys[np.maximum(last, 0)], -1)
    wanted = base[1:-1] & (distance > 0)
    groups = [distance == d for d in np.unique(distance[wanted])]
    means = [np.mean(residual[:, group & wanted] ** 2, axis=1) for group in groups
             if np.count_nonzero(group & wanted) >= MIN_PHASE_FRAMES]
    return np.max(means, axis=0) if means else pooled


def repair_key_frames(series, key_frames, weights=None):
    """``series`` with each key frame's residual against its neighbours' mean scaled by its Wiener weight.

    Parameters
    ----------
    series : np.ndarray [shape=(m, n)] or (n,)
    key_frames : array_like of int
        Frame indices of the key frames (e.g. :func:`read_key_frames`); a key frame at
        either end, or beside another key frame, is left as it is.
    weights : np.ndarray [shape=(m,)] or float, optional
        The share of each series' residual kept, 0-1 (one for all). Default
        :func:`key_frame_weights` of ``series``.

    Returns
    -------
    repaired : np.ndarray, the shape of ``series``
    report : KeyFrameRepair

    Examples
    --------
    >>> t = np.arange(1200)
    >>> motion = np.sin(0.05 * t)
    >>> coded = motion + np.where(t % 12 == 0, 0.5, 0.0)     # each key frame leaps by 0.5
    >>> repaired, report = repair_key_frames(coded, np.arange(0, 1200, 12))
    >>> report.frames, bool(report.weights[0] < 0.01)
    (99, True)
    >>> float(np.max(np.abs(repaired - motion)[1:])) < 0.01
    True
    """
    values = np.asarray(series, dtype=np.float64)
    flat = np.atleast_2d(values)
    if flat.ndim != 2:
        raise ParameterError(f"series must have shape (n,) or (m, n), given shape={values.shape}")
    if weights is None:
        weights, ratio = key_frame_weights(flat, key_frames)
    else:
        given = weights
        weights, ratio = np.asarray(weights, dtype=np.float64), np.full(flat.shape[0], np.nan)
        if weights.ndim == 0:
            weights = np.full(flat.shape[0], float(weights))
        if weights.shape != (flat.shape[0],) or not np.all((weights >= 0) & (weights <= 1)):
            raise ParameterError(f"weights must hold one share from 0 to 1 per series ({flat.shape[0]}), "
                                 f"given {given!r}")
    repairable, _ = key_frame_masks(key_frames, flat.shape[1])
    at = np.flatnonzero(repairable)
    out = flat.copy()
    out[:, at] = repaired_values(flat[:, at], neighbour_residual(flat)[:, at - 1], weights)
    return out.reshape(values.shape), KeyFrameRepair(int(at.size), weights, ratio)


def restored_key_frames(series, key_frames, weight: float) -> np.ndarray:
    """``series`` (m, n) whose key frames kept the share ``weight`` of their residual, with the whole of it back.

    A repair leaves a key frame's neighbours as they were, so the residual it kept is ``weight``
    times the one it had, and any linear reading of the repaired scores (a combination's output)
    is restored so too: the output as the frames came, along the repaired output's direction.

    >>> series = np.array([[0.0, 1.0, 4.0, 1.0, 0.0]])
    >>> repaired, _ = repair_key_frames(series, [2], weights=np.array([0.25]))
    >>> repaired
    array([[0.  , 1.  , 1.75, 1.  , 0.  ]])
    >>> restored_key_frames(repaired, [2], 0.25)
    array([[0., 1., 4., 1., 0.]])
    """
    values = np.array(np.atleast_2d(series), dtype=np.float64)
    if not 0.0 < weight <= 1.0:
        raise ParameterError(f"weight must be in (0, 1], given weight={weight!r}")
    repairable, _ = key_frame_masks(key_frames, values.shape[1])
    at = np.flatnonzero(repairable)
    values[:, at] += (1.0 / weight - 1.0) * neighbour_residual(values)[:, at - 1]
    return values


def repaired_values(values: np.ndarray, residual: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Key frames' ``values`` (m, k) with the share ``1 - weights`` of their ``residual`` (m, k) taken out."""
    return values - (1.0 - weights[:, None]) * residual
