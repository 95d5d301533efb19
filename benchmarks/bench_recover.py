"""Sound recovered from synthetic scenes against the Cramér-Rao bound.

Per scene of :mod:`vismic.synth` (a photograph or procedural texture moving by a
known sub-pixel displacement proportional to music or speech, with sensor noise
and 8-bit quantisation) this prints one row: the bound on the SNR of any
per-frame displacement estimate (:func:`vismic.metrics.scene_bound`), then for

* ``davis``  -- the published combination (:func:`vismic.combine.davis_baseline`),
* ``none``   -- ``vismic.recover_sound(frames, fps=..., denoise=None)``,
* ``lsa``    -- the same followed by the default denoiser (``'mmse_lsa'``),
* ``wiener`` -- the same followed by ``Denoise(method='wiener')``,

the SI-SNR (dB), its gap to the bound (SI-SNR minus bound, dB: negative is below
the bound), the segmental SNR (dB), STOI and the frames per second of the
recovery (wall clock of the recover call; the denoised rows add the denoiser's
time). Every measure compares against the true displacement high-passed at
20 Hz, as ``vismic demo`` does. The denoised rows apply the ``Denoise`` stage to
the ``denoise=None`` output with its ``noise`` (the measured noise spectrum), which is
exactly what the default pipeline's last step does.

Run::

    nice python benchmarks/bench_recover.py            # full sweep, 128x128, 1.5 s at 2200 fps
    nice python benchmarks/bench_recover.py --quick    # a handful of scenes, 0.6 s
    nice python benchmarks/bench_recover.py --only mode --size 96 --seconds 1.0

The table is also written as CSV (``benchmarks/results/bench_recover.csv``,
``bench_recover_quick.csv`` with ``--quick``, or ``--csv PATH``). A summary
follows the table: per scene kind the median and worst gap to the bound of
vismic without denoising (scenes whose bound is >= 0 dB), every scene where
vismic falls below the baseline, and for speech scenes with a bound >= 10 dB the
STOI with default denoising and each denoiser's gain over none.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vismic  # noqa: E402
from _table import write_csv  # noqa: E402
from vismic import metrics, synth  # noqa: E402
from vismic.combine import davis_baseline  # noqa: E402
from vismic.denoise import Denoise, highpass  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HIGHPASS_HZ = 20.0
METHODS = ("davis", "none", "lsa", "wiener")
DENOISERS = {"lsa": "mmse_lsa", "wiener": "wiener"}
METHOD_TITLES = {
    "davis": "Davis et al. baseline",
    "none": "vismic, no denoising",
    "lsa": "vismic + mmse_lsa (default)",
    "wiener": "vismic + wiener",
}


@dataclass(frozen=True)
class SceneSpec:
    kind: str  # 'rigid', 'mode' or 'object'
    texture: str
    direction_degrees: float
    amplitude_px: float
    noise_std: float
    audio: str  # 'music' or 'speech'
    mode: Optional[Tuple[int, int]] = None  # membrane mode (m, n) for kind 'mode'
    shape: Optional[str] = None  # object_mask kind for kind 'object'
    seed: int = 0

    def describe(self) -> str:
        what = self.kind
        if self.kind == "mode":
            what = f"mode{self.mode[0]}{self.mode[1]}"
        elif self.kind == "object":
            what = f"obj-{self.shape[:4]}"
        return (
            f"{what} {self.texture} {self.direction_degrees:g}deg {self.amplitude_px:g}px "
            f"n{self.noise_std:g} {self.audio}"
        )


def full_scenes():
    """The full sweep: textures, directions, amplitudes, noise, both sounds, three kinds."""
    R = "rigid"
    specs = [
        # directions on one texture, same motion and noise
        SceneSpec(R, "brick", 0, 0.05, 2, "music"),
        SceneSpec(R, "brick", 30, 0.05, 2, "music"),
        SceneSpec(R, "brick", 45, 0.05, 2, "music"),
        SceneSpec(R, "brick", 90, 0.05, 2, "music"),
        SceneSpec(R, "brick", 135, 0.05, 2, "music"),
        # textures, amplitudes 0.01-0.1 px, noise 1-3 grey levels
        SceneSpec(R, "camera", 45, 0.02, 1, "music"),
        SceneSpec(R, "gravel", 90, 0.1, 3, "music"),
        SceneSpec(R, "grass", 0, 0.01, 1, "music"),
        SceneSpec(R, "noise", 45, 0.01, 3, "music"),
        SceneSpec(R, "coffee", 135, 0.03, 2, "music"),
        # speech
        SceneSpec(R, "brick", 0, 0.1, 1, "speech"),
        SceneSpec(R, "camera", 90, 0.05, 2, "speech"),
        SceneSpec(R, "gravel", 45, 0.02, 1, "speech"),
        SceneSpec(R, "astronaut", 30, 0.03, 3, "speech"),
        SceneSpec(R, "grass", 135, 0.1, 3, "speech"),
        SceneSpec(R, "noise", 90, 0.05, 2, "speech"),
        # membrane mode shapes: (1,1), and (2,1) whose halves move with opposite signs
        SceneSpec("mode", "brick", 0, 0.1, 1, "music", mode=(1, 1)),
        SceneSpec("mode", "gravel", 90, 0.1, 2, "music", mode=(2, 1)),
        SceneSpec("mode", "camera", 45, 0.1, 1, "speech", mode=(2, 1)),
        SceneSpec("mode", "noise", 30, 0.05, 2, "speech", mode=(1, 1)),
        # an object over a static background
        SceneSpec("object", "brick", 0, 0.1, 1, "music", shape="disk"),
        SceneSpec("object", "camera", 45, 0.05, 2, "speech", shape="disk"),
        SceneSpec("object", "gravel", 90, 0.1, 3, "music", shape="rectangle"),
        SceneSpec("object", "coffee", 135, 0.05, 1, "speech", shape="disk"),
    ]
    return [SceneSpec(**{**s.__dict__, "seed": i}) for i, s in enumerate(specs)]


def quick_scenes():
    R = "rigid"
    specs = [
        SceneSpec(R, "brick", 45, 0.05, 2, "music"),
        SceneSpec(R, "camera", 90, 0.05, 1, "speech"),
        SceneSpec(R, "noise", 135, 0.02, 3, "music"),
        SceneSpec("mode", "gravel", 0, 0.1, 2, "music", mode=(2, 1)),
        SceneSpec("object", "brick", 30, 0.1, 1, "speech", shape="disk"),
    ]
    return [SceneSpec(**{**s.__dict__, "seed": i}) for i, s in enumerate(specs)]


def render(spec: SceneSpec, *, size: int, seconds: float, fps: float):
    make = synth.music if spec.audio == "music" else synth.speech
    audio = make(duration_seconds=seconds, sr=fps, seed=spec.seed)
    shape = (size, size)
    mode_shape = None
    if spec.kind == "mode":
        mode_shape = synth.membrane_mode(shape, m=spec.mode[0], n=spec.mode[1])
    elif spec.kind == "object":
        mode_shape = synth.object_mask(shape, kind=spec.shape)
    return synth.render_scene(
        synth.texture(spec.texture, size=shape),
        synth.make_displacement(audio, amplitude_px=spec.amplitude_px),
        direction_degrees=spec.direction_degrees,
        mode_shape=mode_shape,
        noise_std=spec.noise_std,
        seed=spec.seed,
        fps=fps,
    )


def score(samples, reference, fps):
    return {
        "si_snr": metrics.si_snr(samples, reference),
        "seg_snr": metrics.segmental_snr(samples, reference, sr=fps),
        "stoi": metrics.stoi(samples, reference, sr=fps),
    }


def run_scene(spec: SceneSpec, *, size: int, seconds: float, fps: float, precision: str = "float32") -> dict:
    scene = render(spec, size=size, seconds=seconds, fps=fps)
    n = len(scene)
    reference = highpass(scene.displacement_px, sr=fps)  # 20 Hz, as `vismic demo` scores
    bound = metrics.scene_bound(scene).snr_db
    row = {
        "scene": spec.describe(),
        "kind": spec.kind,
        "texture": spec.texture,
        "direction_degrees": spec.direction_degrees,
        "amplitude_px": spec.amplitude_px,
        "noise_std": spec.noise_std,
        "audio": spec.audio,
        "mode": "" if spec.mode is None else f"{spec.mode[0]},{spec.mode[1]}",
        "object": spec.shape or "",
        "size": size,
        "n_frames": n,
        "fps": fps,
        "bound_db": bound,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        baseline = davis_baseline(scene.batches())
        davis_seconds = time.perf_counter() - start
        start = time.perf_counter()
        raw = vismic.recover_sound(scene.frames, fps=fps, denoise=None)
        raw_seconds = time.perf_counter() - start
        outputs = {"davis": (baseline.samples, davis_seconds), "none": (raw.audio, raw_seconds)}
        estimates = {"none": raw.info.get("snr_estimate_db", math.nan)}
        for key, method in DENOISERS.items():
            start = time.perf_counter()
            denoised = Denoise(method=method).transform(raw)  # as recover_sound: with the measured noise
            outputs[key] = (denoised.samples, raw_seconds + time.perf_counter() - start)
            estimates[key] = denoised.info.get("snr_estimate_db", math.nan)
    for key in METHODS:
        samples, seconds_taken = outputs[key]
        scores = score(samples, reference, fps)
        row[f"{key}_si_snr"] = scores["si_snr"]
        row[f"{key}_gap"] = scores["si_snr"] - bound
        row[f"{key}_seg_snr"] = scores["seg_snr"]
        row[f"{key}_stoi"] = scores["stoi"]
        row[f"{key}_fps"] = n / seconds_taken
        if key in estimates:  # the SNR estimate of that output against its true SI-SNR
            row[f"{key}_estimate_error_db"] = estimates[key] - scores["si_snr"]
    if precision != "float32":  # the same recovery with the projection's other templates, against float32's
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            other = vismic.recover_sound(scene.frames, fps=fps, denoise=None, precision=precision)
            row["precision_fps"] = n / (time.perf_counter() - start)
        row["precision_si_snr"] = metrics.si_snr(other.audio, reference)
        row["precision_change"] = row["precision_si_snr"] - row["none_si_snr"]
        row["precision_snr_estimate_db"] = other.info.get("snr_estimate_db", math.nan)
    row["snr_estimate_db"] = raw.info.get("snr_estimate_db", math.nan)
    row["direction_estimate_degrees"] = raw.info.get("direction_degrees", math.nan)
    return row


# --------------------------------------------------------------------------- printing

SCENE_WIDTH = 38
BLOCK = "{:>6s} {:>6s} {:>6s} {:>5s} {:>5s}"


def header() -> str:
    first = f"{'':{SCENE_WIDTH}s} {'':>6s}"
    second = f"{'scene':{SCENE_WIDTH}s} {'bound':>6s}"
    for key in METHODS:
        title = {"davis": "Davis baseline", "none": "vismic, no denoise", "lsa": "vismic + mmse_lsa",
                 "wiener": "vismic + wiener"}[key]
        first += " | " + f"{title:^32s}"
        second += " | " + BLOCK.format("SI-SNR", "gap", "segSNR", "STOI", "fr/s")
    return first + "\n" + second


def format_row(row: dict) -> str:
    text = f"{row['scene']:{SCENE_WIDTH}s} {row['bound_db']:6.1f}"
    for key in METHODS:
        text += " | " + (
            f"{row[key + '_si_snr']:6.1f} {row[key + '_gap']:+6.1f} {row[key + '_seg_snr']:6.1f} "
            f"{row[key + '_stoi']:5.3f} {row[key + '_fps']:5.0f}"
        )
    return text


def summary(rows) -> str:
    lines = ["", "Summary (gap = SI-SNR minus bound; negative is below the bound)"]
    lines.append(
        f"{'kind':8s} {'scenes':>6s} {'bound>=0':>8s} {'median gap':>10s} {'worst gap':>9s}  worst scene"
        "   [vismic, no denoising]"
    )
    for kind in ("rigid", "mode", "object"):
        of_kind = [r for r in rows if r["kind"] == kind]
        if not of_kind:
            continue
        usable = [r for r in of_kind if r["bound_db"] >= 0]
        if usable:
            gaps = np.array([r["none_gap"] for r in usable])
            worst = usable[int(np.argmin(gaps))]
            lines.append(
                f"{kind:8s} {len(of_kind):6d} {len(usable):8d} {np.median(gaps):+10.1f} {gaps.min():+9.1f}  "
                f"{worst['scene']}"
            )
        else:
            lines.append(f"{kind:8s} {len(of_kind):6d} {0:8d} {'-':>10s} {'-':>9s}")
    usable = [r for r in rows if r["bound_db"] >= 0]
    if usable:
        gaps = np.array([r["none_gap"] for r in usable])
        lines.append(f"{'all':8s} {len(rows):6d} {len(usable):8d} {np.median(gaps):+10.1f} {gaps.min():+9.1f}")
        lines.append(
            f"scenes with bound >= 0 dB within 1 dB of it (issue 3): {int(np.sum(gaps >= -1.0))}/{len(usable)}; "
            f"within 2 dB: {int(np.sum(gaps >= -2.0))}/{len(usable)}"
        )
    rigid = [r for r in rows if r["kind"] == "rigid" and r["bound_db"] >= 0]
    if rigid:
        gaps = np.array([r["none_gap"] for r in rigid])
        lines.append(
            f"rigid scenes within 2 dB of the bound (issue 2): {int(np.sum(gaps >= -2.0))}/{len(rigid)}"
        )
    lines.append(
        "median SI-SNR gain of vismic (no denoising) over the baseline: "
        f"{np.median([r['none_si_snr'] - r['davis_si_snr'] for r in rows]):+.1f} dB "
        f"(range {min(r['none_si_snr'] - r['davis_si_snr'] for r in rows):+.1f} to "
        f"{max(r['none_si_snr'] - r['davis_si_snr'] for r in rows):+.1f})"
    )
    for key in ("none", "lsa", "wiener"):
        below = [r for r in rows if r[f"{key}_si_snr"] < r["davis_si_snr"]]
        name = METHOD_TITLES[key]
        if below:
            lines.append(f"{name} falls below the baseline's SI-SNR on {len(below)}/{len(rows)} scenes:")
            for r in below:
                lines.append(
                    f"    {r['scene']}: {r[key + '_si_snr']:.1f} dB vs baseline {r['davis_si_snr']:.1f} dB "
                    f"(bound {r['bound_db']:.1f})"
                )
        else:
            lines.append(f"{name} never falls below the baseline's SI-SNR ({len(rows)} scenes)")

    for key in ("none", "lsa", "wiener"):
        errors = np.array([r[f"{key}_estimate_error_db"] for r in rows])
        lines.append(
            f"snr_estimate_db of {METHOD_TITLES[key]} against its true SI-SNR: median {np.median(errors):+.2f} dB, "
            f"median distance {np.median(np.abs(errors)):.2f}, range {errors.min():+.2f} to {errors.max():+.2f}; "
            f"within 3 dB on {int(np.sum(np.abs(errors) <= 3.0))}/{len(rows)}"
        )
    kept = np.array([r["none_estimate_error_db"] + r["none_si_snr"] - r["lsa_si_snr"] for r in rows])
    lines.append(
        f"  (a denoised row's estimate is the denoiser's: Stein's unbiased risk estimate; the estimate before "
        f"denoising, against {METHOD_TITLES['lsa']}'s true SI-SNR: median {np.median(kept):+.2f} dB, range "
        f"{kept.min():+.2f} to {kept.max():+.2f})"
    )

    speech = [r for r in rows if r["audio"] == "speech" and r["bound_db"] >= 10]
    lines.append("")
    lines.append(f"Speech scenes with bound >= 10 dB: {len(speech)}")
    if speech:
        lines.append(
            f"  {'scene':{SCENE_WIDTH}s} {'bound':>6s} {'STOI none':>9s} {'lsa':>6s} {'wiener':>6s}"
            f" {'dSI lsa':>8s} {'dSI wien':>8s} {'dSeg lsa':>8s} {'dSeg wien':>9s}"
        )
        for r in speech:
            lines.append(
                f"  {r['scene']:{SCENE_WIDTH}s} {r['bound_db']:6.1f} {r['none_stoi']:9.3f} {r['lsa_stoi']:6.3f} "
                f"{r['wiener_stoi']:6.3f} {r['lsa_si_snr'] - r['none_si_snr']:+8.1f} "
                f"{r['wiener_si_snr'] - r['none_si_snr']:+8.1f} {r['lsa_seg_snr'] - r['none_seg_snr']:+8.1f} "
                f"{r['wiener_seg_snr'] - r['none_seg_snr']:+9.1f}"
            )
        stoi = np.array([r["lsa_stoi"] for r in speech])
        lines.append(
            f"  STOI with default denoising (mmse_lsa): median {np.median(stoi):.3f}, worst {stoi.min():.3f}; "
            f">= 0.9 on {int(np.sum(stoi >= 0.9))}/{len(speech)} (issue 3 target)"
        )
        for key in ("lsa", "wiener"):
            d_stoi = np.median([r[f"{key}_stoi"] - r["none_stoi"] for r in speech])
            d_si = np.median([r[f"{key}_si_snr"] - r["none_si_snr"] for r in speech])
            d_seg = np.median([r[f"{key}_seg_snr"] - r["none_seg_snr"] for r in speech])
            lines.append(
                f"  median gain of {DENOISERS[key]:8s} over none: STOI {d_stoi:+.3f}, SI-SNR {d_si:+.1f} dB, "
                f"segmental SNR {d_seg:+.1f} dB"
            )
    return "\n".join(lines)


def precision_summary(rows, precision: str) -> str:
    """The recovery with ``precision`` against float32's, scene by scene (no denoising)."""
    lines = ["", f"precision={precision!r} against float32 (vismic, no denoising; SI-SNR in dB, frames/s)",
             f"  {'scene':{SCENE_WIDTH}s} {'bound':>6s} {'float32':>8s} {precision:>8s} {'change':>7s} "
             f"{'fr/s':>6s} {precision + ' fr/s':>10s}"]
    for r in rows:
        lines.append(f"  {r['scene']:{SCENE_WIDTH}s} {r['bound_db']:6.1f} {r['none_si_snr']:8.2f} "
                     f"{r['precision_si_snr']:8.2f} {r['precision_change']:+7.2f} {r['none_fps']:6.0f} "
                     f"{r['precision_fps']:10.0f}")
    change = np.array([r["precision_change"] for r in rows])
    estimate = np.array([r["precision_snr_estimate_db"] - r["snr_estimate_db"] for r in rows])
    lines.append(f"  SI-SNR change: median {np.median(change):+.3f} dB, range {change.min():+.3f} to "
                 f"{change.max():+.3f} dB; the SNR estimate's change: median {np.median(estimate):+.3f}, "
                 f"largest {np.abs(estimate).max():.3f} dB")
    lines.append(f"  speed: median {np.median([r['none_fps'] for r in rows]):.0f} frames/s float32, "
                 f"{np.median([r['precision_fps'] for r in rows]):.0f} {precision}")
    return "\n".join(lines)


