"""Writers of small camera files for the tests and the formats benchmark.

They follow the layouts vismic's readers implement from the formats'
documentation (see ``vismic/io/_cine.py`` and ``vismic/io/_photron.py``), but
pack bits independently (bit by bit with ``np.packbits``), so that a packing
mistake in the reader cannot cancel out with the same mistake here.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

CINE_SETUP_LENGTH = 0x163C


def pack_msb_first(values: np.ndarray, bits: int) -> bytes:
    """Values as consecutive ``bits``-bit fields, most significant bit first."""
    flat = np.asarray(values, dtype=np.uint32).ravel()
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint32)
    bit_array = ((flat[:, None] >> shifts) & 1).astype(np.uint8).ravel()
    return np.packbits(bit_array).tobytes()


def _cine_pixels(frame: np.ndarray, packing: str, bottom_up: bool, pad_rows: bool) -> bytes:
    rows = frame[::-1] if bottom_up else frame
    if packing in ("u8", "u16"):
        data = rows.astype(np.uint8 if packing == "u8" else "<u2").view(np.uint8).reshape(len(rows), -1)
        if pad_rows:  # Windows DIB rows: padded to a multiple of 4 bytes
            data = np.pad(data, ((0, 0), (0, -data.shape[1] % 4)), constant_values=0xEE)
        return data.tobytes()
    return pack_msb_first(rows, {"p10": 10, "p12": 12}[packing])


def write_cine(path, frames, *, packing="u8", fps=2200, real_bpp=None, first_image_no=0,
               flip_v=0, annotation_bytes=8, uneven=False, frame_rate16=None,
               bi_bit_count=None, bi_compression=None, image_size=None, compression=0, pad_rows=False):
    """Write ``frames`` (n, h, w) as a Phantom cine file; returns the path.

    ``packing`` is 'u8', 'u16' (unpacked), 'p10' or 'p12' (packed). Unpacked
    frames are stored bottom row first unless ``flip_v``; packed ones top row
    first unless ``flip_v`` (what vismic's reader expects). ``uneven`` puts
    annotation blocks of different sizes before the images; ``pad_rows`` pads
    unpacked rows to 4 bytes as a Windows DIB does.
    """
    frames = np.asarray(frames)
    n, h, w = frames.shape
    bits = {"u8": 8, "u16": 16, "p10": 10, "p12": 12}[packing]
    if bi_bit_count is None:
        bi_bit_count = {"u8": 8, "u16": 16, "p10": 16, "p12": 16}[packing]
    if bi_compression is None:
        bi_compression = {"u8": 0, "u16": 0, "p10": 256, "p12": 1024}[packing]
    if real_bpp is None:
        real_bpp = {"u8": 8, "u16": 12, "p10": 10, "p12": 12}[packing]
    frame_bytes = w * h * bits // 8
    if pad_rows:
        frame_bytes = h * ((w * bits // 8 + 3) // 4 * 4)
    bottom_up = (packing in ("u8", "u16")) != bool(flip_v)

    off_bitmap, off_setup = 44, 84
    off_table = off_setup + CINE_SETUP_LENGTH
    images_start = off_table + 8 * n
    blobs, offsets, position = [], [], images_start
    for index, frame in enumerate(frames):
        annotation = annotation_bytes + (4 * (index % 3) if uneven else 0)
        pixels = _cine_pixels(frame, packing, bottom_up, pad_rows)
        size_field = frame_bytes if image_size is None else image_size
        blob = struct.pack("<I", annotation) + bytes(annotation - 8) + struct.pack("<I", size_field) + pixels
        offsets.append(position)
        blobs.append(blob)
        position += len(blob)

    header = b"CI" + struct.pack("<HHHiIiIIII", 44, compression, 1, first_image_no, n, first_image_no, n,
                                 off_bitmap, off_setup, off_table) + struct.pack("<II", 0, 0)
    bitmap = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bi_bit_count, bi_compression, frame_bytes, 0, 0, 0, 0)
    setup = bytearray(CINE_SETUP_LENGTH)
    struct.pack_into("<H", setup, 0, int(fps if frame_rate16 is None else frame_rate16) & 0xFFFF)
    struct.pack_into("<HH", setup, 140, 0x5453, CINE_SETUP_LENGTH)
    struct.pack_into("<I", setup, 760, flip_v)
    struct.pack_into("<I", setup, 768, int(fps))
    struct.pack_into("<I", setup, 896, real_bpp)
    with open(path, "wb") as file:
        file.write(header + bitmap + bytes(setup) + np.asarray(offsets, dtype="<i8").tobytes())
        for blob in blobs:
            file.write(blob)
    return Path(path)


def _mraw_bytes(frames: np.ndarray, bits: int) -> bytes:
    if bits == 8:
        return frames.astype(np.uint8).tobytes()
    if bits == 16:
        return frames.astype("<u2").tobytes()
    return pack_msb_first(frames, 12)


def write_photron(stem, frames, *, bits=16, record_rate=20000, save_step=1, effective_bits=None,
                  start_frame=0, xml=False, colour="Mono", file_format="MRaw", total_frames=None,
                  write_data=True):
    """Write ``frames`` as ``stem.mraw`` with a ``stem.cih`` (or ``.cihx`` when ``xml``) header.

    Returns ``(header_path, data_path)``.
    """
    frames = np.asarray(frames)
    n, h, w = frames.shape
    stem = Path(stem)
    data_path = stem.with_suffix(".mraw")
    if write_data:
        data_path.write_bytes(_mraw_bytes(frames, bits))
    effective = bits if effective_bits is None else effective_bits
    total = n if total_frames is None else total_frames
    if xml:
        header_path = stem.with_suffix(".cihx")
        document = f"""<?xml version="1.0" encoding="utf-8"?>
<cih>
  <fileInfo><date>2026/12/1</date></fileInfo>
  <deviceInfo><deviceName>FASTCAM test</deviceName></deviceInfo>
  <recordInfo><recordRate>{record_rate}</recordRate><shutterSpeed>1</shutterSpeed></recordInfo>
  <frameInfo>
    <recordedFrame>{total * save_step}</recordedFrame>
    <totalFrame>{total}</totalFrame>
    <startFrame>{start_frame}</startFrame>
    <skipFrame>{save_step}</skipFrame>
  </frameInfo>
  <imageDataInfo>
    <resolution><width>{w}</width><height>{h}</height></resolution>
    <colorInfo><type>{colour}</type><bit>{bits}</bit></colorInfo>
    <effectiveBit><depth>{effective}</depth><side>Lower</side></effectiveBit>
  </imageDataInfo>
  <imageFileInfo><fileFormat>{file_format}</fileFormat></imageFileInfo>
</cih>
"""
        # Real .cihx files carry a binary preamble before the XML document.
        header_path.write_bytes(b"\x00\x01\xfe" + document.encode("utf-8"))
    else:
        header_path = stem.with_suffix(".cih")
        lines = [
            "#Camera Information Header",
            "Camera Type : FASTCAM test",
            f"Record Rate(fps) : {record_rate}",
            f"Original Total Frame : {total * save_step}",
            f"Total Frame : {total}",
            f"Start Frame : {start_frame}",
            f"Save Step : {save_step}",
            f"Image Width : {w}",
            f"Image Height : {h}",
            f"Color Type : {colour}",
            f"Color Bit : {bits}",
            f"File Format : {file_format}",
            f"EffectiveBit Depth : {effective}",
            "EffectiveBit Side : Lower",
            "",
            "END",
        ]
        header_path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return header_path, data_path
