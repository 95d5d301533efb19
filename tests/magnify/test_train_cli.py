import argparse
import json

import numpy as np
import pytest

from vismic.errors import ParameterError, VismicWarning


def test_train_and_resume(torch, tmp_path):
    from vismic.magnify import load_model
    from vismic.magnify import train

    config_kwargs = dict(patch_size=32, batch_size=2, epoch_samples=4, n_validation=2, n_textures=2,
                         log=lambda line: None)
    history = train(tmp_path, steps=2, **config_kwargs)
    assert [h["step"] for h in history] == [2]
    assert 0 < history[0]["validation"]["ssim"] <= 1
    history = train(tmp_path, steps=4, **config_kwargs)
    assert [h["step"] for h in history] == [2, 4]
    assert json.loads((tmp_path / "history.json").read_text())[-1]["step"] == 4
    model = load_model(tmp_path / "best.pt")
    assert model.info["samples"] in (4, 8)
    with pytest.raises(ParameterError):
        train(tmp_path / "other", **config_kwargs)


def _weights_of(torch, run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)["model"]


def test_resume_continues_the_schedule_exactly(torch, tmp_path):
    from vismic.magnify import DEFAULT_WEIGHTS, learning_rate_at, load_model, train

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("the shipped weights are not there")
    kwargs = dict(patch_size=16, batch_size=1, epoch_samples=2, n_validation=1, n_textures=2, init=DEFAULT_WEIGHTS,
                  warmup_steps=2, schedule_steps=5, log=lambda line: None)
    whole = train(tmp_path / "whole", steps=5, **kwargs)
    # the starting point is scored first (epoch at step 0), so best.pt never gets worse than it
    assert whole[0]["step"] == 0 and whole[0]["loss"] is None
    assert [h["step"] for h in whole] == [0, 2, 4, 5]
    assert set(whole[-1]["validation_sets"]) == {"photos", "dead_leaves"}
    rates = [h["learning_rate"] for h in whole]
    assert rates[1] > rates[2] > rates[3] == pytest.approx(5e-6)
    # interrupted after 3 steps, resumed with other (ignored) schedule arguments
    train(tmp_path / "parts", steps=3, **kwargs)
    with pytest.warns(VismicWarning, match="ignored: .*schedule_steps=50 \\(kept 5\\)"):  # said nowhere before
        parts = train(tmp_path / "parts", steps=5, **dict(kwargs, schedule_steps=50, warmup_steps=0, init=None))
    # the interrupted run scored its last step too; every step both scored has the same rate
    assert [h["step"] for h in parts] == [0, 2, 3, 4, 5]
    assert [h["learning_rate"] for h in parts if h["step"] != 3] == rates
    first, second = _weights_of(torch, tmp_path / "whole"), _weights_of(torch, tmp_path / "parts")
    assert all(torch.equal(first[key], second[key]) for key in first)
    settings = torch.load(tmp_path / "parts" / "checkpoint.pt", weights_only=False)["settings"]
    assert learning_rate_at(0, settings) == pytest.approx(0.5e-4) and settings["schedule_steps"] == 5
    # the files name what they were fine-tuned from, resumed or not, and count all the training
    for run in ("whole", "parts"):
        info = load_model(tmp_path / run / "model.pt").info
        assert info["fine_tuned_from"] == load_model().info
        assert info["total_steps"] == 5 + load_model().info.get("total_steps", load_model().info["steps"])
    # fine-tuning moved the shipped weights, a little
    shipped = load_model().state_dict()
    changes = [float((first[key] - shipped[key]).abs().max()) for key in shipped]
    assert 0 < max(changes) < 0.01


def test_schedule_arguments_are_checked(torch, tmp_path):
    from vismic.magnify import train

    with pytest.raises(ParameterError, match="schedule"):
        train(tmp_path, steps=1, schedule="step")
    with pytest.raises(ParameterError, match="warmup_steps"):
        train(tmp_path, steps=1, warmup_steps=-1)
    with pytest.raises(ParameterError, match="mix"):
        train(tmp_path, steps=1, mix={"video": 1.0})
    assert not (tmp_path / "checkpoint.pt").exists()


def test_ssim_loss_is_skimages_ssim_on_grey_levels(torch):
    from skimage.metrics import structural_similarity

    from vismic.magnify import ssim_loss

    rng = np.random.default_rng(3)
    for shape, noise in (((40, 50), 20.0), ((64, 64), 4.0), ((17, 30), 60.0)):
        clean = rng.random(shape) * 200 + 20
        noisy = np.clip(clean + rng.normal(0, noise, shape), 0, 255)
        as_tensor = lambda v: torch.tensor(v / 127.5 - 1.0)[None, None]  # noqa: E731
        expected = structural_similarity(noisy, clean, data_range=255.0)
        assert float(ssim_loss(as_tensor(noisy), as_tensor(clean))) == pytest.approx(1 - expected, abs=1e-9)


