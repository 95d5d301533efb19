"""Quality and speed of vismic.denoise on synthetic speech-like and music-like sound.

Run ``python benchmarks/bench_denoise.py`` for the main table (every method with its
defaults, plus the same with the true noise PSD), ``--sweep`` to also sweep the
parameters the defaults were chosen from. Clean signals are synthesised here:

* speech-like: formant-filtered harmonic vowels, pitch 90-200 Hz gliding within each
  syllable, short aspiration noise at some onsets, syllables of 120-350 ms separated by
  30-120 ms gaps and, now and then, 250-600 ms pauses;
* music-like: harmonic notes with fundamentals 80-600 Hz, 200-700 ms long, plucked
  envelopes, sometimes two at once, short gaps.

White Gaussian noise is added at input SNRs of -5, 0, 5, 10 and 20 dB (over the whole
signal), at sample rates 2200 and 8000 Hz. Scores: SI-SNR of the output against the
clean signal, and STOI (``pystoi.stoi``); each number is the median over 3 seeds.

The ``TimeDenoise`` class holds asv-style timings (``time_*`` methods).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vismic import denoise as dn  # noqa: E402

SNRS_DB = (-5, 0, 5, 10, 20)
RATES = (2200, 8000)
KINDS = ("speech", "music")
SEEDS = (0, 1, 2)
DURATION_SECONDS = 6.0


# --------------------------------------------------------------------------- signals

def _resonator(x, *, sr, freq_hz, bandwidth_hz):
    """Second-order resonance (one formant), unit gain at its peak."""
    r = np.exp(-np.pi * bandwidth_hz / sr)
    theta = 2 * np.pi * freq_hz / sr
    a = [1.0, -2 * r * np.cos(theta), r * r]
    b = [(1 - r) * np.sqrt(1 - 2 * r * np.cos(2 * theta) + r * r)]
    return signal.lfilter(b, a, x)


def _harmonics(f0_hz, *, sr, amplitudes):
    """Band-limited harmonic tone following the pitch track ``f0_hz`` (one value per sample)."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / sr
    out = np.zeros_like(f0_hz)
    for k, amp in enumerate(amplitudes, start=1):
        audible = k * f0_hz < 0.45 * sr
        out += amp * audible * np.sin(k * phase)
    return out


def speech_like(*, sr, seed, duration_seconds=DURATION_SECONDS):
    """Formant-synthesised vowel syllables with pauses, unit RMS: shape (n,)."""
    rng = np.random.default_rng(seed)
    n = int(duration_seconds * sr)
    out = np.zeros(n)
    pos = int(0.1 * sr)
    while True:
        length = int(rng.uniform(0.12, 0.35) * sr)
        if pos + length >= n:
            break
        f0_start = rng.uniform(90, 200)
        f0 = f0_start * np.linspace(1.0, rng.uniform(0.8, 1.2), length)
        f0 *= 1 + 0.01 * np.sin(2 * np.pi * 5.5 * np.arange(length) / sr)
        source = _harmonics(f0, sr=sr, amplitudes=[1 / k for k in range(1, 60)])
        formants = [(rng.uniform(300, 800), 80), (rng.uniform(900, 2200), 100), (rng.uniform(2400, 3000), 140)]
        voiced = np.zeros(length)
        for freq, bw in formants:
            if freq < 0.45 * sr:
                voiced += _resonator(source, sr=sr, freq_hz=freq, bandwidth_hz=bw) * (freq / 500.0) ** -1.0
        envelope = np.ones(length)
        ramp = int(0.03 * sr)
        envelope[:ramp] = np.sin(np.linspace(0, np.pi / 2, ramp)) ** 2
        envelope[-ramp:] = envelope[:ramp][::-1]
        syllable = voiced * envelope * rng.uniform(0.5, 1.0)
        if rng.random() < 0.4:  # aspiration / fricative onset
            burst = int(0.04 * sr)
            noise = _resonator(rng.standard_normal(burst), sr=sr, freq_hz=min(0.4 * sr, 2500), bandwidth_hz=0.2 * sr)
            syllable[:burst] += 0.3 * np.std(voiced) * noise / (np.std(noise) + 1e-12) * np.hanning(burst)
        out[pos:pos + length] += syllable
        pos += length + int((rng.uniform(0.25, 0.6) if rng.random() < 0.2 else rng.uniform(0.03, 0.12)) * sr)
    return out / np.sqrt(np.mean(out ** 2))


