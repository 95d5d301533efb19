"""Blank frames: a lens cap, a black lead-in before the light comes up, frames dropped as black.

The stages take their references from the first frames (the light normaliser, the
decomposition, the stabiliser), so a video that starts black gave them nothing to
measure against and the whole recovery was lost ("no motion found") however good the
frames after. :func:`blank_lead_in` counts those frames; :func:`vismic.recover_sound`
starts the recovery after them and gives the output silence there.

A frame is *textured* when its spatial contrast stands well above the noise between it
and the next frame (a black or burnt-out frame holds only that noise, or nothing);
the lead-in is the run of frames, from the first, whose contrast is a small share of the
first textured frame's. A first frame that is textured ends the scan at once.

Blank frames later in the video (the light going off for a moment, frames a camera
dropped and wrote black, the black end of a decoded video) are found from a few
numbers per frame that :func:`frame_contrasts` gathers while the video streams:
:func:`blank_frames` marks them, and the recovery is silent over them and says so.
"""

from __future__ import annotations

import numpy as np

from ._buffers import ThreadBuffer

__all__ = ["TEXTURE_OVER_NOISE", "BLANK_SHARE", "NOISE_ONLY", "NEARLY_BLACK", "blank_lead_in", "frame_contrasts",
           "blank_frames", "spans", "source_lead_in", "source_tail", "without_blank_ends", "silent_ends",
           "lead_in_note", "blank_end_note", "contrast_grid"]

#: Spatial standard deviation over the frame-to-frame noise (the difference's over sqrt 2) above which a
#: frame holds texture: a black frame's is about 1 (its contrast is that noise), a still scene's tens.
TEXTURE_OVER_NOISE = 2.0
#: Share of the first textured frame's contrast below which a frame before it is blank.
BLANK_SHARE = 0.25
#: Pixels a frame the scan looks at (evenly spaced rows and columns).
_SAMPLED_PIXELS = 16384
#: Pixels a frame :func:`frame_contrasts` looks at: every frame of the video is measured, and a
#: standard deviation over 1k pixels is good to a few per cent, far finer than the tests need.
_CONTRAST_PIXELS = 1024
#: Contrast over the noise beside a frame at most which :func:`blank_frames` counts it as holding
#: nothing but that noise (a black frame's is about 1; a low-contrast texture darkened by an
#: exposure step to a third of its light still shows 2).
NOISE_ONLY = 1.5
#: Share of a textured frame's contrast below which a frame is blank whatever its noise: a dark frame's
#: fixed pattern (hot pixels, column offsets) stays from frame to frame, so it is not noise between them.
NEARLY_BLACK = 0.15
#: Share of the video's frames whose contrast stands for a textured frame's (see :func:`blank_frames`).
_REFERENCE_QUANTILE = 0.9


def _sample(frame: np.ndarray) -> np.ndarray:
    step = max(1, int(np.sqrt(frame.size / _SAMPLED_PIXELS)))
    return np.asarray(frame[::step, ::step], dtype=np.float64)


def blank_lead_in(frames, *, max_scan: int) -> int:
    """How many frames at the start of ``frames`` are blank (black, burnt out or flat).

    Parameters
    ----------
    frames : iterable of np.ndarray [shape=(height, width)]
        The video's frames in order (e.g. :meth:`vismic.io.VideoSource.frames`); read only
        until the first textured frame.
    max_scan : int
        Frames to look at, at most: a video with no textured frame among them has no
        lead-in (0), and what its frames lack is left to the recovery's findings.

    Returns
    -------
    int
        The frames before the recovery should start (0 for most videos, decided on the
        first two frames).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> texture = rng.uniform(0, 200, (32, 32))
    >>> frames = [rng.normal(2, 1, (32, 32)) for _ in range(20)] + [texture + rng.normal(0, 1, (32, 32))
    ...                                                            for _ in range(5)]
    >>> blank_lead_in(frames, max_scan=100)
    20
    >>> blank_lead_in(frames[20:], max_scan=100)
    0
    """
    contrasts = []
    previous = None
    for index, frame in enumerate(frames):
        if index > max_scan:
            break
        sample = _sample(frame)
        if previous is not None:
            contrast = float(previous.std())
            noise = float((sample - previous).std()) / np.sqrt(2.0)
            if contrast > 0 and contrast >= TEXTURE_OVER_NOISE * noise:
                blank = np.asarray(contrasts) < BLANK_SHARE * contrast
                return int(np.argmin(blank)) if not blank.all() else len(contrasts)
            contrasts.append(contrast)
        previous = sample
    return 0


