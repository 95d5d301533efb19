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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..combine._bands import region_labels
from ..decompose import image_gradient
from ..decompose._dtcwt import _check_levels, _transform
from ..decompose._fast import forward
from ..errors import FrameShapeError, ParameterError
from ._adjoint import adjoint

__all__ = ["Templates", "make_templates", "project"]

#: Bytes of float32 frame differences per matrix product (at most 64 frames). The
#: number of frames per product depends only on the frame size, so a frame's scores
#: come out of the same BLAS computation whatever batch it arrived in: results are
#: bit-identical for every batch size (a product's rounding depends on its shape,
#: not on a row's place).
CHUNK_BYTES = 64 * 2**20


def chunk_frames(shape) -> int:
    """Frames per matrix product for frames of ``shape=(height, width)``: 64 up to 1024x256 px, fewer above."""
    return int(max(1, min(64, CHUNK_BYTES // (4 * int(np.prod(shape))))))

#: Largest template matrix built (float32 bytes): 2 GiB holds the 128 templates of an
#: 8x8 grid for frames up to about 2048x2048 pixels.
MAX_TEMPLATE_BYTES = 2 * 2**30

#: Regions whose templates are computed in one adjoint pass (bounds memory: each
#: template's intermediates are full-size float64 images).
_REGIONS_PER_PASS = 8


@dataclass(frozen=True)
class Templates:
    """What a worker needs to turn frames into band evidence.

    Attributes
    ----------
    reference : np.ndarray [shape=(height, width)], float32
        The reference frame (frames are projected as ``frame - reference``).
    matrix : np.ndarray [shape=(height * width, n_regions * 2)], float32
        Column ``2 r + i`` is region ``r``'s template along axis ``i`` (x, y), flattened.
    information : np.ndarray [shape=(n_regions, 2, 2)], float64
        Fisher information of each region's evidence (up to the noise variance).
    grid : (rows, cols)
    """

    reference: np.ndarray
    matrix: np.ndarray
    information: np.ndarray
    grid: tuple

    @property
    def n_regions(self) -> int:
        return self.information.shape[0]

    @property
    def shape(self) -> tuple:
        return self.reference.shape


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
                   qshift: str = "qshift_a") -> Templates:
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

    Returns
    -------
    Templates
    """
    reference = np.asarray(reference, dtype=np.float64)
    n_levels = _check_levels(n_levels, reference.shape)
    rows, cols = (int(g) for g in grid)
    transform = _transform(biort, qshift)
    gx, gy = image_gradient(reference)
    gradients, _ = forward(np.stack([gx, gy]), n_levels, transform.biort, transform.qshift)
    n_regions = rows * cols
    check_template_size(reference.shape, (rows, cols))
    labels = [region_labels(g.shape[1], g.shape[2], (rows, cols)) for g in gradients]
    information = np.zeros((n_regions, 2, 2))
    for g, label in zip(gradients, labels):
        cross = np.real(np.conj(g)[:, None] * g[None, :]).sum(axis=-1)  # (2, 2, h, w)
        for i in range(2):
            for j in range(2):
                information[:, i, j] += np.bincount(label.ravel(), cross[i, j].ravel(), minlength=n_regions)
    matrix = np.empty((reference.size, 2 * n_regions), dtype=np.float32)
    # A few regions at a time: the adjoint's intermediates are full-size images per template.
    for first in range(0, n_regions, _REGIONS_PER_PASS):
        regions = np.arange(first, min(n_regions, first + _REGIONS_PER_PASS))
        weights = []
        for g, label in zip(gradients, labels):
            masks = label[None] == regions[:, None, None]  # (r, h, w)
            # weights[r, i] = -mask_r conj(G_i)
            weights.append(-(masks[:, None, :, :, None] * np.conj(g)[None]).reshape(2 * len(regions), *g.shape[1:]))
        images = adjoint(weights, reference.shape, transform.biort, transform.qshift)  # (2r, h, w)
        matrix[:, 2 * first: 2 * first + images.shape[0]] = images.reshape(images.shape[0], -1).T
    return Templates(reference.astype(np.float32), matrix, information, (rows, cols))


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

        scores = project_torch(frames, templates, device)
    else:
        scores = _project_chunks(frames, templates)
    return scores.reshape(n, templates.n_regions, 2).transpose(1, 2, 0).astype(np.float64)


def _project_chunks(frames: np.ndarray, templates: Templates) -> np.ndarray:
    n = frames.shape[0]
    pixels = templates.matrix.shape[0]
    size = chunk_frames(templates.shape)
    scores = np.empty((n, templates.matrix.shape[1]), dtype=np.float32)
    chunk = np.empty((size, pixels), dtype=np.float32)
    for start in range(0, n, size):
        stop = min(n, start + size)
        rows = chunk[: stop - start].reshape(stop - start, *templates.shape)
        # the difference keeps float32 precision (the raw frames would cancel the signal)
        np.subtract(frames[start:stop], templates.reference, out=rows, casting="unsafe")
        if stop - start < size:
            chunk[stop - start:] = 0.0
        scores[start:stop] = (chunk @ templates.matrix)[: stop - start]
    return scores
