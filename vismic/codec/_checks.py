"""What :func:`vismic.recover_sound` says about a video's codec, and the replica that checks its estimate.

The frames an inter-frame codec held (:func:`check_codec`), the file's own codec
(:func:`check_file_codec`), and for VP9, VP8 and H.264 files a replica of the scene through the
same codec that caps ``snr_estimate_db`` at what it recovered (:func:`check_replica`).
"""

from __future__ import annotations

import copy
import itertools
import logging
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

if TYPE_CHECKING:  # for the annotations only: the checks import what they run when they run, as recover_sound does
    from ..data import Audio
    from ..pipeline import Pipeline

logger = logging.getLogger("vismic")

__all__ = ["check_codec", "check_file_codec", "check_replica", "replaceable_cap", "unhold_report",
           "REPLICA_OVER_CAP_DB", "SOUND_MAP_FLOOR_DB", "REPEATED_SHARE"]


def unhold_report(pipeline: Pipeline):
    """What the pipeline's :class:`~vismic.codec.Unhold` step measured (None without one)."""
    from ._unhold import Unhold

    return next((stage.report() for _, stage in pipeline.steps if isinstance(stage, Unhold)), None)


#: Lowest cap of frames that barely differ (``10 log10 innovation``, dB) that a replica through the file's
#: codec replaces: below it the frames kept under a tenth of their change (MPEG-4 part 2 at OpenCV's defaults
#: 0.03-0.11, x264 at its defaults 0.00), the sound is lost, and a replica read such a file 18.3 dB high
#: where the cap (-60 dB) was 27.4 dB low (``benchmarks/bench_nuisance.py --nuisances h264``, gravel). Above
#: it x264 at ``-crf 10`` held the faint noise of scenes whose sound it kept: the cap read -3.0 dB for
#: 10.6 (``benchmarks/bench_replica.py --codec h264 --crf 10``), the replica 9.5.
REPLICA_OVER_CAP_DB = -10.0

#: Lowest estimate (dB) at which a replica moves the regions of the sound map rather than the whole frame:
#: below it the output is under a tenth sound, and its sound map, each region's coherence with the output,
#: is as much noise. x264 at its defaults (``benchmarks/bench_replica.py --codec h264``, the sound lost on
#: most scenes): reports 2/16 within 3 dB and 4 more than 3 dB high, against 1/16 and 6 with the map's
#: regions at any estimate. At 0 dB the same, but the object scene whose output was just below 0 dB
#: (``--object 0.4``, -2.0 to -5.0 dB) lost its replica (8.4-10.0 dB high), its map having found the object.
SOUND_MAP_FLOOR_DB = -10.0


#: Share of a video's textured frames that repeat the frame before exactly beyond which, in a file of no
#: inter-frame codec (or an array), the frames are called repeated rather than held by a codec.
REPEATED_SHARE = 0.2


def _repeated_frames(statistics, fourcc) -> Optional[str]:
    """The finding of frames repeated whole, where the file's codec does not explain them (else None)."""
    from ..io._codec import inter_frame_codec

    share = 0.0 if statistics is None else float(statistics.get("repeated", 0.0))
    if share < REPEATED_SHARE or inter_frame_codec(fourcc) is not None:
        return None
    return (f"{share:.0%} of the frames repeat the frame before exactly, every pixel: the video holds fewer distinct "
            "frames than its rate says (frames duplicated, as when a rate is converted on export), and the sound is "
            "sampled at the distinct frames' rate, its higher frequencies folded back; recover the camera's own "
            "export, or one with the duplicates removed (at their own rate)")


