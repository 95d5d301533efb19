"""Exact spatial derivatives of a band-limited image (cosine series).

An image ``T`` of ``N`` samples per axis is extended by half-sample symmetry
(``[T, T[::-1]]``, period ``2N``), which is periodic *and continuous*, so no
edge ringing appears; the band-limited function through these samples is the
cosine series of the DCT-II,

    T(x) = sum_k a_k cos(pi k (x + 1/2) / N),   k = 0 .. N-1

(its Nyquist term is exactly zero). Its derivative is the sine series with
weights ``-pi k / N``: one DCT and one inverse DST per axis, equal to the
spectral derivative of the 2N x 2N mirrored image at a quarter of its cost. It is
the image model under which ``vismic.synth`` renders sub-pixel motion, so the
library's gradients and the test bed's scenes agree to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from .._checks import check_image, check_number
from ..errors import FrameShapeError

__all__ = ["image_gradient", "directional_derivative", "unit_vector"]


def unit_vector(direction_degrees: float):
    """``(cos θ, sin θ)`` of an angle in degrees, exact for multiples of 90 degrees.

    >>> unit_vector(90.0)
    (0.0, 1.0)
    """
    quarter = direction_degrees / 90.0
    if quarter == round(quarter):
        return [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][int(round(quarter)) % 4]
    theta = math.radians(direction_degrees)
    return math.cos(theta), math.sin(theta)


def cosine_coefficients(image: np.ndarray, axes=(0, 1)) -> np.ndarray:
    """DCT-II (unnormalised) of the image along ``axes``: the ``a_k`` of its cosine series."""
    return scipy.fft.dctn(image, type=2, axes=axes, workers=-1)


def _sine_synthesis(coefficients: np.ndarray, axis: int) -> np.ndarray:
    """``sum_k b_k sin(pi k (x + 1/2) / N)`` along ``axis`` for coefficients ``b_k``.

    The inverse DST-II (a DST-III) starts at frequency 1, so the coefficients
    move down by one index; ``b_0`` multiplies ``sin(0) = 0`` and drops out.
    """
    moved = np.zeros_like(coefficients)
    source = [slice(None)] * coefficients.ndim
    target = [slice(None)] * coefficients.ndim
    source[axis] = slice(1, None)
    target[axis] = slice(None, -1)
    moved[tuple(target)] = coefficients[tuple(source)]
    return scipy.fft.idst(moved, type=2, axis=axis, workers=-1, overwrite_x=True)


def _derivative(image: np.ndarray, axis: int) -> np.ndarray:
    """Derivative of the cosine series of a float64 image along ``axis`` (0: y, 1: x)."""
    length = image.shape[axis]
    weights = -np.pi * np.arange(length) / length
    if axis == 0:
        weights = weights[:, None]
    return _sine_synthesis(cosine_coefficients(image, axes=(axis,)) * weights, axis=axis)


def image_gradient(image):
    """Exact derivative of an image along x (columns) and y (rows).

    The derivative of the image's band-limited, half-sample symmetric extension
    (see the module docstring), so borders do not ring.

    Parameters
    ----------
    image : np.ndarray [shape=(height, width)]

    Returns
    -------
    gradient_x, gradient_y : np.ndarray [shape=(height, width)], float64
        Grey levels per pixel.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64)
    >>> image = np.tile(np.sin(2 * np.pi * x / 16), (64, 1))
    >>> gx, gy = image_gradient(image)
    >>> bool(np.allclose(gx[:, 16:48], (2 * np.pi / 16 * np.cos(2 * np.pi * x / 16))[16:48], atol=1e-3))
    True
    """
    image = np.asarray(image, dtype=np.float64)
    return _derivative(image, axis=1), _derivative(image, axis=0)


def directional_derivative(texture, *, direction_degrees: float) -> np.ndarray:
    """Exact derivative of a texture along a direction, in grey levels per px.

    The derivative of the band-limited, half-sample symmetric extension of the
    texture (a spectral derivative), i.e. of exactly the image that
    :func:`vismic.synth.render_scene` translates rigidly. ``np.gradient``
    would be off by up to a factor of two at high spatial frequencies.

    Parameters
    ----------
    texture : np.ndarray [shape=(height, width)]
        Grey levels, at least 2 x 2 pixels.
    direction_degrees : float
        Direction ``u = (cos θ, sin θ)`` in image coordinates (x to the right,
        y down, so positive angles turn clockwise on screen).

    Returns
    -------
    np.ndarray [shape=(height, width)], float64
        ``grad T . u``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64) + 0.5
    >>> texture = np.tile(np.cos(np.pi * 8 * x / 64), (32, 1))
    >>> derivative = directional_derivative(texture, direction_degrees=0.0)
    >>> bool(np.allclose(derivative, -np.pi * 8 / 64 * np.sin(np.pi * 8 * x / 64)))
    True
    """
    texture = check_image(texture, "texture", shape_error=FrameShapeError)
    ux, uy = unit_vector(check_number(direction_degrees, "direction_degrees"))
    derivative = np.zeros(texture.shape)
    if ux != 0.0:
        derivative += ux * _derivative(texture, axis=1)
    if uy != 0.0:
        derivative += uy * _derivative(texture, axis=0)
    return derivative
