import warnings

import numpy as np
import pytest

from vismic.data import FrameBatch
from vismic.errors import FrameShapeError, ParameterError, VismicWarning
from vismic.magnify import Magnify, magnify
from vismic.pipeline import Pipeline

#: Relative error allowed between the magnified motion and alpha times the input motion.
MOTION_TOLERANCE = 0.25


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_shapes_and_dtypes(tiny_model, frames_u8, mode):
    out = magnify(frames_u8, alpha=3, mode=mode, model=tiny_model)
    assert out.shape == frames_u8.shape and out.dtype == np.uint8
    out = magnify(frames_u8.astype(np.float32), alpha=3, mode=mode, model=tiny_model)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 255
    rgb = np.stack([frames_u8, frames_u8[::-1], frames_u8], -1)
    out = magnify(rgb, alpha=3, mode=mode, model=tiny_model)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    # a grayscale model treats channels independently: equal channels stay equal
    assert np.array_equal(out[..., 0], out[..., 2])


def test_value_range(tiny_model, frames_u8):
    unit = frames_u8.astype(np.float64) / 255
    # float32: bfloat16 rounding would turn the inputs' last-bit differences into output differences
    a = magnify(unit, alpha=2, model=tiny_model, value_range=(0, 1), precision="float32")
    b = magnify(frames_u8.astype(np.float64), alpha=2, model=tiny_model, precision="float32")
    assert np.allclose(a * 255, b, atol=1e-3)


@pytest.mark.parametrize("mode,filter", [("static", "butter"), ("dynamic", "butter"), ("temporal", "butter"),
                                         ("temporal", "fir"), ("temporal", "diff_iir")])
def test_stage_streams_like_whole_video(tiny_model, mode, filter):
    frames = np.random.default_rng(1).uniform(0, 255, (7, 24, 28)).astype(np.float32)
    kwargs = dict(alpha=4, mode=mode, model=tiny_model)
    if mode == "temporal":
        kwargs.update(fl_hz=20, fh_hz=80, filter=filter)
        whole = magnify(frames, fps=400, **kwargs)
    else:
        whole = magnify(frames, **kwargs)
    stage = Magnify(**kwargs)
    stage.reset()
    parts = [stage.transform(FrameBatch(frames[i:i + 3], i, 400.0)) for i in range(0, 7, 3)]
    assert [p.start for p in parts] == [0, 3, 6]
    assert np.allclose(np.concatenate([p.frames for p in parts]), whole, atol=1e-3)
    stage.reset()
    again = stage.transform(FrameBatch(frames[:3], 0, 400.0)).frames
    assert np.allclose(again, whole[:3], atol=1e-3)


def test_stage_in_pipeline(tiny_model):
    class Mean:
        streaming = True

        def reset(self):
            pass

        def transform(self, batch):
            return FrameBatch(batch.frames.mean(axis=(1, 2))[:, None, None], batch.start, batch.fps)

    pipe = Pipeline([("magnify", Magnify(alpha=2, model=tiny_model)), ("mean", Mean())])
    frames = np.random.default_rng(2).uniform(0, 255, (6, 16, 16))
    out = pipe.run([FrameBatch(frames[:4], 0, 1000), FrameBatch(frames[4:], 4, 1000)])
    assert out.frames.shape == (6, 1, 1)
    assert "alpha=2" in repr(pipe["magnify"])
    pipe.set_params(magnify__alpha=5)
    assert pipe["magnify"].alpha == 5


