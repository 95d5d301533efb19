"""Read high-speed video as a stream of grey frame batches, and write frames as video.

A video here is a high-speed camera file (Phantom ``.cine``, Photron
``.cih``/``.cihx`` + ``.mraw``), a multi-page or BigTIFF stack, a file OpenCV
decodes (AVI, MKV, MP4, MOV...), a folder of image frames (PNG, TIFF, BMP,
JPEG; 8 or 16 bit), or a numpy array. :func:`open_video` returns a
:class:`VideoSource` that yields :class:`~vismic.data.FrameBatch` objects of
grey float32 frames, in the source's own grey units (0-255 for 8-bit video,
0-4095 for 12-bit, 0-65535 for 16-bit), decoding only one batch at a time.

The capture rate comes from the file when its format stores one (cine, cih):
``VideoSource.fps_source`` says where it came from. Other containers store a
playback rate (24-30 fps for high-speed exports), so ``fps`` must be given.
"""

from __future__ import annotations

import itertools
import logging
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Iterator, Optional, Tuple

import cv2
import numpy as np

from .._checks import check_range
from ..data import FrameBatch
from ..errors import CorruptVideoError, FrameShapeError, OutputError, ParameterError, VideoError, VismicWarning
from . import _frames
from ._camera import CameraHeader, check_complete
from ._atomic import FOLDER_MARK, check_destination, temporary_file, temporary_folder

__all__ = ["VideoSource", "CameraHeader", "open_video", "read_frames", "frame_count", "write_video",
           "auto_batch_size", "BATCH_BYTES"]

#: Above this playback rate OpenCV's writer silently drops frames and rewrites the rate.
MAX_PLAYBACK_FPS = 1000.0
#: Below this playback rate OpenCV's lossless encoders do not open (0.001 failed as "no writer for codec").
MIN_PLAYBACK_FPS = 0.01

#: Container rates at or below this look like a playback rate rather than a capture rate; a given fps that
#: contradicts a higher one is warned about.
PLAYBACK_FPS_LIMIT = 60.0

logger = logging.getLogger(__name__)

#: A given fps further than this (relative) from the rate a camera file stores is warned about.
FPS_TOLERANCE = 1e-3

#: Bytes of float32 frames one batch holds at most when ``batch_size=None`` (the default). The
#: default pipeline holds ~20-40x a batch's bytes (complex pyramids, phases): 16 MiB keeps a
#: 512x512 recovery near 0.5 GB (1.4 GB with 64-frame batches; benchmarks/bench_memory.py).
BATCH_BYTES = 16 * 2**20

#: Most frames in one batch when ``batch_size=None``: small frames gain nothing from longer batches.
MAX_AUTO_BATCH = 64

#: ``VideoSource.fps_source`` when the rate came from the ``fps`` argument.
FPS_FROM_ARGUMENT = "argument"

# Lossless codecs to try, in order, when codec='FFV1' (the default) cannot be written.
_LOSSLESS_GREY = ("FFV1", "Y800", "HFYU")
_LOSSLESS_COLOUR = ("FFV1", "HFYU", "RGBA", "png ")
_LOSSLESS = {"FFV1", "Y800", "HFYU", "RGBA", "PNG "}


