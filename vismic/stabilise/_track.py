"""Slow global motion and light of a video, measured on block means and smoothed below the sound band.

The camera's own motion (drift, sway, shake) is measured on the mean of each
block of ``block_frames`` consecutive frames (blocks anchored at frame 0), by
phase correlation (any size of motion) refined by Gauss-Newton on an exact
sub-pixel shift, against the first block. The per-block track is then
low-passed at the blocks' own rate (:func:`smooth_track` on the block means,
corrected for the averaging by :func:`correct_block_means`) and interpolated
to every frame (:func:`interpolate_blocks`): what remains is the motion below
the sound band, which :class:`~vismic.stabilise.Stabilise` removes. Sound-band motion (what is recovered) is
stopped by the kernel, so it is left in the frames. Near the clip's ends the
kernel reaches past the blocks: :func:`extend_track` continues the track there
as band-limited motion.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft

from ._shift import chunk_frames, shift_frames, spectral_gradient

__all__ = ["taper", "measure_shift", "track_kernel", "smooth_track", "correct_block_means", "interpolate_blocks",
           "extend_track", "measured_blocks", "fit_light", "TrackSettings", "slow_track", "track_error",
           "track_response", "sound_taken"]

#: Half-width, in blocks, of the kernel that interpolates the smoothed block track to every frame.
INTERPOLATION_BLOCKS = 8

#: What is left of the sound and the measurement in a block's motion, px: the noise of the
#: extrapolation past the clip's ends (see ``slow_track``).
EXTEND_NOISE_PX = 0.002


def taper(shape, *, fraction: float = 0.125) -> np.ndarray:
    """Weights that fall smoothly to 0 over ``fraction`` of each side (border content moves in and out).

    Examples
    --------
    >>> w = taper((16, 16))
    >>> float(w[8, 8]), float(w[0, 0])
    (1.0, 0.0)
    """
    axes = []
    for length in shape:
        ramp = max(1, int(round(fraction * length)))
        position = np.minimum(np.arange(length), np.arange(length)[::-1]).astype(np.float64)
        axes.append(0.5 - 0.5 * np.cos(np.pi * np.clip(position / ramp, 0.0, 1.0)))
    return axes[0][:, None] * axes[1][None, :]


def _windowed_spectrum(image, window) -> np.ndarray:
    return scipy.fft.rfft2((image - np.sum(image * window) / np.sum(window)) * window, workers=-1)


def _phase_correlation(image, reference_spectrum, window) -> tuple:
    """Shift ``(dx, dy)`` of ``image`` relative to a reference (its :func:`_windowed_spectrum`) to about 0.1 px.

    The peak of the correlation surface is refined with a parabola.
    """
    cross = _windowed_spectrum(image, window) * np.conj(reference_spectrum)
    scale = np.abs(cross)
    cross /= scale + (1e-12 * np.max(scale) or 1.0)  # a flat (black, textureless) image has no phase
    surface = scipy.fft.irfft2(cross, s=image.shape, workers=-1)
    row, col = np.unravel_index(int(np.argmax(surface)), surface.shape)
    offsets = []
    for axis, index in ((1, col), (0, row)):
        length = surface.shape[axis]
        around = [surface[(row, (index + k) % length)] if axis == 1 else surface[((index + k) % length, col)]
                  for k in (-1, 0, 1)]
        curvature = around[0] - 2 * around[1] + around[2]
        fine = 0.5 * (around[0] - around[2]) / curvature if curvature < 0 else 0.0
        whole = index if index <= length // 2 else index - length
        offsets.append(whole + float(np.clip(fine, -0.5, 0.5)))
    return offsets[0], offsets[1]


class ShiftModel:
    """A reference image with what measuring shifts against it needs (gradients, weights)."""

    def __init__(self, reference: np.ndarray, *, taper_fraction: float = 0.125):
        self.reference = np.asarray(reference, dtype=np.float64)
        self.window = taper(self.reference.shape, fraction=taper_fraction)
        gx, gy = spectral_gradient(self.reference)
        regressors = np.stack([self.reference, np.ones_like(self.reference), gx, gy]).reshape(4, -1)
        self._regressors = regressors
        #: Motion information density of the reference (squared gradient), ``(height, width)``.
        self.information = (gx ** 2 + gy ** 2).reshape(self.reference.shape)
        weighted = regressors * self.window.reshape(1, -1)
        self._solve = np.linalg.pinv(weighted @ regressors.T) @ weighted  # (4, pixels)
        #: The reference's windowed spectrum, which phase correlation compares every image with.
        self.spectrum = _windowed_spectrum(self.reference, self.window)

    def fit(self, images: np.ndarray) -> np.ndarray:
        """Least-squares ``images ≈ g R + o - ex dR/dx - ey dR/dy`` per image: ``(n, 4)`` of ``(g, o, -ex, -ey)``."""
        images = np.asarray(images)
        flat = images.reshape(images.shape[0], -1)
        out = np.empty((flat.shape[0], 4))
        step = chunk_frames(flat.shape[1:], 8)  # float64 copies of a few images at a time
        for start in range(0, flat.shape[0], step):
            out[start:start + step] = flat[start:start + step].astype(np.float64) @ self._solve.T
        return out


def measure_shift(image, model: ShiftModel, *, n_iterations: int = 2, dtype=np.float32) -> tuple:
    """Shift ``(dx, dy)`` in px that moves ``model.reference`` onto ``image`` (any size, sub-pixel).

    Phase correlation gives the shift to a fraction of a pixel; Gauss-Newton
    steps on the exactly shifted image (with a gain and offset, so changing
    light does not read as motion) refine it: two steps reach what five do (a
    test holds them within 2e-5 px on shifts up to 4 px), and each costs a shift.
    The image is shifted in ``dtype``: float32 by default, at half float64's cost
    (a test holds the two within 1e-6 px of each other).
    """
    image = np.asarray(image, dtype=np.float64)
    dx, dy = _phase_correlation(image, model.spectrum, model.window)
    single = image[None].astype(dtype)
    for _ in range(n_iterations):
        back = shift_frames(single, np.array([-dx]), np.array([-dy]))
        gain, _, minus_ex, minus_ey = model.fit(back)[0]
        gain = gain if abs(gain) > 1e-6 else 1.0
        dx += -minus_ex / gain
        dy += -minus_ey / gain
    return float(dx), float(dy)


def track_kernel(offsets_frames, *, cutoff_hz, width_seconds, fps: float) -> np.ndarray:
    """Kaiser-windowed sinc low-pass of ``cutoff_hz`` at time offsets given in frames (0 outside the window).

    ``width_seconds`` is the kernel's total length; its transition band is
    about ``3.6 / width_seconds`` Hz wide (Kaiser beta 6, ~60 dB stopband).
    ``cutoff_hz`` and ``width_seconds`` broadcast against the offsets.
    """
    tau = np.asarray(offsets_frames, dtype=np.float64) / fps
    half = np.broadcast_to(np.asarray(width_seconds, dtype=np.float64) / 2.0, tau.shape)
    cutoff = np.broadcast_to(np.asarray(cutoff_hz, dtype=np.float64), tau.shape)
    inside = np.abs(tau) < half
    window = np.zeros_like(tau)
    window[inside] = np.i0(6.0 * np.sqrt(1.0 - (tau[inside] / half[inside]) ** 2)) / np.i0(6.0)
    return 2.0 * cutoff * np.sinc(2.0 * cutoff * tau) * window


def smooth_track(frame_index, block_centres, block_values, *, cutoff_hz, width_seconds, fps: float):
    """The block track low-passed and evaluated at every frame: ``(n_frames, k)``.

    Each frame's value is the kernel-weighted mean of the blocks within the
    kernel (weights normalised to sum 1, so a constant track is kept exactly).
    ``cutoff_hz`` and ``width_seconds`` may be per frame (arrays of shape ``(n_frames,)``).
    """
    frame_index = np.asarray(frame_index, dtype=np.float64)
    centres = np.asarray(block_centres, dtype=np.float64)
    per_frame = lambda value: np.asarray(value, dtype=np.float64).reshape(-1, 1) if np.ndim(value) else value
    weights = track_kernel(frame_index[:, None] - centres[None, :], cutoff_hz=per_frame(cutoff_hz),
                           width_seconds=per_frame(width_seconds), fps=fps)
    total = weights.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return (weights / total) @ np.asarray(block_values, dtype=np.float64)


def correct_block_means(values) -> np.ndarray:
    """Block means with the attenuation of their own averaging undone in the track's band: ``(n, k)``.

    A block mean is the motion averaged over the block, which scales a component
    of frequency ``f`` by ``sinc(f T)`` (``T`` the block length): a 10 Hz shake
    in 5 ms blocks keeps 99.6 % of its size, and the 0.4 % left in the frames
    is 0.016 px on a 4 px shake, of the order of a 0.05 px sound. ``v + (2 v[i] - v[i-1] - v[i+1]) / 24``
    inverts the average to second order in ``f T`` (the outermost blocks use a
    straight line through their neighbour).

    Examples
    --------
    >>> t = (np.arange(40) + 0.5) * 0.005
    >>> means = np.sinc(10.0 * 0.005) * np.sin(2 * np.pi * 10.0 * t)[:, None]  # 5 ms means of a 10 Hz sine
    >>> error = np.abs(correct_block_means(means)[1:-1, 0] - np.sin(2 * np.pi * 10.0 * t[1:-1]))
    >>> bool(error.max() < 1e-4 < np.abs(means[:, 0] - np.sin(2 * np.pi * 10.0 * t)).max())
    True
    """
    values = np.asarray(values, dtype=np.float64)
    values = values.reshape(values.shape[0], -1)
    if values.shape[0] < 2:
        return values.copy()
    padded = np.concatenate([2 * values[:1] - values[1:2], values, 2 * values[-1:] - values[-2:-1]])
    return values + (2 * values - padded[:-2] - padded[2:]) / 24.0


def interpolate_blocks(frame_index, block_centres, block_values, *, block_frames: float,
                       half_width_blocks: int = INTERPOLATION_BLOCKS) -> np.ndarray:
    """A smoothed block track evaluated at every frame: ``(n_frames, k)``.

    Kaiser-windowed sinc (beta 8) with its cut-off at half the block rate,
    ``half_width_blocks`` blocks each side. Interpolating the smoothed blocks,
    rather than low-passing the raw block means straight onto the frames with
    one kernel, keeps the block rate's images out of the sound band: the
    smoothing kernel alone left the images of a 4 px shake at 200 Hz +- 10 Hz
    at its stopband's level (how much depended erratically on where its nulls
    fell; this way leaves less than half of it above 20 Hz,
    ``tests/stabilise/test_track.py``); this kernel's stopband starts where the
    images of a track band-limited to ~35 Hz begin. Every frame needs the blocks
    within ``half_width_blocks`` on both sides.

    Examples
    --------
    >>> centres = np.arange(0, 400, 10) + 4.5
    >>> track = np.sin(2 * np.pi * centres / 400)[:, None]
    >>> frames = np.arange(100, 300)
    >>> error = interpolate_blocks(frames, centres, track, block_frames=10) - np.sin(2 * np.pi * frames / 400)[:, None]
    >>> bool(np.abs(error).max() < 1e-4)
    True
    """
    tau = (np.asarray(frame_index, dtype=np.float64)[:, None]
           - np.asarray(block_centres, dtype=np.float64)[None, :]) / float(block_frames)
    inside = np.abs(tau) < half_width_blocks
    weights = np.zeros_like(tau)
    taper_ = np.sqrt(1.0 - (tau[inside] / half_width_blocks) ** 2)
    weights[inside] = np.sinc(tau[inside]) * np.i0(8.0 * taper_) / np.i0(8.0)
    total = weights.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return (weights / total) @ np.asarray(block_values, dtype=np.float64).reshape(weights.shape[1], -1)


def extend_track(times_seconds, values, new_seconds, *, band_hz: float, noise_px: float) -> np.ndarray:
    """A track continued to new times as motion band-limited to ``band_hz``: ``(n_new, k)``.

    The posterior mean of a Gaussian process with a flat spectrum up to
    ``band_hz`` (covariance ``sinc(2 band_hz tau)``, 1 px^2) around the mean of
    ``values``, observed with white noise of ``noise_px`` (what is left of the
    sound and the measurement in a block mean). Unlike a reflection, it keeps
    the curvature a shake has at the clip's ends; unlike a polynomial, it does
    not run away (it falls back to the mean far from the data).

    Parameters
    ----------
    times_seconds : np.ndarray [shape=(n,)]
        Times of the known values (any spacing).
    values : np.ndarray [shape=(n, k)]
    new_seconds : np.ndarray [shape=(n_new,)]
    band_hz, noise_px : float

    Examples
    --------
    >>> t = np.arange(30) * 0.005
    >>> motion = np.sin(2 * np.pi * 6.0 * t)[:, None]
    >>> ahead = extend_track(t, motion, np.array([0.16]), band_hz=10.0, noise_px=0.002)
    >>> abs(float(ahead[0, 0]) - np.sin(2 * np.pi * 6.0 * 0.16)) < 0.01
    True
    """
    times = np.asarray(times_seconds, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64).reshape(times.shape[0], -1)
    mean = values.mean(axis=0)
    covariance = np.sinc(2.0 * band_hz * (times[:, None] - times[None, :]))
    covariance[np.diag_indices_from(covariance)] += noise_px ** 2
    cross = np.sinc(2.0 * band_hz * (np.asarray(new_seconds, dtype=np.float64)[:, None] - times[None, :]))
    # the covariance is numerically of low rank (a band-limited process on a short window): the noise
    # term keeps the system positive definite, and a symmetric solve is exact enough at 1e-6 relative
    return cross @ np.linalg.solve(covariance, values - mean) + mean


def fit_light(frames, model: ShiftModel) -> tuple:
    """Per-frame gain and offset of aligned frames relative to the model's reference.

    Motion is fitted jointly (the gradient regressors), so the sound's motion
    does not leak into the gain.

    Returns
    -------
    gain, offset : np.ndarray [shape=(n,)]
    """
    coefficients = model.fit(frames)
    return coefficients[:, 0], coefficients[:, 1]


@dataclass(frozen=True)
class TrackSettings:
    """How a block track becomes the slow motion of every frame (see :class:`~vismic.stabilise.Stabilise`)."""

    fps: float
    cutoff_hz: float
    kernel_seconds: float
    block_frames: int

    @property
    def half_frames(self) -> float:
        return self.kernel_seconds * self.fps / 2.0

    @property
    def reach_frames(self) -> float:
        """How far past a frame its track reaches: half a kernel, the interpolation and the correction's block."""
        return self.half_frames + (INTERPOLATION_BLOCKS + 1) * self.block_frames

    @property
    def window_blocks(self) -> int:
        """Blocks at each end that the extrapolation past that end is fitted on (one kernel's length)."""
        return max(1, int(round(self.kernel_seconds * self.fps / self.block_frames)))

    @property
    def band_hz(self) -> float:
        """The kernel's passband edge (cut-off minus half its ~3.6 / kernel_seconds transition)."""
        return max(self.cutoff_hz - 1.8 / self.kernel_seconds, 0.25 * self.cutoff_hz)


