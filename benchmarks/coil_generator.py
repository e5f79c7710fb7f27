"""Coil generator: synthetic dynamic mid-sagittal pelvic MRI with a multi-coil signal model.

A sixth generator of labelled cine series, written independently of the other phantoms,
as a held-out test of segmentation models trained on them.  Each seed gives one case
``coil_SSS/`` with ``series.dcm`` (one enhanced multi-frame MR DICOM file), ``truth.npy``
(uint8 labels: 0 background, 1 bladder, 2 uterus_vagina, 3 rectum) and ``params.json``.

Methods
-------
*Anatomy.*  Landmarks are placed in a body frame (x posterior, y caudal, mm, origin at
the inferior margin of the pubic symphysis) from the pubococcygeal line (PCL): its
angle and length fix the coccyx tip, the promontory follows from the obstetric
conjugate and the sacral chord (intersection of two circles), the sacrum/coccyx is a
cubic Bezier curve with a tapering thickness profile cut into segments, and the lumbar
column is a stack of rounded-box bodies and discs with a random lordosis.  Tubular
organs (rectum + anal canal, vagina, urethra, cervix and uterine body, bowel loops) are
swept tubes: a medial axis (polyline, corner-cut and resampled) with a radius profile,
rasterised as a union of discs, which gives a distance-like field whose level sets are
the wall, mucosa and lumen layers.  The rectum follows the sacral hollow, the vagina runs
along the anterior rectal wall, the uterus takes the version/flexion (of 48 drawn) that
best clears bladder, rectum and bone; axes are then pushed along the gradient of their
neighbours' fields until they clear them.  The bladder is a Fourier-perturbed star
contour around the freest point above the bladder neck whose radius is cut, ray by ray,
where it meets a neighbour, so it conforms to symphysis, vagina and uterus like a soft
bag.  Pathologies: cystocele, rectocele, uterine or vault prolapse, enterocele,
descending perineum, retroversion, post-hysterectomy (vagina only), fibroid uterus,
post-menopausal uterus, empty or very full bladder, rectal gel, faeces, gas, gel with
an air-fluid level or a collapsed rectum, vaginal gel.  Unlabelled look-alikes: bowel
loops with fluid, chyme, gas or collapsed content, urethra, vessels, muscles, free fluid.
*Motion.*  A stationary velocity field per frame is a sum of Gaussian translation and
inflation handles (pelvic floor, viscera, bladder base, cervix, rectocele, enterocele,
anorectal junction, abdominal wall, evacuation, breathing) scaled by a strain curve
(rest, ramp, peak, partial recovery, optionally two efforts) and by a mobility map that
is zero on bone and behind the sacrum.  Its exponential (scaling and squaring on a 4 mm
grid) is a diffeomorphism; the inverse map (exp of -v) pulls the reference tissue and
label maps into each frame, composed with a small rigid patient motion and the
field-of-view placement (offset, in-plane rotation).  Labels are sampled with nearest
neighbour from the same map as the image, then each organ is kept as one piece.
*Contrast.*  Every tissue has PD, T1, T2 and a fat fraction; per case one of
single-shot TSE/HASTE (PD (1-exp(-TR/T1)) exp(-TE/T2), J-coupled fat T2), balanced SSFP
(Bloch steady state solved per tissue and off-resonance, alternating RF, banding from a
B0 map, fat chemical shift) or spoiled T1 gradient echo (Ernst equation, T2* decay,
in/opposed-phase fat-water cancellation) at 1.5 or 3 T, with random TE/TR/flip.
*Acquisition.*  The complex image is rendered at twice the matrix and averaged 2x2
(partial volume).  In k-space it is truncated (acquired matrix; partial Fourier,
zero-filled or homodyne), filtered and, for HASTE, weighted by the T2 decay of tissue
and fluid along the echo train; since the coil maps vary slowly against this
point-spread function the k-space operations act on the object, which is then weighted
by 4-16 Biot-Savart-like surface coil sensitivities with smooth phase.  Each coil gets
correlated complex Gaussian k-space noise (filtered alike; occasionally a spike) and
the coils are combined by root-sum-of-squares (non-central chi noise floor; homodyne:
real parts after removing the low-resolution phase).  SNR, stored integer range
(max 500-4000), hot pixels, pixel spacing (1.1-1.5 mm, anisotropic), matrix (224-288)
and the stored DICOM layout (canonical, flipped or transposed, described by
ImageOrientationPatient) vary per case.

Run: ``python benchmarks/coil_generator.py --seeds 0-11 --out DIR [--workers N]``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi

ROOT = Path(__file__).resolve().parents[1]
BIG = np.float32(1e4)
UP, DOWN, ANT, POST = (np.array(v, float) for v in ((0, -1), (0, 1), (-1, 0), (1, 0)))
ORGANS = ("bladder", "uterus_vagina", "rectum")
# name, PD, T1 ms (1.5 T), T2 ms, fat fraction, texture amplitude
TISSUES = (
    ("air", 0.0, 1000, 1, 0.0, 0.0), ("fat", 0.9, 260, 80, 1.0, 0.08),
    ("muscle", 0.75, 1000, 38, 0.0, 0.07), ("smooth", 0.8, 1100, 55, 0.0, 0.06),
    ("urine", 1.0, 3000, 1500, 0.0, 0.02), ("myometrium", 0.85, 1300, 110, 0.0, 0.08),
    ("junctional", 0.8, 1100, 55, 0.0, 0.05), ("endometrium", 0.9, 1400, 200, 0.0, 0.06),
    ("stroma", 0.8, 1100, 50, 0.0, 0.06), ("mucus", 0.95, 2000, 250, 0.0, 0.05),
    ("mucosa", 0.85, 1100, 85, 0.0, 0.07), ("gel", 1.0, 2500, 1000, 0.0, 0.03),
    ("gas", 0.0, 1000, 1, 0.0, 0.0), ("faeces", 0.7, 800, 70, 0.1, 0.35),
    ("cortex", 0.05, 1000, 2, 0.0, 0.0), ("marrow", 0.9, 600, 45, 0.6, 0.12),
    ("nucleus", 0.85, 1200, 110, 0.0, 0.05), ("fibrous", 0.5, 900, 25, 0.0, 0.05),
    ("csf", 1.0, 4000, 2000, 0.0, 0.02), ("nerve", 0.8, 900, 80, 0.0, 0.05),
    ("bowel_wall", 0.8, 1000, 60, 0.0, 0.06), ("chyme", 0.95, 2500, 500, 0.0, 0.15),
    ("vessel", 0.9, 1400, 220, 0.0, 0.02), ("skin", 0.7, 600, 45, 0.0, 0.05),
    ("fibroid", 0.8, 1000, 45, 0.0, 0.18), ("fluid", 1.0, 3000, 800, 0.0, 0.02),
)
TI = {t[0]: i for i, t in enumerate(TISSUES)}
FAT_T1, FAT_T2, FAT_T2_TSE, FAT_PD = 260.0, 80.0, 140.0, 0.9
SEQUENCES = ("haste", "bssfp", "t1_gre")
LAYOUTS = ("canonical", "canonical", "canonical", "flip_columns", "flip_rows", "transpose")


# ----------------------------------------------------------------------------- geometry
def unit(v):
    v = np.asarray(v, float)
    return v / max(float(np.hypot(*v)), 1e-9)


def rot(v, deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def toward(v, target, deg):
    """``v`` turned by ``deg`` degrees in the sense that brings it towards ``target``."""
    return rot(v, deg if v[0] * target[1] - v[1] * target[0] >= 0 else -deg)


def corner_cut(pts, n=3):
    """Chaikin corner cutting, end points kept."""
    p = np.asarray(pts, float)
    for _ in range(n):
        mid = np.empty((2 * len(p) - 2, 2))
        mid[0::2], mid[1::2] = 0.75 * p[:-1] + 0.25 * p[1:], 0.25 * p[:-1] + 0.75 * p[1:]
        p = np.vstack([p[:1], mid, p[-1:]])
    return p


def resample(pts, step):
    """Points every ``step`` mm along a polyline and their normalised arc length."""
    pts = np.asarray(pts, float)
    s = np.r_[0.0, np.cumsum(np.hypot(*np.diff(pts, axis=0).T))]
    t = np.linspace(0.0, s[-1], max(int(np.ceil(s[-1] / step)), 1) + 1)
    return np.c_[np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])], t / max(s[-1], 1e-9)


def sweep(pts, knots, radii, smooth=3):
    """Medial axis ``pts`` (corner cut) with a radius profile at normalised arc lengths
    ``knots``: (dense points, radii)."""
    p = corner_cut(pts, smooth) if len(pts) > 2 else np.asarray(pts, float)
    dense, t = resample(p, max(0.25 * float(np.min(radii)), 0.3))
    return dense, np.interp(t, knots, radii)


def normals(pts):
    """Unit normals (tangent turned +90 deg) of a dense polyline."""
    tan = np.gradient(pts, axis=0)
    tan /= np.maximum(np.hypot(*tan.T), 1e-9)[:, None]
    return np.c_[-tan[:, 1], tan[:, 0]]


def fourier_radius(rng, a, b, psi_deg, k=96, rough=0.05):
    """Radii at k angles of an ellipse (semi-axes a, b, axis angle psi) perturbed by
    random low-order Fourier terms."""
    phi = np.linspace(0, 2 * np.pi, k, endpoint=False)
    d = phi - np.radians(psi_deg)
    r = a * b / np.sqrt((b * np.cos(d)) ** 2 + (a * np.sin(d)) ** 2)
    for order in range(2, 7):
        r *= 1 + rng.normal(0, rough / order) * np.cos(order * phi + rng.uniform(0, 2 * np.pi))
    return r


class Canvas:
    """The reference grid (body frame, mm) and shape fields on it.  Fields are
    distance-like: negative inside, BIG far away."""

    def __init__(self, x0, y0, h, nx, ny):
        self.x0, self.y0, self.h, self.nx, self.ny = x0, y0, h, nx, ny
        self.xs = (x0 + h * np.arange(nx)).astype(np.float32)
        self.ys = (y0 + h * np.arange(ny)).astype(np.float32)

    def blank(self):
        return np.full((self.ny, self.nx), BIG, np.float32)

    def _win(self, cx, cy, rad):
        h, x0, y0 = self.h, self.x0, self.y0
        return (max(int((cy - rad - y0) / h), 0), min(int((cy + rad - y0) / h) + 2, self.ny),
                max(int((cx - rad - x0) / h), 0), min(int((cx + rad - x0) / h) + 2, self.nx))

    def tube(self, pts, radii, pad=10.0, f=None):
        f = self.blank() if f is None else f
        for (px, py), r in zip(pts, radii, strict=True):
            i0, i1, j0, j1 = self._win(px, py, r + pad)
            if i1 > i0 and j1 > j0:
                d = np.hypot(self.xs[j0:j1] - px, self.ys[i0:i1, None] - py) - r
                np.minimum(f[i0:i1, j0:j1], d, out=f[i0:i1, j0:j1])
        return f

    def star(self, c, radii, pad=10.0):
        f, k = self.blank(), len(radii)
        i0, i1, j0, j1 = self._win(c[0], c[1], float(radii.max()) + pad)
        dx, dy = self.xs[j0:j1] - c[0], self.ys[i0:i1, None] - c[1]
        a = (np.arctan2(dy, dx) % (2 * np.pi)) / (2 * np.pi) * k
        f[i0:i1, j0:j1] = np.hypot(dx, dy) - np.interp(a, np.arange(k + 1), np.r_[radii, radii[:1]])
        return f

    def rbox(self, c, axis, hl, hw, rr, f):
        """Rounded box: half length ``hl`` along ``axis``, half width ``hw``."""
        a = unit(axis)
        i0, i1, j0, j1 = self._win(c[0], c[1], float(np.hypot(hl, hw)) + 8)
        dx, dy = self.xs[j0:j1] - c[0], self.ys[i0:i1, None] - c[1]
        qx = np.abs(dx * a[0] + dy * a[1]) - (hl - rr)
        qy = np.abs(-dx * a[1] + dy * a[0]) - (hw - rr)
        d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)
        np.minimum(f[i0:i1, j0:j1], d - rr, out=f[i0:i1, j0:j1])

    def polygon(self, pts):
        """Even-odd scanline fill of a closed polygon."""
        rows, xs = [], []
        for (xa, ya), (xb, yb) in zip(pts, np.roll(pts, -1, axis=0), strict=True):
            if ya != yb:
                i = np.arange(max(int(np.ceil((min(ya, yb) - self.y0) / self.h)), 0),
                              min(int(np.ceil((max(ya, yb) - self.y0) / self.h)), self.ny))
                rows.append(i)
                xs.append(xa + (self.y0 + self.h * i - ya) * (xb - xa) / (yb - ya))
        mask = np.zeros((self.ny, self.nx), bool)
        rows, xs = np.concatenate(rows), np.concatenate(xs)
        order = np.lexsort((xs, rows))
        rows, xs = rows[order], xs[order]
        for k in range(0, len(rows) - 1, 2):
            if rows[k] == rows[k + 1]:
                j0 = max(int(np.ceil((xs[k] - self.x0) / self.h)), 0)
                mask[rows[k], j0:min(int((xs[k + 1] - self.x0) // self.h) + 1, self.nx)] = True
        return mask

    def index(self, pts):
        pts = np.asarray(pts, float).reshape(-1, 2)
        return np.array([(pts[:, 1] - self.y0) / self.h, (pts[:, 0] - self.x0) / self.h])

    def sample(self, f, pts):
        return ndi.map_coordinates(f, self.index(pts), order=1, mode="nearest")

    def push(self, g, pts, clear, fixed=(), iters=14, side=None):
        """Move axis points along the gradient of the obstacle field ``g`` until
        g >= clear (per point); ``fixed`` indices stay; interior points are smoothed.
        With ``side`` (a unit vector) points never move against it."""
        p, fixed = np.array(pts, float), list(fixed)
        clear = np.broadcast_to(np.asarray(clear, float), (len(p),))
        for _ in range(iters):
            idx = self.index(p)
            val, gx, gy = (ndi.map_coordinates(g, idx + d, order=1, mode="nearest")
                           for d in ([[0], [0]], [[0], [1]], [[1], [0]]))
            need = np.clip(clear - val, 0, 25)
            need[fixed] = 0
            if need.max() < 0.2:
                break
            step = np.c_[gx - val, gy - val]
            step /= np.maximum(np.hypot(*step.T), 1e-6)[:, None]
            if side is not None:
                step[step @ side < 0.3] = side
            keep = p[fixed].copy()
            p += 0.8 * need[:, None] * step
            if len(p) > 2:
                p[1:-1] = 0.5 * p[1:-1] + 0.25 * (p[:-2] + p[2:])
            p[fixed] = keep
        return p


# ----------------------------------------------------------------------------- anatomy
def _plan(rng):
    """Case draw: pathologies, sizes and landmarks (vector geometry only)."""
    b = np.radians(rng.uniform(18, 34))
    u, n = np.array([np.cos(b), -np.sin(b)]), np.array([-np.sin(b), -np.cos(b)])
    c = {"u": u, "n": n, "pcl_deg": float(np.degrees(b)), "P": np.zeros(2),
         "C": rng.uniform(88, 110) * u}
    pcl = lambda a, h: a * u + h * n  # noqa: E731  PCL frame: along, above
    hyst = rng.random() < 0.1
    p = c["path"] = {
        "hysterectomy": hyst, "cystocele": rng.random() < 0.3, "rectocele": rng.random() < 0.3,
        "uterine_prolapse": (not hyst) and rng.random() < 0.2,
        "vault_prolapse": hyst and rng.random() < 0.4,
        "enterocele": rng.random() < (0.3 if hyst else 0.12),
        "descending_perineum": rng.random() < 0.25,
        "fibroid_uterus": (not hyst) and rng.random() < 0.12,
        "retroverted": (not hyst) and rng.random() < 0.2, "postmenopausal": rng.random() < 0.35,
        "bladder": str(rng.choice(["empty", "moderate", "full"], p=[0.2, 0.55, 0.25])),
        "rectal_content": str(rng.choice(["gel", "collapsed", "faeces", "gas", "gel_gas"],
                                         p=[0.4, 0.2, 0.18, 0.1, 0.12])),
        "vaginal_gel": rng.random() < 0.2, "thighs_in_plane": rng.random() < 0.25,
        "free_fluid": rng.random() < 0.2}
    p["evacuation"] = p["rectal_content"] in ("gel", "gel_gas") and rng.random() < 0.5
    # symphysis: inferior margin at the origin, top anterior
    om = np.radians(rng.uniform(15, 35))
    c["sym_axis"] = np.array([-np.sin(om), -np.cos(om)])
    c["sym_len"], c["sym_th"] = rng.uniform(36, 48), rng.uniform(12, 17)
    c["Ts"] = c["sym_len"] * c["sym_axis"]
    # promontory: |Ts - Pr| = obstetric conjugate, |C - Pr| = sacral chord
    d = float(np.hypot(*(c["C"] - c["Ts"])))
    r1, r2 = rng.uniform(110, 126), rng.uniform(108, 124)
    r2 = float(np.clip(r2, abs(r1 - d) + 5, r1 + d - 5))
    a, e = (r1 ** 2 - r2 ** 2 + d ** 2) / (2 * d), unit(c["C"] - c["Ts"])
    off = np.sqrt(max(r1 ** 2 - a ** 2, 1.0)) * np.array([e[1], -e[0]])
    c["Pr"] = min([c["Ts"] + a * e + off, c["Ts"] + a * e - off], key=lambda q: q[1] - 0.3 * q[0])
    chord = c["C"] - c["Pr"]
    nrm = unit([chord[1], -chord[0]]) * (1 if chord[1] > 0 else -1)  # posterior
    dep = rng.uniform(16, 30)
    ctrl = [c["Pr"], c["Pr"] + 0.33 * chord + 0.5 * dep * nrm, c["Pr"] + 0.72 * chord + dep * nrm,
            c["C"]]
    s = np.linspace(0, 1, 400)[:, None]
    bez = sum(w * q for w, q in zip([(1 - s) ** 3, 3 * (1 - s) ** 2 * s, 3 * (1 - s) * s ** 2,
                                     s ** 3], ctrl, strict=True))
    c["sac"], c["sac_t"] = resample(bez, 1.0)
    nn = normals(c["sac"])
    c["sac_n"] = nn if nn[len(nn) // 2, 0] > 0 else -nn  # posterior normal
    t0 = rng.uniform(30, 38)
    c["sac_th"] = np.interp(c["sac_t"], [0, 0.3, 0.55, 0.74, 0.76, 1.0],
                            [t0, 0.72 * t0, 0.5 * t0, 0.36 * t0, 10, 5])
    # anorectum, vagina, urethra, bladder neck
    c["ARJ"] = pcl(rng.uniform(44, 56), rng.uniform(-16, -2))
    c["anal_dir"] = toward(-n, u, rng.uniform(-5, 20))
    c["AV"] = c["ARJ"] + rng.uniform(28, 40) * c["anal_dir"]
    ara = rng.uniform(85, 108)  # anorectal angle
    c["rect_dir"] = max([rot(c["anal_dir"], ara), rot(c["anal_dir"], -ara)],
                        key=lambda v: v[0] - v[1])
    c["V0"] = pcl(rng.uniform(16, 26), rng.uniform(-34, -24))
    c["M"] = c["V0"] - rng.uniform(10, 15) * u + rng.uniform(2, 6) * n
    c["V1"] = c["V0"] + rng.uniform(22, 30) * toward(n, u, rng.uniform(15, 35))
    c["vag_len"] = float(np.hypot(*(c["V1"] - c["V0"]))) + rng.uniform(*(
        (36, 50) if hyst else (42, 58)))
    c["r_vag"] = rng.uniform(8, 12) if p["vaginal_gel"] else rng.uniform(5, 6.5)
    c["Nb"] = pcl(rng.uniform(13, 22), rng.uniform(*((4, 12) if p["cystocele"] else (12, 20))))
    size = {"empty": ((20, 28), (10, 15)), "moderate": ((28, 42), (20, 30)),
            "full": ((44, 60), (32, 44))}[p["bladder"]]
    c["bl_a"], c["bl_b"] = rng.uniform(*size[0]), rng.uniform(*size[1])
    # uterus: sizes; version and flexion of the first candidate
    pm, fib = p["postmenopausal"], p["fibroid_uterus"]
    c["cx_len"], c["cx_r"] = rng.uniform(22, 32), rng.uniform(10, 14)
    c["ut_len"] = rng.uniform(*((70, 115) if fib else (30, 42) if pm else (45, 62)))
    c["ut_r"] = rng.uniform(*((28, 45) if fib else (11, 16) if pm else (17, 24)))
    c["version"] = rng.uniform(-30, 0) if p["retroverted"] else rng.uniform(25, 75)
    c["flexion"] = rng.uniform(-45, 0) if p["retroverted"] else rng.uniform(5, 55)
    c["r_arj"], c["r_up"], c["presacral"] = rng.uniform(7, 10), rng.uniform(9, 16), \
        rng.uniform(4, 16)
    c["r_amp"] = rng.uniform(*{"gel": (16, 25), "gel_gas": (16, 24), "faeces": (13, 20),
                               "gas": (13, 20), "collapsed": (9, 13)}[p["rectal_content"]])
    c["f_ant"], c["f_post"] = rng.uniform(12, 55), rng.uniform(10, 40)
    return c


def _lumbar(rng, cv, c, F):
    """L5 upwards: bodies, discs, canal, spinous processes."""
    axis = toward(-unit(c["sac"][5] - c["sac"][0]), UP, rng.uniform(10, 25))
    t0 = c["sac_th"][0]
    cur, dv = c["Pr"] + 0.5 * t0 * c["sac_n"][0], t0 + rng.uniform(0, 5)
    c["spine_back"], c["spine_front"] = [], []
    for _ in range(5):
        post = unit(rot(axis, 90)) * (1 if rot(axis, 90)[0] > 0 else -1)
        hd, hb = rng.uniform(8, 12), rng.uniform(24, 29)
        cv.rbox(cur + 0.5 * hd * axis, axis, hd / 2 + 1.0, dv / 2 - 0.5, 2.0, F["disc"])
        cv.rbox(cur + 0.5 * hd * axis, axis, hd / 2 - 1.0, dv / 2 - 6, 3.0, F["nucleus"])
        bc = cur + (hd + hb / 2) * axis
        cv.rbox(bc, axis, hb / 2, dv / 2, 3.0, F["bone"])
        cv.rbox(bc + (dv / 2 + 8) * post, axis, (hb + hd) / 2 + 1, 7.5, 3.0, F["canal"])
        sp = toward(post, DOWN, rng.uniform(10, 25))
        cv.rbox(bc + (dv / 2 + 16) * post + 17 * sp, sp, 17, rng.uniform(6, 9), 3.0, F["bone"])
        c["spine_back"].append(bc + (dv / 2 + 40) * post)
        c["spine_front"].append(bc - dv / 2 * post)
        cur = cur + (hd + hb) * axis
        axis = toward(axis, POST, rng.uniform(3, 10))  # lordosis: upper levels lean back


def _bones_and_body(rng, cv, c, F):
    """Symphysis, sacrum, coccyx, lumbar spine, abdominal wall; body outline and depth."""
    sac, sn, th = c["sac"], c["sac_n"], c["sac_th"]
    F["sym"] = cv.star(c["sym_axis"] * c["sym_len"] / 2, fourier_radius(
        rng, c["sym_len"] / 2, c["sym_th"] / 2, np.degrees(np.arctan2(*c["sym_axis"][::-1])),
        rough=0.03), pad=30)
    F["bone"] = np.minimum(F["sym"], cv.tube(sac + 0.5 * th[:, None] * sn, 0.5 * th, pad=30))
    cut = np.r_[np.sort(rng.uniform(-0.02, 0.02, 5)) + [0.2, 0.36, 0.5, 0.62, 0.75], 0.84, 0.92]
    for k, s in enumerate(cut):  # rudimentary discs and coccygeal joints
        i = int(s * (len(sac) - 1))
        cv.tube(*sweep([sac[i] - sn[i], sac[i] + (th[i] + 1) * sn[i]], [0, 1],
                       [1.0 if k < 4 else 1.5] * 2, 0), f=F["disc"])
    canal = np.interp(c["sac_t"], [0, 0.6, 0.8], [13, 5, 1.5])
    keep = c["sac_t"] < 0.8
    cv.tube(sac[keep] + (th + canal / 2)[keep, None] * sn[keep], (canal / 2)[keep], f=F["canal"])
    cv.tube((sac + (th + canal + 3.5)[:, None] * sn)[keep], np.full(keep.sum(), 3.5), f=F["bone"])
    _lumbar(rng, cv, c, F)
    ts, top = c["Ts"], cv.y0 - 20  # rectus abdominis, skin line in front of it
    ys = np.linspace(ts[1] - 2, top, 30)
    wall_x = ts[0] - 6 - np.tan(np.radians(rng.uniform(0, 15))) * (ts[1] - ys) \
        - rng.uniform(0, 25) * np.sin(np.pi * (ts[1] - ys) / max(ts[1] - top, 1.0))
    r_rect = rng.uniform(3.5, 6)
    cv.tube(*sweep(np.c_[wall_x, ys], [0, 1], [r_rect, r_rect], 0), f=F["muscle"])
    ps = np.array([-c["sym_axis"][1], c["sym_axis"][0]])  # posterior of the symphysis
    line = np.vstack([np.c_[wall_x + r_rect, ys][::-1], ts + (0.5 * c["sym_th"] + 1) * ps,
                      (0.5 * c["sym_th"] + 1) * ps, (0.5 * c["sym_th"] + 1) * ps + [0, 40]])
    yy, xx = np.meshgrid(cv.ys, cv.xs, indexing="ij")  # > 0 behind the anterior wall
    line = line[np.argsort(line[:, 1])]
    F["cavity"] = xx - np.interp(yy, line[:, 1], line[:, 0])
    labia = c["M"] + np.array([-rng.uniform(6, 12), rng.uniform(8, 14)])
    av = c["AV"] + 2 * c["anal_dir"]
    back = [sac[i] + (th[i] + canal[i] + 8 + c["f_post"]) * sn[i]
            for i in (np.linspace(0.95, 0, 8) * (len(sac) - 1)).astype(int)]
    spine = [q + c["f_post"] * POST for q in c["spine_back"]]
    outline = np.vstack([np.c_[wall_x - r_rect - c["f_ant"], ys][::-1],
                         [ts[0] - 12 - 0.8 * c["f_ant"], rng.uniform(5, 15)], labia,
                         c["V0"] + 4 * DOWN, av, c["C"] + rng.uniform(25, 50) * unit(
                             c["anal_dir"] + POST), *back, *spine, [spine[-1][0], top]])
    body = cv.polygon(corner_cut(outline, 2))
    F["thigh_muscle"] = cv.blank()
    if c["path"]["thighs_in_plane"]:  # adducted thighs below the perineum, a skin fold apart
        ry = rng.uniform(60, 90)
        ctr = 0.5 * (labia + av) + np.array([rng.uniform(-10, 10), ry - rng.uniform(0, 8)])
        thigh = cv.star(ctr, fourier_radius(rng, ry, rng.uniform(70, 100), 90, 64, 0.05))
        near = ndi.binary_dilation(body, iterations=max(int(rng.uniform(1.5, 4) / cv.h), 1))
        body |= (thigh < 0) & ~near
        F["thigh_muscle"] = cv.star(ctr + 0.5 * ry * DOWN + rng.uniform(-30, 30) * POST,
                                    fourier_radius(rng, 0.5 * ry, 45, 90, 64, 0.15))
    F["depth"] = ndi.distance_transform_edt(body).astype(np.float32) * cv.h
    return body, canal


def _build(rng, cv, c):
    """Rasterise the anatomy: tissue class map, organ label map, fields."""
    p, u, n = c["path"], c["u"], c["n"]
    F = {k: cv.blank() for k in ("disc", "nucleus", "canal", "muscle")}
    body, canal = _bones_and_body(rng, cv, c, F)
    sac, sn, depth = c["sac"], c["sac_n"], F["depth"]
    # --- anorectum: from the anorectal junction along the levator plate, then the sacrum
    arj, rd = c["ARJ"], c["rect_dir"]
    start = arj + 12 * rd
    cand = [sac[i] - (c["presacral"] + c["r_amp"]) * sn[i]
            for i in (np.linspace(0.88, 0.22, 16) * (len(sac) - 1)).astype(int)]
    cand = [q for q in cand if q[1] < start[1] - 6 and np.hypot(*(q - arj)) > 20]
    bone_g = F["bone"] - c["presacral"]
    axis = cv.push(bone_g, corner_cut([arj, start, *cand], 2), 0.0, fixed=[0])
    r_axis, r_rad = sweep(axis, [0, 0.12, 0.4, 0.85, 1.0], [
        c["r_arj"], 0.5 * (c["r_arj"] + c["r_amp"]), c["r_amp"], c["r_up"], 0.8 * c["r_up"]])
    r_axis = cv.push(bone_g, r_axis, r_rad, fixed=[0])
    F["rect"] = cv.tube(r_axis, r_rad, pad=30)
    c["rect_axis"], c["rect_rad"] = r_axis, r_rad
    r_an = rng.uniform(6, 8)
    F["anal"] = cv.tube(*sweep([c["AV"], arj], [0, 1], [r_an * 0.9, r_an], 0), pad=30)
    eas = cv.tube(*sweep([c["AV"], c["AV"] + 0.7 * (arj - c["AV"])], [0, 1],
                         [r_an + rng.uniform(4, 7)] * 2, 0))
    np.minimum(F["muscle"], eas, out=F["muscle"])
    pr = arj + (c["r_arj"] + rng.uniform(5, 8)) * unit(rd + c["anal_dir"])  # puborectalis
    cv.tube(*sweep([pr, c["C"] - 3 * u], [0, 1], [rng.uniform(5, 7), 3.0], 0), f=F["muscle"])
    # --- vagina: its upper part runs along the anterior wall of the rectum
    gap = rng.uniform(1.5, 4.0)
    arc = np.r_[0.0, np.cumsum(np.hypot(*np.diff(r_axis, axis=0).T))]
    extra = (2 * rng.uniform(7, 10) + 3) * np.clip((arc - 15) / 20, 0, 1) * p["enterocele"]
    nr = normals(r_axis)
    nr *= np.sign(nr @ unit(n + ANT) + 1e-9)[:, None]
    off = r_axis + (r_rad + gap + c["r_vag"] + extra)[:, None] * nr
    ok = np.nonzero(off[:, 1] < c["V0"][1] - 12)[0]
    j0 = ok[np.argmin(np.hypot(*(off[ok] - c["V1"]).T))] if len(ok) else len(off) // 3
    va = [c["V0"], 0.5 * (c["V0"] + off[j0]) + 3 * ANT]
    for j in range(j0, len(off), 6):
        va.append(off[j])
        if np.sum(np.hypot(*np.diff(np.array(va), axis=0).T)) > c["vag_len"]:
            break
    g = np.minimum(np.minimum(np.minimum(F["rect"], F["anal"]), eas), F["sym"] - 4.0)
    va = c["vag_axis"] = cv.push(g, corner_cut(va, 2), c["r_vag"] + gap, fixed=[0],
                                 side=unit(n + ANT))
    F["vag"] = cv.tube(*sweep(va, [0, 0.1, 1], [c["r_vag"] * 0.7, c["r_vag"], c["r_vag"]]),
                       pad=30)
    # --- bladder neck in front of the vagina; bladder centre: the freest point above it
    wall_m = np.minimum(F["bone"], F["muscle"])
    j = int(np.argmin(np.abs(va @ n - c["Nb"] @ n)))
    nv = normals(va)[j] * np.sign(normals(va)[j] @ ANT + 1e-9)
    nb = va[j] + (c["r_vag"] + rng.uniform(4, 7)) * nv
    nb = c["Nb"] = cv.push(np.minimum(F["vag"] - 3, F["sym"] - 5), [nb], 0.0,
                           side=unit(UP + POST))[0]
    tv = unit(va[min(j + 3, len(va) - 1)] - va[max(j - 3, 0)])  # up along the vagina
    full = p["bladder"] == "full"
    d_c = unit((0.4 if full else 1.0) * nv + (1.0 if full else 0.5) * tv)
    psi = np.degrees(np.arctan2(*(UP if full else tv)[::-1])) + rng.uniform(-15, 15)
    rad = fourier_radius(rng, c["bl_a"], c["bl_b"], psi, rough=0.04)
    obst_b = np.minimum(np.minimum(F["vag"] - 2, wall_m - 3), np.minimum(F["rect"] - 4,
                                                                         depth - 10))
    obst_b = np.minimum(obst_b, F["cavity"] - 2)
    gy, gx = np.mgrid[-1:1.01:0.1, -1:1.01:0.1].reshape(2, -1) * c["bl_a"]
    cand = nb + 0.9 * c["bl_b"] * d_c + np.c_[gx, gy]
    score = np.minimum(cv.sample(obst_b, cand), c["bl_b"]) - 0.2 * np.hypot(gx, gy)
    score[cand @ n < nb @ n + 0.4 * c["bl_b"]] = -BIG  # above the neck
    cb = c["bl_center"] = cand[int(np.argmax(score))]
    funnel = cv.tube(*sweep([cb, nb - 2 * d_c], [0, 1], [5.0, 4.0], 0))
    yy, xx = np.meshgrid(cv.ys, cv.xs, indexing="ij")
    h_pcl = xx * n[0] + yy * n[1]
    # the space of Retzius (in front of and below the bladder) is no place for the uterus
    retzius = np.maximum(xx - (cb[0] - 0.3 * c["bl_b"]), h_pcl - (cb @ n + 0.8 * c["bl_a"]))
    core = np.minimum(np.minimum(cv.star(cb, 0.85 * rad), funnel), retzius)
    ur = cv.push(np.minimum(F["vag"] - 1.5, F["sym"] - 2), np.array([nb, c["M"]]),
                 rng.uniform(4, 5.5), fixed=[0])
    r_u = rng.uniform(4, 6)
    F["ureth"] = cv.tube(*sweep(ur, [0, 1], [r_u, r_u * 0.8], 0))
    # --- uterus: cervix in the vault; version/flexion that best clear the neighbours
    fu, F["cx"], F["endo"], F["canalcx"] = cv.blank(), cv.blank(), cv.blank(), cv.blank()
    fibroids, c["c_jz"] = [], 0.0
    if not p["hysterectomy"]:
        d2 = unit(va[-1] - va[-4])
        e_os = va[-1] - 7 * d2
        g = np.minimum(np.minimum(core - 3, F["bone"] - 6), np.minimum(F["rect"] - 2, wall_m - 4))
        g = np.minimum(g, np.minimum(depth - 15, F["cavity"] - 3))
        ucl = np.interp(np.linspace(0, 1, 25), [0, 0.3, 0.7, 1],
                        [0, c["cx_r"], c["ut_r"], 0.8 * c["ut_r"]])
        best, best_cost = None, np.inf
        for k in range(48):
            v, fl = (c["version"], c["flexion"]) if k == 0 else (rng.uniform(-40, 90),
                                                                  rng.uniform(-45, 60))
            dc = toward(d2, ANT if v >= 0 else POST, abs(v))
            du = toward(dc, ANT if fl >= 0 else POST, abs(fl))
            ist = e_os + c["cx_len"] * dc
            pts = corner_cut([e_os, ist, ist + 0.5 * c["ut_len"] * unit(dc + 2 * du),
                              ist + c["ut_len"] * du], 2)
            q = resample(pts, 1.0)[0]
            cost = float(np.clip(ucl - cv.sample(g, q[np.linspace(0, len(q) - 1, 25).astype(
                int)]), 0, None).sum()) + (k > 0) * (2.0 + 0.02 * (abs(v - 45) + abs(fl - 25)))
            if cost < best_cost:
                best, best_cost = pts, cost
        pts = cv.push(g, best, np.interp(np.linspace(0, 1, len(best)), [0, 0.3, 0.7, 1],
                                         [0, c["cx_r"], c["ut_r"], 0.8 * c["ut_r"]]), fixed=[0])
        dense, t = resample(corner_cut(pts, 2), 0.8)
        kc = c["cx_len"] / (c["cx_len"] + c["ut_len"])
        r = np.interp(t, [0, 0.5 * kc, kc, kc + 0.55 * (1 - kc), 1],
                      [0.85 * c["cx_r"], c["cx_r"], c["cx_r"] * 1.05, c["ut_r"], 0.75 * c["ut_r"]])
        cx, inner = t <= kc, (t > kc + 0.05) & (t < 0.9)
        cv.tube(dense[cx], r[cx], f=F["cx"])
        fu = np.minimum(cv.tube(dense[~cx], r[~cx], pad=20), F["cx"])
        e_w = rng.uniform(1, 2.5) if p["postmenopausal"] else rng.uniform(2.5, 6)
        cv.tube(dense[inner], np.full(inner.sum(), e_w), f=F["endo"])
        cv.tube(dense[cx], np.full(cx.sum(), rng.uniform(1.5, 3)), f=F["canalcx"])
        c["os"], c["c_jz"] = e_os, 0.0 if p["postmenopausal"] else rng.uniform(3, 7)
        for _ in range(rng.integers(1, 4) if p["fibroid_uterus"] else 0):
            q = dense[rng.integers(int(0.4 * len(dense)), len(dense))] + rng.uniform(0, 0.9) \
                * c["ut_r"] * unit(rng.normal(size=2))
            rr_f = rng.uniform(10, 0.8 * c["ut_r"])
            ff = cv.star(q, fourier_radius(rng, rr_f, rr_f * rng.uniform(0.8, 1), 0, 48, 0.04))
            fibroids.append((ff, rng.random() < 0.2))
            np.minimum(fu, ff, out=fu)
        fu = np.maximum(fu, 1.5 - F["bone"])
    # --- bladder: star contour clipped ray by ray where it meets a neighbour
    phi = np.linspace(0, 2 * np.pi, len(rad), endpoint=False)
    steps = np.arange(0, rad.max() + 2, 0.7)
    ray = cb + steps[None, :, None] * np.stack([np.cos(phi), np.sin(phi)], 1)[:, None]

    def first_hit(obst):
        vals = cv.sample(obst, ray.reshape(-1, 2)).reshape(len(phi), len(steps))
        return np.where((vals < 0).any(1), steps[np.argmax(vals < 0, axis=1)], 1e3)

    hit, hit_base = first_hit(np.minimum(obst_b, fu - 2)), first_hit(obst_b)
    r_b = np.minimum(ndi.gaussian_filter1d(np.minimum(rad, hit - 0.5), 3, mode="wrap"), hit - 0.3)
    r_b = np.maximum(r_b, np.minimum(0.6 * rad, hit_base - 0.5))  # a squeezed bladder keeps
    fb = np.minimum(cv.star(cb, r_b, pad=20), funnel)  # its core: the uterus gives way there
    F["ut"] = fu = np.maximum(fu, 1.5 - fb)
    f_uv = np.minimum(fu, F["vag"])
    fb = np.maximum(np.maximum(fb, 2.0 - f_uv), np.maximum(2.0 - F["bone"], 2.0 - F["rect"]))
    # --- bowel loops in the free space above the pelvic floor (and an enterocele)
    F["loops"], loop_kind = cv.blank(), np.zeros((cv.ny, cv.nx), np.uint8)
    organs = np.minimum(np.minimum(fb, f_uv), np.minimum(F["rect"], F["anal"]))
    free = np.minimum(np.minimum(organs - 3, F["bone"] - 7), np.minimum(F["muscle"] - 3,
                                                                        F["cavity"] - 3))
    np.minimum(free, depth - 12, out=free)
    free[h_pcl < 28] = -1
    spine_f = np.array(c["spine_front"] + [sac[0]])
    spine_f = spine_f[np.argsort(spine_f[:, 1])]
    free[(xx > np.interp(yy, spine_f[:, 1], spine_f[:, 0]) - 4) & (yy < sac[0][1])] = -1
    kinds = ("fluid", "chyme", "mucosa", "gas")
    seeds = []
    if p["enterocele"]:
        top_p, low = va[int(0.8 * len(va))], va[int(0.35 * len(va))]
        ra, ra2 = (r_axis[np.argmin(np.hypot(*(r_axis - q).T))] for q in (top_p, low))
        c["ent"] = [0.5 * (top_p + ra) + 25 * UP, 0.5 * (top_p + ra), 0.5 * (low + ra2)]
        seeds.append((c["ent"], rng.uniform(7, 11), "chyme"))
    for _ in range(rng.integers(10, 22)):
        cand = np.c_[rng.uniform(cv.xs[0], cv.xs[-1], 300), rng.uniform(cv.ys[0], cv.ys[-1], 300)]
        rl = rng.uniform(7, 16)
        ok = np.nonzero(cv.sample(free, cand) > rl + 1)[0]
        if len(ok):
            pts = [cand[ok[0]]]
            for _ in range(rng.integers(1, 4)):
                pts.append(pts[-1] + rng.uniform(10, 25) * unit(rng.normal(size=2)))
            seeds.append((pts, rl, str(rng.choice(kinds, p=[0.35, 0.3, 0.25, 0.1]))))
            np.minimum(free, cv.tube(*sweep(pts, [0, 1], [rl, rl]), pad=3) - 3, out=free)
    for pts, rl, kind in seeds:
        lf = cv.tube(*sweep(pts, [0, 1], [rl, rl * rng.uniform(0.7, 1.1)]), pad=3)
        lf = np.maximum(np.maximum(lf, 2.0 - organs), np.maximum(2.0 - F["bone"], 6 - depth))
        np.minimum(F["loops"], lf, out=F["loops"])
        loop_kind[lf < -rng.uniform(1.5, 3)] = 1 + kinds.index(kind)
    # --- paint tissues, back to front
    cls = np.where(body, TI["fat"], TI["air"]).astype(np.uint8)

    def paint(mask, tissue):
        cls[mask] = TI[tissue]

    paint(body & (depth < rng.uniform(1.5, 2.5)), "skin")
    paint(body & (F["thigh_muscle"] < 0) & (depth > 15), "muscle")
    paint(F["muscle"] < 0, "muscle")
    paint(F["loops"] < 0, "bowel_wall")
    for k, kind in enumerate(kinds):
        paint((loop_kind == k + 1) & (F["loops"] < 0), kind)
    if p["free_fluid"] and "os" in c:
        ff = cv.star(c["os"] + 14 * POST + 6 * UP, fourier_radius(rng, 8, 4, 30, 48, 0.1))
        paint((ff < 0) & (organs > 1), "fluid")
    paint(F["canal"] < 0, "csf")
    paint((F["canal"] < 0) & (yy > sac[int(0.3 * len(sac))][1]), "fat")
    paint(F["bone"] < 0, "marrow")
    paint((F["bone"] < 0) & (F["bone"] > -1.3), "cortex")
    paint(F["disc"] < 0, "fibrous")
    paint(F["nucleus"] < 0, "nucleus")
    if rng.random() < 0.6:  # left common iliac vein / aorta just in front of the spine
        vp = c["spine_front"][0] + rng.uniform(6, 12) * ANT + rng.uniform(-10, 10) * UP
        vf = cv.star(vp, fourier_radius(rng, rng.uniform(5, 9), rng.uniform(4, 6), 90, 48))
        paint((vf < 0) & (F["loops"] > 0), "vessel")
    paint(F["ureth"] < 0, "smooth")
    paint(F["ureth"] < -(r_u - 1.8), "mucosa")
    f_r = np.minimum(F["rect"], F["anal"])  # rectum + anal canal
    w_r, m_r = rng.uniform(2.5, 4.5), rng.uniform(1.5, 3)
    paint(f_r < 0, "smooth")
    paint(f_r < -w_r, "mucosa")
    lumen, content = F["rect"] < -(w_r + m_r), p["rectal_content"]
    if content == "collapsed":
        paint(F["rect"] < -(r_rad.max() - 1.5), "mucus")
    else:
        paint(lumen, {"gel_gas": "gel"}.get(content, content))
    if content == "gel_gas" and lumen.any():  # supine: gas rises to the anterior side
        paint(lumen & (xx < np.percentile(xx[lumen], rng.uniform(12, 35))), "gas")
    for _ in range(rng.integers(5, 25) if content == "faeces" else 0):
        q = np.argwhere(lumen)[rng.integers(lumen.sum())]
        gb = cv.star(np.array([cv.xs[q[1]], cv.ys[q[0]]]), np.full(24, rng.uniform(1, 4)), pad=2)
        paint((gb < 0) & lumen, "gas")
    paint(F["anal"] < -(r_an - 1.2), "mucus")
    fv = F["vag"]
    paint(fv < 0, "smooth")
    paint(fv < -2.5, "mucosa")
    paint(fv < -(4.0 if p["vaginal_gel"] else c["r_vag"] - 1.0),
          "gel" if p["vaginal_gel"] else "mucus")
    if not p["hysterectomy"]:
        paint(fu < 0, "myometrium")
        paint(F["cx"] < 0, "stroma")
        paint((F["cx"] < 0) & (F["cx"] > -2), "myometrium")
        paint(F["canalcx"] < 0, "mucus")
        paint((F["endo"] < c["c_jz"]) & (fu < -2), "junctional")
        paint((F["endo"] < 0) & (fu < 0), "endometrium")
        for ff, degenerated in fibroids:
            paint((ff < 0) & (fu < 0), "fibroid")
            paint((ff < -6) & (fu < 0) & degenerated, "fluid")
    paint(fb < 0, "smooth")
    paint(fb < -float(np.clip(8 - 0.1 * c["bl_a"], 2.5, 6.5)) * rng.uniform(0.8, 1.2), "urine")
    paint(~body, "air")
    org = np.zeros_like(cls)
    org[f_r < 0], org[f_uv < 0], org[fb < 0], org[~body] = 3, 2, 1, 0
    for k in (1, 2, 3):  # each organ one piece: fragments become fat
        lab, nlab = ndi.label(org == k)
        if nlab > 1:
            frag = (lab > 0) & (lab != 1 + int(np.argmax(np.bincount(lab.ravel())[1:])))
            org[frag], cls[frag] = 0, TI["fat"]
    return cls, org, F


def _texture(rng, cv, cls):
    """Multiplicative texture per reference pixel, quantised to uint8 (0.3 .. 1.7)."""
    fine, coarse, sept = (ndi.gaussian_filter(rng.standard_normal((cv.ny, cv.nx), np.float32),
                                              s / cv.h) for s in (1.5, 6, 3))
    amp = np.array([t[5] for t in TISSUES], np.float32)
    fac = 1 + amp[cls] * (0.7 * fine / fine.std() + 0.7 * coarse / coarse.std())
    fat = cls == TI["fat"]  # fat septa: thin dark lines along zero crossings
    fac[fat] *= 1 - 0.3 * np.exp(-(sept[fat] / (0.08 * sept.std())) ** 2)
    return np.clip(np.rint((fac - 0.3) / 1.4 * 255), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- contrast
def _sequence(rng):
    kind, b0 = str(rng.choice(SEQUENCES, p=[0.45, 0.4, 0.15])), 1.5 + 1.5 * (rng.random() < 0.3)
    pf = 1.0 if rng.random() < 0.5 else rng.uniform(0.7, 0.9)
    if kind == "haste":
        s = {"TE": rng.uniform(60, 130), "TR": rng.uniform(2000, 6000), "flip": 90.0,
             "esp": rng.uniform(3.0, 4.2), "t2_tissue": rng.uniform(150, 300), "t2_fluid": 800.0,
             "interval": rng.uniform(0.9, 2.0), "pf": rng.uniform(0.55, 0.75)}
    elif kind == "bssfp":
        tr = rng.uniform(3.0, 4.8)
        s = {"TE": tr / 2, "TR": tr, "flip": rng.uniform(35, 80), "interval": rng.uniform(0.4, 1.2),
             "pf": pf, "b0_hz": rng.uniform(150, 320) if rng.random() < 0.3 else
             rng.uniform(10, 50)}
    else:  # fat and water in phase, opposed or at the shortest TE
        te = {"in": 6.9 / b0, "opposed": 3.45 / b0, "min": rng.uniform(1.2, 2.0)}[
            str(rng.choice(["in", "opposed", "min"]))]
        s = {"TE": te, "TR": rng.uniform(5, 12), "flip": rng.uniform(12, 30),
             "interval": rng.uniform(0.6, 1.5), "pf": pf, "gd_gel": bool(rng.random() < 0.3)}
    s.update(kind=kind, b0_T=b0)
    return s


def _bssfp(t1, t2, tr, flip, theta):
    """Transverse steady state (complex, at TE = TR/2) of balanced SSFP for tissues
    (t1, t2 arrays (K,)) at off-resonance angles theta (B,): (K, B)."""
    th = np.broadcast_to(theta, (len(t1), len(theta)))
    e1, e2 = (np.exp(-tr / np.asarray(x, float))[:, None] * np.ones(len(theta)) for x in (t1, t2))
    ca, sa = np.cos(np.radians(flip)), np.sin(np.radians(flip))
    c, s, z = np.cos(th), np.sin(th), np.zeros_like(th)
    # (I - Rx(a) E Rz(th)) M+ = Rx(a) (0, 0, 1 - E1)
    rows = [[e2 * c, e2 * s, z], [-e2 * s * ca, e2 * c * ca, e1 * sa],
            [e2 * s * sa, -e2 * c * sa, e1 * ca]]
    a = np.stack([np.stack([(i == j) - rows[i][j] for j in range(3)], -1) for i in range(3)], -2)
    m = np.linalg.solve(a, np.stack([z, (1 - e1) * sa, (1 - e1) * ca], -1)[..., None])[..., 0]
    ch, sh = np.cos(th / 2), np.sin(th / 2)  # free precession to TE = TR/2
    return np.sqrt(e2) * ((ch * m[..., 0] + sh * m[..., 1]) + 1j * (-sh * m[..., 0]
                                                                    + ch * m[..., 1]))


def _lut(rng, seq, nbins=64):
    """Complex signal per tissue (and off-resonance bin for bSSFP): (K, B)."""
    pd, ff = (np.array([t[i] for t in TISSUES], float) for i in (1, 4))
    t1, t2 = (np.array([t[i] for t in TISSUES], float) * rng.uniform(0.88, 1.12, len(TISSUES))
              for i in (2, 3))
    ff[TI["marrow"]] = rng.uniform(0.4, 0.8)
    t2[TI["chyme"]] *= rng.uniform(0.4, 1.6)
    t1[TI["gel"]] = rng.uniform(1800, 3000)
    fat_t1 = FAT_T1 * (1.1 if seq["b0_T"] == 3.0 else 1.0)
    if seq["b0_T"] == 3.0:
        t1, t2 = t1 * 1.25, t2 * 0.93
    cs_hz, kind, te, tr = -217.0 * seq["b0_T"] / 1.5, seq["kind"], seq["TE"], seq["TR"]
    if kind == "haste":
        w = pd * (1 - np.exp(-tr / t1)) * np.exp(-te / t2)
        f = FAT_PD * (1 - np.exp(-tr / fat_t1)) * np.exp(-te / FAT_T2_TSE)
        sig = ((1 - ff) * w + ff * f)[:, None].astype(complex)
        sig[TI["vessel"]] = 0.02  # flow void
    elif kind == "bssfp":
        theta = np.linspace(0, 2 * np.pi, nbins, endpoint=False) + np.pi  # alternating RF
        w = pd[:, None] * _bssfp(t1, t2, tr, seq["flip"], theta)
        f = FAT_PD * _bssfp([fat_t1], [FAT_T2], tr, seq["flip"], theta + 2e-3 * np.pi * cs_hz * tr)
        sig = (1 - ff)[:, None] * w + ff[:, None] * f
    else:
        if seq.get("gd_gel"):
            t1[TI["gel"]] = rng.uniform(250, 500)
        t1[TI["vessel"]] = 350.0  # inflow
        a = np.radians(seq["flip"])

        def spgr(p, r1, r2):
            e1 = np.exp(-tr / r1)
            return p * np.sin(a) * (1 - e1) / (1 - np.cos(a) * e1) * np.exp(-te / (0.6 * r2))

        f = spgr(FAT_PD, fat_t1, 40.0) * np.exp(2e-3j * np.pi * cs_hz * te)
        sig = ((1 - ff) * spgr(pd, t1, t2) + ff * f)[:, None]
    sig[[TI["air"], TI["gas"]]] = 0
    return (sig / np.abs(sig).max()).astype(np.complex64)


# ----------------------------------------------------------------------------- motion
def _strain_curve(rng, t_n):
    rest, hold, end = int(rng.integers(2, 5)), int(rng.integers(1, 4)), rng.uniform(0.25, 0.7)
    peak = int(rng.integers(round(0.45 * t_n), round(0.75 * t_n) + 1))
    t = np.arange(t_n, dtype=float)
    ss = lambda x: np.clip(x, 0, 1) ** 2 * (3 - 2 * np.clip(x, 0, 1))  # noqa: E731
    s = ss((t - rest) / max(peak - rest, 1))
    after = t > peak + hold
    s[after] = 1 - (1 - end) * ss((t[after] - peak - hold) / max(t_n - 1 - peak - hold, 1))
    two = bool(rng.random() < 0.25)
    if two:  # a first, weaker effort that relaxes before the main one
        s *= 1 - 0.45 * np.exp(-0.5 * ((t - 0.5 * (rest + peak))
                                       / max(0.12 * (peak - rest), 0.8)) ** 2)
    return np.clip(s + rng.normal(0, 0.02, t_n) * (s > 0.05), 0, 1.05), peak, two


def _handles(rng, c):
    """(kind, centre, sigma, vector or amplitude, lag frames, curve) of the velocity field:
    curve "s" strain, "e" evacuation, "b" breathing."""
    p, u, n, va = c["path"], c["u"], c["n"], c["vag_axis"]
    ra, rr = c["rect_axis"], c["rect_rad"]
    d0 = rng.uniform(22, 36) if p["descending_perineum"] else rng.uniform(6, 16)
    hs = [("move", 0.5 * (c["V1"] + c["ARJ"]), rng.uniform(32, 45),
           d0 * unit(-n + rng.uniform(-0.15, 0.35) * u), 0, "s"),
          ("move", c["bl_center"] + 25 * UP, rng.uniform(45, 65), 0.5 * d0 * DOWN, 0, "s"),
          ("move", c["ARJ"] + 8 * POST, 22.0, 0.35 * d0 * unit(0.4 * u - n), 1, "s"),
          ("move", c["Ts"] + 50 * UP + 25 * ANT, 45.0, rng.uniform(2, 8) * ANT, 0, "s"),
          ("move", c["bl_center"] + 60 * UP, 50.0, rng.uniform(2, 4) * DOWN, 0, "b")]
    if p["cystocele"]:
        hs.append(("move", c["Nb"] + 12 * POST + 8 * UP, rng.uniform(18, 26),
                   rng.uniform(18, 36) * unit(DOWN + 0.25 * POST), rng.integers(0, 3), "s"))
    if p["uterine_prolapse"] or p["vault_prolapse"]:
        hs.append(("move", va[-1], rng.uniform(18, 26), rng.uniform(18, 38) * unit(va[0] - va[-1]),
                   rng.integers(0, 3), "s"))
    if p["rectocele"]:  # anterior bulge of the rectal wall, 25 mm above the junction
        i = int(np.argmin(np.abs(np.r_[0, np.cumsum(np.hypot(*np.diff(ra, axis=0).T))] - 25)))
        dirv = unit(va[np.argmin(np.hypot(*(va - ra[i]).T))] - ra[i])
        centre = ra[i] + 0.5 * rr[i] * dirv
        hs += [("move", centre, rng.uniform(11, 16), rng.uniform(14, 30) * dirv, 1, "s"),
               ("inflate", centre, rng.uniform(10, 14), 0.25, 1, "s")]
    if p["enterocele"]:
        e = c["ent"]
        hs.append(("move", e[1], rng.uniform(14, 20), rng.uniform(15, 32) * unit(e[2] - e[0]), 1,
                   "s"))
    if p["evacuation"]:
        i = int(np.argmax(rr))
        hs.append(("inflate", ra[i], 1.2 * rr[i], -rng.uniform(0.4, 0.8), 0, "e"))
    return hs, d0


def _velocity_basis(cv, c, F, hs, gh):
    """Per-handle velocity fields (K, 2, ny, nx) on a coarse grid, times mobility."""
    gx, gy = np.arange(cv.xs[0], cv.xs[-1] + gh, gh), np.arange(cv.ys[0], cv.ys[-1] + gh, gh)
    yy, xx = np.meshgrid(gy, gx, indexing="ij")
    pts = np.c_[xx.ravel(), yy.ravel()]
    mob = np.clip((cv.sample(F["bone"], pts).reshape(xx.shape) - 1) / 14, 0, 1)
    mob = mob * mob * (3 - 2 * mob)  # zero on bone, also behind the sacrum
    back = c["sac"] + 0.5 * c["sac_th"][:, None] * c["sac_n"]
    back = back[np.argsort(back[:, 1])]
    behind = (xx > np.interp(yy, back[:, 1], back[:, 0])) & (yy < c["C"][1] - 5)
    mob *= (1 - ndi.gaussian_filter(behind.astype(float), 2.5)) * np.clip(
        cv.sample(F["depth"], pts).reshape(xx.shape) / 8, 0.3, 1)
    basis = np.zeros((len(hs), 2) + xx.shape, np.float32)
    for k, (kind, ctr, sig, vec, _, _) in enumerate(hs):
        dx, dy = xx - ctr[0], yy - ctr[1]
        g = np.exp(-(dx * dx + dy * dy) / (2 * sig * sig))
        basis[k] = [1.15 * vec[0] * g, 1.15 * vec[1] * g] if kind == "move" else \
            [vec * dx * g, vec * dy * g]
    return basis * mob, (gx[0], gy[0], gh)


def _exp_inverse(vx, vy, gh, steps=6):
    """Backward displacement of exp(v), i.e. exp(-v) - id, by scaling and squaring."""
    wx, wy = -vx / 2 ** steps / gh, -vy / 2 ** steps / gh
    rows, cols = np.indices(vx.shape, dtype=np.float32)
    for _ in range(steps):
        idx = np.array([rows + wy, cols + wx])
        wx, wy = (wx + ndi.map_coordinates(wx, idx, order=1, mode="nearest"),
                  wy + ndi.map_coordinates(wy, idx, order=1, mode="nearest"))
    return wx * gh, wy * gh


def _lerp_index(x, pos):
    """(left index, weight) to interpolate samples at ``pos`` linearly at ``x``."""
    j = np.clip(np.searchsorted(pos, x) - 1, 0, len(pos) - 2)
    return j, ((x - pos[j]) / (pos[j + 1] - pos[j])).astype(np.float32)


def _upsample(a, rows, cols):
    """Separable linear interpolation of a coarse 2-D array (no BLAS: small and fast)."""
    (jr, wr), (jc, wc) = rows, cols
    a = a[jr] * (1 - wr[:, None]) + a[jr + 1] * wr[:, None]
    return a[:, jc] * (1 - wc) + a[:, jc + 1] * wc


# ----------------------------------------------------------------------------- acquisition
def _pixel_to_body(geo, r, cc):
    """1x pixel coordinates (rows, cols) -> body-frame mm before patient motion."""
    sr, sc, h, w, ctr, th = geo
    ur, uc = (r - (h - 1) / 2) * sr, (cc - (w - 1) / 2) * sc
    ct, st = np.cos(np.radians(th)), np.sin(np.radians(th))
    return np.array([ctr[0] + ct * uc - st * ur, ctr[1] + st * uc + ct * ur])


def _body_to_pixel(geo, q):
    sr, sc, h, w, ctr, th = geo
    (dx, dy), ct, st = np.asarray(q) - ctr, np.cos(np.radians(th)), np.sin(np.radians(th))
    return np.array([(-st * dx + ct * dy) / sr + (h - 1) / 2,
                     (ct * dx + st * dy) / sc + (w - 1) / 2])


def _fov(rng, c, h, w, sr, sc, theta):
    """Field-of-view centre: body centred in x, the perineum low in the frame, moved so
    that the organs (with room to descend) stay inside."""
    top = c["V1"] + (0.6 * c["vag_len"] + c["cx_len"] + c["ut_len"]) * UP  # fundus, at most
    ext = np.array([c["Nb"] + (2 * c["bl_a"] + 10) * UP, c["Nb"] + (c["bl_b"] + 15) * ANT,
                    c["AV"] + 48 * DOWN, c["V0"] + 45 * DOWN, top, c["C"] + 25 * POST,
                    c["sac"][int(0.35 * len(c["sac"]))], c["Ts"] + 10 * ANT])
    ct, st = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    rinv, mid = np.array([[ct, st], [-st, ct]]), 0.5 * (ext.min(0) + ext.max(0))
    loc = (ext - mid) @ rinv.T
    half = np.array([w * sc, h * sr]) / 2 - 10
    lo, hi = -half - loc.min(0), half - loc.max(0)
    i = len(c["sac"]) // 2
    x_body = 0.5 * (c["Ts"][0] - 12 - c["f_ant"] + c["sac"][i][0]
                    + (c["sac_th"][i] + 16 + c["f_post"]) * c["sac_n"][i][0])
    pref = np.array([x_body + rng.uniform(-15, 15),
                     c["AV"][1] - (rng.uniform(0.68, 0.85) - 0.5) * h * sr])
    off = np.where(lo <= hi, np.clip(rinv @ (pref - mid), lo, hi), 0.5 * (lo + hi))
    return mid + rinv.T @ off


def _coils(rng, c, geo):
    """Complex coil sensitivities (C, H, W) on the 1x grid, anterior and posterior arrays."""
    h, w = geo[2], geo[3]
    n_c = int(rng.integers(4, 17))
    x, y = _pixel_to_body(geo, *np.meshgrid(np.arange(h), np.arange(w), indexing="ij"))
    ant_x, post_x = c["Ts"][0] - 10 - c["f_ant"], c["C"][0] + 45 + c["f_post"]
    ys = np.linspace(y.min(), y.max(), max(n_c // 2, 2) + 2)[1:-1]
    sens = np.zeros((n_c, h, w), np.complex64)
    for k in range(n_c):
        cx = ant_x - rng.uniform(5, 25) if k % 2 == 0 else post_x + rng.uniform(5, 30)
        cy = ys[(k // 2) % len(ys)] + rng.uniform(-20, 20)
        z, rho = rng.uniform(20, 90), rng.uniform(50, 95)  # out of plane offset, loop size
        mag = 1 / (1 + ((x - cx) ** 2 + (y - cy) ** 2 + z * z) / rho ** 2) ** 1.5
        ph = rng.uniform(0, 2 * np.pi) + np.tensordot(rng.normal(0, 1.5, 2),
                                                      [(x - cx) / 200, (y - cy) / 200], 1)
        sens[k] = mag * np.exp(1j * ph)
    return sens / np.sqrt((np.abs(sens) ** 2).sum(0)).max()


def _kspace_filters(rng, seq, shape):
    """HASTE T2 decays (tissue, fluid), acquisition x reconstruction filter, homodyne centre
    band (or None) on the padded FFT grid, and a description."""
    pe = int(rng.integers(0, 2))
    k = [sfft.fftfreq(shape[0]) * 2, sfft.fftfreq(shape[1]) * 2]  # -1 .. 1
    kp, kr = k[pe], k[1 - pe]
    acq = [rng.uniform(0.62, 1.0), rng.uniform(0.8, 1.0)]  # PE, RO fraction of the matrix
    pf, k0 = seq["pf"], acq[0] * (2 * seq["pf"] - 1)
    m_pe = (np.abs(kp) <= acq[0]) * (kp >= -k0 if pf < 1 else 1.0)
    homodyne = pf < 0.7  # half Fourier: homodyne (1 centre, 2 upper side, phase-corrected)
    if homodyne:
        m_pe = m_pe * np.where(kp > k0, 2.0, 1.0)
    taper = rng.uniform(0, 0.5) if rng.random() < 0.6 else 0.0
    f_pe = m_pe * (1 - taper + taper * np.cos(np.pi * np.clip(kp / acq[0], -1, 1)) ** 2)
    f_ro = (np.abs(kr) <= acq[1]) * (1 - taper + taper * np.cos(np.pi * np.clip(kr / acq[1],
                                                                               -1, 1)) ** 2)
    along = (lambda a: a[:, None]) if pe == 0 else (lambda a: a[None, :])  # noqa: E731
    decay = [along((m_pe > 0) * np.exp(-seq["esp"] * (kp * len(kp) / 2) / t2) if t2 else
                   np.ones_like(kp)).astype(np.complex64)
             for t2 in (seq.get("t2_tissue", 0), seq.get("t2_fluid", 0))]
    filt = along(f_pe) * (f_ro[None, :] if pe == 0 else f_ro[:, None])
    band = along((np.abs(kp) <= k0).astype(np.complex64)) if homodyne else None
    info = {"phase_encode": "rows" if pe == 0 else "columns", "acquired_fraction":
            [round(a, 3) for a in acq], "partial_fourier": round(pf, 3),
            "partial_fourier_recon": "homodyne" if homodyne else "zero-filled" if pf < 1
            else "none", "filter_taper": round(taper, 3)}
    return decay, filt.astype(np.complex64), band, info


# ----------------------------------------------------------------------------- the case
def generate(seed: int):
    """One case: (frames float32 (T,H,W), labels uint8 (T,H,W), spacing (row, col) mm,
    params).  Frames are the stored integers, in canonical orientation."""
    rng = np.random.default_rng([int(seed), 0xC011])
    rng_a = np.random.default_rng([int(seed), 0xA7A7])  # anatomy: its own stream
    c, seq = _plan(rng_a), _sequence(rng)
    t_n, h, w = int(rng.integers(15, 41)), int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sr = round(float(rng.uniform(1.1, 1.5)), 4)
    sc = round(float(np.clip(sr * rng.uniform(0.9, 1.1), 1.1, 1.5)), 4) if rng.random() < 0.5 \
        else sr
    theta = rng.uniform(-12, 12)
    geo = (sr, sc, h, w, _fov(rng, c, h, w, sr, sc, theta), theta)
    corners = _pixel_to_body(geo, np.array([0, 0, h - 1, h - 1]), np.array([0, w - 1, 0, w - 1]))
    ref_h, (x0, y0) = 0.45 * min(sr, sc), corners.min(1) - 25
    nx, ny = ((corners.max(1) + 25 - [x0, y0]) / ref_h).astype(int) + 1
    cv = Canvas(x0, y0, ref_h, nx, ny)
    cls, org, F = _build(rng_a, cv, c)
    ref16 = (cls.astype(np.uint16) << 8) | _texture(rng_a, cv, cls)
    lut = _lut(rng, seq)
    # motion: strain curve, velocity handles, rigid patient motion
    strain, peak, two = _strain_curve(rng, t_n)
    hs, d0 = _handles(rng, c)
    basis, (gx0, gy0, gh) = _velocity_basis(cv, c, F, hs, 4.0)
    br_period = rng.uniform(3, 5.5)
    curves = {"s": strain, "e": np.clip((np.arange(t_n) - peak + 1) / max(t_n - peak, 1), 0, 1),
              "b": (1 - strain) * np.sin(2 * np.pi * np.arange(t_n) * seq["interval"] / br_period)}
    walk = np.cumsum(rng.normal(0, rng.uniform(0.15, 0.5), (t_n, 3)), axis=0)
    walk, slide = walk - walk[0], rng.normal(0, 1.5, 3) * [1, 1, 0.4]
    pivot = c["P"] + np.array([40.0, -40.0])
    # output grids: the map is evaluated every 4th 2x pixel and interpolated linearly
    r2, c2 = (np.unique(np.arange(0, 2 * m + 3, 4, dtype=float).clip(max=2 * m - 1))
              for m in (h, w))
    p_body = _pixel_to_body(geo, *np.meshgrid((r2 + 0.5) / 2 - 0.5, (c2 + 0.5) / 2 - 0.5,
                                              indexing="ij"))
    up2 = [_lerp_index(np.arange(2 * m, dtype=float), g) for m, g in ((h, r2), (w, c2))]
    up1 = [_lerp_index(2 * np.arange(m) + 0.5, g) for m, g in ((h, r2), (w, c2))]
    bins = None
    if seq["kind"] == "bssfp":  # smooth B0 map -> off-resonance bin per 2x pixel
        yy, xx = np.meshgrid(np.linspace(-1, 1, 2 * h), np.linspace(-1, 1, 2 * w), indexing="ij")
        cf = rng.normal(0, 1, 5)
        df = seq["b0_hz"] * np.tensordot(cf, [xx, yy, xx * yy, xx ** 2, yy ** 2], 1) / 2.5
        bins = (np.floor((2e-3 * np.pi * df * seq["TR"]) % (2 * np.pi) / (2 * np.pi)
                         * lut.shape[1]).astype(np.intp) % lut.shape[1])
    # signal of every (tissue, texture) code of ref16, per off-resonance bin
    lut16 = (lut[:, None, :] * (0.3 + np.arange(256) * (1.4 / 255))[None, :, None]).reshape(
        -1, lut.shape[1]).astype(np.complex64)
    lut16_fluid = lut16[:, 0] * np.array([t[3] >= 240 for t in TISSUES]).repeat(256)
    # acquisition: coils, k-space filters on a padded grid, correlated noise bank
    sens = _coils(rng, c, geo)
    n_c, (hp, wp) = len(sens), (sfft.next_fast_len(h), sfft.next_fast_len(w))
    (w_tis, w_flu), filt, band, kinfo = _kspace_filters(rng, seq, (hp, wp))
    snr, corr = float(np.exp(rng.uniform(np.log(8), np.log(60)))), rng.uniform(0, 0.25)
    chol = np.linalg.cholesky((1 - corr) * np.eye(n_c) + corr * np.ones((n_c, n_c)))
    bank = ((rng.standard_normal((n_c, 3 * hp * wp), np.float32) + 1j * rng.standard_normal(
        (n_c, 3 * hp * wp), np.float32)) / np.sqrt(2)).astype(np.complex64)
    bank = (chol.astype(np.complex64) @ bank).reshape(n_c, 3, hp, wp).transpose(1, 0, 2, 3)
    bank = sfft.ifft2(sfft.fft2(bank, norm="ortho", workers=1) * filt, norm="ortho",
                      workers=1).astype(np.complex64)
    spikes = set(rng.choice(np.arange(1, t_n), 2, replace=False).tolist()) if \
        rng.random() < 0.1 else set()
    sens_ph = np.conj(sens) / np.maximum(np.abs(sens), 1e-12)
    one = np.zeros((2, hp, wp), np.complex64)
    frames, labels = np.zeros((t_n, h, w), np.float32), np.zeros((t_n, h, w), np.uint8)
    down = lambda a: 0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2])  # noqa
    sigma, pcl_pix = None, []
    for t in range(t_n):
        coef = [np.interp(t - lag, np.arange(t_n), curves[cur]) for *_, lag, cur in hs]
        wx, wy = _exp_inverse(*np.tensordot(coef, basis, axes=1), gh)
        rho, tau = 0.4 * walk[t, 2] + slide[2] * strain[t], walk[t, :2] + slide[:2] * strain[t]
        q = pivot[:, None, None] + rot(p_body - (pivot + tau)[:, None, None], -rho)
        gi = np.array([(q[1] - gy0) / gh, (q[0] - gx0) / gh])
        ir = ((q[1] + ndi.map_coordinates(wy, gi, order=1, mode="nearest") - cv.y0) / cv.h
              ).astype(np.float32)
        ic = ((q[0] + ndi.map_coordinates(wx, gi, order=1, mode="nearest") - cv.x0) / cv.h
              ).astype(np.float32)
        v2 = ndi.map_coordinates(ref16, [_upsample(ir, *up2), _upsample(ic, *up2)], order=0,
                                 mode="nearest")
        labels[t] = ndi.map_coordinates(org, [_upsample(ir, *up1), _upsample(ic, *up1)],
                                        order=0, mode="nearest")
        # k-space of the object; the coil maps vary slowly against the point-spread
        # function, so truncation, filters and partial Fourier act on it before them
        one[0, :h, :w] = m = down(lut16[v2, 0] if bins is None else lut16[v2, bins])
        if seq["kind"] == "haste":  # tissue and fluid blur differently along the echo train
            one[0, :h, :w] = down(lut16_fluid[v2])
            one[1, :h, :w] = m - one[0, :h, :w]
            kk = sfft.fft2(one, norm="ortho", workers=1)
            kk = kk[0] * w_flu + kk[1] * w_tis
        else:
            kk = sfft.fft2(one[0], norm="ortho", workers=1)
        img = sens * sfft.ifft2(kk * filt, norm="ortho", workers=1)[:h, :w]
        if sigma is None:
            ref = np.sqrt((img.real ** 2 + img.imag ** 2).sum(0))
            sigma = float(ref[ref > 0.15 * ref.max()].mean()) / snr
        noise = np.roll(bank[rng.integers(3)], (rng.integers(hp), rng.integers(wp)), axis=(1, 2))
        img += sigma * (noise if rng.random() < 0.5 else noise.conj())[:, :h, :w]
        if t in spikes:  # one corrupted k-space sample of one coil: a herringbone
            ky, kx = rng.uniform(-0.5, 0.5, 2)
            img[rng.integers(n_c)] += sigma * snr * rng.uniform(0.2, 1.0) * np.exp(
                2j * np.pi * (ky * np.arange(h)[:, None] + kx * np.arange(w)))
        if band is not None:  # homodyne: remove the low-resolution phase, keep the real part
            low = sfft.ifft2(kk * band, norm="ortho", workers=1)[:h, :w]
            img = (img * sens_ph * np.conj(low) / np.maximum(np.abs(low), 1e-12)).real
            frames[t] = np.sqrt((img ** 2).sum(0))
        else:
            frames[t] = np.sqrt((img.real ** 2 + img.imag ** 2).sum(0))
        pcl_pix.append([_body_to_pixel(geo, pivot + rot(q_ - pivot, rho) + tau)
                        for q_ in (c["P"], c["C"])])
    for t, k in np.ndindex(t_n, 3):  # each organ one connected piece
        lab, nlab = ndi.label(labels[t] == k + 1)
        if nlab > 1:
            labels[t][(lab > 0) & (lab != 1 + int(np.argmax(np.bincount(lab.ravel())[1:])))] = 0
    top = rng.uniform(500, 4000)  # stored integer range
    calm = [t for t in range(t_n) if t not in spikes]
    frames = np.rint(frames * top / max(float(np.percentile(frames[calm], 99.8)), 1e-9))
    hot = int(rng.integers(1, 6)) if rng.random() < 0.3 else 0
    for _ in range(hot):
        frames[rng.integers(t_n), rng.integers(h), rng.integers(w)] = top * rng.uniform(1.5, 3)
    frames = np.rint(np.clip(frames, 0, 65535)).astype(np.float32)
    below = _below_pcl(labels, pcl_pix, (sr, sc))
    rnd = lambda v: round(float(v), 3) if isinstance(v, float) else v  # noqa: E731
    params = {
        "seed": int(seed), "generator": "coil_generator", "shape": [t_n, h, w],
        "spacing_mm": [sr, sc], "frame_interval_s": round(seq["interval"], 4),
        "fov_rotation_deg": round(theta, 2), "fov_centre_mm": [round(float(v), 2) for v in geo[4]],
        "sequence": {k: rnd(v) for k, v in seq.items()}, "kspace": kinfo, "coils": n_c,
        "coil_noise_correlation": round(corr, 3), "snr": round(snr, 2),
        "stored_max_target": round(top, 1), "hot_pixels": hot,
        "kspace_spike_frames": sorted(spikes), "pathologies": c["path"],
        "pcl_angle_deg": round(c["pcl_deg"], 2), "floor_descent_mm": round(float(d0), 2),
        "peak_frame": peak, "two_efforts": two, "strain": [round(float(v), 3) for v in strain],
        "bladder_lowest_below_pcl_mm": {"rest": below[0], "peak": below[peak], "max": max(below)},
        "organs_present_every_frame": {o: bool((labels == k + 1).any((1, 2)).all())
                                       for k, o in enumerate(ORGANS)},
        "organ_touches_border": {o: bool((labels[:, [0, -1]] == k + 1).any()
                                         or (labels[:, :, [0, -1]] == k + 1).any())
                                 for k, o in enumerate(ORGANS)},
        "handles": [f"{hd[0]}:{hd[5]}" for hd in hs]}
    return frames, labels, (sr, sc), params


def _below_pcl(labels, pcl_pix, spacing):
    """Per frame: how far (mm) the lowest bladder pixel lies caudal of the PCL."""
    out = []
    for t, (pp, cc) in enumerate(pcl_pix):
        r, col = np.nonzero(labels[t] == 1)
        a, d = pp * spacing, unit((cc - pp) * spacing)
        nrm = np.array([d[1], -d[0]]) * (1 if d[1] > 0 else -1)  # caudal normal (rows first)
        out.append(round(float(((np.c_[r, col] * spacing - a) @ nrm).max()), 2) if len(r)
                   else float("nan"))
    return out


# ----------------------------------------------------------------------------- DICOM
def _item(**kw):
    from pydicom.dataset import Dataset

    ds = Dataset()
    for key, value in kw.items():
        setattr(ds, key, value)
    return ds


def _ds(v):
    """A DS (decimal string) of at most 16 characters."""
    return next((t for t in (f"{v:.{d}g}" for d in (10, 8, 6)) if len(t) <= 16), f"{v:.4e}")


def write_dicom(path, frames, spacing, params, layout):
    """One Enhanced MR Image Storage file, uint16, stored in ``layout`` and described by
    ImageOrientationPatient so that a reader brings it back to canonical order."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    enhanced_mr, seed, seq = "1.2.840.10008.5.1.4.1.1.4.1", params["seed"], params["sequence"]
    t_n, h, w = frames.shape
    sr, sc = spacing
    th = np.radians(params["fov_rotation_deg"])  # in-plane obliquity of the slice
    e_r = np.array([0.0, np.cos(th), -np.sin(th)])  # canonical: along a row -> posterior
    e_c = np.array([0.0, -np.sin(th), -np.cos(th)])  # down a column -> feet
    pos = lambda r, col: np.array([0.0, -(w - 1) / 2 * sc, (h - 1) / 2 * sr]) \
        + col * sc * e_r + r * sr * e_c  # noqa: E731
    data = np.clip(frames, 0, 65535).astype(np.uint16)
    data, row_dir, col_dir, ipp, ps = {
        "flip_columns": (data[:, :, ::-1], -e_r, e_c, pos(0, w - 1), (sr, sc)),
        "flip_rows": (data[:, ::-1], e_r, -e_c, pos(h - 1, 0), (sr, sc)),
        "transpose": (data.transpose(0, 2, 1), e_c, e_r, pos(0, 0), (sc, sr)),
    }.get(layout, (data, e_r, e_c, pos(0, 0), (sr, sc)))
    uid = lambda kind: generate_uid(entropy_srcs=["coil_generator", str(seed), kind])  # noqa
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = enhanced_mr, uid("sop")
    meta.TransferSyntaxUID, meta.ImplementationClassUID = ExplicitVRLittleEndian, \
        PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    start = _dt.datetime(2023, 5, 2, 8, 0, 0) + _dt.timedelta(minutes=7 * seed)
    day, clock = start.strftime("%Y%m%d"), start.strftime("%H%M%S")
    for key, value in dict(
            SOPClassUID=enhanced_mr, SOPInstanceUID=uid("sop"), StudyInstanceUID=uid("study"),
            SeriesInstanceUID=uid("series"), FrameOfReferenceUID=uid("for"), Modality="MR",
            Manufacturer="PelviTrack coil_generator (synthetic)",
            PatientName=f"COIL^SYNTHETIC^{seed:03d}", PatientID=f"COIL{seed:03d}",
            PatientSex="F", PatientBirthDate="", PatientPosition="HFS", StudyDate=day,
            SeriesDate=day, ContentDate=day, StudyTime=clock, SeriesTime=clock, ContentTime=clock,
            AcquisitionDateTime=start.strftime("%Y%m%d%H%M%S.%f"), StudyID="1",
            AccessionNumber="", ReferringPhysicianName="",
            StudyDescription="Dynamic pelvic floor MRI (synthetic)",
            SeriesDescription=f"cine sag {seq['kind']} coil_generator", SeriesNumber=1,
            InstanceNumber=1, ImageType=["ORIGINAL", "PRIMARY", "M", "NONE"],
            MagneticFieldStrength=_ds(seq["b0_T"]), BodyPartExamined="PELVIS",
            MRAcquisitionType="2D", NumberOfFrames=t_n, Rows=data.shape[1],
            Columns=data.shape[2], SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2",
            BitsAllocated=16, BitsStored=16, HighBit=15, PixelRepresentation=0).items():
        setattr(ds, key, value)
    ds.SharedFunctionalGroupsSequence = [_item(
        PixelMeasuresSequence=[_item(PixelSpacing=[_ds(ps[0]), _ds(ps[1])],
                                     SliceThickness=_ds(6.0))],
        PlaneOrientationSequence=[_item(ImageOrientationPatient=[
            _ds(float(v)) for v in (*row_dir, *col_dir)])],
        PixelValueTransformationSequence=[_item(RescaleSlope="1", RescaleIntercept="0",
                                                RescaleType="US")],
        MRTimingAndRelatedParametersSequence=[_item(
            RepetitionTime=float(seq["TR"]), FlipAngle=float(seq["flip"]),
            EchoTrainLength=128 if seq["kind"] == "haste" else 1)],
        MREchoSequence=[_item(EffectiveEchoTime=float(seq["TE"]))])]
    per = []
    for i in range(t_n):
        when = (start + _dt.timedelta(seconds=i * params["frame_interval_s"])).strftime(
            "%Y%m%d%H%M%S.%f")
        per.append(_item(
            FrameContentSequence=[_item(
                FrameAcquisitionDateTime=when, FrameReferenceDateTime=when,
                FrameAcquisitionDuration=float(params["frame_interval_s"] * 900),
                TemporalPositionIndex=i + 1, StackID="1", InStackPositionNumber=1,
                DimensionIndexValues=[1, i + 1])],
            PlanePositionSequence=[_item(ImagePositionPatient=[_ds(float(v)) for v in ipp])]))
    ds.PerFrameFunctionalGroupsSequence = per
    ds.PixelData = np.ascontiguousarray(data).astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)


