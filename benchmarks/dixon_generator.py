"""Dixon chemical-shift generator of labelled synthetic cine sagittal pelvic MRI.

Anatomy: a female mid-sagittal pelvis drawn in a pelvic frame (u mm posterior, v mm
caudal, origin at the top of the pubic symphysis) that each subject places with its
own tilt, global scale and antero-posterior depth.  Bladder and uterus outlines are
blends of hand-made control-polygon templates (random Dirichlet weights) with random
low-frequency radial shape modes; rectum, anal canal, vagina and urethra are tubes
whose centre lines and width profiles are blended the same way.  Organs carry inner
structure (bladder wall, urine, debris, catheter balloon; endometrium, junctional
zone, myometrium, fibroids, cervical stroma, vaginal walls and gel; rectal wall with
stool, gas, fluid or gel).  Around them: symphysis, sacrum, coccyx, lumbar spine,
levator plate and sphincters, perineal body, urethra, rectus muscles, subcutaneous
and pelvic fat, small-bowel and sigmoid loops, vessels and the gluteal region.
Everything is rasterised on a 2x supersampled grid and averaged down.

Motion: a Valsalva, defecation or squeeze-then-strain profile scales a smooth
displacement field (pelvic floor descent of 10-40 mm, larger in the compartment
that prolapses, an optional rectocele bulge, posterior-inferior shift of the
anorectal junction) plus breathing; soft tissue is warped, bones stay put.  Image
and truth come from the same warped tissue map.

Imaging: water and fat signals per tissue from a T1-weighted GRE or T2-weighted
base contrast (random tissue intensities), surface-coil bias, two echoes (in- and
opposed-phase) with a B0 field phase, truncated k-space (Gibbs) zero-filled to the
display matrix, complex noise (Rician magnitudes), then a 2-point Dixon
reconstruction whose smooth phase reference can be wrong by more than 90 degrees in
a region (local fat-water swap).  One contrast is displayed per case.

Output: ``dixon_{seed:03d}/series.nii`` (NIfTI-2, int16 with scl_slope/scl_inter,
oblique sagittal affine, stored in a non-canonical axis order that the reader undoes),
``truth.npy`` (uint8 labels (T, H, W), 1 bladder, 2 uterus_vagina, 3 rectum) and
``params.json``.

Usage: ``python benchmarks/dixon_generator.py --seeds 0-99 --out /tmp/dixon --workers 2``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from PIL import Image, ImageDraw
from scipy import interpolate, ndimage

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.io.orientation import dicom_affine, undo_orientation  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402

SS = 2  # supersampling factor of the tissue map
LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
CONTRASTS = ("water", "fat", "in_phase", "opposed_phase")
FAT_T1, FAT_T2 = 370.0, 90.0

# name: (label, water proton density, fat proton density, water T1 ms, water T2 ms)
TISSUES: dict[str, tuple[int, float, float, float, float]] = {
    "air": (0, 0.0, 0.0, 1000, 50),
    "fat": (0, 0.08, 0.92, 1000, 60),
    "skin": (0, 0.7, 0.1, 900, 45),
    "muscle": (0, 0.75, 0.04, 1000, 38),
    "cortex": (0, 0.04, 0.0, 1000, 5),
    "marrow": (0, 0.3, 0.62, 800, 60),
    "disc": (0, 0.8, 0.0, 1100, 110),
    "csf": (0, 1.0, 0.0, 3500, 1500),
    "vessel": (0, 0.85, 0.0, 1400, 200),
    "bowel_wall": (0, 0.8, 0.02, 1000, 60),
    "bowel_fluid": (0, 0.95, 0.0, 2500, 700),
    "chyme": (0, 0.7, 0.1, 800, 90),
    "bowel_gas": (0, 0.0, 0.0, 1000, 50),
    "stool": (0, 0.55, 0.15, 600, 60),
    "bladder_wall": (1, 0.8, 0.0, 1000, 55),
    "urine": (1, 1.0, 0.0, 3000, 1500),
    "debris": (1, 0.8, 0.0, 1200, 150),
    "balloon": (1, 0.95, 0.0, 2500, 1000),
    "catheter": (1, 0.05, 0.0, 1000, 5),
    "myometrium": (2, 0.85, 0.0, 1200, 90),
    "junctional": (2, 0.7, 0.0, 1000, 50),
    "endometrium": (2, 0.9, 0.0, 1300, 140),
    "fibroid": (2, 0.7, 0.0, 900, 35),
    "cervix": (2, 0.7, 0.0, 1000, 45),
    "mucus": (2, 0.95, 0.0, 2000, 300),
    "vagina_wall": (2, 0.8, 0.0, 1000, 70),
    "vagina_gel": (2, 1.0, 0.0, 2500, 1000),
    "rectal_wall": (3, 0.8, 0.0, 1000, 60),
    "rectal_stool": (3, 0.55, 0.15, 600, 60),
    "rectal_gas": (3, 0.0, 0.0, 1000, 50),
    "rectal_fluid": (3, 0.95, 0.0, 2500, 800),
    "rectal_gel": (3, 1.0, 0.0, 2600, 1000),
    "anal_canal": (3, 0.75, 0.0, 1000, 45),
}
TID = {name: i for i, name in enumerate(TISSUES)}
LABEL_LUT = np.array([t[0] for t in TISSUES.values()], dtype=np.uint8)
STATIC = ("cortex", "marrow", "disc", "csf")  # drawn in the static (bone) layer only

# Bladder templates: (u, v) mm per unit fill around the neck, 12 corresponding points
# (neck, base towards posterior, posterior wall, dome, anterior wall).
BLADDER = np.array([
    [(0, 0), (12, -2), (24, -6), (32, -14), (34, -26), (30, -40),  # round
     (18, -48), (4, -48), (-8, -42), (-14, -30), (-14, -16), (-8, -6)],
    [(0, 0), (14, -1), (28, -4), (38, -10), (42, -20), (38, -30),  # flat, wide
     (26, -35), (10, -36), (-4, -33), (-12, -24), (-12, -12), (-7, -4)],
    [(0, 0), (10, -3), (20, -8), (27, -20), (30, -36), (26, -54),  # tall
     (15, -62), (2, -62), (-9, -55), (-13, -40), (-12, -22), (-7, -8)],
    [(0, 0), (10, 2), (22, 1), (31, -8), (35, -22), (33, -38),  # low, sagging base
     (22, -47), (6, -48), (-7, -42), (-13, -30), (-13, -15), (-7, -4)],
], dtype=float)

# Uterus templates: (s along the axis from the external os, t across) mm, 14 points;
# s <= 30 is the cervix, the rest the corpus.  Scaled by the drawn length.
UTERUS = np.array([
    [(0, -11), (14, -12), (28, -10), (38, -17), (52, -21), (64, -20), (72, -12),  # pear
     (74, 0), (72, 12), (64, 20), (52, 21), (38, 17), (28, 10), (14, 12)],
    [(0, -12), (14, -13), (28, -12), (38, -22), (52, -26), (64, -25), (72, -15),  # globular
     (75, 0), (72, 15), (64, 25), (52, 26), (38, 22), (28, 12), (14, 13)],
    [(0, -10), (14, -10), (28, -9), (36, -11), (46, -12), (54, -11), (60, -7),  # atrophic
     (62, 0), (60, 7), (54, 11), (46, 12), (36, 11), (28, 9), (14, 10)],
    [(0, -12), (14, -13), (28, -12), (40, -20), (54, -22), (66, -18), (73, -10),  # tubular
     (76, 0), (73, 10), (66, 18), (54, 22), (40, 20), (28, 12), (14, 13)],
], dtype=float)

# Rectal centre lines (u, v) from the anorectal junction to the rectosigmoid, and
# half-widths (mm) at those points: collapsed, distended ampulla, redundant, lax.
RECTUM_LINES = np.array([
    [(66, 70), (74, 52), (82, 28), (90, -2), (90, -35), (78, -65)],
    [(64, 70), (70, 50), (80, 26), (89, -4), (88, -36), (76, -66)],
    [(66, 70), (76, 54), (86, 30), (92, 2), (94, -30), (84, -62)],
    [(64, 72), (70, 55), (78, 32), (88, 0), (90, -34), (80, -64)],
], dtype=float)
RECTUM_HALF = np.array([
    [7, 9, 10, 10, 9, 8], [9, 17, 21, 19, 14, 11], [8, 12, 14, 15, 12, 10], [9, 15, 17, 14, 11, 9],
], dtype=float)


@dataclass
class Frame:
    """Pelvic frame: local (u, v) mm → supersampled pixel (x = column, y = row)."""

    origin: np.ndarray  # (col_mm, row_mm) of the local origin in the image
    tilt: float  # radians, positive turns posterior towards caudal
    su: float
    sv: float
    spacing: tuple[float, float]  # (row, col) mm

    def rot(self) -> np.ndarray:
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        return np.array([[c, -s], [s, c]])

    def to_px(self, pts: np.ndarray) -> np.ndarray:
        mm = (np.asarray(pts, float) * (self.su, self.sv)) @ self.rot().T + self.origin
        return mm / (self.spacing[1], self.spacing[0]) * SS + (SS - 1) / 2

    def to_local(self, x_px: np.ndarray, y_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mm = np.stack([(x_px - (SS - 1) / 2) * self.spacing[1] / SS - self.origin[0],
                       (y_px - (SS - 1) / 2) * self.spacing[0] / SS - self.origin[1]], -1)
        uv = mm @ self.rot() / (self.su, self.sv)
        return uv[..., 0], uv[..., 1]


# ---------------------------------------------------------------- geometry helpers
def smooth_closed(pts: np.ndarray, n: int = 160) -> np.ndarray:
    """Periodic cubic spline through a control polygon."""
    p = np.vstack([pts, pts[:1]])
    tck, _ = interpolate.splprep([p[:, 0], p[:, 1]], s=0, per=1)
    return np.stack(interpolate.splev(np.linspace(0, 1, n, endpoint=False), tck), -1)


def ellipse(c: tuple[float, float], a: float, b: float, ang: float = 0.0,
            n: int = 48) -> np.ndarray:
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = a * np.cos(th), b * np.sin(th)
    ca, sa = np.cos(ang), np.sin(ang)
    return np.stack([c[0] + ca * x - sa * y, c[1] + sa * x + ca * y], -1)


def tube(line: np.ndarray, half: np.ndarray, n: int = 60) -> np.ndarray:
    """Closed outline of a tube along a centre line with per-point half-widths."""
    k = min(3, len(line) - 1)
    tck, u = interpolate.splprep([line[:, 0], line[:, 1]], s=0, k=k)
    s = np.linspace(0, 1, n)
    c = np.stack(interpolate.splev(s, tck), -1)
    d = np.stack(interpolate.splev(s, tck, der=1), -1)
    nrm = np.stack([-d[:, 1], d[:, 0]], -1) / np.linalg.norm(d, axis=1, keepdims=True)
    h = np.interp(s, u, half)[:, None]
    return np.vstack([c + h * nrm, (c - h * nrm)[::-1]])


def shape_modes(pts: np.ndarray, rng: np.random.Generator, amp: float) -> np.ndarray:
    """Random low-frequency radial modes (k = 1..3) about the centroid."""
    c = pts.mean(0)
    rel = pts - c
    th = np.arctan2(rel[:, 1], rel[:, 0])
    r = np.ones(len(pts))
    for k in (1, 2, 3):
        r += rng.normal(0, amp / k) * np.cos(k * th + rng.uniform(0, 2 * np.pi))
    return c + rel * r[:, None]


def shrink(pts: np.ndarray, mm: float) -> np.ndarray:
    """Move each point towards the centroid by ``mm`` (a wall's inner outline)."""
    c = pts.mean(0)
    rel = pts - c
    r = np.linalg.norm(rel, axis=1, keepdims=True)
    return c + rel * np.clip(r - mm, 0.5, None) / r


def blend(templates: np.ndarray, rng: np.random.Generator, conc: float = 0.7) -> tuple:
    w = rng.dirichlet(np.full(len(templates), conc))
    return np.tensordot(w, templates, axes=1), w


class Canvas:
    """Tissue-id images of the soft (moving) and static (bone) layers."""

    def __init__(self, frame: Frame, shape_ss: tuple[int, int]):
        self.frame = frame
        self.soft = Image.new("L", shape_ss[::-1], TID["air"])
        self.bone = Image.new("L", shape_ss[::-1], 0)
        self._ds = ImageDraw.Draw(self.soft)
        self._db = ImageDraw.Draw(self.bone)

    def fill(self, pts: np.ndarray, tissue: str) -> None:
        xy = [tuple(p) for p in self.frame.to_px(pts)]
        if tissue in STATIC:
            self._db.polygon(xy, fill=TID[tissue])
            self._ds.polygon(xy, fill=TID["fat"])
        else:
            self._ds.polygon(xy, fill=TID[tissue])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.soft, np.uint8), np.asarray(self.bone, np.uint8)


