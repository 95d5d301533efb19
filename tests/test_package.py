"""The finished package: one version, licence, citation, typing marker, logging flags, quiet OpenCV."""

import configparser
import importlib.util
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import vismic
from vismic import _logging
from vismic._version import __version__
from vismic.cli import main

ROOT = Path(__file__).resolve().parents[1]
FPS = 2200.0


def _setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def test_one_version_source():
    assert vismic.__version__ == __version__
    assert _setup_cfg()["metadata"]["version"].strip() == "attr: vismic._version.__version__"
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"vismic {__version__}"


def test_py_typed_is_in_the_package_and_declared():
    assert (Path(vismic.__file__).parent / "py.typed").is_file()
    assert "py.typed" in _setup_cfg()["options.package_data"]["vismic"]


def test_licence_is_mit():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text and "the vismic developers" in text
    assert _setup_cfg()["metadata"]["license"].strip() == "MIT"


def test_citation_file_is_valid_cff():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors"):
        assert cff[key], key
    assert cff["cff-version"] == "1.2.0" and cff["version"] == __version__ and cff["license"] == "MIT"
    titles = " | ".join(ref["title"] for ref in cff["references"])
    assert "Visual Microphone" in titles and "Motion Magnification" in titles and "Dual-Tree" in titles
    for ref in cff["references"]:
        assert ref["authors"] and ref["year"] and ref["doi"].startswith("10.")


@pytest.fixture
def video(tone_video):
    return tone_video(48, 0.1)


def test_quiet_flag_leaves_only_errors(video, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert main(["recover", str(video), "--fps", str(FPS), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    assert main(["-q", "recover", str(video), "--fps", str(FPS), "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""
    # errors still show, as one line
    assert main(["-q", "recover", str(tmp_path / "missing.avi"), "--fps", "2200", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vismic: error:")


def test_verbosity_sets_what_the_vismic_logger_shows(capsys):
    logger = logging.getLogger("vismic.some_module")
    try:
        _logging.configure(-1)
        logger.warning("hidden warning")
        logger.error("shown error")
        _logging.configure(0)
        logger.info("hidden info")
        logger.warning("shown warning")
        _logging.configure(1)
        logger.info("shown info")
        logger.debug("hidden debug")
        _logging.configure(2)
        logger.debug("shown debug")
    finally:
        _logging.configure(0)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["vismic: error: shown error", "vismic: warning: shown warning", "vismic: shown info",
                     "vismic: debug: shown debug"]


def test_verbose_flag_parses_and_counts():
    from vismic.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["recover", "x.avi", "--fps", "1", "-o", "y.wav"]).verbosity == 0
    assert parser.parse_args(["-vv", "recover", "x.avi", "--fps", "1", "-o", "y.wav"]).verbosity == 2
    assert parser.parse_args(["-q", "demo"]).verbosity == -1
    assert parser.parse_args(["demo", "-q"]).verbosity == -1
    assert parser.parse_args(["-v", "recover", "x.avi", "--fps", "1", "-o", "y.wav", "-v"]).verbosity >= 1


def test_other_packages_warnings_become_debug_lines(capsys):
    import warnings

    from vismic.errors import VismicWarning

    try:
        _logging.configure(0)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _logging._show_warning
            warnings.warn_explicit("third-party chatter", RuntimeWarning, "/site-packages/scipy/x.py", 1)
            warnings.warn_explicit("ours", VismicWarning, "/site-packages/other/y.py", 1)
    finally:
        _logging.configure(0)
    assert capsys.readouterr().err.splitlines() == ["vismic: warning: ours"]


def _corrupt_mjpeg_avi(path: Path) -> Path:
    """A Motion-JPEG AVI with damaged bytes: FFmpeg's decoder prints its complaints to stderr."""
    cv2 = pytest.importorskip("cv2")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 64), isColor=False)
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write Motion-JPEG")
    rng = np.random.default_rng(0)
    for _ in range(60):
        writer.write(rng.integers(0, 255, (64, 64), dtype=np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    for pos in rng.integers(len(data) // 4, len(data), 400):
        data[pos] = int(rng.integers(0, 256))
    path.write_bytes(bytes(data))
    return path


def test_no_opencv_or_ffmpeg_lines_before_vismic_error(tmp_path):
    bad = _corrupt_mjpeg_avi(tmp_path / "bad.avi")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "vismic.cli", "recover", str(bad), "--fps", "1000", "-o",
               str(tmp_path / "out.wav"), "--quiet"]
    # Without vismic's set-up this file makes FFmpeg print "[mjpeg @ 0x...] ..." lines (checked with -vv).
    loud = subprocess.run(command[:3] + ["-vv"] + command[3:], capture_output=True, text=True, env=env, timeout=120)
    quiet = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 2 and not (tmp_path / "out.wav").exists()
    lines = [line for line in quiet.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("vismic: ") for line in lines), quiet.stderr
    assert lines[-1].startswith("vismic: error:")
    if any("@ 0x" in line for line in loud.stderr.splitlines()):
        assert not any("@ 0x" in line for line in quiet.stderr.splitlines())


def test_import_cv2_leaves_user_settings_alone(monkeypatch):
    monkeypatch.setenv("OPENCV_FFMPEG_LOGLEVEL", "24")
    monkeypatch.delenv("OPENCV_LOG_LEVEL", raising=False)
    cv2 = _logging.import_cv2()
    assert cv2.__name__ == "cv2"
    assert os.environ["OPENCV_FFMPEG_LOGLEVEL"] == "24" and os.environ["OPENCV_LOG_LEVEL"] == "SILENT"


@pytest.mark.slow
def test_wheel_ships_py_typed_license_and_weights(tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("building a wheel here needs setuptools")
    # A copy of the tree, so the build leaves nothing (build/, *.egg-info) in the checkout.
    source = tmp_path / "src"
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path / "whl"), str(source)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "whl").glob("vismic-*.whl")
    assert wheel.name.startswith(f"vismic-{__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "vismic/py.typed" in names
    assert any(n.startswith("vismic/magnify/weights/") and n.endswith(".pt") for n in names)
    assert any(n.endswith(".dist-info/LICENSE") or "/licenses/LICENSE" in n for n in names)


def test_every_stage_package_is_an_attribute_of_vismic():
    # `import vismic` then `vismic.codec...`, as the README writes it, for every public sub-package
    packages = sorted(path.parent.name for path in (ROOT / "vismic").glob("*/__init__.py")
                      if not path.parent.name.startswith("_"))
    assert "codec" in packages
    for name in packages:
        assert name in dir(vismic) and getattr(vismic, name).__name__ == f"vismic.{name}"
