"""Magnifying videos with a MagNet: :func:`magnify` (frames in, frames out) and the :class:`Magnify` stage.

Modes (Oh et al. 2018, section 4):

``static``
    Motion relative to the first frame: ``out[t] = MagNet(frame[0], frame[t], alpha)``.
``dynamic``
    Motion between consecutive frames: ``out[t] = MagNet(frame[t-1], frame[t], alpha)``.
``temporal``
    The shape code is band-passed over time (``fl_hz``-``fh_hz`` at capture
    rate ``fps``) and the band ``F`` is magnified:
    ``shape_out = shape - F + h(alpha * g(F))``; the filters are causal
    (Butterworth ``"butter"``, windowed ``"fir"`` or difference of first-order
    low-passes ``"diff_iir"``), so streaming in batches gives the same result
    as the whole video at once.

Grayscale models (``in_channels=1``, the shipped one) magnify each channel of
RGB frames separately (``color="channels"``), or only the luma, whose change is
added to every channel (``color="luma"``: 3x faster, less faithful); RGB models
(the published network and the public port's weights) see grayscale frames as
three equal channels and return their mean. RGB frames are expected in RGB
order (convert OpenCV's BGR first).

The network runs through :class:`~vismic.magnify.InferenceNet` (fused oneDNN
convolutions, channels-last, bfloat16 after the encoder where the CPU has it:
``precision=``), one 256x256 frame per call on the CPU unless ``batch_size``
says otherwise; the output does not depend on the batch size.
"""

from __future__ import annotations

import functools
import math
import threading
import warnings

import numpy as np

from .._checks import (check_choice, check_data, check_finite_frames, check_int, check_positive, check_positive_int,
                       check_rate)
from ..data import FrameBatch
from ..errors import FrameShapeError, ParameterError, VismicWarning
from ..pipeline import Stage
from ._scale import UPSCALES, Upscaled, check_upscale, choose_upscale
from ._weights import load_model, require_torch, shipped_path

__all__ = ["magnify", "Magnify", "MODES", "FILTERS", "COLORS", "PRECISIONS", "ENSEMBLES", "MAX_ALPHA", "UPSCALES"]

MODES = ("static", "dynamic", "temporal")
FILTERS = ("butter", "fir", "diff_iir")
PRECISIONS = ("auto", "float32", "mixed", "bfloat16")
COLORS = ("channels", "luma")
#: Above this factor a VismicWarning says that blur and artefacts grow.
MAX_ALPHA = 100.0

#: Pixels per network call when ``batch_size=None`` (CPU, CUDA): on the CPU one 256x256
#: frame at a time is fastest (larger batches leave the caches), a GPU wants many.
_BATCH_PIXELS = (1 << 16, 1 << 22)
#: Luma weights of RGB (ITU-R BT.601).
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_cache_lock = threading.Lock()
_default_models = {}


# -- argument checks ------------------------------------------------------------
def _check_alpha(alpha) -> float:
    alpha = check_positive(alpha, "alpha")
    if alpha > MAX_ALPHA:
        warnings.warn(f"alpha={alpha:g} is above {MAX_ALPHA:g}: blur and artefacts grow with the factor",
                      VismicWarning, stacklevel=3)
    return alpha


def _check_mode(mode, fl_hz, fh_hz, fps, filter):
    check_choice(mode, "mode", MODES)
    if mode != "temporal":
        return None
    check_choice(filter, "filter", FILTERS)
    values = {"fl_hz": fl_hz, "fh_hz": fh_hz, "fps": fps}
    for name, value in values.items():
        if value is None:
            raise ParameterError(f"mode='temporal' needs fl_hz, fh_hz and fps; {name} is missing")
    fl_hz, fh_hz, fps = (check_rate(value, name) for name, value in values.items())
    if not fl_hz < fh_hz < fps / 2:
        raise ParameterError(
            f"need 0 < fl_hz < fh_hz < fps / 2, given fl_hz={fl_hz!r}, fh_hz={fh_hz!r}, fps={fps!r}")
    return fl_hz, fh_hz, fps


