"""Argument checks, one per kind of argument, shared by every subpackage.

Each checker returns the value in the form the caller works with (a ``float``, an
``int``, a float64 array) or raises :class:`~vismic.errors.ParameterError` with a
message that names the parameter, shows the value given and says what is allowed.
Shape errors of arrays raise ``shape_error`` (``ParameterError`` unless the caller
names another class, e.g. :class:`~vismic.errors.FrameShapeError` for images).

Numbers are Python or NumPy reals (or 0-d real arrays): ``bool``, strings and bytes
are refused even though ``float()`` would take them, so ``fps="2200"`` or ``fps=True``
never slip through as a number.

Examples
--------
>>> check_positive(2200, "fps")
2200.0
>>> check_positive("2200", "fps")
Traceback (most recent call last):
...
vismic.errors.ParameterError: fps must be a positive number, given fps='2200'
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence, Tuple

import numpy as np

from .errors import ParameterError

__all__ = [
    "as_number",
    "check_number",
    "check_positive",
    "check_non_negative",
    "check_range",
    "check_rate",
    "check_finite_frames",
    "check_int",
    "check_bool",
    "check_positive_int",
    "check_choice",
    "check_int_tuple",
    "check_pair",
    "check_shape",
    "check_frame_indices",
    "check_grid",
    "check_data",
    "check_array",
    "check_signal",
    "check_image",
    "check_grid_fits",
]


def as_number(value) -> Optional[float]:
    """``value`` as a float if it is a real number (bools, strings and bytes are not), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        return float(value)
    return None


def check_number(value, name: str) -> float:
    """A finite real number.

    >>> check_number(-3, "offset")
    -3.0
    """
    number = as_number(value)
    if number is None or not math.isfinite(number):
        raise ParameterError(f"{name} must be a finite number, given {name}={value!r}")
    return number


def check_positive(value, name: str) -> float:
    """A finite real number > 0."""
    number = as_number(value)
    if number is None or not math.isfinite(number) or number <= 0:
        raise ParameterError(f"{name} must be a positive number, given {name}={value!r}")
    return number


def check_non_negative(value, name: str) -> float:
    """A finite real number >= 0."""
    number = as_number(value)
    if number is None or not math.isfinite(number) or number < 0:
        raise ParameterError(f"{name} must be a number >= 0, given {name}={value!r}")
    return number


def check_range(
    value, name: str, low: float, high: float, *, include_low: bool = True, include_high: bool = True
) -> float:
    """A finite real number within ``[low, high]`` (either end open where asked; ends may be infinite).

    >>> check_range(0.5, "overlap", 0, 1, include_high=False)
    0.5
    >>> check_range(1, "overlap", 0, 1, include_high=False)
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: overlap must lie in [0, 1), given overlap=1
    """
    number = as_number(value)
    ok = (
        number is not None
        and math.isfinite(number)
        and (number >= low if include_low else number > low)
        and (number <= high if include_high else number < high)
    )
    if not ok:
        lb = "[" if include_low else "("
        hb = "]" if include_high else ")"
        raise ParameterError(f"{name} must lie in {lb}{low:g}, {high:g}{hb}, given {name}={value!r}")
    return number


#: Highest sample or frame rate vismic accepts (Hz): above the fastest high-speed cameras
#: (a few million frames per second), and low enough that a second of signal fits in memory.
MAX_RATE_HZ = 1e7


def check_rate(value, name: str = "sr") -> float:
    """A sample or frame rate: a finite real number of Hz, 0 < rate <= :data:`MAX_RATE_HZ`.

    >>> check_rate(1e300, "fps")
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: fps must be a positive rate in Hz of at most 1e+07, given fps=1e+300
    """
    number = as_number(value)
    if number is None or not math.isfinite(number) or number <= 0:
        raise ParameterError(f"{name} must be a positive rate in Hz, given {name}={value!r}")
    if number > MAX_RATE_HZ:
        raise ParameterError(f"{name} must be a positive rate in Hz of at most {MAX_RATE_HZ:g}, given {name}={value!r}")
    return number


