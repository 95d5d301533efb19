"""What slow motion of a fraction of a pixel costs the sound unstabilised, and what the estimate says.

The linear evidence reads a band's ``sin(k d)``: a slow excursion ``d`` from the reference
scales the sound on top of it by ``cos(k d)``, an error that grows as ``d**2``, until past a
quarter wavelength of the finest levels the evidence saturates and the sound is lost. The
combination measures the excursion (``info["slow_motion_px"]``, the regions' common shift
below the high-pass) and caps the estimate by it (:func:`vismic.combine._confidence.motion_cap_db`);
beyond :data:`~vismic.combine._confidence.MOTION_TOLERANCE_PX` it flags ``large_motion``, and
``stabilise='auto'`` stabilises.

This renders four textures (64 px, 0.5 s at 2200 fps, 0.05 px of music or speech in a random
direction, sensor noise 1 and 2 grey levels) under drifts of 0.1-3 px over the clip and sways
of 0.1-3 px at 2 Hz in a random direction, recovers each with ``stabilise=False`` (no
denoising) and prints the reading, the SI-SNR against the clean scene's, and the estimate;
then, by reading, the largest loss and how many estimates are within 3 dB of the truth or
more than 3 dB too high, and which motions the readings past
:data:`~vismic.combine._confidence.SATURATED_READING_PX` came from.

Run::

    nice python benchmarks/bench_small_motion.py     # 144 recoveries, about 4 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import vismic  # noqa: E402
from _table import write_csv  # noqa: E402
from vismic import metrics, synth  # noqa: E402
from vismic.combine._confidence import MOTION_TOLERANCE_PX, SATURATED_READING_PX  # noqa: E402
from vismic.denoise import highpass  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TEXTURES = ("brick", "gravel", "camera", "coffee")
SIZES_PX = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
FPS = 2200.0


def recover(frames):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return vismic.recover_sound(frames, fps=FPS, denoise=None, stabilise=False)


def sweep(seconds: float, seed: int) -> list:
    rows, rng = [], np.random.default_rng(seed)
    n = int(round(seconds * FPS))
    for k, name in enumerate(TEXTURES):
        texture = synth.texture(name, size=(64, 64))
        for noise in (1.0, 2.0):
            scene_seed = 10 * k + int(noise)
            audio = synth.music if k % 2 == 0 else synth.speech
            sound = synth.make_displacement(audio(duration_seconds=n / FPS, sr=FPS, seed=scene_seed), amplitude_px=0.05)
            truth = highpass(sound, sr=FPS)
            direction = float(rng.uniform(0, 180))
            render = dict(direction_degrees=direction, noise_std=noise, fps=FPS, seed=scene_seed)
            clean = metrics.si_snr(recover(synth.render_nuisance_scene(texture, sound, **render).frames).samples, truth)
            for kind in ("drift", "sway"):
                for size in SIZES_PX:
                    motion = (synth.drift_motion(n, total_px=size) if kind == "drift"
                              else synth.sway_motion(n, fps=FPS, peak_px=size, frequency_hz=2.0))
                    angle = rng.uniform(0, np.pi)
                    scene = synth.render_nuisance_scene(texture, sound, shift_x_px=motion * np.cos(angle),
                                                        shift_y_px=motion * np.sin(angle), **render)
                    rec = recover(scene.frames)
                    row = dict(texture=name, noise=noise, kind=kind, size_px=size,
                               reading_px=rec.info.get("slow_motion_px", np.nan), clean_db=clean,
                               si_snr_db=metrics.si_snr(rec.samples, truth), estimate_db=rec.info["snr_estimate_db"],
                               flagged="large_motion" in rec.info.get("reliability", {}))
                    rows.append(row)
                    print(f"{name:7s} n{noise:g} {kind:5s} {size:4.2f} px  read {row['reading_px']:5.3f} px  "
                          f"clean {clean:5.1f}  SI-SNR {row['si_snr_db']:6.1f}  estimate {row['estimate_db']:6.1f}"
                          f"{'  large_motion' if row['flagged'] else ''}", flush=True)
    return rows


def summary(rows) -> str:
    lines = []
    bins = ((0.0, MOTION_TOLERANCE_PX), (MOTION_TOLERANCE_PX, SATURATED_READING_PX), (SATURATED_READING_PX, np.inf))
    for low, high in bins:
        of = [r for r in rows if low < r["reading_px"] <= high]
        if not of:
            continue
        loss = [r["si_snr_db"] - r["clean_db"] for r in of]
        error = np.array([r["estimate_db"] - r["si_snr_db"] for r in of])
        lines.append(f"read {low:.2f}-{high:.2f} px: {len(of)} scenes from motions of "
                     f"{min(r['size_px'] for r in of):g}-{max(r['size_px'] for r in of):g} px; loss against the "
                     f"clean scene {np.median(loss):+.1f} (worst {min(loss):+.1f}) dB; estimate within 3 dB on "
                     f"{int(np.sum(np.abs(error) <= 3))}, more than 3 dB too high on {int(np.sum(error > 3))} "
                     f"(error {error.min():+.1f} to {error.max():+.1f}); flagged large_motion on "
                     f"{sum(r['flagged'] for r in of)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = sweep(args.seconds, args.seed)
    print()
    print(summary(rows))
    path = RESULTS / "bench_small_motion.csv"
    write_csv(path, rows)
    print(f"CSV: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
