"""The pipeline :func:`~vismic.recover.recover_sound` runs, and the checks of its numbers."""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from ..combine import BandSum, Combine
from ..decompose import Decompose
from ..denoise import DENOISE_METHODS, BandLimit, Denoise
from ..errors import ParameterError, VismicWarning
from ..phase import LocalPhase
from ..pipeline import Pipeline


#: The region grid :func:`default_pipeline` and :func:`recover_sound` use unless given one.
DEFAULT_GRID = (8, 8)
#: The drift high-pass :func:`recover_sound` puts on the output, and the one ``Stabilise``'s defaults go with.
HIGHPASS_DEFAULT_HZ = 20.0


def default_pipeline(
    *,
    n_levels: Optional[int] = None,
    grid=DEFAULT_GRID,
    highpass_hz: float = HIGHPASS_DEFAULT_HZ,
    low_hz: Optional[float] = None,
    high_hz: Optional[float] = None,
    denoise: Optional[str] = "mmse_lsa",
    magnify=None,
    n_sources: int = 1,
    stabilise: bool = False,
    unhold: bool = False,
) -> Pipeline:
    """The pipeline :func:`recover_sound` runs.

    Steps: ``[unhold] -> [magnify] -> [stabilise] -> light -> decompose -> phase -> bands -> combine ->
    [bandlimit] -> [denoise]``; the combination removes drift. Change a step
    with ``set_params`` (``pipe.set_params(decompose__n_levels=3)``),
    ``replace``, ``insert`` or ``remove``; put an equaliser in with
    :func:`vismic.calibrate.add_equaliser` (before denoising).

    Each parameter is set in one place: the region grid in ``bands__grid``
    (the band signals carry it to the combination), the drift cut-off in
    ``combine__highpass_hz``.

    Parameters
    ----------
    n_levels : int or None
        DTCWT levels; None picks up to 4 from the frame size.
    grid : (rows, cols)
        Regions weighed separately by the combination (see :class:`vismic.combine.BandSum`).
    highpass_hz : float or None
        Drift removal cut-off (see :class:`vismic.combine.Combine`).
    low_hz, high_hz : float, optional
        Extra band limits of the output (``low_hz`` 0: no lower edge).
    denoise : str or None
        One of :data:`vismic.denoise.DENOISE_METHODS`, or None.
    magnify : Stage, optional
        A frame stage (e.g. :class:`vismic.magnify.Magnify`) run before the decomposition.
    n_sources : int
        Separate this many signals carried by different regions (channels of the output).
    stabilise : bool
        Put :class:`vismic.stabilise.Stabilise` before the decomposition: camera drift,
        sway and shake below the sound band and light changes (flicker, exposure) are
        removed from the frames first (see ``benchmarks/bench_nuisance.py``). Off by
        default: it costs up to 0.2 dB on clean scenes and is slower than the projection.
    unhold : bool
        Put :class:`vismic.codec.Unhold` first, for the frames of an MPEG-4 part 2 file
        (``mp4v``, XviD, DivX) that copy most of their coefficients from the frame before;
        the light and decomposition steps then take the first frame (a key frame) as
        their reference, and the grid is at most :data:`UNHELD_MAX_GRID` a side (a
        :class:`~vismic.errors.VismicWarning` says so when a finer grid than the default
        was asked for).
    """
    stabilise = check_switch(stabilise, "stabilise")
    unhold = check_switch(unhold, "unhold")
    _check_pipeline_args(n_levels=n_levels, grid=grid, highpass_hz=highpass_hz, low_hz=low_hz, high_hz=high_hz,
                         n_sources=n_sources)
    steps = []
    if unhold:
        from ..codec import Unhold

        if tuple(grid) != DEFAULT_GRID and tuple(grid) != unheld_grid(grid):
            warnings.warn(f"unhold=True takes at most a {UNHELD_MAX_GRID}x{UNHELD_MAX_GRID} grid (see "
                          f"vismic.recover.UNHELD_MAX_GRID); grid={tuple(grid)!r} becomes {unheld_grid(grid)!r}",
                          VismicWarning, stacklevel=2)
        grid = unheld_grid(grid)
        steps.append(("unhold", Unhold()))
    if magnify is not None:
        steps.append(("magnify", magnify))
    from ..stabilise._light import NormaliseLight

    if stabilise:
        steps.append(("stabilise", stabiliser_for(highpass_hz)))
    # after Stabilise too: what is left of the light against the stabilised reference (the filled
    # border changes the frame's mean as the camera moves; gravel under drift +0.5 dB, others +-0.01)
    # after Unhold only a key frame is as the camera saw it: the others carry scaled-up coded changes
    n_reference_frames = 1 if unhold else "auto"
    steps.append(("light", NormaliseLight(n_reference_frames=n_reference_frames)))
    steps += [
        ("decompose", Decompose(n_levels=n_levels, n_reference_frames=n_reference_frames)),
        ("phase", LocalPhase()),
        ("bands", BandSum(grid=grid)),
        ("combine", Combine(highpass_hz=highpass_hz, n_sources=n_sources)),
    ]
    low_hz = low_hz or None  # 0: no lower edge, as the high-pass's 0
    if low_hz is not None or high_hz is not None:
        steps.append(("bandlimit", BandLimit(low_hz=low_hz, high_hz=high_hz)))
    if denoise is not None and denoise != "none":
        if denoise not in DENOISE_METHODS:
            raise ParameterError(f"denoise must be one of {DENOISE_METHODS} or None, given denoise={denoise!r}")
        steps.append(("denoise", Denoise(method=denoise)))
    return Pipeline(steps)


