"""Put moved points back on a frame's boundary, keep their order, smooth in time."""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

from core.track.contours import arc_lengths, point_at, project_to_contour


def snap_to_contour(contour: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Arc-length positions of the closest contour points.

    Args:
        contour: (M, 2) closed contour, xy mm.
        points: (N, 2) xy mm (e.g. rest points moved by the registration).

    Returns:
        (N,) arc-length positions in mm along ``contour`` (from its vertex 0).
    """
    return project_to_contour(contour, points)[1]


def regularize_spacing(
    contour: np.ndarray, s: np.ndarray, min_gap_fraction: float = 0.3, smooth_pts: float = 0.0
) -> np.ndarray:
    """Points on a contour at arc positions s, in order and without bunching.

    The gaps between consecutive points (going around the contour in the
    contour's direction) are taken as signed values in [-L/2, L/2); gaps below
    ``min_gap_fraction`` × L/N are raised to it and all gaps rescaled to sum to
    L (so the smallest ends slightly below that fraction), keeping the mean
    position: order is preserved and no two points coincide.

    Args:
        contour: (M, 2) closed contour, xy mm.
        s: (N,) arc positions in mm.
        min_gap_fraction: minimal gap as a fraction of the even spacing L/N.
        smooth_pts: optional Gaussian sigma (in points) applied to the gaps.

    Returns:
        (N, 2) xy mm on the contour.
    """
    _, length = arc_lengths(contour)
    n = len(s)
    s = repair_jumps(s, length)
    # signed gaps in [-L/2, L/2): a point snapped slightly behind its predecessor
    # gives a small negative gap (clipped below), not a whole extra turn
    gaps = _wrap(np.diff(np.concatenate([s, s[:1]])), length)
    turns = gaps.sum() / length
    if not 0.5 < turns < 1.5:
        # not one turn around the contour: keep the arc positions, sorted
        gaps = np.mod(np.diff(np.concatenate([np.sort(s), np.sort(s)[:1]])), length)
        if gaps.sum() <= 0:
            gaps = np.full(n, length / n)
    if smooth_pts > 0:
        from scipy.ndimage import gaussian_filter1d

        gaps = gaussian_filter1d(gaps, smooth_pts, mode="wrap")
    gaps = np.maximum(gaps, min_gap_fraction * length / n)
    gaps *= length / gaps.sum()
    new = s[0] + np.concatenate([[0.0], np.cumsum(gaps)[:-1]])
    shift = np.mean(_wrap(s - new, length))
    return point_at(contour, new + shift)


def _wrap(d: np.ndarray, length: float) -> np.ndarray:
    return (d + length / 2) % length - length / 2


def repair_jumps(s: np.ndarray, length: float, max_jump: float = 0.1, half_window: int = 3
                 ) -> np.ndarray:
    """Arc positions with isolated far jumps put back in line with their neighbours.

    Where an organ is thin (a collapsed rectum, the vagina), the closest contour
    point of a moved point can lie on the opposite wall, half the contour away.
    Its gaps to its neighbours are then about +L/2 and -L/2; clipping the negative
    one and rescaling the rest would slide every point along the contour. Such a
    point is found as one whose offset from even spacing differs from the running
    median of its neighbours' offsets (``2 * half_window + 1`` points, circular) by
    more than ``max_jump`` × L, and is given that median instead.

    Args:
        s: (N,) arc positions in mm.
        length: contour length L in mm.
        max_jump: largest plausible departure, as a fraction of L.
        half_window: neighbours on each side used for the median.

    Returns:
        (N,) arc positions; ``s`` itself when nothing is far, or when more than a
        quarter of the points would be (then there is no local majority to trust).
    """
    n = len(s)
    if n < 2 * half_window + 1:
        return s
    idx = np.arange(n)
    off = _wrap(s - s[0] - idx * length / n, length)
    # centre the offsets on their circular mean so that the median does not straddle ±L/2
    ang = np.exp(2j * np.pi * off / length).mean()
    centre = np.angle(ang) * length / (2 * np.pi) if abs(ang) > 1e-9 else 0.0
    off = _wrap(off - centre, length)
    med = np.median(np.stack([np.roll(off, j) for j in range(-half_window, half_window + 1)]),
                    axis=0)
    far = np.abs(off - med) > max_jump * length
    if not far.any() or far.sum() > n // 4:
        return s
    return s[0] + idx * length / n + centre + np.where(far, med, off)


def smooth_in_time(
    paths: np.ndarray, present: np.ndarray, rest_frame: int, window: int = 5, order: int = 2
) -> np.ndarray:
    """Savitzky–Golay smoothing of point paths over frames, rest frame kept fixed.

    Args:
        paths: (T, N, 2) xy mm.
        present: (T,) bool, frames where the organ exists (others untouched).
        rest_frame: frame whose positions are kept exactly.
        window: odd window length in frames (reduced for short series).
        order: polynomial order.

    Returns:
        (T, N, 2) smoothed paths.
    """
    t_n = paths.shape[0]
    win = min(window, t_n if t_n % 2 else t_n - 1)
    if win <= order:
        return paths
    out = savgol_filter(paths, win, order, axis=0, mode="interp")
    out[rest_frame] = paths[rest_frame]
    out[~present] = paths[~present]
    return out
