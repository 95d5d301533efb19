"""Band evidence of a frame as one projection: ``scores = templates @ (frame - reference)``.

With the default linear evidence, region ``r``'s score along axis ``i`` (x or y) is
``-Re sum conj(G_i) (c - c_ref)`` over the region's coefficients of every level and
orientation, where ``c`` are the frame's DTCWT coefficients, ``c_ref`` the
reference's and ``G_i`` the DTCWT of the reference's spatial derivative along ``i``
(``conj(c_ref) (rho_i - j k_i) = conj(G_i)`` for the local frequency ``k`` and
amplitude gradient ``rho`` that :func:`vismic.phase.local_frequency` gives). The
DTCWT is linear, so that score is ``sum(T_ri * (frame - reference))`` for a fixed
image ``T_ri = -Re W^T (mask_r conj(G_i))``, the adjoint transform ``W^T`` of the
masked weights; the information matrix is ``sum Re(conj(G_i) G_j)``. Computed once
per reference, the templates turn decomposition, local phase and region sums into
one matrix product per batch of frames.

A region's template is exactly zero beyond the reach of the DTCWT's filters (about
60 px past the region at 4 levels). The templates are built region by region
(:func:`~vismic.project._adjoint.adjoint_window` carries only the rectangle of the
frame a region reaches through the adjoint), a row of regions per task, optionally
on an executor's workers, and kept as :class:`Tile` s: rectangles of the frame with
the templates that are non-zero there. On frames large against the filters' reach (256x256 and up with
an 8x8 grid) the tiles partition the frame (:data:`TILE_SHAPES`), each touched by
the templates of a few regions only (at 512x512, 32x128 px tiles hold 19 of the
128 templates on average: see :func:`make_templates`): the frame is read once, and each tile's differences
are formed in a buffer that stays in cache. On small frames, where every
template reaches most of the frame, a tile is a whole band of frame rows (a
strided view of the frame differences BLAS reads in place), or the whole frame
(one product a chunk) where the bands would save few flops (:data:`DENSE_GAIN`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .._buffers import ThreadBuffer
from .._checks import check_grid_fits
from ..decompose import image_gradient
from ..decompose._dtcwt import _check_levels, _transform
from ..decompose._fast import forward
from ..errors import FrameShapeError, ParameterError
from ._adjoint import adjoint_window, band_gradients
from . import _kernels
from ._kernels import subtract_window

__all__ = ["Templates", "LightCorrection", "make_templates", "with_light", "project"]

#: Bytes of float32 frame differences per matrix product (at most 64 frames). The
#: number of frames per product depends only on the frame size, so a frame's scores
#: come out of the same BLAS computation whatever batch it arrived in: results are
#: bit-identical for every batch size (a product's rounding depends on its shape,
#: not on a row's place).
CHUNK_BYTES = 64 * 2**20


def chunk_frames(shape) -> int:
    """Frames per matrix product for frames of ``shape=(height, width)``: 64 up to 1024x256 px, fewer above."""
    return int(max(1, min(64, CHUNK_BYTES // (4 * int(np.prod(shape))))))


#: Pixels of one int8 product's frames (a byte each), and most frames in it: :func:`product_rows`.
INT8_CHUNK_PIXELS = 2**25
MAX_INT8_CHUNK = 256


def product_rows(templates) -> int:
    """Frames per product for ``templates``: :func:`chunk_frames`, or more for int8 templates on stored frames.

    Integer products are exact, so an int8 chunk's frames get the same scores however
    many it holds, and the per-chunk work is paid less often (small frames gain most;
    ``bench_speed.py``'s int8 rows). Float frames on int8 templates are still projected ``chunk_frames`` at a
    time (see :func:`project_frames`), as a float32 product's rounding depends on its shape.
    """
    rows = chunk_frames(templates.shape)
    if getattr(templates, "precision", "float32") != "int8":
        return rows
    return max(rows, min(MAX_INT8_CHUNK, INT8_CHUNK_PIXELS // int(np.prod(templates.shape))))


#: Tile shapes (rows, columns in px), in order of preference: the first whose flops
#: are below :data:`TILE_GAIN` of the row bands' is used (else the bands). Wide
#: tiles first: forming a tile's differences costs a loop per tile row, so at equal
#: flops fewer, longer rows win. Chosen by timing the projection on one thread with
#: 32x32, 32x64, 32x128, 64x128 and 16x256 tiles at four frame sizes (8x8 grid,
#: 4 levels); ``bench_speed``'s projection-alone row gives the result.
TILE_SHAPES = ((32, 128), (32, 32))

#: Tiles are used when their flops are below this share of the row bands' (below
#: it the per-tile overhead is paid back; at 128x128 with an 8x8 grid 32x32 tiles
#: would do most of the bands' flops and ran slower).
TILE_GAIN = 0.6

#: Where one product over the whole frame does at most this many times the bands'
#: multiply-adds, it is used instead: it reads a chunk's differences once, not once per
#: band of regions, and on small frames every band reaches most of the frame anyway
#: (128x128, 8x8 grid: 2.10 M multiply-adds a frame against the bands' 1.61 M, and
#: ``bench_speed``'s default recovery went from 16970 to 21679 frames/s; at 192x192,
#: 4.7 M against 2.8 M, the bands are kept).
DENSE_GAIN = 1.4

#: Largest template matrix built (float32 bytes): 2 GiB holds the 128 templates of an
#: 8x8 grid for frames up to about 2048x2048 pixels.
MAX_TEMPLATE_BYTES = 2 * 2**30

@dataclass(frozen=True)
class Tile:
    """Templates on one rectangle of the frame.

    A frame's scores gain ``block @ (frame - reference)[top:bottom, left:right].ravel()``
    in ``columns``.

    Attributes
    ----------
    top, bottom, left, right : int
        The frame rows ``top:bottom`` and columns ``left:right`` it covers.
    columns : np.ndarray [shape=(k,)], int
        The score columns whose templates are non-zero here (``2 r + i`` for region
        ``r`` along axis ``i``; past ``2 * n_regions``, a light basis image).
    block : np.ndarray [shape=(k, (bottom - top) * (right - left))], float32
        Those templates on the rectangle, one per row, each flattened row by row.
        With BLAS on one thread, as a recovery runs it, a chunk's product is
        ``block @ differences.T``, which ran faster than ``differences @ block.T`` on
        large frames, whose chunks are short (``benchmarks/bench_speed.py``: the default
        recovery at 1024x1024 / 1280x800 went from 622 / 680 to 716 / 689 frames/s);
        with BLAS's own threads (``project()`` called directly) it is
        ``differences @ block.T``, which those threads ran faster at 512x512.
    """

    top: int
    bottom: int
    left: int
    right: int
    columns: np.ndarray
    block: np.ndarray

    @property
    def shape(self) -> tuple:
        return self.bottom - self.top, self.right - self.left


class DerivedCache(dict):
    """A dict that pickles empty: what it holds is rebuilt where it is needed."""

    def __reduce__(self):
        return DerivedCache, ()


@dataclass(frozen=True)
class Templates:
    """What a worker needs to turn frames into band evidence.

    A template is exactly zero beyond the reach of the DTCWT's filters (about
    60 px past its region at 4 levels), so the templates are kept tile by tile
    (see :class:`Tile`): rectangles partitioning large frames, whole bands of
    frame rows or one tile over the whole frame on small ones.

    Attributes
    ----------
    reference : np.ndarray [shape=(height, width)], float32
        The reference frame (frames are projected as ``frame - reference``).
    tiles : tuple of Tile
        Rectangles partitioning the frame, bands of whole rows that overlap
        (each with the columns of its own row of regions), or one whole-frame tile.
    information : np.ndarray [shape=(n_regions, 2, 2)], float64
        Fisher information of each region's evidence (up to the noise variance).
    grid : (rows, cols)
    light : LightCorrection or None
        When set, global light changes against ``reference`` are removed as
        :class:`vismic.stabilise.NormaliseLight` removes them (see :func:`with_light`);
        the tiles then also hold the light basis images, as the columns past
        ``2 * n_regions``.
    precision : str
        ``'float32'``, or ``'int8'``: every tile's rows rounded to 255 levels of
        their own largest value (:func:`~vismic.project._int8.quantise`), and
        8- and 16-bit frames projected with integer products (the same scores, to float32
        rounding, as the float32 product of these rounded templates).
    """

    reference: np.ndarray
    tiles: tuple
    information: np.ndarray
    grid: tuple
    light: Optional["LightCorrection"] = None
    precision: str = "float32"
    #: What projecting with these templates prepares once (the int8 products' plan); never pickled.
    cache: dict = field(default_factory=lambda: DerivedCache(), compare=False, repr=False)

    @property
    def n_regions(self) -> int:
        return self.information.shape[0]

    @property
    def n_columns(self) -> int:
        """Columns of a product: ``2 * n_regions`` scores, then the light coefficients if any."""
        return 2 * self.n_regions + (self.light.n_basis if self.light is not None else 0)

    @property
    def shape(self) -> tuple:
        return self.reference.shape

    @property
    def full_width(self) -> bool:
        """Whether every tile is a band of whole frame rows."""
        return all(tile.left == 0 and tile.right == self.shape[1] for tile in self.tiles)

    @property
    def nbytes(self) -> int:
        """Bytes of the templates and reference."""
        return self.reference.nbytes + sum(tile.block.nbytes for tile in self.tiles)

    @property
    def matrix(self) -> np.ndarray:
        """All templates as one dense ``(height * width, 2 * n_regions)`` float32 matrix.

        Zeros off the tiles; a light correction (:attr:`light`) is not part of it.
        """
        return np.ascontiguousarray(self.dense()[:, : 2 * self.n_regions])

    def dense(self) -> np.ndarray:
        """Every column of a product as one dense ``(height * width, n_columns)`` float32 matrix.

        The scores' templates, then the light basis images (if any); zeros off the tiles.
        """
        height, width = self.shape
        dense = np.zeros((height, width, self.n_columns), dtype=np.float32)
        for tile in self.tiles:
            rows, cols = tile.shape
            dense[tile.top:tile.bottom, tile.left:tile.right, tile.columns] = tile.block.T.reshape(rows, cols, -1)
        return dense.reshape(height * width, -1)


@dataclass(frozen=True)
class LightCorrection:
    """:class:`vismic.stabilise.NormaliseLight` folded into a projection.

    That stage maps a frame to ``r + (d - sum_k c_k b_k) / g`` with ``d = frame - r``
    against its reference ``r``, ``c = B d`` on its light basis ``B`` and the gain
    ``g`` read from the texture coefficient. The templates ``T`` are linear, so the
    scores of the result against the projection's own reference ``p`` are
    ``T (r - p) + (T d - sum_k c_k T b_k) / g``: two more dot products a frame
    (``c``), and the rest on score vectors.

    The basis images themselves are columns of the templates' tiles (``c`` comes
    out of the same product as the scores).

    Attributes
    ----------
    basis_scores : np.ndarray [shape=(k, 2 * n_regions)], float64
        ``T b_k``.
    offset : np.ndarray [shape=(2 * n_regions,)], float64
        ``T (r - p)``.
    texture_norm : float
        Divides the texture coefficient into the gain (0 when the basis has no texture image).
    reference_mean : float
        The light reference's mean, which the constant coefficient moves as a gain does
        (:func:`vismic.stabilise._light.gain_divisor`); 0 keeps gains to 0.5-2.
    n_pixels : int
        Of the light reference.
    """

    basis_scores: np.ndarray
    offset: np.ndarray
    texture_norm: float
    reference_mean: float = 0.0
    n_pixels: int = 1

    @property
    def n_basis(self) -> int:
        return self.basis_scores.shape[0]

    def apply(self, scores: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        """Scores ``(n, 2 * n_regions)`` float32 of the light-normalised frames, from ``T d`` and ``c = B d``."""
        coefficients = np.asarray(coefficients, dtype=np.float64)
        corrected = scores.astype(np.float64) - coefficients @ self.basis_scores
        if self.texture_norm:
            from ..stabilise._light import gain_divisor

            # as NormaliseLight: a frame far from the reference reads as a wild gain, left unscaled
            corrected /= gain_divisor(coefficients, self.texture_norm, self.reference_mean, self.n_pixels)[:, None]
        return (corrected + self.offset).astype(np.float32)


def with_light(templates: Templates, light_reference) -> Templates:
    """``templates`` preceded by :class:`vismic.stabilise.NormaliseLight` with reference ``light_reference``.

    ``templates`` are built for the light-normalised reference frames; the result
    projects raw frames (as differences from ``light_reference``) to the scores
    that ``NormaliseLight`` followed by ``templates`` gives, to float32 rounding.
    """
    from ..stabilise import light_basis

    light_reference = np.asarray(light_reference, dtype=np.float64)
    reference32 = light_reference.astype(np.float32)
    basis = light_basis(light_reference).astype(np.float32)
    texture_norm = 0.0
    if len(basis) > 1:  # as remove_light computes it
        texture_norm = float(basis[1].ravel().astype(np.float64) @ (reference32.ravel() - reference32.mean()))
    images = np.concatenate([basis, (reference32 - templates.reference)[None]])
    projected = project_difference(images, templates).astype(np.float64)
    light = LightCorrection(projected[:-1], projected[-1], texture_norm,
                            float(reference32.astype(np.float64).mean()), reference32.size)
    extra = 2 * templates.n_regions + np.arange(len(basis))
    rows = _rounded if templates.precision == "int8" else np.ascontiguousarray  # int8: the basis rounded too
    if templates.full_width and len(templates.tiles) > 1:  # bands overlap: the basis is one more tile, over the whole frame
        height, width = templates.shape
        whole = Tile(0, height, 0, width, extra, rows(basis.reshape(len(basis), -1)))
        tiles = templates.tiles + (whole,)
    else:  # the tiles partition the frame: each carries its part of the basis
        tiles = tuple(Tile(t.top, t.bottom, t.left, t.right, np.concatenate([t.columns, extra]),
                           np.vstack([t.block, rows(basis[:, t.top:t.bottom, t.left:t.right].reshape(len(basis), -1))]))
                      for t in templates.tiles)
    return Templates(reference32, tiles, templates.information, templates.grid, light, templates.precision)


def _rounded(rows) -> np.ndarray:
    from ._int8 import rounded

    return rounded(rows)


def check_template_size(shape, grid) -> None:
    """Refuse frames whose templates would exceed :data:`MAX_TEMPLATE_BYTES` (before anything is read or built)."""
    height, width = (int(v) for v in shape[:2])
    rows, cols = (int(g) for g in grid)
    needed = 4 * height * width * 2 * rows * cols
    if needed > MAX_TEMPLATE_BYTES:
        raise ParameterError(
            f"frames of {width}x{height} pixels with a {rows}x{cols} grid need {needed / 2**30:.1f} GiB of templates "
            f"(at most {MAX_TEMPLATE_BYTES / 2**30:.0f} GiB): pass a smaller --roi, a --downsample factor or a "
            "coarser --grid"
        )


def make_templates(reference, *, n_levels: int = 4, grid=(8, 8), biort: str = "near_sym_a",
                   qshift: str = "qshift_a", executor=None, precision: str = "float32") -> Templates:
    """Templates of the pooled linear band evidence for a reference frame.

    Parameters
    ----------
    reference : np.ndarray [shape=(height, width)]
    n_levels : int
        DTCWT levels.
    grid : (rows, cols)
        Regions, laid on every level's coefficients as :func:`vismic.combine.band_signals` does.
    biort, qshift : str
        DTCWT filters.
    executor : concurrent.futures.Executor, optional
        Build the rows of regions on its workers (each row's templates are
        independent); the templates are the same either way.
    precision : {'float32', 'int8'}
        ``'int8'``: each tile's rows rounded to 255 levels of their own largest
        value, for integer products (see :class:`Templates`).

    Returns
    -------
    Templates

    Examples
    --------
    >>> import numpy as np
    >>> templates = make_templates(np.random.default_rng(0).random((128, 128)), n_levels=3, grid=(4, 4))
    >>> templates.n_regions, [(tile.top, tile.bottom) for tile in templates.tiles]  # rows each row of regions reaches
    (16, [(0, 58), (6, 90), (38, 122), (70, 128)])
    >>> small = make_templates(np.random.default_rng(0).random((128, 128)), grid=(8, 8))
    >>> len(small.tiles), small.tiles[0].shape  # every template reaches most of it: one product over the whole frame
    (1, (128, 128))
    >>> large = make_templates(np.random.default_rng(0).random((512, 512)), grid=(8, 8))
    >>> len(large.tiles), large.tiles[0].shape, len(large.tiles[0].columns)  # 32x128 px tiles, a few regions each
    (64, (32, 128), 12)
    >>> round(float(np.mean([len(tile.columns) for tile in large.tiles])), 1)  # of the 128 templates
    19.2
    """
    reference = np.asarray(reference, dtype=np.float64)
    precision = check_precision(precision)
    n_levels = _check_levels(n_levels, reference.shape)
    # checked as BandSum checks it unfused: 3, (0, 1) and (2.5, 2) failed deep inside, (32, 32) on 64 px frames
    # took 69 s and 705 MB for 64 frames
    rows, cols = check_grid_fits(grid, reference.shape)
    _transform(biort, qshift)  # unknown filters: the error here, before any work
    check_template_size(reference.shape, (rows, cols))
    task = RowTask(reference, n_levels=n_levels, grid=(rows, cols), biort=biort, qshift=qshift)
    if executor is None:
        parts = [task(row) for row in range(rows)]
    else:
        from ._parallel import map_ordered

        parts = [part for _, part in map_ordered(task, ((row, row) for row in range(rows)), executor)]
    _GRADIENTS.pop(task.key, None)  # tens of MB: workers keep theirs for the next rows, this process has finished
    windows = [window for row_windows, _ in parts for window in row_windows]
    information = np.concatenate([row_information for _, row_information in parts])
    templates = Templates(reference.astype(np.float32), _tiles(windows, reference.shape, (rows, cols)), information,
                          (rows, cols))
    if precision == "int8":
        from ._int8 import quantise

        templates = quantise(templates)
    return templates


#: What :class:`Templates` ``precision`` takes.
PRECISIONS = ("float32", "int8")


def check_precision(precision) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`; for ``'int8'`` torch must be installed."""
    if precision not in PRECISIONS:
        raise ParameterError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, given {precision!r}")
    if precision == "int8":
        from ._int8 import require_torch

        require_torch()
    return precision