def test_ssim_weight_is_kept_by_the_run_and_changes_the_steps(torch, tmp_path):
    from vismic.magnify import train

    kwargs = dict(patch_size=16, batch_size=1, epoch_samples=2, n_validation=1, n_textures=2, steps=2,
                  log=lambda line: None)
    train(tmp_path / "l1", **kwargs)
    train(tmp_path / "ssim", ssim_weight=0.5, **kwargs)
    # resumed with another (ignored) weight: the run keeps the one it started with
    train(tmp_path / "ssim", **dict(kwargs, steps=3, ssim_weight=0.0))
    settings = torch.load(tmp_path / "ssim" / "checkpoint.pt", weights_only=False)["settings"]
    assert settings["ssim_weight"] == 0.5
    assert settings["texture_scale"] == [0.5, 1.3]  # the default zoom range, stored for a resume
    plain, weighted = _weights_of(torch, tmp_path / "l1"), _weights_of(torch, tmp_path / "ssim")
    assert any(not torch.equal(plain[key], weighted[key]) for key in plain)
    for bad in (-0.1, float("nan"), "1"):
        with pytest.raises(ParameterError, match="ssim_weight"):
            train(tmp_path / "bad", ssim_weight=bad, **kwargs)


def _parser():
    from vismic.magnify.cli import add_magnify_parser, add_train_parser

    parser = argparse.ArgumentParser(prog="vismic")
    sub = parser.add_subparsers()
    add_magnify_parser(sub)
    add_train_parser(sub)
    return parser


def test_cli_magnify(torch, tmp_path, tiny_model, caplog):
    from vismic.io import read_frames, write_video
    from vismic.magnify import save_model

    frames = np.random.default_rng(0).integers(0, 256, (4, 20, 28), dtype=np.uint8)
    write_video(tmp_path / "in.avi", frames)
    weights = save_model(tiny_model, tmp_path / "w.pt")
    args = _parser().parse_args(["magnify", str(tmp_path / "in.avi"), "-o", str(tmp_path / "out.avi"),
                                 "--alpha", "3", "--weights", str(weights)])
    assert args.func(args) == 0
    assert read_frames(tmp_path / "out.avi").shape == frames.shape
    args = _parser().parse_args(["magnify", str(tmp_path / "in.avi"), "-o", str(tmp_path / "out2.avi"),
                                 "--alpha", "3", "--weights", str(weights), "--ensemble", "2"])
    assert args.func(args) == 0
    assert read_frames(tmp_path / "out2.avi").shape == frames.shape
    with pytest.raises(SystemExit):
        _parser().parse_args(["magnify", "in.avi", "-o", "out.avi", "--alpha", "3", "--ensemble", "3"])
    args = _parser().parse_args(["magnify", str(tmp_path / "in.avi"), "-o", str(tmp_path / "out3.avi"),
                                 "--alpha", "3", "--weights", str(weights), "--upscale", "auto"])
    with caplog.at_level("INFO", logger="vismic"):
        assert args.func(args) == 0
    assert read_frames(tmp_path / "out3.avi").shape == frames.shape
    assert any("x the resolution" in record.getMessage() for record in caplog.records)
    with pytest.raises(SystemExit):
        _parser().parse_args(["magnify", "in.avi", "-o", "out.avi", "--alpha", "3", "--upscale", "3"])
    args = _parser().parse_args(["magnify", str(tmp_path / "in.avi"), "-o", str(tmp_path / "out.avi"),
                                 "--alpha", "3", "--mode", "temporal", "--fl", "1"])
    with pytest.raises(ParameterError, match="--fps"):
        args.func(args)
    args = _parser().parse_args(["train-magnet", str(tmp_path / "run")])
    with pytest.raises(ParameterError, match="--steps"):
        args.func(args)
    args = _parser().parse_args(["train-magnet", str(tmp_path / "run"), "--steps", "2", "--warmup-steps", "-1"])
    with pytest.raises(ParameterError, match="--warmup-steps"):
        args.func(args)
    args = _parser().parse_args(["train-magnet", str(tmp_path / "run"), "--steps", "2", "--texture-scale", "2", "1"])
    with pytest.raises(ParameterError, match="--texture-scale"):
        args.func(args)
    args = _parser().parse_args(["train-magnet", str(tmp_path / "run"), "--steps", "2", "--init", "none.pt"])
    with pytest.raises(ParameterError, match="--init"):
        args.func(args)


def test_cli_magnify_streams_to_the_writer(torch, tmp_path, tiny_model):
    """The output is written batch by batch: peak memory does not grow with the video's length."""
    import tracemalloc

    from vismic.io import read_frames, write_video
    from vismic.magnify import save_model

    weights = save_model(tiny_model, tmp_path / "w.pt")
    rng = np.random.default_rng(1)
    peaks = {}
    for n in (48, 240):
        write_video(tmp_path / f"in{n}.avi", rng.integers(0, 256, (n, 96, 96), dtype=np.uint8))
        args = _parser().parse_args(["magnify", str(tmp_path / f"in{n}.avi"), "-o", str(tmp_path / f"out{n}.avi"),
                                     "--alpha", "3", "--weights", str(weights)])
        tracemalloc.start()
        assert args.func(args) == 0
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert read_frames(tmp_path / f"out{n}.avi").shape == (n, 96, 96)
    # held whole, the 192 more frames would add 1.8 MB of output (twice, with the copy written)
    assert peaks[240] - peaks[48] < 0.6e6, peaks


