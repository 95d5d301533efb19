"""Common mistakes when composing stages get one vismic error that says what to give (they were raw
AttributeErrors, broadcast ValueErrors and TypeErrors from deep inside)."""

import numpy as np
import pytest

import vismic
from vismic.combine import BandSum, Combine
from vismic.data import FrameBatch
from vismic.decompose import Decompose, decompose, reference_pyramid
from vismic.errors import FrameShapeError, ParameterError
from vismic.phase import LocalPhase, local_phase
from vismic.pipeline import Pipeline
from vismic.project import Project
from vismic.stabilise import NormaliseLight, Stabilise, stabilise_frames

FRAMES = np.random.default_rng(0).uniform(0, 255, (40, 32, 32))


@pytest.mark.parametrize("stage, takes", [(NormaliseLight(), "FrameBatch"), (Stabilise(), "FrameBatch"),
                                          (Decompose(), "FrameBatch"), (Project(), "FrameBatch"),
                                          (LocalPhase(), "PyramidBatch"), (BandSum(), "PhaseBatch"),
                                          (Combine(), "BandSignals")])
def test_a_stage_given_an_array_says_what_it_takes(stage, takes):
    with pytest.raises(ParameterError, match=rf"{type(stage).__name__} takes vismic.data.{takes}, given a numpy array"):
        stage.transform(FRAMES)


def test_frame_stages_say_how_to_wrap_frames():
    with pytest.raises(ParameterError, match=r"FrameBatch\(frames, start, fps\)"):
        Decompose().transform(FRAMES)


def test_a_pipeline_run_on_an_array():
    with pytest.raises(ParameterError, match=r"iterable of vismic.data.FrameBatch, given an array of shape \(40, 32, 32\)"):
        vismic.default_pipeline().run(FRAMES)
    assert vismic.default_pipeline(grid=(2, 2)).run([FrameBatch(FRAMES, 0, 2200.0)]).samples.shape == (40,)


def test_recover_sound_given_something_else_as_pipeline():
    with pytest.raises(ParameterError, match="pipeline must be a vismic.pipeline.Pipeline.*given list"):
        vismic.recover_sound(FRAMES, fps=2200.0, pipeline=[("x", 1)])


def test_shapes_of_single_frames_and_stacks():
    with pytest.raises(FrameShapeError, match=r"shape \(height, width\), given shape=\(4, 32, 32\)"):
        reference_pyramid(FRAMES[:4])
    with pytest.raises(FrameShapeError, match=r"shape \(n, height, width\), given shape=\(32, 32\)"):
        stabilise_frames(FRAMES[0], fps=2200.0)


def test_local_phase_given_the_reference_object():
    reference = reference_pyramid(FRAMES[0], n_levels=2)
    highpasses, _ = decompose(FRAMES[:2], n_levels=2)
    with pytest.raises(ParameterError, match="give reference.highpasses"):
        local_phase(highpasses, reference)
    assert len(local_phase(highpasses, reference.highpasses)[0]) == len(highpasses)


def test_containers_show_their_arrays_by_shape():
    """A repr printed every number (a Scene at 32x32 px ran to 3 kB; a StabiliseReport to pages)."""
    from vismic import synth
    from vismic.data import NoiseSpectrum

    batch = FrameBatch(FRAMES.astype(np.float32), 8, 2200.0)
    assert repr(batch) == "FrameBatch(frames=<float32 array (40, 32, 32)>, start=8, fps=2200.0)"
    assert repr(NoiseSpectrum.white(1e-4, sr=2000.0, n_freqs=9)) == "NoiseSpectrum(density=<float64 array (9,)>, sr=2000.0)"
    scene = synth.render_scene(synth.texture("brick", size=(32, 32)), np.zeros(40), fps=2200.0)
    _, report = stabilise_frames(scene.frames, fps=2200.0)
    assert "<2 complex128 arrays: (16, 16, 6), (8, 8, 6)>" in repr(reference_pyramid(FRAMES[0], n_levels=2))
    for text in (repr(scene), repr(report)):
        assert len(text) < 800 and "e-" not in text


