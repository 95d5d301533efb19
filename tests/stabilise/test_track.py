"""The slow track's pure functions: smoothing the block track, interpolating it, continuing it past the ends."""

import dataclasses

import numpy as np
import pytest

from vismic import synth
from vismic.denoise import highpass
from vismic.stabilise import (TrackSettings, extend_track, measured_blocks, slow_track, smooth_track, sound_taken,
                              track_error, track_response)


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


@pytest.mark.parametrize("n", [2200, 2203, 2204, 2205])
def test_the_track_s_end_is_as_good_when_the_clip_ends_inside_a_block(n):
    # a 4 px shake in blocks of 6 frames: a clip that ends 1-5 frames into a block once measured that
    # short block too, off the blocks' grid, and the track's end bent by 0.017-0.037 px (0.003-0.004 now,
    # as in the interior)
    fps = 2200.0
    shake = synth.shake_motion(n, fps=fps, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=0)[:, None]
    error = track_error(shake, TrackSettings(fps=fps, cutoff_hz=22.0, kernel_seconds=0.15, block_frames=6))
    assert np.abs(error[-110:]).max() < 1.2 * np.abs(error[500:-500]).max()


@pytest.mark.parametrize("seed", [12, 22])
def test_the_default_blocks_keep_a_whole_frame_sound_out_of_the_track(seed):
    # music moving the whole frame at 6000 fps: a block's mean averages the sound, and the sound near the
    # block rate folds into the track's band, where the stabiliser removes it with the camera motion
    # (measured in the interior, against the sound: -64.9 / -68.5 dB with 2 ms blocks, -35.8 / -34.3 with 5 ms)
    from vismic.stabilise import Stabilise

    fps = 6000.0
    sound = synth.make_displacement(synth.music(duration_seconds=1.0, sr=fps, seed=seed), amplitude_px=0.08)[:, None]
    inner = slice(300, 5700)
    power = lambda x: np.mean(highpass(x[:, 0], sr=fps)[inner] ** 2)
    taken = {}
    for seconds in (Stabilise().block_seconds, 0.005):
        settings = TrackSettings(fps=fps, cutoff_hz=22.0, kernel_seconds=0.15, block_frames=int(round(seconds * fps)))
        taken[seconds] = 10 * np.log10(power(sound + track_error(sound, settings)) / power(sound))
    assert taken[Stabilise().block_seconds] < -55.0
    assert taken[Stabilise().block_seconds] < taken[0.005] - 15.0


def test_only_whole_blocks_are_measured_unless_the_clip_is_shorter_than_one():
    assert measured_blocks(2203, 6, final=False) == measured_blocks(2203, 6, final=True) == 367
    assert measured_blocks(4, 6, final=False) == 0
    assert measured_blocks(4, 6, final=True) == 1  # a clip shorter than one block
    assert measured_blocks(0, 6, final=True) == 0


@pytest.mark.parametrize("fps", [2200.0, 6000.0])
def test_the_slow_track_leaves_the_sound_band_clean(fps):
    # 4 px of shake (0.5-10 Hz) measured exactly as 5 ms block means: what the track gets wrong above
    # 20 Hz is left in the frames as sound. slow_track smooths at the blocks and interpolates the result,
    # which keeps the block rate's images out (measured 4-5e-5 px RMS in the interior against 1.2-2.8e-4 px
    # for one kernel from the raw means straight to the frames, seeds 0-3), and corrects the means for
    # their averaging, which keeps the shake's top (passband error 1.5-3.3e-3 px against 3.5-7.3e-3).
    n, block = int(fps), int(round(0.005 * fps))
    n_blocks = n // block
    centres = np.arange(n_blocks) * block + (block - 1) / 2
    frames = np.arange(n, dtype=np.float64)
    inner = slice(int(0.2 * fps), n - int(0.2 * fps))
    settings = TrackSettings(fps=fps, cutoff_hz=22.0, kernel_seconds=0.15, block_frames=block)
    for seed in range(2):
        motion = synth.shake_motion(n, fps=fps, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=seed)
        means = motion[:n_blocks * block].reshape(n_blocks, block).mean(axis=1)[:, None]
        found = slow_track(frames, centres, means, settings, final=True)[:, 0]
        one = smooth_track(frames, centres, means, cutoff_hz=22.0, width_seconds=0.15, fps=fps)[:, 0]
        sound_band = lambda track: np.sqrt(np.mean(highpass(track - motion, sr=fps)[inner] ** 2))
        passband = lambda track: np.sqrt(np.mean((track - motion)[inner] ** 2))
        assert sound_band(found) < 8e-5
        assert sound_band(found) < 0.5 * sound_band(one)
        assert passband(found) < 0.6 * passband(one)


