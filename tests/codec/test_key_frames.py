"""Key frames whose motion leaps: repaired from the frames beside them, in arrays, in the combination, from files."""

import warnings

import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.codec import key_frame_weights, read_key_frames, repair_key_frames
from vismic.combine import _series
from vismic.combine._evidence import RegionEvidence
from vismic.combine._series import RegionSeries
from vismic.data import BandSignals
from vismic.denoise import highpass
from vismic.errors import ParameterError

FPS = 4000.0


def _motion(n=2400, seed=0):
    rng = np.random.default_rng(seed)
    return np.convolve(rng.normal(size=n), np.hanning(9), mode="same")


def test_a_leap_at_every_key_frame_is_taken_out_and_the_rest_left():
    motion = _motion()
    keys = np.arange(0, len(motion), 12)
    leap = np.zeros_like(motion)
    leap[keys] = 3.0 * np.random.default_rng(1).normal(size=keys.size)
    repaired, report = repair_key_frames(motion + leap, keys)
    assert report.frames == keys.size - 1  # the first frame has no frame before it
    assert report.weights[0] < 0.05 and report.spike_ratio[0] > 20
    before, after = metrics.si_snr(motion + leap, motion), metrics.si_snr(repaired, motion)
    assert after > before + 10
    assert np.array_equal(repaired[np.setdiff1d(np.arange(len(motion)), keys)],
                          (motion + leap)[np.setdiff1d(np.arange(len(motion)), keys)])


def test_key_frames_like_any_other_keep_their_values():
    motion = _motion() + 0.05 * np.random.default_rng(2).normal(size=2400)
    keys = np.arange(5, 2400, 12)
    weights, ratio = key_frame_weights(motion[None], keys)
    assert 0.7 < ratio[0] < 1.4 and weights[0] > 0.7
    repaired, _ = repair_key_frames(motion, keys)
    assert metrics.si_snr(repaired, motion) > 25


def test_ends_and_neighbouring_key_frames_are_left_alone_and_bad_indices_refused():
    series = np.random.default_rng(3).normal(size=(2, 50))
    repaired, report = repair_key_frames(series, [0, 10, 11, 30, 49])
    assert report.frames == 1  # only 30: 0 and 49 are ends, 10 and 11 neighbours
    changed = np.flatnonzero(np.any(repaired != series, axis=0))
    assert set(changed) <= {30}
    for bad in ([1.5, 3.0], [[1, 2]]):
        with pytest.raises(ParameterError):
            repair_key_frames(series, bad)


@pytest.mark.parametrize("spill", [None, 256])
def test_the_streamed_repair_is_the_function_on_the_whole_series(monkeypatch, spill):
    monkeypatch.setattr(_series, "CHUNK_BYTES", 8 * 4 * 70)  # chunks of 70 frames: keys fall on their borders
    rng = np.random.default_rng(4)
    scores = rng.normal(size=(1, 1, 2, 2, 1000))
    keys = np.arange(3, 1000, 10)
    scores[..., keys] += 5.0
    bands = BandSignals(scores, np.tile(np.eye(2), (1, 1, 2, 1, 1)), 0, FPS, (1, 2))
    evidence = RegionEvidence.empty_like(bands, spill_bytes=spill)
    for start in range(0, 1000, 300):  # appended in batches
        evidence.append(BandSignals(scores[..., start:start + 300], bands.information, start, FPS, (1, 2)))
    assert evidence.series.on_disk == (spill is not None)
    assert evidence.repair_key_frames(keys, 0.25) == keys.size
    expected, _ = repair_key_frames(scores.reshape(4, 1000), keys, weights=np.full(4, 0.25))
    np.testing.assert_allclose(evidence.series.read(0, 1000), expected, atol=1e-12)


def test_region_series_update_overwrites_frames_in_memory_and_on_disk():
    for spill in (1 << 20, 64):
        series = RegionSeries(2, spill_bytes=spill)
        series.append(np.arange(20.0).reshape(2, 10))
        series.update(np.array([2, 7]), np.array([[-1.0, -2.0], [-3.0, -4.0]]))
        values = series.read(0, 10)
        assert values[0, 2] == -1.0 and values[0, 7] == -2.0 and values[1, 2] == -3.0 and values[1, 7] == -4.0
        assert values[0, 3] == 3.0 and series.mean()[0] == pytest.approx((45.0 - 2 - 7 - 3) / 10)
        with pytest.raises(ValueError):
            series.update(np.array([10]), np.zeros((2, 1)))