#: Most regions a side of the grid after :class:`~vismic.codec.Unhold`: its frames carry about 1 % of
#: their coefficients' changes scaled up, so a small region holds a few of them, and the combination's
#: choice of grid and weights followed their noise (brick/music at 64 px, ``mp4v``: an 8x8 grid of one
#: block a region gave -19.4 dB, 4x4 -4.0; at 96 px every grid from 2x2 to 8x8 gave the same to 0.5 dB).
UNHELD_MAX_GRID = 4


def unheld_grid(grid) -> tuple:
    return tuple(min(int(g), UNHELD_MAX_GRID) for g in grid)


def stabiliser_for(highpass_hz):
    """A :class:`~vismic.stabilise.Stabilise` whose track stops where the output's high-pass begins.

    The stage's defaults (cut-off 22 Hz, kernel 0.15 s) go with the 20 Hz high-pass; a lower one
    (clips at 40 fps or less need one below their Nyquist frequency) scales the cut-off down and
    the kernel up alike, so the track still takes only what lies below the sound band, and can
    follow it: at 24 fps the 22 Hz cut-off is past what one-frame blocks can follow, and the
    track took all the motion. A high-pass of 20 Hz or more, or none, keeps the defaults.

    Examples
    --------
    >>> stabiliser_for(2.0)
    Stabilise(cutoff_hz=2.2, kernel_seconds=1.5)
    """
    from ..stabilise import Stabilise

    default = Stabilise()
    if highpass_hz is None or not 0 < highpass_hz < HIGHPASS_DEFAULT_HZ:
        return default
    scale = highpass_hz / HIGHPASS_DEFAULT_HZ
    return Stabilise(cutoff_hz=round(default.cutoff_hz * scale, 6), kernel_seconds=round(default.kernel_seconds / scale, 6))


def check_switch(value, name: str, *, auto: bool = False):
    """``value`` as True or False (a numpy bool too), or ``'auto'`` where ``auto``; anything else refused.

    1 and 0 are refused rather than taken for True and False: the code decides with ``is True``.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if auto and isinstance(value, str) and value == "auto":
        return "auto"
    allowed = "True, False or 'auto'" if auto else "True or False"
    raise ParameterError(f"{name} must be {allowed}, given {name}={value!r}")


#: The lowest filter cut-off :func:`default_pipeline` accepts, in Hz (0 means no filter).
MIN_CUTOFF_HZ = 0.01


def _check_pipeline_args(*, n_levels, grid, highpass_hz, low_hz, high_hz, n_sources) -> None:
    """The numbers of :func:`default_pipeline`, checked where the user gave them (the stages check them again)."""
    from .._checks import check_grid, check_int, check_non_negative, check_positive

    if n_levels is not None:
        check_int(n_levels, "n_levels", minimum=1)
    check_grid(grid)
    for name, value in (("highpass_hz", highpass_hz), ("low_hz", low_hz), ("high_hz", high_hz)):
        if value is None:
            continue
        hz = check_non_negative(value, name) if name != "high_hz" else check_positive(value, name)
        # A cut-off of 1e-300 Hz makes the filter design singular; none that low acts within a video.
        if 0 < hz < MIN_CUTOFF_HZ:
            raise ParameterError(f"{name} must be 0 (no filter) or at least {MIN_CUTOFF_HZ:g} Hz, given {name}={value!r}")
    if low_hz is not None and high_hz is not None and low_hz >= high_hz:
        raise ParameterError(f"low_hz must be below high_hz, given low_hz={low_hz!r}, high_hz={high_hz!r}")
    check_int(n_sources, "n_sources", minimum=1)
