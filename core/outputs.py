"""The files of one analysis: what ``pelvitrack analyze`` writes into its folder.

Tables (pseudonymous unless asked), the label maps as NIfTI on the source's grid, the
project file, the one-page report and the overlay video.  :mod:`core.pipeline`
imports these names too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from core.pipeline import AnalysisResult

#: Files written by :func:`write_outputs` (tables get the format's suffix).
OUTPUT_NAMES = {
    "labels": "labels.nii.gz",
    "points": "points",
    "frames": "frames",
    "project": "analysis.pvt",
    "overlay": "overlay.gif",
    "report": "report.html",
    "measurements": "measurements",
}


def export_subject(series: Any, keep_identity: bool) -> str:
    """The subject column of exported tables: the pseudonymous alias
    (``series.meta["subject_id"]``) unless ``keep_identity``, then the patient id
    (alias when there is none).  No table ever carries the patient name."""
    if keep_identity and series.meta.get("patient_id"):
        return str(series.meta["patient_id"])
    return series.subject


def identity_tables(result: AnalysisResult, keep_identity: bool) -> tuple[pd.DataFrame,
                                                                            pd.DataFrame]:
    """The points and frames tables with the subject column set for export
    (:func:`export_subject`)."""
    subject = export_subject(result.series, keep_identity)
    pts = result.points.copy()
    frs = result.frames.copy()
    pts["subject"] = subject
    frs["subject"] = subject
    return pts, frs


def measurements_for_export(result: AnalysisResult, keep_identity: bool
                            ) -> pd.DataFrame | None:
    """The distances and angles measured by hand
    (:func:`core.measurements.measurement_table`), or None when there are none."""
    from core.measurements import measurement_table

    table = measurement_table(getattr(result, "landmarks", None), result.series.times_s,
                              export_subject(result.series, keep_identity))
    return table if len(table) else None


def write_outputs(
    result: AnalysisResult,
    out_dir: str | os.PathLike,
    fmt: str = "csv",
    keep_identity: bool = False,
    overlay: bool = True,
) -> dict[str, Path]:
    """Write the files of one analysis into a folder.

    Files: ``labels.nii.gz``, ``points.<fmt>``, ``frames.<fmt>``,
    ``analysis.pvt`` (project file), ``report.html`` (:mod:`core.export.report`),
    ``overlay.gif`` (unless ``overlay`` is False) and, when distances or angles were
    measured by hand (:mod:`core.measurements`), ``measurements.<fmt>``.

    Args:
        result: the analysis.
        out_dir: target folder (created if needed).
        fmt: table format "csv", "xlsx" or "parquet".
        keep_identity: keep the patient id as subject in tables and the
            patient identity in the project file.
        overlay: write the overlay video.

    Returns:
        name -> path written (keys of :data:`OUTPUT_NAMES`).
    """
    from core.export import write_overlay_video, write_series_labels, write_table
    from core.project import save_project

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pts, frs = identity_tables(result, keep_identity)
    written: dict[str, Path] = {}
    series = result.series
    written["labels"] = Path(write_series_labels(result.labels, series,
                                                 out / OUTPUT_NAMES["labels"]))
    written["points"] = Path(write_table(pts, out / OUTPUT_NAMES["points"], fmt))
    written["frames"] = Path(write_table(frs, out / OUTPUT_NAMES["frames"], fmt))
    measured = measurements_for_export(result, keep_identity)
    if measured is not None:
        written["measurements"] = Path(write_table(measured, out / OUTPUT_NAMES["measurements"],
                                                   fmt))
    project = result.to_project()
    if not keep_identity:
        from core.export import pseudonymize

        project.series = project.series.with_frames(project.series.frames)
        project.series.meta = _pseudonymized_meta(pseudonymize(project.series.meta))
    save_project(project, out / OUTPUT_NAMES["project"])
    written["project"] = out / OUTPUT_NAMES["project"]
    from core.export.report import write_report

    written["report"] = write_report(result, out / OUTPUT_NAMES["report"],
                                     keep_identity=keep_identity)
    if overlay:
        contours = {
            organ: [pts if ok.all() else None
                    for pts, ok in zip(result.tracks.points[organ], result.tracks.valid[organ],
                                       strict=True)]
            for organ in result.organs
        }
        written["overlay"] = Path(write_overlay_video(
            series.frames, contours, series.spacing_mm, out / OUTPUT_NAMES["overlay"],
            times_s=series.times_s))
    return written


def _pseudonymized_meta(meta: dict[str, Any]) -> dict[str, Any]:
    from core.series import default_meta

    out = default_meta()
    out.update(meta)
    return out
