"""An SNR estimate that the data must earn: agreement between disjoint parts of the frame.

The combination's model estimate (:func:`vismic.combine.combine_regions`) reads
the noise scale from the non-signal eigenvalues, assuming the regions' noise is
what their Fisher information says: junk the model does not know (a linearisation
broken by motion, flicker, codec blocks) is then taken for signal. Here the
regions are split into spatially interleaved groups, each group's output is
formed with weights fitted on *other* frames (so weights cannot align with the
noise they are scored on), and the signal power of each group is what it has in
common with the other groups (the triad rule of factor analysis:
``P_i = C_ij C_ik / C_jk``). Noise that groups do not share, whatever its
origin, counts as noise.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from typing import Optional

import numpy as np
from scipy import linalg

from ._evidence import RegionEvidence
from .._frame_statistics import codec_innovation
from .._reliability import SATURATED_FRACTION
from ..data import BandSignals
from ..denoise import bandlimit, highpass
from ..denoise._filters import settled_span
from ..errors import ParameterError

__all__ = ["consistency_snr_db", "region_groups", "reliability_flags", "snr_estimate", "codec_innovation",
           "codec_finding", "motion_cap_db", "MOTION_TOLERANCE_PX", "SATURATED_READING_PX"]

#: Slow excursion from the reference (px) below which the linear evidence is not distorted by more than
#: about a dB: ``benchmarks/bench_small_motion.py`` (drifts and sways of 0.1-3 px on four textures, 64 px,
#: 0.05 px of sound) lost at most 0.8 dB on the 28 scenes read up to it, and up to 4.9 dB on those read at
#: 0.15-0.3 px (stabilised scenes read <= 0.011 px). Beyond it ``info["reliability"]`` says ``large_motion``,
#: and ``stabilise='auto'`` stabilises.
MOTION_TOLERANCE_PX = 0.15

#: Readings of the slow excursion beyond this (px) may be a motion of pixels read small: the linear evidence
#: saturates past a quarter wavelength of the finest level, and in the same benchmark motions of 0.75-3 px
#: read 0.34-1.49 px (0.33-0.91 with the 16-frame reference; one of 2 px read 0.355, its SI-SNR -8.3 dB),
#: while every reading up to 0.3 came from 0.5 px or less. Beyond it the estimate is capped steeply
#: (:func:`motion_cap_db`).
SATURATED_READING_PX = 0.3


def motion_cap_db(slow_px: float) -> float:
    """The SNR (dB) a slow excursion of ``slow_px`` from the reference leaves the linear evidence.

    A shift ``d`` turns a band's evidence ``sin(k d)``: the sound on top of it reads with the
    gain ``cos(k d)``, which wanders with the slow motion, an error of ``(k d)^2 / 2`` of the
    sound: ``-40 log10(d) - 6`` dB with the finest levels' ``k`` near 2 rad/px, added to the
    noise the region groups measure (``benchmarks/bench_small_motion.py``: within 3 dB of the
    truth on 48 of the 53 scenes read up to 0.3 px, never more than 3 dB too high; the cap it
    replaces, ``-40 log10(d / 0.2) - 10`` dB from 0.05 px on, read 48 of them 6-40 dB low,
    one-off). Readings past :data:`SATURATED_READING_PX` may stand for far larger motions, and
    are still held to that steep cap (-17 dB at 0.3 px, where the sound of such motions was
    lost; 8 of those 91 scenes were more than 3 dB lower still, all flagged).

    Examples
    --------
    >>> [round(motion_cap_db(d), 1) for d in (0.05, 0.15, 0.3, 0.5)]
    [46.0, 27.0, 14.9, -25.9]
    """
    cap = -40.0 * math.log10(max(slow_px, 1e-12)) - 6.0
    if slow_px > SATURATED_READING_PX:
        cap = min(cap, -40.0 * math.log10(slow_px / 0.2) - 10.0)
    return cap


def region_groups(grid, *, n_groups: int = 4) -> np.ndarray:
    """Group label of every region of a ``grid``: 2 x 2 cells of regions, assigned like a checkerboard.

    Four groups, each spread over the whole frame, so that any part of the
    object is seen by every group while neighbouring regions (which share
    pixels through the wavelets' support) mostly fall in the same group. A grid
    of one row or column takes its regions in turn (the checkerboard would give it
    two groups, too few to agree: the estimate needs three); fewer than three
    regions make fewer than three groups, and no estimate.

    Examples
    --------
    >>> region_groups((4, 4)).reshape(4, 4)
    array([[0, 0, 1, 1],
           [0, 0, 1, 1],
           [2, 2, 3, 3],
           [2, 2, 3, 3]])
    >>> region_groups((1, 6))
    array([0, 1, 2, 3, 0, 1])
    """
    rows, cols = int(grid[0]), int(grid[1])
    if n_groups != 4:
        raise ParameterError(f"n_groups must be 4, given n_groups={n_groups!r}")
    if min(rows, cols) == 1:
        return np.arange(rows * cols) % n_groups
    cell = 2 if min(rows, cols) >= 4 else 1
    r = np.arange(rows)[:, None] // cell % 2
    c = np.arange(cols)[None, :] // cell % 2
    return (2 * r + c).ravel()


def _held_out_weights(train_covariances, noise):
    """Weights for the frames of each chunk parity, fitted on the frames of the other (top generalised eigenvector)."""
    ridge = 1e-9 * np.trace(noise) / noise.shape[0] * np.eye(noise.shape[0])
    weights = {}
    for fit in (0, 1):
        _, vectors = linalg.eigh(train_covariances[fit] + ridge, noise + ridge)
        weights[1 - fit] = vectors[:, -1]
    # align the two fits' signs (they are defined up to sign)
    if weights[0] @ noise @ weights[1] < 0:
        weights[1] = -weights[1]
    return weights


def consistency_snr_db(bands: BandSignals, *, grid, highpass_hz: float = 20.0, n_chunks: int = 8) -> dict:
    """SNR (dB) of the combined motion, measured as what disjoint groups of regions agree on.

    Parameters
    ----------
    bands : BandSignals
        The pooled evidence of the whole video (``n_regions = rows * cols``).
    grid : (rows, cols)
        The regions' layout.
    highpass_hz : float
        The output's high-pass: statistics are measured above it, as the
        recovered sound is.
    n_chunks : int
        Time chunks alternately used to fit the weights and to score them.

    Returns
    -------
    dict
        ``snr_db`` (the estimate), ``group_snr_db`` (per group),
        ``agreement`` (mean correlation between groups' outputs),
        ``leak_fraction`` (power of slow motion leaking through the high-pass / output power),
        ``slow_motion_px`` (largest excursion of the regions' common shift below :data:`SLOW_SPLIT` of the high-pass),
        ``rigid_power_px2`` and ``rigid_px`` (that shift above the high-pass: its power and
        its ``(2, n)`` x, y series), ``output_power`` (the combined motion's power above the
        high-pass, in its own units) and ``rigid_response`` (what it reads for a 1 px shift of
        every region along x and along y: ``(2,)``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = np.sin(np.arange(4000) * 0.3)
    >>> scores = 0.5 * rng.standard_normal((1, 1, 16, 2, 4000)); scores[0, 0, :, 0] += s
    >>> info = np.broadcast_to(np.eye(2), (1, 1, 16, 2, 2))
    >>> estimate = consistency_snr_db(BandSignals(scores, info, 0, 2000.0), grid=(4, 4))
    >>> abs(estimate["snr_db"] - 10 * np.log10(16 * 0.5 / 0.25)) < 1.0   # 16 regions, SNR 2 each
    True
    """
    with _evidence_on_grid(bands, grid) as evidence:
        return evidence_consistency(evidence, highpass_hz=highpass_hz)


@contextlib.contextmanager
def _evidence_on_grid(bands: BandSignals, grid):
    """The whole video's :class:`RegionEvidence` with its regions laid on ``grid`` (closed on leaving)."""
    rows, cols = grid
    if rows * cols != bands.n_regions:
        raise ParameterError(f"grid={grid!r} does not match the {bands.n_regions} regions of the band signals")
    evidence = RegionEvidence.from_bands(bands)
    evidence.grid = (rows, cols)
    try:
        yield evidence
    finally:
        evidence.close()


def evidence_consistency(evidence: RegionEvidence, *, highpass_hz: float = 20.0) -> dict:
    """:func:`consistency_snr_db` on the evidence of a whole video (see :mod:`vismic.combine._evidence`)."""
    n = evidence.n
    covariance = evidence.covariance()
    labels = region_groups(evidence.grid)
    to_displacement = evidence.displacement_map()
    noise = linalg.block_diag(*covariance)
    statistics, counts = evidence.statistics("output", highpass_hz)
    per_parity = [to_displacement @ statistics[p] @ to_displacement.T for p in (0, 1)]
    weights = _held_out_weights([per_parity[p] / max(counts[p], 1) for p in (0, 1)], noise)
    labels = np.repeat(labels, 2)
    groups = sorted(set(labels.tolist()))
    cov = np.zeros((len(groups), len(groups)))
    for part in (0, 1):
        rows_of = np.array([np.where(labels == label, weights[part], 0.0) for label in groups])
        cov += rows_of @ per_parity[part] @ rows_of.T
    cov /= n
    power, noise_fraction = _group_signal(cov)
    # Slow motion (drift, sway, a residual of stabilisation) leaks through the output's high-pass and
    # is coherent everywhere, so groups agree on it: measure it directly (_leak_share).
    rigid_map = _rigid_map(covariance)
    combined = np.stack([np.stack([weights[p] @ to_displacement, *(rigid_map @ to_displacement)]) for p in (0, 1)])
    series = evidence.project(combined, by_parity=True)  # motion, then the rigid (x, y) shift
    motion = series[0]
    slow_px, rigid_fast = _rigid_px(series[1:], evidence.fps, highpass_hz)
    final = highpass(motion, sr=evidence.fps, cutoff_hz=highpass_hz) if highpass_hz and n > 40 else motion
    final_power = float(np.mean(final ** 2))
    leak_power = _leak_share(motion, final, evidence.fps, highpass_hz) * final_power if highpass_hz and n > 40 else 0.0
    # what the combined motion reads for a shift of every region by 1 px along x and along y
    response = np.mean([np.einsum("rij,rj->i", evidence.information, (weights[p] @ to_displacement).reshape(-1, 2))
                        for p in (0, 1)], axis=0)
    noise_power = min(noise_fraction * final_power + leak_power, final_power)
    noise_power = max(noise_power, 1e-12 * max(final_power, 1e-300))
    snr = max((final_power - noise_power) / noise_power, 1e-6)
    group_noise = np.maximum(np.diag(cov) - power, np.maximum(1e-30 * power, 1e-300))  # at most 300 dB
    correlation = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)) + 1e-300)
    pairs = correlation[np.triu_indices(len(groups), 1)]
    return {
        "snr_db": float(10 * np.log10(snr)) if np.isfinite(noise_fraction) else float("nan"),
        "group_snr_db": 10 * np.log10(np.maximum(power, 1e-300) / group_noise),
        "agreement": float(np.mean(pairs)) if pairs.size else float("nan"),
        "leak_fraction": leak_power / max(final_power, 1e-300),
        "slow_motion_px": slow_px,
        "rigid_power_px2": float(np.sum(np.mean(rigid_fast ** 2, axis=-1))),
        "rigid_px": rigid_fast,
        "output_power": final_power,
        "output": final,
        "rigid_response": response,
    }


#: Share of the high-pass's cut-off below which the regions' common shift counts as a slow excursion from the
#: reference (:func:`_rigid_px`). The high-pass's complement held a loud low note's own transition band: a 25 Hz
#: tone of 0.24 px read 0.16 px, and ``stabilise='auto'`` took it away with the note (11.3 dB, 38.4 read as it is;
#: ``bench_estimate_sweep.py``). Drift, sway and shake (below 10 Hz) lie below it in full. The leak through the
#: high-pass (:func:`_leak_share`) keeps the complement: a real clip's motion at the cut-off (camera.mp4, 20.5 Hz,
#: the output's strongest peak, where the sound is at 36-62 Hz) is as likely a nuisance as sound, and a split
#: below it estimated that clip 20.7 dB instead of 7.0.
SLOW_SPLIT = 0.6


def _leak_share(motion, final, fps: float, highpass_hz: float) -> float:
    """Power share of ``final`` (``motion`` high-passed) that is motion below the cut-off let through.

    Measured where the filters have settled (:func:`settled_span`): at the ends their transients
    are the sound's own, in the truth as in the output (tones of 40 Hz to 0.9 Nyquist starting with
    the clip were estimated 5-26 dB low, ``bench_estimate_sweep.py``).
    """
    leak = highpass(motion - final, sr=fps, cutoff_hz=highpass_hz)
    span = settled_span(motion.shape[-1], sr=fps, cutoff_hz=highpass_hz)
    return float(np.mean(leak[span] ** 2)) / max(float(np.mean(final[span] ** 2)), 1e-300)


#: Region groups the consistency needs: each group's signal is measured against two others.
MIN_GROUPS = 3


def _group_signal(cov: np.ndarray) -> tuple:
    """Each group's signal power from its covariance with every pair of others, and the output's noise share.

    The noise share is NaN with fewer than :data:`MIN_GROUPS` groups (too few regions), where
    nothing can be measured against two others.
    """
    k = cov.shape[0]
    power = np.zeros(k)
    if k < MIN_GROUPS:
        return power, float("nan")
    for i in range(k):
        ratios = []
        for j, l in itertools.combinations([m for m in range(k) if m != i], 2):
            if abs(cov[j, l]) > 1e-300:
                ratios.append(cov[i, j] * cov[i, l] / cov[j, l])
        power[i] = max(float(np.median(ratios)) if ratios else 0.0, 0.0)
    # Each group's signal amplitude, signed by its agreement with the others.
    signs = np.sign(np.sum(cov - np.diag(np.diag(cov)), axis=1))
    amplitude = np.sqrt(power) * np.where(signs == 0, 1.0, signs)
    signal = float(np.sum(amplitude)) ** 2
    total = float(np.sum(cov))
    return power, min(max(1.0 - signal / max(total, 1e-300), 0.0), 1.0)


def _rigid_map(covariance) -> np.ndarray:
    """``(2, 2R)``: the least-squares (x, y) shift of every region alike, from the regions' displacements."""
    information = np.linalg.inv(covariance)
    return np.linalg.pinv(information.sum(axis=0)) @ np.hstack(list(information))


def rigid_motion(evidence: RegionEvidence) -> np.ndarray:
    """``(2, n)``: the whole frame's (x, y) shift in px at each frame, as every region reads it (least squares).

    What the combination's output, read along one direction, does not show: a frame moved
    across it (:mod:`vismic.combine._lone_leaps`).
    """
    to_displacement = evidence.displacement_map()
    return evidence.project(_rigid_map(evidence.covariance()) @ to_displacement)


def _rigid_px(rigid, fps, highpass_hz):
    """The rigid least-squares (x, y) shift of all regions: slow part's largest excursion, and the sound-band part.

    The slow part lies below :data:`SLOW_SPLIT` of the high-pass: the high-pass's complement held
    a loud low note's own transition-band part, read as slow motion (a 25 Hz tone of 0.24 px read
    0.16 px, was stabilised away and recovered at 11.3 dB instead of 38.4).

    The linear evidence saturates beyond about a quarter wavelength, so large
    motions read smaller than they are; that is still far above what the
    evidence tolerates.
    """
    rigid = rigid - rigid.mean(axis=-1, keepdims=True)
    if not (highpass_hz and rigid.shape[-1] > 40):
        return 0.0, rigid
    fast = highpass(rigid, sr=fps, cutoff_hz=highpass_hz)
    slow = bandlimit(rigid, sr=fps, high_hz=SLOW_SPLIT * highpass_hz)
    return float(np.max(np.hypot(*slow))), fast


def reliability_flags(report=None, *, snr_db: Optional[float] = None, min_snr_db: float = 0.0,
                      max_motion_px: Optional[float] = None, saturated_limit: float = SATURATED_FRACTION,
                      black_limit: float = 0.5, min_texture: float = 0.5) -> dict:
    """Named problems that make a recovery unreliable, each with a message for the user.

    Parameters
    ----------
    report : StabiliseReport, optional
        What the stabiliser measured (motion, light, saturation, texture).
    snr_db : float, optional
        The consistency estimate (:func:`consistency_snr_db`).
    min_snr_db : float
        Below this the output is mostly noise.
    max_motion_px : float, optional
        Slow motion the stabiliser removed beyond which edges of the frame are lost (default: 1/8 of
        the shorter side is not checked here; give it to flag).
    saturated_limit, black_limit : float
        Fraction of pixels at the top / bottom grey level above which a frame counts as saturated / black.
    min_texture : float
        RMS gradient (grey levels per px) of the reference below which there is no texture to see motion in.

    Returns
    -------
    dict
        ``{name: message}`` for every problem found (empty when none): ``'low_snr'``,
        ``'no_texture'``, ``'saturated'``, ``'black'``, ``'large_motion'`` (the last only with
        ``max_motion_px``; :func:`snr_estimate` adds ``'large_motion'`` and ``'inter_frame_codec'``
        from the evidence and frame statistics).

    Examples
    --------
    >>> reliability_flags(snr_db=-3.0)
    {'low_snr': 'the recovered sound is mostly noise (estimated SNR -3.0 dB from the agreement of separate parts of the frame)'}
    """
    flags = {}
    if snr_db is not None and (not math.isfinite(snr_db) or snr_db < min_snr_db):
        flags["low_snr"] = (f"the recovered sound is mostly noise (estimated SNR {snr_db:.1f} dB from the agreement "
                            "of separate parts of the frame)")
    if report is None:
        return flags
    if report.texture_rms < min_texture:
        flags["no_texture"] = (f"the frames have almost no texture (RMS gradient {report.texture_rms:.2f} grey levels "
                               "per px): nothing to see motion in; choose a region of interest with edges or pattern")
    saturated = float(np.mean(report.saturated_fraction > saturated_limit)) if report.saturated_fraction.size else 0.0
    if saturated > 0.01:
        flags["saturated"] = (f"{100 * saturated:.0f}% of frames have more than {100 * saturated_limit:.0f}% of pixels "
                              "at the top grey level (saturated): lower the exposure or choose another region")
    black = float(np.mean(report.black_fraction > black_limit)) if report.black_fraction.size else 0.0
    if black > 0.01:
        flags["black"] = f"{100 * black:.0f}% of frames are black (more than {100 * black_limit:.0f}% of pixels at 0)"
    if max_motion_px is not None and report.motion_px.size:
        largest = float(np.max(np.abs(report.motion_px)))
        if largest > max_motion_px:
            flags["large_motion"] = (f"the camera moved by up to {largest:.1f} px; the edges of the frame that left the "
                                     "view carry no sound")
    return flags


#: :func:`codec_innovation` below which frames look predicted from the ones before (as read by
#: ``bench_nuisance.py``, which prints all three statistics: lossless, flicker, shake and MJPG
#: scenes 0.71-0.94, mp4v 0.03-0.11).
MIN_INNOVATION = 0.5
#: Share of textured 8x8 blocks left exactly unchanged from one frame to the next above which a
#: codec may have held them (:func:`vismic._frame_statistics.held_blocks`; ``bench_nuisance``: scenes
#: with sensor noise, MJPG included, 0.00-0.01, mp4v 0.33-0.78). 8-bit frames rendered without
#: noise hold many blocks too, which the next test tells apart.
MAX_HELD_BLOCKS = 0.2
#: Share of the pixels of a changed textured block that change, above which blocks change whole
#: (a codec re-coding them; ``bench_nuisance``: mp4v 0.77, and 0.73-0.91 where sensor noise changes
#: every pixel). Frames rendered without noise change the few pixels whose grey level the motion
#: crosses (a test).
MIN_WHOLE_BLOCKS = 0.35


def codec_finding(innovation: float, held_blocks: Optional[float] = None, whole_blocks: Optional[float] = None):
    """``(cap_db, message)`` when an inter-frame codec dropped the motion between key frames, else None.

    Parameters
    ----------
    innovation : float
        :func:`codec_innovation` of the frames.
    held_blocks, whole_blocks : float, optional
        Share of textured blocks exactly unchanged from the frame before, and share of the
        pixels of the changed ones that changed (:func:`vismic._frame_statistics.held_blocks`).
        Given, they must show a codec: frames without sensor noise (rendered, or 8-bit
        with the motion below a grey level) barely differ from frame to frame either,
        but a few pixels at a time.

    Returns
    -------
    tuple or None
        The SNR the output can have at most (``10 log10 innovation``, dB: the share of the
        frames' change that survived) and a message for the user.

    Examples
    --------
    >>> codec_finding(0.9) is None, round(codec_finding(0.1)[0], 1)
    (True, -10.0)
    >>> codec_finding(0.1, held_blocks=0.5, whole_blocks=0.1) is None  # a noise-free render
    True
    """
    if innovation >= MIN_INNOVATION:
        return None
    if held_blocks is not None and not held_blocks > MAX_HELD_BLOCKS:
        return None
    if whole_blocks is not None and not whole_blocks > MIN_WHOLE_BLOCKS:
        return None
    message = (f"most frames barely differ from the one before (innovation {innovation:.2f}): an inter-frame "
               "codec (MPEG-4, H.264) dropped the sub-pixel motion between key frames; use the camera's "
               "uncompressed or intra-frame export")
    return 10.0 * math.log10(max(innovation, 1e-6)), message


def snr_estimate(bands: BandSignals, *, grid, report=None, highpass_hz: float = 20.0) -> dict:
    """The honest SNR estimate and reliability flags of a recovery.

    The smallest of: the agreement of disjoint region groups (with the slow
    motion that leaks through the high-pass counted as noise,
    :func:`consistency_snr_db`); a cap for a broken linearisation,
    the distortion a slow excursion of the frame from the reference leaves
    (:func:`motion_cap_db`, added to the groups' noise; a bound past
    :data:`SATURATED_READING_PX`), flagged beyond :data:`MOTION_TOLERANCE_PX`; with ``report``, the motion the stabiliser
    removed in the sound band counted as noise (a track error), as much of it as the
    combined output reads for a shift of the whole frame; and, when ``report`` shows an
    inter-frame codec, ``10 log10(innovation)`` dB. The estimate a recovery reports
    (``rec.info["snr_estimate_db"]``) is also never above the combination's own figure
    (``rec.info["snr_model_db"]``), which the groups' scatter can pass.

    Parameters
    ----------
    bands : BandSignals
        Evidence of the whole video, ``grid`` regions.
    grid : (rows, cols)
    report : StabiliseReport, optional
        Frame statistics (the stabiliser's); without it the codec, texture,
        saturation and black-frame checks are skipped.
    highpass_hz : float

    Returns
    -------
    dict
        ``snr_estimate_db``, ``flags`` (``{name: message}``, see
        :func:`reliability_flags`), and the parts: ``consistency_db``,
        ``slow_motion_px``, ``codec_innovation``, ``codec_cap_db`` (None where
        no codec was found) and ``estimate_before_codec_db``.
    """
    with _evidence_on_grid(bands, grid) as evidence:
        return evidence_snr_estimate(evidence, report=report, highpass_hz=highpass_hz)


def evidence_snr_estimate(evidence: RegionEvidence, *, report=None, highpass_hz: float = 20.0,
                          fallback_db: float = float("nan"), output=None) -> dict:
    """:func:`snr_estimate` on the evidence of a whole video (see :mod:`vismic.combine._evidence`).

    ``fallback_db`` stands for the groups' agreement where there are too few regions to form
    three groups (a grid of one or two regions); the other checks still cap it. ``output``
    (``(n,)``), the combination's own output, is what the checks for the camera's position and the
    light look for in; without it, the groups' held-out combination (which weighs every region of
    the finest grid, and can read the stabiliser's error near a camera's borders as the loudest
    signal where the combination does not).
    """
    measured = evidence_consistency(evidence, highpass_hz=highpass_hz)
    checked = measured["output"]
    if output is not None and np.shape(output) == np.shape(checked) and np.all(np.isfinite(output)):
        checked = np.asarray(output, dtype=np.float64)
    estimate = measured["snr_db"] if np.isfinite(measured["snr_db"]) else float(fallback_db)
    slow = measured["slow_motion_px"]
    flags = {}
    if slow > 0:
        cap = motion_cap_db(slow)
        # the distortion adds to the noise the groups measured; past a saturated reading it is a bound
        if slow > SATURATED_READING_PX:
            estimate = min(estimate, cap)
        elif not math.isnan(estimate):
            lower = min(estimate, cap)
            estimate = lower - 10.0 * math.log10(1.0 + 10.0 ** (-abs(estimate - cap) / 10.0))
    if slow > MOTION_TOLERANCE_PX:
        if report is None:
            advice = "remove slow motion first (--stabilise on, stabilise=True, or a vismic.stabilise.Stabilise step)"
        else:  # the stabiliser ran and left this: its advice would send the user round in a circle
            advice = ("the stabiliser could not follow all of it (motion that is not one shift of the whole frame: "
                      "rotation, zoom, parts moving on their own; or faster than its kernel); try a --roi on the "
                      "object")
        flags["large_motion"] = (f"the frames moved {slow:.2f} px (or more) from the reference below the sound band: "
                                 f"the sound is distorted or lost; {advice}")
    if report is not None and report.motion_px.shape[0] == evidence.n and evidence.n > 40:
        estimate = _with_track_error(estimate, measured, report, evidence.fps, highpass_hz)
        share = camera_position_share(checked, report.motion_px, fps=evidence.fps, highpass_hz=highpass_hz)
        beside = camera_position_noise(checked, report.motion_px, fps=evidence.fps, highpass_hz=highpass_hz)
        if beside > 0:
            estimate = min(estimate, _left_by(beside))
        if share > CAMERA_POSITION_SHARE:
            estimate = min(estimate, _left_by(share))
            flags["camera_position"] = (
                f"{share:.0%} of the output follows the camera's sub-pixel position: the stabiliser's shifts of frames "
                "with detail finer than their pixels (aliased: a sharp sensor, or --downsample) wrote their own error "
                "into it, not sound; try a --roi on a smoother surface (or, read with --downsample, the frames as recorded)")
        gain = getattr(report, "gain", None)
        # aliased frames' mean light follows the camera's sub-pixel position too: said once, as the position
        share = light_share(checked, gain, fps=evidence.fps, highpass_hz=highpass_hz) if (
            gain is not None and np.shape(gain) == (evidence.n,) and "camera_position" not in flags) else 0.0
        if share > LIGHT_SHARE:
            estimate = min(estimate, _left_by(share))
            flags["light"] = (
                f"{share:.0%} of the output follows the light's gain (flicker, exposure) that the stabiliser "
                "measured and removed: light leaked into the motion evidence, not sound; try a larger --roi")
    innovation = codec_innovation(report.difference_power) if report is not None else 1.0
    codec = codec_finding(innovation, held_blocks=getattr(report, "held_blocks", None),
                          whole_blocks=getattr(report, "whole_blocks", None))
    before_codec = float(estimate)
    if codec is not None:
        estimate = min(estimate, codec[0])
        flags["inter_frame_codec"] = codec[1]
    flags.update(reliability_flags(report, snr_db=estimate))
    return {"snr_estimate_db": float(estimate), "flags": flags, "consistency_db": measured["snr_db"],
            "slow_motion_px": slow, "codec_innovation": innovation,
            "codec_cap_db": None if codec is None else float(codec[0]), "estimate_before_codec_db": before_codec}


#: A stabiliser's interpolation error repeats with every whole pixel the frames move; over less than
#: half that period it follows the motion itself (px, peak to peak along an axis).
MIN_SWEEP_PX = 0.5

#: Above this share of the output's power explained by the camera's sub-pixel position, the
#: estimate is capped and the recovery flagged (``camera_position``); sound that has nothing to
#: do with the camera leaves a few thousandths there by chance (8 regressors; 0.009 on a 96 px
#: shake scene), the stabiliser's error on aliased frames 0.97 (the same scene downsampled 2x).
CAMERA_POSITION_SHARE = 0.1


#: Above this share of the output's power explained by the light gain the stabiliser removed, the estimate
#: is capped and the recovery flagged (``light``): 0.85-0.97 where border strips held at the reference and
#: divided by the frame's gain leaked a 120 Hz flicker into a 48 px ROI under shake (before the light was
#: removed ahead of the fill), at most 0.03 on shaky, flickering brick and gravel scenes that kept their sound
#: (one-off sweep: 2 textures, 4 seeds, 4 ROIs; ``tests/stabilise/test_confidence.py``).
LIGHT_SHARE = 0.1

#: Relative rms of the measured light gain above twice the high-pass under which the light check is not
#: made: with the light steady, a shaken frame's measured gain still moved by 0.03-0.2 % with the sound
#: (its correlation with the sound 0.1-0.3), and the check read 12-14 % of outputs of 28-34 dB as light,
#: capping them at 8 dB (one-off, 96 px brick and gravel under a 2 px shake); ±5 % of flicker moves it
#: by 3.4 %, ±1 % by about 0.7 %.
LIGHT_MIN_RMS = 0.003


def _left_by(share: float) -> float:
    """The SNR, in dB, of an output whose ``share`` of power is not sound: what the rest leaves."""
    return 10.0 * math.log10(max(1.0 - share, 1e-6) / share)


def light_share(output, gain, *, fps: float, highpass_hz: float) -> float:
    """Share of ``output``'s power that is a function of the frames' light gain ``gain`` (``(n,)``), above twice ``highpass_hz``.

    Flicker that reaches the evidence (a region held at the reference in another light than the
    frame's) is coherent across regions, so the region groups agree on it; regressed on the relative
    gain, its square and its inverse, it shows (beyond chance, as :func:`camera_position_share`).
    """
    output = np.asarray(output, dtype=np.float64).reshape(-1)
    gain = np.asarray(gain, dtype=np.float64).reshape(-1)
    mean = float(np.mean(gain))
    if gain.shape != output.shape or not (mean > 0) or np.ptp(gain) <= 1e-6 * mean:
        return 0.0
    relative = gain / mean - 1.0
    band = highpass(relative, sr=fps, cutoff_hz=min(2.0 * highpass_hz, 0.4 * fps)) if relative.size > 40 else relative
    if float(np.sqrt(np.mean(band ** 2))) < LIGHT_MIN_RMS:
        return 0.0
    return _share_beyond_chance(output, np.stack([relative, relative ** 2, 1.0 / (1.0 + relative) - 1.0]), fps=fps,
                                highpass_hz=highpass_hz)


def position_features(motion_px) -> np.ndarray:
    """``sin`` and ``cos`` of ``2 pi k d`` (``k`` = 1, 2) for each axis of ``motion_px`` (``(n, axes)``): ``(4 axes, n)``.

    What a function of the frames' sub-pixel position (period 1 px) is made of, to its second harmonic.
    """
    phases = 2.0 * np.pi * np.concatenate([k * np.asarray(motion_px, dtype=np.float64).T for k in (1, 2)])
    return np.concatenate([np.sin(phases), np.cos(phases)])


def camera_position_share(output, motion_px, *, fps: float, highpass_hz: float) -> float:
    """Share of ``output``'s power that is a function of where a stabiliser put the camera, to a sub-pixel.

    A frame shifted back by ``d`` px errs where it holds detail its samples cannot carry
    (aliased: a sensor's box-shaped pixels, block-averaged frames), and the error repeats
    with every whole pixel: ``output`` is regressed on ``sin`` and ``cos`` of ``2 pi k d`` (``k`` =
    1, 2, each axis of ``motion_px``, ``(n, 2)``), both above twice ``highpass_hz``. Sound that has
    nothing to do with the camera's position leaves only a chance share: what the same features
    explain shifted in time (the median of four shifts) is taken as chance, and the share is
    what they explain beyond it, as a share of what chance leaves.

    Examples
    --------
    >>> t = np.arange(2200) / 2200.0
    >>> track = np.stack([4.0 * np.sin(2 * np.pi * 8.0 * t), np.zeros_like(t)], axis=1)  # a shake
    >>> error = 0.01 * np.sin(2 * np.pi * track[:, 0])
    >>> sound = 0.01 * np.sin(2 * np.pi * 440.0 * t)
    >>> round(camera_position_share(highpass(error, sr=2200.0), track, fps=2200.0, highpass_hz=20.0), 2)
    1.0
    >>> camera_position_share(highpass(sound, sr=2200.0), track, fps=2200.0, highpass_hz=20.0) < 0.01
    True
    """
    output = np.asarray(output, dtype=np.float64).reshape(-1)
    motion = np.asarray(motion_px, dtype=np.float64).reshape(output.shape[0], -1)
    if np.max(np.ptp(motion, axis=0)) < MIN_SWEEP_PX:  # under it the error follows the motion itself
        return 0.0
    return _share_beyond_chance(output, position_features(motion), fps=fps, highpass_hz=highpass_hz)


def camera_position_noise(output, motion_px, *, fps: float, highpass_hz: float) -> float:
    """Share of ``output``'s power above ``highpass_hz`` that clearly follows the camera's sub-pixel position.

    :func:`camera_position_share` looks above twice the high-pass and flags a large share;
    a camera moving a few tens of px/s puts the shift's error just above the high-pass, where a
    sharp texture at 48 px under a 2 px shake held 13 % of its output (SI-SNR 8.3 dB, estimated
    23.6; one-off), 3 % of what lies above twice it. Here the same features are fitted to the whole
    band, and the share counts when it is more than four times the median of eight time-shifted
    fits (chance: sound near the high-pass fits a slow camera's features too, music's low notes
    most); it is returned beyond that median, and 0 otherwise. ``benchmarks/bench_shake_sweep.py``
    with ``--seed`` 1, 2 and 3 (120 scenes at 48 and 64 px): 111 estimates within 3 dB and 4 more
    than 3 dB too high with nothing flagged, against 109 and 7 with this share left out, and 111
    and 5 counting only shares above twice the largest fit (one-off runs with those variants).
    Subtracting the fit from the output was measured too and lost sound as often as it removed
    error (one-off, 177 shaken scenes at 48-96 px).
    """
    output = np.asarray(output, dtype=np.float64).reshape(-1)
    motion = np.asarray(motion_px, dtype=np.float64).reshape(output.shape[0], -1)
    n = output.shape[0]
    if n <= 40 or np.max(np.ptp(motion, axis=0)) < MIN_SWEEP_PX:
        return 0.0
    output = highpass(output, sr=fps, cutoff_hz=highpass_hz)
    total = float(np.sum(output ** 2))
    if total <= 0:
        return 0.0
    features = highpass(position_features(motion), sr=fps, cutoff_hz=highpass_hz)
    share = _fitted_share(features, output, total)
    chance = np.array([_fitted_share(np.roll(features, k * n // (CHANCE_SHIFTS + 1), axis=-1), output, total)
                       for k in range(1, CHANCE_SHIFTS + 1)])
    typical = float(np.median(chance))
    if share <= CHANCE_FACTOR * typical:
        return 0.0
    return share - typical


#: Time-shifted fits :func:`camera_position_noise` takes for chance, and how many times their median a share
#: must be to count.
CHANCE_SHIFTS = 8
CHANCE_FACTOR = 4.0


def _share_beyond_chance(output: np.ndarray, features: np.ndarray, *, fps: float, highpass_hz: float) -> float:
    """Share of ``output``'s power that ``features`` (``(k, n)``) explain by least squares beyond chance.

    Both above twice the high-pass: a slow drift's features lie at its edge, where sound near
    it can fit them (a 3 px drift over 0.3 s and a 26 Hz note read 0.1 there). Chance is what
    the same features explain shifted in time away from the output (the median of four
    shifts): on a short clip (400 frames under a 4 px shake) the camera position's few cycles
    fitted 15 % of sound that had nothing to do with them. Returned as the excess over chance,
    a share of what chance leaves.
    """
    cutoff = min(2.0 * highpass_hz, 0.4 * fps)
    output = highpass(output, sr=fps, cutoff_hz=cutoff)
    total = float(np.sum(output ** 2))
    if total <= 0:
        return 0.0
    features = highpass(features, sr=fps, cutoff_hz=cutoff)
    n = output.shape[0]
    share = _fitted_share(features, output, total)
    chance = float(np.median([_fitted_share(np.roll(features, k * n // 5, axis=-1), output, total)
                              for k in range(1, 5)]))
    return max(share - chance, 0.0) / max(1.0 - chance, 1e-12)


def _fitted_share(features: np.ndarray, output: np.ndarray, total: float) -> float:
    coefficients, *_ = np.linalg.lstsq(features.T, output, rcond=None)
    return float(np.sum((features.T @ coefficients) ** 2) / total)


def _with_track_error(estimate: float, measured: dict, report, fps: float, highpass_hz: float) -> float:
    """``estimate`` (dB) with the stabiliser's track error counted as noise, as the combined motion reads it.

    The track's error shifts every region alike, so the region groups agree on it and
    the consistency cannot see it. Its ``(2, 2)`` covariance in the sound band, and the
    sound the track followed and removed, are weighed by what the combination reads for a
    shift of the whole frame (``rigid_response``), against the signal power of the same
    output: an error across the direction the combination listens along costs little.
    Counting both axes whole against the rigid shift's power was 2.9 dB pessimistic on
    camera/music under shake with a camera's borders (``bench_nuisance.py --crop 16``).
    """
    n = report.motion_px.shape[0]
    # What the stabiliser removed in the sound band: for a well-tracked slow motion almost
    # nothing, so whatever is there is the track's error, added to the output
    # (above twice the cut-off: the kernel stops everything there, real slow motion included).
    cutoff = min(2 * highpass_hz, 0.4 * fps)
    removed = highpass(report.motion_px.T, sr=fps, cutoff_hz=cutoff)[:, settled_span(n, sr=fps, cutoff_hz=cutoff)]
    covariance = removed @ removed.T / removed.shape[-1]
    # The track's error below twice the cut-off and at the clip's ends, where the kernel's
    # transition band and the extrapolation leave it, as the track itself estimates it (whole
    # length: in the output the high-pass meets the same error at the same ends).
    error = report.track_error_px
    if error.shape[0] == n and np.any(error):
        error = highpass(error.T, sr=fps, cutoff_hz=highpass_hz)
        covariance = covariance + error @ error.T / n
    response = measured["rigid_response"]
    injected = float(response @ covariance @ response)
    # The sound the track followed and removed: alike in every region (bench_nuisance --size 192)
    injected += report.sound_taken_px2((response @ measured["rigid_px"])[None], highpass_hz=highpass_hz)
    snr = 10 ** (estimate / 10)
    signal = measured["output_power"] * snr / (1.0 + snr)
    if not (injected > 0 and signal > 0):
        return estimate
    return 10 * math.log10(max(signal / (signal / snr + injected), 1e-6))
