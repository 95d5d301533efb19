"""Where the sound is (per-region coherence) and separation of several sources."""

from __future__ import annotations

import numpy as np

from ..data import Audio, BandSignals
from ..errors import ParameterError
from ._confidence import region_groups
from ._maxsnr import (combine_regions, highpass_for_statistics, max_snr_directions, max_snr_weights, region_displacements,
                      region_statistics)


def _grid(bands: BandSignals) -> tuple:
    return bands.grid if bands.grid is not None else (1, bands.n_regions)


def sound_map(bands: BandSignals, motion, *, highpass_hz=20.0) -> np.ndarray:
    """How strongly each region carries a recovered signal.

    Parameters
    ----------
    bands : BandSignals
        Band evidence on a grid of regions (``bands.grid``; one row of regions
        when it is None).
    motion : np.ndarray [shape=(n,)]
        The recovered signal.

    Returns
    -------
    np.ndarray [shape=(rows, cols)]
        Coherence in [0, 1]: the fraction of each region's motion (above
        ``highpass_hz``) that the recovered signal explains. Regions that do not
        move with the sound, or have no texture to show it, are near 0.
    """
    grid = _grid(bands)
    displacement, _ = region_displacements(bands)
    n_regions, _, n = displacement.shape
    if np.shape(motion) != (n,):  # numpy's matmul said it
        raise ParameterError(f"motion must be the recovered signal, one value a frame: shape ({n},), given "
                             f"shape {np.shape(motion)}")
    y = highpass_for_statistics(displacement.reshape(2 * n_regions, n), fps=bands.fps, cutoff_hz=highpass_hz)
    s = highpass_for_statistics(np.asarray(motion, dtype=np.float64)[None], fps=bands.fps, cutoff_hz=highpass_hz)[0]
    return _coherence(y @ s, float(s @ s), np.sum(y.reshape(n_regions, 2, n) ** 2, axis=(1, 2))).reshape(grid)


def coherence(displacement_map: np.ndarray, statistics: np.ndarray, along: np.ndarray) -> np.ndarray:
    """:func:`sound_map` from statistics: per-region coherence with the output ``along @ s``.

    ``statistics`` is ``h h^T`` summed over frames for the high-passed scores ``h``,
    ``displacement_map`` gives the regions' displacements from the scores.
    """
    n_regions = displacement_map.shape[0] // 2
    cross = displacement_map @ statistics @ along
    energy = np.diag(displacement_map @ statistics @ displacement_map.T).reshape(n_regions, 2).sum(axis=1)
    return _coherence(cross, float(along @ statistics @ along), energy)


def _coherence(cross: np.ndarray, out_power: float, energy: np.ndarray) -> np.ndarray:
    # fraction of each region's motion energy that lies along the output
    along = cross.reshape(-1, 2) / max(out_power, 1e-300)  # (R, 2)
    explained = np.sum(along**2, axis=1) * out_power
    coherence = np.divide(explained, energy, out=np.zeros(len(energy)), where=energy > 0)
    return np.clip(coherence, 0.0, 1.0)


def agreement_db(displacement, covariance, labels, *, fps: float, highpass_hz=20.0) -> float:
    """SNR, in dB, of the combination of some regions, from what disjoint groups of them agree on.

    Each parity of frames is combined with the weights the other parity gives
    (:func:`~vismic.combine.combine_regions`'s, held out, so they cannot fit the noise they are
    judged on); each group's part of the output is measured against every pair of
    others (as :func:`vismic.stabilise.snr_estimate` does for the whole frame).

    Parameters
    ----------
    displacement : np.ndarray [shape=(n_regions, 2, n)]
    covariance : np.ndarray [shape=(n_regions, 2, 2)]
    labels : np.ndarray [shape=(n_regions,)]
        Each region's group (:func:`vismic.combine.region_groups`).

    Returns
    -------
    float
        NaN where the regions fall in fewer than three groups.
    """
    from ._confidence import MIN_GROUPS, _group_signal

    names = np.unique(labels)
    if len(names) < MIN_GROUPS or displacement.shape[-1] < 4:
        return float("nan")
    y, noise = region_statistics(displacement, covariance, fps=fps, highpass_hz=highpass_hz)
    rows = np.repeat(labels, 2)
    cov = np.zeros((len(names), len(names)))
    for parity in (0, 1):
        fitted, judged = y[:, parity::2], y[:, 1 - parity::2]
        weights = max_snr_weights(fitted @ fitted.T / fitted.shape[1], noise)[0]
        parts = np.stack([np.where(rows == name, weights, 0.0) @ judged for name in names])
        cov += parts @ parts.T  # a weight's sign flips every part alike: the products keep theirs
    _, noise_share = _group_signal(cov)
    noise_share = min(max(noise_share, 1e-12), 1.0)
    return float(10 * np.log10(max((1.0 - noise_share) / noise_share, 1e-6)))


