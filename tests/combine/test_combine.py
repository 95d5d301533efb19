import numpy as np
import pytest

from vismic import stages
from vismic.combine import combine_bands
from vismic.data import MIN_FRAMES, BandSignals
from vismic.errors import FrameShapeError, ParameterError, TooFewFramesError


def _bands(n, grid=None, n_regions=1):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((1, 1, n_regions, 2, n))
    scores[:, :, :, 0] += np.sin(np.arange(n) * 0.3)
    return BandSignals(scores, np.broadcast_to(np.eye(2), (1, 1, n_regions, 2, 2)), 0, 1000.0, grid)


def test_combine_needs_enough_frames():
    bands = BandSignals(np.zeros((1, 6, 1, 2, 8)), np.tile(np.eye(2), (1, 6, 1, 1, 1)), 0, 1000.0)
    with pytest.raises(TooFewFramesError):
        stages.Combine().transform(bands)
    with pytest.raises(TooFewFramesError, match=str(MIN_FRAMES)):
        combine_bands(_bands(MIN_FRAMES - 1))
    combine_bands(_bands(MIN_FRAMES))


def test_band_signals_carry_their_grid():
    with pytest.raises(FrameShapeError, match="regions"):
        _bands(64, grid=(2, 2), n_regions=3)
    both = BandSignals.concat([_bands(40, (2, 2), 4), _bands(40, (2, 2), 4)])
    assert both.grid == (2, 2) and len(both) == 80
    audio = combine_bands(_bands(400, (2, 2), 4))
    assert audio.info["sound_map"].shape == (2, 2)
    assert "sound_map" not in combine_bands(_bands(400, None, 4)).info


def test_combine_removes_drift_with_its_one_cutoff():
    n = 2000
    bands = _bands(n)
    bands.scores[0, 0, 0, 0] += 50 * np.linspace(0, 1, n)  # slow drift
    drifting = stages.Combine(highpass_hz=None).transform(bands)
    clean = stages.Combine(highpass_hz=20.0).transform(bands)
    assert np.abs(np.polyfit(np.arange(n), clean.samples, 1)[0]) * n < 0.05 * np.abs(
        np.polyfit(np.arange(n), drifting.samples, 1)[0]) * n
    # the noise spectrum follows the high-pass: nothing left at 0 Hz, unchanged well above the cut-off
    measured = combine_bands(bands, highpass_hz=20.0).noise
    assert clean.noise.density[0] < 1e-6 * measured.density[0]
    high = clean.noise.freqs_hz > 200
    np.testing.assert_allclose(clean.noise.density[high], measured.density[high], rtol=1e-3)
    with pytest.raises(ParameterError, match="highpass_hz"):
        stages.Combine(highpass_hz=600.0).transform(bands)
    with pytest.raises(ParameterError, match="highpass_hz"):
        stages.Combine(highpass_hz="20").transform(bands)


def test_no_import_cycle_in_combine():
    import ast
    from pathlib import Path

    import vismic.combine

    folder = Path(vismic.combine.__file__).parent
    imports = {}
    for path in folder.glob("_*.py"):
        tree = ast.parse(path.read_text())
        imports[path.stem] = {node.module for node in ast.walk(tree)
                              if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}
    for module, targets in imports.items():
        for target in targets:
            assert module not in imports.get(target, set()), f"{module} and {target} import each other"
