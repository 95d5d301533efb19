"""What vismic writes beside the sound: provenance, the motion itself, and a report page.

- :func:`write_sidecar` writes ``OUT.json`` next to a WAV (:func:`sidecar_path`):
  vismic version, input file and capture rate with its origin, every pipeline
  parameter, the SNR estimate, direction, sound-map summary, warnings and timings.
- :func:`save_motion` writes the recovered motion in px with its time axis, per-region
  gains and the sound map as ``.npz`` or ``.csv``, for modal-analysis tools.
- :func:`write_report` writes one self-contained HTML page (pictures and sound embedded)
  with the sound map, spectrogram, waveform, an audio player and the parameters;
  it needs matplotlib (``pip install 'vismic[plot]'``).

Each accepts a :class:`~vismic.recover.Recovery` or a :class:`~vismic.data.Audio`,
writes atomically, and raises :class:`~vismic.errors.OutputError` before any work
when the destination cannot be written.

>>> import vismic, vismic.report                                   # doctest: +SKIP
>>> rec = vismic.recover_sound("bag.avi", fps=2200)                 # doctest: +SKIP
>>> wav = rec.to_wav("bag.wav")                                     # doctest: +SKIP
>>> vismic.report.write_sidecar(vismic.report.sidecar_path(wav.path), rec, wav_info=wav)  # doctest: +SKIP
>>> vismic.report.write_report("bag.html", rec, wav_path=wav.path)  # doctest: +SKIP
"""

from ._common import json_safe
from ._html import write_report
from ._motion import MOTION_FORMATS, save_motion
from ._sidecar import check_sidecar_replaceable, is_vismic_sidecar, sidecar_dict, sidecar_path, write_sidecar

__all__ = ["write_sidecar", "sidecar_path", "sidecar_dict", "check_sidecar_replaceable", "is_vismic_sidecar", "save_motion", "MOTION_FORMATS",
           "write_report", "json_safe"]
