"""Sub-pixel organ contours from label masks, in mm, and arc-length tools.

Conventions (docs/interfaces.md): points are (x_mm, y_mm) with x = col × col
spacing and y = row × row spacing, origin at the centre of the top-left pixel;
closed contours do not repeat their first point and have positive shoelace
area in (x, y).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage import measure

#: Gaussian sigma (pixels) applied to a mask before the 0.5 iso-line is taken.
DEFAULT_SMOOTH_PX = 0.7


def signed_area(points: np.ndarray) -> float:
    """Shoelace area of a closed polygon.

    Args:
        points: (M, 2) xy in mm, first point not repeated.

    Returns:
        Signed area in mm²; positive for the orientation PelviTrack uses.
    """
    p = np.asarray(points, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def orient(points: np.ndarray) -> np.ndarray:
    """Return the closed contour with positive shoelace area (reversed if needed)."""
    p = np.asarray(points, dtype=np.float64)
    return p if signed_area(p) >= 0 else p[::-1].copy()


def perimeter(points: np.ndarray) -> float:
    """Length of a closed polygon (M, 2) in mm."""
    p = np.asarray(points, dtype=np.float64)
    return float(np.sum(np.linalg.norm(np.roll(p, -1, axis=0) - p, axis=1)))


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Largest 8-connected component of a boolean mask (H, W), holes filled."""
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return np.zeros_like(mask, dtype=bool)
    keep = 1
    if n > 1:
        sizes = np.bincount(lab.ravel())
        sizes[0] = 0
        keep = int(np.argmax(sizes))
    sl = ndimage.find_objects(lab, max_label=keep)[keep - 1]
    out = np.zeros(mask.shape, dtype=bool)
    out[sl] = ndimage.binary_fill_holes(lab[sl] == keep)
    return out


