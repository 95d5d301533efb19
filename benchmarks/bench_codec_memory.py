"""Peak memory and time of ``vismic recover`` on H.264 files, with and without the codec replica.

An H.264 file's recovery streams its frames, but the check on a replica of the scene
through the same codec (``--codec-replica on``, the default where PyAV is installed)
renders, codes and recovers whole frames. For each frame size and length this writes
a textured scene moved by 0.1 px of music through x264 at its defaults
(:func:`vismic.synth.compress`), runs ``vismic recover FILE --fps 2000`` in a
subprocess with the replica on and off, and prints the child's peak RSS
(``VmHWM``), its wall time and the estimate it wrote. With ``--stabilise on``
the recovery runs a :class:`~vismic.stabilise.Stabilise` step first, whose held
frames must be given back before the replica starts.

Run::

    nice python benchmarks/bench_codec_memory.py                          # 640x400 and 1280x800, 300 and 600 frames
    nice python benchmarks/bench_codec_memory.py --sizes 1280x800 --frames 600 --stabilise on

Needs PyAV with libx264 (``pip install vismic[codecs]``); a few minutes a file at 1280x800.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FPS = 2000.0


def write_clip(path: Path, frames: int, height: int, width: int) -> None:
    import vismic
    from vismic import synth

    sound = synth.make_displacement(synth.music(duration_seconds=frames / FPS, sr=FPS), amplitude_px=0.1)
    scene = synth.render_scene(synth.texture("gravel", size=(height, width)), sound, noise_std=2.0, fps=FPS)
    synth.compress(scene.frames, codec="H264", keep=path)
    assert vismic.io.open_video(path, fps=FPS).frame_count_hint in (None, frames)


#: The child: ``vismic`` on the arguments, then its own peak RSS (kB) on the last line of stderr. VmHWM, not
#: ``ru_maxrss``: a child's ``ru_maxrss`` starts from its parent's RSS at the fork (this script's, which
#: rendered the clip), while VmHWM belongs to the program the child runs.
CHILD = """
import resource, sys
from vismic.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("peak_kb", peak, file=sys.stderr)
sys.exit(code or 0)
"""


def recover(path: Path, replica: str, stabilise: str) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, "recover", str(path), "--fps", str(FPS), "-o",
                           str(path.with_suffix(f".{replica}.wav")), "--codec-replica", replica,
                           "--stabilise", stabilise],
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    found = re.search(r"estimated SNR (-?[\d.]+) dB", done.stdout + done.stderr)
    peak = re.search(r"peak_kb (\d+)", done.stderr)
    return {"rc": done.returncode, "seconds": seconds, "estimate": float(found.group(1)) if found else float("nan"),
            "peak_mb": int(peak.group(1)) / 1024.0 if peak else float("nan"), "error": done.stderr.strip()[-300:]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["640x400", "1280x800"], help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, nargs="+", default=[300, 600])
    parser.add_argument("--stabilise", choices=["auto", "on", "off"], default="auto")
    args = parser.parse_args(argv)
    print(f"vismic recover on x264 files (defaults, 0.1 px of music, {FPS:g} fps), --stabilise {args.stabilise}: "
          "peak RSS of the child (MB), wall time (s), the estimate written (dB)")
    print(f"{'size':>10} {'frames':>6} | {'replica on':>22} | {'replica off':>22}")
    runs = sorted(((tuple(int(v) for v in size.lower().split("x")), n) for size in args.sizes for n in args.frames),
                  key=lambda run: run[0][0] * run[0][1] * run[1])
    with tempfile.TemporaryDirectory() as folder:
        for (width, height), n in runs:
            path = Path(folder) / f"clip_{width}x{height}_{n}.mp4"
            write_clip(path, n, height, width)
            on, off = recover(path, "on", args.stabilise), recover(path, "off", args.stabilise)
            cells = [(f"failed ({r['error'].splitlines()[-1][:40] if r['error'] else r['rc']})" if r["rc"] else f"{r['peak_mb']:7.0f} MB {r['seconds']:5.1f} s {r['estimate']:5.1f}")
                     for r in (on, off)]
            print(f"{width:>5}x{height:<4} {n:>6} | {cells[0]:>22} | {cells[1]:>22}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
