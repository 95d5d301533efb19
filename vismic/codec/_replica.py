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

import io
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..errors import FrameShapeError, ParameterError

__all__ = ["FileQuantiser", "FileRate", "CodecReplica", "read_quantisers", "read_rate", "encode_like", "codec_replica",
           "independent_motion", "moving_regions", "MOVING_SHARE", "REPLICA_FRAMES",
           "NOISE_FRAMES", "NOISE_RANGE"]

#: Most frames of a replica (about a second of footage at 2000 fps): encoding dominates its cost,
#: twice over (two settings), so a long clip is measured on the stretch whose power is nearest its own.
REPLICA_FRAMES = 2048

#: Frames of the file and of each trial replica whose frame-to-frame changes match the noise.
NOISE_FRAMES = 257

#: The sensor noise (grey levels) of a replica is searched for in this range.
NOISE_RANGE = (0.125, 32.0)

#: Halvings of the bracket around the matched noise (a factor of 2 becomes 2 ** (1 / 4)).
NOISE_REFINEMENTS = 2

#: Percentile of a file's quantiser indices between key frames that its replica is encoded at.
EFFECTIVE_PERCENTILE = 90

#: libvpx's quantiser setting (FFmpeg's ``qmin``/``qmax``) runs over 0-63; the frames carry an index of 0-255.
ENCODER_Q_MAX = 63

#: The frame rate a replica is encoded at: a rate-controlled replica's bit rate is per second of it.
PLAYBACK_FPS = 30

#: The finest quantiser a VP8 replica may use where the file's frames do not say: OpenCV's writer sets
#: FFmpeg's ``qmin`` to 3, and the rate control of its files (at 1.5 bits a pixel) reaches it on textured scenes.
VP8_QMIN = 3

#: Share of a VP8 file's frames between key frames that may be coarser than their median in a file
#: whose rate control did not bind (:attr:`FileRate.one_quantiser`).
COARSER_SHARE = 0.01

#: A VP8 replica whose file held one quantiser is given this many times the file's bits, so that the
#: rate control never binds where the file's did not.
UNBOUND_RATE_FACTOR = 4.0


def _av():
    try:
        import av
    except ImportError as error:
        raise ImportError("measuring a VP9 file's compression needs PyAV: pip install vismic[codecs]") from error
    return av


def _video_stream(container, codec: str, path, what: str):
    """The container's video stream, refused (one ParameterError naming ``what``) unless it is ``codec``."""
    stream = container.streams.video[0]
    if stream.codec_context.name != codec.lower():
        raise ParameterError(f"{path} is {stream.codec_context.name}, not {codec}: its {what} is not read")
    return stream


@dataclass(frozen=True)
class FileQuantiser:
    """How a VP9 or H.264 file's frames were quantised.

    Attributes
    ----------
    q_index : np.ndarray [shape=(n_frames,)], int
        Each shown frame's base quantiser: VP9's index (0-255), H.264's QP (0-51); lower is finer.
    key : np.ndarray [shape=(n_frames,)], bool
        Whether the frame is a key frame.
    codec : {'VP9', 'H.264'}
        The file's codec.
    b_frames : bool
        Whether the file has bidirectionally predicted frames (H.264's B-frames).

    Examples
    --------
    >>> import numpy as np
    >>> q = FileQuantiser(np.array([12, 80, 30, 36, 12, 34]), np.array([True, False, False, False, True, False]))
    >>> q.key_interval, round(q.effective_q_index, 1)
    (4, 66.8)
    """

    q_index: np.ndarray
    key: np.ndarray
    codec: str = "VP9"
    b_frames: bool = False

    @property
    def effective_q_index(self) -> float:
        """The quantiser index one constant index for the whole clip stands for: the 90th percentile between key frames.

        A rate-controlled file (OpenCV's VP9 writer) codes some frames far more coarsely than
        the median, and the coarser frames' errors set the loss. The true scenes through constant indices (``benchmarks/bench_replica.py
        --q-statistics``, 16 scenes) read -2.6 to +1.0 dB from the file's SI-SNR at the 90th
        percentile, -1.1 to +2.1 at the 75th, -0.3 to +3.2 at the root mean square and -0.2
        to +3.0 at the median; the replica itself adds a little optimism (its sweep: -1.5 to
        +3.0 dB). Of all frames where none is between key frames.
        """
        between = self.q_index[~self.key]
        return float(np.percentile(between if between.size else self.q_index, EFFECTIVE_PERCENTILE))

    @property
    def key_interval(self) -> int:
        """Frames from one key frame to the next (the median; the clip's length with one key frame)."""
        return _key_interval(self.key)


