"""A textured scene moving with music under mains flicker and an exposure step (tests of the projection)."""

import numpy as np

from vismic import synth


def flicker_frames(n_frames=400, size=(48, 56), *, texture="gravel", direction_degrees=20.0, seed=0):
    """uint8 frames ``(n_frames, *size)``: 0.08 px of music, ±5 % flicker at 120 Hz, +10 % halfway."""
    sound = synth.music(duration_seconds=n_frames / 2200.0, sr=2200.0, seed=seed)
    scene = synth.render_scene(synth.texture(texture, size=size), synth.make_displacement(sound, amplitude_px=0.08),
                               direction_degrees=direction_degrees, noise_std=1.0, fps=2200.0)
    t = np.arange(n_frames) / 2200.0
    gain = 1.0 + 0.05 * np.sin(2 * np.pi * 120.0 * t) + 0.1 * (t > t[n_frames // 2])  # flicker, an exposure step
    return np.clip(scene.frames * gain[:, None, None] + 3.0, 0, 255).astype(np.uint8)
