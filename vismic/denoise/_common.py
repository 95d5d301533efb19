"""Helpers shared by the denoise modules: frame length, STFT, PSD units (checks from :mod:`vismic._checks`).

Units of a noise PSD
--------------------
A noise PSD in vismic is a one-sided power spectral density in (signal units)^2 / Hz on
the frequencies ``np.linspace(0, sr / 2, n_freqs)``, the convention of
``scipy.signal.welch(x, fs=sr, scaling="density")``: white noise of variance ``s2`` has
``2 * s2 / sr`` in every bin but the first and last, which hold half that. The STFT
code works with the expected power of one STFT bin instead; :func:`density_to_bin_power`
and :func:`bin_power_to_density` convert between the two.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from .. import _checks
from .._checks import check_int, check_positive, check_range, check_rate  # noqa: F401  (used by the denoise modules)
from ..data import Audio
from ..errors import ParameterError

#: Default analysis frame length in seconds: 64 ms beat 16 and 32 ms by 2.3 and 1.4 dB
#: of output SI-SNR (measured by benchmarks/bench_denoise.py, see ``_spectral``).
DEFAULT_FRAME_SECONDS = 0.064
#: Shortest frame a default may turn into, in samples.
MIN_FRAME_LENGTH = 64


#: Docstring fragments of the functions of this package, put in by :func:`fill_doc`
#: (indented for a function's docstring; the placeholder stands at 4 spaces).
DOC_FRAGMENTS = {
    "signal": """x : np.ndarray [shape=(n,) or (n_channels, n)]
        Signal, time on the last axis; channels are processed independently.
    sr : float
        Sample rate in Hz.""",
    "noise_psd": """noise_psd : np.ndarray [shape=(n_freqs,) or (n_channels, n_freqs)], NoiseSpectrum or None
        One-sided noise PSD on ``np.linspace(0, sr / 2, n_freqs)`` (any ``n_freqs >= 2``;
        see :func:`~vismic.denoise.estimate_noise_psd`), or a :class:`~vismic.data.NoiseSpectrum`
        at ``sr`` (a recovery's ``rec.noise``); ``None`` estimates it from ``x``.""",
    "frame_seconds": """frame_seconds : float
        Analysis frame duration (:func:`~vismic.denoise.frame_length`).""",
    "returns": """Returns
    -------
    y : np.ndarray [shape=x.shape], float64""",
}


def fill_doc(function):
    """Decorator: each ``%(name)s`` in the docstring becomes the fragment ``DOC_FRAGMENTS[name]``."""
    function.__doc__ = fill_fragments(function.__doc__)
    return function


def fill_fragments(text):
    """``text`` with each ``%(name)s`` replaced by ``DOC_FRAGMENTS[name]`` (None stays None, as under ``-OO``)."""
    if text is None:
        return None
    for name, fragment in DOC_FRAGMENTS.items():
        text = text.replace(f"%({name})s", fragment)
    return text


def check_audio(audio, stage: str) -> Audio:
    """``audio`` if it is :class:`~vismic.data.Audio`, the input of every audio stage; the message names ``stage``."""
    if not isinstance(audio, Audio):
        raise ParameterError(f"{stage} expects vismic.data.Audio, given {type(audio).__name__}")
    return audio


def check_signal(x, name: str = "x") -> np.ndarray:
    """``x`` as a float64 array of shape (n,) or (n_channels, n), finite and not empty."""
    return _checks.check_signal(x, name, channels=True)


def check_order(order, name: str = "order") -> int:
    """A filter order: an integer from 1 to 20."""
    return check_int(order, name, minimum=1, maximum=20)


def frame_length(*, sr: float, frame_seconds: float = DEFAULT_FRAME_SECONDS) -> int:
    """Analysis frame length in samples for a frame duration at a sample rate.

    The power of two nearest to ``frame_seconds * sr`` (on a log scale), at least 64, so a
    default in seconds stays sensible from 600 Hz to 20 kHz capture rates.

    Parameters
    ----------
    sr : float
        Sample rate in Hz.
    frame_seconds : float
        Wanted frame duration in seconds.

    Returns
    -------
    n_fft : int

    Examples
    --------
    >>> frame_length(sr=2200, frame_seconds=0.064), frame_length(sr=8000, frame_seconds=0.064)
    (128, 512)
    """
    sr = check_rate(sr, "sr")
    frame_seconds = check_positive(frame_seconds, "frame_seconds")
    exponent = int(np.round(np.log2(frame_seconds * sr)))
    return int(max(MIN_FRAME_LENGTH, 2 ** max(exponent, 0)))


def fit_frame_length(n_fft: int, n: int) -> int:
    """Halve ``n_fft`` until a signal of ``n`` samples holds one frame (never below 8)."""
    while n_fft > n and n_fft > 8:
        n_fft //= 2
    return n_fft


def hop_length(n_fft: int) -> int:
    """Hop of the 75 %-overlap Hann STFT used throughout."""
    return n_fft // 4


