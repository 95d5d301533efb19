"""The stabiliser: exact shifts, motion measurement, batch independence, quality on nuisance scenes."""

import warnings

import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.data import FrameBatch
from vismic.denoise import highpass
from vismic.errors import FrameShapeError, ParameterError, VismicWarning
from vismic.stabilise import (
    Stabilise,
    measure_shift,
    shift_frames,
    stabilise_frames,
)
from vismic.stabilise._track import ShiftModel, track_error
from vismic.testing import check_stage

FPS = 2200.0


def test_shift_frames_is_the_exact_band_limited_shift():
    texture = synth.texture("brick", size=(32, 48))
    shifts = np.array([2.7, -1.3, 0.02])
    ux, uy = np.cos(np.radians(30.0)), np.sin(np.radians(30.0))
    expected = synth.render_frames(texture, shifts, direction_degrees=30.0)
    moved = shift_frames(np.repeat(texture[None], 3, axis=0), shifts * ux, shifts * uy)
    assert np.max(np.abs(moved - expected)) < 1e-8


def test_shift_frames_gives_the_same_frames_in_any_chunks_and_threads(monkeypatch):
    import vismic.stabilise._shift as shift_module

    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64, np.uint8):
        frames = rng.uniform(0, 255, (9, 24, 40)).astype(dtype)
        sx, sy = rng.uniform(-3, 3, 9), rng.uniform(-3, 3, 9)
        sy[:3] = 0.0  # frames that do not move along y in a video that does
        one = shift_frames(frames, sx, sy, threads=1)
        monkeypatch.setattr(shift_module, "CHUNK_BYTES", 24 * 40 * 8)  # a frame or two a chunk
        for threads in (1, 2, 3):
            together = shift_frames(frames, sx, sy, threads=threads)
            assert together.dtype == (np.float32 if dtype == np.float32 else np.float64)
            np.testing.assert_array_equal(together, one)
        monkeypatch.undo()
    with pytest.raises(ParameterError, match="threads"):
        shift_frames(frames, sx, sy, threads=0)


def test_the_stage_gives_the_same_frames_and_report_on_one_thread_or_several(monkeypatch):
    import vismic._cores

    scene, _ = _shaken_scene(seconds=0.2, size=32)
    several, report = stabilise_frames(scene.frames, fps=FPS, batch_size=50)
    monkeypatch.setattr(vismic._cores, "usable_cores", lambda: 1)
    one, alone = stabilise_frames(scene.frames, fps=FPS, batch_size=50)
    np.testing.assert_array_equal(one, several)
    for name in ("motion_px", "block_motion_px", "gain", "offset", "kept_information", "difference_power"):
        np.testing.assert_array_equal(getattr(alone, name), getattr(report, name))


def test_batches_a_caller_keeps_are_never_written_over():
    from vismic.stabilise import Stabilise

    scene, _ = _shaken_scene(seconds=0.2, size=32)
    expected, _ = stabilise_frames(scene.frames, fps=FPS, batch_size=40)  # each batch copied out at once
    stage, kept = Stabilise(), []
    for start in range(0, len(scene), 40):
        out = stage.transform(FrameBatch(scene.frames[start:start + 40], start, FPS))
        if out is not None:
            kept.append(out.frames[1:])  # a view keeps the batch's memory too
    kept.append(stage.flush().frames[1:])
    firsts = np.cumsum([0] + [len(view) + 1 for view in kept[:-1]])
    for first, view in zip(firsts, kept):
        np.testing.assert_array_equal(view, expected[first + 1:first + 1 + len(view)])


@pytest.mark.parametrize("dx, dy", [(0.2, 0.0), (1.7, -0.6), (-4.0, 3.2)])
def test_measure_shift_finds_any_size_of_motion_to_a_hundredth_of_a_pixel(dx, dy):
    texture = synth.texture("gravel", size=(64, 64))
    image = shift_frames(texture[None], np.array([dx]), np.array([dy]))[0] * 1.1 + 3.0  # and a light change
    found = measure_shift(image, ShiftModel(texture))
    assert found == pytest.approx((dx, dy), abs=0.01)


