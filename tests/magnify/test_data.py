import numpy as np
import pytest

from vismic.errors import ParameterError
from vismic.magnify import HELD_OUT_PHOTOS, TRAIN_PHOTOS, SampleGenerator, render_pair


def test_examples_are_reproducible():
    one = SampleGenerator(32, seed=3, n_procedural=4).sample(5)
    two = SampleGenerator(32, seed=3, n_procedural=4).sample(5)
    other = SampleGenerator(32, seed=4, n_procedural=4).sample(5)
    assert np.array_equal(one.target, two.target) and one.alpha == two.alpha
    assert not np.array_equal(one.target, other.target)


def test_example_contents():
    generator = SampleGenerator(32, seed=0, n_procedural=4)
    a, b, c, m, alpha = generator.batch(0, 6)
    for frames in (a, b, c, m):
        assert frames.shape == (6, 32, 32) and frames.dtype == np.float32
        assert frames.min() >= 0 and frames.max() <= 255 and np.array_equal(frames, np.round(frames))
    assert np.all((alpha >= 1) & (alpha <= 100))
    assert not set(TRAIN_PHOTOS) & set(HELD_OUT_PHOTOS)
    with pytest.raises(ParameterError):
        SampleGenerator(30)


def test_motion_is_exact():
    # a whole-pixel displacement must move every pixel exactly
    a, b, truth = render_pair(1.0, 3.0, size=48, seed=2, n_objects=1, quantise=False)
    assert np.allclose(b[:, 1:], a[:, :-1], atol=1e-9)
    assert np.allclose(truth[:, 3:], a[:, :-3], atol=1e-9)
    # a sub-pixel one: half of a two-pixel one, composed
    _, half, _ = render_pair(0.5, 1.0, size=48, seed=2, quantise=False)
    _, _, two_halves = render_pair(0.25, 2.0, size=48, seed=2, quantise=False)
    assert np.allclose(half, two_halves, atol=1e-9)


