import numpy as np
import pytest
import torch

from core.device import pick_device
from core.errors import ModelError
from core.segment.infer import (
    DEFAULT_TEMPORAL_WEIGHT,
    ZOOM_PAIR,
    Segmenter,
    organ_box,
    postprocess,
)
from core.segment.model_io import save_model
from core.segment.unet import UNet
from core.series import CineSeries

CFG = {"organs": ["bladder", "uterus_vagina", "rectum"], "spacing_mm": 1.25}


def _segmenter(tmp_path=None):
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2, norm="instance")
    if tmp_path is None:
        return Segmenter(net, device="cpu", config=CFG)
    save_model(net, dict(CFG), tmp_path / "tiny")
    return Segmenter(tmp_path / "tiny", device="cpu")


@pytest.mark.parametrize("spacing", [(1.25, 1.25), (0.9, 1.4), (2.0, 2.0)])
def test_labels_on_original_matrix(tiny_case, spacing):
    series, _ = tiny_case
    series = CineSeries(series.frames[:, :45, :37], spacing, series.times_s)
    seg = _segmenter()
    seg.temporal_weight = 0.0  # frames alone: each batch is done when it has run
    records = list(seg.segment(series, batch_size=2))
    assert records[-1].stage == "done"
    assert [r.done for r in records if r.stage == "segment"] == [0, 2, 3]
    seg.temporal_weight = 0.15  # the default: a frame is done once its successor is known
    assert [r.done for r in seg.segment(series, batch_size=2) if r.stage == "segment"] == [
        0, 1, 3]
    res = records[-1].data["result"]
    assert res.labels.shape == (3, 45, 37) and res.labels.dtype == np.uint8
    assert res.confidence.shape == (3, 3) and res.confidence.dtype == np.float32
    assert np.all((res.confidence >= 0) & (res.confidence <= 1))
    assert res.organs == tuple(CFG["organs"])
    assert res.labels.max() <= 3


def test_deterministic_and_batch_independent(tmp_path, tiny_case):
    series, _ = tiny_case
    seg = _segmenter(tmp_path)
    a = seg.predict(series, batch_size=1)
    b = seg.predict(series, batch_size=3)
    assert np.array_equal(a.labels, b.labels)
    assert np.allclose(a.confidence, b.confidence, atol=1e-5)
    assert a.model_id == seg.model_id and len(a.model_id) == 12


def test_multi_scale_averages_the_passes(make_case):
    """Test-time zoom: averaging identical passes changes nothing; other zooms give a
    deterministic, batch-independent result on the original matrix."""
    series, _ = make_case(3, t=3, shape=(52, 44), spacing=(1.1, 1.3))
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2, norm="instance")
    one = Segmenter(net, device="cpu", config=CFG, backend="torch", scales=(1.0,))
    twice = Segmenter(net, device="cpu", config=CFG, backend="torch", scales=(1.0, 1.0),
                      zoom_roi_mm=0)
    a, b = one.predict(series), twice.predict(series)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-6)
    zoom = Segmenter(net, device="cpu", config=CFG, backend="torch", scales=(0.9, 1.1))
    z1, z3 = zoom.predict(series, batch_size=1), zoom.predict(series, batch_size=3)
    assert z1.labels.shape == series.frames.shape
    np.testing.assert_array_equal(z1.labels, z3.labels)
    # the average of two passes is neither pass: confidence differs from the single pass
    assert not np.allclose(z1.confidence, a.confidence, atol=1e-4)
    for bad in [(), (0.1,), (1.0, 3.0)]:
        with pytest.raises(ValueError, match="scales"):
            Segmenter(net, device="cpu", config=CFG, backend="torch", scales=bad)
    # the default is two passes, the second on the organs' box (rule 136)
    default = Segmenter(net, device="cpu", config=CFG, backend="torch")
    assert default.scales == ZOOM_PAIR == (0.93, 1.07) and default.zoom_roi_mm == 40.0
    pair = Segmenter(net, device="cpu", config=CFG, backend="torch", scales=ZOOM_PAIR,
                     zoom_roi_mm=40.0).predict(series)
    d = default.predict(series)
    np.testing.assert_array_equal(d.labels, pair.labels)
    np.testing.assert_allclose(d.confidence, pair.confidence, atol=1e-6)
    assert not np.allclose(d.confidence, a.confidence, atol=1e-4)


