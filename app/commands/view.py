"""``pelvitrack view [INPUT]``: open the desktop app (the default without a subcommand)."""

from __future__ import annotations

import argparse

from app.commands import add_inference_options, inference_kwargs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="open the desktop app (optionally with a series or project)")
    p.add_argument("input", nargs="?", help="series file or folder, or a project file (.pvt)")
    add_gui_options(p)
    p.set_defaults(func=run)


def add_gui_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``view`` and ``demo``."""
    p.add_argument("--screenshot", metavar="PNG",
                   help="load and analyse, save a 1440x900 picture of the window, and exit")
    p.add_argument("--frame", type=int, help="frame shown in the screenshot (default: peak)")
    p.add_argument("--model", help="segmentation model (default: the shipped model)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    add_inference_options(p)


def analyze_options(args: argparse.Namespace) -> dict:
    """Keyword arguments for core.pipeline.analyze from the command line."""
    opts: dict = {"device": args.device, **inference_kwargs(args)}
    if args.model:
        opts["model"] = args.model
    return opts


def run(args: argparse.Namespace) -> int:
    from app.gui import run_gui

    return run_gui(args.input, screenshot=args.screenshot, frame=args.frame,
                   analyze_options=analyze_options(args))
