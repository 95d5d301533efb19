"""Calibration on rendered video: the object's response seen through the whole recovery."""

import argparse

import numpy as np
import pytest
import soundfile

import vismic
from vismic import synth
from vismic.calibrate import estimate_response, load_response
from vismic.calibrate.cli import add_calibrate_parser, run_calibrate
from vismic.errors import ParameterError
from vismic.io import resample

from .conftest import SR, object_filter, sweep, true_peak_hz


def _scene(played, *, size, seed=0):
    return synth.render_scene(
        synth.texture("brick", size=(size, size)),
        synth.make_displacement(object_filter(played), amplitude_px=0.1),
        direction_degrees=20.0, noise_std=1.0, fps=SR, seed=seed,
    )


def test_resonance_found_through_video():
    played = sweep(0.5, f0_hz=40.0, f1_hz=1050.0)
    scene = _scene(played, size=64)
    rec = vismic.recover_sound(scene.frames, fps=SR, denoise=None)
    response = estimate_response(rec.audio, played, sr=rec.sr)
    peak = true_peak_hz()
    assert abs(response.peak_hz() - peak) < 0.1 * peak, response.peak_hz()
    assert np.median(response.coherence[(response.freqs_hz > 60) & (response.freqs_hz < 600)]) > 0.8


def _parser():
    parser = argparse.ArgumentParser(prog="vismic")
    add_calibrate_parser(parser.add_subparsers(dest="command"))
    return parser


def test_cli_writes_the_response(tmp_path, capsys):
    played = sweep(0.4, f0_hz=40.0, f1_hz=1050.0)
    video = _scene(played, size=32).write_video(tmp_path / "calibration.avi")
    played_44k = resample(played, sr=SR, target_sr=44100.0)
    soundfile.write(str(tmp_path / "sweep.wav"), played_44k, 44100, subtype="FLOAT")
    output = tmp_path / "response.npz"
    args = _parser().parse_args(["calibrate", str(video), "--fps", "2200", "--played", str(tmp_path / "sweep.wav"),
                                 "-o", str(output), "--roi", "0,0,32,32"])
    assert args.func(args) == 0
    response = load_response(output)
    assert response.sr == SR
    assert abs(response.peak_hz() - true_peak_hz()) < 0.15 * true_peak_hz()
    err = capsys.readouterr().err
    assert "wrote" in err and "coherence" in err and "peak" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.avi", "response.npz", "sweep.wav"]


def test_cli_rejects_a_missing_played_file(tmp_path):
    args = _parser().parse_args(["calibrate", "video.avi", "--fps", "2200", "--played", str(tmp_path / "no.wav"),
                                 "-o", str(tmp_path / "r.npz")])
    with pytest.raises(ParameterError, match="no.wav"):
        run_calibrate(args)
    assert not (tmp_path / "r.npz").exists()


@pytest.mark.parametrize("extra, message", [
    (["--fps", "fast"], "--fps must be a positive number"),
    (["--fps", "2200", "--roi", "1,2,3"], "--roi must be 4"),
])
def test_cli_rejects_bad_options(tmp_path, extra, message):
    played = tmp_path / "sweep.wav"
    soundfile.write(str(played), np.zeros(100), 8000)
    args = _parser().parse_args(["calibrate", "video.avi", "--played", str(played), "-o", str(tmp_path / "r.npz")]
                                + extra)
    with pytest.raises(ParameterError, match=message):
        run_calibrate(args)


def test_cli_rejects_an_unwritable_output(tmp_path):
    from vismic.errors import OutputError

    args = _parser().parse_args(["calibrate", "video.avi", "--fps", "2200", "--played", "x.wav",
                                 "-o", str(tmp_path / "missing" / "r.npz")])
    with pytest.raises(OutputError, match="does not exist"):
        run_calibrate(args)


def test_cli_writes_nothing_when_the_played_sound_is_not_in_the_video(tmp_path):
    # a still scene: the response had no coherent frequency, was written and the exit was 0
    played = sweep(0.4, f0_hz=40.0, f1_hz=1050.0)
    still = synth.render_scene(synth.texture("brick", size=(32, 32)), np.zeros(played.size), noise_std=1.0, fps=SR)
    video = still.write_video(tmp_path / "still.avi")
    soundfile.write(str(tmp_path / "sweep.wav"), played, int(SR), subtype="FLOAT")
    output = tmp_path / "response.npz"
    args = _parser().parse_args(["calibrate", str(video), "--fps", "2200", "--played", str(tmp_path / "sweep.wav"),
                                 "-o", str(output), "--quiet"])
    with pytest.raises(vismic.errors.UnreliableRecoveryError, match="not visible in the recording"):
        run_calibrate(args)
    assert not output.exists()