def slow_track(frame_index, block_centres, block_values, settings: TrackSettings, *, final: bool) -> np.ndarray:
    """The slow motion at each frame from the motion of the blocks measured so far: ``(n_frames, k)``.

    The block means are corrected for their averaging (:func:`correct_block_means`),
    low-passed at the blocks (:func:`smooth_track`) and interpolated to the
    frames (:func:`interpolate_blocks`). Before the first block, and past the
    last one when ``final``, the track is continued as motion band-limited to
    the kernel's passband, fitted on one kernel's length of blocks at that end
    (:func:`extend_track`). ``frame_index`` must be increasing, and every block
    within ``settings.reach_frames`` after its last frame measured (unless ``final``).

    Measured on bench_nuisance's shake4 (4 px, 0.5-10 Hz): odd reflection
    about the end blocks (the way before the extension) loses the shake's
    curvature there, 0.02-0.1 px peak error within half a kernel of each end,
    much of it in the sound band; local quadratic or cubic fits were worse than
    the reflection.
    """
    centres = np.asarray(block_centres, dtype=np.float64)
    values = np.asarray(block_values, dtype=np.float64).reshape(centres.shape[0], -1)
    index = np.asarray(frame_index, dtype=np.float64)
    block, fps, window = settings.block_frames, settings.fps, settings.window_blocks
    steps = int(np.ceil((settings.reach_frames + block) / block)) + 1
    ahead = block * np.arange(1, steps + 1)
    extend = functools.partial(extend_track, band_hz=settings.band_hz, noise_px=EXTEND_NOISE_PX)
    parts_c = [centres[0] - ahead[::-1], centres]
    parts_v = [extend(centres[:window] / fps, values[:window], parts_c[0] / fps), values]
    if final:
        parts_c.append(centres[-1] + ahead)
        parts_v.append(extend(centres[-window:] / fps, values[-window:], parts_c[-1] / fps))
    centres, values = np.concatenate(parts_c), correct_block_means(np.concatenate(parts_v))
    reach = INTERPOLATION_BLOCKS * block
    near = (centres > index[0] - reach) & (centres < index[-1] + reach)
    smoothed = smooth_track(centres[near], centres, values, cutoff_hz=settings.cutoff_hz,
                            width_seconds=settings.kernel_seconds, fps=fps)
    return interpolate_blocks(index, centres[near], smoothed, block_frames=block)