def check_finite_frames(frames: np.ndarray, name: str = "frames", *, start: int = 0) -> None:
    """Raise :class:`ParameterError` naming the first frame (``start`` + index) holding NaN or inf.

    ``frames`` has time on its first axis; integer arrays are always finite.

    >>> check_finite_frames(np.array([[0.0], [np.nan]]), start=10)
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: frames: frame 11 contains NaN or infinite pixels; replace them (e.g. np.nan_to_num) or drop that frame
    """
    if frames.dtype.kind not in "fc" or frames.size == 0:
        return
    # One reduction per frame in the frames' own type (the fastest pass): a sum is finite
    # when every term is; a sum that overflows only sends its frame to the exact check.
    per_frame = frames.reshape(frames.shape[0], -1)
    with np.errstate(over="ignore", invalid="ignore"):
        totals = per_frame.sum(axis=1)
    suspect = np.flatnonzero(~np.isfinite(totals))
    for index in suspect:
        if not np.isfinite(per_frame[index]).all():
            raise ParameterError(
                f"{name}: frame {start + int(index)} contains NaN or infinite pixels; replace them "
                "(e.g. np.nan_to_num) or drop that frame"
            )


def check_int(value, name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """An integer (Python or NumPy, not bool) within ``[minimum, maximum]`` where given.

    >>> check_int(3, "n_levels", minimum=1, maximum=8)
    3
    >>> check_int(2.0, "n_levels", minimum=1)
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: n_levels must be an integer >= 1, given n_levels=2.0
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if ok:
        ok = (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        if minimum is not None and maximum is not None:
            allowed = f"an integer from {minimum} to {maximum}"
        elif minimum is not None:
            allowed = f"an integer >= {minimum}"
        elif maximum is not None:
            allowed = f"an integer <= {maximum}"
        else:
            allowed = "an integer"
        raise ParameterError(f"{name} must be {allowed}, given {name}={value!r}")
    return int(value)


def check_bool(value, name: str) -> bool:
    """True or False (NumPy's too).

    >>> check_bool(np.True_, "quantize")
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be True or False, given {name}={value!r}")
    return bool(value)


def check_positive_int(value, name: str, *, allow_none: bool = False) -> Optional[int]:
    """An integer >= 1 (or None where ``allow_none``)."""
    if value is None and allow_none:
        return None
    return check_int(value, name, minimum=1)


def check_choice(value, name: str, choices: Sequence):
    """One of ``choices`` (compared with ``==``).

    >>> check_choice("fast", "method", ("fast", "exact"))
    'fast'
    """
    if isinstance(value, (str, bytes, numbers.Number)) or value is None:
        if value in tuple(choices):
            return value
    raise ParameterError(
        f"{name} must be one of {', '.join(repr(c) for c in choices)}, given {name}={value!r}"
    )


def check_int_tuple(value, name: str, *, length: int, minimum: int = 1, what: str = "") -> Tuple[int, ...]:
    """``length`` integers >= ``minimum`` (integral floats such as ``4.0`` accepted), as a tuple of int.

    >>> check_int_tuple((0, 2.0, 5), "origin", length=3, minimum=0)
    (0, 2, 5)
    """
    message = f"{name} must be {length} integers >= {minimum}{' ' + what if what else ''}, given {name}={value!r}"
    items = None if isinstance(value, (str, bytes)) else _as_tuple(value)
    if items is None or len(items) != length:
        raise ParameterError(message)
    numbers_ = [as_number(v) for v in items]
    if any(n is None or not math.isfinite(n) or n != int(n) or n < minimum for n in numbers_):
        raise ParameterError(message)
    return tuple(int(n) for n in numbers_)


def _as_tuple(value) -> Optional[tuple]:
    try:
        return tuple(value)
    except TypeError:
        return None


def check_pair(value, name: str, *, what: str = "(first, second)") -> Tuple[int, int]:
    """Two integers >= 1, e.g. a shape or a grid."""
    return check_int_tuple(value, name, length=2, minimum=1, what=what)


def check_shape(shape, name: str = "shape") -> Tuple[int, int]:
    """An image size ``(height, width)`` of two integers >= 1."""
    return check_pair(shape, name, what="(height, width)")


def check_frame_indices(value, name: str, *, also: str = "") -> np.ndarray:
    """Frame indices: a 1-D array of integers >= 0 (``also`` names what else the parameter takes).

    >>> check_frame_indices([0, 12, 24], "key_frames").tolist()
    [0, 12, 24]
    >>> check_frame_indices([-1, 5], "key_frames")
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: key_frames must be a 1-D array of frame indices (integers >= 0), given [-1, 5]
    """
    index = None if isinstance(value, str) else np.asarray(value)
    if (index is None or index.ndim != 1
            or (index.size and (not np.issubdtype(index.dtype, np.integer) or index.min() < 0))):
        raise ParameterError(f"{name} must be {also}a 1-D array of frame indices (integers >= 0), given {value!r}")
    return index.astype(np.intp)  # an empty list is float64: no frames


def check_grid(grid, name: str = "grid") -> Tuple[int, int]:
    """A grid of regions ``(rows, cols)`` of two integers >= 1."""
    return check_pair(grid, name, what="(rows, cols)")


def check_data(value, kind: type, stage: str):
    """``value`` if it is a ``kind`` (one of :mod:`vismic.data`'s classes), else a ParameterError naming ``stage``.

    A frame stage also takes what has a FrameBatch's ``frames``, ``start`` and ``fps`` (frames as
    the source stores them, 8 or 16 bits, before their float32 conversion).

    Examples
    --------
    >>> from vismic.data import FrameBatch
    >>> check_data(np.zeros((2, 8, 8)), FrameBatch, "Decompose")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: Decompose takes vismic.data.FrameBatch, given a numpy array of shape (2, 8, 8): wrap...
    """
    if isinstance(value, kind):
        return value
    if kind.__name__ == "FrameBatch" and all(hasattr(value, name) for name in ("frames", "start", "fps")):
        return value  # frames as the source stores them (vismic.io's StoredBatch), not yet float32
    given = (f"a numpy array of shape {value.shape}" if isinstance(value, np.ndarray)
             else type(value).__name__)
    hint = ""
    if kind.__name__ == "FrameBatch" and isinstance(value, np.ndarray):
        hint = ": wrap frames as FrameBatch(frames, start, fps), or use vismic.recover_sound(frames, fps=...)"
    raise ParameterError(f"{stage} takes vismic.data.{kind.__name__}, given {given}{hint}")


def check_array(
    values,
    name: str,
    *,
    ndim: Sequence[int] = (1,),
    shape_hint: Optional[str] = None,
    min_size: int = 1,
    shape_error=ParameterError,
) -> np.ndarray:
    """A finite, real float64 array with one of the dimensions ``ndim``.

    Parameters
    ----------
    values : array_like
        Anything with a ``samples`` attribute (:class:`vismic.data.Audio`) gives its samples.
    name : str
        The parameter's name, for messages.
    ndim : sequence of int
        The dimensions allowed.
    shape_hint : str, optional
        The allowed shapes in words, e.g. ``"(n,) or (n_channels, n)"``.
    min_size : int
        Fewest elements along every axis.
    shape_error : type
        Error class for a wrong shape (``ParameterError`` unless the caller pins another).

    Returns
    -------
    np.ndarray, float64
    """
    values = getattr(values, "samples", values)
    if np.iscomplexobj(values):
        raise ParameterError(f"{name} must be real, given dtype={np.asarray(values).dtype}")
    raw = np.asarray(values) if not isinstance(values, (str, bytes)) else None
    if raw is None or raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        kind = type(values).__name__ if raw is None else f"dtype={raw.dtype}"
        raise ParameterError(f"{name} must be an array of numbers, given {kind}")
    array = raw.astype(np.float64)
    if shape_hint is None:
        shape_hint = " or ".join(f"{d}-D" for d in ndim)
    if array.ndim not in tuple(ndim):
        raise shape_error(f"{name} must have shape {shape_hint}, given {name}.shape={array.shape}")
    if array.size == 0:
        raise ParameterError(f"{name} is empty, given {name}.shape={array.shape}")
    if min(array.shape) < min_size:
        raise shape_error(
            f"{name} must have at least {min_size} elements along every axis, given {name}.shape={array.shape}"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ParameterError(f"{name} contains NaN or infinite values (first at index {first})")
    return array


def check_signal(values, name: str = "x", *, channels: bool = False, shape_error=ParameterError) -> np.ndarray:
    """A finite, non-empty, real float64 signal of shape (n,), or (n_channels, n) where ``channels``.

    :class:`vismic.data.Audio` is accepted (its samples are taken).

    >>> check_signal([0.0, 1.0], "reference")
    array([0., 1.])
    >>> check_signal([[0.0, 1.0]], "reference")
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: reference must have shape (n,), given reference.shape=(1, 2)
    """
    if channels:
        return check_array(values, name, ndim=(1, 2), shape_hint="(n,) or (n_channels, n)", shape_error=shape_error)
    return check_array(values, name, ndim=(1,), shape_hint="(n,)", shape_error=shape_error)


def check_image(values, name: str = "image", *, min_size: int = 2, shape_error=ParameterError) -> np.ndarray:
    """A finite, real float64 image of shape (height, width), at least ``min_size`` pixels a side."""
    return check_array(
        values, name, ndim=(2,), shape_hint="(height, width)", min_size=min_size, shape_error=shape_error
    )


#: Every grid up to this many regions a side is allowed whatever the frame size (the default is 8 x 8).
GRID_ALWAYS_ALLOWED = 8
#: Beyond that, a region must span at least this many pixels a side: finer grids cost memory and time
#: with the number of regions (32 x 32 on 64 x 64 frames: 0.9 GB and 14 x the time of 8 x 8) and hold
#: too few coefficients to weigh.
GRID_MIN_CELL_PX = 8


def largest_grid(frame_shape) -> Tuple[int, int]:
    """The finest grid of regions :func:`check_grid_fits` allows on frames of ``(height, width)``.

    >>> largest_grid((64, 64)), largest_grid((480, 640))
    ((8, 8), (60, 80))
    """
    height, width = (int(n) for n in frame_shape)
    return (max(GRID_ALWAYS_ALLOWED, height // GRID_MIN_CELL_PX), max(GRID_ALWAYS_ALLOWED, width // GRID_MIN_CELL_PX))


def check_grid_fits(grid, frame_shape, name: str = "grid") -> Tuple[int, int]:
    """A grid of regions ``(rows, cols)`` whose regions hold pixels of frames of ``(height, width)``.

    >>> check_grid_fits((1000, 1000), (64, 64))
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: grid=(1000, 1000) is too fine for 64x64 frames (regions of at least 8 pixels a side); the largest grid allowed is (8, 8)
    """
    rows, cols = check_grid(grid, name)
    max_rows, max_cols = largest_grid(frame_shape)
    if rows > max_rows or cols > max_cols:
        height, width = (int(n) for n in frame_shape)
        raise ParameterError(
            f"{name}=({rows}, {cols}) is too fine for {width}x{height} frames (regions of at least "
            f"{GRID_MIN_CELL_PX} pixels a side); the largest {name} allowed is ({max_rows}, {max_cols})"
        )
    return rows, cols
