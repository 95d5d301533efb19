"""The combination's per-frame store and its streamed statistics: memory flat in length, results unchanged."""

import numpy as np
import pytest
from scipy import signal

from vismic.combine import Combine, combine_bands, combine_regions, region_displacements, sound_map
from vismic.combine import _series
from vismic.combine._evidence import RegionEvidence, _filter_spec
from vismic.combine._series import RegionSeries, filtered_chunks
from vismic.data import BandSignals
from vismic.errors import ParameterError
from vismic.denoise import highpass
from vismic.pipeline import Pipeline

FPS = 2200.0


def _collect(series, spec):
    out = np.full((series.m, series.n), np.nan)
    for start, values in filtered_chunks(series, spec):
        out[:, start:start + values.shape[1]] = values
    return out


@pytest.mark.parametrize("spill", [10**9, 4096])
def test_series_reads_back_what_was_appended_in_memory_and_on_disk(spill):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 1000))
    series = RegionSeries(6, spill_bytes=spill)
    for start in range(0, 1000, 37):
        series.append(x[:, start:start + 37])
    assert series.on_disk == (spill < x.nbytes)
    assert np.array_equal(series.read(0, 1000), x)
    assert np.array_equal(series.read(990, 2000), x[:, 990:])
    assert np.allclose(series.mean(), x.mean(axis=1))
    joined = np.concatenate([v for _, v in series.chunks(100)], axis=1)
    assert np.array_equal(joined, x)
    backwards = [start for start, _ in series.chunks(100, reverse=True)]
    assert backwards == sorted(backwards, reverse=True)
    series.close()


