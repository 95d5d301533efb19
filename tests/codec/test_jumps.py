"""Motion that jumps at a codec's key frames: found, told apart from sound, flagged by recover_sound."""

import warnings

import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.codec import key_frame_jumps
from vismic.denoise import highpass
from vismic.errors import ParameterError

FPS = 2200.0


def _held(sound, period, phase=0):
    """``sound`` held between key frames at ``phase``, ``phase + period``, ... (a codec that codes no change)."""
    t = np.arange(len(sound))
    return sound[np.maximum((t - phase) // period * period + phase, 0)]


@pytest.mark.parametrize("make", [synth.music, synth.speech])
@pytest.mark.parametrize("period, phase", [(12, 0), (30, 7), (250, 0)])
def test_motion_held_between_key_frames_is_found(make, period, phase):
    sound = highpass(make(duration_seconds=2200 / FPS, sr=FPS, seed=1), sr=FPS)
    rng = np.random.default_rng(0)
    # between key frames a codec's output hardly changes at all (it drops the sensor noise with the motion)
    motion = _held(sound, period, phase) + 0.002 * np.std(sound) * rng.standard_normal(len(sound))
    jumps = key_frame_jumps(motion)
    assert jumps.found
    # speech's pauses leave some key frames without a jump: a multiple of the interval may win
    assert jumps.period % period == 0 and jumps.phase % period == phase
    if make is synth.music:
        assert (jumps.period, jumps.phase) == (period, phase)
    assert jumps.snr_db < 0.0  # what is held is mostly not the sound


@pytest.mark.parametrize("make", [synth.speech, synth.music])
def test_sound_and_noise_do_not_make_jumps(make):
    rng = np.random.default_rng(1)
    sound = highpass(make(duration_seconds=4400 / FPS, sr=FPS, seed=2), sr=FPS)
    for motion in (sound, sound + 0.1 * np.std(sound) * rng.standard_normal(len(sound)),
                   rng.standard_normal(4400)):
        jumps = key_frame_jumps(motion)
        assert not jumps.found  # synthetic speech's glottal pulses repeat exactly: up to 92 measured here


def test_onsets_and_a_beat_are_not_key_frames():
    rng = np.random.default_rng(2)
    motion = 0.01 * rng.standard_normal(3000)
    motion[[400, 1300, 2100]] += 5.0  # three loud clicks: a few onsets make no pattern
    assert not key_frame_jumps(motion).found
    beat = 0.01 * rng.standard_normal(3000)
    for start in range(0, 3000, 100):  # a beat every 100 frames, each onset moving five frames
        beat[start:start + 5] += np.linspace(1.0, 0.2, 5) * (-1) ** np.arange(5)
    assert not key_frame_jumps(beat).found


def test_too_short_a_clip_looks_for_nothing():
    jumps = key_frame_jumps(np.sin(np.arange(50.0)))
    assert (jumps.period, jumps.ratio, jumps.found) == (0, 1.0, False)
    assert not key_frame_jumps(np.zeros(5000)).found


def test_channels_are_summed():
    sound = highpass(synth.music(duration_seconds=2400 / FPS, sr=FPS, seed=3), sr=FPS)
    held = _held(sound, 60)
    assert key_frame_jumps(np.stack([held, 0.5 * held])).period == 60


def test_bad_motion_or_periods_raise_parameter_errors():
    with pytest.raises(ParameterError, match="shape"):
        key_frame_jumps(np.zeros((2, 2, 100)))
    with pytest.raises(ParameterError, match="finite"):
        key_frame_jumps(np.r_[np.zeros(100), np.nan])
    with pytest.raises(ParameterError, match="min_period"):
        key_frame_jumps(np.zeros(100), min_period=1)
    with pytest.raises(ParameterError, match="max_period"):
        key_frame_jumps(np.zeros(100), min_period=20, max_period=10)


def _scene():
    n = 2200  # x264 puts a key frame every 250 frames: the clip holds 8 of them
    sound = synth.make_displacement(synth.music(duration_seconds=n / FPS, sr=FPS, seed=3), amplitude_px=0.05)
    return synth.render_nuisance_scene(synth.texture("brick", size=(64, 64)), sound, direction_degrees=30,
                                       noise_std=2.0, fps=FPS, seed=3)


def test_recover_sound_flags_motion_an_h264_file_held_and_caps_its_estimate(tmp_path):
    pytest.importorskip("av")
    scene = _scene()
    truth = highpass(scene.displacement_px, sr=FPS)
    decoded = synth.compress(scene.frames, codec="H264", keep=tmp_path / "clip.mp4")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(tmp_path / "clip.mp4", fps=FPS)
        clean = vismic.recover_sound(scene.frames, fps=FPS)
    # x264's default quality keeps next to none of 0.05 px (measured: -25 dB), while the groups agreed (+8 dB)
    assert metrics.si_snr(rec.samples, truth) < -10.0
    assert rec.info["key_frame_jumps"]["period"] == 250 and rec.info["key_frame_jumps"]["phase"] == 0
    assert "250 frames" in rec.info["reliability"]["key_frame_jumps"]
    assert rec.info["snr_estimate_db"] < -10.0
    assert any("jumps every 250 frames" in str(w.message) for w in caught)
    assert any("mostly noise" in str(w.message) for w in caught)
    # the same scene uncompressed: nothing jumps, and the estimate stands
    assert "key_frame_jumps" not in clean.info and "key_frame_jumps" not in clean.info["reliability"]
    assert clean.info["snr_estimate_db"] > 10.0 and metrics.si_snr(clean.samples, truth) > 15.0
    # decoded frames given as an array: no codec to name, the jumps still tell
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        array = vismic.recover_sound(decoded, fps=FPS, denoise=None)
    assert "key_frame_jumps" in array.info["reliability"] and "lossy_codec" not in array.info["reliability"]
    assert array.info["snr_estimate_db"] < -10.0


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

MOTIONS = arrays(np.float64, st.integers(2, 2500),
                 elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32))


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(motion=MOTIONS, scale=st.floats(1e-6, 1e6))
def test_any_motion_gives_a_valid_answer_that_does_not_depend_on_its_scale(motion, scale):
    jumps = key_frame_jumps(motion)
    assert jumps.period == 0 or 8 <= jumps.period <= 600
    assert 0 <= jumps.phase < max(jumps.period, 1) and jumps.ratio >= 0 and not np.isnan(jumps.snr_db)
    scaled = key_frame_jumps(scale * motion)
    assert (scaled.period, scaled.phase, scaled.found) == (jumps.period, jumps.phase, jumps.found)
    assert scaled.ratio == pytest.approx(jumps.ratio, rel=1e-6, abs=1e-9)
