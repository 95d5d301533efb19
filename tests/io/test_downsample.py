"""Frames read at ``downsample=N``: a low-pass before the block means, so finer detail does not alias."""

import pickle
import warnings

import numpy as np
import pytest
import tifffile

import vismic
from vismic import metrics, synth
from vismic.denoise import highpass
from vismic.errors import ParameterError
from vismic.io import open_video
from vismic.io._frames import ANTI_ALIAS_SIGMA, FAST_MOTION_ANTI_ALIAS

FPS = 2200.0


@pytest.fixture(scope="module")
def drifting():
    n = 880
    sound = synth.make_displacement(synth.speech(duration_seconds=n / FPS, sr=FPS, seed=1), amplitude_px=0.05)
    drift = synth.drift_motion(n, total_px=4.0)
    scene = synth.render_nuisance_scene(synth.texture("gravel", size=(128, 128)), sound, direction_degrees=90.0,
                                        noise_std=2.0, fps=FPS, seed=1, shift_x_px=0.875 * drift,
                                        shift_y_px=0.5 * drift)
    return scene.frames, highpass(scene.displacement_px, sr=FPS)


def test_a_drifting_scene_read_at_half_size_keeps_its_sound_and_an_honest_estimate(drifting):
    frames, truth = drifting
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        low_passed = vismic.recover_sound(frames, fps=FPS, denoise=None, downsample=2)
        blocks = vismic.recover_sound(open_video(frames, fps=FPS, downsample=2).with_anti_alias(0), denoise=None)
    snr, before = metrics.si_snr(low_passed.samples, truth), metrics.si_snr(blocks.samples, truth)
    # block means alone let the aliased detail move with the camera (bench_downsample.py: 12.4 -> 22.0 dB at 0.5 s)
    assert snr > before + 3.0 and snr > 15.0
    assert abs(low_passed.info["snr_estimate_db"] - snr) < 3.0
    # a drift is slow: the shift's error on the folded-back detail stays below the high-pass
    assert low_passed.info["anti_alias"] == ANTI_ALIAS_SIGMA and "fast_motion" not in low_passed.info
    assert low_passed.info["camera_speed_px_s"] < 20.0


@pytest.fixture(scope="module")
def shaken():
    n = 880
    sound = synth.make_displacement(synth.speech(duration_seconds=n / FPS, sr=FPS, seed=1), amplitude_px=0.05)
    shake = [synth.shake_motion(n, fps=FPS, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=seed) for seed in (1, 101)]
    scene = synth.render_nuisance_scene(synth.texture("gravel", size=(128, 128)), sound, direction_degrees=90.0,
                                        noise_std=2.0, fps=FPS, seed=1, shift_x_px=shake[0], shift_y_px=shake[1])
    return scene.frames, highpass(scene.displacement_px, sr=FPS)


def test_a_shaken_scene_read_at_half_size_is_read_again_with_a_stronger_low_pass(shaken):
    frames, truth = shaken
    source = open_video(frames, fps=FPS, downsample=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(source, denoise=None)
        kept = vismic.recover_sound(source.with_anti_alias(ANTI_ALIAS_SIGMA), denoise=None)  # chosen: kept
    snr, before = metrics.si_snr(rec.samples, truth), metrics.si_snr(kept.samples, truth)
    # the camera moved ~80 px/s of the frames read: the error of 0.45's shifts reached the sound band
    # (this scene: 0.6 dB with 0.45, 13.6 with 0.6)
    assert rec.info["anti_alias"] == FAST_MOTION_ANTI_ALIAS and kept.info["anti_alias"] == ANTI_ALIAS_SIGMA
    assert rec.info["camera_speed_px_s"] > 40.0 and "px/s" in rec.info["fast_motion"]
    assert "fast_motion" not in kept.info
    assert snr > before + 6.0 and snr > 10.0
    assert abs(rec.info["snr_estimate_db"] - snr) < 3.0


def test_the_low_pass_travels_with_the_source(tmp_path, rng):
    frames = rng.integers(0, 256, (6, 32, 32)).astype(np.uint8)
    tif = tmp_path / "clip.tif"
    tifffile.imwrite(tif, frames)
    source = open_video(tif, fps=FPS, downsample=2)
    blocks = source.with_anti_alias(0)
    assert source.anti_alias > 0 and blocks.anti_alias == 0 and source.anti_alias != blocks.anti_alias
    expected = frames[:1].astype(np.float64).reshape(16, 2, 16, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(blocks.read(0, 1).frames[0], expected, atol=1e-4)
    again = pickle.loads(pickle.dumps(blocks.starting_at(2)))  # as a worker reopens it
    assert again.anti_alias == 0
    np.testing.assert_array_equal(again.read(0, 1).frames, blocks.read(2, 1).frames)
    # the low-pass differs from the block means, and the reopened default keeps it
    assert not np.allclose(source.read(0, 1).frames, blocks.read(0, 1).frames)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(source)).read(0, 1).frames, source.read(0, 1).frames)
    with pytest.raises(ParameterError, match="sigma"):
        source.with_anti_alias(-1)


