"""The slow track's pure functions: continuing the block track past the clip's ends."""

import numpy as np

from vismic import synth
from vismic.stabilise import extend_track


def test_extend_track_continues_a_band_limited_shake_past_the_end():
    # 4 px of shake, flat 0.5-10 Hz, as 5 ms block means; continue the last 0.15 s by 75 ms
    fps = 200.0
    motion = np.stack([synth.shake_motion(400, fps=fps, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=seed)
                       for seed in (0, 1)], axis=1)
    known, ahead = slice(170, 200), slice(200, 215)
    times = np.arange(400) / fps
    found = extend_track(times[known], motion[known], times[ahead], band_hz=10.0, noise_px=0.002)
    reflected = 2 * motion[199] - motion[198:183:-1]  # odd reflection about the last block
    error = np.sqrt(np.mean((found - motion[ahead]) ** 2))
    # measured: 0.35 px RMS over the 75 ms against 1.66 px for the reflection
    assert error < 0.6
    assert error < 0.5 * np.sqrt(np.mean((reflected - motion[ahead]) ** 2))


def test_extend_track_keeps_a_constant_and_has_the_shape_of_the_new_times():
    times = np.arange(10) * 0.005
    found = extend_track(times, np.full((10, 2), 1.5), np.array([0.06, 0.07, 0.5]), band_hz=10.0, noise_px=0.002)
    assert found.shape == (3, 2)
    np.testing.assert_allclose(found, 1.5)
    one = extend_track(times[:1], np.array([[0.3, -0.2]]), np.array([0.01]), band_hz=10.0, noise_px=0.002)
    np.testing.assert_allclose(one, [[0.3, -0.2]])
