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

With ``mix=`` (what :func:`~vismic.magnify.train` uses by default,
:data:`NATURAL_MIX`) layers are also textured with images that have the
statistics of natural scenes rather than of one photograph: dead-leaves images
(:func:`dead_leaves`: occluding discs and ellipses whose radii follow
``p(r) ~ r^-3``, so that the image is scale invariant with a power spectrum
close to ``1/f^2``; flat, gradient-filled or textured leaves) and large smooth,
low-texture areas (:func:`smooth_texture`); examples may be blurred as a lens
would blur them (``p_blur``) and the noise may have a signal-independent read
part (``noise_model="camera"``).

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

from .._procedural import power_law_noise, random_texture
from ..errors import ParameterError
from ..io._frames import luma

__all__ = [
    "TRAIN_PHOTOS",
    "NATURAL_MIX",
    "TEXTURE_SOURCES",
    "dead_leaves",
    "smooth_texture",
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
#: Kinds of texture a layer can take (the keys of ``mix=``).
TEXTURE_SOURCES = ("photo", "procedural", "dead_leaves", "smooth")
#: The mixture :func:`~vismic.magnify.train` uses for new runs: mostly images with
#: natural-image statistics, photographs and procedural textures for the rest.
NATURAL_MIX = {"photo": 0.3, "procedural": 0.15, "dead_leaves": 0.4, "smooth": 0.15}


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


def _leaf_radii(rng, count, r_min, r_max, exponent):
    """Radii with density ``r^-exponent`` on [r_min, r_max] (inverse of the CDF)."""
    u = rng.uniform(size=count)
    power = 1.0 - exponent
    return (r_min**power + u * (r_max**power - r_min**power)) ** (1.0 / power)


def dead_leaves(rng: np.random.Generator, size: int = 192, *, r_min: float = 1.5, r_max=None,
                exponent: float = 3.0, max_leaves: int = 40000) -> np.ndarray:
    """A dead-leaves image: occluding shapes whose sizes make it scale invariant, grey 0-1.

    Leaves (discs, some ellipses) fall one on another; the image shows the top
    of the pile. Radii follow ``p(r) ~ r^-exponent`` (3: scale invariance, a
    power spectrum close to ``1/f^2`` as in photographs of natural scenes).
    Each leaf has a random grey level; some carry a smooth gradient or a
    1/f texture. Edges are anti-aliased over one pixel.

    It is painted front to back (each new leaf only shows through what the
    leaves in front leave uncovered), which is the same picture as painting the
    fallen leaves back to front and stops once the image is covered.

    Parameters
    ----------
    rng : np.random.Generator
    size : int
        Height and width in pixels.
    r_min, r_max : float
        Smallest and largest radius in pixels (``r_max`` defaults to ``size / 2``).
    exponent : float
        Exponent of the radius density.
    max_leaves : int
        Leaves painted at most; what is still uncovered then takes the mean grey.

    Returns
    -------
    np.ndarray [shape=(size, size)], float64 in [0, 1]

    Examples
    --------
    >>> image = dead_leaves(np.random.default_rng(0), size=48)
    >>> image.shape, bool(0 <= image.min() and image.max() <= 1)
    ((48, 48), True)
    """
    r_max = size / 2 if r_max is None else float(r_max)
    texture = power_law_noise((size, size), rng, exponent=1.5, cutoff_cycles_per_px=0.4)
    texture /= max(texture.std(), 1e-12)
    image = np.zeros((size, size))
    uncovered = np.ones((size, size))
    painted = 0
    while painted < max_leaves:
        count = min(256, max_leaves - painted)
        radii = _leaf_radii(rng, count, r_min, r_max, exponent)
        centers = rng.uniform(-r_max * 0.25, size + r_max * 0.25, (count, 2))
        greys = rng.uniform(0, 1, count)
        kinds = rng.uniform(size=count)  # < 0.6 flat, < 0.8 gradient, else textured
        aspects = np.where(rng.uniform(size=count) < 0.3, rng.uniform(0.35, 1.0, count), 1.0)
        angles = rng.uniform(0, np.pi, count)
        gradients = rng.uniform(-0.35, 0.35, count)
        contrasts = rng.uniform(0.05, 0.25, count)
        for k in range(count):
            radius, (cy, cx) = radii[k], centers[k]
            reach = radius + 1.0
            top, bottom = max(int(cy - reach), 0), min(int(np.ceil(cy + reach)) + 1, size)
            left, right = max(int(cx - reach), 0), min(int(np.ceil(cx + reach)) + 1, size)
            if top >= bottom or left >= right:
                continue
            yy = np.arange(top, bottom)[:, None] - cy
            xx = np.arange(left, right)[None, :] - cx
            c, s = np.cos(angles[k]), np.sin(angles[k])
            along = c * xx + s * yy
            across = -s * xx + c * yy
            # distance-like radius of the ellipse, in pixels along its long axis
            rho = np.hypot(along, across / aspects[k])
            cover = np.clip(radius - rho + 0.5, 0.0, 1.0)
            value = greys[k]
            if kinds[k] >= 0.8:
                value = value + contrasts[k] * texture[top:bottom, left:right]
            elif kinds[k] >= 0.6:
                value = value + gradients[k] * along / max(radius, 1.0)
            window = uncovered[top:bottom, left:right]
            image[top:bottom, left:right] += window * cover * value
            window *= 1.0 - cover
        painted += count
        if uncovered.max() < 1e-3:
            break
    image += uncovered * 0.5
    return np.clip(image, 0.0, 1.0)


def smooth_texture(rng: np.random.Generator, size: int = 192) -> np.ndarray:
    """A large smooth area with little texture (a wall, sky, skin, a table), grey 0-1.

    A gentle gradient plus very low-frequency variation of small contrast and a
    faint fine texture on top; the kind of region where a magnifier must not
    invent structure.

    Returns
    -------
    np.ndarray [shape=(size, size)], float64 in [0, 1]

    Examples
    --------
    >>> image = smooth_texture(np.random.default_rng(0), size=32)
    >>> image.shape, bool(image.std() < 0.2)
    ((32, 32), True)
    """
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    theta = rng.uniform(0, 2 * np.pi)
    image = rng.uniform(-0.15, 0.15) * (np.cos(theta) * xx + np.sin(theta) * yy)
    broad = power_law_noise((size, size), rng, exponent=2.5, cutoff_cycles_per_px=0.05)
    image += rng.uniform(0.01, 0.08) * broad / max(broad.std(), 1e-12)
    fine = power_law_noise((size, size), rng, exponent=1.0, cutoff_cycles_per_px=0.4)
    image += rng.uniform(0.0, 0.015) * fine / max(fine.std(), 1e-12)
    return np.clip(image + rng.uniform(0.15, 0.85), 0.0, 1.0)


#: Zoom range of the training textures (source pixels per output pixel) the shipped stages saw.
TEXTURE_SCALE = (0.5, 1.3)


def _check_texture_scale(texture_scale) -> tuple:
    try:
        low, high = (float(v) for v in texture_scale)
    except (TypeError, ValueError):
        low = high = float("nan")
    if not (0 < low <= high < float("inf")):
        raise ParameterError(f"texture_scale must be (low, high) with 0 < low <= high, given {texture_scale!r}")
    return low, high


def _check_mix(mix):
    """``mix`` as a dict of probabilities over TEXTURE_SOURCES that sum to 1 (or None)."""
    if mix is None:
        return None
    if not isinstance(mix, dict) or not mix:
        raise ParameterError(f"mix must be a dict {{source: weight}} over {TEXTURE_SOURCES}, given {mix!r}")
    unknown = sorted(set(mix) - set(TEXTURE_SOURCES))
    if unknown:
        raise ParameterError(f"mix has unknown sources {unknown}; use some of {TEXTURE_SOURCES}")
    weights = {name: float(mix.get(name, 0.0)) for name in TEXTURE_SOURCES}
    if any(not np.isfinite(w) or w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ParameterError(f"mix weights must be non-negative with a positive sum, given {mix!r}")
    total = sum(weights.values())
    return {name: w / total for name, w in weights.items()}


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
        Size of each pool of generated textures (procedural, dead leaves,
        smooth; each made on first use).
    mix : dict, optional
        Probabilities of the texture sources of a layer, keys from
        :data:`TEXTURE_SOURCES` (e.g. :data:`NATURAL_MIX`); normalised to sum
        to 1. ``None`` (default): photographs with probability ``p_photo``,
        procedural textures otherwise, as the shipped model was first trained.
    p_blur : float
        Fraction of examples blurred as by a lens (Gaussian, sigma 0.4-1.5 px
        log-uniform), all four frames alike, so the target stays exact.
    noise_model : {"shot", "camera"}
        ``"shot"``: noise variance proportional to the grey level (``max_noise``
        at mid-grey). ``"camera"``: a random part of that variance (0-100 % per
        example) is signal-independent read noise.
    texture_scale : (float, float)
        Range of the texture's zoom (log-uniform): source pixels per output
        pixel. Above 1 a texture is rendered finer than its source, which is
        where photographs keep their detail near the Nyquist frequency.

    Examples
    --------
    >>> generator = SampleGenerator(32, seed=1, mix=NATURAL_MIX, p_blur=0.3, n_procedural=2)
    >>> example = generator.sample(0)
    >>> example.frame_a.shape, example.target.dtype
    ((32, 32), dtype('float32'))
    """

    def __init__(self, size=64, *, seed=0, photos=TRAIN_PHOTOS, max_magnified_px=6.0,
                 alpha_range=(1.0, 100.0), max_noise=4.0, p_photo=0.6, p_static_background=0.3,
                 p_background_only=0.15, n_procedural=96, mix=None, p_blur=0.0, noise_model="shot",
                 texture_scale=TEXTURE_SCALE):
        if size < 8 or size % 4:
            raise ParameterError(f"size must be a multiple of 4 and at least 8, given size={size!r}")
        if not (0 < alpha_range[0] <= alpha_range[1]):
            raise ParameterError(f"alpha_range must be increasing and positive, given {alpha_range!r}")
        self.texture_scale = _check_texture_scale(texture_scale)
        if noise_model not in ("shot", "camera"):
            raise ParameterError(f"noise_model must be 'shot' or 'camera', given noise_model={noise_model!r}")
        if not 0 <= float(p_blur) <= 1:
            raise ParameterError(f"p_blur must be a probability in [0, 1], given p_blur={p_blur!r}")
        self.mix = _check_mix(mix)
        if self.mix is not None and self.mix["photo"] > 0 and not photos:
            raise ParameterError("mix gives photographs a weight but photos=() is empty; "
                                 "give photos or set mix['photo'] to 0")
        self.p_blur = float(p_blur)
        self.noise_model = noise_model
        self._pools = {}
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

    def _generated(self, rng, kind):
        """Texture ``k`` of the pool of dead-leaves or smooth images, made on first use from ``(seed, kind, k)``.

        Each texture has its own seed, so a short run only makes the few it draws.
        """
        pool = self._pools.setdefault(kind, {})
        index = int(rng.integers(self.n_procedural))
        if index not in pool:
            make = dead_leaves if kind == "dead_leaves" else smooth_texture
            texture_rng = np.random.default_rng([self.seed, 104729, TEXTURE_SOURCES.index(kind), index])
            # covers a patch under the largest scale and rotation
            texture_size = max(192, int(np.ceil(2 * self.size * max(1.0, self.texture_scale[1] / TEXTURE_SCALE[1])))
                               + 64)
            pool[index] = ndimage.spline_filter(make(texture_rng, texture_size), order=3, mode="mirror")
        return pool[index]

    def _source(self, rng):
        if self.mix is None:
            return "photo" if self.photos and rng.random() < self.p_photo else "procedural"
        weights = np.array([self.mix[name] for name in TEXTURE_SOURCES])
        index = int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum(), side="right"))
        return TEXTURE_SOURCES[min(index, len(TEXTURE_SOURCES) - 1)]

    def _texture(self, rng):
        kind = self._source(rng)
        if kind == "photo":
            coefficients = _photo_coefficients(self.photos[rng.integers(len(self.photos))])
        elif kind == "procedural":
            coefficients = self._procedural(rng)
        else:
            coefficients = self._generated(rng, kind)
        theta = rng.uniform(0, 2 * np.pi)
        scale = np.exp(rng.uniform(*np.log(self.texture_scale)))
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

    def _noisy(self, rng, frame, sigma, read_fraction=0.0):
        if sigma > 0:
            if read_fraction:
                scale = np.sqrt(read_fraction + (1.0 - read_fraction) * np.maximum(frame, 1.0) / 128.0)
            else:
                scale = np.sqrt(np.maximum(frame, 1.0) / 128.0)
            frame = frame + rng.standard_normal(frame.shape) * sigma * scale
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
        blur = 0.0
        if self.p_blur and rng.random() < self.p_blur:
            blur = float(np.exp(rng.uniform(np.log(0.4), np.log(1.5))))
        # a blurred example is rendered with a margin and cropped after the blur,
        # so that its edges see the scene, not a padding: the motion stays exact
        margin = int(np.ceil(4 * blur))
        grid = self._grid if not margin else np.mgrid[-margin:self.size + margin,
                                                       -margin:self.size + margin].astype(np.float64)
        at_a = [layer.render(grid, np.zeros(2)) for layer in layers]
        at_b = [layer.render(grid, d) for layer, d in zip(layers, motions)]
        at_m = [layer.render(grid, alpha * d) for layer, d in zip(layers, motions)]
        sigma = 0.0 if rng.random() < 0.3 else self.max_noise * rng.uniform() ** 2
        read_fraction = float(rng.uniform()) if self.noise_model == "camera" else 0.0
        frames = [self._composite(at_a, intensities_a), self._composite(at_b, intensities_b),
                  self._composite(at_b, intensities_a), self._composite(at_m, intensities_b)]
        if margin:
            crop = (slice(margin, margin + self.size),) * 2
            frames = [ndimage.gaussian_filter(frame, blur, mode="nearest")[crop] for frame in frames]
        frame_a, frame_b, frame_c, target = frames
        return Sample(
            frame_a=self._quantise(self._noisy(rng, frame_a, sigma, read_fraction)),
            frame_b=self._quantise(self._noisy(rng, frame_b, sigma, read_fraction)),
            frame_c=self._quantise(self._noisy(rng, frame_c, sigma, read_fraction)),
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
                n_objects=1, quantise=True, mix=None, n_textures=96):
    """A test pair with exactly rendered ground truth (benchmarks and tests).

    Layers are textured from ``photos`` or, with ``mix=`` (as in
    :class:`SampleGenerator`, e.g. ``{"dead_leaves": 1.0}``), from those
    sources (pools of ``n_textures`` generated textures).

    Every layer moves by the same ``displacement_px`` (rows, cols) or, for a
    number, along the columns. Returns ``(frame_a, frame_b, truth)`` float64
    grey levels 0-255, where ``truth`` shows the scene moved by
    ``alpha * displacement_px``. Noise of standard deviation ``noise`` grey
    levels (signal dependent, as in training) is added to A and B only.
    """
    generator = SampleGenerator(size, seed=seed, photos=photos, p_photo=1.0 if photos else 0.0, mix=mix,
                                n_procedural=n_textures)
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
