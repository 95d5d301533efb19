"""Sound from rolling-shutter video: rows are samples at the line rate.

Every entry point opens the frames with :func:`vismic.io.open_video`, takes the
mean frame as the reference (one pass), and runs one :class:`~vismic.Pipeline`
(:func:`rolling_pipeline`) over the batches: :class:`RowEvidence` (streaming,
one region per row) -> :class:`FillRows` (row shifts at their instants ->
uniform samples at the line rate) -> the main path's
:class:`~vismic.denoise.HighPass`, [:class:`~vismic.denoise.BandLimit`],
[:class:`~vismic.denoise.Denoise`].
"""

from __future__ import annotations

import warnings
from typing import Callable, Optional

import numpy as np

from ..data import MIN_FRAMES, Audio, BandSignals, FrameBatch
from ..denoise import BandLimit, Denoise, HighPass
from .._blank import silent_ends, without_blank_ends
from .._frame_statistics import FrameStatistics, frame_extract
from .._reliability import findings
from ..codec._checks import check_file_codec
from ..errors import ParameterError, TooFewFramesError, UnreliableRecoveryWarning, VismicWarning
from ..io._stream import VideoStream
from ..pipeline import Pipeline, Stage
from ._fill import FILL_METHODS, fill_gaps
from ._motion import RowEvidence, pooled_displacement
from .._checks import check_positive
from ._timing import check_line_delay, line_rate_samples, rolling_row_times, row_geometry

__all__ = [
    "recover_rolling_shutter",
    "recover_rolling_shutter_video",
    "rolling_pipeline",
    "RollingShutterRecovery",
    "FillRows",
    "rows_to_samples",
]


def _check_fill(fill) -> str:
    if fill not in FILL_METHODS:
        raise ParameterError(f"fill must be one of {', '.join(map(repr, FILL_METHODS))}, given fill={fill!r}")
    return fill


def _check_frame_count(n_frames: int, described: str = "the video") -> None:
    if n_frames < MIN_FRAMES:
        raise TooFewFramesError(
            f"{described} has {n_frames} frame{'' if n_frames == 1 else 's'}; rolling-shutter recovery needs at least "
            f"{MIN_FRAMES}"
        )


def rows_to_samples(row_displacement, information, *, fps: float, line_delay_seconds: float,
                    first_row: float = 0.0, row_step: float = 1.0, sr: Optional[float] = None,
                    max_frequency_hz: Optional[float] = None, fill: str = "spectral"):
    """Row shifts at their exposure instants -> uniform samples from t = 0 to the last row.

    Parameters
    ----------
    row_displacement : np.ndarray [shape=(n_frames, n_rows)]
        Shift of each row of each frame (px).
    information : np.ndarray [shape=(n_rows,)]
        Each row's weight (inverse variance up to a common factor; 0: unused).
    fps, line_delay_seconds, first_row, row_step
        Where the rows lie in time (see :func:`rolling_row_times`).
    sr : float, optional
        Output rate; default the line rate ``1 / line_delay_seconds``.
    max_frequency_hz, fill
        See :func:`fill_gaps`.

    Returns
    -------
    samples : np.ndarray [shape=(m,)]
        Sample ``j`` at ``j / sr`` seconds, up to the last row of the last frame.
    sr : float
    times : np.ndarray [shape=(n_frames, n_rows)]
        Each row's instant.
    """
    n_frames, n_rows = row_displacement.shape
    times = rolling_row_times(n_frames, n_rows, fps=fps, line_delay_seconds=line_delay_seconds,
                              first_row=first_row, row_step=row_step)
    sr = check_positive(1.0 / line_delay_seconds if sr is None else sr, "sr")
    if not np.any(information > 0):
        raise ParameterError("no row of the reference has texture along x: no horizontal motion can be measured")
    weights = np.broadcast_to(information, row_displacement.shape)
    samples = fill_gaps(times.ravel(), row_displacement.ravel(), weights=weights.ravel(), sr=sr,
                        n_samples=line_rate_samples(float(times[-1, -1]), sr),
                        max_frequency_hz=max_frequency_hz, method=fill)
    return samples, sr, times