class VideoSource:
    """A re-iterable stream of :class:`~vismic.data.FrameBatch` from one video.

    Made by :func:`open_video`; see there for the parameters. Each iteration
    decodes the source again from its first frame, one batch at a time, and
    reads until the stream ends. A video file's stream is checked against its
    container while it is read (frames missing between time stamps are filled
    and named, a stream shorter than the container's count is reported, see
    ``strict``); a camera file's count is checked against its size when it is opened.

    Attributes
    ----------
    fps : float
        Capture rate in frames per second.
    fps_source : str
        Where ``fps`` came from: ``'argument'`` or the file header field, e.g.
        ``'file header (SETUP.FrameRate)'``.
    header : CameraHeader or None
        What a camera file's header says (rate, bit depth, frame range,
        trigger); None for other sources.
    container_fps : float or None
        Rate stored in a video container (usually a playback rate); None for
        camera files, folders, TIFF files and arrays.
    frame_shape : tuple of int
        ``(height, width)`` of the frames yielded, after ``roi`` and ``downsample``.
    full_shape : tuple of int
        ``(height, width)`` of the source's frames.
    path : pathlib.Path or None
        The file or folder read (None for an array).
    codec : str or None
        FourCC of a video file's stream as its decoder reports it (``'avc1'``,
        ``'VP90'``, ``'FMP4'``, ``'MJPG'``, ``'ffv1'``...); None for camera files, raw
        AVIs, TIFF stacks, folders and arrays. :func:`recover_sound
        <vismic.recover_sound>` flags inter-frame codecs.
    frame_count_hint : int or None
        Number of frames the container, header or folder claims (capped by
        ``max_frames``); use :func:`frame_count` for the decoded count.
    random_access : bool
        Whether :meth:`read` reaches a frame range without decoding the frames
        before it (camera files, uncompressed TIFF stacks, arrays).
    roi : tuple of int
        ``(x, y, width, height)`` actually used (the full frame when none was given).
    batch_size : int
        Frames per batch: as given, or chosen from ``max_batch_bytes`` when None was given.
    downsample, max_frames, strict
        As given.
    start_frame : int
        The video's frame that is frame 0 here (0 unless made by :meth:`starting_at`): batch
        starts, :meth:`read` and ``frame_count_hint`` count from it.
    stop_frame : int or None
        The video's frame this source stops before (None unless made by :meth:`ending_before`).
    """

    def __init__(self, reader, *, fps, roi, downsample, batch_size, max_frames, fps_source=FPS_FROM_ARGUMENT,
                 strict=False):
        self._reader = reader
        self.strict = bool(strict)
        if hasattr(reader, "strict"):
            reader.strict = self.strict
        self.fps = fps
        self.fps_source = fps_source
        self.roi = roi
        self.downsample = downsample
        self.batch_size = batch_size
        self.max_frames = max_frames
        self.path = getattr(reader, "path", None)
        self.codec = getattr(reader, "codec", None)
        self.header = getattr(reader, "header", None)
        self.container_fps = reader.container_fps
        self.full_shape = reader.full_shape
        self.frame_shape = _frames.downsampled_shape(roi, downsample)
        self.random_access = hasattr(reader, "read")
        hint = reader.count_hint
        if hint is not None and max_frames is not None:
            hint = min(hint, max_frames)
        self.frame_count_hint = hint
        self.start_frame = 0
        self.stop_frame = None
        #: The low-pass before ``downsample``'s block means (:func:`~vismic.io._frames.downsample_frame`'s ``sigma``).
        self.anti_alias = _frames.ANTI_ALIAS_SIGMA
        #: Whether ``anti_alias`` was chosen (:meth:`with_anti_alias`): :func:`vismic.recover_sound` keeps it then.
        self.anti_alias_given = False

    def with_anti_alias(self, sigma: float) -> "VideoSource":
        """The same video with another low-pass before ``downsample``'s block means (0: the block means alone).

        A rolling-shutter reading takes each reduced row at its block's mean time, so it reads
        block means alone; ``sigma`` is in pixels of the frames read per unit of ``downsample``.

        Examples
        --------
        >>> import numpy as np
        >>> from vismic.io import open_video
        >>> frames = np.tile([0.0, 4.0, 0.0, 0.0], (3, 4, 1))
        >>> video = open_video(frames, fps=1000, downsample=2)
        >>> video.with_anti_alias(0).read(0, 1).frames[0].tolist()
        [[2.0, 0.0], [2.0, 0.0]]
        """
        try:
            value = float("nan") if isinstance(sigma, bool) else float(sigma)
        except (TypeError, ValueError):
            value = float("nan")
        if not (np.isfinite(value) and value >= 0):
            raise ParameterError(f"sigma must be a number >= 0, given {sigma!r}")
        sigma = value
        other = self._copy()
        other.anti_alias = sigma
        other.anti_alias_given = True
        return other

    def starting_at(self, start_frame: int) -> "VideoSource":
        """The same video from frame ``start_frame`` on, as a source whose frame 0 is that frame.

        ``max_frames`` still counts from the video's first frame.

        Examples
        --------
        >>> import numpy as np
        >>> from vismic.io import open_video
        >>> video = open_video(np.arange(10 * 4 * 4).reshape(10, 4, 4), fps=1000).starting_at(4)
        >>> video.frame_count_hint, float(video.read(0, 1).frames[0, 0, 0])
        (6, 64.0)
        """
        if isinstance(start_frame, bool) or not isinstance(start_frame, numbers.Integral) or start_frame < 0:
            raise ParameterError(f"start_frame must be a frame index (an integer >= 0), given {start_frame!r}")
        later = self._copy()
        later.start_frame = int(start_frame)
        if self.frame_count_hint is not None:
            later.frame_count_hint = max(0, self.frame_count_hint + self.start_frame - later.start_frame)
        return later

    def ending_before(self, stop: int) -> "VideoSource":
        """The same video up to frame ``stop`` here (excluded), as a source that stops there.

        Examples
        --------
        >>> import numpy as np
        >>> from vismic.io import open_video
        >>> video = open_video(np.arange(10 * 4 * 4).reshape(10, 4, 4), fps=1000).starting_at(2).ending_before(5)
        >>> video.frame_count_hint, [len(batch) for batch in video]
        (5, [5])
        """
        if isinstance(stop, bool) or not isinstance(stop, numbers.Integral) or stop < 1:
            raise ParameterError(f"stop must be a frame count (an integer >= 1), given {stop!r}")
        earlier = self._copy()
        limit = self.start_frame + int(stop)
        earlier.stop_frame = limit if self.stop_frame is None else min(self.stop_frame, limit)
        if self.frame_count_hint is not None:
            earlier.frame_count_hint = min(self.frame_count_hint, int(stop))
        return earlier

    def _copy(self) -> "VideoSource":
        # not copy.copy: that goes through __reduce__, which reopens the file
        copied = object.__new__(VideoSource)
        copied.__dict__.update(self.__dict__)
        return copied

    def _limit(self) -> Optional[int]:
        """The video's frame reading stops before (``max_frames``, ``stop_frame``), or None."""
        limits = [limit for limit in (self.max_frames, self.stop_frame) if limit is not None]
        return min(limits) if limits else None

    def _convert(self, raw: np.ndarray) -> np.ndarray:
        """Frames as read (full size, stored type) -> float32 grey after roi and downsample."""
        x, y, w, h = self.roi
        where = self._reader.where
        out = np.empty((raw.shape[0],) + self.frame_shape, dtype=np.float32)
        if raw.ndim == 3:
            crop = raw[:, y : y + h, x : x + w]
            if self.downsample == 1:
                if crop.flags.c_contiguous:
                    out[...] = crop
                elif crop.strides[1] < 0:
                    # Rows stored bottom up: numpy casts from (or into) reversed rows ~3x slower
                    # than OpenCV flips the rows in file order and numpy casts the result.
                    for i, frame in enumerate(crop):
                        out[i] = cv2.flip(frame[::-1], 0)
                else:
                    # Frame by frame: numpy casts a strided 3-D block through a slow buffered loop.
                    for i, frame in enumerate(crop):
                        out[i] = frame
                return out
            for i, frame in enumerate(crop):
                out[i] = _frames.downsample_frame(frame, self.downsample, sigma=self.anti_alias)
            return out
        order = "RGB"
        for i, frame in enumerate(raw):
            out[i] = _frames.downsample_frame(_frames.to_grey(frame, channel_order=order, roi=self.roi, where=where),
                                              self.downsample, sigma=self.anti_alias)
        return out

    def _batch(self, raw: np.ndarray, start: int) -> FrameBatch:
        frames = self._convert(raw)
        # converted integers are finite: no pass to check them; the rest are checked naming the video
        if not (raw.dtype.kind in "biu" and raw.dtype.itemsize <= 4):
            _frames.check_levels(frames, self._describe(), start=start,
                                 error=ParameterError if self.path is None else VideoError)
        return FrameBatch._of_finite(frames, start, self.fps)

    def _stop(self) -> int:
        """Frames here (from :attr:`start_frame`) of a random-access source."""
        total = self._reader.count_hint
        limit = self._limit()
        return max(0, (total if limit is None else min(total, limit)) - self.start_frame)

    def read(self, start: int, count: int) -> FrameBatch:
        """Frames ``start .. start + count - 1`` as one :class:`~vismic.data.FrameBatch`.

        Camera files, uncompressed TIFF stacks and arrays reach the range
        directly (for workers that each read their own range); other sources
        decode and drop the frames before it. The range is cut at the end of
        the video (and at ``max_frames``).

        Examples
        --------
        >>> import numpy as np
        >>> from vismic.io import open_video
        >>> video = open_video(np.arange(10 * 4 * 4).reshape(10, 4, 4), fps=1000)
        >>> batch = video.read(6, 3)
        >>> batch.start, len(batch), float(batch.frames[0, 0, 0])
        (6, 3, 96.0)
        """
        if isinstance(start, bool) or not isinstance(start, numbers.Integral) or start < 0:
            raise ParameterError(f"start must be a frame index (an integer >= 0), given start={start!r}")
        start = int(start)
        count = _frames.check_positive_int(count, "count")
        if self.random_access:
            stop = min(start + count, self._stop())
            if start >= stop:
                raise ParameterError(
                    f"start={start} is past the last frame ({self._stop() - 1}) of {self._describe()}"
                )
            return self._batch(self._reader.read(self.start_frame + start, stop - start), start)
        frames = []
        for index, frame in enumerate(self.frames()):
            if index >= start + count:
                break
            if index >= start:
                frames.append(frame)
        if not frames:
            raise ParameterError(f"start={start} is past the last frame of {self._describe()}")
        return FrameBatch(np.stack(frames), start, self.fps)

    def read_stored(self, start: int, count: int, *, into=None) -> np.ndarray:
        """Frames ``start .. start + count - 1`` as stored, when that is grey at full resolution.

        For a random-access grey source without ``downsample``, the roi of the
        stored frames (uint8, uint16...), often a view of what was read: a caller
        that converts them itself (a worker subtracting the reference) skips a pass.
        Any other source gives :meth:`read`'s float32 frames. Same values either way.
        ``into`` (a :class:`vismic.io._raw_avi.ReadBuffer`) is memory the reader may
        fill instead of taking new: the frames are then valid only until its next use.
        """
        if self.random_access and self.downsample == 1:
            stop = min(start + count, self._stop())
            if start < stop:
                first = self.start_frame + start
                if into is not None and getattr(self._reader, "reads_into", False):
                    raw = self._reader.read(first, stop - start, into=into)
                else:
                    raw = self._reader.read(first, stop - start)
                if raw.ndim == 3 and np.issubdtype(raw.dtype, np.integer):
                    x, y, w, h = self.roi
                    return raw[:, y: y + h, x: x + w]
        return self.read(start, count).frames

    def frames(self) -> Iterator[np.ndarray]:
        """Yield single frames ``(height, width)`` float32 (after roi and downsample)."""
        if self.random_access:
            for batch in self:
                yield from batch.frames
            return
        n, limit = 0, self._limit()
        for frame in self._reader.frames(self.roi):
            if limit is not None and n >= limit:
                return
            if n >= self.start_frame:
                yield _frames.downsample_frame(frame, self.downsample, sigma=self.anti_alias)
            n += 1

    def __iter__(self) -> Iterator[FrameBatch]:
        if self.random_access:
            stop = self._stop()
            for start in range(0, stop, self.batch_size):
                raw = self._reader.read(self.start_frame + start, min(self.batch_size, stop - start))
                yield self._batch(raw, start)
            return
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

    def _describe(self) -> str:
        return repr(str(self.path)) if self.path is not None else "the frame array"

    def __reduce__(self):
        # A file source travels as its recipe: a worker reopens the file (once per process) and reads its own ranges.
        if self.path is None:
            return super().__reduce__()
        return _reopen, (str(self.path), self.fps, self.fps_source, self.roi, self.downsample, self.batch_size,
                         self.max_frames, self.strict, self.start_frame, self.stop_frame, self.anti_alias)

    def __repr__(self) -> str:
        source = str(self.path) if self.path is not None else "array"
        start = f", start_frame={self.start_frame}" if self.start_frame else ""
        return (
            f"VideoSource({source!r}, fps={self.fps:g}, frame_shape={self.frame_shape}, "
            f"roi={self.roi}, downsample={self.downsample}, batch_size={self.batch_size}{start})"
        )


