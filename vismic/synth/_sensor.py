"""The camera's sensor: Gaussian noise and 8-bit quantisation on rendered frames."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._checks import check_bool, check_int


def sense(batches, *, n_frames: int, shape, batch_size: int, noise_std: float, quantize: bool, seed: int):
    """Add sensor noise to clean rendered batches and quantise them, into one frame stack.

    Parameters
    ----------
    batches : iterable of (start, np.ndarray [shape=(n_b, height, width)] float32)
        Clean frames in order, ``batch_size`` at a time (the last may be shorter);
        they are modified in place.
    n_frames : int
    shape : (height, width)
    noise_std : float
        Gaussian noise in grey levels.
    quantize : bool
        Round and clip to 0..255 and return uint8 (else float32).
    seed : int

    Returns
    -------
    np.ndarray [shape=(n_frames, height, width)]
    """
    seed = check_int(seed, "seed", minimum=0)
    quantize = check_bool(quantize, "quantize")
    rng = np.random.Generator(np.random.SFC64(seed))  # ~1.5x faster normals than PCG64
    frames = np.empty((n_frames,) + tuple(shape), dtype=np.uint8 if quantize else np.float32)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Noise for the next batches is drawn in a background thread while the
        # current one renders (numpy releases the GIL); one worker draws them in
        # order from one generator, so the noise does not depend on timing.
        pending = deque()
        starts = iter(range(0, n_frames, batch_size))

        def draw_ahead():
            while noise_std > 0 and len(pending) < 2:
                start = next(starts, None)
                if start is None:
                    return
                size = (min(batch_size, n_frames - start),) + tuple(shape)
                pending.append(pool.submit(rng.standard_normal, size, dtype=np.float32))

        draw_ahead()
        for start, batch in batches:
            if noise_std > 0:
                noise = pending.popleft().result()
                draw_ahead()
                noise *= noise_std
                batch += noise
            if quantize:
                np.rint(batch, out=batch)
                np.clip(batch, 0.0, 255.0, out=batch)
            frames[start : start + batch.shape[0]] = batch
    return frames
