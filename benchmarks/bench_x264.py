"""Whether x264 codes the same frames to the same bits from run to run, with and without its AVX-512 code.

Encodes one clip ``--runs`` times in this process at x264's defaults through PyAV (as
:func:`vismic.codec.encode_like` and ``vismic.synth.compress(codec='H264')`` do) with x264
choosing its instruction sets itself (``auto``) and with :func:`vismic._x264.x264_options`
(every set the CPU has below AVX-512, where it has AVX-512), while ``--load`` processes keep the
cores busy, as a benchmark or a second job does. Prints, for each, how many distinct
bitstreams came out, how many runs differed from the first, and the median seconds a run.

The clip: the eye clip of ../shared/footage (its first 257 frames, 576x448 px, the content on
which ``recover_sound``'s H.264 replica was seen to vary) where present, else a rendered
:mod:`vismic.synth` scene of the same size (``--source synth`` forces it).

Run::

    python benchmarks/bench_x264.py [--runs 16] [--load 2] [--source eye|synth]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from vismic._x264 import x264_options  # noqa: E402
from vismic.codec._encoders import _luma, _to_8bit  # noqa: E402

EYE = ROOT.parent / "shared" / "footage" / "eye.mp4"


def _spin(stop):
    while not stop.is_set():
        sum(range(10000))


def eye_frames(count=257) -> np.ndarray:
    import av

    frames = []
    with av.open(str(EYE)) as container:
        for frame in container.decode(video=0):
            frames.append(_luma(frame))
            if len(frames) == count:
                break
    return np.stack(frames)


def synth_frames(count=257) -> np.ndarray:
    from vismic.synth import render_scene, texture, tone

    fps = 2200.0
    motion = 0.08 * tone(440.0, duration_seconds=count / fps, sr=fps)[:count]
    scene = render_scene(texture("coffee", size=(448, 576), seed=3), motion, direction_degrees=30.0,
                         noise_std=3.0, seed=0, fps=fps)
    return _to_8bit(scene.frames)


def encode_digest(frames: np.ndarray, options: dict) -> str:
    import av

    digest = hashlib.sha256()
    with av.open(io.BytesIO(), "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = dict(options)
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="gray")
            picture.pts = index
            for packet in stream.encode(picture):
                digest.update(bytes(packet))
        for packet in stream.encode():
            digest.update(bytes(packet))
    return digest.hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1, help="busy processes beside the encoder")
    parser.add_argument("--source", choices=("eye", "synth"), default="eye" if EYE.exists() else "synth")
    args = parser.parse_args(argv)
    frames = eye_frames() if args.source == "eye" else synth_frames()
    print(f"clip: {args.source}, {frames.shape[0]} frames of {frames.shape[2]}x{frames.shape[1]} px; "
          f"{args.runs} runs each, {args.load} busy processes beside")
    print(f"x264_options(): {x264_options() or '{} (no AVX-512: x264 picks its own)'}")
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.load)]
    for spinner in spinners:
        spinner.start()
    try:
        print(f"{'x264 instruction sets':<24}{'distinct':>9}{'differ from 1st':>17}{'median s':>10}")
        for name, options in (("auto", {}), ("x264_options()", x264_options())):
            digests, seconds = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                digests.append(encode_digest(frames, options))
                seconds.append(time.perf_counter() - start)
            differ = sum(digest != digests[0] for digest in digests[1:])
            print(f"{name:<24}{len(set(digests)):>9}{differ:>14}/{args.runs - 1:<2}{statistics.median(seconds):>10.2f}")
    finally:
        stop.set()
        for spinner in spinners:
            spinner.join()


if __name__ == "__main__":
    main()
