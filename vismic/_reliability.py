"""Is there anything in a recovery? Findings that say when it should not be trusted.

Pure functions: :func:`findings` looks at the finished recovery and the numbers
:mod:`vismic._frame_statistics` gathered about its frames while they streamed, and
returns one sentence per problem found:

- blank frames: every pixel the same in every frame (all black, all white, a lens cap);
- no motion: the recovered motion is numerical dust (identical frames);
- no stable texture: frames change as much over time as across the image (pure noise,
  a flat surface, nothing in focus), so there is no pattern whose motion could be read;
- an estimate below the floor: the recovery's own SNR estimate says noise dominates;
- motion too large to linearise: local phase follows motion linearly only well under
  a pixel; beyond, the sound is distorted however confident the estimate
  (rendered scenes: 0.5 px peak gives 28-30 dB, 1 px 15-18 dB, 20 px below -10 dB
  while the estimate stays above 30 dB);
- clipped frames: a large share of pixels at the darkest or brightest value, or a small
  one at the top of the data's range (saturated, as the stabiliser's report counts it).

Where nothing moved, the frames' own findings (blank, no texture, clipped) say why.

Thresholds are measured on :mod:`vismic.synth` scenes (``benchmarks/bench_reliability.py``).
"""

from __future__ import annotations

from typing import List, Mapping, Optional

import numpy as np

__all__ = [
    "NO_MOTION_PX",
    "MIN_TEXTURE_RATIO",
    "SNR_FLOOR_DB",
    "MAX_LINEAR_PX",
    "MAX_CLIPPED_FRACTION",
    "SATURATED_FRACTION",
    "findings",
    "cap_snr_estimate",
]

#: A recovered peak below this many pixels is numerical dust, not motion.
NO_MOTION_PX = 1e-9
#: Spatial contrast of the batch-mean frame over the mean temporal deviation of a pixel, below
#: which frames hold no stable texture (real scenes: > 10; independent noise frames: ~0.1).
MIN_TEXTURE_RATIO = 1.0
#: The recovery's own SNR estimate below which noise dominates, in dB.
SNR_FLOOR_DB = 0.0
#: Peak recovered motion, in pixels, beyond which local phase no longer follows it linearly.
MAX_LINEAR_PX = 0.6
#: Wavenumber (rad/px) of the finest levels, with which a motion's harmonics are reckoned (:func:`harmonics_limit_db`).
#: Every region reads ``sin(k d)`` alike, so the region groups agree on its third harmonic and count it as sound.
#: 160 scenes (8 textures, tones at 0.3 and 0.88 Nyquist, music, speech, 0.12-0.5 px, noise 0.5, one-off) had
#: 48 estimates more than 3 dB high: every one above the limit this gives, and the others at most 0.1 dB high;
#: 1.5 rad/px left one unwarned (+3.6). A warning from a peak of 0.25 px alone, before, left estimates up to 6 dB
#: high unwarned at 0.12-0.25 px, and warned on scenes whose noise lay far above their harmonics. As a term in
#: the estimate it read gravel's coarser texture up to 26 dB low: the texture decides, so it is a warning.
HARMONICS_K = 2.0


def harmonics_limit_db(peak_px: float) -> float:
    """The SNR (dB) the third harmonic of a sine of ``peak_px`` leaves on the finest levels: ``(k d)^2 / 24`` of it.

    Examples
    --------
    >>> [round(harmonics_limit_db(d), 1) for d in (0.1, 0.2, 0.3, 0.5)]
    [55.6, 43.5, 36.5, 27.6]
    """
    return -20.0 * np.log10(max(HARMONICS_K * float(peak_px), 1e-12) ** 2 / 24.0)
#: Share of pixels at the darkest or brightest value beyond which frames are called clipped.
MAX_CLIPPED_FRACTION = 0.3
#: Share of pixels at the top of 8, 10, 12, 14 or 16-bit data beyond which frames are called saturated, as
#: the stabiliser's report counts them (black at 0 is left to :data:`MAX_CLIPPED_FRACTION`: a dark
#: background holds no texture to lose, and 2 % of the real clips' pixels sat at 0).
SATURATED_FRACTION = 0.02
def cap_snr_estimate(info: dict, cap_db: float) -> None:
    """Lower ``info["snr_estimate_db"]`` (a number, or one per channel) to at most ``cap_db``, where present.

    >>> info = {"snr_estimate_db": [12.0, 3.0]}; cap_snr_estimate(info, 5.0); info
    {'snr_estimate_db': [5.0, 3.0]}
    """
    if info.get("snr_estimate_db") is None:
        return
    capped = np.minimum(np.asarray(info["snr_estimate_db"], dtype=np.float64), cap_db)
    info["snr_estimate_db"] = capped.tolist() if capped.ndim else float(capped)


