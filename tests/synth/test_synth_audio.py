import shutil

import numpy as np
import pytest
import soundfile

from vismic import synth
from vismic.errors import ParameterError


def dominant_frequency(signal, sr):
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    return np.fft.rfftfreq(signal.size, 1.0 / sr)[np.argmax(spectrum)]


# --- tone and chirp ---------------------------------------------------------


def test_tone_shape_dtype_peak_and_frequency():
    y = synth.tone(440.0, duration_seconds=0.5, sr=2200.0)
    assert y.shape == (1100,) and y.dtype == np.float64
    assert 0.9 < np.max(np.abs(y)) <= 1.0  # amplitude 1 (5 samples per period miss the crest)
    assert np.sqrt(2 * np.mean(y**2)) == pytest.approx(1.0, abs=1e-3)
    assert dominant_frequency(y, 2200.0) == pytest.approx(440.0, abs=2.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(freq_hz=1100.0, duration_seconds=1.0, sr=2200.0), "1100"),
        (dict(freq_hz=-5.0, duration_seconds=1.0, sr=2200.0), "freq_hz"),
        (dict(freq_hz=100.0, duration_seconds=0.0, sr=2200.0), "duration_seconds"),
        (dict(freq_hz=100.0, duration_seconds=1.0, sr=float("nan")), "sr"),
    ],
)
def test_tone_rejects_bad_values(kwargs, match):
    freq = kwargs.pop("freq_hz")
    with pytest.raises(ParameterError, match=match):
        synth.tone(freq, **kwargs)


@pytest.mark.parametrize("method", ["linear", "logarithmic"])
def test_chirp_sweeps_from_f0_to_f1(method):
    sr = 8000.0
    y = synth.chirp(f0_hz=100.0, f1_hz=1000.0, duration_seconds=2.0, sr=sr, method=method)
    assert y.shape == (16000,)
    assert dominant_frequency(y[:1600], sr) < 250.0
    assert dominant_frequency(y[-1600:], sr) > 750.0


def test_chirp_rejects_unknown_method_and_aliasing():
    with pytest.raises(ParameterError, match="method"):
        synth.chirp(f0_hz=100.0, f1_hz=200.0, duration_seconds=1.0, sr=2200.0, method="cubic")
    with pytest.raises(ParameterError, match="f1_hz"):
        synth.chirp(f0_hz=100.0, f1_hz=2000.0, duration_seconds=1.0, sr=2200.0)


# --- music -------------------------------------------------------------------


def test_music_is_seeded_peak_one_and_below_nyquist():
    a = synth.music(duration_seconds=2.0, sr=2200.0, seed=3)
    b = synth.music(duration_seconds=2.0, sr=2200.0, seed=3)
    c = synth.music(duration_seconds=2.0, sr=2200.0, seed=4)
    assert a.shape == (4400,) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.max(np.abs(a)) == pytest.approx(1.0)
    spectrum = np.abs(np.fft.rfft(a)) ** 2
    freqs = np.fft.rfftfreq(a.size, 1 / 2200.0)
    # fundamentals 80-600 Hz carry most of the energy
    assert spectrum[(freqs > 75) & (freqs < 620)].sum() > 0.6 * spectrum.sum()


# --- speech ------------------------------------------------------------------


