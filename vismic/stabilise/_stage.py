"""The streaming stabiliser: frames in, frames without slow camera motion and light changes out."""

from __future__ import annotations

import functools
import warnings
from typing import Optional

import numpy as np

from .._buffers import FrameQueue, ReturnedBuffer, held_dtype
from .._checks import check_bool, check_data, check_finite_frames, check_int, check_non_negative, check_positive
from .._cores import map_on_cores
from .._frame_statistics import PAIR_STRIDE, held_blocks
from ..data import FrameBatch
from ..errors import FrameShapeError, ParameterError, VismicWarning
from ..pipeline import Stage
from ._light import LIGHT_GAINS
from ._border import _ClipHold, _border_profiles, _fill_border, kept_information
from ._mosaic import MOSAIC_PX, Mosaic
from ._shift import chunk_frames, shift_frames, shift_frames_into, shift_frames_over
from ._report import StabiliseReport
from ._track import ShiftModel, TrackSettings, fit_light, measure_shift, measured_blocks, slow_track, track_error

__all__ = ["Stabilise", "stabilise_frames", "stabilise_source"]

#: ``extend``'s choices: what a shift brings in from beyond the frame.
EXTENSIONS = ("reference", "mirror", "mosaic")
#: With ``extend='mosaic'``, the mosaic a frame is set into holds the blocks up to the end of its group of
#: this many blocks (folded in once a group, in order, so the result does not depend on the batches).
MOSAIC_GROUP_BLOCKS = 8
#: ``fill_border``'s choices besides True and False.
FILLS = ("fast", "follow")
#: The smallest frame side the stage takes (1x1 and 2x2 frames flooded numpy's invalid-value warnings).
MIN_SIDE_PX = 4

#: ``border_ramp_px``'s default with ``extend='reference'`` (and ``'mosaic'``) and ``extend='mirror'``.
REFERENCE_RAMP_PX, MIRROR_RAMP_PX = 1.0, 4.0

#: Time constant of the slow part of the track that the border fill ignores (see ``fill_border``).
FILL_SECONDS = 0.1

#: Share of the machine's physical memory the frames a :class:`Stabilise` holds may take.
MAX_HELD_SHARE = 0.5


