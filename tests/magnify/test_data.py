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