def _radial_power_slope(image):
    """Slope of log power against log spatial frequency (Hann window, 4/n to 1/4 cycles per px)."""
    n = image.shape[0]
    window = np.outer(np.hanning(n), np.hanning(n))
    power = np.abs(np.fft.fft2((image - image.mean()) * window)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    radius = np.hypot(fy, fx)
    edges = np.logspace(np.log10(4 / n), np.log10(0.25), 12)
    centres, means = [], []
    for low, high in zip(edges[:-1], edges[1:]):
        ring = (radius >= low) & (radius < high)
        centres.append(np.log(radius[ring].mean()))
        means.append(np.log(power[ring].mean()))
    return np.polyfit(centres, means, 1)[0]


def test_dead_leaves_statistics():
    from vismic.magnify import dead_leaves, smooth_texture

    slopes = [_radial_power_slope(dead_leaves(np.random.default_rng(seed), 128)) for seed in range(3)]
    # scale-invariant occlusion: power ~ 1/f^2 (natural images: about -2)
    assert -2.5 < np.mean(slopes) < -1.4, slopes
    image = dead_leaves(np.random.default_rng(0), 96)
    assert image.std() > 0.15 and 0 <= image.min() and image.max() <= 1
    assert np.array_equal(image, dead_leaves(np.random.default_rng(0), 96))
    smooth = smooth_texture(np.random.default_rng(0), 96)
    assert np.abs(np.diff(smooth, axis=1)).mean() < 0.2 * np.abs(np.diff(image, axis=1)).mean()


def test_dead_leaves_motion_is_exact():
    kwargs = dict(size=48, seed=3, photos=(), mix={"dead_leaves": 1.0}, n_textures=2, quantise=False)
    a, b, truth = render_pair(1.0, 3.0, **kwargs)
    assert a.std() > 10
    assert np.allclose(b[:, 1:], a[:, :-1], atol=1e-9)
    assert np.allclose(truth[:, 3:], a[:, :-3], atol=1e-9)
    _, half, _ = render_pair(0.5, 1.0, **kwargs)
    _, _, two_halves = render_pair(0.25, 2.0, **kwargs)
    assert np.allclose(half, two_halves, atol=1e-9)


def test_mixed_examples_are_reproducible():
    from vismic.magnify import NATURAL_MIX

    kwargs = dict(seed=5, mix=NATURAL_MIX, p_blur=0.5, noise_model="camera", n_procedural=2)
    first = SampleGenerator(32, **kwargs)
    # example i does not depend on which examples were drawn before it
    late = [first.sample(i) for i in (7, 3)]
    fresh = SampleGenerator(32, **kwargs)
    early = [fresh.sample(i) for i in (3, 7)]
    for one, two in zip(late[::-1], early):
        for name in ("frame_a", "frame_b", "frame_c", "target"):
            assert np.array_equal(getattr(one, name), getattr(two, name))
    a, b, c, m, alpha = fresh.batch(0, 8)
    assert a.shape == (8, 32, 32) and np.all((alpha >= 1) & (alpha <= 100))
    assert not np.array_equal(fresh.sample(0).target, SampleGenerator(32, **dict(kwargs, seed=6)).sample(0).target)


def test_blurred_examples_keep_exact_motion():
    # every layer moved by one whole pixel, magnified twice: the blurred target must be the
    # blurred frame B moved by one more pixel, borders included (rendered with a margin, not padded)
    generator = SampleGenerator(32, seed=2, mix={"dead_leaves": 1.0}, photos=(), p_blur=1.0, alpha_range=(2.0, 2.0),
                                max_noise=0.0, n_procedural=2)
    generator._motions = lambda rng, n_layers, alpha, static: [np.array([0.0, 1.0])] * n_layers
    for index in range(3):
        example = generator.sample(index)
        assert example.frame_b.std() > 5
        assert np.array_equal(example.target[:, 1:], example.frame_b[:, :-1])
        assert not np.array_equal(example.frame_b[:, 1:], example.frame_b[:, :-1])


def test_mix_is_checked():
    with pytest.raises(ParameterError, match="unknown"):
        SampleGenerator(32, mix={"leaves": 1.0})
    with pytest.raises(ParameterError, match="non-negative"):
        SampleGenerator(32, mix={"photo": -1.0, "smooth": 2.0})
    with pytest.raises(ParameterError, match="photos"):
        SampleGenerator(32, mix={"photo": 1.0}, photos=())
    with pytest.raises(ParameterError, match="noise_model"):
        SampleGenerator(32, noise_model="poisson")
    with pytest.raises(ParameterError, match="p_blur"):
        SampleGenerator(32, p_blur=1.5)


def test_texture_scale_renders_finer_textures():
    # the zoom range decides how much of a texture's detail lands near the Nyquist frequency
    def high_frequency_share(texture_scale):
        generator = SampleGenerator(64, seed=1, mix={"photo": 1.0}, max_noise=0.0, n_procedural=2,
                                    texture_scale=texture_scale)
        shares = []
        for index in range(6):
            frame = generator.sample(index).frame_a - generator.sample(index).frame_a.mean()
            power = np.abs(np.fft.fft2(frame)) ** 2
            radius = np.hypot(*np.meshgrid(np.fft.fftfreq(64), np.fft.fftfreq(64), indexing="ij"))
            shares.append(power[radius > 0.25].sum() / power.sum())
        return np.median(shares)

    assert high_frequency_share((2.5, 2.5)) > 3 * high_frequency_share((0.5, 0.5))
    default = SampleGenerator(32, seed=3, n_procedural=2).sample(4)
    explicit = SampleGenerator(32, seed=3, n_procedural=2, texture_scale=(0.5, 1.3)).sample(4)
    assert np.array_equal(default.target, explicit.target)
    for bad in ((1.0, 0.5), (0.0, 1.0), (-1.0, 2.0), 2.0, ("a", "b"), (1.0, 2.0, 3.0), (1.0, float("inf"))):
        with pytest.raises(ParameterError, match="texture_scale"):
            SampleGenerator(32, texture_scale=bad)
