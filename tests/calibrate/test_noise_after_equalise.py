"""The noise the denoiser assumes is the noise that is there, after every filter (issue 7)."""

import numpy as np
from scipy import signal

from vismic import synth
from vismic.calibrate import Equalise, estimate_response
from vismic.data import Audio, NoiseSpectrum
from vismic.denoise import BandLimit, Denoise, HighPass
from vismic.pipeline import Pipeline

SR = 2200.0
NOISE_STD = 0.01  # px: the combination's white estimation noise


def _object(x):
    """A resonance at 300 Hz over a weak broadband path, as in vismic.calibrate's example."""
    b, a = signal.iirpeak(300, 3, fs=SR)
    return signal.lfilter(b, a, x) + 0.05 * signal.lfilter(*signal.butter(2, 800, fs=SR), x)


def _response():
    sweep = synth.chirp(f0_hz=40, f1_hz=1050, duration_seconds=4, sr=SR, method="logarithmic")
    return estimate_response(_object(sweep), sweep, sr=SR)


def _chain(response):
    return Pipeline([("highpass", HighPass(cutoff_hz=20.0)), ("bandlimit", BandLimit(high_hz=1000.0)),
                     ("equalise", Equalise(response))])


def test_denoiser_assumes_the_noise_measured_after_equalising():
    response = _response()
    chain = _chain(response)
    denoiser = Denoise()
    # a recovery: the object's motion plus the white noise the combination measured
    song = synth.music(duration_seconds=2.0, sr=SR)
    rng = np.random.default_rng(0)
    recovered = Audio(_object(song) + NOISE_STD * rng.standard_normal(song.size), SR,
                      noise=NoiseSpectrum.white(NOISE_STD**2, sr=SR))
    assumed = denoiser.assumed_noise_psd(chain.run(recovered))
    n_fft = 2 * (assumed.size - 1)
    # the truth: the same chain on the noise alone, Welch-averaged with the denoiser's frames
    noise_only = Audio(NOISE_STD * rng.standard_normal(int(400 * SR)), SR)
    _, measured = signal.welch(chain.run(noise_only).samples, fs=SR, window="hann", nperseg=n_fft, detrend=False)
    ratio = assumed / measured
    assert np.all(np.abs(ratio - 1) < 0.10), f"assumed/measured from {ratio.min():.3f} to {ratio.max():.3f}"
    # the flat spectrum the denoiser used to trust is far off after equalising
    flat = NoiseSpectrum.white(NOISE_STD**2, sr=SR).welch_density(n_fft)
    assert (flat / measured).max() > 5 and (flat / measured).min() < 0.2


def test_equalise_goes_before_denoise_in_the_pipeline():
    import vismic
    from vismic.calibrate import add_equaliser

    pipe = add_equaliser(vismic.default_pipeline(), _response())
    names = [n for n, _ in pipe.steps]
    assert names.index("combine") < names.index("equalise") < names.index("denoise")