def test_spilled_series_is_an_anonymous_file_that_the_os_removes(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    series = RegionSeries.from_array(np.ones((4, 5000)), spill_bytes=1000)
    assert series.on_disk
    assert list(tmp_path.iterdir()) == []  # unlinked at once: nothing to leave behind on a crash
    series.close()


@pytest.mark.parametrize("n", [41, 120, 3001])
@pytest.mark.parametrize("chunk_bytes", [800, 2**20])
def test_streamed_zero_phase_filters_equal_the_whole_signal_filters(n, chunk_bytes, monkeypatch):
    monkeypatch.setattr(_series, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(n)
    x = rng.normal(size=(4, n)).cumsum(axis=1) + 50.0
    series = RegionSeries.from_array(x, spill_bytes=2000)
    centred = x - x.mean(axis=1, keepdims=True)
    stats = _filter_spec("statistics", 20.0, fps=FPS, n=n)
    expected = signal.sosfiltfilt(stats[0], centred, axis=-1)
    assert np.abs(_collect(series, stats) - expected).max() < 1e-10 * np.abs(expected).max()
    output = _filter_spec("output", 20.0, fps=FPS, n=n)
    expected = highpass(centred, sr=FPS, cutoff_hz=20.0)
    assert np.abs(_collect(series, output) - expected).max() < 1e-10 * np.abs(expected).max()
    assert np.allclose(_collect(series, None), centred)


def _bands(n=900, regions=16, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    s = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 3 * t)  # sound and slow drift
    scores = 0.3 * rng.standard_normal((2, 3, regions, 2, n))
    scores[:, :, : regions // 2, 0] += s
    scores[:, :, regions // 2:, 1] -= 0.5 * s
    information = np.broadcast_to(np.eye(2) * rng.uniform(0.5, 2, (1, 1, regions, 1, 1)), (2, 3, regions, 2, 2))
    return BandSignals(scores, information, 0, FPS, (4, regions // 4))


def test_combination_from_the_store_equals_the_array_formulas():
    bands = _bands()
    audio = combine_bands(bands, method="rigid")
    displacement, covariance = region_displacements(bands)
    pooled = BandSignals(bands.scores.sum(axis=(0, 1, 2))[None, None, None], bands.information.sum(axis=(0, 1, 2))[None, None, None], 0, FPS)
    d, c = region_displacements(pooled)
    motion, _, details = combine_regions(d, c, fps=FPS, highpass_hz=20.0)
    assert np.allclose(audio.samples, motion, atol=1e-9 * np.abs(motion).max())
    assert audio.info["snr_estimate_db"] == pytest.approx(details["snr_estimate_db"], abs=1e-6)
    optimal = combine_bands(bands)
    expected_map = sound_map(bands, optimal.samples)
    assert np.allclose(optimal.info["sound_map"], expected_map, atol=1e-9)


def test_combine_is_the_same_in_memory_on_disk_and_batch_by_batch():
    bands = _bands(n=1500)
    whole = Combine().transform(bands)
    parts = [BandSignals(bands.scores[..., i:i + 100], bands.information, i, FPS, bands.grid)
             for i in range(0, 1500, 100)]
    streamed = Combine().transform_batches(iter(parts))
    assert np.array_equal(whole.samples, streamed.samples)
    assert whole.info["snr_estimate_db"] == streamed.info["snr_estimate_db"]
    evidence = RegionEvidence.from_bands(bands, spill_bytes=1000)
    assert evidence.series.on_disk
    from vismic.combine._across import combine_evidence
    in_memory = combine_bands(bands)
    on_disk = combine_evidence(evidence, highpass_hz=20.0)
    assert np.allclose(on_disk.samples, in_memory.samples, atol=1e-9 * np.abs(in_memory.samples).max())
    assert on_disk.info["grid"] == in_memory.info["grid"]


@pytest.mark.parametrize("spill", [10**9, 1000])
def test_statistics_measured_side_by_side_equal_one_after_the_other(spill, monkeypatch):
    monkeypatch.setattr(_series, "CHUNK_BYTES", 4096)  # many chunks: the two threads' reads interleave
    bands = _bands(n=1500)
    keys = (("statistics", 20.0), ("output", 20.0))
    apart, together = (RegionEvidence.from_bands(bands, spill_bytes=spill) for _ in range(2))
    expected = [apart.statistics(*key) for key in keys]
    together.measure(*keys)
    assert set(together._statistics) == set(keys)
    for key, (total, counts) in zip(keys, expected):
        assert np.array_equal(together._statistics[key][0], total)
        assert np.array_equal(together._statistics[key][1], counts)


def test_pipeline_hands_batches_to_combine_one_by_one():
    seen = []

    class Source:
        streaming = True

        def reset(self):
            pass

        def transform(self, bands):
            return bands

    class Counting(Combine):
        def transform_batches(self, parts):
            def watch():
                for part in parts:
                    seen.append(len(part))
                    yield part
            return super().transform_batches(watch())

    bands = _bands(n=600)
    parts = [BandSignals(bands.scores[..., i:i + 200], bands.information, i, FPS, bands.grid) for i in range(0, 600, 200)]
    audio = Pipeline([("source", Source()), ("combine", Counting())]).run(parts)
    assert seen == [200, 200, 200] and len(audio.samples) == 600


def test_combine_refuses_bad_parameters_before_reading_the_stream():
    def parts():
        yield _bands(n=200)
        raise AssertionError("the stream was read past the first batch")

    with pytest.raises(ValueError, match="method"):
        Combine(method="loud").transform_batches(parts())
    with pytest.raises(ValueError, match="highpass_hz"):
        Combine(highpass_hz=5000.0).transform_batches(parts())


@pytest.mark.parametrize("shift_db", [10.0, -5.0])
def test_the_estimate_never_says_more_than_the_noise_model(monkeypatch, shift_db):
    # The region groups' agreement scatters; above the model's figure it is capped there, below it is kept.
    from vismic.combine import _confidence

    bands = _bands(n=1500)
    model = Combine().transform(bands).info["snr_model_db"]
    measured = _confidence.evidence_snr_estimate

    def shifted(*args, **kwargs):
        found = measured(*args, **kwargs)
        return dict(found, snr_estimate_db=model + shift_db)

    monkeypatch.setattr(_confidence, "evidence_snr_estimate", shifted)
    audio = Combine().transform(bands)
    assert audio.info["snr_model_db"] == pytest.approx(model)
    assert audio.info["snr_estimate_db"] == pytest.approx(model + min(shift_db, 0.0))


def test_a_sound_map_of_a_signal_of_another_length_is_refused():
    bands = _bands(n=200)
    with pytest.raises(ParameterError, match=r"shape \(200,\), given shape \(100,\)"):  # numpy's matmul said it
        sound_map(bands, np.zeros(100))
