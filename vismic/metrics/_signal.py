"""Quality of a recovered sound against the reference: SI-SNR, segmental SNR, STOI.

The visual microphone recovers sound up to an unknown gain and sign (the
motion's sign depends on the direction convention), so every measure first
fits the estimate to the reference: SI-SNR by projection, the others with one
global least-squares scale, which may be negative.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._checks import check_positive, check_rate
from .._checks import check_signal as _signal
from ..errors import ParameterError

__all__ = ["si_snr", "segmental_snr", "stoi"]


def _pair(estimate, reference):
    estimate = _signal(estimate, "estimate")
    reference = _signal(reference, "reference")
    if estimate.shape != reference.shape:
        raise ParameterError(
            f"estimate and reference must have the same length, given estimate.shape={estimate.shape} "
            f"and reference.shape={reference.shape}"
        )
    return estimate, reference


def _fit(estimate: np.ndarray, reference: np.ndarray):
    """Zero-mean both and scale the estimate onto the reference (least squares, any sign)."""
    estimate = estimate - estimate.mean()
    reference = reference - reference.mean()
    reference_energy = float(np.dot(reference, reference))
    if reference_energy <= 1e-20 * reference.size:
        raise ParameterError("reference is silent (zero after removing its mean): no SNR can be measured")
    estimate_energy = float(np.dot(estimate, estimate))
    gain = float(np.dot(estimate, reference)) / estimate_energy if estimate_energy > 0 else 0.0
    return gain * estimate, reference


def si_snr(estimate, reference) -> float:
    """Scale-invariant signal-to-noise ratio in dB.

    Both signals are made zero-mean; the reference is scaled by the projection
    ``a = <e, r> / <r, r>`` (negative when the estimate is inverted, so the
    measure ignores sign) and ``SI-SNR = 10 log10(|a r|^2 / |e - a r|^2)``.

    Parameters
    ----------
    estimate, reference : np.ndarray [shape=(n,)]

    Returns
    -------
    float
        dB; ``-inf`` for a silent estimate or one orthogonal to the reference. A
        perfect (scaled, shifted) estimate reads far above any measured one (about 300 dB:
        floating-point rounding; ``inf`` only where it leaves no residual at all).

    Raises
    ------
    vismic.errors.ParameterError
        On a length mismatch or a silent reference.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.standard_normal(10000)
    >>> round(si_snr(-3.0 * reference + 0.1 * rng.standard_normal(10000), reference))
    30
    """
    estimate, reference = _pair(estimate, reference)
    estimate = estimate - estimate.mean()
    reference = reference - reference.mean()
    reference_energy = float(np.dot(reference, reference))
    if reference_energy <= 1e-20 * reference.size:
        raise ParameterError("reference is silent (zero after removing its mean): no SNR can be measured")
    target = (float(np.dot(estimate, reference)) / reference_energy) * reference
    noise = estimate - target
    target_energy = float(np.dot(target, target))
    noise_energy = float(np.dot(noise, noise))
    if target_energy == 0:  # silent or orthogonal estimate
        return -math.inf
    if noise_energy == 0:
        return math.inf
    return 10.0 * math.log10(target_energy / noise_energy)


def segmental_snr(
    estimate, reference, *, sr: float, frame_seconds: float = 0.02, clamp_db=(-10.0, 35.0)
) -> float:
    """Mean over short frames of the SNR in dB, each clamped.

    Both signals are made zero-mean and the estimate is scaled onto the
    reference with one global least-squares gain (any sign). The signals are
    cut into non-overlapping frames of ``round(frame_seconds * sr)`` samples
    (a last partial frame is dropped); frames where the reference is silent
    (energy below 1e-4 of the mean frame energy) are skipped; each frame's
    ``10 log10(|r|^2 / |r - g e|^2)`` is clamped to ``clamp_db``. The fitted
    gain shrinks a noisy estimate, so white noise at SNR ``x`` (linear) gives
    about ``10 log10(1 + x)``.

    Parameters
    ----------
    estimate, reference : np.ndarray [shape=(n,)]
    sr : float
        Sample rate in Hz.
    frame_seconds : float
        Frame length.
    clamp_db : (low, high)
        Range of each frame's SNR.

    Returns
    -------
    float
        dB.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.standard_normal(2200)
    >>> segmental_snr(reference, reference, sr=2200.0)
    35.0
    """
    estimate, reference = _pair(estimate, reference)
    sr = check_rate(sr, "sr")
    try:
        low, high = (float(v) for v in clamp_db)
    except (TypeError, ValueError):
        raise ParameterError(f"clamp_db must be (low, high) in dB, given clamp_db={clamp_db!r}") from None
    if not low < high:
        raise ParameterError(f"clamp_db must be (low, high) with low < high, given clamp_db={clamp_db!r}")
    frame_seconds = check_positive(frame_seconds, "frame_seconds")
    frame = int(round(frame_seconds * sr))
    if frame < 1:
        raise ParameterError(f"frame_seconds={frame_seconds!r} at sr={sr!r} gives frames of no sample")
    n_frames = reference.shape[0] // frame
    if n_frames < 1:
        raise ParameterError(
            f"signals of {reference.shape[0]} samples are shorter than one frame of {frame} "
            f"(frame_seconds={frame_seconds!r}, sr={sr!r})"
        )
    fitted, reference = _fit(estimate, reference)
    reference_frames = reference[: n_frames * frame].reshape(n_frames, frame)
    error_frames = reference_frames - fitted[: n_frames * frame].reshape(n_frames, frame)
    signal_energy = np.sum(reference_frames**2, axis=1)
    error_energy = np.sum(error_frames**2, axis=1)
    active = signal_energy >= 1e-4 * signal_energy.mean()
    with np.errstate(divide="ignore"):
        snr = 10.0 * np.log10(signal_energy[active] / error_energy[active])
    return float(np.mean(np.clip(snr, low, high)))


#: Seconds of sound STOI needs: 30 frames of 25.6 ms, half overlapping (pystoi returns 1e-5 with fewer).
STOI_MIN_SECONDS = 31 * 0.0128


def _too_short(seconds: float) -> str:
    return (f"stoi needs at least 30 frames of 25.6 ms above its silence threshold (about {STOI_MIN_SECONDS:.2f} s "
            f"of sound); the {seconds:.3g} s given leave fewer")


def stoi(estimate, reference, *, sr: float) -> float:
    """Short-time objective intelligibility (Taal et al. 2011) via ``pystoi``.

    The estimate is first fitted to the reference (zero mean, one global
    least-squares gain of any sign), because STOI's clipping step assumes
    both have the same level. ``pystoi`` resamples to 10 kHz itself and drops
    frames 40 dB below the loudest; it needs at least 30 frames of 25.6 ms
    that remain (about 0.4 s of sound).

    Parameters
    ----------
    estimate, reference : np.ndarray [shape=(n,)]
    sr : float
        Sample rate in Hz.

    Returns
    -------
    float
        Between about 0 and 1 (1 for identical signals).

    Raises
    ------
    ImportError
        When ``pystoi`` is not installed.
    ParameterError
        Too little sound for 30 frames (:data:`STOI_MIN_SECONDS`), also once silent frames are left out.

    Examples
    --------
    >>> from vismic.synth import speech
    >>> y = speech(duration_seconds=2.0, sr=8000.0)
    >>> round(stoi(0.5 * y, y, sr=8000.0), 3)
    1.0
    """
    estimate, reference = _pair(estimate, reference)
    sr = check_rate(sr, "sr")
    try:
        import pystoi
    except ImportError:
        raise ImportError("vismic.metrics.stoi needs pystoi: pip install pystoi") from None
    seconds = estimate.size / sr
    if seconds < STOI_MIN_SECONDS:
        raise ParameterError(_too_short(seconds))
    fitted, reference = _fit(estimate, reference)
    if sr != round(sr):  # pystoi's polyphase resampler needs an integer rate
        from ..io.wav import resample

        fitted = resample(fitted, sr=sr, target_sr=10000.0)
        reference = resample(reference, sr=sr, target_sr=10000.0)
        sr = 10000.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = float(pystoi.stoi(reference, fitted, int(round(sr)), extended=False))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        # pystoi returns 1e-5 then, a score that reads as "unintelligible"
        raise ParameterError(_too_short(seconds))
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return score
