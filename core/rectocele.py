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


#: The lines a user places: kind -> (check its ends lie on the image, place it, its
#: name, remove it); the pubococcygeal line's from :mod:`core.reference`.
LINE_KINDS = {
    "pcl": (check_inside, with_pcl, "the pubococcygeal line", without_pcl),
    "anal": (check_anal_inside, with_anal_line, "the anal canal line", without_anal_line),
}


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


#: The lowest stretch of a rectum label that :func:`fit_anal_line` takes as the anal
#: canal (mm): the canal is 3–4 cm long, its upper part widening into the ampulla.
CANAL_MM = 25.0


def fit_anal_line(rectum: np.ndarray, spacing_mm: Sequence[float],
                  canal_mm: float = CANAL_MM) -> np.ndarray | None:
    """A suggested anal canal line from one frame's rectum mask (H, W): a straight line
    fitted to the anterior edge (each row's first pixel, its outer edge) of the mask's
    lowest ``canal_mm``, from 2 mm above its lowest row up.  It assumes the label
    reaches down through the anal canal, as the default model's does; the user checks
    it.  Returns (2, 2) lower and upper end, xy mm, or None (no mask, or fewer than
    four rows in that stretch).
    """
    mask = np.asarray(rectum, bool)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    sr, sc = float(spacing_mm[0]), float(spacing_mm[1])
    bottom = rows.max() * sr
    y0, y1 = bottom - 2.0, bottom - canal_mm
    ys = rows * sr
    keep = rows[(ys >= y1) & (ys <= y0)]
    if keep.size < 4:
        return None
    first = np.array([np.flatnonzero(mask[r])[0] for r in keep], float)
    slope, icept = np.polyfit(keep * sr, first * sc - 0.5 * sc, 1)
    return np.array([[slope * y0 + icept, y0], [slope * y1 + icept, y1]])


#: A frame's fitted line that turns more than this (degrees) from the rest frame's is
#: taken as a failed fit: the canal's direction changes little through a series, and a
#: label that misses the opening canal (defecography) gives the ampulla's bottom instead.
MAX_TURN_DEG = 20.0


def _direction_deg(line: np.ndarray) -> float:
    d = line[1] - line[0]
    return float(np.degrees(np.arctan2(d[0], -d[1])))


def fitted_anal_landmarks(landmarks: Mapping[str, np.ndarray] | None, labels: np.ndarray,
                          label: int, spacing_mm: Sequence[float], rest_frame: int = 0,
                          max_turn_deg: float = MAX_TURN_DEG) -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` with each frame's anal canal line fitted to that frame's
    rectum (``labels == label``; :func:`fit_anal_line`), so the line follows the
    patient's motion.  A frame where none fits, or whose line turns more than
    ``max_turn_deg`` from the rest frame's (the first fitted frame's when the rest
    frame has none), is left unplaced (NaN): it uses the nearest placed frame's line
    (:func:`anal_lines`).

    Raises:
        ValueError: no frame has a rectum to fit to.
    """
    lab = np.asarray(labels)
    n = lab.shape[0]
    lines = [fit_anal_line(lab[t] == label, spacing_mm) for t in range(n)]
    fitted = [t for t in range(n) if lines[t] is not None]
    if not fitted:
        raise ValueError("no frame has a rectum long enough to fit the anal canal line to")
    ref = rest_frame if lines[rest_frame] is not None else fitted[0]
    ref_deg = _direction_deg(lines[ref])
    out = without_anal_line(landmarks)
    low, high = np.full((n, 2), np.nan), np.full((n, 2), np.nan)
    for t in fitted:
        turn = abs((_direction_deg(lines[t]) - ref_deg + 180.0) % 360.0 - 180.0)
        if turn <= max_turn_deg:
            low[t], high[t] = lines[t]
    out[ANAL_LOW], out[ANAL_HIGH] = low, high
    return out


def fitted_to_result(result: object) -> dict[str, np.ndarray]:
    """An analysis' landmarks (``result.landmarks``) with the anal canal line fitted to
    each frame of its rectum (:func:`fitted_anal_landmarks` on ``result.labels``).

    Raises:
        ValueError: the analysis has no rectum, or none long enough in any frame.
    """
    organs = list(getattr(result, "organs", ()))
    if RECTOCELE_ORGAN not in organs:
        raise ValueError(f"the analysis has no {RECTOCELE_ORGAN} to fit the anal canal "
                         "line to")
    rest = int((getattr(result, "settings", None) or {}).get("rest_frame", 0))
    return fitted_anal_landmarks(result.landmarks, result.labels,
                                 organs.index(RECTOCELE_ORGAN) + 1, result.series.spacing_mm,
                                 rest_frame=rest)


def unfitted_note(landmarks: Mapping[str, np.ndarray]) -> str:
    """"" when every frame has its own fitted line, else a warning saying how many do
    (for the status line, the command line and the report)."""
    low = np.asarray(landmarks[ANAL_LOW], np.float64)
    ok, n = int(np.isfinite(low).all(axis=1).sum()), len(low)
    if ok == n:
        return ""
    return (f"anal canal line fitted on {ok} of {n} frames; the others (no rectum, or a "
            f"line turned more than {MAX_TURN_DEG:g} degrees from the rest frame's) use the "
            "nearest fitted frame's: check them")


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
