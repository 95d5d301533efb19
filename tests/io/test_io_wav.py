"""Tests of vismic.io.wav: standard rates, resampling, WAV writing, atomic replacement."""

import os
import warnings

import numpy as np
import pytest
import soundfile

from vismic.errors import FrameShapeError, OutputError, ParameterError, VismicWarning
from vismic.io import STANDARD_RATES, WavInfo, resample, standard_rate, write_wav


def _tone(sr, seconds=1.0, hz=110.0, amplitude=0.3):
    t = np.arange(int(round(sr * seconds))) / sr
    return amplitude * np.sin(2 * np.pi * hz * t)


def _leftovers(folder):
    return [name for name in os.listdir(folder) if "vismic-tmp" in name]


@pytest.mark.parametrize(
    "sr, expected",
    [(600, 8000), (2200, 8000), (8000, 8000), (8001, 11025), (20000, 22050), (44100, 44100),
     (47999.5, 48000), (50000, 96000), (200000, 96000)],
)
def test_standard_rate(sr, expected):
    assert standard_rate(sr) == expected
    assert expected in STANDARD_RATES


@pytest.mark.parametrize("sr", [0, -1, float("nan"), None, "8000"])
def test_standard_rate_rejects_bad_rates(sr):
    with pytest.raises(ParameterError, match="sr="):
        standard_rate(sr)


def test_resample_keeps_frequency_and_channels():
    y = _tone(2200, hz=110.0)
    out = resample(y, sr=2200, target_sr=8000)
    assert out.dtype == np.float64 and out.shape == (8000,)
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 110  # 1 s of signal: bin k is k Hz
    stereo = resample(np.stack([y, -y]), sr=2200, target_sr=8000)
    assert stereo.shape == (2, 8000)
    np.testing.assert_allclose(stereo[1], -stereo[0])
    np.testing.assert_array_equal(resample(y, sr=8000, target_sr=8000), y)


def test_resample_non_integer_ratio():
    out = resample(_tone(2197.8, seconds=2.0), sr=2197.8, target_sr=8000)
    assert abs(out.shape[-1] - 16000) <= 2


def test_write_wav_auto_resamples_to_standard_rate(tmp_path):
    info = write_wav(tmp_path / "a.wav", _tone(2200), sr=2200)
    assert isinstance(info, WavInfo)
    assert info == (tmp_path / "a.wav", 8000, 8000, "PCM_16")
    meta = soundfile.info(str(info.path))
    assert meta.samplerate == 8000 and meta.frames == 8000 and meta.subtype == "PCM_16"
    assert meta.channels == 1


def test_write_wav_target_sr_none_and_int(tmp_path):
    assert write_wav(tmp_path / "b.wav", _tone(2200), sr=2200, target_sr=None).sr == 2200
    assert soundfile.info(str(tmp_path / "b.wav")).samplerate == 2200
    assert write_wav(tmp_path / "c.wav", _tone(2200), sr=2200, target_sr=16000).sr == 16000
    assert write_wav(tmp_path / "d.wav", _tone(44100, 0.1), sr=44100).sr == 44100  # already standard
    with pytest.raises(ParameterError, match="sr=2197.8"):
        write_wav(tmp_path / "e.wav", _tone(2197.8), sr=2197.8, target_sr=None)
    with pytest.raises(ParameterError, match="target_sr=-5"):
        write_wav(tmp_path / "e.wav", _tone(2200), sr=2200, target_sr=-5)
    assert not (tmp_path / "e.wav").exists()


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_write_wav_subtype_and_normalisation(tmp_path, subtype):
    info = write_wav(tmp_path / "n.wav", _tone(8000, amplitude=3.0), sr=8000, subtype=subtype)
    assert info.subtype == subtype
    data, sr = soundfile.read(str(info.path))
    assert sr == 8000 and soundfile.info(str(info.path)).subtype == subtype
    tolerance = {"PCM_16": 1 / 32767, "PCM_24": 1e-6, "FLOAT": 1e-7}[subtype]
    assert abs(np.max(np.abs(data)) - 0.99) <= tolerance


def test_write_wav_without_normalisation(tmp_path):
    y = _tone(8000, amplitude=0.25)
    write_wav(tmp_path / "raw.wav", y, sr=8000, normalize=False, subtype="FLOAT")
    data, _ = soundfile.read(str(tmp_path / "raw.wav"))
    np.testing.assert_allclose(data, y, atol=1e-7)
    with pytest.warns(VismicWarning, match="clipped"):
        write_wav(tmp_path / "loud.wav", y * 8, sr=8000, normalize=False)
    assert np.max(np.abs(soundfile.read(str(tmp_path / "loud.wav"))[0])) <= 1.0