def check_codec(info: dict, statistics, unheld=None, fourcc=None) -> None:
    """Flag frames an inter-frame codec held (measured where they were read) and cap ``snr_estimate_db``.

    The region groups of the estimate all see the same held frames and agree on
    them, so only the frames themselves show it (:func:`vismic.stabilise.codec_finding`;
    a :class:`~vismic.stabilise.Stabilise` in the pipeline has checked already).
    With the frames unheld (``unheld``, a :class:`~vismic.codec.UnholdReport`) the cap is
    what the coded coefficients can tell (its ``snr_limit_db``): the groups agree on the
    motion the copied coefficients left out, as they did on the held frames.
    """
    from .._reliability import cap_snr_estimate
    from ..combine._confidence import codec_finding
    from ..denoise._estimate import restore_before_denoising

    reliability = dict(info.get("reliability", {}))
    cap = None
    repeated = _repeated_frames(statistics, fourcc)
    if repeated is not None:  # whole frames repeated: no codec holds them, and its cap would say -60 dB
        reliability["repeated_frames"] = repeated
        if reliability.pop("key_frame_jumps", None) is not None:  # the repeats' steps, read as key frames' leaps
            before = info.get("key_frame_jumps", {}).get("estimate_before_db")
            if before is not None:
                info["snr_estimate_db"] = before
            info.pop("key_frame_jumps", None)
        info["reliability"] = reliability
        statistics = None
    if statistics is not None and "inter_frame_codec" not in reliability:
        codec = codec_finding(statistics["innovation"], held_blocks=statistics["held_blocks"],
                              whole_blocks=statistics["whole_blocks"])
        if codec is not None:
            cap, reliability["inter_frame_codec"] = codec
    if "inter_frame_codec" in reliability and "key_frame_jumps" in reliability:
        del reliability["key_frame_jumps"]  # the held blocks' finding says it: one message for one codec
        info["reliability"] = reliability
    if unheld is not None:
        info["unhold"] = {"key_frames": unheld.key_frames, "frames": unheld.frames,
                          "coded_share": unheld.coded_share, "snr_limit_db": unheld.snr_limit_db}
        info.pop("codec_cap", None)  # the coefficients' cap is measured, not a guess a replica replaces
        cap = unheld.snr_limit_db
        if "inter_frame_codec" in reliability:
            reliability["inter_frame_codec"] += (
                f"; vismic measured the motion from the coefficients the codec coded (unhold: "
                f"{unheld.coded_share:.2%} of the motion information a frame between key frames), and "
                f"the estimate is at most {cap:.1f} dB, what they tell under its shrinkage")
    if "inter_frame_codec" in reliability:
        restore_before_denoising(info)  # the held motion's error follows the sound: no denoiser removes it
    if cap is None:
        return
    info["reliability"] = reliability
    if unheld is None and info.get("snr_estimate_db") is not None:
        # a replica through the file's codec measures what the held frames cost; it may replace this cap
        # (replaceable_cap); a stabiliser's frames record theirs in the combination
        info["codec_cap"] = {"cap_db": float(cap), "estimate_before_db": info["snr_estimate_db"]}
    cap_snr_estimate(info, cap)


def replaceable_cap(info: dict):
    """``info["codec_cap"]`` where a replica's figure replaces it: frames that kept at least a tenth of their change."""
    held = info.get("codec_cap") if "inter_frame_codec" in info.get("reliability", {}) else None
    return held if held is not None and held["cap_db"] >= REPLICA_OVER_CAP_DB else None


def check_file_codec(info: dict, fourcc) -> None:
    """Record a video file's codec, and flag an inter-frame one the frames did not show already.

    Motion compensation replaces the sub-pixel motion of a frame with the codec's own
    prediction of it, alike across the frame: the region groups agree on it, and the
    frames do not show it as held blocks (VP8 and VP9 hold none), so only the file's
    codec tells. ``benchmarks/bench_nuisance.py``'s ``vp8`` and ``vp9`` rows: the combination's
    estimate 3.5-9.5 dB above the truth on six of the eight scenes at 96 px, up to 13.7 dB at
    192 px (``--size 192``); on VP9, VP8 and H.264 files :func:`recover_sound` then checks it
    on a replica (``codec_replica``). Its ``h264`` rows (x264's defaults) lose the sound
    altogether; the combination flags them from the jumps at the key frames (``key_frame_jumps``).
    """
    from ..denoise._estimate import restore_before_denoising
    from ..io._codec import inter_frame_codec

    if fourcc is None:
        return
    info["codec"] = fourcc
    name = inter_frame_codec(fourcc)
    reliability = dict(info.get("reliability", {}))
    if name is None or "inter_frame_codec" in reliability:
        return
    reliability["lossy_codec"] = (
        f"the video is compressed with {name} ({fourcc}), an inter-frame codec: its motion compensation alters "
        "the sub-pixel motion alike across the frame, which snr_estimate_db cannot see (on VP8 and VP9 test "
        "scenes the true SNR was up to 13.7 dB lower, and x264 at its default quality kept nothing of a 0.05 px "
        "motion); use the camera's uncompressed or intra-frame export")
    info["reliability"] = reliability
    restore_before_denoising(info)


