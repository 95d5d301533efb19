"""The 1-D row DTCWT (decompose_rows) against the dtcwt package's Transform1d."""

import warnings

import numpy as np
import pytest

from vismic.decompose import decompose_rows, max_row_levels
from vismic.errors import FrameShapeError, ParameterError

dtcwt = pytest.importorskip("dtcwt")


def package_rows(rows, n_levels, biort, qshift):
    """dtcwt's 1-D transform of every row (it transforms columns), back in row layout."""
    lead, width = rows.shape[:-1], rows.shape[-1]
    columns = np.ascontiguousarray(rows.reshape(-1, width).T, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pyramid = dtcwt.Transform1d(biort=biort, qshift=qshift).forward(columns, nlevels=n_levels)
    highpasses = [h.T.reshape(lead + (h.shape[0],)) for h in pyramid.highpasses]
    return highpasses, pyramid.lowpass.T.reshape(lead + (pyramid.lowpass.shape[0],))


@pytest.mark.parametrize("width", [8, 10, 22, 34, 64, 66, 100, 128, 250])
@pytest.mark.parametrize("filters", [("near_sym_a", "qshift_a"), ("near_sym_b", "qshift_b")])
def test_matches_the_package_to_rounding(width, filters):
    rows = np.random.default_rng(width).standard_normal((3, 5, width)) * 50 + 100
    n_levels = max_row_levels(width)
    highpasses, lowpass = decompose_rows(rows, n_levels=n_levels, biort=filters[0], qshift=filters[1])
    expected_highpasses, expected_lowpass = package_rows(rows, n_levels, *filters)
    assert len(highpasses) == n_levels
    for level, (h, e) in enumerate(zip(highpasses, expected_highpasses)):
        assert h.shape == e.shape and h.dtype == np.complex128, level
        np.testing.assert_allclose(h, e, rtol=0, atol=1e-12 * np.abs(rows).max())
    np.testing.assert_allclose(lowpass, expected_lowpass, rtol=0, atol=1e-12 * np.abs(rows).max())


def test_odd_rows_repeat_their_last_sample():
    rows = np.random.default_rng(0).standard_normal((4, 33))
    padded = np.concatenate([rows, rows[:, -1:]], axis=1)
    odd, _ = decompose_rows(rows, n_levels=2)
    even, _ = decompose_rows(padded, n_levels=2)
    for a, b in zip(odd, even):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_any_leading_shape_and_float32_input():
    rows = np.random.default_rng(1).standard_normal((2, 3, 4, 32)).astype(np.float32)
    highpasses, lowpass = decompose_rows(rows, n_levels=3)
    assert [h.shape for h in highpasses] == [(2, 3, 4, 16), (2, 3, 4, 8), (2, 3, 4, 4)]
    flat, _ = decompose_rows(rows.reshape(-1, 32), n_levels=3)
    np.testing.assert_array_equal(highpasses[2].reshape(-1, 4), flat[2])


def test_errors_name_the_values():
    with pytest.raises(ParameterError, match=r"from 1 to 3 for rows of 32 px, given n_levels=4"):
        decompose_rows(np.zeros((2, 32)), n_levels=4)
    with pytest.raises(ParameterError, match="n_levels=True"):
        decompose_rows(np.zeros((2, 32)), n_levels=True)
    with pytest.raises(ParameterError, match="biort='nope'"):
        decompose_rows(np.zeros((2, 32)), n_levels=1, biort="nope")
    with pytest.raises(FrameShapeError):
        decompose_rows(np.zeros((0, 32)), n_levels=1)
