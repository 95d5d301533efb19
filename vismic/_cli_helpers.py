"""Pieces every ``vismic`` sub-command shares: argument parsing, output checks, progress."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .errors import OutputError, ParameterError


def parse_floats(text: str, count: int, name: str) -> list:
    try:
        values = [float(p) for p in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise ParameterError(f"{name} must be {count} comma-separated numbers, given {text!r}")
    return values


def parse_ints(text: str, count: int, name: str) -> tuple:
    values = parse_floats(text, count, name)
    if any(v != int(v) for v in values):
        raise ParameterError(f"{name} must be {count} comma-separated integers, given {text!r}")
    return tuple(int(v) for v in values)


def parse_rate(text: str, name: str = "--fps") -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be a positive number (frames per second), given {text!r}")
    return value


def check_writable(path, inputs=(), *, folder: bool = False, overwrite: bool = False) -> Path:
    """Fail before any work when ``path`` cannot be written or would destroy one of ``inputs``.

    ``folder=True`` is for frame-folder outputs: an existing non-empty folder that
    vismic did not write is refused unless ``overwrite``.
    """
    from .io._atomic import check_not_input, check_replaceable_folder

    path = Path(path)
    check_not_input(path, inputs, what="output")
    parent = path.parent if str(path.parent) else Path(".")
    if folder:
        if path.exists() and not path.is_dir():
            raise OutputError(f"output folder {str(path)!r} is a file, not a folder")
        check_replaceable_folder(path, what="output folder", overwrite=overwrite)
    elif path.is_dir():
        raise OutputError(f"output path {str(path)!r} is a folder, not a file")
    if not parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {str(path)!r}: folder {str(parent)!r} is not writable")
    return path


def print_warnings(caught) -> None:
    # Through the "vismic" logger, so -q hides them; the CLI's handler writes "vismic: warning: ...".
    for w in caught:
        logging.getLogger("vismic").warning("%s", w.message)


def open_source(args, fps, roi, *, video=None):
    """Open ``video`` (default ``args.video``; vismic's warnings printed as lines) and the number of frames to expect.

    ``fps`` None takes the capture rate a camera file stores.
    """
    from .io import open_video

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = open_video(args.video if video is None else video, fps=fps, roi=roi, downsample=args.downsample,
                            max_frames=args.max_frames)
    print_warnings(caught)
    total = source.frame_count_hint
    if args.max_frames is not None and total is not None:
        total = min(total, args.max_frames)
    return source, total


class Progress:
    """A tqdm bar on stderr (or nothing), called with the frames of each batch."""

    def __init__(self, total, enabled: bool, desc: str = "recovering"):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="frame", desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True)

    def __call__(self, n: int):
        if self.bar is not None:
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()