def _check_tile(tile):
    if tile is None:
        return None
    tile = check_int(tile, "tile", minimum=32)
    return tile - tile % 4


def _value_range(frames, value_range):
    if value_range is not None:
        low, high = (float(v) for v in value_range)
        if not high > low:
            raise ParameterError(f"value_range must be (low, high) with high > low, given {value_range!r}")
        return low, high
    if frames.dtype == np.uint8:
        return 0.0, 255.0
    if frames.dtype == np.uint16:
        return 0.0, 65535.0
    if np.issubdtype(frames.dtype, np.floating) or np.issubdtype(frames.dtype, np.integer):
        return 0.0, _white_level(frames)
    raise ParameterError(f"frames must hold numbers, given dtype={frames.dtype}")


#: The white levels of the bit depths cameras record beyond 8 bits (10, 12, 14 and 16).
WIDE_WHITE_LEVELS = (1023.0, 4095.0, 16383.0, 65535.0)

#: Float frames up to this are taken for 8-bit ones (0-255): frames scaled by their light, or rendered past white.
EIGHT_BIT_UP_TO = 510.0


def _white_level(frames) -> float:
    """The white level of float or wide integer frames: 255 up to :data:`EIGHT_BIT_UP_TO`, else the smallest bit depth's that holds them.

    A 16-bit camera file is read as float32 in its own units (0-65535); taken for 0-255, every
    pixel of it sat at white in the network, and the sound was lost (an estimate of -120 dB for
    24.3; one-off). A wider camera's frames darker than :data:`EIGHT_BIT_UP_TO` are taken for
    8-bit ones: give ``value_range``.
    """
    brightest = float(np.nanmax(frames)) if frames.size else 0.0
    if brightest <= EIGHT_BIT_UP_TO:
        return 255.0
    return next((level for level in WIDE_WHITE_LEVELS if brightest <= level), brightest)


#: The smallest frame side the network runs at: its first layers pad by reflection, which needs more than 4 px.
MIN_SIDE_PX = 5