def measured_blocks(n_frames: int, block_frames: int, *, final: bool) -> int:
    """How many blocks of ``block_frames`` (anchored at frame 0) are measured once ``n_frames`` are in.

    Only whole blocks: the track's kernels assume blocks on a regular grid, and a
    short last block off that grid bent the track's end by 0.017-0.037 px on a
    4 px shake (2200-2205 frames in blocks of 6; the extension past the last whole
    block covers the frames after it). A clip shorter than one block, once
    ``final``, is measured as one block.

    Examples
    --------
    >>> measured_blocks(2200, 6, final=True), measured_blocks(5, 6, final=True), measured_blocks(5, 6, final=False)
    (366, 1, 0)
    """
    whole = int(n_frames) // int(block_frames)
    return max(whole, 1) if final and n_frames > 0 else whole


def track_error(motion_px, settings: TrackSettings, *, chunk_frames: int = 4096) -> np.ndarray:
    """What :func:`slow_track` gets wrong on a motion like ``motion_px``: ``(n, k)``, px.

    The track is its own test: its block means (blocks anchored at frame 0) go
    through :func:`slow_track` again, and the result is compared with it. The
    track is smooth and band-limited like the camera motion it followed, so the
    difference shows the error the procedure made on the real motion: the
    extrapolation at the clip's ends most (a shake's few hundredths of a px
    there are the size of the sound), and the passband's few thousandths. Its
    sound-band part is common to all regions, so region groups agree on it and
    only this can count it as noise (:func:`~vismic.stabilise.snr_estimate`).

    Examples
    --------
    >>> settings = TrackSettings(fps=2200.0, cutoff_hz=22.0, kernel_seconds=0.15, block_frames=11)
    >>> t = np.arange(2200) / 2200.0
    >>> error = track_error(np.sin(2 * np.pi * 3.0 * t)[:, None], settings)
    >>> error.shape, bool(np.abs(error).max() < 0.01)
    ((2200, 1), True)
    """
    motion = np.asarray(motion_px, dtype=np.float64)
    motion = motion.reshape(motion.shape[0], -1)
    n, block = motion.shape[0], settings.block_frames
    if n == 0:
        return np.zeros_like(motion)
    starts = block * np.arange(measured_blocks(n, block, final=True))
    lengths = np.minimum(block, n - starts)
    means = np.add.reduceat(motion[:starts[-1] + lengths[-1]], starts, axis=0) / lengths[:, None]
    centres = starts + (lengths - 1) / 2.0
    out = np.empty_like(motion)
    for first in range(0, n, chunk_frames):
        index = np.arange(first, min(first + chunk_frames, n), dtype=np.float64)
        out[first:first + index.shape[0]] = slow_track(index, centres, means, settings, final=True)
    return out - motion


