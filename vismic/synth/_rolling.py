"""Rolling-shutter scenes: every row of a frame is exposed at its own instant.

An ordinary (CMOS) camera reads its rows one after another: row ``y`` of frame
``t`` sees the scene at ``t / fps + y * line_delay_seconds``, and after the last
row the sensor waits for the next frame (the blanking interval). Rows are
therefore samples of the motion at the *line rate* ``1 / line_delay_seconds``,
with a gap of ``1 / fps - n_rows * line_delay_seconds`` between frames.

Row ``y`` of frame ``t`` is rendered as row ``y`` of the band-limited texture
(the cosine series of :mod:`._fourier`, the same image :func:`render_scene`
moves) shifted by ``s(t / fps + y * line_delay_seconds) * u``, exactly, for any
sub-pixel or larger motion: horizontal motion is a per-row DCT shift along x;
motion with a vertical part first evaluates the series along y at the row's
displaced position, then shifts along x.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
import scipy.fft
import scipy.interpolate

from ..errors import FrameShapeError, ParameterError
from ..rolling._timing import check_line_delay, line_rate_samples, rolling_row_times
from ._scene import _RenderedVideo
from ._sensor import sense
from ._checks import check_direction, check_non_negative, check_positive, check_texture, unit_vector

__all__ = ["RollingShutterScene", "render_rolling_shutter"]

#: Frames rendered (and noise draws made) at once.
_BATCH = 16


@dataclass
class RollingShutterScene(_RenderedVideo):
    """A rendered rolling-shutter video and the ground truth behind it.

    Attributes
    ----------
    frames : np.ndarray [shape=(n, height, width)]
        uint8 when quantized, else float32 grey levels.
    row_times_seconds : np.ndarray [shape=(n, height)], float64
        Exposure instant of each row, ``t / fps + y * line_delay_seconds``.
    row_displacement_px : np.ndarray [shape=(n, height)], float64
        The motion ``s`` each row saw.
    displacement_px : np.ndarray [shape=(m,)], float64
        The motion sampled at the line rate, ``s(j / sr)`` for
        ``j = 0 .. m - 1`` up to the last row of the last frame: the reference
        for :func:`vismic.rolling.recover_rolling_shutter`'s output.
    sr : float
        The line rate ``1 / line_delay_seconds`` in Hz.
    fps, line_delay_seconds, direction_degrees : float
    texture : np.ndarray [shape=(height, width)], float64
    noise_std : float
    quantization_step : float
        1.0 when frames were rounded to 8 bits, else 0.0.
    """

    frames: np.ndarray
    row_times_seconds: np.ndarray
    row_displacement_px: np.ndarray
    displacement_px: np.ndarray
    sr: float
    fps: float
    line_delay_seconds: float
    direction_degrees: float
    texture: np.ndarray
    noise_std: float
    quantization_step: float

    def __post_init__(self):
        self.frames = np.asarray(self.frames)
        if self.frames.ndim != 3:
            raise FrameShapeError(f"frames must have shape (n, height, width), given shape={self.frames.shape}")
        for name in ("row_times_seconds", "row_displacement_px"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != self.frames.shape[:2]:
                raise FrameShapeError(f"{name} shape {value.shape} does not match frames {self.frames.shape[:2]}")
            setattr(self, name, value)

    @property
    def gap_fraction(self) -> float:
        """Share of each frame period spent between the last row and the next frame."""
        return 1.0 - self.frames.shape[1] * self.line_delay_seconds * self.fps


def _motion_function(displacement, sr, n_frames) -> tuple:
    """``(function of time, last valid time or None)`` from a callable or an array."""
    if callable(displacement):
        if sr is not None:
            raise ParameterError("sr is the rate of a displacement array; a displacement function takes no sr")
        if n_frames is None:
            raise ParameterError("n_frames is required when the displacement is a function of time")

        def evaluate(times):
            values = np.asarray(displacement(np.asarray(times, dtype=np.float64)), dtype=np.float64)
            if values.shape != np.shape(times):
                raise ParameterError(
                    f"the displacement function must return one value per time, shape {np.shape(times)}, "
                    f"got shape {values.shape}"
                )
            if not np.all(np.isfinite(values)):
                raise ParameterError("the displacement function returned NaN or infinite values")
            return values

        return evaluate, None
    array = np.asarray(displacement, dtype=np.float64)
    if array.ndim != 1 or array.size < 4:
        raise ParameterError(
            f"displacement must be a function of time or an array of shape (n >= 4,), given shape={array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ParameterError("displacement contains NaN or infinite values")
    if sr is None:
        raise ParameterError("sr (the rate of the displacement array, Hz) is required for an array")
    sr = check_positive(sr, "sr")
    spline = scipy.interpolate.CubicSpline(np.arange(array.size) / sr, array)
    return (lambda times: spline(times)), (array.size - 1) / sr


def _frames_covered(n_frames, last_valid, *, fps: float, line_delay_seconds: float, n_rows: int, sr) -> int:
    """The number of frames: as given, or as many as a displacement array lasting to ``last_valid`` covers.

    Raises when the frames' last row would need motion after the array's end.
    """
    readout = (n_rows - 1) * line_delay_seconds
    if n_frames is None:
        n_frames = int(np.floor((last_valid - readout) * fps + 1e-9)) + 1
        if n_frames < 1:
            raise ParameterError(
                f"the displacement array lasts {last_valid:.6g} s at sr={sr!r}, shorter than one frame's "
                f"readout {readout:.6g} s"
            )
    if isinstance(n_frames, bool) or int(n_frames) != n_frames or n_frames < 1:
        raise ParameterError(f"n_frames must be a positive integer, given n_frames={n_frames!r}")
    n_frames = int(n_frames)
    last_time = (n_frames - 1) / fps + readout
    if last_valid is not None and last_time > last_valid + 1e-9:
        raise ParameterError(
            f"n_frames={n_frames} needs motion up to {last_time:.6g} s but the displacement array "
            f"(sr={sr!r}) ends at {last_valid:.6g} s"
        )
    return n_frames


def _render_frames(texture: np.ndarray, row_shift: np.ndarray, *, direction_degrees: float, noise_std: float,
                   quantize: bool, seed: int) -> np.ndarray:
    """Frames whose row ``y`` of frame ``t`` is the texture moved by ``row_shift[t, y]``, through the sensor model."""
    renderer = _RowRenderer(texture, direction_degrees)
    n_frames = row_shift.shape[0]
    return sense(
        ((start, renderer(row_shift[start : start + _BATCH])) for start in range(0, n_frames, _BATCH)),
        n_frames=n_frames, shape=texture.shape, batch_size=_BATCH, noise_std=noise_std, quantize=quantize, seed=seed,
    )


def _row_shifted(row_coefficients: np.ndarray, shifts_px: np.ndarray) -> np.ndarray:
    """Synthesise rows along x from their DCT-II coefficients, each row shifted by its own amount.

    ``row_coefficients`` (..., w) and ``shifts_px`` (...) broadcast; the cosine
    series ``sum_k a_k cos(pi k (x - s + 1/2) / w)`` split into cosine and sine
    parts (an inverse DCT and an inverse DST, as in :mod:`._fourier`).
    """
    width = row_coefficients.shape[-1]
    angles = np.pi * shifts_px[..., None] * np.arange(width) / width
    cos_part = row_coefficients * np.cos(angles)
    sin_part = np.zeros(np.broadcast_shapes(row_coefficients.shape, angles.shape))
    sin_part[..., :-1] = row_coefficients[..., 1:] * np.sin(angles[..., 1:])
    out = scipy.fft.idct(cos_part, type=2, axis=-1, workers=-1)
    out += scipy.fft.idst(sin_part, type=2, axis=-1, workers=-1)
    return out


class _RowRenderer:
    """Renders ``T(x - s[t, y] u)`` at row ``y`` of frame ``t``."""

    def __init__(self, texture: np.ndarray, direction_degrees: float):
        self.height, self.width = texture.shape
        self.ux, self.uy = unit_vector(direction_degrees)
        self.along_x = scipy.fft.dct(texture, type=2, axis=1, workers=-1)  # (h, w)
        self.both = scipy.fft.dct(self.along_x, type=2, axis=0, workers=-1) if self.uy != 0.0 else None

    def __call__(self, shifts_px: np.ndarray) -> np.ndarray:
        """Float64 frames ``(n, h, w)`` for per-row shifts ``(n, h)``."""
        if self.uy == 0.0:  # horizontal motion: each row is a 1-D shift of the texture's row
            return _row_shifted(self.along_x[None], shifts_px * self.ux)
        # vertical part: evaluate the cosine series along y at each row's displaced position
        # (inverse unnormalised DCT-II: (1/N) [X_0 / 2 + sum_k X_k cos(pi k (y + 1/2) / N)])
        k = np.arange(self.height)
        positions = np.arange(self.height)[None, :] - shifts_px * self.uy + 0.5  # (n, h)
        basis = np.cos(np.pi * positions[..., None] * k / self.height) / self.height  # (n, h, H)
        basis[..., 0] *= 0.5
        rows = basis @ self.both  # (n, h, w): each row's coefficients along x
        return _row_shifted(rows, shifts_px * self.ux)


def render_rolling_shutter(
    texture,
    displacement: Union[Callable, np.ndarray],
    *,
    fps: float,
    line_delay_seconds: float,
    n_frames: Optional[int] = None,
    sr: Optional[float] = None,
    direction_degrees: float = 0.0,
    noise_std: float = 0.0,
    quantize: bool = True,
    seed: int = 0,
) -> RollingShutterScene:
    """Render a rolling-shutter video of a texture moving by a known continuous-time signal.

    Row ``y`` of frame ``t`` is exposed at ``t / fps + y * line_delay_seconds``
    and shows the band-limited texture shifted by the motion at that instant
    (exact sub-pixel rendering, see the module notes), so a video at 60 fps
    holds motion sampled at the line rate (tens of kHz for real sensors),
    with a gap between frames. Then Gaussian sensor noise (seeded) and, when
    ``quantize``, 8-bit rounding, as :func:`vismic.synth.render_scene` does.

    Parameters
    ----------
    texture : np.ndarray [shape=(height, width)] or str
        Grey levels, or a name of :data:`vismic.synth.TEXTURES`.
    displacement : callable or np.ndarray [shape=(n,)]
        Motion in px: a vectorised function of time in seconds
        (``lambda t: 0.05 * np.sin(2 * np.pi * 440 * t)``), or samples at
        ``sr`` Hz starting at t = 0, evaluated between samples with a cubic
        spline (give a rate several times the highest frequency, e.g. the line
        rate or more).
    fps : float
        Frame rate.
    line_delay_seconds : float
        Time between consecutive rows; ``height * line_delay_seconds`` must not
        exceed ``1 / fps``. Typical: ``1 / (fps * height * 1.2)``.
    n_frames : int, optional
        Frames to render; required for a function, else as many as the array
        covers (the last row of the last frame inside it).
    sr : float, optional
        Rate of a displacement array in Hz.
    direction_degrees : float
        Direction of motion, image coordinates (x right, y down).
    noise_std : float
        Sensor noise in grey levels.
    quantize : bool
        Round and clip to uint8 (else float32 frames).
    seed : int
        Seed of the sensor noise.

    Returns
    -------
    RollingShutterScene
        Frames, each row's time and motion, and the motion at the line rate
        (``scene.displacement_px`` at ``scene.sr = 1 / line_delay_seconds``).

    Raises
    ------
    vismic.errors.ParameterError
        Bad rates, a line delay that does not fit the frame period, a
        displacement array too short for one frame.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic import synth
    >>> scene = synth.render_rolling_shutter(
    ...     synth.texture("noise", size=(32, 32)), lambda t: 0.05 * np.sin(2 * np.pi * 440 * t),
    ...     fps=60.0, line_delay_seconds=1 / (60 * 32 * 1.2), n_frames=6, noise_std=1.0)
    >>> scene.frames.shape, round(scene.sr), scene.displacement_px.shape
    ((6, 32, 32), 2304, (224,))
    """
    if isinstance(texture, str):
        from ._texture import texture as make_texture

        texture = make_texture(texture)
    texture = check_texture(texture)
    height = texture.shape[0]
    fps = check_positive(fps, "fps")
    line_delay_seconds = check_line_delay(line_delay_seconds, fps=fps, n_rows=height)
    direction_degrees = check_direction(direction_degrees)
    noise_std = check_non_negative(noise_std, "noise_std")
    motion, last_valid = _motion_function(displacement, sr, n_frames)
    n_frames = _frames_covered(n_frames, last_valid, fps=fps, line_delay_seconds=line_delay_seconds,
                               n_rows=height, sr=sr)
    line_rate = 1.0 / line_delay_seconds
    last_time = (n_frames - 1) / fps + (height - 1) * line_delay_seconds
    times = rolling_row_times(n_frames, height, fps=fps, line_delay_seconds=line_delay_seconds)
    row_shift = motion(times)
    truth = motion(np.arange(line_rate_samples(last_time, line_rate)) / line_rate)
    frames = _render_frames(texture, row_shift, direction_degrees=direction_degrees, noise_std=noise_std,
                            quantize=quantize, seed=seed)
    return RollingShutterScene(
        frames=frames,
        row_times_seconds=times,
        row_displacement_px=row_shift,
        displacement_px=truth,
        sr=line_rate,
        fps=fps,
        line_delay_seconds=line_delay_seconds,
        direction_degrees=direction_degrees,
        texture=texture,
        noise_std=noise_std,
        quantization_step=1.0 if quantize else 0.0,
    )
