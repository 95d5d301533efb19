"""What the combination keeps of a video: per-region scores per frame, and their statistics.

Every decision of the combination (grid, weights, sound map, SNR estimate) is a
function of second-order statistics of high-passed linear maps of the regions'
pooled scores ``s`` (``2 * n_regions`` values a frame): the statistics of
``M s`` are ``M S M^T``. So the scores are streamed into a
:class:`~vismic.combine._series.RegionSeries` (on disk once long), their
statistics are measured once per filter, and the outputs are linear projections
read back in chunks. Nothing else grows with the video's length.
"""

from __future__ import annotations

import functools
from typing import Optional

import numpy as np
from scipy import linalg, signal

from .._cores import usable_cores
from ..data import BandSignals
from ._series import Extended, RegionSeries, filtered_chunks, scipy_padding

#: Time chunks alternately used to fit weights and to score them (grid choice, SNR estimate).
N_CHUNKS = 8


def regularised_inverse(information: np.ndarray) -> np.ndarray:
    """Noise covariance of each region's 2-D displacement, up to the common noise variance.

    Regions without texture have no information: regularised against the best
    region, they get a large but finite noise (and so no weight).
    """
    scale = float(np.max(np.trace(information, axis1=-2, axis2=-1), initial=0.0))
    scale = scale if scale > 0 else 1.0
    eye = np.eye(information.shape[-1])
    return np.linalg.inv(information + 1e-6 * scale * eye)


def parity(start: int, count: int, n: int, n_chunks: int = N_CHUNKS) -> np.ndarray:
    """Chunk parity (0 or 1) of frames ``start .. start + count - 1`` of ``n`` (alternate time chunks)."""
    return np.arange(start, start + count) * n_chunks // n % 2


class RegionEvidence:
    """The pooled scores of every region per frame, each region's information, and cached statistics.

    Built from a whole :class:`~vismic.data.BandSignals` (:meth:`from_bands`) or
    batch by batch (:meth:`append`), which keeps memory flat in the video's length.

    Parameters
    ----------
    information : np.ndarray [shape=(n_regions, 2, 2)]
        Levels and orientations pooled.
    fps : float
    grid : (rows, cols) or None
    """

    def __init__(self, information: np.ndarray, fps: float, grid=None, *, spill_bytes: Optional[int] = None):
        self.information = np.asarray(information, dtype=np.float64)
        self.fps = float(fps)
        self.grid = grid
        kwargs = {} if spill_bytes is None else {"spill_bytes": spill_bytes}
        self.series = RegionSeries(2 * self.n_regions, **kwargs)
        self._statistics = {}

    @classmethod
    def from_bands(cls, bands: BandSignals, **kwargs) -> "RegionEvidence":
        evidence = cls.empty_like(bands, **kwargs)
        evidence.append(bands)
        return evidence

    @classmethod
    def empty_like(cls, bands: BandSignals, **kwargs) -> "RegionEvidence":
        return cls(bands.information.sum(axis=(0, 1)), bands.fps, bands.grid, **kwargs)

    def append(self, bands: BandSignals) -> None:
        """Add the frames of one batch (scores pooled over levels and orientations)."""
        scores = bands.scores.sum(axis=(0, 1))  # (R, 2, k)
        self.series.append(scores.reshape(2 * self.n_regions, -1))
        self._statistics.clear()

    def repair_key_frames(self, key_frames, weight: float) -> int:
        """Keep the share ``weight`` of every series' residual at the key frames (:func:`vismic.codec.repair_key_frames`).

        Chunk by chunk, with memory flat in the video's length; the same as the function on
        the whole series with ``weights`` all ``weight`` (to float rounding). Returns the
        number of key frames repaired.
        """
        from ..codec._key_frames import key_frame_masks, repaired_values

        repairable, _ = key_frame_masks(key_frames, self.n)
        weights = np.full(self.series.m, float(weight))
        for frames, values, residual in self._residual_chunks():
            at = repairable[frames]
            if at.any():
                self.series.update(frames[at], repaired_values(values[:, at], residual[:, at], weights))
        self._statistics.clear()
        return int(repairable.sum())

    def repair_ends(self, frames, weight: float) -> int:
        """Keep the share ``weight`` of the first or last frame's difference from the frame beside it.

        The ends :meth:`repair_key_frames` leaves alone (they have one neighbour). Returns the
        number of frames repaired.
        """
        repaired = 0
        for frame in sorted({int(f) for f in frames if int(f) in (0, self.n - 1)}):
            beside = 1 if frame == 0 else self.n - 2
            if beside < 0 or beside == frame:
                continue
            own, other = self.series.read(frame, frame + 1), self.series.read(beside, beside + 1)
            self.series.update(np.array([frame]), other + float(weight) * (own - other))
            repaired += 1
        if repaired:
            self._statistics.clear()
        return repaired

    def _residual_chunks(self):
        """``(frames, scores, residual)`` of the inner frames, chunk by chunk (one frame read either side)."""
        from ..codec._key_frames import neighbour_residual

        n, size = self.n, self.series.chunk_frames
        for start in range(0, n, size):
            lo, hi = max(start - 1, 0), min(start + size + 1, n)
            values = self.series.read(lo, hi)
            frames = np.arange(lo + 1, hi - 1)
            own = frames >= start
            yield frames[own], values[:, 1:-1][:, own], neighbour_residual(values)[:, own]

    @property
    def n(self) -> int:
        return self.series.n

    @property
    def n_regions(self) -> int:
        return self.information.shape[0]

    def covariance(self) -> np.ndarray:
        """(n_regions, 2, 2): noise covariance of each region's displacement."""
        return regularised_inverse(self.information)

    def displacement_map(self) -> np.ndarray:
        """(2R, 2R): per-region displacements from scores (``y = D s``)."""
        return linalg.block_diag(*self.covariance())

    def to_bands(self) -> BandSignals:
        """The evidence as an in-memory :class:`~vismic.data.BandSignals` (one pooled band)."""
        scores = self.series.read(0, self.n).reshape(1, 1, self.n_regions, 2, self.n)
        return BandSignals(scores, self.information[None, None], 0, self.fps, self.grid)

    def statistics(self, kind: str, highpass_hz) -> tuple:
        """``(S, counts)``: ``S[p] = sum over frames of parity p of h h^T`` for the high-passed scores ``h``.

        ``kind`` is ``'statistics'`` (second-order zero-phase Butterworth, the
        weights' statistics) or ``'output'`` (the output's high-pass,
        :func:`vismic.denoise.highpass`).
        """
        key = (kind, highpass_hz)
        if key not in self._statistics:
            spec = _filter_spec(kind, highpass_hz, fps=self.fps, n=self.n)
            m = self.series.m
            total = np.zeros((2, m, m))
            counts = np.zeros(2, dtype=int)
            for start, values in filtered_chunks(self.series, spec):
                which = parity(start, values.shape[1], self.n)
                for p in (0, 1):
                    part = values[:, which == p]
                    total[p] += part @ part.T
                    counts[p] += part.shape[1]
            self._statistics[key] = (total, counts)
        return self._statistics[key]

    def measure(self, *keys) -> None:
        """Measure the :meth:`statistics` ``(kind, highpass_hz)`` of ``keys`` not cached yet, on a thread each.

        Each is a zero-phase filter run over the whole series, in C with the GIL
        released: on two cores two of them take the time of one. The results are
        the same as one after the other.
        """
        missing = [key for key in dict.fromkeys(keys) if key not in self._statistics]
        if len(missing) < 2 or usable_cores() < 2:
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(missing), thread_name_prefix="vismic-statistics") as pool:
            for _ in pool.map(lambda key: self.statistics(*key), missing):
                pass

    def project(self, vectors: np.ndarray, *, by_parity: bool = False) -> np.ndarray:
        """``vectors @ (s - mean(s))`` for every frame: shape (k, n).

        With ``by_parity``, ``vectors`` is (2, k, 2R): frames of chunk parity p use ``vectors[p]``.
        """
        vectors = np.asarray(vectors, dtype=np.float64)
        k = vectors.shape[-2]
        out = np.empty((k, self.n))
        for start, values in filtered_chunks(self.series, None):
            if by_parity:
                which = parity(start, values.shape[1], self.n)
                block = np.empty((k, values.shape[1]))
                for p in (0, 1):
                    block[:, which == p] = vectors[p] @ values[:, which == p]
                out[:, start: start + values.shape[1]] = block
            else:
                out[:, start: start + values.shape[1]] = vectors @ values
        return out

    def close(self) -> None:
        self.series.close()


