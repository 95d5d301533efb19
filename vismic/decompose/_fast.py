"""Batched forward 2-D DTCWT of a stack of frames.

Gives the same sub-bands as ``dtcwt.Transform2d().forward`` applied frame by frame
(to rounding: about 1e-15 for unit-scale frames), several times faster, by
transforming a block of frames at once with every 1-D filtering written as a banded
matrix product (BLAS) instead of a per-frame Python loop over filter taps.

The transform is the standard one (Kingsbury's DTCWT, as the ``dtcwt`` package
computes it):

* Odd sizes: the last row / column is repeated once, so both sides are even.
* Level 1: non-decimated filtering with the odd-length biorthogonal filters
  ``h0o`` / ``h1o`` along the columns, then along the rows, with half-sample symmetric
  extension (end samples repeated).
* Level >= 2: a side of the lowpass that is not a multiple of 4 is first extended by
  one repeated sample at each end; each side is then filtered with a q-shift pair and
  decimated by 2, tree *a* on one phase of the input and tree *b* on the other, the
  outputs interleaved (the package's ``coldfilt(X, h0b, h0a)`` and
  ``coldfilt(X, h1b, h1a)``).
* The corners ``a b / c d`` of each 2x2 quad of a band image become two complex
  sub-bands, ``(a - d + j(b + c))/sqrt(2)`` and ``(a + d + j(b - c))/sqrt(2)``, in the
  package's orientation order (15, 45, 75, -75, -45, -15 degrees).

How it is computed: each 1-D step along an axis of length ``r`` is a linear map, a
banded ``(r_out, r)`` matrix whose edges hold the folded-in symmetric extension.
The matrices are built once per filter set and size (cached) as impulse responses of
two small reference implementations of the 1-D steps here (:func:`_filter` and
:func:`_qfilter`, with :mod:`scipy.ndimage`), then cut into blocks of 16 output
samples, each needing only a narrow window of the input; a block is one small matrix
product (``dgemm``) over the other image axis.  Along the image's rows two filters
share one product.  The ``1/sqrt(2)`` is folded into the last filter, and the quads
are read as complex numbers (``a + jb`` and ``c + jd`` are the even and odd rows of
a band image viewed as complex128) so each complex sub-band is one add.

The products go through :func:`scipy.linalg.blas.dgemm` rather than ``numpy.matmul``:
scipy's bundled OpenBLAS recognises more CPUs, where numpy's may fall back to generic
kernels (``Prescott``) that are 2-3x slower for these small products.

The filters themselves come from the ``dtcwt`` package (:mod:`dtcwt.coeffs`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.linalg.blas import dgemm as _dgemm

from ..errors import FrameShapeError, ParameterError

__all__ = ["forward", "supported_filters", "forward_rows", "decompose_rows", "max_row_levels", "load_filters"]

_SQRT_HALF = np.sqrt(0.5)

#: Target number of float64 samples per block of frames transformed together: large
#: enough that each matrix product covers many lines, small enough that the block's
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


def _store(out, bands) -> None:
    """Form the complex sub-band pairs of ``bands`` and write them into ``out`` (n, h, w, 6).

    ``bands`` holds ``(y, pair)``: a real band image ``y`` (blocks, n, 2h, 2w/blocks; see
    :class:`_StackedColumns`), already scaled by
    ``sqrt(1/2)`` (folded into its last filter), and the two orientations it gives.  With
    the corners ``a b / c d`` of each 2x2 quad, ``P = a + jb`` and ``Q = c + jd`` are
    just the even and odd rows of ``y`` read as complex numbers, and the two sub-bands
    are ``(a - d) + j(b + c) = P + jQ`` and ``(a + d) + j(b - c) = P - jQ``.  Written a
    few rows at a time, so the interleaved output stays in cache across the bands.
    """
    n, h, w = out.shape[:3]
    step = max(1, 8192 // max(1, n * w))
    buffer = np.empty(n * min(step, h) * w, dtype=np.complex128)
    for top in range(0, h, step):
        bottom = min(h, top + step)
        rows = out[:, top:bottom]
        for y, (first, second) in bands:
            blocks, half = y.shape[0], y.shape[3] // 2
            y = y[:, :, 2 * top : 2 * bottom]
            p = y[:, :, 0::2].view(np.complex128)
            jq = buffer[: p.size].reshape(p.shape)
            np.multiply(y[:, :, 1::2].view(np.complex128), 1j, out=jq)
            shape = (n, bottom - top, blocks, half)
            np.add(p, jq, out=rows[..., first].reshape(shape).transpose(2, 0, 1, 3))
            np.subtract(p, jq, out=rows[..., second].reshape(shape).transpose(2, 0, 1, 3))


#: Orientation indices (in the package's order) of the sub-band pair each band gives.
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


_OPENBLAS_THREADS = []


def _openblas_thread_setter():
    """``openblas_set_num_threads_local`` of scipy's bundled OpenBLAS, or None (other BLAS, older OpenBLAS)."""
    if not _OPENBLAS_THREADS:
        setter = None
        try:
            import ctypes
            import glob
            import os

            import scipy

            base = os.path.dirname(scipy.__file__)
            for path in glob.glob(os.path.join(base + ".libs", "*openblas*")) + glob.glob(
                os.path.join(base, ".dylibs", "*openblas*")
            ):
                function = getattr(ctypes.CDLL(path), "openblas_set_num_threads_local", None)
                if function is not None:
                    function.restype, function.argtypes = ctypes.c_int, [ctypes.c_int]
                    setter = function
                    break
        except (OSError, ImportError, AttributeError):
            setter = None
        _OPENBLAS_THREADS.append(setter)
    return _OPENBLAS_THREADS[0]


