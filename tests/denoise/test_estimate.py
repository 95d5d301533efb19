"""The denoised output's SNR estimate (Stein's unbiased risk estimate)."""

import warnings

import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.codec._checks import check_file_codec
from vismic.data import Audio, NoiseSpectrum
from vismic.denoise import Denoise, denoise, highpass
from vismic.denoise._estimate import (
    denoised_snr_db,
    noise_like,
    restore_before_denoising,
)

SR = 2200.0


def _noisy(sound, noise_std, seed=0):
    rng = np.random.default_rng(seed)
    noise = noise_std * rng.standard_normal(sound.shape)
    return sound + noise, NoiseSpectrum.white(noise_std ** 2, sr=SR)


def _music(seconds=2.0, seed=0):
    return synth.music(duration_seconds=seconds, sr=SR, seed=seed)


def test_noise_like_has_the_spectrum_asked_for():
    from scipy import signal

    shaped = NoiseSpectrum(np.linspace(1.0, 0.0, 513) ** 2 * 1e-3, sr=SR)  # louder at low frequencies
    draws = noise_like(shaped, 44000, n_draws=2, seed=3)
    assert draws.shape == (2, 1, 44000)
    assert np.var(draws) == pytest.approx(1.0, rel=0.05)
    freqs, psd = signal.welch(draws[0, 0], fs=SR, nperseg=512)
    low, high = psd[(freqs > 50) & (freqs < 200)].mean(), psd[(freqs > 800) & (freqs < 950)].mean()
    expected = np.interp(125.0, shaped.freqs_hz, shaped.density) / np.interp(875.0, shaped.freqs_hz, shaped.density)
    assert low / high == pytest.approx(expected, rel=0.2)


@pytest.mark.parametrize("method", ["mmse_lsa", "wiener", "mmse_stsa", "spectral_subtraction"])
@pytest.mark.parametrize("snr_db", [5.0, 15.0])
def test_sure_tracks_every_denoiser_with_the_true_noise_level(method, snr_db):
    sound = _music()
    noise_std = np.sqrt(np.mean(sound ** 2) / 10 ** (snr_db / 10))
    noisy, noise = _noisy(sound, noise_std)
    psd = Denoise(method=method).assumed_noise_psd(Audio(noisy, SR, noise=noise))

    def run(x):
        return denoise(x, sr=SR, method=method, noise_psd=psd)

    out = run(noisy)
    true_in = metrics.si_snr(noisy, sound)
    estimate = denoised_snr_db(noisy, out, run, noise, true_in)[0]
    assert metrics.si_snr(out, sound) > true_in + 1.0  # the denoiser did something to measure
    assert estimate == pytest.approx(metrics.si_snr(out, sound), abs=1.0)


def test_the_stage_replaces_the_estimate_and_keeps_the_one_before():
    sound = _music()
    noisy, noise = _noisy(sound, 0.3 * np.std(sound))
    before = metrics.si_snr(noisy, sound)
    audio = Audio(noisy, SR, {"snr_estimate_db": before}, noise)
    out = Denoise().transform(audio)
    true = metrics.si_snr(out.samples, sound)
    assert out.info["denoised"]["estimate_before_db"] == before
    assert true > before + 2.0
    # the margin on the noise's level reads it a little low, never high
    assert true - 2.0 < out.info["snr_estimate_db"] <= true + 0.5
    assert Denoise(method="none").transform(audio).info["snr_estimate_db"] == before


def test_two_channels_are_estimated_each():
    sound = np.stack([_music(seed=1), _music(seed=2)])
    noisy = sound + np.stack([0.2, 0.5])[:, None] * np.std(sound) * np.random.default_rng(4).standard_normal(sound.shape)
    noise = NoiseSpectrum.white(np.stack([0.2, 0.5]) ** 2 * np.var(sound), sr=SR)
    before = [metrics.si_snr(noisy[c], sound[c]) for c in range(2)]
    out = Denoise().transform(Audio(noisy, SR, {"snr_estimate_db": before}, noise))
    estimates = out.info["snr_estimate_db"]
    assert isinstance(estimates, list) and len(estimates) == 2
    for c in range(2):
        assert estimates[c] == pytest.approx(metrics.si_snr(out.samples[c], sound[c]), abs=2.0)


