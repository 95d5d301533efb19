"""End-to-end speed: how close the recovery comes to the rate frames can be read.

Run ``python benchmarks/bench_speed.py`` (``--quick`` for one small size). For each
frame size (128x128, 512x512, 1024x1024, 1280x800; 4 levels, default 8x8 grid) a
synthetic clip (a textured scene moving by 0.05 px) is written as raw ``Y800`` AVI,
FFV1 AVI and an uncompressed TIFF stack, and the table gives frames per second
(median of ``--repeats`` runs, all methods interleaved so load from other
processes hits them alike) of:

* decoding alone, for each format (``open_video`` batches, nothing else; raw AVIs are
  read straight from the file, and also decoded through OpenCV for comparison);
* the ``dtcwt`` package's forward transform frame by frame (the per-frame
  loop of a plain Davis-style implementation; transform only, on frames in memory);
* the whole recovery (``recover_sound(..., denoise=None)`` from the raw AVI):
  stage by stage (``fuse=False``, on the first ``--stage-frames`` frames only: it
  is the slow baseline), the fused numpy projection (the default, on a thread per
  core; and on one thread), the fused torch CPU projection, ``precision="int8"``
  (torch's integer products; default threads, and one thread), 1 and 2 worker
  processes, a Dask ``LocalCluster`` with 2 single-thread workers (started for its own
  row and closed after it: an idle cluster slows the other rows), and CUDA when a
  GPU is present;
* the projection alone (frames in memory, templates built): numpy, torch CPU, int8
  (the same templates rounded to 8 bits), and torch CUDA when present;
* the default recovery and the int8 one as shares of the raw-decode rate.

How far the projection could go on this machine: the numpy projection's multiply-adds
per frame (the templates' tiles), the rate its products reach (GFLOP/s), and the
ceiling any float32 projection has here, every core at the rate of one large square
product (``sgemm_peak``), in frames/s and as a share of the raw-decode rate.

The numpy rows use the compiled difference loop (numba, see
``vismic.project._kernels``); the rows "without the compiled loop" give the default
recovery and the projection alone with numpy's subtract instead, in the same run.
Loading that loop is a one-time cost per process, printed on its own (and paid before the
projection-alone rows are timed).

Frames larger than 512x512 use ``--large-frames`` frames per clip. Template
building (once per reference) is part of every end-to-end time; its own time is
printed per size, in this process and on the 2-worker pool. On a machine shared
with other jobs wall-clock rates of parallel runs say little, so the worker rows
also give the CPU time per frame spent in this process and in the workers,
with ``psutil``. Workers read their own frame ranges from the raw AVI (the parent reads
the first chunk, builds the templates and joins the scores). Peak memory: the maximum RSS of one fused recovery of each clip
(a subprocess); ``--memory`` also runs ``recover_sound`` on 10,000 and 100,000
synthetic frames of 512x512. The table and a CSV go to ``benchmarks/results/``.

``--long N`` runs only a real recording's length: per size a raw AVI of ``N`` frames,
decoded alone and recovered by the default, int8, 1 and 2 worker processes and a Dask
``LocalCluster``, with each recovery's start (to its first projected frames) and its
rate after it (``benchmarks/results/bench_speed_long.txt``).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vismic  # noqa: E402
from vismic import synth  # noqa: E402
from vismic.io import open_video, write_video  # noqa: E402
from vismic.project import make_templates, project  # noqa: E402

from _table import write_csv  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

#: Peak memory of the process that runs it, in MB: the kernel's high-water mark of this
#: program (VmHWM), not ru_maxrss, which a child of a fork keeps from its large parent.
PEAK_MB = """
import resource
def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

SIZES = {"128x128": (128, 128), "512x512": (512, 512), "1024x1024": (1024, 1024), "1280x800": (800, 1280)}
FPS = 2200.0


#: Frames rendered per clip; longer clips repeat them (speed does not depend on the content, memory would).
RENDERED_FRAMES = 1000


def scene_frames(shape, n_frames, seed=0, rendered=RENDERED_FRAMES):
    height, width = shape
    texture = synth.texture("gravel", size=(height, width))
    rendered = min(n_frames, rendered)
    sound = synth.music(duration_seconds=rendered / FPS, sr=FPS, seed=seed)
    scene = synth.render_scene(texture, synth.make_displacement(sound, amplitude_px=0.05), noise_std=2.0, fps=FPS)
    frames = np.clip(np.rint(scene.frames[:rendered]), 0, 255).astype(np.uint8)
    return np.resize(frames, (n_frames,) + frames.shape[1:])


