"""Argument checks shared by several subpackages."""

from __future__ import annotations

import numpy as np

from .errors import ParameterError


def check_signal(values, name: str) -> np.ndarray:
    """A finite, non-empty 1-D float64 array (``vismic.data.Audio`` accepted)."""
    values = getattr(values, "samples", values)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ParameterError(f"{name} must have shape (n,), given {name}.shape={array.shape}")
    if array.size == 0:
        raise ParameterError(f"{name} is empty (shape={array.shape})")
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{name} contains NaN or infinite values")
    return array
