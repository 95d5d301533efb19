"""The settings x264 wrote into a file, so that an H.264 replica is coded as the file was.

x264 writes its whole configuration into the first frame of every stream it codes (an SEI
message of unregistered user data: ``x264 - core 163 ... - options: cabac=1 ref=2 ...``).
Exports differ: the real clips of ``../shared/footage`` were coded at x264's ``fast`` preset
(``ref=2 subme=6 rc_lookahead=30``), ``veryfast`` (``ref=1 subme=2 trellis=0``) and
``ultrafast`` (``cabac=0 me=dia subme=0 aq=0``), where a replica at x264's own default
(``medium``: ``ref=3 subme=7 rc_lookahead=40``) decides otherwise which blocks to skip and how
finely to code the rest, and takes 1.5-3x as long (150 frames of throat.mp4: 1.0 s against
1.5; baby.mp4: 0.22 against 0.65; one-off).
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = ["read_x264_settings", "replica_x264_params"]

#: Bytes from a file's start searched for x264's message (it is in the first frame, after the headers).
SEARCH_BYTES = 4 << 20

_MARK = b"x264 - core"

#: The settings x264's parameter parser takes as they are written, under the parser's own names (the message's
#: name: the parser's).
_PARSER_NAMES = {"cabac": "cabac", "ref": "ref", "me": "me", "subme": "subme", "psy": "psy", "mixed_ref": "mixed-refs",
            "me_range": "merange", "chroma_me": "chroma-me", "trellis": "trellis", "8x8dct": "8x8dct",
            "fast_pskip": "fast-pskip", "nr": "nr", "decimate": "dct-decimate", "sliced_threads": "sliced-threads",
            "bframes": "bframes", "b_adapt": "b-adapt", "b_bias": "b-bias", "weightb": "weightb",
            "open_gop": "open-gop", "weightp": "weightp", "scenecut": "scenecut", "rc_lookahead": "rc-lookahead",
            "mbtree": "mbtree", "qcomp": "qcomp", "qpmin": "qpmin", "qpmax": "qpmax", "qpstep": "qpstep",
            "ip_ratio": "ipratio", "pb_ratio": "pbratio"}

#: x264's names for its B-pyramid and direct-prediction modes, by the number the message gives.
_PYRAMID, _DIRECT = ("none", "strict", "normal"), ("none", "spatial", "temporal", "auto")

#: The inter-partition flags of the message's ``analyse=intra:inter`` and x264's names for them.
_PARTITIONS = ((0x1, "i4x4"), (0x2, "i8x8"), (0x10, "p8x8"), (0x20, "p4x4"), (0x100, "b8x8"))

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def read_x264_settings(path) -> Optional[dict]:
    """x264's settings as it wrote them into the file at ``path`` (``{'ref': '2', 'subme': '6', ...}``), or None.

    None where the file holds no such message within its first :data:`SEARCH_BYTES` (another
    encoder, or x264 told to leave it out) or cannot be read.
    """
    try:
        with open(path, "rb") as file:
            head = file.read(SEARCH_BYTES)
    except OSError:
        return None
    return parse_x264_message(head)


def parse_x264_message(data: bytes) -> Optional[dict]:
    """The ``name=value`` settings of the first x264 message in ``data``, or None.

    Examples
    --------
    >>> parse_x264_message(b"..x264 - core 163 - H.264/MPEG-4 AVC codec - options: cabac=1 ref=2 aq=1:1.00\\x00..")
    {'cabac': '1', 'ref': '2', 'aq': '1:1.00'}
    >>> parse_x264_message(b"no message here") is None
    True
    """
    start = data.find(_MARK)
    if start < 0:
        return None
    end = data.find(b"\x00", start)
    text = data[start:end if end >= 0 else len(data)].decode("ascii", "replace")
    _, found, options = text.partition("options: ")
    if not found:
        return None
    settings = dict(token.split("=", 1) for token in options.split() if "=" in token)
    return settings or None


def _number(value: str) -> Optional[str]:
    """A number as x264's parser reads it (a locale's decimal comma made a point), or None."""
    value = value.replace(",", ".")
    return value if _NUMBER.match(value) else None


def replica_x264_params(settings: Optional[dict]) -> dict:
    """x264 parameters (``x264-params`` entries) that code as the file's ``settings`` (:func:`read_x264_settings`) did.

    The analysis, quantisation, frame-type and rate-control settings; not the threads,
    key-frame interval or quality, which the replica sets from the file's frames (its key
    frames and quantisers). A setting whose value is not of the form x264 wrote is left out.

    Examples
    --------
    >>> replica_x264_params({"ref": "2", "deblock": "1:0:0", "analyse": "0x3:0x113", "psy_rd": "1,00:0,15",
    ...                      "deadzone": "21,11", "direct": "1", "aq": "1:1.00", "threads": "18", "crf": "23.0"})
    {'ref': '2', 'deblock': '0,0', 'partitions': 'i4x4,i8x8,p8x8,b8x8', 'psy-rd': '1.00,0.15', 'deadzone-inter': '21', \
'deadzone-intra': '11', 'direct': 'spatial', 'aq-mode': '1', 'aq-strength': '1.00'}
    >>> replica_x264_params({"deblock": "0:-1:-1", "aq": "0", "me": "dia"})
    {'me': 'dia', 'deblock': 'false', 'aq-mode': '0'}
    """
    if not settings:
        return {}
    params = {}
    for name, value in settings.items():
        if name in _PARSER_NAMES:
            found = value if name == "me" and value.isalpha() else _number(value)
            if found is not None:
                params[_PARSER_NAMES[name]] = found
    deblock = settings.get("deblock", "").split(":")
    if len(deblock) == 3 and all(_number(part) for part in deblock):
        params["deblock"] = f"{deblock[1]},{deblock[2]}" if deblock[0] != "0" else "false"
    analyse = settings.get("analyse", "").split(":")
    if len(analyse) == 2:
        try:
            inter = int(analyse[1], 16)
        except ValueError:
            inter = None
        if inter is not None:
            params["partitions"] = ",".join(name for bit, name in _PARTITIONS if inter & bit) or "none"
    psy_rd = [_number(part) for part in settings.get("psy_rd", "").split(":")]
    if len(psy_rd) == 2 and all(psy_rd):
        params["psy-rd"] = ",".join(psy_rd)
    deadzone = settings.get("deadzone", "").split(",")
    if len(deadzone) == 2 and all(_number(part) for part in deadzone):
        params["deadzone-inter"], params["deadzone-intra"] = deadzone
    for name, names in (("b_pyramid", _PYRAMID), ("direct", _DIRECT)):
        value = settings.get(name, "")
        if value.isdigit() and int(value) < len(names):
            params[name.replace("_", "-")] = names[int(value)]
    mode, _, strength = settings.get("aq", "").partition(":")
    if mode.isdigit():
        params["aq-mode"] = mode
        if strength and _number(strength):
            params["aq-strength"] = _number(strength)
    return params