def stft(x: np.ndarray, n_fft: int) -> np.ndarray:
    """Hann STFT with 75 % overlap, zero-padded at both ends: shape (..., n_fft // 2 + 1, n_frames)."""
    if x.shape[-1] < n_fft:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (n_fft - x.shape[-1],))], axis=-1)
    _, _, spec = signal.stft(
        x, window="hann", nperseg=n_fft, noverlap=n_fft - hop_length(n_fft),
        boundary="zeros", padded=True, axis=-1,
    )
    return spec


def frames_power(x: np.ndarray, n_fft: int) -> np.ndarray:
    """Periodogram ``|X|^2`` of the full frames only (no zero-padded ends): (..., n_freqs, n_frames)."""
    if x.shape[-1] < n_fft:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (n_fft - x.shape[-1],))], axis=-1)
    _, _, spec = signal.stft(
        x, window="hann", nperseg=n_fft, noverlap=n_fft - hop_length(n_fft),
        boundary=None, padded=False, axis=-1,
    )
    return spec.real ** 2 + spec.imag ** 2


def istft(spec: np.ndarray, n_fft: int, n: int) -> np.ndarray:
    """Inverse of :func:`stft`, cut to ``n`` samples."""
    _, y = signal.istft(
        spec, window="hann", nperseg=n_fft, noverlap=n_fft - hop_length(n_fft),
        input_onesided=True, boundary=True, time_axis=-1, freq_axis=-2,
    )
    y = y[..., :n]
    if y.shape[-1] < n:  # cannot happen with padded=True, kept as a guard
        y = np.concatenate([y, np.zeros(y.shape[:-1] + (n - y.shape[-1],))], axis=-1)
    return y


def _edge_factor(n_freqs: int) -> np.ndarray:
    """2 for interior bins, 1 for the DC and Nyquist bins (one-sided PSD convention)."""
    factor = np.full(n_freqs, 2.0)
    factor[0] = 1.0
    factor[-1] = 1.0
    return factor


def _window_ratio(n_fft: int) -> float:
    window = signal.get_window("hann", n_fft)
    return float(np.sum(window ** 2) / np.sum(window) ** 2)


def density_to_bin_power(psd: np.ndarray, *, sr: float, n_fft: int) -> np.ndarray:
    """Expected ``|X|^2`` of one STFT bin (scipy 'spectrum' scaling) for a one-sided PSD."""
    return psd * sr * _window_ratio(n_fft) / _edge_factor(psd.shape[-1])


def bin_power_to_density(power: np.ndarray, *, sr: float, n_fft: int) -> np.ndarray:
    """Inverse of :func:`density_to_bin_power`."""
    return power * _edge_factor(power.shape[-1]) / (sr * _window_ratio(n_fft))


def match_noise_psd(noise_psd, *, n_freqs: int, lead_shape: tuple) -> np.ndarray:
    """Check a user's noise PSD and resample it onto ``n_freqs`` bins from 0 to sr/2.

    Returns an array of shape ``lead_shape + (n_freqs,)`` (``lead_shape`` is ``()`` for
    one channel, ``(n_channels,)`` otherwise). Any length >= 2 is accepted: the PSD is
    linearly interpolated over frequency, its first and last bins (which hold half the
    density of the others in the one-sided convention) doubled before and halved after.
    """
    psd = np.asarray(noise_psd, dtype=np.float64) if not np.iscomplexobj(noise_psd) else None
    if psd is None or psd.ndim not in (1, 2) or psd.shape[-1] < 2:
        shape = np.shape(noise_psd)
        raise ParameterError(
            f"noise_psd must be a real array of shape (n_freqs,) or (n_channels, n_freqs) "
            f"with n_freqs >= 2, given noise_psd.shape={shape}"
        )
    if not np.all(np.isfinite(psd)) or np.any(psd < 0):
        raise ParameterError("noise_psd must be finite and >= 0 everywhere")
    if psd.ndim == 2:
        n_channels = lead_shape[0] if lead_shape else 1
        if psd.shape[0] != n_channels and psd.shape[0] != 1:
            raise ParameterError(
                f"noise_psd has {psd.shape[0]} channels but the signal has {n_channels}, "
                f"given noise_psd.shape={psd.shape}"
            )
    if psd.shape[-1] != n_freqs:
        # edge bins hold half the density: double them before interpolating, halve after
        rows = psd.reshape(-1, psd.shape[-1]) * (2.0 / _edge_factor(psd.shape[-1]))
        old = np.linspace(0.0, 1.0, psd.shape[-1])
        new = np.linspace(0.0, 1.0, n_freqs)
        rows = np.stack([np.interp(new, old, row) for row in rows]) * (_edge_factor(n_freqs) / 2.0)
        psd = rows.reshape(psd.shape[:-1] + (n_freqs,))
    if psd.ndim == 2 and not lead_shape:
        psd = psd[0]
    return np.broadcast_to(psd, lead_shape + (n_freqs,)).copy()
