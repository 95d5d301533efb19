"""Rolling shutter: rendering with per-row exposure times, per-row motion, gap filling, recovery."""

import numpy as np
import pytest

from vismic import Pipeline, metrics, synth
from vismic.data import MIN_FRAMES, Audio
from vismic.denoise import highpass
from vismic.errors import FrameShapeError, ParameterError, TooFewFramesError
from vismic.rolling import (
    RollingShutterRecovery,
    fill_gaps,
    recover_rolling_shutter,
    recover_rolling_shutter_video,
    row_motion,
    row_reference,
)

FPS = 60.0
ROWS = 64
DELAY = 1.0 / (FPS * ROWS * 1.2)  # a sixth of every frame period is blanking


def tone_px(freq_hz, amplitude_px):
    return lambda t: amplitude_px * np.sin(2 * np.pi * freq_hz * t)


@pytest.fixture(scope="module")
def tone_scene():
    return synth.render_rolling_shutter(
        synth.texture("brick", size=(ROWS, 64)), tone_px(440.0, 0.03),
        fps=FPS, line_delay_seconds=DELAY, n_frames=MIN_FRAMES, noise_std=2.0, seed=3,
    )


def dominant(samples, sr):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1.0 / sr)
    k = int(np.argmax(spectrum))
    rest = np.delete(spectrum, np.arange(max(0, k - 6), k + 7))  # all but the peak's main lobe
    return freqs[k], 10 * np.log10(spectrum[k] / rest.max())


# --- rendering -------------------------------------------------------------------


@pytest.mark.parametrize("direction_degrees", [0.0, 180.0, 90.0, 35.0])
def test_each_row_is_the_texture_shifted_by_the_motion_at_its_own_instant(direction_degrees):
    texture = synth.texture("noise", size=(24, 32))
    motion = lambda t: 0.4 * np.sin(2 * np.pi * 440 * t) + 2.6 * np.cos(2 * np.pi * 70 * t)  # noqa: E731
    scene = synth.render_rolling_shutter(texture, motion, fps=FPS, line_delay_seconds=1 / (FPS * 30),
                                         n_frames=3, direction_degrees=direction_degrees, quantize=False)
    assert scene.frames.dtype == np.float32
    np.testing.assert_allclose(scene.row_times_seconds[2, 5], 2 / FPS + 5 / (FPS * 30))
    np.testing.assert_allclose(scene.row_displacement_px, motion(scene.row_times_seconds))
    for t, y in [(0, 0), (1, 7), (2, 23)]:
        expected = synth.render_frames(texture, scene.row_displacement_px[t, y : y + 1],
                                       direction_degrees=direction_degrees)[0, y]
        np.testing.assert_allclose(scene.frames[t, y], expected, atol=1e-4)  # float32 frames


def test_truth_is_the_motion_at_the_line_rate_up_to_the_last_row(tone_scene):
    scene = tone_scene
    assert scene.sr == pytest.approx(1 / DELAY)
    last = scene.row_times_seconds[-1, -1]
    assert scene.displacement_px.size == int(np.floor(last * scene.sr + 1e-6)) + 1
    np.testing.assert_allclose(scene.displacement_px, tone_px(440.0, 0.03)(np.arange(scene.displacement_px.size) / scene.sr))
    assert scene.gap_fraction == pytest.approx(1 / 6)
    assert scene.frames.dtype == np.uint8 and len(scene) == 32
    assert [len(b) for b in scene.batches(12)] == [12, 12, 8]


def test_an_array_displacement_sets_the_number_of_frames():
    sr = 4 / DELAY
    audio = synth.tone(440.0, duration_seconds=0.1, sr=sr)
    scene = synth.render_rolling_shutter(synth.texture("noise", size=(ROWS, 32)), 0.05 * audio, sr=sr,
                                         fps=FPS, line_delay_seconds=DELAY, quantize=False)
    assert len(scene) == 6  # frame 6's last row would fall after the array's last sample
    np.testing.assert_allclose(scene.displacement_px, 0.05 * np.sin(2 * np.pi * 440 * np.arange(scene.displacement_px.size) * DELAY), atol=1e-6)
    with pytest.raises(ParameterError, match="n_frames=9"):
        synth.render_rolling_shutter(synth.texture("noise", size=(ROWS, 32)), audio, sr=sr, n_frames=9,
                                     fps=FPS, line_delay_seconds=DELAY)


def test_rendering_errors_name_the_values():
    texture = synth.texture("noise", size=(ROWS, 32))
    with pytest.raises(ParameterError, match=r"line_delay_seconds=-0\.001"):
        synth.render_rolling_shutter(texture, tone_px(440, 0.1), fps=FPS, line_delay_seconds=-0.001, n_frames=2)
    with pytest.raises(ParameterError, match=r"line_delay_seconds=0\.001 x 64 rows .* 1/fps = 0\.0166667 s \(fps=60\.0\)"):
        synth.render_rolling_shutter(texture, tone_px(440, 0.1), fps=FPS, line_delay_seconds=0.001, n_frames=2)
    with pytest.raises(ParameterError, match="n_frames is required"):
        synth.render_rolling_shutter(texture, tone_px(440, 0.1), fps=FPS, line_delay_seconds=DELAY)
    with pytest.raises(ParameterError, match="sr"):
        synth.render_rolling_shutter(texture, np.zeros(100), fps=FPS, line_delay_seconds=DELAY)


