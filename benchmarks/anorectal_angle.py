"""How reproducibly PelviTrack measures the anorectal angle and finds the junction.

No generator here gives the angle of its labels: the ones with an anorectal angle
parameter (gp, cascade) smooth the rectum's centreline after setting it, so their
label's wall does not follow the parameter.  The exactness of the measure itself is
tested on bent tubes (tests/core/test_anorectal.py, within 1.5°).  This script asks
how much the number moves with what a user and the model change, on synthetic cine
series with exact labels (``benchmarks/gp_generator.py``, never trained on, and
``benchmarks/defeco_generator.py``, defecography, whose canal opens on evacuation;
``--generator``, one section of the page each):

- **truth**: the angle on the truth labels' outline, with the anal canal line
  fitted to the anterior edge of the truth's rectum + anal canal label over the
  generator's own canal length (:data:`DEFAULT_CANAL_MM` where it gives none;
  :func:`core.rectocele.fit_anal_line`), standing in for the user's clicks: its upper
  end at the anorectal junction;
- **model**: on the labels ``pelvitrack analyze`` writes (the shipped model, the
  tracker's repair), with the same line;
- **one pixel**: on the truth labels grown, or shrunk, by one pixel (what the measure
  makes of a small change of outline);
- **click error**: on the truth labels, each end of each frame's line moved by a
  random 2 mm;
- **fitted**: on the model's labels with the line fitted to them as ``--anal-canal
  auto`` does (its lowest 25 mm, so its upper end lies lower in a longer canal).

Reported: per frame, the mean and 95th percentile of |other − truth| and how many
frames have an angle at all; per case, the same for the angle at rest and the angle's
range (largest − smallest); and the generator's rest-angle parameter against the
truth labels' angle at rest (correlation), to show how loosely they are related.

The same for the anorectal junction found with the angle (the corner of the wall,
``core.anorectal.trace``; where no junction is marked, the H- and M-lines end there):
the distance between each way's junction and the truth's, and its head–feet part.  An
H- or M-line moves by at most that distance (the pubis and the PCL stay).
Generation is in a temporary folder; nothing is kept.

Usage::

    python benchmarks/anorectal_angle.py --generator gp --seeds 2044-2067
    python benchmarks/anorectal_angle.py --generator defeco --seeds 5024-5047
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))    # rectocele_accuracy, the generators

from rectocele_accuracy import (  # noqa: E402
    GENERATORS,
    measure_seeds,
    model_and_fitted,
    write_section,
)

#: The canal length (mm) the truth's line is fitted over where the generator does not
#: say (defeco: its rest canal, anus to anorectal junction, is 33–44 mm long).
DEFAULT_CANAL_MM = 35.0

#: How far each end of the line is moved for the click error (mm).
CLICK_MM = 2.0

#: The ways the angle is measured, besides the truth: key -> what the page calls it.
WAYS = {"model": "model labels, same line",
        "grown": "truth labels grown by one pixel, same line",
        "shrunk": "truth labels shrunk by one pixel, same line",
        "click": f"truth labels, {CLICK_MM:g} mm click error at each end",
        "fitted": "model labels, line fitted to them (`--anal-canal auto`)"}


def traced(contours: list, lines: list) -> np.ndarray:
    """Per frame (T, 3): the angle (°) and the junction's x, y (mm); NaN where none."""
    from core.anorectal import angle_of_arms, trace

    out = np.full((len(contours), 3), np.nan)
    for t, (c, line) in enumerate(zip(contours, lines, strict=True)):
        corner, arms = trace(c, line)
        out[t, 0] = angle_of_arms(arms)
        if corner is not None:
            out[t, 1:] = corner
    return out


def analysed(result: object) -> np.ndarray:
    """What ``analyze`` gives per frame (T, 3): the rectum's angle and the junction it
    found (the end of the H- and M-lines)."""
    frames = result.frames
    angle = (frames[frames["organ"] == "rectum"].sort_values("frame")
             ["anorectal_angle_deg"].to_numpy(float))
    junction = result.reference_tracks().get("rectum")
    if junction is None:
        junction = np.full((len(angle), 2), np.nan)
    return np.c_[angle, junction]


