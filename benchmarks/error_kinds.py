"""Where a model's errors lie on labelled cases: at the boundary, or far from it.

For each organ, the extra area (labelled the organ, not the organ in the truth) and
the missed area (the organ in the truth, not labelled) are split by their distance
to the other mask: more than ``--far-mm`` from the truth (extra) or from the
prediction (missed) counts as *far*, a misplaced organ rather than a boundary a few
pixels off.  Areas are mm² per frame, summed over cases.  With ``--by KEY`` (a dotted
path into each case's ``params.json``, as the generators under ``benchmarks/`` write
it) the mean per-case summed HD95 is also given for each value of KEY.

Labels are made as ``pelvitrack analyze`` writes them (``--raw``: the model's alone).

Usage::

    python benchmarks/error_kinds.py --cases /tmp/dixon --far-mm 5 \\
        --by imaging.contrast --by subject.bladder_extra [--model M] [--out report.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from compare_evaluations import case_scores  # noqa: E402


def _distance_to(mask: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """Per frame, the distance in mm of every pixel to ``mask`` (inf where it is empty)."""
    out = np.full(mask.shape, np.inf)
    for t, m in enumerate(mask):
        if m.any():
            out[t] = ndimage.distance_transform_edt(~m, sampling=spacing_mm)
    return out


def error_kinds(pred: np.ndarray, truth: np.ndarray, n_organs: int,
                spacing_mm: tuple[float, float], far_mm: float = 5.0) -> dict[int, dict]:
    """Extra and missed area of each organ label 1..n_organs, split near / far (mm² per frame).

    Args:
        pred, truth: (T, H, W) integer labels, 0 background.
        spacing_mm: (row, column) pixel spacing.
        far_mm: an extra pixel farther than this from the truth's organ (a missed pixel
            farther than this from the predicted organ) is *far*; an organ absent
            from the other mask in a frame makes all of its pixels far.

    Returns:
        label → {"truth", "pred", "extra", "extra_far", "missed", "missed_far"}.
    """
    if pred.shape != truth.shape or pred.ndim != 3:
        raise ValueError(f"labels must be two (T, H, W) arrays of one shape, got "
                         f"{pred.shape} and {truth.shape}")
    px = float(spacing_mm[0]) * float(spacing_mm[1]) / len(truth)
    out = {}
    for k in range(1, n_organs + 1):
        t, p = truth == k, pred == k
        extra, missed = p & ~t, t & ~p
        out[k] = {
            "truth": t.sum() * px, "pred": p.sum() * px,
            "extra": extra.sum() * px,
            "extra_far": (extra & (_distance_to(t, spacing_mm) > far_mm)).sum() * px,
            "missed": missed.sum() * px,
            "missed_far": (missed & (_distance_to(p, spacing_mm) > far_mm)).sum() * px,
        }
    return out


def lookup(params: dict, key: str) -> Any:
    """``params`` at the dotted path ``key`` (``"?"`` where it is missing)."""
    value: Any = params
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return "?"
        value = value[part]
    return value if isinstance(value, (str, int, float, bool)) else json.dumps(value)


def report(rows: list[dict], organs: list[str], by: list[str], far_mm: float) -> str:
    """Markdown: far shares per organ, and summed HD95 by each ``by`` key."""
    lines = [f"Errors farther than {far_mm:g} mm from the other mask, {len(rows)} case(s); "
             "areas in mm² per frame, summed over cases.", "",
             "| organ | extra | of it far | missed | of it far |",
             "| --- | --- | --- | --- | --- |"]
    for i, organ in enumerate(organs, start=1):
        e = sum(r["kinds"][i]["extra"] for r in rows)
        ef = sum(r["kinds"][i]["extra_far"] for r in rows)
        m = sum(r["kinds"][i]["missed"] for r in rows)
        mf = sum(r["kinds"][i]["missed_far"] for r in rows)
        lines.append(f"| {organ} | {e:.0f} | {ef / e if e else 0:.0%} | {m:.0f} | "
                     f"{mf / m if m else 0:.0%} |")
    total = sum(r["kinds"][i][k] for r in rows for i in r["kinds"] for k in ("extra", "missed"))
    far = sum(r["kinds"][i][k] for r in rows for i in r["kinds"]
              for k in ("extra_far", "missed_far"))
    lines += ["", f"All organs: {far / total if total else 0:.0%} of the extra and missed "
              "area is far."]
    table = pd.DataFrame([{"summed": r["summed_hd95"], **r["by"]} for r in rows])
    for key in by:
        g = table.groupby(key)["summed"].agg(["mean", "count"])
        lines += ["", f"| {key} | mean summed HD95 mm | cases |", "| --- | --- | --- |"]
        lines += [f"| {v} | {row['mean']:.1f} | {int(row['count'])} |" for v, row in g.iterrows()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", required=True, help="folder of labelled case folders")
    ap.add_argument("--model", default=None, help="model path (default: the shipped one)")
    ap.add_argument("--far-mm", type=float, default=5.0)
    ap.add_argument("--by", action="append", default=[], metavar="KEY",
                    help="group the summed HD95 by this params.json key (dotted path)")
    ap.add_argument("--raw", action="store_true", help="the model's labels alone")
    ap.add_argument("--out", default=None, help="also write the report here")
    args = ap.parse_args(argv)
    if args.far_mm <= 0:
        ap.error("--far-mm must be > 0")

    from core.errors import ReaderError
    from core.metrics import organ_metrics
    from core.pipeline import run_analyze
    from core.segment.data import labelled_case_folders, read_labelled_case
    from core.segment.infer import Segmenter
    from core.segment.model_io import ModelError

    try:
        folders = labelled_case_folders(args.cases)
        seg = Segmenter(args.model)
    except (ValueError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = len(seg.organs)
    rows, tables = [], []
    for folder in folders:
        try:
            series, truth = read_labelled_case(folder, 1 + n)
        except (ValueError, OSError, ReaderError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        labels = (seg.predict(series).labels if args.raw
                  else run_analyze(series, segmenter=seg).labels)
        spacing = tuple(float(s) for s in series.spacing_mm)
        tables.append(organ_metrics(labels, truth, seg.organs, spacing).assign(
            case=folder.name))
        params_path = folder / "params.json"
        params = json.loads(params_path.read_text()) if params_path.is_file() else {}
        rows.append({"case": folder.name,
                     "kinds": error_kinds(labels, truth, n, spacing, args.far_mm),
                     "by": {key: lookup(params, key) for key in args.by}})
        print(f"{folder.name}: done", file=sys.stderr)
    summed = case_scores(pd.concat(tables, ignore_index=True), "hd95_mm")
    for row in rows:
        row["summed_hd95"] = float(summed[row["case"]])
    text = (f"Model {seg.model_id}, cases {args.cases}\n\n"
            + report(rows, list(seg.organs), args.by, args.far_mm))
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