def physical_memory_bytes() -> Optional[int]:
    """The machine's physical memory in bytes (None where the system does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


class Stabilise(Stage):
    """Stage: :class:`~vismic.data.FrameBatch` -> FrameBatch without slow camera motion and light changes.

    Motion below the sound band (drift, sway, shake: any size) is measured on
    the means of blocks of frames, low-passed below ``cutoff_hz`` and removed
    from every frame by an exact sub-pixel shift; sound-band motion is left in
    the frames. With ``light``, each frame's gain and offset against the first
    block (fitted jointly with motion, so the sound does not leak in) are
    removed too: mains flicker, exposure steps and fades no longer read as
    amplitude evidence.

    The block means are corrected for their own averaging, low-passed at the
    blocks and interpolated to every frame (:func:`~vismic.stabilise.slow_track`).
    Near the clip's two ends, where the kernel reaches past the blocks, the
    track is continued as motion band-limited to the kernel's passband, fitted
    on one kernel's length of blocks at that end (:func:`~vismic.stabilise.extend_track`).
    :meth:`report` holds what was removed and the track's own estimate of its error
    (:func:`~vismic.stabilise.track_error`), which weighs most at the clip's two ends:
    footage that starts before the sound of interest and ends after it keeps that away
    from it.

    Measured with ``benchmarks/bench_nuisance.py --nuisances drift4 sway2 shake4`` (4 scenes,
    96x96 px, median (worst) loss against each clean scene): 4 px shake to 10 Hz loses
    0.6 dB (1.8), drift 0.1 (0.4), sway 0.2 (0.6); with a camera's borders (``--crop 16``)
    1.0 (1.9), 0.2 (0.4), 0.3 (0.5). On clean scenes the stage costs at most 0.03 dB.
    How each setting was chosen, with the figures of what was tried before it:
    docs/real-recordings.md.

    The result does not depend on how the video is split into batches: blocks
    are anchored at the first frame and a frame is released once every block
    within half a kernel and 9 blocks after it has been measured, and the first
    frames only once one kernel's length of blocks is (so the stage holds about
    ``kernel_seconds / 2 + 9 * block_seconds`` of frames, ``kernel_seconds`` at
    the start); :meth:`flush` releases the rest at the end. A range of frames
    can be processed alone given that much of the frames on either side (and
    the first kernel's length of frames: the reference and the start of the track).

    Parameters
    ----------
    cutoff_hz : float
        The kernel's cut-off: motion well below it is removed, motion well above
        it kept (the defaults pass up to ~10 Hz and stop above ~34 Hz). The track
        past the clip's ends is band-limited to ``cutoff_hz - 1.8 / kernel_seconds``
        (the passband edge).
    kernel_seconds : float
        Length of the low-pass kernel; its transition band is ~3.6 / kernel_seconds Hz.
    block_seconds : float
        Length of the blocks whose means are measured (at least one frame). A block's
        mean averages the sound with it, and the sound near the block rate folds into the
        track's band, where the track removes it with the camera motion and leaves its
        error in the sound band: ``bench_nuisance.py --crop 16 --nuisances shake4 --block B``
        gave shake 1.0 (1.9) dB at 2 ms against 1.2 (2.7) at 5 ms. Each block is one
        measurement (:func:`~vismic.stabilise.measure_shift`; ``bench_stabilise.py``).
    tolerance_px : float
        Videos whose slow motion stays well below this are left alone (the evidence is
        linear there, and such a track is mostly the sound's own low end): the share of the
        motion removed is ``1 - exp(-(m / tolerance_px)^2)``, ``m`` the largest block motion up to half a kernel ahead.
    extend : {'reference', 'mirror', 'mosaic'}
        What the shift brings in from beyond the frame's sides. ``'reference'``
        (default): each frame is first set into the static reference moved to it
        (:func:`~vismic.stabilise.shift_frames_over`), so the strips that enter hold
        the reference, and the frame's content meets no edge on that side (the side
        the content leaves keeps the shift's edge error, ``|d|`` px beyond the frame).
        Its shift does twice the work, on frames larger by the motion plus 4 px along
        each side that moves. ``'mirror'``: the frame's own mirror image, the exact
        shift's symmetric extension; beside a camera's borders the scene past the frame
        is not that image, and the shift errs a few px in (with 5 ms blocks,
        ``--crop 16 --extend mirror`` lost 1.6 (3.3) dB on shake where ``'reference'``
        lost 1.2 (2.7)). ``'mosaic'`` (opt-in): the reference reaches
        :data:`~vismic.stabilise._mosaic.MOSAIC_PX` px past the sides
        (:class:`~vismic.stabilise._mosaic.Mosaic`), filled with what the block means saw
        there as the camera moved (folded in in order, :data:`MOSAIC_GROUP_BLOCKS` blocks
        at a time, so the result does not depend on the batches) and, where no block has
        been, the reference's mirror image smoothed. ``bench_nuisance.py --nuisances drift4
        sway2 shake4 --extend mosaic``: shake 0.6 (1.3) dB against ``'reference'``'s 0.6
        (1.8); with a camera's borders (``--crop 16``) 0.9 (2.1) against 1.0 (1.9), the 2.1
        on the texture whose detail reaches the Nyquist limit. ``bench_stabilise.py``:
        625 / 233 / 56 frames/s at 128 / 256 / 512 px against 867 / 294 / 83.
    fill_border : {'fast', 'follow', True, False}
        Hold strips along the sides at the static reference: what entered from beyond
        the frame, and the ramp beside it. The static strip carries no sound, so a strip
        that grows during the clip lowers the sound's gain (the report's
        ``kept_information``, which :class:`~vismic.combine.Combine` divides out) and
        the information in it. ``'fast'`` (default) sizes the strips by the largest fast
        part of the motion so far (the track minus its causal average over
        :data:`FILL_SECONDS`): a strip that followed ``|d(t)|`` would pulse at every zero
        crossing of a sway, and slowly moving content past it does little harm; ``True``
        by all of it; ``'follow'`` only what entered, ``|d(t)|`` px, which lets the shift's
        error in on textures with detail up to the Nyquist limit; ``False`` holds nothing
        (shake then loses tens of dB). With ``extend='reference'`` the strips also cover
        what entered, ``|d(t)|`` px, which holds the reference.
    border_ramp_px : float, optional
        Width of the ramp from a strip to the frame; None (default): 1 px with
        ``extend='reference'``, 4 px with ``'mirror'``, where the ramp also holds the
        shift's edge error beside a camera's borders (a shorter one kept more of the
        frame and lost more sound).
    near_clip_levels : float
        Pixels of the reference within 3 noise standard deviations (``CLIP_NOISE_SIGMAS``;
        measured on the first block's frames, :func:`near_clip_noise`), and at most this many
        grey levels, of 0 or of 255 (8-bit levels; the top is left alone for frames above
        255) are held at the reference, with a ramp of ``CLIP_RAMP_PX`` (2) px beyond
        ``CLIP_RADIUS_PX`` (1) px of them, by the share of the motion removed. Where noise
        lifts a pixel past the clip level now and then, the clipped value does not move
        with the scene, and the exact shift back spreads that error, which follows the
        camera's motion, over the neighbourhood. 0 (the default) turns it off: it helps
        scenes with near-clipped highlights and costs others the edges it holds
        (``bench_nuisance.py --size 192 --nuisances shake4 --near-clip 8``, with
        ``extend='mirror'``: coffee/speech 20.0 -> 22.2 dB, camera/music 33.0 -> 32.8).
    motion, light : bool
        Remove slow motion / light changes.

    Examples
    --------
    >>> import vismic
    >>> pipe = vismic.default_pipeline(stabilise=True)   # before the default's NormaliseLight
    >>> list(pipe.named_steps)[:3]
    ['stabilise', 'light', 'decompose']
    """

    streaming = True
    #: Takes frames as stored (uint8, uint16) and holds them so: a quarter or half of float32's
    #: memory. The fused projection hands a random-access source's stored frames to stages that say so.
    accepts_stored = True

    def __init__(self, cutoff_hz: float = 22.0, kernel_seconds: float = 0.15, block_seconds: float = 0.002,
                 tolerance_px: float = 0.05, extend: str = "reference", fill_border="fast",
                 border_ramp_px: Optional[float] = None,
                 near_clip_levels: float = 0.0, motion: bool = True, light: bool = True):
        self.cutoff_hz = cutoff_hz
        self.kernel_seconds = kernel_seconds
        self.block_seconds = block_seconds
        self.tolerance_px = tolerance_px
        self.extend = extend
        self.fill_border = fill_border
        self.border_ramp_px = border_ramp_px
        self.near_clip_levels = near_clip_levels
        self.motion = motion
        self.light = light
        self.reset()

    def reset(self) -> None:
        self._frames = FrameQueue()  # frames not yet released, float32
        self._output = ReturnedBuffer(np.float32)  # the batch released last, once the pipeline let go of it
        self._first = None  # absolute index of the video's first frame
        self._released = 0  # frames released so far (relative to _first)
        self._model: Optional[ShiftModel] = None
        self._centres: list = []
        self._values: list = []
        self._fps = None
        self._motion: list = []
        self._share: list = []
        self._kept: list = []
        self._gain: list = []
        self._offset: list = []
        self._saturated: list = []
        self._black: list = []
        self._strip = np.zeros(2)
        self._slow_state = None
        self._difference: list = []
        self._previous = None
        self._blocks = np.zeros(4)
        self._error: Optional[np.ndarray] = None  # track_error of the motion released so far
        self._clip = None  # near-clipped pixels held at the reference (_ClipHold), fixed with the reference
        self._reference32 = None  # the reference as the shift sets frames into it, converted once
        self._mosaic: Optional[Mosaic] = None  # extend='mosaic': the reference and what blocks saw past its sides
        self._block_means: dict = {}  # extend='mosaic': block means measured, not yet folded into the mosaic

    # ------------------------------------------------------------------ sizes
    def held_bytes(self, frame_shape, fps: float, itemsize: int = 4) -> int:
        """Most bytes of frames the stage holds on ``(height, width)`` frames at ``fps``, ``itemsize`` bytes a pixel.

        Frames are held as float32 (4), or as stored for 8- and 16-bit integers (1, 2: :func:`held_dtype`).

        Nothing leaves before one kernel's length of blocks is measured, then a frame
        leaves once every block within its reach is (``TrackSettings.reach_frames``);
        the queue sets aside half as many again, so that moving the held frames to its
        front is rare.
        """
        height, width = (int(v) for v in frame_shape[:2])
        return self._queue_frames(fps) * height * width * int(itemsize)

    def _queue_frames(self, fps: float) -> int:
        """Frames the queue sets aside: half as many again as the stage holds at most."""
        settings = self._settings(check_positive(fps, "fps"))
        block = settings.block_frames
        frames = max(settings.window_blocks * block, settings.reach_frames) + 2 * block
        return int(1.5 * np.ceil(frames))

    def check_memory(self, frame_shape, fps: float, itemsize: int = 4) -> None:
        """Refuse frames whose held frames (:meth:`held_bytes`) would pass half the machine's memory.

        Raises
        ------
        ParameterError
            Naming the frames, the memory needed and what shrinks it.
        """
        needed, memory = self.held_bytes(frame_shape, fps, itemsize), physical_memory_bytes()
        if memory and needed > MAX_HELD_SHARE * memory:
            height, width = (int(v) for v in frame_shape[:2])
            raise ParameterError(
                f"stabilising frames of {width}x{height} pixels at {fps:g} fps holds {needed / 2**30:.1f} GiB of "
                f"frames (at most {MAX_HELD_SHARE:.0%} of this machine's {memory / 2**30:.0f} GiB): pass a smaller "
                "--roi or a --downsample factor"
            )

    def _block(self, fps: Optional[float] = None) -> int:
        fps = self._fps if fps is None else fps
        return max(1, int(round(check_positive(self.block_seconds, "block_seconds") * fps)))

    def _settings(self, fps: Optional[float] = None) -> TrackSettings:
        fps = self._fps if fps is None else fps
        return TrackSettings(fps=fps, cutoff_hz=self.cutoff_hz,
                             kernel_seconds=check_positive(self.kernel_seconds, "kernel_seconds"),
                             block_frames=self._block(fps))

    # ------------------------------------------------------------------ streaming
    def transform(self, batch: FrameBatch):
        check_data(batch, FrameBatch, "Stabilise")
        if self._first is None:
            self._first = batch.start
            self._fps = batch.fps
            check_positive(self.cutoff_hz, "cutoff_hz")
            limit = batch.fps / (2.0 * self._block(batch.fps))
            if self.cutoff_hz >= limit:  # a warning: clips at 30 fps and less still run, with nothing left below it
                warnings.warn(f"Stabilise(cutoff_hz={self.cutoff_hz:g}) is beyond what a track of "
                              f"{self._block(batch.fps)}-frame blocks at {batch.fps:g} fps can follow (below "
                              f"{limit:g} Hz): it follows and removes all motion, the sound's too", VismicWarning,
                              stacklevel=2)
            if self.border_ramp_px is not None:
                check_positive(self.border_ramp_px, "border_ramp_px")
            check_non_negative(self.near_clip_levels, "near_clip_levels")
            if not any(self.fill_border is choice for choice in (True, False)) and self.fill_border not in FILLS:
                raise ParameterError(f"fill_border must be 'fast', 'follow', True or False, given {self.fill_border!r}")
            if self.extend not in EXTENSIONS:
                raise ParameterError(f"extend must be 'reference', 'mirror' or 'mosaic', given {self.extend!r}")
            self.motion, self.light = check_bool(self.motion, "motion"), check_bool(self.light, "light")
            if min(np.shape(batch.frames)[1:3]) < MIN_SIDE_PX:
                raise FrameShapeError(f"Stabilise needs frames of at least {MIN_SIDE_PX} px a side (its blocks' shift "
                                      f"and light fit), given {np.shape(batch.frames)[2]}x{np.shape(batch.frames)[1]} px")
            self.check_memory(np.shape(batch.frames)[1:], batch.fps, held_dtype(np.asarray(batch.frames).dtype).itemsize)
            self._frames.capacity = self._queue_frames(batch.fps)
        frames = np.asarray(batch.frames)
        first = self._frames.frame_shape
        if first is not None and frames.shape[1:] != first:
            raise FrameShapeError(f"frames changed size within the video: {first} at first, "
                                  f"{frames.shape[1:]} from frame {batch.start}")
        self._frames.append(frames)
        self._measure_blocks(final=False)
        block = self._block()
        next_centre = len(self._centres) * block + (block - 1) / 2.0
        ready = int(np.floor(next_centre - self._settings().reach_frames)) + 1 - self._released
        # The track before the first block is extrapolated from the first kernel's length of blocks:
        # nothing leaves before they are all measured, so it does not depend on the batches.
        if len(self._centres) < self._settings().window_blocks:
            ready = 0
        return self._release(min(ready, len(self._frames)), final=False)

    def flush(self):
        """Release the frames still held at the end of the video (None if none)."""
        if not len(self._frames):
            self._let_go()
            return None
        self._measure_blocks(final=True)
        last = self._release(len(self._frames), final=True)
        self._let_go()
        return last

    def _let_go(self) -> None:
        """Give back the memory the frames were held in (the video has ended; the last batch keeps its own).

        Held until the stage went, it stayed beside what came next: a 720x1144 H.264 clip's
        codec replica ran on top of 2 GB the stage no longer used.
        """
        self._frames = FrameQueue()
        self._output = ReturnedBuffer(np.float32)

    def report(self) -> StabiliseReport:
        """What was measured on the frames released so far."""
        block = np.array(self._values).reshape(-1, 2)
        motion = np.array(self._motion).reshape(-1, 2)
        if self._error is None or self._error.shape != motion.shape:  # the track's test runs once per length
            self._error = track_error(motion, self._settings()) if np.any(motion) else np.zeros_like(motion)
        error = self._error
        blocks = self._blocks
        return StabiliseReport(
            motion_px=motion, block_motion_px=block, track_error_px=error,
            share=np.array(self._share, dtype=np.float64), settings=self._settings() if self._fps else None,
            kept_information=np.array(self._kept, dtype=np.float64),
            held_blocks=float(blocks[0] / blocks[1]) if blocks[1] else 0.0,
            whole_blocks=float(blocks[2] / blocks[3]) if blocks[3] else 0.0,
            block_centres=np.array(self._centres, dtype=np.float64),
            gain=np.array(self._gain), offset=np.array(self._offset),
            saturated_fraction=np.array(self._saturated), black_fraction=np.array(self._black),
            difference_power=np.array(self._difference),
            texture_rms=float(np.sqrt(np.mean(self._model._regressors[2:] ** 2) * 2)) if self._model else 0.0,
        )

    # ------------------------------------------------------------------ internals
    def _ramp_px(self) -> float:
        if self.border_ramp_px is not None:
            return float(self.border_ramp_px)
        return MIRROR_RAMP_PX if self.extend == "mirror" else REFERENCE_RAMP_PX

    def _fast_part(self, motion: np.ndarray) -> np.ndarray:
        fast, self._slow_state = fast_motion(motion, self._fps, self._slow_state)
        return fast

    def _measure_blocks(self, final: bool) -> None:
        block = self._block()
        held = len(self._frames)
        means = []
        for k in range(len(self._centres), measured_blocks(self._released + held, block, final=final)):
            first = k * block - self._released  # the block's first frame in the held array
            last = min(first + block, held)
            means.append(np.mean(self._frames.frames[first:last], axis=0, dtype=np.float64))  # no float64 copy
            self._centres.append(k * block + (last - first - 1) / 2.0)
            if self.extend == "mosaic" and self.motion:
                self._block_means[k] = means[-1].astype(np.float32)
        if means and self._model is None:
            self._model = ShiftModel(means[0])
            self._reference32 = self._model.reference.astype(np.float32)
            if self.extend == "mosaic":
                self._mosaic = Mosaic(self._model.reference)
            self._clip = _ClipHold.of(self._frames.frames[:block], self._model.reference, self.near_clip_levels)
            self._values.append((0.0, 0.0))
            means = means[1:]
        if not self.motion:
            self._values.extend([(0.0, 0.0)] * len(means))
            return
        # each block is measured against the same reference alone: side by side on a thread per core
        self._values.extend(map_on_cores(functools.partial(measure_shift, model=self._model), means))

    def _track(self, index: np.ndarray, final: bool) -> np.ndarray:
        return slow_track(index, self._centres, self._values, self._settings(), final=final)

    def _release(self, count: int, final: bool):
        if count <= 0:
            return None
        frames = self._frames.take(count)
        start = self._released
        self._released += count
        self._measure_input(frames, start)
        index = np.arange(start, start + count, dtype=np.float64)
        motion = self._track(index, final) if self.motion else np.zeros((count, 2))
        # The share removed follows the largest block motion up to half a kernel ahead (monotone,
        # and already large before a motion arrives): a share that followed |d(t)| would pulse at
        # every zero crossing of a sway, and one that grew with the motion would ramp in the sound band.
        values = np.array(self._values).reshape(-1, 2)
        largest = np.maximum.accumulate(np.hypot(values[:, 0], values[:, 1]))
        ahead = np.searchsorted(np.array(self._centres), index + self._settings().half_frames, side="left") - 1
        share = compensated_share(largest[np.clip(ahead, 0, None)], self.tolerance_px)
        self._share.extend(share)
        motion = motion * share[:, None]
        kept = np.ones(count)
        profiles = None
        if np.any(motion) and self.fill_border:
            # The strip follows the running maximum of the motion: a smooth (C1) width, so the blend
            # adds nothing in the sound band (|d(t)| itself has kinks at every zero crossing of a sway).
            # The slow part of the motion is left out of a 'fast' strip: it would grow the strip during the clip.
            if self.fill_border == "follow":  # only what entered: the rest of the frame keeps its sound
                strip = np.abs(motion)
            else:
                size = np.abs(motion) if self.fill_border is True else np.abs(self._fast_part(motion))
                strip = np.maximum.accumulate(np.vstack([self._strip[None], size]), axis=0)[1:]
                self._strip = strip[-1]
            if self.extend != "mirror":  # what entered holds the reference (or mosaic), however slowly it came
                strip = np.maximum(strip, np.abs(motion))
            profiles = _border_profiles(frames.shape[1:], strip, self._ramp_px())
            kept = kept_information(profiles, self._model.information)
        out = self._output.get(frames.shape)
        # each few frames are shifted, filled and freed of light changes on a thread while they are in
        # the cache; every step is the frame's own, so the frames are the same for any split
        step = chunk_frames(frames.shape[1:], out.itemsize)
        moved = motion if np.any(motion) else None
        parts = []
        for lo, hi, canvas in self._canvases(start, count, moved is not None):
            parts += map_on_cores(functools.partial(self._finish, frames, out, moved, profiles, share, canvas),
                                  [(a, min(a + step, hi)) for a in range(lo, hi, step)])
        self._motion.extend(motion)
        self._kept.extend(kept)
        for gain, offset in parts:
            self._gain.extend(gain)
            self._offset.extend(offset)
        return FrameBatch(out, self._first + start, self._fps)

    def _canvases(self, start: int, count: int, moving: bool):
        """``(lo, hi, canvas)`` spans of the ``count`` frames from ``start``: the mosaic each is set into (None: the reference).

        With ``extend='mosaic'`` the frames of a group of :data:`MOSAIC_GROUP_BLOCKS` blocks are
        set into the mosaic that holds every block up to the group's end (each measured by
        then: a frame leaves once every block within its reach is), folded in in order.
        """
        if self.extend != "mosaic" or self._mosaic is None:
            return [(0, count, None)]
        block = self._block()
        group = block * max(1, min(MOSAIC_GROUP_BLOCKS, int(self._settings().reach_frames // block) - 1))
        spans = []
        lo = 0
        while lo < count:
            number = (start + lo) // group
            hi = min(count, (number + 1) * group - start)
            upto = min((number + 1) * group // block, len(self._values))
            for k in range(self._mosaic.folded, upto):  # folded whether or not these frames move: none is kept
                self._mosaic.fold(self._block_means.pop(k), self._values[k])
            spans.append((lo, hi, self._mosaic.canvas().astype(np.float32) if moving else None))
            lo = hi
        return spans

    def _finish(self, frames, out, motion, profiles, share, canvas, span) -> tuple:
        """Frames ``span`` of ``frames`` shifted back by ``motion`` (None: copied), light removed, border filled, into ``out``.

        Near-clipped pixels are held static by the ``share`` of the motion removed from each frame.
        Both holds come after the light's removal: they hold the reference, whose light is the
        reference's own, not the frame's.

        Returns their gain and offset (ones and zeros without ``light``).
        """
        lo, hi = span
        part = out[lo:hi]
        if motion is None:
            part[...] = frames[lo:hi]
        else:  # float32: rounding far below sensor noise
            if canvas is not None:
                shift_frames_into(frames[lo:hi], -motion[lo:hi, 0], -motion[lo:hi, 1], canvas, MOSAIC_PX,
                                  threads=1, out=part)
            elif self.extend in ("reference", "mosaic"):
                shift_frames_over(frames[lo:hi], -motion[lo:hi, 0], -motion[lo:hi, 1], self._reference32,
                                  threads=1, out=part)
            else:
                shift_frames(frames[lo:hi], -motion[lo:hi, 0], -motion[lo:hi, 1], threads=1, out=part)
        if self.light:
            # The light is removed before anything is held at the reference: the reference is in its own
            # light, and a strip held there and divided by the frame's gain afterwards flickered at 1/gain
            # beside content that did not, an edge whose contrast changes with the light (read as motion).
            gain, offset = fit_light(part, self._model)
            # as NormaliseLight: a gain out of LIGHT_GAINS is no light (frames of noise fit 0.0013, and their
            # values went to +-1.6e5)
            gain = np.where((gain > LIGHT_GAINS[0]) & (gain < LIGHT_GAINS[1]), gain, 1.0)
            _remove_light(part, gain, offset)
        else:
            gain, offset = np.ones(hi - lo), np.zeros(hi - lo)
        if motion is not None:
            if profiles is not None:
                _fill_border(part, (profiles[0][lo:hi], profiles[1][lo:hi]), self._model.reference)
            if self._clip is not None:
                self._clip.apply(part, share[lo:hi])
        return gain, offset

    def _measure_input(self, frames: np.ndarray, start: int) -> None:
        """Saturated and black shares, the change from frame to frame and the held blocks of input frames."""
        n = frames.shape[0]
        flat = frames.reshape(n, -1)
        step = chunk_frames(flat.shape[1:], 1)  # the comparisons' masks a few frames at a time
        for lo in range(0, n, step):
            part = flat[lo:lo + step]
            self._saturated.extend(np.count_nonzero(part >= 255.0, axis=1) / max(flat.shape[1], 1))
            self._black.extend(np.count_nonzero(part <= 0.0, axis=1) / max(flat.shape[1], 1))

        def before(i):
            return self._previous[0] if i == 0 else frames[i - 1]

        first = 0 if self._previous is not None else 1
        self._difference.extend([np.nan] * first)
        for i in range(first, n):
            change = np.subtract(frames[i], before(i), dtype=np.float64).reshape(-1)
            self._difference.append(float(np.dot(change, change)) / max(change.size, 1))
        # pairs at the same absolute frames however the video is split into batches: (i - 1, i) in this batch
        pairs = [i for i in range(first, n) if (start + i - 1) % PAIR_STRIDE == 0]
        if pairs:
            counts, _ = held_blocks(np.stack([f for i in pairs for f in (before(i), frames[i])]), stride=2)
            if counts:
                self._blocks += np.sum(counts, axis=0)
        self._previous = frames[-1:].copy()


def fast_motion(motion, fps: float, state=None) -> tuple:
    """The track minus its causal exponential average over :data:`FILL_SECONDS`: ``(fast, state)``.

    ``motion`` is ``(n, 2)`` px; ``state`` the filter's state after the frames before
    (None at the first frame, where the average starts at the motion), so a track given
    in pieces gives the same as given whole.
    """
    from scipy.signal import lfilter

    motion = np.asarray(motion, dtype=np.float64)
    alpha = 1.0 - np.exp(-1.0 / (FILL_SECONDS * fps))
    if state is None:
        state = (1.0 - alpha) * motion[0]
    slow, state = lfilter([alpha], [1.0, alpha - 1.0], motion, axis=0, zi=np.asarray(state)[None])
    return motion - slow, state[0]


def _remove_light(frames: np.ndarray, gain: np.ndarray, offset: np.ndarray) -> None:
    """``frames = (frames - offset) / gain`` per frame, in place, computed in float64 a few frames at a time."""
    step = chunk_frames(frames.shape[1:], 8)
    for lo in range(0, frames.shape[0], step):
        hi = lo + step
        frames[lo:hi] = (frames[lo:hi] - offset[lo:hi, None, None]) / gain[lo:hi, None, None]


def compensated_share(largest_px, tolerance_px: float) -> np.ndarray:
    """Share of the slow motion to remove, ``1 - exp(-(largest / tolerance)^2)``, from the largest size seen.

    A video whose slow track stays within a few hundredths of a px (the evidence is
    linear there, and such a track is mostly the sound's own low end) is left alone;
    once the motion has exceeded the tolerance it is removed in full.

    Examples
    --------
    >>> compensated_share(np.array([0.01, 0.2]), 0.05).round(4).tolist()
    [0.0392, 1.0]
    """
    largest_px = np.asarray(largest_px, dtype=np.float64)
    tolerance_px = check_positive(tolerance_px, "tolerance_px")
    return -np.expm1(-((largest_px / tolerance_px) ** 2))


def stabilise_frames(frames, *, fps: float, batch_size: int = 64, **params):
    """Stabilise a whole frame stack with :class:`Stabilise` (batch by batch, then flushed).

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)]
    fps : float
    batch_size : int
    **params
        :class:`Stabilise` parameters.

    Returns
    -------
    frames : np.ndarray [shape=(n, height, width)], float32
    report : StabiliseReport

    Examples
    --------
    >>> frames = np.random.default_rng(0).uniform(0, 255, (40, 32, 32))
    >>> out, report = stabilise_frames(frames, fps=2200.0)
    >>> out.shape, report.motion_px.shape
    ((40, 32, 32), (40, 2))
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise FrameShapeError(f"frames must have shape (n, height, width), given shape={frames.shape}")
    check_finite_frames(frames)
    fps = check_positive(fps, "fps")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    stage = Stabilise(**params)
    result = np.empty(frames.shape, dtype=np.float32)
    released = 0

    def keep(out):  # copied at once: the stage may use a released batch's memory again
        nonlocal released
        if out is not None:
            result[released:released + len(out.frames)] = out.frames
            released += len(out.frames)

    from ..io._stream import StoredBatch

    # 8- and 16-bit frames go in as they are (the stage holds them so), others as float32 batches
    batch = StoredBatch if held_dtype(frames.dtype) == frames.dtype else FrameBatch
    for start in range(0, frames.shape[0], batch_size):
        keep(stage.transform(batch(frames[start:start + batch_size], start, fps)))
    keep(stage.flush())
    return result, stage.report()


