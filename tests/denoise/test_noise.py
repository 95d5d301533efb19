import numpy as np
import pytest
from scipy import signal

from vismic.denoise import NOISE_METHODS, estimate_noise_psd, frame_length
from vismic.errors import ParameterError

from .conftest import SR, add_white_noise


def _db(ratio):
    return 10 * np.log10(ratio)


def _white_psd(std, sr):
    return 2 * std ** 2 / sr


@pytest.mark.parametrize("method", NOISE_METHODS)
def test_white_noise_under_a_tone(method, rng):
    t = np.arange(10 * SR) / SR
    std = 0.1
    x = np.sin(2 * np.pi * 300 * t) + std * rng.standard_normal(t.size)
    psd = estimate_noise_psd(x, sr=SR, method=method)
    freqs = np.linspace(0, SR / 2, psd.size)
    away = np.abs(freqs - 300) > 3 * SR / frame_length(sr=SR)
    error_db = _db(psd / _white_psd(std, SR))
    assert abs(np.median(error_db)) < 2.0
    assert abs(np.mean(error_db[away])) < 1.0
    assert np.mean(np.abs(error_db[away]) < 2.0) > 0.9


@pytest.mark.parametrize("method", NOISE_METHODS)
def test_white_noise_under_notes_with_gaps(method, notes):
    for snr_db in (0, 20):
        noisy, std = add_white_noise(notes, snr_db)
        psd = estimate_noise_psd(noisy, sr=SR, method=method)
        error_db = _db(psd / _white_psd(std, SR))
        assert abs(np.median(error_db)) < 2.0, snr_db
        assert np.mean(np.abs(error_db)) < 2.0, snr_db


def test_matches_welch_scale_on_noise(rng):
    x = 0.3 * rng.standard_normal(20 * SR)
    psd = estimate_noise_psd(x, sr=SR, frame_seconds=0.05)
    _, welch = signal.welch(x, fs=SR, nperseg=128)
    assert psd.shape == welch.shape
    assert abs(_db(np.mean(psd[1:-1]) / np.mean(welch[1:-1]))) < 0.3


def test_coloured_noise_shape(rng):
    b, a = signal.butter(2, 300, fs=SR)  # noise falling above 300 Hz
    noise = signal.lfilter(b, a, rng.standard_normal(20 * SR))
    psd = estimate_noise_psd(noise, sr=SR)
    f, welch = signal.welch(noise, fs=SR, nperseg=frame_length(sr=SR))
    usable = (f > 30) & (welch > 1e-3 * welch.max())
    assert np.max(np.abs(_db(psd[usable] / welch[usable]))) < 2.0


def test_channels_and_shape(rng):
    x = rng.standard_normal((2, 5 * SR)) * np.array([[1.0], [0.1]])
    psd = estimate_noise_psd(x, sr=SR)
    assert psd.shape == (2, frame_length(sr=SR) // 2 + 1)
    assert abs(_db(np.median(psd[0]) / np.median(psd[1])) - 20) < 1.5
    np.testing.assert_allclose(psd[1], estimate_noise_psd(x[1], sr=SR))


def test_frame_length_follows_seconds():
    assert frame_length(sr=2200, frame_seconds=0.032) == 64
    assert frame_length(sr=8000, frame_seconds=0.032) == 256
    assert frame_length(sr=20000, frame_seconds=0.032) == 512
    assert frame_length(sr=600, frame_seconds=0.032) == 64


@pytest.mark.parametrize("n", [1, 10, 70, 300])
def test_short_signals(n, rng):
    psd = estimate_noise_psd(rng.standard_normal(n), sr=SR)
    assert np.all(np.isfinite(psd)) and np.all(psd >= 0)


def test_silence_gives_zero():
    psd = estimate_noise_psd(np.zeros(4000), sr=SR)
    assert np.all(psd == 0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(method="median"), "method"),
        (dict(quantile=0.0), "quantile"),
        (dict(quantile=1.5), "quantile"),
        (dict(window_seconds=0), "window_seconds"),
        (dict(frame_seconds=-1), "frame_seconds"),
        (dict(refine_threshold=0.5), "refine_threshold"),
    ],
)
def test_errors(kwargs, name, rng):
    with pytest.raises(ParameterError, match=name):
        estimate_noise_psd(rng.standard_normal(1000), sr=SR, **kwargs)


def test_empty_signal():
    with pytest.raises(ParameterError, match="empty"):
        estimate_noise_psd(np.array([]), sr=SR)
