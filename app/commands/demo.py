"""``pelvitrack demo``: open the desktop app on the bundled phantom series, analysed."""

from __future__ import annotations

import argparse

from app.commands import inference_kwargs
from app.commands.view import add_gui_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="open the desktop app on the bundled demo series")
    add_gui_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.gui import run_gui
    from app.gui.demo import demo_options, start_demo

    opts = demo_options(model=args.model, device=args.device)
    if "labels" not in opts:  # the network runs
        opts.update(inference_kwargs(args))
    return run_gui(start=start_demo, screenshot=args.screenshot, frame=args.frame,
                   analyze_options=opts)
