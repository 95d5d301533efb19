"""What an intra-frame DCT codec (JPEG, Motion-JPEG) leaves of the motion: its own Cramér–Rao loss.

A JPEG encoder rounds every coefficient of each 8x8 block's DCT to a multiple
of its step in the quantisation table. A sub-pixel motion moves a coefficient by
far less than a step; only the sensor noise added before the encoder (dither)
makes the rounded value depend on it, through how often it lands in one bin or
the next. The Fisher information about the motion that the bins keep is then
(per coefficient with value ``c``, gradient ``g``, step ``q``, noise ``sigma``)

    g^2 / sigma^2 * sum_k (phi(a_k) - phi(b_k))^2 / (Phi(b_k) - Phi(a_k)),
    a_k = (q (k - 1/2) - c) / sigma,  b_k = (q (k + 1/2) - c) / sigma,

against ``g^2 / sigma^2`` unquantised. No estimator that sees only the decoded
frames can do better, so the ratio, summed over the frame, is how far the
codec itself moved the bound (:func:`dct_quantiser_loss_db`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._checks import check_image, check_non_negative, check_number
from ..codec import BLOCK, block_dct
from ..errors import FrameShapeError, ParameterError

__all__ = ["jpeg_quantisation_table", "dct_quantiser_loss_db"]

#: Order in which a JPEG file stores the 64 entries of a table (row-major index of each).
_ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
    21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60,
    61, 54, 47, 55, 62, 63,
])

#: How far into a file the first JPEG image's tables are looked for.
_HEAD_BYTES = 1 << 22

#: Noise this many steps wide or wider: the quantiser counts as added uniform noise (Sheppard).
_SHEPPARD_STEPS = 8


def jpeg_quantisation_table(source) -> np.ndarray:
    """The luminance quantisation table of a JPEG image or of the first frame of a Motion-JPEG video.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A ``.jpg`` file, a Motion-JPEG AVI or MOV, or the bytes of either.

    Returns
    -------
    np.ndarray [shape=(8, 8)]
        The step of each DCT coefficient (row: vertical frequency), in grey levels of the
        orthonormal 2-D DCT of an 8x8 block.

    Raises
    ------
    ParameterError
        No JPEG image with a quantisation table in the first 4 MiB.

    Examples
    --------
    >>> import cv2, numpy as np
    >>> image = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    >>> data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 50])[1].tobytes()
    >>> table = jpeg_quantisation_table(data)  # quality 50: the table of the JPEG standard
    >>> int(table[0, 0]), int(table[7, 7])
    (16, 99)
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source)[:_HEAD_BYTES], "the bytes given"
    else:
        path = Path(source)
        with open(path, "rb") as stream:
            data = stream.read(_HEAD_BYTES)
        name = repr(str(path))
    image = data.find(b"\xff\xd8\xff")
    marker = data.find(b"\xff\xdb", image) if image >= 0 else -1
    while marker >= 0:
        length = int.from_bytes(data[marker + 2:marker + 4], "big")
        segment = data[marker + 4:marker + 2 + length]
        position = 0
        while position < len(segment):
            precision, table_id = segment[position] >> 4, segment[position] & 15
            size = 64 * (2 if precision else 1)
            chunk = segment[position + 1:position + 1 + size]
            if len(chunk) < size:  # a truncated segment
                break
            values = np.frombuffer(chunk, dtype=">u2" if precision else np.uint8)
            position += 1 + size
            if table_id == 0:
                table = np.empty(64)
                table[_ZIGZAG] = values
                return table.reshape(BLOCK, BLOCK)
        marker = data.find(b"\xff\xdb", marker + 2 + length)
    raise ParameterError(f"{name} holds no JPEG quantisation table in its first {_HEAD_BYTES >> 20} MiB: "
                         "not a JPEG image or Motion-JPEG video")


