"""How well PelviTrack measures rectocele depth (``rectocele_depth_mm``).

On synthetic defecography cases (``benchmarks/defeco_generator.py``: exact labels, a
rectocele of 15–35 mm in some subjects, none in others), each frame's anal canal line
is taken from the truth labels (the anterior edge of the lowest 25 mm of the rectum +
anal canal label, fitted by a straight line, :func:`core.rectocele.fit_anal_line`: a
stand-in for the user's two clicks), and the depth is measured

- **truth**: on the truth labels' outline;
- **model**: on the labels ``pelvitrack analyze`` writes (the shipped model, the
  tracker's repair), with the same line;
- **click error**: on the truth labels, each end of each frame's line moved by a
  random 2 mm (a careful click on a 1.1–1.5 mm pixel);
- **fitted**: on the model's labels, the line fitted to the model's labels too (what
  ``--anal-canal auto`` and Analysis ▸ Fit the anal canal line do).

Reported: the mean |model − truth| per frame and of each case's largest value (what
is graded), how often the grades agree, and how well the largest value tells the
subjects the generator gave a rectocele from the others (their means and the area
under the ROC curve).  Generation is in a temporary folder; nothing is kept.

Usage::

    python benchmarks/rectocele_accuracy.py --seeds 5000-5023 --out docs/rectocele_accuracy.md
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: How far each end of the line is moved for the click error (mm).
CLICK_MM = 2.0

#: Generators with rectoceles: name -> (script, case folder prefix, write one case).
GENERATORS = {"defeco": ("defeco_generator", "defeco", "write_case"),
              "gp": ("gp_generator", "gp", "_write_case")}


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve: P(a positive scores above a negative), ties ½."""
    p, n = np.asarray(positive, float), np.asarray(negative, float)
    if not p.size or not n.size:
        return float("nan")
    return float(((p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum())
                 / (p.size * n.size))


def model_and_fitted(series: object, lines: list, column: str | Callable
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``pelvitrack analyze``'s rectum ``column`` per frame (shipped model, CPU), with
    each frame's anal canal line from ``lines`` (None: the nearest placed frame's), and
    again with the line fitted to the model's own labels (``--anal-canal auto``; NaN
    where no frame has a rectum to fit to).  ``column`` may be a function of the
    analysis result giving (T, …) values instead."""
    from core.pipeline import run_analyze
    from core.rectocele import fitted_anal_landmarks, with_anal_line

    marks: dict = {}
    for t, line in enumerate(lines):
        if line is not None:
            marks = with_anal_line(marks, series.n_frames, line[0], line[1], frame=t)
    result = run_analyze(series, device="cpu", landmarks=marks)

    def values() -> np.ndarray:
        if callable(column):
            return np.asarray(column(result), float)
        return (result.frames[result.frames["organ"] == "rectum"].sort_values("frame")
                [column].to_numpy(float))

    model = values()
    try:
        result.set_landmarks(fitted_anal_landmarks(result.landmarks, result.labels, 3,
                                                   series.spacing_mm))
        fitted = values()
    except ValueError:  # no rectum to fit to
        fitted = np.full_like(model, np.nan)
    return model, fitted


def measure_case(folder: Path) -> dict:
    """One generated case: per-frame depths from truth and model labels."""
    from core.rectocele import fit_anal_line, rectocele_depth, rectocele_grade
    from core.segment.data import read_labelled_case
    from core.track.contours import mask_contour

    series, truth = read_labelled_case(folder, 4)
    params = json.loads((folder / "params.json").read_text())
    sp = series.spacing_mm
    lines = [fit_anal_line(lab == 3, sp) for lab in truth]
    model, fitted = model_and_fitted(series, lines, "rectocele_depth_mm")
    contours = [mask_contour(lab == 3, sp) for lab in truth]
    true = np.array([rectocele_depth(c, line) if line is not None else np.nan
                     for c, line in zip(contours, lines, strict=True)])
    rng = np.random.default_rng(int(params.get("seed", 0)))
    clicked = []
    for c, line in zip(contours, lines, strict=True):
        angle = rng.uniform(0, 2 * np.pi, 2)
        shift = CLICK_MM * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        clicked.append(rectocele_depth(c, line + shift) if line is not None else np.nan)
    clicked = np.array(clicked)
    size = float((params.get("subject") or params.get("anatomy") or {}).get("rectocele_mm", 0))
    return {"case": folder.name, "frames": series.n_frames,
            "rectocele": size > 0, "rectocele_mm": size,
            "truth_depth": true, "model_depth": model,
            "click_max": float(np.nanmax(clicked)) if np.isfinite(clicked).any() else np.nan,
            "fitted_max": float(np.nanmax(fitted)) if np.isfinite(fitted).any() else np.nan,
            "truth_max": float(np.nanmax(true)) if np.isfinite(true).any() else np.nan,
            "model_max": float(np.nanmax(model)) if np.isfinite(model).any() else np.nan,
            "truth_grade": rectocele_grade(np.nanmax(true)) if np.isfinite(true).any() else "",
            "model_grade": (rectocele_grade(np.nanmax(model)) if np.isfinite(model).any()
                            else "")}


def report(rows: list[dict], seeds: str, seconds: float, generator: str = "defeco") -> str:
    """The markdown page."""
    from core import __version__
    from core.rectocele import CANAL_MM
    from core.rectocele import rectocele_grade as grade

    table = pd.DataFrame([{k: v for k, v in r.items() if not k.endswith("_depth")}
                          for r in rows])
    per_frame = np.concatenate([r["model_depth"] - r["truth_depth"] for r in rows])
    per_frame = per_frame[np.isfinite(per_frame)]
    case_err = (table["model_max"] - table["truth_max"]).to_numpy(float)
    case_err = case_err[np.isfinite(case_err)]
    pos, neg = table[table["rectocele"]], table[~table["rectocele"]]
    agree = int((table["model_grade"] == table["truth_grade"]).sum())
    lines = [
        f"## {generator}",
        "",
        f"`python benchmarks/rectocele_accuracy.py --generator {generator} --seeds {seeds}` "
        f"(PelviTrack {__version__}, {platform.machine()}, {seconds:.0f} s). Cases: "
        f"`benchmarks/{GENERATORS[generator][0]}.py` (exact labels; the generator gives "
        "rectoceles to some subjects). Each frame's anal canal line is fitted to the "
        f"anterior edge of the lowest {CANAL_MM:g} mm of the truth's rectum + anal canal "
        "label (standing in for the user's clicks); the depth (`core.rectocele."
        "rectocele_depth`) is measured on the truth labels and on the labels `pelvitrack "
        "analyze` writes (shipped model), against the same line.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| cases (frames) | {len(table)} ({int(table['frames'].sum())}) |",
        f"| per frame: mean \\|model − truth\\| | {np.mean(np.abs(per_frame)):.2f} mm "
        f"(95th percentile {np.percentile(np.abs(per_frame), 95):.2f} mm) |",
        f"| per frame: mean model − truth | {np.mean(per_frame):+.2f} mm |",
        f"| largest value per case: mean \\|model − truth\\| | {np.mean(np.abs(case_err)):.2f} "
        f"mm (worst {np.max(np.abs(case_err)):.2f} mm) |",
        f"| grade (none / small / moderate / large) agrees | {agree} of {len(table)} |",
        f"| click error ({CLICK_MM:g} mm at each end), truth labels: largest value mean "
        f"\\|change\\| | {np.nanmean(np.abs(table['click_max'] - table['truth_max'])):.2f} mm "
        f"(worst {np.nanmax(np.abs(table['click_max'] - table['truth_max'])):.2f} mm); grade "
        f"kept in {int((table['click_max'].map(grade) == table['truth_grade']).sum())} of "
        f"{len(table)} |",
        f"| fitted line and model labels (no clicks): largest value mean \\|fitted − truth\\| | "
        f"{np.nanmean(np.abs(table['fitted_max'] - table['truth_max'])):.2f} mm (worst "
        f"{np.nanmax(np.abs(table['fitted_max'] - table['truth_max'])):.2f} mm); grade agrees "
        f"in {int((table['fitted_max'].map(grade) == table['truth_grade']).sum())} of "
        f"{len(table)} |",
        f"| graded a rectocele (≥ small): truth labels / model labels | "
        f"{int((table['truth_grade'].isin(SOME)).sum())} / "
        f"{int((table['model_grade'].isin(SOME)).sum())} of {len(table)} |",
        f"| subjects with a rectocele: truth largest depth | "
        f"{pos['truth_max'].mean():.1f} ± {pos['truth_max'].std():.1f} mm (n = {len(pos)}) |",
        f"| subjects without: truth largest depth | "
        f"{neg['truth_max'].mean():.1f} ± {neg['truth_max'].std():.1f} mm (n = {len(neg)}) |",
        f"| AUC of the largest depth for the generator's rectocele, truth labels | "
        f"{auc(pos['truth_max'].dropna(), neg['truth_max'].dropna()):.2f} |",
        f"| AUC of the largest depth for the generator's rectocele, model labels | "
        f"{auc(pos['model_max'].dropna(), neg['model_max'].dropna()):.2f} |",
        "",
        "Per case:",
        "",
        "| case | frames | generator's rectocele (mm) | largest depth, truth (mm) | "
        "model (mm) | fitted line (mm) | grade, truth | model |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in table.itertuples():
        lines.append(f"| {r.case} | {r.frames} | {r.rectocele_mm:.1f} | {r.truth_max:.1f} | "
                     f"{r.model_max:.1f} | {r.fitted_max:.1f} | {r.truth_grade} | "
                     f"{r.model_grade} |")
    lines.append("")
    return "\n".join(lines)


#: The grades that say there is a rectocele.
SOME = ("small", "moderate", "large")


#: The page's head; each generator's results follow as a "## name" section.
HEAD = """# Rectocele depth: accuracy on synthetic defecography

