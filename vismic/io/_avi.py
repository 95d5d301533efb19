"""Where an AVI file lost frames: its index (``idx1``, or OpenDML's ``ix00``) checked against the chunks it points to.

A decoder skips a frame whose chunk is damaged, and AVI time stamps come from
the frame's position in the stream, so the loss does not show: every frame after
it arrives one period early. The index says where each frame's chunk must be and
how long it is; a chunk whose header does not match, or that lies beyond the
end of the file, is a frame the decoder will not deliver.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

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
    except (OSError, ValueError, OverflowError, struct.error):
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
    if video is None or not len(video[1]):
        return None
    ids, offsets, sizes = video
    damaged, truncated_from = _damaged(handle, ids, offsets, sizes, size)
    return AviIndex(len(offsets), damaged, truncated_from, tuple(offsets.tolist()), tuple(sizes.tolist()), complete)


#: Frames whose chunk headers are read through one memory map (bounds the pages it maps).
_CHECK_FRAMES = 256


def _damaged(handle, ids: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, size: int) -> tuple:
    """``(damaged frame numbers, first truncated frame or None)``: chunks past the end, or whose header differs.

    Each frame's 8-byte chunk header (four-cc and length) is read through a memory
    map of the stretch of file that a slice of :data:`_CHECK_FRAMES` frames spans,
    marked for random access so that a header maps its own page only (a seek and
    a read per frame made this most of the time it took to open a long raw AVI;
    one map of the whole file left its pages in the process's resident memory).
    """
    truncated = offsets + sizes > size
    if np.any(offsets[~truncated] < 8):
        raise OSError("an index entry points before the start of the file")
    mismatch = np.zeros(len(offsets), dtype=bool)
    inside = np.flatnonzero(~truncated)
    granularity = mmap.ALLOCATIONGRANULARITY
    for first in range(0, len(inside), _CHECK_FRAMES):
        frames = inside[first: first + _CHECK_FRAMES]
        starts = offsets[frames] - 8
        low = int(starts.min()) // granularity * granularity
        mapped = mmap.mmap(handle.fileno(), int(starts.max()) + 8 - low, access=mmap.ACCESS_READ, offset=low)
        view = None
        try:
            if hasattr(mapped, "madvise") and hasattr(mmap, "MADV_RANDOM"):
                mapped.madvise(mmap.MADV_RANDOM)
            view = np.frombuffer(mapped, dtype=np.uint8)
            headers = view[(starts - low)[:, None] + np.arange(8)]  # a copy
        finally:
            view = None  # the map cannot close while an array refers to it
            mapped.close()
        lengths = headers[:, 4:].copy().view("<u4")[:, 0]
        mismatch[frames] = np.any(headers[:, :4] != ids[frames], axis=1) | (lengths != sizes[frames])
    damaged = np.flatnonzero(truncated | mismatch)
    first_truncated = np.flatnonzero(truncated)
    return tuple(damaged.tolist()), (int(first_truncated[0]) if first_truncated.size else None)


def _idx1_entries(handle, index: bytes, movi: int) -> Optional[tuple]:
    """``(four-cc bytes (n, 4) uint8, data offsets, sizes)`` of the video frames ``idx1`` lists (int64), or None."""
    entries = np.frombuffer(index, dtype=np.uint8, count=len(index) - len(index) % 16).reshape(-1, 16)
    kind = entries[:, 2:4]
    video = entries[((kind[:, 0] == ord("d")) & ((kind[:, 1] == ord("c")) | (kind[:, 1] == ord("b"))))]
    if not len(video):
        return None
    words = video[:, 4:].copy().view("<u4").astype(np.int64)  # flags, offset, size
    handle.seek(movi + int(words[0, 1]))
    base = movi if handle.read(4) == video[0, :4].tobytes() else 0  # absolute offsets in some writers
    return np.ascontiguousarray(video[:, :4]), base + words[:, 1] + 8, words[:, 2]


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


def _standard_index_entries(handle, super_index: tuple, size: int) -> Optional[tuple]:
    """As :func:`_idx1_entries`, for every frame the standard indexes list; None if one is unreadable."""
    chunk_id, parts = super_index
    offsets, sizes = [], []
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
        pairs = np.frombuffer(payload, dtype="<u4", count=2 * in_use, offset=24).reshape(-1, 2).astype(np.int64)
        offsets.append(base + pairs[:, 0])
        sizes.append(pairs[:, 1] & 0x7FFFFFFF)  # bit 31 of a size marks a frame that is not a key frame
    offsets = np.concatenate(offsets) if offsets else np.zeros(0, np.int64)
    ids = np.broadcast_to(np.frombuffer(chunk_id, dtype=np.uint8), (len(offsets), 4))
    return ids, offsets, np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
