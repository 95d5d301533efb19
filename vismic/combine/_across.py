"""Merging the motion evidence of all bands and regions into one signal."""

from __future__ import annotations

import numpy as np
from scipy import linalg, signal

from ..data import Audio, BandSignals
from ..errors import ParameterError, TooFewFramesError
from ..pipeline import Stage

COMBINE_METHODS = ("optimal", "rigid")

#: Fewest frames for which band statistics mean anything.
MIN_FRAMES = 16


def highpass_for_statistics(x: np.ndarray, *, fps: float, cutoff_hz) -> np.ndarray:
    """Zero-phase high-pass used only to measure statistics (drift must not choose weights)."""
    x = x - x.mean(axis=-1, keepdims=True)
    if cutoff_hz is None or cutoff_hz <= 0 or x.shape[-1] < 40:
        return x
    cutoff = min(float(cutoff_hz), 0.45 * fps)
    sos = signal.butter(2, cutoff, btype="highpass", fs=fps, output="sos")
    return signal.sosfiltfilt(sos, x, axis=-1)


def _regularised_inverse(information: np.ndarray) -> np.ndarray:
    # Regions without texture have no information: regularise against the best
    # region so that they get a large but finite noise (and so no weight).
    scale = float(np.max(np.trace(information, axis1=-2, axis2=-1), initial=0.0))
    scale = scale if scale > 0 else 1.0
    eye = np.eye(information.shape[-1])
    return np.linalg.inv(information + 1e-6 * scale * eye)


def region_displacements(bands: BandSignals):
    """Pool all levels and orientations of each region into one 2-D displacement (px).

    Returns
    -------
    displacement : np.ndarray [shape=(n_regions, 2, n)]
        Least-squares (x, y) shift of each region per frame.
    covariance : np.ndarray [shape=(n_regions, 2, 2)]
        Noise covariance of each region's estimate, up to the common noise variance.
    """
    scores = bands.scores.sum(axis=(0, 1))  # (R, 2, n)
    information = bands.information.sum(axis=(0, 1))  # (R, 2, 2)
    covariance = _regularised_inverse(information)
    return np.einsum("rij,rjt->rit", covariance, scores), covariance


def combine_regions(displacement, covariance, *, fps: float, highpass_hz=20.0):
    """Maximum-SNR linear combination of per-region 2-D displacements.

    Every region's motion is one common signal times an unknown 2-D gain
    (direction, sign and size: a rigid object gives every region the same gain,
    a vibrating membrane gives its parts opposite signs, the static background
    none). The noise covariance is known up to one scale from the Fisher
    information of each region. The weights that maximise output SNR are the
    top generalised eigenvector of (covariance of the estimates, noise
    covariance); the other eigenvalues measure the noise scale, which gives an
    SNR estimate without any reference.

    Parameters
    ----------
    displacement : np.ndarray [shape=(n_regions, 2, n)]
    covariance : np.ndarray [shape=(n_regions, 2, 2)]
    fps : float
    highpass_hz : float
        Statistics are measured above this frequency.

    Returns
    -------
    motion : np.ndarray [shape=(n,)]
        Common motion in px along its main direction (exact for rigid motion).
    weights : np.ndarray [shape=(n_regions, 2)]
    details : dict
        ``snr_estimate_db``, ``direction_degrees`` (x right, y down),
        ``region_gain`` (n_regions, 2), the estimated motion of each region per
        px of common motion, ``noise_std_px`` and ``noise_psd`` (one-sided,
        px^2/Hz, flat: the output's estimation noise, which
        :class:`vismic.denoise.Denoise` uses).
    """
    n_regions, _, n = displacement.shape
    y = displacement.reshape(2 * n_regions, n)
    yf = highpass_for_statistics(y, fps=fps, cutoff_hz=highpass_hz)
    total = yf @ yf.T / n
    noise = linalg.block_diag(*covariance)
    scale = np.trace(noise) / noise.shape[0]
    ridge = 1e-9 * scale * np.eye(noise.shape[0])
    eigenvalues, eigenvectors = linalg.eigh(total + ridge, noise + ridge)
    weights = eigenvectors[:, -1]
    # The other eigenvalues are the noise scale (only one direction holds signal).
    noise_scale = float(np.median(eigenvalues[:-1])) if len(eigenvalues) > 1 else 0.0
    noise_scale = max(noise_scale, 1e-300)
    snr = max(eigenvalues[-1] / noise_scale - 1.0, 1e-12)
    signal_cov = total - noise_scale * noise
    gain = signal_cov @ weights
    gain_norm = np.sqrt(max(float(weights @ gain), 1e-300))
    gain = gain / gain_norm  # loading of a unit-variance common signal
    # Express the output in px along the direction of the region with the most signal.
    per_region = gain.reshape(n_regions, 2)
    strongest = int(np.argmax(np.linalg.norm(per_region, axis=1)))
    direction = per_region[strongest] / max(np.linalg.norm(per_region[strongest]), 1e-300)
    if direction[0] < -1e-9 or (abs(direction[0]) <= 1e-9 and direction[1] < 0):
        direction = -direction
    px_per_unit = float(direction @ per_region[strongest])
    to_px = px_per_unit / (weights @ gain)
    motion = (weights @ (y - y.mean(axis=-1, keepdims=True))) * to_px
    region_gain = per_region / px_per_unit if px_per_unit != 0 else per_region
    # frames carry independent sensor noise, so the output's noise is white
    noise_variance = noise_scale * float(weights @ noise @ weights) * to_px**2
    details = {
        "snr_estimate_db": float(10 * np.log10(snr)),
        "noise_std_px": float(np.sqrt(noise_variance)),
        "noise_psd": np.full(2, 2.0 * noise_variance / fps),
        "direction_degrees": float(np.degrees(np.arctan2(direction[1], direction[0]))),
        "region_gain": region_gain,
    }
    return motion, weights.reshape(n_regions, 2), details


