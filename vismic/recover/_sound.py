"""recover_sound: the checks, a first pass, and the passes its findings call for."""

from __future__ import annotations

import inspect
import logging
import warnings
from typing import Callable, Optional

import numpy as np

from .._blank import silent_ends, without_blank_ends
from ..data import Audio
from ..errors import ParameterError, TooFewFramesError, UnreliableRecoveryWarning, VismicWarning
from ..pipeline import Pipeline, check_fuse
from ._blanks import blank_start, name_blanks
from ._checks import check_band_fits, check_frames_fit
from ._key_frames import check_key_frames, check_key_frames_fit, from_start, key_frames_to_repair, with_key_frames
from ._once import recover_once
from ._passes import (
    cap_below_camera_speed,
    check_on_codec_grid,
    faster_than_highpass,
    has_stabiliser,
    highpass_of,
    sharper_source,
    stabilised_pipeline,
    unheld_pipeline,
    with_requested_steps,
)
from ._pipeline import DEFAULT_GRID, HIGHPASS_DEFAULT_HZ, check_switch, default_pipeline

logger = logging.getLogger("vismic")


def recover_sound(
    video,
    *,
    fps: Optional[float] = None,
    roi=None,
    downsample: int = 1,
    n_levels: Optional[int] = None,
    grid=DEFAULT_GRID,
    highpass_hz: float = HIGHPASS_DEFAULT_HZ,
    low_hz: Optional[float] = None,
    high_hz: Optional[float] = None,
    denoise: Optional[str] = "mmse_lsa",
    n_sources: int = 1,
    pipeline: Optional[Pipeline] = None,
    batch_size: Optional[int] = None,
    max_batch_bytes: Optional[int] = None,
    strict: bool = False,
    stabilise="auto",
    unhold=False,
    codec_replica: bool = True,
    key_frames="auto",
    max_frames: Optional[int] = None,
    progress: Optional[Callable[[int], object]] = None,
    device: Optional[str] = None,
    workers: Optional[int] = None,
    executor=None,
    threads: Optional[int] = None,
    fuse: bool = True,
    precision: str = "float32",
) -> Audio:
    """Recover the sound that made an object in a silent high-speed video vibrate.

    Parameters
    ----------
    video : str, Path, np.ndarray [shape=(n, height, width), (n, height, width, 1) or (n, height, width, 3)] or VideoSource
        A video file OpenCV reads, a folder of frames (PNG, TIFF, 8 or 16 bit),
        or an array of frames.
    fps : float, optional
        Capture rate in frames per second (not the container's playback rate).
        Camera files that store it (Phantom ``.cine``, Photron ``.cih``/``.mraw``)
        need none; ``info["fps_source"]`` says where the rate came from.
    roi : (x, y, width, height), optional
        Region of interest in pixels.
    downsample : int
        Spatial reduction factor, applied after the ROI: a Gaussian low-pass of
        ``0.45 * downsample`` px, then ``downsample x downsample`` block means
        (:meth:`vismic.io.VideoSource.with_anti_alias` chooses another low-pass). Where
        the stabiliser finds the camera moving faster, in px/s of the frames read, than
        the high-pass in Hz, the video is read again with ``0.6 * downsample`` px
        (``info["fast_motion"]`` says so; ``bench_downsample.py``).
    n_levels, grid, highpass_hz, low_hz, high_hz, denoise, n_sources
        See :func:`default_pipeline`.
    pipeline : Pipeline, optional
        Run this pipeline instead of the default one (the other stage
        parameters are then ignored, with a warning where they were given).
        ``stabilise=True`` and ``unhold=True`` add their steps to a copy of it where
        it lacks them; ``False`` beside a pipeline that has them is ignored, with a warning.
    batch_size : int, optional
        Frames decoded at a time (default: sized in bytes, see ``max_batch_bytes``);
        the result does not depend on it.
    max_frames : int, optional
        Stop after this many frames.
    progress : callable, optional
        Called with the number of frames after each batch.
    max_batch_bytes : int, optional
        With ``batch_size`` None (default), batches hold at most this many bytes of
        float32 frames (:data:`vismic.io.BATCH_BYTES`, 16 MiB, and at most 64 frames).
    strict : bool
        A damaged video (frames missing, fewer than the container promises) raises
        :class:`~vismic.errors.CorruptVideoError` instead of a warning.
    stabilise : bool or 'auto'
        True puts :class:`vismic.stabilise.Stabilise` before the decomposition (see
        :func:`default_pipeline`); ``'auto'`` (default) does so only when the first
        pass finds the frames moving too far below the sound band for the linear
        evidence (``info["reliability"]`` ``'large_motion'``): the video is then read
        again, stabilised, and ``info["stabilised"]`` says why (True: ``"on request (stabilise=True)"``).
        False never does.
    unhold : bool or 'auto'
        True puts :class:`vismic.codec.Unhold` first (see :func:`default_pipeline`);
        ``'auto'`` does so when the first pass finds the frames copying most of their
        textured 8x8 blocks from the frame before (``info["reliability"]``
        ``'inter_frame_codec'``) and the video is an array, a folder or a file of an 8x8
        DCT codec (MPEG-4 part 2: ``mp4v``, XviD, DivX; MPEG-1/2; H.263), read without
        ``downsample`` and with an ROI on the codec's 8 px grid: the video is then read
        again and ``info["unheld"]`` says why. ``info["unhold"]`` holds what the stage
        measured, and ``snr_estimate_db`` is at most its ``snr_limit_db``
        (:class:`vismic.codec.UnholdReport`). False (default) never does: the stage
        models a whole frame moving by a fraction of a pixel under sensor noise, where
        it gains 1.0-14.6 dB (``benchmarks/bench_nuisance.py``), but the real clips of
        ``benchmarks/bench_footage.py --mp4v`` lost their known peaks' prominence with it.
    codec_replica : bool
        For a VP9, VP8 or H.264 file (read without ``downsample``, one source, PyAV
        installed): measure what the compression cost on a replica of the scene through the
        same codec at the file's own quantiser (VP9, H.264) or frame quantisers and bits a
        pixel (VP8) (:func:`vismic.codec.codec_replica`), record it in ``info["codec_replica"]`` and
        keep ``snr_estimate_db`` at most its SI-SNR. The replica moves the regions of the
        recovery's sound map (:func:`vismic.codec.moving_regions`; the whole frame where the
        estimate is below ``vismic.codec.SOUND_MAP_FLOOR_DB``, where the map is mostly
        noise) by a motion of the recovered one's spectrum
        (:func:`vismic.codec.independent_motion`), and where the
        frames barely differ its figure replaces their cap (above
        ``vismic.codec.REPLICA_OVER_CAP_DB``; ``info["codec_cap"]``). On by default: the estimate
        alone read -1.2 to +13.5 dB from the truth on ``benchmarks/bench_replica.py``'s 16
        VP9 scenes (-2.7 to +2.4 with the replica) and -1.0 to +7.7 on the same scenes as
        VP8 files (``--codec vp8``: -1.8 to +1.9); on x264 files (``--codec h264``) it read
        -14.3 to +16.6 at ``-crf 10`` (6 of 16 more than 3 dB too high; one with the replica,
        -3.0 to +3.0, at +3.0) and up to 80 dB too high at x264's defaults, where the sound is lost
        (9 of 16; 4 with the replica, three of them at -14.3 to -17.1 dB); where the sound moves
        an object over a still background (``--object 0.4``) the replica read VP9 -1.9 to
        +2.9 (8 of 8 within 3 dB; at libvpx-vp9's default speed). A VP9 replica encodes and
        recovers up to :data:`vismic.codec.REPLICA_FRAMES` frames twice more, with a few short
        trials: the recovery took 10x as long there (median, 64-128 px; 46x before VP9 replicas
        were encoded at ``cpu-used`` 4); a VP8 replica once, 9x; an H.264 replica once, 6-7x (3-7x on real H.264 clips:
        ``docs/real-recordings.md``; 5-12x on ``benchmarks/bench_codec_memory.py``'s x264 files of
        640x400 and 1280x800 px, 12-28x before its noise search matched short replicas first).
    key_frames : 'auto', array_like of int or None
        Frame indices of a codec's key frames: the combination repairs each region's
        scores there from the frames beside them (``Combine(key_frames=...)``,
        :func:`vismic.codec.repair_key_frames`) and ``info["key_frames"]`` says how much
        it took out. ``'auto'`` (default) reads them from a video file's packets
        (:func:`vismic.codec.read_key_frames`; PyAV installed) of VP8 and VP9 files
        (:data:`KEY_FRAME_CODECS`); None never repairs.
    device : str, optional
        ``'cpu'`` or ``'cuda[:index]'``: project the frames with torch on that
        device (see :class:`vismic.project.Project`); default numpy.
    workers : int, optional
        Project frame batches on this many worker processes (a process pool);
        the result equals the serial one. By default the frames are projected on
        threads of this process, one per core (at most :data:`MAX_THREADS`), with
        the same result (``threads``).
    executor : concurrent.futures.Executor, optional
        Any executor instead of ``workers``, e.g. a Dask client's
        ``client.get_executor()`` for a cluster.
    threads : int, optional
        Without ``workers`` or ``executor``: project on this many threads of this
        process (1: in the calling thread); default one per core, at most
        :data:`MAX_THREADS` (without numba, one for frames above about 1024x512 px:
        :data:`MIN_CHUNK_FOR_THREADS`, where threads ran slower).
    fuse : bool
        Run the built-in streaming steps as one projection (default; the same
        band evidence to float32 rounding). ``False`` runs decompose, phase and
        bands stage by stage (with ``device``, ``workers``, ``executor`` or
        ``precision='int8'``, which need the projection, it raises ``ParameterError``).
    precision : {'float32', 'int8'}
        ``'int8'`` rounds the projection's templates to 8 bits and projects
        8- and 16-bit video with integer products: faster where the CPU has
        integer matrix units (``benchmarks/bench_speed.py`` prints both; needs
        torch; see :class:`vismic.project.Project`), the sound within a few
        hundredths of a dB of float32's.

    Returns
    -------
    vismic.data.Audio
        ``rec.samples`` (also ``rec.audio``), ``rec.sr`` (the rate of the
        frames), ``rec.info``; ``rec.to_wav(path)`` writes it. ``info`` adds
        ``n_frames``, ``fps``, ``precision``, ``downsample`` (the samples are in pixels of the frames
        as analysed: ``downsample`` source pixels each), ``anti_alias`` (the low-pass the frames were
        read with, None without ``downsample``), ``camera_speed_px_s`` (where a stabiliser ran:
        :meth:`~vismic.stabilise.StabiliseReport.speed_px_s`), ``pipeline`` (the :class:`~vismic.pipeline.Pipeline` that gave
        the samples: the one given or made, with any stage a second pass added), ``reference_frame`` (the first
        frame, for plots),
        ``source_path`` (when read from a file or folder: :meth:`to_wav`
        refuses to write over it) and ``codec`` (a video file's FourCC, see
        :attr:`vismic.io.VideoSource.codec`) to what the stages report, and ``warnings``:
        one sentence per reason not to trust the result (no motion, no stable
        texture, an SNR estimate below 0 dB, motion too large to linearise,
        clipped frames, an inter-frame codec; see :mod:`vismic._reliability`), each also emitted as an
        :class:`~vismic.errors.UnreliableRecoveryWarning`. A video that starts with blank frames (black,
        burnt out, :mod:`vismic._blank`) is recovered from its first textured frame on, and the samples
        are silent before it: ``info["start_frame"]`` is that frame, ``info["lead_in"]`` says so (also a
        :class:`~vismic.errors.VismicWarning`), ``n_frames`` counts the video's frames, lead-in included.
        Blank frames at the end of a video read at random (camera files, TIFF stacks, arrays) are
        silent alike (``info["blank_end"]``), and so are blank frames anywhere else, named in
        ``info["blank_frames"]`` (a warning) and listed in ``info["blank_spans"]`` (``[start, stop)``
        frames counted from the output's first sample, as ``start_frame``).

    Raises
    ------
    TooFewFramesError
        Fewer than :data:`vismic.data.MIN_FRAMES` frames.

    Examples
    --------
    >>> import vismic
    >>> from vismic import synth
    >>> audio = synth.tone(440.0, duration_seconds=0.1, sr=2200.0)
    >>> scene = synth.render_scene(synth.texture("brick", size=(64, 64)),
    ...                            synth.make_displacement(audio, amplitude_px=0.1), fps=2200.0)
    >>> rec = vismic.recover_sound(scene.frames, fps=2200.0, denoise=None)
    >>> rec.samples.shape, rec.sr
    ((220,), 2200.0)
    """
    stabilise = check_switch(stabilise, "stabilise", auto=True)
    unhold = check_switch(unhold, "unhold", auto=True)
    key_frames = check_key_frames(key_frames)
    _check_run_arguments(pipeline=pipeline, codec_replica=codec_replica, batch_size=batch_size, max_frames=max_frames,
                         progress=progress, device=device, workers=workers, executor=executor, threads=threads,
                         fuse=fuse, precision=precision)
    if pipeline is not None:
        _warn_ignored(n_levels=n_levels, grid=grid, highpass_hz=highpass_hz, low_hz=low_hz, high_hz=high_hz,
                      denoise=denoise, n_sources=n_sources)
    source = _opened(video, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                     max_batch_bytes=max_batch_bytes, strict=strict, max_frames=max_frames)
    check_key_frames_fit(key_frames, source)
    if unhold is True:
        check_on_codec_grid(source)
    source, lead_in, tail = without_blank_ends(source)
    if pipeline is None:
        pipeline = default_pipeline(
            n_levels=n_levels, grid=grid, highpass_hz=highpass_hz, low_hz=low_hz, high_hz=high_hz, denoise=denoise,
            n_sources=n_sources, stabilise=stabilise is True, unhold=unhold is True,
        )
    else:
        pipeline = with_requested_steps(pipeline, stabilise=stabilise, unhold=unhold)
    _check_streams(pipeline)
    check_frames_fit(pipeline, source, fuse=fuse)
    check_band_fits(pipeline, source)
    run = dict(progress=progress, device=device, workers=workers, executor=executor, threads=threads, fuse=fuse,
               precision=precision)

    audio, pipeline, source, lead_in = _first_pass(pipeline, source, video, run, key_frames_to_repair(key_frames, source),
                                                   lead_in, tail)
    if stabilise is True:
        audio.info["stabilised"] = "on request (stabilise=True)"
    elif has_stabiliser(pipeline):
        audio.info["stabilised"] = "by the pipeline's own Stabilise step"
    if stabilise == "auto":
        audio, pipeline = _again_stabilised(audio, pipeline, source, video, run)
    audio, source = _again_sharper(audio, pipeline, source, video, run)
    if unhold == "auto":
        audio, pipeline = _again_unheld(audio, pipeline, source, video, run)
    if codec_replica:
        from ..codec._checks import check_replica

        check_replica(audio, pipeline, source, run, recover_once)
    return _finished(audio, pipeline, source, precision=precision, lead_in=lead_in, tail=tail)


