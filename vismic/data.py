"""Small self-checking containers that travel between stages.

Frames are streamed as :class:`FrameBatch` objects; the DTCWT turns them into
:class:`PyramidBatch`, the local-phase stage into :class:`PhaseBatch`, and the
per-band reduction into :class:`BandSignals`, which is small enough to be
concatenated over the whole video. After that, stages work on whole signals
(:class:`BandSignals`, then :class:`Audio`).

Time is always the last axis; ``start`` is the index of the first frame of a
batch in the whole video.

What a later stage needs rides along as a typed field, never as an ``info`` key:
:class:`BandSignals` carries its region ``grid``; :class:`Audio` carries the
spectrum of the noise it holds (:class:`NoiseSpectrum`), which every linear
filter updates by ``|H(f)|^2`` through :meth:`Audio.filtered`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Union

import numpy as np

from ._checks import check_finite_frames, check_int, check_rate
from .errors import FrameShapeError, ParameterError

__all__ = [
    "FrameBatch", "Reference", "PyramidBatch", "PhaseBatch", "BandSignals", "NoiseSpectrum", "Audio", "MIN_FRAMES",
]

#: Fewest frames vismic recovers sound from (a few periods of a 100 Hz tone at 1 kHz);
#: the one limit of the whole package.
MIN_FRAMES = 32


def _brief(value) -> str:
    """A field's value as a repr shows it: arrays by dtype and shape, not by their numbers."""
    if isinstance(value, np.ndarray):
        return f"<{value.dtype} array {value.shape}>" if value.size > 4 else repr(value.tolist())
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, np.ndarray) for v in value):
        shapes = ", ".join(str(v.shape) for v in value)
        return f"<{len(value)} {value[0].dtype} arrays: {shapes}>"
    if isinstance(value, dict):
        return f"<dict of {len(value)}>"
    if isinstance(value, float):
        return repr(float(f"{value:.6g}"))
    return repr(value)


def brief_repr(obj) -> str:
    """``Class(field=..., ...)`` for a dataclass holding arrays, each array shown by dtype and shape.

    Examples
    --------
    >>> FrameBatch(np.zeros((16, 32, 32), np.float32), start=64, fps=2200.0)
    FrameBatch(frames=<float32 array (16, 32, 32)>, start=64, fps=2200.0)
    """
    from dataclasses import fields

    shown = ", ".join(f"{f.name}={_brief(getattr(obj, f.name))}" for f in fields(obj) if f.repr)
    return f"{type(obj).__name__}({shown})"


@dataclass
class FrameBatch:
    """Consecutive grayscale frames.

    Attributes
    ----------
    frames : np.ndarray [shape=(n, height, width)], floating
        Grey levels in the video's own units (0-255 for 8-bit video).
    start : int
        Index of ``frames[0]`` in the whole video.
    fps : float
        Capture rate in frames per second.
    """

    __repr__ = brief_repr

    frames: np.ndarray
    start: int
    fps: float

    def __post_init__(self):
        self.frames = np.asarray(self.frames)
        if self.frames.ndim != 3:
            raise FrameShapeError(
                f"frames must have shape (n, height, width), given shape={self.frames.shape}"
            )
        if np.iscomplexobj(self.frames) or not (np.issubdtype(self.frames.dtype, np.number)
                                                 or self.frames.dtype == np.bool_):
            raise ParameterError(f"frames must hold real grey levels, given dtype={self.frames.dtype}")
        if not np.issubdtype(self.frames.dtype, np.floating):
            self.frames = self.frames.astype(np.float32)
        self.start = check_int(self.start, "start", minimum=0)
        check_finite_frames(self.frames, start=self.start)
        self.fps = check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.frames.shape[0]

    @property
    def shape(self) -> tuple:
        """Frame size ``(height, width)``."""
        return self.frames.shape[1:]

    @classmethod
    def _of_finite(cls, frames: np.ndarray, start: int, fps: float) -> "FrameBatch":
        """A batch of float frames known to be finite (converted from integers), without a pass to check them."""
        batch = cls.__new__(cls)
        batch.frames, batch.start, batch.fps = frames, int(start), float(fps)
        return batch

    @classmethod
    def concat(cls, batches: Sequence["FrameBatch"]) -> "FrameBatch":
        batches = list(batches)
        if not batches:
            raise ParameterError("FrameBatch.concat needs at least one batch, given none")
        shapes = {b.frames.shape[1:] for b in batches}
        if len(shapes) > 1:
            raise FrameShapeError(f"batches to join must have one frame size, given {sorted(shapes)}")
        return cls(np.concatenate([b.frames for b in batches]), batches[0].start, batches[0].fps)