def dct_quantiser_loss_db(texture, *, direction_degrees: float, noise_std: float, table,
                          quantization_step: float = 0.0) -> float:
    """How much of the motion's Fisher information an 8x8 DCT quantiser removes, in dB (<= 0).

    Add it to the scene's bound (:func:`vismic.metrics.scene_bound`) to get the bound of the
    same scene after the codec. The frame is taken at rest (the motion is far below a pixel)
    and the noise as Gaussian and white; coefficients are rounded to the nearest multiple
    of their step, as the JPEG standard describes (encoders that round towards zero lose
    more).

    Parameters
    ----------
    texture : np.ndarray [shape=(height, width)]
        The frame at rest, grey levels 0-255 (blocks from the top-left corner; a partial
        last row or column of blocks is left out).
    direction_degrees : float
        Direction of the motion (x right, y down).
    noise_std : float
        Sensor noise before the encoder, grey levels.
    table : array_like [shape=(8, 8)]
        Quantisation steps (:func:`jpeg_quantisation_table`).
    quantization_step : float
        The 8-bit rounding before the encoder, counted as uniform noise (1 for 8-bit frames).

    Returns
    -------
    float
        ``10 log10(information kept / information without the codec)``.

    Examples
    --------
    >>> from vismic import synth
    >>> texture = synth.texture("brick", size=(64, 64))
    >>> fine = dct_quantiser_loss_db(texture, direction_degrees=0.0, noise_std=2.0, table=np.full((8, 8), 0.5))
    >>> coarse = dct_quantiser_loss_db(texture, direction_degrees=0.0, noise_std=2.0, table=np.full((8, 8), 16.0))
    >>> round(fine, 2), coarse < -3  # a step of 0.5 adds 0.5**2 / 12 to the noise (Sheppard)
    (-0.02, True)
    """
    from scipy.special import ndtr

    from ..decompose._gradient import directional_derivative

    texture = check_image(texture, "texture", shape_error=FrameShapeError)
    direction_degrees = check_number(direction_degrees, "direction_degrees")
    sigma = math.hypot(check_non_negative(noise_std, "noise_std"),
                       check_non_negative(quantization_step, "quantization_step") / math.sqrt(12.0))
    table = np.asarray(table, dtype=np.float64)
    if table.shape != (BLOCK, BLOCK) or not np.all(np.isfinite(table)) or np.any(table <= 0):
        raise ParameterError(f"table must be 8x8 positive quantisation steps, given shape {table.shape}")
    if texture.shape[0] < BLOCK or texture.shape[1] < BLOCK:
        raise FrameShapeError(f"texture must be at least 8x8 px, given shape {texture.shape}")
    if sigma == 0:
        raise ParameterError("noise_std and quantization_step are both 0: without dither a quantiser keeps no "
                             "information about a sub-pixel motion, and this bound is not defined")
    value = _block_dct(texture - 128.0)
    gradient = _block_dct(directional_derivative(texture, direction_degrees=direction_degrees))
    raw = float(np.sum(gradient ** 2))
    if raw == 0:
        return 0.0
    # Steps far below the noise act as added uniform noise (Sheppard), to far below float precision
    # there; summing their bins would take 16 sigma / step passes (millions for a large noise_std).
    table = np.broadcast_to(table, value.shape)
    kept = 1.0 / (1.0 + table ** 2 / (12.0 * sigma ** 2))
    binned = table * _SHEPPARD_STEPS > sigma
    value, step = value[binned], table[binned]
    first = np.floor((value - 8 * sigma) / step - 0.5)
    bins = int(np.max(np.ceil((value + 8 * sigma) / step + 0.5) - first, initial=0)) + 1
    summed = np.zeros_like(value)
    for j in range(bins):
        centre = (first + j) * step
        low, high = (centre - step / 2 - value) / sigma, (centre + step / 2 - value) / sigma
        probability = ndtr(high) - ndtr(low)
        slope = (np.exp(-0.5 * low ** 2) - np.exp(-0.5 * high ** 2)) / math.sqrt(2 * math.pi)
        summed += np.where(probability > 1e-300, slope ** 2 / np.maximum(probability, 1e-300), 0.0)
    kept[binned] = summed
    return 10.0 * math.log10(max(float(np.sum(gradient ** 2 * kept)) / raw, 1e-30))


def _block_dct(image: np.ndarray) -> np.ndarray:
    """Orthonormal 2-D DCT of each whole 8x8 block: shape (rows, cols, 8, 8) (JPEG's own scaling)."""
    return block_dct(np.asarray(image)[None])[0]
