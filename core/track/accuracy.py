"""Accuracy of tracked points against known material trajectories, and a baseline.

Used by the tests and by ``benchmarks/tracking_accuracy.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.track.contours import resample_closed


def trajectory_error(tracked: np.ndarray, truth: np.ndarray, rest_frame: int = 0) -> np.ndarray:
    """Distance between true material paths and the tracked paths at the same material point.

    Each true point is located on the tracked rest polygon (segment j, fraction
    τ between tracked points j and j+1); in every frame its predicted position
    is the same interpolation between tracked points j and j+1.

    Args:
        tracked: (T, N, 2) tracked xy mm (point i = one material point).
        truth: (T, K, 2) true material points, on the rest contour at rest.
        rest_frame: frame where both sets lie on the same boundary.

    Returns:
        (T, K) error in mm (NaN where the tracked points are invalid).
    """
    p = np.asarray(tracked, dtype=np.float64)
    q = np.asarray(truth, dtype=np.float64)
    if p.ndim != 3 or q.ndim != 3 or p.shape[0] != q.shape[0]:
        raise ValueError(f"expected (T,N,2) and (T,K,2), got {p.shape} and {q.shape}")
    a = p[rest_frame]
    b = np.roll(a, -1, axis=0)
    ab = b - a
    ab2 = np.maximum(np.sum(ab * ab, axis=1), 1e-18)
    qq = q[rest_frame][:, None, :]
    tau = np.clip(np.sum((qq - a[None]) * ab[None], axis=2) / ab2[None], 0.0, 1.0)
    d2 = np.sum((qq - (a[None] + tau[..., None] * ab[None])) ** 2, axis=2)
    j = np.argmin(d2, axis=1)
    tj = tau[np.arange(len(j)), j][None, :, None]
    jn = (j + 1) % p.shape[1]
    pred = (1 - tj) * p[:, j] + tj * p[:, jn]
    return np.linalg.norm(pred - q, axis=2)


def arclength_tracks(
    contours: Sequence[np.ndarray | None], n_points: int, rest_frame: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Baseline: resample each frame's contour evenly by arc length.

    Point 0 is the contour point closest to the rest frame's point 0 (the most
    cranial point at rest); no image motion is used.

    Args:
        contours: per frame a closed contour (M, 2) xy mm or None.
        n_points: N.
        rest_frame: reference frame.

    Returns:
        (points (T, N, 2) xy mm with NaN where missing, valid (T, N) bool).
    """
    t_n = len(contours)
    pts = np.full((t_n, n_points, 2), np.nan)
    ok = np.zeros((t_n, n_points), bool)
    rest = contours[rest_frame]
    if rest is None:
        return pts, ok
    start = rest[np.lexsort((rest[:, 0], rest[:, 1]))[0]]
    for t, c in enumerate(contours):
        if c is not None:
            pts[t] = resample_closed(c, n_points, start=start)
            ok[t] = True
    return pts, ok
