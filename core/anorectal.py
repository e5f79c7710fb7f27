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
canal, 90° when it turns straight back.

The corner of step 2 is also the anorectal junction (its posterior wall, where the
HMO system's H-line ends): where the user has not marked the junction by hand, the
H- and M-lines are measured to it in every frame (:func:`with_junction`).

Coordinates are the series' xy mm (x grows anterior → posterior, y head → feet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.rectocele import MIN_ANAL_MM, RECTOCELE_ORGAN
from core.reference import HIATUS_ORGAN
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


def trace(contour: np.ndarray | None, line: np.ndarray | None
          ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The junction's corner and the angle's arms in one frame: ``(corner, arms)``.

    Args:
        contour: (M, 2) the rectum's outline, xy mm (closed, first point not repeated).
        line: (2, 2) the anal canal line's lower and upper ends, xy mm.

    Returns:
        corner: (2,) xy mm, the point of the outline where the canal's posterior wall
            turns into the rectum's (step 2 of the module's recipe; the anorectal
            junction's posterior wall, where the H-line ends), or None without a
            contour or a line (or a line shorter than
            :data:`core.rectocele.MIN_ANAL_MM`), or when the outline does not cross
            the line's middle on both of the canal's walls.
        arms: (3, 2) xy mm as drawn — the canal arm's end (:data:`ARM_MM` down the
            canal's axis from the vertex), the vertex (the corner projected on the
            wall line) and the wall line's far end; None where the corner is None, or
            where the wall does not reach :data:`WALL_TO_MM` from the corner.
    """
    frame = _frame(line)
    if frame is None or contour is None or len(contour) < 3:
        return None, None
    top, u, n, length = frame
    middle = -0.5 * length
    c = np.asarray(contour, np.float64)
    if not np.isfinite(c).all():
        return None, None
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
        return None, None
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
        return None, None
    walk = walk[there[0]:]
    i0 = int(walk[0])
    corner = p[i0].copy()
    # the stretch of the wall from where it first gets WALL_FROM_MM from the start to
    # where it first gets WALL_TO_MM away: past the notch, within the distal rectum
    dist = np.hypot(*(p[walk] - p[i0]).T)
    beyond = np.flatnonzero(dist > WALL_TO_MM)
    if beyond.size == 0:
        return corner, None
    stretch = walk[:beyond[0]]
    keep = stretch[dist[:beyond[0]] >= WALL_FROM_MM]
    if keep.size < 4:
        return corner, None
    pts = p[keep]
    centre = pts.mean(axis=0)
    d = np.linalg.svd(pts - centre, full_matrices=False)[2][0]
    if (pts[-1] - pts[0]) @ d < 0:
        d = -d
    vertex = centre + ((p[i0] - centre) @ d) * d       # the corner, on the wall line
    end = centre + ((pts[-1] - centre) @ d) * d
    return corner, np.stack([vertex - ARM_MM * u, vertex, end])


def anorectal_arms(contour: np.ndarray | None, line: np.ndarray | None
                   ) -> np.ndarray | None:
    """The angle's two arms in one frame, as drawn: (3, 2) xy mm — the canal arm's
    end, the vertex and the wall line's far end (:func:`trace`); None where they
    cannot be found."""
    return trace(contour, line)[1]


def anorectal_junction(contour: np.ndarray | None, line: np.ndarray | None
                       ) -> np.ndarray | None:
    """The anorectal junction in one frame: (2,) xy mm, the corner of the outline
    where the canal's posterior wall turns into the rectum's (:func:`trace`); None
    where it cannot be found."""
    return trace(contour, line)[0]


def junction_and_angle(contours: Sequence[np.ndarray | None], anal: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's junction and angle from the rectum's outlines and the anal canal
    line.

    Args:
        contours: the rectum's outline per frame (None where it is missing).
        anal: (T, 2, 2) the anal canal line per frame (:func:`core.rectocele.anal_lines`).

    Returns:
        junction (T, 2) xy mm and angle (T,) degrees, NaN where not found.
    """
    t_n = len(contours)
    junction = np.full((t_n, 2), np.nan)
    angle = np.full(t_n, np.nan)
    for t, c in enumerate(contours):
        corner, arms = trace(c, anal[t])
        if corner is not None:
            junction[t] = corner
        angle[t] = angle_of_arms(arms)
    return junction, angle


def with_junction(reference: Mapping[str, np.ndarray] | None,
                  contours: Sequence[np.ndarray | None] | None,
                  anal: np.ndarray | None) -> dict[str, np.ndarray]:
    """``reference`` (organ -> (T, 2) path of its reference point) with the anorectal
    junction found in every frame (:func:`junction_and_angle`) as the rectum's, where
    the user marked none and an anal canal line is there; else as it is."""
    out = dict(reference or {})
    if anal is None or contours is None or HIATUS_ORGAN in out:
        return out
    junction = junction_and_angle(contours, anal)[0]
    if np.isfinite(junction).any():
        out[HIATUS_ORGAN] = junction
    return out


def frame_trace(labels: np.ndarray | None, organs: Sequence[str], spacing_mm: Sequence[float],
                frame: int, line: np.ndarray | None
                ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """:func:`trace` (junction, arms) on ``frame`` of a label stack (T, H, W; organ i
    is label i + 1), from its rectum label's outline as the frame table measures it;
    (None, None) without labels, a rectum among ``organs`` or a line."""
    if labels is None or line is None or ANORECTAL_ORGAN not in organs:
        return None, None
    k = list(organs).index(ANORECTAL_ORGAN) + 1
    return trace(mask_contour(labels[frame] == k, spacing_mm), line)


def frame_arms(labels: np.ndarray | None, organs: Sequence[str], spacing_mm: Sequence[float],
               frame: int, line: np.ndarray | None) -> np.ndarray | None:
    """The arms of :func:`frame_trace`."""
    return frame_trace(labels, organs, spacing_mm, frame, line)[1]


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
