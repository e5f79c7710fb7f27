import numpy as np
import pytest
import torch

from core.segment.losses import (
    boundary_loss,
    dice_loss,
    hausdorff_dt_loss,
    make_loss,
    one_hot,
)
from core.segment.preprocess import signed_distance


def disc(shape, cy, cx, r):
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8)


def test_sdf_is_exact_for_a_disc():
    lab = disc((41, 41), 20, 20, 8)
    sdf = signed_distance(lab, 2, spacing_mm=(0.5, 0.5))
    assert np.all(sdf[0] == 0)
    # nearest outside pixel of the centre is (28, 21): sqrt(8² + 1²) px
    assert sdf[1][20, 20] == pytest.approx(-0.5 * np.sqrt(65), rel=1e-6)
    assert sdf[1][20, 38] == pytest.approx(0.5 * 10)  # col 38 to col 28 (edge of disc)
    assert np.all(sdf[1][lab == 1] < 0) and np.all(sdf[1][lab == 0] > 0)


def test_gradcheck_dice_and_boundary():
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 6, 6, dtype=torch.float64, requires_grad=True)
    lab = torch.randint(0, 3, (1, 6, 6))
    g = one_hot(lab, 3).double()
    sdf = torch.randn(1, 3, 6, 6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda z: dice_loss(z.softmax(1), g), (logits,))
    assert torch.autograd.gradcheck(lambda z: boundary_loss(z.softmax(1), sdf), (logits,))
    assert torch.autograd.gradcheck(lambda z: hausdorff_dt_loss(z.softmax(1), g, sdf), (logits,))


def _shifted_probs(lab, shift, n=3):
    moved = np.roll(lab, shift, axis=1)
    return one_hot(torch.from_numpy(moved[None]).long(), n)


def test_perfect_prediction_is_minimum():
    lab = disc((40, 40), 20, 15, 7) + 2 * disc((40, 40), 20, 30, 5)
    g = one_hot(torch.from_numpy(lab[None]).long(), 3)
    sdf = torch.from_numpy(signed_distance(lab, 3))[None]
    assert float(dice_loss(g, g)) == pytest.approx(0.0, abs=1e-7)
    assert float(hausdorff_dt_loss(g, g, sdf)) == 0.0
    b0 = float(boundary_loss(g, sdf))
    torch.manual_seed(1)
    for _ in range(5):  # random soft predictions never do better
        p = torch.randn(1, 3, 40, 40).softmax(1)
        assert float(boundary_loss(p, sdf)) > b0
        assert float(dice_loss(p, g)) > 0.1


def test_distance_term_grows_with_shift():
    lab = disc((48, 64), 24, 28, 9)
    sdf = torch.from_numpy(signed_distance(lab, 3))[None]
    g = one_hot(torch.from_numpy(lab[None]).long(), 3)
    b = [float(boundary_loss(_shifted_probs(lab, s), sdf)) for s in range(0, 12, 2)]
    h = [float(hausdorff_dt_loss(_shifted_probs(lab, s), g, sdf)) for s in range(0, 12, 2)]
    assert all(np.diff(b) > 0), b
    assert all(np.diff(h) > 0), h


def test_make_loss_and_adaptive_weight():
    torch.manual_seed(0)
    lab = torch.from_numpy(disc((32, 32), 16, 16, 6)[None]).long()
    sdf = torch.from_numpy(signed_distance(lab[0].numpy(), 3))[None]
    logits = torch.randn(1, 3, 32, 32)
    for name in ("dice", "dice_fixed", "dice_adaptive"):
        loss, parts = make_loss(name)(logits, lab, sdf)
        assert torch.isfinite(loss) and "dice" in parts
    fixed = make_loss("dice_fixed", lam=0.7)
    assert fixed(logits, lab, sdf)[1]["lambda"] == 0.7
    ad = make_loss("dice_adaptive", lam=1.0, momentum=0.5)
    assert ad(logits, lab, sdf)[1]["lambda"] == 0.0  # first step: Dice at its initial value
    good = 10 * one_hot(lab, 3)  # near-perfect logits: Dice loss falls, λ rises
    lams = [ad(good, lab, sdf)[1]["lambda"] for _ in range(4)]
    assert 0 < lams[0] < lams[-1] <= 1.0
    with pytest.raises(ValueError, match="loss must be one of"):
        make_loss("focal")


def test_fixed_first_dice_sets_lambda_from_the_first_step():
    """With D̄_0 given, a trained model's first batch no longer decides λ_t: an easy
    batch gets λ = 1 − D̄_t / D̄_0 at once, not 0."""
    lab = torch.from_numpy(disc((32, 32), 16, 16, 6)[None]).long()
    sdf = torch.from_numpy(signed_distance(lab[0].numpy(), 3))[None]
    good = 10 * one_hot(lab, 3)
    free = make_loss("dice_adaptive", lam=1.0)
    assert free(good, lab, sdf)[1]["lambda"] == 0.0
    fixed = make_loss("dice_adaptive", lam=0.8, dice_first=1.0)
    parts = fixed(good, lab, sdf)[1]
    assert parts["lambda"] == pytest.approx(0.8 * (1.0 - parts["dice"]))
    assert parts["lambda"] > 0.7
    assert float(fixed.dice_first) == 1.0  # kept, not replaced by the first batch
    # The reference survives a checkpoint round trip (resume is exact).
    again = make_loss("dice_adaptive", lam=0.8)
    again.load_state_dict(fixed.state_dict())
    assert again.current_lambda() == pytest.approx(fixed.current_lambda())
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="dice_first"):
            make_loss("dice_adaptive", dice_first=bad)