def frame_features(y, sr, frame_seconds=0.02):
    n = int(frame_seconds * sr)
    frames = y[: y.size // n * n].reshape(-1, n)
    energy = np.sum(frames**2, axis=1)
    crossings = np.mean(np.abs(np.diff(np.sign(frames), axis=1)) > 0, axis=1)
    return frames, energy, crossings


def test_speech_shape_peak_and_determinism():
    a = synth.speech(duration_seconds=1.5, sr=2200.0, seed=1)
    assert a.shape == (3300,) and a.dtype == np.float64
    assert np.max(np.abs(a)) == pytest.approx(1.0)
    np.testing.assert_array_equal(a, synth.speech(duration_seconds=1.5, sr=2200.0, seed=1))
    assert not np.allclose(a, synth.speech(duration_seconds=1.5, sr=2200.0, seed=2))


def test_speech_has_pauses_voicing_and_frication():
    sr = 16000.0
    y = synth.speech(duration_seconds=4.0, sr=sr, seed=0)
    frames, energy, crossings = frame_features(y, sr)
    loud = energy > 1e-3 * energy.max()
    assert 0.05 < 1 - loud.mean() < 0.5  # pauses, but mostly sound
    voiced = loud & (crossings < 0.1)
    unvoiced = loud & (crossings > 0.25)
    assert voiced.mean() > 0.3 and unvoiced.mean() > 0.03


def test_speech_pitch_lies_in_90_200_hz():
    sr = 16000.0
    y = synth.speech(duration_seconds=4.0, sr=sr, seed=5)
    frames, energy, crossings = frame_features(y, sr, frame_seconds=0.04)
    pitches = []
    for frame in frames[(energy > 0.05 * energy.max()) & (crossings < 0.1)]:
        frame = frame - frame.mean()
        ac = np.correlate(frame, frame, "full")[frame.size - 1 :]
        lo, hi = int(sr / 250), int(sr / 70)
        lag = lo + np.argmax(ac[lo:hi])
        if ac[lag] > 0.5 * ac[0]:
            pitches.append(sr / lag)
    pitches = np.array(pitches)
    assert pitches.size > 20
    assert np.percentile(pitches, 5) > 85 and np.percentile(pitches, 95) < 210
    assert np.ptp(pitches) > 30  # pitch varies


def test_speech_behaves_like_speech_for_stoi():
    from vismic.metrics import stoi

    sr = 2200.0
    y = synth.speech(duration_seconds=3.0, sr=sr, seed=0)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(y.size)
    scores = []
    for snr_db in (-10.0, 0.0, 10.0, 30.0):
        scaled = noise * np.sqrt(np.mean(y**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
        scores.append(stoi(y + scaled, y, sr=sr))
    assert np.all(np.diff(scores) > 0.03)
    assert scores[0] < 0.75 and scores[-1] > 0.95


# --- files and espeak ----------------------------------------------------------


def test_load_audio_mixes_to_mono_and_resamples(tmp_path):
    t = np.arange(44100) / 44100.0
    left = 0.5 * np.sin(2 * np.pi * 300.0 * t)
    name = tmp_path / "stereo.wav"
    soundfile.write(name, np.stack([left, left], axis=1), 44100, subtype="FLOAT")
    y = synth.load_audio(name, sr=2200.0)
    assert y.shape == (2200,) and y.dtype == np.float64
    assert dominant_frequency(y, 2200.0) == pytest.approx(300.0, abs=2.0)
    assert np.max(np.abs(y[100:-100])) == pytest.approx(0.5, abs=0.01)


def test_load_audio_errors(tmp_path):
    with pytest.raises(ParameterError, match="no audio file"):
        synth.load_audio(tmp_path / "missing.wav", sr=2200.0)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    with pytest.raises(ParameterError, match="cannot read"):
        synth.load_audio(broken, sr=2200.0)


def test_one_resampler_for_the_test_bed_and_the_library():
    from vismic.io import resample

    assert not hasattr(synth, "resample")
    y = np.random.default_rng(0).standard_normal(1000)
    assert resample(y, sr=2200.0, target_sr=2200.0) is not y
    assert resample(y, sr=2200.0, target_sr=44100.0).shape == (20045,)  # round(n * target_sr / sr)
    assert resample(y, sr=2200.5, target_sr=1000.0).shape == (454,)


def test_espeak_missing_raises_parameter_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ParameterError, match="espeak-ng is not installed"):
        synth.espeak_speech("hello", sr=2200.0)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_speech_when_installed():
    y = synth.espeak_speech("the visual microphone", sr=2200.0)
    assert y.ndim == 1 and y.size > 1000 and np.max(np.abs(y)) == pytest.approx(1.0)


@pytest.mark.parametrize("make", [synth.speech, synth.music])
def test_very_short_signals(make):
    y = make(duration_seconds=0.01, sr=2200.0)
    assert y.shape == (22,) and np.all(np.isfinite(y))
