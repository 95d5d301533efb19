"""Photron .cih/.cihx + .mraw: round trips at 8/12/16 bit, rates and save step, frame ranges, bad files."""

import os
import warnings

import numpy as np
import pytest

from camera_writers import write_photron
from vismic.errors import CorruptVideoError, VideoError, VismicWarning
from vismic.io import frame_count, open_video, read_frames


def _frames(rng, bits, n=9, h=10, w=14):
    return rng.integers(0, 2 ** bits, (n, h, w)).astype(np.uint8 if bits == 8 else np.uint16)


@pytest.mark.parametrize("xml", [False, True], ids=["cih", "cihx"])
@pytest.mark.parametrize("bits", [8, 12, 16])
def test_round_trip_is_bit_exact_from_header_or_data_file(tmp_path, rng, bits, xml):
    frames = _frames(rng, bits)
    header, data = write_photron(tmp_path / "rec", frames, bits=bits, xml=xml)
    for path in (header, data):
        video = open_video(path)
        raw = video._reader.read(0, len(frames))
        assert raw.dtype == (np.uint8 if bits == 8 else np.uint16)
        np.testing.assert_array_equal(raw, frames)
        np.testing.assert_array_equal(read_frames(path), frames)
        assert video.header.bit_depth == bits and video.header.format == "Photron MRAW"
        assert frame_count(path) == len(frames)


def test_rate_from_header_and_save_step(tmp_path, rng):
    header, _ = write_photron(tmp_path / "full", _frames(rng, 8, n=3), bits=8, record_rate=20000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        video = open_video(header)
    assert video.fps == 20000 and video.fps_source == "file header (Record Rate(fps))"
    for xml in (False, True):
        header, _ = write_photron(tmp_path / f"step{xml}", _frames(rng, 8, n=3), bits=8,
                                  record_rate=60000, save_step=36, xml=xml)
        video = open_video(header)
        assert video.fps == pytest.approx(60000 / 36)
        assert video.fps_source == ("file header (recordInfo/recordRate 60000 / frameInfo/skipFrame 36)" if xml
                                    else "file header (Record Rate(fps) 60000 / Save Step 36)")
        assert video.header.details["Save Step"] == 36


def test_trigger_and_first_frame_number(tmp_path, rng):
    header, _ = write_photron(tmp_path / "rec", _frames(rng, 8, n=10), bits=8, start_frame=-6, save_step=2)
    video = open_video(header)
    assert video.header.first_frame_number == -6 and video.header.trigger_index == 3


def test_effective_bits_in_16bit_words(tmp_path, rng):
    frames = _frames(rng, 12)
    header, _ = write_photron(tmp_path / "rec", frames, bits=16, effective_bits=12)
    video = open_video(header)
    assert video.header.bit_depth == 12 and video.header.storage == "16-bit little-endian"
    np.testing.assert_array_equal(read_frames(header), frames)


def test_a_given_fps_contradicting_the_header_is_used_with_a_warning(tmp_path, rng):
    header, data = write_photron(tmp_path / "rec", _frames(rng, 8, n=3), bits=8, record_rate=20000)
    with pytest.warns(VismicWarning, match=r"fps=10000 contradicts the capture rate of 20000 fps"):
        video = open_video(data, fps=10000)
    assert video.fps == 10000 and video.fps_source == "argument"


def test_frame_ranges_and_batches(tmp_path, rng):
    frames = _frames(rng, 12, n=30, h=8, w=12)
    header, _ = write_photron(tmp_path / "rec", frames, bits=12)
    video = open_video(header, batch_size=7)
    assert [(len(b), b.start) for b in video] == [(7, 0), (7, 7), (7, 14), (7, 21), (2, 28)]
    np.testing.assert_array_equal(video.read(11, 9).frames, frames[11:20])
    np.testing.assert_array_equal(np.concatenate([b.frames for b in video]), frames)


# --------------------------------------------------------------------------- bad files


def test_truncated_mraw_is_refused_with_the_count_it_holds(tmp_path, rng):
    frames = _frames(rng, 16, n=9)
    header, data = write_photron(tmp_path / "rec", frames, bits=16)
    with open(data, "r+b") as file:
        file.truncate(os.path.getsize(data) - 2 * 10 * 14 * 2 - 7)
    with pytest.raises(CorruptVideoError, match=r"truncated.*promises 9 frames.*only 6 whole frames") as info:
        open_video(header)
    assert str(data) in str(info.value) and "--max-frames 6" in str(info.value)
    np.testing.assert_array_equal(read_frames(header, max_frames=6), frames[:6])
    with pytest.raises(CorruptVideoError):
        frame_count(data)


def test_mraw_longer_than_its_header_contradicts_it(tmp_path, rng):
    header, _ = write_photron(tmp_path / "rec", _frames(rng, 8, n=5), bits=8, total_frames=4)
    with pytest.raises(CorruptVideoError, match=r"promises 4 frames.*has 5 frames.*contradicts"):
        open_video(header)


def test_unknown_bit_depth(tmp_path, rng):
    header, _ = write_photron(tmp_path / "rec", _frames(rng, 8, n=2), bits=8)
    header.write_text(header.read_text().replace("Color Bit : 8", "Color Bit : 10"))
    with pytest.raises(CorruptVideoError, match=r"unknown bit depth 'Color Bit : 10'"):
        open_video(header)


def test_header_without_data_and_data_without_header(tmp_path, rng):
    header, data = write_photron(tmp_path / "rec", _frames(rng, 8, n=2), bits=8, write_data=False)
    with pytest.raises(CorruptVideoError, match=r"no data file beside it.*rec\.mraw.*missing"):
        open_video(header)
    lone = tmp_path / "lone.mraw"
    lone.write_bytes(bytes(100))
    with pytest.raises(CorruptVideoError, match=r"no header beside it.*lone\.cihx.*lone\.cih"):
        open_video(lone)


def test_missing_field_colour_and_other_formats(tmp_path, rng):
    header, _ = write_photron(tmp_path / "a", _frames(rng, 8, n=2), bits=8)
    header.write_text(header.read_text().replace("Image Width : 14\n", ""))
    with pytest.raises(CorruptVideoError, match="no 'Image Width' field"):
        open_video(header)
    header, _ = write_photron(tmp_path / "b", _frames(rng, 8, n=2), bits=8, colour="Color")
    with pytest.raises(VideoError, match="Mono MRAW files only"):
        open_video(header)
    header, _ = write_photron(tmp_path / "c", _frames(rng, 8, n=2), bits=8, file_format="TIFF", xml=True)
    with pytest.raises(VideoError, match="not an MRAW file"):
        open_video(header)
    broken = tmp_path / "d.cihx"
    broken.write_bytes(b"\x00<cih><frameInfo></cih>")
    (tmp_path / "d.mraw").write_bytes(bytes(10))
    with pytest.raises(CorruptVideoError, match="not valid XML"):
        open_video(broken)


def test_non_utf8_file_names(tmp_path, rng):
    frames = _frames(rng, 12, n=3)
    header, data = write_photron(tmp_path / os.fsdecode(b"rec-\xff"), frames, bits=12)
    np.testing.assert_array_equal(read_frames(data), frames)
    os.remove(data)
    with pytest.raises(CorruptVideoError, match="no data file"):
        open_video(header)
