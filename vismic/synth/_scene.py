"""Rendering of synthetic high-speed scenes with exact sub-pixel motion.

The object's motion at pixel ``x`` and frame ``t`` is
``displacement_px[t] * mode_shape[x] * u`` with ``u = (cos θ, sin θ)`` in
image coordinates (x to the right, y down: positive angles turn clockwise on
screen). Frame ``t`` is ``I_t(x) = T(x - displacement_px[t] * mode_shape[x] * u)``,
so the texture content moves by ``+displacement_px[t] * mode_shape[x]`` along ``u``.

``T`` is the band-limited image through the texture's samples after a
half-sample symmetric (reflected) extension: the cosine series of its DCT-II,
equivalently the Fourier interpolant of the 2h x 2w mirrored texture. Every
frame samples this one continuous image, so rendering is exact (to ~1e-12
grey levels) for any sub-pixel motion, and its derivative is exactly the one
:func:`vismic.metrics.cramer_rao_bound` uses. (``cv2.remap`` would round
positions to 1/32 px; cubic splines differ from the band-limited image by
1-2.5 dB of motion information in photographs.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np

from ..data import FrameBatch, brief_repr
from ..errors import FrameShapeError, ParameterError
from ._sensor import sense
from ._checks import (
    check_direction,
    check_non_negative,
    check_positive,
    check_shape,
    check_signal,
    check_texture,
    unit_vector,
)
from .._checks import check_array, check_choice, check_positive_int, check_range, check_rate
from ._fourier import _Shifter
from ._warp import _TAYLOR_LIMIT_PX, _Warper

__all__ = ["Scene", "render_scene", "render_frames", "make_displacement", "membrane_mode", "object_mask"]

#: Frames rendered at once (per DCT batch or spline call), and per noise draw.
_BATCH = 16


class _RenderedVideo:
    """What every rendered video offers: its ``frames`` (n, height, width) at ``fps``, counted and batched."""

    def __len__(self) -> int:
        return self.frames.shape[0]

    @property
    def shape(self) -> tuple:
        """Frame size ``(height, width)``."""
        return self.frames.shape[1:]

    def batches(self, batch_size: int = 64) -> Iterator[FrameBatch]:
        """The frames as consecutive :class:`~vismic.data.FrameBatch` objects (float32 copies).

        Examples
        --------
        >>> scene = render_scene(np.random.default_rng(0).uniform(0, 255, (16, 16)), np.zeros(10))
        >>> [len(b) for b in scene.batches(4)]
        [4, 4, 2]
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        for start in range(0, len(self), batch_size):
            chunk = self.frames[start : start + batch_size].astype(np.float32)
            yield FrameBatch(chunk, start, self.fps)


