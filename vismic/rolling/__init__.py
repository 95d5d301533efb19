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

Examples
--------
>>> import numpy as np
>>> from vismic import synth
>>> from vismic.rolling import recover_rolling_shutter
>>> delay = 1 / (60 * 64 * 1.2)
>>> scene = synth.render_rolling_shutter(
...     synth.texture("noise", size=(64, 64)), lambda t: 0.1 * np.sin(2 * np.pi * 440 * t),
...     fps=60.0, line_delay_seconds=delay, n_frames=32, noise_std=1.0)
>>> audio = recover_rolling_shutter(scene.frames, fps=60.0, line_delay_seconds=delay)
>>> spectrum = np.abs(np.fft.rfft(audio.samples))
>>> peak_hz = np.fft.rfftfreq(len(audio), 1 / audio.sr)[np.argmax(spectrum)]
>>> bool(abs(peak_hz - 440) < 3)   # 15 times the frame rate's Nyquist limit
True
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
