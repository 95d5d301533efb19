"""Reading frames at ``--downsample N``: the low-pass before the block means, with and without camera motion.

``open_video(..., downsample=N)`` reduces each frame by :func:`vismic.io._frames.downsample_frame`:
a Gaussian low-pass of ``sigma * N`` px, then ``N x N`` block means. Block means alone
(``sigma = 0``, what vismic did before) pass a good share of the detail above the new
Nyquist limit (0.71 of it at that limit), and that aliased detail moves the wrong way when
the camera moves: the stabiliser's sub-pixel shifts of such frames err with the camera's
position, and the error reaches the sound band.

For scenes of ``bench_nuisance.py`` (six textures, directions, music and speech, 2200-6000
fps, rendered at ``--size`` px and read at ``size / N``), clean and under its drift, sway and
shake, this prints the SI-SNR (dB, against the sound band of the true displacement) of
``recover_sound`` (no denoising) on the frames reduced with each ``sigma``, with its own
``snr_estimate_db`` in brackets (``!`` where a finding flags the recovery), next to the
Cramér-Rao bound of the clean scene read whole (:func:`vismic.metrics.scene_bound`) and
vismic on it (the information the reduction gives up is in the gap between the two); then,
as a user gets it, ``recover_sound`` on the whole frames with ``downsample=N`` (``default``:
the low-pass it chose, read again with ``FAST_MOTION_ANTI_ALIAS`` where its stabiliser found
the camera moving faster in px/s than the high-pass in Hz, and that speed). The
summary gives, per sigma and nuisance, the median and worst change against block means and
how often the estimate is more than 3 dB too high with no flag; then each sigma's speed on
1024x1024 frames (frames/s, medians of repeats): the reduction alone, and a whole
``recover_sound`` of 200 8-bit frames (the block means alone in the same run).

Run::

    nice python benchmarks/bench_downsample.py                    # 6 scenes x 4 conditions, 128 px, 0.5 s
    nice python benchmarks/bench_downsample.py --factor 3 --size 192
    nice python benchmarks/bench_downsample.py --sigmas 0 0.45 --nuisances clean drift4
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import vismic  # noqa: E402
from _table import write_csv  # noqa: E402
from bench_nuisance import SceneSpec, render, sound_truth  # noqa: E402
from vismic import metrics  # noqa: E402
from vismic.io._frames import ANTI_ALIAS_SIGMA, downsample_frame  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SCENES = (
    SceneSpec("brick", 45, 0.05, 2, "music", 2200.0, 0),
    SceneSpec("gravel", 90, 0.05, 2, "speech", 2200.0, 1),
    SceneSpec("camera", 0, 0.08, 1, "music", 6000.0, 2),
    SceneSpec("coffee", 135, 0.05, 2, "speech", 4000.0, 3),
    SceneSpec("grass", 30, 0.05, 2, "music", 2200.0, 4),
    SceneSpec("moon", 60, 0.08, 1, "speech", 4000.0, 5),
)
NUISANCES = ("clean", "drift4", "sway2", "shake4")
SIGMAS = (0.0, 0.3, ANTI_ALIAS_SIGMA, 0.6)


def reduced(frames: np.ndarray, factor: int, sigma: float) -> np.ndarray:
    """The frames as ``open_video(frames, downsample=factor)`` reads them with the low-pass ``sigma``."""
    return np.stack([downsample_frame(frame, factor, sigma=sigma) for frame in frames.astype(np.float32)])


def recovered(frames, fps: float, truth: np.ndarray, **read) -> tuple:
    """``(SI-SNR, snr_estimate_db, flagged, info)`` of ``recover_sound`` without denoising."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(frames, fps=fps, denoise=None, **read)
    return (metrics.si_snr(rec.samples, truth), float(rec.info["snr_estimate_db"]), bool(rec.info["warnings"]),
            rec.info)


def run_scene(spec: SceneSpec, nuisance: str, *, size: int, seconds: float, factor: int, sigmas) -> dict:
    scene = render(spec, nuisance, size=size, seconds=seconds)
    truth = sound_truth(scene, spec.fps)
    row = {"scene": spec.describe(), "nuisance": nuisance}
    if nuisance == "clean":
        row["bound"] = metrics.scene_bound(scene).snr_db
        row["whole"] = recovered(scene.frames, spec.fps, truth)[0]
    for sigma in sigmas:
        snr, estimate, flagged, _ = recovered(reduced(scene.frames, factor, sigma), spec.fps, truth)
        row[f"snr_{sigma:g}"], row[f"estimate_{sigma:g}"], row[f"flagged_{sigma:g}"] = snr, estimate, flagged
    # what a user gets: the whole frames read with downsample=factor, the low-pass recover_sound chooses
    snr, estimate, flagged, info = recovered(scene.frames, spec.fps, truth, downsample=factor)
    row["snr_default"], row["estimate_default"], row["flagged_default"] = snr, estimate, flagged
    row["anti_alias_default"] = info["anti_alias"]
    row["camera_speed_px_s"] = info.get("camera_speed_px_s", 0.0)
    return row


def _key(sigma) -> str:
    return sigma if isinstance(sigma, str) else f"{sigma:g}"