def test_organ_box_takes_every_frame_widens_by_mm_and_clips():
    probs = torch.zeros(2, 4, 40, 30)
    probs[:, 0] = 1.0  # background everywhere
    assert organ_box(probs, (1.0, 1.0), 5.0) is None
    probs[0, 0, 10:12, 8:10], probs[0, 2, 10:12, 8:10] = 0.3, 0.7  # frame 0
    probs[1, 0, 20, 15], probs[1, 3, 20, 15] = 0.85, 0.15  # frame 1: organs at 15 %
    assert organ_box(probs, (1.0, 1.0), 0.0) == (slice(10, 21), slice(8, 16))
    # 5 mm is 5 rows at 1 mm and 3 columns at 2 mm (rounded up)
    assert organ_box(probs, (1.0, 2.0), 5.0) == (slice(5, 26), slice(5, 19))
    assert organ_box(probs, (1.0, 1.0), 100.0) == (slice(0, 40), slice(0, 30))
    # a pixel below the organ probability threshold does not count
    assert organ_box(probs, (1.0, 1.0), 0.0, min_organ_probability=0.2) == (
        slice(10, 12), slice(8, 10))


class _PointwiseNet:
    """Stands in for the network: organ 1's logit is 8 × (intensity - 0.5) at each pixel
    (no context), the background's the opposite, the others -10; records the shape of
    every input."""

    def __init__(self):
        self.shapes = []

    def __call__(self, x):
        self.shapes.append(tuple(x.shape))
        out = torch.full((len(x), 4, *x.shape[2:]), -10.0)
        out[:, 1] = 8.0 * (x[:, 0] - 0.5)
        out[:, 0] = -out[:, 1]
        return out


def _bright_square(t=3, shape=(64, 56), spacing=(1.25, 1.25)):
    frames = np.zeros((t, *shape), np.float32)
    for i in range(t):
        frames[i, 20 + i:36 + i, 18:30] = 1.0
    return CineSeries(frames, spacing, np.arange(t, dtype=float))


def _pointwise(scales, margin):
    seg = Segmenter(UNet(base_channels=4, depth=2), device="cpu", config=CFG,
                    backend="torch", scales=scales, zoom_roi_mm=margin, temporal_weight=0)
    seg._forward = _PointwiseNet()
    return seg


def test_later_zoom_passes_run_only_around_the_first_pass_organs():
    series = _bright_square()
    norm = series.frames  # already in [0, 1], as the Segmenter normalises frames
    whole, roi = _pointwise((1.0, 1.0), 0.0), _pointwise((1.0, 1.0), 5.0)
    p_whole = whole._zoom_passes(norm, series.spacing_mm)
    p_roi = roi._zoom_passes(norm, series.spacing_mm)
    # the second pass saw, frame by frame, only the frame's square (rows 20+i to 35+i,
    # cols 18-29) + 4 pixels, cut at the network's multiple (4): rows 16-39 / 16-43 /
    # 16-43, cols 12-35; with no context the result is the same
    assert whole._forward.shapes == [(3, 1, 64, 56)] * 2
    assert roi._forward.shapes == [(3, 1, 64, 56), (1, 1, 24, 24), (1, 1, 28, 24),
                                   (1, 1, 28, 24)]
    torch.testing.assert_close(p_roi, p_whole)
    # with two different zooms: outside the box the first pass stands for the second
    a, b = _pointwise((0.93, 1.07), 0.0), _pointwise((0.93, 1.07), 5.0)
    pa, pb = a._zoom_passes(norm, series.spacing_mm), b._zoom_passes(norm, series.spacing_mm)
    first = _pointwise((0.93,), 0.0)._zoom_passes(norm, series.spacing_mm)
    torch.testing.assert_close(pb[..., :10, :], first[..., :10, :])
    torch.testing.assert_close(pb.sum(1), torch.ones(3, 64, 56))
    inner = (slice(None), slice(None), slice(22, 36), slice(20, 28))
    torch.testing.assert_close(pb[inner], pa[inner], atol=0.02, rtol=0)
    # the labels are a whole Segmenter's: the same frames, batch by batch
    lab = b.predict(series, batch_size=1).labels
    np.testing.assert_array_equal(lab, b.predict(series, batch_size=3).labels)
    assert (lab[0, 24:32, 20:28] == 1).all() and (lab[:, :10] == 0).all()


def test_zoom_roi_with_no_organ_runs_the_whole_frame_and_checks_its_margin():
    empty = CineSeries(np.zeros((2, 32, 32), np.float32), (1.0, 1.0), np.arange(2.0))
    seg = _pointwise((1.0, 1.1), 10.0)
    assert (seg.predict(empty).labels == 0).all()
    # both passes on the whole frame, the second frame by frame: 32 px of 1 mm are 26
    # and 28 px of 1.25 mm (zoom 1 and 1.1), padded to 28
    assert seg._forward.shapes == [(2, 1, 28, 28), (1, 1, 28, 28), (1, 1, 28, 28)]
    net = UNet(base_channels=4, depth=2)
    assert Segmenter(net, device="cpu", config=CFG).zoom_roi_mm == 40.0  # default
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="zoom ROI margin"):
            Segmenter(net, device="cpu", config=CFG, zoom_roi_mm=bad)


