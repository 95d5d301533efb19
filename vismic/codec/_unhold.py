"""Frames an inter-frame codec held, made to say what it coded: each frame's coded changes scaled up.

An MPEG-4 part 2 encoder (OpenCV's ``mp4v``, XviD, DivX; MPEG-1/2 and H.263 work alike)
codes a key frame whole every few frames and, between them, only the 8x8 DCT
coefficients whose change it cannot ignore: on the bench's scenes at the encoder's
default quality about 1 % of them a frame (``benchmarks/bench_nuisance.py``). Every
other coefficient is copied from the frame before, so a decoded frame shows the
sub-pixel motion of the last time each coefficient was coded, and the recovered
sound is that sample-and-hold smeared over the frames: 25-32 dB below the lossless
scene.

A coded coefficient says where the scene is now; a copied one says nothing new.
:func:`unhold` keeps the key frames and, in each frame between them, sets every copied
coefficient to a reference (the mean of the last key frames: each key frame carries its
own quantisation error) and scales the coded ones' change against it by
``1 / (g + shrinkage)``, where ``g`` is the share of the frame's motion information
(the squared coefficients of the key frame's gradient) those coefficients hold. Summed
over the frame, as the phase evidence is, the scaled changes measure the whole frame's
motion against the reference; ``shrinkage`` keeps frames with almost nothing coded from
amplifying their few coefficients' noise (a Wiener-like gain: the coefficients a codec
chooses to code are those whose change, noise included, is large).

The model is a whole frame moving by a fraction of a pixel, the codec's choice of
coefficients driven by sensor noise across it. Where an object moves and the rest of the
frame holds still, the codec codes where the object is, and scaling those coefficients by
the frame's small coded share distorts them: the real clips of
``benchmarks/bench_footage.py --mp4v`` lost their known peaks' prominence. Hence opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .._checks import check_finite_frames
from ..data import FrameBatch
from ..errors import FrameShapeError, ParameterError
from ..pipeline import Stage

__all__ = ["unhold", "block_dct", "block_idct", "Unhold", "UnholdState", "UnholdReport",
           "CODED_CHANGE", "SHRINKAGE"]

#: The codecs' transform block.
BLOCK = 8
#: A coefficient that changed by more than this (grey levels, orthonormal 8x8 DCT) was coded: MPEG-4's
#: smallest coded change is 3q - 1 >= 5 grey levels, while rounding the decoded frame to 8 bits moves
#: a copied block's other coefficients by 0.3 RMS (bench scenes: coded changes 8-15, copied ones below 2).
CODED_CHANGE = 4.0
#: Added to the coded share ``g`` before scaling a frame's coded changes by its inverse. Swept in
#: ``benchmarks/bench_unhold.py``: 0.03 best or within 1.2 dB of the best on each of six held scenes;
#: 0.01 lost 2.0 dB on one, 0.1 lost 3.8 on another.
SHRINKAGE = 0.03
#: Key frames whose mean is the reference of the coded changes (1: the last key frame). Each key
#: frame carries its own quantisation error, which the copied coefficients would otherwise repeat
#: until the next one: a step every key frame. Set by the sweep in ``benchmarks/bench_unhold.py``.
REFERENCE_KEY_FRAMES = 16
#: A block with more coded coefficients than this was predicted from a moved block or re-coded: it
#: passes as decoded, its changes not scaled (scaled, they cost the camera/music scene 27 dB; 4 and 8
#: gave the same to 0.4 dB on ten scenes, 2 lost up to 1.3).
MAX_CODED_PER_BLOCK = 4
#: A block whose AC part has more than this RMS (grey levels) is textured: a key frame re-codes every
#: one of them, a frame between key frames copies many whole.
TEXTURED_RMS = 5.0
#: A frame where at most this share of the textured blocks was copied whole is a key frame.
KEY_HELD_SHARE = 0.1


def _dct_matrix() -> np.ndarray:
    """The orthonormal DCT-II of length 8 as a matrix (rows: frequencies)."""
    k = np.arange(BLOCK)
    matrix = np.sqrt(2.0 / BLOCK) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * BLOCK))
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT = _dct_matrix()


def _whole_blocks(frames: np.ndarray) -> np.ndarray:
    """The frames' whole 8x8 blocks as (n, rows, 8, cols, 8): block (i, j) is ``[:, i, :, j, :]``."""
    n, height, width = frames.shape
    rows, cols = height // BLOCK, width // BLOCK
    return frames[:, : rows * BLOCK, : cols * BLOCK].reshape(n, rows, BLOCK, cols, BLOCK)


