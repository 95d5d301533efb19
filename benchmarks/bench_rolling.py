"""Sound above the frame rate from rolling-shutter video (synthetic scenes).

Each scene is rendered by :func:`vismic.synth.render_rolling_shutter`: a
texture moving horizontally by a tone or by music (``synth.music`` made at
0.8 x the mean row rate ``fps x rows``, so that its harmonics stay below the
default band limit, then resampled to 4x the line rate for rendering), filmed at 60 fps with a rolling shutter whose rows cover
1/1.2 of each frame period (the rest is the blanking gap), Gaussian sensor
noise and 8-bit frames. :func:`vismic.rolling.recover_rolling_shutter`
recovers the motion at the line rate with each gap filling method:

* ``spectral``    -- least squares with a prior shaped like the signal's own spectrum (default),
* ``bandlimited`` -- least squares, white prior below the band limit,
* ``linear``      -- straight lines between rows (the simplest choice).

Per scene and method the table gives the SI-SNR of the rows themselves
(each row's measured shift against the motion at its instant: the measurement,
before any filling), the SI-SNR of the output against the true motion at the
line rate (both high-passed at 20 Hz; dB), the dominant frequency of the output
and of the truth (Hz; the frame rate's Nyquist limit is 30 Hz), how far the
output's spectral peak stands above everything outside its main lobe (dB), and
the wall-clock time of the recovery.

``--speed`` times the row measurement alone instead (the reference from the
mean frame, then every row's shift: :func:`vismic.rolling.row_reference` and
:func:`vismic.rolling.row_motion`, best of 3 after a warm-up) at 128, 256 and
512 px, in frames per second; it uses only those two public functions, so the
same script measures older versions of the package too.

Run::

    nice python benchmarks/bench_rolling.py             # 128 x 128 frames, 1 s at 60 fps
    nice python benchmarks/bench_rolling.py --quick     # 64 x 64, 0.5 s
    nice python benchmarks/bench_rolling.py --speed     # row measurement, frames/s
    nice python benchmarks/bench_rolling.py --csv benchmarks/results/bench_rolling.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vismic import metrics, synth  # noqa: E402
from vismic.denoise import highpass  # noqa: E402
from vismic.io import resample  # noqa: E402
from vismic.rolling import recover_rolling_shutter, row_motion, row_reference  # noqa: E402

FPS = 60.0
GAP = 1.2  # frame period / readout time
HIGHPASS_HZ = 20.0
FILLS = ("spectral", "bandlimited", "linear")

#: (texture, signal, peak motion px, sensor noise grey levels)
SCENES = (
    ("brick", "tone440", 0.01, 1.0),
    ("brick", "tone440", 0.03, 2.0),
    ("brick", "tone440", 0.1, 2.0),
    ("camera", "tone440", 0.03, 2.0),
    ("noise", "tone1000", 0.03, 2.0),
    ("gravel", "tone1000", 0.1, 1.0),
    ("brick", "music", 0.03, 2.0),
    ("brick", "music", 0.1, 1.0),
    ("camera", "music", 0.1, 2.0),
    ("noise", "music", 0.05, 1.0),
)


def motion(signal: str, amplitude_px: float, *, line_rate: float, rows_per_frame: int, seconds: float, seed: int):
    """``(displacement, sr)`` for :func:`synth.render_rolling_shutter`: a function or an array at 4x the line rate."""
    if signal.startswith("tone"):
        freq_hz = float(signal[4:])
        return (lambda t: amplitude_px * np.sin(2 * np.pi * freq_hz * t)), None
    # harmonics stop below 0.45 x 0.8 x the mean row rate, under the default band limit (0.4 x row rate);
    # the band-limited music is then resampled to 4x the line rate for rendering
    music_sr = 0.8 * FPS * rows_per_frame
    audio = synth.music(duration_seconds=seconds + 0.05, sr=music_sr, seed=seed)
    sr = 4.0 * line_rate
    audio = resample(audio, sr=music_sr, target_sr=sr)
    return synth.make_displacement(audio, amplitude_px=amplitude_px), sr


def dominant(samples: np.ndarray, sr: float):
    """Peak frequency (Hz) and its height above everything outside the main lobe (dB), Hann window."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1.0 / sr)
    k = int(np.argmax(spectrum))
    rest = np.delete(spectrum, np.arange(max(0, k - 6), k + 7))
    return float(freqs[k]), float(10 * np.log10(spectrum[k] / max(rest.max(), 1e-300)))


