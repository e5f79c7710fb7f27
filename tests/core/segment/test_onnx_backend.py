"""ONNX Runtime backend of the Segmenter: same labels as PyTorch, cache, int8, fallbacks."""

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

from core.errors import ModelError  # noqa: E402
from core.segment import onnx_backend  # noqa: E402
from core.segment.infer import Segmenter  # noqa: E402
from core.segment.onnx_backend import OrtNetwork  # noqa: E402
from core.segment.unet import UNet, fuse_batchnorm  # noqa: E402

CFG = {"organs": ["bladder", "uterus_vagina", "rectum"], "spacing_mm": 1.25}


def _net(norm="batch", seed=0):
    torch.manual_seed(seed)
    net = UNet(base_channels=4, depth=2, norm=norm)
    if norm == "batch":  # non-trivial running statistics, so folding them matters
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
    return net.eval()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PELVITRACK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_logits_match_torch_on_any_batch_and_matrix(cache, norm):
    net = fuse_batchnorm(_net(norm))
    ort_net = OrtNetwork(net)
    for shape in [(1, 1, 32, 32), (3, 1, 48, 64)]:
        x = torch.randn(*shape)
        with torch.inference_mode():
            ref = net(x)
        out = ort_net(x)
        assert out.shape == ref.shape and out.dtype == torch.float32
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_segmenter_onnx_labels_equal_torch(cache, make_case):
    series, _ = make_case(1, t=4, shape=(56, 40), spacing=(1.1, 1.4))
    net = _net()
    a = Segmenter(net, device="cpu", config=CFG, backend="torch").predict(series)
    seg = Segmenter(net, device="cpu", config=CFG, backend="onnx")
    assert seg.backend == "onnx"
    b = seg.predict(series)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-4)


def test_auto_picks_int8_on_cpu_and_torch_without_onnxruntime(cache, monkeypatch):
    net = _net()
    assert Segmenter(net, device="cpu", config=CFG).backend == "onnx-int8"
    monkeypatch.setattr(onnx_backend, "available", lambda: False)
    assert Segmenter(net, device="cpu", config=CFG).backend == "torch"
    with pytest.raises(ValueError, match="onnxruntime"):
        Segmenter(net, device="cpu", config=CFG, backend="onnx")


def test_bad_backend_names(cache):
    with pytest.raises(ValueError, match="backend must be one of"):
        Segmenter(_net(), device="cpu", config=CFG, backend="tensorrt")


def test_export_leaves_the_callers_network_as_it_was(cache):
    net = fuse_batchnorm(_net()).to(memory_format=torch.channels_last)
    OrtNetwork(net)
    w = net.encoders[1].block[0].weight  # 3×3, several input channels: formats differ
    assert w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()


def test_cache_is_written_reused_and_keyed_by_weights(cache):
    net = fuse_batchnorm(_net())
    first = OrtNetwork(net)
    assert not first.from_cache
    files = list(cache.glob("unet-*.onnx"))
    assert [f.name for f in files] == [f"unet-{first.key}.onnx"]
    second = OrtNetwork(net)
    assert second.from_cache and second.key == first.key
    other = OrtNetwork(fuse_batchnorm(_net(seed=1)))  # other weights: another graph
    assert not other.from_cache and other.key != first.key
    assert len(list(cache.glob("unet-*.onnx"))) == 2
    assert [f.name for f in cache.iterdir() if not f.name.startswith("unet-")] == []  # atomic


