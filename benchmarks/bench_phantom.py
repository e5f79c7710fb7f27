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

from core.phantom import generate_case, write_case

DOC = Path(__file__).resolve().parents[1] / "docs" / "phantom.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _median_time(fn, seeds) -> tuple[float, list]:
    runs, out = [], []
    for s in seeds:
        t0 = time.perf_counter()
        out.append(fn(s))
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


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
    lines = [
        START,
        f"Measured by `benchmarks/bench_phantom.py` ({args.cases} cases, median, one process, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        "the machine was shared with other jobs, so treat these as upper bounds):",
        "",
        "| task | time |",
        "|---|---|",
        f"| `generate_case(seed, shape=(256, 256), n_frames=30)` | {t_fixed:.2f} s |",
        f"| `generate_case(seed)` (random size, median {frames:.0f} frames) | {t_rand:.2f} s |",
        f"| `write_case` (DICOM + truth.h5) | {t_write:.2f} s |",
        END,
    ]
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"{START}\n{END}\n"
    block = "\n".join(lines)
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")
    print(block)


if __name__ == "__main__":
    main()
