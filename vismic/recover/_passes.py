"""What a first pass's findings call for: the pipeline again with a step added, or its estimate capped.

Slow motion past the linear evidence (:func:`stabilised_pipeline`), a camera faster than the
high-pass in downsampled frames (:func:`sharper_source`, :func:`cap_below_camera_speed`), and
an inter-frame codec's held blocks (:func:`unheld_pipeline`); and the steps ``stabilise=True``
and ``unhold=True`` add to a pipeline given (:func:`with_requested_steps`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..combine import BandSum, Combine
from ..data import Audio
from ..decompose import Decompose
from ..errors import ParameterError, VismicWarning
from ..pipeline import Pipeline
from ._pipeline import stabiliser_for, unheld_grid

if TYPE_CHECKING:
    from ..io import VideoSource


def stabilised_pipeline(pipeline: Pipeline, audio: Audio, source=None, *, fuse: bool = True) -> Optional[Pipeline]:
    """The pipeline with :class:`~vismic.stabilise.Stabilise` before its decomposition, when ``audio`` needs it.

    None also when the stage would hold more frames than the machine can, or when the
    combination keeps the slow motion (no high-pass: the stabiliser would take out what was
    asked for); the finding is added to ``audio.info["warnings"]``, and the first pass's result stands.
    """
    if "large_motion" not in audio.info.get("reliability", {}):
        return None
    if has_stabiliser(pipeline):
        return None
    combine = combine_of(pipeline)
    if combine is not None and not combine.highpass_hz:
        # one finding, not two that contradict each other ("remove slow motion first" and "it was asked for")
        said = audio.info["reliability"]["large_motion"]
        audio.info["warnings"] = [line for line in audio.info["warnings"] if line != said]
        audio.info["warnings"].append(
            f"the frames moved {audio.info.get('slow_motion_px', float('nan')):.2f} px (or more) from the reference "
            "in slow motion, and were not stabilised: with no high-pass (--highpass 0, highpass_hz=0) that motion is "
            "what was asked for, read with an error that grows with its size (the evidence is linear over a "
            "fraction of a pixel); --stabilise on (stabilise=True) takes it out")
        return None
    stage = stabiliser_for(getattr(combine, "highpass_hz", None))
    stable = _with_stabiliser(pipeline, stage)
    shape, fps = getattr(source, "frame_shape", None), getattr(source, "fps", None)
    if stable is not None and shape is not None and len(shape) >= 2 and fps:
        try:
            stage.check_memory(shape[:2], fps, held_itemsize(source, stable, stage, fuse=fuse))
        except ParameterError as error:
            audio.info["warnings"].append(f"the frames move below the sound band, but they were not stabilised: {error}")
            return None
    return stable


def combine_of(pipeline: Pipeline) -> Optional[Combine]:
    return next((step for _, step in pipeline.steps if isinstance(step, Combine)), None)


def highpass_of(pipeline: Pipeline) -> float:
    return float(getattr(combine_of(pipeline), "highpass_hz", None) or 0.0)


def faster_than_highpass(audio: Audio, source, highpass_hz: float) -> float:
    """The camera's speed (px/s of the frames read) where a downsampled video's stabiliser found it past the high-pass.

    0 otherwise. A sub-pixel shift of the detail the block means fold back errs
    periodically with the position, one period a pixel, so at that speed the error lands
    in the sound band.
    """
    speed = audio.info.get("camera_speed_px_s")
    if speed is None or not highpass_hz or speed <= highpass_hz or getattr(source, "downsample", 1) <= 1:
        return 0.0
    return float(speed)


def sharper_source(source) -> Optional[VideoSource]:
    """``source`` read with :data:`~vismic.io._frames.FAST_MOTION_ANTI_ALIAS`'s low-pass (None: a low-pass it was given)."""
    from ..io._frames import FAST_MOTION_ANTI_ALIAS

    if (getattr(source, "anti_alias_given", True) or not callable(getattr(source, "with_anti_alias", None))
            or getattr(source, "anti_alias", None) >= FAST_MOTION_ANTI_ALIAS):
        return None
    return source.with_anti_alias(FAST_MOTION_ANTI_ALIAS)


