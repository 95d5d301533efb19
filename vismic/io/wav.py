"""Write recovered sound as a WAV file, resampled to a rate players accept.

Recovered audio comes at the camera's capture rate (e.g. 2200 Hz), which many
players refuse; :func:`write_wav` resamples it to the nearest standard rate at
or above it by default.
"""

from __future__ import annotations

import os
import warnings
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.signal
import soundfile

from .._checks import as_number, check_choice, check_rate, check_signal
from ..errors import FrameShapeError, OutputError, ParameterError, VismicWarning
from ._atomic import check_destination, temporary_file

__all__ = ["STANDARD_RATES", "WavInfo", "standard_rate", "resample", "write_wav"]

#: Sample rates (Hz) that audio players and tools accept everywhere.
STANDARD_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000)

SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")

#: Peak level after normalisation, as a fraction of full scale.
PEAK_LEVEL = 0.99

#: Output rates a WAV file may have (Hz): below 1 kHz no player plays it, above 768 kHz no
#: converter exists, and ``target_sr=10**12`` would try to allocate hundreds of GiB.
MIN_WAV_RATE, MAX_WAV_RATE = 1000, 768000

#: A peak below this (in the samples' own units) is numerical dust, not sound: normalising
#: it to full scale would turn rounding errors into a confident-looking recording.
SILENCE_FLOOR = 1e-12

#: Most samples :func:`resample` makes (per channel): about 11 minutes at 96 kHz, 46 at
#: 24 kHz, more sound than any video gives; it bounds the memory the resampling takes.
MAX_SAMPLES = 2**26

#: Largest up factor of the polyphase filter, whose FIR has about 20 x max(up, down) taps:
#: a ratio whose fraction (denominator at most :data:`MAX_RATIO_DENOMINATOR`) has a larger
#: numerator is taken with a smaller denominator instead (0.37 Hz to 8000 Hz had asked
#: for gigabytes of filter), and a rate more than this factor below the target is refused.
MAX_POLYPHASE_FACTOR = 2**16

#: Largest denominator of the up/down ratio handed to ``resample_poly``.
MAX_RATIO_DENOMINATOR = 1000


class WavInfo(NamedTuple):
    """What :func:`write_wav` wrote."""

    path: Path
    sr: int
    n_samples: int
    subtype: str


def _check_samples(samples) -> np.ndarray:
    return check_signal(samples, "samples", channels=True, shape_error=FrameShapeError)


def standard_rate(sr: float) -> int:
    """The smallest standard sample rate at or above ``sr`` (96000 for anything above it).

    Parameters
    ----------
    sr : float
        Sample rate in Hz.

    Returns
    -------
    int
        One of :data:`STANDARD_RATES`.

    Examples
    --------
    >>> standard_rate(2200)
    8000
    >>> standard_rate(44100)
    44100
    >>> standard_rate(200000)
    96000
    """
    sr = check_rate(sr)
    for rate in STANDARD_RATES:
        if rate >= sr:
            return rate
    return STANDARD_RATES[-1]


