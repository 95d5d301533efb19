import numpy as np
import pytest

import vismic
from vismic import stages
from vismic.data import Audio, FrameBatch, NoiseSpectrum
from vismic.errors import ParameterError
from vismic.pipeline import Pipeline, Stage
from vismic.testing import check_stage, sample_inputs


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, vismic; vismic.recover_sound; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_set_params_takes_what_get_params_gives_and_whole_steps():
    pipe = vismic.default_pipeline(denoise=None)
    other = vismic.default_pipeline(denoise=None, n_levels=3, highpass_hz=40.0)
    pipe.set_params(**other.get_params())  # refused before: "named step__param, given 'light'"
    assert pipe.get_params()["decompose__n_levels"] == 3 and pipe["combine"] is other["combine"]
    pipe.set_params(combine=stages.Combine(highpass_hz=60.0), combine__n_sources=2)  # the step first, then its own
    assert pipe["combine"].highpass_hz == 60.0 and pipe["combine"].n_sources == 2
    with pytest.raises(ParameterError, match="no step named 'nothing'"):
        pipe.set_params(nothing=stages.Combine())
    with pytest.raises(ParameterError, match="transform"):
        pipe.set_params(combine=42)


def test_pipeline_params_and_editing():
    pipe = vismic.default_pipeline(denoise=None)
    assert [n for n, _ in pipe.steps] == ["light", "decompose", "phase", "bands", "combine"]
    pipe.set_params(decompose__n_levels=3)
    assert pipe["decompose"].n_levels == 3
    assert pipe.get_params()["decompose__n_levels"] == 3
    with pytest.raises(ParameterError, match="no parameter"):
        pipe.set_params(decompose__levels=3)
    with pytest.raises(ParameterError, match="no step"):
        pipe["nothing"]
    pipe2 = pipe.append("bandlimit", stages.BandLimit(low_hz=40.0)).append("denoise", stages.Denoise())
    pipe2 = pipe2.replace("bandlimit", stages.BandLimit(low_hz=50.0))
    assert [n for n, _ in pipe2.steps][-3:] == ["combine", "bandlimit", "denoise"]
    assert "BandLimit(low_hz=50.0)" in repr(pipe2)
    assert [n for n, _ in pipe2.remove("bandlimit").steps][-2:] == ["combine", "denoise"]
    with pytest.raises(ParameterError, match="unique"):
        Pipeline([("a", stages.HighPass()), ("a", stages.HighPass())])


@pytest.mark.parametrize("edit", [
    lambda p: p.replace("denoise", stages.Denoise(method="wiener")),
    lambda p: p.insert("denoise", "bandlimit", stages.BandLimit(high_hz=900.0)),
    lambda p: p.append("gain", stages.HighPass()),
    lambda p: p.remove("denoise"),
])
def test_edited_pipelines_do_not_share_stages(edit):
    pipe = vismic.default_pipeline()
    before = repr(pipe)
    new = edit(pipe)
    new.set_params(decompose__n_levels=2, combine__highpass_hz=40.0)
    assert repr(pipe) == before
    assert pipe["decompose"].n_levels is None and pipe["combine"].highpass_hz == 20.0
    pipe.set_params(bands__grid=(2, 2))
    assert new["bands"].grid == (8, 8)


def test_each_parameter_is_set_in_one_place():
    pipe = vismic.default_pipeline(grid=(4, 2), highpass_hz=30.0)
    assert pipe["bands"].grid == (4, 2)
    assert "grid" not in pipe["combine"].get_params()
    assert [key for key in pipe.get_params() if key.endswith("highpass_hz") or key.endswith("cutoff_hz")] == [
        "combine__highpass_hz"
    ]
    out = pipe.run(sample_inputs()["FrameBatch"])
    assert out.info["sound_map"].shape == (4, 2)  # the grid came with the band signals


