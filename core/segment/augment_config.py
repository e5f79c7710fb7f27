"""Ranges of the training augmentation (:class:`AugmentConfig`) and the random draws
shared by :mod:`core.segment.augment` and :mod:`core.segment.distractors`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
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
        p_swell: probability that a sample has one of its organs enlarged
            (:func:`~core.segment.augment.swell_organs`): a radial zoom about the organ's
            centre, composed into the sampling grid, so image, labels and signed distances
            follow it. 0 by default, like ``p_decoy``.
        swell_scale: (min, max) zoom of the enlarged organ (log-uniform).
        swell_reach: the zoom tapers to nothing at this many times the enlarged organ's
            radius (the tissue in between is pushed aside).
        p_organ: probability that a sample has the intensity of its organs changed
            (:func:`~core.segment.augment.vary_organs`): each organ present, with
            probability one half each (at least one), gets its own smooth multiplicative
            gain, a mean log-gain uniform in ``±organ_gain`` plus a smooth random field of
            amplitude up to ``organ_texture`` (blotches of about a sixth of the side, such
            as fibroids or stool), and on a third of them a bright offset up to
            ``organ_offset`` (so a dark organ can turn bright). Soft-edged (about one
            pixel); labels and signed distances are unchanged. 0 by default, like
            ``p_decoy``.
        organ_gain: largest |mean log-gain| of a varied organ.
        organ_texture: largest amplitude of the smooth log-gain field inside it.
        organ_offset: largest additive offset (normalised intensity) of a varied organ.
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
    p_swell: float = 0.0
    swell_scale: tuple[float, float] = (1.2, 2.0)
    swell_reach: float = 1.8
    p_organ: float = 0.0
    organ_gain: float = 0.9
    organ_texture: float = 0.6
    organ_offset: float = 0.4

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
