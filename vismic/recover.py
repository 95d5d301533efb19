"""End-to-end recovery: video in, sound out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .combine import BandSum, Combine
from .decompose import Decompose
from .denoise import DENOISE_METHODS, BandLimit, Denoise, HighPass
from .errors import ParameterError, TooFewFramesError
from .phase import LocalPhase
from .pipeline import Pipeline

__all__ = ["Recovery", "default_pipeline", "recover_sound", "MIN_FRAMES"]

#: Fewest frames vismic recovers sound from (a few periods of a 100 Hz tone at 1 kHz).
MIN_FRAMES = 32


@dataclass
class Recovery:
    """Recovered sound.

    Attributes
    ----------
    audio : np.ndarray [shape=(n,) or (n_channels, n)], float64
        The recovered signal at the capture rate (motion in px, before any
        normalisation; :meth:`to_wav` normalises).
    sr : float
        Sample rate in Hz (the capture rate).
    info : dict
        What the stages report: ``snr_estimate_db`` (estimated from the video
        alone), ``direction_degrees`` of the motion (x right, y down),
        ``region_gain`` and ``region_weights`` per region, ``sound_map`` (how
        strongly each region of the grid carries the sound, 0-1),
        ``reference_frame`` (the first frame, for plots), ``n_frames``,
        ``source_path`` (the video read, when it was a file or folder:
        :meth:`to_wav` refuses to write over it).
    """

    audio: np.ndarray
    sr: float
    info: dict = field(default_factory=dict)

    @property
    def duration_seconds(self) -> float:
        return self.audio.shape[-1] / self.sr

    def to_wav(self, path, *, target_sr="auto", subtype: str = "PCM_16"):
        """Write a WAV file (normalised without clipping, atomically).

        Parameters
        ----------
        path : str or Path
        target_sr : 'auto', int or None
            ``'auto'`` resamples to the smallest standard rate at or above ``sr``
            (players refuse odd rates such as 2200 Hz); None keeps ``sr``.
        subtype : {'PCM_16', 'PCM_24', 'FLOAT'}

        Returns
        -------
        vismic.io.WavInfo
        """
        from .io import write_wav
        from .io._atomic import check_not_input

        check_not_input(path, [self.info.get("source_path")], what="WAV file")
        return write_wav(path, self.audio, sr=self.sr, target_sr=target_sr, subtype=subtype)

    def __repr__(self) -> str:
        snr = self.info.get("snr_estimate_db")
        snr_text = f", snr_estimate_db={snr:.1f}" if snr is not None else ""
        return f"Recovery(n={self.audio.shape[-1]}, sr={self.sr:g}, duration_seconds={self.duration_seconds:.3f}{snr_text})"


def default_pipeline(
    *,
    n_levels: Optional[int] = None,
    grid=(8, 8),
    highpass_hz: float = 20.0,
    low_hz: Optional[float] = None,
    high_hz: Optional[float] = None,
    denoise: Optional[str] = "mmse_lsa",
    magnify=None,
    n_sources: int = 1,
) -> Pipeline:
    """The pipeline :func:`recover_sound` runs.

    Steps: ``[magnify] -> decompose -> phase -> bands -> combine -> highpass
    -> [bandlimit] -> [denoise]``. Change a step with ``set_params``
    (``pipe.set_params(decompose__n_levels=3)``), ``replace``, ``insert`` or
    ``remove``.

    Parameters
    ----------
    n_levels : int or None
        DTCWT levels; None picks up to 4 from the frame size.
    grid : (rows, cols)
        Regions weighed separately by the combination (see :class:`vismic.combine.BandSum`).
    highpass_hz : float
        Drift removal cut-off.
    low_hz, high_hz : float, optional
        Extra band limits of the output.
    denoise : str or None
        One of :data:`vismic.denoise.DENOISE_METHODS`, or None.
    magnify : Stage, optional
        A frame stage (e.g. :class:`vismic.magnify.Magnify`) run before the decomposition.
    n_sources : int
        Separate this many signals carried by different regions (channels of the output).
    """
    steps = []
    if magnify is not None:
        steps.append(("magnify", magnify))
    steps += [
        ("decompose", Decompose(n_levels=n_levels)),
        ("phase", LocalPhase()),
        ("bands", BandSum(grid=grid)),
        ("combine", Combine(grid=grid, highpass_hz=highpass_hz, n_sources=n_sources)),
        ("highpass", HighPass(cutoff_hz=highpass_hz)),
    ]
    if low_hz is not None or high_hz is not None:
        steps.append(("bandlimit", BandLimit(low_hz=low_hz, high_hz=high_hz)))
    if denoise is not None and denoise != "none":
        if denoise not in DENOISE_METHODS:
            raise ParameterError(f"denoise must be one of {DENOISE_METHODS} or None, given denoise={denoise!r}")
        steps.append(("denoise", Denoise(method=denoise)))
    return Pipeline(steps)


def recover_sound(
    video,
    *,
    fps: float,
    roi=None,
    downsample: int = 1,
    n_levels: Optional[int] = None,
    grid=(8, 8),
    highpass_hz: float = 20.0,
    low_hz: Optional[float] = None,
    high_hz: Optional[float] = None,
    denoise: Optional[str] = "mmse_lsa",
    n_sources: int = 1,
    pipeline: Optional[Pipeline] = None,
    batch_size: int = 64,
    max_frames: Optional[int] = None,
    progress: Optional[Callable[[int], object]] = None,
) -> Recovery:
    """Recover the sound that made an object in a silent high-speed video vibrate.

    Parameters
    ----------
    video : str, Path, np.ndarray [shape=(n, height, width) or (n, height, width, 3)] or VideoSource
        A video file OpenCV reads, a folder of frames (PNG, TIFF, 8 or 16 bit),
        or an array of frames.
    fps : float
        Capture rate in frames per second (not the container's playback rate).
    roi : (x, y, width, height), optional
        Region of interest in pixels.
    downsample : int
        Spatial block-averaging factor, applied after the ROI.
    n_levels, grid, highpass_hz, low_hz, high_hz, denoise, n_sources
        See :func:`default_pipeline`.
    pipeline : Pipeline, optional
        Run this pipeline instead of the default one (the other stage
        parameters are then ignored).
    batch_size : int
        Frames decoded and decomposed at a time; memory does not grow with the
        video's length.
    max_frames : int, optional
        Stop after this many frames.
    progress : callable, optional
        Called with the number of frames after each batch.

    Returns
    -------
    Recovery
        ``rec.audio``, ``rec.sr``, ``rec.info``; ``rec.to_wav(path)`` writes it.

    Examples
    --------
    >>> import vismic
    >>> from vismic import synth
    >>> audio = synth.tone(440.0, duration_seconds=0.1, sr=2200.0)
    >>> scene = synth.render_scene(synth.texture("brick", size=(64, 64)),
    ...                            synth.make_displacement(audio, amplitude_px=0.1), fps=2200.0)
    >>> rec = vismic.recover_sound(scene.frames, fps=2200.0, denoise=None)
    >>> rec.audio.shape, rec.sr
    ((220,), 2200.0)
    """
    from .io import VideoSource, open_video

    if isinstance(video, VideoSource):
        source = video
    else:
        source = open_video(video, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size, max_frames=max_frames)
    if pipeline is None:
        pipeline = default_pipeline(
            n_levels=n_levels, grid=grid, highpass_hz=highpass_hz, low_hz=low_hz, high_hz=high_hz, denoise=denoise,
            n_sources=n_sources,
        )
    counted = [0]

    def count(n):
        counted[0] += n
        if progress is not None:
            progress(n)

    bands_step = _last_streaming_step(pipeline)
    if bands_step is None:
        raise ParameterError("the pipeline has no streaming stage to read frames")
    streaming = Pipeline(pipeline.steps[: bands_step + 1])
    rest = pipeline.steps[bands_step + 1 :]
    first = {}

    def batches():
        for batch in source:
            if not first:
                first["frame"] = np.array(batch.frames[0], dtype=np.float32)
            yield batch

    data = streaming.run(batches(), progress=count)
    if counted[0] < MIN_FRAMES:
        raise TooFewFramesError(
            f"{_describe(video)} has {counted[0]} frames; vismic needs at least {MIN_FRAMES}"
        )
    for _, stage in rest:
        data = stage.transform(data)
    info = dict(getattr(data, "info", {}))
    info["n_frames"] = counted[0]
    info["reference_frame"] = first.get("frame")
    info["fps"] = float(fps)
    if source.path is not None:
        info["source_path"] = str(source.path)
    samples = getattr(data, "samples", data)
    return Recovery(np.asarray(samples, dtype=np.float64), float(fps), info)


def _last_streaming_step(pipeline: Pipeline):
    last = None
    for index, (_, stage) in enumerate(pipeline.steps):
        if not getattr(stage, "streaming", False):
            break
        last = index
    return last


def _describe(video) -> str:
    if isinstance(video, (str, Path)):
        return str(video)
    return "the video"
