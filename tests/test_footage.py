"""Real high-speed footage (../shared/footage); skipped when the folder is absent."""

import warnings

import numpy as np
from scipy import signal

import vismic


def test_guitar_string_frequency_shows(footage_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the H.264 codec's warning
        rec = vismic.recover_sound(footage_dir / "guitar.mp4", fps=600, denoise=None)
    freqs, power = signal.welch(rec.audio, fs=600, nperseg=256)
    band = (freqs > 60) & (freqs < 130)
    peak = freqs[band][np.argmax(power[band])]
    assert abs(peak - 82.4) < 4  # the low E string
    assert 10 * np.log10(power[band].max() / np.median(power)) > 15
    # an H.264 file: its codec is named and flagged, though its frames hold no block still
    assert rec.info["codec"].lower() in ("h264", "avc1")
    assert "lossy_codec" in rec.info["reliability"]