def test_write_wav_channels(tmp_path):
    y = _tone(2200)
    info = write_wav(tmp_path / "st.wav", np.stack([y, 0.5 * y]), sr=2200)
    data, sr = soundfile.read(str(info.path))
    assert data.shape == (8000, 2) and sr == 8000
    with pytest.raises(FrameShapeError, match=r"\(2200, 2\).*samples\.T"):
        write_wav(tmp_path / "bad.wav", np.stack([y, y], axis=1), sr=2200)


def test_silent_or_non_finite_signal_writes_nothing(tmp_path):
    with pytest.raises(ParameterError, match="silent"):
        write_wav(tmp_path / "s.wav", np.zeros(100), sr=8000)
    y = _tone(8000)
    y[17] = np.nan
    with pytest.raises(ParameterError, match=r"NaN.*\(17,\)"):
        write_wav(tmp_path / "s.wav", y, sr=8000)
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.wav"
    write_wav(path, _tone(8000), sr=8000)
    before = path.read_bytes()
    y = _tone(2200)
    y[5] = np.inf
    with pytest.raises(ParameterError):
        write_wav(path, y, sr=2200)
    with pytest.raises(ParameterError):
        write_wav(path, _tone(8000), sr=8000, subtype="PCM_8")
    assert path.read_bytes() == before
    info = write_wav(path, _tone(2200), sr=2200)  # a good write replaces it whole
    assert info.sr == 8000 and path.read_bytes() != before
    assert _leftovers(tmp_path) == []


def test_missing_or_unwritable_destination(tmp_path):
    with pytest.raises(OutputError, match="no_such_folder"):
        write_wav(tmp_path / "no_such_folder" / "x.wav", _tone(8000), sr=8000)
    with pytest.raises(OutputError, match="is a folder|it is a folder"):
        write_wav(tmp_path, _tone(8000), sr=8000)
    if os.path.isdir("/proc/self"):  # a folder nobody, not even root, can create files in
        with pytest.raises(OutputError, match="/proc/self/x.wav"):
            write_wav("/proc/self/x.wav", _tone(8000), sr=8000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_wav(str(tmp_path / "plain.wav"), _tone(8000), sr=8000)


def test_a_rate_far_below_the_target_is_resampled_with_a_small_filter(monkeypatch):
    import scipy.signal

    from vismic.io.wav import MAX_POLYPHASE_FACTOR, MAX_SAMPLES, resample

    factors = []
    real = scipy.signal.resample_poly
    monkeypatch.setattr(scipy.signal, "resample_poly",
                        lambda x, up, down, **kw: factors.append((up, down)) or real(x, up, down, **kw))
    y = np.sin(np.arange(500) / 3.0)
    for sr in (0.37, 29.97, 1.5):  # fractions whose numerator passed the limit (gigabytes of filter at 0.37 Hz)
        out = resample(y, sr=sr, target_sr=8000)
        assert out.shape == (round(500 * 8000 / sr),) and np.all(np.isfinite(out))
    assert all(up <= MAX_POLYPHASE_FACTOR for up, _ in factors)
    with pytest.raises(ParameterError, match="more than"):
        resample(y, sr=500 * 8000 / (MAX_SAMPLES + 10), target_sr=8000)
    # few samples at a rate far below: few output samples, but a filter of gigabytes (was a MemoryError)
    with pytest.raises(ParameterError, match="times below"):
        resample(np.ones(1), sr=8000 / (MAX_SAMPLES - 5), target_sr=8000)
    with pytest.raises(ParameterError, match="times below"):
        write_wav(os.devnull, np.ones(3), sr=0.1)
    # a subnormal rate made the float ratio infinite (OverflowError, found by the fuzzer)
    with pytest.raises(ParameterError, match="times below"):
        write_wav(os.devnull, np.sin(np.arange(500) / 3.0), sr=2.225073858507203e-309)


@pytest.mark.parametrize("name", ["x.flac", "x.MP3", "x.ogg"])
def test_other_audio_formats_names_are_refused_not_filled_with_wav_data(tmp_path, name):
    with pytest.raises(ParameterError, match="written as WAV: name it .wav"):
        write_wav(tmp_path / name, _tone(8000), sr=8000)
    assert not (tmp_path / name).exists()
