"""Renderers of real-recording nuisances: exact camera motion, light, codecs."""

import sys

import numpy as np
import pytest

from vismic import synth
from vismic.errors import FrameShapeError, OutputError, ParameterError

FPS = 2200.0


def test_camera_motion_is_rendered_exactly_at_the_total_displacement():
    texture = synth.texture("brick", size=(32, 40))
    sound = 0.05 * np.sin(np.arange(20) * 0.7)
    drift = np.linspace(0.0, 3.3, 20)
    scene = synth.render_nuisance_scene(texture, sound, shift_x_px=drift, quantize=False, fps=FPS)
    expected = synth.render_frames(texture, sound + drift)
    assert np.max(np.abs(scene.frames - expected)) < 1e-3  # float32 frames of exact float64 renders
    np.testing.assert_array_equal(scene.displacement_px, sound)  # the truth is the sound alone


def test_whole_pixel_drift_moves_the_texture_by_whole_pixels():
    texture = synth.texture("gravel", size=(24, 24))
    scene = synth.render_nuisance_scene(texture, np.zeros(2), shift_y_px=np.array([0.0, 2.0]), quantize=False)
    np.testing.assert_allclose(scene.frames[1][2:], texture[:-2], atol=1e-3)


def test_a_cropped_scene_is_the_central_view_of_the_whole_render():
    # with a crop, camera motion brings the texture's own content into view, not its mirror image
    texture = synth.texture("gravel", size=(40, 48))
    sound = 0.05 * np.sin(np.arange(6) * 0.7)
    shake = np.array([0.0, 1.5, 3.2, -2.7, 4.0, 0.3])
    whole = synth.render_nuisance_scene(texture, sound, shift_x_px=shake, shift_y_px=-shake, quantize=False)
    cropped = synth.render_nuisance_scene(texture, sound, shift_x_px=shake, shift_y_px=-shake, quantize=False,
                                          crop_px=8)
    assert cropped.frames.shape == (6, 24, 32)
    np.testing.assert_allclose(cropped.frames, whole.frames[:, 8:-8, 8:-8], atol=1e-4)
    np.testing.assert_array_equal(cropped.texture, texture[8:-8, 8:-8])
    assert cropped.mode_shape.shape == (24, 32)
    # a whole-pixel drift brings the texture's own columns in from beyond the frame's side
    drift = synth.render_nuisance_scene(texture, np.zeros(2), shift_x_px=np.array([0.0, 2.0]), quantize=False,
                                        crop_px=8)
    np.testing.assert_allclose(drift.frames[1], texture[8:-8, 6:-10], atol=1e-3)


def test_light_gain_and_offset_multiply_the_clean_radiance():
    texture = synth.texture("noise", size=(16, 16))
    gain = np.array([1.0, 1.1, 0.9])
    scene = synth.render_nuisance_scene(texture, np.zeros(3), gain=gain, offset=2.0, quantize=False)
    np.testing.assert_allclose(scene.frames, gain[:, None, None] * texture + 2.0, atol=1e-3)


def test_flicker_has_its_frequency_depth_and_harmonics():
    n = 2200
    gain = synth.flicker_gain(n, fps=FPS, frequency_hz=100.0, depth=0.05, harmonics=(1.0, 0.5))
    spectrum = np.abs(np.fft.rfft(gain - 1.0)) * 2 / n
    frequencies = np.fft.rfftfreq(n, 1 / FPS)
    assert spectrum[frequencies == 100.0][0] == pytest.approx(0.05 / 1.5, rel=1e-6)
    assert spectrum[frequencies == 200.0][0] == pytest.approx(0.025 / 1.5, rel=1e-6)
    others = np.ones_like(spectrum, dtype=bool)
    others[np.isin(frequencies, (100.0, 200.0))] = False
    assert spectrum[others].max() < 1e-9
    assert np.max(np.abs(gain - 1.0)) <= 0.05 + 1e-12


def test_shake_is_band_limited_and_scaled_to_its_peak():
    motion = synth.shake_motion(4400, fps=FPS, peak_px=4.0, low_hz=3.0, high_hz=7.0, seed=3)
    assert np.max(np.abs(motion)) == pytest.approx(4.0)
    spectrum = np.abs(np.fft.rfft(motion))
    frequencies = np.fft.rfftfreq(4400, 1 / FPS)
    outside = (frequencies < 3.0) | (frequencies > 7.0)
    assert spectrum[outside].max() < 1e-9 * spectrum.max()


