"""The fused projection equals the stage-by-stage band evidence."""

import numpy as np
import pytest

from vismic import synth
from vismic.combine import BandSum
from vismic.data import FrameBatch
from vismic.decompose import Decompose
from vismic.decompose._dtcwt import _transform
from vismic.decompose._fast import forward
from vismic.phase import LocalPhase
from vismic.project import Project, make_templates, project
from vismic.project._adjoint import adjoint, adjoint_window, band_gradients


@pytest.mark.parametrize("shape, n_levels", [((64, 64), 3), ((37, 51), 2), ((66, 94), 4)])
def test_adjoint_is_exact(shape, n_levels):
    rng = np.random.default_rng(1)
    transform = _transform("near_sym_a", "qshift_a")
    x = rng.standard_normal((1,) + shape)
    highpasses, _ = forward(x, n_levels, transform.biort, transform.qshift)
    weights = [rng.standard_normal((2,) + h.shape[1:]) + 1j * rng.standard_normal((2,) + h.shape[1:]) for h in highpasses]
    images = adjoint(weights, shape, transform.biort, transform.qshift)
    for t in range(2):
        direct = sum(np.real(np.sum(w[t] * h[0])) for w, h in zip(weights, highpasses))
        assert np.sum(images[t] * x[0]) == pytest.approx(direct, rel=1e-12)


@pytest.mark.parametrize("shape, n_levels, rows, cols", [((96, 128), 3, (0.4, 0.6), (0.0, 0.25)),
                                                          ((75, 61), 2, (0.8, 1.0), (0.5, 0.9))])
def test_windowed_adjoint_is_the_whole_adjoint_cropped(shape, n_levels, rows, cols):
    rng = np.random.default_rng(2)
    transform = _transform("near_sym_a", "qshift_a")
    highpasses, _ = forward(np.zeros((1,) + shape), n_levels, transform.biort, transform.qshift)
    weights, bands = [], []
    for h in highpasses:  # weights on a rectangle of every level's coefficients, zero elsewhere
        (h_rows, h_cols), w = h.shape[1:3], np.zeros((2,) + h.shape[1:], dtype=complex)
        r0, r1 = int(rows[0] * h_rows), max(int(rows[1] * h_rows), int(rows[0] * h_rows) + 1)
        c0, c1 = int(cols[0] * h_cols), max(int(cols[1] * h_cols), int(cols[0] * h_cols) + 1)
        w[:, r0:r1, c0:c1] = rng.standard_normal((2, r1 - r0, c1 - c0, 6)) + 1j * rng.standard_normal(
            (2, r1 - r0, c1 - c0, 6))
        weights.append(w)
        bands.append((2 * r0, 2 * c0, *band_gradients(w[:, r0:r1, c0:c1])))
    full = adjoint(weights, shape, transform.biort, transform.qshift)
    top, left, window = adjoint_window(bands, shape, transform.biort, transform.qshift)
    placed = np.zeros_like(full)
    placed[:, top: top + window.shape[1], left: left + window.shape[2]] = window
    assert window.shape[1] < shape[0] or window.shape[2] < shape[1]  # the window saved work
    np.testing.assert_allclose(placed, full, rtol=0, atol=1e-12 * np.abs(full).max())


def _stage_path(frames, n_levels, grid):
    batch = FrameBatch(frames, 0, 2200.0)
    return BandSum(grid=grid).transform(LocalPhase().transform(Decompose(n_levels=n_levels).transform(batch)))


@pytest.mark.parametrize("texture, size, n_levels, grid, direction", [
    ("brick", (64, 64), 3, (4, 4), 30.0),
    ("gravel", (72, 96), 4, (8, 8), 100.0),
    ("noise", (48, 64), 2, (1, 1), 0.0),
    ("gravel", (96, 192), 2, (2, 6), 60.0),  # tiles partitioning the frame
])
def test_projection_matches_stages(texture, size, n_levels, grid, direction):
    sound = synth.tone(330.0, duration_seconds=0.02, sr=2200.0)
    scene = synth.render_scene(synth.texture(texture, size=size), synth.make_displacement(sound, amplitude_px=0.3),
                               direction_degrees=direction, noise_std=2.0, fps=2200.0)
    frames = scene.frames.astype(np.float32)
    expected = _stage_path(frames, n_levels, grid)
    templates = make_templates(frames[:16].mean(axis=0), n_levels=n_levels, grid=grid)
    scores = project(frames, templates)
    scale = np.abs(expected.scores).max()
    np.testing.assert_allclose(scores, expected.scores[0, 0], atol=2e-6 * scale)
    np.testing.assert_allclose(templates.information, expected.information[0, 0], rtol=1e-10)


