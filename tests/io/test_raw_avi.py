"""Raw AVIs are read straight from the file: the same frames as OpenCV decodes, any range reached directly."""

import struct
from pathlib import Path

import numpy as np
import pytest

from vismic.io import open_video, write_video
from vismic.io._avi import read_avi_index
from vismic.io._frames import FileReader
from vismic.io._raw_avi import RawAviReader, raw_layout


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def _list(kind: bytes, payload: bytes) -> bytes:
    return _chunk(b"LIST", kind + payload)


def write_bgr_avi(path: Path, frames_rgb: np.ndarray, *, fps: int = 25, top_down: bool = False) -> Path:
    """A 24-bit BI_RGB AVI written by hand (rows padded to 4 bytes, bottom-up unless ``top_down``)."""
    n, height, width, _ = frames_rgb.shape
    row_bytes = (3 * width + 3) // 4 * 4
    avih = struct.pack("<14I", 1_000_000 // fps, 0, 0, 0x10, n, 0, 1, row_bytes * height, width, height, 0, 0, 0, 0)
    strh = b"vids" + b"\0\0\0\0" + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, n, row_bytes * height,
                                               0xFFFFFFFF, 0, 0, 0, width, height)
    strf = struct.pack("<IiiHH4sIiiII", 40, width, -height if top_down else height, 1, 24, b"\0\0\0\0",
                       row_bytes * height, 0, 0, 0, 0)
    hdrl = _list(b"hdrl", _chunk(b"avih", avih) + _list(b"strl", _chunk(b"strh", strh) + _chunk(b"strf", strf)))
    chunks, index, offset = [], [], 4
    for frame in frames_rgb:
        rows = frame[..., ::-1] if top_down else frame[::-1, :, ::-1]
        padded = np.zeros((height, row_bytes), np.uint8)
        padded[:, : 3 * width] = rows.reshape(height, 3 * width)
        chunk = _chunk(b"00db", padded.tobytes())
        index.append(struct.pack("<4sIII", b"00db", 0x10, offset, row_bytes * height))
        chunks.append(chunk)
        offset += len(chunk)
    movi = _list(b"movi", b"".join(chunks))
    body = b"AVI " + hdrl + movi + _chunk(b"idx1", b"".join(index))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize("shape", [(6, 10), (34, 50), (48, 64)])
def test_grey_raw_avi_is_mapped_and_equals_opencv(tmp_path, shape):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (9,) + shape).astype(np.uint8)
    path = write_video(tmp_path / "raw.avi", frames, codec="Y800")
    video = open_video(path, fps=1000)
    assert isinstance(video._reader, RawAviReader) and video.random_access
    mapped = np.concatenate([batch.frames for batch in video])
    decoded = np.stack(list(FileReader(path).frames((0, 0, shape[1], shape[0]))))
    np.testing.assert_array_equal(mapped, decoded)
    np.testing.assert_array_equal(mapped, frames)
    np.testing.assert_array_equal(video.read(4, 3).frames, frames[4:7])
    assert video.container_fps == pytest.approx(30.0)


@pytest.mark.parametrize("top_down", [False, True])
def test_colour_raw_avi_with_padded_rows_equals_opencv(tmp_path, top_down):
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (5, 6, 7, 3)).astype(np.uint8)  # 21 bytes a row: padded to 24
    path = write_bgr_avi(tmp_path / "bgr.avi", frames, top_down=top_down)
    assert raw_layout(path).bottom_up is not top_down
    video = open_video(path, fps=1000, roi=(1, 1, 5, 4))
    assert isinstance(video._reader, RawAviReader)
    np.testing.assert_array_equal(video._reader.read(0, 5), frames)
    decoded = np.stack(list(FileReader(path).frames((1, 1, 5, 4))))
    mapped = np.concatenate([batch.frames for batch in video])
    np.testing.assert_allclose(mapped, decoded, atol=1e-4)
    assert video.container_fps == pytest.approx(25.0)


def test_damaged_or_compressed_avis_go_to_the_decoder(tmp_path):
    frames = np.random.default_rng(3).integers(0, 256, (12, 16, 16)).astype(np.uint8)
    ffv1 = write_video(tmp_path / "ffv1.avi", frames)
    assert raw_layout(ffv1) is None
    raw = write_video(tmp_path / "raw.avi", frames, codec="Y800")
    data = bytearray(raw.read_bytes())
    at = data.find(b"00dc", data.find(b"movi")) + 3 * (8 + 256)
    data[at : at + 8] = b"\xff" * 8  # frame 3's chunk header overwritten
    raw.write_bytes(bytes(data))
    assert isinstance(open_video(raw, fps=1000)._reader, FileReader)
    assert raw_layout(tmp_path / "missing.avi") is None


def test_read_stored_gives_the_same_values_as_read(tmp_path):
    frames = np.random.default_rng(4).integers(0, 256, (20, 24, 32)).astype(np.uint8)
    path = write_video(tmp_path / "raw.avi", frames, codec="Y800")
    video = open_video(path, fps=1000, roi=(4, 2, 20, 16))
    stored = video.read_stored(5, 7)
    assert stored.dtype == np.uint8
    np.testing.assert_array_equal(stored.astype(np.float32), video.read(5, 7).frames)
    halved = open_video(path, fps=1000, downsample=2)  # converted frames: read's float32
    np.testing.assert_array_equal(halved.read_stored(0, 3), halved.read(0, 3).frames)


