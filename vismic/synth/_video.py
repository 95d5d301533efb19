"""Lossless writing of synthetic grayscale videos (AVI or PNG folder)."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from ..errors import FrameShapeError, OutputError, ParameterError, VismicWarning
from ._checks import check_positive

__all__ = ["write_video"]

#: Containers that hold FFV1 / raw grayscale; lossy ones (.mp4...) would destroy sub-pixel motion.
_VIDEO_SUFFIXES = (".avi", ".mkv")
_CODECS = ("FFV1", "Y800")


def _as_uint8(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    if frames.shape[0] == 0:
        raise ParameterError("there are no frames to write (shape={})".format(frames.shape))
    if frames.dtype == np.uint8:
        return frames
    warnings.warn(
        f"frames of dtype {frames.dtype} are rounded and clipped to 8 bits for writing",
        VismicWarning,
        stacklevel=3,
    )
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def _write_avi(frames: np.ndarray, target: Path, playback_fps: float) -> str:
    import cv2

    height, width = frames.shape[1:]
    for codec in _CODECS:
        writer = cv2.VideoWriter(
            str(target), cv2.VideoWriter_fourcc(*codec), playback_fps, (width, height), isColor=False
        )
        if writer.isOpened():
            break
        writer.release()
    else:
        raise OutputError(f"OpenCV cannot write a lossless grayscale video to {str(target)!r} (tried {_CODECS})")
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame))
    finally:
        writer.release()
    capture = cv2.VideoCapture(str(target))
    count = 0
    try:
        while True:
            ok, decoded = capture.read()
            if not ok:
                break
            if count < frames.shape[0]:
                decoded = decoded if decoded.ndim == 2 else decoded[..., 0]
                if not np.array_equal(decoded, frames[count]):
                    raise OutputError(f"frame {count} of {str(target)!r} did not decode losslessly ({codec})")
            count += 1
    finally:
        capture.release()
    if count != frames.shape[0]:
        raise OutputError(f"{str(target)!r} holds {count} frames after writing {frames.shape[0]} ({codec})")
    return codec


def _write_png_folder(frames: np.ndarray, target: Path) -> None:
    import cv2

    target.mkdir()
    digits = max(6, len(str(frames.shape[0] - 1)))
    for index, frame in enumerate(frames):
        name = target / f"frame_{index:0{digits}d}.png"
        if not cv2.imwrite(str(name), np.ascontiguousarray(frame)):
            raise OutputError(f"cannot write {str(name)!r}")
    written = len(list(target.glob("frame_*.png")))
    if written != frames.shape[0]:
        raise OutputError(f"{str(target)!r} holds {written} frames after writing {frames.shape[0]}")


def write_video(frames, path, *, playback_fps: float = 30.0) -> Path:
    """Write grayscale frames losslessly and atomically.

    A path with a suffix gets a grayscale AVI (``.avi`` or ``.mkv``), FFV1
    coded, or raw ``Y800`` when OpenCV has no FFV1 encoder; a path without a
    suffix gets a folder of ``frame_000000.png``... files. The video is written
    to a temporary name next to ``path``, decoded back and compared frame by
    frame, then moved into place with ``os.replace``.

    The container records ``playback_fps`` only: OpenCV drops frames above
    about 1000 fps, so keep the capture rate separately (``Scene.fps``).

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
        uint8 frames (other dtypes are rounded and clipped, with a warning).
    path : str or os.PathLike
    playback_fps : float

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> frames = np.zeros((3, 8, 8), dtype=np.uint8)
    >>> folder = write_video(frames, os.path.join(tempfile.mkdtemp(), "clip"))
    >>> len(os.listdir(folder))
    3
    """
    frames = _as_uint8(frames)
    playback_fps = check_positive(playback_fps, "playback_fps")
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError(f"the folder of path={str(path)!r} does not exist")
    temporary = _temporary(path)
    if path.suffix == "":
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise OutputError(f"path={str(path)!r} exists and is not an empty folder")
        try:
            _write_png_folder(frames, temporary)
            if path.exists():
                path.rmdir()
            os.replace(temporary, path)
        except OutputError:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        except OSError as exc:
            shutil.rmtree(temporary, ignore_errors=True)
            raise OutputError(f"cannot write frames to path={str(path)!r}: {exc}") from exc
        return path
    if path.suffix.lower() not in _VIDEO_SUFFIXES:
        raise ParameterError(
            f"path suffix {path.suffix!r} is not a lossless grayscale container; use one of "
            f"{', '.join(_VIDEO_SUFFIXES)} or no suffix for a PNG folder"
        )
    try:
        _write_avi(frames, temporary, playback_fps)
        os.replace(temporary, path)
    except OutputError:
        temporary.unlink(missing_ok=True)
        raise
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write video path={str(path)!r}: {exc}") from exc
    return path
