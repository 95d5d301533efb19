"""vismic._checks: one checker per kind of argument; any input gives a value or a ParameterError."""

import math
from fractions import Fraction

import numpy as np
import pytest

from vismic import _checks
from vismic._checks import (
    check_array,
    check_choice,
    check_grid,
    check_image,
    check_int,
    check_non_negative,
    check_number,
    check_positive,
    check_positive_int,
    check_range,
    check_rate,
    check_shape,
    check_signal,
)
from vismic.errors import FrameShapeError, ParameterError

# Odd inputs every checker must answer with a value or a ParameterError, never another error.
ODD_VALUES = [
    None, True, False, np.bool_(True), "2200", b"2200", "", "nan", [], [1], (1, 2), (1, 2, 3), {},
    {"a": 1}, object(), 0, -1, 1, 2.5, -0.0, math.nan, math.inf, -math.inf, 1e308, 1e-308,
    np.float32(3.5), np.int64(4), np.uint8(7), np.array(2.0), np.array([1.0]), np.array([[1.0, 2.0]]),
    np.zeros((2, 3)), np.zeros((0,)), np.array([1 + 2j]), 1 + 2j, Fraction(3, 2), np.array(["a"]),
    np.array([np.nan]), np.ones((3, 3)) * np.inf, np.ones((4, 5)), range(3), slice(1), float,
]

SCALAR_CHECKERS = [
    lambda v: check_number(v, "x"),
    lambda v: check_positive(v, "x"),
    lambda v: check_non_negative(v, "x"),
    lambda v: check_range(v, "x", 0, 1),
    lambda v: check_range(v, "x", -math.inf, 0, include_high=False),
    lambda v: check_rate(v, "fps"),
    lambda v: check_int(v, "n"),
    lambda v: check_int(v, "n", minimum=0, maximum=10),
    lambda v: check_positive_int(v, "n"),
    lambda v: check_choice(v, "mode", ("a", "b", 1)),
    lambda v: check_shape(v),
    lambda v: check_grid(v),
    lambda v: check_signal(v, "y"),
    lambda v: check_signal(v, "y", channels=True),
    lambda v: check_image(v, "texture"),
    lambda v: check_array(v, "a", ndim=(1, 2, 3)),
]


@pytest.mark.parametrize("checker", SCALAR_CHECKERS)
@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda v: type(v).__name__)
def test_any_input_gives_a_value_or_a_parameter_error(checker, value):
    try:
        checker(value)
    except ParameterError as exc:
        assert str(exc)


def test_random_inputs_give_a_value_or_a_parameter_error():
    rng = np.random.default_rng(0)
    for _ in range(300):
        kind = rng.integers(5)
        value = [
            rng.normal() * 10.0 ** rng.integers(-5, 5),
            int(rng.integers(-5, 5)),
            rng.normal(size=tuple(rng.integers(0, 4, size=rng.integers(0, 4)))),
            tuple(rng.integers(-2, 5, size=rng.integers(0, 4)).tolist()),
            str(rng.integers(100)),
        ][kind]
        for checker in SCALAR_CHECKERS:
            try:
                checker(value)
            except ParameterError:
                pass


@pytest.mark.parametrize("value", ["2200", True, np.bool_(True), None, b"1", math.nan, math.inf, 0, -2])
def test_positive_and_rate_refuse_strings_bools_and_non_positive(value):
    for checker in (check_positive, check_rate):
        with pytest.raises(ParameterError, match=r"fps=") as info:
            checker(value, "fps")
        assert repr(value) in str(info.value)


@pytest.mark.parametrize("value, expected", [(2200, 2200.0), (np.float32(0.5), 0.5), (np.int64(3), 3.0),
                                              (np.array(7.0), 7.0), (Fraction(1, 4), 0.25)])
def test_positive_accepts_real_numbers(value, expected):
    result = check_positive(value, "fps")
    assert type(result) is float and result == expected


