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

from ..errors import ParameterError
from ._config import MagNetConfig

__all__ = ["MagNet", "MagNetConfig", "ConvUnit", "ResBlock", "Encoder", "Manipulator", "Decoder", "InferenceNet",
           "PRECISIONS", "upsample_conv_weight"]


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


# -- inference ------------------------------------------------------------------
#: Precisions of :class:`InferenceNet`: ``"float32"`` everywhere, or the encoder in
#: float32 and the manipulator and decoder in bfloat16 (``"mixed"``), or bfloat16
#: everywhere but the input and output convolutions (``"bfloat16"``).
PRECISIONS = ("float32", "mixed", "bfloat16")

_BLOCK = 4  # pixel block of the last convolution in bfloat16 (frame sizes are multiples of 4)
_PAD_MODES = {"reflect": "reflect", "zeros": "constant", "replicate": "replicate"}
# nearest 2x upsampling then padding by 1 equals padding by 1 at low resolution then upsampling
_LOW_RES_PAD = {"reflect": "replicate", "zeros": "constant", "replicate": "replicate"}


def _fused_available() -> bool:
    """oneDNN's fused convolutions (PyTorch >= 2.0 CPU builds; private ops, so looked up defensively)."""
    try:
        return torch.backends.mkldnn.is_available() and callable(torch.ops.mkldnn._convolution_pointwise)
    except (AttributeError, RuntimeError):
        return False


def upsample_conv_weight(weight):
    """3x3 kernel applied after nearest 2x upsampling -> 4x4 kernel of the equivalent stride-2 transposed conv.

    ``conv3x3(pad1(upsample2(x)))`` equals ``conv_transpose2d(pad1'(x), K, stride=2,
    padding=3)`` where ``pad1'`` is the matching low-resolution padding
    (reflect becomes replicate): each output pixel sees only 2x2 distinct input
    pixels, so the transposed convolution does 16 instead of 36 multiplications
    per input pixel and never builds the upsampled tensor.

    Parameters
    ----------
    weight : torch.Tensor [shape=(out, in, 3, 3)]

    Returns
    -------
    torch.Tensor [shape=(in, out, 4, 4)]
    """
    w = weight.transpose(0, 1)

    def fold(t, axis):
        a, b, c = t.unbind(axis)
        return torch.stack([c, b + c, a + b, a], axis)

    return fold(fold(w, 2), 3)


def space_to_depth_weight(weight, block=4):
    """Kernel of a 'valid' convolution -> kernel of the same convolution on ``pixel_unshuffle(x, block)``.

    A convolution with few output channels (the decoder's last, 32 -> 1)
    leaves most of oneDNN's vector lanes idle; on ``block x block`` blocks of
    pixels it has ``block**2`` times the output channels and a kernel of
    ``ceil((k - 1) / block) + 1`` blocks. Output channel ``o * block**2 + p``
    holds output pixel ``p`` (row-major in the block) of channel ``o``, which
    ``pixel_shuffle`` puts back.

    Parameters
    ----------
    weight : torch.Tensor [shape=(out, in, k, k)]

    Returns
    -------
    torch.Tensor [shape=(out * block**2, in * block**2, m, m)]
    """
    n_out, n_in, k, _ = weight.shape
    m = (block - 1 + k - 1) // block + 1
    out = weight.new_zeros(n_out, block, block, n_in, block, block, m, m)
    for py in range(block):
        for px in range(block):
            for dy in range(k):
                by, sy = divmod(py + dy, block)
                for dx in range(k):
                    bx, sx = divmod(px + dx, block)
                    out[:, py, px, :, sy, sx, by, bx] = weight[:, :, dy, dx]
    return out.reshape(n_out * block * block, n_in * block * block, m, m)


