"""Phantom .cine files: round trips at every bit depth, header metadata, frame ranges, bad files."""

import os
import struct
import warnings

import numpy as np
import pytest

from camera_writers import CINE_SETUP_LENGTH, write_cine
from vismic.errors import CorruptVideoError, ParameterError, VideoError, VismicWarning
from vismic.io import frame_count, open_video, read_frames

DEPTHS = {"u8": 8, "u16": 12, "p10": 10, "p12": 12}


def _frames(rng, packing, n=10, h=12, w=16):
    return rng.integers(0, 2 ** DEPTHS[packing], (n, h, w)).astype(np.uint8 if packing == "u8" else np.uint16)


@pytest.mark.parametrize("packing", ["u8", "u16", "p10", "p12"])
def test_round_trip_is_bit_exact(tmp_path, rng, packing):
    frames = _frames(rng, packing)
    path = write_cine(tmp_path / "clip.cine", frames, packing=packing)
    video = open_video(path)
    raw = video._reader.read(0, len(frames))
    assert raw.dtype == (np.uint8 if packing == "u8" else np.uint16)
    np.testing.assert_array_equal(raw, frames)
    np.testing.assert_array_equal(read_frames(path), frames)
    assert video.header.bit_depth == DEPTHS[packing]
    assert frame_count(path) == 10


@pytest.mark.parametrize("packing", ["u8", "u16", "p10", "p12"])
def test_vertical_flip_flag_is_honoured(tmp_path, rng, packing):
    frames = _frames(rng, packing, n=3)
    path = write_cine(tmp_path / "flip.cine", frames, packing=packing, flip_v=1)
    np.testing.assert_array_equal(read_frames(path), frames)
    assert open_video(path).header.details["bottom_up"] == (packing in ("p10", "p12"))


@pytest.mark.parametrize("packing", ["u8", "u16"])
def test_rows_padded_to_four_bytes(tmp_path, rng, packing):
    frames = _frames(rng, packing, n=4, h=5, w=13)
    path = write_cine(tmp_path / "padded.cine", frames, packing=packing, pad_rows=True)
    np.testing.assert_array_equal(read_frames(path), frames)


def test_16bit_keeps_values_above_12_bits(tmp_path, rng):
    frames = rng.integers(0, 65536, (4, 8, 8)).astype(np.uint16)
    path = write_cine(tmp_path / "deep.cine", frames, packing="u16", real_bpp=16)
    np.testing.assert_array_equal(read_frames(path), frames)


def test_rate_range_and_trigger_come_from_the_header(tmp_path, rng):
    path = write_cine(tmp_path / "clip.cine", _frames(rng, "u8"), fps=6400, first_image_no=-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        video = open_video(path)
    assert video.fps == 6400 and video.fps_source == "file header (SETUP.FrameRate)"
    header = video.header
    assert header.format == "Phantom cine" and (header.width, header.height) == (16, 12)
    assert header.frame_count == 10 and header.first_frame_number == -4 and header.trigger_index == 4
    assert video.frame_count_hint == 10 and video.container_fps is None
    assert all(batch.fps == 6400 for batch in video)


def test_old_16bit_frame_rate_field_is_used_when_the_32bit_one_is_empty(tmp_path, rng):
    path = write_cine(tmp_path / "old.cine", _frames(rng, "u8", n=2), fps=0, frame_rate16=1000)
    video = open_video(path)
    assert video.fps == 1000 and video.fps_source == "file header (SETUP.FrameRate16)"


def test_a_given_fps_is_used_and_a_contradiction_warned(tmp_path, rng):
    path = write_cine(tmp_path / "clip.cine", _frames(rng, "u8", n=3), fps=6400)
    with pytest.warns(VismicWarning, match=r"fps=5000 contradicts the capture rate of 6400 fps") as record:
        video = open_video(path, fps=5000)
    assert str(path) in str(record[0].message)
    assert video.fps == 5000 and video.fps_source == "argument"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_video(path, fps=6400).fps == 6400


def test_frame_ranges_batches_roi_and_downsample_match_the_array(tmp_path, rng):
    frames = _frames(rng, "p12", n=23, h=16, w=20)
    path = write_cine(tmp_path / "clip.cine", frames, packing="p12", uneven=True)
    video = open_video(path, batch_size=8, roi=(2, 3, 16, 12), downsample=2)
    reference = open_video(frames, fps=2200, batch_size=8, roi=(2, 3, 16, 12), downsample=2)
    got, want = list(video), list(reference)
    assert [(len(b), b.start) for b in got] == [(8, 0), (8, 8), (7, 16)]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.frames, b.frames)
    part = video.read(5, 7)
    assert part.start == 5 and len(part) == 7
    np.testing.assert_array_equal(part.frames, reference.read(5, 7).frames)
    assert len(video.read(20, 50)) == 3  # cut at the end
    with pytest.raises(ParameterError, match="past the last frame"):
        video.read(23, 1)
    with pytest.raises(ParameterError, match="start=-1"):
        video.read(-1, 2)
    with pytest.raises(ParameterError, match="count=0"):
        video.read(0, 0)
    assert len(list(open_video(path, max_frames=5).frames())) == 5