# ---------------------------------------------------------------- subject drawing
def draw_subject(rng: np.random.Generator) -> dict[str, Any]:
    """Random anatomy parameters of one subject (JSON-able)."""
    fill = float(rng.beta(1.3, 1.3))
    bw = [float(x) for x in rng.dirichlet(np.full(len(BLADDER), 0.7))]
    kind = str(rng.choice(["normal", "normal", "atrophic", "fibroid", "retroverted"]))
    return {
        "tilt_deg": float(rng.uniform(-15, 15)),
        "scale": float(rng.uniform(0.88, 1.12)),
        "pelvis_ap": float(rng.uniform(0.92, 1.08)),
        "fat_ant_mm": float(rng.uniform(6, 60)),
        "fat_post_mm": float(rng.uniform(6, 45)),
        "rectus_mm": float(rng.uniform(7, 14)),
        "bladder_fill": fill,
        "bladder_weights": bw,
        "bladder_wall_mm": float(rng.uniform(3, 5) + 3 * (1 - fill)),
        "bladder_extra": str(rng.choice(["none", "none", "debris", "catheter"])),
        "uterus_kind": kind,
        "uterus_length_mm": float({"atrophic": rng.uniform(42, 55), "fibroid": rng.uniform(85, 110)}
                                  .get(kind, rng.uniform(62, 85))),
        "uterus_version_deg": float(rng.uniform(25, 60) if kind == "retroverted"
                                    else rng.uniform(-75, -30)),
        "uterus_flexion_deg": float(rng.uniform(-25, 25)),
        "vaginal_gel": bool(rng.random() < 0.3),
        "rectal_content": str(rng.choice(["stool", "gas", "fluid", "gel", "collapsed"])),
        "small_bowel_loops": int(rng.integers(8, 22)),
    }


