"""Segmentation losses: soft Dice (L0), contour-distance terms and their combinations.

Pure functions on probabilities come first, thin :class:`torch.nn.Module`
wrappers on logits after.  Distance terms use signed distance maps (SDF) of the
truth in mm (negative inside an organ), computed exactly in the data pipeline
by :func:`core.segment.preprocess.signed_distance` and divided by
``sdf_scale_mm`` here so the terms are dimensionless.

* L0 ``"dice"``: soft multi-class Dice over the organ classes.
* L_OD ``"dice_fixed"``: Dice + λ · boundary loss (Kervadec et al. 2019), fixed λ.
* L_p ``"dice_adaptive"``: Dice + λ_t · boundary loss with λ_t following the
  training state: ``λ_t = λ_max · clip(1 − D̄_t / D̄_0, 0, 1)`` where D̄_t is an
  exponential running mean of the Dice loss and D̄_0 its first value.  While the
  overlap is still poor the region term drives learning; as the Dice loss
  falls the contour term takes over and refines boundaries.  A fine-tune of a
  trained model can fix D̄_0 instead (``dice_first``, e.g. 1.0, the Dice loss of
  an untrained network) so that λ_t does not depend on its first batch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

LOSSES = ("dice", "dice_fixed", "dice_adaptive")


def _check(probs: torch.Tensor, other: torch.Tensor, name: str) -> None:
    if probs.ndim != 4:
        raise ValueError(f"expected (N,C,H,W) probabilities, got {tuple(probs.shape)}")
    if other.shape != probs.shape:
        raise ValueError(f"{name} shape {tuple(other.shape)} != probabilities {tuple(probs.shape)}")


def one_hot(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """One-hot (N, C, H, W) float of integer labels (N, H, W)."""
    if labels.ndim != 3:
        raise ValueError(f"expected (N,H,W) labels, got {tuple(labels.shape)}")
    return F.one_hot(labels.long(), n_classes).permute(0, 3, 1, 2).to(torch.float32)


def dice_loss(probs: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft multi-class Dice loss over the organ classes (background excluded).

    Per class c ≥ 1, over the batch and pixels:
    ``D_c = (2 Σ p·g + eps) / (Σ p + Σ g + eps)``; loss = 1 − mean_c D_c.

    Args:
        probs: (N, C, H, W) softmax probabilities.
        target: (N, C, H, W) one-hot truth.
        eps: smoothing (pixels); keeps an absent, unpredicted organ at D_c = 1.

    Returns:
        Scalar in [0, 1]; 0 for a perfect prediction.
    """
    _check(probs, target, "target")
    p, g = probs[:, 1:], target[:, 1:].to(probs.dtype)
    dims = (0, 2, 3)
    inter = (p * g).sum(dims)
    denom = p.sum(dims) + g.sum(dims)
    return 1.0 - ((2.0 * inter + eps) / (denom + eps)).mean()


def boundary_loss(probs: torch.Tensor, sdf: torch.Tensor, sdf_scale_mm: float = 10.0
                  ) -> torch.Tensor:
    """Boundary loss of Kervadec et al. (2019): mean of softmax × signed distance.

    ``mean_{n,c≥1,pixels} p_c · sdf_c / sdf_scale_mm``.  For probabilities in
    [0, 1] it is minimal when every pixel with sdf < 0 (inside the true organ)
    has p = 1 and every pixel outside has p = 0, i.e. for the truth itself, and a
    prediction displaced from the truth pays its distance from the contour.

    Args:
        probs: (N, C, H, W) softmax probabilities.
        sdf: (N, C, H, W) signed distances of the truth in mm (negative inside).
        sdf_scale_mm: distances are divided by this (mm) to make the term O(1).
    """
    _check(probs, sdf, "sdf")
    return (probs[:, 1:] * sdf[:, 1:].to(probs.dtype)).mean() / sdf_scale_mm