def measure_case(folder: Path) -> dict:
    """One generated case: per-frame angles and junctions from the truth and the
    others; key -> (T,) angles and key + "_j" -> (T, 2) junctions."""
    from scipy import ndimage

    from core.rectocele import fit_anal_line
    from core.segment.data import read_labelled_case
    from core.track.contours import mask_contour

    series, truth = read_labelled_case(folder, 4)
    params = json.loads((folder / "params.json").read_text())
    anatomy = params.get("anatomy") or params.get("subject") or {}
    canal = float(anatomy.get("anal_canal_mm", DEFAULT_CANAL_MM))
    sp = series.spacing_mm
    lines = [fit_anal_line(lab == 3, sp, canal_mm=canal) for lab in truth]
    contours = [mask_contour(lab == 3, sp) for lab in truth]
    ways = dict(zip(("model", "fitted"), model_and_fitted(series, lines, analysed),
                    strict=True))
    ways["truth"] = traced(contours, lines)
    for name, op in (("grown", ndimage.binary_dilation), ("shrunk", ndimage.binary_erosion)):
        ways[name] = traced([mask_contour(op(lab == 3), sp) for lab in truth], lines)
    rng = np.random.default_rng(int(params.get("seed", 0)))
    moved = []
    for line in lines:
        angle = rng.uniform(0, 2 * np.pi, 2)
        shift = CLICK_MM * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        moved.append(None if line is None else line + shift)
    ways["click"] = traced(contours, moved)
    out = {"case": folder.name, "frames": series.n_frames,
           "parameter": float(anatomy.get("anorectal_angle_deg", np.nan))}
    for key, v in ways.items():
        out[key], out[key + "_j"] = v[:, 0], v[:, 1:]
    return out


def _range(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.max() - v.min()) if v.size else np.nan


def _errors(rows: list[dict], key: str) -> dict[str, float]:
    frame = np.concatenate([r[key] - r["truth"] for r in rows])
    both = np.concatenate([np.isfinite(r["truth"]) for r in rows])
    have = np.concatenate([np.isfinite(r[key]) for r in rows])
    rest = np.array([r[key][0] - r["truth"][0] for r in rows])
    span = np.array([_range(r[key]) - _range(r["truth"]) for r in rows])
    out = {"measured": int(have.sum()), "missing": int((both & ~have).sum())}
    for name, v in (("frame", frame), ("rest", rest), ("range", span)):
        v = np.abs(v[np.isfinite(v)])
        out[name] = (float(v.mean()), float(np.percentile(v, 95)), v.size) if v.size else (
            np.nan, np.nan, 0)
    return out


def junction_errors(rows: list[dict], key: str) -> dict[str, object]:
    """How far ``key``'s junction lies from the truth's (mm): per frame (distance and
    its head–feet part) and at rest; frames with a junction, and those the truth had
    and this did not."""
    d = np.concatenate([r[key + "_j"] - r["truth_j"] for r in rows])
    both = np.concatenate([np.isfinite(r["truth_j"]).all(1) for r in rows])
    have = np.concatenate([np.isfinite(r[key + "_j"]).all(1) for r in rows])
    rest = np.array([np.hypot(*(r[key + "_j"][0] - r["truth_j"][0])) for r in rows])
    out: dict[str, object] = {"measured": int(have.sum()), "missing": int((both & ~have).sum())}
    for name, v in (("distance", np.hypot(d[:, 0], d[:, 1])), ("head_feet", d[:, 1]),
                    ("rest", rest)):
        v = np.abs(v[np.isfinite(v)])
        out[name] = (float(v.mean()), float(np.percentile(v, 95))) if v.size else (
            np.nan, np.nan)
    return out


def _table_rows(rows: list[dict], errors, columns: tuple[str, ...], unit: str) -> list[str]:
    """One table row per way of :data:`WAYS`: frames measured (missing), then each of
    ``columns`` of ``errors(rows, key)`` as "mean (95th pct.)" in ``unit``."""
    out = []
    for key, name in WAYS.items():
        e = errors(rows, key)
        cells = " | ".join(f"{e[c][0]:.1f}{unit} ({e[c][1]:.1f}{unit})" for c in columns)
        out.append(f"| {name} | {e['measured']} ({e['missing']}) | {cells} |")
    return out


