"""Merging the motion evidence of all bands and regions into one signal."""

from __future__ import annotations

import numpy as np

from .._checks import as_number
from ..data import MIN_FRAMES, Audio, BandSignals, NoiseSpectrum
from ..denoise import HighPass
from ..errors import ParameterError, TooFewFramesError
from ..pipeline import Stage
from ._maxsnr import combine_regions, max_snr_directions, region_displacements, region_statistics
from ._sources import separate_sources, sound_map

COMBINE_METHODS = ("optimal", "rigid")


def pool_regions(bands: BandSignals, grid, factor: int) -> BandSignals:
    """Merge ``factor x factor`` neighbouring regions of a ``grid`` (scores and information add up)."""
    rows, cols = grid
    new_rows, new_cols = -(-rows // factor), -(-cols // factor)
    target = np.array([(r // factor) * new_cols + (c // factor) for r in range(rows) for c in range(cols)])
    onehot = np.zeros((rows * cols, new_rows * new_cols))
    onehot[np.arange(rows * cols), target] = 1.0
    scores = np.einsum("lorct,rs->losct", bands.scores, onehot)
    information = np.einsum("lorij,rs->losij", bands.information, onehot)
    return BandSignals(scores, information, bands.start, bands.fps, (new_rows, new_cols))


def _held_out_gain(displacement, covariance, *, fps, highpass_hz, n_chunks=8) -> float:
    """Signal-to-noise ratio (up to the common noise scale) of weights fitted on other time chunks.

    Weights fitted and scored on the same frames adapt to their noise; scoring
    them on frames they did not see measures what a region split really gains.
    """
    n = displacement.shape[-1]
    y, noise = region_statistics(displacement, covariance, fps=fps, highpass_hz=highpass_hz)
    chunk = np.arange(n) * n_chunks // n % 2  # alternate chunks of frames
    ratio = 0.0
    for fit in (0, 1):
        train, test = y[:, chunk == fit], y[:, chunk != fit]
        _, vectors = max_snr_directions(train @ train.T / train.shape[1], noise)
        w = vectors[:, -1]
        ratio += float(w @ (test @ test.T / test.shape[1]) @ w) / float(w @ noise @ w)
    return ratio / 2


def choose_grid(bands: BandSignals, *, highpass_hz=20.0):
    """The coarsest-to-finest pooling of ``bands.grid`` whose weights generalise best to unseen frames.

    Returns the pooled :class:`BandSignals` (its ``grid`` the one chosen) and the
    held-out score of every grid tried.
    """
    grid = bands.grid
    rows, cols = grid
    factors = [1]
    while factors[-1] * 2 <= max(rows, cols):
        factors.append(factors[-1] * 2)
    factors.append(max(rows, cols))
    scored = {}
    best = None
    for factor in sorted(set(factors), reverse=True):
        pooled = pool_regions(bands, grid, factor) if factor > 1 else bands
        pooled_grid = (-(-rows // factor), -(-cols // factor))
        displacement, covariance = region_displacements(pooled)
        score = _held_out_gain(displacement, covariance, fps=bands.fps, highpass_hz=highpass_hz)
        scored[pooled_grid] = score
        # a finer grid must earn its extra weights
        if best is None or score > best[0] * 1.02:
            best = (score, pooled)
    return best[1], scored


def combine_bands(bands: BandSignals, *, method: str = "optimal", highpass_hz=20.0) -> Audio:
    """Merge the motion evidence of every band and region into one signal.

    Parameters
    ----------
    bands : BandSignals
        Scores and informations for the whole video; ``bands.grid`` (set by
        :class:`~vismic.combine.BandSum`) lets the combination pool neighbouring
        regions and draw a sound map. Without it the regions are used as they are.
    method : {'optimal', 'rigid'}
        ``'optimal'`` weighs regions by how much common signal each carries
        (see :func:`combine_regions`), on the region grid (``bands.grid`` pooled
        by 2, 4, ... ) whose weights hold best on frames they were not fitted to;
        ``'rigid'`` pools every region as one rigid object (the least-squares
        shift of the whole frame) and projects it on its main direction.
    highpass_hz : float or None
        Slow drift below this frequency does not influence the weights (the
        samples returned are not high-passed: :class:`Combine` does that).

    Returns
    -------
    Audio
        ``samples`` of shape (n,), the motion in px, at ``sr = bands.fps``;
        ``noise`` the white estimation noise the combination measured;
        ``info`` holds ``snr_estimate_db``, ``direction_degrees``, ``grid``
        (the one chosen), ``region_gain`` and ``region_weights`` (per region of
        the chosen grid) and ``sound_map`` (per region of ``bands.grid``, see
        :func:`vismic.combine.sound_map`).

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.data import BandSignals
    >>> rng = np.random.default_rng(0)
    >>> s = np.sin(np.arange(400) * 0.3)
    >>> scores = np.zeros((1, 1, 2, 2, 400)); scores[0, 0, 0, 0] = s; scores[0, 0, 1, 0] = -s
    >>> scores += 0.01 * rng.standard_normal(scores.shape)
    >>> info = np.broadcast_to(np.eye(2), (1, 1, 2, 2, 2))
    >>> audio = combine_bands(BandSignals(scores, info, 0, 2000.0))
    >>> round(abs(np.corrcoef(audio.samples, s)[0, 1]), 3)
    1.0
    """
    if method not in COMBINE_METHODS:
        raise ParameterError(f"method must be one of {COMBINE_METHODS}, given method={method!r}")
    n = len(bands)
    if n < MIN_FRAMES:
        raise TooFewFramesError(f"need at least {MIN_FRAMES} frames to combine bands, got {n}")
    info = {"method": method}
    fine = bands
    if method == "rigid":
        bands = pool_regions(bands, (1, bands.n_regions), bands.n_regions)
    elif bands.grid is not None and bands.n_regions > 1:
        bands, info["grid_scores"] = choose_grid(bands, highpass_hz=highpass_hz)
    info["grid"] = bands.grid
    displacement, covariance = region_displacements(bands)
    motion, weights, details = combine_regions(displacement, covariance, fps=bands.fps, highpass_hz=highpass_hz)
    noise_std = details.pop("noise_std_px")
    info.update(region_weights=weights, noise_std_px=noise_std, **details)
    if fine.grid is not None:
        info["sound_map"] = sound_map(fine, motion, highpass_hz=highpass_hz)
    return Audio(motion, bands.fps, info, NoiseSpectrum.white(noise_std**2, sr=bands.fps))


class Combine(Stage):
    """Stage: :class:`~vismic.data.BandSignals` -> :class:`~vismic.data.Audio` (motion in px, drift removed).

    The region grid comes with the band signals (``BandSum(grid=...)``), so it
    is set in one place. ``n_sources > 1`` separates regions that carry
    different signals into channels (see :func:`vismic.combine.separate_sources`).

    Parameters
    ----------
    method : {'optimal', 'rigid'}
        See :func:`combine_bands`.
    highpass_hz : float or None
        The one drift cut-off of the pipeline: the combination's statistics are
        measured above it, and the output is high-passed at it
        (:func:`vismic.denoise.highpass`, zero phase, 4th order; the noise
        spectrum follows). None or 0 keeps the drift.
    n_sources : int
        Channels to separate.
    """

    def __init__(self, method: str = "optimal", highpass_hz: float = 20.0, n_sources: int = 1):
        self.method = method
        self.highpass_hz = highpass_hz
        self.n_sources = n_sources

    def transform(self, bands: BandSignals) -> Audio:
        if not isinstance(bands, BandSignals):
            raise ParameterError(f"Combine expects vismic.data.BandSignals, given {type(bands).__name__}")
        cutoff = _check_cutoff(self.highpass_hz, bands.fps)
        if self.n_sources != 1:
            audio = separate_sources(bands, n_sources=self.n_sources, highpass_hz=cutoff)
        else:
            audio = combine_bands(bands, method=self.method, highpass_hz=cutoff)
            audio = _honest_estimate(audio, bands, cutoff)
        if cutoff is None:
            return audio
        return HighPass(cutoff_hz=cutoff).transform(audio)


def _honest_estimate(audio: Audio, bands: BandSignals, cutoff) -> Audio:
    """``snr_estimate_db`` the data must earn (region groups agreeing on held-out frames, slow-motion checks).

    The model estimate (from the combination's noise eigenvalues) trusts the
    regions' Fisher information and stays confident when motion, light or a codec
    break it; it is kept as ``snr_model_db``. Reliability findings go to
    ``info["reliability"]`` (name -> message).
    """
    from ._confidence import snr_estimate

    if bands.grid is None or len(bands) < 64:
        return audio
    estimate = snr_estimate(bands, grid=bands.grid, highpass_hz=cutoff if cutoff is not None else 20.0)
    info = dict(audio.info)
    info["snr_model_db"] = info.get("snr_estimate_db")
    if np.isfinite(estimate["snr_estimate_db"]):
        info["snr_estimate_db"] = float(estimate["snr_estimate_db"])
    info["reliability"] = dict(estimate["flags"])
    return Audio(audio.samples, audio.sr, info, audio.noise)


def _check_cutoff(highpass_hz, fps: float):
    if highpass_hz is None:
        return None
    cutoff = as_number(highpass_hz)
    if cutoff is None:
        raise ParameterError(f"highpass_hz must be a number of Hz or None, given highpass_hz={highpass_hz!r}")
    if not np.isfinite(cutoff) or cutoff < 0 or cutoff >= fps / 2:
        raise ParameterError(
            f"highpass_hz must lie in [0, fps/2={fps / 2:g}) Hz (0 or None: no drift removal), "
            f"given highpass_hz={highpass_hz!r}"
        )
    return cutoff if cutoff > 0 else None
