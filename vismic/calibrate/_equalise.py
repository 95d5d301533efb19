"""Undo an object's frequency response: a regularised inverse filter.

Given a :class:`~vismic.calibrate.Response` measured once for a set-up, later
recoveries from the same set-up are divided by it:

* the gain is the inverse of ``|H| / reference``, where the reference is the typical
  (coherence-weighted median) gain, so the level of the recording stays about where
  it was, resonances are cut and dips lifted;
* the inverse is regularised, ``G = 1 / (rel^4 + limit^-4)^(1/4)``, so no frequency
  is boosted by more than ``limit = 10^(max_gain_db / 20)``; where the calibration's
  coherence is below ``min_coherence`` the correction shrinks in proportion (in dB),
  to none at coherence 0: frequencies the calibration could not see are left alone;
* only the magnitude of the measured response is trusted: its phase carries the
  calibration's delay, which differs in every recording. By default
  (``phase='minimum'``) the filter also undoes the *minimum phase* of the measured
  magnitude (:func:`object_minimum_phase`, cepstral method): resonances, roll-offs, a
  mass-spring-damper driven and watched at one place are minimum-phase systems, whose
  phase follows from their magnitude, and leaving their phase shifts in place costs
  more than the magnitude error. ``phase='zero'`` corrects the magnitude only.
  Either way the taps are centred and applied by FFT convolution: nothing is
  delayed, no forward-backward pass is needed.

Measured by ``benchmarks/bench_calibrate.py`` (recovered from rendered scenes, three
simulated objects, music and speech): minimum-phase equalisation gains 8.0-26.5 dB
SI-SNR and leaves a flat set-up unchanged; magnitude-only equalisation ranges from
-14.1 to +16.2 dB, as it leaves the resonances' phase shifts in place.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Optional

import numpy as np
from scipy import signal

from ..data import Audio
from ..denoise._common import check_audio
from ..errors import ParameterError
from ..pipeline import Stage
from ._response import Response, load_response, smooth_octaves

#: Extra smoothing of the measured log-magnitude before its minimum phase is taken, in
#: octaves (the spectra are already smoothed by ``estimate_response``). Measured on
#: 1-D simulations (4 objects x music, speech x recovery noise at -30 and -20 dB):
#: none is best; 1/6 octave costs the resonant objects 0.1-1.2 dB SI-SNR, 1/3 octave
#: up to 2.3 dB; the flat object is unchanged either way.
PHASE_SMOOTHING_OCTAVES = 0.0


__all__ = ["inverse_gain", "inverse_filter", "object_minimum_phase", "equalise", "Equalise", "add_equaliser", "PHASES"]


def _as_response(response) -> Response:
    if isinstance(response, Response):
        return response
    if isinstance(response, (str, os.PathLike)):
        return load_response(response)
    raise ParameterError(
        f"response must be a vismic.calibrate.Response or the path of a saved one, given {type(response).__name__}"
    )


def _check_number(value, name: str, *, low: float, high: float = math.inf) -> float:
    try:
        number = float(value) if not isinstance(value, (str, bytes, bool)) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (low <= number <= high):
        bounds = f"between {low:g} and {high:g}" if math.isfinite(high) else f"at least {low:g}"
        raise ParameterError(f"{name} must be a number {bounds}, given {name}={value!r}")
    return number


#: Phases the equaliser can have (see :func:`inverse_filter`).
PHASES = ("minimum", "zero")


def _check_phase(phase) -> str:
    if phase not in PHASES:
        raise ParameterError(f"phase must be one of {PHASES}, given phase={phase!r}")
    return phase


def inverse_gain(
    response,
    *,
    freqs_hz=None,
    max_gain_db: float = 20.0,
    min_coherence: float = 0.5,
) -> np.ndarray:
    """The equaliser's gain: a regularised inverse of ``|response|``.

    ``G = (rel^4 + limit^-4)^(-trust/4)`` with ``rel = |H| / response.reference_gain()``,
    ``limit = 10^(max_gain_db / 20)`` and ``trust = min(1, coherence / min_coherence)``:
    the plain inverse where ``|H|`` is near or above its typical level, levelling off
    at ``limit`` where it is far below; where the calibration's coherence is low the
    correction (in dB) shrinks in proportion, to none where it saw nothing. Below the
    response's first frequency above 0 Hz the gain stays at that frequency's value.

    Parameters
    ----------
    response : Response or str or Path
    freqs_hz : np.ndarray [shape=(n,)], optional
        Frequencies to evaluate at (default the response's own).
    max_gain_db : float
        Largest boost, in dB (>= 0), reached where ``|H|`` is far below its typical level.
    min_coherence : float
        Coherence (0-1) from which the full correction applies; below it the correction
        shrinks in proportion (in dB), to none at coherence 0.

    Returns
    -------
    np.ndarray [shape=(n,)]
        Real and positive (:func:`inverse_filter` adds the phase).

    Examples
    --------
    >>> import numpy as np
    >>> f = np.linspace(0, 1000, 6)
    >>> r = Response(f, [1.0, 1.0, 10.0, 1.0, 1.0, 0.01], [0, 1, 1, 1, 1, 1], sr=2000.0)
    >>> np.round(20 * np.log10(inverse_gain(r, max_gain_db=20)), 1).tolist()
    [-0.0, -0.0, -20.0, -0.0, -0.0, 20.0]
    """
    response = _as_response(response)
    max_gain_db = _check_number(max_gain_db, "max_gain_db", low=0.0, high=200.0)
    min_coherence = _check_number(min_coherence, "min_coherence", low=0.0, high=1.0)
    freqs = response.freqs_hz if freqs_hz is None else np.asarray(freqs_hz, dtype=np.float64)
    positive = response.freqs_hz[response.freqs_hz > 0]
    freqs = np.maximum(freqs, positive[0]) if positive.size else freqs
    gain, coherence = response.interpolate(freqs)
    relative = np.maximum(np.abs(gain), 1e-300) / response.reference_gain(min_coherence)
    trust = np.clip(coherence / min_coherence, 0.0, 1.0) if min_coherence > 0 else np.ones_like(coherence)
    limit = 10.0 ** (max_gain_db / 20.0)
    full = (relative**4 + limit**-4.0) ** -0.25
    return full**trust


def _minimum_phase(magnitude: np.ndarray, n_fft: int) -> np.ndarray:
    """Minimum-phase spectrum with the given magnitude on ``rfftfreq(n_fft)`` (homomorphic method)."""
    cepstrum = np.fft.irfft(np.log(np.maximum(magnitude, 1e-12)), n_fft)
    folded = np.zeros(n_fft)
    folded[0] = cepstrum[0]
    folded[1 : n_fft // 2] = 2.0 * cepstrum[1 : n_fft // 2]
    folded[n_fft // 2] = cepstrum[n_fft // 2]
    return np.exp(np.fft.rfft(folded))


def inverse_filter(
    response,
    *,
    max_gain_db: float = 20.0,
    min_coherence: float = 0.5,
    phase: str = "minimum",
    n_taps: Optional[int] = None,
) -> np.ndarray:
    """FIR taps of the equaliser.

    Parameters
    ----------
    response, max_gain_db, min_coherence
        See :func:`inverse_gain`.
    phase : {'minimum', 'zero'}
        ``'minimum'``: the magnitude :func:`inverse_gain` with the phase that undoes
        the object's minimum phase (:func:`object_minimum_phase`), sampled in
        frequency on ``n_taps - 1`` points and Hann-windowed. The object's phase
        comes from its magnitude alone (the measured phase holds the calibration's
        delay, which changes from one recording to the next). ``'zero'``:
        symmetric taps from :func:`scipy.signal.firwin2` (Hann window), magnitude
        only. Both are centred on tap ``n_taps // 2`` (time 0).
    n_taps : int, optional
        Odd filter length; default ``2 * n_fft + 1`` of the response (twice its
        resolution), at least 65.

    Returns
    -------
    np.ndarray [shape=(n_taps,)], float64
        The taps, centred on tap ``n_taps // 2`` (time 0): apply them with a
        centred convolution (``scipy.signal.fftconvolve(x, taps, mode="same")``).

    Examples
    --------
    >>> import numpy as np
    >>> r = Response(np.linspace(0, 1000, 65), np.ones(65), np.ones(65), sr=2000.0, n_fft=128)
    >>> h = inverse_filter(r, phase="zero")
    >>> h.shape, round(float(h.sum()), 3), bool(np.allclose(h, h[::-1]))
    ((257,), 1.0, True)
    >>> m = inverse_filter(r, phase="minimum")  # a flat response: a centred impulse
    >>> round(float(m[128]), 3), round(float(np.abs(np.delete(m, 128)).max()), 3)
    (1.0, 0.0)
    """
    response = _as_response(response)
    phase = _check_phase(phase)
    if n_taps is None:
        n_taps = max(65, 2 * max(response.n_fft, 2 * (len(response) - 1)) + 1)
    elif isinstance(n_taps, bool) or not isinstance(n_taps, numbers.Integral) or n_taps < 3 or n_taps % 2 == 0:
        raise ParameterError(f"n_taps must be an odd integer >= 3, given n_taps={n_taps!r}")
    n_taps = int(n_taps)
    nyquist = response.sr / 2
    options = dict(max_gain_db=max_gain_db, min_coherence=min_coherence)
    if phase == "zero":
        freqs = np.linspace(0.0, nyquist, max(len(response), n_taps // 2 + 1))
        gain = inverse_gain(response, freqs_hz=freqs, **options)
        return signal.firwin2(n_taps, freqs, gain, fs=response.sr, window="hann")
    # 'minimum': the magnitude G, the phase that undoes the object's minimum phase.
    n_design = n_taps - 1
    grid = np.fft.rfftfreq(n_design, d=1.0 / response.sr)
    gain = inverse_gain(response, freqs_hz=grid, **options)
    spectrum = gain * np.exp(-1j * object_minimum_phase(response, n_design, min_coherence=min_coherence))
    spectrum[-1] = spectrum[-1].real  # the Nyquist bin of a real filter is real
    taps = np.roll(np.fft.irfft(spectrum, n_design), n_design // 2)
    return np.append(taps, taps[0]) * np.hanning(n_taps + 2)[1:-1]


def object_minimum_phase(response, n_fft: int, *, min_coherence: float = 0.5, oversample: int = 8) -> np.ndarray:
    """Phase (rad) of the minimum-phase system with the object's measured magnitude, on ``rfftfreq(n_fft)``.

    ``log |H|`` is taken at the reliable frequencies (coherence at least
    ``min_coherence``, the two bins next to 0 Hz excluded: the analysis window's
    main lobe mixes them with the mean), smoothed over
    :data:`PHASE_SMOOTHING_OCTAVES`, interpolated across gaps and held constant
    beyond the first and last of them -- what is not measured is assumed flat, so it
    adds no phase. The minimum phase follows by the cepstral method on an
    ``oversample`` times finer grid (little cepstral aliasing).

    Returns
    -------
    np.ndarray [shape=(n_fft // 2 + 1,)]
        Zeros when no frequency is reliable.
    """
    response = _as_response(response)
    mask = response.reliable(min_coherence)
    mask[:2] = False
    fine = oversample * n_fft
    if not mask.any():
        return np.zeros(n_fft // 2 + 1)
    grid = np.fft.rfftfreq(fine, d=1.0 / response.sr)
    log_measured = np.where(mask, np.log(np.maximum(np.abs(response.gain), 1e-300)), 0.0)
    weight = smooth_octaves(mask.astype(float), response.freqs_hz, PHASE_SMOOTHING_OCTAVES)
    log_measured = smooth_octaves(log_measured, response.freqs_hz, PHASE_SMOOTHING_OCTAVES) / np.maximum(weight, 1e-12)
    log_magnitude = np.interp(grid, response.freqs_hz[mask], log_measured[mask])
    return np.angle(_minimum_phase(np.exp(log_magnitude - log_magnitude.max()), fine))[::oversample]


def equalise(
    audio_samples,
    response,
    *,
    sr: Optional[float] = None,
    max_gain_db: float = 20.0,
    min_coherence: float = 0.5,
    phase: str = "minimum",
    n_taps: Optional[int] = None,
) -> np.ndarray:
    """Undo the filmed object's frequency response in a recovered sound.

    Parameters
    ----------
    audio_samples : np.ndarray [shape=(n,) or (n_channels, n)] or Audio
        Recovered sound at the capture rate (channels are equalised alike).
    response : Response or str or Path
        The set-up's response (:func:`~vismic.calibrate.estimate_response`, or a file
        written by ``vismic calibrate`` / :meth:`Response.save`).
    sr : float, optional
        Sample rate of ``audio_samples`` in Hz; default the ``Audio``'s rate, else the
        response's. It must equal the response's rate.
    max_gain_db : float
        Largest boost in dB (see :func:`inverse_gain`).
    min_coherence : float
        Calibration coherence below which boosts are limited.
    phase : {'minimum', 'zero'}
        ``'minimum'`` (default): also undo the object's minimum phase (the phase
        shifts of resonances and roll-offs, known from the magnitude).
        ``'zero'``: correct the magnitude only. See :func:`inverse_filter` and, for
        the measured difference, ``benchmarks/bench_calibrate.py``.
    n_taps : int, optional
        FIR length (see :func:`inverse_filter`).

    Returns
    -------
    np.ndarray [shape=audio_samples.shape], float64

    Raises
    ------
    ParameterError
        ``sr`` differs from ``response.sr``; samples not finite, empty or of the wrong
        shape; bad limits.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import signal
    >>> from vismic import synth, metrics
    >>> from vismic.calibrate import estimate_response
    >>> sr = 2200.0
    >>> b, a = signal.iirpeak(300, 3, fs=sr)
    >>> obj = lambda s: signal.lfilter(b, a, s) + 0.05 * signal.lfilter(*signal.butter(2, 800, fs=sr), s)
    >>> sweep = synth.chirp(f0_hz=40, f1_hz=1050, duration_seconds=4, sr=sr, method="logarithmic")
    >>> response = estimate_response(obj(sweep), sweep, sr=sr)
    >>> song = synth.music(duration_seconds=2, sr=sr)
    >>> before = metrics.si_snr(obj(song), song)
    >>> after = metrics.si_snr(equalise(obj(song), response, sr=sr), song)
    >>> bool(after > before + 5)
    True
    """
    samples, taps = _samples_and_taps(audio_samples, response, sr, max_gain_db=max_gain_db,
                                      min_coherence=min_coherence, phase=phase, n_taps=n_taps)
    return _convolve_centred(samples, taps)


def _samples_and_taps(audio_samples, response, sr, **filter_options):
    """The checked samples and the equaliser's taps (:func:`inverse_filter` with ``filter_options``)."""
    response = _as_response(response)
    samples = _check_samples(audio_samples, response, sr)
    return samples, inverse_filter(response, **filter_options)


def _convolve_centred(samples: np.ndarray, taps: np.ndarray) -> np.ndarray:
    taps = taps.reshape((1,) * (samples.ndim - 1) + taps.shape)
    return signal.fftconvolve(samples, taps, mode="same", axes=-1)  # centred on tap n_taps // 2


def _check_samples(audio_samples, response: Response, sr) -> np.ndarray:
    """The samples as float64 (n,) or (n_channels, n), at the response's rate."""
    if isinstance(audio_samples, Audio):
        if sr is None:
            sr = audio_samples.sr
        audio_samples = audio_samples.samples
    if np.iscomplexobj(audio_samples):
        raise ParameterError("audio_samples must be real")
    try:
        samples = np.asarray(audio_samples, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(
            f"audio_samples must be an array of numbers, given {type(audio_samples).__name__}"
        ) from None
    if samples.ndim not in (1, 2) or samples.shape[-1] == 0:
        raise ParameterError(
            f"audio_samples must have shape (n,) or (n_channels, n) with n > 0, given shape={samples.shape}"
        )
    if not np.all(np.isfinite(samples)):
        raise ParameterError("audio_samples contain NaN or infinite values")
    if sr is not None:
        try:
            rate = float(sr) if not isinstance(sr, (str, bytes, bool)) else math.nan
        except (TypeError, ValueError):
            rate = math.nan
        if not math.isfinite(rate) or rate <= 0:
            raise ParameterError(f"sr must be a positive sample rate in Hz, given sr={sr!r}")
        if not math.isclose(rate, response.sr, rel_tol=1e-9):
            raise ParameterError(
                f"the audio's sample rate sr={rate:g} Hz differs from the response's sr={response.sr:g} Hz: "
                "calibrate at the capture rate of the recordings to equalise (or resample them first)"
            )
    return samples


class Equalise(Stage):
    """Stage: recovered :class:`~vismic.data.Audio` -> equalised :class:`~vismic.data.Audio` (see :func:`equalise`).

    Whole-signal (``streaming = False``); keeps the sample rate, which must be the
    response's. It passes its filter on to the audio's noise spectrum
    (:meth:`vismic.data.Audio.filtered`), so a :class:`vismic.denoise.Denoise`
    after it removes the noise as the equaliser shaped it: equalise before
    denoising (:func:`add_equaliser` does).

    Parameters
    ----------
    response : Response or str or Path
        The response, or the path of an ``.npz`` file written by ``vismic calibrate``
        (read at each :meth:`transform`).
    max_gain_db : float
        Largest boost in dB.
    min_coherence : float
        Calibration coherence below which boosts are limited.
    phase : {'minimum', 'zero'}
        Which phase the inverse filter has (see :func:`equalise`).

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.data import Audio
    >>> from vismic.calibrate import Response
    >>> flat = Response(np.linspace(0, 1100, 129), np.ones(129), np.ones(129), sr=2200.0, n_fft=256)
    >>> x = np.random.default_rng(0).standard_normal(2200)
    >>> out = Equalise(flat).transform(Audio(x, 2200.0))
    >>> out.sr, bool(np.allclose(out.samples[600:-600], x[600:-600], atol=1e-2))
    (2200.0, True)
    """

    streaming = False

    def __init__(self, response, max_gain_db: float = 20.0, min_coherence: float = 0.5, phase: str = "minimum"):
        self.response = response
        self.max_gain_db = max_gain_db
        self.min_coherence = min_coherence
        self.phase = phase

    def transform(self, audio: Audio) -> Audio:
        samples, taps = _samples_and_taps(check_audio(audio, "Equalise"), self.response, None,
                                          max_gain_db=self.max_gain_db, min_coherence=self.min_coherence,
                                          phase=self.phase)

        def gain(freqs_hz):  # what the centred FIR does to the noise (its delay does not matter)
            return signal.freqz(taps, worN=np.asarray(freqs_hz, dtype=np.float64), fs=audio.sr)[1]

        return audio.filtered(_convolve_centred(samples, taps), response=gain, equalised=True)


def add_equaliser(pipeline, response, *, name: str = "equalise", **options):
    """A copy of ``pipeline`` with an :class:`Equalise` step where it belongs.

    The step goes before the ``denoise`` step when there is one, else at the end:
    the equaliser reshapes the noise (boosted where the object was weak, cut at its
    resonances) and passes that shape on in ``audio.noise``, so the denoiser
    removes the noise that is really there; denoising first would leave the
    equaliser to boost what the denoiser could not see. The stages already in
    ``pipeline`` are copied (see :meth:`vismic.Pipeline.insert`).

    Parameters
    ----------
    pipeline : vismic.Pipeline
        E.g. :func:`vismic.default_pipeline`.
    response : Response or str or Path
    name : str
        Name of the new step.
    **options
        Further :class:`Equalise` parameters (``max_gain_db``, ``min_coherence``, ``phase``).

    Returns
    -------
    vismic.Pipeline

    Examples
    --------
    >>> import numpy as np
    >>> import vismic
    >>> flat = Response(np.linspace(0, 1100, 129), np.ones(129), np.ones(129), sr=2200.0)
    >>> [n for n, _ in add_equaliser(vismic.default_pipeline(), flat).steps][-3:]
    ['combine', 'equalise', 'denoise']
    """
    from ..pipeline import Pipeline

    if not isinstance(pipeline, Pipeline):
        raise ParameterError(f"add_equaliser takes a vismic.Pipeline (e.g. vismic.default_pipeline()), given "
                             f"{type(pipeline).__name__}")
    stage = Equalise(response, **options)
    names = [n for n, _ in pipeline.steps]
    if "denoise" in names:
        return pipeline.insert("denoise", name, stage)
    return pipeline.append(name, stage)