def test_stage_parameters_given_beside_a_pipeline_are_said_to_be_ignored():
    from vismic.errors import VismicWarning

    with pytest.warns(VismicWarning, match=r"grid=\(2, 2\), denoise='wiener' ignored: the pipeline given decides"):
        vismic.recover_sound(FRAMES, fps=2200.0, pipeline=vismic.default_pipeline(grid=(2, 2)), grid=(2, 2),
                             denoise="wiener", stabilise=False)


def test_a_pipeline_with_its_own_stabiliser_says_so():
    rec = vismic.recover_sound(FRAMES, fps=2200.0, pipeline=vismic.default_pipeline(grid=(2, 2), stabilise=True))
    assert rec.info["stabilised"] == "by the pipeline's own Stabilise step"


def test_stabilise_and_unhold_true_beside_a_pipeline_add_their_steps():
    # they were dropped while info["stabilised"] said "on request": a shaken scene read -29.8 dB
    from vismic import metrics, synth
    from vismic.codec import Unhold

    sound = synth.make_displacement(synth.music(duration_seconds=0.3, sr=2200.0, seed=1), amplitude_px=0.05)
    shake = synth.shake_motion(len(sound), fps=2200.0, peak_px=4.0, seed=2)
    scene = synth.render_nuisance_scene(synth.texture("brick", size=(64, 64)), sound, noise_std=1.0, shift_x_px=shake)
    given = vismic.default_pipeline(denoise=None)
    rec = vismic.recover_sound(scene.frames, fps=2200.0, pipeline=given, stabilise=True)
    assert list(rec.info["pipeline"].named_steps)[:2] == ["stabilise", "light"]
    assert list(given.named_steps)[0] == "light"  # the pipeline given is left as it is
    assert metrics.si_snr(rec.samples, sound) > 15.0
    with pytest.warns(Warning):  # the frames hold no held blocks: Unhold runs all the same, as asked
        rec = vismic.recover_sound(FRAMES, fps=2200.0, pipeline=vismic.default_pipeline(grid=(2, 2)), unhold=True,
                                   stabilise=False)
    assert isinstance(rec.info["pipeline"].steps[0][1], Unhold)
    with pytest.raises(ParameterError, match="has neither"):
        vismic.recover_sound(FRAMES, fps=2200.0, pipeline=Pipeline([("combine", Combine())]), stabilise=True)


def test_stabilise_false_beside_a_pipeline_with_its_own_stabiliser_is_named():
    from vismic.errors import VismicWarning

    with pytest.warns(VismicWarning, match="stabilise=False ignored: the pipeline given has its own Stabilise step"):
        vismic.recover_sound(FRAMES, fps=2200.0, pipeline=vismic.default_pipeline(grid=(2, 2), stabilise=True),
                             stabilise=False)


def test_a_frame_stage_that_returns_an_array_is_named_on_the_fused_path_too():
    # the fused projection failed with "'numpy.ndarray' object has no attribute 'start'" from deep inside it
    from vismic import synth
    from vismic.pipeline import Stage

    class Crop(Stage):
        streaming = True

        def __init__(self, n=32):
            self.n = n

        def transform(self, batch):
            return batch.frames[:, :self.n, :self.n]  # forgot FrameBatch

    frames = synth.render_scene(synth.texture("brick", size=(48, 48)), np.zeros(80), noise_std=1.0).frames
    pipe = vismic.default_pipeline().insert("light", "crop", Crop())
    with pytest.raises(ParameterError, match="step 'crop' \\(Crop\\) returned a numpy array of shape"):
        vismic.recover_sound(frames, fps=2200.0, pipeline=pipe)
    with pytest.raises(ParameterError, match="takes vismic.data.FrameBatch"):
        vismic.recover_sound(frames, fps=2200.0, pipeline=pipe, fuse=False)


