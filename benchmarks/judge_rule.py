"""Judge a candidate model against the shipped one by the shipping rules of
docs/segmentation.md, from the per-frame tables of ``pelvitrack evaluate``.

    python benchmarks/judge_rule.py gp SHIPPED.csv CANDIDATE.csv --halves 2452-2547,2548-2643
    python benchmarks/judge_rule.py phantom SHIPPED_DIR CANDIDATE_DIR --sets R,S,T,X,Y
    python benchmarks/judge_rule.py sets SHIPPED_DIR CANDIDATE_DIR [--sets alt,bloch,...]
    python benchmarks/judge_rule.py pooled SHIPPED_DIR CANDIDATE_DIR --must-fall gp

A case's score is its summed HD95: the sum over organs of the organ's mean HD95 over
frames (``compare_evaluations.case_scores``; frames where exactly one of truth and
prediction is empty have no distance and are counted apart).

* ``gp`` — rule 103's (a), on a generator never trained on: the mean per-case summed
  HD95 at least ``--min-drop`` % lower (2), lower by a one-sided Wilcoxon test at
  p < 0.05, lower on each half (halves by the number ending the case name), and the
  organ-frames with exactly one mask empty at most ``--empty-limit`` % (1) of the frames
  more.
* ``phantom`` — rule 42's margins on the project's own phantom, all sets pooled: the
  mean summed HD95 at most 3 % higher, each organ's mean HD95 and ASD at most 6 %
  higher, and DSC at least 0.93 / 0.88 / 0.88 (bladder / uterus_vagina / rectum).
* ``sets`` — rule 125's (c), on fresh seeds of generators in training: a set fails if it
  is more than 10 % higher *and* higher by a one-sided Wilcoxon test at p < 0.05, and
  pooled over all cases the mean is at most 3 % higher and not higher at p < 0.05.
  ``--pooled-limit 1`` gives rule 127's stricter development condition.
* ``pooled`` — rule 121's test of an inference-time change (the model unchanged), as
  rule 132 states it: every ``*.csv`` under the two folders, matched by their paths
  (``gp``, ``ph/R``, ``c/alt`` …), is a set. Pooled over all their cases the mean is
  lower with one-sided Wilcoxon p < 0.05; the sets named by ``--must-fall`` are lower in
  the mean; no set is more than ``--set-limit`` % (5) higher; and the organ-frames with
  exactly one mask empty rise by at most ``--empty-limit`` % (0.1) of all frames.

Prints the figures and a last line ``RESULT PASS`` or ``RESULT FAIL``; the exit status
is 0 for a pass, 1 for a fail and 2 for unreadable or mismatched tables.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd
from scipy.stats import wilcoxon

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_evaluations import case_scores, read_tables  # noqa: E402

DSC_FLOOR = {"bladder": 0.93, "uterus_vagina": 0.88, "rectum": 0.88}


def _paired(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    sa, sb = case_scores(a, "hd95_mm"), case_scores(b, "hd95_mm")
    if not sa.index.equals(sb.index):
        raise ValueError("the two tables do not hold the same cases")
    return sa, sb


def _p(sb: pd.Series, sa: pd.Series, alternative: str) -> float:
    """One-sided Wilcoxon p for ``sb`` less / greater than ``sa``; 1.0 if identical."""
    if not (sb != sa).any():
        return 1.0
    return float(wilcoxon(sb, sa, alternative=alternative).pvalue)


def _pct(a: float, b: float) -> float:
    return 100.0 * (b / a - 1.0)


def _line(tag: str, sa: pd.Series, sb: pd.Series, p: float, what: str) -> str:
    return (f"{tag}: {sa.mean():.2f} -> {sb.mean():.2f} mm ({_pct(sa.mean(), sb.mean()):+.2f} %), "
            f"lower on {int((sb < sa).sum())}, higher on {int((sb > sa).sum())} of {len(sa)}, "
            f"one-sided p ({what}) {p:.3g}")


def organ_means(frames: pd.DataFrame) -> pd.DataFrame:
    """Per organ: the mean over cases of the per-case means of DSC, HD95 and ASD."""
    cols = ["dsc", "hd95_mm", "asd_mm"]
    return frames.groupby(["case", "organ"])[cols].mean().groupby("organ").mean()


def one_empty(frames: pd.DataFrame) -> int:
    """Organ-frames where exactly one of truth and prediction is empty (no distance)."""
    return int(frames["hd95_mm"].isna().sum())


def case_number(name: str) -> int:
    m = re.search(r"(\d+)$", str(name))
    if m is None:
        raise ValueError(f"case {name!r}: no number at the end of its name to split halves by")
    return int(m.group(1))


def judge_gp(a: pd.DataFrame, b: pd.DataFrame, halves: list[tuple[int, int]],
             min_drop: float = 2.0, empty_limit: float = 1.0) -> tuple[bool, list[str]]:
    """Rule 103's (a). Returns (passed, report lines)."""
    sa, sb = _paired(a, b)
    p = _p(sb, sa, "less")
    out = [_line("summed HD95", sa, sb, p, "lower")]
    ok = _pct(sa.mean(), sb.mean()) <= -min_drop and p < 0.05
    numbers = pd.Series([case_number(c) for c in sa.index], index=sa.index)
    for lo, hi in halves:
        k = (numbers >= lo) & (numbers <= hi)
        if not k.any():
            raise ValueError(f"half {lo}-{hi}: no case")
        x, y = sa[k], sb[k]
        ok &= bool(y.mean() < x.mean())
        out.append("  " + _line(f"half {lo}-{hi}", x, y, _p(y, x, "less"), "lower"))
    n_frames = int(a.groupby("case")["frame"].nunique().sum())
    ea, eb = one_empty(a), one_empty(b)
    share = 100.0 * (eb - ea) / n_frames
    ok &= share <= empty_limit
    out.append(f"  one-empty organ-frames {ea} -> {eb} ({share:+.2f} % of {n_frames} frames, "
               f"limit +{empty_limit:g} %)")
    return bool(ok), out