def test_drift_sway_exposure_and_fade_values():
    assert synth.drift_motion(5, total_px=2.0)[[0, -1]].tolist() == [0.0, 2.0]
    sway = synth.sway_motion(2200, fps=FPS, peak_px=2.0, frequency_hz=2.0)
    assert np.max(np.abs(sway)) == pytest.approx(2.0, rel=1e-3)
    steps = synth.exposure_steps(10, fps=10.0, times_seconds=[0.2, 0.5], gains=[1.2, 0.8])
    assert steps.tolist() == [1.0, 1.0, 1.2, 1.2, 1.2, 0.8, 0.8, 0.8, 0.8, 0.8]
    assert synth.fade_gain(5, end_gain=0.6)[-1] == pytest.approx(0.6)


@pytest.mark.parametrize("codec", ["MJPG", "mp4v", "VP80", "VP90", "H264"])
def test_compression_round_trips_through_a_real_lossy_encoder(codec):
    if codec == "H264":
        pytest.importorskip("av")
    frames = synth.render_scene(synth.texture("brick", size=(32, 32)), np.zeros(12), noise_std=2.0).frames
    decoded = synth.compress(frames, codec=codec)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    error = np.abs(decoded.astype(float) - frames).mean()
    assert 0.1 < error < 30.0  # lossy, but the same picture


@pytest.mark.parametrize("shape", [(4, 4), (8, 6), (31, 32), (32, 33)])
def test_compress_refuses_frames_the_encoders_cannot_hold_before_encoding(shape):
    # 4x4 and 8x6 aborted the interpreter inside OpenCV's FFmpeg (mp4v, VP8, VP9); odd sides were cropped
    for codec in ("mp4v", "VP80", "VP90", "MJPG"):
        with pytest.raises(FrameShapeError, match="even sides of at least 8 px"):
            synth.compress(np.zeros((3,) + shape, np.uint8), codec=codec)


def test_compress_quality_is_a_number_from_0_to_100_for_mjpeg_only():
    frames = np.zeros((3, 8, 8), np.uint8)
    for bad in (200, -5, float("nan")):
        with pytest.raises(ParameterError, match="quality"):
            synth.compress(frames, codec="MJPG", quality=bad)
    with pytest.raises(ParameterError, match="MJPG' only"):
        synth.compress(frames, codec="mp4v", quality=50)


def test_mjpeg_quality_sets_the_quantisation():
    # OpenCV's FFmpeg writer ignored it: every quality gave the same frames
    frames = np.repeat(synth.texture("brick", size=(32, 32)).clip(0, 255).astype(np.uint8)[None], 3, axis=0)
    errors = [np.sqrt(np.mean((synth.compress(frames, codec="MJPG", quality=q).astype(float) - frames) ** 2))
              for q in (10, 50, 95)]
    assert errors[0] > 2 * errors[1] > 0 and errors[1] > errors[2] and errors[2] < 2.0  # levels kept as they were
    # OpenCV's own MJPEG encoder remapped grey frames' levels (a mean of 111 read back as 60)
    assert abs(synth.compress(frames, codec="MJPG", quality=95).mean() - frames.mean()) < 0.5


def test_a_compressed_clip_can_be_kept_and_reads_back_as_the_frames_given(tmp_path):
    from vismic.io import open_video, read_frames

    frames = synth.render_scene(synth.texture("brick", size=(32, 32)), np.zeros(12), noise_std=2.0).frames
    decoded = synth.compress(frames, codec="VP90", keep=tmp_path / "clip.mkv")
    assert np.array_equal(np.rint(read_frames(tmp_path / "clip.mkv", fps=1000.0)), decoded)
    assert open_video(tmp_path / "clip.mkv", fps=1000.0).codec == "VP90"
    with pytest.raises(ParameterError, match="keep must name a .mkv file"):
        synth.compress(frames, codec="VP90", keep=tmp_path / "clip.avi")
    with pytest.raises(OutputError, match="folder does not exist"):
        synth.compress(frames, codec="MJPG", keep=tmp_path / "no" / "clip.avi")
    taken = tmp_path / "taken.avi"  # a folder that already holds a clip.avi: the move fails
    taken.mkdir()
    (taken / "clip.avi").write_bytes(b"")
    with pytest.raises(OutputError, match="cannot keep the compressed clip"):
        synth.compress(frames, codec="MJPG", keep=taken)


