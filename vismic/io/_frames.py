"""Frame readers behind :func:`vismic.io.open_video`.

Each reader knows one kind of source (a video file, a folder of images, a
numpy array here; Phantom cine, Photron MRAW and TIFF stacks in
``_cine``/``_photron``/``_tiff``) and yields grey frames one at a time, already
cropped to the region of interest, as float32 in the source's own grey units.
Readers open their source again on every call to :meth:`frames`, so a
:class:`~vismic.io.VideoSource` can be iterated any number of times without
ever holding more than the frame being converted.

Readers that reach any frame range directly also have ``read(start, count)``,
returning full frames in their stored type (uint8/uint16 for camera files);
camera readers add ``header``, ``capture_fps`` and ``capture_fps_source``.

Also here: the small validation helpers for ``fps``, ``roi`` and
``downsample`` and the block-average downsampling.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import stat
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Iterator, Optional, Tuple

# FFmpeg's own log lines (e.g. "Truncating packet of size ...") would reach the terminal
# before vismic's one clear message about the same damage; keep FFmpeg quiet unless the
# user asked otherwise. Read by OpenCV when it first starts FFmpeg.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from .._checks import check_finite_frames, check_int_tuple, check_positive_int, check_rate, MAX_RATE_HZ  # noqa: F401
from ..errors import (
    CorruptVideoError,
    DamagedVideoWarning,
    FrameShapeError,
    ParameterError,
    VideoError,
    VideoNotFoundError,
)
from ._camera import MAX_FRAME_BYTES  # one limit on a decoded frame for every reader
from ._avi import read_avi_index
from ._codec import fourcc_text

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg", ".pgm", ".ppm", ".webp")
TIFF_SUFFIXES = (".tif", ".tiff")
CINE_SUFFIXES = (".cine",)
PHOTRON_SUFFIXES = (".cih", ".cihx", ".mraw")

#: Luma weights (ITU-R BT.601), the ones ``cv2.cvtColor(..., COLOR_*2GRAY)`` uses.
LUMA_WEIGHTS_RGB = (0.299, 0.587, 0.114)

# FourCCs OpenCV reports (CAP_PROP_CODEC_PIXEL_FORMAT) for single-plane grey streams:
# 8-bit ('Y800', 'GREY') and FFmpeg's raw tags for 9-16 bit grey ('Y1' 0 bits).
_GREY8_TAGS = ("Y800", "GREY", "Y8  ")

Roi = Tuple[int, int, int, int]



# --------------------------------------------------------------------------- paths


def check_readable_path(path: Path, what: str = "video file or frame folder") -> os.stat_result:
    """``os.stat`` of an input that exists and is a regular file or folder.

    FIFOs, sockets and devices are refused before anything opens them: opening a FIFO
    nobody writes to would wait forever, and a device never ends.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise VideoNotFoundError(f"{what} not found: {str(path)!r}") from None
    except OSError as error:
        raise VideoError(f"cannot read {what} {str(path)!r}: {error.strerror or error}") from None
    mode = info.st_mode
    for test, kind in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            raise VideoError(
                f"cannot read {what} {str(path)!r}: it is {kind}, not a file; vismic reads regular "
                "files and folders only (save the stream to a file first)"
            )
    # named here: past this point OpenCV says only that it cannot open the file, and numpy's readers raise
    # a bare PermissionError
    if not os.access(path, os.R_OK | (os.X_OK if stat.S_ISDIR(mode) else 0)):
        raise VideoError(f"cannot read {what} {str(path)!r}: permission denied")
    return info


def is_utf8_path(path) -> bool:
    """Whether OpenCV can be handed ``path`` (its bytes are valid UTF-8)."""
    try:
        os.fspath(path).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


@contextlib.contextmanager
def opencv_path(path: Path):
    """A name for ``path`` that OpenCV can take: itself, or an ASCII symbolic link to it.

    OpenCV crashes the process on file names that are not valid UTF-8 (which any POSIX
    file system allows); such files are reached through a link in a private temporary
    folder (removed on leaving), which keeps the suffix OpenCV chooses the container by.
    """
    if is_utf8_path(path):
        yield str(path)
        return
    folder = tempfile.mkdtemp(prefix="vismic-")
    try:
        alias = os.path.join(folder, "link" + path.suffix.encode("ascii", "replace").decode("ascii"))
        try:
            os.symlink(os.path.abspath(os.fspath(path)), alias)
        except OSError as error:
            raise VideoError(
                f"cannot open {str(path)!r} with OpenCV: its name is not valid UTF-8, which crashes "
                f"OpenCV, and no link with a plain name could be made ({error.strerror or error}); "
                "rename the file"
            ) from None
        yield alias
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def quiet_opencv():
    """Keep OpenCV's warnings off the terminal while it probes a file (vismic says what failed)."""
    get, set_ = getattr(cv2, "getLogLevel", None), getattr(cv2, "setLogLevel", None)
    if get is None or set_ is None:
        yield
        return
    previous = get()
    set_(min(previous, 2))  # errors only
    try:
        yield
    finally:
        set_(previous)


