"""Workers that read their own frame ranges, and light normalisation folded into the projection."""

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import vismic
from vismic.data import FrameBatch
from vismic.io import open_video, write_video
from vismic.project._int8 import int8_available
from vismic.project import Project, project_batches
from vismic.stabilise import NormaliseLight

from light_scenes import flicker_frames


@pytest.fixture(scope="module")
def raw_avi(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("ranges") / "raw.avi", flicker_frames(), codec="Y800")


@pytest.fixture()
def later_ranges(monkeypatch):
    """Counts the runs whose later frames were read by the workers (not by this process)."""
    from vismic.project import _ranges

    calls = []
    real = _ranges._later_ranges

    def spy(*args):
        calls.append(args[4:6])  # (first, stop)
        yield from real(*args)

    monkeypatch.setattr(_ranges, "_later_ranges", spy)
    return calls


def test_workers_reading_their_own_ranges_give_the_serial_result(raw_avi, later_ranges):
    serial = vismic.recover_sound(raw_avi, fps=2200.0, denoise=None, grid=(2, 2))
    pooled = vismic.recover_sound(raw_avi, fps=2200.0, denoise=None, grid=(2, 2), workers=2)
    assert later_ranges and later_ranges[0][1] == 400  # the workers read every frame after the first chunk
    np.testing.assert_array_equal(pooled.samples, serial.samples)
    assert pooled.info["n_frames"] == serial.info["n_frames"] == 400
    np.testing.assert_array_equal(pooled.info["reference_frame"], serial.info["reference_frame"])
    assert pooled.info["snr_estimate_db"] == serial.info["snr_estimate_db"]


def _missing(path):
    raise FileNotFoundError(2, "No such file or directory", path)


def test_workers_that_cannot_open_the_file_get_the_frames_sent(raw_avi, monkeypatch, later_ranges):
    from vismic.io import VideoSource

    serial = vismic.recover_sound(raw_avi, fps=2200.0, denoise=None, grid=(2, 2))
    # as on a machine without the file: the source's recipe fails where a worker opens it
    monkeypatch.setattr(VideoSource, "__reduce__", lambda self: (_missing, (str(self.path),)))
    with ThreadPoolExecutor(2) as pool:
        sent = vismic.recover_sound(raw_avi, fps=2200.0, denoise=None, grid=(2, 2), executor=pool)
    assert later_ranges  # the workers were asked first
    np.testing.assert_array_equal(sent.samples, serial.samples)


def test_a_stage_that_is_not_frame_independent_keeps_the_frames_here(raw_avi, later_ranges):
    from vismic.stabilise import Stabilise

    pipe = vismic.default_pipeline(denoise=None, grid=(2, 2)).insert("light", "stabilise", Stabilise())
    serial = vismic.recover_sound(raw_avi, fps=2200.0, pipeline=pipe)
    with ThreadPoolExecutor(2) as pool:
        pooled = vismic.recover_sound(raw_avi, fps=2200.0, pipeline=pipe, executor=pool)
    assert not later_ranges
    np.testing.assert_array_equal(pooled.samples, serial.samples)


def test_dask_workers_read_their_own_ranges(raw_avi, later_ranges):
    distributed = pytest.importorskip("distributed")
    precisions = ["float32"] + (["int8"] if int8_available() else [])  # int8: the workers build its plan too

    serial = {p: vismic.recover_sound(raw_avi, fps=2200.0, denoise=None, grid=(2, 2), precision=p) for p in precisions}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            remote = {p: vismic.recover_sound(raw_avi, fps=2200.0, denoise=None, grid=(2, 2), precision=p,
                                              executor=client.get_executor()) for p in precisions}
    assert later_ranges
    for p in precisions:
        np.testing.assert_array_equal(remote[p].samples, serial[p].samples)


def test_a_file_source_pickles_as_a_recipe_and_reopens_once(raw_avi):
    source = open_video(raw_avi, fps=2200.0, roi=(2, 3, 40, 30), max_frames=100)
    first = pickle.loads(pickle.dumps(source))
    assert pickle.loads(pickle.dumps(source)) is first  # reopened once per process
    assert (first.frame_shape, first.frame_count_hint, first.fps) == ((30, 40), 100, 2200.0)
    np.testing.assert_array_equal(first.read(50, 7).frames, source.read(50, 7).frames)


