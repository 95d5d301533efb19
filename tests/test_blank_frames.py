"""Blank frames (a lens cap, a black lead-in, the light going off, frames dropped as black): silent and named."""

import pickle
import warnings

import numpy as np
import pytest
import tifffile

import vismic
from vismic import synth
from vismic._blank import blank_frames, blank_lead_in, frame_contrasts
from vismic.errors import UnreliableRecoveryWarning, VismicWarning
from vismic.io import open_video, write_video
from vismic.metrics import si_snr

FPS = 2200.0


@pytest.fixture(scope="module")
def clean():
    sound = synth.music(duration_seconds=0.25, sr=FPS)
    scene = synth.render_scene(synth.texture("brick", size=(64, 64)), synth.make_displacement(sound, amplitude_px=0.05),
                               noise_std=2.0, fps=FPS)
    return sound, scene.frames


def black(n, rng, shape=(64, 64)):
    return rng.normal(2.0, 1.5, (n,) + shape).clip(0, None).astype(np.float32)  # a dark sensor's noise


def test_frames_textured_from_the_first_have_no_lead_in(clean, rng):
    assert blank_lead_in(iter(clean[1]), max_scan=100) == 0
    # a camera panning fast at a low rate: every frame far from the next, none blank
    texture = synth.texture("gravel", size=(96, 96)).astype(np.float32)
    panning = [np.roll(texture, 3 * i, axis=1)[:64, :64] for i in range(30)]
    assert blank_lead_in(iter(panning), max_scan=100) == 0


@pytest.mark.parametrize("kind", ["zeros", "dark noise", "burnt out"])
def test_blank_frames_before_the_texture_are_counted(clean, rng, kind):
    lead = {"zeros": np.zeros((37, 64, 64), np.float32), "dark noise": black(37, rng),
            "burnt out": np.full((37, 64, 64), 255.0, np.float32)}[kind]
    assert blank_lead_in(iter(np.concatenate([lead, clean[1]])), max_scan=200) == 37


def test_no_texture_anywhere_or_beyond_the_scan_is_no_lead_in(clean, rng):
    assert blank_lead_in(iter(rng.normal(128, 20, (100, 64, 64))), max_scan=200) == 0
    assert blank_lead_in(iter(np.concatenate([black(60, rng), clean[1]])), max_scan=50) == 0


@pytest.mark.parametrize("n_black", [5, 40])
def test_a_black_lead_in_is_recovered_after_and_silent(clean, rng, n_black):
    sound, frames = clean
    frames = frames.copy()
    frames[:n_black] = black(n_black, rng)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None)
    reference = vismic.recover_sound(clean[1][n_black:], fps=FPS, denoise=None)
    assert rec.samples.shape == (len(frames),) and np.all(rec.samples[:n_black] == 0)
    assert rec.info["start_frame"] == n_black and f"first {n_black} frames" in rec.info["lead_in"]
    assert si_snr(rec.samples[n_black:], sound[n_black:]) > si_snr(reference.samples, sound[n_black:]) - 0.5
    assert [str(w.message) for w in caught if issubclass(w.category, VismicWarning)] == [rec.info["lead_in"]]
    assert not [w for w in caught if issubclass(w.category, UnreliableRecoveryWarning)]
    assert abs(rec.info["snr_estimate_db"] - reference.info["snr_estimate_db"]) < 1.0


def test_a_video_without_lead_in_says_nothing_of_it(clean):
    rec = vismic.recover_sound(clean[1], fps=FPS, denoise=None)
    assert "lead_in" not in rec.info and "start_frame" not in rec.info


def test_a_lead_in_in_a_file_read_in_order_and_one_read_at_random(tmp_path, clean, rng):
    sound, frames = clean
    frames = np.concatenate([black(30, rng), frames[30:]]).round().clip(0, 255).astype(np.uint8)
    avi = write_video(tmp_path / "clip.avi", frames)
    tif = tmp_path / "clip.tif"
    tifffile.imwrite(tif, frames)
    outputs = []
    for path in (avi, tif):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VismicWarning)
            outputs.append(vismic.recover_sound(path, fps=FPS, denoise=None).samples)
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-9 * np.abs(outputs[1]).max())
    assert si_snr(outputs[0][30:], sound[30:]) > 15


