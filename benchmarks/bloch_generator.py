"""Labelled synthetic cine mid-sagittal pelvic MRI from implicit anatomy and MR physics.

    python benchmarks/bloch_generator.py --seeds 0-199 --out data/bloch [--workers 4]

Methods, independent of the project's other phantoms:

- Anatomy as implicit surfaces in mm (x anterior→posterior, y head→feet): each
  structure is a signed-distance field built from round-cone chains along smooth
  centre-lines and ellipses, blended with a smooth minimum; organs are separated by a
  fixed priority (bones > uterus/cervix/vagina > bladder > rectum) with a smooth
  subtraction of the higher ones dilated by a fat plane.  Context: pubic symphysis,
  sacrum, coccyx and L4-L5 (cortex, marrow, discs, CSF), levator plate, puborectalis,
  anal sphincter, perineal body, urethra, rectus abdominis, paraspinal muscle,
  small-bowel loops with fluid/chyme/gas, fat, and a star-shaped body outline.
- Motion: a rest → strain (→ rest) curve scales a stationary velocity field (Gaussian
  kernels at the bladder base, cervix, anorectal junction, levator plate and abdominal
  wall, damped to zero in bone); the backward map of each frame is its flow,
  integrated with RK2 steps, so the deformation is smooth and invertible.
- Imaging: per-tissue T1/T2/PD (±25 % per subject) through the steady-state signal of
  bSSFP, single-shot FSE or spoiled GRE; ×2 supersampled rendering averaged to the
  output grid (partial volume); k-space truncation (Gibbs), partial Fourier, motion
  phase errors along the phase direction; 4-8 surface coils with complex sensitivities,
  band-limited complex noise per coil, root-sum-of-squares combination.
- Labels (1 bladder, 2 uterus+cervix+vagina, 3 rectum+anal canal): majority of the
  supersamples, the largest connected piece per organ and frame.

Each case ``bloch_{seed:03d}`` holds ``series.nii.gz`` (stored transposed and flipped,
with a truthful RAS+ sform), ``truth.npy`` (T, H, W) in canonical order and
``params.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from scipy import fft as sfft  # noqa: E402
from scipy import ndimage  # noqa: E402
from scipy.interpolate import CubicSpline  # noqa: E402

from core.io import read_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402

__all__ = ["generate", "main", "parse_seeds"]

Field = Callable[[np.ndarray, np.ndarray], np.ndarray]
Box = tuple[float, float, float, float]  # x min, x max, y min, y max (mm)

#: name, T1 (ms), T2 (ms), proton density, organ label, texture amplitude (1.5 T values).
TISSUES: tuple[tuple[str, float, float, float, int, float], ...] = (
    ("air", 1.0, 1.0, 0.0, 0, 0.0),
    ("fat", 280.0, 110.0, 0.95, 0, 0.05),
    ("muscle", 1000.0, 40.0, 0.75, 0, 0.06),
    ("bowel_wall", 1100.0, 70.0, 0.8, 0, 0.05),
    ("bowel_fluid", 3000.0, 800.0, 1.0, 0, 0.05),
    ("chyme", 1300.0, 180.0, 0.85, 0, 0.3),
    ("gas", 1.0, 1.0, 0.0, 0, 0.0),
    ("cortex", 1000.0, 2.0, 0.08, 0, 0.1),
    ("marrow", 450.0, 70.0, 0.85, 0, 0.15),
    ("disc", 1100.0, 90.0, 0.8, 0, 0.05),
    ("csf", 4000.0, 2000.0, 1.0, 0, 0.02),
    ("fibrous", 900.0, 35.0, 0.6, 0, 0.06),
    ("urethra", 1200.0, 70.0, 0.8, 0, 0.04),
    ("bladder_wall", 1100.0, 60.0, 0.8, 1, 0.04),
    ("urine", 3500.0, 1800.0, 1.0, 1, 0.01),
    ("myometrium", 1300.0, 110.0, 0.85, 2, 0.06),
    ("junctional", 1100.0, 55.0, 0.8, 2, 0.04),
    ("endometrium", 1400.0, 200.0, 0.9, 2, 0.05),
    ("cervix", 1100.0, 60.0, 0.8, 2, 0.05),
    ("vagina_wall", 1200.0, 75.0, 0.8, 2, 0.05),
    ("vagina_lumen", 2000.0, 400.0, 0.95, 2, 0.05),
    ("rectal_wall", 1100.0, 65.0, 0.8, 3, 0.05),
    ("stool", 900.0, 50.0, 0.65, 3, 0.35),
    ("rectal_gas", 1.0, 1.0, 0.0, 3, 0.0),
    ("rectal_fluid", 2500.0, 600.0, 1.0, 3, 0.05),
)
TID = {t[0]: i for i, t in enumerate(TISSUES)}
LABEL_OF = np.array([t[4] for t in TISSUES], dtype=np.uint8)
TEXTURE_OF = np.array([t[5] for t in TISSUES], dtype=np.float32)
ORGANS = (1, 2, 3)


# ----------------------------------------------------------------------------- implicit shapes
@dataclass(frozen=True)
class Shape:
    """A signed distance field (negative inside) and a box that holds its inside."""

    sdf: Field
    box: Box


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (union) with blending width ``k`` mm."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def direction(deg: float) -> np.ndarray:
    """Unit vector ``deg`` degrees from straight down (feet), turned towards posterior."""
    r = np.radians(deg)
    return np.array([np.sin(r), np.cos(r)])


def turn_anterior(v: np.ndarray, deg: float) -> np.ndarray:
    """``v`` rotated ``deg`` degrees towards anterior (counter-clockwise on screen)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([v[0] * c + v[1] * s, -v[0] * s + v[1] * c])


