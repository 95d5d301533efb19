"""Zero-phase Butterworth filters: drift removal and band limiting.

The recovered motion signal carries strong low-frequency drift (camera and body
motion, lighting changes). :func:`highpass` removes it without shifting the sound in
time: a Butterworth filter in second-order sections run forwards and backwards
(:func:`scipy.signal.sosfiltfilt`), so its magnitude response is squared and its
phase is zero. Signals shorter than the filter's usual edge padding are padded as far
as they allow instead of failing.

The stages :class:`HighPass` and :class:`BandLimit` pass the filter's power response
``|H(f)|^2`` (squared again by the forward-backward pass) on to the audio's noise
spectrum (:meth:`vismic.data.Audio.filtered`), so the denoiser sees the noise that is
left.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import signal

from ..data import Audio
from ..errors import ParameterError, VismicWarning
from ..pipeline import Stage
from ._common import check_audio, check_order, check_positive, check_signal, fill_doc

__all__ = ["highpass", "bandlimit", "HighPass", "BandLimit", "zero_phase_response"]


def zero_phase_response(sos: np.ndarray, *, sr: float):
    """Amplitude response of ``sos`` run forwards and backwards, as a function of frequency (Hz).

    What :meth:`vismic.data.Audio.filtered` takes as ``response``.
    """

    def response(freqs_hz):
        _, h = signal.sosfreqz(sos, worN=np.asarray(freqs_hz, dtype=np.float64), fs=sr)
        return np.abs(h) ** 2

    return response


def _edge_level(edge: np.ndarray) -> np.ndarray:
    """Value at ``edge[..., 0]`` of a least-squares quadratic through ``edge`` (the local trend)."""
    length = edge.shape[-1]
    degree = min(2, length - 1)
    design = np.vander(np.arange(length) / length, degree + 1, increasing=True)
    coef = np.linalg.lstsq(design, edge.reshape(-1, length).T, rcond=None)[0]
    return coef[0].reshape(edge.shape[:-1] + (1,))


def _filtfilt(sos: np.ndarray, x: np.ndarray, *, sr: float, edge_hz: float) -> np.ndarray:
    """Zero-phase filtering along the last axis, with ends extended so transients stay small.

    scipy pads by reflecting the signal through its end samples; with sound riding on
    drift the end sample is off the local trend by up to the sound's amplitude, and the
    filter rings by that much. Here the signal is reflected through the local trend
    instead (a quadratic fitted over two periods of the band edge), and the padding is
    three such periods long, so the end transients scale with the sound, not the drift.
    """
    n = x.shape[-1]
    if n < 2:
        return x.copy()
    padlen, _ = trend_padding_lengths(n, sos, sr=sr, edge_hz=edge_hz)
    left, right = trend_padding(x, x, n, sos, sr=sr, edge_hz=edge_hz)
    extended = np.concatenate([left, x, right], axis=-1)
    return signal.sosfiltfilt(sos, extended, axis=-1, padlen=0)[..., padlen: padlen + n]


def trend_padding_lengths(n: int, sos: np.ndarray, *, sr: float, edge_hz: float) -> tuple:
    """``(padlen, fit)``: samples padded at each end, and samples the local trend is fitted over."""
    padlen = min(n - 1, max(3 * (2 * len(sos) + 1), int(np.ceil(3.0 * sr / edge_hz))))
    fit = min(n, max(3, int(np.ceil(2.0 * sr / edge_hz))))
    return padlen, fit


def trend_padding(first: np.ndarray, last: np.ndarray, n: int, sos, *, sr: float, edge_hz: float) -> tuple:
    """The ends :func:`highpass` pads a length-``n`` signal with: reflections through the local trend.

    ``first`` / ``last`` hold at least the first / last ``max(fit, padlen + 2)``
    samples of the signal along the last axis (the whole signal will do), so a
    streamed filter can pad without holding the signal.
    """
    padlen, fit = trend_padding_lengths(n, sos, sr=sr, edge_hz=edge_hz)
    left = 2 * _edge_level(first[..., :fit]) - first[..., padlen:0:-1]
    right = 2 * _edge_level(last[..., : -fit - 1: -1]) - last[..., -2: -padlen - 2: -1]
    return left, right


def settled_span(n: int, *, sr: float, cutoff_hz: float) -> slice:
    """The samples of an ``n``-sample signal filtered at ``cutoff_hz`` past the filter's own end transients.

    Two periods of the cut-off are left out at each end when the signal is longer than
    four of them (on a 4 px shake, the high-passed track's ends read as 13-24 dB of
    noise that was not there, ``bench_nuisance``); else its middle half, where they
    have decayed most (over the whole of a 400-frame clip under a 4 px shake they
    read as 28 dB of noise, ``tests/stabilise/test_confidence.py``); the whole of
    a signal too short to halve.

    >>> settled_span(2200, sr=2200.0, cutoff_hz=20.0)
    slice(220, 1980, None)
    >>> settled_span(300, sr=2200.0, cutoff_hz=20.0)
    slice(75, 225, None)
    """
    edge = int(round(2.0 * sr / cutoff_hz))
    if n > 4 * edge:
        return slice(edge, n - edge)
    return slice(n // 4, n - n // 4) if n >= 8 else slice(0, n)


@fill_doc
def highpass(x, *, sr: float, cutoff_hz: float = 20.0, order: int = 4) -> np.ndarray:
    """Remove drift below ``cutoff_hz`` with a zero-phase Butterworth high-pass.

    Parameters
    ----------
    %(signal)s
    cutoff_hz : float
        -3 dB frequency of one pass (-6 dB after the forward-backward pass). Must be
        below the Nyquist frequency ``sr / 2``.
    order : int
        Butterworth order of one pass (the effective order is twice this).

    %(returns)s

    Raises
    ------
    ParameterError
        Empty or non-finite ``x``, ``cutoff_hz <= 0`` or ``>= sr / 2``, bad ``order``.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 2200
    >>> t = np.arange(2 * sr) / sr
    >>> x = 5 * np.sin(2 * np.pi * 2 * t) + np.sin(2 * np.pi * 300 * t)
    >>> y = highpass(x, sr=sr, cutoff_hz=20)
    >>> bool(np.abs(y - np.sin(2 * np.pi * 300 * t)).max() < 0.05)
    True
    """
    arr = check_signal(x)
    sos, sr, cutoff_hz = _highpass_design(sr, cutoff_hz, order)
    return _filtfilt(sos, arr, sr=sr, edge_hz=cutoff_hz)


def _highpass_design(sr, cutoff_hz, order):
    sr = check_positive(sr, "sr")
    cutoff_hz = check_positive(cutoff_hz, "cutoff_hz")
    order = check_order(order)
    if cutoff_hz >= sr / 2:
        raise ParameterError(
            f"cutoff_hz must be below the Nyquist frequency sr/2={sr / 2:g} Hz, given cutoff_hz={cutoff_hz:g}"
        )
    return signal.butter(order, cutoff_hz, btype="highpass", fs=sr, output="sos"), sr, cutoff_hz


@fill_doc
def bandlimit(x, *, sr: float, low_hz: float | None = None, high_hz: float | None = None,
              order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth band-pass, high-pass or low-pass, as the edges given.

    Parameters
    ----------
    %(signal)s
    low_hz : float or None
        Lower edge (high-pass part); ``None`` keeps everything down to 0 Hz. Must be
        below ``sr / 2``.
    high_hz : float or None
        Upper edge (low-pass part); ``None`` keeps everything up to ``sr / 2``. An edge at
        or above ``sr / 2`` has nothing to remove: it is ignored with a
        :class:`~vismic.errors.VismicWarning` (so one setting works at any capture rate).
    order : int
        Butterworth order of one pass (per edge).

    %(returns)s
        A filtered copy; a plain copy when neither edge applies.

    Raises
    ------
    ParameterError
        Empty or non-finite ``x``, an edge <= 0, ``low_hz >= sr / 2``,
        ``low_hz >= high_hz``, bad ``order``.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 8000
    >>> t = np.arange(sr) / sr
    >>> x = np.sin(2 * np.pi * 50 * t) + np.sin(2 * np.pi * 500 * t) + np.sin(2 * np.pi * 3000 * t)
    >>> y = bandlimit(x, sr=sr, low_hz=200, high_hz=1000)
    >>> bool(np.abs(y[1000:-1000] - np.sin(2 * np.pi * 500 * t[1000:-1000])).max() < 0.05)
    True
    """
    arr = check_signal(x)
    design = _bandlimit_design(sr, low_hz, high_hz, order)
    if design is None:
        return arr.copy()
    sos, sr, edge = design
    return _filtfilt(sos, arr, sr=sr, edge_hz=edge)


