"""Inputs a fuzzing audit found mishandled: lying headers, damaged stacks and folders, absurd values.

Each was a traceback, a memory blow-up, a wrong error, or a WAV written from wrong frames.
"""

import os
import struct
import warnings

import cv2
import numpy as np
import pytest
import tifffile

import vismic
from camera_writers import write_cine, write_photron
from vismic.cli import main
from vismic.errors import CorruptVideoError, FrameShapeError, ParameterError, VideoError
from vismic.io import open_video
from vismic.io._frames import _jpeg_size

FPS = 1000.0


@pytest.fixture
def frames(rng):
    return rng.integers(0, 256, (40, 24, 32)).astype(np.uint8)


# --------------------------------------------------------------------------- camera headers


@pytest.mark.parametrize("count", ["300000000", "1e30"])
def test_a_photron_count_past_its_file_is_a_truncation_read_without_offsets_for_every_promised_frame(
        tmp_path, frames, count):
    # offsets for every promised frame came first: 300 million took 5.1 GB, 1e30 raised numpy's ValueError
    header, _ = write_photron(tmp_path / "rec", frames, bits=8)
    header.write_text(header.read_text().replace(f"Total Frame : {len(frames)}", f"Total Frame : {count}"))
    with pytest.raises(CorruptVideoError, match="truncated.*holds only 40 whole frames"):
        open_video(header)
    assert open_video(header, max_frames=40).frame_count_hint == 40


@pytest.mark.parametrize("value", ["inf", "1e400", "nan"])
def test_a_photron_number_that_is_not_finite_is_named(tmp_path, frames, value):
    header, _ = write_photron(tmp_path / "rec", frames, bits=8)
    width = [line for line in header.read_text().splitlines() if line.startswith("Image Width")][0]
    header.write_text(header.read_text().replace(width, f"Image Width : {value}"))
    with pytest.raises(CorruptVideoError, match="'Image Width' is .*not a finite number"):
        open_video(header)


def _cine_with_offset(path, frames, image: int, value: int):
    data = bytearray(open(write_cine(path, frames), "rb").read())
    table = struct.unpack_from("<I", data, 32)[0]
    struct.pack_into("<q", data, table + 8 * image, value)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("offset", [2**63 - 4, -5, 0])
def test_a_damaged_cine_offset_is_damage_not_a_truncation(tmp_path, frames, offset):
    # 2**63 - 4 overflowed `offset + 8` into an IndexError; the others were called a truncation
    path = _cine_with_offset(tmp_path / "a.cine", frames, 5, offset)
    with pytest.raises(CorruptVideoError, match="image 5 cannot be read .* later images can: the file is damaged"):
        open_video(path)


def test_a_truncated_cine_is_still_called_truncated(tmp_path, frames):
    path = write_cine(tmp_path / "a.cine", frames)
    data = open(path, "rb").read()
    (tmp_path / "cut.cine").write_bytes(data[: len(data) - 3 * frames[0].size])
    with pytest.raises(CorruptVideoError, match="is truncated"):
        open_video(tmp_path / "cut.cine")


def test_a_capture_rate_no_camera_records_at_blames_the_header_not_fps(tmp_path, frames):
    path = write_cine(tmp_path / "a.cine", frames, fps=4_000_000_000)
    with pytest.raises(CorruptVideoError, match=r"stores a capture rate of 4e\+09 fps in its file header"):
        open_video(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the given rate contradicts the stored one
        assert open_video(path, fps=FPS).fps == FPS


def test_an_unreadable_file_says_permission_denied(tmp_path, frames, monkeypatch):
    # root reads any file, so the refusal is simulated; OpenCV said only that it could not open it
    path = write_cine(tmp_path / "a.cine", frames)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if str(p) == str(path) else real(p, mode))
    with pytest.raises(VideoError, match="permission denied"):
        open_video(path)


# --------------------------------------------------------------------------- frame folders


def test_frame_numbers_past_int64_are_names_and_a_number_twice_is_refused(tmp_path, frames):
    big = tmp_path / "big"
    big.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(big / f"img_{10**19 + i}.png"), frame)
    assert open_video(big, fps=FPS).frame_count_hint == len(frames)  # an OverflowError before
    twice = tmp_path / "twice"
    twice.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(twice / f"img_{i}.png"), frame)
    cv2.imwrite(str(twice / "img_05.png"), frames[5])  # moved every later frame by one, without a word
    with pytest.raises(VideoError, match="'img_05.png' and 'img_5.png' both carry frame number 5"):
        open_video(twice, fps=FPS)


