"""What the stabiliser measured, frame by frame: the track, the light, the input's statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import scipy.fft

from ..data import brief_repr
from ._track import TrackSettings, sound_taken, track_error, track_response

__all__ = ["StabiliseReport"]

#: The share of frames :meth:`StabiliseReport.speed_px_s` reads the speed below: the camera's fastest moments,
#: past the odd frame.
SPEED_QUANTILE = 0.99


@dataclass
class StabiliseReport:
    """What the stabiliser measured, frame by frame (for diagnostics and the confidence checks).

    Attributes
    ----------
    motion_px : np.ndarray [shape=(n, 2)]
        Slow camera motion removed from each frame (x, y), px.
    block_motion_px : np.ndarray [shape=(n_blocks, 2)]
        Motion measured on each block mean before smoothing.
    block_centres : np.ndarray [shape=(n_blocks,)]
        Frame index of each block's centre.
    gain, offset : np.ndarray [shape=(n,)]
        Light gain and offset removed from each frame (1 and 0 when ``light`` is off).
    saturated_fraction, black_fraction : np.ndarray [shape=(n,)]
        Fraction of pixels at the top / bottom grey level of each input frame.
    difference_power : np.ndarray [shape=(n,)]
        Mean squared difference of each input frame to the one before (grey levels^2; the
        first frame's is NaN). Steady for sensors and intra-frame codecs; an inter-frame codec
        (MPEG-4, H.264) makes it collapse between key frames.
    texture_rms : float
        RMS gradient of the reference (grey levels per px): ~0 means no texture to track.
    track_error_px : np.ndarray [shape=(n, 2)]
        The track's own estimate of its error (:func:`~vismic.stabilise.track_error`): zeros
        when nothing was removed.
    share : np.ndarray [shape=(n,)]
        Share of the track removed from each frame (:func:`~vismic.stabilise.compensated_share`).
    settings : TrackSettings, optional
        How the track was smoothed (its response: :func:`~vismic.stabilise.track_response`).
    kept_information : np.ndarray [shape=(n,)]
        Share of the reference's motion information each frame keeps outside the border
        strips the fill replaced by the static reference (:func:`kept_information`; ones
        without a fill). The sound's gain follows it, and :class:`~vismic.combine.Combine`
        divides it out.
    held_blocks, whole_blocks : float, optional
        Share of textured 8x8 blocks copied bit for bit from the frame before, and share of the
        pixels of the changed ones that changed (:func:`vismic._frame_statistics.held_blocks`, on
        pairs of input frames every ``PAIR_STRIDE`` frames): with ``difference_power``, what
        tells an inter-frame codec (:func:`~vismic.stabilise.codec_finding`).
    """

    __repr__ = brief_repr

    motion_px: np.ndarray
    block_motion_px: np.ndarray
    block_centres: np.ndarray
    gain: np.ndarray
    offset: np.ndarray
    saturated_fraction: np.ndarray
    black_fraction: np.ndarray
    difference_power: np.ndarray
    texture_rms: float
    track_error_px: np.ndarray
    share: np.ndarray = field(default_factory=lambda: np.zeros(0))
    settings: Optional[TrackSettings] = None
    kept_information: np.ndarray = field(default_factory=lambda: np.zeros(0))
    held_blocks: Optional[float] = None
    whole_blocks: Optional[float] = None

    def speed_px_s(self, quantile: float = SPEED_QUANTILE) -> float:
        """How fast the removed motion moved the frames: its speed's ``quantile`` over the frames, px/s.

        A sub-pixel shift of detail above the frames' Nyquist limit errs periodically with
        the position, one period a pixel, so that error's frequency is the speed in px/s:
        above the output's high-pass it lands in the sound band (:func:`vismic.recover_sound`
        then reads a downsampled video again with a stronger low-pass). 0 when nothing
        moved or the report has no settings.

        Examples
        --------
        >>> from vismic.stabilise._track import TrackSettings
        >>> t = np.arange(1000) / 1000.0
        >>> motion = np.stack([2.0 * np.sin(2 * np.pi * 5.0 * t), np.zeros_like(t)], axis=1)
        >>> empty = np.zeros(0)
        >>> report = StabiliseReport(motion, empty, empty, empty, empty, empty, empty, empty, 0.0, 0 * motion,
        ...                          settings=TrackSettings(1000.0, 22.0, 0.15, 2))
        >>> round(report.speed_px_s(1.0))   # 2 px at 5 Hz: 2 pi 5 2 px/s at its fastest
        63
        """
        motion = np.asarray(self.motion_px, dtype=np.float64).reshape(-1, 2)
        if self.settings is None or motion.shape[0] < 2 or not np.any(motion):
            return 0.0
        speed = np.hypot(*np.diff(motion, axis=0).T) * self.settings.fps
        return float(np.quantile(speed, quantile))

    def sound_taken_px2(self, sound_px, *, highpass_hz: float = 20.0) -> float:
        """Power (px^2, summed over the leading axes) of the sound this stabiliser's track followed and removed.

        Where the whole scene vibrates with the sound, the track follows part of it
        and removes it with the camera motion, alike in every region, so region
        groups agree on the loss. Estimated from the recovered sound ``sound_px``
        (``(..., n)`` px at the video's rate, high-passed at ``highpass_hz`` as the
        output is) in two parts: the lowest frequencies, as the track's response
        says they were taken (:func:`~vismic.stabilise.sound_taken`); and what the
        track itself adds to its response (the sound the block means alias into the
        track's band, the ends' extrapolation), from the track run on the sound put
        back together, high-passed as the output is. Frequencies the track took almost
        whole leave too little to scale, so on sounds loud there (speech's lowest
        tens of Hz) this misses part of the taken power (a test holds it within 6 dB
        below and 1 dB above the truth on white noise, speech and music at 2200 and
        6000 fps: ``tests/stabilise/test_track.py``).
        Where only part of the scene vibrates the track took less.
        """
        from ..denoise import highpass

        sound = np.asarray(sound_px, dtype=np.float64)
        n = sound.shape[-1]
        if self.settings is None or self.share.shape[0] != n or not np.mean(self.share) > 0 or n <= 40:
            return 0.0
        share, fps = float(np.mean(self.share)), self.settings.fps
        sound = sound.reshape(-1, n)
        linear = sound_taken(sound, self.settings, share=share)
        whole = sound + linear
        response = share * track_response(scipy.fft.rfftfreq(n, 1.0 / fps), self.settings)
        followed = share * (track_error(whole.T, self.settings).T + whole)
        beyond = followed - scipy.fft.irfft(scipy.fft.rfft(whole, axis=-1) * response, n=n, axis=-1)
        taken = linear + highpass(beyond, sr=fps, cutoff_hz=highpass_hz)
        return float(np.sum(np.mean(taken ** 2, axis=-1)))
