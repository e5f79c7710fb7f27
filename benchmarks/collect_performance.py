"""Collect the benchmark section files into docs/performance.md.

Each benchmark script (re)writes its own section file under docs/; docs/performance.md
is a hand-written summary (everything above the first ``<!-- from docs/... -->``
marker) followed by a copy of every section file, its headings one level deeper. This
script rewrites that copied part so the page cannot drift from the files, and
``--check`` reports (exit 1) when it has drifted; the test suite runs the check.

Usage:
    python benchmarks/collect_performance.py [--check]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE = DOCS / "performance.md"
#: Section files, in page order (each written by the script named in it).
SECTIONS = ("performance_inference.md", "performance_analyze.md",
            "performance_analyze_gpu.md", "performance_gui.md", "readers_benchmark.md")
MARKER = "<!-- from docs/{} -->"


def demote(text: str) -> str:
    """Markdown headings one level deeper (``## a`` → ``### a``), code fences left alone."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def collect(page: str, docs: Path = DOCS) -> str:
    """The page with its copied part rebuilt from the section files in ``docs``.

    Args:
        page: current text of performance.md; only its hand-written head is kept.
        docs: folder holding the section files.

    Raises:
        FileNotFoundError: a section file is missing.
    """
    first = page.find("<!-- from docs/")
    head = page if first < 0 else page[:first]
    parts = [head.rstrip() + "\n"]
    for name in SECTIONS:
        body = (docs / name).read_text(encoding="utf-8").strip()
        parts.append(MARKER.format(name) + "\n" + demote(body) + "\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="only report whether docs/performance.md is up to date")
    args = ap.parse_args(argv)
    page = PAGE.read_text(encoding="utf-8")
    new = collect(page)
    if args.check:
        if new != page:
            print(f"{PAGE}: out of date; run python benchmarks/collect_performance.py",
                  file=sys.stderr)
            return 1
        print(f"{PAGE}: up to date")
        return 0
    PAGE.write_text(new, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