#: The reference gradients' DTCWT last computed in this process (a worker computes it once per reference).
_GRADIENTS: dict = {}


class RowTask:
    """Picklable ``task(row) -> (windows, information)``: the templates of one row of regions.

    ``windows`` are ``(region, top, left, data)``: each region's two templates (x
    and y, ``data`` float32 of shape (2, h, w)) on the rectangle of the frame
    they reach, cut to the rows where they are non-zero; ``information`` is the
    row's ``(cols, 2, 2)`` Fisher information. The DTCWT of the reference's
    gradient (the same for every row) is computed once per process that runs
    rows of this reference.
    """

    def __init__(self, reference, *, n_levels, grid, biort, qshift):
        self.reference = reference
        self.params = (n_levels, tuple(grid), biort, qshift)
        self.key = (hashlib.sha1(reference.tobytes()).hexdigest(), reference.shape, n_levels, biort, qshift)

    def gradients(self) -> list:
        """DTCWT sub-bands of the reference's x and y derivatives, ``(2, h_l, w_l, 6)`` per level."""
        found = _GRADIENTS.get(self.key)
        if found is None:
            n_levels, _, biort, qshift = self.params
            transform = _transform(biort, qshift)
            gx, gy = image_gradient(self.reference)
            found = forward(np.stack([gx, gy]), n_levels, transform.biort, transform.qshift)[0]
            _GRADIENTS.clear()
            _GRADIENTS[self.key] = found
        return found

    def __call__(self, row: int) -> tuple:
        _, (rows, cols), biort, qshift = self.params
        transform = _transform(biort, qshift)
        windows = []
        for col in range(cols):
            per_level = []
            for g in self.gradients():
                (r0, r1), (c0, c1) = _span(row, rows, g.shape[1]), _span(col, cols, g.shape[2])
                if r1 <= r0 or c1 <= c0:  # fewer coefficients than regions: this region has none here
                    per_level.append(None)
                    continue
                # Region r's weights along axis i are -mask_r conj(G_i); as band images (see
                # band_gradients) the mask is a rectangle of whole 2x2 quads: the band images
                # of -conj(G_i) on the region's coefficients.
                per_level.append((2 * r0, 2 * c0, *band_gradients(-np.conj(g[:, r0:r1, c0:c1]))))
            window = _cropped(adjoint_window(per_level, self.reference.shape, transform.biort, transform.qshift))
            if window is not None:
                windows.append((row * cols + col,) + window)
        return windows, _row_information(self.gradients(), row, (rows, cols))


