"""Frames coded as a file was, and decoded: libvpx-vp9 at its quantiser, x264 at its QP, FFmpeg's MPEG-4 part 2
at its quantiser scale, libvpx's VP8 at its rate.

What :func:`vismic.codec.codec_replica` passes its replica through, from what
:mod:`vismic.codec._file_coding` read of the file. Encoding needs PyAV
(``pip install vismic[codecs]``).
"""

from __future__ import annotations

import io

import numpy as np

from .._x264 import x264_options
from ..errors import FrameShapeError
from ._file_coding import FileQuantiser, FileRate, _av, encoding_parameters
from ._x264_settings import replica_x264_params

__all__ = ["encode_like", "ENCODER_Q_MAX", "MPEG4_SCALES", "PLAYBACK_FPS", "UNBOUND_RATE_FACTOR"]

#: libvpx's quantiser setting (FFmpeg's ``qmin``/``qmax``) runs over 0-63; the frames carry an index of 0-255.
ENCODER_Q_MAX = 63

#: The frame rate a replica is encoded at: a rate-controlled replica's bit rate is per second of it.
PLAYBACK_FPS = 30

#: libvpx-vp9's speed setting for replicas (FFmpeg's ``-cpu-used``; its default, 1, searches hardest). Encoding
#: took 36.5 of a 96 px VP9 file's 38.8 s recovery (one-off). At 4, ``benchmarks/bench_nuisance.py --nuisances
#: vp9``: a recovery 11.2 s (median), the replicas -1.0 to +0.0 dB from the truth (-0.4 to +0.2 at 1);
#: ``benchmarks/bench_replica.py``: 12x the recovery alone against 46x, what ``recover_sound`` reports -2.8 to
#: +2.3 dB from the truth on 16/16 scenes (-2.4 to +2.6 at 1); rerun later, 10x and -2.7 to +2.4.
VP9_CPU_USED = 4

#: MPEG-4 part 2's quantiser scales.
MPEG4_SCALES = (1, 31)

#: A VP8 replica whose file held one quantiser is given this many times the file's bits, so that the
#: rate control never binds where the file's did not.
UNBOUND_RATE_FACTOR = 4.0


def _encode(frames: np.ndarray, setting: int, key_interval: int, *, into_frames: bool = False):
    """``frames`` through libvpx-vp9 at quantiser ``setting`` (0-63): the decoded frames, their quantiser indices and key flags."""

    def configure(stream):
        stream.codec_context.qmin = stream.codec_context.qmax = setting
        stream.bit_rate = 0
        stream.options = {"crf": str(setting), "cpu-used": str(VP9_CPU_USED)}

    return _through("libvpx-vp9", frames, key_interval, configure, into_frames=into_frames)


def _encode_h264(frames: np.ndarray, quantiser: float, key_interval: int, b_frames: bool, *, settings=None,
                 into_frames: bool = False):
    """``frames`` through x264 at constant rate factor ``quantiser`` (its frames' QP where nothing else moves it).

    x264's ``crf`` keeps each frame near that QP as ``-crf`` files are written (FFmpeg's
    default, 23, and the quality settings of most exports); B-frames only where the file has them.
    ``settings``: the file's own x264 settings (:func:`~vismic.codec._x264_settings.read_x264_settings`),
    coded with, else x264's defaults. Its AVX-512 code is left out (:func:`vismic._x264.x264_options`):
    with it, the same replica was coded to different bits from run to run.
    """
    params = x264_params(settings)

    def configure(stream):
        stream.options = {"crf": f"{quantiser:.2f}", **({} if b_frames else {"bf": "0"}),
                          **({"x264-params": params} if params else {})}

    return _through("libx264", frames, key_interval, configure, into_frames=into_frames)


def x264_params(settings=None) -> str:
    """The ``x264-params`` a replica is coded with: the file's own ``settings`` and the instruction sets (or '')."""
    params = [x264_options().get("x264-params")] + [f"{name}={value}" for name, value in
                                                    replica_x264_params(settings).items()]
    return ":".join(param for param in params if param)


def _encode_mpeg4(frames: np.ndarray, scale: int, key_interval: int, b_frames: bool):
    """``frames`` through FFmpeg's MPEG-4 part 2 encoder at quantiser scale ``scale`` (1-31) for every macroblock.

    The encoder OpenCV's ``mp4v`` writer drives: its files (rate-controlled at OpenCV's bit
    rate) sat at scale 3 on ``benchmarks/bench_nuisance.py``'s scenes, and the same frames
    through this encoder at scale 3 gave the file's SI-SNR to 0.1 dB (``--nuisances mp4v``).
    Other encoders (XviD, DivX) decide which blocks to code by their own rules. B-frames only
    where the file has them.
    """

    def configure(stream):
        stream.codec_context.qmin = stream.codec_context.qmax = int(scale)
        stream.bit_rate = max(int(frames.shape[1] * frames.shape[2] * PLAYBACK_FPS * 24), 1)  # never binds
        stream.options = {"bf": "2" if b_frames else "0"}

    return _through("mpeg4", frames, key_interval, configure)


def _encode_vp8(frames: np.ndarray, rate: FileRate, *, into_frames: bool = False):
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

    return _through("libvpx", frames, rate.key_interval, configure, into_frames=into_frames)


def _through(encoder: str, frames: np.ndarray, key_interval: int, configure, *, into_frames: bool = False):
    """``frames`` (uint8) encoded by ``encoder`` as ``configure(stream)`` sets it, and decoded.

    ``into_frames``: decoded into ``frames`` themselves (all are coded before any is decoded), where
    the caller needs them no more: a replica's frames and the codec's, side by side, doubled its memory.
    """
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
    # into one array as they decode: a list of frames stacked at the end held the replica twice
    decoded = frames if into_frames and frames.dtype == np.uint8 else np.empty(frames.shape, dtype=np.uint8)
    count, q_index, key = 0, [], []
    with av.open(buffer) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"export_side_data": "venc_params"}
        for frame in container.decode(stream):
            if count == len(decoded):
                decoded = np.concatenate([decoded, np.empty_like(decoded[:1])])
            decoded[count] = _luma(frame)
            count += 1
            key.append(bool(frame.key_frame))
            q_index.extend(int(data.qp) for data in encoding_parameters(frame))
    return decoded[:count], np.asarray(q_index), np.asarray(key)


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
    and at its key-frame interval; for an H.264 file, x264 at that QP with the file's own x264
    settings (:attr:`FileQuantiser.encoder_settings`); for an MPEG-4 part 2
    file, FFmpeg's encoder at the nearest quantiser scale.

    Returns
    -------
    np.ndarray [shape=frames.shape], uint8
    """
    frames = _to_8bit(frames)
    if quantiser.codec == "H.264":
        return _encode_h264(frames, quantiser.effective_q_index, quantiser.key_interval, quantiser.b_frames,
                            settings=quantiser.encoder_settings)[0]
    if quantiser.codec == "MPEG-4 part 2":
        scale = int(np.clip(np.rint(quantiser.effective_q_index), *MPEG4_SCALES))
        return _encode_mpeg4(frames, scale, quantiser.key_interval, quantiser.b_frames)[0]
    settings = _encoder_settings(frames, quantiser.effective_q_index, quantiser.key_interval)
    setting = min(settings, key=lambda pair: abs(pair[1] - quantiser.effective_q_index))[0]
    return _encode(frames, setting, quantiser.key_interval)[0]