def test_combine_checks_say_what_is_wrong():
    from vismic.combine import combine_bands
    from vismic.data import BandSignals

    bands = BandSignals(np.zeros((1, 1, 4, 2, 64)), np.broadcast_to(np.eye(2), (1, 1, 4, 2, 2)), 0, 2200.0)
    with pytest.raises(ParameterError, match="combine_bands takes vismic.data.BandSignals"):
        combine_bands(np.zeros((3, 40)))  # it said "need at least 32 frames, got 3"
    with pytest.raises(ParameterError, match=">= 0"):
        combine_bands(bands, highpass_hz=-5)  # accepted before
    with pytest.raises(ParameterError, match="Nyquist"):
        combine_bands(bands, highpass_hz=5000)
    with pytest.raises(ParameterError, match=">= 0"):
        Combine(highpass_hz=-5).transform(bands)  # it said "-5 Hz is not below the Nyquist frequency"


def test_a_pipeline_that_starts_with_a_whole_signal_stage_is_named():
    pipe = vismic.default_pipeline()
    whole = Pipeline([("combine", Combine()), *[(n, s) for n, s in pipe.steps if n != "combine"]])
    with pytest.raises(ParameterError, match="first step 'combine' \\(Combine\\) takes the whole video"):
        vismic.recover_sound(np.zeros((40, 16, 16)), fps=2200.0, pipeline=whole)


def test_wrong_frames_get_one_clear_error_at_every_entry():
    # each used to fail deep inside: LinAlgError, reshape's ValueError, "not iterable", numpy's concatenate
    from vismic.stabilise import shift_frames

    frames = np.random.default_rng(0).uniform(0, 255, (40, 32, 32)).astype(np.float32)
    holed = frames.copy()
    holed[3, 5, 5] = np.nan
    with pytest.raises(ParameterError, match="frame 3 contains NaN"):
        stabilise_frames(holed, fps=2200.0)
    with pytest.raises(ParameterError, match="one shift along x and y for each of the 5 frames"):
        shift_frames(frames[:5], np.ones(4), np.zeros(5))
    with pytest.raises(FrameShapeError, match="shape \\(n, height, width\\)"):
        shift_frames(frames[0], np.ones(1), np.zeros(1))
    pipe = vismic.default_pipeline(denoise=None)
    one = pipe.run(FrameBatch(frames, 0, 2200.0))  # a single batch is taken as the whole video
    assert one.samples.shape == (40,)
    for fuse in (True, False):
        with pytest.raises(FrameShapeError, match="change size from 32x32 to 16x16 px at frame 20"):
            pipe.run([FrameBatch(frames[:20], 0, 2200.0), FrameBatch(frames[20:, :16, :16], 20, 2200.0)], fuse=fuse)
    with pytest.raises(ParameterError, match="at least one batch"):
        FrameBatch.concat([])
    with pytest.raises(ParameterError, match="real grey levels"):
        FrameBatch(frames.astype(np.complex64), 0, 2200.0)


def test_nan_frames_and_complex_samples_are_refused_not_passed_on():
    # decompose gave all-NaN coefficients, Audio dropped the imaginary part with numpy's warning only
    from vismic.data import Audio

    holed = np.zeros((2, 32, 32))
    holed[1, 3, 3] = np.nan
    with pytest.raises(ParameterError, match="frame 1 contains NaN"):
        decompose(holed, n_levels=2)
    with pytest.raises(ParameterError, match="NaN"):
        reference_pyramid(holed[1], n_levels=2)
    with pytest.raises(ParameterError, match="real numbers"):
        Audio(np.ones(64) * 1j, sr=2200.0)


@pytest.mark.parametrize("reading", [dict(downsample=2), dict(roi=(3, 5, 24, 24))])
def test_unhold_true_off_the_codecs_grid_is_refused(reading):
    # it ran on blocks that straddle the codec's and measured nothing (a coded share of 0), with no word
    with pytest.raises(ParameterError, match="off their grid"):
        vismic.recover_sound(FRAMES, fps=2200.0, unhold=True, **reading)


