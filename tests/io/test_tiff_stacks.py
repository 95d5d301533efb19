"""Multi-page and BigTIFF stacks read with tifffile; containers without a capture rate need fps."""

import numpy as np
import pytest
import tifffile

from vismic.errors import FrameShapeError, ParameterError
from vismic.io import frame_count, open_video, read_frames, write_video


@pytest.mark.parametrize("bigtiff", [False, True], ids=["tiff", "bigtiff"])
@pytest.mark.parametrize("dtype, top", [(np.uint8, 256), (np.uint16, 4096), (np.uint16, 65536)])
def test_uncompressed_stack_is_memory_mapped_and_exact(tmp_path, rng, bigtiff, dtype, top):
    frames = rng.integers(0, top, (13, 10, 12)).astype(dtype)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, frames, bigtiff=bigtiff)
    video = open_video(path, fps=5000, batch_size=4)
    assert video._reader.layout is not None and video.random_access
    assert video._reader.bigtiff == bigtiff
    raw = video._reader.read(3, 5)
    assert raw.dtype == dtype
    np.testing.assert_array_equal(raw, frames[3:8])
    np.testing.assert_array_equal(read_frames(path), frames)
    np.testing.assert_array_equal(video.read(9, 4).frames, frames[9:13])
    assert [b.start for b in video] == [0, 4, 8, 12] and frame_count(path) == 13


def test_compressed_and_big_endian_stacks_are_read_page_by_page(tmp_path, rng):
    frames = rng.integers(0, 4096, (6, 9, 11)).astype(np.uint16)
    path = tmp_path / "zlib.tiff"
    tifffile.imwrite(path, frames, compression="zlib")
    video = open_video(path, fps=100)
    assert video._reader.layout is None
    np.testing.assert_array_equal(read_frames(path), frames)
    big_endian = tmp_path / "be.tif"
    tifffile.imwrite(big_endian, frames, byteorder=">")
    np.testing.assert_array_equal(read_frames(big_endian), frames)


def test_rgb_stack_gives_the_same_luma_as_the_array(tmp_path, rng):
    rgb = rng.integers(0, 256, (4, 8, 10, 3)).astype(np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, photometric="rgb")
    np.testing.assert_allclose(read_frames(path), read_frames(rgb), atol=1e-4)
    planar = tmp_path / "planar.tif"
    tifffile.imwrite(planar, np.moveaxis(rgb, -1, 1), photometric="rgb", planarconfig="separate")
    np.testing.assert_allclose(read_frames(planar), read_frames(rgb), atol=1e-4)


def test_pages_of_different_sizes(tmp_path):
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as writer:
        writer.write(np.zeros((8, 8), np.uint8))
        writer.write(np.zeros((8, 9), np.uint8))
    with pytest.raises(FrameShapeError, match="9x8"):
        read_frames(path)


def test_sources_without_a_capture_rate_need_fps(tmp_path, rng):
    frames = rng.integers(0, 256, (3, 8, 8)).astype(np.uint8)
    tiff = tmp_path / "stack.tif"
    tifffile.imwrite(tiff, frames, photometric="minisblack")
    with pytest.raises(ParameterError, match=r"stack\.tif' stores no capture rate.*--fps.*fps="):
        open_video(tiff)
    avi = write_video(tmp_path / "clip.avi", frames, playback_fps=30)
    with pytest.raises(ParameterError, match=r"only a playback rate \(30 fps\).*--fps"):
        open_video(avi)
    assert open_video(avi, fps=30).fps_source == "argument"
    np.testing.assert_array_equal(read_frames(tiff), frames)  # read_frames needs no rate


def test_frame_range_of_a_decoded_video(tmp_path, rng):
    frames = rng.integers(0, 256, (9, 8, 8)).astype(np.uint8)
    video = open_video(write_video(tmp_path / "clip.avi", frames, playback_fps=30), fps=30)
    assert not video.random_access
    part = video.read(3, 4)
    assert part.start == 3
    np.testing.assert_array_equal(part.frames, frames[3:7])
    assert len(video.read(7, 10)) == 2


def test_opencv_is_never_given_a_non_utf8_file_name(tmp_path, rng):
    import os

    frames = rng.integers(0, 256, (3, 8, 8)).astype(np.uint8)
    avi = write_video(tmp_path / "clip.avi", frames, playback_fps=30)
    odd = tmp_path / os.fsdecode(b"clip-\xff.avi")
    os.rename(avi, odd)
    # read through a link with a plain name, which OpenCV takes
    np.testing.assert_array_equal(read_frames(odd, fps=30), frames)
    tiff = tmp_path / os.fsdecode(b"stack-\xff.tif")
    tifffile.imwrite(tiff, frames, photometric="minisblack")
    np.testing.assert_array_equal(read_frames(tiff), frames)


def test_a_damaged_size_field_that_exhausts_memory_is_one_clear_error():
    # found by the fuzz tests: a damaged zlib stack whose strip asked tifffile for 23.8 GiB
    from vismic.errors import CorruptVideoError
    from vismic.io._tiff import _tifffile_guard

    with pytest.raises(CorruptVideoError, match="damaged"):
        with _tifffile_guard("TIFF file 'x.tif'", "pages 0..3"):
            raise MemoryError("Unable to allocate 23.8 GiB for an array with shape (1, 1, 1593835536, 16, 1)")


def _damaged_stack(path, tag: int, value: int):
    """A zlib stack of three 16x16 pages whose second page has ``tag`` set to ``value`` (a LONG)."""
    import struct

    with tifffile.TiffWriter(path) as writer:
        for _ in range(3):
            writer.write(np.zeros((16, 16), np.uint8), compression="zlib", contiguous=False)
    data = bytearray(path.read_bytes())
    entries = [i for i in range(8, len(data) - 12, 2)
               if data[i:i + 2] == struct.pack("<H", tag) and data[i + 2:i + 4] in (b"\x03\x00", b"\x04\x00")]
    at = entries[1]
    data[at + 2:at + 4], data[at + 8:at + 12] = struct.pack("<H", 4), struct.pack("<I", value)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("tag, error, match", [
    (257, "FrameShapeError", "16x1593835536"),  # ImageLength: a page of 23.8 GiB
    (279, "CorruptVideoError", "past the end of the file"),  # StripByteCounts: 4 GB of data in a 1 kB file
])
def test_damaged_size_fields_are_refused_before_anything_is_decoded(tmp_path, monkeypatch, tag, error, match):
    # found by the fuzz tests: the system granted the 23.8 GiB lazily and the OOM killer ended the run
    from vismic import errors

    decoded = []
    original = tifffile.TiffPage.asarray
    monkeypatch.setattr(tifffile.TiffPage, "asarray", lambda page, *a, **k: decoded.append(page.index)
                        or original(page, *a, **k))
    path = _damaged_stack(tmp_path / "damaged.tif", tag, 1593835536 if tag == 257 else 4_000_000_000)
    with pytest.raises(getattr(errors, error), match=match):
        read_frames(path, fps=1000)
    assert 1 not in decoded
