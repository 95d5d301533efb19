"""Tests of vismic.io.video: reading sources, batching, roi/downsample, errors, writing."""

import os
import tracemalloc
import warnings

import cv2
import numpy as np
import pytest
from scipy import ndimage

from vismic.data import FrameBatch
from vismic.errors import (
    FrameShapeError,
    OutputError,
    ParameterError,
    VideoError,
    VideoNotFoundError,
    VismicWarning,
)
from vismic.io import VideoSource, frame_count, open_video, read_frames, write_video
from vismic.io._frames import downsample_frame


def _frames_u8(rng, n=12, h=24, w=32):
    return rng.integers(0, 256, (n, h, w), dtype=np.uint8)


def _leftovers(folder):
    return [name for name in os.listdir(folder) if "vismic-tmp" in name]


# --------------------------------------------------------------------------- round trips


def test_ffv1_avi_round_trip_is_exact(tmp_path, rng):
    frames = _frames_u8(rng)
    path = write_video(tmp_path / "clip.avi", frames, playback_fps=30)
    assert path == tmp_path / "clip.avi"
    back = read_frames(path)
    assert back.dtype == np.float32 and back.shape == frames.shape
    np.testing.assert_array_equal(back, frames)
    assert frame_count(path) == 12
    video = open_video(path, fps=30)
    assert video.container_fps == pytest.approx(30)
    assert video.full_shape == (24, 32) and video.frame_count_hint == 12
    assert video.path == path
    assert _leftovers(tmp_path) == []


def test_a_file_names_its_codec_and_other_sources_none(tmp_path, rng):
    from vismic.io._codec import fourcc_text, inter_frame_codec

    frames = rng.integers(0, 256, (6, 16, 24), dtype=np.uint8)
    assert open_video(write_video(tmp_path / "clip.mkv", frames), fps=1000.0).codec.upper() == "FFV1"
    assert open_video(write_video(tmp_path / "mjpg.avi", frames, codec="MJPG"), fps=1000.0).codec == "MJPG"
    assert open_video(frames, fps=1000.0).codec is None
    assert open_video(write_video(tmp_path / "frames", frames), fps=1000.0).codec is None
    # what the decoder reports, whatever its case; nothing readable gives None, never an error
    assert [inter_frame_codec(code) for code in ("H264", "hvc1", "FMP4", "vp09", "ffv1", "MJPG", "", 7)] == [
        "H.264", "H.265/HEVC", "MPEG-4 part 2", "VP9", None, None, None, None]
    assert [fourcc_text(value) for value in (0.0, -1.0, float("nan"), 10.0)] == [None, None, None, None]


def test_ffv1_mkv_uint16_round_trip_is_exact(tmp_path, rng):
    frames = rng.integers(0, 65536, (6, 16, 20), dtype=np.uint16)
    path = write_video(tmp_path / "deep.mkv", frames)
    np.testing.assert_array_equal(read_frames(path), frames)


def test_colour_ffv1_round_trip_is_exact(tmp_path, rng):
    rgb = rng.integers(0, 256, (5, 16, 20, 3), dtype=np.uint8)
    path = write_video(tmp_path / "colour.avi", rgb)
    np.testing.assert_array_equal(read_frames(path), read_frames(rgb))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_folder_round_trip_is_exact(tmp_path, rng, dtype):
    frames = rng.integers(0, np.iinfo(dtype).max + 1, (11, 10, 14), dtype=dtype)
    folder = write_video(tmp_path / "frames", frames)
    names = sorted(os.listdir(folder))
    assert names == [".vismic-frames"] + [f"frame_{i:06d}.png" for i in range(11)]
    back = read_frames(folder)
    np.testing.assert_array_equal(back, frames)
    assert frame_count(folder) == 11
    video = open_video(folder, fps=1000)
    assert video.container_fps is None and video.frame_count_hint == 11