@dataclass
class Scene(_RenderedVideo):
    """A rendered synthetic video and the ground truth behind it.

    Attributes
    ----------
    frames : np.ndarray [shape=(n, height, width)]
        uint8 when quantized, else float32 grey levels.
    displacement_px : np.ndarray [shape=(n,)], float64
        The scalar motion ``s(t)`` in px (peak of the motion where ``mode_shape`` is 1).
    direction_degrees : float
        Direction of motion in image coordinates (x right, y down).
    mode_shape : np.ndarray [shape=(height, width)], float64
        Per-pixel motion factor ``m(x)`` (all ones for rigid motion).
    texture : np.ndarray [shape=(height, width)], float64
        The clean texture (frame at zero displacement, before noise and quantization).
    noise_std : float
        Standard deviation of the added Gaussian sensor noise in grey levels.
    quantization_step : float
        1.0 when frames were rounded to 8 bits, else 0.0.
    fps : float
        Capture rate in frames per second.
    """

    __repr__ = brief_repr

    frames: np.ndarray
    displacement_px: np.ndarray
    direction_degrees: float
    mode_shape: np.ndarray
    texture: np.ndarray
    noise_std: float
    quantization_step: float
    fps: float

    def __post_init__(self):
        self.frames = np.asarray(self.frames)
        self.displacement_px = np.asarray(self.displacement_px, dtype=np.float64)
        if self.frames.ndim != 3:
            raise FrameShapeError(f"frames must have shape (n, height, width), given shape={self.frames.shape}")
        if self.displacement_px.shape != self.frames.shape[:1]:
            raise FrameShapeError(
                f"displacement_px shape {self.displacement_px.shape} does not match "
                f"{self.frames.shape[0]} frames"
            )
        for name in ("mode_shape", "texture"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != self.frames.shape[1:]:
                raise FrameShapeError(
                    f"{name} shape {value.shape} does not match frame shape {self.frames.shape[1:]}"
                )
            setattr(self, name, value)
        self.fps = check_rate(self.fps, "fps")

    @property
    def duration_seconds(self) -> float:
        return len(self) / self.fps

    def write_video(self, path, *, playback_fps: float = 30.0):
        """Write the frames losslessly (grey FFV1 ``.avi``/``.mkv``, or a PNG folder without suffix).

        The container stores ``playback_fps``; keep the capture rate (``self.fps``)
        separately. See :func:`vismic.io.write_video`, which this calls.
        """
        from ..io import write_video

        return write_video(path, self.frames, playback_fps=playback_fps)


def _check_displacement(displacement_px) -> np.ndarray:
    return check_signal(displacement_px, "displacement_px")


def _check_mode_shape(mode_shape, shape) -> Optional[np.ndarray]:
    if mode_shape is None:
        return None
    array = np.asarray(mode_shape, dtype=np.float64)
    if array.shape != tuple(shape):
        raise FrameShapeError(
            f"mode_shape shape {array.shape} does not match texture shape {tuple(shape)}"
        )
    return check_array(array, "mode_shape", ndim=(2,))


class _Renderer:
    """Clean float64 frames of one texture moved along one direction, batch by batch, for many motions.

    Motions up to 2 px use the Taylor series of :mod:`._warp` (fastest); larger
    rigid motions (``mode_shape`` None or constant) use the DCT shift of
    :mod:`._fourier`. Both render the same band-limited texture. The series is
    built once, for ``reach_px`` or the largest motion given so far, and kept:
    a search that renders one scene many times (the codec replica's noise
    search) builds it once.
    """

    def __init__(self, texture: np.ndarray, direction_degrees: float, mode_shape=None, reach_px: float = 0.0):
        self.texture = texture
        self.direction_degrees = direction_degrees
        self.ux, self.uy = unit_vector(direction_degrees)
        self.mode_shape = np.ones(texture.shape) if mode_shape is None else mode_shape
        self.scale = float(self.mode_shape.flat[0])
        self.rigid = bool(np.all(self.mode_shape == self.scale))
        self.reach_px = float(reach_px)
        self._warper = None
        self._shifter = None

    def batches(self, displacement_px: np.ndarray):
        """Yield ``(start, frames)``: float64 frames of ``_BATCH`` at a time."""
        n = displacement_px.shape[0]
        largest_px = float(np.max(np.abs(displacement_px), initial=0.0))
        if self.rigid and largest_px * abs(self.scale) > _TAYLOR_LIMIT_PX:
            if self._shifter is None:
                self._shifter = _Shifter(self.texture)
            for start in range(0, n, _BATCH):
                shifts = displacement_px[start : start + _BATCH] * self.scale
                yield start, self._shifter(shifts * self.ux, shifts * self.uy)
            return
        if self._warper is None or largest_px > self.reach_px:
            self.reach_px = max(self.reach_px, largest_px)
            self._warper = _Warper(self.texture, self.mode_shape, self.ux, self.uy, self.reach_px)
        for start in range(0, n, _BATCH):
            yield start, self._warper(displacement_px[start : start + _BATCH])

    def scene(self, displacement_px: np.ndarray, *, noise_std: float, quantize: bool, seed: int, fps: float) -> "Scene":
        """The :class:`Scene` of ``displacement_px`` with its sensor's noise (arguments checked by the caller)."""
        frames = sense(self.batches(displacement_px), n_frames=displacement_px.shape[0], shape=self.texture.shape,
                       batch_size=_BATCH, noise_std=noise_std, quantize=quantize, seed=seed)
        return Scene(
            frames=frames,
            displacement_px=displacement_px,
            direction_degrees=self.direction_degrees,
            mode_shape=self.mode_shape,
            texture=self.texture,
            noise_std=noise_std,
            quantization_step=1.0 if quantize else 0.0,
            fps=fps,
        )


def render_frames(texture, displacement_px, *, direction_degrees: float = 0.0, mode_shape=None) -> np.ndarray:
    """Clean float64 frames of a moving texture (no noise, no quantization).

    The texture is the band-limited image through its samples (see the
    module notes); motions up to 2 px are evaluated with a Taylor series in
    the displacement, larger rigid motions with a DCT shift, both exact to
    ~1e-12 grey levels. Non-rigid frames moving more than 2 px fall back to
    cubic splines, with a :class:`~vismic.errors.VismicWarning`.

    Parameters
    ----------
    texture : np.ndarray [shape=(height, width)]
        Grey levels.
    displacement_px : np.ndarray [shape=(n,)]
        Scalar motion ``s(t)`` in px.
    direction_degrees : float
        Direction ``u = (cos θ, sin θ)`` in image coordinates (x right, y down).
    mode_shape : np.ndarray [shape=(height, width)], optional
        Motion factor ``m(x)``; None is rigid motion (all ones).

    Returns
    -------
    np.ndarray [shape=(n, height, width)], float64
        ``I_t(x) = T(x - s(t) m(x) u)``. Holds ``n * height * width`` doubles:
        use :func:`render_scene` for long videos.

    Examples
    --------
    >>> texture = np.random.default_rng(0).uniform(0, 255, (32, 32))
    >>> frames = render_frames(texture, np.array([0.0, 1.0]))
    >>> bool(np.allclose(frames[1][:, 1:], texture[:, :-1]))
    True
    """
    texture = check_texture(texture)
    displacement_px = _check_displacement(displacement_px)
    direction_degrees = check_direction(direction_degrees)
    mode_shape = _check_mode_shape(mode_shape, texture.shape)
    frames = np.empty((displacement_px.shape[0],) + texture.shape)
    for start, batch in _Renderer(texture, direction_degrees, mode_shape).batches(displacement_px):
        frames[start : start + batch.shape[0]] = batch
    return frames


def render_scene(
    texture,
    displacement_px,
    *,
    direction_degrees: float = 0.0,
    mode_shape=None,
    noise_std: float = 0.0,
    quantize: bool = True,
    seed: int = 0,
    fps: float = 2200.0,
) -> Scene:
    """Render a high-speed video of a texture that moves by a known sub-pixel signal.

    Frame ``t`` is ``T(x - displacement_px[t] * mode_shape[x] * u)`` with
    ``u = (cos θ, sin θ)``, ``θ = direction_degrees`` measured in image
    coordinates (x to the right, y down, so 90 degrees is straight down and
    positive angles turn clockwise on screen); then Gaussian sensor noise of
    ``noise_std`` grey levels is added (seeded) and, when ``quantize``, the
    frames are rounded and clipped to 8 bits.

    The texture is treated as the band-limited image through its samples
    after a half-sample symmetric (reflected) extension, so sub-pixel motion
    is exact (to ~1e-12 grey levels) and matches the gradient that
    :func:`vismic.metrics.cramer_rao_bound` uses. Pixels where ``mode_shape``
    is 0 stay exactly static. Motions up to 2 px are evaluated with a Taylor
    series in the displacement (a few matrix products per batch), larger
    rigid motions with a DCT shift; non-rigid frames that move more than
    2 px fall back to cubic splines with a
    :class:`~vismic.errors.VismicWarning`. Frames are rendered in batches of
    16 while the next batches' noise is drawn in a background thread.

    Parameters
    ----------
    texture : np.ndarray [shape=(height, width)] or str
        Grey levels 0-255, or a name from :data:`vismic.synth.TEXTURES`
        (rendered by :func:`vismic.synth.texture` at its default size).
    displacement_px : np.ndarray [shape=(n_frames,)]
        Scalar motion in px, e.g. ``make_displacement(audio, amplitude_px=0.05)``.
    direction_degrees : float
        Direction of motion (see above).
    mode_shape : np.ndarray [shape=(height, width)], optional
        Per-pixel motion factor: :func:`membrane_mode`, :func:`object_mask`
        (an object over a static background), or None for rigid motion.
    noise_std : float
        Sensor noise standard deviation in grey levels (>= 0).
    quantize : bool
        Round and clip to uint8 0-255 (else keep float32 frames).
    seed : int
        Seed of the sensor noise.
    fps : float
        Capture rate recorded in the scene.

    Returns
    -------
    Scene

    Examples
    --------
    >>> from vismic import synth
    >>> audio = synth.tone(440.0, duration_seconds=0.1, sr=2200.0)
    >>> scene = synth.render_scene(synth.texture("noise", size=(32, 32)),
    ...                            synth.make_displacement(audio, amplitude_px=0.1),
    ...                            noise_std=1.0)
    >>> scene.frames.shape, scene.frames.dtype
    ((220, 32, 32), dtype('uint8'))
    """
    if isinstance(texture, str):
        from ._texture import texture as make_texture

        texture = make_texture(texture)
    texture = check_texture(texture)
    displacement_px = _check_displacement(displacement_px)
    direction_degrees = check_direction(direction_degrees)
    mode_shape = _check_mode_shape(mode_shape, texture.shape)
    noise_std = check_non_negative(noise_std, "noise_std")
    fps = check_rate(fps, "fps")
    return _Renderer(texture, direction_degrees, mode_shape).scene(
        displacement_px, noise_std=noise_std, quantize=quantize, seed=seed, fps=fps)


def make_displacement(audio, *, amplitude_px: float) -> np.ndarray:
    """Scale a sound so that its peak ``max|audio|`` equals ``amplitude_px``.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,)]
    amplitude_px : float
        Peak motion in px (> 0); typical visual-microphone motions are 0.01-0.1 px.

    Returns
    -------
    np.ndarray [shape=(n,)], float64

    Examples
    --------
    >>> make_displacement(np.array([0.0, 0.5, -2.0]), amplitude_px=0.1)
    array([ 0.   ,  0.025, -0.1  ])
    """
    audio = check_signal(audio, "audio")
    amplitude_px = check_positive(amplitude_px, "amplitude_px")
    peak = np.max(np.abs(audio))
    if peak == 0:
        raise ParameterError("audio is silent (all zeros): it cannot be scaled to a peak amplitude")
    return audio * (amplitude_px / peak)


def membrane_mode(shape, *, m: int = 1, n: int = 1) -> np.ndarray:
    """Mode ``(m, n)`` of a rectangular membrane clamped at the frame's edges.

    ``sin(m pi x / width) * sin(n pi y / height)`` at pixel centres
    (``x = column + 0.5``, ``y = row + 0.5``); modes above (1, 1) change sign.

    Parameters
    ----------
    shape : (height, width)
    m, n : int
        Number of half waves along x and along y (>= 1).

    Returns
    -------
    np.ndarray [shape=(height, width)], float64, peak <= 1

    Examples
    --------
    >>> mode = membrane_mode((4, 4), m=2, n=1)
    >>> bool(mode[:, :2].min() > 0 and mode[:, 2:].max() < 0)
    True
    """
    height, width = check_shape(shape)
    m, n = check_positive_int(m, "m"), check_positive_int(n, "n")
    x = (np.arange(width) + 0.5) / width
    y = (np.arange(height) + 0.5) / height
    return np.sin(n * np.pi * y)[:, None] * np.sin(m * np.pi * x)[None, :]


def object_mask(shape, *, kind: str = "disk", fraction: float = 0.5, soft_px: float = 2.0) -> np.ndarray:
    """A centred object (1) over a static background (0), with a smooth edge.

    Parameters
    ----------
    shape : (height, width)
    kind : {'disk', 'rectangle'}
        A disk whose diameter is ``fraction`` of the shorter side, or a
        rectangle of ``fraction * height`` by ``fraction * width``.
    fraction : float
        Object size relative to the frame, in (0, 1].
    soft_px : float
        Width of the raised-cosine edge in px (0 for a hard edge).

    Returns
    -------
    np.ndarray [shape=(height, width)], float64 in [0, 1]

    Examples
    --------
    >>> mask = object_mask((64, 64), kind="disk", fraction=0.5)
    >>> float(mask[32, 32]), float(mask[0, 0])
    (1.0, 0.0)
    """
    height, width = check_shape(shape)
    fraction = check_range(fraction, "fraction", 0.0, 1.0, include_low=False)
    soft_px = check_non_negative(soft_px, "soft_px")
    y = np.arange(height)[:, None] - (height - 1) / 2.0
    x = np.arange(width)[None, :] - (width - 1) / 2.0
    if kind == "disk":
        inside = fraction * min(height, width) / 2.0 - np.hypot(x, y)
    elif kind == "rectangle":
        inside = np.minimum(fraction * height / 2.0 - np.abs(y), fraction * width / 2.0 - np.abs(x))
    else:
        check_choice(kind, "kind", ("disk", "rectangle"))
    if soft_px == 0:
        return (inside >= 0).astype(np.float64)
    ramp = np.clip(inside / soft_px + 0.5, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)
