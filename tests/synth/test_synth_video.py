import cv2
import numpy as np
import pytest

from vismic import synth
from vismic.errors import OutputError


@pytest.fixture
def scene():
    texture = synth.texture("coins", size=(24, 40))
    return synth.render_scene(texture, np.random.default_rng(0).normal(0, 0.3, 12), noise_std=2.0)


def read_all(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame[..., 0] if frame.ndim == 3 else frame)
    capture.release()
    return np.array(frames)


def test_avi_is_lossless_and_atomic(scene, tmp_path):
    path = scene.write_video(tmp_path / "clip.avi", playback_fps=30)
    assert path == tmp_path / "clip.avi"
    np.testing.assert_array_equal(read_all(path), scene.frames)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi"]  # no temporary left


def test_png_folder(scene, tmp_path):
    folder = scene.write_video(tmp_path / "frames")
    names = sorted(p.name for p in folder.glob("frame_*.png"))
    assert names[0] == "frame_000000.png" and len(names) == len(scene)
    np.testing.assert_array_equal(cv2.imread(str(folder / names[5]), cv2.IMREAD_UNCHANGED), scene.frames[5])
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("not frames")
    with pytest.raises(OutputError, match="mine"):
        scene.write_video(tmp_path / "mine")  # a folder vismic did not write is never replaced


def test_lossy_or_unknown_containers_are_refused(scene, tmp_path):
    with pytest.raises(OutputError, match="'.mp4'"):
        scene.write_video(tmp_path / "clip.mp4")
    with pytest.raises(OutputError, match="does not exist"):
        scene.write_video(tmp_path / "missing" / "clip.avi")


def test_one_writer_for_the_test_bed_and_the_library():
    assert not hasattr(synth, "write_video")  # Scene.write_video calls vismic.io.write_video
