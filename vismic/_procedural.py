"""Procedural textures: the one generator behind the test bed's and MagNet's textures.

:func:`power_law_noise` is the 1/f^exponent noise both use (``vismic.synth.noise_texture``
scales it to grey levels; MagNet's training data draws the exponent); the other
kinds (gratings, blurred checkers, random discs) only feed MagNet's training data
through :func:`random_texture`. It lives in the library, not in ``vismic.synth``,
because the library never imports its test bed.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy import ndimage

__all__ = ["power_law_noise", "random_texture"]


def power_law_noise(shape, rng: np.random.Generator, *, exponent: float = 1.0, cutoff_cycles_per_px: float = 0.25):
    """Band-limited random field with a ``1 / f^exponent`` amplitude spectrum, zero mean.

    White Gaussian noise shaped by ``1/f^exponent`` and a smooth low-pass
    ``cos^2(pi f / (2 cutoff))`` that reaches zero at ``cutoff_cycles_per_px`` (no
    energy near Nyquist, so Fourier and spline rendering agree).

    Parameters
    ----------
    shape : (height, width)
        Checked by the caller.
    rng : np.random.Generator
    exponent : float
        Slope of the amplitude spectrum (1: natural images).
    cutoff_cycles_per_px : float
        Highest spatial frequency, in (0, 0.5].

    Returns
    -------
    np.ndarray [shape=(height, width)], float64

    Examples
    --------
    >>> field = power_law_noise((16, 24), np.random.default_rng(0))
    >>> field.shape, bool(abs(field.mean()) < 1e-12)
    ((16, 24), True)
    """
    height, width = shape
    white = rng.standard_normal((height, width))
    fy = scipy.fft.fftfreq(height)[:, None]
    fx = scipy.fft.rfftfreq(width)[None, :]
    radius = np.hypot(fx, fy)
    low_pass = np.where(radius < cutoff_cycles_per_px, np.cos(0.5 * np.pi * radius / cutoff_cycles_per_px) ** 2, 0.0)
    floor_radius = np.maximum(radius, 1.0 / max(height, width))
    gain = low_pass / (floor_radius if exponent == 1 else floor_radius**exponent)
    gain[0, 0] = 0.0
    return scipy.fft.irfft2(scipy.fft.rfft2(white) * gain, s=(height, width))


def _gratings(rng, xx, yy):
    image = np.zeros(xx.shape)
    for _ in range(rng.integers(1, 4)):
        theta = rng.uniform(0, np.pi)
        freq = rng.uniform(0.02, 0.22)
        image += rng.uniform(0.3, 1) * np.sin(
            2 * np.pi * freq * (np.cos(theta) * xx + np.sin(theta) * yy) + rng.uniform(0, 2 * np.pi))
    return image


def _checkers(rng, xx, yy):
    period = rng.uniform(4, 24)
    theta = rng.uniform(0, np.pi)
    u = np.cos(theta) * xx + np.sin(theta) * yy
    v = -np.sin(theta) * xx + np.cos(theta) * yy
    image = np.sign(np.sin(np.pi * u / period))
    if rng.random() < 0.6:
        image = image * np.sign(np.sin(np.pi * v / period))
    return ndimage.gaussian_filter(image, rng.uniform(0.8, 2.0), mode="wrap")


def _discs(rng, xx, yy):
    size = xx.shape[0]
    image = np.full(xx.shape, rng.uniform())
    for _ in range(rng.integers(10, 60)):
        cy, cx = rng.uniform(0, size, 2)
        r = rng.uniform(2, 18)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform()
    return ndimage.gaussian_filter(image, rng.uniform(0.8, 1.5))


def random_texture(rng: np.random.Generator, size: int = 160) -> np.ndarray:
    """One random texture of a random kind (1/f noise, gratings, blurred checkers, discs), grey 0-1.

    Its contrast is random too: values span ``[low, low + c]`` with ``low`` in
    [0, 0.4] and ``c`` in [0.3, 1 - low].

    Returns
    -------
    np.ndarray [shape=(size, size)], float64

    Examples
    --------
    >>> image = random_texture(np.random.default_rng(3), size=32)
    >>> image.shape, bool(0 <= image.min() and image.max() <= 1)
    ((32, 32), True)
    """
    kind = rng.integers(4)
    if kind == 0:
        image = power_law_noise((size, size), rng, exponent=rng.uniform(1.0, 2.5), cutoff_cycles_per_px=0.5)
    else:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
        image = (_gratings, _checkers, _discs)[kind - 1](rng, xx, yy)
    image = image - image.min()
    image = image / max(image.max(), 1e-9)
    low = rng.uniform(0, 0.4)
    return low + image * rng.uniform(0.3, 1.0 - low)
