"""A replica of the scene through a VP9, VP8 or H.264 file's own codec: what the compression cost the sound."""

import sys
import warnings

import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.codec import (CodecReplica, FileQuantiser, codec_replica, encode_like, independent_motion,
                          moving_regions, read_quantisers, read_rate)
from vismic.codec._replica import (COARSE_FRAMES, NOISE_RANGE, _matched_noise, _refined_noise, _searched_noise,
                                   _window, difference_variance)
from vismic.denoise import highpass
from vismic.errors import FrameShapeError, ParameterError

pytest.importorskip("av")

FPS = 2200.0


def _scene(amplitude_px=0.05, noise_std=2.0, texture="brick", direction=45.0, seconds=0.5, seed=1):
    sound = synth.make_displacement(synth.music(duration_seconds=seconds, sr=FPS, seed=seed), amplitude_px=amplitude_px)
    scene = synth.render_nuisance_scene(synth.texture(texture, size=(64, 64)), sound, direction_degrees=direction,
                                        noise_std=noise_std, fps=FPS, seed=seed)
    return scene, highpass(scene.displacement_px, sr=FPS)


def _clip(tmp_path_factory, codec, **scene):
    """A scene written by OpenCV's ``codec`` writer: (path, scene, true motion high-passed)."""
    scene, truth = _scene(**scene)
    path = tmp_path_factory.mktemp(codec) / "clip.mkv"
    synth.compress(scene.frames, codec=codec, keep=path)
    return path, scene, truth


@pytest.fixture(scope="module")
def vp9_clip(tmp_path_factory):
    return _clip(tmp_path_factory, "VP90")


def test_read_quantisers_gives_every_frame_its_index_and_the_key_frames(vp9_clip):
    path, scene, _ = vp9_clip
    q = read_quantisers(path)
    assert q.q_index.shape == q.key.shape == (len(scene.frames),)
    assert q.key[0] and q.key_interval == 12  # OpenCV's VP9 writer: a key frame every 12
    assert np.all(np.flatnonzero(q.key) % 12 == 0)
    assert np.median(q.q_index[~q.key]) - 5 < q.effective_q_index < 255
    assert read_quantisers(path, max_frames=30).q_index.shape == (30,)


def test_read_quantisers_refuses_other_codecs(tmp_path):
    frames = _scene(seconds=0.02)[0].frames
    synth.compress(frames, codec="MJPG", keep=tmp_path / "clip.avi")
    with pytest.raises(ParameterError, match="not VP9, H.264 or MPEG-4 part 2"):
        read_quantisers(tmp_path / "clip.avi")


def test_a_coarser_quantiser_loses_more():
    frames = _scene(seconds=0.02)[0].frames
    errors = []
    for q_index in (8, 120, 240):
        decoded = encode_like(frames, FileQuantiser(np.full(len(frames), q_index), np.arange(len(frames)) % 12 == 0))
        assert decoded.shape == frames.shape and decoded.dtype == np.uint8
        errors.append(np.mean((decoded - np.clip(np.rint(frames), 0, 255)) ** 2))
    assert errors[0] < errors[1] < errors[2]


def test_encode_like_needs_even_sides():
    quantiser = FileQuantiser(np.full(4, 30), np.array([True, False, False, False]))
    with pytest.raises(FrameShapeError, match="even"):
        encode_like(np.zeros((4, 63, 64)), quantiser)


@pytest.mark.parametrize("sigma", [0.13, 0.3, 1.0, 2.0, 4.0, 13.0, 31.0])
def test_the_noise_is_found_from_the_frame_to_frame_changes(sigma):
    # frame differences of white noise have twice its variance, on top of what the motion changes
    def changes(level):
        return 2 * level ** 2 + 0.5

    assert _matched_noise(changes(sigma), changes) == pytest.approx(sigma, rel=0.02)


def test_a_steep_dead_zone_is_matched_closely():
    # a codec that drops noise below 1.5 grey levels: changes rise steeply past it
    def changes(level):
        return 0.1 + 8 * max(level - 1.5, 0.0) ** 2

    assert _matched_noise(changes(2.3), changes) == pytest.approx(2.3, rel=0.05)
    # out of the range: its end
    assert _matched_noise(1e6, changes) == 32.0 and _matched_noise(0.0, changes) == 0.125


