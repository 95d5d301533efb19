"""Peak memory of a streaming recovery against the length of the video (a memory soak).

A synthetic source (no file: a :class:`vismic.io.VideoSource` over a reader that
cycles through a few textured frames moved by a sub-pixel sine) streams N frames
through ``vismic.recover_sound(..., denoise=None)``. Every (pipeline, frame size,
length) runs in its own subprocess, so each peak RSS (``ru_maxrss``) is that run's
alone. It prints one row per run: pipeline, frame size, frames, batch size, peak
RSS (MB), the growth over the shortest run of the same size per frame (bytes),
and frames per second.

Pipelines:

* ``default`` -- ``vismic.recover_sound``'s default pipeline (fused into one projection);
* ``project`` -- ``Pipeline([("project", Project(grid=(8, 8))), ("combine", Combine())])``,
  the projection stage written out (the same work).

Targets (issue 12): peak RSS at 100k frames within 10 % of the peak at 10k; at
1024x1024 under 1.5 GB.

Run::

    nice python benchmarks/bench_memory.py                 # 128x128 and 512x512 at 10k/50k/100k, 1024x1024 at 10k
    nice python benchmarks/bench_memory.py --quick         # 64x64 and 128x128 at 2k/10k/20k (a few minutes)
    nice python benchmarks/bench_memory.py --sizes 128 --lengths 10000 100000 --pipelines project

The full run takes about half an hour on two cores (~240 frames/s at 512x512);
``--quick`` shows the same growth per frame on small frames.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

FULL = {"sizes": [128, 512], "lengths": [10_000, 50_000, 100_000], "extra": [(1024, 10_000)]}
QUICK = {"sizes": [64, 128], "lengths": [2_000, 10_000, 20_000], "extra": []}

#: Distinct frames the synthetic reader cycles through (a 100 Hz sine at 2000 fps has period 20).
CYCLE = 20
FPS = 2000.0


class SyntheticReader:
    """The reader protocol of :mod:`vismic.io._frames`: ``n`` frames of a texture moving by a sine.

    ``CYCLE`` frames are rendered once (a Fourier shift of a smooth random texture by
    ``0.05 px * sin(2 pi 100 t)``) and yielded in turn, so the source costs no time
    and holds no memory that grows with ``n``.
    """

    path = None
    where = "synthetic frames"
    container_fps = None
    capture_fps = None

    def __init__(self, n: int, size: int):
        rng = np.random.default_rng(0)
        texture = rng.normal(size=(size, size))
        fy, fx = np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij")
        spectrum = np.fft.fft2(texture) * np.exp(-(fx**2 + fy**2) / (2 * 0.08**2))
        shifts = 0.05 * np.sin(2 * np.pi * 100 * np.arange(CYCLE) / FPS)
        self.cycle = [
            (128 + 40 * np.real(np.fft.ifft2(spectrum * np.exp(-2j * np.pi * fx * s))) / texture.std()).astype(np.float32)
            for s in shifts
        ]
        self.n = n
        self.count_hint = n
        self.full_shape = (size, size)

    def frames(self, roi):
        x, y, w, h = roi
        for index in range(self.n):
            yield self.cycle[index % CYCLE][y : y + h, x : x + w]

    def count(self) -> int:
        return self.n


def run_one(pipeline_name: str, size: int, n: int, batch_size) -> dict:
    """One recovery in this process; returns its peak RSS and speed."""
    import vismic
    from vismic.io import VideoSource
    from vismic.io.video import auto_batch_size

    reader = SyntheticReader(n, size)
    batch = batch_size or auto_batch_size((size, size))
    source = VideoSource(reader, fps=FPS, roi=(0, 0, size, size), downsample=1, batch_size=batch, max_frames=None)
    pipeline = None
    if pipeline_name == "project":
        from vismic.combine import Combine
        from vismic.pipeline import Pipeline
        from vismic.project import Project

        pipeline = Pipeline([("project", Project(grid=(8, 8))), ("combine", Combine())])
    start = time.perf_counter()
    options = {"denoise": None} if pipeline is None else {}  # a given pipeline has no denoiser
    rec = vismic.recover_sound(source, fps=FPS, pipeline=pipeline, **options)
    seconds = time.perf_counter() - start
    assert rec.samples.shape[-1] == n
    return {
        "pipeline": pipeline_name, "size": size, "frames": n, "batch": batch,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "fps": n / seconds,
    }


def measure(pipeline_name: str, size: int, n: int, batch_size) -> dict:
    command = [sys.executable, __file__, "--child", pipeline_name, str(size), str(n), str(batch_size or 0)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"pipeline": pipeline_name, "size": size, "frames": n, "error": tail}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small frames and short runs (minutes)")
    parser.add_argument("--sizes", type=int, nargs="+", help="frame sides in pixels")
    parser.add_argument("--lengths", type=int, nargs="+", help="frames per run")
    parser.add_argument("--pipelines", nargs="+", default=["default"], choices=["default", "project"])
    parser.add_argument("--batch-size", type=int, default=0, help="frames per batch (default: sized in bytes)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, size, n, batch = args.child
        print(json.dumps(run_one(name, int(size), int(n), int(batch) or None)))
        return 0
    plan = QUICK if args.quick else FULL
    sizes = args.sizes or plan["sizes"]
    lengths = args.lengths or plan["lengths"]
    runs = [(size, n) for size in sizes for n in lengths]
    if not (args.sizes or args.lengths):
        runs += plan["extra"]
    print(f"{'pipeline':<9} {'size':>9} {'frames':>8} {'batch':>6} {'peak MB':>9} {'B/frame':>8} {'fps':>8}")
    for name in args.pipelines:
        first = {}
        for size, n in runs:
            row = measure(name, size, n, args.batch_size or None)
            if "error" in row:
                print(f"{name:<9} {size:>4}x{size:<4} {n:>8}  error: {row['error']}", flush=True)
                continue
            base = first.setdefault(size, row)
            growth = ((row["peak_mb"] - base["peak_mb"]) * 2**20 / (n - base["frames"])) if n > base["frames"] else 0.0
            print(f"{name:<9} {size:>4}x{size:<4} {n:>8} {row['batch']:>6} {row['peak_mb']:>9.1f} {growth:>8.0f} "
                  f"{row['fps']:>8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
