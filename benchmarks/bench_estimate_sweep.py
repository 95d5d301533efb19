"""Random scenes beyond the other benchmarks' range: is ``snr_estimate_db`` ever too high without a word?

Each scene is drawn at random: texture (photographs, noise, stripes), size and aspect,
500-20000 fps, music, speech, tones (near the high-pass, near Nyquist), a chirp, white
noise, clicks, a sound in the second half only, or silence; 0.005-0.5 px, noise 0.25-8
grey levels, 64 frames to 1 s; now and then an object mask, a membrane's mode shape,
``downsample=2``, a blur, low contrast, a dark or bright offset, or ``mmse_lsa``. The truth
is the rendered displacement high-passed as the output is. A scene *fails* when the
estimate is more than 3 dB above its SI-SNR and neither ``info["reliability"]`` nor
``info["warnings"]`` says anything.

    nice python benchmarks/bench_estimate_sweep.py                 # seeds 1-3: 80 + 100 + 100 scenes
    nice python benchmarks/bench_estimate_sweep.py --runs 20:4     # 20 scenes drawn with seed 4
    nice python benchmarks/bench_estimate_sweep.py --denoise       # the same scenes, every one denoised

With ``--denoise`` every scene is recovered with ``recover_sound``'s default denoiser
(``mmse_lsa``), whose output carries the denoiser's own estimate (:mod:`vismic.denoise._estimate`);
the summary then also scores the estimate from before denoising against the same outputs.

Prints one line a scene and the summary (about 5 minutes on 2 cores for the default).
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np

import vismic
from vismic import metrics, synth
from vismic.denoise import highpass

TEXTURES = ["brick", "gravel", "camera", "coffee", "grass", "moon", "coins", "astronaut", "noise", "stripes",
            "chelsea", "rocket"]
AUDIO = ["music", "speech", "tone:25", "tone:40", "tone:0.9", "tone:0.97", "tone:440", "chirp:20:0.95", "white",
         "clicks", "half:music", "half:tone:0.3", "silence"]
SIZES = [(48, 48), (64, 64), (96, 96), (128, 128), (48, 160), (128, 48), (64, 128)]
RATES = [500.0, 1000.0, 2200.0, 4000.0, 8000.0, 20000.0]


def _hz(value: float, fps: float) -> float:
    """A frequency given as a share of Nyquist (below 1) or in Hz."""
    return value * fps / 2 if value < 1 else value


def sound(kind: str, n: int, fps: float, seed: int) -> np.ndarray:
    seconds = n / fps
    if kind == "music":
        return synth.music(duration_seconds=seconds, sr=fps, seed=seed)
    if kind == "speech":
        return synth.speech(duration_seconds=seconds, sr=fps, seed=seed)
    if kind.startswith("tone"):
        return synth.tone(_hz(float(kind.split(":")[1]), fps), duration_seconds=seconds, sr=fps)[:n]
    if kind.startswith("chirp"):
        low, high = (_hz(float(v), fps) for v in kind.split(":")[1:])
        return synth.chirp(f0_hz=low, f1_hz=high, duration_seconds=seconds, sr=fps)[:n]
    rng = np.random.default_rng(seed)
    if kind == "white":
        return rng.standard_normal(n)
    if kind == "clicks":
        clicks = np.zeros(n)
        count = max(3, n // 200)
        clicks[rng.choice(n, count, replace=False)] = rng.choice([-1, 1], count)
        return clicks
    if kind.startswith("half"):
        second_half = sound(kind.split(":", 1)[1], n, fps, seed)
        second_half[: n // 2] = 0
        return second_half
    return np.zeros(n)  # silence


def draw(rng, index: int, seed: int) -> dict:
    """One scene's specification (the draws' order fixes the scenes of a seed)."""
    spec = dict(texture=str(rng.choice(TEXTURES)), size=tuple(int(v) for v in SIZES[rng.integers(len(SIZES))]),
                fps=float(rng.choice(RATES)), audio=str(rng.choice(AUDIO)),
                amp=float(np.exp(rng.uniform(np.log(0.005), np.log(0.5)))),
                noise=float(rng.choice([0.25, 0.5, 1, 2, 4, 8])), dir=float(rng.uniform(0, 180)),
                seed=int(seed * 1000 + index))
    seconds = float(rng.uniform(0.3, 1.0))
    spec["n"] = int(max(64, min(seconds * spec["fps"], 3000 if spec["fps"] < 20000 else 4000)))
    if rng.random() < 0.15:
        spec["n"] = int(rng.choice([64, 100, 150]))
    shape = rng.random()
    if shape < 0.15:
        spec["mask"] = (str(rng.choice(["disk", "rectangle"])), float(rng.uniform(0.2, 0.7)))
    elif shape < 0.25:
        spec["membrane"] = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    for name, chance, value in (("downsample", 0.1, lambda: 2), ("blur", 0.1, lambda: float(rng.uniform(1, 4))),
                                ("contrast", 0.08, lambda: float(rng.uniform(0.05, 0.3))),
                                ("bright", 0.06, lambda: float(rng.choice([-100.0, 100.0]))),
                                ("denoise", 0.1, lambda: "mmse_lsa")):
        if rng.random() < chance:
            spec[name] = value()
    return spec


def render(spec: dict):
    """``(frames, displacement)`` of a specification."""
    fps, n, (height, width), seed = spec["fps"], spec["n"], spec["size"], spec["seed"]
    audio = sound(spec["audio"], n, fps, seed)
    motion = synth.make_displacement(audio, amplitude_px=spec["amp"]) if np.max(np.abs(audio)) > 0 else np.zeros(n)
    if spec["texture"] == "noise":
        image = synth.noise_texture((height, width), seed=seed, cutoff_cycles_per_px=0.25)
    elif spec["texture"] == "stripes":
        image = synth.stripes((height, width), period_px=8.0, orientation_degrees=0.0)
    else:
        image = synth.texture(spec["texture"], size=(height, width))
    if spec.get("blur"):
        from scipy import ndimage

        image = ndimage.gaussian_filter(image, spec["blur"], mode="reflect")
    if "contrast" in spec:
        image = (image - image.mean()) * spec["contrast"] + image.mean()
    image = image + spec.get("bright", 0.0)
    mode = None
    if spec.get("mask"):
        mode = synth.object_mask((height, width), kind=spec["mask"][0], fraction=spec["mask"][1])
    if spec.get("membrane"):
        mode = synth.membrane_mode((height, width), m=spec["membrane"][0], n=spec["membrane"][1])
    scene = synth.render_scene(image, motion, direction_degrees=spec["dir"], mode_shape=mode,
                               noise_std=spec["noise"], seed=seed, fps=fps)
    return scene.frames, motion


def evaluate(spec: dict, denoise=None) -> dict:
    """The scene recovered and scored (``denoise`` replaces the specification's denoiser where given)."""
    frames, motion = render(spec)
    fps = spec["fps"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(frames, fps=fps, denoise=denoise or spec.get("denoise"),
                                   downsample=spec.get("downsample", 1))
    truth = highpass(motion, sr=fps)
    centred = truth - truth.mean()
    true = float("-inf") if centred @ centred <= 1e-20 * truth.size else metrics.si_snr(rec.samples, truth)
    estimate = rec.info.get("snr_estimate_db")
    estimate = float(estimate) if estimate is not None else float("nan")
    said = sorted(rec.info.get("reliability", {}) or {}) + list(rec.info.get("warnings", []) or [])
    before = (rec.info.get("denoised") or {}).get("estimate_before_db", estimate)
    return dict(spec=spec, true=true, estimate=estimate, error=estimate - true, said=said,
                before_error=float(before) - true)


def summary(rows) -> str:
    sounding = [r for r in rows if math.isfinite(r["true"])]
    within = sum(abs(r["error"]) <= 3 for r in sounding)
    silent_high = [r for r in rows if r["error"] > 3 and not r["said"]]
    low = [r for r in sounding if r["error"] < -3]
    lines = [f"{len(rows)} scenes, {len(sounding)} with a sound: estimate within 3 dB on {within}/{len(sounding)} "
             "(an estimate of nan, a clip too short, counts as outside)",
             f"more than 3 dB too high with nothing said: {len(silent_high)}/{len(rows)}",
             f"more than 3 dB too low: {len(low)} ({sum(bool(r['said']) for r in low)} with a finding or warning)"]
    before = [r["before_error"] for r in sounding]
    lines.append(f"the estimate from before the denoiser (where one ran), against the same outputs: within 3 dB on "
                 f"{sum(abs(e) <= 3 for e in before)}/{len(sounding)}, more than 3 dB low {sum(e < -3 for e in before)}, "
                 f"median error {np.nanmedian(before):+.1f} dB (the estimate above: {np.nanmedian([r['error'] for r in sounding]):+.1f})")
    for r in silent_high:
        s = r["spec"]
        lines.append(f"  {r['error']:+.1f} dB: {s['audio']} {s['texture']} {s['size']} {s['fps']:g} fps "
                     f"{1000 * s['n'] / s['fps']:.0f} ms {s['amp']:.3f} px noise {s['noise']:g}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["80:1", "100:2", "100:3"], metavar="N:SEED",
                        help="scenes and seed of each run (default 80:1 100:2 100:3)")
    parser.add_argument("--denoise", action="store_true", help="denoise every scene (mmse_lsa, recover_sound's default)")
    args = parser.parse_args(argv)
    rows = []
    for run in args.runs:
        count, seed = (int(v) for v in run.split(":"))
        rng = np.random.default_rng(seed)
        for index in range(count):
            spec = draw(rng, index, seed)
            try:
                row = evaluate(spec, "mmse_lsa" if args.denoise else None)
            except vismic.errors.VismicError as error:  # a scene vismic refuses is not scored
                print(f"seed {seed} #{index:3d} refused: {error}", flush=True)
                continue
            rows.append(row)
            print(f"seed {seed} #{index:3d} true {row['true']:7.1f} est {row['estimate']:7.1f} "
                  f"err {row['error']:+6.1f} {','.join(row['said'][:2])[:60]:60s} {spec}", flush=True)
    print()
    print(summary(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
