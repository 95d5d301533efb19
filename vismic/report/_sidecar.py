"""The provenance sidecar: a JSON file beside each WAV saying how it was made."""

from __future__ import annotations

import json
import os
import warnings as _warnings
from pathlib import Path

import numpy as np

from ..io._atomic import check_destination, check_not_input, temporary_file
from ..errors import ParameterError
from . import _common

__all__ = ["sidecar_path", "sidecar_dict", "write_sidecar", "check_sidecar_replaceable"]

#: Version of the sidecar's layout; raised when a key changes meaning or disappears.
SIDECAR_SCHEMA = 1


def sidecar_path(wav_path) -> Path:
    """The sidecar's path for a WAV: the same name with ``.json`` (``out.wav`` -> ``out.json``).

    Examples
    --------
    >>> str(sidecar_path("take1/out.wav"))
    'take1/out.json'
    """
    if not isinstance(wav_path, (str, os.PathLike)):
        raise ParameterError(f"the WAV path must be a string or path, given {wav_path!r}")
    return Path(wav_path).with_suffix(".json")


def is_vismic_sidecar(path) -> bool:
    """Whether ``path`` is a sidecar vismic wrote (a JSON object with its ``schema`` and ``vismic_version``)."""
    try:
        with open(path, "rb") as file:
            text = file.read(1 << 22)
        found = json.loads(text.decode("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(found, dict) and "schema" in found and "vismic_version" in found


def check_sidecar_replaceable(path) -> None:
    """Refuse to let a sidecar replace a file at ``path`` that is not an earlier vismic sidecar.

    The command line names the sidecar after the WAV (``out.wav`` -> ``out.json``), so the
    user never chose that name: a ``clip.json`` of their own beside ``clip.wav`` was replaced
    without a word. An earlier sidecar (a JSON object with vismic's ``schema`` and
    ``vismic_version``) is replaced, as a rerun expects.

    Raises
    ------
    OutputError
        Naming the file and what to do instead.
    """
    from ..errors import OutputError

    path = Path(path)
    if path.exists() and not is_vismic_sidecar(path):
        raise OutputError(f"{str(path)!r} exists and is not a sidecar vismic wrote: the WAV's provenance sidecar "
                          "would replace it; choose another -o, move that file, or give --no-sidecar")


def sidecar_dict(rec, *, source=None, pipeline=None, wav_info=None, warnings=(), timings=None, extra=None) -> dict:
    """What :func:`write_sidecar` writes, as a JSON-safe dict (see there for the parameters)."""
    samples = _common.samples_of(rec)
    sr = _common.sr_of(rec)
    info = _common.info_of(rec)
    reference = _common.array_or_none(_common.field_of(rec, "reference_frame"), 2)
    sound_map = _common.field_of(rec, "sound_map")
    described = {
        "schema": SIDECAR_SCHEMA,
        "vismic_version": _common.version(),
        "created_utc": _common.utc_now(),
        "input": _common.source_description(source, rec),
        "pipeline": _common.pipeline_description(pipeline),
        "result": {
            "sr": sr,
            "n_samples": int(samples.shape[-1]),
            "n_channels": 1 if samples.ndim == 1 else int(samples.shape[0]),
            "duration_seconds": samples.shape[-1] / sr,
            "units": _common.motion_units(rec),
            "snr_estimate_db": _per_channel(_common.field_of(rec, "snr_estimate_db")),
            # a denoiser's own estimate replaced it (vismic.denoise._estimate): the one before
            "denoised": _common.json_safe(info.get("denoised")),
            "noise_std_px": _common.finite_or_none(_common.field_of(rec, "noise_std_px")),
            "direction_degrees": _per_channel(_common.field_of(rec, "direction_degrees")),
            "combine_method": _common.json_safe(info.get("method")),
            "combine_grid": _common.json_safe(info.get("grid")),
            "projection_precision": _common.json_safe(info.get("precision")),
            # why recover_sound added steps on a second pass (the pipeline above, when it is rec.info["pipeline"],
            # holds them)
            "stabilised": _common.json_safe(info.get("stabilised")),
            "unheld": _common.json_safe(info.get("unheld")),
            "unhold": _common.json_safe(info.get("unhold")),
            # what the codec checks measured (vismic.codec): jumps at key frames, a replica through the codec
            "key_frame_jumps": _common.json_safe(info.get("key_frame_jumps")),
            "codec_replica": _common.json_safe(info.get("codec_replica")),
            "key_frames": _common.json_safe(info.get("key_frames")),
            # frames that leapt alone, repaired (vismic.combine._lone_leaps)
            "lone_leaps": _common.json_safe(info.get("lone_leaps")),
        },
        "sound_map": _common.sound_map_summary(sound_map, None if reference is None else reference.shape,
                                               roi=getattr(source, "roi", None),
                                               downsample=getattr(source, "downsample", 1) or 1),
        "wav": _wav_description(wav_info),
        "warnings": warning_texts(warnings),
        "timings_seconds": _common.json_safe(dict(timings)) if timings else {},
    }
    if extra:
        described["extra"] = _common.json_safe(dict(extra))
    return _common.json_safe(described)


@_common.writer_doc
def write_sidecar(path, rec, *, source=None, pipeline=None, wav_info=None, warnings=(), timings=None, extra=None) -> Path:
    """Write the provenance of a recovery as strict JSON, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination, usually :func:`sidecar_path` ``(wav_path)``; its folder must exist.
    rec : vismic.recover.Recovery or vismic.data.Audio
        The recovery (``samples``/``audio``, ``sr``, ``info``). Parts it lacks
        (sound map, SNR estimate, ...) are written as null.
    source : VideoSource, str or Path, optional
        What was read: a :class:`~vismic.io.VideoSource` gives the ROI,
        downsampling and the capture rate with its origin (``fps_source``,
        ``'argument'`` when it does not say); a path gives at least the file.
        Defaults to ``rec.info['source_path']``.
    pipeline : Pipeline or dict, optional
        The pipeline that ran (every step and parameter is recorded) or a dict
        of parameters.
    wav_info : vismic.io.WavInfo, optional
        The WAV written (path, rate, samples, subtype).
    warnings : sequence of str or warnings.WarningMessage
        Warnings raised while recovering.
    timings : dict, optional
        Seconds per phase, e.g. ``{"read_and_decompose": 3.2, "write": 0.1}``.
    extra : dict, optional
        Anything else to record (made JSON-safe).

    %(writer_returns)s; nothing is written.

    Notes
    -----
    Keys: ``schema``, ``vismic_version``, ``created_utc``, ``input`` (``path``,
    ``size_bytes``, ``format``, ``n_frames``, ``frame_shape``, ``fps``,
    ``fps_source``, ``container_fps``, ``codec``, ``roi``, ``downsample``...),
    ``pipeline`` (``steps``: name, class, repr, params), ``result`` (``sr``,
    ``n_samples``, ``snr_estimate_db``, ``direction_degrees``...),
    ``sound_map`` (``grid``, ``max``, ``mean``, ``top_regions``), ``wav``,
    ``warnings``, ``timings_seconds`` and ``extra``. Values that are not
    finite are written as null, so the file is strict JSON.

    Examples
    --------
    >>> import json, os, tempfile, numpy as np
    >>> from vismic.data import Audio
    >>> rec = Audio(np.sin(np.arange(220.0)), 2200.0, {"snr_estimate_db": float("nan")})
    >>> out = write_sidecar(os.path.join(tempfile.mkdtemp(), "out.json"), rec)
    >>> with open(out) as file:
    ...     sidecar = json.load(file)
    >>> sidecar["result"]["sr"], sidecar["result"]["snr_estimate_db"], sidecar["sound_map"]
    (2200.0, None, None)
    """
    path = check_destination(path, what="sidecar")
    check_not_input(path, [_common.info_of(rec).get("source_path"), _source_path(source), _wav_path(wav_info)],
                    what="sidecar")
    with temporary_file(path, what="sidecar") as temporary:
        text = json.dumps(
            sidecar_dict(rec, source=source, pipeline=pipeline, wav_info=wav_info, warnings=warnings,
                         timings=timings, extra=extra),
            indent=2,
            allow_nan=False,
        )
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text + "\n")
    return path


def _source_path(source):
    if isinstance(source, (str, os.PathLike)):
        return source
    return getattr(source, "path", None)


def _wav_path(wav_info):
    path = getattr(wav_info, "path", None)
    if path is None and isinstance(wav_info, (str, os.PathLike)):
        path = wav_info
    return path


def _wav_description(wav_info):
    if wav_info is None:
        return None
    if isinstance(wav_info, (str, os.PathLike)):
        return {"path": os.fspath(wav_info)}
    described = {}
    for name in ("path", "sr", "n_samples", "subtype"):
        described[name] = _common.json_safe(getattr(wav_info, name, None))
    sr, n_samples = described.get("sr"), described.get("n_samples")
    if sr and n_samples is not None:
        described["duration_seconds"] = n_samples / sr
    return described


def warning_texts(warnings) -> list:
    """One text per warning; a single text or warning is one (a string was listed character by character)."""
    if isinstance(warnings, (str, Warning, _warnings.WarningMessage)):
        warnings = [warnings]
    return [_warning_text(warning) for warning in warnings or ()]


def _warning_text(warning) -> str:
    if isinstance(warning, _warnings.WarningMessage):
        return f"{warning.category.__name__}: {warning.message}"
    if isinstance(warning, Warning):
        return f"{type(warning).__name__}: {warning}"
    return str(warning)


def _per_channel(value):
    """One finite float (or None), or one per channel where a recovery has several (None where not finite).

    >>> _per_channel(3.0), _per_channel([35.2, float("-inf")]), _per_channel(None)
    (3.0, [35.2, None], None)
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_common.finite_or_none(v) for v in np.asarray(value, dtype=np.float64).ravel()]
    return _common.finite_or_none(value)
