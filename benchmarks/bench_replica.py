"""How far a VP9 file's replica (:func:`vismic.codec.codec_replica`) puts the SNR estimate from the truth.

Renders a sweep of scenes of :mod:`vismic.synth` drawn at random (fixed seed): textures
brick, gravel, coffee and camera in turn, directions 0-135 degrees, 64-128 px, 0.5 or 1 s,
motions of 0.03-0.1 px, sensor noise of 1, 2 or 4 grey levels, music and speech in turn, 2200
or 4000 fps. Each is written as a VP9 file by OpenCV's encoder at its defaults
(:func:`vismic.synth.compress`) and recovered by ``recover_sound`` without denoising, with
``codec_replica=False`` and with the default ``True``. Prints the true SI-SNR (dB, against the
true displacement high-passed at 20 Hz), the estimate alone, the replica's SI-SNR and the
estimate ``recover_sound`` reports (at most the replica's), their errors against the truth, the
quantiser index and sensor noise the replica matched, and both runs' times; then the medians
and extremes. ``benchmarks/bench_nuisance.py``'s ``vp9`` rows are four more such scenes at 96 px.

Run::

    nice python benchmarks/bench_replica.py [--scenes 16]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vismic  # noqa: E402
from _table import write_csv  # noqa: E402
from vismic import metrics, synth  # noqa: E402
from vismic.denoise import highpass  # noqa: E402

TEXTURES = ("brick", "gravel", "coffee", "camera")


def scene_specs(n: int, seed: int) -> list:
    """``n`` scenes drawn at random from the sweep (the same for the same seed)."""
    rng = np.random.default_rng(seed)
    specs = []
    for k in range(n):
        specs.append(dict(
            texture=TEXTURES[k % len(TEXTURES)], direction=float(rng.choice([0, 30, 45, 90, 135])),
            size=int(rng.choice([64, 96, 128])), seconds=float(rng.choice([0.5, 1.0])),
            amplitude=float(rng.choice([0.03, 0.05, 0.1])), noise=float(rng.choice([1.0, 2.0, 4.0])),
            audio="speech" if k % 2 else "music", fps=float(rng.choice([2200, 4000])), seed=k))
    return specs


def measure(spec: dict, folder: Path) -> dict:
    make = synth.speech if spec["audio"] == "speech" else synth.music
    fps = spec["fps"]
    sound = synth.make_displacement(make(duration_seconds=spec["seconds"], sr=fps, seed=spec["seed"]),
                                    amplitude_px=spec["amplitude"])
    scene = synth.render_nuisance_scene(synth.texture(spec["texture"], size=(spec["size"],) * 2), sound,
                                        direction_degrees=spec["direction"], noise_std=spec["noise"], fps=fps,
                                        seed=spec["seed"])
    path = folder / "clip.mkv"
    synth.compress(scene.frames, codec="VP90", keep=path)
    truth = highpass(scene.displacement_px, sr=fps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        alone = vismic.recover_sound(path, fps=fps, denoise=None, codec_replica=False)
        between = time.perf_counter()
        measured = vismic.recover_sound(path, fps=fps, denoise=None)
        ended = time.perf_counter()
    true_db = metrics.si_snr(alone.samples, truth)
    replica = measured.info["codec_replica"]
    return dict(spec, true_db=true_db, estimate_alone_db=alone.info["snr_estimate_db"], replica_db=replica["snr_db"],
                estimate_db=measured.info["snr_estimate_db"], alone_error_db=alone.info["snr_estimate_db"] - true_db,
                replica_error_db=replica["snr_db"] - true_db, error_db=measured.info["snr_estimate_db"] - true_db,
                q_index=replica["q_index"], noise_found=replica["noise_std"], seconds_alone=between - started,
                seconds_replica=ended - between)


def format_row(row: dict) -> str:
    scene = (f"{row['texture']} {row['direction']:g}deg {row['size']}px {row['seconds']:g}s {row['amplitude']:g}px "
             f"n{row['noise']:g} {row['audio']} {row['fps']:g}fps")
    return (f"{scene:46s} {row['true_db']:6.1f} | {row['estimate_alone_db']:6.1f} {row['alone_error_db']:+5.1f} | "
            f"{row['replica_db']:6.1f} {row['replica_error_db']:+5.1f} | {row['estimate_db']:6.1f} {row['error_db']:+5.1f} | "
            f"{row['q_index']:5.1f} {row['noise_found']:5.2f} | {row['seconds_alone']:5.1f} {row['seconds_replica']:5.1f}")


def summary(rows: list) -> str:
    lines = [""]
    for key, label in (("alone_error_db", "estimate alone"), ("replica_error_db", "replica"),
                       ("error_db", "recover_sound's estimate (at most the replica)")):
        errors = np.array([r[key] for r in rows])
        lines.append(f"{label:48s} error median {np.median(errors):+5.1f}, {errors.min():+5.1f} to {errors.max():+5.1f} dB; "
                     f"within 3 dB {np.sum(np.abs(errors) <= 3)}/{len(rows)}, more than 3 dB optimistic "
                     f"{np.sum(errors > 3)}/{len(rows)}")
    for noise in sorted({r["noise"] for r in rows}):
        found = [r["noise_found"] for r in rows if r["noise"] == noise]
        lines.append(f"sensor noise {noise:g} grey levels: matched at {min(found):.2f}-{max(found):.2f}")
    ratio = [r["seconds_replica"] / r["seconds_alone"] for r in rows]
    lines.append(f"time with the replica: {np.median(ratio):.0f}x the recovery alone (median; "
                 f"{min(ratio):.0f}-{max(ratio):.0f}x)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--csv", type=Path, default=Path(__file__).parent / "results" / "bench_replica.csv")
    args = parser.parse_args(argv)
    print(f"{args.scenes} VP9 scenes (OpenCV's encoder at its defaults); SI-SNR and estimates in dB, no denoising; "
          "err: minus the truth")
    print(f"{'scene':46s} {'truth':>6s} | {'alone':>6s} {'err':>5s} | {'replica':>6s} {'err':>5s} | "
          f"{'report':>6s} {'err':>5s} | {'q':>5s} {'noise':>5s} | {'t.alone':>5s} {'t.rep':>5s}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for spec in scene_specs(args.scenes, args.seed):
            rows.append(measure(spec, Path(folder)))
            print(format_row(rows[-1]), flush=True)
            write_csv(args.csv, rows)
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
