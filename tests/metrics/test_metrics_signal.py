import math
import sys

import numpy as np
import pytest

from vismic import metrics, synth
from vismic.data import Audio
from vismic.errors import ParameterError


@pytest.fixture
def reference():
    return np.random.default_rng(0).standard_normal(100_000)


def with_noise(reference, snr_db, seed=1):
    noise = np.random.default_rng(seed).standard_normal(reference.size)
    noise -= noise.mean()
    noise -= np.dot(noise, reference) / np.dot(reference, reference) * reference  # orthogonal: exact SNR
    noise *= np.sqrt(np.sum(reference**2) / np.sum(noise**2) / 10 ** (snr_db / 10))
    return reference + noise


# --- SI-SNR ----------------------------------------------------------------------


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 12.0, 30.0])
def test_si_snr_of_known_noise(reference, snr_db):
    estimate = with_noise(reference - reference.mean(), snr_db)
    assert metrics.si_snr(estimate, reference) == pytest.approx(snr_db, abs=1e-6)


def test_si_snr_ignores_gain_sign_and_offset(reference):
    estimate = with_noise(reference - reference.mean(), 10.0)
    base = metrics.si_snr(estimate, reference)
    assert metrics.si_snr(-0.01 * estimate + 5.0, reference) == pytest.approx(base)
    assert metrics.si_snr(Audio(estimate, sr=2200.0), Audio(reference, sr=2200.0)) == pytest.approx(base)


def test_si_snr_extremes_and_errors(reference):
    assert metrics.si_snr(3.0 * reference, reference) > 200 or math.isinf(metrics.si_snr(3.0 * reference, reference))
    assert metrics.si_snr(np.zeros_like(reference), reference) == -math.inf
    with pytest.raises(ParameterError, match=r"\(99999,\).*\(100000,\)"):
        metrics.si_snr(reference[:-1], reference)
    with pytest.raises(ParameterError, match="silent"):
        metrics.si_snr(reference, np.full(reference.size, 3.0))
    with pytest.raises(ParameterError, match="NaN"):
        metrics.si_snr(np.full(reference.size, np.nan), reference)


# --- segmental SNR -----------------------------------------------------------------


def test_segmental_snr_of_stationary_noise(reference):
    estimate = with_noise(reference - reference.mean(), 10.0)
    value = metrics.segmental_snr(estimate, reference, sr=2200.0)
    # the least-squares gain shrinks the estimate: 10 log10(1 + 10), frame SNRs scatter around it
    assert value == pytest.approx(10 * np.log10(11.0), abs=0.3)
    assert metrics.segmental_snr(-2.0 * estimate, reference, sr=2200.0) == pytest.approx(value)


def test_segmental_snr_clamps_and_skips_silence():
    sr = 1000.0
    rng = np.random.default_rng(2)
    active = rng.standard_normal(2000)
    reference = np.concatenate([active - active.mean(), np.zeros(2000)])
    estimate = reference + np.concatenate([np.zeros(2000), 0.05 * rng.standard_normal(2000)])
    # only the active half counts; there the estimate is (after scaling) nearly perfect
    assert metrics.segmental_snr(estimate, reference, sr=sr) == pytest.approx(35.0, abs=1.0)
    assert metrics.segmental_snr(reference, reference, sr=sr, clamp_db=(-5, 20)) == 20.0
    noise = rng.standard_normal(4000)
    # an unrelated estimate gets a gain near 0, so every frame sits near 0 dB, under the floor
    assert metrics.segmental_snr(noise, reference, sr=sr, clamp_db=(3, 35)) == 3.0


def test_segmental_snr_averages_frame_snrs_in_db():
    sr = 1000.0
    t = np.arange(4000) / sr
    reference = np.sin(2 * np.pi * 50 * t) * np.where(t < 2, 1.0, 10.0)
    estimate = reference + 0.1 * np.sin(2 * np.pi * 150 * t)
    # quiet half: 20 dB per frame; loud half: 40 dB, clamped to 35 (the global SNR would be 37 dB)
    assert metrics.segmental_snr(estimate, reference, sr=sr) == pytest.approx((20 + 35) / 2, abs=0.2)


def test_segmental_snr_errors(reference):
    with pytest.raises(ParameterError, match="frame_seconds"):
        metrics.segmental_snr(reference, reference, sr=2200.0, frame_seconds=0.0)
    with pytest.raises(ParameterError, match="shorter than one frame"):
        metrics.segmental_snr(reference[:10], reference[:10], sr=2200.0)
    with pytest.raises(ParameterError, match="clamp_db"):
        metrics.segmental_snr(reference, reference, sr=2200.0, clamp_db=(30, 10))
    with pytest.raises(ParameterError, match="sr=-1"):
        metrics.segmental_snr(reference, reference, sr=-1)


# --- STOI --------------------------------------------------------------------------


def test_stoi_of_identical_speech_is_one():
    y = synth.speech(duration_seconds=2.0, sr=2200.0, seed=0)
    assert metrics.stoi(y, y, sr=2200.0) == pytest.approx(1.0, abs=1e-6)
    assert metrics.stoi(-0.1 * y, y, sr=2200.0) == pytest.approx(1.0, abs=1e-6)  # gain and sign fitted


def test_stoi_drops_with_noise_and_handles_fractional_rates():
    sr = 2199.5
    y = synth.speech(duration_seconds=2.0, sr=sr, seed=1)
    noisy = with_noise(y - y.mean(), 0.0)
    score = metrics.stoi(noisy, y, sr=sr)
    assert 0.3 < score < 0.95


@pytest.mark.parametrize("sound, silence", [(600, 0), (50, 0), (600, 3000)])
def test_stoi_refuses_too_little_sound_rather_than_scoring_it(sound, silence):
    # pystoi returned 1e-5 (a "score") for 0.27 s, and numpy's AxisError for 50 samples
    y = np.concatenate([np.random.default_rng(0).standard_normal(sound), np.zeros(silence)])
    with pytest.raises(ParameterError, match="at least 30 frames"):
        metrics.stoi(y, y, sr=2200.0)


def test_stoi_names_the_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "pystoi", None)
    y = np.random.default_rng(0).standard_normal(5000)
    with pytest.raises(ImportError, match="pip install pystoi"):
        metrics.stoi(y, y, sr=2200.0)
