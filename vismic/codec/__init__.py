"""What a lossy video codec did to the frames, undone where it can be.

:class:`Unhold` (a streaming frame stage; :func:`unhold` on arrays) turns the frames of an
MPEG-4 part 2 file (OpenCV's ``mp4v``, XviD, DivX), which copy most of their 8x8 DCT
coefficients from the frame before, into frames whose coded changes measure the whole
frame's motion. :func:`vismic.recover_sound` runs it when asked (``unhold=True``), or with
``unhold='auto'`` when the frames show held blocks. Opt-in: it helps a whole frame moving by
a fraction of a pixel under sensor noise (``benchmarks/bench_nuisance.py``,
``benchmarks/bench_unhold.py``) and hurt real clips exported as ``mp4v``
(``benchmarks/bench_footage.py --mp4v``).

:func:`key_frame_jumps` finds where a codec held the motion between its key frames and the
frame jumped at each (x264 at its default quality does so to a fraction of a pixel of motion);
:func:`vismic.recover_sound` flags it and caps its SNR estimate.

:func:`repair_key_frames` takes out of each region's scores the leap a key frame's own
quantisation makes (the frames beside it predict it); :func:`vismic.recover_sound` does so
at the key frames of a video file (:func:`read_key_frames`).

:func:`codec_replica` measures what a VP9, VP8 or H.264 file's compression cost the sound, on
a replica of the scene through the same codec: libvpx at the file's own quantiser (VP9,
:func:`read_quantisers`) or frame quantisers and bits a pixel (VP8, :func:`read_rate`), x264
at the file's QP (H.264, :func:`read_quantisers`), VP9's and H.264's driven by
:func:`independent_motion` of the recovered motion (a codec moves the frame by itself, and a
replica driven by the recovered motion passes that again), over the regions of the sound
map (:func:`moving_regions`); :func:`vismic.recover_sound`
runs it on such files (``codec_replica=True``) and caps its SNR estimate at what the replica
recovered. Those checks of :func:`vismic.recover_sound` live in ``vismic/codec/_checks.py``
(:data:`REPLICA_OVER_CAP_DB`, :data:`SOUND_MAP_FLOOR_DB` the thresholds they use).
:func:`read_quantisers` also reads an MPEG-4 part 2 file's quantiser scales, and
:func:`encode_like` codes frames as that file was (FFmpeg's encoder at its scale): what
the codec costs a rendered scene. An MPEG-4 part 2 replica read the lost sound of held files
far too high, and such files keep the frames' own cap (docs/real-recordings.md).
"""

from ._checks import REPLICA_OVER_CAP_DB, SOUND_MAP_FLOOR_DB
from ._encoders import encode_like
from ._file_coding import FileQuantiser, FileRate, read_quantisers, read_rate
from ._replica import (
    NOISE_FRAMES,
    REPLICA_FRAMES,
    CodecReplica,
    codec_replica,
    independent_motion,
    moving_regions,
    MOVING_SHARE,
)
from ._key_frames import KeyFrameRepair, chance_ratio, key_frame_weights, read_key_frames, repair_key_frames
from ._jumps import JUMP_RATIO, KeyFrameJumps, key_frame_jumps
from ._unhold import (
    BLOCK,
    CODED_CHANGE,
    SHRINKAGE,
    Unhold,
    UnholdReport,
    UnholdState,
    block_dct,
    block_idct,
    unhold,
)

__all__ = ["KeyFrameRepair", "chance_ratio", "key_frame_weights", "read_key_frames", "repair_key_frames", "CodecReplica", "FileQuantiser", "FileRate", "read_rate", "codec_replica", "encode_like", "read_quantisers", "REPLICA_FRAMES",
           "independent_motion", "moving_regions", "MOVING_SHARE",
           "NOISE_FRAMES", "BLOCK", "JUMP_RATIO", "KeyFrameJumps", "key_frame_jumps", "Unhold", "UnholdReport", "UnholdState", "unhold", "block_dct", "block_idct", "CODED_CHANGE", "SHRINKAGE",
           "REPLICA_OVER_CAP_DB", "SOUND_MAP_FLOOR_DB"]
