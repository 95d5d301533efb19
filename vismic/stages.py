"""Every built-in stage, in pipeline order.

Frame stages (streaming): :class:`Unhold` (frames of an MPEG-4 part 2 file),
:class:`Magnify` (needs torch), :class:`NormaliseLight` or
:class:`Stabilise`, :class:`Decompose`,
:class:`LocalPhase`, :class:`BandSum`. Whole-signal stages: :class:`Combine`
(which also removes drift), then optionally :class:`BandLimit`,
:class:`vismic.calibrate.Equalise`, :class:`Denoise`. :class:`HighPass` is the
same drift removal as a stage of its own, for pipelines that need it elsewhere.
"""

from .combine import BandSum, Combine
from .decompose import Decompose
from .denoise import BandLimit, Denoise, HighPass
from .phase import LocalPhase

__all__ = ["Unhold", "Magnify", "NormaliseLight", "Stabilise", "Decompose", "LocalPhase", "BandSum", "Combine", "HighPass", "BandLimit", "Denoise"]


def __getattr__(name):
    if name == "Unhold":
        from .codec import Unhold

        return Unhold
    if name == "Magnify":
        from .magnify import Magnify

        return Magnify
    if name in ("NormaliseLight", "Stabilise"):
        from . import stabilise

        return getattr(stabilise, name)
    raise AttributeError(f"module 'vismic.stages' has no attribute {name!r}")
