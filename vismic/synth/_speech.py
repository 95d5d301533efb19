"""A built-in speech-like test signal: a small source-filter (formant) synthesiser.

No recording is needed, so tests run offline and deterministically. The signal
has what STOI listens to: a glottal pulse train whose pitch wanders over
90-200 Hz with phrase declination, vowel formants that move between
syllables, unvoiced frication, plosive bursts and aspiration, nasals, and
pauses between phrases. It is synthesised at 16 kHz and resampled to the rate
asked for (anti-aliased, like a microphone recording sampled at that rate).
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from ..io.wav import resample
from ._checks import length_and_rate

__all__ = ["speech"]

_SR = 16000.0
_BLOCK = 80  # samples per filter-coefficient update (5 ms)
_BANDWIDTHS_HZ = (70.0, 100.0, 150.0, 220.0, 280.0)
_HIGHER_FORMANTS_HZ = (3300.0, 3750.0)

#: Formants F1-F3 of vowels (Hz, adult male averages after Peterson & Barney).
_VOWELS = {
    "i": (270, 2290, 3010),
    "I": (390, 1990, 2550),
    "e": (530, 1840, 2480),
    "ae": (660, 1720, 2410),
    "a": (730, 1090, 2440),
    "o": (570, 840, 2410),
    "U": (440, 1020, 2240),
    "u": (300, 870, 2240),
    "V": (640, 1190, 2390),
    "er": (490, 1350, 1690),
}

#: Voiced consonants: formants, voicing amplitude, duration range in seconds.
_SONORANTS = {
    "m": ((250, 1100, 2300), 0.35, (0.05, 0.09)),
    "n": ((250, 1600, 2500), 0.35, (0.05, 0.09)),
    "l": ((360, 1300, 2700), 0.6, (0.05, 0.08)),
    "r": ((330, 1060, 1380), 0.6, (0.05, 0.08)),
    "w": ((300, 610, 2200), 0.6, (0.04, 0.07)),
    "y": ((260, 2070, 3020), 0.6, (0.04, 0.07)),
}

#: Fricatives: noise band (Hz), noise amplitude, voicing amplitude, duration range.
_FRICATIVES = {
    "s": ((3500, 7500), 0.30, 0.0, (0.08, 0.14)),
    "sh": ((2000, 4500), 0.35, 0.0, (0.08, 0.14)),
    "f": ((1000, 7500), 0.10, 0.0, (0.07, 0.12)),
    "z": ((3500, 7500), 0.15, 0.3, (0.06, 0.10)),
    "v": ((1000, 7500), 0.06, 0.3, (0.05, 0.09)),
    "h": (None, 0.25, 0.0, (0.05, 0.09)),
}

#: Plosives: burst band (Hz), F2 locus (Hz), voiced or not.
_PLOSIVES = {
    "p": ((500, 2000), 900, False),
    "t": ((3000, 6500), 1800, False),
    "k": ((1500, 3200), 2000, False),
    "b": ((500, 2000), 900, True),
    "d": ((3000, 6500), 1800, True),
    "g": ((1500, 3200), 2000, True),
}

_ONSETS = tuple(_SONORANTS) + tuple(_FRICATIVES) + tuple(_PLOSIVES)
_CODAS = ("m", "n", "s", "t", "k", "l", "r", "z", "d")


class _Tracks:
    """Per-sample control tracks at the internal rate."""

    def __init__(self, n: int):
        self.voicing = np.zeros(n)
        self.aspiration = np.zeros(n)
        self.f0 = np.full(n, np.nan)
        self.anchors: list = []  # (sample, (F1, F2, F3)) formant targets
        self.frication = np.zeros(n)


def _ramp(n: int, ramp: int) -> np.ndarray:
    """Flat-top window of length n with raised-cosine ramps."""
    window = np.ones(n)
    ramp = min(ramp, n // 2)
    if ramp > 0:
        edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        window[:ramp] = edge
        window[n - ramp :] = edge[::-1]
    return window


def _noise_band(band, n: int, rng) -> np.ndarray:
    sos = scipy.signal.butter(4, band, btype="bandpass", fs=_SR, output="sos")
    return scipy.signal.sosfilt(sos, rng.standard_normal(n + 256))[256:]


def _place(track: np.ndarray, start: int, values) -> None:
    stop = min(track.shape[0], start + np.shape(values)[0])
    if stop > start:
        track[start:stop] += np.asarray(values)[: stop - start]


def _syllable(tracks: _Tracks, cursor: int, rng, vowel_f0: float, end: int) -> int:
    """Write one consonant-vowel(-consonant) syllable starting at ``cursor``; return its end."""
    seconds = lambda low, high: int(rng.uniform(low, high) * _SR)  # noqa: E731
    vowel = list(_VOWELS)[int(rng.integers(0, len(_VOWELS)))]
    vowel_formants = _VOWELS[vowel]
    if rng.uniform() < 0.85:
        onset = _ONSETS[int(rng.integers(0, len(_ONSETS)))]
        cursor = _consonant(tracks, onset, cursor, rng, vowel_formants, vowel_f0)
    length = seconds(0.09, 0.22)
    window = _ramp(length, int(0.015 * _SR))
    _place(tracks.voicing, cursor, window)
    tracks.f0[cursor : cursor + length] = vowel_f0
    tracks.anchors.append((cursor + length // 5, vowel_formants))
    tracks.anchors.append((cursor + 4 * length // 5, vowel_formants))
    cursor += length
    if rng.uniform() < 0.4 and cursor < end:
        coda = _CODAS[int(rng.integers(0, len(_CODAS)))]
        cursor = _consonant(tracks, coda, cursor, rng, vowel_formants, vowel_f0)
    return cursor


def _consonant(tracks: _Tracks, name: str, cursor: int, rng, vowel_formants, f0: float) -> int:
    seconds = lambda low, high: int(rng.uniform(low, high) * _SR)  # noqa: E731
    if name in _SONORANTS:
        formants, amplitude, (low, high) = _SONORANTS[name]
        length = seconds(low, high)
        _place(tracks.voicing, cursor, amplitude * _ramp(length, int(0.01 * _SR)))
        tracks.f0[cursor : cursor + length] = f0
        tracks.anchors.append((cursor + length // 2, formants))
        return cursor + length
    if name in _FRICATIVES:
        band, noise, voicing, (low, high) = _FRICATIVES[name]
        length = seconds(low, high)
        window = _ramp(length, int(0.02 * _SR))
        if band is None:  # /h/: aspiration through the next vowel's formants
            _place(tracks.aspiration, cursor, noise * window)
        else:
            _place(tracks.frication, cursor, noise * window * _noise_band(band, length, rng))
        if voicing:
            _place(tracks.voicing, cursor, voicing * window)
            tracks.f0[cursor : cursor + length] = f0
        tracks.anchors.append((cursor + length // 2, vowel_formants))
        return cursor + length
    band, locus, voiced = _PLOSIVES[name]
    closure = seconds(0.04, 0.07)
    if voiced:  # voice bar: weak low-frequency voicing during the closure
        _place(tracks.voicing, cursor, 0.08 * _ramp(closure, int(0.005 * _SR)))
        tracks.f0[cursor : cursor + closure] = f0
        tracks.anchors.append((cursor + closure // 2, (200, locus, 2500)))
    cursor += closure
    burst = seconds(0.008, 0.015)
    _place(tracks.frication, cursor, 0.25 * _ramp(burst, 16) * _noise_band(band, burst, rng))
    cursor += burst
    if not voiced:
        aspiration = seconds(0.02, 0.045)
        _place(tracks.aspiration, cursor, 0.2 * _ramp(aspiration, int(0.005 * _SR)))
        cursor += aspiration
    tracks.anchors.append((cursor, (350, locus, 2600)))
    return cursor


def _glottal_source(f0_hz: np.ndarray, rng) -> np.ndarray:
    """Derivative of a Rosenberg glottal flow pulse train (includes lip radiation)."""
    jitter = 1.0 + 0.01 * scipy.signal.sosfilt(
        scipy.signal.butter(2, 30.0, fs=_SR, output="sos"), rng.standard_normal(f0_hz.shape[0])
    ) * 8.0
    phase = np.cumsum(f0_hz * jitter / _SR) % 1.0
    opening, closing = 0.4, 0.16
    flow = np.where(
        phase < opening,
        0.5 - 0.5 * np.cos(np.pi * phase / opening),
        np.where(phase < opening + closing, np.cos(0.5 * np.pi * (phase - opening) / closing), 0.0),
    )
    return np.diff(flow, prepend=0.0) * (_SR / 150.0)


def _formant_filter(excitation: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Cascade of time-varying two-pole resonators (Klatt), coefficients updated per block."""
    out = excitation.copy()
    n = out.shape[0]
    for k in range(formants.shape[0]):
        bandwidth = _BANDWIDTHS_HZ[k]
        state = np.zeros(2)
        for start in range(0, n, _BLOCK):
            freq = formants[k, min(n - 1, start + _BLOCK // 2)]
            c = -np.exp(-2.0 * np.pi * bandwidth / _SR)
            b = 2.0 * np.exp(-np.pi * bandwidth / _SR) * np.cos(2.0 * np.pi * freq / _SR)
            a = 1.0 - b - c
            out[start : start + _BLOCK], state = scipy.signal.lfilter(
                [a], [1.0, -b, -c], out[start : start + _BLOCK], zi=state
            )
    return out


def _pitch(tracks: _Tracks, phrases, rng) -> np.ndarray:
    """The pitch track: syllable targets with phrase declination, smoothed, with slow wander."""
    n = tracks.f0.shape[0]
    f0 = tracks.f0.copy()
    for start, stop, _ in phrases:
        f0[start:stop] *= np.linspace(1.0, 0.72, max(0, min(stop, n) - start))
    voiced = np.flatnonzero(~np.isnan(f0))
    if voiced.size == 0:
        return np.full(n, 120.0)
    f0 = np.interp(np.arange(n), voiced, f0[voiced])
    smooth = scipy.signal.butter(2, 8.0, fs=_SR, output="sos")
    f0 = scipy.signal.sosfiltfilt(smooth, f0)
    wander = scipy.signal.sosfiltfilt(scipy.signal.butter(2, 3.0, fs=_SR, output="sos"), rng.standard_normal(n))
    wander *= 0.06 / max(float(np.std(wander)), 1e-12)
    return np.clip(f0 * (1.0 + wander), 90.0, 200.0)


def speech(*, duration_seconds: float, sr: float, seed: int = 0) -> np.ndarray:
    """A speech-like test signal from a formant synthesiser, peak 1.

    Phrases of 2-5 "words" (1-3 syllables each) separated by 0.2-0.45 s
    pauses. Syllables are consonant-vowel(-consonant): ten vowels with
    formant targets after Peterson & Barney, formants interpolated between
    targets; nasals and approximants (voiced, low amplitude), fricatives
    (band-passed noise, some voiced), plosives (closure, burst, aspiration).
    The voice source is a Rosenberg glottal pulse train whose pitch starts
    each phrase at 130-200 Hz and falls by about a quarter (declination) with
    slow wander and per-syllable accents, clipped to 90-200 Hz. Synthesised at
    16 kHz and resampled to ``sr`` (anti-aliased).

    Parameters
    ----------
    duration_seconds : float
    sr : float
        Sample rate in Hz (at least 100 Hz).
    seed : int
        Picks the phonemes, durations and pitch.

    Returns
    -------
    np.ndarray [shape=(round(duration_seconds * sr),)], float64

    Examples
    --------
    >>> y = speech(duration_seconds=2.0, sr=8000.0)  # 2 s at 8 kHz, normalised to peak 1
    >>> len(y) == 16000 and bool(np.isclose(np.abs(y).max(), 1.0))
    True
    """
    n_out, sr = length_and_rate(duration_seconds, sr, min_sr=100.0, what="a speech signal")
    rng = np.random.default_rng(seed)
    n = int(np.ceil(n_out * _SR / sr))
    tracks = _Tracks(n + int(_SR))  # room for the last syllable to finish
    phrases = []
    cursor = min(int(rng.uniform(0.05, 0.15) * _SR), n // 4)  # a short lead-in of silence
    while cursor < n:
        phrase_start = cursor
        top = rng.uniform(130.0, 200.0)
        for _ in range(int(rng.integers(2, 6))):
            for _ in range(int(rng.integers(1, 4))):
                accent = 1.0 + (0.12 if rng.uniform() < 0.3 else 0.0)
                cursor = _syllable(tracks, cursor, rng, top * accent, n)
                if cursor >= n:
                    break
            if cursor >= n:
                break
            cursor += int(rng.uniform(0.0, 0.06) * _SR)
        phrases.append((phrase_start, cursor, top))
        cursor += int(rng.uniform(0.2, 0.45) * _SR)
    length = tracks.f0.shape[0]
    f0 = _pitch(tracks, phrases, rng)
    samples = [0] + [a for a, _ in tracks.anchors] + [length - 1]
    targets = [tracks.anchors[0][1]] + [t for _, t in tracks.anchors] + [tracks.anchors[-1][1]]
    samples, order = np.unique(np.asarray(samples), return_index=True)
    targets = np.asarray(targets, dtype=np.float64)[order]
    positions = np.arange(length)
    formants = np.stack(
        [np.interp(positions, samples, targets[:, k]) for k in range(3)]
        + [np.full(length, f) for f in _HIGHER_FORMANTS_HZ]
    )
    excitation = tracks.voicing * _glottal_source(f0, rng)
    excitation += tracks.aspiration * rng.standard_normal(length)
    voice = _formant_filter(excitation, formants)
    voice /= max(np.max(np.abs(voice)), 1e-12)
    signal = voice + tracks.frication
    signal = scipy.signal.sosfilt(scipy.signal.butter(2, 60.0, btype="highpass", fs=_SR, output="sos"), signal)
    out = resample(signal[:n], sr=_SR, target_sr=sr)[:n_out]
    if out.shape[0] < n_out:
        out = np.concatenate([out, np.zeros(n_out - out.shape[0])])
    peak = np.max(np.abs(out))
    return out / peak if peak > 0 else out
