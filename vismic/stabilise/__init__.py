"""Recovery that survives real recordings: slow camera motion, changing light, lossy codecs.

:class:`Stabilise` is a streaming frame stage that removes motion below the
sound band (drift, sway, shake of any size: measured on block means, low-passed,
removed by an exact sub-pixel shift) and per-frame light gain and offset
(flicker, exposure steps, fades) before the evidence is measured.
:class:`NormaliseLight` (in the default pipeline) removes only global light
changes, exactly and at the cost of two dot products a frame.
:func:`snr_estimate` gives an SNR estimate the data must earn (agreement of
disjoint region groups, slow-motion leak, distortion and codec checks) with
named reliability flags.

:func:`vismic.recover_sound` puts :class:`Stabilise` before the decomposition
when a first pass finds slow motion (``stabilise='auto'``, the default) or
always (``stabilise=True``); in a pipeline of one's own it is a step like any
other (``default_pipeline(stabilise=True)``), and its :class:`StabiliseReport`
reaches :class:`vismic.combine.Combine`'s SNR estimate through
:class:`vismic.pipeline.StageReports`.
"""

from ..combine._confidence import (
    MOTION_TOLERANCE_PX,
    codec_finding,
    codec_innovation,
    consistency_snr_db,
    region_groups,
    reliability_flags,
    snr_estimate,
)
from ._border import kept_information, near_clip_noise, near_clip_weights
from ._light import NormaliseLight, light_basis, remove_light
from ._shift import shift_frames, shift_frames_into, shift_frames_over, spectral_gradient
from ._report import StabiliseReport
from ._stage import Stabilise, compensated_share, stabilise_frames, stabilise_source
from ._track import (
    correct_block_means,
    extend_track,
    fit_light,
    interpolate_blocks,
    measure_shift,
    measured_blocks,
    slow_track,
    smooth_track,
    sound_taken,
    taper,
    track_error,
    track_kernel,
    track_response,
    TrackSettings,
)

__all__ = ["Stabilise", "NormaliseLight", "light_basis", "remove_light", "StabiliseReport", "stabilise_frames", "stabilise_source", "compensated_share",
           "kept_information", "near_clip_weights", "near_clip_noise", "shift_frames", "shift_frames_over", "shift_frames_into", "spectral_gradient",
           "measure_shift", "smooth_track", "correct_block_means", "interpolate_blocks", "extend_track",
           "slow_track", "measured_blocks", "track_error", "track_response", "sound_taken", "TrackSettings", "track_kernel",
           "fit_light", "taper",
           "consistency_snr_db", "region_groups", "reliability_flags",
           "snr_estimate", "codec_innovation", "codec_finding", "MOTION_TOLERANCE_PX"]
