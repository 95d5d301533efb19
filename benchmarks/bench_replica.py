"""How far a VP9, VP8 or H.264 file's replica (:func:`vismic.codec.codec_replica`) puts the SNR estimate from the truth.

Renders a sweep of scenes of :mod:`vismic.synth` drawn at random (fixed seed): textures
brick, gravel, coffee and camera in turn, directions 0-135 degrees, 64-128 px, 0.5 or 1 s,
motions of 0.03-0.1 px, sensor noise of 1, 2 or 4 grey levels, music and speech in turn, 2200
or 4000 fps. Each is written as a VP9 (``--codec vp9``, default) or VP8 file by OpenCV's encoder
at its defaults (:func:`vismic.synth.compress`) and recovered by ``recover_sound`` without
denoising: with ``key_frames=None`` (the key frames as decoded), with ``codec_replica=False``
and with the defaults. Prints the true SI-SNR (dB, against the true displacement high-passed at
20 Hz) of the default output and what repairing the key frames gained (``kf``), the estimate
alone, the replica's SI-SNR (VP9 and H.264 driven by :func:`vismic.codec.independent_motion` of the output) and the
estimate ``recover_sound`` reports (at most the replica's),
their errors against the truth, the quantiser index (VP9) or bits a pixel (VP8) and the sensor
noise the replica matched, and the times without and with the replica; then the medians and
extremes. ``benchmarks/bench_nuisance.py``'s ``vp9`` and ``vp8`` rows are four more such scenes
each at 96 px.

``--q-statistics`` instead sends the true scene (true motion, true noise) through libvpx-vp9
at constant quantiser settings around the file's and prints, for each statistic of the
file's quantiser indices between key frames (median, root mean square, 75th and 90th
percentile), how far the SI-SNR interpolated at it lies from the file's: which one index
stands for a rate-controlled file (:attr:`vismic.codec.FileQuantiser.effective_q_index`).

``--codec h264 [--crf C]`` writes each file with x264 through PyAV, as ``ffmpeg -c:v libx264
[-crf C]`` does (its defaults otherwise: a key frame every 250 frames, B-frames; ``-crf 23``
without ``--crf``), the way most H.264 exports are written. ``--preset P`` writes them at
x264's preset ``P`` (the real clips of ``../shared/footage`` were written at ``fast``,
``veryfast`` and ``ultrafast``); the replica codes with the settings x264 wrote into the
file (:mod:`vismic.codec._x264_settings`), or at x264's defaults with ``--x264-defaults``
(as before that module: the baseline, in the same run).

``--drive output|independent`` forces what moves every replica: the recovered motion itself, or
:func:`vismic.codec.independent_motion` of it (the default keeps ``recover_sound``'s: the latter
for VP9 and H.264, the former for VP8; before this version VP9 replicas were driven by the output).

``--object F`` renders each scene with the sound moving a centred disk ``F`` of the frame
across (:func:`vismic.synth.object_mask`) over a background that stands still, as in most real
clips; ``--whole-frame`` makes every replica move the whole frame, as before this version,
rather than the regions of the recovery's sound map (:func:`vismic.codec.moving_regions`).

``--sound-map-floor DB`` sets the estimate below which a replica moves the whole frame
(``vismic.codec.SOUND_MAP_FLOOR_DB``, -10 dB; ``--sound-map-floor=-inf``: the sound map's regions at
any estimate).

``--bit-rate B`` / ``--crf C`` write each file with FFmpeg's libvpx through PyAV instead, as
``ffmpeg -c:v libvpx[-vp9] -b:v B [-crf C]`` does (libvpx's own key-frame placement and
quantiser range otherwise, where OpenCV's writer sets a key frame every 12 frames and FFmpeg's
``qmin`` to 3; ``--bit-rate 0 --crf C`` is VP9's constant quality): files written with other
settings than the ones the VP8 replica models.

Run::

    nice python benchmarks/bench_replica.py [--codec vp9|vp8] [--scenes 16] [--seed 7] [--q-statistics]
    nice python benchmarks/bench_replica.py --codec vp8 --bit-rate 1000000 --crf 10   # FFmpeg's libvpx
    nice python benchmarks/bench_replica.py --codec h264 --crf 10                     # x264
    nice python benchmarks/bench_replica.py --codec h264 --crf 10 --preset fast [--x264-defaults]
    nice python benchmarks/bench_replica.py --codec h264 --crf 10 --drive output      # driven by the output itself
    nice python benchmarks/bench_replica.py --codec h264 --crf 10 --object 0.4 --scenes 8 [--whole-frame]
    nice python benchmarks/bench_replica.py --codec h264 --sound-map-floor=-inf        # the map's regions at any estimate
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vismic  # noqa: E402
from _table import write_csv  # noqa: E402
from vismic import metrics, synth  # noqa: E402
from vismic.codec import read_quantisers  # noqa: E402
from vismic._x264 import x264_options  # noqa: E402
from vismic.codec._encoders import _encode, _to_8bit  # noqa: E402
from vismic.denoise import highpass  # noqa: E402
from vismic.codec._checks import replaceable_cap  # noqa: E402

TEXTURES = ("brick", "gravel", "coffee", "camera")


def scene_specs(n: int, seed: int) -> list:
    """``n`` scenes drawn at random from the sweep (the same for the same seed)."""
    rng = np.random.default_rng(seed)
    specs = []
    for k in range(n):
        specs.append(dict(
            texture=TEXTURES[k % len(TEXTURES)], direction=float(rng.choice([0, 30, 45, 90, 135])),
            size=int(rng.choice([64, 96, 128])), seconds=float(rng.choice([0.5, 1.0])),
            amplitude=float(rng.choice([0.03, 0.05, 0.1])), noise=float(rng.choice([1.0, 2.0, 4.0])),
            audio="speech" if k % 2 else "music", fps=float(rng.choice([2200, 4000])), seed=k))
    return specs


CODECS = {"vp9": ("VP90", ".mkv"), "vp8": ("VP80", ".mkv"), "h264": ("H264", ".mp4")}


def write_x264(frames, path: Path, crf=None, preset=None, playback_fps: float = 30.0) -> None:
    """``frames`` (uint8 grey) written by x264 through PyAV, as ``ffmpeg -c:v libx264 [-crf C] [-preset P]``."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=int(playback_fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {**({} if crf is None else {"crf": str(crf)}), **({} if preset is None else {"preset": preset}),
                          **x264_options()}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_libvpx(frames, path: Path, codec: str, bit_rate: int, crf=None, playback_fps: float = 30.0) -> None:
    """``frames`` (uint8 grey) written by FFmpeg's libvpx (VP8) or libvpx-vp9 through PyAV, as ``ffmpeg -b:v -crf``."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx" if codec == "vp8" else "libvpx-vp9", rate=int(playback_fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        options = {} if crf is None else {"crf": str(crf)}
        if bit_rate:
            stream.bit_rate = int(bit_rate)
        else:
            options["b"] = "0"
        stream.options = options
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(np.repeat(frame[:, :, None], 3, axis=2), format="rgb24")
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def force_drive(independent: bool) -> None:
    """Make every replica ``recover_sound`` measures driven as ``independent`` says, whatever the codec."""
    import vismic.codec

    replica = vismic.codec.codec_replica

    def forced(*args, **kwargs):
        kwargs["independent"] = independent
        return replica(*args, **kwargs)

    vismic.codec.codec_replica = forced  # recover_sound looks it up there at each call


def force_whole_frame() -> None:
    """Make every replica ``recover_sound`` measures move the whole frame, whatever its sound map says."""
    import vismic.codec

    vismic.codec.moving_regions = lambda sound_map, shape: None  # recover_sound looks it up there at each call


def render(spec: dict, folder: Path, codec: str = "vp9", writer=None):
    """The scene, its VP9 or VP8 file and the true motion high-passed as the recovery's.

    ``writer``: None for OpenCV's encoder at its defaults, or ``(bit_rate, crf)`` for
    :func:`write_libvpx`; for H.264, x264's ``(crf, preset)`` (None: its default).
    """
    make = synth.speech if spec["audio"] == "speech" else synth.music
    fps = spec["fps"]
    sound = synth.make_displacement(make(duration_seconds=spec["seconds"], sr=fps, seed=spec["seed"]),
                                    amplitude_px=spec["amplitude"])
    texture = synth.texture(spec["texture"], size=(spec["size"],) * 2)
    if spec.get("object"):
        scene = synth.render_scene(texture, sound, direction_degrees=spec["direction"], noise_std=spec["noise"],
                                   fps=fps, seed=spec["seed"],
                                   mode_shape=synth.object_mask(texture.shape, fraction=spec["object"]))
    else:
        scene = synth.render_nuisance_scene(texture, sound, direction_degrees=spec["direction"],
                                            noise_std=spec["noise"], fps=fps, seed=spec["seed"])
    fourcc, suffix = CODECS[codec]
    path = folder / ("clip" + suffix)
    if codec == "h264":
        write_x264(scene.frames, path, *writer)
    elif writer is None:
        synth.compress(scene.frames, codec=fourcc, keep=path)
    else:
        write_libvpx(scene.frames, path, codec, *writer)
    return scene, path, highpass(scene.displacement_px, sr=fps)


def measure(spec: dict, folder: Path, codec: str = "vp9", writer=None) -> dict:
    fps = spec["fps"]
    scene, path, truth = render(spec, folder, codec, writer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        as_decoded = vismic.recover_sound(path, fps=fps, denoise=None, codec_replica=False, key_frames=None)
        started = time.perf_counter()
        alone = vismic.recover_sound(path, fps=fps, denoise=None, codec_replica=False)
        between = time.perf_counter()
        measured = vismic.recover_sound(path, fps=fps, denoise=None)
        ended = time.perf_counter()
    true_db = metrics.si_snr(alone.samples, truth)
    # a file whose frames show a held codec (or lost sound) is capped without a replica
    replica = measured.info.get("codec_replica", {"snr_db": np.nan, "noise_std": np.nan})
    return dict(spec, true_db=true_db, key_frame_gain_db=true_db - metrics.si_snr(as_decoded.samples, truth),
                estimate_alone_db=alone.info["snr_estimate_db"], replica_db=replica["snr_db"],
                estimate_db=measured.info["snr_estimate_db"], alone_error_db=alone.info["snr_estimate_db"] - true_db,
                replica_error_db=replica["snr_db"] - true_db, error_db=measured.info["snr_estimate_db"] - true_db,
                coding=replica.get("q_index", np.nan) if codec != "vp8" else replica.get("bits_per_pixel", np.nan), noise_found=replica["noise_std"], seconds_alone=between - started,
                seconds_replica=ended - between,
                replaced_cap_db=(replaceable_cap(measured.info) or {}).get("cap_db", np.nan))


STATISTICS = {"median": lambda q: np.median(q), "rms": lambda q: np.sqrt(np.mean(q.astype(np.float64) ** 2)),
              "p75": lambda q: np.percentile(q, 75), "p90": lambda q: np.percentile(q, 90)}


def q_statistics(spec: dict, folder: Path) -> dict:
    """The true scene through constant settings: the SI-SNR at each statistic of the file's indices, minus the file's."""
    fps = spec["fps"]
    scene, path, truth = render(spec, folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        true_db = metrics.si_snr(vismic.recover_sound(path, fps=fps, denoise=None, codec_replica=False).samples, truth)
        quantiser = read_quantisers(path)
        between = quantiser.q_index[~quantiser.key]
        wanted = {name: float(statistic(between)) for name, statistic in STATISTICS.items()}
        frames, curve = _to_8bit(scene.frames), []
        # settings step the index by about 4 (to 255 at the last): from below the lowest statistic to above the highest
        for setting in range(max(int(min(wanted.values()) // 4) - 1, 0), min(int(max(wanted.values()) // 4) + 3, 64)):
            decoded, q_index, _ = _encode(frames, setting, quantiser.key_interval)
            recovered = vismic.recover_sound(decoded, fps=fps, denoise=None).samples
            curve.append((float(np.median(q_index[1:])), metrics.si_snr(recovered, truth)))
    index, snr = np.array(curve).T
    row = dict(spec, true_db=true_db)
    for name, value in wanted.items():
        row[f"{name}_q"] = value
        row[f"{name}_error_db"] = float(np.interp(value, index, snr)) - true_db
    return row


def format_statistics(row: dict) -> str:
    return f"{describe(row):46s} {row['true_db']:6.1f} | " + " | ".join(
        f"{row[name + '_q']:5.1f} {row[name + '_error_db']:+5.1f}" for name in STATISTICS)


def describe(row: dict) -> str:
    return (f"{row['texture']} {row['direction']:g}deg {row['size']}px {row['seconds']:g}s {row['amplitude']:g}px "
            f"n{row['noise']:g} {row['audio']} {row['fps']:g}fps")


def format_row(row: dict) -> str:
    return (f"{describe(row):46s} {row['true_db']:6.1f} {row['key_frame_gain_db']:+5.1f} | {row['estimate_alone_db']:6.1f} {row['alone_error_db']:+5.1f} | "
            f"{row['replica_db']:6.1f} {row['replica_error_db']:+5.1f} | {row['estimate_db']:6.1f} {row['error_db']:+5.1f} | "
            f"{row['coding']:5.3g} {row['noise_found']:5.2f} | {row['seconds_alone']:5.1f} {row['seconds_replica']:5.1f}")


def summary(rows: list) -> str:
    gains = np.array([r["key_frame_gain_db"] for r in rows])
    lines = ["", f"{'key frames repaired':48s} SI-SNR gain median {np.median(gains):+5.1f}, {gains.min():+5.1f} to "
                 f"{gains.max():+5.1f} dB"]
    for key, label in (("alone_error_db", "estimate alone"), ("replica_error_db", "replica"),
                       ("error_db", "recover_sound's estimate (at most the replica)")):
        errors = np.array([r[key] for r in rows])
        errors = errors[np.isfinite(errors)]  # the replica's: none where a held codec was capped without one
        if not errors.size:
            continue
        lines.append(f"{label:48s} error median {np.median(errors):+5.1f}, {errors.min():+5.1f} to {errors.max():+5.1f} dB; "
                     f"within 3 dB {np.sum(np.abs(errors) <= 3)}/{len(rows)}, more than 3 dB optimistic "
                     f"{np.sum(errors > 3)}/{len(rows)}" + ("" if len(errors) == len(rows) else f" ({len(errors)} with one)"))
    for noise in sorted({r["noise"] for r in rows}):
        found = [r["noise_found"] for r in rows if r["noise"] == noise and np.isfinite(r["noise_found"])]
        if found:
            lines.append(f"sensor noise {noise:g} grey levels: matched at {min(found):.2f}-{max(found):.2f}")
    replaced = [r for r in rows if np.isfinite(r.get("replaced_cap_db", np.nan))]
    if replaced:
        lines.append("frames that barely differ, their cap (10 log10 innovation) replaced by the replica: "
                     + "; ".join(f"{describe(r)}: {r['replaced_cap_db']:.1f} dB" for r in replaced))
    ratio = [r["seconds_replica"] / r["seconds_alone"] for r in rows]
    lines.append(f"time with the replica: {np.median(ratio):.0f}x the recovery alone (median; "
                 f"{min(ratio):.0f}-{max(ratio):.0f}x)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codec", choices=sorted(CODECS), default="vp9")
    parser.add_argument("--scenes", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--q-statistics", action="store_true",
                        help="instead: which statistic of the file's quantiser indices its replica should use")
    parser.add_argument("--bit-rate", type=int, default=None,
                        help="write the files with FFmpeg's libvpx at this bit rate (bits/s at 30 fps playback; "
                             "0: constant quality, with --crf) instead of OpenCV's writer")
    parser.add_argument("--crf", type=float, default=None,
                        help="with --bit-rate: libvpx's -crf; with --codec h264: x264's (default 23)")
    parser.add_argument("--drive", choices=["default", "output", "independent"], default="default",
                        help="what moves every replica: recover_sound's choice, the recovered motion, or a motion "
                             "of its spectrum with random phases (vismic.codec.independent_motion)")
    parser.add_argument("--object", type=float, default=None, metavar="FRACTION",
                        help="the sound moves a centred disk this fraction of the frame across "
                             "(vismic.synth.object_mask) over a background that stands still")
    parser.add_argument("--whole-frame", action="store_true",
                        help="every replica moves the whole frame (as before this version), not only the regions "
                             "of the sound map (vismic.codec.moving_regions)")
    parser.add_argument("--sound-map-floor", type=float, default=None, metavar="DB",
                        help="the estimate below which a replica moves the whole frame rather than the sound map's "
                             "regions (vismic.codec.SOUND_MAP_FLOOR_DB, -10; -inf: the regions at any estimate)")
    parser.add_argument("--preset", default=None, help="with --codec h264: x264's -preset for the files (default medium)")
    parser.add_argument("--x264-defaults", action="store_true",
                        help="with --codec h264: code the replicas at x264's defaults, not with the settings x264 "
                             "wrote into the file (as before this version)")
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args(argv)
    if (args.preset is not None or args.x264_defaults) and args.codec != "h264":
        parser.error("--preset and --x264-defaults are x264's: use them with --codec h264")
    if args.x264_defaults:
        import vismic.codec._file_coding

        vismic.codec._file_coding.read_x264_settings = lambda path: None
    if args.drive != "default":
        force_drive(args.drive == "independent")
    if args.whole_frame:
        force_whole_frame()
    if args.sound_map_floor is not None:
        import vismic.codec._checks

        vismic.codec._checks.SOUND_MAP_FLOOR_DB = args.sound_map_floor
    writer = None if args.bit_rate is None else (args.bit_rate, args.crf)
    if args.codec == "h264":
        if args.bit_rate is not None:
            parser.error("--bit-rate is libvpx's: x264 writes at its -crf (--crf)")
        writer = (args.crf, args.preset)
    elif args.crf is not None and writer is None:
        parser.error("--crf goes with --bit-rate (FFmpeg's libvpx) or --codec h264")
    results = Path(__file__).parent / "results"
    if args.q_statistics and args.codec != "vp9":
        parser.error("--q-statistics reads VP9 quantisers: use it with --codec vp9")
    if args.q_statistics and writer is not None:
        parser.error("--q-statistics reads OpenCV's files: leave --bit-rate out")
    name = "bench_replica" if args.codec == "vp9" else f"bench_replica_{args.codec}"
    if args.codec == "h264":
        name += ("" if args.crf is None else f"_crf{args.crf:g}") + ("" if args.preset is None else f"_{args.preset}")
        name += "_x264_defaults" if args.x264_defaults else ""
    elif writer is not None:
        name += f"_libvpx_b{args.bit_rate}" + ("" if args.crf is None else f"_crf{args.crf:g}")
    if args.drive != "default":
        name += f"_drive_{args.drive}"
    if args.object:
        name += f"_object{args.object:g}"
    if args.whole_frame:
        name += "_whole_frame"
    if args.sound_map_floor is not None:
        name += f"_floor{args.sound_map_floor:g}"
    csv = args.csv or results / ("bench_replica_q.csv" if args.q_statistics else f"{name}.csv")
    if args.q_statistics:
        print(f"{args.scenes} VP9 scenes: the true scene through constant settings; for each statistic of the file's "
              "indices between key frames, the index and the SI-SNR there minus the file's (dB, no denoising)")
        print(f"{'scene':46s} {'truth':>6s} | " + " | ".join(f"{name:>11s}" for name in STATISTICS))
        run, show = q_statistics, format_statistics
    else:
        made = (f"x264, -crf {23 if args.crf is None else args.crf:g} -preset {args.preset or 'medium'}; replicas "
                f"coded {'at x264 defaults' if args.x264_defaults else 'with the settings x264 wrote into the file'}"
                if args.codec == "h264" else
                "OpenCV's encoder at its defaults" if writer is None else
                f"FFmpeg's libvpx, -b:v {args.bit_rate}" + ("" if args.crf is None else f" -crf {args.crf:g}"))
        if args.drive != "default":
            made += f"; every replica driven by {'an independent motion' if args.drive == 'independent' else 'the output'}"
        if args.object:
            made += f"; the sound moves a disk {args.object:g} of the frame across, the rest stands still"
        if args.whole_frame:
            made += "; every replica moves the whole frame"
        if args.sound_map_floor is not None:
            made += f"; the whole frame below an estimate of {args.sound_map_floor:g} dB"
        print(f"{args.scenes} {args.codec.upper()} scenes ({made}); SI-SNR and estimates in "
              "dB, no denoising; kf: what repairing the key frames gained; err: minus the truth")
        print(f"{'scene':46s} {'truth':>6s} {'kf':>5s} | {'alone':>6s} {'err':>5s} | {'replica':>6s} {'err':>5s} | "
              f"{'report':>6s} {'err':>5s} | {'bpp' if args.codec == 'vp8' else 'q':>5s} {'noise':>5s} | "
              f"{'t.alone':>5s} {'t.rep':>5s}")
        run, show = (lambda spec, folder: measure(spec, folder, args.codec, writer)), format_row
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for spec in scene_specs(args.scenes, args.seed):
            if args.object:
                spec["object"] = args.object
            rows.append(run(spec, Path(folder)))
            print(show(rows[-1]), flush=True)
            write_csv(csv, rows)
    if args.q_statistics:
        for name in STATISTICS:
            errors = np.array([r[f"{name}_error_db"] for r in rows])
            print(f"{name:7s} error median {np.median(errors):+5.1f}, {errors.min():+5.1f} to {errors.max():+5.1f} dB")
    else:
        print(summary(rows))
    return 0

if __name__ == "__main__":
    sys.exit(main())
