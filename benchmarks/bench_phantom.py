"""Speed of the phantom generator; writes the numbers into docs/phantom.md.

Run: ``python benchmarks/bench_phantom.py [--cases 5]``.  Times
``generate_case`` for fixed 30-frame 256 x 256 cases and for fully random cases,
and ``write_case`` (DICOM + truth.h5), on one process (one core).
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from skimage.measure import find_contours

from core.phantom import generate_case, write_case
from core.phantom.case import build_model

DOC = Path(__file__).resolve().parents[1] / "docs" / "phantom.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _median_time(fn, seeds) -> tuple[str, list]:
    """Median wall and CPU time of ``fn(s)`` over seeds, as text."""
    wall, cpu, out = [], [], []
    for s in seeds:
        t0, c0 = time.perf_counter(), time.process_time()
        out.append(fn(s))
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return f"{statistics.median(wall):.2f} s ({statistics.median(cpu):.2f} s CPU)", out


def _iso_distance(field, level, pts, spacing) -> np.ndarray:
    """Distance (mm) from points (N, 2) xy mm to the iso-contour of a pixel field."""
    segs = []
    for c in find_contours(field, level):
        f = np.linspace(0, 1, 11)[:, None, None]
        segs.append((c[:-1][None] + (c[1:] - c[:-1])[None] * f).reshape(-1, 2))
    tree = cKDTree(np.concatenate(segs)[:, ::-1] * np.asarray(spacing)[::-1])
    return tree.query(pts)[0]


def truth_accuracy(seeds, n_frames: int = 8) -> tuple[float, float, float]:
    """Trajectory-to-boundary distances (pixels) over random cases.

    Returns:
        (max distance to the warped level-set iso-contour, 99th percentile and max
        distance to the label-mask boundary), in pixels.
    """
    d_level, d_mask = [], []
    for seed in seeds:
        case = generate_case(seed, n_frames=n_frames)
        model, _ = build_model(seed, n_frames=n_frames)
        sp = case.series.spacing_mm
        for t in range(n_frames):
            _, _, levels = model.sample(t)
            for k, organ in enumerate(case.organs):
                pts = case.trajectories[organ][t]
                d_level.append(_iso_distance(levels[k], 0.0, pts, sp) / min(sp))
                mask = (case.labels[t] == k + 1).astype(float)
                d_mask.append(_iso_distance(mask, 0.5, pts, sp) / min(sp))
    dl, dm = np.concatenate(d_level), np.concatenate(d_mask)
    return float(dl.max()), float(np.percentile(dm, 99)), float(dm.max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=5)
    args = ap.parse_args()
    seeds = list(range(100, 100 + args.cases))
    generate_case(0, shape=(64, 64), n_frames=2)  # warm-up (imports)
    t_fixed, _ = _median_time(lambda s: generate_case(s, shape=(256, 256), n_frames=30), seeds)
    t_rand, cases = _median_time(generate_case, seeds)
    frames = statistics.median(c.series.n_frames for c in cases)
    with tempfile.TemporaryDirectory() as tmp:
        t_write, _ = _median_time(lambda i: write_case(cases[i], tmp), range(len(cases)))
    acc = truth_accuracy(range(200, 200 + 2 * args.cases))
    lines = [
        START,
        f"Measured by `benchmarks/bench_phantom.py` ({args.cases} cases, median, one process, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        "the 2-core machine was shared with other jobs, so wall times are upper bounds and the "
        "CPU time is the better measure):",
        "",
        "| task | wall time (CPU time) |",
        "|---|---|",
        f"| `generate_case(seed, shape=(256, 256), n_frames=30)` | {t_fixed} |",
        f"| `generate_case(seed)` (random size, median {frames:.0f} frames) | {t_rand} |",
        f"| `write_case` (DICOM + truth.h5) | {t_write} |",
        "",
        f"Truth consistency over {2 * args.cases} random cases x 8 frames x 3 organs x 128 "
        "points: distance from each trajectory point to the iso-contour of the warped organ "
        f"level set max {acc[0]:.2f} px; to the label-mask boundary 99th percentile "
        f"{acc[1]:.2f} px, max {acc[2]:.2f} px (pixel staircase).",
        END,
    ]
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"{START}\n{END}\n"
    block = "\n".join(lines)
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")
    print(block)


if __name__ == "__main__":
    main()