# --- per-row motion ------------------------------------------------------------------


def test_row_motion_measures_each_row_and_ignores_flat_rows():
    texture = synth.texture("noise", size=(16, 64))
    texture[5] = 100.0  # a row without texture carries no evidence
    shifts = np.linspace(-0.08, 0.08, 16)
    frame = np.stack([synth.render_frames(texture, shifts[y : y + 1])[0, y] for y in range(16)])
    d, information = row_motion(frame[None], row_reference(texture))
    assert information[5] == 0.0 and d[0, 5] == 0.0
    textured = np.arange(16) != 5
    np.testing.assert_allclose(d[0, textured], shifts[textured], atol=0.004)
    with pytest.raises(FrameShapeError, match="do not match the reference"):
        row_motion(np.zeros((2, 16, 32)), row_reference(texture))


# --- gap filling -------------------------------------------------------------------------


def test_fill_gaps_carries_a_tone_across_the_blanking_interval():
    times = (np.arange(40)[:, None] / FPS + np.arange(ROWS)[None, :] * DELAY).ravel()
    rng = np.random.default_rng(0)
    observed = np.sin(2 * np.pi * 440 * times) + 0.1 * rng.standard_normal(times.size)
    truth = np.sin(2 * np.pi * 440 * np.arange(int(times[-1] / DELAY + 1e-6) + 1) * DELAY)
    spectral = fill_gaps(times, observed, sr=1 / DELAY)
    linear = fill_gaps(times, observed, sr=1 / DELAY, method="linear")
    assert spectral.shape == truth.shape == linear.shape
    assert metrics.si_snr(spectral, truth) > 20.0
    assert metrics.si_snr(spectral, truth) > metrics.si_snr(linear, truth) + 15.0
    np.testing.assert_allclose(linear, np.interp(np.arange(truth.size) * DELAY, times, observed))


def test_fill_gaps_weighs_rows_by_their_information():
    """Rows with almost no texture (tiny weight, huge noise) must neither leak noise nor flatten the prior."""
    times = (np.arange(40)[:, None] / FPS + np.arange(ROWS)[None, :] * DELAY)
    weights = np.ones_like(times)
    weights[:, :8] = 1e-3
    rng = np.random.default_rng(1)
    chord = lambda t: (np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 660 * t + 1)  # noqa: E731
                       + 0.3 * np.sin(2 * np.pi * 1130 * t + 2))
    observed = chord(times) + 0.3 * rng.standard_normal(times.shape) / np.sqrt(weights)
    truth = chord(np.arange(int(times[-1, -1] / DELAY + 1e-6) + 1) * DELAY)
    filled = fill_gaps(times.ravel(), observed.ravel(), weights=weights.ravel(), sr=1 / DELAY)
    assert metrics.si_snr(filled, truth) > 15.0
    unweighted = fill_gaps(times.ravel(), observed.ravel(), sr=1 / DELAY)
    assert metrics.si_snr(unweighted, truth) < metrics.si_snr(filled, truth) - 10.0


def test_fill_gaps_errors():
    t = np.arange(10) / 100.0
    with pytest.raises(ParameterError, match="method"):
        fill_gaps(t, t, sr=100.0, method="cubic")
    with pytest.raises(ParameterError, match=r"max_frequency_hz=80\.0"):
        fill_gaps(t, t, sr=100.0, max_frequency_hz=80.0)
    with pytest.raises(ParameterError, match="two observations"):
        fill_gaps(t, t, sr=100.0, weights=np.r_[1.0, np.zeros(9)])
    with pytest.raises(FrameShapeError):
        fill_gaps(t, t[:5], sr=100.0)


# --- recovery -------------------------------------------------------------------------------


def test_a_440_hz_tone_filmed_at_60_fps_is_recovered(tone_scene):
    audio = recover_rolling_shutter(tone_scene.frames, fps=FPS, line_delay_seconds=DELAY)
    assert isinstance(audio, Audio)
    assert audio.sr == pytest.approx(1 / DELAY)
    assert audio.samples.shape == tone_scene.displacement_px.shape
    peak_hz, prominence_db = dominant(audio.samples, audio.sr)
    assert abs(peak_hz - 440.0) < 0.02 * 440.0  # 7 times the frame rate's Nyquist limit
    assert prominence_db > 10.0  # benchmark: ~40 dB
    reference = highpass(tone_scene.displacement_px, sr=tone_scene.sr, cutoff_hz=20.0)
    assert metrics.si_snr(audio.samples, reference) > 10.0  # benchmark: ~20 dB
    assert audio.info["gap_fraction"] == pytest.approx(1 / 6)
    assert audio.info["row_displacement_px"].shape == (32, ROWS)


