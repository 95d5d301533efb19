"""What ``vismic recover --rolling-shutter`` does with the other options of ``vismic recover``."""

from __future__ import annotations

from ..errors import ParameterError

__all__ = ["check_cli_options"]

#: ``vismic recover``'s default ``--grid`` (what the parser hands over when the option is not given).
_DEFAULT_GRID = "8,8"


def check_cli_options(args) -> None:
    """Refuse, in one line naming it, each ``vismic recover`` option rolling-shutter recovery cannot honour.

    Honoured: ``--roi``, ``--downsample``, ``--levels`` (1-D levels along
    the rows), ``--highpass``, ``--band``, ``--denoise``, ``--equalise``,
    ``--resample``, ``--float``, ``--plot``, ``--max-frames``. Refused:
    ``--grid`` (every row is already measured on its own, and the rows' motion
    is combined by its information, not by regions: choose the moving part
    with ``--roi``) and ``--sources`` other than 1 (separating sources needs
    regions that carry different signals).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``vismic recover`` arguments (``grid``, ``sources``).

    Raises
    ------
    vismic.errors.ParameterError

    Examples
    --------
    >>> from argparse import Namespace
    >>> check_cli_options(Namespace(grid="8,8", sources=1))
    >>> check_cli_options(Namespace(grid="4,4", sources=1))
    Traceback (most recent call last):
    ...
    vismic.errors.ParameterError: --grid does not apply with --rolling-shutter: every row is measured on its own; choose the moving part with --roi X,Y,W,H instead
    """
    grid = getattr(args, "grid", None)
    if grid is not None and str(grid).replace(" ", "") != _DEFAULT_GRID:
        raise ParameterError(
            "--grid does not apply with --rolling-shutter: every row is measured on its own; "
            "choose the moving part with --roi X,Y,W,H instead"
        )
    sources = getattr(args, "sources", 1)
    if sources != 1:
        raise ParameterError(
            f"--sources {sources} does not apply with --rolling-shutter: it separates signals carried by "
            "different regions, and rolling-shutter recovery measures one horizontal motion; leave --sources out"
        )
