"""Checks of a pipeline against the video it will read, made before the video is read."""

from __future__ import annotations

from ..combine import BandSum
from ..denoise import BandLimit
from ..errors import ParameterError
from ..pipeline import Pipeline
from ._passes import combine_of, held_itemsize


def check_band_fits(pipeline: Pipeline, source) -> None:
    """Refuse, before the video is read, filters that leave nothing of the sound.

    A drift high-pass or a band's lower edge past the Nyquist frequency, or a band whose top
    lies at or below the drift high-pass (what was left after it was leftover noise, scaled
    to full volume, with an estimate of 214 dB).
    """
    from ..combine._across import check_highpass

    fps = getattr(source, "fps", None)
    combine = combine_of(pipeline)
    highpass = getattr(combine, "highpass_hz", None)
    if fps and combine is not None:
        highpass = check_highpass(highpass, fps)
    for _, stage in pipeline.steps:
        if not isinstance(stage, BandLimit):
            continue
        low_hz, high_hz = getattr(stage, "low_hz", None), getattr(stage, "high_hz", None)
        if fps and isinstance(low_hz, (int, float)) and low_hz >= fps / 2:
            raise ParameterError(f"low_hz (the bottom of --band) is {low_hz:g} Hz, at or above the Nyquist frequency "
                                 f"of {fps:g} fps ({fps / 2:g} Hz): nothing would be left")
        if isinstance(highpass, (int, float)) and highpass > 0 and isinstance(high_hz, (int, float)) \
                and high_hz <= highpass:
            raise ParameterError(f"high_hz (the top of --band) is {high_hz:g} Hz, at or below the drift high-pass at "
                                 f"{highpass:g} Hz: nothing of the sound would be left; give a band above it, or a "
                                 "lower high-pass (--highpass HZ, highpass_hz=; 0 for none)")


def check_frames_fit(pipeline: Pipeline, source, *, fuse: bool = True) -> None:
    """Refuse, before reading, a region grid finer than the frames, or frames too large for the projection."""
    from .._checks import check_grid_fits

    shape = getattr(source, "frame_shape", None)
    if shape is None or len(shape) < 2:
        return
    for _, stage in pipeline.steps:
        if isinstance(stage, BandSum):
            check_grid_fits(stage.grid, shape[:2], "grid")
    from ..project._fuse import split_fusable
    from ..project._templates import check_template_size

    _, fused = split_fusable(pipeline.streaming_steps)
    if fused is not None:
        check_template_size(shape, fused.grid)
    fps = getattr(source, "fps", None)
    for _, stage in pipeline.steps:
        if callable(getattr(stage, "check_memory", None)) and fps:
            stage.check_memory(shape[:2], fps, held_itemsize(source, pipeline, stage, fuse=fuse))
