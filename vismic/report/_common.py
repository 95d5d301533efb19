"""What the report writers share: reading a recovery defensively, and JSON-safe values."""

from __future__ import annotations

import datetime
import inspect
import math
import numbers
import os
from pathlib import Path

import numpy as np

from ..errors import FrameShapeError, ParameterError

#: Arrays with more elements than this are summarised (shape, dtype, range) instead of listed.
MAX_LISTED_ELEMENTS = 4096


#: The end of every file writer's docstring (:func:`writer_doc`): what it returns and
#: when it refuses; the writer finishes the sentence with what it has done by then.
_WRITER_RETURNS = """Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    OutputError
        The folder does not exist or cannot be written, or ``path`` is the
        input video or the WAV"""


def writer_doc(function):
    """Decorator: ``%(writer_returns)s`` in the docstring becomes the writers' Returns and Raises."""
    if function.__doc__ is not None:
        function.__doc__ = function.__doc__.replace("%(writer_returns)s", _WRITER_RETURNS)
    return function


def version() -> str:
    from .. import __version__

    return __version__


def utc_now() -> str:
    """Current time as an ISO 8601 UTC string, to the second (``2026-12-01T21:00:00Z``)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def info_of(rec) -> dict:
    info = getattr(rec, "info", None)
    return info if isinstance(info, dict) else {}


def field_of(rec, name: str):
    """``rec.<name>`` when the result type has it as a typed field, else ``rec.info[name]``, else None."""
    value = getattr(rec, name, None)
    if value is None:
        value = info_of(rec).get(name)
    return value


def samples_of(rec) -> np.ndarray:
    """The recovered samples ``(n,)`` or ``(n_channels, n)`` of a Recovery or an Audio."""
    samples = getattr(rec, "samples", None)
    if samples is None:
        samples = getattr(rec, "audio", None)
    if samples is None:
        raise ParameterError(
            f"expected a recovery with .samples (or .audio) and .sr, given {type(rec).__name__}"
        )
    samples = np.asarray(samples)
    if samples.dtype == np.bool_ or not np.issubdtype(samples.dtype, np.number) or np.iscomplexobj(samples):
        raise ParameterError(f"recovered samples must be real numbers, given dtype={samples.dtype}")
    if samples.ndim not in (1, 2) or samples.shape[-1] == 0:
        raise FrameShapeError(
            f"recovered samples must have shape (n,) or (n_channels, n) with n > 0, given shape={samples.shape}"
        )
    return samples.astype(np.float64, copy=False)


def sr_of(rec) -> float:
    sr = getattr(rec, "sr", None)
    if isinstance(sr, bool) or not isinstance(sr, numbers.Real) or not math.isfinite(sr) or sr <= 0:
        raise ParameterError(f"the recovery's sample rate must be a positive number of Hz, given sr={sr!r}")
    return float(sr)


def array_or_none(value, ndim: int):
    """``value`` as a float array of ``ndim`` dimensions, or None when absent or of another shape."""
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if array.ndim != ndim or array.size == 0:
        return None
    return array


def finite_or_none(value):
    """A finite float, or None (absent, NaN, infinite or not a number)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def json_safe(value):
    """A structure ``json.dumps(..., allow_nan=False)`` accepts, built from ``value``.

    NumPy scalars become Python numbers, NaN and infinities become None, tuples
    and sets become lists, paths become strings, small arrays become (nested)
    lists and large ones a summary, dictionary keys become strings (a tuple key
    ``(8, 8)`` becomes ``"8x8"``), stages become their name and parameters, and
    anything else its ``repr``.

    Examples
    --------
    >>> import numpy as np
    >>> json_safe({"snr": np.float32(np.nan), (2, 2): np.arange(3), "grid": (8, 8)})
    {'snr': None, '2x2': [0, 1, 2], 'grid': [8, 8]}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (complex, np.complexfloating)):
        return {"real": json_safe(value.real), "imag": json_safe(value.imag)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, dict):
        return {_key(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(item) for item in value), key=repr)
    if hasattr(value, "get_params") and not inspect.isclass(value):
        return stage_description(value)
    return repr(value)


def _key(key) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, tuple):
        return "x".join(str(json_safe(part)) for part in key)
    return str(json_safe(key))


def _array(array: np.ndarray):
    if array.size <= MAX_LISTED_ELEMENTS and array.dtype != object:
        return json_safe(array.tolist())
    summary = {"array_shape": list(array.shape), "dtype": str(array.dtype)}
    if np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array) and array.size:
        finite = array[np.isfinite(array)]
        if finite.size:
            summary["min"] = json_safe(finite.min())
            summary["max"] = json_safe(finite.max())
    return summary


def stage_description(stage) -> dict:
    """``{"class": ..., "repr": ..., "params": {...}}`` of a stage (parameters JSON-safe, nested stages too)."""
    try:
        params = dict(stage.get_params())
    except Exception as error:  # a third-party stage whose get_params fails still gets its repr recorded
        params = {"error": f"get_params failed: {error}"}
    return {
        "class": f"{type(stage).__module__}.{type(stage).__qualname__}",
        "repr": repr(stage),
        "params": {name: json_safe(value) for name, value in params.items()},
    }


def pipeline_description(pipeline):
    """The steps of a :class:`~vismic.Pipeline` with every parameter; a dict of parameters as given.

    Returns None for None.
    """
    if pipeline is None:
        return None
    steps = getattr(pipeline, "steps", None)
    if steps is not None:
        described = []
        for entry in steps:
            name, stage = entry if isinstance(entry, tuple) and len(entry) == 2 else (type(entry).__name__, entry)
            described.append({"name": str(name), **stage_description(stage)})
        return {"repr": repr(pipeline), "steps": described}
    if isinstance(pipeline, dict):
        return {"params": json_safe(pipeline)}
    return {"repr": repr(pipeline)}


def parameter_rows(params) -> list:
    """``[(step, parameter, value text), ...]`` for a parameter table, from a Pipeline or a dict."""
    if params is None:
        return []
    steps = getattr(params, "steps", None)
    rows = []
    if steps is not None:
        for entry in steps:
            name, stage = entry if isinstance(entry, tuple) and len(entry) == 2 else (type(entry).__name__, entry)
            try:
                stage_params = dict(stage.get_params())
            except Exception:
                stage_params = {}
            rows.append((str(name), "", type(stage).__name__))
            rows.extend((str(name), key, _text(value)) for key, value in stage_params.items())
        return rows
    if isinstance(params, dict):
        for key, value in params.items():
            step, sep, param = str(key).partition("__")
            rows.append((step, param, _text(value)) if sep else ("", step, _text(value)))
        return rows
    return [("", "", repr(params))]


def _text(value) -> str:
    if hasattr(value, "get_params") and not inspect.isclass(value):
        return repr(value)
    if isinstance(value, np.ndarray) and value.size > 16:
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(json_safe(value)) if isinstance(value, (np.generic, np.ndarray)) else repr(value)


def motion_units(rec) -> str:
    """What the samples' pixels are: the frame's, or after ``--downsample`` those of the frames analysed."""
    factor = info_of(rec).get("downsample", 1)
    if isinstance(factor, (int, np.integer)) and factor > 1:
        return (f"px of the frames as analysed, {factor}x{factor} source px each (--downsample {factor}): "
                f"multiply by {factor} for the source's px")
    return "px (motion of the object in the frame)"


def source_description(source, rec) -> dict:
    """What the sidecar says about the input: path, size, format, frames, rate and its origin."""
    info = info_of(rec)
    path = getattr(source, "path", None) if source is not None and not isinstance(source, (str, os.PathLike)) else source
    if path is None:
        path = info.get("source_path")
    described = {"path": None, "size_bytes": None, "format": None}
    if path is not None:
        path = Path(path)
        described["path"] = str(path)
        described["size_bytes"] = _size(path)
        described["format"] = getattr(source, "format", None) or _format(path)
    elif source is not None or info:
        described["format"] = getattr(source, "format", None) or "array"
    described["n_frames"] = json_safe(info.get("n_frames"))
    reference = array_or_none(field_of(rec, "reference_frame"), 2)
    frame_shape = getattr(source, "frame_shape", None)
    if frame_shape is None and reference is not None:
        frame_shape = reference.shape
    described["frame_shape"] = json_safe(frame_shape)
    described["full_shape"] = json_safe(getattr(source, "full_shape", None))
    fps = getattr(source, "fps", None)
    if fps is None:
        fps = info.get("fps")
    described["fps"] = json_safe(fps)
    described["fps_source"] = str(getattr(source, "fps_source", None) or "argument")
    described["container_fps"] = json_safe(getattr(source, "container_fps", None))
    described["codec"] = getattr(source, "codec", None) or info.get("codec")
    described["roi"] = json_safe(getattr(source, "roi", None))
    described["downsample"] = json_safe(getattr(source, "downsample", None))
    # the low-pass before the block means, in px of the frames read per unit of downsample (0: block means alone)
    # (recover_sound's own where it read the frames again with a stronger one: info["fast_motion"])
    described["anti_alias"] = (json_safe(info.get("anti_alias", getattr(source, "anti_alias", None)))
                               if (getattr(source, "downsample", 1) or 1) > 1 else None)
    described["max_frames"] = json_safe(getattr(source, "max_frames", None))
    # after a blank lead-in (vismic._blank): the frame the recovery started from, silence before it
    described["start_frame"] = json_safe(info.get("start_frame", 0))
    return described


def _format(path: Path) -> str:
    if path.is_dir():
        return "folder"
    return path.suffix.lower().lstrip(".") or "unknown"


def _size(path: Path):
    """Bytes of a file, or of the files directly inside a folder; None when it cannot be read."""
    try:
        if path.is_dir():
            return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
        return path.stat().st_size
    except OSError:
        return None


def sound_map_summary(sound_map, reference_shape=None, *, n_top: int = 5, roi=None, downsample: int = 1):
    """Grid shape, max, mean and the ``n_top`` strongest regions of a sound map; None without one.

    Each region gives its ``row``, ``col``, ``value`` and, when the frame size is
    known, its ``box_px`` ``[x, y, width, height]`` in the analysed frame (the
    grid splits the frame evenly, as :func:`vismic.combine.region_labels` does)
    and, given the ``roi`` ``(x, y, width, height)`` read and the ``downsample``
    factor, ``box_px_in_video``: the same box in the video's own pixels.
    """
    sound_map = array_or_none(sound_map, 2)
    if sound_map is None:
        return None
    rows, cols = sound_map.shape
    finite = np.where(np.isfinite(sound_map), sound_map, -np.inf)
    order = np.argsort(finite, axis=None, kind="stable")[::-1][:n_top]
    top = []
    for flat in order:
        row, col = divmod(int(flat), cols)
        if not np.isfinite(sound_map[row, col]):
            continue
        region = {"row": row, "col": col, "value": float(sound_map[row, col])}
        if reference_shape is not None:
            height, width = reference_shape
            y0, y1 = -(-row * height // rows), -(-(row + 1) * height // rows)
            x0, x1 = -(-col * width // cols), -(-(col + 1) * width // cols)
            region["box_px"] = [x0, y0, x1 - x0, y1 - y0]
            if roi is not None:
                k = int(downsample)
                region["box_px_in_video"] = [int(roi[0]) + k * x0, int(roi[1]) + k * y0, k * (x1 - x0), k * (y1 - y0)]
        top.append(region)
    values = sound_map[np.isfinite(sound_map)]
    return {
        "grid": [rows, cols],
        "max": float(values.max()) if values.size else None,
        "mean": float(values.mean()) if values.size else None,
        "top_regions": top,
    }
