"""Photron recordings: a ``.cih`` (text) or ``.cihx`` (XML) header beside a ``.mraw`` file.

The ``.mraw`` file holds nothing but the frames, one after the other, in the
header's ``Color Bit`` storage: 8 bit, 16 bit little-endian, or 12 bit packed
two pixels in three bytes, most significant bits first
(``p0 = b0 << 4 | b1 >> 4``, ``p1 = (b1 & 0xF) << 8 | b2``). Its size must be
exactly ``Total Frame`` frames: a shorter file is truncated, a longer one
contradicts its header (both raise :class:`~vismic.errors.CorruptVideoError`).

Header fields read (``.cih`` name / ``.cihx`` element):

- ``Record Rate(fps)`` / ``recordInfo/recordRate``: the camera's frame rate;
- ``Save Step`` / ``frameInfo/skipFrame``: the file holds every N-th recorded
  frame, so its frames are N / record rate seconds apart and the sampling rate
  of the file is **record rate / save step**. Evidence: Photron's own headers,
  e.g. a FASTCAM SA-Z header published with pyMRAW
  (``stikalo60k_16bit.cih``: ``Record Rate(fps) : 60000``, ``Save Step : 36``,
  ``Original Total Frame : 677``, ``Total Frame : 12``): 12 frames saved with a
  step of 36 span 432 of the 677 recorded frames, which only a stride over
  the recording explains; the ``.cihx`` element is named ``skipFrame``, and it
  is 1 in ordinary full-rate saves. Public readers (pyMRAW) ignore the step and
  report the record rate, which is wrong by that factor for such files;
- ``Total Frame`` / ``frameInfo/totalFrame``: frames in the ``.mraw``;
- ``Original Total Frame`` / ``frameInfo/recordedFrame``: frames recorded;
- ``Start Frame`` / ``frameInfo/startFrame``: camera number of the first saved
  frame (the trigger frame is 0);
- ``Image Width``, ``Image Height`` / ``imageDataInfo/resolution``;
- ``Color Type`` / ``imageDataInfo/colorInfo/type``: only ``Mono`` is read;
- ``Color Bit`` / ``imageDataInfo/colorInfo/bit``: 8, 12 or 16 (storage);
- ``EffectiveBit Depth`` and ``EffectiveBit Side`` / ``imageDataInfo/effectiveBit``:
  significant bits and whether they sit in the lower or higher bits of a
  16-bit word (values are returned as stored);
- ``File Format`` / ``imageFileInfo/fileFormat``: must be ``MRaw``.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from ..errors import CorruptVideoError, VideoError
from ._camera import CameraHeader, CameraReader, FrameStore, check_packable, file_size, image_bytes

HEADER_SUFFIXES = (".cih", ".cihx")
DATA_SUFFIX = ".mraw"

_CIHX_FIELDS = {
    "Record Rate(fps)": "recordInfo/recordRate",
    "Save Step": "frameInfo/skipFrame",
    "Total Frame": "frameInfo/totalFrame",
    "Original Total Frame": "frameInfo/recordedFrame",
    "Start Frame": "frameInfo/startFrame",
    "Image Width": "imageDataInfo/resolution/width",
    "Image Height": "imageDataInfo/resolution/height",
    "Color Type": "imageDataInfo/colorInfo/type",
    "Color Bit": "imageDataInfo/colorInfo/bit",
    "EffectiveBit Depth": "imageDataInfo/effectiveBit/depth",
    "EffectiveBit Side": "imageDataInfo/effectiveBit/side",
    "File Format": "imageFileInfo/fileFormat",
    "Camera Type": "deviceInfo/deviceName",
}

_PACKINGS = {8: ("u8", "8-bit"), 12: ("p12", "12-bit packed"), 16: ("u16le", "16-bit little-endian")}


def _sibling(path: Path, suffixes) -> Optional[Path]:
    """The file beside ``path`` with the same stem and one of ``suffixes`` (any letter case)."""
    for suffix in suffixes:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    try:
        names = {name.lower(): name for name in os.listdir(path.parent or ".")}
    except OSError:
        return None
    for suffix in suffixes:
        name = names.get((path.stem + suffix).lower())
        if name is not None:
            return path.parent / name
    return None


def read_cih(path: Path) -> Dict[str, str]:
    """The ``Key : Value`` fields of a ``.cih`` text header (first occurrence of each key)."""
    file_size(path, f"Photron header {str(path)!r}")
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as error:
        raise CorruptVideoError(f"cannot read Photron header {str(path)!r}: {error.strerror or error}") from None
    fields: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" : ")
        if not sep:
            key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key and key not in fields:
            fields[key] = value.strip()
    return fields


def read_cihx(path: Path) -> Dict[str, str]:
    """The fields of a ``.cihx`` header, under their ``.cih`` names."""
    file_size(path, f"Photron header {str(path)!r}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorruptVideoError(f"cannot read Photron header {str(path)!r}: {error.strerror or error}") from None
    # The XML document may follow a binary preamble: parse from <cih> to </cih>.
    start, end = data.find(b"<cih>"), data.rfind(b"</cih>")
    if start < 0 or end < start:
        raise CorruptVideoError(f"Photron header {str(path)!r} holds no <cih> XML document")
    try:
        root = ElementTree.fromstring(data[start : end + len(b"</cih>")])
    except ElementTree.ParseError as error:
        raise CorruptVideoError(f"Photron header {str(path)!r} is not valid XML: {error}") from None
    fields = {}
    for name, element_path in _CIHX_FIELDS.items():
        element = root.find(element_path)
        if element is not None and element.text is not None:
            fields[name] = element.text.strip()
    if "Save Step" not in fields and root.find("basicInfo/skipFrame") is not None:
        fields["Save Step"] = (root.find("basicInfo/skipFrame").text or "").strip()
    return fields


def _number(fields, key, where, *, kind=int, default=None):
    value = fields.get(key)
    if value is None or value == "":
        if default is not None:
            return default
        raise CorruptVideoError(f"{where}: the header has no {key!r} field")
    try:
        number = float(value)
    except ValueError:
        match = re.match(r"\s*([-+]?\d+(\.\d*)?)", value)
        if not match:
            raise CorruptVideoError(f"{where}: the header's {key!r} is {value!r}, not a number") from None
        number = float(match.group(1))
    if not math.isfinite(number):
        raise CorruptVideoError(f"{where}: the header's {key!r} is {value!r}, not a finite number")
    return kind(number)


class PhotronReader(CameraReader):
    """A Photron ``.mraw`` recording with its ``.cih``/``.cihx`` header (given either file)."""

    def __init__(self, path: Path):
        suffix = path.suffix.lower()
        if suffix == DATA_SUFFIX:
            data_path = path
            header_path = _sibling(path, (".cihx", ".cih"))
            if header_path is None:
                raise CorruptVideoError(
                    f"Photron data file {str(path)!r} has no header beside it: looked for "
                    f"{path.stem + '.cihx'!r} and {path.stem + '.cih'!r} (the header holds the frame size, "
                    "bit depth and rate)"
                )
        else:
            header_path = path
            data_path = _sibling(path, (DATA_SUFFIX,))
            if data_path is None:
                raise CorruptVideoError(
                    f"Photron header {str(path)!r} has no data file beside it: "
                    f"{str(path.with_suffix(DATA_SUFFIX))!r} is missing"
                )
        self.path = path
        self.header_path, self.data_path = header_path, data_path
        self.where = f"Photron recording {str(data_path)!r}"
        where_header = f"Photron header {str(header_path)!r}"
        fields = read_cihx(header_path) if header_path.suffix.lower() == ".cihx" else read_cih(header_path)

        file_format = fields.get("File Format", "MRaw")
        if file_format.lower() != "mraw":
            raise VideoError(
                f"{where_header} describes {file_format!r} files, not an MRAW file; open the image "
                "files (a folder or TIFF stack) instead"
            )
        colour = fields.get("Color Type", "Mono")
        if colour.lower() != "mono":
            raise VideoError(f"{where_header} describes a {colour!r} recording; vismic reads Mono MRAW files only")
        width = _number(fields, "Image Width", where_header)
        height = _number(fields, "Image Height", where_header)
        count = _number(fields, "Total Frame", where_header)
        colour_bit = _number(fields, "Color Bit", where_header)
        if width < 1 or height < 1 or count < 1:
            raise CorruptVideoError(
                f"{where_header}: frame size {width}x{height} with {count} frames is not a recording"
            )
        if colour_bit not in _PACKINGS:
            raise CorruptVideoError(
                f"{where_header}: unknown bit depth 'Color Bit : {colour_bit}' (known: 8, 12, 16)"
            )
        packing, storage = _PACKINGS[colour_bit]
        check_packable(width, height, packing, where_header)
        effective = _number(fields, "EffectiveBit Depth", where_header, default=colour_bit)
        if not 1 <= effective <= colour_bit:
            raise CorruptVideoError(
                f"{where_header}: 'EffectiveBit Depth : {effective}' does not fit in 'Color Bit : {colour_bit}'"
            )
        record_rate = _number(fields, "Record Rate(fps)", where_header, kind=float, default=0.0)
        step = _number(fields, "Save Step", where_header, default=1)
        if step < 1:
            raise CorruptVideoError(f"{where_header}: 'Save Step : {step}' must be at least 1")

        frame_bytes = image_bytes(width, height, packing)
        size = self.data_path_size = file_size(data_path, self.where)
        # a header that promises more frames than the file holds is a truncation check_complete names;
        # only the frames the file can hold get offsets (a lying count once took gigabytes for them)
        offsets = np.arange(min(count, size // frame_bytes), dtype=np.int64) * frame_bytes
        if size > count * frame_bytes:
            whole, extra = divmod(size, frame_bytes)
            raise CorruptVideoError(
                f"{self.where} holds {size} bytes but its header {str(header_path)!r} promises {count} "
                f"frames of {width}x{height} {storage} ({frame_bytes} bytes each, {count * frame_bytes} "
                f"in all); the file has {whole} frames" + (f" and {extra} bytes" if extra else "")
                + ": the header contradicts its data"
            )
        readable = offsets.size
        self.store = FrameStore(data_path, offsets[:readable], width=width, height=height, packing=packing)
        if record_rate > 0:
            rate = record_rate / step
            # named as the header names them: a .cihx holds XML elements, not the .cih's lines
            names = (("Record Rate(fps)", "Save Step") if header_path.suffix.lower() != ".cihx"
                     else (_CIHX_FIELDS["Record Rate(fps)"], _CIHX_FIELDS["Save Step"]))
            source = (f"file header ({names[0]} {record_rate:g} / {names[1]} {step})" if step > 1
                      else f"file header ({names[0]})")
        else:
            rate, source = None, None
        start = _number(fields, "Start Frame", where_header, default=0)
        trigger = None
        if start <= 0 and -start % step == 0 and -start // step < count:
            trigger = -start // step
        self.header = CameraHeader(
            format="Photron MRAW", width=width, height=height, frame_count=count, bit_depth=effective,
            storage=storage, fps=rate, fps_source=source, first_frame_number=start, trigger_index=trigger,
            details={"header": str(header_path), "data": str(data_path), "Record Rate(fps)": record_rate,
                     "Save Step": step, "Total Frame": count,
                     "Original Total Frame": fields.get("Original Total Frame"),
                     "Start Frame": start, "Color Bit": colour_bit, "EffectiveBit Depth": effective,
                     "EffectiveBit Side": fields.get("EffectiveBit Side"),
                     "Camera Type": fields.get("Camera Type")},
        )