class InferenceNet:
    """A MagNet's weights prepared for inference: the same function, fewer passes over memory.

    On CPUs with oneDNN: channels-last tensors, convolutions fused with their
    ReLU or residual sum, the decoder's nearest upsampling and 3x3 convolution
    as one stride-2 transposed convolution (:func:`upsample_conv_weight`), and
    optionally bfloat16 (see :data:`PRECISIONS`). Elsewhere (CUDA, no oneDNN)
    the model's own layers in float32. Outputs equal the model's to float
    rounding in float32 (about 1e-5 of the [-1, 1] range).

    Parameters
    ----------
    model : MagNet
    precision : str
        One of :data:`PRECISIONS`.
    fused : bool
        Use oneDNN's fused convolutions and the folded upsampling (CPU only).
    channels_last : bool
        NHWC tensors for the fused path.

    Examples
    --------
    >>> import torch
    >>> from vismic.magnify import InferenceNet, MagNet, MagNetConfig
    >>> net = InferenceNet(MagNet(MagNetConfig.light()).eval())
    >>> frames = torch.zeros(2, 1, 32, 48)
    >>> with torch.inference_mode():
    ...     texture, shape = net.encode(frames)
    ...     out = net.decode(texture, shape + net.change(shape - shape[:1], 10.0))
    >>> tuple(out.shape)
    (2, 1, 32, 48)
    """

    def __init__(self, model, *, precision="float32", fused=True, channels_last=True):
        if precision not in PRECISIONS:
            raise ParameterError(f"precision must be one of {PRECISIONS}, given precision={precision!r}")
        self.model = model
        self.config = model.config
        self.precision = precision
        weight = next(model.parameters())
        self.device = weight.device
        self.fused = bool(fused) and self.device.type == "cpu" and _fused_available()
        if not self.fused and precision != "float32":
            raise ParameterError(f"precision={precision!r} needs the fused CPU path (oneDNN, device 'cpu'); "
                                 f"use precision='float32'")
        self.memory_format = torch.channels_last if (channels_last and self.fused) else torch.contiguous_format
        low = torch.bfloat16 if precision in ("mixed", "bfloat16") else torch.float32
        self.encoder_dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
        self.decoder_dtype = low
        if self.fused:
            self._prepare()

    def __repr__(self) -> str:
        return f"InferenceNet({self.model!r}, precision={self.precision!r}, fused={self.fused})"

    # -- weights ----------------------------------------------------------------
    def _prepare(self):
        model = self.model
        encoder_units = [m for m in model.encoder.modules() if isinstance(m, ConvUnit)]
        decoder_units = [m for m in model.manipulator.modules() if isinstance(m, ConvUnit)]
        decoder_units += [m for m in model.decoder.modules() if isinstance(m, ConvUnit)]
        self._weights = {}
        for units, dtype in ((encoder_units, self.encoder_dtype), (decoder_units, self.decoder_dtype)):
            for unit in units:
                self._weights[unit] = self._convert(unit.conv.weight, dtype), self._convert(unit.conv.bias, dtype)
        # the first convolution sees the image itself: float32 keeps sub-grey-level detail
        for unit in (model.encoder.conv_in,):
            self._weights[unit] = self._convert(unit.conv.weight, torch.float32), self._convert(unit.conv.bias,
                                                                                               torch.float32)
        if self.decoder_dtype == torch.bfloat16:
            out = model.decoder.conv_out.conv
            bias = None if out.bias is None else out.bias.repeat_interleave(_BLOCK * _BLOCK)
            self._out_weight = self._convert(space_to_depth_weight(out.weight, _BLOCK), torch.bfloat16)
            self._out_bias = self._convert(bias, torch.bfloat16)
        up = model.decoder.conv_up.conv
        self._up_weight = self._convert(upsample_conv_weight(up.weight), self.decoder_dtype)
        self._up_bias = self._convert(up.bias, self.decoder_dtype)

    def _convert(self, tensor, dtype):
        if tensor is None:
            return None
        tensor = tensor.detach().to(dtype)
        return tensor.contiguous(memory_format=self.memory_format) if tensor.ndim == 4 else tensor.contiguous()

    def _as_input(self, x, dtype):
        return x.to(dtype=dtype, memory_format=self.memory_format)

    def _conv(self, unit, x, residual=None):
        weight, bias = self._weights[unit]
        conv = unit.conv
        pad = conv.padding[0]
        x = self._as_input(x, weight.dtype)
        if pad:
            x = nn.functional.pad(x, (pad,) * 4, mode=_PAD_MODES[self.config.padding_mode])
        stride = list(conv.stride)
        if residual is None:
            return torch.ops.mkldnn._convolution_pointwise(
                x, weight, bias, [0, 0], stride, [1, 1], 1, "relu" if unit.relu else "none", [], "")
        residual = self._as_input(residual, weight.dtype)
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, residual, weight, bias, [0, 0], stride, [1, 1], 1, "add", 1.0, None, [], None)

    def _blocks(self, blocks, x):
        for block in blocks:
            x = self._conv(block.conv2, self._conv(block.conv1, x), residual=x)
        return x

    # -- the three parts --------------------------------------------------------
    def encode(self, frames):
        """Frames ``(n, c, h, w)`` in [-1, 1] -> texture and shape codes (float32 or bfloat16)."""
        if not self.fused:
            return self.model.encoder(frames)
        encoder = self.model.encoder
        x = self._conv(encoder.conv_in, frames.to(torch.float32))
        x = self._blocks(encoder.blocks, self._conv(encoder.conv_down, x))
        texture = self._blocks(encoder.texture_blocks, self._conv(encoder.texture_down, x))
        shape = self._blocks(encoder.shape_blocks, self._conv(encoder.shape_conv, x))
        return texture, shape

    def change(self, difference, alpha):
        """The manipulator's ``h(alpha * g(difference))``."""
        if not self.fused:
            return self.model.manipulator.change(difference, alpha)
        manipulator = self.model.manipulator
        x = self._conv(manipulator.g, difference) * alpha
        return self._blocks(manipulator.h_blocks, self._conv(manipulator.h_conv, x))

    def decode(self, texture, shape):
        """Texture and (manipulated) shape codes -> frames ``(n, c, h, w)``, float32."""
        if not self.fused:
            return self.model.decoder(texture, shape)
        decoder = self.model.decoder
        dtype = self.decoder_dtype
        texture = nn.functional.interpolate(self._as_input(texture, dtype), size=shape.shape[-2:], mode="nearest")
        x = self._blocks(decoder.blocks, torch.cat([texture, self._as_input(shape, dtype)], 1))
        x = nn.functional.pad(x, (1,) * 4, mode=_LOW_RES_PAD[self.config.padding_mode])
        x = nn.functional.conv_transpose2d(x, self._up_weight, self._up_bias, stride=2, padding=3)
        x = torch.relu_(x)
        if dtype == torch.float32:
            x = self._conv(decoder.conv_out, x)
        else:
            x = self._conv_out_blocks(x)
        return x.to(torch.float32, memory_format=torch.contiguous_format)

    def _conv_out_blocks(self, x):
        """The last 7x7 convolution on 4x4 blocks of pixels (:func:`space_to_depth_weight`)."""
        pad = self.model.decoder.conv_out.conv.padding[0]
        height, width = x.shape[-2:]
        x = nn.functional.pad(x, (pad,) * 4, mode=_PAD_MODES[self.config.padding_mode])
        blocks = self._out_weight.shape[-1]
        x = nn.functional.pad(x, (0, _BLOCK * (width // _BLOCK + blocks - 1) - width - 2 * pad,
                                  0, _BLOCK * (height // _BLOCK + blocks - 1) - height - 2 * pad))
        x = nn.functional.pixel_unshuffle(x, _BLOCK).contiguous(memory_format=self.memory_format)
        x = torch.ops.mkldnn._convolution_pointwise(
            x, self._out_weight, self._out_bias, [0, 0], [1, 1], [1, 1], 1, "none", [], "")
        return nn.functional.pixel_shuffle(x, _BLOCK)
