"""Per-organ summaries of a series' deformation: what one compares between patients.

``pelvitrack compare``, the compare window, a batch's ``summary.csv`` and the report
show these; :mod:`core.indices` imports them too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.rectocele import rectocele_grade
from core.reference import GRADED_ORGANS, HIATUS_ORGAN, hmo_grade, o_grade, pcl_grade

#: Columns of :func:`summary_table`: one row per subject and organ.
SUMMARY_COLUMNS = (
    "subject", "organ", "frames", "rest_area_mm2", "max_descent_mm", "time_of_max_descent_s",
    "max_centroid_displacement_mm", "max_displacement_mm", "area_change_at_max_descent_pct",
    "max_mean_abs_curvature_per_mm", "rest_below_pcl_mm", "max_below_pcl_mm",
    "rest_ref_below_pcl_mm", "max_ref_below_pcl_mm", "max_ref_to_pubis_mm",
    "max_below_h_line_mm", "max_rectocele_depth_mm", "rest_anorectal_angle_deg",
    "min_anorectal_angle_deg", "max_anorectal_angle_deg", "pcl_grade", "hmo_grade",
    "rectocele_grade", "reference_point", "flagged_frames",
)


#: How the summary's measures are shown (``pelvitrack compare``, the compare window):
#: column, label with unit, decimals.
SUMMARY_LABELS = (
    ("rest_area_mm2", "rest area (mm²)", 0),
    ("max_descent_mm", "max descent (mm)", 1),
    ("time_of_max_descent_s", "time of max descent (s)", 1),
    ("max_centroid_displacement_mm", "max centroid displ. (mm)", 1),
    ("max_displacement_mm", "max point displ. (mm)", 1),
    ("area_change_at_max_descent_pct", "area change at max descent (%)", 1),
    ("max_mean_abs_curvature_per_mm", "max mean |curvature| (1/mm)", 3),
    ("rest_below_pcl_mm", "lowest point below PCL, rest (mm)", 1),
    ("max_below_pcl_mm", "lowest point below PCL, max (mm)", 1),
    ("rest_ref_below_pcl_mm", "reference point below PCL, rest (mm)", 1),
    ("max_ref_below_pcl_mm", "reference point below PCL, max (mm)", 1),
    ("max_ref_to_pubis_mm", "reference point to pubis, max (mm)", 1),
    ("max_below_h_line_mm", "below the H-line, max (mm)", 1),
    ("max_rectocele_depth_mm", "rectocele depth, max (mm)", 1),
    ("rest_anorectal_angle_deg", "anorectal angle, rest (°)", 0),
    ("min_anorectal_angle_deg", "anorectal angle, min (°)", 0),
    ("max_anorectal_angle_deg", "anorectal angle, max (°)", 0),
    ("flagged_frames", "frames flagged", 0),
)

#: ... and its text measures: column, label (shown only where some input has one).
SUMMARY_TEXT_LABELS = (
    ("pcl_grade", "PCL grade (rule of three)"),
    ("hmo_grade", "HMO grade (H-line, M-line; O)"),
    ("rectocele_grade", "rectocele"),
    ("reference_point", "reference point (marked, or found on each frame)"),
)


#: The summary's grade columns, in the order they are quoted.
GRADE_COLUMNS = ("pcl_grade", "hmo_grade", "rectocele_grade")


def grades_of(row: Mapping[str, object], columns: tuple[str, ...] = GRADE_COLUMNS
              ) -> list[str]:
    """A summary row's grades (of ``columns``) that are given (a table written before
    a column existed simply lacks it)."""
    return [str(row[c]) for c in columns
            if c in row and isinstance(row[c], str) and row[c]]


def summary_table(frames: pd.DataFrame, rest_frame: int = 0) -> pd.DataFrame:
    """Per-organ summary of a series' deformation: what one compares between patients.

    Args:
        frames: a per-frame table (:func:`core.indices.frame_table`, one subject or
            several).
        rest_frame: the frame of reference of that table.

    Returns:
        DataFrame with :data:`SUMMARY_COLUMNS`, one row per (subject, organ) in the
        table's order: the rest frame's area; the largest descent and when it
        happens; the largest centroid and point displacements; the area change at
        the frame of largest descent, in % of the rest area; the largest mean
        |curvature|; how far the organ's lowest point and its reference point lie
        below the pubococcygeal line at rest and at most, and the reference point's
        largest distance from the pubis; ``pcl_grade``, the rule of three
        (:func:`core.reference.pcl_grade`) of the reference point's largest
        distance, else of the lowest point's for :data:`core.reference.GRADED_ORGANS`;
        ``hmo_grade`` of the rectum's reference point (the anorectal junction: H- and
        M-line) and, for the other organs, their O (:func:`core.reference.o_grade`
        of ``max_below_h_line_mm``, how far the organ's graded point went below the
        H-line); the rectum's largest ``rectocele_depth_mm`` and its grade
        (:func:`core.rectocele.rectocele_grade`); the rectum's anorectal angle at rest,
        smallest and largest (``anorectal_angle_deg``); ``reference_point``, "marked"
        or "found" (the anorectal junction found on each frame: ``reference_found``) or
        ""; the number of frames the tracker flagged.  NaN (and "") where the
        organ, the line or the point is missing in the frames needed.

    Raises:
        ValueError: columns of :data:`FRAME_COLUMNS` are missing.
    """
    need = {"subject", "organ", "frame", "time_s", "area_mm2", "descent_mm",
            "centroid_displacement_mm", "max_displacement_mm", "mean_abs_curvature_per_mm"}
    missing = sorted(need - set(frames.columns))
    if missing:
        raise ValueError(f"not a per-frame table: missing columns {missing}")
    rows = []
    for (subject, organ), g in frames.groupby(["subject", "organ"], sort=False):
        g = g.sort_values("frame")
        rest = g.loc[g["frame"] == rest_frame, "area_mm2"]
        rest_area = float(rest.iloc[0]) if len(rest) else np.nan
        descent = g["descent_mm"].to_numpy(float)
        if np.isfinite(descent).any():
            i = int(np.nanargmax(descent))
            max_descent, t_max = float(descent[i]), float(g["time_s"].iloc[i])
            area_at = float(g["area_mm2"].iloc[i])
            change = 100.0 * (area_at - rest_area) / rest_area if rest_area > 0 else np.nan
        else:
            max_descent = t_max = change = np.nan

        def peak(col: str, g: pd.DataFrame = g) -> float:
            v = g[col].to_numpy(float)
            return float(np.nanmax(v)) if np.isfinite(v).any() else np.nan

        flagged = int(g["flagged"].sum()) if "flagged" in g else 0

        def at_rest(col: str, g: pd.DataFrame = g) -> float:
            if col not in g:  # tables written before the PCL have no such column
                return np.nan
            v = g.loc[g["frame"] == rest_frame, col]
            return float(v.iloc[0]) if len(v) else np.nan

        ara = "anorectal_angle_deg"
        angles = g[ara].to_numpy(float) if ara in g else np.array([np.nan])
        angle_range = ((float(np.nanmin(angles)), float(np.nanmax(angles)))
                       if np.isfinite(angles).any() else (np.nan, np.nan))
        pcl = {c: peak(c) if c in g else np.nan
               for c in ("below_pcl_mm", "ref_below_pcl_mm", "ref_to_pubis_mm",
                         "below_h_line_mm", "rectocele_depth_mm")}
        # the point the rule of three grades: the reference point the user chose, else
        # the lowest point where that is the graded point (the bladder base)
        graded = (pcl["ref_below_pcl_mm"] if np.isfinite(pcl["ref_below_pcl_mm"])
                  else pcl["below_pcl_mm"] if organ in GRADED_ORGANS else np.nan)
        hmo = ""
        if organ == HIATUS_ORGAN and np.isfinite(pcl["ref_below_pcl_mm"]):
            hmo = (f"H {hmo_grade(pcl['ref_to_pubis_mm'], 'H')}, "
                   f"M {hmo_grade(pcl['ref_below_pcl_mm'], 'M')}")
        elif np.isfinite(pcl["below_h_line_mm"]):
            hmo = f"O {o_grade(pcl['below_h_line_mm'])}"
        # where the reference point came from: marked by the user, or (the anorectal
        # junction) found on each frame
        source = ("found" if "reference_found" in g and g["reference_found"].astype(bool).any()
                  else "marked" if np.isfinite(pcl["ref_below_pcl_mm"])
                  or np.isfinite(pcl["ref_to_pubis_mm"]) else "")
        rows.append((subject, organ, len(g), rest_area, max_descent, t_max,
                     peak("centroid_displacement_mm"), peak("max_displacement_mm"), change,
                     peak("mean_abs_curvature_per_mm"), at_rest("below_pcl_mm"),
                     pcl["below_pcl_mm"], at_rest("ref_below_pcl_mm"), pcl["ref_below_pcl_mm"],
                     pcl["ref_to_pubis_mm"], pcl["below_h_line_mm"], pcl["rectocele_depth_mm"],
                     at_rest(ara), *angle_range,
                     pcl_grade(graded), hmo, rectocele_grade(pcl["rectocele_depth_mm"]),
                     source, flagged))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
