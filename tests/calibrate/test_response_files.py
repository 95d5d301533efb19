"""Response files that are damaged or not responses, and played sounds too short for the video's rate."""

import numpy as np
import pytest

from vismic.calibrate import Response, estimate_response, load_response
from vismic.errors import ParameterError


def _saved(tmp_path, **fields):
    response = Response(np.linspace(0, 500, 5), np.ones(5), np.ones(5), sr=1000.0)
    path = response.save(tmp_path / "r.npz")
    if fields:
        with np.load(path) as data:
            contents = {name: data[name] for name in data.files}
        contents.update(fields)
        np.savez(path, **contents)
    return path


@pytest.mark.parametrize("damage", ["truncated", "npy", "folder"])
def test_a_damaged_response_file_is_one_parameter_error(tmp_path, damage):
    # zipfile's BadZipFile, numpy's TypeError (a .npy has no context manager), "does not exist" for a folder
    path = _saved(tmp_path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "npy":
        np.save(tmp_path / "a.npy", np.zeros(3))
        (tmp_path / "a.npy").replace(path)
    else:
        path.unlink()
        path.mkdir()
    with pytest.raises(ParameterError, match="r.npz"):
        load_response(path)


@pytest.mark.parametrize("fields, said", [(dict(version=np.array("x")), "format version of"),
                                          (dict(sr=np.array("abc")), "invalid"),
                                          (dict(lag_seconds=np.array(np.nan)), "lag_seconds must be a finite"),
                                          (dict(n_fft=np.array(-4)), "n_fft must be >= 0")])
def test_a_response_file_with_values_out_of_kind_is_refused(tmp_path, fields, said):
    with pytest.raises(ParameterError, match=said):
        load_response(_saved(tmp_path, **fields))


def test_a_played_sound_shorter_than_a_frame_is_named(rng):
    with pytest.raises(ParameterError, match="leaves 0 samples; play a longer sound"):
        estimate_response(rng.standard_normal(4000), rng.standard_normal(8), sr=2000.0, played_sr=44100.0)
    with pytest.raises(ParameterError, match="played_sr=0.001 Hz cannot be brought to the video's 2000 Hz"):
        estimate_response(rng.standard_normal(4000), rng.standard_normal(4000), sr=2000.0, played_sr=1e-3)


def test_played_channels_that_cancel_in_the_mix_are_named(tmp_path, rng):
    import soundfile

    from vismic.calibrate.cli import read_played

    sound = rng.standard_normal(4000)
    soundfile.write(tmp_path / "p.wav", np.stack([sound, -sound], axis=1) * 0.1, 8000)
    with pytest.raises(ParameterError, match="2 channels cancel when mixed to mono"):
        read_played(tmp_path / "p.wav")  # said "played is constant (silent)"
