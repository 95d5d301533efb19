import numpy as np
import pytest

import vismic
from vismic import synth

FPS = 2200.0


@pytest.fixture(scope="module")
def rec():
    sound = synth.music(duration_seconds=0.1, sr=FPS)
    scene = synth.render_scene(synth.texture("gravel", size=(64, 64)), synth.make_displacement(sound, amplitude_px=0.05),
                               noise_std=2, fps=FPS)
    return vismic.recover_sound(scene.frames, fps=FPS, denoise=None)


def test_plot_recovery(tmp_path, rec):
    pytest.importorskip("matplotlib")
    import vismic.plot

    figure = vismic.plot.plot_recovery(rec)
    figure.savefig(tmp_path / "rec.png")
    assert (tmp_path / "rec.png").stat().st_size > 1000


def test_plot_leaves_the_matplotlib_backend_alone(rec):
    """Earlier versions switched any backend to Agg when no display was set."""
    matplotlib = pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    import vismic.plot

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        figures = plt.get_fignums()
        vismic.plot.plot_recovery(rec)
        vismic.plot.plot_sound_map(np.zeros((2, 2)))
        vismic.plot.plot_spectrogram(rec.samples, sr=rec.sr)
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == figures  # nothing left open in pyplot
    finally:
        matplotlib.use(before)


def test_plots_refuse_what_they_cannot_draw(rec):
    # a TypeError from float(Audio), an IndexError from channel 5, a plot drawn for sr=-1
    pytest.importorskip("matplotlib")
    import vismic.plot
    from vismic.errors import ParameterError

    with pytest.raises(ParameterError, match="audio.samples, with sr=audio.sr"):
        vismic.plot.plot_spectrogram(rec, sr=rec.sr)
    with pytest.raises(ParameterError, match="sr"):
        vismic.plot.plot_spectrogram(rec.samples, sr=-1.0)
    with pytest.raises(ParameterError, match="channel must be one of the recovery's 1 channel"):
        vismic.plot.plot_recovery(rec, channel=5)
