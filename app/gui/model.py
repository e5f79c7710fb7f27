"""What the views draw, as plain arrays (Qt-free).

:class:`ViewData` turns an analysis result (``core.pipeline.AnalysisResult`` or
anything with the same attributes) into arrays indexed by frame, so that one
frame update is a few array look-ups: no DataFrame filtering during playback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.series import CineSeries

#: Per-point indices that can colour the contour points: column -> axis label.
POINT_INDICES: dict[str, str] = {
    "curvature_per_mm": "Curvature (1/mm)",
    "displacement_mm": "Displacement (mm)",
    "normal_displacement_mm": "Normal displacement (mm)",
}

#: Per-frame indices that can be plotted against time: column -> axis label.
FRAME_INDICES: dict[str, str] = {
    "area_mm2": "Area (mm²)",
    "descent_mm": "Descent (mm)",
    "below_pcl_mm": "Lowest point below the PCL (mm)",
    "ref_below_pcl_mm": "Reference point below the PCL (mm)",
    "ref_to_pubis_mm": "Reference point to the pubis (mm)",
    "below_h_line_mm": "Below the H-line (mm)",
    "rectocele_depth_mm": "Rectocele depth (mm)",
    "anorectal_angle_deg": "Anorectal angle (°)",
    "centroid_displacement_mm": "Centroid displacement (mm)",
    "max_displacement_mm": "Max displacement (mm)",
    "mean_displacement_mm": "Mean displacement (mm)",
    "mean_abs_curvature_per_mm": "Mean |curvature| (1/mm)",
    "perimeter_mm": "Perimeter (mm)",
}

#: Indices whose colour scale is symmetric about zero (diverging colour map).
SIGNED_INDICES = frozenset({"curvature_per_mm", "normal_displacement_mm"})


@dataclass
class ViewData:
    """Arrays of one analysed series, ready to draw.

    Attributes:
        series: the cine series (frames (T,H,W) float32, spacing_mm (row, col)).
        organs: organ names in label order.
        labels: uint8 (T,H,W) label maps, or None.
        points: organ -> (T,N,2) float64 tracked points, xy mm.
        valid: organ -> (T,N) bool, whether each tracked point is trusted.
        rest_frame: index of the rest (reference) frame.
        point_values: index column -> organ -> (T,N) float64 (NaN where missing).
        frame_values: index column -> organ -> (T,) float64 (NaN where missing).
        result: the object this was built from (for export and saving).
    """

    series: CineSeries
    organs: tuple[str, ...]
    labels: np.ndarray | None = None
    points: dict[str, np.ndarray] = field(default_factory=dict)
    valid: dict[str, np.ndarray] = field(default_factory=dict)
    rest_frame: int = 0
    point_values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    frame_values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    result: Any = None

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return self.series.n_frames

    @property
    def times_s(self) -> np.ndarray:
        """Frame times (T,) in s."""
        return self.series.times_s

    def index_range(self, column: str) -> tuple[float, float]:
        """Colour-scale limits of a per-point index over all organs and frames.

        Robust (1st/99th percentile); symmetric about 0 for signed indices.

        Returns:
            (low, high) with high > low.
        """
        values = [v[np.isfinite(v)] for v in self.point_values.get(column, {}).values()]
        values = [v for v in values if v.size]
        if not values:
            return (-1.0, 1.0) if column in SIGNED_INDICES else (0.0, 1.0)
        allv = np.concatenate(values)
        if column in SIGNED_INDICES:
            m = float(np.percentile(np.abs(allv), 99))
            m = m if m > 0 else 1.0
            return -m, m
        lo, hi = (float(x) for x in np.percentile(allv, [1, 99]))
        lo = min(lo, 0.0)
        return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _tracks_parts(tracks: Any) -> tuple[dict, dict, int]:
    """(points, valid, rest_frame) from a ``Tracks`` object or a project dict."""
    if tracks is None:
        return {}, {}, 0
    if hasattr(tracks, "points"):
        return dict(tracks.points), dict(getattr(tracks, "valid", {}) or {}), int(
            getattr(tracks, "rest_frame", 0)
        )
    points = {o: np.asarray(d["points"]) for o, d in tracks.items()}
    valid = {o: np.asarray(d["valid"]) for o, d in tracks.items() if "valid" in d}
    return points, valid, 0


def pivot_points(table: Any, organ: str, column: str, shape: tuple[int, int]) -> np.ndarray:
    """Per-point values of one organ as a (T,N) array.

    Args:
        table: points DataFrame with columns organ, frame, point and ``column``.
        organ: organ name.
        column: value column, e.g. ``"curvature_per_mm"``.
        shape: (T, N).

    Returns:
        float64 (T,N), NaN where the table has no row.
    """
    out = np.full(shape, np.nan)
    if table is None or column not in getattr(table, "columns", ()):
        return out
    sub = table[table["organ"] == organ]
    f = sub["frame"].to_numpy(dtype=int)
    p = sub["point"].to_numpy(dtype=int)
    ok = (f >= 0) & (f < shape[0]) & (p >= 0) & (p < shape[1])
    out[f[ok], p[ok]] = sub[column].to_numpy(dtype=float)[ok]
    return out


def pivot_frames(table: Any, organ: str, column: str, n_frames: int) -> np.ndarray:
    """Per-frame values of one organ as a (T,) array (NaN where missing)."""
    out = np.full(n_frames, np.nan)
    if table is None or column not in getattr(table, "columns", ()):
        return out
    sub = table[table["organ"] == organ]
    f = sub["frame"].to_numpy(dtype=int)
    ok = (f >= 0) & (f < n_frames)
    out[f[ok]] = sub[column].to_numpy(dtype=float)[ok]
    return out


def view_data_from_result(result: Any) -> ViewData:
    """Build :class:`ViewData` from an ``AnalysisResult``-like object.

    Args:
        result: object with ``series`` (CineSeries), ``organs``, ``labels``
            (T,H,W) or None, ``tracks`` (``Tracks`` or project-style dict),
            ``points`` and ``frames`` DataFrames (may be None).

    Raises:
        ValueError: the result has no series or its arrays do not match it.
    """
    series = getattr(result, "series", None)
    if not isinstance(series, CineSeries):
        raise ValueError(f"expected a result with a CineSeries, got {type(series).__name__}")
    t = series.n_frames
    organs = tuple(getattr(result, "organs", ()) or ())
    labels = getattr(result, "labels", None)
    if labels is not None and np.shape(labels) != series.frames.shape:
        raise ValueError(
            f"labels shape {np.shape(labels)} does not match frames {series.frames.shape}"
        )
    points, valid, rest = _tracks_parts(getattr(result, "tracks", None))
    for organ, arr in points.items():
        if arr.ndim != 3 or arr.shape[0] != t or arr.shape[2] != 2:
            raise ValueError(f"expected ({t},N,2) points for {organ}, got {arr.shape}")
        valid.setdefault(organ, np.ones(arr.shape[:2], dtype=bool))
    if not organs:
        organs = tuple(points)
    ptable = getattr(result, "points", None)
    ftable = getattr(result, "frames", None)
    point_values = {
        col: {o: pivot_points(ptable, o, col, points[o].shape[:2]) for o in points}
        for col in POINT_INDICES
    }
    frame_values = {col: {o: pivot_frames(ftable, o, col, t) for o in organs}
                    for col in FRAME_INDICES}
    return ViewData(
        series=series,
        organs=organs,
        labels=None if labels is None else np.asarray(labels),
        points=points,
        valid=valid,
        rest_frame=rest,
        point_values=point_values,
        frame_values=frame_values,
        result=result,
    )


def view_data_from_series(series: CineSeries) -> ViewData:
    """A :class:`ViewData` with images only (before analysis)."""
    return ViewData(series=series, organs=())


def auto_levels(frames: np.ndarray) -> tuple[float, float]:
    """Window/level from the 1st and 99th percentiles of a (sub-sampled) stack.

    Args:
        frames: (T,H,W) or (H,W) intensities.

    Returns:
        (low, high) with high > low.
    """
    a = np.asarray(frames)
    sample = a.ravel()[:: max(1, a.size // 200_000)]
    lo, hi = (float(v) for v in np.percentile(sample, [1, 99]))
    return (lo, hi) if hi > lo else (lo, lo + 1.0)
