"""Horizontal motion of every row of every frame, from the local phase of a 1-D DTCWT along rows.

In a rolling-shutter video each row has its own instant, so the motion has to
be measured from one row alone. The 2-D DTCWT would mix rows: a level-``l``
coefficient is computed from about ``2^l`` times the filter length of rows,
which at the line rate is a moving average over tens of line periods (more than
a period of a 440 Hz tone at 4.6 kHz line rate from level 2 on). Here every row
is transformed on its own with the 1-D DTCWT along x
(:func:`vismic.decompose.decompose_rows`, the same filters and banded products
as the 2-D transform) and compared with the same row of a reference image that
holds the scene's content without its motion (by default the mean frame of the
video).

From there the evidence is the main path's, with each row a region of its
own: a level's coefficients of all rows form an image with one orientation,
:func:`vismic.phase.local_phase` and :func:`vismic.phase.local_frequency` give
each coefficient's phase and log-amplitude change and its local frequency
``k`` (rad/px) and log-amplitude gradient ``g`` along x, and
:func:`vismic.combine.band_signals` with one region per row sums the
amplitude^2-weighted normal equations: the least-squares shift of a row is
``-sum A^2 (k dphase + g dlog|c|) / sum A^2 (k^2 + g^2)``, the denominator its
information (inverse variance up to the noise level).
"""

from __future__ import annotations

import numpy as np

from .._checks import check_data
from ..combine import band_signals
from ..data import BandSignals, FrameBatch, Reference
from ..decompose import decompose_rows, image_gradient, max_row_levels
from ..errors import FrameShapeError, ParameterError
from ..phase import local_frequency, local_phase
from ..pipeline import Stage

__all__ = ["RowReference", "row_reference", "row_motion", "row_evidence", "RowEvidence", "pooled_displacement"]

#: Pixels transformed at once (frames x rows x width), to bound memory.
_CHUNK_PIXELS = 2_000_000


def _check_levels(n_levels, width: int) -> int:
    limit = max_row_levels(width)
    if limit < 1:
        raise FrameShapeError(f"rows of {width} px are too short for a wavelet transform: at least 8 px are needed")
    if n_levels is None:
        return min(5, limit)
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)) or n_levels < 1:
        raise ParameterError(f"n_levels must be a positive integer, given n_levels={n_levels!r}")
    if n_levels > limit:
        raise ParameterError(f"n_levels={n_levels} is too many for rows of {width} px: at most {limit}")
    return int(n_levels)


def _as_bands(highpasses):
    """Row coefficients ``(..., height, width_l)`` per level as ``(..., width_l, height, 1)`` images.

    One orientation; x comes first so that a grid of ``(1, height)`` regions
    (one per row) first sums along x, leaving little to split by row.
    """
    return tuple(np.swapaxes(h, -1, -2)[..., None] for h in highpasses)


