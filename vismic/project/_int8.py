"""The projection in 8-bit integers: ``precision="int8"``.

Frames of 8-bit video are integers already; with each template rounded to 255
levels of its own largest value, a tile's product is an integer product with an
exact 32-bit sum, which the CPU's integer matrix units (VNNI, AMX) run faster
than float32's (``benchmarks/bench_speed.py`` prints both projections). The frames
go in as they are stored, moved to ``-128..127``; the reference is subtracted from
the exact integer sums afterwards, in float64, so no rounding cancels the signal.
16-bit frames (camera files of 10-16 bits) are ``256 * high + low`` bytes: two
products, each exact, joined in float64 (``bench_speed.py``'s row "projection
alone, int8 (torch), 16-bit frames").

What changes against float32 is only the templates: each row of each tile (one
template on one rectangle) is rounded to a multiple of ``max |row| / 127``. The
rounded templates are ordinary :class:`~vismic.project.Templates`
(``precision="int8"``): the float32 path gives the same scores from them to float32
rounding (float frames take it), and ``make_templates`` users can
inspect them. The rounding costs the estimate a little efficiency (the benchmarks
print the recovered sound against float32's).
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

__all__ = ["quantise", "project_int8", "int8_available", "MAX_PIXELS"]

#: Most pixels one integer product sums: 127 x 128 x this stays below 2**31.
MAX_PIXELS = 2**17


def _round_rows(block: np.ndarray) -> tuple:
    """``(q int8, scale float64)``: ``q * scale`` is ``block`` with each row on 255 levels of its largest value."""
    block = np.asarray(block, dtype=np.float64)
    largest = np.abs(block).max(axis=1) if block.shape[1] else np.zeros(len(block))
    scale = np.where(largest > 0, largest / 127.0, 1.0)
    return np.rint(block / scale[:, None]).astype(np.int8), scale


def rounded(rows) -> np.ndarray:
    """``rows`` (k, pixels) rounded to 255 levels of each row's largest value, float32."""
    q, scale = _round_rows(rows)
    return (q * scale[:, None]).astype(np.float32)


def quantise(templates):
    """``templates`` with every tile's rows rounded to 255 levels of their own largest value (``precision="int8"``).

    Rounding again changes nothing, so templates can be quantised at any step
    (before and after :func:`~vismic.project.with_light` adds the light basis).

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.project import make_templates
    >>> templates = make_templates(np.random.default_rng(0).random((64, 64)), n_levels=3, grid=(2, 2))
    >>> rounded = quantise(templates)
    >>> rounded.precision, len(np.unique(rounded.tiles[0].block[0])) <= 255
    ('int8', True)
    >>> bool(np.array_equal(quantise(rounded).tiles[0].block, rounded.tiles[0].block))
    True
    """
    from ._templates import Tile

    tiles = [Tile(tile.top, tile.bottom, tile.left, tile.right, tile.columns, rounded(tile.block))
             for tile in templates.tiles]
    return type(templates)(templates.reference, tuple(tiles), templates.information, templates.grid,
                           templates.light, precision="int8")


@functools.lru_cache(maxsize=1)
def int8_available() -> bool:
    """Whether torch is installed and multiplies int8 matrices on the CPU exactly (``torch._int_mm``)."""
    try:
        import torch
    except ImportError:
        return False
    a = torch.tensor([[127, -128], [3, 4]], dtype=torch.int8)
    try:
        product = torch._int_mm(a, a)
    except (AttributeError, RuntimeError, NotImplementedError):  # older torch: no CPU integer products
        return False
    return product.dtype == torch.int32 and product.tolist() == [[15745, -16768], [393, -368]]


def require_torch() -> None:
    if not int8_available():
        raise ImportError("precision='int8' needs PyTorch with exact int8 matrix products on the CPU "
                          "(torch._int_mm): pip install --upgrade torch (or pip install 'vismic[torch]')")