def draw_body(cv: Canvas, sub: dict[str, Any]) -> None:
    """Body outline, fat, abdominal wall, spine and pelvic bones, back and buttock."""
    fa, fp, rm = sub["fat_ant_mm"], sub["fat_post_mm"], sub["rectus_mm"]
    ant = -6 - rm - fa
    bulge = 0.5 * max(fa - 20, 0)
    post = fp + 8
    back = 175 + post  # supine: the back and buttocks lie flat on the table
    body = np.array([(ant - bulge, -320), (ant - bulge, -140), (ant - 0.6 * bulge, -50),
                     (ant + 2, 10), (ant + 10, 48), (8 - 0.2 * fa, 86), (22, 102), (45, 108),
                     (60, 116), (75, 122), (back - 40, 128), (back - 6, 105), (back, 40),
                     (back, -100), (back, -320)])
    cv.fill(smooth_closed(body, 200), "skin")
    cv.fill(shrink(smooth_closed(body, 200), 2.5), "fat")
    # rectus abdominis down to the pubic crest, gluteus behind the coccyx
    ra = np.array([(ant + fa - bulge * 0.5, -320), (ant + fa - 0.7 * bulge, -140),
                   (ant + fa + 2, -30), (-6, -4), (2, -4), (-6 + 0.4 * rm, -40),
                   (ant + fa + rm - 0.4 * bulge, -140), (ant + fa + rm, -320)])
    cv.fill(ra, "muscle")
    cv.fill(smooth_closed(np.array([(100, 45), (122, 0), (back - post - 5, 20),
                                    (back - post, 80), (back - 50, 110), (92, 92)])), "muscle")
    # paraspinal muscles behind the lumbar spine and sacrum
    cv.fill(np.array([(140, -320), (140, -100), (128, -40), (150, -40), (170 + post * 0.3, -110),
                      (190, -180), (190, -320)]), "muscle")
    draw_spine(cv)
    # pubic symphysis: cortex then marrow, fibrocartilage disc line in the middle
    cv.fill(ellipse((2, 20), 8, 22, np.deg2rad(-20)), "cortex")
    cv.fill(ellipse((2, 20), 5.5, 19.5, np.deg2rad(-20)), "marrow")
    cv.fill(ellipse((2, 20), 1.2, 17, np.deg2rad(-20)), "disc")


def draw_spine(cv: Canvas) -> None:
    """Sacrum, coccyx and lumbar vertebrae with discs and the spinal canal."""
    ant = np.array([(88, -92), (108, -60), (118, -25), (116, 5), (108, 26), (98, 42)])
    thick = np.array([40, 30, 24, 16, 11, 7], float)
    tck, u = interpolate.splprep([ant[:, 0], ant[:, 1]], s=0, k=3)
    s = np.linspace(0, 1, 60)
    c = np.stack(interpolate.splev(s, tck), -1)
    d = np.stack(interpolate.splev(s, tck, der=1), -1)
    nrm = np.stack([d[:, 1], -d[:, 0]], -1) / np.linalg.norm(d, axis=1, keepdims=True)
    h = np.interp(s, u, thick)[:, None]
    nrm *= np.sign(nrm[0, 0])  # towards posterior
    cv.fill(np.vstack([c, (c + h * nrm)[::-1]]), "cortex")
    cv.fill(np.vstack([c + 1.5 * nrm, (c + (h - 1.5) * nrm)[::-1]])[:], "marrow")
    for i in (10, 21, 32, 42, 51):  # sacral / coccygeal segment lines
        seg = np.array([c[i] + 2 * nrm[i], c[i] + (h[i, 0] - 2) * nrm[i]])
        t = np.array([-nrm[i, 1], nrm[i, 0]]) * 0.9
        cv.fill(np.vstack([seg + t, seg[::-1] - t]), "disc")
    cv.fill(np.vstack([c[:30] + (h[:30] * 0.55) * nrm[:30],
                       (c[:30] + (h[:30] * 0.8) * nrm[:30])[::-1]]), "csf")
    # lumbar bodies and discs, lordotic, above the promontory
    centre, ang = np.array([112.0, -116.0]), np.deg2rad(-28)
    for _ in range(5):
        ca, sa = np.cos(ang), np.sin(ang)
        axis, up = np.array([ca, sa]), np.array([sa, -ca])
        disc = centre + up * 17
        cv.fill(np.array([disc - 21 * axis - 4 * up, disc + 21 * axis - 4 * up,
                          disc + 19 * axis + 5 * up, disc - 19 * axis + 5 * up]), "disc")
        cv.fill(np.array([centre + p[0] * axis + p[1] * up for p in
                          [(-21, -13), (21, -13), (21, 13), (-21, 13)]]), "cortex")
        cv.fill(np.array([centre + p[0] * axis + p[1] * up for p in
                          [(-19, -11), (19, -11), (19, 11), (-19, 11)]]), "marrow")
        canal = centre + 30 * axis
        cv.fill(np.array([canal - 7 * axis - 22 * up, canal + 7 * axis - 22 * up,
                          canal + 7 * axis + 22 * up, canal - 7 * axis + 22 * up]), "csf")
        cv.fill(ellipse(tuple(centre + 52 * axis), 14, 7, ang), "cortex")
        centre = centre + up * 35
        ang += np.deg2rad(7)


