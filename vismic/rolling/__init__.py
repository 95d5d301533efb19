"""Sound from rolling-shutter video: rows as samples at the line rate.

Ordinary (CMOS) cameras read rows one after another, ``line_delay_seconds``
apart, so a 60 fps video holds the object's motion sampled at the line rate
(tens of kHz), with a gap after each frame (the blanking interval). This
package measures each row's horizontal shift against the mean frame
(:func:`row_motion`, local phase of a 1-D DTCWT along the row), places every
row at its exposure instant, fills the gaps (:func:`fill_gaps`) and removes
drift, which recovers tones far above the frame rate's Nyquist limit.

Entry points: :func:`recover_rolling_shutter` (frame array -> :class:`~vismic.data.Audio`),
:func:`recover_rolling_shutter_video` (file, folder or array, streamed ->
:class:`~vismic.recover.Recovery`; what ``vismic recover --rolling-shutter
--line-delay SECONDS`` runs) and the :class:`RollingShutterRecovery` stage.
Test scenes: :func:`vismic.synth.render_rolling_shutter`.

Examples
--------
>>> import numpy as np
>>> from vismic import synth
>>> from vismic.rolling import recover_rolling_shutter
>>> delay = 1 / (60 * 64 * 1.2)
>>> scene = synth.render_rolling_shutter(
...     synth.texture("noise", size=(64, 64)), lambda t: 0.1 * np.sin(2 * np.pi * 440 * t),
...     fps=60.0, line_delay_seconds=delay, n_frames=30, noise_std=1.0)
>>> audio = recover_rolling_shutter(scene.frames, fps=60.0, line_delay_seconds=delay)
>>> spectrum = np.abs(np.fft.rfft(audio.samples))
>>> round(float(np.fft.rfftfreq(len(audio), 1 / audio.sr)[np.argmax(spectrum)]))
440
"""

from ..synth._rolling import check_line_delay, rolling_row_times
from ._fill import FILL_METHODS, fill_gaps
from ._motion import RowReference, max_row_levels, row_motion, row_reference
from ._recover import MIN_FRAMES, RollingShutterRecovery, recover_rolling_shutter, recover_rolling_shutter_video

__all__ = [
    "recover_rolling_shutter",
    "recover_rolling_shutter_video",
    "RollingShutterRecovery",
    "row_motion",
    "row_reference",
    "RowReference",
    "max_row_levels",
    "fill_gaps",
    "FILL_METHODS",
    "rolling_row_times",
    "check_line_delay",
    "MIN_FRAMES",
]
