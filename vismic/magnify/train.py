"""Training MagNet on procedurally generated examples (``vismic train-magnet``).

The loss is the paper's: L1 between the output and the magnified target plus
0.1 times the L1 regularisation that makes the texture codes of A and C and of
B and the target, and the shape codes of B and C, equal. Adam at 1e-4.

A run lives in one folder: ``checkpoint.pt`` (model, optimiser, step, history;
written atomically every epoch and every ``checkpoint_minutes``), ``model.pt``
(the latest weights in the shippable format), ``best.pt`` (best validation
SSIM) and ``history.json``. Calling :func:`train` again on the same folder
resumes. Example ``i`` of the stream depends only on ``(seed, i)``, so a
resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ._config import MagNetConfig
from .data import HELD_OUT_PHOTOS, TRAIN_PHOTOS, SampleGenerator
from .weights import require_torch, save_model

__all__ = ["train", "validate", "REGULARISATION_WEIGHT"]

REGULARISATION_WEIGHT = 0.1


def _to_tensor(torch, frames, device):
    """Grey levels (n, h, w) -> (n, 1, h, w) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32) / 127.5 - 1.0)[:, None].to(device)


def _expand(torch, x, channels):
    return x if channels == 1 else x.expand(-1, channels, -1, -1)


def validate(model, generator, n_samples, *, device="cpu", batch_size=16):
    """Mean SSIM (grey levels, data range 255) and L1 of ``model`` on examples ``0 .. n_samples - 1``.

    Also returns the SSIM of frame B itself against the target (what no
    magnification scores), for comparison.
    """
    torch = require_torch()
    from skimage.metrics import structural_similarity

    model.eval()
    scores, baseline, l1 = [], [], []
    channels = model.config.in_channels
    with torch.no_grad():
        for start in range(0, n_samples, batch_size):
            count = min(batch_size, n_samples - start)
            frame_a, frame_b, _, target, alpha = generator.batch(start, count)
            out = model(_expand(torch, _to_tensor(torch, frame_a, device), channels),
                        _expand(torch, _to_tensor(torch, frame_b, device), channels),
                        torch.from_numpy(alpha).to(device))
            out = ((out.mean(1).clamp(-1, 1) + 1) * 127.5).cpu().numpy().astype(np.float64)
            for y, t, b in zip(out, target, frame_b):
                scores.append(structural_similarity(y, t.astype(np.float64), data_range=255.0))
                baseline.append(structural_similarity(b.astype(np.float64), t.astype(np.float64), data_range=255.0))
                l1.append(np.abs(y - t).mean())
    return {"ssim": float(np.mean(scores)), "ssim_no_magnification": float(np.mean(baseline)),
            "l1_grey_levels": float(np.mean(l1))}