def refresh_low_snr(info: dict, reliability: dict) -> None:
    """``reliability["low_snr"]`` as the estimate now stands, after a replica replaced or lowered it."""
    from .._reliability import SNR_FLOOR_DB

    estimate = info.get("snr_estimate_db")
    if estimate is None:
        return
    reliability.pop("low_snr", None)
    if not np.isfinite(estimate) or estimate < SNR_FLOOR_DB:
        reliability["low_snr"] = (f"the recovered sound is mostly noise (estimated SNR {estimate:.1f} dB, at most what "
                                  "a replica through the file's codec gave)")
    info["reliability"] = reliability


def check_replica(audio: Audio, pipeline: Pipeline, source, run: dict, recover_once: Callable) -> None:
    """Cap ``snr_estimate_db`` at what a replica through the file's codec recovered (VP9, VP8, H.264; see ``codec_replica``).

    The replica moves the regions of the recovery's sound map, and is recovered by the
    pipeline up to its combination (less a stabiliser: the replica holds no camera motion),
    whose estimate it checks, repairing the replica's own
    key frames where the file's were repaired. ``recover_once`` is the recovery's own run of a
    pipeline on a source (``vismic.recover._once.recover_once``), which recovers the replica.
    """
    from .._reliability import LOW_SNR_PREFIX, cap_snr_estimate, findings
    from ..combine import Combine
    from ..io import open_video
    from ..io._codec import inter_frame_codec
    from ..pipeline import Pipeline

    info = audio.info
    codec = inter_frame_codec(getattr(source, "codec", None))
    if (codec not in ("VP9", "VP8", "H.264") or getattr(source, "path", None) is None
            or getattr(source, "downsample", 1) != 1 or np.ndim(audio.samples) != 1
            or not np.isfinite(np.atleast_1d(info.get("direction_degrees", np.nan))[0])):
        return
    combine = next((i for i, (_, stage) in enumerate(pipeline.steps) if isinstance(stage, Combine)), None)
    if combine is None:
        return
    try:
        import av
    except ImportError:
        logger.info("PyAV is not installed: the %s file's compression is not measured (pip install vismic[codecs])",
                    codec)
        return
    from . import NOISE_FRAMES, codec_replica, moving_regions, read_quantisers, read_rate
    from ._x264_settings import replica_x264_params

    # the replica holds no camera motion: a stabiliser measures next to nothing there and moves next to nothing,
    # at a quarter of the whole recovery's time (camera.mp4 read whole: 64 -> 49 s, its replica -0.963 dB either
    # way; throat.mp4 131 -> 116 s, 6.4 -> 6.2 dB)
    from ..stabilise import Stabilise

    head = Pipeline(copy.deepcopy([(name, stage) for name, stage in pipeline.steps[:combine + 1]
                                   if not isinstance(stage, Stabilise)]))
    repairs = head.steps[-1][1].key_frames is not None
    progress = run["progress"]
    logger.info("measuring what the %s compression cost on a replica of the scene", codec)

    def recover(frames, key_frames):
        if hasattr(progress, "restart"):  # each replica is at most as long as the video: the bar never overflows
            progress.restart("codec replica")
        head.steps[-1][1].key_frames = key_frames if repairs else None
        replica = open_video(frames, fps=audio.sr)
        return recover_once(head, replica, frames, **dict(run, progress=progress)).samples

    try:
        coding = (dict(rate=read_rate(source.path, max_frames=source.max_frames)) if codec == "VP8"
                  else dict(quantiser=read_quantisers(source.path, max_frames=source.max_frames)))
        first = _first_frames(source, NOISE_FRAMES)
        estimate = info.get("snr_estimate_db")
        located = info.get("sound_map") is not None and (estimate is None or estimate >= SOUND_MAP_FLOOR_DB)
        shape = moving_regions(info["sound_map"], first.shape[1:3]) if located else None
        # VP8's replica follows the output itself: driven by another waveform it read FFmpeg's -crf 10 files
        # 3.3 dB low (median; 3/8 within 3 dB, 7/8 driven by the output; benchmarks/bench_replica.py --drive)
        if hasattr(progress, "restart"):  # the noise search renders and codes a few short replicas first
            try:
                progress.restart("codec replica: matching the file's noise", counted=False)
            except TypeError:  # a progress of one's own, whose restart takes the label alone
                progress.restart("codec replica: matching the file's noise")
        found = codec_replica(first, audio.samples, recover, **coding, mode_shape=shape, independent=codec != "VP8",
                              direction_degrees=float(np.atleast_1d(info["direction_degrees"])[0]), fps=audio.sr,
                              progress=progress)
    except (av.error.FFmpegError, OSError, ValueError) as error:  # ParameterError and FrameShapeError are ValueErrors
        logger.warning("the %s file's compression could not be measured on a replica (%s); its estimate stands",
                       codec, error)
        return
    settings = getattr(coding.get("quantiser"), "encoder_settings", None) if codec == "H.264" else None
    info["codec_replica"] = {"snr_db": found.snr_db, "noise_std": found.noise_std, "q_index": found.q_index,
                             "bits_per_pixel": found.bits_per_pixel, "key_interval": found.key_interval,
                             "frames": found.frames}
    if settings is not None:  # how x264 was told to code it: as the file says it was
        info["codec_replica"]["x264_params"] = replica_x264_params(settings)
    reliability = dict(info.get("reliability", {}))
    held = replaceable_cap(info)
    if held is not None:
        # the frames' innovation guesses what the held blocks cost; the replica, held by the same codec, measures it
        info["snr_estimate_db"] = held["estimate_before_db"]
    cap_snr_estimate(info, found.snr_db)
    refresh_low_snr(info, reliability)
    if codec == "VP9":
        at = f"libvpx-vp9, index {found.q_index:.0f}"
    elif codec == "H.264":
        at = f"x264, QP {found.q_index:.1f}" + (", with the settings x264 wrote into the file" if settings else "")
    else:
        at = f"libvpx's VP8, {found.bits_per_pixel:.2f} bits a pixel" + (
            f", index {found.q_index:.0f} between key frames" if np.isfinite(found.q_index) else "")
    moved = "moved by the output" if codec == "VP8" else "moved with the output's spectrum, not its waveform"
    measured = (f"; a replica of the scene through the same codec at the file's "
                f"{'rate' if codec == 'VP8' else 'quantiser'} ({at}; {moved}) was recovered at {found.snr_db:.1f} dB, "
                "and snr_estimate_db is at most that")
    if held is not None:
        measured += f", not the {held['cap_db']:.1f} dB the frames' innovation gives"
    said = list(info.get("warnings", []))
    name = "lossy_codec" if "lossy_codec" in reliability else "inter_frame_codec"
    if name in reliability:
        before = reliability[name]
        reliability[name] += measured
        info["reliability"] = reliability
        said = [reliability[name] if line == before else line for line in said]
    # the estimate may now be below the floor: say so with its new value
    said = [line for line in said if not line.startswith(LOW_SNR_PREFIX)]
    info["warnings"] = said + [line for line in findings(audio.samples, info) if line.startswith(LOW_SNR_PREFIX)]


