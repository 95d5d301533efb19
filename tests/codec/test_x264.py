"""x264 coded without its AVX-512 code, which coded the same frames to different bits from run to run."""

import io

import pytest

from vismic import _x264, synth
from vismic._x264 import x264_options
from vismic.codec._encoders import _to_8bit


@pytest.fixture
def cpu(monkeypatch):
    """Set the CPU flags ``x264_options`` sees: ``cpu(linux_flags, numpy_features)``."""
    def set_flags(linux=(), numpy_found=()):
        _x264._below_avx512.cache_clear()
        monkeypatch.setattr(_x264, "_cpu_flags", lambda: (set(linux), set(numpy_found)))
    yield set_flags
    _x264._below_avx512.cache_clear()


def test_an_avx512_cpu_gets_only_the_sets_it_has_below_avx512(cpu):
    cpu(linux={"sse", "sse2", "pni", "avx", "avx2", "bmi2", "avx512f", "avx512bw"})
    assert x264_options() == {"x264-params": "asm=MMX2,SSE,SSE2,SSE3,AVX,AVX2,BMI2"}


def test_without_avx512_x264_picks_its_own(cpu):
    cpu(linux={"sse", "sse2", "avx2"}, numpy_found={"SSE", "AVX2"})
    assert x264_options() == {}
    cpu()
    assert x264_options() == {}


def test_numpys_features_stand_in_where_there_is_no_proc_cpuinfo(cpu):
    cpu(numpy_found={"SSE", "SSE2", "SSE41", "AVX2", "AVX512F"})
    assert x264_options() == {"x264-params": "asm=MMX2,SSE,SSE2,SSE4.1,AVX2"}


def test_each_call_gets_its_own_dict(cpu):
    cpu(linux={"sse", "avx512f"})
    first = x264_options()
    first["crf"] = "10"
    assert x264_options() == {"x264-params": "asm=MMX2,SSE"}


def test_x264_takes_the_options_on_this_machine_and_codes_a_clip_alike_twice():
    av = pytest.importorskip("av")
    import av.logging
    sound = synth.make_displacement(synth.music(duration_seconds=0.02, sr=2200.0, seed=1), amplitude_px=0.05)
    frames = _to_8bit(synth.render_scene(synth.texture("coffee", size=(64, 96)), sound, noise_std=2.0).frames)

    def encode():
        packets = []
        with av.open(io.BytesIO(), "w", format="matroska") as container:
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
            stream.options = x264_options()
            for frame in frames:
                packets += [bytes(p) for p in stream.encode(av.VideoFrame.from_ndarray(frame, format="gray"))]
            packets += [bytes(p) for p in stream.encode()]
        return packets

    level = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture() as logs:  # x264 ignores a set it does not know, and FFmpeg only logs it
            first = encode()
    finally:
        av.logging.set_level(level)
    assert not [message for message in logs if "Error parsing option" in message[2]]
    assert len(first) == len(frames) and first == encode()


def _coded(frames, options) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = options
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


#: What the replica sets from the file's frames or leaves to the machine, not from x264's message.
NOT_COPIED = {"threads", "lookahead_threads", "keyint", "keyint_min", "crf", "intra_refresh", "interlaced",
              "bluray_compat", "constrained_intra", "cqm", "chroma_qp_offset", "rc", "analyse"}


@pytest.mark.parametrize("preset", ["ultrafast", "veryfast", "fast", "slow"])
def test_a_replica_codes_with_the_settings_x264_wrote_into_the_file(tmp_path, preset):
    # the real clips were coded at fast, veryfast and ultrafast; the replica coded them at x264's medium
    from vismic.codec import read_quantisers
    from vismic.codec._encoders import x264_params
    from vismic.codec._x264_settings import parse_x264_message

    scene = synth.render_scene(synth.texture("gravel", size=(64, 64)), 0.05 * synth.music(duration_seconds=0.02, sr=2200.0),
                               noise_std=2.0, seed=1)
    frames = _to_8bit(scene.frames)
    path = tmp_path / "clip.mkv"
    path.write_bytes(_coded(frames, {"preset": preset, "crf": "20", **x264_options()}))
    settings = read_quantisers(path).encoder_settings
    assert settings is not None and settings["crf"] == "20.0"
    replica = parse_x264_message(_coded(frames, {"crf": "20", "x264-params": x264_params(settings)}))
    differ = {name: (value, replica.get(name)) for name, value in settings.items()
              if name not in NOT_COPIED and replica.get(name) != value}
    assert not differ
    # the inter partitions are copied (the intra ones follow the preset: ultrafast codes none)
    assert settings["analyse"].split(":")[1] == replica["analyse"].split(":")[1]