def test_messages_name_the_parameter_the_value_and_what_is_allowed():
    with pytest.raises(ParameterError, match=r"sr must be a positive rate in Hz, given sr='2200'"):
        check_rate("2200")
    with pytest.raises(ParameterError, match=r"x must be a number >= 0, given x=-1"):
        check_non_negative(-1, "x")
    with pytest.raises(ParameterError, match=r"alpha must lie in \(0, 1\], given alpha=0"):
        check_range(0, "alpha", 0, 1, include_low=False)
    with pytest.raises(ParameterError, match=r"order must be an integer from 1 to 20, given order=True"):
        check_int(True, "order", minimum=1, maximum=20)
    with pytest.raises(ParameterError, match=r"mode must be one of 'a', 'b', given mode='c'"):
        check_choice("c", "mode", ("a", "b"))
    with pytest.raises(ParameterError, match=r"grid must be 2 integers >= 1 \(rows, cols\), given grid=\(0, 2\)"):
        check_grid((0, 2))


def test_range_ends_open_and_closed():
    assert check_range(0, "x", 0, 1) == 0.0
    assert check_range(1, "x", 0, 1) == 1.0
    for value, kwargs in [(0, {"include_low": False}), (1, {"include_high": False}), (1.5, {}), (-0.1, {})]:
        with pytest.raises(ParameterError):
            check_range(value, "x", 0, 1, **kwargs)


def test_int_refuses_floats_and_bools_and_honours_bounds():
    assert check_int(np.int32(5), "n", minimum=5) == 5
    for value in (5.0, True, "5", None):
        with pytest.raises(ParameterError):
            check_int(value, "n")
    with pytest.raises(ParameterError, match="<= 4"):
        check_int(5, "n", maximum=4)
    assert check_positive_int(None, "n", allow_none=True) is None
    with pytest.raises(ParameterError):
        check_positive_int(None, "n")


def test_pairs_accept_integral_numbers_only():
    assert check_shape((4.0, np.int64(5))) == (4, 5)
    assert check_grid([2, 3]) == (2, 3)
    for value in ((1.5, 2), (1,), (1, 2, 3), "12", (True, 2), None, 3):
        with pytest.raises(ParameterError):
            check_shape(value)


def test_signal_shapes_and_values():
    out = check_signal([1, 2, 3], "y")
    assert out.dtype == np.float64 and out.shape == (3,)
    assert check_signal(np.ones((2, 5)), "y", channels=True).shape == (2, 5)
    with pytest.raises(ParameterError, match=r"y must have shape \(n,\), given y.shape=\(2, 5\)"):
        check_signal(np.ones((2, 5)), "y")
    with pytest.raises(FrameShapeError, match=r"\(n,\) or \(n_channels, n\)"):
        check_signal(np.ones((2, 2, 2)), "y", channels=True, shape_error=FrameShapeError)
    with pytest.raises(ParameterError, match="empty"):
        check_signal([], "y")
    with pytest.raises(ParameterError, match="NaN or infinite"):
        check_signal([1.0, np.inf], "y")
    with pytest.raises(ParameterError, match="real"):
        check_signal([1j], "y")


def test_signal_takes_the_samples_of_audio():
    from vismic.data import Audio

    audio = Audio(samples=np.arange(4.0), sr=100.0)
    assert np.array_equal(check_signal(audio, "y"), np.arange(4.0))


def test_image_size_and_error_class():
    assert check_image(np.ones((2, 3)), "texture").shape == (2, 3)
    with pytest.raises(FrameShapeError, match=r"texture must have shape \(height, width\)"):
        check_image(np.ones(4), "texture", shape_error=FrameShapeError)
    with pytest.raises(FrameShapeError, match="at least 2"):
        check_image(np.ones((1, 4)), "texture", shape_error=FrameShapeError)


def test_every_public_checker_is_listed():
    assert sorted(_checks.__all__) == sorted(
        name for name in dir(_checks) if name.startswith(("check_", "as_")) and callable(getattr(_checks, name))
    )
