"""What a lossy video codec did to the frames, undone where it can be.

:class:`Unhold` (a streaming frame stage; :func:`unhold` on arrays) turns the frames of an
MPEG-4 part 2 file (OpenCV's ``mp4v``, XviD, DivX), which copy most of their 8x8 DCT
coefficients from the frame before, into frames whose coded changes measure the whole
frame's motion. :func:`vismic.recover_sound` runs it when asked (``unhold=True``), or with
``unhold='auto'`` when the frames show held blocks. Opt-in: it helps a whole frame moving by
a fraction of a pixel under sensor noise (``benchmarks/bench_nuisance.py``,
``benchmarks/bench_unhold.py``) and hurt real clips exported as ``mp4v``
(``benchmarks/bench_footage.py --mp4v``).
"""

from ._unhold import (
    BLOCK,
    CODED_CHANGE,
    SHRINKAGE,
    Unhold,
    UnholdReport,
    UnholdState,
    block_dct,
    block_idct,
    unhold,
)

__all__ = ["BLOCK", "Unhold", "UnholdReport", "UnholdState", "unhold", "block_dct", "block_idct", "CODED_CHANGE", "SHRINKAGE"]
