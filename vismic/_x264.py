"""x264 settings that make its output the same from run to run: its AVX-512 code left out.

On the 2-core Xeons with AVX-512 that vismic's benchmarks run on, x264 through PyAV coded the
same frames to different bits from run to run (``python benchmarks/bench_x264.py``, 16 runs in
one process at x264's defaults): the eye clip's first 257 frames (576x448 px) came out 4
different ways on idle cores, and 3 and 4 ways in two runs with two busy processes beside (other
work shared the cores too); a rendered scene of that size 5 ways under load. With x264 told every
instruction set the CPU has but AVX-512 (its ``asm`` list), every run gave the same bits, at about
the same speed (1.53 s a run for 1.79 on idle cores). An H.264 replica
(:func:`vismic.codec.codec_replica`) of a mostly lost sound read anywhere from -11 to -41 dB in
repeated runs before.
"""

from __future__ import annotations

import functools

__all__ = ["x264_options"]

#: ``/proc/cpuinfo`` flags, and NumPy's names for them, with x264's names for what they enable.
_INSTRUCTION_SETS = (
    ("sse", "SSE", ("MMX2", "SSE")),
    ("sse2", "SSE2", ("SSE2",)),
    ("pni", "SSE3", ("SSE3",)),
    ("ssse3", "SSSE3", ("SSSE3",)),
    ("sse4_1", "SSE41", ("SSE4.1",)),
    ("sse4_2", "SSE42", ("SSE4.2",)),
    ("avx", "AVX", ("AVX",)),
    ("fma", "FMA3", ("FMA3",)),
    ("avx2", "AVX2", ("AVX2",)),
    ("abm", None, ("LZCNT",)),
    ("bmi1", None, ("BMI1",)),
    ("bmi2", None, ("BMI2",)),
)


def _cpu_flags() -> tuple[set, set]:
    """The CPU's flags as ``/proc/cpuinfo`` names them (empty off Linux) and as NumPy's dispatch found them."""
    linux = set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    linux = set(line.partition(":")[2].split())
                    break
    except OSError:
        pass
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as found
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as found
        except ImportError:
            found = {}
    return linux, {name for name, present in found.items() if present}


def x264_options() -> dict:
    """PyAV stream options for libx264 that keep its output reproducible: ``{}`` or ``{'x264-params': 'asm=...'}``.

    Where the CPU has AVX-512, x264 is given the instruction sets it has below it (only
    those, since x264 uses whatever it is told); elsewhere it picks its own.

    Examples
    --------
    >>> options = x264_options()
    >>> "AVX512" in options.get("x264-params", "")
    False
    """
    sets = _below_avx512()
    return {} if sets is None else {"x264-params": "asm=" + sets}


@functools.lru_cache(maxsize=None)
def _below_avx512():
    """x264's names for the CPU's instruction sets, comma-separated, where it has AVX-512; else None."""
    linux, numpy_found = _cpu_flags()
    if "avx512f" not in linux and "AVX512F" not in numpy_found:
        return None
    return ",".join(x264 for flag, numpy_name, x264_names in _INSTRUCTION_SETS
                    if flag in linux or (not linux and numpy_name in numpy_found) for x264 in x264_names)
