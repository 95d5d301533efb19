"""When a pipeline's streaming steps are the built-in ones, run them as one projection."""

from __future__ import annotations

from typing import Optional

from ..decompose._dtcwt import _transform


def fused_stage(streaming_steps, *, device=None, precision="float32"):
    """A :class:`~vismic.project.Project` equivalent to ``streaming_steps``, or None.

    The steps must be exactly ``Decompose -> LocalPhase -> BandSum`` with linear
    evidence that uses amplitudes and pools the bands of each region (the
    defaults), and DTCWT filters the adjoint handles: then the projection gives
    the same band evidence to float32 rounding.
    """
    from ..combine import BandSum
    from ..decompose import Decompose
    from ..phase import LocalPhase
    from ._stage import Project

    stages = [stage for _, stage in streaming_steps]
    if len(stages) != 3 or [type(s) for s in stages] != [Decompose, LocalPhase, BandSum]:
        return None
    decompose, _, bands = stages
    if not (bands.linear is True and bands.use_amplitude is True and bands.pool_bands is True):
        return None
    try:
        transform = _transform(decompose.biort, decompose.qshift)
    except ValueError:
        return None
    if len(transform.biort) != 4 or len(transform.qshift) != 8:
        return None
    return Project(n_levels=decompose.n_levels, grid=bands.grid, n_reference_frames=decompose.n_reference_frames,
                   biort=decompose.biort, qshift=decompose.qshift, device=device, precision=precision)


def split_fusable(streaming_steps, *, device=None, precision="float32"):
    """``(frame steps, Project)`` when the streaming steps end with the built-in three, else ``(steps, None)``.

    Frame stages before them (``Magnify``, ``Stabilise``) keep running batch by
    batch; only the last three become the projection, and a
    :class:`~vismic.stabilise.NormaliseLight` right before them is folded into it.
    """
    head, tail = list(streaming_steps[:-3]), streaming_steps[-3:]
    fused = fused_stage(tail, device=device, precision=precision) if len(tail) == 3 else None
    if fused is None:
        return list(streaming_steps), None
    from ..stabilise import NormaliseLight

    if head and type(head[-1][1]) is NormaliseLight:  # light removal folds into the product
        fused.set_params(light_reference_frames=head[-1][1].n_reference_frames)
        head = head[:-1]
    return head, fused


def describe_unfusable(streaming_steps) -> Optional[str]:
    """Why ``streaming_steps`` cannot run as a projection (for error messages)."""
    if split_fusable(streaming_steps)[1] is not None:
        return None
    names = " -> ".join(f"{name} ({type(stage).__name__})" for name, stage in streaming_steps)
    return (f"the streaming steps {names} do not end with the built-in decompose -> phase -> bands with linear, "
            "pooled evidence")
