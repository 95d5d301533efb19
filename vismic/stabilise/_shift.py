"""Exact sub-pixel translation of frames and their spectral gradient (cosine series).

A frame of ``N`` samples per axis is read as the band-limited image through
its samples after a half-sample symmetric extension (the cosine series of its
DCT-II). It is periodic *and continuous*, so a shift leaves no wrap-around
edge: the ``|s|`` px that enter at one side are the mirror image of the
border. Shifting by ``s`` turns each term ``cos(A)`` into
``cos(A - B) = cos A cos B + sin A sin B`` with ``B = pi k s / N``: one inverse
DCT and one inverse DST per axis, exact to rounding for any shift.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .._checks import check_int
from .._cores import map_on_cores
from ..errors import FrameShapeError, ParameterError

__all__ = ["shift_frames", "shift_frames_over", "shift_frames_into", "spectral_gradient"]


#: Bytes of frames worked on at a time: the temporaries stay in the cache and in memory the allocator
#: keeps, instead of fresh pages the kernel must clear for every batch.
CHUNK_BYTES = 1 << 21


def chunk_frames(frame_shape, itemsize: int) -> int:
    """Frames of ``frame_shape`` and ``itemsize`` bytes a pixel that fill :data:`CHUNK_BYTES` (at least 1)."""
    return max(1, CHUNK_BYTES // max(1, int(np.prod(frame_shape)) * int(itemsize)))


def _shift_axis(frames: np.ndarray, shifts_px: np.ndarray, axis: int) -> np.ndarray:
    """Each frame of an ``(n, h, w)`` stack moved by ``shifts_px[i]`` along ``axis`` (1 or 2), in its own dtype."""
    length = frames.shape[axis]
    coefficients = scipy.fft.dct(frames, type=2, axis=axis)
    angles = np.pi * shifts_px[:, None] * np.arange(length)[None, :] / length
    shape = [frames.shape[0], 1, 1]
    shape[axis] = length
    dtype = coefficients.dtype
    sines = np.sin(angles).astype(dtype).reshape(shape)
    # The inverse DST-II starts at frequency 1: the sine terms move down by one (sin(0) drops out).
    head, tail = [slice(None)] * 3, [slice(None)] * 3
    head[axis], tail[axis] = slice(None, -1), slice(1, None)
    moved = np.empty_like(coefficients)
    np.multiply(coefficients[tuple(tail)], sines[tuple(tail)], out=moved[tuple(head)])
    last = [slice(None)] * 3
    last[axis] = slice(-1, None)
    moved[tuple(last)] = 0.0
    coefficients *= np.cos(angles).astype(dtype).reshape(shape)
    out = scipy.fft.idct(coefficients, type=2, axis=axis, overwrite_x=True)
    out += scipy.fft.idst(moved, type=2, axis=axis, overwrite_x=True)
    return out


def shift_frames(frames, shifts_x_px, shifts_y_px, *, threads=None, out=None) -> np.ndarray:
    """Frames moved by sub-pixel shifts: ``out[i](x, y) = frames[i](x - shifts_x_px[i], y - shifts_y_px[i])``.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
    shifts_x_px, shifts_y_px : np.ndarray [shape=(n,)]
        Shifts in px (x right, y down); content moves by ``+shift``.
    threads : int, optional
        Threads shifting chunks of frames side by side (default: one per core this process may
        use); the result is the same with any number.
    out : np.ndarray, optional
        Where to write the result (the shape of ``frames``, the dtype returned); it must not
        overlap ``frames``.

    Returns
    -------
    np.ndarray [shape=(n, height, width)]
        float32 for float32 frames (twice as fast; rounding ~1e-5 grey levels) and for integer
        frames shifted into a float32 ``out``, else float64.

    Examples
    --------
    >>> frames = np.random.default_rng(0).uniform(0, 255, (2, 16, 16))
    >>> moved = shift_frames(frames, np.array([1.0, 0.0]), np.array([0.0, -2.0]))
    >>> bool(np.allclose(moved[0][:, 1:], frames[0][:, :-1]) and np.allclose(moved[1][:-2], frames[1][2:]))
    True
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    dtype = np.float32 if frames.dtype == np.float32 else np.float64
    if out is not None and np.issubdtype(frames.dtype, np.integer) and out.dtype in (np.float32, np.float64):
        dtype = out.dtype  # 8- and 16-bit frames are exact in float32
    shifts_x_px = np.asarray(shifts_x_px, dtype=np.float64).reshape(-1)
    shifts_y_px = np.asarray(shifts_y_px, dtype=np.float64).reshape(-1)
    _check_shifts(shifts_x_px, shifts_y_px, frames.shape[0])
    if threads is not None:
        threads = check_int(threads, "threads", minimum=1)
    if out is None:
        out = np.empty(frames.shape, dtype=dtype)
    elif out.shape != frames.shape or out.dtype != dtype:
        raise ParameterError(f"out must be a {np.dtype(dtype).name} array of shape {frames.shape}, "
                             f"given {out.dtype.name} {out.shape}")
    step = chunk_frames(frames.shape[1:], np.dtype(dtype).itemsize)
    starts = range(0, frames.shape[0], step)
    move_y, move_x = bool(np.any(shifts_y_px)), bool(np.any(shifts_x_px))  # for every chunk alike

    def shift_chunk(start):
        part = slice(start, start + step)
        piece = frames[part].astype(dtype, copy=False)
        if move_y:
            piece = _shift_axis(piece, shifts_y_px[part], axis=1)
        if move_x:
            piece = _shift_axis(piece, shifts_x_px[part], axis=2)
        out[part] = piece

    # a few frames at a time, on a thread per core (the transforms and numpy's products release the GIL):
    # each frame's transforms are its own, so the result does not depend on the step or the threads
    map_on_cores(shift_chunk, starts, threads=threads)
    return out


