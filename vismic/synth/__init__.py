"""Test bed: synthetic sounds, textures and high-speed scenes with known sub-pixel motion.

Sounds (float64, peak 1): :func:`tone`, :func:`chirp`, :func:`music`,
:func:`speech` (built-in formant synthesiser), :func:`load_audio`,
:func:`espeak_speech`. Textures: :func:`texture` (photographs from
scikit-image's wheel and procedural ones, names in :data:`TEXTURES`).
Scenes: :func:`render_scene` returns a :class:`Scene` whose frames move by
``displacement_px[t] * mode_shape[x] * (cos θ, sin θ)``, θ in image
coordinates (x right, y down).

Examples
--------
>>> from vismic import synth
>>> audio = synth.music(duration_seconds=0.2, sr=2200.0)
>>> scene = synth.render_scene(synth.texture("brick", size=(64, 64)),
...                            synth.make_displacement(audio, amplitude_px=0.05),
...                            noise_std=1.0, fps=2200.0)
>>> len(scene), scene.shape
(440, (64, 64))
"""

from ._audio import chirp, espeak_speech, load_audio, music, tone
from ..decompose._gradient import directional_derivative
from ._nuisance import __all__ as _nuisance_names
from ._nuisance import (
    CODECS,
    compress,
    drift_motion,
    exposure_steps,
    fade_gain,
    flicker_gain,
    render_nuisance_scene,
    shake_motion,
    sway_motion,
)
from ._rolling import RollingShutterScene, render_rolling_shutter
from ._scene import Scene, make_displacement, membrane_mode, object_mask, render_frames, render_scene
from ._speech import speech
from ._texture import TEXTURES, noise_texture, stripes, texture

__all__ = [
    "tone",
    "chirp",
    "music",
    "speech",
    "load_audio",
    "espeak_speech",
    "TEXTURES",
    "texture",
    "noise_texture",
    "stripes",
    "Scene",
    "render_scene",
    "render_frames",
    "make_displacement",
    "membrane_mode",
    "object_mask",
    "directional_derivative",
    "render_rolling_shutter",
    "RollingShutterScene",
]
__all__ += _nuisance_names
