"""The compiled difference loop gives numpy's differences bit for bit, and the same scores."""

import numpy as np
import pytest

from vismic.project import _kernels
from vismic.project._kernels import subtract_window
from vismic.project._templates import make_templates, project

needs_numba = pytest.mark.skipif(not _kernels.compiled_available(), reason="numba is not installed")


def _frames(dtype, shape=(5, 40, 56), seed=0):
    rng = np.random.default_rng(seed)
    values = rng.random(shape) * (60000 if np.dtype(dtype) == np.uint16 else 250)
    return values.astype(dtype)


@needs_numba
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64, np.int16, ">u2"])
@pytest.mark.parametrize("window", [(0, 0, 40, 56), (8, 24, 16, 32), (39, 55, 1, 1)])
def test_window_difference_is_numpys(dtype, window):
    frames = _frames(dtype)
    reference = (np.random.default_rng(1).random(frames.shape[1:]) * 200).astype(np.float32)
    top, left, height, width = window
    expected = np.empty((len(frames), height, width), dtype=np.float32)
    np.subtract(frames[:, top:top + height, left:left + width], reference[top:top + height, left:left + width],
                out=expected, casting="unsafe")
    got = np.full_like(expected, np.nan)
    subtract_window(frames, reference, top, left, got)
    np.testing.assert_array_equal(got, expected)


@needs_numba
def test_window_difference_of_strided_and_read_only_frames():
    base = _frames(np.uint8, (10, 40, 112))
    frames = base[::2, :, ::2]  # neither frames nor columns contiguous
    frames.flags.writeable = False
    reference = np.random.default_rng(2).random((40, 56)).astype(np.float32)
    got = np.empty((5, 12, 20), dtype=np.float32)
    subtract_window(frames, reference, 3, 30, got)
    np.testing.assert_array_equal(got, frames[:, 3:15, 30:50] - reference[3:15, 30:50])


def test_a_window_outside_the_frames_is_refused():
    frames = _frames(np.uint8)
    with pytest.raises(ValueError, match="does not fit"):
        subtract_window(frames, np.zeros((40, 56), np.float32), 30, 0, np.empty((5, 16, 8), np.float32))
    with pytest.raises(ValueError, match="does not fit"):
        subtract_window(frames, np.zeros((40, 56), np.float32), 0, 0, np.empty((4, 16, 8), np.float32))


@needs_numba
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])  # stored, prepared and synthetic frames
def test_scores_are_the_same_with_and_without_the_compiled_loop(dtype, monkeypatch):
    rng = np.random.default_rng(3)
    reference = rng.random((256, 256)) * 200
    templates = make_templates(reference, n_levels=3, grid=(4, 4))
    assert not templates.full_width  # tiles: the compiled loop forms their differences
    frames = np.clip(reference + rng.normal(0, 2, (70, 256, 256)), 0, 255)
    frames = frames.astype(dtype) if dtype != np.uint8 else np.rint(frames).astype(np.uint8)
    compiled = project(frames, templates)
    monkeypatch.setattr(_kernels, "ENABLED", False)
    _same_to_rounding(project(frames, templates), compiled)


@needs_numba
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_a_chunk_in_pieces_projects_as_one_array_with_and_without_the_compiled_tiles(dtype, monkeypatch):
    # the compiled tile loop takes a chunk whole (the serial run's batches are joined first); numpy's
    # loop goes tile by tile over the pieces; a short chunk's missing rows are zero either way
    from vismic.project._templates import chunk_frames, project_difference, project_frames

    rng = np.random.default_rng(4)
    reference = rng.random((256, 256)) * 200
    templates = make_templates(reference, n_levels=3, grid=(4, 4))
    rows = chunk_frames(templates.shape)
    frames = (rng.random((rows, 256, 256)) * 250).astype(dtype)
    cases = [[frames], [frames[:5], frames[5:40], frames[40:]], [frames[:9], frames[9:20]]]
    compiled = [project_frames(pieces, templates, rows) for pieces in cases]
    difference = frames.astype(np.float32) - templates.reference
    compiled_difference = project_difference(difference, templates)
    monkeypatch.setattr(_kernels, "ENABLED", False)
    for pieces, scores in zip(cases, compiled):
        _same_to_rounding(project_frames(pieces, templates, rows), scores)
    np.testing.assert_array_equal(compiled[0], compiled[1])
    _same_to_rounding(project_difference(difference, templates), compiled_difference)


def _same_to_rounding(numpy_scores, compiled_scores):
    # numba's products call SciPy's BLAS, numpy's its own: the same on some CPUs bit for bit, on others
    # (AVX-512 kernels of different OpenBLAS builds) summed in another order, a few float32 roundings apart
    scale = float(np.max(np.abs(compiled_scores)))
    np.testing.assert_allclose(numpy_scores, compiled_scores, rtol=0, atol=1e-5 * scale)