def _span(index: int, n: int, size: int) -> tuple:
    """Coefficients ``start:stop`` of ``size`` in region ``index`` of ``n`` (as ``region_labels`` lays them)."""
    return -(-index * size // n), -(-(index + 1) * size // n)


def _row_information(gradients, row: int, grid) -> np.ndarray:
    """Fisher information ``sum Re(conj(G_i) G_j)`` over each region of one row of the grid, ``(cols, 2, 2)``."""
    rows, cols = grid
    information = np.zeros((cols, 2, 2))
    for g in gradients:
        r0, r1 = _span(row, rows, g.shape[1])
        if r1 <= r0:
            continue
        label = (np.arange(g.shape[2]) * cols // g.shape[2])[None, :].repeat(r1 - r0, axis=0).ravel()
        re, im = g.real[:, r0:r1], g.imag[:, r0:r1]
        for i, j in ((0, 0), (0, 1), (1, 1)):  # Re(conj(a) b) = Re a Re b + Im a Im b, summed over orientations
            cross = np.einsum("hwk,hwk->hw", re[i], re[j]) + np.einsum("hwk,hwk->hw", im[i], im[j])
            information[:, i, j] += np.bincount(label, cross.ravel(), minlength=cols)
    information[:, 1, 0] = information[:, 0, 1]
    return information


def _cropped(window):
    """An adjoint window ``(top, left, data (2, h, w))`` cut to its non-zero rows, data float32; None when all zero."""
    if window is None:
        return None
    top, left, data = window
    nonzero = np.flatnonzero(np.any(data != 0, axis=(0, 2)))
    if not nonzero.size:
        return None
    return top + int(nonzero[0]), left, data[:, nonzero[0]: nonzero[-1] + 1].astype(np.float32)


def _tiles(windows, shape, grid) -> tuple:
    """The templates as tiles: the first of :data:`TILE_SHAPES` that saves enough flops, else bands of whole rows.

    ``windows`` are every region's ``(region, top, left, data)`` (see :class:`RowTask`), in region order.
    """
    width = shape[1]
    per_row = 2 * grid[1]
    by_row = {}
    for window in windows:
        by_row.setdefault(window[0] // grid[1], []).append(window)
    bands = [(row, min(w[1] for w in mine), max(w[1] + w[3].shape[1] for w in mine))  # frame rows it reaches
             for row, mine in by_row.items()]
    band_cost = sum((hi - lo) * width * per_row for _, lo, hi in bands)
    reach = _Reach(windows)
    for tile_shape in TILE_SHAPES:
        layout = [(box, reach.columns(*box)) for box in _boxes(shape, tile_shape)]
        if sum((b - t) * (r - l) * len(columns) for (t, b, l, r), columns in layout) < TILE_GAIN * band_cost:
            return tuple(_tile(box, columns, windows) for box, columns in layout)
    if shape[0] * width * per_row * grid[0] <= DENSE_GAIN * band_cost:  # one band holding every region
        return (_band(0, 0, shape[0], windows, width, per_row * grid[0]),)
    return tuple(_band(row, lo, hi, by_row[row], width, per_row) for row, lo, hi in bands)


def _boxes(shape, tile_shape):
    """``(top, bottom, left, right)`` of tiles of ``tile_shape`` partitioning a frame of ``shape``, row by row."""
    (height, width), (tile_rows, tile_cols) = shape, tile_shape
    return [(top, min(top + tile_rows, height), left, min(left + tile_cols, width))
            for top in range(0, height, tile_rows) for left in range(0, width, tile_cols)]


class _Reach:
    """Which templates are non-zero in a rectangle of the frame (summed-area tables of each window's non-zeros)."""

    def __init__(self, windows):
        self.windows = windows
        self.extents = np.array([(top, top + data.shape[1], left, left + data.shape[2])
                                 for _, top, left, data in windows], dtype=np.int64).reshape(-1, 4)
        self.tables = []
        for _, _, _, data in windows:
            table = np.zeros((2, data.shape[1] + 1, data.shape[2] + 1), dtype=np.int32)
            np.cumsum(np.cumsum(data != 0, axis=1, dtype=np.int32), axis=2, out=table[:, 1:, 1:])
            self.tables.append(table)

    def columns(self, top: int, bottom: int, left: int, right: int) -> list:
        """``(window index, axis)`` of the templates non-zero in the rectangle, in score-column order."""
        t, b, l, r = self.extents.T
        found = []
        for k in np.flatnonzero((t < bottom) & (b > top) & (l < right) & (r > left)):
            r0, r1 = max(top, t[k]) - t[k], min(bottom, b[k]) - t[k]
            c0, c1 = max(left, l[k]) - l[k], min(right, r[k]) - l[k]
            table = self.tables[k]
            count = table[:, r1, c1] - table[:, r0, c1] - table[:, r1, c0] + table[:, r0, c0]
            found.extend((int(k), axis) for axis in (0, 1) if count[axis])
        return found


def _tile(box, columns, windows) -> Tile:
    """The :class:`Tile` on ``box`` holding the templates ``columns`` (``(window index, axis)``, see :class:`_Reach`)."""
    top, bottom, left, right = box
    block = np.zeros((len(columns), bottom - top, right - left), dtype=np.float32)
    for at, (k, axis) in enumerate(columns):
        _, w_top, w_left, data = windows[k]
        r0, r1 = max(top, w_top), min(bottom, w_top + data.shape[1])
        c0, c1 = max(left, w_left), min(right, w_left + data.shape[2])
        block[at, r0 - top: r1 - top, c0 - left: c1 - left] = data[axis, r0 - w_top: r1 - w_top, c0 - w_left: c1 - w_left]
    numbers = np.array([2 * windows[k][0] + axis for k, axis in columns], dtype=np.int64)
    return Tile(top, bottom, left, right, numbers, block.reshape(len(columns), -1))


def _band(row: int, first: int, last: int, windows, width: int, per_row: int) -> Tile:
    """One row of regions' templates as a band of whole frame rows ``first:last`` (two columns per region)."""
    block = np.zeros((per_row, last - first, width), dtype=np.float32)
    for region, top, left, data in windows:
        local = 2 * (region - row * per_row // 2)
        block[local: local + 2, top - first: top - first + data.shape[1], left: left + data.shape[2]] = data
    return Tile(first, last, 0, width, np.arange(row * per_row, (row + 1) * per_row), block.reshape(per_row, -1))


def project(frames, templates: Templates, *, device=None) -> np.ndarray:
    """Band evidence of each frame: ``scores[r, i, t]`` as :class:`vismic.data.BandSignals` holds it pooled.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
    templates : Templates
    device : str, optional
        None (default) computes with numpy; ``'cpu'`` or ``'cuda[:index]'`` with
        torch on that device (float32 either way).

    Returns
    -------
    np.ndarray [shape=(n_regions, 2, n)], float64
    """
    frames = np.asarray(frames)
    n = frames.shape[0]
    if frames.shape[1:] != templates.shape:
        raise FrameShapeError(f"frames of size {frames.shape[1:]} do not match templates for {templates.shape}")
    if device is not None:
        from ._torch import project_torch

        return as_scores(project_torch(frames, templates, device), templates.n_regions)
    size = chunk_frames(templates.shape)
    scores = np.empty((n, 2 * templates.n_regions), dtype=np.float32)
    for start in range(0, n, size):
        stop = min(n, start + size)
        scores[start:stop] = project_frames([frames[start:stop]], templates)[: stop - start]
    return as_scores(scores, templates.n_regions)


def as_scores(flat: np.ndarray, n_regions: int) -> np.ndarray:
    """``(n, 2 * n_regions)`` products as :func:`project` returns them: ``(n_regions, 2, n)`` float64."""
    return flat.reshape(len(flat), n_regions, 2).transpose(1, 2, 0).astype(np.float64)


def difference(pieces, reference, out) -> int:
    """Write ``frames - reference`` for the frames of ``pieces`` (arrays, in order) into ``out``, float32.

    ``out`` holds a chunk of frames; what the pieces leave of it is zeroed (a
    product's rounding depends on its shape only, so a short chunk gives the same
    scores as a full one). The difference keeps float32 precision (the raw frames
    would cancel the signal). Returns the number of frames written.
    """
    n = 0
    for frames in pieces:  # whole frames: numpy's subtract runs one contiguous pass (no compiled loop needed)
        np.subtract(frames, reference, out=out[n: n + len(frames)], casting="unsafe")
        n += len(frames)
    if n < len(out):
        out[n:] = 0.0
    return n


#: The differences of a chunk (whole-row tiles) or of one tile, per thread (a thread pool's
#: threads project at the same time), kept for the thread's next chunk.
_SCRATCH = ThreadBuffer(np.float32)


def project_frames(pieces, templates: Templates, rows=None) -> np.ndarray:
    """Scores ``(rows, 2 * n_regions)`` float32 of the frames of ``pieces`` (arrays, in order).

    The frames are projected as differences from the reference. ``rows``
    defaults to :func:`chunk_frames`; rows past the frames are zero input, so a
    frame's scores do not depend on which chunk it came in.
    """
    return _product(pieces, templates, rows, subtract=True)


def project_difference(chunk: np.ndarray, templates: Templates) -> np.ndarray:
    """Scores ``(len(chunk), 2 * n_regions)`` float32 of frame differences ``chunk`` (n, height, width)."""
    return _product([chunk], templates, len(chunk), subtract=False)


def _product(pieces, templates: Templates, rows, *, subtract: bool) -> np.ndarray:
    rows = chunk_frames(templates.shape) if rows is None else int(rows)
    if (templates.precision == "int8" and subtract and pieces
            and all(frames.dtype == pieces[0].dtype and frames.dtype in (np.uint8, np.uint16) for frames in pieces)):
        from ._int8 import project_int8

        scores = project_int8(pieces, templates, rows)
        if templates.light is not None:
            split = 2 * templates.n_regions
            return templates.light.apply(scores[:, :split], scores[:, split:])
        return scores.astype(np.float32)
    size = chunk_frames(templates.shape)
    if rows > size:  # an int8 chunk of float frames: the float32 products a serial run makes
        parts = [_product(group, templates, size, subtract=subtract) for group in _groups(pieces, size)]
        out = np.zeros((rows, parts[0].shape[1] if parts else 2 * templates.n_regions), dtype=np.float32)
        joined = np.concatenate(parts) if parts else out[:0]
        out[: min(rows, len(joined))] = joined[:rows]
        return out
    scores = np.zeros((rows, templates.n_columns), dtype=np.float32)
    threaded = _blas_threads() > 1
    if templates.full_width:
        # bands of whole rows: one pass forms the differences, BLAS reads each band in place
        if subtract:
            chunk = _SCRATCH.get((rows,) + templates.shape)
            difference(pieces, templates.reference, chunk)
        else:
            chunk = pieces[0]
        for tile in templates.tiles:
            if len(tile.columns):
                _add(scores, tile, chunk[:, tile.top:tile.bottom].reshape(rows, -1), threaded)
    else:
        # rectangles: each one's differences are formed in a small buffer that stays in cache
        largest = max(tile.block.shape[1] for tile in templates.tiles)
        buffer = _SCRATCH.get((rows * largest,))
        kernel = _kernels.tiles_kernel() if _compiled_takes(pieces, templates) else False
        if kernel:  # the whole chunk in one call without the GIL
            geometry, blocks, columns = _packed(templates)
            frames = _joined(pieces)  # the serial run's batches: one copy of the stored frames
            kernel(frames, templates.reference, geometry, blocks, columns, buffer, scores, subtract,
                   frames.dtype == np.float64)
        else:
            _tiles_numpy(pieces, templates, buffer, scores, subtract, threaded)
    if templates.light is not None:
        split = 2 * templates.n_regions
        return templates.light.apply(scores[:, :split], scores[:, split:])
    return scores


def _tiles_numpy(pieces, templates: Templates, buffer, scores, subtract: bool, threaded: bool) -> None:
    """The compiled tile loop's twin: tile by tile, numpy's products (see :func:`~vismic.project._kernels.tiles_kernel`)."""
    rows = len(scores)
    for tile in templates.tiles:
        if not len(tile.columns):  # no template reaches it (kept: with_light adds the basis here)
            continue
        height, width = tile.shape
        part = buffer[: rows * height * width].reshape(rows, height, width)
        n = 0
        for frames in pieces:
            if subtract:
                subtract_window(frames, templates.reference, tile.top, tile.left, part[n: n + len(frames)])
            else:
                part[n: n + len(frames)] = frames[:, tile.top:tile.bottom, tile.left:tile.right]
            n += len(frames)
        part[n:] = 0.0
        _add(scores, tile, part.reshape(rows, -1), threaded)


def _compiled_takes(pieces, templates) -> bool:
    """Whether the compiled tile loop takes these frames: one dtype it knows, 3-D, a float32 reference."""
    return (bool(pieces) and templates.reference.dtype == np.float32
            and all(frames.ndim == 3 and frames.dtype == pieces[0].dtype for frames in pieces)
            and pieces[0].dtype in _kernels.TAKES)


def _packed(templates):
    """The tiles as the compiled loop takes them: ``(geometry (n, 7) int64, blocks, columns)``.

    ``blocks`` holds every tile's block, one after the other, flat (a copy, kept with the
    templates: as many bytes again as the blocks; numba's typed list would avoid the copy but
    compiles its own machinery in every process that uses it).
    """
    found = templates.cache.get("tiles")
    if found is None:
        tiles = templates.tiles
        counts = np.array([len(tile.columns) for tile in tiles], dtype=np.int64)
        sizes = np.array([tile.block.size for tile in tiles], dtype=np.int64)
        firsts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        geometry = np.array([(tile.top, tile.left, *tile.shape, first, count, start)
                             for tile, first, count, start in zip(tiles, firsts, counts, starts)],
                            dtype=np.int64).reshape(-1, 7)
        columns = np.concatenate([np.asarray(tile.columns, dtype=np.int64) for tile in tiles])
        blocks = np.empty(int(sizes.sum()), dtype=np.float32)
        for tile, start, size in zip(tiles, starts, sizes):
            blocks[start: start + size] = tile.block.ravel()
        found = templates.cache["tiles"] = (geometry, blocks, columns)
    return found


def _joined(pieces) -> np.ndarray:
    """The frames of ``pieces`` (arrays, in order) in one array (the piece itself when there is one)."""
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def _groups(pieces, size: int):
    """The frames of ``pieces`` (arrays, in order) as lists of views holding ``size`` frames each (the last fewer)."""
    group, count = [], 0
    for frames in pieces:
        while len(frames):
            take = min(size - count, len(frames))
            group.append(frames[:take])
            frames, count = frames[take:], count + take
            if count == size:
                yield group
                group, count = [], 0
    if group:
        yield group


def _add(scores, tile: Tile, data, threaded: bool) -> None:
    """``scores[:, columns] += data @ block.T``, in the orientation BLAS runs faster (see :class:`Tile`)."""
    if threaded:
        scores[:, tile.columns] += data @ tile.block.T
    else:
        scores[:, tile.columns] += (tile.block @ data.T).T


def _blas_threads() -> int:
    """Threads numpy's BLAS runs on now (1 where that cannot be read)."""
    from ._parallel import _openblas_controls  # here: _parallel imports this module

    controls = _openblas_controls()
    return int(controls[0][1]()) if controls else 1
