"""Test sounds: tones, chirps, synthetic music, and loading or speaking real audio."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np

from ..errors import ParameterError
from ..io.wav import resample
from ._checks import check_positive, length_and_rate, n_samples

__all__ = ["tone", "chirp", "music", "load_audio", "espeak_speech"]


def _check_below_nyquist(freq_hz, name: str, sr: float) -> float:
    freq_hz = check_positive(freq_hz, name)
    if freq_hz >= sr / 2:
        raise ParameterError(f"{name}={freq_hz!r} is not below the Nyquist frequency {sr / 2!r} Hz (sr={sr!r})")
    return freq_hz


def tone(freq_hz: float, *, duration_seconds: float, sr: float) -> np.ndarray:
    """A pure sine ``sin(2 pi f t)`` of amplitude 1 (``t = n / sr``, starting at phase 0).

    Parameters
    ----------
    freq_hz : float
        Frequency, below ``sr / 2``.
    duration_seconds : float
    sr : float
        Sample rate in Hz (for the visual microphone, the capture rate).

    Returns
    -------
    np.ndarray [shape=(round(duration_seconds * sr),)], float64

    Examples
    --------
    >>> tone(440.0, duration_seconds=0.01, sr=2200.0).shape
    (22,)
    """
    n = n_samples(duration_seconds, sr)
    sr = float(sr)
    freq_hz = _check_below_nyquist(freq_hz, "freq_hz", sr)
    return np.sin(2.0 * np.pi * freq_hz * np.arange(n) / sr)


def chirp(*, f0_hz: float, f1_hz: float, duration_seconds: float, sr: float, method: str = "linear") -> np.ndarray:
    """A sine sweep from ``f0_hz`` to ``f1_hz`` of peak 1.

    Parameters
    ----------
    f0_hz, f1_hz : float
        Start and end frequencies, below ``sr / 2``.
    duration_seconds, sr : float
    method : {'linear', 'logarithmic'}
        Frequency changes linearly or exponentially with time.

    Returns
    -------
    np.ndarray [shape=(round(duration_seconds * sr),)], float64

    Examples
    --------
    >>> chirp(f0_hz=100.0, f1_hz=800.0, duration_seconds=0.5, sr=2200.0).shape
    (1100,)
    """
    n = n_samples(duration_seconds, sr)
    sr = float(sr)
    f0_hz = _check_below_nyquist(f0_hz, "f0_hz", sr)
    f1_hz = _check_below_nyquist(f1_hz, "f1_hz", sr)
    t = np.arange(n) / sr
    span = n / sr
    if method == "linear":
        phase = f0_hz * t + (f1_hz - f0_hz) * t**2 / (2.0 * span)
    elif method == "logarithmic":
        if f0_hz == f1_hz:
            phase = f0_hz * t
        else:
            rate = np.log(f1_hz / f0_hz) / span
            phase = f0_hz * np.expm1(rate * t) / rate
    else:
        raise ParameterError(f"method must be 'linear' or 'logarithmic', given method={method!r}")
    return np.sin(2.0 * np.pi * phase)


#: Major and minor triads and single notes, as semitone offsets.
_CHORDS = ((0,), (0,), (0, 4, 7), (0, 3, 7), (0, 7), (0, 4))
#: A minor pentatonic scale over MIDI notes 40-74 (about 82-587 Hz).
_SCALE = tuple(note for note in range(40, 75) if note % 12 in (9, 0, 2, 4, 7))


def _note(freq_hz: float, n: int, sr: float, rng) -> np.ndarray:
    """One plucked/struck note: harmonics with 1/k^1.3 amplitudes and an attack-decay envelope."""
    t = np.arange(n) / sr
    ceiling = min(0.45 * sr, 5000.0)
    sound = np.zeros(n)
    k = 1
    while k * freq_hz < ceiling and k <= 40:
        stretch = 1.0 + 0.0004 * (k * k - 1)  # slight inharmonicity, as in strings
        amplitude = rng.uniform(0.6, 1.0) / k**1.3
        decay = np.exp(-t * rng.uniform(1.5, 4.0) * (1.0 + 0.3 * k))
        sound += amplitude * decay * np.sin(2.0 * np.pi * k * freq_hz * stretch * t + rng.uniform(0, 2 * np.pi))
        k += 1
    attack = min(n, max(1, int(rng.uniform(0.004, 0.02) * sr)))
    release = max(1, min(n // 4, int(0.03 * sr)))
    envelope = np.ones(n)
    envelope[:attack] = np.linspace(0.0, 1.0, attack, endpoint=False)
    envelope[n - release :] *= np.linspace(1.0, 0.0, release)
    return sound * envelope


def music(*, duration_seconds: float, sr: float, seed: int = 0) -> np.ndarray:
    """A few notes and chords with harmonics and envelopes, peak 1.

    Notes come from a pentatonic scale with fundamentals of about 82-587 Hz,
    so they sit below the Nyquist frequency of 1-2 kHz capture rates;
    harmonics stop below ``0.45 * sr``. Events last 0.15-0.6 s and ring 0.1 s
    into the next one.

    Parameters
    ----------
    duration_seconds, sr : float
    seed : int

    Returns
    -------
    np.ndarray [shape=(round(duration_seconds * sr),)], float64
        Peak 1.

    Examples
    --------
    >>> y = music(duration_seconds=1.0, sr=2200.0)
    >>> y.shape, float(np.max(np.abs(y)))
    ((2200,), 1.0)
    """
    n, sr = length_and_rate(duration_seconds, sr, min_sr=200.0, what="music with fundamentals above 80 Hz")
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    start = 0
    while start < n:
        length = int(rng.uniform(0.15, 0.6) * sr)
        ring = min(n - start, length + int(0.1 * sr))
        root = _SCALE[int(rng.integers(0, len(_SCALE) - 7))]
        for offset in _CHORDS[int(rng.integers(0, len(_CHORDS)))]:
            freq_hz = 440.0 * 2.0 ** ((root + offset - 69) / 12.0)
            if freq_hz < 0.45 * sr:
                out[start : start + ring] += _note(freq_hz, ring, sr, rng) * rng.uniform(0.5, 1.0)
        start += max(1, length)
    peak = np.max(np.abs(out))
    return out / peak if peak > 0 else out


def load_audio(path, *, sr: float) -> np.ndarray:
    """Read a sound file (anything ``soundfile`` reads), mix to mono and resample to ``sr``.

    Parameters
    ----------
    path : str or os.PathLike
    sr : float
        Wanted rate in Hz.

    Returns
    -------
    np.ndarray [shape=(n,)], float64
        Samples in the file's scale (-1..1 for PCM files).

    Examples
    --------
    >>> import soundfile, tempfile, os
    >>> name = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(name, np.zeros(4410), 44100)
    >>> load_audio(name, sr=2200).shape
    (220,)
    """
    import soundfile

    sr = check_positive(sr, "sr")
    if not os.path.isfile(path):
        raise ParameterError(f"no audio file at path={str(path)!r}")
    try:
        samples, file_sr = soundfile.read(path, dtype="float64", always_2d=True)
    except RuntimeError as exc:  # soundfile's LibsndfileError is one
        raise ParameterError(f"cannot read audio file path={str(path)!r}: {exc}") from None
    if samples.shape[0] == 0:
        raise ParameterError(f"audio file path={str(path)!r} holds no samples")
    return resample(samples.mean(axis=1), sr=file_sr, target_sr=sr)


def espeak_speech(text: str, *, sr: float, voice: str = "en-us", words_per_minute: int = 150) -> np.ndarray:
    """Real (synthetic) speech from the ``espeak-ng`` program, resampled to ``sr``, peak 1.

    Needs the ``espeak-ng`` binary (Debian package ``espeak-ng``); use
    :func:`vismic.synth.speech` where it may be missing.

    Parameters
    ----------
    text : str
    sr : float
    voice : str
        An ``espeak-ng --voices`` name.
    words_per_minute : int

    Returns
    -------
    np.ndarray [shape=(n,)], float64

    Raises
    ------
    vismic.errors.ParameterError
        When ``espeak-ng`` is not installed or fails.

    Examples
    --------
    >>> y = espeak_speech("hello", sr=2200)  # doctest: +SKIP
    """
    sr = check_positive(sr, "sr")
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(f"text must be a non-empty string, given text={text!r}")
    program = shutil.which("espeak-ng")
    if program is None:
        raise ParameterError(
            "espeak-ng is not installed (apt-get install espeak-ng); use vismic.synth.speech() instead"
        )
    with tempfile.TemporaryDirectory() as folder:
        name = os.path.join(folder, "speech.wav")
        result = subprocess.run(
            [program, "-v", str(voice), "-s", str(int(words_per_minute)), "-w", name, text],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0 or not os.path.isfile(name):
            raise ParameterError(
                f"espeak-ng failed for voice={voice!r}: {result.stderr.strip() or result.returncode}"
            )
        samples = load_audio(name, sr=sr)
    peak = np.max(np.abs(samples)) if samples.size else 0.0
    if peak == 0:
        raise ParameterError(f"espeak-ng produced silence for text={text!r}")
    return samples / peak
