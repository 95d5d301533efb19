"""Calibration: measure how the filmed object filters sound, and undo it.

Objects filter sound: the motion recovered from video is the sound passed through the
object's frequency response ``H(f)`` (resonances, roll-off). Film the object once while
a known signal plays (a sweep or noise), estimate ``H`` with
:func:`estimate_response` (Welch cross-spectra, the H1 estimator, with coherence), keep
it (:meth:`Response.save`, :func:`load_response`), and equalise later recoveries from
the same set-up with :func:`equalise` or the :class:`Equalise` stage (a regularised
inverse filter that also undoes the object's minimum phase by default, whose boosts
are limited where the calibration saw little).

On the command line: ``vismic calibrate VIDEO --fps HZ --played SOUND.wav -o
RESPONSE.npz`` (see :mod:`vismic.calibrate.cli`). In a pipeline,
:func:`add_equaliser` puts the :class:`Equalise` step after the combination (which
removes drift) and before denoising: the equaliser reshapes the noise spectrum the
audio carries, and the denoiser removes that shape.

Examples
--------
>>> import numpy as np
>>> from scipy import signal
>>> from vismic import synth, calibrate
>>> sr = 2200.0
>>> b, a = signal.iirpeak(300, 3, fs=sr)                    # the object: a resonance at 300 Hz
>>> sweep = synth.chirp(f0_hz=40, f1_hz=1050, duration_seconds=4, sr=sr, method="logarithmic")
>>> response = calibrate.estimate_response(signal.lfilter(b, a, sweep), sweep, sr=sr)
>>> abs(response.peak_hz() - 300) < 10
True
>>> flat = calibrate.equalise(signal.lfilter(b, a, synth.music(duration_seconds=1, sr=sr)), response)
"""

from ._equalise import PHASES, Equalise, add_equaliser, equalise, inverse_filter, inverse_gain, object_minimum_phase
from ._response import (
    MIN_SEGMENTS,
    Response,
    ResponseNotFoundError,
    default_n_fft,
    estimate_response,
    find_lag,
    load_response,
    smooth_octaves,
)

__all__ = [
    "Response",
    "ResponseNotFoundError",
    "estimate_response",
    "load_response",
    "equalise",
    "inverse_gain",
    "inverse_filter",
    "object_minimum_phase",
    "PHASES",
    "Equalise",
    "add_equaliser",
    "find_lag",
    "smooth_octaves",
    "default_n_fft",
    "MIN_SEGMENTS",
]