def test_batch_feed_is_the_same_with_workers_and_views_turn_examples_exactly(torch):
    from vismic.magnify._data import NATURAL_MIX, SampleGenerator
    from vismic.magnify._feed import N_SYMMETRIES, BatchFeed, symmetry

    generator = SampleGenerator(16, seed=3, mix=NATURAL_MIX, p_blur=0.3, n_procedural=2)
    with BatchFeed(generator, 2) as plain:  # views=1: the generator's own stream, step by step
        for step in (0, 1, 5):
            for got, expected in zip(plain.batch(step), generator.batch(2 * step, 2)):
                np.testing.assert_array_equal(got, expected)
    views = 3
    steps = [0, 1, 2, 3, 7, 8, 9, 13, 4]  # a jump ahead and one back, as a resumed run may ask
    with BatchFeed(generator, 2, views=views) as serial, BatchFeed(generator, 2, views=views, workers=2) as pool:
        for step in steps:
            for a, b in zip(serial.batch(step), pool.batch(step)):
                np.testing.assert_array_equal(a, b)
        # one block: views ** 2 steps, each rendered example seen under `views` distinct symmetries
        rendered = generator.batch(0, views * 2)
        seen = {}
        for step in range(views * views):
            batch = serial.batch(step)
            for row in range(2):
                matches = [(index, k) for index in range(views * 2) for k in range(N_SYMMETRIES)
                           if all(np.array_equal(symmetry(rendered[f][index:index + 1], k)[0], batch[f][row])
                                  for f in range(4)) and rendered[4][index] == batch[4][row]]
                assert matches, "every example of a batch is a rendered one, turned or transposed"
                index = matches[0][0]
                seen.setdefault(index, set()).add(step)
        assert sorted(seen) == list(range(views * 2))
        assert all(len(steps_of) == views for steps_of in seen.values())
        # no example in two steps in a row
        assert all(not {s, s + 1} <= steps_of for steps_of in seen.values() for s in range(views * views))


def test_training_with_views_and_workers_resumes_exactly(torch, tmp_path):
    from vismic.magnify import train

    kwargs = dict(patch_size=16, batch_size=2, epoch_samples=4, n_validation=1, n_textures=2, views=2, schedule_steps=5,
                  log=lambda line: None)
    train(tmp_path / "whole", steps=5, **kwargs)
    train(tmp_path / "parts", steps=3, data_workers=2, **kwargs)
    train(tmp_path / "parts", steps=5, **dict(kwargs, views=1))  # the run keeps the views it started with
    first, second = _weights_of(torch, tmp_path / "whole"), _weights_of(torch, tmp_path / "parts")
    assert all(torch.equal(first[key], second[key]) for key in first)
    for bad in (0, 9, 2.0):
        with pytest.raises(ParameterError, match="views"):
            train(tmp_path / "bad", steps=1, **dict(kwargs, views=bad))
    with pytest.raises(ParameterError, match="data_workers"):
        train(tmp_path / "bad", steps=1, data_workers=-1, **kwargs)


class _DiesInWorker:
    """A generator whose rendering process stops at once (as one killed for memory would)."""

    def batch(self, start, count):
        import os

        os._exit(1)


def test_a_dead_rendering_worker_is_one_clear_error():
    from vismic.magnify._feed import BatchFeed
    from vismic.project import WorkerError

    with BatchFeed(_DiesInWorker(), 2, workers=1) as feed:
        with pytest.raises(WorkerError, match="rendering training examples stopped"):
            feed.batch(0)


def test_quiet_means_errors_only_for_magnify(torch, tmp_path, tiny_model, capsys):
    # -q still showed the bar and "wrote N frames"
    from vismic.cli import main
    from vismic.io import write_video
    from vismic.magnify import save_model

    write_video(tmp_path / "in.avi", np.random.default_rng(0).integers(0, 256, (4, 20, 28), dtype=np.uint8))
    weights = save_model(tiny_model, tmp_path / "w.pt")
    assert main(["-q", "magnify", str(tmp_path / "in.avi"), "-o", str(tmp_path / "out.avi"), "--alpha", "3",
                 "--weights", str(weights)]) == 0
    said = capsys.readouterr()
    assert said.err == "" and said.out == ""


def test_a_run_dir_that_is_a_file_is_refused_in_one_line(tmp_path, capsys):
    from vismic.cli import main

    (tmp_path / "run").write_text("not a folder")
    assert main(["train-magnet", str(tmp_path / "run"), "--steps", "1"]) == 2
    assert "is a file: give a folder" in capsys.readouterr().err  # it said "File exists"
