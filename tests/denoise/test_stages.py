import numpy as np
import pytest

from vismic.data import Audio
from vismic.denoise import BandLimit, Denoise, HighPass, bandlimit, denoise, highpass
from vismic.errors import ParameterError
from vismic.pipeline import Pipeline

from .conftest import SR, add_white_noise

STAGES = [
    HighPass(),
    HighPass(cutoff_hz=50.0, order=2),
    BandLimit(low_hz=40.0, high_hz=900.0),
    BandLimit(high_hz=600.0),
    Denoise(),
    Denoise(method="mmse_lsa", frame_seconds=0.032, options={"min_gain_db": -15.0}),
    Denoise(method="none"),
    Denoise(method="none", options={"min_gain_db": -15.0}),
]


def _audio(notes, channels=1):
    samples = np.stack([add_white_noise(notes, 5.0, seed=s)[0] for s in range(1, channels + 1)])
    return Audio(samples[0] if channels == 1 else samples, SR, {"source": "test", "weights": [1, 2]})


@pytest.mark.parametrize("stage", STAGES, ids=repr)
@pytest.mark.parametrize("channels", [1, 2])
def test_keeps_sr_shape_info_and_input(stage, channels, notes):
    audio = _audio(notes, channels)
    samples_before = audio.samples.copy()
    info_before = dict(audio.info)
    out = stage.transform(audio)
    assert isinstance(out, Audio) and out is not audio
    assert out.sr == audio.sr
    assert out.samples.shape == audio.samples.shape
    assert out.info == info_before and out.info is not audio.info
    assert not np.shares_memory(out.samples, audio.samples)
    np.testing.assert_array_equal(audio.samples, samples_before)
    assert audio.info == info_before


def test_stages_call_their_functions(notes):
    audio = _audio(notes, 2)
    np.testing.assert_allclose(HighPass(cutoff_hz=30.0).transform(audio).samples,
                               highpass(audio.samples, sr=SR, cutoff_hz=30.0))
    np.testing.assert_allclose(BandLimit(low_hz=30.0, high_hz=800.0).transform(audio).samples,
                               bandlimit(audio.samples, sr=SR, low_hz=30.0, high_hz=800.0))
    np.testing.assert_allclose(Denoise(method="mmse_stsa", options={"snr_smoothing": 0.95}).transform(audio).samples,
                               denoise(audio.samples, sr=SR, method="mmse_stsa", snr_smoothing=0.95))


def test_params_and_repr():
    stage = Denoise(method="mmse_lsa", options={"min_gain_db": -15.0})
    assert stage.get_params() == {"method": "mmse_lsa", "noise_psd": None, "frame_seconds": None,
                                  "options": {"min_gain_db": -15.0}}
    assert repr(stage) == "Denoise(options={'min_gain_db': -15.0})"
    assert repr(HighPass()) == "HighPass()"
    stage.set_params(method="wiener")
    assert stage.method == "wiener"
    assert repr(stage) == "Denoise(method='wiener', options={'min_gain_db': -15.0})"
    stage.set_params(method="mmse_lsa")  # the default (the pipeline's too) is not shown
    assert repr(stage) == "Denoise(options={'min_gain_db': -15.0})"
    assert not HighPass.streaming and not BandLimit.streaming and not Denoise.streaming


def test_in_a_pipeline(notes):
    drift = 4 * np.sin(2 * np.pi * 1.5 * np.arange(notes.size) / SR)
    audio = Audio(add_white_noise(notes, 5.0)[0] + drift, SR)
    pipe = Pipeline([("highpass", HighPass()), ("denoise", Denoise())])
    out = pipe.run(audio)
    assert out.samples.shape == notes.shape
    pipe.set_params(denoise__method="none", highpass__cutoff_hz=40.0)
    assert pipe["denoise"].method == "none"


def test_errors(notes):
    with pytest.raises(ParameterError, match="Audio"):
        HighPass().transform(notes)
    with pytest.raises(ParameterError, match="cutoff_hz"):
        HighPass(cutoff_hz=2000.0).transform(_audio(notes))
    with pytest.raises(ParameterError, match="valid"):
        Denoise(method="magic").transform(_audio(notes))
    with pytest.raises(ParameterError, match="options"):
        Denoise(options=[("min_gain_db", -10)]).transform(_audio(notes))
    with pytest.raises(ParameterError, match="no parameter"):
        Denoise().set_params(min_gain_db=-10)


def test_filters_carry_the_noise_spectrum_and_denoise_uses_it(notes):
    from vismic.data import NoiseSpectrum

    audio = Audio(add_white_noise(notes, 5.0)[0], SR, noise=NoiseSpectrum.white(0.01, sr=SR))
    high = HighPass(cutoff_hz=100.0).transform(audio)
    freqs = high.noise.freqs_hz
    assert high.noise.density[freqs < 20].max() < 1e-6 * audio.noise.density[1]
    np.testing.assert_allclose(high.noise.density[freqs > 400], audio.noise.density[freqs > 400], rtol=1e-3)
    limited = BandLimit(high_hz=500.0).transform(audio)
    assert limited.noise.density[freqs > 900].max() < 1e-6 * audio.noise.density[1]
    assumed = Denoise().assumed_noise_psd(high)
    assert assumed.shape == (65,) and assumed[0] < 1e-3 * assumed[-10]  # 64 ms at 2200 Hz: 128-sample frames
    assert Denoise(noise_psd=np.ones(3)).assumed_noise_psd(high).tolist() == [1.0, 1.0, 1.0]
    assert Denoise().assumed_noise_psd(Audio(notes, SR)) is None  # estimated from the recording
    assert Denoise().transform(high).noise is None
    np.testing.assert_allclose(Denoise(method="none").transform(high).noise.density, high.noise.density)