def check_frame_bytes(width: int, height: int, bytes_per_pixel: int, where: str) -> None:
    """Refuse a frame whose header declares more than :data:`MAX_FRAME_BYTES`."""
    size = int(width) * int(height) * int(bytes_per_pixel)
    if size > MAX_FRAME_BYTES:
        raise VideoError(
            f"{where}: its header declares a frame of {width}x{height} pixels ({size / 2**30:.1f} GiB "
            f"decoded), more than the {MAX_FRAME_BYTES / 2**30:g} GiB vismic reads per frame; the "
            "file is damaged or not a video frame (crop or downscale it first)"
        )


# --------------------------------------------------------------------------- validation


def check_fps(fps) -> float:
    """The capture rate as a positive float, or :class:`ParameterError` saying why it is needed."""
    try:
        return check_rate(fps, "fps")
    except ParameterError:
        need = "is required and must be" if fps is None else "must be"
        raise ParameterError(
            f"the capture rate fps (frames per second of the camera, e.g. fps=2200, --fps 2200) {need} a "
            f"positive number of at most {MAX_RATE_HZ:g}, given fps={fps!r}"
        ) from None


def parse_roi(roi) -> Optional[Roi]:
    """Check the form of ``roi=(x, y, w, h)``: four integers, x, y >= 0 and w, h >= 1."""
    if roi is None:
        return None
    message = (
        "roi must be (x, y, width, height): four integers in pixels of the full frame, "
        f"x, y >= 0 and width, height >= 1, given roi={roi!r}"
    )
    try:
        x, y, w, h = check_int_tuple(roi, "roi", length=4, minimum=0)
    except ParameterError:
        raise ParameterError(message) from None
    if w < 1 or h < 1:
        raise ParameterError(message)
    return (x, y, w, h)


def fit_roi(roi: Optional[Roi], full_shape: Tuple[int, int]) -> Roi:
    """The ROI checked against the full frame ``(height, width)`` (whole frame when None)."""
    height, width = full_shape
    if roi is None:
        return (0, 0, width, height)
    x, y, w, h = roi
    if x + w > width or y + h > height:
        raise ParameterError(
            f"roi={roi} (x, y, width, height) lies outside the frame of width {width} and "
            f"height {height} pixels: it needs x + width <= {width} and y + height <= {height}"
        )
    return roi


def check_downsample(downsample, roi: Roi) -> int:
    """An integer factor >= 1 no larger than the (cropped) frame."""
    factor = check_positive_int(downsample, "downsample")
    _, _, w, h = roi
    if factor > min(w, h):
        raise ParameterError(
            f"downsample={factor} is larger than the frame of width {w} and height {h} "
            "(after the roi); it must be at most the smaller side"
        )
    return factor


