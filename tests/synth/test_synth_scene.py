import numpy as np
import pytest

from vismic import synth
from vismic.data import FrameBatch
from vismic.errors import FrameShapeError, ParameterError, VismicWarning
from vismic.synth._fourier import _Shifter
from vismic.synth._warp import _Warper


def cosine_texture(shape, kx, ky, shift_x=0.0, shift_y=0.0):
    """A DCT-II basis image (its mirrored extension is a pure 2-D cosine), shifted analytically."""
    height, width = shape
    y = np.arange(height)[:, None] + 0.5 - shift_y
    x = np.arange(width)[None, :] + 0.5 - shift_x
    return 127.0 + 100.0 * np.cos(np.pi * kx * x / width) * np.cos(np.pi * ky * y / height)


# --- exactness -----------------------------------------------------------------


@pytest.mark.parametrize("shift_px", [0.0123, -0.37, 1.7, 3.37])  # Taylor route up to 2 px, DCT beyond
@pytest.mark.parametrize("direction_degrees", [0.0, 90.0, 30.0, -140.0])
def test_rigid_shift_of_a_cosine_is_analytic(shift_px, direction_degrees):
    shape, kx, ky = (40, 48), 7, 3
    theta = np.deg2rad(direction_degrees)
    frames = synth.render_frames(
        cosine_texture(shape, kx, ky), np.array([0.0, shift_px]), direction_degrees=direction_degrees
    )
    expected = cosine_texture(shape, kx, ky, shift_px * np.cos(theta), shift_px * np.sin(theta))
    gradient_scale = 100.0 * np.pi * max(kx / shape[1], ky / shape[0])
    np.testing.assert_allclose(frames[0], cosine_texture(shape, kx, ky), atol=1e-10)
    assert np.abs(frames[1] - expected).max() / gradient_scale < 1e-10  # px


@pytest.mark.parametrize("shift_px", [1.0, 3.0])
def test_integer_shift_equals_np_roll_away_from_the_edge(shift_px):
    texture = np.random.default_rng(0).uniform(0, 255, (24, 32))
    k = int(shift_px)
    right = synth.render_frames(texture, np.array([shift_px]), direction_degrees=0.0)[0]
    np.testing.assert_allclose(right[:, k:], np.roll(texture, k, axis=1)[:, k:], atol=1e-9)
    down = synth.render_frames(texture, np.array([shift_px]), direction_degrees=90.0)[0]
    np.testing.assert_allclose(down[k:], np.roll(texture, k, axis=0)[k:], atol=1e-9)
    # the edge that enters is the mirrored texture (half-sample symmetric extension)
    np.testing.assert_allclose(right[:, 0], texture[:, k - 1], atol=1e-9)


def test_taylor_and_dct_routes_render_the_same_image():
    texture = synth.texture("grass", size=(32, 40))
    shifts = np.random.default_rng(1).uniform(-1.9, 1.9, 12)
    for direction in (0.0, 25.0, 90.0, 200.0):
        ux, uy = np.cos(np.deg2rad(direction)), np.sin(np.deg2rad(direction))
        taylor = _Warper(texture, np.full(texture.shape, 0.8), ux, uy, 1.9)(shifts)
        dct = _Shifter(texture)(0.8 * shifts * ux, 0.8 * shifts * uy)
        np.testing.assert_allclose(taylor, dct, atol=1e-9)


def test_non_rigid_motion_matches_the_bound_s_derivative():
    texture = synth.texture("camera", size=(32, 32))
    mode = synth.membrane_mode((32, 32), m=2, n=1)
    step = 1e-4
    frames = synth.render_frames(texture, np.array([step, -step]), direction_degrees=30.0, mode_shape=mode)
    derivative = (frames[0] - frames[1]) / (2 * step)
    expected = -mode * synth.directional_derivative(texture, direction_degrees=30.0)
    np.testing.assert_allclose(derivative, expected, atol=1e-6 * np.abs(expected).max())


def test_object_over_static_background():
    texture = synth.texture("brick", size=(48, 48))
    mask = synth.object_mask((48, 48), kind="disk", fraction=0.5, soft_px=2.0)
    frames = synth.render_frames(texture, np.array([0.3, -0.2]), mode_shape=mask)
    background = mask == 0
    static = np.broadcast_to(texture[background], (2, background.sum()))
    np.testing.assert_allclose(frames[:, background], static, atol=1e-12)
    inside = mask == 1
    assert np.abs(frames[0][inside] - texture[inside]).mean() > 1.0


def test_large_non_rigid_motion_warns_and_stays_close():
    texture = synth.noise_texture((32, 32), seed=0)
    mode = synth.membrane_mode((32, 32))
    with pytest.warns(VismicWarning, match="cubic splines"):
        frames = synth.render_frames(texture, np.array([0.5, 3.0]), mode_shape=mode)
    assert np.all(np.isfinite(frames))


# --- scenes ------------------------------------------------------------------


