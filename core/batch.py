"""Analyse many cine series in one run: a cohort, or every series of a folder.

``pelvitrack analyze A B C --out DIR`` (or ``--each-series`` on a folder holding
several DICOM series or a multi-slice cine) runs :func:`analyze_many`: each input
is analysed into its own subfolder ``DIR/<name>/`` (the files of
:func:`core.pipeline.write_outputs`), one input's failure is recorded and the
run goes on, and at the end ``DIR/summary.<fmt>`` holds every analysed input's
per-organ summary (:func:`core.indices.summary_table`, what ``pelvitrack
compare`` prints), ``DIR/batch.csv`` what became of each input and
``DIR/index.html`` a page linking each input's report, all rewritten after each
input.  A run that stops (crash, Ctrl+C) keeps the inputs already written and
their record; ``skip_existing`` then picks up where it stopped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import Cancelled, PelviTrackError, ReaderError
from core.progress import Progress
from core.summary import grades_of

#: Files of a batch run, in its output folder (the table suffix follows ``fmt``).
BATCH_LOG = "batch.csv"
SUMMARY_STEM = "summary"


@dataclass(frozen=True)
class BatchItem:
    """One series to analyse: a path, and which series / slice of it.

    ``name`` is the subfolder of the output folder its files go to.
    """

    source: Path
    name: str
    series_uid: str | None = None
    slice_index: int | None = None

    @property
    def label(self) -> str:
        """How messages name it: the path, and the series / slice when one is picked."""
        parts = [str(self.source)]
        if self.series_uid:
            parts.append(f"series {self.series_uid}")
        if self.slice_index is not None:
            parts.append(f"slice {self.slice_index}")
        return ", ".join(parts)


def _stem(path: Path) -> str:
    name = path.name or path.resolve().name
    for suffix in (".nii.gz", ".nii", ".dcm", ".pvt", ".h5", ".tif", ".tiff"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "series"


def expand_inputs(inputs: Sequence[str | os.PathLike], each_series: bool = False
                  ) -> list[BatchItem]:
    """The series to analyse, each with a distinct output name.

    Args:
        inputs: series files or folders, or projects (.pvt).
        each_series: a folder holding several DICOM series (or a multi-slice
            cine) gives one item per series and slice (:func:`core.io.listing.list_series`),
            a multi-slice file one per slice; otherwise each input is one item
            (and a folder of several series fails, naming them).

    Raises:
        ReaderError: an input does not exist (checked before anything runs).
    """
    from core.io.listing import list_series, slice_count

    paths = [Path(raw) for raw in inputs]
    for path in paths:
        if not path.exists():
            raise ReaderError(path, "no such file or folder")
    stems = [_stem(p) for p in paths]
    # inputs of one name in different folders (patient_1/cine, patient_2/cine): the
    # folder above tells them apart
    counts: dict[str, set[Path]] = {}
    for path, stem in zip(paths, stems, strict=True):
        counts.setdefault(stem.lower(), set()).add(path.resolve())
    stems = [f"{_stem(p.resolve().parent)}_{stem}" if len(counts[stem.lower()]) > 1 else stem
             for p, stem in zip(paths, stems, strict=True)]
    items: list[tuple[Path, str, str | None, int | None]] = []
    for path, stem in zip(paths, stems, strict=True):
        entries = list_series(path) if each_series and path.is_dir() else []
        if len(entries) > 1:
            for k, e in enumerate(entries, 1):
                tail = f"_slice{e.slice_index}" if e.slice_index is not None else ""
                items.append((path, f"{stem}_s{k}{tail}", e.series_uid, e.slice_index))
            continue
        if len(entries) == 1 and entries[0].slice_index is not None:
            items.append((path, stem, None, entries[0].slice_index))
            continue
        n = slice_count(path) if each_series and path.is_file() else 1
        if n > 1:
            items += [(path, f"{stem}_slice{i}", None, i) for i in range(n)]
        else:
            items.append((path, stem, None, None))
    used: set[str] = set()  # case-insensitive: folders must differ on every file system
    out = []
    for path, name, uid, sl in items:
        unique, k = name, 1
        while unique.lower() in used:
            k += 1
            unique = f"{name}_{k}"
        used.add(unique.lower())
        out.append(BatchItem(path, unique, uid, sl))
    return out


def analysis_steps(source: str | os.PathLike, *, series_uid: str | None = None,
                   slice_index: int | None = None,
                   pcl: tuple[Sequence[float], Sequence[float]] | None = None,
                   anal_canal: tuple[Sequence[float], Sequence[float]] | str | None = None,
                   **options: Any) -> Iterator[Progress]:
    """Analyse one input as ``pelvitrack analyze`` does: a project with frames
    corrected by hand is segmented again keeping them (:func:`core.corrections.resegment`;
    the first record says so, ``data["kept_frames"]``), anything else goes to
    :func:`core.pipeline.analyze`.  A project's landmarks (the pubococcygeal line)
    and reference points are kept; ``pcl`` = ((pubis x, y), (coccyx x, y)) in mm
    places the line on every frame instead, and ``anal_canal`` = ((lower x, y), (upper
    x, y)) the anal canal's line (:mod:`core.rectocele`), or ``"auto"``: fitted to each
    frame's rectum once segmented (:func:`core.rectocele.fitted_anal_landmarks`).
    ``options`` go to either.
    """
    if isinstance(anal_canal, str):
        if anal_canal != "auto":
            raise ValueError(f"anal_canal must be two points or 'auto', got {anal_canal!r}")
        for p in analysis_steps(source, series_uid=series_uid, slice_index=slice_index,
                                pcl=pcl, **options):
            if p.stage == "done":
                _fit_anal_line(p.data["result"], source)
            yield p
        return
    from core.corrections import resegment
    from core.pipeline import AnalysisResult, analyze
    from core.project import manual_frames

    project = _project_of(source)
    if project is not None and manual_frames(project):
        earlier = AnalysisResult.from_project(project)
        yield Progress("read", 0, 1, f"keeping {len(earlier.manual_frames)} hand-corrected "
                                     f"frame(s) of {source}",
                       {"kept_frames": list(earlier.manual_frames)})
        lines = {"pcl": pcl, "anal-canal": anal_canal}
        if pcl is not None or anal_canal is not None:
            options["landmarks"] = _placed(lines, earlier.series, earlier.landmarks, source)
        yield from resegment(earlier, **options)
        return
    marks = options.pop("landmarks", None)
    if project is not None:
        marks = dict(project.landmarks) if marks is None else marks
        chosen = (project.settings or {}).get("reference_points") or {}
        options.setdefault("reference_points", {str(o): int(i) for o, i in chosen.items()})
    if pcl is not None or anal_canal is not None:
        from core.io import read_series

        source = read_series(source, series_uid=series_uid, slice_index=slice_index)
        marks = _placed({"pcl": pcl, "anal-canal": anal_canal}, source, marks,
                        source.meta.get("source_path", ""))
    yield from analyze(source, series_uid=series_uid, slice_index=slice_index,
                       landmarks=marks, **options)


def _placed(lines: dict[str, Any], series: Any, landmarks: Any, source: Any
            ) -> dict[str, Any]:
    """``landmarks`` with each given line (option name -> its two ends, or None) on
    every frame; the ends must lie on the image."""
    from core.rectocele import LINE_KINDS

    out = dict(landmarks or {})
    for flag, ends in lines.items():
        if ends is None:
            continue
        check, place = LINE_KINDS["pcl" if flag == "pcl" else "anal"][:2]
        try:
            check(ends, series.shape, series.spacing_mm)
        except ValueError as exc:
            raise ValueError(f"--{flag} on {source}: {exc}") from None
        out = place(out, series.n_frames, *ends)
    return out


def _fit_anal_line(result: Any, source: Any) -> None:
    """Fit the anal canal line to the result's rectum, every frame (in place)."""
    from core.rectocele import fitted_to_result, unfitted_note

    try:
        marks = fitted_to_result(result)
    except ValueError as exc:
        raise ValueError(f"--anal-canal auto on {source}: {exc}") from None
    result.set_landmarks(marks)
    note = unfitted_note(marks)
    if note:  # printed by the command line, kept by the project and the report
        result.tracks.warnings.append(note)
        result.settings.setdefault("warnings", []).append(note)


