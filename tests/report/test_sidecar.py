import json
import math
import types
import warnings

import numpy as np
import pytest

import vismic
from vismic.errors import OutputError, ParameterError
from vismic.report import json_safe, sidecar_path, write_sidecar


def _strict_load(path):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token!r}")

    with open(path, encoding="utf-8") as file:
        return json.load(file, parse_constant=refuse)


def test_round_trip_keys(tmp_path, recovery):
    rec, pipeline = recovery
    wav = rec.to_wav(tmp_path / "out.wav")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("rate looks like a playback rate", vismic.errors.VismicWarning)
    out = write_sidecar(
        sidecar_path(wav.path), rec, pipeline=pipeline, wav_info=wav, warnings=["plain text", *caught],
        timings={"recover": np.float64(1.5), "write": 0.25}, extra={"command": "vismic recover x"},
    )
    assert out == tmp_path / "out.json"
    sidecar = _strict_load(out)
    for key in ("schema", "vismic_version", "created_utc", "input", "pipeline", "result", "sound_map", "wav",
                "warnings", "timings_seconds", "extra"):
        assert key in sidecar
    assert sidecar["vismic_version"] == vismic.__version__
    assert sidecar["created_utc"].endswith("Z")
    assert sidecar["input"]["n_frames"] == 220
    assert sidecar["input"]["frame_shape"] == [64, 64]
    assert sidecar["input"]["fps"] == 2200.0
    assert sidecar["input"]["fps_source"] == "argument"
    assert sidecar["input"]["format"] == "array"
    steps = sidecar["pipeline"]["steps"]
    assert [step["name"] for step in steps] == [name for name, _ in pipeline.steps]
    params = {step["name"]: step["params"] for step in steps}
    assert params["light"]["n_reference_frames"] == "auto"
    assert params["decompose"]["n_levels"] is None
    assert params["decompose"]["biort"] == "near_sym_a"
    assert params["bands"]["grid"] == [8, 8]
    result = sidecar["result"]
    assert result["sr"] == 2200.0 and result["n_samples"] == 220 and result["n_channels"] == 1
    assert result["snr_estimate_db"] == pytest.approx(rec.info["snr_estimate_db"])
    assert result["direction_degrees"] == pytest.approx(rec.info["direction_degrees"])
    assert result["lone_leaps"] is None and result["key_frames"] is None
    assert result["denoised"] is None  # no denoiser: the estimate is the combination's
    summary = sidecar["sound_map"]
    assert summary["grid"] == [8, 8]
    assert summary["max"] == pytest.approx(float(np.max(rec.info["sound_map"])))
    assert 1 <= len(summary["top_regions"]) <= 5
    best = summary["top_regions"][0]
    assert best["value"] == pytest.approx(summary["max"])
    assert best["box_px"][2:] == [8, 8]  # an 8 x 8 grid on a 64 x 64 frame
    assert sidecar["wav"] == {"path": str(wav.path), "sr": 8000, "n_samples": 800, "subtype": "PCM_16",
                              "duration_seconds": pytest.approx(0.1)}
    assert sidecar["warnings"][0] == "plain text"
    assert sidecar["warnings"][1].startswith("VismicWarning: rate looks like")
    assert sidecar["timings_seconds"] == {"recover": 1.5, "write": 0.25}
    assert sidecar["extra"] == {"command": "vismic recover x"}


def test_no_nan_tokens(tmp_path, recovery):
    rec, _ = recovery
    broken = types.SimpleNamespace(
        audio=rec.audio, sr=rec.sr,
        info={**rec.info, "snr_estimate_db": float("nan"), "direction_degrees": float("inf"),
              "sound_map": np.where(np.eye(8, dtype=bool), np.nan, rec.info["sound_map"])},
    )
    out = write_sidecar(tmp_path / "out.json", broken, timings={"x": float("nan")})
    text = out.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    sidecar = _strict_load(out)
    assert sidecar["result"]["snr_estimate_db"] is None
    assert sidecar["result"]["direction_degrees"] is None
    assert sidecar["timings_seconds"] == {"x": None}
    assert all(not math.isnan(region["value"]) for region in sidecar["sound_map"]["top_regions"])


def test_atomic_and_replaces_whole(tmp_path, recovery, monkeypatch, leftovers):
    rec, pipeline = recovery
    out = tmp_path / "out.json"
    out.write_text("old", encoding="utf-8")
    write_sidecar(out, rec, pipeline=pipeline)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    assert _strict_load(out)["result"]["n_samples"] == 220

    import vismic.report._sidecar as module

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "sidecar_dict", fail)
    before = out.read_bytes()
    with pytest.raises(RuntimeError):
        write_sidecar(out, rec)
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_source_object_and_file_facts(tmp_path, recovery):
    rec, _ = recovery
    video = tmp_path / "take.cine"
    video.write_bytes(b"\0" * 1234)
    source = types.SimpleNamespace(path=video, fps=2200.0, fps_source="header", container_fps=None, roi=(0, 0, 64, 64),
                                   downsample=2, frame_shape=(32, 32), full_shape=(64, 64), max_frames=None,
                                   codec="avc1")
    sidecar = _strict_load(write_sidecar(tmp_path / "out.json", rec, source=source))
    facts = sidecar["input"]
    assert facts["path"] == str(video) and facts["size_bytes"] == 1234 and facts["format"] == "cine"
    assert facts["codec"] == "avc1"
    assert facts["fps_source"] == "header" and facts["roi"] == [0, 0, 64, 64] and facts["downsample"] == 2
    assert facts["frame_shape"] == [32, 32] and facts["full_shape"] == [64, 64]

    plain = _strict_load(write_sidecar(tmp_path / "plain.json", rec, source=str(video)))["input"]
    assert plain["size_bytes"] == 1234 and plain["fps_source"] == "argument"