def _check_run_arguments(*, pipeline, codec_replica, batch_size, max_frames, progress, device, workers, executor,
                         threads, fuse, precision) -> None:
    """:func:`recover_sound`'s arguments of how to run, checked before the video is opened."""
    from .._checks import check_int
    from ..project._templates import check_precision

    if workers is not None and executor is not None:
        raise ParameterError("give workers= or executor=, not both")
    if threads is not None:
        check_int(threads, "threads", minimum=1)
        if workers is not None or executor is not None:
            raise ParameterError("threads= applies without workers= or executor=; give one of them")
    check_precision(precision)
    check_fuse(fuse, device=device, executor=executor, precision=precision, workers=workers)
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        raise ParameterError(f"pipeline must be a vismic.pipeline.Pipeline (e.g. vismic.default_pipeline(), or "
                             f"Pipeline([(name, stage), ...])), given {type(pipeline).__name__}")
    if not isinstance(codec_replica, bool):
        raise ParameterError(f"codec_replica must be True or False, given codec_replica={codec_replica!r}")
    for name, value in (("batch_size", batch_size), ("max_frames", max_frames)):
        if value is not None:
            check_int(value, name, minimum=1)
    if workers is not None:
        from ..project._parallel import check_workers

        check_workers(workers)
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress must be a callable taking a number of frames, given {progress!r}")


