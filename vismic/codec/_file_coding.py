"""How a VP9, H.264, MPEG-4 part 2 or VP8 file's frames were coded: their quantisers, key frames and bits.

VP9's, H.264's and MPEG-4 part 2's decoders export each frame's quantiser (FFmpeg's ``venc_params``,
:func:`read_quantisers`); VP8's export none, and its frame headers are read instead
(:func:`read_rate`). :mod:`vismic.codec._encoders` codes a replica's frames as these say
the file's were. Reading needs PyAV (``pip install vismic[codecs]``).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .._checks import check_positive_int
from ..errors import ParameterError
from ._x264_settings import read_x264_settings

__all__ = ["FileQuantiser", "FileRate", "read_quantisers", "read_rate", "EFFECTIVE_PERCENTILE", "VP8_QMIN",
           "COARSER_SHARE"]

#: Percentile of a file's quantiser indices between key frames that its replica is encoded at.
EFFECTIVE_PERCENTILE = 90

#: The finest quantiser a VP8 replica may use where the file's frames do not say: OpenCV's writer sets
#: FFmpeg's ``qmin`` to 3, and the rate control of its files (at 1.5 bits a pixel) reaches it on textured scenes.
VP8_QMIN = 3

#: Share of a VP8 file's frames between key frames that may be coarser than their median in a file
#: whose rate control did not bind (:attr:`FileRate.one_quantiser`).
COARSER_SHARE = 0.01


def _av():
    try:
        import av
    except ImportError as error:
        raise ImportError("reading how a video file was coded (quantisers, key frames, bits) needs PyAV: "
                          "pip install vismic[codecs]") from error
    return av


@contextmanager
def opened_video(path, what: str):
    """The container of the video file at ``path``: one error naming it where it is missing or unreadable.

    ``what`` says what is read (``"quantisers"``...). Raises :class:`~vismic.errors.VideoNotFoundError`
    and :class:`~vismic.errors.CorruptVideoError` (PyAV's own errors, inside the block too), and
    ImportError without PyAV.
    """
    from ..errors import CorruptVideoError, VideoNotFoundError

    av = _av()
    if not os.path.isfile(os.fspath(path)):
        raise VideoNotFoundError(f"no video file at {os.fspath(path)!r}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise CorruptVideoError(f"{os.fspath(path)!r} holds no video stream")
            yield container
    except av.error.FFmpegError as error:
        raise CorruptVideoError(f"cannot read the {what} of {os.fspath(path)!r}: {error}") from None


def _video_stream(container, codec: str, path, what: str):
    """The container's video stream, refused (one ParameterError naming ``what``) unless it is ``codec``."""
    stream = container.streams.video[0]
    if stream.codec_context.name != codec.lower():
        raise ParameterError(f"{path} is {stream.codec_context.name}, not {codec}: its {what} is not read")
    return stream


@dataclass(frozen=True)
class FileQuantiser:
    """How a VP9, H.264 or MPEG-4 part 2 file's frames were quantised.

    Attributes
    ----------
    q_index : np.ndarray [shape=(n_frames,)]
        Each shown frame's base quantiser: VP9's index (0-255), H.264's QP (0-51), MPEG-4 part
        2's quantiser scale (1-31, the median over the frame's macroblocks); lower is finer.
    key : np.ndarray [shape=(n_frames,)], bool
        Whether the frame is a key frame.
    codec : {'VP9', 'H.264', 'MPEG-4 part 2'}
        The file's codec.
    b_frames : bool
        Whether the file has bidirectionally predicted frames (H.264's B-frames).
    encoder_settings : dict, optional
        The settings x264 wrote into an H.264 file (:func:`vismic.codec._x264_settings.read_x264_settings`:
        ``{'ref': '2', 'subme': '6', ...}``), which its replica is coded with; None where the file
        holds none.

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
    encoder_settings: Optional[dict] = None

    def __post_init__(self):
        if self.codec not in QUANTISER_DECODERS.values():
            raise ParameterError(f"codec must be one of {sorted(QUANTISER_DECODERS.values())}, given {self.codec!r}")
        q, key = np.asarray(self.q_index), np.asarray(self.key)
        if q.ndim != 1 or key.shape != q.shape or not q.size or not np.all(np.isfinite(q.astype(np.float64))):
            raise ParameterError(f"q_index and key must be two 1-D arrays of one finite value per frame, given shapes "
                                 f"{q.shape} and {key.shape}")

    @property
    def effective_q_index(self) -> float:
        """The quantiser index one constant index for the whole clip stands for: the 90th percentile between key frames.

        A rate-controlled file (OpenCV's VP9 writer) codes some frames far more coarsely than
        the median, and the coarser frames' errors set the loss. The true scenes through constant indices (``benchmarks/bench_replica.py
        --q-statistics``, 16 scenes, at libvpx-vp9's default speed) read -2.6 to +1.0 dB from the file's SI-SNR at the 90th
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
QUANTISER_DECODERS = {"vp9": "VP9", "h264": "H.264", "mpeg4": "MPEG-4 part 2"}

#: FFmpeg's MPEG-1/2/4 part 2 decoders export each macroblock's quantiser scale doubled (``venc_params``
#: of MPEG-2's kind, whose scale steps by 2): FFmpeg's own encoder at ``qmin = qmax = 3`` reads back 6.
MPEG_QP_PER_SCALE = 2


def _frame_quantiser(params, codec: str) -> float:
    """A decoded frame's base quantiser from its ``venc_params``: H.264's and VP9's frame QP, MPEG-4's median block scale."""
    if codec != "MPEG-4 part 2":
        return int(params.qp)
    # the frame's own qp is 0 there: every macroblock carries its scale as its delta (qp_map: PyAV 14 and later)
    qp_map = getattr(params, "qp_map", None)
    scales = qp_map() if qp_map is not None else [params.block_params(i).delta_qp for i in range(params.nb_blocks)]
    return float(np.median(scales)) / MPEG_QP_PER_SCALE


def encoding_parameters(frame) -> list:
    """The encoding parameters (``VideoEncParams``, with a ``qp``) a decoder exported with a frame.

    Decoding must ask for them (``codec_context.options = {"export_side_data": "venc_params"}``).
    PyAV up to 18.1.0 iterates a frame's side data as the side data themselves, 18.1.1 as their
    types (a mapping): with 18.1.1 every file read as having no quantiser.
    """
    data = frame.side_data
    items = list(data)
    if items and not any(hasattr(item, "qp") for item in items):
        items = [data[item] for item in items]
    return [item for item in items if hasattr(item, "qp")]


def read_quantisers(path, max_frames=None) -> FileQuantiser:
    """The quantiser of each frame of a VP9, H.264 or MPEG-4 part 2 file (its first ``max_frames`` frames).

    Raises
    ------
    ParameterError
        The file's video stream is none of those, or its decoder exported no quantiser.
    VideoNotFoundError, CorruptVideoError
        No file there, or not one PyAV can read.
    ImportError
        PyAV is not installed.
    """
    max_frames = check_positive_int(max_frames, "max_frames", allow_none=True)
    q_index, key, b_frames = [], [], False
    with opened_video(path, "quantisers") as container:
        stream = container.streams.video[0]
        codec = QUANTISER_DECODERS.get(stream.codec_context.name)
        if codec is None:
            raise ParameterError(f"{path} is {stream.codec_context.name}, not VP9, H.264 or MPEG-4 part 2: its "
                                 "quantiser is not read")
        stream.codec_context.options = {"export_side_data": "venc_params"}
        for frame in container.decode(stream):
            params = encoding_parameters(frame)
            if not params:
                raise ParameterError(f"the {codec} decoder exported no quantiser for frame {len(q_index)} of {path}")
            q_index.append(_frame_quantiser(params[0], codec))
            key.append(bool(frame.key_frame))
            b_frames |= int(getattr(frame.pict_type, "value", frame.pict_type)) == PICTURE_TYPE_B
            if max_frames is not None and len(q_index) >= max_frames:
                break
    if not q_index:
        raise ParameterError(f"{path} has no frames to read a quantiser from")
    settings = read_x264_settings(path) if codec == "H.264" else None
    return FileQuantiser(np.asarray(q_index), np.asarray(key), codec, b_frames, settings)


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
    VideoNotFoundError, CorruptVideoError
        No file there, or not one PyAV can read.
    ImportError
        PyAV is not installed.
    """
    from ._vp8_header import vp8_frame_quantiser

    max_frames = check_positive_int(max_frames, "max_frames", allow_none=True)
    sizes, keys, q_index = [], [], []
    with opened_video(path, "bit rate") as container:
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
