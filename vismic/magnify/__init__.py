"""Learning-based motion magnification (MagNet, Oh et al., ECCV 2018).

- :func:`magnify` frames in, frames out; :class:`Magnify` the streaming stage
  (put it before the decomposition).
- :func:`load_model` the shipped model (trained here on CPU, grayscale), a
  vismic model file, or a state dict saved by the public PyTorch port.
- :class:`MagNetConfig` (``published()``, ``light()``), :class:`MagNet`.
- :func:`train` and :mod:`vismic.magnify.data` to train one.

``import vismic.magnify`` does not import torch; it is loaded when a model is
built or run. Install it with ``pip install torch`` (or the ``vismic[torch]``
extra).
"""

from ._config import MagNetConfig
from .inference import FILTERS, MAX_ALPHA, MODES, Magnify, magnify
from .weights import DEFAULT_WEIGHTS, convert_port_state_dict, load_model, port_key_to_vismic, save_model

__all__ = [
    "magnify",
    "Magnify",
    "MagNet",
    "MagNetConfig",
    "load_model",
    "save_model",
    "port_key_to_vismic",
    "convert_port_state_dict",
    "train",
    "DEFAULT_WEIGHTS",
    "MODES",
    "FILTERS",
    "MAX_ALPHA",
]


def __getattr__(name):
    if name == "MagNet":
        from .model import MagNet

        return MagNet
    if name == "train":
        from .train import train

        return train
    raise AttributeError(f"module 'vismic.magnify' has no attribute {name!r}")
