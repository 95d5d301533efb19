import os

import numpy as np
import pytest

from vismic.calibrate import (
    Response,
    ResponseNotFoundError,
    estimate_response,
    find_lag,
    load_response,
    smooth_octaves,
)
from vismic.errors import OutputError, ParameterError, VismicWarning
from vismic.io import resample

from .conftest import SR, object_filter, sweep, true_magnitude_db, true_peak_hz


def _band(response, low_hz=50.0, high_hz=900.0, min_coherence=0.5):
    f = response.freqs_hz
    return (response.coherence >= min_coherence) & (f >= low_hz) & (f <= high_hz)


def test_sweep_estimate_matches_true_magnitude(response):
    f = response.freqs_hz
    assert np.all(response.coherence[(f >= 30) & (f <= 700)] > 0.85)  # falls above, with the roll-off
    mask = _band(response)
    error_db = response.magnitude_db[mask] - true_magnitude_db(response.freqs_hz[mask])
    assert np.max(np.abs(error_db)) < 1.0, error_db
    assert abs(response.peak_hz() - true_peak_hz()) < 0.03 * true_peak_hz()
    assert response.sr == SR and response.freqs_hz[-1] == SR / 2
    assert response.gain.dtype == np.complex128


def test_lag_is_found(response):
    # 37 samples of delay plus a few of the resonance's own group delay
    assert 37 <= response.lag_seconds * SR <= 47


def test_noise_excitation_works_too():
    rng = np.random.default_rng(3)
    played = rng.standard_normal(int(3 * SR))
    recorded = object_filter(played) + 0.02 * rng.standard_normal(played.size)
    response = estimate_response(recorded, played, sr=SR)
    mask = _band(response, min_coherence=0.8)
    error_db = response.magnitude_db[mask] - true_magnitude_db(response.freqs_hz[mask])
    assert mask.sum() > 20 and np.max(np.abs(error_db)) < 1.0


def test_played_at_another_rate_is_resampled():
    played_sr = 16000.0
    played = sweep(sr=played_sr, f0_hz=30.0, f1_hz=1080.0)
    heard = resample(played, sr=played_sr, target_sr=SR)
    recorded = object_filter(heard)
    response = estimate_response(recorded, played, sr=SR, played_sr=played_sr)
    mask = _band(response)
    error_db = response.magnitude_db[mask] - true_magnitude_db(response.freqs_hz[mask])
    assert np.max(np.abs(error_db)) < 1.0
    with pytest.raises(ParameterError, match="played_sr"):
        estimate_response(recorded, played, sr=SR)  # 16000 Hz taken as 2200 Hz: lengths 7x apart


def test_coherence_is_low_where_nothing_was_played():
    rng = np.random.default_rng(0)
    played = sweep(f0_hz=100.0, f1_hz=500.0)
    recorded = object_filter(played) + 0.01 * rng.standard_normal(played.size)
    response = estimate_response(recorded, played, sr=SR)
    f = response.freqs_hz
    assert np.all(response.coherence[(f > 150) & (f < 450)] > 0.9)
    assert np.all(response.coherence[f > 800] < 0.5)
    assert response.band_hz()[1] < 700


def test_smoothing_and_n_fft_options(calibration):
    recorded, played = calibration
    sharp = estimate_response(recorded, played, sr=SR, n_fft=512, smoothing_octaves=0)
    assert len(sharp) == 257 and sharp.n_fft == 512 and sharp.smoothing_octaves == 0
    assert abs(sharp.peak_hz() - true_peak_hz()) < 0.02 * true_peak_hz()