def draw_bowel(cv: Canvas, sub: dict[str, Any], rng: np.random.Generator,
               dome_v: float) -> None:
    """Small-bowel loops above the bladder/uterus and a sigmoid loop, vessels."""
    inner = -6 - (sub["rectus_mm"] - 4)
    for _ in range(sub["small_bowel_loops"]):
        c = (rng.uniform(inner + 14, 80), rng.uniform(-200, min(dome_v, -20)))
        a, b = rng.uniform(9, 18), rng.uniform(7, 14)
        ang = rng.uniform(0, np.pi)
        cv.fill(ellipse(c, a, b, ang), "bowel_wall")
        fill = str(rng.choice(["bowel_fluid", "chyme", "chyme", "bowel_gas"]))
        cv.fill(ellipse(c, a - 2.5, b - 2.5, ang), fill)
    top = RECTUM_LINES[0][-1]
    loop = np.array([top, top + (-20, -25), top + (-45, -15), top + (-55, -45),
                     top + (-25, -70)]) + rng.normal(0, 5, (5, 2))
    half = rng.uniform(9, 15)
    cv.fill(tube(loop, np.full(5, half)), "bowel_wall")
    cv.fill(tube(loop, np.full(5, half - 3)), str(rng.choice(["stool", "bowel_gas", "chyme"])))
    # common iliac vessels anterior to L5/S1, paracervical and dorsal vessels
    cv.fill(tube(np.array([(82, -320), (80, -200), (78, -140), (70, -105)]),
                 np.array([9, 9, 8, 6])), "vessel")
    for c in [(50, 40), (80, 12), (-2, 46), (40, -20)]:
        cv.fill(ellipse((c[0] + rng.normal(0, 3), c[1] + rng.normal(0, 3)),
                        rng.uniform(2, 4), rng.uniform(2, 4)), "vessel")


def draw_pelvic_floor(cv: Canvas) -> None:
    """Levator plate, puborectalis, perineal body and external anal sphincter."""
    cv.fill(tube(np.array([(60, 84), (78, 72), (90, 56), (100, 44)]),
                 np.array([6, 5, 4, 3])), "muscle")
    cv.fill(ellipse((78, 74), 10, 8, np.deg2rad(30)), "muscle")
    cv.fill(ellipse((42, 92), 10, 9), "muscle")
    cv.fill(tube(np.array([(60, 112), (62, 96), (66, 80)]), np.array([14, 14, 12])), "muscle")


def draw_vagina_uterus(cv: Canvas, sub: dict[str, Any], rng: np.random.Generator,
                       bladder_h: float) -> None:
    """Vagina (tube), cervix and corpus (blended template, bent), fibroids."""
    line = np.array([(30, 100), (38, 72), (48, 48), (60, 30), (68, 18)]) + rng.normal(0, 2, (5, 2))
    gel = sub["vaginal_gel"]
    half = np.array([7, 7, 8, 9, 10]) + (rng.uniform(5, 9) if gel else 0)
    cv.fill(tube(line, half), "vagina_wall")
    cv.fill(tube(line, half - 4 if gel else np.full(5, 1.0)),
            "vagina_gel" if gel else "mucus")
    outline, _ = blend(UTERUS, rng)
    kind = sub["uterus_kind"]
    length = sub["uterus_length_mm"]
    sc = length / 75.0
    width = 1.25 if kind == "fibroid" else (0.8 if kind == "atrophic" else 1.0)
    pts = shape_modes(outline * (sc, sc * width), rng, 0.05)
    jz = np.column_stack([pts[:, 0] * 0.93 + 2, pts[:, 1] * 0.55])
    endo_w = 0.12 if kind == "atrophic" else 0.25
    endo = np.column_stack([pts[:, 0] * 0.88 + 4, pts[:, 1] * endo_w])
    isth = 30 * sc
    version = np.deg2rad(sub["uterus_version_deg"]) * (1 - 0.6 * bladder_h)
    flex = np.deg2rad(sub["uterus_flexion_deg"])

    def place(p: np.ndarray) -> np.ndarray:
        p = p.copy()
        body = p[:, 0] > isth
        rel = p[body] - (isth, 0)
        cf, sf = np.cos(flex), np.sin(flex)
        p[body] = (isth, 0) + rel @ np.array([[cf, sf], [-sf, cf]])
        # axis pointing cranially (-v), turned by the version angle (neg = anterior)
        axis = np.array([np.sin(version), -np.cos(version)])
        perp = np.array([-axis[1], axis[0]])
        return np.array(line[-1]) + (-4, 4) + p[:, :1] * axis + p[:, 1:] * perp

    cv.fill(place(pts), "myometrium")
    cervix = pts[pts[:, 0] <= isth + 2]
    cv.fill(place(np.column_stack([cervix[:, 0], cervix[:, 1] * 0.95])), "cervix")
    if kind != "atrophic":
        cv.fill(place(jz), "junctional")
    cv.fill(place(endo), "endometrium")
    cv.fill(place(np.array([(2, -1.5), (isth, -1.2), (isth, 1.2), (2, 1.5)])), "mucus")
    if kind == "fibroid":
        for _ in range(int(rng.integers(1, 4))):
            s, t = rng.uniform(isth + 10, length * 0.9), rng.uniform(-0.6, 0.6) * 25 * sc
            r = rng.uniform(10, 22)
            cv.fill(place(ellipse((s, t), r, r * rng.uniform(0.8, 1.0))), "fibroid")


