"""Pieces every ``vismic`` sub-command shares: argument parsing, output checks, progress."""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

from .errors import OutputError, ParameterError


class ArgumentParser(argparse.ArgumentParser):
    """argparse with vismic's one-line errors (no usage block) and option values that start with '-'.

    Sub-parsers are made of the same class, so every sub-command behaves alike.
    """

    def error(self, message):
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        hint = f"; see 'vismic {command} --help'" if command else "; see 'vismic --help'"
        self.exit(2, f"vismic: error: {message}{hint}\n")

    def parse_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        return super().parse_args(bare_switches(self, join_negative_values(self, args)), namespace)


def _value_options(parser: argparse.ArgumentParser) -> set:
    """Option strings, of ``parser`` and its sub-parsers, that take exactly one value."""
    options = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                options |= _value_options(sub)
        elif action.option_strings and action.nargs is None and isinstance(action, argparse._StoreAction):
            options |= set(action.option_strings)
    return options


def join_negative_values(parser: argparse.ArgumentParser, argv: list) -> list:
    """``--roi -5,0,10,10`` as ``--roi=-5,0,10,10``: argparse would take the value for an unknown option.

    >>> import argparse
    >>> p = argparse.ArgumentParser(); _ = p.add_argument("--roi")
    >>> join_negative_values(p, ["--roi", "-5,0,10,10"])
    ['--roi=-5,0,10,10']
    """
    takes_value = _value_options(parser)
    known = set()
    stack = [parser]
    while stack:
        current = stack.pop()
        known |= set(current._option_string_actions)
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
    out, i = [], 0
    while i < len(argv):
        token = argv[i]
        if (token in takes_value and i + 1 < len(argv) and argv[i + 1].startswith("-")
                and argv[i + 1] not in known and argv[i + 1] != "--"):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _switch_options(parser: argparse.ArgumentParser) -> dict:
    """Options of ``parser`` and its sub-parsers whose value may be left out (``nargs='?'``, with choices).

    Option -> ``(choices, const)``.
    """
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.update(_switch_options(sub))
        elif action.option_strings and action.nargs == "?" and action.choices:
            found.update({option: (set(action.choices), action.const) for option in action.option_strings})
    return found


def bare_switches(parser: argparse.ArgumentParser, argv: list) -> list:
    """``--stabilise clip.avi`` as ``--stabilise=on clip.avi``: argparse took the video's name for the switch's value.

    >>> import argparse
    >>> p = argparse.ArgumentParser(); _ = p.add_argument("--stabilise", nargs="?", const="on", choices=["on", "off"])
    >>> bare_switches(p, ["--stabilise", "clip.avi"]), bare_switches(p, ["--stabilise", "off", "clip.avi"])
    (['--stabilise=on', 'clip.avi'], ['--stabilise', 'off', 'clip.avi'])
    """
    switches = _switch_options(parser)
    out = []
    for token, following in zip(argv, argv[1:] + [None]):
        if token in switches and following is not None and not following.startswith("-") \
                and following not in switches[token][0] and not _mistyped_value(following):
            out.append(f"{token}={switches[token][1]}")
        else:
            out.append(token)
    return out


def _mistyped_value(text: str) -> bool:
    """A word that is no file (no dot, no separator, nothing there): a switch's value mistyped, for argparse to name.

    ``--stabilise Off clip.avi`` took 'Off' for the video ('several videos need -o to be a folder').

    >>> _mistyped_value("Off"), _mistyped_value("clip.avi"), _mistyped_value("frames/")
    (True, False, False)
    """
    return not any(mark in text for mark in (".", "/", os.sep)) and not os.path.exists(text)


def finite_float(text: str) -> float:
    """argparse ``type=`` for a finite number (``float`` alone takes 'nan' and 'inf')."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, given {text!r}")
    return value


def parse_floats(text: str, count: int, name: str) -> list:
    try:
        values = [float(p) for p in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or not all(np.isfinite(v) for v in values):
        raise ParameterError(f"{name} must be {count} comma-separated finite numbers, given {text!r}")
    return values


def parse_ints(text: str, count: int, name: str, *, minimum=None) -> tuple:
    """``count`` comma-separated integers (``--batch-size 2.5`` said "must be 1 comma-separated integers").

    >>> parse_ints("4,4", 2, "--grid")
    (4, 4)
    """
    floor = f" >= {minimum}" if minimum is not None else ""
    wanted = f"an integer{floor}" if count == 1 else f"{count} comma-separated integers{floor}"
    try:
        values = parse_floats(text, count, name)
    except ParameterError:
        raise ParameterError(f"{name} must be {wanted}, given {text!r}") from None
    if any(v != int(v) for v in values) or (minimum is not None and any(v < minimum for v in values)):
        raise ParameterError(f"{name} must be {wanted}, given {text!r}")
    return tuple(int(v) for v in values)


def check_option(value, name: str, *, minimum=None, maximum=None, positive=False, integer=False):
    """An option's parsed number in range, or a ParameterError that names the option and says what to give."""
    if value is None:
        return None
    if positive and not (_finite(value) and value > 0):
        raise ParameterError(f"{name} must be a positive {'integer' if integer else 'number'}, given {value!r}")
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} must be >= {minimum:g}, given {value!r}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be <= {maximum:g}, given {value!r}")
    return value


