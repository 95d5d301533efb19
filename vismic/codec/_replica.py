"""What a VP9, VP8 or H.264 file's compression cost the sound, measured on a replica of the scene through the same codec.

Motion compensation alters a sub-pixel motion alike across the frame, so the regions
of a recovery agree on what the codec did and its own SNR estimate cannot see the loss
(``benchmarks/bench_nuisance.py``'s ``vp9`` rows: 3.5-9.5 dB too high). A replica can:
the first frame moved by a motion like the recovered one along the recovered direction
(exactly, as :mod:`vismic.synth` renders), where the recovery's sound map says the sound
is (:func:`moving_regions`; the rest stands still, as the background of an object does),
with sensor noise matched to the file's, encoded as the file was, decoded and recovered
like the file; its SI-SNR against the motion it was given is what the codec let through.
A replica moving the whole frame read scenes where the sound moves an object 3.6 dB high
(median; ``benchmarks/bench_replica.py --codec h264 --crf 10 --object 0.4 --whole-frame``),
one moving the sound map's regions 0.3 dB.

VP9 is encoded by libvpx-vp9 at the quantiser the file's own frames were coded with
(FFmpeg's VP9 decoder exports each frame's base quantiser index). VP8's decoder exports
none: its frame headers are read (:func:`read_rate`), and a VP8 replica is encoded by libvpx
as the file was, at its key-frame interval and from its finest quantiser up, at one constant
quality where the file's rate control did not bind and at its bits a pixel where it did (a
replica held to a constant quantiser, key frames included, read OpenCV's files far too high
in trials: their key frames are coded far coarser than the frames between;
``benchmarks/bench_replica.py --codec vp8 [--bit-rate B --crf C]``). H.264 is encoded by x264
at the file's QP (its decoder exports each frame's) as a constant rate factor, with B-frames
where the file has them. Each codec moves the frame by itself (motion vectors, x264's
bidirectional frames), so the recovered motion is partly the codec's own, and a replica
driven by it passes that again: :func:`vismic.recover_sound` drives VP9 and H.264 replicas by a
motion of the same spectrum and power with random phases (:func:`independent_motion`), VP8's
by the recovered motion itself (another waveform read VP8 files at constant quality 3.3 dB
low, median: ``benchmarks/bench_replica.py --codec vp8 --bit-rate 1000000 --crf 10``).
Reading and encoding need PyAV
(``pip install vismic[codecs]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._checks import check_rate
from ..errors import FrameShapeError, ParameterError
from ._encoders import _encode, _encode_h264, _encode_vp8, _encoder_settings, _to_8bit
from ._file_coding import FileQuantiser, FileRate

__all__ = ["CodecReplica", "codec_replica", "independent_motion", "moving_regions",
           "MOVING_SHARE", "REPLICA_FRAMES", "NOISE_FRAMES", "NOISE_RANGE"]

#: Most frames of a replica (about a second of footage at 2000 fps): encoding dominates its cost,
#: twice over (two settings), so a long clip is measured on the stretch whose power is nearest its own.
REPLICA_FRAMES = 2048

#: Frames of the file and of each trial replica whose frame-to-frame changes match the noise.
NOISE_FRAMES = 257

#: The sensor noise (grey levels) of a replica is searched for in this range.
NOISE_RANGE = (0.125, 32.0)

#: Halvings of the bracket around the matched noise (a factor of 2 becomes 2 ** (1 / 4)).
NOISE_REFINEMENTS = 2

#: Frames of the short trial replicas that find the noise roughly first, each an eighth of a full trial's cost.
#: They match at another level than the full trials (the codec codes its first frames apart: on an x264 file of
#: 640x400 px, 3.16 grey levels against 2.72; one-off), which the full trials then move.
COARSE_FRAMES = 33

#: Full-length trials that refine the short ones' level before the search starts over at full length.
FINE_TRIALS = 4

#: A fine trial aims this much past the level its neighbours predict, so that the next two bracket the match.
FINE_OVERSHOOT = 1.02


def difference_variance(frames) -> float:
    """The mean over pixels of the variance over time of frame-to-frame changes (first :data:`NOISE_FRAMES` frames).

    A frame at a time (the clip's changes at once took 5 s a call in float64 at 720x1144 px);
    integer frames in exact integer sums.

    Examples
    --------
    >>> frames = np.random.default_rng(0).normal(0.0, 2.0, (257, 16, 16))
    >>> round(difference_variance(frames))  # white noise: changes of twice its variance
    8
    """
    frames = frames[:NOISE_FRAMES]
    if len(frames) < 2:
        return float("nan")
    count = len(frames) - 1
    if np.issubdtype(frames.dtype, np.integer):
        # exact sums of integers, one pass (5x the float passes' speed): the changes telescope to the mean
        wide = np.int32 if frames.dtype.itemsize == 1 else np.int64  # 255^2 * 256 changes fit 32 bits
        change, squares = np.empty(frames.shape[1:], wide), np.zeros(frames.shape[1:], wide)
        for before, after in zip(frames[:-1], frames[1:]):
            np.subtract(after, before, out=change, dtype=wide)
            np.multiply(change, change, out=change)
            squares += change
        mean = (frames[-1].astype(np.float64) - frames[0]) / count
        return float(np.mean(squares / count - mean ** 2))

    def changes():
        for before, after in zip(frames[:-1], frames[1:]):
            yield np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)

    mean = sum(changes()) / count
    spread = sum(np.square(change - mean) for change in changes()) / count
    return float(np.mean(spread))


def _interpolated(target: float, below, above) -> float:
    """The level where ``target`` falls between two trials ``(level, changes)``, in log-log."""
    tiny = 1e-12
    if above[1] <= below[1]:
        return below[0]
    share = (np.log(max(target, tiny)) - np.log(max(below[1], tiny))) / (np.log(above[1]) - np.log(max(below[1], tiny)))
    return float(np.exp(np.log(below[0]) + np.clip(share, 0.0, 1.0) * (np.log(above[0]) - np.log(below[0]))))


def _matched_noise(target: float, changes, refinements: int = NOISE_REFINEMENTS, trials: Optional[list] = None) -> float:
    """The sensor noise whose replica's frame-to-frame changes (``changes(noise)``) are ``target``.

    The trials start from the noise that alone would give ``target`` (frame differences of
    white noise have twice its variance) and step by factors of 2 until they bracket it (or
    :data:`NOISE_RANGE` ends); the bracket is then halved (in log noise) ``refinements``
    times and interpolated in log-log. The codec's dead zone drops small changes, which makes
    them rise steeply with the noise past it, so a coarse bracket would misplace it.
    ``trials``, a list, is given every ``(level, changes)`` tried.
    """
    trials = [] if trials is None else trials

    def tried(level):
        trials.append((level, changes(level)))
        return trials[-1]

    low, high = NOISE_RANGE
    level = float(np.clip(np.sqrt(max(target, 0.0) / 2.0), low, high))
    below, above = tried(level), None
    if below[1] > target:
        below, above = None, below
    while below is None and above[0] / 2 >= low:
        trial = tried(above[0] / 2)
        below, above = (trial, above) if trial[1] <= target else (None, trial)
    while above is None and below[0] * 2 <= high:
        trial = tried(below[0] * 2)
        below, above = (below, trial) if trial[1] >= target else (trial, None)
    if below is None or above is None:
        return (below or above)[0]  # the range's end: the codec or the noise is out of what it can tell
    for _ in range(refinements):
        trial = tried(float(np.sqrt(below[0] * above[0])))
        below, above = (trial, above) if trial[1] <= target else (below, trial)
    return _interpolated(target, below, above)


def _distance(trial, target: float) -> float:
    """How far a trial ``(level, changes)`` is from ``target``, in log changes."""
    tiny = 1e-12
    return abs(float(np.log(max(trial[1], tiny) / max(target, tiny))))


def _slope(trials, target: float) -> float:
    """The log-log slope of ``changes`` through the two trials nearest ``target`` (NaN where it cannot be read)."""
    nearest = sorted(trials, key=lambda trial: _distance(trial, target))[:2]
    if len(nearest) < 2 or min(nearest[0][1], nearest[1][1]) <= 0 or nearest[0][0] == nearest[1][0]:
        return float("nan")
    return float(np.log(nearest[0][1] / nearest[1][1]) / np.log(nearest[0][0] / nearest[1][0]))


def _refined_noise(target: float, changes, start: float, slope: float, trials: int = FINE_TRIALS) -> Optional[float]:
    """The level where ``changes`` meets ``target``, from ``start`` and the local log-log ``slope``; None if unbracketed.

    Each trial steps from the one nearest the target along the slope (that of the two nearest
    once there are two) to :data:`FINE_OVERSHOOT` past where it predicts the match, until two
    trials at most 2 ** (1 / 4) apart bracket it (the bracketing search's last width).
    """
    low, high = NOISE_RANGE
    tried = []
    level = float(np.clip(start, low, high))
    for _ in range(trials):
        tried.append((level, changes(level)))
        below = [trial for trial in tried if trial[1] <= target]
        above = [trial for trial in tried if trial[1] > target]
        if below and above:
            below, above = max(below), min(above)
            if above[0] / below[0] <= 2 ** (1 / 4):
                return _interpolated(target, below, above)
        measured = _slope(tried, target)
        slope = measured if np.isfinite(measured) and measured > 0.5 else slope
        nearest = min(tried, key=lambda trial: _distance(trial, target))
        step = float(np.clip((max(target, 1e-12) / max(nearest[1], 1e-12)) ** (1.0 / np.clip(slope, 1.0, 20.0)),
                             0.5, 2.0))
        level = float(np.clip(nearest[0] * (step * FINE_OVERSHOOT if step >= 1 else step / FINE_OVERSHOOT), low, high))
        if any(level == trial[0] for trial in tried):
            return None
    return None


def _searched_noise(first_frames, changes) -> float:
    """The sensor noise of :func:`codec_replica`: ``changes(level, frames)`` matched to ``first_frames``' changes.

    The bracketing search of :func:`_matched_noise` runs first on replicas of the first
    :data:`COARSE_FRAMES` frames against as many of the file's, then a few full-length trials
    (:func:`_refined_noise`) move its level to where the full replica matches: about 3 full trials'
    cost against the 5-8 of the bracketing search at full length (where the two do not agree
    on a bracket, that runs too).
    """
    frames = len(first_frames)
    target = difference_variance(first_frames)
    if frames >= 2 * COARSE_FRAMES:
        coarse_target = difference_variance(first_frames[:COARSE_FRAMES])
        coarse = []
        start = _matched_noise(coarse_target, lambda level: changes(level, COARSE_FRAMES), trials=coarse)
        slope = _slope(coarse, coarse_target)
        low, high = NOISE_RANGE
        if np.isfinite(slope) and slope > 0 and low < start < high:
            found = _refined_noise(target, lambda level: changes(level, frames), start, slope)
            if found is not None:
                return found
    return _matched_noise(target, lambda level: changes(level, frames))


@dataclass(frozen=True)
class CodecReplica:
    """What the replica of a scene through its file's codec measured.

    Attributes
    ----------
    snr_db : float
        SI-SNR (dB) of the replica's recovery against the motion it was given.
    noise_std : float
        The sensor noise (grey levels) that gives the replica the file's frame-to-frame changes.
    q_index : float
        VP9: the file's quantiser index the replica stands for (:attr:`FileQuantiser.effective_q_index`;
        between two of the encoder's settings, the SI-SNR is interpolated between replicas at both).
        VP8: the file's median index between key frames (:attr:`FileRate.level_index`, 0-127).
    key_interval : int
        The file's key-frame interval.
    frames : int
        Frames of the replica.
    bits_per_pixel : float
        VP8: the file's bits a pixel the replica was encoded at (:class:`FileRate`). NaN for VP9.
    """

    snr_db: float
    noise_std: float
    q_index: float
    key_interval: int
    frames: int
    bits_per_pixel: float = float("nan")


def _window(motion: np.ndarray, length: int) -> slice:
    """The ``length`` samples of ``motion`` whose power is nearest (in dB) the whole's."""
    if len(motion) <= length:
        return slice(0, len(motion))
    power = np.concatenate([[0.0], np.cumsum(motion ** 2)])
    starts = np.arange(0, len(motion) - length + 1, max(length // 8, 1))
    windows = (power[starts + length] - power[starts]) / length
    whole = power[-1] / len(motion)
    tiny = np.finfo(np.float64).tiny
    start = int(starts[np.argmin(np.abs(np.log(windows + tiny) - np.log(whole + tiny)))])
    return slice(start, start + length)


def independent_motion(motion, seed: int = 0) -> np.ndarray:
    """A motion with ``motion``'s power spectrum and none of its waveform: its Fourier phases drawn at random.

    Examples
    --------
    >>> motion = np.random.default_rng(0).standard_normal(1000)
    >>> other = independent_motion(motion)
    >>> bool(np.isclose(np.mean(other ** 2), np.mean((motion - motion.mean()) ** 2))), abs(np.corrcoef(motion, other)[0, 1]) < 0.2
    (True, True)
    """
    motion = np.asarray(motion, dtype=np.float64)
    centred = motion - motion.mean()
    spectrum = np.fft.rfft(centred)
    phases = np.exp(2j * np.pi * np.random.default_rng(seed).random(spectrum.shape))
    phases[0] = 1.0
    other = np.fft.irfft(np.abs(spectrum) * phases, n=len(motion))
    power, made = float(np.mean(centred ** 2)), float(np.mean(other ** 2))
    return other * np.sqrt(power / made) if made > 0 else other


#: A region moves in the replica where its share of the sound map (its coherence with the output)
#: is at least this fraction of the largest region's.
MOVING_SHARE = 0.1


def moving_regions(sound_map, shape) -> Optional[np.ndarray]:
    """Where a replica moves: 1 over the regions that carry the sound, 0 elsewhere, per pixel.

    ``sound_map`` is :func:`vismic.combine.sound_map`'s (the recovery's ``info["sound_map"]``,
    per region of its grid); a region carries the sound where its coherence with the output is
    at least :data:`MOVING_SHARE` of the largest. The regions' values are interpolated
    bilinearly between their centres over a frame of ``shape`` (height, width), so the edge of
    what moves is a ramp one region wide. None where every region carries it (the whole frame
    moves) or the map holds no sound.

    Examples
    --------
    >>> sound = np.zeros((4, 4)); sound[1:3, 1:3] = 0.5
    >>> shape = moving_regions(sound, (64, 64))
    >>> float(shape[32, 32]), float(shape[0, 0])
    (1.0, 0.0)
    >>> moving_regions(np.full((4, 4), 0.3), (64, 64)) is None
    True
    """
    sound = np.asarray(sound_map, dtype=np.float64)
    if sound.ndim != 2 or not np.all(np.isfinite(sound)) or sound.max() <= 0:
        return None
    moving = (sound >= MOVING_SHARE * sound.max()).astype(np.float64)
    if moving.all():
        return None
    height, width = shape
    # pixel centres in units of regions, measured from the first region's centre
    rows = np.clip((np.arange(height) + 0.5) * sound.shape[0] / height - 0.5, 0, sound.shape[0] - 1)
    cols = np.clip((np.arange(width) + 0.5) * sound.shape[1] / width - 0.5, 0, sound.shape[1] - 1)
    across = np.stack([np.interp(cols, np.arange(sound.shape[1]), row) for row in moving])
    return np.stack([np.interp(rows, np.arange(sound.shape[0]), column) for column in across.T], axis=1)


def codec_replica(first_frames, motion, recover, *, quantiser: Optional[FileQuantiser] = None,
                  rate: Optional[FileRate] = None, direction_degrees: float, fps: float, seed: int = 0,
                  independent: bool = True, mode_shape=None, progress=None) -> CodecReplica:
    """Measure what a VP9, VP8 or H.264 file's compression costs the sound, on a replica of its scene.

    VP9 and H.264 are replicated at the file's quantiser (``quantiser``), VP8 as its frame
    headers and bits say it was coded (``rate``: at the file's one quantiser where its rate
    control did not bind, else at its bits a pixel; see :class:`FileRate`).

    Parameters
    ----------
    first_frames : np.ndarray [shape=(n, height, width)]
        The file's first frames as decoded (grey levels; :data:`NOISE_FRAMES` of them, or all
        a shorter clip has): the first is the replica's texture, their frame-to-frame changes
        set its sensor noise. An odd side loses its last row or column.
    motion : np.ndarray [shape=(n_frames,)]
        The recovered motion (px) along ``direction_degrees``, the replica's motion.
    recover : callable
        ``recover(frames, key_frames)``: frames (an array) and the indices of the replica's
        key frames to the recovered motion, as the file was recovered (e.g. the pipeline up
        to its combination, repairing those key frames as the file's were).
    quantiser : FileQuantiser
        A VP9 or H.264 file's, from :func:`read_quantisers`.
    rate : FileRate
        A VP8 file's, from :func:`read_rate` (give one of the two).
    direction_degrees, fps : float
        The recovered direction (x right, y down) and the frame rate.
    seed : int
        Of the replica's sensor noise.
    independent : bool
        Drive the replica with :func:`independent_motion` of the recovered motion (its
        spectrum and power, another waveform; the default) rather than the motion itself.
        A motion-compensated codec moves the frame by itself (motion vectors, H.264's
        bidirectional frames, alike across the frame), so the recovered motion is partly
        the codec's own, and a replica driven by it passes it again: on
        ``benchmarks/bench_replica.py --codec h264 --crf 10``'s 16 x264 files it read -1.6 to
        +8.1 dB from the truth (5 more than 3 dB too high), driven by the independent
        motion -3.1 to +3.8 (1). :func:`vismic.recover_sound` gives False for VP8 files,
        whose constant-quality replicas read 3.3 dB low (median) driven by another waveform.
    progress : callable, optional
        Called with the number of frames of each trial replica of the noise search once it
        is coded (the recoveries report through ``recover``).
    mode_shape : np.ndarray [shape=(height, width)], optional
        What moves, per pixel of the frames (0 stands still, 1 moves by the motion; e.g.
        :func:`moving_regions` of the recovery's sound map), as
        :func:`vismic.synth.render_scene` takes it; None moves the whole frame.

    Returns
    -------
    CodecReplica
    """
    from ..combine._across import default_estimate_cutoff
    from ..denoise._filters import highpass
    from ..metrics import si_snr
    from ..synth._checks import check_direction, check_texture
    from ..synth._scene import _Renderer

    if (quantiser is None) == (rate is None):
        raise ParameterError("give codec_replica one of quantiser (a VP9 file's) and rate (a VP8 file's)")
    first_frames = np.asarray(first_frames)  # as read (difference_variance works a frame at a time)
    motion = np.asarray(motion, dtype=np.float64)
    if first_frames.ndim != 3 or motion.ndim != 1 or len(motion) < 2:
        raise ParameterError(f"first_frames must be (n, height, width) and motion one channel of samples, given "
                             f"shapes {first_frames.shape} and {motion.shape}")
    if not np.all(np.isfinite(motion)):
        raise ParameterError("motion must be finite")
    direction_degrees, fps = check_direction(direction_degrees), check_rate(fps, "fps")
    # yuv420p halves the chroma planes: the replica keeps even sides (the last row or column goes)
    first_frames = first_frames[:, :first_frames.shape[1] // 2 * 2, :first_frames.shape[2] // 2 * 2]
    if min(first_frames.shape[1:]) < 2:
        raise FrameShapeError(f"frames of {first_frames.shape[1]}x{first_frames.shape[2]} px are too small to encode")
    texture = check_texture(first_frames[0])
    trial_motion = motion[:len(first_frames)]

    if mode_shape is not None:
        mode_shape = np.asarray(mode_shape, dtype=np.float64)
        if mode_shape.shape[0] < texture.shape[0] or mode_shape.shape[1] < texture.shape[1]:
            raise ParameterError(f"mode_shape must cover the frames ({texture.shape[0]}x{texture.shape[1]} px), "
                                 f"given shape {mode_shape.shape}")
        mode_shape = mode_shape[:texture.shape[0], :texture.shape[1]]

    drive = motion[_window(motion, REPLICA_FRAMES)]
    if independent:
        drive = independent_motion(drive, seed)
    # one renderer for every replica: the noise search renders the same motion many times
    renderer = _Renderer(texture, direction_degrees, mode_shape,
                         reach_px=float(max(np.max(np.abs(trial_motion)), np.max(np.abs(drive)))))

    def render(drive, noise_std):
        return renderer.scene(drive, noise_std=noise_std, quantize=True, seed=seed, fps=fps)

    coding = quantiser if quantiser is not None else rate
    h264 = quantiser is not None and quantiser.codec == "H.264"
    if h264:  # x264's rate factor is its QP: no search
        wanted = quantiser.effective_q_index
        settings = [(wanted, wanted)]
    elif quantiser is not None:
        wanted = quantiser.effective_q_index
        settings = _encoder_settings(_to_8bit(render(trial_motion[:4], 0.0).frames), wanted, quantiser.key_interval)
    else:
        wanted, settings = rate.level_index, [(rate.bits_per_pixel, float("nan"))]

    def encode(scene, setting, last: bool = True):
        # the scene's own frames (uint8) take the codec's back where nothing codes them again
        frames = _to_8bit(scene.frames)
        if h264:
            decoded, _, key = _encode_h264(frames, setting, coding.key_interval, coding.b_frames,
                                           settings=coding.encoder_settings, into_frames=last)
        elif quantiser is not None:
            decoded, _, key = _encode(frames, setting, coding.key_interval, into_frames=last)
        else:
            decoded, _, key = _encode_vp8(frames, coding, into_frames=last)
        return decoded, np.flatnonzero(key)

    # the noise is matched once, at the setting nearest the file's: the two are a few index steps apart
    nearest = settings[0][0] if len(settings) == 1 else min(settings, key=lambda pair: abs(pair[1] - wanted))[0]

    def trial(level, frames):
        changes = difference_variance(encode(render(trial_motion[:frames], level), nearest)[0])
        if progress is not None:
            progress(len(trial_motion[:frames]))
        return changes

    noise_std = _searched_noise(first_frames, trial)
    scene = render(drive, noise_std)
    truth = highpass(scene.displacement_px, sr=fps, cutoff_hz=default_estimate_cutoff(fps))
    coded = [(encode(scene, setting, last=number == len(settings) - 1), index)
             for number, (setting, index) in enumerate(settings)]
    del scene  # its frames are coded (the last coding into them): the recoveries need only what the codec gave back
    measured = []
    while coded:
        (decoded, key), index = coded.pop(0)
        measured.append((index, float(si_snr(np.asarray(recover(decoded, key), dtype=np.float64), truth))))
        del decoded
    snr_db = measured[0][1]
    if len(measured) == 2:
        (q0, snr0), (q1, snr1) = measured
        snr_db = snr0 + (wanted - q0) / (q1 - q0) * (snr1 - snr0)
    return CodecReplica(snr_db, noise_std, wanted, coding.key_interval, len(drive),
                        rate.bits_per_pixel if rate is not None else float("nan"))