def test_what_the_estimate_cannot_tell_it_leaves_as_it_was():
    sound = _music()
    noisy, noise = _noisy(sound, np.std(sound) * 3.0)  # about -9.5 dB: mostly noise
    low = Denoise().transform(Audio(noisy, SR, {"snr_estimate_db": -9.5}, noise))
    assert low.info["snr_estimate_db"] == -9.5 and "denoised" not in low.info
    unknown = Denoise().transform(Audio(noisy, SR, {"snr_estimate_db": float("nan")}, noise))
    assert np.isnan(unknown.info["snr_estimate_db"])
    # a codec's error follows the sound: no denoiser removes it, and the estimate before stands
    coded = Audio(noisy, SR, {"snr_estimate_db": 5.0, "reliability": {"lossy_codec": "..."}}, noise)
    assert Denoise().transform(coded).info["snr_estimate_db"] == 5.0


def test_the_gain_is_bounded(monkeypatch):
    import vismic.denoise._estimate as estimate

    t = np.arange(int(2 * SR)) / SR
    tone = np.sin(2 * np.pi * 440.0 * t)
    noisy, noise = _noisy(tone, 0.3)  # 7.5 dB; the denoiser cleans the tone by about 11 dB, estimated 8.4
    before = metrics.si_snr(noisy, tone)
    audio = Audio(noisy, SR, {"snr_estimate_db": before}, noise)
    assert Denoise().transform(audio).info["snr_estimate_db"] > before + 5.0
    monkeypatch.setattr(estimate, "MAX_GAIN_DB", 5.0)
    assert Denoise().transform(audio).info["snr_estimate_db"] == pytest.approx(before + 5.0)


def test_a_codec_found_later_restores_the_estimate_before():
    info = {"snr_estimate_db": 24.0, "denoised": {"estimate_before_db": 20.5}}
    check_file_codec(info, "VP90")
    assert "lossy_codec" in info["reliability"] and info["snr_estimate_db"] == 20.5
    capped = {"snr_estimate_db": 12.0, "denoised": {"estimate_before_db": 20.5}}
    restore_before_denoising(capped)  # a cap since stays
    assert capped["snr_estimate_db"] == 12.0


def test_recover_sound_reports_the_denoised_outputs_snr():
    fps = 2200.0
    sound = synth.make_displacement(synth.speech(duration_seconds=0.8, sr=fps, seed=5), amplitude_px=0.03)
    scene = synth.render_scene(synth.texture("gravel", size=(64, 64)), sound, direction_degrees=30.0,
                               noise_std=2.0, seed=5, fps=fps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(scene.frames, fps=fps)
    truth = highpass(scene.displacement_px, sr=fps)
    true = metrics.si_snr(rec.samples, truth)
    before = rec.info["denoised"]["estimate_before_db"]
    assert true > before + 2.0  # the estimate before denoising read it low
    assert abs(rec.info["snr_estimate_db"] - true) < 1.5


def test_the_command_line_says_the_estimate_is_the_denoised_outputs(tmp_path, capsys):
    import json

    import tifffile

    from vismic.cli import main

    fps = 2200.0
    sound = synth.make_displacement(synth.speech(duration_seconds=0.5, sr=fps, seed=5), amplitude_px=0.03)
    scene = synth.render_scene(synth.texture("gravel", size=(48, 48)), sound, noise_std=2.0, seed=5, fps=fps)
    tifffile.imwrite(tmp_path / "clip.tif", scene.frames)
    assert main(["recover", str(tmp_path / "clip.tif"), "--fps", "2200", "-o", str(tmp_path / "out.wav")]) == 0
    result = json.loads((tmp_path / "out.json").read_text())["result"]
    before = result["denoised"]["estimate_before_db"]
    assert result["snr_estimate_db"] > before
    assert f"(after denoising; {before:.1f} dB before)" in capsys.readouterr().err
