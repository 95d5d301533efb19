"""What a lossy video codec did to the frames, undone where it can be.

:class:`Unhold` (a streaming frame stage; :func:`unhold` on arrays) turns the frames of an
MPEG-4 part 2 file (OpenCV's ``mp4v``, XviD, DivX), which copy most of their 8x8 DCT
coefficients from the frame before, into frames whose coded changes measure the whole
frame's motion. :func:`vismic.recover_sound` runs it when the frames show held blocks
(``unhold='auto'``).
"""

from ._unhold import (
    CODED_CHANGE,
    SHRINKAGE,
    Unhold,
    UnholdReport,
    UnholdState,
    block_dct,
    block_idct,
    unhold,
)

__all__ = ["Unhold", "UnholdReport", "UnholdState", "unhold", "block_dct", "block_idct", "CODED_CHANGE", "SHRINKAGE"]
