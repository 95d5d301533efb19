"""A codec's key frames, whose leaps the combination repairs (``recover_sound(key_frames=...)``)."""

from __future__ import annotations

import copy
import logging
from typing import Optional

import numpy as np

from ..combine import Combine
from ..errors import ParameterError
from ..pipeline import Pipeline

logger = logging.getLogger("vismic")


def from_start(key_frames, source):
    """Key frame indices of the video counted from ``source``'s first frame (those before it dropped)."""
    start = getattr(source, "start_frame", 0)
    if key_frames is None or not start:
        return key_frames
    return key_frames[key_frames >= start] - start


#: Codecs whose key frames ``key_frames='auto'`` repairs (:func:`vismic.io._codec.inter_frame_codec`'s names).
#: ``benchmarks/bench_nuisance.py`` and ``benchmarks/bench_replica.py --codec vp8`` measure it: VP8's key
#: frames leap, VP9's barely do. MPEG-4 part 2 and H.264 at OpenCV's and x264's defaults hold the motion
#: between key frames, where it jumps to where the object is: their key frames are the frames to keep
#: (repairing them lost sound on the bench's rows in one-off trials, and hid x264's jumps from the estimate).
KEY_FRAME_CODECS = ("VP8", "VP9")


def key_frames_to_repair(key_frames, source) -> Optional[np.ndarray]:
    """The key frames to repair: ``key_frames`` as checked, or for ``'auto'`` a VP8/VP9 file's (None where none apply)."""
    if not isinstance(key_frames, str):
        return key_frames
    from ..codec import read_key_frames
    from ..io._codec import inter_frame_codec

    path = getattr(source, "path", None)
    if path is None or inter_frame_codec(getattr(source, "codec", None)) not in KEY_FRAME_CODECS:
        return None
    try:
        found = read_key_frames(path, max_frames=getattr(source, "max_frames", None))
    except ImportError:
        logger.info("PyAV is not installed: the file's key frames are not repaired (pip install vismic[codecs])")
        return None
    except Exception as error:  # noqa: BLE001 - a container PyAV cannot read but OpenCV did: go on without
        logger.info("the file's key frames could not be read (%s): they are not repaired", error)
        return None
    count = getattr(source, "frame_count_hint", None) or (found.max() + 1 if found.size else 0)
    if found.size < 2 or found.size >= 0.5 * count:
        return None  # one key frame, or (nearly) all: nothing stands out to repair
    return found


def check_key_frames(key_frames):
    """``key_frames`` as :func:`recover_sound` takes it: 'auto', None, or checked frame indices (an array)."""
    if key_frames is None or (isinstance(key_frames, str) and key_frames == "auto"):
        return key_frames
    from .._checks import check_frame_indices

    return check_frame_indices(key_frames, "key_frames", also="'auto', None or ")


def check_key_frames_fit(key_frames, source) -> None:
    """Refuse key frames that all lie past the video's end (counted from its first frame, as ``read_key_frames``).

    Those of a whole file read with ``max_frames`` reach past it, and the ones inside apply.
    """
    n = getattr(source, "frame_count_hint", None)
    if isinstance(key_frames, np.ndarray) and key_frames.size and n is not None:
        whole = n + getattr(source, "start_frame", 0)
        if int(key_frames.min()) >= whole:
            raise ParameterError(f"key_frames holds frames from {int(key_frames.min())} on, past the video's last "
                                 f"({whole - 1}): none of them applies")


def with_key_frames(pipeline: Pipeline, key_frames) -> Pipeline:
    """``pipeline`` (a copy) whose combination repairs ``key_frames``; itself when there are none or no Combine."""
    if key_frames is None:
        return pipeline
    name = next((name for name, stage in pipeline.steps if isinstance(stage, Combine)), None)
    if name is None:
        return pipeline
    return pipeline.replace(name, copy.deepcopy(pipeline[name]).set_params(key_frames=key_frames))
