"""The projection on torch tensors (CPU or CUDA), for :func:`vismic.project.project`'s ``device``."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

_cache: dict = {}


def torch_device(device):
    """``torch.device`` for ``device`` ('cpu', 'cuda', 'cuda:1'...), or a clear error."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"device={device!r} needs PyTorch: pip install torch (or pip install 'vismic[torch]')"
        ) from None
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ParameterError(f"unknown device {device!r}: give 'cpu' or 'cuda' ('cuda:N' for the N-th GPU)") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={str(device)!r} asked for, but this machine has no CUDA GPU (use 'cpu')")
    if resolved.type not in ("cpu", "cuda"):
        raise ParameterError(f"device must be 'cpu' or 'cuda[:index]', given device={device!r}")
    return resolved


def _on_device(templates, device):
    """The templates as one dense ``(pixels, n_columns)`` matrix on ``device``, and the reference.

    One large product: a GPU's flops are cheap and its kernel launches are not
    (the tiles would be hundreds of small products a chunk), and on a CPU torch's
    small operations cost more than numpy's, so the tiles are numpy's.
    """
    import torch

    key = (id(templates), str(device))
    entry = _cache.get(key)
    if entry is None or entry[0] is not templates:
        if len(_cache) >= 4:
            _cache.clear()
        entry = (templates, torch.from_numpy(templates.dense()).to(device),
                 torch.from_numpy(templates.reference).to(device))
        _cache[key] = entry
    return entry[1:]


def columns_on_device(data, matrix, reference):
    """The product's columns ``(n, n_columns)`` of frames ``data`` ``(n, h, w)`` already on the device, any dtype."""
    import torch

    return (data.to(torch.float32) - reference).reshape(len(data), -1) @ matrix


def project_torch(frames: np.ndarray, templates, device) -> np.ndarray:
    """Scores ``(n, 2 * n_regions)`` float32 as numpy, computed on ``device``.

    Integer frames travel as they are (uint8 is a quarter of float32's bytes) and
    are converted on the device.
    """
    import torch

    device = torch_device(device)
    matrix, reference = _on_device(templates, device)
    with torch.inference_mode():
        data = torch.from_numpy(np.ascontiguousarray(frames)).to(device, non_blocking=True)
        scores = columns_on_device(data, matrix, reference).cpu().numpy()
    if templates.light is None:
        return scores
    split = 2 * templates.n_regions
    return templates.light.apply(scores[:, :split], scores[:, split:])