def test_an_h264_clip_is_written_by_x264_and_read_back_as_h264(tmp_path):
    pytest.importorskip("av")
    from vismic.io import open_video

    frames = synth.render_scene(synth.texture("brick", size=(32, 32)), np.zeros(12), noise_std=2.0).frames
    decoded = synth.compress(frames, codec="H264", keep=tmp_path / "clip.mp4")
    assert open_video(tmp_path / "clip.mp4", fps=1000.0).codec.lower() in ("h264", "avc1")
    assert decoded.shape == frames.shape


def test_h264_without_pyav_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    with pytest.raises(ImportError, match="vismic\\[codecs\\]"):
        synth.compress(np.zeros((2, 8, 8), np.uint8), codec="H264")


def test_bad_nuisance_arguments_raise_parameter_errors():
    with pytest.raises(ParameterError, match="codec"):
        synth.compress(np.zeros((2, 8, 8), np.uint8), codec="H265")
    with pytest.raises(FrameShapeError, match="even sides"):
        synth.compress(np.zeros((2, 8, 7), np.uint8), codec="H264")
    with pytest.raises(ParameterError, match="uint8"):
        synth.compress(np.zeros((2, 8, 8)), codec="MJPG")
    with pytest.raises(ParameterError, match="depth"):
        synth.flicker_gain(10, fps=FPS, depth=1.5)
    with pytest.raises(ParameterError, match="shift_x_px"):
        synth.render_nuisance_scene(np.ones((8, 8)), np.zeros(4), shift_x_px=np.zeros(3))
    with pytest.raises(ParameterError, match="crop_px"):
        synth.render_nuisance_scene(np.ones((8, 8)), np.zeros(4), crop_px=4)
    with pytest.raises(ParameterError, match="crop_px"):
        synth.render_nuisance_scene(np.ones((8, 8)), np.zeros(4), crop_px=-1)
    with pytest.raises(ParameterError, match="low_hz"):
        synth.shake_motion(100, fps=FPS, peak_px=1.0, low_hz=8.0, high_hz=7.0)


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), "10", 0, 2.5, True])
def test_motion_renderers_refuse_a_frame_count_that_is_not_one(bad):
    for render in (lambda n: synth.shake_motion(n, fps=2200.0, peak_px=1.0),
                   lambda n: synth.drift_motion(n, total_px=1.0)):
        with pytest.raises(ParameterError, match="n_frames must be a positive integer"):
            render(bad)


def test_the_test_beds_light_seed_and_switches_are_checked():
    # a gain of -1 rendered black frames, a NaN step time was dropped, seed=-1 and quantize='no' went through
    texture = synth.texture("brick", size=(16, 16))
    for bad in (dict(gain=-1.0), dict(gain=0.0), dict(seed=-1), dict(seed=1.5), dict(quantize="no")):
        with pytest.raises(ParameterError, match=next(iter(bad))):
            synth.render_nuisance_scene(texture, np.zeros(20), **bad)
    with pytest.raises(ParameterError, match="times_seconds"):
        synth.exposure_steps(4, fps=4.0, times_seconds=[float("nan")], gains=[1.5])
    with pytest.raises(ParameterError, match="seed"):
        synth.shake_motion(10, fps=100.0, peak_px=1.0, seed=-2)
    for bad in (None, "a", float("nan")):
        with pytest.raises(ParameterError, match="total_px"):
            synth.drift_motion(10, total_px=bad)
    assert synth.drift_motion(3, total_px=-2.0).tolist() == pytest.approx([0.0, -1.0, -2.0])


def test_the_bound_of_a_lit_scene_sees_its_light():
    # a constant gain of 0.3 scaled the frames and not the texture: the bound read 27.1 dB for frames of 16.6
    from vismic import metrics

    texture = synth.texture("brick", size=(32, 32))
    sound = synth.make_displacement(synth.music(duration_seconds=0.1, sr=2200.0), amplitude_px=0.05)
    dim = synth.render_nuisance_scene(texture, sound, gain=0.3, noise_std=1.0)
    same = synth.render_scene(texture * 0.3, sound, noise_std=1.0)
    assert np.array_equal(dim.frames, same.frames)
    assert metrics.bound_snr_db(dim) == pytest.approx(metrics.bound_snr_db(same), abs=1e-9)