def test_project_stage_does_not_depend_on_batches():
    sound = synth.tone(200.0, duration_seconds=0.03, sr=2200.0)
    scene = synth.render_scene(synth.texture("brick", size=(48, 48)), synth.make_displacement(sound, amplitude_px=0.1),
                               fps=2200.0)
    frames = scene.frames.astype(np.float32)
    results = []
    for size in (5, 16, 66):
        stage = Project(n_levels=3, grid=(2, 2))
        parts = [stage.transform(FrameBatch(frames[i:i + size], i, 2200.0)) for i in range(0, len(frames), size)]
        parts = [p for p in parts if p is not None]
        results.append(np.concatenate([p.scores for p in parts], axis=-1))
        assert parts[0].start == 0 and results[-1].shape[-1] == len(frames)
    scale = np.abs(results[0]).max()  # the same to float32 rounding (BLAS blocks sums by batch size)
    np.testing.assert_allclose(results[1], results[0], atol=1e-6 * scale)
    np.testing.assert_allclose(results[2], results[0], atol=1e-6 * scale)


def test_torch_cpu_matches_numpy():
    pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (20, 40, 48)).astype(np.uint8)
    templates = make_templates(frames[:16].astype(np.float32).mean(axis=0), n_levels=3, grid=(2, 3))
    expected = project(frames, templates)
    got = project(frames, templates, device="cpu")
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max())