def test_linear_filling_is_the_weaker_choice(tone_scene):
    reference = highpass(tone_scene.displacement_px, sr=tone_scene.sr, cutoff_hz=20.0)
    snr = {
        fill: metrics.si_snr(recover_rolling_shutter(tone_scene.frames, fps=FPS, line_delay_seconds=DELAY,
                                                     fill=fill).samples, reference)
        for fill in ("spectral", "linear")
    }
    assert snr["spectral"] > snr["linear"] + 6.0


def test_video_entry_point_times_a_cropped_and_downsampled_video():
    height = 96
    delay = 1.0 / (FPS * height * 1.2)
    scene = synth.render_rolling_shutter(
        # 'noise' is band-limited to 0.25 cycles/px: 2x2 block means do not alias it (a photograph's
        # finest detail would alias and move backwards)
        synth.texture("noise", size=(height, 96)), tone_px(440.0, 0.06),
        fps=FPS, line_delay_seconds=delay, n_frames=32, noise_std=1.0, seed=2,
    )
    audio = recover_rolling_shutter_video(scene.frames, fps=FPS, line_delay_seconds=delay,
                                          roi=(8, 32, 80, 64), downsample=2, batch_size=10)
    assert isinstance(audio, Audio)
    assert audio.info["n_frames"] == 32 and audio.info["roi"] == (8, 32, 80, 64)
    # rows 32..95 (blocks of 2, each at its rows' mean time): output runs to the last block's time
    last = 31 / FPS + (32 + 0.5 + 2 * 31) * delay
    assert audio.samples.size == int(np.floor(last / delay + 1e-6)) + 1
    reference = highpass(scene.displacement_px[: audio.samples.size], sr=scene.sr, cutoff_hz=20.0)
    assert metrics.si_snr(audio.samples, reference) > 10.0
    # the same rows with the block averaging ignored (one line per row instead of two) are far worse
    blocks = scene.frames[:, 32:, 8:88].reshape(32, 32, 2, 40, 2).mean(axis=(2, 4))
    right = recover_rolling_shutter(blocks, fps=FPS, line_delay_seconds=delay, first_row=32.5, row_step=2,
                                    sensor_rows=height)
    np.testing.assert_allclose(right.samples, audio.samples, atol=1e-6)
    wrong = recover_rolling_shutter(blocks, fps=FPS, line_delay_seconds=delay, first_row=32.5, sensor_rows=height)
    assert metrics.si_snr(wrong.samples, reference[: wrong.samples.size]) < 0.0


def test_recovery_errors_name_the_values(tone_scene):
    frames = tone_scene.frames
    with pytest.raises(ParameterError, match=r"line_delay_seconds=0\.0"):
        recover_rolling_shutter(frames, fps=FPS, line_delay_seconds=0.0)
    with pytest.raises(ParameterError, match=r"line_delay_seconds=0\.0005 x 64 rows = 0\.032 s .*fps=60\.0"):
        recover_rolling_shutter(frames, fps=FPS, line_delay_seconds=0.0005)
    with pytest.raises(ParameterError, match=r"x 200 rows"):  # a crop of a taller sensor
        recover_rolling_shutter(frames, fps=FPS, line_delay_seconds=DELAY, sensor_rows=200)
    with pytest.raises(ParameterError, match="fill"):
        recover_rolling_shutter(frames, fps=FPS, line_delay_seconds=DELAY, fill="zeros")
    with pytest.raises(TooFewFramesError, match=f"3 frames; rolling-shutter recovery needs at least {MIN_FRAMES}"):
        recover_rolling_shutter(frames[:3], fps=FPS, line_delay_seconds=DELAY)
    with pytest.raises(ParameterError, match=r"x 96 rows"):  # the video entry point checks the full frame
        recover_rolling_shutter_video(np.zeros((8, 96, 32), np.uint8), fps=FPS, line_delay_seconds=DELAY, roi=(0, 0, 32, 32))
    # options the last stages read fail before any frame is measured
    with pytest.raises(ParameterError, match="sr=-1"):
        recover_rolling_shutter(np.zeros((2, ROWS, 32)), fps=FPS, line_delay_seconds=DELAY, sr=-1)


def test_stage_runs_in_a_pipeline(tone_scene):
    stage = RollingShutterRecovery(line_delay_seconds=DELAY, fill="linear")
    assert repr(stage) == f"RollingShutterRecovery(line_delay_seconds={DELAY!r}, fill='linear')"
    audio = Pipeline([("rolling", stage)]).run(list(tone_scene.batches(8)))
    direct = recover_rolling_shutter(tone_scene.frames, fps=FPS, line_delay_seconds=DELAY, fill="linear")
    np.testing.assert_allclose(audio.samples, direct.samples, atol=1e-9)
    stage.set_params(fill="spectral")
    assert stage.fill == "spectral"
