"""Sound from scenes with the nuisances of real recordings, with and without :mod:`vismic.stabilise`.

Per scene of :mod:`vismic.synth` (a texture moving by a known sub-pixel
displacement proportional to music or speech, sensor noise, 8-bit frames) this
renders the clean scene and the same scene under each nuisance of
:func:`vismic.synth.render_nuisance_scene` / :func:`vismic.synth.compress`:

* ``drift4``  -- a smooth drift of 4 px over the clip (x 3.5 px, y 2 px),
* ``sway2``   -- a 2 px sway at 2 Hz (along 60 degrees),
* ``shake4``  -- random camera shake, flat 0.5-10 Hz, 4 px peak on x and on y,
* ``flick120``-- mains flicker, ±5 % at 120 Hz with a 2nd harmonic of 0.3,
* ``flick100``-- ±5 % at 100 Hz,
* ``expo``    -- an auto-exposure step (+15 % at 40 % of the clip) and a fade to 90 %,
* ``mjpg``, ``mp4v`` -- OpenCV's MJPG and MPEG-4 part 2 encoders at their default quality
  (for ``mjpg`` also the loss its quantisation table itself puts on the bound,
  :func:`vismic.metrics.dct_quantiser_loss_db`),
* ``vp8``, ``vp9`` -- OpenCV's VP8 and VP9 encoders at their default settings: motion-compensated
  codecs of H.264's kind,
* ``h264`` -- x264 through PyAV at its defaults (CRF 23, preset medium, a key frame every 250
  frames), as ``ffmpeg -c:v libx264`` exports a clip. ``recover_sound`` reads these
  clips, as every codec's, from the compressed file, as a user would;

and prints for each: the Cramér-Rao bound of the clean scene
(:func:`vismic.metrics.scene_bound`), the SI-SNR (dB, against the true
displacement high-passed at 20 Hz) of the Davis-style baseline
(:func:`vismic.combine.davis_baseline`), of vismic's default pipeline and of the
same pipeline after :class:`vismic.stabilise.Stabilise`, each without
denoising and with the default ``mmse_lsa`` (and what ``recover_sound``'s default
``stabilise='auto'`` gives: the stabilised result when the first pass flags large
motion, the plain one otherwise), and for frames an MPEG-4 part 2 codec held what the
opt-in ``unhold='auto'`` gives (:class:`vismic.codec.Unhold`, summary line only) and what the
uncompressed frames read through FFmpeg's MPEG-4 part 2 encoder at the file's quantiser scale and
at its finest (:func:`vismic.codec.encode_like`, summary line), and for VP8 and VP9
files what repairing their key frames gained (``recover_sound``'s default ``key_frames='auto'``: its
``auto`` column against the default column, which reads the same frames as an array, summary line);
then ``recover_sound``'s own
``snr_estimate_db`` (what a user reads in ``rec.info``) next to the truth, and
how far the always-stabilised pipeline's estimate is from its own output.

Run::

    nice python benchmarks/bench_nuisance.py            # 4 scenes x 12 conditions, 96x96, 1 s
    nice python benchmarks/bench_nuisance.py --quick    # 2 scenes, 5 conditions, 0.4 s
    nice python benchmarks/bench_nuisance.py --nuisances drift4 sway2 shake4   # some conditions (and clean)
    nice python benchmarks/bench_nuisance.py --oracle   # where the loss under camera motion lies
    nice python benchmarks/bench_nuisance.py --fill-border true --cutoff 20 --kernel 0.2 --border-ramp 3   # other Stabilise settings
    nice python benchmarks/bench_nuisance.py --crop 16 --nuisances shake4 --block 0.005   # the 5 ms blocks used before
    nice python benchmarks/bench_nuisance.py --near-clip 8     # near-clipped pixels held static (opt-in)
    nice python benchmarks/bench_nuisance.py --crop 16 --extend mirror   # a camera's borders; the mirror image brought in
    nice python benchmarks/bench_nuisance.py --context 0.25 --nuisances shake4   # the truth: a longer sound's band

The truth is the clip's displacement high-passed as the output is (its ends padded alike), so
whatever the high-pass does at the ends it does to both and no column sees it. ``--context S``
makes the sound ``S`` s longer at each end, renders the clip's part and measures against the
longer sound's band: a change to how the ends are handled shows there, and the sound differs
from the default run's (a longer draw of the same generator).

In the stabilised columns the options' stage runs; ``auto`` is always ``recover_sound``'s
default, so a run with options compares the two.

The table is also written as CSV (``benchmarks/results/bench_nuisance.csv``, or
``bench_nuisance_quick.csv`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vismic  # noqa: E402
from _table import write_csv  # noqa: E402
from vismic import metrics, synth  # noqa: E402
from vismic.combine import davis_baseline  # noqa: E402
from vismic._frame_statistics import FrameStatistics, frame_extract  # noqa: E402
from vismic.codec import JUMP_RATIO, FileQuantiser, encode_like, key_frame_jumps, read_quantisers  # noqa: E402
from vismic.data import FrameBatch  # noqa: E402
from vismic.decompose._gradient import unit_vector  # noqa: E402
from vismic.denoise import highpass  # noqa: E402
from vismic.pipeline import Pipeline  # noqa: E402
from vismic.stabilise import (Stabilise, kept_information, shift_frames, shift_frames_over, stabilise_frames,  # noqa: E402
                              track_error)
from vismic.stabilise._border import _border_profiles  # noqa: E402
from vismic.stabilise._stage import EXTENSIONS, MIRROR_RAMP_PX, REFERENCE_RAMP_PX, fast_motion  # noqa: E402
from vismic.stabilise._track import ShiftModel  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
NUISANCES = ("clean", "drift4", "sway2", "shake4", "flick120", "flick100", "expo", "mjpg", "mp4v", "vp8", "vp9",
             "h264")
#: The codec nuisances' encoders (synth.compress's FourCCs).
CODEC_NUISANCES = {"mjpg": "MJPG", "mp4v": "mp4v", "vp8": "VP80", "vp9": "VP90", "h264": "H264"}
QUICK_NUISANCES = ("clean", "drift4", "shake4", "flick120", "mjpg")


@dataclass(frozen=True)
class SceneSpec:
    texture: str
    direction_degrees: float
    amplitude_px: float
    noise_std: float
    audio: str
    fps: float
    seed: int = 0
    #: the frames are a larger moved texture's view less this many px along every side (synth's crop_px)
    crop_px: int = 0
    #: the texture blurred by a Gaussian of this many px (0: as synth makes it, with detail up to Nyquist)
    blur_px: float = 0.0
    #: the sound made this many seconds longer at each end and cut to the clip, the truth being the
    #: longer sound's band (0: the clip's own displacement high-passed, ends padded as the pipeline pads)
    context_seconds: float = 0.0

    def describe(self) -> str:
        blur = f" blur{self.blur_px:g}" if self.blur_px else ""
        return (f"{self.texture}{blur} {self.direction_degrees:g}deg {self.amplitude_px:g}px n{self.noise_std:g} "
                f"{self.audio} {self.fps:g}fps")

    def texture_image(self, size: int) -> np.ndarray:
        """The texture to move: ``size`` px plus the crop along every side."""
        side = size + 2 * self.crop_px
        image = synth.texture(self.texture, size=(side, side))
        if self.blur_px > 0:
            from scipy import ndimage

            image = ndimage.gaussian_filter(image, self.blur_px, mode="reflect")
        return image


def full_scenes():
    return [
        SceneSpec("brick", 45, 0.05, 2, "music", 2200.0, 0),
        SceneSpec("gravel", 90, 0.05, 2, "speech", 2200.0, 1),
        SceneSpec("camera", 0, 0.08, 1, "music", 6000.0, 2),
        SceneSpec("coffee", 135, 0.05, 2, "speech", 4000.0, 3),
    ]


def quick_scenes():
    return [SceneSpec("brick", 45, 0.05, 2, "music", 2200.0, 0), SceneSpec("gravel", 90, 0.05, 2, "speech", 2200.0, 1)]


def nuisance_parameters(nuisance: str, n: int, fps: float, seed: int) -> dict:
    """``render_nuisance_scene``'s camera motion and light for one nuisance (empty for the others)."""
    if nuisance == "drift4":
        drift = synth.drift_motion(n, total_px=4.0)
        return dict(shift_x_px=drift * 0.875, shift_y_px=drift * 0.5)
    if nuisance == "sway2":
        sway = synth.sway_motion(n, fps=fps, peak_px=2.0, frequency_hz=2.0, phase_degrees=30.0)
        return dict(shift_x_px=sway * 0.5, shift_y_px=sway * math.sqrt(3) / 2)
    if nuisance == "shake4":
        return dict(shift_x_px=synth.shake_motion(n, fps=fps, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=seed),
                    shift_y_px=synth.shake_motion(n, fps=fps, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=seed + 100))
    if nuisance == "flick120":
        return dict(gain=synth.flicker_gain(n, fps=fps, frequency_hz=120.0, depth=0.05, harmonics=(1.0, 0.3)))
    if nuisance == "flick100":
        return dict(gain=synth.flicker_gain(n, fps=fps, frequency_hz=100.0, depth=0.05))
    if nuisance == "expo":
        return dict(gain=synth.exposure_steps(n, fps=fps, times_seconds=[0.4 * n / fps], gains=[1.15])
                    * synth.fade_gain(n, end_gain=0.9))
    return {}


