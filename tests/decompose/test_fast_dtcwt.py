"""The batched DTCWT (vismic.decompose._fast) against dtcwt.Transform2d().forward, frame by frame."""

import logging
import warnings

import numpy as np
import pytest

from vismic.decompose import decompose
from vismic.decompose._fast import forward, output_shapes
from vismic.errors import ParameterError


def _package(frames, n_levels, biort, qshift):
    import dtcwt

    transform = dtcwt.Transform2d(biort=biort, qshift=qshift)
    highs, lows = [[] for _ in range(n_levels)], []
    logging.disable(logging.WARNING)  # the package logs a warning for every odd-sized frame
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for frame in frames:
                pyramid = transform.forward(frame, nlevels=n_levels)
                for level, h in enumerate(pyramid.highpasses):
                    highs[level].append(h)
                lows.append(pyramid.lowpass)
    finally:
        logging.disable(logging.NOTSET)
    return [np.stack(h) for h in highs], np.stack(lows)


def _assert_same(ours, theirs):
    (highs, low), (ref_highs, ref_low) = ours, theirs
    assert len(highs) == len(ref_highs)
    for h, r in zip(highs, ref_highs):
        assert h.shape == r.shape and h.dtype == np.complex128
        np.testing.assert_allclose(h, r, rtol=0, atol=1e-10)
    assert low.shape == ref_low.shape and low.dtype == np.float64
    np.testing.assert_allclose(low, ref_low, rtol=0, atol=1e-10)


CASES = [
    # (n, height, width, levels, biort, qshift)
    (3, 64, 64, 4, "near_sym_a", "qshift_a"),
    (2, 64, 48, 3, "near_sym_a", "qshift_a"),
    (2, 70, 54, 3, "near_sym_a", "qshift_a"),
    (1, 64, 64, 4, "near_sym_a", "qshift_a"),
    (2, 64, 48, 3, "near_sym_b", "qshift_b"),
    (2, 70, 54, 3, "near_sym_b", "qshift_b"),
    (1, 33, 41, 3, "near_sym_b", "qshift_b"),
    (2, 8, 8, 1, "near_sym_b", "qshift_b"),
    (2, 18, 30, 2, "antonini", "qshift_c"),
    (2, 37, 100, 3, "legall", "qshift_d"),
    (2, 54, 70, 3, "near_sym_b_bp", "qshift_b_bp"),
]


@pytest.mark.parametrize("n, height, width, levels, biort, qshift", CASES)
def test_forward_matches_package(n, height, width, levels, biort, qshift):
    import dtcwt

    frames = np.random.default_rng(height * width + levels).standard_normal((n, height, width))
    transform = dtcwt.Transform2d(biort=biort, qshift=qshift)
    ours = forward(frames, levels, transform.biort, transform.qshift)
    _assert_same(ours, _package(frames, levels, biort, qshift))
    assert [h.shape for h in ours[0]] == output_shapes(frames.shape, levels)[0]


@pytest.mark.parametrize("block_frames", [1, 2, 5, 64])
def test_block_size_does_not_change_the_result(block_frames):
    import dtcwt

    frames = np.random.default_rng(3).standard_normal((5, 40, 36))
    transform = dtcwt.Transform2d()
    reference = forward(frames, 3, transform.biort, transform.qshift, block_frames=5)
    highs, low = forward(frames, 3, transform.biort, transform.qshift, block_frames=block_frames)
    for a, b in zip(highs, reference[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(low, reference[1])


def test_decompose_uses_the_same_transform_as_the_package():
    frames = np.random.default_rng(7).random((4, 70, 54)).astype(np.float32)
    for biort, qshift in [("near_sym_a", "qshift_a"), ("near_sym_b", "qshift_b")]:
        ours = decompose(frames, n_levels=3, biort=biort, qshift=qshift)
        _assert_same(ours, _package(frames.astype(np.float64), 3, biort, qshift))


def test_decompose_of_a_non_contiguous_stack():
    frames = np.random.default_rng(9).random((3, 48, 70)).transpose(0, 2, 1)[:, ::-1]
    ours = decompose(frames, n_levels=3)
    _assert_same(ours, _package(np.ascontiguousarray(frames), 3, "near_sym_a", "qshift_a"))


def test_decompose_of_integer_frames_and_a_single_frame():
    frames = np.random.default_rng(8).integers(0, 255, (1, 64, 80), dtype=np.uint8)
    ours = decompose(frames, n_levels=4)
    _assert_same(ours, _package(frames.astype(np.float64), 4, "near_sym_a", "qshift_a"))


def test_decompose_unknown_filters_still_raise_parameter_error():
    with pytest.raises(ParameterError):
        decompose(np.zeros((1, 32, 32)), n_levels=2, biort="no_such_filter")
    with pytest.raises(ParameterError):
        decompose(np.zeros((1, 32, 32)), n_levels=2, qshift="no_such_filter")


def test_forward_rejects_bad_input():
    import dtcwt

    transform = dtcwt.Transform2d()
    with pytest.raises(ValueError):
        forward(np.zeros((32, 32)), 2, transform.biort, transform.qshift)
    with pytest.raises(ValueError):
        forward(np.zeros((1, 32, 32)), 0, transform.biort, transform.qshift)
