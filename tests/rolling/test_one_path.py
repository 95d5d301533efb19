"""Rolling shutter runs the shared path: open_video batches, one Pipeline, the main path's stages, Audio out."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import vismic
from vismic import Pipeline, metrics, synth
from vismic.cli import main
from vismic.data import MIN_FRAMES, Audio, FrameBatch
from vismic.denoise import BandLimit, Denoise, HighPass
from vismic.errors import ParameterError, TooFewFramesError, VismicWarning
from vismic.io import open_video, write_video
from vismic.rolling import (
    FillRows,
    RollingShutterRecovery,
    RowEvidence,
    recover_rolling_shutter,
    recover_rolling_shutter_video,
    rolling_pipeline,
)

FPS = 60.0
ROWS = 64
DELAY = 1.0 / (FPS * ROWS * 1.2)


@pytest.fixture(scope="module")
def scene():
    chord = lambda t: 0.04 * np.sin(2 * np.pi * 440 * t) + 0.04 * np.sin(2 * np.pi * 1100 * t)  # noqa: E731
    return synth.render_rolling_shutter(synth.texture("noise", size=(ROWS, 64)), chord, fps=FPS,
                                        line_delay_seconds=DELAY, n_frames=MIN_FRAMES, noise_std=1.0, seed=5)


@pytest.fixture(scope="module")
def video_path(scene, tmp_path_factory):
    return str(write_video(tmp_path_factory.mktemp("rolling") / "clip.avi", scene.frames, playback_fps=FPS))


def band_power(samples, sr, low_hz, high_hz):
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1.0 / sr)
    return spectrum[(freqs >= low_hz) & (freqs <= high_hz)].sum()


def test_the_pipeline_ends_with_the_main_paths_stages():
    pipe = rolling_pipeline(line_delay_seconds=DELAY, low_hz=300.0, high_hz=900.0, denoise="mmse_lsa")
    assert [type(stage) for _, stage in pipe.steps] == [RowEvidence, FillRows, HighPass, BandLimit, Denoise]
    assert pipe["denoise"].method == "mmse_lsa" and pipe["bandlimit"].high_hz == 900.0
    bare = rolling_pipeline(line_delay_seconds=DELAY, highpass_hz=None, denoise="none")
    assert [name for name, _ in bare.steps] == ["rows", "fill"]


def test_every_entry_point_returns_the_same_audio(scene, video_path):
    direct = recover_rolling_shutter(scene.frames, fps=FPS, line_delay_seconds=DELAY)
    streamed = recover_rolling_shutter_video(scene.frames, fps=FPS, line_delay_seconds=DELAY, batch_size=7)
    from_file = recover_rolling_shutter_video(video_path, fps=FPS, line_delay_seconds=DELAY)
    staged = Pipeline([("rolling", RollingShutterRecovery(line_delay_seconds=DELAY))]).run(list(scene.batches(9)))
    for audio in (direct, streamed, from_file, staged):
        assert isinstance(audio, Audio) and audio.sr == pytest.approx(1 / DELAY)
        np.testing.assert_allclose(audio.samples, direct.samples, atol=1e-9)  # batch size changes nothing
    assert from_file.info["source_path"] == video_path and from_file.info["roi"] == (0, 0, 64, ROWS)
    assert from_file.info["codec"].upper() in ("FFV1", "Y800", "HFYU") and "codec" not in direct.info


def test_denoise_and_band_are_the_main_paths_stages_on_the_filled_signal(scene):
    raw = recover_rolling_shutter(scene.frames, fps=FPS, line_delay_seconds=DELAY, highpass_hz=None)
    expected = Denoise(method="wiener").transform(
        BandLimit(low_hz=300.0, high_hz=700.0).transform(HighPass(cutoff_hz=20.0).transform(raw)))
    audio = recover_rolling_shutter(scene.frames, fps=FPS, line_delay_seconds=DELAY, low_hz=300.0, high_hz=700.0,
                                    denoise="wiener")
    np.testing.assert_allclose(audio.samples, expected.samples, atol=1e-12)
    # the band keeps 440 Hz and removes 1100 Hz
    assert band_power(audio.samples, audio.sr, 1000, 1200) < 1e-3 * band_power(audio.samples, audio.sr, 400, 480)
    assert band_power(raw.samples, raw.sr, 1000, 1200) > 0.1 * band_power(raw.samples, raw.sr, 400, 480)


def test_row_evidence_is_a_streaming_stage_giving_a_region_per_row(scene):
    stage = RowEvidence(reference=scene.frames.mean(axis=0))
    signals = stage.transform(FrameBatch(scene.frames[:5], 0, FPS))
    assert signals.scores.shape == (1, 1, ROWS, 2, 5) and signals.information.shape == (1, 1, ROWS, 2, 2)
    assert np.all(signals.information[..., 1, :] == 0)  # rows see x only
    with pytest.raises(ParameterError, match="reference image"):
        RowEvidence().transform(FrameBatch(scene.frames[:5], 0, FPS))


def test_the_one_min_frames_applies(scene):
    with pytest.raises(TooFewFramesError, match=f"{MIN_FRAMES - 1} frames; .* at least {MIN_FRAMES}"):
        recover_rolling_shutter(scene.frames[:-1], fps=FPS, line_delay_seconds=DELAY)
    source = open_video(scene.frames[:-1], fps=FPS)
    with pytest.raises(TooFewFramesError):
        rolling_pipeline(line_delay_seconds=DELAY, reference=scene.frames.mean(axis=0)).run(source)


def test_the_library_never_imports_the_test_bed():
    code = "import sys, vismic.rolling, vismic.decompose; print('vismic.synth' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the command line ----------------------------------------------------------------------------


def run_cli(video_path, out, *options):
    return main(["recover", video_path, "--fps", "60", "-o", str(out), "--rolling-shutter",
                 "--line-delay", repr(DELAY), "--quiet", "--resample", "none", *options])


def test_cli_recovers_and_honours_band_and_plot(video_path, tmp_path, scene):
    import soundfile

    assert run_cli(video_path, tmp_path / "all.wav", "--denoise", "none", "--float", "--downsample", "1") == 0
    assert run_cli(video_path, tmp_path / "half.wav", "--denoise", "none", "--downsample", "2") == 0
    # the rows are read as block means alone, and the sidecar says so
    assert json.loads((tmp_path / "half.json").read_text())["input"]["anti_alias"] == 0.0
    assert run_cli(video_path, tmp_path / "band.wav", "--denoise", "none", "--float", "--band", "300,700",
                   "--plot", str(tmp_path / "band.png")) == 0
    assert (tmp_path / "band.png").stat().st_size > 0
    full, sr = soundfile.read(tmp_path / "all.wav")
    banded, _ = soundfile.read(tmp_path / "band.wav")
    assert sr == round(1 / DELAY) and full.size == scene.displacement_px.size
    assert band_power(full, sr, 1000, 1200) > 0.1 * band_power(full, sr, 400, 480)
    assert band_power(banded, sr, 1000, 1200) < 1e-3 * band_power(banded, sr, 400, 480)
    assert metrics.si_snr(full, scene.displacement_px) > 10.0


@pytest.mark.parametrize("options, named", [
    (["--grid", "4,4"], "--grid"),
    (["--sources", "2"], "--sources 2"),
])
def test_cli_refuses_what_it_cannot_honour_in_one_line(video_path, tmp_path, capsys, options, named):
    assert run_cli(video_path, tmp_path / "out.wav", *options) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0] and "--rolling-shutter" in err[0]
    assert not (tmp_path / "out.wav").exists()


# --- the stage protocol ---------------------------------------------------------------------------


def test_stages_pass_check_stage(scene):
    from vismic.testing import check_stage

    whole = FrameBatch.concat(list(scene.batches(8)))
    signals = RowEvidence(reference=scene.frames.mean(axis=0)).transform(whole)
    assert check_stage(FillRows(DELAY), sample=signals)["output"] == "Audio"
    assert check_stage(RollingShutterRecovery(DELAY, fill="linear"), sample=whole)["output"] == "Audio"


def test_row_evidence_passes_check_stage(scene):
    from vismic.testing import check_stage

    check_stage(RowEvidence(reference=scene.frames.mean(axis=0)), sample=list(scene.batches(8)))


def test_blank_frames_at_either_end_are_left_out_and_silent(scene, tmp_path):
    # the reference is the mean frame: black frames before the texture darken it and gave their rows noise
    frames = scene.frames
    black = np.full((5,) + frames.shape[1:], 3, dtype=frames.dtype)
    plain = recover_rolling_shutter_video(frames, fps=FPS, line_delay_seconds=DELAY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        padded = recover_rolling_shutter_video(np.concatenate([black, frames, black[:3]]), fps=FPS,
                                               line_delay_seconds=DELAY)
    said = [str(w.message) for w in caught if issubclass(w.category, VismicWarning)]
    assert len(said) == 2 and "first 5 frames" in said[0] and "last 3 frames" in said[1]
    per_frame = padded.sr / FPS
    before = int(round(5 * per_frame))
    assert padded.samples.size == before + plain.samples.size + int(round(8 * per_frame)) - before
    assert padded.info["n_frames"] == len(frames) + 8 and padded.info["start_frame"] == 5
    assert "blank_end" in padded.info and "last 3 frames" in padded.info["blank_end"]
    assert not np.any(padded.samples[:before]) and not np.any(padded.samples[before + plain.samples.size:])
    inside = padded.samples[before:before + plain.samples.size]
    np.testing.assert_allclose(inside, plain.samples, atol=1e-9 * np.abs(plain.samples).max())
    first = plain.info["row_times_seconds"][0, 0] + before / padded.sr
    assert padded.info["row_times_seconds"][0, 0] == pytest.approx(first)


def test_cli_names_a_blank_lead_in_and_the_sidecar_records_it(scene, tmp_path, capsys):
    black = np.full((4,) + scene.frames.shape[1:], 2, dtype=scene.frames.dtype)
    path = str(write_video(tmp_path / "lead.avi", np.concatenate([black, scene.frames]), playback_fps=FPS))
    assert main(["recover", path, "--fps", "60", "-o", str(tmp_path / "lead.wav"), "--rolling-shutter",
                 "--line-delay", repr(DELAY), "--resample", "none"]) == 0
    assert "first 4 frames" in capsys.readouterr().err
    assert json.loads((tmp_path / "lead.json").read_text())["input"]["start_frame"] == 4


def test_the_frames_checks_and_the_codec_flag_apply_to_rolling_shutter_too(scene, tmp_path, capsys):
    # noise and an inter-frame codec were recovered without a word, and --strict let them through
    noise = np.random.default_rng(1).integers(0, 256, (40, ROWS, 64), dtype=np.uint8)
    with pytest.warns(vismic.errors.UnreliableRecoveryWarning, match="no stable texture"):
        audio = recover_rolling_shutter_video(noise, fps=FPS, line_delay_seconds=DELAY)
    assert any(line.startswith("no stable texture") for line in audio.info["warnings"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to say on the clean scene
        assert recover_rolling_shutter_video(scene.frames, fps=FPS, line_delay_seconds=DELAY).info["warnings"] == []
    path = tmp_path / "clip.avi"
    synth.compress(scene.frames, codec="mp4v", keep=path)
    out = tmp_path / "strict.wav"
    assert main(["recover", str(path), "--fps", "60", "-o", str(out), "--rolling-shutter", "--line-delay",
                 repr(DELAY), "--quiet", "--strict"]) == 2
    assert "inter-frame codec" in capsys.readouterr().err and not out.exists()


def test_highpass_zero_keeps_the_drift_as_on_the_main_path(video_path, tmp_path):
    # "cutoff_hz must be a positive number, given cutoff_hz=0.0", where --help says 0 keeps the drift
    assert run_cli(video_path, tmp_path / "drift.wav", "--highpass", "0", "--denoise", "none") == 0
    assert [name for name, _ in rolling_pipeline(line_delay_seconds=DELAY, highpass_hz=0).steps] == ["rows", "fill"]


def test_the_report_names_the_camera_rate_and_the_line_rate_apart(scene, tmp_path):
    pytest.importorskip("matplotlib")
    from vismic.report import write_report

    audio = recover_rolling_shutter_video(scene.frames, fps=FPS, line_delay_seconds=DELAY)
    page = write_report(tmp_path / "report.html", audio).read_text()
    assert "60 frames/s" in page and f"{audio.sr:g} Hz" in page  # it said "capture rate 2304 frames/s"