def test_video_source_from_open_video(tmp_path, recovery):
    rec, _ = recovery
    frames = np.zeros((40, 16, 16), dtype=np.uint8)
    source = vismic.open_video(frames, fps=1000.0, roi=(2, 2, 8, 8))
    facts = _strict_load(write_sidecar(tmp_path / "out.json", rec, source=source))["input"]
    assert facts["fps"] == 1000.0 and facts["roi"] == [2, 2, 8, 8] and facts["frame_shape"] == [8, 8]
    assert facts["fps_source"] == "argument"


def test_bare_audio_omits_missing_parts(tmp_path, bare_audio):
    sidecar = _strict_load(write_sidecar(tmp_path / "out.json", bare_audio))
    assert sidecar["sound_map"] is None and sidecar["pipeline"] is None and sidecar["wav"] is None
    assert sidecar["result"]["snr_estimate_db"] is None and sidecar["result"]["n_samples"] == 1100
    assert sidecar["input"]["path"] is None


def test_typed_fields_win_over_info(tmp_path, bare_audio):
    rec = types.SimpleNamespace(samples=bare_audio.samples, sr=2200.0, info={"snr_estimate_db": 1.0},
                                snr_estimate_db=7.5, sound_map=np.full((2, 3), 0.5))
    sidecar = _strict_load(write_sidecar(tmp_path / "out.json", rec))
    assert sidecar["result"]["snr_estimate_db"] == 7.5
    assert sidecar["sound_map"]["grid"] == [2, 3]


def test_unwritable_destinations(tmp_path, recovery):
    rec, _ = recovery
    with pytest.raises(OutputError, match="does not exist"):
        write_sidecar(tmp_path / "missing" / "out.json", rec)
    with pytest.raises(OutputError, match="folder"):
        write_sidecar(tmp_path, rec)
    video = tmp_path / "take.avi"
    video.write_bytes(b"video")
    with pytest.raises(OutputError, match="overwrite the input"):
        write_sidecar(video, rec, source=video)
    assert video.read_bytes() == b"video"
    with pytest.raises(ParameterError):
        write_sidecar(tmp_path / "out.json", types.SimpleNamespace(info={}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.avi"]


def test_sidecar_path():
    assert sidecar_path("a/out.wav").name == "out.json"
    assert sidecar_path("out.WAV").name == "out.json"
    with pytest.raises(ParameterError):
        sidecar_path(3)


def test_json_safe_conversions(recovery):
    _, pipeline = recovery
    converted = json_safe({
        "int": np.int64(3), "bool": np.bool_(True), "inf": -np.inf, (1, 2): "tuple key", 5: "int key",
        "big": np.zeros((100, 100)), "stage": pipeline["decompose"], "complex": 1 + 2j, "set": {2, 1},
    })
    assert converted["int"] == 3 and converted["bool"] is True and converted["inf"] is None
    assert converted["1x2"] == "tuple key" and converted["5"] == "int key"
    assert converted["big"] == {"array_shape": [100, 100], "dtype": "float64", "min": 0.0, "max": 0.0}
    assert converted["stage"]["params"]["biort"] == "near_sym_a"
    assert converted["complex"] == {"real": 1.0, "imag": 2.0}
    assert converted["set"] == [1, 2]
    json.dumps(converted, allow_nan=False)


def test_units_say_when_the_pixels_are_the_downsampled_frames():
    from vismic.data import Audio
    from vismic.report import sidecar_dict

    plain = Audio(np.sin(np.arange(100.0)), 1000.0, {"downsample": 1})
    halved = Audio(np.sin(np.arange(100.0)), 1000.0, {"downsample": 2})
    assert sidecar_dict(plain)["result"]["units"] == "px (motion of the object in the frame)"
    assert "2x2 source px each (--downsample 2)" in sidecar_dict(halved)["result"]["units"]


def test_the_sound_maps_regions_are_also_placed_in_the_video():
    # read through --roi 32,16,64,64 --downsample 2: the analysed frame is 32x32 px of the video's 64x64
    from vismic.report._common import sound_map_summary

    sound_map = np.zeros((4, 4))
    sound_map[1, 2] = 0.9
    top = sound_map_summary(sound_map, (32, 32), n_top=1, roi=(32, 16, 64, 64), downsample=2)["top_regions"][0]
    assert top["box_px"] == [16, 8, 8, 8] and top["box_px_in_video"] == [64, 32, 16, 16]