@pytest.mark.parametrize("name", ["clip.avi", "frames"])
def test_frames_written_batch_by_batch_equal_the_whole_array(tmp_path, rng, name):
    frames = rng.integers(0, 256, (23, 24, 40), dtype=np.uint8)
    whole = write_video(tmp_path / f"whole_{name}", frames)
    batches = (frames[start:start + 5] for start in range(0, 23, 5))  # a generator: never held whole
    streamed = write_video(tmp_path / f"streamed_{name}", batches)
    assert np.array_equal(read_frames(streamed), read_frames(whole))
    assert np.array_equal(read_frames(streamed), frames)


@pytest.mark.parametrize("name", ["clip.avi", "frames"])
def test_batches_that_change_leave_nothing_written(tmp_path, rng, name):
    first = rng.integers(0, 256, (4, 24, 40), dtype=np.uint8)
    with pytest.raises(FrameShapeError, match="match the first"):
        write_video(tmp_path / name, iter([first, first[:, :, :32]]))
    with pytest.raises(FrameShapeError, match="match the first"):
        write_video(tmp_path / name, iter([first, first.astype(np.uint16)]))
    with pytest.raises(FrameShapeError, match="no frames"):
        write_video(tmp_path / name, iter([]))
    assert not os.path.exists(tmp_path / name) and os.listdir(tmp_path) == []


def test_png_folder_replaces_a_folder_vismic_wrote(tmp_path, rng):
    write_video(tmp_path / "frames", _frames_u8(rng, n=5))
    frames = _frames_u8(rng, n=3)
    write_video(tmp_path / "frames", frames)
    assert len(list((tmp_path / "frames").glob("*.png"))) == 3
    np.testing.assert_array_equal(read_frames(tmp_path / "frames"), frames)
    assert _leftovers(tmp_path) == []


def test_16bit_tiff_folder_is_read_at_full_precision(tmp_path, rng):
    frames = rng.integers(0, 65536, (4, 9, 13), dtype=np.uint16)
    for i, frame in enumerate(frames):
        assert cv2.imwrite(str(tmp_path / f"img{i}.tif"), frame)
    back = read_frames(tmp_path)
    np.testing.assert_array_equal(back, frames)
    assert back.max() > 255


def test_multipage_tiff_file(tmp_path, rng):
    frames = rng.integers(0, 65536, (20, 8, 10), dtype=np.uint16)
    path = str(tmp_path / "stack.tiff")
    assert cv2.imwritemulti(path, list(frames))
    np.testing.assert_array_equal(read_frames(path), frames)
    assert frame_count(path) == 20
    batches = list(open_video(path, fps=500, batch_size=7))
    assert [b.start for b in batches] == [0, 7, 14]


def test_multipage_tiff_changing_size_names_both_sizes(tmp_path):
    path = str(tmp_path / "stack.tif")
    pages = [np.zeros((8, 10), np.uint8)] * 17 + [np.zeros((6, 10), np.uint8)]
    assert cv2.imwritemulti(path, pages)
    with pytest.raises(FrameShapeError, match=r"frame 17.*10x6.*10x8"):
        read_frames(path)


def test_natural_sort_of_frame_names(tmp_path):
    for value in (1, 2, 10, 9, 100):
        cv2.imwrite(str(tmp_path / f"frame{value}.png"), np.full((4, 4), value, np.uint8))
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / ".frame0.png").write_bytes(b"hidden junk")
    assert list(read_frames(tmp_path)[:, 0, 0]) == [1, 2, 9, 10, 100]


# --------------------------------------------------------------------------- batches


def test_batches_have_sizes_and_starts(rng):
    frames = rng.normal(size=(130, 6, 5)).astype(np.float32)
    video = open_video(frames, fps=2200, batch_size=64)
    batches = list(video)
    assert all(isinstance(b, FrameBatch) for b in batches)
    assert [len(b) for b in batches] == [64, 64, 2]
    assert [b.start for b in batches] == [0, 64, 128]
    assert all(b.fps == 2200 and b.frames.dtype == np.float32 for b in batches)
    np.testing.assert_array_equal(np.concatenate([b.frames for b in batches]), frames)
    # Re-iterable, and batches never alias the caller's array.
    again = list(video)
    np.testing.assert_array_equal(again[1].frames, batches[1].frames)
    batches[0].frames[:] = -1
    assert not np.any(frames == -1)


