"""Blank frames (black, burnt out, without texture): silent in the output, and named."""

from __future__ import annotations

import numpy as np

from ..data import MIN_FRAMES, Audio


def blank_start(audio: Audio) -> int:
    """Frames at the start of a pass's output that the whole video's numbers call blank (0 when none, or too many)."""
    found = audio.info.get("blank_spans")
    if not found or found[0][0] != 0:
        return 0
    stop = int(found[0][1])
    return stop if audio.samples.shape[-1] - stop >= MIN_FRAMES else 0


def silent_over_blanks(samples: np.ndarray, info: dict, statistics) -> np.ndarray:
    """``samples`` silent over the blank frames the statistics found, listed in ``info["blank_spans"]``.

    Nothing can be read from a black or burnt-out frame; the combination already gave them
    little weight (their output was a few per cent of the sound's), and silence says so.
    The spans are ``[start, stop)`` frames of what this pass read (:func:`name_blanks` moves
    them past a lead-in and names them).
    """
    found = [] if statistics is None or statistics["n"] != samples.shape[-1] else statistics["blank_spans"]
    if not found:
        return samples
    samples = samples.copy()
    for start, stop in found:
        samples[..., start:stop] = 0.0
    info["blank_spans"] = [[start, stop] for start, stop in found]
    return samples


def name_blanks(info: dict, lead_in: int) -> None:
    """``info["blank_spans"]`` in frames of the output (after a ``lead_in``), and ``info["blank_frames"]`` naming them.

    Frame numbers and times count from the output's first sample, as ``start_frame`` does.
    """
    if not info.get("blank_spans"):
        return
    found = [(start + lead_in, stop + lead_in) for start, stop in info["blank_spans"]]
    sr = info["fps"]
    n = sum(stop - start for start, stop in found)
    named = [f"{start}" if stop == start + 1 else f"{start}-{stop - 1}" for start, stop in found[:4]]
    where = ", ".join(named) + (f" and {len(found) - 4} more runs" if len(found) > 4 else "")
    first, last = found[0][0] / sr, found[-1][1] / sr
    info["blank_spans"] = [[start, stop] for start, stop in found]
    info["blank_frames"] = (f"{n} frame{'s' if n > 1 else ''} ({n / sr:.3g} s, between {first:.3g} and {last:.3g} s) "
                            f"{'are' if n > 1 else 'is'} blank (black, burnt out or without texture): frame"
                            f"{'s' if n > 1 else ''} {where}; nothing can be read there, and the sound is silent "
                            "over them")
