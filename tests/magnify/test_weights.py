import numpy as np
import pytest

from vismic.errors import ModelError
from vismic.magnify import MagNetConfig, load_model, port_key_to_vismic, save_model


def _port_state_dict(torch, prefix=""):
    """A state dict with the key names and shapes of the public PyTorch port's MagNet."""
    shapes = {
        "encoder.cba_1.conv2d.weight": (16, 3, 7, 7),
        "encoder.cba_2.conv2d.weight": (32, 16, 3, 3),
        "encoder.texture_cba.conv2d.weight": (32, 32, 3, 3),
        "encoder.motion_cba.conv2d.weight": (32, 32, 3, 3),
        "manipulator.g.conv2d.weight": (32, 32, 3, 3),
        "manipulator.h_conv.conv2d.weight": (32, 32, 3, 3),
        "decoder.cba_1.conv2d.weight": (32, 64, 3, 3),
        "decoder.cba_2.conv2d.weight": (3, 32, 7, 7),
    }
    blocks = {"encoder.resblks": (3, 32), "encoder.texture_resblks": (2, 32),
              "encoder.motion_resblks": (2, 32), "decoder.resblks": (9, 64)}
    for name, (count, width) in blocks.items():
        for i in range(count):
            for j in (1, 2):
                shapes[f"{name}.{i}.cba_{j}.conv2d.weight"] = (width, width, 3, 3)
    for j in (1, 2):
        shapes[f"manipulator.h_resblk.cba_{j}.conv2d.weight"] = (32, 32, 3, 3)
    generator = torch.Generator().manual_seed(1)
    return {prefix + k: torch.randn(s, generator=generator) * 0.05 for k, s in shapes.items()}


def test_port_key_names():
    assert port_key_to_vismic("encoder.cba_1.conv2d.weight") == "encoder.conv_in.conv.weight"
    assert port_key_to_vismic("module.decoder.resblks.8.cba_2.conv2d.weight") == "decoder.blocks.8.conv2.conv.weight"
    assert port_key_to_vismic("manipulator.h_resblk.cba_1.conv2d.weight") == "manipulator.h_blocks.0.conv1.conv.weight"
    assert port_key_to_vismic("encoder.motion_resblks.1.cba_1.conv2d.weight") == "encoder.shape_blocks.1.conv1.conv.weight"


@pytest.mark.parametrize("prefix", ["", "module."])
def test_load_port_state_dict(torch, tmp_path, prefix):
    state = _port_state_dict(torch, prefix)
    path = tmp_path / "magnet_epoch12_loss7.28e-02.pth"
    torch.save(state, path)
    model = load_model(path)
    assert model.config == MagNetConfig.port()
    assert model.n_parameters() == 877_968
    loaded = model.state_dict()
    for key, value in state.items():
        assert torch.equal(loaded[port_key_to_vismic(key)], value)
    # the port's forward pass: M_b + h(alpha * g(M_b - M_a)); with equal frames the output
    # is the plain reconstruction, for any alpha
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(model(x, x, 1.0), model(x, x, 50.0), atol=1e-5)


def test_port_weights_through_magnify(torch, tmp_path):
    from vismic.magnify import magnify

    path = tmp_path / "port.pth"
    torch.save(_port_state_dict(torch), path)
    frames = np.random.default_rng(0).integers(0, 256, (3, 20, 24), dtype=np.uint8)
    assert magnify(frames, alpha=2, model=str(path)).shape == frames.shape
    assert magnify(np.stack([frames] * 3, -1), alpha=2, model=str(path)).shape == frames.shape + (3,)


def test_save_and_load_roundtrip(torch, tmp_path, tiny_model):
    path = save_model(tiny_model, tmp_path / "m.pt", info={"steps": 3})
    model = load_model(path)
    assert model.config == tiny_model.config
    assert model.info["steps"] == 3
    for key, value in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    # a plain state dict of our own names loads too (sizes read from the shapes)
    torch.save(tiny_model.state_dict(), tmp_path / "plain.pt")
    assert load_model(tmp_path / "plain.pt").config == tiny_model.config


def test_bad_weights(torch, tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a torch file")
    with pytest.raises(ModelError, match="cannot read"):
        load_model(garbage)
    state = _port_state_dict(torch)
    state["encoder.cba_1.conv2d.weight"] = torch.zeros(16, 3, 5, 5)
    torch.save(state, tmp_path / "shape.pth")
    with pytest.raises(ModelError, match="shape"):
        load_model(tmp_path / "shape.pth")
    del state["encoder.cba_1.conv2d.weight"]
    torch.save(state, tmp_path / "missing_key.pth")
    with pytest.raises(ModelError, match="missing"):
        load_model(tmp_path / "missing_key.pth")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ModelError):
        load_model(tmp_path / "list.pt")


def test_shipped_models_by_name(torch, tmp_path, monkeypatch, tiny_model):
    from vismic.magnify import DEFAULT_WEIGHTS, SHIPPED_WEIGHTS, magnify

    if not all(path.is_file() for path in SHIPPED_WEIGHTS.values()):
        pytest.skip("the shipped weights are not there")
    assert DEFAULT_WEIGHTS == SHIPPED_WEIGHTS["published"]
    assert load_model().config == load_model("published").config
    assert load_model("published").n_parameters() == 873264
    assert load_model("light").config == MagNetConfig.light()
    frames = np.random.default_rng(1).integers(0, 256, (2, 24, 24), dtype=np.uint8)
    light = magnify(frames, alpha=3, model="light")
    assert np.array_equal(light, magnify(frames, alpha=3, model=SHIPPED_WEIGHTS["light"]))
    assert not np.array_equal(light, magnify(frames, alpha=3))
    # a file of that name in the working folder is what the user meant
    monkeypatch.chdir(tmp_path)
    save_model(tiny_model, tmp_path / "tiny.pt").rename(tmp_path / "light")
    assert load_model("light").config == tiny_model.config
    with pytest.raises(ModelError, match="not found"):
        load_model("heavy")
