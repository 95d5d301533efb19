"""Export the recovered motion (px, with its time axis) for modal-analysis tools."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..io._atomic import check_destination, check_not_input, temporary_file
from . import _common

__all__ = ["MOTION_FORMATS", "save_motion"]

#: File suffixes :func:`save_motion` writes.
MOTION_FORMATS = (".npz", ".csv")


def save_motion(path, rec):
    """Write the recovered motion with its time axis as ``.npz`` or ``.csv`` (by suffix), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ending in ``.npz`` or ``.csv``; its folder must exist.
    rec : vismic.recover.Recovery or vismic.data.Audio
        The recovery; its samples are the motion in px at the capture rate.

    Returns
    -------
    pathlib.Path
        The file written.

    Notes
    -----
    ``.npz`` (``numpy.load`` without pickles) holds ``motion_px`` ``(n,)`` or
    ``(n_channels, n)``, ``time_s`` ``(n,)`` (frame ``k`` at ``k / sr``),
    ``sr``, ``vismic_version``, and when the recovery has them
    ``region_gain``, ``region_weights``, ``sound_map`` ``(rows, cols)``,
    ``direction_degrees``, ``snr_estimate_db``, ``noise_std_px``,
    ``n_frames``.

    ``.csv`` starts with ``#`` comment lines (vismic version, ``sr_hz``,
    ``direction_degrees``, ``snr_estimate_db`` (comma-separated, one per
    channel, for several), units), then a header row
    ``time_s,motion_px`` (``time_s,motion_px_1,motion_px_2,...`` for several
    channels) and one row per frame, numbers written to round-trip exactly.

    Raises
    ------
    ParameterError
        The suffix is neither ``.npz`` nor ``.csv``.
    OutputError
        The folder does not exist or cannot be written, or ``path`` is the
        input video; nothing is written.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from vismic.data import Audio
    >>> rec = Audio(0.1 * np.sin(np.arange(220.0)), 2200.0, {"direction_degrees": 12.0})
    >>> out = save_motion(os.path.join(tempfile.mkdtemp(), "motion.npz"), rec)
    >>> with np.load(out) as motion:
    ...     motion["motion_px"].shape, float(motion["time_s"][1]), float(motion["direction_degrees"])
    ((220,), 0.00045454545454545455, 12.0)
    """
    path = check_destination(path, what="motion file")
    suffix = path.suffix.lower()
    if suffix not in MOTION_FORMATS:
        raise ParameterError(
            f"the motion file must end in {' or '.join(MOTION_FORMATS)}, given {str(path)!r}; "
            "choose .npz (NumPy) or .csv (spreadsheets, modal-analysis tools)"
        )
    check_not_input(path, [_common.info_of(rec).get("source_path")], what="motion file")
    samples = _common.samples_of(rec)
    sr = _common.sr_of(rec)
    time_s = np.arange(samples.shape[-1]) / sr
    with temporary_file(path, what="motion file") as temporary:
        if suffix == ".npz":
            _write_npz(temporary, rec, samples, time_s, sr)
        else:
            _write_csv(temporary, rec, samples, time_s, sr)
    return path


def _scalars(rec) -> dict:
    """The recovery's direction, estimate and noise: a float each, or a 1-D float array of one per channel."""
    scalars = {}
    for name in ("direction_degrees", "snr_estimate_db", "noise_std_px"):
        value = _common.field_of(rec, name)
        if value is not None and np.ndim(value) <= 1:
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                continue
            scalars[name] = float(array) if array.ndim == 0 else array
    return scalars


def _csv_value(value) -> str:
    return repr(float(value)) if np.ndim(value) == 0 else ",".join(repr(float(v)) for v in value)


def _write_npz(temporary, rec, samples, time_s, sr) -> None:
    arrays = {"motion_px": samples, "time_s": time_s, "sr": np.float64(sr),
              "vismic_version": np.str_(_common.version())}
    for name in ("region_gain", "region_weights", "sound_map"):
        value = _common.field_of(rec, name)
        if value is None:
            continue
        array = np.asarray(value)
        if np.issubdtype(array.dtype, np.number):  # never an object array: the file must load without pickles
            arrays[name] = array
    arrays.update({name: np.asarray(value, dtype=np.float64) for name, value in _scalars(rec).items()})
    n_frames = _common.info_of(rec).get("n_frames")
    if n_frames is not None:
        arrays["n_frames"] = np.int64(n_frames)
    with open(temporary, "wb") as file:
        np.savez(file, **arrays)


def _write_csv(temporary, rec, samples, time_s, sr) -> None:
    scalars = _scalars(rec)
    lines = [
        f"# vismic {_common.version()} motion export",
        f"# sr_hz={sr!r}",
        f"# direction_degrees={_csv_value(scalars.get('direction_degrees', float('nan')))}",
        f"# snr_estimate_db={_csv_value(scalars.get('snr_estimate_db', float('nan')))}",
        f"# time_s in seconds from the first frame; motion_px along the direction of motion, in {_common.motion_units(rec)}",
    ]
    channels = samples[None] if samples.ndim == 1 else samples
    # channels counted from 1, as the summary, the report and the sidecar name them
    names = ["motion_px"] if samples.ndim == 1 else [f"motion_px_{index + 1}" for index in range(len(channels))]
    table = np.column_stack([time_s, channels.T])
    with open(temporary, "w", encoding="utf-8", newline="") as file:
        file.write("\n".join(lines) + "\n")
        file.write(",".join(["time_s", *names]) + "\n")
        np.savetxt(file, table, fmt="%.17g", delimiter=",")
