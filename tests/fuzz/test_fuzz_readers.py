"""Property tests (Hypothesis) of vismic's readers on damaged and random files.

Every reader is given random bytes, valid files truncated at random offsets and
valid files with random chunks overwritten: AVI (FFV1 and raw Y800), MKV, PNG
frame folders, TIFF stacks, Phantom ``.cine`` (8-bit, 10- and 12-bit packed)
and Photron ``.cih``/``.cihx`` + ``.mraw``. Only two outcomes are allowed:
a :class:`~vismic.io.VideoSource` whose iteration yields finite float32 frames
(possibly with a :class:`~vismic.errors.DamagedVideoWarning`), or a
:class:`~vismic.errors.VismicError`. Any other exception fails the test; a hang
fails it through a ``SIGALRM`` guard on every example (no wall-clock deadline:
the suite's machines are shared, and a slow example is not a wrong one).

The default example counts keep this folder to well under a minute on two cores.
The benchmark-length run sets ``VISMIC_FUZZ_EXAMPLES``::

    VISMIC_FUZZ_EXAMPLES=2000 python -m pytest -q -p no:cacheprovider tests/fuzz

OpenCV was never seen to crash the process on these inputs (several thousand
examples); the names that did crash it (bytes that are not UTF-8) never reach it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vismic.errors import VismicError
from vismic.io import open_video, write_video

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from camera_writers import write_cine, write_photron  # noqa: E402

EXAMPLES = int(os.environ.get("VISMIC_FUZZ_EXAMPLES", "40"))
#: Seconds one example may take before it counts as a hang.
EXAMPLE_TIMEOUT = int(os.environ.get("VISMIC_FUZZ_TIMEOUT", "30"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

pytestmark = pytest.mark.filterwarnings("ignore")


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"a reader ran longer than {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outcome(source, **options) -> str:
    """``'frames'`` or ``'error'``; anything else (another exception, a hang) fails the test."""
    with time_limit(EXAMPLE_TIMEOUT), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            video = open_video(source, fps=options.pop("fps", 1000), **options)
            for batch in video:
                assert batch.frames.dtype == np.float32
                assert np.isfinite(batch.frames).all()
        except VismicError:
            return "error"
    return "frames"


# --------------------------------------------------------------------------- valid files


def _frames(n=12, size=16):
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (n, size, size), dtype=np.uint8)


_CACHE: dict = {}


def valid_files() -> dict:
    """One small valid file (bytes) per format, made once per session."""
    if _CACHE:
        return _CACHE
    folder = Path(tempfile.mkdtemp(prefix="vismic-fuzz-"))
    frames = _frames()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_video(folder / "a.avi", frames, codec="FFV1")
        write_video(folder / "b.avi", frames, codec="Y800")
        write_video(folder / "c.mkv", frames, codec="FFV1")
    tifffile.imwrite(folder / "d.tif", frames, photometric="minisblack")
    tifffile.imwrite(folder / "e.tif", frames, photometric="minisblack", compression="zlib")
    write_cine(folder / "f.cine", frames)
    write_cine(folder / "g.cine", (frames.astype(np.uint16) * 4), packing="p10")
    write_cine(folder / "h.cine", (frames.astype(np.uint16) * 16), packing="p12")
    header, data = write_photron(folder / "i", frames.astype(np.uint16) * 16, bits=12)
    header_x, data_x = write_photron(folder / "j", frames, bits=8, xml=True)
    for name in ("a.avi", "b.avi", "c.mkv", "d.tif", "e.tif", "f.cine", "g.cine", "h.cine"):
        _CACHE[name] = (folder / name).read_bytes()
    _CACHE["i.cih"] = header.read_bytes()
    _CACHE["i.mraw"] = data.read_bytes()
    _CACHE["j.cihx"] = header_x.read_bytes()
    _CACHE["j.mraw"] = data_x.read_bytes()
    ok, png = cv2.imencode(".png", frames[0])
    _CACHE["k.png"] = png.tobytes()
    ok, png16 = cv2.imencode(".png", frames[0].astype(np.uint16) * 257)
    _CACHE["l.png"] = png16.tobytes()
    return _CACHE


@st.composite
def damaged(draw, data: bytes) -> bytes:
    """``data`` truncated, with chunks overwritten, or replaced by random bytes."""
    kind = draw(st.sampled_from(["truncate", "overwrite", "random", "flip"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if kind == "random":
        return draw(st.binary(min_size=0, max_size=4096))
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(out) - 1))
        if kind == "flip":
            out[start] ^= 1 << draw(st.integers(0, 7))
        else:
            chunk = draw(st.binary(min_size=1, max_size=256))
            out[start : start + len(chunk)] = chunk
    return bytes(out)



# --------------------------------------------------------------------------- readers


@pytest.mark.parametrize("name", ["a.avi", "b.avi", "c.mkv"])
def test_damaged_opencv_videos(tmp_path, name):
    @FUZZ
    @given(data=st.data())
    def run(data):
        path = tmp_path / ("case" + Path(name).suffix)
        path.write_bytes(data.draw(damaged(valid_files()[name])))
        outcome(path)

    run()


@pytest.mark.parametrize("name", ["d.tif", "e.tif"])
def test_damaged_tiff_stacks(tmp_path, name):
    @FUZZ
    @given(data=st.data())
    def run(data):
        path = tmp_path / "case.tif"
        path.write_bytes(data.draw(damaged(valid_files()[name])))
        outcome(path)

    run()


@pytest.mark.parametrize("name", ["f.cine", "g.cine", "h.cine"])
def test_damaged_cine_files(tmp_path, name):
    @FUZZ
    @given(data=st.data())
    def run(data):
        path = tmp_path / "case.cine"
        path.write_bytes(data.draw(damaged(valid_files()[name])))
        outcome(path)

    run()


@pytest.mark.parametrize("stem, header", [("i", "i.cih"), ("j", "j.cihx")])
@pytest.mark.parametrize("part", ["header", "data"])
def test_damaged_photron_files(tmp_path, stem, header, part):
    @FUZZ
    @given(data=st.data())
    def run(data):
        files = valid_files()
        header_path = tmp_path / ("case" + Path(header).suffix)
        data_path = tmp_path / "case.mraw"
        header_bytes, data_bytes = files[header], files[f"{stem}.mraw"]
        if part == "header":
            header_bytes = data.draw(damaged(header_bytes))
        else:
            data_bytes = data.draw(damaged(data_bytes))
        header_path.write_bytes(header_bytes)
        data_path.write_bytes(data_bytes)
        outcome(header_path)

    run()


@pytest.mark.parametrize("name", ["k.png", "l.png"])
def test_damaged_png_in_a_frame_folder(tmp_path, name):
    @FUZZ
    @given(data=st.data(), position=st.integers(0, 2))
    def run(data, position):
        folder = tmp_path / "frames"
        folder.mkdir(exist_ok=True)
        good = valid_files()[name]
        for index in range(3):
            content = data.draw(damaged(good)) if index == position else good
            (folder / f"f{index}.png").write_bytes(content)
        outcome(folder)

    run()


@FUZZ
@given(content=st.binary(min_size=0, max_size=2048),
       suffix=st.sampled_from([".avi", ".mkv", ".mp4", ".tif", ".cine", ".cih", ".cihx", ".mraw", ".dat"]))
def test_random_bytes_under_any_suffix(content, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("x" + suffix)
        path.write_bytes(content)
        outcome(path)
