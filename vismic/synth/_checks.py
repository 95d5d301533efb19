"""The checks the synth modules use: the library's own (:mod:`vismic._checks`) plus two for scenes.

Nothing here is a second copy: numbers, shapes and signals are checked by
:mod:`vismic._checks`, the direction's unit vector comes from
:mod:`vismic.decompose._gradient`.
"""

from __future__ import annotations

import numpy as np

from .._checks import (
    check_image,
    check_non_negative,
    check_number,
    check_positive,
    check_rate,
    check_shape,
    check_signal,
)
from ..decompose._gradient import unit_vector
from ..errors import FrameShapeError, ParameterError

__all__ = [
    "check_positive",
    "check_non_negative",
    "check_shape",
    "check_signal",
    "check_direction",
    "check_texture",
    "unit_vector",
    "n_samples",
    "length_and_rate",
]


def check_direction(value) -> float:
    """A finite angle in degrees (``direction_degrees``)."""
    return check_number(value, "direction_degrees")


def check_texture(texture) -> np.ndarray:
    """A finite float64 image of at least 2 x 2 pixels (``FrameShapeError`` for a wrong shape)."""
    return check_image(texture, "texture", shape_error=FrameShapeError)


def n_samples(duration_seconds, sr) -> int:
    """Number of samples of a signal of ``duration_seconds`` at ``sr`` (at least 1)."""
    duration_seconds = check_positive(duration_seconds, "duration_seconds")
    sr = check_positive(sr, "sr")
    n = int(round(duration_seconds * sr))
    if n < 1:
        raise ParameterError(
            f"duration_seconds={duration_seconds!r} at sr={sr!r} gives no sample; make it longer"
        )
    return n


def length_and_rate(duration_seconds, sr, *, min_sr: float, what: str):
    """``(n_samples, sr)`` of a sound that needs a rate of at least ``min_sr`` Hz (for ``what``)."""
    n = n_samples(duration_seconds, sr)
    sr = check_rate(sr, "sr")
    if sr < min_sr:
        raise ParameterError(f"sr={sr!r} is too low for {what}; use sr >= {min_sr:g}")
    return n, sr