def cap_below_camera_speed(info: dict, samples: np.ndarray, sr: float, highpass_hz: float, speed: float,
                            before: Optional[np.ndarray] = None) -> None:
    """Cap ``info["snr_estimate_db"]`` by the output's error between the high-pass and the camera's speed, at most.

    What the stronger low-pass leaves of the shift's error lies there (its frequency is the
    camera's speed in px/s), and it shifts every region alike, so the region groups agree on
    it: on a shaken gravel clip read at half size the output read 7.3 dB against an estimate
    of 14.3, with 80 % of its error between 20 and 80 Hz (one-off; the clip is
    ``tests/stabilise/test_confidence.py``'s).
    That error is at most the output's power there, and at most what changed there from the
    pass ``before`` (the same frames with the weaker low-pass, whose error was larger), scaled
    to it: the smaller of the two counts as error. Both err low where the sound is loud below
    the camera's speed (camera/music in ``bench_downsample.py``: 23.0 dB estimated 13.6).
    One channel of several is capped by its own power there alone (the channels of two passes
    need not match). ``info["fast_motion_cap_db"]`` records the cap (one per channel).
    """
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    frequencies = np.fft.rfftfreq(samples.shape[-1], 1.0 / sr)
    passed, below = frequencies >= highpass_hz, (frequencies >= highpass_hz) & (frequencies <= speed)
    power = np.abs(np.fft.rfft(samples, axis=-1)) ** 2
    total, error = np.sum(power[:, passed], axis=-1), np.sum(power[:, below], axis=-1)
    if before is not None and np.shape(before) == samples.shape[1:]:
        earlier = np.asarray(before, dtype=np.float64)
        scale = float(samples[0] @ earlier) / max(float(earlier @ earlier), 1e-300)
        changed = np.abs(np.fft.rfft(samples[0] - scale * earlier)) ** 2
        error = np.minimum(error, np.sum(changed[below]))
    error = np.clip(error, 1e-12 * np.maximum(total, 1e-300), None)
    caps = 10.0 * np.log10(np.maximum(total - error, 1e-12 * error) / error)
    estimate = info.get("snr_estimate_db")
    if estimate is None:
        return
    capped = np.minimum(np.asarray(estimate, dtype=np.float64), caps if np.ndim(estimate) else caps[0])
    info["snr_estimate_db"] = capped.tolist() if capped.ndim else float(capped)
    info["fast_motion_cap_db"] = caps.tolist() if np.ndim(estimate) else float(caps[0])


def unheld_pipeline(pipeline: Pipeline, audio: Audio, source=None) -> Optional[Pipeline]:
    """The pipeline with :class:`~vismic.codec.Unhold` first, when ``audio``'s frames need it (else None).

    Only where the frames are on the codec's own 8x8 grid: arrays and folders, or files
    of an 8x8 DCT codec (:func:`vismic.io._codec.codes_8x8_blocks`), read without
    ``downsample`` and cropped (if at all) at multiples of 8 px.
    """
    from ..codec import Unhold
    from ..io._codec import codes_8x8_blocks

    if "inter_frame_codec" not in audio.info.get("reliability", {}):
        return None
    if any(isinstance(stage, Unhold) for _, stage in pipeline.steps):
        return None
    codec = getattr(source, "codec", None)
    if codec is not None and not codes_8x8_blocks(codec):
        return None
    return None if _off_codec_grid(source) else _with_unhold(pipeline)


def _off_codec_grid(source) -> Optional[str]:
    """What moves the frames off the codec's 8x8 grid (``downsample=2``, ``roi=(...)``), or None.

    Unhold reads each 8x8 block's coded coefficients: after ``downsample`` or an ROI that
    does not start at a multiple of 8 px, its blocks straddle the codec's, and it measured
    nothing (a coded share of 0) with no word.
    """
    roi = getattr(source, "roi", None)
    downsample = getattr(source, "downsample", 1)
    if downsample != 1:
        return f"downsample={downsample}"
    return f"roi={tuple(roi)!r}" if roi is not None and (roi[0] % 8 or roi[1] % 8) else None


