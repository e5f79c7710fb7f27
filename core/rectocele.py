"""Rectocele depth: the anterior rectal wall's bulge beyond the anal canal's line.

On dynamic MRI a rectocele is measured as the depth of the anterior rectal wall's
protrusion beyond the expected line of the anterior wall of the anal canal, extended
cranially (small < 2 cm, moderate 2–4 cm, large > 4 cm).  The user places that line
with two clicks on the anterior wall of the anal canal (its lower end first), stored
as two landmarks of the project like the pubococcygeal line's
(:mod:`core.reference`); a frame without its own placement uses the nearest placed one.

:func:`rectocele_depth` measures, in one frame, how far the rectum's contour reaches
in front of (anterior to, towards smaller x) the line, over the stretch of contour
above the line's upper end (within :data:`SPAN_MM` along it).  Coordinates are the
series' xy mm (x grows anterior → posterior, y head → feet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.reference import check_inside, parse_pcl, pcl_lines, with_pcl, without_pcl

#: Landmark names of the line's ends on the anterior wall of the anal canal.
ANAL_LOW = "anal_canal_low"
ANAL_HIGH = "anal_canal_high"
ANAL_LANDMARKS = (ANAL_LOW, ANAL_HIGH)

#: The organ whose wall is measured.
RECTOCELE_ORGAN = "rectum"

#: The ends must be at least this far apart (mm): the anal canal is 3–4 cm long.
MIN_ANAL_MM = 5.0

#: How far above the line's upper end (mm, along the line) the wall is searched: the
#: low rectum, where a rectocele bulges, not the sigmoid's turn.
SPAN_MM = 60.0

#: Upper limits (mm) of the grades; beyond the last, "large".
RECTOCELE_GRADES = ((20.0, "small"), (40.0, "moderate"))

#: A wall less than this far (mm) in front of the line is graded "none": within what
#: the line's clicks (about 2 mm each) and the outline (up to 3 mm on synthetic
#: defecography, docs/rectocele_accuracy.md) move it.
NONE_BELOW_MM = 5.0

#: What the two clicks (and errors) call the ends.
END_NAMES = ("lower anal canal point", "upper anal canal point")


def anal_lines(landmarks: Mapping[str, np.ndarray] | None, n_frames: int
               ) -> np.ndarray | None:
    """Per frame, the line's ends ``[[low x, y], [high x, y]]`` (mm), (T, 2, 2); None
    when it is not placed (:func:`core.reference.pcl_lines` for these landmarks)."""
    return pcl_lines(landmarks, n_frames, ANAL_LANDMARKS)


def with_anal_line(landmarks: Mapping[str, np.ndarray] | None, n_frames: int,
                   low_xy: Sequence[float], high_xy: Sequence[float],
                   frame: int | None = None) -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` with the line placed on every frame or on ``frame``.

    Raises:
        ValueError: a coordinate is not finite, the ends are less than
            :data:`MIN_ANAL_MM` apart, or ``frame`` is not a frame.
    """
    return with_pcl(landmarks, n_frames, low_xy, high_xy, frame=frame, names=ANAL_LANDMARKS,
                    min_mm=MIN_ANAL_MM, what="the anal canal line")


def without_anal_line(landmarks: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` without the line's two points."""
    return without_pcl(landmarks, ANAL_LANDMARKS)


def check_anal_inside(ends: Sequence[Sequence[float]], shape: tuple[int, int],
                      spacing_mm: Sequence[float]) -> None:
    """Both ends on the image (:func:`core.reference.check_inside`)."""
    check_inside(ends, shape, spacing_mm, END_NAMES)


def parse_anal_line(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """``"LX,LY,HX,HY"`` (mm) -> ((LX, LY), (HX, HY)); ValueError naming the problem."""
    return parse_pcl(text, "LOW_X,LOW_Y,HIGH_X,HIGH_Y", MIN_ANAL_MM, "the anal canal line")


def rectocele_depth(contour: np.ndarray | None, line: np.ndarray | None) -> float:
    """How far the rectum's outline bulges in front of the anal canal's line (mm).

    Args:
        contour: (M, 2) the rectum's outline in one frame, xy mm.
        line: (2, 2) the line's lower and upper ends, xy mm.

    Returns:
        The largest distance, perpendicular to the line and positive anterior (towards
        smaller x), of the outline's points that lie above the upper end along the line
        (by up to :data:`SPAN_MM`); ≤ 0 when the wall does not pass in front of it.
        NaN without a contour, a line (or a shorter one than :data:`MIN_ANAL_MM`), or
        any outline above the line's upper end.
    """
    if contour is None or line is None or len(contour) == 0:
        return float("nan")
    line = np.asarray(line, np.float64)
    if not np.isfinite(line).all():
        return float("nan")
    d = line[1] - line[0]
    length = float(np.hypot(*d))
    if length < MIN_ANAL_MM:
        return float("nan")
    u = d / length                                    # along the canal, upwards
    n = np.array([-u[1], u[0]])
    if n[0] > 0 or (n[0] == 0 and n[1] > 0):          # anterior: towards smaller x
        n = -n
    rel = np.asarray(contour, np.float64) - line[1]
    along = rel @ u
    above = (along > 0) & (along <= SPAN_MM)
    if not above.any():
        return float("nan")
    return float(np.max(rel[above] @ n))


def extended(line: np.ndarray) -> np.ndarray:
    """The line as drawn: (2, 2) from its lower end to its upper end moved on by the
    line's own length (where the wall is searched)."""
    low, high = np.asarray(line, np.float64)
    return np.stack([low, high + (high - low)])


def rectocele_grade(depth_mm: float) -> str:
    """"none" (less than :data:`NONE_BELOW_MM` in front of the line), "small"
    (< 20 mm), "moderate" (20–40 mm), "large"; "" for NaN."""
    if not np.isfinite(depth_mm):
        return ""
    if depth_mm < NONE_BELOW_MM:
        return "none"
    for limit, name in RECTOCELE_GRADES:
        if depth_mm < limit:
            return name
    return "large"
