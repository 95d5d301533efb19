"""precision='int8': templates rounded to 8 bits, 8-bit frames projected with integer products."""

import sys

import numpy as np
import pytest

import vismic
from vismic import synth
from vismic.denoise import highpass
from vismic.errors import ParameterError
from vismic.io import write_video
from vismic.metrics import si_snr
from vismic.project import make_templates, project, with_light
from vismic.project import _int8
from vismic.project._int8 import quantise

from light_scenes import flicker_frames

torch = pytest.importorskip("torch")


def _scene(shape, n_frames=40, seed=0):
    rng = np.random.default_rng(seed)
    reference = synth.texture("gravel", size=shape) * 0.8 + 20
    frames = np.clip(reference[None] + rng.normal(0, 2.0, (n_frames,) + shape), 0, 255).astype(np.uint8)
    return reference, frames


# 1 whole-frame tile; row bands; 32x128 tiles; bands longer than one integer product takes
@pytest.mark.parametrize("shape, grid", [((96, 96), (8, 8)), ((160, 144), (4, 4)), ((256, 256), (8, 8)),
                                         ((32, 3000), (1, 4))])
@pytest.mark.parametrize("light", [False, True])
def test_integer_products_equal_the_float_product_of_the_rounded_templates(shape, grid, light, monkeypatch):
    reference, frames = _scene(shape)
    templates = make_templates(reference, n_levels=2 if shape[0] < 64 else 3, grid=grid, precision="int8")
    if light:
        templates = with_light(templates, frames[:8].astype(np.float64).mean(axis=0))
    if shape[1] == 3000:  # tiles of more pixels than one product may sum: cut into pieces of whole rows
        monkeypatch.setattr(_int8, "MAX_PIXELS", 1000)
        templates.cache.clear()
        assert sum(len(band[-1]) for band in _int8._plan(templates).bands) > len(templates.tiles)
    assert templates.precision == "int8"
    integer = project(frames, templates)
    floating = project(frames.astype(np.float32), templates)  # not 8-bit: the float32 product
    scale = np.abs(floating).max()
    np.testing.assert_allclose(integer, floating, rtol=0, atol=2e-6 * scale)



def test_rounding_is_idempotent_and_changes_the_templates_little():
    reference, _ = _scene((128, 128))
    exact = make_templates(reference, grid=(4, 4))
    rounded = quantise(exact)
    for tile, original in zip(rounded.tiles, exact.tiles):
        assert all(len(np.unique(row)) <= 255 for row in tile.block)
        step = np.abs(original.block).max(axis=1, keepdims=True) / 127
        assert np.all(np.abs(tile.block - original.block) <= 0.5 * step * (1 + 1e-6) + 1e-12)
    again = quantise(rounded)
    for a, b in zip(again.tiles, rounded.tiles):
        np.testing.assert_array_equal(a.block, b.block)
    # the rounding error is a small change of each template, far from the templates themselves
    error = np.linalg.norm(rounded.matrix - exact.matrix, axis=0) / np.linalg.norm(exact.matrix, axis=0)
    assert error.max() < 0.05


def test_int8_recovers_the_same_sound_as_float32():
    sound = synth.music(duration_seconds=0.5, sr=2200.0, seed=3)
    scene = synth.render_scene(synth.texture("brick", size=(96, 96)), synth.make_displacement(sound, amplitude_px=0.03),
                               direction_degrees=35.0, noise_std=1.5, fps=2200.0)
    frames = np.clip(np.round(scene.frames), 0, 255).astype(np.uint8)
    truth = highpass(scene.displacement_px, sr=2200.0)
    results = {p: vismic.recover_sound(frames, fps=2200.0, denoise=None, precision=p) for p in ("float32", "int8")}
    assert results["int8"].info["precision"] == "int8"
    a, b = results["float32"].samples, results["int8"].samples
    assert si_snr(b, a) > 35.0  # the two recoveries differ by far less than the noise
    assert abs(si_snr(b, truth) - si_snr(a, truth)) < 0.1
    assert abs(results["int8"].info["snr_estimate_db"] - results["float32"].info["snr_estimate_db"]) < 0.2


