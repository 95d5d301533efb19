"""Single-channel STFT denoisers: spectral subtraction, Wiener, MMSE-STSA and MMSE-LSA.

Each works on a Hann STFT with 75 % overlap (perfect reconstruction through
:func:`scipy.signal.istft` when the gain is one), multiplies every bin by a gain
computed from the noisy power ``|Y|^2`` and a noise PSD, and keeps the noisy phase.
When no noise PSD is given it is estimated from the recording
(:func:`~vismic.denoise.estimate_noise_psd`).

* :func:`spectral_subtraction` -- power subtraction (Boll 1979) with over-subtraction
  and a spectral floor relative to the noise (Berouti et al. 1979).
* :func:`wiener`, :func:`mmse_stsa`, :func:`mmse_lsa` -- gains driven by the
  decision-directed a priori SNR (Ephraim & Malah 1984):
  ``xi(t) = a * G(t-1)^2 * gamma(t-1) + (1 - a) * max(gamma(t) - 1, 0)``, with the
  a posteriori SNR ``gamma = |Y|^2 / noise``; Wiener ``G = xi / (1 + xi)``, the
  short-time spectral amplitude estimator (1984) and the log-spectral amplitude
  estimator (1985) ``G = xi / (1 + xi) * exp(E1(v) / 2)``, ``v = xi * gamma / (1 + xi)``.
  The gain applied is clipped to ``[10^(min_gain_db / 20), 1]``.

The default is MMSE-LSA (``method="mmse_lsa"``): inside vismic the noise level is
known from the video, where it is slightly ahead. How each method and each default
(frame length, ``snr_smoothing``, gain and prior floors, over-subtraction) scores on
speech-like and music-like signals at -5 to 20 dB input SNR is printed by
``benchmarks/bench_denoise.py``.
"""

from __future__ import annotations

import inspect

import numpy as np
from scipy import special

from ..data import Audio, NoiseSpectrum
from ..errors import ParameterError
from ..pipeline import Stage
from ._common import (
    DEFAULT_FRAME_SECONDS,
    check_audio,
    fill_doc,
    fill_fragments,
    check_positive,
    check_range,
    check_signal,
    density_to_bin_power,
    fit_frame_length,
    frame_length,
    istft,
    match_noise_psd,
    stft,
)
from ._estimate import estimate_denoised
from ._noise import estimate_noise_psd

__all__ = [
    "spectral_subtraction",
    "wiener",
    "mmse_stsa",
    "mmse_lsa",
    "denoise",
    "Denoise",
    "DENOISE_METHODS",
]

#: Valid values of ``denoise(method=...)``.
DENOISE_METHODS = ("wiener", "mmse_lsa", "mmse_stsa", "spectral_subtraction", "none")

_MIN_PRIOR_SNR_DB = -25.0
_MIN_GAIN_DB = -25.0


class _Spectra:
    """Noisy STFT, its power and the noise power per bin, ready for a gain rule."""

    def __init__(self, x, sr, noise_psd, frame_seconds):
        self.x = check_signal(x)
        self.sr = check_positive(sr, "sr")
        self.n = self.x.shape[-1]
        self.n_fft = fit_frame_length(frame_length(sr=self.sr, frame_seconds=frame_seconds), self.n)
        if noise_psd is None:
            noise_psd = estimate_noise_psd(self.x, sr=self.sr, frame_seconds=frame_seconds)
        elif isinstance(noise_psd, NoiseSpectrum):  # e.g. a recovery's own ``rec.noise``
            if not np.isclose(noise_psd.sr, self.sr, rtol=1e-9):
                raise ParameterError(f"noise_psd is a NoiseSpectrum of a signal at {noise_psd.sr:g} Hz, but sr={self.sr:g}")
            noise_psd = noise_psd.density
        lead = self.x.shape[:-1]
        n_freqs = self.n_fft // 2 + 1
        psd = match_noise_psd(noise_psd, n_freqs=n_freqs, lead_shape=lead)
        noise = density_to_bin_power(psd, sr=self.sr, n_fft=self.n_fft)
        self.spec = stft(self.x, self.n_fft)
        self.power = self.spec.real ** 2 + self.spec.imag ** 2
        # A bin without noise (digital silence, a zero in a user PSD) must not divide by zero.
        scale = np.max(noise, axis=-1, keepdims=True)
        scale = np.where(scale > 0, scale, max(float(np.mean(self.power)), 1e-300))
        self.noise = np.maximum(noise, 1e-10 * scale)[..., None]  # (..., n_freqs, 1)

    def apply(self, gain: np.ndarray) -> np.ndarray:
        return istft(self.spec * gain, self.n_fft, self.n)