def _check_network_size(shape, upscale: int) -> None:
    """Refuse frames of ``shape`` (n, height, width[, 3]) that the network, at ``upscale`` times their size, cannot take."""
    side = min(shape[1], shape[2])
    if side * upscale < MIN_SIDE_PX:
        needed = -(-MIN_SIDE_PX // max(side, 1))
        raise FrameShapeError(f"frames of {shape[2]}x{shape[1]} pixels are too small for the network at upscale="
                              f"{upscale} (it runs on at least {MIN_SIDE_PX}x{MIN_SIDE_PX}): give upscale={needed} or "
                              "larger frames")


def _as_frames(frames) -> np.ndarray:
    if isinstance(frames, (list, tuple)):
        shapes = {np.shape(f) for f in frames}
        if len(shapes) > 1:
            raise FrameShapeError(f"all frames must have the same size, given shapes {sorted(shapes)}")
    frames = np.asarray(frames)
    if frames.dtype == object:
        raise FrameShapeError("all frames must have the same size")
    if frames.ndim == 4 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    if not (frames.ndim == 3 or (frames.ndim == 4 and frames.shape[-1] == 3)):
        raise FrameShapeError(
            f"frames must have shape (n, height, width) or (n, height, width, 3), given shape={frames.shape}")
    if frames.shape[0] < 1 or frames.shape[1] < 4 or frames.shape[2] < 4:
        raise FrameShapeError(f"need at least one frame of at least 4x4 pixels, given shape={frames.shape}")
    check_finite_frames(frames)  # NaN pixels came out as grey (127.5), the whole frame when all were NaN
    return frames


def _check_batch_size(batch_size):
    return None if batch_size is None else check_positive_int(batch_size, "batch_size")


def _check_precision(precision, device):
    """``"auto"`` -> ``"mixed"`` on CPUs with native bfloat16 (oneDNN), ``"float32"`` elsewhere."""
    torch = require_torch()
    check_choice(precision, "precision", PRECISIONS)
    low_ok = device.type == "cpu" and torch.backends.mkldnn.is_available() and \
        torch.ops.mkldnn._is_mkldnn_bf16_supported()
    if precision == "auto":
        return "mixed" if low_ok else "float32"
    if precision != "float32" and not low_ok:
        raise ParameterError(f"precision={precision!r} needs a CPU with bfloat16 support (oneDNN) and "
                             f"device='cpu', given device={str(device)!r}; use precision='float32'")
    return precision


def _check_device(device):
    """``device`` as a torch device, 'cpu' or 'cuda[:N]' (mps, xpu and meta ran into torch's tracebacks)."""
    from ..project._torch import torch_device

    require_torch()
    return torch_device(device)


def _get_model(model, device):
    path = shipped_path(model)
    if path is not None:  # the shipped models are loaded once per device
        key = (str(path), str(device))
        with _cache_lock:
            if key not in _default_models:
                _default_models[key] = load_model(path, device=device)
            return _default_models[key]
    return load_model(model, device=device)


# -- temporal filters ---------------------------------------------------------
class _TemporalFilter:
    """Causal band-pass along axis 0 of arrays, with state kept between calls."""

    def __init__(self, kind, fl_hz, fh_hz, fps):
        from scipy import signal

        self.kind = kind
        self.state = None
        if kind == "butter":
            self.sos = signal.butter(2, [fl_hz, fh_hz], btype="bandpass", fs=fps, output="sos")
        elif kind == "fir":
            taps = int(min(63, max(7, round(2 * fps / fl_hz))))
            taps += 1 - taps % 2
            self.b = signal.firwin(taps, [fl_hz, fh_hz], pass_zero=False, fs=fps)
        else:  # difference of first-order IIR low-passes (Wadhwa et al.)
            self.rates = (1 - math.exp(-2 * math.pi * fh_hz / fps), 1 - math.exp(-2 * math.pi * fl_hz / fps))

    def __call__(self, x):
        from scipy import signal

        x = np.asarray(x, dtype=np.float64)
        tail = (slice(None),) + (None,) * (x.ndim - 1)
        if self.kind == "butter":
            if self.state is None:
                self.state = signal.sosfilt_zi(self.sos)[:, :, None] * x[0].reshape(1, 1, -1)
                self.state = self.state.reshape((self.sos.shape[0], 2) + x.shape[1:])
            y, self.state = signal.sosfilt(self.sos, x, axis=0, zi=self.state)
            return y
        if self.kind == "fir":
            if self.state is None:
                self.state = signal.lfilter_zi(self.b, [1.0])[tail] * x[0][None]
            y, self.state = signal.lfilter(self.b, [1.0], x, axis=0, zi=self.state)
            return y
        if self.state is None:
            self.state = [x[0].copy(), x[0].copy()]
        out = np.empty_like(x)
        high, low = self.state
        for t in range(x.shape[0]):
            high += self.rates[0] * (x[t] - high)
            low += self.rates[1] * (x[t] - low)
            out[t] = high - low
        return out


# -- the streaming core -------------------------------------------------------
class _Region:
    """State of one tile (or of the whole frame): reference / previous shape codes, filter state."""

    def __init__(self, temporal):
        self.reference = None
        self.filter = _TemporalFilter(*temporal) if temporal is not None else None


#: Sizes of a geometric self-ensemble (``ensemble=``): the network also sees the frames
#: mirrored (2: left-right; 4: and upside down, and both) and transposed (8), and the
#: outputs, turned back, are averaged: ``ensemble`` times the work.
ENSEMBLES = (1, 2, 4, 8)

#: (mirror rows, mirror columns, transpose) of each member, in the order they join.
_SYMMETRIES = tuple((rows, cols, transpose) for transpose in (False, True)
                    for rows, cols in ((False, False), (False, True), (True, False), (True, True)))


def _check_ensemble(ensemble) -> int:
    if isinstance(ensemble, bool):
        raise ParameterError(f"ensemble must be one of {ENSEMBLES}, given ensemble={ensemble!r}")
    return int(check_choice(ensemble, "ensemble", ENSEMBLES))


def _turned(frames, rows: bool, cols: bool, transpose: bool, *, back: bool = False):
    """Frames ``(n, h, w[, 3])`` mirrored and transposed as a member sees them (``back``: undone)."""
    if transpose and back:
        frames = frames.swapaxes(1, 2)
    if rows:
        frames = frames[:, ::-1]
    if cols:
        frames = frames[:, :, ::-1]
    if transpose and not back:
        frames = frames.swapaxes(1, 2)
    return np.ascontiguousarray(frames)


class _Ensemble:
    """The mean of magnifiers that each see the frames mirrored or transposed, their outputs turned back.

    Each member keeps its own state across chunks (its reference code, its temporal filter).
    """

    def __init__(self, make, frame_shape, size: int):
        self.members = []
        for symmetry in _SYMMETRIES[:size]:
            shape = tuple(frame_shape)
            if symmetry[2]:
                shape = (shape[1], shape[0]) + shape[2:]
            self.members.append((symmetry, make(shape)))

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        total = None
        for symmetry, member in self.members:
            out = _turned(member(_turned(frames, *symmetry)), *symmetry, back=True).astype(np.float64)
            total = out if total is None else total + out
        return total / len(self.members)


def _core(ensemble: int, frame_shape, make, upscale: int = 1):
    """One magnifier for ``frame_shape`` (``make(shape)``), or the mean of ``ensemble`` turned ones.

    With ``upscale=2`` each of them magnifies the frames upsampled 2x (:class:`~vismic.magnify._scale.Upscaled`).
    """
    if upscale == 2:
        make = functools.partial(Upscaled, make)
    return make(tuple(frame_shape)) if ensemble == 1 else _Ensemble(make, frame_shape, ensemble)


class _Magnifier:
    """Magnifies chunks of frames in order, keeping what dynamic and temporal modes need between chunks."""

    def __init__(self, model, *, alpha, mode, temporal, device, batch_size, tile, value_range, frame_shape,
                 precision="float32", color="channels"):
        from ._model import InferenceNet

        self.torch = require_torch()
        self.model = model
        self.engine = InferenceNet(model, precision=precision)
        self.alpha = alpha
        self.mode = mode
        self.temporal = temporal
        self.device = device
        self.low, self.high = value_range
        self.frame_shape = tuple(frame_shape)  # (h, w) or (h, w, 3)
        height, width = self.frame_shape[:2]
        self.padded = (height + (-height) % 4, width + (-width) % 4)
        self.boxes = _tiles(self.padded, tile)
        self.regions = [_Region(temporal) for _ in self.boxes]
        self.windows = [_window(box, self.padded, tile) for box in self.boxes]
        colour = len(self.frame_shape) == 3
        channels = model.config.in_channels
        # a grayscale model magnifies the luma of RGB frames, or each channel as a plane of its own
        self.luma = colour and channels == 1 and color == "luma"
        # planes: independent images per frame fed to the network as batch items
        self.planes = 3 if (colour and channels == 1 and not self.luma) else 1
        self.replicate = (not colour) and channels == 3
        if batch_size is None:
            tile_pixels = max((b[0][1] - b[0][0]) * (b[1][1] - b[1][0]) for b in self.boxes)
            budget = _BATCH_PIXELS[device.type == "cuda"]
            batch_size = max(1, budget // (tile_pixels * self.planes))
        self.batch_size = batch_size

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        if tuple(frames.shape[1:]) != self.frame_shape:
            raise FrameShapeError(
                f"frames changed size: expected {self.frame_shape}, given {tuple(frames.shape[1:])}")
        torch = self.torch
        height, width = self.frame_shape[:2]
        x = (np.asarray(frames, dtype=np.float32) - self.low) * (2.0 / (self.high - self.low)) - 1.0
        if x.ndim == 4:  # (n, h, w, 3) -> (n, 3, h, w)
            x = np.moveaxis(x, -1, 1)
        else:
            x = x[:, None]
        if self.luma:
            rgb = x
            x = np.tensordot(_LUMA, rgb, axes=([0], [1]))[:, None].astype(np.float32)
            luma = x
        pad = ((0, 0), (0, 0), (0, self.padded[0] - height), (0, self.padded[1] - width))
        if any(p[1] for p in pad):
            x = np.pad(x, pad, mode="symmetric")
        out = np.zeros_like(x)
        weight = np.zeros(self.padded, dtype=np.float32)
        for box, region, window in zip(self.boxes, self.regions, self.windows):
            (top, bottom), (left, right) = box
            part = x[:, :, top:bottom, left:right]
            result = np.empty_like(part)
            for start in range(0, part.shape[0], self.batch_size):
                chunk = part[start:start + self.batch_size]
                result[start:start + self.batch_size] = self._run(torch.from_numpy(np.ascontiguousarray(chunk)), region)
            out[:, :, top:bottom, left:right] += result * window
            weight[top:bottom, left:right] += window
        out = out / weight
        out = out[:, :, :height, :width]
        if self.luma:  # the change of luma, added to every channel: chroma rides along unchanged
            out = rgb + (out - luma)
        out = np.moveaxis(out, 1, -1) if len(self.frame_shape) == 3 else out[:, 0]
        return (np.clip(out, -1.0, 1.0) + 1.0) * ((self.high - self.low) / 2.0) + self.low

    def _run(self, chunk, region):
        """Chunk (n, k, h, w) in [-1, 1] -> magnified, same shape."""
        torch = self.torch
        n, k, h, w = chunk.shape
        if self.planes == 3:
            images = chunk.reshape(n * k, 1, h, w)
        elif self.replicate:
            images = chunk.expand(n, 3, h, w)
        else:
            images = chunk
        engine = self.engine
        with torch.inference_mode():
            images = images.to(self.device, torch.float32)
            texture, shape = engine.encode(images)
            # float32 codes: the difference of two nearby codes must not be rounded to bfloat16
            shape = shape.to(torch.float32)
            shape = shape.reshape((n, -1) + tuple(shape.shape[1:]))  # (n, planes, C, h/2, w/2)
            if self.mode == "temporal":
                band = region.filter(shape.cpu().numpy())
                difference = torch.from_numpy(band.astype(np.float32)).to(self.device)
            else:
                if self.mode == "static":
                    if region.reference is None:
                        region.reference = shape[:1].clone()
                    reference = region.reference.expand_as(shape)
                else:
                    previous = shape[:1].clone() if region.reference is None else region.reference
                    reference = torch.cat([previous, shape[:-1]], 0)
                    region.reference = shape[-1:].clone()
                difference = shape - reference
            flat_shape = shape.flatten(0, 1)
            flat_difference = difference.flatten(0, 1)
            magnified = flat_shape + engine.change(flat_difference, self.alpha).to(torch.float32)
            if self.model.manipulator.mode == "paper":
                magnified = magnified - flat_difference
            result = engine.decode(texture, magnified).cpu()
        if self.planes == 3:
            return result.reshape(n, k, h, w).numpy()
        if self.replicate:
            return result.mean(1, keepdim=True).numpy()
        return result.numpy()


def _tiles(padded, tile):
    def spans(size):
        if tile is None or size <= tile:
            return [(0, size)]
        overlap = max(8, (tile // 4) - (tile // 4) % 4)
        starts = list(range(0, size - tile, tile - overlap)) + [size - tile]
        return [(s, s + tile) for s in sorted(set(starts))]

    return [(rows, cols) for rows in spans(padded[0]) for cols in spans(padded[1])]


def _window(box, padded, tile):
    """Blending weights of a tile: linear ramps where it overlaps a neighbour, 1 elsewhere."""
    ramps = []
    for (start, stop), size in zip(box, padded):
        length = stop - start
        ramp = np.ones(length, dtype=np.float32)
        if tile is not None and size > tile:
            overlap = max(8, (tile // 4) - (tile // 4) % 4)
            rise = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
            if start > 0:
                ramp[:overlap] = np.minimum(ramp[:overlap], rise)
            if stop < size:
                ramp[-overlap:] = np.minimum(ramp[-overlap:], rise[::-1])
        ramps.append(ramp)
    return np.outer(ramps[0], ramps[1])


# -- public API ---------------------------------------------------------------
def magnify(frames, *, alpha, mode="static", fl_hz=None, fh_hz=None, fps=None, filter="butter", model=None,
            device="cpu", batch_size=None, tile=None, value_range=None, precision="auto", color="channels",
            ensemble=1, upscale=1):
    """Magnify small motions in a video with MagNet.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width) or (n, height, width, 3)]
        Grayscale or RGB (RGB order) frames; uint8, uint16 or float grey levels.
    alpha : float
        Magnification factor, > 0; above 100 a :class:`~vismic.errors.VismicWarning`.
    mode : {"static", "dynamic", "temporal"}
        See the module documentation.
    fl_hz, fh_hz, fps : float
        Pass band and capture rate of the temporal mode.
    filter : {"butter", "fir", "diff_iir"}
        Temporal filter.
    model : None, str, path, dict or MagNet
        Weights (:func:`~vismic.magnify.load_model`): the shipped ``"published"``
        model by default, ``"light"`` the faster shipped one, or a file.
    device : str
        ``"cpu"`` or ``"cuda"``...
    batch_size : int, optional
        Frames per network call; by default as many as make 65,536 pixels on the
        CPU (one 256x256 frame: the fastest there) and 4 M pixels on a GPU. The
        output does not depend on it.
    tile : int, optional
        Process frames in tiles of this size (with overlap and blending) to bound memory.
    value_range : (low, high), optional
        Range of the grey levels: (0, 255) for uint8, (0, 65535) for uint16; for floats and other
        integers (0, 255) where they stay within 510, else from 0 to the white level of the
        smallest bit depth that holds them (10, 12, 14 or 16 bits: 1023, 4095, 16383, 65535).
    precision : {"auto", "float32", "mixed", "bfloat16"}
        Arithmetic of the network. ``"mixed"``: the encoder in float32 (the
        difference of two nearby shape codes must not be rounded), the
        manipulator and decoder in bfloat16; 2.2x faster than ``"float32"`` on
        CPUs with native bfloat16, outputs within 0.1 grey level on average and
        SSIM within 1e-4. ``"bfloat16"`` rounds the encoder too (faster again,
        0.5 grey level at 0.04 px motions). ``"auto"``: ``"mixed"`` where the
        CPU has bfloat16 (oneDNN), ``"float32"`` elsewhere (and on GPUs).
    color : {"channels", "luma"}
        RGB frames and a grayscale model (the shipped one): magnify each
        channel separately, or only the luma (ITU-R BT.601) and add its change
        to every channel: a third of the work, but coloured edges keep still
        and SSIM on colour photographs drops by 0.02-0.05 (docs/magnet.md).
    ensemble : {1, 2, 4, 8}
        Geometric self-ensemble: also magnify the frames mirrored (2: left-right;
        4: and upside down, and both) and transposed (8), turn the outputs back
        and average them. ``ensemble`` times the work; on photographs never
        trained on, 4 raises the median SSIM at every noise level and takes the
        median at noise 0 past phase-based magnification (docs/magnet.md,
        ``bench_magnify.py --issue-only --ensemble 4``).
    upscale : {1, 2, "auto"}
        Magnify the frames upsampled 2x (bicubic) and average the output back over
        2x2 pixels: fine texture the network otherwise blurs keeps its detail, at 4x
        the work. The magnified motion doubles with it, so it helps only while twice
        ``alpha`` times the motion stays within what the model was trained on, and
        the upsampled noise is correlated, which the network never saw. ``"auto"``
        measures both on the frames and chooses (:func:`choose_upscale`). A ``tile``
        counts pixels of the upsampled frames.

    Returns
    -------
    np.ndarray
        Magnified frames with the input's shape and dtype.

    Examples
    --------
    >>> from vismic.magnify import magnify
    >>> out = magnify(frames, alpha=10)  # doctest: +SKIP
    """
    alpha = _check_alpha(alpha)
    temporal = _check_mode(mode, fl_hz, fh_hz, fps, filter)
    temporal = None if temporal is None else (filter,) + temporal
    batch_size = _check_batch_size(batch_size)
    tile = _check_tile(tile)
    check_choice(color, "color", COLORS)
    frames = _as_frames(frames)
    low_high = _value_range(frames, value_range)
    device = _check_device(device)
    precision = _check_precision(precision, device)
    ensemble = _check_ensemble(ensemble)
    upscale = check_upscale(upscale)
    network = _get_model(model, device)
    if upscale == "auto":
        upscale = choose_upscale(frames, alpha=alpha, model=network, mode=mode, value_range=low_high).factor
    _check_network_size(frames.shape, upscale)
    core = _core(ensemble, frames.shape[1:], lambda shape: _Magnifier(
        network, alpha=alpha, mode=mode, temporal=temporal, device=device, batch_size=batch_size, tile=tile,
        value_range=low_high, frame_shape=shape, precision=precision, color=color), upscale)
    out = core(frames)
    if np.issubdtype(frames.dtype, np.integer):
        return np.round(out).astype(frames.dtype)
    return out.astype(frames.dtype if np.issubdtype(frames.dtype, np.floating) else np.float64)


class Magnify(Stage):
    """Streaming stage: MagNet motion magnification of :class:`~vismic.data.FrameBatch` es.

    Place it before the decomposition. State (the reference frame's shape code,
    the previous frame's, the temporal filter) is kept across batches until
    :meth:`reset`. The capture rate of the temporal mode is the batches' ``fps``.
    Parameters are those of :func:`magnify`; the grey levels' range, unless given, is
    :func:`magnify`'s for the first batch and kept; ``upscale="auto"`` chooses on the
    first batch (:attr:`upscale_choice_` says what it measured), so give it a
    batch that shows the motion, or choose with :func:`choose_upscale` on frames
    of your own choosing and pass the factor.

    Examples
    --------
    >>> from vismic.magnify import Magnify
    >>> stage = Magnify(alpha=20, mode="temporal", fl_hz=100, fh_hz=500)
    """

    streaming = True

    def __init__(self, alpha=10.0, mode="static", fl_hz=None, fh_hz=None, filter="butter", model=None,
                 device="cpu", batch_size=None, tile=None, value_range=None, precision="auto",
                 color="channels", ensemble=1, upscale=1):
        self.alpha = alpha
        self.mode = mode
        self.fl_hz = fl_hz
        self.fh_hz = fh_hz
        self.filter = filter
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.tile = tile
        self.value_range = value_range
        self.precision = precision
        self.color = color
        self.ensemble = ensemble
        self.upscale = upscale
        self._core = None
        self.upscale_choice_ = None

    def reset(self) -> None:
        self._core = None
        self.upscale_choice_ = None

    def transform(self, batch: FrameBatch) -> FrameBatch:
        check_data(batch, FrameBatch, "Magnify")
        if self._core is None:
            alpha = _check_alpha(self.alpha)
            temporal = _check_mode(self.mode, self.fl_hz, self.fh_hz, batch.fps, self.filter)
            temporal = None if temporal is None else (self.filter,) + temporal
            device = _check_device(self.device)
            low_high = _value_range(batch.frames, self.value_range)
            check_choice(self.color, "color", COLORS)
            network = _get_model(self.model, device)
            batch_size, tile = _check_batch_size(self.batch_size), _check_tile(self.tile)
            precision = _check_precision(self.precision, device)
            ensemble, upscale = _check_ensemble(self.ensemble), check_upscale(self.upscale)
            if upscale == "auto":
                self.upscale_choice_ = choose_upscale(batch.frames, alpha=alpha, model=network, mode=self.mode,
                                                      value_range=low_high)
                upscale = self.upscale_choice_.factor
            _check_network_size(batch.frames.shape, upscale)
            self._core = _core(ensemble, batch.frames.shape[1:], lambda shape: _Magnifier(
                network, alpha=alpha, mode=self.mode, temporal=temporal, device=device, batch_size=batch_size,
                tile=tile, value_range=low_high, frame_shape=shape, precision=precision, color=self.color), upscale)
        frames = self._core(batch.frames)
        return FrameBatch(frames.astype(batch.frames.dtype, copy=False), batch.start, batch.fps)