def test_file_batches_and_max_frames(tmp_path, rng):
    frames = _frames_u8(rng, n=25, h=8, w=8)
    path = write_video(tmp_path / "clip.avi", frames)
    video = open_video(path, fps=30, batch_size=10, max_frames=21)
    batches = list(video)
    assert [(len(b), b.start) for b in batches] == [(10, 0), (10, 10), (1, 20)]
    assert video.frame_count_hint == 21
    np.testing.assert_array_equal(np.concatenate([b.frames for b in batches]), frames[:21])
    assert len(list(video)) == 3  # reopens the file


def test_memory_stays_one_batch(tmp_path):
    n, h, w, batch = 2000, 48, 48, 25
    frames = np.zeros((n, h, w), np.uint8)
    frames[:, 0, 0] = np.arange(n) % 256
    path = write_video(tmp_path / "long.avi", frames)
    batch_bytes = batch * h * w * 4
    whole_bytes = n * h * w * 4
    for source in (frames, path):
        video = open_video(source, fps=30, batch_size=batch)
        tracemalloc.start()
        total = 0
        for b in video:
            assert len(b) <= batch
            total += len(b)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert total == n
        assert peak < 3 * batch_bytes < whole_bytes / 10


# --------------------------------------------------------------------------- roi, downsample, colour


def test_roi_and_downsample_shapes_and_values(rng):
    frames = rng.normal(size=(3, 40, 50)).astype(np.float32)
    video = open_video(frames, fps=100, roi=(5, 3, 21, 17), downsample=4)
    assert video.full_shape == (40, 50)
    assert video.frame_shape == (4, 5)
    assert video.roi == (5, 3, 21, 17)
    got = read_frames(frames, roi=(5, 3, 21, 17), downsample=4)
    crop = frames[:, 3:3 + 16, 5:5 + 20]
    # a Gaussian of 0.45 x 4 px to 4 px each side (mirrored at the roi's edges), then 4 x 4 block means
    sigma = 0.45 * 4
    smooth = ndimage.gaussian_filter(crop.astype(np.float64), (0, sigma, sigma), mode="mirror", truncate=4 / sigma)
    expected = smooth.reshape(3, 4, 4, 5, 4).mean(axis=(2, 4))
    assert got.shape == (3, 4, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # block means alone, on request
    blocks = np.stack([downsample_frame(frame, 4, sigma=0) for frame in crop])
    np.testing.assert_allclose(blocks, crop.reshape(3, 4, 4, 5, 4).mean(axis=(2, 4)), rtol=1e-6, atol=1e-6)
    # 8-bit frames are filtered as they are, to the same numbers
    eight = rng.integers(0, 256, (40, 50)).astype(np.uint8)
    np.testing.assert_allclose(downsample_frame(eight, 2), downsample_frame(eight.astype(np.float32), 2), atol=1e-3)
    np.testing.assert_array_equal(read_frames(frames, roi=(5, 3, 21, 17)), frames[:, 3:20, 5:26])


def test_downsample_averages_away_a_checkerboard():
    checker = (np.indices((16, 16)).sum(axis=0) % 2 * 200.0)[None].repeat(2, axis=0)
    np.testing.assert_allclose(read_frames(checker, downsample=2), 100.0)


def test_rgb_array_and_bgr_file_give_the_same_luma(tmp_path):
    red_rgb = np.zeros((2, 4, 6, 3), np.uint8)
    red_rgb[..., 0] = 255
    expected = 0.299 * 255
    np.testing.assert_allclose(read_frames(red_rgb), expected, rtol=1e-6)
    # write_video stores BGR for OpenCV; reading it back gives red's luma, not blue's.
    np.testing.assert_allclose(read_frames(write_video(tmp_path / "red.avi", red_rgb)), expected, rtol=1e-6)
    # An image file written by OpenCV directly is BGR: (0, 0, 255) is red.
    folder = tmp_path / "bgr"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.dstack([np.zeros((4, 6)), np.zeros((4, 6)), np.full((4, 6), 255)]).astype(np.uint8))
    np.testing.assert_allclose(read_frames(folder), expected, rtol=1e-6)