def _check_dd(snr_smoothing, min_prior_snr_db, min_gain_db):
    snr_smoothing = check_range(snr_smoothing, "snr_smoothing", 0.0, 1.0, include_high=False)
    min_prior_snr_db = check_range(min_prior_snr_db, "min_prior_snr_db", -100.0, 20.0)
    min_gain_db = check_range(min_gain_db, "min_gain_db", -100.0, 0.0)
    return snr_smoothing, 10.0 ** (min_prior_snr_db / 10.0), 10.0 ** (min_gain_db / 20.0)


def _wiener_gain(prior, post):
    return prior / (1.0 + prior)


def _stsa_gain(prior, post):
    v = prior * post / (1.0 + prior)
    # exp(-v/2) I0(v/2) = i0e(v/2), likewise for I1, so large v does not overflow.
    return (np.sqrt(np.pi) / 2.0) * np.sqrt(v) / post * (
        (1.0 + v) * special.i0e(v / 2.0) + v * special.i1e(v / 2.0)
    )


def _lsa_gain(prior, post):
    v = np.maximum(prior * post / (1.0 + prior), 1e-10)
    return prior / (1.0 + prior) * np.exp(0.5 * special.exp1(v))


def _decision_directed(spectra: _Spectra, gain_rule, snr_smoothing, min_prior_snr, min_gain) -> np.ndarray:
    """Gains of every frame with the decision-directed a priori SNR of Ephraim & Malah."""
    post = np.maximum(spectra.power / spectra.noise, 1e-10)  # a posteriori SNR, (..., F, T)
    gains = np.empty_like(post)
    n_frames = post.shape[-1]
    previous = None  # G(t-1)^2 * gamma(t-1): the previous clean power over the noise
    for t in range(n_frames):
        post_t = post[..., t]
        ml = np.maximum(post_t - 1.0, 0.0)
        if previous is None:
            prior = snr_smoothing + (1.0 - snr_smoothing) * ml
        else:
            prior = snr_smoothing * previous + (1.0 - snr_smoothing) * ml
        prior = np.maximum(prior, min_prior_snr)
        gain = np.minimum(gain_rule(prior, post_t), 1.0)
        previous = gain ** 2 * post_t
        gains[..., t] = gain
    return np.maximum(gains, min_gain)


#: The example of every denoiser's docstring: a gated tone in white noise, error
#: below ``bound`` (the noisy signal's error is ``noisy_error``).
_EXAMPLE = """
    Examples
    --------
    >>> import numpy as np
    >>> sr = 2200
    >>> t = np.arange(4 * sr) / sr
    >>> clean = np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
    >>> noisy = clean + 0.3 * np.random.default_rng(0).standard_normal(t.size)
    >>> noisy_error = np.mean((noisy - clean) ** 2)
    >>> y = {name}(noisy, sr=sr)
    >>> bool(np.mean((y - clean) ** 2) < {bound})
    True
"""


@fill_doc
def spectral_subtraction(x, *, sr: float, noise_psd=None, over_subtraction: float = 4.0,
                         floor: float = 0.002, frame_seconds: float = DEFAULT_FRAME_SECONDS) -> np.ndarray:
    """Power spectral subtraction with over-subtraction and a spectral floor.

    ``|S|^2 = max(|Y|^2 - over_subtraction * N, floor * N)`` per bin, noisy phase kept.

    Parameters
    ----------
    %(signal)s
    %(noise_psd)s
    over_subtraction : float
        Factor (> 0) on the noise power subtracted.
    floor : float
        Power kept where the subtraction goes below it, as a fraction (>= 0) of the noise.
    %(frame_seconds)s

    %(returns)s
    """
    over_subtraction = check_positive(over_subtraction, "over_subtraction")
    floor = check_range(floor, "floor", 0.0, 1e6)
    spectra = _Spectra(x, sr, noise_psd, frame_seconds)
    clean_power = np.maximum(spectra.power - over_subtraction * spectra.noise, floor * spectra.noise)
    gain = np.sqrt(np.minimum(clean_power / np.maximum(spectra.power, 1e-300), 1.0))
    return spectra.apply(gain)


spectral_subtraction.__doc__ = (spectral_subtraction.__doc__ or "") + _EXAMPLE.format(
    name="spectral_subtraction", bound="noisy_error")


def _dd_denoiser(gain_rule):
    def run(x, sr, noise_psd, snr_smoothing, min_prior_snr_db, min_gain_db, frame_seconds):
        settings = _check_dd(snr_smoothing, min_prior_snr_db, min_gain_db)
        spectra = _Spectra(x, sr, noise_psd, frame_seconds)
        return spectra.apply(_decision_directed(spectra, gain_rule, *settings))
    return run


