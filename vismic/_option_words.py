"""Library messages in the command line's words.

Errors and warnings of the library name a setting both ways where a user of either could
read them (``--highpass HZ, highpass_hz=``). The command line shows them with the
Python forms taken out and the parameter names turned into its options.
"""

from __future__ import annotations

import re

__all__ = ["OPTION_WORDS", "in_option_words"]

#: The library's parameter names and the command line's options for them, as messages name them.
OPTION_WORDS = {"roi": "--roi", "grid": "--grid", "precision": "--precision", "fps": "--fps",
                "amplitude_px": "--amplitude", "n_levels": "--levels", "downsample": "--downsample",
                "highpass_hz": "--highpass", "n_sources": "--sources", "max_frames": "--max-frames",
                "strict": "--strict", "stabilise": "--stabilise", "unhold": "--unhold", "device": "--device",
                "workers": "--workers"}

#: Options that take no value, and options whose on/off is Python's True/False.
FLAGS, SWITCHES = ("strict",), ("stabilise", "unhold")

_NAMES = "|".join(OPTION_WORDS)
#: A parameter in Python's form, ``name=value`` (the value may be left out: ``highpass_hz=``).
_PYTHON = rf"(?<![\w-])(?:{_NAMES})=[^\s,;()]*"
_BAND_EDGE = r"(?<![\w-])(low|high)_hz(?:=([^\s,;()]+))? \(the (bottom|top) of --band\)"


def _value(name: str, value: str) -> str:
    """A Python value as the option takes it: switches' True/False as on/off, strings unquoted."""
    if name in SWITCHES and value in ("True", "False"):
        return "on" if value == "True" else "off"
    return value.strip("'\"")


def _option(name: str, value: str) -> str:
    """``--option value``, the flag alone where it takes no value."""
    value = _value(name, value)
    return OPTION_WORDS[name] if name in FLAGS and value in ("True", "") else f"{OPTION_WORDS[name]} {value}"


def _as_option(match) -> str:
    """``name=value (--option ...)`` -> the option as the parenthesis gives it, else ``--option value``."""
    name, value, option = match.group(1), match.group(2), match.group(3)
    return option if " " in option or value == "" else _option(name, value)


def in_option_words(message: str) -> str:
    """A library message in the command line's words.

    Examples
    --------
    >>> in_option_words("grid must fit the frame, given grid=(16, 16); at 2200 fps")
    '--grid must fit the frame, given --grid (16, 16); at 2200 fps'
    >>> in_option_words("give one below it (--highpass HZ, highpass_hz=), or 0 to keep the drift")
    'give one below it (--highpass HZ), or 0 to keep the drift'
    >>> in_option_words("n_levels=10 (--levels) is too many; pass strict=True (--strict) to refuse it")
    '--levels 10 is too many; pass --strict to refuse it'
    >>> in_option_words("pass it with --fps on the command line or fps= in Python (e.g. fps=2200), given fps=None")
    'pass it with --fps (e.g. --fps 2200)'
    >>> in_option_words("damaged (strict=True, --strict, refuses them); --stabilise on (stabilise=True) takes it out")
    'damaged (--strict, refuses them); --stabilise on takes it out'
    >>> in_option_words("high_hz=400 (the top of --band) is at or above the Nyquist frequency")
    'the top of --band, 400 Hz, is at or above the Nyquist frequency'
    >>> in_option_words("unhold=True (--unhold on) reads the blocks; unhold=True takes at most a 4x4 grid")
    '--unhold on reads the blocks; --unhold on takes at most a 4x4 grid'
    """
    # where both forms are given, the Python one goes
    message = re.sub(rf"(\(--[^()]*?), {_PYTHON}", r"\1", message)
    message = re.sub(rf"\({_PYTHON}, (--[^()]*)\)", r"(\1)", message)
    message = re.sub(rf"(--[\w-]+(?: [^\s,;()]+)?) \({_PYTHON}\)", r"\1", message)
    message = re.sub(rf"(?<![\w-])({_NAMES})=([^\s,;()]*) \((--[\w-]+(?: [\w'-]+)?)\)", _as_option, message)
    message = re.sub(rf" on the command line or {_PYTHON} in Python", "", message)
    message = re.sub(rf", given (?:{_NAMES})=None\b", "", message)
    message = re.sub(_BAND_EDGE, lambda m: f"the {m.group(3)} of --band" + (f", {m.group(2)} Hz," if m.group(2) else ""),
                     message)
    # what is left in Python's form is said as the option
    message = re.sub(rf"(?<![\w-])({_NAMES})=([^\s,;()]*)", lambda m: _option(m.group(1), m.group(2)), message)
    message = re.sub(rf"(^|: )({_NAMES}) must", lambda m: f"{m.group(1)}{OPTION_WORDS[m.group(2)]} must", message)
    return re.sub(r"(--[\w-]+ [^,;()]+), \1\b", r"\1", message)  # "e.g. --fps 2200, fps=2200" said it twice
