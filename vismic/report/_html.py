"""One self-contained HTML page per recovery: pictures, the sound, the numbers, the parameters."""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..io._atomic import check_destination, check_not_input, temporary_file
from . import _common

__all__ = ["write_report", "PLAYER_MAX_SECONDS", "PLAYER_MAX_SR"]

#: Longest stretch of sound embedded in the page's audio player (the page stays a few MB at most).
PLAYER_MAX_SECONDS = 60.0

#: Highest sample rate of the embedded player's WAV (Hz).
PLAYER_MAX_SR = 16000

#: Most spectrogram columns and waveform points drawn (long recordings are summarised).
MAX_COLUMNS = 2000

#: Channels drawn (spectrogram and waveform each).
MAX_CHANNELS_DRAWN = 4

_CSP = "default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: left; vertical-align: top; }
tr:nth-child(even) { background: #f4f4f4; } th { background: #e8e8e8; }
code, td.value { font-family: ui-monospace, monospace; font-size: 0.9em; }
img { max-width: 100%; height: auto; } .note { color: #666; font-style: italic; }
"""


@_common.writer_doc
def write_report(path, rec, *, wav_path=None, params=None, title=None, warnings=()) -> Path:
    """Write one self-contained HTML page about a recovery, atomically.

    The page needs no other file and no network: its pictures are PNG and its
    sound a 16-bit WAV, both embedded as ``data:`` URIs, and its
    Content-Security-Policy forbids loading anything else.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (``.html``); its folder must exist.
    rec : vismic.recover.Recovery or vismic.data.Audio
        The recovery. Parts it lacks (sound map, reference frame, SNR
        estimate, direction) are left out of the page.
    wav_path : str or os.PathLike, optional
        The WAV written from it, named on the page (the player plays its own
        embedded copy).
    params : Pipeline or dict, optional
        Shown as the parameter table (a pipeline's every step and parameter).
    title : str, optional
        Page title; defaults to the input's file name.
    warnings : sequence of str or warnings.WarningMessage
        Shown in a list.

    %(writer_returns)s; checked before anything is drawn.
    ImportError
        matplotlib is missing (``pip install 'vismic[plot]'``).

    Notes
    -----
    The player holds at most :data:`PLAYER_MAX_SECONDS` of sound, resampled
    (as :func:`vismic.io.write_wav` does) to the smallest standard rate at or
    above the capture rate, at most :data:`PLAYER_MAX_SR` Hz; the page says
    when it is shorter or band-limited. Pictures are drawn with matplotlib's
    Agg canvas directly, without touching ``matplotlib.pyplot`` or its global
    backend.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from vismic.data import Audio
    >>> rec = Audio(np.sin(2 * np.pi * 440 * np.arange(2200) / 2200), 2200.0)
    >>> page = write_report(os.path.join(tempfile.mkdtemp(), "report.html"), rec, title="A tone")
    >>> text = page.read_text(encoding="utf-8")
    >>> "<audio controls" in text and "data:audio/wav;base64," in text
    True
    """
    path = check_destination(path, what="report")
    info = _common.info_of(rec)
    check_not_input(path, [info.get("source_path")], what="report")
    check_not_input(path, [wav_path], what="report", kind="the WAV file it plays")  # was called "the input"
    samples = _common.samples_of(rec)
    sr = _common.sr_of(rec)
    _matplotlib()
    with temporary_file(path, what="report") as temporary:
        page = _page(rec, samples, sr, wav_path=wav_path, params=params, title=title, warnings=warnings)
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(page)
    return path


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "vismic's HTML report needs matplotlib: pip install matplotlib (or pip install 'vismic[plot]')"
        ) from None
    return Figure, FigureCanvasAgg


def _page(rec, samples, sr, *, wav_path, params, title, warnings) -> str:
    from ._sidecar import warning_texts as texts_of

    info = _common.info_of(rec)
    source = info.get("source_path")
    if title is None:
        title = f"vismic: {Path(source).name}" if source else "vismic recovery"
    title = str(title)
    reference = _common.array_or_none(_common.field_of(rec, "reference_frame"), 2)
    sound_map = _common.array_or_none(_common.field_of(rec, "sound_map"), 2)
    channels = samples[None] if samples.ndim == 1 else samples

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_escape(title)}</h1>",
        "<h2>Summary</h2>",
        _table(_summary_rows(rec, samples, sr, wav_path), header=None),
        "<h2>Sound</h2>",
        _player(channels, sr),
    ]
    parts.append("<h2>Where the sound is</h2>")
    if sound_map is not None or reference is not None:
        alt = "sound map over the reference frame" if sound_map is not None and reference is not None else (
            "sound map" if sound_map is not None else "reference frame")
        parts.append(_image(_draw_map(reference, sound_map), alt=alt))
        if sound_map is None:
            parts.append('<p class="note">This recovery has no sound map.</p>')
    else:
        parts.append('<p class="note">This recovery has neither a reference frame nor a sound map.</p>')
    parts.append("<h2>Spectrogram</h2>")
    if samples.shape[-1] >= 8 and np.isfinite(samples).all():
        parts.append(_image(_draw_spectrogram(channels, sr), alt="spectrogram of the recovered sound"))
    else:
        parts.append('<p class="note">Too few or non-finite samples for a spectrogram.</p>')
    parts.append("<h2>Waveform</h2>")
    parts.append(_image(_draw_waveform(channels, sr), alt="recovered motion against time"))
    if len(channels) > MAX_CHANNELS_DRAWN:
        parts.append(f'<p class="note">The first {MAX_CHANNELS_DRAWN} of {len(channels)} channels are drawn.</p>')
    warning_texts = texts_of(warnings)
    if warning_texts:
        parts.append("<h2>Warnings</h2><ul>")
        parts.extend(f"<li>{_escape(text)}</li>" for text in warning_texts)
        parts.append("</ul>")
    parts.append("<h2>Parameters</h2>")
    rows = _common.parameter_rows(params)
    if rows:
        parts.append(_table(rows, header=("step", "parameter", "value")))
    else:
        parts.append('<p class="note">No parameters were given to the report.</p>')
    parts.append(
        f'<p class="note">Made by vismic {_escape(_common.version())} on {_escape(_common.utc_now())}.</p>'
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _escape(value) -> str:
    return html.escape(str(value), quote=True)


def _table(rows, *, header) -> str:
    lines = ["<table>"]
    if header:
        lines.append("<tr>" + "".join(f"<th>{_escape(cell)}</th>" for cell in header) + "</tr>")
    for row in rows:
        cells = [f"<td>{_escape(cell)}</td>" for cell in row[:-1]] + [f'<td class="value">{_escape(row[-1])}</td>']
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _summary_rows(rec, samples, sr, wav_path) -> list:
    info = _common.info_of(rec)
    rows = []
    if info.get("source_path"):
        rows.append(("input", info["source_path"]))
    if info.get("codec"):
        rows.append(("codec (FourCC)", str(info["codec"])))
    if wav_path is not None:
        rows.append(("WAV file", os.fspath(wav_path)))
    n_frames = info.get("n_frames")
    if n_frames is not None:
        rows.append(("frames", f"{n_frames}"))
    fps = _common.finite_or_none(info.get("fps"))
    rows.append(("capture rate", f"{fps if fps is not None else sr:g} frames/s"))
    if fps is not None and fps != sr:  # rolling shutter: the rows are the samples, at the line rate
        rows.append(("sample rate", f"{sr:g} Hz"))
    rows.append(("duration", f"{samples.shape[-1] / sr:.3f} s ({samples.shape[-1]} samples)"))
    if samples.ndim == 2:
        rows.append(("channels", f"{samples.shape[0]}"))
    snr = _common.finite_or_none(_common.field_of(rec, "snr_estimate_db"))
    if snr is not None:
        from .._reliability import estimate_note

        rows.append(("SNR estimate (from the video alone)", f"{snr:.1f} dB{estimate_note(info)}"))
    else:
        rows += _channel_rows(_common.field_of(rec, "snr_estimate_db"), "SNR estimate (from the video alone)", "{:.1f} dB")
    noise = _common.finite_or_none(_common.field_of(rec, "noise_std_px"))
    if noise is not None:
        rows.append(("noise (std)", f"{noise:.3g} px"))
    direction = _common.finite_or_none(_common.field_of(rec, "direction_degrees"))
    if direction is not None:
        rows.append(("direction of motion", f"{direction:.1f} degrees (x right, y down)"))
    else:
        rows += _channel_rows(_common.field_of(rec, "direction_degrees"), "direction of motion",
                              "{:.1f} degrees (x right, y down)")
    peak = np.max(np.abs(samples)) if np.isfinite(samples).all() else None
    if peak is not None:
        rows.append(("peak motion", f"{peak:.3g} px"))
    if info.get("method") is not None:
        grid = info.get("grid")
        grid_text = f", grid {grid[0]}x{grid[1]}" if isinstance(grid, (tuple, list)) and len(grid) == 2 else ""
        rows.append(("combination", f"{info['method']}{grid_text}"))
    return rows


def _channel_rows(values, label: str, form: str) -> list:
    """One row a channel where a recovery of several sources gives one value each (none otherwise)."""
    if not isinstance(values, (list, tuple, np.ndarray)) or np.ndim(values) != 1 or len(values) < 2:
        return []
    rows = []
    for index, value in enumerate(values):
        value = _common.finite_or_none(value)
        rows.append((f"{label}, channel {index + 1}", form.format(value) if value is not None else "nothing found"))
    return rows


def _player_rate(sr: float) -> int:
    from ..io import STANDARD_RATES, standard_rate

    if sr in STANDARD_RATES and sr <= PLAYER_MAX_SR:
        return int(sr)
    return min(standard_rate(sr), PLAYER_MAX_SR)


def _player(channels, sr) -> str:
    """An ``<audio>`` element holding a PCM 16-bit WAV of (the start of) the sound."""
    from ..io import write_wav

    n_kept = min(channels.shape[-1], int(PLAYER_MAX_SECONDS * sr))
    kept = channels[:, :n_kept]
    kept = kept[0] if len(kept) == 1 else kept
    rate = _player_rate(sr)
    with tempfile.TemporaryDirectory(prefix="vismic-report-") as folder:
        wav = Path(folder) / "player.wav"
        try:
            try:
                written = write_wav(wav, kept, sr=sr, target_sr=rate, subtype="PCM_16")
            except ParameterError:
                if np.isfinite(kept).all() and not np.any(kept):  # silence cannot be normalised; play it as it is
                    written = write_wav(wav, kept, sr=sr, target_sr=rate, subtype="PCM_16", normalize=False)
                else:
                    raise
        except ParameterError as error:
            return f'<p class="note">No audio player: {_escape(error)}</p>'
        data = base64.b64encode(wav.read_bytes()).decode("ascii")
    notes = [f"{written.n_samples / written.sr:.3f} s at {written.sr} Hz, 16-bit PCM, normalised to full scale"]
    if n_kept < channels.shape[-1]:
        notes.append(f"the first {n_kept / sr:g} s of {channels.shape[-1] / sr:.1f} s")
    if rate < sr:
        notes.append(f"band-limited to {rate / 2:g} Hz (the recovery holds up to {sr / 2:g} Hz)")
    return (
        f'<audio controls preload="auto" src="data:audio/wav;base64,{data}"></audio>\n'
        f'<p class="note">{_escape("; ".join(notes))}.</p>'
    )


def _image(png: bytes, *, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{_escape(alt)}" src="data:image/png;base64,{data}"></p>'


def _render(draw, figsize) -> bytes:
    Figure, FigureCanvasAgg = _matplotlib()
    figure = Figure(figsize=figsize, dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    draw(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _draw_map(reference, sound_map) -> bytes:
    def draw(figure):
        ax = figure.add_subplot()
        if reference is not None:
            ax.imshow(reference, cmap="gray", interpolation="nearest")
        if sound_map is not None:
            extent = None
            if reference is not None:
                height, width = reference.shape
                extent = (-0.5, width - 0.5, height - 0.5, -0.5)
            image = ax.imshow(sound_map, cmap="inferno", vmin=0, vmax=1, interpolation="nearest",
                              alpha=0.5 if reference is not None else 1.0, extent=extent)
            figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="coherence with the output")
            ax.set_title("where the sound is")
        else:
            ax.set_title("reference frame")
        ax.set_xticks([])
        ax.set_yticks([])

    return _render(draw, (5.5, 4.5))


def _spectrogram(signal, sr):
    import scipy.signal

    n = signal.shape[-1]
    nperseg = int(min(n, 2 ** int(np.round(np.log2(max(sr * 0.03, 32))))))
    hop = max(nperseg // 4, int(np.ceil(n / MAX_COLUMNS)))
    freqs, times, power = scipy.signal.spectrogram(signal, fs=sr, nperseg=nperseg,
                                                   noverlap=max(nperseg - hop, 0))
    # Each column is drawn over the stretch of time around its segment's centre.
    half_hop = (hop if len(times) > 1 else nperseg) / (2 * sr)
    extent = (max(times[0] - half_hop, 0.0), times[-1] + half_hop, 0.0, sr / 2)
    return extent, 10 * np.log10(power + 1e-30)


def _draw_spectrogram(channels, sr, max_db_range: float = 60.0) -> bytes:
    shown = channels[:MAX_CHANNELS_DRAWN]
    duration = channels.shape[-1] / sr

    def draw(figure):
        axes = figure.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
        for index, (ax, signal) in enumerate(zip(axes, shown)):
            extent, db = _spectrogram(signal, sr)
            top = db.max()
            image = ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=top - max_db_range, vmax=top,
                              extent=extent, interpolation="nearest")
            ax.set_xlim(0, duration)
            ax.set_ylabel("frequency (Hz)")
            if len(shown) > 1:
                ax.set_title(f"channel {index}")
            figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="dB")
        axes[-1].set_xlabel("time (s)")

    return _render(draw, (8, 2.2 + 1.6 * len(shown)))


def _draw_waveform(channels, sr) -> bytes:
    shown = channels[:MAX_CHANNELS_DRAWN]
    n = channels.shape[-1]

    def draw(figure):
        ax = figure.add_subplot()
        for index, signal in enumerate(shown):
            label = f"channel {index}" if len(shown) > 1 else None
            if n > 2 * MAX_COLUMNS:
                # One vertical span per column keeps every peak visible without drawing millions of points.
                edges = np.linspace(0, n, MAX_COLUMNS + 1).astype(int)
                low = np.minimum.reduceat(signal, edges[:-1])
                high = np.maximum.reduceat(signal, edges[:-1])
                ax.fill_between(edges[:-1] / sr, low, high, linewidth=0, label=label, step="post")
            else:
                ax.plot(np.arange(n) / sr, signal, linewidth=0.8, label=label)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("motion (px)")
        ax.set_xlim(0, n / sr)
        if len(shown) > 1:
            ax.legend(loc="upper right")

    return _render(draw, (8, 2.8))
