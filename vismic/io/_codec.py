"""What a video file's compression is, from the FourCC its decoder reports.

Inter-frame codecs predict each frame from the ones before by motion
compensation and send only what the prediction misses, coarsely: the
sub-pixel motion vismic reads is partly dropped and partly replaced by the
codec's own, alike across the frame (``benchmarks/bench_nuisance.py``,
``vp8`` and ``vp9`` rows). Intra-frame codecs (Motion JPEG) code every frame
on its own: their error differs from block to block, which the SNR estimate sees.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["inter_frame_codec", "codes_8x8_blocks"]

#: FourCCs (lower case, as FFmpeg's decoders report them through OpenCV) of motion-compensated codecs.
_INTER_FRAME = {
    **dict.fromkeys(("avc1", "avc3", "h264", "x264", "davc"), "H.264"),
    **dict.fromkeys(("hev1", "hvc1", "hevc", "h265", "x265"), "H.265/HEVC"),
    **dict.fromkeys(("vp80", "vp08"), "VP8"),
    **dict.fromkeys(("vp90", "vp09"), "VP9"),
    **dict.fromkeys(("av01",), "AV1"),
    **dict.fromkeys(("fmp4", "mp4v", "xvid", "divx", "dx50", "3iv2", "m4s2"), "MPEG-4 part 2"),
    **dict.fromkeys(("mp42", "mp43", "div3"), "MS MPEG-4"),
    **dict.fromkeys(("mpg1", "mpg2", "mp2v", "m2v1", "pim1", "mpeg"), "MPEG-1/2"),
    **dict.fromkeys(("wmv1", "wmv2", "wmv3", "wvc1"), "Windows Media Video"),
    **dict.fromkeys(("h263", "s263", "u263"), "H.263"),
    **dict.fromkeys(("theo",), "Theora"),
}


def inter_frame_codec(fourcc: Optional[str]) -> Optional[str]:
    """The name of the motion-compensated codec a FourCC stands for, or None (intra-frame, lossless, unknown).

    Examples
    --------
    >>> inter_frame_codec("avc1"), inter_frame_codec("VP90"), inter_frame_codec("MJPG"), inter_frame_codec(None)
    ('H.264', 'VP9', None, None)
    """
    if not isinstance(fourcc, str):
        return None
    return _INTER_FRAME.get(fourcc.strip().lower())


#: Codecs whose frames between key frames change by coded 8x8 DCT coefficients on the frame's own
#: grid (what :func:`vismic.codec.unhold` reads); H.264 and later code 4x4 integer transforms and
#: filter block edges, VP8/VP9 filter too.
_EIGHT_BY_EIGHT = {"MPEG-4 part 2", "MS MPEG-4", "MPEG-1/2", "H.263"}


def codes_8x8_blocks(fourcc: Optional[str]) -> bool:
    """Whether a FourCC names an inter-frame codec of 8x8 DCT blocks (MPEG-1/2/4 part 2, H.263).

    Examples
    --------
    >>> codes_8x8_blocks("FMP4"), codes_8x8_blocks("XVID"), codes_8x8_blocks("avc1"), codes_8x8_blocks(None)
    (True, True, False, False)
    """
    return inter_frame_codec(fourcc) in _EIGHT_BY_EIGHT


def fourcc_text(code: float) -> Optional[str]:
    """OpenCV's ``CAP_PROP_FOURCC`` number as its four characters (None when 0 or not printable).

    Examples
    --------
    >>> fourcc_text(float(ord("V") | ord("P") << 8 | ord("9") << 16 | ord("0") << 24)), fourcc_text(0.0)
    ('VP90', None)
    """
    try:
        value = int(code)
    except (TypeError, ValueError, OverflowError):
        return None
    text = "".join(chr((value >> (8 * k)) & 0xFF) for k in range(4))
    return text if value > 0 and text.isprintable() and text.strip() else None
