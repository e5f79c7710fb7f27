"""Geometric primitives of the phantom: signed distances (mm, negative inside).

Every primitive takes body-frame coordinates ``X, Y`` (arrays of the same
shape, mm) and returns an approximate signed distance of the same shape.  The
zero level is the shape's boundary; values are exact distances for circles and
capsules and close to distances near the boundary for the others, which is all
the renderer needs (walls, partial volume, label level sets).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth minimum (union) of two signed distances with blending radius ``k`` mm."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.clip(k - np.abs(a - b), 0.0, None) / k
    return np.minimum(a, b) - h * h * k * 0.25


def fourier_radius(theta: np.ndarray, coeffs: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """Radial profile factor ``1 + sum_k c_k cos(k theta + phi_k)`` (k = 2, 3, ...)."""
    r = np.ones_like(theta)
    for k, (c, ph) in enumerate(zip(coeffs, phases, strict=True), start=2):
        r = r + c * np.cos(k * theta + ph)
    return r


def blob_sdf(
    X: np.ndarray,
    Y: np.ndarray,
    centre: tuple[float, float],
    radii: tuple[float, float],
    angle: float,
    coeffs: np.ndarray | None = None,
    phases: np.ndarray | None = None,
    power: float = 2.0,
) -> np.ndarray:
    """Irregular closed blob: superellipse with a radial Fourier perturbation.

    Args:
        X, Y: body-frame coordinates (mm), any shape.
        centre: (x, y) centre in mm.
        radii: semi-axes (a along the rotated x axis, b along the rotated y axis) in mm.
        angle: rotation of the axes in radians.
        coeffs, phases: relative amplitudes and phases of harmonics k = 2, 3, ...
        power: superellipse exponent (2 = ellipse, > 2 boxier).

    Returns:
        Approximate signed distance (mm), negative inside; same shape as ``X``.
    """
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = X - centre[0], Y - centre[1]
    u = (c * dx + s * dy) / radii[0]
    v = (-s * dx + c * dy) / radii[1]
    if power == 2.0:
        rho = np.hypot(u, v)
    else:
        rho = (np.abs(u) ** power + np.abs(v) ** power) ** (1.0 / power)
    if coeffs is not None and len(coeffs):
        theta = np.arctan2(v, u)
        rho = rho / fourier_radius(theta, np.asarray(coeffs), np.asarray(phases))
    return (rho - 1.0) * min(radii)


def polyline_distance(
    X: np.ndarray, Y: np.ndarray, pts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to an open polyline and the arc-length parameter of the nearest point.

    Args:
        X, Y: coordinates (mm).
        pts: (K, 2) polyline vertices (mm), K >= 2.

    Returns:
        (distance mm, s in [0, 1] along the polyline), both shaped like ``X``.
    """
    pts = np.asarray(pts, dtype=float)
    seg = np.diff(pts, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    total = cum[-1]
    best = np.full(X.shape, np.inf)
    best_s = np.zeros(X.shape)
    for i in range(len(seg)):
        l2 = max(seg_len[i] ** 2, 1e-12)
        t = ((X - pts[i, 0]) * seg[i, 0] + (Y - pts[i, 1]) * seg[i, 1]) / l2
        t = np.clip(t, 0.0, 1.0)
        d = np.hypot(X - pts[i, 0] - t * seg[i, 0], Y - pts[i, 1] - t * seg[i, 1])
        closer = d < best
        best = np.where(closer, d, best)
        best_s = np.where(closer, (cum[i] + t * seg_len[i]) / total, best_s)
    return best, best_s


def tube_sdf(
    X: np.ndarray, Y: np.ndarray, pts: np.ndarray, radii: np.ndarray
) -> np.ndarray:
    """Tube of varying radius around a polyline (rounded ends), signed distance in mm.

    Args:
        X, Y: coordinates (mm).
        pts: (K, 2) centre-line vertices (mm).
        radii: (K,) radius at each vertex (mm), interpolated along arc length.
    """
    d, s = polyline_distance(X, Y, pts)
    seg_len = np.hypot(*np.diff(np.asarray(pts, float), axis=0).T)
    knots = np.concatenate([[0.0], np.cumsum(seg_len)]) / max(seg_len.sum(), 1e-12)
    return d - np.interp(s, knots, np.asarray(radii, dtype=float))


def smooth_curve(ctrl: np.ndarray, n: int = 64, closed: bool = False) -> np.ndarray:
    """Catmull-Rom curve through control points, (n, 2) mm."""
    p = np.asarray(ctrl, dtype=float)
    if closed:
        p = np.concatenate([p[-1:], p, p[:2]])
    else:
        p = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    n_seg = len(p) - 3
    t = np.linspace(0.0, n_seg, n, endpoint=not closed)
    i = np.minimum(t.astype(int), n_seg - 1)
    u = (t - i)[:, None]
    p0, p1, p2, p3 = p[i], p[i + 1], p[i + 2], p[i + 3]
    return 0.5 * (
        2 * p1
        + (-p0 + p2) * u
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2
        + (-p0 + 3 * p1 - 3 * p2 + p3) * u**3
    )


def smooth_noise(
    shape: tuple[int, int], scale_px: float, rng: np.random.Generator
) -> np.ndarray:
    """Smooth random field with unit standard deviation and correlation ~``scale_px``.

    Made on a coarse grid and upsampled, so it costs little for any scale.
    """
    step = max(1.0, scale_px / 2.0)
    small = (max(4, int(shape[0] / step) + 4), max(4, int(shape[1] / step) + 4))
    field = ndimage.gaussian_filter(rng.standard_normal(small), 1.2, mode="wrap")
    zoom = (shape[0] / (small[0] - 3), shape[1] / (small[1] - 3))
    out = ndimage.zoom(field, zoom, order=1, mode="nearest")[: shape[0], : shape[1]]
    if out.shape != shape:
        out = np.pad(out, [(0, shape[0] - out.shape[0]), (0, shape[1] - out.shape[1])], "edge")
    sd = out.std()
    return (out - out.mean()) / (sd if sd > 0 else 1.0)