# --------------------------------------------------------------------------- capture rate


@pytest.mark.parametrize("fps", [None, 0, -30, float("nan"), float("inf"), "600", True])
def test_fps_is_required(fps):
    with pytest.raises(ParameterError, match="the capture rate fps") as info:
        open_video(np.zeros((2, 4, 4)), fps=fps)
    assert repr(fps) in str(info.value)


def test_a_playback_rate_is_logged_not_warned(tmp_path, rng, caplog):
    # every high-speed export stores 24-30 fps: a warning on every run would say nothing
    path = write_video(tmp_path / "clip.avi", _frames_u8(rng, n=3), playback_fps=30)
    with warnings.catch_warnings(), caplog.at_level("INFO", logger="vismic"):
        warnings.simplefilter("error")
        video = open_video(path, fps=2200)
        list(video)
        open_video(path, fps=30.1)  # within 1 %
        open_video(np.zeros((2, 4, 4)), fps=2200)  # arrays have no container rate
    assert video.fps == 2200 and video.container_fps == pytest.approx(30)
    assert [r.getMessage() for r in caplog.records if "playback rate" in r.getMessage()] == [
        f"{str(path)!r} stores a playback rate of 30 fps; vismic uses fps=2200 as the capture rate"]


def test_a_container_rate_that_may_be_the_capture_rate_is_warned_once(tmp_path, rng):
    path = write_video(tmp_path / "clip.avi", _frames_u8(rng, n=3), playback_fps=500)
    with pytest.raises(ParameterError, match=r"fps is required: .* stores a rate of 500 fps, which may be the "
                                             r"capture rate or a playback rate; pass it with --fps"):
        open_video(path)
    with pytest.warns(VismicWarning, match=r"fps=2200 contradicts the rate of 500 fps .* may be the capture rate") \
            as record:
        video = open_video(path, fps=2200)
        list(video)
        list(video)
    assert len([w for w in record if issubclass(w.category, VismicWarning)]) == 1
    assert video.fps == 2200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_video(path, fps=501)  # within 1 %


# --------------------------------------------------------------------------- errors


def test_missing_path(tmp_path):
    missing = tmp_path / "nope.avi"
    with pytest.raises(VideoNotFoundError, match="nope.avi"):
        open_video(missing, fps=100)
    with pytest.raises(FileNotFoundError):
        frame_count(missing)


def test_undecodable_file(tmp_path):
    bad = tmp_path / "junk.avi"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(VideoError, match=r"cannot decode video.*junk\.avi"):
        open_video(bad, fps=100)