class _single_threaded_blas:
    """Run scipy's OpenBLAS on one thread inside the block, then restore its setting.

    The products here are small (tens of columns); OpenBLAS splits some of them over
    threads anyway, which on a busy machine made them several times slower (near_sym_b
    at 128x128 px: 60 instead of 1200 frames/s on 2 shared cores).
    """

    def __enter__(self):
        setter = _openblas_thread_setter()
        self.previous = setter(1) if setter is not None else None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            _openblas_thread_setter()(self.previous)
        return False


def _gemm(a, b, c) -> None:
    """``c[...] = a @ b`` for Fortran-ordered 2-D float64 arrays, with scipy's BLAS.

    scipy's bundled OpenBLAS (rather than numpy's ``matmul``) because it often picks
    faster kernels: numpy's copy falls back to generic ones on CPUs it does not
    recognise.
    """
    result = _dgemm(1.0, a, b, beta=0.0, c=c, overwrite_c=1)
    if result.ctypes.data != c.ctypes.data:  # not written in place (cannot happen with our layouts)
        c[...] = result


class _BandedOperator:
    """A linear map along one axis, ``y = A @ x``, with ``A`` banded, applied block by block with BLAS.

    The rows of ``A`` are cut into blocks; each block only needs a window of the input
    (its band, boundary reflections included), so each block is one small matrix
    product over the other image axis.
    """

    def __init__(self, matrix, block: int):
        matrix = np.asarray(matrix, dtype=np.float64)
        self.n_out, self.n_in = matrix.shape
        nonzero = matrix != 0
        spans = []
        for start in range(0, self.n_out, block):
            stop = min(start + block, self.n_out)
            cols = np.flatnonzero(nonzero[start:stop].any(axis=0))
            spans.append((start, stop, cols[0] if cols.size else 0, cols[-1] + 1 if cols.size else 1))
        width = max(hi - lo for _, _, lo, hi in spans)
        if width * 2 > self.n_in or len(spans) == 1:
            spans, width = [(0, self.n_out, 0, self.n_in)], self.n_in
        self.blocks = []
        for start, stop, lo, _ in spans:
            lo = min(lo, self.n_in - width)
            sub = np.ascontiguousarray(matrix[start:stop, lo : lo + width])
            self.blocks.append((start, stop, lo, lo + width, sub))

    def rows(self, x):
        """Apply along axis 1 of ``x`` (n, n_in, W), C-contiguous."""
        out = np.empty((x.shape[0], self.n_out, x.shape[2]))
        for frame, result in zip(x, out):
            for start, stop, lo, hi, sub in self.blocks:
                # (sub @ x)^T = x^T @ sub^T, all Fortran-ordered views of C-ordered blocks.
                _gemm(frame[lo:hi].T, sub.T, result[start:stop].T)
        return out

    def cols(self, x):
        """Apply along axis 2 of ``x`` (n, H, n_in); the result is ``(1, n, H, n_out)``."""
        n, h = x.shape[:2]
        flat = np.ascontiguousarray(x).reshape(n * h, self.n_in)
        out = np.empty((n * h, self.n_out))
        for start, stop, lo, hi, sub in self.blocks:
            np.matmul(flat[:, lo:hi], sub.T, out=out[:, start:stop])
        return out.reshape(1, n, h, self.n_out)


