import numpy as np
import pytest

from vismic import synth
from vismic.errors import FrameShapeError, ParameterError


@pytest.mark.parametrize("name", synth.TEXTURES)
def test_every_texture_is_grey_float64_of_the_asked_size(name):
    t = synth.texture(name, size=(40, 56))
    assert t.shape == (40, 56) and t.dtype == np.float64
    assert t.min() >= 0.0 and t.max() <= 255.0
    assert t.std() > 5.0  # has structure to track


def test_photographs_crop_by_seed():
    a = synth.texture("gravel", size=(32, 32), seed=0)
    np.testing.assert_array_equal(a, synth.texture("gravel", size=(32, 32), seed=0))
    b = synth.texture("gravel", size=(32, 32), seed=7)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(b, synth.texture("gravel", size=(32, 32), seed=7))


def test_full_size_photograph_is_unchanged():
    import skimage.data

    np.testing.assert_array_equal(synth.texture("camera", size=(512, 512)), skimage.data.camera())


def test_noise_texture_is_band_limited_and_seeded():
    t = synth.noise_texture((64, 64), seed=2, cutoff_cycles_per_px=0.2)
    spectrum = np.abs(np.fft.fft2(t - t.mean())) ** 2
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(64), np.fft.fftfreq(64), indexing="ij"))
    assert spectrum[f > 0.2].sum() < 1e-20 * spectrum.sum()
    assert not np.allclose(t, synth.noise_texture((64, 64), seed=3))


def test_stripes_vary_along_their_orientation_only():
    t = synth.stripes((32, 32), period_px=8.0, orientation_degrees=90.0)
    np.testing.assert_allclose(t, t[:, :1] * np.ones((1, 32)))  # constant along x
    assert np.ptp(t[:, 0]) == pytest.approx(200.0, rel=1e-6)
    along = synth.directional_derivative(t, direction_degrees=90.0)
    across = synth.directional_derivative(t, direction_degrees=0.0)
    assert np.abs(across).max() < 1e-9 * np.abs(along).max()


def test_texture_errors_name_the_value():
    with pytest.raises(ParameterError, match="'marble'.*camera"):
        synth.texture("marble")
    with pytest.raises(ParameterError, match="size"):
        synth.texture("noise", size=(0, 5))
    with pytest.raises(ParameterError, match="period_px"):
        synth.stripes((8, 8), period_px=1.5)
    with pytest.raises(ParameterError, match="cutoff"):
        synth.noise_texture((8, 8), cutoff_cycles_per_px=0.7)


def test_directional_derivative_is_spectral_on_a_cosine():
    height, width, k = 24, 64, 5
    x = np.arange(width) + 0.5
    t = np.tile(100.0 * np.cos(np.pi * k * x / width), (height, 1))
    expected = -100.0 * np.pi * k / width * np.sin(np.pi * k * x / width)
    got = synth.directional_derivative(t, direction_degrees=0.0)
    np.testing.assert_allclose(got, np.tile(expected, (height, 1)), atol=1e-10)
    rotated = synth.directional_derivative(t, direction_degrees=60.0)
    np.testing.assert_allclose(rotated, 0.5 * got, atol=1e-10)


def test_directional_derivative_checks_input():
    with pytest.raises(FrameShapeError, match="shape"):
        synth.directional_derivative(np.zeros(5), direction_degrees=0.0)
    with pytest.raises(ParameterError, match="direction_degrees"):
        synth.directional_derivative(np.zeros((4, 4)), direction_degrees=float("inf"))


def test_colour_photographs_use_the_library_grey_conversion():
    import skimage.data

    from vismic.io import read_frames

    rgb = skimage.data.coffee()
    expected = read_frames(rgb[None])[0]  # BT.601 luma, as for video frames
    got = synth.texture("coffee", size=rgb.shape[:2])
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_noise_texture_is_the_library_power_law_noise():
    from vismic._procedural import power_law_noise

    field = power_law_noise((24, 40), np.random.default_rng(5), cutoff_cycles_per_px=0.2)
    expected = 20.0 + 215.0 * (field - field.min()) / (field.max() - field.min())
    np.testing.assert_array_equal(synth.noise_texture((24, 40), seed=5, cutoff_cycles_per_px=0.2), expected)
