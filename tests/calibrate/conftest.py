"""A simulated object: a mass-spring resonance (flat below, a peak, -12 dB/octave above)."""

import numpy as np
import pytest
from scipy import signal

from vismic import synth

SR = 2200.0
PEAK_HZ = 300.0
Q = 4.0


def resonance(*, sr=SR, peak_hz=PEAK_HZ, q=Q):
    """``(b, a)`` of a 2nd-order low-pass resonance, pre-warped so its natural frequency is ``peak_hz``."""
    w0 = 2 * sr * np.tan(np.pi * peak_hz / sr)
    return signal.bilinear([w0**2], [1.0, w0 / q, w0**2], fs=sr)


def object_filter(x, *, sr=SR, peak_hz=PEAK_HZ, q=Q):
    b, a = resonance(sr=sr, peak_hz=peak_hz, q=q)
    return signal.lfilter(b, a, x)


def true_magnitude_db(freqs_hz, *, sr=SR, peak_hz=PEAK_HZ, q=Q):
    b, a = resonance(sr=sr, peak_hz=peak_hz, q=q)
    _, h = signal.freqz(b, a, worN=np.asarray(freqs_hz), fs=sr)
    return 20 * np.log10(np.abs(h))


def true_peak_hz(*, sr=SR, peak_hz=PEAK_HZ, q=Q):
    freqs = np.linspace(1, sr / 2, 20000)
    return float(freqs[np.argmax(true_magnitude_db(freqs, sr=sr, peak_hz=peak_hz, q=q))])


def sweep(duration_seconds=2.0, *, sr=SR, f0_hz=30.0, f1_hz=1080.0):
    return synth.chirp(f0_hz=f0_hz, f1_hz=f1_hz, duration_seconds=duration_seconds, sr=sr, method="logarithmic")


@pytest.fixture(scope="package")
def calibration():
    """A 2 s sweep, the object's answer heard 37 samples late in a longer, slightly noisy recording."""
    rng = np.random.default_rng(7)
    played = sweep()
    answer = object_filter(played)
    recorded = np.concatenate([np.zeros(37), answer, np.zeros(100)])
    recorded = recorded + 0.01 * np.std(answer) * rng.standard_normal(recorded.size)
    return recorded, played


@pytest.fixture(scope="package")
def response(calibration):
    from vismic.calibrate import estimate_response

    recorded, played = calibration
    return estimate_response(recorded, played, sr=SR)