def test_folder_without_frames(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(VideoError, match=str(tmp_path.name)):
        open_video(tmp_path, fps=100)


def test_unreadable_image_in_folder_is_named(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.zeros((4, 4), np.uint8))
    (tmp_path / "f3.png").write_bytes(b"broken")
    video = open_video(tmp_path, fps=100)
    with pytest.raises(VideoError, match=r"f3\.png"):
        list(video)


def test_folder_frames_of_different_sizes(tmp_path):
    cv2.imwrite(str(tmp_path / "f0.png"), np.zeros((4, 6), np.uint8))
    cv2.imwrite(str(tmp_path / "f1.png"), np.zeros((5, 6), np.uint8))
    with pytest.raises(FrameShapeError, match=r"frame 1 .*f1\.png.*6x5.*6x4"):
        read_frames(tmp_path)


@pytest.mark.parametrize("roi", [(0, 0, 4), (0, 0, 0, 4), (-1, 0, 2, 2), (0, 0, 2.5, 2), "0,0,2,2", 7])
def test_malformed_roi(roi):
    with pytest.raises(ParameterError, match="roi") as info:
        open_video(np.zeros((2, 8, 8)), fps=10, roi=roi)
    assert repr(roi) in str(info.value)


def test_roi_outside_frame_is_checked_before_decoding(tmp_path):
    cv2.imwrite(str(tmp_path / "f0.png"), np.zeros((20, 30), np.uint8))
    (tmp_path / "f1.png").write_bytes(b"broken")  # never reached
    with pytest.raises(ParameterError, match=r"roi=\(25, 0, 10, 5\).*width 30 and height 20"):
        open_video(tmp_path, fps=10, roi=(25, 0, 10, 5))


@pytest.mark.parametrize("downsample", [0, -2, 1.5, 9])
def test_bad_downsample(downsample):
    with pytest.raises(ParameterError, match="downsample"):
        open_video(np.zeros((2, 8, 12)), fps=10, downsample=downsample)


@pytest.mark.parametrize("shape", [(8, 8), (2, 8, 8, 4), (1, 2, 8, 8, 3)])
def test_array_of_wrong_shape(shape):
    with pytest.raises(FrameShapeError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
        open_video(np.zeros(shape), fps=10)


def test_grey_frames_with_their_one_channel_kept_read_as_grey():
    frames = np.random.default_rng(0).integers(0, 256, (4, 8, 12), dtype=np.uint8)
    np.testing.assert_array_equal(open_video(frames[..., None], fps=10).read(0, 4).frames,
                                  open_video(frames, fps=10).read(0, 4).frames)


def test_bad_batch_size_and_source_type():
    with pytest.raises(ParameterError, match="batch_size=0"):
        open_video(np.zeros((2, 4, 4)), fps=10, batch_size=0)
    with pytest.raises(ParameterError, match="list"):
        open_video([[1, 2]], fps=10)


# --------------------------------------------------------------------------- writing


def test_write_video_replaces_atomically_and_counts(tmp_path, rng):
    path = tmp_path / "clip.avi"
    write_video(path, _frames_u8(rng, n=4))
    frames = _frames_u8(rng, n=7)
    write_video(path, frames)
    np.testing.assert_array_equal(read_frames(path), frames)
    assert _leftovers(tmp_path) == []


def test_write_video_float_frames_are_rounded_and_clipped(tmp_path):
    frames = np.array([-5.0, 0.4, 0.6, 254.5, 300.0]).reshape(5, 1, 1) * np.ones((5, 4, 4))
    back = read_frames(write_video(tmp_path / "f.avi", frames))
    assert list(back[:, 0, 0]) == [0, 0, 1, 254, 255]


def test_write_video_lossy_codec_is_allowed(tmp_path, rng):
    frames = _frames_u8(rng, n=5, h=16, w=16)
    path = write_video(tmp_path / "lossy.avi", frames, codec="MJPG")
    assert frame_count(path) == 5


def test_write_video_errors_leave_nothing(tmp_path, rng):
    frames = _frames_u8(rng, n=3)
    with pytest.raises(OutputError, match="missing"):
        write_video(tmp_path / "missing" / "clip.avi", frames)
    with pytest.raises(OutputError, match=r"clip\.mp4"):
        write_video(tmp_path / "clip.mp4", frames)  # MP4 cannot hold a lossless codec here
    with pytest.raises(ParameterError, match="playback_fps=2200"):
        write_video(tmp_path / "fast.avi", frames, playback_fps=2200)
    with pytest.raises(FrameShapeError, match=r"\(3, 4\)"):
        write_video(tmp_path / "flat.avi", np.zeros((3, 4)))
    with pytest.raises(ParameterError, match="NaN"):
        write_video(tmp_path / "nan.avi", np.full((2, 4, 4), np.nan))
    if os.path.isdir("/proc/self"):  # a folder nobody, not even root, can create files in
        with pytest.raises(OutputError, match="/proc/self/clip.avi"):
            write_video("/proc/self/clip.avi", frames)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="needs POSIX permissions")
def test_write_video_unwritable_folder(tmp_path, rng):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="locked"):
            write_video(locked / "clip.avi", _frames_u8(rng, n=2))
    finally:
        locked.chmod(0o700)


