"""What stabilising costs: the :class:`vismic.stabilise.Stabilise` stage's rate, and a recovery with it.

A textured scene (gravel, a 0.05 px sound at 2200 fps) under a 4 px camera shake
(0.5-10 Hz), rendered once per frame size. For each size the table gives, as the
median of ``--repeats`` runs on frames in memory:

* the stage alone (``stabilise_frames``: tracking, shift, border fill, light), frames/s, and
  with ``extend='mirror'`` (the default before: one shift of the frame instead of two of a
  larger one), with ``extend='mosaic'`` (a reference reaching past the sides, built from the
  block means) and with 5 ms blocks (``block_seconds=0.005``, the default before: fewer
  block means to measure);
* ``recover_sound(..., stabilise=False)`` and ``stabilise=True`` (``denoise=None``),
  frames/s, and the share of the stabilised recovery's time the stage takes;
* the same frames rounded to 8 bits: the stage alone, and a stabilised recovery of them
  written as a raw (``Y800``) AVI, whose stored frames the stage holds as they are;
* the stage's peak of traced memory (``tracemalloc``, its output array left out) on the
  float32 frames and on the 8-bit ones.

Run::

    python benchmarks/bench_stabilise.py                 # 128, 256 and 512 px, 1 s
    python benchmarks/bench_stabilise.py --sizes 256 --seconds 0.5

A CSV goes to ``benchmarks/results/bench_stabilise.csv``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vismic  # noqa: E402
from _table import write_csv  # noqa: E402
from vismic import synth  # noqa: E402
from vismic.stabilise import stabilise_frames  # noqa: E402

FPS = 2200.0
RESULTS = Path(__file__).resolve().parent / "results"


def shaken_scene(size: int, seconds: float):
    n = int(round(seconds * FPS))
    sound = synth.make_displacement(synth.music(duration_seconds=n / FPS, sr=FPS, seed=0), amplitude_px=0.05)
    return synth.render_nuisance_scene(
        synth.texture("gravel", size=(size, size)), sound, direction_degrees=30.0, noise_std=2.0, fps=FPS,
        shift_x_px=synth.shake_motion(n, fps=FPS, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=0),
        shift_y_px=synth.shake_motion(n, fps=FPS, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=100))


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def stage_peak_mb(frames) -> float:
    """Peak traced memory of ``stabilise_frames(frames)`` in MB, beyond its float32 output."""
    tracemalloc.start()
    try:
        stabilise_frames(frames, fps=FPS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - frames.size * 4) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"4 px shake (0.5-10 Hz), {args.seconds:g} s at {FPS:g} fps, frames in memory; "
          f"median of {args.repeats} runs (frames/s)")
    print(f"{'size':>6s} {'Stabilise alone':>16s} {'mirror':>12s} {'mosaic':>12s} {'5 ms blocks':>12s} {'recovery':>10s} "
          f"{'stabilised':>11s} {'stage share':>12s} {'8-bit: alone':>13s} {'raw AVI stabilised':>19s} "
          f"{'peak MB float32':>16s} {'8-bit':>6s}")
    rows = []
    folder = tempfile.TemporaryDirectory()
    for size in args.sizes:
        frames = shaken_scene(size, args.seconds).frames
        stored = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
        raw = vismic.io.write_video(Path(folder.name) / f"shaken_{size}.avi", stored, codec="Y800")
        n = len(frames)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stage = median_seconds(lambda: stabilise_frames(frames, fps=FPS), args.repeats)
            mirror = median_seconds(lambda: stabilise_frames(frames, fps=FPS, extend="mirror"), args.repeats)
            mosaic = median_seconds(lambda: stabilise_frames(frames, fps=FPS, extend="mosaic"), args.repeats)
            blocks_5ms = median_seconds(lambda: stabilise_frames(frames, fps=FPS, block_seconds=0.005), args.repeats)
            plain = median_seconds(lambda: vismic.recover_sound(frames, fps=FPS, denoise=None, stabilise=False),
                                   args.repeats)
            stable = median_seconds(lambda: vismic.recover_sound(frames, fps=FPS, denoise=None, stabilise=True),
                                    args.repeats)
            stage_8 = median_seconds(lambda: stabilise_frames(stored, fps=FPS), args.repeats)
            from_file = median_seconds(lambda: vismic.recover_sound(raw, fps=FPS, denoise=None, stabilise=True),
                                       args.repeats)
            peaks = stage_peak_mb(frames.astype(np.float32)), stage_peak_mb(stored)
        row = {"size": size, "frames": n, "stabilise_fps": n / stage, "mirror_extend_fps": n / mirror,
               "mosaic_extend_fps": n / mosaic,
               "blocks_5ms_fps": n / blocks_5ms,
               "recovery_fps": n / plain,
               "stabilised_recovery_fps": n / stable, "stage_share": stage / stable,
               "stabilise_8bit_fps": n / stage_8, "raw_avi_stabilised_fps": n / from_file,
               "stage_peak_mb_float32": peaks[0], "stage_peak_mb_8bit": peaks[1]}
        rows.append(row)
        write_csv(RESULTS / "bench_stabilise.csv", rows)
        print(f"{size:6d} {row['stabilise_fps']:16.0f} {row['mirror_extend_fps']:12.0f} {row['mosaic_extend_fps']:12.0f} "
              f"{row['blocks_5ms_fps']:12.0f} "
              f"{row['recovery_fps']:10.0f} "
              f"{row['stabilised_recovery_fps']:11.0f} {row['stage_share']:12.2f} {row['stabilise_8bit_fps']:13.0f} "
              f"{row['raw_avi_stabilised_fps']:19.0f} {peaks[0]:16.0f} {peaks[1]:6.0f}", flush=True)


if __name__ == "__main__":
    main()
