"""The fused streaming stage: frames in, pooled band evidence out."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .._checks import check_data
from ..data import BandSignals, FrameBatch
from ..decompose import max_levels
from ..decompose._dtcwt import HeldFrames, reference_frame_count
from ..pipeline import Stage
from ..stabilise import light_basis, remove_light
from ._templates import Templates, check_precision, make_templates, project, with_light


class Project(Stage):
    """Stage: :class:`~vismic.data.FrameBatch` -> pooled :class:`~vismic.data.BandSignals`.

    The same evidence as ``Decompose -> LocalPhase -> BandSum`` with their defaults
    (linear evidence, amplitude used, bands pooled per region), to float32
    rounding, computed as one matrix product per batch (see :func:`make_templates`).

    Parameters
    ----------
    n_levels : int or None
        DTCWT levels; None picks ``min(4, max_levels(frame size))``.
    grid : (rows, cols)
    n_reference_frames : int or 'auto'
        The reference is the mean of the first frames of the video (``'auto'``: its
        first 50 ms, see :func:`vismic.decompose.reference_frame_count`);
        frames are held back until that many have arrived, so the result does not
        depend on how the video is split into batches.
    biort, qshift : str
        DTCWT filters.
    device : str, optional
        None: numpy; ``'cpu'``/``'cuda'``: torch on that device (see :func:`project`).
    precision : {'float32', 'int8'}
        ``'int8'`` rounds every template to 255 levels (per tile) and projects
        8- and 16-bit frames with integer products (torch's, on the CPU): faster
        (``benchmarks/bench_speed.py``), and the recovered sound within a few
        hundredths of a dB of float32's (``benchmarks/bench_recover.py --precision int8``). Float
        frames take the float32 product of the same rounded templates.
    light_reference_frames : int or 'auto', optional
        When given, the stage is ``NormaliseLight(light_reference_frames)``
        followed by the projection, in one product (:func:`with_light`): light
        changes cost two dot products a frame instead of a pass of their own.
    """

    streaming = True

    def __init__(self, n_levels=None, grid=(8, 8), n_reference_frames=16, biort: str = "near_sym_a",
                 qshift: str = "qshift_a", device=None, light_reference_frames=None, precision: str = "float32"):
        self.n_levels = n_levels
        self.grid = grid
        self.n_reference_frames = n_reference_frames
        self.biort = biort
        self.qshift = qshift
        self.device = device
        self.light_reference_frames = light_reference_frames
        self.precision = check_precision(precision)
        self.reset()

    def reset(self) -> None:
        self.templates: Optional[Templates] = None
        self._held = HeldFrames()
        self._counts = None

    def transform(self, batch: FrameBatch, *, executor=None):
        """Band evidence of ``batch`` (None while frames are held back for the reference).

        ``executor``, when given, builds the templates on its workers.
        """
        check_data(batch, FrameBatch, "Project")
        if self.templates is None:
            if self._counts is None:
                light = (None if self.light_reference_frames is None else
                         reference_frame_count(self.light_reference_frames, batch, "light n_reference_frames"))
                self._counts = (reference_frame_count(self.n_reference_frames, batch), light)
            batch = self._held.add(batch, max(count for count in self._counts if count is not None))
            if batch is None:
                return None
            self._start(batch, executor)
        return self.band_signals(project(batch.frames, self.templates, device=self.device), batch.start, batch.fps)

    def band_signals(self, scores, start: int, fps: float) -> BandSignals:
        """Pooled :class:`~vismic.data.BandSignals` from projected ``scores`` (n_regions, 2, n)."""
        return BandSignals(scores[None, None], self.templates.information[None, None], start, fps,
                           grid=self.templates.grid)

    def _start(self, batch: FrameBatch, executor=None) -> None:
        """Templates for the reference: the mean of the first ``n_reference_frames`` frames of ``batch``."""
        levels = self.n_levels if self.n_levels is not None else min(4, max_levels(batch.shape))
        count, light_count = self._counts
        frames, light_reference = batch.frames[:count], None
        if light_count is not None:  # as NormaliseLight takes its reference and applies it
            light_reference = batch.frames[:light_count].astype(np.float32).mean(axis=0)
            light_reference = light_reference.astype(np.float64)
            frames = remove_light(frames, light_reference, light_basis(light_reference))
        reference = frames.astype(np.float32).mean(axis=0)
        templates = make_templates(reference, n_levels=levels, grid=self.grid, biort=self.biort, qshift=self.qshift,
                                   executor=executor, precision=self.precision)
        self.templates = templates if light_reference is None else with_light(templates, light_reference)
        self._references = (reference, light_reference)
        self._template_params = (levels, self.grid, self.biort, self.qshift)

    def parallel_task(self):
        """A picklable function of a batch's frames giving its scores, once the reference is known (else None)."""
        if self.templates is None:
            return None
        from ._parallel import ProjectTask

        n_levels, grid, biort, qshift = self._template_params
        reference, light_reference = self._references
        return ProjectTask(reference, n_levels=n_levels, grid=grid, biort=biort, qshift=qshift, device=self.device,
                           templates=self.templates, light_reference=light_reference, precision=self.precision)

    def flush(self):
        """The frames held back when the video is shorter than ``n_reference_frames``."""
        batch = self._held.release()
        if batch is None:
            return None
        self._start(batch)
        return self.transform(batch)