def _opened(video, *, fps, roi, downsample, batch_size, max_batch_bytes, strict, max_frames):
    """``video`` as a :class:`~vismic.io.VideoSource` (one given is used as it is, its reading arguments its own)."""
    from ..io import BATCH_BYTES, VideoSource, open_video

    if isinstance(video, VideoSource):
        _warn_ignored_by_source(video, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                                max_batch_bytes=max_batch_bytes, strict=strict, max_frames=max_frames)
        return video
    return open_video(video, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                      max_batch_bytes=BATCH_BYTES if max_batch_bytes is None else max_batch_bytes,
                      strict=strict, max_frames=max_frames)


def _check_streams(pipeline: Pipeline) -> None:
    """Refuse a pipeline whose first step does not take frames as they stream."""
    if not pipeline.streaming_steps:
        name, first = pipeline.steps[0] if pipeline.steps else ("", None)
        raise ParameterError("the pipeline has no streaming stage to read frames" if first is None else
                             f"the pipeline's first step {name!r} ({type(first).__name__}) takes the whole video "
                             "at once: recover_sound streams frames into the streaming steps (frame stages, "
                             "Decompose, LocalPhase, BandSum), which must come first")


def _restart(run: dict, why: str) -> None:
    progress = run.get("progress")
    if hasattr(progress, "restart"):
        progress.restart(why)


