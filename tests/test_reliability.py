"""Findings that say when a recovery should not be trusted (vismic._reliability and recover_sound)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vismic
from vismic import synth
from vismic._frame_statistics import FrameStatistics, batch_statistics, frame_extract, merge_statistics
from vismic._reliability import findings
from vismic.errors import ParameterError, UnreliableRecoveryWarning

FPS = 2200.0


def recover(frames):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None)
    return rec, [w for w in caught if issubclass(w.category, UnreliableRecoveryWarning)]


def scene(amplitude_px, size=64):
    sound = synth.music(duration_seconds=0.15, sr=FPS)
    return synth.render_scene(synth.texture("brick", size=(size, size)),
                              synth.make_displacement(sound, amplitude_px=amplitude_px), noise_std=2.0, fps=FPS)


def test_a_good_recovery_has_no_findings():
    rec, caught = recover(scene(0.05).frames)
    assert rec.info["warnings"] == [] and caught == []


def test_identical_frames_say_no_motion():
    frame = synth.texture("brick", size=(64, 64)).astype(np.float32)
    rec, caught = recover(np.repeat(frame[None], 200, axis=0))
    assert len(rec.info["warnings"]) == 1 and rec.info["warnings"][0].startswith("no motion found")
    assert [str(w.message) for w in caught] == rec.info["warnings"]


def test_pure_noise_frames_say_no_texture():
    frames = np.random.default_rng(0).normal(128, 20, (200, 64, 64)).astype(np.float32)
    rec, _ = recover(frames)
    assert any(w.startswith("no stable texture") for w in rec.info["warnings"])


def test_motion_too_large_to_linearise_is_said():
    rec, _ = recover(scene(5.0).frames)
    assert any(w.startswith("motion too large") for w in rec.info["warnings"])


def test_clipped_frames_are_said():
    frames = scene(0.05).frames.copy()
    frames[:, :40] = 255.0  # most of every frame burnt out
    frames = np.minimum(frames, 255.0)
    rec, _ = recover(frames)
    assert any(w.startswith("clipped frames") for w in rec.info["warnings"])


def test_estimate_below_the_floor():
    assert any("below 0 dB" in w for w in findings(0.01 * np.ones(10), {"snr_estimate_db": -3.0}))
    # a codec's cap is not answered with "more light"
    capped = {"snr_estimate_db": -4.7, "reliability": {"inter_frame_codec": "most frames barely differ ..."}}
    low = [w for w in findings(0.01 * np.ones(10), capped) if "below 0 dB" in w]
    assert low and "codec" in low[0] and "more light" not in low[0]


def test_statistics_merge_by_frames():
    a = batch_statistics(np.zeros((4, 8, 8)))
    b = batch_statistics(np.arange(2 * 64, dtype=float).reshape(2, 8, 8))
    merged = merge_statistics([a, b])
    # the black batch is named as blank frames, not as the video's clipping
    assert merged["n"] == 6 and merged["blank_spans"] == [(0, 4)] and merged["dark"] == b["dark"] < 0.1
    assert merge_statistics([a])["dark"] == 1.0  # a video of nothing else keeps its numbers
    assert merge_statistics([]) is None


@pytest.mark.parametrize(
    "kwargs",
    [dict(highpass_hz=float("nan")), dict(grid=(1000, 1000)), dict(grid=(64, 64)), dict(n_sources=0),
     dict(batch_size=0), dict(max_frames=-1), dict(workers=0), dict(n_levels=0), dict(low_hz=300, high_hz=100),
     dict(batch_size=2.5), dict(progress="yes")],
)
def test_recover_sound_numbers_are_checked_before_reading(kwargs):
    with pytest.raises(ParameterError):
        vismic.recover_sound(np.zeros((40, 64, 64), np.float32), fps=FPS, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(highpass_hz=float("inf")), dict(grid=(0, 3)), dict(n_sources=1.5),
                                    dict(n_levels=-1), dict(low_hz=-1.0)])
def test_default_pipeline_numbers_are_checked(kwargs):
    with pytest.raises(ParameterError):
        vismic.default_pipeline(**kwargs)


def _frames_of(kind):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (24, 40, 72))
    frames[:, :, :16] = 0  # a flat dark strip: untextured blocks
    frames[12] = frames[11]  # a held frame (its pair is compared): unchanged blocks
    frames[:, 0, 0] = 255  # the brightest value on few pixels
    if kind == "uint16":
        return (frames * 257).astype(np.uint16)
    return frames.astype(kind)


@pytest.mark.parametrize("kind", ["uint8", "uint16", "float32", "float64"])
@pytest.mark.parametrize("n_frames", [1, 2, 13, 24])
def test_statistics_compiled_and_numpy_agree(monkeypatch, kind, n_frames):
    import vismic._frame_statistics as reliability
    from vismic.project._kernels import compiled_available

    if not compiled_available():
        pytest.skip("numba is not installed")
    frames = _frames_of(kind)[:n_frames]
    monkeypatch.setattr(reliability, "numba_loaded", lambda: False)
    plain = batch_statistics(frames)
    monkeypatch.setattr(reliability, "numba_loaded", lambda: True)
    fast = batch_statistics(frames)
    # integer values: every sum is exact, so the two ways give the same numbers
    assert fast == plain
    assert plain["dark"] > 0.1 and plain["bright"] > 0 and plain["texture"] > 10
    assert any(held for held, *_ in plain["blocks"]) == (n_frames > 12)


def test_statistics_compiled_on_fractional_frames(monkeypatch):
    import vismic._frame_statistics as reliability
    from vismic.project._kernels import compiled_available

    if not compiled_available():
        pytest.skip("numba is not installed")
    frames = np.random.default_rng(4).normal(100.0, 20.0, (16, 32, 48)).astype(np.float32)
    monkeypatch.setattr(reliability, "numba_loaded", lambda: False)
    plain = batch_statistics(frames)
    monkeypatch.setattr(reliability, "numba_loaded", lambda: True)
    fast = batch_statistics(frames)
    for key in ("texture", "flicker", "dark", "bright"):
        assert fast[key] == pytest.approx(plain[key], rel=1e-9)
    assert fast["blocks"] == plain["blocks"]
    np.testing.assert_allclose(fast["difference_power"], plain["difference_power"], rtol=1e-9)
    assert plain["flicker"] == pytest.approx(20.0, rel=0.15)


@pytest.mark.parametrize("compiled_loops", [False, True])
def test_statistics_are_numpys_and_take_no_fresh_memory_per_batch(monkeypatch, compiled_loops):
    # a Dask worker hands freed blocks back to the system at once (MALLOC_TRIM_THRESHOLD_): a fresh
    # 128 kB temporary per batch is page-faulted in again every time, and its tasks ran slower
    import tracemalloc

    import vismic._frame_statistics as reliability
    from vismic.project._kernels import compiled_available

    if compiled_loops and not compiled_available():
        pytest.skip("numba is not installed")
    monkeypatch.setattr(reliability, "numba_loaded", lambda: compiled_loops)
    frames = np.random.default_rng(5).integers(0, 256, (64, 256, 512)).astype(np.uint8)
    sample = frames[::8, ::8].astype(np.float64)  # the rows batch_statistics looks at: 16,384 px a frame
    mean = sample.mean(axis=0)
    stats = batch_statistics(frames)
    assert stats["texture"] == float(mean.std())
    assert stats["flicker"] == float(np.sqrt(np.maximum((sample ** 2).sum(axis=0) / 8 - mean * mean, 0.0)).mean())
    # the extract keeps its sampled rows (128 kB of uint8: they outlive the frames); folding them takes no copy
    piece = frame_extract(frames, 0)
    assert piece["rows"].nbytes == sample.size
    folded = FrameStatistics()
    tracemalloc.start()
    try:
        folded.add(piece)
        folded.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert folded.windows == [stats]
    if compiled_loops:  # as large frames run (their projection loads numba; small frames' blocks are small)
        assert peak < 64 * 1024, peak  # a sample's per-pixel row is 128 kB


def test_global_flicker_is_not_an_unstable_texture():
    # 20 % of flicker, which NormaliseLight takes out, read as "no stable texture" on a 26.5 dB recovery
    sound = synth.make_displacement(synth.music(duration_seconds=0.3, sr=2200.0), amplitude_px=0.05)
    frames = synth.render_nuisance_scene(synth.texture("brick", size=(64, 64)), sound, noise_std=1.0,
                                         gain=synth.flicker_gain(len(sound), fps=2200.0, depth=0.2)).frames
    rec, _ = recover(frames)
    assert not any(w.startswith("no stable texture") for w in rec.info["warnings"])
    stats = merge_statistics([batch_statistics(frames[i:i + 64]) for i in range(0, len(frames), 64)])
    assert stats["unsteady"] < 0.2 * stats["flicker"]


def test_blank_frames_say_so_before_the_missing_motion():
    stats = merge_statistics([batch_statistics(np.full((8, 32, 32), 255, dtype=np.uint8))])
    found = findings(np.zeros(100), {"snr_estimate_db": 5.0}, stats)
    assert found[0].startswith("blank frames") and found[1].startswith("no motion") and len(found) == 2


def test_no_motion_still_names_the_frames_problems():
    frames = np.random.default_rng(0).normal(100.0, 20.0, (8, 32, 32))  # noise: no stable texture
    found = findings(np.zeros(100), {"snr_estimate_db": 5.0}, merge_statistics([batch_statistics(frames)]))
    assert found[0].startswith("no motion") and any(line.startswith("no stable texture") for line in found)


def test_a_few_saturated_pixels_are_clipped_frames_but_a_few_black_ones_are_not():
    frames = np.tile(np.linspace(20, 200, 32), (8, 32, 1))
    frames[:, :2, :] = 255.0  # 6 % at the 8-bit top
    stats = merge_statistics([batch_statistics(frames)])
    assert stats["bright_at_top"] > 0.05
    assert any("brightest" in line for line in findings(0.01 * np.sin(np.arange(100)), {}, stats))
    frames[:, :2, :] = 0.0  # 6 % black: a dark background
    stats = merge_statistics([batch_statistics(frames)])
    assert not any(line.startswith("clipped") for line in findings(0.01 * np.sin(np.arange(100)), {}, stats))
    frames[:, :2, :] = 254.0  # 6 % at a value that is no format's top
    stats = merge_statistics([batch_statistics(frames)])
    assert stats["bright_at_top"] == 0.0


def test_sources_asked_for_but_not_found_are_named():
    samples = np.zeros((3, 200))
    samples[0] = 0.01 * np.sin(np.arange(200))
    found = findings(samples, {"snr_estimate_db": [30.0, -np.inf, -np.inf]})
    assert found == ["only 1 of the 3 sources asked for were found: channels 2, 3 hold nothing; "
                     "ask for fewer (--sources, n_sources=)"]


def test_the_low_snr_finding_defers_to_the_slow_motion_that_caps_it():
    # "try a larger --roi, more light or a closer view" stood beside "remove slow motion first"
    info = {"snr_estimate_db": -12.0, "reliability": {"large_motion": "the frames moved 0.6 px (or more)..."}}
    low = [line for line in findings(0.01 * np.sin(np.arange(500) * 0.3), info) if line.startswith("the estimated SNR")]
    assert len(low) == 1 and "slow motion" in low[0] and "more light" not in low[0]


def test_a_burnt_out_batch_sits_at_the_brightest_value():
    # one value in the whole batch was counted at the darkest: a burnt-out clip read "sit at the darkest value"
    stats = merge_statistics([batch_statistics(np.full((8, 32, 32), 255, dtype=np.uint8))])
    assert stats["bright"] == 1.0 and stats["dark"] == 0.0
    black = merge_statistics([batch_statistics(np.zeros((8, 32, 32), dtype=np.uint8))])
    assert black["dark"] == 1.0 and black["bright"] == 0.0


def test_frames_repeated_whole_are_named_not_taken_for_a_codec():
    # each frame twice in a lossless file: flagged as an inter-frame codec (and key-frame jumps), estimated at
    # -60 dB for an output of 27.6 dB
    from vismic.denoise import highpass

    sound = synth.make_displacement(synth.music(duration_seconds=0.15, sr=FPS), amplitude_px=0.05)
    frames = synth.render_nuisance_scene(synth.texture("brick", size=(64, 64)), sound, direction_degrees=30.0,
                                         noise_std=2.0, fps=FPS).frames
    rec, _ = recover(np.repeat(frames, 2, axis=0))
    assert "repeated_frames" in rec.info["reliability"]
    assert not {"inter_frame_codec", "key_frame_jumps"} & set(rec.info["reliability"])
    truth = vismic.metrics.si_snr(rec.samples, highpass(np.repeat(sound, 2), sr=FPS))
    assert abs(rec.info["snr_estimate_db"] - truth) < 3.0
    plain, _ = recover(frames)
    assert "repeated_frames" not in plain.info["reliability"]


def test_a_shaken_scene_stabilised_is_not_said_to_lack_texture():
    # the frames as read vary with a 12 px shake as much as the brick across them: "no stable texture" on a
    # recovery of 18 dB, which --strict then refused
    sound = synth.make_displacement(synth.music(duration_seconds=0.3, sr=FPS), amplitude_px=0.05)
    shake = [synth.shake_motion(len(sound), fps=FPS, peak_px=12.0, low_hz=0.5, high_hz=10.0, seed=k) for k in (1, 2)]
    frames = synth.render_nuisance_scene(synth.texture("brick", size=(96, 96)), sound, direction_degrees=30.0,
                                         noise_std=2.0, fps=FPS, crop_px=16, shift_x_px=shake[0],
                                         shift_y_px=shake[1]).frames
    rec, _ = recover(frames)
    assert "stabilised" in rec.info
    assert not any(line.startswith("no stable texture") for line in rec.info["warnings"])


def test_the_summary_says_not_to_trust_an_estimate_of_motion_too_large():
    from vismic._reliability import estimate_note

    found = findings(0.9 * np.sin(np.arange(500) * 0.3), {"snr_estimate_db": 8.8})
    assert any(line.startswith("motion too large") for line in found)
    assert "not to be trusted" in estimate_note({"warnings": found, "reliability": {"lossy_codec": "..."}})
    assert estimate_note({"warnings": []}) == ""


def _video_with_everything(n=300):
    # texture, black frames, a held frame, a repeated cadence and clipping: every figure has something to read
    rng = np.random.default_rng(11)
    texture = synth.texture("gravel", size=(40, 48)).astype(np.float64)
    frames = texture + rng.normal(0, 2.0, (n, 40, 48))
    frames[100:130] = rng.normal(2, 1, (30, 40, 48))
    frames[200:260:2] = frames[201:261:2]
    frames[:100, :6] = frames[130:, :6] = 255.0
    return frames.round().clip(0, 255).astype(np.uint8)


@given(cuts=st.lists(st.integers(1, 299), max_size=12, unique=True))
@settings(max_examples=40, deadline=None)
def test_the_statistics_do_not_depend_on_how_the_video_is_cut(cuts):
    frames = _video_with_everything()
    whole, pieces = FrameStatistics(), FrameStatistics()
    whole.add(frame_extract(frames))
    edges = [0] + sorted(cuts) + [len(frames)]
    for start, stop in zip(edges[:-1], edges[1:]):
        pieces.add(frame_extract(frames[start:stop], start))
    assert pieces.merged() == whole.merged()
    assert [w["n"] for w in whole.windows] == [64] * 4 + [44]


def test_the_statistics_pair_frames_across_pieces():
    # the change of a piece's first frame and held_blocks' pair across two pieces are those of the frames together
    frames = _video_with_everything()
    folded = FrameStatistics()
    for start in range(0, len(frames), 5):
        folded.add(frame_extract(frames[start:start + 5], start))
    merged = folded.merged()
    windows = folded.windows
    change = np.concatenate([[np.nan if c is None else c for c in w["change"]] for w in windows])
    assert np.isnan(change[0]) and np.isfinite(change[1:]).all()
    np.testing.assert_allclose(change[1:], frame_contrasts_of(frames)[1:], rtol=1e-9)
    pairs = sum(len(w["blocks"]) for w in windows)
    assert pairs == len(range(0, len(frames) - 1, 11))
    assert np.flatnonzero(change == 0).tolist() == list(range(201, 261, 2))  # the held frames, 5 of them at edges
    assert [tuple(span) for span in merged["blank_spans"]] == [(100, 130)]


def frame_contrasts_of(frames):
    from vismic._blank import frame_contrasts

    return frame_contrasts(frames)[1]


def test_a_recovery_reads_the_same_numbers_at_any_batch_size(tmp_path):
    # the findings and the estimate's caps came from per-batch numbers: an mp4v file read -14.5 / -13.2 / -14.4 /
    # -14.7 dB at batch sizes 16 / 24 / 64 / 100 (its truth -21.2); the windows are now the video's, not the batches'
    sound = synth.make_displacement(synth.music(duration_seconds=0.3, sr=FPS), amplitude_px=0.05)
    frames = synth.render_nuisance_scene(synth.texture("brick", size=(64, 64)), sound, noise_std=1.0).frames
    path = tmp_path / "clip.avi"
    synth.compress(frames, codec="mp4v", keep=path)
    read = []
    for batch_size in (16, 24, 64, 100):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = vismic.recover_sound(path, fps=FPS, batch_size=batch_size)
        read.append((rec.info["snr_estimate_db"], rec.info["warnings"], sorted(rec.info["reliability"])))
    assert all(r == read[0] for r in read[1:]) and read[0][2] == ["inter_frame_codec"]


def test_workers_read_the_same_numbers_as_one_process(tmp_path):
    # workers summarise their own frame ranges: the windows and the pairs across ranges are the same
    import tifffile

    frames = _video_with_everything(400)
    path = tmp_path / "clip.tif"
    tifffile.imwrite(path, frames)
    infos = []
    for options in (dict(batch_size=13), dict(batch_size=64, workers=2)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = vismic.recover_sound(path, fps=FPS, denoise=None, **options)
        infos.append({key: rec.info.get(key) for key in ("snr_estimate_db", "warnings", "blank_spans")})
    assert infos[0] == infos[1]


def test_a_shaken_scene_reads_the_same_at_any_batch_size():
    # the stabiliser's two passes, the light and the findings: nothing depends on how the frames were batched
    sound = synth.make_displacement(synth.music(duration_seconds=0.25, sr=FPS), amplitude_px=0.05)
    n = len(sound)
    frames = synth.render_nuisance_scene(synth.texture("gravel", size=(96, 96)), sound, noise_std=2.0, fps=FPS,
                                         crop_px=16, gain=synth.flicker_gain(n, fps=FPS, depth=0.05),
                                         shift_x_px=synth.shake_motion(n, fps=FPS, peak_px=4.0, seed=1)).frames
    runs = []
    for batch_size in (16, 37):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.append(vismic.recover_sound(frames, fps=FPS, batch_size=batch_size))
    one, two = runs
    assert one.info["stabilised"] and one.info["stabilised"] == two.info["stabilised"]
    peak = np.abs(one.samples).max()
    np.testing.assert_allclose(one.samples, two.samples, atol=1e-9 * peak)  # sums in another order: 1e-13
    assert one.info["snr_estimate_db"] == pytest.approx(two.info["snr_estimate_db"], abs=1e-6)
    assert one.info["warnings"] == two.info["warnings"]


def test_the_low_snr_finding_says_a_codec_replica_measured_the_codecs_error():
    # after "at most the -15.4 dB a replica through the codec gave" it said "the codec's own error comes on top of it"
    info = {"snr_estimate_db": -15.4, "reliability": {"lossy_codec": "the video is compressed with H.264"}}
    low = [w for w in findings(0.01 * np.ones(10), info) if "below 0 dB" in w]
    assert len(low) == 1 and "comes on top of it" in low[0]
    info["codec_replica"] = {"snr_db": -15.4}
    low = [w for w in findings(0.01 * np.ones(10), info) if "below 0 dB" in w]
    assert len(low) == 1 and "measured on a replica" in low[0] and "on top" not in low[0]