def _codec_frames(sigma, n, head_shift=1.0, seed=0):
    """Frames whose changes are a dead-zone codec's at noise ``sigma``; the first 33 as at ``sigma * head_shift``."""
    rng = np.random.default_rng(seed)
    level = np.where(np.arange(n) < COARSE_FRAMES, sigma * head_shift, sigma)
    return 100.0 + rng.normal(0.0, 1.0, (n, 16, 16)) * np.sqrt(0.05 + 4 * np.maximum(level - 1.0, 0.0) ** 3)[:, None, None]


@pytest.mark.parametrize("sigma", [1.3, 2.0, 2.7, 6.0])
@pytest.mark.parametrize("head_shift", [1.0, 0.9, 1.15])
def test_the_short_replicas_find_the_noise_the_full_search_does(sigma, head_shift):
    # the codec codes its first frames apart: the short replicas' level is off by up to 15 %, and the full
    # trials move it to the full replica's match, in fewer full trials than the bracketing search takes
    full = []

    def changes(level, frames):
        if frames > COARSE_FRAMES:
            full.append(level)
        return difference_variance(_codec_frames(level, frames, head_shift, seed=1))

    first = _codec_frames(sigma, 257, head_shift, seed=1)
    found = _searched_noise(first, changes)
    searched = len(full)
    full.clear()
    target = difference_variance(first)
    assert found == pytest.approx(_matched_noise(target, lambda level: changes(level, 257)), rel=0.02)
    assert found == pytest.approx(sigma, rel=0.02)
    assert searched <= 3 < len(full)


def test_the_full_search_runs_where_the_short_one_finds_no_bracket():
    full = []

    def changes(level, frames):
        if frames > COARSE_FRAMES:
            full.append(level)
            return 2 * level ** 2
        return 1e-9  # the short replicas change nothing at any noise: the range's end

    first = np.random.default_rng(2).normal(100.0, 2.0, (100, 8, 8))
    assert _searched_noise(first, changes) == pytest.approx(2.0, rel=0.05)
    assert len(full) >= 4
    # a short clip is searched at full length alone
    full.clear()
    assert _searched_noise(first[:COARSE_FRAMES + 5], changes) == pytest.approx(2.0, rel=0.1)


def test_the_fine_trials_give_up_where_they_cannot_bracket():
    assert _refined_noise(1.0, lambda level: 0.0, 2.0, 3.0) is None  # nothing changes at any noise
    assert _refined_noise(1e9, lambda level: level, NOISE_RANGE[1], 3.0) is None  # the range's end


def test_the_replica_window_has_the_clips_power():
    rng = np.random.default_rng(0)
    motion = np.concatenate([np.zeros(3000), rng.standard_normal(3000), 10 * rng.standard_normal(3000)])
    window = motion[_window(motion, 2048)]
    assert len(window) == 2048
    assert np.mean(window ** 2) == pytest.approx(np.mean(motion ** 2), rel=0.5)
    assert _window(motion[:100], 2048) == slice(0, 100)


