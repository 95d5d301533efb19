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
    "UnreliableRecoveryError",
    "VismicWarning",
    "DamagedVideoWarning",
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


class UnreliableRecoveryError(VismicError, ValueError):
    """The recovery (or a calibration made from it) is not to be trusted, so nothing was written.

    ``vismic recover --strict`` raises it on any warning; ``vismic calibrate`` when the played
    sound is not visible in the recording.
    """


class VismicWarning(UserWarning):
    """Something looks wrong but vismic can go on (e.g. a given fps that contradicts the capture rate a file stores)."""


class DamagedVideoWarning(VismicWarning):
    """A video decoded to fewer frames than its container promises, or with frames missing.

    Attributes
    ----------
    expected : int or None
        Frames the container or header promises (None when it promises none).
    decoded : int
        Frames actually decoded.
    filled : tuple of int
        Indices (in the time axis vismic yields) of frames that were missing and were
        filled by repeating the frame before them, so that the time axis stays right.
    missing : int
        Frames the container promises beyond those yielded (filled ones included);
        where they were lost is unknown (the end of a truncated file, or a gap no
        time stamp shows).
    first_missing : int or None
        Index of the first filled frame, when any.
    """

    def __init__(self, message: str, *, expected=None, decoded: int = 0, filled=(), missing: int = 0,
                 first_missing=None):
        super().__init__(message)
        self.expected = expected
        self.decoded = decoded
        self.filled = tuple(filled)
        self.missing = missing
        self.first_missing = first_missing


class UnreliableRecoveryWarning(VismicWarning):
    """A recovery finished but should not be trusted: no motion, no texture, noise-dominated, distorted or clipped."""
