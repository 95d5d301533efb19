"""Batched forward 2-D DTCWT of a stack of frames.

Gives the same sub-bands as ``dtcwt.Transform2d().forward`` applied frame by frame
(to rounding, about 1e-15 relative), but filters a whole block of frames at once
along a leading axis with :func:`scipy.ndimage.correlate1d`, so the per-frame Python
overhead of the package disappears and the C loops run over long lines.

The algorithm is the standard one (Kingsbury's DTCWT as the ``dtcwt`` package
implements it):

* Odd sizes: the last row / column is repeated once so both sides are even.
* Level 1: non-decimated filtering with the biorthogonal filters ``h0o`` / ``h1o``
  along the columns and then the rows, with half-sample symmetric extension
  (repeated end samples, ``mode='reflect'`` in :mod:`scipy.ndimage`).
* Level >= 2: if a side of the lowpass is not a multiple of 4 it is extended by one
  repeated sample at each end; then each side is filtered with the q-shift pairs
  (``h0b``/``h0a``, ``h1b``/``h1a``) and decimated by 2, tree *a* on one phase of the
  input and tree *b* on the other, outputs interleaved.  The decimated filtering is
  done in polyphase form (four stride-4 sub-sequences of the symmetrically extended
  signal, each convolved with half of a filter) so nothing is computed twice.
* The four real sub-images of each band pair (corners a, b, c, d of each 2x2 quad)
  become two complex sub-bands: ``(a - d + j(b + c))/sqrt(2)`` and
  ``(a + d + j(b - c))/sqrt(2)``, stored in the package's orientation order
  (15, 45, 75, -75, -45, -15 degrees).

The filters themselves come from the ``dtcwt`` package (:mod:`dtcwt.coeffs`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["forward", "supported_filters"]

_SQRT_HALF = np.sqrt(0.5)

#: Target number of float64 samples per block of frames processed together: large
#: enough that each C call runs over long lines, small enough that the block's
#: intermediates stay in cache.
_BLOCK_SAMPLES = 1 << 17


def supported_filters(biort, qshift) -> bool:
    """Whether :func:`forward` handles these filter tuples (4 or 6 biorthogonal, 8 or 12 q-shift arrays)."""
    try:
        return len(biort) in (4, 6) and len(qshift) in (8, 12)
    except TypeError:
        return False


def _vector(h) -> np.ndarray:
    return np.asarray(h, dtype=np.float64).reshape(-1)


def _reflect(index, n: int) -> np.ndarray:
    """Half-sample symmetric extension (end samples repeated) of indices into ``range(n)``."""
    index = np.mod(index, 2 * n)
    return np.where(index >= n, 2 * n - 1 - index, index)


def _filter(x, h, axis: int) -> np.ndarray:
    """Non-decimated filtering along ``axis`` with an odd-length filter, output aligned with the input."""
    return ndimage.convolve1d(x, h, axis=axis, mode="reflect")


class _QFilter:
    """A q-shift pair ``(ha, hb)``, as the package's ``coldfilt(X, ha, hb)`` uses it, ready for polyphase filtering."""

    def __init__(self, ha, hb, scale: float = 1.0):
        ha, hb = _vector(ha), _vector(hb)
        if ha.shape != hb.shape or ha.size % 2:
            raise ValueError("q-shift filters must have equal, even lengths")
        # Which tree's output comes first in the interleaved result.
        self.a_first = float(np.sum(ha * hb)) > 0
        ha, hb = ha * scale, hb * scale
        self.m = ha.size
        # Output sample 4i (tree a) = sum_l ha[l] x[4i + m - 2l]; output 4i + 1 (tree b)
        # = sum_l hb[l] x[4i + m + 1 - 2l]  (x symmetrically extended).  Split each into
        # its even and odd taps: stride-4 sequences starting at offsets 4-m, 2-m, 5-m, 3-m.
        self.offsets = np.array([4, 2, 5, 3]) - self.m
        # Reversed, for correlate1d.
        self.taps = tuple(np.ascontiguousarray(t[::-1]) for t in (ha[0::2], ha[1::2], hb[0::2], hb[1::2]))