def hausdorff_dt_loss(probs: torch.Tensor, target: torch.Tensor, sdf: torch.Tensor,
                      alpha: float = 2.0, sdf_scale_mm: float = 10.0) -> torch.Tensor:
    """One-sided distance-transform Hausdorff loss (Karimi & Salcudean 2019).

    ``mean (p − g)² · |sdf/scale|^alpha``: errors far from the true contour cost
    more.  Zero for a perfect prediction, non-negative otherwise.
    """
    _check(probs, target, "target")
    _check(probs, sdf, "sdf")
    w = (sdf[:, 1:].abs() / sdf_scale_mm).to(probs.dtype) ** alpha
    return ((probs[:, 1:] - target[:, 1:].to(probs.dtype)) ** 2 * w).mean()


class DiceLoss(nn.Module):
    """L0: soft multi-class Dice on logits.  ``forward(logits, labels, sdf) -> (loss, parts)``."""

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, sdf: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, dict[str, float]]:
        probs = logits.float().softmax(1)
        d = dice_loss(probs, one_hot(labels, logits.shape[1]))
        return d, {"dice": float(d.detach()), "lambda": 0.0}


class DiceBoundaryLoss(nn.Module):
    """L_OD (``adaptive=False``): Dice + λ · boundary; L_p (``adaptive=True``): λ_t as above.

    Args:
        lam: λ (fixed) or λ_max (adaptive).
        adaptive: follow the training state (see module docstring).
        momentum: weight of the newest Dice value in its running mean.
        sdf_scale_mm: distance scale of the boundary term.
        dice_first: D̄_0 fixed up front (> 0; 1.0 is the Dice loss of an untrained
            network) instead of the first batch's Dice loss.  For fine-tunes: a
            trained model's first batch is as likely easy as hard, so the first value
            leaves λ_t to chance (docs/segmentation.md, "Losses").
    """

    def __init__(self, lam: float = 1.0, adaptive: bool = False, momentum: float = 0.02,
                 sdf_scale_mm: float = 10.0, dice_first: float | None = None) -> None:
        super().__init__()
        if lam < 0 or not 0 < momentum <= 1:
            raise ValueError(f"need lam >= 0 and 0 < momentum <= 1, got {lam}, {momentum}")
        if dice_first is not None and not 0 < dice_first < float("inf"):
            raise ValueError(f"dice_first must be a finite number > 0, got {dice_first}")
        self.lam, self.adaptive = lam, adaptive
        self.momentum, self.sdf_scale_mm = momentum, sdf_scale_mm
        self.register_buffer("dice_running", torch.tensor(-1.0, dtype=torch.float64))
        self.register_buffer("dice_first", torch.tensor(
            -1.0 if dice_first is None else float(dice_first), dtype=torch.float64))

    def current_lambda(self) -> float:
        """The weight λ_t of the boundary term now."""
        if not self.adaptive:
            return self.lam
        d0, dt = float(self.dice_first), float(self.dice_running)
        if d0 <= 0:
            return 0.0
        return self.lam * min(1.0, max(0.0, 1.0 - dt / d0))

    def _update(self, d: float) -> None:
        if float(self.dice_running) < 0:
            if float(self.dice_first) < 0:
                self.dice_first.fill_(d)
            self.dice_running.fill_(d)
        else:
            self.dice_running.mul_(1 - self.momentum).add_(self.momentum * d)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, sdf: torch.Tensor
                ) -> tuple[torch.Tensor, dict[str, float]]:
        probs = logits.float().softmax(1)
        d = dice_loss(probs, one_hot(labels, logits.shape[1]))
        b = boundary_loss(probs, sdf, self.sdf_scale_mm)
        if self.adaptive and self.training:
            self._update(float(d.detach()))
        lam = self.current_lambda()
        return d + lam * b, {"dice": float(d.detach()), "boundary": float(b.detach()),
                             "lambda": lam}


def make_loss(name: str, **kw: float) -> nn.Module:
    """Build a loss by name: ``"dice"`` (L0), ``"dice_fixed"`` (L_OD), ``"dice_adaptive"`` (L_p).

    Keyword arguments go to :class:`DiceBoundaryLoss` (``lam``, ``momentum``,
    ``sdf_scale_mm``, ``dice_first``).
    """
    if name == "dice":
        return DiceLoss()
    if name == "dice_fixed":
        return DiceBoundaryLoss(adaptive=False, **kw)
    if name == "dice_adaptive":
        return DiceBoundaryLoss(adaptive=True, **kw)
    raise ValueError(f"loss must be one of {LOSSES}, got {name!r}")