def train(output_dir, *, config="light", steps=None, hours=None, batch_size=4, patch_size=64,
          learning_rate=1e-4, seed=0, epoch_samples=2000, n_validation=128, max_magnified_px=6.0,
          max_noise=4.0, threads=1, device="cpu", checkpoint_minutes=5.0, log=print):
    """Train (or resume training) a MagNet.

    Parameters
    ----------
    output_dir : str or Path
        Folder of the run; an existing ``checkpoint.pt`` there is resumed.
    config : "light", "published" or MagNetConfig
        Network sizes (ignored when resuming: the checkpoint's are used).
    steps : int, optional
        Stop after this many optimiser steps in total.
    hours : float, optional
        Stop after this much training time in total (across resumes).
    batch_size, patch_size : int
        Examples per step and their size in pixels.
    learning_rate : float
        Adam's learning rate (1e-4 in the paper).
    seed : int
        Seed of the initial weights and of the training stream; the
        validation set uses ``seed + 1`` and photographs never trained on.
    epoch_samples : int
        Examples between two validations/checkpoints.
    n_validation : int
        Size of the held-out validation set.
    threads : int
        torch CPU threads.
    log : callable
        Receives progress lines.

    Returns
    -------
    dict
        The history: one entry per epoch with losses, validation SSIM, time.
    """
    torch = require_torch()
    from .model import MagNet

    if steps is None and hours is None:
        raise ParameterError("give steps= or hours= (or both) to bound the training")
    if batch_size < 1 or patch_size < 8 or patch_size % 4:
        raise ParameterError(f"batch_size must be >= 1 and patch_size a multiple of 4 >= 8, "
                             f"given batch_size={batch_size!r}, patch_size={patch_size!r}")
    if threads:
        torch.set_num_threads(int(threads))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = output_dir / "checkpoint.pt"

    if checkpoint_path.is_file():
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        model_config = MagNetConfig.from_dict(checkpoint["config"])
        settings = checkpoint["settings"]
        log(f"resuming {checkpoint_path} at step {checkpoint['step']}")
    else:
        checkpoint = None
        if isinstance(config, str):
            if config not in ("light", "published"):
                raise ParameterError(f"config must be 'light', 'published' or a MagNetConfig, given {config!r}")
            model_config = MagNetConfig.light() if config == "light" else MagNetConfig.published(in_channels=1)
        else:
            model_config = config
        settings = dict(batch_size=int(batch_size), patch_size=int(patch_size), learning_rate=float(learning_rate),
                        seed=int(seed), epoch_samples=int(epoch_samples), n_validation=int(n_validation),
                        max_magnified_px=float(max_magnified_px), max_noise=float(max_noise))

    torch.manual_seed(settings["seed"])
    model = MagNet(model_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["learning_rate"])
    step, elapsed, history, best = 0, 0.0, [], -1.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        step, elapsed, history = checkpoint["step"], checkpoint["elapsed_seconds"], checkpoint["history"]
        best = max([h["validation"]["ssim"] for h in history], default=-1.0)
        torch.set_rng_state(checkpoint["torch_rng"])

    common = dict(max_magnified_px=settings["max_magnified_px"], max_noise=settings["max_noise"])
    stream = SampleGenerator(settings["patch_size"], seed=settings["seed"], photos=TRAIN_PHOTOS, **common)
    held_out = SampleGenerator(settings["patch_size"], seed=settings["seed"] + 1, photos=HELD_OUT_PHOTOS, **common)
    channels = model_config.in_channels
    bs = settings["batch_size"]
    steps_per_epoch = max(1, settings["epoch_samples"] // bs)
    log(f"MagNet {model_config} with {model.n_parameters()} parameters; batch {bs}, "
        f"patch {settings['patch_size']}, lr {settings['learning_rate']}, seed {settings['seed']}")

    def info():
        return {"steps": step, "samples": step * bs, "training_hours": round(elapsed / 3600, 3),
                "settings": settings, "last_validation": history[-1]["validation"] if history else None,
                "data": "vismic.magnify.data.SampleGenerator (procedural, exact sub-pixel motion)"}

    def save_checkpoint():
        payload = {"config": model_config.to_dict(), "settings": settings, "model": model.state_dict(),
                   "optimizer": optimizer.state_dict(), "step": step, "elapsed_seconds": elapsed,
                   "history": history, "torch_rng": torch.get_rng_state()}
        tmp = checkpoint_path.with_name("checkpoint.pt.tmp")
        torch.save(payload, tmp)
        os.replace(tmp, checkpoint_path)
        save_model(model, output_dir / "model.pt", info=info())
        (output_dir / "history.json").write_text(json.dumps(history, indent=1))

    def done():
        return (steps is not None and step >= steps) or (hours is not None and elapsed >= hours * 3600)

    last_save = time.time()
    sums = np.zeros(5)
    n_sums = 0
    while not done():
        model.train()
        tick = time.time()
        frame_a, frame_b, frame_c, target, alpha = stream.batch(step * bs, bs)
        a, b, c, m = (_expand(torch, _to_tensor(torch, f, device), channels) for f in (frame_a, frame_b, frame_c, target))
        texture_a, shape_a = model.encoder(a)
        texture_b, shape_b = model.encoder(b)
        texture_c, shape_c = model.encoder(c)
        texture_m, _ = model.encoder(m)
        shape = model.manipulator(shape_a, shape_b, torch.from_numpy(alpha).to(device).view(-1, 1, 1, 1))
        output = model.decoder(texture_b, shape)
        loss_y = (output - m).abs().mean()
        loss_ac = (texture_a - texture_c).abs().mean()
        loss_bm = (texture_b - texture_m).abs().mean()
        loss_bc = (shape_b - shape_c).abs().mean()
        loss = loss_y + REGULARISATION_WEIGHT * (loss_ac + loss_bm + loss_bc)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        elapsed += time.time() - tick
        sums += [loss.item(), loss_y.item(), loss_ac.item(), loss_bm.item(), loss_bc.item()]
        n_sums += 1
        end_of_epoch = step % steps_per_epoch == 0
        if step % 50 == 0 or end_of_epoch:
            log(f"step {step} samples {step * bs} loss {sums[0] / n_sums:.4f} (y {sums[1] / n_sums:.4f} "
                f"texAC {sums[2] / n_sums:.4f} texBM {sums[3] / n_sums:.4f} shapeBC {sums[4] / n_sums:.4f}) "
                f"{step * bs / max(elapsed, 1e-9):.1f} samples/s, {elapsed / 3600:.2f} h")
        if end_of_epoch or done():
            scores = validate(model, held_out, settings["n_validation"], device=device)
            history.append({"epoch": len(history) + 1, "step": step, "samples": step * bs,
                            "hours": round(elapsed / 3600, 4), "loss": sums[0] / max(n_sums, 1),
                            "loss_y": sums[1] / max(n_sums, 1), "validation": scores})
            sums[:] = 0
            n_sums = 0
            log(f"epoch {len(history)} step {step}: validation SSIM {scores['ssim']:.4f} "
                f"(no magnification {scores['ssim_no_magnification']:.4f}), L1 {scores['l1_grey_levels']:.2f}")
            save_checkpoint()
            if scores["ssim"] > best:
                best = scores["ssim"]
                save_model(model, output_dir / "best.pt", info=info())
            last_save = time.time()
        elif time.time() - last_save > checkpoint_minutes * 60:
            save_checkpoint()
            last_save = time.time()
    save_checkpoint()
    log(f"finished at step {step} ({elapsed / 3600:.2f} h)")
    return history
