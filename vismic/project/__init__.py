"""The streaming half as one projection: ``scores = templates @ (frame - reference)``.

With linear evidence, decomposition -> local phase -> band evidence -> region sums
is an affine function of the frame's pixels; :func:`make_templates` computes its
images once per reference (with the exact adjoint of the batched DTCWT) and
:func:`project` applies them to a batch of frames tile by tile (:class:`Tile`:
each template is non-zero only as far as the DTCWT's filters reach). The
:class:`Project` stage gives the same :class:`~vismic.data.BandSignals` as the
stage-by-stage path to float32 rounding; :func:`with_light` folds a
:class:`~vismic.stabilise.NormaliseLight` before it into the same product.
Each tile's frame differences are formed by a loop compiled with numba
(``vismic.project._kernels``; numpy's subtract, with the same result, where
numba is missing); the products are numpy's (BLAS). With ``precision="int8"``
the templates are rounded to 8 bits per tile row and 8-bit frames are projected
with torch's exact integer products (``vismic.project._int8``). Workers of a
parallel run read their own frame ranges when they can (:func:`project_batches`).
"""

from ._parallel import ProjectTask, WorkerError, dask_executor, map_ordered, process_pool, project_batches
from ._stage import Project
from ._templates import LightCorrection, Templates, Tile, make_templates, project, with_light

__all__ = ["Project", "Templates", "Tile", "LightCorrection", "make_templates", "with_light", "project",
           "project_batches", "ProjectTask", "map_ordered", "WorkerError", "process_pool", "dask_executor"]
