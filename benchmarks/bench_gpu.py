"""GPU speed: the projection and a whole recovery on CUDA, beside the CPU default on the same machine.

Run ``python benchmarks/bench_gpu.py`` on a machine with PyTorch and a CUDA GPU (without one it
says so and stops). For each frame size (128x128, 512x512, 1024x1024, 1280x800; 4 levels, the
default 8x8 grid), on ``bench_speed``'s synthetic clip (a textured scene moving by 0.05 px, uint8;
``--rendered`` frames rendered and repeated: the speed does not depend on the content), it prints
frames per second (median of ``--repeats``) of:

* the projection on the GPU with the frames already there (uint8, ``--resident`` frames a
  product: converted to float32, the reference subtracted and multiplied by the dense templates
  there, :func:`vismic.project._torch.columns_on_device`), timed with CUDA synchronisation:
  what the product itself sustains;
* ``project(frames, templates, device="cuda")`` from uint8 frames in host memory, ``--chunk``
  frames a call, the upload and the scores' download included;
* the numpy projection (the CPU default, a thread per core) of the same chunk on the same machine;
* the largest difference between the CUDA and numpy scores, relative to the largest score.

For ``--recover-sizes`` (default 512x512) it also writes a ``--frames``-frame raw AVI and times
decoding it alone, its whole recovery (``recover_sound(..., denoise=None)``) with the default
(numpy, a thread per core) and with ``device="cuda"``, and the two recoveries' largest difference.
MagNet's inference (``magnify``, static mode, float32, its default batch on the device) of
``--magnet-frames`` grey frames of 256x256 and 512x512, for the shipped model and an untrained
network of the published sizes (the speed does not depend on the weights). The table also goes to
``benchmarks/results/bench_gpu.txt``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vismic  # noqa: E402
from vismic.io import write_video  # noqa: E402
from vismic.project import make_templates, project  # noqa: E402

from bench_speed import decode_all, recover, scene_frames  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = {"128x128": (128, 128), "512x512": (512, 512), "1024x1024": (1024, 1024), "1280x800": (800, 1280)}


def cuda_timed(torch, function, repeats: int) -> float:
    """Median seconds of ``function`` over ``repeats`` runs, the GPU synchronised around each."""
    synchronize = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    function()  # warm-up: kernels chosen, memory taken
    seconds = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        function()
        synchronize()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def host_timed(function, repeats: int) -> float:
    function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def projection_rows(torch, shape, args) -> dict:
    from vismic.project._torch import _on_device, columns_on_device

    frames = scene_frames(shape, max(args.chunk, args.resident), rendered=args.rendered)
    templates = make_templates(frames[:16].astype(np.float32).mean(axis=0), n_levels=4, grid=(8, 8))
    device = torch.device(args.device)
    matrix, reference = _on_device(templates, device)
    resident = torch.from_numpy(frames[:args.resident]).to(device)
    chunk = frames[:args.chunk]
    with torch.inference_mode():
        on_gpu = cuda_timed(torch, lambda: columns_on_device(resident, matrix, reference), args.repeats)
    uploaded = host_timed(lambda: project(chunk, templates, device=args.device), args.repeats)
    numpy_seconds = host_timed(lambda: project(chunk, templates), args.repeats)
    expected, got = project(chunk, templates), project(chunk, templates, device=args.device)
    return {"projection on the GPU, frames there": args.resident / on_gpu,
            "projection from host uint8 (device='cuda')": args.chunk / uploaded,
            "projection, numpy (CPU default)": args.chunk / numpy_seconds,
            "CUDA / numpy scores, max difference / max score": float(np.abs(got - expected).max()
                                                                      / np.abs(expected).max()),
            "templates: columns": matrix.shape[1]}


def recovery_rows(shape, args) -> dict:
    frames = scene_frames(shape, args.frames, rendered=args.rendered)
    with tempfile.TemporaryDirectory() as folder:
        raw = write_video(Path(folder) / "raw.avi", frames, codec="Y800")
        decode = host_timed(lambda: decode_all(raw), args.repeats)
        default = host_timed(lambda: recover(raw), args.repeats)
        on_gpu = host_timed(lambda: recover(raw, device=args.device), args.repeats)
        a, b = recover(raw).samples, recover(raw, device=args.device).samples
    return {"decode alone (raw AVI)": args.frames / decode,
            "recovery, default (numpy, a thread per core)": args.frames / default,
            f"recovery, device={args.device!r}": args.frames / on_gpu,
            "recoveries' max difference / spread": float(np.abs(a - b).max() / np.std(a))}


def magnet_rows(torch, args) -> dict:
    """MagNet inference (static mode, float32, ``magnify``'s default batch on the device), frames/s."""
    from vismic.magnify import MagNet, MagNetConfig, load_model, magnify

    rows = {}
    nets = {"shipped (light)": load_model(args.weights, device=args.device),
            "published sizes": MagNet(MagNetConfig.published(in_channels=1)).eval().to(args.device)}
    rng = np.random.default_rng(0)
    for size in (256, 512):
        frames = rng.uniform(0, 255, (args.magnet_frames, size, size)).astype(np.float32)
        for name, net in nets.items():
            try:
                seconds = cuda_timed(torch, lambda: magnify(frames, alpha=10, model=net, device=args.device),
                                     max(1, args.repeats // 2))
                rows[f"MagNet {name}, {size}x{size} grey"] = len(frames) / seconds
            except Exception as error:  # noqa: BLE001 - one row's failure is printed, the rest still run
                print(f"MagNet {name} {size}: {type(error).__name__}: {error}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--recover-sizes", nargs="*", default=["512x512"], choices=list(SIZES))
    parser.add_argument("--frames", type=int, default=4000, help="frames of the recovered clip")
    parser.add_argument("--chunk", type=int, default=256, help="frames per project() call from host memory")
    parser.add_argument("--resident", type=int, default=512, help="frames per product on the GPU")
    parser.add_argument("--rendered", type=int, default=100, help="frames rendered per clip (then repeated)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--magnet-frames", type=int, default=256, help="frames per MagNet timing (0: no MagNet rows)")
    parser.add_argument("--weights", default=None, help="MagNet model file (default: the shipped one)")
    parser.add_argument("--device", default="cuda", help="torch device (cpu: the same rows on torch's CPU path, "
                                                         "to check the script without a GPU)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("bench_gpu: PyTorch is not installed; nothing to measure")
        return
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench_gpu: no CUDA GPU visible to torch; nothing to measure")
        return
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "torch CPU (checking the script)"
    lines = [f"vismic {vismic.__version__}; {name}; torch {torch.__version__}; "
             f"{os.cpu_count()} CPUs; medians of {args.repeats}"]
    print(lines[0], flush=True)
    results = {}
    for name in args.sizes:
        results[name] = projection_rows(torch, SIZES[name], args)
        print(name, {k: round(v, 7) for k, v in results[name].items()}, flush=True)
    if args.magnet_frames:
        results["MagNet"] = magnet_rows(torch, args)
        print({k: round(v, 1) for k, v in results["MagNet"].items()}, flush=True)
    for name in args.recover_sizes:
        results.setdefault(name, {}).update(recovery_rows(SIZES[name], args))
        print(name, {k: round(v, 7) for k, v in results[name].items()}, flush=True)
    keys = list(dict.fromkeys(k for rows in results.values() for k in rows))
    width = max(len(k) for k in keys)
    lines += ["", f"{'frames/s':{width}s} " + " ".join(f"{n:>10s}" for n in results)]
    for key in keys:
        digits = 1 if "difference" not in key else 8
        values = [results[n].get(key, float("nan")) for n in results]
        lines.append(f"{key:{width}s} " + " ".join(f"{v:10.{digits}g}" if digits > 1 else f"{v:10.0f}"
                                                  for v in values))
    lines.append(f"(projection from host: {args.chunk} frames a call; on the GPU: {args.resident} frames a product; "
                 f"recovered clip: {args.frames} frames)")
    print("\n".join(lines[1:]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_gpu.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