def report(rows: list[dict], seeds: str, seconds: float, generator: str = "gp") -> str:
    """The generator's section of the page."""
    from core import __version__
    from core.anorectal import LEVEL_MM, TURN_DEG, WALL_FROM_MM, WALL_TO_MM

    n_frames = sum(r["frames"] for r in rows)
    truth = np.concatenate([r["truth"] for r in rows])
    rest = np.array([r["truth"][0] for r in rows])
    par = np.array([r["parameter"] for r in rows])
    ok = np.isfinite(rest) & np.isfinite(par)
    corr = float(np.corrcoef(rest[ok], par[ok])[0, 1]) if ok.sum() > 2 else np.nan
    out = [
        f"## {generator}",
        "",
        f"`python benchmarks/anorectal_angle.py --generator {generator} --seeds {seeds}` "
        f"(PelviTrack {__version__}, {platform.machine()}, {seconds:.0f} s). Cases: "
        f"`benchmarks/{GENERATORS[generator][0]}.py` (exact labels). The measure: "
        "`core.anorectal.anorectal_angle` (corner: the canal's posterior wall turning "
        f"more than {TURN_DEG:g}° or {LEVEL_MM:g} mm below the line's upper end; wall line "
        f"fitted {WALL_FROM_MM:g}–{WALL_TO_MM:g} mm from it). Truth: the truth labels with "
        "the anal canal line fitted to the truth's anterior canal wall over the "
        f"generator's canal length ({CANAL_NOTE[generator]}; standing in for the clicks).",
        "",
        f"Cases: {len(rows)} ({n_frames} frames); the truth labels give an angle on "
        f"{int(np.isfinite(truth).sum())} frames: {np.nanmean(truth):.0f} ± "
        f"{np.nanstd(truth):.0f}° (at rest {np.nanmean(rest):.0f} ± {np.nanstd(rest):.0f}°).",
        "",
        "| against the truth | frames with an angle (truth had one, this did not) | "
        "per frame: mean \\|error\\| (95th pct.) | rest frame: mean \\|error\\| (95th pct.) | "
        "range over the series: mean \\|error\\| (95th pct.) |",
        "| --- | --- | --- | --- | --- |",
    ]
    out += _table_rows(rows, _errors, ("frame", "rest", "range"), "°")
    out += [
        "",
        "The anorectal junction found with the angle (the wall's corner; the H- and "
        "M-lines end there where no junction is marked, and move by at most its error):",
        "",
        "| against the truth's junction | frames with a junction (truth had one, this did "
        "not) | per frame: mean distance (95th pct.) | per frame: mean head–feet "
        "\\|error\\| (95th pct.) | rest frame: mean distance (95th pct.) |",
        "| --- | --- | --- | --- | --- |",
    ]
    out += _table_rows(rows, junction_errors, ("distance", "head_feet", "rest"), " mm")
    if ok.sum() > 2:
        out += ["", f"The generator's rest-angle parameter against the truth labels' angle "
                f"at rest: r = {corr:.2f} over {int(ok.sum())} cases (the generator smooths "
                "its rectum after setting the angle, so this is not a truth)."]
    out += [
        "",
        "Per case (rest frame; range = largest − smallest over the series):",
        "",
        "| case | frames | parameter (°) | truth rest (°) | model rest (°) | fitted rest (°) | "
        "truth range (°) | model range (°) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = (r["parameter"], r["truth"][0], r["model"][0], r["fitted"][0],
                 _range(r["truth"]), _range(r["model"]))
        out.append(f"| {r['case']} | {r['frames']} | "
                   + " | ".join("–" if not np.isfinite(v) else f"{v:.0f}" for v in cells)
                   + " |")
    out.append("")
    return "\n".join(out)


#: The page's head; each generator's results follow as a "## name" section.
HEAD = """# Anorectal angle and junction: reproducibility on synthetic cine series

Written by `benchmarks/anorectal_angle.py`, one section per generator.
"""

#: Where each generator's canal length comes from.
CANAL_NOTE = {"gp": "its `anal_canal_mm`",
              "defeco": f"not in its parameters: {DEFAULT_CANAL_MM:g} mm, a little under its "
                        "rest canal's 33–44 mm"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", choices=sorted(GENERATORS), default="gp")
    ap.add_argument("--seeds", default="2044-2067", help="seeds, A-B (default 2044-2067: gp "
                    "seeds never trained on or used before)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "anorectal_angle.md"),
                    help="the page; an existing page keeps its other generators' sections")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = measure_seeds(args.generator, args.seeds, measure_case, lambda r: (
        f"{r['case']}: rest truth {r['truth'][0]:.0f} model {r['model'][0]:.0f} "
        f"fitted {r['fitted'][0]:.0f} (parameter {r['parameter']:.0f})"))
    text = report(rows, args.seeds, time.perf_counter() - t0, args.generator)
    write_section(args.out, args.generator, text, HEAD)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
