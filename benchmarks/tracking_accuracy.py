"""Tracking accuracy on phantom cases → docs/tracking.md.

For each phantom case (several seeds, matrix >= 224, varied contrast) the organs
are tracked (a) from the true labels and (b) from the shipped model's labels
when ``resources/models/default.*`` exists.  The error of a tracked point is its
distance to the true material point it started on (see
:func:`core.track.accuracy.trajectory_error`), averaged over the frames at or
above half of the peak strain.  Plain arc-length resampling of each frame's
contour is the baseline.

Usage::

    python benchmarks/tracking_accuracy.py [--seeds 100 101 ...] [--shape 256]
        [--frames 30] [--points 128] [--device auto] [--out docs/tracking.md]

    python benchmarks/tracking_accuracy.py --seeds 1000 ... 1011 --shape 0 \
        --out docs/tracking_native.md   # the phantom's own sizes
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core.phantom import generate_case
from core.track import track_organs
from core.track.accuracy import arclength_tracks, trajectory_error
from core.track.contours import mask_contour

ROOT = Path(__file__).resolve().parents[1]

METHOD = """\
## Method

Point i of an organ must be the same piece of wall in every frame, so that its
displacement and its change of curvature mean something.  `core.track.track_organs`:

1. **Contours** (`core/track/contours.py`): per organ and frame the largest component
   of the label mask, holes filled, lightly smoothed (Gaussian 0.7 px) and traced at
   level 0.5 with marching squares; closed, positive shoelace area in (x, y) with y
   down, in mm (x = col × spacing_col, y = row × spacing_row).  A missing organ gives
   `None` → NaN points and `valid = False` in that frame.
2. **Rest points**: N points (default 128) evenly spaced by arc length on the rest
   frame's contour (default frame 0), point 0 = the most cranial point.
3. **Registration** (`core/track/register.py`, torch): for each organ, a crop around
   the organ (all frames) is registered frame → rest frame with a smooth dense field
   (bicubic control grid, 28 mm spacing, evaluated as two small matrix products),
   optimised with Adam coarse-to-fine (1/8, 1/4, 1/2, full resolution; 40/30/15/5
   steps) on
   the weighted SSD of two channels: intensity divided by a blurred copy (removes a
   static bias field and frame flicker) and the organ's own soft mask (weight 0.3:
   model masks are noisy; 1.0 was slightly worse with true and with model labels).  The weights
   are 1 inside the organ at rest and fall off with a 5 mm Gaussian outside, so the
   field follows the organ and its wall, not a neighbour sliding past it or a rigid
   bone.  Drift control: every frame is registered directly to the rest frame (no
   chains of frame-to-frame steps), plus a term that keeps consecutive frames'
   warped images alike; all frames are one batch.
