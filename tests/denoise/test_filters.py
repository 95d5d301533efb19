import numpy as np
import pytest

from vismic.denoise import bandlimit, highpass
from vismic.errors import ParameterError, VismicWarning

SR = 2200


def _phasor(x, freq_hz, sr):
    """Complex amplitude of the ``freq_hz`` component of ``x`` (whole periods assumed)."""
    t = np.arange(x.shape[-1]) / sr
    return 2 * np.mean(x * np.exp(-2j * np.pi * freq_hz * t), axis=-1)


def _drift_and_tone(duration_seconds=2.0, sr=SR):
    t = np.arange(int(duration_seconds * sr)) / sr
    drift = 5 * np.sin(2 * np.pi * 2 * t + 0.3) + 2 * t
    tone = np.sin(2 * np.pi * 300 * t + 0.7)
    return drift, tone


class TestHighpass:
    def test_removes_drift_keeps_tone(self):
        drift, tone = _drift_and_tone()
        y = highpass(drift + tone, sr=SR, cutoff_hz=20.0)
        inner = slice(SR // 10, -SR // 10)
        amplitude = np.abs(_phasor(y[inner], 300, SR))
        assert abs(amplitude - 1) < 0.02
        assert np.sqrt(np.mean((y[inner] - tone[inner]) ** 2)) < 0.01
        # the ends stay bounded, far below the drift
        assert np.abs(y - tone).max() < 0.3

    def test_zero_phase(self):
        drift, tone = _drift_and_tone()
        y = highpass(drift + tone, sr=SR)
        inner = slice(SR // 10, -SR // 10)
        phase_shift = np.angle(_phasor(y[inner], 300, SR) / _phasor(tone[inner], 300, SR))
        assert abs(phase_shift) < 0.01
        lags = np.arange(-20, 21)
        corr = [np.dot(np.roll(y, lag)[inner], tone[inner]) for lag in lags]
        assert lags[int(np.argmax(corr))] == 0

    def test_channels_independent(self, rng):
        x = rng.standard_normal((2, 3000))
        y = highpass(x, sr=SR, cutoff_hz=50)
        assert y.shape == x.shape
        np.testing.assert_allclose(y[1], highpass(x[1], sr=SR, cutoff_hz=50), atol=1e-12)

    @pytest.mark.parametrize("n", [1, 2, 5, 40, 200])
    def test_short_signals(self, n, rng):
        y = highpass(rng.standard_normal(n), sr=SR)
        assert y.shape == (n,)
        assert np.all(np.isfinite(y))

    def test_does_not_mutate(self, rng):
        x = rng.standard_normal(500)
        before = x.copy()
        highpass(x, sr=SR)
        np.testing.assert_array_equal(x, before)

    @pytest.mark.parametrize("cutoff_hz", [1100.0, 5000.0, 0.0, -3.0, np.nan, "20"])
    def test_bad_cutoff(self, cutoff_hz):
        with pytest.raises(ParameterError, match="cutoff_hz"):
            highpass(np.ones(100), sr=SR, cutoff_hz=cutoff_hz)

    @pytest.mark.parametrize("order", [0, 2.5, True, 50])
    def test_bad_order(self, order):
        with pytest.raises(ParameterError, match="order"):
            highpass(np.ones(100), sr=SR, order=order)

    @pytest.mark.parametrize("x", [np.zeros(0), np.zeros((2, 0)), np.zeros((2, 2, 5)), [1.0, np.nan, 2.0]])
    def test_bad_signal(self, x):
        with pytest.raises(ParameterError):
            highpass(x, sr=SR)

    def test_bad_sr(self):
        with pytest.raises(ParameterError, match="sr"):
            highpass(np.ones(100), sr=0)


class TestBandlimit:
    def _three_tones(self, sr=8000):
        t = np.arange(sr) / sr
        return [np.sin(2 * np.pi * f * t) for f in (50, 500, 3000)]

    def test_bandpass(self):
        low, mid, high = self._three_tones()
        y = bandlimit(low + mid + high, sr=8000, low_hz=200, high_hz=1000)
        inner = slice(800, -800)
        assert np.sqrt(np.mean((y[inner] - mid[inner]) ** 2)) < 0.01

    def test_lowpass_only(self):
        low, mid, high = self._three_tones()
        y = bandlimit(low + mid + high, sr=8000, high_hz=1000)
        inner = slice(800, -800)
        assert np.sqrt(np.mean((y[inner] - (low + mid)[inner]) ** 2)) < 0.01

    def test_highpass_only_matches_highpass(self, rng):
        x = rng.standard_normal(2000)
        np.testing.assert_allclose(bandlimit(x, sr=SR, low_hz=30), highpass(x, sr=SR, cutoff_hz=30), atol=1e-12)

    def test_no_edges_returns_copy(self, rng):
        x = rng.standard_normal(100)
        y = bandlimit(x, sr=SR)
        np.testing.assert_array_equal(y, x)
        assert y is not x

    def test_high_edge_above_nyquist_is_ignored_with_warning(self, rng):
        x = rng.standard_normal(2000)
        with pytest.warns(VismicWarning, match="high_hz"):
            y = bandlimit(x, sr=SR, low_hz=30, high_hz=4000)
        np.testing.assert_allclose(y, highpass(x, sr=SR, cutoff_hz=30), atol=1e-12)

    @pytest.mark.parametrize("low_hz, high_hz", [(500, 400), (1100, None), (-1, 400), (100, 0)])
    def test_bad_edges(self, low_hz, high_hz):
        with pytest.raises(ParameterError, match="_hz"):
            bandlimit(np.ones(100), sr=SR, low_hz=low_hz, high_hz=high_hz)


def test_bandlimit_says_what_the_band_kept_of_the_estimate_for_each_channel():
    # --band 500,1000 over a 440 Hz tone kept the estimate made before it (38 dB)
    from vismic.data import Audio, NoiseSpectrum
    from vismic.denoise import BandLimit

    rng = np.random.default_rng(0)
    t = np.arange(8800) / 2200.0
    tones = np.stack([0.1 * np.sin(2 * np.pi * 440.0 * t), 0.1 * np.sin(2 * np.pi * 900.0 * t)])
    noisy = Audio(tones + 0.01 * rng.standard_normal(tones.shape), 2200.0, {"snr_estimate_db": [17.0, 17.0]},
                  NoiseSpectrum.white(1e-4, sr=2200.0))
    out = BandLimit(low_hz=300, high_hz=600).transform(noisy).info["snr_estimate_db"]
    assert out[0] > 22.0 and out[1] < 0.0  # the first tone kept with less noise, the second cut
    assert BandLimit(low_hz=300).transform(Audio(tones, 2200.0)).info == {}  # nothing to say without an estimate
