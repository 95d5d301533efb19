"""Reading high-speed video and writing frames and sound.

- :func:`open_video` streams a camera file (Phantom ``.cine``, Photron
  ``.cih``/``.cihx`` + ``.mraw``), TIFF stack, video file, frame folder or
  array as :class:`~vismic.data.FrameBatch` objects, with the capture rate read
  from camera files (:class:`CameraHeader`) and given by hand otherwise;
  :func:`read_frames` and :func:`frame_count` are conveniences around it;
  batches are sized in bytes (:func:`auto_batch_size`, :data:`BATCH_BYTES`);
  :class:`VideoStream` decodes them ahead in a thread and lets the workers of a
  parallel run read their own frame ranges.
- :func:`write_video` writes frames losslessly (FFV1) or as a PNG folder.
- :func:`write_wav` writes sound at a standard rate; :func:`resample` and
  :func:`standard_rate` are the pieces it uses.
"""

from .video import (
    BATCH_BYTES,
    CameraHeader,
    VideoSource,
    auto_batch_size,
    frame_count,
    open_video,
    read_frames,
    write_video,
)
from ._stream import StoredBatch, VideoStream
from .wav import STANDARD_RATES, WavInfo, resample, standard_rate, write_wav

__all__ = [
    "VideoSource",
    "VideoStream",
    "StoredBatch",
    "CameraHeader",
    "open_video",
    "read_frames",
    "frame_count",
    "auto_batch_size",
    "BATCH_BYTES",
    "write_video",
    "STANDARD_RATES",
    "WavInfo",
    "standard_rate",
    "resample",
    "write_wav",
]