# --------------------------------------------------------------------------- real footage


def test_real_footage_guitar(footage_dir):
    path = footage_dir / "guitar.mp4"
    if not path.exists():
        pytest.skip("guitar.mp4 is absent")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its 29.97 fps is a playback rate: logged, not warned
        video = open_video(path, fps=600, batch_size=100, max_frames=150)
    assert isinstance(video, VideoSource)
    assert video.full_shape == (192, 432)
    assert 29 < video.container_fps < 31
    batches = list(video)
    assert [(len(b), b.start) for b in batches] == [(100, 0), (50, 100)]
    frames = batches[0].frames
    assert frames.shape == (100, 192, 432) and 0 <= frames.min() and frames.max() <= 255
    assert frames.std() > 10  # a real picture, not a blank


def test_a_source_reopened_in_a_worker_warns_nothing_and_leaves_the_warning_filters_alone(tmp_path, rng, monkeypatch):
    # projection threads reopen sources side by side: warnings.catch_warnings there swapped the process's
    # filters under each other, and the CLI's recorder was left ignoring the recovery's own warnings
    import pickle
    import warnings as warnings_module

    import tifffile

    path = tmp_path / "clip.tif"
    tifffile.imwrite(path, rng.integers(0, 255, (40, 16, 16)).astype(np.uint8))
    source = open_video(path, fps=2200.0)

    def swapped(*args, **kwargs):
        raise AssertionError("warnings.catch_warnings is not thread-safe")

    monkeypatch.setattr(warnings_module, "catch_warnings", swapped)
    reopened = pickle.loads(pickle.dumps(source.starting_at(3)))
    assert reopened.fps == 2200.0 and reopened.start_frame == 3


def test_a_frame_missing_from_a_numbered_folder_is_filled_and_named(tmp_path, rng):
    from vismic.errors import CorruptVideoError, DamagedVideoWarning

    frames = rng.integers(0, 255, (30, 8, 8)).astype(np.uint8)
    folder = write_video(tmp_path / "frames", frames)
    (folder / "frame_000005.png").unlink()
    (folder / "frame_000006.png").unlink()
    with pytest.warns(DamagedVideoWarning, match=r"2 frame\(s\) are missing .* indices 5, 6") as caught:
        read = read_frames(folder, fps=1000.0)
    assert caught[0].message.filled == (5, 6)
    # the time axis keeps its length: the frame before the gap stands in for the missing ones
    np.testing.assert_array_equal(read, frames[[0, 1, 2, 3, 4, 4, 4, *range(7, 30)]])
    with pytest.raises(CorruptVideoError, match=r"2 frame\(s\) missing before"):
        read_frames(folder, fps=1000.0, strict=True)
    assert open_video(folder, fps=1000.0).frame_count_hint == 30


@pytest.mark.parametrize("names", [("a.png", "b7.png", "b9.png"), ("f1.png", "f2.png", "f9.png", "f30.png"),
                                   ("f0.png", "f2.png", "f4.png", "f6.png")])
def test_names_that_are_no_gapped_sequence_are_read_as_they_sort(tmp_path, rng, names):
    # several prefixes; sparse numbers (more missing than a tenth of those there); every other frame saved
    frames = rng.integers(0, 255, (len(names), 8, 8)).astype(np.uint8)
    for name, frame in zip(names, frames):
        cv2.imwrite(str(tmp_path / name), frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(read_frames(tmp_path, fps=1000.0), frames)