def _bandlimit_design(sr, low_hz, high_hz, order):
    """``(sos, sr, edge_hz)`` of :func:`bandlimit`, or None when neither edge applies."""
    sr = check_positive(sr, "sr")
    order = check_order(order)
    nyquist = sr / 2
    if low_hz is not None:
        low_hz = check_positive(low_hz, "low_hz")
        if low_hz >= nyquist:
            raise ParameterError(
                f"low_hz (the bottom of --band) must be below the Nyquist frequency sr/2={nyquist:g} Hz, "
                f"given low_hz={low_hz:g}"
            )
    if high_hz is not None:
        high_hz = check_positive(high_hz, "high_hz")
        if high_hz >= nyquist:
            warnings.warn(
                f"high_hz={high_hz:g} (the top of --band) is at or above the Nyquist frequency sr/2={nyquist:g} "
                "Hz: no low-pass applied",
                VismicWarning,
                stacklevel=3,
            )
            high_hz = None
    if low_hz is not None and high_hz is not None and low_hz >= high_hz:
        raise ParameterError(f"low_hz must be below high_hz, given low_hz={low_hz:g}, high_hz={high_hz:g}")
    if low_hz is None and high_hz is None:
        return None
    if low_hz is not None and high_hz is not None:
        # Two cascaded filters rather than one band-pass: each edge keeps its own
        # order and narrow bands stay numerically well-behaved.
        sos = np.concatenate([
            signal.butter(order, low_hz, btype="highpass", fs=sr, output="sos"),
            signal.butter(order, high_hz, btype="lowpass", fs=sr, output="sos"),
        ])
        edge = low_hz
    elif low_hz is not None:
        sos = signal.butter(order, low_hz, btype="highpass", fs=sr, output="sos")
        edge = low_hz
    else:
        sos = signal.butter(order, high_hz, btype="lowpass", fs=sr, output="sos")
        edge = high_hz
    return sos, sr, edge


