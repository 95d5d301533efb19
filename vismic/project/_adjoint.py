"""The adjoint of the batched forward DTCWT (:mod:`vismic.decompose._fast`).

For complex weight maps ``w_l`` on the sub-bands of every level, :func:`adjoint`
gives the real image ``g`` with ``Re(sum_l sum w_l * highpasses_l(x)) = sum(g * x)``
for every image ``x``: the gradient of that real-valued linear functional. It
retraces the forward transform's steps backwards with the transposed banded
operators (the same matrices the forward transform uses), so it is exact to
rounding and costs about as much as a forward transform of as many images.
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

__all__ = ["adjoint"]

_transposed: dict = {}


def _operator(kind: str, f, size: int) -> _BandedOperator:
    """The banded operator of ``M.T`` for the forward step ``M`` (level-1 filter or q-shift pair)."""
    key = (kind, id(f), size)
    if key not in _transposed:
        if len(_transposed) >= 256:
            _transposed.clear()
        matrix = _filter_matrix(f, size) if kind == "level1" else _qfilter_matrix(f, size)
        _transposed[key] = _BandedOperator(np.ascontiguousarray(matrix.T), _BLOCK_ROWS)
    return _transposed[key]


def _band_gradient(weights: np.ndarray, orientations) -> np.ndarray:
    """Gradient with respect to a real band image of ``Re(sum w * c)`` over its two complex sub-bands.

    The forward transform reads each 2x2 quad ``a b / c d`` of the band image as
    ``(a - d) + j(b + c)`` (first orientation) and ``(a + d) + j(b - c)`` (second).
    """
    first, second = weights[..., orientations[0]], weights[..., orientations[1]]
    t, h, w = first.shape
    out = np.empty((t, 2 * h, 2 * w))
    out[:, 0::2, 0::2] = first.real + second.real
    out[:, 0::2, 1::2] = -first.imag - second.imag
    out[:, 1::2, 0::2] = -first.imag + second.imag
    out[:, 1::2, 1::2] = second.real - first.real
    return out


def _cols(operator: _BandedOperator, x: np.ndarray) -> np.ndarray:
    return operator.cols(x)[0]


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
    n_levels = len(weights)
    high_shapes, _ = output_shapes((1, height, width), n_levels)
    for level, (w, expected) in enumerate(zip(weights, high_shapes)):
        if w.shape[1:] != expected[1:]:
            raise ValueError(f"weights of level {level} have shape {w.shape[1:]}, expected {expected[1:]}")
    plan, _ = _plan(biort, qshift)
    if plan.h2o is not None or plan.q2 is not None:
        raise ValueError("the adjoint supports the 4-filter biorthogonal and 8-filter q-shift sets")
    t = weights[0].shape[0]
    # Sizes of every level's input (the previous lowpass), finest first.
    sizes = [(height, width)]
    rows, cols = height + height % 2, width + width % 2
    for level in range(1, n_levels):
        sizes.append((rows, cols))
        rows = (rows + (2 if rows % 4 else 0)) // 2
        cols = (cols + (2 if cols % 4 else 0)) // 2
    with _single_threaded_blas():
        grad_lowpass = None
        for level in range(n_levels - 1, -1, -1):
            rows, cols = sizes[level]
            w = np.asarray(weights[level])
            horizontal = _band_gradient(w, _HORIZONTAL)
            vertical = _band_gradient(w, _VERTICAL)
            diagonal = _band_gradient(w, _DIAGONAL)
            if level == 0:
                kind, lo_f, hi_f, lo_s, hi_s = "level1", plan.h0o, plan.h1o, plan.h0o_s, plan.h1o_s
            else:
                kind, lo_f, hi_f, lo_s, hi_s = "qshift", plan.q0, plan.q1, plan.q0_s, plan.q1_s
            # horizontal = hi @ Lo_s^T, diagonal = hi @ Hi_s^T, lolo = lo @ Lo^T, vertical = lo @ Hi_s^T
            grad_hi = _cols(_operator(kind, lo_s, cols), horizontal) + _cols(_operator(kind, hi_s, cols), diagonal)
            grad_lo = _cols(_operator(kind, hi_s, cols), vertical)
            if grad_lowpass is not None:
                grad_lo += _cols(_operator(kind, lo_f, cols), grad_lowpass)
            # lo = Lo @ x, hi = Hi @ x along the columns of the image
            grad_lowpass = _operator(kind, lo_f, rows).rows(np.ascontiguousarray(grad_lo))
            grad_lowpass += _operator(kind, hi_f, rows).rows(np.ascontiguousarray(grad_hi))
    return grad_lowpass.reshape(t, height, width)
