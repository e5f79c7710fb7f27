"""``pelvitrack analyze INPUT … --out DIR``: segment, track and measure cine series.

One input writes its files into DIR; several inputs (or ``--each-series``) are a
batch (:mod:`core.batch`): each into ``DIR/<name>/``, then ``DIR/summary.<fmt>``
and ``DIR/batch.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.commands import add_inference_options, add_slice_option, inference_kwargs
from core.anorectal import angle_summary
from core.batch import analysis_steps
from core.measurements import measurements
from core.pipeline import AnalysisResult, write_outputs
from core.reference import HIATUS_ORGAN, reference_name
from core.summary import grades_of


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="segment every frame, track organ boundaries and export tables and files",
        description=(
            "Segment every frame of a cine series, track the organ boundaries point by point "
            "and write labels.nii.gz, points/frames tables, analysis.pvt, report.html and "
            "overlay.gif."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="series file or folder (DICOM, NIfTI, TIFF/PNG, project); several "
                        "make a batch: each into OUT/<name>/, then OUT/summary.<format> "
                        "(every input's per-organ summary) and OUT/batch.csv")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.add_argument("--each-series", action="store_true",
                   help="analyse every series (and every slice of a multi-slice cine) of "
                        "each input as a batch, instead of asking for --series-uid / --slice")
    p.add_argument("--skip-existing", action="store_true",
                   help="batch: leave inputs whose OUT/<name>/analysis.pvt exists (to go on "
                        "after a stopped run)")
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
    p.add_argument("--pcl", type=_pcl, metavar="PX,PY,CX,CY",
                   help="the pubococcygeal line: inferior pubic point and last coccygeal "
                        "joint, x,y in mm of the image (x = column x spacing, y = row x "
                        "spacing, as the app shows under the pointer); each organ's lowest "
                        "point is then measured against it (a project's line is kept)")
    p.add_argument("--anal-canal", type=_anal_canal, metavar="LX,LY,HX,HY|auto",
                   help="the anal canal's anterior wall: a lower and an upper point on it, "
                        "x,y in mm as for --pcl, or 'auto' to fit it to each frame's rectum "
                        "label; the rectum's wall is then measured for a rectocele in front "
                        "of that line extended upwards, the anorectal angle from it, and the "
                        "anorectal junction found (with --pcl: the H- and M-lines)")
    p.add_argument("--no-video", action="store_true", help="skip the overlay video")
    p.add_argument("--no-repair", action="store_true",
                   help="keep the model's labels in frames whose mask disagrees with the "
                        "image motion (default: redraw them from the moved rest outline); "
                        "advised for defecography, where the redraw was worse")
    p.set_defaults(func=run)


def _pcl(text: str):  # noqa: ANN202 - argparse type
    from core.reference import parse_pcl

    try:
        return parse_pcl(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _anal_canal(text: str):  # noqa: ANN202 - argparse type
    from core.rectocele import parse_anal_line

    if text.strip().lower() == "auto":
        return "auto"
    try:
        return parse_anal_line(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def summary_lines(result: AnalysisResult) -> list[str]:
    """Per organ: max descent and max point displacement (mm); against the PCL where
    one is placed (the reference point where one is marked, else the lowest point)."""
    from core.indices import summary_table

    lines = [f"subject {result.series.subject}: {result.series.n_frames} frames, "
             f"model {result.model_id}"]
    frames = result.frames
    summary = summary_table(frames, int((result.settings or {}).get("rest_frame", 0)))
    summary = summary.set_index("organ") if len(summary) else summary
    for organ in result.organs:
        f = frames[frames["organ"] == organ]
        descent = f["descent_mm"].max()
        disp = f["max_displacement_mm"].max()
        if f["area_mm2"].isna().all():
            lines.append(f"  {organ:<14} not found")
            continue
        line = (f"  {organ:<14} max descent {descent:6.1f} mm   "
                f"max displacement {disp:6.1f} mm")
        row = summary.loc[organ] if organ in summary.index else None
        if row is not None and np.isfinite(row["max_ref_below_pcl_mm"]):
            line += (f"   {reference_name(organ, result.junction_found)} "
                     f"{row['max_ref_below_pcl_mm']:+6.1f} mm below the PCL")
            if organ == HIATUS_ORGAN and np.isfinite(row["max_ref_to_pubis_mm"]):
                line += f", H-line {row['max_ref_to_pubis_mm']:.1f} mm"
        elif row is not None and np.isfinite(row["max_below_pcl_mm"]):
            line += f"   lowest point {row['max_below_pcl_mm']:+6.1f} mm below the PCL"
        if row is not None and np.isfinite(row["max_rectocele_depth_mm"]):
            line += f"   rectocele {row['max_rectocele_depth_mm']:+.1f} mm"
        grades = grades_of(row) if row is not None else []
        if grades:
            line += f" ({'; '.join(grades)})"
        angle = angle_summary(row) if row is not None else ""
        if angle:
            line += f"   {angle}"
        lines.append(line)
    measured = measurements(result.landmarks)
    if measured:
        lines.append("  measured       " + ", ".join(
            f"#{m.key} {m.kind} {m.text} (frame {m.frame + 1})" for m in measured))
    for note in result.tracks.warnings:
        lines.append(f"warning: {note}")
    return lines


def _options(args: argparse.Namespace) -> dict:
    return dict(model=args.model, device=args.device, **inference_kwargs(args),
                rest_frame=args.rest_frame, n_points=args.points, repair=not args.no_repair)


def run(args: argparse.Namespace) -> int:
    if len(args.inputs) > 1 or args.each_series:
        return run_batch(args)
    gen = analysis_steps(args.inputs[0], series_uid=args.series_uid, slice_index=args.slice,
                         pcl=args.pcl, anal_canal=args.anal_canal, **_options(args))
    result = None
    bar = None
    stage = None
    try:
        for p in gen:
            if p.stage == "done":
                result = p.data["result"]
                break
            if "kept_frames" in (p.data or {}):
                print(p.message, file=sys.stderr)
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


def run_batch(args: argparse.Namespace) -> int:
    """Several inputs: each into OUT/<name>/; exit 2 when any failed."""
    from core.batch import BATCH_LOG, analyze_many, expand_inputs

    if args.series_uid is not None or args.slice is not None:
        raise ValueError("--series-uid and --slice pick from one input; a batch takes every "
                         "series with --each-series")
    for flag, value in (("--pcl", args.pcl), ("--anal-canal", args.anal_canal)):
        if value is not None and value != "auto":
            raise ValueError(f"{flag} is one patient's line: give it with one input (a batch "
                             "keeps each project's own; --anal-canal auto fits each's)")
    items = expand_inputs(args.inputs, each_series=args.each_series)
    print(f"{len(items)} series to analyse into {args.out}", file=sys.stderr)
    extra = {"anal_canal": "auto"} if args.anal_canal == "auto" else {}
    gen = analyze_many(items, args.out, fmt=args.format, keep_identity=args.keep_identity,
                       overlay=not args.no_video, skip_existing=args.skip_existing,
                       **_options(args), **extra)
    bar = tqdm(total=len(items), desc="series", unit="series", file=sys.stderr,
               dynamic_ncols=True, disable=None)
    final = None
    try:
        for p in gen:
            if p.stage == "done":
                final = p.data
                break
            bar.n = p.done
            bar.set_postfix_str(p.message[:60], refresh=True)
            if p.stage == "item":
                outcome = p.data["outcome"]
                if outcome.status == "failed":
                    tqdm.write(f"error: {outcome.error}", file=sys.stderr)
                else:
                    tqdm.write(f"{outcome.item.name}: {outcome.status}", file=sys.stdout)
    finally:
        bar.close()
        gen.close()
    assert final is not None
    outcomes = final["outcomes"]
    failed = [o for o in outcomes if o.status == "failed"]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} series analysed into {args.out}"
          + (f"; summary: {final['summary']}" if final["summary"] else "")
          + f"; log: {Path(args.out) / BATCH_LOG}")
    if failed:
        print(f"error: {len(failed)} of {len(outcomes)} series failed (see {BATCH_LOG})",
              file=sys.stderr)
        return 2
    return 0
