"""Tests of vismic.io on damaged, odd and hostile inputs: damage said, resources bounded, names of any bytes."""

import os
import struct
import threading
import warnings
import zlib

import cv2
import numpy as np
import pytest

from vismic.io._avi import read_avi_index
from vismic.data import FrameBatch
from vismic.errors import (
    CorruptVideoError,
    DamagedVideoWarning,
    OutputError,
    ParameterError,
    VideoError,
)
from vismic.io import open_video, read_frames, write_video, write_wav
from vismic.io.video import auto_batch_size

from camera_writers import write_cine, write_photron


def _frames(rng, n=40, size=16):
    return rng.integers(0, 256, (n, size, size), dtype=np.uint8)


def _damaged(path, rng, *, at=0.5, length=1024):
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    data[start : start + length] = bytes(length)
    path.write_bytes(bytes(data))
    return path


def _collect(source):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = np.concatenate([batch.frames for batch in source])
    return frames, [w.message for w in caught if isinstance(w.message, DamagedVideoWarning)]


# --------------------------------------------------------------------------- damage said


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_truncated_avi_warns_with_counts(tmp_path, rng, fraction):
    path = write_video(tmp_path / "clip.avi", _frames(rng), codec="Y800")
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])
    frames, damage = _collect(open_video(path, fps=2000))
    assert len(damage) == 1
    assert damage[0].expected == 40 and damage[0].decoded == len(frames) < 40
    assert damage[0].missing == 40 - len(frames)
    assert "promises 40" in str(damage[0])
    with pytest.raises(CorruptVideoError, match="promises 40"):
        list(open_video(path, fps=2000, strict=True))


