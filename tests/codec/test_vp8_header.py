"""The quantiser index read from VP8 frame headers, against libvpx's own settings."""

import io

import numpy as np
import pytest

from vismic.codec._vp8_header import VP8_SETTING_INDEX, vp8_frame_quantiser
from vismic.errors import ParameterError

av = pytest.importorskip("av")


def _packets(frames, configure):
    """``frames`` (uint8 grey) through FFmpeg's libvpx as ``configure(stream)`` sets it: the packets' bytes."""
    packets = []
    with av.open(io.BytesIO(), "w", format="matroska") as container:
        stream = container.add_stream("libvpx", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        configure(stream)
        for frame in list(frames) + [None]:
            encoded = stream.encode(None if frame is None else av.VideoFrame.from_ndarray(frame, format="gray"))
            packets += [bytes(packet) for packet in encoded if packet.size]
    return packets


def _frames(n=6, seed=0):
    rng = np.random.default_rng(seed)
    texture = rng.uniform(40, 200, (32, 32))
    return np.clip(texture[None] + rng.normal(0, 2, (n, 32, 32)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("setting", [0, 3, 6, 10, 25, 40, 63])
def test_every_frame_carries_the_index_of_its_setting(setting):
    def constant(stream):
        stream.bit_rate = 50_000_000
        stream.codec_context.qmin = stream.codec_context.qmax = setting

    read = [vp8_frame_quantiser(packet) for packet in _packets(_frames(), constant)]
    assert [key for key, _ in read] == [True] + [False] * (len(read) - 1)
    assert {q for _, q in read} == {VP8_SETTING_INDEX[setting]}


def test_the_settings_table_rises_to_the_last_index():
    assert len(VP8_SETTING_INDEX) == 64 and VP8_SETTING_INDEX[0] == 0 and VP8_SETTING_INDEX[-1] == 127
    assert np.all(np.diff(VP8_SETTING_INDEX) > 0)


def test_a_packet_too_short_for_a_header_is_refused():
    with pytest.raises(ParameterError, match="at least 3 bytes"):
        vp8_frame_quantiser(b"\x10\x02")
    with pytest.raises(ParameterError, match="shorter than 2 bytes"):
        vp8_frame_quantiser(b"\x10\x00\x00")