@dataclass
class Reference:
    """DTCWT of the reference frame and of its spatial derivatives.

    Attributes
    ----------
    highpasses : tuple of np.ndarray [shape=(height_l, width_l, n_orientations)], complex
    gradient_x, gradient_y : tuple of np.ndarray, same shapes, optional
        DTCWT of the reference frame's derivative along x (columns) and y (rows),
        per pixel. The transform is linear, so these are the exact derivatives of
        the coefficients with respect to a shift of the image.
    """

    __repr__ = brief_repr

    highpasses: tuple
    gradient_x: Optional[tuple] = None
    gradient_y: Optional[tuple] = None

    def __post_init__(self):
        self.highpasses = tuple(np.asarray(h) for h in self.highpasses)
        for name in ("gradient_x", "gradient_y"):
            value = getattr(self, name)
            if value is None:
                continue
            value = tuple(np.asarray(g) for g in value)
            if [g.shape for g in value] != [h.shape for h in self.highpasses]:
                raise FrameShapeError(f"{name} shapes do not match the reference highpasses")
            setattr(self, name, value)


@dataclass
class PyramidBatch:
    """DTCWT sub-bands of consecutive frames.

    Attributes
    ----------
    highpasses : tuple of np.ndarray, complex
        One array per level, finest first, each of shape
        ``(n, height_l, width_l, n_orientations)``.
    lowpass : np.ndarray [shape=(n, height_L, width_L)]
        Residual lowpass image of each frame.
    start, fps
        As in :class:`FrameBatch`.
    reference : Reference, optional
        The reference frame's pyramid (and derivatives) when the decomposition
        stage chose one; otherwise the local-phase stage uses the first frame.
    """

    __repr__ = brief_repr

    highpasses: tuple
    lowpass: np.ndarray
    start: int
    fps: float
    reference: Optional[Reference] = None

    def __post_init__(self):
        self.highpasses = tuple(np.asarray(h) for h in self.highpasses)
        if not self.highpasses:
            raise ParameterError("a pyramid needs at least one level")
        n = self.highpasses[0].shape[0]
        for level, h in enumerate(self.highpasses):
            if h.ndim != 4 or h.shape[0] != n:
                raise FrameShapeError(
                    f"highpasses[{level}] must have shape (n={n}, height, width, orientations), "
                    f"given shape={h.shape}"
                )
        self.start = check_int(self.start, "start", minimum=0)
        self.fps = check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.highpasses[0].shape[0]

    @property
    def n_levels(self) -> int:
        return len(self.highpasses)

    @property
    def n_orientations(self) -> int:
        return self.highpasses[0].shape[-1]


