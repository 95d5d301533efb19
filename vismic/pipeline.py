"""Stage protocol and the :class:`Pipeline` that wires stages together.

A stage is a thin object around a pure function. Streaming stages
(``streaming = True``) see the video one batch at a time, in order, after
``reset()``; a streaming stage may hold frames back (return None) and hand
them on later or from ``flush()`` at the end of the video. The pipeline
concatenates what the last streaming stage returns (it must have a ``concat``
class method, e.g. :class:`vismic.data.BandSignals`) and hands the whole, now
small, signal to the remaining stages. A streaming stage with
``frame_independent = True`` promises that, once it has started (its reference
taken), it returns every frame it is given, each depending on that frame alone:
a parallel run then applies a started copy of it in workers that read their own
frame ranges.

What a streaming stage measured on the way (e.g. the camera motion that
:class:`vismic.stabilise.Stabilise` removed) reaches the whole-signal stages
through a typed seam, not through the data: a streaming stage with a
``report()`` method is listed in :class:`StageReports`, and a first
whole-signal stage whose ``transform_batches`` takes ``reports=`` receives it
(:class:`vismic.combine.Combine` counts the stabiliser's track error in its
SNR estimate).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Optional

from .errors import FrameShapeError, ParameterError

__all__ = ["Stage", "Pipeline", "StageReports"]


class Stage:
    """Base class of vismic stages.

    Subclasses store their ``__init__`` arguments unchanged as attributes of
    the same name (so that ``get_params``, ``set_params`` and ``repr`` work)
    and implement :meth:`transform`.

    A stage that changes :class:`~vismic.data.Audio` returns a new one. A
    linear filter keeps the noise spectrum right in one line,
    ``return audio.filtered(new_samples, response=H)`` with ``H`` its amplitude
    response (a number, or a function of frequency in Hz; see
    :meth:`vismic.data.Audio.filtered`), so a denoiser after it removes the
    noise that is really there. A stage that is not a linear filter passes
    ``response=None`` (the noise becomes unknown, and the denoiser estimates it
    from the sound).

    Examples
    --------
    >>> import numpy as np
    >>> from vismic import Stage
    >>> from vismic.data import Audio, NoiseSpectrum
    >>> class Gain(Stage):
    ...     def __init__(self, gain=2.0):
    ...         self.gain = gain
    ...     def transform(self, audio):
    ...         return audio.filtered(audio.samples * self.gain, response=self.gain)
    >>> audio = Audio(np.ones(64), sr=1000.0, noise=NoiseSpectrum.white(1.0, sr=1000.0))
    >>> out = Gain(3.0).transform(audio)
    >>> float(out.samples[0]), round(float(out.noise.density[1] / audio.noise.density[1]), 6)
    (3.0, 9.0)
    """

    #: True when :meth:`transform` is called once per frame batch.
    streaming: bool = False

    def transform(self, data):  # pragma: no cover - interface
        raise NotImplementedError

    def reset(self) -> None:
        """Forget any state kept between batches (called before each video)."""

    def flush(self):
        """What a streaming stage still holds at the end of the video (None: nothing)."""
        return None

    def __call__(self, data):
        return self.transform(data)

    @classmethod
    def _param_names(cls) -> list:
        signature = inspect.signature(cls.__init__)
        return [
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict:
        """The ``__init__`` parameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "Stage":
        """Change parameters; unknown names raise :class:`~vismic.errors.ParameterError`."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(
                    f"{type(self).__name__} has no parameter {name!r}; valid: {', '.join(valid)}"
                )
            setattr(self, name, value)
        self.reset()
        return self

    def __repr__(self) -> str:
        signature = inspect.signature(type(self).__init__)
        shown = []
        for name, value in self.get_params().items():
            default = signature.parameters[name].default
            if default is inspect.Parameter.empty or _differs(value, default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _differs(value, default) -> bool:
    try:
        return bool(value != default)
    except Exception:  # arrays and other objects without a plain truth value
        return value is not default


def check_fuse(fuse, *, device=None, executor=None, precision="float32", workers=None) -> None:
    """Refuse ``fuse=False`` with what only the fused projection does (a device, workers, int8 products).

    Raises
    ------
    ParameterError
        ``fuse`` is False and ``device``, ``executor``, ``workers`` or ``precision='int8'`` is given.
    """
    if fuse:
        return
    asked = [name for name, value in (("device", device), ("executor", executor), ("workers", workers))
             if value is not None]
    if precision != "float32":
        asked.append(f"precision={precision!r}")
    if asked:
        listed = ", ".join(asked)
        raise ParameterError(f"fuse=False runs the stages one by one, but {listed} "
                             f"{'needs' if len(asked) == 1 else 'need'} the fused projection: leave fuse at its "
                             f"default (True) or drop {listed}")


class Pipeline:
    """Named stages run in order: streaming stages per batch, then whole-signal stages.

    Parameters
    ----------
    steps : list of (name, stage) or list of stages
        Stages get names from their class when none is given.

    Examples
    --------
    >>> from vismic import Pipeline, stages
    >>> pipe = Pipeline([("decompose", stages.Decompose(n_levels=3)),
    ...                  ("phase", stages.LocalPhase()),
    ...                  ("bands", stages.BandSum()),
    ...                  ("combine", stages.Combine())])
    >>> pipe.set_params(decompose__n_levels=4)  # doctest: +ELLIPSIS
    Pipeline(...)
    """

    def __init__(self, steps):
        named = []
        for step in steps:
            if isinstance(step, tuple):
                if len(step) != 2:
                    raise ParameterError(f"a step is a stage or a (name, stage) pair, given a tuple of {len(step)}: "
                                         f"{step!r}")
                name, stage = step
            else:
                name, stage = type(step).__name__.lower(), step
            if "__" in str(name):  # set_params("name__param") could not reach it
                raise ParameterError(f"step names cannot hold '__' (set_params splits step__param there), given "
                                     f"{name!r}")
            named.append((str(name), stage))
        names = [n for n, _ in named]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ParameterError(f"step names must be unique, repeated: {', '.join(duplicated)}")
        for name, stage in named:
            if isinstance(stage, type):
                raise ParameterError(f"step {name!r} is the class {stage.__name__}, not a stage: give "
                                     f"{stage.__name__}(...)")
            if not callable(getattr(stage, "transform", None)):
                raise ParameterError(f"step {name!r} has no transform() method: {stage!r}")
        self.steps = named

    @property
    def named_steps(self) -> dict:
        return dict(self.steps)

    def __getitem__(self, name: str):
        try:
            return self.named_steps[name]
        except KeyError:
            raise ParameterError(
                f"no step named {name!r}; steps: {', '.join(n for n, _ in self.steps)}"
            ) from None

    def _index(self, name: str) -> int:
        self[name]
        return [n for n, _ in self.steps].index(name)

    def _copied_steps(self) -> list:
        # the new pipeline must not share stages with this one: set_params on one
        # would change the other
        return [(n, copy.deepcopy(stage)) for n, stage in self.steps]

    def insert(self, before: str, name: str, stage) -> "Pipeline":
        """A new pipeline with ``stage`` inserted before the step called ``before``.

        Like :meth:`append`, :meth:`replace` and :meth:`remove`, it leaves this
        pipeline unchanged and gives the new one copies of its stages (``stage``
        itself goes in as given).
        """
        steps = self._copied_steps()
        steps.insert(self._index(before), (name, stage))
        return Pipeline(steps)

    def append(self, name: str, stage) -> "Pipeline":
        """A new pipeline with ``stage`` added at the end (see :meth:`insert`)."""
        return Pipeline(self._copied_steps() + [(name, stage)])

    def replace(self, name: str, stage) -> "Pipeline":
        """A new pipeline with the step called ``name`` replaced by ``stage`` (see :meth:`insert`)."""
        steps = self._copied_steps()
        steps[self._index(name)] = (name, stage)
        return Pipeline(steps)

    def remove(self, name: str) -> "Pipeline":
        """A new pipeline without the step called ``name`` (see :meth:`insert`)."""
        steps = self._copied_steps()
        del steps[self._index(name)]
        return Pipeline(steps)

    def get_params(self) -> dict:
        params = {}
        for name, stage in self.steps:
            params[name] = stage
            if hasattr(stage, "get_params"):
                for key, value in stage.get_params().items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params) -> "Pipeline":
        """Change stage parameters (``step__param``) or whole steps (``step=stage``), in place.

        Steps are replaced first, so ``set_params(**other.get_params())`` takes
        ``other``'s stages and their settings. As in scikit-learn's ``Pipeline``, a step given
        is that very stage, not a copy: both pipelines then hold it, and a change to one's is
        the other's (``copy.deepcopy(other).get_params()`` gives stages of their own).
        """
        for key, value in params.items():
            if "__" not in key:
                index = self._index(key)
                if not callable(getattr(value, "transform", None)):
                    raise ParameterError(f"step {key!r} must be given a stage with a transform() method, "
                                         f"given {value!r}")
                self.steps[index] = (key, value)
        for key, value in params.items():
            name, sep, param = key.partition("__")
            if sep:
                self[name].set_params(**{param: value})
        return self

    def _split(self):
        n_streaming = 0
        for _, stage in self.steps:
            if not getattr(stage, "streaming", False):
                break
            n_streaming += 1
        return self.steps[:n_streaming], self.steps[n_streaming:]

    def run(self, batches: Iterable, progress: Optional[Callable[[int], Any]] = None, *, fuse: bool = True,
            device=None, executor=None, precision: str = "float32"):
        """Run every stage.

        Parameters
        ----------
        batches : iterable of :class:`~vismic.data.FrameBatch` (or whatever the first stage takes)
            When the first stage is not streaming, a single object is accepted too.
        progress : callable, optional
            Called with the number of frames of each batch once it has been processed.
        fuse : bool
            When the streaming steps end with the built-in ``Decompose -> LocalPhase ->
            BandSum`` with linear, pooled evidence (the default pipeline's), run those
            three as one projection (frame stages before them, e.g. ``Stabilise``,
            still run batch by batch) (:class:`vismic.project.Project`): the same band
            evidence to float32 rounding, many times faster. ``False`` runs the
            stages one by one, and refuses ``device``, ``executor`` and
            ``precision='int8'`` (``ParameterError``).
        device : str, optional
            ``'cpu'`` or ``'cuda[:index]'``: compute the projection with torch there
            (needs the fused path).
        executor : concurrent.futures.Executor, optional
            Project frame batches on its workers (a process pool, a Dask client's
            ``get_executor()``...); needs the fused path. Results are joined in order
            and equal the serial run's. When ``batches`` is a
            :class:`vismic.io.VideoStream` the workers can read themselves and the
            frame stages before the projection are ``frame_independent``, each
            worker reads, prepares and projects its own frame ranges.
        precision : {'float32', 'int8'}
            The projection's templates and products (see :class:`vismic.project.Project`);
            ``'int8'`` needs the fused path.
        """
        check_fuse(fuse, device=device, executor=executor, precision=precision)
        streaming, whole = self._split()
        if streaming and _is_array(batches):
            raise ParameterError(f"Pipeline.run takes an iterable of vismic.data.FrameBatch, given an array of shape "
                                 f"{batches.shape}: wrap frames as [FrameBatch(frames, 0, fps)], or use "
                                 f"vismic.recover_sound(frames, fps=...)")
        if streaming:
            batches = _checked_batches(batches)
            head, fused = streaming, None
            if fuse or device is not None or executor is not None or precision != "float32":
                from .project._fuse import describe_unfusable, split_fusable
                from .project._templates import check_precision

                head, fused = split_fusable(streaming, device=device, precision=check_precision(precision))
                if fused is None and (device is not None or executor is not None or precision != "float32"):
                    raise ParameterError(f"device=, executor= and precision= need the fused projection, but "
                                         f"{describe_unfusable(streaming)}")
            if fused is None:
                parts = self._stream(streaming, batches, progress)
            else:
                parts = self._stream_fused(fused, head, batches, executor, progress)
            data, whole = _gather(parts, whole, StageReports(streaming))
        else:
            data = batches
        for _, stage in whole:
            data = stage.transform(data)
        return data

    @staticmethod
    def _stream(streaming, batches, progress, *, frames: bool = False):
        for _, stage in streaming:
            stage.reset()
        for batch in batches:
            data = _through(batch, streaming, frames=frames)
            if data is not None:
                yield data
            if progress is not None:
                progress(len(batch))
        # what stages held back, in order: each flushed part still runs through the later stages
        for index, (_, stage) in enumerate(streaming):
            flush = getattr(stage, "flush", None)
            held = flush() if flush is not None else None
            if frames and held is not None:
                _check_frame_stage_output(streaming[index][0], stage, held)
            data = _through(held, streaming[index + 1:], frames=frames) if held is not None else None
            if data is not None:
                yield data

    @staticmethod
    def _stream_fused(stage, head, batches, executor, progress):
        from .project import project_batches

        stage.reset()
        for part in project_batches(stage, batches, executor, head=head):
            if progress is not None:
                progress(len(part))
            yield part

    __call__ = run

    @property
    def streaming_steps(self) -> list:
        """The leading ``(name, stage)`` steps that see the video batch by batch."""
        return self._split()[0]

    def __repr__(self) -> str:
        inner = ",\n ".join(f"({name!r}, {stage!r})" for name, stage in self.steps)
        return f"Pipeline([{inner}])"


class StageReports(Mapping):
    """What the streaming stages measured, by step name: ``{name: stage.report()}``.

    Only stages with a ``report()`` method are listed. Each report is asked for
    when it is looked up, so a whole-signal stage reads it after the last batch,
    when it covers the whole video.

    Examples
    --------
    >>> from vismic.pipeline import StageReports
    >>> class Counter:
    ...     streaming = True
    ...     def __init__(self):
    ...         self.frames = 0
    ...     def transform(self, batch):
    ...         self.frames += len(batch)
    ...         return batch
    ...     def report(self):
    ...         return self.frames
    >>> counter = Counter()
    >>> reports = StageReports([("count", counter)])
    >>> _ = counter.transform([1, 2, 3])
    >>> dict(reports), reports.find(int)
    ({'count': 3}, 3)
    """

    def __init__(self, steps):
        self._stages = {name: stage for name, stage in steps if callable(getattr(stage, "report", None))}

    def __getitem__(self, name: str):
        return self._stages[name].report()

    def __iter__(self):
        return iter(self._stages)

    def __len__(self) -> int:
        return len(self._stages)

    def find(self, kind: type):
        """The first report that is a ``kind`` (None when no stage gave one)."""
        return find_report(self, kind)


def find_report(reports: Optional[Mapping], kind: type):
    """The first value of ``reports`` (a mapping of name to report, or None) that is a ``kind``, else None."""
    for name in reports or ():
        report = reports[name]
        if isinstance(report, kind):
            return report
    return None


def _is_array(value) -> bool:
    """Whether ``value`` is a numpy array, without importing numpy here (``import vismic`` stays light)."""
    return type(value).__module__ == "numpy" and hasattr(value, "shape")


def _checked_batches(batches):
    """``batches`` (a single :class:`~vismic.data.FrameBatch` taken as one), refusing arrays, and frames that change size or rate or skip.

    A video source (:class:`vismic.io.VideoStream`) is passed on as it is: its frames have one size, and
    its readers are what the fused path reads through.
    """
    from .data import FrameBatch

    if isinstance(batches, FrameBatch):
        return [batches]
    if hasattr(batches, "stored") or not hasattr(batches, "__iter__"):
        return batches

    def checked():
        size = last = None
        for batch in batches:
            if _is_array(batch):
                raise ParameterError(f"Pipeline.run takes an iterable of vismic.data.FrameBatch, given arrays (shape "
                                     f"{batch.shape}): wrap each as FrameBatch(frames, start, fps)")
            shape = getattr(batch, "shape", None) if isinstance(batch, FrameBatch) else None
            if shape is not None and size is not None and shape != size:
                raise FrameShapeError(f"the frames change size from {size[1]}x{size[0]} to {shape[1]}x{shape[0]} "
                                      f"px at frame {batch.start}: a video's frames must all have one size")
            size = shape if size is None else size
            if isinstance(batch, FrameBatch):
                _check_follows(last, batch)
                last = batch
            yield batch

    return checked()


def _check_follows(last, batch) -> None:
    """Refuse a batch of another rate than the one before, or one that does not start where it ended."""
    if last is None:
        return
    if batch.fps != last.fps:
        raise ParameterError(f"the batches change rate from {last.fps:g} to {batch.fps:g} fps at frame {batch.start}: "
                             "a video's frames have one capture rate")
    if batch.start != last.start + len(last):
        raise ParameterError(f"a batch starts at frame {batch.start} after one of frames {last.start}-"
                             f"{last.start + len(last) - 1}: batches must follow each other in order, without gaps")


def _gather(parts, whole, reports: StageReports):
    """What the streaming steps returned, handed to the first whole-signal stage.

    A stage with ``transform_batches`` (e.g. :class:`vismic.combine.Combine`) takes
    the parts one by one as they are made and keeps only what it needs (and
    ``reports`` when it accepts ``reports=``); otherwise the parts are joined with
    their type's ``concat``.
    """
    parts = _non_empty(parts)
    if whole and hasattr(whole[0][1], "transform_batches"):
        method = whole[0][1].transform_batches
        if reports and "reports" in inspect.signature(method).parameters:
            return method(parts, reports=reports), whole[1:]
        return method(parts), whole[1:]
    parts = list(parts)
    if len(parts) > 1 and not hasattr(type(parts[0]), "concat"):
        taker = f"the step {whole[0][0]!r} ({type(whole[0][1]).__name__})" if whole else "the pipeline's result"
        raise ParameterError(f"the streaming steps hand on {type(parts[0]).__name__} batches, which {taker} cannot "
                             "take joined: end the streaming steps with a stage whose output joins (BandSum's "
                             "BandSignals, before Combine)")
    data = type(parts[0]).concat(parts) if len(parts) > 1 else parts[0]
    return data, whole


def _non_empty(parts):
    any_part = False
    for part in parts:
        any_part = True
        yield part
    if not any_part:
        raise ParameterError("the pipeline received no frames")


def _through(data, steps, *, frames: bool = False):
    """``data`` run through ``steps`` in order (None as soon as one holds it back).

    ``frames``: the steps are frame stages before the fused projection, and each must hand on a
    :class:`~vismic.data.FrameBatch`; one that does not is named (the projection's own error came
    from deep inside it).
    """
    for name, stage in steps:
        data = stage.transform(data)
        if data is None:
            return None
        if frames:
            _check_frame_stage_output(name, stage, data)
    return data


def _check_frame_stage_output(name: str, stage, data) -> None:
    from .data import FrameBatch

    if not isinstance(data, FrameBatch):
        given = (f"a numpy array of shape {data.shape}" if _is_array(data) else type(data).__name__)
        raise ParameterError(f"step {name!r} ({type(stage).__name__}) returned {given}; a frame stage before the "
                             "decomposition must return a vismic.data.FrameBatch, e.g. "
                             "FrameBatch(frames, batch.start, batch.fps)")
