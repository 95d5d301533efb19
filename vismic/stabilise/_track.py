"""Slow global motion and light of a video, measured on block means and smoothed below the sound band.

The camera's own motion (drift, sway, shake) is measured on the mean of each
block of ``block_frames`` consecutive frames (blocks anchored at frame 0), by
phase correlation (any size of motion) refined by Gauss-Newton on an exact
sub-pixel shift, against the first block. The per-block track is then
low-passed and interpolated to every frame by one windowed-sinc kernel in
continuous time: what remains is the motion below the sound band, which
:func:`stabilise_batch` removes. Sound-band motion (what is recovered) is
stopped by the kernel, so it is left in the frames. Near the clip's ends the
kernel reaches past the blocks: :func:`extend_track` continues the track there
as band-limited motion.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from ._shift import shift_frames, spectral_gradient

__all__ = ["taper", "measure_shift", "track_kernel", "smooth_track", "extend_track", "fit_light"]


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


def _phase_correlation(image, reference, window) -> tuple:
    """Shift ``(dx, dy)`` of ``image`` relative to ``reference`` to about 0.1 px (peak with a parabola)."""
    a = scipy.fft.rfft2((image - np.sum(image * window) / np.sum(window)) * window, workers=-1)
    b = scipy.fft.rfft2((reference - np.sum(reference * window) / np.sum(window)) * window, workers=-1)
    cross = a * np.conj(b)
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
        weighted = regressors * self.window.reshape(1, -1)
        self._solve = np.linalg.pinv(weighted @ regressors.T) @ weighted  # (4, pixels)

    def fit(self, images: np.ndarray) -> np.ndarray:
        """Least-squares ``images ≈ g R + o - ex dR/dx - ey dR/dy`` per image: ``(n, 4)`` of ``(g, o, -ex, -ey)``."""
        flat = np.asarray(images, dtype=np.float64).reshape(images.shape[0], -1)
        return flat @ self._solve.T


def measure_shift(image, model: ShiftModel, *, n_iterations: int = 3) -> tuple:
    """Shift ``(dx, dy)`` in px that moves ``model.reference`` onto ``image`` (any size, sub-pixel).

    Phase correlation gives the shift to a fraction of a pixel; Gauss-Newton
    steps on the exactly shifted image (with a gain and offset, so changing
    light does not read as motion) refine it.
    """
    image = np.asarray(image, dtype=np.float64)
    dx, dy = _phase_correlation(image, model.reference, model.window)
    for _ in range(n_iterations):
        back = shift_frames(image[None], np.array([-dx]), np.array([-dy]))
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