def track_response(frequencies_hz, settings: TrackSettings) -> np.ndarray:
    """Share of a motion at each frequency that :func:`slow_track` follows (and the stabiliser removes).

    The smoothing kernel's gain at the blocks' rate (the correction of the block
    means and the interpolation to the frames are flat to well past the
    kernel's stopband): 1 in the passband, 0 above the stopband, about 0.5 at
    ``cutoff_hz``. The kernel's images about the block rate are the interpolation's
    to stop (:func:`interpolate_blocks`): 0 from half the block rate up.

    Examples
    --------
    >>> settings = TrackSettings(fps=2200.0, cutoff_hz=22.0, kernel_seconds=0.15, block_frames=11)
    >>> track_response(np.array([5.0, 22.0, 40.0, 180.0]), settings).round(2).tolist()
    [1.0, 0.5, 0.0, 0.0]
    """
    block = settings.block_frames
    reach = int(np.ceil(settings.half_frames / block))
    lags = block * np.arange(-reach, reach + 1)
    taps = track_kernel(lags, cutoff_hz=settings.cutoff_hz, width_seconds=settings.kernel_seconds, fps=settings.fps)
    taps = taps / taps.sum()
    frequencies = np.asarray(frequencies_hz, dtype=np.float64)
    response = np.cos(2.0 * np.pi * frequencies[..., None] * lags / settings.fps) @ taps
    return np.where(np.abs(frequencies) < settings.fps / (2.0 * block), response, 0.0)