def write_case(seed: int, out: str | Path) -> dict:
    """Generate case ``seed`` into ``out/coil_SSS`` and check that it reads back."""
    from core.segment.data import read_labelled_case

    t0 = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    params["layout"] = LAYOUTS[np.random.default_rng([int(seed), 0x1A70]).integers(len(LAYOUTS))]
    params["generate_s"] = round(time.perf_counter() - t0, 2)
    folder = Path(out) / f"coil_{int(seed):03d}"
    folder.mkdir(parents=True, exist_ok=True)
    write_dicom(folder / "series.dcm", frames, spacing, params, params["layout"])
    np.save(folder / "truth.npy", labels)
    (folder / "params.json").write_text(json.dumps(params, indent=1))
    series, truth = read_labelled_case(folder, 4)
    if series.frames.shape != truth.shape or not np.array_equal(series.frames, frames):
        raise RuntimeError(f"{folder}: series read back as {series.frames.shape}, not the "
                           f"frames of the truth {truth.shape} in the same order")
    if not np.allclose(series.spacing_mm, spacing, rtol=0, atol=1e-6):
        raise RuntimeError(f"{folder}: spacing read back {series.spacing_mm} != {spacing}")
    return params


def _job(args):
    t0 = time.perf_counter()
    params = write_case(*args)
    return args[0], time.perf_counter() - t0, params


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--seeds", default="0-11", help='e.g. "0-11" or "3,5,7"')
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--workers", type=int, default=1, help="cases in parallel")
    a = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    Path(a.out).mkdir(parents=True, exist_ok=True)
    from core.seeds import map_jobs, parse_seeds
    jobs = [(s, a.out) for s in parse_seeds(a.seeds)]
    for seed, dt, p in map_jobs(_job, jobs, a.workers):
        print(f"coil_{seed:03d}: {p['shape']} {p['sequence']['kind']} {p['layout']} "
              f"{dt:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