def downsampled_shape(roi: Roi, factor: int) -> Tuple[int, int]:
    """``(height, width)`` of a frame cropped to ``roi`` and reduced by ``factor`` (:func:`downsample_frame`)."""
    _, _, w, h = roi
    return (h // factor, w // factor)


#: The Gaussian low-pass before :func:`downsample_frame`'s block means, in pixels of the frame read per
#: unit of the factor (0.9 px at 2). Block means alone are a weak anti-alias filter (their response at the
#: new Nyquist limit is 0.71): the aliased detail moves the wrong way when the camera moves, and
#: ``benchmarks/bench_downsample.py`` measured what that cost and what this filter gives back.
ANTI_ALIAS_SIGMA = 0.45

#: The low-pass :func:`vismic.recover_sound` reads a downsampled video with again when its stabiliser found
#: the camera moving faster (px/s) than the output's high-pass (Hz): the shift's error on aliased detail
#: then lands in the sound band. ``bench_downsample.py``: under 4 px of shake to 10 Hz read at half size,
#: 0.45 lost three of six scenes (-24.9 to 3.3 dB) where 0.6 recovered 9.1-23.0 dB; 0.75 gave the same
#: to 1.7 dB (one-off). Still scenes lose 0.8-1.8 dB from 0.45 to 0.6, and 0.8-2.3 more at 0.75 (one-off).
FAST_MOTION_ANTI_ALIAS = 0.6


def downsample_frame(frame: np.ndarray, factor: int, *, sigma: float = ANTI_ALIAS_SIGMA) -> np.ndarray:
    """A 2-D frame low-passed and reduced by ``factor``: its ``factor x factor`` block means.

    A trailing partial block is dropped.

    Parameters
    ----------
    frame : np.ndarray [shape=(height, width)]
        Any real type (8-bit frames are filtered as they are; others as float32).
    factor : int
    sigma : float
        The Gaussian low-pass before the block means, in pixels of ``frame`` per unit of
        ``factor`` (0: the block means alone). Each output pixel sits at the centre of its block.

    Returns
    -------
    np.ndarray [shape=(height // factor, width // factor), dtype=float32]

    Examples
    --------
    >>> frame = np.tile([0.0, 2.0], (4, 2))
    >>> downsample_frame(frame, 2, sigma=0).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    >>> downsample_frame(frame, 2).round(3).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    if factor == 1:
        return frame
    h, w = frame.shape[0] // factor, frame.shape[1] // factor
    cropped = frame[: h * factor, : w * factor]
    if sigma > 0:
        # a sampled Gaussian to 2 sigma each side (5 taps at a factor of 2); 8-bit frames straight to
        # float32 in the filter, which saves a pass (other types filter slower than they convert)
        size = 2 * int(np.ceil(2.0 * sigma * factor)) + 1
        if cropped.dtype == np.uint8:
            kernel = cv2.getGaussianKernel(size, sigma * factor, cv2.CV_32F)
            cropped = cv2.sepFilter2D(np.ascontiguousarray(cropped), cv2.CV_32F, kernel, kernel,
                                      borderType=cv2.BORDER_REFLECT_101)
        else:
            cropped = cv2.GaussianBlur(np.ascontiguousarray(cropped, dtype=np.float32), (size, size), sigma * factor,
                                       borderType=cv2.BORDER_REFLECT_101)
    # For an integer factor cv2's INTER_AREA is exactly the block mean, ~100x faster
    # than numpy's reshape-mean over strided axes.
    return cv2.resize(np.ascontiguousarray(cropped, dtype=np.float32), (w, h), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------- grey conversion


def luma(image: np.ndarray, *, channel_order: str = "RGB") -> np.ndarray:
    """Grey levels of a colour image: ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``.

    vismic's one grey conversion (video frames, the test bed's photographs, MagNet's
    training data): the weights OpenCV's ``cvtColor(..., COLOR_*2GRAY)`` uses, computed
    by OpenCV in float32, in the image's own units.

    Parameters
    ----------
    image : np.ndarray [shape=(..., height, width, 3 or 4)]
        A fourth (alpha) channel is ignored.
    channel_order : {'RGB', 'BGR'}
        ``'BGR'`` for frames decoded by OpenCV.

    Returns
    -------
    np.ndarray [shape=(..., height, width)], float32

    Examples
    --------
    >>> import numpy as np
    >>> round(float(luma(np.array([[[255, 0, 0]]], dtype=np.uint8))[0, 0]), 3)  # pure red
    76.245
    """
    image = np.asarray(image)
    # Always convert BGR order, so that one colour gives the very same float32 luma
    # whether it came from a file (BGR) or from an array (RGB).
    bgr = image[..., :3] if channel_order == "BGR" else image[..., 2::-1]
    bgr = np.ascontiguousarray(bgr, dtype=np.float32)
    # cvtColor works per pixel: any stack of images is one tall image to it
    rows = bgr.reshape(-1, bgr.shape[-2], 3)
    return cv2.cvtColor(rows, cv2.COLOR_BGR2GRAY).reshape(bgr.shape[:-1])


def to_grey(frame: np.ndarray, *, channel_order: str, roi: Roi, where: str) -> np.ndarray:
    """Crop one decoded frame to ``roi`` and make it grey float32 (colour through :func:`luma`).

    ``channel_order`` is ``'BGR'`` for frames from OpenCV and ``'RGB'`` for user
    arrays; a fourth (alpha) channel is ignored.
    """
    x, y, w, h = roi
    crop = frame[y : y + h, x : x + w]
    if crop.ndim == 2:
        return crop.astype(np.float32)
    if crop.ndim == 3 and crop.shape[2] == 1:
        return crop[..., 0].astype(np.float32)
    if crop.ndim == 3 and crop.shape[2] in (3, 4):
        return luma(crop, channel_order=channel_order)
    raise FrameShapeError(
        f"{where}: cannot make a grey frame from an image of shape {frame.shape}; "
        "expected (height, width), (height, width, 3) or (height, width, 4)"
    )


#: Largest grey level vismic reads: float32 products of frames past it overflow (levels of 1e18 did).
MAX_GREY_LEVEL = 1e12
#: Smallest brightest grey level of a frame that is not black: float32 products below it underflow.
MIN_GREY_LEVEL = 1e-6


def check_levels(frames: np.ndarray, where: str, *, start: int = 0, error=VideoError) -> None:
    """Refuse frames ``(n, h, w[, c])`` holding NaN, infinities, or grey levels float32 cannot carry.

    Integers of up to 32 bits always pass (without a pass over them). Frame numbers in the
    message count from ``start``; ``error`` is the class raised (``ParameterError`` for arrays).
    """
    if frames.size == 0 or (frames.dtype.kind in "biu" and frames.dtype.itemsize <= 4):
        return
    with np.errstate(invalid="ignore"):
        top, bottom = float(np.max(frames)), float(np.min(frames))
    if not (math.isfinite(top) and math.isfinite(bottom)):
        flat = frames.reshape(frames.shape[0], -1)
        index = start + int(np.argmin(np.isfinite(flat).all(axis=1)))
        raise error(f"{where}: frame {index} contains NaN or infinite pixels; replace them (e.g. np.nan_to_num) "
                    "or drop that frame")
    peak = max(abs(top), abs(bottom))
    if peak > MAX_GREY_LEVEL or 0 < peak < MIN_GREY_LEVEL:
        raise error(f"{where}: grey levels reach {peak:.3g}, {'above' if peak > 1 else 'a peak below'} what vismic "
                    f"computes with ({MIN_GREY_LEVEL:g} to {MAX_GREY_LEVEL:g} for the brightest pixel); scale the "
                    "frames (e.g. to 0-255 or 0-65535) first")


def _check_frame_shape(shape, full_shape, index: int, where: str) -> None:
    if tuple(shape[:2]) != tuple(full_shape):
        raise FrameShapeError(
            f"{where}: frame {index} has size {shape[1]}x{shape[0]} (width x height) but frame 0 "
            f"has size {full_shape[1]}x{full_shape[0]}; all frames of a video must have one size"
        )


# --------------------------------------------------------------------------- natural sort


def natural_key(name: str):
    """Sort key that orders ``frame2`` before ``frame10`` (digit runs compare as numbers)."""
    parts = re.split(r"(\d+)", name)
    return ([int(p) if i % 2 else p.lower() for i, p in enumerate(parts)], name)


# --------------------------------------------------------------------------- readers


def _resume_after(lost, index: int, intact) -> Optional[int]:
    """The first intact frame after the damaged frames at or beyond ``index`` (None: no damage ahead)."""
    ahead = [number for number in lost if number >= index]
    if not ahead or intact is None:
        return None
    resume = min(ahead)
    while resume in lost:
        resume += 1
    return resume if resume < intact + len(lost) else None


class FileReader:
    """A video file decoded by OpenCV (FFmpeg backend first).

    The container's frame count and each frame's time stamp are checked while
    decoding: frames missing inside the stream (a time stamp that jumps by more
    than one frame period) are filled by repeating the frame before them, so the
    time axis stays right; a stream that ends before the count the container
    promises is reported. Both warn with :class:`~vismic.errors.DamagedVideoWarning`,
    or raise :class:`~vismic.errors.CorruptVideoError` when ``strict`` is set.
    """

    strict = False

    def __init__(self, path: Path):
        self.path = path
        self.where = f"video {str(path)!r}"
        with opencv_path(path) as name:
            capture, self.native_grey = self._open(name, use_native_grey=None)
            try:
                self.codec = fourcc_text(capture.get(cv2.CAP_PROP_FOURCC))
                fps = capture.get(cv2.CAP_PROP_FPS)
                self.container_fps = float(fps) if np.isfinite(fps) and 0 < fps <= 1e7 else None
                count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
                self.count_hint = int(count) if np.isfinite(count) and 0 < count < 2**40 else None
                width = capture.get(cv2.CAP_PROP_FRAME_WIDTH)
                height = capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
                if np.isfinite(width) and np.isfinite(height):
                    check_frame_bytes(int(width), int(height), 6, self.where)
                ok, frame = self._read(capture, 0)
                if ok and self.native_grey and not _is_grey_plane(frame, capture):
                    # The backend did not hand out a plain grey plane: fall back to BGR.
                    capture.release()
                    capture, self.native_grey = self._open(name, use_native_grey=False)
                    ok, frame = self._read(capture, 0)
                if not ok or frame is None or frame.size == 0:
                    raise VideoError(
                        f"cannot decode video {str(self.path)!r}: OpenCV opened it but decoded no frames"
                    )
                self.full_shape = tuple(frame.shape[:2])
            finally:
                capture.release()
        self.avi_index = read_avi_index(path)

    def _open(self, name: str, *, use_native_grey):
        from .._logging import native_stderr_hidden

        with quiet_opencv(), native_stderr_hidden():
            capture = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
            if not capture.isOpened():
                capture.release()
                capture = cv2.VideoCapture(name)
        if not capture.isOpened():
            capture.release()
            raise VideoError(
                f"cannot decode video {str(self.path)!r}: OpenCV cannot open it (not a video, a damaged "
                "file, or a codec this OpenCV build lacks)"
            )
        if use_native_grey is None:
            use_native_grey = _grey_pixel_format(capture)
        if use_native_grey:
            # Keep the stream's own grey plane (8 or 16 bit) instead of a BGR copy.
            capture.set(cv2.CAP_PROP_CONVERT_RGB, 0)
        return capture, use_native_grey

    def _read(self, capture, index: int):
        try:
            return capture.read()
        except cv2.error as error:
            raise CorruptVideoError(
                f"{self.where}: cannot decode frame {index}: {str(error).strip().splitlines()[-1]}"
            ) from None

    def frames(self, roi: Roi) -> Iterator[np.ndarray]:
        with opencv_path(self.path) as name:
            capture, _ = self._open(name, use_native_grey=self.native_grey)
            try:
                yield from self._frames(capture, roi)
            finally:
                capture.release()

    def _lost_in_index(self) -> tuple:
        """``(lost, intact)``: frames an AVI index shows damaged inside the file, and frames it promises intact."""
        index = self.avi_index
        if index is None:
            return frozenset(), None
        end = index.truncated_from if index.truncated_from is not None else index.n_frames
        lost = frozenset(number for number in index.damaged if number < end)
        if lost and self.strict:
            first = min(lost)
            raise CorruptVideoError(
                f"{self.where} is damaged: its index shows {len(lost)} frame(s) whose data is overwritten, the "
                f"first at frame {first} (strict=True, --strict, refuses damaged videos)"
            )
        return lost, end - len(lost)

    def _frames(self, capture, roi: Roi) -> Iterator[np.ndarray]:
        lost, intact = self._lost_in_index()
        # AVI time stamps count frames, so they cannot show a loss: the index does instead.
        period_ms = 1000.0 / self.container_fps if self.container_fps and self.avi_index is None else None
        index = 0  # frames yielded, filled ones included: the time axis
        decoded = 0
        filled = []
        previous = previous_ms = None
        while True:
            ok, frame = self._read(capture, index)
            if not ok or frame is None:
                resume = _resume_after(lost, index, intact)
                if resume is None or previous is None:
                    break
                # the decoder gave up at the damage: go on from the first intact frame after it
                capture.set(cv2.CAP_PROP_POS_FRAMES, resume)
                while index < resume:
                    filled.append(index)
                    yield previous
                    index += 1
                continue
            _check_frame_shape(frame.shape, self.full_shape, index, self.where)
            grey = to_grey(frame, channel_order="BGR", roi=roi, where=self.where)
            while index in lost:  # the decoder skipped this frame: this one is the next
                filled.append(index)
                yield grey if previous is None else previous
                index += 1
            time_ms = capture.get(cv2.CAP_PROP_POS_MSEC) if period_ms else None
            if previous is not None and time_ms is not None and np.isfinite(time_ms) and previous_ms is not None:
                missing = int(round((time_ms - previous_ms) / period_ms)) - 1
                if missing > 0:
                    if self.strict:
                        raise CorruptVideoError(
                            f"{self.where}: {missing} frame(s) missing before decoded frame {decoded} "
                            f"(time stamp {time_ms:.3f} ms follows {previous_ms:.3f} ms at "
                            f"{self.container_fps:g} fps); the file is damaged"
                        )
                    for _ in range(missing):
                        filled.append(index)
                        yield previous
                        index += 1
            previous, previous_ms = grey, time_ms
            yield grey
            index += 1
            decoded += 1
        self._report(index, decoded, filled, misplaced=intact is not None and bool(lost) and decoded + len(filled) != intact + len(lost))

    def _report(self, length: int, decoded: int, filled, *, misplaced: bool = False) -> None:
        """Say how the stream differed from what the container promised."""
        expected = self.count_hint
        short = expected is not None and length < expected
        if not filled and not short:
            return
        parts = []
        if filled:
            shown = ", ".join(str(i) for i in filled[:10]) + (", ..." if len(filled) > 10 else "")
            parts.append(
                f"{len(filled)} missing frame(s) were filled by repeating the frame before them, "
                f"at time-axis indices {shown}"
            )
        if misplaced:
            parts.append("the decoder did not skip exactly the frames the index shows damaged, so frames after "
                         "the damage may be misplaced in time")
        if short and self.avi_index is not None and self.avi_index.truncated_from is not None:
            parts.append(
                f"the file is truncated: frames from {self.avi_index.truncated_from} on are missing "
                f"(the stream holds {length} frames but the container promises {expected})"
            )
        elif short:
            parts.append(
                f"the stream holds {length} frames but the container promises {expected}: "
                f"{expected - length} frame(s) are missing, at the end if the file was truncated, or "
                "somewhere inside it where no time stamp shows the gap (then every frame after the "
                "loss is early, which shifts the sound)"
            )
        message = f"{self.where} is damaged: " + "; ".join(parts)
        if self.strict:
            raise CorruptVideoError(message + " (strict=True, --strict, refuses damaged videos)")
        warnings.warn(
            DamagedVideoWarning(
                message + "; pass strict=True (--strict) to refuse such a file",
                expected=expected, decoded=decoded, filled=filled,
                missing=(expected - length) if short else 0,
                first_missing=filled[0] if filled else None,
            ),
            stacklevel=4,
        )

    def count(self) -> int:
        with opencv_path(self.path) as name:
            capture, _ = self._open(name, use_native_grey=self.native_grey)
            try:
                n = 0
                while capture.grab():
                    n += 1
                return n
            finally:
                capture.release()


def _grey_pixel_format(capture) -> bool:
    value = capture.get(cv2.CAP_PROP_CODEC_PIXEL_FORMAT)
    if not np.isfinite(value) or value <= 0:
        return False
    code = int(value)
    tag = bytes((code >> (8 * i)) & 0xFF for i in range(4))
    if tag.decode("latin-1") in _GREY8_TAGS:
        return True
    # FFmpeg's raw tags for little-endian grey of 9..16 bits: 'Y1', 0, bits.
    return tag[:3] == b"Y1\x00" and 9 <= tag[3] <= 16


def _is_grey_plane(frame, capture) -> bool:
    if frame is None or frame.ndim != 2 or frame.dtype not in (np.uint8, np.uint16):
        return False
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    return frame.shape == (height, width)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> channels (greyscale, RGB, palette, grey + alpha, RGBA).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _check_image_header(data: np.ndarray, path: Path) -> None:
    """Refuse an image whose header declares an absurd size, before it is decoded.

    PNG headers are read here (the IHDR chunk), JPEG's frame header (SOF) and BMP's; TIFF by
    tifffile; other formats rely on OpenCV's own limit (``OPENCV_IO_MAX_IMAGE_PIXELS``, 2^30
    pixels by default, which lets a colour frame take 3 GiB).
    """
    head = data[:33].tobytes()
    where = f"image frame {str(path)!r}"
    if head.startswith(_PNG_SIGNATURE):
        if len(head) < 33 or head[12:16] != b"IHDR":
            raise VideoError(f"cannot decode {where}: a PNG without its IHDR header (damaged file)")
        width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
        if width == 0 or height == 0 or depth not in (1, 2, 4, 8, 16) or colour not in _PNG_CHANNELS:
            raise VideoError(
                f"cannot decode {where}: its PNG header declares {width}x{height} pixels, bit depth "
                f"{depth}, colour type {colour} (damaged file)"
            )
        check_frame_bytes(*_declared_dimensions(data), where)
    elif head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        import io

        import tifffile

        try:
            with tifffile.TiffFile(io.BytesIO(data.tobytes())) as tif:
                page = tif.pages.first
                shape, itemsize = page.shape, np.dtype(page.dtype).itemsize if page.dtype else 1
                n_pages = len(tif.pages)
        except Exception as error:  # tifffile raises many kinds on damaged files
            raise VideoError(f"cannot decode {where}: not a readable TIFF ({type(error).__name__})") from None
        if n_pages > 1:
            # a folder is read as a frame a file: its first page only, the rest dropped without a word
            raise VideoError(f"{where} is a stack of {n_pages} pages, but a frame folder holds one frame a file; "
                             "give each stack file on its own (a multi-page TIFF is a video), or split the stacks "
                             "into one image a frame")
        size = int(np.prod(shape)) * itemsize
        if size > MAX_FRAME_BYTES:
            raise VideoError(
                f"{where}: its TIFF header declares a page of shape {tuple(shape)} ({size / 2**30:.1f} GiB "
                f"decoded), more than the {MAX_FRAME_BYTES / 2**30:g} GiB vismic reads per frame"
            )
    else:
        size = _declared_dimensions(data)  # JPEG, BMP
        if size is not None:
            check_frame_bytes(*size, where)


def _jpeg_size(data: np.ndarray) -> Optional[tuple]:
    """``(width, height, channels)`` from a JPEG's frame header (SOF), or None where none is found.

    The segments are walked from the start (each a marker and its length) up to the first
    frame header; a damaged walk gives None and leaves the file to the decoder.
    """
    data = memoryview(np.ascontiguousarray(data, dtype=np.uint8))  # no copy of the file a frame
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if at + 10 > len(data):
                return None
            height, width = int.from_bytes(data[at + 5:at + 7], "big"), int.from_bytes(data[at + 7:at + 9], "big")
            return width, height, data[at + 9]
        if marker == 0xDA or length < 2:  # the scan starts before any frame header: a damaged file
            return None
        at += 2 + length
    return None


def _declared_dimensions(data: np.ndarray) -> Optional[tuple]:
    """``(width, height, bytes a pixel)`` a PNG, JPEG or BMP header declares, read without decoding (None: unknown)."""
    head = data[:33].tobytes()
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if head.startswith(b"BM") and len(head) >= 30:
        width, height, _, bits = struct.unpack("<iiHH", head[18:30])
        return abs(width), abs(height), max(1, -(-bits // 8))
    if head.startswith(_PNG_SIGNATURE) and len(head) >= 26:
        width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
        return width, height, _PNG_CHANNELS.get(colour, 1) * (2 if depth == 16 else 1)
    return None


def _declared_size(path: Path) -> Optional[tuple]:
    """``(width, height)`` an image file's header declares (:func:`_declared_dimensions`; None: unknown)."""
    try:
        with open(path, "rb") as file:
            size = _declared_dimensions(np.frombuffer(file.read(1 << 20), dtype=np.uint8))
    except OSError:
        return None
    return None if size is None else size[:2]


