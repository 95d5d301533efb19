import base64
import html.parser
import io
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from vismic.data import Audio
from vismic.errors import OutputError
from vismic.report import write_report

pytest.importorskip("matplotlib", reason="the HTML report draws with matplotlib (pip install 'vismic[plot]')")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Page(html.parser.HTMLParser):
    """Every element with its attributes, and the page's visible text."""

    def __init__(self, text):
        super().__init__()
        self.elements, self.text = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag):
        return [attrs for name, attrs in self.elements if name == tag]

    @property
    def visible(self):
        return " ".join(self.text)


def _data(uri, kind):
    prefix = f"data:{kind};base64,"
    assert uri.startswith(prefix)
    return base64.b64decode(uri[len(prefix):])


def _player_wav(page):
    (audio,) = page.all("audio")
    return soundfile.info(io.BytesIO(_data(audio["src"], "audio/wav")))


def test_full_report_is_self_contained(tmp_path, recovery, leftovers):
    rec, pipeline = recovery
    wav = rec.to_wav(tmp_path / "out.wav")
    out = write_report(tmp_path / "report.html", rec, wav_path=wav.path, params=pipeline,
                       title="Brick <script>alert(1)</script> & co", warnings=["odd <rate>"])
    text = out.read_text(encoding="utf-8")
    page = _Page(text)
    for tag, attrs in page.elements:  # nothing is fetched from anywhere else
        for name in ("src", "href"):
            assert name not in attrs or attrs[name].startswith("data:"), (tag, attrs)
    images = page.all("img")
    assert len(images) == 3  # sound map over the frame, spectrogram, waveform
    for image in images:
        assert _data(image["src"], "image/png").startswith(PNG_SIGNATURE)
        assert image["alt"]
    player = _player_wav(page)
    written = soundfile.info(str(wav.path))
    assert player.samplerate == written.samplerate == 8000
    assert player.subtype == "PCM_16"
    assert abs(player.duration - written.duration) <= 1 / 8000
    assert "<script>" not in text and "&lt;script&gt;" in text
    visible = page.visible
    for expected in ("SNR estimate", f"{rec.info['snr_estimate_db']:.1f} dB", "direction of motion", "220", "2200 frames/s", "n_reference_frames",
                     "near_sym_a", "odd <rate>", str(wav.path)):
        assert expected in visible, expected
    assert leftovers(tmp_path) == []


def test_bare_audio_omits_map(tmp_path, bare_audio):
    page = _Page(write_report(tmp_path / "report.html", bare_audio).read_text(encoding="utf-8"))
    assert [image["alt"] for image in page.all("img")] == [
        "spectrogram of the recovered sound", "recovered motion against time"]
    assert "neither a reference frame nor a sound map" in page.visible
    assert "No parameters" in page.visible
    assert _player_wav(page).duration == pytest.approx(0.5, abs=1 / 8000)


def test_a_flagged_codec_is_named_beside_the_estimate(tmp_path):
    info = {"codec": "h264", "snr_estimate_db": 12.0,
            "reliability": {"lossy_codec": "the video is compressed with H.264 (h264), an inter-frame codec"}}
    audio = Audio(np.sin(np.arange(4000) * 0.3), sr=8000.0, info=info)
    page = _Page(write_report(tmp_path / "report.html", audio).read_text(encoding="utf-8"))
    assert "h264" in page.visible and "12.0 dB (the codec's error not counted)" in page.visible


def test_several_sources_give_a_row_a_channel(tmp_path):
    info = {"snr_estimate_db": [21.5, -np.inf], "direction_degrees": [30.0, float("nan")]}
    audio = Audio(np.vstack([np.sin(np.arange(4000) * 0.3), np.zeros(4000)]), sr=8000.0, info=info)
    page = _Page(write_report(tmp_path / "report.html", audio).read_text(encoding="utf-8"))
    assert "channel 1" in page.visible and "21.5 dB" in page.visible and "30.0 degrees" in page.visible
    assert "nothing found" in page.visible


def test_long_and_fast_recordings_are_cut_for_the_player(tmp_path):
    sr = 20000.0  # above the player's 16 kHz
    n = int(61 * sr)
    rec = Audio(np.sin(2 * np.pi * 1000.0 * np.arange(n) / sr), sr)
    page = _Page(write_report(tmp_path / "report.html", rec).read_text(encoding="utf-8"))
    player = _player_wav(page)
    assert player.samplerate == 16000
    assert player.duration == pytest.approx(60.0, abs=1 / 16000)
    assert "first 60 s of 61.0 s" in page.visible and "band-limited to 8000 Hz (the recovery holds up to 10000 Hz)" in page.visible


def test_silence_and_non_finite(tmp_path):
    silent = _Page(write_report(tmp_path / "silent.html", Audio(np.zeros(440), 2200.0)).read_text(encoding="utf-8"))
    assert _player_wav(silent).duration == pytest.approx(0.2, abs=1 / 8000)
    samples = np.sin(np.arange(440.0))
    samples[10] = np.nan
    broken = _Page(write_report(tmp_path / "nan.html", Audio(samples, 2200.0)).read_text(encoding="utf-8"))
    assert broken.all("audio") == []
    assert "No audio player" in broken.visible and "non-finite" in broken.visible


def test_unwritable_path_fails_before_drawing(tmp_path, recovery, monkeypatch):
    rec, _ = recovery
    import vismic.report._html as module

    def must_not_draw(*args, **kwargs):
        raise AssertionError("drew before checking the destination")

    monkeypatch.setattr(module, "_render", must_not_draw)
    with pytest.raises(OutputError, match="does not exist"):
        write_report(tmp_path / "missing" / "report.html", rec)
    with pytest.raises(OutputError, match="folder"):
        write_report(tmp_path, rec)
    wav = rec.to_wav(tmp_path / "out.wav")
    with pytest.raises(OutputError, match="overwrite the WAV file it plays"):
        write_report(wav.path, rec, wav_path=wav.path)
    assert soundfile.info(str(wav.path)).frames == 800


def test_failure_keeps_the_old_page(tmp_path, bare_audio, monkeypatch, leftovers):
    import vismic.report._html as module

    out = tmp_path / "report.html"
    out.write_text("old page", encoding="utf-8")
    monkeypatch.setattr(module, "_draw_waveform", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(out, bare_audio)
    assert out.read_text(encoding="utf-8") == "old page"
    assert leftovers(tmp_path) == []


def test_pyplot_is_never_imported(tmp_path):
    script = (
        "import sys, numpy as np\n"
        "from vismic.data import Audio\n"
        "from vismic.report import write_report\n"
        f"write_report({str(tmp_path / 'r.html')!r}, Audio(np.sin(np.arange(2200.0)), 2200.0))\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
