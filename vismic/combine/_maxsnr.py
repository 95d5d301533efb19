"""The maximum-SNR combination of region motions: one generalised eigenproblem, one ridge.

Every region's 2-D displacement estimate is a common signal times an unknown gain,
plus noise whose covariance is known (up to one scale) from the Fisher information.
The weights that maximise the output's SNR are the top generalised eigenvectors of
(covariance of the estimates, noise covariance); :func:`combine_regions`,
:func:`vismic.combine.separate_sources`, :func:`vismic.combine.sound_map` and the
grid choice all build on the pieces here.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, signal

from ..data import BandSignals
from ._evidence import regularised_inverse, statistics_sos

#: Relative ridge added to both matrices of the eigenproblem (regions without
#: texture have no information; the ridge keeps the problem well posed).
RIDGE = 1e-9


def highpass_for_statistics(x: np.ndarray, *, fps: float, cutoff_hz) -> np.ndarray:
    """Zero-phase high-pass used only to measure statistics (drift must not choose weights)."""
    x = x - x.mean(axis=-1, keepdims=True)
    sos = statistics_sos(fps, cutoff_hz, x.shape[-1])
    return x if sos is None else signal.sosfiltfilt(sos, x, axis=-1)


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
    covariance = regularised_inverse(information)
    return np.einsum("rij,rjt->rit", covariance, scores), covariance


def region_statistics(displacement, covariance, *, fps: float, highpass_hz):
    """The two matrices of the eigenproblem.

    Returns
    -------
    y : np.ndarray [shape=(2 * n_regions, n)]
        The displacements, high-passed for statistics.
    noise : np.ndarray [shape=(2 * n_regions, 2 * n_regions)]
        Block-diagonal noise covariance.
    """
    n_regions, _, n = displacement.shape
    y = highpass_for_statistics(displacement.reshape(2 * n_regions, n), fps=fps, cutoff_hz=highpass_hz)
    return y, linalg.block_diag(*covariance)


def max_snr_directions(total: np.ndarray, noise: np.ndarray):
    """Generalised eigenvalues (ascending) and eigenvectors of ``(total, noise)``, with the one ridge."""
    ridge = RIDGE * np.trace(noise) / noise.shape[0] * np.eye(noise.shape[0])
    return linalg.eigh(total + ridge, noise + ridge)


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
    highpass_hz : float or None
        Statistics are measured above this frequency.

    Returns
    -------
    motion : np.ndarray [shape=(n,)]
        Common motion in px along its main direction (exact for rigid motion).
    weights : np.ndarray [shape=(n_regions, 2)]
    details : dict
        ``snr_estimate_db``, ``direction_degrees`` (x right, y down),
        ``region_gain`` (n_regions, 2), the estimated motion of each region per
        px of common motion, and ``noise_std_px``: the standard deviation of the
        output's estimation noise, which is white (frames carry independent
        sensor noise).
    """
    n_regions, _, n = displacement.shape
    y = displacement.reshape(2 * n_regions, n)
    yf, noise = region_statistics(displacement, covariance, fps=fps, highpass_hz=highpass_hz)
    weights, to_px, details = max_snr_weights(yf @ yf.T / n, noise)
    motion = (weights @ (y - y.mean(axis=-1, keepdims=True))) * to_px
    return motion, weights.reshape(n_regions, 2), details


def _common_direction(per_region: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The unit direction of the regions' common motion: their gains (``(n_regions, 2)``) by least squares.

    Each region's gain is weighed by its information (the inverse of its ``2 x 2`` block of
    ``noise``), with the sign of the region with the most signal (a membrane's parts move
    opposite ways). The direction of that one region alone was the motion's where its texture
    sees both axes, and far off where it sees one: a brick wall read at half size gave -72
    degrees for 30, its strongest region's mortar lines seeing only the motion across them
    (one-off; 38 degrees from all regions).
    """
    strongest = int(np.argmax(np.linalg.norm(per_region, axis=1)))
    signs = np.where(per_region @ per_region[strongest] < 0, -1.0, 1.0)
    blocks = np.array([noise[2 * r:2 * r + 2, 2 * r:2 * r + 2] for r in range(per_region.shape[0])])
    information = np.linalg.pinv(blocks)
    total = information.sum(axis=0)
    common = np.linalg.lstsq(total, np.einsum("rij,rj->i", information, signs[:, None] * per_region), rcond=None)[0]
    size = float(np.linalg.norm(common))
    if not (size > 0 and np.isfinite(size)):
        return per_region[strongest] / max(np.linalg.norm(per_region[strongest]), 1e-300)
    return common / size


def max_snr_weights(total: np.ndarray, noise: np.ndarray):
    """The weights of :func:`combine_regions` from the two matrices of its eigenproblem.

    Returns
    -------
    weights : np.ndarray [shape=(2 * n_regions,)]
    to_px : float
        The output is ``to_px * weights @ (y - mean(y))`` px.
    details : dict
        As :func:`combine_regions`.
    """
    n_regions = total.shape[0] // 2
    eigenvalues, eigenvectors = max_snr_directions(total, noise)
    weights = eigenvectors[:, -1]
    # The other eigenvalues are the noise scale (only one direction holds signal).
    noise_scale = float(np.median(eigenvalues[:-1])) if len(eigenvalues) > 1 else 0.0
    noise_scale = max(noise_scale, 1e-300)
    snr = max(eigenvalues[-1] / noise_scale - 1.0, 1e-12)
    signal_cov = total - noise_scale * noise
    gain = signal_cov @ weights
    gain_norm = np.sqrt(max(float(weights @ gain), 1e-300))
    gain = gain / gain_norm  # loading of a unit-variance common signal
    # Express the output in px along the motion's direction, as the region moving most along it moves.
    per_region = gain.reshape(n_regions, 2)
    direction = _common_direction(per_region, noise)
    if direction[0] < -1e-9 or (abs(direction[0]) <= 1e-9 and direction[1] < 0):
        direction = -direction
    strongest = int(np.argmax(np.abs(per_region @ direction)))
    px_per_unit = float(direction @ per_region[strongest])
    to_px = px_per_unit / (weights @ gain)
    region_gain = per_region / px_per_unit if px_per_unit != 0 else per_region
    noise_variance = noise_scale * float(weights @ noise @ weights) * to_px**2
    second = max(eigenvalues[-2] / noise_scale - 1.0, 1e-12) if len(eigenvalues) > 2 else 1e-12
    details = {
        "snr_estimate_db": float(10 * np.log10(snr)),
        "second_snr_db": float(10 * np.log10(second)),
        "noise_std_px": float(np.sqrt(noise_variance)),
        "direction_degrees": float(np.degrees(np.arctan2(direction[1], direction[0]))),
        "region_gain": region_gain,
    }
    return weights, float(to_px), details
