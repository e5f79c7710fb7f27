"""Subcommands of ``pelvitrack``: one module each, with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse


def add_backend_option(p: argparse.ArgumentParser) -> None:
    """``--backend``: how the segmentation network runs (core.segment.infer.Segmenter)."""
    p.add_argument("--backend", choices=("auto", "torch", "onnx", "onnx-int8"), default="auto",
                   help="how the segmentation network runs: auto (default; on the CPU "
                        "ONNX Runtime int8 when installed, else PyTorch), torch, onnx "
                        "(ONNX Runtime float32, CPU), onnx-int8 (CPU)")
