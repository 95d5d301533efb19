"""Blank frames at the start of a video: a lens cap, a black lead-in before the light comes up.

The stages take their references from the first frames (the light normaliser, the
decomposition, the stabiliser), so a video that starts black gave them nothing to
measure against and the whole recovery was lost ("no motion found") however good the
frames after. :func:`blank_lead_in` counts those frames; :func:`vismic.recover_sound`
starts the recovery after them and gives the output silence there.

A frame is *textured* when its spatial contrast stands well above the noise between it
and the next frame (a black or burnt-out frame holds only that noise, or nothing);
the lead-in is the run of frames, from the first, whose contrast is a small share of the
first textured frame's. A first frame that is textured ends the scan at once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TEXTURE_OVER_NOISE", "BLANK_SHARE", "blank_lead_in"]

#: Spatial standard deviation over the frame-to-frame noise (the difference's over sqrt 2) above which a
#: frame holds texture: a black frame's is about 1 (its contrast is that noise), a still scene's tens.
TEXTURE_OVER_NOISE = 2.0
#: Share of the first textured frame's contrast below which a frame before it is blank.
BLANK_SHARE = 0.25
#: Pixels a frame the scan looks at (evenly spaced rows and columns).
_SAMPLED_PIXELS = 16384


def _sample(frame: np.ndarray) -> np.ndarray:
    step = max(1, int(np.sqrt(frame.size / _SAMPLED_PIXELS)))
    return np.asarray(frame[::step, ::step], dtype=np.float64)


def blank_lead_in(frames, *, max_scan: int) -> int:
    """How many frames at the start of ``frames`` are blank (black, burnt out or flat).

    Parameters
    ----------
    frames : iterable of np.ndarray [shape=(height, width)]
        The video's frames in order (e.g. :meth:`vismic.io.VideoSource.frames`); read only
        until the first textured frame.
    max_scan : int
        Frames to look at, at most: a video with no textured frame among them has no
        lead-in (0), and what its frames lack is left to the recovery's findings.

    Returns
    -------
    int
        The frames before the recovery should start (0 for most videos, decided on the
        first two frames).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> texture = rng.uniform(0, 200, (32, 32))
    >>> frames = [rng.normal(2, 1, (32, 32)) for _ in range(20)] + [texture + rng.normal(0, 1, (32, 32))
    ...                                                            for _ in range(5)]
    >>> blank_lead_in(frames, max_scan=100)
    20
    >>> blank_lead_in(frames[20:], max_scan=100)
    0
    """
    contrasts = []
    previous = None
    for index, frame in enumerate(frames):
        if index > max_scan:
            break
        sample = _sample(frame)
        if previous is not None:
            contrast = float(previous.std())
            noise = float((sample - previous).std()) / np.sqrt(2.0)
            if contrast > 0 and contrast >= TEXTURE_OVER_NOISE * noise:
                blank = np.asarray(contrasts) < BLANK_SHARE * contrast
                return int(np.argmin(blank)) if not blank.all() else len(contrasts)
            contrasts.append(contrast)
        previous = sample
    return 0
