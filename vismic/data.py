"""Small self-checking containers that travel between stages.

Frames are streamed as :class:`FrameBatch` objects; the DTCWT turns them into
:class:`PyramidBatch`, the local-phase stage into :class:`PhaseBatch`, and the
per-band reduction into :class:`BandSignals`, which is small enough to be
concatenated over the whole video. After that, stages work on whole signals
(:class:`BandSignals`, then :class:`Audio`).

Time is always the last axis; ``start`` is the index of the first frame of a
batch in the whole video.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .errors import FrameShapeError, ParameterError

__all__ = ["FrameBatch", "Reference", "PyramidBatch", "PhaseBatch", "BandSignals", "Audio"]
MIN_FRAMES = 32  # fewest frames vismic recovers sound from, rolling shutter included


def _check_rate(value: float, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number, given {name}={value!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be a positive number, given {name}={value!r}")
    return value


@dataclass
class FrameBatch:
    """Consecutive grayscale frames.

    Attributes
    ----------
    frames : np.ndarray [shape=(n, height, width)], floating
        Grey levels in the video's own units (0-255 for 8-bit video).
    start : int
        Index of ``frames[0]`` in the whole video.
    fps : float
        Capture rate in frames per second.
    """

    frames: np.ndarray
    start: int
    fps: float

    def __post_init__(self):
        self.frames = np.asarray(self.frames)
        if self.frames.ndim != 3:
            raise FrameShapeError(
                f"frames must have shape (n, height, width), given shape={self.frames.shape}"
            )
        if not np.issubdtype(self.frames.dtype, np.floating):
            self.frames = self.frames.astype(np.float32)
        self.start = int(self.start)
        self.fps = _check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.frames.shape[0]

    @property
    def shape(self) -> tuple:
        """Frame size ``(height, width)``."""
        return self.frames.shape[1:]

    @classmethod
    def concat(cls, batches: Sequence["FrameBatch"]) -> "FrameBatch":
        batches = list(batches)
        return cls(np.concatenate([b.frames for b in batches]), batches[0].start, batches[0].fps)


@dataclass
class Reference:
    """DTCWT of the reference frame and of its spatial derivatives.

    Attributes
    ----------
    highpasses : tuple of np.ndarray [shape=(height_l, width_l, n_orientations)], complex
    gradient_x, gradient_y : tuple of np.ndarray, same shapes, optional
        DTCWT of the reference frame's derivative along x (columns) and y (rows),
        per pixel. The transform is linear, so these are the exact derivatives of
        the coefficients with respect to a shift of the image.
    """

    highpasses: tuple
    gradient_x: Optional[tuple] = None
    gradient_y: Optional[tuple] = None

    def __post_init__(self):
        self.highpasses = tuple(np.asarray(h) for h in self.highpasses)
        for name in ("gradient_x", "gradient_y"):
            value = getattr(self, name)
            if value is None:
                continue
            value = tuple(np.asarray(g) for g in value)
            if [g.shape for g in value] != [h.shape for h in self.highpasses]:
                raise FrameShapeError(f"{name} shapes do not match the reference highpasses")
            setattr(self, name, value)


@dataclass
class PyramidBatch:
    """DTCWT sub-bands of consecutive frames.

    Attributes
    ----------
    highpasses : tuple of np.ndarray, complex
        One array per level, finest first, each of shape
        ``(n, height_l, width_l, n_orientations)``.
    lowpass : np.ndarray [shape=(n, height_L, width_L)]
        Residual lowpass image of each frame.
    start, fps
        As in :class:`FrameBatch`.
    reference : Reference, optional
        The reference frame's pyramid (and derivatives) when the decomposition
        stage chose one; otherwise the local-phase stage uses the first frame.
    """

    highpasses: tuple
    lowpass: np.ndarray
    start: int
    fps: float
    reference: Optional[Reference] = None

    def __post_init__(self):
        self.highpasses = tuple(np.asarray(h) for h in self.highpasses)
        if not self.highpasses:
            raise ParameterError("a pyramid needs at least one level")
        n = self.highpasses[0].shape[0]
        for level, h in enumerate(self.highpasses):
            if h.ndim != 4 or h.shape[0] != n:
                raise FrameShapeError(
                    f"highpasses[{level}] must have shape (n={n}, height, width, orientations), "
                    f"given shape={h.shape}"
                )
        self.start = int(self.start)
        self.fps = _check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.highpasses[0].shape[0]

    @property
    def n_levels(self) -> int:
        return len(self.highpasses)

    @property
    def n_orientations(self) -> int:
        return self.highpasses[0].shape[-1]


@dataclass
class PhaseBatch:
    """Local phase and log-amplitude of each coefficient relative to a reference frame.

    A shift ``d`` (px, 2-vector x, y) of the image changes a coefficient's phase by
    ``-frequency . d`` and its log-amplitude by ``-amplitude_gradient . d``.

    Attributes
    ----------
    phase : tuple of np.ndarray [shape=(n, height_l, width_l, n_orientations)], float32
        Phase difference in radians, wrapped to (-pi, pi], one array per level.
    log_amplitude : tuple of np.ndarray [shape=(n, height_l, width_l, n_orientations)], float32
        ``log(|c| / |c_reference|)``.
    amplitude : tuple of np.ndarray [shape=(height_l, width_l, n_orientations)]
        Amplitude of the reference frame's coefficients.
    frequency : tuple of np.ndarray [shape=(height_l, width_l, n_orientations, 2)], optional
        Local spatial frequency (rad/px, x then y) of each reference coefficient.
    amplitude_gradient : tuple of np.ndarray [shape=(height_l, width_l, n_orientations, 2)], optional
        Gradient of the log-amplitude (1/px, x then y).
    start, fps
        As in :class:`FrameBatch`.
    """

    phase: tuple
    log_amplitude: tuple
    amplitude: tuple
    start: int
    fps: float
    frequency: Optional[tuple] = None
    amplitude_gradient: Optional[tuple] = None

    def __post_init__(self):
        self.phase = tuple(np.asarray(p) for p in self.phase)
        self.log_amplitude = tuple(np.asarray(p) for p in self.log_amplitude)
        self.amplitude = tuple(np.asarray(a) for a in self.amplitude)
        if not len(self.phase) == len(self.amplitude) == len(self.log_amplitude):
            raise FrameShapeError(
                f"phase, log_amplitude and amplitude have {len(self.phase)}, "
                f"{len(self.log_amplitude)} and {len(self.amplitude)} levels"
            )
        for level, (p, la, a) in enumerate(zip(self.phase, self.log_amplitude, self.amplitude)):
            if p.shape[1:] != a.shape or la.shape != p.shape:
                raise FrameShapeError(
                    f"level {level}: phase {p.shape}, log_amplitude {la.shape} and amplitude {a.shape} disagree"
                )
        self.start = int(self.start)
        self.fps = _check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.phase[0].shape[0]


@dataclass
class BandSignals:
    """Motion evidence per band and region, small enough to hold for the whole video.

    For band ``b`` (level, orientation, region) the least-squares displacement
    estimate of frame ``t`` in px is ``solve(information[b], scores[b, :, t])``;
    pooling bands means adding their scores and informations.

    Attributes
    ----------
    scores : np.ndarray [shape=(n_levels, n_orientations, n_regions, 2, n)]
        Amplitude^2-weighted sums of ``frequency * phase`` (x, y components).
    information : np.ndarray [shape=(n_levels, n_orientations, n_regions, 2, 2)]
        Amplitude^2-weighted sums of ``frequency frequency^T``: the Fisher
        information of the band up to the (unknown) noise variance.
    start, fps
        As in :class:`FrameBatch`.
    """

    scores: np.ndarray
    information: np.ndarray
    start: int
    fps: float

    def __post_init__(self):
        self.scores = np.asarray(self.scores, dtype=np.float64)
        self.information = np.asarray(self.information, dtype=np.float64)
        if self.scores.ndim != 5 or self.scores.shape[3] != 2:
            raise FrameShapeError(
                "scores must have shape (n_levels, n_orientations, n_regions, 2, n), "
                f"given shape={self.scores.shape}"
            )
        if self.information.shape != self.scores.shape[:3] + (2, 2):
            raise FrameShapeError(
                f"information shape {self.information.shape} does not match scores shape {self.scores.shape}"
            )
        self.start = int(self.start)
        self.fps = _check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.scores.shape[-1]

    @property
    def n_regions(self) -> int:
        return self.scores.shape[2]

    @classmethod
    def concat(cls, parts: Sequence["BandSignals"]) -> "BandSignals":
        parts = list(parts)
        return cls(
            np.concatenate([p.scores for p in parts], axis=-1),
            parts[0].information,
            parts[0].start,
            parts[0].fps,
        )

    def displacement(self) -> np.ndarray:
        """Per-band least-squares displacement (px), shape ``(n_levels, n_orientations, n_regions, 2, n)``.

        Directions a band cannot see (tiny information) are regularised towards zero.
        """
        info = self.information
        scale = np.trace(info, axis1=-2, axis2=-1)[..., None, None]
        regularised = info + 1e-6 * scale * np.eye(2) + np.finfo(float).tiny * np.eye(2)
        return np.linalg.solve(regularised[..., None, :, :], np.moveaxis(self.scores, -1, -2)[..., None])[
            ..., 0
        ].swapaxes(-1, -2)


@dataclass
class Audio:
    """Recovered sound.

    Attributes
    ----------
    samples : np.ndarray [shape=(n,) or (n_channels, n)], float64
    sr : float
        Sample rate in Hz (the capture rate until resampled).
    info : dict
        What the stages that produced it want to report (band weights, maps...).
    """

    samples: np.ndarray
    sr: float
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.samples = np.asarray(self.samples, dtype=np.float64)
        if self.samples.ndim not in (1, 2):
            raise FrameShapeError(
                f"audio samples must have shape (n,) or (n_channels, n), given shape={self.samples.shape}"
            )
        self.sr = _check_rate(self.sr, "sr")

    def __len__(self) -> int:
        return self.samples.shape[-1]

    @property
    def duration_seconds(self) -> float:
        return len(self) / self.sr
