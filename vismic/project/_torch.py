"""The projection on torch tensors (CPU or CUDA), for :func:`vismic.project.project`'s ``device``."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

_cache: dict = {}

#: Devices that get the templates as one dense matrix: a GPU does one large product faster than
#: many small ones (its flops are cheap, its kernel launches are not); a CPU does the tiles.
DENSE_DEVICES = ("cuda",)


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
    """The templates on ``device``: one dense matrix on a GPU (one product a chunk), the tiles on the CPU."""
    import torch

    key = (id(templates), str(device))
    entry = _cache.get(key)
    if entry is None or entry[0] is not templates:
        if len(_cache) >= 4:
            _cache.clear()
        if device.type in DENSE_DEVICES:
            height, width = templates.shape
            dense = np.zeros((height, width, templates.n_columns), dtype=np.float32)
            for tile in templates.tiles:
                rows, cols = tile.shape
                dense[tile.top:tile.bottom, tile.left:tile.right, tile.columns] += tile.block.reshape(rows, cols, -1)
            tiles = [(None, torch.from_numpy(dense.reshape(height * width, -1)).to(device))]
        else:
            tiles = [(tile, torch.from_numpy(tile.block)) for tile in templates.tiles]
        entry = (templates, tiles, torch.from_numpy(templates.reference).to(device))
        _cache[key] = entry
    return entry[1:]


def project_torch(frames: np.ndarray, templates, device) -> np.ndarray:
    """Scores ``(n, 2 * n_regions)`` float32 as numpy, computed on ``device``.

    Integer frames travel as they are (uint8 is a quarter of float32's bytes) and
    are converted on the device.
    """
    import torch

    device = torch_device(device)
    tiles, reference = _on_device(templates, device)
    with torch.inference_mode():
        data = torch.from_numpy(np.ascontiguousarray(frames)).to(device, non_blocking=True)
        difference = data.to(torch.float32) - reference
        n = difference.shape[0]
        scores = torch.zeros((n, templates.n_columns), dtype=torch.float32, device=device)
        for tile, block in tiles:
            if tile is None:
                scores += difference.reshape(n, -1) @ block
            else:
                part = difference[:, tile.top:tile.bottom, tile.left:tile.right].reshape(n, -1)
                scores[:, torch.from_numpy(tile.columns)] += part @ block
    scores = scores.cpu().numpy()
    if templates.light is None:
        return scores
    split = 2 * templates.n_regions
    return templates.light.apply(scores[:, :split], scores[:, split:])