def mask_contour(
    mask: np.ndarray,
    spacing_mm: tuple[float, float],
    smooth_px: float = DEFAULT_SMOOTH_PX,
) -> np.ndarray | None:
    """Closed sub-pixel boundary of the largest component of a mask.

    The mask is lightly smoothed (Gaussian, ``smooth_px`` pixels) and the 0.5
    iso-line is traced with marching squares.

    Args:
        mask: (H, W) boolean (or 0/1) mask of one organ in one frame.
        spacing_mm: pixel spacing (row, col) in mm.
        smooth_px: Gaussian sigma in pixels before tracing (0 = none).

    Returns:
        (M, 2) float64 xy in mm, closed (first point not repeated), positive
        shoelace area; ``None`` when the mask is empty.

    Raises:
        ValueError: the mask is not 2D or the spacing is not two positive numbers.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"expected an (H,W) mask, got shape {m.shape}")
    sr, sc = (float(s) for s in np.asarray(spacing_mm, dtype=float).ravel()[:2])
    if not (sr > 0 and sc > 0):
        raise ValueError(f"spacing_mm must be two positive numbers, got {spacing_mm}")
    mb = m.astype(bool)
    any_r, any_c = np.flatnonzero(mb.any(axis=1)), np.flatnonzero(mb.any(axis=0))
    if any_r.size == 0:
        return None
    # label only the mask's bounding box (the frame is mostly background)
    br, bc = any_r[0], any_c[0]
    comp_box = largest_component(mb[br:any_r[-1] + 1, bc:any_c[-1] + 1])
    if not comp_box.any():
        return None
    comp = np.zeros(mb.shape, bool)
    comp[br:br + comp_box.shape[0], bc:bc + comp_box.shape[1]] = comp_box
    rows, cols = np.nonzero(comp_box)
    rows, cols = rows + br, cols + bc
    pad = int(np.ceil(3 * smooth_px)) + 2
    r0, r1 = rows.min() - pad, rows.max() + pad + 1
    c0, c1 = cols.min() - pad, cols.max() + pad + 1
    crop = np.zeros((r1 - r0, c1 - c0), np.float64)
    rr0, cc0 = max(r0, 0), max(c0, 0)
    sub = comp[rr0:min(r1, m.shape[0]), cc0:min(c1, m.shape[1])]
    crop[rr0 - r0:rr0 - r0 + sub.shape[0], cc0 - c0:cc0 - c0 + sub.shape[1]] = sub
    if smooth_px > 0:
        crop = ndimage.gaussian_filter(crop, smooth_px, mode="constant")
    lines = measure.find_contours(crop, 0.5)
    if not lines:  # a speck that smoothing erased: fall back to the raw mask
        crop = (crop > 0).astype(np.float64)
        lines = measure.find_contours(crop, 0.5)
        if not lines:
            return None
    best = max(lines, key=lambda c: abs(signed_area(c[:, ::-1])))
    if len(best) > 1 and np.allclose(best[0], best[-1]):
        best = best[:-1]
    pts = np.column_stack([(best[:, 1] + c0) * sc, (best[:, 0] + r0) * sr])
    pts = _drop_duplicates(pts)
    if len(pts) < 3:
        return None
    return orient(pts)


def _drop_duplicates(points: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    d = np.linalg.norm(np.roll(points, -1, axis=0) - points, axis=1)
    return points[d > tol]


def arc_lengths(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Cumulative arc length at each vertex of a closed polygon.

    Args:
        points: (M, 2) xy in mm.

    Returns:
        (s (M,) with s[0] = 0, total length L) in mm.
    """
    p = np.asarray(points, dtype=np.float64)
    seg = np.linalg.norm(np.roll(p, -1, axis=0) - p, axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
    return s, float(seg.sum())


def point_at(points: np.ndarray, s_query: np.ndarray) -> np.ndarray:
    """Points of a closed polygon at arc-length positions (wrapped modulo L).

    Args:
        points: (M, 2) xy in mm.
        s_query: (K,) arc lengths in mm from the first vertex.

    Returns:
        (K, 2) xy in mm.
    """
    p = np.asarray(points, dtype=np.float64)
    s, length = arc_lengths(p)
    q = np.mod(np.asarray(s_query, dtype=np.float64), length)
    sc = np.concatenate([s, [length]])
    pc = np.vstack([p, p[:1]])
    return np.column_stack([np.interp(q, sc, pc[:, 0]), np.interp(q, sc, pc[:, 1])])


def resample_closed(points: np.ndarray, n: int, start: np.ndarray | None = None) -> np.ndarray:
    """Resample a closed contour to n points evenly spaced in arc length.

    Args:
        points: (M, 2) xy in mm, closed, first point not repeated.
        n: number of output points (>= 3).
        start: optional (2,) xy; the first output point is the contour point
            closest to it (else the first vertex).

    Returns:
        (n, 2) xy in mm, same orientation as the input.
    """
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    p = np.asarray(points, dtype=np.float64)
    _, length = arc_lengths(p)
    s0 = 0.0 if start is None else float(project_to_contour(p, np.asarray(start)[None])[1][0])
    return point_at(p, s0 + np.arange(n) * (length / n))


def project_to_contour(
    contour: np.ndarray, queries: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Closest points on a closed polyline.

    The nearest vertices (k-d tree, 4 candidates) are found first and the query
    is projected onto the segments on either side of each; for contours traced
    from masks (vertex spacing below a pixel) this is the exact closest point
    except in pathological cases, and much faster than testing every segment.

    Args:
        contour: (M, 2) xy in mm, closed.
        queries: (K, 2) xy in mm.

    Returns:
        (closest (K, 2) xy in mm, their arc-length positions (K,) in mm).
    """
    c = np.asarray(contour, dtype=np.float64)
    q = np.asarray(queries, dtype=np.float64)
    m = len(c)
    ab = np.roll(c, -1, axis=0) - c
    ab2 = np.maximum(np.sum(ab * ab, axis=1), 1e-18)
    s, _ = arc_lengths(c)
    seg_len = np.sqrt(ab2)
    k = min(4, m)
    _, idx = cKDTree(c).query(q, k=k)
    idx = np.asarray(idx).reshape(len(q), k)
    segs = np.concatenate([idx, (idx - 1) % m], axis=1)  # (K, 2k) candidate segments
    a = c[segs]
    d = ab[segs]
    t = np.clip(np.sum((q[:, None] - a) * d, axis=2) / ab2[segs], 0.0, 1.0)
    proj = a + t[..., None] * d
    d2 = np.sum((q[:, None] - proj) ** 2, axis=2)
    best = np.argmin(d2, axis=1)
    rows = np.arange(len(q))
    j = segs[rows, best]
    return proj[rows, best], s[j] + t[rows, best] * seg_len[j]
