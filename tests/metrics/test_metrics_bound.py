import math

import numpy as np
import pytest
import scipy.ndimage

from vismic import metrics, synth
from vismic.errors import FrameShapeError, ParameterError, VismicWarning

NOISE_STD = 2.0
N_FRAMES = 2000
#: A sample variance over N_FRAMES independent errors has a relative std of sqrt(2 / N):
#: 3 of those, in dB, is how much luck alone could move an estimator below the bound.
LUCK_DB = -10 * math.log10(1 - 3 * math.sqrt(2 / N_FRAMES))


def db(ratio):
    return 10 * math.log10(ratio)


# --- the formula -------------------------------------------------------------------


def test_bound_of_a_cosine_texture_is_analytic():
    height, width, k, amplitude = 32, 64, 6, 80.0
    x = np.arange(width) + 0.5
    texture = np.tile(127.0 + amplitude * np.cos(np.pi * k * x / width), (height, 1))
    information = height * width / 2 * (amplitude * np.pi * k / width) ** 2
    crb = metrics.cramer_rao_bound(texture, direction_degrees=0.0, noise_std=2.0, quantization_step=1.0)
    assert crb == pytest.approx((4.0 + 1 / 12) / information, rel=1e-10)
    tilted = metrics.cramer_rao_bound(texture, direction_degrees=60.0, noise_std=2.0, quantization_step=1.0)
    assert tilted == pytest.approx(4 * crb, rel=1e-10)  # only cos(60) of the motion shows


def test_bound_scaling_and_limits():
    texture = synth.texture("brick", size=(32, 32))
    base = metrics.cramer_rao_bound(texture, direction_degrees=10.0, noise_std=3.0, quantization_step=0.0)
    assert metrics.cramer_rao_bound(texture, direction_degrees=10.0, noise_std=6.0, quantization_step=0.0) == (
        pytest.approx(4 * base)
    )
    half = metrics.cramer_rao_bound(
        texture, direction_degrees=10.0, noise_std=3.0, quantization_step=0.0, mode_shape=np.full((32, 32), 0.5)
    )
    assert half == pytest.approx(4 * base)
    assert metrics.cramer_rao_bound(texture, direction_degrees=10.0, noise_std=0.0, quantization_step=0.0) == 0.0
    stripes = synth.stripes((32, 32), orientation_degrees=0.0)
    assert metrics.cramer_rao_bound(stripes, direction_degrees=90.0, noise_std=1.0) == math.inf
    assert metrics.cramer_rao_bound(np.full((8, 8), 100.0), direction_degrees=0.0, noise_std=1.0) == math.inf


def test_bound_errors_name_the_value():
    texture = np.zeros((8, 8))
    with pytest.raises(FrameShapeError, match=r"\(8, 7\).*\(8, 8\)"):
        metrics.cramer_rao_bound(texture, direction_degrees=0.0, noise_std=1.0, mode_shape=np.ones((8, 7)))
    with pytest.raises(ParameterError, match="noise_std=-1"):
        metrics.cramer_rao_bound(texture, direction_degrees=0.0, noise_std=-1.0)
    with pytest.raises(ParameterError, match="quantization_step"):
        metrics.cramer_rao_bound(texture, direction_degrees=0.0, noise_std=1.0, quantization_step=-1)
    with pytest.raises(ParameterError, match="Scene"):
        metrics.scene_bound(texture)
    with pytest.warns(VismicWarning, match="dithered"):
        metrics.cramer_rao_bound(synth.texture("noise", size=(8, 8)), direction_degrees=0.0, noise_std=0.2)


def test_scene_bound_and_snr():
    displacement = np.random.default_rng(0).normal(0.3, 0.05, 300)
    texture = synth.texture("gravel", size=(32, 32))
    scene = synth.render_scene(texture, displacement, noise_std=1.0, direction_degrees=20.0)
    bound = metrics.scene_bound(scene)
    crb = metrics.cramer_rao_bound(texture, direction_degrees=20.0, noise_std=1.0, quantization_step=1.0)
    assert bound.crb_px2 == pytest.approx(crb)
    assert bound.displacement_std_px == pytest.approx(np.std(displacement))  # mean removed
    assert bound.snr_db == pytest.approx(db(np.var(displacement) / crb))
    assert metrics.bound_snr_db(scene) == pytest.approx(bound.snr_db)
    assert metrics.bound_snr_db(scene, reference=displacement / 10) == pytest.approx(bound.snr_db - 20)
    raw = synth.render_scene(texture, displacement, noise_std=1.0, direction_degrees=20.0, quantize=False)
    assert metrics.scene_bound(raw).crb_px2 == pytest.approx(crb / (1 + 1 / 12))
    assert metrics.gap_to_bound_db(12.5, bound_db=20.0) == 7.5


# --- the bound is reached and not beaten ------------------------------------------------


@pytest.fixture(scope="module")
def noisy_scene():
    texture = synth.texture("brick", size=(64, 64))  # 90-173 grey levels: never clipped
    displacement = np.random.default_rng(5).normal(0.0, 0.05, N_FRAMES)
    scene = synth.render_scene(texture, displacement, direction_degrees=30.0, noise_std=NOISE_STD, seed=1)
    return scene, scene.frames.astype(np.float64)