def write_inputs(frames, folder: Path) -> dict:
    import tifffile

    paths = {"raw AVI": write_video(folder / "raw.avi", frames, codec="Y800"),
             "FFV1 AVI": write_video(folder / "ffv1.avi", frames)}
    tiff = folder / "stack.tif"
    tifffile.imwrite(tiff, frames, contiguous=True)
    paths["TIFF stack"] = tiff
    return paths


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start



def decode_all(path):
    n = 0
    for batch in open_video(path, fps=FPS):
        n += len(batch)
    return n


def decode_with_opencv(path):
    """A raw AVI decoded by OpenCV, as vismic read it before mapping raw AVIs (for comparison)."""
    from vismic.io._frames import FileReader
    from vismic.io.video import VideoSource

    reference = open_video(path, fps=FPS)
    source = VideoSource(FileReader(Path(path)), fps=FPS, roi=reference.roi, downsample=1,
                         batch_size=reference.batch_size, max_frames=None)
    return sum(len(batch) for batch in source)


def dtcwt_loop(frames, n_levels=4):
    import dtcwt

    transform = dtcwt.Transform2d()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for frame in frames:
            transform.forward(frame.astype(np.float64), nlevels=n_levels)


def recover(path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return vismic.recover_sound(path, fps=FPS, denoise=None, **options)


#: Seconds and MB of resident memory a fresh process spends loading the compiled difference
#: loop (numba's import and its on-disk cache) at its first projection.
LOAD_KERNEL = """
import time
import numpy as np
import vismic.project  # the projection's own imports, which a recovery needs anyway
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
before, start = rss(), time.perf_counter()
from vismic.project._kernels import subtract_window
subtract_window(np.zeros((1, 8, 8), np.uint8), np.zeros((8, 8), np.float32), 0, 0, np.empty((1, 8, 8), np.float32))
print(time.perf_counter() - start, rss() - before)
"""


def kernel_load_cost() -> tuple:
    """(seconds, MB): medians of 3 fresh processes' first use of the compiled loop (its cache already written)."""
    runs = [subprocess.run([sys.executable, "-c", LOAD_KERNEL], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[1]) for _ in range(4)]
    values = np.array([[float(v) for v in run.stdout.strip().splitlines()[-1].split()] for run in runs[1:]])
    return tuple(np.median(values, axis=0))


def without_kernel(function):
    """``function()`` with the projection's differences formed by numpy instead of the compiled loop."""
    from vismic.project import _kernels

    saved, _kernels.ENABLED = _kernels.ENABLED, False
    try:
        return function()
    finally:
        _kernels.ENABLED = saved


def has_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def has_cuda():
    if not has_torch():
        return False
    import torch

    return torch.cuda.is_available()


def cpu_seconds(processes) -> float:
    """User + system CPU seconds of ``processes`` (psutil.Process objects) so far."""
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def with_cpu(function, pool):
    """``function`` timed, plus CPU seconds in this process and in ``pool``'s workers (psutil), as a dict."""
    try:
        import psutil
    except ImportError:
        return {"seconds": timed(function)}
    me, workers = psutil.Process(), [psutil.Process(pid) for pid in pool._processes]
    parent, children = cpu_seconds([me]), cpu_seconds(workers)
    seconds = timed(function)
    return {"seconds": seconds, "parent cpu": cpu_seconds([me]) - parent, "workers cpu": cpu_seconds(workers) - children}


def has_dask() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def on_local_cluster(path) -> dict:
    """One recovery of ``path`` on a fresh Dask ``LocalCluster`` (2 single-thread workers), timed alone.

    The cluster is started and warmed by one whole untimed recovery (its workers load the
    compiled loop, 0.4 s each, and the tasks' code) before the timing, and closed after it: an idle
    cluster kept open for the whole run slowed every other row on 2 cores (``--sizes 128x128
    --frames 20000 --repeats 5``: 1 / 2 worker processes 7087 / 10510 frames/s with it open,
    8038 / 13356 and 7799 / 13153 in two runs with a cluster per timing).
    """
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        executor = client.get_executor()
        recover(path, executor=executor)
        return {"seconds": timed(lambda: recover(path, executor=executor))}


def fused_peak_rss(path) -> float:
    """Max RSS (MB) of a subprocess that runs the fused recovery of ``path`` once."""
    code = PEAK_MB + f"""
import sys, warnings
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
import vismic
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    vismic.recover_sound({str(path)!r}, fps={FPS}, denoise=None)
print(peak_mb())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else float("nan")


def measure_size(name, shape, n_frames, repeats, dask, stage_frames):
    from vismic.project import process_pool

    frames = scene_frames(shape, n_frames)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_inputs(frames, Path(folder))
        raw = paths["raw AVI"]
        short = write_video(Path(folder) / "short.avi", frames[:stage_frames], codec="Y800")
        methods = {f"decode {k}": (lambda p=p: decode_all(p)) for k, p in paths.items()}
        methods["decode raw AVI through OpenCV"] = lambda: decode_with_opencv(raw)
        small = frames[: min(len(frames), 64 if shape[0] <= 512 else 16)]
        methods["dtcwt package, per frame (transform only)"] = (lambda: dtcwt_loop(small), len(small))
        methods[f"recovery, stage by stage (first {stage_frames} frames)"] = (
            lambda: recover(short, fuse=False), min(stage_frames, len(frames)))
        methods["recovery, fused numpy (default: a thread per core)"] = lambda: recover(raw)
        methods["recovery, fused numpy, one thread"] = lambda: recover(raw, threads=1)
        methods["recovery, fused numpy, without the compiled loop"] = lambda: without_kernel(lambda: recover(raw))
        if has_torch():
            methods["recovery, fused torch CPU"] = lambda: recover(raw, device="cpu")
            methods["recovery, fused int8 (torch's integer products; default threads)"] = (
                lambda: recover(raw, precision="int8"))
            methods["recovery, fused int8 (torch), one thread"] = lambda: recover(raw, precision="int8", threads=1)
        pools = {1: process_pool(1), 2: process_pool(2)}
        for n, pool in pools.items():
            list(pool.map(int, range(n)))  # workers started (process_pool starts them all) outside the timing
            methods[f"recovery, {n} worker process{'es' if n > 1 else ''}"] = (
                lambda pool=pool: with_cpu(lambda: recover(raw, executor=pool), pool))
        if dask:
            methods["recovery, Dask LocalCluster (2x1)"] = lambda: on_local_cluster(raw)
        if has_cuda():
            methods["recovery, fused torch CUDA"] = lambda: recover(raw, device="cuda")
        reference = frames[:16].astype(np.float32).mean(axis=0)
        build = {"here": [], "on 2 workers": []}
        templates = make_templates(reference, n_levels=4, grid=(8, 8))
        chunk = frames[:128]
        methods["projection alone, numpy"] = (lambda: project(chunk, templates), len(chunk))
        methods["projection alone, numpy, without the compiled loop"] = (
            lambda: without_kernel(lambda: project(chunk, templates)), len(chunk))
        if has_torch():
            methods["projection alone, torch CPU"] = (lambda: project(chunk, templates, device="cpu"), len(chunk))
            rounded = make_templates(reference, n_levels=4, grid=(8, 8), precision="int8")
            methods["projection alone, int8 (torch)"] = (lambda: project(chunk, rounded), len(chunk))
            wide = chunk.astype(np.uint16) << 4  # 12-bit data, as camera files store it
            methods["projection alone, int8 (torch), 16-bit frames"] = (lambda: project(wide, rounded), len(chunk))
        if has_cuda():
            methods["projection alone, torch CUDA"] = (lambda: project(chunk, templates, device="cuda"), len(chunk))
        runs = {k: [] for k in methods}
        for key in methods:  # compiled loops loaded (a one-time cost per process, printed on its own) before timing
            if key.startswith("projection alone") and "torch" not in key:
                methods[key][0]()
        # The projection alone first, torch's rows last. Once torch has run, its idle thread pool
        # slows numpy's products in the same process (measured: 2449 -> 2040 frames/s at 512x512),
        # and after a recovery on the process pool this process's products ran at half speed
        # (2878 -> 1112-1465 frames/s, no process busy; not understood), so each group runs every
        # repeat before the next group starts.
        uses_torch = lambda key: "torch" in key
        alone = lambda key: key.startswith("projection alone")
        order = [[k for k in methods if alone(k) and not uses_torch(k)],
                 [k for k in methods if not alone(k) and not uses_torch(k)], [k for k in methods if uses_torch(k)]]
        for _ in range(repeats):
            build["here"].append(timed(lambda: make_templates(reference, n_levels=4, grid=(8, 8))))
            build["on 2 workers"].append(timed(lambda: make_templates(reference, n_levels=4, grid=(8, 8),
                                                                        executor=pools[2])))
        for key in (key for group in order for _ in range(repeats) for key in group):
            method = methods[key]
            function, count = method if isinstance(method, tuple) else (method, len(frames))
            try:
                start = time.perf_counter()
                got = function()
                seconds = time.perf_counter() - start
                runs[key].append((got if isinstance(got, dict) else {"seconds": seconds}, count))
            except Exception as error:  # noqa: BLE001 - a method that fails is reported, not fatal
                runs[key].append(({"seconds": float("nan")}, count))
                print(f"  {name}: {key} failed: {type(error).__name__}: {error}", file=sys.stderr)
        for pool in pools.values():
            pool.shutdown()
        peak = fused_peak_rss(raw)
    rows = {}
    for key, measured in runs.items():
        count = measured[0][1]
        rows[key] = count / np.median([m["seconds"] for m, _ in measured])
        for part in ("parent cpu", "workers cpu"):
            if part in measured[0][0]:
                rows[f"  {key[10:]}: {part}, ms per frame"] = 1e3 * np.median([m[part] for m, _ in measured]) / count
    macs = sum(tile.block.size for tile in templates.tiles)  # a frame's multiply-adds in the numpy projection
    rows["projection: multiply-adds per frame, millions"] = macs / 1e6
    rows["projection alone, numpy: GFLOP/s"] = rows["projection alone, numpy"] * 2 * macs / 1e9
    rows["ceiling: every core at the sgemm peak, frames/s"] = SGEMM_PEAK["all cores"] * 1e9 / (2 * macs)
    rows["ceiling / decode raw AVI"] = rows["ceiling: every core at the sgemm peak, frames/s"] / rows["decode raw AVI"]
    for key in ("recovery, fused numpy (default: a thread per core)",
                "recovery, fused int8 (torch's integer products; default threads)"):
        if key in rows:
            rows[f"{key[10:]} / decode raw AVI"] = rows[key] / rows["decode raw AVI"]
    rows["template build here, s"] = float(np.median(build["here"]))
    rows["template build on 2 workers, s"] = float(np.median(build["on 2 workers"]))
    rows["peak RSS of one fused recovery, MB"] = peak
    return rows


#: GFLOP/s of float32 matrix products on this machine (:func:`sgemm_peak`), set by main.
SGEMM_PEAK: dict = {}


def sgemm_peak(n: int = 2048, repeats: int = 5) -> dict:
    """GFLOP/s of one large square float32 product (median of ``repeats``), on all cores and on one thread.

    The best rate numpy's BLAS reaches here: no projection, whose products are
    (64 frames x tile pixels) @ (tile pixels x ~20 templates), can beat it, so
    ``rate / (2 * multiply-adds per frame)`` bounds the frames/s of any float32
    projection on this machine.
    """
    from vismic.project._parallel import one_blas_thread

    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    flops = 2.0 * n ** 3
    rate = lambda: flops / np.median([timed(lambda: a @ a) for _ in range(repeats)]) / 1e9
    all_cores = rate()
    with one_blas_thread():
        one = rate()
    return {"all cores": all_cores, "one thread": one}


def peak_memory(n_frames, shape):
    code = PEAK_MB + f"""
import sys, warnings
import numpy as np
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
import vismic
from vismic.io import open_video
from vismic.io._frames import ArrayReader
from vismic.io.video import VideoSource
base = np.random.default_rng(0).integers(0, 256, (64, {shape[0]}, {shape[1]}), dtype=np.uint8)

class Looped(ArrayReader):
    def __init__(self):
        super().__init__(base)
        self.count_hint = {n_frames}
    def frames(self, roi):
        for i in range({n_frames}):
            yield base[i % 64].astype(np.float32)

source = VideoSource(Looped(), fps=2200.0, roi=(0, 0, {shape[1]}, {shape[0]}), downsample=1, batch_size=64,
                     max_frames=None)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    vismic.recover_sound(source, denoise=None)
print(peak_mb())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode:
        return f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"
    return f"{float(out.stdout.strip().splitlines()[-1]):.0f} MB"


def timed_stream(path, **options) -> tuple:
    """``(seconds, seconds to the first projected frames)`` of one recovery of ``path`` (its progress callback)."""
    marks = []
    start = time.perf_counter()
    recover(path, progress=lambda n: marks.append(time.perf_counter()), **options)
    end = time.perf_counter()
    return end - start, marks[0] - start


def long_clips(sizes, n_frames: int, repeats: int, dask: bool) -> list:
    """Table lines: decoding a raw AVI of ``n_frames`` alone against recovering it, end to end and after the start.

    Only the raw AVI is written (FFV1 and TIFF copies of a long clip would take minutes
    and the disk's space). The start is the time to the first projected frames: opening,
    reading the reference's chunk, building the templates, projecting that chunk; "after
    start" is the rate from there to the end. Rows: the default (float32, a thread per
    core), ``precision="int8"``, 1 and 2 worker processes and a Dask ``LocalCluster``
    (2 single-thread workers, started and warmed outside the timing).
    """
    from vismic.project import process_pool

    lines = ["", f"long clips ({n_frames} frames, raw Y800 AVI; medians of {repeats}), frames/s:",
             f"{'size':10s} {'recovery':48s} {'frames/s':>9s} {'/ decode':>9s} {'start, s':>9s} {'after start':>12s}"]
    pools = {n: process_pool(n) for n in (1, 2)}
    for n, pool in pools.items():
        list(pool.map(int, range(n)))
    kinds = {"decoding alone": None, "default (float32, a thread per core)": {}}
    if has_torch():
        kinds["precision='int8'"] = {"precision": "int8"}
    kinds.update({"1 worker process": {"executor": pools[1]}, "2 worker processes": {"executor": pools[2]}})
    if dask:
        kinds["Dask LocalCluster (2 x 1 thread)"] = "dask"
    try:
        for name in sizes:
            frames = scene_frames(SIZES[name], n_frames)
            with tempfile.TemporaryDirectory() as folder:
                raw = write_video(Path(folder) / "long.avi", frames, codec="Y800")
                del frames
                for options in kinds.values():  # compiled loops loaded, workers warmed, outside the timing
                    if isinstance(options, dict):
                        recover(raw, max_frames=512, **options)
                runs = {kind: [] for kind in kinds}
                for _ in range(repeats):
                    for kind, options in kinds.items():
                        if options is None:
                            runs[kind].append((timed(lambda: decode_all(raw)), 0.0))
                        elif options == "dask":
                            runs[kind].append(stream_on_local_cluster(raw))
                        else:
                            runs[kind].append(timed_stream(raw, **options))
            decode = n_frames / float(np.median([t for t, _ in runs["decoding alone"]]))
            for kind in kinds:
                total = n_frames / float(np.median([t for t, _ in runs[kind]]))
                if kinds[kind] is None:
                    lines.append(f"{name:10s} {kind:48s} {total:9.0f}")
                else:
                    start = float(np.median([s for _, s in runs[kind]]))
                    after = float(np.median([n_frames / (t - s) for t, s in runs[kind]]))
                    lines.append(f"{name:10s} {kind:48s} {total:9.0f} {total / decode:9.2f} {start:9.2f} {after:12.0f}")
                print(lines[-1], flush=True)
            two, one = (n_frames / float(np.median([t for t, _ in runs[k]])) for k in ("2 worker processes",
                                                                                     "1 worker process"))
            lines.append(f"{name:10s} 2 workers / 1 worker: {two / one:.2f}")
            if dask:
                dask_rate = n_frames / float(np.median([t for t, _ in runs["Dask LocalCluster (2 x 1 thread)"]]))
                lines[-1] += f"; Dask / 2 worker processes: {dask_rate / two:.2f}"
            print(lines[-1], flush=True)
    finally:
        for pool in pools.values():
            pool.shutdown()
    return lines


def stream_on_local_cluster(path) -> tuple:
    """:func:`timed_stream` on a fresh ``LocalCluster`` (2 single-thread workers), warmed first and closed after.

    Only while its own row runs: an idle cluster slows the other rows (see :func:`on_local_cluster`).
    """
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        executor = client.get_executor()
        recover(path, max_frames=512, executor=executor)
        return timed_stream(path, executor=executor)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"a number of frames (at least 1), given {text}")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--frames", type=int, default=440, help="frames per clip (default 440 = 0.2 s)")
    parser.add_argument("--large-frames", type=int, default=300, help="frames per clip above 512x512 (default 300)")
    parser.add_argument("--stage-frames", type=int, default=300,
                        help="frames the stage-by-stage baseline recovers (default 300)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="128x128 and 512x512, 2 repeats")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--memory", action="store_true", help="also peak RSS at 10,000 and 100,000 frames")
    parser.add_argument("--long", type=_positive, metavar="N",
                        help="only decode and recover a raw AVI of N frames per size (a real recording's length)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats = ["128x128", "512x512"], 2
    import subprocess as sp

    commit = sp.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                    cwd=Path(__file__).parent).stdout.strip()
    lines = [f"vismic {vismic.__version__} at {commit}; {os.cpu_count()} CPUs; torch: {has_torch()}, "
             f"CUDA: {has_cuda()}; load average {os.getloadavg()[0]:.1f} at the start"]
    print(lines[0], flush=True)
    if args.long:
        lines += long_clips(args.sizes, args.long, args.repeats, not args.no_dask and has_dask())
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "bench_speed_long.txt").write_text("\n".join(lines) + "\n")
        return
    dask = not args.no_dask and has_dask()
    if not args.no_dask and not dask:
        print("(dask.distributed not installed: no Dask row)")
    seconds, megabytes = kernel_load_cost()
    lines.append(f"the compiled difference loop loads in {seconds:.2f} s and {megabytes:.0f} MB of memory in a fresh "
                 "process (its first projection with tiles; median of 3)")
    print(lines[-1], flush=True)
    SGEMM_PEAK.update(sgemm_peak())
    lines.append(f"float32 matrix products (2048^3) reach {SGEMM_PEAK['all cores']:.0f} GFLOP/s on all cores, "
                 f"{SGEMM_PEAK['one thread']:.0f} on one thread (median of 5): the ceiling rows divide the first "
                 "by the projection's flops per frame")
    print(lines[-1], flush=True)
    results, frames_per_size = {}, {}
    for name in args.sizes:
        shape = SIZES[name]
        n_frames = args.frames if shape[0] * shape[1] <= 512 * 512 else args.large_frames
        frames_per_size[name] = n_frames
        results[name] = measure_size(name, shape, n_frames, args.repeats, dask, min(args.stage_frames, n_frames))
        print(f"{name} ({n_frames} frames): templates built in {results[name]['template build here, s']:.2f} s here, "
              f"{results[name]['template build on 2 workers, s']:.2f} s on 2 workers", flush=True)
    keys = list(dict.fromkeys(k for rows in results.values() for k in rows))
    width = max(len(k) for k in keys)
    lines.append("")
    lines.append(f"{'frames/s (median of ' + str(args.repeats) + ')':{width}s} " + " ".join(f"{n:>10s}" for n in results))
    lines.append(f"{'frames per clip':{width}s} " + " ".join(f"{frames_per_size[n]:10d}" for n in results))
    for key in keys:
        values = [results[n].get(key, float("nan")) for n in results]
        digits = 2 if key.endswith((", s", "ms per frame", "millions", "/ decode raw AVI")) else 0
        lines.append(f"{key:{width}s} " + " ".join(f"{v:10.{digits}f}" for v in values))
    if args.memory:
        lines.append("")
        for n in (10_000, 100_000):
            lines.append(f"peak RSS, recover_sound on {n} frames of 512x512: {peak_memory(n, (512, 512))}")
    lines.append(f"load average {os.getloadavg()[0]:.1f} at the end")
    print("\n".join(lines[1:]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_speed.txt").write_text("\n".join(lines) + "\n")
    write_csv(RESULTS / "bench_speed.csv", [{"measure": key, **{n: results[n].get(key, float("nan")) for n in results}}
                                             for key in keys])


if __name__ == "__main__":
    main()
