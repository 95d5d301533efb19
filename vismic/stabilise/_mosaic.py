"""A reference that reaches past the frame's sides, built from what the frames moved elsewhere saw.

Shifting a frame back onto the stabiliser's reference needs the scene past the frame's
sides: the band-limited shift's interpolation reaches several px beyond them, and the
strips the motion brings in hold whatever is there. With only the reference, that is the
reference's mirror image, and where the scene is not (a camera's view, or a reference
that is itself a moved view) the shift errs beside the sides, in step with the camera.
Under a 4 px shake this was most of what a perfect track still lost
(``benchmarks/bench_nuisance.py --oracle``: the frames set into the scene itself past the
sides lost −0.3 (−0.6) dB with strips that follow the motion, against −0.4 (−1.7) set into
the reference's mirror image with the stage's strips).

:class:`Mosaic` holds the reference and, past its sides, the mean of the stabiliser's
block means set where they were measured: a camera that moved left saw what lies past the
reference's right side. Blocks are folded in in order, so a frame set into the mosaic as
it stands after a given block is the same however the video was split into batches.
"""

from __future__ import annotations

import numpy as np

from ._shift import shift_frames

__all__ = ["Mosaic", "MOSAIC_PX"]

#: How far past the reference's sides the mosaic reaches, px (beyond: its mirror image).
MOSAIC_PX = 16
#: A block mean's pixels nearer its own sides than this are left out (its shift's edge error), px;
#: then a ramp of as many px to full weight.
EDGE_PX = 0.5
#: The weight of the prior past the reference's sides (its mirror image, smoothed), where no block has been.
PRIOR_WEIGHT = 1e-6
#: The smoothing of that prior (Gaussian, px). The scene there is unknown, and a guess's detail near the
#: Nyquist frequency is what the shift's interpolation carries into the frame: a smooth guess errs less.
PRIOR_BLUR_PX = 1.0


class Mosaic:
    """The reference with what the block means saw past its sides (see the module's description).

    Parameters
    ----------
    reference : np.ndarray [shape=(height, width)]
        The stabiliser's reference (the first block's mean): the mosaic's inside, kept as it is.
    margin_px : int
        How far past each side the mosaic reaches.

    Examples
    --------
    A block that saw the scene 6 px further right fills the strip past the reference's right side
    (the canvas here covers ``scene[0:40, 0:48]``):

    >>> rng = np.random.default_rng(0)
    >>> scene = rng.uniform(0, 255, (40, 60))
    >>> mosaic = Mosaic(scene[8:32, 8:40], margin_px=8)
    >>> mosaic.fold(scene[8:32, 14:46], (-6.0, 0.0))  # the camera moved right: content moved left
    >>> canvas = mosaic.canvas()
    >>> bool(np.allclose(canvas[12:28, 40:43], scene[12:28, 40:43], atol=0.01))
    True
    """

    def __init__(self, reference: np.ndarray, margin_px: int = MOSAIC_PX):
        self.reference = np.asarray(reference, dtype=np.float64)
        self.margin_px = int(margin_px)
        m = self.margin_px
        from scipy import ndimage

        prior = ndimage.gaussian_filter(np.pad(self.reference, m, mode="symmetric"), PRIOR_BLUR_PX, mode="mirror")
        self._sum = PRIOR_WEIGHT * prior
        self._weight = np.full(prior.shape, PRIOR_WEIGHT)
        self._outside = np.ones(prior.shape, dtype=bool)
        self._outside[m:m + self.reference.shape[0], m:m + self.reference.shape[1]] = False
        #: Block means folded in so far.
        self.folded = 0

    def fold(self, mean, motion_px) -> None:
        """Add a block mean measured at ``motion_px`` ``(x, y)`` (the stabiliser's block motion) past the sides."""
        dx, dy = (float(v) for v in motion_px)
        self.folded += 1
        if max(abs(dx), abs(dy)) <= EDGE_PX + 0.5:  # it saw nothing past the sides that it would add
            return
        mean = np.asarray(mean, dtype=np.float64)
        m = self.margin_px
        height, width = self.reference.shape
        inside = (slice(m, m + height), slice(m, m + width))
        # the canvas moved to where the block was, the block set in, the whole moved back onto the reference's grid
        moved = shift_frames(self.canvas()[None], np.array([dx]), np.array([dy]))
        moved[0][inside] = mean
        placed = shift_frames(moved, np.array([-dx]), np.array([-dy]))[0]
        weight = np.outer(_block_profile(height, m, dy), _block_profile(width, m, dx)) * self._outside
        self._sum += weight * placed
        self._weight += weight

    def canvas(self) -> np.ndarray:
        """The reference with the mean of what was folded in past its sides: ``(height + 2 m, width + 2 m)``."""
        canvas = self._sum / self._weight
        m = self.margin_px
        canvas[m:m + self.reference.shape[0], m:m + self.reference.shape[1]] = self.reference
        return canvas


def _block_profile(length: int, margin: int, shift: float) -> np.ndarray:
    """Along one axis of the mosaic: how far each position lies inside a block moved by ``-shift``, ramped."""
    raw = np.arange(-margin, length + margin) + shift  # where the block's own pixels sit
    inside = np.minimum(raw + 0.5, length - 0.5 - raw)
    return np.clip((inside - EDGE_PX) / EDGE_PX, 0.0, 1.0)
