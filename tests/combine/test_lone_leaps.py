import warnings

import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.combine._lone_leaps import MAX_LONE_LEAPS, leap_weight, lone_leaps, turned
from vismic.denoise import highpass

FPS = 2200.0


def _spiky(n=600, seed=0):
    return np.sin(np.arange(n) / 9.0) + 0.01 * np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize("frame", [0, 1, 2, 300, 598, 599])
def test_a_frame_that_leaps_alone_is_found_wherever_it_is(frame):
    motion = _spiky()
    motion[frame] += 2.0
    assert lone_leaps(motion).tolist() == [frame]
    assert lone_leaps(np.stack([motion, 0 * motion])).tolist() == [frame]  # channels summed
    assert leap_weight(motion, [frame]) < 1e-3


def test_steps_onsets_and_many_spikes_are_not_lone_leaps():
    motion = _spiky()
    assert lone_leaps(motion).size == 0
    stepped = motion.copy()
    stepped[300:] += 2.0  # a step moves two residuals alike
    assert lone_leaps(stepped).size == 0
    pulses = motion.copy()
    pulses[10::40] += 2.0  # more spikes than MAX_LONE_LEAPS: the sound's own
    assert np.count_nonzero(pulses != motion) > MAX_LONE_LEAPS and lone_leaps(pulses).size == 0
    assert lone_leaps(motion[:4]).size == 0


def test_the_ends_are_held_against_the_frame_beside_them():
    from vismic.combine._evidence import RegionEvidence
    from vismic.data import BandSignals

    scores = np.random.default_rng(3).standard_normal((1, 1, 4, 2, 50))
    bands = BandSignals(scores, np.tile(np.eye(2), (1, 1, 4, 1, 1)), 0, FPS, grid=(2, 2))
    evidence = RegionEvidence.empty_like(bands)
    evidence.append(bands)
    before = evidence.series.read(0, 50)
    assert evidence.repair_ends([0, 7, 49], 0.25) == 2
    after = evidence.series.read(0, 50)
    np.testing.assert_allclose(after[:, 0], before[:, 1] + 0.25 * (before[:, 0] - before[:, 1]))
    np.testing.assert_allclose(after[:, 49], before[:, 48] + 0.25 * (before[:, 49] - before[:, 48]))
    np.testing.assert_array_equal(after[:, 1:49], before[:, 1:49])
    evidence.close()


def test_directions_turn_without_sign():
    assert turned(-89.0, 1.0) == pytest.approx(90.0) and turned(170.0, -5.0) == pytest.approx(5.0)
    assert turned([10.0], np.array([40.0])) == pytest.approx(30.0)


def _scene(leap_frame, leap_px, direction=0.0, audio="music"):
    make = synth.music if audio == "music" else synth.speech
    sound = synth.make_displacement(make(duration_seconds=0.5, sr=FPS, seed=2), amplitude_px=0.05)
    across = np.zeros(len(sound))
    if leap_frame is not None:
        across[leap_frame] = leap_px
    ux, uy = -np.sin(np.radians(direction)), np.cos(np.radians(direction))
    scene = synth.render_nuisance_scene(synth.texture("gravel", size=(64, 64)), sound, direction_degrees=direction,
                                        shift_x_px=ux * across, shift_y_px=uy * across, noise_std=1.0, fps=FPS)
    return scene, highpass(scene.displacement_px, sr=FPS)


def _recovered(frame, leap_px):
    """The scene without a leap and with one of ``leap_px`` across the sound at ``frame``, recovered; the truth."""
    clean, truth = _scene(None, 0.0)
    leapt, _ = _scene(frame, leap_px)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        still = vismic.recover_sound(clean.frames, fps=FPS, denoise=None, stabilise=False)
        rec = vismic.recover_sound(leapt.frames, fps=FPS, denoise=None, stabilise=False)
    return still, rec, truth


