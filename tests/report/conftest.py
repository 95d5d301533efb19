import numpy as np
import pytest

import vismic
from vismic import synth


@pytest.fixture(scope="session")
def recovery():
    """A small real recovery (440 Hz tone, 0.1 s at 2200 fps) with the pipeline that made it."""
    scene = synth.render_scene(
        synth.texture("brick", size=(64, 64)),
        synth.make_displacement(synth.tone(440.0, duration_seconds=0.1, sr=2200.0), amplitude_px=0.1),
        fps=2200.0,
    )
    pipeline = vismic.default_pipeline(denoise=None)
    rec = vismic.recover_sound(scene.frames, fps=2200.0, pipeline=pipeline)
    return rec, pipeline


@pytest.fixture
def bare_audio():
    """A recovery made by hand: no sound map, reference frame, SNR or direction."""
    from vismic.data import Audio

    t = np.arange(1100) / 2200.0
    return Audio(0.05 * np.sin(2 * np.pi * 300.0 * t), 2200.0)


@pytest.fixture
def leftovers():
    """Temporary files vismic's atomic writers left in a folder (none, when they work)."""

    def find(folder):
        return sorted(p.name for p in folder.iterdir() if ".vismic-tmp-" in p.name)

    return find
