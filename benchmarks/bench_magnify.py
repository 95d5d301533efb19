"""MagNet motion magnification: quality on generated pairs and inference speed.

Run ``python benchmarks/bench_magnify.py`` to print the tables recorded in
docs/magnet.md (``--quick`` for a smaller run). The classes follow asv's
conventions (``time_*``) for the speed figures.

Quality, as in Oh et al. (2018, section 5.1): pairs (A, B) rendered with exact
sub-pixel motion (``vismic.magnify.render_pair``: photographs never used
in training, one moving object over a moving background, both moving by the
same displacement) and the ground truth rendered at ``alpha`` times the motion.
SSIM (data range 255, 8-pixel border left out) of:

- no magnification: B itself;
- linear Eulerian magnification: ``A + alpha (B - A)``;
- phase-based magnification on the DTCWT (``dtcwt`` package, 4 levels,
  ``near_sym_a``/``qshift_a``): each complex coefficient keeps B's amplitude
  and gets A's phase plus ``alpha`` times the wrapped phase difference; B's
  lowpass;
- MagNet (static mode), the model shipped with vismic.

Sweeps: input motion 0.04-1 px with ``alpha * motion = 3 px`` (noise-free),
and noise 0-8 grey levels (signal dependent, as in training) at 0.15 px x 20.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

MAGNIFIED_PX = 3.0
MOTIONS_PX = (0.04, 0.08, 0.15, 0.3, 0.5, 1.0)
NOISE_LEVELS = (0.0, 1.0, 2.0, 4.0, 8.0)
NOISE_MOTION_PX = 0.15
BORDER = 8


def linear_eulerian(frame_a, frame_b, alpha):
    return frame_a + alpha * (frame_b - frame_a)


def phase_dtcwt(frame_a, frame_b, alpha, n_levels=4):
    import dtcwt

    transform = dtcwt.Transform2d()
    pyramid_a = transform.forward(frame_a, nlevels=n_levels)
    pyramid_b = transform.forward(frame_b, nlevels=n_levels)
    highpasses = []
    for high_a, high_b in zip(pyramid_a.highpasses, pyramid_b.highpasses):
        difference = np.angle(high_b * np.conj(high_a))
        highpasses.append(np.abs(high_b) * np.exp(1j * (np.angle(high_a) + alpha * difference)))
    out = transform.inverse(dtcwt.Pyramid(pyramid_b.lowpass, tuple(highpasses)))
    return out[: frame_a.shape[0], : frame_a.shape[1]]


def magnet(frame_a, frame_b, alpha, model):
    from vismic.magnify import magnify

    return magnify(np.stack([frame_a, frame_b]), alpha=alpha, model=model)[1]


METHODS = ("no magnification", "linear Eulerian", "phase DTCWT", "MagNet")


def _ssim(output, truth):
    from skimage.metrics import structural_similarity

    crop = (slice(BORDER, -BORDER), slice(BORDER, -BORDER))
    output = np.clip(output, 0, 255)
    return structural_similarity(output[crop], truth[crop], data_range=255.0)


def score_pair(frame_a, frame_b, truth, alpha, model):
    outputs = {
        "no magnification": frame_b,
        "linear Eulerian": linear_eulerian(frame_a, frame_b, alpha),
        "phase DTCWT": phase_dtcwt(frame_a, frame_b, alpha),
        "MagNet": magnet(frame_a, frame_b, alpha, model),
    }
    return {name: _ssim(out, truth) for name, out in outputs.items()}


def _pairs(motion_px, alpha, noise, n_scenes, size):
    from vismic.magnify import render_pair

    for seed in range(n_scenes):
        angle = np.random.default_rng([seed, 31]).uniform(0, 2 * np.pi)
        delta = motion_px * np.array([np.sin(angle), np.cos(angle)])
        yield render_pair(delta, alpha, size=size, noise=noise, seed=100 + seed)


def sweep(rows, n_scenes, size, model):
    table = []
    for label, motion_px, alpha, noise in rows:
        scores = [score_pair(a, b, t, alpha, model) for a, b, t in _pairs(motion_px, alpha, noise, n_scenes, size)]
        table.append((label, {m: float(np.mean([s[m] for s in scores])) for m in METHODS}))
    return table


def print_table(title, first_column, table):
    widths = [max(len(first_column), 14)] + [max(len(m), 7) for m in METHODS]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip((first_column,) + METHODS, widths)))
    for label, scores in table:
        best = max(scores, key=scores.get)
        cells = [label.ljust(widths[0])]
        for method, width in zip(METHODS, widths[1:]):
            mark = "*" if method == best else " "
            cells.append(f"{scores[method]:.4f}{mark}".ljust(width))
        print("  ".join(cells))


def frames_per_second(model, size, n_frames=6, repeats=2):
    from vismic.magnify import magnify

    frames = np.random.default_rng(0).uniform(0, 255, (n_frames, size, size)).astype(np.float32)
    magnify(frames[:2], alpha=10, model=model)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        magnify(frames, alpha=10, model=model, batch_size=n_frames)
        best = min(best, time.perf_counter() - start)
    return n_frames / best


SOUND_SCENES = (("brick", None), ("noise", None), ("gravel", "object"))
SOUND_ALPHAS = (5.0, 20.0)


def sound_snr(model, *, n_frames=440, size=64, amplitude_px=0.05, noise_std=2.0):
    """SNR of the recovered sound with and without MagNet before the DTCWT, per scene, against the bound.

    Scenes from :mod:`vismic.synth` (music at 2200 fps, ``amplitude_px`` peak
    motion, sensor noise); the sound pipeline is vismic's default without
    denoising (``default_pipeline(denoise=None)``), optionally with
    ``Magnify(alpha, mode="static")`` inserted before the decomposition. SNR is
    scale-invariant (``si_snr`` against the true displacement, high-passed like
    the output), so magnification can only help by lowering the noise relative
    to the motion.
    """
    from vismic import default_pipeline, metrics, synth
    from vismic.data import FrameBatch
    from vismic.denoise import highpass
    from vismic.magnify import Magnify

    fps = 2200.0
    audio = synth.music(duration_seconds=n_frames / fps, sr=fps)
    rows = []
    for name, kind in SOUND_SCENES:
        texture = synth.texture(name, size=(size, size))
        mode_shape = synth.object_mask((size, size)) if kind == "object" else None
        scene = synth.render_scene(texture, synth.make_displacement(audio, amplitude_px=amplitude_px),
                                   mode_shape=mode_shape, noise_std=noise_std, fps=fps, seed=1)
        bound = metrics.bound_snr_db(scene)
        batches = [FrameBatch(scene.frames[i:i + 64].astype(np.float32), i, fps)
                   for i in range(0, len(scene), 64)]
        reference = highpass(scene.displacement_px, sr=fps)
        snrs = {}
        for alpha in (None,) + SOUND_ALPHAS:
            pipe = default_pipeline(denoise=None)
            if alpha is not None:
                pipe = pipe.insert("decompose", "magnify", Magnify(alpha=alpha, model=model))
            recovered = pipe.run(batches).samples
            recovered = recovered if recovered.ndim == 1 else recovered[0]
            snrs[alpha] = metrics.si_snr(recovered, reference)
        rows.append((f"{name}{' (object)' if kind else ''}", bound, snrs))
    return rows


class TimeMagnify:
    """asv: inference time of the shipped model (static mode) per 4 frames."""

    params = [256, 512]
    param_names = ["size"]

    def setup(self, size):
        from vismic.magnify import load_model

        self.model = load_model()
        self.frames = np.random.default_rng(0).uniform(0, 255, (4, size, size)).astype(np.float32)

    def time_magnify_static(self, size):
        from vismic.magnify import magnify

        magnify(self.frames, alpha=10, model=self.model, batch_size=4)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer scenes, no speed at 512")
    parser.add_argument("--scenes", type=int, default=None, help="scenes per row (default 8, quick 3)")
    parser.add_argument("--size", type=int, default=128, help="frame size of the quality pairs")
    parser.add_argument("--weights", default=None, help="model to evaluate (default: the shipped one)")
    parser.add_argument("--sound", action="store_true",
                        help="also measure the recovered sound's SNR with and without MagNet (slow)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--sound-only", action="store_true", help="only the sound table (implies --sound)")
    args = parser.parse_args(argv)

    import torch

    from vismic.magnify import load_model
    from vismic.magnify import MagNet, MagNetConfig

    torch.set_num_threads(args.threads)
    model = load_model(args.weights)
    info = getattr(model, "info", {})
    print(f"model: {model.config}, {model.n_parameters()} parameters; trained steps={info.get('steps')}, "
          f"samples={info.get('samples')}, hours={info.get('training_hours')}")
    n_scenes = args.scenes or (3 if args.quick else 8)
    print(f"{n_scenes} scenes per row, {args.size}x{args.size} px, SSIM against the exactly rendered truth "
          f"(* best)")

    if not args.sound_only:
        rows = [(f"{m:g} px x {MAGNIFIED_PX / m:g}", m, MAGNIFIED_PX / m, 0.0) for m in MOTIONS_PX]
        print_table(f"Sub-pixel sweep: alpha x motion = {MAGNIFIED_PX:g} px, no noise", "motion x alpha",
                    sweep(rows, n_scenes, args.size, model))
        alpha = MAGNIFIED_PX / NOISE_MOTION_PX
        rows = [(f"sigma {s:g}", NOISE_MOTION_PX, alpha, s) for s in NOISE_LEVELS]
        print_table(f"Noise sweep: {NOISE_MOTION_PX:g} px x {alpha:g}, noise sigma in grey levels", "noise",
                    sweep(rows, n_scenes, args.size, model))

    if args.sound or args.sound_only:
        print("\nSound SNR (dB, si_snr against the true motion) with MagNet before the DTCWT; "
              "64x64, 440 frames at 2200 fps, music, 0.05 px peak, noise 2 grey levels")
        header = ["scene", "bound", "no MagNet"] + [f"MagNet x{a:g}" for a in SOUND_ALPHAS]
        print("  ".join(h.ljust(16) for h in header))
        for name, bound, snrs in sound_snr(model):
            cells = [name, f"{bound:.1f}"] + [f"{snrs[a]:.1f}" for a in (None,) + SOUND_ALPHAS]
            print("  ".join(c.ljust(16) for c in cells))

    if args.sound_only:
        return
    print(f"\nInference speed, static mode, CPU, {torch.get_num_threads()} torch threads (frames/s)")
    published = MagNet(MagNetConfig.published(in_channels=1)).eval()
    sizes = (256,) if args.quick else (256, 512)
    for name, net in (("shipped (light)", model), ("published sizes", published)):
        figures = ", ".join(f"{s}x{s}: {frames_per_second(net, s):.2f}" for s in sizes)
        print(f"  {name:16s} {figures}")
    if torch.cuda.is_available():
        gpu = load_model(args.weights, device="cuda")
        print("  CUDA:", ", ".join(f"{s}x{s}: {frames_per_second(gpu, s):.1f}" for s in sizes))


if __name__ == "__main__":
    main()
