"""Subcommands of ``pelvitrack``: one module each, with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse


def _checked(parse, check: str, example: str):
    """An argparse ``type``: ``parse`` the text, then validate it with
    ``core.segment.infer.<check>``; either failure is a one-line usage error."""

    def convert(text: str):
        from core.segment import infer  # imports torch: only when the option is given

        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {example}, got {text!r}") from None
        try:
            return getattr(infer, check)(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


_scales = _checked(lambda text: [float(z) for z in text.split(",") if z.strip()],
                   "check_scales", "zoom factors like 0.93,1.07")
_temporal_weight = _checked(float, "check_temporal_weight", "a temporal weight like 0.15")
_touch_mm = _checked(float, "check_touch_mm", "a distance in mm like 3")
_piece_weight = _checked(float, "check_piece_weight", "a weight like 2")
_zoom_roi_mm = _checked(float, "check_zoom_roi_mm", "a margin in mm like 40")


def add_inference_options(p: argparse.ArgumentParser) -> None:
    """``--backend``, ``--scales``, ``--zoom-roi-mm``, ``--temporal-weight``,
    ``--touch-mm`` and ``--piece-weight``: how the segmentation network runs and cleans
    its labels (core.segment.infer.Segmenter)."""
    p.add_argument("--backend", choices=("auto", "torch", "onnx", "onnx-int8"), default="auto",
                   help="how the segmentation network runs: auto (default; on the CPU "
                        "ONNX Runtime int8 when installed, else PyTorch), torch, onnx "
                        "(ONNX Runtime float32, CPU), onnx-int8 (CPU)")
    p.add_argument("--scales", type=_scales, default=None, metavar="Z[,Z...]",
                   help="test-time zoom factors whose class probabilities are averaged "
                        "(default 0.93,1.07: two passes, the second around the organs, "
                        "see --zoom-roi-mm; rules 131 and 136 in docs/segmentation.md). "
                        "1: one pass, about 1.5x as fast, 2-4 %% higher HD95 on series "
                        "unlike the training data")
    p.add_argument("--zoom-roi-mm", type=_zoom_roi_mm, default=None, metavar="MM",
                   help="with several --scales, run the zoom passes after the first only "
                        "on the box around each frame's organs in the first pass, widened "
                        "by MM on each side (default 40; 0: every pass on the whole frame, "
                        "a quarter slower; on a GPU every pass runs on whole frames)")
    p.add_argument("--temporal-weight", type=_temporal_weight, default=None, metavar="W",
                   help="mix each frame's class probabilities with its two neighbours' "
                        "with weight W each before labelling (default 0.15: breaks "
                        "near-ties that flicker between frames, rule 132 in "
                        "docs/segmentation.md; 0: off)")
    p.add_argument("--touch-mm", type=_touch_mm, default=None, metavar="MM",
                   help="when an organ comes out in pieces, keep the one with the largest "
                        "area x (2 if within MM of another organ, else 1) x a factor "
                        "falling with its distance to the other organs (default 3; "
                        "0 keeps the largest piece)")
    p.add_argument("--piece-weight", type=_piece_weight, default=None, metavar="W",
                   help="when an organ comes out in pieces, choose them over the whole "
                        "series so that consecutive frames keep the same piece, W being "
                        "the weight of that agreement (0: each frame alone; the default is "
                        "the model's)")


def inference_kwargs(args: argparse.Namespace) -> dict:
    """Segmenter keyword arguments from :func:`add_inference_options`."""
    return {"backend": args.backend, "scales": args.scales,
            "temporal_weight": args.temporal_weight, "touch_mm": args.touch_mm,
            "piece_weight": args.piece_weight, "zoom_roi_mm": args.zoom_roi_mm}


def _slice(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a slice number 0, 1, 2 ..., got {text!r}")
    return value


def add_slice_option(p: argparse.ArgumentParser) -> None:
    """``--slice N``: one slice of a multi-slice cine (DICOM or NIfTI)."""
    p.add_argument("--slice", type=_slice, default=None, metavar="N",
                   help="read slice N (0 = first along the slice normal) of a multi-slice "
                        "cine: DICOM (a folder or a multi-frame file) with frames at "
                        "several slice positions, or a (W,H,Z,T) NIfTI")