_DD_PARAMETERS = fill_fragments("""
    Parameters
    ----------
    %(signal)s
    %(noise_psd)s
    snr_smoothing : float
        Weight ``a`` in [0, 1) of the previous frame's estimate in the decision-directed
        a priori SNR (larger: less musical noise, slower onsets).
    min_prior_snr_db : float
        Lower bound of the a priori SNR in dB.
    min_gain_db : float
        Lower bound of the gain in dB (how much noise is left, as a floor).
    %(frame_seconds)s

    %(returns)s
""")


def wiener(x, *, sr: float, noise_psd=None, snr_smoothing: float = 0.95,
           min_prior_snr_db: float = _MIN_PRIOR_SNR_DB, min_gain_db: float = _MIN_GAIN_DB,
           frame_seconds: float = DEFAULT_FRAME_SECONDS) -> np.ndarray:
    return _dd_denoiser(_wiener_gain)(x, sr, noise_psd, snr_smoothing, min_prior_snr_db, min_gain_db, frame_seconds)


def mmse_stsa(x, *, sr: float, noise_psd=None, snr_smoothing: float = 0.98,
              min_prior_snr_db: float = _MIN_PRIOR_SNR_DB, min_gain_db: float = _MIN_GAIN_DB,
              frame_seconds: float = DEFAULT_FRAME_SECONDS) -> np.ndarray:
    return _dd_denoiser(_stsa_gain)(x, sr, noise_psd, snr_smoothing, min_prior_snr_db, min_gain_db, frame_seconds)


def mmse_lsa(x, *, sr: float, noise_psd=None, snr_smoothing: float = 0.95,
             min_prior_snr_db: float = _MIN_PRIOR_SNR_DB, min_gain_db: float = _MIN_GAIN_DB,
             frame_seconds: float = DEFAULT_FRAME_SECONDS) -> np.ndarray:
    return _dd_denoiser(_lsa_gain)(x, sr, noise_psd, snr_smoothing, min_prior_snr_db, min_gain_db, frame_seconds)


wiener.__doc__ = (
    "Wiener filter ``G = xi / (1 + xi)`` with the decision-directed a priori SNR ``xi``.\n"
    + _DD_PARAMETERS + _EXAMPLE.format(name="wiener", bound="0.5 * noisy_error")
)
mmse_stsa.__doc__ = (
    "Ephraim-Malah (1984) MMSE short-time spectral amplitude estimator, decision-directed a priori SNR.\n"
    + _DD_PARAMETERS + _EXAMPLE.format(name="mmse_stsa", bound="0.5 * noisy_error")
)
mmse_lsa.__doc__ = (
    "Ephraim-Malah (1985) MMSE log-spectral amplitude estimator, decision-directed a priori SNR.\n\n"
    "    ``G = xi / (1 + xi) * exp(E1(v) / 2)`` with ``v = xi * gamma / (1 + xi)``; the\n"
    "    exponential integral ``E1`` is :func:`scipy.special.exp1`.\n"
    + _DD_PARAMETERS + _EXAMPLE.format(name="mmse_lsa", bound="0.5 * noisy_error")
)


_FUNCTIONS = {
    "mmse_lsa": mmse_lsa,
    "mmse_stsa": mmse_stsa,
    "wiener": wiener,
    "spectral_subtraction": spectral_subtraction,
}


@fill_doc
def denoise(x, *, sr: float, method: str = "mmse_lsa", **kwargs) -> np.ndarray:
    """Denoise with the method named (see :data:`DENOISE_METHODS`).

    Parameters
    ----------
    %(signal)s
    method : {"mmse_lsa", "wiener", "mmse_stsa", "spectral_subtraction", "none"}
        ``"none"`` returns a copy of ``x`` (and ignores ``kwargs``).
    **kwargs
        Keyword arguments of the chosen function (e.g. ``noise_psd``, ``frame_seconds``).

    %(returns)s

    Raises
    ------
    ParameterError
        Unknown ``method`` or a keyword the method does not take (both list the valid
        ones), and whatever the method raises.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(4400)
    >>> denoise(x, sr=2200, method="wiener", min_gain_db=-15).shape
    (4400,)
    """
    if method not in DENOISE_METHODS:
        raise ParameterError(f"unknown denoise method={method!r}; valid: {', '.join(DENOISE_METHODS)}")
    if method == "none":  # options are ignored, so a method can be switched off alone
        return check_signal(x).copy()
    function = _FUNCTIONS[method]
    valid = [name for name in inspect.signature(function).parameters if name not in ("x", "sr")]
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ParameterError(
            f"method={method!r} has no option {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}"
        )
    return function(x, sr=sr, **kwargs)


