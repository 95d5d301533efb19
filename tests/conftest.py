import os
from pathlib import Path

import numpy as np
import pytest

FOOTAGE = Path(os.environ.get("VISMIC_FOOTAGE", Path(__file__).resolve().parents[1].parent / "shared" / "footage"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def footage_dir():
    if not FOOTAGE.is_dir():
        pytest.skip("real footage folder (../shared/footage) is absent")
    return FOOTAGE


@pytest.fixture(scope="session")
def tone_video(tmp_path_factory):
    """``make(size, seconds)``: the path of a brick scene moving with a 330 Hz tone (2200 fps AVI), made once each."""
    from vismic import synth

    made = {}

    def make(size: int = 64, seconds: float = 0.1):
        if (size, seconds) not in made:
            sound = synth.tone(330.0, duration_seconds=seconds, sr=2200.0)
            scene = synth.render_scene(synth.texture("brick", size=(size, size)),
                                       synth.make_displacement(sound, amplitude_px=0.1), noise_std=1, fps=2200.0)
            made[size, seconds] = scene.write_video(tmp_path_factory.mktemp("v") / "scene.avi")
        return made[size, seconds]

    return make
