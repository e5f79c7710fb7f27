"""Montage of phantom cases at rest and at peak strain; writes docs/img/phantom_montage.png.

Run: ``python benchmarks/phantom_montage.py [--seeds 0 1 2 3 4 5]``.
Rows: rest frame, peak-strain frame, peak frame with the true contours
(trajectory points) and landmarks drawn on it.  Needs only Pillow.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.organs import organ_colour
from core.phantom import generate_case
from core.phantom.params import parse_overrides

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "phantom_montage.png"
TILE_MM = 1.0  # output pixel size of the montage tiles


def _tile(case, t: int, overlay: bool, size: int) -> Image.Image:
    f = case.series.frames[t]
    sr, sc = case.series.spacing_mm
    v = np.clip(f / max(np.percentile(case.series.frames, 99.5), 1e-6), 0, 1) * 255
    im = Image.fromarray(v.astype(np.uint8)).convert("RGB")
    w_mm, h_mm = f.shape[1] * sc, f.shape[0] * sr
    k = size / max(w_mm, h_mm)
    im = im.resize((round(w_mm * k), round(h_mm * k)), Image.BILINEAR)
    draw = ImageDraw.Draw(im)
    if overlay:
        for i, organ in enumerate(case.organs):
            pts = [((x + 0.5 * sc) * k, (y + 0.5 * sr) * k) for x, y in case.trajectories[organ][t]]
            draw.line(pts + [pts[0]], fill=organ_colour(organ, i), width=1)
        for lm in case.landmarks.values():
            x, y = (lm[t, 0] + 0.5 * sc) * k, (lm[t, 1] + 0.5 * sr) * k
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], outline=(255, 60, 60))
    label = f"{case.series.subject} {case.params['contrast']} t={t} strain={case.strain[t]:.2f}"
    draw.text((4, 4), label, fill=(255, 160, 0))
    canvas = Image.new("RGB", (size, size))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return canvas


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    ap.add_argument("--size", type=int, default=300, help="tile size in pixels")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a phantom override (JSON value, else a string), e.g. "
                         "sigmoid_colon=true")
    args = ap.parse_args()
    try:
        overrides = parse_overrides(args.option, "--option")
    except ValueError as exc:
        ap.error(str(exc))
    cols = []
    for seed in args.seeds:
        case = generate_case(seed, **overrides)
        peak = int(np.argmax(case.strain))
        cols.append([_tile(case, 0, False, args.size), _tile(case, peak, False, args.size),
                     _tile(case, peak, True, args.size)])
    out = Image.new("RGB", (args.size * len(cols), args.size * 3))
    for i, col in enumerate(cols):
        for j, tile in enumerate(col):
            out.paste(tile, (i * args.size, j * args.size))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
