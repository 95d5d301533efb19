import numpy as np
import pytest
from scipy import signal

from vismic import Pipeline, metrics, synth
from vismic.calibrate import Equalise, Response, equalise, inverse_filter, inverse_gain
from vismic.data import Audio
from vismic.errors import ParameterError
from vismic.testing import check_stage

from .conftest import SR, object_filter


def _flat(sr=SR, n_fft=256):
    n = n_fft // 2 + 1
    return Response(np.linspace(0, sr / 2, n), np.full(n, 0.3), np.ones(n), sr=sr, n_fft=n_fft)


@pytest.mark.parametrize("make, margin_db", [(synth.music, 8.0), (synth.speech, 4.0)])
def test_equalising_raises_si_snr(response, make, margin_db):
    # speech gains less: its formants sit where this object has rolled off by 15-25 dB,
    # beyond the default 20 dB boost and where the calibration's coherence falls
    clean = make(duration_seconds=2.0, sr=SR, seed=3)
    rng = np.random.default_rng(5)
    filtered = object_filter(clean)
    filtered = filtered + 0.003 * np.std(filtered) * rng.standard_normal(clean.size)
    before = metrics.si_snr(filtered, clean)
    after = metrics.si_snr(equalise(filtered, response), clean)
    assert after > before + margin_db, (before, after)


def test_zero_phase_corrects_the_magnitude(response):
    clean = synth.music(duration_seconds=3.0, sr=SR)
    filtered = object_filter(clean)
    flat = equalise(filtered, response, phase="zero")
    welch = dict(fs=SR, nperseg=256)
    f, reference = signal.welch(clean, **welch)
    band = (f > 80) & (f < 700) & (reference > 1e-4 * reference.max())

    def spread_db(x):
        ratio_db = 10 * np.log10(signal.welch(x, **welch)[1][band] / reference[band])
        return np.std(ratio_db)

    assert spread_db(filtered) > 6.0
    assert spread_db(flat) < 0.3 * spread_db(filtered)
    # zero phase: a tone comes out in phase, with no delay
    tone = np.sin(2 * np.pi * 150 * np.arange(4400) / SR)
    out = equalise(tone, _flat(), phase="zero")
    assert np.allclose(out[500:-500], tone[500:-500], atol=1e-3)


@pytest.mark.parametrize("phase", ["minimum", "zero"])
def test_flat_response_changes_nothing(phase):
    x = np.random.default_rng(0).standard_normal(3000)
    out = equalise(x, _flat(), phase=phase)
    assert out.shape == x.shape
    assert np.allclose(out[400:-400], x[400:-400], atol=1e-3)


def test_boost_is_limited():
    f = np.linspace(0, SR / 2, 129)
    gain = np.ones(129)
    gain[60:70] = 1e-4  # a deep notch
    coherence = np.ones(129)
    coherence[100:] = 0.1  # barely measured
    gain[100:] = 1e-3
    response = Response(f, gain, coherence, sr=SR, n_fft=256)
    boost_db = 20 * np.log10(inverse_gain(response, max_gain_db=20))
    assert boost_db.max() <= 20.0 + 1e-9
    assert boost_db[60:70].min() > 19.9
    assert np.all(boost_db[100:] <= 20 * 0.1 / 0.5 + 1e-9)  # 4 dB at a fifth of min_coherence
    assert 20 * np.log10(inverse_gain(response, max_gain_db=6)).max() <= 6.0 + 1e-9
    taps = inverse_filter(response, max_gain_db=20)
    _, h = signal.freqz(taps, worN=f, fs=SR)
    assert 20 * np.log10(np.abs(h)).max() < 21.0


def test_channels_are_equalised_alike(response):
    x = np.random.default_rng(1).standard_normal((2, 2000))
    out = equalise(x, response)
    assert out.shape == (2, 2000)
    np.testing.assert_allclose(out[1], equalise(x[1], response), atol=1e-12)


