"""Magnifying at twice the resolution (``upscale=``) and the measurements ``"auto"`` chooses on."""

import numpy as np
import pytest
from scipy import ndimage

from vismic.errors import ParameterError
from vismic.magnify import choose_upscale
from vismic.magnify._scale import largest_motion, noise_level


def _wood(size=96):
    """Fine, mostly horizontal grain near the Nyquist frequency (what the network blurs at 1x)."""
    rng = np.random.default_rng(3)
    grain = ndimage.gaussian_filter(rng.standard_normal((size * 2, size * 2)), (6.0, 0.7))
    grain = ndimage.zoom(grain, 0.5, order=1)
    return 128.0 + 60.0 * grain / grain.std()


def _moved(scene, shift):
    return ndimage.shift(scene, shift, order=3, mode="wrap")


@pytest.mark.parametrize("noise", [0.0, 1.0, 3.0, 8.0])
def test_noise_is_measured_on_fine_texture(noise):
    scene = _wood()
    rng = np.random.default_rng(int(noise))
    frames = np.stack([_moved(scene, (0.0, 0.01 * k)) for k in range(4)]) + noise * rng.standard_normal((4, 96, 96))
    assert noise_level(frames) == pytest.approx(noise, abs=0.15 + 0.1 * noise)
    # a single frame reads part of the grain as noise: an upper bound only
    assert noise_level(frames[:1]) > noise_level(frames) + (0.5 if noise < 5 else 0.0)


def test_motion_is_measured_whole_and_per_quarter():
    scene = ndimage.gaussian_filter(np.random.default_rng(4).uniform(0, 255, (128, 128)), 1.5, mode="wrap")
    frames = np.stack([scene, _moved(scene, (0.2, -0.3))])
    assert largest_motion(frames) == pytest.approx(np.hypot(0.2, 0.3), abs=0.03)
    moving = scene.copy()  # only the top-left quarter moves, by 1.5 px
    moving[:64, :64] = _moved(scene, (0.0, 1.5))[:64, :64]
    assert largest_motion(np.stack([scene, moving])) > 1.0
    # dynamic mode: frame to frame (0.3 px steps), not against frame 0 (0.9 px after three)
    steps = np.stack([_moved(scene, (0.0, 0.3 * k)) for k in range(4)])
    assert largest_motion(steps, mode="dynamic") == pytest.approx(0.3, abs=0.05)
    assert largest_motion(steps) == pytest.approx(0.9, abs=0.08)
    assert largest_motion(frames[:1]) == 0.0


def test_auto_upscales_small_motion_on_clean_frames_only(shipped_model):
    scene = _wood()
    small = np.stack([scene, _moved(scene, (0.0, 0.1))])
    choice = choose_upscale(small, alpha=20, model=shipped_model)
    assert choice.factor == 2 and choice.trained_px == 6.0 and "within" in choice.reason
    # twice 20 x 0.3 px = 12 px: beyond the 6 px the model was trained on
    large = np.stack([scene, _moved(scene, (0.0, 0.3))])
    choice = choose_upscale(large, alpha=20, model=shipped_model)
    assert choice.factor == 1 and "beyond" in choice.reason
    noisy = small + 8.0 * np.random.default_rng(0).standard_normal(small.shape)
    choice = choose_upscale(noisy, alpha=20, model=shipped_model)
    assert choice.factor == 1 and "noise" in choice.reason


def test_upscaling_keeps_fine_texture_the_network_blurs(shipped_model):
    from skimage.metrics import structural_similarity

    from vismic.magnify import magnify

    scene = _wood()
    shift = np.array([0.05, 0.1])
    frames = np.round(np.stack([scene, _moved(scene, shift)]))
    truth = _moved(scene, 20 * shift)
    inner = (slice(8, -8),) * 2

    def ssim(upscale):
        out = magnify(frames, alpha=20, model=shipped_model, upscale=upscale)[1]
        return structural_similarity(out[inner], truth[inner], data_range=255.0)

    at_one, at_two = ssim(1), ssim(2)
    assert at_two > at_one + 0.05, (at_one, at_two)
    assert ssim("auto") == at_two