#: Sources reopened in this process from a pickled recipe, newest last.
_REOPENED: dict = {}


def _reopen(path, fps, fps_source, roi, downsample, batch_size, max_frames, strict, start_frame=0,
            stop_frame=None, anti_alias=_frames.ANTI_ALIAS_SIGMA) -> VideoSource:
    """A pickled :class:`VideoSource` opened again (the parent already said what opening it warns about)."""
    info = os.stat(path)
    key = (path, info.st_size, info.st_mtime_ns, fps, roi, downsample, batch_size, max_frames, strict)
    found = _REOPENED.get(key)
    if found is None:
        # quiet, not warnings.catch_warnings(): projection threads reopen sources side by side, and
        # catch_warnings swaps the process's filters, so threads restored each other's and the CLI's
        # recorder was left ignoring the recovery's own warnings (in 1-6 runs of 8 on a TIFF stack)
        found = _open(path, fps=fps if fps is None else _frames.check_fps(fps), roi=roi, downsample=downsample,
                      batch_size=batch_size, max_frames=max_frames, stacklevel=2, require_fps=True, strict=strict,
                      quiet=True)
        found.fps_source = fps_source
        while len(_REOPENED) >= 2:
            _REOPENED.pop(next(iter(_REOPENED)))
        _REOPENED[key] = found
    found = found.starting_at(start_frame) if start_frame else found
    found = found.with_anti_alias(anti_alias) if anti_alias != found.anti_alias else found
    return found.ending_before(stop_frame - start_frame) if stop_frame is not None else found


