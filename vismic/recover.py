"""End-to-end recovery: video in, sound out."""

from __future__ import annotations

import copy
import inspect
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from ._blank import silent_ends, without_blank_ends
from .combine import BandSum, Combine
from .data import MIN_FRAMES, Audio
from .decompose import Decompose
from .denoise import DENOISE_METHODS, BandLimit, Denoise
from .errors import ParameterError, TooFewFramesError, UnreliableRecoveryWarning, VismicWarning
from .phase import LocalPhase
from .pipeline import Pipeline, check_fuse

if TYPE_CHECKING:
    from .io import VideoSource

logger = logging.getLogger("vismic")

__all__ = ["Recovery", "default_pipeline", "recover_sound", "MIN_FRAMES"]

#: What :func:`recover_sound` returns: the pipeline's own :class:`~vismic.data.Audio`
#: (``samples`` or ``audio``, ``sr``, ``info``, ``noise``, ``to_wav``). Kept as a
#: name for code written against earlier versions.
Recovery = Audio


#: The region grid :func:`default_pipeline` and :func:`recover_sound` use unless given one.
DEFAULT_GRID = (8, 8)
#: The drift high-pass :func:`recover_sound` puts on the output, and the one ``Stabilise``'s defaults go with.
HIGHPASS_DEFAULT_HZ = 20.0


