"""The MagNet network (Oh et al., "Learning-based Video Motion Magnification", ECCV 2018).

Encoder: a 7x7 convolution, a stride-2 convolution and residual blocks, then
two branches: the *texture* code at 1/4 resolution and the *shape* code at 1/2
resolution. Manipulator: ``M_a + h(alpha * g(M_b - M_a))``. Decoder: the
texture code upsampled to 1/2 resolution and concatenated with the shape code,
residual blocks, nearest upsampling and two convolutions back to an image.

Images are in [-1, 1] (grey level / 127.5 - 1 for 8-bit frames).

This module imports torch; :mod:`vismic.magnify` only loads it on use.
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import MagNetConfig

__all__ = ["MagNet", "MagNetConfig", "ConvUnit", "ResBlock", "Encoder", "Manipulator", "Decoder"]


class ConvUnit(nn.Module):
    """Convolution with 'same' padding (reflect by default), optionally followed by ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, *, relu=True, bias=False,
                 padding_mode="reflect"):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                              padding=(kernel_size - 1) // 2, padding_mode=padding_mode, bias=bias)
        self.relu = bool(relu)

    def forward(self, x):
        x = self.conv(x)
        return torch.relu(x) if self.relu else x


class ResBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with 3x3 convolutions, no activation after the sum."""

    def __init__(self, channels, *, bias=False, padding_mode="reflect"):
        super().__init__()
        self.conv1 = ConvUnit(channels, channels, 3, relu=True, bias=bias, padding_mode=padding_mode)
        self.conv2 = ConvUnit(channels, channels, 3, relu=False, bias=bias, padding_mode=padding_mode)

    def forward(self, x):
        return x + self.conv2(self.conv1(x))


def _blocks(n, channels, config):
    return nn.Sequential(*[ResBlock(channels, bias=config.bias, padding_mode=config.padding_mode)
                           for _ in range(n)])


class Encoder(nn.Module):
    """Frame ``(n, c, h, w)`` -> texture ``(n, C, h/4, w/4)`` and shape ``(n, C, h/2, w/2)``."""

    def __init__(self, config: MagNetConfig):
        super().__init__()
        kw = dict(bias=config.bias, padding_mode=config.padding_mode)
        width = config.channels
        self.conv_in = ConvUnit(config.in_channels, config.stem_channels, 7, **kw)
        self.conv_down = ConvUnit(config.stem_channels, width, 3, 2, **kw)
        self.blocks = _blocks(config.n_encoder_blocks, width, config)
        self.texture_down = ConvUnit(width, width, 3, 2, **kw)
        self.texture_blocks = _blocks(config.n_texture_blocks, width, config)
        self.shape_conv = ConvUnit(width, width, 3, 1, **kw)
        self.shape_blocks = _blocks(config.n_shape_blocks, width, config)

    def forward(self, x):
        x = self.blocks(self.conv_down(self.conv_in(x)))
        texture = self.texture_blocks(self.texture_down(x))
        shape = self.shape_blocks(self.shape_conv(x))
        return texture, shape


class Manipulator(nn.Module):
    """``M_a + h(alpha * g(M_b - M_a))`` (or ``M_b + ...`` for the port's weights).

    ``g`` is a 3x3 convolution with ReLU, ``h`` a 3x3 convolution followed by
    residual blocks. Without biases the change is exactly proportional to alpha.
    """

    def __init__(self, config: MagNetConfig):
        super().__init__()
        kw = dict(bias=config.bias, padding_mode=config.padding_mode)
        width = config.channels
        self.mode = config.manipulator
        self.g = ConvUnit(width, width, 3, relu=True, **kw)
        self.h_conv = ConvUnit(width, width, 3, relu=False, **kw)
        self.h_blocks = _blocks(config.n_manipulator_blocks, width, config)

    def change(self, difference, alpha):
        """``h(alpha * g(difference))``; alpha a number or a tensor broadcasting to ``(n, 1, 1, 1)``."""
        return self.h_blocks(self.h_conv(self.g(difference) * alpha))

    def forward(self, shape_a, shape_b, alpha):
        base = shape_a if self.mode == "paper" else shape_b
        return base + self.change(shape_b - shape_a, alpha)


class Decoder(nn.Module):
    """Texture ``(n, C, h/4, w/4)`` and shape ``(n, C, h/2, w/2)`` -> frame ``(n, c, h, w)``."""

    def __init__(self, config: MagNetConfig):
        super().__init__()
        kw = dict(bias=config.bias, padding_mode=config.padding_mode)
        width = 2 * config.channels
        self.blocks = _blocks(config.n_decoder_blocks, width, config)
        self.conv_up = ConvUnit(width, config.channels, 3, relu=True, **kw)
        self.conv_out = ConvUnit(config.channels, config.in_channels, 7, relu=False, **kw)

    def forward(self, texture, shape):
        texture = nn.functional.interpolate(texture, size=shape.shape[-2:], mode="nearest")
        x = self.blocks(torch.cat([texture, shape], 1))
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv_out(self.conv_up(x))


class MagNet(nn.Module):
    """Learning-based motion magnification network.

    Parameters
    ----------
    config : MagNetConfig, optional
        Sizes; the published network by default (:meth:`MagNetConfig.published`).

    Frame height and width must be multiples of 4 (:func:`vismic.magnify.magnify`
    pads them). ``forward(frame_a, frame_b, alpha)`` magnifies the motion from
    ``frame_a`` to ``frame_b`` by ``alpha`` and keeps the texture of ``frame_b``.
    """

    def __init__(self, config: MagNetConfig | None = None):
        super().__init__()
        self.config = MagNetConfig.published() if config is None else config
        self.encoder = Encoder(self.config)
        self.manipulator = Manipulator(self.config)
        self.decoder = Decoder(self.config)

    def encode(self, frames):
        return self.encoder(frames)

    def decode(self, texture, shape):
        return self.decoder(texture, shape)

    def forward(self, frame_a, frame_b, alpha):
        _, shape_a = self.encoder(frame_a)
        texture_b, shape_b = self.encoder(frame_b)
        return self.decoder(texture_b, self.manipulator(shape_a, shape_b, _as_alpha(alpha, frame_b)))

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def __repr__(self) -> str:
        # short, so that stages holding a model print readably; print(model.encoder) shows layers
        return f"MagNet({self.config!r})"


def _as_alpha(alpha, like):
    if torch.is_tensor(alpha):
        alpha = alpha.to(like)
        if alpha.ndim == 1:
            alpha = alpha.view(-1, 1, 1, 1)
        return alpha
    return float(alpha)
