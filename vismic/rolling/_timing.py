"""When each row was exposed: line delay, row times, the line-rate output grid.

An ordinary (CMOS) camera reads its rows one after another: row ``y`` of frame
``t`` sees the scene at ``t / fps + y * line_delay_seconds``, and after the last
row the sensor waits for the next frame (the blanking interval). The test bed
(:func:`vismic.synth.render_rolling_shutter`) renders scenes with these same
functions.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_positive
from ..errors import ParameterError

__all__ = ["check_line_delay", "rolling_row_times", "line_rate_samples", "row_geometry"]


def check_line_delay(line_delay_seconds, *, fps, n_rows: int) -> float:
    """Check a rolling shutter's line delay against the frame rate.

    Parameters
    ----------
    line_delay_seconds : float
        Time between the exposure of consecutive rows (> 0).
    fps : float
        Frame rate.
    n_rows : int
        Rows read out per frame (the sensor's, not a crop's).

    Returns
    -------
    float

    Raises
    ------
    vismic.errors.ParameterError
        ``line_delay_seconds <= 0``, or ``line_delay_seconds * n_rows`` longer
        than the frame period ``1 / fps`` (the rows of consecutive frames would
        overlap).

    Examples
    --------
    >>> check_line_delay(1e-4, fps=60.0, n_rows=100)
    0.0001
    """
    fps = check_positive(fps, "fps")
    delay = check_positive(line_delay_seconds, "line_delay_seconds")
    readout = delay * n_rows
    if readout > (1.0 + 1e-9) / fps:
        raise ParameterError(
            f"line_delay_seconds={delay!r} x {n_rows} rows = {readout:.6g} s is longer than the frame period "
            f"1/fps = {1.0 / fps:.6g} s (fps={fps!r}): rows of consecutive frames would overlap; "
            f"the line delay can be at most {1.0 / (fps * n_rows):.6g} s"
        )
    return delay


def rolling_row_times(n_frames: int, n_rows: int, *, fps: float, line_delay_seconds: float,
                      first_row: float = 0.0, row_step: float = 1.0) -> np.ndarray:
    """Exposure instant of every row of every frame, in seconds.

    ``t / fps + (first_row + row_step * y) * line_delay_seconds``; ``first_row``
    and ``row_step`` place the rows of a crop (first sensor row) or of a
    block-averaged video (``row_step`` = the block size, ``first_row`` = the
    crop's first row + ``(row_step - 1) / 2``: a block's time is the mean of its
    rows' times).

    Returns
    -------
    np.ndarray [shape=(n_frames, n_rows)], float64

    Examples
    --------
    >>> rolling_row_times(2, 3, fps=10.0, line_delay_seconds=0.01)
    array([[0.  , 0.01, 0.02],
           [0.1 , 0.11, 0.12]])
    """
    frames = np.arange(int(n_frames))[:, None] / float(fps)
    rows = (float(first_row) + float(row_step) * np.arange(int(n_rows)))[None, :]
    return frames + rows * float(line_delay_seconds)


def line_rate_samples(last_time_seconds: float, sr: float) -> int:
    """Samples ``m / sr`` (m = 0, 1, ...) from 0 up to ``last_time_seconds`` included.

    Examples
    --------
    >>> line_rate_samples(0.01, 1000.0)
    11
    """
    return int(np.floor(last_time_seconds * sr + 1e-6)) + 1


def row_geometry(first_row, row_step, sensor_rows, n_rows: int):
    """Check where ``n_rows`` frame rows lie on the sensor: ``(first_row, row_step, sensor_rows)``.

    ``sensor_rows`` None takes the rows the frames span.

    Raises
    ------
    vismic.errors.ParameterError
        ``first_row < 0``, ``row_step <= 0``, or ``sensor_rows`` fewer than
        the rows the frames span.

    Examples
    --------
    >>> row_geometry(32.5, 2, None, 32)   # rows 32..95 averaged in pairs
    (32.5, 2.0, 96)
    """
    if isinstance(first_row, bool) or not isinstance(first_row, (int, float, np.integer, np.floating)) \
            or not math.isfinite(first_row) or first_row < 0:
        raise ParameterError(f"first_row must be a number >= 0, given first_row={first_row!r}")
    first_row = float(first_row)
    row_step = check_positive(row_step, "row_step")
    covered = int(np.ceil(first_row + row_step * (n_rows - 1) + 0.5 * (row_step - 1) + 1 - 1e-9))
    if sensor_rows is None:
        sensor_rows = covered
    if isinstance(sensor_rows, bool) or not isinstance(sensor_rows, (int, np.integer)) or sensor_rows < covered:
        raise ParameterError(
            f"sensor_rows must be an integer >= the {covered} rows the frames span, given sensor_rows={sensor_rows!r}"
        )
    return first_row, row_step, int(sensor_rows)
