"""The stabiliser's track alone: what its error puts into the sound band, from the stage's own block motion.

For each scene of ``bench_nuisance.py`` under its 4 px camera shake (``shake4``) this runs
:func:`vismic.stabilise.stabilise_frames` once, takes the motion it measured on each block
(``StabiliseReport.block_motion_px``), and puts block motions through the track procedure
(:func:`vismic.stabilise.slow_track`) with no frames: the output's sound band is then the
motion the frames carried less the track, high-passed at 20 Hz as the output is. Each figure
is the SNR (dB) of the track's part of that output's error, against the sound band of a sound
``--context`` s longer at each end (what the clip's ends cannot shape), over the whole clip /
with its first and last 2 % left out:

* ``measured``: the block motion the stage measured (camera, sound, measurement noise);
* ``camera``, ``cam+sound``: exact block means of the true camera motion, and of it and the
  sound's motion (where the whole scene vibrates, the block means hold the sound too);
* ``sound alone``: the sound's band with no track; through the track of the clip's sound
  (blocks of the clip, the track carried past its ends by its extension); through the track of
  the longer sound (the real motion past the ends in place of the extension's guess), each
  against the longer sound's band, the high-pass's own ends included;
* with ``--self-correct HZ`` a second ``measured`` figure: the track less its own error estimate
  (:func:`vismic.stabilise.track_error`) low-passed at ``HZ``.

A figure well above the scene's SNR (``bench_nuisance.py --context``'s stabilised column)
means the track costs it little; the loss is about ``10 log10(1 + 10^((snr - track) / 10))``.
Seconds a variant once the stage has run, against minutes through the frames.

Run::

    nice python benchmarks/bench_track.py                   # 192 px, 1 s, --context 0.25
    nice python benchmarks/bench_track.py --size 96 --self-correct 16
    nice python benchmarks/bench_track.py --seed-offset 100 # other draws of the shakes and sounds
    nice python benchmarks/bench_track.py --cutoff 26 --kernel 0.2   # other Stabilise settings
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_nuisance import ENDS_LEFT_OUT, full_scenes, nuisance_parameters, render, scene_sound  # noqa: E402
from vismic.decompose._gradient import unit_vector  # noqa: E402
from vismic.denoise import bandlimit, highpass  # noqa: E402
from vismic.stabilise import slow_track, stabilise_frames, track_error  # noqa: E402

COLUMNS = ("measured", "camera", "cam+sound", "none", "clip", "longer")


def exact_track(motion, settings) -> np.ndarray:
    """The track the stage makes of ``motion`` measured exactly: its block means through the procedure."""
    motion = np.asarray(motion, dtype=np.float64)
    return motion + track_error(motion, settings).reshape(motion.shape)


def scene_row(spec, *, size: int, seconds: float, stage: dict, self_correct) -> dict:
    fps = spec.fps
    scene = render(spec, "shake4", size=size, seconds=seconds)
    n, context = len(scene.frames), int(round(spec.context_seconds * fps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, report = stabilise_frames(scene.frames, fps=fps, **stage)
    settings, block = report.settings, report.settings.block_frames
    sound_long = scene_sound(spec, n)
    sound = sound_long[context:context + n]
    truth = highpass(sound_long, sr=fps)[context:context + n]
    along = np.array(unit_vector(spec.direction_degrees))
    parameters = nuisance_parameters("shake4", n, fps, spec.seed)
    carried = np.stack([parameters["shift_x_px"], parameters["shift_y_px"]], axis=1) + np.outer(sound, along)
    carried = carried - carried[:block].mean(axis=0)  # as the stage measures it: from its first block's mean
    camera = carried - np.outer(sound - sound[:block].mean(), along)
    total, ends = float(np.sum(truth ** 2)), int(round(ENDS_LEFT_OUT * n))

    def snr(error):
        return (10 * math.log10(total / np.sum(error ** 2)),
                10 * math.log10(total / np.sum(error[ends:n - ends] ** 2)))

    kept = highpass(sound, sr=fps)  # the sound band the output carries without a track

    def through(track_px):
        return snr(highpass((carried - track_px) @ along, sr=fps) - kept)

    measured = slow_track(np.arange(n, dtype=np.float64), report.block_centres, report.block_motion_px, settings,
                          final=True)
    row = {"scene": spec.describe(), "measured": through(measured),
           "camera": through(exact_track(camera, settings)), "cam+sound": through(exact_track(carried, settings))}
    if self_correct:
        error = bandlimit(track_error(measured, settings).T, sr=fps, high_hz=self_correct).T
        row["corrected"] = through(measured - error)
    clip_track = exact_track(sound, settings)
    long_track = exact_track(sound_long, settings)[context:context + n]
    row.update(none=snr(kept - truth), clip=snr(highpass(sound - clip_track, sr=fps) - truth),
               longer=snr(highpass(sound - long_track, sr=fps) - truth))
    return row


def cell(pair) -> str:
    return f"{pair[0]:5.1f}/{pair[1]:4.1f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=192, help="frame size in px (square), default 192")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--context", type=float, default=0.25, metavar="S",
                        help="the truth: the band of a sound S s longer at each end (default 0.25; must be > 0)")
    parser.add_argument("--seed-offset", type=int, default=0, help="added to every scene's seed (other draws)")
    parser.add_argument("--self-correct", type=float, default=None, metavar="HZ",
                        help="also the measured track less its own error estimate low-passed at HZ")
    parser.add_argument("--cutoff", type=float, default=None, help="Stabilise(cutoff_hz=...)")
    parser.add_argument("--kernel", type=float, default=None, help="Stabilise(kernel_seconds=...)")
    args = parser.parse_args(argv)
    if not (args.context > 0 and math.isfinite(args.context)):
        parser.error(f"--context must be a number of seconds > 0, given {args.context}")
    stage = {k: v for k, v in (("cutoff_hz", args.cutoff), ("kernel_seconds", args.kernel)) if v is not None}
    specs = [replace(spec, seed=spec.seed + args.seed_offset, context_seconds=args.context) for spec in full_scenes()]
    columns = COLUMNS[:3] + (("corrected",) if args.self_correct else ()) + COLUMNS[3:]
    print(f"The track's part of the output's error under shake4, {args.size}x{args.size} px, {args.seconds:g} s; SNR (dB) "
          f"against the band of a sound {args.context:g} s longer at each end, whole clip / its first and last "
          f"{ENDS_LEFT_OUT:.0%} left out; 'sound alone': none / the clip's track / the longer sound's track"
          + (f"; corrected: the measured track less its error estimate below {args.self_correct:g} Hz"
             if args.self_correct else ""))
    print(f"{'scene':38s} " + " ".join(f"{c:>10s}" for c in columns), flush=True)
    rows = []
    for spec in specs:
        row = scene_row(spec, size=args.size, seconds=args.seconds, stage=stage, self_correct=args.self_correct)
        rows.append(row)
        print(f"{row['scene']:38s} " + " ".join(f"{cell(row[c]):>10s}" for c in columns), flush=True)
    print("median (worst), whole clip: " + "; ".join(
        f"{c} {np.median([r[c][0] for r in rows]):.1f} ({min(r[c][0] for r in rows):.1f})" for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