class _Plan:
    """What the integer products need, built once per templates (in each process that projects).

    Each tile's rows become an int8 matrix (pixels x rows, for ``frames @ matrix``); a
    tile of more than :data:`MAX_PIXELS` pixels is cut into pieces of whole rows.
    Pieces on the same frame rows form a band: one pass over those rows of every
    frame (read whole, as memory serves them best) writes each piece's pixels into
    its own contiguous buffer, which its product then reads while it is in cache.
    The int32 sums of every piece, side by side, are scaled row by row and added
    into their score columns (``order``, ``starts``), and ``offset`` subtracts
    ``templates @ (reference - 128)``, all in float64.
    """

    def __init__(self, templates):
        import torch

        self.offset = np.zeros(templates.n_columns)  # 8-bit frames: templates @ (reference - 128)
        self.offset16 = np.zeros(templates.n_columns)  # 16-bit: templates @ (reference - 128 * 257)
        reference = templates.reference.astype(np.float64) - 128.0
        bands: dict = {}  # (top, height) -> [(left, width, matrix, columns, scales)]
        for tile in templates.tiles:
            if not len(tile.columns):
                continue
            q, scale = _round_rows(tile.block)
            height, width = tile.shape
            step = max(1, MAX_PIXELS // width)
            for first in range(0, height, step):
                last = min(height, first + step)
                part = q[:, first * width: last * width]
                below = reference[tile.top + first: tile.top + last, tile.left: tile.right].ravel()
                self.offset[tile.columns] += scale * (part.astype(np.float64) @ below)
                self.offset16[tile.columns] += scale * (part.astype(np.float64) @ (below - 256.0 * 128.0))
                bands.setdefault((tile.top + first, last - first), []).append(
                    (tile.left, width, torch.from_numpy(np.ascontiguousarray(part.T)), tile.columns, scale))
        self.bands = []  # (top, height, lefts, widths, starts (per frame: starts * rows), matrices)
        columns, scales = [], []  # of the pieces' sums, in the order they are computed
        for (top, height), pieces in bands.items():
            widths = np.array([piece[1] for piece in pieces], dtype=np.int64)
            self.bands.append((top, height, np.array([piece[0] for piece in pieces], dtype=np.int64), widths,
                               np.concatenate([[0], np.cumsum(height * widths)[:-1]]).astype(np.int64),
                               [piece[2] for piece in pieces]))
            columns.extend(piece[3] for piece in pieces)
            scales.extend(piece[4] for piece in pieces)
        self.pixels = max((height * int(widths.sum()) for _, height, _, widths, _, _ in self.bands), default=1)
        # the pieces' sums, in band order, go to these columns with these scales
        order_columns = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
        self.scale = np.concatenate(scales) if scales else np.zeros(0)
        self.order = np.argsort(order_columns, kind="stable")
        self.columns, self.starts = np.unique(order_columns[self.order], return_index=True)
        self.n_columns = templates.n_columns


_LOCK = threading.Lock()


def _plan(templates) -> _Plan:
    """The plan of ``templates``, built once (kept with them)."""
    with _LOCK:
        plan = templates.cache.get("int8")
        if plan is None:
            plan = templates.cache["int8"] = _Plan(templates)
    return plan


#: Per thread: a band's int8 pixels for a chunk and torch views of each piece's part, kept for the next chunk.
_SCRATCH = threading.local()


def _scratch(rows: int, plan: _Plan):
    import torch

    held = getattr(_SCRATCH, "held", None)
    if held is None or held[0] is not plan or held[1] != rows:
        flat = np.empty((2, rows * plan.pixels), dtype=np.int8)  # 16-bit frames use both: high and low bytes
        views = []
        for part in torch.from_numpy(flat):
            views.append([[part[rows * start: rows * (start + height * width)].view(rows, height * width)
                           for start, width in zip(starts, widths)]
                          for _, height, _, widths, starts, _ in plan.bands])
        held = _SCRATCH.held = (plan, rows, flat, views, [starts * rows for *_, starts, _ in plan.bands])
    return held[2:]


@contextlib.contextmanager
def _one_torch_thread(torch):
    """torch's own threads off in this thread while it projects, restored afterwards.

    The products are small and the parallelism is the recovery's (a thread or
    process per core). torch's thread count is the calling thread's own (OpenMP's),
    so a thread that never set it runs every product on a team of one thread per
    core: two such threads, or two processes, spin against each other and run these
    small products many times slower.
    """
    threads = torch.get_num_threads()
    if threads != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads != 1:
            torch.set_num_threads(threads)


def project_int8(pieces, templates, rows: int) -> np.ndarray:
    """Scores ``(rows, n_columns)`` float64 of the uint8 or uint16 frames of ``pieces`` (before any light correction).

    A 16-bit frame is ``256 * high + low`` bytes: two integer products, each exact,
    joined in float64. Rows past the frames are zero differences (as the float32
    path's), so a frame's scores never depend on its chunk.
    """
    import torch

    from ._kernels import band_kernel

    plan = _plan(templates)
    flat, views, at = _scratch(rows, plan)
    n = sum(len(frames) for frames in pieces)
    wide = pieces[0].dtype == np.uint16
    if n > rows or any(frames.shape[1:] != templates.shape or frames.dtype != pieces[0].dtype
                       or frames.dtype not in (np.uint8, np.uint16) for frames in pieces):
        raise ValueError(f"{n} uint8 or uint16 frames of {templates.shape} fit this product, "
                         f"given {[(f.shape, str(f.dtype)) for f in pieces]}")
    fill = band_kernel()  # checked once here: every band lies in the frame and its buffers in ``flat``
    sums = []
    with torch.inference_mode(), _one_torch_thread(torch):
        for index, ((top, height, lefts, widths, _, matrices), starts) in enumerate(zip(plan.bands, at)):
            done = 0
            for frames in pieces:
                fill(frames, done, top, height, lefts, widths, starts, flat[0], flat[1], wide)
                done += len(frames)
            for part in views[: 2 if wide else 1]:
                band = part[index]
                if done < rows:  # rows past the frames: their scores are set to zero below
                    for view in band:
                        view[done:] = 0
                sums.extend(torch._int_mm(view, matrix) for view, matrix in zip(band, matrices))
        summed = torch.cat(sums, dim=1).numpy() if sums else np.zeros((rows, 0), dtype=np.int32)
    if wide:  # per band: the high bytes' sums, then the low bytes'
        summed = _joined_bytes(summed, plan)
    weighted = (summed * plan.scale)[:, plan.order]
    scores = np.zeros((rows, plan.n_columns))
    if weighted.shape[1]:
        scores[:, plan.columns] = np.add.reduceat(weighted, plan.starts, axis=1)
    scores -= plan.offset16 if wide else plan.offset
    scores[n:] = 0.0
    return scores


def _joined_bytes(summed: np.ndarray, plan: _Plan) -> np.ndarray:
    """``256 * high + low`` per piece, from sums laid out band by band as ``[high pieces..., low pieces...]``."""
    out = np.empty((len(summed), summed.shape[1] // 2))
    source = target = 0
    for *_, matrices in plan.bands:
        width = sum(matrix.shape[1] for matrix in matrices)
        high, low = summed[:, source: source + width], summed[:, source + width: source + 2 * width]
        out[:, target: target + width] = 256.0 * high + low
        source, target = source + 2 * width, target + width
    return out