def _key_interval(key) -> int:
    """The median distance between the frames flagged in ``key`` (its length with fewer than two)."""
    keys = np.flatnonzero(key)
    return int(np.median(np.diff(keys))) if keys.size >= 2 else int(np.size(key))


#: FFmpeg's ``AV_PICTURE_TYPE_B``: a bidirectionally predicted frame (PyAV 18 gives the number, older ones an enum of it).
PICTURE_TYPE_B = 3

#: The decoders whose frames export their quantiser (FFmpeg's ``venc_params``), by the name :class:`FileQuantiser` gives.
QUANTISER_DECODERS = {"vp9": "VP9", "h264": "H.264"}


def read_quantisers(path, max_frames=None) -> FileQuantiser:
    """The quantiser of each frame of a VP9 or H.264 file (its first ``max_frames`` frames).

    Raises
    ------
    ParameterError
        The file's video stream is neither, or its decoder exported no quantiser.
    ImportError
        PyAV is not installed.
    """
    av = _av()
    q_index, key, b_frames = [], [], False
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = QUANTISER_DECODERS.get(stream.codec_context.name)
        if codec is None:
            raise ParameterError(f"{path} is {stream.codec_context.name}, not VP9 or H.264: its quantiser is not read")
        stream.codec_context.options = {"export_side_data": "venc_params"}
        for frame in container.decode(stream):
            params = [data for data in frame.side_data if hasattr(data, "qp")]
            if not params:
                raise ParameterError(f"the {codec} decoder exported no quantiser for frame {len(q_index)} of {path}")
            q_index.append(int(params[0].qp))
            key.append(bool(frame.key_frame))
            b_frames |= int(getattr(frame.pict_type, "value", frame.pict_type)) == PICTURE_TYPE_B
            if max_frames is not None and len(q_index) >= max_frames:
                break
    if not q_index:
        raise ParameterError(f"{path} has no frames to read a quantiser from")
    return FileQuantiser(np.asarray(q_index), np.asarray(key), codec, b_frames)


