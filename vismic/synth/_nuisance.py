"""Nuisances of real recordings, rendered exactly: camera drift and shake, changing light, lossy codecs.

A scene with nuisances is the clean scene of :func:`vismic.synth.render_scene`
(a texture moving rigidly by ``displacement_px[t] * u``) seen through

* extra rigid motion of the camera ``(shift_x_px[t], shift_y_px[t])``: the
  texture is rendered at the *total* displacement with the same exact DCT shift,
  so a 4 px sway is as exact (~1e-12 grey levels) as the 0.05 px sound;
* a light gain ``gain[t]`` (mains flicker, auto-exposure steps, fades) and an
  offset ``offset[t]`` applied to the clean radiance before the sensor's noise
  and 8-bit quantisation, as a camera sees them;
* optionally a real lossy encoder (:func:`compress`: OpenCV's MJPG, mp4v, VP8 or VP9).

The scene's ``displacement_px`` stays the sound motion alone: that is what a
recovery should return.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import numpy as np

from ..errors import FrameShapeError, OutputError, ParameterError
from .._checks import check_int, check_number, check_range
from ._checks import check_direction, check_non_negative, check_positive, check_texture, unit_vector
from ._fourier import _Shifter
from ._scene import Scene, _check_displacement
from ._sensor import sense

__all__ = [
    "shake_motion",
    "sway_motion",
    "drift_motion",
    "flicker_gain",
    "exposure_steps",
    "fade_gain",
    "render_nuisance_scene",
    "compress",
    "CODECS",
]

#: Lossy encoders :func:`compress` writes (name -> container suffix): Motion JPEG (intra-frame),
#: MPEG-4 part 2, VP8 and VP9 through OpenCV's bundled FFmpeg, and H.264 through PyAV's x264
#: (OpenCV's FFmpeg has no H.264 encoder; ``pip install 'vismic[codecs]'``).
CODECS = {"MJPG": ".avi", "mp4v": ".avi", "VP80": ".mkv", "VP90": ".mkv", "H264": ".mp4"}

_BATCH = 16


def _check_count(n_frames) -> int:
    try:
        whole = not isinstance(n_frames, bool) and int(n_frames) == n_frames and n_frames >= 1
    except (TypeError, ValueError, OverflowError):  # None, nan, inf, text
        whole = False
    if not whole:
        raise ParameterError(f"n_frames must be a positive integer, given n_frames={n_frames!r}")
    return int(n_frames)


def _times(n_frames, fps):
    return np.arange(_check_count(n_frames)) / check_positive(fps, "fps")


def shake_motion(n_frames: int, *, fps: float, peak_px: float, low_hz: float = 0.0, high_hz: float = 10.0,
                 seed: int = 0) -> np.ndarray:
    """Random camera motion with a flat spectrum in ``[low_hz, high_hz]``, scaled to a peak.

    Hand-held or floor-borne shake (a few Hz) and slow drift (``low_hz=0``,
    ``high_hz`` of 1-2 Hz). Exactly band-limited: white Gaussian noise filtered
    in the Fourier domain, so nothing lies above ``high_hz``.

    Parameters
    ----------
    n_frames : int
    fps : float
        Capture rate.
    peak_px : float
        ``max |motion|`` in px (>= 0).
    low_hz, high_hz : float
        Band edges, ``0 <= low_hz < high_hz``.
    seed : int

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float64

    Examples
    --------
    >>> motion = shake_motion(2200, fps=2200.0, peak_px=2.0, low_hz=3.0, high_hz=7.0)
    >>> round(float(np.max(np.abs(motion))), 6)
    2.0
    """
    n = _check_count(n_frames)
    fps = check_positive(fps, "fps")
    peak_px = check_non_negative(peak_px, "peak_px")
    low_hz = check_non_negative(low_hz, "low_hz")
    high_hz = check_positive(high_hz, "high_hz")
    if low_hz >= high_hz:
        raise ParameterError(f"low_hz must be below high_hz, given low_hz={low_hz!r}, high_hz={high_hz!r}")
    seed = check_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    frequency = np.fft.rfftfreq(n, d=1.0 / fps)
    spectrum[(frequency < low_hz) | (frequency > high_hz)] = 0.0
    if not np.any(spectrum):
        raise ParameterError(
            f"no frequency of a {n}-frame clip at {fps:g} fps lies in [{low_hz:g}, {high_hz:g}] Hz: "
            "widen the band or lengthen the clip"
        )
    motion = np.fft.irfft(spectrum, n)
    return motion * (peak_px / np.max(np.abs(motion))) if peak_px > 0 else np.zeros(n)


def sway_motion(n_frames: int, *, fps: float, peak_px: float, frequency_hz: float, phase_degrees: float = 0.0
                ) -> np.ndarray:
    """A sinusoidal sway ``peak_px * sin(2 pi f t + phase)`` (a tripod or building swaying).

    Examples
    --------
    >>> sway_motion(4, fps=4.0, peak_px=2.0, frequency_hz=1.0).round(6)
    array([ 0.,  2.,  0., -2.])
    """
    t = _times(n_frames, fps)
    peak_px = check_non_negative(peak_px, "peak_px")
    frequency_hz = check_non_negative(frequency_hz, "frequency_hz")
    return peak_px * np.sin(2 * np.pi * frequency_hz * t + np.radians(check_direction(phase_degrees)))


def drift_motion(n_frames: int, *, total_px: float) -> np.ndarray:
    """A smooth drift from 0 to ``total_px`` over the clip (thermal drift): half a cosine period.

    Examples
    --------
    >>> drift_motion(3, total_px=2.0).round(6)
    array([0., 1., 2.])
    """
    n = _check_count(n_frames)
    total_px = check_number(total_px, "total_px")  # negative: a drift the other way
    if n == 1:
        return np.zeros(1)
    return total_px * 0.5 * (1.0 - np.cos(np.pi * np.arange(n) / (n - 1)))


def flicker_gain(n_frames: int, *, fps: float, frequency_hz: float = 120.0, depth: float = 0.04,
                 harmonics=(1.0,), phase_degrees: float = 0.0) -> np.ndarray:
    """Light gain of mains-powered lamps: ``1 + depth * sum_k h_k cos(2 pi k f t + phase) / sum_k |h_k|``.

    Lamps on 50/60 Hz mains flicker at twice the mains frequency (100/120 Hz)
    and its harmonics; ``depth`` is the peak relative change (0.04 = ±4 %).

    Parameters
    ----------
    n_frames : int
    fps : float
    frequency_hz : float
        Fundamental of the flicker (100 or 120 for mains lamps).
    depth : float
        Peak gain change, in [0, 1).
    harmonics : sequence of float
        Relative amplitudes of the fundamental, 2nd harmonic, ...
    phase_degrees : float

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float64, in ``[1 - depth, 1 + depth]``

    Examples
    --------
    >>> gain = flicker_gain(2200, fps=2200.0, frequency_hz=100.0, depth=0.05)
    >>> round(float(gain.max()), 6), round(float(gain.min()), 6)
    (1.05, 0.95)
    """
    t = _times(n_frames, fps)
    frequency_hz = check_positive(frequency_hz, "frequency_hz")
    depth = check_non_negative(depth, "depth")
    if depth >= 1:
        raise ParameterError(f"depth must be in [0, 1), given depth={depth!r}")
    weights = np.asarray(harmonics, dtype=np.float64).ravel()
    if weights.size == 0 or not np.all(np.isfinite(weights)) or not np.any(weights):
        raise ParameterError(f"harmonics must be finite amplitudes, not all zero, given harmonics={harmonics!r}")
    phase = np.radians(check_direction(phase_degrees))
    wave = sum(h * np.cos(2 * np.pi * (k + 1) * frequency_hz * t + (k + 1) * phase) for k, h in enumerate(weights))
    return 1.0 + depth * wave / np.sum(np.abs(weights))


def exposure_steps(n_frames: int, *, fps: float, times_seconds, gains) -> np.ndarray:
    """Auto-exposure: the gain jumps to ``gains[i]`` at ``times_seconds[i]`` (1 before the first step).

    Examples
    --------
    >>> exposure_steps(4, fps=4.0, times_seconds=[0.5], gains=[1.1])
    array([1. , 1. , 1.1, 1.1])
    """
    t = _times(n_frames, fps)
    times = np.asarray(times_seconds, dtype=np.float64).ravel()
    values = np.asarray(gains, dtype=np.float64).ravel()
    if times.shape != values.shape:
        raise ParameterError(f"times_seconds and gains must have the same length, given {times.size} and {values.size}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ParameterError(f"gains must be positive, given gains={gains!r}")
    if not np.all(np.isfinite(times)):
        raise ParameterError(f"times_seconds must be finite, given times_seconds={times_seconds!r}")
    gain = np.ones_like(t)
    for when, value in sorted(zip(times, values)):
        gain[t >= when] = value
    return gain


def fade_gain(n_frames: int, *, end_gain: float) -> np.ndarray:
    """A slow linear fade of the light from 1 to ``end_gain`` over the clip.

    Examples
    --------
    >>> fade_gain(3, end_gain=0.8)
    array([1. , 0.9, 0.8])
    """
    n = _check_count(n_frames)
    end_gain = check_positive(end_gain, "end_gain")
    return np.linspace(1.0, end_gain, n)


def _per_frame(values, n, name, default):
    if values is None:
        return np.full(n, default)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(n, float(array))
    if array.shape != (n,):
        raise ParameterError(f"{name} must have shape ({n},) (one value per frame), given shape={array.shape}")
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{name} contains NaN or infinite values")
    return array


def render_nuisance_scene(texture, displacement_px, *, direction_degrees: float = 0.0, shift_x_px=None,
                          shift_y_px=None, gain=None, offset=None, noise_std: float = 0.0, quantize: bool = True,
                          seed: int = 0, fps: float = 2200.0, crop_px: int = 0) -> Scene:
    """A rigid scene moved by sound *and* camera motion, under changing light.

    Frame ``t`` is ``gain[t] * T(x - displacement_px[t] u - (shift_x_px[t], shift_y_px[t])) + offset[t]``,
    then sensor noise and 8-bit quantisation as in :func:`vismic.synth.render_scene`
    (same seed, same noise). The total displacement is rendered with the exact
    DCT shift, so any size of camera motion is exact. The returned scene's
    ``displacement_px`` is the sound motion alone.

    Parameters
    ----------
    texture : np.ndarray [shape=(height, width)] or str
    displacement_px : np.ndarray [shape=(n,)]
        Sound motion along ``direction_degrees``.
    direction_degrees : float
    shift_x_px, shift_y_px : np.ndarray [shape=(n,)], optional
        Camera motion in px (x right, y down), e.g. :func:`shake_motion`.
    gain, offset : np.ndarray [shape=(n,)] or float, optional
        Light gain (e.g. :func:`flicker_gain`) and offset in grey levels.
    noise_std, quantize, seed, fps
        As in :func:`vismic.synth.render_scene`.
    crop_px : int
        The frames are the moved texture's view less this many px along every side
        (``(height - 2 crop_px, width - 2 crop_px)``). The shift extends the texture by
        its mirror image, so without a crop, camera motion brings that mirror image into
        view; with a crop larger than the motion, it brings the texture's own content in
        from beyond the frame, as a camera does.

    Returns
    -------
    Scene
        ``displacement_px`` is the sound's motion alone (what a recovery should
        give back); the camera motion and light changes are in the frames only.
        ``texture`` and ``mode_shape`` are cropped as the frames are, and ``texture``
        is scaled by the light's gain as the bound sees it (:func:`vismic.metrics.scene_bound`):
        ``1 / sqrt(mean(1 / gain**2))``, the gain whose frames hold the same motion
        information on average (a constant gain of 0.3 scaled the frames and not the
        texture, and the bound read 10.5 dB above them; one-off).

    Examples
    --------
    >>> from vismic import synth
    >>> sound = synth.make_displacement(synth.tone(440.0, duration_seconds=0.1, sr=2200.0), amplitude_px=0.05)
    >>> scene = synth.render_nuisance_scene("brick", sound, shift_x_px=synth.drift_motion(220, total_px=3.0),
    ...                                     gain=synth.flicker_gain(220, fps=2200.0))
    >>> scene.frames.shape
    (220, 128, 128)
    >>> synth.render_nuisance_scene("brick", sound, shift_x_px=synth.shake_motion(220, fps=2200.0, peak_px=4.0),
    ...                             crop_px=16).frames.shape
    (220, 96, 96)
    """
    if isinstance(texture, str):
        from ._texture import texture as make_texture

        texture = make_texture(texture)
    texture = check_texture(texture)
    displacement_px = _check_displacement(displacement_px)
    direction_degrees = check_direction(direction_degrees)
    noise_std = check_non_negative(noise_std, "noise_std")
    fps = check_positive(fps, "fps")
    crop_px = check_int(crop_px, "crop_px", minimum=0)
    if 2 * crop_px + 2 > min(texture.shape):
        raise ParameterError(f"crop_px={crop_px} leaves no frame of a {texture.shape[1]}x{texture.shape[0]} px texture "
                             f"(at most {(min(texture.shape) - 2) // 2})")
    view = (slice(crop_px, texture.shape[0] - crop_px), slice(crop_px, texture.shape[1] - crop_px))
    n = displacement_px.shape[0]
    shift_x_px = _per_frame(shift_x_px, n, "shift_x_px", 0.0)
    shift_y_px = _per_frame(shift_y_px, n, "shift_y_px", 0.0)
    gain = _per_frame(gain, n, "gain", 1.0)
    if np.any(gain <= 0):  # as exposure_steps and fade_gain refuse them: a light that is off or negative
        raise ParameterError(f"gain must be positive in every frame, given a gain of {float(gain.min()):g}")
    offset = _per_frame(offset, n, "offset", 0.0)
    ux, uy = unit_vector(direction_degrees)
    total_x = displacement_px * ux + shift_x_px
    total_y = displacement_px * uy + shift_y_px
    shifter = _Shifter(texture)

    def batches():
        for start in range(0, n, _BATCH):
            part = slice(start, start + _BATCH)
            frames = shifter(total_x[part], total_y[part])[(slice(None),) + view]
            frames *= gain[part, None, None]
            frames += offset[part, None, None]
            yield start, frames

    texture = texture[view]
    frames = sense(batches(), n_frames=n, shape=texture.shape, batch_size=_BATCH, noise_std=noise_std,
                   quantize=quantize, seed=seed)
    # each frame's motion information goes with its gain squared: the bound's noise with the mean of 1 / gain^2
    lit = texture / np.sqrt(np.mean(1.0 / gain ** 2))
    return Scene(frames=frames, displacement_px=displacement_px, direction_degrees=direction_degrees,
                 mode_shape=np.ones(texture.shape), texture=lit, noise_std=noise_std,
                 quantization_step=1.0 if quantize else 0.0, fps=fps)


#: Shortest frame side :func:`compress` accepts.
MIN_SIDE_PX = 8


def _write_opencv(frames, path: str, codec: str, quality, playback_fps: float) -> None:
    import cv2

    height, width = frames.shape[1:]
    if quality is None:
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*codec), playback_fps, (width, height), isColor=False)
    else:  # OpenCV's FFmpeg writer ignores the quality (its set() returns False): OpenCV's own MJPEG encoder takes it
        writer = cv2.VideoWriter(path, cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*codec), playback_fps,
                                 (width, height), isColor=True)
    if not writer.isOpened():
        raise OutputError(f"OpenCV cannot write {codec!r} video here (no such encoder in its FFmpeg)")
    try:
        if quality is not None and not writer.set(cv2.VIDEOWRITER_PROP_QUALITY, float(quality)):
            raise OutputError(f"OpenCV's MJPEG writer refused quality={quality!r}")
        for frame in frames:
            # that encoder's grey files decode with their levels remapped (mean 111 read back as 60): grey as colour
            writer.write(np.ascontiguousarray(frame if quality is None else np.repeat(frame[:, :, None], 3, axis=2)))
    finally:
        writer.release()


def _write_h264(frames, path: str, playback_fps: float) -> None:
    try:
        import av
    except ImportError:
        raise ImportError("compress(codec='H264') needs PyAV: pip install av (or pip install 'vismic[codecs]')") from None
    from fractions import Fraction

    from .._x264 import x264_options

    with av.open(path, "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(playback_fps).limit_denominator(1000))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = x264_options()  # the same file from run to run
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="gray")))
        container.mux(stream.encode(None))


def compress(frames, *, codec: str = "MJPG", quality=None, playback_fps: float = 30.0, keep=None) -> np.ndarray:
    """Frames after a round trip through a real lossy encoder (OpenCV's FFmpeg, or x264).

    The clip is written at a playback rate (OpenCV drops frames above ~1000 fps,
    as real high-speed exports are written at 24-30 fps) to a temporary file,
    read back with :func:`vismic.io.open_video`, and the file removed (or kept
    at ``keep``).

    Parameters
    ----------
    frames : np.ndarray [shape=(n, height, width)], uint8
        Even sides of at least :data:`MIN_SIDE_PX` px.
    codec : {'MJPG', 'mp4v', 'VP80', 'VP90', 'H264'}
        Motion JPEG (intra-frame), MPEG-4 part 2, VP8, VP9 or H.264 (inter-frame:
        frames predicted from the ones before by motion compensation), at the
        encoders' default settings. H.264 is x264 through PyAV (``pip install
        'vismic[codecs]'``) at its defaults: CRF 23, preset medium, a key frame
        every 250 frames, B-frames, as ``ffmpeg -c:v libx264`` writes it; without
        its AVX-512 code, which wrote different files from run to run
        (:func:`vismic._x264.x264_options`).
    quality : float, optional
        JPEG quality (0-100, MJPG only), through OpenCV's own MJPEG encoder
        (``cv2.CAP_OPENCV_MJPEG``; its FFmpeg writer ignores the setting). None (default)
        writes with OpenCV's FFmpeg writer at its default quality.
    playback_fps : float
    keep : str or os.PathLike, optional
        Keep the compressed file there (its suffix must be the codec's container,
        :data:`CODECS`): a clip to recover from as from a camera's export, whose
        codec the reader then knows.

    Returns
    -------
    np.ndarray [shape=(n, height, width)], uint8

    Examples
    --------
    >>> frames = np.random.default_rng(0).integers(0, 256, (8, 32, 32), dtype=np.uint8)
    >>> decoded = compress(frames, codec="MJPG")
    >>> decoded.shape, decoded.dtype, bool(np.any(decoded != frames))
    ((8, 32, 32), dtype('uint8'), True)
    """
    from ..io import open_video

    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.shape[0] == 0:
        raise FrameShapeError(f"frames must have shape (n, height, width) with n >= 1, given shape={frames.shape}")
    if frames.dtype != np.uint8:
        raise ParameterError(f"frames must be uint8 (8-bit video), given dtype={frames.dtype}")
    if codec not in CODECS:
        raise ParameterError(f"codec must be one of {sorted(CODECS)}, given codec={codec!r}")
    playback_fps = check_positive(playback_fps, "playback_fps")
    if quality is not None:
        if codec != "MJPG":
            raise ParameterError(f"quality applies to codec='MJPG' only (OpenCV ignores it for {codec!r}), "
                                 f"given quality={quality!r}")
        quality = check_range(quality, "quality", 0.0, 100.0)
    if keep is not None:
        if not isinstance(keep, (str, os.PathLike)) or os.path.splitext(os.fspath(keep))[1].lower() != CODECS[codec]:
            raise ParameterError(f"keep must name a {CODECS[codec]} file for codec={codec!r}, given keep={keep!r}")
        if not os.path.isdir(os.path.dirname(os.path.abspath(os.fspath(keep)))):
            raise OutputError(f"cannot keep the compressed clip at {os.fspath(keep)!r}: its folder does not exist")
    height, width = frames.shape[1:]
    if height % 2 or width % 2 or min(height, width) < MIN_SIDE_PX:
        # OpenCV's writer crops odd sides, x264's 4:2:0 chroma needs even ones, and OpenCV's FFmpeg
        # encoders aborted the whole process on some frames with a side under 8 px (4x4, 8x6)
        raise FrameShapeError(f"compress needs frames with even sides of at least {MIN_SIDE_PX} px (the encoders' "
                              f"4:2:0 chroma and 8x8 blocks), given {width}x{height} px")
    folder = tempfile.mkdtemp(prefix="vismic-compress-")
    path = os.path.join(folder, "clip" + CODECS[codec])
    try:
        if codec == "H264":
            _write_h264(frames, path, playback_fps)
        else:
            _write_opencv(frames, path, codec, quality, playback_fps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the playback rate warning: the capture rate is not stored
            decoded = np.concatenate([b.frames for b in open_video(path, fps=1000.0 * playback_fps)])
        if keep is not None:
            try:
                shutil.move(path, os.fspath(keep))
            except OSError as error:
                raise OutputError(f"cannot keep the compressed clip at {os.fspath(keep)!r}: {error}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if decoded.shape != frames.shape:
        raise OutputError(f"{codec} round trip gave {decoded.shape[0]} frames of {decoded.shape[1:]} "
                          f"for {frames.shape[0]} of {frames.shape[1:]}")
    return np.clip(np.rint(decoded), 0, 255).astype(np.uint8)