def source_lead_in(source) -> int:
    """Blank frames at the start of a :class:`~vismic.io.VideoSource` (:func:`blank_lead_in`).

    The scan stops at the first textured frame, however late (it stopped at 2 s or half the
    video, and 560 black frames of 1100 lost the whole recovery); a video with none is
    decoded once more for it, and its findings say what its frames lack.
    """
    max_scan = source.frame_count_hint if source.frame_count_hint is not None else np.iinfo(np.int64).max
    frames = source.frames()
    try:
        return blank_lead_in(frames, max_scan=max_scan)
    finally:
        frames.close()  # the decoder stops here, not whenever the abandoned generator is collected


def source_tail(source) -> int:
    """Blank frames at the end of a random-access ``source`` (read backwards); 0 for others (decoded in order only).

    Black frames after the texture (a lens cap, the light going off) gave the output noise
    there and a step into it that the high-pass spread back over the sound.
    """
    n = source.frame_count_hint
    if not source.random_access or n is None or n < 2:
        return 0

    def backwards():
        for stop in range(n, 0, -source.batch_size):
            start = max(0, stop - source.batch_size)
            yield from source.read(start, stop - start).frames[::-1]

    return blank_lead_in(backwards(), max_scan=n)


def without_blank_ends(source) -> tuple:
    """``(source, lead_in, tail)``: ``source`` read from after its blank lead-in and up to its blank tail."""
    lead_in = source_lead_in(source)
    if lead_in:
        source = source.starting_at(source.start_frame + lead_in)
    tail = source_tail(source)
    if tail:
        source = source.ending_before(source.frame_count_hint - tail)
    return source, lead_in, tail


def silent_ends(audio, lead_in: int, tail: int, *, fps: float):
    """``audio``, recovered between ``lead_in`` and ``tail`` blank frames, with silence for them: the video's time kept.

    A frame lasts ``audio.sr / fps`` samples (one on the main path; a rolling shutter's line
    rate holds rarely a whole number): the recovered samples start at the nearest sample of the
    whole video's time (at most half a sample off), and ``info["row_times_seconds"]``, where
    there, moves with them. ``info`` gains ``start_frame`` and ``lead_in`` / ``blank_end``.
    """
    from .data import Audio

    info = dict(audio.info)
    per_frame = audio.sr / fps
    stop = lead_in + info.get("n_frames", int(round(audio.samples.shape[-1] / per_frame)))
    before = int(round(lead_in * per_frame))
    after = int(round((lead_in + tail) * per_frame)) - before
    info["n_frames"] = stop + tail
    if "row_times_seconds" in info:
        info["row_times_seconds"] = info["row_times_seconds"] + before / audio.sr
    if lead_in:
        info["start_frame"] = lead_in
        info["lead_in"] = lead_in_note(lead_in, fps)
    if tail:
        info["blank_end"] = blank_end_note(tail, stop, fps)
    widths = [(0, 0)] * (audio.samples.ndim - 1) + [(before, after)]
    return Audio(np.pad(audio.samples, widths), audio.sr, info, audio.noise)


_BLANK = "blank (black, burnt out or without texture)"


def lead_in_note(lead_in: int, fps: float) -> str:
    """What ``info["lead_in"]`` says of ``lead_in`` blank frames at the start."""
    return (f"the first {lead_in} frames ({lead_in / fps:.3g} s) are {_BLANK}: the sound is recovered from frame "
            f"{lead_in} on, and is silent before it")


def blank_end_note(tail: int, stop: int, fps: float) -> str:
    """What ``info["blank_end"]`` says of ``tail`` blank frames after frame ``stop``."""
    return (f"the last {tail} frames ({tail / fps:.3g} s) are {_BLANK}: the sound is recovered up to frame {stop}, "
            "and is silent after it")


def contrast_grid(frames) -> np.ndarray:
    """The pixels of each frame, shape (n, height, width[, channels]), that :func:`frame_contrasts` looks at (a view).

    A grid's own grid is itself (it holds under 4096 pixels), so the contrasts of two frames
    from different batches can be found from their grids alone.
    """
    height, width = frames.shape[1:3]
    step = max(1, int(np.sqrt(height * width / _CONTRAST_PIXELS)))
    return frames[:, ::step, ::step]