def _check_first_sizes(files, where: str) -> None:
    """Refuse a folder whose first two frames' headers declare different sizes, before either is decoded.

    Frame 0 sets the video's size: a damaged header there (a JPEG declaring 32000x32000 px)
    was decoded, and converted, before frame 1 showed the mismatch (5 GB for a folder of
    64x48 px frames).
    """
    if len(files) < 2:
        return
    first, second = _declared_size(files[0]), _declared_size(files[1])
    if first is not None and second is not None and tuple(first) != tuple(second):
        raise FrameShapeError(f"{where}: frame 1 ({files[1].name!r}) has size {second[0]}x{second[1]} (width x "
                              f"height) but frame 0 ({files[0].name!r}) has size {first[0]}x{first[1]}")


def _read_image(path: Path) -> np.ndarray:
    """One image at full precision (8/16 bit, 1/3/4 channels), or VideoError naming the file."""
    try:
        check_readable_path(path, "image frame")
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as error:
        raise VideoError(f"cannot read image frame {str(path)!r}: {error}") from None
    if data.size:
        _check_image_header(data, path)
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error as error:
        raise VideoError(f"cannot decode image frame {str(path)!r}: {str(error).strip().splitlines()[-1]}") from None
    if image is None or image.size == 0:
        raise VideoError(f"cannot decode image frame {str(path)!r} (empty, damaged or not an image)")
    return image


