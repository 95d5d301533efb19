import numpy as np
import pytest


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def tiny_model(torch):
    """An untrained light MagNet (fast, deterministic)."""
    from vismic.magnify import MagNet, MagNetConfig

    torch.manual_seed(0)
    return MagNet(MagNetConfig.light(n_decoder_blocks=1, n_shape_blocks=1)).eval()


@pytest.fixture(params=["published", "light"])
def shipped_model(torch, request):
    """Each model shipped with vismic (the default, ``"published"``, and ``"light"``)."""
    from vismic.magnify import SHIPPED_WEIGHTS, load_model

    if not SHIPPED_WEIGHTS[request.param].is_file():
        pytest.skip("the shipped weights are not there")
    return load_model(request.param)


@pytest.fixture
def frames_u8():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 36, 44), dtype=np.uint8)
