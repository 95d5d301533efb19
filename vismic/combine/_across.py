"""Merging the motion evidence of all bands and regions into one signal."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from .._checks import as_number, check_data, check_frame_indices
from ..data import MIN_FRAMES, Audio, BandSignals, NoiseSpectrum
from ..denoise import HighPass
from ..errors import ParameterError, TooFewFramesError
from ..pipeline import Stage
from ._evidence import RegionEvidence, regularised_inverse
from ._maxsnr import max_snr_directions, max_snr_weights
from ._sources import coherence, separate_sources

COMBINE_METHODS = ("optimal", "rigid")


def pooling_map(grid, factor: int) -> tuple:
    """``(P, pooled_grid, target)``: ``P`` (2R', 2R) sums the scores of ``factor x factor`` neighbouring regions."""
    rows, cols = grid
    new_rows, new_cols = -(-rows // factor), -(-cols // factor)
    target = np.array([(r // factor) * new_cols + (c // factor) for r in range(rows) for c in range(cols)])
    onehot = np.zeros((new_rows * new_cols, rows * cols))
    onehot[target, np.arange(rows * cols)] = 1.0
    return np.kron(onehot, np.eye(2)), (new_rows, new_cols), onehot


class _Pooled:
    """A pooling of the evidence's regions: ``y = M s`` are the pooled regions' displacements."""

    def __init__(self, evidence: RegionEvidence, grid, factor: int):
        pool, self.grid, onehot = pooling_map(grid, factor)
        self.covariance = regularised_inverse(np.einsum("sr,rij->sij", onehot, evidence.information))
        self.noise = linalg.block_diag(*self.covariance)
        self.map = self.noise @ pool

    def matrix(self, statistics: np.ndarray) -> np.ndarray:
        return self.map @ statistics @ self.map.T


def _held_out_gain(pooled: _Pooled, statistics, counts) -> float:
    """Signal-to-noise ratio (up to the common noise scale) of weights fitted on other time chunks.

    Weights fitted and scored on the same frames adapt to their noise; scoring
    them on frames they did not see measures what a region split really gains.
    """
    ratio = 0.0
    for fit in (0, 1):
        train = pooled.matrix(statistics[fit]) / max(counts[fit], 1)
        test = pooled.matrix(statistics[1 - fit]) / max(counts[1 - fit], 1)
        _, vectors = max_snr_directions(train, pooled.noise)
        w = vectors[:, -1]
        ratio += float(w @ test @ w) / float(w @ pooled.noise @ w)
    return ratio / 2


def choose_grid(evidence: RegionEvidence, *, highpass_hz=20.0):
    """The coarsest-to-finest pooling of ``evidence.grid`` whose weights generalise best to unseen frames.

    Returns the chosen :class:`_Pooled` and the held-out score of every grid tried.
    """
    rows, cols = evidence.grid
    factors = [1]
    while factors[-1] * 2 <= max(rows, cols):
        factors.append(factors[-1] * 2)
    factors.append(max(rows, cols))
    statistics, counts = evidence.statistics("statistics", highpass_hz)
    scored = {}
    best = None
    for factor in sorted(set(factors), reverse=True):
        pooled = _Pooled(evidence, evidence.grid, factor)
        score = _held_out_gain(pooled, statistics, counts)
        scored[pooled.grid] = score
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
    check_data(bands, BandSignals, "combine_bands")
    check_highpass(highpass_hz, bands.fps)
    if len(bands) < MIN_FRAMES:
        raise TooFewFramesError(f"need at least {MIN_FRAMES} frames to combine bands, got {len(bands)}")
    evidence = RegionEvidence.from_bands(bands)
    try:
        return combine_evidence(evidence, method=method, highpass_hz=highpass_hz)
    finally:
        evidence.close()


def combine_evidence(evidence: RegionEvidence, *, method: str = "optimal", highpass_hz=20.0) -> Audio:
    """:func:`combine_bands` on evidence gathered batch by batch (memory flat in the video's length)."""
    info = {"method": method}
    if method == "rigid":
        pooled = _Pooled(evidence, (1, evidence.n_regions), evidence.n_regions)
    elif evidence.grid is not None and evidence.n_regions > 1:
        pooled, info["grid_scores"] = choose_grid(evidence, highpass_hz=highpass_hz)
    else:
        pooled = _Pooled(evidence, (1, evidence.n_regions), 1)
        pooled.grid = evidence.grid
    info["grid"] = pooled.grid
    statistics, _ = evidence.statistics("statistics", highpass_hz)
    total = pooled.matrix(statistics[0] + statistics[1]) / evidence.n
    weights, to_px, details = max_snr_weights(total, pooled.noise)
    along = to_px * weights @ pooled.map  # the output per score
    motion = evidence.project(along[None])[0]
    noise_std = details.pop("noise_std_px")
    info.update(region_weights=weights.reshape(-1, 2), noise_std_px=noise_std, **details)
    if evidence.grid is not None:
        info["sound_map"] = coherence(evidence.displacement_map(), statistics[0] + statistics[1], along).reshape(
            evidence.grid)
    return Audio(motion, evidence.fps, info, NoiseSpectrum.white(noise_std**2, sr=evidence.fps))


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
    key_frames : array_like of int, optional
        Frame indices of a codec's key frames (:func:`vismic.codec.read_key_frames`):
        each region's scores there are repaired from the frames beside them
        (:func:`vismic.codec.repair_key_frames`) before anything is measured, and
        ``info["key_frames"]`` says what was done. :func:`vismic.recover_sound` sets them
        from a video file.

    Notes
    -----
    The output's ``info["snr_estimate_db"]`` is what disjoint groups of regions agree on
    (:func:`vismic.stabilise.snr_estimate`), and ``info["reliability"]`` names what makes it
    doubtful. Output that jumps at a codec's key frames (:func:`vismic.codec.key_frame_jumps`)
    adds ``info["key_frame_jumps"]`` and the finding ``key_frame_jumps``, and caps the
    estimate at what the jumps leave.
    """

    def __init__(self, method: str = "optimal", highpass_hz: float = 20.0, n_sources: int = 1, key_frames=None):
        self.method = method
        self.highpass_hz = highpass_hz
        self.n_sources = n_sources
        self.key_frames = key_frames

    def transform(self, bands: BandSignals) -> Audio:
        return self.transform_batches([bands])

    def transform_batches(self, parts, reports=None) -> Audio:
        """Combine band signals that arrive batch by batch, in order.

        Only the regions' pooled scores are kept (two numbers a region and frame,
        moved to a temporary file once long), so memory stays flat in the video's
        length; :class:`~vismic.pipeline.Pipeline` hands its batches here.

        Parameters
        ----------
        parts : iterable of BandSignals
        reports : mapping of name to report, optional
            What the streaming stages measured (:class:`~vismic.pipeline.StageReports`,
            read after the last part). A :class:`~vismic.stabilise.StabiliseReport`
            among them makes ``snr_estimate_db`` count the camera motion's track
            error and the codec check (:func:`vismic.stabilise.snr_estimate`).
        """
        evidence = None
        cutoff = None
        try:
            for bands in parts:
                check_data(bands, BandSignals, "Combine")
                if evidence is None:
                    if self.method not in COMBINE_METHODS:
                        raise ParameterError(f"method must be one of {COMBINE_METHODS}, given method={self.method!r}")
                    if self.key_frames is not None:  # -1 repaired the last frame, as numpy indexes
                        check_frame_indices(self.key_frames, "key_frames")
                    cutoff = check_highpass(self.highpass_hz, bands.fps)
                    evidence = RegionEvidence.empty_like(bands)
                elif bands.information.shape[2:] != (evidence.n_regions, 2, 2):
                    raise ParameterError("band signals of one video must keep the same regions")
                evidence.append(bands)
            if evidence is None:
                raise ParameterError("Combine received no band signals")
            audio = self._combine(evidence, cutoff, reports)
            if self.key_frames is not None:
                audio = self._repaired(audio, evidence, cutoff, reports)
            if self.n_sources == 1:
                audio = self._without_lone_leaps(audio, evidence, cutoff, reports)
        finally:
            if evidence is not None:
                evidence.close()
        if cutoff is not None:
            audio = HighPass(cutoff_hz=cutoff).transform(audio)
        return _cap_at_key_frame_jumps(audio)

    def _repaired(self, audio: Audio, evidence: RegionEvidence, cutoff, reports) -> Audio:
        """Combined again after the key frames' leap was taken out of every region's scores.

        The leap is measured on the combined output, where the regions' own noise has
        averaged out (each region's scores alone are noisy enough at their key frames
        for a weight per region to take out sound as well): its Wiener weight
        (:func:`vismic.codec.key_frame_weights`) scales every region's key-frame residual
        alike, which is the frames' own repair since the scores are linear in them.
        Output that jumps at the key frames and holds between them (:func:`vismic.codec.key_frame_jumps`)
        is left as it is, where the jumps stay along the repaired output's direction: there the
        key frames carry the motion. Key frames that leap across the motion take the direction
        to themselves and jump alike; along the repaired direction they do not.
        """
        from ..codec import key_frame_jumps, key_frame_weights
        from ..codec._key_frames import restored_key_frames

        motion = np.atleast_2d(np.asarray(audio.samples, dtype=np.float64))
        weights, ratio = key_frame_weights(motion.sum(axis=0, keepdims=True) if motion.shape[0] > 1 else motion,
                                           self.key_frames)
        if not np.isfinite(ratio[0]):
            return audio
        weight = float(weights[0])
        jumps = motion.shape[1] > 1 and key_frame_jumps(motion).found
        if jumps and weight >= 1.0:
            return audio  # a codec that held the motion between its key frames coded it there: keep them
        # a video's first frame is a key frame too, at an end the inner repair leaves (held against the frame beside it)
        repaired = evidence.repair_key_frames(self.key_frames, weight) + evidence.repair_ends(self.key_frames, weight)
        fixed = self._combine(evidence, cutoff, reports) if weight < 1.0 else audio
        if jumps and key_frame_jumps(restored_key_frames(fixed.samples, self.key_frames, weight)).found:
            return audio
        fixed.info["key_frames"] = {"repaired": repaired, "weight": weight, "spike_ratio": float(ratio[0])}
        return fixed

    def _without_lone_leaps(self, audio: Audio, evidence: RegionEvidence, cutoff, reports) -> Audio:
        """Combined again without frames that leap alone, where they had taken the output's direction.

        See :mod:`vismic.combine._lone_leaps`: candidates are single-frame spikes of the
        output's residual; their residual is taken out of every region's scores as a key
        frame's is, and the new output is kept only where its direction turned by
        :data:`~vismic.combine._lone_leaps.TURN_DEGREES` or more or its estimate rose by
        :data:`~vismic.combine._lone_leaps.GAIN_DB` or more (``info["lone_leaps"]``). Spikes at
        key frames a codec held the motion between (kept by :meth:`_repaired`, or repeating as
        :func:`vismic.codec.key_frame_jumps` finds) are left: they carry the motion.
        """
        from ..codec import key_frame_jumps
        from ._confidence import rigid_motion
        from ._lone_leaps import GAIN_DB, MAX_LONE_LEAPS, TURN_DEGREES, across, leap_weight, lone_leaps, turned

        if self.key_frames is not None and "key_frames" not in audio.info:
            return audio  # key frames kept as they came (they carry the motion): their spikes are no leaps
        if "direction_degrees" not in audio.info:
            return audio
        # leaps along the output stand out in it; leaps across it, in the whole frame's shift across it
        crossing = across(rigid_motion(evidence), audio.info["direction_degrees"])
        found = [(series, frames) for series, frames in ((audio.samples, lone_leaps(audio.samples)),
                                                         (crossing, lone_leaps(crossing))) if frames.size]
        if not found:
            return audio
        if np.shape(audio.samples)[-1] > 1 and key_frame_jumps(audio.samples).found:
            return audio  # spikes that repeat at a codec's key frames are what it held, not leaps
        if len(found) == 2:  # a frame found both ways is repaired once, by its leap along the output
            found[1] = (crossing, np.setdiff1d(found[1][1], found[0][1]))
        found = [(series, frames) for series, frames in found if frames.size]
        frames = np.unique(np.concatenate([frames for _, frames in found]))
        if frames.size > MAX_LONE_LEAPS:
            return audio
        weights = []
        for series, part in found:
            weights.append(leap_weight(series, part))
            evidence.repair_key_frames(part, weights[-1])
            evidence.repair_ends(part, weights[-1])
        weight = float(max(weights))
        fixed = self._combine(evidence, cutoff, reports)
        turn = turned(audio.info["direction_degrees"], fixed.info.get("direction_degrees", np.nan))
        gain = fixed.info.get("snr_estimate_db", np.nan) - audio.info.get("snr_estimate_db", np.nan)
        if not (turn >= TURN_DEGREES or gain >= GAIN_DB):
            return audio
        fixed.info["lone_leaps"] = {"frames": [int(f) for f in frames], "weight": weight, "turned_degrees": turn,
                                    "estimate_gain_db": float(gain)}
        return fixed

    def _combine(self, evidence: RegionEvidence, cutoff, reports) -> Audio:
        if self.n_sources != 1:
            one = self._one_source(evidence, cutoff, reports)
            return _checked_as(separate_sources(evidence.to_bands(), n_sources=self.n_sources, highpass_hz=cutoff),
                               one)
        return self._one_source(evidence, cutoff, reports)

    def _one_source(self, evidence: RegionEvidence, cutoff, reports) -> Audio:
        if evidence.n < MIN_FRAMES:
            raise TooFewFramesError(f"need at least {MIN_FRAMES} frames to combine bands, got {evidence.n}")
        estimate_cutoff = _estimate_cutoff(evidence, cutoff)
        if estimate_cutoff is not None:
            # the weights' statistics and the estimate's (see _honest_estimate), measured side by side
            evidence.measure(("statistics", cutoff), ("output", estimate_cutoff))
        audio = combine_evidence(evidence, method=self.method, highpass_hz=cutoff)
        report = _stabiliser_report(reports)
        audio = _honest_estimate(_restore_gain(audio, report), evidence, cutoff, report)
        if report is not None and np.any(report.motion_px):
            # in px/s of the frames analysed: how fast the camera moved (vismic.recover_sound's low-pass reads it)
            info = {**audio.info, "camera_speed_px_s": report.speed_px_s()}
            audio = Audio(audio.samples, audio.sr, info, audio.noise)
        return audio


#: Findings on the whole frame's motion that hold for every source separated from it: the frames moved,
#: or a codec held them (what the output holds, ``low_snr`` and ``camera_position``, is each channel's own).
_SHARED_FINDINGS = ("large_motion", "inter_frame_codec", "saturated", "black", "no_texture")


def _checked_as(sources: Audio, one: Audio) -> Audio:
    """Separated ``sources`` with the checks of ``one`` (the same evidence combined as one source) that hold for all.

    The frames' slow motion (which sends :func:`vismic.recover_sound` round again through
    the stabiliser) and a codec's cap are the frames', not a channel's: each channel's
    estimate is capped at ``one``'s where they apply.
    """
    info = dict(sources.info)
    shared = {name: message for name, message in one.info.get("reliability", {}).items() if name in _SHARED_FINDINGS}
    info["reliability"] = {**shared, **info.get("reliability", {})}
    info["slow_motion_px"] = one.info.get("slow_motion_px", float("nan"))
    if "camera_speed_px_s" in one.info:
        info["camera_speed_px_s"] = one.info["camera_speed_px_s"]
    cap = one.info.get("snr_estimate_db")
    if shared.keys() & {"large_motion", "inter_frame_codec"} and cap is not None and np.isfinite(cap):
        info["snr_estimate_db"] = [min(float(value), float(cap)) for value in info["snr_estimate_db"]]
    return Audio(sources.samples, sources.sr, info, sources.noise)


def _restore_gain(audio: Audio, report) -> Audio:
    """The sound's gain restored where a stabiliser's border fill took part of it (``report.kept_information``).

    The strips hold the static reference, so the sound's gain follows the share of
    the motion information outside them; as they grow it falls, a modulation the
    output would otherwise keep (a loud sound under drift, ``tests/stabilise/test_confidence.py``).
    """
    kept = getattr(report, "kept_information", None)
    if kept is None or kept.shape[0] != audio.samples.shape[-1] or not np.all(kept > 0) or np.ptp(kept) == 0:
        return audio
    gain = np.mean(kept) / kept
    # the noise takes the same slowly varying gain: its spectrum scales by the gain's mean power
    return audio.filtered(audio.samples * gain, response=float(np.sqrt(np.mean(gain ** 2))))


def _stabiliser_report(reports):
    if not reports:
        return None
    from ..pipeline import find_report
    from ..stabilise import StabiliseReport

    return find_report(reports, StabiliseReport)


def _honest_estimate(audio: Audio, evidence: RegionEvidence, cutoff, report=None) -> Audio:
    """``snr_estimate_db`` the data must earn (region groups agreeing on held-out frames, slow-motion checks).

    The model estimate (from the combination's noise eigenvalues) trusts the
    regions' Fisher information and stays confident when motion, light or a codec
    break it; it is kept as ``snr_model_db``. It is also the most the estimate may
    say: the region groups' agreement scatters, and where it says more than the
    sensor noise allows, the model's figure is the honest one (``bench_nuisance.py
    --nuisances shake4 --crop 16``: gravel/speech under shake, 30.4 dB for an output
    of 24.9 dB, against the model's 26.4). Reliability findings go to
    ``info["reliability"]`` (name -> message).
    """
    from ._confidence import evidence_snr_estimate

    highpass_hz = _estimate_cutoff(evidence, cutoff)
    if highpass_hz is None:
        if evidence.grid is None:
            return audio
        # the model's figure alone trusts every region's Fisher information: 140 dB for 44 frames of noise
        info = dict(audio.info)
        info["snr_model_db"] = info.get("snr_estimate_db")
        info["snr_estimate_db"] = float("nan")
        info["reliability"] = {**info.get("reliability", {}), "too_short": _too_short(evidence, cutoff)}
        return Audio(audio.samples, audio.sr, info, audio.noise)
    info = dict(audio.info)
    model = info["snr_model_db"] = info.get("snr_estimate_db")
    # with too few regions for the groups to agree on anything, the model's figure stands in for theirs
    samples = np.asarray(audio.samples)
    estimate = evidence_snr_estimate(evidence, report=report, highpass_hz=highpass_hz,
                                     fallback_db=model if model is not None else float("nan"),
                                     output=samples if samples.ndim == 1 else None)

    def at_most_model(value):
        return float(model if model is not None and np.isfinite(model) and model < value else value)

    if np.isfinite(estimate["snr_estimate_db"]):
        info["snr_estimate_db"] = at_most_model(estimate["snr_estimate_db"])
    info["reliability"] = dict(estimate["flags"])
    _name_second_motion(info)
    info["slow_motion_px"] = float(estimate["slow_motion_px"])
    if estimate["codec_cap_db"] is not None and np.isfinite(estimate["estimate_before_codec_db"]):
        # the stabiliser's frames showed held blocks: what the estimate was before, for a replica to replace the cap
        info["codec_cap"] = {"cap_db": estimate["codec_cap_db"],
                             "estimate_before_db": at_most_model(estimate["estimate_before_codec_db"])}
    noise = _honest_noise(audio.noise, info["snr_model_db"], info.get("snr_estimate_db"),
                          motion_px=getattr(report, "motion_px", None), highpass_hz=highpass_hz)
    return Audio(audio.samples, audio.sr, info, noise)


#: How close (dB) to the output's own SNR (the combination's, ``snr_model_db``) a second independent motion
#: of the regions is named (``second_motion``), where the two are about as strong and the output mixes
#: them: an object over a background moving with another sound read the background 0.9 / 1.7 / 2.6 dB
#: below the object, the output 6.5 / 13.1 / 17.5 dB against the object's sound for an estimate of 25.2-25.3;
#: 5.1 below, 22.5 against 25.2; 14.4 below, the object's alone. Real clips hold second motions too (two
#: strings, a body that moves): guitar and camera.mp4 read theirs 4.1 and 4.9 dB below, not named; one
#: rendered source at most 14 below (brick under a 4 px shake, 0.18 s; a membrane's mode shape, ~20 below).
SECOND_MOTION_WITHIN_DB = 3.0


def _name_second_motion(info: dict) -> None:
    """Flag a second motion the regions carry besides the output's (one source asked for).

    The combination keeps the strongest direction of the regions' signal covariance; the
    next one, far above the noise, is a motion of its own (:func:`~._maxsnr.max_snr_weights`'
    ``second_snr_db``). The region groups agree on whatever mix of the two the output holds, so
    the estimate does not see it.
    """
    second, first = info.get("second_snr_db"), info.get("snr_model_db")
    if second is None or first is None or not (np.isfinite(second) and np.isfinite(first)) \
            or second < first - SECOND_MOTION_WITHIN_DB:
        return
    info["reliability"]["second_motion"] = (
        f"the regions carry a second motion of their own, {second:.1f} dB above the noise, besides the output's: "
        "where it is about as strong, the output mixes the two and the SNR estimate does not see it; "
        "--sources 2 (n_sources=2) separates them")


def _cap_at_key_frame_jumps(audio: Audio) -> Audio:
    """Flag output that jumps at a codec's key frames (:func:`vismic.codec.key_frame_jumps`) and cap the estimate.

    Between its key frames the codec held the motion; the region groups agree on what it
    held, so their estimate does not see it. The cap is what the jumps leave of the
    high-passed output (``benchmarks/bench_nuisance.py``'s ``h264`` rows: still above the
    truth there, and far below the uncapped estimate).
    """
    from .._reliability import NO_MOTION_PX, cap_snr_estimate
    from ..codec import key_frame_jumps

    samples = np.asarray(audio.samples, dtype=np.float64)
    if samples.shape[-1] < 2 or not np.all(np.isfinite(samples)) or np.max(np.abs(samples)) < NO_MOTION_PX:
        return audio  # numerical dust has no key frames
    jumps = key_frame_jumps(samples)
    if not jumps.found:
        return audio
    info = dict(audio.info)
    info["reliability"] = dict(info.get("reliability", {}))
    info["key_frame_jumps"] = {"period": jumps.period, "phase": jumps.phase, "ratio": jumps.ratio,
                               "snr_db": jumps.snr_db, "estimate_before_db": info.get("snr_estimate_db")}
    info["reliability"]["key_frame_jumps"] = (
        f"the recovered motion jumps every {jumps.period} frames (into frame {jumps.phase} and every "
        f"{jumps.period}th after, {jumps.ratio:.0f} times the changes around them): an inter-frame codec's key "
        "frames, between which it held the sub-pixel motion instead of coding it, so the output is mostly the "
        f"codec's; snr_estimate_db is capped at {jumps.snr_db:.1f} dB, what the jumps leave, and may still be too "
        "high; use the camera's uncompressed or intra-frame export, or a higher quality")
    cap_snr_estimate(info, jumps.snr_db)
    if "codec_cap" in info:  # a replica replacing the frames' cap keeps this one
        held = info["codec_cap"]
        info["codec_cap"] = dict(held, estimate_before_db=min(held["estimate_before_db"], float(jumps.snr_db)))
    return Audio(audio.samples, audio.sr, info, audio.noise)


def _honest_noise(noise, model_db, estimate_db, *, motion_px=None, highpass_hz=None):
    """The model's noise spectrum raised to the level of the estimate the data earned, where that is lower.

    The model counts the sensor noise the regions' information predicts; a camera
    track's error, a border strip's modulation or a codec add noise it does not see,
    and a denoiser given the model's level removes too little of it (``bench_nuisance``
    with ``mmse_lsa``: +0.0 to +0.3 dB per scene under shake, up to +0.7 under MJPEG).
    The model's level is kept where the data earn more (the estimate then differs from
    it by its own scatter).

    Where a stabiliser moved the frames (``motion_px``, ``(n, 2)``), the extra noise takes
    the spectrum of its sub-pixel interpolation's error (:func:`_interpolation_noise_shape`)
    instead of the model's: the extra power above ``highpass_hz`` is the same.
    """
    if noise is None or model_db is None or estimate_db is None:
        return noise
    if not (np.isfinite(model_db) and np.isfinite(estimate_db)) or estimate_db >= model_db:
        return noise
    ratio = 10 ** ((model_db - estimate_db) / 10)
    shape = _interpolation_noise_shape(motion_px, noise, highpass_hz)
    if shape is None:
        return noise.filtered(np.sqrt(ratio))
    freqs = noise.freqs_hz
    above = freqs >= (highpass_hz or 0.0)
    power = np.sum(noise.density[..., above], axis=-1, keepdims=True) * (freqs[1] - freqs[0])
    return NoiseSpectrum(noise.density + (ratio - 1.0) * power * shape, noise.sr)


#: Share of the interpolation error's power that must lie above the high-pass for its shape to
#: be used (a slow drift's lies below it: the model's shape is kept).
MIN_SOUND_BAND_SHARE = 1e-3


def _interpolation_noise_shape(motion_px, noise: NoiseSpectrum, highpass_hz):
    """Unit-power density on ``noise``'s grid of what a stabiliser's sub-pixel shifts add, or None.

    A frame shifted back by ``d`` px errs where the interpolation meets what it cannot
    know (content beyond the frame, detail near the pixel's Nyquist limit), and the error
    repeats with every whole pixel the camera moves: it is a function of ``d(t)`` with a
    period of 1 px. Its spectrum is taken as that of ``sin`` and ``cos`` of ``2 pi k d``
    (``k`` = 1, 2, each axis), above ``highpass_hz``: a 4 px shake at 10 Hz sweeps
    them up to a few hundred Hz, where the model's flat spectrum puts little of the excess.
    None where the frames moved less than :data:`~vismic.combine._confidence.MIN_SWEEP_PX`: camera.mp4
    (real H.264 footage, stabilised for 0.06 px) put its 23 dB of codec noise at the track's lowest
    frequencies then, over its 41 Hz peak (``bench_footage.py --downsample 1``).
    ``bench_nuisance.py`` with ``mmse_lsa`` (recover_sound's default): shake -0.9 (-1.9) dB
    against -0.9 (-2.4) with the model's shape; with a camera's borders (``--crop 16``) -1.0
    (-3.3) against -1.1 (-3.6), one scene 0.1 dB down; ``--size 192 --crop 16`` -2.9 (-5.9)
    against -3.7 (-6.2).
    """
    from scipy import signal

    from ..denoise import highpass
    from ..denoise._filters import settled_span
    from ._confidence import MIN_SWEEP_PX, position_features

    motion = None if motion_px is None else np.asarray(motion_px, dtype=np.float64)
    if motion is None or motion.ndim != 2 or motion.shape[0] < 64 or np.max(np.ptp(motion, axis=0)) < MIN_SWEEP_PX:
        return None
    features = position_features(motion)
    features -= features.mean(axis=-1, keepdims=True)
    if highpass_hz:
        settled = settled_span(features.shape[-1], sr=noise.sr, cutoff_hz=highpass_hz)
        features, filtered = features[:, settled], highpass(features, sr=noise.sr, cutoff_hz=highpass_hz)[:, settled]
    else:
        filtered = features
    whole, kept = np.sum(features ** 2, axis=-1), np.sum(filtered ** 2, axis=-1)
    features = filtered
    useful = kept > MIN_SOUND_BAND_SHARE * np.maximum(whole, 1e-300)
    if not np.any(useful):
        return None
    size = min(features.shape[-1], 2 * (noise.density.shape[-1] - 1))
    freqs, density = signal.welch(features[useful], fs=noise.sr, nperseg=size)
    density /= np.sum(density, axis=-1, keepdims=True) * (freqs[1] - freqs[0])
    shape = np.interp(noise.freqs_hz, freqs, density.mean(axis=0))
    total = np.sum(shape) * (noise.freqs_hz[1] - noise.freqs_hz[0])
    return shape / total if total > 0 else None


#: Where the output has no high-pass, the SNR estimate still measures above this (drift is not sound).
ESTIMATE_CUTOFF_HZ = 20.0


#: Frames the SNR estimate needs: the region groups' agreement is measured on frames the weights were not
#: fitted to, and the output's power above the high-pass.
MIN_ESTIMATE_FRAMES = 64
#: Periods of the estimate's cut-off a clip must last for the SNR estimate. Shorter clips at high frame
#: rates read 10-25 dB whatever they held: 7.5 ms of a still scene at 20000 fps estimated 11.0 dB, and of
#: music read at 1.6 dB 19.6; at 8000 fps 20 and 30 ms were more than 3 dB too high on 5 of 8 scenes, 40 ms
#: and more on none (a random sweep of scenes, one-off).
MIN_ESTIMATE_PERIODS = 1.0


def _estimate_cutoff(evidence: RegionEvidence, cutoff):
    """The cut-off the SNR estimate measures above, or None when it is not made.

    Without a high-pass, :func:`default_estimate_cutoff`.
    """
    if evidence.grid is None or evidence.n < MIN_ESTIMATE_FRAMES:
        return None
    cutoff = cutoff if cutoff is not None else default_estimate_cutoff(evidence.fps)
    return cutoff if evidence.n / evidence.fps >= MIN_ESTIMATE_PERIODS / cutoff else None


def _too_short(evidence: RegionEvidence, cutoff) -> str:
    """Why a clip is too short for the SNR estimate (too few frames, or too short a time)."""
    if evidence.n < MIN_ESTIMATE_FRAMES:
        return (f"only {evidence.n} frames: the SNR estimate needs {MIN_ESTIMATE_FRAMES} to check the recovery on "
                "frames it was not fitted to, so how much of the output is sound is unknown")
    cutoff = cutoff if cutoff is not None else default_estimate_cutoff(evidence.fps)
    return (f"the clip lasts {1000 * evidence.n / evidence.fps:.3g} ms, less than a period of the {cutoff:g} Hz "
            f"high-pass ({1000 * MIN_ESTIMATE_PERIODS / cutoff:.3g} ms): the SNR estimate cannot tell sound from what "
            "the high-pass leaves of slow motion and noise there, so how much of the output is sound is unknown")


def default_estimate_cutoff(fps: float) -> float:
    """:data:`ESTIMATE_CUTOFF_HZ`, or a tenth of the Nyquist frequency at frame rates where it is not below it (Hz).

    A 24 fps clip of a swaying crane has no band above 20 Hz to measure in.

    >>> default_estimate_cutoff(2200.0), default_estimate_cutoff(30.0)
    (20.0, 1.5)
    """
    return ESTIMATE_CUTOFF_HZ if ESTIMATE_CUTOFF_HZ < fps / 2.0 else fps / 20.0


def check_highpass(highpass_hz, fps: float):
    """The drift high-pass in Hz (None for none), refused past the Nyquist frequency of ``fps``."""
    if highpass_hz is None:
        return None
    cutoff = as_number(highpass_hz)
    if cutoff is None:
        raise ParameterError(f"highpass_hz must be a number of Hz or None, given highpass_hz={highpass_hz!r}")
    if not np.isfinite(cutoff) or cutoff < 0:
        raise ParameterError(f"highpass_hz must be a finite number of Hz >= 0 (0 or None: no high-pass), given "
                             f"highpass_hz={highpass_hz!r}")
    if cutoff >= fps / 2:
        raise ParameterError(
            f"the drift high-pass at {highpass_hz!r} Hz is not below the Nyquist frequency of {fps:g} fps "
            f"({fps / 2:g} Hz): give one below it (--highpass HZ, highpass_hz=), or 0 to keep the drift"
        )
    return cutoff if cutoff > 0 else None
