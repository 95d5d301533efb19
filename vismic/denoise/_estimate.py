"""The SNR of a denoiser's output, estimated without the clean sound (Stein's unbiased risk estimate).

Before denoising, the recovery's estimate (``info["snr_estimate_db"]``) says how much of
the output's power is noise, and its noise spectrum (``Audio.noise``) says where that
noise lies. For Gaussian noise ``n`` of covariance ``C`` and any denoiser ``f``, Stein's
lemma gives what the error of ``f(y)`` would need the clean sound ``s`` for:
``E[n . f(y)] = E[tr(C J_f(y))]``, the noise-weighted divergence of ``f``. Probed with
noise of the same spectrum (``b ~ N(0, C)``, ``tr(C J) = E[b . J b]``, ``J b`` by a
finite difference; Ramani, Blu & Unser 2008), it gives ``s . f(y)`` and ``|s|^2``, hence
the SI-SNR of the denoised output, from the output, the noisy input and the noise alone.

Unbiased, but what it says of a strong denoiser is a small difference of large powers: the
noise's level must be known far better than the estimate before denoising knows it (a
440 Hz tone denoised to 19.1 dB from 8.6 read 24.2 with that estimate's level, 0.5 dB above
the true one, and 17.0 with it 1 dB lower; one-off). So the estimate takes the noise
:data:`LEVEL_MARGIN_DB` lower than the estimate before says (more of the output is then
sound the denoiser may have cut), adds at most :data:`MAX_GAIN_DB` to it, and leaves an
estimate below :data:`~vismic._reliability.SNR_FLOOR_DB` as it is (an output mostly noise,
where the difference means nothing).

The whole of the estimate's error is taken as that noise, which it is not where a codec
moved the motion alike across the frame: that error follows the sound and no denoiser
removes it (``bench_nuisance``'s VP8 and VP9 scenes read 4.8-13.5 dB high so, one-off).
Where the recovery says so (:data:`NOT_NOISE_FINDINGS`) the estimate before the denoiser
stands, as it did before this estimate.
"""

from __future__ import annotations

import numpy as np

from ..data import Audio, NoiseSpectrum

__all__ = ["noise_like", "denoised_snr_db", "estimate_denoised", "restore_before_denoising", "N_PROBES", "PROBE_STEP",
           "LEVEL_MARGIN_DB", "MAX_GAIN_DB", "NOT_NOISE_FINDINGS"]

#: Probes of the denoiser's divergence (each one more run of the denoiser): the trace estimate's
#: scatter falls as one over their root.
N_PROBES = 4
#: The finite difference's step, a fraction of the noise (the denoisers are smooth at that scale).
PROBE_STEP = 1e-3
#: How much lower (dB) than the estimate before denoising says the noise is taken. On 237 of
#: ``bench_estimate_sweep.py --denoise``'s scenes (one-off, with the bound below): 0 dB left 2 estimates more than
#: 3 dB high with nothing said (12 without the bound: tones the denoiser cleaned by 10-20 dB), 0.5 dB none; 1 dB
#: left one, and put 66 more than 3 dB low against 54.
LEVEL_MARGIN_DB = 0.5
#: The most (dB) the denoiser's estimate adds to the estimate before it. The same one-off: 15 dB left one estimate
#: more than 3 dB high with nothing said, 10 dB none. ``bench_estimate_sweep.py --denoise`` (280 scenes, 257 with a
#: sound): within 3 dB on 156, 52 more than 3 dB low, one more than 3 dB high without a word (+3.1, an estimate
#: 2.3 dB high before denoising); the estimate from before the denoiser, against the same outputs, 66 within 3 dB
#: and 147 low.
MAX_GAIN_DB = 10.0
#: Findings (``info["reliability"]``) whose error follows the sound instead of being noise a denoiser removes.
NOT_NOISE_FINDINGS = ("key_frame_jumps", "inter_frame_codec", "lossy_codec")


def noise_like(noise: NoiseSpectrum, n: int, *, n_draws: int = 1, seed: int = 0) -> np.ndarray:
    """Gaussian noise with ``noise``'s spectrum shape, of unit variance (in expectation) per channel.

    Returns
    -------
    np.ndarray [shape=(n_draws, n_channels, n)]
        ``n_channels`` is 1 for a density of one channel.

    Examples
    --------
    >>> from vismic.data import NoiseSpectrum
    >>> draws = noise_like(NoiseSpectrum.white(4.0, sr=1000.0), 20000, n_draws=2)
    >>> draws.shape, round(float(draws.var()), 1)
    ((2, 1, 20000), 1.0)
    """
    n = int(n)
    density = np.atleast_2d(noise.density)
    freqs = np.fft.rfftfreq(n, 1.0 / noise.sr)
    amplitude = np.sqrt(np.stack([np.interp(freqs, noise.freqs_hz, row) for row in density]))
    weights = np.full(freqs.size, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    variance = (amplitude ** 2 * weights).sum(axis=-1) / n ** 2
    rng = np.random.default_rng(seed)
    shape = (int(n_draws),) + amplitude.shape
    coefficients = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)
    coefficients[..., 0] = rng.standard_normal(shape[:-1])  # the real bins hold real coefficients
    if n % 2 == 0:
        coefficients[..., -1] = rng.standard_normal(shape[:-1])
    draws = np.fft.irfft(amplitude * coefficients, n, axis=-1)
    return draws / np.sqrt(np.maximum(variance, 1e-300))[:, None]


