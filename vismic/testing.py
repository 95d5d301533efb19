"""Conformance check for stages, including your own.

>>> from vismic.testing import check_stage
>>> from vismic.stages import HighPass
>>> check_stage(HighPass())["input"]
'Audio'
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from .data import Audio, BandSignals, FrameBatch, PhaseBatch, PyramidBatch
from .errors import VismicError

__all__ = ["check_stage", "StageCheckError", "sample_inputs"]


class StageCheckError(VismicError, AssertionError):
    """A stage does not honour the stage protocol (the message lists every problem)."""


def _tiny_batches(n_frames=96, size=32, fps=1000.0, batch_size=32):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size]
    t = np.arange(n_frames) / fps
    shift = 0.1 * np.sin(2 * np.pi * 120 * t)
    frames = np.stack([128 + 60 * np.sin(0.7 * (x - s)) * np.cos(0.45 * y) + 20 * np.sin(0.23 * (x + y - s)) for s in shift])
    frames = frames + rng.normal(0, 1.0, frames.shape)
    return [FrameBatch(frames[i : i + batch_size], i, fps) for i in range(0, n_frames, batch_size)]


def sample_inputs():
    """Small valid inputs of every data type a stage may take, keyed by type name.

    Streaming types map to a list of consecutive batches; whole-signal types to one object.
    """
    from .combine import BandSum, Combine
    from .decompose import Decompose
    from .phase import LocalPhase

    frames = _tiny_batches()
    decompose, phase, bands = Decompose(n_levels=2), LocalPhase(), BandSum()
    pyramids = [decompose.transform(b) for b in frames]
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
    """Arrays whose last (or first, for frames) axis is time, for batch-split comparisons."""
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


def check_stage(stage, *, sample=None) -> dict:
    """Check that ``stage`` honours the vismic stage protocol.

    Checks: a ``transform`` method; ``get_params`` returning the ``__init__``
    parameters stored unchanged, ``set_params`` accepting them back and
    rejecting unknown names with a ``ValueError``; a ``repr`` naming the
    class; for streaming stages, ``reset`` and the same result whatever the
    batch sizes (frames numbered by ``start``, rate kept); inputs never
    modified; the same output twice for the same input.

    Parameters
    ----------
    stage : object
        The stage to check.
    sample : object, optional
        A valid input (a list of consecutive batches for streaming stages).
        By default each vismic data type is tried in turn.

    Returns
    -------
    dict
        ``{'input': type name, 'output': type name, 'streaming': bool}``.

    Raises
    ------
    StageCheckError
        Listing every problem found.
    """
    problems = []
    if not callable(getattr(stage, "transform", None)):
        raise StageCheckError(f"{stage!r} has no transform() method")
    streaming = bool(getattr(stage, "streaming", False))

    # parameters
    if hasattr(stage, "get_params"):
        params = stage.get_params()
        names = [n for n, p in inspect.signature(type(stage).__init__).parameters.items()
                 if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if sorted(params) != sorted(names):
            problems.append(f"get_params() keys {sorted(params)} differ from __init__ parameters {sorted(names)}")
        for name in names:
            if not hasattr(stage, name):
                problems.append(f"__init__ parameter {name!r} is not stored as an attribute of the same name")
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
    else:
        problems.append("no get_params()/set_params(): derive from vismic.Stage")
    if type(stage).__name__ not in repr(stage):
        problems.append(f"repr {repr(stage)!r} does not name the class")

    # input
    candidates = {"sample": sample} if sample is not None else sample_inputs()
    chosen = output = None
    for name, value in candidates.items():
        if streaming != isinstance(value, list):
            continue
        try:
            if streaming:
                stage.reset()
                output = [stage.transform(b) for b in value]
            else:
                output = stage.transform(value)
            chosen = name
            break
        except (TypeError, AttributeError, KeyError):
            continue
        except Exception as exc:  # noqa: BLE001
            if sample is not None:
                problems.append(f"transform raised {type(exc).__name__}: {exc}")
            continue
    if chosen is None:
        problems.append("transform accepted none of the sample inputs " + ", ".join(candidates))
        raise StageCheckError(f"{stage!r}:\n- " + "\n- ".join(problems))
    value = candidates[chosen]

    # no mutation, determinism
    before = copy.deepcopy(_arrays(value))
    if streaming:
        stage.reset()
        again = [stage.transform(b) for b in value]
    else:
        again = stage.transform(value)
    if not all(np.array_equal(x, y, equal_nan=True) for x, y in zip(before, _arrays(value))):
        problems.append("transform modified its input")
    if not _same(output, again):
        problems.append("transform gave a different result for the same input (after reset)")

    if streaming:
        if not hasattr(stage, "reset"):
            problems.append("streaming stage has no reset()")
        outs = [o for o in output if o is not None]
        if outs and isinstance(value[0], FrameBatch | PyramidBatch | PhaseBatch):
            for inp, out in zip(value, output):
                if out is None:
                    continue
                if getattr(out, "start", inp.start) != inp.start:
                    problems.append(f"output start {out.start} differs from input start {inp.start}")
                    break
                if hasattr(out, "fps") and out.fps != inp.fps:
                    problems.append("output fps differs from the input's")
                    break
        # batch-size invariance: the whole video as one batch
        if isinstance(value[0], FrameBatch):
            merged = [FrameBatch.concat(value)]
            stage.reset()
            whole = stage.transform(merged[0])
            pieces = [o for o in output if o is not None]
            if whole is not None and pieces:
                joined = [np.concatenate(parts, axis=-1 if isinstance(pieces[0], BandSignals) else 0)
                          for parts in zip(*[_time_arrays(p) for p in pieces])]
                if not all(a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-5)
                           for a, b in zip(joined, _time_arrays(whole))):
                    problems.append("output depends on how the video is split into batches")
    else:
        if isinstance(value, Audio) and isinstance(output, Audio) and output.sr != value.sr:
            problems.append(f"output sr {output.sr} differs from input sr {value.sr} (resample in the WAV writer)")

    if problems:
        raise StageCheckError(f"{stage!r}:\n- " + "\n- ".join(problems))
    first = output[0] if streaming else output
    return {"input": chosen, "output": type(first).__name__, "streaming": streaming}