def scene_sound(spec: SceneSpec, n: int) -> np.ndarray:
    """The scene's sound motion (px) for an ``n``-frame clip, ``spec.context_seconds`` longer at each end."""
    context = int(round(spec.context_seconds * spec.fps))
    make = synth.music if spec.audio == "music" else synth.speech
    return synth.make_displacement(make(duration_seconds=(n + 2 * context) / spec.fps, sr=spec.fps, seed=spec.seed),
                                   amplitude_px=spec.amplitude_px)


def render(spec: SceneSpec, nuisance: str, *, size: int, seconds: float, keep=None):
    """The scene's frames under one nuisance, and the clean scene (for the bound).

    A codec nuisance's compressed file is kept at ``keep`` when given (:func:`clip_path`).
    """
    fps = spec.fps
    n = int(round(seconds * fps))
    context = int(round(spec.context_seconds * fps))
    sound = scene_sound(spec, n)
    extra = nuisance_parameters(nuisance, n, fps, spec.seed)
    scene = synth.render_nuisance_scene(spec.texture_image(size), sound[context:context + n],
                                        direction_degrees=spec.direction_degrees, noise_std=spec.noise_std,
                                        seed=spec.seed, fps=fps, crop_px=spec.crop_px, **extra)
    scene.sound_band = highpass(sound, sr=fps)[context:context + n] if context else None
    if nuisance in CODEC_NUISANCES:
        scene.frames = synth.compress(scene.frames, codec=CODEC_NUISANCES[nuisance], keep=keep)
    return scene


def sound_truth(scene, fps: float) -> np.ndarray:
    """What the SI-SNR is measured against: the sound band of the displacement (see ``SceneSpec.context_seconds``)."""
    band = getattr(scene, "sound_band", None)
    return band if band is not None else highpass(scene.displacement_px, sr=fps)


def clip_path(folder, nuisance: str):
    """Where a codec nuisance's compressed clip is kept in ``folder`` (None for other nuisances)."""
    if nuisance not in CODEC_NUISANCES:
        return None
    return Path(folder) / ("clip" + synth.CODECS[CODEC_NUISANCES[nuisance]])


def recover(frames, fps, stabiliser=None):
    """Default pipeline (``default_pipeline(stabilise=True)`` with ``stabiliser``'s settings when given): (raw, denoised).

    The pipeline runs up to its combination as one (so a stabiliser's report reaches the
    estimate, as in ``recover_sound``); its denoiser is then applied to that output.
    """
    pipe = vismic.default_pipeline(stabilise=stabiliser is not None)
    pipe.set_params(**{f"stabilise__{name}": value for name, value in (stabiliser or {}).items()})
    names = list(pipe.named_steps)
    cut = names.index("denoise")
    raw = Pipeline(pipe.steps[:cut]).run(
        FrameBatch(np.asarray(frames[i:i + 64], dtype=np.float32), i, fps) for i in range(0, len(frames), 64))
    return raw, pipe["denoise"].transform(raw)


def mjpeg_table(size: int) -> np.ndarray:
    """The luminance table of OpenCV's Motion-JPEG writer at its default quality (what ``synth.compress`` uses)."""
    import cv2

    with tempfile.TemporaryDirectory(prefix="vismic-bench-") as folder:
        path = Path(folder) / "table.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (size, size), True)
        writer.write(np.zeros((size, size, 3), np.uint8))
        writer.release()
        return metrics.jpeg_quantisation_table(path)


def codec_bound_loss(spec: SceneSpec, nuisance: str, size: int) -> float:
    """What the codec itself takes from the scene's bound (dB; NaN where there is no intra-frame DCT codec)."""
    if nuisance != "mjpg":
        return math.nan
    crop = spec.crop_px
    return metrics.dct_quantiser_loss_db(spec.texture_image(size)[crop:crop + size, crop:crop + size],
                                         direction_degrees=spec.direction_degrees, noise_std=spec.noise_std,
                                         table=mjpeg_table(size), quantization_step=1.0)


def run(spec: SceneSpec, nuisance: str, *, size: int, seconds: float, bound: float, stabiliser=None) -> dict:
    with tempfile.TemporaryDirectory(prefix="vismic-bench-") as folder:
        return _run(spec, nuisance, size=size, seconds=seconds, bound=bound, stabiliser=stabiliser, folder=folder)