def tube(points: Sequence[Sequence[float]], radii: Sequence[float], n: int = 0) -> Shape:
    """Chain of round cones through ``points``; ``n`` > 0 resamples a smooth spline."""
    p, r = np.asarray(points, float), np.asarray(radii, float)
    if n:
        s = np.r_[0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
        u = np.linspace(0, s[-1], n)
        p, r = CubicSpline(s, p)(u), np.interp(u, s, r)
    seg = [(a, b - a, ra, rb - ra) for a, b, ra, rb in zip(p[:-1], p[1:], r[:-1], r[1:],
                                                               strict=True)]

    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = None
        for a, e, ra, dr in seg:
            dx, dy = x - a[0], y - a[1]
            t = np.clip((dx * e[0] + dy * e[1]) / max(e @ e, 1e-9), 0.0, 1.0)
            d = np.hypot(dx - t * e[0], dy - t * e[1]) - (ra + t * dr)
            out = d if out is None else np.minimum(out, d)
        return out

    pad = r.max()
    return Shape(sdf, (p[:, 0].min() - pad, p[:, 0].max() + pad,
                       p[:, 1].min() - pad, p[:, 1].max() + pad))


def ellipse(c: Sequence[float], a: float, b: float, deg: float = 0.0) -> Shape:
    """Ellipse with semi-axis ``a`` along x and ``b`` along y, turned ``deg`` degrees."""
    cs, sn = np.cos(np.radians(deg)), np.sin(np.radians(deg))

    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        u = (x - c[0]) * cs + (y - c[1]) * sn
        v = -(x - c[0]) * sn + (y - c[1]) * cs
        k0 = np.hypot(u / a, v / b)
        k1 = np.maximum(np.hypot(u / a**2, v / b**2), 1e-9)
        return k0 * (k0 - 1.0) / k1

    m = max(a, b)
    return Shape(sdf, (c[0] - m, c[0] + m, c[1] - m, c[1] + m))


def union(shapes: Sequence[Shape], k: float = 4.0) -> Shape:
    """Smooth union of shapes."""
    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = shapes[0].sdf(x, y)
        for s in shapes[1:]:
            out = smin(out, s.sdf(x, y), k)
        return out

    bx = np.array([s.box for s in shapes])
    return Shape(sdf, (bx[:, 0].min(), bx[:, 1].max(), bx[:, 2].min(), bx[:, 3].max()))


def carve(shape: Shape, others: Sequence[Shape], gap: float, k: float = 2.0) -> Shape:
    """``shape`` minus the ``others`` dilated by ``gap`` mm (smooth maximum)."""
    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = shape.sdf(x, y)
        for o in others:
            out = -smin(-out, o.sdf(x, y) - gap, k)
        return out

    return Shape(sdf, shape.box)


def inset(shape: Shape, d: float) -> Shape:
    """``shape`` eroded by ``d`` mm (dilated when negative)."""
    b = shape.box
    grow = max(-d, 0.0)
    return Shape(lambda x, y: shape.sdf(x, y) + d,
                 (b[0] - grow, b[1] + grow, b[2] - grow, b[3] + grow))


def at(shape: Shape, p: np.ndarray) -> float:
    """The field of ``shape`` at one point."""
    return float(shape.sdf(np.array([p[0]]), np.array([p[1]]))[0])


# ----------------------------------------------------------------------------- anatomy
@dataclass
class Anatomy:
    """Paint layers (shape, tissue, organ it must stay inside or -1), bones, body, motion."""

    layers: list[tuple[Shape, str, int]]
    bones: Shape
    body: Shape
    kernels: list[tuple[np.ndarray, np.ndarray, float]]  # centre, displacement (mm), sigma
    fov_centre: np.ndarray
    perineum_y: float
    params: dict[str, Any]


def body_outline(points: list[np.ndarray], centre: np.ndarray) -> Shape:
    """Star-shaped body around ``centre`` through skin ``points`` (periodic spline radius)."""
    d = np.array(points) - centre
    th, rad = np.arctan2(d[:, 1], d[:, 0]), np.hypot(d[:, 0], d[:, 1])
    order = np.argsort(th)
    th, rad = th[order], rad[order]
    spline = CubicSpline(np.r_[th, th[0] + 2 * np.pi], np.r_[rad, rad[0]], bc_type="periodic")

    def sdf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        a = np.arctan2(y - centre[1], x - centre[0])
        a = np.where(a < th[0], a + 2 * np.pi, a)
        return (np.hypot(x - centre[0], y - centre[1]) - spline(a)).astype(np.float32)

    return Shape(sdf, (-1e4, 1e4, -1e4, 1e4))


def build_anatomy(rng: np.random.Generator) -> Anatomy:
    """Draw one subject: landmarks, organ shapes, context tissue and motion kernels."""
    u = rng.uniform
    s = u(0.9, 1.12)
    fat = u(8, 45)
    tilt, pcl_angle, pcl_len = u(30, 48), u(15, 30), u(88, 105) * s
    # bones: symphysis at the origin, sacrum and coccyx from the pubococcygeal line
    ax = direction(tilt)
    p_inf, p_sup = 20 * s * ax, -20 * s * ax
    tip = p_inf + pcl_len * direction(90 + pcl_angle)
    chain = tip + s * np.array([(0, 0), (8, -12), (15, -25), (21, -42), (25, -62), (25, -84),
                                (20, -106), (9, -125)])
    chain_r = s * np.array([3.5, 4.5, 5.5, 8, 11, 14, 17, 19])
    pubis = ellipse((0, 0), 7 * s, 20 * s, -tilt)
    sacrum = tube(chain, chain_r, 14)
    l5 = ellipse(chain[-1] + s * np.array([-12, -52]), 18 * s, 13 * s, 15)
    l4 = ellipse(chain[-1] + s * np.array([-18, -82]), 18 * s, 13 * s, 5)
    discs = [ellipse(chain[-1] + s * np.array([-6, -28]), 17 * s, 5 * s, 30),
             ellipse(chain[-1] + s * np.array([-15, -67]), 17 * s, 5 * s, 10)]
    bones = union([pubis, sacrum, l5, l4], 1.0)
    canal = tube([chain[-1] + s * np.array([30, -100]), chain[-1] + s * np.array([28, -45]),
                  chain[-1] + s * np.array([22, 0]), chain[5] + s * np.array([8, 0])],
                 [6 * s, 5.5 * s, 4 * s, 2 * s], 12)
    rectus_pts = [p_sup + s * np.array([-4, -3]), np.array([-22, -70]) * s,
                  np.array([-30, -150]) * s, np.array([-32, -300]) * s]
    rectus = tube(rectus_pts, [4.5 * s] * 4, 16)
    # vagina and cervix
    a1, bend, v_len = u(15, 35), u(10, 30), u(60, 90) * s
    v0 = p_inf + s * np.array([12, 28])
    v1 = v0 + v_len / 2 * direction(180 - a1)
    v_up = direction(180 - a1 - bend)
    v2 = v1 + v_len / 2 * v_up
    vagina = tube([v0, v1, v2], [5.5 * s, 6.5 * s, 7.5 * s], 12)
    # bladder: neck behind the symphysis, dome rising with filling
    fill = u(0, 1)
    neck = p_inf + s * np.array([20, -12])
    ba, bb = (18 + 24 * fill) * s, (12 + 40 * fill) * s
    b_tilt = u(-15, 10)
    bladder_raw = union([ellipse(neck + np.array([-0.25 * ba, -0.9 * bb]), ba, bb, b_tilt),
                         ellipse(neck + s * np.array([4, -6]), 10 * s, 7 * s, 20)], 8.0)
    # rectum: anorectal junction below the PCL, ampulla in the sacral hollow
    dist = u(0, 1)
    content = str(rng.choice(["stool", "gas", "fluid", "mixed"]))
    arj = p_inf + 0.6 * (tip - p_inf)
    e = (tip - p_inf) / np.linalg.norm(tip - p_inf)
    arj = arj + 12 * s * np.array([-e[1], e[0]])
    beta, anal_len = u(5, 25), u(30, 40) * s
    anus = arj + anal_len * direction(beta)
    r_amp = (10 + 14 * dist) * s
    r1 = arj + 25 * s * direction(180 - a1 - 10)
    r2 = chain[3] + np.array([-(8 * s + 6 + r_amp), 0])
    r3 = chain[5] + np.array([-(14 * s + 5 + 0.8 * r_amp), -5])
    r4 = chain[6] + np.array([-(17 * s + 4 + 10 * s), -12])
    rect_tube = tube([arj, r1, r2, r3, r4], [9 * s, r_amp, 0.95 * r_amp, 0.8 * r_amp, 10 * s], 16)
    anal = tube([arj, anus + 3 * direction(beta)], [7 * s, 6 * s], 0)
    # uterus: cervix from the vaginal apex, body by version and flexion, clear of neighbours
    antevert = bool(rng.uniform() < 0.75)
    version = u(80, 130) if antevert else u(-25, 5)
    flexion = u(-10, 40) if antevert else u(-35, 5)
    cx_len, ut_len = u(22, 32) * s, u(55, 85) * s
    os_ext = v2 - 4 * v_up
    body_r = np.array([13, 20, 17]) * s
    for _ in range(24):
        d_cx = turn_anterior(v_up, version)
        d_ut = turn_anterior(d_cx, flexion)
        c1 = os_ext + cx_len * d_cx
        pts = [c1 + f * ut_len * d_ut for f in (0.0, 0.6, 1.0)]
        bad_b = any(at(bladder_raw, p) < -0.3 * min(ba, bb) for p in pts)
        bad_r = any(at(rect_tube, p) < -0.3 * r_amp for p in pts)
        bad_bone = any(at(bones, p) < r + 3 for p, r in zip(pts, body_r, strict=True))
        if not (bad_b or bad_r or bad_bone):
            break
        if bad_b or (bad_bone and antevert):
            version -= 5
        else:
            version += 5
    cervix = tube([os_ext, c1], [12 * s, 13 * s], 0)
    ut_body = tube(pts, body_r, 10)
    uterus_raw = union([vagina, cervix, ut_body], 5.0)
    uterus = carve(uterus_raw, [bones, rectus], 2.0)
    bladder = carve(bladder_raw, [bones, rectus, uterus_raw], 2.5)
    rectum = carve(union([rect_tube, anal], 4.0), [bones, uterus_raw, bladder_raw], 2.0)
    b_wall = (5 - 3 * fill) * u(0.8, 1.2)
    phase = u(2, 6) * s  # endometrial half-thickness
    # levator plate, puborectalis, perineal body, urethra
    sling = arj + 14 * s * direction(70)
    meatus = v0 + s * np.array([-10, -2])
    perineal = ellipse(0.5 * (v0 + 0.2 * (v1 - v0)) + 0.5 * (arj + 0.6 * (anus - arj)),
                       9 * s, 12 * s, -beta)
    # skin and body outline
    skin = [p + np.array([-(5 + fat), 0]) for p in rectus_pts[1:]] + [
        p_sup + np.array([-8 - 0.8 * fat, 8]), p_inf + np.array([-6 - 0.3 * fat, 24]),
        v0 + np.array([0, 3]), 0.5 * (v0 + anus) + np.array([0, 4]), anus + np.array([3, 1]),
        tip + np.array([15 + 0.3 * fat, 30]), tip + np.array([30 + 0.6 * fat, -5]),
        chain[5] + np.array([35 + fat, 0]), chain[7] + np.array([75 + fat, 0]),
        chain[7] + np.array([90 + fat, -100]), chain[7] + np.array([95 + fat, -250]),
        chain[7] + np.array([95 + fat, -450]), np.array([-45 - fat, -450])]
    body = body_outline(skin, np.array([55 * s, -50 * s]))
    layers: list[tuple[Shape, str, int]] = [
        (body, "fat", -1),
        (rectus, "muscle", -1),
        (ellipse(chain[-1] + s * np.array([55, -90]), 28 * s, 90 * s, 5), "muscle", -1),
        (tube([tip + np.array([-2, 3]), sling], [3.2 * s, 3.8 * s], 0), "muscle", -1),
        (ellipse(sling, 5 * s, 8 * s, 30), "muscle", -1),
        (inset(anal, -4), "muscle", -1),
        (perineal, "fibrous", -1),
        (tube([neck + np.array([2, -3]), meatus], [3.5 * s, 3 * s], 0), "urethra", -1),
    ]
    layers += small_bowel(rng, s, body, [bones, rectus, bladder_raw, uterus, rect_tube],
                          (rectus_pts[1][0], chain[-1][0] - 10, -300.0, -20.0))
    layers += [(bones, "cortex", -1), (inset(bones, u(1.5, 2.5)), "marrow", -1)]
    layers += [(d, "disc", -1) for d in discs] + [(canal, "csf", -1)]
    layers += [
        (uterus, "vagina_wall", -1), (carve(ut_body, [vagina], 1.0, 3.0), "myometrium", 2),
        (inset(cervix, 1.0), "cervix", 2),
        (tube([c1 + 6 * d_ut, pts[2] - 10 * d_ut], [phase + 4, phase + 4], 0), "junctional", 2),
        (tube([c1 + 6 * d_ut, pts[2] - 10 * d_ut], [phase, phase * 0.8], 0), "endometrium", 2),
        (tube([os_ext, c1 + 4 * d_cx], [1.5, 1.5], 0), "vagina_lumen", 2),
        (tube([v0, v1, v2], [1.2, 1.5, 1.8], 8), "vagina_lumen", 2),
        (bladder, "bladder_wall", -1), (inset(bladder, b_wall), "urine", 1),
        (rectum, "rectal_wall", -1),
    ]
    layers += rectal_content(rng, content, inset(rect_tube, u(2.5, 3.5)), dist)
    # motion: peak descent of the most mobile compartment, the others a fraction of it
    mobile = int(rng.integers(3))
    peak = u(10, 40)
    desc = [peak if i == mobile else peak * u(0.25, 0.75) for i in range(3)]
    kernels = [
        (neck + np.array([0, -8]), desc[0] * direction(20), 30.0),
        (c1, desc[1] * (v0 - v2) / np.linalg.norm(v0 - v2), 32.0),
        (arj, desc[2] * direction(30), 28.0),
        (0.5 * (neck + arj), 0.4 * max(desc) * direction(5), 50.0),
        (0.5 * (tip + sling), 0.3 * desc[2] * direction(-20), 25.0),
        (np.array([-20, -100]) * s, u(5, 15) * np.array([-1.0, 0.2]), 55.0),
        (np.array([40, -120]) * s, 0.4 * max(desc) * direction(0), 45.0),
    ]
    params = {
        "scale": s, "fat_mm": fat, "symphysis_tilt_deg": tilt, "pcl_angle_deg": pcl_angle,
        "pcl_length_mm": pcl_len, "bladder_filling": fill, "uterus": "anteverted" if antevert
        else "retroverted", "version_deg": version, "flexion_deg": flexion,
        "vagina_length_mm": v_len, "vagina_angle_deg": a1, "rectal_distension": dist,
        "rectal_content": content, "most_mobile": ["anterior", "middle", "posterior"][mobile],
        "descent_mm": {"anterior": desc[0], "middle": desc[1], "posterior": desc[2]},
        "prolapse_like": peak > 28,
    }
    centre = np.array([0.5 * (tip[0] - 20), 0.0])
    return Anatomy(layers, bones, body, kernels, centre, float(max(v0[1], anus[1])), params)


def small_bowel(rng: np.random.Generator, s: float, body: Shape, avoid: list[Shape],
                box: Box) -> list[tuple[Shape, str, int]]:
    """Loops (wall + fluid, chyme or gas) placed in the free space above the pelvic organs."""
    loops: list[tuple[np.ndarray, float]] = []
    out: list[tuple[Shape, str, int]] = []
    for _ in range(60):
        c = np.array([rng.uniform(box[0], box[1]), rng.uniform(box[2], box[3])])
        a, b = rng.uniform(9, 17) * s, rng.uniform(6, 15) * s
        r = max(a, b)
        if at(body, c) > -r - 8 or any(at(o, c) < r + 2 for o in avoid):
            continue
        if any(np.hypot(*(c - q)) < r + rq - 3 for q, rq in loops):
            continue
        loops.append((c, r))
        shape = ellipse(c, a, b, rng.uniform(0, 180))
        inside = str(rng.choice(["bowel_fluid", "chyme", "gas"], p=[0.45, 0.4, 0.15]))
        out += [(shape, "bowel_wall", -1), (inset(shape, rng.uniform(1.5, 3)), inside, -1)]
    return out


def rectal_content(rng: np.random.Generator, content: str, lumen: Shape,
                   dist: float) -> list[tuple[Shape, str, int]]:
    """Rectal lumen filling; gas rises anteriorly (supine), above a fluid level."""
    if dist < 0.15:
        return [(lumen, "rectal_fluid", 3)]
    if content in ("stool", "fluid", "gas"):
        main = {"stool": "stool", "fluid": "rectal_fluid", "gas": "rectal_gas"}[content]
        layers = [(lumen, main, 3)]
    else:
        layers = [(lumen, "stool", 3)]
    if content in ("fluid", "mixed"):
        b = lumen.box
        level = b[0] + rng.uniform(0.1, 0.35) * (b[1] - b[0])
        cut = Shape(lambda x, y: np.maximum(lumen.sdf(x, y), x - level), b)
        layers.append((cut, "rectal_gas", 3))
    return layers


# ----------------------------------------------------------------------------- rendering
@dataclass
class Grid:
    """Regular grid in anatomy mm: x0, y0 of index (0, 0), step h, shape (ny, nx)."""

    x0: float
    y0: float
    h: float
    ny: int
    nx: int

    def window(self, box: Box) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
        """Index window of ``box`` and its x (1, n) and y (m, 1) coordinates."""
        i0 = max(int((box[2] - self.y0) / self.h) - 1, 0)
        i1 = min(int((box[3] - self.y0) / self.h) + 2, self.ny)
        j0 = max(int((box[0] - self.x0) / self.h) - 1, 0)
        j1 = min(int((box[1] - self.x0) / self.h) + 2, self.nx)
        x = (self.x0 + self.h * np.arange(j0, max(j1, j0), dtype=np.float32))[None, :]
        y = (self.y0 + self.h * np.arange(i0, max(i1, i0), dtype=np.float32))[:, None]
        return (slice(i0, max(i1, i0)), slice(j0, max(j1, j0))), x, y


def rasterise(anatomy: Anatomy, grid: Grid) -> np.ndarray:
    """Tissue index map of the anatomy on ``grid`` (layers painted in order)."""
    tissue = np.zeros((grid.ny, grid.nx), np.uint8)
    for shape, name, organ in anatomy.layers:
        sl, x, y = grid.window(shape.box)
        if x.size == 0 or y.size == 0:
            continue
        mask = shape.sdf(x, y) < 0
        if organ >= 0:
            mask &= LABEL_OF[tissue[sl]] == organ
        tissue[sl][mask] = TID[name]
    sl, x, y = grid.window(anatomy.body.box)
    tissue[anatomy.body.sdf(x, y) >= 0] = TID["air"]
    return tissue


def time_curve(rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Strain level 0..1 per frame: rest → strain → rest, or rest → sustained strain."""
    kind = str(rng.choice(["strain-release", "sustained"]))
    ramp = rng.uniform(2, 6)
    t_on = rng.uniform(0.1, 0.3) * n
    t_off = rng.uniform(t_on + ramp + 2, max(t_on + ramp + 3, 0.85 * n))
    t = np.arange(n, dtype=float)

    def step(z: np.ndarray) -> np.ndarray:
        z = np.clip(z, 0, 1)
        return z * z * (3 - 2 * z)

    c = step((t - t_on) / ramp)
    if kind == "strain-release":
        c = c * (1 - step((t - t_off) / ramp))
    c = c * (1 + 0.03 * np.sin(t * rng.uniform(0.8, 2.0)))
    return np.clip(c, 0, 1), {"kind": kind, "onset_frame": t_on, "ramp_frames": ramp,
                              "release_frame": t_off if kind == "strain-release" else None}


def velocity_grid(anatomy: Anatomy, box: Box, h: float = 3.0) -> tuple[Grid, np.ndarray]:
    """Stationary velocity (2, ny, nx) for unit strain, zero in bone."""
    g = Grid(box[0], box[2], h, int((box[3] - box[2]) / h) + 2, int((box[1] - box[0]) / h) + 2)
    _, x, y = g.window((box[0], box[0] + g.nx * h, box[2], box[2] + g.ny * h))
    v = np.zeros((2, g.ny, g.nx), np.float32)
    for c, d, sigma in anatomy.kernels:
        w = np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2) / (2 * sigma**2))
        v += d[:, None, None] * w
    bone = np.maximum(anatomy.bones.sdf(x, y), 0)
    return g, v * (1 - np.exp(-((bone / 8.0) ** 2)))


def backward_maps(vg: Grid, v: np.ndarray, px: np.ndarray, py: np.ndarray,
                  strain: np.ndarray, steps: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Reference positions of the points (px, py) in each frame: the flow of -strain·v."""
    x = np.broadcast_to(px, (len(strain),) + px.shape).astype(np.float64)
    y = np.broadcast_to(py, (len(strain),) + py.shape).astype(np.float64)
    dt = -(strain / steps)[:, None, None]

    def vel(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coords = np.stack([(y - vg.y0) / vg.h, (x - vg.x0) / vg.h])
        return tuple(ndimage.map_coordinates(v[k], coords, order=1, mode="nearest")
                     for k in range(2))

    for _ in range(steps):
        vx, vy = vel(x, y)
        mx, my = vel(x + 0.5 * dt * vx, y + 0.5 * dt * vy)
        x, y = x + dt * mx, y + dt * my
    return x, y


def interp_matrix(n_fine: int, nodes: np.ndarray) -> np.ndarray:
    """Linear interpolation from ``nodes`` (pixel units) to the ×2 sub-pixel centres."""
    f = (np.arange(n_fine) + 0.5) / 2 - 0.5
    j = np.clip(np.searchsorted(nodes, f, side="right") - 1, 0, len(nodes) - 2)
    w = (f - nodes[j]) / (nodes[j + 1] - nodes[j])
    a = np.zeros((n_fine, len(nodes)))
    a[np.arange(n_fine), j] = 1 - w
    a[np.arange(n_fine), j + 1] = w
    return a


# ----------------------------------------------------------------------------- MR physics
def draw_sequence(rng: np.random.Generator) -> dict[str, Any]:
    """Sequence and its parameters (ms, degrees), frame interval (s)."""
    name = str(rng.choice(["bssfp", "ssfse", "spgr"]))
    if name == "bssfp":
        tr = rng.uniform(3.0, 5.0)
        return {"name": name, "TR": tr, "TE": tr / 2, "flip": rng.uniform(40, 75),
                "interval_s": rng.uniform(0.4, 1.2)}
    if name == "ssfse":
        tr = rng.uniform(1000, 2500)
        return {"name": name, "TR": tr, "TE": rng.uniform(80, 120), "flip": 90.0,
                "interval_s": tr / 1000}
    return {"name": name, "TR": rng.uniform(4, 10), "TE": rng.uniform(1.5, 4.5),
            "flip": rng.uniform(10, 30), "interval_s": rng.uniform(0.5, 1.5)}


def tissue_signal(seq: dict[str, Any], t1: np.ndarray, t2: np.ndarray,
                  pd: np.ndarray) -> np.ndarray:
    """Steady-state magnitude per tissue."""
    a = np.radians(seq["flip"])
    e1, e2 = np.exp(-seq["TR"] / t1), np.exp(-seq["TR"] / t2)
    if seq["name"] == "bssfp":
        s = np.sin(a) * (1 - e1) / (1 - (e1 - e2) * np.cos(a) - e1 * e2)
        return pd * s * np.exp(-seq["TE"] / t2)
    if seq["name"] == "ssfse":
        return pd * (1 - e1) * np.exp(-seq["TE"] / t2)
    return pd * np.sin(a) * (1 - e1) / (1 - np.cos(a) * e1) * np.exp(-seq["TE"] / (0.6 * t2))


def coil_maps(rng: np.random.Generator, n: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Complex sensitivities (n, H, W) on scanner mm (x, y): loops in front of the abdomen
    and under the back, near the anterior and posterior edges of the field of view."""
    maps = []
    for k in range(n):
        edge = rng.uniform(0, 40)
        cx = x.min() + edge if k % 2 == 0 else x.max() - edge
        cy = rng.uniform(y.min() + 0.2 * np.ptp(y), y.max() - 0.15 * np.ptp(y))
        radius, depth = rng.uniform(80, 130), rng.uniform(20, 60)
        d2 = (x - cx) ** 2 + (y - cy) ** 2 + depth**2
        mag = (1 + d2 / radius**2) ** -1.5
        ph = rng.uniform(-0.01, 0.01) * x + rng.uniform(-0.01, 0.01) * y + rng.uniform(0, 6.3)
        maps.append(mag * np.exp(1j * ph))
    m = np.array(maps, dtype=np.complex64)
    return m / np.sqrt((np.abs(m) ** 2).sum(0)).max()


def acquisition_mask(rng: np.random.Generator, shape: tuple[int, int],
                     phase_axis: int) -> tuple[np.ndarray, dict[str, Any]]:
    """k-space samples kept: a lower acquired matrix, partial Fourier on the phase axis."""
    frac = rng.uniform(0.6, 1.0, 2)
    pf = 1.0 if rng.uniform() < 0.5 else rng.uniform(0.6, 0.85)
    keep = []
    for ax, n in enumerate(shape):
        k = np.fft.fftfreq(n) * n
        half = frac[ax] * n / 2
        low = -half + (1 - pf) * 2 * half if ax == phase_axis else -half
        keep.append((k >= low) & (k < half))
    return keep[0][:, None] & keep[1][None, :], {
        "acquired_fraction": frac.tolist(), "partial_fourier": pf,
        "phase_axis": ["rows (head-feet)", "columns (anterior-posterior)"][phase_axis]}


def acquire(rng: np.random.Generator, clean: np.ndarray, labels: np.ndarray,
            strain: np.ndarray, peak_mm: float, xy: tuple[np.ndarray, np.ndarray]
            ) -> tuple[np.ndarray, dict[str, Any]]:
    """k-space effects, coil reception, noise and root-sum-of-squares combination."""
    t, h, w = clean.shape
    phase_axis = int(rng.integers(2))
    mask, info = acquisition_mask(rng, (h, w), phase_axis)
    n_coils, snr = int(rng.integers(4, 9)), float(np.exp(rng.uniform(np.log(8), np.log(40))))
    maps = coil_maps(rng, n_coils, xy[0], xy[1])
    rss_map = np.sqrt((np.abs(maps) ** 2).sum(0))
    # rigid shift along the phase axis during each frame's readout: blur and ghosts
    n_p = (h, w)[phase_axis]
    kp = np.fft.fftfreq(n_p)
    order = np.argsort(np.argsort(kp)) / n_p - 0.5
    speed = np.abs(np.gradient(strain)) * peak_mm * rng.uniform(0.2, 0.6)
    ramp = np.exp(-2j * np.pi * np.outer(speed, kp * order)).astype(np.complex64)
    ramp = ramp[:, :, None] if phase_axis == 0 else ramp[:, None, :]
    k = sfft.fft2(clean.astype(np.float32), norm="ortho", workers=1) * mask * ramp
    obj = sfft.ifft2(k, norm="ortho", workers=1)
    organs = labels[0] > 0
    ref = float(np.mean((np.abs(obj[0]) * rss_map)[organs]))
    sigma = ref / snr
    sigma_k = sigma / np.sqrt(mask.mean())
    n_acq = int(mask.sum())
    profile = (0.6 + 0.4 * np.abs(maps) / np.abs(maps).max(axis=(1, 2), keepdims=True))
    out = np.empty((t, h, w), np.float32)
    for i in range(t):
        noise = rng.standard_normal((2, n_coils, n_acq), dtype=np.float32) * sigma_k
        n_k = np.zeros((n_coils, h, w), np.complex64)
        n_k[:, mask] = noise[0] + 1j * noise[1]
        n_img = sfft.ifft2(n_k, norm="ortho", workers=1)
        out[i] = np.sqrt((np.abs(obj[i][None] * maps + n_img * profile) ** 2).sum(0))
    scale = 500.0 * rng.uniform(0.5, 2.0) / ref
    info.update({"coils": n_coils, "snr": snr, "noise_sigma": sigma * scale})
    return out * scale, info


# ----------------------------------------------------------------------------- one case
def tissue_properties(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-subject T1, T2 and PD: literature values times 1 ± 25 %."""
    base = np.array([t[1:4] for t in TISSUES], dtype=float)
    vals = base * rng.uniform(0.75, 1.25, base.shape)
    return vals[:, 0], vals[:, 1], vals[:, 2]


def clean_labels(lab: np.ndarray, seed: int) -> np.ndarray:
    """Keep the largest connected piece of each organ in each frame; all must be present."""
    out = np.zeros_like(lab)
    for t in range(lab.shape[0]):
        for organ in ORGANS:
            comp, n = ndimage.label(lab[t] == organ)
            if n == 0:
                raise RuntimeError(f"seed {seed}: organ {organ} missing in frame {t}")
            sizes = np.bincount(comp.ravel())
            sizes[0] = 0
            out[t][comp == int(np.argmax(sizes))] = organ
    return out


def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict[str, Any]]:
    """One case: frames float32 (T, H, W), labels uint8 (T, H, W), spacing (row, col) mm,
    parameters; canonical order (rows head→feet, columns anterior→posterior)."""
    rng = np.random.default_rng(seed)
    anatomy = build_anatomy(rng)
    n_t = int(rng.integers(12, 41))
    h, w = (int(v) for v in rng.integers(224, 289, 2))
    sr = round(float(rng.uniform(1.1, 1.5)), 2)
    sc = round(float(np.clip(sr * rng.uniform(0.92, 1.08), 1.1, 1.5)), 2)
    strain, curve = time_curve(rng, n_t)
    angle, shift = np.radians(rng.uniform(-10, 10)), rng.uniform(-15, 15, 2)
    bottom = anatomy.perineum_y + rng.uniform(25, 60)
    centre = np.array([anatomy.fov_centre[0], bottom - h * sr / 2]) + shift
    # scanner pixel (row, col) → anatomy mm: rotate about the FOV centre
    cos, sin = np.cos(angle), np.sin(angle)

    def to_anatomy(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        qx, qy = (c - (w - 1) / 2) * sc, (r - (h - 1) / 2) * sr
        return centre[0] + cos * qx + sin * qy, centre[1] - sin * qx + cos * qy

    rows, cols = np.arange(-6.0, h + 12, 6), np.arange(-6.0, w + 12, 6)
    ax_, ay_ = to_anatomy(rows[:, None], cols[None, :])
    vbox = (ax_.min() - 60, ax_.max() + 60, ay_.min() - 60, ay_.max() + 60)
    vg, v = velocity_grid(anatomy, vbox)
    bx, by = backward_maps(vg, v, ax_, ay_, strain)
    step = min(sr, sc) / 2
    ref = Grid(bx.min() - 3, by.min() - 3, step, int(np.ptp(by) / step) + 8,
               int(np.ptp(bx) / step) + 8)
    tissue = rasterise(anatomy, ref)
    t1, t2, pd = tissue_properties(rng)
    seq = draw_sequence(rng)
    texture = ndimage.gaussian_filter(rng.standard_normal(tissue.shape, dtype=np.float32), 2.0)
    texture /= texture.std()
    signal = tissue_signal(seq, t1, t2, pd).astype(np.float32)[tissue] * np.clip(
        1 + TEXTURE_OF[tissue] * texture, 0.2, None)
    a_r, a_c = interp_matrix(2 * h, rows), interp_matrix(2 * w, cols)
    fi = a_r @ ((by - ref.y0) / step).astype(np.float32) @ a_c.T
    fj = a_r @ ((bx - ref.x0) / step).astype(np.float32) @ a_c.T
    flat = (fi + 0.5).astype(np.int32) * ref.nx + (fj + 0.5).astype(np.int32)
    fine = signal.ravel()[flat]
    sub = LABEL_OF[tissue].ravel()[flat]
    quads = [(slice(None), slice(a, None, 2), slice(b, None, 2)) for a in (0, 1) for b in (0, 1)]
    frames_clean = sum(fine[q] for q in quads) / 4
    votes = np.stack([sum((sub[q] == k).view(np.uint8) for q in quads) for k in range(4)])
    labels = clean_labels(np.argmax(votes, axis=0).astype(np.uint8), seed)
    xs = ((np.arange(w) - (w - 1) / 2) * sc)[None, :] + np.zeros((h, 1))
    ys = ((np.arange(h) - (h - 1) / 2) * sr)[:, None] + np.zeros((1, w))
    peak = max(anatomy.params["descent_mm"].values())
    frames, acq = acquire(rng, frames_clean, labels, strain, peak, (xs, ys))
    params = {
        "seed": seed, "shape": [n_t, h, w], "spacing_mm": [sr, sc],
        "frame_interval_s": seq["interval_s"],
        "sequence": {k: v for k, v in seq.items() if k != "interval_s"},
        "snr": acq.pop("snr"), "coils": acq.pop("coils"), "acquisition": acq,
        "pose": {"rotation_deg": float(np.degrees(angle)), "shift_mm": shift.tolist()},
        "strain_curve": curve, "strain": strain.tolist(), "subject": anatomy.params,
    }
    return frames.astype(np.float32), labels, (sr, sc), params


# ----------------------------------------------------------------------------- output
def write_nifti(path: Path, frames: np.ndarray, spacing: tuple[float, float],
                interval_s: float) -> None:
    """Store the cine as (H, W, 1, T) with the rows reversed: voxel axis 0 runs feet→head,
    axis 1 anterior→posterior; the RAS+ sform says so (not the reader's (W, H) order)."""
    t, h, w = frames.shape
    data = np.ascontiguousarray(frames[:, ::-1, :].transpose(1, 2, 0)[:, :, None, :])
    sr, sc = spacing
    affine = np.array([[0.0, 0.0, 6.0, 0.0],
                       [0.0, -sc, 0.0, (w - 1) / 2 * sc],
                       [sr, 0.0, 0.0, -(h - 1) / 2 * sr],
                       [0.0, 0.0, 0.0, 1.0]])
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((sr, sc, 6.0, interval_s))
    img.header["descrip"] = b"bloch_generator synthetic cine"
    nib.save(img, path)


def run_case(job: tuple[int, str]) -> str:
    """Generate, write and check one case; the summary line."""
    seed, out = job
    start = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    case = Path(out) / f"bloch_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    write_nifti(case / "series.nii.gz", frames, spacing, params["frame_interval_s"])
    back = read_series(case / "series.nii.gz")
    if back.frames.shape != frames.shape or not np.allclose(back.frames, frames, rtol=1e-6,
                                                            atol=1e-3):
        raise RuntimeError(f"{case.name}: the NIfTI does not read back in canonical order")
    if tuple(back.spacing_mm) != spacing:
        raise RuntimeError(f"{case.name}: spacing read back {back.spacing_mm} != {spacing}")
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1, default=np.ndarray.tolist))
    return (f"{case.name}  {'x'.join(map(str, frames.shape))}  {params['sequence']['name']:5s}"
            f"  spacing {spacing[0]:.2f}x{spacing[1]:.2f} mm  SNR {params['snr']:.1f}"
            f"  {time.perf_counter() - start:.1f} s")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--seeds``, ``--out``, ``--workers``; one line per case."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-9", help="e.g. 0-199 or 1,4-5")
    ap.add_argument("--out", required=True, help="folder for the bloch_NNN cases")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(seed, args.out) for seed in parse_seeds(args.seeds)]
    for line in map_jobs(run_case, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
