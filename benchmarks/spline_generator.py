"""Independent spline / thin-plate-spline generator of dynamic midsagittal female pelvic MRI.

Held-out test cases for the segmentation model, sharing no code, shapes or parameters with the
project's phantoms: cine series with exact per-frame truth (0 background, 1 bladder = lumen +
wall without urethra, 2 uterus_vagina = corpus + cervix + vagina with walls, 3 rectum = anal
canal + rectum with walls up to the rectosigmoid), each organ one 4-connected piece per frame.

Anatomy, in mm in a frame with x posterior, y inferior, origin at the inferior symphysis; a
random similarity (scale 0.88-1.12, rotation +-12 deg, stretch +-4 %) and FOV offset place it
in the image, column = x / col spacing, row = y / row spacing: row 0 SUPERIOR, column 0
ANTERIOR.  All structures are closed polygons with seed-random control-point jitter:
  * body outline: periodic cubic B-spline (belly, mons, perineum, natal cleft, back); skin,
    fat, rectus abdominis; rigid bones: symphysis (super-ellipse, cortex + marrow, long axis
    cranio-ventral to caudo-dorsal), sacrum swept between an anteriorly concave spline and its
    offset (S1-S5, canal), coccyx, L2-L5 with discs and spinous processes; spinal canal,
    paraspinal muscle, aorta.
  * variable-radius tube sweeps along splines: ONE centreline introitus -> vagina -> cervix ->
    corpus (ante/retroverted, flexed, small if postmenopausal; endometrium, junctional zone,
    canals), ONE centreline anus -> anal canal -> anorectal junction -> rectum along the
    sacrum (content empty, gas, stool with bubbles, or rectal gel); urethra, levator plate,
    puborectalis sling, external sphincter, perineal body, sigmoid; small-bowel loops and
    bladder as star-shaped truncated Fourier contours (bladder with a funnelled neck).
  * packing by signed-distance fields: uterine axis angles searched to drape over the bladder
    in front of a reserved rectal corridor; rectum centred in the free space before the
    sacrum, pushed out, radii fitted, stopped where blocked; bladder and loops shrunk.
Dynamics: 10-35 frames, strain rest -> cosine ramp -> Valsalva hold -> optional release.
Displacement s1(t) D1 + s2(t) D2 + small jitter: D1 a thin-plate spline through moving points
(bladder neck/base/dome, fornix, internal os, fundus, anorectal junction, anus, perineal body,
introitus, levator plate, bowel descend postero-inferiorly; belly bulges) and fixed anchors;
D2 an optional rectocele (anterior rectal wall bulges forward, lagging the strain).  Fields
are scaled until det(Jacobian) > 0.3 (a diffeomorphism); polygon vertices are moved, so the
truth stays exact, bones stay rigid.
Contrast: T2 single-shot FSE or bSSFP (India-ink fat-water cancellation in most bSSFP
cases), tissue levels from broad ranges, per-tissue smooth texture warped with the motion.
Acquisition: H, W each 224-288, spacing 1.1-1.5 mm (row/col within 3 %), 3x supersampled
partial volume, FOV offset, 2-4 Gaussian coil blobs x quadratic polynomial, partial intensity
normalisation, anisotropic blur (phase encode AP or SI), ghosts (30 %), Rician noise SNR 5-35
with a g-factor band (40 %), int16 with a random scale, frame interval 0.7-2.2 s; a sagittal
NIfTI (W, H, 1, T) that core.io.read_series reads back exactly (checked for every case).

    python benchmarks/spline_generator.py --seeds 0-11 --out DIR [--montage PNG]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from PIL import Image, ImageDraw
from scipy import interpolate, ndimage

from core.io import read_series
from core.seeds import map_jobs, parse_seeds

Arr = np.ndarray
SS = 3  # supersampling of the rasteriser (partial volume)
ORGANS = ("bladder", "uterus_vagina", "rectum")
COLOURS = {1: (255, 214, 0), 2: (255, 64, 160), 3: (0, 200, 255)}
# tissue: (T2 SSFSE level range, bSSFP level range, texture amplitude range)
TISSUES: dict[str, tuple[tuple[float, float], ...]] = {
    "skin": ((.30, .50), (.25, .45), (.02, .06)), "fat": ((.55, .85), (.70, .95), (.02, .08)),
    "muscle": ((.10, .22), (.10, .22), (.04, .12)), "bone": ((.01, .05), (.01, .05), (0, .05)),
    "marrow": ((.35, .65), (.45, .80), (.05, .15)), "disc": ((.35, .75), (.40, .75), (.03, .08)),
    "csf": ((.80, 1.0), (.85, 1.0), (.01, .04)), "blood": ((.03, .30), (.70, 1.0), (.03, .10)),
    "urine": ((.85, 1.0), (.85, 1.0), (.01, .04)),
    "bladder_wall": ((.12, .28), (.15, .30), (.03, .08)),
    "urethra": ((.15, .30), (.15, .30), (.03, .08)), "mucus": ((.50, .90), (.55, .90), (.03, .10)),
    "vagina_wall": ((.22, .45), (.20, .40), (.04, .10)),
    "cervix": ((.08, .22), (.15, .30), (.03, .08)),
    "myometrium": ((.30, .55), (.25, .45), (.04, .10)), "jz": ((.08, .20), (.18, .32), (.03, .08)),
    "endometrium": ((.60, .90), (.50, .80), (.03, .08)),
    "rectal_wall": ((.18, .35), (.18, .35), (.04, .10)), "gas": ((0, .03), (0, .03), (0, .30)),
    "stool": ((.20, .55), (.25, .60), (.20, .40)), "gel": ((.75, 1.0), (.80, 1.0), (.01, .05)),
    "fluid": ((.80, 1.0), (.85, 1.0), (.01, .05)), "chyme": ((.35, .70), (.40, .70), (.10, .25)),
    "bowel_wall": ((.22, .40), (.20, .40), (.03, .08)),
    "perineal": ((.12, .28), (.12, .26), (.04, .10)),
}


# ---------------------------------------------------------------- geometry helpers
def rot(v: Any, deg: float) -> Arr:
    """Rotate row vector(s); in (x posterior, y inferior) a positive angle turns "up" towards
    posterior and "down" towards anterior."""
    a = np.deg2rad(deg)
    return np.asarray(v, float) @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])


def unit(v: Any) -> Arr:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def arclen(p: Arr) -> Arr:
    return np.r_[0.0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]


def sst(x: Any) -> Arr:
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


def spline(ctrl: Any, step: float = 1.0, closed: bool = False) -> Arr:
    """Cubic B-spline through control points, resampled every ``step`` mm of arc length."""
    c = np.asarray(ctrl, float)
    c = c[np.r_[True, np.hypot(*np.diff(c, axis=0).T) > 1e-3]]
    c = np.vstack([c, c[:1]]) if closed else c
    tck, _ = interpolate.splprep(c.T, s=0, k=min(3, len(c) - 1), per=int(closed))
    d = np.array(interpolate.splev(np.linspace(0, 1, 120 * len(c)), tck)).T
    s = arclen(d)
    si = np.linspace(0, s[-1], max(int(s[-1] / step), 3), endpoint=not closed)
    return np.c_[np.interp(si, s, d[:, 0]), np.interp(si, s, d[:, 1])]


def normals(p: Arr, closed: bool = False) -> Arr:
    """Unit normals (t_y, -t_x): pointing anterior for a curve that runs upward."""
    t = np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0) if closed else np.gradient(p, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-12
    return np.c_[t[:, 1], -t[:, 0]]


def blob(c: Any, axis: Any, a: float, b: float, p: float = 2.0, n: int = 64) -> Arr:
    """Super-ellipse (p=2 ellipse, larger p a rounded rectangle), semi-axis a along ``axis``."""
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    u = unit(axis)
    cs, sn = np.cos(th), np.sin(th)
    x, y = a * np.sign(cs) * np.abs(cs) ** (2 / p), b * np.sign(sn) * np.abs(sn) ** (2 / p)
    return np.asarray(c, float) + x[:, None] * u + y[:, None] * np.array([u[1], -u[0]])


def tube(cl: Arr, ra: Any, rb: Any = None, step: float = 2.0) -> list[Arr]:
    """Variable-radius sweep: outline polygon plus discs (fill bends, round the ends); ``ra``
    is the radius on the normal side (anterior for an upward curve), ``rb`` the other."""
    ra = np.broadcast_to(np.asarray(ra, float), (len(cl),))
    rb = ra if rb is None else np.broadcast_to(np.asarray(rb, float), (len(cl),))
    n = normals(cl)
    t = np.c_[-n[:, 1], n[:, 0]]
    polys = [np.vstack([cl + ra[:, None] * n, (cl - rb[:, None] * n)[::-1]])]
    s = arclen(cl)
    ph = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    cs, sn = np.cos(ph), np.sin(ph)
    for i in np.unique(np.r_[np.searchsorted(s, np.arange(0, s[-1], step)), len(cl) - 1]):
        rn = np.where(sn > 0, ra[i], rb[i])
        polys.append(cl[i] + np.outer(0.5 * (ra[i] + rb[i]) * cs, t[i]) + np.outer(rn * sn, n[i]))
    return polys


def star(c: Arr, r: Arr) -> Arr:
    th = np.linspace(0, 2 * np.pi, len(r), endpoint=False)
    return c + r[:, None] * np.c_[np.cos(th), np.sin(th)]


def wobble(rng: np.random.Generator, n: int, amp: float, kmax: int = 6) -> Arr:
    """Truncated Fourier series 1 + sum_k a_k cos(k theta + phi_k) (contour jitter)."""
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return 1 + sum(rng.normal(0, amp / k) * np.cos(k * th + rng.uniform(0, 2 * np.pi))
                   for k in range(2, kmax + 1))


def paint(polys: list[Arr], x0: float, y0: float, w: int, h: int, k: int = 1) -> Arr:
    """Fill polygons (cell units, cell i centred at x0 + i) on a k-times supersampled grid."""
    img = Image.new("L", (w * k, h * k), 0)
    dr = ImageDraw.Draw(img)
    for p in polys:
        if len(p) > 2:
            dr.polygon(((np.asarray(p) - (x0, y0) + 0.5) * k - 0.5).ravel().tolist(), fill=255)
    return np.asarray(img)


class SDF:
    """Signed distance (mm, negative inside) to a union of polygons, on a 1-mm grid."""

    X0, Y0, NX, NY = -220.0, -480.0, 540, 760

    def __init__(self, polys: list[Arr], invert: bool = False) -> None:
        m = paint(polys, self.X0, self.Y0, self.NX, self.NY) > 0
        m = ~m if invert else m  # invert: distance to the outside of the polygons
        edt = ndimage.distance_transform_edt
        self.d = edt(~m) - edt(m) if m.any() else np.full(m.shape, 1e3)
        self.g = np.gradient(self.d)

    def __call__(self, p: Arr, a: Arr | None = None) -> Arr:
        p = np.atleast_2d(p)
        return ndimage.map_coordinates(self.d if a is None else a,
                                       [p[:, 1] - self.Y0, p[:, 0] - self.X0], order=1,
                                       mode="nearest")

    def grad(self, p: Arr) -> Arr:
        g = np.c_[self(p, self.g[1]), self(p, self.g[0])]
        return g / (np.linalg.norm(g, axis=1, keepdims=True) + 1e-9)


Fields = list[tuple[SDF, float]]


def clearance(p: Arr, fields: Fields) -> Arr:
    return np.min([f(p) - gap for f, gap in fields], axis=0)


def push_out(cl: Arr, r: Any, fields: Fields, keep: int = 2, cap: float = 20.0) -> Arr:
    """Move a tube centreline out of other structures (smoothed corrections along the SDF
    gradients), at most ``cap`` mm; the first ``keep`` points stay."""
    delta = np.zeros_like(cl)
    for _ in range(60):
        p, corr, worst = cl + delta, np.zeros_like(cl), 0.0
        for f, gap in fields:
            d = np.minimum(f(p) - r - gap, 0)
            d[:keep] = 0
            worst = min(worst, float(d.min()))
            corr -= d[:, None] * f.grad(p)
        if worst > -0.4:
            break
        corr = ndimage.gaussian_filter1d(corr, 3, axis=0, mode="nearest") * 1.5
        corr[:keep] = 0
        delta += corr
        delta *= min(1.0, cap / (float(np.linalg.norm(delta, axis=1).max()) + 1e-9))
    return cl + delta


def shrink_star(c: Arr, r: Arr, fields: Fields, rmin: float) -> Arr:
    """Reduce the radii of a star-shaped contour until it clears the given structures."""
    th = np.linspace(0, 2 * np.pi, len(r), endpoint=False)
    u = np.c_[np.cos(th), np.sin(th)]
    for _ in range(40):
        d = clearance(c + r[:, None] * u, fields)
        if d.min() > -0.3 or np.all(r[d < 0] <= rmin):
            break
        r = np.maximum(np.where(d < 0, r + 1.2 * d - 0.2, r), rmin)
    return r


def fit_radii(cl: Arr, ra: Arr, rb: Arr, fields: Fields, rmin: float) -> tuple[Arr, Arr]:
    """Cut a tube's radii side by side until both walls clear the given structures."""
    n = normals(cl)
    for _ in range(15):
        da, db = clearance(cl + ra[:, None] * n, fields), clearance(cl - rb[:, None] * n, fields)
        if min(da.min(), db.min()) > -0.3:
            break
        ra = np.maximum(np.where(da < 0, ra + da - 0.2, ra), rmin)
        rb = np.maximum(np.where(db < 0, rb + db - 0.2, rb), rmin)
    return ra, rb


