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
from typing import Sequence

import numpy as np

from .errors import FrameShapeError, ParameterError

__all__ = ["FrameBatch", "PyramidBatch", "PhaseBatch", "BandSignals", "Audio"]


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
    """

    highpasses: tuple
    lowpass: np.ndarray
    start: int
    fps: float

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
    """Local phase of each sub-band coefficient relative to a reference frame.

    Attributes
    ----------
    phase : tuple of np.ndarray [shape=(n, height_l, width_l, n_orientations)]
        Phase difference in radians, wrapped to (-pi, pi], one array per level.
    amplitude : tuple of np.ndarray [shape=(height_l, width_l, n_orientations)]
        Amplitude of the reference frame's coefficients, one array per level.
    start, fps
        As in :class:`FrameBatch`.
    """

    phase: tuple
    amplitude: tuple
    start: int
    fps: float

    def __post_init__(self):
        self.phase = tuple(np.asarray(p) for p in self.phase)
        self.amplitude = tuple(np.asarray(a) for a in self.amplitude)
        if len(self.phase) != len(self.amplitude):
            raise FrameShapeError(
                f"phase has {len(self.phase)} levels but amplitude has {len(self.amplitude)}"
            )
        for level, (p, a) in enumerate(zip(self.phase, self.amplitude)):
            if p.shape[1:] != a.shape:
                raise FrameShapeError(
                    f"level {level}: phase shape {p.shape} does not match amplitude shape {a.shape}"
                )
        self.start = int(self.start)
        self.fps = _check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.phase[0].shape[0]


@dataclass
class BandSignals:
    """One motion signal per band and region: ``values[level, orientation, region, time]``.

    Attributes
    ----------
    values : np.ndarray [shape=(n_levels, n_orientations, n_regions, n)]
        Amplitude-weighted mean phase of each band (and spatial region).
    weights : np.ndarray [shape=(n_levels, n_orientations, n_regions)]
        Total weight behind each signal (larger means more reliable).
    start, fps
        As in :class:`FrameBatch`.
    """

    values: np.ndarray
    weights: np.ndarray
    start: int
    fps: float

    def __post_init__(self):
        self.values = np.asarray(self.values, dtype=np.float64)
        self.weights = np.asarray(self.weights, dtype=np.float64)
        if self.values.ndim != 4:
            raise FrameShapeError(
                "values must have shape (n_levels, n_orientations, n_regions, n), "
                f"given shape={self.values.shape}"
            )
        if self.weights.shape != self.values.shape[:3]:
            raise FrameShapeError(
                f"weights shape {self.weights.shape} does not match values shape {self.values.shape}"
            )
        self.start = int(self.start)
        self.fps = _check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.values.shape[-1]

    @classmethod
    def concat(cls, parts: Sequence["BandSignals"]) -> "BandSignals":
        parts = list(parts)
        return cls(
            np.concatenate([p.values for p in parts], axis=-1),
            parts[0].weights,
            parts[0].start,
            parts[0].fps,
        )


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