class RowReference:
    """1-D DTCWT of a reference image's rows with each coefficient's local frequency.

    Attributes
    ----------
    reference : vismic.data.Reference
        Per level, the rows' coefficients as a ``(width_l, height, 1)`` image
        and those of the rows' x-derivative (``gradient_y`` is zero: rows are
        transformed along x only).
    frequency, amplitude_gradient : tuple of np.ndarray [shape=(width_l, height, 1, 2)]
        Local frequency (rad/px) and log-amplitude gradient (1/px) of each
        coefficient, x then y (y is 0); see :func:`vismic.phase.local_frequency`.
    shape : (height, width)
    n_levels : int
    biort, qshift : str
    use_amplitude : bool
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
        highpasses, _ = decompose_rows(np.stack([image, gradient_x]), n_levels=self.n_levels, biort=biort,
                                       qshift=qshift)
        coefficients = _as_bands(h[0] for h in highpasses)
        self.reference = Reference(coefficients, _as_bands(h[1] for h in highpasses),
                                   tuple(np.zeros_like(c) for c in coefficients))
        self.frequency, self.amplitude_gradient = local_frequency(self.reference)

    def __repr__(self) -> str:
        return (f"RowReference(shape={self.shape}, n_levels={self.n_levels}, biort={self.biort!r}, "
                f"qshift={self.qshift!r}, use_amplitude={self.use_amplitude})")


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


def row_evidence(frames, reference: RowReference):
    """Least-squares evidence of every row's horizontal shift, all levels pooled.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
    reference : RowReference
        Built from an image of the same size.

    Returns
    -------
    scores : np.ndarray [shape=(1, 1, height, 2, n)]
    information : np.ndarray [shape=(1, 1, height, 2, 2)]
        As :func:`vismic.combine.band_signals` returns them for one band (all
        levels summed) and one region per row; the y parts are 0.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    if frames.shape[1:] != reference.shape:
        raise FrameShapeError(
            f"frames of size {frames.shape[1:]} do not match the reference of size {reference.shape}"
        )
    n, height, width = frames.shape
    scores = np.zeros((1, 1, height, 2, n))
    information = np.zeros((1, 1, height, 2, 2))
    step = max(1, _CHUNK_PIXELS // (height * width))
    for start in range(0, n, step):
        highpasses, _ = decompose_rows(frames[start : start + step], n_levels=reference.n_levels,
                                       biort=reference.biort, qshift=reference.qshift)
        phase, log_amplitude, amplitude = local_phase(_as_bands(highpasses), reference.reference.highpasses)
        # wrapped phase and log-amplitude (not the linearised ratio): rows are measured one by one
        # and high-contrast, where the two agree
        part, information_part = band_signals(
            phase, amplitude, log_amplitude=log_amplitude, frequency=reference.frequency,
            amplitude_gradient=reference.amplitude_gradient if reference.use_amplitude else None,
            grid=(1, height), linear=False,
        )
        scores[..., start : start + len(phase[0])] = part.sum(axis=(0, 1), keepdims=True)
        information = information_part.sum(axis=(0, 1), keepdims=True)
    return scores, information


def pooled_displacement(signals: BandSignals):
    """Each row's shift along x and its weight, from one-band, one-region-per-row evidence.

    Rows whose information is below ``1e-12`` of the largest (no texture along
    x) get shift and weight 0.

    Returns
    -------
    displacement_px : np.ndarray [shape=(n, height)]
    information : np.ndarray [shape=(height,)]
    """
    information = signals.information[0, 0, :, 0, 0].copy()
    flat = information <= 1e-12 * information.max(initial=0.0)
    information[flat] = 0.0
    displacement = signals.displacement()[0, 0, :, 0, :].T
    displacement[:, flat] = 0.0
    return displacement, information


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
    >>> bool(np.allclose(d[1], 0.05, atol=2e-3)), bool(np.allclose(d[0], 0.0, atol=1e-6))
    (True, True)
    """
    scores, information = row_evidence(frames, reference)
    return pooled_displacement(BandSignals(scores, information, 0, 1.0))


class RowEvidence(Stage):
    """Streaming stage: :class:`~vismic.data.FrameBatch` -> one-band :class:`~vismic.data.BandSignals`, a region per row.

    Parameters
    ----------
    reference : np.ndarray [shape=(height, width)] or RowReference
        The scene without its motion (the video's mean frame); required before
        the first batch.
    n_levels, biort, qshift, use_amplitude
        See :func:`row_reference` (used when ``reference`` is an image).
    """

    streaming = True

    def __init__(self, reference=None, n_levels=None, biort: str = "near_sym_a", qshift: str = "qshift_a",
                 use_amplitude: bool = True):
        self.reference = reference
        self.n_levels = n_levels
        self.biort = biort
        self.qshift = qshift
        self.use_amplitude = use_amplitude
        self._rows = None

    def reset(self) -> None:
        self._rows = None

    def transform(self, batch: FrameBatch) -> BandSignals:
        check_data(batch, FrameBatch, "RowEvidence")
        if self._rows is None:
            if self.reference is None:
                raise ParameterError("RowEvidence needs a reference image (the video's mean frame) before the first batch")
            self._rows = self.reference if isinstance(self.reference, RowReference) else row_reference(
                self.reference, n_levels=self.n_levels, biort=self.biort, qshift=self.qshift,
                use_amplitude=self.use_amplitude,
            )
        scores, information = row_evidence(batch.frames, self._rows)
        return BandSignals(scores, information, batch.start, batch.fps)
