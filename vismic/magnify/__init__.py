"""Learning-based motion magnification (MagNet, Oh et al., ECCV 2018).

- :func:`magnify` frames in, frames out; :class:`Magnify` the streaming stage
  (put it before the decomposition); :func:`choose_upscale` says whether
  magnifying at twice the resolution (``upscale=``) keeps fine texture.
- :func:`load_model` a shipped model (grayscale; :data:`SHIPPED_WEIGHTS`: ``"published"``,
  the default, and ``"light"``), a vismic model file, or a state dict saved by the
  public PyTorch port.
- :class:`MagNetConfig` (``published()``, ``light()``), :class:`MagNet`;
  :class:`InferenceNet` the same network prepared for fast inference.
- :func:`train` (and :func:`validate`) to train one on the procedural examples of
  :class:`SampleGenerator`; :func:`render_pair` renders one moved pair of
  photographs never trained on (:data:`HELD_OUT_PHOTOS`) and its exact magnification;
  :func:`dead_leaves` and :func:`smooth_texture` make the natural-statistics textures
  of the training mix (:data:`NATURAL_MIX`).

The code lives in private modules (``_inference``, ``_scale``, ``_weights``, ``_model``,
``_data``, ``_train``); ``vismic.magnify.cli`` is the command line.
``import vismic.magnify`` does not import torch; it is loaded when a model is
built or run. Install it with ``pip install torch`` (or the ``vismic[torch]``
extra).
"""

from ._config import MagNetConfig
from ._inference import COLORS, ENSEMBLES, FILTERS, MAX_ALPHA, MODES, PRECISIONS, Magnify, magnify
from ._scale import UPSCALES, UpscaleChoice, choose_upscale
from ._weights import DEFAULT_WEIGHTS, SHIPPED_WEIGHTS, convert_port_state_dict, load_model, port_key_to_vismic, save_model

__all__ = [
    "magnify",
    "Magnify",
    "MagNet",
    "MagNetConfig",
    "InferenceNet",
    "load_model",
    "save_model",
    "port_key_to_vismic",
    "convert_port_state_dict",
    "train",
    "validate",
    "SampleGenerator",
    "render_pair",
    "TRAIN_PHOTOS",
    "HELD_OUT_PHOTOS",
    "NATURAL_MIX",
    "TEXTURE_SOURCES",
    "dead_leaves",
    "smooth_texture",
    "learning_rate_at",
    "ssim_loss",
    "DEFAULT_WEIGHTS",
    "SHIPPED_WEIGHTS",
    "MODES",
    "FILTERS",
    "COLORS",
    "PRECISIONS",
    "ENSEMBLES",
    "MAX_ALPHA",
    "UPSCALES",
    "UpscaleChoice",
    "choose_upscale",
]

# Names whose modules import torch (_model, _train) or the training data's
# dependencies (_data): loaded on first use so that ``import vismic.magnify`` stays light.
_LAZY = {
    "MagNet": "._model",
    "InferenceNet": "._model",
    "train": "._train",
    "validate": "._train",
    "SampleGenerator": "._data",
    "render_pair": "._data",
    "TRAIN_PHOTOS": "._data",
    "HELD_OUT_PHOTOS": "._data",
    "NATURAL_MIX": "._data",
    "TEXTURE_SOURCES": "._data",
    "dead_leaves": "._data",
    "smooth_texture": "._data",
    "learning_rate_at": "._train",
    "ssim_loss": "._train",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'vismic.magnify' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
