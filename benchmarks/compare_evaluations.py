"""Compare two models case by case on the per-frame tables of ``pelvitrack evaluate``.

    python benchmarks/compare_evaluations.py runs/shipped runs/candidate --sets R,S,T,X,Y \
        [--metric hd95_mm]

Each folder holds ``SET.csv`` files written by ``pelvitrack evaluate ... --out DIR/SET.csv``
for the same cases and frames (columns case, organ, frame and the metrics).  A case's
score is the sum over organs of the organ's mean over frames; the two models are
compared over all cases of all sets with the Wilcoxon signed-rank test (paired by case).
Each set's total (the sum over organs of the mean over frames, the figure of the
summary tables in docs/segmentation.md) is printed too.  This is how the pooled rules
of docs/segmentation.md ("Rule 4", "One pass by default") were computed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from scipy.stats import wilcoxon

METRICS = ("hd95_mm", "asd_mm", "hd_mm", "dsc")


def case_scores(frames: pd.DataFrame, metric: str) -> pd.Series:
    """Per case: the sum over organs of the organ's mean ``metric`` over frames."""
    return frames.groupby(["case", "organ"])[metric].mean().groupby("case").sum()


def set_total(frames: pd.DataFrame, metric: str) -> float:
    """The sum over organs of the organ's mean ``metric`` over all frames of a set."""
    return float(frames.groupby("organ")[metric].mean().sum())


def compare(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame], metric: str) -> dict:
    """Paired comparison of two models' tables, set name → per-frame table.

    Returns the per-case scores of both (indexed by (set, case)), the counts of cases
    where ``b`` is lower / higher / equal, the Wilcoxon p-values (two-sided and
    one-sided for ``b`` lower) and the per-set totals.

    Raises:
        ValueError: the two models' tables do not cover the same sets and cases.
    """
    if sorted(a) != sorted(b):
        raise ValueError(f"different sets: {sorted(a)} and {sorted(b)}")
    sa = pd.concat({s: case_scores(a[s], metric) for s in a})
    sb = pd.concat({s: case_scores(b[s], metric) for s in a})
    if not sa.index.equals(sb.index):
        raise ValueError("the two tables do not hold the same cases")
    diff = sb - sa
    two = one = float("nan")
    if (diff != 0).any():
        two = float(wilcoxon(sb, sa).pvalue)
        one = float(wilcoxon(sb, sa, alternative="less").pvalue)
    return {
        "a": sa, "b": sb, "lower": int((diff < 0).sum()), "higher": int((diff > 0).sum()),
        "equal": int((diff == 0).sum()), "p_two_sided": two, "p_b_lower": one,
        "sets": {s: (set_total(a[s], metric), set_total(b[s], metric)) for s in a},
    }


def read_tables(folder: Path, sets: list[str]) -> dict[str, pd.DataFrame]:
    """``folder/SET.csv`` for each set (a missing file is a one-line error)."""
    out = {}
    for s in sets:
        path = folder / f"{s}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (run pelvitrack evaluate --out)")
        out[s] = pd.read_csv(path)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="folder of the reference model's SET.csv tables")
    ap.add_argument("b", type=Path, help="folder of the candidate's SET.csv tables")
    ap.add_argument("--sets", required=True, help="comma-separated set names, e.g. R,S,T")
    ap.add_argument("--metric", choices=METRICS, default="hd95_mm")
    args = ap.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    try:
        r = compare(read_tables(args.a, sets), read_tables(args.b, sets), args.metric)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = len(r["a"])
    print(f"{n} cases, per-case {args.metric} summed over organs: "
          f"{args.a} mean {r['a'].mean():.3f} (median {r['a'].median():.3f}), "
          f"{args.b} mean {r['b'].mean():.3f} (median {r['b'].median():.3f}), "
          f"ratio {r['b'].mean() / r['a'].mean():.4f}")
    print(f"{args.b} lower on {r['lower']}, higher on {r['higher']}, equal on {r['equal']}; "
          f"Wilcoxon p = {r['p_two_sided']:.4f} (two-sided), "
          f"{r['p_b_lower']:.4f} (one-sided, {args.b} lower)")
    for s, (x, y) in r["sets"].items():
        print(f"  {s}: {x:.2f} -> {y:.2f} ({y - x:+.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
