"""Rest-frame organ contours on the exact zero level of the organ level sets."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.measure import find_contours

from core.phantom.grid import Canvas


def _value(level: np.ndarray, rc: np.ndarray) -> np.ndarray:
    return ndimage.map_coordinates(level, rc.T, order=1, mode="nearest")


def resample_closed(pts: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced by arc length on a closed polyline (M, 2)."""
    closed = np.vstack([pts, pts[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], n, endpoint=False)
    return np.stack([np.interp(t, s, closed[:, 0]), np.interp(t, s, closed[:, 1])], 1)


def shoelace_area(pts: np.ndarray) -> float:
    """Signed area of a closed polygon (positive = counter-clockwise in (x, y))."""
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def rest_contour(level: np.ndarray, canvas: Canvas, n: int) -> np.ndarray:
    """Contour of an organ at rest: ``n`` points, image mm, on the level set's zero.

    The zero level of the bilinearly interpolated fine-grid level set is traced
    (marching squares), resampled evenly by arc length, and each point is moved
    onto the exact zero by Newton steps along the gradient.  Points are ordered
    with positive shoelace area in (x, y), starting at the most cranial point.

    Args:
        level: fine-grid level set (mm, negative inside).
        canvas: the fine grid.
        n: number of points.

    Returns:
        (n, 2) float64 (x, y) image mm.

    Raises:
        ValueError: the level set has no closed zero contour.
    """
    contours = [c for c in find_contours(level, 0.0) if np.allclose(c[0], c[-1])]
    if not contours:
        raise ValueError("organ level set has no closed contour (organ outside the grid?)")
    rc = max(contours, key=len)[:-1]
    # Resample finely in index space, project, then resample to n in mm.
    for target in (max(4 * n, len(rc)), n):
        xy = canvas.index_to_image(rc)
        if shoelace_area(xy) < 0:
            xy = xy[::-1]
        xy = resample_closed(xy, target)
        rc = canvas.image_to_index(xy)
        for _ in range(6):
            h = 0.05
            f = _value(level, rc)
            gr = (_value(level, rc + [h, 0]) - _value(level, rc - [h, 0])) / (2 * h)
            gc = (_value(level, rc + [0, h]) - _value(level, rc - [0, h])) / (2 * h)
            g2 = gr**2 + gc**2
            ok = g2 > 1e-12
            stepv = np.where(ok, f / np.where(ok, g2, 1.0), 0.0)
            rc = rc - np.stack([stepv * gr, stepv * gc], 1)
    xy = canvas.index_to_image(rc)
    start = int(np.argmin(xy[:, 1]))
    return np.roll(xy, -start, axis=0)