@pytest.mark.parametrize("codec", ["FFV1", "MJPG", "Y800"])
def test_frames_lost_inside_an_avi_are_found_in_its_index_and_filled(tmp_path, rng, codec):
    # every frame has its own brightness, so a frame out of place shows
    frames = np.clip(_frames(rng, n=80).astype(np.int16) // 2 + (np.arange(80) * 3)[:, None, None], 0, 255)
    path = write_video(tmp_path / "clip.avi", frames.astype(np.uint8), codec=codec)
    data = bytearray(path.read_bytes())
    index = read_avi_index(path)
    assert index is not None and index.n_frames == 80 and not index.damaged
    # overwrite the chunk headers of frames 40 and 41 (as a bad sector or a copy error would)
    middle = len(data) // 2
    data[middle:middle + 3 * len(data) // 160] = bytes(rng.integers(0, 256, 3 * len(data) // 160, dtype=np.uint8))
    path.write_bytes(bytes(data))
    lost = read_avi_index(path).damaged
    assert lost
    read, damage = _collect(open_video(path, fps=2000))
    assert len(read) == 80  # the time axis is kept
    assert len(damage) == 1
    filled = damage[0].filled
    # the damaged frames, and at most a neighbour the decoder dropped with them
    assert set(lost) <= set(filled) <= set(range(min(lost) - 2, max(lost) + 1))
    assert f"indices {filled[0]}" in str(damage[0]) and "misplaced" not in str(damage[0])
    # (frames next to the lost ones may hold overwritten pixels, in their place; FFV1 carries its coder's
    # state from frame to frame, so the damage shows until its next key frame)
    intact = [k for k in range(80) if not min(filled) - 2 <= k <= max(filled) + 12]
    brightness = read.reshape(80, -1).mean(axis=1)
    expected = frames.reshape(80, -1).mean(axis=1)
    assert np.abs(brightness[intact] - expected[intact]).max() < 1.0  # every other frame in its place
    with pytest.raises(CorruptVideoError, match=f"first at frame {lost[0]}"):
        list(open_video(path, fps=2000, strict=True))


def test_avi_index_reader_says_nothing_about_what_it_cannot_parse(tmp_path):
    assert read_avi_index(tmp_path / "missing.avi") is None
    (tmp_path / "x.avi").write_bytes(b"RIFF\x10\x00\x00\x00AVI LIST")
    assert read_avi_index(tmp_path / "x.avi") is None
    (tmp_path / "y.avi").write_bytes(b"not a riff file at all")
    assert read_avi_index(tmp_path / "y.avi") is None


def test_avi_index_finds_overwritten_chunk_headers_in_every_slice_it_maps(tmp_path, rng):
    # more frames than one memory map of headers covers (_CHECK_FRAMES): damage in two slices
    frames = rng.integers(0, 255, (600, 8, 8), dtype=np.uint8)
    path = write_video(tmp_path / "raw.avi", frames, codec="Y800")
    intact = read_avi_index(path)
    assert intact.n_frames == 600 and intact.damaged == () and intact.truncated_from is None
    data = bytearray(path.read_bytes())
    for frame in (10, 300):
        at = intact.offsets[frame] - 8
        data[at: at + 4] = b"JUNK"
    at = intact.offsets[450] - 4
    data[at: at + 4] = struct.pack("<I", intact.sizes[450] + 1)
    (tmp_path / "damaged.avi").write_bytes(bytes(data))
    index = read_avi_index(tmp_path / "damaged.avi")
    assert index.damaged == (10, 300, 450) and index.truncated_from is None
    assert index.offsets == intact.offsets and index.sizes == intact.sizes


def test_gap_in_time_stamps_is_filled_and_named(tmp_path, rng):
    frames = _frames(rng, n=60)
    path = _damaged(write_video(tmp_path / "clip.mkv", frames, codec="Y800"), rng)
    read, damage = _collect(open_video(path, fps=2000))
    assert len(read) == 60  # the time axis is kept
    assert len(damage) == 1 and damage[0].filled
    first = damage[0].filled[0]
    assert str(first) in str(damage[0])
    np.testing.assert_array_equal(read[first], read[first - 1])  # filled by repeating
    # frames after the gap are in their place
    np.testing.assert_array_equal(read[-5:], frames[-5:])
    with pytest.raises(CorruptVideoError, match="missing before decoded frame"):
        list(open_video(path, fps=2000, strict=True))


def test_whole_video_gives_no_damage_warning(tmp_path, rng):
    for name in ("clip.avi", "clip.mkv"):
        path = write_video(tmp_path / name, _frames(rng), codec="FFV1")
        frames, damage = _collect(open_video(path, fps=2000))
        assert len(frames) == 40 and damage == []


def _png(width, height, depth=8, colour=0):
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    chunk = b"IHDR" + header
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def test_png_declaring_a_huge_frame_is_refused_before_decoding(tmp_path, rng):
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "f0.png").write_bytes(_png(100000, 100000) + b"\x00" * 64)
    with pytest.raises(VideoError, match="100000x100000"):
        open_video(folder, fps=1000)


def test_frame_folder_mixing_bit_depths_names_the_first_odd_file(tmp_path, rng):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(6):
        frame = rng.integers(0, 256, (8, 8)).astype(np.uint16 if index == 3 else np.uint8)
        cv2.imwrite(str(folder / f"f{index}.png"), frame)
    with pytest.raises(VideoError, match=r"frame 3 \('f3.png'\) is a 16-bit grey image but frame 0"):
        list(open_video(folder, fps=1000))


def test_undecodable_image_names_its_frame(tmp_path, rng):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(4):
        cv2.imwrite(str(folder / f"f{index}.png"), rng.integers(0, 256, (8, 8)).astype(np.uint8))
    (folder / "f2.png").write_bytes(b"not an image")
    with pytest.raises(VideoError, match=r"frame 2: cannot decode image frame .*f2.png"):
        list(open_video(folder, fps=1000))


def test_frame_folder_mixing_colour_types_is_refused(tmp_path, rng):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(4):
        shape = (8, 8, 3) if index == 2 else (8, 8)
        cv2.imwrite(str(folder / f"f{index}.png"), rng.integers(0, 256, shape).astype(np.uint8))
    with pytest.raises(VideoError, match="f2.png"):
        list(open_video(folder, fps=1000))


# --------------------------------------------------------------------------- bounded resources


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.avi"
    os.mkfifo(fifo)
    outcome = []

    def run():
        try:
            open_video(fifo, fps=1000)
        except VideoError as error:
            outcome.append(str(error))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(20)
    assert outcome and "FIFO" in outcome[0]


@pytest.mark.parametrize("suffix", [".cine", ".tif", ".png"])
def test_special_files_are_refused_for_every_reader(tmp_path, suffix):
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    with pytest.raises(VideoError, match="FIFO"):
        open_video(fifo, fps=1000)


def test_device_is_refused():
    with pytest.raises(VideoError, match="character device"):
        open_video("/dev/zero", fps=1000)


def test_batches_are_sized_in_bytes():
    assert auto_batch_size((128, 128)) == 64
    assert auto_batch_size((1024, 1024)) == 4
    assert auto_batch_size((4096, 4096)) == 1
    video = open_video(np.zeros((40, 64, 64), np.uint8), fps=1000, max_batch_bytes=64 * 64 * 4 * 10)
    assert video.batch_size == 10 and [len(b) for b in video] == [10, 10, 10, 10]
    assert open_video(np.zeros((40, 8, 8)), fps=1000, batch_size=7).batch_size == 7
    with pytest.raises(ParameterError, match="max_batch_bytes"):
        open_video(np.zeros((40, 8, 8)), fps=1000, max_batch_bytes=0)


def test_non_utf8_names_are_read_everywhere(tmp_path, rng):
    frames = _frames(rng, n=6, size=8)
    odd = os.fsdecode(b"d\xff")
    folder = tmp_path / odd
    folder.mkdir()
    for index, frame in enumerate(frames):
        cv2.imencode(".png", frame)[1].tofile(str(folder / os.fsdecode(b"f%d-\xfe.png" % index)))
    np.testing.assert_array_equal(read_frames(folder), frames)
    cine = write_cine(tmp_path / os.fsdecode(b"c\xff.cine"), frames)
    np.testing.assert_array_equal(read_frames(cine), frames)
    header, _ = write_photron(tmp_path / os.fsdecode(b"p\xff"), frames, bits=8)
    np.testing.assert_array_equal(read_frames(header), frames)
    tiff = tmp_path / os.fsdecode(b"t\xff.tif")
    import tifffile

    tifffile.imwrite(tiff, frames, photometric="minisblack", compression="zlib")
    np.testing.assert_array_equal(read_frames(tiff), frames)
    avi = write_video(folder / os.fsdecode(b"v\xff.avi"), frames)  # writer and reader
    np.testing.assert_array_equal(read_frames(avi), frames)
    wav = write_wav(folder / os.fsdecode(b"s\xfe.wav"), np.sin(np.arange(3000) / 3.0), sr=2200)
    assert wav.path.stat().st_size > 10000


def test_long_output_names_fail_before_work_and_temporary_names_are_short(tmp_path):
    samples = np.sin(np.arange(2200) / 3.0)
    with pytest.raises(OutputError, match="allows 255"):
        write_wav(tmp_path / ("x" * 300 + ".wav"), samples, sr=2200)
    info = write_wav(tmp_path / ("y" * 250 + ".wav"), samples, sr=2200)  # legal 254-byte name
    assert info.path.exists()


# --------------------------------------------------------------------------- checked numbers


def test_nan_frames_name_the_first_bad_frame():
    frames = np.zeros((10, 4, 4))
    frames[7, 1, 2] = np.nan
    frames[8, 0, 0] = np.inf
    with pytest.raises(ParameterError, match="frame 7 contains NaN"):
        open_video(frames, fps=1000)
    with pytest.raises(ParameterError, match="frame 17 contains NaN"):
        FrameBatch(frames, 10, 1000)


@pytest.mark.parametrize("fps", [1e300, float("inf"), float("nan"), 0, -5, 2e7])
def test_absurd_rates_are_refused(fps):
    with pytest.raises(ParameterError):
        open_video(np.zeros((40, 8, 8)), fps=fps)
    with pytest.raises(ParameterError):
        FrameBatch(np.zeros((2, 4, 4)), 0, fps)


@pytest.mark.parametrize("target_sr", [10**12, 7, 7.5, 999, 768001, float("nan"), -44100])
def test_wav_rates_outside_audio_are_refused(tmp_path, target_sr):
    with pytest.raises(ParameterError, match="target_sr"):
        write_wav(tmp_path / "a.wav", np.ones(100), sr=2200, target_sr=target_sr)
    assert os.listdir(tmp_path) == []


def test_wav_of_a_low_capture_rate_kept_as_is_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="7 Hz"):
        write_wav(tmp_path / "a.wav", np.ones(100), sr=7, target_sr=None)