def test_errors_name_the_bad_values(calibration):
    recorded, played = calibration
    with pytest.raises(ParameterError, match=r"overlap by \d+ samples.*recovered has 200, played 200.*n_fft=256"):
        estimate_response(recorded[:200], played[:200], sr=SR, n_fft=256)
    with pytest.raises(ParameterError, match=r"recovered has 400 samples and played 4400"):
        estimate_response(recorded[:400], played, sr=SR)
    with pytest.raises(ParameterError, match=r"recovered.shape=\(2, 100\)"):
        estimate_response(np.zeros((2, 100)), played, sr=SR)
    with pytest.raises(ParameterError, match="played is constant"):
        estimate_response(recorded, np.zeros_like(played), sr=SR)
    with pytest.raises(ParameterError, match="n_fft=7"):
        estimate_response(recorded, played, sr=SR, n_fft=7)
    with pytest.raises(ParameterError, match="sr=-1"):
        estimate_response(recorded, played, sr=-1)
    with pytest.raises(ParameterError, match="played_sr=0"):
        estimate_response(recorded, played, sr=SR, played_sr=0)
    bad = recorded.copy()
    bad[5] = np.nan
    with pytest.raises(ParameterError, match="recovered contains NaN"):
        estimate_response(bad, played, sr=SR)
    with pytest.raises(ParameterError, match="smoothing_octaves"):
        estimate_response(recorded, played, sr=SR, smoothing_octaves=-1)


def test_unrelated_sound_warns():
    rng = np.random.default_rng(1)
    with pytest.warns(VismicWarning, match="barely correlates"):
        response = estimate_response(rng.standard_normal(4400), rng.standard_normal(4400), sr=SR)
    assert np.median(response.coherence) < 0.3


def test_find_lag_both_directions():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(1000)
    assert find_lag(np.concatenate([np.zeros(25), x]), x)[0] == 25
    lag, correlation = find_lag(-x[40:], x)
    assert lag == -40 and correlation == pytest.approx(-1.0)
    assert find_lag(np.concatenate([np.zeros(300), x]), x, max_lag=100)[0] != 300


def test_smoothing_keeps_constants_and_dc():
    f = np.linspace(0, 1100, 129)
    values = np.full(129, 3.0 + 1j)
    values[0] = 7.0
    out = smooth_octaves(values, f, 1 / 3)
    assert out[0] == 7.0 and np.allclose(out[1:], 3.0 + 1j)


def test_save_and_load_round_trip(response, tmp_path):
    path = response.save(tmp_path / "response.npz")
    assert sorted(os.listdir(tmp_path)) == ["response.npz"]  # nothing temporary left
    back = load_response(path)
    assert isinstance(back, Response)
    np.testing.assert_array_equal(back.gain, response.gain)
    np.testing.assert_array_equal(back.freqs_hz, response.freqs_hz)
    np.testing.assert_array_equal(back.coherence, response.coherence)
    assert (back.sr, back.lag_seconds, back.n_fft) == (response.sr, response.lag_seconds, response.n_fft)
    assert back.peak_hz() == response.peak_hz()
    assert "Hz" in back.summary()


def test_load_errors(tmp_path):
    with pytest.raises(ResponseNotFoundError, match="nope.npz"):
        load_response(tmp_path / "nope.npz")
    assert issubclass(ResponseNotFoundError, FileNotFoundError) and issubclass(ResponseNotFoundError, ParameterError)
    np.savez(tmp_path / "other.npz", weights=np.ones(3))
    with pytest.raises(ParameterError, match="not a vismic response.*freqs_hz"):
        load_response(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ParameterError, match="cannot read response"):
        load_response(tmp_path / "junk.npz")
    flat = Response(np.linspace(0, 500, 3), np.ones(3), np.ones(3), sr=1000.0)
    with pytest.raises(OutputError, match="does not exist"):
        flat.save(tmp_path / "missing" / "r.npz")


def test_response_validates_its_fields():
    with pytest.raises(ParameterError, match="coherence must have the shape"):
        Response(np.linspace(0, 500, 3), np.ones(3), np.ones(4), sr=1000.0)
    with pytest.raises(ParameterError, match="above the Nyquist"):
        Response(np.linspace(0, 800, 3), np.ones(3), np.ones(3), sr=1000.0)
    with pytest.raises(ParameterError, match="sr="):
        Response(np.linspace(0, 500, 3), np.ones(3), np.ones(3), sr=0)


def test_audio_input_and_its_rate(calibration):
    from vismic.data import Audio

    recorded, played = calibration
    response = estimate_response(Audio(recorded, SR), played, sr=SR)
    assert response.sr == SR
    with pytest.raises(ParameterError, match=r"sr=2200 Hz but sr=8000 Hz"):
        estimate_response(Audio(recorded, SR), played, sr=8000.0)