def code_version() -> str:
    """The commit of the vismic being measured, and whether vismic/ has uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "vismic"],
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "vismic: version unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    text = f"vismic {vismic.__version__ if hasattr(vismic, '__version__') else ''} at commit {head or '?'}".replace("  ", " ")
    if changed:
        text += f", uncommitted changes in {', '.join(changed[:6])}" + (" ..." if len(changed) > 6 else "")
    return text


def machine() -> str:
    return (
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"os.cpu_count()={os.cpu_count()}, python {platform.python_version()}, numpy {np.__version__}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a handful of scenes, 0.6 s each")
    parser.add_argument("--size", type=int, default=128, help="frame size in px (square), default 128")
    parser.add_argument("--seconds", type=float, default=None, help="scene length (default 1.5, 0.6 with --quick)")
    parser.add_argument("--fps", type=float, default=2200.0, help="capture rate, default 2200")
    parser.add_argument("--only", choices=("rigid", "mode", "object"), help="one scene kind only")
    parser.add_argument("--csv", type=Path, default=None, help="CSV output path")
    parser.add_argument("--precision", choices=("float32", "int8"), default="float32",
                        help="also recover every scene with this projection precision and print its SI-SNR "
                             "against float32's (default: float32 only)")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (0.6 if args.quick else 1.5)
    specs = quick_scenes() if args.quick else full_scenes()
    if args.only:
        specs = [s for s in specs if s.kind == args.only]
    csv_path = args.csv or RESULTS / ("bench_recover_quick.csv" if args.quick else "bench_recover.csv")

    print(machine())
    print(code_version())
    print(
        f"{len(specs)} scenes, {args.size}x{args.size} px, {seconds:g} s at {args.fps:g} fps "
        f"({int(round(seconds * args.fps))} frames), 8-bit; reference: true displacement high-passed at "
        f"{HIGHPASS_HZ:g} Hz; bound: Cramer-Rao SNR (dB); gap = SI-SNR - bound; fr/s = frames per second"
    )
    print(header(), flush=True)
    rows = []
    started = time.perf_counter()
    for spec in specs:
        row = run_scene(spec, size=args.size, seconds=seconds, fps=args.fps, precision=args.precision)
        rows.append(row)
        print(format_row(row), flush=True)
        write_csv(csv_path, rows)
    print(summary(rows))
    if args.precision != "float32":
        print(precision_summary(rows, args.precision))
    print(f"\n{len(rows)} scenes in {time.perf_counter() - started:.0f} s; CSV: {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
