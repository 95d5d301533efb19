"""Textures for synthetic scenes: photographs shipped with scikit-image and procedural ones."""

from __future__ import annotations

import numpy as np

from .._procedural import power_law_noise
from ..errors import ParameterError
from ..io._frames import luma
from .._checks import check_range, check_shape
from ._checks import check_direction, unit_vector

__all__ = ["TEXTURES", "texture", "noise_texture", "stripes"]

#: Photographs inside scikit-image's wheel (usable offline).
_PHOTOGRAPHS = (
    "camera",
    "brick",
    "grass",
    "gravel",
    "coffee",
    "astronaut",
    "moon",
    "chelsea",
    "rocket",
    "coins",
)

#: Every name :func:`texture` accepts.
TEXTURES = _PHOTOGRAPHS + ("noise", "stripes")


def _photograph(name: str) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 3:
        image = luma(image)  # ITU-R BT.601, as video frames
    return image.astype(np.float64)


def _crop_and_resize(image: np.ndarray, shape, rng) -> np.ndarray:
    """Crop to the target aspect ratio (centred, or random when ``rng``), then resize."""
    import skimage.transform

    height, width = shape
    source_h, source_w = image.shape
    scale = min(source_h / height, source_w / width)
    if rng is not None:
        scale *= rng.uniform(0.5, 1.0)
    crop_h = max(1, min(source_h, int(round(height * scale))))
    crop_w = max(1, min(source_w, int(round(width * scale))))
    if rng is None:
        top, left = (source_h - crop_h) // 2, (source_w - crop_w) // 2
    else:
        top = int(rng.integers(0, source_h - crop_h + 1))
        left = int(rng.integers(0, source_w - crop_w + 1))
    crop = image[top : top + crop_h, left : left + crop_w]
    if crop.shape == (height, width):
        return crop.copy()
    resized = skimage.transform.resize(
        crop, (height, width), order=3, mode="reflect", anti_aliasing=True, preserve_range=True
    )
    return np.clip(resized, 0.0, 255.0)


def noise_texture(shape, *, seed: int = 0, cutoff_cycles_per_px: float = 0.25) -> np.ndarray:
    """Band-limited random texture with a natural (1/f) spectrum.

    :func:`vismic._procedural.power_law_noise` (white Gaussian noise shaped by
    ``1/f`` and a smooth low-pass that reaches zero at ``cutoff_cycles_per_px``, so
    no energy near Nyquist, which makes Fourier and spline rendering agree),
    scaled linearly to about 20-235.

    Parameters
    ----------
    shape : (height, width)
    seed : int
    cutoff_cycles_per_px : float
        Highest spatial frequency, in (0, 0.5].

    Returns
    -------
    np.ndarray [shape=(height, width)], float64
        Grey levels from about 20 to 235.

    Examples
    --------
    >>> t = noise_texture((32, 48), seed=1)
    >>> t.shape, bool(t.min() >= 20 and t.max() <= 235)
    ((32, 48), True)
    """
    height, width = check_shape(shape)
    cutoff = check_range(cutoff_cycles_per_px, "cutoff_cycles_per_px", 0.0, 0.5, include_low=False)
    field = power_law_noise((height, width), np.random.default_rng(seed), cutoff_cycles_per_px=cutoff)
    span = field.max() - field.min()
    if span == 0:
        return np.full((height, width), 127.5)
    return 20.0 + 215.0 * (field - field.min()) / span


def stripes(
    shape, *, period_px: float = 8.0, orientation_degrees: float = 0.0, contrast: float = 100.0
) -> np.ndarray:
    """An oriented sinusoid, for directional tests.

    ``127.5 + contrast * cos(2 pi (x cos φ + y sin φ) / period_px)`` in image
    coordinates (x right, y down): the grey level varies along
    ``orientation_degrees``, so motion along that direction is seen best and
    motion across it not at all.

    Parameters
    ----------
    shape : (height, width)
    period_px : float
        Wavelength in px (>= 2).
    orientation_degrees : float
        Direction of the wave vector, same convention as ``direction_degrees``.
    contrast : float
        Amplitude in grey levels.

    Returns
    -------
    np.ndarray [shape=(height, width)], float64

    Examples
    --------
    >>> t = stripes((4, 8), period_px=4.0)
    >>> bool(np.allclose(t[0], t[3]))
    True
    """
    height, width = check_shape(shape)
    period_px = check_range(period_px, "period_px", 2.0, np.inf)
    ux, uy = unit_vector(check_direction(orientation_degrees))
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :]
    return 127.5 + float(contrast) * np.cos(2.0 * np.pi * (x * ux + y * uy) / period_px)


def texture(name: str, *, size=(128, 128), seed: int = 0) -> np.ndarray:
    """A named texture of grey levels 0-255.

    Photographs from scikit-image's wheel (offline), converted to grey,
    cropped to the aspect ratio of ``size`` and resized with an anti-aliased
    cubic resize: ``seed=0`` takes the largest centred crop, other seeds a
    random crop of 50-100% of that size. Procedural textures: ``'noise'``
    (:func:`noise_texture`, seeded) and ``'stripes'`` (:func:`stripes` with
    vertical stripes of period 8 px, varying along x).

    Parameters
    ----------
    name : str
        One of :data:`TEXTURES`.
    size : (height, width)
    seed : int

    Returns
    -------
    np.ndarray [shape=size], float64

    Examples
    --------
    >>> texture("camera", size=(64, 96)).shape
    (64, 96)
    """
    shape = check_shape(size, "size")
    if name == "noise":
        return noise_texture(shape, seed=seed)
    if name == "stripes":
        return stripes(shape)
    if name not in _PHOTOGRAPHS:
        raise ParameterError(f"unknown texture name={name!r}; choose one of {', '.join(TEXTURES)}")
    rng = None if seed == 0 else np.random.default_rng(seed)
    return _crop_and_resize(_photograph(name), shape, rng)
