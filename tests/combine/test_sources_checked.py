"""Several sources: each channel's estimate earned by its own regions, and the frames' checks shared by all."""

import warnings

import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic._reliability import findings
from vismic.combine._confidence import region_groups
from vismic.combine._sources import agreement_db
from vismic.denoise import highpass
from vismic.stabilise import Stabilise

FPS = 2200.0


@pytest.mark.parametrize("snr_db", [-6.0, 10.0, 25.0])
def test_agreement_of_region_groups_measures_the_combined_snr(rng, snr_db):
    grid, n = (4, 4), 4000
    signal = rng.normal(0, 1, n)
    gains = rng.normal(0, 1, (16, 2))
    # the optimal combination's SNR: the regions' own SNRs add (white noise, independent between regions)
    sigma = np.sqrt(np.sum(gains ** 2) / 10 ** (snr_db / 10))
    displacement = gains[:, :, None] * signal + rng.normal(0, sigma, (16, 2, n))
    covariance = np.repeat(sigma ** 2 * np.eye(2)[None], 16, axis=0)
    measured = agreement_db(displacement, covariance, region_groups(grid), fps=FPS, highpass_hz=20.0)
    assert measured == pytest.approx(snr_db, abs=1.5)


def test_regions_of_noise_agree_on_nothing(rng):
    displacement = rng.normal(0, 1, (16, 2, 2000))
    covariance = np.repeat(np.eye(2)[None], 16, axis=0)
    assert agreement_db(displacement, covariance, region_groups((4, 4)), fps=FPS) < -5.0
    assert np.isnan(agreement_db(displacement[:2], covariance[:2], np.array([0, 1]), fps=FPS))


def _two_objects_shaking(duration_seconds=0.4):
    a = synth.music(duration_seconds=duration_seconds, sr=FPS, seed=1)
    b = synth.speech(duration_seconds=duration_seconds, sr=FPS, seed=2)
    shake = {axis: synth.shake_motion(len(a), fps=FPS, peak_px=4.0, low_hz=3, high_hz=7, seed=seed)
             for axis, seed in (("shift_x_px", 0), ("shift_y_px", 1))}
    texture = synth.texture("gravel", size=(64, 128))
    left, right = (synth.render_nuisance_scene(texture, synth.make_displacement(sound, amplitude_px=0.05),
                                               direction_degrees=angle, noise_std=2, fps=FPS, seed=seed, crop_px=8,
                                               **shake)
                   for sound, angle, seed in ((a, 0, 1), (b, 90, 2)))
    frames = left.frames.copy()
    frames[:, :, frames.shape[2] // 2:] = right.frames[:, :, frames.shape[2] // 2:]
    return frames, [highpass(scene.displacement_px, sr=FPS) for scene in (left, right)]


def test_sources_of_a_shaking_camera_are_stabilised_and_estimated_honestly():
    frames, truths = _two_objects_shaking()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None, n_sources=2)
    assert rec.info["stabilised"].startswith("automatically")
    assert any(isinstance(stage, Stabilise) for _, stage in rec.info["pipeline"].steps)
    true = np.array([[metrics.si_snr(channel, truth) for truth in truths] for channel in rec.samples])
    best = true.max(axis=1)
    assert best.min() > 10.0 and sorted(true.argmax(axis=1)) == [0, 1]  # one source each, and both found
    assert np.all(np.abs(np.array(rec.info["snr_estimate_db"]) - best) < 3.0)
    assert np.all(np.array(rec.info["snr_estimate_db"]) <= np.array(rec.info["snr_model_db"]) + 1e-9)


def test_a_channel_of_noise_beside_a_source_is_named():
    samples = 0.01 * np.sin(np.arange(400.0))[None].repeat(3, axis=0)
    found = findings(samples, {"snr_estimate_db": [20.0, -4.0, 12.0]})
    assert len(found) == 1 and "channel 2 (-4.0 dB) is below 0 dB" in found[0] and "fewer sources" in found[0]
    samples[1] = 0.0  # an empty channel is said as such; the low one keeps its own number
    found = findings(samples, {"snr_estimate_db": [20.0, -np.inf, -4.0]})
    assert len(found) == 2 and "channel 3 (-4.0 dB)" in found[1]