@pytest.mark.parametrize("counts", [(16, 16), (8, 24), (24, 8), ("auto", "auto"), (8, "auto")])
def test_light_folded_into_the_projection_equals_the_stage_before_it(counts):
    light_frames, reference_frames = counts
    frames = flicker_frames(n_frames=160).astype(np.float32)
    frames[100] *= 3.0  # a frame far from the reference: its "gain" is left unscaled by both
    batches = [FrameBatch(frames[i: i + 24], i, 2200.0) for i in range(0, len(frames), 24)]
    light = NormaliseLight(light_frames)
    normalised = [out for out in (light.transform(b) for b in batches) if out is not None]
    staged = np.concatenate([p.scores for p in project_batches(
        Project(n_levels=3, grid=(2, 2), n_reference_frames=reference_frames), normalised)], axis=-1)
    folded = Project(n_levels=3, grid=(2, 2), n_reference_frames=reference_frames,
                     light_reference_frames=light_frames)
    fused = np.concatenate([p.scores for p in project_batches(folded, batches)], axis=-1)
    assert folded.templates.light is not None and fused.shape == staged.shape
    np.testing.assert_allclose(fused, staged, atol=2e-5 * np.abs(staged).max())


def test_the_default_pipeline_folds_light_into_the_projection():
    from vismic.project._fuse import split_fusable

    head, fused = split_fusable(vismic.default_pipeline().streaming_steps)
    assert head == [] and fused.light_reference_frames == "auto"


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_light_reference_counts_are_one_clear_error(bad):
    frames = FrameBatch(np.zeros((20, 16, 16), np.float32), 0, 1000.0)
    with pytest.raises(ValueError, match="n_reference_frames"):
        Project(n_levels=2, grid=(2, 2), light_reference_frames=bad).transform(frames)


def test_a_stabilised_source_is_never_read_around_its_stabiliser(raw_avi, later_ranges):
    from vismic.stabilise import stabilise_source

    serial = vismic.recover_sound(stabilise_source(open_video(raw_avi, fps=2200.0)), denoise=None, grid=(2, 2))
    with ThreadPoolExecutor(2) as pool:
        pooled = vismic.recover_sound(stabilise_source(open_video(raw_avi, fps=2200.0)), denoise=None, grid=(2, 2),
                                      executor=pool)
    assert not later_ranges
    np.testing.assert_array_equal(pooled.samples, serial.samples)


def _count(frames, start):
    return len(frames)


@pytest.mark.parametrize("batch_size", [24, 64])
def test_every_frame_is_summarised_once_whoever_reads_it(raw_avi, batch_size):
    from vismic.io import VideoStream

    def run(executor):
        counts = []
        stream = VideoStream(open_video(raw_avi, fps=2200.0, batch_size=batch_size), _count, counts.append)
        vismic.default_pipeline(denoise=None, grid=(2, 2)).run(stream, executor=executor)
        return sum(counts)

    assert run(None) == 400
    with ThreadPoolExecutor(2) as pool:
        assert run(pool) == 400


def test_a_serial_run_projects_the_stored_frames_with_the_same_result(raw_avi):
    from vismic._frame_statistics import FrameStatistics, frame_extract
    from vismic.io import StoredBatch, VideoStream

    source = open_video(raw_avi, fps=2200.0, batch_size=48)
    summaries = {"stored": FrameStatistics(), "float": FrameStatistics()}
    stored = list(VideoStream(source, frame_extract, summaries["stored"].add).stored())
    floats = list(VideoStream(source, frame_extract, summaries["float"].add))
    assert all(isinstance(b, StoredBatch) and b.frames.dtype == np.uint8 for b in stored)
    assert [b.start for b in stored] == [b.start for b in floats]
    np.testing.assert_array_equal(np.concatenate([b.frames for b in stored]),
                                  np.concatenate([b.frames for b in floats]))
    assert summaries["stored"].merged() == summaries["float"].merged()

    pipe = lambda: vismic.default_pipeline(denoise=None, grid=(2, 2))
    from_stream = pipe().run(VideoStream(source))  # stored uint8 frames into the projection
    from_floats = pipe().run(iter(list(source)))  # float32 batches
    np.testing.assert_array_equal(from_stream.samples, from_floats.samples)


