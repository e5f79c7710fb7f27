"""``pelvitrack phantom OUT``: write synthetic dynamic pelvic MRI cases with truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from core.phantom import generate_case, write_case
from core.phantom.tissues import CONTRASTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``pelvitrack phantom``."""
    p = sub.add_parser(
        "phantom",
        help="write synthetic cine pelvic MRI cases (DICOM + truth.h5)",
        description=(
            "Generate synthetic dynamic mid-sagittal pelvic MRI cases with exact truth "
            "(labels, material-point trajectories, landmarks). Each case goes to "
            "OUT/phantom-<seed>/ as dicom/ and truth.h5."
        ),
    )
    p.add_argument("out", help="output folder")
    p.add_argument("--cases", type=int, default=1, help="number of cases (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first case (default 0)")
    p.add_argument("--shape", type=int, nargs=2, metavar=("H", "W"),
                   help="matrix size (default: random 192-320)")
    p.add_argument("--frames", type=int, help="number of frames (default: random 15-40)")
    p.add_argument("--contrast", choices=CONTRASTS,
                   help="contrast family (default: t2 or bssfp at random; t1 only when asked)")
    p.add_argument("--no-shuffle", action="store_true",
                   help="name DICOM files IM00001.dcm ... instead of random names")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write ``args.cases`` cases from ``args.seed`` on; return the exit code."""
    if args.cases < 1:
        raise ValueError(f"--cases must be >= 1, got {args.cases}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    overrides: dict = {}
    if args.shape:
        overrides["shape"] = tuple(args.shape)
    if args.frames is not None:
        overrides["n_frames"] = args.frames
    if args.contrast:
        overrides["contrast"] = args.contrast
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = range(args.seed, args.seed + args.cases)
    bar = tqdm(seeds, desc="phantom", unit="case", disable=not sys.stderr.isatty())
    for seed in bar:
        case = generate_case(seed, **overrides)
        folder = write_case(case, out, shuffle_names=not args.no_shuffle)
        bar.set_postfix_str(folder.name)
    print(f"wrote {args.cases} case(s) to {out}")
    return 0