def music_like(*, sr, seed, duration_seconds=DURATION_SECONDS):
    """Harmonic notes of 80-600 Hz, sometimes two at once, unit RMS: shape (n,)."""
    rng = np.random.default_rng(1000 + seed)
    n = int(duration_seconds * sr)
    out = np.zeros(n)
    pos = int(0.05 * sr)
    while True:
        length = int(rng.uniform(0.2, 0.7) * sr)
        if pos + length >= n:
            break
        for _ in range(2 if rng.random() < 0.3 else 1):
            f0 = np.exp(rng.uniform(np.log(80), np.log(600))) * np.ones(length)
            amplitudes = [rng.uniform(0.5, 1.0) / k ** 1.2 for k in range(1, 9)]
            t = np.arange(length) / sr
            envelope = np.minimum(t / rng.uniform(0.01, 0.03), 1.0) * np.exp(-t / rng.uniform(0.15, 0.6))
            envelope[-int(0.01 * sr):] *= np.linspace(1, 0, int(0.01 * sr))
            out[pos:pos + length] += _harmonics(f0, sr=sr, amplitudes=amplitudes) * envelope * rng.uniform(0.5, 1)
        pos += length + int(rng.uniform(0.0, 0.15) * sr)
    return out / np.sqrt(np.mean(out ** 2))


def make_clean(kind, *, sr, seed):
    return speech_like(sr=sr, seed=seed) if kind == "speech" else music_like(sr=sr, seed=seed)


def add_noise(clean, *, snr_db, seed):
    """``clean`` plus white noise at ``snr_db`` over the whole signal; also returns the noise std."""
    rng = np.random.default_rng(10_000 + seed)
    std = np.sqrt(np.mean(clean ** 2) / 10 ** (snr_db / 10))
    return clean + std * rng.standard_normal(clean.shape), std


# --------------------------------------------------------------------------- scores

def si_snr(reference, estimate):
    """Scale-invariant SNR in dB of ``estimate`` against ``reference``."""
    reference = reference - reference.mean()
    estimate = estimate - estimate.mean()
    target = np.dot(estimate, reference) / np.dot(reference, reference) * reference
    residual = estimate - target
    return 10 * np.log10(np.sum(target ** 2) / max(np.sum(residual ** 2), 1e-300))


def stoi_score(reference, estimate, sr):
    from pystoi import stoi

    return float(stoi(reference, estimate, sr))


# --------------------------------------------------------------------------- evaluation

def evaluate(configs, *, kinds=KINDS, rates=RATES, snrs_db=SNRS_DB, seeds=SEEDS):
    """``results[name][(kind, sr, snr_db)] = (median SI-SNR, median STOI)`` over seeds.

    ``configs`` maps a name to a function ``f(noisy, sr, noise_std) -> output``.
    """
    results = {name: {} for name in configs}
    for kind, sr, snr_db in itertools.product(kinds, rates, snrs_db):
        scores = {name: [] for name in configs}
        for seed in seeds:
            clean = make_clean(kind, sr=sr, seed=seed)
            noisy, std = add_noise(clean, snr_db=snr_db, seed=seed)
            for name, run in configs.items():
                out = run(noisy, sr, std)
                scores[name].append((si_snr(clean, out), stoi_score(clean, out, sr)))
        for name in configs:
            results[name][(kind, sr, snr_db)] = tuple(np.median(np.array(scores[name]), axis=0))
    return results


def true_psd(std, sr):
    """One-sided PSD of white noise of standard deviation ``std`` (2 bins suffice, any length works)."""
    psd = np.full(3, 2 * std ** 2 / sr)
    psd[[0, -1]] /= 2
    return psd