class FillRows(Stage):
    """Stage: row evidence (:class:`~vismic.data.BandSignals`, one band, a region per row) -> :class:`~vismic.data.Audio`.

    Each row's least-squares shift (:meth:`~vismic.data.BandSignals.displacement`)
    is placed at its exposure instant and the blanking gaps are filled
    (:func:`rows_to_samples`). Parameters as :func:`recover_rolling_shutter`.
    ``info`` reports ``line_rate_hz``, ``gap_fraction``, ``fill``,
    ``direction_degrees`` (0: rows measure horizontal motion), ``n_frames``,
    ``fps``, ``line_delay_seconds`` and each row's time, shift and weight
    (``row_times_seconds``, ``row_displacement_px``, ``row_information``).
    """

    streaming = False

    def __init__(self, line_delay_seconds: float, first_row: float = 0.0, row_step: float = 1.0, sr=None,
                 max_frequency_hz=None, fill: str = "spectral"):
        self.line_delay_seconds = line_delay_seconds
        self.first_row = first_row
        self.row_step = row_step
        self.sr = sr
        self.max_frequency_hz = max_frequency_hz
        self.fill = fill

    def transform(self, signals: BandSignals) -> Audio:
        if not isinstance(signals, BandSignals) or signals.scores.shape[:2] != (1, 1):
            raise ParameterError("FillRows expects one-band BandSignals with a region per row (from RowEvidence)")
        _check_frame_count(len(signals))
        n_rows = signals.n_regions
        first_row, row_step, sensor_rows = row_geometry(self.first_row, self.row_step, None, n_rows)
        delay = check_line_delay(self.line_delay_seconds, fps=signals.fps, n_rows=sensor_rows)
        fill = _check_fill(self.fill)
        displacement, information = pooled_displacement(signals)
        samples, sr, times = rows_to_samples(
            displacement, information, fps=signals.fps, line_delay_seconds=delay, first_row=first_row,
            row_step=row_step, sr=self.sr, max_frequency_hz=self.max_frequency_hz, fill=fill,
        )
        info = {
            "method": "rolling_shutter",
            "direction_degrees": 0.0,  # rows measure horizontal motion only
            "fps": signals.fps,
            "line_delay_seconds": delay,
            "line_rate_hz": 1.0 / delay,
            "gap_fraction": 1.0 - (row_step * n_rows) * delay * signals.fps,
            "n_frames": len(signals),
            "fill": fill,
            "row_times_seconds": times,
            "row_displacement_px": displacement,
            "row_information": information,
        }
        return Audio(samples, sr, info)


def rolling_pipeline(*, line_delay_seconds: float, reference=None, n_levels: Optional[int] = None,
                     use_amplitude: bool = True, first_row: float = 0.0, row_step: float = 1.0,
                     sr: Optional[float] = None, max_frequency_hz: Optional[float] = None, fill: str = "spectral",
                     highpass_hz: Optional[float] = 20.0, low_hz: Optional[float] = None,
                     high_hz: Optional[float] = None, denoise: Optional[str] = None) -> Pipeline:
    """The pipeline the rolling-shutter entry points run.

    Steps: ``rows -> fill -> [highpass] -> [bandlimit] -> [denoise]``, the last
    three the main path's stages; set the reference with
    ``pipe.set_params(rows__reference=mean_frame)``.

    Examples
    --------
    >>> pipe = rolling_pipeline(line_delay_seconds=1e-4, low_hz=100.0, denoise="wiener")
    >>> [name for name, _ in pipe.steps]
    ['rows', 'fill', 'highpass', 'bandlimit', 'denoise']
    """
    steps = [
        ("rows", RowEvidence(reference, n_levels=n_levels, use_amplitude=use_amplitude)),
        ("fill", FillRows(line_delay_seconds, first_row=first_row, row_step=row_step, sr=sr,
                          max_frequency_hz=max_frequency_hz, fill=fill)),
    ]
    if highpass_hz is not None and highpass_hz != 0:  # 0 keeps the drift, as the main path's highpass_hz=0
        steps.append(("highpass", HighPass(cutoff_hz=highpass_hz)))
    if low_hz is not None or high_hz is not None:
        steps.append(("bandlimit", BandLimit(low_hz=low_hz, high_hz=high_hz)))
    if denoise is not None and denoise != "none":
        steps.append(("denoise", Denoise(method=denoise)))
    return Pipeline(steps)


def _mean_frame(source, described: str) -> np.ndarray:
    """Mean of every frame of ``source`` (float64), after checking there are enough of them."""
    total, n_frames = None, 0
    for batch in source:
        summed = batch.frames.sum(axis=0, dtype=np.float64)
        total = summed if total is None else total + summed
        n_frames += len(batch)
    _check_frame_count(n_frames, described)
    return total / n_frames