def test_pipeline_with_a_custom_stage_runs():
    class Gain(Stage):
        def __init__(self, gain=2.0):
            self.gain = gain

        def transform(self, audio):
            return audio.filtered(audio.samples * self.gain, response=self.gain)

    check_stage(Gain())
    pipe = vismic.default_pipeline(denoise=None).append("gain", Gain(3.0))
    batches = sample_inputs()["FrameBatch"]
    out = pipe.run(batches)
    base = vismic.default_pipeline(denoise=None).run(batches)
    np.testing.assert_allclose(out.samples, 3.0 * base.samples)
    np.testing.assert_allclose(out.noise.density, 9.0 * base.noise.density)


def _frames(n=150, size=48):
    sound = vismic.synth.music(duration_seconds=n / 2200.0, sr=2200.0)
    scene = vismic.synth.render_scene(vismic.synth.texture("brick", size=(size, size)),
                                      vismic.synth.make_displacement(sound, amplitude_px=0.05), noise_std=2, fps=2200.0)
    return scene.frames


def test_the_result_does_not_depend_on_the_batch_size():
    frames = _frames()
    results = {size: vismic.recover_sound(frames, fps=2200.0, batch_size=size, grid=(2, 2)) for size in (5, 8, 64)}
    spread = np.std(results[64].samples)
    for size in (5, 8):
        np.testing.assert_allclose(results[size].samples, results[64].samples, rtol=0, atol=1e-9 * spread)
        assert results[size].info["snr_estimate_db"] == pytest.approx(results[64].info["snr_estimate_db"], abs=1e-9)


def test_a_video_shorter_than_the_reference_frames_still_runs_through():
    pipe = Pipeline([("decompose", stages.Decompose(n_levels=2, n_reference_frames=16)), ("phase", stages.LocalPhase()),
                     ("bands", stages.BandSum())])
    frames = _frames(n=12, size=32)
    signals = pipe.run([FrameBatch(frames[i:i + 5], i, 2200.0) for i in range(0, 12, 5)])
    assert len(signals) == 12 and signals.start == 0


def test_audio_keeps_the_noise_consistent():
    noise = NoiseSpectrum.white(1.0, sr=1000.0)
    with pytest.raises(ParameterError, match="sr"):
        Audio(np.zeros(10), sr=2000.0, noise=noise)
    with pytest.raises(ParameterError, match="NoiseSpectrum"):
        Audio(np.zeros(10), sr=1000.0, noise=np.ones(3))
    audio = Audio(np.zeros(10), sr=1000.0, noise=noise)
    assert audio.filtered(np.ones(10), response=None).noise is None  # not a linear filter: noise unknown


@pytest.mark.parametrize("fps", ["2200", True, float("nan"), 1e300])
def test_containers_refuse_rates_that_are_not_numbers(fps):
    with pytest.raises(ParameterError, match="fps"):
        FrameBatch(np.zeros((2, 4, 4)), 0, fps)


def test_streaming_reports_reach_a_whole_stage_that_asks_for_them():
    from vismic.pipeline import StageReports

    class Counting:
        streaming = True

        def __init__(self):
            self.seen = 0

        def reset(self):
            self.seen = 0

        def transform(self, batch):
            self.seen += len(batch)
            return batch

        def report(self):
            return {"frames": self.seen}

    class Joined(list):
        @classmethod
        def concat(cls, parts):
            return cls(item for part in parts for item in part)

    class Asks:
        def transform(self, data):
            return data

        def transform_batches(self, parts, reports=None):
            parts = list(parts)  # the report is read after the last part, when it covers the whole video
            return len(parts), dict(reports)

    class DoesNotAsk(Asks):
        def transform_batches(self, parts):
            return len(list(parts))

    batches = [Joined([1, 2]), Joined([3, 4, 5])]
    assert Pipeline([("count", Counting()), ("whole", Asks())]).run(batches) == (2, {"count": {"frames": 5}})
    assert Pipeline([("count", Counting()), ("whole", DoesNotAsk())]).run(batches) == 2
    reports = StageReports([("count", Counting()), ("plain", Asks())])
    assert list(reports) == ["count"] and reports.find(dict) == {"frames": 0} and reports.find(int) is None
