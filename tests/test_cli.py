import json

import numpy as np
import pytest
import soundfile as sf

from vismic.cli import main

FPS = 2200.0


@pytest.fixture
def video(tone_video):
    return tone_video(64, 0.2)


def test_recover_writes_a_standard_rate_wav(video, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert main(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet"]) == 0
    data, sr = sf.read(out)
    assert sr == 8000 and data.ndim == 1 and np.abs(data).max() > 0.9
    # the 330 Hz tone is what it recovered
    spectrum = np.abs(np.fft.rfft(data))
    assert abs(np.fft.rfftfreq(len(data), 1 / sr)[np.argmax(spectrum)] - 330) < 10


def test_recover_warns_of_a_motion_compensated_codec(tmp_path, capsys):
    from vismic import synth

    sound = synth.make_displacement(synth.tone(330.0, duration_seconds=0.2, sr=FPS), amplitude_px=0.05)
    scene = synth.render_scene(synth.texture("brick", size=(48, 48)), sound, noise_std=2.0, fps=FPS)
    synth.compress(scene.frames, codec="VP80", keep=tmp_path / "clip.mkv")
    assert main(["recover", str(tmp_path / "clip.mkv"), "--fps", "2200", "-o", str(tmp_path / "out.wav"),
                 "--codec-replica", "off"]) == 0
    err = capsys.readouterr().err
    assert "compressed with VP8 (VP80), an inter-frame codec" in err
    assert "estimated SNR" in err and "(the codec's error not counted)" in err


def _music_clip(folder, codec):
    """0.3 s of music moving brick at 48 px, written by OpenCV's ``codec`` writer as ``folder/clip.mkv``."""
    from vismic import synth

    sound = synth.make_displacement(synth.music(duration_seconds=0.3, sr=FPS, seed=1), amplitude_px=0.05)
    scene = synth.render_scene(synth.texture("brick", size=(48, 48)), sound, noise_std=2.0, fps=FPS)
    synth.compress(scene.frames, codec=codec, keep=folder / "clip.mkv")


def test_recover_repairs_a_vp8_files_key_frames_unless_told_not_to(tmp_path):
    pytest.importorskip("av")
    _music_clip(tmp_path, "VP80")
    for flag, repaired in (("auto", True), ("off", False)):
        assert main(["recover", str(tmp_path / "clip.mkv"), "--fps", "2200", "-o", str(tmp_path / "out.wav"),
                     "--codec-replica", "off", "--key-frames", flag]) == 0
        result = json.loads((tmp_path / "out.json").read_text())["result"]
        assert (result["key_frames"] is not None) is repaired
        if repaired:
            assert result["key_frames"]["repaired"] == len(range(0, 660 - 1, 12))  # the first frame too


def test_recover_measures_a_vp9_file_on_a_replica_unless_told_not_to(tmp_path, capsys):
    pytest.importorskip("av")
    _music_clip(tmp_path, "VP90")
    for flag, measured in (("on", True), ("off", False)):
        assert main(["recover", str(tmp_path / "clip.mkv"), "--fps", "2200", "-o", str(tmp_path / "out.wav"),
                     "--codec-replica", flag]) == 0
        err = capsys.readouterr().err
        assert "compressed with VP9 (VP90)" in err
        assert ("a replica through the codec gave)" in err) is measured
        assert ("(the codec's error not counted)" in err) is not measured
        result = json.loads((tmp_path / "out.json").read_text())["result"]
        assert (result["codec_replica"] is not None) is measured
        if measured:
            assert result["snr_estimate_db"] <= result["codec_replica"]["snr_db"]


def test_recover_unholds_an_mpeg4_file_when_told_to(tmp_path, capsys):
    from vismic import synth

    sound = synth.make_displacement(synth.music(duration_seconds=0.4, sr=FPS, seed=1), amplitude_px=0.05)
    scene = synth.render_nuisance_scene(synth.texture("gravel", size=(64, 64)), sound, noise_std=2.0, fps=FPS, seed=1)
    synth.compress(scene.frames, codec="mp4v", keep=tmp_path / "clip.avi")
    # (why it was unheld automatically, what the stage measured) in the sidecar
    for flag, expected in (("auto", (True, True)), (None, (False, False)), ("on", (False, True))):
        extra = [] if flag is None else ["--unhold", flag]
        assert main(["recover", str(tmp_path / "clip.avi"), "--fps", "2200", "-o", str(tmp_path / "out.wav")]
                    + extra) == 0
        err = capsys.readouterr().err
        assert "inter-frame codec" in err
        assert ("the coefficients the codec coded (unhold" in err) is expected[1]
        result = json.loads((tmp_path / "out.json").read_text())["result"]
        assert (result["unheld"] is not None, result["unhold"] is not None) == expected
    with pytest.raises(SystemExit):
        main(["recover", str(tmp_path / "clip.avi"), "--fps", "2200", "-o", str(tmp_path / "out.wav"),
              "--unhold", "maybe"])


def test_recover_options(video, tmp_path):
    out = tmp_path / "out.wav"
    assert main(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", "--roi", "8,8,48,48",
                 "--levels", "3", "--denoise", "none", "--resample", "none", "--float", "--band", "100,800"]) == 0
    info = sf.info(out)
    assert info.samplerate == 2200 and info.subtype == "FLOAT"


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.avi", "--fps", "2200"], "not found"),
        (["{video}", "--fps", "0"], "fps"),
        (["{video}", "--fps", "-5"], "fps"),
        (["{video}", "--fps", "abc"], "--fps"),
        (["{video}", "--fps", "2200", "--roi", "50,50,40,40"], "roi"),
        (["{video}", "--fps", "2200", "--roi", "1,2,3"], "--roi"),
        (["{video}", "--fps", "2200", "--denoise", "magic"], "denoise"),
        (["{video}", "--fps", "2200", "--max-frames", "10"], "frames"),
    ],
)
def test_bad_input_gives_one_line_and_no_file(video, tmp_path, capsys, args, message):
    out = tmp_path / "out.wav"
    args = [a.replace("{video}", str(video)) for a in args]
    assert main(["recover", *args, "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("vismic: error:") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not out.exists()


def test_unwritable_output_fails_before_work(video, tmp_path, capsys):
    assert main(["recover", str(video), "--fps", "2200", "-o", str(tmp_path / "no" / "out.wav")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_existing_output_is_kept_on_failure(video, tmp_path):
    out = tmp_path / "out.wav"
    out.write_bytes(b"old")
    assert main(["recover", str(video), "--fps", "2200", "--max-frames", "5", "-o", str(out), "--quiet"]) == 2
    assert out.read_bytes() == b"old"


def test_frame_folder_with_mixed_sizes(tmp_path, capsys):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(40):
        cv2.imwrite(str(folder / f"f{i}.png"), np.full((32 if i < 20 else 34, 32), 100, np.uint8))
    assert main(["recover", str(folder), "--fps", "1000", "-o", str(tmp_path / "o.wav"), "--quiet"]) == 2
    assert "size" in capsys.readouterr().err


def test_demo_runs(tmp_path, capsys):
    out = tmp_path / "demo.wav"
    assert main(["demo", "-o", str(out), "--size", "48", "--seconds", "0.3", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "Cramer-Rao bound" in text and "vismic" in text and out.exists()
    assert text.count("n/a") == 3  # STOI needs 0.4 s of sound: not scored rather than refused
    assert "dB denoised (the default)" in text  # the denoised output's own estimate, beside the table's row


def test_a_bug_shows_as_a_bug(video, tmp_path, capsys, monkeypatch):
    import vismic.recover

    def broken(*args, **kwargs):
        raise ValueError("an internal mistake")

    monkeypatch.setattr(vismic.recover, "recover_sound", broken)
    assert main(["recover", str(video), "--fps", "2200", "-o", str(tmp_path / "out.wav"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "an internal mistake" in err and "bug in vismic" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grid", "0,4"], "grid"),
        (["--levels", "0"], "--levels"),
        (["--sources", "0"], "--sources"),
        (["--highpass", "5000"], "highpass"),
        (["--band", "900,100"], "--band"),
        (["--downsample", "0"], "downsample"),
    ],
)
def test_bad_options_are_user_errors(video, tmp_path, capsys, args, message):
    out = tmp_path / "out.wav"
    assert main(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("vismic: error:") and message in err[-1] and "Traceback" not in "\n".join(err)


def test_equalise_runs_before_denoising(video, tmp_path, monkeypatch):
    import numpy as np

    import vismic.recover
    from vismic.calibrate import Response

    flat = Response(np.linspace(0, 1100, 129), np.ones(129), np.ones(129), sr=FPS, n_fft=256)
    path = flat.save(tmp_path / "flat.npz")
    seen = {}
    original = vismic.recover.recover_sound

    def spy(*args, pipeline=None, **kwargs):
        seen["steps"] = [n for n, _ in pipeline.steps]
        return original(*args, pipeline=pipeline, **kwargs)

    monkeypatch.setattr(vismic.recover, "recover_sound", spy)
    assert main(["recover", str(video), "--fps", "2200", "-o", str(tmp_path / "o.wav"), "--quiet",
                 "--equalise", str(path)]) == 0
    assert seen["steps"][-2:] == ["equalise", "denoise"]


def test_demo_and_calibrate_outputs_carry_their_formats_name_and_minus_q_is_errors_only(tmp_path, capsys):
    # demo wrote WAV data into d.mp3, calibrate an archive into r.txt; -q still printed the scores
    assert main(["demo", "-o", str(tmp_path / "d.mp3"), "--size", "48", "--seconds", "0.3"]) == 2
    assert "must end in .wav" in capsys.readouterr().err and not (tmp_path / "d.mp3").exists()
    assert main(["calibrate", "v.avi", "--fps", "2200", "--played", "p.wav", "-o", str(tmp_path / "r.txt")]) == 2
    assert "must end in .npz" in capsys.readouterr().err
    assert main(["-q", "demo", "-o", str(tmp_path / "d.wav"), "--size", "48", "--seconds", "0.3"]) == 0
    assert capsys.readouterr().out == "" and (tmp_path / "d.wav").exists()


def test_an_equaliser_measured_at_another_rate_is_refused_before_the_recovery(video, tmp_path, capsys, monkeypatch):
    # refused after the whole recovery, in words that named neither --equalise nor --fps
    import numpy as np

    import vismic.recover
    from vismic.calibrate import Response

    path = Response(np.linspace(0, 1100, 129), np.ones(129), np.ones(129), sr=FPS, n_fft=256).save(tmp_path / "r.npz")
    ran = []
    monkeypatch.setattr(vismic.recover._sound, "recover_once", lambda *args, **kwargs: ran.append(1))
    out = tmp_path / "o.wav"
    assert main(["recover", str(video), "--fps", str(2 * FPS), "-o", str(out), "--quiet", "--equalise", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--equalise" in err and f"{2 * FPS:g} fps" in err and not ran and not out.exists()


@pytest.mark.parametrize("args", [["--size", "0"], ["--seconds", "-1"], ["--fps", "0"], ["--seconds", "0.01"],
                                  ["--size", "20000"],  # 22 frames named a temporary file; 1.2 TiB was rendered
                                  ["--size", "32", "--seconds", "0.1", "--fps", "1e7"],  # 6 GB the pixels' guard let by
                                  ["--amplitude", "0"]])  # "non-negative" said, then refused as not positive
def test_demo_bad_options(tmp_path, capsys, args):
    assert main(["demo", "-o", str(tmp_path / "d.wav"), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and (args[0] in err or "needs about" in err)  # the option named, not a temporary file
