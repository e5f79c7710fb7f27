"""Each organ's piece chosen over the whole series (rule 121, docs/segmentation.md)."""

import numpy as np
import pytest
import torch

import core.segment.infer as infer
from core.segment.infer import Segmenter
from core.segment.postprocess import (
    CLUSTER_MM,
    DEFAULT_PIECE_WEIGHT,
    check_piece_weight,
    choose_pieces_in_time,
    postprocess,
)
from core.segment.unet import UNet

CFG = {"organs": ["bladder", "uterus_vagina", "rectum"], "spacing_mm": 1.25}


def _two_pieces(sizes_a, sizes_b, shape=(40, 60)):
    """Bladder (1) drawn as piece A (left) and piece B (right), squares of the given
    side per frame (0 = absent); rectum (3) a fixed square between them."""
    lab = np.zeros((len(sizes_a), *shape), np.uint8)
    for t, (a, b) in enumerate(zip(sizes_a, sizes_b, strict=True)):
        lab[t, 5:5 + a, 2:2 + a] = 1
        lab[t, 5:5 + b, 40:40 + b] = 1
        lab[t, 30:36, 25:31] = 3
    return lab


def _kept(labels, col):
    """Per frame, whether the bladder kept is the piece starting at that column."""
    return [bool((f == 1)[:, col].any()) for f in labels]


def test_weight_zero_is_the_per_frame_choice():
    rng = np.random.default_rng(3)
    lab = (rng.random((6, 48, 48)) < 0.35).astype(np.uint8) * rng.integers(1, 4, (6, 48, 48),
                                                                          dtype=np.uint8)
    for touch, cluster in ((0.0, 0.0), (3.0, CLUSTER_MM)):
        ref = np.stack([postprocess(f, 3, (1.2, 0.9), touch, cluster) for f in lab])
        out = choose_pieces_in_time(lab, 3, (1.2, 0.9), touch, cluster, 0.0)
        assert np.array_equal(out, ref)
    assert choose_pieces_in_time(lab[:0], 3, weight=3.0).shape == (0, 48, 48)


def test_a_piece_choice_that_flips_for_one_frame_is_kept_steady():
    # A is larger except in frame 2, where B is a little larger
    lab = _two_pieces([10, 10, 9, 10, 10], [8, 8, 10, 8, 8])
    per_frame = choose_pieces_in_time(lab, 3, weight=0.0)
    assert _kept(per_frame, 2) == [True, True, False, True, True]
    steady = choose_pieces_in_time(lab, 3, weight=3.0)
    assert _kept(steady, 2) == [True] * 5 and not (steady == 1)[:, :, 40:].any()
    assert np.array_equal(steady == 3, lab == 3)  # the other organ is untouched


def test_a_smaller_piece_that_continues_its_neighbours_wins():
    # frames 0-2: A alone; frames 3-5: a far larger B appears beside a smaller A
    lab = _two_pieces([8, 8, 8, 8, 8, 8], [0, 0, 0, 11, 11, 11])
    assert _kept(choose_pieces_in_time(lab, 3, weight=0.0), 2) == [True] * 3 + [False] * 3
    assert _kept(choose_pieces_in_time(lab, 3, weight=3.0), 2) == [True] * 6
    # a weak weight lets a clearly better piece win
    assert _kept(choose_pieces_in_time(lab, 3, weight=0.05), 2) == [True] * 3 + [False] * 3


def test_a_frame_without_the_organ_breaks_the_chain():
    lab = _two_pieces([10, 10, 0, 6, 6], [8, 8, 0, 10, 10])
    out = choose_pieces_in_time(lab, 3, weight=3.0)
    assert not (out[2] == 1).any()
    assert _kept(out, 2) == [True, True, False, False, False]
    assert _kept(out, 40)[3:] == [True, True]


def test_holes_are_filled_and_a_single_piece_kept():
    lab = _two_pieces([12, 12, 12], [5, 5, 5])
    lab[:, 9:11, 6:8] = 0  # a hole in A
    out = choose_pieces_in_time(lab, 3, weight=3.0)
    assert (out[:, 9:11, 6:8] == 1).all()
    assert all((f == 1).sum() == 144 for f in out)


def test_piece_weight_range():
    assert check_piece_weight(0) == 0.0 and check_piece_weight("2.5") == 2.5
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="piece weight"):
            check_piece_weight(bad)
    net = UNet(base_channels=4, depth=2, norm="instance")
    assert Segmenter(net, device="cpu", config=CFG).piece_weight == DEFAULT_PIECE_WEIGHT
    assert Segmenter(net, device="cpu", config=CFG, piece_weight=0).piece_weight == 0.0
    with pytest.raises(ValueError, match="piece weight"):
        Segmenter(net, device="cpu", config=CFG, piece_weight=-2)


def test_segmenter_applies_the_choice_to_the_networks_labels(tiny_case, monkeypatch):
    series, _ = tiny_case
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2, norm="instance")
    seg = Segmenter(net, device="cpu", config=CFG, backend="torch", piece_weight=3.0)
    got = [seg.predict(series, batch_size=bs) for bs in (1, 3)]
    assert np.array_equal(got[0].labels, got[1].labels)  # whatever the batches
    assert np.allclose(got[0].confidence, got[1].confidence, atol=1e-5)
    assert np.all((got[0].confidence >= 0) & (got[0].confidence <= 1))
    monkeypatch.setattr(infer, "postprocess", lambda lab, *a: np.asarray(lab, np.uint8))
    raw = Segmenter(net, device="cpu", config=CFG, backend="torch",
                    piece_weight=0).predict(series).labels
    monkeypatch.undo()
    want = choose_pieces_in_time(raw, 3, series.spacing_mm, seg.touch_mm, CLUSTER_MM, 3.0)
    assert np.array_equal(got[0].labels, want)
    per_frame = Segmenter(net, device="cpu", config=CFG, backend="torch", piece_weight=0)
    assert np.array_equal(per_frame.predict(series).labels,
                          choose_pieces_in_time(raw, 3, series.spacing_mm, seg.touch_mm,
                                                CLUSTER_MM, 0.0))
