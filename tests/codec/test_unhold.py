"""vismic.codec: frames an MPEG-4 part 2 codec held, unheld."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.codec import Unhold, block_dct, block_idct, unhold
from vismic.data import Audio, FrameBatch
from vismic.denoise import highpass
from vismic.errors import FrameShapeError, ParameterError, VismicWarning

FPS = 2200.0


def _scene(texture="gravel", seed=1, size=64, seconds=0.5):
    sound = synth.make_displacement(synth.music(duration_seconds=seconds, sr=FPS, seed=seed), amplitude_px=0.05)
    scene = synth.render_nuisance_scene(synth.texture(texture, size=(size, size)), sound, direction_degrees=45.0,
                                        noise_std=2.0, fps=FPS, seed=seed)
    return scene, highpass(scene.displacement_px, sr=FPS)


@pytest.fixture(scope="module")
def mp4v():
    scene, truth = _scene()
    return scene, truth, synth.compress(scene.frames, codec="mp4v")


def test_block_dct_round_trips_and_leaves_the_edge_out():
    frames = np.random.default_rng(0).uniform(0, 255, (3, 20, 27))
    coefficients = block_dct(frames)
    assert coefficients.shape == (3, 2, 3, 8, 8)
    np.testing.assert_allclose(block_idct(coefficients), frames[:, :16, :24], atol=1e-9)


def _held_clip(n=40, seed=0):
    """A key frame every 10 frames; between them each frame codes a few coefficients of a few blocks."""
    rng = np.random.default_rng(seed)
    key = rng.uniform(40, 215, (32, 32))
    frames, current = [], key.copy()
    for t in range(n):
        if t % 10 == 0:
            current = key + rng.normal(0, 2, key.shape)
        else:
            change = np.zeros((1, 4, 4, 8, 8))
            for _ in range(3):
                change[0, rng.integers(4), rng.integers(4), rng.integers(8), rng.integers(1, 8)] = rng.choice([-9.0, 9.0])
            current = current + block_idct(change)[0]
        frames.append(current.copy())
    return np.stack(frames)


def test_key_frames_pass_and_the_coded_changes_are_scaled_up():
    frames = _held_clip()
    out, _, key, share = unhold(frames)
    assert key.tolist() == [t % 10 == 0 for t in range(40)]
    np.testing.assert_allclose(out[key], frames[key], atol=1e-3)
    between = ~key
    assert np.all((share[between] > 0) & (share[between] < 0.5))
    # a frame's change against its key frame is larger than as decoded (the copied coefficients left
    # the motion out), and lies only in the coefficients that were coded
    keys = np.flatnonzero(key)
    last_key = keys[np.searchsorted(keys, np.arange(40), side="right") - 1]
    grown = np.abs(out - frames[last_key]).max(axis=(1, 2)) > np.abs(frames - frames[last_key]).max(axis=(1, 2))
    assert grown[between][1::9].all()


@pytest.mark.parametrize("reference_key_frames", [1, 2, 16])
def test_copied_coefficients_take_the_mean_of_the_last_key_frames(reference_key_frames):
    frames = _held_clip()  # key frames at 0, 10, 20, 30; the DC coefficients are never coded between them
    out, *_ = unhold(frames, reference_key_frames=reference_key_frames)
    dc = block_dct(frames)[..., 0, 0]
    for t in (15, 25, 35):
        keys = [k for k in (0, 10, 20, 30) if k <= t][-reference_key_frames:]
        np.testing.assert_allclose(block_dct(out[t:t + 1])[0, ..., 0, 0], dc[keys].mean(axis=0), atol=1e-3)


def test_the_result_does_not_depend_on_the_batches():
    frames = _held_clip(seed=3)
    whole, *_ = unhold(frames)
    state, parts = None, []
    for start, stop in ((0, 7), (7, 8), (8, 25), (25, 40)):
        part, state, _, _ = unhold(frames[start:stop], state)
        parts.append(part)
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    stage = Unhold()
    out = [stage.transform(FrameBatch(frames[i:i + 13].astype(np.float32), i, FPS)).frames for i in range(0, 40, 13)]
    np.testing.assert_array_equal(np.concatenate(out), unhold(frames.astype(np.float32))[0])
    report = stage.report()
    assert (report.frames, report.key_frames) == (40, 4)
    assert 0 < report.snr_limit_db < 10


def test_the_callers_state_is_left_as_it_was():
    frames = _held_clip(seed=4)
    _, state, _, _ = unhold(frames[:5])
    kept = (state.previous.copy(), state.previous_pixels.copy(), len(state.recent))
    first, *_ = unhold(frames[5:], state)
    np.testing.assert_array_equal(state.previous, kept[0])
    np.testing.assert_array_equal(state.previous_pixels, kept[1])
    assert len(state.recent) == kept[2]
    again, *_ = unhold(frames[5:], state)  # so the same state runs the same frames the same way
    np.testing.assert_array_equal(again, first)


def test_frames_no_codec_held_pass_unchanged():
    # a camera's own frames change some pixel of every block: each is a key frame
    frames = np.random.default_rng(1).uniform(0, 255, (6, 24, 24))
    out, _, key, share = unhold(frames)
    assert key.all() and np.all(share == 1)
    np.testing.assert_allclose(out, frames, atol=1e-3)


def test_bad_input_is_one_clear_error():
    with pytest.raises(FrameShapeError, match="grey frames"):
        unhold(np.zeros((4, 16, 16, 3)))
    with pytest.raises(FrameShapeError, match="at least 8x8"):
        unhold(np.zeros((4, 6, 16)))
    with pytest.raises(ParameterError, match="shrinkage"):
        unhold(np.zeros((2, 16, 16)), shrinkage=0.0)
    with pytest.raises(ParameterError, match="coded_change"):
        unhold(np.zeros((2, 16, 16)), coded_change=float("nan"))
    for bad in (0, 2.5, True):
        with pytest.raises(ParameterError, match="reference_key_frames"):
            unhold(np.zeros((2, 16, 16)), reference_key_frames=bad)
    _, state, _, _ = unhold(np.zeros((2, 16, 16)))
    with pytest.raises(FrameShapeError, match="do not continue"):
        unhold(np.zeros((2, 16, 24)), state)
    with pytest.raises(FrameShapeError, match="at least one frame"):
        unhold(np.zeros((0, 16, 16)))  # an AttributeError before
    with pytest.raises(ParameterError, match="NaN"):
        unhold(np.full((2, 16, 16), np.nan))
    with pytest.raises(ParameterError, match="unhold must be"):
        vismic.default_pipeline(unhold="yes")
    with pytest.raises(ParameterError, match="unhold must be"):
        vismic.recover_sound(np.zeros((40, 16, 16)), fps=FPS, unhold=1)


def test_recover_sound_unholds_mpeg4_frames_and_its_estimate_follows(mp4v):
    scene, truth, held = mp4v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = vismic.recover_sound(held, fps=FPS, denoise=None)  # the default: as held
        rec = vismic.recover_sound(held, fps=FPS, denoise=None, unhold="auto")
    gained = metrics.si_snr(rec.samples, truth) - metrics.si_snr(before.samples, truth)
    assert gained > 4.0  # 8.7 dB measured (64 px, 0.5 s)
    assert "unheld" in rec.info and "unheld" not in before.info
    # the pipeline that gave the samples (the sidecar's provenance), not the first pass's
    assert isinstance(rec.info["pipeline"].steps[0][1], Unhold)
    assert not any(isinstance(stage, Unhold) for _, stage in before.info["pipeline"].steps)
    assert rec.info["unhold"]["frames"] == len(held)
    # OpenCV's GOP is 12 frames; a frame between key frames that held almost no block passes as one
    assert len(held) / 12 - 1 <= rec.info["unhold"]["key_frames"] <= 1.2 * len(held) / 12
    # still flagged: the codec coded about 1 % of the coefficients between key frames
    assert "unhold" in rec.info["reliability"]["inter_frame_codec"]
    assert rec.info["snr_estimate_db"] <= rec.info["unhold"]["snr_limit_db"]
    assert abs(rec.info["snr_estimate_db"] - metrics.si_snr(rec.samples, truth)) < 3.0


def test_recover_sound_leaves_frames_no_codec_held(mp4v):
    scene, truth, _ = mp4v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(synth.compress(scene.frames, codec="MJPG"), fps=FPS, denoise=None, unhold="auto")
    assert "unheld" not in rec.info and "unhold" not in rec.info


def test_only_frames_on_an_8x8_dct_codec_grid_are_unheld():
    from vismic.recover._passes import unheld_pipeline as _unheld

    flagged = Audio(np.zeros(100), FPS, {"reliability": {"inter_frame_codec": "held"}})
    pipe = vismic.default_pipeline()
    assert _unheld(pipe, Audio(np.zeros(100), FPS, {}), None) is None
    unheld = _unheld(pipe, flagged, None)
    assert unheld.steps[0][0] == "unhold"
    assert unheld["decompose"].n_reference_frames == 1 and unheld["light"].n_reference_frames == 1
    assert unheld["bands"].grid == (4, 4)
    assert pipe["decompose"].n_reference_frames == "auto" and pipe["bands"].grid == (8, 8)  # the original is kept
    assert _unheld(pipe, flagged, SimpleNamespace(codec="XVID", roi=(16, 8, 32, 32), downsample=1)) is not None
    for source in (SimpleNamespace(codec="avc1", roi=None, downsample=1),   # H.264: 4x4 transforms
                   SimpleNamespace(codec=None, roi=(4, 0, 32, 32), downsample=1),   # off the grid
                   SimpleNamespace(codec=None, roi=None, downsample=2)):
        assert _unheld(pipe, flagged, source) is None
    assert _unheld(unheld, flagged, None) is None


def test_default_pipeline_with_unhold():
    pipe = vismic.default_pipeline(unhold=True)
    assert pipe.steps[0][0] == "unhold" and isinstance(pipe["unhold"], Unhold)
    assert pipe["decompose"].n_reference_frames == 1 and pipe["bands"].grid == (4, 4)
    assert vismic.default_pipeline()["decompose"].n_reference_frames == "auto"


def test_default_pipeline_with_unhold_says_when_it_coarsens_a_grid_asked_for():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert vismic.default_pipeline(unhold=True, grid=(3, 4))["bands"].grid == (3, 4)
        assert vismic.default_pipeline(unhold=True, grid=vismic.recover.DEFAULT_GRID)["bands"].grid == (4, 4)
    with pytest.warns(VismicWarning, match=r"grid=\(6, 2\) becomes \(4, 2\)"):
        assert vismic.default_pipeline(unhold=True, grid=(6, 2))["bands"].grid == (4, 2)


def test_a_drifting_mpeg4_clip_is_stabilised_and_unheld():
    n = int(0.5 * FPS)
    sound = synth.make_displacement(synth.speech(duration_seconds=n / FPS, sr=FPS, seed=1), amplitude_px=0.05)
    drift = synth.drift_motion(n, total_px=2.0)
    scene = synth.render_nuisance_scene(synth.texture("gravel", size=(64, 64)), sound, noise_std=2.0, fps=FPS, seed=1,
                                        shift_x_px=drift * 0.875, shift_y_px=drift * 0.5)
    truth = highpass(scene.displacement_px, sr=FPS)
    held = synth.compress(scene.frames, codec="mp4v")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = vismic.recover_sound(held, fps=FPS, denoise=None)
        rec = vismic.recover_sound(held, fps=FPS, denoise=None, unhold="auto")
    assert "stabilised" in rec.info and "unheld" in rec.info
    # 5.8 dB measured; the estimate is flagged and reads 3.3 dB above the truth here
    assert metrics.si_snr(rec.samples, truth) - metrics.si_snr(before.samples, truth) > 3.0
    assert "inter_frame_codec" in rec.info["reliability"]


def test_the_unhold_cap_applies_whoever_flagged_the_held_frames():
    from vismic.codec import UnholdReport
    from vismic.codec._checks import check_codec

    report = UnholdReport(key_frames=10, frames=120, coded_share=0.01, snr_limit_db=1.5)
    info = {"snr_estimate_db": 9.0, "reliability": {"inter_frame_codec": "held (found by a Stabilise step)"}}
    check_codec(info, None, report)
    assert info["snr_estimate_db"] == 1.5 and info["unhold"]["snr_limit_db"] == 1.5
    assert "the coefficients the codec coded" in info["reliability"]["inter_frame_codec"]
    info = {"snr_estimate_db": 0.5}
    check_codec(info, None, report)  # the estimate below the cap stays
    assert info["snr_estimate_db"] == 0.5