def _hand_built(grid=(2, 2)):
    return Pipeline([("decompose", Decompose()), ("phase", LocalPhase()), ("bands", BandSum(grid=grid)),
                     ("combine", Combine())])


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("grid", [(0, 1), 3, (2.5, 2)])
def test_a_hand_built_bandsums_grid_is_checked_on_either_path(grid, fuse):
    # fused, (0, 1) and 3 failed deep inside; (2.5, 2) ran as (2, 2) on either path
    with pytest.raises(ParameterError, match="grid must be 2 integers"):
        _hand_built(grid).run([FrameBatch(FRAMES, 0, 2200.0)], fuse=fuse)


def test_a_grid_too_fine_for_the_frames_is_refused_by_the_projection():
    # (32, 32) on 64 px frames took 69 s and 705 MB for 64 frames, (100, 100) past 12.8 GB; BandSum alone
    # (fuse=False) places the few coefficients of such regions one by one
    with pytest.raises(ParameterError, match="too fine for 32x32 frames"):
        _hand_built((32, 32)).run([FrameBatch(FRAMES, 0, 2200.0)])


@pytest.mark.parametrize("fuse", [True, False])
def test_batches_that_are_arrays_skip_frames_or_change_rate_are_refused(fuse):
    pipeline = _hand_built()
    with pytest.raises(ParameterError, match=r"wrap each as FrameBatch"):  # fused: an AttributeError
        pipeline.run([FRAMES[:20], FRAMES[20:]], fuse=fuse)
    with pytest.raises(ParameterError, match="change rate from 2200 to 1000 fps at frame 20"):
        pipeline.run([FrameBatch(FRAMES[:20], 0, 2200.0), FrameBatch(FRAMES[20:], 20, 1000.0)], fuse=fuse)
    with pytest.raises(ParameterError, match="starts at frame 30 after one of frames 0-19"):
        pipeline.run([FrameBatch(FRAMES[:20], 0, 2200.0), FrameBatch(FRAMES[20:], 30, 2200.0)], fuse=fuse)
    out = pipeline.run([FrameBatch(FRAMES[:20], 5, 2200.0), FrameBatch(FRAMES[20:], 25, 2200.0)], fuse=fuse)
    assert out.samples.shape == (40,)


def test_streaming_steps_whose_batches_do_not_join_are_named():
    # it was "type object 'PhaseBatch' has no attribute 'concat'"
    pipeline = Pipeline([("decompose", Decompose()), ("phase", LocalPhase())])
    with pytest.raises(ParameterError, match="hand on PhaseBatch batches.*BandSum"):
        pipeline.run([FrameBatch(FRAMES[:20], 0, 2200.0), FrameBatch(FRAMES[20:], 20, 2200.0)])


def test_steps_that_are_classes_triples_or_unreachable_names_are_refused():
    from vismic.denoise import HighPass

    with pytest.raises(ParameterError, match="the class HighPass, not a stage: give HighPass"):
        Pipeline([("a", HighPass)])  # accepted, then failed at run
    with pytest.raises(ParameterError, match="a tuple of 3"):
        Pipeline([("a", HighPass(), "b")])  # "too many values to unpack"
    with pytest.raises(ParameterError, match="cannot hold '__'"):
        Pipeline([("high__pass", HighPass())])


def test_combines_key_frames_are_checked_as_recover_sounds_are():
    # -1 repaired the last frame (numpy's index) without a word
    bands = vismic.default_pipeline(grid=(2, 2)).steps[:-2]
    with pytest.raises(ParameterError, match=r"key_frames must be a 1-D array of frame indices \(integers >= 0\)"):
        Pipeline(bands + [("combine", Combine(key_frames=[-1, 12]))]).run([FrameBatch(FRAMES, 0, 2200.0)])
    with pytest.raises(ParameterError, match="key_frames must be 'auto', None or a 1-D array"):
        vismic.recover_sound(FRAMES, fps=2200.0, key_frames=[-1, 12])
