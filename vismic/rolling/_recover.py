"""Sound from rolling-shutter video: rows are samples at the line rate."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..data import Audio, FrameBatch
from ..errors import FrameShapeError, ParameterError, TooFewFramesError
from ..pipeline import Stage
from ..synth._rolling import check_line_delay, line_rate_samples, rolling_row_times
from ._fill import FILL_METHODS, fill_gaps
from ._motion import row_motion, row_reference

__all__ = ["recover_rolling_shutter", "recover_rolling_shutter_video", "RollingShutterRecovery", "MIN_FRAMES"]

#: Fewest frames a rolling-shutter recovery accepts (the mean-frame reference needs several).
MIN_FRAMES = 4


def _check_row_geometry(first_row, row_step, sensor_rows, n_rows: int):
    try:
        first_row = float(first_row)
        row_step = float(row_step)
    except (TypeError, ValueError):
        raise ParameterError(
            f"first_row and row_step must be numbers, given first_row={first_row!r}, row_step={row_step!r}"
        ) from None
    if not np.isfinite(first_row) or first_row < 0:
        raise ParameterError(f"first_row must be a number >= 0, given first_row={first_row!r}")
    if not np.isfinite(row_step) or row_step <= 0:
        raise ParameterError(f"row_step must be a positive number, given row_step={row_step!r}")
    covered = int(np.ceil(first_row + row_step * (n_rows - 1) + 0.5 * (row_step - 1) + 1 - 1e-9))
    if sensor_rows is None:
        sensor_rows = covered
    if isinstance(sensor_rows, bool) or int(sensor_rows) != sensor_rows or sensor_rows < covered:
        raise ParameterError(
            f"sensor_rows must be an integer >= the {covered} rows the frames span, given sensor_rows={sensor_rows!r}"
        )
    return first_row, row_step, int(sensor_rows)


def _check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, choices))}, given {name}={value!r}")
    return value


def _finish(row_displacement, information, *, fps, line_delay_seconds, first_row, row_step, sr,
            max_frequency_hz, fill, highpass_hz, denoise) -> Audio:
    """Row estimates -> uniformly sampled, drift-free signal (the shared second half of both entry points)."""
    n_frames, n_rows = row_displacement.shape
    times = rolling_row_times(n_frames, n_rows, fps=fps, line_delay_seconds=line_delay_seconds,
                              first_row=first_row, row_step=row_step)
    line_rate = 1.0 / line_delay_seconds
    sr = line_rate if sr is None else sr
    try:
        sr = float(sr)
    except (TypeError, ValueError):
        raise ParameterError(f"sr must be a positive number, given sr={sr!r}") from None
    if not np.isfinite(sr) or sr <= 0:
        raise ParameterError(f"sr must be a positive number, given sr={sr!r}")
    if not np.any(information > 0):
        raise ParameterError("no row of the reference has texture along x: no horizontal motion can be measured")
    weights = np.broadcast_to(information, row_displacement.shape)
    n_out = line_rate_samples(float(times[-1, -1]), sr)
    samples = fill_gaps(times.ravel(), row_displacement.ravel(), weights=weights.ravel(), sr=sr,
                        n_samples=n_out, max_frequency_hz=max_frequency_hz, method=fill)
    if highpass_hz is not None:
        from ..denoise import highpass

        samples = highpass(samples, sr=sr, cutoff_hz=highpass_hz)
    if denoise is not None and denoise != "none":
        from ..denoise import denoise as run_denoise

        samples = run_denoise(samples, sr=sr, method=denoise)
    info = {
        "method": "rolling_shutter",
        "direction_degrees": 0.0,  # rows measure horizontal motion only
        "fps": float(fps),
        "line_delay_seconds": float(line_delay_seconds),
        "line_rate_hz": line_rate,
        "gap_fraction": 1.0 - (row_step * n_rows) * line_delay_seconds * fps,
        "n_frames": int(n_frames),
        "fill": fill,
        "row_times_seconds": times,
        "row_displacement_px": row_displacement,
        "row_information": information,
    }
    return Audio(samples, sr, info)


def recover_rolling_shutter(
    frames,
    *,
    fps: float,
    line_delay_seconds: float,
    n_levels: Optional[int] = None,
    sr: Optional[float] = None,
    max_frequency_hz: Optional[float] = None,
    fill: str = "spectral",
    highpass_hz: Optional[float] = 20.0,
    denoise: Optional[str] = None,
    reference=None,
    first_row: float = 0.0,
    row_step: float = 1.0,
    sensor_rows: Optional[int] = None,
    use_amplitude: bool = True,
) -> Audio:
    """Recover sound above the frame rate from a rolling-shutter video (horizontal motion).

    Row ``y`` of frame ``t`` was exposed at ``t / fps + y * line_delay_seconds``,
    so each row is one sample of the motion at the line rate. Each row's
    horizontal shift relative to the same row of a reference image (the mean
    frame, which removes each frame's own image content) is measured from the
    local phase of a 1-D DTCWT along the row (:func:`row_motion`; coefficients
    weighted by amplitude^2, local frequency from the reference's derivative).
    The rows form a signal at the line rate with a gap after every frame (the
    blanking interval), which :func:`fill_gaps` turns into uniform samples;
    drift below ``highpass_hz`` is removed last.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
        Grey frames, row 0 read first.
    fps : float
        Frame rate.
    line_delay_seconds : float
        Time between the readout of consecutive sensor rows, > 0, with
        ``sensor_rows * line_delay_seconds <= 1 / fps``.
    n_levels : int, optional
        1-D DTCWT levels (None: up to 5).
    sr : float, optional
        Output rate in Hz; default the line rate ``1 / line_delay_seconds``.
    max_frequency_hz : float, optional
        Highest frequency kept by the gap filling; default ``0.4 x`` the mean
        row rate ``fps * height`` (capped at ``0.45 sr``).
    fill : {'spectral', 'bandlimited', 'linear'}
        Gap filling (see :func:`fill_gaps`): ``'spectral'`` (default) is a
        least-squares fit with a prior shaped like the signal's own spectrum,
        which carries tones across the gaps; ``'linear'`` joins rows with
        straight lines (simplest, weakest).
    highpass_hz : float or None
        Drift removal cut-off (zero-phase Butterworth); None keeps the drift.
    denoise : str, optional
        One of :data:`vismic.denoise.DENOISE_METHODS` to run on the result.
    reference : np.ndarray [shape=(height, width)], optional
        Image of the scene without its motion; default the mean frame.
    first_row, row_step : float
        Sensor row of ``frames[:, 0]`` and sensor rows per frame row: for a
        crop starting at row ``y0`` block-averaged by ``f``,
        ``first_row = y0 + (f - 1) / 2`` and ``row_step = f`` (a block's time
        is the mean of its rows' times).
    sensor_rows : int, optional
        Rows the sensor reads per frame (for the line-delay check); default
        the rows the frames span.
    use_amplitude : bool
        Use coefficient amplitude changes as evidence too.

    Returns
    -------
    vismic.data.Audio
        Motion in px at ``sr``, from the first row of the first frame to the
        last row of the last frame: sample ``j`` is at ``j / sr`` seconds.
        ``info`` holds ``line_rate_hz``, ``gap_fraction``,
        ``direction_degrees`` (0: horizontal motion), each row's time
        (``row_times_seconds``), measured shift (``row_displacement_px``) and
        weight (``row_information``).

    Raises
    ------
    vismic.errors.ParameterError
        ``line_delay_seconds <= 0`` or too long for the frame rate (the
        message names both), bad ``fill``, ``sr``, ``max_frequency_hz``.
    vismic.errors.TooFewFramesError
        Fewer than 4 frames.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic import synth
    >>> from vismic.rolling import recover_rolling_shutter
    >>> delay = 1 / (60 * 32 * 1.2)
    >>> scene = synth.render_rolling_shutter(
    ...     synth.texture("noise", size=(32, 64)), lambda t: 0.1 * np.sin(2 * np.pi * 440 * t),
    ...     fps=60.0, line_delay_seconds=delay, n_frames=12)
    >>> audio = recover_rolling_shutter(scene.frames, fps=60.0, line_delay_seconds=delay)
    >>> round(audio.sr), audio.samples.shape == scene.displacement_px.shape
    (2304, True)
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    n_frames, height, _ = frames.shape
    first_row, row_step, sensor_rows = _check_row_geometry(first_row, row_step, sensor_rows, height)
    line_delay_seconds = check_line_delay(line_delay_seconds, fps=fps, n_rows=sensor_rows)
    fps = float(fps)
    fill = _check_choice(fill, "fill", FILL_METHODS)
    if n_frames < MIN_FRAMES:
        raise TooFewFramesError(f"the video has {n_frames} frames; rolling-shutter recovery needs at least {MIN_FRAMES}")
    if reference is None:
        reference = frames.mean(axis=0, dtype=np.float64)
    ref = row_reference(reference, n_levels=n_levels, use_amplitude=use_amplitude)
    displacement, information = row_motion(frames, ref)
    return _finish(displacement, information, fps=fps, line_delay_seconds=line_delay_seconds,
                   first_row=first_row, row_step=row_step, sr=sr, max_frequency_hz=max_frequency_hz,
                   fill=fill, highpass_hz=highpass_hz, denoise=denoise)


def recover_rolling_shutter_video(
    video,
    *,
    fps: float,
    line_delay_seconds: float,
    roi=None,
    downsample: int = 1,
    n_levels: Optional[int] = None,
    sr: Optional[float] = None,
    max_frequency_hz: Optional[float] = None,
    fill: str = "spectral",
    highpass_hz: Optional[float] = 20.0,
    denoise: Optional[str] = None,
    batch_size: int = 64,
    max_frames: Optional[int] = None,
    progress: Optional[Callable[[int], object]] = None,
):
    """:func:`recover_rolling_shutter` on a video file, frame folder or array, streamed in batches.

    The video is decoded twice (:func:`vismic.io.open_video` re-reads it):
    once for the mean frame (the reference), once to measure every row, so
    memory holds one batch of frames plus one number per row and frame. The
    rows' times account for the crop and the block averaging: row ``y`` of
    the output frames is sensor rows ``roi_y + downsample * y ...`` (their mean
    time), and the line delay is checked against the full frame's height.
    This is what ``vismic recover --rolling-shutter --line-delay SECONDS`` runs.

    Parameters
    ----------
    video : str, Path or np.ndarray [shape=(n, height, width) or (n, height, width, 3)]
    fps : float
        Frame rate of the camera.
    line_delay_seconds : float
        Time between consecutive sensor rows.
    roi : (x, y, width, height), optional
    downsample : int
        Block-averaging factor after the crop.
    n_levels, sr, max_frequency_hz, fill, highpass_hz, denoise
        See :func:`recover_rolling_shutter`.
    batch_size, max_frames
        See :func:`vismic.io.open_video`.
    progress : callable, optional
        Called with the number of frames of each batch of the measuring pass.

    Returns
    -------
    vismic.recover.Recovery
        ``audio`` (motion in px at ``sr``, by default the line rate), ``sr``,
        ``info`` (``line_rate_hz``, ``gap_fraction``, ``n_frames``, ``fps``,
        ``line_delay_seconds``, ``roi``).

    Examples
    --------
    >>> import numpy as np
    >>> from vismic import synth
    >>> delay = 1 / (60 * 32 * 1.2)
    >>> scene = synth.render_rolling_shutter(
    ...     synth.texture("noise", size=(32, 64)), lambda t: 0.1 * np.sin(2 * np.pi * 440 * t),
    ...     fps=60.0, line_delay_seconds=delay, n_frames=12)
    >>> rec = recover_rolling_shutter_video(scene.frames, fps=60.0, line_delay_seconds=delay, batch_size=5)
    >>> rec.audio.shape == scene.displacement_px.shape, rec.info["n_frames"]
    (True, 12)
    """
    from ..io import open_video
    from ..recover import Recovery

    source = open_video(video, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size, max_frames=max_frames)
    _, roi_y, _, _ = source.roi
    factor = int(source.downsample)
    first_row = roi_y + (factor - 1) / 2.0
    line_delay_seconds = check_line_delay(line_delay_seconds, fps=source.fps, n_rows=source.full_shape[0])
    fill = _check_choice(fill, "fill", FILL_METHODS)

    total = None
    n_frames = 0
    for batch in source:
        summed = batch.frames.sum(axis=0, dtype=np.float64)
        total = summed if total is None else total + summed
        n_frames += len(batch)
    if n_frames < MIN_FRAMES:
        described = str(video) if isinstance(video, (str, Path)) else "the video"
        raise TooFewFramesError(f"{described} has {n_frames} frames; rolling-shutter recovery needs at least {MIN_FRAMES}")
    ref = row_reference(total / n_frames, n_levels=n_levels)
    parts = []
    for batch in source:
        displacement, information = row_motion(batch.frames, ref)
        parts.append(displacement)
        if progress is not None:
            progress(len(batch))
    displacement = np.concatenate(parts)
    audio = _finish(displacement, information, fps=source.fps, line_delay_seconds=line_delay_seconds,
                    first_row=first_row, row_step=factor, sr=sr, max_frequency_hz=max_frequency_hz,
                    fill=fill, highpass_hz=highpass_hz, denoise=denoise)
    info = {key: value for key, value in audio.info.items() if not key.startswith("row_")}
    info["roi"] = tuple(int(v) for v in source.roi)
    return Recovery(audio.samples, audio.sr, info)


class RollingShutterRecovery(Stage):
    """Stage: a whole video's :class:`~vismic.data.FrameBatch` (or an iterable of them) -> :class:`~vismic.data.Audio`.

    A thin wrapper of :func:`recover_rolling_shutter` for pipelines; batches
    are concatenated first (it needs the whole video's mean frame). Parameters
    as there; ``fps`` comes from the batches.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic import Pipeline, synth
    >>> delay = 1 / (60 * 32 * 1.2)
    >>> scene = synth.render_rolling_shutter(
    ...     synth.texture("noise", size=(32, 64)), lambda t: 0.1 * np.sin(2 * np.pi * 440 * t),
    ...     fps=60.0, line_delay_seconds=delay, n_frames=12)
    >>> audio = Pipeline([("rolling", RollingShutterRecovery(line_delay_seconds=delay))]).run(list(scene.batches(5)))
    >>> round(audio.sr)
    2304
    """

    streaming = False

    def __init__(self, line_delay_seconds: float, n_levels=None, sr=None, max_frequency_hz=None,
                 fill: str = "spectral", highpass_hz=20.0, denoise=None, first_row: float = 0.0,
                 row_step: float = 1.0, sensor_rows=None):
        self.line_delay_seconds = line_delay_seconds
        self.n_levels = n_levels
        self.sr = sr
        self.max_frequency_hz = max_frequency_hz
        self.fill = fill
        self.highpass_hz = highpass_hz
        self.denoise = denoise
        self.first_row = first_row
        self.row_step = row_step
        self.sensor_rows = sensor_rows

    def transform(self, data) -> Audio:
        if not isinstance(data, FrameBatch):
            batches = list(data)
            if not batches or not all(isinstance(b, FrameBatch) for b in batches):
                raise ParameterError("RollingShutterRecovery takes a FrameBatch or an iterable of FrameBatch")
            data = FrameBatch.concat(batches)
        return recover_rolling_shutter(
            data.frames, fps=data.fps, **self.get_params(),
        )