@pytest.mark.parametrize("degrees", [30.0, 135.0])
def test_the_direction_read_at_half_size_is_the_motions(degrees):
    # block means alone aliased the camera texture's detail: its direction read -87 for 30 and -85 for 135
    sound = synth.make_displacement(synth.music(duration_seconds=0.2, sr=FPS), amplitude_px=0.05)
    scene = synth.render_scene(synth.texture("camera", size=(128, 128)), sound, direction_degrees=degrees,
                               noise_std=2.0, fps=FPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(scene.frames, fps=FPS, denoise=None, downsample=2)
    error = (rec.info["direction_degrees"] - degrees + 90.0) % 180.0 - 90.0  # an axis: 135 and -45 are one
    assert abs(error) < 5.0


def test_the_estimate_counts_the_output_below_the_cameras_speed_as_error_channel_by_channel():
    from vismic.recover._passes import cap_below_camera_speed as _cap_below_camera_speed

    t = np.arange(4400) / FPS
    low, high = np.sin(2 * np.pi * 50.0 * t), np.sin(2 * np.pi * 300.0 * t)
    info = {"snr_estimate_db": [20.0, 20.0]}
    _cap_below_camera_speed(info, np.stack([low + 0.1 * high, high + 0.1 * low]), FPS, 20.0, 100.0)
    # 99 % of the first channel lies below 100 Hz, 1 % of the second
    np.testing.assert_allclose(info["fast_motion_cap_db"], [-20.0, 20.0], atol=0.01)
    np.testing.assert_allclose(info["snr_estimate_db"], [-20.0, 20.0], atol=0.01)
    one = {"snr_estimate_db": 30.0}
    _cap_below_camera_speed(one, high + 0.1 * low, FPS, 20.0, 100.0)
    assert abs(one["snr_estimate_db"] - 20.0) < 0.01 and isinstance(one["snr_estimate_db"], float)
    # sound loud below the camera's speed: what changed there from the weaker low-pass's pass bounds the error
    sound, error = high + 0.5 * low, 0.002 * np.sin(2 * np.pi * 60.0 * t + 1.0)
    alone, both = {"snr_estimate_db": 40.0}, {"snr_estimate_db": 40.0}
    _cap_below_camera_speed(alone, sound + error, FPS, 20.0, 100.0)
    _cap_below_camera_speed(both, sound + error, FPS, 20.0, 100.0, before=2.0 * (sound + 10.0 * error))
    assert alone["snr_estimate_db"] < 7.0 and 20.0 < both["snr_estimate_db"] < 40.0


def test_the_sidecar_records_the_low_pass_the_frames_were_read_with(shaken, tmp_path):
    import json

    from vismic.cli import main

    frames, _ = shaken
    tif = tmp_path / "shaken.tif"
    tifffile.imwrite(tif, frames)
    assert main(["recover", str(tif), "--fps", repr(FPS), "-o", str(tmp_path / "out.wav"), "--downsample", "2",
                 "--denoise", "none", "--quiet"]) == 0
    described = json.loads((tmp_path / "out.json").read_text())["input"]
    assert described["anti_alias"] == FAST_MOTION_ANTI_ALIAS and described["downsample"] == 2


def test_the_direction_comes_from_every_region_not_the_strongest_alone():
    # a brick wall read at half size: its strongest region's mortar lines see only the motion across them,
    # and the direction read -72 degrees for 30 (one-off); the SI-SNR was right all along
    sound = synth.make_displacement(synth.tone(440, duration_seconds=0.3, sr=2200), amplitude_px=0.05)
    scene = synth.render_scene(synth.texture("brick", size=(96, 96)), sound, direction_degrees=30, noise_std=1,
                               fps=2200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(scene.frames, fps=2200.0, downsample=2, denoise=None)
    assert abs(rec.info["direction_degrees"] - 30.0) < 10.0
