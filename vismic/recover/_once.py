"""One pass of a pipeline over a video, with the findings that say whether to trust it."""

from __future__ import annotations

from pathlib import Path

from ..data import MIN_FRAMES, Audio
from ..errors import ParameterError, TooFewFramesError
from ..pipeline import Pipeline
from ._blanks import silent_over_blanks
from ._passes import has_stabiliser


#: Most threads a recovery projects frames on by default (each holds a chunk of frames at a time).
MAX_THREADS = 8

#: Fewest frames per chunk (:func:`vismic.project._templates.chunk_frames`) for which the
#: default projects on a thread per core when the compiled tile loop is not installed
#: (numba). Tile by tile in numpy, the 16-frame chunks of 1024x1024 and 1280x800 frames
#: are hundreds of small calls (a few per tile), each releasing and retaking the GIL, and
#: two threads ran slower than one (``bench_speed``); the compiled loop projects a chunk
#: in one call without the GIL (:func:`vismic.project._kernels.tiles_kernel`).
MIN_CHUNK_FOR_THREADS = 32


def threads_for(pipeline: Pipeline, threads=None, frame_shape=None):
    """A pool of ``threads`` threads (default one per core this process may use) for a projection (else None).

    numpy's products and the compiled difference loop release the GIL, so threads of this process
    project (and read) chunks side by side with no copies between processes; the
    result equals the serial one bit for bit (a frame's scores depend only on its
    chunk, never on who computed it). Without numba, frames whose chunks hold fewer than
    :data:`MIN_CHUNK_FOR_THREADS` frames (above about 1024x512 px) stay on one thread.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .._cores import usable_cores
    from ..project._fuse import split_fusable
    from ..project._kernels import compiled_available
    from ..project._templates import chunk_frames

    if threads is None:
        if (frame_shape is not None and chunk_frames(frame_shape) < MIN_CHUNK_FOR_THREADS
                and not compiled_available()):
            return None
        threads = min(usable_cores(), MAX_THREADS)
    if threads < 2 or split_fusable(pipeline.streaming_steps)[1] is None:
        return None
    return ThreadPoolExecutor(threads, thread_name_prefix="vismic-project")


def recover_once(pipeline: Pipeline, source, video, *, progress, device, workers, executor, threads,
                  fuse, precision="float32") -> Audio:
    """One pass of ``pipeline`` over ``source``; ``info["warnings"]`` lists the findings (not yet warned)."""
    from .._frame_statistics import FrameStatistics, frame_extract
    from .._reliability import CLIPPED_PREFIX, NO_TEXTURE_PREFIX, findings
    from ..codec._checks import check_codec, check_file_codec, unhold_report
    from ..io._stream import VideoStream
    from ..project._parallel import one_blas_thread

    seen = {"n_frames": 0, "reference_frame": None}
    statistics = FrameStatistics()

    # batches decode ahead in a thread; what the findings need of them is extracted where frames are read
    # and folded over fixed windows of the video, whatever its batches
    batches = VideoStream(source, frame_extract, statistics.add)

    def count(n):
        seen["n_frames"] += n
        if progress is not None:
            progress(n)

    pool = None
    if workers is not None:
        from ..project._parallel import process_pool, stop_pool

        pool = executor = process_pool(workers)
    elif executor is None and device is None and fuse:
        pool = executor = threads_for(pipeline, threads, getattr(source, "frame_shape", None))
    try:
        # numpy's BLAS on one thread: the parallelism is ours (threads, workers), and BLAS's own idle threads
        # made small calls wait for them (a 64 x 2 x 2 inverse took 0.3 ms, now and then 90 ms)
        with one_blas_thread():
            audio = pipeline.run(batches, progress=count, fuse=fuse, device=device, executor=executor,
                                 precision=precision)
    except TooFewFramesError:
        if seen["n_frames"] >= MIN_FRAMES:
            raise
        audio = None
    except BaseException:
        if workers is not None:  # interrupted: its workers are stopped, not waited on (a wait hung after signals)
            stop_pool(pool)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if audio is None or seen["n_frames"] < MIN_FRAMES:
        n, limit = seen["n_frames"], getattr(source, "max_frames", None)
        frames = f"{n} frame{'' if n == 1 else 's'}"
        start = getattr(source, "start_frame", 0)
        has = (f"max_frames={limit} (--max-frames) reads {frames} of {_describe(video)}"
               if limit is not None and n == limit - start else
               f"{_describe(video)} has {frames}" + (f" from frame {start} on" if start else ""))
        raise TooFewFramesError(f"{has}; vismic needs at least {MIN_FRAMES}")
    if not isinstance(audio, Audio):
        raise ParameterError(f"the pipeline's last stage must return vismic.data.Audio, it gave {type(audio).__name__}")
    info = dict(audio.info)
    seen["reference_frame"] = batches.first_frame
    info.update(seen, fps=audio.sr, fps_source=getattr(source, "fps_source", "argument"))
    if source.path is not None:
        info["source_path"] = str(source.path)
    merged = statistics.merged()
    samples = silent_over_blanks(audio.samples, info, merged)
    check_codec(info, merged, unhold_report(pipeline), getattr(source, "codec", None))
    check_file_codec(info, getattr(source, "codec", None))
    found = findings(samples, info, merged)
    if has_stabiliser(pipeline):
        # the frames as read vary with the camera's motion, which the stabiliser took out: its report judges the
        # texture on what it held (no_texture); a 12 px shake of brick read "no stable texture" at 18 dB
        found = [line for line in found if not line.startswith(NO_TEXTURE_PREFIX)]
    # what the combination's own checks found (slow motion breaking the linearisation...), said once
    clipped = any(line.startswith(CLIPPED_PREFIX) for line in found)
    found += [message for name, message in info.get("reliability", {}).items()
              if name != "low_snr" and not (clipped and name in ("saturated", "black"))]
    info["warnings"] = list(info.get("warnings", [])) + found
    return Audio(samples, audio.sr, info, audio.noise)


def _describe(video) -> str:
    if isinstance(video, (str, Path)):
        return str(video)
    path = getattr(video, "path", None)  # a VideoSource of a file or folder (what the command line passes)
    return str(path) if path is not None else "the video"
