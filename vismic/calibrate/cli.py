"""``vismic calibrate``: measure a set-up's frequency response from one calibration video.

The main command line adds the sub-command with :func:`add_calibrate_parser`; its
``func`` default is :func:`run_calibrate`::

    vismic calibrate VIDEO --fps HZ --played SOUND.wav -o RESPONSE.npz [--roi X,Y,W,H]

recovers the motion (no denoising: the estimator needs the raw signal and noise),
estimates the response against the played sound, writes it atomically and prints a
short summary. ``vismic recover --equalise RESPONSE.npz`` then undoes the response
with :class:`vismic.calibrate.Equalise`.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from .._cli_helpers import (
    Progress,
    check_option,
    check_writable,
    finite_float,
    open_source,
    parse_ints,
    parse_rate,
    print_warnings,
)
from ..errors import ParameterError, UnreliableRecoveryError

__all__ = ["add_calibrate_parser", "run_calibrate", "read_played"]


def add_calibrate_parser(subparsers):
    """Add the ``calibrate`` sub-command to an ``argparse`` sub-parser collection.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The new sub-parser (``func`` set to :func:`run_calibrate`).
    """
    p = subparsers.add_parser(
        "calibrate",
        help="measure how the filmed object filters sound, from a video of it with a known sound playing",
        description="Recover the motion of a calibration video filmed while a known sound (a sweep or noise) "
                    "played, estimate the set-up's frequency response against that sound, and write it as an "
                    ".npz file for 'vismic recover --equalise'.",
    )
    p.add_argument("video", metavar="VIDEO", help="video file (AVI, MKV, MP4...), frame folder or multi-page TIFF")
    p.add_argument("--fps", type=str, default=None, metavar="HZ",
                   help="capture rate of the camera in frames per second (not the file's playback rate); "
                        "camera files (.cine, .cih) store it")
    p.add_argument("--played", required=True, metavar="SOUND.wav",
                   help="the sound played while filming (any rate; resampled to the capture rate)")
    p.add_argument("-o", "--output", required=True, metavar="RESPONSE.npz", help="response file to write")
    p.add_argument("--roi", metavar="X,Y,W,H", help="region of interest in pixels")
    p.add_argument("--downsample", type=int, default=1, metavar="N",
                   help="reduce frames N times (a low-pass, then N x N block means)")
    p.add_argument("--highpass", type=finite_float, default=20.0, metavar="HZ", help="drift removal cut-off (default 20; 0 keeps the drift)")
    p.add_argument("--n-fft", type=int, default=None, metavar="N",
                   help="Welch segment length (default about 0.1 s, shorter for short videos)")
    p.add_argument("--smoothing", type=finite_float, default=1 / 6, metavar="OCTAVES",
                   help="fractional-octave smoothing of the spectra (default 1/6; 0 for none)")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run_calibrate)
    return p


def read_played(path) -> tuple:
    """Read the played sound: ``(samples mixed to mono, sample rate in Hz)``.

    Raises
    ------
    ParameterError
        The file is missing or not a sound file.
    """
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"--played sound file {str(path)!r} does not exist")
    try:
        samples, sr = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, OSError, ValueError) as error:  # soundfile.LibsndfileError is a RuntimeError
        raise ParameterError(f"cannot read --played sound file {str(path)!r}: {error}") from None
    if samples.shape[0] == 0:
        raise ParameterError(f"--played sound file {str(path)!r} holds no samples")
    mono = samples.mean(axis=1)
    loudest = float(np.max(np.abs(samples)))
    if samples.shape[1] > 1 and loudest > 0 and float(np.max(np.abs(mono))) < 1e-3 * loudest:
        # the mix was called silent ("played is constant") though each channel played
        raise ParameterError(f"--played sound file {str(path)!r}: its {samples.shape[1]} channels cancel when mixed to "
                             "mono (one is the other inverted); give a file of the channel the speaker played")
    return mono, float(sr)


def run_calibrate(args) -> int:
    """Carry out ``vismic calibrate`` for parsed ``args`` (see :func:`add_calibrate_parser`).

    Returns 0; errors are raised as :class:`~vismic.errors.VismicError` for the main
    command line to report.
    """
    from ..recover import recover_sound
    from ._response import estimate_response

    fps = parse_rate(args.fps) if args.fps is not None else None
    output = check_writable(args.output, [args.video, args.played])
    if Path(output).suffix.lower() != ".npz":  # it wrote a NumPy archive named resp.txt
        raise ParameterError(f"-o {str(args.output)!r} must end in .npz (the response is a NumPy archive)")
    roi = parse_ints(args.roi, 4, "--roi", minimum=0) if args.roi else None
    check_option(args.downsample, "--downsample", positive=True, integer=True)
    check_option(args.highpass, "--highpass", minimum=0)
    check_option(args.n_fft, "--n-fft", minimum=8)
    check_option(args.smoothing, "--smoothing", minimum=0)
    check_option(args.max_frames, "--max-frames", positive=True, integer=True)
    played, played_sr = read_played(args.played)
    source, total = open_source(args, fps, roi)
    progress = Progress(total, not args.quiet)
    try:
        with warnings.catch_warnings(record=True) as found:
            warnings.simplefilter("always")
            rec = recover_sound(source, fps=fps, highpass_hz=args.highpass, denoise=None, progress=progress)
    finally:
        progress.close()
    print_warnings(found)
    samples = np.asarray(rec.audio)
    if samples.ndim != 1:
        raise ParameterError(f"calibration needs one channel of sound, the recovery gave shape {samples.shape}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = estimate_response(samples, played, sr=rec.sr, played_sr=played_sr, n_fft=args.n_fft,
                                     smoothing_octaves=args.smoothing)
    print_warnings(caught)
    if response.band_hz() is None:
        # an equaliser from it would amplify noise at every frequency: nothing is written, and the exit says so
        raise UnreliableRecoveryError(
            f"the played sound is not visible in the recording: no frequency reached coherence 0.5 (best "
            f"{float(np.max(response.coherence)):.2f}); nothing written. Check --roi, --fps and that the sound played "
            "while the camera recorded")
    path = response.save(output)
    if not args.quiet:
        print(f"wrote {path} from {rec.info.get('n_frames', len(samples))} frames at {rec.sr:g} fps "
              f"(estimated SNR {rec.info.get('snr_estimate_db', float('nan')):.1f} dB)", file=sys.stderr)
        print(response.summary(), file=sys.stderr)
    return 0
