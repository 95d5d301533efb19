"""Saving and loading MagNet weights: vismic's own files and the public PyTorch port's.

vismic model files (``*.pt``) hold a dict ``{"format": "vismic-magnet",
"version": 1, "config": {...}, "state_dict": {...}, "info": {...}}``.

State dicts saved by the public PyTorch port
(ZhengPeng7/motion_magnification_learning-based, e.g.
``magnet_epoch12_loss7.28e-02.pth``) are recognised by their key names
(``encoder.cba_1.conv2d.weight``...) and renamed with :func:`port_key_to_vismic`;
they load into the published configuration with the port's manipulator
(``M_b + h(alpha * g(M_b - M_a))``), RGB in [-1, 1].
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ModelError, ParameterError
from ..io._atomic import check_destination, temporary_file
from ._config import MagNetConfig

__all__ = [
    "DEFAULT_WEIGHTS",
    "SHIPPED_WEIGHTS",
    "FORMAT",
    "port_key_to_vismic",
    "convert_port_state_dict",
    "save_model",
    "load_model",
    "require_torch",
]

FORMAT = "vismic-magnet"
#: The version of :data:`FORMAT` this vismic writes, and the newest it reads.
MODEL_VERSION = 1
_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: The models shipped with vismic, by the names ``load_model``, ``magnify(model=)`` and
#: ``--weights`` take: ``"published"`` (the paper's sizes, trained on a GPU; the default) and
#: ``"light"`` (fewer channels, trained on CPU: faster on CPUs, less faithful; docs/magnet.md).
SHIPPED_WEIGHTS = {"published": _WEIGHTS_DIR / "magnet_published.pt", "light": _WEIGHTS_DIR / "magnet_light.pt"}
#: The model ``magnify()`` uses unless told otherwise.
DEFAULT_WEIGHTS = SHIPPED_WEIGHTS["published"]

_PORT_RENAMES = [
    (r"^module\.", ""),
    (r"^encoder\.cba_1\.", "encoder.conv_in."),
    (r"^encoder\.cba_2\.", "encoder.conv_down."),
    (r"^encoder\.resblks\.", "encoder.blocks."),
    (r"^encoder\.texture_cba\.", "encoder.texture_down."),
    (r"^encoder\.texture_resblks\.", "encoder.texture_blocks."),
    (r"^encoder\.motion_cba\.", "encoder.shape_conv."),
    (r"^encoder\.motion_resblks\.", "encoder.shape_blocks."),
    (r"^manipulator\.h_resblk\.", "manipulator.h_blocks.0."),
    (r"^decoder\.resblks\.", "decoder.blocks."),
    (r"^decoder\.cba_1\.", "decoder.conv_up."),
    (r"^decoder\.cba_2\.", "decoder.conv_out."),
    # inside residual blocks
    (r"\.cba_1\.", ".conv1."),
    (r"\.cba_2\.", ".conv2."),
    (r"\.conv2d\.", ".conv."),
]


def require_torch():
    """Import torch or raise an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "vismic.magnify needs PyTorch: pip install torch (or pip install 'vismic[torch]')"
        ) from exc
    return torch


def port_key_to_vismic(key: str) -> str:
    """Rename one parameter of the public PyTorch port to vismic's name.

    >>> port_key_to_vismic("module.encoder.resblks.2.cba_1.conv2d.weight")
    'encoder.blocks.2.conv1.conv.weight'
    """
    for pattern, replacement in _PORT_RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def _is_port_state_dict(state_dict) -> bool:
    return any(".conv2d." in str(k) or ".cba_" in str(k) or ".resblks." in str(k) for k in state_dict)


def convert_port_state_dict(state_dict) -> dict:
    """The port's state dict with vismic's parameter names (values unchanged)."""
    return {port_key_to_vismic(str(k)): v for k, v in state_dict.items()}


def save_model(model, path, *, info=None) -> Path:
    """Write ``model`` (a :class:`~vismic.magnify.MagNet`) as a vismic model file, atomically.

    The folder must exist, as for every writer of vismic's.
    """
    torch = require_torch()
    from ._model import MagNet

    if not isinstance(model, MagNet):
        raise ParameterError(f"model must be a vismic.magnify.MagNet, given {type(model).__name__}")
    path = check_destination(path, what="model file")
    state = {k: v.detach().to("cpu", torch.float32).clone() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "version": MODEL_VERSION, "config": model.config.to_dict(),
               "state_dict": state, "info": dict(info or {})}
    with temporary_file(path, what="model file") as temporary:
        torch.save(payload, temporary)
    return path


def shipped_name(weights):
    """The name of a shipped model ``weights`` stands for, or None (a file of that name wins).

    >>> shipped_name("light"), shipped_name(None), shipped_name("runs/x/best.pt")
    ('light', None, None)
    """
    if isinstance(weights, str) and weights in SHIPPED_WEIGHTS and not Path(weights).exists():
        return weights
    return None