def test_two_gauss_newton_steps_reach_what_more_do():
    # phase correlation puts the shift within ~0.1 px; two steps from there are converged
    # (measured: within 4e-6 px of five steps, one step 1e-4 to 6e-4 px off, on shifts up to 4 px with
    # a camera's borders and noise)
    texture = synth.texture("gravel", size=(96, 96)).astype(np.float32)
    model = ShiftModel(texture[16:-16, 16:-16])
    rng = np.random.default_rng(2)
    for dx, dy in rng.uniform(-4, 4, (6, 2)):
        moved = shift_frames(texture[None], np.array([dx]), np.array([dy]))[0][16:-16, 16:-16]
        image = moved + rng.normal(0, 2, moved.shape)
        assert measure_shift(image, model) == pytest.approx(measure_shift(image, model, n_iterations=5), abs=2e-5)
        assert measure_shift(image, model) == pytest.approx((dx, dy), abs=0.01)


def test_measuring_in_float32_finds_float64_s_shift():
    texture = synth.texture("gravel", size=(64, 64))
    model = ShiftModel(texture)
    rng = np.random.default_rng(1)
    for dx, dy in [(0.3, -0.2), (2.6, 1.1), (-3.7, 0.05)]:
        image = shift_frames(texture[None], np.array([dx]), np.array([dy]))[0] + rng.normal(0, 2, texture.shape)
        single = measure_shift(image, model)
        double = measure_shift(image, model, dtype=np.float64)
        assert single == pytest.approx(double, abs=1e-6)


def _drift_scene(total_px=2.0, seconds=0.4, size=64, **extra):
    n = int(seconds * FPS)
    sound = synth.make_displacement(synth.music(duration_seconds=n / FPS, sr=FPS, seed=0), amplitude_px=0.08)
    drift = synth.drift_motion(n, total_px=total_px) if total_px else None
    return synth.render_nuisance_scene(synth.texture("brick", size=(size, size)), sound, direction_degrees=45.0,
                                       shift_x_px=drift, noise_std=1.0, fps=FPS, **extra)


@pytest.mark.parametrize("extend", ["reference", "mosaic"])
def test_result_does_not_depend_on_batch_size(extend):
    scene = _drift_scene(seconds=0.12, size=32)
    first, report = stabilise_frames(scene.frames, fps=FPS, batch_size=64, extend=extend)
    second, _ = stabilise_frames(scene.frames, fps=FPS, batch_size=7, extend=extend)
    assert first.shape == scene.frames.shape
    np.testing.assert_allclose(first, second, atol=1e-3)
    assert report.motion_px.shape == (len(scene), 2)


def test_stage_follows_the_stage_protocol():
    scene = _drift_scene(seconds=0.05, size=16)
    batches = [FrameBatch(scene.frames[i:i + 30].astype(np.float32), i, FPS) for i in range(0, len(scene), 30)]
    stage = Stabilise(kernel_seconds=0.01)
    outputs = [stage.transform(b) for b in batches]
    released = [o for o in outputs if o is not None] + [stage.flush()]
    assert sum(len(o) for o in released) == len(scene)
    assert [o.start for o in released] == sorted(o.start for o in released)
    assert "Stabilise(" in repr(Stabilise(cutoff_hz=10.0))
    # the protocol's own check: parameters, inputs left alone, the same output whatever the batches
    scene = _drift_scene(seconds=0.12, size=32)
    batches = [FrameBatch(scene.frames[i:i + 50].astype(np.float32), i, FPS) for i in range(0, len(scene), 50)]
    assert check_stage(Stabilise(), sample=batches)["streaming"]


def test_light_gain_is_measured_and_removed():
    n = int(0.1 * FPS)
    gain = synth.flicker_gain(n, fps=FPS, frequency_hz=120.0, depth=0.05)
    scene = _drift_scene(total_px=0.0, seconds=0.1, size=48, gain=gain)
    _, report = stabilise_frames(scene.frames, fps=FPS)
    measured = report.gain / np.mean(report.gain) * np.mean(gain)
    assert np.sqrt(np.mean((measured - gain) ** 2)) < 0.004  # measured: 0.002 (sensor noise of 1 grey level)
    assert np.max(np.abs(measured - gain)) < 0.015


def _si_snr(frames, scene):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None, stabilise=False)  # the stage on its own
    return metrics.si_snr(rec.audio, highpass(scene.displacement_px, sr=FPS))