def _run(spec, nuisance, *, size, seconds, bound, stabiliser, folder) -> dict:
    path = clip_path(folder, nuisance)
    scene = render(spec, nuisance, size=size, seconds=seconds, keep=path)
    fps = spec.fps
    truth = sound_truth(scene, fps)
    row = {"scene": spec.describe(), "nuisance": nuisance, "bound_db": bound, "noise_std": spec.noise_std,
           "codec_bound_loss_db": codec_bound_loss(spec, nuisance, size)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row["davis"] = metrics.si_snr(davis_baseline(scene.batches()).samples, truth)
        raw, denoised = recover(scene.frames, fps)
        row["default_none"] = metrics.si_snr(raw.samples, truth)
        row["default_lsa"] = metrics.si_snr(denoised.samples, truth)
        raw, denoised = recover(scene.frames, fps, stabiliser=stabiliser or {})
        row["stable_none"] = metrics.si_snr(raw.samples, truth)
        row["stable_lsa"] = metrics.si_snr(denoised.samples, truth)
        row["stable_estimate_db"] = raw.info.get("snr_estimate_db", math.nan)
        # what a user gets: recover_sound's default stabilise='auto' (stabilised exactly when a first pass
        # finds slow motion) and its snr_estimate_db, with the checks on the frames as they are read
        started = time.perf_counter()
        user = vismic.recover_sound(scene.frames if path is None else path, fps=fps, denoise=None)
        row["user_seconds"] = time.perf_counter() - started
    row["key_frame_weight"] = user.info.get("key_frames", {}).get("weight", math.nan)
    replica = user.info.get("codec_replica", {})
    row["replica_db"] = replica.get("snr_db", math.nan)
    row["replica_noise"] = replica.get("noise_std", math.nan)
    row["auto_stabilised"] = "stabilised" in user.info
    # what unhold='auto' (opt-in) gives where the frames show held blocks
    row["unheld_none"] = row["unheld_lsa"] = row["unheld_estimate_error_db"] = math.nan
    row["unhold_limit_db"] = row["unhold_coded_share"] = math.nan
    if "inter_frame_codec" in user.info.get("reliability", {}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            unheld = vismic.recover_sound(scene.frames if path is None else path, fps=fps, denoise=None,
                                          unhold="auto")
        if "unheld" in unheld.info:
            row["unheld_none"] = metrics.si_snr(unheld.samples, truth)
            row["unheld_lsa"] = metrics.si_snr(vismic.default_pipeline()["denoise"].transform(unheld).samples, truth)
            row["unheld_estimate_error_db"] = unheld.info["snr_estimate_db"] - row["unheld_none"]
            row["unhold_limit_db"] = unheld.info["unhold"]["snr_limit_db"]
            row["unhold_coded_share"] = unheld.info["unhold"]["coded_share"]
    row["auto_none"] = metrics.si_snr(user.samples, truth)
    # denoised as recover() does: the stabilised columns may have other settings than recover_sound's
    denoised = vismic.default_pipeline()["denoise"].transform(user)
    row["auto_lsa"] = metrics.si_snr(denoised.samples, truth)
    row["estimate_db"] = user.info.get("snr_estimate_db", math.nan)
    row["estimate_error_db"] = row["estimate_db"] - row["auto_none"]
    # what recover_sound's default (mmse_lsa) says of its denoised output
    row["lsa_estimate_error_db"] = denoised.info.get("snr_estimate_db", math.nan) - row["auto_lsa"]
    row["stable_estimate_error_db"] = row["stable_estimate_db"] - row["stable_none"]
    row["flags"] = ",".join(sorted(user.info.get("reliability", {})))
    # the key-frame check of the combination, on the same output (its ratio whether or not it found jumps)
    row["jump_ratio"] = key_frame_jumps(user.samples).ratio
    row["jumps_found"] = "key_frame_jumps" in user.info
    # what recover_sound's codec check reads from the frames (vismic.stabilise.codec_finding)
    frames = scene.frames
    folded = FrameStatistics()
    folded.add(frame_extract(frames))
    read = folded.merged()
    row.update(held_blocks=read["held_blocks"], whole_blocks=read["whole_blocks"], innovation=read["innovation"])
    row.update(mpeg4_measures(spec, path, size=size, seconds=seconds, truth=truth) if nuisance == "mp4v"
               else dict.fromkeys(MPEG4_KEYS, math.nan))
    return row


MPEG4_KEYS = ("mpeg4_like_file", "mpeg4_finest", "mpeg4_scale")


def mpeg4_measures(spec: SceneSpec, path, *, size: int, seconds: float, truth) -> dict:
    """The scene through FFmpeg's MPEG-4 part 2 encoder at the file's quantiser scale and at the finest.

    The uncompressed frames through :func:`vismic.codec.encode_like` as the file's quantisers
    read (:func:`vismic.codec.read_quantisers`): how near the encoder the file came from, at
    constant scale, reproduces what the file cost; then at scale 1, the finest MPEG-4 part 2
    codes, what the codec costs at its best. Recovered by the default pipeline, as decoded.
    """
    coded = read_quantisers(path)
    frames = render(spec, "clean", size=size, seconds=seconds).frames
    finest = FileQuantiser(np.ones_like(coded.q_index), coded.key, coded.codec, coded.b_frames)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measured = {f"mpeg4_{key}": metrics.si_snr(recover(encode_like(frames, quantiser), spec.fps)[0].samples, truth)
                    for key, quantiser in (("like_file", coded), ("finest", finest))}
    return dict(measured, mpeg4_scale=coded.effective_q_index)


HEADER = (f"{'scene':36s} {'nuisance':8s} {'bound':>6s} | {'davis':>6s} | {'default':>6s} {'+lsa':>6s} | "
          f"{'stable':>6s} {'+lsa':>6s} {'loss':>5s} | {'auto':>6s} {'est':>6s} {'err':>5s} | {'err.st':>6s}  flags")


def format_row(row, clean) -> str:
    loss = row["stable_none"] - clean["stable_none"] if clean else 0.0
    return (f"{row['scene']:36s} {row['nuisance']:8s} {row['bound_db']:6.1f} | {row['davis']:6.1f} | "
            f"{row['default_none']:6.1f} {row['default_lsa']:6.1f} | {row['stable_none']:6.1f} {row['stable_lsa']:6.1f} "
            f"{loss:+5.1f} | {row['auto_none']:6.1f} {row['estimate_db']:6.1f} {row['estimate_error_db']:+5.1f} | "
            f"{row['stable_estimate_error_db']:+6.1f}  {row['flags']}")


def summary(rows) -> str:
    lines = ["", "Summary (loss = stabilised SI-SNR minus the same scene's clean stabilised SI-SNR)"]
    clean = {r["scene"]: r for r in rows if r["nuisance"] == "clean"}
    for nuisance in NUISANCES:
        of = [r for r in rows if r["nuisance"] == nuisance]
        if not of:
            continue
        loss_none = [r["stable_none"] - clean[r["scene"]]["stable_none"] for r in of]
        loss_lsa = [r["stable_lsa"] - clean[r["scene"]]["stable_lsa"] for r in of]
        loss_default = [r["default_none"] - clean[r["scene"]]["default_none"] for r in of]
        loss_auto = [r["auto_none"] - clean[r["scene"]]["auto_none"] for r in of]
        loss_auto_lsa = [r["auto_lsa"] - clean[r["scene"]]["auto_lsa"] for r in of]
        triggered = sum(bool(r["auto_stabilised"]) for r in of)
        unheld = [r for r in of if np.isfinite(r.get("unheld_none", math.nan))]
        margin = [r["stable_none"] - r["davis"] for r in of]
        errors = [r["estimate_error_db"] for r in of]  # recover_sound's estimate against its own output
        codec = [r["codec_bound_loss_db"] for r in of if np.isfinite(r["codec_bound_loss_db"])]
        lines.append(
            f"{nuisance:8s} stabilised loss: none {np.median(loss_none):+5.1f} (worst {min(loss_none):+5.1f}), "
            f"lsa {np.median(loss_lsa):+5.1f} (worst {min(loss_lsa):+5.1f}); default {np.median(loss_default):+6.1f}; "
            f"over baseline {np.median(margin):+5.1f}; estimate error {min(errors):+5.1f} to {max(errors):+5.1f} dB "
            f"(denoised {min(r['lsa_estimate_error_db'] for r in of):+5.1f} to "
            f"{max(r['lsa_estimate_error_db'] for r in of):+5.1f})"
        )
        lines.append(
            f"{'':8s} default (stabilise='auto', triggered on {triggered}/{len(of)}): loss none "
            f"{np.median(loss_auto):+5.1f} (worst {min(loss_auto):+5.1f}), lsa {np.median(loss_auto_lsa):+5.1f} "
            f"(worst {min(loss_auto_lsa):+5.1f})"
        )
        if unheld:
            loss_unheld = [r["unheld_none"] - clean[r["scene"]]["auto_none"] for r in unheld]
            loss_unheld_lsa = [r["unheld_lsa"] - clean[r["scene"]]["auto_lsa"] for r in unheld]
            unheld_errors = [r["unheld_estimate_error_db"] for r in unheld]
            lines.append(
                f"{'':8s} unhold='auto' (opt-in; unheld {len(unheld)}/{len(of)}): SI-SNR "
                + " / ".join(f"{r['unheld_none']:.1f}" for r in unheld) + " dB, loss none "
                f"{np.median(loss_unheld):+5.1f} (worst {min(loss_unheld):+5.1f}), lsa {np.median(loss_unheld_lsa):+5.1f} "
                f"(worst {min(loss_unheld_lsa):+5.1f}); estimate error {min(unheld_errors):+5.1f} to "
                f"{max(unheld_errors):+5.1f} dB; snr_limit_db {min(r['unhold_limit_db'] for r in unheld):.1f}-"
                f"{max(r['unhold_limit_db'] for r in unheld):.1f} dB; coded share of the motion information "
                f"between key frames {min(r['unhold_coded_share'] for r in unheld):.2%}-"
                f"{max(r['unhold_coded_share'] for r in unheld):.2%}"
            )
        repaired = [r for r in of if np.isfinite(r.get("key_frame_weight", math.nan))]
        if repaired:
            gains = [r["auto_none"] - r["default_none"] for r in repaired]
            lines.append(
                f"{'':8s} key frames repaired (recover_sound on the file, vismic.codec.repair_key_frames; on "
                f"{len(repaired)}/{len(of)}): SI-SNR " + " / ".join(f"{r['auto_none']:.1f}" for r in repaired)
                + " dB against " + " / ".join(f"{r['default_none']:.1f}" for r in repaired) + " as decoded (the "
                f"default column), gain {min(gains):+.1f} to {max(gains):+.1f} dB; weight kept "
                + " / ".join(f"{r['key_frame_weight']:.2f}" for r in repaired)
            )
            if all(r["scene"] in clean for r in repaired):
                loss = [r["auto_none"] - clean[r["scene"]]["auto_none"] for r in repaired]
                lines[-1] += f"; recover_sound's loss {np.median(loss):+5.1f} (worst {min(loss):+5.1f}) dB"
        replicated = [r for r in of if np.isfinite(r.get("replica_db", math.nan))]
        if replicated:
            errors = [r["replica_db"] - r["auto_none"] for r in replicated]
            lines.append(
                f"{'':8s} codec replica (vismic.codec.codec_replica, run by recover_sound on {len(replicated)}/{len(of)}): "
                "SI-SNR " + " / ".join(f"{r['replica_db']:.1f}" for r in replicated) + " dB against the truth's "
                + " / ".join(f"{r['auto_none']:.1f}" for r in replicated) + f", error {min(errors):+.1f} to "
                f"{max(errors):+.1f} dB; sensor noise found " + " / ".join(f"{r['replica_noise']:.2f}" for r in replicated)
                + " (rendered " + " / ".join(f"{r['noise_std']:g}" for r in replicated) + "); "
                f"recover_sound took {np.median([r['user_seconds'] for r in replicated]):.1f} s (median; "
                f"{np.median([r['user_seconds'] for r in rows if r['nuisance'] == 'clean']):.1f} s on the clean rows)"
            )
        like = [r for r in of if np.isfinite(r.get("mpeg4_like_file", math.nan))]
        if like:
            lines.append(
                f"{'':8s} the scene through FFmpeg's MPEG-4 part 2 encoder (vismic.codec.encode_like) at the file's "
                "quantiser scale " + " / ".join(f"{r['mpeg4_scale']:g}" for r in like) + ": SI-SNR "
                + " / ".join(f"{r['mpeg4_like_file']:.1f}" for r in like) + " dB against the file's "
                + " / ".join(f"{r['default_none']:.1f}" for r in like) + "; at scale 1, the finest: "
                + " / ".join(f"{r['mpeg4_finest']:.1f}" for r in like) + " dB, loss "
                + f"{np.median([r['mpeg4_finest'] - clean[r['scene']]['default_none'] for r in like]):+.1f} (worst "
                + f"{min(r['mpeg4_finest'] - clean[r['scene']]['default_none'] for r in like):+.1f})"
            )
        lines.append(
            f"{'':8s} key-frame jumps (vismic.codec.key_frame_jumps; found at a ratio of {JUMP_RATIO:g}): ratio "
            f"{min(r['jump_ratio'] for r in of):.1f}-{max(r['jump_ratio'] for r in of):.1f}, found on "
            f"{sum(bool(r['jumps_found']) for r in of)}/{len(of)}"
        )
        lines.append(
            f"{'':8s} frames as read: textured blocks held {min(r['held_blocks'] for r in of):.2f}-"
            f"{max(r['held_blocks'] for r in of):.2f}, changed blocks' pixels changing "
            f"{min(r['whole_blocks'] for r in of):.2f}-{max(r['whole_blocks'] for r in of):.2f}, innovation "
            f"{min(r['innovation'] for r in of):.2f}-{max(r['innovation'] for r in of):.2f}"
        )
        if codec:
            beyond = [loss - bound for loss, bound in zip(loss_none, codec)]
            lines.append(
                f"{'':8s} the codec's own bound (metrics.dct_quantiser_loss_db): loss {np.median(codec):+5.1f} "
                f"({min(codec):+5.1f} to {max(codec):+5.1f}); vismic's loss beyond it {np.median(beyond):+5.1f} "
                f"(worst {min(beyond):+5.1f})"
            )
    clean_cost = [r["stable_none"] - r["default_none"] for r in rows if r["nuisance"] == "clean"]
    lines.append(f"stabiliser on clean scenes vs default: {min(clean_cost):+.2f} to {max(clean_cost):+.2f} dB")
    for name, key in (("recover_sound's rec.info", "estimate_error_db"),
                      ("recover_sound's default, denoised (mmse_lsa)", "lsa_estimate_error_db"),
                      ("always stabilised", "stable_estimate_error_db")):
        errors = np.array([r[key] for r in rows])
        lines.append(f"snr_estimate_db within 3 dB of the truth, {name}: {int(np.sum(np.abs(errors) <= 3))}/"
                     f"{len(rows)} (never > 3 dB optimistic: {int(np.sum(errors <= 3))}/{len(rows)})")
    for name, key in (("", "estimate_error_db"), (", denoised", "lsa_estimate_error_db")):
        silent = [r for r in rows if r[key] > 3 and not r["flags"]]
        lines.append(f"recover_sound's estimate{name} more than 3 dB optimistic with nothing flagged: "
                     f"{len(silent)}/{len(rows)}" + "".join(f"; {r['scene']} {r['nuisance']}" for r in silent))
    return "\n".join(lines)


MOTIONS = ("drift4", "sway2", "shake4")
#: Share of the clip at each end that ``--oracle``'s ``ends out`` leaves out of the SI-SNR.
ENDS_LEFT_OUT = 0.02


def restored_gain(samples, kept) -> np.ndarray:
    """``samples`` with the sound's gain a border fill took restored, as :class:`~vismic.combine.Combine` does."""
    return samples * (np.mean(kept) / kept)


#: Px past each side of the frame that the oracle's ``exact beyond`` columns take from the renderer's scene.
BEYOND_PX = 24


def scene_beyond(texture, shift_px, *, size: int, crop_px: int, beyond_px: int = BEYOND_PX) -> np.ndarray:
    """The renderer's scene moved by ``shift_px`` ``(x, y)``, over the frame and ``beyond_px`` past each side.

    :mod:`vismic.synth` moves the texture's half-sample symmetric extension, whose spectrum
    has no Nyquist term, so a Fourier shift of that extension is exact; the frame is its
    ``size`` px from ``crop_px`` on (square). Returns ``(size + 2 beyond_px,) * 2``.
    """
    side = texture.shape[0]
    extended = np.concatenate([texture, texture[::-1]], axis=0)
    extended = np.concatenate([extended, extended[:, ::-1]], axis=1)
    fy, fx = np.fft.fftfreq(2 * side)[:, None], np.fft.fftfreq(2 * side)[None, :]
    moved = np.fft.ifft2(np.fft.fft2(extended) * np.exp(-2j * np.pi * (fx * shift_px[0] + fy * shift_px[1]))).real
    rows = (np.arange(-beyond_px, size + beyond_px) + crop_px) % (2 * side)
    return moved[np.ix_(rows, rows)]


def set_into(frames, motion, canvas, beyond_px: int = BEYOND_PX) -> np.ndarray:
    """Each frame set into ``canvas`` moved to it, the whole moved back by ``motion`` and cut to the frame.

    :func:`vismic.stabilise.shift_frames_over` with a canvas reaching ``beyond_px`` past the
    frame's sides in place of the reference's mirror image.
    """
    inner = (slice(beyond_px, -beyond_px),) * 2
    out = np.empty(frames.shape, dtype=np.float32)
    canvas = canvas[None].astype(np.float32)
    for i, (dx, dy) in enumerate(motion):
        moved = shift_frames(canvas, np.array([dx]), np.array([dy]))
        moved[0][inner] = frames[i]
        out[i] = shift_frames(moved, np.array([-dx]), np.array([-dy]))[0][inner]
    return out


#: ``--oracle``'s ``solved`` columns: iterations, the share of the frames used, the relaxation, and the least
#: share of those frames that must have seen a canvas pixel for it to be solved (else the mirror image stays).
SOLVE_ITERATIONS, SOLVE_STRIDE, SOLVE_RELAX, SOLVE_SEEN = 6, 4, 0.5, 0.1


def solved_canvas(frames, motion, reference, beyond_px: int = BEYOND_PX) -> np.ndarray:
    """The scene ``beyond_px`` past the reference's sides solved from the frames: least squares, the reference inside.

    The canvas every :data:`SOLVE_STRIDE`-th frame, moved by its ``motion``, best matches,
    by damped back-projection (each frame's residual moved back onto the canvas and
    divided by how many frames saw each pixel; undamped it diverged), from the
    reference's mirror image. It gained most over the stage's mosaic of block means on the
    camera texture, whose detail reaches the Nyquist limit (docs/real-recordings.md).
    """
    height, width = reference.shape
    inside = (slice(beyond_px, beyond_px + height), slice(beyond_px, beyond_px + width))
    canvas = np.pad(np.asarray(reference, dtype=np.float64), beyond_px, mode="symmetric")
    chosen = np.arange(0, len(frames), SOLVE_STRIDE)
    groups = [chosen[lo:lo + 64] for lo in range(0, chosen.size, 64)]
    seen = np.zeros_like(canvas)  # how many of the chosen frames saw each canvas pixel: the same every iteration
    for at in groups:
        window = np.zeros((at.size,) + canvas.shape, dtype=np.float32)
        window[(slice(None),) + inside] = 1.0
        seen += shift_frames(window, -motion[at, 0], -motion[at, 1]).sum(axis=0)
    floor = SOLVE_SEEN * chosen.size
    for _ in range(SOLVE_ITERATIONS):
        residual_sum = np.zeros_like(canvas)
        for at in groups:
            d = motion[at]
            moved = shift_frames(np.repeat(canvas[None].astype(np.float32), at.size, axis=0), d[:, 0], d[:, 1])
            residual = np.zeros_like(moved)
            residual[(slice(None),) + inside] = frames[at] - moved[(slice(None),) + inside]
            residual_sum += shift_frames(residual, -d[:, 0], -d[:, 1]).sum(axis=0)
        canvas += SOLVE_RELAX * np.where(seen > floor, residual_sum / np.maximum(seen, floor), 0.0)
        canvas[inside] = reference
    return canvas


def filled_as_the_stage(frames, motion, reference, fps: float, *, follow: bool = False, canvas=None) -> np.ndarray:
    """The default stage's output for a given ``motion``, recovered: each frame set into ``reference``, moved back, its strips held.

    The strips are sized as the stage sizes them (the largest fast motion so far, and at
    least what entered) with its ramp, or, with ``follow``, only as wide as what entered
    (``|d(t)|``), and the sound's gain they took is restored from
    :func:`vismic.stabilise.kept_information`, as Combine does. With ``canvas``
    (:func:`set_into`) the frames are set into it instead of the reference's mirror image.
    """
    if canvas is None:
        over = shift_frames_over(frames.astype(np.float32), -motion[:, 0], -motion[:, 1], reference)
    else:
        over = set_into(frames, motion, canvas)
    strips = np.abs(motion)
    if not follow:
        strips = np.maximum(np.maximum.accumulate(np.abs(fast_motion(motion, fps)[0]), axis=0), strips)
    profiles = _border_profiles(over.shape[1:], strips, REFERENCE_RAMP_PX)
    weights = profiles[1][:, :, None] * profiles[0][:, None, :]
    kept = kept_information(profiles, ShiftModel(reference).information)
    samples = recover((weights * over + (1.0 - weights) * reference[None]).astype(np.float32), fps)[0].samples
    return restored_gain(samples, kept)


def oracle_row(spec: SceneSpec, nuisance: str, *, size: int, seconds: float, margin: int) -> dict:
    """Where a camera motion's loss lies: the border, or the track (the true motion against the measured one).

    SI-SNR of the whole frame and of its inner ``size - 2 margin`` px, for the clean scene,
    the frames shifted back by the true camera motion (exact, no border fill) and the
    default ``Stabilise`` (on the whole frame with the sound's gain its fill took restored); the measured track's error above 20 Hz, and how far the frame
    moved from the first block (the stabiliser's reference). The track's own part is split
    in two on the inner pixels (frames shifted back, no fill): the stage's track procedure
    (:func:`vismic.stabilise.track_error`: block means, kernel, the extension past the
    clip's ends) run on the true camera motion, where only the procedure errs, and on the
    camera motion plus the sound's, which the block means measure too.

    The whole frame, shifted back by the true motion, is also blended into the clean scene's
    frames (what a perfect stabiliser would show there; the scene's own content, sound and noise)
    or into its static reference (the first block's mean, as the stage does), over strips along
    the sides: ``|d|`` the strips the shift fills with mirrored content, exactly; ``static``
    the largest of them over the clip plus the mirror fill's ramp (:data:`~vismic.stabilise._stage.MIRROR_RAMP_PX`), from the first frame. So
    ``|d| clean`` shows the exact shift's own error beside a camera's borders (content beyond the
    frame is unknown, and the shift's sinc tails reach into it), ``static clean`` what is left of
    it past the ramp, and ``static ref`` what the static strips' lost sound costs. ``over ref``
    fills as the default stage does: each frame set into the reference before the shift
    (:func:`vismic.stabilise.shift_frames_over`), strips of the largest fast motion so far
    (``fill_border='fast'``) or of what entered, whichever is wider, plus :data:`~vismic.stabilise._stage.REFERENCE_RAMP_PX` blended
    into the reference, the sound's gain restored from :func:`vismic.stabilise.kept_information`
    as Combine does (:func:`filled_as_the_stage`). Its frames are registered where the texture
    was rendered from (the true motion is measured from there), which a stabiliser cannot know:
    ``perfect track`` does the same with the motion measured from the first block and that
    block's mean as the reference, as the stage registers them, so it is the default stage
    with a track that makes no error. The two differ where the texture holds detail up to the
    pixel's Nyquist limit (camera/music): every frame is an exact interpolation of one image on
    the renderer's grid, so frames moved back onto that grid are exact and frames moved
    anywhere else carry the interpolation's error near the sides, changing with the shift;
    with every texture blurred by 0.8 px (detail well below Nyquist; ``--oracle --crop 16
    --nuisances shake4 --blur 0.8``) both lose −0.5 (−0.7) dB. ``follow`` repeats the two
    with strips only as wide as what entered (``|d(t)|``) plus the ramp: the sound the wider
    strips hold still, against the shift's edge error that the narrower ones let in. ``solved``
    repeats ``exact beyond`` with the scene past the sides solved from the frames themselves
    (:func:`solved_canvas`): what a stabiliser could know there. ``ends out``:
    the stabilised whole frame with the first and last :data:`ENDS_LEFT_OUT` of the clip left
    out of the SI-SNR (of both it and the clean scene), where the track is carried past the
    blocks it measured.
    """
    fps = spec.fps
    scene = render(spec, nuisance, size=size, seconds=seconds)
    clean = render(spec, "clean", size=size, seconds=seconds)
    motion = nuisance_parameters(nuisance, len(scene), fps, spec.seed)
    true = np.stack([motion["shift_x_px"], motion["shift_y_px"]], axis=1)
    truth = sound_truth(scene, fps)
    inner = (slice(None), slice(margin, size - margin), slice(margin, size - margin))
    snr = lambda frames: metrics.si_snr(recover(frames, fps)[0].samples, truth)
    ends = int(round(ENDS_LEFT_OUT * len(truth)))
    inside = slice(ends, len(truth) - ends)
    first_block = slice(0, max(1, int(round(Stabilise().block_seconds * fps))))  # the stage's reference frames
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stable, report = stabilise_frames(scene.frames, fps=fps)
        shifted = shift_frames(scene.frames.astype(np.float32), -true[:, 0], -true[:, 1])
        row = {"scene": spec.describe(), "nuisance": nuisance}
        for key, frames in (("clean", clean.frames), ("stable", stable)):
            samples = recover(frames, fps)[0].samples
            if key == "stable":  # as Combine restores it in a pipeline
                samples = restored_gain(samples, report.kept_information)
            row[key] = metrics.si_snr(samples, truth)
            row[f"{key}_ends_out"] = metrics.si_snr(samples[inside], truth[inside])
        row.update(clean_inner=snr(clean.frames[inner]), true_inner=snr(shifted[inner]), stable_inner=snr(stable[inner]))
        clean_frames = clean.frames.astype(np.float32)
        reference = clean_frames[first_block].mean(axis=0)
        fills = (("mirror", np.abs(true), 0.01, ("clean",)),
                 ("static", np.broadcast_to(np.abs(true).max(axis=0), true.shape), MIRROR_RAMP_PX,
                  ("clean", "ref")))
        for key, strip, ramp, fillers in fills:
            along_x, along_y = _border_profiles(shifted.shape[1:], strip, ramp)
            weights = along_y[:, :, None] * along_x[:, None, :]
            for name in fillers:
                filler = clean_frames if name == "clean" else reference[None]
                row[f"{key}_{name}"] = snr((weights * shifted + (1.0 - weights) * filler).astype(np.float32))
        row["over_ref"] = metrics.si_snr(filled_as_the_stage(scene.frames, true, reference, fps), truth)
        row["over_ref_follow"] = metrics.si_snr(filled_as_the_stage(scene.frames, true, reference, fps, follow=True),
                                                truth)
        # a perfect track as the stage registers it: the motion from the first block, whose mean is the reference
        own_reference = scene.frames[first_block].astype(np.float64).mean(axis=0)
        relative = true - true[first_block].mean(axis=0)
        row["perfect_track"] = metrics.si_snr(filled_as_the_stage(scene.frames, relative, own_reference, fps), truth)
        row["perfect_track_follow"] = metrics.si_snr(
            filled_as_the_stage(scene.frames, relative, own_reference, fps, follow=True), truth)
        # what a reference larger than the frame could give: the scene itself past the sides, at the stage's reference
        canvas = scene_beyond(spec.texture_image(size), true[first_block].mean(axis=0), size=size, crop_px=spec.crop_px)
        canvas[BEYOND_PX:-BEYOND_PX, BEYOND_PX:-BEYOND_PX] = own_reference
        for follow in (False, True):
            row["exact_beyond" + "_follow" * follow] = metrics.si_snr(
                filled_as_the_stage(scene.frames, relative, own_reference, fps, follow=follow, canvas=canvas), truth)
        # what the frames themselves tell of the scene past the sides: the canvas solved from them
        solved = solved_canvas(scene.frames.astype(np.float32), relative, own_reference)
        for follow in (False, True):
            row["solved" + "_follow" * follow] = metrics.si_snr(
                filled_as_the_stage(scene.frames, relative, own_reference, fps, follow=follow, canvas=solved), truth)
        sound = scene.displacement_px[:, None] * np.array(unit_vector(spec.direction_degrees))[None]  # as synth moves it
        for key, motion in (("procedure_camera", true), ("procedure_all", true + sound)):
            track = motion + track_error(motion, report.settings)  # what the procedure makes of exact block means
            moved = shift_frames(scene.frames.astype(np.float32), -track[:, 0], -track[:, 1])
            row[f"{key}_inner"] = snr(moved[inner])
    first_position = true[first_block].mean(axis=0)
    row["excursion_px"] = float(np.max(np.abs(true - first_position)))
    error = highpass((report.motion_px - (true - first_position)).T, sr=fps)
    row["track_error_px"] = float(np.sqrt(np.sum(np.mean(error ** 2, axis=-1))))
    row["sound_px"] = float(np.std(truth))
    return row


def run_oracle(specs, nuisances, *, size: int, seconds: float, margin: int, csv_path: Path) -> None:
    context = specs[0].context_seconds if specs else 0.0
    truth = f"; truth: the band of a sound {context:g} s longer at each end, cut to the clip" if context else ""
    print(f"Where the loss under camera motion lies ({size}x{size} px, {seconds:g} s{truth}; inner: the "
          f"{size - 2 * margin}x{size - 2 * margin} px {margin} px in from the sides; true: frames shifted back by "
          "the true camera motion, no border fill; stable: the default Stabilise; SI-SNR in dB, losses against "
          "the clean scene's same pixels; proc cam / proc all: frames shifted back by the stage's track procedure "
          "run on the true camera motion / on the camera and sound motion, no fill; track error: RMS above 20 Hz "
          "of the measured track minus the true motion, px; the second line, whole frame, losses against the clean "
          "scene: the true motion's frames with strips blended into the clean scene's frames or its static reference, "
          "|d|: only the strips the shift mirrors, static: their largest plus the "
          f"{MIRROR_RAMP_PX:g} px ramp throughout (the mirror fill's); over ref: the frames set into the static "
          f"reference before the shift (the default), the stage's strips (the largest fast motion so far, at least |d|) plus "
          f"{REFERENCE_RAMP_PX:g} px, the gain restored; perfect track: the same registered as the stage registers "
          "(the motion from the first block, its mean the reference); follow: the same two with strips only as wide "
          "as what entered, |d(t)|, plus the ramp; exact beyond: a perfect track with the frames set into the "
          f"scene itself {BEYOND_PX} px past the sides, the stage's strips / following |d(t)|; solved: the same with "
          "the scene past the sides solved from the frames by least squares; ends out: "
          f"stable and clean with the first and last {ENDS_LEFT_OUT:.0%} of the clip left out)")
    print(f"{'scene':36s} {'nuisance':8s} {'clean':>6s} {'stable':>6s} {'loss':>5s} | {'c.inner':>7s} "
          f"{'true':>6s} {'loss':>5s} {'p.cam':>6s} {'loss':>5s} {'p.all':>6s} {'loss':>5s} {'stable':>6s} "
          f"{'loss':>5s} | {'moved':>5s} {'track err':>9s} {'sound':>7s}")
    rows = []
    for spec in specs:
        for nuisance in nuisances:
            r = oracle_row(spec, nuisance, size=size, seconds=seconds, margin=margin)
            rows.append(r)
            write_csv(csv_path, rows)
            print(f"{r['scene']:36s} {nuisance:8s} {r['clean']:6.1f} {r['stable']:6.1f} "
                  f"{r['stable'] - r['clean']:+5.1f} | {r['clean_inner']:7.1f} {r['true_inner']:6.1f} "
                  f"{r['true_inner'] - r['clean_inner']:+5.1f} {r['procedure_camera_inner']:6.1f} "
                  f"{r['procedure_camera_inner'] - r['clean_inner']:+5.1f} {r['procedure_all_inner']:6.1f} "
                  f"{r['procedure_all_inner'] - r['clean_inner']:+5.1f} {r['stable_inner']:6.1f} "
                  f"{r['stable_inner'] - r['clean_inner']:+5.1f} | {r['excursion_px']:5.1f} "
                  f"{r['track_error_px']:9.5f} {r['sound_px']:7.4f}", flush=True)
            print(f"{'':45s} |d| clean {r['mirror_clean'] - r['clean']:+5.1f}, static clean "
                  f"{r['static_clean'] - r['clean']:+5.1f}, static ref {r['static_ref'] - r['clean']:+5.1f}, over ref "
                  f"{r['over_ref'] - r['clean']:+5.1f}, perfect track {r['perfect_track'] - r['clean']:+5.1f}; follow: "
                  f"over ref {r['over_ref_follow'] - r['clean']:+5.1f}, perfect track "
                  f"{r['perfect_track_follow'] - r['clean']:+5.1f}; exact beyond {r['exact_beyond'] - r['clean']:+5.1f} / "
                  f"{r['exact_beyond_follow'] - r['clean']:+5.1f}; solved {r['solved'] - r['clean']:+5.1f} / "
                  f"{r['solved_follow'] - r['clean']:+5.1f}; ends out: "
                  f"stable {r['stable_ends_out'] - r['clean_ends_out']:+5.1f}", flush=True)
    print()
    for nuisance in nuisances:
        of = [r for r in rows if r["nuisance"] == nuisance]
        whole = [r["stable"] - r["clean"] for r in of]
        true_inner = [r["true_inner"] - r["clean_inner"] for r in of]
        stable_inner = [r["stable_inner"] - r["clean_inner"] for r in of]
        procedure = {key: [r[f"procedure_{key}_inner"] - r["clean_inner"] for r in of] for key in ("camera", "all")}
        print(f"{nuisance:8s} loss, median (worst): whole frame {np.median(whole):+5.1f} ({min(whole):+5.1f}); "
              f"inner, true motion {np.median(true_inner):+5.1f} ({min(true_inner):+5.1f}), the track procedure on "
              f"the true camera motion {np.median(procedure['camera']):+5.1f} ({min(procedure['camera']):+5.1f}), on "
              f"camera and sound {np.median(procedure['all']):+5.1f} ({min(procedure['all']):+5.1f}), measured track "
              f"{np.median(stable_inner):+5.1f} ({min(stable_inner):+5.1f}); moved up to "
              f"{max(r['excursion_px'] for r in of):.1f} px")
        fills = {key: [r[key] - r["clean"] for r in of]
                 for key in ("mirror_clean", "static_clean", "static_ref", "over_ref", "perfect_track",
                             "over_ref_follow", "perfect_track_follow", "exact_beyond", "exact_beyond_follow", "solved",
                             "solved_follow")}
        ends_out = [r["stable_ends_out"] - r["clean_ends_out"] for r in of]
        print(f"{'':8s} whole frame, true motion, strips blended into the clean scene: |d| "
              f"{np.median(fills['mirror_clean']):+5.1f} ({min(fills['mirror_clean']):+5.1f}), static "
              f"{np.median(fills['static_clean']):+5.1f} ({min(fills['static_clean']):+5.1f}); static into the "
              f"reference {np.median(fills['static_ref']):+5.1f} ({min(fills['static_ref']):+5.1f}); set into the "
              f"reference, the stage's strips {np.median(fills['over_ref']):+5.1f} ({min(fills['over_ref']):+5.1f}); "
              f"a perfect track as the stage registers it {np.median(fills['perfect_track']):+5.1f} "
              f"({min(fills['perfect_track']):+5.1f}); strips only as wide as what entered: set into the reference "
              f"{np.median(fills['over_ref_follow']):+5.1f} ({min(fills['over_ref_follow']):+5.1f}), a perfect track "
              f"{np.median(fills['perfect_track_follow']):+5.1f} ({min(fills['perfect_track_follow']):+5.1f}); "
              f"a perfect track set into the scene past the sides {np.median(fills['exact_beyond']):+5.1f} "
              f"({min(fills['exact_beyond']):+5.1f}), strips following |d(t)| "
              f"{np.median(fills['exact_beyond_follow']):+5.1f} ({min(fills['exact_beyond_follow']):+5.1f}); "
              f"set into the scene solved from the frames {np.median(fills['solved']):+5.1f} "
              f"({min(fills['solved']):+5.1f}), strips following |d(t)| {np.median(fills['solved_follow']):+5.1f} "
              f"({min(fills['solved_follow']):+5.1f}); stabilised with "
              f"the ends left out {np.median(ends_out):+5.1f} ({min(ends_out):+5.1f})")
    print(f"CSV: {csv_path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 scenes, 5 conditions, 0.4 s")
    parser.add_argument("--size", type=int, default=96, help="frame size in px (square), default 96")
    parser.add_argument("--seconds", type=float, default=None, help="clip length (default 1.0, 0.4 with --quick)")
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--nuisances", nargs="+", choices=NUISANCES, default=None,
                        help="conditions to run (default: all " + str(len(NUISANCES)) + ", 5 with --quick); 'clean' is always run first")
    parser.add_argument("--oracle", action="store_true",
                        help="instead: where the loss under camera motion lies (drift, sway, shake; the true "
                             "motion against the measured track, whole frame and inner pixels)")
    parser.add_argument("--margin", type=int, default=8, help="with --oracle: px left out along each side")
    parser.add_argument("--fill-border", choices=["fast", "follow", "true", "false"], default="fast",
                        help="Stabilise(fill_border=...) for the stabilised columns (default fast)")
    parser.add_argument("--extend", choices=list(EXTENSIONS), default="reference",
                        help="Stabilise(extend=...) for the stabilised columns (default reference)")
    parser.add_argument("--cutoff", type=float, default=None, help="Stabilise(cutoff_hz=...)")
    parser.add_argument("--kernel", type=float, default=None, help="Stabilise(kernel_seconds=...)")
    parser.add_argument("--block", type=float, default=None, help="Stabilise(block_seconds=...)")
    parser.add_argument("--border-ramp", type=float, default=None, help="Stabilise(border_ramp_px=...)")
    parser.add_argument("--near-clip", type=float, default=None, help="Stabilise(near_clip_levels=...)")
    parser.add_argument("--crop", type=int, default=0, metavar="PX",
                        help="render each scene PX px larger along every side and crop it: camera motion brings "
                             "the texture's own content into view, not the renderer's mirror image (as a camera)")
    parser.add_argument("--context", type=float, default=0.0, metavar="S",
                        help="measure against the sound band of a sound S s longer at each end, cut to the clip "
                             "(default 0: the clip's displacement high-passed, its ends padded as the output's)")
    parser.add_argument("--blur", type=float, default=0.0, metavar="PX",
                        help="blur every texture by a Gaussian of PX px before it is moved (detail below Nyquist)")
    args = parser.parse_args(argv)
    stabiliser = {"fill_border": {"fast": "fast", "follow": "follow", "true": True, "false": False}[args.fill_border],
                  "extend": args.extend}
    stabiliser.update({k: v for k, v in (("cutoff_hz", args.cutoff), ("kernel_seconds", args.kernel),
                                         ("block_seconds", args.block), ("border_ramp_px", args.border_ramp),
                                         ("near_clip_levels", args.near_clip)) if v is not None})
    seconds = args.seconds if args.seconds is not None else (0.4 if args.quick else 1.0)
    if args.crop < 0:
        parser.error(f"--crop must be at least 0, given {args.crop}")
    if not (args.blur >= 0 and math.isfinite(args.blur)):
        parser.error(f"--blur must be a number of px >= 0, given {args.blur}")
    if not (args.context >= 0 and math.isfinite(args.context)):
        parser.error(f"--context must be a number of seconds >= 0, given {args.context}")
    specs = [replace(spec, crop_px=args.crop, blur_px=args.blur, context_seconds=args.context)
             for spec in (quick_scenes() if args.quick else full_scenes())]
    nuisances = QUICK_NUISANCES if args.quick else NUISANCES
    if args.nuisances:
        nuisances = ("clean",) + tuple(n for n in NUISANCES if n in args.nuisances and n != "clean")
    csv_path = args.csv or RESULTS / ("bench_nuisance_quick.csv" if args.quick else "bench_nuisance.csv")
    if args.oracle:
        chosen = tuple(n for n in MOTIONS if not args.nuisances or n in args.nuisances)
        run_oracle(specs, chosen, size=args.size, seconds=seconds, margin=args.margin,
                   csv_path=args.csv or RESULTS / "bench_nuisance_oracle.csv")
        return 0
    cropped = f" (cropped from {args.size + 2 * args.crop})" if args.crop else ""
    context = f" (of a sound {args.context:g} s longer at each end, cut to the clip)" if args.context else ""
    print(f"{len(specs)} scenes x {len(nuisances)} conditions, {args.size}x{args.size} px{cropped}, {seconds:g} s, 8-bit; "
          f"SI-SNR (dB) against the true displacement high-passed at 20 Hz{context}; bound: Cramer-Rao SNR of the clean scene; "
          "loss: stabilised minus clean stabilised; auto: recover_sound's default (stabilise='auto'), est: its "
          "rec.info['snr_estimate_db'], err: est minus auto; err.st: the stabilised pipeline's estimate minus its "
          "SI-SNR (no denoising)")
    print(HEADER, flush=True)
    rows = []
    started = time.perf_counter()
    for spec in specs:
        clean_scene = render(spec, "clean", size=args.size, seconds=seconds)
        bound = metrics.scene_bound(clean_scene).snr_db
        clean = None
        for nuisance in nuisances:
            row = run(spec, nuisance, size=args.size, seconds=seconds, bound=bound, stabiliser=stabiliser)
            clean = row if nuisance == "clean" else clean
            rows.append(row)
            print(format_row(row, clean), flush=True)
            write_csv(csv_path, rows)
    print(summary(rows))
    print(f"\n{len(rows)} rows in {time.perf_counter() - started:.0f} s; CSV: {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