def test_a_jpeg_header_that_lies_about_its_size_is_refused_before_decoding(tmp_path, frames):
    ok, encoded = cv2.imencode(".jpg", frames[0])
    assert _jpeg_size(encoded) == (32, 24, 1)
    folder = tmp_path / "jpg"
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"f_{i:03d}.jpg"), frame)
    data = bytearray((folder / "f_000.jpg").read_bytes())
    struct.pack_into(">HH", data, data.find(b"\xff\xc0") + 5, 32000, 32000)
    (folder / "f_000.jpg").write_bytes(bytes(data))
    # frame 0 was decoded and converted first: 5 GB before frame 1 showed the mismatch
    with pytest.raises(FrameShapeError, match="frame 0 .* has size 32000x32000"):
        open_video(folder, fps=FPS)


# --------------------------------------------------------------------------- TIFF stacks


def test_a_stack_of_mixed_bit_depths_or_complex_pages_is_refused(tmp_path, frames):
    with tifffile.TiffWriter(tmp_path / "mixed.tif") as tif:
        for i, frame in enumerate(frames):
            tif.write(frame if i != 20 else frame.astype(np.uint16) * 257)
    with pytest.raises(VideoError, match="page 20 holds uint16 values but page 0 holds uint8"):
        vismic.io.read_frames(tmp_path / "mixed.tif")
    tifffile.imwrite(tmp_path / "complex.tif", frames.astype(np.complex64))
    with pytest.raises(VideoError, match="complex64 values"):
        open_video(tmp_path / "complex.tif", fps=FPS)


@pytest.mark.parametrize("writer", ["opencv", "imagej"])
def test_a_stack_whose_chain_of_pages_breaks_is_not_read_as_the_whole(tmp_path, frames, writer):
    # both read as fewer frames without a word (the ImageJ one as a single frame)
    whole = tmp_path / "whole.tif"
    if writer == "opencv":
        cv2.imwritemulti(str(whole), list(frames))
    else:
        tifffile.imwrite(whole, frames, imagej=True)
    data = whole.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError, match="damaged or truncated: its chain of pages breaks") as caught:
        open_video(cut, fps=FPS)
    readable = int(str(caught.value).split("max_frames=")[1].split(" ")[0])
    assert open_video(cut, fps=FPS, max_frames=readable).frame_count_hint == readable
    assert open_video(whole, fps=FPS).frame_count_hint == len(frames)


def test_grey_levels_float32_cannot_carry_are_refused_naming_the_video(tmp_path, frames):
    tifffile.imwrite(tmp_path / "huge.tif", frames.astype(np.float32) * 1e18)  # scipy's eigh failed on inf
    with pytest.raises(VideoError, match=r"'.*huge.tif': grey levels reach .*e\+20"):
        vismic.recover_sound(tmp_path / "huge.tif", fps=FPS)
    with pytest.raises(ParameterError, match="the frame array: grey levels reach"):
        vismic.recover_sound(frames.astype(np.float64) * 1e-28, fps=FPS)
    with pytest.raises(ParameterError, match="grey levels reach"):
        vismic.recover_sound(frames.astype(np.uint64) * 2**60, fps=FPS)
    holed = frames.astype(np.float32)
    holed[30, 3, 3] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", holed)
    with pytest.raises(VideoError, match=r"nan.tif': frame 30 contains NaN"):
        vismic.recover_sound(tmp_path / "nan.tif", fps=FPS)


def test_bright_float_frames_give_no_overflow_warning(rng):
    frames = rng.uniform(0, 255, (80, 32, 32)) * 1000  # a group's noise floor of 1e-300 overflowed a division
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", vismic.errors.VismicWarning)
        vismic.recover_sound(frames, fps=FPS, denoise=None)


# --------------------------------------------------------------------------- arguments


def test_workers_beyond_the_machine_are_refused_before_reading(tmp_path, capsys):
    from vismic._cores import usable_cores

    too_many = 4 * usable_cores() + 1
    with pytest.raises(ParameterError, match=f"workers={too_many} .* at most {too_many - 1} workers"):
        vismic.recover_sound(np.zeros((40, 16, 16)), fps=FPS, workers=too_many)
    out = tmp_path / "o.wav"
    assert main(["recover", str(tmp_path / "missing.avi"), "--fps", "1000", "--workers", str(too_many),
                 "-o", str(out)]) == 2
    assert f"--workers {too_many} asks for more processes" in capsys.readouterr().err


def test_empty_paths_and_huge_counts_on_the_command_line(tmp_path, frames, capsys, monkeypatch):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"f_{i:03d}.png"), frame)
    monkeypatch.chdir(tmp_path)
    assert main(["recover", "", "--fps", "1000", "-o", "o.wav"]) == 2
    assert "VIDEO is an empty name" in capsys.readouterr().err
    assert main(["recover", str(folder), "--fps", "1000", "-o", ""]) == 2  # wrote ./frames.wav
    assert "-o is an empty name" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["frames"]
    with pytest.raises(VideoError, match="path is empty"):
        open_video("", fps=FPS)
    # 20 digits broke numpy's isfinite (a TypeError traceback)
    assert main(["recover", str(folder), "--fps", "1000", "-o", "o.wav", "--quiet",
                 "--max-frames", "99999999999999999999"]) == 0
