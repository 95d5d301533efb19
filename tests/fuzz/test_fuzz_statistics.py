"""Fuzzing the frame statistics: any video cut into any pieces folds to the numbers of the whole.

Frames of any small shape (narrower or lower than a codec block, a single frame, colour),
any dtype the readers give, and any cuts; ``VISMIC_FUZZ_EXAMPLES`` sets the examples (default 25).
"""

import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from vismic._frame_statistics import WINDOW, FrameStatistics, frame_extract  # noqa: E402

EXAMPLES = int(os.environ.get("VISMIC_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def videos(draw):
    n = draw(st.integers(1, 3 * WINDOW + 5))
    height, width = draw(st.integers(1, 24)), draw(st.integers(1, 40))
    channels = draw(st.sampled_from([(), (3,)]))
    kind = draw(st.sampled_from(["uint8", "uint16", "float32"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    frames = rng.integers(0, 255, (n, height, width) + channels)
    if draw(st.booleans()):
        frames[rng.integers(0, n, n // 3)] = 0  # black frames among them
    if n > 1 and draw(st.booleans()):
        frames[1::2] = frames[:-1:2][:len(frames[1::2])]  # every frame twice
    cuts = draw(st.lists(st.integers(1, max(1, n - 1)), max_size=8, unique=True)) if n > 1 else []
    return frames.astype(kind), sorted(set(cuts))


@FUZZ
@given(videos())
def test_any_pieces_fold_to_the_whole_videos_numbers(video):
    frames, cuts = video
    whole, pieces = FrameStatistics(), FrameStatistics()
    whole.add(frame_extract(frames))
    edges = [0] + cuts + [len(frames)]
    for start, stop in zip(edges[:-1], edges[1:]):
        pieces.add(frame_extract(frames[start:stop], start))
    merged = whole.merged()
    assert pieces.merged() == merged
    assert merged["n"] == len(frames) and sum(w["n"] for w in whole.windows) == len(frames)
    assert all(np.isfinite(merged[key]) for key in ("texture", "flicker", "unsteady", "dark", "bright"))