#: Px of the reference beyond the largest shift that :func:`shift_frames_over` puts around the frames.
OVER_MARGIN_PX = 4


def shift_frames_over(frames, shifts_x_px, shifts_y_px, reference, *, threads=None, out=None) -> np.ndarray:
    """Frames moved by sub-pixel shifts, with what enters from beyond each frame taken from ``reference``.

    :func:`shift_frames` extends a frame by its mirror image: the ``|s|`` px that
    enter at a side are that reflection, and since the scene past a camera's borders is
    not, the shift's band-limited interpolation also errs a few px inside the frame
    (in step with the shift). Here each frame is first set into ``reference`` moved
    to it (by ``-s``, with the shift itself; the reference is extended by its own mirror
    image), the whole moved back by ``s`` and cut to the frame. Where the reference
    matches the scene, the entering strips hold the reference and the frame's content
    meets no edge on that side; the side the content leaves still has its edge, ``|s|``
    px beyond the output.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
    shifts_x_px, shifts_y_px : np.ndarray [shape=(n,)]
        As :func:`shift_frames`: content moves by ``+shift``.
    reference : np.ndarray [shape=(height, width)]
        The scene where the shifted frames lie (a stabiliser's static reference).
    threads, out
        As :func:`shift_frames`.

    Returns
    -------
    np.ndarray [shape=(n, height, width)]
        In :func:`shift_frames`' dtype. Twice its work, on frames larger by the largest
        shift plus :data:`OVER_MARGIN_PX` along each side that moves.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scene = rng.uniform(0, 255, (24, 40))
    >>> frames = scene[None, 4:20, 4:36] + np.zeros((1, 1, 1))
    >>> moved = shift_frames_over(frames, np.array([3.0]), np.array([0.0]), scene[4:20, 1:33])
    >>> bool(np.allclose(moved[0][:, :3], scene[4:20, 1:4], atol=1e-6) and np.allclose(moved[0][:, 3:], frames[0][:, :-3]))
    True
    """
    frames = np.asarray(frames)
    reference = np.asarray(reference)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    if reference.shape != frames.shape[1:]:
        raise ParameterError(f"reference must be one frame's shape {frames.shape[1:]}, given {reference.shape}")
    return shift_frames_into(frames, shifts_x_px, shifts_y_px, reference, 0, threads=threads, out=out)


def shift_frames_into(frames, shifts_x_px, shifts_y_px, canvas, margin_px: int, *, threads=None,
                      out=None) -> np.ndarray:
    """:func:`shift_frames_over` with a reference that reaches ``margin_px`` past the frame's sides.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
    shifts_x_px, shifts_y_px : np.ndarray [shape=(n,)]
        As :func:`shift_frames`: content moves by ``+shift``.
    canvas : np.ndarray [shape=(height + 2 margin_px, width + 2 margin_px)]
        The scene where the shifted frames lie, the frame's area ``margin_px`` in from each
        side (a stabiliser's mosaic: what frames moved elsewhere saw past the reference's
        sides). Where a shift needs more, the canvas is extended by its mirror image.
    margin_px : int
    threads, out
        As :func:`shift_frames`.

    Returns
    -------
    np.ndarray [shape=(n, height, width)]
        In :func:`shift_frames`' dtype.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scene = rng.uniform(0, 255, (24, 40))
    >>> frames = scene[None, 4:20, 4:36] + np.zeros((1, 1, 1))
    >>> moved = shift_frames_into(frames, np.array([-3.0]), np.array([0.0]), scene, 4)
    >>> bool(np.allclose(moved[0][:, -3:], scene[4:20, 33:36], atol=1e-6))  # what entered: the canvas there
    True
    >>> bool(np.allclose(moved[0][:, :-3], frames[0][:, 3:], atol=1e-6))
    True
    """
    frames = np.asarray(frames)
    canvas = np.asarray(canvas)
    margin_px = int(margin_px)
    if margin_px < 0 or canvas.shape != tuple(length + 2 * margin_px for length in frames.shape[1:]):
        raise ParameterError(f"canvas must be the frame's shape {frames.shape[1:]} plus {margin_px} px along each "
                             f"side, given {canvas.shape}")
    shifts_x_px = np.asarray(shifts_x_px, dtype=np.float64).reshape(-1)
    shifts_y_px = np.asarray(shifts_y_px, dtype=np.float64).reshape(-1)
    _check_shifts(shifts_x_px, shifts_y_px, frames.shape[0])
    dtype = np.float32 if frames.dtype == np.float32 or (out is not None and out.dtype == np.float32) else np.float64
    if out is None:
        out = np.empty(frames.shape, dtype=dtype)
    elif out.shape != frames.shape or out.dtype != dtype:
        raise ParameterError(f"out must be a {np.dtype(dtype).name} array of shape {frames.shape}, "
                             f"given {out.dtype.name} {out.shape}")
    return _set_into(frames, shifts_x_px, shifts_y_px, canvas.astype(dtype, copy=False), margin_px, threads, out)


