"""Templates on tiles partitioning the frame (large frames against the filters' reach) give the same evidence."""

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from vismic.data import FrameBatch
from vismic.project import Project, make_templates, project, project_batches
from vismic.project._templates import project_frames
from vismic.stabilise import NormaliseLight

from light_scenes import flicker_frames

SIZE, GRID, LEVELS = (96, 192), (2, 6), 2  # 48x32 px regions, 2 levels: tiles save most of the flops


def _frames(n_frames=150):
    return flicker_frames(n_frames, SIZE, texture="brick", direction_degrees=60.0)


def _scores(parts):
    return np.concatenate([p.scores for p in parts], axis=-1)


def test_these_templates_partition_the_frame():
    templates = make_templates(_frames(16).astype(np.float32).mean(axis=0), n_levels=LEVELS, grid=GRID)
    assert not templates.full_width
    assert sum(np.prod(tile.shape) for tile in templates.tiles) == SIZE[0] * SIZE[1]
    assert np.mean([len(tile.columns) for tile in templates.tiles]) < 0.5 * 2 * templates.n_regions


def test_a_frame_scores_do_not_depend_on_the_pieces_it_came_in():
    frames = _frames(40)
    templates = make_templates(frames[:16].astype(np.float32).mean(axis=0), n_levels=LEVELS, grid=GRID)
    whole = project_frames([frames], templates)
    split = project_frames([frames[:7], frames[7:30], frames[30:]], templates)
    alone = project_frames([frames[:5]], templates)
    np.testing.assert_array_equal(split, whole)  # bit for bit: the product's shape depends on the frame size only
    np.testing.assert_array_equal(alone[:5], whole[:5])
    assert not np.any(alone[5:])


def test_light_folded_into_tiles_equals_the_stage_before_it():
    frames = _frames().astype(np.float32)
    frames[100] *= 3.0
    batches = [FrameBatch(frames[i: i + 24], i, 2200.0) for i in range(0, len(frames), 24)]
    light = NormaliseLight(16)
    normalised = [out for out in (light.transform(b) for b in batches) if out is not None]
    staged = _scores(project_batches(Project(n_levels=LEVELS, grid=GRID), normalised))
    folded = Project(n_levels=LEVELS, grid=GRID, light_reference_frames=16)
    fused = _scores(project_batches(folded, batches))
    assert folded.templates.light is not None and not folded.templates.full_width
    np.testing.assert_allclose(fused, staged, atol=2e-5 * np.abs(staged).max())


@pytest.mark.parametrize("light", [None, 16])
def test_tiles_on_workers_give_the_serial_result_exactly(light):
    frames = _frames()
    batches = [FrameBatch(frames[i: i + 20], i, 2200.0) for i in range(0, len(frames), 20)]
    stage = lambda: Project(n_levels=LEVELS, grid=GRID, light_reference_frames=light)
    serial = _scores(project_batches(stage(), batches))
    with ProcessPoolExecutor(2) as pool:  # templates and frame differences through shared memory
        shared = _scores(project_batches(stage(), batches, pool))
    with ThreadPoolExecutor(2) as pool:  # two threads projecting at once
        threaded = _scores(project_batches(stage(), batches, pool))
    np.testing.assert_array_equal(shared, serial)
    np.testing.assert_array_equal(threaded, serial)


@pytest.mark.parametrize("light", [None, 16])
def test_torch_cpu_matches_numpy_on_tiles(light):
    pytest.importorskip("torch")
    frames = _frames(60)
    stage = Project(n_levels=LEVELS, grid=GRID, light_reference_frames=light)
    stage.transform(FrameBatch(frames, 0, 2200.0))
    expected = project(frames, stage.templates)
    got = project(frames, stage.templates, device="cpu")
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max())



def test_both_orientations_of_the_product_give_the_same_scores():
    """BLAS on one thread runs ``block @ data.T``, on several ``data @ block.T``: the scores agree."""
    from vismic.project._parallel import _openblas_controls

    controls = _openblas_controls()
    if not controls:
        pytest.skip("numpy's BLAS is not an OpenBLAS whose threads can be set")
    frames = _frames(40)
    templates = make_templates(frames.astype(np.float32).mean(axis=0), n_levels=LEVELS, grid=GRID)
    saved = [getter() for _, getter in controls]
    try:
        results = {}
        for threads in (1, 2):
            for setter, _ in controls:
                setter(threads)
            results[threads] = project(frames, templates)
    finally:
        for (setter, _), threads in zip(controls, saved):
            setter(threads)
    scale = np.abs(results[1]).max()
    np.testing.assert_allclose(results[2], results[1], rtol=0, atol=1e-5 * scale)
