"""``pelvitrack analyze INPUT --out DIR``: segment, track and measure one cine series."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from app.commands import add_inference_options, add_slice_option, inference_kwargs
from core.corrections import resegment
from core.pipeline import AnalysisResult, analyze, write_outputs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="segment every frame, track organ boundaries and export tables and files",
        description=(
            "Segment every frame of a cine series, track the organ boundaries point by point "
            "and write labels.nii.gz, points/frames tables, analysis.pvt and overlay.gif."
        ),
    )
    p.add_argument("input", help="series file or folder (DICOM, NIfTI, TIFF/PNG, project)")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.add_argument("--model", help="model file (stem, .json or .safetensors); default shipped")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, ...")
    add_inference_options(p)
    p.add_argument("--rest-frame", type=int, default=0, help="reference frame (default 0)")
    p.add_argument("--points", type=int, default=128, help="points per organ (default 128)")
    p.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv",
                   help="table format (default csv)")
    p.add_argument("--keep-identity", action="store_true",
                   help="keep the patient id in tables and project (default: pseudonym)")
    p.add_argument("--series-uid", help="pick one series when a folder holds several")
    add_slice_option(p)
    p.add_argument("--no-video", action="store_true", help="skip the overlay video")
    p.add_argument("--no-repair", action="store_true",
                   help="keep the model's labels in frames whose mask disagrees with the "
                        "image motion (default: redraw them from the moved rest outline); "
                        "advised for defecography, where the redraw was worse")
    p.set_defaults(func=run)


def summary_lines(result: AnalysisResult) -> list[str]:
    """Per organ: max descent and max point displacement (mm)."""
    lines = [f"subject {result.series.subject}: {result.series.n_frames} frames, "
             f"model {result.model_id}"]
    frames = result.frames
    for organ in result.organs:
        f = frames[frames["organ"] == organ]
        descent = f["descent_mm"].max()
        disp = f["max_displacement_mm"].max()
        if f["area_mm2"].isna().all():
            lines.append(f"  {organ:<14} not found")
            continue
        lines.append(f"  {organ:<14} max descent {descent:6.1f} mm   "
                     f"max displacement {disp:6.1f} mm")
    for note in result.tracks.warnings:
        lines.append(f"warning: {note}")
    return lines


def corrected_project(path: str) -> AnalysisResult | None:
    """The analysis in a project file that has frames corrected by hand, else None."""
    if Path(path).suffix.lower() != ".pvt" or not Path(path).is_file():
        return None
    from core.project import load_project

    result = AnalysisResult.from_project(load_project(path))
    return result if result.manual_frames else None


def run(args: argparse.Namespace) -> int:
    options = dict(model=args.model, device=args.device, **inference_kwargs(args),
                   rest_frame=args.rest_frame, n_points=args.points,
                   repair=not args.no_repair)
    earlier = corrected_project(args.input)
    if earlier is not None:  # segment again, keeping the hand corrections
        print(f"keeping {len(earlier.manual_frames)} hand-corrected frame(s) of "
              f"{args.input}", file=sys.stderr)
        gen = resegment(earlier, **options)
    else:
        gen = analyze(args.input, series_uid=args.series_uid, slice_index=args.slice,
                      **options)
    result = None
    bar = None
    stage = None
    try:
        for p in gen:
            if p.stage == "done":
                result = p.data["result"]
                break
            if p.stage != stage:
                if bar is not None:
                    bar.close()
                stage = p.stage
                bar = tqdm(total=max(p.total, 1), desc=f"{stage:<8}", file=sys.stderr,
                           leave=False, dynamic_ncols=True, disable=None)
            bar.total = max(p.total, 1)
            bar.n = min(p.done, bar.total)
            bar.set_postfix_str(p.message, refresh=True)
    finally:
        if bar is not None:
            bar.close()
        gen.close()
    assert result is not None
    written = write_outputs(result, args.out, fmt=args.format, keep_identity=args.keep_identity,
                            overlay=not args.no_video)
    print("\n".join(summary_lines(result)))
    print(f"wrote {len(written)} files to {args.out}")
    return 0