def run(size: int, seconds: float):
    delay = 1.0 / (FPS * size * GAP)
    line_rate = 1.0 / delay
    n_frames = int(round(seconds * FPS))
    rows = []
    for seed, (texture, signal, amplitude, noise) in enumerate(SCENES):
        displacement, sr = motion(signal, amplitude, line_rate=line_rate, rows_per_frame=size, seconds=seconds, seed=seed)
        scene = synth.render_rolling_shutter(
            synth.texture(texture, size=(size, size)), displacement, sr=sr,
            n_frames=n_frames if sr is None else None,
            fps=FPS, line_delay_seconds=delay, noise_std=noise, seed=seed,
        )
        scene_frames = scene.frames[:n_frames]
        reference = highpass(scene.displacement_px, sr=scene.sr, cutoff_hz=HIGHPASS_HZ)
        truth_hz, _ = dominant(reference, scene.sr)
        for fill in FILLS:
            start = time.perf_counter()
            audio = recover_rolling_shutter(scene_frames, fps=FPS, line_delay_seconds=delay, fill=fill)
            seconds_taken = time.perf_counter() - start
            n = min(audio.samples.size, reference.size)
            measured = audio.info["row_displacement_px"][: len(scene_frames)].ravel()
            truth_rows = scene.row_displacement_px[: len(scene_frames)].ravel()
            peak_hz, prominence_db = dominant(audio.samples, audio.sr)
            rows.append({
                "scene": f"{texture} {signal} {amplitude:g}px n{noise:g}",
                "fill": fill,
                "rows_si_snr_db": metrics.si_snr(measured, truth_rows),
                "si_snr_db": metrics.si_snr(audio.samples[:n], reference[:n]),
                "peak_hz": peak_hz,
                "truth_peak_hz": truth_hz,
                "peak_above_rest_db": prominence_db,
                "seconds": seconds_taken,
            })
            r = rows[-1]
            print(
                f"{r['scene']:<28} {fill:<12} {r['rows_si_snr_db']:>9.1f} {r['si_snr_db']:>8.1f} "
                f"{r['peak_hz']:>8.1f} {r['truth_peak_hz']:>8.1f} {r['peak_above_rest_db']:>8.1f} {r['seconds']:>7.2f}",
                flush=True,
            )
    return rows


def speed(sizes=(128, 256, 512), n_frames: int = 30, repeats: int = 3):
    """Frames per second of the row measurement (reference + every row's shift) at each frame size."""
    print(f"{'frames':<12} {'seconds':>8} {'frames/s':>9}")
    for size in sizes:
        delay = 1.0 / (FPS * size * GAP)
        scene = synth.render_rolling_shutter(
            synth.texture("brick", size=(size, size)), lambda t: 0.05 * np.sin(2 * np.pi * 440 * t),
            fps=FPS, line_delay_seconds=delay, n_frames=n_frames, noise_std=1.0,
        )
        frames = scene.frames.astype(np.float32)
        row_motion(frames[:2], row_reference(frames[0]))  # warm-up: filters, cached operators
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            row_motion(frames, row_reference(frames.mean(axis=0, dtype=np.float64)))
            best = min(best, time.perf_counter() - start)
        print(f"{f'{n_frames}x{size}x{size}':<12} {best:>8.3f} {n_frames / best:>9.0f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 x 64 frames, 0.5 s")
    parser.add_argument("--size", type=int, default=None, help="frame height and width (default 128)")
    parser.add_argument("--seconds", type=float, default=None, help="video length (default 1.0)")
    parser.add_argument("--csv", default=None, help="also write the table as CSV here")
    parser.add_argument("--speed", action="store_true", help="time the row measurement alone (128-512 px)")
    args = parser.parse_args(argv)
    if args.speed:
        print(f"# {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
        speed()
        return
    size = args.size or (64 if args.quick else 128)
    seconds = args.seconds or (0.5 if args.quick else 1.0)
    delay = 1.0 / (FPS * size * GAP)
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(
        f"# {size}x{size} frames at {FPS:g} fps for {seconds:g} s, line delay {delay * 1e6:.2f} us "
        f"(line rate {1 / delay:.0f} Hz, gap {100 * (1 - 1 / GAP):.1f}% of each frame), 8-bit, horizontal motion"
    )
    print(f"{'scene':<28} {'fill':<12} {'rows dB':>9} {'SI-SNR':>8} {'peak Hz':>8} {'true Hz':>8} {'above dB':>8} {'time s':>7}")
    rows = run(size, seconds)
    if args.csv:
        path = Path(args.csv)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"# written {path}")


if __name__ == "__main__":
    main()
