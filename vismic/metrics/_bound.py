"""The Cramér–Rao bound on per-frame motion estimates of a synthetic scene.

Model (the one :func:`vismic.synth.render_scene` renders): frame ``t`` is
``I_t(x) = T(x - s(t) m(x) u) + n_t(x)`` with a known static texture ``T``, a
known mode shape ``m`` and direction ``u``, and an unknown scalar ``s(t)``.
For small motion, ``dI_t/ds = -m(x) (grad T(x) . u)``, and with white
Gaussian noise of variance ``sigma^2`` the Fisher information about ``s(t)``
from one frame is

    J = sum_x m(x)^2 (grad T(x) . u)^2 / sigma^2,

so no unbiased estimate of ``s(t)`` from frame ``t`` alone has a variance below
``CRB = 1 / J`` (px^2). Rounding to 8 bits is treated as additive uniform
noise of variance ``q^2 / 12``, so ``sigma^2 = noise_std^2 + q^2 / 12``; this
is accurate when the sensor noise dithers the rounding (``noise_std`` of about
0.5 grey levels or more). Without noise, rounding is a deterministic
staircase and the bound does not apply.

Estimators that use more than one frame at a time can beat the per-frame
bound: e.g. if the sound occupies only a band ``B < fps / 2``, low-pass
filtering white estimation noise removes a fraction ``1 - 2 B / fps`` of it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import FrameShapeError, ParameterError, VismicWarning
from .._checks import check_image, check_non_negative, check_number, check_signal
from ..decompose._gradient import directional_derivative

__all__ = ["Bound", "cramer_rao_bound", "bound_snr_db", "scene_bound", "gap_to_bound_db"]


@dataclass(frozen=True)
class Bound:
    """The Cramér–Rao bound of a scene and the best SNR it allows.

    Attributes
    ----------
    crb_px2 : float
        Minimum variance (px^2) of an unbiased per-frame estimate of ``s(t)``.
    displacement_std_px : float
        Standard deviation of the true displacement (mean removed), in px.
    snr_db : float
        ``10 log10(displacement_std_px^2 / crb_px2)``: the highest SNR of
        per-frame unbiased estimates.
    """

    crb_px2: float
    displacement_std_px: float
    snr_db: float


def cramer_rao_bound(
    texture, *, direction_degrees: float, mode_shape=None, noise_std: float, quantization_step: float = 1.0
) -> float:
    """Minimum variance (px^2) of any unbiased per-frame estimate of the displacement.

    ``CRB = 1 / J`` with ``J = sum_x m(x)^2 (grad T(x) . u)^2 / (noise_std^2 + q^2 / 12)``
    (see the module notes for the assumptions: small motion, known static
    texture, white Gaussian noise, quantization as additive uniform noise).
    The gradient is the exact spectral derivative of the band-limited,
    half-sample symmetric extension of ``T``, the image that
    :func:`vismic.synth.render_scene` translates.

    Parameters
    ----------
    texture : np.ndarray [shape=(height, width)]
        The clean texture in grey levels.
    direction_degrees : float
        Direction of motion in image coordinates (x right, y down).
    mode_shape : np.ndarray [shape=(height, width)], optional
        Per-pixel motion factor (None: rigid, all ones).
    noise_std : float
        Sensor noise standard deviation in grey levels.
    quantization_step : float
        Quantization step in grey levels (1 for 8-bit frames, 0 for none).

    Returns
    -------
    float
        px^2; ``inf`` when the texture shows no motion along ``u``, 0 without any noise.

    Warns
    -----
    vismic.errors.VismicWarning
        When ``noise_std`` is below half the quantization step (undithered rounding).

    Examples
    --------
    >>> from vismic.synth import stripes
    >>> texture = stripes((64, 64), period_px=8.0)
    >>> crb = cramer_rao_bound(texture, direction_degrees=0.0, noise_std=2.0)
    >>> cramer_rao_bound(texture, direction_degrees=90.0, noise_std=2.0)
    inf
    """
    texture = check_image(texture, "texture", shape_error=FrameShapeError)
    direction_degrees = check_number(direction_degrees, "direction_degrees")
    noise_std = check_non_negative(noise_std, "noise_std")
    quantization_step = check_non_negative(quantization_step, "quantization_step")
    derivative = directional_derivative(texture, direction_degrees=direction_degrees)
    if mode_shape is not None:
        mode_shape = np.asarray(mode_shape, dtype=np.float64)
        if mode_shape.shape != texture.shape:
            raise FrameShapeError(
                f"mode_shape shape {mode_shape.shape} does not match texture shape {texture.shape}"
            )
        if not np.all(np.isfinite(mode_shape)):
            raise ParameterError("mode_shape contains NaN or infinite values")
        derivative = derivative * mode_shape
    signal = float(np.sum(derivative**2))
    # Exact zeros are lost to rounding in the FFT: call the motion invisible
    # when its information is below 1e-20 of what the texture holds in any direction.
    scale = float(np.sum(texture**2)) + 1.0
    if signal <= 1e-20 * scale:
        return math.inf
    if quantization_step > 0 and noise_std < 0.5 * quantization_step:
        warnings.warn(
            f"noise_std={noise_std!r} is below half the quantization step ({quantization_step!r}): "
            "rounding is not dithered and the bound, which treats it as uniform noise, is approximate",
            VismicWarning,
            stacklevel=2,
        )
    variance = noise_std**2 + quantization_step**2 / 12.0
    return variance / signal


def _scene_parts(scene, reference):
    for name in ("texture", "direction_degrees", "mode_shape", "noise_std", "quantization_step", "displacement_px"):
        if not hasattr(scene, name):
            raise ParameterError(f"scene must be a vismic.synth.Scene, given {type(scene).__name__} without .{name}")
    crb = cramer_rao_bound(
        scene.texture,
        direction_degrees=scene.direction_degrees,
        mode_shape=scene.mode_shape,
        noise_std=scene.noise_std,
        quantization_step=scene.quantization_step,
    )
    motion = scene.displacement_px if reference is None else reference
    motion = check_signal(motion, "reference")
    frames = np.shape(scene.displacement_px)[-1]
    if reference is not None and motion.shape[-1] != frames:
        raise ParameterError(f"reference must be the scene's motion, one value a frame: the scene has {frames} frames, "
                             f"given {motion.shape[-1]} values")
    std = float(np.std(motion))
    return crb, std


def _snr_db(variance: float, crb: float) -> float:
    if variance == 0 or math.isinf(crb):
        return -math.inf
    if crb == 0:
        return math.inf
    return 10.0 * math.log10(variance / crb)


def bound_snr_db(scene, *, reference=None) -> float:
    """Highest SNR (dB) that unbiased per-frame motion estimates of ``scene`` can reach.

    ``10 log10(var(d - mean(d)) / CRB)`` with ``d`` the scene's
    ``displacement_px`` (or ``reference``) and CRB from :func:`cramer_rao_bound`.

    Parameters
    ----------
    scene : vismic.synth.Scene
    reference : np.ndarray [shape=(n,)], optional
        Motion in px whose power counts as signal, e.g. the displacement
        restricted to the band an evaluation uses; default ``scene.displacement_px``.

    Returns
    -------
    float
        The bound on the SNR, in dB (-inf when the scene does not move).

    Examples
    --------
    >>> from vismic import synth
    >>> scene = synth.render_scene(synth.texture("noise", size=(32, 32)),
    ...                            0.05 * np.sin(np.arange(100)), noise_std=2.0)
    >>> bound = bound_snr_db(scene)
    """
    crb, std = _scene_parts(scene, reference)
    return _snr_db(std**2, crb)


def scene_bound(scene, *, reference=None) -> Bound:
    """The Cramér–Rao bound of a scene with its signal level and best SNR.

    Parameters
    ----------
    scene : vismic.synth.Scene
    reference : np.ndarray [shape=(n,)], optional
        As in :func:`bound_snr_db`.

    Returns
    -------
    Bound

    Examples
    --------
    >>> from vismic import synth
    >>> scene = synth.render_scene(synth.texture("noise", size=(32, 32)),
    ...                            0.05 * np.sin(np.arange(100)), noise_std=2.0)
    >>> scene_bound(scene).displacement_std_px > 0
    True
    """
    crb, std = _scene_parts(scene, reference)
    return Bound(crb_px2=crb, displacement_std_px=std, snr_db=_snr_db(std**2, crb))


def gap_to_bound_db(snr_db: float, bound_db: float) -> float:
    """How far an SNR falls short of the bound: ``bound_db - snr_db`` (dB).

    Positive means below the bound; a negative gap means the method used
    something the per-frame bound does not (e.g. temporal filtering), or a
    biased estimate. The README's tables print the other sign (SI-SNR minus
    the bound, negative below it).

    Examples
    --------
    >>> gap_to_bound_db(12.0, 20.0)
    8.0
    """
    try:
        return float(bound_db) - float(snr_db)
    except (TypeError, ValueError):
        raise ParameterError(
            f"snr_db and bound_db must be numbers, given snr_db={snr_db!r}, bound_db={bound_db!r}"
        ) from None