Written by `benchmarks/rectocele_accuracy.py`, one section per generator.
"""


def merge_page(old: str, generator: str, section: str, head: str = HEAD) -> str:
    """The page (``head``, then one "## name" section per generator) with
    ``generator``'s section replaced (or added), the others kept."""
    parts = {}
    for chunk in old.split("\n## ")[1:]:
        title, _, body = chunk.partition("\n")
        parts[title.strip()] = "## " + title.strip() + "\n" + body.rstrip() + "\n"
    parts[generator] = section.rstrip() + "\n"
    return head + "\n" + "\n".join(parts[k] for k in sorted(parts))


def measure_seeds(generator: str, seeds: str, measure, describe) -> list[dict]:
    """Each of ``seeds`` (``"A-B"``, :func:`core.seeds.parse_seeds`) written by
    ``generator``'s script in a temporary folder (nothing is kept) and measured,
    ``measure(case folder) -> row``; ``describe(row)`` is printed as each is done."""
    import importlib

    from core.seeds import parse_seeds

    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))   # the generators' scripts
    name, prefix, writer = GENERATORS[generator]
    write = getattr(importlib.import_module(name), writer)
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"{generator}-") as tmp:
        for seed in parse_seeds(seeds):
            write(seed, Path(tmp))
            rows.append(measure(Path(tmp) / f"{prefix}_{seed:03d}"))
            print(describe(rows[-1]), flush=True)
    return rows


def write_section(out: str | Path, generator: str, section: str, head: str = HEAD) -> None:
    """Put ``generator``'s section on the page ``out``, keeping the others
    (:func:`merge_page`)."""
    out = Path(out)
    out.write_text(merge_page(out.read_text() if out.is_file() else "", generator, section,
                              head))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", choices=sorted(GENERATORS), default="defeco")
    ap.add_argument("--seeds", default="5000-5023", help="seeds, A-B (default 5000-5023, "
                    "never trained on)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "rectocele_accuracy.md"),
                    help="the page; an existing page keeps its other generators' sections")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = measure_seeds(args.generator, args.seeds, measure_case, lambda r: (
        f"{r['case']}: rectocele {r['rectocele_mm']:.0f} mm, largest depth truth "
        f"{r['truth_max']:.1f} model {r['model_max']:.1f}"))
    text = report(rows, args.seeds, time.perf_counter() - t0, args.generator)
    write_section(args.out, args.generator, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