@pytest.mark.parametrize("frame", [0, 1, 500])
def test_a_frame_leaping_across_the_sound_is_repaired(frame):
    # one frame 0.4 px across the sound took the output's direction (-28 to -45 dB, one-off) and, at the
    # first frame, the estimate said 13 dB; repaired, the scene reads as it does without the leap
    still, rec, truth = _recovered(frame, 0.4)
    assert rec.info["lone_leaps"]["frames"] == [frame] and rec.info["lone_leaps"]["estimate_gain_db"] > 10
    assert metrics.si_snr(rec.samples, truth) > metrics.si_snr(still.samples, truth) - 1.0
    assert abs(rec.info["snr_estimate_db"] - metrics.si_snr(rec.samples, truth)) < 3.0
    assert "lone_leaps" not in still.info
    if frame == 0:  # the sidecar says what was repaired
        from vismic.report import sidecar_dict

        said = sidecar_dict(rec)["result"]["lone_leaps"]
        assert said["frames"] == [0] and said["weight"] < 1e-3


def test_the_sounds_own_pulses_are_left_as_they_are():
    # synthetic speech's glottal pulses are single-frame spikes of the output's residual as large as a leap's;
    # repairing them does not turn the direction, so the output stays the combination's own
    scene, truth = _scene(None, 0.0, direction=30.0, audio="speech")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(scene.frames, fps=FPS, denoise=None, stabilise=False)
    assert "lone_leaps" not in rec.info and metrics.si_snr(rec.samples, truth) > 15


def test_a_leap_that_leaves_the_direction_is_repaired_where_the_groups_agree_better_without_it():
    # 0.1 px along x on a scene moving at 45 degrees: the direction barely turns (3 degrees) but the
    # region groups disagree on the leap (its evidence is each texture's own): 10.5 dB as it came (one-off)
    sound = synth.make_displacement(synth.music(duration_seconds=1.0, sr=FPS), amplitude_px=0.05)
    leap = np.zeros(len(sound))
    leap[len(sound) // 2] = 0.1
    scene = synth.render_nuisance_scene(synth.texture("brick", size=(96, 96)), sound, direction_degrees=45.0,
                                        shift_x_px=leap, noise_std=2.0, fps=FPS)
    truth = highpass(scene.displacement_px, sr=FPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(scene.frames, fps=FPS, denoise=None, stabilise=False)
    found = rec.info["lone_leaps"]
    assert found["frames"] == [len(sound) // 2] and found["turned_degrees"] < 10 and found["estimate_gain_db"] > 1.0
    assert metrics.si_snr(rec.samples, truth) > 17.0


@pytest.mark.parametrize("frame, leap_px", [(300, 0.1), (300, 0.05), (0, 0.1)])
def test_a_frame_leaping_across_the_sound_that_the_output_does_not_show_is_found_across_it(frame, leap_px):
    # read along the sound the output kept its 25.5 dB, and the region groups, whose evidence the leap took
    # past its linear range, disagreed over the whole clip: estimated 12.2 (0.1 px) and 17.8 (0.05 px), one-off
    still, rec, truth = _recovered(frame, leap_px)
    assert rec.info["lone_leaps"]["frames"] == [frame] and rec.info["lone_leaps"]["estimate_gain_db"] > 3.0
    assert metrics.si_snr(rec.samples, truth) > metrics.si_snr(still.samples, truth) - 0.5
    assert abs(rec.info["snr_estimate_db"] - metrics.si_snr(rec.samples, truth)) < 1.5


def test_the_whole_frames_shift_across_the_output_is_what_every_region_reads():
    from vismic.combine._confidence import rigid_motion
    from vismic.combine._evidence import RegionEvidence
    from vismic.combine._lone_leaps import across
    from vismic.data import BandSignals

    # every region reads the same (x, y) shift: the rigid motion is that shift, and across 0 degrees it is y
    rng = np.random.default_rng(4)
    shift = rng.standard_normal((2, 80))
    information = np.tile(np.eye(2), (1, 1, 4, 1, 1)) * rng.uniform(1.0, 3.0, (1, 1, 4, 1, 1))
    scores = np.einsum("blrij,jn->blrin", information, shift)
    bands = BandSignals(scores, information, 0, FPS, grid=(2, 2))
    evidence = RegionEvidence.empty_like(bands)
    evidence.append(bands)
    rigid = rigid_motion(evidence)
    evidence.close()
    np.testing.assert_allclose(rigid, shift - shift.mean(axis=1, keepdims=True), atol=1e-4)  # float32 scores
    np.testing.assert_allclose(across(rigid, 0.0), rigid[1], atol=1e-12)
