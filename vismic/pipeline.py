"""Stage protocol and the :class:`Pipeline` that wires stages together.

A stage is a thin object around a pure function. Streaming stages
(``streaming = True``) see the video one batch at a time, in order, after
``reset()``; the pipeline concatenates what the last streaming stage returns
(it must have a ``concat`` class method, e.g. :class:`vismic.data.BandSignals`)
and hands the whole, now small, signal to the remaining stages.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, Optional

from .errors import ParameterError

__all__ = ["Stage", "Pipeline"]


class Stage:
    """Base class of vismic stages.

    Subclasses store their ``__init__`` arguments unchanged as attributes of
    the same name (so that ``get_params``, ``set_params`` and ``repr`` work)
    and implement :meth:`transform`.
    """

    #: True when :meth:`transform` is called once per frame batch.
    streaming: bool = False

    def transform(self, data):  # pragma: no cover - interface
        raise NotImplementedError

    def reset(self) -> None:
        """Forget any state kept between batches (called before each video)."""

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
                name, stage = step
            else:
                name, stage = type(step).__name__.lower(), step
            named.append((str(name), stage))
        names = [n for n, _ in named]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ParameterError(f"step names must be unique, repeated: {', '.join(duplicated)}")
        for name, stage in named:
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

    def insert(self, before: str, name: str, stage) -> "Pipeline":
        """A new pipeline with ``stage`` inserted before the step called ``before``."""
        steps = list(self.steps)
        steps.insert(self._index(before), (name, stage))
        return Pipeline(steps)

    def append(self, name: str, stage) -> "Pipeline":
        return Pipeline(list(self.steps) + [(name, stage)])

    def replace(self, name: str, stage) -> "Pipeline":
        steps = list(self.steps)
        steps[self._index(name)] = (name, stage)
        return Pipeline(steps)

    def remove(self, name: str) -> "Pipeline":
        steps = list(self.steps)
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
        for key, value in params.items():
            name, sep, param = key.partition("__")
            if not sep:
                raise ParameterError(f"pipeline parameters are named step__param, given {key!r}")
            self[name].set_params(**{param: value})
        return self

    def _split(self):
        n_streaming = 0
        for _, stage in self.steps:
            if not getattr(stage, "streaming", False):
                break
            n_streaming += 1
        return self.steps[:n_streaming], self.steps[n_streaming:]

    def run(self, batches: Iterable, progress: Optional[Callable[[int], Any]] = None):
        """Run every stage.

        Parameters
        ----------
        batches : iterable of :class:`~vismic.data.FrameBatch` (or whatever the first stage takes)
            When the first stage is not streaming, a single object is accepted too.
        progress : callable, optional
            Called with the number of frames of each batch once it has been processed.
        """
        streaming, whole = self._split()
        if streaming:
            for _, stage in streaming:
                stage.reset()
            parts = []
            for batch in batches:
                data = batch
                for _, stage in streaming:
                    data = stage.transform(data)
                    if data is None:
                        break
                if data is not None:
                    parts.append(data)
                if progress is not None:
                    progress(len(batch))
            if not parts:
                raise ParameterError("the pipeline received no frames")
            data = type(parts[0]).concat(parts) if len(parts) > 1 else parts[0]
        else:
            data = batches
        for _, stage in whole:
            data = stage.transform(data)
        return data

    __call__ = run

    def __repr__(self) -> str:
        inner = ",\n ".join(f"({name!r}, {stage!r})" for name, stage in self.steps)
        return f"Pipeline([{inner}])"