def test_bad_device_is_one_clear_error():
    pytest.importorskip("torch")
    import torch

    templates = make_templates(np.zeros((32, 32)), n_levels=2, grid=(1, 1))
    frames = np.zeros((2, 32, 32), np.uint8)
    with pytest.raises(ValueError, match="device"):
        project(frames, templates, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            project(frames, templates, device="cuda")


def _scene_batches(n_frames=90, size=(40, 48), batch=16):
    sound = synth.tone(250.0, duration_seconds=n_frames / 2200.0, sr=2200.0)
    scene = synth.render_scene(synth.texture("gravel", size=size), synth.make_displacement(sound, amplitude_px=0.1),
                               fps=2200.0)
    frames = scene.frames.astype(np.float32)
    return [FrameBatch(frames[i:i + batch], i, 2200.0) for i in range(0, len(frames), batch)]


def _joined(parts):
    return np.concatenate([p.scores for p in parts], axis=-1), [p.start for p in parts]


def test_process_pool_gives_the_serial_result():
    from concurrent.futures import ProcessPoolExecutor

    from vismic.project import project_batches

    batches = _scene_batches()
    serial, starts = _joined(project_batches(Project(n_levels=3, grid=(2, 2)), batches))
    with ProcessPoolExecutor(2) as pool:
        parallel, parallel_starts = _joined(project_batches(Project(n_levels=3, grid=(2, 2)), batches, pool))
    assert parallel_starts == starts
    np.testing.assert_allclose(parallel, serial, atol=1e-6 * np.abs(serial).max())


def test_a_dead_worker_is_one_clear_error():
    from concurrent.futures import ProcessPoolExecutor

    from vismic.project import WorkerError, map_ordered

    with ProcessPoolExecutor(1) as pool:
        with pytest.raises(WorkerError, match="worker failed"):
            list(map_ordered(_die, [(0, 1), (1, 2)], pool))


def _die(_):
    import os

    os._exit(3)


def test_dask_local_cluster_gives_the_serial_result():
    distributed = pytest.importorskip("distributed")

    from vismic.project import project_batches

    batches = _scene_batches(n_frames=70)
    serial, _ = _joined(project_batches(Project(n_levels=3, grid=(2, 2)), batches))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            parts = list(project_batches(Project(n_levels=3, grid=(2, 2)), batches, client.get_executor()))
    remote, starts = _joined(parts)
    assert starts[0] == 0 and starts == sorted(starts) and remote.shape[-1] == sum(len(b) for b in batches)
    np.testing.assert_allclose(remote, serial, atol=1e-6 * np.abs(serial).max())


def _scene_frames(n_frames=120, size=(48, 56)):
    sound = synth.music(duration_seconds=n_frames / 2200.0, sr=2200.0)
    scene = synth.render_scene(synth.texture("brick", size=size), synth.make_displacement(sound, amplitude_px=0.05),
                               direction_degrees=30.0, noise_std=2.0, fps=2200.0)
    return scene.frames


def test_recover_sound_fused_equals_stage_by_stage():
    import vismic

    frames = _scene_frames()
    fused = vismic.recover_sound(frames, fps=2200.0, denoise=None, grid=(4, 4))
    staged = vismic.recover_sound(frames, fps=2200.0, denoise=None, grid=(4, 4), fuse=False)
    spread = np.std(staged.samples)
    np.testing.assert_allclose(fused.samples, staged.samples, atol=1e-4 * spread)
    assert fused.info["snr_estimate_db"] == pytest.approx(staged.info["snr_estimate_db"], abs=0.01)


def test_recover_sound_on_workers_and_torch_equals_serial():
    import vismic

    frames = _scene_frames()
    serial = vismic.recover_sound(frames, fps=2200.0, denoise=None, grid=(2, 2), batch_size=16)
    pooled = vismic.recover_sound(frames, fps=2200.0, denoise=None, grid=(2, 2), batch_size=16, workers=2)
    np.testing.assert_array_equal(pooled.samples, serial.samples)
    if pytest.importorskip("torch"):
        on_torch = vismic.recover_sound(frames, fps=2200.0, denoise=None, grid=(2, 2), device="cpu")
        np.testing.assert_allclose(on_torch.samples, serial.samples, atol=1e-4 * np.std(serial.samples))
        import torch

        if torch.cuda.is_available():
            on_gpu = vismic.recover_sound(frames, fps=2200.0, denoise=None, grid=(2, 2), device="cuda")
            np.testing.assert_allclose(on_gpu.samples, serial.samples, atol=1e-4 * np.std(serial.samples))


def test_workers_and_device_need_the_fused_path():
    import vismic
    from vismic import Pipeline, stages

    frames = _scene_frames(n_frames=40, size=(32, 32))
    with pytest.raises(ValueError, match="workers"):
        vismic.recover_sound(frames, fps=2200.0, workers=0)
    custom = Pipeline([("decompose", stages.Decompose()), ("phase", stages.LocalPhase()),
                       ("bands", stages.BandSum(linear=False)), ("combine", stages.Combine())])
    with pytest.raises(ValueError, match="fused projection"):
        vismic.recover_sound(frames, fps=2200.0, pipeline=custom, device="cpu")


def test_project_passes_check_stage():
    from vismic.testing import check_stage

    assert check_stage(Project(n_levels=2, grid=(2, 2)))["output"] == "BandSignals"


def test_frame_stages_before_the_fused_three_still_run():
    import vismic
    from vismic.stabilise import Stabilise

    frames = _scene_frames(n_frames=300)
    pipe = vismic.default_pipeline(denoise=None, grid=(2, 2)).insert("decompose", "stabilise", Stabilise())
    fused = vismic.recover_sound(frames, fps=2200.0, pipeline=pipe)
    staged = vismic.recover_sound(frames, fps=2200.0, pipeline=pipe, fuse=False)
    assert len(fused.samples) == len(frames)
    np.testing.assert_allclose(fused.samples, staged.samples, atol=1e-4 * np.std(staged.samples))


def test_templates_too_large_are_refused_before_any_allocation(monkeypatch):
    from vismic.project import _templates

    monkeypatch.setattr(_templates, "MAX_TEMPLATE_BYTES", 1000)
    with pytest.raises(ValueError, match="--downsample"):
        make_templates(np.zeros((32, 32)), n_levels=2, grid=(2, 2))


def _record_segments(monkeypatch):
    from vismic.project import _parallel

    created = []
    create = _parallel._Segments.create

    def recording(self, nbytes):
        segment = create(self, nbytes)
        created.append(segment.name)
        return segment

    monkeypatch.setattr(_parallel._Segments, "create", recording)
    return created


def _no_rebuild(*args, **kwargs):
    raise AssertionError("a worker rebuilt the templates")


def _die_in_worker(parent):
    import os

    from vismic.project._templates import project_difference

    def project_or_die(chunk, templates):
        if os.getpid() != parent:
            os._exit(3)
        return project_difference(chunk, templates)

    return project_or_die


def _interrupted(batches, after):
    for index, batch in enumerate(batches):
        if index == after:
            raise KeyboardInterrupt
        yield batch


@pytest.mark.parametrize("ending", ["finished", "worker dies", "interrupted"])
def test_shared_memory_is_released_however_the_run_ends(monkeypatch, ending):
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from vismic.project import WorkerError, _parallel, project_batches

    created = _record_segments(monkeypatch)
    monkeypatch.setattr(_parallel, "make_templates", _no_rebuild)  # workers (forked) attach, never rebuild
    if ending == "worker dies":
        monkeypatch.setattr(_parallel, "project_difference", _die_in_worker(os.getpid()))
    batches = _scene_batches(n_frames=200, batch=16)
    serial, _ = _joined(project_batches(Project(n_levels=3, grid=(2, 2)), batches))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        run = project_batches(Project(n_levels=3, grid=(2, 2)), batches, pool)
        if ending == "finished":
            parallel, _ = _joined(run)
            np.testing.assert_array_equal(parallel, serial)
        elif ending == "worker dies":
            with pytest.raises(WorkerError):
                list(run)
        else:
            run = project_batches(Project(n_levels=3, grid=(2, 2)), _interrupted(batches, after=8), pool)
            with pytest.raises(KeyboardInterrupt):
                list(run)
    assert len(created) >= 2  # the templates and the frame slots went through shared memory
    assert not [name for name in created if os.path.exists(f"/dev/shm/{name}")]


@pytest.mark.parametrize("size, grid, levels, partition", [((96, 80), (3, 2), 3, False), ((96, 192), (2, 6), 2, True)])
def test_templates_are_zero_outside_their_tiles_and_the_same_built_on_workers(size, grid, levels, partition):
    from concurrent.futures import ThreadPoolExecutor

    reference = synth.texture("gravel", size=size)
    templates = make_templates(reference, n_levels=levels, grid=grid)
    assert templates.full_width is not partition  # small regions: bands of rows; large ones: tiles
    with ThreadPoolExecutor(2) as pool:
        pooled = make_templates(reference, n_levels=levels, grid=grid, executor=pool)
    covered = np.zeros(size + (2 * templates.n_regions,), dtype=bool)
    for tile, other in zip(templates.tiles, pooled.tiles):
        assert (tile.top, tile.bottom, tile.left, tile.right) == (other.top, other.bottom, other.left, other.right)
        assert 0 <= tile.top < tile.bottom <= size[0] and 0 <= tile.left < tile.right <= size[1]
        np.testing.assert_array_equal(tile.columns, other.columns)
        np.testing.assert_array_equal(tile.block, other.block)
        covered[tile.top:tile.bottom, tile.left:tile.right, tile.columns] = True
    if partition:
        assert sum(np.prod(tile.shape) for tile in templates.tiles) == size[0] * size[1]
    # the whole-image adjoint of each region's weights (as the templates are defined) is zero off the band
    from vismic.combine._bands import region_labels
    from vismic.decompose import image_gradient

    transform = _transform("near_sym_a", "qshift_a")
    gradients, _ = forward(np.stack(image_gradient(reference)), levels, transform.biort, transform.qshift)
    dense = templates.matrix.reshape(size + (-1,))
    for region in range(templates.n_regions):
        weights = [-np.conj(g) * (region_labels(*g.shape[1:3], grid) == region)[None, :, :, None] for g in gradients]
        full = adjoint(weights, size, transform.biort, transform.qshift)  # (2, height, width)
        outside = ~np.moveaxis(covered[..., 2 * region: 2 * region + 2], -1, 0)
        assert np.abs(full[outside]).max(initial=0) == 0
        np.testing.assert_allclose(np.moveaxis(dense[..., 2 * region: 2 * region + 2], -1, 0), full,
                                   atol=1e-6 * np.abs(full).max())


def test_a_dask_client_that_cannot_take_the_task_is_a_worker_error():
    from vismic.project import WorkerError, map_ordered

    class _Gone:
        def scatter(self, *args, **kwargs):
            raise OSError("the scheduler is gone")

    class _ClientExecutor:  # what map_ordered sees of a Dask client's executor
        _client = _Gone()
        _max_workers = 2

        def submit(self, *args):
            raise AssertionError("nothing is submitted without the task on the workers")

    with pytest.raises(WorkerError, match="could not send the task to the Dask workers: OSError"):
        list(map_ordered(abs, [(0, -1)], _ClientExecutor()))


@pytest.mark.parametrize("asked", [{"precision": "int8"}, {"device": "cpu"}, {"workers": 2},
                                   {"executor": object()}])
def test_stage_by_stage_with_what_only_the_projection_does_is_refused(asked):
    import vismic
    from vismic.errors import ParameterError

    name = next(iter(asked))
    if name == "precision":
        pytest.importorskip("torch")
    frames = _scene_frames()[:80]
    with pytest.raises(ParameterError, match=f"fuse=False.*{name}"):
        vismic.recover_sound(frames, fps=2200.0, denoise=None, grid=(2, 2), fuse=False, **asked)
    if name != "workers":  # a Pipeline takes executors, not worker counts
        with pytest.raises(ParameterError, match=f"fuse=False.*{name}"):
            vismic.default_pipeline(denoise=None, grid=(2, 2)).run(iter([]), fuse=False, **asked)


def test_cuda_matches_numpy_when_a_gpu_is_there():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, (40, 96, 80)).astype(np.uint8)
    for grid, levels in (((2, 3), 3), ((8, 8), 4)):
        templates = make_templates(frames[:16].astype(np.float32).mean(axis=0), n_levels=levels, grid=grid)
        expected = project(frames, templates)
        for data in (frames, frames.astype(np.uint16) << 4, frames.astype(np.float32)):
            got = project(data, templates, device="cuda")
            reference = project(data, templates)
            np.testing.assert_allclose(got, reference, atol=1e-5 * np.abs(reference).max())
        np.testing.assert_allclose(project(frames, templates, device="cuda:0"), expected,
                                   atol=1e-5 * np.abs(expected).max())