#: Where the track keeps less than this share of a frequency, the sound it took there is
#: not estimated (the kept sound is too small to scale up: noise would dominate).
TAKEN_MIN_KEPT = 0.25


def sound_taken(kept_px, settings: TrackSettings, *, share: float = 1.0) -> np.ndarray:
    """The sound a stabiliser's track removed with the camera motion, estimated from the sound it kept.

    Where the whole scene vibrates with the sound, the track follows the sound's
    lowest frequencies as it follows the camera: a frequency kept as ``1 - s K(f)``
    (``K`` = :func:`track_response`, ``s`` the share of the track removed) lost
    ``s K(f)`` of itself. Scaling what is left by ``s K / (1 - s K)`` gives what was
    taken, where enough is left to scale (``1 - s K >= TAKEN_MIN_KEPT``). Where only
    part of the scene vibrates, the track took less: this is an upper bound.

    Parameters
    ----------
    kept_px : np.ndarray [shape=(..., n)]
        The recovered motion (rigid x, y or along the sound), px, at ``settings.fps``.
    settings : TrackSettings
    share : float
        Share of the track the stabiliser removed (see :func:`~vismic.stabilise.compensated_share`).

    Returns
    -------
    np.ndarray [shape=(..., n)]

    Examples
    --------
    >>> settings = TrackSettings(fps=2200.0, cutoff_hz=22.0, kernel_seconds=0.15, block_frames=11)
    >>> t = np.arange(4400) / 2200.0
    >>> kept = 0.5 * np.sin(2 * np.pi * 22.0 * t)        # half of a 22 Hz sine was taken
    >>> round(float(np.std(sound_taken(kept, settings)) / np.std(kept)), 2)
    1.0
    """
    kept = np.asarray(kept_px, dtype=np.float64)
    n = kept.shape[-1]
    taken = float(share) * track_response(scipy.fft.rfftfreq(n, 1.0 / settings.fps), settings)
    left = 1.0 - taken
    scale = np.where(left >= TAKEN_MIN_KEPT, taken / np.maximum(left, TAKEN_MIN_KEPT), 0.0)
    return scipy.fft.irfft(scipy.fft.rfft(kept, axis=-1) * scale, n=n, axis=-1)
