"""Command-line pieces for ``vismic magnify`` and ``vismic train-magnet``.

The main command line (:mod:`vismic.cli`) adds these sub-commands with
:func:`add_magnify_parser` / :func:`add_train_parser` and calls
:func:`run_magnify` / :func:`run_train`; errors are raised as vismic errors,
which it prints as one line.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import re
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

from .._cli_helpers import check_option, finite_float
from ..errors import OutputError, ParameterError, VismicWarning
from ._inference import ENSEMBLES, FILTERS, MODES

__all__ = ["add_magnify_parser", "add_train_parser", "run_magnify", "run_train"]

#: Frames ``vismic magnify --upscale auto`` reads before it chooses (the rest stream through),
#: and the most bytes of them it holds for that.
AUTO_FRAMES = 256
AUTO_BYTES = 64 << 20


_MAGNIFY_HELP = "magnify small motions in a video with MagNet (learning-based motion magnification)"
_MAGNIFY_DESCRIPTION = ("Write VIDEO with its motions magnified by ALPHA, frame for frame, same size "
                        "(grayscale, lossless). Needs PyTorch (pip install torch).")
_TRAIN_HELP = "train a MagNet on procedurally generated examples (resumes RUN_DIR)"
_TRAIN_DESCRIPTION = ("Train MagNet with the paper's loss on generated examples with exact sub-pixel motion. "
                      "Checkpoints go to RUN_DIR; running again on the same folder resumes.")


def add_magnify_parser(subparsers) -> argparse.ArgumentParser:
    """``vismic magnify VIDEO -o OUT.avi --alpha A [--mode ...] [--fl HZ --fh HZ --fps HZ]``."""
    parser = subparsers.add_parser("magnify", help=_MAGNIFY_HELP, description=_MAGNIFY_DESCRIPTION)
    parser.add_argument("video", metavar="VIDEO", help="video file or frame folder")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.avi",
                        help="output video (.avi/.mkv, lossless) or a folder for PNG frames")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing non-empty output folder that vismic did not write")
    parser.add_argument("--alpha", type=finite_float, required=True, help="magnification factor (> 0; above 100 warns)")
    parser.add_argument("--mode", choices=MODES, default="static",
                        help="static: against the first frame; dynamic: between consecutive frames; "
                             "temporal: band-pass --fl..--fh of the shape code (needs --fps)")
    parser.add_argument("--fl", type=finite_float, default=None, metavar="HZ", help="low cut-off (temporal mode)")
    parser.add_argument("--fh", type=finite_float, default=None, metavar="HZ", help="high cut-off (temporal mode)")
    parser.add_argument("--fps", type=finite_float, default=None, metavar="HZ",
                        help="capture rate of the camera (needed by the temporal mode)")
    parser.add_argument("--filter", choices=FILTERS, default="butter", help="temporal filter")
    parser.add_argument("--weights", default=None, metavar="PATH",
                        help="a shipped model's name (published, the default; light, faster on CPUs) or a model "
                             "file (vismic .pt, or a state dict of the public PyTorch port)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    parser.add_argument("--batch-size", type=int, default=8, help="frames per network call")
    parser.add_argument("--tile", type=int, default=None, metavar="PX",
                        help="process frames in overlapping tiles of this size (bounds memory)")
    parser.add_argument("--ensemble", type=int, choices=ENSEMBLES, default=1,
                        help="geometric self-ensemble: also magnify mirrored (2, 4) and transposed (8) frames and "
                             "average (N times the work; sharper on photographs, docs/magnet.md)")
    parser.add_argument("--upscale", choices=("1", "2", "auto"), default="1",
                        help="magnify frames upsampled 2x and average back: keeps fine texture, 4x the work; "
                             "auto: when the magnified motion, the noise and the detail allow (measured on the "
                             f"first {AUTO_FRAMES} frames, {AUTO_BYTES >> 20} MB at most)")
    parser.add_argument("--playback-fps", type=finite_float, default=None, metavar="HZ",
                        help="rate stored in the output (default: the input's, or 30)")
    parser.set_defaults(func=run_magnify)
    return parser


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """``vismic train-magnet RUN_DIR [--hours H | --steps N] ...``."""
    parser = subparsers.add_parser("train-magnet", help=_TRAIN_HELP, description=_TRAIN_DESCRIPTION)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="folder of the run (checkpoints, history, models)")
    parser.add_argument("--config", choices=("light", "published"), default="light",
                        help="network sizes: the CPU configuration or the published one (grayscale)")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps in total")
    parser.add_argument("--hours", type=finite_float, default=None, help="stop after this much training time in total")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--patch-size", type=int, default=64)
    parser.add_argument("--lr", type=finite_float, default=1e-4, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch-samples", type=int, default=2000, help="examples between validations")
    parser.add_argument("--validation-samples", type=int, default=128, help="size of the held-out set")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--data-workers", type=int, default=0, metavar="N",
                        help="processes rendering training examples ahead (0: none; same batches for any N)")
    parser.add_argument("--views", type=int, default=1, metavar="K",
                        help="train on each rendered example under K of its 8 quarter turns and transposes "
                             "(1-8; rendering costs far more than a step on a GPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--init", default=None, metavar="WEIGHTS",
                        help="start from this model file (fine-tune), e.g. the shipped weights; "
                             "ignored when RUN_DIR has a checkpoint")
    parser.add_argument("--data", choices=("natural", "original"), default="natural",
                        help="natural: dead leaves, smooth areas, photographs, procedural textures, blur, "
                             "camera noise; original: the first shipped model's procedural data")
    parser.add_argument("--max-noise", type=finite_float, default=4.0,
                        help="largest noise in grey levels at mid-grey")
    parser.add_argument("--schedule", choices=("cosine", "constant"), default="cosine",
                        help="learning-rate schedule (cosine decay to 5%% over --schedule-steps)")
    parser.add_argument("--schedule-steps", type=int, default=None,
                        help="length of the cosine decay (default --steps; constant rate if only --hours)")
    parser.add_argument("--warmup-steps", type=int, default=0, help="linear warm-up of the learning rate")
    parser.add_argument("--ssim-weight", type=finite_float, default=0.0,
                        help="weight of 1 - SSIM added to the output's L1 loss (0: the paper's loss)")
    parser.add_argument("--texture-scale", type=finite_float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help="zoom range of the training textures (source pixels per output pixel; above 1 finer; "
                             "default: the shipped stages' 0.5 1.3)")
    parser.add_argument("--export", default=None, metavar="PATH",
                        help="copy the best model (by validation SSIM) here at the end")
    parser.set_defaults(func=run_train)
    return parser


def _as_options(message: str) -> str:
    """train()'s parameter names as ``train-magnet``'s options."""
    for name, option in (("learning_rate", "--lr"), ("n_validation", "--validation-samples"),
                         ("epoch_samples", "--epoch-samples"), ("batch_size", "--batch-size"),
                         ("patch_size", "--patch-size"), ("steps", "--steps"), ("hours", "--hours"),
                         ("threads", "--threads"), ("schedule_steps", "--schedule-steps"),
                         ("warmup_steps", "--warmup-steps"), ("ssim_weight", "--ssim-weight"),
                         ("data_workers", "--data-workers"), ("views", "--views")):
        message = re.sub(rf"(?<![\w-]){name}\b(=?)", lambda m, o=option: o + (" " if m.group(1) else ""), message)
    return message


def run_magnify(args) -> int:
    """Run ``vismic magnify`` from parsed arguments; returns the exit code."""
    from .._cli_helpers import Progress, check_writable
    from ..io import open_video, write_video
    from ._inference import Magnify
    from ._scale import choose_upscale

    output = check_writable(args.output, [args.video, args.weights], folder=Path(args.output).suffix == "",
                            overwrite=args.overwrite)
    _check_magnify_args(args)
    with warnings.catch_warnings():
        if args.fps is None:  # the capture rate only matters to the temporal mode
            warnings.simplefilter("ignore", VismicWarning)
        video = open_video(args.video, fps=args.fps if args.fps is not None else 30.0, batch_size=args.batch_size)
    batches = iter(video)
    first = next(batches, None)
    if first is None:
        raise ParameterError(f"no frames in {args.video!r}")
    sixteen_bit = float(np.max(first.frames)) > 255.0  # 16-bit frame folders keep their range
    value_range = (0.0, 65535.0) if sixteen_bit else (0.0, 255.0)
    held = [first]
    upscale = args.upscale if args.upscale == "auto" else int(args.upscale)
    if upscale == "auto":  # chosen on the video's first frames, held until then
        while (sum(len(batch) for batch in held) < AUTO_FRAMES
               and sum(batch.frames.nbytes for batch in held) < AUTO_BYTES):
            batch = next(batches, None)
            if batch is None:
                break
            held.append(batch)
        choice = choose_upscale(np.concatenate([batch.frames for batch in held]), alpha=args.alpha,
                                model=args.weights, mode=args.mode, value_range=value_range)
        upscale = choice.factor
        logging.getLogger("vismic").info("magnifying at %dx the resolution: %s", choice.factor, choice.reason)
    stage = Magnify(alpha=args.alpha, mode=args.mode, fl_hz=args.fl, fh_hz=args.fh, filter=args.filter,
                    model=args.weights, device=args.device, batch_size=args.batch_size, tile=args.tile,
                    value_range=value_range, ensemble=args.ensemble, upscale=upscale)
    written = []

    def magnified():  # batch by batch into the writer: the video is never held whole
        progress = Progress(video.frame_count_hint, not _quiet(args), "magnifying")
        try:
            for batch in itertools.chain(_drain(held), batches):
                out = stage.transform(batch).frames
                yield np.round(out).astype(np.uint16 if sixteen_bit else np.uint8)
                written.append(len(batch))
                progress(len(batch))
        finally:
            progress.close()

    playback = args.playback_fps
    if playback is None:
        playback = video.container_fps if video.container_fps and video.container_fps <= 1000 else 30.0
    path = write_video(output, magnified(), playback_fps=playback, overwrite=args.overwrite)
    if not _quiet(args):
        print(f"wrote {sum(written)} frames to {path}", file=sys.stderr)
    return 0


def _quiet(args) -> bool:
    """``-q`` (errors only), before or after the sub-command."""
    return getattr(args, "verbosity", 0) < 0


def _drain(items: list):
    """Yield and drop the items of ``items`` front first (what was read ahead is freed as it is used)."""
    while items:
        yield items.pop(0)


def _check_magnify_args(args) -> None:
    """Every number of ``vismic magnify`` in range before the video is opened."""
    check_option(args.alpha, "--alpha", positive=True)
    check_option(args.batch_size, "--batch-size", positive=True, integer=True)
    check_option(args.tile, "--tile", minimum=32)  # what magnify() accepts
    for name in ("fl", "fh", "fps", "playback_fps"):
        check_option(getattr(args, name), f"--{name.replace('_', '-')}", positive=True)
    if args.mode == "temporal":
        if args.fl is None or args.fh is None or args.fps is None:
            raise ParameterError("--mode temporal needs --fl, --fh and --fps")
        if not args.fl < args.fh < args.fps / 2:
            raise ParameterError(f"--mode temporal needs --fl < --fh < --fps/2 (Nyquist), given --fl {args.fl:g} "
                                 f"--fh {args.fh:g} --fps {args.fps:g}")


def run_train(args) -> int:
    """Run ``vismic train-magnet`` from parsed arguments; returns the exit code."""
    from .._cli_helpers import check_writable
    from ._train import _check_train_args, train

    if args.steps is None and args.hours is None:
        raise ParameterError("give --steps or --hours to bound the training")
    run_dir = Path(args.run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise OutputError(f"RUN_DIR {args.run_dir!r} is a file: give a folder for the run's checkpoints (a new one, "
                          "or a run's folder to resume it)")
    try:
        _check_train_args(steps=args.steps, hours=args.hours, batch_size=args.batch_size, patch_size=args.patch_size,
                          learning_rate=args.lr, epoch_samples=args.epoch_samples,
                          n_validation=args.validation_samples, threads=args.threads, checkpoint_minutes=5.0)
    except ParameterError as error:  # the same check as train(), named as the options the user typed
        raise ParameterError(_as_options(str(error))) from None

    check_option(args.schedule_steps, "--schedule-steps", minimum=1)
    check_option(args.warmup_steps, "--warmup-steps", minimum=0)
    check_option(args.max_noise, "--max-noise", minimum=0)
    check_option(args.ssim_weight, "--ssim-weight", minimum=0)
    check_option(args.data_workers, "--data-workers", minimum=0)
    check_option(args.views, "--views", minimum=1, maximum=8)
    if args.texture_scale is not None and not 0 < args.texture_scale[0] <= args.texture_scale[1]:
        raise ParameterError("--texture-scale must be LOW HIGH with 0 < LOW <= HIGH, given "
                             f"{args.texture_scale[0]:g} {args.texture_scale[1]:g}")
    from ._weights import shipped_path

    if args.init is not None and shipped_path(args.init) is None and not Path(args.init).is_file():
        raise ParameterError(f"--init {args.init!r} is not a file; give a vismic model file (.pt) or a shipped "
                             "model's name (light, published)")
    if args.export:
        if Path(args.export).suffix.lower() not in (".pt", ".pth"):
            # a video given by mistake was replaced by a model file
            raise ParameterError(f"--export {args.export!r} must name a model file ending in .pt")
        inputs = [run_dir / "best.pt", run_dir / "model.pt", run_dir / "checkpoint.pt"]
        if args.init is not None and shipped_path(args.init) is None:
            inputs.append(Path(args.init))  # --export init.pt replaced the model the run started from
        check_writable(args.export, inputs)
    if args.steps is None and args.hours is None:
        raise ParameterError("give --steps or --hours to bound the training")

    def log(line):
        if not _quiet(args):
            print(line, flush=True)

    train(args.run_dir, config=args.config, steps=args.steps, hours=args.hours, batch_size=args.batch_size,
          patch_size=args.patch_size, learning_rate=args.lr, seed=args.seed, epoch_samples=args.epoch_samples,
          n_validation=args.validation_samples, threads=args.threads, device=args.device,
          init=args.init, max_noise=args.max_noise, schedule=args.schedule, schedule_steps=args.schedule_steps,
          warmup_steps=args.warmup_steps, ssim_weight=args.ssim_weight, views=args.views,
          data_workers=args.data_workers, log=log,
          **({} if args.texture_scale is None else dict(texture_scale=tuple(args.texture_scale))),
          **(dict(mix=None, p_blur=0.0, noise_model="shot") if args.data == "original" else {}))
    if args.export:
        from ..io._atomic import temporary_file

        best = run_dir / "best.pt"
        with temporary_file(Path(args.export), what="model file") as temporary:
            shutil.copyfile(best if best.is_file() else run_dir / "model.pt", temporary)
        if not _quiet(args):
            print(f"exported {args.export}", flush=True)
    return 0
