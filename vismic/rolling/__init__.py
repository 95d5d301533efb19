"""Sound from rolling-shutter video: rows as samples at the line rate.

Ordinary (CMOS) cameras read rows one after another, ``line_delay_seconds``
apart, so a 60 fps video holds the object's motion sampled at the line rate
(tens of kHz), with a gap after each frame (the blanking interval). This
package measures each row's horizontal shift against the mean frame
(:func:`row_motion`: local phase of the 1-D DTCWT of
:func:`vismic.decompose.decompose_rows` along the row, with the main path's
:func:`~vismic.phase.local_phase` and :func:`~vismic.combine.band_signals`,
one region per row), places every row at its exposure instant, fills the gaps
(:func:`fill_gaps`) and runs the main path's high-pass, band and denoise stages,
which recovers tones far above the frame rate's Nyquist limit.

Entry points, all returning :class:`~vismic.data.Audio` through the same
:func:`rolling_pipeline`: :func:`recover_rolling_shutter` (frame array),
:func:`recover_rolling_shutter_video` (file, folder or array, streamed; what
``vismic recover --rolling-shutter --line-delay SECONDS`` runs) and the
:class:`RollingShutterRecovery` stage. Test scenes:
:func:`vismic.synth.render_rolling_shutter`.

The example of :func:`recover_rolling_shutter` recovers a 440 Hz tone from a
60 fps video, 15 times the frame rate's Nyquist limit.
"""

from ..decompose import max_row_levels
from ._cli import check_cli_options
from ._fill import FILL_METHODS, fill_gaps
from ._motion import RowEvidence, RowReference, row_motion, row_reference
from ._recover import (
    FillRows,
    RollingShutterRecovery,
    recover_rolling_shutter,
    recover_rolling_shutter_video,
    rolling_pipeline,
)
from ._timing import check_line_delay, rolling_row_times

__all__ = [
    "recover_rolling_shutter",
    "recover_rolling_shutter_video",
    "rolling_pipeline",
    "RollingShutterRecovery",
    "RowEvidence",
    "FillRows",
    "row_motion",
    "row_reference",
    "RowReference",
    "max_row_levels",
    "fill_gaps",
    "FILL_METHODS",
    "rolling_row_times",
    "check_line_delay",
    "check_cli_options",
]