@pytest.mark.parametrize("fps, cutoff, seconds", [(2200.0, 22.0, 0.15), (6000.0, 15.0, 0.4)])
def test_track_response_is_the_share_of_a_sine_the_track_follows(fps, cutoff, seconds):
    settings = TrackSettings(fps=fps, cutoff_hz=cutoff, kernel_seconds=seconds, block_frames=int(round(0.005 * fps)))
    t = np.arange(int(4 * fps)) / fps
    inner = slice(int(fps), int(3 * fps))
    for frequency in (3.0, 0.6 * cutoff, 0.9 * cutoff, cutoff, 1.2 * cutoff, 1.5 * cutoff, 60.0):
        sine = np.sin(2 * np.pi * frequency * t)[:, None]
        followed = (track_error(sine, settings) + sine)[inner, 0]
        gain = followed @ sine[inner, 0] / (sine[inner, 0] @ sine[inner, 0])
        assert abs(gain - track_response(np.array([frequency]), settings)[0]) < 0.005


def test_sound_taken_recovers_what_the_track_took_from_a_whole_frame_sound():
    # a sound that moves the whole frame is partly followed by the track (its lowest frequencies)
    # and removed with the camera motion; what is left tells how much was taken
    fps = 2200.0
    settings = TrackSettings(fps=fps, cutoff_hz=22.0, kernel_seconds=0.15, block_frames=11)
    sound = highpass(0.05 * np.random.default_rng(3).standard_normal(int(2 * fps)), sr=fps, cutoff_hz=12.0)
    followed = track_error(sound[:, None], settings)[:, 0] + sound
    kept, taken = highpass(sound - followed, sr=fps), highpass(followed, sr=fps)
    inner = slice(int(0.3 * fps), int(1.7 * fps))
    estimated = sound_taken(kept, settings)
    assert np.mean(taken[inner] ** 2) > 1e-3 * np.mean(kept ** 2)  # not nothing: the test can fail
    assert np.mean((estimated - taken)[inner] ** 2) < 0.2 * np.mean(taken[inner] ** 2)
    assert np.allclose(sound_taken(kept, settings, share=0.0), 0.0)


@pytest.mark.parametrize("fps", [2200.0, 6000.0])
@pytest.mark.parametrize("sound", ["white", "speech", "music"])
def test_the_report_estimates_the_sound_the_track_took_from_a_whole_frame_sound(sound, fps):
    from vismic.stabilise import StabiliseReport

    n = int(fps)
    settings = TrackSettings(fps=fps, cutoff_hz=22.0, kernel_seconds=0.15, block_frames=int(round(0.005 * fps)))
    if sound == "white":
        motion = 0.05 * np.random.default_rng(3).standard_normal(n)
    else:
        make = synth.speech if sound == "speech" else synth.music
        motion = synth.make_displacement(make(duration_seconds=n / fps, sr=fps, seed=2), amplitude_px=0.05)
    followed = track_error(motion[:, None], settings)[:, 0] + motion
    true = np.mean(highpass(followed, sr=fps) ** 2)  # what the output lacks against the high-passed truth
    zeros = np.zeros((n, 2))
    report = StabiliseReport(motion_px=zeros, block_motion_px=zeros, block_centres=np.zeros(0), gain=np.ones(n),
                             offset=np.zeros(n), saturated_fraction=np.zeros(n), black_fraction=np.zeros(n),
                             difference_power=np.zeros(n), texture_rms=1.0, track_error_px=zeros,
                             share=np.ones(n), settings=settings)
    estimated = report.sound_taken_px2(highpass(motion - followed, sr=fps))
    # never much more than was taken (the estimate would turn pessimistic); less by what the track took
    # almost whole (measured: 0.5-5.4 dB less; the track run on the sound without the split: up to 12 dB more)
    assert -6.0 < 10 * np.log10(estimated / true) < 1.0
    assert dataclasses.replace(report, share=np.zeros(n)).sound_taken_px2(motion) == 0.0