def _first_pass(pipeline: Pipeline, source, video, run: dict, keys, lead_in: int, tail: int):
    """The first pass, read again from after any blank frames its numbers find at the start.

    Returns the audio, the pipeline that gave it (repairing ``keys``, the codec's key frames),
    the source it read and the frames left out before it.
    """
    given = pipeline
    pipeline = with_key_frames(given, from_start(keys, source))
    audio = recover_after_blanks(pipeline, source, video, run, lead_in, tail)
    more = blank_start(audio)
    if more:
        # a lead-in the scan took for texture (a lens cap's fixed pattern) gave the stages their references:
        # the whole video's numbers call it blank, so the video is read again from after it
        logger.info("the first %d frames are blank: reading the video again from frame %d", more, lead_in + more)
        _restart(run, "after the blank frames")
        lead_in += more
        source = source.starting_at(source.start_frame + more)
        pipeline = with_key_frames(given, from_start(keys, source))
        audio = recover_after_blanks(pipeline, source, video, run, lead_in, tail)
    return audio, pipeline, source, lead_in


def recover_after_blanks(pipeline: Pipeline, source, video, run: dict, lead_in: int, tail: int) -> Audio:
    """:func:`recover_once`, whose too-few-frames error names the blank frames left out."""
    try:
        return recover_once(pipeline, source, video, **run)
    except TooFewFramesError as error:
        if not (lead_in or tail):
            raise
        raise TooFewFramesError(f"{error}; the rest of it is blank (black, burnt out or without texture: "
                                f"{lead_in} frames before, {tail} after)") from None