def test_numerical_dust_is_not_normalised_to_full_scale(tmp_path):
    dust = 1.6e-49 * np.sin(np.arange(2200) / 3.0)
    with pytest.raises(ParameterError, match="numerical dust"):
        write_wav(tmp_path / "a.wav", dust, sr=2200)
    assert os.listdir(tmp_path) == []
    quiet = 1e-6 * np.sin(np.arange(2200) / 3.0)  # tiny but real: still written
    assert write_wav(tmp_path / "b.wav", quiet, sr=2200).n_samples == 8000


def test_a_folder_of_tiff_stacks_is_refused_not_read_a_page_a_file(tmp_path):
    # 3 stacks of 25 pages read as 3 frames, 72 dropped without a word
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(0)
    for index in range(3):
        tifffile.imwrite(tmp_path / f"take_{index:03d}.tif", rng.integers(0, 256, (25, 32, 32), dtype=np.uint8))
    with pytest.raises(VideoError, match="is a stack of 25 pages, but a frame folder holds one frame a file"):
        read_frames(tmp_path, fps=1000.0)
    single = tmp_path / "single"
    single.mkdir()
    for index in range(3):
        tifffile.imwrite(single / f"frame_{index:03d}.tif", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    assert read_frames(single, fps=1000.0).shape == (3, 32, 32)  # an RGB page is one frame
