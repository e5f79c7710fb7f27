"""``pelvitrack compare A.pvt B.pvt …``: deformation summaries of several analyses side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ProjectError
from core.indices import SUMMARY_COLUMNS, SUMMARY_LABELS, SUMMARY_TEXT_LABELS, summary_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare the deformation summaries of analysed series (projects)")
    p.add_argument("inputs", nargs="+", metavar="PROJECT",
                   help="a .pvt project, or a folder `pelvitrack analyze` wrote (its "
                        "analysis.pvt, or every input of a batch); two or more")
    p.add_argument("--out", metavar="FILE",
                   help="also write the summary table (.csv, .xlsx or .parquet; one row per "
                        "input and organ)")
    p.set_defaults(func=run)


def project_path(path: str | Path) -> Path:
    """The project file behind an input: the file itself or ``DIR/analysis.pvt``.

    Raises:
        ProjectError: neither exists.
    """
    from core.pipeline import OUTPUT_NAMES

    p = Path(path)
    if p.is_dir():
        inner = p / OUTPUT_NAMES["project"]
        if inner.is_file():
            return inner
        raise ProjectError(p, f"no {OUTPUT_NAMES['project']} in this folder; run "
                              "`pelvitrack analyze SERIES --out FOLDER` first")
    if not p.exists():
        raise ProjectError(p, "no such file or folder")
    if p.suffix.lower() != ".pvt":
        raise ProjectError(p, "not a PelviTrack project (.pvt); run `pelvitrack analyze` "
                              "on the series first")
    return p


def expand_batches(inputs: list[str]) -> list[str]:
    """Each input as given, except a folder a batch wrote (``pelvitrack analyze A B …
    --out DIR``: no project of its own, projects in its subfolders) gives its subfolders."""
    from core.pipeline import OUTPUT_NAMES

    out = []
    for item in inputs:
        p = Path(item)
        subs = (sorted(d for d in p.iterdir() if (d / OUTPUT_NAMES["project"]).is_file())
                if p.is_dir() and not (p / OUTPUT_NAMES["project"]).exists() else [])
        out += [str(d) for d in subs] or [item]
    return out


def summaries(inputs: list[str]) -> pd.DataFrame:
    """The summary table of each input, one block of rows per input (column ``input``)."""
    from core.pipeline import AnalysisResult
    from core.project import load_project

    parts = []
    for i, item in enumerate(inputs):
        path = project_path(item)
        result = AnalysisResult.from_project(load_project(path))
        if result.frames.empty:
            raise ProjectError(path, "the project holds no tracked organs to compare")
        table = summary_table(result.frames, int(result.settings.get("rest_frame", 0)))
        table.insert(0, "input", f"{i + 1}:{Path(item).name}")
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def format_table(table: pd.DataFrame) -> str:
    """Organs × measures as rows, inputs as columns (plain text)."""
    inputs = list(dict.fromkeys(table["input"]))
    subjects = table.drop_duplicates("input").set_index("input")["subject"]
    heads = [f"{name} ({subjects[name]})" for name in inputs]
    width = max(32, *(len(h) for h in heads))
    lw = max(len(label) for _, label, *_ in (*SUMMARY_LABELS, *SUMMARY_TEXT_LABELS))
    lines = ["".join([" " * (lw + 2)] + [f"{h:>{width}}" for h in heads])]
    for organ in dict.fromkeys(table["organ"]):
        lines.append(organ)
        sub = table[table["organ"] == organ].set_index("input")
        for col, label, nd in SUMMARY_LABELS:
            cells = []
            for name in inputs:
                v = sub[col].get(name, np.nan) if name in sub.index else np.nan
                cells.append(f"{'–' if not np.isfinite(v) else f'{v:.{nd}f}':>{width}}")
            lines.append("".join([f"  {label:{lw}}"] + cells))
        for col, label in SUMMARY_TEXT_LABELS:
            texts = [str(sub[col].get(name, "")) if col in sub and name in sub.index else ""
                     for name in inputs]
            if any(texts):
                lines.append("".join([f"  {label:{lw}}"]
                                     + [f"{g or '–':>{width}}" for g in texts]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the side-by-side summary; ``--out`` also writes it."""
    inputs = expand_batches(args.inputs)
    if len(inputs) < 2:
        raise ValueError("compare needs two or more projects")
    table = summaries(inputs)
    print(format_table(table))
    if args.out:
        from core.export import write_table

        written = write_table(table[["input", *SUMMARY_COLUMNS]], args.out)
        print(f"summary written: {written}")
    return 0