def block_dct(frames, dtype=np.float64) -> np.ndarray:
    """Orthonormal DCT of every 8x8 block of every frame (the codec's grid: from the top-left corner).

    Parameters
    ----------
    frames : array_like [shape=(n, height, width)]
        Columns and rows past the last whole block are left out.
    dtype : numpy dtype
        Of the products (float32 is twice as fast, to 1e-4 grey levels).

    Returns
    -------
    np.ndarray [shape=(n, height // 8, width // 8, 8, 8)]
        ``[t, i, j, u, v]``: frequency ``u`` down and ``v`` across of block ``(i, j)``.

    Examples
    --------
    >>> coefficients = block_dct(np.full((1, 16, 24), 10.0))
    >>> coefficients.shape, round(float(coefficients[0, 0, 0, 0, 0]), 6)  # the DC of a flat block: 8 x its mean
    ((1, 2, 3, 8, 8), 80.0)
    """
    matrix = _DCT.astype(dtype)
    frames = np.asarray(frames, dtype=dtype)
    if frames.ndim != 3 or frames.shape[1] < BLOCK or frames.shape[2] < BLOCK:
        raise FrameShapeError(f"block_dct needs frames (n, height, width) of at least {BLOCK}x{BLOCK} px, given "
                              f"shape={frames.shape}")
    blocks = _whole_blocks(frames)
    # two products over the whole video, one per axis of the blocks (tensordot: one BLAS call each)
    across = np.tensordot(blocks, matrix, axes=([4], [1]))  # (n, rows, y, cols, v)
    both = np.tensordot(across, matrix, axes=([2], [1]))  # (n, rows, cols, v, u)
    return both.swapaxes(3, 4)


def block_idct(coefficients: np.ndarray) -> np.ndarray:
    """Frames from :func:`block_dct`'s coefficients: shape (n, rows * 8, cols * 8), their dtype."""
    coefficients = np.asarray(coefficients)
    if coefficients.dtype not in (np.float32, np.float64):
        coefficients = coefficients.astype(np.float64)
    matrix = _DCT.astype(coefficients.dtype)
    n, rows, cols = coefficients.shape[:3]
    down = np.tensordot(coefficients, matrix, axes=([3], [0]))  # (n, rows, cols, v, y)
    both = np.tensordot(down, matrix, axes=([3], [0]))  # (n, rows, cols, y, x)
    return both.transpose(0, 1, 3, 2, 4).reshape(n, rows * BLOCK, cols * BLOCK)


def _motion_weights(frame: np.ndarray) -> np.ndarray:
    """Share of one frame's motion information in each coefficient of its blocks, (rows, cols, 8, 8); sums to 1.

    How much a coefficient changes as the image moves: the squared coefficients of the
    image's gradient along x and y. Not the block's own frequencies: a block an edge
    crosses changes its mean (DC) as the edge moves. A flat frame's are all 0.
    """
    frame = np.asarray(frame, dtype=np.float32)
    gradient_y, gradient_x = np.gradient(frame)
    weights = (block_dct(gradient_x[None], dtype=np.float32)[0] ** 2
               + block_dct(gradient_y[None], dtype=np.float32)[0] ** 2)
    total = float(weights.sum(dtype=np.float64))
    return weights / np.float32(total) if total > 0 else weights


def _textured(coefficients: np.ndarray) -> np.ndarray:
    """Blocks whose AC part has more than :data:`TEXTURED_RMS`: (n, rows, cols) bool."""
    ac = np.sum(coefficients**2, axis=(-2, -1)) - coefficients[..., 0, 0] ** 2
    return ac > TEXTURED_RMS**2 * BLOCK * BLOCK


@dataclass
class UnholdState:
    """What :func:`unhold` carries from one batch of frames to the next.

    Attributes
    ----------
    previous : np.ndarray [shape=(rows, cols, 8, 8)]
        The last frame's coefficients, as decoded.
    key : np.ndarray [shape=(rows, cols, 8, 8)]
        The reference the coded changes are measured from: the mean of ``recent``.
    weights : np.ndarray [shape=(rows, cols, 8, 8)]
        The last key frame's share of motion information per coefficient (sums to 1).
    recent : list of np.ndarray
        The last key frames' coefficients (at most ``reference_key_frames``).
    previous_pixels : np.ndarray [shape=(rows, 8, cols, 8)]
        The last frame's whole blocks, as decoded.
    """

    previous: np.ndarray
    key: np.ndarray
    weights: np.ndarray
    recent: list
    previous_pixels: np.ndarray


