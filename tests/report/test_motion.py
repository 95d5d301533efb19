import csv

import numpy as np
import pytest

from vismic.data import Audio
from vismic.errors import OutputError, ParameterError
from vismic.report import save_motion


def _read_csv(path):
    """(comments as a dict, header, rows as floats) with the standard csv module."""
    comments, rows = {}, []
    with open(path, newline="", encoding="utf-8") as file:
        lines = [line for line in file]
    for line in lines:
        if line.startswith("#") and "=" in line:
            key, _, value = line[1:].strip().partition("=")
            comments[key.strip()] = value
    reader = csv.reader(line for line in lines if not line.startswith("#"))
    header = next(reader)
    rows = [[float(cell) for cell in row] for row in reader]
    return comments, header, np.array(rows)


def test_npz_round_trip(tmp_path, recovery, leftovers):
    rec, _ = recovery
    out = save_motion(tmp_path / "motion.npz", rec)
    assert out == tmp_path / "motion.npz"
    with np.load(out, allow_pickle=False) as motion:
        np.testing.assert_array_equal(motion["motion_px"], rec.audio)
        np.testing.assert_allclose(motion["time_s"], np.arange(220) / 2200.0, rtol=0, atol=1e-15)
        assert float(motion["sr"]) == 2200.0
        np.testing.assert_array_equal(motion["region_gain"], rec.info["region_gain"])
        np.testing.assert_array_equal(motion["region_weights"], rec.info["region_weights"])
        np.testing.assert_array_equal(motion["sound_map"], rec.info["sound_map"])
        assert float(motion["direction_degrees"]) == rec.info["direction_degrees"]
        assert float(motion["snr_estimate_db"]) == rec.info["snr_estimate_db"]
        assert int(motion["n_frames"]) == 220
        assert str(motion["vismic_version"])
    assert leftovers(tmp_path) == []


def test_csv_round_trip(tmp_path, recovery):
    rec, _ = recovery
    comments, header, table = _read_csv(save_motion(tmp_path / "motion.csv", rec))
    assert header == ["time_s", "motion_px"]
    assert float(comments["sr_hz"]) == 2200.0
    assert float(comments["direction_degrees"]) == rec.info["direction_degrees"]
    assert table.shape == (220, 2)
    np.testing.assert_array_equal(table[:, 1], rec.audio)  # written to round-trip exactly
    np.testing.assert_allclose(table[:, 0], np.arange(220) / 2200.0, rtol=0, atol=1e-15)


def test_channels(tmp_path):
    samples = np.vstack([np.sin(np.arange(50.0)), np.cos(np.arange(50.0))])
    rec = Audio(samples, 1000.0, {"snr_estimate_db": [21.5, -np.inf], "direction_degrees": [10.0, float("nan")]})
    comments, header, table = _read_csv(save_motion(tmp_path / "motion.CSV", rec))
    assert header == ["time_s", "motion_px_1", "motion_px_2"]  # channels 1 and 2, as the summary names them
    assert comments["snr_estimate_db"] == "21.5,-inf" and comments["direction_degrees"] == "10.0,nan"  # one a channel
    np.testing.assert_array_equal(table[:, 1:].T, samples)
    with np.load(save_motion(tmp_path / "motion.npz", rec)) as motion:
        assert motion["motion_px"].shape == (2, 50) and motion["time_s"].shape == (50,)
        np.testing.assert_array_equal(motion["snr_estimate_db"], [21.5, -np.inf])


def test_bare_audio_has_only_what_it_knows(tmp_path, bare_audio):
    with np.load(save_motion(tmp_path / "motion.npz", bare_audio), allow_pickle=False) as motion:
        assert set(motion.files) == {"motion_px", "time_s", "sr", "vismic_version"}
    comments, _, table = _read_csv(save_motion(tmp_path / "motion.csv", bare_audio))
    assert comments["direction_degrees"] == "nan" and table.shape == (1100, 2)


def test_bad_destinations(tmp_path, recovery):
    rec, _ = recovery
    with pytest.raises(ParameterError, match=r"\.npz or \.csv"):
        save_motion(tmp_path / "motion.mat", rec)
    with pytest.raises(OutputError, match="does not exist"):
        save_motion(tmp_path / "missing" / "motion.npz", rec)
    with pytest.raises(OutputError):
        save_motion(tmp_path, rec)
    assert list(tmp_path.iterdir()) == []


def test_refuses_the_input(tmp_path, bare_audio):
    video = tmp_path / "take.npz"
    video.write_bytes(b"frames")
    bare_audio.info["source_path"] = str(video)
    with pytest.raises(OutputError, match="overwrite the input"):
        save_motion(video, bare_audio)
    assert video.read_bytes() == b"frames"