def check_on_codec_grid(source) -> None:
    """Refuse ``unhold=True`` where the frames are off the codec's 8x8 grid (``unhold='auto'`` passes them by)."""
    read = _off_codec_grid(source)
    if read is not None:
        raise ParameterError(f"unhold=True (--unhold on) reads the codec's 8x8 blocks, and {read} moves the frames off "
                             "their grid: read at full size, with an ROI whose x and y are multiples of 8 px")


def _with_unhold(pipeline: Pipeline) -> Pipeline:
    """The pipeline with :class:`~vismic.codec.Unhold` first, its references one key frame, its grid at most 4x4."""
    from ..codec import Unhold
    from ..project import Project
    from ..stabilise import NormaliseLight

    unheld = pipeline.insert(pipeline.steps[0][0], "unhold", Unhold())
    for _, stage in unheld.steps:
        if isinstance(stage, (NormaliseLight, Decompose, Project)):
            stage.n_reference_frames = 1
        if isinstance(stage, (BandSum, Project)):
            stage.grid = unheld_grid(stage.grid)
    return unheld


def held_itemsize(source, pipeline: Pipeline, stage, *, fuse: bool = True) -> int:
    """Bytes a pixel ``stage`` (a frame stage of ``pipeline``, e.g. :class:`~vismic.stabilise.Stabilise`) will hold.

    The source's stored integers (1 or 2 bytes) where the fused projection hands them
    over (a random-access grey source of known length, :meth:`vismic.io.VideoStream.stored`,
    and frame stages before the product that all take them), else float32's 4.
    """
    from ..project._fuse import split_fusable
    from .._buffers import held_dtype

    head, fused = split_fusable(pipeline.streaming_steps)
    if (fuse and fused is not None and any(step is stage for _, step in head)
            and all(getattr(step, "accepts_stored", False) for _, step in head)
            and getattr(source, "random_access", False) and getattr(source, "downsample", None) == 1
            and getattr(source, "frame_count_hint", None)):
        return held_dtype(source.read_stored(0, 1).dtype).itemsize
    return 4


def with_requested_steps(pipeline: Pipeline, *, stabilise, unhold) -> Pipeline:
    """A given pipeline with the steps ``stabilise=True`` and ``unhold=True`` ask for, where it lacks them.

    :class:`~vismic.stabilise.Stabilise` goes before its light normalisation or decomposition,
    as :func:`default_pipeline` puts it, and :class:`~vismic.codec.Unhold` first (the pipeline
    given is left as it is). ``False`` beside a pipeline that has the step is named: the step stays.
    """
    from ..codec import Unhold

    has_unhold = any(isinstance(stage, Unhold) for _, stage in pipeline.steps)
    kept = [f"{name}=False" for name, asked, has in (("stabilise", stabilise, has_stabiliser(pipeline)),
                                                     ("unhold", unhold, has_unhold)) if asked is False and has]
    if kept:
        warnings.warn(f"{' and '.join(kept)} ignored: the pipeline given has its own "
                      f"{' and '.join(name.split('=')[0].capitalize() for name in kept)} step (remove it from the "
                      "pipeline instead)", VismicWarning, stacklevel=3)
    if stabilise is True and not has_stabiliser(pipeline):
        stable = _with_stabiliser(pipeline, stabiliser_for(highpass_of(pipeline) or None))
        if stable is None:
            raise ParameterError("stabilise=True puts vismic.stabilise.Stabilise before the pipeline's NormaliseLight "
                                 "or Decompose step, and the pipeline given has neither: add the stage to it yourself")
        pipeline = stable
    if unhold is True and not has_unhold:
        pipeline = _with_unhold(pipeline)
    return pipeline


def _with_stabiliser(pipeline: Pipeline, stage) -> Optional[Pipeline]:
    """``pipeline`` (a copy) with ``stage`` before its light normalisation or decomposition; None without either."""
    from ..project import Project
    from ..stabilise import NormaliseLight

    return next((pipeline.insert(name, "stabilise", stage) for name, step in pipeline.steps
                 if isinstance(step, (NormaliseLight, Decompose, Project))), None)


def has_stabiliser(pipeline: Pipeline) -> bool:
    from ..stabilise import Stabilise

    return any(isinstance(stage, Stabilise) for _, stage in pipeline.streaming_steps)
