"""What the stabiliser holds at its static reference: the border strips a shift fills, and near-clipped pixels.

Both carry no sound while held, so the stage reports how much of the reference's motion
information each frame keeps (:func:`kept_information`), which
:class:`~vismic.combine.Combine` divides out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["kept_information", "near_clip_noise", "near_clip_weights"]

#: Near-clipped pixels held static: how far around them (px) and the ramp to the frame (px) (see ``near_clip_levels``).
CLIP_RADIUS_PX, CLIP_RAMP_PX = 1.0, 2.0
#: How near (in noise standard deviations) to a clip level a reference pixel counts as near-clipped.
CLIP_NOISE_SIGMAS = 3.0


def _border_profiles(shape, motion_px, ramp_px: float) -> tuple:
    """Weights that drop the border strips a shift by ``-motion_px`` filled from beyond the frame.

    Content within ``|d|`` px of a side came from outside the frame: the frame's mirror
    image, which moves the wrong way, or the static reference, which carries no sound
    (``Stabilise(extend=...)``); 0 up to about ``|d|`` px from the
    side, then a ramp of ``ramp_px`` to 1. No motion gives all ones. A frame's weights are
    the outer product of its two profiles: ``(n, width)`` along x and ``(n, height)``
    along y.
    """
    profiles = []
    for axis, length in ((0, shape[1]), (1, shape[0])):  # motion columns are (x, y)
        size = np.abs(np.asarray(motion_px)[:, axis])[:, None]
        distance = np.minimum(np.arange(length), np.arange(length)[::-1])[None, :] + 0.5
        profiles.append(np.clip((distance + ramp_px - size - (ramp_px - 0.5) * np.minimum(size, 1.0)) / ramp_px,
                                0.0, 1.0))
    return tuple(profiles)


def kept_information(profiles, information) -> np.ndarray:
    """Share of a reference's motion information each frame keeps outside its filled border strips: ``(n,)``.

    The strips hold the static reference, which carries no sound: a region's
    evidence of the sound shrinks with them. ``information`` is the reference's
    information density (squared gradient, ``(height, width)``); ``profiles``
    as :func:`_border_profiles` gives them.
    """
    along_x, along_y = profiles
    total = float(np.sum(information))
    if total <= 0:
        return np.ones(along_x.shape[0])
    # one matrix product, then a row-wise dot: the three-operand einsum took numpy's slow generic loop
    return np.einsum("nw,nw->n", along_y @ information, along_x) / total


def _near_clip(reference, levels: float) -> Optional[np.ndarray]:
    """Pixels of ``reference`` within ``levels`` of 0, or of 255 where it stays within 0-255; None if none."""
    reference = np.asarray(reference, dtype=np.float64)
    if levels <= 0:
        return None
    near = reference <= levels
    if reference.max() <= 255.0:
        near |= reference >= 255.0 - levels
    return near if near.any() else None


def near_clip_weights(reference, *, levels: float, radius_px: float = CLIP_RADIUS_PX,
                      ramp_px: float = CLIP_RAMP_PX) -> Optional[np.ndarray]:
    """Weights that hold a reference's near-clipped pixels static: ``(height, width)`` float32, or None.

    0 within ``radius_px`` of a pixel within ``levels`` grey levels of 0 or of 255
    (the top only where the reference stays within 0-255), a ramp of ``ramp_px`` to
    1 beyond; None where no pixel is that close (or ``levels`` is 0).

    Examples
    --------
    >>> reference = np.full((5, 9), 100.0)
    >>> reference[2, 4] = 252.0
    >>> near_clip_weights(reference, levels=8.0)[2].round(2).tolist()
    [1.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0]
    >>> near_clip_weights(reference, levels=2.0) is None
    True
    """
    from scipy import ndimage

    near = _near_clip(reference, levels)
    if near is None:
        return None
    distance = ndimage.distance_transform_edt(~near)
    return np.clip((distance - radius_px) / ramp_px, 0.0, 1.0).astype(np.float32)


def near_clip_noise(frames, reference, *, levels: float) -> Optional[float]:
    """Noise standard deviation (grey levels) where ``reference`` is within ``levels`` of 0 or 255, or None.

    From consecutive differences of ``frames`` (the first block's: within a few ms the
    scene hardly moves, and these pixels are nearly flat), robustly: the median absolute
    difference over 0.6745 and sqrt(2), of pairs where neither value is clipped (at 0 or
    255). None with fewer than two frames or no such pixel.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> frames = 250.0 + 2.0 * rng.standard_normal((11, 16, 16))
    >>> round(near_clip_noise(frames, frames.mean(axis=0), levels=16.0), 1)
    2.0
    """
    frames = np.asarray(frames)
    reference = np.asarray(reference, dtype=np.float64)
    near = _near_clip(reference, levels)
    if frames.shape[0] < 2 or near is None:
        return None
    values = frames[:, near].astype(np.float64)
    differences = np.diff(values, axis=0)
    top = 255.0 if reference.max() <= 255.0 else np.inf
    unclipped = (values[1:] > 0) & (values[1:] < top) & (values[:-1] > 0) & (values[:-1] < top)
    if not unclipped.any():
        return None
    return float(np.median(np.abs(differences[unclipped])) / 0.6745 / np.sqrt(2.0))


@dataclass(frozen=True)
class _ClipHold:
    """How far each near-clipped pixel is held at the reference: the rows it reaches, their hold and reference."""

    rows: np.ndarray
    hold: np.ndarray
    reference: np.ndarray

    @classmethod
    def of(cls, block_frames, reference, levels: float) -> Optional["_ClipHold"]:
        """From the first block's frames (its noise sets how near counts) and the reference; None if nothing is held."""
        noise = near_clip_noise(block_frames, reference, levels=levels)
        weights = near_clip_weights(reference, levels=levels if noise is None else min(levels, CLIP_NOISE_SIGMAS * noise))
        if weights is None:
            return None
        hold = 1.0 - weights
        rows = np.any(hold > 0.0, axis=1)
        return cls(rows, hold[rows], np.asarray(reference, dtype=np.float32)[rows])

    def apply(self, frames, share) -> None:
        """Move ``frames`` towards the reference by the hold times each frame's ``share``, in place (float32)."""
        amount = np.asarray(share, dtype=np.float32)[:, None, None] * self.hold[None]
        frames[:, self.rows] += amount * (self.reference[None] - frames[:, self.rows])


def _fill_border(frames, profiles, reference):
    """Blend the reflected border strips (``profiles``, :func:`_border_profiles`) with the static reference, in place.

    Only the rows and columns some frame's strips reach are touched (the weights are
    1 elsewhere; blending the whole frame in float64 was a large share of the stage's
    time). The blend is computed in float64 and stored in ``frames``' dtype.
    """
    along_x, along_y = profiles
    rows = np.any(along_y < 1.0, axis=0)
    columns = np.any(along_x < 1.0, axis=0)
    if rows.any():  # those rows whole
        weights = along_y[:, rows, None] * along_x[:, None, :]
        frames[:, rows] = weights * frames[:, rows] + (1.0 - weights) * reference[rows][None]
    others = ~rows
    if columns.any() and others.any():  # those columns in the other rows
        at = np.ix_(np.arange(frames.shape[0]), np.flatnonzero(others), np.flatnonzero(columns))
        weights = along_y[:, others, None] * along_x[:, None, columns]
        frames[at] = weights * frames[at] + (1.0 - weights) * reference[np.ix_(others, columns)][None]
    return frames
