"""Strong joint augmentation of training batches on the training device (kornia + torch).

Geometry (one sampling grid per sample, applied to image, labels and signed
distances together): affine (rotation, isotropic scale, shear, translation,
built with :func:`kornia.geometry.transform.get_affine_matrix2d`) composed with a
smooth elastic displacement.  Images and SDFs are resampled bilinearly, labels
by nearest neighbour; SDF values are multiplied by the local magnification so
they stay distances on the output grid.  No left-right (or any) flips: the
anatomy is in canonical orientation.

Decoys (image only, off by default): organ-bright soft ellipses pasted into the
background, labels unchanged, so the network must use anatomy and context rather
than brightness alone (a full-looking round bright region is not always the bladder).
Organ copies (image only, off by default): a sample's own organ, with its texture and
rim, moved, turned and resized into its background, labels unchanged: a decoy that looks
like the organ in everything but its place.

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
from dataclasses import asdict, dataclass

import torch
from kornia.filters import gaussian_blur2d
from kornia.geometry.conversions import normalize_homography
from kornia.geometry.transform import get_affine_matrix2d
from torch.nn import functional as F


@dataclass
class AugmentConfig:
    """Ranges of the random augmentation (all per sample).

    Attributes:
        rotation_deg: max |rotation| in degrees.
        scale: (min, max) isotropic scale (log-uniform).
        shear: max |shear| (tangent) in x and y.
        translate: max |translation| as a fraction of the side.
        elastic_mm: max elastic displacement amplitude in pixels.
        elastic_grid: control points per side of the elastic field.
        bias: max log-amplitude of the multiplicative bias field.
        curve: strength of the random monotone intensity curve (0 = identity).
        contrast: (min, max) contrast factor.
        noise: (min, max) noise σ relative to the normalised range [0, 1].
        blur_sigma: (min, max) Gaussian blur σ in pixels.
        lowres: (min, max) down-sampling factor of the resolution change.
        band_depth: (min, max) signal loss at the centre of a dark band.
        band_width: (min, max) half-width of a band in radians of off-resonance phase
            (a band spans about ``2 * width / (2 * pi)`` of the distance between bands).
        band_cycles: max phase excursion of the off-resonance field, in multiples of pi
            (so at most about this many bands cross the image).
        p_elastic, p_bias, p_blur, p_lowres, p_noise, p_band: probabilities; ``p_band``
            is 0 by default, so configurations saved before it existed train as they did.
        p_lut: probability that the intensity curve is a random non-monotone one instead
            of the gamma-like one (four knot values uniform in [0, 1] over the same range,
            so slopes stay within 3 and noise is not blown up): the order of the tissues'
            brightness changes (dark urine, bright muscle...); 0 by default, like
            ``p_band``; needs ``curve > 0``.
        p_decoy: probability that a sample gets decoys (:func:`paste_decoys`): one or
            two soft ellipses as bright as one of its organs, pasted where the labels are
            background and at least ``decoy_margin`` pixels from every organ; labels and
            signed distances are unchanged. 0 by default, like ``p_band``.
        decoy_size: (min, max) semi-axis of a decoy as a fraction of the shorter side.
        decoy_margin: decoys keep this many pixels away from every organ (organ copies
            too).
        p_copy: probability that a sample gets an organ copy (:func:`paste_organ_copies`):
            the image inside one of its organs (soft-edged), rotated, resized by
            ``copy_scale`` and centred inside the body, pasted where the labels are background and
            at least ``decoy_margin`` pixels from every organ; labels and signed distances
            are unchanged. 0 by default, like ``p_decoy``.
        copy_scale: (min, max) size factor of an organ copy (log-uniform).
        p_ghost: probability that a sample gets a ghost (:func:`add_ghosts`): a faint
            copy of the whole image shifted by half (or a third) of the field of view
            along one axis, with wrap-around, as Nyquist N/2 ghosting or the residual
            aliasing of parallel imaging leave it; labels and signed distances are
            unchanged. 0 by default, like ``p_decoy``.
        ghost_amp: (min, max) amplitude of the ghost relative to the image.
    """

    rotation_deg: float = 15.0
    scale: tuple[float, float] = (0.8, 1.25)
    shear: float = 0.12
    translate: float = 0.08
    elastic_mm: float = 6.0
    elastic_grid: int = 6
    bias: float = 0.5
    curve: float = 0.6
    contrast: tuple[float, float] = (0.6, 1.5)
    noise: tuple[float, float] = (0.0, 0.12)
    blur_sigma: tuple[float, float] = (0.3, 1.3)
    lowres: tuple[float, float] = (1.2, 2.2)
    p_elastic: float = 0.8
    p_bias: float = 0.8
    p_blur: float = 0.3
    p_lowres: float = 0.3
    p_noise: float = 0.9
    band_depth: tuple[float, float] = (0.4, 0.95)
    band_width: tuple[float, float] = (0.15, 0.7)
    band_cycles: float = 3.0
    p_band: float = 0.0
    p_lut: float = 0.0
    p_decoy: float = 0.0
    decoy_size: tuple[float, float] = (0.03, 0.15)
    decoy_margin: int = 4
    p_copy: float = 0.0
    copy_scale: tuple[float, float] = (0.6, 1.5)
    p_ghost: float = 0.0
    ghost_amp: tuple[float, float] = (0.05, 0.35)

    def to_dict(self) -> dict:
        """JSON-able dict of the ranges."""
        return asdict(self)


def _u(g: torch.Generator, n: int, lo: float, hi: float, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) * (hi - lo) + lo


def _bern(g: torch.Generator, n: int, p: float, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) < p


def _smooth_field(g: torch.Generator, n: int, c: int, grid: int, size: tuple[int, int],
                  device: torch.device) -> torch.Tensor:
    """Random field (n, c, H, W) in about [-1, 1], smooth at scale side/grid."""
    coarse = torch.rand(n, c, grid, grid, generator=g, device=device) * 2 - 1
    return F.interpolate(coarse, size=size, mode="bicubic", align_corners=True)


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
    amp = _u(g, n, *cfg.ghost_amp, dev) * sel
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
    img = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="zeros",
                        align_corners=True)
    lab = F.grid_sample(labels[:, None].float(), grid, mode="nearest", padding_mode="zeros",
                        align_corners=True)[:, 0].round().long()
    out_sdf = None
    if sdf is not None:
        out_sdf = F.grid_sample(sdf.float(), grid, mode="bilinear", padding_mode="border",
                                align_corners=True) * mag[:, None, None, None]
    if intensity:
        img = paste_decoys(img, lab, cfg, generator)
        img = paste_organ_copies(img, lab, cfg, generator)
        img = add_ghosts(img, cfg, generator)
        img = augment_intensity(img, cfg, generator)
    return img, lab, out_sdf