4. **Snap and space**: the moved rest points are projected onto that frame's
   sub-pixel contour (closest point); a point whose closest point lies on the far
   wall of a thin part (more than 0.1 × L away from the running median of its
   neighbours' offsets) is put back in line with them; the gaps between consecutive
   points along the contour are kept in order, raised to at least 0.3 × L/N and
   rescaled to the perimeter (no bunching, no crossing).
5. **Consistency check** (robustness to bad segmentation frames): each frame's mask
   is pulled back to the rest frame with the field and compared with the rest
   mask; the area of their symmetric difference divided by the rest perimeter is
   about the mean gap between the two boundaries.  Consistent frames measured
   0.1–0.7 mm on phantom cases (0.8–1.2 mm on very noisy ones); a model rectum that
   lost its upper third in the peak frames, 1.7–1.9 mm.  A frame is flagged when
   its gap exceeds 1 mm *and* 3 × the median gap of the four frames next to the
   rest frame (the series' own noise level); when those four frames themselves
   disagree with the rest frame by more than 1.5 mm (or more than 80 % of the frames
   are flagged), the rest frame is doubted instead and nothing is flagged — except that
   when only the 80 % holds (the four frames agree with it), the frames more than 4 mm
   off are still flagged (`GROSS_GAP_MM`: an organ drawn in another place from some
   frame on; rule 120 in docs/segmentation.md); when more
   than half are flagged, they are, and a warning says the rest frame may be the wrong
   one (its error can be shared by the frames next to it).  In a
   flagged frame (`Tracks.flagged`, a warning names the frames) the organ's points
   keep their registered positions instead of snapping onto the wrong contour, and
   `analyze` redraws the organ's labels there from the rest outline moved by the
   field (`core.track.repair`, `--no-repair` to keep the model's labels). The
   redraw trusts the registration; where an organ changes shape in a way it does not
   follow, good frames are redrawn wrongly: on 12 defecography cases of another
   generator the model's labels scored 16.9 mm summed HD95 against 27.7 mm redrawn, so
   use `--no-repair` for defecography (rule 117 in docs/segmentation.md).
   Re-registering flagged frames on intensity alone was tried and was worse
   (bladder of seed 1103: 1.7 → 3.3 mm).  When an organ has flagged frames and its rest
   frame is not doubted, the registration runs once more with a mask-led lead pass
   (the masks weighted 10 on the two coarse levels) and that field is kept if its mean
   gap is below 0.75 × the first's (`RESCUE_LEAD_LEVELS`): bSSFP bands fixed in the
   image can hold the first field while the organ moves under them (bladder of seed
   1103 with model labels: 9.3 → 1.2 mm).
6. **No smoothing over time** by default (`TIME_WINDOW = 1`): with 1–2 s frames the
   breathing and straining motion changes quickly between frames, and a 5-frame
   Savitzky–Golay filter lagged it (phantom error 0.4 → 1.6 mm in a test run).

Arc-length resampling alone drifts along the wall wherever the wall stretches
unevenly or slides; the registration recovers that tangential motion where the
image has structure (wall, texture, neighbouring tissue).  Where the wall is long,
straight and featureless and the motion slides along it (aperture problem), the
tangential motion is not observable and errors stay larger (see the per-case table).

With model labels the error has a floor: the tracked points lie on the model's
contour, whose normal distance to the true boundary was 0.6–1.7 mm per organ on the
cases checked.  Everything is relative to the rest frame: when the model misses
part of an organ in the rest frame (seen once: a rectum traced at 2/3 of its
length), the points only cover that part and the error is large in every frame;
choose a rest frame with a complete segmentation (`--rest-frame`).

Options: `track_organs(..., settings=RegistrationSettings(...))` changes the
registration (`control_px` = 28 mm / pixel size by default).  On four phantom cases
(true labels) the previous default, 1/8–1/2 resolution with 60/40/25 steps, gave
0.66 mm in the same time as the current 40/30/15/5 with a full-resolution level
(0.60 mm); `iters=(40, 30, 15, 10)` gave 0.56 mm for about 15 % more time.

## Indices (`core/indices.py`)

- `curvature(points, scale_mm=3)` (1/mm): periodic cubic spline through the points
  (chord-length parameter), exact curvature of the spline sampled densely and evenly
  in arc length, smoothed with a periodic Gaussian of sigma `scale_mm` **in arc
  length** (the curvature is smoothed, not the curve, so a circle keeps exactly 1/r
  for any N), read back at the points.  Convex = positive, a dent = negative,
  whatever the input orientation.
- `displacement(points, rest)`: vector and magnitude from the rest frame and the
  normal component along the outward normal at rest (n = (t_y, −t_x) for positive
  shoelace area), positive outwards.
- Per frame (`frame_table`): area (mm²), perimeter (mm), centroid and lowest point
  from that frame's label contour; descent = lowest y − lowest y at rest (positive
  = caudal, y grows towards the feet); mean/max point displacement and mean
  |curvature| from the tracked points; segmentation confidence.
- Tables: `point_table` (subject, organ, frame, time_s, point, x_mm, y_mm,
  curvature_per_mm, displacement_mm, displacement_x_mm, displacement_y_mm,
  normal_displacement_mm, valid) and `frame_table` (subject, organ, frame, time_s,
  area_mm2, perimeter_mm, centroid_x_mm, centroid_y_mm, centroid_displacement_mm,
  mean_displacement_mm, max_displacement_mm, mean_abs_curvature_per_mm, lowest_y_mm,
  descent_mm, confidence).  Invalid points/frames are NaN with `valid = False`.
  Subject is the pseudonymous alias unless `keep_identity` (then the patient id);
  the patient name never goes into a table.
"""


def _track(series, labels, organs, n_points, device):
    t0 = time.perf_counter()
    result = None
    for p in track_organs(series, labels, organs, n_points=n_points, device=device):
        if p.stage == "done":
            result = p.data["result"]
    return result, time.perf_counter() - t0


def _model_segmenter(device: str):
    from core.errors import ModelError
    from core.segment.infer import Segmenter
    from core.segment.model_io import default_model_path

    if not Path(str(default_model_path()) + ".json").exists():
        return None
    try:
        return Segmenter(None, device=device)
    except ModelError as exc:
        print(f"no model: {exc}", file=sys.stderr)
        return None


def evaluate_case(case, source: str, labels, n_points: int, device: str) -> list[dict]:
    peak = case.strain >= 0.5 * case.strain.max()
    tracks, seconds = _track(case.series, labels, case.organs, n_points, device)
    rows = []
    for organ in case.organs:
        truth = case.trajectories[organ]
        err = trajectory_error(tracks.points[organ], truth)
        contours = tracks.contours.get(organ) or [
            mask_contour(labels[t] == case.organs.index(organ) + 1, case.series.spacing_mm)
            for t in range(case.series.n_frames)]
        base, _ = arclength_tracks(contours, n_points)
        berr = trajectory_error(base, truth)
        rows.append({
            "seed": case.params["seed"], "contrast": case.params["contrast"],
            "labels": source, "organ": organ,
            "track_mean_mm": float(np.nanmean(err[peak])),
            "track_p95_mm": float(np.nanpercentile(err[peak], 95)),
            "arclength_mean_mm": float(np.nanmean(berr[peak])),
            "arclength_p95_mm": float(np.nanpercentile(berr[peak], 95)),
            "peak_frames": int(peak.sum()), "track_s": seconds,
        })
    return rows


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run (written into the report)."""
    try:
        out = args.out.resolve().relative_to(ROOT)
    except ValueError:
        out = args.out
    return (f"python benchmarks/tracking_accuracy.py --seeds {' '.join(map(str, args.seeds))} "
            f"--shape {args.shape} --frames {args.frames} --points {args.points} "
            f"--device {args.device} --threads {args.threads} --out {shlex.quote(str(out))}")


def to_markdown(df: pd.DataFrame, args: argparse.Namespace, model_note: str) -> str:
    lines = [
        "# Tracking organ boundaries point by point",
        "",
        f"Generated by `benchmarks/tracking_accuracy.py` on {dt.date.today().isoformat()} "
        f"({platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"device {args.device}), command: `{command_line(args)}`.",
        "",
        "Error of a tracked point = distance to the true material point it started on, "
        "mean over the frames at or above half of the peak strain (`strain >= 0.5 * max`). "
        f"Phantom cases: seeds {', '.join(map(str, args.seeds))}, "
        + (f"{args.shape}×{args.shape} pixels, {args.frames} frames, " if args.shape else
           "each case at its own matrix, spacing and frame count, ")
        + f"{args.points} points per organ. Baseline: plain "
        "arc-length resampling of each frame's contour (point 0 = most cranial point).",
        "",
        model_note,
        "",
        METHOD,
        "## Summary (over cases, mm)",
        "",
        "Per case and organ the mean error over the peak frames is taken; the table gives "
        "the mean and the median of that over cases (the median is not pulled by a case "
        "whose segmentation failed), and the mean of the per-case 95th percentiles.",
        "",
        "| labels | organ | tracking mean | tracking median | tracking p95 | "
        "arc-length mean | arc-length median | arc-length p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cols = ["track_mean_mm", "track_p95_mm", "arclength_mean_mm", "arclength_p95_mm"]
    summ = df.groupby(["labels", "organ"], sort=False)[cols].mean()
    med = df.groupby(["labels", "organ"], sort=False)[cols].median()
    for (src, organ), r in summ.iterrows():
        m = med.loc[(src, organ)]
        lines.append(f"| {src} | {organ} | {r.track_mean_mm:.2f} | {m.track_mean_mm:.2f} | "
                     f"{r.track_p95_mm:.2f} | {r.arclength_mean_mm:.2f} | "
                     f"{m.arclength_mean_mm:.2f} | {r.arclength_p95_mm:.2f} |")
    for src, g in df.groupby("labels", sort=False):
        lines.append(f"| {src} | **all** | **{g.track_mean_mm.mean():.2f}** | "
                     f"**{g.track_mean_mm.median():.2f}** | {g.track_p95_mm.mean():.2f} | "
                     f"**{g.arclength_mean_mm.mean():.2f}** | "
                     f"{g.arclength_mean_mm.median():.2f} | {g.arclength_p95_mm.mean():.2f} |")
    lines += ["", "## Per case (mm)", "",
              "| seed | contrast | labels | organ | tracking mean | arc-length mean | "
              "tracking time (s) |", "|---|---|---|---|---|---|---|"]
    lines_note = ("Tracking times are wall times on a machine shared with other jobs; "
                  "see docs/performance_analyze.md for the speed measurement.")
    for r in df.itertuples():
        lines.append(f"| {r.seed} | {r.contrast} | {r.labels} | {r.organ} | "
                     f"{r.track_mean_mm:.2f} | {r.arclength_mean_mm:.2f} | {r.track_s:.2f} |")
    lines += ["", lines_note]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """The command line of this script."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1100, 1112)))
    ap.add_argument("--shape", type=int, default=256,
                    help="matrix side; 0 = each case's own size, spacing and frame count")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--points", type=int, default=128)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "tracking.md")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    segmenter = _model_segmenter(args.device)
    model_note = ("Model labels: shipped default model "
                  f"`{segmenter.model_id}`." if segmenter is not None else
                  "Model labels: no shipped model (`resources/models/default.*`) was found "
                  "when this was run, so only true labels are reported.")
    rows = []
    for seed in args.seeds:
        case = (generate_case(seed) if args.shape == 0 else
                generate_case(seed, shape=(args.shape, args.shape), n_frames=args.frames))
        rows += evaluate_case(case, "true", case.labels, args.points, args.device)
        if segmenter is not None:
            seg = segmenter.predict(case.series)
            rows += evaluate_case(case, "model", seg.labels, args.points, args.device)
        last = pd.DataFrame(rows[-3:])
        print(f"seed {seed}: " + ", ".join(
            f"{r.labels}/{r.organ} {r.track_mean_mm:.2f} (arc {r.arclength_mean_mm:.2f})"
            for r in last.itertuples()), flush=True)
    df = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_markdown(df, args, model_note), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