def denoised_snr_db(noisy, denoised, run, noise: NoiseSpectrum, snr_db, *, n_probes: int = N_PROBES,
                    step: float = PROBE_STEP, seed: int = 0) -> np.ndarray:
    """SI-SNR (dB) of ``denoised = run(noisy)``, where ``noisy`` holds noise of ``noise``'s shape at ``snr_db``.

    Parameters
    ----------
    noisy, denoised : np.ndarray [shape=(n,) or (n_channels, n)]
        The denoiser's input and output.
    run : callable
        The denoiser, as it made ``denoised``: an array of ``noisy``'s shape to one of the same shape.
    noise : NoiseSpectrum
        The noise's spectrum (its shape counts; its level is the one ``snr_db`` gives).
    snr_db : float or array of one per channel
        The SNR of ``noisy`` (its noise power is its power over ``1 + 10 ** (snr_db / 10)``).

    Returns
    -------
    np.ndarray [shape=(n_channels,)]
        One estimate per channel, NaN where it cannot tell (an input SNR not finite, or an
        output the estimate finds without the sound).

    Examples
    --------
    >>> from vismic.data import NoiseSpectrum
    >>> from vismic.denoise import wiener
    >>> from vismic.metrics import si_snr
    >>> t = np.arange(8800) / 2200.0
    >>> tone = np.sin(2 * np.pi * 440.0 * t)
    >>> noisy = tone + 0.3 * np.random.default_rng(1).standard_normal(t.size)      # 7.4 dB
    >>> run = lambda x: wiener(x, sr=2200.0)
    >>> estimate = denoised_snr_db(noisy, run(noisy), run, NoiseSpectrum.white(1.0, sr=2200.0), 7.4)
    >>> round(float(estimate[0]), 1), round(si_snr(run(noisy), tone), 1)
    (20.9, 20.4)
    """
    shape = np.shape(noisy)
    y = np.atleast_2d(np.asarray(noisy, dtype=np.float64))
    f = np.atleast_2d(np.asarray(denoised, dtype=np.float64))
    n = y.shape[-1]
    snr = np.broadcast_to(np.asarray(snr_db, dtype=np.float64), (y.shape[0],))
    with np.errstate(over="ignore"):
        noise_power = np.mean(y ** 2, axis=-1) / (1.0 + 10.0 ** (snr / 10.0))
    noise_power = np.where(np.isfinite(noise_power), noise_power, 0.0)  # a channel of unknown SNR is not probed
    divergence = np.zeros(y.shape[0])
    for k in range(n_probes):  # drawn one at a time: ten minutes at 20 kHz are 96 MB a probe
        probe = noise_like(noise, n, seed=seed + k)[0] * np.sqrt(noise_power)[:, None]
        moved = np.atleast_2d(np.asarray(run((y + step * probe).reshape(shape)), dtype=np.float64))
        divergence += np.sum(probe * (moved - f), axis=-1) / step
    divergence /= n_probes
    sound_power = np.sum(y ** 2, axis=-1) - n * noise_power        # |s|^2
    kept = np.sum(f * y, axis=-1) - divergence                      # s . f(y)
    error = sound_power * np.sum(f ** 2, axis=-1) - kept ** 2       # |s|^2 |f - alpha s|^2
    good = np.isfinite(snr) & (sound_power > 0) & (kept > 0) & (error > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(good, 10.0 * np.log10(kept ** 2 / np.where(good, error, 1.0)), np.nan)


def estimate_denoised(before: Audio, after: Audio, run, noise: NoiseSpectrum | None = None) -> Audio:
    """``after`` (``before`` through the denoiser ``run``) with ``info["snr_estimate_db"]`` for what it kept.

    ``noise`` is the spectrum the noise takes (``before.noise`` when None); its level is the
    one ``before``'s estimate says. ``info["denoised"]`` records the estimate before
    (``estimate_before_db``), which stands where the estimate cannot tell, and which a
    finding of :data:`NOT_NOISE_FINDINGS` made later restores (:func:`restore_before_denoising`).
    """
    estimate = before.info.get("snr_estimate_db")
    noise = before.noise if noise is None else noise
    reliability = before.info.get("reliability") or {}
    if (estimate is None or noise is None or any(name in reliability for name in NOT_NOISE_FINDINGS)
            or not np.all(np.isfinite(before.samples))):
        return after
    from .._reliability import SNR_FLOOR_DB

    snr = np.atleast_1d(np.asarray(estimate, dtype=np.float64))
    judged = np.isfinite(snr) & (snr >= SNR_FLOOR_DB)
    if not np.any(judged):
        return after
    found = denoised_snr_db(before.samples, after.samples, run, noise, np.where(judged, snr + LEVEL_MARGIN_DB, np.nan))
    new = np.where(judged & np.isfinite(found), np.minimum(found, snr + MAX_GAIN_DB), snr)
    info = dict(after.info)
    info["denoised"] = {"estimate_before_db": estimate}
    info["snr_estimate_db"] = float(new[0]) if np.ndim(estimate) == 0 else [float(v) for v in new]
    return Audio(after.samples, after.sr, info, after.noise)


def restore_before_denoising(info: dict) -> None:
    """Put back the estimate from before the denoiser, where the error is found not to be noise (at most that).

    >>> info = {"snr_estimate_db": 21.0, "denoised": {"estimate_before_db": 18.0}}
    >>> restore_before_denoising(info); info["snr_estimate_db"]
    18.0
    """
    from .._reliability import cap_snr_estimate

    held = info.get("denoised")
    if not held:
        return
    cap_snr_estimate(info, np.asarray(held["estimate_before_db"], dtype=np.float64))  # one per channel, or one
    info["denoised"] = dict(held, restored=True)