def _project_of(path: str | os.PathLike) -> Any:
    """The project a ``.pvt`` input holds (loaded once), else None."""
    p = Path(path)
    if p.suffix.lower() != ".pvt" or not p.is_file():
        return None
    from core.project import load_project

    return load_project(p)


@dataclass
class Outcome:
    """What became of one item: ``status`` "done", "skipped" (already there) or
    "failed" (``error`` says why, one line)."""

    item: BatchItem
    status: str
    error: str = ""
    summary: pd.DataFrame | None = None


def _summary_of(result: Any, keep_identity: bool) -> pd.DataFrame:
    from core.indices import summary_table
    from core.pipeline import identity_tables

    _points, frames = identity_tables(result, keep_identity)
    return summary_table(frames, int((result.settings or {}).get("rest_frame", 0)))


def analyze_many(items: Sequence[BatchItem], out_dir: str | os.PathLike, *,
                 fmt: str = "csv", keep_identity: bool = False, overlay: bool = True,
                 skip_existing: bool = False, **options: Any) -> Iterator[Progress]:
    """Analyse each item into ``out_dir/<name>/``; go on past failures.

    Args:
        items: from :func:`expand_inputs`.
        out_dir: the output folder (created if needed).
        fmt, keep_identity, overlay: as :func:`core.pipeline.write_outputs`.
        skip_existing: leave an item whose subfolder already holds its project
            (``analysis.pvt``) as it is (its summary is read back).
        options: :func:`core.pipeline.analyze` options (model, device, rest_frame, …).

    Yields:
        :class:`Progress`: stage "series" while an item runs (``done`` = items
        finished, the message names the item and its stage), stage "item" when
        one ends (``data["outcome"]``: an :class:`Outcome`), and last stage
        "done" with ``data["outcomes"]`` and ``data["summary"]`` (the summary
        file's path, None when nothing was analysed).

    A :class:`KeyboardInterrupt` or :class:`core.errors.Cancelled` stops the run
    (the current item's files are not written); inputs already written stay.
    """
    from core.pipeline import OUTPUT_NAMES, AnalysisResult, write_outputs
    from core.project import load_project

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = len(items)
    outcomes: list[Outcome] = []
    summary_path = None
    for i, item in enumerate(items):
        target = out / item.name
        project = target / OUTPUT_NAMES["project"]
        try:
            if skip_existing and project.is_file():
                result = AnalysisResult.from_project(load_project(project))
                outcome = Outcome(item, "skipped", summary=_summary_of(result, True))
            else:
                result = None
                for p in analysis_steps(item.source, series_uid=item.series_uid,
                                        slice_index=item.slice_index, **options):
                    if p.stage == "done":
                        result = p.data["result"]
                        break
                    yield Progress("series", i, n, f"{item.name}: {p.stage} {p.message}".strip(),
                                   {"item": item})
                if result is None:
                    raise PelviTrackError(f"{item.label}: the analysis ended without a result")
                write_outputs(result, target, fmt=fmt, keep_identity=keep_identity,
                              overlay=overlay)
                outcome = Outcome(item, "done", summary=_summary_of(result, keep_identity))
        except Cancelled:
            raise
        except (PelviTrackError, OSError, ValueError) as exc:
            text = str(exc).replace("\n", " ")
            if str(item.source) not in text:
                text = f"{item.label}: {text}"
            outcome = Outcome(item, "failed", error=text)
        outcomes.append(outcome)
        # after each one, so that a stopped run keeps its record
        summary_path = _write_reports(out, outcomes, fmt)
        yield Progress("item", i + 1, n, f"{item.name}: {outcome.status}", {"outcome": outcome})
    yield Progress("done", n, n, f"{sum(o.status != 'failed' for o in outcomes)} of {n} analysed",
                   {"outcomes": outcomes, "summary": summary_path})


