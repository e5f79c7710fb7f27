"""One round of the users' loop: correct a few frames, fine-tune, segment again.

For each of the ``--worst`` cases (labelled case folders under ``--cases``, as the
generators under ``benchmarks/`` write them) the shipped model's analysis gets
``--frames`` evenly spaced frames replaced by the truth (a user's hand corrections,
``AnalysisResult.set_manual_labels``) and is saved as a project.  The model is then
fine-tuned with the app's own job (``app.gui.finetune.fine_tune_job``: Analysis ▸
Fine-tune…, default budget) and scored against the shipped one, labels as
``pelvitrack analyze`` writes them, on

- the corrected series' other frames (what the user sees after segmenting again),
- ``--others`` other cases of the same folder (the same "scanner"),
- ``--phantom-seeds`` phantom cases (what the model knew before).

Per organ: HD95 (mean over frames where both masks have the organ), DSC (mean over
frames; 0 where one mask is empty) and the organ-frames where exactly one of the two
masks is empty.

Usage::

    python benchmarks/fine_tune_round.py --cases /tmp/gp --worst gp_1987,gp_1927,gp_2004 \\
        --others 24 --phantom-seeds 7600-7607 --out /tmp/round [--epochs 3 --steps 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ORGANS = ("bladder", "uterus_vagina", "rectum")


def corrected_frames(n_frames: int, k: int) -> list[int]:
    """``k`` evenly spaced frames of a series of ``n_frames`` (first and last included)."""
    return sorted({int(round(x)) for x in np.linspace(0, n_frames - 1, k)})


def score(labels: np.ndarray, truth: np.ndarray, spacing_mm, skip=()) -> dict[str, float]:
    """Per-organ HD95 / DSC / one-empty count over the frames not in ``skip``."""
    from core.metrics import dice, hd95

    keep = [i for i in range(len(truth)) if i not in set(skip)]
    out: dict[str, float] = {}
    for o, name in enumerate(ORGANS, start=1):
        h = [hd95(labels[i] == o, truth[i] == o, spacing_mm) for i in keep]
        out[f"hd95_{name}"] = float(np.nanmean(h)) if np.isfinite(h).any() else np.nan
        out[f"dsc_{name}"] = float(np.mean([dice(labels[i] == o, truth[i] == o)
                                            for i in keep]))
        out[f"one_empty_{name}"] = int(sum((labels[i] == o).any() != (truth[i] == o).any()
                                           for i in keep))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", required=True, help="folder of labelled case folders")
    ap.add_argument("--worst", required=True, help="comma-separated case folders to correct")
    ap.add_argument("--frames", type=int, default=4, help="corrected frames per case")
    ap.add_argument("--others", type=int, default=24, help="other cases scored")
    ap.add_argument("--phantom-seeds", default="", help="phantom seeds scored, e.g. 7600-7607")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--phantom-cases", type=int, default=4)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from app.gui.finetune import fine_tune_job
    from core.phantom import generate_case
    from core.pipeline import run_analyze
    from core.project import save_project
    from core.seeds import parse_seeds
    from core.segment.data import labelled_case_folders, read_labelled_case
    from core.segment.infer import Segmenter

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    folders = labelled_case_folders(args.cases)
    worst = args.worst.split(",")
    others = [f for f in folders if f.name not in worst][: args.others]
    t0 = time.time()
    shipped = Segmenter(None, device=args.device)
    projects, fixed = [], {}
    for name in worst:
        series, truth = read_labelled_case(Path(args.cases) / name, len(ORGANS) + 1)
        res = run_analyze(series, segmenter=shipped, device=args.device)
        fixed[name] = corrected_frames(series.n_frames, args.frames)
        for f in fixed[name]:
            res.set_manual_labels(f, truth[f])
        path = out / f"{name}.pvt"
        save_project(res.to_project(), path)
        projects.append(path)
    t1 = time.time()
    stem = None
    for p in fine_tune_job(projects, "default", args.epochs, args.steps, args.phantom_cases,
                           out / "model", device=args.device):
        if p.stage == "done":
            stem = p.data["result"]
    fine_tune_s = time.time() - t1
    tuned = Segmenter(stem, device=args.device)

    def cases():
        for name in worst:
            s, t = read_labelled_case(Path(args.cases) / name, len(ORGANS) + 1)
            yield "corrected series, other frames", name, s, t, fixed[name]
        for f in others:
            s, t = read_labelled_case(f, len(ORGANS) + 1)
            yield "other cases", f.name, s, t, ()
        for seed in parse_seeds(args.phantom_seeds) if args.phantom_seeds else ():
            c = generate_case(seed)
            yield "phantom", f"phantom-{seed}", c.series, np.asarray(c.labels), ()

    rows = []
    for group, name, series, truth, skip in cases():
        for model, seg in (("shipped", shipped), ("fine-tuned", tuned)):
            labels = run_analyze(series, segmenter=seg, device=args.device).labels
            rows.append({"group": group, "case": name, "model": model,
                         **score(labels, truth, series.spacing_mm, skip)})
    table = pd.DataFrame(rows)
    table.to_csv(out / "scores.csv", index=False)
    hd = [f"hd95_{o}" for o in ORGANS]
    table["hd95_sum"] = table[hd].sum(axis=1, min_count=1)
    cols = ["hd95_sum", *hd, *(f"dsc_{o}" for o in ORGANS)]
    summary = table.groupby(["group", "model"], sort=False)[cols].mean().round(3)
    empty = table.groupby(["group", "model"], sort=False)[
        [f"one_empty_{o}" for o in ORGANS]].sum()
    print(summary.join(empty).to_string())
    print(json.dumps({"fine_tune_s": round(fine_tune_s, 1), "total_s": round(time.time() - t0),
                      "corrected": fixed, "model": str(stem)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