@pytest.mark.parametrize("texture, direction, amplitude, noise", [("brick", 45.0, 0.05, 2.0), ("camera", 0.0, 0.08, 1.0)])
def test_the_replica_reads_the_true_snr_of_a_vp9_file(tmp_path, texture, direction, amplitude, noise):
    # the estimate alone read 1.5-10 dB too high on such files (benchmarks/bench_nuisance.py)
    scene, truth = _scene(amplitude, noise, texture, direction)
    path = tmp_path / "clip.mkv"
    synth.compress(scene.frames, codec="VP90", keep=path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(path, fps=FPS, denoise=None, codec_replica=False)

        def recover(frames, key_frames):
            return vismic.recover_sound(frames, fps=FPS, denoise=None, key_frames=key_frames).samples

        replica = codec_replica(vismic.io.open_video(path, fps=FPS).read(0, 257).frames, rec.samples, recover,
                                quantiser=read_quantisers(path), direction_degrees=rec.info["direction_degrees"],
                                fps=FPS)
    true_snr = metrics.si_snr(rec.samples, truth)
    assert abs(replica.snr_db - true_snr) < 3.0
    assert abs(replica.snr_db - true_snr) < rec.info["snr_estimate_db"] - true_snr
    # the noise is matched through the codec, whose dead zone flattens the changes a little noise makes
    assert replica.noise_std == pytest.approx(noise, rel=0.3)
    assert replica.frames == len(scene.frames) and replica.key_interval == 12


def _recovered_with_replica(path):
    """``recover_sound`` on a file with its replica: (rec, rec.info["codec_replica"], the warnings naming it)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(path, fps=FPS, denoise=None)
    return rec, rec.info["codec_replica"], [str(w.message) for w in caught if "replica" in str(w.message)]


def test_recover_sound_caps_its_estimate_at_the_replica(vp9_clip):
    path, _, truth = vp9_clip
    rec, found, said = _recovered_with_replica(path)
    assert set(found) == {"snr_db", "noise_std", "q_index", "bits_per_pixel", "key_interval", "frames"}
    assert rec.info["snr_estimate_db"] <= found["snr_db"]
    assert abs(rec.info["snr_estimate_db"] - metrics.si_snr(rec.samples, truth)) < 3.0
    assert len(said) == 1 and "libvpx-vp9" in said[0] and f"{found['snr_db']:.1f} dB" in said[0]
    assert said[0] in rec.info["warnings"] and said[0] == rec.info["reliability"]["lossy_codec"]
    # denoised, the estimate and the replica are still those of the combination's output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        denoised = vismic.recover_sound(path, fps=FPS)
    assert denoised.info["snr_estimate_db"] <= denoised.info["codec_replica"]["snr_db"]


def test_the_replica_is_skipped_where_it_does_not_apply(vp9_clip, tmp_path, monkeypatch):
    path, scene, _ = vp9_clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "codec_replica" not in vismic.recover_sound(path, fps=FPS, codec_replica=False).info
        assert "codec_replica" not in vismic.recover_sound(path, fps=FPS, downsample=2).info
        assert "codec_replica" not in vismic.recover_sound(scene.frames, fps=FPS).info
        synth.compress(scene.frames, codec="mp4v", keep=tmp_path / "clip.avi")
        assert "codec_replica" not in vismic.recover_sound(tmp_path / "clip.avi", fps=FPS).info
        # without PyAV the file is flagged as before, not measured
        monkeypatch.setitem(sys.modules, "av", None)
        rec = vismic.recover_sound(path, fps=FPS)
    assert "codec_replica" not in rec.info and "lossy_codec" in rec.info["reliability"]
    with pytest.raises(ImportError, match=r"vismic\[codecs\]"):
        encode_like(scene.frames[:4], FileQuantiser(np.full(4, 30), np.array([True, False, False, False])))
    with pytest.raises(ParameterError, match="codec_replica"):
        vismic.recover_sound(path, fps=FPS, codec_replica="yes")


def test_an_odd_roi_is_measured_and_a_failed_replica_leaves_the_estimate(vp9_clip, monkeypatch, caplog):
    path, _, _ = vp9_clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(path, fps=FPS, roi=(3, 5, 41, 39), denoise=None)
        assert rec.info["codec_replica"]["snr_db"] >= rec.info["snr_estimate_db"]

        def broken(*args, **kwargs):
            raise ParameterError("no quantiser")

        monkeypatch.setattr(vismic.codec, "read_quantisers", broken)
        alone = vismic.recover_sound(path, fps=FPS, codec_replica=False, denoise=None)
        rec = vismic.recover_sound(path, fps=FPS, denoise=None)
    assert "codec_replica" not in rec.info and rec.info["snr_estimate_db"] == alone.info["snr_estimate_db"]
    assert "could not be measured on a replica (no quantiser)" in caplog.text


def test_a_replica_below_0_db_says_the_output_is_mostly_noise(vp9_clip, monkeypatch):
    path, _, _ = vp9_clip

    def lost(*args, **kwargs):
        return CodecReplica(-5.0, 2.0, 40.0, 12, 100)

    monkeypatch.setattr(vismic.codec, "codec_replica", lost)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(path, fps=FPS, denoise=None)
    assert rec.info["snr_estimate_db"] == -5.0
    low = [line for line in rec.info["warnings"] if line.startswith("the estimated SNR")]
    assert len(low) == 1 and "(-5.0 dB)" in low[0] and "mostly noise" in low[0]
    assert sum("mostly noise" in str(w.message) for w in caught) == 1


def test_difference_variance_of_white_noise_is_twice_its_variance():
    frames = np.random.default_rng(0).normal(100.0, 3.0, (257, 32, 32))
    assert difference_variance(frames) == pytest.approx(18.0, rel=0.05)


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535)])
def test_difference_variance_of_integer_frames_is_the_float_sums(dtype, top):
    frames = np.random.default_rng(1).integers(0, top + 1, (257, 8, 12)).astype(dtype)
    frames[:, 0, 0] = top  # a pixel at the top and one leaping across the range: no overflow
    frames[::2, 0, 1], frames[1::2, 0, 1] = 0, top
    assert difference_variance(frames) == pytest.approx(difference_variance(frames.astype(np.float64)), rel=1e-12)
    assert np.isnan(difference_variance(frames[:1]))


@pytest.fixture(scope="module")
def vp8_clip(tmp_path_factory):
    return _clip(tmp_path_factory, "VP80", texture="camera", direction=0.0, amplitude_px=0.08, noise_std=1.0)


def _libvpx_clip(tmp_path_factory, bit_rate, crf=None, **scene):
    """A scene written by FFmpeg's libvpx (VP8) as ``ffmpeg -b:v bit_rate [-crf crf]`` does: (path, scene, truth)."""
    import av

    scene, truth = _scene(**scene)
    path = tmp_path_factory.mktemp("libvpx") / "clip.webm"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.bit_rate = bit_rate
        stream.options = {} if crf is None else {"crf": str(crf)}
        for frame in list(scene.frames) + [None]:
            for packet in stream.encode(None if frame is None else av.VideoFrame.from_ndarray(frame, format="gray")):
                container.mux(packet)
    return path, scene, truth


@pytest.fixture(scope="module")
def cq_clip(tmp_path_factory):
    """Constant quality (``-crf 10 -b:v 1M``, libvpx's own quantiser floor and key frames): the sound mostly lost."""
    return _libvpx_clip(tmp_path_factory, 1_000_000, crf=10)


def test_read_rate_gives_the_bits_a_pixel_and_the_key_frame_interval(vp8_clip):
    path, scene, _ = vp8_clip
    rate = read_rate(path)
    assert rate.key_interval == 12  # OpenCV's VP8 writer: a key frame every 12
    size = path.stat().st_size * 8 / (len(scene.frames) * 64 * 64)  # the container adds a little
    assert 0.8 * size < rate.bits_per_pixel <= size
    assert read_rate(path, max_frames=30).key_interval == 12
    synth.compress(scene.frames[:20], codec="VP90", keep=path.parent / "other.mkv")
    with pytest.raises(ParameterError, match="not VP8"):
        read_rate(path.parent / "other.mkv")


def test_read_rate_reads_each_frames_quantiser(vp8_clip, cq_clip, tmp_path_factory):
    from vismic.codec import read_key_frames
    from vismic.codec._file_coding import VP8_QMIN

    path, scene, _ = vp8_clip
    rate = read_rate(path)
    assert rate.q_index.shape == rate.key.shape == (len(scene.frames),)
    assert np.array_equal(np.flatnonzero(rate.key), read_key_frames(path))
    # OpenCV's writer: the frames between key frames at its floor, FFmpeg's qmin 3
    assert rate.one_quantiser and rate.floor_setting == rate.level_setting == VP8_QMIN
    cq = read_rate(cq_clip[0])
    assert cq.one_quantiser and cq.level_setting == 10 and cq.floor_setting < 10
    tight = read_rate(_libvpx_clip(tmp_path_factory, 40_000)[0])  # 0.33 bits a pixel: the rate binds
    assert not tight.one_quantiser and tight.floor_setting < tight.level_setting


def test_the_replica_reads_the_true_snr_of_a_vp8_file(vp8_clip):
    path, scene, truth = vp8_clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(path, fps=FPS, denoise=None, codec_replica=False)
        calls = []

        def recover(frames, key_frames):
            calls.append(key_frames)
            return vismic.recover_sound(frames, fps=FPS, denoise=None, key_frames=key_frames).samples

        replica = codec_replica(vismic.io.open_video(path, fps=FPS).read(0, 257).frames, rec.samples, recover,
                                rate=read_rate(path), direction_degrees=rec.info["direction_degrees"], fps=FPS)
    true_snr = metrics.si_snr(rec.samples, truth)
    assert abs(replica.snr_db - true_snr) < 3.0
    assert replica.bits_per_pixel == read_rate(path).bits_per_pixel and replica.q_index == read_rate(path).level_index
    assert np.array_equal(calls[-1], np.arange(0, len(scene.frames), 12))  # the replica's own key frames
    with pytest.raises(ParameterError, match="one of quantiser"):
        codec_replica(scene.frames[:8], rec.samples, recover, direction_degrees=0.0, fps=FPS)


def test_recover_sound_caps_a_vp8_files_estimate_at_its_replica(vp8_clip):
    path, _, truth = vp8_clip
    rec, found, said = _recovered_with_replica(path)
    assert rec.info["snr_estimate_db"] <= found["snr_db"] and found["bits_per_pixel"] > 0
    assert abs(rec.info["snr_estimate_db"] - metrics.si_snr(rec.samples, truth)) < 3.0
    assert len(said) == 1 and "VP8" in said[0] and "bits a pixel" in said[0]


def test_a_constant_quality_vp8_files_replica_follows_its_quantiser(cq_clip):
    # held to the file's bit rate alone from OpenCV's floor, the replica coded this scene finer than
    # the file and read it 2.4 dB high; at the file's level from its floor it reads -2.8 to -1.3 dB
    # from the truth over the replica's noise seeds 0-2 (the scene is at -0.5 dB, where a replica varies),
    # and -0.2 to +1.3 over its matched noise +-0.5 % (2.24-2.27 grey levels; +1.0 at the 2.253 matched)
    path, _, truth = cq_clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(path, fps=FPS, denoise=None)
    error = rec.info["snr_estimate_db"] - metrics.si_snr(rec.samples, truth)
    assert -3.0 < error < 1.5


def _x264_clip(path, frames, **options):
    """``frames`` written by x264 through PyAV, as ``ffmpeg -c:v libx264`` with ``options`` (its defaults otherwise)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {name: str(value) for name, value in options.items()}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_read_quantisers_reads_an_h264_files_qp(tmp_path):
    frames = _scene(seconds=0.05)[0].frames
    q = read_quantisers(_x264_clip(tmp_path / "crf16.mp4", frames, crf=16))
    assert q.codec == "H.264" and q.b_frames and q.key[0]
    assert q.encoder_settings["crf"] == "16.0" and q.encoder_settings["subme"] == "7"  # x264's medium, as written
    assert q.q_index.shape == (len(frames),)
    assert abs(np.median(q.q_index[~q.key]) - 16) <= 2
    plain = read_quantisers(_x264_clip(tmp_path / "plain.mp4", frames, crf=16, bf=0))
    assert not plain.b_frames
    # encoded as that file was: x264 at its QP, without B-frames
    again = encode_like(frames, plain)
    assert again.shape == frames.shape and 0 < np.abs(again.astype(float) - frames).mean() < 4.0


def test_read_quantisers_reads_an_mpeg4_part2_files_scale_and_encode_like_repeats_its_coding(tmp_path):
    # OpenCV's mp4v writer: FFmpeg's MPEG-4 part 2 encoder, rate-controlled, a key frame every 12 frames
    frames = _scene(seconds=0.03)[0].frames
    path = tmp_path / "clip.avi"
    file_frames = synth.compress(frames, codec="mp4v", keep=path)
    q = read_quantisers(path)
    assert q.codec == "MPEG-4 part 2" and not q.b_frames and q.encoder_settings is None
    assert q.q_index.shape == (len(frames),) and np.all((q.q_index >= 1) & (q.q_index <= 31))
    assert q.key_interval == 12 and np.array_equal(np.flatnonzero(q.key), np.arange(0, len(frames), 12))
    # the same frames coded at the scale the file's read: the same decoded frames (the file sat at one scale)
    assert np.unique(q.q_index).size == 1
    again = encode_like(frames, q)
    assert again.shape == frames.shape and again.dtype == np.uint8
    assert np.abs(again.astype(float) - file_frames).mean() < 0.05 * np.abs(file_frames - frames).mean()
    # a finer scale codes the frames more closely
    finer = encode_like(frames, FileQuantiser(np.ones(len(frames)), q.key, q.codec))
    assert np.abs(finer.astype(float) - frames).mean() < np.abs(again.astype(float) - frames).mean()


def test_an_independent_motion_keeps_the_spectrum_and_loses_the_waveform():
    motion = highpass(synth.make_displacement(synth.speech(duration_seconds=0.5, sr=FPS, seed=3), amplitude_px=0.05),
                      sr=FPS)
    other = independent_motion(motion, seed=1)
    assert other.shape == motion.shape and np.mean(other ** 2) == pytest.approx(np.mean(motion ** 2))
    assert np.allclose(np.abs(np.fft.rfft(other))[1:-1], np.abs(np.fft.rfft(motion))[1:-1], rtol=1e-4, atol=1e-12)
    assert abs(np.corrcoef(motion, other)[0, 1]) < 0.1
    assert np.array_equal(other, independent_motion(motion, seed=1))


def test_an_h264_file_is_read_near_its_true_snr(tmp_path):
    # x264 at -crf 10: the estimate alone read this clip 11.4 dB too high, a replica driven by the output
    # itself 1.7 (it passes the codec's own motion again), the independent motion 0.6
    scene, truth = _scene(0.1, 2.0, "coffee", 90.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = vismic.recover_sound(_x264_clip(tmp_path / "clip.mp4", scene.frames, crf=10), fps=FPS, denoise=None,
                                     codec_replica=False)
    rec, found, said = _recovered_with_replica(tmp_path / "clip.mp4")
    true_snr = metrics.si_snr(rec.samples, truth)
    assert alone.info["snr_estimate_db"] - true_snr > 8.0
    assert abs(rec.info["snr_estimate_db"] - true_snr) < 1.5 and rec.info["snr_estimate_db"] == found["snr_db"]
    assert found["q_index"] == pytest.approx(10.0, abs=1.0)
    assert len(said) == 1 and "x264, QP" in said[0] and "not its waveform" in said[0]


def test_moving_regions_are_the_sound_maps_regions_with_a_ramp_between():
    sound = np.zeros((4, 4))
    sound[1:3, 1:3] = [[0.5, 0.04], [0.3, 0.06]]  # 0.04 is below a tenth of the largest
    shape = moving_regions(sound, (64, 64))
    assert shape.shape == (64, 64) and shape.min() == 0.0 and shape.max() <= 1.0
    # regions centred at 7.5, 23.5, 39.5, 55.5 px hold their values there, and a ramp joins neighbours
    assert np.allclose(shape[24:40, 24], 1.0, atol=0.05) and shape[39, 39] == pytest.approx(1.0, abs=0.05)
    assert shape[23, 39] == pytest.approx(0.0, abs=0.05) and shape[23, 31] == pytest.approx(0.5, abs=0.05)
    assert shape[0, 0] == 0.0 and shape[63, 63] == 0.0 and shape[7, 7] == 0.0
    assert moving_regions(np.full((3, 5), 0.2), (30, 50)) is None  # the whole frame moves
    assert moving_regions(np.zeros((3, 3)), (30, 30)) is None  # no sound anywhere: nothing to go by
    assert moving_regions(np.full(4, 0.2), (30, 30)) is None


def test_a_replica_moves_only_what_the_sound_moves(tmp_path):
    # the sound moves a disk 0.4 of the frame across over a background that stands still: a replica
    # moving the whole frame has more moving texture and read this x264 file 8 dB above its truth
    sound = synth.make_displacement(synth.music(duration_seconds=0.5, sr=FPS, seed=1), amplitude_px=0.05)
    texture = synth.texture("brick", size=(64, 64))
    scene = synth.render_scene(texture, sound, direction_degrees=45.0, noise_std=2.0, fps=FPS, seed=1,
                               mode_shape=synth.object_mask(texture.shape, fraction=0.4))
    path = _x264_clip(tmp_path / "clip.mp4", scene.frames, crf=10)
    rec, found, _ = _recovered_with_replica(path)
    true_snr = metrics.si_snr(rec.samples, highpass(scene.displacement_px, sr=FPS))
    assert abs(found["snr_db"] - true_snr) < 1.5

    def recover(frames, key_frames):
        return vismic.recover_sound(frames, fps=FPS, denoise=None, codec_replica=False).samples

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = codec_replica(vismic.io.open_video(path, fps=FPS).read(0, 257).frames, rec.samples, recover,
                              quantiser=read_quantisers(path), direction_degrees=rec.info["direction_degrees"], fps=FPS)
    assert whole.snr_db - true_snr > 5.0


@pytest.mark.parametrize("floor_db, located", [(-100.0, True), (100.0, False)])
def test_a_replica_moves_the_whole_frame_where_the_output_is_mostly_noise(vp9_clip, monkeypatch, floor_db, located):
    # below vismic.codec.SOUND_MAP_FLOOR_DB the sound map is mostly noise too: it cannot say what moves
    import vismic.codec._checks

    path, _, _ = vp9_clip
    marked, given = np.ones((2, 2)), {}

    def measure(*args, mode_shape=None, **kwargs):
        given["mode_shape"] = mode_shape
        return CodecReplica(5.0, 2.0, 40.0, 12, 100)

    monkeypatch.setattr(vismic.codec, "moving_regions", lambda sound_map, shape: marked)
    monkeypatch.setattr(vismic.codec, "codec_replica", measure)
    monkeypatch.setattr(vismic.codec._checks, "SOUND_MAP_FLOOR_DB", floor_db)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vismic.recover_sound(path, fps=FPS, denoise=None)
    assert (given["mode_shape"] is marked) == located and (given["mode_shape"] is None) == (not located)


def test_a_replica_refuses_a_mode_shape_smaller_than_the_frames():
    scene, _ = _scene()
    with pytest.raises(ParameterError, match="mode_shape"):
        codec_replica(scene.frames[:8], scene.displacement_px, lambda frames, key: None, mode_shape=np.ones((8, 8)),
                      quantiser=FileQuantiser(np.full(8, 10.0), np.zeros(8, bool)), direction_degrees=0.0, fps=FPS)


def test_a_replica_replaces_the_cap_of_frames_that_barely_differ(tmp_path):
    # x264 at -crf 10 holds many blocks of this faint-noise scene (innovation 0.50): the frames' cap read
    # -3.0 dB for an output at 10.6, and the replica through x264 measures what the held blocks cost
    fps = 4000.0
    sound = synth.make_displacement(synth.music(duration_seconds=0.5, sr=fps, seed=2), amplitude_px=0.1)
    scene = synth.render_nuisance_scene(synth.texture("coffee", size=(64, 64)), sound, direction_degrees=135.0,
                                        noise_std=1.0, fps=fps, seed=2)
    path = _x264_clip(tmp_path / "clip.mp4", scene.frames, crf=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(path, fps=fps, denoise=None)
    true_snr = metrics.si_snr(rec.samples, highpass(scene.displacement_px, sr=fps))
    held = rec.info["codec_cap"]
    assert held["cap_db"] < true_snr - 8.0 and held["estimate_before_db"] > held["cap_db"]
    assert abs(rec.info["snr_estimate_db"] - true_snr) < 3.0
    assert rec.info["snr_estimate_db"] == pytest.approx(min(rec.info["codec_replica"]["snr_db"],
                                                            held["estimate_before_db"]))
    said = [str(w.message) for w in caught if "barely differ" in str(w.message)]
    assert len(said) == 1 and "x264, QP" in said[0] and "the frames' innovation gives" in said[0]
    # stabilised, the stabiliser's frame statistics find the held blocks and the combination records their cap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steady = vismic.recover_sound(path, fps=fps, denoise=None, stabilise=True)
    held = steady.info["codec_cap"]
    assert held["cap_db"] < true_snr - 8.0 and held["estimate_before_db"] > held["cap_db"]
    assert abs(steady.info["snr_estimate_db"] - true_snr) < 3.0
    assert "low_snr" not in steady.info["reliability"]  # said of the cap, which the replica replaced


@pytest.mark.parametrize("innovation, replaced", [(0.4, True), (0.05, False)])
def test_only_a_cap_above_minus_10_db_gives_way_to_a_replica(innovation, replaced):
    # frames that kept under a tenth of their change lost the sound: their cap stands whatever a replica reads
    from vismic.codec._checks import REPLICA_OVER_CAP_DB, check_codec, replaceable_cap

    info = {"snr_estimate_db": 12.0}
    check_codec(info, {"innovation": innovation, "held_blocks": 0.9, "whole_blocks": 0.5})
    cap = 10 * np.log10(innovation)
    assert info["snr_estimate_db"] == pytest.approx(cap) and "inter_frame_codec" in info["reliability"]
    assert info["codec_cap"] == {"cap_db": pytest.approx(cap), "estimate_before_db": 12.0}
    assert (replaceable_cap(info) is not None) == replaced == (cap >= REPLICA_OVER_CAP_DB)


def test_a_stabilised_recovery_reads_its_replica_without_the_stabiliser(tmp_path, monkeypatch):
    # the replica holds no camera motion: the stabiliser found nothing there and took up to half its time
    from vismic.stabilise import Stabilise

    fps = 4000.0
    sound = synth.make_displacement(synth.music(duration_seconds=0.25, sr=fps, seed=2), amplitude_px=0.1)
    scene = synth.render_nuisance_scene(synth.texture("coffee", size=(64, 64)), sound, direction_degrees=135.0,
                                        noise_std=1.0, fps=fps, seed=2)
    path = _x264_clip(tmp_path / "clip.mp4", scene.frames, crf=10)
    seen = []
    original = Stabilise.transform
    monkeypatch.setattr(Stabilise, "transform", lambda self, batch: seen.append(len(batch)) or original(self, batch))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(path, fps=fps, denoise=None, stabilise=True)
    assert "codec_replica" in rec.info and sum(seen) == len(scene.frames)


def test_reading_a_files_coding_names_a_missing_or_unreadable_file(tmp_path):
    # a bare FileNotFoundError and PyAV's own InvalidDataError, where read_key_frames named them
    from vismic.codec import read_key_frames
    from vismic.errors import CorruptVideoError, VideoNotFoundError

    (tmp_path / "text.mp4").write_text("not a video")
    for read in (read_quantisers, read_rate, read_key_frames):
        with pytest.raises(VideoNotFoundError):
            read(tmp_path / "missing.mp4")
        with pytest.raises(CorruptVideoError, match="text.mp4"):
            read(tmp_path / "text.mp4")
        for bad in (0, -1, 2.5):  # 0 and -1 gave one frame, or all but the last
            with pytest.raises(ParameterError, match="max_frames"):
                read(tmp_path / "text.mp4", max_frames=bad)


def test_a_file_quantiser_names_its_codec_and_one_value_per_frame():
    # codec="H264" (for "H.264") made encode_like encode VP9
    with pytest.raises(ParameterError, match="codec"):
        FileQuantiser(np.array([20, 22]), np.array([True, False]), "H264")
    with pytest.raises(ParameterError, match="q_index and key"):
        FileQuantiser(np.array([20, 22]), np.array([True, False, False]))


def test_the_replicas_first_frames_are_held_as_the_integers_they_are():
    # an H.264 file's grey reads as float32 integers to a few 1e-5 (its colour conversion): 257 frames of 1280x800
    # took 1 GB, and as much again stacked; they are held as 8-bit where they are integers
    from vismic.codec._checks import _first_frames
    from vismic.io import open_video

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (40, 16, 24)).astype(np.float32)
    near = grey + rng.uniform(-2e-5, 2e-5, grey.shape).astype(np.float32)
    held = _first_frames(open_video(near, fps=1000.0), 30)
    assert held.dtype == np.uint8 and held.shape == (30, 16, 24)
    np.testing.assert_array_equal(held, grey[:30])
    deep = _first_frames(open_video(grey * 200, fps=1000.0), 50)  # past 8 bits; the video is shorter than asked
    assert deep.dtype == np.uint16 and len(deep) == 40
    later = grey.copy()
    later[5] += 0.5  # a frame of fractions after integral ones: all held as they read
    mixed = _first_frames(open_video(later, fps=1000.0), 40)
    assert mixed.dtype == np.float32
    np.testing.assert_array_equal(mixed, later)


@pytest.mark.parametrize("motion, direction, match", [("nan", 0.0, "motion must be finite"),
                                                      ("ok", float("inf"), "direction_degrees")])
def test_a_replica_refuses_motion_or_direction_it_cannot_render(motion, direction, match):
    scene, _ = _scene()
    moved = scene.displacement_px.copy()
    if motion == "nan":
        moved[3] = np.nan
    with pytest.raises(ParameterError, match=match):
        codec_replica(scene.frames[:8], moved, lambda frames, key: None,
                      quantiser=FileQuantiser(np.full(8, 10.0), np.zeros(8, bool)), direction_degrees=direction, fps=FPS)


def test_encoding_parameters_are_read_from_either_kind_of_side_data():
    # PyAV up to 18.1.0 iterates a frame's side data as the side data, 18.1.1 as their types (a mapping):
    # with 18.1.1 every file read as having no quantiser
    from types import SimpleNamespace

    from vismic.codec._file_coding import encoding_parameters

    params = SimpleNamespace(qp=37)

    class Mapping(dict):
        def __iter__(self):
            return iter(self.keys())

    as_list = SimpleNamespace(side_data=[SimpleNamespace(name="other"), params])
    as_mapping = SimpleNamespace(side_data=Mapping({"VIDEO_ENC_PARAMS": params, "OTHER": SimpleNamespace()}))
    assert encoding_parameters(as_list) == [params]
    assert encoding_parameters(as_mapping) == [params]
    assert encoding_parameters(SimpleNamespace(side_data=[])) == []