def open_video(
    source,
    *,
    fps=None,
    roi: Optional[Tuple[int, int, int, int]] = None,
    downsample: int = 1,
    batch_size: Optional[int] = None,
    max_frames: Optional[int] = None,
    max_batch_bytes: int = BATCH_BYTES,
    strict: bool = False,
) -> VideoSource:
    """Open a video, camera file, frame folder or frame array as a stream of grey frame batches.

    Parameters
    ----------
    source : str, os.PathLike or np.ndarray
        A Phantom ``.cine`` file; a Photron ``.cih`` or ``.cihx`` header or its
        ``.mraw`` data file (the other one is found beside it); a multi-page
        or BigTIFF stack (``.tif``, ``.tiff``); a video file OpenCV decodes
        (AVI, MKV, MP4, MOV, ...); a folder of image frames (png, tif/tiff,
        bmp, jpg; in natural order of their names, so ``frame2`` comes before
        ``frame10``); or an array of shape ``(n, h, w)`` (grey) or
        ``(n, h, w, 3)`` (RGB). 8-, 10-, 12- and 16-bit data keep their values.
    fps : float, optional
        Capture rate of the camera in frames per second. Camera files (cine,
        cih/cihx) store it, and it is read from them when ``fps`` is left out;
        every other source needs it (a video container stores a playback rate,
        not the capture rate). A given ``fps`` is always used.
    roi : (x, y, width, height), optional
        Region to keep, in pixels of the full frame (top row is y = 0). Checked
        against the first frame before anything else is decoded.
    downsample : int, default 1
        Integer factor; after the roi, each frame is low-passed (a Gaussian of
        0.45 ``downsample`` px) and ``downsample x downsample`` blocks are averaged
        (:func:`vismic.io._frames.downsample_frame`): block means alone let aliased detail
        through, which moves the wrong way when the camera moves.
    batch_size : int, optional
        Frames per :class:`~vismic.data.FrameBatch`. By default (None) as many
        as fit in ``max_batch_bytes`` of float32 frames (after roi and
        downsample), at least 1 and at most 64: 64 frames up to 256x256,
        16 at 512x512, 4 at 1024x1024. The stages after the reader hold
        about 20-40 times a batch's bytes, so this bounds the memory of a
        recovery whatever the frame size.
    max_frames : int, optional
        Stop after this many frames.
    max_batch_bytes : int, default 16 MiB
        Bound on one batch of float32 frames when ``batch_size`` is None.
    strict : bool, default False
        Refuse a damaged video file (:class:`~vismic.errors.CorruptVideoError`)
        instead of warning: frames missing inside the stream, or fewer frames
        than the container promises.

    Returns
    -------
    VideoSource
        Iterating it yields :class:`~vismic.data.FrameBatch` objects with
        ``frames`` of shape ``(<= batch_size, height, width)``, float32, in the
        source's grey units (colour becomes luma 0.299 R + 0.587 G + 0.114 B).
        ``fps_source`` says where the rate came from; ``header`` holds a camera
        file's header; :meth:`VideoSource.read` reads any frame range.

    Raises
    ------
    ParameterError
        ``fps`` missing for a source that stores no capture rate, or not a
        positive number; bad ``roi``, ``downsample``, ``batch_size`` or ``max_frames``.
    VideoNotFoundError
        The path does not exist.
    CorruptVideoError
        With ``strict``, a damaged video file (raised while iterating); a frame
        that fails to decode (names its index); a camera file shorter than its header promises (unless ``max_frames``
        asks only for the whole frames it holds: the message gives that number),
        a header that contradicts its data, an unknown bit depth, a Photron
        header without its ``.mraw`` (or the reverse).
    VideoError
        The file cannot be decoded or decodes no frames; a folder without image
        frames or with an unreadable image; a colour camera file.
    FrameShapeError
        Frames of different sizes; an array of the wrong shape.

    Warns
    -----
    DamagedVideoWarning
        While iterating a video file whose time stamps jump (the missing frames
        are filled by repeating the frame before them, at the indices the warning
        lists) or that ends before the frame count its container promises; or a
        frame folder whose numbered names skip a few numbers (filled alike).
    VismicWarning
        When a given ``fps`` differs from the capture rate a camera file stores
        (by more than 0.1 %; ``fps`` is used), or by more than 1 % from a container
        rate above 60 fps, which may be the capture rate. A container rate of
        60 fps or less is a playback rate, as every high-speed export stores:
        that is only logged (``vismic -v``).

    Notes
    -----
    Camera files are memory-mapped and never decoded by OpenCV. Phantom cine:
    8/16-bit, 10-bit packed (P10, returned as the stored 10-bit codes, not
    Phantom's 12-bit linearisation, which moves with the image and so leaves
    the motion unchanged) and 12-bit packed (P12L); rate from
    ``SETUP.FrameRate``. Photron MRAW: 8/12/16-bit; rate = ``Record Rate`` /
    ``Save Step`` (the file holds every Save-Step-th recorded frame). A camera
    file shorter than its header promises is refused rather than read up to the
    damage. See ``vismic/io/_cine.py`` and ``vismic/io/_photron.py`` for the
    layouts and their sources.

    Examples
    --------
    >>> import numpy as np
    >>> from vismic.io import open_video
    >>> frames = np.zeros((100, 48, 64), dtype=np.uint8)
    >>> video = open_video(frames, fps=2200, roi=(0, 0, 32, 32), downsample=2, batch_size=40)
    >>> video.frame_shape, video.fps_source
    ((16, 16), 'argument')
    >>> [(len(batch), batch.start) for batch in video]
    [(40, 0), (40, 40), (20, 80)]
    """
    if fps is not None:
        fps = _frames.check_fps(fps)
    return _open(source, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                 max_frames=max_frames, stacklevel=3, require_fps=True, max_batch_bytes=max_batch_bytes,
                 strict=strict)


