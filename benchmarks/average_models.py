"""Average the weights of models fine-tuned from one parent (a "model soup").

    python benchmarks/average_models.py A B --weights 0.5 0.5 --out runs/soup

Writes ``OUT.safetensors`` / ``OUT.json``; the config records the parents' ids and
weights (``training.averaged_from``).  See ``core.segment.model_io.average_models``.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction

from core.errors import ModelError
from core.segment.model_io import average_models


def _weight(text: str) -> float:
    """A weight as a decimal or a fraction (``0.5``, ``1/3``)."""
    try:
        return float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number or fraction: {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="model paths (\"default\" = the shipped one)")
    ap.add_argument("--weights", type=_weight, nargs="+", default=None,
                    help="one weight per model, a decimal or a fraction such as 1/3 "
                         "(normalised); default: equal")
    ap.add_argument("--out", required=True, help="output path without suffix")
    args = ap.parse_args(argv)
    try:
        _, cfg = average_models(args.models, args.weights, args.out)
    except (ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parents = [(p["model_id"], p["weight"]) for p in cfg["training"]["averaged_from"]]
    print(f"{args.out}: model {cfg['model_id']} from {parents}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