def _scene(direction=90.0, seconds=0.5, codec="VP80", folder=None):
    sound = synth.make_displacement(synth.music(duration_seconds=seconds, sr=FPS, seed=4), amplitude_px=0.05)
    scene = synth.render_nuisance_scene(synth.texture("brick", size=(64, 64)), sound, direction_degrees=direction,
                                        noise_std=2.0, fps=FPS, seed=4)
    path = folder / ("clip" + synth.CODECS[codec])
    synth.compress(scene.frames, codec=codec, keep=path)
    return path, highpass(scene.displacement_px, sr=FPS)


def test_recover_sound_repairs_a_vp8_files_key_frames(tmp_path):
    pytest.importorskip("av")
    # brick at 90 degrees under OpenCV's VP8: the key frames' leaps swamp the sound and turn its direction
    # (benchmarks/bench_replica.py --codec vp8: -8.2 -> +11.3 dB on this scene at 1 s)
    path, truth = _scene(folder=tmp_path)
    assert np.array_equal(read_key_frames(path), np.arange(0, 2000, 12))
    assert np.array_equal(read_key_frames(path, max_frames=30), [0, 12, 24])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        as_decoded = vismic.recover_sound(path, fps=FPS, denoise=None, codec_replica=False, key_frames=None)
        repaired = vismic.recover_sound(path, fps=FPS, denoise=None, codec_replica=False)
        given = vismic.recover_sound(vismic.io.read_frames(path), fps=FPS, denoise=None,
                                     key_frames=np.arange(0, 2000, 12))
    assert "key_frames" not in as_decoded.info
    found = repaired.info["key_frames"]
    assert found["repaired"] == 167 and found["weight"] < 0.2 and found["spike_ratio"] > 5  # 166 inner, the first frame
    assert metrics.si_snr(repaired.samples, truth) > metrics.si_snr(as_decoded.samples, truth) + 6
    assert abs(np.atleast_1d(repaired.info["direction_degrees"])[0]) == pytest.approx(90, abs=5)
    np.testing.assert_allclose(given.samples, repaired.samples, atol=1e-9)  # the same frames, keys given by hand
    with pytest.raises(ParameterError, match="key_frames"):
        vismic.recover_sound(path, fps=FPS, key_frames="yes")
    with pytest.raises(ParameterError, match="key_frames"):
        vismic.recover_sound(path, fps=FPS, key_frames=[-1, 12])


