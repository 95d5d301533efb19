import numpy as np
import pytest

SR = 2200


def harmonic_notes(sr=SR, duration_seconds=3.0, seed=0):
    """Harmonic notes (110-440 Hz, 4 harmonics) of 0.25-0.45 s with short gaps, unit RMS."""
    rng = np.random.default_rng(seed)
    n = int(duration_seconds * sr)
    out = np.zeros(n)
    pos = int(0.05 * sr)
    while True:
        length = int(rng.uniform(0.25, 0.45) * sr)
        if pos + length >= n:
            break
        t = np.arange(length) / sr
        f0 = rng.uniform(110, 440)
        note = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k
                   for k in range(1, 5) if k * f0 < 0.45 * sr)
        envelope = np.minimum(t / 0.02, 1.0) * np.minimum((t[-1] - t) / 0.02, 1.0)
        out[pos:pos + length] = note * envelope
        pos += length + int(rng.uniform(0.05, 0.15) * sr)
    return out / np.sqrt(np.mean(out ** 2))


def add_white_noise(clean, snr_db, seed=1):
    """``clean`` plus white noise at ``snr_db``; also returns the noise standard deviation."""
    std = np.sqrt(np.mean(clean ** 2) / 10 ** (snr_db / 10))
    return clean + std * np.random.default_rng(seed).standard_normal(clean.shape), std


def si_snr(reference, estimate):
    reference = reference - reference.mean()
    estimate = estimate - estimate.mean()
    target = np.dot(estimate, reference) / np.dot(reference, reference) * reference
    return 10 * np.log10(np.sum(target ** 2) / np.sum((estimate - target) ** 2))


@pytest.fixture
def notes():
    return harmonic_notes()
