"""Plots: where the sound is, and what it sounds like (needs matplotlib: ``pip install 'vismic[plot]'``).

>>> import vismic, vismic.plot                                  # doctest: +SKIP
>>> rec = vismic.recover_sound("bag.avi", fps=2200)              # doctest: +SKIP
>>> vismic.plot.plot_recovery(rec).savefig("bag.png")            # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_recovery", "plot_sound_map", "plot_spectrogram"]


def _figure(figsize, **options):
    """A new figure of its own: never pyplot, so the user's backend and figure list are left alone."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("vismic.plot needs matplotlib: pip install matplotlib (or pip install 'vismic[plot]')") from None
    return Figure(figsize=figsize, **options)


def plot_sound_map(sound_map, *, frame=None, ax=None, alpha: float = 0.5):
    """Show how strongly each region carries the sound, over the video's first frame.

    Parameters
    ----------
    sound_map : np.ndarray [shape=(rows, cols)]
        Coherence per region in [0, 1] (``rec.info['sound_map']``).
    frame : np.ndarray [shape=(height, width)], optional
        Background image (``rec.info['reference_frame']``).
    ax : matplotlib Axes, optional
    """
    from .errors import FrameShapeError

    try:
        sound_map = np.asarray(sound_map, dtype=float)
    except (TypeError, ValueError):
        raise FrameShapeError(f"sound_map must be an array of numbers (rows, cols), given {type(sound_map).__name__}") \
            from None
    if sound_map.ndim != 2 or 0 in sound_map.shape:
        raise FrameShapeError(f"sound_map must have shape (rows, cols), given shape {sound_map.shape}")
    if frame is not None:
        frame = np.asarray(frame)
        if frame.ndim not in (2, 3) or 0 in frame.shape[:2]:
            raise FrameShapeError(f"frame must be an image (height, width), given shape {frame.shape}")
    if ax is None:
        ax = _figure((5, 4)).subplots()
    if frame is not None:
        height, width = frame.shape[:2]
        ax.imshow(frame, cmap="gray")
        extent = (-0.5, width - 0.5, height - 0.5, -0.5)
        image = ax.imshow(sound_map, cmap="inferno", vmin=0, vmax=1, alpha=alpha, extent=extent, interpolation="nearest")
    else:
        image = ax.imshow(sound_map, cmap="inferno", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title("where the sound is (coherence with the output)")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_spectrogram(audio, *, sr: float, ax=None, max_db_range: float = 60.0):
    """Spectrogram of a recovered signal.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,)]
    sr : float
    ax : matplotlib Axes, optional
    """
    from scipy import signal

    from ._checks import check_rate
    from .data import Audio
    from .errors import ParameterError

    if isinstance(audio, Audio):
        raise ParameterError("plot_spectrogram takes the samples (audio.samples, with sr=audio.sr); "
                             "plot_recovery(audio) draws an Audio whole")
    sr = check_rate(sr, "sr")
    audio = np.asarray(audio, dtype=float)
    if audio.ndim != 1 or audio.size < 2 or not np.all(np.isfinite(audio)):
        raise ParameterError(f"plot_spectrogram takes one channel of finite samples (n,), given shape={audio.shape}")
    if ax is None:
        ax = _figure((6, 4)).subplots()
    nperseg = int(min(len(audio), 2 ** int(np.round(np.log2(max(sr * 0.03, 32))))))
    freqs, times, power = signal.spectrogram(audio, fs=sr, nperseg=nperseg, noverlap=nperseg * 3 // 4)
    db = 10 * np.log10(power + 1e-30)
    mesh = ax.pcolormesh(times, freqs, db, shading="auto", vmin=db.max() - max_db_range, vmax=db.max(), cmap="magma")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title("recovered sound")
    ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04, label="dB")
    return ax


def plot_recovery(recovery, *, channel: int = 0):
    """Sound map next to the spectrogram of a recovery (:class:`~vismic.data.Audio`).

    Returns
    -------
    matplotlib.figure.Figure
        A figure of its own, not registered with pyplot (the matplotlib backend
        is left as it is): ``figure.savefig(path)`` writes it, a notebook shows it.
    """
    if not (hasattr(recovery, "samples") and hasattr(recovery, "info")):
        from .errors import ParameterError

        raise ParameterError(f"recovery must be what recover_sound returns (vismic.data.Audio), given "
                             f"{type(recovery).__name__}")
    figure = _figure((11, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    samples = recovery.samples
    n_channels = 1 if samples.ndim == 1 else samples.shape[0]
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < n_channels:
        from .errors import ParameterError

        raise ParameterError(f"channel must be one of the recovery's {n_channels} channel(s) (0 to {n_channels - 1}), "
                             f"given channel={channel!r}")
    audio = samples if samples.ndim == 1 else samples[channel]
    info = recovery.info
    if info.get("sound_map") is not None:
        plot_sound_map(info["sound_map"], frame=info.get("reference_frame"), ax=left)
    elif info.get("source_of_region") is not None:
        left.imshow(info["source_of_region"], cmap="tab10", interpolation="nearest")
        left.set_title("source of each region")
    else:
        left.set_axis_off()
    plot_spectrogram(audio, sr=recovery.sr, ax=right)
    snr = info.get("snr_estimate_db")
    if isinstance(snr, (int, float)):
        right.set_title(f"recovered sound (estimated SNR {snr:.1f} dB)")
    return figure