def test_a_source_starting_later_reads_ranges_batches_and_pickles_from_there(tmp_path, rng):
    frames = rng.integers(0, 255, (50, 8, 8)).astype(np.uint8)
    tif = tmp_path / "clip.tif"
    tifffile.imwrite(tif, frames)
    for source in (open_video(frames, fps=FPS, batch_size=16), open_video(tif, fps=FPS, batch_size=16),
                   open_video(write_video(tmp_path / "clip.avi", frames), fps=FPS, batch_size=16),
                   open_video(tif, fps=FPS, batch_size=16, max_frames=40)):
        later = source.starting_at(12)
        stop = 40 if source.max_frames else 50
        assert later.start_frame == 12 and source.start_frame == 0
        assert [batch.start for batch in later] == list(range(0, stop - 12, 16))
        np.testing.assert_array_equal(np.concatenate([b.frames for b in later]), frames[12:stop])
        np.testing.assert_array_equal(later.read(3, 2).frames, frames[15:17])
        np.testing.assert_array_equal(later.read_stored(3, 2), frames[15:17])
        if later.path is not None:
            np.testing.assert_array_equal(pickle.loads(pickle.dumps(later)).read(0, 1).frames, frames[12:13])
        if later.random_access:
            assert later.frame_count_hint == stop - 12
    with pytest.raises(vismic.errors.ParameterError, match="start_frame"):
        open_video(frames, fps=FPS).starting_at(-1)
    # stopping early is the source's own limit, not the user's max_frames (the sidecar records that one)
    for source in (open_video(tif, fps=FPS, batch_size=16), open_video(frames, fps=FPS, batch_size=16)):
        between = source.starting_at(12).ending_before(20)
        assert between.max_frames is None and between.frame_count_hint == 20
        np.testing.assert_array_equal(np.concatenate([b.frames for b in between]), frames[12:32])
        if between.path is not None:
            again = pickle.loads(pickle.dumps(between))
            assert again.frame_count_hint == 20 and len(np.concatenate([b.frames for b in again])) == 20


def test_a_recovery_the_blank_frames_leave_too_short_says_why(clean, rng):
    frames = clean[1].copy()
    frames[:530] = black(530, rng)
    with pytest.raises(vismic.errors.TooFewFramesError, match="from frame 530 on; .* the rest of it is blank"):
        vismic.recover_sound(frames, fps=FPS, denoise=None)


def test_a_lead_in_longer_than_what_follows_it(clean, rng):
    sound, frames = clean
    frames = frames.copy()
    n_black = 400  # of 550: the recovery runs on the last 150 frames
    frames[:n_black] = black(n_black, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VismicWarning)
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None)
    assert rec.info["start_frame"] == n_black and si_snr(rec.samples[n_black:], sound[n_black:]) > 10.0


@pytest.mark.parametrize("lead", [0, 25])
def test_blank_frames_at_the_end_of_a_video_read_at_random_are_silent(clean, rng, lead):
    sound, frames = clean
    frames = frames.copy()
    n, tail = len(frames), 60
    frames[:lead] = black(lead, rng)
    frames[n - tail:] = black(tail, rng)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None)
    reference = vismic.recover_sound(clean[1][lead:n - tail], fps=FPS, denoise=None)
    assert rec.samples.shape == (n,) and np.all(rec.samples[n - tail:] == 0) and rec.info["n_frames"] == n
    assert f"the last {tail} frames" in rec.info["blank_end"] and f"up to frame {n - tail}" in rec.info["blank_end"]
    np.testing.assert_allclose(rec.samples[lead:n - tail], reference.samples, atol=1e-12)
    assert rec.info["blank_end"] in [str(w.message) for w in caught]