def test_the_default_recovery_projects_on_threads_with_the_serial_result(raw_avi, monkeypatch):
    from vismic._cores import usable_cores
    from vismic.recover import _once

    used = []
    original = _once.threads_for
    monkeypatch.setattr(_once, "threads_for", lambda *a: used.append(original(*a)) or used[-1])
    frames = flicker_frames(n_frames=300)
    threaded = [vismic.recover_sound(video, fps=2200.0, denoise=None, grid=(2, 2), batch_size=24)
                for video in (raw_avi, frames)]  # workers read the file's ranges / chunks are sent
    assert len(used) == 2 and all(pool is not None for pool in used) or usable_cores() == 1
    serial = [vismic.recover_sound(video, fps=2200.0, denoise=None, grid=(2, 2), batch_size=24, threads=1)
              for video in (raw_avi, frames)]
    assert used[-1] is None
    for got, expected in zip(threaded, serial):
        np.testing.assert_array_equal(got.samples, expected.samples)
        assert got.info["snr_estimate_db"] == expected.info["snr_estimate_db"]


def test_large_frames_default_to_one_thread_without_the_compiled_tiles_unless_threads_are_asked_for(monkeypatch):
    from vismic._cores import usable_cores
    from vismic.project import _kernels
    from vismic.recover import _once

    pipeline = vismic.default_pipeline()
    with_kernel = _once.threads_for(pipeline, None, (1024, 1024))  # 16-frame chunks, one call each
    assert (with_kernel is not None) == (usable_cores() > 1 and _kernels.compiled_available())
    if with_kernel is not None:
        with_kernel.shutdown()
    monkeypatch.setattr(_kernels, "compiled_available", lambda: False)
    assert _once.threads_for(pipeline, None, (1024, 1024)) is None  # numpy's tile by tile calls
    asked = _once.threads_for(pipeline, 2, (1024, 1024))
    assert asked is not None and asked._max_workers == 2
    asked.shutdown()
    default = _once.threads_for(pipeline, None, (512, 512))
    from vismic._cores import usable_cores

    assert (default is not None) == (usable_cores() > 1)
    if default is not None:
        default.shutdown()


@pytest.mark.parametrize("bad, match", [(0, "threads"), (2.5, "threads"), ("two", "threads")])
def test_bad_thread_counts_are_one_clear_error(bad, match):
    with pytest.raises(vismic.errors.ParameterError, match=match):
        vismic.recover_sound(np.zeros((40, 16, 16)), fps=2200.0, threads=bad)
    with pytest.raises(vismic.errors.ParameterError, match="threads= applies without"):
        vismic.recover_sound(np.zeros((40, 16, 16)), fps=2200.0, threads=2, workers=2)


def test_tasks_on_a_cluster_hold_enough_pixels_to_pay_for_their_round_trip():
    from concurrent.futures import Executor, ProcessPoolExecutor

    from vismic.project._ranges import CHUNKS_PER_TASK, MIN_TASK_PIXELS, MIN_TASKS_PER_WORKER, chunks_per_task

    class Remote(Executor):  # any executor that is not one of this machine's pools
        pass

    small, large = 64 * 128 * 128, 16 * 1024 * 1024
    with ThreadPoolExecutor(1) as threads:
        assert chunks_per_task(threads, small) == CHUNKS_PER_TASK
    assert chunks_per_task(ProcessPoolExecutor.__new__(ProcessPoolExecutor), small) == CHUNKS_PER_TASK
    assert chunks_per_task(Remote(), small) * small >= MIN_TASK_PIXELS > (chunks_per_task(Remote(), small) - 1) * small
    assert chunks_per_task(Remote(), large) == CHUNKS_PER_TASK
    # a long video keeps the large tasks; a shorter one is spread over every worker (2 when it does not say)
    assert chunks_per_task(Remote(), small, 10**6) == chunks_per_task(Remote(), small)
    assert chunks_per_task(Remote(), small, 40) == 40 // (2 * MIN_TASKS_PER_WORKER) > CHUNKS_PER_TASK
    assert chunks_per_task(Remote(), small, 8) == CHUNKS_PER_TASK
