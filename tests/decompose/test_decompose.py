import numpy as np
import pytest

from vismic.decompose import decompose, image_gradient, max_levels, reference_pyramid
from vismic.errors import FrameShapeError, ParameterError
from vismic.phase import local_frequency, local_phase
from vismic import synth


def test_decompose_shapes_and_dtype():
    highpasses, lowpass = decompose(np.random.default_rng(0).random((3, 64, 48)), n_levels=3)
    assert [h.shape for h in highpasses] == [(3, 32, 24, 6), (3, 16, 12, 6), (3, 8, 6, 6)]
    assert highpasses[0].dtype == np.complex128
    assert lowpass.shape[0] == 3


def test_decompose_matches_dtcwt_package():
    import dtcwt

    frame = synth.texture("brick", size=(64, 64))
    ours, _ = decompose(frame[None], n_levels=3)
    theirs = dtcwt.Transform2d().forward(frame, nlevels=3)
    for a, b in zip(ours, theirs.highpasses):
        np.testing.assert_allclose(a[0], b, atol=1e-9)


def test_decompose_errors():
    with pytest.raises(FrameShapeError):
        decompose(np.zeros((64, 64)))
    with pytest.raises(ParameterError, match="too many"):
        decompose(np.zeros((1, 32, 32)), n_levels=6)
    with pytest.raises(ParameterError):
        decompose(np.zeros((1, 32, 32)), n_levels=0)
    assert max_levels((64, 64)) == 4


def test_gradient_of_a_smooth_image_is_exact():
    y, x = np.mgrid[0:64, 0:64]
    image = np.cos(2 * np.pi * x / 16) * np.cos(2 * np.pi * y / 32)
    gx, gy = image_gradient(image)
    inner = (slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(gx[inner], (-2 * np.pi / 16 * np.sin(2 * np.pi * x / 16) * np.cos(2 * np.pi * y / 32))[inner], atol=2e-3)


def test_decompose_stage_holds_frames_until_it_has_its_reference():
    from vismic.data import FrameBatch
    from vismic.decompose import Decompose

    frames = np.random.default_rng(0).random((20, 32, 32))
    stage = Decompose(n_levels=2, n_reference_frames=8)
    stage.reset()
    outputs = [stage.transform(FrameBatch(frames[i:i + 5], i, 1000.0)) for i in range(0, 20, 5)]
    assert outputs[0] is None  # 5 of the 8 reference frames
    assert [(o.start, len(o)) for o in outputs[1:]] == [(0, 10), (10, 5), (15, 5)]
    expected = reference_pyramid(frames[:8].mean(axis=0), n_levels=2)
    np.testing.assert_allclose(outputs[1].reference.highpasses[0], expected.highpasses[0])
    # a video shorter than the reference frames comes out of flush()
    stage.reset()
    assert stage.transform(FrameBatch(frames[:3], 0, 1000.0)) is None
    held = stage.flush()
    assert (held.start, len(held)) == (0, 3) and stage.flush() is None
