import numpy as np
import pytest

from vismic.decompose import decompose, image_gradient, max_levels, reference_pyramid
from vismic.errors import FrameShapeError, ParameterError
from vismic import synth


def test_decompose_shapes_and_dtype():
    highpasses, lowpass = decompose(np.random.default_rng(0).random((3, 64, 48)), n_levels=3)
    assert [h.shape for h in highpasses] == [(3, 32, 24, 6), (3, 16, 12, 6), (3, 8, 6, 6)]
    assert highpasses[0].dtype == np.complex128
    assert lowpass.shape[0] == 3


def test_decompose_matches_dtcwt_package():
    import dtcwt

    frame = synth.texture("brick", size=(64, 64))
    ours, _ = decompose(frame[None], n_levels=3)
    theirs = dtcwt.Transform2d().forward(frame, nlevels=3)
    for a, b in zip(ours, theirs.highpasses):
        np.testing.assert_allclose(a[0], b, atol=1e-9)


def test_decompose_errors():
    with pytest.raises(FrameShapeError):
        decompose(np.zeros((64, 64)))
    with pytest.raises(ParameterError, match="too many"):
        decompose(np.zeros((1, 32, 32)), n_levels=6)
    with pytest.raises(ParameterError):
        decompose(np.zeros((1, 32, 32)), n_levels=0)
    assert max_levels((64, 64)) == 4


def test_gradient_of_a_smooth_image_is_exact():
    y, x = np.mgrid[0:64, 0:64]
    image = np.cos(2 * np.pi * x / 16) * np.cos(2 * np.pi * y / 32)
    gx, gy = image_gradient(image)
    inner = (slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(gx[inner], (-2 * np.pi / 16 * np.sin(2 * np.pi * x / 16) * np.cos(2 * np.pi * y / 32))[inner], atol=2e-3)


def test_decompose_stage_holds_frames_until_it_has_its_reference():
    from vismic.data import FrameBatch
    from vismic.decompose import Decompose

    frames = np.random.default_rng(0).random((20, 32, 32))
    stage = Decompose(n_levels=2, n_reference_frames=8)
    stage.reset()
    outputs = [stage.transform(FrameBatch(frames[i:i + 5], i, 1000.0)) for i in range(0, 20, 5)]
    assert outputs[0] is None  # 5 of the 8 reference frames
    assert [(o.start, len(o)) for o in outputs[1:]] == [(0, 10), (10, 5), (15, 5)]
    expected = reference_pyramid(frames[:8].mean(axis=0), n_levels=2)
    np.testing.assert_allclose(outputs[1].reference.highpasses[0], expected.highpasses[0])
    # a video shorter than the reference frames comes out of flush()
    stage.reset()
    assert stage.transform(FrameBatch(frames[:3], 0, 1000.0)) is None
    held = stage.flush()
    assert (held.start, len(held)) == (0, 3) and stage.flush() is None


def test_auto_reference_is_the_first_50_ms_within_a_memory_cap():
    from vismic.data import FrameBatch
    from vismic.decompose import Decompose, reference_frame_count
    from vismic.decompose._dtcwt import MIN_REFERENCE_FRAMES, REFERENCE_BYTES

    def batch(fps, size=32):
        return FrameBatch(np.zeros((2, size, size), np.float32), 0, fps)

    assert reference_frame_count("auto", batch(2200.0)) == 110
    assert reference_frame_count("auto", batch(300.0)) == MIN_REFERENCE_FRAMES  # 15 frames in 50 ms
    big = batch(20000.0, size=1024)  # 4 MB frames: 1000 frames would hold 4 GB
    assert reference_frame_count("auto", big) == max(MIN_REFERENCE_FRAMES, REFERENCE_BYTES // (4 * 1024 * 1024))
    with pytest.raises(ParameterError, match="positive integer or 'auto'"):
        reference_frame_count("all", batch(2200.0))
    # the default stage averages them, however the video is split into batches
    frames = np.random.default_rng(1).random((130, 32, 32)).astype(np.float32)
    expected = reference_pyramid(frames[:110].mean(axis=0), n_levels=2).highpasses[0]
    for size in (7, 64):
        stage = Decompose(n_levels=2, n_reference_frames="auto")
        outputs = [stage.transform(FrameBatch(frames[i:i + size], i, 2200.0)) for i in range(0, 130, size)]
        first = next(o for o in outputs if o is not None)
        np.testing.assert_allclose(first.reference.highpasses[0], expected, rtol=1e-5, atol=1e-6)


def test_a_loud_low_note_is_read_against_a_reference_at_its_centre():
    # a 60 Hz tone of 0.22 px starting with the clip: the first 16 frames' mean (the reference before)
    # sat 0.15 px off the note's centre and every band read a second harmonic of it from there (33.2 dB)
    import warnings

    import vismic
    from vismic import metrics
    from vismic.denoise import highpass

    fps, n = 2200.0, 1222
    motion = 0.22 * np.sin(2 * np.pi * 60.0 * np.arange(n) / fps)
    scene = synth.render_scene(synth.texture("coffee", size=(96, 96)), motion, direction_degrees=130.8,
                               noise_std=2.0, seed=1009, fps=fps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(scene.frames, fps=fps, denoise=None)
    assert metrics.si_snr(rec.samples, highpass(motion, sr=fps)) > 39.0  # 41.6 measured