def auto_batch_size(frame_shape: Tuple[int, int], max_batch_bytes: int = BATCH_BYTES) -> int:
    """Frames of ``frame_shape`` (float32) in one batch of at most ``max_batch_bytes`` (1 to 64).

    Examples
    --------
    >>> auto_batch_size((256, 256)), auto_batch_size((512, 512)), auto_batch_size((1024, 1024))
    (64, 16, 4)
    >>> auto_batch_size((4096, 4096))
    1
    """
    frame_bytes = 4 * int(frame_shape[0]) * int(frame_shape[1])
    return int(max(1, min(MAX_AUTO_BATCH, max_batch_bytes // max(frame_bytes, 1))))


def _open(source, *, fps, roi=None, downsample=1, batch_size=None, max_frames=None, stacklevel, require_fps=False,
          max_batch_bytes=BATCH_BYTES, strict=False, quiet=False) -> VideoSource:
    roi = _frames.parse_roi(roi)
    _frames.check_positive_int(downsample, "downsample")
    batch_size = _frames.check_positive_int(batch_size, "batch_size", allow_none=True)
    max_frames = _frames.check_positive_int(max_frames, "max_frames", allow_none=True)
    max_batch_bytes = _frames.check_positive_int(max_batch_bytes, "max_batch_bytes")
    if not isinstance(strict, (bool, np.bool_)):
        raise ParameterError(f"strict must be True or False, given strict={strict!r}")
    reader = _frames.make_reader(source)
    if hasattr(reader, "store"):
        check_complete(reader, max_frames)
    elif callable(getattr(reader, "check_complete", None)):
        reader.check_complete(max_frames)
    roi = _frames.fit_roi(roi, reader.full_shape)
    downsample = _frames.check_downsample(downsample, roi)
    fps, fps_source = _choose_fps(reader, fps, require=require_fps, stacklevel=stacklevel + 1, quiet=quiet)
    if batch_size is None:
        batch_size = auto_batch_size(_frames.downsampled_shape(roi, downsample), max_batch_bytes)
    return VideoSource(reader, fps=fps, roi=roi, downsample=downsample, batch_size=batch_size,
                       max_frames=max_frames, fps_source=fps_source, strict=strict)


def _check_stored_fps(stored: float, name: str, where: str) -> None:
    """Refuse a capture rate a file stores that no camera records at (a damaged header), naming the header."""
    from .._checks import MAX_RATE_HZ

    if not (math.isfinite(stored) and 0 < stored <= MAX_RATE_HZ):
        raise CorruptVideoError(f"{name} stores a capture rate of {stored:g} fps in its {where}, which no camera "
                                f"records at (0 to {MAX_RATE_HZ:g}): the header is damaged; pass the camera's rate "
                                "with --fps (fps= in Python)")


def _choose_fps(reader, fps, *, require: bool, stacklevel: int, quiet: bool = False):
    """The capture rate to use and where it came from (warning when sources disagree, unless ``quiet``)."""
    name = repr(str(reader.path)) if getattr(reader, "path", None) is not None else "the frame array"
    stored = getattr(reader, "capture_fps", None)
    if fps is None:
        if stored is not None:
            _check_stored_fps(stored, name, reader.capture_fps_source)
            return stored, reader.capture_fps_source
        if not require:
            return 1.0, "none (no capture rate given)"
        container = reader.container_fps
        if container is None:
            why = f"{name} stores no capture rate"
        elif container <= PLAYBACK_FPS_LIMIT:
            why = f"{name} stores only a playback rate ({container:g} fps), not the camera's capture rate"
        else:  # not a playback rate, but a container's rate is never known to be the camera's
            why = f"{name} stores a rate of {container:g} fps, which may be the capture rate or a playback rate"
        raise ParameterError(
            f"the capture rate fps is required: {why}; pass it with --fps on the command line or "
            f"fps= in Python (frames per second of the camera, e.g. fps=2200), given fps=None"
        )
    if quiet:
        return fps, FPS_FROM_ARGUMENT
    if stored is not None and abs(stored - fps) > FPS_TOLERANCE * stored:
        warnings.warn(
            f"fps={fps:g} contradicts the capture rate of {stored:g} fps that {name} stores in its "
            f"{reader.capture_fps_source}; vismic uses the given fps={fps:g}",
            VismicWarning,
            stacklevel=stacklevel,
        )
    container_fps = reader.container_fps
    if container_fps is not None and abs(container_fps - fps) > 0.01 * fps:
        if container_fps <= PLAYBACK_FPS_LIMIT:
            # every high-speed export stores a playback rate of 24-30 fps: the usual case, not a warning
            logger.info(f"{name} stores a playback rate of {container_fps:g} fps; "
                        f"vismic uses fps={fps:g} as the capture rate")
        else:
            warnings.warn(
                f"fps={fps:g} contradicts the rate of {container_fps:g} fps that {name} stores, "
                f"which is above a playback rate (at most {PLAYBACK_FPS_LIMIT:g} fps) and may be the capture "
                f"rate; vismic uses the given fps={fps:g}: check it",
                VismicWarning,
                stacklevel=stacklevel,
            )
    return fps, FPS_FROM_ARGUMENT


def read_frames(source, *, fps=None, **options) -> np.ndarray:
    """Read all frames of a source into one array (for short clips and tests).

    Parameters are those of :func:`open_video` (``roi``, ``downsample``,
    ``batch_size``, ``max_frames``, ``strict``), except that ``fps`` may be left
    out for any source (it is then only used to check the rate a file stores
    when given).

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
    unknown = set(options) - {"roi", "downsample", "batch_size", "max_frames", "strict"}
    if unknown:
        raise ParameterError(f"read_frames() got unknown options {sorted(unknown)}; it takes open_video's "
                             "roi, downsample, batch_size, max_frames and strict")
    video = _open(source, fps=fps, stacklevel=3, **options)
    frames = list(video.frames())
    return np.stack(frames) if frames else np.empty((0,) + video.frame_shape, np.float32)


def frame_count(source) -> int:
    """Number of frames a source really holds.

    Video files are counted by decoding (their container's count is not
    trusted); camera files and TIFF stacks by their header once their size is
    checked (a truncated camera file raises :class:`~vismic.errors.CorruptVideoError`).

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
    frames : np.ndarray [shape=(n, h, w) or (n, h, w, 3)], or an iterable of them
        Grey or RGB frames. uint8 is written as is; uint16 is kept as 16 bit
        for PNG folders and grey FFV1; any other dtype is rounded and clipped
        to 0-255 uint8. An iterable (a generator of batches) is written batch by
        batch, so a long video never has to be held whole; every batch must
        have the first one's frame size, colour and dtype.
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
    batches = _batches_to_write(frames)
    first = next(batches)
    playback_fps = _check_playback_fps(playback_fps)
    if not isinstance(codec, str) or len(codec) != 4:
        raise ParameterError(f"codec must be a four-character FourCC such as 'FFV1', given codec={codec!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"the video path must be a string or path, given {path!r}")
    if Path(path).suffix == "":
        return _write_folder(check_destination(path, what="frame folder", folder=True), first, batches, overwrite)
    return _write_file(check_destination(path, what="video", folder=False), first, batches, codec, playback_fps)


def _batches_to_write(frames):
    """The frames as checked batches: an array is one batch; an iterable's batches must all match the first."""
    if isinstance(frames, np.ndarray) or not hasattr(frames, "__iter__") or isinstance(frames, (list, tuple)):
        yield _frames_to_write(frames)
        return
    first = None
    for batch in frames:
        batch = _frames_to_write(batch)
        if first is None:
            first = batch
        elif batch.shape[1:] != first.shape[1:] or batch.dtype != first.dtype:
            raise FrameShapeError(
                f"every batch of frames to write must match the first: {first.shape[1:]} {first.dtype} at "
                f"first, given {batch.shape[1:]} {batch.dtype}")
        yield batch
    if first is None:
        raise FrameShapeError("no frames to write: the iterable of batches was empty")


def _check_playback_fps(playback_fps) -> float:
    try:
        return check_range(playback_fps, "playback_fps", MIN_PLAYBACK_FPS, MAX_PLAYBACK_FPS)
    except ParameterError as error:
        raise ParameterError(
            f"{error} (OpenCV's writer drops frames above about 1000 fps, and its codecs open at no rate below "
            f"{MIN_PLAYBACK_FPS:g}; store a playback rate such as 30)"
        ) from None


#: The containers whose files OpenCV writes lossless grey and colour video into (FFV1, or its fallbacks).
LOSSLESS_CONTAINERS = (".avi", ".mkv", ".mov", ".nut")


def _write_file(path: Path, frames: np.ndarray, more, codec: str, playback_fps: float) -> Path:
    """Write ``frames`` and the batches of ``more`` through a temporary name, count them, then move it onto ``path``."""
    colour = frames.ndim == 4
    if frames.dtype == np.uint16 and (colour or codec.upper() != "FFV1"):
        raise ParameterError(
            f"16-bit frames can be written as grey FFV1 video or as a PNG folder; given "
            f"{'RGB' if colour else 'grey'} frames with codec={codec!r} (convert to uint8 or "
            "use a path without suffix)"
        )
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        # OpenCV's FFmpeg writer crops odd sides to even ones, whatever the codec
        raise FrameShapeError(
            f"cannot write video {str(path)!r}: its {width}x{height} px frames have an odd side, and OpenCV's "
            f"video writer keeps only even sides (it would store {width - width % 2}x{height - height % 2}); "
            "crop the frames to even sides, or write a PNG folder (a path without suffix), which keeps any size"
        )
    if codec.upper() == "FFV1" and frames.dtype != np.uint16:
        candidates = _LOSSLESS_COLOUR if colour else _LOSSLESS_GREY
        if path.suffix.lower() not in LOSSLESS_CONTAINERS:
            # no container of these holds them: OpenCV would print a line for each it tried before failing
            raise OutputError(f"cannot write video {str(path)!r}: OpenCV writes lossless video into "
                              f"{', '.join(LOSSLESS_CONTAINERS[:-1])} or {LOSSLESS_CONTAINERS[-1]} files, not "
                              f"{path.suffix!r} (or give a path without suffix for PNG frames)")
    else:
        candidates = (codec,)
    with temporary_file(path, what="video") as temporary, _frames.opencv_path(temporary) as name:
        writer, used = _open_writer(name, candidates, frames, playback_fps)
        if writer is None:
            raise OutputError(
                f"cannot write video {str(path)!r}: OpenCV has no writer for codec "
                f"{' or '.join(repr(c) for c in candidates)} in a {path.suffix!r} file"
                + (" (use .avi or .mkv for lossless FFV1, or a path without suffix for PNG "
                   "frames)" if codec.upper() in _LOSSLESS else "")
            )
        total = 0
        try:
            for batch in itertools.chain([frames], more):
                for frame in batch:
                    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if colour else frame)
                total += batch.shape[0]
        finally:
            writer.release()
        try:
            written = _frames.FileReader(temporary).count()
        except VideoError:
            written = 0
        if written != total:
            raise OutputError(
                f"cannot write video {str(path)!r}: the {used!r} writer kept {written} of {total} frames"
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


def _open_writer(path: str, codecs, frames: np.ndarray, playback_fps: float):
    height, width = frames.shape[1:3]
    colour = frames.ndim == 4
    for codec in codecs:
        params = [cv2.VIDEOWRITER_PROP_IS_COLOR, int(colour)]
        if frames.dtype == np.uint16:
            params += [cv2.VIDEOWRITER_PROP_DEPTH, cv2.CV_16U]
        writer = cv2.VideoWriter(
            path, cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*codec), playback_fps,
            (width, height), params,
        )
        if writer.isOpened():
            return writer, codec
        writer.release()
    return None, None


def _write_folder(path: Path, frames: np.ndarray, more, overwrite: bool) -> Path:
    # six digits at least; a whole array given at once sets enough for its length
    digits = max(6, len(str(frames.shape[0] - 1)))
    colour = frames.ndim == 4
    with temporary_folder(path, what="frame folder", overwrite=overwrite) as temporary:
        (Path(temporary) / FOLDER_MARK).write_text("frames written by vismic; vismic may replace this folder\n")
        index = 0
        for batch in itertools.chain([frames], more):
            for frame in batch:
                ok, data = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if colour else frame)
                if not ok:
                    raise OutputError(f"cannot encode frame {index} as PNG for {str(path)!r}")
                data.tofile(str(Path(temporary) / f"frame_{index:0{digits}d}.png"))
                index += 1
    return path