class HighPass(Stage):
    """Stage: :class:`~vismic.data.Audio` -> drift-free :class:`~vismic.data.Audio` (see :func:`highpass`).

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.data import Audio
    >>> out = HighPass(cutoff_hz=30.0).transform(Audio(np.random.randn(2200), sr=2200))
    >>> out.sr, out.samples.shape
    (2200.0, (2200,))
    """

    streaming = False

    def __init__(self, cutoff_hz: float = 20.0, order: int = 4):
        self.cutoff_hz = cutoff_hz
        self.order = order

    def transform(self, audio: Audio) -> Audio:
        audio = check_audio(audio, "HighPass")
        sos, sr, cutoff_hz = _highpass_design(audio.sr, self.cutoff_hz, self.order)
        samples = _filtfilt(sos, check_signal(audio.samples), sr=sr, edge_hz=cutoff_hz)
        return audio.filtered(samples, response=zero_phase_response(sos, sr=sr))


class BandLimit(Stage):
    """Stage: :class:`~vismic.data.Audio` -> band-limited :class:`~vismic.data.Audio` (see :func:`bandlimit`).

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.data import Audio
    >>> out = BandLimit(low_hz=80, high_hz=900).transform(Audio(np.random.randn(2, 2200), sr=2200))
    >>> out.samples.shape
    (2, 2200)
    """

    streaming = False

    def __init__(self, low_hz: float | None = None, high_hz: float | None = None, order: int = 4):
        self.low_hz = low_hz
        self.high_hz = high_hz
        self.order = order

    def transform(self, audio: Audio) -> Audio:
        audio = check_audio(audio, "BandLimit")
        samples = check_signal(audio.samples)
        design = _bandlimit_design(audio.sr, self.low_hz, self.high_hz, self.order)
        if design is None:
            return audio.filtered(samples.copy(), response=1.0)
        sos, sr, edge = design
        out = audio.filtered(_filtfilt(sos, samples, sr=sr, edge_hz=edge), response=zero_phase_response(sos, sr=sr))
        return estimate_in_band(audio, out)