def test_a_video_read_in_order_keeps_its_end(tmp_path, clean, rng):
    # decoded frames cannot be read backwards: their end is left as it is (a finding may name it)
    sound, frames = clean
    frames = frames.copy()
    frames[-40:] = black(40, rng)
    avi = write_video(tmp_path / "clip.avi", frames.round().clip(0, 255).astype(np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = vismic.recover_sound(avi, fps=FPS, denoise=None)
    assert "blank_end" not in rec.info and rec.samples.shape == (len(frames),)
    # ... and the blank frames there are silent and named as any blank frames are
    assert rec.info["blank_spans"] == [[len(frames) - 40, len(frames)]] and np.all(rec.samples[-40:] == 0)


def test_dark_textured_frames_are_not_blank(rng):
    # a fade to a fifth of the light, an exposure step to a third on a low-contrast texture: dark, not blank
    texture = synth.texture("moon", size=(64, 64)).astype(np.float64)
    gain = np.concatenate([np.ones(40), np.linspace(1, 0.2, 40), np.full(20, 0.3), np.ones(20)])
    frames = gain[:, None, None] * texture + rng.normal(0, 2.0, (len(gain), 64, 64))
    assert not blank_frames(*frame_contrasts(frames.round().clip(0, 255))).any()
    frames[50:53] = black(3, rng)
    frames[90] = 255.0
    assert np.flatnonzero(blank_frames(*frame_contrasts(frames))).tolist() == [50, 51, 52, 90]


@pytest.mark.parametrize("kind", ["zeros", "dark noise", "burnt out"])
def test_blank_frames_in_the_middle_are_silent_and_named(clean, rng, kind):
    sound, frames = clean
    frames = frames.copy()
    spans = [(200, 230), (400, 401)]
    for start, stop in spans:
        frames[start:stop] = {"zeros": np.zeros((stop - start, 64, 64)), "dark noise": black(stop - start, rng),
                              "burnt out": np.full((stop - start, 64, 64), 255.0)}[kind]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None)
    reference = vismic.recover_sound(clean[1], fps=FPS, denoise=None)
    keep = np.ones(len(frames), bool)
    for start, stop in spans:
        assert np.all(rec.samples[start:stop] == 0)
        keep[start:stop] = False
    assert rec.info["blank_spans"] == [list(span) for span in spans]
    assert "31 frames" in rec.info["blank_frames"] and "frames 200-229, 400;" in rec.info["blank_frames"]
    assert si_snr(rec.samples[keep], sound[keep]) > si_snr(reference.samples[keep], sound[keep]) - 0.5
    assert abs(rec.info["snr_estimate_db"] - reference.info["snr_estimate_db"]) < 1.0
    # named once, as what they are: not as clipped frames or an unreliable recovery
    assert [str(w.message) for w in caught] == [rec.info["blank_frames"]]


@pytest.mark.parametrize("serial, other", [
    (dict(batch_size=16), dict(batch_size=16, workers=2)),  # workers summarise their own frame ranges
    # batches of 7 cut at the projection's 64-frame chunks leave frames alone in a batch (one is frame 319)
    (dict(batch_size=7, threads=1), dict(batch_size=7)),
])
def test_blank_frames_are_found_alike_however_the_video_is_read(tmp_path, clean, rng, serial, other):
    frames = clean[1].copy()
    frames[300:340] = black(40, rng)
    tif = tmp_path / "clip.tif"
    tifffile.imwrite(tif, frames.round().clip(0, 255).astype(np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VismicWarning)
        one = vismic.recover_sound(tif, fps=FPS, denoise=None, **serial)
        two = vismic.recover_sound(tif, fps=FPS, denoise=None, **other)
    assert one.info["blank_spans"] == two.info["blank_spans"] == [[300, 340]]
    assert np.all(two.samples[300:340] == 0)
    np.testing.assert_allclose(two.samples, one.samples, atol=1e-9 * np.abs(one.samples).max())


def test_a_blank_span_keeps_its_frame_numbers_after_a_lead_in(clean, rng):
    frames = clean[1].copy()
    frames[:20] = black(20, rng)
    frames[300:310] = black(10, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VismicWarning)
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None)
    assert rec.info["start_frame"] == 20 and rec.info["blank_spans"] == [[300, 310]]
    assert np.all(rec.samples[300:310] == 0) and np.all(rec.samples[:20] == 0)


def test_a_batch_mostly_blank_is_not_called_clipped(clean):
    frames = clean[1].copy()
    frames[289:340] = 0.0  # 15 of the 16 frames of batch 18 black, and the batches after
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None, batch_size=16)
    assert rec.info["blank_spans"] == [[289, 340]]
    assert [str(w.message) for w in caught] == [rec.info["blank_frames"]]


def test_dark_frames_with_a_fixed_pattern_are_blank(rng):
    # a lens cap: hot pixels and offsets stay from frame to frame, so they are not noise between them
    texture = synth.texture("gravel", size=(64, 64)).astype(np.float64)
    frames = texture + rng.normal(0, 1.0, (100, 64, 64))
    frames[30:70] = 3.0 + rng.normal(0, 2.0, (64, 64)) + rng.normal(0, 0.4, (40, 64, 64))
    assert np.flatnonzero(blank_frames(*frame_contrasts(frames))).tolist() == list(range(30, 70))


def test_blank_spans_count_from_the_outputs_first_sample(clean, rng):
    # a source that starts later: the spans, the lead-in and the times are the output's, as its samples
    frames = clean[1].copy()
    frames[50:70] = black(20, rng)
    frames[300:310] = black(10, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VismicWarning)
        rec = vismic.recover_sound(open_video(frames, fps=FPS).starting_at(50), denoise=None)
    assert rec.info["start_frame"] == 20 and rec.info["blank_spans"] == [[250, 260]]
    assert np.all(rec.samples[250:260] == 0) and f"between {250 / FPS:.3g} and" in rec.info["blank_frames"]


def test_a_lead_in_with_a_fixed_pattern_is_skipped_after_the_first_pass(clean, rng):
    # the scan takes a lens cap's fixed pattern for texture; the whole video's numbers do not, and it is read again
    sound, frames = clean
    frames = frames.round().clip(0, 255).astype(np.uint8)
    frames[:40] = (6.0 + rng.normal(0, 2.0, (64, 64)) + rng.normal(0, 0.4, (40, 64, 64))).clip(0, 255).round()
    assert blank_lead_in(iter(frames), max_scan=200) == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = vismic.recover_sound(frames, fps=FPS, denoise=None)
    reference = vismic.recover_sound(frames[40:], fps=FPS, denoise=None)
    assert rec.info["start_frame"] == 40 and "blank_spans" not in rec.info and np.all(rec.samples[:40] == 0)
    assert si_snr(rec.samples[40:], sound[40:]) > si_snr(reference.samples, sound[40:]) - 0.5
    assert [str(w.message) for w in caught] == [rec.info["lead_in"]]
