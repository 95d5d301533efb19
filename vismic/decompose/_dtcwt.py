"""Dual-tree complex wavelet transform of frame stacks (the ``dtcwt`` package)."""

from __future__ import annotations

import math
import warnings
from typing import Optional

import numpy as np

from .._checks import check_data, check_finite_frames
from ..data import FrameBatch, PyramidBatch, Reference
from ..errors import FrameShapeError, ParameterError
from ..pipeline import Stage
from ._gradient import image_gradient

#: Approximate orientation of the six DTCWT sub-bands, in the order ``dtcwt`` returns them
#: (degrees from the horizontal axis of the image; positive is counter-clockwise on screen).
DTCWT_ORIENTATIONS_DEGREES = (15.0, 45.0, 75.0, -75.0, -45.0, -15.0)

_transforms: dict = {}


def _transform(biort: str, qshift: str):
    key = (biort, qshift)
    if key not in _transforms:
        import dtcwt

        try:
            _transforms[key] = dtcwt.Transform2d(biort=biort, qshift=qshift)
        except (ValueError, IOError, KeyError) as exc:
            raise ParameterError(f"unknown DTCWT filters biort={biort!r}, qshift={qshift!r}: {exc}") from None
    return _transforms[key]


def max_levels(shape) -> int:
    """Largest useful number of levels for frames of ``shape=(height, width)``.

    The coarsest level keeps at least 4 coefficients along the smaller side.

    >>> max_levels((64, 48))
    3
    """
    from .._checks import check_shape

    smallest = min(check_shape(shape))
    levels = 0
    while smallest // 2 ** (levels + 1) >= 4:
        levels += 1
    return levels


def decompose(frames, *, n_levels: int = 4, biort: str = "near_sym_a", qshift: str = "qshift_a"):
    """DTCWT of each frame.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
        Grayscale frames.
    n_levels : int
        Number of decomposition levels.
    biort, qshift : str
        Filter names understood by the ``dtcwt`` package.

    Returns
    -------
    highpasses : tuple of np.ndarray [shape=(n, height_l, width_l, 6)], complex128
        One array per level, finest first.
    lowpass : np.ndarray [shape=(n, height_L, width_L)]

    Examples
    --------
    >>> import numpy as np
    >>> highpasses, lowpass = decompose(np.zeros((2, 64, 64)), n_levels=3)
    >>> [h.shape for h in highpasses]
    [(2, 32, 32, 6), (2, 16, 16, 6), (2, 8, 8, 6)]
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    n_levels = _check_levels(n_levels, frames.shape[1:])
    transform = _transform(biort, qshift)
    if len(frames) == 0:
        raise FrameShapeError("cannot decompose an empty stack of frames")
    check_finite_frames(frames)
    from ._fast import forward, supported_filters

    if supported_filters(transform.biort, transform.qshift):
        # Batched implementation of the same transform (agrees with the package to ~1e-15).
        return forward(frames, n_levels, transform.biort, transform.qshift)
    levels = [[] for _ in range(n_levels)]
    lowpasses = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for frame in frames:
            pyramid = transform.forward(np.asarray(frame, dtype=np.float64), nlevels=n_levels)
            for level, h in enumerate(pyramid.highpasses):
                levels[level].append(h)
            lowpasses.append(pyramid.lowpass)
    return tuple(np.stack(level) for level in levels), np.stack(lowpasses)


def _check_levels(n_levels, shape) -> int:
    limit = max_levels(shape)
    if limit == 0:
        raise FrameShapeError(f"frames of {shape[1]}x{shape[0]} px are too small: the decomposition needs at least "
                              "8x8 px (a larger --roi, or less --downsample)")
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)) or n_levels < 1:
        raise ParameterError(f"n_levels must be a positive integer, given n_levels={n_levels!r}")
    if n_levels > limit:
        raise ParameterError(
            f"n_levels={n_levels} (--levels) is too many for frames of size {shape[1]}x{shape[0]}: at most {limit}"
        )
    return int(n_levels)


def reference_pyramid(frame, *, n_levels: int = 4, biort: str = "near_sym_a", qshift: str = "qshift_a"):
    """DTCWT of a reference frame and of its spatial derivatives.

    Parameters
    ----------
    frame : np.ndarray [shape=(height, width)]

    Returns
    -------
    Reference
        ``highpasses``, ``gradient_x`` and ``gradient_y``, each a tuple with one
        ``(height_l, width_l, 6)`` complex array per level.
    """
    frame = np.asarray(frame, dtype=np.float64)
    if frame.ndim != 2:
        raise FrameShapeError(f"a reference frame must have shape (height, width), given shape={frame.shape}"
                              + (" (frames: give one, or their mean)" if frame.ndim == 3 else ""))
    if not np.all(np.isfinite(frame)):
        raise ParameterError("the reference frame contains NaN or infinite pixels")
    gx, gy = image_gradient(frame)
    highpasses, _ = decompose(np.stack([frame, gx, gy]), n_levels=n_levels, biort=biort, qshift=qshift)
    return Reference(
        tuple(h[0] for h in highpasses),
        tuple(h[1] for h in highpasses),
        tuple(h[2] for h in highpasses),
    )


#: Seconds of video an ``n_reference_frames='auto'`` reference averages (:func:`vismic.default_pipeline`'s):
#: a period of the 20 Hz high-pass. The mean of the first 16 frames (7 ms at 2200 fps) sat where a loud low
#: note had moved the object, off the motion's centre, and every band read a second harmonic of the note from
#: there: tones of 0.22 px at 25-100 Hz read 33.2-38.6 dB against 39.1-42.6 from 50 ms, and 100 ms read the
#: same (one-off).
REFERENCE_SECONDS = 0.05
#: The fewest frames an ``'auto'`` reference averages (their mean removes the reference's own sensor noise).
MIN_REFERENCE_FRAMES = 16
#: The most bytes of float32 frames an ``'auto'`` reference holds back: large frames at high rates average
#: fewer than :data:`REFERENCE_SECONDS` (at least :data:`MIN_REFERENCE_FRAMES`).
REFERENCE_BYTES = 64 * 2 ** 20


def check_reference_frames(k, name: str = "n_reference_frames"):
    """``k`` as a frame count for a reference (or ``'auto'``), or :class:`ParameterError`."""
    if isinstance(k, str) and k == "auto":
        return k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"{name} must be a positive integer or 'auto', given {k!r}")
    return int(k)


def reference_frame_count(k, batch: FrameBatch, name: str = "n_reference_frames") -> int:
    """The frames a reference of ``n_reference_frames=k`` averages in a video whose first batch is ``batch``.

    ``'auto'``: the first :data:`REFERENCE_SECONDS` of the video, at least :data:`MIN_REFERENCE_FRAMES`
    frames and at most :data:`REFERENCE_BYTES` of them.

    >>> batch = FrameBatch(np.zeros((4, 32, 32), np.float32), start=0, fps=2200.0)
    >>> reference_frame_count("auto", batch), reference_frame_count(8, batch)
    (110, 8)
    """
    k = check_reference_frames(k, name)
    if k != "auto":
        return k
    wanted = max(MIN_REFERENCE_FRAMES, math.ceil(REFERENCE_SECONDS * batch.fps))
    frame_bytes = 4 * int(np.prod(batch.frames.shape[1:]))
    return max(MIN_REFERENCE_FRAMES, min(wanted, REFERENCE_BYTES // max(frame_bytes, 1)))


class HeldFrames:
    """Batches held back until the first reference frames of the video have arrived.

    For stages whose reference is the mean of the video's first frames
    (:class:`Decompose`, :class:`vismic.project.Project`): holding the batches
    makes the result independent of how the video is split into batches.
    ``count`` is the number of frames the reference averages, known from the first batch.
    """

    def __init__(self):
        self._batches = []
        self.count: Optional[int] = None

    def add(self, batch: FrameBatch, n_reference_frames) -> Optional[FrameBatch]:
        """Hold ``batch``; once the reference's frames are held, release them all (else None)."""
        if self.count is None:
            self.count = reference_frame_count(n_reference_frames, batch)
        self._batches.append(batch)
        if sum(len(b) for b in self._batches) < self.count:
            return None
        return self.release()

    def release(self) -> Optional[FrameBatch]:
        """Every frame held, as one batch (None when none is), and hold nothing more."""
        if not self._batches:
            return None
        batches, self._batches = self._batches, []
        return FrameBatch.concat(batches) if len(batches) > 1 else batches[0]


