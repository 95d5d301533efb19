"""Speed of the frame decomposition: the ``dtcwt`` package frame by frame vs vismic's batched DTCWT.

Run ``python benchmarks/bench_decompose.py``. For each frame size (128x128, 256x256,
512x512) a batch of 64 random frames is decomposed into 4 levels (near_sym_a /
qshift_a), 5 times by each method, runs of the two interleaved so that load from
other processes hits both alike. The table gives frames per second from the median
wall-clock time (and from the median CPU time of this process, which is steadier on
a shared machine), the speed-up, and the largest difference between the two
outputs (highpasses and lowpass).

Options: ``--sizes 128 256``, ``--frames 64``, ``--repeats 5``, ``--levels 4``,
``--biort``/``--qshift``.

The batched transform's matrix products use scipy's BLAS (``scipy.linalg.blas.dgemm``);
the header names the kernels numpy's and scipy's bundled OpenBLAS picked on this CPU.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vismic.decompose._fast import forward  # noqa: E402


def package_loop(frames, n_levels, transform):
    """What ``vismic.decompose.decompose`` did before: the package's forward per frame."""
    levels = [[] for _ in range(n_levels)]
    lows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for frame in frames:
            pyramid = transform.forward(np.asarray(frame, dtype=np.float64), nlevels=n_levels)
            for level, h in enumerate(pyramid.highpasses):
                levels[level].append(h)
            lows.append(pyramid.lowpass)
    return tuple(np.stack(level) for level in levels), np.stack(lows)


def batched(frames, n_levels, transform):
    return forward(frames, n_levels, transform.biort, transform.qshift)


def openblas_core(package) -> str:
    """Name of the kernels the OpenBLAS bundled with ``package`` (numpy or scipy) uses, or '?'."""
    for path in glob.glob(os.path.join(os.path.dirname(package.__file__) + ".libs", "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("openblas_get_corename64_", "openblas_get_corename", "scipy_openblas_get_corename64_",
                     "scipy_openblas_get_corename"):
            function = getattr(lib, name, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return function().decode()
    return "?"


def _timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--biort", default="near_sym_a")
    parser.add_argument("--qshift", default="qshift_a")
    args = parser.parse_args(argv)

    import dtcwt

    logging.disable(logging.WARNING)
    transform = dtcwt.Transform2d(biort=args.biort, qshift=args.qshift)
    rng = np.random.default_rng(0)
    print(
        f"{args.frames} frames per batch, {args.levels} levels, {args.biort}/{args.qshift}, "
        f"median of {args.repeats} runs (frames/s from wall-clock time; CPU time in brackets); "
        f"OpenBLAS kernels: numpy {openblas_core(np)}, scipy {openblas_core(scipy)}"
    )
    header = f"{'size':>9} | {'dtcwt loop fps':>20} | {'batched fps':>20} | {'speed-up':>14} | {'max |diff|':>10}"
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        frames = rng.standard_normal((args.frames, size, size))
        batched(frames[:1], args.levels, transform)  # builds and caches the operators for this size
        times = {"package": ([], []), "batched": ([], [])}
        error = 0.0
        for _ in range(args.repeats):
            ref, wall, cpu = _timed(package_loop, frames, args.levels, transform)
            times["package"][0].append(wall)
            times["package"][1].append(cpu)
            ours, wall, cpu = _timed(batched, frames, args.levels, transform)
            times["batched"][0].append(wall)
            times["batched"][1].append(cpu)
            for a, b in zip(ours[0] + (ours[1],), ref[0] + (ref[1],)):
                error = max(error, float(np.max(np.abs(a - b))))
        fps = {k: [args.frames / np.median(t) for t in v] for k, v in times.items()}
        print(
            f"{size:>4}x{size:<4} | {fps['package'][0]:>8.1f} ({fps['package'][1]:>8.1f}) "
            f"| {fps['batched'][0]:>8.1f} ({fps['batched'][1]:>8.1f}) "
            f"| {fps['batched'][0] / fps['package'][0]:>5.1f}x ({fps['batched'][1] / fps['package'][1]:>5.1f}x) "
            f"| {error:>10.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