@dataclass
class PhaseBatch:
    """Local phase and log-amplitude of each coefficient relative to a reference frame.

    A shift ``d`` (px, 2-vector x, y) of the image changes a coefficient's phase by
    ``-frequency . d`` and its log-amplitude by ``-amplitude_gradient . d``.

    Attributes
    ----------
    phase : tuple of np.ndarray [shape=(n, height_l, width_l, n_orientations)], float32
        Phase difference in radians, wrapped to (-pi, pi], one array per level.
    log_amplitude : tuple of np.ndarray [shape=(n, height_l, width_l, n_orientations)], float32
        ``log(|c| / |c_reference|)``.
    amplitude : tuple of np.ndarray [shape=(height_l, width_l, n_orientations)]
        Amplitude of the reference frame's coefficients.
    frequency : tuple of np.ndarray [shape=(height_l, width_l, n_orientations, 2)], optional
        Local spatial frequency (rad/px, x then y) of each reference coefficient.
    amplitude_gradient : tuple of np.ndarray [shape=(height_l, width_l, n_orientations, 2)], optional
        Gradient of the log-amplitude (1/px, x then y).
    start, fps
        As in :class:`FrameBatch`.
    """

    __repr__ = brief_repr

    phase: tuple
    log_amplitude: tuple
    amplitude: tuple
    start: int
    fps: float
    frequency: Optional[tuple] = None
    amplitude_gradient: Optional[tuple] = None

    def __post_init__(self):
        self.phase = tuple(np.asarray(p) for p in self.phase)
        self.log_amplitude = tuple(np.asarray(p) for p in self.log_amplitude)
        self.amplitude = tuple(np.asarray(a) for a in self.amplitude)
        if not len(self.phase) == len(self.amplitude) == len(self.log_amplitude):
            raise FrameShapeError(
                f"phase, log_amplitude and amplitude have {len(self.phase)}, "
                f"{len(self.log_amplitude)} and {len(self.amplitude)} levels"
            )
        for level, (p, la, a) in enumerate(zip(self.phase, self.log_amplitude, self.amplitude)):
            if p.shape[1:] != a.shape or la.shape != p.shape:
                raise FrameShapeError(
                    f"level {level}: phase {p.shape}, log_amplitude {la.shape} and amplitude {a.shape} disagree"
                )
        self.start = check_int(self.start, "start", minimum=0)
        self.fps = check_rate(self.fps, "fps")

    def __len__(self) -> int:
        return self.phase[0].shape[0]


@dataclass
class BandSignals:
    """Motion evidence per band and region, small enough to hold for the whole video.

    For band ``b`` (level, orientation, region) the least-squares displacement
    estimate of frame ``t`` in px is ``solve(information[b], scores[b, :, t])``;
    pooling bands means adding their scores and informations.

    Attributes
    ----------
    scores : np.ndarray [shape=(n_levels, n_orientations, n_regions, 2, n)]
        Amplitude^2-weighted sums of ``frequency * phase`` (x, y components).
    information : np.ndarray [shape=(n_levels, n_orientations, n_regions, 2, 2)]
        Amplitude^2-weighted sums of ``frequency frequency^T``: the Fisher
        information of the band up to the (unknown) noise variance.
    start, fps
        As in :class:`FrameBatch`.
    grid : (rows, cols) or None
        How the regions lie on the frame (region ``r`` is row ``r // cols``,
        column ``r % cols``); ``rows * cols == n_regions``. None when unknown
        (the combination then uses the regions as they are).
    """

    __repr__ = brief_repr

    scores: np.ndarray
    information: np.ndarray
    start: int
    fps: float
    grid: Optional[tuple] = None

    def __post_init__(self):
        self.scores = np.asarray(self.scores, dtype=np.float64)
        self.information = np.asarray(self.information, dtype=np.float64)
        if self.scores.ndim != 5 or self.scores.shape[3] != 2:
            raise FrameShapeError(
                "scores must have shape (n_levels, n_orientations, n_regions, 2, n), "
                f"given shape={self.scores.shape}"
            )
        if self.information.shape != self.scores.shape[:3] + (2, 2):
            raise FrameShapeError(
                f"information shape {self.information.shape} does not match scores shape {self.scores.shape}"
            )
        self.start = check_int(self.start, "start", minimum=0)
        self.fps = check_rate(self.fps, "fps")
        if self.grid is not None:
            try:
                rows, cols = (int(g) for g in self.grid)
            except (TypeError, ValueError):
                raise ParameterError(f"grid must be (rows, cols) or None, given grid={self.grid!r}") from None
            if rows * cols != self.scores.shape[2]:
                raise FrameShapeError(
                    f"grid={self.grid!r} does not match the {self.scores.shape[2]} regions of the band signals"
                )
            self.grid = (rows, cols)

    def __len__(self) -> int:
        return self.scores.shape[-1]

    @property
    def n_regions(self) -> int:
        return self.scores.shape[2]

    @classmethod
    def concat(cls, parts: Sequence["BandSignals"]) -> "BandSignals":
        parts = list(parts)
        return cls(
            np.concatenate([p.scores for p in parts], axis=-1),
            parts[0].information,
            parts[0].start,
            parts[0].fps,
            parts[0].grid,
        )

    def displacement(self) -> np.ndarray:
        """Per-band least-squares displacement (px), shape ``(n_levels, n_orientations, n_regions, 2, n)``.

        Directions a band cannot see (tiny information) are regularised towards zero.
        """
        info = self.information
        scale = np.trace(info, axis1=-2, axis2=-1)[..., None, None]
        regularised = info + 1e-6 * scale * np.eye(2) + np.finfo(float).tiny * np.eye(2)
        return np.linalg.solve(regularised[..., None, :, :], np.moveaxis(self.scores, -1, -2)[..., None])[
            ..., 0
        ].swapaxes(-1, -2)