def _finite(value) -> bool:
    """Whether a number is finite, a Python integer past float's range too (20 digits broke numpy's test)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


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
    elif path.is_file() and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {str(path)!r}: the file is read-only; make it writable, remove it or choose "
                          "another name")
    if not parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: {str(parent)!r} is a file, not a folder" if parent.exists()
                          else f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {str(path)!r}: folder {str(parent)!r} is not writable")
    return path


@contextlib.contextmanager
def outputs_together(paths, removed=()):
    """One run's output files (a WAV, its sidecar, plots...) all written, or the set as it was before.

    Each file is written atomically; this makes the set so: an interruption (Ctrl-C,
    SIGTERM) or a failure inside the block removes every one of ``paths`` it wrote and
    puts back the file each replaced, so a WAV is never left without the sidecar that
    says how it was made, and a run stopped while it writes leaves the last run's outputs
    as they were (they were removed with the new ones). The files there before are moved
    aside (renamed beside them) while the block runs, and removed once it has written its own.
    ``removed`` are files the set replaces without writing again (a sidecar of the WAV replaced
    with ``--no-sidecar``): moved aside alike, and gone once the block ends.
    """
    removed = [Path(path) for path in removed if Path(path).is_file()]
    paths = [Path(path) for path in paths] + removed
    kept = {}
    try:
        for path in paths:
            if path.is_file():
                kept[path] = path.with_name(f".{path.name}.vismic-previous-{os.getpid()}")
                os.replace(path, kept[path])
        yield
    except BaseException:
        for path in paths:
            with contextlib.suppress(OSError):
                if path in kept:
                    os.replace(kept.pop(path), path)
                else:
                    path.unlink(missing_ok=True)
        raise
    for path, previous in kept.items():  # written (or removed): the last run's goes; not written: it stays
        with contextlib.suppress(OSError):
            if path.exists() or path in removed:
                if path.exists():  # a file replaced keeps its permissions (a private 0600 WAV stays private)
                    shutil.copymode(previous, path)
                previous.unlink()
            else:
                os.replace(previous, path)


def print_warnings(caught, about: str = "") -> None:
    """Each caught warning as a line (``about``, e.g. ``"clip.avi: "``, before it when several videos run)."""
    # Through the "vismic" logger, so -q hides them; the CLI's handler writes "vismic: warning: ...".
    for w in caught:
        logging.getLogger("vismic").warning("%s%s", about, w.message)


def open_source(args, fps, roi, *, video=None, collect=None):
    """Open ``video`` (default ``args.video``; vismic's warnings printed as lines) and the number of frames to expect.

    ``fps`` None takes the capture rate a camera file stores. ``collect`` (a list) receives the
    warnings printed (``--strict`` refuses on them).
    """
    from .io import open_video

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = open_video(args.video if video is None else video, fps=fps, roi=roi, downsample=args.downsample,
                            max_frames=args.max_frames, **_batching(args))
    print_warnings(caught)
    if collect is not None:
        collect.extend(caught)
    total = source.frame_count_hint
    if args.max_frames is not None and total is not None:
        total = min(total, args.max_frames)
    return source, total


def _batching(args) -> dict:
    """``batch_size``, ``max_batch_bytes`` and ``strict`` from ``--batch-size``, ``--max-memory``, ``--strict``."""
    options = {"strict": bool(getattr(args, "strict", False))}
    if getattr(args, "batch_size", None) is not None and getattr(args, "max_memory", None) is not None:
        raise ParameterError("give --batch-size or --max-memory, not both (frames per batch, or the MB they may take)")
    if getattr(args, "batch_size", None) is not None:
        options["batch_size"] = parse_ints(args.batch_size, 1, "--batch-size")[0]
        if options["batch_size"] < 1:
            raise ParameterError(f"--batch-size must be a positive number of frames, given {args.batch_size!r}")
    if getattr(args, "max_memory", None) is not None:
        megabytes = parse_floats(args.max_memory, 1, "--max-memory")[0]
        if not np.isfinite(megabytes) or megabytes <= 0 or megabytes > 1e6:
            raise ParameterError(f"--max-memory must be a number of MB in (0, 1e6], given {args.max_memory!r}")
        options["max_batch_bytes"] = max(1, int(megabytes * 2**20))
    return options


class Progress:
    """A tqdm bar on stderr (or nothing), called with the frames of each batch.

    Only where stderr is a terminal: redirected to a log, the bar's carriage returns would
    run into the lines after it.
    """

    def __init__(self, total, enabled: bool, desc: str = "recovering"):
        self.bar = None
        self.total = total
        if enabled and getattr(sys.stderr, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="frame", desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True)

    def __call__(self, n: int):
        if self.bar is not None:
            self.bar.update(n)

    def restart(self, desc: str, *, counted: bool = True):
        """Start over for a second pass over the frames (e.g. stabilised).

        ``counted=False``: a step whose frames are not the video's (a codec replica's noise search),
        counted with no total.
        """
        if self.bar is not None:
            self.bar.reset(total=self.total)
            if not counted:
                self.bar.total = None  # tqdm's reset keeps the total it is given None for
            self.bar.set_description(desc)

    def close(self):
        if self.bar is not None:
            self.bar.close()
