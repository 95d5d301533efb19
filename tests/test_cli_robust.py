"""Every number of the command line checked before any work, as one ``vismic: error:`` line; --strict."""

import numpy as np
import pytest

from vismic import synth
from vismic.cli import main
from vismic.io import write_video

FPS = 2200.0


@pytest.fixture
def video(tone_video):
    return tone_video(64, 0.1)


@pytest.fixture(scope="module")
def still(tmp_path_factory):
    frame = np.round(synth.texture("brick", size=(64, 64))).astype(np.uint8)
    return write_video(tmp_path_factory.mktemp("s") / "still.avi", np.repeat(frame[None], 120, 0), playback_fps=30)


def run(argv) -> int:
    """main's exit code, also where argparse itself stops (it exits with SystemExit(2))."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("vismic: error:")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err) and "usage:" not in "\n".join(err), err
    return errors[0]


@pytest.mark.parametrize(
    "args, says",
    [
        (["--roi", "inf,0,10,10"], "--roi"),
        (["--roi", "-5,0,10,10"], ">= 0"),
        (["--grid", "inf,1"], "--grid"),
        (["--grid", "1000,1000"], "largest grid allowed is (8, 8)"),
        (["--grid", "64,64"], "largest grid allowed"),
        (["--resample", "inf"], "audio rate"),
        (["--resample", "7.5"], "audio rate"),
        (["--resample", "-8000"], "audio rate"),
        (["--highpass", "nan"], "finite"),
        (["--highpass", "-1"], "--highpass"),
        (["--band", "nan,100"], "--band"),
        (["--band", "-5,100"], "--band"),
        (["--levels", "-2"], "--levels"),
        (["--sources", "-1"], "--sources"),
        (["--max-frames", "0"], "--max-frames"),
        (["--downsample", "-3"], "--downsample"),
        (["--rolling-shutter", "--line-delay", "nan"], "finite"),
        (["--levels", "x"], "invalid int"),
        (["--no-such-option"], "unrecognized"),
    ],
)
def test_recover_numbers_are_one_line(video, tmp_path, capsys, args, says):
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", *args]) == 2
    assert says in one_error_line(capsys)
    assert not out.exists()


def test_missing_value_is_one_line_with_a_hint(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["recover", "x.avi", "--fps"])
    assert stop.value.code == 2
    line = one_error_line(capsys)
    assert "--fps" in line and "vismic recover --help" in line


def test_equalise_fake_zip_is_one_line(video, tmp_path, capsys):
    fake = tmp_path / "fake.npz"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    assert run(["recover", str(video), "--fps", "2200", "-o", str(tmp_path / "o.wav"), "-q",
                 "--equalise", str(fake)]) == 2
    assert "fake.npz" in one_error_line(capsys)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--alpha", "nan"], "finite"),
        (["--alpha", "-1"], "--alpha"),
        (["--alpha", "5", "--batch-size", "0"], "--batch-size"),
        (["--alpha", "5", "--tile", "3"], "--tile"),
        (["--alpha", "5", "--mode", "temporal", "--fl", "50", "--fh", "10", "--fps", "100"], "--fl < --fh"),
        (["--alpha", "5", "--fps", "-100"], "--fps"),
    ],
)
def test_magnify_numbers_are_one_line(video, tmp_path, capsys, args, says):
    out = tmp_path / "m.avi"
    assert run(["magnify", str(video), "-o", str(out), *args]) == 2
    assert says in one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--steps", "0"], "--steps"),
        (["--steps", "-5"], "--steps"),
        (["--hours", "-1"], "--hours"),
        (["--hours", "nan"], "finite"),
        (["--steps", "1", "--lr", "0"], "--lr"),
        (["--steps", "1", "--batch-size", "0"], "--batch-size"),
        (["--steps", "1", "--patch-size", "10"], "--patch-size"),
    ],
)
def test_train_bounds_that_do_nothing_or_never_stop_are_refused(tmp_path, capsys, args, says):
    run_dir = tmp_path / "run"
    assert run(["train-magnet", str(run_dir), *args]) == 2
    assert says in one_error_line(capsys)
    assert not run_dir.exists()


def test_train_damaged_checkpoint_is_one_line(tmp_path, capsys):
    pytest.importorskip("torch")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert run(["train-magnet", str(run_dir), "--steps", "1"]) == 2
    line = one_error_line(capsys)
    assert "checkpoint.pt" in line and "delete" in line


def test_train_missing_device_is_one_line(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert run(["train-magnet", str(tmp_path / "run"), "--steps", "1", "--device", "cuda"]) == 2
    assert "--device cuda asked for, but this machine has no CUDA GPU" in one_error_line(capsys)


@pytest.mark.parametrize("args", [["--n-fft", "2"], ["--smoothing", "nan"], ["--roi", "0,0,inf,5"]])
def test_calibrate_numbers_are_one_line(video, tmp_path, capsys, args):
    played = tmp_path / "played.wav"
    import soundfile

    soundfile.write(played, np.zeros(100), 8000)
    assert run(["calibrate", str(video), "--fps", "2200", "--played", str(played), "-o", str(tmp_path / "r.npz"),
                 "--quiet", *args]) == 2
    one_error_line(capsys)


def test_identical_frames_warn_and_strict_writes_nothing(still, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert run(["recover", str(still), "--fps", "2200", "-o", str(out), "--quiet", "--strict"]) == 2
    err = capsys.readouterr().err
    assert "vismic: warning: no motion found" in err and "--strict" in err
    assert not out.exists() and not out.with_suffix(".json").exists()
    run(["recover", str(still), "--fps", "2200", "-o", str(out)])  # the WAV writer refuses silence itself
    assert "vismic: warning: no motion found" in capsys.readouterr().err


def test_strict_writes_a_good_recovery(video, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", "--strict"]) == 0
    assert out.exists() and "unreliable" not in capsys.readouterr().err


def test_strict_refuses_on_any_warning_said_not_only_the_findings(tmp_path, capsys):
    # a blank lead-in is said by a VismicWarning, not in rec.info["warnings"]: --help promises "any warning"
    sound = synth.music(duration_seconds=0.15, sr=2200.0)
    frames = synth.render_scene(synth.texture("brick", size=(48, 48)), synth.make_displacement(sound, amplitude_px=0.05),
                                noise_std=2.0, fps=2200.0).frames
    frames[:30] = 0.0
    video = write_video(tmp_path / "lead.avi", np.round(frames).clip(0, 255).astype(np.uint8))
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", "--strict"]) == 2
    err = capsys.readouterr().err
    assert "vismic: warning: the first 30 frames" in err and "1 warning(s) above" in err and not out.exists()
    assert run(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet"]) == 0 and out.exists()


def test_python_dash_m_vismic_runs():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "vismic", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "vismic" in done.stdout


@pytest.mark.parametrize(
    "names, says",
    [
        ({"-o": "out.mp3"}, "-o 'OUT/out.mp3' must end in .wav"),
        ({"--save-motion": "m.txt"}, "must end in .npz or .csv"),
        ({"--save-motion": "out.json"}, "the sidecar and --save-motion both name"),
        ({"--report": "r.txt"}, "must end in .html or .htm"),
        ({"--plot": "p.txt"}, "--plot 'OUT/p.txt' must end in"),
        ({"--plot": "p"}, "must end in"),  # matplotlib would have written p.png
    ],
)
def test_output_names_are_checked_before_anything_is_written(video, tmp_path, capsys, names, says):
    (tmp_path / "out.wav").write_bytes(b"old")
    argv = ["recover", str(video), "--fps", str(FPS), "-o", str(tmp_path / "out.wav"), "--quiet"]
    for option, name in names.items():
        if option == "-o":
            argv[argv.index("-o") + 1] = str(tmp_path / name)
        else:
            argv += [option, str(tmp_path / name)]
    assert run(argv) == 2
    assert says.replace("OUT", str(tmp_path)) in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"] and (tmp_path / "out.wav").read_bytes() == b"old"


def test_output_folder_names_say_what_is_wrong(video, tmp_path, capsys):
    (tmp_path / "file.wav").write_bytes(b"old")
    assert run(["recover", str(video), "--fps", str(FPS), "-o", f"{tmp_path / 'file.wav'}/", "--quiet"]) == 2
    assert "names a folder, and it is a file" in one_error_line(capsys)
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(tmp_path / "file.wav" / "x.wav"), "--quiet"]) == 2
    assert "is a file, not a folder" in one_error_line(capsys)
    assert run(["recover", str(video), str(video), "--fps", str(FPS), "-o", str(tmp_path / "two.wav"), "--quiet"]) == 2
    assert "several videos need -o to be a folder" in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.wav"]


def test_white_frames_say_blank_and_write_nothing(tmp_path, capsys):
    white = write_video(tmp_path / "white.avi", np.full((120, 32, 32), 255, dtype=np.uint8), playback_fps=30)
    out = tmp_path / "out.wav"
    assert run(["recover", str(white), "--fps", str(FPS), "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "blank frames" in err and "nothing was recovered" in err and "Traceback" not in err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_a_low_frame_rate_asks_for_a_lower_highpass_and_runs_with_it(tmp_path, capsys):
    frames = np.round(synth.texture("brick", size=(32, 32))).astype(np.uint8)
    moving = np.stack([np.roll(frames, k % 2, axis=1) for k in range(300)])  # a 15 Hz square wave at 30 fps
    video = write_video(tmp_path / "slow.avi", moving, playback_fps=30)
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", "30", "-o", str(out), "--quiet"]) == 2
    assert "not below the Nyquist frequency of 30 fps (15 Hz)" in one_error_line(capsys)
    assert run(["recover", str(video), "--fps", "30", "-o", str(out), "--quiet", "--highpass", "0"]) == 0
    assert out.exists()


def test_batch_size_and_max_memory_together_are_refused(video, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(out), "--quiet", "--batch-size", "4",
                "--max-memory", "4"]) == 2
    assert "--batch-size or --max-memory, not both" in one_error_line(capsys)
    assert not out.exists()
    # --batch-size alone: refused every time while --max-memory had a default of its own
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(out), "--quiet", "--batch-size", "8"]) == 0
    assert out.exists()


def test_with_several_videos_each_warning_names_its_video(video, still, tmp_path, capsys):
    assert run(["recover", str(video), str(still), "--fps", str(FPS), "-o", f"{tmp_path / 'out'}/"]) == 2
    err = capsys.readouterr().err  # the still video: nothing recovered, nothing written
    assert f"vismic: warning: {still}: no motion found" in err and "recovered 1 of 2 videos" in err, err


def test_a_band_past_nyquist_is_refused_before_the_recovery_and_zero_means_no_lower_edge(video, tmp_path, capsys,
                                                                                        monkeypatch):
    import vismic.recover

    ran = []
    monkeypatch.setattr(vismic.recover._sound, "recover_once", lambda *args, **kwargs: ran.append(1))
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(out), "--quiet", "--band", f"{FPS},{2 * FPS}"]) == 2
    assert "at or above the Nyquist frequency" in one_error_line(capsys) and not ran and not out.exists()
    monkeypatch.undo()
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(out), "--quiet", "--band", "0,500"]) == 0
    assert out.exists()  # it said "low_hz must be a positive number" after the whole recovery


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError(28, "No space left on device", "out.json")])
def test_stopped_after_the_wav_leaves_no_wav_without_its_sidecar(video, tmp_path, capsys, monkeypatch, stop):
    import vismic.report

    def stopped(*args, **kwargs):
        raise stop

    monkeypatch.setattr(vismic.report, "write_sidecar", stopped)
    out = tmp_path / "out.wav"
    keep = tmp_path / "other.wav"
    keep.write_bytes(b"RIFF not ours")
    assert run(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet"]) in (2, 130)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.wav"]
    assert keep.read_bytes() == b"RIFF not ours"
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError(28, "No space left on device", "out.html")])
def test_a_run_stopped_while_it_writes_leaves_the_last_runs_outputs(video, tmp_path, capsys, monkeypatch, stop):
    # the outputs it had replaced were removed, and the last run's with them: its WAV, sidecar and plot gone
    import vismic.report

    out, plot, report = tmp_path / "out.wav", tmp_path / "plot.png", tmp_path / "report.html"
    command = ["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", "--plot", str(plot),
               "--report", str(report)]
    assert run(command) == 0
    last = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert sorted(last) == ["out.json", "out.wav", "plot.png", "report.html"]

    def stopped(*args, **kwargs):
        raise stop

    monkeypatch.setattr(vismic.report, "write_report", stopped)  # the last output: the others are new by then
    assert run(command + ["--denoise", "none"]) in (2, 130)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == last
    assert "Traceback" not in capsys.readouterr().err


def test_no_sidecar_takes_away_the_sidecar_of_the_wav_it_replaces(video, tmp_path):
    # the old sidecar stayed beside the new WAV and described another recording
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet"]) == 0
    assert (tmp_path / "out.json").exists()
    assert run(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", "--no-sidecar"]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.wav"]
    mine = tmp_path / "other.json"
    mine.write_text('{"mine": 1}')
    assert run(["recover", str(video), "--fps", "2200", "-o", str(tmp_path / "other.wav"), "--quiet",
                "--no-sidecar"]) == 0
    assert mine.read_text() == '{"mine": 1}'  # not a sidecar of vismic's: not touched


def test_outputs_together_keeps_files_it_did_not_write(tmp_path):
    from vismic._cli_helpers import outputs_together

    before, written = tmp_path / "before.wav", tmp_path / "new.json"
    before.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with outputs_together([before, written]):
            written.write_text("{}")
            raise RuntimeError("stopped")
    assert before.read_bytes() == b"old" and not written.exists()


def test_resample_none_with_a_fractional_rate_is_refused_before_the_recovery(video, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", "2200.5", "--resample", "none", "-o", str(out), "--quiet"]) == 2
    line = one_error_line(capsys)
    assert "--resample none keeps the capture rate, 2200.5 fps" in line and "target_sr" not in line
    assert not out.exists()


def test_a_bare_switch_before_the_video_does_not_take_its_name(video, tmp_path):
    # "invalid choice: 'clip.avi'" for --stabilise and --unhold written before the video
    for switch in ("--stabilise", "--unhold"):
        out = tmp_path / f"{switch[2:]}.wav"
        assert run(["recover", switch, str(video), "--fps", "2200", "-o", str(out), "--quiet"]) == 0
        assert out.exists()


def test_a_mistyped_switch_value_is_named_not_taken_for_a_video(video, tmp_path, capsys):
    # "--stabilise Off clip.avi" said "several videos need -o to be a folder"; with -o a folder it took "Off"
    # for a missing video and recovered the other one
    out = tmp_path / "out.wav"
    for argv in (["--stabilise", "Off", str(video)], [str(video), "--unhold", "yes"]):
        assert run(["recover", *argv, "--fps", "2200", "-o", str(out), "--quiet"]) == 2
        assert "invalid choice" in one_error_line(capsys) and not out.exists()


def test_method_and_tile_are_checked_in_the_command_lines_words(video, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet", "--denoise", "foo"]) == 2
    assert "--denoise must be one of" in one_error_line(capsys)  # it said "denoise must be ... or None"
    assert run(["magnify", str(video), "--alpha", "5", "-o", str(tmp_path / "m.avi"), "--tile", "16"]) == 2
    assert "--tile" in one_error_line(capsys)  # it said "tile must be an integer >= 32, given tile=16"


def test_the_progress_bar_counts_a_step_of_other_frames_without_a_total(monkeypatch):
    # the codec replica's noise search showed the bar stuck at the last pass's share for tens of seconds
    import io

    from vismic._cli_helpers import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    progress = Progress(120, True)
    progress(60)
    progress.restart("codec replica: matching the file's noise", counted=False)
    progress(257)
    assert progress.bar.total is None and progress.bar.n == 257
    progress.restart("codec replica")
    assert progress.bar.total == 120 and progress.bar.n == 0
    progress.close()


def test_errors_name_the_command_lines_options(video, tmp_path, capsys):
    # the library's words leaked: "roi must be ..., given roi=(0, 0, 0, 0)", "grid=(16, 16)", "1 comma-separated
    # integers", "[Errno 2] ... (/proc/x.png)" for a plot, "output path ... is a folder" for a sidecar never named
    out = tmp_path / "out.wav"
    base = ["recover", str(video), "--fps", "2200", "-o", str(out), "--quiet"]
    for extra, said in ((["--roi", "0,0,0,0"], "--roi must be"), (["--grid", "16,16"], "--grid (16, 16)"),
                        (["--batch-size", "2.5"], "--batch-size must be an integer")):
        assert run(base + extra) == 2
        line = one_error_line(capsys)
        assert said in line and "roi=" not in line and "grid=" not in line
    (tmp_path / "out.json").mkdir()
    assert run(base) == 2
    assert "the sidecar" in one_error_line(capsys) and not out.exists()


def test_errors_and_warnings_say_each_option_once_in_its_own_words(video, tmp_path, capsys):
    # "(--highpass HZ, --highpass )", "--levels 10 (--levels)", "or --fps  in Python ..., given --fps None",
    # "(--sources, n_sources=)" in a warning: the library's two forms, half turned into options
    out = tmp_path / "out.wav"
    for argv, said in (
        (["--fps", "30"], "give one below it (--highpass HZ), or 0"),
        (["--fps", "2200", "--levels", "10"], "--levels 10 is too many"),
        (["--fps", "2200", "--max-frames", "10"], "--max-frames 10 reads 10 frames"),
    ):
        assert run(["recover", str(video), "-o", str(out), "--quiet"] + argv) == 2
        line = one_error_line(capsys)
        assert said in line and "=" not in line.split("(")[-1] and not out.exists(), line
    assert run(["recover", str(video), "--fps", "2200", "--sources", "4", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ask for fewer (--sources)" in err and "n_sources" not in err, err


def test_a_capture_rate_kept_outside_the_audio_rates_is_refused_before_the_recovery(video, tmp_path, capsys,
                                                                                    monkeypatch):
    import vismic.recover

    ran = []
    monkeypatch.setattr(vismic.recover._sound, "recover_once", lambda *args, **kwargs: ran.append(1))
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", "600", "--resample", "none", "-o", str(out), "--quiet"]) == 2
    line = one_error_line(capsys)  # it said "sr=600 with target_sr=None would write a WAV at 600 Hz" at the end
    assert "--resample none keeps the capture rate, 600 fps, outside the audio rates" in line and "sr=" not in line
    assert not ran and not out.exists()


@pytest.mark.parametrize("band", ["0,1", "1,15", "5,20"])
def test_a_band_at_or_below_the_drift_highpass_is_refused_before_the_recovery(video, tmp_path, capsys, monkeypatch,
                                                                              band):
    # --band 0,1 wrote the leftover noise at full volume with an estimate of 214 dB
    import vismic.recover

    ran = []
    monkeypatch.setattr(vismic.recover._sound, "recover_once", lambda *args, **kwargs: ran.append(1))
    out = tmp_path / "out.wav"
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(out), "--quiet", "--band", band]) == 2
    line = one_error_line(capsys)
    assert "at or below the drift high-pass at 20 Hz" in line and "(--highpass HZ; 0 for none)" in line, line
    assert not ran and not out.exists()
    monkeypatch.undo()
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(out), "--quiet", "--band", band,
                "--highpass", "0"]) == 0
    assert out.exists()


def test_the_drift_highpass_past_nyquist_is_refused_before_the_video_is_read(video, tmp_path, capsys, monkeypatch):
    import vismic.recover

    ran = []
    monkeypatch.setattr(vismic.recover._sound, "recover_once", lambda *args, **kwargs: ran.append(1))
    assert run(["recover", str(video), "--fps", "24", "-o", str(tmp_path / "out.wav"), "--quiet"]) == 2
    assert "not below the Nyquist frequency of 24 fps" in one_error_line(capsys) and not ran


def test_an_output_replaced_keeps_its_permissions_and_a_read_only_one_is_refused(video, tmp_path, capsys,
                                                                                 monkeypatch):
    import os

    out = tmp_path / "out.wav"
    out.write_bytes(b"old")
    os.chmod(out, 0o600)
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(out), "--quiet"]) == 0
    assert out.stat().st_mode & 0o777 == 0o600 and out.read_bytes()[:4] == b"RIFF"  # it came back 0644
    before = out.read_bytes()
    # a read-only file (root may write anything: its permissions are what os.access reports to others)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if str(path) == str(out) and mode == os.W_OK
                        else real_access(path, mode, **kw))
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(out), "--quiet"]) == 2
    assert "the file is read-only" in one_error_line(capsys) and out.read_bytes() == before


def test_opencvs_own_lines_on_a_damaged_avi_stay_off_the_terminal(tmp_path, capfd):
    # its AVI parser printed "Unexpected list type. Expected: hdrl. Got: ..." and the header's bytes
    bad = tmp_path / "hdr.avi"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00AVI LIST")
    assert run(["recover", str(bad), "--fps", str(FPS), "-o", str(tmp_path / "out.wav")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vismic: error: cannot decode video"), err


def test_an_unknown_device_is_named_with_the_ones_there_are(video, tmp_path, capsys):
    pytest.importorskip("torch")
    assert run(["recover", str(video), "--fps", str(FPS), "-o", str(tmp_path / "out.wav"), "--device", "foo"]) == 2
    line = one_error_line(capsys)  # it listed torch's 20 device types
    assert "unknown device 'foo': give 'cpu' or 'cuda'" in line and "mkldnn" not in line
