"""Where an AVI file lost frames: its index (``idx1``) checked against the chunks it points to.

A decoder skips a frame whose chunk is damaged, and AVI time stamps come from
the frame's position in the stream, so the loss does not show: every frame after
it arrives one period early. The index says where each frame's chunk must be and
how long it is; a chunk whose header does not match, or that lies beyond the
end of the file, is a frame the decoder will not deliver.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

#: The largest ``idx1`` read (16 bytes a frame: 16 million frames); a larger one is damage, not an index.
MAX_INDEX_BYTES = 2**28


@dataclass(frozen=True)
class AviIndex:
    """The video frames an AVI's ``idx1`` lists, and which of them are damaged.

    Attributes
    ----------
    n_frames : int
        Video frames the index lists (empty "drop" chunks included).
    damaged : tuple of int
        Frame numbers whose chunk header does not match the index (overwritten)
        or whose chunk ends beyond the file (truncated).
    truncated_from : int or None
        First frame whose chunk lies (partly) beyond the end of the file.
    offsets, sizes : tuple of int
        Each frame's data: where it starts in the file and how many bytes it holds.
    """

    n_frames: int
    damaged: tuple
    truncated_from: Optional[int]
    offsets: tuple = ()
    sizes: tuple = ()


def read_avi_index(path: Path) -> Optional[AviIndex]:
    """The frame index of a RIFF AVI with an ``idx1`` chunk, or None when it has none or is not one.

    Reads the top-level chunk headers, the index and eight bytes per frame (no
    frame data). Anything that does not parse gives None: the caller then falls
    back to counting frames.
    """
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(0)
            if handle.read(12)[8:12] != b"AVI " or size < 12:
                return None
            handle.seek(0)
            if handle.read(4) != b"RIFF":
                return None
            return _read_index(handle, size)
    except (OSError, struct.error):
        return None


def _read_index(handle, size: int) -> Optional[AviIndex]:
    movi = index = None
    position = 12
    while position + 8 <= size:
        handle.seek(position)
        fourcc, length = struct.unpack("<4sI", handle.read(8))
        if fourcc == b"LIST" and handle.read(4) == b"movi":
            movi = position + 8  # idx1 offsets count from the 'movi' four-cc (or from the file start)
        elif fourcc == b"idx1":
            handle.seek(position + 8)
            if length > MAX_INDEX_BYTES:
                return None
            index = handle.read(min(length, size - position - 8))
        position += 8 + length + (length & 1)
    if movi is None or index is None:
        return None
    entries = [struct.unpack_from("<4sIII", index, i) for i in range(0, len(index) - len(index) % 16, 16)]
    video = [entry for entry in entries if entry[0][2:] in (b"dc", b"db")]
    if not video:
        return None
    handle.seek(movi + video[0][2])
    base = movi if handle.read(4) == video[0][0] else 0  # absolute offsets in some writers
    damaged, truncated_from = [], None
    for number, (fourcc, _, offset, chunk_size) in enumerate(video):
        at = base + offset
        if at + 8 + chunk_size > size:
            truncated_from = number if truncated_from is None else truncated_from
            damaged.append(number)
            continue
        handle.seek(at)
        if struct.unpack("<4sI", handle.read(8)) != (fourcc, chunk_size):
            damaged.append(number)
    offsets = tuple(base + offset + 8 for _, _, offset, _ in video)
    sizes = tuple(chunk_size for _, _, _, chunk_size in video)
    return AviIndex(len(video), tuple(damaged), truncated_from, offsets, sizes)