def _write_reports(out: Path, outcomes: list[Outcome], fmt: str) -> Path | None:
    """``batch.csv`` (every item so far) and ``summary.<fmt>`` (those analysed);
    the summary's path, None while no item has one."""
    from core.export import write_table
    from core.indices import SUMMARY_COLUMNS

    log = pd.DataFrame([{"name": o.item.name, "input": str(o.item.source),
                         "series_uid": o.item.series_uid or "",
                         "slice": "" if o.item.slice_index is None else o.item.slice_index,
                         "status": o.status, "error": o.error} for o in outcomes])
    write_table(log, out / BATCH_LOG, "csv")
    _write_index(out, outcomes)
    parts = [o.summary.assign(input=o.item.name) for o in outcomes if o.summary is not None]
    if not parts:
        return None
    table = pd.concat(parts, ignore_index=True)[["input", *SUMMARY_COLUMNS]]
    return Path(write_table(table, out / f"{SUMMARY_STEM}.{fmt}", fmt))


#: The batch's overview page: one row per input, a link to its report.
INDEX_NAME = "index.html"


def _write_index(out: Path, outcomes: list[Outcome]) -> Path:
    """``index.html``: each input's status, largest descents and grades, and its report."""
    import html

    from core.atomic import replaced_atomically
    from core.pipeline import OUTPUT_NAMES

    organs = list(dict.fromkeys(o for oc in outcomes if oc.summary is not None
                                for o in oc.summary["organ"]))
    head = "".join(f"<th>{html.escape(o.replace('_', ' '))}: max descent (mm)</th>"
                   for o in organs)
    rows = []
    for oc in outcomes:
        name = html.escape(oc.item.name)
        report = out / oc.item.name / OUTPUT_NAMES["report"]
        link = (f'<a href="{name}/{OUTPUT_NAMES["report"]}">{name}</a>' if report.is_file()
                else name)
        cells = []
        sub = oc.summary.set_index("organ") if oc.summary is not None else None
        for organ in organs:
            if sub is None or organ not in sub.index:
                cells.append("<td>–</td>")
                continue
            r = sub.loc[organ]
            v = r["max_descent_mm"]
            grades = "; ".join(grades_of(r))
            cells.append(f"<td>{'–' if v != v else f'{v:.1f}'}"
                         + (f" ({html.escape(grades)})" if grades else "") + "</td>")
        status = html.escape(oc.status + (f": {oc.error}" if oc.error else ""))
        rows.append(f"<tr><td>{link}</td><td>{status}</td>{''.join(cells)}</tr>")
    text = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>PelviTrack batch</title><style>body{font-family:sans-serif;margin:24px}"
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #c9ced6;"
            "padding:3px 8px}</style></head><body><h1>PelviTrack batch</h1>"
            f"<p>{sum(o.status != 'failed' for o in outcomes)} of {len(outcomes)} series "
            "analysed; per-organ summaries in the summary table, grades where a "
            "pubococcygeal line was placed.</p>"
            f"<table><tr><th>series</th><th>status</th>{head}</tr>{''.join(rows)}</table>"
            "</body></html>")
    path = out / INDEX_NAME
    with replaced_atomically(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return path
