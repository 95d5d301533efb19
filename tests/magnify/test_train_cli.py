import argparse
import json

import numpy as np
import pytest

from vismic.errors import ParameterError


def test_train_and_resume(torch, tmp_path):
    from vismic.magnify import load_model
    from vismic.magnify import train

    config_kwargs = dict(patch_size=32, batch_size=2, epoch_samples=4, n_validation=2, log=lambda line: None)
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


def _parser():
    from vismic.magnify.cli import add_magnify_parser, add_train_parser

    parser = argparse.ArgumentParser(prog="vismic")
    sub = parser.add_subparsers()
    add_magnify_parser(sub)
    add_train_parser(sub)
    return parser


def test_cli_magnify(torch, tmp_path, tiny_model):
    from vismic.io import read_frames, write_video
    from vismic.magnify import save_model

    frames = np.random.default_rng(0).integers(0, 256, (4, 20, 28), dtype=np.uint8)
    write_video(tmp_path / "in.avi", frames)
    weights = save_model(tiny_model, tmp_path / "w.pt")
    args = _parser().parse_args(["magnify", str(tmp_path / "in.avi"), "-o", str(tmp_path / "out.avi"),
                                 "--alpha", "3", "--weights", str(weights)])
    assert args.func(args) == 0
    assert read_frames(tmp_path / "out.avi").shape == frames.shape
    args = _parser().parse_args(["magnify", str(tmp_path / "in.avi"), "-o", str(tmp_path / "out.avi"),
                                 "--alpha", "3", "--mode", "temporal", "--fl", "1"])
    with pytest.raises(ParameterError, match="--fps"):
        args.func(args)
    args = _parser().parse_args(["train-magnet", str(tmp_path / "run")])
    with pytest.raises(ParameterError, match="--steps"):
        args.func(args)
