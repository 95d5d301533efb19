"""Property tests (Hypothesis) of the argument checks of vismic.io's public functions.

``open_video`` (roi, downsample, batch_size, max_frames, fps, max_batch_bytes,
strict), ``write_wav`` (sr, target_sr, subtype, samples) and ``write_video``
(playback_fps, codec) are given any values, of any type: only a result or a
:class:`~vismic.errors.VismicError` may come out. ``VISMIC_FUZZ_EXAMPLES`` sets
the example count (see ``test_fuzz_readers.py``).
"""

from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vismic.data import Audio, FrameBatch
from vismic.errors import VismicError
from vismic.io import open_video, write_video, write_wav

EXAMPLES = int(os.environ.get("VISMIC_FUZZ_EXAMPLES", "40")) * 4

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

pytestmark = pytest.mark.filterwarnings("ignore")

#: Values of every kind a caller might pass by mistake.
ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.lists(st.one_of(st.integers(-5, 100), st.floats(allow_nan=True)), max_size=5).map(tuple),
    st.just(np.float32(3.5)),
    st.just(np.array([1, 2])),
    st.just(object()),
    st.complex_numbers(max_magnitude=10),
)

FRAMES = np.random.default_rng(0).integers(0, 256, (40, 12, 16), dtype=np.uint8)


def _outcome(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except VismicError:
            return None


@FUZZ
@given(name=st.sampled_from(["roi", "downsample", "batch_size", "max_frames", "fps", "max_batch_bytes",
                             "strict"]),
       value=ANYTHING)
def test_open_video_arguments(name, value):
    options = {"fps": 1000, name: value}

    def run():
        video = open_video(FRAMES, **options)
        return sum(len(batch) for batch in video)

    _outcome(run)


@FUZZ
@given(roi=st.tuples(*[st.integers(-3, 20)] * 4), downsample=st.integers(-1, 20),
       batch_size=st.one_of(st.none(), st.integers(-1, 50)), max_frames=st.one_of(st.none(), st.integers(-1, 50)))
def test_open_video_number_combinations(roi, downsample, batch_size, max_frames):
    def run():
        video = open_video(FRAMES, fps=1000, roi=roi, downsample=downsample, batch_size=batch_size,
                           max_frames=max_frames)
        n = sum(len(batch) for batch in video)
        assert n == min(40, max_frames or 40)
        return n

    _outcome(run)


@FUZZ
@given(name=st.sampled_from(["sr", "target_sr", "subtype", "normalize"]), value=ANYTHING)
def test_write_wav_arguments(name, value):
    options = {"sr": 2200, name: value}
    with tempfile.TemporaryDirectory() as folder:
        _outcome(lambda: write_wav(os.path.join(folder, "a.wav"), np.sin(np.arange(500) / 3.0), **options))


@FUZZ
@given(samples=st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=50).map(np.array),
    st.just(np.zeros((3, 0))), st.just(np.ones((2, 2, 2))), st.just(np.full(10, 1e-300)),
    st.just(np.array(["a"])), st.just(np.ones(10, complex)),
))
def test_write_wav_samples(samples):
    with tempfile.TemporaryDirectory() as folder:
        _outcome(lambda: write_wav(os.path.join(folder, "a.wav"), samples, sr=8000))


@FUZZ
@given(name=st.sampled_from(["playback_fps", "codec"]), value=ANYTHING)
def test_write_video_arguments(name, value):
    options = {name: value}
    with tempfile.TemporaryDirectory() as folder:
        _outcome(lambda: write_video(os.path.join(folder, "a.avi"), FRAMES[:3], **options))


@FUZZ
@given(target_sr=ANYTHING)
def test_audio_to_wav_targets(target_sr):
    audio = Audio(np.sin(np.arange(1000) / 3.0), 2200)
    with tempfile.TemporaryDirectory() as folder:
        _outcome(lambda: audio.to_wav(os.path.join(folder, "a.wav"), target_sr=target_sr))


@FUZZ
@given(fps=ANYTHING, start=ANYTHING)
def test_frame_batch_arguments(fps, start):
    _outcome(lambda: FrameBatch(np.zeros((2, 4, 4)), start, fps))
