"""Conformance check for stages and whole pipelines, including your own.

>>> from vismic.testing import check_stage
>>> from vismic.stages import HighPass
>>> check_stage(HighPass())["input"]
'Audio'
>>> import vismic
>>> check_stage(vismic.default_pipeline(n_levels=2, grid=(2, 2)))["batch_sizes"]
(5, 8, 64)
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from .data import Audio, BandSignals, FrameBatch, PhaseBatch, PyramidBatch
from .errors import VismicError
from .pipeline import Pipeline

__all__ = ["check_stage", "check_pipeline", "StageCheckError", "sample_inputs"]

#: Batch sizes a pipeline must give the same result for.
BATCH_SIZES = (5, 8, 64)


class StageCheckError(VismicError, AssertionError):
    """A stage does not honour the stage protocol (the message lists every problem)."""


def _tiny_frames(n_frames=96, size=32):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size]
    t = np.arange(n_frames) / 1000.0
    shift = 0.1 * np.sin(2 * np.pi * 120 * t)
    frames = np.stack([128 + 60 * np.sin(0.7 * (x - s)) * np.cos(0.45 * y) + 20 * np.sin(0.23 * (x + y - s)) for s in shift])
    return frames + rng.normal(0, 1.0, frames.shape)


def _split(frames, batch_size, fps=1000.0):
    return [FrameBatch(frames[i : i + batch_size], i, fps) for i in range(0, len(frames), batch_size)]


def _tiny_batches(batch_size=32):
    return _split(_tiny_frames(), batch_size)


def sample_inputs():
    """Small valid inputs of every data type a stage may take, keyed by type name.

    Streaming types map to a list of consecutive batches; whole-signal types to one object.
    """
    from .combine import BandSum, Combine
    from .decompose import Decompose
    from .phase import LocalPhase

    frames = _tiny_batches()
    decompose, phase, bands = Decompose(n_levels=2), LocalPhase(), BandSum()
    pyramids = _run_streaming(decompose, frames)
    phases = [phase.transform(p) for p in pyramids]
    signals = BandSignals.concat([bands.transform(p) for p in phases])
    audio = Combine().transform(signals)
    return {"FrameBatch": frames, "PyramidBatch": pyramids, "PhaseBatch": phases, "BandSignals": signals, "Audio": audio}


def _arrays(obj):
    """Every array an output holds, in a fixed order (for comparisons)."""
    if obj is None:
        return []
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [a for item in obj for a in _arrays(item)]
    if hasattr(obj, "__dataclass_fields__"):
        out = []
        for name in obj.__dataclass_fields__:
            if name in ("start", "fps", "sr", "info", "reference"):
                continue
            out += _arrays(getattr(obj, name))
        return out
    return []


def _time_arrays(obj):
    """Arrays whose first axis is time, for batch-split comparisons."""
    if isinstance(obj, FrameBatch):
        return [obj.frames]
    if isinstance(obj, PyramidBatch):
        return list(obj.highpasses)
    if isinstance(obj, PhaseBatch):
        return list(obj.phase) + list(obj.log_amplitude)
    if isinstance(obj, BandSignals):
        return [np.moveaxis(obj.scores, -1, 0)]
    return _arrays(obj)


def _same(a, b, rtol=1e-5, atol=1e-6) -> bool:
    a, b = _arrays(a), _arrays(b)
    return len(a) == len(b) and all(x.shape == y.shape and np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True) for x, y in zip(a, b))


def _run_streaming(stage, batches) -> list:
    """Every batch through a streaming stage after ``reset``, then what it held back (Nones dropped)."""
    stage.reset()
    out = [stage.transform(b) for b in batches]
    flush = getattr(stage, "flush", None)
    out.append(flush() if flush is not None else None)
    return [o for o in out if o is not None]


def _same_value(a, b) -> bool:
    if a is b:
        return True
    try:
        return bool(np.all(np.asarray(a == b)))
    except Exception:  # noqa: BLE001 - values that cannot be compared are not the same
        return False


def _check_round_trip(stage, params: dict) -> list:
    """A stage built from ``get_params()`` must report the same parameters (``__init__`` stores them as given)."""
    try:
        again = type(stage)(**params).get_params()
    except Exception as exc:  # noqa: BLE001
        return [f"{type(stage).__name__}(**get_params()) failed: {type(exc).__name__}: {exc}"]
    changed = [name for name in params if not _same_value(params[name], again.get(name))]
    return [f"__init__ does not store {name!r} as given ({params[name]!r} became {again.get(name)!r}): "
            f"keep parameters as given and derive values in transform" for name in changed]


def _describe(stage) -> str:
    """The stage's repr, or its class name where the repr itself fails (a broken get_params)."""
    try:
        return repr(stage)
    except Exception:  # noqa: BLE001
        return type(stage).__name__


