"""Where an AVI file lost frames: its index (``idx1``, or OpenDML's ``ix00``) checked against the chunks it points to.

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
#: ``bIndexType`` of an OpenDML super index (``indx``) and of the standard indexes it names (``ix00``).
_INDEX_OF_INDEXES, _INDEX_OF_CHUNKS = 0, 1


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
    complete : bool
        Whether the index lists every frame of the file. False for an OpenDML
        file whose ``ix00`` indexes are unreadable: its ``idx1`` covers only the
        first RIFF part.
    """

    n_frames: int
    damaged: tuple
    truncated_from: Optional[int]
    offsets: tuple = ()
    sizes: tuple = ()
    complete: bool = True


def read_avi_index(path: Path) -> Optional[AviIndex]:
    """The frame index of a RIFF AVI, or None when it has none or is not one.

    An OpenDML ("AVI 2.0") file, which every writer makes once a file passes
    1 GB, lists its frames in standard indexes (``ix00``) that its super index
    (``indx``) names, across all its RIFF parts; a plain one in ``idx1``, which
    covers only the first part. Reads the chunk headers, the indexes and eight
    bytes per frame (no frame data). Anything that does not parse gives None:
    the caller then falls back to counting frames.
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
    movi = index = super_index = None
    parts = 0
    position = 0
    while position + 8 <= size:  # the RIFF parts: 'AVI ', then 'AVIX' ones in OpenDML files
        handle.seek(position)
        fourcc, length = struct.unpack("<4sI", handle.read(8))
        if fourcc != b"RIFF":
            break
        parts += 1
        # a part whose size runs past the file or was never written (truncated, an unfinished writer) goes to the end
        end = position + 8 + length if 4 <= length <= size - position - 8 else size
        chunk = position + 12
        while chunk + 8 <= end:
            handle.seek(chunk)
            fourcc, chunk_length = struct.unpack("<4sI", handle.read(8))
            if fourcc == b"LIST":
                kind = handle.read(4)
                if kind == b"movi" and movi is None:
                    movi = chunk + 8  # idx1 offsets count from the 'movi' four-cc (or from the file start)
                elif kind == b"hdrl" and parts == 1:
                    stream = video_stream_chunks(handle, chunk + 12, min(chunk + 8 + chunk_length, end))
                    super_index = _super_index(stream.get(b"indx")) if stream else None
            elif fourcc == b"idx1" and parts == 1:
                if chunk_length > MAX_INDEX_BYTES:
                    return None
                index = handle.read(min(chunk_length, size - chunk - 8))
            chunk += 8 + chunk_length + (chunk_length & 1)
        position += 8 + length + (length & 1)
    if super_index is not None:
        video = _standard_index_entries(handle, super_index, size)
        complete = video is not None
    else:
        video = None
        complete = parts == 1
    if video is None:
        if movi is None or index is None:
            return None
        video = _idx1_entries(handle, index, movi)
    if not video:
        return None
    damaged, truncated_from = [], None
    for number, (fourcc, at, chunk_size) in enumerate(video):
        if at + chunk_size > size:
            truncated_from = number if truncated_from is None else truncated_from
            damaged.append(number)
            continue
        handle.seek(at - 8)
        if struct.unpack("<4sI", handle.read(8)) != (fourcc, chunk_size):
            damaged.append(number)
    offsets = tuple(at for _, at, _ in video)
    sizes = tuple(chunk_size for _, _, chunk_size in video)
    return AviIndex(len(video), tuple(damaged), truncated_from, offsets, sizes, complete)


def _idx1_entries(handle, index: bytes, movi: int) -> list:
    """``(fourcc, data offset, size)`` of the video frames ``idx1`` lists."""
    entries = [struct.unpack_from("<4sIII", index, i) for i in range(0, len(index) - len(index) % 16, 16)]
    video = [entry for entry in entries if entry[0][2:] in (b"dc", b"db")]
    if not video:
        return []
    handle.seek(movi + video[0][2])
    base = movi if handle.read(4) == video[0][0] else 0  # absolute offsets in some writers
    return [(fourcc, base + offset + 8, chunk_size) for fourcc, _, offset, chunk_size in video]


#: Most bytes kept of a stream header chunk other than ``indx`` (``strh`` holds 56, a video ``strf`` 40 and a palette).
_HEADER_BYTES = 1024


def first_video_stream(handle, size: int) -> Optional[dict]:
    """``{four-cc: payload}`` of the first video stream's header chunks in a RIFF AVI, or None.

    Walks the top-level chunks to the ``hdrl`` list (the headers come before the
    frames) and returns what :func:`video_stream_chunks` finds there.
    """
    position = 12
    while position + 8 <= size:
        handle.seek(position)
        fourcc, length = struct.unpack("<4sI", handle.read(8))
        if fourcc == b"LIST":
            kind = handle.read(4)
            if kind == b"hdrl":
                return video_stream_chunks(handle, position + 12, min(position + 8 + length, size))
            if kind == b"movi":
                return None
        position += 8 + length + (length & 1)
    return None


def video_stream_chunks(handle, start: int, end: int) -> Optional[dict]:
    """``{four-cc: payload}`` (``strh``, ``strf``, ``indx``, ...) of the first video stream of the
    ``hdrl`` list whose contents span ``start:end`` of the file, or None when it has none."""
    position = start
    while position + 8 <= end:
        handle.seek(position)
        fourcc, length = struct.unpack("<4sI", handle.read(8))
        if fourcc == b"LIST" and handle.read(4) == b"strl":
            chunks = _chunks(handle, position + 12, position + 8 + length)
            if chunks.get(b"strh", b"")[:4] == b"vids":
                return chunks
        position += 8 + length + (length & 1)
    return None


def _chunks(handle, start: int, end: int) -> dict:
    found, position = {}, start
    while position + 8 <= end:
        handle.seek(position)
        fourcc, length = struct.unpack("<4sI", handle.read(8))
        found.setdefault(fourcc, handle.read(min(length, MAX_INDEX_BYTES if fourcc == b"indx" else _HEADER_BYTES)))
        position += 8 + length + (length & 1)
    return found


def _super_index(payload: Optional[bytes]) -> Optional[tuple]:
    """``(chunk id, [(offset, size) of each standard index])`` of an ``indx`` payload, or None (none, or malformed)."""
    if payload is None or len(payload) < 24:
        return None
    per_entry, _, kind, in_use, chunk_id = struct.unpack_from("<HBBI4s", payload, 0)
    if kind != _INDEX_OF_INDEXES or per_entry != 4 or 24 + 16 * in_use > len(payload):
        return None
    return chunk_id, [struct.unpack_from("<QI", payload, 24 + 16 * i) for i in range(in_use)]


def _standard_index_entries(handle, super_index: tuple, size: int) -> Optional[list]:
    """``(fourcc, data offset, size)`` of every frame the standard indexes list, or None if one is unreadable."""
    chunk_id, parts = super_index
    video = []
    for offset, length in parts:
        if offset + 8 + 24 > size or length > MAX_INDEX_BYTES:
            return None
        handle.seek(offset)
        fourcc, chunk_length = struct.unpack("<4sI", handle.read(8))
        if fourcc[:2] != b"ix" or not 24 <= chunk_length <= MAX_INDEX_BYTES:
            return None
        payload = handle.read(chunk_length)
        per_entry, _, kind, in_use, part_id, base = struct.unpack_from("<HBBI4sQ", payload, 0)
        if kind != _INDEX_OF_CHUNKS or per_entry != 2 or part_id != chunk_id or 24 + 8 * in_use > len(payload):
            return None
        # bit 31 of a size marks a frame that is not a key frame
        video.extend((chunk_id, base + at, chunk_size & 0x7FFFFFFF)
                     for at, chunk_size in struct.iter_unpack("<II", payload[24: 24 + 8 * in_use]))
    return video