def print_table(results, *, kinds=KINDS, rates=RATES, snrs_db=SNRS_DB, title=""):
    width = max(len(name) for name in results) + 2
    if title:
        print(f"\n== {title}")
    for kind, sr in itertools.product(kinds, rates):
        print(f"\n{kind} at sr={sr} Hz: SI-SNR out (dB) / STOI, columns = input SNR")
        print(" " * width + "".join(f"{snr:>14d}" for snr in snrs_db))
        for name, res in results.items():
            cells = "".join(f"{res[(kind, sr, s)][0]:8.1f} /{res[(kind, sr, s)][1]:4.2f}" for s in snrs_db)
            print(f"{name:<{width}}{cells}")
    print("\nmean over signals and rates: SI-SNR out (dB) / STOI, columns = input SNR")
    print(" " * width + "".join(f"{snr:>14d}" for snr in snrs_db) + "       mean")
    for name, res in results.items():
        cells, both = "", []
        for s in snrs_db:
            values = np.array([res[(k, r, s)] for k in kinds for r in rates])
            cells += f"{values[:, 0].mean():8.1f} /{values[:, 1].mean():4.2f}"
            both.append(values.mean(axis=0))
        both = np.mean(both, axis=0)
        print(f"{name:<{width}}{cells}{both[0]:7.1f} /{both[1]:4.2f}")


def noise_estimate_errors(*, kinds=KINDS, rates=RATES, snrs_db=SNRS_DB, seeds=SEEDS, variants=None):
    """Median over bins of the estimated / true noise PSD in dB, median over seeds."""
    variants = variants or {
        "min 1.5s": dict(method="minimum", refine_threshold=None),
        "min 0.8s": dict(method="minimum", window_seconds=0.8, refine_threshold=None),
        "min 3s": dict(method="minimum", window_seconds=3.0, refine_threshold=None),
        "q0.05": dict(method="quantile", quantile=0.05, refine_threshold=None),
        "q0.1": dict(method="quantile", quantile=0.1, refine_threshold=None),
        "q0.2": dict(method="quantile", quantile=0.2, refine_threshold=None),
        "min 1.5s+refine2": dict(method="minimum", refine_threshold=2.0),
        "min 1.5s+refine3": dict(method="minimum", refine_threshold=3.0),
        "min 1.5s+refine1.5": dict(method="minimum", refine_threshold=1.5),
        "q0.1+refine2": dict(method="quantile", quantile=0.1, refine_threshold=2.0),
    }
    print("\nnoise PSD estimate: median over bins of 10*log10(estimate / true) | mean over bins of its"
          " absolute value, dB, median over seeds; columns: signal, sr, input SNR")
    header = "".join(f"{k[:2]}{r:>5d}/{s:>3d}" for k in kinds for r in rates for s in snrs_db)
    print(" " * 20 + header)
    for name, kwargs in variants.items():
        row = ""
        for kind, sr, snr_db in itertools.product(kinds, rates, snrs_db):
            errs = []
            for seed in seeds:
                clean = make_clean(kind, sr=sr, seed=seed)
                noisy, std = add_noise(clean, snr_db=snr_db, seed=seed)
                psd = dn.estimate_noise_psd(noisy, sr=sr, **kwargs)
                error_db = 10 * np.log10(psd / (2 * std ** 2 / sr))
                errs.append((np.median(error_db), np.mean(np.abs(error_db))))
            median, spread = np.median(errs, axis=0)
            row += f"{median:6.1f}|{spread:4.1f}"
        print(f"{name:<20}{row}")


def main_configs():
    configs = {"none": lambda x, sr, std: x}
    for method in ("spectral_subtraction", "wiener", "mmse_stsa", "mmse_lsa"):
        configs[method] = lambda x, sr, std, m=method: dn.denoise(x, sr=sr, method=m)
    configs["mmse_lsa (true PSD)"] = lambda x, sr, std: dn.mmse_lsa(x, sr=sr, noise_psd=true_psd(std, sr))
    configs["wiener (true PSD)"] = lambda x, sr, std: dn.wiener(x, sr=sr, noise_psd=true_psd(std, sr))
    return configs


def _run(method, **kwargs):
    return lambda x, sr, std: dn.denoise(x, sr=sr, method=method, **kwargs)


