"""Magnifying at twice the frames' resolution (``upscale=``), and choosing when to (``"auto"``).

The light network loses detail near the Nyquist frequency: with no motion and
``alpha=1`` it gives back a fine wood texture with SSIM 0.72, 0.94 at twice the
resolution (``bench_magnify.py --upscale-sweep``). Fed frames
upsampled 2x (bicubic) and averaged back over 2x2 pixels, the same detail lies
at half the frequency, within what it reproduces. The magnified motion doubles
too, and the upsampled noise is correlated from pixel to pixel, which no
training example had: so ``"auto"`` upscales only while twice the magnified
motion stays within the range the model was trained on and the noise is low
(:func:`choose_upscale`). ``bench_magnify.py --issue-only`` prints the
photograph table with the chosen scale as a column of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = ["UPSCALES", "UpscaleChoice", "choose_upscale", "noise_level", "largest_motion", "detail_power"]

UPSCALES = (1, 2, "auto")

#: Magnified motion (px) of the training examples when a model file does not record it
#: (:class:`~vismic.magnify.SampleGenerator`'s default ``max_magnified_px``).
DEFAULT_TRAINED_MOTION_PX = 6.0

#: Noise (grey levels of 0-255) above which ``"auto"`` keeps the frames' resolution:
#: upsampled noise is smooth blobs that the network reads as texture.
AUTO_MAX_NOISE = 4.0

#: How far past its trained range ``"auto"`` lets twice the magnified motion go:
#: ``bench_magnify.py --upscale-sweep`` has the shipped model (trained to 6 px) better at
#: twice the resolution on 5 of 5 photographs with 7 px magnified there, on 1 of 5 at 8 px.
AUTO_MOTION_RATIO = 7.0 / 6.0

#: Blur (px) before measuring motion: detail near the Nyquist frequency, which cubic
#: interpolation and real optics do not move as a Fourier shift does, biases the shift low.
_MOTION_BLUR_PX = 1.0

#: Detail near the Nyquist frequency (power above :data:`DETAIL_CYCLES` cycles/px, the
#: noise's taken out) that ``"auto"`` needs, in units of the noise's power there: where the
#: network gives the frames back well at their own resolution, upsampling keeps no detail
#: and its correlated noise only costs (``bench_magnify.py --footage``: a smooth H.264 clip).
AUTO_MIN_DETAIL = 2.0

#: Where "detail near the Nyquist frequency" starts, cycles/px: what the network's
#: half-resolution codes cannot hold.
DETAIL_CYCLES = 0.25

#: Frames whose motion ``"auto"`` measures (evenly spread over the video).
_MOTION_SAMPLES = 8

#: Frame pairs whose difference ``"auto"`` measures the noise on.
_NOISE_PAIRS = 4


def check_upscale(upscale):
    """``1``, ``2`` or ``"auto"``; anything else is a ParameterError."""
    if isinstance(upscale, str):
        if upscale == "auto":
            return upscale
    elif not isinstance(upscale, bool) and upscale in (1, 2):
        return int(upscale)
    raise ParameterError(f"upscale must be 1, 2 or 'auto', given upscale={upscale!r}")


@dataclass(frozen=True)
class UpscaleChoice:
    """What :func:`choose_upscale` measured and chose.

    Attributes
    ----------
    factor : int
        1 or 2.
    motion_px : float
        Largest motion measured against the reference (frame 0; the frame before in ``"dynamic"`` mode), px.
    noise : float
        Noise standard deviation, grey levels of 0-255.
    trained_px : float
        Largest magnified motion the model was trained on, px.
    reason : str
        Why, in words.
    """

    factor: int
    motion_px: float
    noise: float
    trained_px: float
    reason: str


class _Grey:
    """Frames ``(n, h, w[, 3])`` read one at a time as float64 grey levels of 0-255 (luma of RGB).

    Only the few frames measured are converted: a long video is never copied whole.
    """

    def __init__(self, frames, value_range):
        self.frames = np.asarray(frames)
        self.low, self.high = value_range
        self.frame_shape = self.frames.shape[1:3]

    def __len__(self) -> int:
        return self.frames.shape[0]

    def __getitem__(self, index: int) -> np.ndarray:
        frame = self.frames[index].astype(np.float64)
        if frame.ndim == 3:
            frame = frame @ np.array([0.299, 0.587, 0.114])
        return (frame - self.low) * (255.0 / (self.high - self.low))


def _laplacian(image):
    """The 3x3 operator whose response is blind to planes and ramps (Immerkaer 1996), valid part."""
    return (image[:-2, :-2] + image[:-2, 2:] + image[2:, :-2] + image[2:, 2:]
            - 2 * (image[1:-1, :-2] + image[1:-1, 2:] + image[:-2, 1:-1] + image[2:, 1:-1])
            + 4 * image[1:-1, 1:-1])


def noise_level(frames, *, value_range=(0.0, 255.0)) -> float:
    """Noise standard deviation of a video, grey levels of 0-255, from consecutive frames' differences.

    The texture cancels in the difference of two frames (the second moved back by
    the shift measured between them, exactly), so the robust spread of its
    :func:`_laplacian` is the noise (``sqrt(2)`` of it) even on fine textures,
    where a single frame's estimate reads the texture as noise. What the shift does not cancel (detail near the
    Nyquist frequency of a moving texture) still reads as noise: an upper bound.
    With one frame, the single-frame estimate is all there is.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scene = rng.uniform(0, 255, (64, 64))
    >>> frames = scene + 2.0 * rng.standard_normal((3, 64, 64))
    >>> round(noise_level(frames), 1)
    2.0
    """
    grey = _Grey(frames, value_range)
    if len(grey) < 2:
        return float(np.median(np.abs(_laplacian(grey[0]))) / 0.6745 / 6.0)
    from ..stabilise._shift import shift_frames

    pairs = np.unique(np.linspace(0, len(grey) - 2, _NOISE_PAIRS).round().astype(int))
    spread = []
    for k in pairs:
        first, second = grey[k], grey[k + 1]
        dx, dy = _shift(first, second)
        back = shift_frames(second[None], np.array([-dx]), np.array([-dy]))[0]
        residual = _laplacian(back - first)
        if min(residual.shape) > 8:  # the sides left out, where the shift brings in reflected content
            residual = residual[2:-2, 2:-2]
        spread.append(np.median(np.abs(residual)))
    # the Laplacian's gain on white noise is sqrt(36) = 6; a difference holds the noise twice
    return float(np.median(spread) / 0.6745 / 6.0 / np.sqrt(2.0))


def detail_power(frames, *, value_range=(0.0, 255.0)) -> float:
    """Power per pixel (grey levels^2) of a few frames above :data:`DETAIL_CYCLES` cycles/px, noise included.

    A Hann-windowed periodogram, averaged over up to :data:`_NOISE_PAIRS` frames.
    White noise of standard deviation ``s`` adds ``s**2 * (1 - pi * DETAIL_CYCLES**2)``.

    Examples
    --------
    >>> noise = 3.0 * np.random.default_rng(0).standard_normal((4, 64, 64))
    >>> round(detail_power(noise) / (9.0 * (1 - np.pi / 16)), 1)
    1.0
    """
    grey = _Grey(frames, value_range)
    height, width = grey.frame_shape
    window = np.outer(np.hanning(height), np.hanning(width))
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij"))
    picks = np.unique(np.linspace(0, len(grey) - 1, _NOISE_PAIRS).round().astype(int))
    powers = []
    for k in picks:
        frame = grey[k]
        spectrum = np.abs(np.fft.fft2((frame - frame.mean()) * window)) ** 2
        powers.append(spectrum[radius > DETAIL_CYCLES].sum() / np.sum(window ** 2) / (height * width))
    return float(np.mean(powers))


def _shift(reference, image):
    """``(dx, dy)`` that moves ``reference`` onto ``image``, measured on both blurred (see ``_MOTION_BLUR_PX``)."""
    from scipy import ndimage

    from ..stabilise._track import ShiftModel, measure_shift

    model = ShiftModel(ndimage.gaussian_filter(reference, _MOTION_BLUR_PX))
    return measure_shift(ndimage.gaussian_filter(image, _MOTION_BLUR_PX), model)


def _blocks(shape):
    """The whole frame and, on frames of 64 px and more, its four overlapping half-size quarters."""
    height, width = shape
    boxes = [(slice(0, height), slice(0, width))]
    if min(height, width) >= 64:
        h, w = height // 2, width // 2
        for top in (0, height - h):
            for left in (0, width - w):
                boxes.append((slice(top, top + h), slice(left, left + w)))
    return boxes


def largest_motion(frames, *, mode="static", value_range=(0.0, 255.0)) -> float:
    """Largest motion in px of a few frames against their reference: the whole frame and each quarter.

    The reference is frame 0 (``"static"``, and ``"temporal"``, where it bounds
    the band's motion) or the frame before (``"dynamic"``). Shifts are measured
    by phase correlation refined on exactly shifted images
    (:func:`vismic.stabilise.measure_shift`), so any size is read, on frames
    blurred by 1 px, whose detail moves as a Fourier shift moves it.

    Examples
    --------
    >>> from scipy import ndimage
    >>> scene = ndimage.gaussian_filter(np.random.default_rng(1).uniform(0, 255, (64, 64)), 1.5)
    >>> frames = np.stack([scene, ndimage.shift(scene, (0.0, 0.5), mode="wrap")])
    >>> round(largest_motion(frames), 2)
    0.5
    """
    from scipy import ndimage

    from ..stabilise._track import ShiftModel, measure_shift

    grey = _Grey(frames, value_range)
    n = len(grey)
    if n < 2:
        return 0.0
    picks = np.unique(np.linspace(1, n - 1, _MOTION_SAMPLES).round().astype(int))
    largest = 0.0
    models = {}
    for k in picks:
        reference = k - 1 if mode == "dynamic" else 0
        if reference not in models:
            blurred = ndimage.gaussian_filter(grey[reference], _MOTION_BLUR_PX)
            models[reference] = [ShiftModel(blurred[box]) for box in _blocks(grey.frame_shape)]
        frame = ndimage.gaussian_filter(grey[k], _MOTION_BLUR_PX)
        for box, model in zip(_blocks(grey.frame_shape), models[reference]):
            dx, dy = measure_shift(frame[box], model)
            largest = max(largest, float(np.hypot(dx, dy)))
    return largest


def trained_motion(model) -> float:
    """The largest magnified motion (px) ``model``'s training examples had (its file's settings)."""
    settings = (getattr(model, "info", None) or {}).get("settings", {}) or {}
    return float(settings.get("max_magnified_px", DEFAULT_TRAINED_MOTION_PX))


def choose_upscale(frames, *, alpha, model=None, mode="static", value_range=None) -> UpscaleChoice:
    """Whether MagNet should magnify ``frames`` at twice their resolution (``upscale="auto"``).

    Twice, when twice the magnified motion (``2 * alpha * motion``) stays within
    :data:`AUTO_MOTION_RATIO` times the largest the model was trained on, the
    noise is at most :data:`AUTO_MAX_NOISE` grey levels, and the frames have
    detail near the Nyquist frequency to keep (:func:`detail_power`, at least
    :data:`AUTO_MIN_DETAIL` times the noise's there); otherwise at the frames'
    own resolution.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width) or (n, height, width, 3)]
    alpha : float
    model : None, str, path, dict or MagNet
        The model that will magnify (its trained motion range); the default shipped one by default.
    mode : {"static", "dynamic", "temporal"}
    value_range : (low, high), optional
        As :func:`~vismic.magnify.magnify` takes it.

    Returns
    -------
    UpscaleChoice

    Examples
    --------
    >>> from vismic.magnify import choose_upscale
    >>> choice = choose_upscale(frames, alpha=10)  # doctest: +SKIP
    >>> choice.factor, choice.reason  # doctest: +SKIP
    (2, 'twice the magnified motion (2 x 10 x 0.30 px) is within the 6 px trained (+17%); noise 1.0 grey levels')
    """
    from .._checks import check_choice, check_positive
    from ._inference import MODES, _as_frames, _check_device, _get_model, _value_range

    alpha = check_positive(alpha, "alpha")
    check_choice(mode, "mode", MODES)
    frames = _as_frames(frames)
    value_range = _value_range(frames, value_range)
    # the shipped model comes from the cache magnify() uses, not from its file again
    network = model if hasattr(model, "info") else _get_model(model, _check_device("cpu"))
    trained = trained_motion(network)
    motion = largest_motion(frames, mode=mode, value_range=value_range)
    noise = noise_level(frames, value_range=value_range)
    magnified = 2.0 * alpha * motion
    if magnified > AUTO_MOTION_RATIO * trained:
        return UpscaleChoice(1, motion, noise, trained, f"twice the magnified motion (2 x {alpha:g} x {motion:.2f} px) "
                                                        f"is beyond the {trained:g} px trained (+{AUTO_MOTION_RATIO - 1:.0%})")
    if noise > AUTO_MAX_NOISE:
        return UpscaleChoice(1, motion, noise, trained, f"noise {noise:.1f} grey levels is above {AUTO_MAX_NOISE:g}")
    noise_part = noise ** 2 * (1.0 - np.pi * DETAIL_CYCLES ** 2)
    detail = detail_power(frames, value_range=value_range) - noise_part
    if detail < AUTO_MIN_DETAIL * noise_part:
        return UpscaleChoice(1, motion, noise, trained, f"too little detail near the Nyquist frequency "
                                                        f"({max(detail, 0.0):.2f} grey levels^2 per px, the noise's "
                                                        f"{noise_part:.2f}): nothing for twice the resolution to keep")
    return UpscaleChoice(2, motion, noise, trained, f"twice the magnified motion (2 x {alpha:g} x {motion:.2f} px) "
                                                    f"is within the {trained:g} px trained (+{AUTO_MOTION_RATIO - 1:.0%}); "
                                                    f"noise {noise:.1f} grey levels")


class Upscaled:
    """A magnifier run on frames upsampled 2x (bicubic) whose outputs are averaged back over 2x2 pixels.

    ``make(shape)`` builds the inner magnifier for the upsampled frame shape; it keeps
    its state across calls, which come in chunks of ``chunk`` frames (memory: 4x a chunk).
    """

    def __init__(self, make, frame_shape, *, chunk: int = 16):
        shape = tuple(frame_shape)
        self.inner = make((2 * shape[0], 2 * shape[1]) + shape[2:])
        self.chunk = int(chunk)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        parts = []
        for start in range(0, frames.shape[0], self.chunk):
            x = torch.from_numpy(np.ascontiguousarray(frames[start:start + self.chunk], dtype=np.float32))
            x = x.permute(0, 3, 1, 2) if x.ndim == 4 else x[:, None]
            up = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
            up = up.permute(0, 2, 3, 1) if frames.ndim == 4 else up[:, 0]
            out = torch.from_numpy(np.ascontiguousarray(self.inner(up.numpy()), dtype=np.float32))
            out = out.permute(0, 3, 1, 2) if out.ndim == 4 else out[:, None]
            down = F.avg_pool2d(out, 2)
            parts.append((down.permute(0, 2, 3, 1) if frames.ndim == 4 else down[:, 0]).numpy())
        return np.concatenate(parts).astype(np.float64)
