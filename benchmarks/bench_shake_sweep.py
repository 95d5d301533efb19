"""The SNR estimate under camera shake, swept over small and sharp frames.

``bench_nuisance.py`` holds four scenes at 96 px; the stabiliser's sub-pixel shift errs most
where frames are small and their texture sharp (detail up to the pixels' Nyquist limit: the
shift's interpolation errs beside a camera's borders, in step with the camera's position),
and the region groups agree on that error, so the estimate must find it elsewhere
(:func:`vismic.combine._confidence.camera_position_noise` and the camera-position check).
This renders scenes of five textures at 48 and 64 px (cropped from a larger moved texture, so
what enters at the sides is the texture's own content, as with a camera), 0.5 s at 2200 fps,
music and speech of 0.03-0.08 px in a random direction, sensor noise of 1-2 grey levels,
under a 2 px shake (0.5-10 Hz) along x or along both axes, and prints for each
``recover_sound``'s SI-SNR (no denoising, against the true displacement above the 20 Hz
high-pass), its ``snr_estimate_db`` and the findings that flag it; then how many estimates
are within 3 dB of the truth and how many are more than 3 dB too high with nothing flagged.

Run::

    nice python benchmarks/bench_shake_sweep.py               # 40 scenes, about 2 minutes on 2 cores
    nice python benchmarks/bench_shake_sweep.py --scenes 20 --seed 7
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
from vismic import metrics, synth  # noqa: E402
from vismic.denoise import highpass  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TEXTURES = ("brick", "gravel", "camera", "coffee", "grass")
FPS = 2200.0
CROP_PX = 8


def scene(index: int, seed: int):
    """Scene ``index`` of the sweep: (description, scene)."""
    rng = np.random.default_rng(seed * 1000 + index)
    texture = TEXTURES[index % len(TEXTURES)]
    size = (48, 64)[index // len(TEXTURES) % 2]
    both = index // (2 * len(TEXTURES)) % 2 == 1
    make = synth.music if index % 2 == 0 else synth.speech
    audio = make(duration_seconds=0.5, sr=FPS, seed=seed * 1000 + index)
    amplitude = float(rng.choice([0.03, 0.05, 0.08]))
    sound = synth.make_displacement(audio, amplitude_px=amplitude)
    shake = [synth.shake_motion(sound.size, fps=FPS, peak_px=2.0, low_hz=0.5, high_hz=10.0,
                                seed=seed * 1000 + index + 100 * axis) for axis in range(2)]
    direction = float(rng.uniform(0.0, 180.0))
    noise = float(rng.choice([1.0, 2.0]))
    rendered = synth.render_nuisance_scene(
        synth.texture(texture, size=(size + 2 * CROP_PX,) * 2), sound, direction_degrees=direction,
        shift_x_px=shake[0], shift_y_px=shake[1] if both else None, noise_std=noise, fps=FPS, crop_px=CROP_PX,
        seed=index)
    name = (f"{texture} {size}px {direction:.0f}deg {amplitude:g}px n{noise:g} "
            f"{'music' if make is synth.music else 'speech'} shake {'x,y' if both else 'x'}")
    return name, rendered


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=40, help="scenes to sweep (default 40)")
    parser.add_argument("--seed", type=int, default=1, help="draws the scenes (default 1)")
    parser.add_argument("--csv", type=Path, default=RESULTS / "bench_shake_sweep.csv")
    args = parser.parse_args(argv)
    if args.scenes < 1:
        parser.error(f"--scenes must be at least 1, given {args.scenes}")
    print(f"{args.scenes} shaken scenes (seed {args.seed}), 0.5 s at {FPS:g} fps, cropped {CROP_PX} px from a larger "
          "moved texture; SI-SNR and recover_sound's snr_estimate_db in dB, no denoising")
    print(f"{'scene':58s} {'SI-SNR':>7s} {'est':>6s} {'err':>6s}  flags")
    rows, started = [], time.perf_counter()
    for index in range(args.scenes):
        name, rendered = scene(index, args.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = vismic.recover_sound(rendered.frames, fps=FPS, denoise=None)
        truth = metrics.si_snr(rec.samples, highpass(rendered.displacement_px, sr=FPS))
        estimate = float(rec.info["snr_estimate_db"])
        flags = sorted(rec.info.get("reliability", {}))
        rows.append({"scene": name, "si_snr_db": truth, "estimate_db": estimate, "error_db": estimate - truth,
                     "flags": " ".join(flags), "stabilised": bool(rec.info.get("stabilised"))})
        print(f"{name:58s} {truth:7.1f} {estimate:6.1f} {estimate - truth:+6.1f}  {' '.join(flags)}", flush=True)
        write_csv(args.csv, rows)
    errors = np.array([row["error_db"] for row in rows])
    unflagged = np.array([not row["flags"] for row in rows])
    print(f"\nestimate within 3 dB of the truth on {int(np.sum(np.abs(errors) <= 3.0))}/{len(rows)} scenes "
          f"(error median {np.median(errors):+.1f}, from {errors.min():+.1f} to {errors.max():+.1f} dB); "
          f"more than 3 dB too high with nothing flagged: {int(np.sum((errors > 3.0) & unflagged))}/{len(rows)}; "
          f"stabilised {sum(row['stabilised'] for row in rows)}/{len(rows)}")
    print(f"{len(rows)} scenes in {time.perf_counter() - started:.0f} s; CSV: {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
