"""Sound recovered from the real high-speed clips of ../shared/footage.

None of the clips comes with recorded audio; what is known is the frequency of
what vibrates (see ../shared/footage/README.md):

=========== ======== ================================================ ===========
clip        capture  what vibrates                                    range (Hz)
=========== ======== ================================================ ===========
guitar.mp4  600 fps  strings: low E 82.4 Hz, A 110 Hz                  70-120
throat.mp4  1900 fps a singer's throat, voice fundamental ~90-110 Hz    80-120
eye.mp4     500 fps  an eye on a vibrating mount (magnified 30-50 Hz)   30-50
camera.mp4  300 fps  a DSLR's mirror and shutter (magnified 36-62 Hz)   36-62
=========== ======== ================================================ ===========

Per clip this runs ``vismic.recover_sound(clip, fps=..., denoise=None)``, the
same followed by the default denoiser (``mmse_lsa``), and the published
baseline (:func:`vismic.combine.davis_baseline`), takes the Welch power
spectrum of each recovered signal and prints: frames per second of the
recovery, vismic's own SNR estimate (``rec.info['snr_estimate_db']``) and
motion direction, the strongest spectral peaks inside the expected range with
their prominence (peak power over the median power of the spectrum above the
20 Hz high-pass, in dB), the strongest peak anywhere above 20 Hz, for the
guitar the level at each string's frequency, and what ``recover_sound`` flagged
(``rec.info['reliability']``: the clips are H.264, ``lossy_codec`` where the
frames do not show it already as ``inter_frame_codec``).

Run::

    nice python benchmarks/bench_footage.py                  # all four clips
    nice python benchmarks/bench_footage.py --clips guitar throat
    nice python benchmarks/bench_footage.py --downsample 1   # full resolution everywhere (slower)
    nice python benchmarks/bench_footage.py --max-frames 300
    nice python benchmarks/bench_footage.py --mp4v            # each clip exported again as MPEG-4 part 2

``--mp4v`` writes each clip's frames (as read, after the downsampling) again with
OpenCV's ``mp4v`` encoder at its default quality, as a tool exporting MPEG-4 part 2
would, and recovers from that file as held (``unhold=False``) and as
``recover_sound`` does by default (``unhold='auto'``: :class:`vismic.codec.Unhold`).

It prints a message and exits 0 when the footage folder (``--footage``,
``$VISMIC_FOOTAGE``, default ../shared/footage next to the repository) is absent.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
from scipy import signal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import vismic  # noqa: E402
from vismic.combine import davis_baseline  # noqa: E402
from vismic.denoise import Denoise  # noqa: E402
from vismic.io import open_video  # noqa: E402

HIGHPASS_HZ = 20.0
DEFAULT_FOOTAGE = Path(os.environ.get("VISMIC_FOOTAGE", ROOT.parent / "shared" / "footage"))


@dataclass(frozen=True)
class Clip:
    name: str
    fps: float
    band_hz: Tuple[float, float]
    targets: Tuple[Tuple[str, float], ...] = ()
    downsample: int = 1
    max_frames: Optional[int] = None


CLIPS = {
    "guitar": Clip("guitar", 600.0, (70.0, 120.0), (("low E", 82.4), ("A", 110.0)), downsample=1),
    "throat": Clip("throat", 1900.0, (80.0, 120.0), downsample=2),
    "eye": Clip("eye", 500.0, (30.0, 50.0), downsample=2),
    "camera": Clip("camera", 300.0, (36.0, 62.0), downsample=2),
}


def spectrum(samples, fps):
    """Welch power spectrum: ~4 Hz segments (the whole clip when shorter), zero-padded x8."""
    samples = np.asarray(samples, dtype=np.float64)
    n = samples.size
    nperseg = int(min(n, max(64, round(fps / 4.0))))
    freqs, power = signal.welch(samples, fs=fps, nperseg=nperseg, noverlap=nperseg // 2, nfft=8 * nperseg,
                                detrend="constant")
    return freqs, power


def peaks_in(freqs, power, lo, hi, floor, count=3):
    """Strongest local maxima of ``power`` within [lo, hi] Hz: [(Hz, dB over floor)], strongest first."""
    index, _ = signal.find_peaks(power)
    index = index[(freqs[index] >= lo) & (freqs[index] <= hi)]
    index = index[np.argsort(power[index])[::-1]][:count]
    return [(float(freqs[i]), float(10 * np.log10(power[i] / floor))) for i in index]


def analyse(samples, clip: Clip):
    freqs, power = spectrum(samples, clip.fps)
    above = freqs >= HIGHPASS_HZ
    floor = float(np.median(power[above]))
    in_band = peaks_in(freqs, power, *clip.band_hz, floor)
    overall = peaks_in(freqs, power, HIGHPASS_HZ, clip.fps / 2, floor, count=1)
    targets = []
    for label, hz in clip.targets:
        near = peaks_in(freqs, power, hz - 5.0, hz + 5.0, floor, count=1)
        targets.append((label, hz, near[0] if near else None))
    return in_band, overall[0] if overall else None, targets


def _timed(make):
    """Run ``make()``; return (output, seconds, error text or None)."""
    start = time.perf_counter()
    try:
        out = make()
    except Exception as exc:  # a benchmark reports a failing method and goes on
        return None, time.perf_counter() - start, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    samples = np.asarray(getattr(out, "samples", getattr(out, "audio", out)), dtype=np.float64)
    if not np.all(np.isfinite(samples)):
        return None, seconds, f"output has {int(np.sum(~np.isfinite(samples)))}/{samples.size} non-finite samples"
    return out, seconds, None


def run_clip(path: Path, clip: Clip, *, downsample: int, max_frames: Optional[int]):
    """Frames read, each method's (name, samples or None, frames/s, SNR estimate, direction, error), and
    the names of what ``recover_sound`` flagged (``rec.info['reliability']``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the codec's warnings: the flags say the same
        raw, raw_seconds, raw_error = _timed(
            lambda: vismic.recover_sound(path, fps=clip.fps, denoise=None, downsample=downsample,
                                         max_frames=max_frames))
        baseline, davis_seconds, davis_error = _timed(
            lambda: davis_baseline(open_video(path, fps=clip.fps, downsample=downsample, max_frames=max_frames),
                                   highpass_hz=HIGHPASS_HZ))
        source = open_video(path, fps=clip.fps, downsample=downsample, max_frames=max_frames)
        n = sum(len(batch) for batch in source) if raw is None else raw.info["n_frames"]
        results = [("davis", None if baseline is None else baseline.samples, n / davis_seconds, None, None,
                    davis_error)]
        if raw is None:
            results.append(("vismic none", None, n / raw_seconds, None, None, raw_error))
            results.append(("vismic lsa", None, n / raw_seconds, None, None, raw_error))
            return n, results, []
        start = time.perf_counter()
        denoised = Denoise(method="mmse_lsa").transform(raw).samples  # as recover_sound: with the measured noise
        lsa_seconds = raw_seconds + time.perf_counter() - start
    snr, direction = raw.info.get("snr_estimate_db"), raw.info.get("direction_degrees")
    results.append(("vismic none", raw.audio, n / raw_seconds, snr, direction, None))
    results.append(("vismic lsa", denoised, n / lsa_seconds, snr, direction, None))
    return n, results, sorted(raw.info.get("reliability", {}))


def run_mp4v(path: Path, clip: Clip, *, downsample: int, max_frames: Optional[int]):
    """:func:`run_clip`'s results for the clip exported again as ``mp4v``: held, and unheld (the default)."""
    import tempfile

    from vismic import synth

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = np.concatenate([b.frames for b in open_video(path, fps=clip.fps, downsample=downsample,
                                                               max_frames=max_frames)])
    frames = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    results, flags = [], []
    with tempfile.TemporaryDirectory(prefix="vismic-footage-") as folder:
        export = Path(folder) / "clip.avi"
        synth.compress(frames, codec="mp4v", keep=export)
        for method, unhold in (("mp4v held", False), ("mp4v unheld", "auto")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rec, seconds, error = _timed(lambda: vismic.recover_sound(export, fps=clip.fps, denoise=None,
                                                                          unhold=unhold))
            if rec is None:
                results.append((method, None, len(frames) / seconds, None, None, error))
                continue
            results.append((method, rec.audio, len(frames) / seconds, rec.info.get("snr_estimate_db"),
                            rec.info.get("direction_degrees"), None))
            flags = sorted(rec.info.get("reliability", {})) + (["unheld"] if "unheld" in rec.info else [])
    return len(frames), results, flags


def code_version() -> str:
    """The commit of the vismic being measured, and whether vismic/ has uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "vismic"],
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "vismic: version unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    text = f"vismic {vismic.__version__ if hasattr(vismic, '__version__') else ''} at commit {head or '?'}".replace("  ", " ")
    if changed:
        text += f", uncommitted changes in {', '.join(changed[:6])}" + (" ..." if len(changed) > 6 else "")
    return text


def fmt_peaks(peaks):
    return ", ".join(f"{hz:5.1f} Hz {db:+5.1f}" for hz, db in peaks) if peaks else "none"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE, help="folder with the clips")
    parser.add_argument("--clips", nargs="+", choices=tuple(CLIPS), default=list(CLIPS))
    parser.add_argument("--downsample", type=int, default=None,
                        help="spatial downsampling for every clip (default per clip: guitar 1, others 2)")
    parser.add_argument("--max-frames", type=int, default=None, help="read at most this many frames per clip")
    parser.add_argument("--mp4v", action="store_true",
                        help="instead: each clip exported again as MPEG-4 part 2, recovered held and unheld")
    args = parser.parse_args(argv)
    if not args.footage.is_dir():
        print(f"footage folder {args.footage} is absent: skipping the real-footage benchmark")
        return 0
    print(f"machine: {platform.platform()}, os.cpu_count()={os.cpu_count()}, python {platform.python_version()}")
    print(code_version())
    print("peaks: frequency and power over the median of the spectrum above 20 Hz (dB); Welch, ~4 Hz segments")
    print(f"{'clip':22s} {'method':12s} {'fr/s':>5s} {'SNRest':>6s} {'dir':>5s}  "
          f"{'strongest peaks in range':44s} {'strongest >20 Hz':18s} targets")
    for name in args.clips:
        clip = CLIPS[name]
        path = args.footage / f"{name}.mp4"
        if not path.exists():
            print(f"{name}: {path} is absent, skipped")
            continue
        downsample = args.downsample if args.downsample is not None else clip.downsample
        max_frames = args.max_frames if args.max_frames is not None else clip.max_frames
        run = run_mp4v if args.mp4v else run_clip
        n, results, flags = run(path, clip, downsample=downsample, max_frames=max_frames)
        label = f"{name} {clip.fps:g}fps /{downsample} {n}fr"
        lo, hi = clip.band_hz
        for method, samples, rate, snr, direction, error in results:
            if samples is None:
                print(f"{label:22s} {method:12s} {rate:5.0f} FAILED: {error}", flush=True)
                label = ""
                continue
            in_band, overall, targets = analyse(samples, clip)
            snr_text = f"{snr:6.1f}" if snr is not None else f"{'-':>6s}"
            dir_text = f"{direction:5.0f}" if direction is not None else f"{'-':>5s}"
            target_text = "; ".join(
                f"{lab} {hz:g}: " + (f"{peak[0]:.1f} Hz {peak[1]:+.1f}" if peak else "no peak")
                for lab, hz, peak in targets
            )
            overall_text = f"{overall[0]:5.1f} Hz {overall[1]:+5.1f}" if overall else "none"
            print(f"{label:22s} {method:12s} {rate:5.0f} {snr_text} {dir_text}  "
                  f"{f'[{lo:g}-{hi:g}] ' + fmt_peaks(in_band):44s} {overall_text:18s} {target_text}", flush=True)
            label = ""
        print(f"{'':22s} flagged: {', '.join(flags) or 'nothing'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