def judge_phantom(a: pd.DataFrame, b: pd.DataFrame, margin: float = 3.0,
                  organ_margin: float = 6.0) -> tuple[bool, list[str]]:
    """Rule 42's margins. Returns (passed, report lines)."""
    sa, sb = _paired(a, b)
    ok = _pct(sa.mean(), sb.mean()) <= margin
    out = [_line("summed HD95", sa, sb, _p(sb, sa, "greater"), "higher")
           + f" (limit +{margin:g} %)"]
    pa, pb = organ_means(a), organ_means(b)
    for organ in pa.index:
        rh = _pct(pa.loc[organ, "hd95_mm"], pb.loc[organ, "hd95_mm"])
        ra = _pct(pa.loc[organ, "asd_mm"], pb.loc[organ, "asd_mm"])
        floor = DSC_FLOOR.get(organ, 0.0)
        ok &= rh <= organ_margin and ra <= organ_margin and pb.loc[organ, "dsc"] >= floor
        dsc_a, dsc_b = pa.loc[organ, "dsc"], pb.loc[organ, "dsc"]
        out.append(f"  {organ}: HD95 {rh:+.1f} %, ASD {ra:+.1f} % (limit +{organ_margin:g} %), "
                   f"DSC {dsc_a:.3f} -> {dsc_b:.3f} (floor {floor:g})")
    return bool(ok), out


def judge_sets(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame], set_limit: float = 10.0,
               pooled_limit: float = 3.0) -> tuple[bool, list[str]]:
    """Rule 125's (c). Returns (passed, report lines)."""
    if sorted(a) != sorted(b):
        raise ValueError(f"different sets: {sorted(a)} and {sorted(b)}")
    out, failing, all_a, all_b = [], [], [], []
    for name in sorted(a):
        sa, sb = _paired(a[name], b[name])
        all_a.append(sa)
        all_b.append(sb)
        p = _p(sb, sa, "greater")
        bad = _pct(sa.mean(), sb.mean()) > set_limit and p < 0.05
        failing += [name] if bad else []
        out.append(_line(f"  {name}", sa, sb, p, "higher") + (" FAIL" if bad else ""))
    sa, sb = pd.concat(all_a), pd.concat(all_b)
    p = _p(sb, sa, "greater")
    pooled_ok = _pct(sa.mean(), sb.mean()) <= pooled_limit and p >= 0.05
    out.insert(0, _line("pooled", sa, sb, p, "higher")
               + f" (limit +{pooled_limit:g} %, not p < 0.05)")
    out.append(f"sets failing (more than +{set_limit:g} % and p < 0.05): "
               f"{', '.join(failing) or 'none'}")
    return bool(pooled_ok and not failing), out


def judge_pooled(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame],
                 must_fall: list[str] = (), set_limit: float = 5.0,
                 empty_limit: float = 0.1) -> tuple[bool, list[str]]:
    """Rule 121's test of an inference-time change (rule 132's form). Returns (passed,
    report lines)."""
    if sorted(a) != sorted(b):
        raise ValueError(f"different sets: {sorted(a)} and {sorted(b)}")
    unknown = sorted(set(must_fall) - set(a))
    if unknown:
        raise ValueError(f"--must-fall names no table: {', '.join(unknown)}")
    out, ok, all_a, all_b = [], True, [], []
    n_frames = ea = eb = 0
    for name in sorted(a):
        sa, sb = _paired(a[name], b[name])
        all_a.append(sa)
        all_b.append(sb)
        rise = _pct(sa.mean(), sb.mean())
        bad = rise > set_limit or (name in must_fall and not sb.mean() < sa.mean())
        ok &= not bad
        out.append(_line(f"  {name}", sa, sb, _p(sb, sa, "less"), "lower")
                   + (" (must fall)" if name in must_fall else "") + (" FAIL" if bad else ""))
        n_frames += int(a[name].groupby("case")["frame"].nunique().sum())
        ea, eb = ea + one_empty(a[name]), eb + one_empty(b[name])
    sa, sb = pd.concat(all_a, ignore_index=True), pd.concat(all_b, ignore_index=True)
    p = _p(sb, sa, "less")
    ok &= bool(sb.mean() < sa.mean()) and p < 0.05
    out.insert(0, _line("pooled", sa, sb, p, "lower") + " (must be lower, p < 0.05)")
    share = 100.0 * (eb - ea) / n_frames
    ok &= share <= empty_limit
    out.append(f"one-empty organ-frames {ea} -> {eb} ({share:+.2f} % of {n_frames} frames, "
               f"limit +{empty_limit:g} %); no set more than +{set_limit:g} %")
    return bool(ok), out