def _again_stabilised(audio: Audio, pipeline: Pipeline, source, video, run: dict):
    """The audio and pipeline again with a stabiliser, where the first pass found large slow motion."""
    stable = stabilised_pipeline(pipeline, audio, source, fuse=run["fuse"])
    if stable is None:
        return audio, pipeline
    moved = audio.info.get("slow_motion_px", float("nan"))
    logger.info("the frames moved %.2f px below the sound band: reading them again, stabilised", moved)
    _restart(run, "stabilised")
    audio = recover_once(stable, source, video, **run)
    audio.info["stabilised"] = (f"automatically: the first pass found the frames moving {moved:.2f} px (or more: "
                                "the linear evidence reads motions of pixels small) below the sound band")
    return audio, stable


def _again_sharper(audio: Audio, pipeline: Pipeline, source, video, run: dict):
    """The audio and source again with a stronger low-pass, where a downsampled camera moved past the high-pass.

    The estimate is capped by what the motion's error could be in the sound band (either way).
    """
    highpass_hz = highpass_of(pipeline)
    speed = faster_than_highpass(audio, source, highpass_hz)
    if not speed:
        return audio, source
    sharper = sharper_source(source)
    weaker = None
    if sharper is not None:
        logger.info("the camera moved at up to %.0f px/s: reading the frames again with a stronger low-pass", speed)
        _restart(run, "with a stronger low-pass")
        stabilised, weaker = audio.info.get("stabilised"), audio.samples
        audio = recover_once(pipeline, sharper, video, **run)
        if stabilised is not None:
            audio.info["stabilised"] = stabilised
        audio.info["fast_motion"] = (
            f"the camera moved at up to {speed:.0f} px/s in the frames as read (downsample={source.downsample}), "
            f"faster than the {highpass_hz:g} Hz high-pass: a shift of the detail the reduction folds "
            "back errs once a pixel, in the sound band, so the frames were read again with a low-pass of "
            f"{sharper.anti_alias:g} x {source.downsample} px before the block means, not {source.anti_alias:g}")
        source = sharper
    cap_below_camera_speed(audio.info, audio.samples, audio.sr, highpass_hz, speed, weaker)
    return audio, source