class _ScriptedNet:
    """Stands in for the network: frame i's logits are the constant vector LOGITS[i]."""

    def __init__(self, logits):
        self.logits, self.calls = [torch.tensor(v, dtype=torch.float32) for v in logits], 0

    def __call__(self, x):
        out = []
        for _ in range(len(x)):
            out.append(self.logits[self.calls % len(self.logits)][:, None, None]
                       .expand(4, *x.shape[2:]))
            self.calls += 1
        return torch.stack(out)


# frames 0 and 2 clearly bladder; frame 1 a near-tie that uterus_vagina wins by a little
NEAR_TIE = [[0, 3, 0, 0], [0, 1.0, 1.2, 0], [0, 3, 0, 0]]


def _scripted(weight, logits=NEAR_TIE, t=3):
    torch.manual_seed(0)
    seg = Segmenter(UNet(base_channels=4, depth=2), device="cpu", config=CFG, backend="torch",
                    temporal_weight=weight, scales=(1.0,))  # one network call per frame
    seg._forward = _ScriptedNet(logits)
    series = CineSeries(np.random.default_rng(0).random((t, 16, 16)), (1.25, 1.25),
                        np.arange(t, dtype=float))
    return seg, series


def test_temporal_smoothing_breaks_a_near_tie_that_its_neighbours_do_not_share():
    seg, series = _scripted(0.0)
    assert [int(np.bincount(f.ravel()).argmax()) for f in seg.predict(series).labels] == [1, 2, 1]
    for bs in (1, 2, 3):  # the same whatever frames go through the network together
        seg, series = _scripted(0.15)
        labels = seg.predict(series, batch_size=bs).labels
        assert [int(np.bincount(f.ravel()).argmax()) for f in labels] == [1, 1, 1]


def test_temporal_smoothing_keeps_a_clear_change_and_uses_one_neighbour_at_the_ends():
    # frame 1 clearly rectum: its neighbours (weight 0.15 each) do not overrule it
    seg, series = _scripted(0.15, [[0, 3, 0, 0], [0, 0, 0, 4], [0, 3, 0, 0]])
    assert [int(f.max()) for f in seg.predict(series).labels] == [1, 3, 1]
    # the last frame mixes in its only neighbour: 0.85 p_1 + 0.15 p_0 breaks its tie
    seg, series = _scripted(0.15, NEAR_TIE[:2], t=2)
    assert [int(f.max()) for f in seg.predict(series).labels] == [1, 1]


def test_temporal_weight_default_and_range():
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2)
    # rule 132 (docs/segmentation.md) made the smoothing the default
    assert DEFAULT_TEMPORAL_WEIGHT == 0.15
    assert Segmenter(net, device="cpu", config=CFG).temporal_weight == DEFAULT_TEMPORAL_WEIGHT
    assert Segmenter(net, device="cpu", config=CFG, temporal_weight=0).temporal_weight == 0
    for bad in (-0.1, 0.5, 1.0):
        with pytest.raises(ValueError, match="temporal weight"):
            Segmenter(net, device="cpu", config=CFG, temporal_weight=bad)


def test_confidence_is_zero_for_absent_organ():
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2)
    with torch.no_grad():  # a network that always says "bladder"
        for p in net.parameters():
            p.zero_()
        net.head.bias.copy_(torch.tensor([0.0, 5.0, 0.0, 0.0]))
    seg = Segmenter(net, device="cpu", config=CFG)
    series = CineSeries(np.random.default_rng(0).random((2, 20, 20)), (1.0, 1.0), [0, 1])
    res = seg.predict(series)
    assert np.all(res.labels == 1)
    expected = np.exp(5) / (np.exp(5) + 3)
    assert np.allclose(res.confidence[:, 0], expected, atol=1e-4)
    assert np.all(res.confidence[:, 1:] == 0)


def test_postprocess_keeps_largest_component_and_fills_holes():
    lab = np.zeros((20, 20), np.uint8)
    lab[2:10, 2:10] = 1
    lab[5, 5] = 0  # hole
    lab[15:17, 15:17] = 1  # small island
    lab[12:14, 2:4] = 2
    out = postprocess(lab, 3)
    assert out[5, 5] == 1 and np.all(out[15:17, 15:17] == 0)
    assert np.all(out[12:14, 2:4] == 2) and (out == 1).sum() == 64


