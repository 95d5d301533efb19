"""How good a recovered sound is, and how good it could be.

Sound quality against the reference: :func:`si_snr`, :func:`segmental_snr`,
:func:`stoi` (all invariant to the gain and sign of the estimate). Limits of
synthetic scenes: :func:`cramer_rao_bound`, :func:`bound_snr_db`,
:func:`scene_bound` and :func:`gap_to_bound_db`; what an intra-frame DCT codec (JPEG,
Motion-JPEG) takes from that bound: :func:`dct_quantiser_loss_db`, with the table read by
:func:`jpeg_quantisation_table`.

Examples
--------
>>> import numpy as np
>>> from vismic import metrics
>>> rng = np.random.default_rng(0)
>>> reference = rng.standard_normal(10000)
>>> round(metrics.si_snr(-2.0 * reference + 0.2 * rng.standard_normal(10000), reference))
20
"""

from ._bound import Bound, bound_snr_db, cramer_rao_bound, gap_to_bound_db, scene_bound
from ._codec import dct_quantiser_loss_db, jpeg_quantisation_table
from ._signal import STOI_MIN_SECONDS, segmental_snr, si_snr, stoi

__all__ = [
    "si_snr",
    "segmental_snr",
    "stoi",
    "STOI_MIN_SECONDS",
    "cramer_rao_bound",
    "bound_snr_db",
    "scene_bound",
    "gap_to_bound_db",
    "Bound",
    "dct_quantiser_loss_db",
    "jpeg_quantisation_table",
]