#: What :meth:`Audio.filtered` accepts as a filter's response: a constant gain, or a
#: function of frequency (Hz, an array) returning the complex or real amplitude gain.
FilterResponse = Union[float, Callable[[np.ndarray], np.ndarray]]

#: Points of the frequency grid a :class:`NoiseSpectrum` starts on: fine enough to
#: follow a 20 Hz high-pass or a resonance at 0.3 Hz per point at 2200 Hz.
NOISE_GRID_POINTS = 4097


def _edge_factor(n_freqs: int) -> np.ndarray:
    factor = np.full(n_freqs, 2.0)
    factor[[0, -1]] = 1.0
    return factor


@dataclass(frozen=True, eq=False)
class NoiseSpectrum:
    """The power spectral density of the noise a signal holds.

    Attributes
    ----------
    density : np.ndarray [shape=(n_freqs,) or (n_channels, n_freqs)], float64
        One-sided PSD in (signal units)^2 / Hz on :attr:`freqs_hz`, the convention
        of ``scipy.signal.welch(x, fs=sr, scaling="density")``: white noise of
        variance ``s2`` has ``2 * s2 / sr`` in every bin but the first and last,
        which hold half that.
    sr : float
        Sample rate of the signal, Hz.

    Examples
    --------
    >>> import numpy as np
    >>> noise = NoiseSpectrum.white(1e-4, sr=2000.0)
    >>> round(float(noise.density[1]) * 1e7, 9), float(noise.freqs_hz[-1])    # 2 * variance / sr
    (1.0, 1000.0)
    >>> halved = noise.filtered(0.5)                # a gain of 0.5 quarters the power
    >>> round(float(halved.density[1] / noise.density[1]), 9)
    0.25
    """

    __repr__ = brief_repr

    density: np.ndarray
    sr: float

    def __post_init__(self):
        density = np.asarray(self.density, dtype=np.float64)
        if density.ndim not in (1, 2) or density.shape[-1] < 2:
            raise ParameterError(
                f"noise density must have shape (n_freqs,) or (n_channels, n_freqs) with n_freqs >= 2, "
                f"given shape={density.shape}"
            )
        if not np.all(np.isfinite(density)) or np.any(density < 0):
            raise ParameterError("noise density must be finite and >= 0 everywhere")
        object.__setattr__(self, "density", density)
        object.__setattr__(self, "sr", check_rate(self.sr, "sr"))

    @classmethod
    def white(cls, variance, *, sr: float, n_freqs: int = NOISE_GRID_POINTS) -> "NoiseSpectrum":
        """White noise of ``variance`` per sample (a float, or one per channel)."""
        variance = np.asarray(variance, dtype=np.float64)[..., None]
        return cls(variance / float(sr) * _edge_factor(n_freqs), sr)

    @property
    def freqs_hz(self) -> np.ndarray:
        """``np.linspace(0, sr / 2, n_freqs)``."""
        return np.linspace(0.0, self.sr / 2.0, self.density.shape[-1])

    def filtered(self, response: FilterResponse) -> "NoiseSpectrum":
        """The noise after a linear filter: the density times ``|H(f)|^2``.

        Parameters
        ----------
        response : float or callable
            A constant gain, or ``H(freqs_hz)``: the filter's amplitude response
            (complex or real) at an array of frequencies in Hz.
        """
        if callable(response):
            gain = np.asarray(response(self.freqs_hz))
        else:
            gain = np.asarray(response)
        power = np.abs(gain) ** 2
        if power.ndim > 1 or (power.ndim == 1 and power.shape[0] != self.density.shape[-1]):
            raise ParameterError(
                f"a response must be a number or give one value per frequency "
                f"({self.density.shape[-1]}), given shape={gain.shape}"
            )
        return NoiseSpectrum(self.density * power, self.sr)

    def welch_density(self, n_fft: int) -> np.ndarray:
        """What a Welch average with a Hann window of ``n_fft`` samples measures of this noise.

        The density seen through the window's spectral leakage (it smooths
        resonances and notches as the measurement does), on ``n_fft // 2 + 1``
        frequencies from 0 to ``sr / 2``, same convention as :attr:`density`.

        Returns
        -------
        np.ndarray [shape=density.shape[:-1] + (n_fft // 2 + 1,)]
        """
        from scipy import signal

        n_fft = int(n_fft)
        n_fine = self.density.shape[-1]
        size = 2 * (n_fine - 1)
        density = self.density
        if size < 4 * n_fft:  # a grid at least 4x finer than the window's bins
            size = 1 << int(np.ceil(np.log2(4 * n_fft)))
            fine = np.linspace(0.0, self.sr / 2.0, size // 2 + 1)
            flat = density.reshape(-1, n_fine) / _edge_factor(n_fine)
            density = np.stack([np.interp(fine, self.freqs_hz, row) for row in flat]) * _edge_factor(fine.size)
            density = density.reshape(self.density.shape[:-1] + (fine.size,))
        # two-sided density, then a circular convolution with the window's |W(f)|^2
        half = density / _edge_factor(density.shape[-1])
        two_sided = np.concatenate([half, half[..., -2:0:-1]], axis=-1)
        kernel = np.abs(np.fft.fft(signal.get_window("hann", n_fft), size)) ** 2
        kernel /= kernel.sum()
        smoothed = np.fft.irfft(np.fft.rfft(two_sided, axis=-1) * np.fft.rfft(kernel), size, axis=-1)
        grid = np.linspace(0.0, self.sr / 2.0, size // 2 + 1)
        bins = np.linspace(0.0, self.sr / 2.0, n_fft // 2 + 1)
        flat = smoothed[..., : size // 2 + 1].reshape(-1, size // 2 + 1)
        out = np.stack([np.interp(bins, grid, row) for row in flat]) * _edge_factor(bins.size)
        return np.maximum(out.reshape(density.shape[:-1] + (bins.size,)), 0.0)


@dataclass
class Audio:
    """Recovered sound: what the pipeline returns and :func:`vismic.recover_sound` gives back.

    Attributes
    ----------
    samples : np.ndarray [shape=(n,) or (n_channels, n)], float64
        The signal (motion in px until a stage rescales it), time on the last axis.
    sr : float
        Sample rate in Hz (the capture rate until resampled).
    info : dict
        What the stages report for people to read (``snr_estimate_db``,
        ``direction_degrees``, ``sound_map``, ``region_gain``, ``region_weights``,
        ``reference_frame``, ``n_frames``, ``fps``, ``source_path``...). No stage
        reads what another wrote here: what a stage needs is a typed field.
    noise : NoiseSpectrum or None
        The spectrum of the noise in ``samples`` where it is known (the
        combination measures it from the video; every linear filter updates it
        through :meth:`filtered`; the denoiser uses it); None when unknown.

    Examples
    --------
    >>> import numpy as np
    >>> audio = Audio(np.zeros(2200), sr=2200.0, noise=NoiseSpectrum.white(1.0, sr=2200.0))
    >>> louder = audio.filtered(audio.samples * 2, response=2.0)
    >>> round(float(louder.noise.density[1] / audio.noise.density[1]), 6)
    4.0
    """

    samples: np.ndarray
    sr: float
    info: dict = field(default_factory=dict)
    noise: Optional[NoiseSpectrum] = None

    def __post_init__(self):
        if np.iscomplexobj(self.samples):
            raise ParameterError("audio samples must be real numbers, given complex ones")
        self.samples = np.asarray(self.samples, dtype=np.float64)
        if self.samples.ndim not in (1, 2):
            raise FrameShapeError(
                f"audio samples must have shape (n,) or (n_channels, n), given shape={self.samples.shape}"
            )
        self.sr = check_rate(self.sr, "sr")
        if self.info is None:
            self.info = {}
        if self.noise is not None:
            if not isinstance(self.noise, NoiseSpectrum):
                raise ParameterError(f"noise must be a NoiseSpectrum or None, given {type(self.noise).__name__}")
            if self.noise.sr != self.sr:
                raise ParameterError(f"the noise spectrum's sr={self.noise.sr:g} differs from the audio's sr={self.sr:g}")

    def __len__(self) -> int:
        return self.samples.shape[-1]

    @property
    def duration_seconds(self) -> float:
        return len(self) / self.sr

    @property
    def audio(self) -> np.ndarray:
        """The same array as :attr:`samples` (the name ``rec.audio`` of earlier versions)."""
        return self.samples

    def filtered(self, samples, *, response: Optional[FilterResponse], **info) -> "Audio":
        """This audio after a linear filter: new ``samples``, the noise spectrum carried through.

        The one line a filtering stage needs to keep the noise spectrum right:
        ``return audio.filtered(new_samples, response=H)``.

        Parameters
        ----------
        samples : np.ndarray [shape=(n,) or (n_channels, n)]
            The filtered signal (same rate).
        response : float, callable or None
            The filter's amplitude response: a constant gain, or ``H(freqs_hz)``
            (see :meth:`NoiseSpectrum.filtered`). None when the stage is not a
            linear filter: the noise becomes unknown.
        **info
            Entries to add to (a copy of) ``info``.
        """
        noise = None
        if self.noise is not None and response is not None:
            noise = self.noise.filtered(response)
        return Audio(samples, self.sr, {**self.info, **info}, noise)

    def to_wav(self, path, *, target_sr="auto", subtype: str = "PCM_16"):
        """Write a WAV file (normalised without clipping, atomically).

        Parameters
        ----------
        path : str or Path
        target_sr : 'auto', int or None
            ``'auto'`` resamples to the smallest standard rate at or above ``sr``
            (players refuse odd rates such as 2200 Hz); None keeps ``sr``.
        subtype : {'PCM_16', 'PCM_24', 'FLOAT'}

        Returns
        -------
        vismic.io.WavInfo

        Raises
        ------
        OutputError
            ``path`` is the video the sound was recovered from (``info['source_path']``).
        """
        from .io import write_wav
        from .io._atomic import check_not_input

        check_not_input(path, [self.info.get("source_path")], what="WAV file")
        return write_wav(path, self.samples, sr=self.sr, target_sr=target_sr, subtype=subtype)

    def __repr__(self) -> str:
        snr = self.info.get("snr_estimate_db") if isinstance(self.info, dict) else None
        snr_text = f", snr_estimate_db={snr:.1f}" if isinstance(snr, (int, float)) else ""
        channels = f", n_channels={self.samples.shape[0]}" if self.samples.ndim == 2 else ""
        return (f"Audio(n={len(self)}{channels}, sr={self.sr:g}, duration_seconds={self.duration_seconds:.3f}"
                f"{snr_text})")
