import numpy as np
import pytest

import vismic
from vismic import stages
from vismic.data import FrameBatch
from vismic.decompose import Decompose, reference_pyramid
from vismic.pipeline import Stage
from vismic.testing import StageCheckError, check_pipeline, check_stage


@pytest.mark.parametrize(
    "stage",
    [stages.Decompose(), stages.LocalPhase(), stages.BandSum(), stages.BandSum(grid=(2, 2)),
     stages.Combine(), stages.HighPass(), stages.BandLimit(high_hz=300.0), stages.Denoise()],
    ids=repr,
)
def test_builtin_stages_pass_check_stage(stage):
    check_stage(stage)


class _PerBatchNormalise(Stage):
    streaming = True

    def __init__(self, scale=1.0):
        self.scale = scale

    def transform(self, batch):
        frames = batch.frames / batch.frames.std() * self.scale  # depends on the batch split
        return FrameBatch(frames, batch.start, batch.fps)


class _Mutating(Stage):
    def __init__(self):
        pass

    def transform(self, audio):
        audio.samples *= 2
        return audio


class _NoParams:
    streaming = False

    def transform(self, audio):
        return audio


def test_check_stage_catches_broken_stages():
    with pytest.raises(StageCheckError, match="split into batches"):
        check_stage(_PerBatchNormalise())
    with pytest.raises(StageCheckError, match="modified its input"):
        check_stage(_Mutating())
    with pytest.raises(StageCheckError, match="get_params"):
        check_stage(_NoParams())


class _FirstBatchReference(Decompose):
    """The reference of earlier versions: the mean of the first frames of the first batch."""

    def transform(self, batch):
        if self._reference is None:
            self._reference = reference_pyramid(batch.frames[: self.n_reference_frames].mean(axis=0),
                                                n_levels=self._levels(batch))
        return self._decompose(batch)


def test_check_stage_covers_whole_pipelines():
    pipe = vismic.default_pipeline(n_levels=2, grid=(2, 2))
    assert check_stage(pipe) == {"output": "Audio", "batch_sizes": (5, 8, 64)}
    broken = pipe.remove("light").replace("decompose", _FirstBatchReference(n_levels=2))
    with pytest.raises(StageCheckError, match="batch_size=8 gives a different result"):
        check_pipeline(broken)


class _Renamed(Stage):
    def __init__(self, sigma=1.0):
        self.s = sigma

    def transform(self, audio):
        return audio


class _Doubled(Stage):
    def __init__(self, k=1.0):
        self.k = 2 * k

    def transform(self, audio):
        return audio


def test_parameters_stored_under_another_name_or_changed_are_named():
    # the first raised a raw AttributeError from get_params (even from the message's repr); the second passed
    with pytest.raises(StageCheckError, match="'sigma' is not stored as an attribute of the same name"):
        check_stage(_Renamed())
    with pytest.raises(StageCheckError, match=r"does not store 'k' as given \(2.0 became 4.0\)"):
        check_stage(_Doubled())