def _read_tree(folder: Path) -> dict[str, pd.DataFrame]:
    """Every ``*.csv`` under ``folder``, named by its path without the suffix."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    paths = sorted(folder.rglob("*.csv"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no .csv tables under it")
    return {p.relative_to(folder).with_suffix("").as_posix(): _read(p) for p in paths}


def _checked(path: Path, frames: pd.DataFrame) -> pd.DataFrame:
    missing = {"case", "organ", "frame", "dsc", "hd95_mm", "asd_mm"} - set(frames.columns)
    if missing:
        raise ValueError(f"{path}: not an evaluate table (no {', '.join(sorted(missing))})")
    return frames


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (run pelvitrack evaluate --out)")
    return _checked(path, pd.read_csv(path))


def _read_sets(folder: Path, sets: list[str] | None) -> dict[str, pd.DataFrame]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    names = sets or sorted(p.stem for p in folder.glob("*.csv"))
    if not names:
        raise FileNotFoundError(f"{folder}: no SET.csv tables")
    return {s: _checked(folder / f"{s}.csv", t) for s, t in read_tables(folder, names).items()}


def _halves(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in h.split("-", 1)) for h in text.split(",") if h]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: halves are LO-HI,LO-HI") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="part", required=True)
    g = sub.add_parser("gp", help="rule 103's (a) on one generator's table")
    g.add_argument("a", type=Path, help="the shipped model's table")
    g.add_argument("b", type=Path, help="the candidate's table")
    g.add_argument("--halves", type=_halves, default=[], help="LO-HI,LO-HI case numbers")
    g.add_argument("--min-drop", type=float, default=2.0)
    g.add_argument("--empty-limit", type=float, default=1.0)
    for name, text in (("phantom", "rule 42's margins, the sets pooled"),
                       ("sets", "rule 125's (c), set by set and pooled")):
        s = sub.add_parser(name, help=text)
        s.add_argument("a", type=Path, help="folder of the shipped model's SET.csv tables")
        s.add_argument("b", type=Path, help="folder of the candidate's SET.csv tables")
        s.add_argument("--sets", default="", help="comma-separated set names (default: all in a)")
    sub.choices["phantom"].add_argument("--margin", type=float, default=3.0)
    sub.choices["phantom"].add_argument("--organ-margin", type=float, default=6.0)
    sub.choices["sets"].add_argument("--set-limit", type=float, default=10.0)
    sub.choices["sets"].add_argument("--pooled-limit", type=float, default=3.0)
    q = sub.add_parser("pooled", help="rule 121's test of an inference-time change")
    q.add_argument("a", type=Path, help="folder of the reference tables (any depth)")
    q.add_argument("b", type=Path, help="folder of the candidate's tables, same paths")
    q.add_argument("--must-fall", default="", help="comma-separated tables that must fall")
    q.add_argument("--set-limit", type=float, default=5.0)
    q.add_argument("--empty-limit", type=float, default=0.1)
    args = ap.parse_args(argv)
    try:
        if args.part == "gp":
            ok, lines = judge_gp(_read(args.a), _read(args.b), args.halves,
                                 args.min_drop, args.empty_limit)
        elif args.part == "pooled":
            ok, lines = judge_pooled(_read_tree(args.a), _read_tree(args.b),
                                     [s for s in args.must_fall.split(",") if s],
                                     args.set_limit, args.empty_limit)
        else:
            sets = [s for s in args.sets.split(",") if s] or None
            a, b = _read_sets(args.a, sets), _read_sets(args.b, sets)
            if args.part == "phantom":
                names = sorted(a)
                ok, lines = judge_phantom(pd.concat([a[s] for s in names], ignore_index=True),
                                          pd.concat([b[s] for s in names], ignore_index=True),
                                          args.margin, args.organ_margin)
            else:
                ok, lines = judge_sets(a, b, args.set_limit, args.pooled_limit)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    print("RESULT", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