def test_reads_into_a_buffer_reuse_its_memory_and_give_the_same_frames(tmp_path):
    from vismic.io._raw_avi import ReadBuffer

    frames = np.random.default_rng(5).integers(0, 256, (20, 24, 32)).astype(np.uint8)
    path = write_video(tmp_path / "raw.avi", frames, codec="Y800")
    video = open_video(path, fps=1000, roi=(4, 2, 20, 16))
    buffer = ReadBuffer()
    first = video.read_stored(0, 8, into=buffer)
    np.testing.assert_array_equal(first, frames[:8, 2:18, 4:24])
    second = video.read_stored(8, 8, into=buffer)  # the same memory, filled again
    assert np.shares_memory(first, second)
    np.testing.assert_array_equal(second, frames[8:16, 2:18, 4:24])
    np.testing.assert_array_equal(video.read_stored(12, 8, into=buffer), frames[12:20, 2:18, 4:24])
    longer = video.read_stored(0, 20, into=buffer)  # grown for a longer read
    np.testing.assert_array_equal(longer, frames[:, 2:18, 4:24])



def write_opendml_avi(path: Path, frames: np.ndarray, first_part: int, *, fps: int = 30) -> Path:
    """An 8-bit grey OpenDML AVI written by hand, as writers make files over 1 GB.

    Frames ``[:first_part]`` lie in the 'AVI ' RIFF part, the rest in an 'AVIX'
    part; each part's movi list ends with its standard index (``ix00``), the
    stream header holds the super index (``indx``) naming both, and ``idx1``
    lists only the first part's frames.
    """
    n, height, width = frames.shape
    size = height * width
    parts = [frames[:first_part], frames[first_part:]]

    def build(index_places):
        avih = struct.pack("<14I", 1_000_000 // fps, 0, 0, 0x10, first_part, 0, 1, size, width, height, 0, 0, 0, 0)
        strh = b"vids" + b"Y800" + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, n, size,
                                                0xFFFFFFFF, 0, 0, 0, width, height)
        strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 8, b"Y800", size, 0, 0, 0, 0)
        indx = struct.pack("<HBBI4s12x", 4, 0, 0, len(parts), b"00dc") + b"".join(
            struct.pack("<QII", at, length, len(part)) for (at, length), part in zip(index_places, parts))
        hdrl = _list(b"hdrl", _chunk(b"avih", avih) + _list(b"strl", _chunk(b"strh", strh) + _chunk(b"strf", strf)
                                                             + _chunk(b"indx", indx)))
        odml = _list(b"odml", _chunk(b"dmlh", struct.pack("<I", n)))
        out = bytearray(b"RIFF\0\0\0\0AVI " + hdrl + odml)
        places, idx1 = [], []
        for number, part in enumerate(parts):
            if number:
                riff = len(out)
                out += b"RIFF\0\0\0\0AVIX"
            movi = len(out) + 8
            out += b"LIST\0\0\0\0movi"
            entries = []
            for frame in part:
                if number == 0:
                    idx1.append(struct.pack("<4sIII", b"00dc", 0x10, len(out) - movi, size))
                entries.append(struct.pack("<II", len(out) + 8 - movi, size))
                out += _chunk(b"00dc", frame.tobytes())
            places.append((len(out), 8 + 24 + 8 * len(part)))
            out += _chunk(b"ix00", struct.pack("<HBBI4sQI", 2, 0, 1, len(part), b"00dc", movi, 0) + b"".join(entries))
            struct.pack_into("<I", out, movi - 4, len(out) - movi)
            if number == 0:
                out += _chunk(b"idx1", b"".join(idx1))
                struct.pack_into("<I", out, 4, len(out) - 8)
            else:
                struct.pack_into("<I", out, riff + 4, len(out) - riff - 8)
        return bytes(out), places

    _, places = build([(0, 0)] * len(parts))
    data, _ = build(places)
    path.write_bytes(data)
    return path


def test_an_opendml_avi_is_read_whole_across_its_riff_parts(tmp_path):
    frames = np.random.default_rng(5).integers(0, 256, (11, 12, 16)).astype(np.uint8)
    path = write_opendml_avi(tmp_path / "odml.avi", frames, first_part=7)
    video = open_video(path, fps=1000)
    assert isinstance(video._reader, RawAviReader) and video._reader.count() == 11
    np.testing.assert_array_equal(np.concatenate([batch.frames for batch in video]), frames)
    np.testing.assert_array_equal(video.read(5, 4).frames, frames[5:9])  # across the parts
    assert video._reader.read(11, 3).shape == (0, 12, 16)  # past the end: no frames, no error
    decoded = np.stack(list(FileReader(path).frames((0, 0, 16, 12))))
    np.testing.assert_array_equal(decoded, frames)  # and OpenCV reads the hand-written file the same


def test_an_opendml_avi_with_an_unreadable_part_index_goes_to_the_decoder(tmp_path):
    frames = np.random.default_rng(6).integers(0, 256, (9, 8, 8)).astype(np.uint8)
    path = write_opendml_avi(tmp_path / "odml.avi", frames, first_part=5)
    data = bytearray(path.read_bytes())
    at = data.rfind(b"ix00")
    data[at: at + 4] = b"JUNK"  # the second part's index overwritten: idx1 covers only the first part
    path.write_bytes(bytes(data))
    index = read_avi_index(path)
    assert index.n_frames == 5 and not index.complete
    assert isinstance(open_video(path, fps=1000)._reader, FileReader)


def test_an_avi_whose_riff_size_was_never_written_keeps_its_index(tmp_path):
    frames = np.random.default_rng(7).integers(0, 256, (10, 16, 24)).astype(np.uint8)
    path = write_video(tmp_path / "raw.avi", frames, codec="Y800")
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 0)  # a writer that stopped before finishing the header
    path.write_bytes(bytes(data))
    index = read_avi_index(path)
    assert index.n_frames == 10 and index.complete and not index.damaged
