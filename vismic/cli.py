"""The ``vismic`` command line: ``recover``, ``demo``, ``calibrate``, ``magnify``, ``train-magnet``.

User errors (a :class:`~vismic.errors.VismicError`, a file that cannot be
opened, a missing optional package) reach the user as one line on stderr and
exit code 2, never as a traceback; no partial output file is left behind.
Anything else is a bug in vismic: its traceback is printed with a line asking
to report it, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

from ._cli_helpers import (
    ArgumentParser,
    Progress,
    check_option,
    check_writable,
    outputs_together,
    finite_float,
    open_source,
    parse_floats,
    parse_ints,
    parse_rate,
    print_warnings,
)
from ._option_words import in_option_words
from .errors import OutputError, ParameterError, UnreliableRecoveryError, VismicError, VismicWarning


__all__ = ["main"]

EXIT_ERROR = 2
EXIT_BUG = 1


#: Bytes of 8-bit frames ``vismic demo`` renders at most (it holds the scene in memory).
DEMO_MAX_BYTES = 2 * 2**30
#: What the demo holds for each frame besides its pixels (signals, evidence; about 6 KB measured at 32 px and
#: 100,000 frames, where the pixels alone passed the guard and the run took 794 MB).
DEMO_FRAME_BYTES = 8192

#: Output rates ``--resample`` accepts, in Hz: below this a WAV holds almost nothing, above it no player reads it.
RESAMPLE_RANGE_HZ = (1000, 768000)


def _check_kept_rate(fps: float) -> None:
    """Refuse ``--resample none`` where the capture rate is no rate a WAV file can be written at."""
    low, high = RESAMPLE_RANGE_HZ
    if fps != round(fps):
        raise ParameterError(f"--resample none keeps the capture rate, {fps:g} fps, and a WAV file stores a "
                             "whole number of samples a second: give --resample auto (the default) or a rate")
    if not low <= fps <= high:
        raise ParameterError(f"--resample none keeps the capture rate, {fps:g} fps, outside the audio rates a WAV "
                             f"file is played at ({low} to {high} Hz): give --resample auto (the default) or a rate")


def _target_sr(text: str):
    if text in ("auto", None):
        return "auto"
    if text == "none":
        return None
    low, high = RESAMPLE_RANGE_HZ
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value == int(value) and low <= value <= high):
        raise ParameterError(f"--resample must be 'auto', 'none' or a whole audio rate in Hz from {low} to {high} "
                             f"(e.g. 8000, 44100), given {text!r}")
    return int(value)


def _add_recover_parser(subparsers):
    p = subparsers.add_parser(
        "recover",
        help="recover sound from a high-speed video",
        description="Recover the sound that made the filmed object vibrate and write it as a WAV file.",
    )
    p.add_argument("video", metavar="VIDEO", nargs="+",
                   help="video file (AVI, MKV, MP4, Phantom .cine, Photron .cih/.mraw...), frame folder or TIFF "
                        "stack; several (or a quoted glob) with -o OUTDIR/ for one WAV each")
    p.add_argument("--fps", type=str, default=None, metavar="HZ",
                   help="capture rate of the camera in frames per second (not the file's playback rate); "
                        "camera files (.cine, .cih) store it")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav",
                   help="WAV file to write, or a folder (OUTDIR/) for one WAV per input")
    p.add_argument("--no-sidecar", action="store_true",
                   help="do not write OUT.json (provenance: input, rate, pipeline, SNR, warnings, timings); "
                        "a sidecar vismic wrote for the WAV this run replaces is removed with it")
    p.add_argument("--save-motion", metavar="OUT.npz|OUT.csv",
                   help="also save the motion in pixels with its time axis, region gains and sound map")
    p.add_argument("--report", metavar="OUT.html", help="also write a self-contained HTML report")
    p.add_argument("--device", default=None, metavar="DEVICE",
                   help="compute the projection with torch on cpu or cuda[:N] (default: numpy)")
    p.add_argument("--precision", default="float32", metavar="float32|int8",
                   help="the projection's templates: float32 (default) or int8, rounded to 8 bits and applied "
                        "to 8- and 16-bit video with integer products, faster on CPUs with integer matrix units "
                        "(needs torch)")
    p.add_argument("--workers", type=str, default=None, metavar="N",
                   help="project frames on N worker processes (each reads its own frame ranges from camera "
                        "files, raw AVIs and TIFF stacks); default: threads of this process, one per core")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="project frame batches on a Dask cluster (tcp://host:8786; needs vismic[distributed])")
    p.add_argument("--roi", metavar="X,Y,W,H", help="region of interest in pixels")
    p.add_argument("--downsample", type=int, default=1, metavar="N",
                   help="reduce frames N times (a low-pass, then N x N block means)")
    p.add_argument("--stabilise", nargs="?", const="on", default="auto", choices=["auto", "on", "off"],
                   help="remove camera drift/sway/shake below the sound band and light flicker first: 'on' "
                        "(also plain --stabilise), 'off', or 'auto' (default: only when the frames move too far "
                        "below the sound band, then the video is read a second time)")
    p.add_argument("--unhold", nargs="?", const="on", default="off", choices=["auto", "on", "off"],
                   help="measure the motion from the coefficients an MPEG-4 part 2 codec (mp4v, XviD, DivX) coded "
                        "between key frames, for a whole frame moving by a fraction of a pixel: 'on' (also plain "
                        "--unhold), 'auto' (only when the frames copy most blocks from the frame before, then the "
                        "video is read a second time), or 'off' (default)")
    p.add_argument("--codec-replica", default="on", choices=["on", "off"],
                   help="for a VP9, VP8 or H.264 file, measure what the compression cost on a replica of the scene "
                        "through the same codec at the file's quantiser (VP9, H.264) or quantisers and bit rate (VP8), and "
                        "keep the SNR estimate at "
                        "most that (default on; needs PyAV: pip install vismic[codecs]; encodes and recovers up to "
                        "2048 frames again)")
    p.add_argument("--key-frames", default="auto", choices=["auto", "off"],
                   help="for a VP8 or VP9 file, take out of the motion the leap each key frame's own quantisation "
                        "makes, from the frames beside it (default auto; needs PyAV to read the key frames)")
    p.add_argument("--batch-size", type=str, default=None, metavar="N",
                   help="frames decoded at a time (default: as many as fit in --max-memory)")
    p.add_argument("--max-memory", type=str, default=None, metavar="MB",
                   help="bytes of frames per batch, in MB (default 16)")
    p.add_argument("--strict", action="store_true",
                   help="exit with code 2, writing nothing, when the recovery looks unreliable "
                        "(any warning: blank frames, no motion, no texture, an estimate below the floor, motion "
                        "too large, clipped frames, a damaged video, a lossy or inter-frame codec such as H.264)")
    p.add_argument("--levels", type=int, default=None, metavar="N", help="DTCWT levels (default: up to 4)")
    p.add_argument("--grid", default="8,8", metavar="ROWS,COLS",
                   help="finest grid of regions weighed by how strongly they carry the sound (default 8,8)")
    p.add_argument("--denoise", default="mmse_lsa", metavar="METHOD",
                   help="mmse_lsa (default), wiener, mmse_stsa, spectral_subtraction or none")
    p.add_argument("--highpass", type=finite_float, default=20.0, metavar="HZ", help="drift removal cut-off (default 20; 0 keeps the drift)")
    p.add_argument("--band", metavar="LOW,HIGH", help="keep only this band of the sound, in Hz")
    p.add_argument("--resample", default="auto", metavar="HZ",
                   help="output rate: auto (nearest standard rate, default), none, or a rate in Hz")
    p.add_argument("--float", action="store_true", help="write 32-bit float samples instead of 16-bit PCM")
    p.add_argument("--equalise", metavar="RESPONSE.npz",
                   help="undo the object's frequency response measured by 'vismic calibrate'")
    p.add_argument("--rolling-shutter", action="store_true",
                   help="ordinary (rolling-shutter) camera: read rows as samples at the line rate")
    p.add_argument("--line-delay", type=finite_float, default=None, metavar="SECONDS",
                   help="time between the exposure of consecutive rows (with --rolling-shutter)")
    p.add_argument("--sources", type=int, default=1, metavar="N",
                   help="separate N signals carried by different regions into N channels (default 1)")
    p.add_argument("--plot", metavar="PNG", help="also save the sound map and spectrogram as an image")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run_recover)


def run_recover(args) -> int:
    """``vismic recover``: one WAV (with its sidecar) per input; with several inputs, a failure does not stop the rest."""
    options = _recover_options(args)
    jobs, new_folder = _recover_jobs(args)
    if new_folder is not None:
        new_folder.mkdir()
    try:
        return _recover_all(args, options, jobs)
    finally:
        if new_folder is not None:
            with contextlib.suppress(OSError):
                new_folder.rmdir()  # only an empty folder goes: one this run created and wrote nothing into


def _recover_all(args, options: dict, jobs: list) -> int:
    with contextlib.ExitStack() as stack:
        executor = None
        if args.scheduler:
            from .project import dask_executor

            executor = stack.enter_context(dask_executor(args.scheduler))
        elif options["workers"] is not None:
            from .project._parallel import pool_closed, process_pool

            executor = stack.enter_context(pool_closed(process_pool(options["workers"])))
        options["executor"] = executor
        if len(jobs) == 1:
            _recover_one(args, options, *jobs[0])
            return 0
        failed = 0
        for video, output in jobs:
            try:
                _recover_one(args, options, video, output, name_video=True)
            except VismicError as error:
                failed += 1
                print(f"vismic: error: {video}: {error}", file=sys.stderr)
            except OSError as error:
                failed += 1
                print(f"vismic: error: {video}: {error.strerror or error}", file=sys.stderr)
    if not args.quiet or failed:
        print(f"vismic: recovered {len(jobs) - failed} of {len(jobs)} videos", file=sys.stderr)
    return EXIT_ERROR if failed else 0


def _recover_options(args) -> dict:
    """Every option checked, and every stage built, before any video is read."""
    from .recover import default_pipeline

    fps = parse_rate(args.fps) if args.fps is not None else None
    roi = parse_ints(args.roi, 4, "--roi", minimum=0) if args.roi else None
    grid = parse_ints(args.grid, 2, "--grid", minimum=1)
    check_option(args.downsample, "--downsample", positive=True, integer=True)
    check_option(args.levels, "--levels", positive=True, integer=True)
    check_option(args.sources, "--sources", positive=True, integer=True)
    check_option(args.max_frames, "--max-frames", positive=True, integer=True)
    check_option(args.highpass, "--highpass", minimum=0)
    check_option(args.line_delay, "--line-delay", positive=True)
    low_hz = high_hz = None
    if args.band:
        low_hz, high_hz = parse_floats(args.band, 2, "--band")
        if not 0 <= low_hz < high_hz:
            raise ParameterError(f"--band must be LOW,HIGH in Hz with 0 <= LOW < HIGH, given {args.band!r}")
        low_hz = low_hz or None  # 0: no lower edge
    workers = None
    if args.workers is not None:
        workers = parse_ints(args.workers, 1, "--workers")[0]
        if workers < 1:
            raise ParameterError(f"--workers must be a positive integer, given {args.workers!r}")
        from .project._parallel import check_workers

        check_workers(workers)
    if workers is not None and args.scheduler:
        raise ParameterError("give --workers or --scheduler, not both")
    if args.device is not None:
        from .project._torch import torch_device

        torch_device(args.device)
    from .project._templates import check_precision

    check_precision(args.precision)
    from .denoise import DENOISE_METHODS

    if args.denoise not in DENOISE_METHODS:
        raise ParameterError(f"--denoise must be one of {', '.join(DENOISE_METHODS)}, given {args.denoise!r}")
    denoise = None if args.denoise == "none" else args.denoise
    if args.rolling_shutter and args.line_delay is None:
        raise ParameterError("--rolling-shutter needs --line-delay SECONDS (the time between two rows' exposures)")
    if args.line_delay is not None and not args.rolling_shutter:
        raise ParameterError("--line-delay only applies with --rolling-shutter")
    if args.rolling_shutter and (args.device or workers or args.scheduler or args.stabilise == "on"
                                 or args.unhold != "off" or args.precision != "float32"):
        raise ParameterError("--device, --workers, --scheduler, --precision, --stabilise and --unhold apply to "
                             "global-shutter recovery, not --rolling-shutter")
    from ._cli_helpers import _batching

    _batching(args)  # --batch-size and --max-memory checked before any video is opened
    if args.plot:
        _require_matplotlib("--plot")
    if args.report:
        _require_matplotlib("--report")
    pipeline = default_pipeline(n_levels=args.levels, grid=grid, highpass_hz=args.highpass, low_hz=low_hz,
                                high_hz=high_hz, denoise=denoise, n_sources=args.sources,
                                stabilise=args.stabilise == "on", unhold=args.unhold == "on")
    equaliser = None
    if args.equalise:
        from .calibrate import Equalise, add_equaliser, load_response

        response = _load_equaliser(load_response, args.equalise)
        equaliser = Equalise(response)
        pipeline = add_equaliser(pipeline, response)  # before denoising: the denoiser sees the noise it shaped
    return dict(fps=fps, roi=roi, low_hz=low_hz, high_hz=high_hz, workers=workers, denoise=denoise,
                pipeline=pipeline, equaliser=equaliser, target_sr=_target_sr(args.resample))


def _load_equaliser(load_response, path: str):
    """``load_response``, with a damaged file (a zip that is not one, a truncated array) one clear error."""
    import pickle
    import zipfile

    try:
        return load_response(path)
    except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError, KeyError) as error:
        raise ParameterError(f"--equalise file {path!r} is damaged or not a vismic response file "
                             f"({type(error).__name__}: {error}); write a new one with 'vismic calibrate'") from None


def _require_matplotlib(option: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(f"{option} needs matplotlib: pip install matplotlib (or pip install 'vismic[plot]')") from None


#: What each output of ``vismic recover`` must end in (any case): the WAV, and the options that name one file.
OUTPUT_SUFFIXES = {"-o": (".wav",), "--save-motion": (".npz", ".csv"), "--report": (".html", ".htm")}


def _check_output_names(names: dict) -> None:
    """Refuse, before the video is read, an output whose name says another format than vismic would write."""
    for option, name in names.items():
        if option == "--plot":
            from matplotlib.figure import Figure

            allowed = tuple(f".{kind}" for kind in sorted(Figure().canvas.get_supported_filetypes()))
        else:
            allowed = OUTPUT_SUFFIXES[option]
        if Path(name).suffix.lower() not in allowed:
            raise ParameterError(f"{option} {str(name)!r} must end in {', '.join(allowed[:-1])} or {allowed[-1]}"
                                 if len(allowed) > 1 else f"{option} {str(name)!r} must end in {allowed[0]}")


def _check_distinct(named: dict) -> None:
    """Refuse two outputs of one recovery that resolve to the same file."""
    seen = {}
    for option, path in named.items():
        key = os.path.realpath(path)
        if key in seen:
            raise ParameterError(f"{seen[key]} and {option} both name {str(path)!r}: give each output its own file")
        seen[key] = option


def _recover_jobs(args) -> tuple:
    """``(video, output WAV)`` pairs (one video to ``-o OUT.wav``, or every video into ``-o OUTDIR/``), and
    the output folder to create (None when it exists or there is none)."""
    import glob

    if not args.output.strip():
        raise ParameterError(f"-o is an empty name ({args.output!r}): give the WAV file (-o OUT.wav) or a folder "
                             "for several videos (-o OUTDIR/)")
    videos = []
    for pattern in args.video:
        if not pattern.strip():
            raise ParameterError(f"VIDEO is an empty name ({pattern!r}): give a video file, a frame folder or a "
                                 "camera file")
        matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") and not Path(pattern).exists() \
            else [pattern]
        if not matches:
            raise ParameterError(f"no file matches {pattern!r}")
        videos.extend(matches)
    output = Path(args.output)
    to_folder = len(videos) > 1 or output.is_dir() or args.output.endswith(("/", "\\"))
    if not to_folder:
        return [(videos[0], args.output)], None
    if args.save_motion or args.report or args.plot:
        raise ParameterError("--save-motion, --report and --plot name one file: give one video to use them")
    if not output.is_dir():
        if output.exists():
            raise ParameterError(f"several videos need -o to be a folder, and {args.output!r} is a file"
                                 if len(videos) > 1 else f"-o {args.output!r} names a folder, and it is a file")
        if len(videos) > 1 and output.suffix.lower() == ".wav" and not args.output.endswith(("/", "\\")):
            raise ParameterError(f"several videos need -o to be a folder (-o OUTDIR/), given the file name "
                                 f"{args.output!r}")
        if not output.parent.is_dir():
            raise ParameterError(f"cannot create the output folder {args.output!r}: "
                                 f"{str(output.parent)!r} does not exist")
    jobs, seen = [], {}
    for video in videos:
        wav = output / (Path(video.rstrip("/\\")).stem + ".wav")
        if wav in seen:
            said = (f"{video!r} is given twice" if video == seen[wav] else f"{video!r} and {seen[wav]!r} would both "
                    f"be written to {str(wav)!r}: rename one")
            raise ParameterError(said)
        seen[wav] = video
        jobs.append((video, str(wav)))
    return jobs, (None if output.is_dir() else output)


def _recover_one(args, options: dict, video: str, output_name: str, *, name_video: bool = False) -> None:
    """Recover one video into ``output_name`` (and its sidecar and extras); ``name_video``: its warnings say which."""
    import time

    import numpy as np

    from .recover import recover_sound

    inputs = [video, args.equalise]
    output = check_writable(output_name, inputs)
    named = {"-o": output}
    from .report import check_sidecar_replaceable, is_vismic_sidecar, sidecar_path

    beside, stale = sidecar_path(output), []
    if not args.no_sidecar:
        if beside.is_dir():  # the user never named it: say where its name comes from
            raise OutputError(f"the sidecar {str(beside)!r}, named after -o, is a folder: choose another -o "
                              "or give --no-sidecar")
        named["the sidecar"] = check_writable(beside, inputs)
        check_sidecar_replaceable(beside)  # a clip.json of the user's own beside clip.wav
    elif output.exists() and is_vismic_sidecar(beside):
        stale = [beside]  # it describes the WAV this run replaces
    for option, name in (("--plot", args.plot), ("--save-motion", args.save_motion), ("--report", args.report)):
        if name:
            named[option] = check_writable(name, inputs)
    _check_distinct(named)
    _check_output_names({option: path for option, path in named.items() if option != "the sidecar"})
    sidecar = named.get("the sidecar")
    started = time.perf_counter()
    opened = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source, total = open_source(args, options["fps"], options["roi"], video=video, collect=opened)
        fps = source.fps
        if options["target_sr"] is None and not args.rolling_shutter:
            _check_kept_rate(fps)  # now, not after the whole recovery: the WAV would be refused then
        equaliser = options["equaliser"]
        if equaliser is not None and not math.isclose(fps, equaliser.response.sr, rel_tol=1e-9):
            # found now, not after the whole recovery: the equaliser refused the audio then, naming neither option
            raise ParameterError(f"--equalise {args.equalise!r} was measured at {equaliser.response.sr:g} fps and this "
                                 f"video is recovered at {fps:g} fps ({getattr(source, 'fps_source', 'argument')}): "
                                 "calibrate at the rate you recover at")
        logging.getLogger("vismic").info("capture rate %g fps (%s)", fps, getattr(source, "fps_source", "argument"))
        progress = Progress(total, not args.quiet, "recovering")
        try:
            if args.rolling_shutter:
                source = source.with_anti_alias(0.0)  # as the rolling reader reads it (and the sidecar records)
                rec = _recover_rolling(args, options, source, fps, progress)
            else:
                rec = recover_sound(source, pipeline=options["pipeline"], progress=progress, device=args.device,
                                    executor=options["executor"], precision=args.precision,
                                    stabilise={"auto": "auto", "on": True, "off": False}[args.stabilise],
                                    unhold={"auto": "auto", "on": True, "off": False}[args.unhold],
                                    codec_replica=args.codec_replica == "on",
                                    key_frames="auto" if args.key_frames == "auto" else None)
        finally:
            progress.close()
    print_warnings(caught, f"{video}: " if name_video else "")
    # every vismic warning said above, not only the findings in rec.info (a rate that contradicts the
    # camera file's, a blank lead-in, a band with no low-pass): --help promises "any warning"
    said = list(dict.fromkeys([*rec.info.get("warnings", []),
                               *(str(w.message) for w in opened + caught if issubclass(w.category, VismicWarning))]))
    if args.strict and said:
        raise UnreliableRecoveryError(f"{video}: the recovery looks unreliable ({len(said)} "
                                      f"warning(s) above); nothing written (drop --strict to write it anyway)")
    recovered = time.perf_counter()
    with outputs_together(named.values(), removed=stale):  # Ctrl-C after the WAV leaves no WAV without its sidecar
        info = rec.to_wav(output, target_sr=options["target_sr"], subtype="FLOAT" if args.float else "PCM_16")
        if sidecar is not None:
            from .report import write_sidecar

            write_sidecar(sidecar, rec, source=source, pipeline=rec.info.get("pipeline", options["pipeline"]),
                          wav_info=info, warnings=caught,
                          timings={"recover": recovered - started, "write": time.perf_counter() - recovered})
        if "--plot" in named:
            from .plot import plot_recovery

            try:
                plot_recovery(rec).savefig(named["--plot"], dpi=100)
            except OSError as error:  # as --report says it: which output, and why
                raise OutputError(f"cannot write plot {str(named['--plot'])!r}: {error.strerror or error}") from None
        if "--save-motion" in named:
            from .report import save_motion

            save_motion(named["--save-motion"], rec)
        if "--report" in named:
            from .report import write_report

            write_report(named["--report"], rec, wav_path=info.path,
                         params=rec.info.get("pipeline", options["pipeline"]), warnings=caught)
    if not args.quiet:
        snr = np.atleast_1d(rec.info.get("snr_estimate_db", np.nan))
        # rounded before formatting, and +0.0: -0.3 deg printed as "-0 deg"
        direction = np.round(np.atleast_1d(rec.info.get("direction_degrees", np.nan)).astype(float)) + 0.0
        from ._reliability import estimate_note

        print(
            f"wrote {info.path} ({rec.info['n_frames']} frames at {fps:g} fps "
            f"[{getattr(source, 'fps_source', 'argument')}] -> {rec.duration_seconds:.2f} s at {info.sr} Hz); "
            f"estimated SNR {_per_channel(snr, '{:.1f} dB', 'unknown')}"
            f"{estimate_note(rec.info)}, "
            f"motion direction {_per_channel(direction, '{:.0f} deg', 'none')}",
            file=sys.stderr,
        )


def _per_channel(values, form: str, missing: str) -> str:
    """``values`` as ``form`` (``missing`` where not finite), each channel named when there are several.

    >>> _per_channel([21.66, float("-inf")], "{:.1f} dB", "nothing")
    '21.7 dB (channel 1), nothing (channel 2)'
    """
    said = [form.format(float(v)) if math.isfinite(float(v)) else missing for v in values]
    if len(said) == 1:
        return said[0]
    return ", ".join(f"{text} (channel {index + 1})" for index, text in enumerate(said))


def _recover_rolling(args, options, source, fps, progress):
    from .rolling import check_cli_options, recover_rolling_shutter_video

    check_cli_options(args)
    equaliser, denoise = options["equaliser"], options["denoise"]
    rec = recover_rolling_shutter_video(
        source, fps=fps, line_delay_seconds=args.line_delay, n_levels=args.levels, highpass_hz=args.highpass,
        low_hz=options["low_hz"], high_hz=options["high_hz"], denoise=None if equaliser else denoise,
        progress=progress,
    )
    if equaliser is not None:  # same order as the pipeline: equalise, then denoise
        rec = equaliser.transform(rec)
        if denoise is not None:
            rec = options["pipeline"]["denoise"].transform(rec)
    return rec


def _add_demo_parser(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="render a built-in scene, recover its sound and score it against the physical limit",
        description="Render a silent high-speed video of a photograph vibrating with a known sound, write it "
                    "as a lossless AVI, recover the sound from the file, write the WAV and print its scores "
                    "against the Cramer-Rao bound and the published method.",
    )
    p.add_argument("-o", "--output", default="vismic_demo.wav", metavar="OUT.wav", help="recovered sound")
    p.add_argument("--texture", default="brick", help="texture name (see vismic.synth.TEXTURES)")
    p.add_argument("--audio", default="music", choices=("music", "speech"), help="the sound to hide")
    p.add_argument("--amplitude", type=finite_float, default=0.05, metavar="PX", help="peak motion in pixels")
    p.add_argument("--direction", type=finite_float, default=30.0, metavar="DEG", help="motion direction")
    p.add_argument("--noise", type=finite_float, default=2.0, metavar="GREY", help="sensor noise, grey levels")
    p.add_argument("--size", type=int, default=128, metavar="PX", help="frame size")
    p.add_argument("--seconds", type=finite_float, default=1.5, help="duration")
    p.add_argument("--fps", type=finite_float, default=2200.0, help="capture rate")
    p.add_argument("--quiet", action="store_true", help="no progress bar (-q: errors only, no scores either)")
    p.set_defaults(func=run_demo)


def run_demo(args) -> int:
    import numpy as np

    from . import metrics, synth
    from .combine import davis_baseline
    from .denoise import highpass
    from .io import open_video
    from .recover import default_pipeline, recover_sound

    output = check_writable(args.output)
    _check_output_names({"-o": output})  # it wrote WAV data into d.mp3
    for name in ("amplitude", "noise", "size", "seconds", "fps"):
        value = getattr(args, name)
        if not np.isfinite(value) or value < 0 or (value == 0 and name != "noise"):
            raise ParameterError(f"--{name} must be a {'non-negative' if name == 'noise' else 'positive'} "
                                 f"number, given {value!r}")
    if args.size < 8:
        raise ParameterError(f"--size must be at least 8 px (the decomposition's smallest frame), given {args.size}")
    from .data import MIN_FRAMES

    n_frames = int(round(args.seconds * args.fps))
    if n_frames < MIN_FRAMES:
        raise ParameterError(f"--seconds {args.seconds:g} at --fps {args.fps:g} makes {n_frames} frames; the demo "
                             f"needs at least {MIN_FRAMES}")
    if (args.size * args.size + DEMO_FRAME_BYTES) * n_frames > DEMO_MAX_BYTES:
        gib = (args.size ** 2 + DEMO_FRAME_BYTES) * n_frames / 2**30
        raise ParameterError(f"a {args.size:g} px scene of {n_frames} frames needs about {gib:.1f} GiB, more than "
                             f"the demo renders ({DEMO_MAX_BYTES / 2**30:g} GiB): lower --size or --seconds")
    if args.texture not in synth.TEXTURES:
        raise ParameterError(f"unknown texture {args.texture!r}; choose from {', '.join(synth.TEXTURES)}")
    make = synth.music if args.audio == "music" else synth.speech
    audio = make(duration_seconds=args.seconds, sr=args.fps)
    scene = synth.render_scene(
        synth.texture(args.texture, size=(args.size, args.size)),
        synth.make_displacement(audio, amplitude_px=args.amplitude),
        direction_degrees=args.direction, noise_std=args.noise, fps=args.fps,
    )
    reference = highpass(scene.displacement_px, sr=args.fps)
    bound = metrics.scene_bound(scene)
    with tempfile.TemporaryDirectory() as folder:
        video_path = scene.write_video(Path(folder) / "scene.avi")
        progress = Progress(len(scene), not args.quiet, "recovering")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = recover_sound(video_path, fps=args.fps, denoise=None, progress=progress)
            progress.close()
            baseline = davis_baseline(open_video(video_path, fps=args.fps))
    rec = default_pipeline()["denoise"].transform(raw)  # the default pipeline's last step, on the same run
    for finding in raw.info.get("warnings", []):
        logging.getLogger("vismic").warning("%s", finding)
    # STOI needs about 0.4 s of sound: a shorter demo prints n/a there (the table comes before the WAV, so
    # nothing is written when a score fails)
    scored = len(reference) / args.fps >= metrics.STOI_MIN_SECONDS
    rows = [("Cramer-Rao bound", bound.snr_db, None, None)]
    for name, samples in (("published method (Davis et al.)", baseline.samples),
                          ("vismic, no denoising", raw.audio), ("vismic (default)", rec.audio)):
        rows.append((name, metrics.si_snr(samples, reference),
                     metrics.segmental_snr(samples, reference, sr=args.fps),
                     metrics.stoi(samples, reference, sr=args.fps) if scored else float("nan")))
    info = rec.to_wav(output)
    if getattr(args, "verbosity", 0) < 0:  # -q: errors only, as its help says (--quiet hides the progress bar)
        return 0
    print(f"scene: {args.texture} {args.size}x{args.size}, {args.audio}, {args.amplitude:g} px peak at "
          f"{args.direction:g} deg, noise {args.noise:g} grey levels, {len(scene)} frames at {args.fps:g} fps")
    print(f"{'':34s} {'SI-SNR dB':>10s} {'to bound':>9s} {'segSNR dB':>10s} {'STOI':>6s}")
    for name, si, seg, st in rows:
        if seg is None:
            print(f"{name:34s} {si:10.1f}")
        else:
            print(f"{name:34s} {si:10.1f} {si - bound.snr_db:+9.1f} {seg:10.1f} "
                  + (f"{st:6.3f}" if np.isfinite(st) else f"{'n/a':>6s}"))
    print(f"estimated SNR from the video alone: {raw.info['snr_estimate_db']:.1f} dB, "
          f"{rec.info['snr_estimate_db']:.1f} dB denoised (the default); direction {raw.info['direction_degrees']:.0f} deg")
    print(f"wrote {info.path} at {info.sr} Hz")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = ArgumentParser(
        prog="vismic", description="Recover sound from silent high-speed video (the visual microphone)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # dest "verbosity", not "quiet": a sub-command's own --quiet would overwrite it.
    parser.add_argument("-v", "--verbose", dest="verbosity", action="count", default=0,
                        help="say more: -v informational lines, -vv debug lines and OpenCV's own output")
    parser.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1,
                        help="errors only: no warnings, progress bar or summary")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    _add_recover_parser(subparsers)
    _add_demo_parser(subparsers)
    from .calibrate.cli import add_calibrate_parser
    from .magnify.cli import add_magnify_parser, add_train_parser

    add_calibrate_parser(subparsers)
    add_magnify_parser(subparsers)
    add_train_parser(subparsers)
    # -v/-q also after the command (vismic recover ... -q); SUPPRESS keeps the global value otherwise.
    for sub in subparsers.choices.values():
        if not {"-v", "--verbose"} & set(sub._option_string_actions):
            sub.add_argument("-v", "--verbose", dest="verbosity", action="count", default=argparse.SUPPRESS,
                             help="say more (-vv: debug lines)")
        if "-q" not in sub._option_string_actions:
            sub.add_argument("-q", dest="verbosity", action="store_const", const=-1, default=argparse.SUPPRESS,
                             help="errors only (implies --quiet where the command has it)")
    return parser


def main(argv=None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # also while the first modules load, before the run's own handlers
        print("vismic: interrupted", file=sys.stderr)
        return 130


def _main(argv) -> int:
    from ._logging import configure

    parser = build_parser()
    args = parser.parse_args(argv)
    # Before any reader imports cv2, so OpenCV's and FFmpeg's own lines stay off stderr.
    logger = configure(args.verbosity)
    if args.verbosity < 0 and hasattr(args, "quiet"):
        args.quiet = True
    logger.debug("%s", " ".join(sys.argv[:1] + list(sys.argv[1:] if argv is None else argv)))
    from ._signals import terminate_as_interrupt

    try:
        with terminate_as_interrupt():  # SIGTERM/SIGHUP unwind too: no temporary file is left behind
            return int(args.func(args) or 0)
    except KeyboardInterrupt as stop:  # Terminated too (SIGTERM, SIGHUP)
        return _report_stop(stop)
    except VismicError as exc:
        print(f"vismic: error: {in_option_words(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        if exc.filename is None:
            return _report_bug()
        print(f"vismic: error: {exc.strerror or exc} ({exc.filename})", file=sys.stderr)
        return EXIT_ERROR
    except ImportError as exc:  # an optional package is missing: the message names what to install
        print(f"vismic: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print("vismic: error: out of memory; try a smaller --roi, --downsample or --max-frames", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - anything else is a bug: show it as one
        stop = _interruption_behind(exc)
        # Ctrl-C raised inside a lock's release (a queue between threads) leaves "release unlocked lock"
        # behind it: the interruption, not a bug
        return _report_stop(stop) if stop is not None else _report_bug()


def _report_stop(stop: KeyboardInterrupt) -> int:
    """One line for an interruption (Ctrl-C) or a termination (SIGTERM, SIGHUP), and its exit code."""
    from ._signals import Terminated

    if isinstance(stop, Terminated):
        print(f"vismic: stopped by {stop}", file=sys.stderr)
        return 128 + stop.signum
    print("vismic: interrupted", file=sys.stderr)
    return 130


def _interruption_behind(exc: BaseException):
    """The KeyboardInterrupt (or Terminated) an exception was raised while handling, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt):
            return exc
        exc = exc.__context__
    return None


def _report_bug() -> int:
    traceback.print_exc()
    print("vismic: this is a bug in vismic, not a problem with your input: please report it to the "
          "vismic maintainers with the traceback above and the command you ran", file=sys.stderr)
    return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