def frame_contrasts(frames) -> tuple:
    """Each frame's spatial contrast and the noise between it and the frame before.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width) or (n, height, width, channels)]

    Returns
    -------
    contrast, change : np.ndarray [shape=(n,)]
        The standard deviation of each frame's pixels (a subgrid of about 1k of them), and
        the noise between it and the frame before scaled to its light (nan for the first frame).

    Examples
    --------
    >>> contrast, change = frame_contrasts(np.stack([np.eye(8), np.eye(8), np.zeros((8, 8))]))
    >>> contrast.round(2).tolist(), change.round(2).tolist()
    ([0.33, 0.33, 0.0], [nan, 0.0, 0.0])
    """
    n = frames.shape[0]
    view = contrast_grid(frames)
    # a copy into memory kept for the thread's next batch (see vismic._buffers), never the caller's frames;
    # moments rather than centred copies: numpy's broadcast subtraction takes a fresh 64 kB buffer every call
    sample = _SAMPLE.get((n, view[0].size))
    np.copyto(sample.reshape(view.shape), view)
    m = sample.shape[1]
    mean = np.einsum("ij->i", sample) / m
    variance = np.maximum(np.einsum("ij,ij->i", sample, sample) / m - mean ** 2, 0.0)
    change = np.full(n, np.nan)
    if n > 1:
        # each frame less the frame before scaled to its light: a fade or an exposure step leaves only the noise
        # (sqrt(1 + gain^2) times one frame's), a frame gone black leaves its own noise
        covariance = np.einsum("ij,ij->i", sample[:-1], sample[1:]) / m - mean[:-1] * mean[1:]
        before, after = variance[:-1], variance[1:]
        gain = np.divide(covariance, before, out=np.zeros(n - 1), where=before > 0)
        left = np.maximum(after - 2.0 * gain * covariance + gain ** 2 * before, 0.0)
        change[1:] = np.sqrt(left / (1.0 + gain ** 2))
    return np.sqrt(variance), change


_SAMPLE = ThreadBuffer(np.float64)


def blank_frames(contrast, change, *, quantile: float = _REFERENCE_QUANTILE) -> np.ndarray:
    """Which frames of a video are blank, from :func:`frame_contrasts` of all its frames in order.

    A frame is blank when its contrast is under :data:`BLANK_SHARE` of a textured frame's
    (the contrast that a share ``1 - quantile`` of the frames reach) *and* no more than
    :data:`NOISE_ONLY` times the noise between it and a neighbour (the smaller of the two
    differences; where neither is known, a frame alone in its batch, the nearest known one),
    or when its contrast is under :data:`NEARLY_BLACK` of a textured frame's whatever its
    noise. A frame darkened by a fade or an exposure step keeps its texture well above its
    noise, and is not blank. A video with no textured frames has no blank ones either (its
    findings say what it lacks).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=bool]

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> texture = rng.uniform(0, 200, (32, 32))
    >>> frames = np.stack([texture + rng.normal(0, 1, (32, 32)) for _ in range(12)])
    >>> frames[5:7] = rng.normal(2, 1, (2, 32, 32))  # two black frames
    >>> frames[9] *= 0.2  # a dark one: still textured
    >>> np.flatnonzero(blank_frames(*frame_contrasts(frames))).tolist()
    [5, 6]
    """
    contrast, change = np.asarray(contrast, dtype=np.float64), np.asarray(change, dtype=np.float64)
    if contrast.size < 2:
        return np.zeros(contrast.size, dtype=bool)
    # the noise beside each frame: the quieter side, so a frame next to a step is judged by its other neighbour
    after = np.append(change[1:], np.nan)
    with np.errstate(invalid="ignore"):
        noise = np.fmin(change, after)
    known = np.flatnonzero(np.isfinite(noise))
    if known.size and known.size < noise.size:
        # the nearest known noise: a frame alone in its batch has no difference of its own
        positions = np.arange(noise.size)
        right = np.minimum(np.searchsorted(known, positions), known.size - 1)
        left = np.maximum(right - 1, 0)
        nearer_left = positions - known[left] <= np.abs(known[right] - positions)
        noise = noise[np.where(nearer_left, known[left], known[right])]
    reference = float(np.quantile(contrast, quantile))
    dark = contrast < BLANK_SHARE * reference
    return dark & ((contrast <= NOISE_ONLY * noise) | (contrast < NEARLY_BLACK * reference))


def spans(mask) -> list:
    """The runs of True in ``mask`` as ``[(start, stop), ...]``.

    >>> spans(np.array([0, 1, 1, 0, 0, 1], bool))
    [(1, 3), (5, 6)]
    """
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
