"""Eighth independent generator: 3D pelvic anatomy imaged as a thick oblique slab.

Methods.  Each subject is built as a 3D anatomy in patient millimetres (x left,
y posterior, z inferior; origin at the pubic symphysis) from smooth implicit
shapes: ellipsoids and superellipsoids, tubes around spline centre lines with
elliptical cross-sections, a levator sling ring, and an extruded body outline
with thighs.  Two layers are voxelised once per case: a static layer (skin,
fat, abdominal wall, paraspinal and gluteal muscles, thighs, vessels, spinal
canal, and on top an occluding bone sub-layer: pubic bones with the
fibrocartilage disc, sacrum, coccyx, L4-L5 with discs and spinous processes)
and a mobile, alpha-composited layer (small bowel and sigmoid loops, levator
plate, puborectalis, perineal body, sphincters, urethra, rectum + anal canal,
vagina, cervix + uterus with zonal anatomy, bladder wall + urine indented by the
uterus).  A straining manoeuvre (Valsalva, defecation-type or repeated strain)
moves the mobile layer with a smooth 3D forward field made of Gaussian-weighted
compartment translations and rotations (anterior: bladder descent and bladder
neck / urethral rotation about the distal urethra; middle: vaginal vault and
uterus; posterior: anorectal junction descent and anal-canal rotation, i.e.
anorectal angle opening; optional rectocele bulge, cystocele, uterine
prolapse, hysterectomy), inverted per frame by fixed-point iteration.  The
static bones define the pubococcygeal line, so the compartment displacements
(10-45 mm at peak) are descents relative to it.  Each frame is imaged on a
mid-sagittal plane with random obliquity (tilt <= 10 deg, in-plane rotation
<= 6 deg) and left-right offset, while the patient moves rigidly over time
(through-plane drift and jumps, strain-correlated cranial slide, small
rotations).  The slab (4-10 mm, smoothed-rect slice profile) is integrated by
convolving the voxelised layers along left-right with the profile before the
oblique centre plane is sampled, so partial volume comes from out-of-plane
anatomy.  Labels (0 background, 1 bladder, 2 uterus + cervix + vagina,
3 rectum + anal canal) are those of the slab's CENTRE plane (nearest sample of
the unblurred label volume, hidden by bone), reduced to the largest connected
piece per organ; every organ is present in every frame (otherwise the case is
redrawn with the next attempt).  Contrast: per case one of T2 single-shot FSE,
bSSFP (with off-resonance banding), T1 spoiled GRE (dark urine) or proton
density, optional fat suppression, per-tissue jitter; rectal content gel, gas
or stool; vaginal gel sometimes.  Artifacts: coil bias field (factor 0.5-1.5),
k-space truncation (Gibbs) and apodisation blur, radial undersampling streaks
or phase-encode wrap-around in some cases, Rician noise (SNR 5-40), random
global scale / offset, int16 or float32 storage in transposed / flipped layouts
with the matching sagittal affine.

Run::

    python benchmarks/slab_generator.py --seeds 0-11 --out DIR [--workers N]

writes ``DIR/slab_SSS/{series.nii.gz, truth.npy, params.json}`` and reads each
case back with :func:`core.io.read_series` to check it.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.interpolate import CubicSpline

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.seeds import map_jobs, parse_seeds  # noqa: E402

LABELS = {0: "background", 1: "bladder", 2: "uterus_vagina", 3: "rectum"}
SEQUENCES = ("t2_ssfse", "bssfp", "t1_gre", "pd_fse")
# tissue: (T2 SSFSE, bSSFP, T1 spoiled GRE, PD FSE), relative signal
TISSUES = {
    "air": (0.0, 0.0, 0.0, 0.0), "fat": (0.80, 0.80, 0.90, 0.85),
    "muscle": (0.18, 0.22, 0.33, 0.35), "skin": (0.45, 0.45, 0.55, 0.60),
    "urine": (1.0, 0.95, 0.07, 0.70), "bladder_wall": (0.25, 0.30, 0.35, 0.40),
    "myometrium": (0.50, 0.45, 0.38, 0.55), "junctional": (0.22, 0.30, 0.33, 0.40),
    "endometrium": (0.85, 0.70, 0.35, 0.65), "cervix": (0.20, 0.30, 0.32, 0.38),
    "mucus": (0.90, 0.85, 0.12, 0.70), "vagina_wall": (0.32, 0.35, 0.35, 0.45),
    "rectal_wall": (0.30, 0.32, 0.35, 0.42), "int_sphincter": (0.28, 0.30, 0.34, 0.40),
    "gel": (0.95, 0.90, 0.12, 0.75), "stool": (0.35, 0.40, 0.50, 0.50),
    "gas": (0.02, 0.02, 0.02, 0.02), "marrow": (0.55, 0.65, 0.75, 0.70),
    "cortex": (0.03, 0.03, 0.03, 0.03), "fibrocartilage": (0.22, 0.25, 0.30, 0.35),
    "ivdisc": (0.70, 0.60, 0.30, 0.50), "csf": (1.0, 0.95, 0.08, 0.70),
    "bowel_wall": (0.35, 0.40, 0.40, 0.45), "bowel_fluid": (0.85, 0.90, 0.12, 0.65),
    "chyme": (0.50, 0.55, 0.45, 0.50), "vessel": (0.08, 0.90, 0.55, 0.15),
    "free_fluid": (1.0, 0.95, 0.07, 0.70),
}
TISSUE_CODE = {name: i for i, name in enumerate(TISSUES)}
FAT_LIKE = ("fat", "marrow")


# ----------------------------------------------------------------------------- geometry
class Grid:
    """Regular voxel grid (x, y, z) in mm."""

    def __init__(self, lo, hi, step):
        self.lo = np.asarray(lo, float)
        self.step = np.asarray(step, float)
        self.shape = tuple(int(np.ceil((h - lo_) / s)) + 1
                           for lo_, h, s in zip(lo, hi, step, strict=True))
        self.axes = [(self.lo[i] + self.step[i] * np.arange(n)).astype(np.float32)
                     for i, n in enumerate(self.shape)]

    def box(self, lo, hi):
        sl = []
        for i in range(3):
            a = max(int(np.floor((lo[i] - self.lo[i]) / self.step[i])), 0)
            b = min(int(np.ceil((hi[i] - self.lo[i]) / self.step[i])) + 1, self.shape[i])
            if a >= b:
                return None
            sl.append(slice(a, b))
        x = self.axes[0][sl[0]][:, None, None]
        y = self.axes[1][sl[1]][None, :, None]
        z = self.axes[2][sl[2]][None, None, :]
        return tuple(sl), x, y, z

    def coords(self, pts):
        """(3, N) mm -> (3, N) voxel coordinates."""
        return (pts - self.lo[:, None]) / self.step[:, None]


class Layer:
    """Voxelised intensities composited front-to-back in painting order."""

    def __init__(self, grid, values, labels=False):
        self.g, self.values = grid, values
        self.val = np.zeros(grid.shape, np.float32)
        self.alpha = np.zeros(grid.shape, np.float32)
        self.cls = np.zeros(grid.shape, np.uint8)
        self.lab = np.zeros(grid.shape, np.uint8) if labels else None

    def paint(self, shape, tissue, label=None):
        lo, hi, fn = shape
        b = self.g.box(lo, hi)
        if b is None:
            return
        sl, x, y, z = b
        edge = 0.7 * float(self.g.step[1])
        a = np.clip(0.5 - fn(x, y, z) / edge, 0.0, 1.0).astype(np.float32)
        if not a.any():
            return
        v, al = self.val[sl], self.alpha[sl]
        v *= 1 - a
        v += self.values[tissue] * a
        al *= 1 - a
        al += a
        m = a > 0.5
        self.cls[sl][m] = TISSUE_CODE[tissue]
        if self.lab is not None and label is not None:
            self.lab[sl][m] = label


def ellipsoid(c, ax, ang=0.0, p=2.0):
    """Ellipsoid (x half-axis, in-plane half-axes across/along the direction at angle
    ``ang`` from +z towards +y); approximate signed distance in mm."""
    c, ax = np.asarray(c, float), np.asarray(ax, float)
    r = ax[1:].max() + 3
    lo, hi = c - [ax[0] + 3, r, r], c + [ax[0] + 3, r, r]
    ca, sa = np.cos(ang), np.sin(ang)

    def f(x, y, z):
        dy, dz = y - c[1], z - c[2]
        q = [(x - c[0]) / ax[0], (dy * ca - dz * sa) / ax[1], (dy * sa + dz * ca) / ax[2]]
        if p == 2.0:
            val = q[0] ** 2 + q[1] ** 2 + q[2] ** 2 - 1
            grad = 2 * np.sqrt((q[0] / ax[0]) ** 2 + (q[1] / ax[1]) ** 2 + (q[2] / ax[2]) ** 2)
        else:
            aq = [np.abs(qi) for qi in q]
            val = aq[0] ** p + aq[1] ** p + aq[2] ** p - 1
            grad = p * np.sqrt(sum((aq[i] ** (p - 1) / ax[i]) ** 2 for i in range(3)))
        return val / (grad + 1e-3)
    return lo, hi, f


def curve(ctrl, n=48):
    """Dense points along a natural cubic spline through control points (y, z)."""
    pts = np.asarray(ctrl, float)
    s = np.r_[0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
    return CubicSpline(s, pts, bc_type="natural")(np.linspace(0, s[-1], n))


def tube(pts, radii, kx=1.0, x0=0.0):
    """Tube around a centre line in the plane x = x0: AP half-size ``radii``, LR
    half-size ``radii / kx`` (both interpolated along the line)."""
    pts = np.asarray(pts, float)
    n = len(pts)
    def along(v):
        v = np.atleast_1d(np.asarray(v, float))
        return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(v)), v) if len(v) > 1 \
            else np.full(n, v[0])
    radii, kx = along(radii), along(kx)
    rmax, wmax = radii.max(), (radii / kx).max()
    lo = np.array([x0 - wmax - 2, pts[:, 0].min() - rmax - 2, pts[:, 1].min() - rmax - 2])
    hi = np.array([x0 + wmax + 2, pts[:, 0].max() + rmax + 2, pts[:, 1].max() + rmax + 2])

    def f(x, y, z):
        yy, zz = np.broadcast_arrays(y[0], z[0])
        best = np.full(yy.shape, np.inf, np.float32)
        idx = np.zeros(yy.shape, np.float32)
        for i in range(n - 1):
            d = pts[i + 1] - pts[i]
            t = np.clip(((yy - pts[i, 0]) * d[0] + (zz - pts[i, 1]) * d[1]) / (d @ d + 1e-9), 0, 1)
            dist = (yy - pts[i, 0] - t * d[0]) ** 2 + (zz - pts[i, 1] - t * d[1]) ** 2
            upd = dist < best
            best = np.where(upd, dist, best)
            idx = np.where(upd, i + t, idx)
        r = np.interp(idx, np.arange(n), radii)
        k = np.interp(idx, np.arange(n), kx)
        return np.sqrt(((x - x0) * k) ** 2 + best) - r
    return lo, hi, f


def sling(c, a, b, ang, r):
    """Posterior half of an elliptic ring (puborectalis) in the plane spanned by x
    and the in-plane direction at angle ``ang``."""
    c = np.asarray(c, float)
    lo, hi = c - [b + r + 2, a + r + 2, a + r + 2], c + [b + r + 2, a + r + 2, a + r + 2]
    sa, ca = np.sin(ang), np.cos(ang)

    def f(x, y, z):
        dy, dz = y - c[1], z - c[2]
        u, w = dy * sa + dz * ca, dy * ca - dz * sa
        rho = np.sqrt((x / b) ** 2 + (u / a) ** 2)
        return np.maximum(np.sqrt(((rho - 1) * a) ** 2 + w ** 2) - r, -u)
    return lo, hi, f


def combine(shape, other, gap=0.0):
    """``shape`` minus ``other`` grown by ``gap`` mm (CSG difference)."""
    lo, hi, f = shape
    g = other[2]
    return lo, hi, lambda x, y, z: np.maximum(f(x, y, z), gap - g(x, y, z))


def clip(shape, fn):
    lo, hi, f = shape
    return lo, hi, lambda x, y, z: np.maximum(f(x, y, z), fn(x, y, z))


def rot_yz(v, ang):
    """Rotate (y, z) by ``ang``: a direction at angle a (from +z towards +y) goes to a - ang."""
    c, s = np.cos(ang), np.sin(ang)
    return np.array([v[0] * c - v[1] * s, v[0] * s + v[1] * c])


def direction(a):
    return np.array([np.sin(a), np.cos(a)])


# ----------------------------------------------------------------------------- anatomy
def body_outline(rng, k):
    """2D signed distance (y, z) of the mid-sagittal body outline, and its thighs."""
    from PIL import Image, ImageDraw

    f_ant, f_post = rng.uniform(12, 45), rng.uniform(8, 30)
    poly = [(-30 - f_ant, -560), (-32 - f_ant, -160), (-28 - f_ant, -70), (-22 - 0.8 * f_ant, -25),
            (-15 - 0.6 * f_ant, 15), (-5 - 0.3 * f_ant, 40), (12, 57), (28, 64), (52, 64),
            (78, 58), (96, 46), (112, 22), (124, -8), (132 + 0.5 * f_post, -45),
            (145 + f_post, -100), (150 + f_post, -180), (152 + f_post, -560)]
    poly = [(y * k, z * k) for y, z in poly]
    y0, z0, res = -140.0, -600.0, 1.5
    ny, nz = 270, 540
    img = Image.new("L", (ny, nz), 0)
    ImageDraw.Draw(img).polygon([((y - y0) / res, (z - z0) / res) for y, z in poly], fill=1)
    m = ndimage.gaussian_filter(np.asarray(img, np.float32).T, 4.0 / res) > 0.5
    sd = (ndimage.distance_transform_edt(~m) - ndimage.distance_transform_edt(m)).astype(np.float32)
    sd *= res

    def sd2d(y, z):
        yy, zz = np.broadcast_arrays(y[0], z[0])
        c = np.stack([(yy - y0) / res, (zz - z0) / res]).reshape(2, -1)
        return ndimage.map_coordinates(sd, c, order=1, mode="nearest").reshape(yy.shape)
    return sd2d, f_ant, f_post


def build_static(grid, rng, k, vals, a):
    """Static layer (soft tissue) and occluding bone layer."""
    soft, bone = Layer(grid, vals), Layer(grid, vals)
    sd2d, f_ant, f_post = body_outline(rng, k)
    gap = rng.uniform(6, 40) / 2
    th = dict(xc=gap + 70, yc=40 * k, rx=70, ry=75, z0=40 * k)

    def body(x, y, z):
        sdb = np.maximum(sd2d(y, z)[None], np.abs(x) - 170)
        rho = np.sqrt(((np.abs(x) - th["xc"]) / th["rx"]) ** 2 + ((y - th["yc"]) / th["ry"]) ** 2)
        sdt = np.maximum((rho - 1) * th["rx"], th["z0"] - z)
        return np.minimum(sdb, sdt)
    lo, hi = grid.lo, grid.lo + grid.step * (np.array(grid.shape) - 1)
    soft.paint((lo, hi, body), "skin")
    skin = float(rng.uniform(1.5, 2.8))
    soft.paint((lo, hi, lambda x, y, z: body(x, y, z) + skin), "fat")
    t_m, linea = rng.uniform(7, 12), rng.uniform(0.5, 2.0)  # rectus thickness, linea alba

    def rectus(x, y, z):
        s = sd2d(y, z)[None]
        band = np.maximum(s + f_ant * 0.9, -(s + f_ant * 0.9 + t_m))
        return np.maximum(np.maximum(band, y - 10 * k), np.maximum(z + 20 * k, linea - np.abs(x)))
    soft.paint(([-70, -160, -700], [70, 20, 10], rectus), "muscle")

    def paraspinal(x, y, z):
        s = sd2d(y, z)[None]
        band = np.maximum(s + f_post * 0.8, -(s + f_post * 0.8 + 45))
        return np.maximum(np.maximum(band, 95 * k - y), np.maximum(z + 95 * k, 3.0 - np.abs(x)))
    soft.paint(([-70, 60, -700], [70, 260, 0], paraspinal), "muscle")
    g_gap = rng.uniform(3, 14)
    for sgn in (-1, 1):
        gl = ellipsoid([sgn * (g_gap + 60), 118 * k, 15 * k], [60, 42 * k, 70 * k], 0.5)
        soft.paint(clip(gl, lambda x, y, z: body(x, y, z) + f_post * 0.6), "muscle")
        thigh = ellipsoid([sgn * th["xc"], th["yc"] + 10, 170 * k], [45, 50, 130])
        soft.paint(clip(thigh, lambda x, y, z: body(x, y, z) + 12), "muscle")
    # spine geometry: sacrum anterior surface as a quadratic Bezier
    prom = np.array([85.0, -110.0]) * k + rng.normal(0, 4, 2)
    tip = np.array([95.0, rng.uniform(-28, -5)]) * k
    ctrl = np.array([150.0, -60.0]) * k + rng.normal(0, 5, 2)
    u = np.linspace(0, 1, 40)[:, None]
    ant = (1 - u) ** 2 * prom + 2 * u * (1 - u) * ctrl + u ** 2 * tip
    tang = np.gradient(ant, axis=0)
    nrm = np.stack([tang[:, 1], -tang[:, 0]], 1)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    nrm *= np.sign(nrm[:, 0:1] + 1e-9)  # posterior-pointing normal
    half = np.interp(u[:, 0], [0, 0.6, 0.8, 1], [22, 13, 7, 5]) * k
    width = np.interp(u[:, 0], [0, 0.6, 0.8, 1], [50, 30, 14, 8]) * k
    centre = ant + nrm * half[:, None]
    a["sacrum_ant"], a["sacrum_nrm"], a["coccyx_tip"] = ant, -nrm, tip
    # spinal canal (CSF down to S2) and vessels
    ep = prom + nrm[0] * 22 * k  # S1 endplate centre
    n1 = -direction(rng.uniform(0.55, 0.8))  # superior-anterior normal of S1 endplate
    n1 = np.array([-abs(n1[0]), -abs(n1[1])])
    levels, p, d = [], ep.copy(), n1.copy()
    for _ in range(3):
        levels.append(("disc", p + d * 5.5 * k, d))
        p = p + d * 11 * k
        levels.append(("body", p + d * 14 * k, d))
        p = p + d * 28 * k
        d = rot_yz(d, -0.22)  # lordosis straightens the axis upwards
        d = d / np.linalg.norm(d)
    back = np.array([1.0, 0.0])
    canal_line = [levels[-1][1] + back * 30 * k, levels[1][1] + back * 28 * k,
                  centre[8] + nrm[8] * (half[8] + 6 * k), centre[16] + nrm[16] * (half[16] + 4)]
    soft.paint(tube(curve(canal_line, 24), np.array([8, 8, 6, 3]).repeat(6) * k, 0.6), "csf")
    vessel_c = levels[1][1] - n1 * 0 + np.array([-24, 0]) * k
    soft.paint(ellipsoid([0, vessel_c[0], vessel_c[1]], [60, 7, 7]), "vessel")
    # bones
    th_s = rng.uniform(0.45, 0.8)
    sym = [0.0, 0.0, 0.0]
    a["pubis"] = ellipsoid(sym, [26, 8.5 * k, 21 * k], th_s)
    bone.paint(a["pubis"], "cortex")
    bone.paint(ellipsoid(sym, [24, 6.8 * k, 19.3 * k], th_s), "marrow")
    bone.paint(ellipsoid(sym, [rng.uniform(1.2, 2.5), 6.0 * k, 17 * k], th_s), "fibrocartilage")
    a["pubis_inf"] = 21 * k * direction(th_s)
    bone.paint(tube(centre, half, half / width), "cortex")
    bone.paint(tube(centre, half - 1.8, (half - 1.8) / width), "marrow")
    for uu in (0.2, 0.4, 0.84, 0.93):
        i = int(uu * 39)
        ang = np.arctan2(tang[i, 0], tang[i, 1])
        bone.paint(ellipsoid([0, *centre[i]], [width[i] * 0.9, half[i] * 0.9, 1.0], ang),
                   "fibrocartilage")
    sacral_canal = [centre[10] + nrm[10] * (half[10] + 8), centre[22] + nrm[22] * (half[22] + 5)]
    bone.paint(tube(curve(sacral_canal, 8), [5, 3], 0.9), "fat")
    for kind, c, d_ in levels:
        ang = np.arctan2(d_[0], d_[1])
        if kind == "disc":
            bone.paint(ellipsoid([0, *c], [22, 17 * k, 5 * k], ang, 3.0), "ivdisc")
        else:
            bone.paint(ellipsoid([0, *c], [24, 18 * k, 13 * k], ang, 4.0), "cortex")
            bone.paint(ellipsoid([0, *c], [22, 16.5 * k, 11.5 * k], ang, 4.0), "marrow")
            sp = c + back * 55 * k + np.array([0, 8 * k])
            bone.paint(ellipsoid([0, *sp], [3.5, 16 * k, 7 * k], 1.3), "cortex")
            bone.paint(ellipsoid([0, *sp], [2.0, 14 * k, 5 * k], 1.3), "marrow")
    return soft, bone, sd2d


def build_mobile(grid, rng, k, vals, a, case):
    """Mobile layer: pelvic organs with labels, and the rest of the viscera."""
    mob = Layer(grid, vals, labels=True)
    tip, pinf = a["coccyx_tip"], a["pubis_inf"]
    # key points (y, z) in mm
    neck = np.array([22.0, 1.0]) * k + rng.normal(0, 2, 2)
    meatus = np.array([26.0, 45.0]) * k + rng.normal(0, 2, 2)
    v0 = np.array([30.0, 61.0]) * k + rng.normal(0, 2, 2)
    vm = np.array([37.0, 20.0]) * k + rng.normal(0, 2, 2)
    v1 = np.array([60.0, -24.0]) * k + rng.normal(0, 3, 2)
    arj = np.array([62.0, 16.0]) * k + rng.normal(0, 2, 2)
    anus = np.array([80.0, 54.0]) * k + rng.normal(0, 1.5, 2)
    ant, anrm = a["sacrum_ant"], a["sacrum_nrm"]
    # bowel loops above the pelvis
    bl_c = neck + [rng.uniform(6, 14), 0] - direction(case["bl_tilt"]) * case["bl_c"] * 0.9
    loops = []
    for _ in range(int(rng.integers(7, 13))):
        for _try in range(20):
            c = np.array([rng.uniform(-5, 90), rng.uniform(-230, -60)]) * k
            if np.linalg.norm((c - bl_c) / [case["bl_b"] + 25, case["bl_c"] + 25]) > 1 and \
                    np.hypot(*(c - v1 - [-25, -35])) > 55:
                break
        rad = rng.uniform(9, 16)
        ang = rng.uniform(0, 2 * np.pi)
        arc = rng.uniform(1.0, 3.0)
        tt = np.linspace(0, arc, 6)
        R = rng.uniform(18, 35)
        pts = c + R * np.stack([np.cos(ang + tt), np.sin(ang + tt)], 1)
        x0 = rng.uniform(-18, 18)
        content = rng.choice(["bowel_fluid", "chyme", "gas"], p=[0.45, 0.35, 0.2])
        loops.append((curve(pts, 16), rad, x0, content))
    rs = ant[17] + anrm[17] * (9 + case["rect_r"] * 0.7)
    sig_pts = curve([rs, rs + [-10, -25], [60 * k, -135 * k] + rng.normal(0, 8, 2),
                     [30 * k, -115 * k] + rng.normal(0, 8, 2), [15 * k, -160 * k]], 20)
    loops.append((sig_pts, rng.uniform(11, 16), 0.0, rng.choice(["chyme", "gas", "stool"])))
    for pts, rad, x0, content in loops:
        mob.paint(tube(pts, rad, 1.0, x0), "bowel_wall", 0)
        mob.paint(tube(pts, rad - 2.5, 1.0, x0), content, 0)
    if rng.random() < 0.3:  # free fluid in the pouch of Douglas
        c = v1 + [12, -14]
        mob.paint(ellipsoid([0, *c], [15, rng.uniform(3, 7), 11], 0.9), "free_fluid", 0)
    # pelvic floor muscles
    pcl = tip - pinf
    pcl_ang = np.arctan2(pcl[0], pcl[1])
    plate = [arj + [12, 10], (arj + tip) / 2 + [6, 8], tip + [4, 4]]
    mob.paint(tube(curve(plate, 16), 4.0, 0.1), "muscle", 0)
    pr_c = np.array([0.0, *(0.5 * (arj + pinf) + [0, 8])])
    a_pr = np.linalg.norm(arj - pr_c[1:]) + 12
    mob.paint(sling(pr_c, a_pr, 22, pcl_ang, 5.0), "muscle", 0)
    mob.paint(ellipsoid([0, *(0.5 * (v0 + anus) + [0, -6])], [11, 10, 9]), "muscle", 0)
    anal = curve([arj, 0.5 * (arj + anus) + [2, 0], anus], 16)
    mob.paint(tube(anal, 15.0, 0.9), "muscle", 0)
    # urethra
    ure = curve([neck + [0, 4], 0.5 * (neck + meatus) + [-2, 0], meatus], 14)
    mob.paint(tube(ure, 5.0, 0.75), "int_sphincter", 0)
    mob.paint(tube(ure, 1.2, 0.75), "mucus", 0)
    # rectum and anal canal (label 3)
    r_rs = case["rect_r"]
    i1, i2 = 30, 17
    rect_line = [arj, arj + rot_yz(pcl / np.linalg.norm(pcl), 0.55) * 22,
                 ant[i1] + anrm[i1] * (9 + r_rs * 0.9), ant[i2] + anrm[i2] * (9 + r_rs * 0.7)]
    rect = curve(rect_line, 30)
    radii = np.interp(np.linspace(0, 1, 30), [0, 0.25, 0.6, 1], [8, r_rs, r_rs * 0.95, r_rs * 0.7])
    mob.paint(tube(rect, radii, 0.8), "rectal_wall", 3)
    mob.paint(tube(rect, radii - 3.0, 0.8), case["rect_content"], 3)
    mob.paint(tube(anal, 9.0, 0.8), "int_sphincter", 3)
    mob.paint(tube(anal, 1.5, 0.8), "mucus", 3)
    # vagina (label 2)
    vag = curve([v0, vm, v1], 24)
    vr = rng.uniform(5.0, 7.0)
    kv = vr / rng.uniform(13, 18)
    mob.paint(tube(vag, vr, kv), "vagina_wall", 2)
    mob.paint(tube(vag, vr * case["vag_lumen"], kv), "gel" if case["vag_gel"] else "mucus", 2)
    # uterus (label 2), lying on (and indenting) the bladder dome
    bl = ellipsoid([0, *bl_c], [case["bl_a"], case["bl_b"], case["bl_c"]], case["bl_tilt"])
    tv = (v1 - vm) / np.linalg.norm(v1 - vm)
    uterus = None
    if not case["hysterectomy"]:
        L, T, W = np.array([28, 18, 24]) * case["ut_k"]
        version = case["version"]
        for _ in range(12):
            a_b = np.arctan2(tv[0], tv[1]) + version + case["flexion"]
            uc = v1 - tv * 6 + direction(a_b - case["flexion"]) * 28 * case["ut_k"] \
                + direction(a_b) * (L - 6)
            at = [np.full((1, 1, 1), v, np.float32) for v in (0, *uc)]
            if bl[2](*at).item() > 0.3 * T:
                break
            version -= 0.1
        case["version"] = version
        a_c = np.arctan2(tv[0], tv[1]) + case["version"]
        dc = direction(a_c)
        os_ = v1 - tv * 6
        io = os_ + dc * 28 * case["ut_k"]
        cerv = curve([os_, io], 8)
        mob.paint(tube(cerv, 12 * case["ut_k"], 0.85), "cervix", 2)
        mob.paint(tube(cerv, 2.0, 0.85), "mucus", 2)
        a_b = a_c + case["flexion"]
        uc = io + direction(a_b) * (L - 6)
        uterus = ellipsoid([0, *uc], [W, T, L], a_b)
        mob.paint(uterus, "myometrium", 2)
        mob.paint(ellipsoid([0, *uc], [W * 0.55, T * 0.45, L * 0.78], a_b), "junctional", 2)
        mob.paint(ellipsoid([0, *uc], [W * 0.45, case["endo"], L * 0.7], a_b), "endometrium", 2)
    # bladder (label 1), indented by the uterus and flattened behind the pubis
    lum = ellipsoid([0, *bl_c], [case["bl_a"] - case["bl_wall"], case["bl_b"] - case["bl_wall"],
                                 case["bl_c"] - case["bl_wall"]], case["bl_tilt"])
    bl, lum = combine(bl, a["pubis"], 3.0), combine(lum, a["pubis"], 3.0 + case["bl_wall"])
    if uterus is not None:
        bl, lum = combine(bl, uterus, 1.0), combine(lum, uterus, 1.0 + case["bl_wall"])
    mob.paint(bl, "bladder_wall", 1)
    mob.paint(lum, "urine", 1)
    a.update(neck=neck, meatus=meatus, arj=arj, anus=anus, v1=v1, vm=vm, bl_c=bl_c)
    return mob


# ----------------------------------------------------------------------------- motion
def strain_curve(rng, n, protocol):
    t = np.linspace(0, 1, n)
    t0 = rng.uniform(0.1, 0.3)

    def bump(a, b, w):
        return 0.5 * (np.tanh((t - a) / w) - np.tanh((t - b) / w))
    if protocol == "repeated":
        s = np.maximum(bump(t0, t0 + 0.25, 0.04), bump(t0 + 0.4, t0 + 0.65, 0.05))
    elif protocol == "defecation":
        s = 0.5 * (1 + np.tanh((t - t0) / 0.08))
    else:
        s = bump(t0, rng.uniform(0.75, 1.1), 0.06)
    return np.clip(s / max(s.max(), 1e-6), 0, 1)


def compartments(rng, a, case, k):
    """Gaussian-weighted compartment motions: (centre, sigma, shift, pivot, rotation)."""
    def c3(p):
        return np.array([0.0, *p])
    down = np.array([0.0, 0.0, 1.0])
    da, dm, dp = case["descent"]
    comps = [
        (c3(a["neck"] + [8, -10]), 38 * k, down * da + [0, 0.25 * da, 0], c3(a["meatus"]),
         case["neck_rot"]),
        (c3(a["v1"] + [0, 10]), 40 * k, down * dm + [0, -0.15 * dm, 0], c3(a["v1"]), 0.0),
        (c3(a["arj"] + [6, -5]), 36 * k, down * dp + [0, 0.35 * dp, 0], c3(a["arj"]), 0.0),
        (c3(0.5 * (a["arj"] + a["anus"])), 16 * k, np.zeros(3), c3(a["arj"]), case["ara_open"]),
        (c3([40 * k, -110 * k]), 70 * k, down * rng.uniform(4, 12), c3([0, 0]), 0.0),
    ]
    if "rectocele" in case["pathologies"]:
        comps.append((c3(a["arj"] + [-8, -22]), 15 * k, np.array([0, -case["rectocele"], 4]),
                      c3(a["arj"]), 0.0))
    return comps


def forward_field(q, comps, s):
    """Forward displacement (N, 3) of rest points q (N, 3) at strain level s: the
    compartment motions blended by their Gaussian weights (averaged where they overlap)."""
    d = np.zeros_like(q)
    wsum = np.zeros((len(q), 1))
    for g, sig, shift, piv, rot in comps:
        w = np.exp(-((q - g) ** 2).sum(1) / (2 * sig * sig))[:, None]
        rel = q[:, 1:] - piv[1:]
        c, sn = np.cos(rot * s), np.sin(rot * s)
        disp = np.zeros_like(q)
        disp[:, 1] = rel[:, 0] * (c - 1) - rel[:, 1] * sn
        disp[:, 2] = rel[:, 0] * sn + rel[:, 1] * (c - 1)
        d += w * (shift * s + disp)
        wsum += w
    return d / np.maximum(wsum, 1.0)


def rotation(yaw, roll, pitch):
    """Rotation about z (yaw, through-plane), y (roll) and x (in-plane pitch)."""
    cz, sz, cy, sy, cx, sx = (np.cos(yaw), np.sin(yaw), np.cos(roll), np.sin(roll),
                              np.cos(pitch), np.sin(pitch))
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    return rz @ ry @ rx


def smooth_walk(rng, n, amp, jumps=False):
    w = ndimage.gaussian_filter1d(rng.normal(0, 1, n), max(n / 8, 1.0))
    w = w / (np.abs(w).max() + 1e-9) * amp
    if jumps and rng.random() < 0.5:
        w += rng.uniform(-amp, amp) * (np.arange(n) >= rng.integers(n // 3, n))
    return w


# ----------------------------------------------------------------------------- imaging
def slice_kernel(thk, dx):
    r = int(np.ceil(thk / dx))
    x = np.arange(-r, r + 1) * dx
    fine = np.linspace(-0.5, 0.5, 9)[None] * dx
    prof = 0.5 * (1 + np.tanh((thk / 2 - np.abs(x[:, None] + fine)) / (0.12 * thk)))
    kern = prof.mean(1)
    return kern / kern.sum()


def sample(vol, grid, pts, order=1, cval=0.0):
    return ndimage.map_coordinates(vol, grid.coords(pts), order=order, mode="constant",
                                   cval=cval, prefilter=False)


def bias_field(rng, h, w, amp):
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    f = np.zeros((h, w))
    for _ in range(4):
        arg = rng.uniform(0.5, 2.5) * (xx * rng.normal() + yy * rng.normal())
        f += rng.normal(0, 1) * np.cos(arg + rng.uniform(0, 6.3))
    f += rng.normal(0, 1.5) * xx + rng.normal(0, 1.0) * yy  # coil near the front or back
    f = f / (np.abs(f).max() + 1e-9)
    return 1 + amp * f


def kspace(img, rng_t, art):
    """k-space truncation / apodisation and radial undersampling streaks."""
    h, w = img.shape
    k = np.fft.fftshift(np.fft.fft2(img))
    ky = (np.arange(h) - h // 2)[:, None]
    kx = (np.arange(w) - w // 2)[None, :]
    fr, fc = art["acq_frac"]
    win = (np.abs(ky) <= fr * h / 2) & (np.abs(kx) <= fc * w / 2)
    if art["apod"] > 0:
        r2 = (ky / (fr * h / 2)) ** 2 + (kx / (fc * w / 2)) ** 2
        win = win * np.exp(-0.5 * r2 * art["apod"])
    k = k * win
    if art["radial_spokes"]:
        n = art["radial_spokes"]
        phi = np.arctan2(ky, kx) % np.pi
        rho = np.hypot(ky, kx)
        off = rng_t * np.pi / n
        delta = np.abs(((phi - off) % (np.pi / n)) - np.pi / (2 * n))
        dist = rho * np.sin(np.pi / (2 * n) - delta)
        mask = (dist < 0.6) | (rho < n / np.pi)
        dens = np.where(rho < n / np.pi, 1.0, rho * np.pi / n / 1.2)
        k = k * mask * dens
    return np.abs(np.fft.ifft2(np.fft.ifftshift(k)))


# ----------------------------------------------------------------------------- case
def draw_case(rng):
    seq = str(rng.choice(SEQUENCES, p=[0.35, 0.2, 0.25, 0.2]))
    path = []
    for name, p in (("cystocele", 0.3), ("rectocele", 0.3), ("uterine_prolapse", 0.2)):
        if rng.random() < p:
            path.append(name)
    hyst = bool(rng.random() < 0.15)
    if hyst:
        path.append("hysterectomy")
    vol = rng.uniform(60, 450)
    r0 = (vol * 1000 * 3 / (4 * np.pi)) ** (1 / 3)
    flat = np.interp(vol, [60, 450], [1.1, 0.85])
    bl_a, bl_b = 1.25 * r0 * flat, min(flat * r0, rng.uniform(30, 38))
    bl_c = vol * 1000 * 3 / (4 * np.pi * bl_a * bl_b)
    retro = bool(rng.random() < 0.15) and not hyst
    case = dict(
        sequence=seq, fat_sat=bool(seq != "bssfp" and rng.random() < 0.25),
        rect_content=str(rng.choice(["gel", "gas", "stool"], p=[0.45, 0.2, 0.35])),
        vag_gel=bool(rng.random() < 0.3), vag_lumen=float(rng.uniform(0.15, 0.45)),
        hysterectomy=hyst, pathologies=path, bladder_volume_ml=float(vol),
        bl_a=bl_a, bl_b=bl_b, bl_c=bl_c, bl_wall=float(np.interp(vol, [60, 450], [5, 2.5])),
        bl_tilt=float(rng.uniform(0.0, 0.35)),
        version=float(-rng.uniform(0.3, 0.7) if retro else rng.uniform(0.9, 1.5) - vol / 1500),
        flexion=float(rng.uniform(-0.2, 0.1) if retro else rng.uniform(0.2, 0.7)),
        uterus_position="retroverted" if retro else "anteverted",
        ut_k=float(rng.uniform(0.75, 1.1)), endo=float(rng.uniform(1.5, 5.0)),
        rect_r=float(rng.uniform(12, 16) if rng.random() < 0.5 else rng.uniform(16, 24)),
        protocol=str(rng.choice(["valsalva", "defecation", "repeated"], p=[0.5, 0.3, 0.2])),
    )
    da = rng.uniform(25, 45) if "cystocele" in path else rng.uniform(8, 22)
    dm = rng.uniform(25, 42) if "uterine_prolapse" in path else rng.uniform(6, 20)
    dp = rng.uniform(10, 35)
    case.update(descent=(float(da), float(dm), float(dp)),
                neck_rot=float(rng.uniform(0.35, 0.8) if "cystocele" in path
                               else rng.uniform(0.1, 0.4)),
                ara_open=float(rng.uniform(0.15, 0.5)), rectocele=float(rng.uniform(12, 25)))
    if case["rect_content"] == "gas":
        case["rect_r"] = min(case["rect_r"], 18.0)
    return case


def _generate(seed, _attempt=0):
    """One case: (frames (T,H,W) float32, labels (T,H,W) uint8, spacing (row, col) mm,
    params), in the canonical order core.io.read_series returns."""
    rng = np.random.default_rng([int(seed), _attempt, 8])
    case = draw_case(rng)
    T = int(rng.integers(12, 41))
    H, W = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sr, sc = round(float(rng.uniform(1.1, 1.5)), 3), round(float(rng.uniform(1.1, 1.5)), 3)
    k = float(rng.uniform(0.9, 1.1))
    thk = float(rng.uniform(4, 10))
    si = SEQUENCES.index(case["sequence"])
    vals = {}
    for name, v in TISSUES.items():
        val = v[si] * (rng.uniform(0.88, 1.12) if name != "air" else 0)
        if case["fat_sat"] and name in FAT_LIKE:
            val *= rng.uniform(0.08, 0.2)
        vals[name] = np.float32(val)
    # acquisition geometry and patient motion
    tilt, tilt_dir = np.radians(rng.uniform(0, 10)), rng.uniform(0, 2 * np.pi)
    yaw, roll = tilt * np.cos(tilt_dir), tilt * np.sin(tilt_dir)
    R0 = rotation(yaw, roll, np.radians(rng.uniform(-6, 6)))
    centre = np.array([rng.uniform(-5, 5), rng.uniform(30, 65) * k, rng.uniform(-25, 15) * k])
    s = strain_curve(rng, T, case["protocol"])
    mx = smooth_walk(rng, T, rng.uniform(1, 5), jumps=True)
    my, mz = smooth_walk(rng, T, rng.uniform(0.5, 3)), smooth_walk(rng, T, rng.uniform(0.5, 3))
    slide = rng.uniform(-8, 2)
    ang_m = [smooth_walk(rng, T, np.radians(rng.uniform(0, 2))) for _ in range(2)]
    pitch_s = np.radians(rng.uniform(-3, 3))
    wrap = str(rng.choice(["none", "rows", "cols"], p=[0.8, 0.1, 0.1]))
    art = dict(acq_frac=(float(rng.uniform(0.55, 1.0)), float(rng.uniform(0.6, 1.0))),
               apod=float(rng.choice([0, rng.uniform(0.2, 1.5)])),
               radial_spokes=int(rng.integers(24, 80)) if rng.random() < 0.2 else 0,
               wrap=wrap, snr=float(rng.uniform(5, 40)), bias=float(rng.uniform(0.1, 0.5)),
               blur_px=float(rng.choice([0, rng.uniform(0.3, 0.9)])))
    pad = (int(0.25 * H) if wrap == "rows" else 0, int(0.25 * W) if wrap == "cols" else 0)
    He, We = H + 2 * pad[0], W + 2 * pad[1]

    def plane(t):
        """Patient coordinates (3, He, We) of the pixel centres of frame t."""
        Rm = rotation(ang_m[0][t], ang_m[1][t], pitch_s * s[t])
        m = np.array([mx[t], my[t], mz[t] + slide * s[t]])
        i = (np.arange(He) - pad[0] - (H - 1) / 2) * sr
        j = (np.arange(We) - pad[1] - (W - 1) / 2) * sc
        p = centre[:, None, None] + R0[:, 2, None, None] * i[None, :, None] \
            + R0[:, 1, None, None] * j[None, None, :]
        piv = np.array([0, 40, -20.0])[:, None, None]
        return np.einsum("ji,jhw->ihw", Rm, p - m[:, None, None] - piv) + piv
    # grids
    corners = np.concatenate([plane(t)[:, ::He - 1, ::We - 1].reshape(3, -1) for t in range(T)], 1)
    xr = np.abs(corners[0]).max() + thk + 8
    lo_s = [-xr, max(corners[1].min() - 5, -150), max(corners[2].min() - 5, -600)]
    hi_s = [xr, min(corners[1].max() + 5, 250), min(corners[2].max() + 5, 320)]
    gs = Grid(lo_s, hi_s, (1.5, 1.3, 1.3))
    gm = Grid([-xr, max(lo_s[1], -60), max(lo_s[2], -260)],
              [xr, min(hi_s[1], 150), min(hi_s[2], 120)], (1.5, 1.0, 1.0))
    anat = {}
    soft, bone, _ = build_static(gs, rng, k, vals, anat)
    mob = build_mobile(gm, rng, k, vals, anat, case)
    comps = compartments(rng, anat, case, k)
    vols = {}
    for name, layer, g in (("soft", soft, gs), ("bone", bone, gs), ("mob", mob, gm)):
        kern = slice_kernel(thk, g.step[0])
        vols[name + "_v"] = ndimage.convolve1d(layer.val, kern, axis=0, mode="nearest")
        vols[name + "_a"] = ndimage.convolve1d(layer.alpha, kern, axis=0, mode="nearest")
    tex = [rng.normal(0, 1, (6, 40, 40)).astype(np.float32) for _ in range(2)]
    tex = [ndimage.gaussian_filter(t_, 1.0) / 0.25 for t_ in tex]

    def tex_at(tx, g, pts):
        span = g.lo + g.step * (np.array(g.shape) - 1) - g.lo
        c = (pts - g.lo[:, None]) / span[:, None] * (np.array(tx.shape)[:, None] - 1)
        return ndimage.map_coordinates(tx, c, order=1, mode="nearest")
    bias = bias_field(rng, H, W, art["bias"])
    band = None
    if case["sequence"] == "bssfp":
        yy, xx = np.meshgrid(np.linspace(-1, 1, H), np.linspace(-1, 1, W), indexing="ij")
        phase = rng.uniform(2, 6) * (xx * rng.normal() + yy * rng.normal()) \
            + rng.uniform(1, 4) * (xx ** 2 + yy ** 2) + rng.uniform(0, 6.3)
        band = 1 - 0.85 * np.exp(-0.5 * ((np.angle(np.exp(1j * phase)) - 0) / 0.12) ** 2)
    frames = np.zeros((T, H, W), np.float32)
    labels = np.zeros((T, H, W), np.uint8)
    probes, ref = {}, None
    noise_rng = np.random.default_rng([int(seed), _attempt, 9])
    for t in range(T):
        P = plane(t)
        pts = P.reshape(3, -1)
        # inverse of the forward field on a coarse grid (fixed point), then upsampled
        Pc = P[:, ::4, ::4]
        pc = Pc.reshape(3, -1).T
        q = pc.copy()
        for _ in range(3):
            q = pc - forward_field(q, comps, s[t])
        dq = (pc - q).T.reshape(Pc.shape)
        zoom = [(He - 1) / max(Pc.shape[1] * 4 - 4, 1), (We - 1) / max(Pc.shape[2] * 4 - 4, 1)]
        ii = np.arange(He) / 4.0 / zoom[0] * zoom[0]
        jj = np.arange(We) / 4.0
        gi, gj = np.meshgrid(np.minimum(ii, Pc.shape[1] - 1), np.minimum(jj, Pc.shape[2] - 1),
                             indexing="ij")
        dfull = np.stack([ndimage.map_coordinates(dq[c], [gi, gj], order=1, mode="nearest")
                          for c in range(3)])
        q0 = (P - dfull).reshape(3, -1)
        sv = sample(vols["soft_v"], gs, pts)
        sv *= 1 + 0.06 * tex_at(tex[0], gs, pts)
        bv, ba = sample(vols["bone_v"], gs, pts), sample(vols["bone_a"], gs, pts)
        mv, ma = sample(vols["mob_v"], gm, q0), sample(vols["mob_a"], gm, q0)
        mv *= 1 + 0.08 * tex_at(tex[1], gm, q0)
        img = ((sv * (1 - ma) + mv) * (1 - ba) + bv).reshape(He, We)
        lab = sample(mob.lab, gm, q0, order=0).reshape(He, We)
        lab[(ba.reshape(He, We) > 0.5)] = 0
        if wrap == "rows":
            img = img[pad[0]:pad[0] + H] + np.pad(img[:pad[0]], ((H - pad[0], 0), (0, 0))) \
                + np.pad(img[pad[0] + H:], ((0, H - pad[0]), (0, 0)))
        elif wrap == "cols":
            img = img[:, pad[1]:pad[1] + W] + np.pad(img[:, :pad[1]], ((0, 0), (W - pad[1], 0))) \
                + np.pad(img[:, pad[1] + W:], ((0, 0), (0, W - pad[1])))
        lab = lab[pad[0]:pad[0] + H, pad[1]:pad[1] + W]
        if t == 0:
            crop = (slice(pad[0], pad[0] + H), slice(pad[1], pad[1] + W))
            cls = [sample(soft.cls, gs, pts + R0[:, :1] * off, order=0).reshape(He, We)[crop]
                   for off in (-thk / 3, 0, thk / 3)]
            same = (cls[0] == cls[1]) & (cls[1] == cls[2])
            cls = np.where(same, cls[1], 255)
            free = ((ma < 0.02) & (ba < 0.02)).reshape(He, We)[crop]
            for name in ("fat", "muscle"):
                m = ndimage.binary_erosion((cls == TISSUE_CODE[name]) & free,
                                           iterations=1 + (name == "fat"))
                rc = np.argwhere(m)
                if len(rc):
                    rc = rc[np.sort(rng.choice(len(rc), min(200, len(rc)), replace=False))]
                probes[name] = rc.tolist()
            ref = float(np.mean(img[img > 0.15 * img.max()]))
        img = img * bias
        if band is not None:
            img = img * band
        img = kspace(img, t * 0.618, art)
        if art["blur_px"]:
            img = ndimage.gaussian_filter(img, art["blur_px"])
        sigma = ref / art["snr"]
        img = np.hypot(img + noise_rng.normal(0, sigma, img.shape),
                       noise_rng.normal(0, sigma, img.shape))
        frames[t] = img
        for lv in (1, 2, 3):
            cc, n = ndimage.label(lab == lv)
            if n == 0:
                raise _Retry(f"organ {LABELS[lv]} missing in frame {t}")
            sizes = np.bincount(cc.ravel())[1:]
            if sizes.max() < 40:
                raise _Retry(f"organ {LABELS[lv]} too small in frame {t}")
            labels[t][cc == 1 + int(np.argmax(sizes))] = lv
        cols = [np.argwhere(labels[t] == lv)[:, 1].mean() for lv in (1, 3)]
        if not cols[0] < cols[1]:
            raise _Retry(f"bladder not anterior to the rectum in frame {t}")
    # global scale / offset and storage type
    dtype = str(rng.choice(["int16", "float32"]))
    if dtype == "int16":
        scale = rng.uniform(300, 3000)
    else:
        scale = float(rng.choice([rng.uniform(0.5, 2), rng.uniform(50, 1500)]))
    frames = frames / max(float(np.percentile(frames, 99.5)), 1e-6) * scale
    frames += rng.uniform(0, 0.03) * scale
    if dtype == "int16":
        frames = np.clip(np.round(frames), 0, 32767).astype(np.int16).astype(np.float32)
    else:
        frames = frames.astype(np.float32)
    ops = [op for op, p in (("flip rows", 0.3), ("flip columns", 0.3), ("transpose", 0.4))
           if rng.random() < p]
    interval = round(float(rng.uniform(0.8, 2.5)), 3)
    bl_ax = (case["bl_a"], case["bl_b"], case["bl_c"])
    params = dict(
        seed=int(seed), attempt=int(_attempt), generator="slab_generator",
        shape=[T, H, W], spacing_mm=[sr, sc], frame_interval_s=interval,
        sequence=case["sequence"], fat_sat=case["fat_sat"], rectal_content=case["rect_content"],
        vaginal_gel=case["vag_gel"], pathologies=case["pathologies"],
        uterus_position="absent" if case["hysterectomy"] else case["uterus_position"],
        uterus_version_deg=round(float(np.degrees(case["version"])), 1),
        bladder_volume_ml=round(case["bladder_volume_ml"], 1),
        bladder_semi_axes_mm=[round(float(v), 1) for v in bl_ax],
        protocol=case["protocol"], strain=[round(float(v), 3) for v in s],
        peak_descent_mm=dict(zip(("anterior", "middle", "posterior"),
                                 [round(v, 1) for v in case["descent"]], strict=True)),
        bladder_neck_rotation_deg=round(float(np.degrees(case["neck_rot"])), 1),
        anorectal_angle_opening_deg=round(float(np.degrees(case["ara_open"])), 1),
        slab_thickness_mm=round(thk, 2),
        slice_profile="smoothed rect (tanh edges 12% of thickness)",
        label_rule="organ at the slab centre plane, hidden by bone, largest connected piece",
        tilt_deg=round(float(np.degrees(tilt)), 2), lr_offset_mm=round(float(centre[0]), 2),
        through_plane_motion_mm=round(float(np.abs(mx).max()), 2),
        strain_slide_mm=round(float(slide), 2), subject_scale=round(k, 3),
        artifacts=art, storage={"dtype": dtype, "ops": ops, "layout": "(W,H,1,T)"},
        labels={str(key): v for key, v in LABELS.items()}, probes=probes,
    )
    params["plane_geometry"] = dict(R0=R0.tolist(), centre=centre.tolist())
    return frames, labels, (sr, sc), params


class _Retry(Exception):
    pass


def generate(seed):
    """One case: (frames (T,H,W) float32, labels (T,H,W) uint8, spacing (row, col) mm,
    params), deterministic in ``seed``, in the order core.io.read_series returns."""
    for attempt in range(12):
        try:
            return _generate(seed, attempt)
        except _Retry:
            continue
    raise RuntimeError(f"seed {seed}: no valid case in 12 attempts")


# ----------------------------------------------------------------------------- output
def write_case(seed, out):
    import nibabel as nib

    from core.io import read_series
    from core.io.orientation import reorient_affine

    frames, labels, (sr, sc), params = generate(seed)
    geo = params["plane_geometry"]
    T, H, W = frames.shape
    R0, centre = np.array(geo["R0"]), np.array(geo["centre"])
    e_r, e_c, nrm = R0[:, 2], R0[:, 1], R0[:, 0]
    origin = centre - (H - 1) / 2 * sr * e_r - (W - 1) / 2 * sc * e_c
    aff = np.eye(4)  # patient (x left, y posterior, z inferior) -> RAS is a sign flip
    aff[:3, 0], aff[:3, 1] = -e_c * sc, -e_r * sr
    aff[:3, 2], aff[:3, 3] = -nrm * params["slab_thickness_mm"], -origin
    stored, ops = frames, params["storage"]["ops"]
    for op in ops:
        stored = {"flip rows": lambda a: a[:, ::-1], "flip columns": lambda a: a[:, :, ::-1],
                  "transpose": lambda a: np.swapaxes(a, 1, 2)}[op](stored)
    aff = reorient_affine(aff, (H, W), ops)
    data = np.ascontiguousarray(np.transpose(stored, (2, 1, 0))[:, :, None, :])
    data = data.astype(params["storage"]["dtype"])
    img = nib.Nifti1Image(data, aff)
    img.set_sform(aff, code=1)
    img.set_qform(aff, code=1)
    hdr = img.header
    hdr.set_xyzt_units("mm", "sec")
    zooms = list(hdr.get_zooms())
    zooms[3] = params["frame_interval_s"]
    hdr.set_zooms(zooms)
    hdr.set_slope_inter(1.0, 0.0)
    hdr["descrip"] = b"PelviTrack slab_generator synthetic"
    folder = Path(out) / f"slab_{int(seed):03d}"
    folder.mkdir(parents=True, exist_ok=True)
    nib.save(img, folder / "series.nii.gz")
    np.save(folder / "truth.npy", labels)
    (folder / "params.json").write_text(json.dumps(params, indent=1))
    series = read_series(folder / "series.nii.gz")
    if series.frames.shape != frames.shape:
        raise RuntimeError(f"seed {seed}: read back shape {series.frames.shape} != {frames.shape}")
    if not np.allclose(series.spacing_mm, (sr, sc), atol=1e-5):
        raise RuntimeError(f"seed {seed}: read back spacing {series.spacing_mm} != {(sr, sc)}")
    if not np.array_equal(series.frames, frames):
        raise RuntimeError(f"seed {seed}: read back frames differ "
                           f"(orientation {series.meta['orientation_ops']})")
    cols = np.arange(W)
    for t in range(T):
        cb = (labels[t] == 1).sum(0) @ cols / max((labels[t] == 1).sum(), 1)
        cr = (labels[t] == 3).sum(0) @ cols / max((labels[t] == 3).sum(), 1)
        if not cb < cr:
            raise RuntimeError(f"seed {seed}: bladder not anterior to rectum in frame {t}")
    return folder


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-11")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    for folder in map_jobs(partial(write_case, out=args.out), parse_seeds(args.seeds),
                           args.workers):
        print(folder, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
