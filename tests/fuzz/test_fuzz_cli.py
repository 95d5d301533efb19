"""Fuzzing the command line's numeric options: only exit 0, or exit 2 with one ``vismic: error:`` line.

Every numeric option of ``recover``, ``calibrate``, ``magnify`` and ``train-magnet`` gets random
strings and numbers (NaN, infinities, huge, negative, words) on a tiny valid video. A traceback,
exit code 1, a second error line or an example running past its time limit fails the test.
``VISMIC_FUZZ_EXAMPLES`` sets the examples per command (default 8; e.g. 500 for a long run).
"""

import contextlib
import io
import os
import signal

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from vismic import synth  # noqa: E402
from vismic.cli import main  # noqa: E402

EXAMPLES = int(os.environ.get("VISMIC_FUZZ_EXAMPLES", "8"))
SECONDS_PER_EXAMPLE = 60
FPS = 2200.0
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**12, max_value=10**12).map(str),
    st.sampled_from(["0", "-1", "1", "2", "3", "0.5", "1e300", "-1e-300", "nan", "inf", "-inf", "", "-", "--",
                     "1,2", "1e", "0x10", " 4", "２", "1_000"]),
    st.text(max_size=8),
)
pairs = st.one_of(numbers, st.lists(numbers, min_size=1, max_size=5).map(",".join))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    import soundfile

    folder = tmp_path_factory.mktemp("fuzz")
    sound = synth.tone(300.0, duration_seconds=0.03, sr=FPS)
    scene = synth.render_scene(synth.texture("brick", size=(32, 32)), synth.make_displacement(sound, amplitude_px=0.1),
                               noise_std=1, fps=FPS)
    video = scene.write_video(folder / "tiny.avi")
    soundfile.write(folder / "played.wav", sound, int(FPS))
    return folder, str(video), str(folder / "played.wav")


class _TooLong(Exception):
    pass


def _alarm(signum, frame):
    raise _TooLong


def run_cli(argv) -> tuple:
    """(exit code, stderr) of ``vismic argv``, in process, stopped after SECONDS_PER_EXAMPLE."""
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS_PER_EXAMPLE)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as stop:  # argparse's own exits
                code = stop.code
    except _TooLong:
        pytest.fail(f"vismic {' '.join(map(repr, argv))} ran past {SECONDS_PER_EXAMPLE} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue()


def check_outcome(argv, code, err):
    lines = err.strip().splitlines()
    assert "Traceback" not in err, (argv, err)
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        errors = [line for line in lines if line.startswith("vismic: error:")]
        assert len(errors) == 1, (argv, err)
        assert not any(line.startswith("usage:") for line in lines), (argv, err)


def options(names):
    return st.dictionaries(st.sampled_from(names), pairs, min_size=1, max_size=3)


def as_argv(chosen: dict) -> list:
    argv = []
    for option, value in chosen.items():
        argv += [option, value]
    return argv


RECOVER = ["--fps", "--roi", "--downsample", "--levels", "--grid", "--highpass", "--band", "--resample",
           "--sources", "--max-frames", "--workers"]


@FUZZ
@given(chosen=options(RECOVER))
def test_recover_options(inputs, chosen):
    folder, video, _ = inputs
    chosen.setdefault("--fps", "2200")
    argv = ["recover", video, "-o", str(folder / "out.wav"), "-q", "--denoise", "none", *as_argv(chosen)]
    check_outcome(argv, *run_cli(argv))


@FUZZ
@given(chosen=options(["--line-delay", "--levels", "--highpass", "--band"]))
def test_rolling_shutter_options(inputs, chosen):
    folder, video, _ = inputs
    argv = ["recover", video, "--fps", "2200", "-o", str(folder / "rs.wav"), "-q", "--rolling-shutter",
            "--line-delay", "1e-5", *as_argv(chosen)]
    check_outcome(argv, *run_cli(argv))


@FUZZ
@given(chosen=options(["--fps", "--roi", "--downsample", "--highpass", "--n-fft", "--smoothing", "--max-frames"]))
def test_calibrate_options(inputs, chosen):
    folder, video, played = inputs
    chosen.setdefault("--fps", "2200")
    argv = ["calibrate", video, "--played", played, "-o", str(folder / "r.npz"), "-q", *as_argv(chosen)]
    check_outcome(argv, *run_cli(argv))


@FUZZ
@given(chosen=options(["--alpha", "--fl", "--fh", "--fps", "--batch-size", "--tile", "--playback-fps"]),
       temporal=st.booleans())
def test_magnify_options(inputs, chosen, temporal):
    pytest.importorskip("torch")
    folder, video, _ = inputs
    chosen.setdefault("--alpha", "5")
    mode = ["--mode", "temporal"] if temporal else []
    argv = ["magnify", video, "-o", str(folder / "m.avi"), *mode, *as_argv(chosen)]
    check_outcome(argv, *run_cli(argv))


@FUZZ
@given(chosen=options(["--steps", "--hours", "--lr", "--batch-size", "--patch-size", "--seed", "--threads"]))
def test_train_options(tmp_path_factory, chosen):
    pytest.importorskip("torch")
    # Small, short runs whatever is drawn: a bound of steps and of hours always given (the first reached stops).
    chosen.setdefault("--steps", "1")
    chosen.setdefault("--hours", "0.0003")
    for key in ("--batch-size", "--patch-size"):
        value = chosen.get(key)
        try:
            if value is not None and float(value) > 64:
                chosen[key] = "64"
        except ValueError:
            pass
    run_dir = tmp_path_factory.mktemp("run")
    argv = ["train-magnet", str(run_dir), "--epoch-samples", "2", "--validation-samples", "1", *as_argv(chosen)]
    check_outcome(argv, *run_cli(argv))