def _check_shifts(shifts_x_px: np.ndarray, shifts_y_px: np.ndarray, n_frames: int) -> None:
    if not shifts_x_px.shape == shifts_y_px.shape == (n_frames,):
        raise ParameterError(f"need one shift along x and y for each of the {n_frames} frames, given "
                             f"{shifts_x_px.size} and {shifts_y_px.size}")
    if not (np.all(np.isfinite(shifts_x_px)) and np.all(np.isfinite(shifts_y_px))):
        raise ParameterError("shifts must be finite numbers of px")


def _set_into(frames, shifts_x_px, shifts_y_px, canvas, margin_px: int, threads, out) -> np.ndarray:
    """Each frame set into ``canvas`` (``margin_px`` past its sides) moved to it, moved back, cut to the frame."""
    # each frame's canvas from its own shift (a length the transforms are fast at), so a frame's
    # result does not depend on the frames it is shifted with
    sizes = np.stack([_canvas_length(shifts, length)
                      for shifts, length in ((shifts_y_px, frames.shape[1]), (shifts_x_px, frames.shape[2]))], axis=1)
    for size in np.unique(sizes, axis=0):
        which = np.flatnonzero(np.all(sizes == size, axis=1))
        pads = [((total - length) // 2, total - length - (total - length) // 2)
                for total, length in zip(size, frames.shape[1:])]
        inside = (slice(None), slice(pads[0][0], pads[0][0] + frames.shape[1]),
                  slice(pads[1][0], pads[1][0] + frames.shape[2]))
        # the canvas cut to this size, extended by its mirror image where it does not reach
        beyond = [(max(0, before - margin_px), max(0, after - margin_px)) for before, after in pads]
        cut = tuple(slice(margin_px - (before - extra[0]), margin_px + length + (after - extra[1]))
                    for (before, after), extra, length in zip(pads, beyond, frames.shape[1:]))
        here = canvas[cut]
        here = np.pad(here, beyond, mode="symmetric") if any(any(extra) for extra in beyond) else here
        over = shift_frames(np.broadcast_to(here, (which.size,) + here.shape), -shifts_x_px[which],
                            -shifts_y_px[which], threads=threads)
        over[inside] = frames[which]
        out[which] = shift_frames(over, shifts_x_px[which], shifts_y_px[which], threads=threads)[inside]
    return out


def _canvas_length(shifts: np.ndarray, length: int) -> np.ndarray:
    """Each frame's canvas along one axis for :func:`shift_frames_over`: the frame alone where it does not move."""
    fast = [scipy.fft.next_fast_len(length + 2 * (pad + OVER_MARGIN_PX), real=True)
            for pad in range(int(np.ceil(np.max(np.abs(shifts), initial=0.0))) + 1)]
    return np.where(shifts == 0, length, np.asarray(fast)[np.ceil(np.abs(shifts)).astype(int)])


def spectral_gradient(image) -> tuple:
    """Exact ``(d/dx, d/dy)`` of the cosine-series image through ``image``'s samples (grey levels per px).

    Examples
    --------
    >>> x = np.arange(32) + 0.5
    >>> image = np.tile(np.cos(np.pi * 4 * x / 32), (8, 1))
    >>> gx, gy = spectral_gradient(image)
    >>> bool(np.allclose(gx, -np.pi * 4 / 32 * np.sin(np.pi * 4 * x / 32)) and np.allclose(gy, 0))
    True
    """
    image = np.asarray(image, dtype=np.float64)
    gradients = []
    for axis in (1, 0):
        length = image.shape[axis]
        coefficients = scipy.fft.dct(image, type=2, axis=axis, workers=-1)
        weights = -np.pi * np.arange(length) / length
        coefficients *= weights if axis == 1 else weights[:, None]
        moved = np.zeros_like(coefficients)
        if axis == 1:
            moved[:, :-1] = coefficients[:, 1:]
        else:
            moved[:-1] = coefficients[1:]
        gradients.append(scipy.fft.idst(moved, type=2, axis=axis, workers=-1))
    return tuple(gradients)