def test_bad_inputs(tiny_model, frames_u8):
    for alpha in (0, -1, float("nan"), "3", None):
        with pytest.raises(ParameterError, match="alpha"):
            magnify(frames_u8, alpha=alpha, model=tiny_model)
    with pytest.warns(VismicWarning, match="alpha"):
        magnify(frames_u8[:2], alpha=150, model=tiny_model)
    with pytest.raises(FrameShapeError, match="same size"):
        magnify([frames_u8[0], frames_u8[1, :30]], alpha=2, model=tiny_model)
    with pytest.raises(FrameShapeError):
        magnify(frames_u8[0], alpha=2, model=tiny_model)
    holed = frames_u8.astype(np.float32)
    holed[1, 2, 2] = np.nan
    with pytest.raises(ParameterError, match="frame 1 contains NaN"):
        magnify(holed, alpha=2, model=tiny_model)  # the pixel came out grey
    with pytest.raises(ParameterError, match="mode"):
        magnify(frames_u8, alpha=2, mode="spatial", model=tiny_model)
    with pytest.raises(ParameterError, match="fps"):
        magnify(frames_u8, alpha=2, mode="temporal", fl_hz=1, fh_hz=2, model=tiny_model)
    with pytest.raises(ParameterError, match="fl_hz"):
        magnify(frames_u8, alpha=2, mode="temporal", fl_hz=5, fh_hz=2, fps=30, model=tiny_model)
    with pytest.raises(ParameterError, match="filter"):
        magnify(frames_u8, alpha=2, mode="temporal", fl_hz=1, fh_hz=2, fps=30, filter="kalman", model=tiny_model)
    with pytest.raises(ParameterError, match="batch_size"):
        magnify(frames_u8, alpha=2, batch_size=0, model=tiny_model)
    stage = Magnify(alpha=2, model=tiny_model)
    stage.transform(FrameBatch(frames_u8[:2], 0, 100))
    with pytest.raises(FrameShapeError, match="changed size"):
        stage.transform(FrameBatch(frames_u8[2:, :30], 2, 100))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        magnify(frames_u8[:2], alpha=100, model=tiny_model)


def test_tiles_have_no_seams(shipped_model):
    from vismic.magnify import render_pair

    frame_a, frame_b, _ = render_pair(0.3, 5, size=160, seed=3)
    frames = np.stack([frame_a, frame_b]).astype(np.float32)
    whole = magnify(frames, alpha=5, model=shipped_model)
    tiled = magnify(frames, alpha=5, model=shipped_model, tile=96)
    difference = np.abs(whole - tiled)
    assert difference.mean() < 1.0
    assert difference.max() < 12.0


def test_static_alpha_one_returns_input(shipped_model):
    from vismic.magnify import render_pair

    frame_a, frame_b, _ = render_pair(0.5, 1, size=96, seed=5)
    frames = np.stack([frame_a, frame_b, frame_a]).astype(np.float32)
    out = magnify(frames, alpha=1, model=shipped_model)
    error = np.abs(out - frames)[:, 8:-8, 8:-8]
    assert error.mean() < 5.0, error.mean()  # the shipped model: 3.98 grey levels


def _registered_shift(reference, moved, sigma=1.5, border=12, iterations=10):
    """Global displacement (rows, cols) of ``moved`` against ``reference``.

    Iterated Lucas-Kanade on lightly blurred frames, warping with float64
    cubic splines. Phase correlation was tried first: it is exact on the
    rendered truth but bimodal on blurred network outputs (it whitens the
    spectrum, so the finest texture decides), which this measure is not.
    """
    from scipy import ndimage

    a = ndimage.gaussian_filter(np.asarray(reference, float), sigma)
    b = ndimage.gaussian_filter(np.asarray(moved, float), sigma)
    coefficients = ndimage.spline_filter(a, order=3)
    rows, cols = np.mgrid[0:a.shape[0], 0:a.shape[1]].astype(float)
    crop = (slice(border, -border), slice(border, -border))
    shift = np.zeros(2)
    for _ in range(iterations):
        warped = ndimage.map_coordinates(coefficients, [rows - shift[0], cols - shift[1]], order=3,
                                         prefilter=False, mode="mirror")
        grad_rows, grad_cols = np.gradient(warped)
        design = np.stack([grad_rows[crop].ravel(), grad_cols[crop].ravel()], 1)
        step = np.linalg.lstsq(design, (warped - b)[crop].ravel(), rcond=None)[0]
        shift += step
        if np.abs(step).max() < 1e-4:
            break
    return shift


