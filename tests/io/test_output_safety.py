"""Outputs never overwrite or delete the user's inputs (CLI and API)."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from vismic import cli
from vismic.errors import OutputError
from vismic.io import write_video
from vismic.io._atomic import FOLDER_MARK, check_not_input


def _digest(path: Path) -> str:
    if path.is_dir():
        return "".join(_digest(p) + p.name for p in sorted(path.iterdir()))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clip(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (40, 32, 32), dtype=np.uint8)
    return write_video(tmp_path / "clip.avi", frames)


def test_recover_refuses_to_write_over_its_video(clip, capsys):
    before = _digest(clip)
    assert cli.main(["recover", str(clip), "--fps", "2200", "-o", str(clip), "--quiet"]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert _digest(clip) == before


def test_recover_refuses_a_link_to_its_video(clip, tmp_path):
    link = tmp_path / "link.wav"
    os.symlink(clip, link)
    before = _digest(clip)
    assert cli.main(["recover", str(clip), "--fps", "2200", "-o", str(link), "--quiet"]) == 2
    assert _digest(clip) == before


def test_recover_refuses_a_plot_over_the_wav(clip, tmp_path):
    out = tmp_path / "out.wav"
    assert cli.main(["recover", str(clip), "--fps", "2200", "-o", str(out), "--plot", str(out), "--quiet"]) == 2
    assert not out.exists()


def test_output_inside_an_input_folder_is_refused(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    with pytest.raises(OutputError):
        check_not_input(folder / "out.wav", [folder], what="WAV file")
    with pytest.raises(OutputError):  # a folder output holding the input would be replaced
        check_not_input(tmp_path, [folder / "frame_0.png"], what="frame folder")
    check_not_input(tmp_path / "elsewhere.wav", [folder, None], what="WAV file")


def test_hard_link_to_an_input_is_refused(clip, tmp_path):
    hard = tmp_path / "hard.wav"
    os.link(clip, hard)
    with pytest.raises(OutputError):
        check_not_input(hard, [clip], what="WAV file")


def test_recovery_to_wav_refuses_its_source(clip):
    import vismic

    rec = vismic.recover_sound(clip, fps=2200, denoise=None)
    before = _digest(clip)
    with pytest.raises(OutputError, match="would overwrite the input"):
        rec.to_wav(clip)
    assert _digest(clip) == before


def test_frame_folder_never_replaces_a_users_folder(tmp_path):
    frames = np.zeros((3, 8, 8), dtype=np.uint8)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    with pytest.raises(OutputError, match="not empty"):
        write_video(folder, frames)
    assert (folder / "thesis.txt").read_text() == "years of work"
    write_video(folder, frames, overwrite=True)
    assert not (folder / "thesis.txt").exists()


def test_frame_folder_replaces_its_own_output_and_fills_an_empty_one(tmp_path):
    frames = np.zeros((3, 8, 8), dtype=np.uint8)
    empty = tmp_path / "empty"
    empty.mkdir()
    write_video(empty, frames)
    assert (empty / FOLDER_MARK).is_file() and len(list(empty.glob("*.png"))) == 3
    write_video(empty, frames[:2])  # vismic wrote it: replaced without asking
    assert len(list(empty.glob("*.png"))) == 2


def test_magnify_refuses_existing_folder_and_its_input(tmp_path, capsys):
    frames_dir = tmp_path / "frames"
    write_video(frames_dir, np.random.default_rng(1).integers(0, 256, (4, 16, 16), dtype=np.uint8))
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("keep")
    before = {p: _digest(p) for p in (frames_dir, other)}
    for target in (other, frames_dir, frames_dir / "frame_000000.png"):
        code = cli.main(["magnify", str(frames_dir), "-o", str(target), "--alpha", "10"])
        assert code == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "would overwrite the input" in err
    assert {p: _digest(p) for p in (frames_dir, other)} == before


def test_odd_sided_frames_are_refused_for_a_video_file_and_kept_in_a_frame_folder(tmp_path):
    # OpenCV's writer stored 63x61 frames as 62x60 and the read-back check only counted frames
    from vismic.errors import FrameShapeError
    from vismic.io import read_frames

    frames = np.random.default_rng(0).integers(0, 256, (4, 63, 61), dtype=np.uint8)
    for name in ("odd.avi", "odd.mkv"):
        with pytest.raises(FrameShapeError, match="61x63 px frames have an odd side"):
            write_video(tmp_path / name, frames)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert np.array_equal(read_frames(write_video(tmp_path / "frames", frames), fps=1000.0), frames)


def test_the_sidecar_never_replaces_a_json_file_vismic_did_not_write(clip, tmp_path, capsys):
    # the sidecar's name comes from the WAV's: a clip.json of the user's own beside clip.wav was replaced
    out = tmp_path / "clip.wav"
    mine = tmp_path / "clip.json"
    mine.write_text('{"camera": 1}')
    assert cli.main(["recover", str(clip), "--fps", "2200", "-o", str(out), "--quiet"]) == 2
    assert "is not a sidecar vismic wrote" in capsys.readouterr().err
    assert mine.read_text() == '{"camera": 1}' and not out.exists()
    assert cli.main(["recover", str(clip), "--fps", "2200", "-o", str(out), "--quiet", "--no-sidecar"]) == 0
    mine.unlink()
    for _ in range(2):  # its own sidecar is replaced by a rerun
        assert cli.main(["recover", str(clip), "--fps", "2200", "-o", str(out), "--quiet"]) == 0
    assert '"vismic_version"' in mine.read_text()


def test_lossless_video_into_a_container_that_cannot_hold_it_is_refused_before_opencv_tries(tmp_path, capfd):
    # OpenCV printed a line for each lossless codec it tried in an .mp4 before vismic's error
    frames = np.zeros((4, 16, 16), np.uint8)
    with pytest.raises(OutputError, match=r"\.avi, \.mkv, \.mov or \.nut files, not '\.mp4'"):
        write_video(tmp_path / "out.mp4", frames)
    assert "OpenCV" not in capfd.readouterr().err and not list(tmp_path.iterdir())


def test_a_wav_written_over_a_file_keeps_its_permissions_and_a_read_only_one_is_refused(tmp_path, monkeypatch):
    from vismic.data import Audio

    out = tmp_path / "private.wav"
    out.write_bytes(b"old")
    os.chmod(out, 0o600)
    Audio(np.sin(np.arange(2000) / 5.0), sr=2000).to_wav(out)
    assert out.stat().st_mode & 0o777 == 0o600 and out.read_bytes()[:4] == b"RIFF"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if str(path) == str(out) and mode == os.W_OK
                        else real_access(path, mode, **kw))
    before = out.read_bytes()
    with pytest.raises(OutputError, match="read-only"):
        Audio(np.zeros(2000), sr=2000).to_wav(out)
    assert out.read_bytes() == before