def estimate_note(info: Mapping) -> str:
    """What to say after ``snr_estimate_db``: where a codec's error is or is not in it, and a denoiser's gain ('' otherwise).

    >>> estimate_note({"reliability": {"lossy_codec": "..."}})
    " (the codec's error not counted)"
    >>> estimate_note({"reliability": {"lossy_codec": "..."}, "codec_replica": {"snr_db": 9.5}})
    ' (at most the 9.5 dB a replica through the codec gave)'
    >>> estimate_note({"denoised": {"estimate_before_db": 16.2}})
    ' (after denoising; 16.2 dB before)'

    Output whose motion is too large for the linear evidence is said not to be trusted: a
    camera shaking at 5-60 Hz, in the sound band, read 8.8 dB for an output of -33.9 (an audit, one-off; the
    regions agree on the frame's motion; the warning said so, the summary line did not).
    """
    return _caveat(info) + _denoised_note(info)


def _denoised_note(info: Mapping) -> str:
    held = info.get("denoised") or {}
    before = np.atleast_1d(np.asarray(held.get("estimate_before_db", np.nan), dtype=np.float64))
    if held.get("restored") or before.size != 1 or not np.isfinite(before[0]):
        return ""
    return f" (after denoising; {before[0]:.1f} dB before)"


def _caveat(info: Mapping) -> str:
    if any(line.startswith(TOO_LARGE_PREFIX) for line in info.get("warnings", [])):
        return " (not to be trusted: the motion is too large for the linear evidence, see the warning)"
    if any(line.startswith(HARMONICS_PREFIX) for line in info.get("warnings", [])):
        return " (may read high: the motion is large enough for its harmonics to count, see the warning)"
    if "lossy_codec" not in info.get("reliability", {}):
        return ""
    replica = info.get("codec_replica")
    if replica is not None:
        return f" (at most the {replica['snr_db']:.1f} dB a replica through the codec gave)"
    return " (the codec's error not counted)"


#: How the finding of motion beyond what local phase follows linearly begins.
TOO_LARGE_PREFIX = "motion too large"

#: How the finding of motion whose harmonics may read as sound begins.
HARMONICS_PREFIX = "motion large for the estimate"

#: How the finding of an SNR estimate below :data:`SNR_FLOOR_DB` begins.
LOW_SNR_PREFIX = "the estimated SNR"
#: How the finding of frames without a pattern that stays begins.
NO_TEXTURE_PREFIX = "no stable texture"

#: How the finding of clipped frames begins (the stabiliser's ``saturated`` and ``black`` flags say it again).
CLIPPED_PREFIX = "clipped frames"