def test_drift_of_two_px_recovers_close_to_the_clean_scene():
    clean = _drift_scene(total_px=0.0)
    drifting = _drift_scene(total_px=2.0)
    clean_db = _si_snr(clean.frames, clean)
    without = _si_snr(drifting.frames, drifting)
    stable, _ = stabilise_frames(drifting.frames, fps=FPS)
    with_stage = _si_snr(stable, drifting)
    # measured (64x64, 0.4 s): clean 28.9 dB, drifting -11.8 dB, stabilised 26.9 dB (26.4 dB with the
    # track reflected about its end blocks instead of extrapolated as band-limited motion)
    assert with_stage > clean_db - 4.0
    assert with_stage > without + 15.0


def test_stage_in_the_pipeline_changes_nothing_on_a_clean_scene():
    clean = _drift_scene(total_px=0.0)
    stable, _ = stabilise_frames(clean.frames, fps=FPS)
    assert _si_snr(stable, clean) > _si_snr(clean.frames, clean) - 0.5


def test_bad_parameters_raise_parameter_errors():
    frames = np.zeros((20, 16, 16), np.float32)
    with pytest.raises(ParameterError, match="kernel_seconds"):
        stabilise_frames(frames, fps=FPS, kernel_seconds=0.0)
    with pytest.raises(ParameterError, match="cutoff_hz"):
        stabilise_frames(frames, fps=FPS, cutoff_hz=-1.0)
    # above half its blocks' rate the track follows everything (5000 Hz at 2200 fps took the sound without a word)
    with pytest.warns(VismicWarning, match=r"cutoff_hz=5000\) is beyond .* 4-frame blocks at 2200 fps .*below 275 Hz"):
        stabilise_frames(frames, fps=FPS, cutoff_hz=5000.0)


def test_frames_that_change_size_mid_video_raise_a_frame_shape_error():
    stage = Stabilise()
    stage.transform(FrameBatch(np.zeros((40, 32, 32), np.float32), 0, 2200.0))
    with pytest.raises(FrameShapeError, match=r"changed size.*\(32, 32\).*\(32, 30\) from frame 40"):
        stage.transform(FrameBatch(np.zeros((40, 32, 30), np.float32), 40, 2200.0))


def test_stabilised_source_gives_every_frame_to_recover_sound():
    from vismic.io import open_video
    from vismic.stabilise import stabilise_source

    scene = _drift_scene(total_px=2.0, seconds=0.4)
    source = stabilise_source(open_video(scene.frames, fps=FPS, batch_size=50))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(source, fps=FPS, denoise=None)
    assert rec.audio.shape == (len(scene),)
    assert metrics.si_snr(rec.audio, highpass(scene.displacement_px, sr=FPS)) > 15.0
    assert source.stage.report().motion_px.shape == (len(scene), 2)
    with pytest.raises(ParameterError, match="VideoSource"):
        stabilise_source(scene.frames)


def _shaken_scene(seconds=0.3, size=48, seed=0):
    n = int(seconds * FPS)
    sound = synth.make_displacement(synth.music(duration_seconds=n / FPS, sr=FPS, seed=0), amplitude_px=0.05)
    shake = [synth.shake_motion(n, fps=FPS, peak_px=4.0, low_hz=0.5, high_hz=10.0, seed=seed + k) for k in (0, 100)]
    scene = synth.render_nuisance_scene(synth.texture("gravel", size=(size, size)), sound, direction_degrees=45.0,
                                        shift_x_px=shake[0], shift_y_px=shake[1], noise_std=1.0, fps=FPS)
    return scene, np.stack(shake, axis=1)


