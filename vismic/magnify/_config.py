"""MagNet configurations (no torch needed to read or build them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..errors import ModelError, ParameterError

__all__ = ["MagNetConfig", "MANIPULATORS"]

#: How the manipulator combines the shape codes ``M_a`` (reference) and ``M_b`` (current):
#:
#: ``"paper"``     ``M_a + h(alpha * g(M_b - M_a))`` (Oh et al. 2018, eq. 1)
#: ``"port"``      ``M_b + h(alpha * g(M_b - M_a))`` (the public PyTorch port's forward pass)
MANIPULATORS = ("paper", "port")


@dataclass(frozen=True)
class MagNetConfig:
    """Sizes of a MagNet network.

    Attributes
    ----------
    in_channels : int
        Channels of the frames the network sees (3 for RGB, 1 for grayscale).
    stem_channels : int
        Channels of the first, full-resolution 7x7 convolution.
    channels : int
        Width of the encoder at 1/2 resolution and of the texture and shape codes.
    n_encoder_blocks, n_texture_blocks, n_shape_blocks : int
        Residual blocks in the shared encoder trunk, the texture branch (1/4
        resolution) and the shape branch (1/2 resolution).
    n_manipulator_blocks : int
        Residual blocks in the manipulator's ``h``.
    n_decoder_blocks : int
        Residual blocks of the decoder at 1/2 resolution, ``2 * channels`` wide.
    bias : bool
        Convolution biases. The published network has none, which makes the
        manipulator positively homogeneous in ``alpha``.
    padding_mode : str
        ``"reflect"`` as published, or ``"zeros"``/``"replicate"``.
    manipulator : str
        One of :data:`MANIPULATORS`.
    """

    in_channels: int = 3
    stem_channels: int = 16
    channels: int = 32
    n_encoder_blocks: int = 3
    n_texture_blocks: int = 2
    n_shape_blocks: int = 2
    n_manipulator_blocks: int = 1
    n_decoder_blocks: int = 9
    bias: bool = False
    padding_mode: str = "reflect"
    manipulator: str = "paper"

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith(("n_", "in_", "stem_", "channels")):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ParameterError(f"MagNetConfig.{f.name} must be a non-negative int, given {value!r}")
        if self.in_channels not in (1, 3):
            raise ParameterError(f"in_channels must be 1 or 3, given in_channels={self.in_channels!r}")
        if self.stem_channels < 1 or self.channels < 1:
            raise ParameterError("stem_channels and channels must be at least 1")
        if self.padding_mode not in ("reflect", "zeros", "replicate"):
            raise ParameterError(f"padding_mode must be 'reflect', 'zeros' or 'replicate', given {self.padding_mode!r}")
        if self.manipulator not in MANIPULATORS:
            raise ParameterError(f"manipulator must be one of {MANIPULATORS}, given {self.manipulator!r}")

    # -- named configurations ------------------------------------------------
    @classmethod
    def published(cls, **changes) -> "MagNetConfig":
        """The network of Oh et al. (2018): RGB, about 0.9 M parameters."""
        return cls(**changes)

    @classmethod
    def port(cls) -> "MagNetConfig":
        """The published sizes with the manipulator of the public PyTorch port."""
        return cls(manipulator="port")

    @classmethod
    def light(cls, **changes) -> "MagNetConfig":
        """The configuration trained on CPU and shipped with vismic (grayscale)."""
        base = dict(
            in_channels=1,
            stem_channels=16,
            channels=32,
            n_encoder_blocks=2,
            n_texture_blocks=1,
            n_shape_blocks=2,
            n_manipulator_blocks=1,
            n_decoder_blocks=3,
        )
        base.update(changes)
        return cls(**base)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> "MagNetConfig":
        if not isinstance(data, dict):
            raise ModelError(f"a model config must be a dict, given {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown MagNet config keys: {', '.join(unknown)}")
        try:
            return cls(**data)
        except ParameterError as exc:
            raise ModelError(f"invalid MagNet config: {exc}") from None