@dataclass(frozen=True)
class FileRate:
    """How many bits a VP8 file's frames took, how often it coded a key frame, and at which quantisers.

    Attributes
    ----------
    bits_per_pixel : float
        The video stream's bits a frame over the frame's pixels (the mean over its frames).
    key_interval : int
        Frames from one key frame to the next (the median; the clip's length with one).
    q_index : np.ndarray [shape=(n_frames,)], int, optional
        Each frame's base quantiser index (0-127, lower is finer; from the frame headers,
        :func:`~vismic.codec._vp8_header.vp8_frame_quantiser`). Empty when not read.
    key : np.ndarray [shape=(n_frames,)], bool, optional
        Whether each frame is a key frame.

    Examples
    --------
    >>> FileRate(1.5, 12).bits_per_pixel, FileRate(1.5, 12).one_quantiser
    (1.5, False)
    >>> import numpy as np
    >>> rate = FileRate(0.33, 128, np.array([30, 4] + [12] * 10), np.array([True] + [False] * 11))
    >>> rate.one_quantiser, rate.floor_setting, rate.level_setting
    (True, 4, 10)
    """

    bits_per_pixel: float
    key_interval: int
    q_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    key: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def _between(self) -> np.ndarray:
        between = np.asarray(self.q_index)[~np.asarray(self.key, dtype=bool)] if np.size(self.key) else self.q_index
        return np.asarray(between if np.size(between) else self.q_index)

    @property
    def one_quantiser(self) -> bool:
        """Whether the frames between key frames sit at one quantiser (their median) and only go finer (at most 1 % coarser).

        The rate control did not bind: the encoder sat at its finest allowed quantiser
        (OpenCV's writer, FFmpeg's ``-b:v`` above what the scene needs) or at a constant
        quality level (``-crf``), and the frames coded finer (libvpx's golden frames) show
        its floor. A file held to its bit rate codes frames coarser than its median too.
        """
        between = self._between()
        return bool(between.size) and np.mean(between > np.median(between)) <= COARSER_SHARE

    @property
    def level_index(self) -> float:
        """The median quantiser index (0-127) of the frames between key frames (NaN unread)."""
        between = self._between()
        return float(np.median(between)) if between.size else float("nan")

    @property
    def floor_setting(self) -> int:
        """libvpx's quantiser setting (0-63) of the finest index between key frames (:data:`VP8_QMIN` unread)."""
        between = self._between()
        return _vp8_setting(between.min()) if between.size else VP8_QMIN

    @property
    def level_setting(self) -> int:
        """libvpx's quantiser setting (0-63) of the median index between key frames (:data:`VP8_QMIN` unread)."""
        between = self._between()
        return _vp8_setting(np.median(between)) if between.size else VP8_QMIN


def _vp8_setting(q_index) -> int:
    """The libvpx setting (0-63) whose frames carry ``q_index``, or the next finer one."""
    from ._vp8_header import VP8_SETTING_INDEX

    return int(np.searchsorted(VP8_SETTING_INDEX, float(q_index), side="right") - 1)


def read_rate(path, max_frames=None) -> FileRate:
    """The bits a pixel, key-frame interval and quantisers of a VP8 file (its first ``max_frames`` frames), from its packets.

    Raises
    ------
    ParameterError
        The file's video stream is not VP8, or holds no frames.
    ImportError
        PyAV is not installed.
    """
    from ._vp8_header import vp8_frame_quantiser

    av = _av()
    sizes, keys, q_index = [], [], []
    with av.open(str(path)) as container:
        stream = _video_stream(container, "VP8", path, "bit rate")
        pixels = stream.codec_context.width * stream.codec_context.height
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            data = bytes(packet)
            sizes.append(len(data))
            key, q = vp8_frame_quantiser(data)
            keys.append(key)
            q_index.append(q)
            if max_frames is not None and len(sizes) >= max_frames:
                break
    if not sizes or pixels == 0:
        raise ParameterError(f"{path} has no frames to read a bit rate from")
    return FileRate(8.0 * float(np.mean(sizes)) / pixels, _key_interval(keys), np.asarray(q_index), np.asarray(keys))


def _encode(frames: np.ndarray, setting: int, key_interval: int):
    """``frames`` through libvpx-vp9 at quantiser ``setting`` (0-63): the decoded frames, their quantiser indices and key flags."""

    def configure(stream):
        stream.codec_context.qmin = stream.codec_context.qmax = setting
        stream.bit_rate = 0
        stream.options = {"crf": str(setting)}

    return _through("libvpx-vp9", frames, key_interval, configure)


def _encode_h264(frames: np.ndarray, quantiser: float, key_interval: int, b_frames: bool):
    """``frames`` through x264 at constant rate factor ``quantiser`` (its frames' QP where nothing else moves it).

    x264's ``crf`` keeps each frame near that QP as ``-crf`` files are written (FFmpeg's
    default, 23, and the quality settings of most exports); B-frames only where the file has them.
    """

    def configure(stream):
        stream.options = {"crf": f"{quantiser:.2f}", **({} if b_frames else {"bf": "0"})}

    return _through("libx264", frames, key_interval, configure)


