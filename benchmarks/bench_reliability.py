"""Rerun every bad-input case of the reliability campaign (issue 12) and print one row per case.

Each case runs ``python -m vismic.cli ...`` (or a few lines of the Python API) as a subprocess,
in a fresh folder, with a time limit and an address-space cap, and is judged on: exit code,
first line of stderr, inputs and an existing output untouched (sha256 before/after), temporary
files left beside the outputs, peak memory of the child (RUSAGE_CHILDREN) and a verdict:
``clean`` or ``NOT CLEAN (why)``.

    python benchmarks/bench_reliability.py            # every case, a few minutes on 2 cores
    python benchmarks/bench_reliability.py --quick    # the fast subset
    python benchmarks/bench_reliability.py -k grid    # cases whose name contains 'grid'

Some cases need the readers' side of the campaign (damaged videos, non-UTF-8 names, FIFOs,
image headers, mixed bit depths, memory flat in length); before it is merged they show NOT CLEAN.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FPS = 2200.0

# The child runs under this wrapper: an address-space cap, then its peak RSS written for the parent.
WRAPPER = textwrap.dedent("""
    import resource, signal, subprocess, sys
    cap, rss_file = int(sys.argv[1]), sys.argv[2]
    STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    def start():  # the child gets the signals the bench sends; this wrapper outlives them to report
        for stop in STOPS:
            signal.signal(stop, signal.SIG_DFL)
        if cap > 0:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    for stop in STOPS:
        signal.signal(stop, signal.SIG_IGN)
    child = subprocess.Popen(sys.argv[3:], preexec_fn=start)
    code = child.wait()
    open(rss_file, "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
    sys.exit(code if code >= 0 else 128 - code)
""")

# sitecustomize shims: hide matplotlib; slow the WAV write down and say when it starts.
HIDE_MATPLOTLIB = "raise ImportError('No module named matplotlib (hidden by bench_reliability)')\n"
SLOW_WRITE = textwrap.dedent("""
    import os, time
    import soundfile
    _write = soundfile.write
    def write(*args, **kwargs):
        open(os.environ["VISMIC_BENCH_MARKER"], "w").close()
        time.sleep(3)
        return _write(*args, **kwargs)
    soundfile.write = write
""")


@dataclass
class Case:
    name: str
    argv: list                      # after "python -m vismic.cli", or ["-c", code] for the API
    expect: str                     # "refuse", "warn", "signal", "ok"
    inputs: list = field(default_factory=list)
    output: Optional[str] = None    # an output path whose prior content must survive a refusal
    quick: bool = True
    timeout: float = 120.0
    env: dict = field(default_factory=dict)
    send: Optional[int] = None      # a signal sent when the WAV write starts
    api: bool = False
    needs: str = ""                 # the part of the campaign it depends on, for the report
    says: tuple = ()                # a "warn" case must say one of these (lower case) on stderr


def sha(path: Path) -> str:
    if not path.exists():
        return "-"
    if path.is_dir():
        return hashlib.sha256("\n".join(f"{p.relative_to(path)}:{sha(p)}" for p in sorted(path.rglob("*"))
                                        if p.is_file()).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def png_header(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def make_inputs(folder: Path, *, big: bool) -> dict:
    """Every input file the cases need, written once."""
    import cv2

    sys.path.insert(0, str(ROOT))
    from vismic import synth
    from vismic.io import write_video

    sound = synth.music(duration_seconds=0.3, sr=FPS)
    scene = synth.render_scene(synth.texture("brick", size=(64, 64)), synth.make_displacement(sound, amplitude_px=0.1),
                               noise_std=1, fps=FPS)
    frames8 = np.round(scene.frames).clip(0, 255).astype(np.uint8)
    files = {"clip": write_video(folder / "clip.avi", frames8, playback_fps=30)}
    data = files["clip"].read_bytes()
    (folder / "truncated.avi").write_bytes(data[: len(data) // 2])
    damaged = bytearray(data)
    middle = len(damaged) // 2
    damaged[middle:middle + 4096] = os.urandom(4096)
    (folder / "overwritten.avi").write_bytes(bytes(damaged))
    (folder / "frames").mkdir()
    for i, frame in enumerate(frames8[:40]):
        cv2.imwrite(str(folder / "frames" / f"f{i:03d}.png"), frame)
    (folder / "existing").mkdir()
    (folder / "existing" / "keep.txt").write_text("the user's file")
    (folder / "mixed").mkdir()
    for i, frame in enumerate(frames8[:40]):
        cv2.imwrite(str(folder / "mixed" / f"f{i:03d}.png"), frame if i % 2 else frame.astype(np.uint16) * 257)
    still = np.repeat(frames8[:1], 300, axis=0)
    write_video(folder / "same.avi", still, playback_fps=30)
    write_video(folder / "noise.avi", np.random.default_rng(0).integers(0, 256, (300, 64, 64), dtype=np.uint8),
                playback_fps=30)
    (folder / "fake.npz").write_bytes(b"PK\x03\x04 this is not a zip file")
    (folder / "huge").mkdir()
    for i in range(3):
        (folder / "huge" / f"f{i}.png").write_bytes(png_header(100000, 100000))
    (folder / "run").mkdir()
    (folder / "run" / "checkpoint.pt").write_bytes(b"damaged checkpoint")
    bad = os.fsencode(folder) + b"/\xff\xfe.avi"
    with open(bad, "wb") as out:
        out.write(data)
    cv2.imwrite(str(folder / "tmp.tif"), frames8[0])
    os.rename(folder / "tmp.tif", os.fsencode(folder) + b"/\xff.tif")
    os.mkfifo(folder / "fifo.avi")
    (folder / "existing.wav").write_bytes(b"RIFF an existing output")
    if big:
        (folder / "big").mkdir()
        texture = (np.random.default_rng(1).random((4000, 4000)) * 255).astype(np.uint8)
        for i in range(40):
            cv2.imwrite(str(folder / "big" / f"f{i:03d}.png"), np.roll(texture, i, axis=1),
                        [cv2.IMWRITE_PNG_COMPRESSION, 1])
        long = np.tile(frames8, (25, 1, 1))  # 16500 frames
        write_video(folder / "long.avi", long, playback_fps=30)
        write_video(folder / "short.avi", long[:2000], playback_fps=30)
    return files


def api(code: str) -> list:
    """A few lines of the Python API as a case: a VismicError is a clean refusal (exit 2)."""
    body = textwrap.indent(textwrap.dedent(code), "    ")
    return ["-c", "import sys, numpy as np, vismic\nfrom vismic.errors import VismicError\ntry:\n" + body +
            "\nexcept VismicError as e:\n    print('vismic: error:', e, file=sys.stderr); sys.exit(2)\n"]


DAMAGE = ("truncat", "damag", "missing", "decode", "promise", "corrupt")


def cases(big: bool) -> List[Case]:
    r = ["recover"]
    fps = ["--fps", "2200"]
    out = ["-o", "out.wav"]
    return [
        # users' files
        Case("recover -o INPUT", r + ["clip.avi", *fps, "-o", "clip.avi"], "refuse", ["clip.avi"]),
        Case("magnify -o EXISTING_FOLDER", ["magnify", "frames", "-o", "existing", "--alpha", "10"], "refuse",
             ["frames"], output="existing"),
        Case("magnify -o INPUT_FOLDER", ["magnify", "frames", "-o", "frames", "--alpha", "10"], "refuse", ["frames"]),
        Case("magnify -o INPUT.avi", ["magnify", "clip.avi", "-o", "clip.avi", "--alpha", "10"], "refuse",
             ["clip.avi"]),
        Case("recover over existing.wav, bad --roi", r + ["clip.avi", *fps, "-o", "existing.wav", "--roi", "inf,0,1,1"],
             "refuse", ["clip.avi"], output="existing.wav"),
        # crashes
        Case("recover non-UTF-8 .avi", r + [b"\xff\xfe.avi", *fps, *out], "ok", needs="robust-io"),
        Case("recover non-UTF-8 .tif", r + [b"\xff.tif", *fps, *out], "refuse", needs="robust-io"),
        # tracebacks
        Case("--roi inf,0,10,10", r + ["clip.avi", *fps, *out, "--roi", "inf,0,10,10"], "refuse", ["clip.avi"]),
        Case("--roi -5,0,10,10", r + ["clip.avi", *fps, *out, "--roi", "-5,0,10,10"], "refuse", ["clip.avi"]),
        Case("--grid inf,1", r + ["clip.avi", *fps, *out, "--grid", "inf,1"], "refuse", ["clip.avi"]),
        Case("--resample inf", r + ["clip.avi", *fps, *out, "--resample", "inf"], "refuse", ["clip.avi"]),
        Case("--highpass nan", r + ["clip.avi", *fps, *out, "--highpass", "nan"], "refuse", ["clip.avi"]),
        Case("--equalise fake zip", r + ["clip.avi", *fps, *out, "--equalise", "fake.npz"], "refuse",
             ["clip.avi", "fake.npz"]),
        Case("PNG header 100000x100000", r + ["huge", *fps, *out], "refuse", ["huge"], needs="robust-io"),
        Case("train-magnet --device cuda", ["train-magnet", "run_cuda", "--steps", "1", "--device", "cuda"],
             "refuse"),
        Case("train-magnet damaged checkpoint", ["train-magnet", "run", "--steps", "1"], "refuse", ["run"]),
        Case("API NaN pixel", api("f = np.random.rand(40, 32, 32); f[3, 4, 5] = np.nan\n"
                                  "vismic.recover_sound(f, fps=2200.0)"), "refuse", api=True, needs="robust-io"),
        Case("API fps=1e300", api("vismic.recover_sound(np.random.rand(40, 32, 32), fps=1e300)"), "refuse",
             api=True, needs="robust-io"),
        Case("API highpass_hz=nan", api("vismic.recover_sound(np.random.rand(40, 32, 32), fps=2200.0, "
                                        "highpass_hz=float('nan'))"), "refuse", api=True),
        Case("API to_wav(target_sr=1e12)", api("from vismic.data import Audio\n"
                                               "Audio(np.random.rand(100), 2200.0).to_wav('t.wav', "
                                               "target_sr=10**12)"), "refuse", api=True, needs="robust-io"),
        # hangs and memory
        Case("FIFO input", r + ["fifo.avi", *fps, *out], "refuse", timeout=30, needs="robust-io"),
        Case("train-magnet --hours nan", ["train-magnet", "run_nan", "--hours", "nan"], "refuse", timeout=60),
        Case("--grid 1000,1000 on 64x64", r + ["clip.avi", *fps, *out, "--grid", "1000,1000"], "refuse",
             ["clip.avi"]),
        Case("--grid 64,64 on 64x64", r + ["clip.avi", *fps, *out, "--grid", "64,64"], "refuse", ["clip.avi"]),
        # 7.6 GiB of projection templates: refused up front with what to change, before any frame is read
        Case("forty 4000x4000 PNGs", r + ["big", *fps, *out], "refuse", ["big"], quick=False, timeout=300,
             needs="robust-io") if big else None,
        Case("memory: 2000 frames", r + ["short.avi", *fps, "-o", "short.wav"], "ok", quick=False) if big else None,
        Case("memory: 16500 frames", r + ["long.avi", *fps, "-o", "long.wav"], "ok", quick=False, timeout=300,
             needs="robust-io") if big else None,
        # silent wrong results
        Case("truncated video (50 %)", r + ["truncated.avi", *fps, *out], "warn", ["truncated.avi"],
             needs="robust-io", says=DAMAGE),
        Case("4 kB overwritten mid-file", r + ["overwritten.avi", *fps, *out], "warn", ["overwritten.avi"],
             needs="robust-io", says=DAMAGE),
        Case("mixed 8/16-bit PNG folder", r + ["mixed", *fps, *out], "refuse", ["mixed"], needs="robust-io"),
        Case("identical frames", r + ["same.avi", *fps, *out], "warn", ["same.avi"], says=("no motion",)),
        Case("identical frames --strict", r + ["same.avi", *fps, *out, "--strict"], "refuse", ["same.avi"]),
        Case("pure-noise frames", r + ["noise.avi", *fps, *out], "warn", ["noise.avi"], says=("no stable texture",)),
        Case("pure-noise frames --strict", r + ["noise.avi", *fps, *out, "--strict"], "refuse", ["noise.avi"]),
        Case("demo --amplitude 100", ["demo", "--amplitude", "100", "--seconds", "0.3", "-o", "demo.wav"], "warn",
             says=("motion too large",)),
        Case("--resample 7.5", r + ["clip.avi", *fps, *out, "--resample", "7.5"], "refuse", ["clip.avi"]),
        Case("train-magnet --steps 0", ["train-magnet", "run0", "--steps", "0"], "refuse"),
        Case("train-magnet --steps -5", ["train-magnet", "run0", "--steps", "-5"], "refuse"),
        Case("train-magnet --hours -1", ["train-magnet", "run0", "--hours", "-1"], "refuse"),
        # interruptions during the WAV write, late failures
        Case("SIGINT during WAV write", r + ["clip.avi", *fps, *out], "signal", ["clip.avi"], send=signal.SIGINT),
        Case("SIGTERM during WAV write", r + ["clip.avi", *fps, *out], "signal", ["clip.avi"], send=signal.SIGTERM),
        Case("SIGHUP during WAV write", r + ["clip.avi", *fps, *out], "signal", ["clip.avi"], send=signal.SIGHUP),
        Case("--plot without matplotlib", r + ["clip.avi", *fps, *out, "--plot", "p.png"], "refuse", ["clip.avi"],
             env={"HIDE": "matplotlib"}),
        Case("250-character output name", r + ["clip.avi", *fps, "-o", "a" * 246 + ".wav"], "ok", ["clip.avi"],
             needs="robust-io"),
    ]


def run_case(case: Case, source: Path, work: Path, cap: int) -> dict:
    import shutil

    folder = Path(tempfile.mkdtemp(dir=work))
    for item in source.iterdir():
        target = os.path.join(os.fsencode(folder), os.fsencode(item.name))
        if item.is_fifo():
            os.mkfifo(target)
        elif item.is_dir():
            shutil.copytree(item, target.decode("utf-8", "surrogateescape"))
        else:
            shutil.copyfile(item, target)
    watched = [folder / p for p in case.inputs] + ([folder / case.output] if case.output else [])
    before = {p: sha(p) for p in watched}
    listing_before = set(os.listdir(os.fsencode(folder)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    shim = None
    if case.env.get("HIDE") or case.send is not None:
        shim = Path(tempfile.mkdtemp(dir=work))
        if case.env.get("HIDE"):
            (shim / "matplotlib").mkdir()
            (shim / "matplotlib" / "__init__.py").write_text(HIDE_MATPLOTLIB)
        if case.send is not None:
            (shim / "sitecustomize.py").write_text(SLOW_WRITE)
            env["VISMIC_BENCH_MARKER"] = str(folder / "write-started")
        env["PYTHONPATH"] = f"{shim}{os.pathsep}{ROOT}"
    rss_file = folder / "rss"
    argv = [sys.executable, "-c", WRAPPER, str(cap), str(rss_file), sys.executable]
    argv += case.argv if case.api else ["-m", "vismic.cli", *case.argv]
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
    timed_out = False
    if case.send is not None:
        marker = folder / "write-started"
        while child.poll() is None and not marker.exists() and time.perf_counter() - started < case.timeout:
            time.sleep(0.05)
        time.sleep(0.2)
        if child.poll() is None:
            os.killpg(child.pid, case.send)  # as a terminal or a job scheduler would: the whole group
    try:
        _, err = child.communicate(timeout=case.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        _, err = child.communicate()
        timed_out = True
    seconds = time.perf_counter() - started
    err = err.decode("utf-8", "replace")
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]
    rss_mb = int(rss_file.read_text()) / 1024 if rss_file.exists() else float("nan")
    after = {p: sha(p) for p in watched}
    new = set(os.listdir(os.fsencode(folder))) - listing_before - {b"rss", b"write-started"}
    temporaries = [os.fsdecode(n) for n in new if b"vismic-tmp" in n or os.fsdecode(n).startswith(".")]
    code = None if timed_out else child.returncode
    why = judge(case, code, err, lines, before, after, temporaries, new)
    # the line that matters: the error, else the first warning
    shown = ([line for line in lines if line.startswith(("vismic: error", "vismic: stopped", "vismic: interrupted"))]
             + [line for line in lines if line.startswith("vismic: warning")]
             + lines)
    return dict(case=case, code="timeout" if timed_out else code, first=shown[0] if shown else "", why=why,
                untouched=before == after, temporaries=temporaries, rss_mb=rss_mb, seconds=seconds)


def judge(case, code, err, lines, before, after, temporaries, new) -> list:
    why = []
    if code is None:
        why.append("hang (timed out)")
    elif code in (1, 134, 137, 139) or code < 0:
        why.append(f"exit {code}")
    if "Traceback" in err:
        why.append("traceback")
    foreign = [line for line in lines if not line.startswith(("vismic", "wrote ", "scene:", "resuming", "step "))
               and not line.startswith((" ", "Cramer", "published", "estimated", "exported", "finished"))]
    if foreign and "Traceback" not in err:
        why.append(f"foreign line: {foreign[0][:40]!r}")
    if before != after:
        why.append("user file changed")
    if temporaries:
        why.append(f"temporary left: {temporaries[0]}")
    if case.expect == "refuse" and code not in (2, None):
        why.append(f"not refused (exit {code})")
    if case.expect == "refuse" and code == 2 and sum(line.startswith("vismic: error:") for line in lines) != 1:
        why.append("not one error line")
    said = err.lower()
    for name in case.inputs:  # 'truncated.avi' in a message does not say the video is truncated
        said = said.replace(name.lower(), "")
    if case.expect == "warn" and not any(word in said for word in case.says):
        why.append(f"no warning ({case.says[0]!r} not said)")
    if case.expect == "signal":
        if code not in (130, 128 + signal.SIGTERM, 128 + signal.SIGHUP):
            why.append(f"exit {code} after {signal.Signals(case.send).name}")
        if any(n.endswith(b".wav") or n.endswith(b".json") for n in new):
            why.append("partial output left")
    if case.expect == "ok" and code != 0:
        why.append(f"failed (exit {code})")
    return why


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the fast cases only (no large or long inputs)")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    parser.add_argument("--memory-cap-gb", type=float, default=8.0, help="address-space cap of each case")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vismic-bench-") as tmp:
        work = Path(tmp)
        source = work / "inputs"
        source.mkdir()
        print("writing the inputs ...", file=sys.stderr)
        make_inputs(source, big=not args.quick)
        rows = []
        for case in cases(big=not args.quick):
            if case is None or (args.quick and not case.quick) or args.k.lower() not in case.name.lower():
                continue
            row = run_case(case, source, work, int(args.memory_cap_gb * 2**30))
            rows.append(row)
            print(f"  {case.name}: {'clean' if not row['why'] else 'NOT CLEAN'} ({row['seconds']:.1f} s)",
                  file=sys.stderr)
    by_name = {row["case"].name: row for row in rows}
    short, long = by_name.get("memory: 2000 frames"), by_name.get("memory: 16500 frames")
    if short and long and long["rss_mb"] > 1.1 * short["rss_mb"]:  # the bar: flat within 10 %
        long["why"].append(f"memory grows with length: {long['rss_mb']:.0f} MB vs {short['rss_mb']:.0f} MB")
    print(f"{'case':34s} {'exit':>7s} {'untouched':>9s} {'temps':>5s} {'peak MB':>8s}  verdict / first line of stderr")
    for row in rows:
        verdict = "clean" if not row["why"] else "NOT CLEAN: " + "; ".join(row["why"])
        needs = f" [needs {row['case'].needs}]" if row["why"] and row["case"].needs else ""
        print(f"{row['case'].name[:34]:34s} {str(row['code']):>7s} {'yes' if row['untouched'] else 'NO':>9s} "
              f"{len(row['temporaries']):5d} {row['rss_mb']:8.0f}  {verdict}{needs}")
        print(f"{'':34s} {'':>7s} {'':>9s} {'':>5s} {'':>8s}  {row['first'][:110]}")
    dirty = [row for row in rows if row["why"]]
    print(f"\n{len(rows) - len(dirty)} of {len(rows)} cases clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