def draw_rectum(cv: Canvas, sub: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Rectum (blended centre line and widths) with content, anal canal. Returns the line."""
    w = rng.dirichlet(np.full(len(RECTUM_LINES), 0.7))
    line = np.tensordot(w, RECTUM_LINES, 1) + rng.normal(0, 1.5, (6, 2))
    half = np.tensordot(w, RECTUM_HALF, 1) * rng.uniform(0.85, 1.2, 6)
    content = sub["rectal_content"]
    if content == "collapsed":
        half = np.clip(half * 0.55, 6, 9)
    wall = rng.uniform(2.5, 4)
    cv.fill(tube(line, half), "rectal_wall")
    inner = tube(line, np.clip(half - wall, 1.0, None))
    lumen = {"stool": "rectal_stool", "gas": "rectal_gas", "gel": "rectal_gel"}
    cv.fill(inner, lumen.get(content, "rectal_fluid"))
    if content == "stool":  # mottled stool: gas bubbles on the anterior (upper) side
        for _ in range(int(rng.integers(3, 9))):
            i = int(rng.integers(1, 5))
            c = line[i] + (-0.5 * (half[i] - wall), rng.normal(0, 5))
            cv.fill(ellipse(tuple(c), rng.uniform(1.5, 4), rng.uniform(1.5, 4)), "rectal_gas")
    anal = np.array([(60, 110), (62, 92), tuple(line[0] + (0, 2))])
    cv.fill(tube(anal, np.array([5.5, 6, 7])), "anal_canal")
    cv.fill(tube(anal, np.full(3, 0.8)), "rectal_gel" if content == "gel" else "rectal_fluid")
    return line


def draw_bladder(cv: Canvas, sub: dict[str, Any], rng: np.random.Generator) -> float:
    """Urethra, bladder wall and urine, debris or a catheter balloon. Returns dome v."""
    neck = np.array([27.0, 40.0]) + rng.normal(0, 2, 2)
    cv.fill(tube(np.array([neck + (0, 3), (24, 64), (18, 92)]), np.array([4, 4, 3.5])),
            "muscle")
    fill = sub["bladder_fill"]
    shape = np.tensordot(np.array(sub["bladder_weights"]), BLADDER, 1)
    sx, sy = 0.55 + 0.75 * fill, 0.25 + 1.45 * fill
    pts = shape_modes(neck + shape * (sx, sy), rng, 0.04)
    outer = smooth_closed(pts)
    cv.fill(outer, "bladder_wall")
    inner = shrink(outer, sub["bladder_wall_mm"])
    cv.fill(inner, "urine")
    extra = sub["bladder_extra"]
    if extra == "debris":  # layering debris on the dependent (posterior) side
        back = inner[inner[:, 0] > np.percentile(inner[:, 0], 80)]
        cv.fill(np.vstack([back, back[:1] - (4, 0)]), "debris")
    elif extra == "catheter":
        cv.fill(tube(np.array([(18, 94), (24, 64), neck + (2, -4)]), np.full(3, 1.5)), "catheter")
        cv.fill(ellipse(tuple(neck + (4, -10)), 8, 7), "catheter")
        cv.fill(ellipse(tuple(neck + (4, -10)), 6.5, 5.5), "balloon")
    return float(pts[:, 1].min())


def build_anatomy(sub: dict[str, Any], frame: Frame, shape_ss: tuple[int, int],
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft-tissue and static-bone tissue maps (supersampled grid), rectal centre line."""
    cv = Canvas(frame, shape_ss)
    draw_body(cv, sub)
    dome_v = 40 - (0.25 + 1.45 * sub["bladder_fill"]) * 50
    draw_bowel(cv, sub, rng, dome_v - 20)
    draw_pelvic_floor(cv)
    draw_vagina_uterus(cv, sub, rng, sub["bladder_fill"])
    rectum = draw_rectum(cv, sub, rng)
    draw_bladder(cv, sub, rng)
    soft, bone = cv.arrays()
    return keep_largest(soft), bone, rectum


def keep_largest(soft: np.ndarray) -> np.ndarray:
    """Turn slivers an organ left where later organs overlap it into fat."""
    soft = soft.copy()
    for k in (1, 2, 3):
        pieces, n = ndimage.label(LABEL_LUT[soft] == k)
        if n > 1:
            sizes = np.bincount(pieces.ravel())[1:]
            soft[(pieces > 0) & (pieces != np.argmax(sizes) + 1)] = TID["fat"]
    return soft


# ---------------------------------------------------------------- motion
def motion_profile(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Strain level per frame: 0 rest, 1 peak strain, negative squeeze (elevation)."""
    r0 = rng.uniform(0.05, 0.15)
    if kind == "valsalva":
        keys = [(0, 0), (r0, 0), (0.45, 1), (0.7, 1), (1, rng.uniform(0.05, 0.3))]
    elif kind == "defecation":
        keys = [(0, 0), (r0, 0), (0.5, 0.85), (1, 1)]
    else:  # squeeze, relax, then strain
        q = -rng.uniform(0.25, 0.5)
        keys = [(0, 0), (r0, 0), (0.28, q), (0.42, q), (0.55, 0), (0.8, 1), (1, 0.9)]
    kt, kv = np.array(keys).T
    p = np.interp(np.linspace(0, 1, n), kt, kv)
    return ndimage.gaussian_filter1d(p, 0.8, mode="nearest") * (np.arange(n) > 0)


def displacement_fields(frame: Frame, shape_ss: tuple[int, int], mot: dict[str, Any],
                        rectum: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strain, rectocele and breathing displacement (2, Hs, Ws) in supersampled pixels."""
    yy, xx = np.mgrid[0:shape_ss[0], 0:shape_ss[1]].astype(np.float32)
    u, v = frame.to_local(xx, yy)

    def sig(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    w = sig((v + 20) / 25) * np.exp(-(np.clip(v - 95, 0, None) / 30) ** 2)
    w *= sig((u + 5) / 8) * sig((112 - u) / 10)
    amp = {k: mot[f"amp_{k}"] for k in ("ant", "mid", "post")}
    ga, gm, gp = (np.exp(-((u - c) / 22) ** 2) for c in (25, 55, 85))
    norm = ga + gm + gp + 1e-6
    a = (amp["ant"] * ga + amp["mid"] * gm + amp["post"] * gp) / norm
    du = (0.25 * ga + 0.05 * gm + 0.3 * gp) / norm
    d = mot["descent_mm"]
    strain = np.stack([d * w * a * du, d * w * a])
    arj = np.array(rectum[0])
    g = np.exp(-((u - arj[0]) ** 2 + (v - arj[1]) ** 2) / (2 * 18 ** 2))
    strain += np.stack([0.25 * d * g * mot["arj_opening"], 0 * g])
    c = rectum[1] + (-10, 5)
    gr = np.exp(-((u - c[0]) ** 2 + (v - c[1]) ** 2) / (2 * 16 ** 2))
    cele = np.stack([-mot["rectocele_mm"] * gr, 0.3 * mot["rectocele_mm"] * gr])
    breath = np.stack([-0.3 * sig(-(u - 10) / 10), np.ones_like(u)]) * sig(-(v + 40) / 30)
    return tuple(_to_pixels(frame, f) for f in (strain, cele, breath))


def _to_pixels(frame: Frame, d_uv: np.ndarray) -> np.ndarray:
    """Local (du, dv) mm → (drow, dcol) supersampled pixels."""
    r = frame.rot()
    dx = r[0, 0] * d_uv[0] + r[0, 1] * d_uv[1]
    dy = r[1, 0] * d_uv[0] + r[1, 1] * d_uv[1]
    return np.stack([dy / frame.spacing[0] * SS, dx / frame.spacing[1] * SS]).astype(np.float32)


def min_jacobian(disp: np.ndarray) -> float:
    """Smallest determinant of the backward map x - d(x)."""
    drr, drc = np.gradient(disp[0][::4, ::4], 4)
    dcr, dcc = np.gradient(disp[1][::4, ::4], 4)
    return float(((1 - drr) * (1 - dcc) - drc * dcr).min())


# ---------------------------------------------------------------- imaging
def tissue_signals(base: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
    """Water and fat signal per tissue id for a T1 GRE or T2 TSE base contrast."""
    if base == "t1_gre":
        tr, alpha = 6.0, np.deg2rad(rng.uniform(10, 25))

        def weight(t1: float, t2: float) -> float:
            e1 = np.exp(-tr / t1)
            return np.sin(alpha) * (1 - e1) / (1 - np.cos(alpha) * e1) / np.sin(alpha)
        seq = {"tr_ms": tr, "flip_deg": float(np.rad2deg(alpha))}
    else:
        tr, te = rng.uniform(2500, 5000), rng.uniform(75, 110)

        def weight(t1: float, t2: float) -> float:
            return (1 - np.exp(-tr / t1)) * np.exp(-te / t2)
        seq = {"tr_ms": float(tr), "te_ms": float(te)}
    water = np.zeros(len(TISSUES), np.float32)
    fat = np.zeros(len(TISSUES), np.float32)
    for i, (name, (_, pw, pf, t1, t2)) in enumerate(TISSUES.items()):
        j = rng.uniform(0.8, 1.2) if name != "air" else 1.0
        if name == "vessel":  # inflow or flow void
            pw *= rng.uniform(0.1, 1.3)
        water[i] = pw * weight(t1, t2) * j
        fat[i] = pf * weight(FAT_T1, FAT_T2) * rng.uniform(0.9, 1.1)
    scale = 1.0 / max(water.max(), fat.max())
    return water * scale, fat * scale, seq


def dixon_combine(s_ip: np.ndarray, s_op: np.ndarray, ref_phase: np.ndarray) -> dict:
    """2-point Dixon from complex in-phase and opposed-phase echoes.

    The opposed-phase echo is (W - F) exp(i phi_B); phi_B is found from the doubled
    angle (ambiguous by pi) and the branch closest to the smooth reference is taken,
    so where the true field phase is more than pi/2 off the reference, water and fat
    swap.  Returns the magnitudes of "water", "fat", "in_phase", "opposed_phase".
    """
    half = np.angle(s_op ** 2) / 2
    est = half + np.pi * np.round((ref_phase - half) / np.pi)
    ip = np.real(s_ip * np.exp(-1j * np.angle(s_ip + 1e-12)))
    op = np.real(s_op * np.exp(-1j * est))
    return {"water": np.abs(ip + op) / 2, "fat": np.abs(ip - op) / 2,
            "in_phase": np.abs(s_ip), "opposed_phase": np.abs(s_op)}


def echoes(water: np.ndarray, fat: np.ndarray, phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complex in-phase and opposed-phase echo images."""
    return (water + fat).astype(np.complex64), ((water - fat) * np.exp(1j * phase)).astype(
        np.complex64)


def truncate_kspace(img: np.ndarray, acq: tuple[int, int]) -> np.ndarray:
    """Keep the central ``acq`` (rows, cols) of k-space, zero-fill the rest (Gibbs)."""
    k = np.fft.fftshift(np.fft.fft2(img))
    h, w = img.shape
    mask = np.zeros((h, w), bool)
    r0, c0 = (h - acq[0]) // 2, (w - acq[1]) // 2
    mask[r0:r0 + acq[0], c0:c0 + acq[1]] = True
    return np.fft.ifft2(np.fft.ifftshift(k * mask))


def smooth_field(shape: tuple[int, int], rng: np.random.Generator, sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.normal(0, 1, shape), sigma, mode="wrap")
    return f / (f.std() + 1e-9)


def block_mean(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[0] // SS, a.shape[1] // SS
    return a.reshape(h, SS, w, SS).mean(axis=(1, 3))


# ---------------------------------------------------------------- the case
def draw_imaging(rng: np.random.Generator) -> dict[str, Any]:
    h, w = (int(rng.integers(112, 145)) * 2 for _ in range(2))
    sp_r = float(round(rng.uniform(1.1, 1.5), 3))
    return {
        "shape_hw": [h, w],
        "spacing_mm": [sp_r, float(round(np.clip(sp_r * rng.uniform(0.93, 1.07), 1.1, 1.5), 3))],
        "n_frames": int(rng.integers(12, 41)),
        "frame_interval_s": float(round(rng.uniform(0.5, 2.5), 3)),
        "contrast": str(rng.choice(CONTRASTS, p=[0.3, 0.15, 0.25, 0.3])),
        "base": str(rng.choice(["t1_gre", "t2_tse"])),
        "snr": float(rng.uniform(6, 40)),
        "acq_fraction": [float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.6, 1.0))],
        "coil": str(rng.choice(["anterior", "posterior", "both"])),
        "coil_falloff_mm": float(rng.uniform(60, 160)),
        "field_swap": bool(rng.random() < 0.3),
    }


def draw_motion(rng: np.random.Generator) -> dict[str, Any]:
    kind = str(rng.choice(["valsalva", "defecation", "squeeze_valsalva"]))
    prolapse = str(rng.choice(["none", "cystocele", "uterine", "rectocele"]))
    amp = {k: float(rng.uniform(0.6, 1.0)) for k in ("ant", "mid", "post")}
    if prolapse == "cystocele":
        amp["ant"] = float(rng.uniform(1.1, 1.4))
    elif prolapse == "uterine":
        amp["mid"] = float(rng.uniform(1.1, 1.4))
    return {
        "sequence_kind": kind, "prolapse": prolapse, "descent_mm": float(rng.uniform(10, 40)),
        **{f"amp_{k}": a for k, a in amp.items()},
        "arj_opening": float(rng.uniform(0.3, 1.0) if kind != "squeeze_valsalva" else 0.5),
        "rectocele_mm": float(rng.uniform(6, 15) if prolapse == "rectocele" else 0.0),
        "breath_mm": float(rng.uniform(1, 5)), "breath_period_s": float(rng.uniform(3, 6)),
    }


def render(seed: int, attempt: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]] | None:
    """One draw: frames (T, H, W) float32, labels (T, H, W) uint8, params; None when
    the labels break the rules of :func:`valid` (checked before the imaging)."""
    rng = np.random.default_rng([seed, attempt])
    img = draw_imaging(rng)
    sub = draw_subject(rng)
    mot = draw_motion(rng)
    h, w = img["shape_hw"]
    sp = tuple(img["spacing_mm"])
    shape_ss = (h * SS, w * SS)
    su = sub["scale"] * sub["pelvis_ap"]
    centre_u = float(np.clip(rng.uniform(40, 70), 55 - 0.5 * w * sp[1] / su + 20, 200))
    frame = Frame(origin=np.zeros(2), tilt=np.deg2rad(sub["tilt_deg"]), su=su,
                  sv=sub["scale"], spacing=sp)
    centre_mm = frame.rot() @ (centre_u * su, rng.uniform(5, 30) * sub["scale"])
    frame.origin = np.array([w * sp[1] / 2, h * sp[0] / 2]) - centre_mm
    soft, bone, rectum = build_anatomy(sub, frame, shape_ss, rng)
    f_strain, f_cele, f_breath = displacement_fields(frame, shape_ss, mot, rectum)
    for _ in range(4):  # keep the peak deformation invertible
        if min_jacobian(f_strain + f_cele + mot["breath_mm"] * f_breath) > 0.3:
            break
        f_strain *= 0.8
        f_cele *= 0.8
        mot["descent_mm"] *= 0.8
        mot["rectocele_mm"] *= 0.8
    n = img["n_frames"]
    prof = motion_profile(mot["sequence_kind"], n, rng)
    t_s = np.arange(n) * img["frame_interval_s"]
    breath = mot["breath_mm"] * np.sin(2 * np.pi * t_s / mot["breath_period_s"]
                                       + rng.uniform(0, 2 * np.pi))
    water_lut, fat_lut, seq = tissue_signals(img["base"], rng)
    texture = 1 + 0.07 * smooth_field(shape_ss, rng, 3.0)

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rows_mm, cols_mm = yy * sp[0], xx * sp[1]
    front = np.where(frame.to_local(xx * SS, yy * SS)[0] < 0, 1.0, 0.0)
    coil = _coil(img, cols_mm, w * sp[1])
    phase, ref = _field_phase(img, rows_mm, cols_mm, front, rng)
    acq = (max(8, int(round(h * img["acq_fraction"][0]))),
           max(8, int(round(w * img["acq_fraction"][1]))))
    grid = np.mgrid[0:shape_ss[0], 0:shape_ss[1]].astype(np.float32)
    tissues, textures = [], []
    labels = np.empty((n, h, w), np.uint8)
    for t in range(n):
        coords = grid - prof[t] * f_strain - max(prof[t], 0) * f_cele - breath[t] * f_breath
        tis = ndimage.map_coordinates(soft, coords, order=0, mode="nearest")
        tissues.append(np.where(bone > 0, bone, tis))
        textures.append(ndimage.map_coordinates(texture, coords, order=0, mode="nearest"))
        lab_ss = LABEL_LUT[tissues[-1]]
        frac = np.stack([block_mean((lab_ss == k).astype(np.float32)) for k in range(4)])
        labels[t] = np.argmax(frac, axis=0).astype(np.uint8)
    if not valid(labels):
        return None
    frames = np.empty((n, h, w), np.float32)
    k_fr = np.sqrt(acq[0] * acq[1] / (h * w))
    sigma = None
    for t, (tis, tex) in enumerate(zip(tissues, textures, strict=True)):
        wat = block_mean(water_lut[tis] * tex) * coil
        fat = block_mean(fat_lut[tis] * tex) * coil
        s_ip, s_op = echoes(wat, fat, phase)
        if sigma is None:
            sigma = float(np.percentile(wat + fat, 75)) / img["snr"] / k_fr / np.sqrt(2)
        noisy = [truncate_kspace(s + sigma * (rng.normal(0, 1, s.shape)
                                              + 1j * rng.normal(0, 1, s.shape)), acq)
                 for s in (s_ip, s_op)]
        frames[t] = dixon_combine(noisy[0], noisy[1], ref)[img["contrast"]]
    frames *= 1000.0 / max(float(np.percentile(frames, 99.5)), 1e-6)
    params = {
        "generator": "dixon", "seed": seed, "attempt": attempt,
        "shape": [n, h, w], "spacing_mm": list(sp),
        "frame_interval_s": img["frame_interval_s"],
        "sequence": f"{img['contrast']}_{img['base']}",
        "snr": img["snr"], "labels": LABELS,
        "imaging": {**img, **seq, "acq_matrix": list(acq)},
        "subject": sub, "motion": {**mot, "profile": [round(float(p), 4) for p in prof]},
        "rest_frame": 0, "peak_frame": int(np.argmax(prof)),
    }
    return frames, labels, params


def _coil(img: dict[str, Any], cols_mm: np.ndarray, width_mm: float) -> np.ndarray:
    """Surface-coil sensitivity, strong near the anterior wall and/or the back."""
    lam = img["coil_falloff_mm"]
    ant = np.exp(-cols_mm / lam)
    post = np.exp(-(width_mm - cols_mm) / lam)
    s = {"anterior": ant, "posterior": post, "both": ant + post}[img["coil"]]
    return (0.35 + s / s.max()).astype(np.float32)


def _field_phase(img: dict[str, Any], rows_mm: np.ndarray, cols_mm: np.ndarray,
                 front: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """True B0 phase between the echoes, and the smooth reference the recon assumes."""
    r = rows_mm / rows_mm.max() - 0.5
    c = cols_mm / cols_mm.max() - 0.5
    ref = rng.normal(0, 0.6) * r + rng.normal(0, 0.6) * c + rng.normal(0, 0.8) * r * c
    phase = ref.copy()
    if img["field_swap"]:  # a local field bump the reference misses (e.g. near air/skin)
        pick = np.argwhere(front > 0) if front.any() else np.argwhere(np.ones_like(front))
        rc = pick[rng.integers(len(pick))]
        d2 = ((rows_mm - rows_mm[rc[0], 0]) ** 2 + (cols_mm - cols_mm[0, rc[1]]) ** 2)
        phase = phase + rng.uniform(0.7, 1.2) * np.pi * np.exp(-d2 / (2 * rng.uniform(20, 45) ** 2))
    return phase.astype(np.float32), ref.astype(np.float32)


def valid(labels: np.ndarray) -> bool:
    """Each organ one connected piece in every frame, bladder anterior to rectum."""
    for lab in labels:
        for k in (1, 2, 3):
            if ndimage.label(lab == k)[1] != 1:
                return False
        mean_col = [np.mean(np.nonzero(lab == k)[1]) for k in (1, 3)]
        if mean_col[0] >= mean_col[1]:
            return False
    return True


def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict[str, Any]]:
    """Frames (T, H, W) float32, labels uint8, spacing (row, col) mm, params."""
    for attempt in range(50):
        case = render(seed, attempt)
        if case is not None:
            frames, labels, params = case
            sp = params["spacing_mm"]
            return frames, labels, (float(sp[0]), float(sp[1])), params
    raise RuntimeError(f"seed {seed}: no valid draw in 50 attempts")


# ---------------------------------------------------------------- output
def write_nifti(path: Path, frames: np.ndarray, spacing: tuple[float, float],
                interval_s: float, rng: np.random.Generator) -> dict[str, Any]:
    """NIfTI-2, int16 with slope/intercept, oblique sagittal affine, non-canonical order."""
    ang = np.deg2rad(rng.uniform(2, 8, 3) * rng.choice([-1, 1], 3))
    rot = np.eye(3)
    for ax, a in enumerate(ang):
        c, s = np.cos(a), np.sin(a)
        i, j = [k for k in range(3) if k != ax]
        m = np.eye(3)
        m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
        rot = rot @ m
    iop = np.concatenate([rot @ (0, 1, 0), rot @ (0, 0, -1)])
    ipp = rot @ (rng.uniform(-15, 15), -120.0, 150.0)
    affine = dicom_affine(iop, ipp, spacing)
    ops = [["flip rows"], ["transpose"], ["flip columns", "transpose"],
           ["flip rows", "flip columns"]][int(rng.integers(4))]
    stored, stored_aff = undo_orientation(frames, affine, ops)
    data = np.transpose(stored, (2, 1, 0))
    if rng.random() < 0.5:
        data = data[:, :, None, :]
    lo, hi = float(frames.min()), float(frames.max())
    slope = (hi - lo) / 60000.0
    inter = lo + 30000.0 * slope
    ints = np.clip(np.round((data - inter) / slope), -32767, 32767).astype(np.int16)
    img = nib.Nifti2Image(ints, stored_aff)
    hdr = img.header
    unit = str(rng.choice(["sec", "msec"]))
    hdr.set_xyzt_units("mm", unit)
    hdr["pixdim"][3] = 1.0
    hdr["pixdim"][4] = interval_s * (1000.0 if unit == "msec" else 1.0)  # the reader's time
    img.set_sform(stored_aff, code=1)
    img.set_qform(stored_aff, code=1)
    hdr["descrip"] = b"PelviTrack dixon synthetic"
    nib.save(img, path)
    saved = nib.load(path).header.copy()  # nibabel resets the scaling of int16 data: set
    saved.set_slope_inter(slope, inter)  # it in the written header
    with open(path, "r+b") as f:
        saved.write_to(f)
    return {"stored_order_ops": ops, "scl_slope": slope, "scl_inter": inter,
            "time_unit": unit, "stored_shape": list(ints.shape),
            "oblique_deg": [float(np.rad2deg(a)) for a in ang]}


def run_case(job: tuple[int, str]) -> str:
    """Generate seed ``job[0]`` into ``job[1]/dixon_{seed:03d}``; one-line summary."""
    seed, out = job
    t0 = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    case = Path(out) / f"dixon_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    params["nifti"] = write_nifti(case / "series.nii", frames, spacing,
                                  params["frame_interval_s"], np.random.default_rng([seed, 99]))
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    n, h, w = frames.shape
    return (f"dixon_{seed:03d}: {n}x{h}x{w} {params['sequence']} snr {params['snr']:.0f} "
            f"{params['motion']['sequence_kind']} attempt {params['attempt']} "
            f"{time.perf_counter() - t0:.1f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", required=True, type=parse_seeds)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(s, str(args.out)) for s in args.seeds]
    for line in map_jobs(run_case, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
