"""The adjoint of the batched forward DTCWT (:mod:`vismic.decompose._fast`).

For complex weight maps ``w_l`` on the sub-bands of every level, :func:`adjoint`
gives the real image ``g`` with ``Re(sum_l sum w_l * highpasses_l(x)) = sum(g * x)``
for every image ``x``: the gradient of that real-valued linear functional. It
retraces the forward transform's steps backwards with the transposed banded
operators (the same matrices the forward transform uses), so it is exact to
rounding.

Weights that are zero outside a band of rows (a row of regions) stay zero outside a
band a little wider at every step, so :func:`adjoint_rows` carries only that band
through the steps: a row of regions costs a fraction of a whole-image adjoint, and
its images come out cropped to the rows where they can be non-zero.
"""

from __future__ import annotations

import numpy as np

from ..decompose._fast import (
    _BLOCK_ROWS,
    _DIAGONAL,
    _HORIZONTAL,
    _VERTICAL,
    _BandedOperator,
    _filter_matrix,
    _plan,
    _qfilter_matrix,
    _single_threaded_blas,
    output_shapes,
)

__all__ = ["adjoint", "adjoint_rows", "band_gradients", "level_sizes"]

_transposed: dict = {}

#: The three real band images of a level, in the order :func:`adjoint_rows` takes them.
BANDS = (_HORIZONTAL, _VERTICAL, _DIAGONAL)


def _operator(kind: str, f, size: int) -> _BandedOperator:
    """The banded operator of ``M.T`` for the forward step ``M`` (level-1 filter or q-shift pair)."""
    key = (kind, id(f), size)
    if key not in _transposed:
        if len(_transposed) >= 256:
            _transposed.clear()
        matrix = _filter_matrix(f, size) if kind == "level1" else _qfilter_matrix(f, size)
        _transposed[key] = _BandedOperator(np.ascontiguousarray(matrix.T), _BLOCK_ROWS)
    return _transposed[key]


def band_gradients(weights: np.ndarray) -> list:
    """The three real band images (horizontal, vertical, diagonal) whose gradient is ``Re(sum w * c)``.

    The forward transform reads each 2x2 quad ``a b / c d`` of a band image as
    ``(a - d) + j(b + c)`` (first orientation) and ``(a + d) + j(b - c)`` (second),
    so the gradient of a quad is a fixed mix of the two orientations' weights.

    Parameters
    ----------
    weights : np.ndarray [shape=(t, h, w, 6)], complex

    Returns
    -------
    list of three np.ndarray [shape=(t, 2 h, 2 w)], float64
    """
    t, h, w = weights.shape[:3]
    out = []
    for orientations in BANDS:
        first = np.ascontiguousarray(weights[..., orientations[0]])
        second = np.ascontiguousarray(weights[..., orientations[1]])
        image = np.empty((t, h, 2, w, 2))
        np.add(first.real, second.real, out=image[:, :, 0, :, 0])
        np.add(first.imag, second.imag, out=image[:, :, 0, :, 1])
        np.negative(image[:, :, 0, :, 1], out=image[:, :, 0, :, 1])
        np.subtract(second.imag, first.imag, out=image[:, :, 1, :, 0])
        np.subtract(second.real, first.real, out=image[:, :, 1, :, 1])
        out.append(image.reshape(t, 2 * h, 2 * w))
    return out


def level_sizes(shape, n_levels: int) -> list:
    """Size ``(rows, cols)`` of every level's input (the frame, then each lowpass), finest first."""
    height, width = shape
    sizes = [(height, width)]
    rows, cols = height + height % 2, width + width % 2
    for _ in range(1, n_levels):
        sizes.append((rows, cols))
        rows = (rows + (2 if rows % 4 else 0)) // 2
        cols = (cols + (2 if cols % 4 else 0)) // 2
    return sizes


# A band is ``(first_row, data)``: data (t, rows, cols) holds rows first_row... of
# images that are zero elsewhere; None is all zero.

def _add(a, b):
    """The sum of two bands (in place in one of them when its rows cover the other's)."""
    if a is None or b is None:
        return a if b is None else b
    if b[0] <= a[0] and b[0] + b[1].shape[1] >= a[0] + a[1].shape[1]:
        a, b = b, a
    lo = min(a[0], b[0])
    hi = max(a[0] + a[1].shape[1], b[0] + b[1].shape[1])
    if (a[0], a[1].shape[1]) == (lo, hi - lo):
        out = a[1]
    else:
        out = np.zeros((a[1].shape[0], hi - lo, a[1].shape[2]))
        out[:, a[0] - lo: a[0] - lo + a[1].shape[1]] = a[1]
    out[:, b[0] - lo: b[0] - lo + b[1].shape[1]] += b[1]
    return lo, out