def findings(samples, info: Mapping, statistics: Optional[Mapping] = None) -> List[str]:
    """Sentences saying why a recovery should not be trusted (empty when none applies).

    Parameters
    ----------
    samples : array_like [shape=(n,) or (n_channels, n)]
        The recovered motion, in pixels.
    info : mapping
        The recovery's ``info`` (``snr_estimate_db`` is read where present).
    statistics : mapping, optional
        :func:`merge_statistics` of the frames.

    Examples
    --------
    >>> findings(np.zeros(100), {"snr_estimate_db": 5.0})[0][:40]
    'no motion found: the recovered motion pe'
    >>> findings(0.01 * np.sin(np.arange(100)), {"snr_estimate_db": 20.0})
    []
    """
    samples = np.asarray(samples, dtype=np.float64)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    found = []
    blank = statistics is not None and statistics["texture"] <= 0 and statistics["flicker"] <= 0
    if blank:  # the cause of everything else: say it first
        found.append("blank frames: every pixel holds the same value in every frame (all black, all white or one "
                     "grey), so there is nothing whose motion can be read; check the exposure, the lens cap and --roi")
    if not np.isfinite(peak) or peak < NO_MOTION_PX:
        found.append(f"no motion found: the recovered motion peaks at {peak:.2g} px (numerical noise); "
                     "check that the frames differ and that --fps and --roi point at the vibrating object")
        # what the frames show says why (texture, clipping); the SNR and size of the dust would not
        return found if blank else found + _texture_findings(statistics) + _clipped_findings(statistics)
    if blank:
        return found
    found += _texture_findings(statistics)
    snr = np.atleast_1d(np.asarray(info.get("snr_estimate_db", np.nan), dtype=np.float64))
    if samples.ndim == 2 and samples.shape[0] > 1:
        empty = np.max(np.abs(samples), axis=1) < NO_MOTION_PX
        if np.any(empty):
            found.append(f"only {int(np.sum(~empty))} of the {samples.shape[0]} sources asked for were found: "
                         f"{'channels' if np.sum(empty) > 1 else 'channel'} "
                         f"{', '.join(str(i + 1) for i in np.flatnonzero(empty))} "
                         f"{'hold' if np.sum(empty) > 1 else 'holds'} nothing; ask for fewer (--sources, n_sources=)")
            if snr.size == samples.shape[0]:
                snr = snr[~empty]  # the empty channels' estimates say the same again
    if samples.ndim == 2 and samples.shape[0] > 1 and snr.size > 1 and 0 < np.sum(snr < SNR_FLOOR_DB) < snr.size:
        low = np.flatnonzero(snr < SNR_FLOOR_DB)
        named = np.flatnonzero(~empty)[low] if snr.size < samples.shape[0] else low
        found.append(f"{LOW_SNR_PREFIX} of channel{'s' if low.size > 1 else ''} "
                     f"{', '.join(str(i + 1) for i in named)} ({', '.join(f'{v:.1f}' for v in snr[low])} dB) is below "
                     f"{SNR_FLOOR_DB:g} dB: {'they are' if low.size > 1 else 'it is'} mostly noise, regions that no "
                     "source of their own moves; the video may hold fewer sources than asked (--sources, n_sources=)")
    elif np.any(snr < SNR_FLOOR_DB):
        # more light does not undo a codec: its own finding says what would
        reliability = info.get("reliability", {})
        if "large_motion" in reliability:  # more light does not undo slow motion either
            advice = "the slow motion below the sound band caps it (see that finding)"
        elif "inter_frame_codec" in reliability or "key_frame_jumps" in reliability:
            advice = "the inter-frame codec caps it (see that finding)"
        elif "lossy_codec" in reliability and info.get("codec_replica") is not None:
            advice = "the codec's own error is in it, measured on a replica (see that finding)"
        elif "lossy_codec" in reliability:
            advice = "the codec's own error comes on top of it (see that finding)"
        else:
            advice = "try a larger --roi, more light or a closer view"
        found.append(f"{LOW_SNR_PREFIX} ({', '.join(f'{v:.1f}' for v in snr)} dB) is below {SNR_FLOOR_DB:g} dB: "
                     f"the output is mostly noise; {advice}")
    if peak > MAX_LINEAR_PX:
        found.append(f"{TOO_LARGE_PREFIX}: it peaks at {peak:.2f} px, beyond the ~{MAX_LINEAR_PX:g} px that local "
                     "phase follows linearly, so the sound is distorted whatever the SNR estimate says; "
                     "use --downsample to shrink the motion in pixels, or film from further away")
    elif np.any(snr > (harmonics_db := harmonics_limit_db(peak))):
        found.append(f"{HARMONICS_PREFIX}: it peaks at {peak:.2f} px, where the sound's own harmonics, which every "
                     f"region reads alike, may lie {harmonics_db:.0f} dB below it; an SNR estimate above "
                     "that may count them as sound and read high; --downsample shrinks the motion in pixels")
    return found + _clipped_findings(statistics)


def _texture_findings(statistics: Optional[Mapping]) -> List[str]:
    """The frames hold no pattern that stays (from :func:`merge_statistics`; empty without statistics)."""
    if statistics is None:
        return []
    # what a global light change leaves aside: NormaliseLight takes it out
    texture, flicker = statistics["texture"], statistics.get("unsteady", statistics["flicker"])
    if texture > 0 and texture >= MIN_TEXTURE_RATIO * flicker:
        return []
    return [f"{NO_TEXTURE_PREFIX}: pixels vary as much over time (mean deviation {flicker:.3g}) as "
            f"across the image ({texture:.3g}), so there is no pattern whose motion can be read; "
            "film a textured, focused, well-lit surface or choose it with --roi"]


def _clipped_findings(statistics: Optional[Mapping]) -> List[str]:
    """A share of pixels at the frames' darkest or brightest value (empty without statistics).

    More than :data:`MAX_CLIPPED_FRACTION` at any value, or more than :data:`SATURATED_FRACTION`
    at the top of the data's range (:data:`vismic._frame_statistics.TOP_LEVELS`), in some window.
    """
    if statistics is None:
        return []
    found = []
    for key, word in (("dark", "darkest"), ("bright", "brightest")):
        if clipped(statistics, key):
            frames = statistics.get(f"{key}_frames")
            where = "" if frames is None else f"in {100 * frames:.0f} % of the frames, up to "
            found.append(f"{CLIPPED_PREFIX}: {where}{100 * statistics[key]:.0f} % of pixels sit at the {word} value, "
                         "where motion leaves no trace; adjust the exposure or choose a region with --roi")
    return found


def clipped(statistics: Mapping, key: str) -> bool:
    """Whether a window's (or a video's worst) share of pixels at the darkest or brightest value counts as clipped."""
    return bool(statistics[key] > MAX_CLIPPED_FRACTION
                or (key == "bright" and statistics.get("bright_at_top", 0.0) > SATURATED_FRACTION))
