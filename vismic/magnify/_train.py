"""Training MagNet on procedurally generated examples (``vismic train-magnet``).

The loss is the paper's: L1 between the output and the magnified target plus
0.1 times the L1 regularisation that makes the texture codes of A and C and of
B and the target, and the shape codes of B and C, equal. ``ssim_weight`` adds
that weight times ``1 - SSIM`` of the output against the target (the SSIM
the benchmarks score, :func:`ssim_loss`): L1 alone favours outputs softer than
the target. Adam at 1e-4, by
default with a cosine decay to 5 % over the planned steps (``schedule=``,
:func:`learning_rate_at`), after an optional linear warm-up.

New runs train on :data:`~vismic.magnify._data.NATURAL_MIX` (dead leaves, smooth
areas, photographs, procedural textures; blur and camera noise). ``init=``
starts from a model file (e.g. the shipped weights) to fine-tune it. Two
validation sets of kinds never trained on are scored after every epoch:
``"photos"`` (photographs never trained on, :data:`HELD_OUT_PHOTOS`, the set
the shipped model was always validated on; it picks ``best.pt``) and
``"dead_leaves"`` (dead-leaves images of another seed).

A run lives in one folder: ``checkpoint.pt`` (model, optimiser, step, history;
written atomically every epoch and every ``checkpoint_minutes``), ``model.pt``
(the latest weights in the shippable format), ``best.pt`` (best validation
SSIM) and ``history.json``. Calling :func:`train` again on the same folder
resumes. Example ``i`` of the stream depends only on ``(seed, i)``, the
learning rate only on the step, and the checkpoint holds the optimiser's
state, so a resumed run takes the same steps as an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import ModelError, OutputError, ParameterError
from ..io._atomic import temporary_file
from ._config import MagNetConfig
from ._feed import N_SYMMETRIES, BatchFeed
from ._data import HELD_OUT_PHOTOS, NATURAL_MIX, TEXTURE_SCALE, TRAIN_PHOTOS, SampleGenerator, _check_mix
from ._weights import require_torch, save_model

__all__ = ["train", "validate", "learning_rate_at", "ssim_loss", "REGULARISATION_WEIGHT", "SCHEDULES"]

REGULARISATION_WEIGHT = 0.1
#: Learning-rate schedules of :func:`train`.
SCHEDULES = ("constant", "cosine")
#: Where the cosine schedule ends, as a fraction of the initial rate.
FINAL_LR_FRACTION = 0.05


def learning_rate_at(step, settings) -> float:
    """The learning rate of optimiser step ``step`` (0-based) under a run's ``settings``.

    ``settings`` holds ``learning_rate`` and optionally ``schedule``
    (``"constant"`` or ``"cosine"``), ``schedule_steps`` (length of the cosine
    decay; the rate stays at its end, 5 %, after it) and ``warmup_steps``
    (linear ramp from ``1 / warmup_steps`` of the rate).

    >>> settings = {"learning_rate": 1e-4, "schedule": "cosine", "schedule_steps": 100, "warmup_steps": 0}
    >>> [round(learning_rate_at(s, settings) * 1e4, 3) for s in (0, 50, 100, 200)]
    [1.0, 0.525, 0.05, 0.05]
    """
    rate = float(settings["learning_rate"])
    warmup = int(settings.get("warmup_steps") or 0)
    if warmup and step < warmup:
        rate *= (step + 1) / warmup
    if settings.get("schedule", "constant") == "cosine":
        progress = min(step / max(int(settings["schedule_steps"]), 1), 1.0)
        rate *= FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + np.cos(np.pi * progress))
    return float(rate)


def ssim_loss(output, target, *, window: int = 7):
    """``1 - SSIM`` of images in [-1, 1], ``(n, c, h, w)`` torch tensors, averaged (differentiable).

    The SSIM that :func:`skimage.metrics.structural_similarity` gives with its
    defaults on the images as grey levels 0-255 (``window`` x ``window`` uniform
    window, sample covariances, K1 = 0.01, K2 = 0.03), averaged over the windows
    that fit. (SSIM's luminance term is not shift-invariant: it is computed on
    grey levels, not on the network's [-1, 1].)

    >>> import torch
    >>> x = torch.linspace(-1, 1, 400).reshape(1, 1, 20, 20)
    >>> float(ssim_loss(x, x))
    0.0
    """
    torch = require_torch()
    pool = lambda v: torch.nn.functional.avg_pool2d(v, window, stride=1)  # noqa: E731
    x, y = (output + 1) / 2, (target + 1) / 2  # grey levels / 255
    correction = window * window / (window * window - 1.0)
    mean_x, mean_y = pool(x), pool(y)
    var_x = (pool(x * x) - mean_x * mean_x) * correction
    var_y = (pool(y * y) - mean_y * mean_y) * correction
    cov = (pool(x * y) - mean_x * mean_y) * correction
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    ssim = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / ((mean_x ** 2 + mean_y ** 2 + c1) * (var_x + var_y + c2))
    return 1.0 - ssim.mean()


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
          max_noise=4.0, threads=1, device="cpu", checkpoint_minutes=5.0, mix=NATURAL_MIX, p_blur=0.3,
          noise_model="camera", n_textures=96, schedule="cosine", schedule_steps=None, warmup_steps=0, init=None,
          ssim_weight=0.0, texture_scale=TEXTURE_SCALE, views=1, data_workers=0, log=print):
    """Train (or resume training) a MagNet.

    Parameters
    ----------
    output_dir : str or Path
        Folder of the run; an existing ``checkpoint.pt`` there is resumed.
    config : "light", "published" or MagNetConfig
        Network sizes (ignored when resuming: the checkpoint's are used, and
        when ``init`` is given: the model file's are).
    steps : int, optional
        Stop after this many optimiser steps in total.
    hours : float, optional
        Stop after this much training time in total (across resumes).
    batch_size, patch_size : int
        Examples per step and their size in pixels.
    learning_rate : float
        Adam's (initial) learning rate (1e-4 in the paper).
    seed : int
        Seed of the initial weights and of the training stream; the
        validation set uses ``seed + 1`` and photographs never trained on.
    epoch_samples : int
        Examples between two validations/checkpoints.
    n_validation : int
        Size of the held-out validation set.
    threads : int
        torch CPU threads.
    mix, p_blur, noise_model
        Training data (see :class:`SampleGenerator`); ``mix=None``,
        ``p_blur=0``, ``noise_model="shot"`` is the data of the first shipped model.
    n_textures : int
        Size of each pool of generated textures (``n_procedural`` of the generator).
    schedule : {"cosine", "constant"}
        Learning-rate schedule (:func:`learning_rate_at`). The cosine decay
        runs over ``schedule_steps`` steps, by default ``steps``; a run bounded
        only by ``hours`` without ``schedule_steps`` keeps a constant rate.
    warmup_steps : int
        Linear warm-up of the rate at the start (useful with ``init``: Adam's
        moments start from zero).
    init : str or Path, optional
        Model file to start from (fine-tuning), e.g. ``DEFAULT_WEIGHTS``.
    ssim_weight : float
        Weight of ``1 - SSIM`` (:func:`ssim_loss`) added to the output's L1 (0: the paper's loss).
    texture_scale : (float, float)
        Zoom range of the training textures (:class:`SampleGenerator`); the
        validation sets keep the default, so runs stay comparable.
    views : int
        Each rendered example is trained on under this many of the square's 8
        symmetries (:class:`~vismic.magnify._feed.BatchFeed`; 1: once, as
        rendered). Rendering costs far more than a step on a GPU.
    data_workers : int
        Processes rendering the examples ahead (0: in this process). Any number
        gives the same batches.

    The data, schedule and ``init`` of a run are stored in its checkpoint:
    when resuming, the stored ones are used and these arguments are ignored.
    log : callable
        Receives progress lines.

    Returns
    -------
    dict
        The history: one entry per epoch with losses, validation SSIM, time.
    """
    torch = require_torch()
    _check_train_args(steps=steps, hours=hours, batch_size=batch_size, patch_size=patch_size,
                      learning_rate=learning_rate, epoch_samples=epoch_samples, n_validation=n_validation,
                      threads=threads, checkpoint_minutes=checkpoint_minutes)
    if schedule not in SCHEDULES:
        raise ParameterError(f"schedule must be one of {SCHEDULES}, given schedule={schedule!r}")
    from .._checks import check_int, check_non_negative

    check_int(warmup_steps, "warmup_steps", minimum=0)
    ssim_weight = check_non_negative(ssim_weight, "ssim_weight")
    check_int(n_textures, "n_textures", minimum=1)
    check_int(data_workers, "data_workers", minimum=0)
    check_int(views, "views", minimum=1, maximum=N_SYMMETRIES)  # the square's symmetries
    if schedule_steps is not None:
        check_int(schedule_steps, "schedule_steps", minimum=1)
    # a schedule's length derived from steps is not something a resumed run should say it ignored: the
    # documented way to train longer is to rerun with a larger steps
    derived = () if schedule_steps is not None else ("schedule_steps",)
    schedule_steps = schedule_steps if schedule_steps is not None else steps
    if schedule == "cosine" and schedule_steps is None:
        schedule = "constant"
    mix = _check_mix(mix)
    SampleGenerator(8, mix=mix, p_blur=p_blur, noise_model=noise_model,
                    texture_scale=texture_scale)  # checks them before any work
    _check_device(torch, device)
    if threads:
        torch.set_num_threads(int(threads))
    settings = dict(batch_size=int(batch_size), patch_size=int(patch_size), learning_rate=float(learning_rate),
                    seed=int(seed), epoch_samples=int(epoch_samples), n_validation=int(n_validation),
                    max_magnified_px=float(max_magnified_px), max_noise=float(max_noise), mix=mix,
                    p_blur=float(p_blur), noise_model=noise_model, n_textures=int(n_textures), schedule=schedule,
                    schedule_steps=None if schedule_steps is None else int(schedule_steps),
                    warmup_steps=int(warmup_steps), init=None if init is None else str(init),
                    ssim_weight=float(ssim_weight), texture_scale=[float(v) for v in texture_scale],
                    views=int(views))
    run = _Run(Path(output_dir), config, settings, device=device, log=log, derived=derived)
    stream, held_out = data_streams(run.settings)
    held_out = {name: _RenderedOnce(generator) for name, generator in held_out.items()}
    bs = run.settings["batch_size"]
    steps_per_epoch = max(1, run.settings["epoch_samples"] // bs)

    def done():
        return (steps is not None and run.step >= steps) or (hours is not None and run.elapsed >= hours * 3600)

    last_save = time.time()
    losses = _LossMeter()
    if run.step == 0 and not run.history and run.settings.get("init"):
        # the starting point scored as epoch 0: best.pt only replaces it with a better model
        run.end_epoch(held_out, losses)
    with BatchFeed(stream, bs, views=run.settings.get("views", 1), workers=data_workers) as feed:
        while not done():
            losses.add(run.train_step(feed))
            end_of_epoch = run.step % steps_per_epoch == 0
            if run.step % 50 == 0 or end_of_epoch:
                log(f"step {run.step} samples {run.step * bs} {losses.line()} "
                    f"{run.step * bs / max(run.elapsed, 1e-9):.1f} samples/s, {run.elapsed / 3600:.2f} h")
            if end_of_epoch or done():
                run.end_epoch(held_out, losses)
                last_save = time.time()
            elif time.time() - last_save > checkpoint_minutes * 60:
                run.save_checkpoint()
                last_save = time.time()
    run.save_checkpoint()
    log(f"finished at step {run.step} ({run.elapsed / 3600:.2f} h)")
    return run.history


def data_streams(settings):
    """The training stream and the validation sets (name -> generator) of a run's ``settings``.

    Settings saved before the data options existed give the original data
    (procedural textures and photographs, shot noise, no blur).
    """
    common = dict(max_magnified_px=settings["max_magnified_px"], max_noise=settings["max_noise"])
    size, seed, n_textures = settings["patch_size"], settings["seed"], settings.get("n_textures", 96)
    stream = SampleGenerator(size, seed=seed, photos=TRAIN_PHOTOS, mix=settings.get("mix"),
                             p_blur=settings.get("p_blur", 0.0), noise_model=settings.get("noise_model", "shot"),
                             n_procedural=n_textures, texture_scale=settings.get("texture_scale", TEXTURE_SCALE),
                             **common)
    held_out = {
        # the set every model of vismic has been validated on: comparable across runs
        "photos": SampleGenerator(size, seed=seed + 1, photos=HELD_OUT_PHOTOS, n_procedural=n_textures, **common),
        "dead_leaves": SampleGenerator(size, seed=seed + 1001, photos=(), mix={"dead_leaves": 1.0},
                                       noise_model="camera", n_procedural=min(32, n_textures), **common),
    }
    return stream, held_out


def _check_train_args(*, steps, hours, batch_size, patch_size, learning_rate, epoch_samples, n_validation,
                      threads, checkpoint_minutes) -> None:
    """Refuse, before any work, every bound that would train nothing or never stop."""
    from .._checks import check_int, check_positive

    if steps is None and hours is None:
        raise ParameterError("give steps= or hours= (or both) to bound the training")
    if steps is not None:
        check_int(steps, "steps", minimum=1)
    if hours is not None:
        check_positive(hours, "hours")
    check_int(batch_size, "batch_size", minimum=1)
    if check_int(patch_size, "patch_size", minimum=8) % 4:
        raise ParameterError(f"patch_size must be a multiple of 4 >= 8, given patch_size={patch_size!r}")
    check_positive(learning_rate, "learning_rate")
    check_int(epoch_samples, "epoch_samples", minimum=1)
    check_int(n_validation, "n_validation", minimum=1)
    if threads is not None:
        check_int(threads, "threads", minimum=0)
    check_positive(checkpoint_minutes, "checkpoint_minutes")


def _check_device(torch, device) -> None:
    """One clear error for a device this machine does not have (torch's own is a long RuntimeError)."""
    from ..project._torch import torch_device

    torch_device(device)
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError, ValueError, TypeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ParameterError(f"device={device!r} cannot be used here ({first}); use device='cpu' "
                             f"or a device this machine has") from None


#: The files a run writes in its folder (besides ``checkpoint.pt``).
RUN_FILES = ("model.pt", "best.pt", "history.json")


def _check_run_folder(output_dir: Path) -> None:
    """Refuse a run folder whose files a new run would replace without resuming them.

    A ``checkpoint.pt`` that is not a file (a new run started beside it, and failed an epoch
    later writing it), or a run's files without the checkpoint that resumes them (a user's
    ``model.pt`` or ``history.json`` were replaced without a word).
    """
    checkpoint = output_dir / "checkpoint.pt"
    if checkpoint.exists() and not checkpoint.is_file():
        raise OutputError(f"{str(checkpoint)!r} is not a file: the run's checkpoint is written there (move it away, "
                          "or give another folder)")
    if not checkpoint.exists() and output_dir.is_dir():
        found = [name for name in RUN_FILES if (output_dir / name).exists()]
        if found:
            raise OutputError(f"{str(output_dir)!r} holds {', '.join(found)} but no checkpoint.pt to resume: a new "
                              "run would replace them; give a new or empty folder (or move them away)")


def _load_checkpoint(torch, path: Path) -> dict:
    """The checkpoint of an interrupted run, or a ModelError naming the file when it is damaged."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(checkpoint, dict):
            raise TypeError(f"a {type(checkpoint).__name__}, not a dict")
        for key in ("config", "settings", "step"):
            if key not in checkpoint:
                raise KeyError(key)
    except Exception as error:  # noqa: BLE001 - pickle, zip and torch raise many kinds for a damaged file
        raise ModelError(f"cannot resume from {str(path)!r}: the checkpoint is damaged ({type(error).__name__}); "
                         f"delete it to start again, or give another RUN_DIR") from None
    return checkpoint


def with_lineage(info: dict, earlier) -> dict:
    """A fine-tuned model's ``info`` with its starting model's (``earlier``) nested, and their totals.

    ``fine_tuned_from`` holds ``earlier`` (itself nested back to the first run);
    ``total_steps`` and ``total_training_hours`` add this run's to all before it.

    >>> first = {"steps": 100, "training_hours": 0.5}
    >>> second = with_lineage({"steps": 20, "training_hours": 0.1}, first)
    >>> third = with_lineage({"steps": 3, "training_hours": 0.01}, second)
    >>> third["total_steps"], third["total_training_hours"], third["fine_tuned_from"]["fine_tuned_from"] == first
    (123, 0.61, True)
    """
    if not earlier:
        return info
    steps = int(earlier.get("total_steps", earlier.get("steps", 0)))
    hours = float(earlier.get("total_training_hours", earlier.get("training_hours", 0.0)))
    return dict(info, fine_tuned_from=earlier, total_steps=info["steps"] + steps,
                total_training_hours=round(info["training_hours"] + hours, 3))


def _say_ignored(path: Path, config, settings: dict, kept_config, kept: dict) -> None:
    """Name what a resumed run was given and keeps its own of instead (its network, its schedule...).

    Resuming on ``--config published --steps 4`` built the light network of the checkpoint and ran
    the last steps at the schedule's floor, without a word.
    """
    import warnings

    from ..errors import VismicWarning

    ignored = [f"{name}={settings[name]!r} (kept {kept[name]!r})" for name in sorted(settings)
               if name in kept and not _same_setting(settings[name], kept[name])]
    given = _model_config(config)
    if given != kept_config:
        ignored.insert(0, f"config {given} (kept {kept_config})")
    if ignored:
        message = (f"resuming {str(path)!r}: the run keeps the network and settings it started with; ignored: "
                   + "; ".join(ignored) + " (start a new RUN_DIR to change them)")
        warnings.warn(message, VismicWarning, stacklevel=4)  # once: it was also logged, and printed twice


def _same_setting(a, b) -> bool:
    try:
        return bool(np.all(np.asarray(a, dtype=object) == np.asarray(b, dtype=object)))
    except (TypeError, ValueError):
        return a == b


def _model_config(config) -> MagNetConfig:
    if not isinstance(config, str):
        return config
    if config not in ("light", "published"):
        raise ParameterError(f"config must be 'light', 'published' or a MagNetConfig, given {config!r}")
    return MagNetConfig.light() if config == "light" else MagNetConfig.published(in_channels=1)


class _RenderedOnce:
    """A validation set's examples rendered on first use and kept: the sets are scored after every epoch."""

    def __init__(self, generator):
        self.generator = generator
        self._batches = {}

    def batch(self, start: int, count: int):
        if (start, count) not in self._batches:
            self._batches[start, count] = self.generator.batch(start, count)
        return self._batches[start, count]


class _LossMeter:
    """Running means of the five loss terms between two reports.

    The terms are summed where they were computed (a tensor on the GPU) and read
    back only when reported: reading them every step would wait for the GPU.
    """

    NAMES = ("loss", "y", "texAC", "texBM", "shapeBC")

    def __init__(self):
        self.sums = 0.0
        self.count = 0

    def add(self, values):
        self.sums = self.sums + values
        self.count += 1

    def means(self):
        sums = self.sums.detach().cpu().double().numpy() if hasattr(self.sums, "detach") else self.sums
        return np.broadcast_to(np.asarray(sums, dtype=np.float64), (len(self.NAMES),)) / max(self.count, 1)

    def line(self) -> str:
        m = self.means()
        return (f"loss {m[0]:.4f} (y {m[1]:.4f} texAC {m[2]:.4f} texBM {m[3]:.4f} shapeBC {m[4]:.4f})")

    def reset(self):
        self.sums = 0.0
        self.count = 0


class _Run:
    """One training run in its folder: model, optimiser, progress; resumed from ``checkpoint.pt`` if there."""

    def __init__(self, output_dir: Path, config, settings: dict, *, device, log, derived=()):
        torch = require_torch()
        from ._model import MagNet

        self.torch, self.device, self.log = torch, device, log
        if torch.device(device).type == "cuda":
            torch.backends.cudnn.benchmark = True  # the patches keep one size: pick the fastest convolutions once
        self.output_dir = output_dir
        self.checkpoint_path = output_dir / "checkpoint.pt"
        _check_run_folder(output_dir)
        checkpoint = None
        if self.checkpoint_path.is_file():
            checkpoint = _load_checkpoint(torch, self.checkpoint_path)
            self.config = MagNetConfig.from_dict(checkpoint["config"])
            self.settings = checkpoint["settings"]
            log(f"resuming {self.checkpoint_path} at step {checkpoint['step']}")
            _say_ignored(self.checkpoint_path, config, {k: v for k, v in settings.items() if k not in derived},
                         self.config, self.settings)
        else:
            self.config = _model_config(config)
            self.settings = settings
        init = self.settings.get("init")
        if checkpoint is None and init is not None:
            from ._weights import load_model

            start = load_model(init)
            self.config = start.config
            log(f"starting from {init} ({(start.info or {}).get('steps', '?')} steps of earlier training)")
        # what the starting model's file says of its own training, kept for the files this run writes
        self.init_info = checkpoint.get("init_info") if checkpoint is not None else (
            dict(start.info or {}) if init is not None else None)
        torch.manual_seed(self.settings["seed"])
        self.model = MagNet(self.config).to(device)
        output_dir.mkdir(parents=True, exist_ok=True)  # once the starting model loaded: none left after a bad --init
        if checkpoint is None and init is not None:
            self.model.load_state_dict(start.state_dict())
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.settings["learning_rate"])
        self.step, self.elapsed, self.history, self.best = 0, 0.0, [], -1.0
        if checkpoint is not None:
            self.model.load_state_dict(checkpoint["model"])
            self.optimizer.load_state_dict(checkpoint["optimizer"])
            self.step, self.elapsed = checkpoint["step"], checkpoint["elapsed_seconds"]
            self.history = checkpoint["history"]
            self.best = max([h["validation"]["ssim"] for h in self.history], default=-1.0)
            torch.set_rng_state(checkpoint["torch_rng"])
        bs = self.settings["batch_size"]
        log(f"MagNet {self.config} with {self.model.n_parameters()} parameters; batch {bs}, "
            f"patch {self.settings['patch_size']}, lr {self.settings['learning_rate']} "
            f"({self.settings.get('schedule', 'constant')} over {self.settings.get('schedule_steps')} steps, "
            f"warm-up {self.settings.get('warmup_steps', 0)}), seed {self.settings['seed']}, "
            f"data mix {self.settings.get('mix')}, SSIM weight {self.settings.get('ssim_weight', 0.0)}, "
            f"texture zoom {list(self.settings.get('texture_scale', TEXTURE_SCALE))}")

    def train_step(self, feed):
        """One optimiser step on the next batch of ``feed`` (a :class:`BatchFeed`); the five loss terms (a tensor).

        The time spent making the batch counts as training time, as the throughput reports it.
        """
        torch, model = self.torch, self.model
        model.train()
        tick = time.time()
        frame_a, frame_b, frame_c, target, alpha = feed.batch(self.step)
        channels = self.config.in_channels
        a, b, c, m = (_expand(torch, _to_tensor(torch, f, self.device), channels)
                      for f in (frame_a, frame_b, frame_c, target))
        texture_a, shape_a = model.encoder(a)
        texture_b, shape_b = model.encoder(b)
        texture_c, shape_c = model.encoder(c)
        texture_m, _ = model.encoder(m)
        shape = model.manipulator(shape_a, shape_b, torch.from_numpy(alpha).to(self.device).view(-1, 1, 1, 1))
        output = model.decoder(texture_b, shape)
        loss_y = (output - m).abs().mean()
        loss_ac = (texture_a - texture_c).abs().mean()
        loss_bm = (texture_b - texture_m).abs().mean()
        loss_bc = (shape_b - shape_c).abs().mean()
        loss = loss_y + REGULARISATION_WEIGHT * (loss_ac + loss_bm + loss_bc)
        if self.settings.get("ssim_weight"):  # absent from checkpoints older than the option: the paper's loss
            loss = loss + self.settings["ssim_weight"] * ssim_loss(output, m)
        if not bool(torch.isfinite(loss)):
            # stopped before the step: its NaN weights went into model.pt, best.pt and an export, whose
            # network turned every frame flat grey; the last checkpoint stays as it was
            raise ModelError(f"the training diverged at step {self.step + 1}: the loss is {float(loss.detach())} (a "
                             f"learning rate of {learning_rate_at(self.step, self.settings):g} is likely too high); "
                             f"{str(self.checkpoint_path)!r} keeps the run before it")
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate_at(self.step, self.settings)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.step += 1
        self.elapsed += time.time() - tick
        return torch.stack([loss, loss_y, loss_ac, loss_bm, loss_bc]).detach()

    def end_epoch(self, held_out, losses: _LossMeter) -> None:
        """Validate, record the epoch, save the checkpoint (and ``best.pt`` when it improved)."""
        sets = {name: validate(self.model, generator, self.settings["n_validation"], device=self.device)
                for name, generator in held_out.items()}
        scores = sets["photos"]
        means = losses.means()
        bs = self.settings["batch_size"]
        trained = losses.count > 0
        self.history.append({"epoch": len(self.history) + 1, "step": self.step, "samples": self.step * bs,
                             "hours": round(self.elapsed / 3600, 4), "loss": float(means[0]) if trained else None,
                             "loss_y": float(means[1]) if trained else None, "learning_rate": learning_rate_at(self.step, self.settings),
                             "validation": scores, "validation_sets": sets})
        losses.reset()
        self.log(f"epoch {len(self.history)} step {self.step}: validation SSIM " + ", ".join(
            f"{name} {s['ssim']:.4f} (no magnification {s['ssim_no_magnification']:.4f}, L1 {s['l1_grey_levels']:.2f})"
            for name, s in sets.items()))
        self.save_checkpoint()
        if scores["ssim"] > self.best:
            self.best = scores["ssim"]
            save_model(self.model, self.output_dir / "best.pt", info=self.info())

    def info(self) -> dict:
        bs = self.settings["batch_size"]
        info = {"steps": self.step, "samples": self.step * bs, "training_hours": round(self.elapsed / 3600, 3),
                "settings": self.settings,
                "last_validation": self.history[-1]["validation"] if self.history else None,
                "last_validation_sets": self.history[-1].get("validation_sets") if self.history else None,
                "data": "vismic.magnify.SampleGenerator (exact sub-pixel motion; mix in settings)"}
        return with_lineage(info, self.init_info)

    def save_checkpoint(self) -> None:
        """``checkpoint.pt`` (atomically), ``model.pt`` and ``history.json``."""
        payload = {"config": self.config.to_dict(), "settings": self.settings, "model": self.model.state_dict(),
                   "optimizer": self.optimizer.state_dict(), "step": self.step, "elapsed_seconds": self.elapsed,
                   "history": self.history, "torch_rng": self.torch.get_rng_state(), "init_info": self.init_info}
        with temporary_file(self.checkpoint_path, what="checkpoint") as temporary:
            self.torch.save(payload, temporary)
        save_model(self.model, self.output_dir / "model.pt", info=self.info())
        (self.output_dir / "history.json").write_text(json.dumps(self.history, indent=1))
