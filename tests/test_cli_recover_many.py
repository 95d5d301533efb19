"""vismic recover: camera files without --fps, provenance sidecar, report, motion, many inputs, workers."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vismic import synth
from vismic.cli import main

sys.path.insert(0, str(Path(__file__).parent / "io"))
from camera_writers import write_cine, write_photron  # noqa: E402

FPS = 2200.0


@pytest.fixture(scope="module")
def frames():
    sound = synth.tone(330.0, duration_seconds=0.1, sr=FPS)
    scene = synth.render_scene(synth.texture("brick", size=(48, 48)), synth.make_displacement(sound, amplitude_px=0.1),
                               noise_std=1, fps=FPS)
    return scene.frames


@pytest.fixture(scope="module")
def videos(frames, tmp_path_factory):
    from vismic.io import write_video

    folder = tmp_path_factory.mktemp("videos")
    return [write_video(folder / f"clip{i}.avi", frames) for i in range(2)]


def test_cine_needs_no_fps_and_the_sidecar_names_the_rate(frames, tmp_path, capsys):
    cine = tmp_path / "shot.cine"
    write_cine(cine, frames, fps=2200)
    out = tmp_path / "out.wav"
    assert main(["recover", str(cine), "-o", str(out)]) == 0
    assert "SETUP.FrameRate" in capsys.readouterr().err
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert sidecar["input"]["fps"] == 2200 and "SETUP.FrameRate" in sidecar["input"]["fps_source"]
    assert sidecar["pipeline"] and sidecar["wav"]["sr"] == sf.info(out).samplerate


def test_photron_needs_no_fps_and_the_save_step_sets_the_rate(frames, tmp_path):
    header, _ = write_photron(tmp_path / "shot", np.round(frames).astype(np.uint16) * 16, bits=16,
                              record_rate=8800, save_step=4)
    out = tmp_path / "out.wav"
    assert main(["recover", str(header), "-o", str(out), "--quiet"]) == 0
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert sidecar["input"]["fps"] == 2200 and "Save Step" in sidecar["input"]["fps_source"]


def test_a_playback_rate_only_file_still_asks_for_fps(videos, tmp_path, capsys):
    assert main(["recover", str(videos[0]), "-o", str(tmp_path / "out.wav"), "--quiet"]) == 2
    assert "--fps" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_report_and_motion_and_no_sidecar(videos, tmp_path):
    out, motion, page = tmp_path / "out.wav", tmp_path / "motion.csv", tmp_path / "page.html"
    assert main(["recover", str(videos[0]), "--fps", "2200", "-o", str(out), "--quiet", "--no-sidecar",
                 "--save-motion", str(motion), "--report", str(page), "--denoise", "none"]) == 0
    assert not (tmp_path / "out.json").exists()
    assert motion.read_text().count("\n") > 200 and "<audio" in page.read_text()


def test_many_videos_one_wav_each_and_a_bad_one_does_not_stop_the_rest(videos, tmp_path, capsys):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video at all")
    outdir = tmp_path / "out"
    code = main(["recover", str(videos[0]), str(broken), str(videos[1]), "--fps", "2200", "-o", f"{outdir}/",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "broken.avi" in err and "recovered 2 of 3" in err
    assert sorted(p.name for p in outdir.iterdir()) == ["clip0.json", "clip0.wav", "clip1.json", "clip1.wav"]


def test_workers_give_the_serial_wav(videos, tmp_path):
    serial, pooled = tmp_path / "serial.wav", tmp_path / "pooled.wav"
    common = ["--fps", "2200", "--quiet", "--denoise", "none", "--grid", "2,2"]
    assert main(["recover", str(videos[0]), "-o", str(serial)] + common) == 0
    assert main(["recover", str(videos[0]), "-o", str(pooled), "--workers", "2"] + common) == 0
    np.testing.assert_array_equal(sf.read(serial)[0], sf.read(pooled)[0])


@pytest.mark.parametrize("option, message", [
    (["--workers", "0"], "--workers"),
    (["--workers", "two"], "--workers"),
    (["--device", "tpu"], "device"),
    (["--scheduler", "tcp://127.0.0.1:9", "--workers", "2"], "not both"),
])
def test_bad_parallel_options_are_one_line(videos, tmp_path, capsys, option, message):
    out = tmp_path / "out.wav"
    assert main(["recover", str(videos[0]), "--fps", "2200", "-o", str(out), "--quiet"] + option) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not out.exists()


def test_a_scheduler_that_does_not_answer_is_one_line(videos, tmp_path, capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "out.wav"
    code = main(["recover", str(videos[0]), "--fps", "2200", "-o", str(out), "--quiet",
                 "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "did not answer" in err and not out.exists()


@pytest.mark.parametrize("option, message", [
    (["--max-memory", "0"], "--max-memory"),
    (["--batch-size", "0"], "--batch-size"),
    (["--stabilise", "--rolling-shutter", "--line-delay", "1e-5"], "--stabilise"),
    (["--unhold", "auto", "--rolling-shutter", "--line-delay", "1e-5"], "--unhold"),  # it was ignored
])
def test_bad_batching_and_stabilise_options(videos, tmp_path, capsys, option, message):
    out = tmp_path / "out.wav"
    assert main(["recover", str(videos[0]), "--fps", "2200", "-o", str(out), "--quiet"] + option) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_stabilise_and_small_batches_run(videos, tmp_path):
    out = tmp_path / "out.wav"
    assert main(["recover", str(videos[0]), "--fps", "2200", "-o", str(out), "--quiet", "--stabilise",
                 "--max-memory", "0.05", "--denoise", "none"]) == 0
    assert sf.info(out).frames > 0


def test_the_sidecar_lists_the_stabiliser_a_second_pass_added(tmp_path):
    from vismic.io import write_video

    sound = synth.music(duration_seconds=0.3, sr=FPS)
    drift = synth.drift_motion(len(sound), total_px=4.0)
    scene = synth.render_nuisance_scene(synth.texture("brick", size=(72, 72)),
                                        synth.make_displacement(sound, amplitude_px=0.05), shift_x_px=drift,
                                        noise_std=2, fps=FPS, crop_px=4)
    video = write_video(tmp_path / "drift.avi", scene.frames)
    out = tmp_path / "out.wav"
    assert main(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", "--denoise", "none"]) == 0
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert sidecar["result"]["stabilised"].startswith("automatically")
    assert "stabilise" in [step["name"] for step in sidecar["pipeline"]["steps"]]


def test_a_run_that_writes_nothing_leaves_no_output_folder_behind(tmp_path, capsys):
    from vismic.io import write_video

    short = write_video(tmp_path / "short.avi", np.zeros((3, 16, 16), np.uint8))
    folder = tmp_path / "new"
    assert main(["recover", str(short), "--fps", "2200", "-o", f"{folder}/", "--quiet"]) == 2
    assert "short.avi has 3 frames" in capsys.readouterr().err  # it said "the video"
    assert not folder.exists()
    assert main(["recover", str(short), str(short), "--fps", "2200", "-o", f"{folder}/", "--quiet"]) == 2
    assert "is given twice" in capsys.readouterr().err and not folder.exists()


def test_a_scheduler_address_that_is_not_one_is_named(videos, tmp_path, capsys):
    pytest.importorskip("distributed")
    assert main(["recover", str(videos[0]), "--fps", "2200", "-o", str(tmp_path / "o.wav"), "--quiet",
                 "--scheduler", "foo"]) == 2
    assert "'foo' is not a Dask scheduler's address" in capsys.readouterr().err  # "did not answer within 10 s"
