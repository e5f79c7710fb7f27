"""The ``pelvitrack`` command.

Each subcommand lives in its own module under :mod:`app.commands` with two
functions: ``add_parser(subparsers)`` and ``run(args) -> int``.  Adding a
subcommand is one module and one line in :data:`COMMANDS`.

Errors from ``core`` (:class:`core.errors.PelviTrackError`) are printed as one
line ``error: …`` on stderr and exit with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from core import __version__
from core.errors import Cancelled, PelviTrackError

#: Subcommand modules under app.commands, in --help order.
COMMANDS = (
    "info",
    "phantom",
    "analyze",
    "train",
    "evaluate",
    "compare",
    "view",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="pelvitrack",
        description=(
            "Segment, track and measure pelvic organs on dynamic (cine) pelvic MRI. "
            "Run without a subcommand to open the desktop app."
        ),
    )
    parser.add_argument("--version", action="version", version=f"pelvitrack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"app.commands.{name}":
                continue  # subcommand not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pelvitrack`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:  # no subcommand: open the desktop app
        args = parser.parse_args(["view", *argv])
    try:
        return int(args.func(args) or 0)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except PelviTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        # Bad paths or arguments that slipped past core's own checks: still one line.
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
