"""Anorectal angle: between the anal canal's axis and the distal rectum's posterior wall.

On dynamic MRI the anorectal angle (ARA) is the angle between the central axis of the
anal canal and a line along the posterior wall of the distal rectum; the puborectalis
sling holds it near a right angle at rest, closes it on squeezing and lets it open on
straining and evacuation (a failure to open, or a closing, suggests dyssynergia).

PelviTrack takes the canal's axis from the anal canal line the user placed or fitted
(:mod:`core.rectocele`: two points on the canal's anterior wall, which runs parallel to
its axis; the upper one just below the anorectal junction) and the wall from the
rectum's outline in that frame (:func:`anorectal_arms`):

1. the outline crosses the level of the line's middle twice in the canal: on its
   anterior wall, then on its posterior wall;
2. from there the outline is followed upwards (cranially) to the corner where the
   canal's posterior wall becomes the rectum's: the first point where the wall turns
   more than :data:`TURN_DEG` from the canal's axis, or comes within :data:`LEVEL_MM`
   of the level of the line's upper end;
3. a straight line is fitted (principal axis) to the wall beyond the corner, from
   where it first gets :data:`WALL_FROM_MM` from the corner (past the puborectalis'
   notch) to where it first gets :data:`WALL_TO_MM` away: the distal rectum's
   posterior wall.

The angle is the one between the canal's axis pointing down (caudally) and that wall
line pointing away from the junction: 180° when the rectum runs straight on from the
canal, 90° when it turns straight back.  Coordinates are the series' xy mm (x grows
anterior → posterior, y head → feet).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.rectocele import MIN_ANAL_MM, RECTOCELE_ORGAN
from core.track.contours import arc_lengths, mask_contour, point_at

#: The organ whose outline is measured (the rectocele's).
ANORECTAL_ORGAN = RECTOCELE_ORGAN

#: The wall's corner at the junction (where the distal rectum's posterior wall starts):
#: going up the canal's posterior wall from the canal's middle, the first point where
#: the wall turns more than :data:`TURN_DEG` (over 4 mm; an acute angle's notch lies
#: below the line's upper end) from the canal's axis, or gets within this far (mm) of
#: the level of the anal canal line's upper end.
LEVEL_MM = 2.0
TURN_DEG = 45.0

#: The stretch of the posterior wall the wall line is fitted to: going on up the
#: outline from the corner, from where it first gets this far (mm) from the corner
#: (past the puborectalis' notch) to where it first gets :data:`WALL_TO_MM` away
#: (within the distal rectum).
WALL_FROM_MM = 10.0
WALL_TO_MM = 35.0

#: Length (mm) of the canal's arm as drawn.
ARM_MM = 20.0

#: Outline resampling step (mm) for the walk along the wall.
STEP_MM = 0.5


def _frame(line: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """(upper end, unit vector up the canal, unit vector towards posterior, length) or
    None."""
    if line is None:
        return None
    line = np.asarray(line, np.float64)
    if line.shape != (2, 2) or not np.isfinite(line).all():
        return None
    d = line[1] - line[0]
    length = float(np.hypot(*d))
    if length < MIN_ANAL_MM:
        return None
    u = d / length
    n = np.array([-u[1], u[0]])
    if n[0] < 0 or (n[0] == 0 and n[1] < 0):          # posterior: towards larger x
        n = -n
    return line[1], u, n, length


def anorectal_arms(contour: np.ndarray | None, line: np.ndarray | None
                   ) -> np.ndarray | None:
    """The angle's two arms in one frame, as drawn: (3, 2) xy mm — the canal arm's
    end (:data:`ARM_MM` down the canal's axis from the vertex), the vertex (where the
    wall line starts) and the wall line's far end.

    Args:
        contour: (M, 2) the rectum's outline, xy mm (closed, first point not repeated).
        line: (2, 2) the anal canal line's lower and upper ends, xy mm.

    Returns:
        The arms, or None without a contour or a line (or a line shorter than
        :data:`core.rectocele.MIN_ANAL_MM`), when the outline does not cross the
        line's middle on both of the canal's walls, or its wall does not reach
        :data:`WALL_TO_MM` from the corner.
    """
    frame = _frame(line)
    if frame is None or contour is None or len(contour) < 3:
        return None
    top, u, n, length = frame
    middle = -0.5 * length
    c = np.asarray(contour, np.float64)
    if not np.isfinite(c).all():
        return None
    _, around = arc_lengths(c)
    m = max(int(np.ceil(around / STEP_MM)), 8)
    step = around / m
    p = point_at(c, np.arange(m) * step)              # even steps along the outline
    s, w = (p - top) @ u, (p - top) @ n
    # where the outline crosses the canal's middle, and which way
    nxt = np.roll(s, -1)
    up = np.flatnonzero((s < middle) & (nxt >= middle))
    down = np.flatnonzero((s >= middle) & (nxt < middle))
    cross = np.concatenate([up, down])
    if cross.size < 2:
        return None
    # front to back: the canal's anterior wall, then its posterior wall
    i0 = int(cross[np.argsort(w[cross])[1]])
    way = 1 if np.isin(i0, up) else -1                # upwards along the wall
    walk = (i0 + way * np.arange(m // 2)) % m
    # the wall's corner at the junction: where, going up, it first turns away from the
    # canal's axis (an acute angle's notch lies below the line's upper end) or reaches
    # LEVEL_MM below that end
    q = p[walk]
    k = max(int(round(2.0 / step)), 1)                # tangents over 4 mm
    j = np.arange(walk.size)
    tang = q[np.minimum(j + k, walk.size - 1)] - q[np.maximum(j - k, 0)]
    turned = tang @ u < np.cos(np.radians(TURN_DEG)) * np.hypot(*tang.T)
    there = np.flatnonzero(turned | (s[walk] >= -LEVEL_MM))
    if there.size == 0:
        return None
    walk = walk[there[0]:]
    i0 = int(walk[0])
    # the stretch of the wall from where it first gets WALL_FROM_MM from the start to
    # where it first gets WALL_TO_MM away: past the notch, within the distal rectum
    dist = np.hypot(*(p[walk] - p[i0]).T)
    beyond = np.flatnonzero(dist > WALL_TO_MM)
    if beyond.size == 0:
        return None
    stretch = walk[:beyond[0]]
    keep = stretch[dist[:beyond[0]] >= WALL_FROM_MM]
    if keep.size < 4:
        return None
    pts = p[keep]
    centre = pts.mean(axis=0)
    d = np.linalg.svd(pts - centre, full_matrices=False)[2][0]
    if (pts[-1] - pts[0]) @ d < 0:
        d = -d
    vertex = centre + ((p[i0] - centre) @ d) * d       # the corner, on the wall line
    end = centre + ((pts[-1] - centre) @ d) * d
    return np.stack([vertex - ARM_MM * u, vertex, end])


def frame_arms(labels: np.ndarray | None, organs: Sequence[str], spacing_mm: Sequence[float],
               frame: int, line: np.ndarray | None) -> np.ndarray | None:
    """:func:`anorectal_arms` on ``frame`` of a label stack (T, H, W; organ i is label
    i + 1), from its rectum label's outline as the frame table measures it; None
    without labels, a rectum among ``organs`` or a line."""
    if labels is None or line is None or ANORECTAL_ORGAN not in organs:
        return None
    k = list(organs).index(ANORECTAL_ORGAN) + 1
    return anorectal_arms(mask_contour(labels[frame] == k, spacing_mm), line)


def angle_of_arms(arms: np.ndarray | None) -> float:
    """The angle (degrees, 0–180) at the vertex of :func:`anorectal_arms`; NaN for None."""
    if arms is None:
        return float("nan")
    a, v, b = np.asarray(arms, np.float64)
    da, db = a - v, b - v
    cos = float(da @ db) / max(float(np.hypot(*da) * np.hypot(*db)), 1e-12)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def anorectal_angle(contour: np.ndarray | None, line: np.ndarray | None) -> float:
    """The anorectal angle in one frame (degrees): between the anal canal's axis,
    pointing down, and the distal rectum's posterior wall, pointing away from the
    junction (:func:`anorectal_arms`); NaN where they cannot be found."""
    return angle_of_arms(anorectal_arms(contour, line))


def angle_summary(row: object) -> str:
    """A summary row's anorectal angle in words ("anorectal angle 102° at rest,
    85–140°"; :func:`core.summary.summary_table`), "" without one."""
    get = getattr(row, "get", None)
    if get is None:
        return ""
    rest, low, high = (float(get(f"{k}_anorectal_angle_deg", np.nan))
                       for k in ("rest", "min", "max"))
    if not np.isfinite(high):
        return ""
    text = f"anorectal angle {rest:.0f}° at rest, " if np.isfinite(rest) else (
        "anorectal angle ")
    return text + f"{low:.0f}–{high:.0f}°"