def test_motion_measure_is_right():
    from vismic.magnify import render_pair

    frame_a, frame_b, truth = render_pair(np.array([0.1, 0.3]), 5, size=128, seed=0, n_objects=0)
    assert np.allclose(_registered_shift(frame_a, frame_b), [0.1, 0.3], atol=0.02)
    assert np.allclose(_registered_shift(frame_a, truth), [0.5, 1.5], atol=0.02)


@pytest.mark.parametrize("delta,alpha", [(0.5, 4), (0.2, 10)])
def test_magnified_motion_is_alpha_times_input(shipped_model, delta, alpha):
    from vismic.magnify import render_pair

    measured = []
    for seed in range(4):
        frame_a, frame_b, truth = render_pair(delta, alpha, size=128, seed=seed, n_objects=0)
        out = magnify(np.stack([frame_a, frame_b]), alpha=alpha, model=shipped_model)
        measured.append(_registered_shift(out[0], out[1]))
    measured = np.mean(measured, axis=0)
    assert abs(measured[1] - alpha * delta) < MOTION_TOLERANCE * alpha * delta, measured
    assert abs(measured[0]) < 0.15 * alpha * delta, measured


def test_device(torch, tiny_model, frames_u8):
    if torch.cuda.is_available():
        gpu = magnify(frames_u8, alpha=3, model=tiny_model, device="cuda")
        cpu = magnify(frames_u8, alpha=3, model=tiny_model, device="cpu")
        assert np.abs(gpu.astype(int) - cpu.astype(int)).max() <= 1
    else:
        with pytest.raises(ParameterError, match="CUDA"):
            magnify(frames_u8, alpha=3, model=tiny_model, device="cuda")
    with pytest.raises(ParameterError, match="device"):
        magnify(frames_u8, alpha=3, model=tiny_model, device="abacus")


# -- fast inference (issue 11) ----------------------------------------------------
def _bf16(torch):
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


@pytest.mark.parametrize("padding_mode", ["reflect", "zeros", "replicate"])
@pytest.mark.parametrize("in_channels,bias", [(1, False), (3, True)])
def test_inference_net_equals_model(torch, padding_mode, in_channels, bias):
    from vismic.magnify import InferenceNet, MagNet, MagNetConfig

    torch.manual_seed(1)
    config = MagNetConfig.light(in_channels=in_channels, bias=bias, padding_mode=padding_mode, n_decoder_blocks=2)
    model = MagNet(config).eval()
    frames = torch.rand(3, in_channels, 24, 36) * 2 - 1
    with torch.no_grad():
        texture, shape = model.encoder(frames)
        difference = shape - shape[:1]
        expected = model.decoder(texture, shape + model.manipulator.change(difference, 7.0))
    for channels_last in (False, True):
        net = InferenceNet(model, channels_last=channels_last)
        with torch.inference_mode():
            texture, shape = net.encode(frames)
            difference = shape - shape[:1]
            out = net.decode(texture, shape + net.change(difference, 7.0))
        assert out.dtype == torch.float32 and out.shape == expected.shape
        assert torch.allclose(out, expected, atol=1e-4), (out - expected).abs().max()


def test_folded_kernels_equal_their_convolutions(torch):
    from torch.nn import functional

    from vismic.magnify._model import space_to_depth_weight, upsample_conv_weight

    torch.manual_seed(2)
    x = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    weight = torch.randn(4, 5, 3, 3, dtype=torch.float64)
    expected = functional.conv2d(functional.pad(functional.interpolate(x, scale_factor=2), (1,) * 4, mode="reflect"),
                                 weight)
    folded = functional.conv_transpose2d(functional.pad(x, (1,) * 4, mode="replicate"), upsample_conv_weight(weight),
                                         stride=2, padding=3)
    assert torch.allclose(folded, expected, atol=1e-12)
    z = torch.randn(2, 3, 22, 26, dtype=torch.float64)  # padded by 3 from 16 x 20
    weight = torch.randn(2, 3, 7, 7, dtype=torch.float64)
    expected = functional.conv2d(z, weight)
    blocks = functional.pixel_unshuffle(functional.pad(z, (0, 2, 0, 2)), 4)
    out = functional.pixel_shuffle(functional.conv2d(blocks, space_to_depth_weight(weight, 4)), 4)
    assert torch.allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize("precision", ["float32", "mixed"])