def shipped_path(weights):
    """The file of the shipped model ``weights`` names (``None``: the default model), or None for anything else.

    >>> shipped_path("light") == SHIPPED_WEIGHTS["light"], shipped_path(None) == DEFAULT_WEIGHTS
    (True, True)
    >>> shipped_path("runs/x/best.pt") is None
    True
    """
    if weights is None:
        return DEFAULT_WEIGHTS
    name = shipped_name(weights)
    return SHIPPED_WEIGHTS[name] if name else None


def _read(path):
    torch = require_torch()
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"weights file {str(path)!r} is a folder; give a model file (.pt)")
    if not path.is_file():
        names = " and ".join(repr(name) for name in SHIPPED_WEIGHTS)
        raise ModelError(f"weights file not found: {str(path)!r} (the shipped models are named {names})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch's loader raises many kinds; its own advice (weights_only=False) is unsafe
        raise ModelError(f"cannot read weights file {str(path)!r}: it is not a model file torch loads safely "
                         f"(a vismic model or a state dict; {type(exc).__name__})") from None


def load_model(weights=None, *, device="cpu"):
    """A MagNet in evaluation mode.

    Parameters
    ----------
    weights : None, str, Path, dict or MagNet
        ``None`` for the default model shipped with vismic (``"published"``);
        the name of a shipped model (``"published"``, ``"light"``:
        :data:`SHIPPED_WEIGHTS`); a path to a vismic model file or to a state
        dict of the public PyTorch port; an already loaded dict of either
        kind; or a MagNet, returned as is (moved to ``device``).
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``...

    Raises
    ------
    ModelError
        The file is missing or unreadable, or its parameters do not fit.
    """
    torch = require_torch()
    from ..project._torch import torch_device
    from ._model import MagNet

    device = torch_device(device)
    if isinstance(weights, MagNet):
        return weights.to(device).eval()
    weights = shipped_path(weights) or weights
    source = weights if isinstance(weights, dict) else _read(weights)
    name = "the given dict" if isinstance(weights, dict) else repr(str(weights))
    if not isinstance(source, dict):
        raise ModelError(f"{name} holds a {type(source).__name__}, not a state dict or a vismic model")
    info = {}
    if source.get("format") == FORMAT:
        version = source.get("version", 1)
        if not isinstance(version, int) or version > MODEL_VERSION:
            raise ModelError(f"{name} is a vismic model file of format version {version!r}; this vismic reads up to "
                             f"{MODEL_VERSION} (a newer vismic wrote it)")
        config = MagNetConfig.from_dict(source.get("config"))
        state_dict = source.get("state_dict")
        info = dict(source.get("info") or {})
        if not isinstance(state_dict, dict):
            raise ModelError(f"{name} has no state_dict")
    elif "state_dict" in source and isinstance(source["state_dict"], dict) and "format" not in source:
        state_dict = source["state_dict"]
        config = None
    else:
        state_dict = source
        config = None
    if config is None:
        if _is_port_state_dict(state_dict):
            state_dict = convert_port_state_dict(state_dict)
            config = MagNetConfig.port()
            info["source"] = "public PyTorch port (ZhengPeng7/motion_magnification_learning-based)"
        else:
            state_dict = {re.sub(r"^module\.", "", str(k)): v for k, v in state_dict.items()}
            config = _guess_config(state_dict, name)
    if not all(torch.is_tensor(v) for v in state_dict.values()):
        raise ModelError(f"{name}: the state dict holds values that are not tensors")
    broken = next((key for key, value in state_dict.items()
                   if value.is_floating_point() and not bool(torch.isfinite(value).all())), None)
    if broken is not None:
        # a diverged training's weights: the network's output was a flat grey frame, written without a word
        raise ModelError(f"{name}: parameter {broken} holds NaN or infinite values (a training that diverged)")
    model = MagNet(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise ModelError(
            f"{name} does not fit a MagNet with {config}: "
            f"missing {len(missing)} parameters ({', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}), "
            f"unexpected {len(unexpected)} ({', '.join(unexpected[:3])}{'...' if len(unexpected) > 3 else ''})"
        )
    for key, value in state_dict.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ModelError(
                f"{name}: parameter {key} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}"
            )
    model.load_state_dict({k: v.float() for k, v in state_dict.items()})
    model.info = info
    return model.to(device).eval()


def _guess_config(state_dict, name) -> MagNetConfig:
    """Sizes of a plain vismic state dict read from its keys and shapes."""
    try:
        conv_in = state_dict["encoder.conv_in.conv.weight"]
        conv_down = state_dict["encoder.conv_down.conv.weight"]
    except KeyError:
        raise ModelError(f"{name} is not a MagNet state dict (no encoder.conv_in / conv_down weights)") from None

    def count(prefix):
        found = {int(m.group(1)) for k in state_dict if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))}
        return len(found)

    return MagNetConfig(
        in_channels=int(conv_in.shape[1]), stem_channels=int(conv_in.shape[0]), channels=int(conv_down.shape[0]),
        n_encoder_blocks=count("encoder.blocks."), n_texture_blocks=count("encoder.texture_blocks."),
        n_shape_blocks=count("encoder.shape_blocks."), n_manipulator_blocks=count("manipulator.h_blocks."),
        n_decoder_blocks=count("decoder.blocks."), bias=any(k.endswith(".bias") for k in state_dict),
    )
