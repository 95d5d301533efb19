"""Exact sub-pixel translation and differentiation of a texture (cosine series).

A texture ``T`` of ``N`` samples per axis is extended by half-sample symmetry
(``[T, T[::-1]]``, period ``2N``), which is periodic *and continuous*, so no
edge ringing appears; the band-limited function through these samples is the
cosine series of the DCT-II,

    T(x) = sum_k a_k cos(pi k (x + 1/2) / N),   k = 0 .. N-1

(its Nyquist term is exactly zero). This is the scene
:func:`vismic.synth.render_scene` moves: a shift by ``s`` turns each term into
``cos(A - B) = cos A cos B + sin A sin B`` with ``B = pi k s / N``, i.e. one
inverse DCT and one inverse DST per axis, exact to rounding (~1e-13 grey
levels) for any shift; the derivative is the sine series with weights
``-pi k / N``. It equals a Fourier shift of the 2N x 2N mirrored image, with a
quarter of its cost. The derivative of the same series, which the library
needs too, lives in :mod:`vismic.decompose._gradient`.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from ..decompose._gradient import cosine_coefficients as _coefficients


def _shifted_synthesis(coefficients: np.ndarray, shifts_px: np.ndarray, axis: int) -> np.ndarray:
    """Synthesise along ``axis`` (1 or 2 of an (n, h, w) stack) with each frame shifted by ``shifts_px``."""
    length = coefficients.shape[axis]
    n = shifts_px.shape[0]
    angles = np.pi * shifts_px[:, None] * np.arange(length)[None, :] / length
    shape = [n, 1, 1]
    shape[axis] = length
    out_shape = list(np.broadcast_shapes(coefficients.shape, tuple(shape)))
    # Sine terms, moved down one frequency for the DST-III (sin(0 * ...) drops out).
    upper = [slice(None)] * 3
    lower = [slice(None)] * 3
    last = [slice(None)] * 3
    upper[axis], lower[axis], last[axis] = slice(1, None), slice(None, -1), slice(-1, None)
    sin_part = np.empty(out_shape)
    np.multiply(coefficients[tuple(upper)], np.sin(angles).reshape(shape)[tuple(upper)], out=sin_part[tuple(lower)])
    sin_part[tuple(last)] = 0.0
    cos_part = coefficients * np.cos(angles).reshape(shape)
    out = scipy.fft.idct(cos_part, type=2, axis=axis, workers=-1, overwrite_x=True)
    out += scipy.fft.idst(sin_part, type=2, axis=axis, workers=-1, overwrite_x=True)
    return out


def _mirror_spectrum(texture: np.ndarray) -> np.ndarray:
    """``rfft2`` of the 2h x 2w half-sample symmetric extension, shape ``(2h, w + 1)``.

    Its Nyquist row and column are exactly zero, so multiplying it by powers of
    ``2i pi f`` gives the derivatives of the same cosine series.
    """
    extended = np.concatenate([texture, texture[::-1]], axis=0)
    extended = np.concatenate([extended, extended[:, ::-1]], axis=1)
    return scipy.fft.rfft2(extended, workers=-1)


def _taylor_terms(texture: np.ndarray, ux: float, uy: float):
    """Yield ``(p, (u . grad)^p T / p!)`` for p = 1, 2, ... (float64 (h, w) arrays)."""
    height, width = texture.shape
    spectrum = _mirror_spectrum(texture)
    fy = scipy.fft.fftfreq(2 * height)[:, None]
    fx = scipy.fft.rfftfreq(2 * width)[None, :]
    factor = 2j * np.pi * (ux * fx + uy * fy)
    p = 0
    while True:
        p += 1
        spectrum = spectrum * (factor / p)
        term = scipy.fft.irfft2(spectrum, s=(2 * height, 2 * width), workers=-1)
        yield p, term[:height, :width]


class _Shifter:
    """Renders ``T(x - dx, y - dy)`` for batches of shifts; keeps the texture's coefficients."""

    def __init__(self, texture: np.ndarray):
        self.texture = texture
        self._both = None
        self._along_x = None
        self._along_y = None

    def __call__(self, shifts_x_px, shifts_y_px) -> np.ndarray:
        """Float64 frames of shape ``(n, h, w)``."""
        shifts_x_px = np.asarray(shifts_x_px, dtype=np.float64)
        shifts_y_px = np.asarray(shifts_y_px, dtype=np.float64)
        moves_x = bool(np.any(shifts_x_px))
        moves_y = bool(np.any(shifts_y_px))
        n = shifts_x_px.shape[0]
        if not moves_x and not moves_y:
            return np.repeat(self.texture[None], n, axis=0)
        if not moves_y:  # coefficients along x only: one synthesis
            if self._along_x is None:
                self._along_x = _coefficients(self.texture, axes=(1,))
            return _shifted_synthesis(self._along_x[None], shifts_x_px, axis=2)
        if not moves_x:
            if self._along_y is None:
                self._along_y = _coefficients(self.texture, axes=(0,))
            return _shifted_synthesis(self._along_y[None], shifts_y_px, axis=1)
        if self._both is None:
            self._both = _coefficients(self.texture)
        rows = _shifted_synthesis(self._both[None], shifts_y_px, axis=1)
        return _shifted_synthesis(rows, shifts_x_px, axis=2)