class Decompose(Stage):
    """Stage: :class:`~vismic.data.FrameBatch` -> :class:`~vismic.data.PyramidBatch`.

    Parameters
    ----------
    n_levels : int or None
        ``None`` picks ``min(4, max_levels(frame size))``.
    biort, qshift : str
        DTCWT filters.
    n_reference_frames : int or 'auto'
        The reference frame is the mean of the video's first ``n_reference_frames``
        frames (``'auto'``: its first 50 ms, see :func:`reference_frame_count`, as
        :func:`vismic.default_pipeline` takes it);
        its pyramid and derivative pyramids ride along with every batch.
        Averaging removes the reference's own sensor noise, which otherwise costs
        up to 2 dB on noisy, low-contrast scenes, and sets it at the centre of
        the sound's motion. The stage holds frames back
        until it has them all (or the video ends, see :meth:`flush`), so the
        result does not depend on how the video is split into batches.
    """

    streaming = True

    def __init__(self, n_levels=None, biort: str = "near_sym_a", qshift: str = "qshift_a", n_reference_frames=16):
        self.n_levels = n_levels
        self.biort = biort
        self.qshift = qshift
        self.n_reference_frames = n_reference_frames
        self.reset()

    def reset(self) -> None:
        self._reference = None
        self._held = HeldFrames()

    def _levels(self, batch: FrameBatch) -> int:
        return self.n_levels if self.n_levels is not None else min(4, max_levels(batch.shape))

    def _decompose(self, batch: FrameBatch) -> PyramidBatch:
        highpasses, lowpass = decompose(batch.frames, n_levels=self._levels(batch), biort=self.biort, qshift=self.qshift)
        return PyramidBatch(highpasses, lowpass, batch.start, batch.fps, self._reference)

    def _start(self, held: Optional[FrameBatch]) -> Optional[PyramidBatch]:
        """Choose the reference from the frames held back, and decompose them."""
        if held is None:
            return None
        self._reference = reference_pyramid(
            held.frames[: self._held.count].mean(axis=0), n_levels=self._levels(held),
            biort=self.biort, qshift=self.qshift,
        )
        return self._decompose(held)

    def transform(self, batch: FrameBatch) -> Optional[PyramidBatch]:
        check_data(batch, FrameBatch, "Decompose")
        if self._reference is not None:
            return self._decompose(batch)
        return self._start(self._held.add(batch, self.n_reference_frames))

    def flush(self) -> Optional[PyramidBatch]:
        """The frames held back when the video is shorter than ``n_reference_frames``."""
        return self._start(self._held.release())