def statistics_sos(fps: float, cutoff_hz, n: int):
    """The weights' statistics high-pass (second-order Butterworth, zero phase), or None when there is none."""
    if cutoff_hz is None or cutoff_hz <= 0 or n < 40:
        return None
    return signal.butter(2, min(float(cutoff_hz), 0.45 * fps), btype="highpass", fs=fps, output="sos")


def _filter_spec(name: str, highpass_hz, *, fps: float, n: int):
    """``(sos, padding)`` of the zero-phase high-pass ``name``, as :func:`filtered_chunks` takes it (None: none)."""
    if name == "statistics":
        sos = statistics_sos(fps, highpass_hz, n)
        return None if sos is None else (sos, scipy_padding)
    if name == "output":
        if not highpass_hz or n <= 40:
            return None
        from ..denoise._filters import _highpass_design

        sos, sr, cutoff = _highpass_design(fps, highpass_hz, 4)
        return sos, functools.partial(_trend_padding, sr=sr, edge_hz=cutoff)
    raise ValueError(f"unknown filter {name!r}")


def _trend_padding(series: RegionSeries, sos: np.ndarray, offset: np.ndarray, *, sr: float, edge_hz: float):
    """The ends :func:`vismic.denoise.highpass` pads with, read from the store."""
    from ..denoise._filters import trend_padding, trend_padding_lengths

    padlen, fit = trend_padding_lengths(series.n, sos, sr=sr, edge_hz=edge_hz)
    span = max(fit, padlen + 2)
    first = series.read(0, span) - offset[:, None]
    last = series.read(series.n - span, series.n) - offset[:, None]
    head, tail = trend_padding(first, last, series.n, sos, sr=sr, edge_hz=edge_hz)
    return Extended(series, head, tail, offset)
