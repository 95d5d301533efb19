"""The bound an intra-frame DCT codec leaves (metrics.dct_quantiser_loss_db) and its table reader."""

import math
import warnings

import cv2
import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.denoise import highpass
from vismic.errors import ParameterError

#: The luminance table of the JPEG standard (Annex K), what libjpeg writes at quality 50.
ANNEX_K_FIRST_ROW = [16, 11, 10, 16, 24, 40, 51, 61]


def test_the_table_is_read_from_a_jpeg_and_a_motion_jpeg_video(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 50])[1].tobytes()
    table = metrics.jpeg_quantisation_table(data)
    assert table.shape == (8, 8) and list(table[0]) == ANNEX_K_FIRST_ROW and table[7, 7] == 99
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (32, 32), True)
    for _ in range(3):
        writer.write(np.repeat(image[..., None], 3, axis=2))
    writer.release()
    video_table = metrics.jpeg_quantisation_table(path)
    assert video_table.shape == (8, 8) and np.all(video_table >= 1)
    assert video_table[7, 7] > video_table[0, 1]  # coarser steps at high frequencies
    with pytest.raises(ParameterError, match="no JPEG quantisation table"):
        metrics.jpeg_quantisation_table(b"RIFF" + bytes(100))


def test_a_dithered_quantiser_acts_as_added_uniform_noise_when_the_noise_is_wide():
    # Sheppard: with noise much wider than the step, rounding adds step**2 / 12 to the variance
    texture = synth.texture("gravel", size=(64, 64))
    table = np.full((8, 8), 4.0)
    loss = metrics.dct_quantiser_loss_db(texture, direction_degrees=30.0, noise_std=20.0, table=table)
    assert loss == pytest.approx(-10 * math.log10(1 + 16 / 12 / 400), abs=2e-3)
    # a step much wider than the noise keeps almost nothing
    assert metrics.dct_quantiser_loss_db(texture, direction_degrees=30.0, noise_std=0.5,
                                         table=np.full((8, 8), 64.0)) < -15


def test_the_bound_refuses_what_it_cannot_define():
    texture = synth.texture("brick", size=(32, 32))
    with pytest.raises(ParameterError, match="8x8"):
        metrics.dct_quantiser_loss_db(texture, direction_degrees=0.0, noise_std=1.0, table=np.ones((4, 4)))
    with pytest.raises(ParameterError, match="dither"):
        metrics.dct_quantiser_loss_db(texture, direction_degrees=0.0, noise_std=0.0, table=np.ones((8, 8)))


def test_vismic_under_mjpeg_loses_what_the_codec_took_and_little_more(tmp_path):
    fps = 2200.0
    n = int(0.5 * fps)
    sound = synth.make_displacement(synth.music(duration_seconds=n / fps, sr=fps, seed=0), amplitude_px=0.05)
    texture = synth.texture("brick", size=(64, 64))
    scene = synth.render_nuisance_scene(texture, sound, direction_degrees=45.0, noise_std=2.0, fps=fps)
    truth = highpass(scene.displacement_px, sr=fps)
    path = tmp_path / "table.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 64), True)
    writer.write(np.repeat(scene.frames[0][..., None], 3, axis=2))
    writer.release()
    bound_loss = metrics.dct_quantiser_loss_db(texture, direction_degrees=45.0, noise_std=2.0,
                                               table=metrics.jpeg_quantisation_table(path), quantization_step=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lossless = vismic.recover_sound(scene.frames, fps=fps, denoise=None)
        coded = vismic.recover_sound(synth.compress(scene.frames, codec="MJPG"), fps=fps, denoise=None)
    loss = metrics.si_snr(coded.samples, truth) - metrics.si_snr(lossless.samples, truth)
    assert bound_loss < -2.0  # OpenCV's default Motion-JPEG is far from lossless for sub-pixel motion
    assert bound_loss - 2.0 < loss < bound_loss + 0.7  # no estimator beats the codec's bound (rounding: 0.7 dB)