def _encode_vp8(frames: np.ndarray, rate: FileRate):
    """``frames`` through libvpx's VP8 as ``rate``'s file was coded: the decoded frames, their quantiser indices and key flags.

    Where the file's frames between key frames hold one quantiser (:attr:`FileRate.one_quantiser`)
    the replica is held to it as a constant quality level (FFmpeg's ``crf``) above the file's finest
    index, with bits to spare; otherwise it is rate-controlled at the file's bits a pixel from that
    finest index up. Either way the key frames are left to the rate control, as the file's were
    (OpenCV's and libvpx's default files code them far coarser than the frames between, and the
    change of quantiser is what leaps at them). Held to the file's rate alone, a
    replica of a file that did not bind (FFmpeg's ``-b:v 1M``, ``-crf 10 -b:v 1M``) spent its bits
    otherwise: ``benchmarks/bench_replica.py --bit-rate`` prints what each way reads.
    """
    pixels_per_second = frames.shape[1] * frames.shape[2] * PLAYBACK_FPS

    def configure(stream):
        stream.codec_context.qmin = rate.floor_setting
        if rate.one_quantiser:
            stream.bit_rate = max(int(round(UNBOUND_RATE_FACTOR * rate.bits_per_pixel * pixels_per_second)), 1)
            stream.options = {"crf": str(rate.level_setting)}
        else:
            stream.bit_rate = max(int(round(rate.bits_per_pixel * pixels_per_second)), 1)

    return _through("libvpx", frames, rate.key_interval, configure)


def _through(encoder: str, frames: np.ndarray, key_interval: int, configure):
    """``frames`` (uint8) encoded by ``encoder`` as ``configure(stream)`` sets it, and decoded."""
    av = _av()
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream(encoder, rate=PLAYBACK_FPS)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = key_interval
        configure(stream)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buffer.seek(0)
    decoded, q_index, key = [], [], []
    with av.open(buffer) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"export_side_data": "venc_params"}
        for frame in container.decode(stream):
            decoded.append(_luma(frame))
            key.append(bool(frame.key_frame))
            q_index.extend(int(data.qp) for data in frame.side_data if hasattr(data, "qp"))
    return np.stack(decoded), np.asarray(q_index), np.asarray(key)


def _luma(frame) -> np.ndarray:
    """The Y plane of a decoded 8-bit YUV frame (the grey levels encoded), without a colour conversion."""
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, :plane.width].copy()