def test_batch_size_does_not_change_output(torch, tiny_model, precision):
    if precision != "float32" and not _bf16(torch):
        pytest.skip("no bfloat16 on this CPU")
    frames = np.random.default_rng(3).uniform(0, 255, (7, 32, 40)).astype(np.float32)
    rgb = np.stack([frames, frames[::-1], 255 - frames], -1)
    for video in (frames, rgb):
        for mode in ("static", "dynamic"):
            outputs = [magnify(video, alpha=5, mode=mode, model=tiny_model, precision=precision, batch_size=b)
                       for b in (None, 1, 3, 7)]
            for out in outputs[1:]:
                assert np.allclose(out, outputs[0], atol=1e-3), np.abs(out - outputs[0]).max()


def test_precisions_agree(torch, shipped_model):
    from vismic.magnify import render_pair

    if not _bf16(torch):
        pytest.skip("no bfloat16 on this CPU")
    frame_a, frame_b, _ = render_pair(0.05, 20, size=96, seed=4)
    frames = np.stack([frame_a, frame_b])
    exact = magnify(frames, alpha=20, model=shipped_model, precision="float32")
    # measured: mixed 0.07, bfloat16 0.2-0.5 grey levels on average
    for precision, margin in (("mixed", 0.2), ("bfloat16", 1.0), ("auto", 0.2)):
        out = magnify(frames, alpha=20, model=shipped_model, precision=precision)
        assert np.abs(out - exact).mean() < margin, (precision, np.abs(out - exact).mean())


def test_precision_and_color_checks(torch, tiny_model, frames_u8):
    with pytest.raises(ParameterError, match="precision"):
        magnify(frames_u8, alpha=2, model=tiny_model, precision="half")
    with pytest.raises(ParameterError, match="color"):
        magnify(frames_u8, alpha=2, model=tiny_model, color="lab")
    if not _bf16(torch):
        with pytest.raises(ParameterError, match="bfloat16"):
            magnify(frames_u8, alpha=2, model=tiny_model, precision="mixed")
    from vismic.magnify import InferenceNet

    with pytest.raises(ParameterError, match="precision"):
        InferenceNet(tiny_model, precision="float16")
    with pytest.raises(ParameterError, match="float32"):
        InferenceNet(tiny_model, precision="mixed", fused=False)
    stage = Magnify(alpha=2, model=tiny_model, precision="float32", color="luma")
    assert "color='luma'" in repr(stage) and "precision='float32'" in repr(stage)


def test_color_modes(tiny_model):
    rng = np.random.default_rng(5)
    rgb = rng.uniform(0, 255, (3, 24, 32, 3)).astype(np.float32)
    kwargs = dict(alpha=4, model=tiny_model, precision="float32")
    per_channel = np.stack([magnify(rgb[..., c], **kwargs) for c in range(3)], -1)
    assert np.allclose(magnify(rgb, color="channels", **kwargs), per_channel, atol=1e-3)
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    change = magnify(luma, **kwargs) - luma
    out = magnify(rgb, color="luma", **kwargs)
    assert np.allclose(out, np.clip(rgb + change[..., None], 0, 255), atol=1e-2)
    grey = np.repeat(luma[..., None], 3, -1)  # equal channels: both modes give the grey result
    assert np.allclose(magnify(grey, color="luma", **kwargs), magnify(grey, color="channels", **kwargs), atol=1e-2)