def test_int8_under_flicker_equals_float32_closely():
    frames = flicker_frames()
    a = vismic.recover_sound(frames, fps=2200.0, denoise=None).samples
    b = vismic.recover_sound(frames, fps=2200.0, denoise=None, precision="int8").samples
    assert si_snr(b, a) > 50.0  # 66 dB when written


@pytest.fixture(scope="module")
def raw_avi(tmp_path_factory):
    sound = synth.music(duration_seconds=300 / 2200.0, sr=2200.0, seed=5)
    scene = synth.render_scene(synth.texture("coffee", size=(256, 256)),
                               synth.make_displacement(sound, amplitude_px=0.05), noise_std=1.0, fps=2200.0)
    frames = np.clip(np.round(scene.frames), 0, 255).astype(np.uint8)
    return write_video(tmp_path_factory.mktemp("int8") / "raw.avi", frames, codec="Y800")


def test_int8_on_threads_and_workers_equals_the_serial_run(raw_avi):
    run = dict(fps=2200.0, denoise=None, precision="int8")
    serial = vismic.recover_sound(raw_avi, threads=1, **run).samples
    threaded = vismic.recover_sound(raw_avi, threads=2, **run).samples  # each thread reads and projects its ranges
    np.testing.assert_array_equal(threaded, serial)
    pooled = vismic.recover_sound(raw_avi, workers=2, **run).samples  # the templates travel; rounding them again
    np.testing.assert_array_equal(pooled, serial)                     # in a worker changes nothing


def test_precision_is_checked():
    with pytest.raises(ParameterError, match="precision must be one of"):
        make_templates(np.zeros((32, 32)), grid=(2, 2), precision="int4")
    with pytest.raises(ParameterError, match="precision must be one of"):
        vismic.recover_sound(np.zeros((64, 32, 32), np.uint8), fps=2200.0, precision="float16")


@pytest.mark.parametrize("broken", ["missing", "no CPU integer products"])
def test_int8_without_a_usable_torch_says_what_to_install(monkeypatch, broken):
    if broken == "missing":
        monkeypatch.setitem(sys.modules, "torch", None)
    else:
        monkeypatch.delattr(torch, "_int_mm")
    _int8.int8_available.cache_clear()
    try:
        with pytest.raises(ImportError, match="pip install --upgrade torch"):
            make_templates(np.zeros((32, 32)), grid=(2, 2), precision="int8")
    finally:
        monkeypatch.undo()
        _int8.int8_available.cache_clear()
    assert _int8.int8_available()


def test_cli_precision_int8_writes_the_wav_and_names_it(raw_avi, tmp_path):
    import json

    import soundfile as sf

    from vismic.cli import main

    common = ["--fps", "2200", "--quiet", "--denoise", "none"]
    float_wav, int8_wav = tmp_path / "float.wav", tmp_path / "int8.wav"
    assert main(["recover", str(raw_avi), "-o", str(float_wav)] + common) == 0
    assert main(["recover", str(raw_avi), "-o", str(int8_wav), "--precision", "int8"] + common) == 0
    assert si_snr(sf.read(int8_wav)[0], sf.read(float_wav)[0]) > 30.0
    sidecar = json.loads(int8_wav.with_suffix(".json").read_text())
    assert sidecar["result"]["projection_precision"] == "int8"


def test_cli_unknown_precision_is_one_line(raw_avi, tmp_path, capsys):
    from vismic.cli import main

    out = tmp_path / "out.wav"
    assert main(["recover", str(raw_avi), "--fps", "2200", "-o", str(out), "--quiet", "--precision", "int4"]) == 2
    err = capsys.readouterr().err
    assert "int4" in err and "Traceback" not in err and not out.exists()