def test_upscaled_shapes_streaming_and_colour(tiny_model, frames_u8):
    from vismic.data import FrameBatch
    from vismic.magnify import Magnify, magnify

    whole = magnify(frames_u8, alpha=5, model=tiny_model, upscale=2, mode="dynamic")
    assert whole.shape == frames_u8.shape and whole.dtype == np.uint8
    assert not np.array_equal(whole, magnify(frames_u8, alpha=5, model=tiny_model, mode="dynamic"))
    grey = frames_u8.astype(np.float32)
    whole = magnify(grey, alpha=5, model=tiny_model, upscale=2, mode="dynamic", precision="float32")
    stage = Magnify(alpha=5, model=tiny_model, upscale=2, mode="dynamic", precision="float32")
    parts = [stage.transform(FrameBatch(grey[k:k + 2], k, 100.0)).frames for k in range(0, 5, 2)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-3)  # the batches do not change the output
    colour = np.stack([frames_u8, frames_u8[:, ::-1], frames_u8[:, :, ::-1]], axis=-1)
    out = magnify(colour, alpha=5, model=tiny_model, upscale=2, ensemble=2)
    assert out.shape == colour.shape and out.dtype == np.uint8
    stage = Magnify(alpha=5, model=tiny_model, upscale="auto")
    stage.transform(FrameBatch(frames_u8, 0, 100.0))
    assert stage.upscale_choice_ is not None and stage.upscale_choice_.factor in (1, 2)
    stage.reset()
    assert stage.upscale_choice_ is None


@pytest.mark.parametrize("bad", [3, 0, True, "2", None, 1.5])
def test_a_bad_upscale_is_one_clear_error(tiny_model, frames_u8, bad):
    from vismic.data import FrameBatch
    from vismic.magnify import Magnify, magnify

    with pytest.raises(ParameterError, match="upscale must be 1, 2 or 'auto'"):
        magnify(frames_u8, alpha=5, model=tiny_model, upscale=bad)
    with pytest.raises(ParameterError, match="upscale"):
        Magnify(alpha=5, model=tiny_model, upscale=bad).transform(FrameBatch(frames_u8, 0, 100.0))


def test_auto_takes_tiny_flat_and_single_frames_without_warnings(shipped_model):
    import warnings

    rng = np.random.default_rng(0)
    cases = [np.zeros((3, 4, 4), np.uint8), np.full((2, 32, 32), 100, np.uint8),
             rng.integers(0, 256, (1, 16, 16)).astype(np.uint8), rng.integers(0, 256, (5, 9, 13)).astype(np.uint8)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        choices = [choose_upscale(frames, alpha=10, model=shipped_model) for frames in cases]
    assert [c.factor for c in choices[:2]] == [2, 2] and choices[0].motion_px == 0.0
    assert choices[2].factor == 1 and "noise" in choices[2].reason  # one frame of noise: no difference to read
    with pytest.raises(ParameterError, match="mode"):
        choose_upscale(cases[1], alpha=10, model=shipped_model, mode="bogus")


def test_auto_keeps_smooth_frames_at_their_resolution(shipped_model):
    from vismic.magnify._scale import detail_power

    rng = np.random.default_rng(5)
    smooth = ndimage.gaussian_filter(rng.uniform(0, 255, (96, 96)), 4.0, mode="wrap")
    smooth = 128 + 50 * (smooth - smooth.mean()) / smooth.std()
    noise = 1.5 * rng.standard_normal((2, 96, 96))
    frames = np.stack([smooth, _moved(smooth, (0.0, 0.1))]) + noise
    choice = choose_upscale(frames, alpha=20, model=shipped_model)
    assert choice.factor == 1 and "detail" in choice.reason
    grain = _wood()
    frames = np.stack([grain, _moved(grain, (0.0, 0.1))]) + noise
    assert choose_upscale(frames, alpha=20, model=shipped_model).factor == 2
    # white noise alone: its power above 0.25 cycles/px is 1 - pi/16 of its variance
    assert detail_power(noise) == pytest.approx(1.5 ** 2 * (1 - np.pi / 16), rel=0.1)


def test_upscaled_temporal_mode_and_tiles_stream_like_the_whole_video(tiny_model):
    from vismic.data import FrameBatch
    from vismic.magnify import Magnify, magnify

    frames = np.random.default_rng(2).uniform(0, 255, (9, 40, 52)).astype(np.float32)
    kwargs = dict(alpha=4, model=tiny_model, upscale=2, mode="temporal", fl_hz=10, fh_hz=40, precision="float32",
                  tile=48)
    whole = magnify(frames, fps=200.0, **kwargs)
    assert whole.shape == frames.shape and np.isfinite(whole).all()
    stage = Magnify(**kwargs)
    parts = [stage.transform(FrameBatch(frames[k:k + 4], k, 200.0)).frames for k in range(0, 9, 4)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-3)
