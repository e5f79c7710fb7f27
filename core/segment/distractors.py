"""Things pasted into a training image that are not organs (image only, labels and
signed distances unchanged, each off by default; :class:`AugmentConfig` sets the odds).

Decoys: organ-bright soft ellipses pasted into the background, so the network must use
anatomy and context rather than brightness alone (a full-looking round bright region is
not always the bladder).  Organ copies: a sample's own organ, with its texture and rim,
moved, turned and resized into its background: a decoy that looks like the organ in
everything but its place.  Ghosts: a faint copy of the whole image shifted by half or a
third of the field of view (Nyquist ghosts, residual aliasing of parallel imaging), so the
network does not draw organs on a ghost of the pelvis.  All batched (no loop over samples).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from core.segment.augment_config import AugmentConfig, _bern, _u


def paste_decoys(x: torch.Tensor, labels: torch.Tensor, cfg: AugmentConfig,
                 g: torch.Generator) -> torch.Tensor:
    """Paste organ-bright decoys into the background of images (N, 1, H, W).

    Each sample, with probability ``cfg.p_decoy``, gets one or two soft-edged ellipses
    (random centre, semi-axes in ``cfg.decoy_size`` of the shorter side, random angle)
    whose intensity is the mean intensity of one of its organs (chosen at random)
    times U(0.8, 1.2).  A decoy is blended in only where the labels are background and
    at least ``cfg.decoy_margin`` pixels from every organ, so the truth stays true.
    Samples without organs, or not drawn, are returned unchanged.  Draws nothing from
    ``g`` when ``p_decoy`` is 0.  Batched (no loop over samples).
    """
    if cfg.p_decoy <= 0:
        return x
    n, _, h, w = x.shape
    dev = x.device
    sel = _bern(g, n, cfg.p_decoy, dev)
    n_decoys = 1 + _bern(g, n, 0.5, dev).long()
    organ_pick = torch.rand(n, generator=g, device=dev)
    cy, cx = _u(g, 2 * n, 0, h - 1, dev).view(n, 2), _u(g, 2 * n, 0, w - 1, dev).view(n, 2)
    side = min(h, w)
    ay = _u(g, 2 * n, *cfg.decoy_size, dev).view(n, 2) * side
    ax = _u(g, 2 * n, *cfg.decoy_size, dev).view(n, 2) * side
    ang = _u(g, 2 * n, 0, math.pi, dev).view(n, 2)
    gain = _u(g, n, 0.8, 1.2, dev)
    if not sel.any():
        return x
    organ, has_organ = _pick_organ(labels, organ_pick)
    organ = organ.to(x.dtype)
    level = (x[:, 0] * organ).sum((1, 2)) / organ.sum((1, 2)).clamp_min(1) * gain
    # one or two soft ellipses per sample, (N, 2, H, W)
    yy = torch.arange(h, device=dev, dtype=x.dtype)[None, None, :, None]
    xx = torch.arange(w, device=dev, dtype=x.dtype)[None, None, None, :]
    c, s_ = torch.cos(ang)[:, :, None, None], torch.sin(ang)[:, :, None, None]
    dy, dx = yy - cy[:, :, None, None], xx - cx[:, :, None, None]
    u = (dx * c + dy * s_) / ax[:, :, None, None]
    v = (-dx * s_ + dy * c) / ay[:, :, None, None]
    r = torch.sqrt(u * u + v * v)
    edge = 1.5 / torch.minimum(ax, ay)[:, :, None, None]  # soft edge about 1.5 px wide
    used = torch.arange(2, device=dev)[None, :] < n_decoys[:, None]
    alpha = (torch.sigmoid((1.0 - r) / edge) * used[:, :, None, None]).amax(1)
    alpha = alpha * _free_of_organs(labels, cfg.decoy_margin)[:, 0]
    alpha = (alpha * (sel & has_organ)[:, None, None])[:, None]
    return x * (1 - alpha) + level[:, None, None, None] * alpha


def _pick_organ(labels: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each sample's organ: the ``floor(u * count)``-th of the labels present, in order.

    Args:
        labels: (N, H, W) integer labels, 0 background.
        u: (N,) uniform draws in [0, 1).

    Returns:
        The chosen organ's mask (N, H, W, bool), and (N,) whether the sample has
        any organ (one host synchronisation, for the largest label).
    """
    k = max(int(labels.max()), 1)
    masks = labels[:, None] == torch.arange(1, k + 1, device=labels.device)[None, :, None, None]
    present = masks.flatten(2).any(-1)
    count = present.sum(1)
    idx = torch.minimum((u * count).long(), (count - 1).clamp_min(0))
    choose = present & (present.long().cumsum(1) - 1 == idx[:, None])
    return (masks & choose[:, :, None, None]).any(1), count > 0


def _free_of_organs(labels: torch.Tensor, margin: int) -> torch.Tensor:
    """(N, 1, H, W) 1 where the labels are background at least ``margin`` px from organs."""
    organ = (labels > 0).float()[:, None]
    # a 1-pixel pool (margin 0) leaves the organ mask as it is
    return 1.0 - F.max_pool2d(organ, 2 * margin + 1, stride=1, padding=margin)