def unhold(frames, state: Optional[UnholdState] = None, *, shrinkage: float = SHRINKAGE,
           coded_change: float = CODED_CHANGE, reference_key_frames: int = REFERENCE_KEY_FRAMES):
    """Frames whose coefficients a codec copied set to the key frames' mean, the coded ones' changes scaled up.

    Parameters
    ----------
    frames : array_like [shape=(n, height, width)]
        Decoded frames in the codec's grid (no crop by other than multiples of 8 px, no
        resampling); rows and columns past the last whole 8x8 block pass unchanged.
    state : UnholdState, optional
        Returned by the call on the frames before (None: ``frames[0]`` is a key frame).
    shrinkage : float
        See :data:`SHRINKAGE`.
    coded_change : float
        See :data:`CODED_CHANGE`.
    reference_key_frames : int
        See :data:`REFERENCE_KEY_FRAMES`; the state holds that many frames' coefficients
        (float32).

    Returns
    -------
    out : np.ndarray [shape=(n, height, width)], float32
    state : UnholdState
    key : np.ndarray [shape=(n,)], bool
        Frames taken as key frames (passed unchanged).
    coded_share : np.ndarray [shape=(n,)]
        ``g`` of each frame (1 at key frames).

    Examples
    --------
    A key frame, then a frame that copies every block but one, whose one coefficient
    was coded:

    >>> rng = np.random.default_rng(0)
    >>> key = rng.uniform(0, 255, (16, 16))
    >>> one = np.zeros((1, 1, 1, 8, 8)); one[..., 0, 1] = 10.0   # a coded change of 10 grey levels
    >>> coded = key.copy(); coded[:8, :8] += block_idct(one)[0]
    >>> out, state, is_key, share = unhold(np.stack([key, coded]))
    >>> is_key.tolist(), bool(0 < share[1] < 1)
    ([True, False], True)
    >>> bool(np.abs(out[1] - key).max() > np.abs(coded - key).max())  # its change scaled up
    True
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"unhold needs grey frames (n, height, width), given shape={frames.shape}")
    if frames.shape[1] < BLOCK or frames.shape[2] < BLOCK:
        raise FrameShapeError(f"unhold needs frames of at least {BLOCK}x{BLOCK} px, given {frames.shape[1:]}")
    if frames.shape[0] == 0:
        raise FrameShapeError("unhold needs at least one frame, given none")
    check_finite_frames(frames)
    if not (np.isfinite(shrinkage) and shrinkage > 0):
        raise ParameterError(f"shrinkage must be a positive number, given shrinkage={shrinkage!r}")
    if not (np.isfinite(coded_change) and coded_change > 0):
        raise ParameterError(f"coded_change must be a positive number, given coded_change={coded_change!r}")
    if isinstance(reference_key_frames, bool) or not isinstance(reference_key_frames, (int, np.integer)) \
            or reference_key_frames < 1:
        raise ParameterError(f"reference_key_frames must be a positive integer, given {reference_key_frames!r}")
    pixels = _whole_blocks(frames)
    n = len(frames)
    rows, cols = pixels.shape[1], pixels.shape[3]
    if state is not None and state.previous.shape != (rows, cols, BLOCK, BLOCK):
        raise FrameShapeError(f"frames of {frames.shape[1:]} px do not continue the ones before "
                              f"({state.previous.shape[0] * BLOCK}x{state.previous.shape[1] * BLOCK} px of blocks)")
    if state is not None:
        state = replace(state)  # the caller's state stays as it was
    result = np.array(frames, dtype=np.float32)
    key = np.zeros(n, dtype=bool)
    share = np.ones(n)
    for t in range(n):
        # frame by frame: the products' rounding does not depend on how many frames a batch holds
        current = block_dct(frames[t:t + 1], dtype=np.float32)[0]
        if state is None:
            key[t] = True
        else:
            change = current - state.previous
            # a copied block is equal pixel for pixel (its coefficients, computed in floating point, need not be)
            before = pixels[t - 1] if t > 0 else state.previous_pixels
            textured = _textured(current)
            copied = np.all(pixels[t] == before, axis=(1, 3)) & textured
            n_textured = int(textured.sum())
            key[t] = n_textured == 0 or copied.sum() <= KEY_HELD_SHARE * n_textured
        if key[t]:
            recent = ([] if state is None else state.recent)[1 - reference_key_frames:] if reference_key_frames > 1 else []
            recent = recent + [current]
            reference = np.mean(recent, axis=0, dtype=np.float64).astype(np.float32) if len(recent) > 1 else current
            state = UnholdState(previous=current, key=reference, weights=_motion_weights(frames[t]), recent=recent,
                                previous_pixels=pixels[t])
            continue
        coded = np.abs(change) > coded_change
        moved = (coded.sum(axis=(-2, -1)) > MAX_CODED_PER_BLOCK)[..., None, None]
        coded &= ~moved
        share[t] = float(state.weights[coded].sum(dtype=np.float64))
        out = state.key + np.where(coded, current - state.key, 0.0) / np.float32(share[t] + shrinkage)
        out = np.where(moved, current, out)
        result[t, : rows * BLOCK, : cols * BLOCK] = block_idct(out[None])[0]
        state.previous, state.previous_pixels = current, pixels[t]
    state.previous_pixels = np.array(state.previous_pixels)  # not a view of the caller's frames
    return result, state, key, share


@dataclass(frozen=True)
class UnholdReport:
    """What :class:`Unhold` measured on the frames it released.

    Attributes
    ----------
    key_frames : int
        Frames taken as key frames.
    frames : int
    coded_share : float
        Median ``g`` of the frames between key frames (NaN without any).
    snr_limit_db : float
        What the coded coefficients can tell: ``-10 log10`` of the mean over the frames of
        ``shrinkage / (g + shrinkage)`` (0 at key frames), the share of a frame's motion
        against the reference that a Wiener gain of that ``shrinkage`` leaves out. Inf when
        every frame is a key frame.
    """

    key_frames: int
    frames: int
    coded_share: float
    snr_limit_db: float


class Unhold(Stage):
    """Stage: :class:`~vismic.data.FrameBatch` -> :class:`~vismic.data.FrameBatch`, what a codec held undone.

    :func:`unhold` frame by frame, its state carried across batches (the result does
    not depend on how the video is split). Goes first, on the frames as decoded; the
    stages after it should take their reference from the first frame alone
    (``n_reference_frames=1``), a key frame, since the frames between key frames carry
    their coded coefficients' noise scaled up (:func:`vismic.default_pipeline` with
    ``unhold=True`` sets that).

    Parameters
    ----------
    shrinkage, coded_change : float
    reference_key_frames : int
        See :func:`unhold`.
    """

    streaming = True

    def __init__(self, shrinkage: float = SHRINKAGE, coded_change: float = CODED_CHANGE,
                 reference_key_frames: int = REFERENCE_KEY_FRAMES):
        self.shrinkage = shrinkage
        self.coded_change = coded_change
        self.reference_key_frames = reference_key_frames
        self.reset()

    def reset(self) -> None:
        self._state: Optional[UnholdState] = None
        self._keys = 0
        self._frames = 0
        self._shares = []
        self._left_out = 0.0

    def transform(self, batch: FrameBatch) -> FrameBatch:
        out, self._state, key, share = unhold(batch.frames, self._state, shrinkage=self.shrinkage,
                                              coded_change=self.coded_change,
                                              reference_key_frames=self.reference_key_frames)
        self._keys += int(key.sum())
        self._frames += len(key)
        self._shares.append(share[~key])
        self._left_out += float(np.sum(np.where(key, 0.0, self.shrinkage / (share + self.shrinkage))))
        return FrameBatch(out, batch.start, batch.fps)

    def report(self) -> UnholdReport:
        shares = np.concatenate(self._shares) if self._shares else np.zeros(0)
        left_out = self._left_out / self._frames if self._frames else 0.0
        return UnholdReport(key_frames=self._keys, frames=self._frames,
                            coded_share=float(np.median(shares)) if shares.size else float("nan"),
                            snr_limit_db=float(-10.0 * np.log10(left_out)) if left_out > 0 else float("inf"))
