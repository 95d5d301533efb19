"""What a training run and a model file refuse: files it would destroy, a diverged run, odd devices."""

import json

import numpy as np
import pytest

from vismic.cli import main
from vismic.errors import ModelError, OutputError, ParameterError

TINY = ["--batch-size", "2", "--patch-size", "32", "--epoch-samples", "4", "--validation-samples", "2",
        "--config", "light", "--data-workers", "0", "-q"]
KWARGS = dict(patch_size=32, batch_size=2, epoch_samples=4, n_validation=2, n_textures=2, log=lambda line: None)


def test_export_never_replaces_the_model_the_run_started_from_nor_a_video(torch, tiny_model, tmp_path, capsys):
    from vismic.magnify import save_model

    start = save_model(tiny_model, tmp_path / "init.pt")
    before = start.read_bytes()
    assert main(["train-magnet", str(tmp_path / "run"), "--steps", "1", *TINY, "--init", str(start),
                 "--export", str(start)]) == 2
    assert start.read_bytes() == before
    (tmp_path / "clip.avi").write_bytes(b"a video")
    assert main(["train-magnet", str(tmp_path / "run"), "--steps", "1", *TINY, "--export",
                 str(tmp_path / "clip.avi")]) == 2
    assert "must name a model file ending in .pt" in capsys.readouterr().err
    assert (tmp_path / "clip.avi").read_bytes() == b"a video"


def test_a_folder_of_someone_elses_run_files_is_not_overwritten(torch, tmp_path):
    from vismic.magnify import train

    (tmp_path / "model.pt").write_text("mine")
    (tmp_path / "history.json").write_text("notes")
    with pytest.raises(OutputError, match="holds model.pt, history.json but no checkpoint.pt"):
        train(tmp_path, steps=1, **KWARGS)
    assert (tmp_path / "model.pt").read_text() == "mine"
    (tmp_path / "model.pt").unlink()
    (tmp_path / "history.json").unlink()
    (tmp_path / "checkpoint.pt").mkdir()  # trained an epoch, then failed to write the checkpoint
    with pytest.raises(OutputError, match="checkpoint.pt' is not a file"):
        train(tmp_path, steps=1, **KWARGS)


def test_a_diverged_training_stops_and_leaves_no_nan_model(torch, tmp_path):
    from vismic.magnify import load_model, train

    with pytest.raises(ModelError, match="the training diverged at step"):
        train(tmp_path, steps=30, learning_rate=1e6, **KWARGS)
    assert not (tmp_path / "model.pt").exists() and not (tmp_path / "best.pt").exists()
    history = tmp_path / "history.json"
    assert not history.exists() or "NaN" not in history.read_text()
    # and a model file of NaN weights (from before this check) is refused where it was a flat grey video
    from vismic.magnify import MagNet, MagNetConfig, save_model

    model = MagNet(MagNetConfig.light(n_decoder_blocks=1, n_shape_blocks=1))
    with torch.no_grad():
        next(iter(model.parameters())).fill_(float("nan"))
    save_model(model, tmp_path / "nan.pt")
    with pytest.raises(ModelError, match="holds NaN or infinite values"):
        load_model(tmp_path / "nan.pt")


def test_model_files_and_devices_are_checked(torch, tiny_model, tmp_path):
    from vismic.magnify import load_model, save_model

    with pytest.raises(OutputError, match="does not exist"):
        save_model(tiny_model, tmp_path / "missing" / "m.pt")  # created the folder, unlike every other writer
    with pytest.raises(OutputError, match="it is a folder"):
        save_model(tiny_model, tmp_path)
    with pytest.raises(ParameterError, match="must be a vismic.magnify.MagNet"):
        save_model("str", tmp_path / "m.pt")
    path = save_model(tiny_model, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["version"] = 99
    torch.save(payload, tmp_path / "new.pt")
    with pytest.raises(ModelError, match="format version 99"):
        load_model(tmp_path / "new.pt")
    with pytest.raises(ModelError, match="is a folder"):
        load_model(tmp_path)
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ModelError, match="not a model file torch loads safely") as caught:
        load_model(tmp_path / "array.npy")
    assert "weights_only=False" not in str(caught.value)  # torch's advice, unsafe for a file from elsewhere
    for device in ("mps", "meta", "bogus"):
        with pytest.raises(ParameterError, match="device"):
            load_model(path, device=device)


def test_resuming_with_more_steps_says_nothing_of_the_schedule_it_derived(torch, tmp_path):
    import warnings

    from vismic.magnify import train

    train(tmp_path, steps=2, **KWARGS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = train(tmp_path, steps=4, **KWARGS)  # the documented way to train longer
    assert not [w for w in caught if "ignored" in str(w.message)]
    assert [h["step"] for h in history] == [2, 4]
    assert json.loads((tmp_path / "history.json").read_text())[-1]["step"] == 4
