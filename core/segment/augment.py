"""Strong joint augmentation of training batches on the training device (kornia + torch).

Geometry (one sampling grid per sample, applied to image, labels and signed
distances together): affine (rotation, isotropic scale, shear, translation,
built with :func:`kornia.geometry.transform.get_affine_matrix2d`) composed with a
smooth elastic displacement, and for some samples (off by default) a radial zoom that
enlarges one organ (:func:`swell_organs`).  Images and SDFs are resampled bilinearly, labels
by nearest neighbour; SDF values are multiplied by the local magnification so
they stay distances on the output grid.  No left-right (or any) flips: the
anatomy is in canonical orientation.

Organs of changed intensity (:func:`vary_organs`, image only, off by default), then
decoys, organ copies and ghosts (image only, off by default) from
:mod:`core.segment.distractors`, between the geometry and the intensity changes; the
ranges are :class:`AugmentConfig` (:mod:`core.segment.augment_config`).

Intensity (image only): smooth multiplicative bias field, bSSFP-like dark bands
along the iso-lines of a smooth random off-resonance field (off by default), random monotone
intensity curve (gamma-like, never inverting; optionally, for some samples, a random
non-monotone one that reorders the tissues), contrast and brightness,
down-up resampling (resolution change), Gaussian blur (:func:`kornia.filters.gaussian_blur2d`),
Rician or Gaussian noise; finally the same robust percentile normalisation the
Segmenter applies, so training inputs match inference inputs.
"""

from __future__ import annotations

import math

import torch
from kornia.filters import gaussian_blur2d
from kornia.geometry.conversions import normalize_homography
from kornia.geometry.transform import get_affine_matrix2d
from torch.nn import functional as F

from core.segment.augment_config import AugmentConfig, _bern, _smooth_field, _u
from core.segment.distractors import add_ghosts, paste_decoys, paste_organ_copies

__all__ = ["AugmentConfig", "add_ghosts", "augment_batch", "augment_intensity", "band_gain",
           "paste_decoys", "paste_organ_copies", "sampling_grid", "swell_organs", "vary_organs"]


