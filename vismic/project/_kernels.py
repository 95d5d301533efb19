"""The projection's hot loops outside its products, compiled with numba when it is installed.

float32 (``subtract_window``): forming a tile's differences ``frames[:, top:bottom, left:right] - reference``
with numpy costs about as much as the tile's matrix product: its casting
subtract restarts its inner loop on every tile row (128 px) and casts in
buffered steps. A compiled loop over the rows does the same IEEE operations
in the same precision (float32 for integer and float32 frames; float64, then
rounded, for float64 frames), so the scores are the same bit for bit, and it
releases the GIL, so threads projecting chunks run side by side.
``bench_speed.py``'s rows "without the compiled loop" give the gain. Without numba (or with
:data:`ENABLED` false) numpy forms the differences. Small frames, whose templates are
bands of whole rows, never load it: their differences are one contiguous numpy pass
(loading numba's compiler costs a process time and memory: ``bench_speed`` prints both).

int8 (``band_kernel``): a band of 8-bit frame rows moved to ``-128..127`` into one
buffer per tile (the integer products' input; 16-bit frames: their high and low
bytes into two), each frame row read once, whole. A
tile at a time read its rows 128 px at a stride and, from a long video's frames out
of cache, took longer than the products.
"""

from __future__ import annotations

import numpy as np

from .._compiled import compiled

__all__ = ["ENABLED", "subtract_window", "band_kernel", "tiles_kernel", "compiled_available"]

#: Form the differences with the compiled loop when numba is installed (set False
#: to compare with numpy's subtract; the results are identical).
ENABLED = True

#: Frame dtypes the compiled loop takes: those numpy subtracts from a float32 reference
#: in float32 (exact for these integers), and float64 (subtracted in float64, then rounded).
TAKES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64))

def _kernel():
    return compiled(_difference_loop)


def compiled_available() -> bool:
    """Whether the compiled loop is installed (numba importable)."""
    return bool(_kernel())


def _difference_loop(frames, top, left, reference, out, wide):
    n, height, width = out.shape
    for f in range(n):
        for r in range(height):
            source = frames[f, top + r, left: left + width]
            base = reference[top + r, left: left + width]
            row = out[f, r]
            if wide:  # float64 frames: numpy subtracts in float64, then rounds
                for c in range(width):
                    row[c] = np.float32(source[c] - np.float64(base[c]))
            else:
                for c in range(width):
                    row[c] = np.float32(source[c]) - base[c]


def subtract_window(frames: np.ndarray, reference: np.ndarray, top: int, left: int, out: np.ndarray) -> None:
    """``out[...] = frames[:, top:top + h, left:left + w] - reference[top:top + h, left:left + w]``, float32.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
    reference : np.ndarray [shape=(height, width)], float32
    top, left : int
        The window's corner in the frame.
    out : np.ndarray [shape=(n, h, w)], float32, C-contiguous
        Receives the differences (the window's size is ``out``'s).
    """
    n, height, width = out.shape
    if len(frames) != n or top < 0 or left < 0 or top + height > frames.shape[1] or left + width > frames.shape[2]:
        raise ValueError(f"a window of {out.shape} at ({top}, {left}) does not fit frames of {frames.shape}")
    kernel = _kernel() if ENABLED else False
    if (kernel and frames.ndim == 3 and frames.dtype in TAKES and reference.dtype == np.float32
            and out.flags.c_contiguous):
        kernel(frames, int(top), int(left), reference, out, frames.dtype == np.float64)
        return
    np.subtract(frames[:, top: top + height, left: left + width], reference[top: top + height, left: left + width],
                out=out, casting="unsafe")