def test_shake_is_tracked_up_to_the_clip_ends():
    scene, shake = _shaken_scene()
    _, report = stabilise_frames(scene.frames, fps=FPS)
    error = report.motion_px - shake
    error -= error[len(error) // 2]  # the track is relative to the first block
    in_band = highpass(error.T, sr=FPS)  # what the track error adds to the sound
    half = int(0.075 * FPS)  # half the default kernel
    ends = np.concatenate([in_band[:, :half], in_band[:, -half:]], axis=1)
    # measured (48x48, 0.3 s, 4 px shake to 10 Hz): 0.0016 px RMS within half a kernel of the ends
    # (0.0005 px in the middle); odd reflection of the block track about the end blocks gave 0.023 px
    assert np.sqrt(np.mean(ends ** 2)) < 0.006


def test_the_report_s_track_error_follows_the_frames_released():
    scene, _ = _shaken_scene(seconds=0.25, size=24)
    stage = Stabilise()
    for start in range(0, len(scene), 100):
        stage.transform(FrameBatch(scene.frames[start:start + 100].astype(np.float32), start, FPS))
        early = stage.report()
        assert early.track_error_px.shape == early.motion_px.shape
    stage.flush()
    final = stage.report()
    assert final.motion_px.shape[0] == len(scene) > early.motion_px.shape[0]
    np.testing.assert_array_equal(final.track_error_px, track_error(final.motion_px, final.settings))
    assert stage.report().track_error_px is final.track_error_px  # computed once per length


def test_a_shaken_result_does_not_depend_on_batch_size():
    scene, _ = _shaken_scene(seconds=0.25, size=24)  # longer than the blocks the ends are extrapolated from
    first, report = stabilise_frames(scene.frames, fps=FPS, batch_size=64)
    assert report.kept_information.shape == report.share.shape == (len(scene),)
    assert report.kept_information.min() < 1.0 and report.whole_blocks > 0.0
    for batch_size in (7, 300):
        second, other = stabilise_frames(scene.frames, fps=FPS, batch_size=batch_size)
        np.testing.assert_allclose(first, second, atol=1e-3)
        np.testing.assert_allclose(other.kept_information, report.kept_information, atol=1e-6)
        np.testing.assert_allclose(other.share, report.share, atol=1e-9)
        # the codec check's pairs sit at the same frames whatever the batches
        assert (other.held_blocks, other.whole_blocks) == (report.held_blocks, report.whole_blocks)


def test_the_frame_queue_gives_back_what_was_appended_in_order():
    from vismic._buffers import FrameQueue

    rng = np.random.default_rng(0)
    queue, expected, counter = FrameQueue(), np.zeros((0, 3, 2), np.float32), 0
    for _ in range(300):  # appends and takes of every size, the buffer compacted and grown on the way
        n = int(rng.integers(0, 40))
        frames = (counter + np.arange(n))[:, None, None] * np.ones((1, 3, 2), np.uint8)
        counter += n
        queue.append(frames)
        expected = np.concatenate([expected, frames.astype(np.float32)])
        count = int(rng.integers(0, len(queue) + 1))
        np.testing.assert_array_equal(queue.take(count), expected[:count])
        expected = expected[count:]
        np.testing.assert_array_equal(queue.frames, expected)
        assert len(queue) == len(expected)


def test_stored_8_bit_frames_are_held_as_stored_and_give_the_float32_result(tmp_path):
    import warnings

    import vismic
    from vismic.io import write_video
    from vismic.io._stream import StoredBatch
    from vismic.stabilise import Stabilise

    scene, _ = _shaken_scene(seconds=0.25, size=40)
    stored = np.clip(np.rint(scene.frames), 0, 255).astype(np.uint8)
    as_float, report_float = stabilise_frames(stored.astype(np.float32), fps=FPS, batch_size=37)
    as_stored, report_stored = stabilise_frames(stored, fps=FPS, batch_size=37)
    np.testing.assert_array_equal(as_stored, as_float)
    for name in ("motion_px", "block_motion_px", "gain", "offset", "kept_information", "difference_power"):
        np.testing.assert_array_equal(getattr(report_stored, name), getattr(report_float, name))
    stage = Stabilise()
    assert stage.held_bytes((512, 512), FPS, itemsize=1) * 4 == stage.held_bytes((512, 512), FPS)
    stage.transform(StoredBatch(stored[:50], 0, FPS))
    assert stage._frames.frames.dtype == np.uint8
    stage.transform(StoredBatch(stored[50:60].astype(np.float64) + 0.5, 50, FPS))  # floats after: float32
    assert stage._frames.frames.dtype == np.float32 and stage._frames.frames[-1, 0, 0] == stored[59, 0, 0] + 0.5
    # a raw AVI's stored frames go into the stage as they are, with the same sound as its float32 frames
    raw = write_video(tmp_path / "shaken.avi", stored, codec="Y800")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file = vismic.recover_sound(raw, fps=FPS, denoise=None, stabilise=True)
        from_floats = vismic.recover_sound(stored.astype(np.float32), fps=FPS, denoise=None, stabilise=True)
    np.testing.assert_array_equal(from_file.samples, from_floats.samples)


def test_shift_frames_over_takes_what_enters_from_the_reference_and_keeps_the_edges_exact():
    from vismic.stabilise import shift_frames_over

    scene = synth.texture("brick", size=(96, 96))  # a camera's view is its centre, 16 px in
    shifts = np.array([[2.6, -1.3], [-3.4, 0.7], [0.0, 2.2]])
    moved = shift_frames(np.repeat(scene[None], 3, axis=0), shifts[:, 0], shifts[:, 1])
    view = (slice(None), slice(16, 80), slice(16, 80))
    truth = scene[view[1:]]
    mirrored = shift_frames(moved[view], -shifts[:, 0], -shifts[:, 1])
    over = shift_frames_over(moved[view], -shifts[:, 0], -shifts[:, 1], truth)
    near = np.zeros(truth.shape, bool)
    near[:6], near[-6:], near[:, :6], near[:, -6:] = True, True, True, True

    def rms(error, where):
        return float(np.sqrt(np.mean(error[:, where] ** 2)))

    over_error, mirrored_error = over - truth[None], mirrored - truth[None]
    # beside the edges (the entering strips hold the reference) 8x less, and less further in too (7.6x, 0.73x)
    assert rms(over_error, near) < 0.25 * rms(mirrored_error, near)
    assert rms(over_error, ~near) < 0.9 * rms(mirrored_error, ~near)


def test_shift_frames_over_gives_each_frame_alone_what_it_gives_it_with_others():
    from vismic.stabilise import shift_frames_over

    rng = np.random.default_rng(5)
    frames = rng.uniform(0, 255, (6, 20, 28)).astype(np.float32)
    reference = rng.uniform(0, 255, (20, 28)).astype(np.float32)
    sx, sy = np.array([0.0, 1.5, -7.2, 0.3, 0.0, 3.0]), np.array([0.0, 0.0, 2.5, -0.4, 1.0, 9.9])
    together = shift_frames_over(frames, sx, sy, reference)
    assert together.dtype == np.float32
    np.testing.assert_array_equal(together[0], frames[0])  # no shift, no canvas
    for i in range(6):
        np.testing.assert_allclose(shift_frames_over(frames[i:i + 1], sx[i:i + 1], sy[i:i + 1], reference)[0],
                                   together[i], atol=1e-4)
    with pytest.raises(ParameterError, match="reference"):
        shift_frames_over(frames, sx, sy, reference[:-1])
    with pytest.raises(ParameterError, match="each of the 6 frames"):
        shift_frames_over(frames, sx[:-1], sy, reference)
    with pytest.raises(ParameterError, match="finite"):
        shift_frames_over(frames, np.where(sx > 1, np.nan, sx), sy, reference)


def test_the_mosaic_keeps_no_block_means_once_their_frames_left():
    from vismic.data import FrameBatch
    from vismic.stabilise import Stabilise

    frames = np.repeat(synth.texture("gravel", size=(32, 32))[None], 600, axis=0).astype(np.float32)  # still
    stage = Stabilise(extend="mosaic")
    for i in range(0, len(frames), 50):
        stage.transform(FrameBatch(frames[i:i + 50], i, FPS))
    stage.flush()
    assert stage._mosaic.folded == len(stage._values) and not stage._block_means


def test_the_stage_gives_its_held_frames_back_once_the_video_ends():
    # kept until the stage went, the held frames sat beside what came next (a 720x1144 H.264 clip's codec
    # replica ran on top of 2 GB the stage no longer used)
    import tracemalloc

    rng = np.random.default_rng(3)
    frames = (rng.uniform(0, 255, (300, 64, 64))).astype(np.float32)
    stage = Stabilise()
    tracemalloc.start()
    try:
        for start in range(0, len(frames), 32):
            out = stage.transform(FrameBatch(frames[start:start + 32], start, FPS))
            del out
        last = stage.flush()
        held_at_end = tracemalloc.get_traced_memory()[0]
        del last
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert stage.report().motion_px.shape == (300, 2)  # what it measured stays
    assert after < held_at_end - 100 * frames[0].nbytes and after < 60 * frames[0].nbytes
