"""Estimate an object's frequency response from one calibration recording.

The motion recovered from video is the sound passed through the filmed object's
frequency response ``H(f)`` (its resonances and roll-off) and through the recovery
itself (drift removal, combination). Playing a known signal -- a sweep or noise --
while filming measures ``H`` once for a set-up:

1. ``played`` is resampled to the capture rate when it has another rate;
2. the two signals are aligned in time at the peak of their cross-correlation (the
   sound starts some time after the camera does) and cut to their overlap;
3. Welch auto- and cross-spectra (Hann windows, 50 % overlap) give the H1 estimate
   ``H = S_xy / S_xx`` (``x`` played, ``y`` recovered), unbiased by noise in the
   recording, and the coherence ``|S_xy|^2 / (S_xx S_yy)``: the fraction of the
   recording's power at each frequency that the played signal explains;
4. the spectra are smoothed over a fraction of an octave first (frequency averaging:
   fewer wiggles, the same expected values), and ``S_xx`` is floored at
   ``regularisation * max(S_xx)`` so frequencies the played signal never reached give
   a finite gain instead of a division by nothing; their coherence is set to 0
   (played power below :data:`PLAYED_FLOOR` of its mean: only leakage is seen there,
   which looks coherent but measures nothing).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
from scipy import signal

from .._checks import check_int, check_non_negative, check_rate, check_signal
from ..errors import ParameterError, VismicWarning

__all__ = [
    "Response",
    "ResponseNotFoundError",
    "estimate_response",
    "load_response",
    "find_lag",
    "smooth_octaves",
    "default_n_fft",
    "MIN_SEGMENTS",
    "PLAYED_FLOOR",
]

#: Fewest Welch segments (with 50 % overlap) a calibration must hold: fewer and the
#: coherence is meaningless (it is 1 for a single segment).
MIN_SEGMENTS = 4

#: Frequencies where the played signal's power is below this fraction of its mean
#: power over all frequencies (-20 dB) count as not measured (coherence 0): there only
#: leakage from other frequencies is seen, which looks coherent but says nothing.
PLAYED_FLOOR = 0.01

#: Format version written into saved responses.
FILE_VERSION = 1

#: Peak normalised cross-correlation below which the played signal is reported as
#: not found in the recording.
WEAK_CORRELATION = 0.1


class ResponseNotFoundError(ParameterError, FileNotFoundError):
    """The response file does not exist."""


@dataclass
class Response:
    """Frequency response of a filmed object (played sound -> recovered motion).

    Attributes
    ----------
    freqs_hz : np.ndarray [shape=(n_freqs,)], float64
        ``np.linspace(0, sr / 2, n_freqs)``.
    gain : np.ndarray [shape=(n_freqs,)], complex128
        ``H(f)``: recovered units (px) per played unit. Its phase includes the
        recovery's arbitrary sign and what is left of the delay after alignment.
    coherence : np.ndarray [shape=(n_freqs,)], float64
        0-1; how much of the recording the played signal explains at each frequency
        (1: noise-free linear response; low: noise, or frequencies never played).
    sr : float
        Sample rate in Hz of the recordings the response applies to (the capture rate).
    lag_seconds : float
        How much later the played signal appeared in the calibration recording.
    n_fft : int
        Welch segment length the response was estimated with.
    smoothing_octaves : float
        Width of the smoothing applied to the spectra.

    Examples
    --------
    >>> import numpy as np
    >>> r = Response(np.linspace(0, 1100, 5), np.ones(5), np.ones(5), sr=2200.0)
    >>> r.magnitude_db.tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0]
    """

    freqs_hz: np.ndarray
    gain: np.ndarray
    coherence: np.ndarray
    sr: float
    lag_seconds: float = 0.0
    n_fft: int = 0
    smoothing_octaves: float = 0.0
    info: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self.sr = check_rate(self.sr, "sr")
        self.freqs_hz = np.asarray(self.freqs_hz, dtype=np.float64)
        self.gain = np.asarray(self.gain, dtype=np.complex128)
        self.coherence = np.asarray(self.coherence, dtype=np.float64)
        if self.freqs_hz.ndim != 1 or self.freqs_hz.size < 2:
            raise ParameterError(
                f"freqs_hz must have shape (n_freqs,) with n_freqs >= 2, given shape={self.freqs_hz.shape}"
            )
        for name in ("gain", "coherence"):
            shape = getattr(self, name).shape
            if shape != self.freqs_hz.shape:
                raise ParameterError(f"{name} must have the shape of freqs_hz {self.freqs_hz.shape}, given {shape}")
        for name in ("freqs_hz", "gain", "coherence"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ParameterError(f"{name} contains NaN or infinite values")
        if np.any(np.diff(self.freqs_hz) <= 0) or self.freqs_hz[0] < 0:
            raise ParameterError("freqs_hz must be non-negative and increasing")
        nyquist = self.sr / 2
        if self.freqs_hz[-1] > nyquist * (1 + 1e-9):
            raise ParameterError(
                f"freqs_hz reach {self.freqs_hz[-1]:g} Hz, above the Nyquist frequency sr/2={nyquist:g} Hz"
            )
        self.coherence = np.clip(self.coherence, 0.0, 1.0)
        self.lag_seconds = float(self.lag_seconds)
        self.n_fft = int(self.n_fft)
        self.smoothing_octaves = float(self.smoothing_octaves)
        if not np.isfinite(self.lag_seconds):
            raise ParameterError(f"lag_seconds must be a finite number, given {self.lag_seconds!r}")
        if self.n_fft < 0:  # 0: not recorded
            raise ParameterError(f"n_fft must be >= 0, given {self.n_fft}")
        if not (np.isfinite(self.smoothing_octaves) and self.smoothing_octaves >= 0):
            raise ParameterError(f"smoothing_octaves must be a finite number >= 0, given {self.smoothing_octaves!r}")

    def __len__(self) -> int:
        return self.freqs_hz.size

    def __repr__(self) -> str:
        peak = self.peak_hz()
        peak_text = f", peak_hz={peak:.1f}" if peak is not None else ""
        return (f"Response(n_freqs={len(self)}, sr={self.sr:g}, n_fft={self.n_fft}, "
                f"lag_seconds={self.lag_seconds:.4f}{peak_text})")

    @property
    def magnitude(self) -> np.ndarray:
        """``|H(f)|``, shape ``(n_freqs,)``."""
        return np.abs(self.gain)

    @property
    def magnitude_db(self) -> np.ndarray:
        """``20 log10 |H(f)|`` (-inf-safe: floored at 1e-300), shape ``(n_freqs,)``."""
        return 20.0 * np.log10(np.maximum(np.abs(self.gain), 1e-300))

    def reliable(self, min_coherence: float = 0.5) -> np.ndarray:
        """Boolean mask of the frequencies above 0 Hz measured with at least ``min_coherence``."""
        return (self.coherence >= min_coherence) & (self.freqs_hz > 0)

    def band_hz(self, min_coherence: float = 0.5) -> Optional[tuple]:
        """``(lowest, highest)`` frequency measured with at least ``min_coherence``, or None."""
        mask = self.reliable(min_coherence)
        if not mask.any():
            return None
        return float(self.freqs_hz[mask][0]), float(self.freqs_hz[mask][-1])

    def peak_hz(self, min_coherence: float = 0.5) -> Optional[float]:
        """Frequency of the largest gain among reliable frequencies (the main resonance), or None.

        Refined between bins by a parabola through the dB gains of the peak bin and
        its two neighbours.
        """
        mask = self.reliable(min_coherence)
        if not mask.any():
            return None
        magnitude = np.where(mask, np.abs(self.gain), -np.inf)
        k = int(np.argmax(magnitude))
        peak = float(self.freqs_hz[k])
        if 0 < k < len(self) - 1 and mask[k - 1] and mask[k + 1]:
            left, centre, right = self.magnitude_db[k - 1 : k + 2]
            curvature = left - 2 * centre + right
            if curvature < 0:
                step = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
                peak += step * float(self.freqs_hz[k + 1] - self.freqs_hz[k])
        return peak

    def reference_gain(self, min_coherence: float = 0.5) -> float:
        """Typical ``|H|``: the median over reliable frequencies, weighted by coherence.

        Equalisation divides by ``|H| / reference_gain``: half the well-measured band
        is cut and half lifted, and the level of the recording stays about where it
        was. Falls back to all frequencies above 0 Hz when none is reliable.
        """
        mask = self.reliable(min_coherence)
        if not mask.any():
            mask = self.freqs_hz > 0
        magnitude = np.abs(self.gain[mask])
        weights = np.maximum(self.coherence[mask], 1e-12)
        order = np.argsort(magnitude)
        cumulative = np.cumsum(weights[order])
        middle = int(np.searchsorted(cumulative, 0.5 * cumulative[-1]))
        return float(max(magnitude[order][middle], 1e-300))

    def interpolate(self, freqs_hz) -> tuple:
        """Gain (complex, linear in magnitude and unwrapped phase) and coherence at other frequencies."""
        freqs_hz = np.asarray(freqs_hz, dtype=np.float64)
        magnitude = np.interp(freqs_hz, self.freqs_hz, np.abs(self.gain))
        phase = np.interp(freqs_hz, self.freqs_hz, np.unwrap(np.angle(self.gain)))
        coherence = np.interp(freqs_hz, self.freqs_hz, self.coherence)
        return magnitude * np.exp(1j * phase), coherence

    def summary(self, min_coherence: float = 0.5) -> str:
        """A few lines describing the response (what ``vismic calibrate`` prints)."""
        lines = [
            f"response: {len(self)} frequencies 0-{self.freqs_hz[-1]:g} Hz at sr={self.sr:g} Hz "
            f"(n_fft={self.n_fft}, smoothing {self.smoothing_octaves:.3g} octave); "
            f"played signal found {self.lag_seconds * 1000:.1f} ms into the recording"
        ]
        band = self.band_hz(min_coherence)
        if band is None:
            lines.append(
                f"no frequency reached coherence {min_coherence:g} (best {self.coherence.max():.2f}): "
                "the played signal is not visible in the recording"
            )
            return "\n".join(lines)
        mask = self.reliable(min_coherence)
        reference = self.reference_gain(min_coherence)
        relative_db = 20 * np.log10(np.maximum(np.abs(self.gain), 1e-300) / reference)
        low = self.freqs_hz[mask][np.argmin(relative_db[mask])]
        lines.append(
            f"coherence >= {min_coherence:g} from {band[0]:.0f} to {band[1]:.0f} Hz "
            f"({100 * mask.sum() / max(1, (self.freqs_hz > 0).sum()):.0f} % of the band; "
            f"median coherence there {np.median(self.coherence[mask]):.2f})"
        )
        lines.append(
            f"gain relative to its typical level: peak {relative_db[mask].max():+.1f} dB at "
            f"{self.peak_hz(min_coherence):.0f} Hz, lowest {relative_db[mask].min():+.1f} dB at {low:.0f} Hz"
        )
        return "\n".join(lines)

    def save(self, path) -> Path:
        """Write the response as an ``.npz`` file, atomically (see :func:`load_response`).

        Parameters
        ----------
        path : str or Path
            Destination; written under a temporary name and moved in place, so an
            interrupted write never leaves a partial file.

        Returns
        -------
        Path
        """
        from ..io._atomic import check_destination, temporary_file

        path = check_destination(path, what="response")
        with temporary_file(path, what="response") as temporary:
            with open(temporary, "wb") as handle:
                np.savez(
                    handle,
                    version=np.int64(FILE_VERSION),
                    freqs_hz=self.freqs_hz,
                    gain=self.gain,
                    coherence=self.coherence,
                    sr=np.float64(self.sr),
                    lag_seconds=np.float64(self.lag_seconds),
                    n_fft=np.int64(self.n_fft),
                    smoothing_octaves=np.float64(self.smoothing_octaves),
                )
        return path


def load_response(path) -> Response:
    """Read a response written by :meth:`Response.save`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Response

    Raises
    ------
    ResponseNotFoundError
        No such file (a :class:`~vismic.errors.ParameterError` and a ``FileNotFoundError``).
    ParameterError
        The file is not a vismic response.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> r = Response(np.linspace(0, 500, 3), [1, 2, 1], [1, 1, 1], sr=1000.0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     back = load_response(r.save(os.path.join(folder, "r.npz")))
    >>> back.gain.real.tolist(), back.sr
    ([1.0, 2.0, 1.0], 1000.0)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"the response path must be a string or path, given {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"response file {str(path)!r} is a folder; give the .npz file 'vismic calibrate' wrote")
    if not path.is_file():
        raise ResponseNotFoundError(f"response file {str(path)!r} does not exist")
    try:
        with open(path, "rb") as file:  # closed here whatever np.load makes of it (a damaged zip left it open)
            data = np.load(file, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):  # a .npy array under a .npz name
                raise ValueError(f"a single {type(data).__name__}, not an archive")
            with data:
                contents = {name: data[name] for name in data.files}
    except Exception as error:  # noqa: BLE001 - zipfile, numpy and the OS raise many kinds on damaged files
        raise ParameterError(f"cannot read response file {str(path)!r}: it is not a NumPy .npz archive written by "
                             f"'vismic calibrate' ({type(error).__name__})") from None
    missing = [name for name in ("freqs_hz", "gain", "coherence", "sr") if name not in contents]
    if missing:
        raise ParameterError(
            f"{str(path)!r} is not a vismic response file (missing {', '.join(missing)}); "
            "write one with 'vismic calibrate' or Response.save"
        )
    try:
        version = int(contents.get("version", FILE_VERSION))
    except (TypeError, ValueError):
        raise ParameterError(f"response file {str(path)!r} has a format version of {contents['version']!r}, not a "
                             "number") from None
    if version > FILE_VERSION:
        raise ParameterError(
            f"response file {str(path)!r} has format version {version}; this vismic reads up to {FILE_VERSION}"
        )
    try:
        return Response(
            contents["freqs_hz"],
            contents["gain"],
            contents["coherence"],
            sr=float(contents["sr"]),
            lag_seconds=float(contents.get("lag_seconds", 0.0)),
            n_fft=int(contents.get("n_fft", 0)),
            smoothing_octaves=float(contents.get("smoothing_octaves", 0.0)),
        )
    except (ParameterError, TypeError, ValueError) as error:
        raise ParameterError(f"response file {str(path)!r} is invalid: {error}") from None


def default_n_fft(n: int, *, sr: float) -> int:
    """Welch segment length: about 0.1 s (a power of two), short enough for ``2 * MIN_SEGMENTS`` segments.

    Examples
    --------
    >>> default_n_fft(22000, sr=2200.0), default_n_fft(1100, sr=2200.0)
    (256, 128)
    """
    n_fft = 2 ** int(round(math.log2(max(0.1 * sr, 16.0))))
    while n_fft > 32 and (n // (n_fft // 2)) - 1 < 2 * MIN_SEGMENTS:
        n_fft //= 2
    return n_fft


def find_lag(recorded, played, *, max_lag: Optional[int] = None) -> tuple:
    """Where ``played`` sits in ``recorded``: the lag of the largest cross-correlation.

    Parameters
    ----------
    recorded, played : np.ndarray [shape=(n,) and (m,)]
    max_lag : int, optional
        Largest ``|lag|`` searched, in samples; default any lag that leaves an overlap.

    Returns
    -------
    lag : int
        ``recorded[lag + i]`` goes with ``played[i]`` (negative: the recording started
        after the sound did).
    correlation : float
        Normalised correlation at that lag (-1 to 1; the sign of the recovery is arbitrary).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(500)
    >>> y = np.concatenate([np.zeros(37), -2 * x])
    >>> lag, c = find_lag(y, x)
    >>> lag, round(c, 3)
    (37, -1.0)
    """
    recorded = np.asarray(recorded, dtype=np.float64) - np.mean(recorded)
    played = np.asarray(played, dtype=np.float64) - np.mean(played)
    n, m = recorded.size, played.size
    full = signal.fftconvolve(recorded, played[::-1], mode="full")  # index k <-> lag k - (m - 1)
    lags = np.arange(-(m - 1), n)
    # Energies over each overlap (to normalise the correlation reported); overlaps
    # shorter than a quarter of the shorter signal are not considered.
    cum_r = np.concatenate([[0.0], np.cumsum(recorded**2)])
    cum_p = np.concatenate([[0.0], np.cumsum(played**2)])
    start_r = np.clip(lags, 0, n)
    stop_r = np.clip(lags + m, 0, n)
    start_p = start_r - lags
    stop_p = stop_r - lags
    energy = (cum_r[stop_r] - cum_r[start_r]) * (cum_p[stop_p] - cum_p[start_p])
    overlap = stop_r - start_r
    valid = (overlap >= max(1, min(n, m) // 4)) & (energy > 0)
    if max_lag is not None:
        valid &= np.abs(lags) <= int(max_lag)
    if not valid.any():
        return 0, 0.0
    # Rank lags by the raw correlation: the evidence grows with the overlap, so a
    # short overlap at either end cannot win on a lucky normalised value.
    score = np.where(valid, np.abs(full), -np.inf)
    best = int(np.argmax(score))
    norm = math.sqrt(energy[best])
    return int(lags[best]), float(full[best] / norm) if norm > 0 else 0.0


def smooth_octaves(values: np.ndarray, freqs_hz: np.ndarray, octaves: float) -> np.ndarray:
    """Average ``values`` over ``[f 2^(-octaves/2), f 2^(octaves/2)]`` around each frequency ``f``.

    A plain mean over the bins in that band (at least the bin itself), computed with
    cumulative sums; the 0 Hz bin is left as it is. ``octaves=0`` returns a copy.

    Parameters
    ----------
    values : np.ndarray [shape=(n_freqs,)], real or complex
    freqs_hz : np.ndarray [shape=(n_freqs,)], increasing
    octaves : float
        Full width of the band, in octaves (1/6: a sixth of an octave).

    Returns
    -------
    np.ndarray [shape=(n_freqs,)]

    Examples
    --------
    >>> f = np.arange(8.0)
    >>> smooth_octaves(np.array([0, 0, 0, 0, 8, 0, 0, 0.0]), f, 1.0).round(2).tolist()
    [0.0, 0.0, 0.0, 4.0, 2.67, 2.0, 0.0, 0.0]
    """
    values = np.asarray(values)
    out = values.copy()
    if octaves <= 0 or values.size < 3:
        return out
    half = 2.0 ** (octaves / 2.0)
    low = np.searchsorted(freqs_hz, freqs_hz / half, side="left")
    high = np.searchsorted(freqs_hz, freqs_hz * half, side="right")
    index = np.arange(values.size)
    low = np.minimum(np.maximum(low, 1), index)
    high = np.maximum(high, index + 1)
    cumulative = np.concatenate([[0], np.cumsum(values)])
    means = (cumulative[high] - cumulative[low]) / (high - low)
    out[1:] = means[1:]
    return out


def estimate_response(
    recovered,
    played,
    *,
    sr: float,
    played_sr: Optional[float] = None,
    n_fft: Optional[int] = None,
    smoothing_octaves: float = 1 / 6,
    regularisation: float = 1e-6,
    max_lag_seconds: Optional[float] = None,
) -> Response:
    """Estimate the filmed object's frequency response from one calibration recording.

    Parameters
    ----------
    recovered : np.ndarray [shape=(n,)] or Audio
        Sound recovered from the calibration video (e.g. ``recover_sound(...,
        denoise=None).audio``), at the capture rate ``sr``.
    played : np.ndarray [shape=(m,)]
        The known signal played while filming (a sweep from below to above the band
        of interest, or broadband noise).
    sr : float
        Sample rate of ``recovered`` in Hz (the capture rate).
    played_sr : float, optional
        Sample rate of ``played`` in Hz when it differs from ``sr`` (e.g. 44100 for a
        WAV file); ``played`` is then resampled to ``sr``. When not given the rates are
        taken to be equal, and lengths more than 4 times apart are refused as a likely
        rate mismatch.
    n_fft : int, optional
        Welch segment length (frequency resolution ``sr / n_fft``). Default about
        0.1 s, shortened until the overlap holds ``2 * MIN_SEGMENTS`` segments.
    smoothing_octaves : float
        Width of the fractional-octave smoothing of the spectra (0: none).
    regularisation : float
        Floor of the played signal's power spectrum, relative to its maximum; keeps
        the gain finite at frequencies the played signal does not contain (where the
        coherence is set to 0 anyway: below :data:`PLAYED_FLOOR` of its mean power).
        Larger values bias the gain low near the edges of the played band.
    max_lag_seconds : float, optional
        Largest time offset searched when aligning the signals (default: any).

    Returns
    -------
    Response
        ``freqs_hz`` (``n_fft // 2 + 1`` values), complex ``gain`` (recovered units per
        played unit), ``coherence``, ``sr``, and the ``lag_seconds`` found.

    Raises
    ------
    ParameterError
        Signals that are not 1-D, empty or non-finite; silent ``played``; lengths more
        than 4 times apart without ``played_sr``; an overlap after alignment shorter
        than ``MIN_SEGMENTS`` segments of ``n_fft``; bad ``n_fft``,
        ``smoothing_octaves`` or ``regularisation``.

    Warns
    -----
    VismicWarning
        When the played signal barely correlates with the recording (wrong file,
        nothing visible): the coherence will show where the estimate is meaningless.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import signal
    >>> from vismic import synth
    >>> sr = 2200.0
    >>> x = synth.chirp(f0_hz=40, f1_hz=1050, duration_seconds=4, sr=sr, method="logarithmic")
    >>> b, a = signal.iirpeak(300, 3, fs=sr)                       # a resonance at 300 Hz
    >>> y = np.concatenate([np.zeros(50), signal.lfilter(b, a, x)])  # heard 50 samples late
    >>> r = estimate_response(y, x, sr=sr)
    >>> abs(r.lag_seconds * sr - 50) < 5, abs(r.peak_hz() - 300) < 10
    (True, True)
    """
    recovered, played, sr = _check_pair(recovered, played, sr=sr, played_sr=played_sr)
    smoothing_octaves = check_non_negative(smoothing_octaves, "smoothing_octaves")
    regularisation = check_non_negative(regularisation, "regularisation")
    max_lag = None
    if max_lag_seconds is not None:
        max_lag = int(round(check_non_negative(max_lag_seconds, "max_lag_seconds") * sr))

    lag, correlation = find_lag(recovered, played, max_lag=max_lag)
    start = max(lag, 0)
    stop = min(recovered.size, lag + played.size)
    y = recovered[start:stop]
    x = played[start - lag : stop - lag]
    overlap = y.size
    n_fft = default_n_fft(overlap, sr=sr) if n_fft is None else check_int(n_fft, "n_fft", minimum=8)
    n_segments = _count_segments(overlap, n_fft, sr=sr, sizes=(recovered.size, played.size), lag=lag)
    if abs(correlation) < WEAK_CORRELATION:
        warnings.warn(
            f"the played signal barely correlates with the recording (peak normalised correlation "
            f"{abs(correlation):.3f} at lag {lag}): check that the right sound was given",
            VismicWarning,
            stacklevel=2,
        )
    freqs, gain, coherence = _transfer_function(
        x, y, sr=sr, n_fft=n_fft, smoothing_octaves=smoothing_octaves, regularisation=regularisation
    )
    return Response(
        freqs_hz=freqs,
        gain=gain,
        coherence=coherence,
        sr=sr,
        lag_seconds=lag / sr,
        n_fft=n_fft,
        smoothing_octaves=smoothing_octaves,
        info={"correlation": correlation, "overlap_samples": overlap, "n_segments": n_segments},
    )


def _check_pair(recovered, played, *, sr, played_sr):
    """Both signals checked, ``played`` at ``sr``; lengths far apart without ``played_sr`` refused."""
    sr = check_rate(sr, "sr")
    audio_sr = getattr(recovered, "sr", None)
    if audio_sr is not None and not math.isclose(float(audio_sr), sr, rel_tol=1e-9):
        raise ParameterError(f"recovered is Audio at sr={float(audio_sr):g} Hz but sr={sr:g} Hz was given")
    recovered = check_signal(recovered, "recovered")
    played = check_signal(played, "played")
    if played_sr is not None:
        played_sr = check_rate(played_sr, "played_sr")
        if played_sr != sr:
            from ..io import resample

            try:
                played = np.asarray(resample(played, sr=played_sr, target_sr=sr), dtype=np.float64)
            except ParameterError as error:  # resample names its own sr and target_sr
                raise ParameterError(f"played at played_sr={played_sr:g} Hz cannot be brought to the video's "
                                     f"{sr:g} Hz ({error})") from None
            if played.size < 2:
                raise ParameterError(f"played lasts {played.size / sr:.3g} s: at the video's rate of {sr:g} Hz it "
                                     f"leaves {played.size} sample{'s' if played.size != 1 else ''}; play a longer "
                                     "sound")
    else:
        longer, shorter = max(recovered.size, played.size), min(recovered.size, played.size)
        if longer > 4 * shorter:
            raise ParameterError(
                f"recovered has {recovered.size} samples and played {played.size}: at sr={sr:g} Hz they last "
                f"{recovered.size / sr:.3g} s and {played.size / sr:.3g} s. If played has another sample rate, "
                "give played_sr (or played_sr=sr to use them as they are)"
            )
    if np.ptp(played) == 0:
        raise ParameterError("played is constant (silent): it cannot excite the object")
    if np.ptp(recovered) == 0:
        raise ParameterError("recovered is constant (silent): nothing was recovered from the video")
    return recovered, played, sr


def _count_segments(overlap: int, n_fft: int, *, sr: float, sizes: tuple, lag: int) -> int:
    """Welch segments (half overlap) in the aligned overlap; too few refused."""
    hop = n_fft // 2
    n_segments = (overlap - n_fft) // hop + 1 if overlap >= n_fft else 0
    if n_segments < MIN_SEGMENTS:
        raise ParameterError(
            f"the signals overlap by {overlap} samples ({overlap / sr:.3g} s at sr={sr:g} Hz) after alignment "
            f"(recovered has {sizes[0]}, played {sizes[1]} samples, lag {lag}): too short for "
            f"{MIN_SEGMENTS} segments of n_fft={n_fft}; record a longer calibration or lower n_fft"
        )
    return n_segments


def _transfer_function(x, y, *, sr, n_fft, smoothing_octaves, regularisation):
    """Frequencies, H1 gain ``Pxy / Pxx`` and coherence of aligned played ``x`` and recorded ``y``."""
    welch = dict(fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft // 2, detrend="constant")
    freqs, pxx = signal.welch(x, **welch)
    _, pyy = signal.welch(y, **welch)
    _, pxy = signal.csd(x, y, **welch)
    pxx = smooth_octaves(pxx, freqs, smoothing_octaves)
    pyy = smooth_octaves(pyy, freqs, smoothing_octaves)
    pxy = smooth_octaves(pxy, freqs, smoothing_octaves)
    floor = regularisation * float(np.max(pxx)) + np.finfo(float).tiny
    gain = pxy / (pxx + floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        coherence = np.abs(pxy) ** 2 / ((pxx + floor) * pyy)
    coherence = np.nan_to_num(np.clip(coherence, 0.0, 1.0))
    coherence[0] = 0.0  # the mean is removed: nothing is measured at 0 Hz
    # Where the played signal only leaks in (through the window's side lobes, or its
    # onset), both spectra are the same leak and look coherent: nothing is measured.
    coherence[pxx < PLAYED_FLOOR * np.mean(pxx)] = 0.0
    return freqs, gain, coherence
