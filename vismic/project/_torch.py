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
    except (RuntimeError, TypeError, ValueError) as error:
        raise ParameterError(f"unknown device {device!r}: {error}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={str(device)!r} asked for, but this machine has no CUDA GPU (use 'cpu')")
    if resolved.type not in ("cpu", "cuda"):
        raise ParameterError(f"device must be 'cpu' or 'cuda[:index]', given device={device!r}")
    return resolved


def _on_device(templates, device):
    import torch

    key = (id(templates), str(device))
    entry = _cache.get(key)
    if entry is None or entry[0] is not templates:
        if len(_cache) >= 4:
            _cache.clear()
        bands = [(lo, hi, torch.from_numpy(block).to(device)) for lo, hi, block in templates.bands]
        light = torch.from_numpy(templates.light.basis).to(device) if templates.light is not None else None
        entry = (templates, bands, torch.from_numpy(templates.reference).to(device), light)
        _cache[key] = entry
    return entry[1:]


def project_torch(frames: np.ndarray, templates, device) -> np.ndarray:
    """Scores ``(n, 2 * n_regions)`` float32 as numpy, computed on ``device``.

    Integer frames travel as they are (uint8 is a quarter of float32's bytes) and
    are converted on the device.
    """
    import torch

    device = torch_device(device)
    bands, reference, light_basis = _on_device(templates, device)
    per_row = 2 * templates.grid[1]
    with torch.inference_mode():
        data = torch.from_numpy(np.ascontiguousarray(frames)).to(device, non_blocking=True)
        difference = data.to(torch.float32) - reference
        n = difference.shape[0]
        scores = torch.zeros((n, 2 * templates.n_regions), dtype=torch.float32, device=device)
        for row, (lo, hi, block) in enumerate(bands):
            if hi > lo:
                scores[:, row * per_row: (row + 1) * per_row] = difference[:, lo:hi].reshape(n, -1) @ block
        if light_basis is not None:
            coefficients = (difference.reshape(n, -1) @ light_basis).cpu().numpy()
    scores = scores.cpu().numpy()
    return scores if light_basis is None else templates.light.apply(scores, coefficients)