def _check_params(stage) -> list:
    """Problems with ``get_params``/``set_params``/``repr``."""
    problems = []
    if not hasattr(stage, "get_params"):
        return ["no get_params()/set_params(): derive from vismic.Stage"]
    names = [n for n, p in inspect.signature(type(stage).__init__).parameters.items()
             if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = [name for name in names if not hasattr(stage, name)]
    for name in missing:
        problems.append(f"__init__ parameter {name!r} is not stored as an attribute of the same name")
    try:
        params = stage.get_params()
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong
        return problems if missing else problems + [f"get_params() raised {type(exc).__name__}: {exc}"]
    if sorted(params) != sorted(names):
        problems.append(f"get_params() keys {sorted(params)} differ from __init__ parameters {sorted(names)}")
    else:
        problems += _check_round_trip(stage, params)
    try:
        stage.set_params(**params)
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong
        problems.append(f"set_params(**get_params()) failed: {exc}")
    try:
        stage.set_params(__no_such_parameter__=1)
        problems.append("set_params accepted an unknown parameter")
    except ValueError:
        pass
    except Exception as exc:  # noqa: BLE001
        problems.append(f"set_params with an unknown name raised {type(exc).__name__}, not a ValueError")
    if type(stage).__name__ not in _describe(stage):
        problems.append(f"repr {_describe(stage)!r} does not name the class")
    return problems


def _first_accepted(stage, candidates: dict, streaming: bool, problems: list, explicit: bool):
    """The name of the first sample input ``stage`` accepts, and its output."""
    for name, value in candidates.items():
        if streaming != isinstance(value, list):
            continue
        try:
            output = _run_streaming(stage, value) if streaming else stage.transform(value)
            return name, output
        except (TypeError, AttributeError, KeyError):
            continue
        except Exception as exc:  # noqa: BLE001
            if explicit:
                problems.append(f"transform raised {type(exc).__name__}: {exc}")
            continue
    return None, None


def _check_pure(stage, value, output, streaming: bool) -> list:
    """Problems: input modified, or a different result the second time."""
    problems = []
    before = copy.deepcopy(_arrays(value))
    again = _run_streaming(stage, value) if streaming else stage.transform(value)
    if not all(np.array_equal(x, y, equal_nan=True) for x, y in zip(before, _arrays(value))):
        problems.append("transform modified its input")
    if not _same(output, again):
        problems.append("transform gave a different result for the same input (after reset)")
    return problems


def _check_numbering(value, output) -> list:
    """Problems with frame numbering and rates of a streaming stage's output."""
    if not output or not isinstance(value[0], FrameBatch | PyramidBatch | PhaseBatch):
        return []
    expected = value[0].start
    for out in output:
        if getattr(out, "start", expected) != expected:
            return [f"output start {out.start} differs from the frame it begins with ({expected})"]
        if hasattr(out, "fps") and out.fps != value[0].fps:
            return ["output fps differs from the input's"]
        expected += len(out)
    return []


def _joined(pieces) -> list:
    """The time arrays of consecutive outputs, concatenated along time (their first axis)."""
    return [np.concatenate(parts, axis=0) for parts in zip(*[_time_arrays(p) for p in pieces])]


def _check_batching(stage, value, output) -> list:
    """Problem when the output depends on how the frames are split into batches."""
    if not isinstance(value[0], FrameBatch) or not output:
        return []
    whole = _run_streaming(stage, [FrameBatch.concat(value)])
    if not whole:
        return []
    joined, reference = _joined(output), _joined(whole)
    if not all(a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(joined, reference)):
        return ["output depends on how the video is split into batches"]
    return []


def check_pipeline(pipeline, *, frames=None, batch_sizes=BATCH_SIZES, fps: float = 1000.0) -> dict:
    """Check that a whole pipeline gives the same result whatever the batch size.

    Parameters
    ----------
    pipeline : vismic.Pipeline
        Its first stages must be streaming (take :class:`~vismic.data.FrameBatch`).
    frames : np.ndarray [shape=(n, height, width)], optional
        The video to run (default: 96 small textured frames moving at 120 Hz).
    batch_sizes : sequence of int
    fps : float

    Returns
    -------
    dict
        ``{'output': type name, 'batch_sizes': tuple}``.

    Raises
    ------
    StageCheckError
        The outputs differ (more than float rounding) between batch sizes.
    """
    frames = _tiny_frames() if frames is None else np.asarray(frames)
    outputs = {size: pipeline.run(_split(frames, size, fps)) for size in batch_sizes}
    first = outputs[batch_sizes[0]]
    problems = []
    for size, output in outputs.items():
        if not _same(first, output, rtol=1e-6, atol=1e-9 * max(1.0, _scale(first))):
            problems.append(f"batch_size={size} gives a different result from batch_size={batch_sizes[0]}")
    if problems:
        raise StageCheckError(f"{pipeline!r}:\n- " + "\n- ".join(problems))
    return {"output": type(first).__name__, "batch_sizes": tuple(batch_sizes)}


def _scale(obj) -> float:
    arrays = _arrays(obj)
    return max((float(np.max(np.abs(a))) for a in arrays if a.size and np.issubdtype(a.dtype, np.number)), default=1.0)


def check_stage(stage, *, sample=None) -> dict:
    """Check that ``stage`` (or a whole :class:`~vismic.Pipeline`) honours the vismic stage protocol.

    Checks: a ``transform`` method; ``get_params`` returning the ``__init__``
    parameters stored unchanged, ``set_params`` accepting them back and
    rejecting unknown names with a ``ValueError``; a ``repr`` naming the
    class; for streaming stages, ``reset`` and the same result whatever the
    batch sizes (frames numbered by ``start``, rate kept; frames a stage holds
    back come out of ``flush``); inputs never modified; the same output twice
    for the same input. A :class:`~vismic.Pipeline` is run whole on batches of
    5, 8 and 64 frames (see :func:`check_pipeline`).

    Parameters
    ----------
    stage : object
        The stage (or pipeline) to check.
    sample : object, optional
        A valid input (a list of consecutive batches for streaming stages;
        frames ``(n, height, width)`` for a pipeline). By default each vismic
        data type is tried in turn.

    Returns
    -------
    dict
        ``{'input': type name, 'output': type name, 'streaming': bool}``; for a
        pipeline, what :func:`check_pipeline` returns.

    Raises
    ------
    StageCheckError
        Listing every problem found.
    """
    if isinstance(stage, Pipeline):
        return check_pipeline(stage, frames=sample)
    if not callable(getattr(stage, "transform", None)):
        raise StageCheckError(f"{_describe(stage)} has no transform() method")
    streaming = bool(getattr(stage, "streaming", False))
    problems = _check_params(stage)
    candidates = {"sample": sample} if sample is not None else sample_inputs()
    chosen, output = _first_accepted(stage, candidates, streaming, problems, sample is not None)
    if chosen is None:
        problems.append("transform accepted none of the sample inputs " + ", ".join(candidates))
        raise StageCheckError(f"{_describe(stage)}:\n- " + "\n- ".join(problems))
    value = candidates[chosen]
    problems += _check_pure(stage, value, output, streaming)
    if streaming:
        if not hasattr(stage, "reset"):
            problems.append("streaming stage has no reset()")
        problems += _check_numbering(value, output)
        problems += _check_batching(stage, value, output)
    elif isinstance(value, Audio) and isinstance(output, Audio) and output.sr != value.sr:
        problems.append(f"output sr {output.sr} differs from input sr {value.sr} (resample in the WAV writer)")
    if problems:
        raise StageCheckError(f"{_describe(stage)}:\n- " + "\n- ".join(problems))
    first = output[0] if streaming else output
    return {"input": chosen, "output": type(first).__name__, "streaming": streaming}
