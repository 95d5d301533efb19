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


def test_phase_of_a_shift_matches_local_frequency():
    """A tiny shift changes phase by -frequency . d, exactly as the reference derivatives predict."""
    texture = synth.texture("gravel", size=(64, 64))
    d = np.array([0.03, -0.02])
    shifted = synth.render_frames(texture, np.array([np.hypot(*d)]), direction_degrees=np.degrees(np.arctan2(d[1], d[0])))
    reference = reference_pyramid(texture, n_levels=3)
    frequency, _ = local_frequency(reference)
    highpasses, _ = decompose(shifted, n_levels=3)
    phase, log_amplitude, amplitude = local_phase(highpasses, reference.highpasses)
    for p, k, a in zip(phase, frequency, amplitude):
        strong = a > np.percentile(a, 50)
        predicted = -(k @ d)
        assert np.corrcoef(p[0][strong], predicted[strong])[0, 1] > 0.99
        assert np.median(np.abs(p[0][strong] - predicted[strong])) < 0.1 * np.median(np.abs(predicted[strong]))


def test_local_phase_errors():
    with pytest.raises(FrameShapeError):
        local_phase([np.zeros((2, 4, 4, 6), complex)], [np.zeros((4, 5, 6), complex)])
