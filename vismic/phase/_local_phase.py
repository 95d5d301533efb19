"""Local phase and log-amplitude relative to a reference frame."""

from __future__ import annotations

import numpy as np

from .._checks import check_data
from ..data import PhaseBatch, PyramidBatch, Reference
from ..errors import FrameShapeError, ParameterError
from ..pipeline import Stage


def local_phase(highpasses, reference):
    """Phase and log-amplitude of every coefficient relative to the reference.

    Parameters
    ----------
    highpasses : sequence of np.ndarray [shape=(n, height_l, width_l, n_orientations)], complex
    reference : sequence of np.ndarray [shape=(height_l, width_l, n_orientations)], complex

    Returns
    -------
    phase : tuple of np.ndarray [shape=(n, height_l, width_l, n_orientations)], float32
        ``angle(c * conj(reference))``, in (-pi, pi].
    log_amplitude : tuple of np.ndarray, same shapes, float32
        ``log(|c| / |reference|)``.
    amplitude : tuple of np.ndarray [shape=(height_l, width_l, n_orientations)], float64
        ``abs(reference)``.

    Examples
    --------
    >>> import numpy as np
    >>> c = (2 * np.exp(1j * np.array([0.1, 0.2])))[:, None, None, None]
    >>> phase, log_amplitude, amplitude = local_phase([c], [np.ones((1, 1, 1), complex)])
    >>> np.round(phase[0].ravel(), 3), np.round(log_amplitude[0].ravel(), 3)
    (array([0.1, 0.2], dtype=float32), array([0.693, 0.693], dtype=float32))
    """
    if isinstance(reference, Reference):
        raise ParameterError("reference must be the reference's coefficients per level: give reference.highpasses, "
                             "not the Reference")
    if len(highpasses) != len(reference):
        raise FrameShapeError(f"pyramid has {len(highpasses)} levels but the reference has {len(reference)}")
    tiny = np.finfo(np.float64).tiny
    phases, log_amplitudes, amplitudes = [], [], []
    for level, (h, r) in enumerate(zip(highpasses, reference)):
        if h.shape[1:] != r.shape:
            raise FrameShapeError(
                f"level {level}: coefficients of shape {h.shape[1:]} do not match the reference {r.shape}"
            )
        amplitude = np.abs(r)
        phases.append(np.angle(h * np.conj(r)).astype(np.float32))
        # where either coefficient is zero the change is meaningless; its weight (amplitude^2) is zero too
        log_ratio = np.log(np.maximum(np.abs(h), tiny)) - np.log(np.maximum(amplitude, tiny))
        log_amplitudes.append(np.where(amplitude > 0, log_ratio, 0.0).astype(np.float32))
        amplitudes.append(amplitude)
    return tuple(phases), tuple(log_amplitudes), tuple(amplitudes)


def local_frequency(reference: Reference):
    """Local spatial frequency and log-amplitude gradient of each reference coefficient.

    For a coefficient ``c`` with spatial derivative ``dc`` (along x or y),
    ``frequency = Im(conj(c) dc) / |c|^2`` and ``amplitude_gradient = Re(conj(c) dc) / |c|^2``.

    Returns
    -------
    frequency, amplitude_gradient : tuple of np.ndarray [shape=(height_l, width_l, n_orientations, 2)]
        Per level; last axis is (x, y); rad/px and 1/px.
    """
    tiny = np.finfo(np.float64).tiny
    frequency, amplitude_gradient = [], []
    for c, gx, gy in zip(reference.highpasses, reference.gradient_x, reference.gradient_y):
        power = np.maximum(np.abs(c) ** 2, tiny)
        rx = np.conj(c) * gx / power
        ry = np.conj(c) * gy / power
        frequency.append(np.stack([rx.imag, ry.imag], axis=-1))
        amplitude_gradient.append(np.stack([rx.real, ry.real], axis=-1))
    return tuple(frequency), tuple(amplitude_gradient)


class LocalPhase(Stage):
    """Stage: :class:`~vismic.data.PyramidBatch` -> :class:`~vismic.data.PhaseBatch`.

    The reference is the one the decomposition stage attached to the batches
    (with its derivatives, which give each coefficient's local frequency);
    without one, the first frame of the video is the reference and the
    frequency maps are left out.
    """

    streaming = True

    def __init__(self):
        self._reference = None
        self._maps = (None, None)

    def reset(self) -> None:
        self._reference = None
        self._maps = (None, None)

    def transform(self, batch: PyramidBatch) -> PhaseBatch:
        check_data(batch, PyramidBatch, "LocalPhase")
        if self._reference is None:
            if batch.reference is not None:
                self._reference = batch.reference
            else:
                self._reference = Reference(tuple(h[0] for h in batch.highpasses))
            if self._reference.gradient_x is not None:
                self._maps = local_frequency(self._reference)
        phase, log_amplitude, amplitude = local_phase(batch.highpasses, self._reference.highpasses)
        return PhaseBatch(phase, log_amplitude, amplitude, batch.start, batch.fps, *self._maps)