def stabilise_source(source, **params):
    """A :class:`~vismic.io.VideoSource` whose batches come out of :class:`Stabilise` (flushed at the end).

    Usable with :func:`vismic.recover_sound` today, while the pipeline runner
    does not yet call a streaming stage's ``flush`` (a ``Stabilise`` step inside
    the pipeline would lose the last ``kernel_seconds / 2`` of frames). The
    stage is ``source.stage``; ``source.stage.report()`` holds what it measured
    after a run.

    Examples
    --------
    >>> import vismic
    >>> from vismic.io import open_video
    >>> frames = np.random.default_rng(0).integers(0, 256, (300, 32, 32), dtype=np.uint8)
    >>> source = stabilise_source(open_video(frames, fps=2200.0))
    >>> rec = vismic.recover_sound(source, fps=2200.0, denoise=None)
    >>> rec.audio.shape, source.stage.report().motion_px.shape
    ((300,), (300, 2))
    """
    from ..io import VideoSource

    if not isinstance(source, VideoSource):
        raise ParameterError(f"source must be a vismic.io.VideoSource (from open_video), given {type(source).__name__}")
    return _stabilised_source_class()(source, Stabilise(**params))


@functools.lru_cache(maxsize=None)
def _stabilised_source_class():
    # built on first use: vismic.io (and its video backends) stay out of `import vismic.stabilise`
    from ..io import VideoSource

    class StabilisedSource(VideoSource):
        def __init__(self, source, stage):  # noqa: D401 - shares the wrapped source's attributes
            self.__dict__.update(source.__dict__)
            self._wrapped = source
            self.stage = stage
            self.random_access = False  # its frames come out of the stage: no worker may read the file around it

        def __iter__(self):
            self.stage.reset()
            for batch in self._wrapped:
                out = self.stage.transform(batch)
                if out is not None:
                    yield out
            tail = self.stage.flush()
            if tail is not None:
                yield tail

    return StabilisedSource