def _to_8bit(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        raise FrameShapeError(f"yuv420p needs even frame sides, given {frames.shape[1]}x{frames.shape[2]}")
    if frames.dtype == np.uint8:
        return np.ascontiguousarray(frames)
    out = np.empty(frames.shape, np.uint8)
    # a frame at a time: the whole clip's float temporaries took 3 s a call at 720x1144 px
    for index, frame in enumerate(frames):
        out[index] = np.clip(np.rint(frame), 0, 255)
    return out


def _encoder_settings(frames: np.ndarray, q_index: float, key_interval: int) -> list:
    """The libvpx-vp9 settings around ``q_index``: ``[(setting, index its frames carry)]``, one or the two either side.

    Its 64 settings step the index by about 4, and the SI-SNR can fall by several dB from one
    setting to the next: a replica at the nearest setting alone would be off by that much.
    """
    probe = frames[:4]
    found = {}

    def index(setting):
        if setting not in found:
            q = _encode(probe, setting, max(key_interval, len(probe) + 1))[1]
            found[setting] = float(np.median(q[1:] if q.size > 1 else q))
        return found[setting]

    low, high = 0, ENCODER_Q_MAX
    while high - low > 1:
        middle = (low + high) // 2
        if index(middle) <= q_index:
            low = middle
        else:
            high = middle
    if index(low) >= q_index:
        return [(low, index(low))]
    if index(high) <= q_index:
        return [(high, index(high))]
    return [(low, index(low)), (high, index(high))]


def encode_like(frames, quantiser: FileQuantiser) -> np.ndarray:
    """``frames`` (grey levels, 0-255) encoded as the file of ``quantiser`` was, and decoded.

    libvpx-vp9 at the setting nearest the file's quantiser (:attr:`FileQuantiser.effective_q_index`)
    and at its key-frame interval; for an H.264 file, x264 at that QP.

    Returns
    -------
    np.ndarray [shape=frames.shape], uint8
    """
    frames = _to_8bit(frames)
    if quantiser.codec == "H.264":
        return _encode_h264(frames, quantiser.effective_q_index, quantiser.key_interval, quantiser.b_frames)[0]
    settings = _encoder_settings(frames, quantiser.effective_q_index, quantiser.key_interval)
    setting = min(settings, key=lambda pair: abs(pair[1] - quantiser.effective_q_index))[0]
    return _encode(frames, setting, quantiser.key_interval)[0]


def difference_variance(frames) -> float:
    """The mean over pixels of the variance over time of frame-to-frame changes (first :data:`NOISE_FRAMES` frames).

    Two passes over the changes, a frame at a time (the clip's changes at once took 5 s a call
    in float64 at 720x1144 px).

    Examples
    --------
    >>> frames = np.random.default_rng(0).normal(0.0, 2.0, (257, 16, 16))
    >>> round(difference_variance(frames))  # white noise: changes of twice its variance
    8
    """
    frames = frames[:NOISE_FRAMES]
    if len(frames) < 2:
        return float("nan")

    def changes():
        for before, after in zip(frames[:-1], frames[1:]):
            yield np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)

    mean = sum(changes()) / (len(frames) - 1)
    spread = sum(np.square(change - mean) for change in changes()) / (len(frames) - 1)
    return float(np.mean(spread))