def test_key_frames_that_carry_the_motion_are_kept(tmp_path):
    pytest.importorskip("av")
    # x264 at its defaults holds the motion between key frames and jumps at them: no repair, for a file
    # (not read for H.264) or key frames given by hand (the combination sees the jumps)
    path, _ = _scene(direction=45.0, seconds=1.0, codec="H264", folder=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = vismic.recover_sound(path, fps=FPS, denoise=None)
        given = vismic.recover_sound(path, fps=FPS, denoise=None, key_frames=read_key_frames(path))
        none = vismic.recover_sound(path, fps=FPS, denoise=None, key_frames=None)
    assert "key_frames" not in auto.info and "key_frames" not in given.info
    np.testing.assert_array_equal(auto.samples, none.samples)
    np.testing.assert_array_equal(given.samples, none.samples)
    assert "key_frame_jumps" in given.info["reliability"]


@pytest.mark.parametrize("leap_px", [0.05, 0.2])
def test_key_frames_that_leap_across_the_motion_are_repaired(leap_px):
    # every 12th frame leaps across the sound: the output takes the leaps' direction and jumps at the key
    # frames as held motion does; along the repaired output's direction the key frames do not jump. The
    # first frame leaps too, an end the inner repair leaves: held against the frame beside it (at 0.2 px
    # the leaps took the repaired output's direction as well)
    sound = synth.make_displacement(synth.music(duration_seconds=0.5, sr=FPS, seed=4), amplitude_px=0.05)
    keys = np.arange(0, len(sound), 12)
    leaps = np.zeros(len(sound))
    leaps[keys] = leap_px * np.random.default_rng(0).choice([-1.0, 1.0], len(keys))
    scene = synth.render_nuisance_scene(synth.texture("gravel", size=(64, 64)), sound, shift_y_px=leaps,
                                        noise_std=1.0, fps=FPS, seed=4)
    truth = highpass(scene.displacement_px, sr=FPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        as_taken = vismic.recover_sound(scene.frames, fps=FPS, denoise=None, key_frames=None, stabilise=False)
        repaired = vismic.recover_sound(scene.frames, fps=FPS, denoise=None, key_frames=keys, stabilise=False)
    assert "key_frame_jumps" in as_taken.info["reliability"] and metrics.si_snr(as_taken.samples, truth) < -10
    assert repaired.info["key_frames"]["repaired"] == len(keys)
    assert repaired.info["key_frames"]["weight"] < 0.01 and "key_frame_jumps" not in repaired.info.get("reliability", {})
    assert metrics.si_snr(repaired.samples, truth) > 12
    assert abs(np.atleast_1d(repaired.info["direction_degrees"])[0]) < 10


def test_read_key_frames_names_a_missing_or_unreadable_file(tmp_path):
    pytest.importorskip("av")
    from vismic.errors import CorruptVideoError, VideoNotFoundError

    with pytest.raises(VideoNotFoundError, match="no video file"):
        read_key_frames(tmp_path / "missing.mkv")  # av.error.FileNotFoundError before
    (tmp_path / "text.mkv").write_text("not a video")
    with pytest.raises(CorruptVideoError, match="cannot read the packets"):
        read_key_frames(tmp_path / "text.mkv")


def test_key_frames_past_the_end_are_refused():
    import vismic
    from vismic.errors import ParameterError

    frames = np.random.default_rng(0).integers(0, 255, (40, 32, 32)).astype(np.uint8)
    with pytest.raises(ParameterError, match="key_frames holds frames from 10000 on, past the video.s last \\(39\\)"):
        vismic.recover_sound(frames, fps=2200.0, key_frames=[10000])  # accepted and ignored before
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert vismic.recover_sound(frames, fps=2200.0, key_frames=[12, 10000]).samples.shape == (40,)  # 12 applies


def test_no_key_frames_repair_nothing_and_weights_are_shares():
    # an empty list is float64, and crashed as indices (IndexError) in repair_key_frames and recover_sound
    series = np.random.default_rng(0).normal(size=300)
    repaired, report = repair_key_frames(series, [])
    assert report.frames == 0 and np.array_equal(repaired, series)
    frames = np.random.default_rng(1).normal(128, 20, (80, 32, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert vismic.recover_sound(frames, fps=2200.0, key_frames=[]).samples.shape == (80,)
    for bad in ([np.nan], [2.0], [-1.0], [0.5, 0.5]):  # NaN made NaN output, 2 doubled the leap
        with pytest.raises(ParameterError, match="weights"):
            repair_key_frames(series, [10, 20], weights=bad)
    half, _ = repair_key_frames(series, [10, 20], weights=0.5)  # one share for every series
    assert np.array_equal(half, repair_key_frames(series, [10, 20], weights=[0.5])[0])


def test_a_few_key_frames_that_do_not_leap_keep_their_values():
    # two key frames' residual power is a chi-squared of two: 2.8 times the baseline is common (a weight of 0.36 took
    # 0.7 dB off a clean scene); only power beyond chance is a leap
    lowered = []
    for seed in range(200):
        motion = _motion(n=600, seed=seed)
        keys = np.sort(np.random.default_rng(seed).choice(np.arange(20, 580), 2, replace=False))
        weights, _ = key_frame_weights(motion[None], keys)
        lowered.append(weights[0] < 1)
    assert np.mean(lowered) < 0.06  # 0.03 here; 0.4 before (any power over the baseline)
    # a leap of a few baselines at two key frames is still taken out
    motion = _motion(n=600, seed=1)
    leap = np.zeros(600)
    leap[[200, 400]] = 8.0 * np.std(np.diff(motion, 2)) / 2
    weights, ratio = key_frame_weights((motion + leap)[None], [200, 400])
    assert ratio[0] > 8 and weights[0] < 0.3


def test_recover_sound_keeps_a_clean_scene_given_two_key_frames():
    sound = synth.music(duration_seconds=0.2, sr=FPS)
    scene = synth.render_scene(synth.texture("brick", size=(48, 48)), synth.make_displacement(sound, amplitude_px=0.05),
                               noise_std=1.0, fps=FPS)
    plain = vismic.recover_sound(scene.frames, fps=FPS, denoise=None)
    given = vismic.recover_sound(scene.frames, fps=FPS, denoise=None, key_frames=(12, 24))
    assert given.info["key_frames"]["weight"] == 1.0
    np.testing.assert_allclose(given.samples, plain.samples, atol=1e-6 * np.abs(plain.samples).max())
