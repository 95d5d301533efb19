import pytest

from vismic.errors import ModelError, ParameterError
from vismic.magnify import MagNetConfig


def test_published_parameter_count(torch):
    from vismic.magnify import MagNet

    model = MagNet(MagNetConfig.published())
    # the published network: about 0.9 M parameters, no biases, reflect padding
    assert model.n_parameters() == 877_968
    assert not any(name.endswith(".bias") for name, _ in model.named_parameters())
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.padding_mode == "reflect" for c in convs)
    assert len(model.decoder.blocks) == 9
    assert model.decoder.blocks[0].conv1.conv.in_channels == 64


def test_light_is_smaller(torch):
    from vismic.magnify import MagNet

    assert MagNet(MagNetConfig.light()).n_parameters() < 500_000


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(torch, channels):
    from vismic.magnify import MagNet

    model = MagNet(MagNetConfig.light(in_channels=channels, n_decoder_blocks=1))
    x = torch.zeros(2, channels, 48, 64)
    texture, shape = model.encode(x)
    assert texture.shape == (2, 32, 12, 16)
    assert shape.shape == (2, 32, 24, 32)
    assert model(x, x, 3.0).shape == x.shape
    assert model(x, x, torch.tensor([1.0, 2.0])).shape == x.shape


def test_manipulator_is_proportional_to_alpha(torch, tiny_model):
    difference = torch.randn(1, 32, 8, 8)
    change = tiny_model.manipulator.change
    assert torch.allclose(change(difference, 6.0), 3 * change(difference, 2.0), atol=1e-4)


def test_config_checks():
    with pytest.raises(ParameterError):
        MagNetConfig(in_channels=2)
    with pytest.raises(ParameterError):
        MagNetConfig(manipulator="other")
    with pytest.raises(ModelError):
        MagNetConfig.from_dict({"channels": 8, "colour": True})
    assert MagNetConfig.from_dict(MagNetConfig.light().to_dict()) == MagNetConfig.light()
