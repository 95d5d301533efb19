import numpy as np
import pytest

import vismic
from vismic import metrics, synth
from vismic.denoise import highpass

FPS = 2200.0


def _two_objects():
    a = synth.music(duration_seconds=0.4, sr=FPS, seed=1)
    b = synth.speech(duration_seconds=0.4, sr=FPS, seed=2)
    texture = synth.texture("gravel", size=(64, 128))
    left = synth.render_scene(texture, synth.make_displacement(a, amplitude_px=0.05), noise_std=2, fps=FPS, seed=1)
    right = synth.render_scene(texture, synth.make_displacement(b, amplitude_px=0.05), noise_std=2, fps=FPS,
                               direction_degrees=90, seed=2)
    frames = left.frames.copy()
    frames[:, :, 64:] = right.frames[:, :, 64:]
    return frames, highpass(left.displacement_px, sr=FPS), highpass(right.displacement_px, sr=FPS)


def test_two_sources_come_out_as_two_channels():
    frames, a, b = _two_objects()
    rec = vismic.recover_sound(frames, fps=FPS, denoise=None, n_sources=2)
    assert rec.audio.shape == (2, len(frames))
    scores = np.array([[metrics.si_snr(ch, ref) for ref in (a, b)] for ch in rec.audio])
    # each channel holds one source, well above the other
    assert scores.max(axis=1).min() > 12
    assert (scores.max(axis=1) - scores.min(axis=1)).min() > 20
    assert set(np.unique(rec.info["source_of_region"])) >= {0, 1}


def test_sound_map_marks_the_moving_object():
    shape = (64, 64)
    mask = np.zeros(shape)
    mask[:, :32] = 1.0  # left half moves, right half is a static background
    sound = synth.music(duration_seconds=0.4, sr=FPS)
    scene = synth.render_scene(synth.texture("gravel", size=shape), synth.make_displacement(sound, amplitude_px=0.05),
                               mode_shape=mask, noise_std=2, fps=FPS)
    rec = vismic.recover_sound(scene.frames, fps=FPS, denoise=None)
    sound_map = rec.info["sound_map"]
    assert sound_map.shape == (8, 8)
    assert sound_map[:, :3].mean() > 0.5 > 0.2 > sound_map[:, 5:].mean()