def paste_organ_copies(x: torch.Tensor, labels: torch.Tensor, cfg: AugmentConfig,
                       g: torch.Generator) -> torch.Tensor:
    """Paste a copy of one of each sample's organs into its background (N, 1, H, W).

    Each sample, with probability ``cfg.p_copy``, takes one of its organs (chosen at
    random among those present), the image inside it with a soft 1-pixel edge, and
    pastes it rotated by any angle, mirrored or not, resized by a log-uniform factor in
    ``cfg.copy_scale`` and centred on a random background pixel inside the body (brighter
    than 0.25 after normalisation; anywhere in the background if none is), times
    U(0.8, 1.2).  Only pixels that are background at least ``cfg.decoy_margin`` pixels
    from every organ change, so the truth stays true; a copy that lands on organs is
    clipped, one that lands outside the image is lost.  Batched: one sampling grid per
    sample, no loop over samples.  Draws nothing from ``g`` when ``p_copy`` is 0.
    """
    if cfg.p_copy <= 0:
        return x
    n, _, h, w = x.shape
    dev = x.device
    sel = _bern(g, n, cfg.p_copy, dev)
    organ_pick = torch.rand(n, generator=g, device=dev)
    ang = _u(g, n, -math.pi, math.pi, dev)
    scale = torch.exp(_u(g, n, math.log(cfg.copy_scale[0]), math.log(cfg.copy_scale[1]), dev))
    mirror = torch.where(_bern(g, n, 0.5, dev), -1.0, 1.0)
    gain = _u(g, n, 0.8, 1.2, dev)
    spot = torch.rand(n, h * w, generator=g, device=dev)
    mask, has_organ = _pick_organ(labels, organ_pick)
    mask = mask.to(x.dtype)[:, None]
    take = sel & has_organ
    # the organ's centre in normalised coordinates
    ys = torch.linspace(-1, 1, h, device=dev, dtype=x.dtype)
    xs = torch.linspace(-1, 1, w, device=dev, dtype=x.dtype)
    a = mask.sum((1, 2, 3)).clamp_min(1)
    src = torch.stack([(mask[:, 0] * xs[None, None, :]).sum((1, 2)) / a,
                       (mask[:, 0] * ys[None, :, None]).sum((1, 2)) / a], 1)
    # the copy's centre: a random free pixel inside the body (brighter than a quarter of
    # the normalised range), or any free pixel where there is none
    free = _free_of_organs(labels, cfg.decoy_margin)
    body = (free * (x > 0.25)).flatten(1)
    body = torch.where(body.any(1, keepdim=True), body, free.flatten(1))
    at = (spot * body).argmax(1)
    target = torch.stack([xs[at % w], ys[torch.div(at, w, rounding_mode="floor")]], 1)
    # output point p maps to source src + R(-ang) (p - target) / scale, x mirrored
    c, s_ = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.zeros(n, 2, 3, device=dev, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 1] = c * mirror, s_ * mirror
    theta[:, 1, 0], theta[:, 1, 1] = -s_, c
    theta[:, :, 2] = src - (theta[:, :, :2] @ target[:, :, None])[:, :, 0]
    grid = F.affine_grid(theta, [n, 1, h, w], align_corners=True)
    moved = F.grid_sample(torch.cat([x * mask, mask], 1), grid, mode="bilinear",
                          padding_mode="zeros", align_corners=True)
    inside = moved[:, 1:2]  # bilinear: a soft edge about one pixel wide
    texture = moved[:, :1] / inside.clamp_min(1e-3)  # the organ's own pixels only
    alpha = inside.clamp(0, 1) * free * take[:, None, None, None]
    return x * (1 - alpha) + texture * gain[:, None, None, None] * alpha


def _per_sample(v: torch.Tensor) -> torch.Tensor:
    """(N,) → (N, 1, 1, 1), to broadcast over images."""
    return v[:, None, None, None]


def add_ghosts(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """Add a ghost of the whole image to some samples of ``x`` (N, 1, H, W).

    Each sample, with probability ``cfg.p_ghost``, gets its own image rolled (with
    wrap-around) by half of its side, or by a third in one case of three, along the rows
    or the columns (even odds), times an amplitude ``a`` drawn from ``cfg.ghost_amp``
    and combined with a random phase ``psi`` as a magnitude image is:
    ``sqrt((x + a cos(psi) s)^2 + (a sin(psi) s)^2)``, ``s`` the shifted copy; so the
    ghost brightens or darkens what lies under it.  Labels are not touched: a network
    trained on it must not draw organs on the copy.  Batched; draws nothing from ``g``
    when ``p_ghost`` is 0.
    """
    if cfg.p_ghost <= 0:
        return x
    n, _, h, w = x.shape
    dev = x.device
    sel = _bern(g, n, cfg.p_ghost, dev)
    amp = _u(g, n, *cfg.ghost_amp, dev)
    psi = _u(g, n, 0.0, 2 * math.pi, dev)
    along_rows = _bern(g, n, 0.5, dev)
    third = _bern(g, n, 1 / 3, dev)
    by_rows = torch.where(_per_sample(third), torch.roll(x, h // 3, 2), torch.roll(x, h // 2, 2))
    by_cols = torch.where(_per_sample(third), torch.roll(x, w // 3, 3), torch.roll(x, w // 2, 3))
    shifted = torch.where(_per_sample(along_rows), by_rows, by_cols)
    a, c, s = (_per_sample(v) for v in (amp, torch.cos(psi), torch.sin(psi)))
    x0 = x.clamp_min(0)
    ghosted = torch.sqrt((x0 + a * c * shifted) ** 2 + (a * s * shifted) ** 2)
    return torch.where(_per_sample(sel), ghosted, x)