def format_row(row: dict, sigmas) -> str:
    cells = []
    for key in (*map(_key, sigmas), "default"):
        cells.append(f"{row[f'snr_{key}']:6.2f} ({row[f'estimate_{key}']:5.1f}{'!' if row[f'flagged_{key}'] else ' '})")
    cells[-1] += f" {row['anti_alias_default']:g} at {row['camera_speed_px_s']:3.0f} px/s"
    whole = f"{row['bound']:6.1f} {row['whole']:6.2f}" if "bound" in row else " " * 13
    return f"{row['scene']:40s} {row['nuisance']:7s} {whole}  " + "  ".join(cells)


def summary(rows, sigmas, nuisances) -> str:
    lines = ["", "change against block means (sigma 0), median (worst); estimates > 3 dB too high and unflagged; "
             "default: the low-pass recover_sound chose, its change against sigma 0.45 and how often it chose another"]
    lines.append(f"{'nuisance':8s} " + "  ".join(f"{f'sigma {_key(s)}':>24s}" for s in sigmas) + f"  {'default':>24s}")
    for nuisance in nuisances:
        these = [r for r in rows if r["nuisance"] == nuisance]
        if not these:
            continue
        cells = []
        for key in (*map(_key, sigmas), "default"):
            change = np.array([r[f"snr_{key}"] - r["snr_0"] for r in these]) if "snr_0" in these[0] else None
            optimistic = sum(r[f"estimate_{key}"] - r[f"snr_{key}"] > 3.0 and not r[f"flagged_{key}"] for r in these)
            moved = f"{np.median(change):+5.2f} ({change.min():+5.2f})" if change is not None else "   -"
            cells.append(f"{moved}, {optimistic}/{len(these)} too high")
        lines.append(f"{nuisance:8s} " + "  ".join(f"{c:>24s}" for c in cells))
        if "snr_0.45" in these[0]:
            change = np.array([r["snr_default"] - r["snr_0.45"] for r in these])
            chosen = sum(r["anti_alias_default"] != 0.45 for r in these)
            lines.append(f"{'':8s} default against sigma 0.45: {np.median(change):+5.2f} ({change.min():+5.2f}, best "
                         f"{change.max():+5.2f}) dB, read again with a stronger low-pass on {chosen}/{len(these)}")
    return "\n".join(lines)


def speed(sigmas, factor: int, *, repeats: int = 7) -> str:
    """The reduction alone on 1024x1024 float32 frames, and ``recover_sound`` on 8-bit ones, per sigma (frames/s)."""
    rng = np.random.default_rng(0)
    frame = rng.uniform(0, 255, (1024, 1024)).astype(np.float32)
    video = rng.integers(0, 256, (200, 1024, 1024)).astype(np.uint8)
    alone, whole = [], []
    for sigma in sigmas:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(20):
                downsample_frame(frame, factor, sigma=sigma)
            times.append((time.perf_counter() - started) / 20)
        alone.append(f"sigma {sigma:g}: {1 / np.median(times):6.0f}")
    for _ in range(3):  # interleaved, so the machine's drift falls on every sigma alike
        for sigma in sigmas:
            source = vismic.io.open_video(video, fps=2200.0, downsample=factor).with_anti_alias(sigma)
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                vismic.recover_sound(source, denoise=None, stabilise=False)
            whole.append((sigma, time.perf_counter() - started))
    rates = [f"sigma {s:g}: {len(video) / np.median([t for k, t in whole if k == s]):4.0f}" for s in sigmas]
    return (f"frames/s, 1024x1024 frames reduced by {factor}: the reduction alone (float32) "
            + ", ".join(alone) + "; recover_sound (8-bit, no stabiliser, median of 3) " + ", ".join(rates))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128, help="rendered frame side, px (default 128)")
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--factor", type=int, default=2, help="the downsample factor (default 2)")
    parser.add_argument("--sigmas", type=float, nargs="+", default=SIGMAS,
                        help="low-pass sigmas per unit of the factor (0: block means alone)")
    parser.add_argument("--nuisances", nargs="+", default=NUISANCES, choices=NUISANCES)
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args(argv)
    sigmas = sorted(set(args.sigmas) | {0.0})
    print(f"{len(SCENES)} scenes at {args.size} px, read at 1/{args.factor}, {args.seconds:g} s; SI-SNR dB "
          "(snr_estimate_db, ! flagged)")
    print(f"{'scene':40s} {'':7s} {'bound':>6s} {'whole':>6s}  " + "  ".join(f"{f'sigma {s:g}':>14s}" for s in sigmas)
          + "  default (its low-pass at the camera's speed)")
    rows = []
    for spec in SCENES:
        for nuisance in args.nuisances:
            row = run_scene(spec, nuisance, size=args.size, seconds=args.seconds, factor=args.factor, sigmas=sigmas)
            rows.append(row)
            print(format_row(row, sigmas), flush=True)
    print(summary(rows, sigmas, args.nuisances))
    print(speed(sigmas, args.factor))
    csv_path = args.csv or RESULTS / "bench_downsample.csv"
    write_csv(csv_path, rows)
    print(f"CSV: {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