def _tiles_loop(frames, reference, geometry, blocks, columns, buffer, scores, subtract, wide):
    # geometry rows: top, left, height, width, first score column (into ``columns``), templates,
    # where the tile's block starts in ``blocks`` (all blocks flat, one after the other)
    rows = scores.shape[0]
    n = frames.shape[0]
    for t in range(geometry.shape[0]):
        top, left, height, width, first, k, start = geometry[t]
        if k == 0:
            continue
        part = buffer[: rows * height * width].reshape(rows, height * width)
        for f in range(rows):
            out = part[f]
            if f >= n:
                out[:] = 0.0
                continue
            for r in range(height):
                source = frames[f, top + r, left: left + width]
                row = out[r * width: (r + 1) * width]
                base = reference[top + r, left: left + width]
                if not subtract:
                    for c in range(width):
                        row[c] = np.float32(source[c])
                elif wide:  # float64 frames: numpy subtracts in float64, then rounds
                    for c in range(width):
                        row[c] = np.float32(source[c] - np.float64(base[c]))
                else:
                    for c in range(width):
                        row[c] = np.float32(source[c]) - base[c]
        product = np.dot(blocks[start: start + k * height * width].reshape(k, height * width), part.T)
        for j in range(k):
            column = columns[first + j]
            for f in range(rows):
                scores[f, column] += product[j, f]


def tiles_kernel():
    """The float32 projection of a chunk over rectangular tiles in one compiled call, or False.

    ``run(frames, reference, geometry, blocks, columns, buffer, scores, subtract, wide)``:
    for each tile, the chunk's differences from ``reference`` (or the frames as given,
    ``subtract`` false) on the tile's rectangle go into ``buffer``, rows past the frames
    zero, and ``scores[:, columns] += (block @ differences.T).T`` with BLAS's product
    (numba calls SciPy's BLAS sgemm): the same numbers as the tile by tile numpy loop
    (``_templates._product``) to float32 rounding (bit for bit where SciPy's and numpy's BLAS
    sum alike; on an AVX-512 machine with SciPy 1.17 they differ by a few roundings). One call releases the GIL for
    the whole chunk: a pool's threads no longer hand it to each other a few times per
    tile, which made two threads slower than one on large frames.
    """
    return compiled(_tiles_loop) if ENABLED else False


def _offset_band_loop(frames, first, top, height, lefts, widths, starts, high, low, wide):
    # wide (16-bit frames): high bytes to ``high``, low bytes to ``low``; else ``high`` only
    for f in range(frames.shape[0]):
        g = first + f
        for r in range(height):
            source = frames[f, top + r]
            for p in range(len(lefts)):
                width, left = widths[p], lefts[p]
                at = starts[p] + (g * height + r) * width
                window = source[left: left + width]
                upper = high[at: at + width]
                if wide:
                    lower = low[at: at + width]
                    for c in range(width):
                        upper[c] = np.int8(np.uint8(window[c] >> 8) ^ np.uint8(128))
                        lower[c] = np.int8(np.uint8(window[c] & 255) ^ np.uint8(128))
                else:
                    for c in range(width):
                        upper[c] = np.int8(window[c] ^ np.uint8(128))


def band_kernel():
    """The int8 projection's input loop (compiled, or numpy's): ``fill(frames, first, top, height, lefts, widths,
    starts, high, low, wide)``.

    Rows ``top:top + height`` of ``frames`` (uint8, or uint16 with ``wide``) less 128, as
    int8: window ``p`` (columns ``lefts[p]:lefts[p] + widths[p]``) of frame ``f`` goes to
    ``high[starts[p] + (first + f) * height * widths[p]:]``, row by row (16-bit frames:
    their high bytes there, their low bytes at the same place of ``low``). Each
    window's buffer holds its frames one after the other; each frame row is read once,
    whole. No checks: the caller checks once that every window fits (see ``_int8``).
    """
    kernel = compiled(_offset_band_loop) if ENABLED else False
    return kernel if kernel else _offset_band_numpy


def _offset_band_numpy(frames, first, top, height, lefts, widths, starts, high, low, wide):
    n = len(frames)
    parts = ((high, frames >> 8), (low, frames & 255)) if wide else ((high, frames),)
    for left, width, start in zip(lefts, widths, starts):
        at = int(start) + first * height * int(width)
        for out, values in parts:
            target = out[at: at + n * height * int(width)].view(np.uint8).reshape(n, height, int(width))
            np.bitwise_xor(values[:, top: top + height, left: left + width], 128, out=target, casting="unsafe")