def sampling_grid(n: int, size: tuple[int, int], cfg: AugmentConfig, g: torch.Generator,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Random sampling grids (n, H, W, 2) in normalised coordinates and magnifications (n,).

    The grid maps each output pixel to the input position it samples.
    """
    h, w = size
    angle = _u(g, n, -cfg.rotation_deg, cfg.rotation_deg, device)
    s = torch.exp(_u(g, n, math.log(cfg.scale[0]), math.log(cfg.scale[1]), device))
    sx = _u(g, n, -cfg.shear, cfg.shear, device)
    sy = _u(g, n, -cfg.shear, cfg.shear, device)
    t = torch.stack([_u(g, n, -cfg.translate, cfg.translate, device) * w,
                     _u(g, n, -cfg.translate, cfg.translate, device) * h], dim=1)
    centre = torch.tensor([[(w - 1) / 2, (h - 1) / 2]], device=device).expand(n, 2)
    m = get_affine_matrix2d(t, centre, torch.stack([s, s], 1), angle, sx, sy)  # src px → dst px
    dst_from_src = normalize_homography(m, (h, w), (h, w))
    src_from_dst = torch.linalg.inv(dst_from_src)[:, :2]
    grid = F.affine_grid(src_from_dst, [n, 1, h, w], align_corners=True)
    mag = 1.0 / torch.sqrt(torch.abs(torch.linalg.det(src_from_dst[:, :, :2])))
    if cfg.p_elastic > 0 and cfg.elastic_mm > 0:
        amp = _u(g, n, 0, cfg.elastic_mm, device) * _bern(g, n, cfg.p_elastic, device)
        disp = _smooth_field(g, n, 2, cfg.elastic_grid, size, device).permute(0, 2, 3, 1)
        scale_px = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=device)
        grid = grid + disp * amp[:, None, None, None] * scale_px
    return grid, mag


def swell_organs(grid: torch.Tensor, labels: torch.Tensor, cfg: AugmentConfig,
                 g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Enlarge one organ of some samples: a radial zoom about its centre, composed into
    the sampling grid (an enlarged uterus, a distended bladder or rectum).

    Each sample is chosen with probability ``cfg.p_swell``; one of the organs present in
    its input labels is drawn (uniformly) and zoomed by ``s`` (log-uniform in
    ``cfg.swell_scale``) about its centroid: the input position of a point at distance
    ``r`` from the centre is at ``r * (1 - (1 - 1/s) * w(r))``, ``w`` = 1 out to ``s`` times
    the radius of a disc of the organ's area (a round organ is zoomed whole; of a long one,
    such as uterus and vagina together, the middle swells and the ends are pushed out), then
    a cosine taper to 0 at ``cfg.swell_reach`` times that (the tissue around it is pushed
    aside; nothing folds: the radial map stays increasing for any taper), and 0 beyond.
    Labels follow the same grid, so they stay exact.

    Args:
        grid: (N, H, W, 2) sampling grid (normalised x, y) into the input, from
            :func:`sampling_grid`.
        labels: (N, H', W') integer input labels (the grid's input).
        cfg, g: ranges and generator.

    Returns:
        (grid, local magnification (N, H, W) of the zoom at each output pixel, to scale
        signed distances; None when no sample was chosen).
    """
    n = grid.shape[0]
    dev = grid.device
    h, w = labels.shape[-2:]
    chosen = _bern(g, n, cfg.p_swell, dev)
    zoom = torch.exp(_u(g, n, math.log(cfg.swell_scale[0]), math.log(cfg.swell_scale[1]),
                        dev))
    pick = _u(g, n, 0.0, 1.0, dev)
    n_org = int(labels.max()) if labels.numel() else 0
    if not chosen.any() or n_org < 1:
        return grid, None
    present = torch.stack([(labels == k).flatten(1).any(1) for k in range(1, n_org + 1)], 1)
    count = present.sum(1)
    chosen = chosen & (count > 0)
    # the pick-th present organ (1-based label)
    rank = (pick * count).floor().long().clamp_max((count - 1).clamp_min(0))
    order = present.long().cumsum(1) - 1  # rank of each present organ
    organ = 1 + ((order == rank[:, None]) & present).long().argmax(1)
    mask = labels == organ[:, None, None]
    ys = torch.arange(h, device=dev, dtype=torch.float32)[None, :, None]
    xs = torch.arange(w, device=dev, dtype=torch.float32)[None, None, :]
    area = mask.sum((1, 2)).clamp_min(1)
    cy = (mask * ys).sum((1, 2)) / area
    cx = (mask * xs).sum((1, 2)) / area
    radius = torch.sqrt(area / math.pi).clamp_min(1.0)  # a disc of the organ's area
    # output grid positions in input pixels
    px = (grid[..., 0] + 1) * (w - 1) / 2
    py = (grid[..., 1] + 1) * (h - 1) / 2
    dx, dy = px - cx[:, None, None], py - cy[:, None, None]
    r = torch.sqrt(dx * dx + dy * dy)
    inner = (zoom * radius)[:, None, None]
    outer = inner * max(cfg.swell_reach, 1.05)  # a taper of some width
    t = ((r - inner) / (outer - inner)).clamp(0, 1)
    taper = 0.5 * (1 + torch.cos(math.pi * t))  # w(r): 1 inside, 0 beyond outer
    dtaper = torch.where((t > 0) & (t < 1), -0.5 * math.pi * torch.sin(math.pi * t)
                         / (outer - inner), torch.zeros_like(t))
    k = (1 - 1 / zoom)[:, None, None]
    ratio = 1 - k * taper  # g(r) / r
    slope = 1 - k * (taper + r * dtaper)  # g'(r) > 0
    new = torch.stack([(cx[:, None, None] + dx * ratio) * 2 / max(w - 1, 1) - 1,
                       (cy[:, None, None] + dy * ratio) * 2 / max(h - 1, 1) - 1], -1)
    sel = chosen[:, None, None]
    grid = torch.where(sel[..., None], new, grid)
    mag = torch.where(sel, 1 / torch.sqrt(ratio * slope), torch.ones_like(ratio))
    return grid, mag


def vary_organs(img: torch.Tensor, lab: torch.Tensor, cfg: AugmentConfig,
                g: torch.Generator) -> torch.Tensor:
    """Change the intensity of some organs of some samples (N, 1, H, W); labels stay true.

    A sample is chosen with probability ``cfg.p_organ``; of its organs present each is
    varied with probability one half, and at least one is. A varied organ is multiplied
    by ``exp(m + t * f)``, ``m`` uniform in ``±cfg.organ_gain``, ``t`` uniform in
    ``[0, cfg.organ_texture]`` and ``f`` a smooth random field in about [-1, 1] (6 x 6
    control points: blotches like fibroids in a uterus or stool in a rectum), and on a
    third of the varied organs an offset up to ``cfg.organ_offset`` is added, so a dark
    organ (urine on T1) can turn bright. The change is weighted by the organ's mask
    blurred by about one pixel, so the organ's edge is not sharper than the image's.
    What an organ looks like then differs from sequence to sequence and from patient to
    patient, as it does between scanners, and only its outline and its place among the
    others tell it. Unchosen samples are returned bit-identical; with ``p_organ = 0``
    nothing is drawn.
    """
    if cfg.p_organ <= 0:
        return img
    n, _, h, w = img.shape
    dev = img.device
    k = int(lab.max()) if lab.numel() else 0
    chosen = _bern(g, n, cfg.p_organ, dev)
    if k < 1:
        return img
    onehot = F.one_hot(lab.long().clamp_min(0), k + 1)[..., 1:].permute(0, 3, 1, 2).float()
    present = onehot.flatten(2).amax(2) > 0  # (n, k)
    pick = (torch.rand(n, k, generator=g, device=dev) < 0.5) & present
    score = torch.rand(n, k, generator=g, device=dev).masked_fill(~present, -1.0)
    first = F.one_hot(score.argmax(1), k).bool() & present
    pick = (pick | (first & ~pick.any(1, keepdim=True))) & chosen[:, None]
    mean = _u(g, n * k, -cfg.organ_gain, cfg.organ_gain, dev).view(n, k, 1, 1)
    tex = _u(g, n * k, 0.0, cfg.organ_texture, dev).view(n, k, 1, 1)
    field = _smooth_field(g, n, k, 6, (h, w), dev)
    offset = (_u(g, n * k, 0.0, cfg.organ_offset, dev)
              * _bern(g, n * k, 1 / 3, dev)).view(n, k, 1, 1)
    weight = gaussian_blur2d(onehot, (5, 5), (1.0, 1.0)) * pick[:, :, None, None]
    log_gain = (weight * (mean + tex * field)).sum(1, keepdim=True)
    add = (weight * offset).sum(1, keepdim=True)
    varied = img.clamp_min(0) * torch.exp(log_gain) + add
    return torch.where(chosen[:, None, None, None], varied, img)


def band_gain(g: torch.Generator, n: int, size: tuple[int, int], cfg: AugmentConfig,
              device: torch.device) -> torch.Tensor:
    """Multiplicative gains (n, 1, H, W) in (0, 1] with bSSFP-like dark bands.

    A balanced steady-state sequence loses signal where the off-resonance phase is near
    an odd multiple of pi; with a smooth field that happens along curved lines across
    the image. The phase here is a smooth random field (3 x 3 control points, values in
    about [-1, 1]) times pi to ``cfg.band_cycles`` × pi, plus a random offset; the gain is
    ``1 - depth * exp(-(d / width)^2)``, ``d`` the phase distance to the nearest band
    centre. Each sample gets bands with probability ``cfg.p_band`` (gain 1 otherwise).
    """
    amp = _u(g, n, 1.0, max(cfg.band_cycles, 1.0), device) * math.pi
    offset = _u(g, n, 0.0, 2 * math.pi, device)
    phase = (_smooth_field(g, n, 1, 3, size, device) * amp[:, None, None, None]
             + offset[:, None, None, None])
    d = torch.remainder(phase, 2 * math.pi) - math.pi  # 0 at a band's centre
    width = _u(g, n, *cfg.band_width, device)[:, None, None, None]
    depth = (_u(g, n, *cfg.band_depth, device)
             * _bern(g, n, cfg.p_band, device))[:, None, None, None]
    return 1.0 - depth * torch.exp(-((d / width) ** 2))


def _percentile_normalize(x: torch.Tensor, lo: float = 1.0, hi: float = 99.0) -> torch.Tensor:
    flat = x.flatten(1)
    q = torch.quantile(flat, torch.tensor([lo / 100, hi / 100], device=x.device), dim=1)
    p_lo, p_hi = q[0][:, None, None, None], q[1][:, None, None, None]
    return ((x - p_lo) / (p_hi - p_lo).clamp_min(1e-6)).clamp(-1.0, 2.0)


def augment_intensity(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """Random intensity changes of normalised images (N, 1, H, W); returns renormalised images."""
    n, _, h, w = x.shape
    dev = x.device
    x = x.clamp_min(0)
    # monotone random curve on [0, 1.5]: piecewise linear with positive random slopes
    if cfg.curve > 0:
        k = 6
        slopes = torch.exp((torch.rand(n, k, generator=g, device=dev) * 2 - 1) * cfg.curve * 1.5)
        knots = torch.cat([torch.zeros(n, 1, device=dev), slopes.cumsum(1)], 1)
        knots = knots / knots[:, -1:]
        if cfg.p_lut > 0:  # some samples: any order of the tissues, not only gamma-like
            coarse = torch.rand(n, 1, 4, generator=g, device=dev)  # 4 knots: no steep
            lut = F.interpolate(coarse, size=k + 1, mode="linear", align_corners=True)[:, 0]
            sel = _bern(g, n, cfg.p_lut, dev)[:, None]
            knots = torch.where(sel, lut, knots)
        pos = (x.clamp(0, 1.5) / 1.5 * k).flatten(1)
        i0 = pos.floor().clamp(0, k - 1).long()
        frac = pos - i0
        y = knots.gather(1, i0) * (1 - frac) + knots.gather(1, i0 + 1) * frac
        x = (y * 1.5).view(n, 1, h, w)
    if cfg.p_bias > 0:
        amp = _u(g, n, 0, cfg.bias, dev) * _bern(g, n, cfg.p_bias, dev)
        field = _smooth_field(g, n, 1, 4, (h, w), dev)
        x = x * torch.exp(field * amp[:, None, None, None])
    if cfg.p_band > 0:
        x = x * band_gain(g, n, (h, w), cfg, dev)
    c = _u(g, n, *cfg.contrast, dev)[:, None, None, None]
    mean = x.mean((1, 2, 3), keepdim=True)
    x = ((x - mean) * c + mean).clamp_min(0)
    if cfg.p_lowres > 0:
        sel = _bern(g, n, cfg.p_lowres, dev)
        if sel.any():
            f = float(_u(g, 1, *cfg.lowres, dev))
            small = (max(4, int(h / f)), max(4, int(w / f)))
            low = F.interpolate(x[sel], size=small, mode="bilinear", align_corners=False,
                                antialias=True)
            x = x.clone()
            x[sel] = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    if cfg.p_blur > 0:
        sel = _bern(g, n, cfg.p_blur, dev)
        if sel.any():
            sig = _u(g, int(sel.sum()), *cfg.blur_sigma, dev)
            x = x.clone()
            x[sel] = gaussian_blur2d(x[sel], (7, 7), torch.stack([sig, sig], 1))
    if cfg.p_noise > 0:
        sd = (_u(g, n, *cfg.noise, dev) * _bern(g, n, cfg.p_noise, dev))[:, None, None, None]
        ref = torch.quantile(x.flatten(1), 0.99, dim=1)[:, None, None, None].clamp_min(1e-3)
        n1 = torch.randn(x.shape, generator=g, device=dev) * sd * ref
        n2 = torch.randn(x.shape, generator=g, device=dev) * sd * ref
        rician = _bern(g, n, 0.5, dev)[:, None, None, None]
        x = torch.where(rician, torch.sqrt((x + n1) ** 2 + n2**2), x + n1)
    return _percentile_normalize(x)


def augment_batch(
    image: torch.Tensor, labels: torch.Tensor, sdf: torch.Tensor | None,
    cfg: AugmentConfig | None = None, generator: torch.Generator | None = None,
    intensity: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Augment a batch jointly.

    Args:
        image: (N, 1, H, W) float normalised images.
        labels: (N, H, W) integer labels.
        sdf: (N, C, H, W) signed distances in mm, or None.
        cfg: ranges; default :class:`AugmentConfig`.
        generator: torch generator on the images' device (seeded → reproducible).
        intensity: also apply the intensity changes (geometry is always applied).

    Returns:
        (image, labels (long), sdf) of the same shapes.
    """
    if image.ndim != 4 or image.shape[1] != 1:
        raise ValueError(f"expected (N,1,H,W) images, got {tuple(image.shape)}")
    if labels.shape != (image.shape[0], *image.shape[2:]):
        raise ValueError(f"labels shape {tuple(labels.shape)} does not match images "
                         f"{tuple(image.shape)}")
    cfg = cfg or AugmentConfig()
    dev = image.device
    if generator is None:
        generator = torch.Generator(device=dev)
        generator.seed()
    n, _, h, w = image.shape
    grid, mag = sampling_grid(n, (h, w), cfg, generator, dev)
    local_mag = None
    if cfg.p_swell > 0:
        grid, local_mag = swell_organs(grid, labels, cfg, generator)
    img = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="zeros",
                        align_corners=True)
    lab = F.grid_sample(labels[:, None].float(), grid, mode="nearest", padding_mode="zeros",
                        align_corners=True)[:, 0].round().long()
    out_sdf = None
    if sdf is not None:
        out_sdf = F.grid_sample(sdf.float(), grid, mode="bilinear", padding_mode="border",
                                align_corners=True) * mag[:, None, None, None]
        if local_mag is not None:
            out_sdf = out_sdf * local_mag[:, None]
    if intensity:
        img = vary_organs(img, lab, cfg, generator)
        img = paste_decoys(img, lab, cfg, generator)
        img = paste_organ_copies(img, lab, cfg, generator)
        img = add_ghosts(img, cfg, generator)
        img = augment_intensity(img, cfg, generator)
    return img, lab, out_sdf
