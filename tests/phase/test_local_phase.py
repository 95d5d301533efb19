import numpy as np
import pytest

from vismic import synth
from vismic.decompose import decompose, reference_pyramid
from vismic.errors import FrameShapeError
from vismic.phase import local_frequency, local_phase


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