def least_squares(frames, texture, gradient):
    """s_hat = sum(g (T - I_t)) / sum(g^2): linearised per-frame estimate with a known texture."""
    return np.einsum("hw,thw->t", gradient, texture[None] - frames) / np.sum(gradient**2)


def error_gap_db(estimate, scene):
    """Per-frame error variance over the bound, in dB (= bound SNR minus achieved SNR)."""
    error = estimate - scene.displacement_px
    achieved = db(np.var(scene.displacement_px) / np.mean(error**2))
    return metrics.gap_to_bound_db(achieved, metrics.bound_snr_db(scene))


def test_least_squares_with_the_clean_texture_reaches_the_bound(noisy_scene):
    scene, frames = noisy_scene
    gradient = synth.directional_derivative(scene.texture, direction_degrees=scene.direction_degrees)
    gap = error_gap_db(least_squares(frames, scene.texture, gradient), scene)
    assert -LUCK_DB < gap < 0.5


def test_maximum_likelihood_reaches_the_bound(noisy_scene):
    scene, frames = noisy_scene
    direction = scene.direction_degrees
    gradient = synth.directional_derivative(scene.texture, direction_degrees=direction)
    estimate = least_squares(frames, scene.texture, gradient)
    for _ in range(2):  # Gauss-Newton on the exact model
        rendered = synth.render_frames(scene.texture, estimate, direction_degrees=direction)
        slope = synth.render_frames(gradient, estimate, direction_degrees=direction)
        estimate = estimate + np.einsum("thw,thw->t", slope, rendered - frames) / np.einsum("thw,thw->t", slope, slope)
    gap = error_gap_db(estimate, scene)
    assert -LUCK_DB < gap < 0.5


def test_no_estimator_beats_the_bound(noisy_scene):
    scene, frames = noisy_scene
    theta = np.deg2rad(scene.direction_degrees)
    texture = scene.texture
    gy, gx = np.gradient(texture)
    finite_difference = gx * np.cos(theta) + gy * np.sin(theta)
    smooth = scipy.ndimage.gaussian_filter(texture, 1.0)
    sy, sx = np.gradient(smooth)
    smoothed = sx * np.cos(theta) + sy * np.sin(theta)
    exact = synth.directional_derivative(texture, direction_degrees=scene.direction_degrees)
    estimates = {
        # each weighting is unbiased to first order: divide by sum(w * exact gradient)
        "np.gradient": np.einsum("hw,thw->t", finite_difference, texture[None] - frames)
        / np.sum(finite_difference * exact),
        "smoothed gradient": np.einsum("hw,thw->t", smoothed, texture[None] - frames) / np.sum(smoothed * exact),
        "strongest quarter of pixels": np.einsum(
            "hw,thw->t", exact * (np.abs(exact) > np.percentile(np.abs(exact), 75)), texture[None] - frames
        )
        / np.sum(exact**2 * (np.abs(exact) > np.percentile(np.abs(exact), 75))),
    }
    gaps = {name: error_gap_db(estimate, scene) for name, estimate in estimates.items()}
    assert all(gap > -LUCK_DB for gap in gaps.values()), gaps
    assert gaps["strongest quarter of pixels"] > 0.5  # throwing away information costs


def test_bound_holds_for_a_vibrating_membrane():
    texture = synth.texture("gravel", size=(48, 48))
    mode = synth.membrane_mode((48, 48), m=2, n=1)
    displacement = np.random.default_rng(6).normal(0.0, 0.05, 1000)
    scene = synth.render_scene(texture, displacement, direction_degrees=75.0, mode_shape=mode, noise_std=NOISE_STD)
    weights = mode * synth.directional_derivative(texture, direction_degrees=75.0)
    gap = error_gap_db(least_squares(scene.frames.astype(np.float64), texture, weights), scene)
    luck = -10 * math.log10(1 - 3 * math.sqrt(2 / 1000))
    assert -luck < gap < 0.5


def test_a_mode_shape_of_nan_is_refused():
    # it gave a bound of NaN
    texture = np.random.default_rng(0).uniform(0, 255, (16, 16))
    shape = np.ones((16, 16))
    shape[3, 4] = np.nan
    with pytest.raises(ParameterError, match="mode_shape"):
        metrics.cramer_rao_bound(texture, direction_degrees=0.0, noise_std=2.0, mode_shape=shape)


def test_a_reference_of_another_length_than_the_scene_is_refused():
    # 7 values for a 400-frame scene read 53.5 dB where the bound is 28.0
    scene = synth.render_scene(synth.texture("brick", size=(32, 32)), 0.05 * np.sin(np.arange(400) / 5.0),
                               noise_std=2.0)
    with pytest.raises(ParameterError, match="the scene has 400 frames, given 7 values"):
        metrics.scene_bound(scene, reference=np.sin(np.arange(7)))
    with pytest.raises(ParameterError, match="given 2 values"):
        metrics.bound_snr_db(scene, reference=[1.0, 2.0])
    assert metrics.bound_snr_db(scene, reference=scene.displacement_px) == pytest.approx(metrics.bound_snr_db(scene))
