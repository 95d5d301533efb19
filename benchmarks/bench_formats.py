"""Decode speed of each video format vismic reads, as the pipeline sees it.

Run ``python benchmarks/bench_formats.py``. For each frame size (512x512 and
1024x1024 by default) it writes one clip per format into a temporary folder
(random grey frames): raw ``Y800`` AVI and FFV1 AVI (OpenCV), an uncompressed
TIFF stack (tifffile, 8 and 16 bit), Phantom cine (8 and 16 bit) and Photron
MRAW (8, 12 packed and 16 bit), the last two with the test suite's writers
(``tests/io/camera_writers.py``). Each clip is then read ``--repeats`` times
through ``vismic.io.open_video`` in batches of 64 (grey float32, what the
pipeline consumes), after one untimed read that puts the file in the page
cache; the table gives frames per second from the median wall-clock time and
from the median CPU time of this process.

Options: ``--sizes 512 1024``, ``--frames 200`` (at 512; fewer at larger sizes,
same bytes), ``--repeats 5``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "io"))

import tifffile  # noqa: E402

from camera_writers import write_cine, write_photron  # noqa: E402
from vismic.io import open_video, write_video  # noqa: E402


def write_all(folder: Path, frames8: np.ndarray, frames12: np.ndarray, frames16: np.ndarray):
    """One clip per format; returns ``[(name, path)]``."""
    clips = []
    clips.append(("raw AVI (Y800)", write_video(folder / "raw.avi", frames8, codec="Y800")))
    clips.append(("FFV1 AVI", write_video(folder / "ffv1.avi", frames8)))
    tifffile.imwrite(folder / "stack8.tif", frames8, photometric="minisblack")
    clips.append(("TIFF stack 8-bit", folder / "stack8.tif"))
    tifffile.imwrite(folder / "stack16.tif", frames16, photometric="minisblack")
    clips.append(("TIFF stack 16-bit", folder / "stack16.tif"))
    clips.append(("cine 8-bit", write_cine(folder / "c8.cine", frames8, packing="u8")))
    clips.append(("cine 16-bit", write_cine(folder / "c16.cine", frames16, packing="u16", real_bpp=16)))
    clips.append(("cine 12-bit packed", write_cine(folder / "c12.cine", frames12, packing="p12")))
    clips.append(("mraw 8-bit", write_photron(folder / "m8", frames8, bits=8)[0]))
    clips.append(("mraw 12-bit packed", write_photron(folder / "m12", frames12, bits=12)[0]))
    clips.append(("mraw 16-bit", write_photron(folder / "m16", frames16, bits=16)[0]))
    return clips


def time_read(path: Path, repeats: int):
    def once():
        n = 0
        for batch in open_video(path, fps=2000, batch_size=64):
            n += len(batch)
        return n

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n = once()  # page cache, imports
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            assert once() == n
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    return n, statistics.median(walls), statistics.median(cpus)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--frames", type=int, default=200, help="frames at 512x512 (scaled for other sizes)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, numpy {np.__version__}, python {platform.python_version()}")
    print(f"# frames/s reading through open_video (batches of 64, float32 out), median of {args.repeats}")
    print(f"| {'format':<20} | size      | frames | wall frames/s | CPU frames/s |")
    print(f"|{'-' * 22}|-----------|--------|---------------|--------------|")
    rng = np.random.default_rng(0)
    for size in args.sizes:
        n = max(16, int(args.frames * (512 / size) ** 2))
        frames16 = rng.integers(0, 65536, (n, size, size), dtype=np.uint16)
        frames12 = frames16 >> 4
        frames8 = (frames16 >> 8).astype(np.uint8)
        with tempfile.TemporaryDirectory(prefix="vismic-bench-formats-") as folder:
            for name, path in write_all(Path(folder), frames8, frames12, frames16):
                count, wall, cpu = time_read(Path(path), args.repeats)
                print(f"| {name:<20} | {size}x{size:<4} | {count:>6} | {count / wall:>13.0f} | {count / max(cpu, 1e-9):>12.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