def test_sample_rate_must_match(response):
    with pytest.raises(ParameterError, match=r"sr=8000 Hz differs from the response's sr=2200 Hz"):
        equalise(np.zeros(1000), response, sr=8000)
    with pytest.raises(ParameterError, match=r"sr=8000 Hz differs from the response's sr=2200 Hz"):
        Equalise(response).transform(Audio(np.zeros(1000), 8000.0))
    with pytest.raises(ParameterError, match="phase"):
        equalise(np.zeros(1000), response, phase="linear")
    with pytest.raises(ParameterError, match="max_gain_db=-3"):
        equalise(np.zeros(1000), response, max_gain_db=-3)
    with pytest.raises(ParameterError, match="n_taps=64"):
        equalise(np.zeros(1000), response, n_taps=64)
    with pytest.raises(ParameterError, match="shape"):
        equalise(np.zeros((2, 2, 10)), response)
    with pytest.raises(ParameterError, match="response must be"):
        equalise(np.zeros(100), 42)


def test_stage_protocol(tmp_path):
    response = _flat(sr=1000.0)  # the rate of vismic.testing's sample inputs
    report = check_stage(Equalise(response, max_gain_db=12.0))
    assert report == {"input": "Audio", "output": "Audio", "streaming": False}
    stage = Equalise(response.save(tmp_path / "flat.npz"))
    assert check_stage(stage)["output"] == "Audio"
    assert "Equalise(" in repr(stage) and "flat.npz" in repr(stage)
    assert stage.get_params()["max_gain_db"] == 20.0


def test_stage_in_a_pipeline_keeps_rate_and_info(response, tmp_path):
    path = response.save(tmp_path / "response.npz")
    clean = synth.music(duration_seconds=1.0, sr=SR)
    audio = Audio(object_filter(clean), SR, {"snr_estimate_db": 20.0})
    out = Pipeline([("equalise", Equalise(str(path)))]).run(audio)
    assert out.sr == SR and out.samples.shape == clean.shape
    assert out.info["snr_estimate_db"] == 20.0 and out.info["equalised"] is True
    np.testing.assert_allclose(out.samples, equalise(audio.samples, response))
    with pytest.raises(ParameterError, match="Audio"):
        Equalise(response).transform(np.zeros(100))


def test_minimum_phase_beats_magnitude_only(response):
    clean = synth.music(duration_seconds=2.0, sr=SR, seed=4)
    filtered = object_filter(clean)
    minimum = metrics.si_snr(equalise(filtered, response), clean)
    zero = metrics.si_snr(equalise(filtered, response, phase="zero"), clean)
    assert minimum > zero + 3.0, (minimum, zero)


def test_a_flat_set_up_is_left_alone():
    from vismic.calibrate import estimate_response
    from vismic.denoise import highpass

    rng = np.random.default_rng(9)
    played = synth.chirp(f0_hz=40.0, f1_hz=1050.0, duration_seconds=1.0, sr=SR, method="logarithmic")
    recorded = highpass(played, sr=SR) + 0.03 * rng.standard_normal(played.size)
    response = estimate_response(recorded, played, sr=SR)
    clean = synth.speech(duration_seconds=2.0, sr=SR, seed=2)
    reference = highpass(clean, sr=SR)
    noisy = reference + 0.03 * np.std(reference) * rng.standard_normal(clean.size)
    before = metrics.si_snr(noisy, reference)
    assert metrics.si_snr(equalise(noisy, response), reference) > before - 0.3


def test_add_equaliser_goes_before_denoising(response):
    import vismic
    from vismic.calibrate import add_equaliser

    names = [n for n, _ in add_equaliser(vismic.default_pipeline(), response).steps]
    assert names[-3:] == ["combine", "equalise", "denoise"]
    plain = add_equaliser(vismic.default_pipeline(denoise=None), response, max_gain_db=10.0)
    assert plain.steps[-1][0] == "equalise" and plain["equalise"].max_gain_db == 10.0
    with pytest.raises(vismic.errors.ParameterError, match="takes a vismic.Pipeline"):
        add_equaliser([("combine", None)], response)  # an AttributeError before
