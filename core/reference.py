"""The pubococcygeal line (PCL): organ descent against the bony pelvis.

Radiologists grade pelvic organ prolapse on dynamic MRI by how far each organ's
reference point (bladder base, cervix or vaginal vault, anorectal junction) lies below
the PCL, the line from the inferior border of the pubic symphysis to the last
coccygeal joint, measured perpendicular to it ("rule of three": up to 3 cm below
is mild, 3–6 cm moderate, beyond 6 cm severe).  Descent against the image axis
(:func:`core.indices.frame_table`'s ``descent_mm``) moves with the patient's
tilt; against the PCL it does not.  Each organ's *lowest point* is measured; it
is the graded point for the bladder only (:data:`GRADED_ORGANS`).

With the anorectal junction marked, the HMO system: the H-line (pubis to junction,
the levator hiatus), the M-line (the junction below the PCL) and the O (each other
organ's graded point below the H-line: beyond the hiatus).

The two points are landmarks of a project (:attr:`core.project.Project.landmarks`,
name -> (T, 2) xy mm, NaN where not placed) under the names the phantom uses for
its truth.  A user places them once (the bones hardly move in a cine); a frame
without its own placement uses the nearest frame that has one.

Coordinates are the series' xy in mm (x = column × column spacing, y = row × row
spacing, y growing towards the feet), as the tracked points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: Landmark names of the PCL's two ends (as :data:`core.phantom.case.LANDMARKS`).
PUBIS = "inferior_pubic_point"
COCCYX = "coccyx_tip"
PCL_LANDMARKS = (PUBIS, COCCYX)

#: The two ends must be at least this far apart (mm): a PCL is 8–12 cm long.
MIN_PCL_MM = 20.0

#: Upper limits (mm below the PCL) of the grades of the rule of three.
GRADES = ((30.0, "mild"), (60.0, "moderate"))

#: Organs whose label's lowest point is the point the rule of three grades: the
#: bladder base.  The uterus_vagina label ends at the vaginal introitus and the
#: rectum's at the anal canal, below the PCL in every pelvis; the points graded
#: for them (the cervix or vaginal vault, the anorectal junction) are not the
#: lowest points of their labels, so their ``below_pcl_mm`` is measured but not graded.
GRADED_ORGANS = ("bladder",)


def pcl_lines(landmarks: Mapping[str, np.ndarray] | None, n_frames: int,
              names: Sequence[str] = PCL_LANDMARKS) -> np.ndarray | None:
    """Per frame, the PCL's ends ``[[pubis x, y], [coccyx x, y]]`` (mm), shape (T, 2, 2)
    (or another line's: the landmarks ``names`` of its two ends).

    A frame where either end is not placed takes both from the nearest frame
    where both are (the earlier one on a tie).  None when no frame has both.
    """
    if not landmarks or any(name not in landmarks for name in names):
        return None
    both = np.stack([np.asarray(landmarks[n], np.float64) for n in names], axis=1)
    if both.shape != (n_frames, 2, 2):
        raise ValueError(f"landmarks {', '.join(names)} must be ({n_frames}, 2) each, got "
                         f"{both.shape[0]} frames")
    placed = np.flatnonzero(np.isfinite(both).all(axis=(1, 2)))
    if placed.size == 0:
        return None
    nearest = placed[np.argmin(np.abs(np.arange(n_frames)[:, None] - placed[None, :]), axis=1)]
    return both[nearest]


def _unit_normal(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a point on the line, its unit normal pointing caudally, +y)."""
    p, c = np.asarray(line[0], np.float64), np.asarray(line[1], np.float64)
    _check_length(np.stack([p, c]), MIN_PCL_MM, "the PCL")
    return p, _caudal_normal(c - p)


def _check_length(ends: np.ndarray, min_mm: float, what: str) -> None:
    """ValueError naming ``what`` when its two ends are less than ``min_mm`` apart."""
    length = float(np.hypot(*(ends[1] - ends[0])))
    if length < min_mm:
        raise ValueError(f"{what}'s ends are {length:.1f} mm apart; they must be at least "
                         f"{min_mm:g} mm apart")


def _caudal_normal(d: np.ndarray) -> np.ndarray:
    """The unit normal of direction ``d`` (2,) that points caudally (+y)."""
    n = np.array([-d[1], d[0]]) / float(np.hypot(*d))
    if n[1] < 0 or (n[1] == 0 and n[0] < 0):
        n = -n
    return n


def below_pcl(points_xy: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Signed distance (mm) of each point from the PCL, positive below (caudal to) it.

    Args:
        points_xy: (..., 2) xy mm.
        line: (2, 2) the PCL's ends (pubis, coccyx), xy mm.

    Raises:
        ValueError: the ends are less than :data:`MIN_PCL_MM` apart.
    """
    p, n = _unit_normal(line)
    return (np.asarray(points_xy, np.float64) - p) @ n


def lowest_below_pcl(contour: np.ndarray | None, line: np.ndarray | None) -> float:
    """How far the lowest point of a contour lies below the PCL (mm; negative: the
    whole contour is above it by that much).  NaN without a contour or a line."""
    if contour is None or line is None or len(contour) == 0:
        return float("nan")
    return float(np.max(below_pcl(contour, line)))


def pcl_grade(distance_mm: float) -> str:
    """The rule of three: "above the PCL" (≤ 0), "mild" (≤ 30 mm below), "moderate"
    (≤ 60 mm), "severe"; "" for NaN."""
    if not np.isfinite(distance_mm):
        return ""
    if distance_mm <= 0:
        return "above the PCL"
    for limit, name in GRADES:
        if distance_mm <= limit:
            return name
    return "severe"


#: The point of each organ that the rule of three grades, as the app names it; the
#: user picks it among the organ's tracked points (it then moves with the organ).  For
#: the H-line, the anorectal junction's posterior wall (at the puborectalis sling).
REFERENCE_POINTS = {"bladder": "bladder base", "uterus_vagina": "cervix or vaginal vault",
                    "rectum": "anorectal junction"}


def reference_name(organ: str, automatic: bool = False) -> str:
    """What the app calls ``organ``'s reference point (:data:`REFERENCE_POINTS`); the
    anorectal junction found on each frame rather than marked is "(automatic)"."""
    name = REFERENCE_POINTS.get(organ, "reference point")
    return f"{name} (automatic)" if automatic and organ == HIATUS_ORGAN else name


def reference_tracks(points: Mapping[str, np.ndarray], valid: Mapping[str, np.ndarray],
                     chosen: Mapping[str, int] | None, strict: bool = False
                     ) -> dict[str, np.ndarray]:
    """Each chosen reference point's path: organ -> (T, 2) xy mm (NaN where the
    tracked point is not valid).

    Args:
        points, valid: tracked points per organ, (T, N, 2) and (T, N).
        chosen: organ -> point index (``settings["reference_points"]``).
        strict: raise on a choice the tracks do not have (a user choosing); else
            leave it out (a stored choice after the organ was tracked again without
            it, or with fewer points: the project must still open).

    Raises:
        ValueError: with ``strict``, an organ without tracks or an index outside its
            points.
    """
    out = {}
    for organ, index in (chosen or {}).items():
        i = int(index)
        n = np.shape(points[organ])[1] if organ in points else 0
        if organ not in points or not 0 <= i < n:
            if not strict:
                continue
            if organ not in points:
                raise ValueError(f"no tracked points for {organ!r} (reference point)")
            raise ValueError(f"{organ}: point {i} is not one of its {n} points")
        pts = np.asarray(points[organ], np.float64)
        path = pts[:, i, :].copy()
        ok = np.asarray(valid[organ], bool)[:, i] if organ in valid else np.ones(len(path), bool)
        path[~ok] = np.nan
        out[organ] = path
    return out


def pubis_distance(points_xy: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance (mm) from the inferior pubic point (the line's first end): for the
    anorectal junction, the H-line (the levator hiatus' width)."""
    return np.hypot(*(np.asarray(points_xy, np.float64) - np.asarray(line[0], np.float64)).T)


#: HMO system: (upper limit mm, grade) of the H-line and of the M-line (the
#: anorectal junction below the PCL); beyond the last limit "severe".
HMO_LIMITS = {"H": ((60.0, "normal"), (80.0, "mild"), (100.0, "moderate")),
              "M": ((20.0, "normal"), (40.0, "mild"), (60.0, "moderate"))}


def hmo_grade(distance_mm: float, line: str) -> str:
    """Grade of an H-line (``line="H"``) or M-line (``"M"``) length; "" for NaN."""
    if not np.isfinite(distance_mm):
        return ""
    for limit, name in HMO_LIMITS[line]:
        if distance_mm < limit:
            return name
    return "severe"


#: The organ whose reference point (the anorectal junction) ends the H-line.
HIATUS_ORGAN = "rectum"

#: An H-line shorter than this (mm) is not measured against (a misplaced point).
MIN_H_LINE_MM = 10.0


def h_lines(pcl: np.ndarray | None, reference: Mapping[str, np.ndarray] | None
            ) -> np.ndarray | None:
    """Each frame's H-line: (T, 2, 2), from the inferior pubic point (the PCL's
    first end) to the anorectal junction (:data:`HIATUS_ORGAN`'s reference point);
    NaN in frames where the junction's tracked point is not valid.  None without a
    PCL or without the junction."""
    arj = (reference or {}).get(HIATUS_ORGAN)
    if pcl is None or arj is None:
        return None
    pcl = np.asarray(pcl, np.float64)
    return np.stack([pcl[:, 0, :], np.asarray(arj, np.float64)], axis=1)


def below_h_line(points_xy: np.ndarray | None, line: np.ndarray | None) -> float:
    """How far the lowest of ``points_xy`` ((N, 2) or (2,) xy mm) lies below the
    H-line, perpendicular to it, positive caudal ("O" of the HMO system: an organ
    beyond the levator hiatus).  NaN without points or line, or where the line is
    shorter than :data:`MIN_H_LINE_MM`."""
    if points_xy is None or line is None or not np.isfinite(line).all():
        return float("nan")
    pts = np.asarray(points_xy, np.float64).reshape(-1, 2)
    if len(pts) == 0 or float(np.hypot(*(line[1] - line[0]))) < MIN_H_LINE_MM:
        return float("nan")
    return float(np.max((pts - line[0]) @ _caudal_normal(line[1] - line[0])))


def m_line(pcl_line: np.ndarray, point_xy: np.ndarray) -> np.ndarray:
    """The M-line of a frame: (2, 2) from ``point_xy`` (the anorectal junction, xy
    mm) to its foot on the PCL ((2, 2) ends), perpendicular to the line; its
    length is the junction's distance from the line (``ref_below_pcl_mm``)."""
    p, n = _unit_normal(pcl_line)
    a = np.asarray(point_xy, np.float64)
    return np.stack([a, a - float((a - p) @ n) * n])


def o_grade(distance_mm: float) -> str:
    """The "O" of the HMO system for one organ: "above the H-line" (≤ 0),
    "beyond the H-line"; "" for NaN.  The distance is the organ's; the grade names
    only which side of the hiatus it reached."""
    if not np.isfinite(distance_mm):
        return ""
    return "above the H-line" if distance_mm <= 0 else "beyond the H-line"


def with_pcl(landmarks: Mapping[str, np.ndarray] | None, n_frames: int,
             pubis_xy: Sequence[float], coccyx_xy: Sequence[float],
             frame: int | None = None, names: Sequence[str] = PCL_LANDMARKS,
             min_mm: float = MIN_PCL_MM, what: str = "the PCL") -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` with the PCL placed on every frame (``frame`` None)
    or on one frame (the others keep theirs or follow the nearest placed one).
    Another line: ``names`` of its ends, their least distance ``min_mm``, ``what``
    it is called in errors.

    Raises:
        ValueError: a coordinate is not finite, the ends are less than ``min_mm``
            apart, or ``frame`` is not a frame.
    """
    ends = np.array([pubis_xy, coccyx_xy], dtype=np.float64)
    if ends.shape != (2, 2) or not np.isfinite(ends).all():
        raise ValueError(f"{what} needs two finite (x, y) points in mm, got {ends.tolist()}")
    _check_length(ends, min_mm, what)
    out = {k: np.array(v, np.float64, copy=True) for k, v in (landmarks or {}).items()}
    for i, name in enumerate(names):
        arr = out.get(name)
        if arr is None or arr.shape != (n_frames, 2):
            arr = np.full((n_frames, 2), np.nan)
        if frame is None:
            arr[:] = ends[i]
        else:
            if not 0 <= int(frame) < n_frames:
                raise ValueError(f"frame {frame} is not a frame of the series (0..{n_frames - 1})")
            arr[int(frame)] = ends[i]
        out[name] = arr
    return out


def check_inside(ends: Sequence[Sequence[float]], shape: tuple[int, int],
                 spacing_mm: Sequence[float],
                 names: Sequence[str] = ("pubic point", "coccygeal point")) -> None:
    """Both ends of the line must lie on the image (x in 0–W × column spacing, y in
    0–H × row spacing, mm; half a pixel to spare): coordinates outside it are
    usually pixels given as mm, or a click beside the image.

    Raises:
        ValueError: naming the end and the image's extent.
    """
    h, w = shape
    sr, sc = float(spacing_mm[0]), float(spacing_mm[1])
    x_max, y_max = (w - 0.5) * sc, (h - 0.5) * sr
    for name, (x, y) in zip(names, ends, strict=True):
        if not (-0.5 * sc <= x <= x_max and -0.5 * sr <= y <= y_max):
            raise ValueError(
                f"the {name} ({x:.1f}, {y:.1f}) mm is off the image, which spans x 0–"
                f"{x_max:.0f} mm and y 0–{y_max:.0f} mm (coordinates are mm, not pixels)")


def with_end_moved(landmarks: Mapping[str, np.ndarray], name: str, frame: int,
                   drawn: Sequence[float], xy: Sequence[float]) -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` with one end of a line (its landmark ``name``), drawn at
    ``drawn`` on ``frame``, moved to ``xy``: on every frame that holds that same point
    (a line placed on every frame moves on every frame, one placed on this frame only
    moves here; frames that follow the nearest placed one follow it), else on
    ``frame`` alone."""
    out = {k: np.array(v, np.float64, copy=True) for k, v in landmarks.items()}
    arr = out[name]
    same = np.isclose(arr, np.asarray(drawn, np.float64)).all(axis=1)
    if not same.any():
        same[int(frame)] = True
    arr[same] = np.asarray(xy, np.float64)
    return out


def without_pcl(landmarks: Mapping[str, np.ndarray] | None,
                names: Sequence[str] = PCL_LANDMARKS) -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` without the PCL's two points (or those ``names``)."""
    return {k: np.array(v, copy=True) for k, v in (landmarks or {}).items()
            if k not in names}


def parse_pcl(text: str, fields: str = "PUBIS_X,PUBIS_Y,COCCYX_X,COCCYX_Y",
              min_mm: float = MIN_PCL_MM, what: str = "the PCL"
              ) -> tuple[tuple[float, float], tuple[float, float]]:
    """``"PX,PY,CX,CY"`` (mm) -> ((PX, PY), (CX, CY)); ValueError naming the problem
    (another line: its ``fields``, least length ``min_mm`` and name ``what``)."""
    try:
        v = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"expected four numbers {fields} in mm, got {text!r}") from None
    if len(v) != 4 or not np.isfinite(v).all():
        raise ValueError(f"expected four numbers {fields} in mm, got {text!r}")
    ends = ((v[0], v[1]), (v[2], v[3]))
    with_pcl({}, 1, *ends, min_mm=min_mm, what=what)   # checks the length
    return ends