class _StackedColumns:
    """Several banded maps along axis 2 (the image's rows), applied together.

    The output samples are cut into blocks of ``block`` (which divides ``n_out``); for
    each block one matrix product takes the input window shared by all the maps and
    gives that block of every map's output.  The result for map ``i`` is a strided
    view of shape ``(n_out // block, n, H, block)``: block, frame, row, sample.
    """

    def __init__(self, matrices, block: int):
        matrices = [np.asarray(m, dtype=np.float64) for m in matrices]
        self.n_out, self.n_in = matrices[0].shape
        self.k, self.block = len(matrices), block
        nonzero = np.logical_or.reduce([m != 0 for m in matrices])
        spans = []
        for start in range(0, self.n_out, block):
            cols = np.flatnonzero(nonzero[start : start + block].any(axis=0))
            spans.append((start, cols[0] if cols.size else 0, cols[-1] + 1 if cols.size else 1))
        width = max(hi - lo for _, lo, hi in spans)
        self.blocks = []
        for start, lo, _ in spans:
            lo = min(lo, self.n_in - width)
            stacked = np.concatenate([m[start : start + block, lo : lo + width] for m in matrices])
            self.blocks.append((start // block, lo, lo + width, np.ascontiguousarray(stacked.T)))

    def cols(self, x):
        n, h = x.shape[:2]
        flat = np.ascontiguousarray(x).reshape(n * h, self.n_in)
        n_blocks = self.n_out // self.block
        out = np.empty((n_blocks, n * h, self.k * self.block))
        for j, lo, hi, stacked_t in self.blocks:
            window = flat if hi - lo == self.n_in else np.ascontiguousarray(flat[:, lo:hi])
            # (window @ stacked_t)^T = stacked_t^T @ window^T, Fortran-ordered views.
            _gemm(stacked_t.T, window.T, out[j].T)
        return [
            out[:, :, i * self.block : (i + 1) * self.block].reshape(n_blocks, n, h, self.block)
            for i in range(self.k)
        ]


def _stack_block(n_out: int, n_in: int):
    """Block size for :class:`_StackedColumns`: an even divisor of ``n_out`` from 4 to ``_BLOCK_COLS``, or None."""
    if n_in <= 2 * _BLOCK_COLS:
        return n_out  # small: one dense product
    for block in range(_BLOCK_COLS, 3, -2):
        if n_out % block == 0:
            return block
    return None


def _natural(y) -> np.ndarray:
    """A ``(blocks, n, H, block)`` band image as a contiguous ``(n, H, W)`` array."""
    blocks, n, h, block = y.shape
    return np.ascontiguousarray(y.transpose(1, 2, 0, 3)).reshape(n, h, blocks * block)


def _impulses(size: int) -> np.ndarray:
    return np.eye(size)[None]


def _filter_matrix(h, size: int) -> np.ndarray:
    """Matrix of the level-1 filtering of a signal of length ``size`` (odd: last sample repeated first)."""
    impulses = _impulses(size)
    if size % 2:
        impulses = np.concatenate((impulses, impulses[:, -1:]), axis=1)
    return _filter(impulses, h, 1)[0]


def _qfilter_matrix(f: _QFilter, size: int) -> np.ndarray:
    """Matrix of the decimating q-shift filtering of a signal of even length ``size``."""
    first, second = _qfilter(_impulses(size), f, 1, size % 4 != 0)
    return _interleave(first, second, 1)[0]


#: Output samples per block of a banded operator along the image's columns (axis 1)
#: and, at most, along its rows (axis 2); 16 was fastest at 128-512 px (8 and 32 slower).
_BLOCK_ROWS = 16
_BLOCK_COLS = 16


class _Operators:
    """Banded operators of a plan for the frame sizes met so far."""

    def __init__(self, plan):
        self.plan = plan
        self.cache = {}

    def _remember(self, key, value):
        if len(self.cache) >= 256:  # many different frame sizes: start again
            self.cache.clear()
        self.cache[key] = value
        return value

    def level1(self, h, size: int) -> _BandedOperator:
        """Level-1 filtering with ``h`` along axis 1, for columns of ``size`` (odd sizes extended)."""
        key = ("level1", id(h), size)
        if key in self.cache:
            return self.cache[key]
        return self._remember(key, _BandedOperator(_filter_matrix(h, size), _BLOCK_ROWS))

    def qshift(self, f: _QFilter, size: int) -> _BandedOperator:
        """Decimating q-shift filtering along axis 1, for columns of ``size``."""
        key = ("qshift", id(f), size)
        if key in self.cache:
            return self.cache[key]
        return self._remember(key, _BandedOperator(_qfilter_matrix(f, size), _BLOCK_ROWS))

    def columns(self, filters, size: int):
        """The maps of ``filters`` (level-1 filters or q-shift pairs) along axis 2, for rows of ``size``.

        Returns a function of ``x`` (n, H, size) giving one array per filter, each
        ``(n, H, n_out)`` or ``(n, H, n_out // block, block)``.
        """
        key = ("columns", tuple(id(f) for f in filters), size)
        if key in self.cache:
            return self.cache[key]
        matrices = [_qfilter_matrix(f, size) if isinstance(f, _QFilter) else _filter_matrix(f, size) for f in filters]
        block = _stack_block(matrices[0].shape[0], size)
        if block is not None:
            return self._remember(key, _StackedColumns(matrices, block).cols)
        singles = [_BandedOperator(m, _BLOCK_ROWS) for m in matrices]
        return self._remember(key, lambda x: [op.cols(x) for op in singles])


def _forward_block(x, n_levels: int, plan: _Plan, ops: _Operators, highpasses, lowpass) -> None:
    """Transform one block of frames ``x`` (n, H, W), float64, C-contiguous, into the given output slices."""
    # Level 1: odd-length biorthogonal filters, no decimation; every filtering is a
    # banded matrix product (BLAS), two filters at a time along the image's rows.
    lolo = _level(x, lambda h: ops.level1(h, x.shape[1]), ops, highpasses[0],
                  (plan.h0o, plan.h1o, plan.h2o, plan.h0o_s, plan.h1o_s, plan.h2o_s))
    qshift = (plan.q0, plan.q1, plan.q2, plan.q0_s, plan.q1_s, plan.q2_s)
    for level in range(1, n_levels):
        rows = lolo.shape[1]
        lolo = _level(lolo, lambda f: ops.qshift(f, rows), ops, highpasses[level], qshift)
    lowpass[...] = lolo


def _level(x, along_rows, ops: _Operators, highpass, filters):
    """One level of the transform of ``x`` (n, H, W): its six subbands into ``highpass``, its lowpass returned.

    ``along_rows(f)`` is the operator filtering ``x`` with ``f`` along its rows (level 1's
    filters or the decimating q-shift ones); ``filters`` is ``(f0, f1, f2, f0_s, f1_s, f2_s)``,
    the ``_s`` ones scaled by ``sqrt(1/2)``, ``f2`` and ``f2_s`` None for two-filter sets.
    """
    f0, f1, f2, f0_s, f1_s, f2_s = filters
    cols = x.shape[2]
    lolo, vertical = ops.columns((f0, f1_s), cols)(along_rows(f0).rows(x))
    hi = along_rows(f1).rows(x)
    if f2 is not None:
        (horizontal,) = ops.columns((f0_s,), cols)(hi)
        (diagonal,) = ops.columns((f2_s,), cols)(along_rows(f2).rows(x))
    else:
        horizontal, diagonal = ops.columns((f0_s, f1_s), cols)(hi)
    del hi
    _store(highpass, [(horizontal, _HORIZONTAL), (vertical, _VERTICAL), (diagonal, _DIAGONAL)])
    return _natural(lolo)


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
    frames = np.ascontiguousarray(frames, dtype=np.float64)
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
    plan, ops = _plan(biort, qshift)
    with _single_threaded_blas():
        for start in range(0, n, block_frames):
            stop = min(n, start + block_frames)
            _forward_block(
                frames[start:stop], n_levels, plan, ops, tuple(h[start:stop] for h in highpasses), lowpass[start:stop]
            )
    return highpasses, lowpass


_PLANS: dict = {}


def _plan(biort, qshift):
    """``(_Plan, _Operators)`` for these filters, kept across calls (the operators' matrices are the costly part)."""
    key = tuple(_vector(h).tobytes() for h in biort) + (b"|",) + tuple(_vector(h).tobytes() for h in qshift)
    if key not in _PLANS:
        if len(_PLANS) >= 8:
            _PLANS.clear()
        plan = _Plan(biort, qshift)
        _PLANS[key] = (plan, _Operators(plan))
    return _PLANS[key]


_FILTERS: dict = {}


def load_filters(biort: str, qshift: str):
    """Filter tuples ``(biort, qshift)`` of the ``dtcwt`` package's filter names (kept across calls).

    Raises
    ------
    vismic.errors.ParameterError
        A name the ``dtcwt`` package does not know.
    """
    key = (biort, qshift)
    if key not in _FILTERS:
        try:
            import dtcwt.coeffs

            _FILTERS[key] = (dtcwt.coeffs.biort(biort), dtcwt.coeffs.qshift(qshift))
        except (ValueError, IOError, KeyError, TypeError) as exc:
            raise ParameterError(f"unknown DTCWT filters biort={biort!r}, qshift={qshift!r}: {exc}") from None
    return _FILTERS[key]


def _rows_block(x, n_levels: int, plan: _Plan, ops: _Operators, highpasses, lowpass) -> None:
    """1-D transform of the rows of ``x`` (1, m, w), float64, C-contiguous, into the given output slices.

    Each level is one stacked product along the rows giving the lowpass and the
    highpass together; a highpass's even and odd samples are the real and imaginary
    parts of its complex coefficients, so it is read as complex128 as it stands.
    """
    lo, hi = (_natural(y) for y in ops.columns((plan.h0o, plan.h1o), x.shape[2])(x))
    highpasses[0][...] = hi[0].view(np.complex128)
    for level in range(1, n_levels):
        lo, hi = (_natural(y) for y in ops.columns((plan.q0, plan.q1), lo.shape[2])(lo))
        highpasses[level][...] = hi[0].view(np.complex128)
    lowpass[...] = lo[0]


def row_output_widths(width: int, n_levels: int):
    """Widths ``(highpass widths, lowpass width)`` of :func:`forward_rows` for rows of ``width`` samples."""
    size = width + width % 2
    highs = [size // 2]
    for _ in range(1, n_levels):
        size = (size + (2 if size % 4 else 0)) // 2
        highs.append(size // 2)
    return highs, size


def forward_rows(rows, n_levels: int, biort, qshift):
    """Forward 1-D DTCWT of every row (last axis) of ``rows``, float64.

    The same coefficients as ``dtcwt.Transform1d().forward`` gives for each row
    taken as a column (to rounding, about 1e-15 for unit-scale rows), computed
    for all rows at once with the banded matrix products of the 2-D transform.
    Rows of odd length get their last sample repeated (as the 2-D transform
    does; the package refuses them).

    Parameters
    ----------
    rows : array_like [shape=(..., width)]
    n_levels : int
        Number of levels, at least 1.
    biort, qshift : sequences of arrays
        Filter tuples (see :func:`load_filters`); a third biorthogonal or
        q-shift filter, if any, is not used by the 1-D transform.

    Returns
    -------
    highpasses : tuple of np.ndarray [shape=(..., width_l)], complex128
        Finest level first.
    lowpass : np.ndarray [shape=(..., width_L)], float64
    """
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    if rows.ndim < 1 or rows.shape[-1] < 2:
        raise ValueError(f"rows must have shape (..., width >= 2), given shape={rows.shape}")
    if n_levels < 1:
        raise ValueError("n_levels must be at least 1")
    if not supported_filters(biort, qshift):
        raise ValueError("unsupported filter tuples")
    lead, width = rows.shape[:-1], rows.shape[-1]
    flat = rows.reshape(1, -1, width)
    m = flat.shape[1]
    high_widths, low_width = row_output_widths(width, n_levels)
    highpasses = tuple(np.empty((m, w), dtype=np.complex128) for w in high_widths)
    lowpass = np.empty((m, low_width))
    step = max(1, _BLOCK_SAMPLES // width)
    plan, ops = _plan(biort, qshift)
    with _single_threaded_blas():
        for start in range(0, m, step):
            stop = min(m, start + step)
            _rows_block(flat[:, start:stop], n_levels, plan, ops,
                        tuple(h[start:stop] for h in highpasses), lowpass[start:stop])
    return tuple(h.reshape(lead + h.shape[-1:]) for h in highpasses), lowpass.reshape(lead + lowpass.shape[-1:])


def max_row_levels(width: int) -> int:
    """Largest number of 1-D DTCWT levels for rows of ``width`` px (the coarsest keeps >= 4 coefficients).

    Examples
    --------
    >>> max_row_levels(64)
    4
    """
    levels = 0
    while width // 2 ** (levels + 1) >= 4:
        levels += 1
    return levels


def decompose_rows(rows, *, n_levels: int, biort: str = "near_sym_a", qshift: str = "qshift_a"):
    """1-D DTCWT along the last axis of every row: what rolling-shutter recovery measures each row with.

    Parameters
    ----------
    rows : np.ndarray [shape=(..., width)]
        E.g. frames ``(n, height, width)``: every row of every frame.
    n_levels : int
        From 1 to :func:`max_row_levels` ``(width)``.
    biort, qshift : str
        Filter names of the ``dtcwt`` package.

    Returns
    -------
    highpasses : tuple of np.ndarray [shape=(..., width_l)], complex128
        One array per level, finest first (``width_l = width / 2^l``, rounded
        up to what the transform's extensions give).
    lowpass : np.ndarray [shape=(..., width_L)], float64

    Examples
    --------
    >>> import numpy as np
    >>> highpasses, lowpass = decompose_rows(np.zeros((2, 16, 64)), n_levels=3)
    >>> [h.shape for h in highpasses], lowpass.shape
    ([(2, 16, 32), (2, 16, 16), (2, 16, 8)], (2, 16, 16))
    """
    rows = np.asarray(rows)
    if rows.ndim < 1 or rows.size == 0:
        raise FrameShapeError(f"rows must have shape (..., width) and hold samples, given shape={rows.shape}")
    limit = max_row_levels(rows.shape[-1])
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)) or not 1 <= n_levels <= limit:
        raise ParameterError(
            f"n_levels must be an integer from 1 to {limit} for rows of {rows.shape[-1]} px, given n_levels={n_levels!r}"
        )
    return forward_rows(rows, int(n_levels), *load_filters(biort, qshift))