def pool_regions(bands: BandSignals, grid, factor: int) -> BandSignals:
    """Merge ``factor x factor`` neighbouring regions of a ``grid`` (scores and information add up)."""
    rows, cols = grid
    new_rows, new_cols = -(-rows // factor), -(-cols // factor)
    target = np.array([(r // factor) * new_cols + (c // factor) for r in range(rows) for c in range(cols)])
    onehot = np.zeros((rows * cols, new_rows * new_cols))
    onehot[np.arange(rows * cols), target] = 1.0
    scores = np.einsum("lorct,rs->losct", bands.scores, onehot)
    information = np.einsum("lorij,rs->losij", bands.information, onehot)
    return BandSignals(scores, information, bands.start, bands.fps)


def _held_out_gain(displacement, covariance, *, fps, highpass_hz, n_chunks=8) -> float:
    """Signal-to-noise ratio (up to the common noise scale) of weights fitted on other time chunks.

    Weights fitted and scored on the same frames adapt to their noise; scoring
    them on frames they did not see measures what a region split really gains.
    """
    n_regions, _, n = displacement.shape
    y = highpass_for_statistics(displacement.reshape(2 * n_regions, n), fps=fps, cutoff_hz=highpass_hz)
    noise = linalg.block_diag(*covariance)
    ridge = 1e-9 * np.trace(noise) / noise.shape[0] * np.eye(noise.shape[0])
    chunk = np.arange(n) * n_chunks // n % 2  # alternate chunks of frames
    ratio = 0.0
    for fit in (0, 1):
        train, test = y[:, chunk == fit], y[:, chunk != fit]
        _, vectors = linalg.eigh(train @ train.T / train.shape[1] + ridge, noise + ridge)
        w = vectors[:, -1]
        ratio += float(w @ (test @ test.T / test.shape[1]) @ w) / float(w @ noise @ w)
    return ratio / 2


def choose_grid(bands: BandSignals, grid, *, highpass_hz=20.0):
    """The coarsest-to-finest pooling of ``grid`` whose weights generalise best to unseen frames.

    Returns the pooled :class:`BandSignals`, its grid and the held-out score of every grid tried.
    """
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
            best = (score, pooled, pooled_grid)
    return best[1], best[2], scored


def combine_bands(bands: BandSignals, *, method: str = "optimal", grid=None, highpass_hz=20.0) -> Audio:
    """Merge the motion evidence of every band and region into one signal.

    Parameters
    ----------
    bands : BandSignals
        Scores and informations for the whole video.
    method : {'optimal', 'rigid'}
        ``'optimal'`` weighs regions by how much common signal each carries
        (see :func:`combine_regions`), on the region grid (``grid`` pooled by
        2, 4, ... ) whose weights hold best on frames they were not fitted to;
        ``'rigid'`` pools every region as one rigid object (the least-squares
        shift of the whole frame) and projects it on its main direction.
    grid : (rows, cols), optional
        The layout of ``bands``' regions; needed to pool neighbours. Without it
        the regions are used as they are.
    highpass_hz : float
        Slow drift below this frequency does not influence the weights.

    Returns
    -------
    Audio
        ``samples`` of shape (n,), the motion in px, at ``sr = bands.fps``;
        ``info`` holds ``snr_estimate_db``, ``direction_degrees``, ``grid``
        (the one chosen), ``region_gain`` and ``region_weights`` (per region of
        the chosen grid) and ``sound_map`` (per region of ``grid``, see
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
        info["grid"] = (1, 1)
    elif grid is not None and bands.n_regions > 1:
        if grid[0] * grid[1] != bands.n_regions:
            raise ParameterError(f"grid={grid!r} does not match the {bands.n_regions} regions of the band signals")
        bands, info["grid"], info["grid_scores"] = choose_grid(bands, tuple(grid), highpass_hz=highpass_hz)
    else:
        info["grid"] = grid
    displacement, covariance = region_displacements(bands)
    motion, weights, details = combine_regions(displacement, covariance, fps=bands.fps, highpass_hz=highpass_hz)
    info.update(region_weights=weights, **details)
    if grid is not None and fine.n_regions == grid[0] * grid[1]:
        from ._sources import sound_map

        info["sound_map"] = sound_map(fine, motion, grid=tuple(grid), highpass_hz=highpass_hz)
    return Audio(motion, bands.fps, info)


class Combine(Stage):
    """Stage: :class:`~vismic.data.BandSignals` -> :class:`~vismic.data.Audio` (motion in px).

    Give ``grid`` (the band stage's region grid) to let the combination pool
    neighbouring regions when that generalises better and to get a sound map.
    ``n_sources > 1`` separates regions that carry different signals into
    channels (see :func:`vismic.combine.separate_sources`).
    """

    def __init__(self, method: str = "optimal", grid=None, highpass_hz: float = 20.0, n_sources: int = 1):
        self.method = method
        self.grid = grid
        self.highpass_hz = highpass_hz
        self.n_sources = n_sources

    def transform(self, bands: BandSignals) -> Audio:
        if self.n_sources != 1:
            from ._sources import separate_sources

            grid = self.grid if self.grid is not None else (1, bands.n_regions)
            return separate_sources(bands, n_sources=self.n_sources, grid=tuple(grid), highpass_hz=self.highpass_hz)
        return combine_bands(bands, method=self.method, grid=self.grid, highpass_hz=self.highpass_hz)
