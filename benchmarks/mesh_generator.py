"""Independent generator of dynamic midsagittal female pelvic MRI with exact organ truth.

A held-out test of how a segmentation model generalises to an image generator it was
never trained on; it shares no code or design with the project's other generators.

Anatomy: labelled polygons in mm (x anterior->posterior, y superior->inferior, origin at
the inferior tip of the symphysis), one tissue and one truth label each, painted in
order: skin, fat, rectus, symphysis, lumbar spine, aorta, sacrum/coccyx, levator plate,
puborectalis, sphincter, perineal body, bulb, bowel loops, pouch fluid, urethra (label 0);
bladder wall + urine (1); vagina, cervix, uterus with zonal anatomy, cysts, fibroid (2);
anal canal + rectum with wall, mucosa, content (gel/stool/gas/collapsed), bubbles (3).
Organs are packed posterior to anterior: rectum (distension 0-1) off the levator and
sacrum; vagina pushed behind urethra and retropubic space and off the rectum along
distance gradients; uterus (body 22-50 mm, version -30..115, flexion -40..50 deg,
postmenopausal 20 %) hinged at the os, unbending/turning to clear the bladder, rectum,
sacrum; bladder (filling 0.03-1) inflated from the neck until it meets its neighbours.
Shape model per case: scale 0.9-1.1, anisotropy +-6 %, tilt, 4 sinusoidal modes (1-4 mm).

Motion (8-40 frames, 0.7-2 s): rest, squeeze (50 %), straining building up, evacuation
(60 %: rectum rebuilt per frame, content shrinks, canal opens).  Each component is a
warp along one direction e whose slope along e stays above -0.6, saturating at half the
free path to bone, so each is a diffeomorphism, as is their composition: organs never
fold or overlap and bones stay put.  Components: pelvic-floor hammock descent
perpendicular to the pubococcygeal line (5-40 mm, zero at pubis and coccyx tip, fading
with height; elevation in a squeeze) with compartment lag (0-1 frame) and compliance
(0.7-1.3); cystocele (40 %), prolapse down the vaginal axis (30 %), rectocele (40 %),
intussusception-like infolding (15 %).  A Jacobian check guards against folding.

Image: tissue PD/T1/T2 per case (+-12 %); SSFSE S = PD (1-exp(-TR/T1)) exp(-TE/T2)
(TE 70-130 ms, fat saturation 15 %, flow void) or bSSFP (flip 35-75 deg, TR 3-5 ms);
4x4 supersampling (partial volume); 10-30 % of a 2-4 mm off-midline rendering (slice
thickness); texture; 1-2 surface coils (1/r, smooth phase); k-space cropped to 55-100 %
and zero-filled (Gibbs), Tukey filter (30 %); in-frame motion (50 %, outer lines from the
next frame); complex noise in k-space, SNR 5-40, Rician or non-central chi; int16.
Matrix 224-288, spacing 1.1-1.5 mm, random placement; rows superior->inferior, columns
anterior->posterior; truth = majority of 16 subsamples, one piece per organ and frame.

Usage: ``python benchmarks/mesh_generator.py --seeds 0-11 --out DIR [--montage PNG]``
writes ``DIR/mesh_SEED/series.nii.gz`` (sagittal affine, frame times in a header
extension), ``truth.npy`` ((T, H, W) uint8) and ``params.json``; each series is read
back with ``core.io.read_series`` and checked.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.interpolate import CubicSpline

from core.io import read_series
from core.seeds import map_jobs, parse_seeds

Arr = np.ndarray
SS = 4  # supersampling per axis
BLADDER, UTERUS_VAGINA, RECTUM = 1, 2, 3
GX0, GY0, GNX, GNY = -200.0, -420.0, 460, 580  # 1 mm working grid of the subject

#: tissue: (proton density, T1 ms, T2 ms), about 1.5 T
TISSUES: dict[str, tuple[float, float, float]] = {
    "fat": (0.95, 290, 110), "skin": (0.70, 900, 35), "muscle": (0.72, 1000, 38),
    "cortex": (0.06, 1000, 8), "marrow": (0.85, 420, 85), "disc": (0.75, 1100, 70),
    "nucleus": (0.90, 1400, 140), "csf": (1.0, 4000, 1800), "blood": (0.90, 1500, 250),
    "urine": (1.0, 3500, 1500), "bladder_wall": (0.75, 1100, 50), "urethra": (0.78, 1150, 65),
    "urethra_mucosa": (0.88, 1400, 130), "vagina_wall": (0.78, 1150, 65),
    "mucus": (0.95, 2200, 350), "gel": (1.0, 2900, 1300), "myometrium": (0.85, 1350, 110),
    "junctional": (0.78, 1150, 52), "endometrium": (0.90, 1450, 170),
    "cervix": (0.75, 1150, 58), "cyst": (1.0, 3000, 900), "fibroid": (0.72, 1000, 40),
    "rect_wall": (0.75, 1050, 52), "rect_mucosa": (0.85, 1250, 95), "stool": (0.70, 800, 85),
    "gas": (0.02, 1000, 10), "bowel_fluid": (0.97, 3000, 700), "chyme": (0.80, 1200, 140),
    "perineal": (0.72, 1000, 45), "erectile": (0.90, 1300, 160),
    "peritoneal_fluid": (1.0, 3500, 1500),
}


@dataclass
class Part:
    """One painted polygon: tissue, truth label, vertices (mm), lateral half-extent."""

    tissue: str
    label: int
    poly: Arr
    lat: float = 1e9  # half-width across the slice (mm), for the off-midline rendering
    moves: bool = True  # bones do not


# ----------------------------------------------------------------- geometry helpers
def rot(p: Arr, deg: float, c: Arr | None = None) -> Arr:
    """Rotate points by ``deg`` (positive turns an upward vector towards posterior)."""
    a = np.deg2rad(deg)
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c0 = np.zeros(2) if c is None else np.asarray(c, float)
    return (np.asarray(p, float) - c0) @ m.T + c0


def unit(v: Arr) -> Arr:
    v = np.asarray(v, float)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def arclen(c: Arr) -> Arr:
    return np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))]


def curve(pts: Arr | list, n: int) -> Arr:
    """Smooth open curve through ``pts`` (arc-length cubic spline) of n points."""
    pts = np.asarray(pts, float)
    d = arclen(pts)
    return CubicSpline(d, pts, axis=0, bc_type="natural")(np.linspace(0, d[-1], n))


def at(c: Arr, s: Arr | float) -> Arr:
    a = arclen(c)
    return np.stack([np.interp(s, a, c[:, 0]), np.interp(s, a, c[:, 1])], -1)


def normals(c: Arr) -> Arr:
    """Unit normals of an open curve; for an upward curve they point posterior."""
    t = unit(np.gradient(c, axis=0))
    return np.stack([-t[:, 1], t[:, 0]], 1)


def tube(c: Arr, wp: Arr | float, wn: Arr | float, caps: tuple[bool, bool] = (True, True)) -> Arr:
    """Closed polygon around centreline ``c``, ``wp`` mm on the +normal side and ``wn`` on
    the other (each capped below the local radius of curvature), round or flat ends."""
    n, d = normals(c), np.gradient(c, axis=0)
    kn = np.sum(np.gradient(unit(d), axis=0) * n, 1) / np.maximum(np.linalg.norm(d, axis=1), 1e-9)
    wp = np.minimum(np.broadcast_to(np.asarray(wp, float), len(c)), 0.85 / np.maximum(kn, 1e-9))
    wn = np.minimum(np.broadcast_to(np.asarray(wn, float), len(c)), 0.85 / np.maximum(-kn, 1e-9))
    th = np.linspace(0, np.pi, 9)[1:-1, None]

    def cap(p: Arr, nn: Arr, t: Arr, wa: float, wb: float) -> Arr:
        return p + np.cos(th) * nn * np.where(th < np.pi / 2, wa, wb) + np.sin(th) * t * (
            0.5 * (wa + wb))

    parts = [c + n * wp[:, None]]
    if caps[1]:
        parts.append(cap(c[-1], n[-1], unit(c[-1] - c[-2]), wp[-1], wn[-1]))
    parts.append((c - n * wn[:, None])[::-1])
    if caps[0]:
        parts.append(cap(c[0], -n[0], unit(c[0] - c[1]), wn[0], wp[0]))
    return np.vstack(parts)


def band(c: Arr, a: Arr | float, b: Arr | float) -> Arr:
    """Polygon between the offsets ``a`` and ``b`` (mm along +normal) of curve ``c``."""
    n = normals(c)
    a = np.broadcast_to(np.asarray(a, float), len(c))[:, None]
    b = np.broadcast_to(np.asarray(b, float), len(c))[:, None]
    return np.vstack([c + n * a, (c + n * b)[::-1]])


def ellipse(c: Arr | tuple, a: float, b: float, deg: float = 0.0, n: int = 48) -> Arr:
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return rot(np.stack([a * np.cos(th), b * np.sin(th)], 1), deg) + np.asarray(c, float)


def offset(p: Arr, d: float) -> Arr:
    """Move a closed polygon outward by ``d`` mm (inward if negative)."""
    t = np.roll(p, -1, 0) - np.roll(p, 1, 0)
    area = np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1])
    return p + d * np.sign(area) * unit(np.stack([t[:, 1], -t[:, 0]], 1))


def resample(p: Arr, step: float) -> Arr:
    q = np.vstack([p, p[:1]])
    q = q[np.r_[True, np.linalg.norm(np.diff(q, axis=0), axis=1) > 1e-6]]
    s = arclen(q)
    u = np.linspace(0, s[-1], max(int(s[-1] / step), 12), endpoint=False)
    return np.stack([np.interp(u, s, q[:, 0]), np.interp(u, s, q[:, 1])], 1)


def smoothstep(x: Arr) -> Arr:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def gmask(polys: list[Arr]) -> Arr:
    """Filled polygons on the 1 mm working grid."""
    img = Image.new("1", (GNX, GNY), 0)
    d = ImageDraw.Draw(img)
    for p in polys:
        d.polygon((p - [GX0, GY0]).ravel().tolist(), fill=1)
    return np.array(img, dtype=bool)


def gsample(f: Arr, pts: Arr) -> Arr:
    return ndimage.map_coordinates(f, [pts[:, 1] - GY0, pts[:, 0] - GX0], order=1,
                                   mode="nearest")


def gsdf(m: Arr) -> Arr:
    """Signed distance (mm, positive outside) to a grid mask."""
    return ndimage.distance_transform_edt(~m) - ndimage.distance_transform_edt(m)


def away(p: Arr, sd: Arr, margin: float) -> Arr:
    """Move points up the signed-distance map ``sd`` until ``margin`` mm away."""
    gy, gx = np.gradient(sd)
    g = unit(np.stack([gsample(gx, p), gsample(gy, p)], 1))
    return p + np.maximum(margin - gsample(sd, p), 0)[:, None] * g


def star(mask: Arr, n: int = 180) -> Arr:
    """Star-shaped outline (mm) of the largest component of a grid mask about its deepest
    point: one simple polygon even where an inflated outline folded."""
    cc, k = ndimage.label(mask)
    if k > 1:
        mask = cc == 1 + int(np.argmax(ndimage.sum(mask, cc, np.arange(1, k + 1))))
    cy, cx = np.unravel_index(np.argmax(ndimage.distance_transform_edt(mask)), mask.shape)
    th, r = np.linspace(0, 2 * np.pi, n, endpoint=False), np.arange(0, 200, 0.5)
    ys, xs = cy + np.sin(th)[:, None] * r, cx + np.cos(th)[:, None] * r
    inside = ndimage.map_coordinates(mask.astype(np.uint8), [ys.ravel(), xs.ravel()], order=0,
                                     mode="constant").reshape(ys.shape)
    rad = r[np.argmax(inside == 0, axis=1)] - 0.3
    return np.stack([cx + GX0 + np.cos(th) * rad, cy + GY0 + np.sin(th) * rad], 1)


def push_off(c: Arr, rules: list[tuple[Arr, float, float]], skip: int) -> tuple[Arr, float]:
    """Move curve points (but the first ``skip``) up each signed-distance map until they
    are ``need`` mm away, at most ``limit`` mm per rule; later rules win."""
    moved = np.zeros((len(rules), len(c)))
    for _ in range(40):
        busy = False
        for j, (sd, need, limit) in enumerate(rules):
            k = (gsample(sd, c) < need) & (moved[j] < limit)
            k[:skip] = False
            if k.any():
                busy = True
                step = np.clip(away(c, sd, need) - c, -1.5, 1.5) * k[:, None]
                c = c + step
                moved[j] += np.linalg.norm(step, axis=1)
        c[1:-1] = 0.25 * c[:-2] + 0.5 * c[1:-1] + 0.25 * c[2:]
        if not busy:
            break
    return c, float(moved.max())


# ------------------------------------------------------------------------- anatomy
class Anatomy:
    """The rest-state polygon model of one case (atlas coordinates, mm)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.p = rng, {}
        u = rng.uniform
        # ---- rectum: centreline from the anal verge to the rectosigmoid junction
        arj = np.array([42.0, 4.0]) + rng.normal(0, 3, 2)
        self.Lc = Lc = u(30, 40)
        verge = arj + unit(rot(np.array([0.45, 0.9]), rng.normal(0, 6))) * Lc
        amp = np.array([[56, -6], [73, -21], [86, -44], [90, -68], [87, -92], [76, -112],
                        [61, -126]]) + rng.normal(0, 2.5, (7, 2))
        self.rc = ndimage.gaussian_filter1d(curve(np.vstack([verge, arj, amp]), 110), 5,
                                            axis=0, mode="nearest")
        self.rs = s = arclen(self.rc)
        Ls = s[-1]
        content = str(rng.choice(["gel", "stool", "gas", "empty"], p=[0.55, 0.2, 0.1, 0.15]))
        self.content, self.dist = content, 0.0 if content == "empty" else u(0.15, 1.0)
        self.hc = u(6.5, 9.0)  # anal canal half-width
        self.tw = 2.5 + 2.5 * (1 - self.dist)  # rectal wall thickness
        rise = smoothstep((s - Lc + 4) / 22)
        fall = smoothstep((s - Lc - 0.45 * (Ls - Lc)) / (0.5 * (Ls - Lc)))
        self.r0 = self.hc + (10 + 17 * self.dist - self.hc) * rise * (1 - fall) \
            + (u(10, 13) - self.hc) * fall
        self.ant_f, self.evac_k, self.open_mm = u(1.0, 1.25), u(0.45, 0.8), u(3.0, 7.0)
        self.lumen = {"gel": "gel", "stool": "stool", "gas": "gas",
                      "empty": str(rng.choice(["mucus", "gas", "rect_mucosa"]))}[content]
        if content == "stool":
            self.blobs = [(u(Lc + 8, Ls - 15), u(-0.6, 0.6), u(0.12, 0.3),
                           str(rng.choice(["gas", "bowel_fluid"])))
                          for _ in range(int(rng.integers(4, 10)))]
        else:  # supine: a gas bubble in gel rises anteriorly
            self.blobs = [(u(Lc + 15, Ls - 25), -0.62, u(0.22, 0.35), "gas")] \
                if content == "gel" and rng.random() < 0.4 else []
        self.p.update(rectal_content=content, rectal_distension=round(self.dist, 3))
        # posterior barrier: levator plate and the anterior surface of sacrum and coccyx
        sac = np.array([[88, -34], [97, -42], [103, -52], [107, -65], [106, -80], [98, -97],
                        [82, -114], [62, -136]], float)
        self.sac_c = curve(sac, 90)  # coccyx tip -> promontory
        self.pr = arj + normals(self.rc)[np.searchsorted(s, Lc)] * (self.hc + 7)
        self.lev = curve([self.pr, 0.5 * (self.pr + sac[0]) + [2, 2], sac[0]], 20)
        bar = np.vstack([self.lev, self.sac_c])
        self.clear = np.maximum(np.min(np.linalg.norm(self.rc[:, None] - bar[None], axis=2),
                                       axis=1) - 6.5, self.hc)
        # ---- vagina: behind the urethra and retropubic space, then off the rectum
        vag = np.array([[8, 34], [16, 16], [25, 0], [37, -14], [52, -30]], float)
        vag[1:] += rng.normal(0, 2.5, (4, 2))
        self.gel_vagina = bool(rng.random() < 0.25)
        self.vhw = u(8, 11) if self.gel_vagina else u(4.2, 6.0)
        self.pub = ellipse((-10, -17), 21, u(7.5, 9.5), 60, 48)
        self.ur = ur = u(3.0, 4.0)
        rect_rest = tube(self.rc, np.minimum(self.r0, self.clear), self.r0 * self.ant_f)
        vc, moved = push_off(curve(vag, 70), [
            (gsdf(gmask([rect_rest])), self.vhw + 3.0, 6.0),
            (gsdf(gmask([self.pub])), self.vhw + 2.5 + 2 * ur + u(7, 11), 15.0)], 10)
        self.vc, vpoly = vc, tube(vc, self.vhw, self.vhw)  # the rectum keeps off it
        dv = np.min(np.linalg.norm(self.rc[:, None] - vpoly[None], axis=2), axis=1)
        self.clear_ant = np.maximum(dv - 3.0, self.hc)
        rect_rest = tube(self.rc, np.minimum(self.r0, self.clear),
                         np.minimum(self.r0 * self.ant_f, self.clear_ant))
        self.vs = arclen(vc)
        self.p.update(vagina_gel=self.gel_vagina, vagina_push_mm=round(moved, 1))
        # ---- urethra, bladder target shape, abdominal wall
        vn = normals(vc)
        iN = int(np.searchsorted(self.vs, u(30, 40)))
        self.neck = neck = vc[iN] - vn[iN] * (self.vhw + 2.5 + ur)
        self.meatus = vc[1] - vn[1] * (self.vhw + 2.5 + ur) + [0, -2]
        self.rect_x = curve([[-24, -40], [-32, -70], [-38, -110], [-42, -160], [-44, -220],
                             [-45, -300], [-45, -480]], 60)  # rectus / linea alba, upward
        self.rect_hw = u(2.5, 5.0)
        f = u(0.15, 1.0) if rng.random() < 0.85 else u(0.03, 0.15)
        up = unit(rot(np.array([0.0, -1.0]), -u(5, 30)))
        sw, sh = 22 + 30 * f ** 0.5, 10 + 50 * f ** 0.7
        th = np.linspace(0, 2 * np.pi, 160, endpoint=False)
        rr = 1 + sum(rng.normal(0, 0.03) * np.cos(k * th + u(0, 6.3)) for k in (2, 3, 4))
        local = rot(np.stack([sw * rr * np.cos(th), sh * rr * np.sin(th)], 1),
                    np.degrees(np.arctan2(up[1], up[0])) + 90 + rng.normal(0, 8))
        centre = up * (0.6 * sh - 4) + rot(up, 90) * 0.2 * sw
        sd_ant = gsdf(gmask([self.pub, band(self.rect_x, self.rect_hw, -80)]))
        m_ant, nrm = u(6, 10), unit(neck - self.meatus)

        def inflate(obstacles: list[Arr]) -> Arr:
            """The bladder grown from the neck in 2 mm steps; walls stop at obstacles."""
            sd_post = gsdf(gmask(obstacles))
            bl = neck + up * 4 + local * 0.05
            for k in range(1, 31):
                step = neck + up * 4 + centre * k / 30 + local * max(k / 30, 0.05) - bl
                bl = bl + step * np.minimum(1, 2 / np.maximum(np.linalg.norm(step, axis=1),
                                                               1e-9))[:, None]
                bl = bl - np.minimum((bl - neck) @ nrm, 0)[:, None] * nrm
                bl = away(away(bl, sd_post, 3.0), sd_ant, m_ant)
            free = gmask([bl]) & (sd_post > 2.0) & (sd_ant > m_ant - 1)
            bl = resample(ndimage.uniform_filter1d(star(free), 7, axis=0, mode="wrap"), 1.5)
            near = np.linalg.norm(bl - neck, axis=1)  # funnel into the urethra
            return away(bl - (np.clip(1 - near / 7, 0, 1) * 3)[:, None] * nrm, sd_post, 2.0)

        soft = [vpoly, rect_rest]
        free_bl = inflate(soft)  # the bladder as it would be without the uterus
        # ---- uterus hinged at the external os
        post, retro = rng.random() < 0.2, rng.random() < 0.2
        version = u(-30, 15) if retro else u(60, 115) - 35 * f
        flexion = u(-40, 10) if retro else u(0, 50) * (1 - 0.6 * f)
        Lcx, hcx = u(24, 32), u(11, 14)
        Lb, hb = (u(22, 32), u(11, 15)) if post else (u(34, 50), u(16, 23))
        tv = unit(vc[-1] - vc[-6])
        self.os = os_ = at(vc, self.vs[-1] - u(10, 15)) - vn[-8] * 2.0

        def make(ver: float, flex: float) -> tuple[Arr, Arr]:
            uc = rot(tv, -ver)
            isth = os_ + uc * Lcx
            sp = curve([os_, os_ + uc * Lcx * 0.5, isth, isth + rot(uc, -flex / 2) * Lb * 0.4,
                        isth + rot(uc, -flex) * Lb], 60)
            ss, sm = arclen(sp), Lcx + 0.5 * Lb
            w = np.where(ss <= Lcx, hcx, hcx + (hb - hcx) * smoothstep((ss - Lcx) / (sm - Lcx)))
            cap = hb * np.sqrt(np.clip(1 - ((ss - sm) / (ss[-1] - sm)) ** 2, 0.004, 1))
            return sp, np.where(ss > sm, cap, w)

        # it yields to most of the bladder, the abdominal wall, rectum and sacrum: first
        # unbend, then turn; the least overlapping pose wins
        cb = free_bl.mean(axis=0)
        block = gmask([self.pub, cb + (free_bl - cb) * u(0.55, 0.9), rect_rest,
                       band(self.rect_x, self.rect_hw + 3, -self.rect_hw - 60),
                       band(self.sac_c, 45, -2)])
        sgn = -1.0 if retro else 1.0
        poses = [(version, flexion * k / 4) for k in (4, 3, 2, 1, 0)]
        best = (9.0, version, flexion)
        for ver, flex in poses + [(version - sgn * d, 0.0) for d in range(5, 100, 5)]:
            sp, w = make(ver, flex)
            body = arclen(sp) > Lcx
            um = gmask([tube(sp[body], w[body], w[body])])
            best = min(best, ((um & block).sum() / um.sum(), ver, flex))
            if best[0] < 0.01:
                break
        spine, w = make(best[1], best[2])
        self.ut = dict(spine=spine, w=w, Lcx=Lcx, post=post, myo=u(5, 9), jz=u(3.5, 8.0),
                       endo=u(0.6, 1.5) if post else u(1.8, 6.0), canal=u(1.2, 2.8),
                       cysts=[(u(4, Lcx - 4), u(-0.6, 0.6), u(1.5, 4))
                              for _ in range(int(rng.integers(0, 4)))],
                       fibroid=(u(Lcx + 8, Lcx + Lb - 8), u(-0.5, 0.5), u(5, 14))
                       if rng.random() < 0.15 and not post else None)
        self.p.update(uterus_version_deg=round(best[1], 1), uterus_flexion_deg=round(best[2], 1),
                      uterus_retro=retro, uterus_postmenopausal=post,
                      uterus_length_mm=round(Lcx + Lb, 1), uterus_overlap=round(best[0], 3))
        # ---- the bladder fills the room left
        self.bladder = bl = inflate(soft + [self.tube_uterus()])
        self.bwall = 6.0 - 3.6 * f ** 0.5
        dpost = gsample(gsdf(gmask(soft + [self.tube_uterus()])), bl)
        self.base_c = bl[dpost < dpost.min() + 3].mean(axis=0)
        self.p.update(bladder_filling=round(f, 3))

    def tube_uterus(self) -> Arr:
        return tube(self.ut["spine"], self.ut["w"], self.ut["w"])

    def rectum(self, evac: float, opening: float) -> list[Part]:
        """Rectum parts for an evacuated fraction ``evac`` and an anal opening 0-1."""
        s, c, n = self.rs, self.rc, normals(self.rc)
        r = self.hc + (self.r0 - self.hc) * (1 - self.evac_k * evac)
        canal = 1 - smoothstep((s - self.Lc + 2) / 10)
        op = opening * self.open_mm * canal
        wl = np.minimum(r, self.clear) + op
        wr = np.minimum(r * self.ant_f, self.clear_ant) + op
        tw = np.where(canal > 0.5, self.hc - 1.0, self.tw)
        if self.content == "empty":  # collapsed lumen
            ll = lr = 1.5 * (1 - canal) + (0.6 + op) * canal
        else:
            ll = np.maximum(wl - tw, 0.6) * (1 - canal) + (0.6 + op) * canal
            lr = np.maximum(wr - tw, 0.6) * (1 - canal) + (0.6 + op) * canal
        lat, ends = float(self.r0.max()), (False, True)
        parts = [Part("rect_wall", RECTUM, tube(c, wl, wr, ends), lat),
                 Part("rect_mucosa", RECTUM, tube(c, np.maximum(wl - 0.5 * tw, ll + 0.8),
                                                  np.maximum(wr - 0.5 * tw, lr + 0.8), ends), lat),
                 Part(self.lumen, RECTUM, tube(c, ll, lr, ends), lat)]
        for sb, fb, rb, tis in self.blobs:
            i = int(np.searchsorted(s, sb))
            rad = max(rb * min(ll[i], lr[i]), 0.8)
            ctr = c[i] + n[i] * fb * max((ll[i] if fb > 0 else lr[i]) - rad, 0)
            parts.append(Part(tis, RECTUM, ellipse(ctr, rad * 1.3, rad, 0, 20), rad))
        return parts

    def build(self) -> tuple[list[Part], list[Part]]:
        """Static parts painted below and above the rectum (atlas coordinates)."""
        rng, u = self.rng, self.rng.uniform
        # ---- body outline, skin, fat, anterior abdominal wall
        fa, fb = u(10, 40), u(8, 28)
        fm = 12 + 0.5 * fa
        ant = [(x - self.rect_hw - fa, y) for x, y in self.rect_x[::-1] if y < -60]
        ant += [(-22 - fm, -40), (-18 - fm, -10), (-10 - 0.6 * fm, 12), (-6, 24), (0, 28),
                (8, 31), (14, 34), (26, 37), (44, 39), (58, 40)]
        back = [(68, 36), (78, 20), (90, 0), (102, -20), (110, -45), (114 + fb * 0.3, -70),
                (116 + fb * 0.5, -100), (120 + fb, -140), (126 + fb, -190), (132 + fb, -250),
                (135 + fb, -330), (136 + fb, -480)]
        body = resample(curve(np.vstack([ant, back]), 400), 2.0)
        self.skin_ant, self.back = np.array(ant), np.array(back)
        below = [Part("skin", 0, body), Part("fat", 0, offset(body, -2.5)),
                 Part("muscle", 0, band(self.rect_x, self.rect_hw, -self.rect_hw), 25)]
        # ---- lumbar spine on the sacral endplate, lordosis from the disc wedges
        n0, a = normals(self.sac_c)[-1], unit(self.sac_c[-1] - self.sac_c[-4])
        base = self.sac_c[-1] + n0 * 16
        canal_pts, front, bones = [self.sac_c[-1] + n0 * 37], [], []
        for wedge, h_ant, h_post in ((12, 13, 7), (10, 12, 8), (8, 11, 8), (6, 10, 8), (6, 9, 8)):
            p = np.array([-a[1], a[0]])  # posterior
            ab, pb = base - p * 16, base + p * 16
            at_, pt = ab + a * h_ant, pb + a * h_post
            bones += [Part("disc", 0, np.array([ab, pb, pt, at_]), 30, False),
                      Part("nucleus", 0, ellipse(0.25 * (ab + pb + pt + at_) + p * 2, 8, 2.5,
                                                 np.degrees(np.arctan2(p[1], p[0]))), 12, False)]
            a = unit(rot(a, wedge))
            p, mid = np.array([-a[1], a[0]]), 0.5 * (at_ + pt)
            body4 = np.array([at_, pt, pt + a * 27, at_ + a * 27])
            bones += [Part("cortex", 0, body4, 30, False),
                      Part("marrow", 0, offset(resample(body4, 1.0), -1.6), 30, False)]
            canal_pts.append(mid + p * 24)
            front.append(mid - p * 28 + a * 13)
            base = mid + a * 27
        cc = curve(np.array(canal_pts + [canal_pts[-1] + a * 200]), 60)
        xb = np.interp(cc[:, 1], self.back[::-1, 1], self.back[::-1, 0])
        post_in = band(cc, 8, np.maximum(xb - cc[:, 0] - fb - 5, 14))
        below += [Part("muscle", 0, post_in, 40), Part("csf", 0, tube(cc, 6.5, 6.5), 8),
                  Part("blood", 0, tube(curve(front[1:] + [front[-1] + a * 200], 30), 8, 8), 9)]
        # ---- sacrum and coccyx: segments with rudimentary discs, sacral canal
        sc = self.sac_c
        f = arclen(sc) / arclen(sc)[-1]
        thick = np.interp(f, [0, 0.17, 0.34, 0.55, 0.75, 1], [7, 10, 14, 20, 30, 48])
        bones += [Part("cortex", 0, band(sc, thick, 0), 40, False),
                  Part("marrow", 0, band(sc[1:-1], thick[1:-1] - 1.5, 1.5), 40, False)]
        for i in (int(g * (len(sc) - 1)) for g in (0.09, 0.17, 0.27, 0.39, 0.53, 0.68, 0.84)):
            bones.append(Part("disc", 0, band(sc[i - 1:i + 2], thick[i] - 1.5, 1.5), 30, False))
        k = f > 0.55
        bones.append(Part("csf", 0, band(sc[k], thick[k] * 0.8, thick[k] * 0.58), 8, False))
        # ---- pelvic floor muscles, perineal body, vestibular bulb
        ci = int(np.searchsorted(self.rs, self.Lc - 3))
        pv, pa = at(self.vc, 8), at(self.rc, 10)
        below += [Part("muscle", 0, tube(self.rc[:ci], self.hc + u(5, 8), self.hc + u(5, 8),
                                         (False, True)), 15),
                  Part("muscle", 0, ellipse(self.pr, 9, 6, u(20, 50)), 20),
                  Part("muscle", 0, tube(self.lev, 3.5, 3.5), 30),
                  Part("perineal", 0, ellipse(0.5 * (pv + pa), 0.5 * np.linalg.norm(pa - pv) - 1,
                                              u(7, 10), np.degrees(np.arctan2(*(pa - pv)[::-1]))),
                       12),
                  Part("erectile", 0, ellipse((-14, 14), u(7, 10), u(3, 5), 60), 8)]
        # ---- small-bowel loops and pouch fluid where there is room (label 0)
        occ = gmask([self.bladder, self.tube_uterus(), band(self.rect_x, self.rect_hw + 4, -60),
                     tube(self.rc, self.r0 + 3, self.r0 * self.ant_f + 3), post_in,
                     tube(self.vc, self.vhw + 3, self.vhw + 3), tube(cc, 8, 8)]
                    + [b.poly for b in bones]) | ~gmask([offset(body, -12)])
        yy, xx = np.mgrid[GY0:GY0 + GNY, GX0:GX0 + GNX]
        occ |= yy > -0.55 * xx - 12  # no bowel below the pubococcygeal line
        loops: list[Part] = []
        for _ in range(300):
            ra, rb = u(8, 17), u(7, 14)
            e = ellipse((u(-50, 95), u(-290, -40)), ra, rb, u(0, 180), 32)
            m = gmask([e])
            if (m & occ).any():
                continue
            occ |= ndimage.binary_dilation(m, iterations=2)
            tis = str(rng.choice(["bowel_fluid", "gas", "chyme"], p=[0.4, 0.2, 0.4]))
            loops += [Part("rect_wall", 0, e, min(ra, rb)),
                      Part(tis, 0, offset(e, -u(1.8, 3.0)), min(ra, rb))]
            if len(loops) >= 28:
                break
        if rng.random() < 0.35:
            c = self.os + rot(unit(self.vc[-1] - self.vc[-6]), 30) * 14
            loops.append(Part("peritoneal_fluid", 0, ellipse(c, u(5, 10), u(3, 6), u(0, 180)), 15))
        self.p.update(bowel_loops=len(loops) // 2)
        # ---- above the rectum: vagina, uterus, urethra, bladder, pubis
        lh = self.vhw - u(2.5, 3.5) if self.gel_vagina else u(0.5, 1.4)
        vl = self.vc[self.vs < self.vs[-1] - (self.vhw - lh) - 2]
        uc = curve([self.meatus, 0.5 * (self.meatus + self.neck),
                    self.neck + unit(self.neck - self.meatus) * 3], 20)
        pub = [Part("cortex", 0, self.pub, 1e9, False),
               Part("marrow", 0, offset(self.pub, -2.0), 1e9, False),
               Part("disc", 0, ellipse((-10, -17), 17, 1.8, 60), 3, False)]
        above = [Part("vagina_wall", UTERUS_VAGINA, tube(self.vc, self.vhw, self.vhw,
                                                         (False, True)), 15),
                 Part("gel" if self.gel_vagina else "mucus", UTERUS_VAGINA,
                      tube(vl, lh, lh, (False, True)), 12), *self.uterus_parts(),
                 Part("urethra", 0, tube(uc, self.ur, self.ur), self.ur + 1),
                 Part("urethra_mucosa", 0, tube(uc, 1.3, 1.3), self.ur),
                 Part("bladder_wall", BLADDER, self.bladder, 35),
                 Part("urine", BLADDER, offset(self.bladder, -self.bwall), 33), *pub]
        self.bones = bones + pub
        return below + loops + bones, above

    def uterus_parts(self) -> list[Part]:
        """Myometrium, junctional zone, endometrium, cervix, canal, cysts, fibroid."""
        t = self.ut
        sp, w, lcx = t["spine"], t["w"], t["Lcx"]
        s, nrm = arclen(sp), normals(sp)
        L = s[-1]
        kc, kk = s <= lcx + 2, s <= lcx + 1
        kb = (s > lcx - 3) & (s < L - t["myo"] - 2)
        e = t["endo"] * np.sin(np.pi * np.clip((s[kb] - lcx + 3) / (L - lcx - t["myo"]), 0.08, 1))
        jz = np.minimum(e + t["jz"], np.maximum(w[kb] - t["myo"], e + 1))
        parts = [Part("myometrium", UTERUS_VAGINA, tube(sp, w, w), 25),
                 Part("cervix", UTERUS_VAGINA, tube(sp[kc], w[kc], w[kc], (True, False)), 14),
                 Part("myometrium" if t["post"] else "junctional", UTERUS_VAGINA,
                      tube(sp[kb], jz, jz), 20),
                 Part("endometrium", UTERUS_VAGINA, tube(sp[kb], e, e), 15),
                 Part("mucus", UTERUS_VAGINA, tube(sp[kk], t["canal"], t["canal"]), 8)]
        for sc, fc, rc in t["cysts"] + ([t["fibroid"]] if t["fibroid"] else []):
            i = int(np.searchsorted(s, sc))
            rc = min(rc, w[i] - 2)
            c = sp[i] + nrm[i] * fc * max(w[i] - rc - 1.5, 0)
            parts.append(Part("cyst" if sc < lcx else "fibroid", UTERUS_VAGINA,
                              ellipse(c, rc, rc, 0, 20), rc))
        return parts


# --------------------------------------------------------------- shape and motion
def global_warp(rng: np.random.Generator) -> tuple[Callable[[Arr], Arr], dict]:
    """Per-case smooth shape model: similarity, anisotropy, four sinusoidal modes."""
    s, an, tilt = rng.uniform(0.9, 1.1), rng.uniform(0.94, 1.06), rng.normal(0, 3)
    modes = [(rng.uniform(1, 4) * rng.choice([-1, 1]), unit(rng.normal(0, 1, 2)),
              unit(rng.normal(0, 1, 2)), rng.uniform(180, 320), rng.uniform(0, 6.3))
             for _ in range(4)]
    c = np.array([40.0, -50.0])

    def warp(p: Arr) -> Arr:
        q = rot((p - c) * [s * an, s / an], tilt) + c
        for amp, e, k, lam, ph in modes:
            q = q + amp * np.sin(2 * np.pi * ((p - c) @ k) / lam + ph)[:, None] * e
        return q

    return warp, {"scale": round(s, 3), "anisotropy": round(an, 3), "tilt_deg": round(tilt, 2)}


def push(e: Arr, c: Arr, sig: float, back: float, ahead: float) -> Callable[[Arr], Arr]:
    """Profile of a warp along ``e`` centred at ``c``: 1 at ``c``, Gaussian across and
    behind (stretch), exponential decay ahead (slope >= -1/``ahead``)."""
    perp = np.array([-e[1], e[0]])

    def f(p: Arr) -> Arr:
        s, q = (p - c) @ e, (p - c) @ perp
        h = np.where(s < 0, np.exp(-0.5 * (s / back) ** 2), np.exp(-np.maximum(s, 0) / ahead))
        return np.exp(-0.5 * (q / sig) ** 2) * h

    return f


def free_path(bone: Arr, e: Arr) -> Arr:
    """Distance (mm, at most 100) from each 2 mm grid node to the next bone along e."""
    ys, xs = np.mgrid[0:GNY:2, 0:GNX:2].astype(float)
    d = np.full(ys.shape, 100.0)
    for k in range(50, 0, -1):  # the nearest hit is written last
        hit = ndimage.map_coordinates(bone, [ys + 2 * k * e[1], xs + 2 * k * e[0]], order=0)
        d[hit > 0] = 2 * k
    d[bone[::2, ::2] > 0] = 0.0
    # conservative at silhouettes; minimum and mean keep the slope along e above -1
    return ndimage.gaussian_filter(ndimage.minimum_filter(d, 7), 2.0)


def protocol(rng: np.random.Generator, n: int) -> tuple[Arr, Arr, Arr, list[str]]:
    """Strain (-0.4..1), evacuated fraction (0..1) and anal opening (0..1) per frame."""
    u = rng.uniform
    ph = [("rest", u(1, 3))]
    if rng.random() < 0.5:
        ph += [("squeeze", u(1.5, 3)), ("rest", u(1, 2))]
    ph += [("strain", u(2.5, 5)), ("rest", u(1, 2))]
    if rng.random() < 0.6:
        ph += [("evacuation", u(3, 6)), ("rest", u(0.5, 2))]
    edges = np.round(np.cumsum([0] + [d for _, d in ph]) / sum(d for _, d in ph) * n).astype(int)
    level = {"rest": 0.0, "squeeze": -u(0.2, 0.4), "strain": u(0.55, 0.9), "evacuation": 1.0}
    target, names, evac, e_max = np.zeros(n), ["rest"] * n, np.zeros(n), u(0.4, 0.95)
    for (name, _), a, b in zip(ph, edges[:-1], edges[1:], strict=True):
        target[a:b] = level[name] * (np.linspace(0.4, 1, b - a) if name == "strain" else 1)
        names[a:b] = [name] * (b - a)
        if name == "evacuation" and b > a:
            evac[a:b] = np.linspace(e_max / (b - a), e_max, b - a)
    strain = ndimage.gaussian_filter1d(target, 0.6)
    if strain.max() < 0.4:
        strain[n // 2] = 0.8
    opening = np.where(np.array(names) == "evacuation", np.clip(strain, 0, 1), 0.0)
    return strain, np.maximum.accumulate(evac), opening, names


class Motion:
    """Pelvic-floor and compartment motion: a composition of unidirectional warps."""

    def __init__(self, rng: np.random.Generator, lm: dict, strain: Arr, bone: Arr) -> None:
        u, t = rng.uniform, np.arange(len(strain))
        comp = {k: (u(0.7, 1.3), u(0, 1.0)) for k in ("ant", "mid", "post")}
        self.curves = {k: c * np.interp(t - lag, t, strain) for k, (c, lag) in comp.items()}
        self.anchor = {"ant": lm["bladder"], "mid": lm["os"], "post": lm["arj"]}
        self.o, self.bone, self.paths = lm["O"], bone, {}
        self.u_pcl = unit(lm["coccyx"] - self.o)
        self.L = float((lm["tip"] - self.o) @ self.u_pcl)  # hammock: pubis to coccyx tip
        down = np.array([-self.u_pcl[1], self.u_pcl[0]]) * np.sign(self.u_pcl[0])
        self.e1 = unit(rot(down, -u(0, 20)))  # perpendicular to the PCL, tilted posterior
        self.A1, self.Hd = u(5, 40), u(60, 110)
        self.p = {"floor_descent_mm": round(self.A1, 1), "compartments": {k: {
            "compliance": round(c, 2), "lag_frames": round(g, 2)} for k, (c, g) in comp.items()}}
        self.fields: list[tuple[Arr, Callable[[Arr], Arr], Arr]] = []

        def add(name: str, prob: float, amp: tuple[float, float], e: Arr, c: Arr, sig: float,
                back: float, key: str) -> None:
            if rng.random() < prob:
                a = u(*amp)
                self.fields.append((unit(e), push(unit(e), c, sig, back, max(25.0, a / 0.6)),
                                    a * np.clip(self.curves[key], 0, 1) ** 1.5))
                self.p[name + "_mm"] = round(a, 1)

        add("cystocele", 0.4, (10, 35), rot(down, -u(15, 45)), lm["bladder"], u(18, 28),
            u(25, 35), "ant")
        add("prolapse", 0.3, (10, 45), -lm["vag_dir"], lm["os"], u(16, 24), u(30, 40), "mid")
        add("rectocele", 0.4, (8, 32), rot(np.array([-1.0, 0.0]), -u(10, 30)), lm["rect_ant"],
            u(11, 17), lm["r_local"], "post")
        if rng.random() < 0.15:  # both rectal walls fold in at one level
            a = u(0.3, 0.55) * lm["r_int"]
            for e, c in ((lm["int_dir"], lm["int_ant"]), (-lm["int_dir"], lm["int_post"])):
                self.fields.append((e, push(e, c, u(8, 12), 12.0, lm["r_int"]),
                                    a * np.clip(self.curves["post"], 0, 1)))
            self.p["intussusception_mm"] = round(a, 1)

    def floor(self, p: Arr, k: int) -> Arr:
        """Hammock descent along e1 (negative: elevation), lagged per compartment."""
        q, h = (p - self.o) @ self.u_pcl, -(p - self.o) @ self.e1
        prof = np.sin(np.pi * np.clip(q / self.L, 0, 1)) ** 0.8 \
            * np.exp(-np.maximum(h, 0) / self.Hd)
        w = {key: np.exp(-np.sum((p - a) ** 2, 1) / (2 * 35.0 ** 2))
             for key, a in self.anchor.items()}
        s = 0.3 * self.curves["mid"][k] + sum(w[key] * self.curves[key][k] for key in w)
        return self.A1 * prof * s / (0.3 + sum(w.values()))

    def limited(self, p: Arr, e: Arr, mag: Arr) -> Arr:
        """Displacement ``mag`` along e saturating at half the free path to bone (slope
        along e stays above -0.6: still monotone, never into bone)."""
        key = (round(float(e[0]), 6), round(float(e[1]), 6))
        if key not in self.paths:
            self.paths[key] = free_path(self.bone, e)
        b = 0.5 * ndimage.map_coordinates(self.paths[key], [(p[:, 1] - GY0) / 2,
                                                            (p[:, 0] - GX0) / 2],
                                          order=1, mode="nearest") + 1e-6
        return (b * np.tanh(mag / b))[:, None] * e

    def apply(self, p: Arr, k: int, scale: float) -> Arr:
        m = scale * self.floor(p, k)
        p = p + self.limited(p, self.e1, np.maximum(m, 0))
        p = p - self.limited(p, -self.e1, np.maximum(-m, 0))
        for e, f, amp in self.fields:
            p = p + self.limited(p, e, scale * amp[k] * f(p))
        return p

    def min_jacobian(self, k: int, scale: float) -> float:
        gx, gy = np.meshgrid(np.arange(-80, 170, 4.0), np.arange(-230, 100, 4.0))
        m = self.apply(np.stack([gx.ravel(), gy.ravel()], 1), k, scale).reshape(*gx.shape, 2)
        (xy, xx), (yy, yx) = np.gradient(m[..., 0], 4.0), np.gradient(m[..., 1], 4.0)
        return float((xx * yy - xy * yx).min())


# ----------------------------------------------------------------- image formation
def tissue_signal(rng: np.random.Generator) -> tuple[dict[str, float], dict]:
    """Signal of each tissue for a drawn sequence (SSFSE or bSSFP) and tissue values."""
    seq = "ssfse" if rng.random() < 0.5 else "bssfp"
    fatsat = seq == "ssfse" and rng.random() < 0.15
    te, tr, flip, tr_b = rng.uniform(70, 130), rng.uniform(1500, 4000), rng.uniform(35, 75), \
        rng.uniform(3.0, 5.0)
    out = {}
    for name, (pd, t1, t2) in TISSUES.items():
        pd, t1, t2 = pd * rng.normal(1, 0.06), t1 * rng.normal(1, 0.12), t2 * rng.normal(1, 0.12)
        pd *= rng.uniform(0.1, 0.3) if fatsat and name in ("fat", "marrow") else 1.0
        if seq == "ssfse":
            pd *= 0.05 if name == "blood" else 1.0  # flow void
            s = pd * (1 - np.exp(-tr / t1)) * np.exp(-te / t2)
        else:
            e1, e2, a = np.exp(-tr_b / t1), np.exp(-tr_b / t2), np.deg2rad(flip)
            s = pd * np.sin(a) * (1 - e1) / (1 - (e1 - e2) * np.cos(a) - e1 * e2) \
                * np.exp(-tr_b / 2 / t2)
        out[name] = float(max(s, 0.0))
    p = {"sequence": seq, "fat_sat": fatsat}
    p.update({"TE_ms": round(te, 1), "TR_ms": round(tr)} if seq == "ssfse"
             else {"flip_deg": round(flip, 1), "TR_ms": round(tr_b, 2)})
    return out, p


@dataclass
class Camera:
    """Image geometry: matrix, spacing (row, col) mm, mm position of pixel (0, 0)."""

    H: int
    W: int
    sp: tuple[float, float]
    x_left: float
    y_top: float

    def canvas(self, p: Arr) -> Arr:
        return np.stack([((p[:, 0] - self.x_left) / self.sp[1] + 0.5) * SS - 0.5,
                         ((p[:, 1] - self.y_top) / self.sp[0] + 0.5) * SS - 0.5], 1)


def rasterise(parts: list[Part], cam: Camera, off: float | None) -> tuple[Arr, Arr]:
    """Part-index and label canvases at SS x resolution; ``off``: off-midline mm, where
    each part shrinks as a body of lateral half-width ``lat`` would."""
    idx, lab = Image.new("L", (cam.W * SS, cam.H * SS)), Image.new("L", (cam.W * SS, cam.H * SS))
    di, dl = ImageDraw.Draw(idx), ImageDraw.Draw(lab)
    for k, part in enumerate(parts):
        poly = part.poly
        if off is not None and part.lat < 1e8:
            if part.lat <= off * 1.05:
                continue
            poly = offset(poly, -(part.lat - np.sqrt(part.lat ** 2 - off ** 2)))
        xy = cam.canvas(poly).ravel().tolist()
        di.polygon(xy, fill=k + 1)
        dl.polygon(xy, fill=part.label)
    return np.array(idx), np.array(lab)


def truth_of(lab4: Arr, h: int, w: int) -> tuple[Arr, int]:
    """Majority label per pixel; the largest piece of each organ (and pixels dropped)."""
    blocks = lab4.reshape(h, SS, w, SS)
    lab = np.stack([(blocks == k).sum(axis=(1, 3)) for k in range(4)]).argmax(0).astype(np.uint8)
    dropped = 0
    for k in (BLADDER, UTERUS_VAGINA, RECTUM):
        cc, n = ndimage.label(lab == k)
        if n > 1:
            keep = 1 + int(np.argmax(ndimage.sum(cc > 0, cc, np.arange(1, n + 1))))
            dropped += int(((cc > 0) & (cc != keep)).sum())
            lab[(cc > 0) & (cc != keep)] = 0
    return lab, dropped


def generate(seed: int) -> tuple[Arr, Arr, Camera, Arr, dict]:
    """One case: int16 frames (T, H, W), truth (T, H, W), camera, times, parameters."""
    t0, rng = time.time(), np.random.default_rng(seed)
    u = rng.uniform
    anat = Anatomy(rng)
    below, above = anat.build()
    gw, gp = global_warp(rng)
    for part in below + above:
        part.poly = gw(part.poly)
    rc, rs, Lc, nr = anat.rc, anat.rs, anat.Lc, normals(anat.rc)
    ir, ii = int(np.searchsorted(rs, Lc + u(10, 25))), int(np.searchsorted(rs, Lc + u(40, 70)))
    r_loc, r_int = float(anat.r0[ir]), float(anat.r0[ii])
    lm = {k: gw(np.atleast_2d(np.asarray(v, float)))[0] for k, v in {
        "O": [0.0, 0.0], "coccyx": at(anat.sac_c, 22.0), "tip": anat.sac_c[0],
        "arj": at(rc, Lc), "os": anat.os, "bladder": anat.base_c,
        "rect_ant": rc[ir] - nr[ir] * r_loc * anat.ant_f,
        "int_ant": rc[ii] - nr[ii] * r_int * anat.ant_f,
        "int_post": rc[ii] + nr[ii] * min(r_int, float(anat.clear[ii]))}.items()}
    lm.update(vag_dir=unit(gw(anat.vc[[-1]]) - gw(anat.vc[[0]]))[0], r_local=r_loc, r_int=r_int,
              int_dir=unit(gw(rc[[ii]] + nr[[ii]]) - gw(rc[[ii]]))[0])
    n, dt = int(rng.integers(8, 41)), round(u(0.7, 2.0), 3)
    strain, evac, opening, names = protocol(rng, n)
    mot = Motion(rng, lm, strain, gmask([b.poly for b in anat.bones]).astype(np.uint8))
    H, W = 2 * int(rng.integers(112, 145)), 2 * int(rng.integers(112, 145))
    spr = round(u(1.1, 1.5), 3)
    spc = round(float(np.clip(spr * u(0.93, 1.07), 1.1, 1.5)), 3)
    xc, yc = 35 + u(-25, 25), -40 + u(-20, 20)
    cam = Camera(H, W, (spr, spc), xc - W / 2 * spc, yc - H / 2 * spr)
    sig, seqp = tissue_signal(rng)
    off_d, beta = u(2, 4), u(0.1, 0.3)
    img2 = np.zeros((n, 2 * H, 2 * W), np.float32)  # signal on a 2x grid
    truth = np.zeros((n, H, W), np.uint8)
    scales, dropped, lut = [], 0, None
    for k in range(n):
        rect = anat.rectum(float(evac[k]), float(opening[k]))
        parts = below + [Part(q.tissue, q.label, gw(q.poly), q.lat) for q in rect] + above
        scale = 1.0
        while mot.min_jacobian(k, scale) < 0.25 and scale > 0.2:
            scale *= 0.85
        scales.append(round(scale, 3))
        moved = [Part(q.tissue, q.label, mot.apply(q.poly, k, scale) if q.moves else q.poly,
                      q.lat) for q in parts]
        if lut is None:  # per-part gain: tissue varies a little between structures
            lut = np.array([0.0] + [sig[q.tissue] for q in parts], np.float32) \
                * rng.normal(1, 0.05, len(parts) + 1).astype(np.float32)
        (idx_m, lab4), (idx_o, _) = rasterise(moved, cam, None), rasterise(moved, cam, off_d)
        img2[k] = sum(wt * lut[i].reshape(2 * H, 2, 2 * W, 2).mean(axis=(1, 3))
                      for wt, i in ((1 - beta, idx_m), (beta, idx_o)))
        truth[k], d = truth_of(lab4, H, W)
        dropped += d
        missing = [org for org in (1, 2, 3) if not (truth[k] == org).any()]
        assert not missing, f"seed {seed} frame {k}: organ(s) {missing} missing"
    ycoil = u(-90, -20)
    coils = (float(np.interp(ycoil, anat.skin_ant[:, 1], anat.skin_ant[:, 0])),
             float(np.interp(ycoil, anat.back[::-1, 1], anat.back[::-1, 0])), ycoil)
    frames, kp = acquire(rng, img2, cam, coils)
    params = {"seed": seed, "frames": n, "frame_interval_s": dt, "matrix": [H, W],
              "spacing_mm": [spr, spc], "fov_centre_mm": [round(xc, 1), round(yc, 1)],
              "off_midline_mm": round(off_d, 2), "through_plane_weight": round(beta, 3),
              "phases": names, "strain": np.round(strain, 3).tolist(),
              "evacuated": np.round(evac, 3).tolist(),
              "anal_opening": np.round(opening, 3).tolist(), "peak_frame": int(np.argmax(strain)),
              "motion_scale": scales, "dropped_truth_pixels": dropped, "shape": gp, **anat.p,
              **mot.p, **seqp, **kp, "seconds": round(time.time() - t0, 2)}
    return frames, truth, cam, np.round(np.arange(n) * dt, 4), params


def acquire(rng: np.random.Generator, img2: Arr, cam: Camera,
            coil_at: tuple[float, float, float]) -> tuple[Arr, dict]:
    """Coils, k-space truncation and filter, in-frame motion, noise, magnitude, int16."""
    u = rng.uniform
    n, H2, W2 = img2.shape
    H, W = cam.H, cam.W
    x = cam.x_left + ((np.arange(W2) + 0.5) / 2 - 0.5)[None, :] * cam.sp[1]
    y = cam.y_top + ((np.arange(H2) + 0.5) / 2 - 0.5)[:, None] * cam.sp[0]
    tex = ndimage.gaussian_filter(rng.normal(0, 1, (H2, W2)), u(3, 8))
    obj = 1 + u(0.03, 0.07) * tex / tex.std()
    ph0 = ndimage.gaussian_filter(rng.normal(0, 1, (H2, W2)), 24)
    obj = obj * np.exp(1j * ph0 / ph0.std() * u(0.2, 1.0))
    xa, xp, yc = coil_at
    which = ["anterior", "posterior"] if rng.random() < 0.6 else [
        str(rng.choice(["anterior", "posterior"]))]
    sens = []
    for wc in which:
        cx, r0 = (xa - u(10, 30) if wc == "anterior" else xp + u(10, 30)), u(50, 120)
        ph = u(-1, 1) * (x - cx) / 150 + u(-1, 1) * (y - yc) / 150
        sens.append(r0 / (r0 + np.hypot(x - cx, y - yc)) * np.exp(1j * ph) * obj)
    pe = str(rng.choice(["rows", "cols"]))
    fr, fc = u(0.55, 1.0), u(0.55, 1.0)
    fr, fc = (fr, max(fc, 0.8)) if pe == "rows" else (max(fr, 0.8), fc)
    Ha, Wa = 2 * int(H * fr / 2), 2 * int(W * fc / 2)
    ky = np.abs(np.arange(H) - H // 2)[:, None] / (Ha / 2)
    kx = np.abs(np.arange(W) - W // 2)[None, :] / (Wa / 2)
    win = ((ky < 1) & (kx < 1)).astype(float)
    acq = win.sum()
    tukey = rng.random() < 0.3
    if tukey:
        win = win * np.outer(0.5 + 0.5 * np.cos(np.pi * np.clip((ky[:, 0] - 0.6) / 0.4, 0, 1)),
                             0.5 + 0.5 * np.cos(np.pi * np.clip((kx[0] - 0.6) / 0.4, 0, 1)))
    blur = u(0, 0.35) if rng.random() < 0.5 else 0.0
    kpe = np.minimum(ky * Ha / H, 1) if pe == "rows" else np.minimum(kx * Wa / W, 1)
    r0_, c0_ = H2 // 2 - H // 2, W2 // 2 - W // 2
    ksp = np.zeros((n, len(sens), H, W), np.complex64)
    for k in range(n):
        for c, s in enumerate(sens):
            ksp[k, c] = np.fft.fftshift(np.fft.fft2(img2[k] * s))[r0_:r0_ + H, c0_:c0_ + W] / 4
    if blur > 0:  # outer phase-encode lines acquired later, nearer the next frame
        ksp = (1 - blur * kpe) * ksp + blur * kpe * np.concatenate([ksp[1:], ksp[-1:]])
    ksp *= win

    def recon(k: int, noise: float) -> Arr:
        img = [np.fft.ifft2(np.fft.ifftshift(ksp[k, c] + noise * win * (
            rng.normal(0, 1, (H, W)) + 1j * rng.normal(0, 1, (H, W))))) for c in range(len(sens))]
        return np.sqrt(sum(np.abs(i) ** 2 for i in img))

    clean = recon(0, 0.0)
    snr = float(np.exp(u(np.log(5), np.log(40))))
    sigma = clean[clean > np.percentile(clean, 40)].mean() / snr * H * W / np.sqrt(acq)
    out = np.stack([recon(k, sigma) for k in range(n)])
    frames = np.clip(np.round(out * u(800, 3000) / np.percentile(out, 99.5)), 0, 32767)
    return frames.astype(np.int16), {
        "coils": which, "snr": round(snr, 2), "phase_encode": pe, "tukey": tukey,
        "kspace_fraction": [round(Ha / H, 3), round(Wa / W, 3)], "inframe_motion": round(blur, 3)}


# ------------------------------------------------------------------------- output
def write_case(out: Path, seed: int) -> dict:
    """Generate one case, write it and check that it reads back exactly."""
    frames, truth, cam, times, params = generate(seed)
    d = out / f"mesh_{seed}"
    d.mkdir(parents=True, exist_ok=True)
    spr, spc = cam.sp
    aff = np.eye(4)  # voxel (column, row, slice) -> RAS: columns posterior, rows inferior
    aff[:3, 0], aff[:3, 1], aff[:3, 2] = [0, -spc, 0], [0, 0, -spr], [5.0, 0, 0]
    aff[:3, 3] = [0.0, -cam.x_left, -cam.y_top]
    img = nib.Nifti1Image(np.transpose(frames, (2, 1, 0))[:, :, None, :], aff)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((spc, spr, 5.0, params["frame_interval_s"]))
    img.set_sform(aff, code=1)
    img.set_qform(aff, code=1)
    img.header["descrip"] = b"mesh_generator synthetic pelvis"
    img.header.extensions.append(nib.nifti1.Nifti1Extension(
        "comment", json.dumps({"times_s": times.tolist()}).encode()))
    nib.save(img, d / "series.nii.gz")
    np.save(d / "truth.npy", truth)
    (d / "params.json").write_text(json.dumps(params, indent=1))
    back = read_series(d / "series.nii.gz")
    assert back.meta["orientation_ops"] == [], back.meta["orientation_ops"]
    assert back.frames.shape == truth.shape and np.array_equal(back.frames, frames), seed
    assert np.allclose(back.spacing_mm, (spr, spc), atol=1e-6), back.spacing_mm
    assert np.allclose(back.times_s, times, atol=1e-6), back.times_s
    return params


def montage(out: Path, seeds: list[int], png: Path) -> None:
    """Rest and peak-strain frames of the first six cases with truth contours."""
    colours = {BLADDER: (255, 255, 0), UTERUS_VAGINA: (255, 0, 255), RECTUM: (0, 255, 255)}
    tiles = []
    for seed in seeds[:6]:
        d = out / f"mesh_{seed}"
        s, truth = read_series(d / "series.nii.gz"), np.load(d / "truth.npy")
        for k in (0, json.loads((d / "params.json").read_text())["peak_frame"]):
            g = np.clip(s.frames[k] / np.percentile(s.frames[k], 99.5) * 255, 0, 255)
            rgb = np.repeat(g.astype(np.uint8)[..., None], 3, axis=2)
            for org, col in colours.items():
                m = truth[k] == org
                rgb[m & ~ndimage.binary_erosion(m)] = col
            tiles.append(Image.fromarray(rgb))
            ImageDraw.Draw(tiles[-1]).text((4, 4), f"seed {seed} frame {k}", fill=(255, 80, 80))
    tw, th = max(t.width for t in tiles), max(t.height for t in tiles)
    sheet = Image.new("RGB", (4 * tw, (len(tiles) + 3) // 4 * th))
    for i, t in enumerate(tiles):
        sheet.paste(t, (i % 4 * tw, i // 4 * th))
    sheet.save(png)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0-11", help="e.g. 0-11 or 3,5,8")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--montage", type=Path, default=None, help="PNG of the first six cases")
    ap.add_argument("--workers", type=int, default=1, help="cases in parallel")
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    for seed, p in zip(seeds, map_jobs(partial(write_case, args.out), seeds, args.workers),
                       strict=True):
        print(f"mesh_{seed}: {p['frames']} frames {p['matrix']} {p['sequence']} snr {p['snr']}"
              f" dropped {p['dropped_truth_pixels']} px, {p['seconds']} s", flush=True)
    if args.montage is not None:
        montage(args.out, seeds, args.montage)


if __name__ == "__main__":
    main()