def default_pipeline(
    *,
    n_levels: Optional[int] = None,
    grid=DEFAULT_GRID,
    highpass_hz: float = HIGHPASS_DEFAULT_HZ,
    low_hz: Optional[float] = None,
    high_hz: Optional[float] = None,
    denoise: Optional[str] = "mmse_lsa",
    magnify=None,
    n_sources: int = 1,
    stabilise: bool = False,
    unhold: bool = False,
) -> Pipeline:
    """The pipeline :func:`recover_sound` runs.

    Steps: ``[unhold] -> [magnify] -> [stabilise] -> light -> decompose -> phase -> bands -> combine ->
    [bandlimit] -> [denoise]``; the combination removes drift. Change a step
    with ``set_params`` (``pipe.set_params(decompose__n_levels=3)``),
    ``replace``, ``insert`` or ``remove``; put an equaliser in with
    :func:`vismic.calibrate.add_equaliser` (before denoising).

    Each parameter is set in one place: the region grid in ``bands__grid``
    (the band signals carry it to the combination), the drift cut-off in
    ``combine__highpass_hz``.

    Parameters
    ----------
    n_levels : int or None
        DTCWT levels; None picks up to 4 from the frame size.
    grid : (rows, cols)
        Regions weighed separately by the combination (see :class:`vismic.combine.BandSum`).
    highpass_hz : float or None
        Drift removal cut-off (see :class:`vismic.combine.Combine`).
    low_hz, high_hz : float, optional
        Extra band limits of the output (``low_hz`` 0: no lower edge).
    denoise : str or None
        One of :data:`vismic.denoise.DENOISE_METHODS`, or None.
    magnify : Stage, optional
        A frame stage (e.g. :class:`vismic.magnify.Magnify`) run before the decomposition.
    n_sources : int
        Separate this many signals carried by different regions (channels of the output).
    stabilise : bool
        Put :class:`vismic.stabilise.Stabilise` before the decomposition: camera drift,
        sway and shake below the sound band and light changes (flicker, exposure) are
        removed from the frames first (see ``benchmarks/bench_nuisance.py``). Off by
        default: it costs up to 0.2 dB on clean scenes and is slower than the projection.
    unhold : bool
        Put :class:`vismic.codec.Unhold` first, for the frames of an MPEG-4 part 2 file
        (``mp4v``, XviD, DivX) that copy most of their coefficients from the frame before;
        the light and decomposition steps then take the first frame (a key frame) as
        their reference, and the grid is at most :data:`UNHELD_MAX_GRID` a side (a
        :class:`~vismic.errors.VismicWarning` says so when a finer grid than the default
        was asked for).
    """
    stabilise = _check_switch(stabilise, "stabilise")
    unhold = _check_switch(unhold, "unhold")
    _check_pipeline_args(n_levels=n_levels, grid=grid, highpass_hz=highpass_hz, low_hz=low_hz, high_hz=high_hz,
                         n_sources=n_sources)
    steps = []
    if unhold:
        from .codec import Unhold

        if tuple(grid) != DEFAULT_GRID and tuple(grid) != _unheld_grid(grid):
            warnings.warn(f"unhold=True takes at most a {UNHELD_MAX_GRID}x{UNHELD_MAX_GRID} grid (see "
                          f"vismic.recover.UNHELD_MAX_GRID); grid={tuple(grid)!r} becomes {_unheld_grid(grid)!r}",
                          VismicWarning, stacklevel=2)
        grid = _unheld_grid(grid)
        steps.append(("unhold", Unhold()))
    if magnify is not None:
        steps.append(("magnify", magnify))
    from .stabilise._light import NormaliseLight

    if stabilise:
        steps.append(("stabilise", stabiliser_for(highpass_hz)))
    # after Stabilise too: what is left of the light against the stabilised reference (the filled
    # border changes the frame's mean as the camera moves; gravel under drift +0.5 dB, others +-0.01)
    # after Unhold only a key frame is as the camera saw it: the others carry scaled-up coded changes
    n_reference_frames = 1 if unhold else 16
    steps.append(("light", NormaliseLight(n_reference_frames=n_reference_frames)))
    steps += [
        ("decompose", Decompose(n_levels=n_levels, n_reference_frames=n_reference_frames)),
        ("phase", LocalPhase()),
        ("bands", BandSum(grid=grid)),
        ("combine", Combine(highpass_hz=highpass_hz, n_sources=n_sources)),
    ]
    low_hz = low_hz or None  # 0: no lower edge, as the high-pass's 0
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
) -> Recovery:
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
        VP9 scenes (-2.8 to +2.4 with the replica) and -1.0 to +7.7 on the same scenes as
        VP8 files (``--codec vp8``: -1.8 to +1.9); on x264 files (``--codec h264``) it read
        -14.3 to +16.6 at ``-crf 10`` (6 of 16 more than 3 dB too high; one with the replica,
        -3.0 to +3.0, at +3.0) and up to 80 dB too high at x264's defaults, where the sound is lost
        (9 of 16; 4 with the replica, three of them at -14.3 to -17.1 dB); where the sound moves
        an object over a still background (``--object 0.4``) the replica read VP9 -1.9 to
        +2.9 (8 of 8 within 3 dB; at libvpx-vp9's default speed). A VP9 replica encodes and
        recovers up to :data:`vismic.codec.REPLICA_FRAMES` frames twice more, with a few short
        trials: the recovery took 12x as long there (median, 64-128 px; 46x before VP9 replicas
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
    from ._checks import check_int
    from .io import VideoSource, open_video

    if workers is not None and executor is not None:
        raise ParameterError("give workers= or executor=, not both")
    if threads is not None:
        check_int(threads, "threads", minimum=1)
        if workers is not None or executor is not None:
            raise ParameterError("threads= applies without workers= or executor=; give one of them")
    from .project._templates import check_precision

    check_precision(precision)
    check_fuse(fuse, device=device, executor=executor, precision=precision, workers=workers)
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        raise ParameterError(f"pipeline must be a vismic.pipeline.Pipeline (e.g. vismic.default_pipeline(), or "
                             f"Pipeline([(name, stage), ...])), given {type(pipeline).__name__}")
    if pipeline is not None:
        _warn_ignored(n_levels=n_levels, grid=grid, highpass_hz=highpass_hz, low_hz=low_hz, high_hz=high_hz,
                      denoise=denoise, n_sources=n_sources)
    stabilise = _check_switch(stabilise, "stabilise", auto=True)
    unhold = _check_switch(unhold, "unhold", auto=True)
    if not isinstance(codec_replica, bool):
        raise ParameterError(f"codec_replica must be True or False, given codec_replica={codec_replica!r}")
    key_frames = _check_key_frames(key_frames)
    if batch_size is not None:
        check_int(batch_size, "batch_size", minimum=1)
    if max_frames is not None:
        check_int(max_frames, "max_frames", minimum=1)
    if workers is not None:
        check_int(workers, "workers", minimum=1)
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress must be a callable taking a number of frames, given {progress!r}")
    if isinstance(video, VideoSource):
        source = video
        _warn_ignored_by_source(source, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                                max_batch_bytes=max_batch_bytes, strict=strict, max_frames=max_frames)
    else:
        from .io import BATCH_BYTES

        source = open_video(video, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                            max_batch_bytes=BATCH_BYTES if max_batch_bytes is None else max_batch_bytes,
                            strict=strict, max_frames=max_frames)
    _check_key_frames_fit(key_frames, source)
    if unhold is True:
        _check_on_codec_grid(source)
    source, lead_in, tail = without_blank_ends(source)
    if pipeline is None:
        pipeline = default_pipeline(
            n_levels=n_levels, grid=grid, highpass_hz=highpass_hz, low_hz=low_hz, high_hz=high_hz, denoise=denoise,
            n_sources=n_sources, stabilise=stabilise is True, unhold=unhold is True,
        )
    else:
        pipeline = _with_requested_steps(pipeline, stabilise=stabilise, unhold=unhold)
    if not pipeline.streaming_steps:
        name, first = pipeline.steps[0] if pipeline.steps else ("", None)
        raise ParameterError("the pipeline has no streaming stage to read frames" if first is None else
                             f"the pipeline's first step {name!r} ({type(first).__name__}) takes the whole video "
                             "at once: recover_sound streams frames into the streaming steps (frame stages, "
                             "Decompose, LocalPhase, BandSum), which must come first")
    _check_grid_fits(pipeline, source, fuse=fuse)
    _check_band_fits(pipeline, source)
    keys = _key_frames(key_frames, source)
    given = pipeline
    pipeline = _with_key_frames(given, _from_start(keys, source))
    run = dict(progress=progress, device=device, workers=workers, executor=executor, threads=threads, fuse=fuse,
               precision=precision)
    audio = _recover_after_blanks(pipeline, source, video, run, lead_in, tail)
    more = _blank_start(audio)
    if more:
        # a lead-in the scan took for texture (a lens cap's fixed pattern) gave the stages their references:
        # the whole video's numbers call it blank, so the video is read again from after it
        logger.info("the first %d frames are blank: reading the video again from frame %d", more, lead_in + more)
        if hasattr(progress, "restart"):
            progress.restart("after the blank frames")
        lead_in += more
        source = source.starting_at(source.start_frame + more)
        pipeline = _with_key_frames(given, _from_start(keys, source))
        audio = _recover_after_blanks(pipeline, source, video, run, lead_in, tail)
    if stabilise is True:
        audio.info["stabilised"] = "on request (stabilise=True)"
    elif _has_stabiliser(pipeline):
        audio.info["stabilised"] = "by the pipeline's own Stabilise step"
    stable = _stabilised(pipeline, audio, source, fuse=fuse) if stabilise == "auto" else None
    if stable is not None:
        moved = audio.info.get("slow_motion_px", float("nan"))
        logger.info("the frames moved %.2f px below the sound band: reading them again, stabilised", moved)
        if hasattr(progress, "restart"):
            progress.restart("stabilised")
        audio = _recover_once(stable, source, video, **run)
        audio.info["stabilised"] = (f"automatically: the first pass found the frames moving {moved:.2f} px (or more: "
                                    "the linear evidence reads motions of pixels small) below the sound band")
        pipeline = stable
    highpass_hz = _highpass_of(pipeline)
    speed = _faster_than_highpass(audio, source, highpass_hz)
    sharper = _sharper(source) if speed else None
    if sharper is not None:
        logger.info("the camera moved at up to %.0f px/s: reading the frames again with a stronger low-pass", speed)
        if hasattr(progress, "restart"):
            progress.restart("with a stronger low-pass")
        stabilised, weaker = audio.info.get("stabilised"), audio.samples
        audio = _recover_once(pipeline, sharper, video, **run)
        if stabilised is not None:
            audio.info["stabilised"] = stabilised
        audio.info["fast_motion"] = (
            f"the camera moved at up to {speed:.0f} px/s in the frames as read (downsample={source.downsample}), "
            f"faster than the {highpass_hz:g} Hz high-pass: a shift of the detail the reduction folds "
            "back errs once a pixel, in the sound band, so the frames were read again with a low-pass of "
            f"{sharper.anti_alias:g} x {source.downsample} px before the block means, not {source.anti_alias:g}")
        source = sharper
    if speed:
        _cap_below_camera_speed(audio.info, audio.samples, audio.sr, highpass_hz, speed,
                                weaker if sharper is not None else None)
    unheld = _unheld(pipeline, audio, source) if unhold == "auto" else None
    if unheld is not None:
        logger.info("the frames copy most blocks from the frame before: reading them again, unheld")
        if hasattr(progress, "restart"):
            progress.restart("unheld")
        stabilised = audio.info.get("stabilised")
        audio = _recover_once(unheld, source, video, **run)
        if stabilised is not None:
            audio.info["stabilised"] = stabilised
        audio.info["unheld"] = ("automatically: the first pass found the frames copying most of their textured "
                                "8x8 blocks from the frame before (an inter-frame codec's held blocks)")
    if codec_replica:
        from .codec._checks import check_replica

        check_replica(audio, pipeline, source, dict(run, progress=progress), _recover_once)
    audio.info["precision"] = precision
    audio.info["pipeline"] = pipeline  # with any Stabilise or Unhold a second pass added
    audio.info["downsample"] = getattr(source, "downsample", 1)  # the samples are in pixels of the frames analysed
    audio.info["anti_alias"] = getattr(source, "anti_alias", None) if audio.info["downsample"] > 1 else None
    if lead_in or tail:
        audio = silent_ends(audio, lead_in, tail, fps=audio.sr)
    _name_blanks(audio.info, lead_in)
    for name in ("lead_in", "blank_end", "blank_frames"):
        if name in audio.info:
            warnings.warn(audio.info[name], VismicWarning, stacklevel=2)
    for finding in audio.info["warnings"]:
        warnings.warn(finding, UnreliableRecoveryWarning, stacklevel=2)
    return audio


def _recover_after_blanks(pipeline: Pipeline, source, video, run: dict, lead_in: int, tail: int) -> Audio:
    """:func:`_recover_once`, whose too-few-frames error names the blank frames left out."""
    try:
        return _recover_once(pipeline, source, video, **run)
    except TooFewFramesError as error:
        if not (lead_in or tail):
            raise
        raise TooFewFramesError(f"{error}; the rest of it is blank (black, burnt out or without texture: "
                                f"{lead_in} frames before, {tail} after)") from None


def _blank_start(audio: Audio) -> int:
    """Frames at the start of a pass's output that the whole video's numbers call blank (0 when none, or too many)."""
    found = audio.info.get("blank_spans")
    if not found or found[0][0] != 0:
        return 0
    stop = int(found[0][1])
    return stop if audio.samples.shape[-1] - stop >= MIN_FRAMES else 0


def _from_start(key_frames, source):
    """Key frame indices of the video counted from ``source``'s first frame (those before it dropped)."""
    start = getattr(source, "start_frame", 0)
    if key_frames is None or not start:
        return key_frames
    return key_frames[key_frames >= start] - start


#: Codecs whose key frames ``key_frames='auto'`` repairs (:func:`vismic.io._codec.inter_frame_codec`'s names).
#: ``benchmarks/bench_nuisance.py`` and ``benchmarks/bench_replica.py --codec vp8`` measure it: VP8's key
#: frames leap, VP9's barely do. MPEG-4 part 2 and H.264 at OpenCV's and x264's defaults hold the motion
#: between key frames, where it jumps to where the object is: their key frames are the frames to keep
#: (repairing them lost sound on the bench's rows in one-off trials, and hid x264's jumps from the estimate).
KEY_FRAME_CODECS = ("VP8", "VP9")


def _key_frames(key_frames, source) -> Optional[np.ndarray]:
    """The key frames to repair: ``key_frames`` as checked, or for ``'auto'`` a VP8/VP9 file's (None where none apply)."""
    if not isinstance(key_frames, str):
        return key_frames
    from .codec import read_key_frames
    from .io._codec import inter_frame_codec

    path = getattr(source, "path", None)
    if path is None or inter_frame_codec(getattr(source, "codec", None)) not in KEY_FRAME_CODECS:
        return None
    try:
        found = read_key_frames(path, max_frames=getattr(source, "max_frames", None))
    except ImportError:
        logger.info("PyAV is not installed: the file's key frames are not repaired (pip install vismic[codecs])")
        return None
    except Exception as error:  # noqa: BLE001 - a container PyAV cannot read but OpenCV did: go on without
        logger.info("the file's key frames could not be read (%s): they are not repaired", error)
        return None
    count = getattr(source, "frame_count_hint", None) or (found.max() + 1 if found.size else 0)
    if found.size < 2 or found.size >= 0.5 * count:
        return None  # one key frame, or (nearly) all: nothing stands out to repair
    return found


def _check_key_frames(key_frames):
    """``key_frames`` as :func:`recover_sound` takes it: 'auto', None, or checked frame indices (an array)."""
    if key_frames is None or (isinstance(key_frames, str) and key_frames == "auto"):
        return key_frames
    from ._checks import check_frame_indices

    return check_frame_indices(key_frames, "key_frames", also="'auto', None or ")


def _check_key_frames_fit(key_frames, source) -> None:
    """Refuse key frames that all lie past the video's end (counted from its first frame, as ``read_key_frames``).

    Those of a whole file read with ``max_frames`` reach past it, and the ones inside apply.
    """
    n = getattr(source, "frame_count_hint", None)
    if isinstance(key_frames, np.ndarray) and key_frames.size and n is not None:
        whole = n + getattr(source, "start_frame", 0)
        if int(key_frames.min()) >= whole:
            raise ParameterError(f"key_frames holds frames from {int(key_frames.min())} on, past the video's last "
                                 f"({whole - 1}): none of them applies")


def _with_key_frames(pipeline: Pipeline, key_frames) -> Pipeline:
    """``pipeline`` (a copy) whose combination repairs ``key_frames``; itself when there are none or no Combine."""
    if key_frames is None:
        return pipeline
    name = next((name for name, stage in pipeline.steps if isinstance(stage, Combine)), None)
    if name is None:
        return pipeline
    return pipeline.replace(name, copy.deepcopy(pipeline[name]).set_params(key_frames=key_frames))


def _stabilised(pipeline: Pipeline, audio: Audio, source=None, *, fuse: bool = True) -> Optional[Pipeline]:
    """The pipeline with :class:`~vismic.stabilise.Stabilise` before its decomposition, when ``audio`` needs it.

    None also when the stage would hold more frames than the machine can, or when the
    combination keeps the slow motion (no high-pass: the stabiliser would take out what was
    asked for); the finding is added to ``audio.info["warnings"]``, and the first pass's result stands.
    """
    if "large_motion" not in audio.info.get("reliability", {}):
        return None
    if _has_stabiliser(pipeline):
        return None
    combine = _combine_of(pipeline)
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
            stage.check_memory(shape[:2], fps, _held_itemsize(source, stable, stage, fuse=fuse))
        except ParameterError as error:
            audio.info["warnings"].append(f"the frames move below the sound band, but they were not stabilised: {error}")
            return None
    return stable


def _combine_of(pipeline: Pipeline) -> Optional[Combine]:
    return next((step for _, step in pipeline.steps if isinstance(step, Combine)), None)


def _highpass_of(pipeline: Pipeline) -> float:
    return float(getattr(_combine_of(pipeline), "highpass_hz", None) or 0.0)


def _faster_than_highpass(audio: Audio, source, highpass_hz: float) -> float:
    """The camera's speed (px/s of the frames read) where a downsampled video's stabiliser found it past the high-pass.

    0 otherwise. A sub-pixel shift of the detail the block means fold back errs
    periodically with the position, one period a pixel, so at that speed the error lands
    in the sound band.
    """
    speed = audio.info.get("camera_speed_px_s")
    if speed is None or not highpass_hz or speed <= highpass_hz or getattr(source, "downsample", 1) <= 1:
        return 0.0
    return float(speed)


def _sharper(source) -> Optional[VideoSource]:
    """``source`` read with :data:`~vismic.io._frames.FAST_MOTION_ANTI_ALIAS`'s low-pass (None: a low-pass it was given)."""
    from .io._frames import FAST_MOTION_ANTI_ALIAS

    if (getattr(source, "anti_alias_given", True) or not callable(getattr(source, "with_anti_alias", None))
            or getattr(source, "anti_alias", None) >= FAST_MOTION_ANTI_ALIAS):
        return None
    return source.with_anti_alias(FAST_MOTION_ANTI_ALIAS)


def _cap_below_camera_speed(info: dict, samples: np.ndarray, sr: float, highpass_hz: float, speed: float,
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


#: Most regions a side of the grid after :class:`~vismic.codec.Unhold`: its frames carry about 1 % of
#: their coefficients' changes scaled up, so a small region holds a few of them, and the combination's
#: choice of grid and weights followed their noise (brick/music at 64 px, ``mp4v``: an 8x8 grid of one
#: block a region gave -19.4 dB, 4x4 -4.0; at 96 px every grid from 2x2 to 8x8 gave the same to 0.5 dB).
UNHELD_MAX_GRID = 4


def _unheld_grid(grid) -> tuple:
    return tuple(min(int(g), UNHELD_MAX_GRID) for g in grid)


def _unheld(pipeline: Pipeline, audio: Audio, source=None) -> Optional[Pipeline]:
    """The pipeline with :class:`~vismic.codec.Unhold` first, when ``audio``'s frames need it (else None).

    Only where the frames are on the codec's own 8x8 grid: arrays and folders, or files
    of an 8x8 DCT codec (:func:`vismic.io._codec.codes_8x8_blocks`), read without
    ``downsample`` and cropped (if at all) at multiples of 8 px.
    """
    from .codec import Unhold
    from .io._codec import codes_8x8_blocks

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


def _check_on_codec_grid(source) -> None:
    """Refuse ``unhold=True`` where the frames are off the codec's 8x8 grid (``unhold='auto'`` passes them by)."""
    read = _off_codec_grid(source)
    if read is not None:
        raise ParameterError(f"unhold=True (--unhold on) reads the codec's 8x8 blocks, and {read} moves the frames off "
                             "their grid: read at full size, with an ROI whose x and y are multiples of 8 px")


def _with_unhold(pipeline: Pipeline) -> Pipeline:
    """The pipeline with :class:`~vismic.codec.Unhold` first, its references one key frame, its grid at most 4x4."""
    from .codec import Unhold
    from .project import Project
    from .stabilise import NormaliseLight

    unheld = pipeline.insert(pipeline.steps[0][0], "unhold", Unhold())
    for _, stage in unheld.steps:
        if isinstance(stage, (NormaliseLight, Decompose, Project)):
            stage.n_reference_frames = 1
        if isinstance(stage, (BandSum, Project)):
            stage.grid = _unheld_grid(stage.grid)
    return unheld


def _held_itemsize(source, pipeline: Pipeline, stage, *, fuse: bool = True) -> int:
    """Bytes a pixel ``stage`` (a frame stage of ``pipeline``, e.g. :class:`~vismic.stabilise.Stabilise`) will hold.

    The source's stored integers (1 or 2 bytes) where the fused projection hands them
    over (a random-access grey source of known length, :meth:`vismic.io.VideoStream.stored`,
    and frame stages before the product that all take them), else float32's 4.
    """
    from .project._fuse import split_fusable
    from ._buffers import held_dtype

    head, fused = split_fusable(pipeline.streaming_steps)
    if (fuse and fused is not None and any(step is stage for _, step in head)
            and all(getattr(step, "accepts_stored", False) for _, step in head)
            and getattr(source, "random_access", False) and getattr(source, "downsample", None) == 1
            and getattr(source, "frame_count_hint", None)):
        return held_dtype(source.read_stored(0, 1).dtype).itemsize
    return 4


#: Most threads a recovery projects frames on by default (each holds a chunk of frames at a time).
MAX_THREADS = 8

#: Fewest frames per chunk (:func:`vismic.project._templates.chunk_frames`) for which the
#: default projects on a thread per core when the compiled tile loop is not installed
#: (numba). Tile by tile in numpy, the 16-frame chunks of 1024x1024 and 1280x800 frames
#: are hundreds of small calls (a few per tile), each releasing and retaking the GIL, and
#: two threads ran slower than one (``bench_speed``); the compiled loop projects a chunk
#: in one call without the GIL (:func:`vismic.project._kernels.tiles_kernel`).
MIN_CHUNK_FOR_THREADS = 32


def _threads_for(pipeline: Pipeline, threads=None, frame_shape=None):
    """A pool of ``threads`` threads (default one per core this process may use) for a projection (else None).

    numpy's products and the compiled difference loop release the GIL, so threads of this process
    project (and read) chunks side by side with no copies between processes; the
    result equals the serial one bit for bit (a frame's scores depend only on its
    chunk, never on who computed it). Without numba, frames whose chunks hold fewer than
    :data:`MIN_CHUNK_FOR_THREADS` frames (above about 1024x512 px) stay on one thread.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ._cores import usable_cores
    from .project._fuse import split_fusable
    from .project._kernels import compiled_available
    from .project._templates import chunk_frames

    if threads is None:
        if (frame_shape is not None and chunk_frames(frame_shape) < MIN_CHUNK_FOR_THREADS
                and not compiled_available()):
            return None
        threads = min(usable_cores(), MAX_THREADS)
    if threads < 2 or split_fusable(pipeline.streaming_steps)[1] is None:
        return None
    return ThreadPoolExecutor(threads, thread_name_prefix="vismic-project")


def stabiliser_for(highpass_hz):
    """A :class:`~vismic.stabilise.Stabilise` whose track stops where the output's high-pass begins.

    The stage's defaults (cut-off 22 Hz, kernel 0.15 s) go with the 20 Hz high-pass; a lower one
    (clips at 40 fps or less need one below their Nyquist frequency) scales the cut-off down and
    the kernel up alike, so the track still takes only what lies below the sound band, and can
    follow it: at 24 fps the 22 Hz cut-off is past what one-frame blocks can follow, and the
    track took all the motion. A high-pass of 20 Hz or more, or none, keeps the defaults.

    Examples
    --------
    >>> stabiliser_for(2.0)
    Stabilise(cutoff_hz=2.2, kernel_seconds=1.5)
    """
    from .stabilise import Stabilise

    default = Stabilise()
    if highpass_hz is None or not 0 < highpass_hz < HIGHPASS_DEFAULT_HZ:
        return default
    scale = highpass_hz / HIGHPASS_DEFAULT_HZ
    return Stabilise(cutoff_hz=round(default.cutoff_hz * scale, 6), kernel_seconds=round(default.kernel_seconds / scale, 6))


def _check_band_fits(pipeline: Pipeline, source) -> None:
    """Refuse, before the video is read, filters that leave nothing of the sound.

    A drift high-pass or a band's lower edge past the Nyquist frequency, or a band whose top
    lies at or below the drift high-pass (what was left after it was leftover noise, scaled
    to full volume, with an estimate of 214 dB).
    """
    from .combine._across import check_highpass

    fps = getattr(source, "fps", None)
    combine = _combine_of(pipeline)
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


def _with_requested_steps(pipeline: Pipeline, *, stabilise, unhold) -> Pipeline:
    """A given pipeline with the steps ``stabilise=True`` and ``unhold=True`` ask for, where it lacks them.

    :class:`~vismic.stabilise.Stabilise` goes before its light normalisation or decomposition,
    as :func:`default_pipeline` puts it, and :class:`~vismic.codec.Unhold` first (the pipeline
    given is left as it is). ``False`` beside a pipeline that has the step is named: the step stays.
    """
    from .codec import Unhold

    has_unhold = any(isinstance(stage, Unhold) for _, stage in pipeline.steps)
    kept = [f"{name}=False" for name, asked, has in (("stabilise", stabilise, _has_stabiliser(pipeline)),
                                                     ("unhold", unhold, has_unhold)) if asked is False and has]
    if kept:
        warnings.warn(f"{' and '.join(kept)} ignored: the pipeline given has its own "
                      f"{' and '.join(name.split('=')[0].capitalize() for name in kept)} step (remove it from the "
                      "pipeline instead)", VismicWarning, stacklevel=3)
    if stabilise is True and not _has_stabiliser(pipeline):
        stable = _with_stabiliser(pipeline, stabiliser_for(_highpass_of(pipeline) or None))
        if stable is None:
            raise ParameterError("stabilise=True puts vismic.stabilise.Stabilise before the pipeline's NormaliseLight "
                                 "or Decompose step, and the pipeline given has neither: add the stage to it yourself")
        pipeline = stable
    if unhold is True and not has_unhold:
        pipeline = _with_unhold(pipeline)
    return pipeline


def _with_stabiliser(pipeline: Pipeline, stage) -> Optional[Pipeline]:
    """``pipeline`` (a copy) with ``stage`` before its light normalisation or decomposition; None without either."""
    from .project import Project
    from .stabilise import NormaliseLight

    return next((pipeline.insert(name, "stabilise", stage) for name, step in pipeline.steps
                 if isinstance(step, (NormaliseLight, Decompose, Project))), None)


def _has_stabiliser(pipeline: Pipeline) -> bool:
    from .stabilise import Stabilise

    return any(isinstance(stage, Stabilise) for _, stage in pipeline.streaming_steps)


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
                      "vismic.io.open_video, or use its with_... methods)", VismicWarning, stacklevel=3)


def _same(value, default) -> bool:
    try:
        return bool(np.all(np.asarray(value) == np.asarray(default)))
    except (TypeError, ValueError):
        return False


def _recover_once(pipeline: Pipeline, source, video, *, progress, device, workers, executor, threads,
                  fuse, precision="float32") -> Audio:
    """One pass of ``pipeline`` over ``source``; ``info["warnings"]`` lists the findings (not yet warned)."""
    from ._frame_statistics import FrameStatistics, frame_extract
    from ._reliability import CLIPPED_PREFIX, NO_TEXTURE_PREFIX, findings
    from .codec._checks import check_codec, check_file_codec, unhold_report
    from .io._stream import VideoStream
    from .project._parallel import one_blas_thread

    seen = {"n_frames": 0, "reference_frame": None}
    statistics = FrameStatistics()

    # batches decode ahead in a thread; what the findings need of them is extracted where frames are read
    # and folded over fixed windows of the video, whatever its batches
    batches = VideoStream(source, frame_extract, statistics.add)

    def count(n):
        seen["n_frames"] += n
        if progress is not None:
            progress(n)

    pool = None
    if workers is not None:
        from .project._parallel import process_pool, stop_pool

        pool = executor = process_pool(workers)
    elif executor is None and device is None and fuse:
        pool = executor = _threads_for(pipeline, threads, getattr(source, "frame_shape", None))
    try:
        # numpy's BLAS on one thread: the parallelism is ours (threads, workers), and BLAS's own idle threads
        # made small calls wait for them (a 64 x 2 x 2 inverse took 0.3 ms, now and then 90 ms)
        with one_blas_thread():
            audio = pipeline.run(batches, progress=count, fuse=fuse, device=device, executor=executor,
                                 precision=precision)
    except TooFewFramesError:
        if seen["n_frames"] >= MIN_FRAMES:
            raise
        audio = None
    except BaseException:
        if workers is not None:  # interrupted: its workers are stopped, not waited on (a wait hung after signals)
            stop_pool(pool)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if audio is None or seen["n_frames"] < MIN_FRAMES:
        n, limit = seen["n_frames"], getattr(source, "max_frames", None)
        frames = f"{n} frame{'' if n == 1 else 's'}"
        start = getattr(source, "start_frame", 0)
        has = (f"max_frames={limit} (--max-frames) reads {frames} of {_describe(video)}"
               if limit is not None and n == limit - start else
               f"{_describe(video)} has {frames}" + (f" from frame {start} on" if start else ""))
        raise TooFewFramesError(f"{has}; vismic needs at least {MIN_FRAMES}")
    if not isinstance(audio, Audio):
        raise ParameterError(f"the pipeline's last stage must return vismic.data.Audio, it gave {type(audio).__name__}")
    info = dict(audio.info)
    seen["reference_frame"] = batches.first_frame
    info.update(seen, fps=audio.sr, fps_source=getattr(source, "fps_source", "argument"))
    if source.path is not None:
        info["source_path"] = str(source.path)
    merged = statistics.merged()
    samples = _silent_over_blanks(audio.samples, info, merged)
    check_codec(info, merged, unhold_report(pipeline), getattr(source, "codec", None))
    check_file_codec(info, getattr(source, "codec", None))
    found = findings(samples, info, merged)
    if _has_stabiliser(pipeline):
        # the frames as read vary with the camera's motion, which the stabiliser took out: its report judges the
        # texture on what it held (no_texture); a 12 px shake of brick read "no stable texture" at 18 dB
        found = [line for line in found if not line.startswith(NO_TEXTURE_PREFIX)]
    # what the combination's own checks found (slow motion breaking the linearisation...), said once
    clipped = any(line.startswith(CLIPPED_PREFIX) for line in found)
    found += [message for name, message in info.get("reliability", {}).items()
              if name != "low_snr" and not (clipped and name in ("saturated", "black"))]
    info["warnings"] = list(info.get("warnings", [])) + found
    return Audio(samples, audio.sr, info, audio.noise)


def _silent_over_blanks(samples: np.ndarray, info: dict, statistics) -> np.ndarray:
    """``samples`` silent over the blank frames the statistics found, listed in ``info["blank_spans"]``.

    Nothing can be read from a black or burnt-out frame; the combination already gave them
    little weight (their output was a few per cent of the sound's), and silence says so.
    The spans are ``[start, stop)`` frames of what this pass read (:func:`_name_blanks` moves
    them past a lead-in and names them).
    """
    found = [] if statistics is None or statistics["n"] != samples.shape[-1] else statistics["blank_spans"]
    if not found:
        return samples
    samples = samples.copy()
    for start, stop in found:
        samples[..., start:stop] = 0.0
    info["blank_spans"] = [[start, stop] for start, stop in found]
    return samples


def _name_blanks(info: dict, lead_in: int) -> None:
    """``info["blank_spans"]`` in frames of the output (after a ``lead_in``), and ``info["blank_frames"]`` naming them.

    Frame numbers and times count from the output's first sample, as ``start_frame`` does.
    """
    if not info.get("blank_spans"):
        return
    found = [(start + lead_in, stop + lead_in) for start, stop in info["blank_spans"]]
    sr = info["fps"]
    n = sum(stop - start for start, stop in found)
    named = [f"{start}" if stop == start + 1 else f"{start}-{stop - 1}" for start, stop in found[:4]]
    where = ", ".join(named) + (f" and {len(found) - 4} more runs" if len(found) > 4 else "")
    first, last = found[0][0] / sr, found[-1][1] / sr
    info["blank_spans"] = [[start, stop] for start, stop in found]
    info["blank_frames"] = (f"{n} frame{'s' if n > 1 else ''} ({n / sr:.3g} s, between {first:.3g} and {last:.3g} s) "
                            f"{'are' if n > 1 else 'is'} blank (black, burnt out or without texture): frame"
                            f"{'s' if n > 1 else ''} {where}; nothing can be read there, and the sound is silent "
                            "over them")


def _check_switch(value, name: str, *, auto: bool = False):
    """``value`` as True or False (a numpy bool too), or ``'auto'`` where ``auto``; anything else refused.

    1 and 0 are refused rather than taken for True and False: the code decides with ``is True``.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if auto and isinstance(value, str) and value == "auto":
        return "auto"
    allowed = "True, False or 'auto'" if auto else "True or False"
    raise ParameterError(f"{name} must be {allowed}, given {name}={value!r}")


#: The lowest filter cut-off :func:`default_pipeline` accepts, in Hz (0 means no filter).
MIN_CUTOFF_HZ = 0.01


def _check_pipeline_args(*, n_levels, grid, highpass_hz, low_hz, high_hz, n_sources) -> None:
    """The numbers of :func:`default_pipeline`, checked where the user gave them (the stages check them again)."""
    from ._checks import check_grid, check_int, check_non_negative, check_positive

    if n_levels is not None:
        check_int(n_levels, "n_levels", minimum=1)
    check_grid(grid)
    for name, value in (("highpass_hz", highpass_hz), ("low_hz", low_hz), ("high_hz", high_hz)):
        if value is None:
            continue
        hz = check_non_negative(value, name) if name != "high_hz" else check_positive(value, name)
        # A cut-off of 1e-300 Hz makes the filter design singular; none that low acts within a video.
        if 0 < hz < MIN_CUTOFF_HZ:
            raise ParameterError(f"{name} must be 0 (no filter) or at least {MIN_CUTOFF_HZ:g} Hz, given {name}={value!r}")
    if low_hz is not None and high_hz is not None and low_hz >= high_hz:
        raise ParameterError(f"low_hz must be below high_hz, given low_hz={low_hz!r}, high_hz={high_hz!r}")
    check_int(n_sources, "n_sources", minimum=1)


def _check_grid_fits(pipeline: Pipeline, source, *, fuse: bool = True) -> None:
    """Refuse, before reading, a region grid finer than the frames, or frames too large for the projection."""
    from ._checks import check_grid_fits

    shape = getattr(source, "frame_shape", None)
    if shape is None or len(shape) < 2:
        return
    for _, stage in pipeline.steps:
        if isinstance(stage, BandSum):
            check_grid_fits(stage.grid, shape[:2], "grid")
    from .project._fuse import split_fusable
    from .project._templates import check_template_size

    _, fused = split_fusable(pipeline.streaming_steps)
    if fused is not None:
        check_template_size(shape, fused.grid)
    fps = getattr(source, "fps", None)
    for _, stage in pipeline.steps:
        if callable(getattr(stage, "check_memory", None)) and fps:
            stage.check_memory(shape[:2], fps, _held_itemsize(source, pipeline, stage, fuse=fuse))


def _describe(video) -> str:
    if isinstance(video, (str, Path)):
        return str(video)
    path = getattr(video, "path", None)  # a VideoSource of a file or folder (what the command line passes)
    return str(path) if path is not None else "the video"