def test_render_scene_quantizes_and_records_truth():
    texture = synth.texture("gravel", size=(32, 32))
    displacement = synth.make_displacement(synth.tone(200.0, duration_seconds=0.05, sr=2200.0), amplitude_px=0.1)
    scene = synth.render_scene(texture, displacement, noise_std=1.5, fps=2200.0, direction_degrees=45.0)
    assert scene.frames.shape == (110, 32, 32) and scene.frames.dtype == np.uint8
    assert scene.quantization_step == 1.0 and scene.noise_std == 1.5 and scene.fps == 2200.0
    np.testing.assert_array_equal(scene.mode_shape, np.ones((32, 32)))
    np.testing.assert_array_equal(scene.texture, texture)
    np.testing.assert_array_equal(scene.displacement_px, displacement)
    assert len(scene) == 110 and scene.shape == (32, 32) and scene.duration_seconds == pytest.approx(0.05)


def test_noise_is_seeded_white_and_of_the_asked_std():
    texture = synth.texture("noise", size=(32, 32))
    displacement = np.random.default_rng(0).normal(0, 0.05, 200)
    scene = synth.render_scene(texture, displacement, noise_std=2.0, quantize=False, seed=4)
    assert scene.frames.dtype == np.float32 and scene.quantization_step == 0.0
    noise = scene.frames - synth.render_frames(texture, displacement)
    assert noise.std() == pytest.approx(2.0, rel=0.01)
    assert abs(np.corrcoef(noise[:-1].ravel(), noise[1:].ravel())[0, 1]) < 0.01
    again = synth.render_scene(texture, displacement, noise_std=2.0, quantize=False, seed=4)
    np.testing.assert_array_equal(scene.frames, again.frames)
    other = synth.render_scene(texture, displacement, noise_std=2.0, quantize=False, seed=5)
    assert not np.array_equal(scene.frames, other.frames)


def test_render_scene_accepts_a_texture_name():
    scene = synth.render_scene("camera", np.zeros(3))
    np.testing.assert_array_equal(scene.frames[0], np.clip(np.rint(synth.texture("camera")), 0, 255))


def test_batches_are_float32_frame_batches():
    scene = synth.render_scene(synth.texture("noise", size=(16, 16)), np.zeros(10), fps=1000.0)
    batches = list(scene.batches(4))
    assert [b.start for b in batches] == [0, 4, 8]
    assert all(isinstance(b, FrameBatch) and b.frames.dtype == np.float32 and b.fps == 1000.0 for b in batches)
    np.testing.assert_array_equal(FrameBatch.concat(batches).frames, scene.frames.astype(np.float32))
    with pytest.raises(ParameterError, match="batch_size=0"):
        next(scene.batches(0))


def test_render_scene_rejects_bad_inputs():
    texture = np.zeros((8, 8))
    with pytest.raises(FrameShapeError, match=r"\(8, 9\).*\(8, 8\)"):
        synth.render_scene(texture, np.zeros(3), mode_shape=np.ones((8, 9)))
    with pytest.raises(ParameterError, match="noise_std=-1"):
        synth.render_scene(texture, np.zeros(3), noise_std=-1.0)
    with pytest.raises(ParameterError, match="empty"):
        synth.render_scene(texture, np.zeros(0))
    with pytest.raises(ParameterError, match=r"shape=\(3, 1\)"):
        synth.render_scene(texture, np.zeros((3, 1)))
    with pytest.raises(ParameterError, match="fps"):
        synth.render_scene(texture, np.zeros(3), fps=0.0)
    with pytest.raises(FrameShapeError, match="texture"):
        synth.render_scene(np.zeros((2, 8, 8)), np.zeros(3))


# --- helpers -------------------------------------------------------------------


def test_make_displacement_sets_the_peak():
    audio = np.array([0.1, -0.4, 0.2])
    np.testing.assert_allclose(synth.make_displacement(audio, amplitude_px=0.02), [0.005, -0.02, 0.01])
    with pytest.raises(ParameterError, match="silent"):
        synth.make_displacement(np.zeros(4), amplitude_px=0.1)
    with pytest.raises(ParameterError, match="amplitude_px=0"):
        synth.make_displacement(audio, amplitude_px=0)


def test_membrane_modes():
    first = synth.membrane_mode((20, 30))
    assert first.min() > 0 and first.max() <= 1.0
    assert first[10, 15] == pytest.approx(first.max())
    second = synth.membrane_mode((20, 30), m=2, n=1)
    assert np.all(second[:, :15] > 0) and np.all(second[:, 15:] < 0)
    with pytest.raises(ParameterError, match="m=0"):
        synth.membrane_mode((20, 30), m=0)


def test_object_masks():
    disk = synth.object_mask((64, 64), kind="disk", fraction=0.5, soft_px=0)
    assert set(np.unique(disk)) == {0.0, 1.0}
    assert disk.sum() == pytest.approx(np.pi * 16**2, rel=0.05)
    soft = synth.object_mask((64, 64), kind="disk", fraction=0.5, soft_px=4)
    assert 0 < soft[32, 32 + 16] < 1 and soft[32, 32] == 1.0 and soft[0, 0] == 0.0
    assert np.all(np.diff(soft[32, 32:]) <= 0)  # falls off smoothly outwards
    rectangle = synth.object_mask((40, 60), kind="rectangle", fraction=0.5, soft_px=0)
    assert rectangle.sum() == pytest.approx(20 * 30, rel=0.1)
    with pytest.raises(ParameterError, match="kind='star'"):
        synth.object_mask((8, 8), kind="star")
    with pytest.raises(ParameterError, match="fraction=1.5"):
        synth.object_mask((8, 8), fraction=1.5)


def test_import_stays_light():
    import subprocess
    import sys

    code = "import sys, vismic.synth, vismic.metrics; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
