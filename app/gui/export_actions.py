"""Exports of the current result through :mod:`core.export` (the code the CLI uses).

Plain functions of (result, path) so they are testable without dialogs; the
main window asks for the path and calls them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: File-dialog filters per export kind.
FILTERS = {
    "tables": "CSV tables (*.csv);;Excel workbook (*.xlsx);;Parquet (*.parquet)",
    "labels": "NIfTI label map (*.nii.gz *.nii)",
    "video": "Animated GIF (*.gif);;MP4 video (*.mp4)",
    "screenshot": "PNG image (*.png)",
    "project": "PelviTrack project (*.pvt)",
    "report": "HTML report (*.html)",
}

_TABLE_SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}


def table_paths(path: str | Path, selected_filter: str = "") -> tuple[Path, Path, str]:
    """The points and frames table paths for a chosen file name.

    ``study.csv`` → ``study_points.csv`` and ``study_frames.csv``.  Without a
    known suffix the format comes from the chosen filter (default CSV).

    Returns:
        (points path, frames path, format).
    """
    p = Path(path)
    fmt = _TABLE_SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        fmt = next((f for s, f in _TABLE_SUFFIXES.items() if f"*{s}" in selected_filter), "csv")
        stem = p
    else:
        stem = p.with_suffix("")
    ext = "." + fmt
    points = stem.with_name(f"{stem.name}_points{ext}")
    return points, stem.with_name(f"{stem.name}_frames{ext}"), fmt


def export_tables(result: Any, path: str | Path, selected_filter: str = "",
                  keep_identity: bool = False) -> list[Path]:
    """Write the points and frames tables (CSV, XLSX or Parquet), and the distances and
    angles measured by hand when there are any.

    Args:
        result: ``AnalysisResult``-like (``points``, ``frames`` DataFrames, ``series``).
        path: chosen file name; ``_points`` / ``_frames`` (/ ``_measurements``) are
            appended to its stem.
        selected_filter: the file-dialog filter (format when the name has no suffix).
        keep_identity: subject column holds the patient id instead of the alias.

    Returns:
        The paths written.
    """
    from core.export import write_table
    from core.outputs import identity_tables, measurements_for_export

    if getattr(result, "points", None) is None or getattr(result, "frames", None) is None:
        raise ValueError("nothing to export: the series has not been analysed yet")
    points_path, frames_path, fmt = table_paths(path, selected_filter)
    pts, frs = identity_tables(result, keep_identity)
    written = [Path(write_table(pts, points_path, fmt)), Path(write_table(frs, frames_path, fmt))]
    measured = measurements_for_export(result, keep_identity)
    if measured is not None:
        stem = frames_path.name[:-len(f"_frames.{fmt}")]
        written.append(Path(write_table(measured, frames_path.with_name(
            f"{stem}_measurements.{fmt}"), fmt)))
    return written


def export_labels(result: Any, path: str | Path) -> Path:
    """Write the label maps (T,H,W) as NIfTI (spacing and frame times kept)."""
    from core.export import write_series_labels

    if getattr(result, "labels", None) is None:
        raise ValueError("nothing to export: the series has no labels yet")
    return Path(write_series_labels(result.labels, result.series, path))


def export_video(result: Any, path: str | Path, fps: float = 4.0,
                 window: tuple[float, float] | None = None) -> Path:
    """Write the cine series with its tracked contours as GIF or MP4.

    Args:
        result: ``AnalysisResult``-like with ``series`` and ``tracks.points``.
        path: ``.gif`` or ``.mp4``.
        fps: frames per second (the player's speed).
        window: grey window (low, high); default the 1st/99th percentiles.
    """
    from core.export import write_overlay_video

    tracks = getattr(result, "tracks", None)
    points = getattr(tracks, "points", None) or {}
    if not points:
        raise ValueError("nothing to export: the series has no tracked contours yet")
    s = result.series
    contours = {o: [p[t] for t in range(s.n_frames)] for o, p in points.items()}
    from app.gui.theme import organ_rgb

    return Path(write_overlay_video(s.frames, contours, s.spacing_mm, path, fps=fps,
                                    colours=organ_rgb, window=window, times_s=s.times_s))


def export_report(result: Any, path: str | Path, keep_identity: bool = False) -> Path:
    """Write the one-page HTML report (key frames, summaries, grades, curves)."""
    from core.export.report import write_report

    if getattr(result, "frames", None) is None or getattr(result, "tracks", None) is None:
        raise ValueError("nothing to report: the series has not been analysed yet")
    p = Path(path)
    if p.suffix.lower() not in (".html", ".htm"):
        p = p.with_name(p.name + ".html")
    return write_report(result, p, keep_identity=keep_identity)


def save_project_file(result: Any, path: str | Path) -> Path:
    """Save the result as a PelviTrack project file (atomic)."""
    from core.project import save_project

    p = Path(path)
    if p.suffix.lower() != ".pvt":
        p = p.with_name(p.name + ".pvt")
    save_project(result.to_project(), p)
    return p