#: The lowest SNR, in dB, :func:`estimate_in_band` reports: an output of noise alone.
SNR_FLOOR_DB = -60.0


def estimate_in_band(before: Audio, after: Audio) -> Audio:
    """``after`` (``before`` through a linear filter) with ``info["snr_estimate_db"]`` for what the filter kept.

    The estimate says how much of ``before``'s power is noise; the noise spectrum (its shape)
    says how much of that noise the filter keeps, and the rest of ``after``'s power is sound. A
    band that leaves the sound out leaves noise alone, and says so: ``--band 500,1000`` on a
    440 Hz tone kept its 38 dB (one-off). Without an estimate or a noise spectrum, ``after`` is returned as it is.

    Examples
    --------
    >>> from vismic.data import NoiseSpectrum
    >>> from vismic.metrics import si_snr
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(8800) / 2200.0
    >>> tone = 0.1 * np.sin(2 * np.pi * 440.0 * t)
    >>> noisy = Audio(tone + 0.01 * rng.standard_normal(t.size), 2200.0, {"snr_estimate_db": 17.0},
    ...               NoiseSpectrum.white(1e-4, sr=2200.0))
    >>> kept = BandLimit(low_hz=300, high_hz=600).transform(noisy)  # noise cut, the tone kept
    >>> round(kept.info["snr_estimate_db"], 1), round(si_snr(kept.samples, tone), 1)
    (23.6, 23.6)
    >>> cut = BandLimit(low_hz=500, high_hz=1000).transform(noisy)  # the tone mostly cut
    >>> round(cut.info["snr_estimate_db"], 1), round(si_snr(cut.samples, tone), 1)
    (6.8, 6.8)
    """
    estimate = before.info.get("snr_estimate_db")
    if estimate is None or before.noise is None or after.noise is None:
        return after
    snr = np.asarray(estimate, dtype=np.float64)
    power_before = np.mean(np.atleast_2d(before.samples) ** 2, axis=-1)
    power_after = np.mean(np.atleast_2d(after.samples) ** 2, axis=-1)
    total = np.atleast_2d(before.noise.density).sum(axis=-1)
    kept = np.atleast_2d(after.noise.density).sum(axis=-1) / np.maximum(total, 1e-300)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        noise = kept * power_before / (1.0 + 10.0 ** (np.atleast_1d(snr) / 10.0))
        new = 10.0 * np.log10(np.maximum(power_after - noise, 1e-6 * noise) / noise)
    new = np.where(np.isfinite(np.atleast_1d(snr)) & (noise > 0), np.maximum(new, SNR_FLOOR_DB), np.atleast_1d(snr))
    info = dict(after.info)
    info["snr_estimate_db"] = float(new[0]) if snr.ndim == 0 else [float(v) for v in new]
    return Audio(after.samples, after.sr, info, after.noise)