def _first_frames(source, count: int) -> np.ndarray:
    """The first ``count`` frames of ``source`` as read, held as 8 or 16-bit integers where they are.

    A file's frames read as float32, four times their 8 bits (an H.264 file's grey, through its
    colour conversion, as integers to a few 1e-5): 257 frames of 1280x800 took 1 GB, and as
    much again while a file read in order stacked them.
    """
    out, dtype, n = None, None, 0
    for frame in itertools.islice(source.frames(), count):
        kind = np.dtype(np.float32) if dtype == np.float32 else _integer_kind(frame)
        if out is None:
            out, dtype = np.empty((count,) + frame.shape, dtype=kind), kind
        elif np.promote_types(dtype, kind) != dtype:
            dtype = np.promote_types(dtype, kind)
            out = out.astype(dtype)
        out[n] = np.rint(frame) if dtype != np.float32 else frame
        n += 1
    if out is None:
        from ..errors import ParameterError

        raise ParameterError("the video has no frames to measure its compression on")
    return out[:n]


#: How far from integers frames may read and still be held as integers (float32 rounding of a colour conversion).
_INTEGER_TOLERANCE = 1e-3


def _integer_kind(frame: np.ndarray) -> np.dtype:
    """uint8 or uint16 where ``frame``'s values are integers of that range, else float32."""
    if not np.allclose(frame, np.rint(frame), rtol=0.0, atol=_INTEGER_TOLERANCE):
        return np.dtype(np.float32)
    low, high = float(frame.min()), float(frame.max())
    if low >= -0.5 and high < 255.5:
        return np.dtype(np.uint8)
    return np.dtype(np.uint16) if low >= -0.5 and high < 65535.5 else np.dtype(np.float32)
