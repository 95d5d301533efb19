"""MPEG-4 part 2 frames unheld (:class:`vismic.codec.Unhold`): a sweep of scenes and of its settings.

Renders scenes of :mod:`vismic.synth` over textures, directions, motion sizes, sensor
noise and music or speech (2200 fps, 96x96, 0.6 s), compresses each with OpenCV's
``mp4v`` encoder at its default quality (:func:`vismic.synth.compress`), and prints the
SI-SNR (dB, against the true displacement high-passed at 20 Hz, no denoising) of
``recover_sound`` on the clean frames, on the compressed frames as held
(``unhold=False``) and unheld with each of :data:`SETTINGS` (``shrinkage``,
``reference_key_frames``; the defaults are 0.03 and 16), each with its ``snr_estimate_db``; then the stage's speed on 512x512 frames. Where the codec held no block (high sensor noise makes it
code every block of every frame) every frame is a key frame and nothing changes.

Run::

    nice python benchmarks/bench_unhold.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vismic  # noqa: E402
from vismic import metrics, synth  # noqa: E402
from vismic.denoise import highpass  # noqa: E402

FPS = 2200.0
#: (shrinkage, reference_key_frames) of the unheld columns
SETTINGS = ((0.03, 1), (0.03, 4), (0.01, 16), (0.03, 16), (0.1, 16))
#: texture, direction (degrees), motion (px), sensor noise (grey levels); music on even rows, speech on odd
SCENES = [("brick", 45, 0.05, 1), ("brick", 45, 0.05, 4), ("gravel", 90, 0.1, 2), ("coffee", 0, 0.02, 2),
          ("camera", 30, 0.05, 2), ("gravel", 135, 0.05, 1), ("coffee", 60, 0.1, 4), ("camera", 90, 0.1, 1)]


def row(k: int, texture: str, direction: float, amplitude: float, noise: float) -> str:
    audio = synth.speech if k % 2 else synth.music
    sound = synth.make_displacement(audio(duration_seconds=0.6, sr=FPS, seed=k), amplitude_px=amplitude)
    scene = synth.render_nuisance_scene(synth.texture(texture, size=(96, 96)), sound, direction_degrees=direction,
                                        noise_std=noise, fps=FPS, seed=k)
    truth = highpass(scene.displacement_px, sr=FPS)
    held = synth.compress(scene.frames, codec="mp4v")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = vismic.recover_sound(scene.frames, fps=FPS, denoise=None)
        as_held = vismic.recover_sound(held, fps=FPS, denoise=None, unhold=False)
        cells = [f"{metrics.si_snr(clean.samples, truth):6.1f}", f"{metrics.si_snr(as_held.samples, truth):6.1f}"]
        for shrinkage, keys in SETTINGS:
            pipe = vismic.default_pipeline(unhold=True, denoise=None)
            pipe.set_params(unhold__shrinkage=shrinkage, unhold__reference_key_frames=keys)
            rec = vismic.recover_sound(held, fps=FPS, pipeline=pipe, unhold=False)
            cells.append(f"{metrics.si_snr(rec.samples, truth):6.1f} {rec.info['snr_estimate_db']:6.1f}")
    audio_name = "speech" if k % 2 else "music"
    return f"{texture:7s} {direction:4g}deg {amplitude:5g}px n{noise:g} {audio_name:6s} | " + " | ".join(cells)


def speed(size: int = 512, n: int = 240, repeats: int = 3) -> float:
    """Median frames/s of :func:`vismic.codec.unhold` on an ``mp4v`` clip of ``size`` px."""
    from vismic.codec import unhold

    sound = synth.make_displacement(synth.music(duration_seconds=n / FPS, sr=FPS, seed=0), amplitude_px=0.05)
    scene = synth.render_nuisance_scene(synth.texture("brick", size=(size, size)), sound, noise_std=2.0, fps=FPS)
    held = synth.compress(scene.frames, codec="mp4v")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        unhold(held)
        times.append(time.perf_counter() - start)
    return n / float(np.median(times))


def main() -> int:
    start = time.perf_counter()
    print(f"{len(SCENES)} scenes, mp4v at OpenCV's default quality, 96x96 px, 0.6 s at {FPS:g} fps; "
          "SI-SNR (dB) without denoising, and snr_estimate_db")
    print(f"{'':33s} |        |        | " + " | ".join(f"{f'{s:g}, {k} keys':>13s}" for s, k in SETTINGS))
    print(f"{'scene':33s} |  clean |   held | " + " | ".join(f"{'SI-SNR    est':>13s}" for _ in SETTINGS))
    for k, scene in enumerate(SCENES):
        print(row(k, *scene), flush=True)
    print(f"\n{len(SCENES)} scenes in {time.perf_counter() - start:.0f} s")
    print(f"unhold at 512x512 (mp4v, 240 frames): {speed():.0f} frames/s, median of 3")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