def _image_kind(image: np.ndarray) -> str:
    channels = 1 if image.ndim == 2 else image.shape[2]
    names = {1: "grey", 2: "grey + alpha", 3: "colour", 4: "colour + alpha"}
    return f"{image.dtype.itemsize * 8}-bit {names.get(channels, f'{channels}-channel')}"


class FolderReader:
    """A folder of image files, one frame each, in natural order of their names."""

    def __init__(self, path: Path):
        self.path = path
        self.where = f"frame folder {str(path)!r}"
        try:
            names = [
                entry.name
                for entry in os.scandir(path)
                if entry.is_file()
                and not entry.name.startswith(".")
                and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES
            ]
        except OSError as error:
            raise VideoError(f"cannot list frame folder {str(path)!r}: {error}") from None
        if not names:
            raise VideoError(
                f"frame folder {str(path)!r} holds no image frames "
                f"(looked for {', '.join(IMAGE_SUFFIXES)})"
            )
        self.files = [path / name for name in sorted(names, key=natural_key)]
        self.positions = _frame_positions([file.name for file in self.files])
        self.strict = False
        self.container_fps = None
        # a numbered sequence with gaps: the missing frames are filled, so the time axis spans them all
        self.count_hint = len(self.files) if self.positions is None else int(self.positions[-1]) + 1
        _check_first_sizes(self.files, self.where)
        first = _read_image(self.files[0])
        self.full_shape = tuple(first.shape[:2])
        self.kind = _image_kind(first)

    def frames(self, roi: Roi) -> Iterator[np.ndarray]:
        filled = []
        previous = None
        for index, file in enumerate(self.files):
            gap = 0
            if self.positions is not None and index > 0:
                gap = int(self.positions[index] - self.positions[index - 1]) - 1
            if gap:
                if self.strict:
                    raise CorruptVideoError(f"{self.where}: {gap} frame(s) missing before {file.name!r} (its number "
                                            f"follows {self.files[index - 1].name!r}'s); the sequence is damaged")
                for _ in range(gap):
                    filled.append(len(filled) + index)
                    yield previous
            try:
                image = _read_image(file)
            except VideoError as error:
                raise type(error)(f"{self.where}: frame {index}: {error}") from None
            if tuple(image.shape[:2]) != self.full_shape:
                raise FrameShapeError(
                    f"{self.where}: frame {index} ({file.name!r}) has size "
                    f"{image.shape[1]}x{image.shape[0]} (width x height) but frame 0 "
                    f"({self.files[0].name!r}) has size {self.full_shape[1]}x{self.full_shape[0]}"
                )
            kind = _image_kind(image)
            if kind != self.kind:
                # Mixed bit depths or colour types are different grey scales: read as one
                # video they make steps a thousand times the motion.
                raise VideoError(
                    f"{self.where}: frame {index} ({file.name!r}) is a {kind} image but frame 0 "
                    f"({self.files[0].name!r}) is {self.kind}; all frames of a video must have one "
                    "bit depth and colour type (convert them alike, or remove the odd files)"
                )
            check_levels(image[None], f"{self.where}: {file.name!r}", start=index)
            previous = to_grey(image, channel_order="BGR", roi=roi, where=f"image {str(file)!r}")
            yield previous
        if filled:
            shown = ", ".join(str(i) for i in filled[:10]) + (", ..." if len(filled) > 10 else "")
            warnings.warn(DamagedVideoWarning(
                f"{self.where} is damaged: {len(filled)} frame(s) are missing from its numbered sequence and were "
                f"filled by repeating the frame before them, at time-axis indices {shown} (so the sound after them "
                "keeps its time); pass strict=True (--strict) to refuse such a folder",
                expected=self.count_hint, decoded=len(self.files), filled=filled,
                first_missing=filled[0]), stacklevel=4)

    def count(self) -> int:
        return self.count_hint


