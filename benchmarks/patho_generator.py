"""PATHO: labelled synthetic cine mid-sagittal female pelvic MRI, pathology- and
variation-heavy, meant as a held-out test set for segmentation models trained on
other generators.

Anatomy (skeleton / medial-axis model).  Every tubular structure (urethra, vagina,
cervix + uterine body, anal canal + rectum + sigmoid, sacrum, coccyx, levator plate,
vessels) is a smoothed polyline *skeleton* with a radius profile along it; a pixel is
inside when its distance to the skeleton is below the radius interpolated at the
nearest skeleton point.  The bladder is a bent ellipse (fill state sets size, wall
thickness and bending) with a funnel to the bladder neck; the pubic symphysis,
vertebral bodies, bowel loops and fibroids are ellipses / rounded boxes.  All
shapes are signed-distance fields in an anatomical frame (x posterior, y inferior,
mm, origin at the inferior edge of the symphysis) rotated by a random pelvic tilt.
Organs do not overlap: rectum wins over uterus/vagina, which wins over the bladder
(the loser is indented, e.g. the uterus denting the bladder dome).  The uterus
version/flexion is refitted until the body clears bladder, rectum and sacrum.  Per
subject draws: bladder fill (nearly empty crescent .. very full), uterus anteverted /
retroverted / axial, atrophic (postmenopausal) or enlarged with 1-3 fibroids,
hysterectomy (label 2 = vagina up to the vaginal vault), vaginal gel, rectal contents
(gel, stool, gas, collapsed), body habitus (fat thickness), pelvic tilt, and the
pathologies cystocele, uterine / vault prolapse, enterocele, rectocele and rectal
intussusception.  Context: body outline with skin and subcutaneous fat (thickness by
distance transform), rectus muscle, pubic symphysis, sacrum with segments, coccyx,
lumbar vertebrae with discs, spinal canal and paraspinal muscle, levator plate,
puborectalis, anal sphincter, perineal body, urethra (label 0), small-bowel loops
and sigmoid, great vessels and pelvic venous plexus dots, gluteal fat.

Motion.  A strain curve s(t) (rest plateau, smooth rise to a Valsalva /
defecation peak with tremor, partial recovery) scales a displacement field: global
pelvic-floor descent 6-30 mm (postero-inferior, vanishing towards the sacrum and the
table, weaker in the upper abdomen), anterior belly bulge, small breathing, plus one
localised field per pathology (cystocele: bladder base pushed below the
pubococcygeal line; prolapse: cervix / vault pushed down the vaginal axis;
enterocele: downward push with lateral divergence that opens the rectovaginal space
and drags bowel loops into it; rectocele: anterior bulge of the distal rectal wall;
intussusception: downward telescoping with convergence that pinches the rectal
lumen).  Each frame is produced by one backward map applied to the reference signal
image (linear) and the reference label map (nearest), so truth moves exactly with
the image.  Bones (pubis, sacrum, coccyx, spine) are rigid and composited after
the warp.  Labels keep only the largest 4-connected piece per organ and frame.

Imaging.  Per case either balanced SSFP (signal from the steady-state formula with
T1/T2/PD per tissue: bright fluid and fat, bright flowing blood, off-resonance
banding stripes from a smooth field map, dark fat/water boundary lines) or
single-shot fast spin echo (exp(-TE/T2) contrast with J-coupled bright fat, flow
voids, exponential T2 blurring along the phase-encode axis).  Phase-encode axis
(rows or columns) is drawn; parallel imaging R=1-3 gives a residual ghost at FOV/R
and a g-factor noise map; a too-small phase FOV can fold tissue outside the FOV back
in.  Anterior + posterior surface-coil sensitivity with partial intensity
normalisation; acquisition at 45-100 % of the display matrix (k-space cropping, with
or without apodisation, so Gibbs ringing appears) and zero-filled to the display
matrix; complex Gaussian noise at SNR 6-40 (magnitude -> Rician, g-factor scaled);
optional vendor-like unsharp masking; random gain.  Tissue parameters are jittered
per case.

Output.  Matrix 224-288 (rows/columns drawn separately), spacing 1.1-1.5 mm (per
axis), 12-40 frames every 0.5-2.5 s.  For each seed ``OUT/patho_{seed:03d}/`` holds
``series/`` (one single-frame MR DICOM file per frame, uint16 with RescaleSlope /
RescaleIntercept, written by ``core.io.dicom_write``), ``truth.npy`` (uint8 (T, H, W):
0 background, 1 bladder, 2 uterus_vagina, 3 rectum) and ``params.json``.

Usage::

    python benchmarks/patho_generator.py --seeds 0-11 --out /tmp/patho [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
PREFIX = "patho"

# --------------------------------------------------------------------------- tissues
#: (PD, T1 ms, T2 ms) at 1.5 T, roughly; "fat" fraction drives bSSFP boundary lines.
TISSUES: dict[str, tuple[float, float, float]] = {
    "air": (0.0, 1000.0, 1.0),
    "skin": (0.6, 700.0, 30.0),
    "fat": (0.95, 260.0, 85.0),
    "muscle": (0.7, 900.0, 35.0),
    "smooth": (0.75, 1000.0, 55.0),
    "connective": (0.7, 900.0, 45.0),
    "urine": (1.0, 3000.0, 1500.0),
    "mucosa": (0.85, 1300.0, 160.0),
    "myometrium": (0.8, 1300.0, 110.0),
    "junctional": (0.75, 1100.0, 55.0),
    "endometrium": (0.9, 1400.0, 170.0),
    "cervix": (0.72, 1100.0, 50.0),
    "fibroid": (0.7, 1000.0, 40.0),
    "gel": (1.0, 2800.0, 1100.0),
    "stool": (0.7, 700.0, 70.0),
    "gas": (0.02, 1000.0, 5.0),
    "bowel_fluid": (0.95, 2500.0, 700.0),
    "chyme": (0.85, 1200.0, 150.0),
    "marrow": (0.85, 350.0, 90.0),
    "cortex": (0.05, 1000.0, 5.0),
    "csf": (1.0, 4000.0, 2000.0),
    "disc": (0.85, 1200.0, 120.0),
    "annulus": (0.6, 900.0, 30.0),
    "cartilage": (0.5, 900.0, 22.0),
    "blood": (0.9, 1400.0, 250.0),
    "perineal": (0.7, 900.0, 38.0),
    "fluid": (1.0, 3000.0, 1300.0),
}
FATTY = {"fat": 1.0, "marrow": 0.8}
#: relative texture amplitude per tissue (multiplies smooth random fields)
TEXTURE = {"fat": 0.06, "muscle": 0.08, "stool": 0.35, "chyme": 0.3, "myometrium": 0.07,
           "marrow": 0.12, "bowel_fluid": 0.05, "smooth": 0.06, "connective": 0.12,
           "fibroid": 0.12, "gel": 0.03}


# --------------------------------------------------------------------------- geometry
def _chaikin(pts: np.ndarray, it: int = 3) -> np.ndarray:
    """Corner-cutting smoothing of an open polyline (end points kept)."""
    p = np.asarray(pts, float)
    for _ in range(it):
        q = 0.75 * p[:-1] + 0.25 * p[1:]
        r = 0.25 * p[:-1] + 0.75 * p[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        p = np.vstack([p[:1], mid, p[-1:]])
    return p


def _interp_radius(ctrl_s: np.ndarray, ctrl_r: np.ndarray, pts: np.ndarray) -> np.ndarray:
    seg = np.hypot(*np.diff(pts, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    return np.interp(s / max(s[-1], 1e-9), ctrl_s, ctrl_r)


class Tube:
    """Skeleton polyline with a radius at each vertex; signed distance = d - r(s)."""

    def __init__(self, ctrl: list | np.ndarray, radii: list | np.ndarray, smooth: int = 3):
        ctrl = np.asarray(ctrl, float)
        pts = _chaikin(ctrl, smooth) if len(ctrl) > 2 else ctrl
        cs = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(ctrl, axis=0).T))])
        self.pts = pts
        self.r = _interp_radius(cs / max(cs[-1], 1e-9), np.asarray(radii, float), pts)
        seg = np.hypot(*np.diff(pts, axis=0).T)
        self.cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.length = float(self.cum[-1])

    def fields(self, X: np.ndarray, Y: np.ndarray):
        """(signed distance, distance to axis, arc fraction s in [0, 1], side) on points."""
        best = np.full(X.shape, np.inf)
        s = np.zeros(X.shape)
        rad = np.zeros(X.shape)
        side = np.zeros(X.shape)
        p = self.pts
        for i in range(len(p) - 1):
            ax, ay = p[i]
            dx, dy = p[i + 1] - p[i]
            l2 = dx * dx + dy * dy
            if l2 < 1e-12:
                continue
            t = np.clip(((X - ax) * dx + (Y - ay) * dy) / l2, 0.0, 1.0)
            px = X - ax - t * dx
            py = Y - ay - t * dy
            d = np.hypot(px, py)
            m = d < best
            best = np.where(m, d, best)
            s = np.where(m, (self.cum[i] + t * np.sqrt(l2)) / self.length, s)
            rad = np.where(m, self.r[i] + t * (self.r[i + 1] - self.r[i]), rad)
            side = np.where(m, (dx * py - dy * px) / np.sqrt(l2), side)
        return best - rad, best, s, side

    def sd(self, X, Y):
        return self.fields(X, Y)[0]

    def bbox(self, margin: float = 0.0):
        rm = float(self.r.max()) + margin
        return (self.pts[:, 0].min() - rm, self.pts[:, 1].min() - rm,
                self.pts[:, 0].max() + rm, self.pts[:, 1].max() + rm)

    def point(self, frac: float) -> np.ndarray:
        x = np.interp(frac * self.length, self.cum, self.pts[:, 0])
        y = np.interp(frac * self.length, self.cum, self.pts[:, 1])
        return np.array([x, y])

    def tangent(self, frac: float) -> np.ndarray:
        a, b = self.point(max(frac - 0.02, 0)), self.point(min(frac + 0.02, 1))
        v = b - a
        return v / max(np.hypot(*v), 1e-9)


class Ellipse:
    """Rotated ellipse (optionally bent) with an approximate signed distance."""

    def __init__(self, c, a, b, ang_deg=0.0, bend=0.0):
        self.c = np.asarray(c, float)
        self.a, self.b = float(a), float(b)
        self.ang = np.deg2rad(ang_deg)
        self.bend = float(bend)

    def local(self, X, Y):
        ca, sa = np.cos(self.ang), np.sin(self.ang)
        dx, dy = X - self.c[0], Y - self.c[1]
        u = ca * dx + sa * dy
        v = -sa * dx + ca * dy
        return u, v + self.bend * u * u / self.a

    def sd(self, X, Y):
        u, v = self.local(X, Y)
        F = np.sqrt((u / self.a) ** 2 + (v / self.b) ** 2)
        g = np.sqrt((u / self.a**2) ** 2 + (v / self.b**2) ** 2)
        return np.where(g > 1e-9, (F - 1.0) * F / np.maximum(g, 1e-9), -min(self.a, self.b))

    def bbox(self, margin=0.0):
        r = max(self.a, self.b) * (1 + abs(self.bend)) + margin
        return (self.c[0] - r, self.c[1] - r, self.c[0] + r, self.c[1] + r)

    def boundary(self, n=72):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        u, v = self.a * np.cos(t), self.b * np.sin(t)
        v = v - self.bend * u * u / self.a
        ca, sa = np.cos(self.ang), np.sin(self.ang)
        return np.stack([self.c[0] + ca * u - sa * v, self.c[1] + sa * u + ca * v], 1)


class Box:
    """Rotated rounded rectangle (vertebral body)."""

    def __init__(self, c, half_w, half_h, ang_deg, round_mm=3.0):
        self.c = np.asarray(c, float)
        self.hw, self.hh = half_w, half_h
        self.ang = np.deg2rad(ang_deg)
        self.rr = round_mm

    def sd(self, X, Y):
        ca, sa = np.cos(self.ang), np.sin(self.ang)
        dx, dy = X - self.c[0], Y - self.c[1]
        u = np.abs(ca * dx + sa * dy) - (self.hw - self.rr)
        v = np.abs(-sa * dx + ca * dy) - (self.hh - self.rr)
        out = np.hypot(np.maximum(u, 0), np.maximum(v, 0))
        return out + np.minimum(np.maximum(u, v), 0) - self.rr

    def bbox(self, margin=0.0):
        r = np.hypot(self.hw, self.hh) + margin
        return (self.c[0] - r, self.c[1] - r, self.c[0] + r, self.c[1] + r)


class Union:
    def __init__(self, *shapes):
        self.shapes = [s for s in shapes if s is not None]

    def sd(self, X, Y):
        out = np.full(np.shape(X), np.inf)
        for s in self.shapes:
            out = np.minimum(out, s.sd(X, Y))
        return out

    def bbox(self, margin=0.0):
        bs = np.array([s.bbox(margin) for s in self.shapes])
        return (bs[:, 0].min(), bs[:, 1].min(), bs[:, 2].max(), bs[:, 3].max())


def _rot(v, deg):
    a = np.deg2rad(deg)
    return np.array([np.cos(a) * v[0] - np.sin(a) * v[1], np.sin(a) * v[0] + np.cos(a) * v[1]])


def _dir(deg):
    a = np.deg2rad(deg)
    return np.array([np.cos(a), np.sin(a)])


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


# --------------------------------------------------------------------------- subject draw
def draw_subject(seed: int) -> dict:
    """Per-subject anatomy and pathology draws (cheap: random numbers only)."""
    rng = np.random.default_rng([int(seed), 11])
    u = rng.uniform
    hyst = bool(rng.random() < 0.22)
    p: dict = {
        "scale": float(u(0.9, 1.1)),
        "tilt_deg": float(u(-9, 9)),
        "fat_ant_mm": float(u(8, 45)),
        "fat_post_mm": float(u(10, 45)),
        "rectus_mm": float(u(7, 12)),
        "hysterectomy": hyst,
        "bladder_fill": float(rng.beta(1.1, 1.1)),
        "vaginal_gel": bool(rng.random() < 0.2),
        "rectal_content": str(rng.choice(["gel", "stool", "gas", "collapsed"],
                                         p=[0.35, 0.25, 0.15, 0.25])),
        "presacral_mm": float(u(5, 14)),
        "descent_mm": float(u(6, 30)),
        "n_bowel_loops": int(rng.integers(8, 22)),
    }
    if hyst:
        p.update(uterus="absent", version="none", menopausal=bool(rng.random() < 0.6),
                 fibroids=0)
    else:
        p["menopausal"] = bool(rng.random() < 0.22)
        p["version"] = str(rng.choice(["anteverted", "retroverted", "axial"],
                                      p=[0.62, 0.24, 0.14]))
        p["fibroids"] = 0 if (p["menopausal"] or rng.random() < 0.72) else int(
            rng.integers(1, 4))
        p["uterus"] = ("enlarged_fibroid" if p["fibroids"] else
                       "atrophic" if p["menopausal"] else "normal")
    sev = {
        "cystocele": (0.38, 12, 26),
        "prolapse": (0.3 if not hyst else 0.35, 14, 34),
        "enterocele": (0.22 if not hyst else 0.45, 14, 30),
        "rectocele": (0.38, 10, 24),
        "intussusception": (0.2, 8, 18),
    }
    path = {}
    for name, (prob, lo, hi) in sev.items():
        on = bool(rng.random() < prob)
        amp = float(u(lo, hi))
        path[name] = round(amp, 2) if on else 0.0
    p["pathology_mm"] = path
    p["pathologies"] = [k if not (k == "prolapse") else ("vault_prolapse" if hyst else
                                                          "uterine_prolapse")
                        for k, v in path.items() if v > 0]
    p["anatomy_rng"] = [int(seed), 12]
    return p


def draw_imaging(seed: int) -> dict:
    """Matrix, spacing, timing and the imaging look of one case."""
    rng = np.random.default_rng([int(seed), 21])
    u = rng.uniform
    sr = round(float(u(1.1, 1.5)), 3)
    sc = round(float(u(1.1, 1.5)) if rng.random() < 0.5 else sr, 3)
    h = int(rng.integers(max(224, int(np.ceil(270 / sr))), 289))
    w = int(rng.integers(max(224, int(np.ceil(255 / sc))), 289))
    seq = "bssfp" if rng.random() < 0.5 else "ssfse"
    r_acc = int(rng.choice([1, 2, 2, 3]))
    im = {
        "sequence": seq,
        "matrix": [h, w],
        "spacing_mm": [sr, sc],
        "n_frames": int(rng.integers(12, 41)),
        "frame_interval_s": round(float(u(0.5, 2.5)), 3),
        "snr": round(float(u(6, 40)), 2),
        "phase_encode_axis": "rows (S-I)" if rng.random() < 0.4 else "columns (A-P)",
        "acq_fraction_readout": round(float(u(0.6, 1.0)), 3),
        "acq_fraction_phase": round(float(u(0.45, 0.9)), 3),
        "apodisation": str(rng.choice(["none", "hann", "fermi"])),
        "parallel_R": r_acc,
        "ghost_level": round(float(u(0.01, 0.07)), 4) if r_acc > 1 else 0.0,
        "g_factor_max": round(float(u(1.1, 1.8)), 3) if r_acc > 1 else 1.0,
        "fold_weight": round(float(u(0.2, 0.8)), 3) if rng.random() < 0.18 else 0.0,
        "coil_length_mm": round(float(u(60, 160)), 1),
        "coil_si_width_mm": round(float(u(120, 260)), 1),
        "intensity_normalisation": round(float(u(0.0, 0.7)), 3),
        "sharpen": round(float(u(0.3, 1.0)), 3) if rng.random() < 0.4 else 0.0,
        "gain": round(float(u(300, 3000)), 1),
        "tissue_jitter": round(float(u(0.05, 0.18)), 3),
    }
    if seq == "bssfp":
        im.update(tr_ms=round(float(u(3.2, 4.8)), 2), flip_deg=round(float(u(40, 80)), 1),
                  band_cycles=round(float(u(0.5, 2.5)), 3),
                  band_depth=round(float(u(0.5, 0.95)), 3), ink=round(float(u(0.0, 0.6)), 3))
    else:
        im.update(te_ms=round(float(u(75, 130)), 1), tr_ms=round(float(u(1200, 3500)), 0),
                  t2_blur=round(float(u(0.4, 2.2)), 3))
    return im


def tissue_signals(im: dict, rng: np.random.Generator) -> dict[str, float]:
    """Signal per tissue for the drawn sequence, with per-case parameter jitter."""
    jit = im["tissue_jitter"]
    out = {}
    for name, (pd, t1, t2) in TISSUES.items():
        pd = pd * (1 + jit * rng.uniform(-0.5, 0.5))
        t1 = t1 * (1 + jit * rng.uniform(-1, 1))
        t2 = t2 * (1 + jit * rng.uniform(-1, 1))
        if im["sequence"] == "bssfp":
            tr = im["tr_ms"]
            a = np.deg2rad(im["flip_deg"])
            e1, e2 = np.exp(-tr / t1), np.exp(-tr / t2)
            s = pd * np.sin(a) * (1 - e1) / (1 - (e1 - e2) * np.cos(a) - e1 * e2)
            if name == "blood":
                s *= 1.25  # inflow
        else:
            t2e = t2 * (1.7 if name in ("fat", "marrow") else 1.0)  # J-coupling: bright fat
            s = pd * np.exp(-im["te_ms"] / t2e) * (1 - np.exp(-im["tr_ms"] / t1))
            if name == "blood":
                s *= 0.06  # flow void
        out[name] = float(s)
    top = max(out.values())
    return {k: v / top for k, v in out.items()}


# --------------------------------------------------------------------------- canvas
class Canvas:
    """Extended pixel grid (FOV plus margins) and its anatomical coordinates."""

    def __init__(self, im: dict, subj: dict, rng: np.random.Generator):
        h, w = im["matrix"]
        sr, sc = im["spacing_mm"]
        pe_rows = im["phase_encode_axis"].startswith("rows")
        mpe = int(round(0.18 * (h if pe_rows else w))) if im["fold_weight"] > 0 else 6
        self.mr = mpe if pe_rows else 6
        self.mc = 6 if pe_rows else mpe
        self.h, self.w = h, w
        self.H, self.W = h + 2 * self.mr, w + 2 * self.mc
        self.sr, self.sc = sr, sc
        fov_h, fov_w = h * sr, w * sc
        # pubic symphysis (inferior edge) position inside the FOV, mm from top-left
        top = rng.uniform(158, max(160.0, fov_h - 112))
        left = rng.uniform(75, max(78.0, min(fov_w - 150, 115)))
        self.p_row = self.mr + top / sr
        self.p_col = self.mc + left / sc
        ii, jj = np.mgrid[0:self.H, 0:self.W].astype(np.float64)
        self.Yi = (ii - self.p_row) * sr  # image mm, inferior
        self.Xi = (jj - self.p_col) * sc  # image mm, posterior
        th = np.deg2rad(subj["tilt_deg"])
        self.c, self.s = np.cos(th), np.sin(th)
        # anatomical = R(-tilt) image
        self.X = self.c * self.Xi + self.s * self.Yi
        self.Y = -self.s * self.Xi + self.c * self.Yi
        self.pix = 0.5 * (sr + sc)

    def to_image_vec(self, ux, uy):
        return self.c * ux - self.s * uy, self.s * ux + self.c * uy

    def window(self, bbox):
        """Pixel slices covering an anatomical bounding box (x0, y0, x1, y1)."""
        x0, y0, x1, y1 = bbox
        cx = np.array([x0, x1, x0, x1])
        cy = np.array([y0, y0, y1, y1])
        xi = self.c * cx - self.s * cy
        yi = self.s * cx + self.c * cy
        r0 = int(np.floor(yi.min() / self.sr + self.p_row)) - 2
        r1 = int(np.ceil(yi.max() / self.sr + self.p_row)) + 3
        c0 = int(np.floor(xi.min() / self.sc + self.p_col)) - 2
        c1 = int(np.ceil(xi.max() / self.sc + self.p_col)) + 3
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, self.H), min(c1, self.W)
        if r1 <= r0 or c1 <= c0:
            return None
        return (slice(r0, r1), slice(c0, c1))


class Painter:
    """Painter's algorithm on the reference canvas: signal, texture, fat, labels, bones."""

    def __init__(self, cv: Canvas, sig: dict[str, float]):
        self.cv = cv
        self.sig = sig
        shape = (cv.H, cv.W)
        self.S = np.zeros(shape)
        self.tex = np.zeros(shape)
        self.fat = np.zeros(shape)
        self.L = np.zeros(shape, np.uint8)
        self.Sb = np.zeros(shape)  # bone layer (premultiplied)
        self.Ab = np.zeros(shape)

    def alpha(self, sd):
        return np.clip(0.5 - sd / self.cv.pix, 0.0, 1.0)

    def paint_sd(self, sl, sd, tissue, label=None, bone=False, value=None):
        if sl is None:
            return
        a = self.alpha(sd)
        v = self.sig[tissue] if value is None else value
        if bone:
            self.Sb[sl] = self.Sb[sl] * (1 - a) + v * a
            self.Ab[sl] = self.Ab[sl] * (1 - a) + a
            return
        self.S[sl] = self.S[sl] * (1 - a) + v * a
        self.tex[sl] = self.tex[sl] * (1 - a) + TEXTURE.get(tissue, 0.03) * a
        self.fat[sl] = self.fat[sl] * (1 - a) + FATTY.get(tissue, 0.0) * a
        if label is not None:
            m = sd < 0
            self.L[sl][m] = label

    def paint(self, shape, tissue, label=None, bone=False, grow=0.0, margin=3.0, value=None,
              clip=None):
        sl = self.cv.window(shape.bbox(margin + grow))
        if sl is None:
            return
        sd = shape.sd(self.cv.X[sl], self.cv.Y[sl]) - grow
        if clip is not None:
            sd = np.maximum(sd, clip[sl])
        self.paint_sd(sl, sd, tissue, label, bone, value)