def test_damaged_cache_file_is_replaced(cache):
    net = fuse_batchnorm(_net())
    key = OrtNetwork(net).key
    path = cache / f"unet-{key}.onnx"
    path.write_bytes(b"not an onnx graph")
    again = OrtNetwork(net)
    assert not again.from_cache
    x = torch.randn(1, 1, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(again(x), net(x), atol=1e-4, rtol=1e-4)
    assert path.read_bytes() != b"not an onnx graph"


def test_unwritable_cache_only_costs_the_export(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("PELVITRACK_CACHE", str(blocker))
    ort_net = OrtNetwork(fuse_batchnorm(_net()))
    assert ort_net(torch.randn(1, 1, 32, 32)).shape == (1, 4, 32, 32)


def test_int8_is_close_to_fp32_and_calibrates_once(cache, make_case):
    net = fuse_batchnorm(_net())
    calls = []

    def calibration():
        calls.append(1)
        rng = np.random.default_rng(0)
        return [rng.uniform(0, 1, (1, 1, 48, 48)).astype(np.float32) for _ in range(4)]

    q = OrtNetwork(net, "int8", calibration=calibration)
    assert calls == [1] and q.precision == "int8"
    x = torch.from_numpy(np.random.default_rng(1).uniform(0, 1, (2, 1, 48, 48)).astype(np.float32))
    with torch.inference_mode():
        ref = net(x)
    out = q(x)
    assert out.shape == ref.shape
    # 8-bit: not equal, but close to the float network on inputs like the calibration
    rel = float((out - ref).abs().mean() / ref.abs().mean())
    assert 0 < rel < 0.1
    assert (out.argmax(1) == ref.argmax(1)).float().mean() > 0.9
    again = OrtNetwork(net, "int8", calibration=calibration)
    assert again.from_cache and calls == [1]  # cached: no second calibration
    assert again.key != OrtNetwork(net).key  # fp32 and int8 graphs are kept apart


def test_int8_needs_calibration_and_known_precision():
    net = _net()
    with pytest.raises(ValueError, match="calibration"):
        OrtNetwork(net, "int8")
    with pytest.raises(ValueError, match="precision"):
        OrtNetwork(net, "fp16")


def test_segmenter_int8_calibrates_on_phantom_frames(cache, monkeypatch, make_case):
    seg = Segmenter(_net(), device="cpu", config=CFG, backend="torch")
    frames = seg.calibration_inputs()
    assert len(frames) == 4 * 8  # 4 phantom cases of 8 frames
    assert seg.calibration_inputs()[0] is frames[0]  # computed once per process
    for f in frames:
        assert f.shape[:2] == (1, 1) and f.shape[2] % 4 == 0 and f.shape[3] % 4 == 0
        assert f.dtype == np.float32 and -1.0 <= f.min() and f.max() <= 2.0

    q = Segmenter(_net(), device="cpu", config=CFG, backend="onnx-int8")
    assert q.backend == "onnx-int8"
    series, _ = make_case(2, t=2)
    assert q.predict(series).labels.shape == series.frames.shape


def test_int8_cache_key_names_the_calibration_frames(cache):
    net = fuse_batchnorm(_net())
    key = onnx_backend.graph_key
    assert key(net, "int8", "phantom-r1") != key(net, "int8", "phantom-r2")
    assert key(net, "int8", "phantom-r2") == key(net, "int8", "phantom-r2")
    assert key(net, "fp32", "phantom-r1") == key(net, "fp32", "phantom-r2")  # not calibrated
    assert key(net, "int8", "phantom-r2", "percentile") != key(net, "int8", "phantom-r2")


@pytest.mark.parametrize("method", ["percentile", "entropy"])
def test_other_calibration_methods_take_frames_of_any_size(cache, method):
    net = fuse_batchnorm(_net())
    rng = np.random.default_rng(0)
    frames = [rng.uniform(0, 1, (1, 1, 48, w)).astype(np.float32) for w in (48, 64, 56)]
    q = OrtNetwork(net, "int8", calibration=lambda: frames, method=method)
    assert q.key != OrtNetwork(net, "int8", calibration=lambda: frames).key  # not minmax's
    x = torch.from_numpy(rng.uniform(0, 1, (1, 1, 48, 64)).astype(np.float32))
    with torch.inference_mode():
        ref = net(x)
    assert (q(x).argmax(1) == ref.argmax(1)).float().mean() > 0.9


def test_unknown_calibration_method(cache):
    with pytest.raises(ValueError, match="method must be one of"):
        onnx_backend.quantize_int8(onnx_backend.export_onnx(_net()),
                                   [np.zeros((1, 1, 32, 32), np.float32)], "median")


def test_new_phantom_revision_recalibrates_instead_of_reusing_the_cache(cache, monkeypatch):
    """The int8 graph is calibrated on phantom frames: a new phantom revision changes
    them, so a graph cached under the old revision must not be reused."""
    import core.phantom.case

    calls = []

    def calibration(self):
        calls.append(1)
        rng = np.random.default_rng(0)
        return [rng.uniform(0, 1, (1, 1, 48, 48)).astype(np.float32) for _ in range(4)]

    monkeypatch.setattr(Segmenter, "calibration_inputs", calibration)
    first = Segmenter(_net(), device="cpu", config=CFG, backend="onnx-int8")
    assert f"phantom-r{core.phantom.case.PHANTOM_REVISION}|" in first.calibration_id()
    again = Segmenter(_net(), device="cpu", config=CFG, backend="onnx-int8")
    assert calls == [1] and again._ort.from_cache  # same frames: the cached graph
    monkeypatch.setattr(core.phantom.case, "PHANTOM_REVISION", 999)
    new = Segmenter(_net(), device="cpu", config=CFG, backend="onnx-int8")
    assert calls == [1, 1] and not new._ort.from_cache  # calibrated again
    assert new._ort.key != first._ort.key


def test_auto_falls_back_to_float_then_torch(cache, monkeypatch):
    def broken(*args):
        raise RuntimeError("quantizer broke")

    monkeypatch.setattr(onnx_backend, "quantize_int8", broken)
    with pytest.warns(RuntimeWarning, match="quantizer broke"):
        seg = Segmenter(_net(), device="cpu", config=CFG)
    assert seg.backend == "onnx"

    def broken_export(net):
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(onnx_backend, "export_onnx", broken_export)
    with pytest.warns(RuntimeWarning, match="exporter broke"):
        seg = Segmenter(_net(seed=3), device="cpu", config=CFG)
    assert seg.backend == "torch"
    with pytest.raises(ModelError, match="exporter broke"):  # asked for: no fallback
        Segmenter(_net(seed=3), device="cpu", config=CFG, backend="onnx")
