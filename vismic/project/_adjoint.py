"""The adjoint of the batched forward DTCWT (:mod:`vismic.decompose._fast`).

For complex weight maps ``w_l`` on the sub-bands of every level, :func:`adjoint`
gives the real image ``g`` with ``Re(sum_l sum w_l * highpasses_l(x)) = sum(g * x)``
for every image ``x``: the gradient of that real-valued linear functional. It
retraces the forward transform's steps backwards with the transposed banded
operators (the same matrices the forward transform uses), so it is exact to
rounding.

Weights that are zero outside a rectangle (a region) stay zero outside a rectangle
a little larger at every step, so :func:`adjoint_window` carries only that
rectangle through the steps: a region costs a fraction of a whole-image adjoint,
and its images come out cropped to where they can be non-zero.
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
    output_shapes,
)

__all__ = ["adjoint", "adjoint_window", "band_gradients", "level_sizes"]

_transposed: dict = {}

#: The three real band images of a level, in the order :func:`adjoint_window` takes them.
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


# A window is ``(first_row, first_col, data)``: data (t, rows, cols) holds the
# images' rows first_row... and columns first_col... (zero elsewhere); None is all zero.

def _add(a, b):
    """The sum of two windows (in place in one of them when it covers the other)."""
    if a is None or b is None:
        return a if b is None else b
    if _covers(b, a):
        a, b = b, a
    if not _covers(a, b):
        top, left = min(a[0], b[0]), min(a[1], b[1])
        bottom = max(a[0] + a[2].shape[1], b[0] + b[2].shape[1])
        right = max(a[1] + a[2].shape[2], b[1] + b[2].shape[2])
        out = np.zeros((a[2].shape[0], bottom - top, right - left))
        _into(out, top, left, a)
        a = top, left, out
    _into(a[2], a[0], a[1], b, add=True)
    return a


def _covers(a, b) -> bool:
    return (a[0] <= b[0] and a[1] <= b[1] and a[0] + a[2].shape[1] >= b[0] + b[2].shape[1]
            and a[1] + a[2].shape[2] >= b[1] + b[2].shape[2])


def _into(out, top: int, left: int, window, *, add: bool = False) -> None:
    r, c, data = window
    view = out[:, r - top: r - top + data.shape[1], c - left: c - left + data.shape[2]]
    if add:
        view += data
    else:
        view[...] = data


def _apply(operator: _BandedOperator, window, axis: int):
    """The operator along ``axis`` (1: the columns of the images, 2: their rows), only where the window reaches."""
    if window is None:
        return None
    data = window[2]
    lo = window[axis - 1]
    hi = lo + data.shape[axis]
    blocks = [b for b in operator.blocks if b[2] < hi and b[3] > lo]
    first, last = blocks[0][0], blocks[-1][1]
    shape = list(data.shape)
    shape[axis] = last - first
    out = np.zeros(shape)
    for start, stop, block_lo, block_hi, sub in blocks:
        a, b = max(block_lo, lo), min(block_hi, hi)
        if axis == 1:
            np.matmul(sub[:, a - block_lo: b - block_lo], data[:, a - lo: b - lo],
                      out=out[:, start - first: stop - first])
        else:
            np.matmul(data[:, :, a - lo: b - lo], sub[:, a - block_lo: b - block_lo].T,
                      out=out[:, :, start - first: stop - first])
    return (first, window[1], out) if axis == 1 else (window[0], first, out)


def adjoint_window(bands, shape, biort, qshift):
    """The adjoint of band images that are non-zero in a rectangle only.

    Parameters
    ----------
    bands : sequence of (int, int, np.ndarray [shape=(t, m_l, n_l)] x 3) or None
        One entry per level, finest first: the first row and column of a
        rectangle, and that rectangle of the three band images that
        :func:`band_gradients` gives for the level's weights (zero elsewhere),
        or None where the level weighs nothing.
    shape : (height, width)
        Frame size.
    biort, qshift : filter tuples, as for the forward transform.

    Returns
    -------
    (int, int, np.ndarray [shape=(t, m, n)]) or None
        The first row and column of the rectangle of the images ``g`` that can be
        non-zero, and that rectangle.
    """
    plan, _ = _plan(biort, qshift)
    if plan.h2o is not None or plan.q2 is not None:
        raise ValueError("the adjoint supports the 4-filter biorthogonal and 8-filter q-shift sets")
    sizes = level_sizes(shape, len(bands))
    grad_lowpass = None
    for level in range(len(bands) - 1, -1, -1):
        rows, cols = sizes[level]
        if level == 0:
            kind, lo_f, hi_f, lo_s, hi_s = "level1", plan.h0o, plan.h1o, plan.h0o_s, plan.h1o_s
        else:
            kind, lo_f, hi_f, lo_s, hi_s = "qshift", plan.q0, plan.q1, plan.q0_s, plan.q1_s
        along_rows = lambda f, window: _apply(_operator(kind, f, cols), window, 2)
        along_columns = lambda f, window: _apply(_operator(kind, f, rows), window, 1)
        grad_hi = grad_lo = None
        if bands[level] is not None:
            top, left, horizontal, vertical, diagonal = bands[level]
            # horizontal = hi @ Lo_s^T, diagonal = hi @ Hi_s^T, vertical = lo @ Hi_s^T
            grad_hi = _add(along_rows(lo_s, (top, left, horizontal)), along_rows(hi_s, (top, left, diagonal)))
            grad_lo = along_rows(hi_s, (top, left, vertical))
        # lolo = lo @ Lo^T
        grad_lo = _add(grad_lo, along_rows(lo_f, grad_lowpass))
        # lo = Lo @ x, hi = Hi @ x along the columns of the image
        grad_lowpass = _add(along_columns(lo_f, grad_lo), along_columns(hi_f, grad_hi))
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
    bands = [(0, 0, *band_gradients(np.asarray(w))) for w in weights]
    top, left, window = adjoint_window(bands, shape, biort, qshift)
    out = np.zeros((window.shape[0], height, width))
    _into(out, 0, 0, (top, left, window))
    return out
