"""One error hierarchy for vismic.

Every error vismic raises on purpose derives from :class:`VismicError` and also
from the matching built-in, so ``except ValueError`` or ``except OSError`` in
user code keeps working.
"""

from __future__ import annotations

__all__ = [
    "VismicError",
    "ParameterError",
    "VideoError",
    "VideoNotFoundError",
    "CorruptVideoError",
    "TooFewFramesError",
    "FrameShapeError",
    "OutputError",
    "ModelError",
    "VismicWarning",
    "UnreliableRecoveryWarning",
]


class VismicError(Exception):
    """Base class of every error raised by vismic."""


class ParameterError(VismicError, ValueError):
    """A parameter has a value vismic cannot work with (names the value)."""


class VideoError(VismicError, ValueError):
    """A video, frame folder or frame array cannot be read or is not usable."""


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The video file or frame folder does not exist."""


class CorruptVideoError(VideoError):
    """A camera file is damaged or inconsistent: shorter than its header promises, a header
    that contradicts its data, a bit depth vismic does not know, or a header without its data file."""


class TooFewFramesError(VideoError):
    """The video has fewer frames than the method needs."""


class FrameShapeError(VideoError):
    """Frames of one video differ in size, or an array has the wrong shape."""


class OutputError(VismicError, OSError):
    """An output file cannot be written."""


class ModelError(VismicError, ValueError):
    """A model or weights file cannot be loaded or used."""


class VismicWarning(UserWarning):
    """Something looks wrong but vismic can go on (e.g. a playback rate given as capture rate)."""


class UnreliableRecoveryWarning(VismicWarning):
    """A recovery finished but should not be trusted: no motion, no texture, noise-dominated, distorted or clipped."""