def _lone_and_touching(gap_px: int = 1) -> np.ndarray:
    """Organ 1 in two pieces: a lone 8x8 block and a 6x6 block ``gap_px`` pixels from
    organ 2 (a 6x6 block)."""
    lab = np.zeros((40, 40), np.uint8)
    lab[2:10, 2:10] = 1  # lone, 64 px
    lab[20:26, 20:26] = 1  # 36 px
    lab[20:26, 26 + gap_px:32 + gap_px] = 2
    return lab


def test_postprocess_prefers_the_piece_that_touches_another_organ():
    lab = _lone_and_touching(gap_px=1)
    assert (postprocess(lab, 3)[2:10, 2:10] == 1).all()  # largest piece by default
    out = postprocess(lab, 3, (1.0, 1.0), touch_mm=3.0)
    assert (out[20:26, 20:26] == 1).all() and not (out[2:10, 2:10] == 1).any()
    assert (out == 2).sum() == 36  # the other organ is untouched


def test_touching_counts_in_mm_and_small_crumbs_do_not_win():
    lab = _lone_and_touching(gap_px=2)  # 2 px gap = 2 mm at 1 mm, 5 mm at 2.5 mm
    assert (postprocess(lab, 3, (1.0, 1.0), 3.0)[20:26, 20:26] == 1).all()
    assert (postprocess(lab, 3, (2.5, 2.5), 3.0)[2:10, 2:10] == 1).all()
    crumb = _lone_and_touching(gap_px=1)
    crumb[20:26, 20:26] = 0
    crumb[20:24, 24:26] = 1  # 8 px touching: 2 x 8 < 64
    out = postprocess(crumb, 3, (1.0, 1.0), 3.0)
    assert (out[2:10, 2:10] == 1).all() and (out == 1).sum() == 64


def test_a_piece_far_from_the_other_organs_loses_to_a_smaller_near_one():
    lab = np.zeros((60, 60), np.uint8)
    lab[10:16, 10:16] = 2
    lab[10:16, 18:24] = 3  # the other organs' centre: about (12.5, 16.5)
    lab[30:38, 10:18] = 1  # 64 px, nearest pixel ~18 mm from that centre
    lab[50:59, 45:54] = 1  # 81 px, ~47 mm away; neither piece touches
    assert (postprocess(lab, 3, (1.0, 1.0), 3.0)[50:59, 45:54] == 1).all()  # largest
    out = postprocess(lab, 3, (1.0, 1.0), 3.0, cluster_mm=25.0)
    assert (out[30:38, 10:18] == 1).all() and (out == 1).sum() == 64
    # at 3 mm pixels the near piece is ~53 mm away and the far one ~141 mm: still near wins
    assert (postprocess(lab, 3, (3.0, 3.0), 3.0, 25.0)[30:38, 10:18] == 1).all()
    assert (postprocess(lab, 3, (1.0, 1.0), 0.0, 25.0)[50:59, 45:54] == 1).all()  # off


def test_touch_mm_default_and_range():
    from core.segment.infer import DEFAULT_TOUCH_MM

    net = UNet(base_channels=4, depth=2, norm="instance")
    assert Segmenter(net, device="cpu", config=CFG).touch_mm == DEFAULT_TOUCH_MM
    assert Segmenter(net, device="cpu", config=CFG, touch_mm=0).touch_mm == 0.0
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="touch_mm"):
            Segmenter(net, device="cpu", config=CFG, touch_mm=bad)


def test_errors(tmp_path):
    with pytest.raises(ModelError, match="nothing.json"):
        Segmenter(tmp_path / "nothing", device="cpu")
    with pytest.raises(ModelError):
        Segmenter(UNet(base_channels=4, depth=2), device="cpu")
    assert pick_device("cpu").type == "cpu"
    with pytest.raises(TypeError):
        _segmenter().predict(np.zeros((2, 8, 8)))


def test_postprocess_matches_scipy_reference():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    for _ in range(20):
        lab = ndimage.median_filter(rng.integers(0, 4, (40, 40)), 5).astype(np.uint8)
        ref = lab.copy()
        for c in (1, 2, 3):
            m = ref == c
            if not m.any():
                continue
            cc, n = ndimage.label(m)
            if n > 1:
                sizes = np.bincount(cc.ravel())
                sizes[0] = 0
                ref[m & (cc != np.argmax(sizes))] = 0
                m = ref == c
            ref[ndimage.binary_fill_holes(m) & ~m & (ref == 0)] = c
        assert np.array_equal(postprocess(lab, 3), ref)
