"""Procedural training data for MagNet with exact sub-pixel motion.

The generator of Oh et al. (2018) was never released; this one follows the
paper's description on grayscale frames:

- a background and 0-3 foreground objects, each a texture cut from a
  photograph (the ones that ship inside scikit-image) or a procedural texture
  (1/f noise, gratings, blurred checkers, random discs), rotated and scaled;
- objects have smooth random outlines with an anti-aliased edge;
- every layer moves by its own random sub-pixel displacement ``delta``; the
  target shows each layer at ``alpha * delta`` with ``alpha`` in [1, 100]
  (log-uniform) and the magnified motion capped (``max_magnified_px``);
- a subset with a static background and a subset with the background only;
- frames ``A`` (start), ``B`` (moved), ``C`` (B's geometry with A's
  intensities) and the target ``M`` (magnified geometry, B's intensities):
  ``A``/``C`` share texture, ``B``/``C`` share shape and ``B``/``M`` share
  texture, as the texture and shape regularisation of the loss needs. The
  intensity ("colour") perturbation is a random gain and offset per layer;
- signal-dependent noise on A, B and C (never on the target), then 8-bit
  quantisation of every frame.

Motion is exact: each layer is a continuous function (a cubic spline through
the source texture, or an analytic outline) sampled at translated coordinates
with ``scipy.ndimage.map_coordinates`` in float64 (cv2.remap would quantise
coordinates to 1/32 px). Frames are returned as float32 grey levels 0-255.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from .._procedural import random_texture
from ..errors import ParameterError
from ..io._frames import luma

__all__ = [
    "TRAIN_PHOTOS",
    "HELD_OUT_PHOTOS",
    "Sample",
    "SampleGenerator",
    "render_pair",
]

#: Photographs of scikit-image used for training.
TRAIN_PHOTOS = ("astronaut", "brick", "camera", "grass", "gravel", "moon", "coins", "page", "text",
                "rocket", "clock", "hubble_deep_field", "immunohistochemistry", "cell", "retina")
#: Photographs never used for training (validation and benchmarks).
HELD_OUT_PHOTOS = ("coffee", "chelsea")


@dataclass
class Sample:
    """One training example; frames are float32 grey levels 0-255 of shape (size, size)."""

    frame_a: np.ndarray
    frame_b: np.ndarray
    frame_c: np.ndarray
    target: np.ndarray
    alpha: float


def _gray(image) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.float64)
    else:
        image = image.astype(np.float64)
        if image.max() > 1.5:
            image = image / 255.0
    if image.ndim == 3:
        image = luma(image).astype(np.float64)
    return image


@lru_cache(maxsize=None)
def _photo_coefficients(name: str) -> np.ndarray:
    """Cubic-spline coefficients of a lightly blurred grayscale photograph (0-1)."""
    import skimage.data

    image = _gray(getattr(skimage.data, name)())
    image = ndimage.gaussian_filter(image, 0.6)
    return ndimage.spline_filter(image, order=3, mode="mirror")


def _procedural_texture(rng: np.random.Generator, size: int = 160) -> np.ndarray:
    """Cubic-spline coefficients of one random procedural texture (0-1)."""
    return ndimage.spline_filter(random_texture(rng, size), order=3, mode="mirror")


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class _Layer:
    """A textured layer (optionally with an outline) that can be sampled at any displacement."""

    def __init__(self, coefficients, matrix, offset, outline=None):
        self.coefficients = coefficients
        self.matrix = matrix  # 2x2, output (row, col) -> source (row, col)
        self.offset = offset  # source coordinates of output pixel (0, 0)
        self.outline = outline  # (center (2,), radius, harmonics (k, amplitude, phase)) or None

    def render(self, grid, displacement):
        """Texture and mask at output coordinates ``grid`` (2, h, w) moved by ``displacement`` (2,)."""
        moved = grid - np.asarray(displacement, dtype=np.float64)[:, None, None]
        coords = np.tensordot(self.matrix, moved, axes=1) + self.offset[:, None, None]
        texture = ndimage.map_coordinates(self.coefficients, coords, order=3, mode="mirror", prefilter=False)
        if self.outline is None:
            return texture, None
        center, radius, harmonics, edge = self.outline
        vy = moved[0] - center[0]
        vx = moved[1] - center[1]
        rho = np.hypot(vy, vx)
        phi = np.arctan2(vy, vx)
        boundary = np.full_like(rho, radius)
        for k, amplitude, phase in harmonics:
            boundary += radius * amplitude * np.cos(k * phi + phase)
        mask = _smoothstep((boundary - rho) / edge + 0.5)
        return texture, mask


class SampleGenerator:
    """Random MagNet training examples; example ``i`` depends only on ``(seed, i)``.

    Parameters
    ----------
    size : int
        Height and width of the frames (multiple of 4).
    seed : int
        Seed of the whole stream.
    photos : sequence of str
        scikit-image photographs to cut textures from (:data:`TRAIN_PHOTOS`).
    max_magnified_px : float
        Largest magnified displacement ``alpha * |delta|`` of any layer.
    alpha_range : (float, float)
        Range of the magnification factor (sampled log-uniformly).
    max_noise : float
        Largest noise standard deviation in grey levels (at mid-grey).
    p_photo, p_static_background, p_background_only : float
        Fractions of layers textured from photographs, of examples whose
        background does not move, and of examples without foreground objects.
    n_procedural : int
        Size of the pool of procedural textures (made on first use).
    """

    def __init__(self, size=64, *, seed=0, photos=TRAIN_PHOTOS, max_magnified_px=6.0,
                 alpha_range=(1.0, 100.0), max_noise=4.0, p_photo=0.6, p_static_background=0.3,
                 p_background_only=0.15, n_procedural=96):
        if size < 8 or size % 4:
            raise ParameterError(f"size must be a multiple of 4 and at least 8, given size={size!r}")
        if not (0 < alpha_range[0] <= alpha_range[1]):
            raise ParameterError(f"alpha_range must be increasing and positive, given {alpha_range!r}")
        self.size = int(size)
        self.seed = int(seed)
        self.photos = tuple(photos)
        self.max_magnified_px = float(max_magnified_px)
        self.alpha_range = (float(alpha_range[0]), float(alpha_range[1]))
        self.max_noise = float(max_noise)
        self.p_photo = float(p_photo)
        self.p_static_background = float(p_static_background)
        self.p_background_only = float(p_background_only)
        self.n_procedural = int(n_procedural)
        self._pool = None
        self._grid = np.mgrid[0:size, 0:size].astype(np.float64)

    # -- layers ---------------------------------------------------------------
    def _procedural(self, rng):
        # a pool of procedural textures made once per generator (seeded), reused
        # under random rotations, scales and crops: generating one costs as much
        # as rendering a whole example
        if self._pool is None:
            pool_rng = np.random.default_rng([self.seed, 104729])
            self._pool = [_procedural_texture(pool_rng) for _ in range(self.n_procedural)]
        return self._pool[rng.integers(len(self._pool))]

    def _texture(self, rng):
        if self.photos and rng.random() < self.p_photo:
            coefficients = _photo_coefficients(self.photos[rng.integers(len(self.photos))])
        else:
            coefficients = self._procedural(rng)
        theta = rng.uniform(0, 2 * np.pi)
        scale = np.exp(rng.uniform(np.log(0.5), np.log(1.3)))
        c, s = np.cos(theta), np.sin(theta)
        matrix = scale * np.array([[c, -s], [s, c]])
        margin = scale * self.size * 1.5
        shape = np.array(coefficients.shape, dtype=np.float64)
        low = np.minimum(margin, shape / 2)
        high = np.maximum(shape - margin, shape / 2)
        offset = rng.uniform(low, high)
        # keep the patch centred on the chosen point
        offset = offset - matrix @ np.array([self.size / 2, self.size / 2])
        return coefficients, matrix, offset

    def _layers(self, rng):
        layers = [_Layer(*self._texture(rng))]
        n_objects = 0 if rng.random() < self.p_background_only else int(rng.integers(1, 4))
        for _ in range(n_objects):
            radius = rng.uniform(0.12, 0.45) * self.size
            center = rng.uniform(0.1 * self.size, 0.9 * self.size, 2)
            harmonics = [(k, rng.uniform(0, 0.2 / k), rng.uniform(0, 2 * np.pi)) for k in range(2, 6)]
            layers.append(_Layer(*self._texture(rng), outline=(center, radius, harmonics, rng.uniform(1.0, 2.0))))
        return layers

    def _motions(self, rng, n_layers, alpha, static_background):
        motions = []
        for index in range(n_layers):
            if index == 0 and static_background:
                motions.append(np.zeros(2))
                continue
            magnified = self.max_magnified_px * np.sqrt(rng.uniform())
            angle = rng.uniform(0, 2 * np.pi)
            motions.append(magnified / alpha * np.array([np.sin(angle), np.cos(angle)]))
        return motions

    # -- examples -------------------------------------------------------------
    def _composite(self, rendered, intensities):
        frame = None
        for (texture, mask), (gain, offset) in zip(rendered, intensities):
            value = gain * texture + offset
            frame = value if mask is None else frame * (1 - mask) + value * mask
        return np.clip(frame, 0.0, 1.0) * 255.0

    def _noisy(self, rng, frame, sigma):
        if sigma > 0:
            frame = frame + rng.standard_normal(frame.shape) * sigma * np.sqrt(np.maximum(frame, 1.0) / 128.0)
        return frame

    @staticmethod
    def _quantise(frame):
        return np.clip(np.round(frame), 0, 255).astype(np.float32)

    def sample(self, index: int) -> Sample:
        """Example number ``index`` of the stream."""
        rng = np.random.default_rng([self.seed, int(index)])
        log_low, log_high = np.log(self.alpha_range[0]), np.log(self.alpha_range[1])
        alpha = float(np.exp(rng.uniform(log_low, log_high)))
        layers = self._layers(rng)
        static_background = rng.random() < self.p_static_background
        motions = self._motions(rng, len(layers), alpha, static_background)
        intensities_a = [(1.0, 0.0)] * len(layers)
        intensities_b = [(rng.uniform(0.6, 1.4), rng.uniform(-0.2, 0.2)) for _ in layers]
        if rng.random() < 0.2:  # some examples without the intensity perturbation
            intensities_b = intensities_a
        at_a = [layer.render(self._grid, np.zeros(2)) for layer in layers]
        at_b = [layer.render(self._grid, d) for layer, d in zip(layers, motions)]
        at_m = [layer.render(self._grid, alpha * d) for layer, d in zip(layers, motions)]
        sigma = 0.0 if rng.random() < 0.3 else self.max_noise * rng.uniform() ** 2
        frame_a = self._composite(at_a, intensities_a)
        frame_b = self._composite(at_b, intensities_b)
        frame_c = self._composite(at_b, intensities_a)
        target = self._composite(at_m, intensities_b)
        return Sample(
            frame_a=self._quantise(self._noisy(rng, frame_a, sigma)),
            frame_b=self._quantise(self._noisy(rng, frame_b, sigma)),
            frame_c=self._quantise(self._noisy(rng, frame_c, sigma)),
            target=self._quantise(target),
            alpha=alpha,
        )

    def batch(self, start: int, count: int):
        """Examples ``start .. start + count - 1`` stacked: four float32 arrays (count, size, size) and alphas."""
        samples = [self.sample(start + i) for i in range(count)]
        return (np.stack([s.frame_a for s in samples]), np.stack([s.frame_b for s in samples]),
                np.stack([s.frame_c for s in samples]), np.stack([s.target for s in samples]),
                np.array([s.alpha for s in samples], dtype=np.float32))


def render_pair(displacement_px, alpha, *, size=128, noise=0.0, seed=0, photos=HELD_OUT_PHOTOS,
                n_objects=1, quantise=True):
    """A test pair with exactly rendered ground truth (benchmarks and tests).

    Every layer moves by the same ``displacement_px`` (rows, cols) or, for a
    number, along the columns. Returns ``(frame_a, frame_b, truth)`` float64
    grey levels 0-255, where ``truth`` shows the scene moved by
    ``alpha * displacement_px``. Noise of standard deviation ``noise`` grey
    levels (signal dependent, as in training) is added to A and B only.
    """
    generator = SampleGenerator(size, seed=seed, photos=photos, p_photo=1.0 if photos else 0.0)
    rng = np.random.default_rng([seed, 7919])
    delta = np.asarray(displacement_px, dtype=np.float64)
    if delta.ndim == 0:
        delta = np.array([0.0, float(delta)])
    layers = [_Layer(*generator._texture(rng))]
    for _ in range(n_objects):
        radius = rng.uniform(0.2, 0.35) * size
        center = rng.uniform(0.35 * size, 0.65 * size, 2)
        harmonics = [(k, rng.uniform(0, 0.2 / k), rng.uniform(0, 2 * np.pi)) for k in range(2, 6)]
        layers.append(_Layer(*generator._texture(rng), outline=(center, radius, harmonics, 1.5)))
    ones = [(1.0, 0.0)] * len(layers)
    grid = generator._grid
    frames = []
    for shift in (np.zeros(2), delta, alpha * delta):
        frames.append(generator._composite([layer.render(grid, shift) for layer in layers], ones))
    frame_a, frame_b, truth = frames
    frame_a = generator._noisy(rng, frame_a, noise)
    frame_b = generator._noisy(rng, frame_b, noise)
    if quantise:
        frame_a, frame_b = (np.clip(np.round(f), 0, 255) for f in (frame_a, frame_b))
    return frame_a.astype(np.float64), frame_b.astype(np.float64), truth.astype(np.float64)