def test_without_numba_numpy_forms_the_same_integer_input(monkeypatch):
    from vismic.project import _kernels

    reference, frames = _scene((256, 256), n_frames=20)
    templates = make_templates(reference, n_levels=3, grid=(4, 4), precision="int8")
    compiled = project(frames, templates)
    monkeypatch.setattr(_kernels, "ENABLED", False)
    np.testing.assert_array_equal(project(frames, templates), compiled)


@pytest.mark.parametrize("bits", [12, 16])
@pytest.mark.parametrize("compiled", [True, False])
def test_16_bit_frames_take_two_exact_products(bits, compiled, monkeypatch):
    from vismic.project import _kernels

    monkeypatch.setattr(_kernels, "ENABLED", compiled)
    rng = np.random.default_rng(7)
    top = 2**bits - 1
    reference = synth.texture("coffee", size=(256, 192)) / 255 * 0.8 * top + 0.1 * top
    frames = np.clip(reference[None] + rng.normal(0, 0.01 * top, (30, 256, 192)), 0, top).astype(np.uint16)
    templates = with_light(make_templates(reference, n_levels=3, grid=(4, 4), precision="int8"),
                           frames[:8].astype(np.float64).mean(axis=0))
    integer = project(frames, templates)
    floating = project(frames.astype(np.float32), templates)
    np.testing.assert_allclose(integer, floating, rtol=0, atol=2e-6 * np.abs(floating).max())


def test_int8_chunks_are_larger_and_float_frames_keep_the_float32_products():
    from vismic.project._templates import chunk_frames, product_rows, project_frames

    reference, frames = _scene((128, 128), n_frames=150)
    rounded = make_templates(reference, grid=(4, 4), precision="int8")
    plain = make_templates(reference, grid=(4, 4))
    assert product_rows(plain) == chunk_frames((128, 128)) == 64
    assert product_rows(rounded) == 256
    assert product_rows(make_templates(np.zeros((512, 512)), grid=(2, 2), precision="int8")) == 128
    # integer frames: the same scores in one 256-frame product as in 64-frame ones
    whole = project_frames([frames[:100], frames[100:]], rounded, 256)
    parts = np.concatenate([project_frames([frames[at: at + 64]], rounded, 64) for at in range(0, 150, 64)])
    np.testing.assert_array_equal(whole[:150], parts[:150])
    assert not np.any(whole[150:])
    # float frames (after a frame stage): the float32 products of 64 frames a serial run makes, bit for bit
    floats = frames.astype(np.float32) + 0.25
    whole = project_frames([floats[:30], floats[30:]], rounded, 256)
    parts = np.concatenate([project_frames([floats[at: at + 64]], rounded, 64) for at in range(0, 150, 64)])
    np.testing.assert_array_equal(whole[:150], parts[:150])
    assert whole.shape == (256, parts.shape[1]) and not np.any(whole[150:])


def test_int8_on_threads_with_float_frames_equals_the_serial_run(raw_avi):
    # downsampled frames are float32 means: each thread's larger int8 chunks project them 64 at a time
    run = dict(fps=2200.0, denoise=None, precision="int8", downsample=2)
    serial = vismic.recover_sound(raw_avi, threads=1, **run).samples
    np.testing.assert_array_equal(vismic.recover_sound(raw_avi, threads=2, **run).samples, serial)


def _unreachable(*args):
    raise OSError("not on this worker's machine")


def test_int8_when_workers_cannot_open_the_file_equals_the_serial_run(raw_avi, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import vismic.io.video as video

    run = dict(fps=2200.0, denoise=None, precision="int8")
    serial = vismic.recover_sound(raw_avi, threads=1, **run).samples
    monkeypatch.setattr(video, "_reopen", _unreachable)  # the workers' copies of the source fail to open
    with ThreadPoolExecutor(2) as pool:  # the parent reads the later frames and sends them in chunks
        np.testing.assert_array_equal(vismic.recover_sound(raw_avi, executor=pool, **run).samples, serial)