def resample(samples: np.ndarray, *, sr: float, target_sr: float) -> np.ndarray:
    """Resample along the last axis with a polyphase filter (``scipy.signal.resample_poly``).

    The ratio ``target_sr / sr`` is replaced by the nearest fraction ``up/down``
    with ``down <= 1000`` (exact for integer rates such as 2200 -> 8000 = 40/11).
    The output keeps the duration to the nearest sample: ``round(n * target_sr / sr)``
    samples (the filter's last partial sample is dropped; where the fraction is only
    close to the ratio, the end is cut or padded with zeros to that length). This is
    vismic's one resampler: the test bed and the calibration use it too.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,) or (n_channels, n)]
    sr : float
        Rate of ``samples`` in Hz.
    target_sr : float
        Wanted rate in Hz.

    Returns
    -------
    np.ndarray [shape=(n_out,) or (n_channels, n_out)], float64
        ``n_out = round(n * target_sr / sr)``; a copy when the rates are equal.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(2 * np.pi * 100 * np.arange(2200) / 2200)
    >>> resample(y, sr=2200, target_sr=8000).shape
    (8000,)
    >>> resample(np.ones(441), sr=44100, target_sr=2200).shape
    (22,)
    """
    sr = check_rate(sr)
    target_sr = check_rate(target_sr, "target_sr")
    samples = _check_samples(samples)
    ratio = (Fraction(target_sr) / Fraction(sr)).limit_denominator(MAX_RATIO_DENOMINATOR)
    if ratio == 0:
        raise ParameterError(
            f"target_sr={target_sr:g} is too small next to sr={sr:g} to resample"
        )
    if ratio == 1:
        return samples.copy()
    if target_sr > MAX_POLYPHASE_FACTOR * sr:
        raise ParameterError(
            f"sr={sr:g} is more than {MAX_POLYPHASE_FACTOR} times below target_sr={target_sr:g}: that is not a "
            "sound rate to resample from; check the rate (fps) given"
        )
    # exact in fractions: with a subnormal sr the float ratio overflows to infinity
    n_out = round(samples.shape[-1] * Fraction(target_sr) / Fraction(sr))
    if n_out > MAX_SAMPLES:
        raise ParameterError(
            f"resampling {samples.shape[-1]} samples from sr={sr:g} to target_sr={target_sr:g} would make "
            f"{n_out} samples, more than the {MAX_SAMPLES} vismic allows; choose a lower target_sr"
        )
    if ratio.numerator > MAX_POLYPHASE_FACTOR:  # then the denominator is above 1 and can shrink
        ratio = ratio.limit_denominator(max(1, MAX_POLYPHASE_FACTOR * ratio.denominator // ratio.numerator))
    out = scipy.signal.resample_poly(samples, ratio.numerator, ratio.denominator, axis=-1)
    if out.shape[-1] >= n_out:
        return out[..., :n_out]
    return np.concatenate([out, np.zeros(out.shape[:-1] + (n_out - out.shape[-1],))], axis=-1)


#: Suffixes of other audio formats, which :func:`write_wav` refuses (it writes WAV data only).
OTHER_AUDIO_SUFFIXES = (".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".wma")


def write_wav(
    path,
    samples: np.ndarray,
    *,
    sr: float,
    target_sr="auto",
    subtype: str = "PCM_16",
    normalize: bool = True,
) -> WavInfo:
    """Write audio samples as a WAV file, atomically.

    The file is written under a temporary name in the same folder and then
    moved onto ``path``: an existing file is replaced whole, never truncated,
    and a failure leaves it (and the folder) as it was.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its folder must exist.
    samples : np.ndarray [shape=(n,) or (n_channels, n)]
        Audio, time on the last axis; several rows are written as channels.
    sr : float
        Sample rate of ``samples`` in Hz (the capture rate for recovered sound).
    target_sr : 'auto', None or int, default 'auto'
        'auto' resamples to :func:`standard_rate` ``(sr)`` when ``sr`` is not a
        standard rate; None keeps ``sr`` (it must then be a whole number); an
        integer resamples to that rate.
    subtype : {'PCM_16', 'PCM_24', 'FLOAT'}, default 'PCM_16'
        The rate written must lie in [1000, 768000] Hz.
    normalize : bool, default True
        Scale so that the peak is 0.99 of full scale. Without it, PCM samples
        beyond [-1, 1] are clipped (with a warning). Samples whose peak is below
        :data:`SILENCE_FLOOR` (1e-12, numerical dust such as what 300 identical
        frames give) are refused rather than blown up to full scale.

    Returns
    -------
    WavInfo
        ``(path, sr, n_samples, subtype)`` of the file written.

    Raises
    ------
    ParameterError
        Silent or dust-level (with ``normalize``), empty or non-finite samples;
        bad ``sr``, ``target_sr`` (an output rate outside [1000, 768000] Hz) or
        ``subtype``. No file is written.
    OutputError
        The folder does not exist or cannot be written.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> y = np.sin(2 * np.pi * 110 * np.arange(2200) / 2200)
    >>> info = write_wav(os.path.join(tempfile.mkdtemp(), "out.wav"), y, sr=2200)
    >>> info.sr, info.n_samples, info.subtype
    (8000, 8000, 'PCM_16')
    """
    sr = check_rate(sr)
    if not isinstance(normalize, (bool, np.bool_)):
        raise ParameterError(f"normalize must be True or False, given normalize={normalize!r}")
    samples = _check_samples(samples)
    if samples.ndim == 2 and samples.shape[0] > samples.shape[1]:
        raise FrameShapeError(
            f"audio samples must have shape (n_channels, n) with time on the last axis, given "
            f"shape={samples.shape} ({samples.shape[0]} channels of {samples.shape[1]} samples); "
            "pass samples.T"
        )
    subtype_name = check_choice(subtype.upper() if isinstance(subtype, str) else subtype, "subtype", SUBTYPES)
    out_sr = _output_rate(sr, target_sr)
    suffix = os.path.splitext(os.fspath(path))[1].lower() if isinstance(path, (str, os.PathLike)) else ""
    if suffix in OTHER_AUDIO_SUFFIXES:  # x.flac held WAV data that FLAC players refuse
        raise ParameterError(f"{os.fspath(path)!r} names a {suffix} file, but the audio is written as WAV: "
                             "name it .wav")
    path = check_destination(path, what="WAV file")

    if out_sr != sr:
        samples = resample(samples, sr=sr, target_sr=out_sr)
    if normalize:
        peak = float(np.max(np.abs(samples)))
        if peak == 0:
            raise ParameterError("nothing was recovered: the audio is silent (all zero), so no file was written "
                                 "(the warnings say why)")
        if peak < SILENCE_FLOOR:
            raise ParameterError(
                f"audio samples hold only numerical dust (peak {peak:.3g} < {SILENCE_FLOOR:g}): there is no "
                "sound to normalize (the video shows no motion vismic can measure); no file was written"
            )
        samples = samples * (PEAK_LEVEL / peak)
    elif subtype_name != "FLOAT" and np.max(np.abs(samples)) > 1:
        warnings.warn(
            f"audio samples exceed full scale (peak {np.max(np.abs(samples)):.3g}) and are clipped "
            f"to [-1, 1] in {subtype_name}; pass normalize=True to scale them instead",
            VismicWarning,
            stacklevel=2,
        )
        samples = np.clip(samples, -1.0, 1.0)

    data = samples.T if samples.ndim == 2 else samples
    with temporary_file(path, what="WAV file") as temporary:
        try:
            # Through a Python file object: libsndfile cannot take a name whose bytes are not UTF-8.
            with open(temporary, "wb") as file:
                soundfile.write(file, data, out_sr, subtype=subtype_name, format="WAV")
        except RuntimeError as error:  # libsndfile errors
            raise OutputError(f"cannot write WAV file {str(path)!r}: {error}") from error
    return WavInfo(path, out_sr, int(samples.shape[-1]), subtype_name)


def _output_rate(sr: float, target_sr) -> int:
    if isinstance(target_sr, str) and target_sr == "auto":
        return int(sr) if sr in STANDARD_RATES else standard_rate(sr)
    if target_sr is None:
        if not float(sr).is_integer():
            raise ParameterError(
                f"a WAV file stores a whole-number sample rate, given sr={sr:g} with target_sr=None; "
                "pass target_sr='auto' or an integer rate to resample"
            )
        if not MIN_WAV_RATE <= sr <= MAX_WAV_RATE:
            raise ParameterError(
                f"sr={sr:g} with target_sr=None would write a WAV at {sr:g} Hz, outside the audio rates "
                f"{MIN_WAV_RATE}..{MAX_WAV_RATE} Hz; pass target_sr='auto' to resample to a standard rate"
            )
        return int(sr)
    number = as_number(target_sr)
    if (number is None or not np.isfinite(number) or not number.is_integer()
            or not MIN_WAV_RATE <= number <= MAX_WAV_RATE):
        raise ParameterError(
            f"target_sr must be 'auto', None or a whole number of Hz from {MIN_WAV_RATE} to {MAX_WAV_RATE} "
            f"(e.g. 44100), given target_sr={target_sr!r}"
        )
    return int(number)
