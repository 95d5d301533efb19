"""Validation helpers shared by the synth modules (one per kind of argument)."""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_signal  # noqa: F401  (re-exported for the synth modules)
from ..errors import FrameShapeError, ParameterError


def check_positive(value, name: str) -> float:
    """A finite number > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number, given {name}={value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ParameterError(f"{name} must be a positive number, given {name}={value!r}")
    return number


def check_non_negative(value, name: str) -> float:
    """A finite number >= 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number >= 0, given {name}={value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ParameterError(f"{name} must be a number >= 0, given {name}={value!r}")
    return number


def check_direction(value) -> float:
    """A finite angle in degrees."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"direction_degrees must be a number, given direction_degrees={value!r}") from None
    if not math.isfinite(number):
        raise ParameterError(f"direction_degrees must be finite, given direction_degrees={value!r}")
    return number


def unit_vector(direction_degrees: float):
    """``(cos θ, sin θ)``, exact for multiples of 90 degrees."""
    quarter = direction_degrees / 90.0
    if quarter == round(quarter):
        return [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][int(round(quarter)) % 4]
    theta = math.radians(direction_degrees)
    return math.cos(theta), math.sin(theta)


def check_texture(texture) -> np.ndarray:
    """A finite 2-D float64 array of at least 2 x 2 pixels."""
    array = np.asarray(texture)
    if array.ndim != 2:
        raise FrameShapeError(f"texture must have shape (height, width), given shape={array.shape}")
    if min(array.shape) < 2:
        raise FrameShapeError(f"texture must be at least 2 x 2 pixels, given shape={array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ParameterError(f"texture must hold numbers, given dtype={array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ParameterError("texture contains NaN or infinite values")
    return array


def check_shape(shape, name: str = "shape") -> tuple:
    """A ``(height, width)`` pair of positive integers."""
    try:
        height, width = (int(v) for v in shape)
        exact = all(float(v) == int(v) for v in shape)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be (height, width), given {name}={shape!r}") from None
    if not exact or height < 1 or width < 1:
        raise ParameterError(f"{name} must be two positive integers (height, width), given {name}={shape!r}")
    return height, width


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
