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
    scale = np.trace(information, axis1=-2, axis2=-1)[..., None, None]
    eye = np.eye(information.shape[-1])
    return np.linalg.inv(information + (1e-6 * scale + 1e-300) * eye)


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
        ``snr_estimate_db``, ``direction_degrees`` (x right, y down) and
        ``region_gain`` (n_regions, 2), the estimated motion of each region per
        px of common motion.
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
    motion = (weights @ (y - y.mean(axis=-1, keepdims=True))) / (weights @ gain) * px_per_unit
    region_gain = per_region / px_per_unit if px_per_unit != 0 else per_region
    details = {
        "snr_estimate_db": float(10 * np.log10(snr)),
        "direction_degrees": float(np.degrees(np.arctan2(direction[1], direction[0]))),
        "region_gain": region_gain,
    }
    return motion, weights.reshape(n_regions, 2), details


def combine_bands(bands: BandSignals, *, method: str = "optimal", highpass_hz=20.0) -> Audio:
    """Merge the motion evidence of every band and region into one signal.

    Parameters
    ----------
    bands : BandSignals
        Scores and informations for the whole video.
    method : {'optimal', 'rigid'}
        ``'optimal'`` weighs regions by how much common signal each carries
        (see :func:`combine_regions`); ``'rigid'`` pools every region as one
        rigid object (the least-squares shift of the whole frame) and projects
        it on its main direction.
    highpass_hz : float
        Slow drift below this frequency does not influence the weights.

    Returns
    -------
    Audio
        ``samples`` of shape (n,), the motion in px, at ``sr = bands.fps``;
        ``info`` holds ``snr_estimate_db``, ``direction_degrees``,
        ``region_gain`` and ``region_weights``.

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
    displacement, covariance = region_displacements(bands)
    if method == "rigid":
        information = bands.information.sum(axis=(0, 1, 2))[None]
        scores = bands.scores.sum(axis=(0, 1, 2))[None]
        covariance = _regularised_inverse(information)
        displacement = np.einsum("rij,rjt->rit", covariance, scores)
    motion, weights, details = combine_regions(displacement, covariance, fps=bands.fps, highpass_hz=highpass_hz)
    info = {"method": method, "region_weights": weights, **details}
    return Audio(motion, bands.fps, info)


class Combine(Stage):
    """Stage: :class:`~vismic.data.BandSignals` -> :class:`~vismic.data.Audio` (motion in px)."""

    def __init__(self, method: str = "optimal", highpass_hz: float = 20.0):
        self.method = method
        self.highpass_hz = highpass_hz

    def transform(self, bands: BandSignals) -> Audio:
        return combine_bands(bands, method=self.method, highpass_hz=self.highpass_hz)
