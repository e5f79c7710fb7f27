"""Pre-processing shared by training and inference.

Both sides use the same functions so the network always sees frames on the
same grid (the model's training spacing, mm per pixel) with the same robust
intensity scale.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from torch.nn import functional as F

#: Percentiles mapped to 0 and 1 by :func:`normalize_intensity`.
DEFAULT_PERCENTILES = (1.0, 99.0)


def normalize_intensity(
    frames: np.ndarray, percentiles: tuple[float, float] = DEFAULT_PERCENTILES
) -> np.ndarray:
    """Map intensities robustly to about [0, 1] using percentiles of the whole series.

    Args:
        frames: (T, H, W) or (H, W) array of intensities (any unit).
        percentiles: (low, high) percentiles mapped to 0 and 1.

    Returns:
        float32 array of the same shape, clipped to [-1, 2].

    Large series (> 2**20 pixels) take the percentiles of every second row and column
    (deterministic; the same function serves training, so both see the same scale).
    """
    a = np.asarray(frames, dtype=np.float32)
    if a.ndim not in (2, 3):
        raise ValueError(f"expected (T,H,W) or (H,W) frames, got shape {a.shape}")
    sample = a[..., ::2, ::2] if a.size > 2**20 else a
    lo, hi = np.percentile(sample, percentiles)
    scale = float(hi - lo)
    if not np.isfinite(scale) or scale <= 1e-12:
        scale = float(np.max(np.abs(a - lo))) or 1.0
    return np.clip((a - lo) / scale, -1.0, 2.0).astype(np.float32)


def target_shape(
    shape: tuple[int, int], spacing_mm: tuple[float, float], target_mm: float
) -> tuple[int, int]:
    """Matrix (H', W') that covers the same field of view at ``target_mm`` per pixel."""
    return (
        max(1, int(round(shape[0] * spacing_mm[0] / target_mm))),
        max(1, int(round(shape[1] * spacing_mm[1] / target_mm))),
    )


def resample_images(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resampling of images (N, C, H, W) to ``size`` (anti-aliased when shrinking)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def resample_labels(labels: np.ndarray, size: tuple[int, int], n_classes: int) -> np.ndarray:
    """Resample label maps (T, H, W) to (T, H', W') by argmax of resampled one-hot maps.

    Smoother and less biased than nearest-neighbour resampling.
    """
    lab = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if lab.ndim != 3:
        raise ValueError(f"expected (T,H,W) labels, got shape {tuple(lab.shape)}")
    if tuple(lab.shape[-2:]) == tuple(size):
        return np.asarray(labels, dtype=np.uint8)
    onehot = F.one_hot(lab, n_classes).permute(0, 3, 1, 2).float()
    out = F.interpolate(onehot, size=size, mode="bilinear", align_corners=False)
    return out.argmax(1).numpy().astype(np.uint8)


def signed_distance(
    labels: np.ndarray, n_classes: int, spacing_mm: tuple[float, float] | float = 1.0,
    absent_mm: float = 50.0,
) -> np.ndarray:
    """Exact signed distance maps of each organ of a label map, in mm.

    Computed with :func:`scipy.ndimage.distance_transform_edt` (exact Euclidean):
    outside an organ the distance to its nearest pixel, inside minus the
    distance to the nearest pixel outside.  Class 0 (background) is all zeros;
    an organ absent from the frame gets ``+absent_mm`` everywhere.

    Args:
        labels: (H, W) integer labels 0..n_classes-1.
        n_classes: classes including background.
        spacing_mm: pixel spacing (row, col) or one number, in mm.
        absent_mm: value for organs missing from the frame.

    Returns:
        float32 (n_classes, H, W) signed distances in mm (negative inside).
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ValueError(f"expected (H,W) labels, got shape {lab.shape}")
    sp = (float(spacing_mm),) * 2 if np.isscalar(spacing_mm) else tuple(spacing_mm)
    out = np.zeros((n_classes, *lab.shape), dtype=np.float32)
    for c in range(1, n_classes):
        m = lab == c
        if not m.any():
            out[c] = absent_mm
        elif m.all():
            out[c] = -absent_mm
        else:
            outside = ndimage.distance_transform_edt(~m, sampling=sp)
            out[c] = outside - ndimage.distance_transform_edt(m, sampling=sp)
    return out


def pad_to_multiple(x: torch.Tensor, multiple: int, value: float = 0.0
                    ) -> tuple[torch.Tensor, tuple[slice, slice]]:
    """Pad (N, C, H, W) symmetrically so H and W are multiples of ``multiple``.

    Returns:
        The padded tensor and the (row, col) slices that crop it back.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    top, left = ph // 2, pw // 2
    if ph or pw:
        x = F.pad(x, (left, pw - left, top, ph - top), value=value)
    return x, (slice(top, top + h), slice(left, left + w))
