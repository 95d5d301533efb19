import numpy as np
import pytest

import vismic
from vismic import stages
from vismic.data import Audio, BandSignals, FrameBatch
from vismic.errors import ParameterError, TooFewFramesError
from vismic.pipeline import Pipeline, Stage
from vismic.testing import StageCheckError, check_stage, sample_inputs


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, vismic; vismic.recover_sound; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


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


def test_pipeline_params_and_editing():
    pipe = vismic.default_pipeline(denoise=None)
    assert [n for n, _ in pipe.steps] == ["decompose", "phase", "bands", "combine", "highpass"]
    pipe.set_params(decompose__n_levels=3)
    assert pipe["decompose"].n_levels == 3
    assert pipe.get_params()["decompose__n_levels"] == 3
    with pytest.raises(ParameterError, match="no parameter"):
        pipe.set_params(decompose__levels=3)
    with pytest.raises(ParameterError, match="no step"):
        pipe["nothing"]
    pipe2 = pipe.replace("highpass", stages.BandLimit(low_hz=50.0)).append("denoise", stages.Denoise())
    assert [n for n, _ in pipe2.steps][-2:] == ["highpass", "denoise"]
    assert "BandLimit(low_hz=50.0)" in repr(pipe2)
    with pytest.raises(ParameterError, match="unique"):
        Pipeline([("a", stages.HighPass()), ("a", stages.HighPass())])


def test_pipeline_with_a_custom_stage_runs():
    class Gain(Stage):
        def __init__(self, gain=2.0):
            self.gain = gain

        def transform(self, audio):
            return Audio(audio.samples * self.gain, audio.sr, dict(audio.info))

    check_stage(Gain())
    pipe = vismic.default_pipeline(denoise=None).append("gain", Gain(3.0))
    batches = sample_inputs()["FrameBatch"]
    out = pipe.run(batches)
    base = vismic.default_pipeline(denoise=None).run(batches)
    np.testing.assert_allclose(out.samples, 3.0 * base.samples)


def test_combine_needs_enough_frames():
    bands = BandSignals(np.zeros((1, 6, 1, 2, 8)), np.tile(np.eye(2), (1, 6, 1, 1, 1)), 0, 1000.0)
    with pytest.raises(TooFewFramesError):
        stages.Combine().transform(bands)
