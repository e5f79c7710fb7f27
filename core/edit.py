"""Hand correction of label maps: brush strokes in mm (Qt-free).

The desktop app's label editor calls these; they are plain numpy so that a
script can make the same corrections.  A stroke is the set of pixels whose
centres lie within ``radius_mm`` of a polyline through the pointer positions
(pixel coordinates, row/column, fractional), measured in mm with the series'
own (possibly anisotropic) spacing.  At least the pixel under each position is
always in the stroke, so the smallest brush still paints.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Brush radius limits (mm) the editor accepts.
MIN_RADIUS_MM = 0.5
MAX_RADIUS_MM = 50.0


def _check(shape: tuple[int, int], spacing_mm: Sequence[float], radius_mm: float) -> None:
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"expected a 2D frame shape, got {shape}")
    if len(spacing_mm) != 2 or not all(np.isfinite(s) and s > 0 for s in spacing_mm):
        raise ValueError(f"spacing must be two positive numbers (mm), got {tuple(spacing_mm)}")
    if not (np.isfinite(radius_mm) and MIN_RADIUS_MM <= radius_mm <= MAX_RADIUS_MM):
        raise ValueError(
            f"brush radius must be {MIN_RADIUS_MM}–{MAX_RADIUS_MM} mm, got {radius_mm}")


def stroke_mask(shape: tuple[int, int], spacing_mm: Sequence[float],
                points_rc: Sequence[Sequence[float]], radius_mm: float) -> np.ndarray:
    """Pixels covered by a round brush moved along a polyline.

    Args:
        shape: (H, W) of the frame.
        spacing_mm: (row, column) pixel spacing in mm.
        points_rc: (N, 2) pointer positions in pixel coordinates (row, column),
            pixel centres at integers; N ≥ 1.  Positions off the frame are allowed
            (the part of the brush on the frame still paints).
        radius_mm: brush radius in mm.

    Returns:
        bool (H, W) mask.

    Raises:
        ValueError: bad shape, spacing, radius or positions.
    """
    shape = (int(shape[0]), int(shape[1]))
    _check(shape, spacing_mm, float(radius_mm))
    pts = np.asarray(points_rc, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0 or not np.isfinite(pts).all():
        raise ValueError("a stroke needs at least one finite (row, column) position")
    sr, sc = (float(s) for s in spacing_mm)
    r_mm = float(radius_mm)
    h, w = shape
    mask = np.zeros(shape, dtype=bool)
    # the segments' bounding box, grown by the radius, limits the work to a window
    pad_r, pad_c = r_mm / sr + 1, r_mm / sc + 1
    r0 = max(0, int(np.floor(pts[:, 0].min() - pad_r)))
    r1 = min(h, int(np.ceil(pts[:, 0].max() + pad_r)) + 1)
    c0 = max(0, int(np.floor(pts[:, 1].min() - pad_c)))
    c1 = min(w, int(np.ceil(pts[:, 1].max() + pad_c)) + 1)
    if r0 < r1 and c0 < c1:
        rr, cc = np.mgrid[r0:r1, c0:c1]
        y, x = rr * sr, cc * sc                       # pixel centres in mm
        p = pts * (sr, sc)
        d2 = np.full(rr.shape, np.inf)
        segs = [(p[0], p[0])] if len(p) == 1 else list(zip(p[:-1], p[1:], strict=True))
        for a, b in segs:
            ab = b - a
            n2 = float(ab @ ab)
            if n2 > 0:
                t = np.clip(((y - a[0]) * ab[0] + (x - a[1]) * ab[1]) / n2, 0.0, 1.0)
            else:
                t = 0.0
            dy, dx = y - (a[0] + t * ab[0]), x - (a[1] + t * ab[1])
            np.minimum(d2, dy * dy + dx * dx, out=d2)
        mask[r0:r1, c0:c1] = d2 <= r_mm * r_mm
    # the pixel under each position paints even when the brush is smaller than a pixel
    idx = np.rint(pts).astype(np.int64)
    ok = (idx[:, 0] >= 0) & (idx[:, 0] < h) & (idx[:, 1] >= 0) & (idx[:, 1] < w)
    mask[idx[ok, 0], idx[ok, 1]] = True
    return mask


def paint(labels_hw: np.ndarray, mask: np.ndarray, value: int, *,
          only: int | None = None) -> np.ndarray:
    """Set the masked pixels of one frame's labels to ``value`` (a new array).

    Args:
        labels_hw: integer labels (H, W).
        mask: bool (H, W) pixels to change.
        value: the label to write (0 = background, i.e. erase).
        only: when given, change only pixels that currently hold this label
            (an eraser that removes one organ and leaves its neighbours).

    Returns:
        uint8 (H, W) labels.

    Raises:
        ValueError: shapes differ or a label is outside 0..255.
    """
    lab = np.asarray(labels_hw)
    m = np.asarray(mask, dtype=bool)
    if lab.ndim != 2 or lab.shape != m.shape:
        raise ValueError(f"labels {lab.shape} and mask {m.shape} must be the same 2D shape")
    if not 0 <= int(value) <= 255:
        raise ValueError(f"label value must be 0..255, got {value}")
    out = lab.astype(np.uint8, copy=True)
    if only is not None:
        m = m & (out == int(only))
    out[m] = int(value)
    return out


def copy_organ(source_hw: np.ndarray, target_hw: np.ndarray, value: int) -> np.ndarray:
    """The target frame's labels with one organ replaced by the source frame's (a new array).

    The organ's pixels in the target become background, then the source's organ
    pixels take the organ's label (over whatever the target had there): a frame
    drawn right is carried to a neighbour that came out wrong.

    Raises:
        ValueError: shapes differ or ``value`` is not an organ label (1..255).
    """
    src, dst = np.asarray(source_hw), np.asarray(target_hw)
    if src.ndim != 2 or src.shape != dst.shape:
        raise ValueError(f"source {src.shape} and target {dst.shape} must be the same 2D shape")
    if not 1 <= int(value) <= 255:
        raise ValueError(f"organ label must be 1..255, got {value}")
    out = dst.astype(np.uint8, copy=True)
    out[out == int(value)] = 0
    out[src == int(value)] = int(value)
    return out


def fill_organ(labels_hw: np.ndarray, value: int) -> np.ndarray:
    """The frame's labels with everything the organ encloses given to the organ (a new array).

    Outline an organ with the brush, then fill: pixels cut off from the frame's edge by
    the organ's pixels (4-connected background, so a diagonal gap does not leak)
    become the organ, whatever they held.

    Raises:
        ValueError: not a 2D label frame, or ``value`` is not an organ label (1..255).
    """
    from scipy import ndimage

    lab = np.asarray(labels_hw)
    if lab.ndim != 2:
        raise ValueError(f"expected one (H, W) label frame, got shape {lab.shape}")
    if not 1 <= int(value) <= 255:
        raise ValueError(f"organ label must be 1..255, got {value}")
    organ = lab == int(value)
    filled = ndimage.binary_fill_holes(organ)
    out = lab.astype(np.uint8, copy=True)
    out[filled] = int(value)
    return out
