"""Horizontal motion of every row of every frame, from the local phase of a 1-D DTCWT along rows.

In a rolling-shutter video each row has its own instant, so the motion has to
be measured from one row alone. The 2-D DTCWT would mix rows: a level-``l``
coefficient is computed from about ``2^l`` times the filter length of rows,
which at the line rate is a moving average over tens of line periods (more than
a period of a 440 Hz tone at 4.6 kHz line rate from level 2 on). Here every row
is transformed on its own with the 1-D DTCWT along x, and compared with the same
row of a reference image that holds the scene's content without its motion
(by default the mean frame of the video), exactly as :mod:`vismic.combine`
does per coefficient: each coefficient's phase change is ``-k d`` for a shift
``d`` (px) of its row, with ``k`` its local frequency (rad/px) from the 1-D
DTCWT of the reference row's spectral derivative, and its log-amplitude change
is ``-g d`` with ``g`` the log-amplitude gradient. Weighting by the reference
amplitude squared gives the least-squares shift of the row and its information
``sum A^2 (k^2 + g^2)`` (inverse variance up to the noise level).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..decompose import image_gradient
from ..errors import FrameShapeError, ParameterError

__all__ = ["RowReference", "row_reference", "row_motion", "max_row_levels"]

#: Pixels per 1-D DTCWT call (frames x rows x width), to bound memory.
_CHUNK_PIXELS = 2_000_000

_transforms: dict = {}


def _transform(biort: str, qshift: str):
    key = (biort, qshift)
    if key not in _transforms:
        import dtcwt

        try:
            _transforms[key] = dtcwt.Transform1d(biort=biort, qshift=qshift)
        except (ValueError, IOError, KeyError) as exc:
            raise ParameterError(f"unknown DTCWT filters biort={biort!r}, qshift={qshift!r}: {exc}") from None
    return _transforms[key]


def max_row_levels(width: int) -> int:
    """Largest number of 1-D DTCWT levels for rows of ``width`` px (the coarsest keeps >= 4 coefficients)."""
    levels = 0
    while width // 2 ** (levels + 1) >= 4:
        levels += 1
    return levels


def _check_levels(n_levels, width: int) -> int:
    limit = max_row_levels(width)
    if n_levels is None:
        n_levels = min(5, limit)
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)) or n_levels < 1:
        raise ParameterError(f"n_levels must be a positive integer, given n_levels={n_levels!r}")
    if n_levels > limit:
        raise ParameterError(f"n_levels={n_levels} is too many for rows of {width} px: at most {limit}")
    if limit < 1:
        raise FrameShapeError(f"rows of {width} px are too short for a wavelet transform: at least 8 px are needed")
    return int(n_levels)


def _row_pyramid(rows: np.ndarray, n_levels: int, biort: str, qshift: str):
    """1-D DTCWT highpasses of every row of ``rows`` (..., w): one array (w_l, ...) per level."""
    lead = rows.shape[:-1]
    columns = np.ascontiguousarray(np.asarray(rows, dtype=np.float64).reshape(-1, rows.shape[-1]).T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pyramid = _transform(biort, qshift).forward(columns, nlevels=n_levels)
    return [np.asarray(h).reshape((h.shape[0],) + lead) for h in pyramid.highpasses]


class RowReference:
    """1-D DTCWT of a reference image's rows with each coefficient's local frequency.

    Attributes
    ----------
    coefficients : list of np.ndarray [shape=(width_l, height)], complex
        One array per level (finest first).
    weight_phase, weight_amplitude : list of np.ndarray [shape=(width_l, height)]
        ``A^2 k`` and ``A^2 g``: what a coefficient's phase and log-amplitude
        change are multiplied by (and summed over x, negated) to score a row.
    information : np.ndarray [shape=(height,)]
        ``sum A^2 (k^2 + g^2)`` per row: the least-squares normaliser.
    n_levels : int
    biort, qshift : str
    """

    def __init__(self, image, *, n_levels=None, biort: str = "near_sym_a", qshift: str = "qshift_a",
                 use_amplitude: bool = True):
        image = np.asarray(image, dtype=np.float64)
        if image.ndim != 2:
            raise FrameShapeError(f"the reference must have shape (height, width), given shape={image.shape}")
        if not np.all(np.isfinite(image)):
            raise ParameterError("the reference image contains NaN or infinite values")
        self.shape = image.shape
        self.n_levels = _check_levels(n_levels, image.shape[1])
        self.biort, self.qshift = biort, qshift
        self.use_amplitude = bool(use_amplitude)
        gradient_x, _ = image_gradient(image)  # exact x-derivative of each row (mirrored spectral derivative)
        tiny = np.finfo(np.float64).tiny
        self.coefficients, self.weight_phase, self.weight_amplitude = [], [], []
        self.information = np.zeros(image.shape[0])
        for c, dc in zip(*(_row_pyramid(x, self.n_levels, biort, qshift) for x in (image, gradient_x))):
            ratio = np.conj(c) * dc  # A^2 (g + i k)
            self.coefficients.append(c)
            self.weight_phase.append(ratio.imag)
            self.information += np.sum(ratio.imag**2 / np.maximum(np.abs(c) ** 2, tiny), axis=0)
            if self.use_amplitude:
                self.weight_amplitude.append(ratio.real)
                self.information += np.sum(ratio.real**2 / np.maximum(np.abs(c) ** 2, tiny), axis=0)


def row_reference(image, *, n_levels=None, biort: str = "near_sym_a", qshift: str = "qshift_a",
                  use_amplitude: bool = True) -> RowReference:
    """Build the :class:`RowReference` of an image (e.g. the mean frame of a video).

    Parameters
    ----------
    image : np.ndarray [shape=(height, width)]
    n_levels : int, optional
        1-D DTCWT levels; None takes up to 5 (as many as the width allows).
    biort, qshift : str
        Filters of the ``dtcwt`` package.
    use_amplitude : bool
        Also use the change of coefficient amplitude as evidence.

    Returns
    -------
    RowReference
    """
    return RowReference(image, n_levels=n_levels, biort=biort, qshift=qshift, use_amplitude=use_amplitude)


def row_motion(frames, reference: RowReference):
    """Least-squares horizontal shift of every row of every frame relative to the reference.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
    reference : RowReference
        Built from an image of the same size (see :func:`row_reference`).

    Returns
    -------
    displacement_px : np.ndarray [shape=(n, height)], float64
        Shift of each row's content to the right (px); 0 where a row has no
        texture (information 0).
    information : np.ndarray [shape=(height,)], float64
        Each row's weight ``sum A^2 (k^2 + g^2)`` (the same for every frame):
        the estimate's variance is the per-coefficient noise variance divided by it.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic import synth
    >>> texture = synth.texture("noise", size=(16, 64))
    >>> frames = synth.render_frames(texture, np.array([0.0, 0.05]))
    >>> d, information = row_motion(frames, row_reference(texture))
    >>> bool(np.allclose(d[1], 0.05, atol=2e-3)), bool(np.allclose(d[0], 0.0, atol=1e-9))
    (True, True)
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    if frames.shape[1:] != reference.shape:
        raise FrameShapeError(
            f"frames of size {frames.shape[1:]} do not match the reference of size {reference.shape}"
        )
    n, height, width = frames.shape
    scores = np.zeros((n, height))
    tiny = np.finfo(np.float64).tiny
    step = max(1, _CHUNK_PIXELS // (height * width))
    for start in range(0, n, step):
        chunk = frames[start : start + step]
        levels = _row_pyramid(chunk, reference.n_levels, reference.biort, reference.qshift)
        for level, h in enumerate(levels):  # h: (w_l, m, height)
            c = reference.coefficients[level][:, None, :]
            phase = np.angle(h * np.conj(c))
            scores[start : start + len(chunk)] -= np.einsum("xmy,xy->my", phase, reference.weight_phase[level])
            if reference.use_amplitude:
                amplitude = np.abs(c)
                log_ratio = np.log(np.maximum(np.abs(h), tiny)) - np.log(np.maximum(amplitude, tiny))
                log_ratio = np.where(amplitude > 0, log_ratio, 0.0)
                scores[start : start + len(chunk)] -= np.einsum(
                    "xmy,xy->my", log_ratio, reference.weight_amplitude[level]
                )
    information = reference.information.copy()
    information[information <= 1e-12 * information.max(initial=0.0)] = 0.0  # rows without texture
    safe = np.where(information > 0, information, 1.0)
    displacement = np.where(information > 0, scores / safe, 0.0)
    return displacement, information