def sweep_configs():
    """Parameter sweeps: one parameter at a time, then the most promising jointly."""
    sweeps = {}
    sweeps["frame length"] = {
        f"{method} frame={seconds}": _run(method, frame_seconds=seconds)
        for method in ("mmse_lsa", "wiener")
        for seconds in (0.016, 0.032, 0.064, 0.128)
    }
    sweeps["gain floor"] = {
        f"{method} min_gain={floor_db}": _run(method, min_gain_db=floor_db)
        for method in ("mmse_lsa", "mmse_stsa", "wiener")
        for floor_db in (-10, -15, -20, -25, -30)
    }
    decision = {}
    for method in ("mmse_lsa", "wiener"):
        for a in (0.9, 0.95, 0.98, 0.99):
            decision[f"{method} smoothing={a}"] = _run(method, snr_smoothing=a)
        for p in (-15, -25, -35):
            decision[f"{method} min_prior={p}"] = _run(method, min_prior_snr_db=p)
    sweeps["decision-directed"] = decision
    sweeps["spectral subtraction"] = {
        f"ss over={over} floor={floor}": _run("spectral_subtraction", over_subtraction=over, floor=floor)
        for over, floor in itertools.product((1.0, 2.0, 4.0), (0.01, 0.05, 0.2))
    }
    sweeps["joint"] = {
        f"{method} frame={seconds} smoothing={a} min_gain={g}": _run(
            method, frame_seconds=seconds, snr_smoothing=a, min_gain_db=g)
        for method in ("mmse_lsa", "mmse_stsa", "wiener")
        for seconds in (0.064, 0.128)
        for a in (0.95, 0.98)
        for g in (-20, -25)
    }
    sweeps["joint"].update({
        f"ss frame={seconds} over={over} floor={floor}": _run(
            "spectral_subtraction", frame_seconds=seconds, over_subtraction=over, floor=floor)
        for seconds in (0.064,)
        for over in (3.0, 4.0, 6.0)
        for floor in (0.002, 0.01)
    })
    noise = {}
    for name, kwargs in {
        "minimum, no refinement": dict(method="minimum", refine_threshold=None),
        "quantile 0.1, no refinement": dict(method="quantile", refine_threshold=None),
        "minimum + refine 2": dict(method="minimum", refine_threshold=2.0),
        "minimum + refine 3": dict(method="minimum", refine_threshold=3.0),
    }.items():
        noise[f"mmse_lsa noise={name}"] = (
            lambda x, sr, std, k=kwargs: dn.mmse_lsa(x, sr=sr, noise_psd=dn.estimate_noise_psd(x, sr=sr, **k)))
    noise["mmse_lsa true noise PSD"] = lambda x, sr, std: dn.mmse_lsa(x, sr=sr, noise_psd=true_psd(std, sr))
    sweeps["noise estimator"] = noise
    return sweeps


class TimeDenoise:
    """asv-style timings: 6 s of speech-like noisy sound at 2200 and 8000 Hz."""

    params = (RATES,)
    param_names = ("sr",)

    def setup(self, sr):
        self.x, _ = add_noise(speech_like(sr=sr, seed=0), snr_db=5, seed=0)

    def time_highpass(self, sr):
        dn.highpass(self.x, sr=sr)

    def time_estimate_noise_psd(self, sr):
        dn.estimate_noise_psd(self.x, sr=sr)

    def time_spectral_subtraction(self, sr):
        dn.spectral_subtraction(self.x, sr=sr)

    def time_wiener(self, sr):
        dn.wiener(self.x, sr=sr)

    def time_mmse_lsa(self, sr):
        dn.mmse_lsa(self.x, sr=sr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="also sweep parameters")
    parser.add_argument("--only", default=None, help="run only the sweep whose name contains this")
    parser.add_argument("--no-main", action="store_true", help="skip the main table")
    parser.add_argument("--noise", action="store_true", help="print noise PSD estimate errors")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if not args.no_main:
        print_table(evaluate(main_configs()), title="defaults")
    if args.noise:
        noise_estimate_errors()
    if args.sweep:
        for name, configs in sweep_configs().items():
            if args.only and args.only not in name:
                continue
            print_table(evaluate(configs), title=f"sweep: {name}")
    bench = TimeDenoise()
    print("\ntimings for 6 s of sound (ms):")
    for sr in RATES:
        bench.setup(sr)
        cells = []
        for method in ("highpass", "estimate_noise_psd", "spectral_subtraction", "wiener", "mmse_lsa"):
            t0 = time.perf_counter()
            getattr(bench, f"time_{method}")(sr)
            cells.append(f"{method}={1000 * (time.perf_counter() - t0):.0f}")
        print(f"  sr={sr}: " + ", ".join(cells))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