# --------------------------------------------------------------------------- anatomy
class Anatomy:
    """Builds the reference (rest) anatomy of one subject on a canvas."""

    def __init__(self, subj: dict, cv: Canvas):
        self.p = subj
        self.cv = cv
        rng = np.random.default_rng(subj["anatomy_rng"])
        self.rng = rng
        k = subj["scale"]
        j = lambda s=3.0: rng.normal(0, s, 2)  # noqa: E731
        self.k = k
        # bones -----------------------------------------------------------------
        self.pubis = Ellipse(np.array([-6.0, -19.0]) * k + j(1.5), 22 * k, 7.5 * k,
                             ang_deg=-108 + rng.normal(0, 4))
        # anterior surface: promontory .. S5 (6 points), then the coccyx (2 more)
        sac = np.array([[75, -122], [92, -104], [112, -86], [127, -66], [133, -47],
                        [128, -34], [117, -26], [105, -21]], float) * k
        sac[:, 0] += rng.normal(0, 4)
        sac[:, 1] += rng.normal(0, 4)
        sac[2:6, 0] += rng.normal(0, 4) * np.array([0.5, 1.0, 1.0, 0.7])  # concavity depth
        sac[6:, :] += rng.normal(0, 3, (2, 2))
        self.sac_ctrl = sac
        self.sac_front = _chaikin(sac, 3)
        self.sac_only = _chaikin(sac[:6], 3)
        self.coccyx_tip = sac[-1]
        self.promontory = sac[0]
        # bladder neck and PCL
        self.neck = np.array([14.0, -7.0]) * k + j(2.0)
        self.pcl = (np.zeros(2), sac[-2] * 0.5 + sac[-1] * 0.5)

    # sacral centre line: the anterior surface shifted posteriorly by half its thickness
    def _sacrum_tubes(self):
        f = self.sac_only
        t = np.gradient(f, axis=0)
        t /= np.hypot(t[:, 0], t[:, 1])[:, None]
        n = np.stack([-t[:, 1], t[:, 0]], 1)  # for a downward tangent this points +x
        n *= np.sign(n[:, :1] + 1e-9)
        s = np.linspace(0, 1, len(f))
        thick = (30 - 17 * s) * self.k
        centre = f + n * (thick / 2)[:, None]
        return centre, thick, n

    def build(self, paint: Painter, im: dict) -> dict:
        p, k, rng, cv = self.p, self.k, self.rng, self.cv
        j = lambda s=3.0: rng.normal(0, s, 2)  # noqa: E731
        info: dict = {}
        # ---------------- body outline -------------------------------------
        fa, fp = p["fat_ant_mm"], p["fat_post_mm"]
        rectus_post = -22 * k  # posterior surface of the rectus (x) above the pubis
        x_ant = rectus_post - p["rectus_mm"] - fa
        c_s, t_s, n_s = self._sacrum_tubes()
        sac_back = float(np.max((c_s + n_s * (t_s / 2)[:, None])[:, 0]))
        x_post = sac_back + fp
        ytop = float(cv.Y.min()) - 60
        belly = rng.uniform(0, 25) * (fa / 45)
        body_pts = np.array([
            [x_ant - belly, ytop], [x_ant - belly * 0.9, -140], [x_ant - belly * 0.4, -60],
            [x_ant + 2, -15], [x_ant + 0.35 * fa + 6, 20], [-10 * k, 48 * k],
            [12 * k, 60 * k], [40 * k, 64 * k], [64 * k, 58 * k], [86 * k, 64 * k],
            [112 * k, 60 * k], [x_post - 12, 30], [x_post, -20], [x_post + 2, -100],
            [x_post + 2, ytop]])
        body_pts = _chaikin(body_pts, 3)
        body_sd = _polygon_sd(cv, body_pts)
        self.body_sd = body_sd
        full = (slice(0, cv.H), slice(0, cv.W))
        paint.paint_sd(full, body_sd, "skin")
        paint.paint_sd(full, body_sd + 1.8, "fat")
        # rectus sheath + muscle anteriorly (above the pubis)
        depth = -body_sd
        ant = (cv.X < rectus_post + 5) & (cv.Y < -25 * k)
        rectus_sd = np.where(ant, np.maximum(fa + 1.8 - depth, depth - fa - p["rectus_mm"]), 9e9)
        rectus_sd = np.maximum(rectus_sd, cv.Y + 30 * k)
        paint.paint_sd(full, rectus_sd, "muscle")
        # paraspinal / gluteal muscle band posteriorly (above the coccyx)
        info["body_x_ant_mm"] = float(x_ant - belly * 0.4)
        info["body_x_post_mm"] = float(x_post)

        # ---------------- spine and sacrum (rigid bone layer) --------------
        centre, thick, nrm = self._sacrum_tubes()
        sac_tube = Tube(centre, thick / 2, smooth=0)
        paint.paint(sac_tube, "cortex", bone=True)
        paint.paint(sac_tube, "marrow", bone=True, grow=-1.6)
        nseg = 5
        for i in range(1, nseg):  # segment remnants
            fr = i / nseg * 0.88
            c0 = sac_tube.point(fr)
            tg = sac_tube.tangent(fr)
            rr = np.interp(fr, np.linspace(0, 1, len(thick)), thick) / 2
            line = Tube([c0 - _rot(tg, 90) * rr * 0.85, c0 + _rot(tg, 90) * rr * 0.85], [0.9, 0.9],
                        smooth=0)
            paint.paint(line, "disc" if i == 1 else "cortex", bone=True)
        # sacral canal (CSF above S2, fat below) posterior to the bodies
        canal = centre + nrm * (thick / 2 + 5 * k)[:, None]
        n_c = len(canal)
        paint.paint(Tube(canal, np.linspace(5.5, 2.5, n_c) * k, smooth=0), "cortex", bone=True)
        paint.paint(Tube(canal[: n_c // 2], np.linspace(4, 2.5, n_c // 2) * k, smooth=0),
                    "csf", bone=True)
        # coccyx: three small segments along the curve S5 -> tip
        coc = Tube(self.sac_ctrl[5:], [1, 1, 1])
        n_seg = 3
        for i in range(n_seg):
            fr = (i + 0.5) / n_seg
            tg = coc.tangent(fr)
            post = _rot(tg, 90)
            post *= np.sign(post[0] + 1e-9)
            th = (5.5 - 1.0 * i) * k
            seg = Ellipse(coc.point(fr) + post * th, coc.length / n_seg / 2 - 1.0 * k, th,
                          ang_deg=np.rad2deg(np.arctan2(tg[1], tg[0])))
            paint.paint(seg, "cortex", bone=True)
            paint.paint(seg, "marrow", bone=True, grow=-1.2)
        self.coccyx_end = self.coccyx_tip
        # lumbar vertebrae above S1
        t0 = self.sac_ctrl[1] - self.sac_ctrl[0]
        t0 = t0 / np.hypot(*t0)
        n0 = np.array([-t0[1], t0[0]])
        n0 *= np.sign(n0[0] + 1e-9)
        endplate = self.promontory + n0 * 19 * k
        up = -t0
        lordo = rng.uniform(18, 34)
        vb_h, vb_w, disc = 27 * k, 40 * k, 10 * k
        cur = endplate
        ang_up = np.rad2deg(np.arctan2(up[1], up[0]))
        lumbar_front = []
        for lvl in range(4):
            ang_up = min(ang_up + lordo / (1 + 0.6 * lvl), -80.0)  # lordosis: towards upright
            d_up = _dir(ang_up)
            dc = cur + d_up * (disc / 2)
            paint.paint(Ellipse(dc, disc / 2 + 1, vb_w / 2, ang_deg=ang_up), "annulus", bone=True)
            paint.paint(Ellipse(dc, disc / 2 - 1, vb_w / 3, ang_deg=ang_up), "disc", bone=True)
            bc = cur + d_up * (disc + vb_h / 2)
            box = Box(bc, vb_h / 2, vb_w / 2, ang_deg=ang_up, round_mm=4)
            paint.paint(box, "cortex", bone=True)
            paint.paint(box, "marrow", bone=True, grow=-1.5)
            lumbar_front.append(bc - _rot(d_up, 90) * (vb_w / 2) * np.sign(_rot(d_up, 90)[0]))
            cur = cur + d_up * (disc + vb_h)
            if cur[1] < cv.Y.min() - 40:
                break
        # spinal canal and spinous processes above the sacrum
        back = _rot(up, 90)
        back *= np.sign(back[0] + 1e-9)
        canal_top = cur + back * (vb_w / 2 + 8 * k) + up * 10
        canal_bot = endplate + back * (vb_w / 2 + 8 * k)
        paint.paint(Tube([canal_top, canal_bot, canal[0]], [7.5 * k, 7.5 * k, 5.5 * k]), "cortex",
                    bone=True)
        paint.paint(Tube([canal_top, canal_bot, canal[0]], [6.5 * k, 6.2 * k, 4 * k]), "csf",
                    bone=True)
        # paraspinal muscle between the posterior elements and the subcutaneous fat
        ps_sd = np.maximum.reduce([fp - depth, canal_bot[0] + 6 - cv.X,
                                   cv.Y - (self.promontory[1] + rng.uniform(0, 30))])
        paint.paint_sd(full, ps_sd, "muscle")
        for lvl in range(3):
            sp = endplate + up * (disc + vb_h * (0.4 + lvl * 1.35)) + back * (vb_w / 2 + 26 * k)
            e = Ellipse(sp, 13 * k, 6 * k, ang_deg=np.rad2deg(np.arctan2(back[1], back[0])))
            paint.paint(e, "cortex", bone=True)
            paint.paint(e, "marrow", bone=True, grow=-1.5)
        self.lumbar_front = np.array(lumbar_front)
        # pubic symphysis: cortex, marrow and the dark interpubic disc
        paint.paint(self.pubis, "cortex", bone=True)
        paint.paint(self.pubis, "marrow", bone=True, grow=-1.8)
        ax = _dir(np.rad2deg(self.pubis.ang))
        paint.paint(Tube([self.pubis.c - ax * 17 * k, self.pubis.c + ax * 17 * k], [1.3, 1.3],
                         smooth=0), "cartilage", bone=True)

        # ---------------- great vessels anterior to lumbar spine -------------
        if len(self.lumbar_front) >= 2:
            lf = self.lumbar_front
            vpts = [lf[-1] + np.array([-14, -30]) * k, lf[-1] + np.array([-13, 0]) * k,
                    lf[1] + np.array([-12, 0]) * k, lf[0] + np.array([-8, 8]) * k]
            paint.paint(Tube(vpts, [9 * k, 9 * k, 8.5 * k, 6 * k]), "blood")

        # ---------------- rectum / anal canal ------------------------------
        content = p["rectal_content"]
        verge = np.array([62.0, 54.0]) * k + j(2.5)
        arj = np.array([51.0, 15.0]) * k + j(3.0)
        canal_dir = (verge - arj) / np.hypot(*(verge - arj))
        ara = rng.uniform(88, 112)  # anorectal angle at rest
        d_r = _rot(canal_dir, -ara)
        r_amp = {"gel": rng.uniform(14, 22), "stool": rng.uniform(11, 17),
                 "gas": rng.uniform(9, 14), "collapsed": rng.uniform(7.5, 10)}[content] * k
        gap = p["presacral_mm"]
        sf = self.sac_front
        ys = np.array([-32.0, -52.0, -70.0, -84.0]) * k
        xs = np.interp(ys, sf[:, 1], sf[:, 0])
        off_r = np.array([r_amp * 0.9, r_amp * 0.75, 0.6 * r_amp + 3, 11 * k])
        xs = xs - gap - off_r
        pts = [verge, verge * 0.5 + arj * 0.5, arj, arj + d_r * (r_amp * 0.8 + 6)]
        pts += [np.array([x, y]) for x, y in zip(xs, ys, strict=True)]
        radii = [8.5 * k, 8.5 * k, 9.5 * k, r_amp, r_amp * 0.95, r_amp * 0.8,
                 0.6 * r_amp + 3, 11 * k]
        rectum = Tube(pts, radii)
        rs = pts[-1]
        self.rectum = rectum
        # sigmoid beyond the recto-sigmoid junction (label 0), curving anteriorly
        sig_pts = [rs, rs + np.array([-4, -16]) * k, rs + np.array([-20, -30]) * k,
                   rs + np.array([-38, -30]) * k]
        sigmoid = Tube(sig_pts, [11 * k, 12 * k, 10 * k, 3 * k])
        # arc fraction of the anorectal junction (end of the anal canal)
        canal_frac = float(rectum.cum[int(np.argmin(np.hypot(*(rectum.pts - arj).T)))]
                           / rectum.length)
        info["rectal_radius_mm"] = float(r_amp)

        # ---------------- vagina / uterus skeleton --------------------------
        hyst = p["hysterectomy"]
        intro = np.array([19.0, 47.0]) * k + j(2)
        kink = np.array([32.0, 6.0]) * k + j(3)
        vault = (np.array([56.0, -17.0]) if hyst else np.array([62.0, -24.0])) * k + j(3)
        vag_r = rng.uniform(5.5, 7.5) * k
        gel_v = p["vaginal_gel"]
        if gel_v:
            vag_r = rng.uniform(8, 11) * k
        vagina = Tube([intro, kink, vault], [vag_r * 0.85, vag_r, vag_r * (1.25 if hyst else 1.1)])
        vdir = (vault - kink) / np.hypot(*(vault - kink))
        self.vagina = vagina
        # bladder ------------------------------------------------------------
        f = p["bladder_fill"]
        a = (17 + 33 * f) * k
        b = (6 + 34 * f) * k
        wall = (5.0 - 2.8 * f) * k
        tilt = rng.uniform(-25, 5)
        bend = (1 - f) * rng.uniform(0.0, 0.3)
        neck = self.neck
        bl_c = neck + _rot(np.array([0.35 * a, -0.92 * b]), tilt)
        bl = Ellipse(bl_c, a, b, ang_deg=tilt, bend=bend)
        for _ in range(25):  # clear the pubis and the anterior abdominal wall
            bd = bl.boundary()
            clear = self.pubis.sd(bd[:, 0], bd[:, 1]).min()
            front = (bd[:, 0] - (rectus_post + 3)).min()
            if clear >= 4 and front >= 0:
                break
            bl.c = bl.c + np.array([2.0 * k, -0.8 * k if clear < 4 else 0.0])
        funnel_start = bl.c + _rot(np.array([0.2 * a, 0.55 * b]), tilt)
        funnel = Tube([funnel_start, neck], [min(8, 0.6 * b + 3) * k, 4.5 * k], smooth=0)
        bladder = Union(bl, funnel)
        self.bladder = bladder
        info["bladder_semi_axes_mm"] = [float(a), float(b)]

        # uterus skeleton with version refit
        uterus = None
        fibroid_shapes = []
        if not hyst:
            meno = p["menopausal"]
            nfib = p["fibroids"]
            lc = rng.uniform(24, 34) * k
            rc = rng.uniform(11, 14) * k
            if meno:
                lb, rb = rng.uniform(28, 42) * k, rng.uniform(11, 15) * k
            else:
                lb, rb = rng.uniform(45, 65) * k, rng.uniform(17, 23) * k
            if nfib:
                lb *= rng.uniform(1.25, 1.6)
                rb *= rng.uniform(1.2, 1.5)
            version = p["version"]
            base_v = {"anteverted": rng.uniform(55, 95), "retroverted": rng.uniform(-70, -25),
                      "axial": rng.uniform(-10, 20)}[version]
            flex = {"anteverted": rng.uniform(0, 40), "retroverted": rng.uniform(-45, 0),
                    "axial": rng.uniform(-10, 10)}[version]
            ang_v = np.rad2deg(np.arctan2(vdir[1], vdir[0]))
            pcl_end = self.sac_ctrl[6]
            pcl_slope = pcl_end[1] / pcl_end[0]
            rp = rectum.pts[rectum.pts[:, 1].argsort()]

            def x_rect_axis(yv):
                return np.interp(yv, rp[:, 1], rp[:, 0])
            # candidates: shift the version until the uterus clears bladder, rectum, sacrum
            best = None
            for dv in (0, 8, -8, 16, -16, 24, -24, 34, -34, 46, -46, 60, -60):
                for shrink in (1.0, 0.85, 0.72):
                    ang_c = ang_v - (base_v + dv)
                    ang_b = ang_c - flex
                    ce = vault + _dir(ang_c) * lc
                    pts_u = [vault - vdir * 4 * k, vault + _dir(ang_c) * lc * 0.5, ce,
                             ce + _dir(ang_c * 0.5 + ang_b * 0.5) * lb * shrink * 0.45,
                             ce + _dir(ang_c * 0.3 + ang_b * 0.7) * lb * shrink * 0.45
                             + _dir(ang_b) * lb * shrink * 0.5]
                    rad_u = [rc * 0.85, rc, rc * 1.02, rb * (0.9 + 0.1 * shrink), rb * 0.7]
                    cand = Tube(pts_u, rad_u)
                    sp = cand.pts[::2]
                    rr = cand.r[::2]
                    pen = np.sum(np.maximum(0, 0.5 * rr - bladder.sd(sp[:, 0], sp[:, 1])) * 0.5)
                    pen += np.sum(np.maximum(0, rr + 3 - rectum.sd(sp[:, 0], sp[:, 1])))
                    pen += np.sum(np.maximum(0, rr + 4 - sac_tube.sd(sp[:, 0], sp[:, 1])) * 2)
                    pen += np.sum(np.maximum(0, rr + 3 - self.pubis.sd(sp[:, 0], sp[:, 1])) * 2)
                    # stay above the pubococcygeal line and anterior to the sacral hollow
                    y_pcl = sp[:, 0] * pcl_slope
                    pen += np.sum(np.maximum(0, sp[:, 1] - y_pcl + rr * 0.5)) * 2
                    pen += np.sum(np.maximum(0, sp[:, 0] - x_rect_axis(sp[:, 1]))) * 2
                    pen += 4 * abs(dv) / 10 + 8 * (1 - shrink)
                    if best is None or pen < best[0]:
                        best = (pen, cand, ang_c, ang_b, lc, lb * shrink, dv)
            _, uterus, ang_c, ang_b, lc, lb, dv = best
            info["uterus_version_deg"] = float(base_v + dv)
            info["uterus_flexion_deg"] = float(flex)
            info["uterus_length_mm"] = float(lc + lb)
            for _ in range(nfib):
                fr = rng.uniform(0.5, 0.92)
                c0 = uterus.point(fr)
                tg = uterus.tangent(fr)
                rad_here = np.interp(fr * uterus.length, uterus.cum, uterus.r)
                rf = rng.uniform(8, 24) * k
                side = rng.choice([-1, 1])
                c0 = c0 + _rot(tg, 90) * side * (rad_here - rf * rng.uniform(0.2, 0.9))
                fibroid_shapes.append(Ellipse(c0, rf, rf * rng.uniform(0.8, 1.0),
                                              ang_deg=rng.uniform(0, 180)))
        self.uterus = uterus
        uv = Union(vagina, uterus, *fibroid_shapes)

        # ---------------- organ signed distance fields with priorities ------
        full_sd = {}
        body_clip = self.body_sd + 1.0  # organs stay inside the body
        rect_sd = np.maximum(rectum.sd(cv.X, cv.Y), body_clip)
        full_sd[3] = rect_sd
        bone_sd = np.minimum.reduce([self.pubis.sd(cv.X, cv.Y), sac_tube.sd(cv.X, cv.Y)])
        uv_sd = np.maximum.reduce([uv.sd(cv.X, cv.Y), -(rect_sd - 2.5), -(bone_sd - 3), body_clip])
        full_sd[2] = uv_sd
        bl_sd = np.maximum.reduce([bladder.sd(cv.X, cv.Y), -(uv_sd - 2.5), -(rect_sd - 3),
                                   -(bone_sd - 3)])
        full_sd[1] = bl_sd
        self.organ_sd = full_sd
        organs_min = np.minimum.reduce([rect_sd, uv_sd, bl_sd])

        # ---------------- pelvic floor and perineum (label 0) ---------------
        pr_c = arj + np.array([1.0, 0.25]) * (18.5 * k)
        puborectalis = Ellipse(pr_c, 9 * k, 6.5 * k, ang_deg=rng.uniform(-30, 10))
        levator = Tube([pr_c, (pr_c + self.coccyx_end) / 2 + np.array([2, 6]) * k,
                        self.coccyx_end], [4.5 * k, 3.5 * k, 3 * k])
        paint.paint(levator, "muscle")
        paint.paint(Tube([verge + np.array([3, 0]) * k, self.coccyx_end],
                         [2.5 * k, 2.0 * k], smooth=0), "connective")  # anococcygeal ligament
        paint.paint(puborectalis, "muscle")
        pb_c = (intro + verge) / 2 + np.array([-2, -8]) * k
        paint.paint(Ellipse(pb_c, 11 * k, 8 * k, ang_deg=rng.uniform(-20, 30)), "perineal")
        # anal sphincter complex around the canal
        sph = Tube([verge + canal_dir * 2, arj - canal_dir * 3], [15 * k, 14 * k], smooth=0)
        paint.paint(sph, "muscle")
        paint.paint(Tube([verge, arj], [11 * k, 11 * k], smooth=0), "smooth")
        # urethra (label 0): target appearance
        meatus = neck + np.array([-9.0, 37.0]) * k + j(2)
        ure = Tube([neck, neck * 0.5 + meatus * 0.5 + np.array([1.5, 0]), meatus],
                   [5.5 * k, 5.5 * k, 4.5 * k])
        paint.paint(ure, "muscle")
        paint.paint(ure, "smooth", grow=-1.8 * k)
        paint.paint(ure, "mucosa", grow=-4.0 * k)

        # ---------------- small bowel loops, sigmoid, vessels ---------------
        loops = []
        region_x0 = rectus_post + 4
        sp_front = float(np.min(self.sac_front[:, 0]))
        top_y = float(cv.Y.min())
        tries = 0
        forced = []
        if p["pathology_mm"]["enterocele"] > 0 or hyst:
            # loops in the cul-de-sac above the vault / behind the uterus
            ref = rectum.point(0.42)
            cds = vault * 0.55 + ref * 0.45 + np.array([0.0, -10.0]) * k
            forced = [cds, cds + np.array([-6, -20]) * k]
        self.cul_de_sac = (vault * 0.72 + rectum.point(0.32) * 0.28)
        while len(loops) < p["n_bowel_loops"] + len(forced) and tries < 400:
            tries += 1
            if forced and len(loops) < len(forced):
                c0 = forced[len(loops)]
                r0 = rng.uniform(8, 11) * k
            else:
                c0 = np.array([rng.uniform(region_x0, sp_front + 25),
                               rng.uniform(top_y - 20, 10)])
                r0 = rng.uniform(8, 19) * k
            ii = int(round((_img_y(cv, c0)) / cv.sr + cv.p_row))
            jj = int(round((_img_x(cv, c0)) / cv.sc + cv.p_col))
            if not (0 <= ii < cv.H and 0 <= jj < cv.W):
                continue
            if organs_min[ii, jj] < r0 * 0.6 + 2 and not (forced and len(loops) < len(forced)):
                continue
            if bone_sd[ii, jj] < r0 + 3 or self.body_sd[ii, jj] > -(fa + 14):
                continue
            if c0[0] < region_x0 + r0 * 0.7:
                continue
            if any(np.hypot(*(c0 - q[0])) < (r0 + q[1]) * 0.85 for q in loops):
                continue
            loops.append((c0, r0))
        for c0, r0 in loops:
            e = Ellipse(c0, r0, r0 * rng.uniform(0.55, 1.0), ang_deg=rng.uniform(0, 180))
            kind = rng.choice(["bowel_fluid", "chyme", "gas", "smooth"], p=[0.4, 0.35, 0.1, 0.15])
            paint.paint(e, "smooth")
            paint.paint(e, kind, grow=-2.0 * k)
        info["n_bowel_loops"] = len(loops)
        # sigmoid (label 0) with contents
        paint.paint(sigmoid, "smooth")
        paint.paint(sigmoid, {"gas": "gas", "gel": "stool"}.get(content, "stool"),
                    grow=-3.0 * k)
        # pelvic venous plexus dots
        for _ in range(int(rng.integers(6, 16))):
            c0 = np.array([rng.uniform(0, 90), rng.uniform(-60, 30)]) * k
            ii = int(round(_img_y(cv, c0) / cv.sr + cv.p_row))
            jj = int(round(_img_x(cv, c0) / cv.sc + cv.p_col))
            if 0 <= ii < cv.H and 0 <= jj < cv.W and organs_min[ii, jj] > 4 \
                    and bone_sd[ii, jj] > 3:
                paint.paint(Ellipse(c0, rng.uniform(1.5, 3.2), rng.uniform(1.2, 2.5),
                                    ang_deg=rng.uniform(0, 180)), "blood")

        # ---------------- organs (labelled) ---------------------------------
        # rectum: wall, mucosa, contents; anal canal: IAS + mucosa
        X, Y = cv.X, cv.Y
        _, dist, s_arc, _ = rectum.fields(X, Y)
        paint.paint_sd(full, rect_sd, "smooth", label=3)
        wall_r = rng.uniform(2.2, 3.8) * k
        lumen_sd = np.maximum(rect_sd + wall_r, (canal_frac - s_arc) * 60)
        if content == "collapsed":
            paint.paint_sd(full, np.maximum(rect_sd + wall_r, dist - 2.0 * k), "mucosa")
        else:
            paint.paint_sd(full, lumen_sd + 0.8, "mucosa")
            paint.paint_sd(full, lumen_sd, content)
            if content == "stool":
                for _ in range(4):  # gas bubbles
                    c0 = rectum.point(rng.uniform(0.25, 0.6))
                    paint.paint_sd(full, np.maximum(np.hypot(X - c0[0], Y - c0[1])
                                                    - rng.uniform(2, 5), lumen_sd + 1), "gas")
            if content == "gel" and rng.random() < 0.5:  # gel / gas level
                c0 = rectum.point(rng.uniform(0.35, 0.5))
                paint.paint_sd(full, np.maximum(lumen_sd, (Y - c0[1])), "gas")
        # anal canal mucosa (collapsed lumen)
        paint.paint_sd(full, np.maximum(dist - 1.6 * k, (s_arc - canal_frac) * 60), "mucosa")
        # uterus / vagina
        paint.paint_sd(full, uv_sd, "smooth", label=2)
        _, vd, vs, _ = vagina.fields(X, Y)
        v_in = np.maximum(vd - (vag_r - (2.6 if gel_v else 4.2) * k), uv_sd)
        paint.paint_sd(full, v_in, "gel" if gel_v else "mucosa")
        if uterus is not None:
            usd, ud, us, _ = uterus.fields(X, Y)
            meno = p["menopausal"]
            body_sd = np.maximum(np.maximum(usd, uv_sd), (0.28 - us) * 80)
            paint.paint_sd(full, np.maximum(usd, uv_sd), "cervix")
            paint.paint_sd(full, body_sd, "myometrium")
            cervix_len = 0.35
            endo_r = np.where(us > cervix_len, (1.5 if meno else rng.uniform(3, 7)) * k,
                              1.6 * k) * np.clip((1.0 - us) * 6, 0, 1)
            jz = 0.0 if meno else rng.uniform(3, 6) * k
            if jz > 0:
                paint.paint_sd(full, np.maximum(ud - endo_r - jz, body_sd), "junctional")
            paint.paint_sd(full, np.maximum(ud - endo_r, uv_sd), "endometrium")
            for e in fibroid_shapes:
                sl = cv.window(e.bbox(4))
                if sl is not None:
                    fsd = np.maximum(e.sd(X[sl], Y[sl]), uv_sd[sl])
                    paint.paint_sd(sl, fsd, "fibroid")
                    paint.paint_sd(sl, np.maximum(fsd + 0.2, -(fsd + 1.5)), "connective")
        # bladder
        paint.paint_sd(full, bl_sd, "smooth", label=1)
        paint.paint_sd(full, bl_sd + wall, "urine")

        # landmarks for the motion model
        info["rectocele_site"] = [float(v) for v in rectum.point(0.22)]
        self.canal_dir = canal_dir
        self.vdir = vdir
        self.vault = vault
        self.cervix_os = uterus.point(0.12) if uterus is not None else vault
        self.r_amp = r_amp
        self.sac_tube = sac_tube
        self.bladder_ellipse = bl
        self.x_table = x_post
        self.rectus_post = rectus_post
        return info


def _img_x(cv: Canvas, p):
    return cv.c * p[0] - cv.s * p[1]


def _img_y(cv: Canvas, p):
    return cv.s * p[0] + cv.c * p[1]


def _polygon_sd(cv: Canvas, pts: np.ndarray) -> np.ndarray:
    """Signed distance (mm, negative inside) of a closed polygon given in anatomical mm."""
    from PIL import Image, ImageDraw

    ss = 2
    xi = cv.c * pts[:, 0] - cv.s * pts[:, 1]
    yi = cv.s * pts[:, 0] + cv.c * pts[:, 1]
    cols = (xi / cv.sc + cv.p_col) * ss
    rows = (yi / cv.sr + cv.p_row) * ss
    img = Image.new("L", (cv.W * ss, cv.H * ss), 0)
    ImageDraw.Draw(img).polygon(list(zip(cols.tolist(), rows.tolist(), strict=True)), fill=255)
    m = np.asarray(img, dtype=np.float64).reshape(cv.H, ss, cv.W, ss).mean(axis=(1, 3)) / 255
    inside = m > 0.5
    din = ndimage.distance_transform_edt(inside, sampling=(cv.sr, cv.sc))
    dout = ndimage.distance_transform_edt(~inside, sampling=(cv.sr, cv.sc))
    sd = np.where(inside, -(din - 0.5 * cv.pix), dout - 0.5 * cv.pix)
    edge = (m > 0) & (m < 1)
    sd[edge] = (0.5 - m[edge]) * cv.pix  # sub-pixel position from the area coverage
    return sd


# --------------------------------------------------------------------------- motion
def strain_curve(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rest plateau, rise to a strain peak with tremor, partial recovery; s in [0, 1]."""
    t = np.arange(n, dtype=float)
    n_rest = int(rng.integers(2, max(3, n // 4) + 1))
    n_rise = int(rng.integers(2, max(3, n // 5) + 1))
    n_hold = int(rng.integers(2, max(3, n // 3) + 1))
    t_rel = n_rest + n_rise + n_hold
    rec = rng.uniform(0.25, 0.65)  # fraction of the strain kept after recovery
    rise = _smoothstep((t - n_rest + 1) / (n_rise + 1))
    fall = 1 - (1 - rec) * _smoothstep((t - t_rel + 1) / rng.uniform(2, 5))
    s = rise * np.where(t >= t_rel, fall, 1.0)
    s = s * (1 - 0.05 * rng.random(n) * (s > 0.9))  # tremor while holding
    s[:n_rest] = 0.0
    return np.clip(s / s.max(), 0.0, 1.0)


class Motion:
    """Displacement field (anatomical mm) as a function of strain s."""

    def __init__(self, an: Anatomy, subj: dict, rng: np.random.Generator):
        self.an = an
        self.k = 1.0
        path = subj["pathology_mm"]
        self.D = subj["descent_mm"]
        self.dir_g = np.array([0.16, 1.0]) / np.hypot(0.16, 1.0)
        self.belly = rng.uniform(0, 10)
        self.breath = rng.uniform(0.5, 3.0)
        self.breath_period = rng.uniform(3.5, 6.0)
        self.bumps = []  # (centre, amplitude vector, sigma_along, sigma_across, divergence)
        k = subj["scale"]
        if path["cystocele"]:
            bl = an.bladder_ellipse
            base = an.neck * 0.55 + bl.c * 0.45 + np.array([6, 4]) * k
            amp = path["cystocele"]
            self.bumps.append((base, np.array([0.2, 1.0]) / np.hypot(0.2, 1.0) * amp,
                               max(20, 1.3 * amp), max(20, 1.3 * amp), 0.0))
        if path["prolapse"]:
            amp = path["prolapse"]
            c0 = an.cervix_os
            d = -an.vdir
            self.bumps.append((c0, d * amp, max(24, 1.3 * amp), max(18, 1.0 * amp), 0.0))
        if path["enterocele"]:
            amp = path["enterocele"]
            c0 = an.cul_de_sac + np.array([0, -4.0]) * k
            d = -an.vdir * 0.7 + np.array([0.0, 1.0]) * 0.3
            d = d / np.hypot(*d)
            self.bumps.append((c0, d * amp, max(26, 1.35 * amp), max(14, 0.8 * amp), 0.2))
        if path["rectocele"]:
            amp = path["rectocele"]
            fr = 0.22
            c0 = an.rectum.point(fr)
            tg = an.rectum.tangent(fr)
            nrm = _rot(tg, 90)
            if nrm[0] > 0:
                nrm = -nrm  # anterior normal
            c0 = c0 + nrm * (an.r_amp * 0.6 + 0.5 * amp)
            d = nrm * 0.85 + np.array([0, 0.5])
            d = d / np.hypot(*d)
            self.bumps.append((c0, d * amp, max(18, 1.0 * amp), max(12, 0.8 * amp), 0.0))
        if path["intussusception"]:
            amp = path["intussusception"]
            fr = 0.5
            c0 = an.rectum.point(fr)
            tg = an.rectum.tangent(fr)
            self.bumps.append((c0, -tg * amp, max(22, 1.4 * amp), max(16, 1.4 * an.r_amp),
                               -0.55))

    def field(self, X, Y, s: float, t_s: float):
        """Forward-like displacement evaluated at frame points (anatomical mm)."""
        an = self.an
        sf = an.sac_front
        # weight: vanishes posterior to the sacral hollow / coccyx line and at the table
        x_lim = np.interp(Y, sf[:, 1], sf[:, 0], left=sf[0, 0], right=sf[-1, 0] - 2)
        w = _sig((x_lim - 6 - X) / 7.0)
        w *= 0.55 + 0.45 * _sig((Y + 110) / 30.0)
        w *= _sig((an.x_table - 10 - X) / 10.0)
        amp = self.D * s * self.k
        ux = amp * self.dir_g[0] * w
        uy = amp * self.dir_g[1] * w
        # anterior belly bulge and breathing (upper abdomen)
        upper = _sig((-Y - 60) / 25.0)
        ux = ux - self.belly * s * upper * _sig((an.rectus_post + 20 - X) / 15.0)
        br = self.breath * np.sin(2 * np.pi * t_s / self.breath_period) * (1 - 0.8 * s)
        uy = uy + br * upper * _sig((x_lim - 10 - X) / 10.0)
        for c0, vec, sa, sx, div in self.bumps:
            d = vec / max(np.hypot(*vec), 1e-9)
            dx, dy = X - c0[0], Y - c0[1]
            along = dx * d[0] + dy * d[1]
            across = -dx * d[1] + dy * d[0]
            g = np.exp(-0.5 * (along / sa) ** 2 - 0.5 * (across / sx) ** 2) * s * self.k
            ux = ux + vec[0] * g
            uy = uy + vec[1] * g
            if div:
                # lateral spreading (+) or convergence (-) across the push direction
                m = div * np.hypot(*vec) * g * np.tanh(across / (0.6 * sx))
                ux = ux + m * (-d[1])
                uy = uy + m * d[0]
        return ux, uy


# --------------------------------------------------------------------------- imaging
class Imager:
    """Turns warped object signal into a magnitude MR image with artefacts."""

    def __init__(self, im: dict, cv: Canvas, an_info: dict, rng: np.random.Generator):
        self.im, self.cv = im, cv
        h, w = im["matrix"]
        self.pe_axis = 0 if im["phase_encode_axis"].startswith("rows") else 1
        Xi, Yi = cv.Xi, cv.Yi
        # coil sensitivity (scanner frame): anterior + posterior arrays, S-I coverage
        L = im["coil_length_mm"]
        xa = an_info["body_x_ant_mm"] - 8
        xp = an_info["body_x_post_mm"] + 8
        sens = 0.25 + np.exp(-np.clip(Xi - xa, 0, None) / L) \
            + 0.8 * np.exp(-np.clip(xp - Xi, 0, None) / L)
        sens *= np.exp(-0.5 * ((Yi + rng.uniform(-40, 20)) / im["coil_si_width_mm"]) ** 2)
        sens /= sens.max()
        self.sens = sens ** (1 - im["intensity_normalisation"])
        # bSSFP off-resonance banding (scanner frame)
        self.band = None
        if im["sequence"] == "bssfp":
            fov = max(h * cv.sr, w * cv.sc)
            ang = rng.uniform(0, 2 * np.pi)
            lin = (Xi * np.cos(ang) + Yi * np.sin(ang)) / fov * im["band_cycles"]
            quad = rng.uniform(-1, 1) * ((Xi / fov) ** 2 + (Yi / fov) ** 2) * 2
            phase = 2 * np.pi * (lin + quad + rng.uniform(0, 1))
            dphi = np.angle(np.exp(1j * (phase - np.pi)))
            width = rng.uniform(0.18, 0.35)
            self.band = 1 - im["band_depth"] * np.exp(-(dphi / width) ** 2) \
                + 0.08 * np.cos(phase)
        # k-space window
        n_pe = (h, w)[self.pe_axis]
        n_ro = (h, w)[1 - self.pe_axis]
        a_pe = max(8, int(round(n_pe * im["acq_fraction_phase"])))
        a_ro = max(8, int(round(n_ro * im["acq_fraction_readout"])))
        kr = np.fft.fftfreq(h) * h
        kc = np.fft.fftfreq(w) * w
        acq_r, acq_c = (a_pe, a_ro) if self.pe_axis == 0 else (a_ro, a_pe)
        mr = np.abs(kr) <= acq_r / 2
        mc = np.abs(kc) <= acq_c / 2
        self.mask = mr[:, None] & mc[None, :]
        filt = np.ones((h, w))
        apod = im["apodisation"]
        if apod == "hann":
            filt *= (0.5 + 0.5 * np.cos(np.pi * np.clip(kr / (acq_r / 2), -1, 1)))[:, None]
            filt *= (0.5 + 0.5 * np.cos(np.pi * np.clip(kc / (acq_c / 2), -1, 1)))[None, :]
        elif apod == "fermi":
            filt *= (1 / (1 + np.exp((np.abs(kr) - 0.45 * acq_r) / (0.03 * acq_r + 0.5))))[:, None]
            filt *= (1 / (1 + np.exp((np.abs(kc) - 0.45 * acq_c) / (0.03 * acq_c + 0.5))))[None, :]
        self.apod = filt * self.mask
        sig_f = self.apod.copy()
        if im["sequence"] == "ssfse":
            kpe = np.abs(kr if self.pe_axis == 0 else kc) / (a_pe / 2)
            t2f = np.exp(-im["t2_blur"] * np.clip(kpe, 0, 1))
            sig_f *= t2f[:, None] if self.pe_axis == 0 else t2f[None, :]
        self.sig_filter = sig_f
        self.noise_norm = np.sqrt(np.sum(self.apod**2))
        # parallel imaging g-factor map (FOV frame)
        gm = im["g_factor_max"]
        rr = np.linspace(-1, 1, h)[:, None]
        cc = np.linspace(-1, 1, w)[None, :]
        pe_c = rr if self.pe_axis == 0 else cc
        ro_c = cc if self.pe_axis == 0 else rr
        self.gmap = 1 + (gm - 1) * np.exp(-(pe_c / 0.45) ** 2 - (ro_c / 0.7) ** 2)
        self.phase = np.exp(1j * (rng.uniform(-0.6, 0.6) * rr + rng.uniform(-0.6, 0.6) * cc))
        self.sigma = None

    def fold(self, ext: np.ndarray) -> np.ndarray:
        cv, im = self.cv, self.im
        h, w = cv.h, cv.w
        out = ext[cv.mr:cv.mr + h, cv.mc:cv.mc + w].copy()
        wf = im["fold_weight"]
        if wf > 0:
            if self.pe_axis == 0:
                m = cv.mr
                out[:m] += wf * ext[cv.mr + h:cv.mr + h + m, cv.mc:cv.mc + w]
                out[h - m:] += wf * ext[:m, cv.mc:cv.mc + w]
            else:
                m = cv.mc
                out[:, :m] += wf * ext[cv.mr:cv.mr + h, cv.mc + w:cv.mc + w + m]
                out[:, w - m:] += wf * ext[cv.mr:cv.mr + h, :m]
        return out

    def __call__(self, obj_ext: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        im = self.im
        x = obj_ext * self.sens
        if self.band is not None:
            x = x * self.band
        x = self.fold(x) * self.phase
        h, w = x.shape
        if im["ghost_level"] > 0:
            sh = (h, w)[self.pe_axis] // im["parallel_R"]
            x = x + im["ghost_level"] * np.roll(x, sh, axis=self.pe_axis)
        k = np.fft.fft2(x) * self.sig_filter
        img = np.fft.ifft2(k)
        if self.sigma is None:
            mag = np.abs(img)
            body = mag > 0.15 * np.percentile(mag, 99)
            self.sigma = float(mag[body].mean()) / im["snr"] if body.any() else 0.01
        nz = (rng.standard_normal((h, w)) + 1j * rng.standard_normal((h, w))) * self.apod
        noise = np.fft.ifft2(nz) * (h * w) / self.noise_norm
        out = np.abs(img + noise * self.sigma * self.gmap)
        if im["sharpen"] > 0:
            out = out + im["sharpen"] * (out - ndimage.gaussian_filter(out, 1.2))
            out = np.maximum(out, 0)
        return (out * im["gain"]).astype(np.float32)


# --------------------------------------------------------------------------- case
def build_case(seed: int):
    """Anatomy, motion and label frames (no imaging); returns a dict of everything."""
    subj = draw_subject(seed)
    im = draw_imaging(seed)
    rng = np.random.default_rng([int(seed), 31])
    cv = Canvas(im, subj, rng)
    sig = tissue_signals(im, rng)
    paint = Painter(cv, sig)
    an = Anatomy(subj, cv)
    info = an.build(paint, im)
    # textures and bSSFP fat/water boundary lines, baked into the reference signal
    n1 = ndimage.gaussian_filter(rng.standard_normal(paint.S.shape), 2.5)
    n2 = ndimage.gaussian_filter(rng.standard_normal(paint.S.shape), 0.8)
    n1 /= n1.std() + 1e-9
    n2 /= n2.std() + 1e-9
    S = paint.S * (1 + paint.tex * (0.7 * n1 + 0.5 * n2))
    if im["sequence"] == "bssfp" and im["ink"] > 0:
        ff = ndimage.gaussian_filter(paint.fat, 0.9)
        S = S * (1 - im["ink"] * 4 * ff * (1 - ff))
    S = ndimage.gaussian_filter(np.maximum(S, 0), 0.45)
    motion = Motion(an, subj, rng)
    n_t = im["n_frames"]
    s_t = strain_curve(n_t, rng)
    times = np.round(np.arange(n_t) * im["frame_interval_s"], 6)
    return dict(subj=subj, im=im, cv=cv, an=an, info=info, S=S, L=paint.L, Sb=paint.Sb,
                Ab=paint.Ab, motion=motion, s_t=s_t, times=times, rng=rng)


def _coords(case, s: float, t_s: float):
    cv = case["cv"]
    ux, uy = case["motion"].field(cv.X, cv.Y, s, t_s)
    ix, iy = cv.to_image_vec(ux, uy)
    rows = np.arange(cv.H)[:, None] - iy / cv.sr
    cols = np.arange(cv.W)[None, :] - ix / cv.sc
    return rows, cols


def _labels_at(case, rows, cols) -> np.ndarray:
    cv = case["cv"]
    lab = ndimage.map_coordinates(case["L"], [rows, cols], order=0, mode="nearest")
    lab[case["Ab"] > 0.5] = 0
    lab = lab[cv.mr:cv.mr + cv.h, cv.mc:cv.mc + cv.w]
    return _largest_pieces(lab)


def _largest_pieces(lab: np.ndarray) -> np.ndarray:
    out = np.zeros_like(lab)
    four = ndimage.generate_binary_structure(2, 1)
    for v in (1, 2, 3):
        cc, n = ndimage.label(lab == v, structure=four)
        if n == 0:
            continue
        if n == 1:
            out[cc == 1] = v
            continue
        sizes = np.bincount(cc.ravel())[1:]
        out[cc == 1 + int(np.argmax(sizes))] = v
    return out


def _descent(lab_rest, lab_peak, sr) -> dict[str, float]:
    out = {}
    for v, name in ((1, "bladder"), (2, "uterus_vagina"), (3, "rectum")):
        r0 = np.nonzero((lab_rest == v).any(axis=1))[0]
        r1 = np.nonzero((lab_peak == v).any(axis=1))[0]
        out[name] = float((r1.max() - r0.max()) * sr) if len(r0) and len(r1) else 0.0
    return out


def generate(seed: int):
    """One case: frames float32 (T, H, W), labels uint8 (T, H, W), spacing (row, col) mm,
    params dict.  Deterministic in ``seed``."""
    case = build_case(seed)
    cv, im, subj = case["cv"], case["im"], case["subj"]
    s_t, times = case["s_t"], case["times"]
    rest, peak = 0, int(np.argmax(s_t))
    # keep the largest organ descent inside 5..58 mm (rescale motion if needed)
    lab_rest = _labels_at(case, *_coords(case, 0.0, times[rest]))
    for _ in range(3):
        lab_peak = _labels_at(case, *_coords(case, 1.0, times[peak]))
        desc = _descent(lab_rest, lab_peak, cv.sr)
        mx = max(desc.values())
        if mx > 57:
            case["motion"].k *= 52.0 / mx
        elif mx < 6:
            case["motion"].k *= 8.0 / max(mx, 1.0)
        else:
            break
    imager = Imager(im, cv, case["info"], np.random.default_rng([int(seed), 41]))
    noise_rng = np.random.default_rng([int(seed), 51])
    n_t = len(s_t)
    frames = np.zeros((n_t, cv.h, cv.w), np.float32)
    labels = np.zeros((n_t, cv.h, cv.w), np.uint8)
    for t in range(n_t):
        rows, cols = _coords(case, float(s_t[t]), float(times[t]))
        obj = ndimage.map_coordinates(case["S"], [rows, cols], order=1, mode="nearest")
        obj = obj * (1 - case["Ab"]) + case["Sb"]
        frames[t] = imager(obj, noise_rng)
        labels[t] = _labels_at(case, rows, cols)
    desc = _descent(labels[rest], labels[peak], cv.sr)
    params = {
        "seed": int(seed),
        "generator": "patho",
        "spacing_mm": [float(cv.sr), float(cv.sc)],
        "matrix": [cv.h, cv.w],
        "n_frames": n_t,
        "frame_interval_s": im["frame_interval_s"],
        "snr": im["snr"],
        "labels": dict(LABELS),
        "rest_frame": rest,
        "peak_frame": peak,
        "strain": [round(float(v), 4) for v in s_t],
        "descent_mm": desc,
        "motion_scale": round(float(case["motion"].k), 4),
        "pathologies": subj["pathologies"],
        "pathology_mm": subj["pathology_mm"],
        "anatomy": {k: v for k, v in subj.items()
                    if k not in ("pathologies", "pathology_mm", "anatomy_rng")},
        "anatomy_derived": case["info"],
        "imaging": im,
    }
    return frames, labels, (float(cv.sr), float(cv.sc)), params


# --------------------------------------------------------------------------- CLI
def _run_one(job: tuple[int, str]) -> str:
    seed, out = job
    t0 = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    case_dir = Path(out) / f"{PREFIX}_{seed:03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    times = np.arange(frames.shape[0]) * params["frame_interval_s"]
    desc = f"PATHO cine sagittal ({params['imaging']['sequence']})"
    series = CineSeries(frames=frames, spacing_mm=spacing, times_s=times,
                        meta={"series_description": desc, "subject_id": f"PATHO{seed:03d}"})
    write_dicom_series(series, case_dir / "series", seed=seed, patient_id=f"PATHO{seed:03d}",
                       patient_name=f"PATHO^{seed:03d}")
    np.save(case_dir / "truth.npy", labels)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    dt = time.perf_counter() - t0
    return (f"{case_dir.name}: {frames.shape[0]}x{frames.shape[1]}x{frames.shape[2]} "
            f"{params['imaging']['sequence']} snr={params['snr']:.1f} "
            f"pathologies={','.join(params['pathologies']) or 'none'} "
            f"descent={max(params['descent_mm'].values()):.0f}mm ({dt:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", required=True, help='e.g. "0-11" or "1,5,7"')
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for line in map_jobs(_run_one, [(s, args.out) for s in seeds], args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
