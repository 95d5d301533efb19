"""The original visual microphone's combination (Davis et al. 2014), as a baseline."""

from __future__ import annotations

import numpy as np
from scipy import signal

from ..data import Audio
from ..decompose import decompose, max_levels
from ..phase import local_phase


def davis_baseline(batches, *, n_levels=None, highpass_hz: float = 20.0) -> Audio:
    """Recover motion as the published method does.

    Per band, the amplitude^2-weighted sum of local phase (amplitude of the
    current frame); every band is shifted by the lag that maximises its
    cross-correlation with the first band (no sign), all are summed, and the
    sum is high-passed. Opposite DTCWT orientations answer a motion with
    opposite signs, so this lag-only alignment cancels or misaligns bands.

    Parameters
    ----------
    batches : iterable of FrameBatch
    n_levels : int, optional
        Default: up to 4, as many as the frame size allows.

    Returns
    -------
    Audio
        The baseline's motion signal (arbitrary units) at the capture rate.
    """
    reference = None
    sums, fps = [], None
    for batch in batches:
        fps = batch.fps
        levels = n_levels if n_levels is not None else min(4, max_levels(batch.shape))
        highpasses, _ = decompose(batch.frames, n_levels=levels)
        if reference is None:
            reference = [h[0] for h in highpasses]
        phase, _, _ = local_phase(highpasses, reference)
        per_band = [
            np.einsum("thwo,thwo->ot", p.astype(np.float64), np.abs(h) ** 2) for p, h in zip(phase, highpasses)
        ]
        sums.append(np.concatenate(per_band))
    bands = np.concatenate(sums, axis=-1)
    bands = bands - bands.mean(axis=-1, keepdims=True)
    n = bands.shape[-1]
    lags = np.arange(-(n - 1), n)
    out = np.zeros(n)
    for band in bands:
        corr = signal.correlate(bands[0], band, mode="full", method="fft")
        out += np.roll(band, lags[np.argmax(corr)])
    if highpass_hz and n > 40:
        sos = signal.butter(3, min(highpass_hz, 0.45 * fps), btype="highpass", fs=fps, output="sos")
        out = signal.sosfiltfilt(sos, out)
    return Audio(out, fps, {"method": "davis"})
