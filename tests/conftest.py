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