#: The number a frame file's name ends in (before its suffix): ``frame_000500.png`` -> 500.
_FRAME_NUMBER = re.compile(r"^(.*?)(\d+)$")


#: Most frames a numbered folder may lack, as a share of those it holds, for its gaps to be taken for
#: frames lost from one sequence (sparser numbers are names, not frame numbers).
MAX_MISSING_SHARE = 0.1


def _frame_positions(names) -> Optional[np.ndarray]:
    """The time-axis positions of ``names`` (in order) where they number one sequence with gaps, else None.

    One sequence: every name is a common prefix and a number, the numbers increasing by one
    step (every frame, or every ``k``-th one saved: the smallest difference), but for at most
    :data:`MAX_MISSING_SHARE` of missing frames. Anything else is left in its natural order.
    """
    parts = [_FRAME_NUMBER.match(os.path.splitext(name)[0]) for name in names]
    if len(names) < 3 or not all(parts) or len({part.group(1) for part in parts}) != 1:
        return None
    numbers = [int(part.group(2)) for part in parts]
    same = next((i for i in range(1, len(numbers)) if numbers[i] == numbers[i - 1]), None)
    if same is not None:
        # img_5 and img_05: where one goes on the time axis is unknown, and taking both moves every later frame
        raise VideoError(f"frames {names[same - 1]!r} and {names[same]!r} both carry frame number "
                              f"{numbers[same]}: keep one of them")
    if numbers[-1] - numbers[0] >= 2**62:  # numbers past int64 (a camera's serial), not frame numbers
        return None
    numbers = np.array([number - numbers[0] for number in numbers], dtype=np.int64)
    steps = np.diff(numbers)
    step = int(steps.min())
    if step <= 0 or np.any(steps % step):
        return None
    positions = (numbers - numbers[0]) // step
    missing = int(positions[-1] + 1 - len(names))
    return positions if 0 < missing <= MAX_MISSING_SHARE * len(names) else None


