"""Read high-speed video as a stream of grey frame batches, and write frames as video.

A video here is a file OpenCV decodes (AVI, MKV, MP4, MOV...), a folder of
image frames (PNG, TIFF, BMP, JPEG; 8 or 16 bit), a multi-page TIFF, or a
numpy array. :func:`open_video` returns a :class:`VideoSource` that yields
:class:`~vismic.data.FrameBatch` objects of grey float32 frames, in the
source's own grey units (0-255 for 8-bit video, 0-65535 for 16-bit), decoding
only one batch at a time.

The capture rate ``fps`` must be given by hand: high-speed cameras export
their clips with a playback rate (24-30 fps) in the container.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterator, Optional, Tuple

import cv2
import numpy as np

from .._checks import check_range
from ..data import FrameBatch
from ..errors import FrameShapeError, OutputError, ParameterError, VideoError, VismicWarning
from . import _frames
from ._atomic import FOLDER_MARK, check_destination, temporary_file, temporary_folder

__all__ = ["VideoSource", "open_video", "read_frames", "frame_count", "write_video"]

#: Above this playback rate OpenCV's writer silently drops frames and rewrites the rate.
MAX_PLAYBACK_FPS = 1000.0

#: Container rates at or below this look like a playback rate rather than a capture rate.
PLAYBACK_FPS_LIMIT = 60.0

# Lossless codecs to try, in order, when codec='FFV1' (the default) cannot be written.
_LOSSLESS_GREY = ("FFV1", "Y800", "HFYU")
_LOSSLESS_COLOUR = ("FFV1", "HFYU", "RGBA", "png ")
_LOSSLESS = {"FFV1", "Y800", "HFYU", "RGBA", "PNG "}


class VideoSource:
    """A re-iterable stream of :class:`~vismic.data.FrameBatch` from one video.

    Made by :func:`open_video`; see there for the parameters. Each iteration
    decodes the source again from its first frame, one batch at a time, and
    reads until the stream ends (the container's frame count is never trusted).

    Attributes
    ----------
    fps : float
        Capture rate in frames per second (as given).
    container_fps : float or None
        Rate stored in the video file (usually a playback rate); None for
        folders, TIFF files and arrays.
    frame_shape : tuple of int
        ``(height, width)`` of the frames yielded, after ``roi`` and ``downsample``.
    full_shape : tuple of int
        ``(height, width)`` of the source's frames.
    path : pathlib.Path or None
        The file or folder read (None for an array).
    frame_count_hint : int or None
        Number of frames the container or folder claims (capped by
        ``max_frames``); use :func:`frame_count` for the decoded count.
    roi : tuple of int
        ``(x, y, width, height)`` actually used (the full frame when none was given).
    downsample, batch_size, max_frames
        As given.
    """

    def __init__(self, reader, *, fps, roi, downsample, batch_size, max_frames):
        self._reader = reader
        self.fps = fps
        self.roi = roi
        self.downsample = downsample
        self.batch_size = batch_size
        self.max_frames = max_frames
        self.path = getattr(reader, "path", None)
        self.container_fps = reader.container_fps
        self.full_shape = reader.full_shape
        self.frame_shape = _frames.downsampled_shape(roi, downsample)
        hint = reader.count_hint
        if hint is not None and max_frames is not None:
            hint = min(hint, max_frames)
        self.frame_count_hint = hint

    def frames(self) -> Iterator[np.ndarray]:
        """Yield single frames ``(height, width)`` float32 (after roi and downsample)."""
        n = 0
        for frame in self._reader.frames(self.roi):
            if self.max_frames is not None and n >= self.max_frames:
                return
            yield _frames.block_mean(frame, self.downsample)
            n += 1

    def __iter__(self) -> Iterator[FrameBatch]:
        height, width = self.frame_shape
        buffer = None
        filled = 0
        start = 0
        for frame in self.frames():
            if buffer is None:
                buffer = np.empty((self.batch_size, height, width), dtype=np.float32)
            buffer[filled] = frame
            filled += 1
            if filled == self.batch_size:
                yield FrameBatch(buffer, start, self.fps)
                start += filled
                buffer, filled = None, 0
        if filled:
            yield FrameBatch(buffer[:filled].copy(), start, self.fps)

    def __repr__(self) -> str:
        source = str(self.path) if self.path is not None else "array"
        return (
            f"VideoSource({source!r}, fps={self.fps:g}, frame_shape={self.frame_shape}, "
            f"roi={self.roi}, downsample={self.downsample}, batch_size={self.batch_size})"
        )


def open_video(
    source,
    *,
    fps,
    roi: Optional[Tuple[int, int, int, int]] = None,
    downsample: int = 1,
    batch_size: int = 64,
    max_frames: Optional[int] = None,
) -> VideoSource:
    """Open a video, frame folder or frame array as a stream of grey frame batches.

    Parameters
    ----------
    source : str, os.PathLike or np.ndarray
        A video file OpenCV decodes (AVI, MKV, MP4, MOV, ...), a folder of image
        frames (png, tif/tiff, bmp, jpg; in natural order of their names, so
        ``frame2`` comes before ``frame10``; 8- and 16-bit kept at full
        precision), a multi-page TIFF file, or an array of shape ``(n, h, w)``
        (grey) or ``(n, h, w, 3)`` (RGB).
    fps : float
        Capture rate of the camera in frames per second. Required: a video
        container stores a playback rate, not the capture rate.
    roi : (x, y, width, height), optional
        Region to keep, in pixels of the full frame. Checked against the first
        frame before anything else is decoded.
    downsample : int, default 1
        Integer factor; ``downsample x downsample`` blocks are averaged (after
        the roi), which low-passes before decimating.
    batch_size : int, default 64
        Frames per :class:`~vismic.data.FrameBatch`.
    max_frames : int, optional
        Stop after this many frames.

    Returns
    -------
    VideoSource
        Iterating it yields :class:`~vismic.data.FrameBatch` objects with
        ``frames`` of shape ``(<= batch_size, height, width)``, float32, in the
        source's grey units (colour becomes luma 0.299 R + 0.587 G + 0.114 B).

    Raises
    ------
    ParameterError
        ``fps`` missing or not a positive number; bad ``roi``, ``downsample``,
        ``batch_size`` or ``max_frames``.
    VideoNotFoundError
        The path does not exist.
    VideoError
        The file cannot be decoded or decodes no frames; a folder without image
        frames or with an unreadable image.
    FrameShapeError
        Frames of different sizes; an array of the wrong shape.

    Warns
    -----
    VismicWarning
        When the file's container rate (<= 60 fps) differs from ``fps`` by more
        than 1 %: the usual sign of a high-speed export with a playback rate.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.io import open_video
    >>> frames = np.zeros((100, 48, 64), dtype=np.uint8)
    >>> video = open_video(frames, fps=2200, roi=(0, 0, 32, 32), downsample=2, batch_size=40)
    >>> video.frame_shape
    (16, 16)
    >>> [(len(batch), batch.start) for batch in video]
    [(40, 0), (40, 40), (20, 80)]
    """
    fps = _frames.check_fps(fps)
    return _open(source, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                 max_frames=max_frames, stacklevel=3)


def _open(source, *, fps, roi, downsample, batch_size, max_frames, stacklevel) -> VideoSource:
    roi = _frames.parse_roi(roi)
    _frames.check_positive_int(downsample, "downsample")
    batch_size = _frames.check_positive_int(batch_size, "batch_size")
    max_frames = _frames.check_positive_int(max_frames, "max_frames", allow_none=True)
    reader = _frames.make_reader(source)
    roi = _frames.fit_roi(roi, reader.full_shape)
    downsample = _frames.check_downsample(downsample, roi)
    container_fps = reader.container_fps
    if (
        fps is not None
        and container_fps is not None
        and container_fps <= PLAYBACK_FPS_LIMIT
        and abs(container_fps - fps) > 0.01 * fps
    ):
        warnings.warn(
            f"{str(reader.path)!r} stores a rate of {container_fps:g} fps, which looks like a "
            "playback rate: high-speed cameras export clips at a playback rate of 24-30 fps. "
            f"vismic uses fps={fps:g} as the capture rate.",
            VismicWarning,
            stacklevel=stacklevel,
        )
    return VideoSource(reader, fps=fps if fps is not None else 1.0, roi=roi,
                       downsample=downsample, batch_size=batch_size, max_frames=max_frames)


def read_frames(
    source,
    *,
    fps=None,
    roi: Optional[Tuple[int, int, int, int]] = None,
    downsample: int = 1,
    batch_size: int = 64,
    max_frames: Optional[int] = None,
) -> np.ndarray:
    """Read all frames of a source into one array (for short clips and tests).

    Parameters are those of :func:`open_video`, except that ``fps`` may be left
    out (it is then only used to check for a playback rate when given).

    Returns
    -------
    frames : np.ndarray [shape=(n, height, width)], float32

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.io import read_frames
    >>> rgb = np.zeros((3, 4, 4, 3), dtype=np.uint8); rgb[..., 0] = 255
    >>> round(float(read_frames(rgb)[0, 0, 0]), 3)  # pure red: 0.299 * 255
    76.245
    """
    if fps is not None:
        fps = _frames.check_fps(fps)
    video = _open(source, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                  max_frames=max_frames, stacklevel=3)
    frames = list(video.frames())
    return np.stack(frames) if frames else np.empty((0,) + video.frame_shape, np.float32)


def frame_count(source) -> int:
    """Number of frames a source really holds, counted by decoding (not from the header).

    Parameters
    ----------
    source : str, os.PathLike or np.ndarray
        As in :func:`open_video`.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.io import frame_count
    >>> frame_count(np.zeros((7, 8, 8)))
    7
    """
    return _frames.make_reader(source).count()


# --------------------------------------------------------------------------- writing


def write_video(path, frames, *, playback_fps: float = 30.0, codec: str = "FFV1", overwrite: bool = False) -> Path:
    """Write frames as a video file, or as a folder of PNG frames when ``path`` has no suffix.

    The file is written under a temporary name in the same folder, checked
    (decoded again, its frames counted) and only then moved onto ``path``: an
    existing file is replaced whole, and a failure leaves nothing behind.

    Parameters
    ----------
    path : str or os.PathLike
        ``clip.avi`` or ``clip.mkv`` for the lossless default codec (MP4 cannot
        hold it); a path without suffix (``frames/``) writes
        ``frame_000000.png, frame_000001.png, ...`` into that folder.
    frames : np.ndarray [shape=(n, h, w) or (n, h, w, 3)]
        Grey or RGB frames. uint8 is written as is; uint16 is kept as 16 bit
        for PNG folders and grey FFV1; any other dtype is rounded and clipped
        to 0-255 uint8.
    playback_fps : float, default 30.0
        Rate stored in the container. Keep it a playback rate: OpenCV drops
        frames above about 1000 fps, so give the capture rate separately when
        reading the clip back.
    codec : str, default 'FFV1'
        FourCC. 'FFV1' is lossless; when this OpenCV cannot write it into the
        container, 'Y800'/'HFYU' (grey) or 'HFYU'/'RGBA' (colour), also
        lossless, are tried. Lossy codecs ('MJPG', 'mp4v') are allowed but
        destroy sub-pixel motion.
    overwrite : bool, default False
        Frame folders only: replace an existing non-empty folder that vismic did
        not write. Without it such a folder is refused (an empty folder, or one
        vismic wrote, is always replaced). Files are always replaced atomically.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        The folder does not exist or is not writable, no writer opens for this
        codec and container, or the writer dropped frames.
    ParameterError, FrameShapeError
        Bad ``playback_fps``, ``codec`` or frames.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from vismic.io import write_video, read_frames
    >>> frames = np.random.default_rng(0).integers(0, 256, (10, 32, 48), dtype=np.uint8)
    >>> path = write_video(os.path.join(tempfile.mkdtemp(), "clip.avi"), frames)
    >>> bool(np.array_equal(read_frames(path), frames))
    True
    """
    frames = _frames_to_write(frames)
    playback_fps = _check_playback_fps(playback_fps)
    if not isinstance(codec, str) or len(codec) != 4:
        raise ParameterError(f"codec must be a four-character FourCC such as 'FFV1', given codec={codec!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"the video path must be a string or path, given {path!r}")
    if Path(path).suffix == "":
        return _write_folder(check_destination(path, what="frame folder", folder=True), frames, overwrite)
    return _write_file(check_destination(path, what="video", folder=False), frames, codec, playback_fps)


def _check_playback_fps(playback_fps) -> float:
    try:
        return check_range(playback_fps, "playback_fps", 0.0, MAX_PLAYBACK_FPS, include_low=False)
    except ParameterError as error:
        raise ParameterError(
            f"{error} (OpenCV's writer drops frames above about 1000 fps; store a playback rate such as 30)"
        ) from None


def _write_file(path: Path, frames: np.ndarray, codec: str, playback_fps: float) -> Path:
    """Write a video file through a temporary name, count its frames, then move it onto ``path``."""
    colour = frames.ndim == 4
    if frames.dtype == np.uint16 and (colour or codec.upper() != "FFV1"):
        raise ParameterError(
            f"16-bit frames can be written as grey FFV1 video or as a PNG folder; given "
            f"{'RGB' if colour else 'grey'} frames with codec={codec!r} (convert to uint8 or "
            "use a path without suffix)"
        )
    if codec.upper() == "FFV1" and frames.dtype != np.uint16:
        candidates = _LOSSLESS_COLOUR if colour else _LOSSLESS_GREY
    else:
        candidates = (codec,)
    with temporary_file(path, what="video") as temporary:
        writer, used = _open_writer(temporary, candidates, frames, playback_fps)
        if writer is None:
            raise OutputError(
                f"cannot write video {str(path)!r}: OpenCV has no writer for codec "
                f"{' or '.join(repr(c) for c in candidates)} in a {path.suffix!r} file"
                + (" (use .avi or .mkv for lossless FFV1, or a path without suffix for PNG "
                   "frames)" if codec.upper() in _LOSSLESS else "")
            )
        try:
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if colour else frame)
        finally:
            writer.release()
        try:
            written = _frames.FileReader(temporary).count()
        except VideoError:
            written = 0
        if written != frames.shape[0]:
            raise OutputError(
                f"cannot write video {str(path)!r}: the {used!r} writer kept {written} of "
                f"{frames.shape[0]} frames"
            )
    return path


def _frames_to_write(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[3] != 3):
        raise FrameShapeError(
            "frames to write must have shape (n, height, width) for grey or (n, height, width, 3) "
            f"for RGB, given shape={frames.shape}"
        )
    if frames.shape[0] == 0 or frames.shape[1] == 0 or frames.shape[2] == 0:
        raise FrameShapeError(f"no frames to write, given shape={frames.shape}")
    if frames.dtype in (np.uint8, np.uint16):
        return frames
    if not (np.issubdtype(frames.dtype, np.number) or frames.dtype == np.bool_) or np.iscomplexobj(frames):
        raise ParameterError(f"frames must hold real numbers, given dtype={frames.dtype}")
    if np.issubdtype(frames.dtype, np.floating) and not np.isfinite(frames).all():
        raise ParameterError("frames to write contain NaN or infinite values")
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def _open_writer(path: Path, codecs, frames: np.ndarray, playback_fps: float):
    height, width = frames.shape[1:3]
    colour = frames.ndim == 4
    for codec in codecs:
        params = [cv2.VIDEOWRITER_PROP_IS_COLOR, int(colour)]
        if frames.dtype == np.uint16:
            params += [cv2.VIDEOWRITER_PROP_DEPTH, cv2.CV_16U]
        writer = cv2.VideoWriter(
            str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*codec), playback_fps,
            (width, height), params,
        )
        if writer.isOpened():
            return writer, codec
        writer.release()
    return None, None


def _write_folder(path: Path, frames: np.ndarray, overwrite: bool) -> Path:
    digits = max(6, len(str(frames.shape[0] - 1)))
    colour = frames.ndim == 4
    with temporary_folder(path, what="frame folder", overwrite=overwrite) as temporary:
        (Path(temporary) / FOLDER_MARK).write_text("frames written by vismic; vismic may replace this folder\n")
        for index, frame in enumerate(frames):
            ok, data = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if colour else frame)
            if not ok:
                raise OutputError(f"cannot encode frame {index} as PNG for {str(path)!r}")
            data.tofile(str(Path(temporary) / f"frame_{index:0{digits}d}.png"))
    return path
