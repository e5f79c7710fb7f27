"""``pelvitrack info INPUT``: describe a cine series."""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from app.commands import add_slice_option
from core.io import read_series
from core.project import Project
from core.series import CineSeries


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a cine series (DICOM, NIfTI, TIFF/PNG, project)")
    p.add_argument("input", help="series file or folder")
    p.add_argument("--series-uid", help="pick one series when a folder holds several")
    add_slice_option(p)
    p.add_argument(
        "--spacing", type=float, nargs=2, metavar=("ROW_MM", "COL_MM"),
        help="pixel spacing for image stacks that do not store it (default 1 mm)",
    )
    p.add_argument(
        "--frame-interval", type=float, metavar="SECONDS",
        help="frame interval for files that do not store times (default 1 s)",
    )
    p.set_defaults(func=run)


def describe(series: CineSeries) -> list[str]:
    """Lines describing a series (no patient name or id)."""
    m = series.meta
    h, w = series.shape
    lines = [
        f"subject:      {series.subject}",
        f"source:       {m.get('source_path', '')} ({m.get('format', '')})",
        f"description:  {m.get('series_description') or '-'}",
        f"frames:       {series.n_frames}",
        f"matrix:       {h} x {w} (rows x columns)",
        f"spacing:      {series.spacing_mm[0]:.4g} x {series.spacing_mm[1]:.4g} mm (row x column)",
        f"field of view: {h * series.spacing_mm[0]:.1f} x {w * series.spacing_mm[1]:.1f} mm",
        f"frame interval: {series.frame_interval_s:.4g} s "
        f"(duration {series.times_s[-1]:.4g} s)",
        f"orientation:  {m.get('orientation', 'unknown')}",
    ]
    ops = m.get("orientation_ops") or []
    if ops:
        lines.append(f"reoriented:   {', '.join(ops)}")
    if m.get("n_slices"):
        where = (f" at {m['slice_position_mm']:g} mm" if "slice_position_mm" in m else "")
        lines.append(f"slice:        {m['slice_index']} of 0-{m['n_slices'] - 1}{where}")
    if m.get("series_uid"):
        lines.append(f"series UID:   {m['series_uid']}")
    for w_ in series.warnings:
        lines.append(f"warning:      {w_}")
    return lines


def _placed(arr: np.ndarray | None) -> str:
    """Where a line's end is placed: "every frame" (one line for all) or "its own on N of
    T frames"."""
    ok = np.isfinite(arr).all(axis=1)
    if ok.all() and np.allclose(arr, arr[0]):
        return "every frame"
    return f"its own on {int(ok.sum())} of {len(arr)} frames"


def describe_project(project: Project) -> list[str]:
    """Lines describing what a project holds besides its series: the analysis, the
    frames corrected by hand, the lines, reference points and measurements by hand."""
    from core.measurements import measurements
    from core.rectocele import ANAL_LANDMARKS
    from core.reference import HIATUS_ORGAN, PCL_LANDMARKS, REFERENCE_POINTS

    settings = project.settings or {}
    lines = []
    if project.labels is None:
        lines.append("analysis:     none yet (no labels)")
    else:
        manual = [i for i, r in enumerate(project.provenance) if r.get("source") == "manual"]
        lines.append(f"analysis:     model {settings.get('model_id') or '-'}, organs "
                     f"{', '.join(project.organs)}, rest frame "
                     f"{int(settings.get('rest_frame', 0)) + 1}"
                     + (f", {len(manual)} frame(s) corrected by hand" if manual else ""))
    marks = project.landmarks or {}
    drawn = [f"{name} ({_placed(marks[ends[0]])})"
             for name, ends in (("pubococcygeal line", PCL_LANDMARKS),
                                ("anal canal line", ANAL_LANDMARKS))
             if all(e in marks for e in ends)]
    if drawn:
        lines.append(f"lines:        {'; '.join(drawn)}")
    chosen = settings.get("reference_points") or {}
    refs = [f"{REFERENCE_POINTS.get(o, o)} (tracked point {int(i)})" for o, i in chosen.items()]
    if all(e in marks for e in ANAL_LANDMARKS) and HIATUS_ORGAN not in chosen:
        refs.append("anorectal junction (found on each frame)")
    if refs:
        lines.append(f"reference:    {', '.join(refs)}")
    done = measurements(marks)
    if done:
        lines.append("measured:     " + ", ".join(
            f"#{m.key} {m.kind} {m.text} (frame {m.frame + 1})" for m in done))
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the description of the series; errors go up to the CLI (exit 2).

    Library warnings raised while reading (pydicom complains about odd values
    in many scanner files) are collected and listed with the description, so a
    failed read still prints exactly one ``error: …`` line.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series = read_series(
            args.input,
            series_uid=args.series_uid,
            spacing_mm=tuple(args.spacing) if args.spacing else None,
            frame_interval_s=args.frame_interval,
            slice_index=args.slice,
        )
    lines = describe(series)
    if series.meta.get("format") == "project":
        from core.project import load_project

        lines += describe_project(load_project(args.input))
    notes = sorted({str(w.message).splitlines()[0] for w in caught if str(w.message).strip()})
    lines += [f"note:         {n}" for n in notes]
    print("\n".join(lines))
    return 0
