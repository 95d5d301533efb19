"""vismic: recover sound from silent high-speed video (the visual microphone).

Quick start
-----------
>>> import vismic
>>> rec = vismic.recover_sound("bag.avi", fps=2200)      # doctest: +SKIP
>>> rec.to_wav("bag.wav")                               # doctest: +SKIP

Subpackages, one per stage: :mod:`vismic.io` (video in, WAV out),
:mod:`vismic.magnify` (MagNet, needs torch), :mod:`vismic.decompose` (DTCWT),
:mod:`vismic.phase` (local phase), :mod:`vismic.combine` (bands to one
signal), :mod:`vismic.denoise`, :mod:`vismic.calibrate` (object response,
equalisation), :mod:`vismic.rolling` (rolling-shutter cameras); and :mod:`vismic.synth` (synthetic scenes),
:mod:`vismic.metrics` (quality and the Cramér-Rao bound), :mod:`vismic.plot`,
:mod:`vismic.testing` (``check_stage``). Names import lazily, so
``import vismic`` stays light.
"""

from __future__ import annotations

import importlib

from ._version import __version__

_SUBMODULES = {
    "io", "magnify", "decompose", "phase", "combine", "denoise", "synth", "metrics",
    "plot", "testing", "stages", "errors", "data", "pipeline", "recover", "cli", "calibrate",
    "rolling", "project", "report", "stabilise", "codec",
}
_NAMES = {
    "recover_sound": "recover",
    "Recovery": "recover",
    "Audio": "data",
    "MIN_FRAMES": "data",
    "default_pipeline": "recover",
    "Pipeline": "pipeline",
    "Stage": "pipeline",
    "VismicError": "errors",
    "ParameterError": "errors",
    "VideoError": "errors",
    "open_video": "io",
    "write_wav": "io",
}

__all__ = sorted(_SUBMODULES | set(_NAMES))


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'vismic' has no attribute {name!r}")


def __dir__():
    return __all__
