"""Decomposition of frames into complex DTCWT sub-bands (levels x 6 orientations), and of rows into 1-D ones."""

from ._dtcwt import (DTCWT_ORIENTATIONS_DEGREES, Decompose, decompose, max_levels, reference_frame_count,
                     reference_pyramid)
from ._fast import decompose_rows, max_row_levels
from ._gradient import image_gradient

__all__ = ["decompose", "Decompose", "reference_pyramid", "image_gradient", "max_levels", "DTCWT_ORIENTATIONS_DEGREES",
           "decompose_rows", "max_row_levels", "reference_frame_count"]
