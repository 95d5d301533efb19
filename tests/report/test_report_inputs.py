"""Odd arguments to the report writers and plots: one clear error or the right reading."""

import json

import numpy as np
import pytest

from vismic.data import Audio
from vismic.errors import FrameShapeError, ParameterError
from vismic.report import write_report, write_sidecar


def _audio():
    t = np.arange(2200) / 2200.0
    return Audio(np.sin(2 * np.pi * 440 * t), 2200.0, {"warnings": []})


def test_one_warning_given_as_text_is_one_warning(tmp_path):
    # listed character by character: 21 items for "one text of a warning"
    write_sidecar(tmp_path / "s.json", _audio(), warnings="the output is noise")
    assert json.loads((tmp_path / "s.json").read_text())["warnings"] == ["the output is noise"]
    write_report(tmp_path / "r.html", _audio(), warnings="the output is noise")
    assert (tmp_path / "r.html").read_text().count("the output is noise") >= 1


def test_plots_name_what_they_were_given():
    pytest.importorskip("matplotlib")
    from vismic.plot import plot_recovery, plot_sound_map

    with pytest.raises(ParameterError, match="given NoneType"):
        plot_recovery(None)
    with pytest.raises(FrameShapeError, match=r"shape \(rows, cols\), given shape \(4,\)"):
        plot_sound_map(np.ones(4))
    with pytest.raises(FrameShapeError, match="frame must be an image"):
        plot_sound_map(np.ones((2, 2)), frame=np.ones(5))


def test_a_report_over_its_own_wav_names_the_wav(tmp_path):
    from vismic.errors import OutputError

    path = tmp_path / "r.wav"
    path.write_bytes(b"RIFF")
    with pytest.raises(OutputError, match="would overwrite the WAV file it plays"):
        write_report(path, _audio(), wav_path=path)