class Denoise(Stage):
    """Stage: noisy :class:`~vismic.data.Audio` -> denoised :class:`~vismic.data.Audio` (see :func:`denoise`).

    The noise it removes is, in this order: ``noise_psd`` when given; else the
    audio's own noise spectrum (``audio.noise``, measured from the video by the
    combination and carried through every filter since, see
    :meth:`assumed_noise_psd`); else an estimate from the recording. The output's
    ``noise`` is None (what is left is no longer a linear function of the noise),
    except for ``method="none"``.

    Where the audio carries an SNR estimate and the noise's spectrum is known (the
    first two cases), the output's ``info["snr_estimate_db"]`` is what the denoiser
    kept, by Stein's unbiased risk estimate (:mod:`vismic.denoise._estimate`, four more
    runs of the denoiser); ``info["denoised"]["estimate_before_db"]`` is the input's.
    ``benchmarks/bench_recover.py``: a median 0.23 dB from the true SI-SNR (within 3 dB on
    23 of 24 scenes; the 24th, at -4.7 dB before denoising, is left as it was), where the
    estimate before denoising read the denoised outputs a median 2.8 dB low.

    Parameters
    ----------
    method : str
        One of :data:`DENOISE_METHODS` (default ``"mmse_lsa"``).
    noise_psd : np.ndarray or None
        Noise PSD (see :func:`~vismic.denoise.estimate_noise_psd`); ``None`` uses the
        audio's noise spectrum or estimates it from each recording.
    frame_seconds : float or None
        Analysis frame duration; ``None`` takes the method's default.
    options : dict or None
        Further keyword arguments of the method (e.g. ``{"min_gain_db": -15}``).

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.data import Audio
    >>> noisy = Audio(np.random.default_rng(0).standard_normal((2, 4400)), sr=2200)
    >>> out = Denoise(method="wiener").transform(noisy)
    >>> out.samples.shape, out.sr
    ((2, 4400), 2200.0)
    """

    streaming = False

    def __init__(self, method: str = "mmse_lsa", noise_psd=None, frame_seconds: float | None = None,
                 options: dict | None = None):
        self.method = method
        self.noise_psd = noise_psd
        self.frame_seconds = frame_seconds
        self.options = options

    def _options(self) -> dict:
        if self.options is not None and not isinstance(self.options, dict):
            raise ParameterError(f"options must be a dict or None, given options={self.options!r}")
        kwargs = dict(self.options or {})
        if self.frame_seconds is not None:
            kwargs["frame_seconds"] = self.frame_seconds
        return kwargs

    def assumed_noise_psd(self, audio: Audio):
        """The noise PSD this stage removes from ``audio``, on the denoiser's STFT bins.

        Returns
        -------
        np.ndarray [shape=(n_fft // 2 + 1,) or (n_channels, n_fft // 2 + 1)] or None
            One-sided density on ``np.linspace(0, sr / 2, n_fft // 2 + 1)`` for the
            analysis frame ``n_fft``: ``noise_psd`` when given, else what a Welch
            average with the denoiser's own frames measures of ``audio.noise``
            (leakage included); None when the stage estimates it from the recording.
        """
        audio = check_audio(audio, "Denoise")
        if self.noise_psd is not None:
            return self.noise_psd
        if audio.noise is None or self.method == "none":
            return None
        frame_seconds = self._options().get("frame_seconds", DEFAULT_FRAME_SECONDS)
        n_fft = fit_frame_length(frame_length(sr=audio.sr, frame_seconds=frame_seconds), len(audio))
        # the combination measured the noise from the video itself: more exact than
        # any estimate from the sound, which mistakes sustained notes for noise
        return audio.noise.welch_density(n_fft)

    def transform(self, audio: Audio) -> Audio:
        audio = check_audio(audio, "Denoise")
        kwargs = self._options()
        noise_psd = self.assumed_noise_psd(audio)
        if noise_psd is not None:
            kwargs["noise_psd"] = noise_psd
        samples = denoise(audio.samples, sr=audio.sr, method=self.method, **kwargs)
        out = audio.filtered(samples, response=1.0 if self.method == "none" else None)
        if self.method == "none" or noise_psd is None:
            return out
        noise = audio.noise if self.noise_psd is None else NoiseSpectrum(noise_psd, audio.sr)
        return estimate_denoised(audio, out, lambda x: denoise(x, sr=audio.sr, method=self.method, **kwargs), noise)
