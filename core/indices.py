"""Deformation indices of tracked organ contours: curvature, displacement, descent.

Pure functions on arrays with units (mm, 1/mm, mm²) and two table builders,
:func:`point_table` (one row per organ, frame and point) and :func:`frame_table`
(one row per organ and frame).  Conventions follow docs/interfaces.md: points
are (x_mm, y_mm) with y growing towards the feet; contours have positive
shoelace area, so the outward normal of tangent (tx, ty) is (ty, -tx) and a
convex boundary has positive curvature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.interpolate import CubicSpline

from core.anorectal import ANORECTAL_ORGAN, junction_and_angle
from core.rectocele import RECTOCELE_ORGAN, rectocele_depth
from core.reference import (
    GRADED_ORGANS,
    HIATUS_ORGAN,
    below_h_line,
    below_pcl,
    h_lines,
    lowest_below_pcl,
    pubis_distance,
)
from core.track.contours import mask_contour, perimeter, signed_area

if TYPE_CHECKING:
    from core.series import CineSeries
    from core.track.tracks import Tracks

#: Default physical smoothing scale of curvature (Gaussian sigma in arc length, mm).
DEFAULT_SCALE_MM = 3.0

POINT_COLUMNS = (
    "subject", "organ", "frame", "time_s", "point", "x_mm", "y_mm", "curvature_per_mm",
    "displacement_mm", "displacement_x_mm", "displacement_y_mm", "normal_displacement_mm",
    "valid",
)
FRAME_COLUMNS = (
    "subject", "organ", "frame", "time_s", "area_mm2", "perimeter_mm", "centroid_x_mm",
    "centroid_y_mm", "centroid_displacement_mm", "mean_displacement_mm",
    "max_displacement_mm", "mean_abs_curvature_per_mm", "lowest_y_mm", "descent_mm",
    "below_pcl_mm", "ref_below_pcl_mm", "ref_to_pubis_mm", "reference_found",
    "below_h_line_mm", "rectocele_depth_mm", "anorectal_angle_deg", "confidence", "flagged",
    "repaired",
)

#: The frame table's columns measured against the lines the user placed (the
#: pubococcygeal line, the anal canal's) and the reference points.
PCL_COLUMNS = ("below_pcl_mm", "ref_below_pcl_mm", "ref_to_pubis_mm", "below_h_line_mm",
               "rectocele_depth_mm", "anorectal_angle_deg")


def _check_points(points: np.ndarray, name: str = "points") -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"expected {name} of shape (N,2) xy mm, got {p.shape}")
    if p.shape[0] < 3:
        raise ValueError(f"a closed contour needs at least 3 points, got {p.shape[0]}")
    return p


def _spline(points: np.ndarray) -> tuple[CubicSpline, np.ndarray, float]:
    """Periodic cubic spline through a closed polygon, by chord length."""
    seg = np.linalg.norm(np.roll(points, -1, axis=0) - points, axis=1)
    seg = np.maximum(seg, 1e-9 * max(float(seg.max()), 1e-12))
    u = np.concatenate([[0.0], np.cumsum(seg)])
    closed = np.vstack([points, points[:1]])
    return CubicSpline(u, closed, bc_type="periodic", axis=0), u[:-1], float(u[-1])


def curvature(points: np.ndarray, scale_mm: float = DEFAULT_SCALE_MM) -> np.ndarray:
    """Signed curvature of a closed contour at each of its points.

    The points are joined by a periodic cubic spline, the curvature of the
    spline is sampled densely and evenly in arc length, smoothed with a
    periodic Gaussian of sigma ``scale_mm`` in arc length (smoothing the
    curvature, not the curve, so a circle keeps exactly 1/r), and read back at
    the given points.

    Args:
        points: (N, 2) xy in mm of a closed contour (first point not repeated),
            positive shoelace area.  N >= 3.
        scale_mm: smoothing scale in mm (Gaussian sigma along the arc; 0 = none).

    Returns:
        (N,) curvature in 1/mm; positive where the contour is convex.

    Raises:
        ValueError: wrong shape or a non-finite / negative scale.
    """
    p = _check_points(points)
    if not np.isfinite(scale_mm) or scale_mm < 0:
        raise ValueError(f"scale_mm must be >= 0, got {scale_mm}")
    if not np.all(np.isfinite(p)):
        raise ValueError("points contain NaN; pass only valid points")
    if signed_area(p) < 0:  # clockwise input: same convention (convex = positive)
        return curvature(p[::-1], scale_mm)[::-1].copy()
    cs, u_pts, u_len = _spline(p)
    m = int(min(8192, max(512, 8 * len(p))))
    u = np.linspace(0.0, u_len, m, endpoint=False)
    d1 = cs(u, 1)
    d2 = cs(u, 2)
    speed = np.linalg.norm(d1, axis=1)
    kappa = (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / np.maximum(speed, 1e-12) ** 3
    # arc length along the dense samples (trapezoid on speed)
    ds = speed * (u_len / m)
    s = np.concatenate([[0.0], np.cumsum(0.5 * (ds[1:] + ds[:-1]))])
    length = float(s[-1] + 0.5 * (ds[-1] + ds[0]))
    s_uni = np.linspace(0.0, length, m, endpoint=False)
    k_uni = np.interp(s_uni, s, kappa, period=length)
    if scale_mm > 0:
        freq = np.fft.rfftfreq(m, d=length / m)
        gauss = np.exp(-0.5 * (2 * np.pi * freq * scale_mm) ** 2)
        k_uni = np.fft.irfft(np.fft.rfft(k_uni) * gauss, n=m)
    s_pts = np.interp(u_pts, u, s, period=u_len) if len(u_pts) else u_pts
    return np.interp(s_pts, s_uni, k_uni, period=length)


def outward_normals(points: np.ndarray) -> np.ndarray:
    """Unit outward normals (N, 2) at the points of a closed contour.

    Tangents come from the periodic spline through the points; for positive
    shoelace area the outward normal of tangent (tx, ty) is (ty, -tx).
    """
    p = _check_points(points)
    cs, u_pts, _ = _spline(p)
    t = cs(u_pts, 1)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    n = np.column_stack([t[:, 1], -t[:, 0]])
    return n if signed_area(p) >= 0 else -n


def displacement(points: np.ndarray, rest: np.ndarray) -> dict[str, np.ndarray]:
    """Displacement of tracked points from their rest positions.

    Args:
        points: (..., N, 2) xy in mm (e.g. (T, N, 2)); NaN where invalid.
        rest: (N, 2) xy in mm, the same points in the rest frame (closed
            contour with positive shoelace area).

    Returns:
        dict with ``vector`` (..., N, 2) mm, ``magnitude`` (..., N) mm and
        ``normal`` (..., N) mm (signed along the outward normal at rest,
        positive outwards).
    """
    p = np.asarray(points, dtype=np.float64)
    r = _check_points(rest, "rest")
    if p.shape[-2:] != r.shape:
        raise ValueError(f"points {p.shape} do not match rest {r.shape} in (N,2)")
    vec = p - r
    n = outward_normals(r)
    return {
        "vector": vec,
        "magnitude": np.linalg.norm(vec, axis=-1),
        "normal": np.sum(vec * n, axis=-1),
    }


def shape_summary(contour: np.ndarray) -> dict[str, float]:
    """Area (mm²), perimeter (mm), centroid (mm) and lowest y (mm) of a closed contour."""
    c = _check_points(contour, "contour")
    a = signed_area(c)
    x, y = c[:, 0], c[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    if abs(a) > 1e-12:
        cx = float(np.sum((x + np.roll(x, -1)) * cross) / (6 * a))
        cy = float(np.sum((y + np.roll(y, -1)) * cross) / (6 * a))
    else:
        cx, cy = float(x.mean()), float(y.mean())
    return {
        "area_mm2": abs(a),
        "perimeter_mm": perimeter(c),
        "centroid_x_mm": cx,
        "centroid_y_mm": cy,
        "lowest_y_mm": float(y.max()),
    }


def _subject(series: CineSeries, keep_identity: bool) -> str:
    if keep_identity and series.meta.get("patient_id"):
        return str(series.meta["patient_id"])
    return series.subject


def point_table(
    tracks: Tracks,
    series: CineSeries,
    *,
    scale_mm: float = DEFAULT_SCALE_MM,
    keep_identity: bool = False,
) -> pd.DataFrame:
    """One row per organ, frame and tracked point.

    Args:
        tracks: tracked points (``Tracks.points[organ]`` (T, N, 2) xy mm).
        series: the series the tracks come from (times, subject).
        scale_mm: curvature smoothing scale in mm.
        keep_identity: subject column holds the patient id instead of the alias.

    Returns:
        DataFrame with :data:`POINT_COLUMNS`; invalid points have NaN values and
        ``valid`` False.
    """
    subject = _subject(series, keep_identity)
    parts = []
    for organ, pts in tracks.points.items():
        pts = np.asarray(pts, dtype=np.float64)
        t_n, n_pts = pts.shape[:2]
        if t_n != series.n_frames:
            raise ValueError(f"{organ}: tracks have {t_n} frames, series {series.n_frames}")
        valid = np.asarray(tracks.valid[organ], bool) & np.all(np.isfinite(pts), axis=-1)
        kappa = np.full((t_n, n_pts), np.nan)
        for t in range(t_n):
            if valid[t].all():
                kappa[t] = curvature(pts[t], scale_mm)
        rest = pts[tracks.rest_frame]
        if valid[tracks.rest_frame].all():
            disp = displacement(pts, rest)
        else:
            nan = np.full((t_n, n_pts), np.nan)
            disp = {"vector": np.full((t_n, n_pts, 2), np.nan), "magnitude": nan,
                    "normal": nan}
        parts.append(pd.DataFrame({
            "subject": subject,
            "organ": organ,
            "frame": np.repeat(np.arange(t_n), n_pts),
            "time_s": np.repeat(series.times_s, n_pts),
            "point": np.tile(np.arange(n_pts), t_n),
            "x_mm": pts[..., 0].ravel(),
            "y_mm": pts[..., 1].ravel(),
            "curvature_per_mm": kappa.ravel(),
            "displacement_mm": disp["magnitude"].ravel(),
            "displacement_x_mm": disp["vector"][..., 0].ravel(),
            "displacement_y_mm": disp["vector"][..., 1].ravel(),
            "normal_displacement_mm": disp["normal"].ravel(),
            "valid": valid.ravel(),
        }))
    if not parts:
        return pd.DataFrame({c: [] for c in POINT_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(POINT_COLUMNS)]


def _contours(contours: Mapping[str, Sequence[np.ndarray | None]] | None, labels: np.ndarray,
              spacing_mm: Sequence[float], organs: Sequence[str]):  # noqa: ANN202
    """``contour_of(organ, frame)``: the given contour, else the label's outline traced
    once."""
    traced: dict[tuple[str, int], np.ndarray | None] = {}

    def contour_of(organ: str, t: int) -> np.ndarray | None:
        if contours is not None:
            return contours[organ][t]
        if (organ, t) not in traced:
            traced[organ, t] = mask_contour(labels[t] == list(organs).index(organ) + 1,
                                            spacing_mm)
        return traced[organ, t]

    return contour_of


def frame_table(
    points: pd.DataFrame,
    series: CineSeries,
    labels: np.ndarray,
    organs: Sequence[str],
    *,
    confidence: np.ndarray | None = None,
    rest_frame: int = 0,
    keep_identity: bool = False,
    contours: Mapping[str, Sequence[np.ndarray | None]] | None = None,
    flagged: Mapping[str, Sequence[int]] | None = None,
    repaired: Mapping[str, Sequence[int]] | None = None,
    pcl: np.ndarray | None = None,
    reference: Mapping[str, np.ndarray] | None = None,
    anal: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per organ and frame: shape, displacement and descent summaries.

    Area, perimeter, centroid and lowest point come from the sub-pixel contour
    of that frame's label mask; displacement and curvature summaries from the
    point table.  ``descent_mm`` is lowest_y(t) − lowest_y(rest) (positive =
    caudal, since y grows towards the feet).

    Args:
        points: output of :func:`point_table`.
        series: the series (spacing, times, subject).
        labels: (T, H, W) uint8 label maps, organ i has label i+1.
        organs: organ names in label order.
        confidence: optional (T, n_organs) segmentation confidence in [0, 1].
        rest_frame: frame of reference for displacement and descent.
        keep_identity: subject column holds the patient id instead of the alias.
        contours: optional precomputed contours {organ: [ (M,2) | None per frame ]}.
        flagged: {organ: frames} whose mask disagreed with the image motion (the
            tracker's consistency check; their points follow the registration).
        repaired: {organ: frames} whose labels were redrawn from the moved rest outline.
        pcl: (T, 2, 2) the pubococcygeal line's ends per frame
            (:func:`core.reference.pcl_lines`); ``below_pcl_mm`` is how far the
            organ's lowest point lies below it (NaN without one).
        reference: organ -> (T, 2) xy mm of its reference point (the bladder base,
            cervix, anorectal junction: :func:`core.reference.reference_tracks`);
            ``ref_below_pcl_mm`` is how far it lies below the PCL and
            ``ref_to_pubis_mm`` its distance from the inferior pubic point (for the
            anorectal junction the H-line; its ``ref_below_pcl_mm`` is the M-line).
            Without the junction, and with ``anal``, the junction is found in each
            frame (:func:`core.anorectal.junction_and_angle`; ``reference_found`` True
            in the rectum's rows where it was).
            With the junction, ``below_h_line_mm`` is how far each other organ's
            graded point (its reference point, else the bladder's lowest point) lies
            below the H-line (:func:`core.reference.below_h_line`).
        anal: (T, 2, 2) the anal canal's anterior wall line per frame
            (:func:`core.rectocele.anal_lines`); the rectum's ``rectocele_depth_mm``
            is how far its wall bulges in front of it and ``anorectal_angle_deg`` the
            angle between the canal's axis and its posterior wall
            (:func:`core.anorectal.anorectal_angle`; NaN without a line).

    Returns:
        DataFrame with :data:`FRAME_COLUMNS` (NaN where the organ is missing; the
        boolean ``flagged`` and ``repaired`` columns are False where not given).
    """
    lab = np.asarray(labels)
    if lab.ndim != 3 or lab.shape[0] != series.n_frames:
        raise ValueError(f"expected labels (T={series.n_frames},H,W), got {lab.shape}")
    t_n = lab.shape[0]
    if not 0 <= rest_frame < t_n:
        raise ValueError(f"rest_frame must be in [0, {t_n - 1}], got {rest_frame}")
    if confidence is not None:
        confidence = np.asarray(confidence, dtype=np.float64)
        if confidence.shape != (t_n, len(organs)):
            raise ValueError(f"expected confidence ({t_n},{len(organs)}), got {confidence.shape}")
    if pcl is not None:
        pcl = np.asarray(pcl, dtype=np.float64)
        if pcl.shape != (t_n, 2, 2):
            raise ValueError(f"expected pcl ({t_n},2,2), got {pcl.shape}")
    if anal is not None:
        anal = np.asarray(anal, dtype=np.float64)
        if anal.shape != (t_n, 2, 2):
            raise ValueError(f"expected anal ({t_n},2,2), got {anal.shape}")
    contour_of = _contours(contours, lab, series.spacing_mm, organs)
    angles, found = None, None     # found: the organ whose reference point was found
    if anal is not None and ANORECTAL_ORGAN in organs:
        # the rectum's corner at the junction and its angle, traced once per frame
        junction, angles = junction_and_angle(
            [contour_of(ANORECTAL_ORGAN, t) for t in range(t_n)], anal)
        if HIATUS_ORGAN not in (reference or {}) and np.isfinite(junction).any():
            reference = {**(reference or {}), HIATUS_ORGAN: junction}
            found = HIATUS_ORGAN
    hl = h_lines(pcl, reference)
    subject = _subject(series, keep_identity)
    flag_sets = {o: {int(t) for t in ts} for o, ts in (flagged or {}).items()}
    repair_sets = {o: {int(t) for t in ts} for o, ts in (repaired or {}).items()}
    rows = []
    grouped = {}
    if len(points):
        grouped = {k: g for k, g in points.groupby(["organ", "frame"], sort=False)}
    for oi, organ in enumerate(organs):
        shapes = []
        for t in range(t_n):
            c = contour_of(organ, t)
            sh = shape_summary(c) if c is not None else None
            if sh is not None:
                sh["below_pcl_mm"] = lowest_below_pcl(c, None if pcl is None else pcl[t])
                sh["below_h_line_mm"] = (below_h_line(c, hl[t]) if hl is not None
                                         and organ in GRADED_ORGANS else np.nan)
                sh["rectocele_depth_mm"] = (rectocele_depth(c, anal[t]) if anal is not None
                                            and organ == RECTOCELE_ORGAN else np.nan)
                sh["anorectal_angle_deg"] = (angles[t] if angles is not None
                                             and organ == ANORECTAL_ORGAN else np.nan)
            shapes.append(sh)
        rest = shapes[rest_frame]
        for t in range(t_n):
            sh = shapes[t]
            g = grouped.get((organ, t))
            row = {"subject": subject, "organ": organ, "frame": t,
                   "time_s": float(series.times_s[t])}
            for k in ("area_mm2", "perimeter_mm", "centroid_x_mm", "centroid_y_mm",
                      "lowest_y_mm", "below_pcl_mm", "rectocele_depth_mm",
                      "anorectal_angle_deg"):
                row[k] = sh[k] if sh is not None else np.nan
            if sh is not None and rest is not None:
                row["centroid_displacement_mm"] = float(np.hypot(
                    sh["centroid_x_mm"] - rest["centroid_x_mm"],
                    sh["centroid_y_mm"] - rest["centroid_y_mm"]))
                row["descent_mm"] = sh["lowest_y_mm"] - rest["lowest_y_mm"]
            else:
                row["centroid_displacement_mm"] = np.nan
                row["descent_mm"] = np.nan
            ok = g is not None and bool(g["valid"].any())
            if ok:
                gv = g[g["valid"]]
                row["mean_displacement_mm"] = float(gv["displacement_mm"].mean())
                row["max_displacement_mm"] = float(gv["displacement_mm"].max())
                row["mean_abs_curvature_per_mm"] = float(gv["curvature_per_mm"].abs().mean())
            else:
                row["mean_displacement_mm"] = np.nan
                row["max_displacement_mm"] = np.nan
                row["mean_abs_curvature_per_mm"] = np.nan
            ref = (reference or {}).get(organ)
            if ref is not None and pcl is not None and np.isfinite(ref[t]).all():
                row["ref_below_pcl_mm"] = float(below_pcl(ref[t], pcl[t]))
                row["ref_to_pubis_mm"] = float(pubis_distance(ref[t], pcl[t]))
            else:
                row["ref_below_pcl_mm"] = row["ref_to_pubis_mm"] = np.nan
            row["reference_found"] = bool(organ == found and np.isfinite(ref[t]).all())
            # the O of the HMO system: the reference point, else the lowest point
            row["below_h_line_mm"] = (
                np.nan if hl is None or organ == HIATUS_ORGAN
                else below_h_line(ref[t], hl[t]) if ref is not None
                else sh["below_h_line_mm"] if sh is not None else np.nan)
            row["confidence"] = float(confidence[t, oi]) if confidence is not None else np.nan
            row["flagged"] = t in flag_sets.get(organ, ())
            row["repaired"] = t in repair_sets.get(organ, ())
            rows.append(row)
    if not rows:
        return pd.DataFrame({c: [] for c in FRAME_COLUMNS})
    return pd.DataFrame(rows)[list(FRAME_COLUMNS)]


# What one compares between patients is summarised in core.summary (also importable here).
from core.summary import SUMMARY_COLUMNS as SUMMARY_COLUMNS  # noqa: E402
from core.summary import SUMMARY_LABELS as SUMMARY_LABELS  # noqa: E402
from core.summary import SUMMARY_TEXT_LABELS as SUMMARY_TEXT_LABELS  # noqa: E402
from core.summary import summary_table as summary_table  # noqa: E402