class TPS:
    """2-D thin-plate spline interpolating displacement vectors at control points."""

    def __init__(self, ctrl: Arr, disp: Arr) -> None:
        self.c = np.asarray(ctrl, float) / 100.0
        n = len(self.c)
        a = np.zeros((n + 3, n + 3))
        a[:n, :n] = self._k(self.c, self.c) + 1e-6 * np.eye(n)
        a[:n, n:] = np.c_[np.ones(n), self.c]
        a[n:, :n] = a[:n, n:].T
        self.w = np.linalg.solve(a, np.vstack([disp, np.zeros((3, 2))]))

    @staticmethod
    def _k(p: Arr, q: Arr) -> Arr:
        r2 = ((p[:, None, :] - q[None, :, :]) ** 2).sum(-1)
        return 0.5 * r2 * np.log(r2 + 1e-12)

    def __call__(self, pts: Arr) -> Arr:
        p = np.asarray(pts, float) / 100.0
        return np.concatenate([self._k(q, self.c) @ self.w[:-3] + np.c_[np.ones(len(q)), q]
                               @ self.w[-3:] for q in np.array_split(p, len(p) // 20000 + 1)])


@dataclass
class Layer:
    tissue: str
    polys: list[Arr]
    organ: int = 0
    rigid: bool = False


@dataclass
class Anatomy:
    layers: list[Layer]  # painter's order
    fixed: Arr  # anchors of the motion
    moving: Arr  # moving control points ...
    disp: Arr  # ... and their displacement at peak strain (mm)
    rectocele: tuple[Arr, Arr] | None  # (points, displacements) of the rectocele field
    skin: tuple[Arr, Arr]  # anterior / posterior skin points (coil placement)
    params: dict[str, Any]


# ---------------------------------------------------------------- anatomy
def build_anatomy(rng: np.random.Generator) -> Anatomy:
    """Rest-state anatomy in the anatomy frame (mm): painter-ordered layers and controls."""
    U = rng.uniform

    def J(s: float) -> Arr:
        return rng.normal(0, s, 2)

    bones: list[Layer] = []
    outer: list[Arr] = []  # outer contours of the bones (packing)

    def bone(c: Arr, ax: Arr, a: float, b: float, p: float, m: float, kind: str = "bone") -> None:
        outer.append(blob(c, ax, a, b, p))
        bones.extend([Layer(kind, [outer[-1]], rigid=True),
                      Layer("marrow", [blob(c, ax, a - m, b - m, p)], rigid=True)])

    # pubic symphysis: long axis from the inferior margin (origin) cranio-ventrally
    tilt, slen, sth = U(22, 40), U(38, 48), U(11, 15)
    sdir = rot([0, -1], -tilt)
    SP, ST = np.zeros(2), slen * sdir
    smid = 0.5 * ST
    bone(smid, sdir, slen / 2 + 1, sth / 2, 2.4, 1.8)
    # sacrum: anterior surface concave anteriorly, thickness tapering S1 -> S5, canal
    PR, SCJ = np.array([88.0, -118.0]) + J(6), np.array([111.0, -30.0]) + J(5)
    u4 = np.linspace(0, 1, 4)[:, None]
    A = spline(PR + u4 * (SCJ - PR) + U(14, 30) * np.sin(np.pi * u4) * unit(rot(SCJ - PR, -90)))
    nA = normals(A)
    nA *= np.sign(nA[len(A) // 2, 0])
    nb = len(A)
    thick = 46 - 33 * np.linspace(0, 1, nb) + U(-4, 4)
    B = A + thick[:, None] * nA
    outer.append(np.vstack([A, B[::-1]]))
    bones.append(Layer("bone", [outer[-1]], rigid=True))
    cuts = np.linspace(0, nb - 1, 6).astype(int)
    for a, b in zip(cuts[:-1] + 2, cuts[1:] - 1, strict=True):
        inner = np.vstack([A[a:b] + 1.8 * nA[a:b], (B[a:b] - 1.8 * nA[a:b])[::-1]])
        bones.append(Layer("marrow", [inner], rigid=True))
    k = int(0.55 * nb)
    bones.append(Layer("csf", tube(A[:k] + 0.66 * thick[:k, None] * nA[:k], 0.08 * thick[:k]),
                       rigid=True))
    # coccyx: three segments curving anteriorly
    cdir, c0 = rot(unit(A[-1] - A[-6]), U(20, 40)), A[-1] + 0.5 * thick[-1] * nA[-1]
    for j in range(3):
        ln = U(8, 11)
        bone(c0 + cdir * (ln / 2 + 1.2), cdir, ln / 2, 6 - 1.25 * j, 2.5, 1.3)
        c0, cdir = c0 + cdir * (ln + 1.2), rot(cdir, U(4, 14))
    CT = c0 - 1.2 * cdir
    # lumbar spine L5..L2 with lordosis: discs, bodies, spinous processes
    up, c = rot(-unit(A[6] - A[0]), U(15, 28)), PR + 20 * nA[0]
    spine_ant, canal_c, para_c = [], [], []
    for _ in range(4):
        hd, hb, dd = U(8, 12), U(26, 31), U(34, 42)
        post = np.array([-up[1], up[0]])
        outer.append(blob(c + up * hd / 2, up, hd / 2 + 0.3, dd / 2 - 1, 3))
        bones.append(Layer("disc", [outer[-1]], rigid=True))
        c = c + up * hd
        bc = c + up * hb / 2
        bone(bc, up, hb / 2, dd / 2, 5, 1.6)
        sp = bc + post * (dd / 2 + 36) + up * 3
        bones += [Layer("bone", [blob(sp, post, 17, 6, 2.5)], rigid=True),
                  Layer("marrow", [blob(sp, post, 15, 4, 2.5)], rigid=True)]
        spine_ant.append(bc - post * dd / 2)
        canal_c.append(bc + post * (dd / 2 + 8))
        para_c.append(bc + post * (dd / 2 + 44))
        c, up = c + up * hb, rot(up, U(8, 14))
    F_bone = SDF(outer)
    # body outline (periodic spline), skin, fat, abdominal wall, paraspinal muscle, vessels
    belly, fat_ant, mons, fat_back = U(0, 40), U(8, 35), U(15, 35), U(8, 35)
    yp, xan, xvi, xum = U(38, 52), U(58, 72), U(13, 22), U(-3, 5)
    ant = [(-75 - .7 * belly - fat_ant, -470.0), (-70 - belly - fat_ant, -300.0),
           (-62 - .8 * belly - fat_ant, -170.0),
           (ST[0] - 14 - mons - .15 * belly, ST[1] - 35), (ST[0] - 10 - mons, ST[1] + 4)]
    i8, i4 = int(.8 * nb), int(.4 * nb)
    post_pts = [CT + (22, 24), B[i8] + (12 + .4 * fat_back) * nA[i8],
                B[i4] + (16 + .6 * fat_back) * nA[i4], B[0] + (25 + fat_back) * nA[0],
                para_c[0] + (28 + fat_back, 0), para_c[2] + (30 + fat_back, 0),
                (para_c[3][0] + 40 + fat_back, -470.0)]
    O = spline(ant + [(smid[0] - 10 - .8 * mons, smid[1] + 20), (-20 - .4 * mons, yp - 13),
                      (xum - 4, yp - 2), (xvi, yp + 1), (.5 * (xvi + xan), yp + 3),
                      (xan, yp + 1), (xan + 20, yp - 6)] + post_pts, 1.5, closed=True)
    skin = U(1.8, 3.2)
    fat_in = min([O + skin * normals(O, True), O - skin * normals(O, True)],  # inner offset
                 key=lambda p: abs(np.sum(p[:, 0] * np.roll(p[:, 1], 1)
                                          - p[:, 1] * np.roll(p[:, 0], 1))))
    F_body, F_ext = SDF([O]), SDF([O], invert=True)
    rth = U(7, 13)
    rect_c = [np.array(p) + (f + rth / 2 + 3, 0)
              for p, f in zip(ant[:4], [fat_ant] * 3 + [mons], strict=True)]
    rectus = tube(spline(rect_c + [ST + (-4, -4)]), rth / 2)
    F_wall = SDF(rectus)
    rv = U(7, 11)
    soft = [Layer("skin", [O]), Layer("fat", [fat_in]), Layer("muscle", rectus),
            Layer("muscle", tube(spline([B[int(.45 * nb)] + 12 * nA[int(.45 * nb)],
                                         B[0] + 14 * nA[0]] + para_c + [para_c[-1] + 60 * post]),
                                 U(18, 25))),
            Layer("csf", tube(spline([A[0] + 0.66 * thick[0] * nA[0]] + canal_c), U(6, 8))),
            Layer("blood", tube(spline([p + (-(rv + 2), 0) for p in spine_ant[1:]]
                                       + [spine_ant[-1] + (-(rv + 2), -80)]), rv))]
    # bladder: star-shaped Fourier contour with a funnelled neck
    fill = U(0.3, 1.4)
    R = 31 * np.sqrt(fill)
    BN = np.array([U(12, 20), U(-28, -14)])
    C = BN + np.array([0.15 * R, -0.9 * R]) + J(2)
    th = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    rb = wobble(rng, 180, 0.08) / np.sqrt((np.cos(th) / (R * U(1.0, 1.3))) ** 2
                                          + (np.sin(th) / (R * U(.85, 1.05))) ** 2)
    dth = np.angle(np.exp(1j * (th - np.arctan2(BN[1] - C[1], BN[0] - C[0]))))
    rb = rb + (np.linalg.norm(BN - C) - rb[np.argmin(np.abs(dth))]) * np.exp(
        -(dth / U(0.25, 0.4)) ** 2)
    rb = shrink_star(C, rb, [(F_bone, 3), (F_wall, 2)], 6)
    F_blad = SDF([star(C, rb)])
    # rectal parameters, pelvic floor, and the rectal corridor reserved before the uterus
    content = str(rng.choice(["empty", "gas", "stool", "gel"], p=[0.25, 0.15, 0.25, 0.35]))
    rac, la, ara = U(7, 10), U(28, 40), U(95, 130)
    bta = min(U(10, 32), np.degrees(np.arcsin(np.clip((xan - xvi - 30) / la, 0.1, 1))))
    ramp = {"empty": U(6, 9), "gas": U(12, 20), "stool": U(12, 20), "gel": U(15, 25)}[content]
    ac = rot([0, -1], -bta)  # anal canal axis, up and forward
    AN = np.array([xan, yp - rac - 0.5])
    ARJ = AN + la * ac
    dr = rot(-ac, -ara)  # lower rectum, up and back
    gap = U(4, 14)
    bis = unit(unit(-ac) + unit(dr))  # into the anorectal angle: the puborectalis sling
    sling_c = ARJ + (rac + U(5, 8)) * bis
    lev = spline([sling_c, 0.5 * (sling_c + CT) + (0, U(2, 6)), CT + 2 * unit(sling_c - CT)])
    floor = [Layer("muscle", tube(lev, U(2.5, 4.5))),
             Layer("muscle", [blob(sling_c, bis, U(5, 8), U(4, 6))])]
    F_floor = SDF([p for lay in floor for p in lay.polys])
    n_up = rot(unit(CT - sling_c), -90)  # normal of the levator plate, towards the pelvis
    rctrl = [AN, AN + 0.5 * la * ac, ARJ, ARJ + 12 * dr]
    for f in (0.5, 1.0):  # the ampulla rests on the plate and passes in front of the coccyx
        p = sling_c + f * (CT - sling_c) + (min(ramp, 16) + 6) * n_up
        if p[1] < rctrl[-1][1] - 5:
            rctrl.append(p)
    rres = 0.8 * min(ramp, 14)
    res_cl = spline(list(rctrl[2:]) + [A[i] - (gap + rres) * nA[i] for i in
                                       (int(u * (nb - 1)) for u in (0.7, 0.45, 0.2))
                                       if A[i][1] < rctrl[-1][1] - 8])
    res_n = normals(res_cl)  # anterior normals of the planned rectal path
    F_res = SDF(tube(res_cl, rres))
    # uterus + cervix + vagina: one centreline, axis angles searched to drape the organs
    post_meno, retro = bool(U() < 0.2), bool(U() < 0.22)
    sz = U(0.45, 0.65) if post_meno else U(0.85, 1.2)
    rv0, rvag = U(4, 6), U(6, 9)
    rvault = rvag + U(2, 5)
    VI = np.array([xvi, yp - rv0 - 1])
    vl, lc = U(60, 80), U(25, 35) * max(sz, 0.75)
    lu, ru, rc = U(50, 75) * sz, U(17, 27) * sz, U(10, 14) * max(sz, 0.8)
    ri = rc * U(0.75, 0.95)
    ang0 = np.array([U(15, 35), U(0, 15), U(10, 35) if retro else U(-25, 15), 0.0])
    ang0[3] = U(0, 20) if retro else max(-U(5, 60), -85 - ang0[2])
    pack = [(F_blad, 2.5), (F_bone, 3.0), (F_wall, 2.0), (F_res, 2.0)]

    def uterus(ang: Arr) -> tuple[Arr, Arr, Arr, Arr, Arr, int, int]:
        """Centreline and radii (vagina, cervix, corpus, envelope) for the axis angles
        (vagina, upper-vagina bend, cervix from "up", flexion), degrees."""
        dv = rot([0, -1], ang[0])
        V1 = VI + 0.5 * vl * dv
        Fx = V1 + 0.5 * vl * rot(dv, ang[1])
        dc = rot([0, -1], ang[2])
        IO = Fx + lc * dc
        C1 = IO + 0.45 * lu * rot(dc, ang[3] / 2)
        cl = spline([VI, V1, Fx, IO, C1, C1 + max(0.55 * lu - 0.6 * ru, 4) * rot(dc, ang[3])])
        s = arclen(cl)
        iF, iIO = (int(np.argmin(np.linalg.norm(cl - p, axis=1))) for p in (Fx, IO))
        r_vag = rv0 + (rvault - rv0) * sst(s / s[iF]) ** 1.5
        r_cx = rc * (0.8 + 0.2 * sst((s - s[iF] + 10) / 12))
        r_cor = ri + (ru - ri) * sst((s - s[iIO]) / max(0.5 * (s[-1] - s[iIO]), 5))
        return cl, r_vag, r_cx, r_cor, np.where(s <= s[iF], r_vag,
                                                np.where(s <= s[iIO], r_cx, r_cor)), iF, iIO

    best, ang = np.inf, ang0
    for k in range(80):
        cand = ang0 + (rng.normal(0, [6, 6, 12, 15]) if k else 0)
        cand[2] = np.clip(cand[2], -30, 40)
        cand[3] = np.clip(cand[3], -90 - cand[2], 50 - cand[2])
        cl, *_, r_out, iF, _ = uterus(cand)
        front = (cl[iF:, 0] < C[0] - 0.2 * R) & (cl[iF:, 1] > C[1] - 0.6 * R)  # before bladder
        j = np.argmin(((cl[:, None, :] - res_cl[None, ::3, :]) ** 2).sum(-1), axis=1) * 3
        behind = (np.einsum("ij,ij->i", cl - res_cl[j], res_n[j]) < 0) & (j < len(res_cl) - 4)
        pen = sum(wt * float(np.square(np.minimum(f(cl) - gp - r_out, 0)).sum())
                  for (f, gp), wt in zip(pack, (0.3, 1.0, 1.0, 3.0), strict=True))
        pen += 0.02 * float(np.square((cand - ang0) / [6, 6, 12, 15]).sum())
        if (pen := pen + 50.0 * (front.sum() + behind.sum())) < best:
            best, ang = pen, cand
    ucl, r_vag, r_cx, r_cor, r_out, iF, iIO = uterus(ang)
    ucl = push_out(ucl, r_out, pack, keep=3, cap=8)
    s = arclen(ucl)
    sF, sIO, sE = s[iF], s[iIO], s[-1]

    def seg(lo: float, hi: float) -> slice:
        return slice(int(np.searchsorted(s, lo)), int(np.searchsorted(s, hi)) + 1)

    vag, cx, cor = seg(0, sF + 4), seg(sF - 9, sIO + 3), seg(sIO - 3, sE)
    uv = [Layer("vagina_wall", tube(ucl[vag], r_vag[vag]), 2),
          Layer("cervix", tube(ucl[cx], r_cx[cx]), 2),
          Layer("myometrium", tube(ucl[cor], r_cor[cor]), 2)]
    F_uv = SDF([p for lay in uv for p in lay.polys])
    vgel, lum, en = bool(U() < 0.2), seg(3, sF - 2), seg(sIO + 3, sE)
    uv += [Layer("gel" if vgel else "mucus", tube(ucl[lum], U(2, 4) if vgel else U(.5, 1.2)), 2),
           Layer("mucus", tube(ucl[seg(sF - 7, sIO)], U(0.8, 1.8)), 2)]  # cervical canal
    prof = np.sin(np.pi * np.clip((s[en] - sIO - 3) / (sE - sIO - 3 + 0.6 * ru), 0, 1)) ** 0.6
    e = U(0.8, 1.5) if post_meno else U(2, 7)
    if not post_meno:
        uv.append(Layer("jz", tube(ucl[en], (e + U(3, 7)) * prof + 0.3), 2))
    uv.append(Layer("endometrium", tube(ucl[en], e * prof + 0.2), 2))
    # anal canal + rectum: centred in the free space before the sacrum, radii fitted
    for u in (0.8, 0.6, 0.4, 0.2, U(0.0, 0.1)):
        i = int(u * (nb - 1))
        pts = A[i] - np.arange(0.0, 100.0)[:, None] * nA[i]
        free = (F_bone(pts) > 3) & (clearance(pts, [(F_uv, 2.5), (F_blad, 3), (F_ext, 10)]) > 0)
        d0 = int(np.argmax(free))
        width = int(np.argmin(np.r_[free[d0:], False])) if free.any() else 0
        if width < 10:
            break
        p = A[i] - (d0 + min(gap + min(ramp, width / 2), width / 2)) * nA[i]
        if p[1] < rctrl[-1][1] - 8:
            rctrl.append(p)
    if len(rctrl) == 4:
        rctrl.append(ARJ + 35 * dr)
    rcl0 = spline(rctrl)
    s = arclen(rcl0)
    taper = 1 - (1 - U(0.55, 0.8)) * sst((s - 0.6 * s[-1]) / (0.4 * s[-1]))
    r = np.where(s <= la, rac, (rac + (ramp - rac) * sst((s - la) / 25)) * taper)
    kra, krb = U(1.0, 1.2), U(0.8, 1.0)  # the ampulla bulges anteriorly
    ila = int(np.searchsorted(s, la))
    fld = [(F_uv, 2.5), (F_bone, 3.0), (F_blad, 3.0), (F_floor, 0.5), (F_ext, 8.0)]
    rcl = push_out(rcl0, np.minimum(r, 8.0), fld[:3] + fld[4:], keep=ila, cap=15)
    rcl = np.vstack([rcl[:ila], spline(rcl[ila::6])])  # re-spline: no jumps after pushing
    s = arclen(rcl)
    r = np.interp(s, arclen(rcl0), r)
    ra, rbk = np.where(s <= la, r, r * kra), np.where(s <= la, r, r * krb)
    for it in range(4):  # cut the radii to the free space, smooth the kinks, cut again
        ra[ila:], rbk[ila:] = fit_radii(rcl[ila:], ra[ila:], rbk[ila:], fld, 3.5)
        if it < 3:
            ra[ila:], rbk[ila:] = (np.minimum(x[ila:], ndimage.gaussian_filter1d(x, 4)[ila:])
                                   for x in (ra, rbk))
    blocked = ((clearance(rcl, fld[:3]) < 1.0) & (s > la + 20)) \
        | ((clearance(rcl, fld[:1]) < -1.5) & (s > la))  # would cross the vagina
    if blocked.any():  # stop the rectum where it is blocked
        n = int(np.argmax(blocked))
        rcl, ra, rbk, s = rcl[:n], ra[:n], rbk[:n], s[:n]
    wall = U(3, 4.5) if content == "empty" else U(2, 3.5)
    lo = ila - 2
    la_, lb_ = np.maximum(ra[lo:] - wall, 0.6), np.maximum(rbk[lo:] - wall, 0.6)
    if content == "empty":
        lw = U(0.6, 2.0)
        la_, lb_ = np.minimum(la_, lw), np.minimum(lb_, lw)
    tis = {"empty": str(rng.choice(["mucus", "gas"])), "gas": "gas", "stool": "stool", "gel": "gel"}
    rect = [Layer("rectal_wall", tube(rcl, ra, rbk), 3),
            Layer(tis[content], tube(rcl[lo:], la_, lb_), 3),
            Layer("mucus", tube(rcl[:ila], 0.6), 3)]
    nR = normals(rcl)
    if content in ("stool", "gel") and len(rcl) > ila + 25:  # gas bubbles (anterior in gel)
        for _ in range(int(rng.integers(2, 8)) if content == "stool" else int(U() < 0.4)):
            i, rbub = int(rng.integers(ila + 10, len(rcl) - 10)), U(1.5, 4)
            hi_, lo_ = ra[i] - wall - rbub - 0.8, rbk[i] - wall - rbub - 0.8
            if hi_ > 0 and lo_ > 0:
                off = hi_ if content == "gel" else U(-lo_, hi_)
                rect.append(Layer("gas", [blob(rcl[i] + off * nR[i], [1, 0], rbub,
                                               rbub * U(0.7, 1))], 3))
    # bladder final: clear the uterus/vagina and rectum; wall + urine
    F_rec = SDF(rect[0].polys)
    rb = shrink_star(C, rb, [(F_bone, 3), (F_wall, 2), (F_uv, 2.5), (F_rec, 3)], 5)
    bw = U(3, 5) if fill < 0.6 else U(2, 3.5)
    blad = [Layer("bladder_wall", [star(C, rb)], 1),
            Layer("urine", [star(C, np.maximum(rb - bw, 1.0))], 1)]
    F_ub = SDF([star(C, rb)] + [p for lay in uv[:3] for p in lay.polys])
    F_org = SDF([star(C, rb)] + [p for lay in uv[:3] for p in lay.polys] + rect[0].polys)
    # external sphincter, perineal body, urethra
    apex = 0.5 * (ucl[int(np.searchsorted(arclen(ucl), 22))] + rcl[int(0.7 * ila)])
    ysk = yp + 1
    pbody = spline([(xvi + rv0 + 1.5, ysk - 2.5), apex, (xan - rac - 1.5, ysk - 2.5),
                    (0.5 * (xvi + xan), ysk - 1.5)], closed=True)
    UM = np.array([xum, yp - 8])
    ucl2 = push_out(spline([BN, BN + (-3, 14) + J(2), UM]), 5.0, [(F_bone, 2)], keep=1)
    floor += [Layer("muscle", tube(rcl[:ila + 2], rac + U(3.5, 6))), Layer("perineal", [pbody]),
              Layer("urethra", tube(ucl2, U(4, 6) * (1 - 0.3 * np.linspace(0, 1, len(ucl2))))),
              Layer("mucus", tube(ucl2, U(0.5, 1.2)))]
    # bowel: sigmoid rising from the rectosigmoid junction, small-bowel loops above the organs
    RS, tE = rcl[-1], unit(rcl[-1] - rcl[-6])
    p1 = RS + 22 * unit(tE + (0, -1.2))
    p2 = p1 + (-U(10, 35), -U(15, 35)) + J(5)
    scl = spline([RS, p1, p2, p2 + (-U(15, 35), U(-10, 15)) + J(5)])
    scl = push_out(scl, 6.0, [(F_ub, 2.0), (F_bone, 2.0)], keep=3, cap=20)
    rs_ = np.full(len(scl), U(8, 13))
    sa, sb = fit_radii(scl, rs_, rs_, [(F_ub, 1.5), (F_bone, 2)], 2.5)
    bowel = [Layer("bowel_wall", tube(scl, sa, sb)),
             Layer(str(rng.choice(["gas", "fluid", "chyme", "stool"])),
                   tube(scl, np.maximum(sa - 2, 0.8), np.maximum(sb - 2, 0.8)))]
    F_sig = SDF(bowel[0].polys)
    top = min(float(p[:, 1].min()) for lay in blad + uv[:3] for p in lay.polys)
    front = np.array(sorted([tuple(p) for p in spine_ant] + [tuple(A[0]), tuple(A[nb // 2])],
                            key=lambda q: q[1]))
    n_loops, loops = int(rng.integers(20, 45)), 0
    for _ in range(400):
        if loops >= n_loops:
            break
        cc, r0 = np.array([U(-110, 120), U(-360, top - 8)]), U(9, 24)
        if F_body(cc)[0] > -(r0 + 10) or F_bone(cc)[0] < r0 * 0.6 + 3 \
                or F_org(cc)[0] < 8 or F_wall(cc)[0] < 6 or F_sig(cc)[0] < 4 \
                or cc[0] > np.interp(cc[1], front[:, 1], front[:, 0]) - 5:
            continue
        rl = shrink_star(cc, r0 * wobble(rng, 72, 0.25), [(F_org, 2), (F_bone, 2), (F_wall, 1.5)],
                         3)
        bowel += [Layer("bowel_wall", [star(cc, rl)]),
                  Layer(str(rng.choice(["fluid", "gas", "chyme"], p=[.45, .2, .35])),
                        [star(cc, np.maximum(rl - U(1.5, 2.5), 0.8))])]
        loops += 1
    if U() < 0.3:  # pouch-of-Douglas fluid
        dc = rot([0, -1], ang[2])
        pd = ucl[iIO] + (rc + 4) * np.array([-dc[1], dc[0]])
        rd = shrink_star(pd, U(4, 9) * wobble(rng, 48, 0.2), [(F_org, 0.8)], 1.0)
        if rd.mean() > 2:
            bowel.append(Layer("fluid", [star(pd, rd)]))
    # dynamics: moving controls (peak-strain displacement) and fixed anchors
    sev = U(0.15, 1.0)
    a_b, a_c, a_r = (sev * U(0.3, 1.0) * U(20, 45) for _ in range(3))
    d_bn, d_cx = a_b * unit([U(0.0, 0.6), 1]), a_c * unit([U(-0.2, 0.4), 1])
    d_ar, down = a_r * unit([U(0.1, 0.7), 1]), np.array([0.0, 1.0])
    mov = [(BN, d_bn), (C + R * np.array([0.7, 0.3]), 0.9 * d_bn), (C - (0, R), 0.35 * d_bn),
           (ucl[iF], d_cx), (ucl[iIO], 0.75 * d_cx), (ucl[-1], 0.45 * d_cx), (ARJ, d_ar),
           (AN, 0.5 * a_r * down), (apex, 0.25 * (a_b + a_r) * down), (VI, 0.35 * a_c * down),
           (UM, 0.3 * a_b * down), (lev[len(lev) // 2], 0.5 * d_ar),
           (rcl[min(int(np.searchsorted(s, la + 45)), len(rcl) - 1)], 0.4 * d_ar),
           (RS, 0.2 * d_ar), (np.array([30.0, top - 40]), 0.25 * max(a_b, a_c, a_r) * down),
           (np.array(rect_c[2]), np.array([-U(0, 10), U(0, 4)]))]
    fixed = np.array([SP, ST, smid, PR, A[nb // 2], SCJ, CT, B[0], B[nb // 2], *spine_ant,
                      *para_c, *post_pts[:-1], np.array(ant[4]), np.array(ant[1]),
                      (-260, -520), (360, -520), (-260, 260), (360, 260), (50, 200)], float)
    prm: dict[str, Any] = {}
    rc_field = None
    if U() < 0.45 and len(rcl) > ila + 30:  # rectocele: the anterior wall bulges forward
        i = int(np.searchsorted(s, la + U(5, 20)))
        amp = U(8, 30) * sev ** 0.5
        pts = np.vstack([fixed, rcl[i] + ra[i] * nR[i], rcl[i] - rbk[i] * nR[i]])
        dsp = np.zeros_like(pts)
        dsp[-2] = amp * unit(nR[i] + (0, 0.4))
        rc_field, prm["rectocele_mm"] = (pts, dsp), round(float(amp), 1)
    prm.update(
        fill=round(fill, 2), bladder_R_mm=round(float(R), 1), postmenopausal=post_meno,
        uterus="retroverted" if retro else "anteverted", flexion_deg=round(float(ang[3]), 1),
        uterus_size=round(float(sz), 2), vaginal_gel=vgel, rectal_content=content,
        rectal_radius_mm=round(float(ramp), 1), anorectal_angle_deg=round(float(ara), 1),
        severity=round(float(sev), 2), n_bowel_loops=loops, symphysis_tilt_deg=round(tilt, 1),
        descent_mm={"bladder_neck": round(float(a_b), 1), "cervix": round(float(a_c), 1),
                    "anorectal": round(float(a_r), 1)})
    return Anatomy(soft + bones + floor + bowel + rect + blad + uv, fixed,
                   np.array([m[0] for m in mov], float), np.array([m[1] for m in mov], float),
                   rc_field, (np.array(ant[2:5], float), np.array(post_pts[1:5], float)), prm)


# ---------------------------------------------------------------- dynamics and rendering
def strain_curve(rng: np.random.Generator, T: int) -> tuple[Arr, Arr, dict[str, Any]]:
    """Strain s1 (rest -> ramp -> Valsalva hold -> optional release) and the lagging
    rectocele curve s2, both in [0, 1]."""
    n_rest, n_up = int(rng.integers(1, 4)), int(rng.integers(2, 7))
    release = bool(rng.random() < 0.6)
    n_down = int(rng.integers(2, 6)) if release else 0
    while n_rest + n_up + n_down + 2 > T:
        n_up, n_down = max(n_up - 1, 2), max(n_down - 1, 0)
    t = np.arange(T, dtype=float)
    k1, k2, k3 = n_rest - 1, n_rest + n_up - 1, T - n_down - 1
    fall = sst(np.interp(t, [k3, T - 1], [0, 1])) if release else np.zeros(T)
    s1 = sst(np.interp(t, [k1, k2], [0, 1])) * (1 - (1 - rng.uniform(0, 0.35)) * fall)
    hold = (t > k2) & (t < k3)
    s1[hold] *= 1 - rng.uniform(0, 0.06, hold.sum())
    thr = rng.uniform(0.3, 0.5)
    s2 = np.clip((s1 - thr) / (1 - thr), 0, 1) ** 1.3
    return s1, s2, {"rest_frames": n_rest, "ramp_frames": n_up, "release": release,
                    "release_frames": n_down, "strain": np.round(s1, 3).tolist()}


def jacobian_min(fields: list[TPS], scale: float, lo: Arr, hi: Arr) -> float:
    """Smallest det(I + grad D) of the summed displacement on a 2-mm grid."""
    xs, ys = np.arange(lo[0], hi[0], 2.0), np.arange(lo[1], hi[1], 2.0)
    pts = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    d = scale * sum(f(pts) for f in fields).reshape(len(ys), len(xs), 2)
    (dxy, dxx), (dyy, dyx) = np.gradient(d[..., 0], 2.0), np.gradient(d[..., 1], 2.0)
    return float(((1 + dxx) * (1 + dyy) - dxy * dyx).min())


def raster(polys: list[Arr], H: int, W: int) -> tuple[slice, slice, Arr] | None:
    """Partial-volume fraction of a union of polygons (pixel coords x=col, y=row)."""
    allp = np.concatenate(polys)
    c0, r0 = np.maximum(np.floor(allp.min(0)).astype(int) - 1, 0)
    c1, r1 = np.minimum(np.ceil(allp.max(0)).astype(int) + 2, [W, H])
    if c1 <= c0 or r1 <= r0:
        return None
    a = paint(polys, c0, r0, c1 - c0, r1 - r0, SS).astype(np.float32)
    return slice(r0, r1), slice(c0, c1), a.reshape(r1 - r0, SS, c1 - c0, SS).mean((1, 3)) / 255


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: Any) -> Arr:
    f = ndimage.gaussian_filter(rng.normal(size=shape), sigma, mode="reflect")
    return (f - f.mean()) / (f.std() + 1e-9)


def make_case(seed: int) -> tuple[Arr, Arr, tuple[float, float], Arr, dict[str, Any]]:
    """One case: int16 frames (T, H, W), truth (T, H, W), spacing (row, col), times, params."""
    t_start = time.perf_counter()
    rng = np.random.default_rng([seed, 0x5E11])
    U = rng.uniform
    anat = build_anatomy(rng)
    H, W = (int(v) for v in rng.integers(224, 289, 2))
    base = U(1.1, 1.5)
    sr, sc = round(base, 3), round(float(np.clip(base * U(0.97, 1.03), 1.1, 1.5)), 3)
    T, dt = int(rng.integers(10, 36)), round(U(0.7, 2.2), 3)
    s1, s2, curve = strain_curve(rng, T)
    # displacement fields, scaled down until the motion is a diffeomorphism
    f1 = TPS(np.vstack([anat.fixed, anat.moving]),
             np.vstack([np.zeros_like(anat.fixed), anat.disp]))
    fs = [f1] + ([TPS(*anat.rectocele)] if anat.rectocele is not None else [])
    organ_pts = np.concatenate([p for lay in anat.layers if lay.organ for p in lay.polys])
    lo, hi = organ_pts.min(0) - 40, organ_pts.max(0) + 40
    scale = 1.0
    while min(jacobian_min(fs, scale, lo, hi), jacobian_min(fs[:1], scale, lo, hi)) < 0.3:
        scale *= 0.8
    # placement: similarity anatomy -> image mm, organs (rest and peak) kept inside the FOV
    g, phi = U(0.88, 1.12), np.deg2rad(U(-12, 12))
    stretch = g * U(0.96, 1.04, 2)
    Mr = np.array([[np.cos(phi), np.sin(phi)], [-np.sin(phi), np.cos(phi)]])
    both = np.vstack([organ_pts, organ_pts + scale * sum(f(organ_pts) for f in fs)])
    c_anat = 0.5 * (both.min(0) + both.max(0))
    rel = ((both - c_anat) * stretch) @ Mr
    fov = np.array([W * sc, H * sr])
    lo_c, hi_c = -rel.min(0) + 6, fov - rel.max(0) - 6
    c_img = fov * [U(0.42, 0.58), U(0.5, 0.62)]  # organs mid-FOV, kept inside if they fit
    c_img = np.where(lo_c < hi_c, np.clip(c_img, lo_c, hi_c), 0.5 * (lo_c + hi_c))

    def to_img(p: Arr) -> Arr:
        return ((p - c_anat) * stretch) @ Mr + c_img

    def vec(f: TPS, p: Arr) -> Arr:  # field f at anatomy points p, as image-mm vectors
        return (scale * f(p) * stretch) @ Mr

    # polygon vertices (image mm) and their displacement at peak strain; bones stay rigid
    polys = [p for lay in anat.layers for p in lay.polys]
    cuts = np.cumsum([len(p) for p in polys])[:-1]
    per_layer = np.cumsum([len(lay.polys) for lay in anat.layers])[:-1]
    Qa = np.concatenate(polys)
    soft = ~np.concatenate([np.full(len(p), lay.rigid) for lay in anat.layers
                            for p in lay.polys])[:, None]
    Q = to_img(Qa)
    E = [soft * vec(f, Qa) for f in fs] + [np.zeros_like(Q)] * (2 - len(fs))
    # the same fields on the pixel grid (to warp the textures)
    yy, xx = np.mgrid[0:H, 0:W]
    grid = np.c_[xx.ravel() * sc, yy.ravel() * sr]
    ga = ((grid - c_img) @ Mr.T) / stretch + c_anat
    G = [vec(f, ga).reshape(H, W, 2) for f in fs] + [np.zeros((H, W, 2))] * (2 - len(fs))
    # contrast and texture
    contrast = "bssfp" if U() < 0.4 else "t2_ssfse"
    ink = contrast == "bssfp" and bool(U() < 0.75)
    level = {t: U(*v[int(contrast == "bssfp")]) for t, v in TISSUES.items()}
    amp = {t: U(*v[2]) for t, v in TISSUES.items()}
    tw = {t: unit(rng.normal(size=3) * [1.0, 0.8, 0.6]) for t in TISSUES}
    if anat.params["postmenopausal"]:
        level["myometrium"] = level["cervix"] * U(1.2, 1.8)
    tex = np.stack([smooth_noise(rng, (H, W), (sig / sr, sig / sc)) for sig in (1.2, 3.5, 10.0)])
    jit_sd = U(0, 0.8)
    jit = np.vstack([[0, 0], rng.normal(0, jit_sd, (T - 1, 2))])
    obj, truth = np.zeros((T, H, W), np.float32), np.zeros((T, H, W), np.uint8)
    fixes = 0
    for t in range(T):
        V = np.split((Q + s1[t] * E[0] + s2[t] * E[1] + jit[t]) / (sc, sr), cuts)
        a = grid - jit[t]  # rest position of each pixel: fixed-point inverse of the motion
        for _ in range(3):
            coords = [a[:, 1] / sr, a[:, 0] / sc]
            a = grid - jit[t] - sum(w * np.stack([ndimage.map_coordinates(
                g_[..., k], coords, order=1, mode="nearest") for k in (0, 1)], 1)
                for w, g_ in ((s1[t], G[0]), (s2[t], G[1])))
        warped = np.stack([ndimage.map_coordinates(f, [a[:, 1] / sr, a[:, 0] / sc], order=1,
                                                   mode="reflect").reshape(H, W) for f in tex])
        iw, ifat = np.zeros((H, W), np.float32), np.zeros((H, W), np.float32)
        acc = np.zeros((3, H, W), np.float32)  # visible fraction of each organ
        for lay, vp in zip(anat.layers, np.split(np.array(V, dtype=object), per_layer),
                           strict=True):
            res = raster(list(vp), H, W)
            if res is None:
                continue
            rs, cs, f = res
            v = level[lay.tissue] * (1 + amp[lay.tissue]
                                     * np.tensordot(tw[lay.tissue], warped[:, rs, cs], 1))
            for img in (iw, ifat):
                img[rs, cs] *= 1 - f
            (ifat if lay.tissue == "fat" else iw)[rs, cs] += v * f
            acc[:, rs, cs] *= 1 - f
            if lay.organ:
                acc[lay.organ - 1, rs, cs] += f
        obj[t] = np.abs(iw - ifat) if ink else iw + ifat  # India ink: fat-water cancellation
        lab = np.argmax(np.concatenate([1 - acc.sum(0, keepdims=True), acc]), 0).astype(np.uint8)
        for k in (1, 2, 3):  # one 4-connected piece per organ: stray pixels are dropped, counted
            cc, n = ndimage.label(lab == k)
            if n > 1:
                sizes = ndimage.sum(np.ones_like(cc), cc, range(1, n + 1))
                lab[(cc > 0) & (cc != 1 + int(np.argmax(sizes)))] = 0
                fixes += n - 1
        truth[t] = lab
    frames, acq = acquire(rng, obj, anat, to_img, (sr, sc))
    peak = int(np.argmax(s1))
    params = {
        "seed": seed, "generator": "benchmarks/spline_generator.py", "shape_thw": [T, H, W],
        "spacing_mm": [sr, sc], "frame_interval_s": dt, "contrast": contrast, "india_ink": ink,
        "tissue_levels": {k: round(v, 3) for k, v in level.items()}, "anatomy": anat.params,
        "dynamics": {**curve, "peak_frame": peak, "field_scale": round(scale, 3),
                     "rectocele_curve": np.round(s2, 3).tolist(), "jitter_sd_mm": round(jit_sd, 2)},
        "placement": {"scale": round(g, 3), "stretch": np.round(stretch, 3).tolist(),
                      "rotation_deg": round(float(np.rad2deg(phi)), 1),
                      "organ_centre_px": np.round(c_img / (sc, sr), 1).tolist()},
        "acquisition": acq, "truth_fixes": fixes,
        "organ_pixels": {o: [int((truth[f] == k + 1).sum()) for f in (0, peak)]
                         for k, o in enumerate(ORGANS)},
        "seconds": round(time.perf_counter() - t_start, 2)}
    return frames, truth, (sr, sc), np.round(np.arange(T) * dt, 4), params


def acquire(rng: np.random.Generator, obj: Arr, anat: Anatomy, to_img: Any,
            spacing: tuple[float, float]) -> tuple[Arr, dict[str, Any]]:
    """Blur, coil sensitivity, ghosts, Rician noise with g-factor, integer scaling."""
    U = rng.uniform
    T, H, W = obj.shape
    pe = int(rng.integers(0, 2))  # phase-encode axis: 0 rows (SI), 1 columns (AP)
    b_pe, b_ro = U(0.35, 1.1), U(0.2, 0.6)
    sig = (b_pe, b_ro) if pe == 0 else (b_ro, b_pe)
    yy, xx = np.mgrid[0:H, 0:W]
    sides = ["anterior", "posterior"] + list(rng.choice(["anterior", "posterior"],
                                                        int(rng.integers(0, 3))))
    sens, coils = np.zeros((H, W)), []
    for side in sides:  # Gaussian coil blobs outside the anterior / posterior skin
        base = anat.skin[side == "posterior"]
        p = to_img(base[int(rng.integers(len(base)))]
                   + ((1 if side == "posterior" else -1) * U(10, 40), U(-60, 60)))
        sd = U(70, 150)
        sens += U(0.5, 1.0) * np.exp(-((xx * spacing[1] - p[0]) ** 2
                                       + (yy * spacing[0] - p[1]) ** 2) / (2 * sd ** 2))
        coils.append({"side": side, "centre_mm": np.round(p, 1).tolist(), "sd_mm": round(sd, 1)})
    u, v = 2 * xx / (W - 1) - 1, 2 * yy / (H - 1) - 1
    cf = U(-0.15, 0.15, 5)
    sens = np.clip(sens / sens.max() * (1 + cf[0] * u + cf[1] * v + cf[2] * u * v
                                         + cf[3] * u ** 2 + cf[4] * v ** 2), 0.08, None)
    sens /= sens.max()
    beta, snr = U(0, 0.9), U(5, 35)  # beta: partial intensity normalisation
    gfac, g_amp = np.ones((H, W)), 0.0
    if U() < 0.4:  # parallel-imaging-like noise amplification band across the PE axis
        g_amp = U(0.3, 1.5)
        coord = yy / (H - 1) if pe == 0 else xx / (W - 1)
        gfac = np.clip(1 + g_amp * np.exp(-((coord - U(0.35, 0.65)) / U(0.12, 0.25)) ** 2)
                       * (1 + 0.3 * smooth_noise(rng, (H, W), 20)), 1, None)
    ghost = U(0.02, 0.08) if U() < 0.3 else 0.0
    shift = int((H if pe == 0 else W) / rng.integers(2, 6))
    ref = ndimage.gaussian_filter(obj[0], sig) * sens ** (1 - beta)
    sd = float(ref[obj[0] > 0.1].mean()) / snr * gfac / sens ** beta
    out = np.empty_like(obj)
    for t in range(T):
        img = ndimage.gaussian_filter(obj[t], sig) * sens ** (1 - beta)
        if ghost:  # motion ghosts along the phase-encode direction
            img = img + 0.5 * ghost * U(0.5, 1.0) * (np.roll(img, shift, pe)
                                                     + np.roll(img, -shift, pe))
        out[t] = np.hypot(img + sd * rng.normal(size=(H, W)), sd * rng.normal(size=(H, W)))
    target = U(400, 4000)
    k = target / float(np.percentile(out, 99.5))
    acq = {"phase_encode": "SI (rows)" if pe == 0 else "AP (columns)",
           "blur_px_pe_ro": [round(b_pe, 2), round(b_ro, 2)], "coils": coils,
           "poly": np.round(cf, 3).tolist(), "normalisation_beta": round(beta, 2),
           "snr": round(snr, 1), "gfactor_amp": round(g_amp, 2), "ghost_amp": round(ghost, 3),
           "ghost_shift_px": shift, "int_scale": round(k, 2), "p99_5_target": round(target)}
    return np.clip(np.round(out * k), 0, 32767).astype(np.int16), acq


# ---------------------------------------------------------------- I/O
def write_case(seed: int, out: Path) -> dict[str, Any]:
    """Write one case: a sagittal NIfTI (W, H, 1, T) whose RAS affine (sform and qform) has the
    column index running posterior and the row index inferior, frame times in a JSON header
    extension and pixdim[4]; then check that core.io.read_series gives back our arrays."""
    frames, truth, spacing, times, params = make_case(seed)
    d = out / f"spline_{seed}"
    d.mkdir(parents=True, exist_ok=True)
    (H, W), (sr, sc) = frames.shape[1:], spacing
    aff = np.zeros((4, 4))
    aff[1, 0], aff[2, 1], aff[0, 2], aff[3, 3] = -sc, -sr, 5.0, 1.0
    aff[:3, 3] = [0.0, (W - 1) / 2 * sc, (H - 1) / 2 * sr]
    img = nib.Nifti1Image(np.ascontiguousarray(frames.transpose(2, 1, 0)[:, :, None, :]), aff)
    img.header.set_data_dtype(np.int16)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((sc, sr, 5.0, float(np.median(np.diff(times)))))
    img.set_sform(aff, 1)
    img.set_qform(aff, 1)
    img.header["descrip"] = f"spline_generator seed {seed}".encode()
    img.header.extensions.append(nib.nifti1.Nifti1Extension(
        "comment", json.dumps({"times_s": [float(t) for t in times]}).encode()))
    nib.save(img, str(d / "series.nii.gz"))
    np.save(d / "truth.npy", truth)
    (d / "params.json").write_text(json.dumps(params, indent=1))
    ser = read_series(d / "series.nii.gz")
    assert ser.frames.shape == truth.shape, (ser.frames.shape, truth.shape)
    assert np.array_equal(ser.frames, frames.astype(np.float32)), "frames differ on read-back"
    assert ser.spacing_mm == spacing, (ser.spacing_mm, spacing)
    assert np.allclose(ser.times_s, times), "frame times differ on read-back"
    assert ser.meta["orientation_ops"] == [] and ser.meta["orientation"].startswith("sagittal")
    return params


def montage(out: Path, seeds: list[int], path: Path) -> None:
    """Frame 0 and the peak-strain frame of the first 6 seeds with truth contours."""
    rows = []
    for seed in seeds[:6]:
        d = out / f"spline_{seed}"
        ser, truth = read_series(d / "series.nii.gz"), np.load(d / "truth.npy")
        prm = json.loads((d / "params.json").read_text())
        (h, w), (sy, sx) = truth.shape[1:], ser.spacing_mm
        size = (round(300 * w * sx / (h * sy)), 300)  # physical aspect
        tl = []
        for t in (0, prm["dynamics"]["peak_frame"]):
            g = np.clip(ser.frames[t] / (np.percentile(ser.frames[t], 99.5) + 1e-9), 0, 1)
            rgb = np.array(Image.fromarray((g * 255).astype(np.uint8)).resize(
                size, Image.BILINEAR).convert("RGB"))
            lab = np.asarray(Image.fromarray(truth[t]).resize(size, Image.NEAREST))
            for k, col in COLOURS.items():  # truth contours
                rgb[(lab == k) & ~ndimage.binary_erosion(lab == k)] = col
            im = Image.fromarray(rgb)
            ImageDraw.Draw(im).text((4, 4), f"seed {seed} frame {t} {prm['contrast']} "
                                    f"{prm['anatomy']['rectal_content']}", fill=(255, 255, 0))
            tl.append(np.asarray(im))
        rows.append(np.concatenate([tl[0], np.zeros((300, 4, 3), np.uint8), tl[1]], 1))
    wmax = max(r.shape[1] for r in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([np.pad(r, ((0, 4), (0, wmax - r.shape[1]), (0, 0)))
                                    for r in rows], 0)).save(path)


def _one(seed: int, out: Path) -> str:
    p = write_case(seed, out)
    return (f"spline_{seed}: {p['shape_thw']} {p['spacing_mm']} mm {p['contrast']} "
            f"snr {p['acquisition']['snr']} rectum {p['anatomy']['rectal_content']} "
            f"peak {p['dynamics']['peak_frame']} fixes {p['truth_fixes']} {p['seconds']} s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-11", help="e.g. 0-11 or 3,5,7")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--montage", type=Path, help="PNG of the first 6 cases, rest and peak")
    ap.add_argument("--workers", type=int, default=1, help="cases generated in parallel")
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    for line in map_jobs(partial(_one, out=args.out), seeds, args.workers):
        print(line, flush=True)
    if args.montage:
        montage(args.out, seeds, args.montage)


if __name__ == "__main__":
    main()