class ArrayReader:
    """Frames already in memory: ``(n, h, w)`` or ``(n, h, w, 1)`` grey, or ``(n, h, w, 3)`` RGB."""

    def __init__(self, frames: np.ndarray):
        if frames.ndim == 4 and frames.shape[3] == 1:  # grey with its one channel kept (a channels-last habit)
            frames = frames[..., 0]
        if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[3] != 3):
            raise FrameShapeError(
                "a frame array must have shape (n, height, width) or (n, height, width, 1) for grey or "
                f"(n, height, width, 3) for RGB, given shape={frames.shape}"
            )
        if not (np.issubdtype(frames.dtype, np.integer) or np.issubdtype(frames.dtype, np.floating)
                or frames.dtype == np.bool_):
            raise VideoError(f"a frame array must hold real numbers, given dtype={frames.dtype}")
        if frames.shape[0] == 0:
            raise VideoError(f"the frame array holds no frames, given shape={frames.shape}")
        if frames.shape[1] == 0 or frames.shape[2] == 0:
            raise FrameShapeError(f"frames must not be empty, given shape={frames.shape}")
        check_finite_frames(frames, "the frame array")
        check_levels(frames, "the frame array", error=ParameterError)
        self.array = frames
        self.path = None
        self.where = "frame array"
        self.container_fps = None
        self.count_hint = frames.shape[0]
        self.full_shape = tuple(frames.shape[1:3])

    def frames(self, roi: Roi) -> Iterator[np.ndarray]:
        for frame in self.array:
            yield to_grey(frame, channel_order="RGB", roi=roi, where=self.where)

    def read(self, start: int, count: int) -> np.ndarray:
        return self.array[start : start + count]

    def count(self) -> int:
        return self.array.shape[0]


