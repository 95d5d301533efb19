"""Combination of local phase into one motion signal.

Two steps: :func:`band_signals` reduces each band (and spatial region) of every
frame to least-squares motion evidence while frames stream; :func:`combine_bands`
then merges the evidence of the whole video into one signal so that every band
and region adds signal (gain, sign and noise of each are estimated, never
aligned on noise). :func:`davis_baseline` is the published combination, kept
as a baseline.
"""

from ._across import COMBINE_METHODS, Combine, combine_bands
from ._bands import BandSum, band_signals, region_labels
from ._davis import davis_baseline
from ._maxsnr import combine_regions, region_displacements
from ._sources import separate_sources, sound_map

__all__ = [
    "band_signals",
    "BandSum",
    "region_labels",
    "combine_bands",
    "combine_regions",
    "region_displacements",
    "Combine",
    "COMBINE_METHODS",
    "davis_baseline",
    "sound_map",
    "separate_sources",
]