# --------------------------------------------------------------------------- bad files


def _truncate(path, n_bytes):
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) - n_bytes)


def test_truncated_file_is_refused_and_says_how_many_frames_it_holds(tmp_path, rng):
    frames = _frames(rng, "u16", n=10)
    path = write_cine(tmp_path / "cut.cine", frames, packing="u16")
    _truncate(path, 3 * (12 * 16 * 2 + 8) + 100)  # loses the last 3 frames and a bit
    with pytest.raises(CorruptVideoError, match=r"truncated.*promises 10 frames.*only 6 whole frames") as info:
        open_video(path)
    assert str(path) in str(info.value) and "max_frames=6" in str(info.value)
    with pytest.raises(CorruptVideoError, match="truncated"):
        frame_count(path)
    with pytest.raises(CorruptVideoError, match="truncated"):
        open_video(path, max_frames=7)
    np.testing.assert_array_equal(read_frames(path, max_frames=6), frames[:6])


def test_file_cut_inside_its_offset_table(tmp_path, rng):
    path = write_cine(tmp_path / "cut.cine", _frames(rng, "u8", n=4))
    with open(path, "r+b") as file:
        file.truncate(84 + CINE_SETUP_LENGTH + 12)
    with pytest.raises(CorruptVideoError, match=r"truncated.*offset table"):
        open_video(path)


def test_header_contradicting_the_image_size(tmp_path, rng):
    path = write_cine(tmp_path / "bad.cine", _frames(rng, "u8", n=3), image_size=100)
    with pytest.raises(CorruptVideoError, match=r"image 0 says it holds 100 bytes.*contradicts"):
        open_video(path)


@pytest.mark.parametrize("kwargs, message", [
    (dict(bi_bit_count=12), "unknown bit depth biBitCount=12"),
    (dict(bi_compression=7), "unknown pixel packing biCompression=7"),
])
def test_unknown_bit_depth_or_packing(tmp_path, rng, kwargs, message):
    path = write_cine(tmp_path / "odd.cine", _frames(rng, "u8", n=2), **kwargs)
    with pytest.raises(CorruptVideoError, match=message):
        open_video(path)


def test_colour_and_other_files_are_refused_clearly(tmp_path, rng):
    colour = write_cine(tmp_path / "colour.cine", _frames(rng, "u8", n=2), compression=2)
    with pytest.raises(VideoError, match="Bayer"):
        open_video(colour)
    fake = tmp_path / "fake.cine"
    fake.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(CorruptVideoError, match="not a Phantom cine file"):
        open_video(fake)
    with pytest.raises(CorruptVideoError):
        (tmp_path / "empty.cine").write_bytes(b"")
        open_video(tmp_path / "empty.cine")


def test_bad_annotation_block(tmp_path, rng):
    path = write_cine(tmp_path / "bad.cine", _frames(rng, "u8", n=2))
    table = 84 + CINE_SETUP_LENGTH
    with open(path, "r+b") as file:
        file.seek(table)
        first = struct.unpack("<q", file.read(8))[0]
        file.seek(first)
        file.write(struct.pack("<I", 3))
    with pytest.raises(CorruptVideoError, match="annotation block of 3 bytes"):
        open_video(path)


def test_non_utf8_file_name(tmp_path, rng):
    frames = _frames(rng, "u8", n=2)
    name = os.fsdecode(b"clip-\xff\xfe.cine")
    path = write_cine(tmp_path / name, frames)
    np.testing.assert_array_equal(read_frames(path), frames)
    _truncate(path, 10)
    with pytest.raises(CorruptVideoError, match="truncated"):
        open_video(path)