def _recover(source, *, described: str, line_delay_seconds, first_row, row_step, sensor_rows, reference,
             progress, **options) -> Audio:
    """Check the timing, take the mean frame as reference (unless given) and run :func:`rolling_pipeline`."""
    first_row, row_step, sensor_rows = row_geometry(first_row, row_step, sensor_rows, source.frame_shape[0])
    line_delay_seconds = check_line_delay(line_delay_seconds, fps=source.fps, n_rows=sensor_rows)
    # options the last stages read are checked now, not after the whole video has streamed
    _check_fill(options["fill"])
    if options["sr"] is not None:
        check_positive(options["sr"], "sr")
    if reference is None:
        reference = _mean_frame(source, described)
    pipeline = rolling_pipeline(line_delay_seconds=line_delay_seconds, reference=reference, first_row=first_row,
                                row_step=row_step, **options)
    statistics = FrameStatistics()
    # a few numbers per batch where the frames are read, for the main path's checks of what they show
    audio = pipeline.run(VideoStream(source, frame_extract, statistics.add), progress=progress)
    if source.path is not None:
        audio.info["source_path"] = str(source.path)
    _check_frames(audio.info, audio.samples, statistics.merged(), getattr(source, "codec", None))
    return audio


def _check_frames(info: dict, samples, statistics, codec) -> None:
    """The main path's findings on the frames (no texture, clipped, blank) and the file's codec, warned and listed.

    ``info["warnings"]`` lists them (the command line's ``--strict`` refuses on them); the SNR
    estimate's own findings do not apply: this path has none (``snr_estimate_db`` is absent).
    """
    check_file_codec(info, codec)  # provenance, and an inter-frame codec (phone video nearly always is) flagged
    found = [line for line in findings(samples, info, statistics) if not line.startswith("the estimated SNR")]
    found += list(info.get("reliability", {}).values())
    info["warnings"] = list(dict.fromkeys(found))
    for finding in info["warnings"]:
        warnings.warn(finding, UnreliableRecoveryWarning, stacklevel=4)


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
    low_hz: Optional[float] = None,
    high_hz: Optional[float] = None,
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
    then the main path's stages remove drift below ``highpass_hz``, keep the
    band ``low_hz``-``high_hz`` and denoise (:func:`rolling_pipeline`).

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width) or (n, height, width, 3)]
        Frames, row 0 read first (colour becomes grey as in :func:`vismic.io.open_video`).
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
        Drift removal cut-off (:class:`vismic.denoise.HighPass`); None keeps the drift.
    low_hz, high_hz : float, optional
        Keep only this band (:class:`vismic.denoise.BandLimit`).
    denoise : str, optional
        One of :data:`vismic.denoise.DENOISE_METHODS` (:class:`vismic.denoise.Denoise`).
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
        ``info`` as :class:`FillRows` reports it.

    Raises
    ------
    vismic.errors.ParameterError
        ``line_delay_seconds <= 0`` or too long for the frame rate (the
        message names both), bad ``fill``, ``sr``, ``max_frequency_hz``.
    vismic.errors.TooFewFramesError
        Fewer than :data:`vismic.data.MIN_FRAMES` frames.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic import synth
    >>> from vismic.rolling import recover_rolling_shutter
    >>> delay = 1 / (60 * 32 * 1.2)
    >>> scene = synth.render_rolling_shutter(
    ...     synth.texture("noise", size=(32, 64)), lambda t: 0.1 * np.sin(2 * np.pi * 440 * t),
    ...     fps=60.0, line_delay_seconds=delay, n_frames=32)
    >>> audio = recover_rolling_shutter(scene.frames, fps=60.0, line_delay_seconds=delay)
    >>> round(audio.sr), audio.samples.shape == scene.displacement_px.shape
    (2304, True)
    >>> spectrum = np.abs(np.fft.rfft(audio.samples))
    >>> peak_hz = np.fft.rfftfreq(len(audio), 1 / audio.sr)[np.argmax(spectrum)]
    >>> bool(abs(peak_hz - 440) < 3)   # 15 times the frame rate's Nyquist limit
    True
    """
    from ..io import open_video

    source = open_video(frames, fps=fps)
    return _recover(source, described="the video", line_delay_seconds=line_delay_seconds, first_row=first_row,
                    row_step=row_step, sensor_rows=sensor_rows, reference=reference, progress=None,
                    n_levels=n_levels, use_amplitude=use_amplitude, sr=sr, max_frequency_hz=max_frequency_hz,
                    fill=fill, highpass_hz=highpass_hz, low_hz=low_hz, high_hz=high_hz, denoise=denoise)


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
    low_hz: Optional[float] = None,
    high_hz: Optional[float] = None,
    denoise: Optional[str] = None,
    batch_size: int = 64,
    max_frames: Optional[int] = None,
    progress: Optional[Callable[[int], object]] = None,
) -> Audio:
    """:func:`recover_rolling_shutter` on a video file, frame folder or array, streamed in batches.

    The video is decoded twice (:func:`vismic.io.open_video` re-reads it):
    once for the mean frame (the reference), once to measure every row, so
    memory holds one batch of frames plus a few numbers per row and frame. The
    rows' times account for the crop and the block averaging: row ``y`` of
    the output frames is sensor rows ``roi_y + downsample * y ...`` (their mean
    time: the rows are block means alone, with no low-pass mixing rows of other times, so a
    given :class:`~vismic.io.VideoSource` is read with ``with_anti_alias(0)``), and the line
    delay is checked against the full frame's height.
    This is what ``vismic recover --rolling-shutter --line-delay SECONDS`` runs.

    Parameters
    ----------
    video : str, Path, np.ndarray [shape=(n, height, width) or (n, height, width, 3)] or vismic.io.VideoSource
    fps : float
        Frame rate of the camera.
    line_delay_seconds : float
        Time between consecutive sensor rows.
    roi : (x, y, width, height), optional
    downsample : int
        Block-averaging factor after the crop.
    n_levels, sr, max_frequency_hz, fill, highpass_hz, low_hz, high_hz, denoise
        See :func:`recover_rolling_shutter`.
    batch_size, max_frames
        See :func:`vismic.io.open_video` (ignored for a ``VideoSource``).
    progress : callable, optional
        Called with the number of frames of each batch of the measuring pass.

    Returns
    -------
    vismic.data.Audio
        Motion in px at ``sr`` (by default the line rate); ``info`` as
        :func:`recover_rolling_shutter`'s, with ``roi`` and, for a file or
        folder, ``source_path``. Blank frames at the start (black, burnt out:
        :mod:`vismic._blank`) and, for a random-access video, at the end are left
        out of the reference and the measurement; the output keeps the video's
        length, silent over them, and ``info["start_frame"]``, ``info["lead_in"]``
        and ``info["blank_end"]`` say so (with a warning), as :func:`vismic.recover_sound`'s.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic import synth
    >>> delay = 1 / (60 * 32 * 1.2)
    >>> scene = synth.render_rolling_shutter(
    ...     synth.texture("noise", size=(32, 64)), lambda t: 0.1 * np.sin(2 * np.pi * 440 * t),
    ...     fps=60.0, line_delay_seconds=delay, n_frames=32)
    >>> audio = recover_rolling_shutter_video(scene.frames, fps=60.0, line_delay_seconds=delay, batch_size=5)
    >>> audio.samples.shape == scene.displacement_px.shape, audio.info["n_frames"]
    (True, 32)
    """
    from ..io import VideoSource, open_video

    if isinstance(video, VideoSource):
        source = video
    else:
        source = open_video(video, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                            max_frames=max_frames)
    # each reduced row is read at its block's mean time: block means alone, no low-pass mixing rows of other times
    source = source.with_anti_alias(0.0)
    # the reference is the mean frame: blank frames at either end darken it and give their rows nothing to read
    source, lead_in, tail = without_blank_ends(source)
    _, roi_y, _, _ = source.roi
    factor = int(source.downsample)
    described = str(source.path) if source.path is not None else "the video"
    if lead_in or tail:
        described += f" ({lead_in} blank frames before, {tail} after)"
    audio = _recover(source, described=described, line_delay_seconds=line_delay_seconds,
                     first_row=roi_y + (factor - 1) / 2.0, row_step=factor, sensor_rows=source.full_shape[0],
                     reference=None, progress=progress, n_levels=n_levels, sr=sr,
                     max_frequency_hz=max_frequency_hz, fill=fill, highpass_hz=highpass_hz, low_hz=low_hz,
                     high_hz=high_hz, denoise=denoise)
    audio.info["roi"] = tuple(int(v) for v in source.roi)
    if lead_in or tail:
        audio = silent_ends(audio, lead_in, tail, fps=audio.info["fps"])
        for name in ("lead_in", "blank_end"):
            if name in audio.info:
                warnings.warn(audio.info[name], VismicWarning, stacklevel=2)
    return audio


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
    ...     fps=60.0, line_delay_seconds=delay, n_frames=32)
    >>> audio = Pipeline([("rolling", RollingShutterRecovery(line_delay_seconds=delay))]).run(list(scene.batches(5)))
    >>> round(audio.sr)
    2304
    """

    streaming = False

    def __init__(self, line_delay_seconds: float, n_levels=None, sr=None, max_frequency_hz=None,
                 fill: str = "spectral", highpass_hz=20.0, low_hz=None, high_hz=None, denoise=None,
                 first_row: float = 0.0, row_step: float = 1.0, sensor_rows=None):
        self.line_delay_seconds = line_delay_seconds
        self.n_levels = n_levels
        self.sr = sr
        self.max_frequency_hz = max_frequency_hz
        self.fill = fill
        self.highpass_hz = highpass_hz
        self.low_hz = low_hz
        self.high_hz = high_hz
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
        return recover_rolling_shutter(data.frames, fps=data.fps, **self.get_params())
