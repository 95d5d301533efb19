"""Non-rigid motion of the band-limited texture, exact for sub-pixel motion.

Pixel ``x`` of frame ``t`` is the band-limited texture (the cosine series of
:mod:`._fourier`, the same image the rigid renderer shifts) sampled at
``x - s(t) m(x) u``. Seen from one pixel, that is the rigidly shifted texture
``R(x; c) = T(x - c u)`` at ``c = s m(x)``, an entire function of ``c``, so

    I_t(x) = sum_p (-s(t) m(x))^p / p! (u . grad)^p T(x).

The directional derivatives come from the spectrum of the mirrored texture;
with ``beta_p(x) = (-m(x))^p (u . grad)^p T(x) / p!`` a batch of frames is one
matrix product ``[s^p] @ beta``. The series is cut where the remaining terms
are below 1e-10 grey levels (bounded with the spectrum's L1 norm), i.e. after
about 12 terms for 0.1 px and 50 for 2 px. Beyond 2 px the cancellation
between terms grows, and frames that move more than that are rendered with
cubic splines (``scipy.ndimage.map_coordinates``, order 3, half-sample
symmetric boundary) instead, with a warning, as the splines differ from the
band-limited model at high spatial frequencies (1-2.5 dB less motion
information in photographs).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.ndimage

from ..errors import VismicWarning
from ._fourier import _mirror_spectrum, _taylor_terms

#: Largest motion (px) rendered with the Taylor series.
_TAYLOR_LIMIT_PX = 2.0
#: Bound on the truncated tail, in grey levels.
_TOLERANCE = 1e-10
_MAX_TERMS = 120


class _Warper:
    """Renders ``T(x - s m(x) u)``, changing only the pixels where ``m != 0``."""

    def __init__(self, texture: np.ndarray, mode_shape: np.ndarray, ux: float, uy: float, max_shift_px: float):
        self.texture = texture
        self.ux, self.uy = ux, uy
        height, width = texture.shape
        self.moving = np.flatnonzero(mode_shape)
        self.all_moving = self.moving.size == height * width
        self.factor = mode_shape.ravel()[self.moving]
        self.rows, self.cols = np.divmod(self.moving, width)
        largest_factor = float(np.max(np.abs(self.factor), initial=0.0))
        self.taylor_limit = math.inf if largest_factor == 0 else _TAYLOR_LIMIT_PX / largest_factor
        reach_px = min(max_shift_px, self.taylor_limit) * largest_factor
        self.coefficients = self._series(reach_px) if self.moving.size else None
        self._splines = None

    def _series(self, reach_px: float) -> np.ndarray:
        """Rows ``beta_p`` (p = 0..P) over the moving pixels, shape (P + 1, K)."""
        spectrum = _mirror_spectrum(self.texture)
        amplitude = 2.0 * float(np.sum(np.abs(spectrum))) / spectrum.shape[0] / (2 * spectrum.shape[1] - 2)
        rate = 2.0 * np.pi * 0.5 * (abs(self.ux) + abs(self.uy)) * reach_px  # bound of |d/dc| per term
        rows = [self.texture.ravel()[self.moving]]
        if reach_px == 0:
            return np.stack(rows)
        power = -self.factor
        bound = amplitude
        for p, term in _taylor_terms(self.texture, self.ux, self.uy):
            rows.append(power * term.ravel()[self.moving])
            power = power * -self.factor
            bound *= rate / p
            remaining = bound * rate / (p + 1)
            ratio = rate / (p + 2)
            if (ratio < 0.5 and remaining / (1.0 - ratio) < _TOLERANCE) or p >= _MAX_TERMS:
                break
        return np.stack(rows)

    def _spline_frame(self, shift_px: float) -> np.ndarray:
        if self._splines is None:
            self._splines = scipy.ndimage.spline_filter(self.texture, order=3, mode="reflect", output=np.float64)
        motion = shift_px * self.factor
        coordinates = np.stack([self.rows - motion * self.uy, self.cols - motion * self.ux])
        return scipy.ndimage.map_coordinates(self._splines, coordinates, order=3, mode="reflect", prefilter=False)

    def __call__(self, shifts_px: np.ndarray) -> np.ndarray:
        """Float64 frames of shape ``(n, h, w)``."""
        n = shifts_px.shape[0]
        frames = np.repeat(self.texture[None], n, axis=0)
        if self.moving.size == 0:
            return frames
        flat = frames.reshape(n, -1)
        small = np.abs(shifts_px) <= self.taylor_limit
        if np.any(small):
            chosen = shifts_px[small]
            values = (chosen[:, None] ** np.arange(self.coefficients.shape[0])[None, :]) @ self.coefficients
            if self.all_moving:
                flat[small] = values
            else:
                flat[np.flatnonzero(small)[:, None], self.moving[None, :]] = values
        large = np.flatnonzero(~small)
        if large.size:
            warnings.warn(
                f"{large.size} frames move more than {_TAYLOR_LIMIT_PX} px with a non-rigid mode shape; "
                "they are rendered with cubic splines, which differ slightly from the band-limited model",
                VismicWarning,
                stacklevel=4,
            )
            for t in large:
                flat[t, self.moving] = self._spline_frame(shifts_px[t])
        return frames