def make_reader(source):
    """The reader for ``source``: a path (file, folder, camera file, TIFF stack) or an array.

    Camera files are recognised by their suffix: ``.cine`` (Phantom), ``.cih``,
    ``.cihx`` or ``.mraw`` (Photron); ``.tif``/``.tiff`` files are TIFF stacks;
    any other file goes to OpenCV.
    """
    if isinstance(source, np.ndarray):
        return ArrayReader(source)
    if isinstance(source, (str, os.PathLike)):
        if not os.fspath(source).strip():  # Path("") is the working folder, read as a frame folder
            raise VideoError(f"the video's path is empty ({os.fspath(source)!r})")
        path = Path(source)
        info = check_readable_path(path)
        if stat.S_ISDIR(info.st_mode):
            return FolderReader(path)
        suffix = path.suffix.lower()
        if suffix in CINE_SUFFIXES:
            from ._cine import CineReader

            return CineReader(path)
        if suffix in PHOTRON_SUFFIXES:
            from ._photron import PhotronReader

            return PhotronReader(path)
        if suffix in TIFF_SUFFIXES:
            from ._tiff import TiffStackReader

            return TiffStackReader(path)
        if suffix == ".avi":
            from ._raw_avi import raw_avi_reader

            raw = raw_avi_reader(path)  # uncompressed and intact: frames read straight from the file
            if raw is not None:
                return raw
        return FileReader(path)
    raise ParameterError(
        "source must be a path to a video file or frame folder, or a numpy array of frames, "
        f"given an object of type {type(source).__name__}"
    )