def separate_sources(bands: BandSignals, *, n_sources: int, highpass_hz=20.0) -> Audio:
    """Recover several signals carried by different regions (one channel each).

    The regions' motions span an ``n_sources``-dimensional signal subspace
    (top generalised eigenvectors of their covariance against their noise).
    Each region's loading on that subspace points towards the source that
    moves it; regions are grouped by that direction, strongest first, and each
    group is combined on its own as in :func:`~vismic.combine.combine_regions`.

    Parameters
    ----------
    bands : BandSignals
        Band evidence on a grid of regions (``bands.grid``; a finer grid separates better).
    n_sources : int

    Returns
    -------
    Audio
        ``samples`` of shape (n_sources, n), strongest source first; ``info``
        has ``source_of_region`` (rows, cols; -1 for regions given to no
        source) and per-source ``snr_estimate_db`` and ``direction_degrees``.
        Each source's estimate is what disjoint groups of its regions agree on
        (:func:`agreement_db`), at most its combination's own model figure
        (``snr_model_db``): a source asked for that the video does not hold
        gathers regions of noise, which the model alone called good.
    """
    if isinstance(n_sources, bool) or not isinstance(n_sources, (int, np.integer)) or n_sources < 1:
        raise ParameterError(f"n_sources must be a positive integer, given n_sources={n_sources!r}")
    grid = _grid(bands)
    displacement, covariance = region_displacements(bands)
    n_regions, _, n = displacement.shape
    if n_sources > n_regions:
        raise ParameterError(f"cannot separate n_sources={n_sources} with only {n_regions} regions; use a finer grid (grid=, --grid ROWS,COLS)")
    y, noise = region_statistics(displacement, covariance, fps=bands.fps, highpass_hz=highpass_hz)
    total = y @ y.T / n
    eigenvalues, vectors = max_snr_directions(total, noise)
    noise_scale = float(np.median(eigenvalues[:-n_sources])) if len(eigenvalues) > n_sources else 1e-300
    top = vectors[:, -n_sources:][:, ::-1]
    loading = ((total - noise_scale * noise) @ top).reshape(n_regions, 2, n_sources)
    # per region: direction in source space and strength (its signal power seen by the subspace)
    directions = np.zeros((n_regions, n_sources))
    strength = np.zeros(n_regions)
    for r in range(n_regions):
        u, sv, vt = np.linalg.svd(loading[r], full_matrices=False)
        directions[r], strength[r] = vt[0], sv[0] / np.sqrt(max(np.trace(covariance[r]), 1e-300))
    centres = []
    order = np.argsort(strength)[::-1]
    for r in order:
        if len(centres) == n_sources:
            break
        if all(abs(directions[r] @ c) < 0.7 for c in centres):
            centres.append(directions[r])
    while len(centres) < n_sources:  # fewer distinct directions than sources: split what is there
        centres.append(np.eye(n_sources)[len(centres)])
    centres = np.array(centres)
    similarity = np.abs(directions @ centres.T)  # (R, k)
    assignment = np.argmax(similarity, axis=1)
    weak = strength < 0.05 * strength.max()
    assignment[weak] = -1
    channels, snrs, angles, models = [], [], [], []
    groups = region_groups(grid)
    for k in range(n_sources):
        members = np.flatnonzero(assignment == k)
        if members.size == 0:
            channels.append(np.zeros(n))
            snrs.append(float("-inf"))
            models.append(float("-inf"))
            angles.append(float("nan"))
            continue
        motion, _, details = combine_regions(displacement[members], covariance[members], fps=bands.fps,
                                             highpass_hz=highpass_hz)
        channels.append(motion)
        models.append(details["snr_estimate_db"])
        agreed = agreement_db(displacement[members], covariance[members], groups[members], fps=bands.fps,
                              highpass_hz=highpass_hz)
        snrs.append(min(models[-1], agreed) if np.isfinite(agreed) else models[-1])
        angles.append(details["direction_degrees"])
    order = np.argsort(snrs)[::-1]
    remap = {int(old): new for new, old in enumerate(order)}
    source_of_region = np.array([remap.get(int(a), -1) if a >= 0 else -1 for a in assignment]).reshape(grid)
    info = {
        "method": "sources",
        "source_of_region": source_of_region,
        "snr_estimate_db": [snrs[i] for i in order],
        "snr_model_db": [models[i] for i in order],
        "direction_degrees": [angles[i] for i in order],
        "grid": tuple(grid),
    }
    return Audio(np.stack([channels[i] for i in order]), bands.fps, info)