def _again_unheld(audio: Audio, pipeline: Pipeline, source, video, run: dict):
    """The audio and pipeline again with :class:`~vismic.codec.Unhold` first, where the frames hold a codec's blocks."""
    unheld = unheld_pipeline(pipeline, audio, source)
    if unheld is None:
        return audio, pipeline
    logger.info("the frames copy most blocks from the frame before: reading them again, unheld")
    _restart(run, "unheld")
    stabilised = audio.info.get("stabilised")
    audio = recover_once(unheld, source, video, **run)
    if stabilised is not None:
        audio.info["stabilised"] = stabilised
    audio.info["unheld"] = ("automatically: the first pass found the frames copying most of their textured "
                            "8x8 blocks from the frame before (an inter-frame codec's held blocks)")
    return audio, unheld


def _finished(audio: Audio, pipeline: Pipeline, source, *, precision: str, lead_in: int, tail: int) -> Audio:
    """The audio with what the run adds to its info, silent over blank ends, its findings warned."""
    audio.info["precision"] = precision
    audio.info["pipeline"] = pipeline  # with any Stabilise or Unhold a second pass added
    audio.info["downsample"] = getattr(source, "downsample", 1)  # the samples are in pixels of the frames analysed
    audio.info["anti_alias"] = getattr(source, "anti_alias", None) if audio.info["downsample"] > 1 else None
    if lead_in or tail:
        audio = silent_ends(audio, lead_in, tail, fps=audio.sr)
    name_blanks(audio.info, lead_in)
    for name in ("lead_in", "blank_end", "blank_frames"):
        if name in audio.info:
            warnings.warn(audio.info[name], VismicWarning, stacklevel=3)
    for finding in audio.info["warnings"]:
        warnings.warn(finding, UnreliableRecoveryWarning, stacklevel=3)
    return audio


#: recover_sound's defaults for the stage parameters a given pipeline overrides.
_STAGE_DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(recover_sound).parameters.items()}


def _warn_ignored(**given) -> None:
    """Warn about the stage parameters of :func:`recover_sound` given with a ``pipeline``, which decides."""
    defaults = _STAGE_DEFAULTS
    ignored = [f"{name}={value!r}" for name, value in given.items()
               if not (value == defaults[name] or (isinstance(value, list) and tuple(value) == defaults[name]))]
    if ignored:
        warnings.warn(f"{', '.join(ignored)} ignored: the pipeline given decides (set them on its stages, "
                      f"e.g. pipeline.set_params(combine__highpass_hz=...))", VismicWarning, stacklevel=3)


def _warn_ignored_by_source(source, **given) -> None:
    """Warn about reading arguments given to :func:`recover_sound` with a ``VideoSource`` (opened with its own)."""
    defaults = dict(fps=source.fps, roi=None, downsample=1, batch_size=None, max_batch_bytes=None, strict=False,
                    max_frames=None)
    ignored = [f"{name}={value!r}" for name, value in given.items()
               if value is not None and not _same(value, defaults[name])]
    if ignored:
        warnings.warn(f"{', '.join(ignored)} ignored: the VideoSource given was opened with its own (pass them to "
                      "vismic.io.open_video, or use its with_... methods)", VismicWarning, stacklevel=4)


def _same(value, default) -> bool:
    try:
        return bool(np.all(np.asarray(value) == np.asarray(default)))
    except (TypeError, ValueError):
        return False