def test_self_ensemble_is_the_mean_of_turned_runs(tiny_model):
    rng = np.random.default_rng(6)
    frames = rng.uniform(0, 255, (3, 20, 28)).astype(np.float32)  # not square: transposes change the shape
    kwargs = dict(alpha=4, model=tiny_model, precision="float32", mode="dynamic")
    assert np.array_equal(magnify(frames, ensemble=1, **kwargs), magnify(frames, **kwargs))
    plain = magnify(frames, **kwargs).astype(np.float64)
    mirrored = magnify(frames[:, :, ::-1].copy(), **kwargs)[:, :, ::-1]
    assert np.allclose(magnify(frames, ensemble=2, **kwargs), (plain + mirrored) / 2, atol=1e-3)
    eight = magnify(frames, ensemble=8, **kwargs)
    assert eight.shape == frames.shape and eight.dtype == np.float32
    four = magnify(frames, ensemble=4, **kwargs).astype(np.float64)
    # the last four members are the four mirrors of the transposed frames
    four_transposed = magnify(frames.swapaxes(1, 2).copy(), ensemble=4, **kwargs).swapaxes(1, 2)
    assert np.allclose(eight, (four + four_transposed) / 2, atol=1e-3)
    assert not np.allclose(four, four_transposed, atol=0.1)
    rgb = np.stack([frames, frames, frames], -1)
    out = magnify(rgb, ensemble=8, **kwargs)
    assert out.shape == rgb.shape and np.allclose(out[..., 0], eight, atol=1e-3)


def test_self_ensemble_streams_like_the_whole_video(tiny_model):
    frames = np.random.default_rng(7).uniform(0, 255, (7, 24, 20)).astype(np.float32)
    kwargs = dict(alpha=4, mode="temporal", fl_hz=20, fh_hz=80, model=tiny_model, ensemble=4)
    whole = magnify(frames, fps=400, **kwargs)
    stage = Magnify(**kwargs)
    parts = [stage.transform(FrameBatch(frames[i:i + 3], i, 400.0)).frames for i in range(0, 7, 3)]
    assert np.allclose(np.concatenate(parts), whole, atol=1e-3)


@pytest.mark.parametrize("ensemble", [0, 3, 16, True, "4", None])
def test_ensemble_sizes_are_checked(tiny_model, frames_u8, ensemble):
    with pytest.raises(ParameterError, match="ensemble"):
        magnify(frames_u8, alpha=2, model=tiny_model, ensemble=ensemble)
    with pytest.raises(ParameterError, match="ensemble"):
        Magnify(alpha=2, model=tiny_model, ensemble=ensemble).transform(FrameBatch(frames_u8, 0, 100.0))


def test_sixteen_bit_frames_read_as_floats_keep_their_range(tiny_model, frames_u8):
    # a 16-bit camera file reads as float32 in its own units (0-65535): taken for 0-255, every pixel sat at white
    wide = frames_u8.astype(np.float32) * 257.0
    out = magnify(wide, alpha=2, model=tiny_model, precision="float32")
    narrow = magnify(frames_u8.astype(np.float32), alpha=2, model=tiny_model, precision="float32")
    assert np.allclose(out / 257.0, narrow, atol=1e-2)
    stage = Magnify(alpha=2, model=tiny_model, precision="float32")
    streamed = stage.transform(FrameBatch(wide, 0, 2200.0)).frames
    assert np.allclose(streamed / 257.0, narrow, atol=1e-2) and np.mean(streamed >= 65535) < 0.01
    # past 8 bits by a little (light scaled, a render past white) is still 8 bits
    brighter = frames_u8.astype(np.float32) * 1.6
    assert np.allclose(magnify(brighter, alpha=2, model=tiny_model, precision="float32"),
                       magnify(brighter, alpha=2, model=tiny_model, precision="float32", value_range=(0, 255)))


def test_frames_too_small_for_the_network_are_named(tiny_model):
    frames = np.random.default_rng(0).uniform(0, 255, (3, 4, 4))  # the network's padding failed in torch
    with pytest.raises(FrameShapeError, match="too small for the network at upscale=1"):
        magnify(frames, alpha=10, model=tiny_model)
    assert magnify(frames, alpha=10, model=tiny_model, upscale=2).shape == (3, 4, 4)
    assert magnify(np.random.default_rng(0).uniform(0, 255, (3, 5, 5)), alpha=10, model=tiny_model).shape == (3, 5, 5)