def _matched_noise(target: float, changes, refinements: int = NOISE_REFINEMENTS) -> float:
    """The sensor noise whose replica's frame-to-frame changes (``changes(noise)``) are ``target``.

    The trials start from the noise that alone would give ``target`` (frame differences of
    white noise have twice its variance) and step by factors of 2 until they bracket it (or
    :data:`NOISE_RANGE` ends); the bracket is then halved (in log noise) ``refinements``
    times and interpolated in log-log. The codec's dead zone drops small changes, which makes
    them rise steeply with the noise past it, so a coarse bracket would misplace it.
    """
    low, high = NOISE_RANGE
    tiny = 1e-12
    level = float(np.clip(np.sqrt(max(target, 0.0) / 2.0), low, high))
    below, above = (level, changes(level)), None
    if below[1] > target:
        below, above = None, below
    while below is None and above[0] / 2 >= low:
        trial = (above[0] / 2, changes(above[0] / 2))
        below, above = (trial, above) if trial[1] <= target else (None, trial)
    while above is None and below[0] * 2 <= high:
        trial = (below[0] * 2, changes(below[0] * 2))
        below, above = (below, trial) if trial[1] >= target else (trial, None)
    if below is None or above is None:
        return (below or above)[0]  # the range's end: the codec or the noise is out of what it can tell
    for _ in range(refinements):
        middle = float(np.sqrt(below[0] * above[0]))
        trial = (middle, changes(middle))
        below, above = (trial, above) if trial[1] <= target else (below, trial)
    if above[1] <= below[1]:
        return below[0]
    share = (np.log(max(target, tiny)) - np.log(max(below[1], tiny))) / (np.log(above[1]) - np.log(max(below[1], tiny)))
    return float(np.exp(np.log(below[0]) + np.clip(share, 0.0, 1.0) * (np.log(above[0]) - np.log(below[0]))))


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
                  independent: bool = True, mode_shape=None) -> CodecReplica:
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
    mode_shape : np.ndarray [shape=(height, width)], optional
        What moves, per pixel of the frames (0 stands still, 1 moves by the motion; e.g.
        :func:`moving_regions` of the recovery's sound map), as
        :func:`vismic.synth.render_scene` takes it; None moves the whole frame.

    Returns
    -------
    CodecReplica
    """
    from ..denoise._filters import highpass
    from ..metrics import si_snr
    from ..synth import render_nuisance_scene, render_scene

    if (quantiser is None) == (rate is None):
        raise ParameterError("give codec_replica one of quantiser (a VP9 file's) and rate (a VP8 file's)")
    first_frames = np.asarray(first_frames, dtype=np.float64)
    motion = np.asarray(motion, dtype=np.float64)
    if first_frames.ndim != 3 or motion.ndim != 1 or len(motion) < 2:
        raise ParameterError(f"first_frames must be (n, height, width) and motion one channel of samples, given "
                             f"shapes {first_frames.shape} and {motion.shape}")
    # yuv420p halves the chroma planes: the replica keeps even sides (the last row or column goes)
    first_frames = first_frames[:, :first_frames.shape[1] // 2 * 2, :first_frames.shape[2] // 2 * 2]
    if min(first_frames.shape[1:]) < 2:
        raise FrameShapeError(f"frames of {first_frames.shape[1]}x{first_frames.shape[2]} px are too small to encode")
    texture = first_frames[0]
    target = difference_variance(first_frames)
    trial_motion = motion[:len(first_frames)]

    if mode_shape is not None:
        mode_shape = np.asarray(mode_shape, dtype=np.float64)
        if mode_shape.shape[0] < texture.shape[0] or mode_shape.shape[1] < texture.shape[1]:
            raise ParameterError(f"mode_shape must cover the frames ({texture.shape[0]}x{texture.shape[1]} px), "
                                 f"given shape {mode_shape.shape}")
        mode_shape = mode_shape[:texture.shape[0], :texture.shape[1]]

    def render(drive, noise_std):
        if mode_shape is not None:
            return render_scene(texture, drive, direction_degrees=direction_degrees, mode_shape=mode_shape,
                                noise_std=noise_std, seed=seed, fps=fps)
        return render_nuisance_scene(texture, drive, direction_degrees=direction_degrees, noise_std=noise_std,
                                     seed=seed, fps=fps)

    drive = motion[_window(motion, REPLICA_FRAMES)]
    if independent:
        drive = independent_motion(drive, seed)
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

    def encode(scene, setting):
        frames = _to_8bit(scene.frames)
        if h264:
            decoded, _, key = _encode_h264(frames, setting, coding.key_interval, coding.b_frames)
        elif quantiser is not None:
            decoded, _, key = _encode(frames, setting, coding.key_interval)
        else:
            decoded, _, key = _encode_vp8(frames, coding)
        return decoded, np.flatnonzero(key)

    # the noise is matched once, at the setting nearest the file's: the two are a few index steps apart
    nearest = settings[0][0] if len(settings) == 1 else min(settings, key=lambda pair: abs(pair[1] - wanted))[0]
    noise_std = _matched_noise(target, lambda level: difference_variance(encode(render(trial_motion, level),
                                                                                nearest)[0]))
    scene = render(drive, noise_std)
    truth = highpass(scene.displacement_px, sr=fps)
    measured = [(index, float(si_snr(np.asarray(recover(*encode(scene, setting)), dtype=np.float64), truth)))
                for setting, index in settings]
    snr_db = measured[0][1]
    if len(measured) == 2:
        (q0, snr0), (q1, snr1) = measured
        snr_db = snr0 + (wanted - q0) / (q1 - q0) * (snr1 - snr0)
    return CodecReplica(snr_db, noise_std, wanted, coding.key_interval, len(drive),
                        rate.bits_per_pixel if rate is not None else float("nan"))
