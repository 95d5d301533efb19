"""Clean the recovered signal: drift removal, band limiting and noise reduction.

The motion signal recovered from video is sampled at the capture rate, carries strong
low-frequency drift and roughly white estimation noise. :func:`highpass` (or
:func:`bandlimit`) removes the drift without shifting the sound in time; the STFT
denoisers (:func:`mmse_lsa`, the default, :func:`wiener`, :func:`mmse_stsa`,
:func:`spectral_subtraction`, all through :func:`denoise`) then lower the noise floor:
the one the audio carries (``Audio.noise``, measured from the video and updated by
every filter since) or else one estimated from the recording itself by
:func:`estimate_noise_psd`. ``benchmarks/bench_denoise.py`` prints how each method
and default scores. All functions take
arrays of shape ``(n,)`` or ``(n_channels, n)``; :class:`HighPass`, :class:`BandLimit`
and :class:`Denoise` are the matching pipeline stages on :class:`~vismic.data.Audio`.

Examples
--------
>>> import numpy as np
>>> from vismic import denoise as dn
>>> sr = 2200
>>> t = np.arange(4 * sr) / sr
>>> x = 3 * np.sin(2 * np.pi * 1.5 * t) + np.sin(2 * np.pi * 220 * t)
>>> x = x + 0.3 * np.random.default_rng(0).standard_normal(t.size)
>>> y = dn.denoise(dn.highpass(x, sr=sr), sr=sr)
>>> y.shape
(8800,)
"""

from ._common import DEFAULT_FRAME_SECONDS, frame_length
from ._filters import BandLimit, HighPass, bandlimit, highpass
from ._noise import NOISE_METHODS, estimate_noise_psd
from ._spectral import (
    DENOISE_METHODS,
    Denoise,
    denoise,
    mmse_lsa,
    mmse_stsa,
    spectral_subtraction,
    wiener,
)

__all__ = [
    "highpass",
    "bandlimit",
    "estimate_noise_psd",
    "spectral_subtraction",
    "wiener",
    "mmse_stsa",
    "mmse_lsa",
    "denoise",
    "frame_length",
    "HighPass",
    "BandLimit",
    "Denoise",
    "DENOISE_METHODS",
    "NOISE_METHODS",
    "DEFAULT_FRAME_SECONDS",
]
