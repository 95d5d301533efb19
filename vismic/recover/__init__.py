"""End-to-end recovery: video in, sound out.

:func:`recover_sound` checks its arguments against the video before reading it
(``_checks``), runs the pipeline :func:`default_pipeline` makes (``_pipeline``) once over
the frames (``_once``), and again with a step added where that pass's findings call for
one: a stabiliser for large slow motion, a stronger low-pass for a fast camera in
downsampled frames, :class:`~vismic.codec.Unhold` for a codec's held blocks (``_passes``).
A codec's key frames (``_key_frames``) and blank frames (``_blanks``) are handled on the way.
"""

from ..data import MIN_FRAMES, Audio
from ._key_frames import KEY_FRAME_CODECS
from ._once import MAX_THREADS, MIN_CHUNK_FOR_THREADS
from ._pipeline import (
    DEFAULT_GRID,
    HIGHPASS_DEFAULT_HZ,
    MIN_CUTOFF_HZ,
    UNHELD_MAX_GRID,
    default_pipeline,
    stabiliser_for,
)
from ._sound import recover_sound

__all__ = ["Recovery", "default_pipeline", "recover_sound", "MIN_FRAMES"]

#: What :func:`recover_sound` returns: the pipeline's own :class:`~vismic.data.Audio`
#: (``samples`` or ``audio``, ``sr``, ``info``, ``noise``, ``to_wav``). Kept as a
#: name for code written against earlier versions.
Recovery = Audio