def _cols(operator: _BandedOperator, band):
    """The operator along every row (axis 2): rows stay where they are."""
    if band is None:
        return None
    return band[0], operator.cols(band[1])[0]


def _rows(operator: _BandedOperator, band):
    """The operator along the columns (axis 1), computing only the output rows the band reaches."""
    if band is None:
        return None
    lo, data = band
    hi = lo + data.shape[1]
    blocks = [b for b in operator.blocks if b[2] < hi and b[3] > lo]
    first, last = blocks[0][0], blocks[-1][1]
    out = np.zeros((data.shape[0], last - first, data.shape[2]))
    for start, stop, block_lo, block_hi, sub in blocks:
        a, b = max(block_lo, lo), min(block_hi, hi)
        np.matmul(sub[:, a - block_lo: b - block_lo], data[:, a - lo: b - lo], out=out[:, start - first: stop - first])
    return first, out


def adjoint_rows(bands, shape, biort, qshift):
    """The adjoint of band images that are non-zero in a band of rows only.

    Parameters
    ----------
    bands : sequence of (int, np.ndarray [shape=(t, m_l, 2 w_l)] x 3) or None
        One entry per level, finest first: the first row and the rows
        ``first, ..., first + m_l - 1`` of the three band images that
        :func:`band_gradients` gives for the level's weights (zero elsewhere),
        or None where the level weighs nothing.
    shape : (height, width)
        Frame size.
    biort, qshift : filter tuples, as for the forward transform.

    Returns
    -------
    (int, np.ndarray [shape=(t, m, width)]) or None
        The first row and rows of the images ``g`` (zero outside them).
    """
    plan, _ = _plan(biort, qshift)
    if plan.h2o is not None or plan.q2 is not None:
        raise ValueError("the adjoint supports the 4-filter biorthogonal and 8-filter q-shift sets")
    sizes = level_sizes(shape, len(bands))
    with _single_threaded_blas():
        grad_lowpass = None
        for level in range(len(bands) - 1, -1, -1):
            rows, cols = sizes[level]
            if level == 0:
                kind, lo_f, hi_f, lo_s, hi_s = "level1", plan.h0o, plan.h1o, plan.h0o_s, plan.h1o_s
            else:
                kind, lo_f, hi_f, lo_s, hi_s = "qshift", plan.q0, plan.q1, plan.q0_s, plan.q1_s
            grad_hi = grad_lo = None
            if bands[level] is not None:
                first, horizontal, vertical, diagonal = bands[level]
                # horizontal = hi @ Lo_s^T, diagonal = hi @ Hi_s^T, vertical = lo @ Hi_s^T
                grad_hi = _add(_cols(_operator(kind, lo_s, cols), (first, horizontal)),
                               _cols(_operator(kind, hi_s, cols), (first, diagonal)))
                grad_lo = _cols(_operator(kind, hi_s, cols), (first, vertical))
            # lolo = lo @ Lo^T
            grad_lo = _add(grad_lo, _cols(_operator(kind, lo_f, cols), grad_lowpass))
            # lo = Lo @ x, hi = Hi @ x along the columns of the image
            grad_lowpass = _add(_rows(_operator(kind, lo_f, rows), grad_lo), _rows(_operator(kind, hi_f, rows), grad_hi))
    return grad_lowpass


def adjoint(weights, shape, biort, qshift) -> np.ndarray:
    """Images ``g`` with ``sum(g[t] * x) = Re(sum_l sum(weights[l][t] * forward(x)[l]))``.

    Parameters
    ----------
    weights : sequence of np.ndarray [shape=(t, height_l, width_l, 6)], complex
        One array per level, finest first, laid out as :func:`~vismic.decompose._fast.forward`
        returns sub-bands; ``t`` functionals at once. Fewer levels than the
        forward transform has are allowed (the coarser ones weigh nothing).
    shape : (height, width)
        Frame size.
    biort, qshift : filter tuples, as for the forward transform.

    Returns
    -------
    np.ndarray [shape=(t, height, width)], float64
    """
    height, width = shape
    high_shapes, _ = output_shapes((1, height, width), len(weights))
    for level, (w, expected) in enumerate(zip(weights, high_shapes)):
        if w.shape[1:] != expected[1:]:
            raise ValueError(f"weights of level {level} have shape {w.shape[1:]}, expected {expected[1:]}")
    bands = [(0, *band_gradients(np.asarray(w))) for w in weights]
    first, rows = adjoint_rows(bands, shape, biort, qshift)
    out = np.zeros((rows.shape[0], height, width))
    out[:, first: first + rows.shape[1]] = rows
    return out