def _qfilter(x, f: _QFilter, axis: int, extend: bool):
    """Decimating q-shift filtering of ``x`` along ``axis`` (size ``r``, with ``r + 2*extend`` a multiple of 4).

    Returns ``(first, second)``: the even and odd output samples (each of size
    ``(r + 2*extend) // 4`` along ``axis``), which interleaved give the package's
    ``coldfilt`` output.
    """
    r = x.shape[axis]
    size = r + 2 if extend else r
    quarter = size // 4
    p = f.m // 2
    length = quarter + p - 1
    index = 4 * np.arange(length)[None, :] + f.offsets[:, None]
    index = _reflect(index, size)
    if extend:
        # The lowpass is first extended by one repeated sample at each end.
        index = np.clip(index - 1, 0, r - 1)
    phases = np.take(x, index, axis=axis)  # axis becomes (4, length)
    outputs = []
    for k in range(4):
        sequence = phases[(slice(None),) * axis + (k,)]
        # 'valid' convolution: v[i] = sum_j taps[j] s[i + p - 1 - j], i < quarter.
        full = ndimage.correlate1d(sequence, f.taps[k], axis=axis, mode="constant")
        outputs.append(full[(slice(None),) * axis + (slice(p // 2, p // 2 + quarter),)])
    tree_a = outputs[0] + outputs[1]
    tree_b = outputs[2] + outputs[3]
    return (tree_a, tree_b) if f.a_first else (tree_b, tree_a)


def _interleave(first, second, axis: int) -> np.ndarray:
    stacked = np.stack((first, second), axis=axis + 1)
    shape = list(first.shape)
    shape[axis] *= 2
    return stacked.reshape(shape)


def _store(out, a, b, c, d, pair) -> None:
    """Write the two complex sub-bands of the quads ``a b / c d`` into ``out[..., pair]``.

    The quads are already scaled by ``sqrt(1/2)`` (folded into the last filter).
    """
    first, second = pair
    np.subtract(a, d, out=out[..., first].real)
    np.add(b, c, out=out[..., first].imag)
    np.add(a, d, out=out[..., second].real)
    np.subtract(b, c, out=out[..., second].imag)


def _quads(y):
    """Corners ``a, b, c, d`` of the 2x2 quads of ``y`` (axes 1 and 2)."""
    return y[:, 0::2, 0::2], y[:, 0::2, 1::2], y[:, 1::2, 0::2], y[:, 1::2, 1::2]


_HORIZONTAL, _DIAGONAL, _VERTICAL = (0, 5), (1, 4), (2, 3)


class _Plan:
    """Filters of one (biort, qshift) choice, with the ``sqrt(1/2)`` of the complex
    sub-bands folded into the filters of the second (horizontal) pass."""

    def __init__(self, biort, qshift):
        self.h0o, self.h1o = _vector(biort[0]), _vector(biort[2])
        self.h0o_s, self.h1o_s = self.h0o * _SQRT_HALF, self.h1o * _SQRT_HALF
        self.h2o = _vector(biort[4]) if len(biort) == 6 else None
        self.h2o_s = None if self.h2o is None else self.h2o * _SQRT_HALF
        # The package calls coldfilt(X, h0b, h0a) and coldfilt(X, h1b, h1a).
        self.q0 = _QFilter(qshift[1], qshift[0])
        self.q0_s = _QFilter(qshift[1], qshift[0], _SQRT_HALF)
        self.q1 = _QFilter(qshift[5], qshift[4])
        self.q1_s = _QFilter(qshift[5], qshift[4], _SQRT_HALF)
        self.q2 = self.q2_s = None
        if len(qshift) == 12:
            self.q2 = _QFilter(qshift[9], qshift[8])
            self.q2_s = _QFilter(qshift[9], qshift[8], _SQRT_HALF)


def _forward_block(x, n_levels: int, plan: _Plan, highpasses, lowpass) -> None:
    """Transform one block of frames ``x`` (n, H, W), H and W even, into the given output slices."""
    # Level 1: odd-length biorthogonal filters, no decimation.
    lo = _filter(x, plan.h0o, 1)
    hi = _filter(x, plan.h1o, 1)
    out = highpasses[0]
    _store(out, *_quads(_filter(hi, plan.h0o_s, 2)), _HORIZONTAL)
    _store(out, *_quads(_filter(lo, plan.h1o_s, 2)), _VERTICAL)
    if plan.h2o is not None:
        _store(out, *_quads(_filter(_filter(x, plan.h2o, 1), plan.h2o_s, 2)), _DIAGONAL)
    else:
        _store(out, *_quads(_filter(hi, plan.h1o_s, 2)), _DIAGONAL)
    lolo = _filter(lo, plan.h0o, 2)
    del lo, hi

    for level in range(1, n_levels):
        rows, cols = lolo.shape[1:]
        extend_rows, extend_cols = rows % 4 != 0, cols % 4 != 0
        # Along the rows of the image (axis 1): each result is split into its even
        # and odd output rows, which are exactly the rows the quads need.
        lo = _qfilter(lolo, plan.q0, 1, extend_rows)
        hi = _qfilter(lolo, plan.q1, 1, extend_rows)
        # Along the columns (axis 2) of each row phase.
        out = highpasses[level]
        (a, b), (c, d) = [_qfilter(part, plan.q0_s, 2, extend_cols) for part in hi]
        _store(out, a, b, c, d, _HORIZONTAL)
        (a, b), (c, d) = [_qfilter(part, plan.q1_s, 2, extend_cols) for part in lo]
        _store(out, a, b, c, d, _VERTICAL)
        if plan.q2 is not None:
            band = _qfilter(lolo, plan.q2, 1, extend_rows)
            (a, b), (c, d) = [_qfilter(part, plan.q2_s, 2, extend_cols) for part in band]
        else:
            (a, b), (c, d) = [_qfilter(part, plan.q1_s, 2, extend_cols) for part in hi]
        _store(out, a, b, c, d, _DIAGONAL)
        rows_interleaved = [_interleave(*_qfilter(part, plan.q0, 2, extend_cols), 2) for part in lo]
        lolo = _interleave(rows_interleaved[0], rows_interleaved[1], 1)

    lowpass[...] = lolo


def output_shapes(shape, n_levels: int):
    """Shapes ``(highpass shapes, lowpass shape)`` of :func:`forward` for frames of ``shape=(n, H, W)``."""
    n, rows, cols = shape
    rows += rows % 2
    cols += cols % 2
    highs = []
    for level in range(n_levels):
        if level:
            rows = (rows + (2 if rows % 4 else 0)) // 2
            cols = (cols + (2 if cols % 4 else 0)) // 2
        highs.append((n, rows // 2, cols // 2, 6))
    return highs, (n, rows, cols)


def forward(frames, n_levels: int, biort, qshift, *, block_frames: int | None = None):
    """Forward 2-D DTCWT of every frame of ``frames`` (n, H, W), float64.

    Parameters
    ----------
    frames : array_like [shape=(n, height, width)]
    n_levels : int
        Number of levels, at least 1.
    biort, qshift : sequences of arrays
        Filter tuples as :func:`dtcwt.coeffs.biort` and :func:`dtcwt.coeffs.qshift`
        return them: ``(h0o, g0o, h1o, g1o[, h2o, g2o])`` and
        ``(h0a, h0b, g0a, g0b, h1a, h1b, g1a, g1b[, h2a, h2b, g2a, g2b])``.
    block_frames : int, optional
        Frames transformed together; default picks about 128k samples per block.

    Returns
    -------
    highpasses : tuple of np.ndarray [shape=(n, height_l, width_l, 6)], complex128
        Finest level first, sub-bands in the ``dtcwt`` package's order.
    lowpass : np.ndarray [shape=(n, height_L, width_L)], float64
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 3:
        raise ValueError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    if n_levels < 1:
        raise ValueError("n_levels must be at least 1")
    if not supported_filters(biort, qshift):
        raise ValueError("unsupported filter tuples")
    n, rows, cols = frames.shape
    high_shapes, low_shape = output_shapes(frames.shape, n_levels)
    highpasses = tuple(np.empty(s, dtype=np.complex128) for s in high_shapes)
    lowpass = np.empty(low_shape, dtype=np.float64)
    if block_frames is None:
        block_frames = max(1, _BLOCK_SAMPLES // max(1, rows * cols))
    plan = _Plan(biort, qshift)
    for start in range(0, n, block_frames):
        stop = min(n, start + block_frames)
        x = frames[start:stop]
        if rows % 2:
            x = np.concatenate((x, x[:, -1:, :]), axis=1)
        if cols % 2:
            x = np.concatenate((x, x[:, :, -1:]), axis=2)
        _forward_block(x, n_levels, plan, tuple(h[start:stop] for h in highpasses), lowpass[start:stop])
    return highpasses, lowpass
