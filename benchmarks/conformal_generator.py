"""Conformal-map pelvic cine phantom: univalent disc images, a pressure-loaded membrane, coil noise.

A self-contained synthetic-data generator for PelviTrack.  It writes dynamic mid-sagittal
female pelvic MRI series (cine, one slice) with exact organ truth for bladder,
uterus_vagina and rectum.

How a case is made
------------------
1. Parameters (``sample_params``, cheap): matrix, spacing, frame timing, body size, tilt,
   bone layout, organ sizes, uterus version / fibroids / hysterectomy, bladder filling,
   rectal and vaginal content, parity and pelvic-floor laxity, manoeuvre with its time
   curve, MRI sequence family, tissue levels, coils, noise and artefacts.
2. Geometry in body millimetres in the complex plane (z = x + iy, x posterior, y caudal,
   origin at the inferior border of the pubic symphysis).  Every compact structure (bones,
   bladder, fibroids, bowel loops, vessels, muscles) is the image of the unit disc under a
   random univalent map: a polynomial w + c2 w^2 + ... with sum k|ck| < 1 (univalent by
   Noshiro-Warschawski), an elongation artanh(a w)/a (convex, Study's theorem) and a
   Moebius post-map z/(1 + bz) with its pole kept outside; the boundary is also checked
   numerically for self-intersection on the circle.  Tubular structures (vagina, uterus,
   rectum + anal canal + sigmoid, sacrum, spine, canal, levator plate, urethra) are thin
   strips {u + iv} pushed through a chain of exp-bends F(u + iv) = z_k + e^{i theta_k}
   (e^{i kappa_k (u + iv)} - 1)/(i kappa_k), one per short arc of a smooth centreline; the
   strip coordinate v of a wall is chosen so that the wall lies at its intended distance in
   mm, and walls and lumina are nested strips of the same map.
3. Organs are placed relative to one another (rectum along the sacral curve, vagina in
   front of it, cervix in the vault, urethra in front of the vagina, bladder on the
   urethra), the uterus is rotated until it clears bones and the soft organs, the bladder
   and rectum are moulded (clipped) by their stiffer neighbours, bowel loops are packed into
   the free abdominal cavity; then the whole scene is scaled, tilted (+-15 deg) and shifted
   into the field of view so that the pelvis fits with room for its descent.
4. Rasterisation: polygons of densely sampled boundary curves are filled on a 2x
   oversampled grid with a margin around the field of view; labels and tissues are painted
   in one order; walls come from distances inside the (clipped) organ masks; organ pixels
   that would cover bone are given back to the bone; 2x2 blocks give the image (mean) and
   the labels (majority), tiny detached label fragments are dropped.
5. Motion: the pelvic floor (pubis - perineal body - anorectal junction - levator plate -
   coccyx) is an elastic membrane, (T w')' = -P with w = 0 at the pubis and the coccyx.
   Its deflection, breathing at the top of the body, the abdominal wall and the perineum are
   Dirichlet values of Laplace's equation on a coarse grid (zero at bones and the back), one
   solve per mode (strain, squeeze, breathing).  Local bulges (cystocele, uterine or vault
   prolapse, rectocele, scaled by laxity), rectal emptying and anal-canal opening during
   defecation, and bowel peristalsis are added; bones are kept rigid.  Each frame warps the
   rest image (linear) and labels (nearest neighbour) with the same backward map.
6. Imaging: sequence families T2 HASTE, TrueFISP (bSSFP: opposed-phase fat/water
   cancellation = dark bands at fat-water borders, bright vessels, optional off-resonance
   banding), T1 VIBE-like (urine dark, fat bright) and T2 with fat saturation (spatially
   imperfect).  Tissue texture, chemical shift, partial volume (2x2 averaging), blur and
   optional Gibbs ringing; then 4-16 receive coils with smooth complex sensitivities,
   complex Gaussian noise per coil and root-sum-of-squares (non-central chi noise); in
   ~30 % of cases a SENSE-like g-factor map (noise highest in the centre) and a faint
   fold-over ghost shifted by half the field of view in the phase-encoding direction
   (anterior-posterior, columns).  An arbitrary global intensity scale, sometimes integers.

Orientation
-----------
Mid-sagittal slice; row 0 is cranial (head), rows run towards the feet; column 0 is
anterior (belly), the last column posterior (back).  The pubic symphysis is lower-anterior,
the sacrum and coccyx posterior.

Labels
------
0 background, 1 bladder, 2 uterus_vagina, 3 rectum (``core.organs.ORGANS`` order).
Bladder: wall + urine down to the bladder neck (urethra not labelled).  uterus_vagina:
corpus (myometrium, junctional zone, endometrium, fibroids incl. subserosal), cervix and
vagina (walls + lumen/gel) down to the introitus at the perineal skin; after hysterectomy
the vagina only, closed by a rounded cuff.  Rectum: rectum and anal canal (wall + content)
from a cut perpendicular to the bowel axis where the bowel leaves the sacral curve at about
S3, down to the anal verge; sigmoid above the cut and the external anal sphincter are not
labelled.  Labels are exclusive; bones never carry an organ label.

Usage: python benchmarks/conformal_generator.py --seeds 2000-2029 --out DIR [--workers N]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage, sparse
from scipy.interpolate import CubicSpline
from scipy.sparse.linalg import splu

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "conformal"
SEQUENCES = ("t2_haste", "truefisp", "t1_vibe", "t2_fatsat")
MANEUVERS = ("rest", "valsalva", "squeeze", "cough", "defecation", "mixed")
LABEL = {name: i + 1 for i, name in enumerate(ORGANS)}
BLADDER, UTERUS_VAGINA, RECTUM = LABEL["bladder"], LABEL["uterus_vagina"], LABEL["rectum"]

# ----------------------------------------------------------------------------- tissues
# name: (water level HASTE, TrueFISP, VIBE), fat fraction, texture (coarse, fine)
_TISSUE_TABLE = {
    "air": ((0.0, 0.0, 0.0), 0.0, (0.0, 0.0)),
    "skin": ((0.40, 0.35, 0.45), 0.0, (0.03, 0.04)),
    "fat": ((0.0, 0.0, 0.0), 1.0, (0.06, 0.05)),
    "vfat": ((0.0, 0.0, 0.0), 1.0, (0.10, 0.08)),
    "muscle": ((0.16, 0.20, 0.32), 0.0, (0.04, 0.05)),
    "cortex": ((0.02, 0.02, 0.03), 0.0, (0.0, 0.02)),
    "marrow": ((0.30, 0.40, 0.35), 0.6, (0.10, 0.10)),
    "disc": ((0.50, 0.45, 0.28), 0.0, (0.04, 0.03)),
    "csf": ((0.95, 0.95, 0.10), 0.0, (0.01, 0.01)),
    "artery": ((0.05, 0.80, 0.55), 0.0, (0.03, 0.03)),
    "vein": ((0.45, 0.85, 0.45), 0.0, (0.06, 0.04)),
    "bowel_wall": ((0.30, 0.35, 0.38), 0.0, (0.05, 0.06)),
    "bowel_fluid": ((0.85, 0.85, 0.12), 0.0, (0.05, 0.05)),
    "gas": ((0.01, 0.01, 0.01), 0.0, (0.0, 0.0)),
    "feces": ((0.32, 0.40, 0.42), 0.0, (0.15, 0.35)),
    "bladder_wall": ((0.20, 0.28, 0.33), 0.0, (0.03, 0.04)),
    "urine": ((1.00, 0.95, 0.07), 0.0, (0.01, 0.01)),
    "myometrium": ((0.45, 0.45, 0.36), 0.0, (0.06, 0.06)),
    "endometrium": ((0.80, 0.62, 0.40), 0.0, (0.04, 0.04)),
    "junctional": ((0.20, 0.28, 0.35), 0.0, (0.04, 0.04)),
    "cervix": ((0.18, 0.28, 0.35), 0.0, (0.04, 0.04)),
    "mucus": ((0.85, 0.75, 0.25), 0.0, (0.03, 0.03)),
    "vagina_wall": ((0.28, 0.33, 0.36), 0.0, (0.04, 0.05)),
    "gel": ((0.95, 0.90, 0.10), 0.0, (0.02, 0.02)),
    "rectal_wall": ((0.26, 0.33, 0.36), 0.0, (0.04, 0.05)),
    "fibroid": ((0.12, 0.22, 0.34), 0.0, (0.08, 0.08)),
    "fibroid_bright": ((0.70, 0.60, 0.38), 0.0, (0.12, 0.10)),
    "sphincter": ((0.22, 0.27, 0.33), 0.0, (0.03, 0.04)),
    "perineal": ((0.20, 0.25, 0.30), 0.0, (0.04, 0.05)),
    "pfluid": ((0.92, 0.90, 0.10), 0.0, (0.01, 0.01)),
    "urethra": ((0.30, 0.35, 0.36), 0.0, (0.03, 0.03)),
    "ligament": ((0.10, 0.15, 0.20), 0.0, (0.03, 0.03)),
}
TISSUES = tuple(_TISSUE_TABLE)
TI = {name: i for i, name in enumerate(TISSUES)}
_FAT_LEVEL = {"t2_haste": 0.75, "truefisp": 0.85, "t1_vibe": 0.95, "t2_fatsat": 0.75}
_FAMILY_COLUMN = {"t2_haste": 0, "truefisp": 1, "t1_vibe": 2, "t2_fatsat": 0}
_BONE_TISSUES = ("cortex", "marrow", "disc")
_DESCRIPTIONS = {
    "t2_haste": "PF dynamic T2 HASTE sag",
    "truefisp": "PF dynamic TrueFISP sag (bssfp)",
    "t1_vibe": "PF dynamic VIBE sag (t1)",
    "t2_fatsat": "PF dynamic T2 HASTE FS sag",
}


# ----------------------------------------------------------------------------- small helpers
def _e(deg: float) -> complex:
    """Unit vector at ``deg`` (0 = posterior, 90 = caudal, 180 = anterior, -90 = cranial)."""
    return complex(np.exp(1j * np.deg2rad(deg)))


def _unit(z: complex) -> complex:
    return z / abs(z) if abs(z) > 1e-12 else 1.0 + 0j


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _area_centroid(z: np.ndarray) -> tuple[float, complex]:
    x, y = z.real, z.imag
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cr = x * y1 - x1 * y
    a = cr.sum() / 2.0
    if abs(a) < 1e-12:
        return 0.0, complex(z.mean())
    cx = ((x + x1) * cr).sum() / (6.0 * a)
    cy = ((y + y1) * cr).sum() / (6.0 * a)
    return abs(a), complex(cx, cy)


def _is_simple(z: np.ndarray) -> bool:
    """No two non-adjacent edges of the closed polygon cross (univalence on the circle)."""
    a, b = z, np.roll(z, -1)
    d = b - a
    n = len(z)

    def cross(p, q):
        return p.real * q.imag - p.imag * q.real

    ai, di = a[:, None], d[:, None]
    aj, bj, dj = a[None, :], b[None, :], d[None, :]
    d1 = cross(di, aj - ai)
    d2 = cross(di, bj - ai)
    d3 = cross(dj, ai - aj)
    d4 = cross(dj, (ai + di) - aj)
    hit = (d1 * d2 < 0) & (d3 * d4 < 0)
    i, j = np.nonzero(hit)
    gap = np.abs(i - j)
    return not np.any((gap > 1) & (gap < n - 1))


# Elongation map artanh(a w)/a: aspect ratio of the image of the disc as a function of a.
_ASPECT_A = np.linspace(1e-4, 0.995, 600)
_ASPECT_V = np.arctanh(_ASPECT_A) / np.arctan(_ASPECT_A)


def _a_for_aspect(aspect: float) -> float:
    return float(np.interp(max(aspect, 1.0), _ASPECT_V, _ASPECT_A))


def rand_coeffs(rng: np.random.Generator, rough: float, kmax: int = 4) -> list[complex]:
    """Coefficients c2..ckmax of a univalent polynomial w + sum ck w^k (sum k|ck| <= 0.8)."""
    ks = range(2, kmax + 1)
    c = [rough * complex(rng.normal(), rng.normal()) / k ** 1.6 for k in ks]
    total = sum(k * abs(ck) for k, ck in zip(ks, c, strict=True))
    if total > 0.8:
        c = [ck * 0.8 / total for ck in c]
    return c


def univalent_blob(center: complex, length: float, aspect: float, angle_deg: float,
                   coeffs=(), mobius: complex = 0j, n: int = 200) -> np.ndarray:
    """Boundary of f(disc) for f = Moebius o elongation o polynomial, scaled to ``length``
    along its long axis, centred (centroid) at ``center`` and rotated by ``angle_deg``."""
    w = np.exp(1j * np.linspace(0.0, 2.0 * np.pi, n, endpoint=False))
    coeffs = list(coeffs)
    for _ in range(6):
        p = w.copy()
        for k, ck in enumerate(coeffs, start=2):
            p = p + ck * w ** k
        p = p / (1.0 + sum(abs(ck) for ck in coeffs))
        a = _a_for_aspect(aspect)
        z = np.arctanh(a * p) / a
        b = complex(mobius)
        rmax = float(np.abs(z).max())
        if abs(b) * rmax > 0.5:
            b *= 0.5 / (abs(b) * rmax)
        z = z / (1.0 + b * z)
        if _is_simple(z[::2]):
            break
        coeffs = [ck * 0.5 for ck in coeffs]
        mobius = mobius * 0.5
    z = z - _area_centroid(z)[1]
    z = z * (length / max(np.ptp(z.real), 1e-6))
    return center + z * np.exp(1j * np.deg2rad(angle_deg))


def _bend(z, th, k, zeta):
    """Exp-bend: conformal image of zeta under the arc of curvature k leaving z at angle th."""
    z = np.asarray(z)
    k = np.asarray(k, dtype=float)
    zeta = np.asarray(zeta, dtype=complex)
    small = np.abs(k) < 1e-7
    ks = np.where(small, 1.0, k)
    arc = np.where(small, zeta, (np.exp(1j * ks * zeta) - 1.0) / (1j * ks))
    return z + np.exp(1j * np.asarray(th)) * arc


def _strip_v(d, k):
    """Strip coordinate v whose exp-bend image lies at signed normal offset d."""
    kd = np.clip(k * d, -50.0, 0.85)
    small = np.abs(k) < 1e-7
    ks = np.where(small, 1.0, k)
    return np.where(small, d, -np.log1p(-kd) / ks)


def _profile(h, uu):
    if callable(h):
        return np.asarray(h(uu), dtype=float)
    if isinstance(h, tuple):
        return np.interp(uu, h[0], h[1])
    return np.full(uu.shape, float(h))


class Curve:
    """A smooth centreline with samples z(u), tangent angle theta(u), curvature kappa(u);
    u is arc length in mm.  ``strip`` maps a strip around it by exp-bends."""

    def __init__(self, u, z, theta, kappa):
        self.u = np.asarray(u, float)
        self.z = np.asarray(z, complex)
        self.theta = np.asarray(theta, float)
        self.kappa = np.asarray(kappa, float)
        self.length = float(self.u[-1])

    @classmethod
    def through(cls, pts, step: float = 0.5) -> Curve:
        pts = np.asarray(pts, complex)
        keep = np.r_[True, np.abs(np.diff(pts)) > 1e-6]
        pts = pts[keep]
        s = np.r_[0.0, np.cumsum(np.abs(np.diff(pts)))]
        cs = CubicSpline(s, np.c_[pts.real, pts.imag], bc_type="natural")
        fine = np.linspace(0.0, s[-1], max(16, int(s[-1] * 8)))
        xy = cs(fine)
        zf = xy[:, 0] + 1j * xy[:, 1]
        arc = np.r_[0.0, np.cumsum(np.abs(np.diff(zf)))]
        n = max(4, int(round(arc[-1] / step)) + 1)
        uu = np.linspace(0.0, arc[-1], n)
        z = np.interp(uu, arc, zf.real) + 1j * np.interp(uu, arc, zf.imag)
        st = uu[1] - uu[0]
        th = np.unwrap(np.angle(np.gradient(z, st)))
        ka = ndimage.gaussian_filter1d(np.gradient(th, st), 3.0, mode="nearest")
        return cls(uu, z, th, ka)

    @classmethod
    def bends(cls, z0: complex, theta0: float, segments, step: float = 0.5) -> Curve:
        """Chain of exp-bends: segments = [(length mm, curvature 1/mm), ...]."""
        us, zs, ths, ks = [0.0], [complex(z0)], [float(theta0)], []
        z, th, u = complex(z0), float(theta0), 0.0
        for length, k in segments:
            if length <= 0:
                continue
            n = max(1, int(round(length / step)))
            loc = np.arange(1, n + 1) * (length / n)
            zz = _bend(z, th, k, loc)
            us.extend(u + loc)
            zs.extend(zz)
            ths.extend(th + k * loc)
            ks.extend([k] * n)
            z, th, u = complex(zz[-1]), float(th + k * length), u + length
        ks = [ks[0] if ks else 0.0] + ks
        return cls(us, zs, ths, ks)

    def at(self, u):
        u = np.clip(np.asarray(u, float), 0.0, self.length)
        z = np.interp(u, self.u, self.z.real) + 1j * np.interp(u, self.u, self.z.imag)
        return z, np.interp(u, self.u, self.theta), np.interp(u, self.u, self.kappa)

    def point(self, u) -> complex:
        return complex(self.at(u)[0])

    def tangent(self, u) -> complex:
        return complex(np.exp(1j * self.at(u)[1]))

    def left(self, u) -> complex:
        """Unit normal on the +v side (i times the tangent)."""
        return 1j * self.tangent(u)

    def u_near(self, z: complex) -> float:
        return float(self.u[int(np.argmin(np.abs(self.z - z)))])

    def strip(self, u0, u1, hl, hr, cap0: float = 1.0, cap1: float = 1.0,
              ncap: int = 18) -> np.ndarray:
        """Boundary of the image of {u0 <= u <= u1, -hr(u) <= v <= hl(u)} (plus caps: half
        discs in the strip plane stretched by cap0/cap1; 0 = flat cut)."""
        u0, u1 = max(float(u0), 0.0), min(float(u1), self.length)
        inner = self.u[(self.u > u0) & (self.u < u1)]
        uu = np.r_[u0, inner, u1]
        z, th, k = self.at(uu)
        # strip coordinate v that puts each wall at the wanted normal distance (mm):
        # offset of F(u + iv) is (1 - exp(-kappa v)) / kappa, inverted here; the inner side
        # of a bend is kept short of the centre of curvature
        hlv = _strip_v(_profile(hl, uu), k)
        hrv = -_strip_v(-_profile(hr, uu), k)
        left = _bend(z, th, k, 1j * hlv)
        right = _bend(z, th, k, -1j * hrv)
        parts = [left]
        if cap1 > 0:
            h, c = (hlv[-1] + hrv[-1]) / 2, (hlv[-1] - hrv[-1]) / 2
            ph = np.linspace(np.pi / 2, -np.pi / 2, ncap)[1:-1]
            zeta = cap1 * h * np.cos(ph) + 1j * (c + h * np.sin(ph))
            parts.append(_bend(z[-1], th[-1], k[-1], zeta))
        parts.append(right[::-1])
        if cap0 > 0:
            h, c = (hlv[0] + hrv[0]) / 2, (hlv[0] - hrv[0]) / 2
            ph = np.linspace(-np.pi / 2, -3 * np.pi / 2, ncap)[1:-1]
            zeta = cap0 * h * np.cos(ph) + 1j * (c + h * np.sin(ph))
            parts.append(_bend(z[0], th[0], k[0], zeta))
        return np.concatenate(parts)


def _closed_spline(pts, per_mm: float = 2.0) -> np.ndarray:
    pts = np.asarray(pts, complex)
    closed = np.r_[pts, pts[:1]]
    s = np.r_[0.0, np.cumsum(np.abs(np.diff(closed)))]
    cs = CubicSpline(s, np.c_[closed.real, closed.imag], bc_type="periodic")
    t = np.linspace(0.0, s[-1], max(64, int(s[-1] * per_mm)), endpoint=False)
    xy = cs(t)
    return xy[:, 0] + 1j * xy[:, 1]


# ----------------------------------------------------------------------------- raster grids
def _scan_fill(r, c, shape) -> np.ndarray:
    """Even-odd scan-line fill of a closed polygon (vertices in pixel units, pixel centres
    at integer coordinates): pixel (i, j) is inside when its centre is."""
    h, w = shape
    r0, c0 = np.asarray(r, float), np.asarray(c, float)
    r1, c1 = np.roll(r0, -1), np.roll(c0, -1)
    k0 = np.clip(np.ceil(np.minimum(r0, r1)), 0, h).astype(np.int64)
    k1 = np.clip(np.ceil(np.maximum(r0, r1)), 0, h).astype(np.int64)
    cnt = np.maximum(k1 - k0, 0)
    total = int(cnt.sum())
    out = np.zeros((h, w), bool)
    if total == 0:
        return out
    edge = np.repeat(np.arange(len(r0)), cnt)
    rows = np.repeat(k0, cnt) + (np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    dr = r1[edge] - r0[edge]
    t = (rows - r0[edge]) / np.where(dr == 0, 1.0, dr)
    xs = c0[edge] + t * (c1[edge] - c0[edge])
    order = np.lexsort((xs, rows))
    rows, xs = rows[order], xs[order]
    ra, xa, xb = rows[0::2], xs[0::2], xs[1::2]
    ca = np.clip(np.ceil(xa), 0, w).astype(np.int64)
    cb = np.clip(np.ceil(xb), 0, w).astype(np.int64)
    diff = np.zeros((h, w + 1), np.int32)
    np.add.at(diff, (ra, ca), 1)
    np.add.at(diff, (ra, cb), -1)
    return np.cumsum(diff, axis=1)[:, :w] > 0


class Raster:
    """Maps body millimetres (complex) to a pixel grid: image mm = O + R z,
    row = y / res_r + off_r, col = x / res_c + off_c."""

    def __init__(self, shape, O: complex, R: complex, res_r: float, res_c: float,
                 off_r: float, off_c: float):
        self.shape = (int(shape[0]), int(shape[1]))
        self.O, self.R = complex(O), complex(R)
        self.res_r, self.res_c = float(res_r), float(res_c)
        self.off_r, self.off_c = float(off_r), float(off_c)
        # size of one pixel in body mm (for distances)
        self.sampling = (self.res_r / abs(self.R), self.res_c / abs(self.R))

    def rc(self, z):
        zi = self.O + self.R * np.asarray(z)
        return zi.imag / self.res_r + self.off_r, zi.real / self.res_c + self.off_c

    def local(self, poly):
        """(slices, boolean sub-mask) of a filled polygon, or None when off the grid."""
        r, c = self.rc(poly)
        r0 = max(int(np.floor(r.min())), 0)
        r1 = min(int(np.ceil(r.max())) + 1, self.shape[0])
        c0 = max(int(np.floor(c.min())), 0)
        c1 = min(int(np.ceil(c.max())) + 1, self.shape[1])
        if r1 <= r0 or c1 <= c0:
            return None
        sub = _scan_fill(r - r0, c - c0, (r1 - r0, c1 - c0))
        return (slice(r0, r1), slice(c0, c1)), sub

    def mask(self, poly) -> np.ndarray:
        out = np.zeros(self.shape, bool)
        loc = self.local(poly)
        if loc is not None:
            out[loc[0]] = loc[1]
        return out

    def pixel_z(self):
        """Body-mm coordinates of every pixel centre."""
        r, c = np.mgrid[0:self.shape[0], 0:self.shape[1]].astype(float)
        zi = (c - self.off_c) * self.res_c + 1j * (r - self.off_r) * self.res_r
        return (zi - self.O) / self.R


def _bbox(mask, pad):
    rows = np.flatnonzero(mask.any(1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(0))
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + pad + 1, mask.shape[0])),
            slice(max(cols[0] - pad, 0), min(cols[-1] + pad + 1, mask.shape[1])))


def _dilate(mask, d, sampling):
    out = np.zeros(mask.shape, bool)
    bb = _bbox(mask, int(np.ceil(d / min(sampling))) + 2)
    if bb is None:
        return out
    out[bb] = ndimage.distance_transform_edt(~mask[bb], sampling=sampling) <= d
    return out


def _depth(mask, sampling):
    out = np.zeros(mask.shape, np.float32)
    bb = _bbox(mask, 2)
    if bb is None:
        return out
    out[bb] = ndimage.distance_transform_edt(mask[bb], sampling=sampling)
    return out


_EIGHT = np.ones((3, 3), bool)


def _open(mask, r, sampling):
    """Morphological opening by a disc of radius r (mm), keeping the largest piece."""
    core = _depth(mask, sampling) > r
    if not core.any():
        return mask
    return _largest(_dilate(core, r, sampling) & mask)


def _largest(mask):
    lab, n = ndimage.label(mask, structure=_EIGHT)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


# ----------------------------------------------------------------------------- parameters
def _u(rng, a, b):
    return float(rng.uniform(a, b))


def _events(rng, man: str, dur: float) -> list[dict]:
    ev: list[dict] = []

    def pulse(ch, start, length, amp):
        ramp = _u(rng, 0.12, 0.22) * length
        hold = _u(rng, 0.30, 0.50) * length
        rel = _u(rng, 0.08, 0.16) * length
        ev.append({"channel": ch, "t0": start, "ramp": ramp, "hold": hold, "release": rel,
                   "amp": amp})

    if man in ("valsalva", "squeeze"):
        n = int(min(rng.integers(1, 4), max(1, dur // 12)))
        seg = dur / n
        for k in range(n):
            pulse("P" if man == "valsalva" else "S", k * seg + _u(rng, 0.05, 0.2) * seg,
                  0.8 * seg, _u(rng, 0.65, 1.0))
        if man == "squeeze":
            ev.append({"channel": "P", "t0": 0.0, "ramp": dur / 3, "hold": dur / 3,
                       "release": dur / 3, "amp": _u(rng, 0.0, 0.1)})
    elif man == "cough":
        n = int(rng.integers(2, 6))
        for t in np.sort(rng.uniform(0.1, 0.95, n)) * dur:
            ev.append({"channel": "C", "t": float(t), "amp": _u(rng, 0.5, 0.95)})
        ev.append({"channel": "P", "t0": 0.0, "ramp": dur / 3, "hold": dur / 3,
                   "release": dur / 3, "amp": _u(rng, 0.05, 0.2)})
    elif man == "defecation":
        t0 = _u(rng, 0.04, 0.18) * dur
        ramp, hold = _u(rng, 0.06, 0.12) * dur, _u(rng, 0.45, 0.62) * dur
        ev.append({"channel": "P", "t0": t0, "ramp": ramp, "hold": hold,
                   "release": 0.08 * dur, "amp": _u(rng, 0.7, 1.0)})
        ev.append({"channel": "E", "t0": t0 + ramp + _u(rng, 0.0, 0.1) * dur,
                   "dur": _u(rng, 0.15, 0.35) * dur, "amp": _u(rng, 0.6, 1.0)})
    elif man == "mixed":
        pulse("S", _u(rng, 0.03, 0.08) * dur, 0.3 * dur, _u(rng, 0.6, 1.0))
        pulse("P", _u(rng, 0.38, 0.45) * dur, 0.4 * dur, _u(rng, 0.65, 1.0))
        if rng.random() < 0.6:
            ev.append({"channel": "C", "t": 0.93 * dur, "amp": _u(rng, 0.5, 0.9)})
    else:  # rest: only a slow change of pelvic-floor tone (plus breathing, peristalsis)
        ev.append({"channel": "P", "t0": _u(rng, 0.0, 0.3) * dur, "ramp": 0.3 * dur,
                   "hold": 0.2 * dur, "release": 0.3 * dur, "amp": _u(rng, 0.15, 0.3)})
    return ev


def sample_params(seed: int, matrix=None, n_frames=None) -> dict:
    """All random choices of a case that do not need the geometry (cheap)."""
    rng = np.random.default_rng([int(seed), 0xC0F0])
    h0, w0 = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sp_r = _u(rng, 1.1, 1.5)
    sp_c = sp_r if rng.random() < 0.7 else float(np.clip(sp_r * _u(rng, 0.93, 1.07), 1.1, 1.5))
    fov = (h0 * sp_r, w0 * sp_c)
    if matrix is None:
        h, w = h0, w0
    elif np.ndim(matrix) == 0:
        h = w = int(matrix)
    else:
        h, w = (int(v) for v in matrix)
    t0 = int(rng.integers(20, 41))
    dt0 = _u(rng, 0.5, 2.0)
    duration = dt0 * (t0 - 1)
    t = t0 if n_frames is None else int(n_frames)
    if t < 2:
        raise ValueError("n_frames must be at least 2")

    multip = bool(rng.random() < 0.55)
    lax = _u(rng, 0.2, 1.0) if multip else _u(rng, 0.0, 0.4)
    hyst = bool(rng.random() < 0.2)
    fill = float(rng.beta(1.3, 1.3))
    gel_v = bool(rng.random() < 0.4)
    rect_content = str(rng.choice(["gel", "feces", "gas", "collapsed"], p=[0.4, 0.3, 0.12, 0.18]))
    av = bool(rng.random() < 0.75)
    n_fib = 0 if hyst else int(rng.choice([0, 1, 2, 3], p=[0.68, 0.2, 0.08, 0.04]))
    fibroids = [{"u": _u(rng, 0.2, 0.95), "side": float(rng.choice([-1.0, 1.0])),
                 "kind": str(rng.choice(["intramural", "subserosal", "submucosal"],
                                        p=[0.5, 0.35, 0.15])),
                 "size": _u(rng, 10, 40), "bright": bool(rng.random() < 0.15)}
                for _ in range(n_fib)]
    anatomy = {
        "body_scale": _u(rng, 0.9, 1.1),
        "tilt_deg": _u(rng, -15, 15),
        "fat_ant_mm": float(np.exp(rng.uniform(np.log(8), np.log(45)))),
        "fat_post_mm": _u(rng, 8, 35),
        "belly_mm": _u(rng, 5, 40),
        "skin_mm": _u(rng, 1.5, 2.5),
        "rectus_mm": _u(rng, 7, 13),
        "symphysis": {"angle_deg": _u(rng, 22, 40), "length_mm": _u(rng, 36, 46),
                      "thickness_mm": _u(rng, 11, 16)},
        "coccyx_tip_mm": [_u(rng, 84, 102), _u(rng, -44, -20)],
        "promontory_mm": [_u(rng, 58, 78), _u(rng, -138, -114)],
        "sacral_depth_mm": _u(rng, 16, 30),
        "sacral_thickness_mm": _u(rng, 24, 32),
        "lumbar": {"height_mm": _u(rng, 25, 30), "disc_mm": _u(rng, 8, 12),
                   "depth_mm": _u(rng, 32, 40), "lordosis_deg": _u(rng, 2, 20),
                   "canal_mm": _u(rng, 12, 17), "back_mm": _u(rng, 40, 58)},
        "hiatus": {"along_mm": _u(rng, 44, 56), "below_mm": _u(rng, 4, 14)},
        "rectum": {"content": rect_content, "r_upper": _u(rng, 10, 15),
                   "r_ampulla": (_u(rng, 15, 26) if rect_content in ("gel", "feces")
                                 else _u(rng, 11, 17)),
                   "r_canal": _u(rng, 7, 9.5), "wall": _u(rng, 2.5, 4.0),
                   "gap": _u(rng, 4, 12), "canal_len": _u(rng, 26, 38),
                   "canal_angle_deg": _u(rng, 48, 68), "r_sigmoid": _u(rng, 9, 14),
                   "sigmoid_len": _u(rng, 25, 50), "sigmoid_angle_deg": _u(rng, -165, -130)},
        "vagina": {"length_mm": _u(rng, 62, 90) - (12 if hyst else 0), "gel": gel_v,
                   "h_mm": _u(rng, 6.5, 10) if gel_v else _u(rng, 4.5, 6.5),
                   "wall_mm": _u(rng, 2.5, 4.0), "low_angle_deg": _u(rng, 60, 78),
                   "septum_mm": _u(rng, 1.5, 4.0), "fornix_mm": _u(rng, 2, 6)},
        "uterus": {"present": not hyst, "anteverted": av,
                   "delta_deg": _u(rng, -105, -45) if av else _u(rng, -15, 25),
                   "cervix_delta_deg": _u(rng, -25, 0) if av else _u(rng, 0, 15),
                   "flex_extra_deg": _u(rng, -15, 15),
                   "cervix_len": _u(rng, 24, 34), "cervix_h": _u(rng, 10, 14),
                   "corpus_len": _u(rng, 40, 56) if not multip else _u(rng, 48, 68),
                   "corpus_h": _u(rng, 15, 21) if not multip else _u(rng, 18, 26),
                   "endometrium_mm": _u(rng, 2, 14), "jz_mm": _u(rng, 3, 8),
                   "protrude_mm": _u(rng, 8, 14), "fibroids": fibroids,
                   "nabothian": bool(rng.random() < 0.2)},
        "bladder": {"fill": fill, "r_mm": 13 + 30 * fill ** 0.8,
                    "aspect": 1.0 + 0.9 * (1 - fill) ** 1.5 + _u(rng, 0, 0.15),
                    "tilt_deg": _u(rng, -5, 30), "wall_mm": _u(rng, 2.0, 3.5) + 3 * (1 - fill),
                    "rough": _u(rng, 0.05, 0.25)},
        "urethra": {"neck_y_mm": _u(rng, -24, -10), "retropubic_mm": _u(rng, 6, 12),
                    "r_mm": _u(rng, 3.5, 5.0)},
        "multiparous": multip, "laxity": lax,
        "peritoneal_fluid": bool(rng.random() < 0.3),
        "n_bowel_loops": int(rng.integers(22, 55)),
        "aorta": bool(rng.random() < 0.6),
    }
    man = str(rng.choice(MANEUVERS, p=[0.08, 0.34, 0.14, 0.12, 0.16, 0.16]))
    if man == "defecation" and rect_content != "gel" and rng.random() < 0.6:
        anatomy["rectum"]["content"] = "gel"  # defecography: the rectum filled with gel
        anatomy["rectum"]["r_ampulla"] = _u(rng, 16, 26)
    motion = {
        "maneuver": man,
        "events": _events(rng, man, duration),
        "membrane_peak_mm": _u(rng, 8, 14) + lax * _u(rng, 8, 25),
        "descent_tilt_deg": _u(rng, 15, 35),
        "top_push": _u(rng, 0.3, 0.7), "wall_mm": _u(rng, 1, 6),
        "perineal_descent": _u(rng, 0.3, 0.8),
        "squeeze_lift_mm": _u(rng, 3, 9), "squeeze_tilt_deg": _u(rng, 10, 35),
        "breath_mm": _u(rng, 2.5, 8), "breath_period_s": _u(rng, 3.5, 6.5),
        "breath_phase": _u(rng, 0, 2 * np.pi),
        "cystocele_mm": lax * _u(rng, 5, 30),
        "prolapse_mm": lax * _u(rng, 0, 28),
        "rectocele_mm": _u(rng, 1, 4) + lax * _u(rng, 0, 18),
        "emptying": _u(rng, 0.3, 0.5), "canal_opening": _u(rng, 0.5, 0.75),
        "peristalsis": [{"mm": _u(rng, 1, 3.5), "period_s": _u(rng, 4, 15),
                         "phase": _u(rng, 0, 2 * np.pi), "dir_deg": _u(rng, -180, 180),
                         "pos": [_u(rng, -0.6, 0.6), _u(rng, 0.1, 0.9)]} for _ in range(3)],
    }
    seq = str(rng.choice(SEQUENCES, p=[0.33, 0.3, 0.17, 0.2]))
    levels = {name: _u(rng, 0.8, 1.2) for name in TISSUES if name != "air"}
    imaging = {
        "sequence": seq,
        "series_description": _DESCRIPTIONS[seq],
        "tissue_jitter": levels,
        "fat_jitter": _u(rng, 0.85, 1.15),
        "n_coils": int(rng.integers(4, 17)),
        "coil_anterior_fraction": _u(rng, 0.35, 0.65),
        "coil_reach_mm": _u(rng, 70, 150),
        "prescan_normalise": _u(rng, 0.0, 0.8),
        "snr": float(np.exp(rng.uniform(np.log(4), np.log(40)))),
        "sense": bool(rng.random() < 0.3),
        "g_max": _u(rng, 1.2, 2.2),
        "foldover_ghost": _u(rng, 0.01, 0.05),
        "pe_ghost": _u(rng, 0.01, 0.04) if rng.random() < 0.15 else 0.0,
        "blur_px": [_u(rng, 0.2, 0.5), _u(rng, 0.3, 0.9 if seq.startswith("t2") else 0.6)],
        "gibbs_keep": _u(rng, 0.55, 0.85) if rng.random() < 0.25 else 1.0,
        "chemical_shift_px": _u(rng, -1.8, 1.8) if seq in ("t2_haste", "t1_vibe") else 0.0,
        "banding": bool(seq == "truefisp" and rng.random() < 0.4),
        "band_cycles": _u(rng, 1.0, 2.5), "band_depth": _u(rng, 0.5, 0.9),
        "fs_residual": _u(rng, 0.03, 0.15), "fs_edge": _u(rng, 0.1, 0.5),
        "texture_mm": [_u(rng, 3, 6), _u(rng, 0.6, 1.2)],
        "intensity_max": _u(rng, 300, 4095),
        "integer": bool(rng.random() < 0.5),
        "slice_thickness_mm": _u(rng, 4, 8),
    }
    return {
        "generator": GENERATOR, "seed": int(seed),
        "matrix": [h, w], "default_matrix": [h0, w0],
        "spacing_mm": [fov[0] / h, fov[1] / w], "fov_mm": [fov[0], fov[1]],
        "n_frames": t, "frame_interval_s": duration / (t - 1), "duration_s": duration,
        "hysterectomy": hyst, "anatomy": anatomy, "motion": motion, "imaging": imaging,
        "labels": dict(LABEL),
    }


# ----------------------------------------------------------------------------- geometry
_DECIDE = Raster((520, 480), 0j, 1.0 + 0j, 1.0, 1.0, 350.0, 180.0)  # 1 mm, body frame


def _rectum_widths(A, u_cut, u_r1, u_r2, u_ac, length):
    R = A["rectum"]
    ru, ra, rc, rs = R["r_upper"], R["r_ampulla"], R["r_canal"], R["r_sigmoid"]
    knots = [0.0, u_cut, u_r1, u_r2, u_ac - 7, u_ac, length]
    outer = [rs, ru, ra, ra * 0.9, rc + 3.0, rc, rc * 0.8]
    wall = R["wall"]
    lum_amp = {"collapsed": 2.0, "gas": ra - wall, "feces": ra - wall, "gel": ra - wall}
    la = max(lum_amp[R["content"]], 1.5)
    inner = [max(rs - wall, 1.5) * (0.5 if R["content"] == "collapsed" else 1.0),
             max(ru - wall, 1.5) * (0.5 if R["content"] == "collapsed" else 1.0),
             la, la * 0.85, max(rc + 3.0 - wall - 3.5, 1.5), 1.3, 1.0]
    return (np.array(knots), np.array(outer)), (np.array(knots), np.array(inner))


def build_geometry(p: dict) -> dict:
    """The scene in body millimetres: polygons, curves, key points (no rasterisation except
    on a fixed 1 mm decision grid, so the geometry does not depend on the matrix)."""
    A = p["anatomy"]
    rng = np.random.default_rng([p["seed"], 0x6E0])
    G: dict = {"poly": {}, "loops": [], "vessels": [], "points": {}}
    poly = G["poly"]

    # --- pubic symphysis -----------------------------------------------------------------
    S = A["symphysis"]
    ax = _e(90 - S["angle_deg"])  # long axis, top -> bottom
    sym_c = -0.5 * S["length_mm"] * ax
    sym = univalent_blob(sym_c, S["length_mm"], S["length_mm"] / S["thickness_mm"],
                         np.rad2deg(np.angle(ax)), rand_coeffs(rng, 0.06),
                         0.08 * complex(rng.normal(), rng.normal()))
    sym = sym - sym[np.argmax((sym * np.conj(ax)).real)]  # inferior tip at the origin
    sym_c = _area_centroid(sym)[1]
    poly["symphysis"] = sym
    t_sym = complex(sym[np.argmin((sym * np.conj(ax)).real)])
    x_front = float(sym.real.min())

    # --- sacrum and coccyx ---------------------------------------------------------------
    C = complex(*A["coccyx_tip_mm"])
    Pm = complex(*A["promontory_mm"])
    chord = C - Pm
    n_post = _unit(chord) * -1j
    if n_post.real < 0:
        n_post = -n_post
    ts = np.linspace(0, 1, 8)
    sac_pts = Pm + ts * chord + A["sacral_depth_mm"] * np.sin(np.pi * ts ** 0.9) * n_post
    sac = Curve.through(sac_pts)
    Ls = sac.length
    ls_sac = 0.78 * Ls
    th0 = A["sacral_thickness_mm"]

    def sac_th(uu):
        return np.where(uu <= ls_sac, th0 * (1 - 0.68 * uu / ls_sac), 7.0 - 3.0 * (uu - ls_sac)
                        / max(Ls - ls_sac, 1))

    def canal_th(uu):
        return np.maximum(9.0 * (1 - 0.7 * uu / ls_sac), 2.0)

    poly["sacrum"] = sac.strip(0, ls_sac, 0.0, sac_th, 0.25, 0.15)
    G["sacrum_remnants"] = [sac.strip(uk - 0.8, uk + 0.8, -2.5, lambda uu: sac_th(uu) - 2.5, 0, 0)
                            for uk in (ls_sac * 0.2, ls_sac * 0.4)]
    cocc = []
    cu = np.linspace(ls_sac + 2.0, Ls, 4)
    for a_, b_ in zip(cu[:-1], cu[1:], strict=True):
        cocc.append(sac.strip(a_ + 1.0, b_ - 1.0, 0.0, sac_th, 0.6, 0.6))
    poly["coccyx"] = cocc
    poly["sacral_canal_csf"] = sac.strip(0, 0.3 * Ls, lambda uu: -(sac_th(uu) + 1.0),
                                         lambda uu: sac_th(uu) + 1.0 + canal_th(uu), 0, 0.8)
    poly["sacral_canal_fat"] = sac.strip(0.3 * Ls, 0.75 * Ls, lambda uu: -(sac_th(uu) + 1.0),
                                         lambda uu: sac_th(uu) + 1.0 + canal_th(uu), 0, 0.8)
    crest_in = lambda uu: sac_th(uu) + 1.0 + canal_th(uu)  # noqa: E731
    poly["sacral_crest"] = sac.strip(0, 0.8 * ls_sac, lambda uu: -crest_in(uu),
                                     lambda uu: crest_in(uu) + 5.0, 0.3, 0.6)
    poly["sacral_ligament"] = sac.strip(0, Ls, lambda uu: -(crest_in(uu) + 5.0),
                                        lambda uu: crest_in(uu) + 12.0, 0, 1)
    G["median_sacral"] = sac.strip(0.1 * Ls, 0.7 * Ls, 2.6, -1.2, 0.5, 0.5)

    # --- lumbar spine ----------------------------------------------------------------------
    Lb = A["lumbar"]
    t0 = sac.tangent(0.0)
    n0 = -sac.left(0.0)  # posterior normal at the promontory
    E = Pm + n0 * (th0 / 2.0)
    th_sp = np.angle(-t0) + np.deg2rad(Lb["lordosis_deg"])
    target = np.deg2rad(-84 + rng.uniform(-4, 4))
    lo = E - 20.0 * np.exp(1j * th_sp)
    spine = Curve.bends(lo, th_sp, [(20.0, 0.0), (75.0, (target - th_sp) / 75.0), (300.0, 0.0)])
    dv, hv, dd, canal, back = (Lb["depth_mm"], Lb["height_mm"], Lb["disc_mm"], Lb["canal_mm"],
                               Lb["back_mm"])
    vert, discs, spinous = [], [], []
    u = 20.0
    levels = []
    while u < spine.length - 10:
        zc = spine.point(u + dd / 2)
        ang = np.rad2deg(spine.at(u + dd / 2)[1]) + 90
        discs.append(univalent_blob(zc, dv * 0.96, dv / dd, ang, [0, 0, 0.02], 0))
        u += dd
        zc = spine.point(u + hv / 2)
        ang = np.rad2deg(spine.at(u + hv / 2)[1]) + 90
        vert.append(univalent_blob(zc, dv, dv / hv, ang, [0, 0, 0, -0.07],
                                   0.04 * complex(rng.normal(), rng.normal())))
        levels.append(u + hv / 2)
        lft = spine.left(u + hv * 0.6)  # posterior side for an upward curve
        sp_c = spine.point(u + hv * 0.6) + lft * (dv / 2 + canal + 3 + 17)
        spinous.append(univalent_blob(sp_c, 32, 2.6, np.rad2deg(np.angle(lft)) + 18,
                                      rand_coeffs(rng, 0.1), 0))
        u += hv
    poly["vertebrae"], poly["discs"], poly["spinous"] = vert, discs, spinous
    poly["spinal_canal"] = spine.strip(0, spine.length, dv / 2 + 1 + canal, -(dv / 2 + 1), 0, 0)
    poly["lamina"] = spine.strip(20, spine.length, dv / 2 + 3.5 + canal, -(dv / 2 + 1 + canal),
                                 0, 0)
    poly["back_muscle"] = spine.strip(10, spine.length, dv / 2 + canal + back,
                                      -(dv / 2 + 1 + canal), 0, 0)
    if A["aorta"]:
        u_l4 = levels[1] if len(levels) > 1 else 60.0
        d_ao = rng.uniform(12, 18)
        G["aorta"] = spine.strip(u_l4, spine.length, -(dv / 2 + 1.5), dv / 2 + 1.5 + d_ao, 1, 0)
    u_l5 = levels[0] if levels else 34.0
    G["iliac_vein"] = univalent_blob(spine.point(u_l5 - hv * 0.3) - spine.left(u_l5) * (dv / 2 + 9),
                                     rng.uniform(12, 17), rng.uniform(1.3, 1.8),
                                     np.rad2deg(spine.at(u_l5)[1]), rand_coeffs(rng, 0.1), 0)

    # --- rectum, anal canal, sigmoid -----------------------------------------------------
    R = A["rectum"]
    H = A["hiatus"]
    e_pcl = _unit(C)
    n_pcl = 1j * e_pcl  # caudal normal of the pubococcygeal line
    if n_pcl.imag < 0:
        n_pcl = -n_pcl
    a_post = H["along_mm"] * e_pcl + H["below_mm"] * n_pcl
    lp_dir = _unit(a_post - C)
    n_up = 1j * lp_dir
    if n_up.imag > 0:
        n_up = -n_up
    lev_h = rng.uniform(3.0, 4.5)
    d_ac = _e(R["canal_angle_deg"])
    n_ac_ant = 1j * d_ac if (1j * d_ac).real < 0 else -1j * d_ac
    A_c = a_post + R["r_canal"] * n_ac_ant
    V = A_c + R["canal_len"] * d_ac
    u_s3 = 0.5 * Ls
    R0 = sac.point(u_s3) + sac.left(u_s3) * (R["gap"] + R["r_upper"])
    R1 = sac.point(0.74 * Ls) + sac.left(0.74 * Ls) * (R["gap"] + R["r_ampulla"])
    R2 = (0.55 * C + 0.45 * a_post) + n_up * (lev_h + 1.5 + R["r_ampulla"] * 0.95)
    R2 = R2 + 0.25 * (R1 - R2) if abs(R1 - R2) < 12 else R2
    sg1 = R0 - sac.tangent(u_s3) * 22 + sac.left(u_s3) * 6
    sg2 = sg1 + _e(R["sigmoid_angle_deg"]) * R["sigmoid_len"]
    rect = Curve.through([sg2, sg1, R0, R1, R2, A_c, V])
    u_cut = rect.u_near(R0)
    u_r1, u_r2, u_ac = rect.u_near(R1), rect.u_near(R2), rect.u_near(A_c)
    outer, inner = _rectum_widths(A, u_cut, u_r1, u_r2, u_ac, rect.length)
    G["rect"] = rect
    G["rect_u"] = {"cut": u_cut, "r1": u_r1, "r2": u_r2, "ac": u_ac}
    poly["rectum"] = rect.strip(u_cut, rect.length, outer, outer, 0, 0)
    poly["rectum_lumen"] = rect.strip(u_cut, rect.length, inner, inner, 0, 0)
    poly["sigmoid"] = rect.strip(0, u_cut, outer, outer, 1, 0)
    poly["sigmoid_lumen"] = rect.strip(0, u_cut, inner, inner, 1, 0)
    r_ext = R["r_canal"] + rng.uniform(4.0, 6.5)
    poly["ext_sphincter"] = rect.strip(u_ac + 2, rect.length, r_ext, r_ext, 0.5, 0)
    rect_lft = rect.left(u_r2)
    sgn_ant = 1.0 if rect_lft.real < 0 else -1.0  # which side of the rectum is anterior

    def rect_front(uu, extra):
        r_here = float(np.interp(uu, *outer))
        return rect.point(uu) + sgn_ant * rect.left(uu) * (r_here + extra)

    # levator plate, puborectalis
    lp_mid = 0.5 * (C + a_post) + n_pcl * 3.0
    lev = Curve.through([C - 2 * lp_dir, lp_mid, a_post - lp_dir * 5.0 + n_pcl * 1.5])
    poly["levator"] = lev.strip(0, lev.length, lev_h, lev_h, 0.7, 0.7)
    pr_c = a_post + _unit(a_post - A_c) * 6.0 + d_ac * 4.0
    poly["puborectalis"] = univalent_blob(pr_c, rng.uniform(14, 19), rng.uniform(1.3, 1.8),
                                          np.rad2deg(np.angle(lp_dir)), rand_coeffs(rng, 0.1))

    # --- vagina ----------------------------------------------------------------------------
    Vg = A["vagina"]
    h_v = Vg["h_mm"]
    Vm = rect_front(u_ac - 12, Vg["septum_mm"] + h_v)
    low_dir = _e(180 - Vg["low_angle_deg"])  # from Vm down and anterior
    y_skin = V.imag + rng.uniform(-3, 4)
    L_low = max((y_skin - Vm.imag) / max(low_dir.imag, 0.2), 15.0)
    I_ = Vm + L_low * low_dir
    best = None
    for uv in np.linspace(max(u_r1 - 12, u_cut + 4), max(u_r2, u_r1 - 6), 12):
        Tv = rect_front(uv, Vg["septum_mm"] + h_v + Vg["fornix_mm"])
        length = L_low + abs(Tv - Vm)
        if best is None or abs(length - Vg["length_mm"]) < best[0]:
            best = (abs(length - Vg["length_mm"]), uv, Tv)
    u_v, Tv = best[1], best[2]
    vag = Curve.through([I_, 0.5 * (I_ + Vm) + 0j, Vm, 0.5 * (Vm + Tv), Tv])
    h_top = h_v + Vg["fornix_mm"]
    vk = (np.array([0, 0.7 * vag.length, vag.length]), np.array([h_v * 0.9, h_v, h_top]))
    lum = (max(h_v - Vg["wall_mm"], 2.0) if Vg["gel"] else rng.uniform(0.7, 1.3))
    lk = (vk[0], np.array([lum * 0.8, lum, lum + (Vg["fornix_mm"] if Vg["gel"] else 1.0)]))
    cuff = 1.0 if not A["uterus"]["present"] else 0.9
    poly["vagina"] = vag.strip(0, vag.length, vk, vk, 0, cuff)
    poly["vagina_lumen"] = vag.strip(0, vag.length - Vg["wall_mm"], lk, lk, 0, 1.0)
    G["vag"] = vag
    # the space behind the vagina and its axis continued beyond the vault (no bladder there)
    ext = Curve.through([I_, 0.5 * (I_ + Vm), Vm, 0.5 * (Vm + Tv), Tv,
                         Tv + 45.0 * vag.tangent(vag.length)])
    back_side = 1.0 if ext.left(0.5 * ext.length).real > 0 else -1.0
    band = (80.0, -h_v) if back_side > 0 else (-h_v, 80.0)
    poly["retro_vaginal"] = ext.strip(0.3 * ext.length, ext.length, band[0], band[1], 0, 0)
    d_top = vag.tangent(vag.length)

    # --- urethra and perineal body ---------------------------------------------------------
    Ur = A["urethra"]
    up_low = _unit(Vm - I_)
    v_ant = 1j * up_low if (1j * up_low).real < 0 else -1j * up_low
    M = I_ + v_ant * (h_v * 0.9 + 1.5 + Ur["r_mm"]) + 1j * rng.uniform(-2.0, 1.0)
    # bladder neck above the pubococcygeal line, between the symphysis and the vagina
    y_n = Ur["neck_y_mm"]
    vz = vag.z[vag.u < 0.8 * vag.length]
    j = int(np.argmin(np.abs(vz.imag - y_n)))
    x_vag = float(vz[j].real) - (h_v + Vg["septum_mm"] + Ur["r_mm"] + 1.5)
    near = np.abs(sym.imag - y_n) < 3.0
    x_sym = float(sym.real[near].max()) if near.any() else 0.0
    x_n = max(x_vag, min(x_sym + Ur["r_mm"] + Ur["retropubic_mm"], x_vag + 6.0))
    N = complex(x_n, y_n)
    ure = Curve.through([M, 0.5 * (M + N) + 0.1 * (N - M) * 1j * np.sign((N - M).real + 1e-9),
                         N])
    poly["urethra"] = ure.strip(0, ure.length, Ur["r_mm"], Ur["r_mm"], 0, 0)
    poly["urethra_lumen"] = ure.strip(0, ure.length, 1.0, 1.0, 0, 0)
    pb_c = 0.5 * (vag.point(10.0) + rect.point(rect.length - 12.0)) - 2j
    poly["perineal_body"] = univalent_blob(pb_c, max(abs(vag.point(10) - rect.point(
        rect.length - 12)) * 0.7, 10), 1.4, np.rad2deg(np.angle(rect.point(rect.length - 12)
                                                                   - vag.point(10))),
        rand_coeffs(rng, 0.12))
    G["points"].update({"N": N, "M": M, "I": I_, "V": V, "A_post": a_post, "A_c": A_c,
                        "C": C, "Pm": Pm, "Tv": Tv, "Vm": Vm, "E": E, "pb": pb_c})

    # --- body frame (abdominal wall, back) needed for the fit checks ------------------------
    fa, fp, belly, tr = A["fat_ant_mm"], A["fat_post_mm"], A["belly_mm"], A["rectus_mm"]

    def x_wall(y):  # posterior surface of the abdominal wall (rectus)
        rise = np.maximum(-np.asarray(y) - 40.0, 0.0)
        return x_front - 1.0 - 0.12 * rise - belly * _smoothstep((-np.asarray(y) - 50.0) / 180.0)

    ys = np.linspace(t_sym.imag + 4, -480, 14)
    rectus_c = Curve.through(x_wall(ys) - tr / 2 + 1j * ys)
    poly["rectus"] = rectus_c.strip(0, rectus_c.length, tr / 2, tr / 2, 0.5, 0)

    # --- decision grid: bones / walls occupancy --------------------------------------------
    g = _DECIDE
    bones = np.zeros(g.shape, bool)
    for pp in [sym, poly["sacrum"], *cocc, *vert, *discs, poly["sacral_crest"]]:
        bones |= g.mask(pp)
    bones_d = _dilate(bones, 4.0, g.sampling)
    wall_d = _dilate(g.mask(poly["rectus"]), 2.0, g.sampling)
    front = g.pixel_z().real < (x_wall(g.pixel_z().imag) - tr)
    rect_only = g.mask(poly["rectum"])
    rect_m = rect_only | g.mask(poly["sigmoid"])
    rect_area = max(rect_only.sum(), 1)
    vag_m = g.mask(poly["vagina"])

    # --- bladder -------------------------------------------------------------------------------
    Bl = A["bladder"]
    up_dir = _e(-90 + Bl["tilt_deg"])
    r_eq = Bl["r_mm"]
    aspect = Bl["aspect"]
    long_ang = -90.0 + (1 - Bl["fill"]) * (-80.0) + rng.uniform(-15, 15)
    coeffs = rand_coeffs(rng, Bl["rough"])
    mob = 0.25 * complex(rng.normal(), rng.normal())
    allowed = ~(_dilate(vag_m, 2.0, g.sampling) | _dilate(rect_m, 2.0, g.sampling)
                | _dilate(bones, 3.0, g.sampling) | wall_d | front
                | g.mask(poly["retro_vaginal"]))
    shift = 0j
    size = 1.0
    blad = None
    for it in range(16):
        length = 2 * r_eq * size * math.sqrt(aspect)
        b0 = univalent_blob(0j, length, aspect, long_ang, coeffs, mob)
        lowest = b0[np.argmin((b0 * np.conj(up_dir)).real)]
        b0 = b0 - lowest + N + shift
        bm = g.mask(b0)
        keep = bm & allowed
        frac = keep.sum() / max(bm.sum(), 1)
        blad = b0
        if frac >= 0.72:
            break
        shift += 4.0 * _unit(_e(-115) + 0.3 * up_dir)
        if it % 4 == 3:
            size *= 0.9
    poly["bladder"] = blad
    low = blad[np.argmin((blad * np.conj(up_dir)).real)]
    poly["bladder_funnel"] = None
    if abs(shift) > 0.5:
        fun = Curve.through([N, 0.5 * (N + low), low + 0.25 * (_area_centroid(blad)[1] - low)])
        poly["bladder_funnel"] = fun.strip(0, fun.length, (np.array([0, fun.length]),
                                                           np.array([4.0, 7.0])),
                                           (np.array([0, fun.length]), np.array([4.0, 7.0])),
                                           0, 1)
    G["points"]["bladder_c"] = _area_centroid(blad)[1]
    G["points"]["bladder_base"] = N + 0.45 * (G["points"]["bladder_c"] - N)
    G["bladder_r"] = r_eq * size
    blad_m = g.mask(blad) & allowed
    blad_area = max(blad_m.sum(), 1)


    # --- uterus ------------------------------------------------------------------------------
    Ut = A["uterus"]
    G["uterus"] = None
    uter_m = np.zeros(g.shape, bool)
    # external os inside the vault, the (wider) cervix kept a little off the rectum
    vag_ant = 1j * d_top if (1j * d_top).real < 0 else -1j * d_top
    O_ = Tv - d_top * Ut["protrude_mm"] + vag_ant * 0.6 * max(Ut["cervix_h"] - h_top, 0.0)
    if Ut["present"]:
        fill = A["bladder"]["fill"]
        delta = Ut["delta_deg"] * ((1 - 0.45 * fill) if Ut["anteverted"] else 1.0)
        lcx, lco = Ut["cervix_len"], Ut["corpus_len"]
        hcx, hco = Ut["cervix_h"], Ut["corpus_h"]
        th_cx = np.angle(d_top) + np.deg2rad(Ut["cervix_delta_deg"])
        shrunk = 0
        lo_d, hi_d = -115.0, 35.0
        for it in range(40):
            segs = [(lcx - 4, 0.0), (14.0, np.deg2rad(delta) / 14.0),
                    (lco - 10, np.deg2rad(Ut["flex_extra_deg"]) / max(lco - 10, 1.0))]
            ut = Curve.bends(O_, th_cx, segs)
            L = ut.length
            wk = (np.array([0, 3, lcx - 2, lcx + 8, lcx + 0.55 * lco, L]),
                  np.array([hcx * 0.85, hcx, hcx * 0.92, hco * 0.8, hco, hco * 0.9]))
            upoly = ut.strip(0, L, wk, wk, 0.7, 1.0)
            uter_m = g.mask(upoly)
            # the uterus may indent the soft bladder and rectum a little, never bones
            bone_hit = (uter_m & bones_d).sum()
            hit_front = (uter_m & (wall_d | front)).sum() + max(
                (uter_m & blad_m).sum() - (0.35 - 0.25 * fill) * blad_area, 0)
            hit_back = bone_hit + max((uter_m & rect_only).sum() - 0.16 * rect_area, 0)
            if hit_front == 0 and hit_back == 0:
                break
            if it >= 16 and bone_hit == 0:
                break  # soft overlaps left are moulded away when rendering
            if bone_hit > 0 and hit_front > 0 or it >= 24:
                lco *= 0.9  # squeezed between bones and the bladder / wall: smaller
                hco *= 0.96
            elif hit_back > 0 and not Ut["anteverted"] and shrunk < 4:
                lco *= 0.9  # a retroverted uterus first gets smaller in a small pelvis
                hco *= 0.96
                shrunk += 1
            elif hit_front > hit_back and delta + 8 <= hi_d:
                delta += 8.0
            elif hit_back >= hit_front and delta - 8 >= lo_d:
                delta -= 8.0
            else:
                lco *= 0.9
                hco *= 0.96
        G["uterus"] = ut
        G["uterus_bone_hit"] = int(bone_hit)
        G["uterus_delta_deg"] = float(delta)
        turn = delta + Ut["cervix_delta_deg"]
        G["uterus_version"] = ("anteverted" if turn < -30 else "retroverted" if turn > 5
                               else "axial")
        poly["uterus"] = upoly
        poly["cervix_stroma"] = ut.strip(0, lcx + 2, hcx * 0.72, hcx * 0.72, 0.7, 0.6)
        e_half = Ut["endometrium_mm"] / 2
        ek = (np.array([lcx + 2, lcx + 10, L - 10, L - 6]),
              np.array([0.6, e_half * 0.8, e_half, e_half * 0.7]))
        jk = (ek[0], ek[1] + Ut["jz_mm"])
        poly["junctional"] = ut.strip(lcx + 1, L - 5, jk, jk, 0.8, 1.0)
        poly["endometrium"] = ut.strip(lcx + 2, L - 6, ek, ek, 0.6, 1.0)
        poly["cervical_canal"] = ut.strip(0, lcx + 3, 1.4, 1.4, 0.5, 0.5)
        fibs = []
        for f in Ut["fibroids"]:
            uf = lcx + 8 + f["u"] * (L - lcx - 14)
            hh = float(np.interp(uf, *wk))
            size = min(f["size"], 1.5 * hh + 6)
            r = size / 2
            off = {"intramural": hh - r - 2.0 if hh > r + 3 else 0.0,
                   "subserosal": hh + 0.35 * r, "submucosal": e_half + r * 0.4}[f["kind"]]
            fc = ut.point(uf) + f["side"] * ut.left(uf) * off
            fibs.append((univalent_blob(fc, size, rng.uniform(1.0, 1.3), rng.uniform(0, 180),
                                        rand_coeffs(rng, 0.08)), f["bright"]))
            uter_m |= g.mask(fibs[-1][0])
        G["fibroids"] = fibs
        nab = []
        if Ut["nabothian"]:
            for _k in range(int(rng.integers(1, 4))):
                uc = rng.uniform(4, lcx - 3)
                nab.append(univalent_blob(ut.point(uc) + ut.left(uc) * rng.uniform(-0.5, 0.5)
                                          * hcx, rng.uniform(2.5, 6), 1.1, 0, ()))
        G["nabothian"] = nab
        G["points"]["O"] = O_
        G["points"]["cervix"] = ut.point(lcx)
    soft_uv = uter_m | vag_m

    # --- peritoneal fluid (pouch of Douglas) ------------------------------------------------
    G["pfluid"] = None
    if A["peritoneal_fluid"]:
        anchor = G["points"].get("cervix", Tv)
        back = rect_front(max(u_v - 6, u_cut), 0.0)
        G["pfluid"] = univalent_blob(0.5 * (anchor + back) - 4j, rng.uniform(8, 20),
                                     rng.uniform(1.2, 2.2), np.rad2deg(np.angle(back - anchor)),
                                     rand_coeffs(rng, 0.2))

    # --- body outline -----------------------------------------------------------------------
    x_back_s = []
    for uu in (0.25 * Ls, 0.55 * Ls, 0.85 * Ls):
        x_back_s.append((sac.point(uu) - sac.left(uu) * (sac_th(uu) + canal_th(uu) + 18)).real)
    x_back = max(x_back_s) + fp + rng.uniform(5, 25)
    lumb = [spine.point(uu) + spine.left(uu) * (dv / 2 + canal + back + 0.8 * fp)
            for uu in (levels[0] if levels else 40, 140.0, 300.0)]
    ys_ant = np.array([-480, -330, -220, -140, -80, -40])
    ant = x_wall(ys_ant) - tr - fa * (1 + 0.25 * _smoothstep((-ys_ant - 50) / 150)) + 1j * ys_ant
    mons = [complex(x_front - 1 - tr * 0.5 - fa, sym_c.imag),
            complex(x_front + 1 - fa * 0.85, 4.0),
            complex(M.real - 8 - 0.25 * fa, M.imag - 3.0)]
    per = [M + 0.9j - 2.0, M + 0.9j, I_ + 0.9j, 0.5 * (I_ + V) + 2.0j, V + 0.9j]
    but = [V + 14 + 10j, V + 40 + 18j, complex(x_back - 14, V.imag + 14),
           complex(x_back, V.imag - 12), complex(x_back, Pm.imag + 20)]
    backs = [complex(min(z.real, x_back - 4), z.imag) for z in lumb]
    outline = [*ant, *mons, *per, *but, *backs]
    outline = [z for z in outline]
    poly["body"] = _closed_spline(outline)
    cleft = Curve.through([V + 2 + 1j, V + 14 - 6j, C - sac.left(Ls) * 22 + 10j])
    poly["natal_cleft"] = cleft.strip(0, cleft.length, 0.7, 0.7, 1, 1)

    # --- cavity (peritoneal + pelvic fat space) ---------------------------------------------
    ys_c = np.linspace(-480, t_sym.imag, 14)
    cav = list(x_wall(ys_c) + 1j * ys_c)
    cav += [t_sym + 6.0, 4.0 + 2.0j, pb_c, a_post, lp_mid, C]
    cav += list(sac.z[::-10])
    cav += [spine.point(uu) - spine.left(uu) * (dv / 2 + 2) for uu in np.linspace(20, spine.length,
                                                                                      10)]
    poly["cavity"] = np.array(cav)
    G["membrane"] = Curve.through([0j + 2.0, pb_c, a_post + 3.0 * n_pcl, lp_mid, C])

    # --- bowel loops (packed into the free cavity on the decision grid) ---------------------
    cav_m = g.mask(poly["cavity"]) & g.mask(poly["body"])
    brim_a, brim_b = t_sym, sac.point(0.3 * Ls)
    pz = g.pixel_z()
    side = ((pz - brim_a) * np.conj(brim_b - brim_a)).imag  # > 0 caudal of the brim line
    region = cav_m & (side < 18 * abs(brim_b - brim_a)) & (pz.imag > -300)
    organs = soft_uv | rect_m | g.mask(blad) | g.mask(poly["urethra"])
    if poly["bladder_funnel"] is not None:
        organs |= g.mask(poly["bladder_funnel"])
    occ = (_dilate(organs, 2.5, g.sampling) | _dilate(bones, 2.0, g.sampling)
           | _dilate(g.mask(poly["rectus"]), 1.5, g.sampling) | ~region)
    for extra in ("aorta", "iliac_vein"):
        if G.get(extra) is not None:
            occ |= _dilate(g.mask(G[extra]), 1.5, g.sampling)
    kinds = ["fluid", "collapsed", "gas", "feces", "level"]
    n_target = A["n_bowel_loops"]
    placed = 0
    # sigmoid / colon look-alikes first, near the top of the pelvic organs
    n_colon = int(rng.integers(0, 3))
    free = np.flatnonzero(~occ)
    for attempt in range(420):
        if placed >= n_target + n_colon or free.size == 0:
            break
        if attempt % 40 == 39:
            free = np.flatnonzero(~occ)
            if free.size == 0:
                break
        zc = complex(pz.ravel()[free[rng.integers(free.size)]])
        colon = placed < n_colon and attempt < 80
        if attempt == 80:
            n_colon = min(n_colon, placed)
        if colon or rng.random() < 0.3:
            L = rng.uniform(40, 90) if colon else rng.uniform(22, 60)
            hw = rng.uniform(11, 17) if colon else rng.uniform(6, 12)
            ang = rng.uniform(-np.pi, np.pi)
            curv = rng.uniform(-1, 1) / max(L, 1) * rng.uniform(0.5, 2.5)
            cv = Curve.bends(zc - 0.5 * L * np.exp(1j * ang), ang, [(L, curv)])
            hfun = (np.arange(0, L + 1.0, 1.0),
                    hw * (1 + (0.12 if colon else 0.0) * np.cos(2 * np.pi * np.arange(
                        0, L + 1.0, 1.0) / 11.0)))
            outer_p = cv.strip(0, L, hfun, hfun, 1, 1)
            hbig = (hfun[0], hfun[1] + 2.0)
            big = cv.strip(0, L, hbig, hbig, 1, 1)
            wall = rng.uniform(1.5, 3.0)
            hin = (hfun[0], np.maximum(hfun[1] - wall, 1.0))
            inner_p = cv.strip(0, L, hin, hin, 1, 1)
        else:
            size = rng.uniform(10, 30)
            asp = rng.uniform(1.0, 1.7)
            ang = rng.uniform(0, 180)
            cf = rand_coeffs(rng, 0.25)
            outer_p = univalent_blob(zc, size, asp, ang, cf)
            big = univalent_blob(zc, size + 4.0, asp, ang, cf)
            wall = rng.uniform(1.5, 3.0)
            inner_p = univalent_blob(zc, max(size - 2 * wall, 2.0), asp, ang, cf)
        loc = g.local(big)
        if loc is None or (occ[loc[0]] & loc[1]).any():
            continue
        occ[loc[0]] |= loc[1]
        kind = ("feces" if rng.random() < 0.6 else "gas") if colon else str(
            rng.choice(kinds, p=[0.35, 0.3, 0.12, 0.1, 0.13]))
        G["loops"].append({"outer": outer_p, "inner": inner_p, "kind": kind,
                           "level_x": float(zc.real + rng.uniform(-0.3, 0.1) * 10)})
        placed += 1
    # mesenteric and pelvic vessels
    free = np.flatnonzero(~occ & region)
    for _k in range(int(rng.integers(6, 20)) if free.size else 0):
        zc = complex(pz.ravel()[free[rng.integers(free.size)]])
        G["vessels"].append((univalent_blob(zc, rng.uniform(2.0, 5.5), rng.uniform(1, 1.6),
                                            rng.uniform(0, 180), ()),
                             "artery" if rng.random() < 0.4 else "vein"))
    if R["gap"] > 5.5:
        for _k in range(int(rng.integers(1, 4))):
            uu = rng.uniform(u_cut + 5, u_r1)
            r_here = float(np.interp(uu, *outer))
            zc = rect.point(uu) - sgn_ant * rect.left(uu) * (r_here + R["gap"] * 0.5)
            G["vessels"].append((univalent_blob(zc, rng.uniform(1.8, 3.2), 1.2, 0, ()), "vein"))
    G["vessels"].append((univalent_blob(complex(x_front + 6, 6.0) + v_ant * 2, 3.0, 1.3, 30,
                                        ()), "vein"))
    G["placed_loops"] = placed
    G["x_back"] = x_back
    G["x_front_skin"] = float(ant[-1].real)
    return G


# ----------------------------------------------------------------------------- placement
def _place(p: dict, G: dict) -> dict:
    """Scale, tilt and shift of the scene so that the pelvis fits the field of view."""
    A, Mo = p["anatomy"], p["motion"]
    fov_h, fov_w = p["fov_mm"]
    rng = np.random.default_rng([p["seed"], 0x91A])
    poly = G["poly"]
    must = [poly["bladder"], poly["vagina"], poly["rectum"], poly["symphysis"], poly["sacrum"],
            *poly["coccyx"], poly["ext_sphincter"], np.array([G["points"]["Pm"]])]
    if poly.get("uterus") is not None:
        must.append(poly["uterus"])
    must = np.concatenate(must)
    body = poly["body"]
    sel = (body.imag > -90) & (body.imag < 40)
    nice = np.concatenate([must, body[sel]])  # the whole body width at pelvic level
    front = np.concatenate([must, body[sel & (body.real < 20)]])  # at least the belly skin
    tau = np.deg2rad(A["tilt_deg"])
    s = A["body_scale"]
    descent = 12 + Mo["perineal_descent"] * Mo["membrane_peak_mm"] + 0.5 * Mo["prolapse_mm"]
    fit = "organs"
    for _ in range(30):
        Rz = s * np.exp(1j * tau)
        need_h = np.ptp((Rz * must).imag) + 8 + descent
        if need_h <= fov_h and np.ptp((Rz * nice).real) + 10 <= fov_w:
            fit = "body"
            break
        if need_h <= fov_h and np.ptp((Rz * front).real) + 10 <= fov_w and s <= 0.9:
            fit = "front"
            break
        if need_h <= fov_h and np.ptp((Rz * must).real) + 16 <= fov_w and s <= 0.84:
            break
        s *= 0.97
    Rz = s * np.exp(1j * tau)
    pts = Rz * {"body": nice, "front": front, "organs": must}[fit]
    mpts = Rz * must
    x_lo = -pts.real.min() + 5
    x_hi = fov_w - pts.real.max() - 5
    if fit == "front":  # keep the belly skin in, let the back leave the field
        x_hi = x_lo + 0.3 * max(x_hi - x_lo, 0)
    y_lo = -mpts.imag.min() + 8
    y_hi = fov_h - mpts.imag.max() - descent
    # no wide empty band under the perineum: the lowest body point in the lower fifth
    y_lo = min(max(y_lo, 0.8 * fov_h - float((Rz * body).imag.max())), y_hi)
    ox = rng.uniform(x_lo, x_hi) if x_hi > x_lo else 0.5 * (x_lo + x_hi)
    oy = rng.uniform(y_lo, y_hi) if y_hi > y_lo else 0.5 * (y_lo + y_hi)
    return {"O": complex(ox, oy), "R": complex(Rz), "scale": float(s), "tilt_deg": A["tilt_deg"],
            "fits": fit}


# ----------------------------------------------------------------------------- rendering
def _levels(p: dict):
    im = p["imaging"]
    seq = im["sequence"]
    col = _FAMILY_COLUMN[seq]
    n = len(TISSUES)
    water, ff, tc, tf = (np.zeros(n) for _ in range(4))
    for i, (name, (lv, fat, tex)) in enumerate(_TISSUE_TABLE.items()):
        water[i] = lv[col] * im["tissue_jitter"].get(name, 1.0)
        ff[i] = fat
        tc[i], tf[i] = tex
    fat_level = _FAT_LEVEL[seq] * im["fat_jitter"]
    return water, ff, tc, tf, fat_level


def _render_rest(p: dict, G: dict, place: dict):
    """Rest-frame scene on a padded grid: tissue / label at 2x, image and labels at 1x."""
    h, w = p["matrix"]
    dr, dc = p["spacing_mm"]
    pad_r, pad_c = int(math.ceil(45.0 / dr)), int(math.ceil(45.0 / dc))
    hp, wp = h + 2 * pad_r, w + 2 * pad_c
    g2 = Raster((2 * hp, 2 * wp), place["O"], place["R"], dr / 2, dc / 2,
                2 * pad_r + 0.5, 2 * pad_c + 0.5)
    smp = g2.sampling
    rng = np.random.default_rng([p["seed"], 0x7E4])
    tissue = np.zeros(g2.shape, np.uint8)
    label = np.zeros(g2.shape, np.uint8)
    poly = G["poly"]

    def paint(mask, name, lab=0):
        tissue[mask] = TI[name]
        label[mask] = lab

    def paint_poly(pp, name, lab=0):
        loc = g2.local(pp)
        if loc is not None:
            tissue[loc[0]][loc[1]] = TI[name]
            label[loc[0]][loc[1]] = lab

    A = p["anatomy"]
    body = g2.mask(poly["body"])
    paint(body, "fat")
    paint(body & (_depth(body, smp) <= A["skin_mm"]), "skin")
    paint(g2.mask(poly["cavity"]) & body & (_depth(body, smp) > A["skin_mm"] + 4), "vfat")
    # muscles
    paint_poly(poly["rectus"], "muscle")
    paint_poly(poly["back_muscle"], "muscle")
    paint_poly(poly["sacral_ligament"], "ligament")
    paint_poly(poly["levator"], "muscle")
    paint_poly(poly["puborectalis"], "muscle")
    paint_poly(poly["perineal_body"], "perineal")
    paint_poly(poly["ext_sphincter"], "muscle")
    # spinal canal and bones
    paint_poly(poly["spinal_canal"], "csf")
    paint_poly(poly["sacral_canal_csf"], "csf")
    paint_poly(poly["sacral_canal_fat"], "fat")
    bone = np.zeros(g2.shape, bool)

    def paint_bone(pp, cortex_mm=1.3):
        m = g2.mask(pp)
        paint(m, "cortex")
        paint(m & (_depth(m, smp) > cortex_mm), "marrow")
        bone[m] = True

    paint_bone(poly["lamina"], 1.0)
    for pp in poly["spinous"]:
        paint_bone(pp)
    paint_bone(poly["sacral_crest"], 1.0)
    for pp in poly["discs"]:
        m = g2.mask(pp)
        paint(m, "disc")
        bone[m] = True
    for pp in poly["vertebrae"]:
        paint_bone(pp, 1.5)
    paint_bone(poly["sacrum"], 1.5)
    for pp in G["sacrum_remnants"]:
        m = g2.mask(pp) & bone
        paint(m, "disc")
    for pp in poly["coccyx"]:
        paint_bone(pp, 1.0)
    paint_bone(poly["symphysis"], 1.6)
    bone_tissue = tissue.copy()
    # vessels
    paint_poly(G["median_sacral"], "artery")
    if G.get("aorta") is not None:
        paint_poly(G["aorta"], "artery")
    paint_poly(G["iliac_vein"], "vein")
    for pp, kind in G["vessels"]:
        paint_poly(pp, kind)
    # peritoneal fluid, bowel loops
    if G["pfluid"] is not None:
        paint_poly(G["pfluid"], "pfluid")
    pz2 = None
    for lp in G["loops"]:
        mo = g2.mask(lp["outer"])
        paint(mo, "bowel_wall")
        mi = g2.mask(lp["inner"]) & mo
        kind = lp["kind"]
        if kind == "collapsed":
            paint(mi & (_depth(mi, smp) > 2.5), "mucus")
        elif kind == "level":  # air-fluid level: gas on the anterior (non-dependent) side
            if pz2 is None:
                pz2 = g2.pixel_z()
            paint(mi, "bowel_fluid")
            paint(mi & (pz2.real < lp["level_x"]), "gas")
        else:
            paint(mi, {"fluid": "bowel_fluid", "gas": "gas", "feces": "feces"}[kind])
    # organs: vagina, uterus
    vag = g2.mask(poly["vagina"])
    paint(vag, "vagina_wall", UTERUS_VAGINA)
    vl = g2.mask(poly["vagina_lumen"]) & vag
    paint(vl, "gel" if A["vagina"]["gel"] else "mucus", UTERUS_VAGINA)
    uv = vag.copy()
    if poly.get("uterus") is not None:
        ut = g2.mask(poly["uterus"])
        paint(ut, "myometrium", UTERUS_VAGINA)
        paint(g2.mask(poly["junctional"]) & ut, "junctional", UTERUS_VAGINA)
        paint(g2.mask(poly["endometrium"]) & ut, "endometrium", UTERUS_VAGINA)
        paint(g2.mask(poly["cervix_stroma"]) & ut, "cervix", UTERUS_VAGINA)
        paint(g2.mask(poly["cervical_canal"]) & ut, "mucus", UTERUS_VAGINA)
        for fp, bright in G["fibroids"]:
            fm = g2.mask(fp)
            paint(fm, "fibroid_bright" if bright else "fibroid", UTERUS_VAGINA)
            ut |= fm
        for npoly in G["nabothian"]:
            paint(g2.mask(npoly) & ut, "mucus", UTERUS_VAGINA)
        uv |= ut
    uv = _largest(uv)
    # rectum + sigmoid (moulded by the vagina/uterus, kept off the bones)
    keep_off = _dilate(uv, 1.5, smp) | _dilate(bone, 2.0, smp)
    R = A["rectum"]
    content = {"gel": "gel", "feces": "feces", "gas": "gas", "collapsed": "mucus"}[R["content"]]
    rect_region = _largest(g2.mask(poly["rectum"]) & ~keep_off)
    sig_region = g2.mask(poly["sigmoid"]) & ~keep_off & ~rect_region
    d = _depth(rect_region | sig_region, smp)  # one wall across the rectosigmoid cut
    for key, lab, region in (("sigmoid", 0, sig_region), ("rectum", RECTUM, rect_region)):
        paint(region, "rectal_wall", lab)
        lum = g2.mask(poly[key + "_lumen"]) & (d > 1.2) & region
        ctype = content if lab else ("feces" if R["content"] in ("gel", "feces") else "gas")
        if lab and R["content"] == "collapsed":
            ctype = "mucus"
        paint(lum, ctype, lab)
    # internal sphincter: the rectal wall of the anal canal
    rect = G["rect"]
    u_ac = G["rect_u"]["ac"]
    canal_poly = rect.strip(u_ac - 4, rect.length, R["r_canal"] - 0.5, R["r_canal"] - 0.5, 0, 0)
    cm = g2.mask(canal_poly) & rect_region & (tissue == TI["rectal_wall"])
    paint(cm & (_depth(rect_region, smp) > 1.2), "sphincter", RECTUM)
    # bladder (moulded by everything stiffer), then urethra
    bl = g2.mask(poly["bladder"])
    if poly["bladder_funnel"] is not None:
        bl |= g2.mask(poly["bladder_funnel"])
    off = (_dilate(uv | rect_region, 1.5, smp) | _dilate(bone, 3.0, smp)
           | _dilate(g2.mask(poly["rectus"]), 1.0, smp) | ~body
           | _dilate(g2.mask(poly["sigmoid"]), 1.5, smp) | g2.mask(poly["retro_vaginal"]))
    bl = _open(_largest(bl & ~off), 3.0, smp)  # soft organ: corners of the moulding rounded
    paint(bl, "bladder_wall", BLADDER)
    paint(bl & (_depth(bl, smp) > A["bladder"]["wall_mm"]), "urine", BLADDER)
    ur = g2.mask(poly["urethra"])
    paint(ur, "urethra")
    paint(g2.mask(poly["urethra_lumen"]) & ur, "mucus")
    paint(g2.mask(poly["natal_cleft"]) & body & (label == 0) & ~bone, "ligament")
    # gas bubbles in faeces
    fine = ndimage.gaussian_filter(rng.standard_normal(g2.shape).astype(np.float32), 1.5)
    fine /= fine.std() + 1e-9
    tissue[(tissue == TI["feces"]) & (fine > 1.6)] = TI["gas"]  # labels unchanged
    on_bone = bone & (label > 0)  # bones never carry an organ label
    tissue[on_bone] = bone_tissue[on_bone]
    label[on_bone] = 0
    tissue[~body] = TI["air"]  # nothing sticks out of the skin
    label[~body] = 0
    bone &= body
    return tissue, label, bone, body, g2, (pad_r, pad_c), rng


def _downsample(a):
    return 0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2])


def _majority(lab2):
    blocks = np.stack([lab2[0::2, 0::2], lab2[1::2, 0::2], lab2[0::2, 1::2], lab2[1::2, 1::2]])
    counts = np.stack([(blocks == k).sum(0) for k in range(len(ORGANS) + 1)])
    return np.argmax(counts, axis=0).astype(np.uint8)


def _clean_labels(lab):
    """Drop small detached fragments (< 5 % of an organ) left by resampling."""
    out = lab.copy()
    for k in range(1, len(ORGANS) + 1):
        m = lab == k
        cc, n = ndimage.label(m, structure=_EIGHT)
        if n <= 1:
            continue
        sizes = np.bincount(cc.ravel())
        sizes[0] = 0
        big = int(np.argmax(sizes))
        small = [i for i in range(1, n + 1) if i != big and sizes[i] < 0.05 * sizes.sum()]
        if small:
            out[np.isin(cc, small)] = 0
    return out


def _contrast(p, tissue, rng, g2):
    """Tissue levels, texture, fat/water handling per sequence family -> padded 1x image."""
    im = p["imaging"]
    seq = im["sequence"]
    water, ff, tc, tf, fat_level = _levels(p)
    smp = g2.sampling
    coarse = ndimage.gaussian_filter(rng.standard_normal(tissue.shape).astype(np.float32),
                                     im["texture_mm"][0] / smp[0])
    coarse /= coarse.std() + 1e-9
    fine = ndimage.gaussian_filter(rng.standard_normal(tissue.shape).astype(np.float32),
                                   im["texture_mm"][1] / smp[0])
    fine /= fine.std() + 1e-9
    mod = 1.0 + tc[tissue] * coarse + tf[tissue] * fine
    mod = np.clip(mod, 0.2, 2.5).astype(np.float32)
    w2 = ((1.0 - ff[tissue]) * water[tissue]).astype(np.float32) * mod
    f2 = (ff[tissue] * fat_level).astype(np.float32) * mod
    w1, f1 = _downsample(w2), _downsample(f2)
    hp, wp = w1.shape
    if seq == "truefisp":
        img = np.abs(w1 - f1)  # opposed-phase fat and water cancel inside border voxels
        if im["banding"]:
            r, c = np.mgrid[0:hp, 0:wp].astype(np.float32)
            rr = ((r - hp / 2) / hp) ** 2 + ((c - wp / 2) / wp) ** 2 * 1.3
            phase = 2 * np.pi * im["band_cycles"] * rr * 4.0
            dist = np.angle(np.exp(1j * (phase - np.pi)))
            img = img * (1.0 - im["band_depth"] * np.exp(-0.5 * (dist / 0.18) ** 2))
    elif seq == "t2_fatsat":
        r, c = np.mgrid[0:hp, 0:wp].astype(np.float32)
        edge = np.hypot((r - hp / 2) / (hp / 2), (c - wp / 2) / (wp / 2))
        resid = im["fs_residual"] + im["fs_edge"] * _smoothstep((edge - 0.45) / 0.6)
        img = w1 + f1 * resid
    else:
        img = w1 + ndimage.shift(f1, (im["chemical_shift_px"], 0.0), order=1, mode="nearest")
    img = ndimage.gaussian_filter(img, im["blur_px"])
    if im["gibbs_keep"] < 1.0:  # k-space truncation along the phase-encoding direction
        k = np.fft.fft(img, axis=1)
        f = np.abs(np.fft.fftfreq(wp))
        k[:, f > 0.5 * im["gibbs_keep"]] = 0
        img = np.abs(np.fft.ifft(k, axis=1))
    return img.astype(np.float32)


# ----------------------------------------------------------------------------- motion
def _poisson_1d(n: int, load: np.ndarray, tension: np.ndarray) -> np.ndarray:
    """(T w')' = -q on a uniform grid of n points, w = 0 at both ends (clamped)."""
    tm = 0.5 * (tension[:-1] + tension[1:])  # between nodes
    main = tm[:-1] + tm[1:]
    off = -tm[1:-1]
    mat = sparse.diags([off, main, off], [-1, 0, 1], format="csc")
    w = np.zeros(n)
    w[1:-1] = sparse.linalg.spsolve(mat, load[1:-1])
    return w


def _harmonic(dirichlet: np.ndarray, values: list[np.ndarray]) -> list[np.ndarray]:
    """Solve Laplace's equation on a grid (Neumann at the grid edges) for each set of
    complex Dirichlet values; returns complex fields."""
    nr, nc = dirichlet.shape
    idx = np.arange(nr * nc).reshape(nr, nc)
    e = np.vstack([np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()],
                   np.c_[idx[:-1, :].ravel(), idx[1:, :].ravel()]])
    n = nr * nc
    adj = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    adj = (adj + adj.T).tocsr()
    deg = np.asarray(adj.sum(1)).ravel()
    lap = (sparse.diags(deg) - adj).tocsr()
    d = dirichlet.ravel()
    un = ~d
    luu = lap[un][:, un] + sparse.identity(int(un.sum())) * 1e-9
    lud = lap[un][:, d]
    lu = splu(luu.tocsc())
    rhs = np.column_stack([-(lud @ v.ravel()[d]) for v in values])
    sol_r = lu.solve(np.ascontiguousarray(rhs.real))
    sol_i = lu.solve(np.ascontiguousarray(rhs.imag))
    out = []
    for k, v in enumerate(values):
        f = v.ravel().astype(complex).copy()
        f[un] = sol_r[:, k] + 1j * sol_i[:, k]
        out.append(f.reshape(nr, nc))
    return out


def _modes(p: dict, G: dict, place: dict, bone1: np.ndarray, body1: np.ndarray, pads):
    """Displacement modes (complex, image mm, backward) on the output pixel grid."""
    Mo = p["motion"]
    h, w = p["matrix"]
    dr, dc = p["spacing_mm"]
    pad_r, pad_c = pads
    hp, wp = bone1.shape
    rot = place["R"] / abs(place["R"])
    f = max(1, int(round(4.0 / min(dr, dc))))
    nr, nc = (hp + f - 1) // f, (wp + f - 1) // f
    pr = np.pad(bone1, ((0, nr * f - hp), (0, nc * f - wp)))
    bone_c = pr.reshape(nr, f, nc, f).any(axis=(1, 3))
    pb = np.pad(body1, ((0, nr * f - hp), (0, nc * f - wp)), mode="edge")
    body_c = pb[::f, ::f]
    gc = Raster((nr, nc), place["O"], place["R"], dr * f, dc * f, pad_r / f, pad_c / f)
    za = gc.pixel_z()
    D = bone_c.copy()
    vP, vS, vB = (np.zeros((nr, nc), complex) for _ in range(3))
    peak = Mo["membrane_peak_mm"]
    e_pcl = _unit(G["points"]["C"])
    n_pcl = 1j * e_pcl if (1j * e_pcl).imag > 0 else -1j * e_pcl
    dir_p = n_pcl * _e(-Mo["descent_tilt_deg"] + 90) / _e(90)
    dir_s = -n_pcl * _e(-Mo["squeeze_tilt_deg"] + 90) / _e(90)
    outside = ~body_c & ~bone_c
    # outside the body: the back and the table stay, the abdominal wall bulges forward, the
    # perineum descends; blended smoothly by position
    w_post = _smoothstep((za.real - 30.0) / 80.0)
    w_ant = (1 - w_post) * _smoothstep((-za.imag - 0.0) / 50.0)
    w_low = (1 - w_post) * (1 - _smoothstep((-za.imag - 0.0) / 50.0)) \
        * _smoothstep((za.real + 5.0) / 35.0)
    D |= outside
    wall_v = rot * (-Mo["wall_mm"] + 0.3j * Mo["top_push"] * peak)
    per_v = rot * (1j + 0.2) * Mo["perineal_descent"] * peak
    vP[outside] = (w_ant * wall_v + w_low * per_v)[outside]
    vB[outside] = (w_ant * rot * (-0.5 + 0.2j) * Mo["breath_mm"])[outside]
    vS[outside] = (w_low * rot * (-0.5j * Mo["squeeze_lift_mm"]))[outside]
    top = np.zeros_like(D)
    top[0, :] = body_c[0, :] & ~bone_c[0, :]
    D |= top
    vP[top] = rot * (1j * Mo["top_push"] * peak)
    vB[top] = rot * (Mo["breath_mm"] * (1j - 0.15))
    # the membrane: (T w')' = -P with clamped ends, tension lower in the hiatus when lax
    mem = G["membrane"]
    ns = 200
    su = np.linspace(0, mem.length, ns)
    u_arj = mem.u_near(G["points"]["A_post"])
    lax = p["anatomy"]["laxity"]
    ten = 1.0 - 0.5 * lax * np.exp(-0.5 * ((su - 0.55 * u_arj) / (0.25 * mem.length)) ** 2)
    wp_ = _poisson_1d(ns, np.ones(ns), ten)
    wp_ *= peak / max(wp_.max(), 1e-9)
    ws_ = _poisson_1d(ns, np.exp(-0.5 * ((su - u_arj) / (0.18 * mem.length)) ** 2), np.ones(ns))
    ws_ *= Mo["squeeze_lift_mm"] / max(ws_.max(), 1e-9)
    fine_u = np.linspace(0, mem.length, int(mem.length * 3))
    r_, c_ = gc.rc(mem.at(fine_u)[0])
    ri, ci = np.round(r_).astype(int), np.round(c_).astype(int)
    ok = (ri >= 0) & (ri < nr) & (ci >= 0) & (ci < nc)
    ri, ci = ri[ok], ci[ok]
    wpf, wsf = np.interp(fine_u, su, wp_)[ok], np.interp(fine_u, su, ws_)[ok]
    acc_p = np.zeros((nr, nc), complex)
    acc_s = np.zeros((nr, nc), complex)
    cnt = np.zeros((nr, nc))
    np.add.at(acc_p, (ri, ci), wpf * rot * dir_p)
    np.add.at(acc_s, (ri, ci), wsf * rot * dir_s)
    np.add.at(cnt, (ri, ci), 1)
    mm = (cnt > 0) & ~bone_c
    D |= mm
    vP[mm] = acc_p[mm] / cnt[mm]
    vS[mm] = acc_s[mm] / cnt[mm]
    vB[mm] = 0
    for v in (vP, vS, vB):
        v[bone_c] = 0
    fP, fS, fB = _harmonic(D, [vP, vS, vB])
    # up-sample to the output grid (padded coordinates of output pixels)
    r, c = np.mgrid[0:h, 0:w].astype(np.float64)
    rr, cc = (r + pad_r) / f, (c + pad_c) / f

    def up(fld):
        return (ndimage.map_coordinates(fld.real, [rr, cc], order=1, mode="nearest")
                + 1j * ndimage.map_coordinates(fld.imag, [rr, cc], order=1, mode="nearest"))

    sig = (3.0 / dr, 3.0 / dc)
    modes = {k: ndimage.gaussian_filter(up(fl).real, sig) + 1j * ndimage.gaussian_filter(
        up(fl).imag, sig) for k, fl in (("P", fP), ("S", fS), ("B", fB))}
    # local fields on the output grid, in body coordinates
    go = Raster((h, w), place["O"], place["R"], dr, dc, 0.0, 0.0)
    zo = go.pixel_z()
    sc = place["scale"]

    def gauss(center, sigma):
        return np.exp(-0.5 * (np.abs(zo - center) * sc / sigma) ** 2)

    pts = G["points"]
    br = G["bladder_r"]
    vag = G["vag"]
    cyst_dir = _unit(-vag.tangent(vag.length * 0.6) + 0.6j)
    # bulges are centred where the displaced tissue arrives (the map is backward)
    cyst_c = pts["N"] + 0.3 * (pts["bladder_c"] - pts["N"]) + 0.5 * Mo["cystocele_mm"] * cyst_dir
    modes["cyst"] = Mo["cystocele_mm"] * gauss(cyst_c, max(12.0, 0.5 * br * sc)) * rot * cyst_dir
    pro_dir = -vag.tangent(vag.length)
    pro_c = pts.get("O", pts["Tv"]) + 0.5 * Mo["prolapse_mm"] * pro_dir
    modes["prolapse"] = Mo["prolapse_mm"] * gauss(pro_c, 20.0) * rot * pro_dir
    rect = G["rect"]
    u_ac = G["rect_u"]["ac"]
    ur = u_ac - 14.0
    r_here = p["anatomy"]["rectum"]["r_ampulla"] * 0.85
    lft = rect.left(ur)
    ant_n = lft if lft.real < 0 else -lft
    rc_dir = _unit(ant_n + 0.35j)
    rc_c = rect.point(ur) + ant_n * r_here * 0.8 + 0.5 * Mo["rectocele_mm"] * rc_dir
    modes["rectocele"] = Mo["rectocele_mm"] * gauss(rc_c, 11.0) * rot * rc_dir
    # defecation: radial contraction of the ampulla, opening of the anal canal
    ra = p["anatomy"]["rectum"]["r_ampulla"]
    u1, u_cut = G["rect_u"]["r1"], G["rect_u"]["cut"]
    us = np.arange(u_cut, u_ac - 2.0, 2.0)
    win = _smoothstep((us - u1 + 15) / 15) * (1 - _smoothstep((us - u_ac + 12) / 8))
    modes["empty"] = -Mo["emptying"] * _tube_radial(zo, rect.at(us)[0], win, 1.2 * ra) \
        * sc * rot
    us = np.arange(u_ac - 6.0, rect.length + 4.0, 1.0)
    win = _smoothstep((us - u_ac + 6) / 6)
    rc_ = p["anatomy"]["rectum"]["r_canal"]
    cz = rect.at(us)[0]
    modes["open"] = Mo["canal_opening"] * _tube_radial(zo, cz, win, 0.9 * rc_) * sc * rot \
        + 4.0 * Mo["canal_opening"] * rot * rect.tangent(rect.length) \
        * np.abs(_tube_radial(zo, cz, win, rc_ + 3, weight_only=True))
    # peristalsis in the abdomen
    top_z = pts["Pm"] + (pts["bladder_c"] - pts["Pm"]) * 0.5 - 60j
    for k, pk in enumerate(Mo["peristalsis"]):
        cz_k = top_z + complex(pk["pos"][0] * 80, -pk["pos"][1] * 80)
        modes[f"peri{k}"] = pk["mm"] * gauss(cz_k, 25.0) * rot * _e(pk["dir_deg"])
    # rigid bones
    bone_o = bone1[pad_r:pad_r + h, pad_c:pad_c + w]
    dist_b = ndimage.distance_transform_edt(~bone_o, sampling=(dr, dc))
    rig = np.clip(dist_b / 4.0, 0.0, 1.0)
    rig_local = _smoothstep(dist_b / 10.0)  # local bulges fade out more gently at bones
    for k in modes:
        modes[k] = (modes[k] * (rig if k in ("P", "S", "B") else rig_local)).astype(np.complex64)
    return modes


def _tube_radial(zo, pts, win, sigma, weight_only=False):
    """Smooth radial field around a polyline, minus the gradient of a sum of Gaussians:
    sum_k a_k (p - c_k) exp(-|p - c_k|^2 / 2 sigma^2) ds / (sqrt(2 pi) sigma), which is
    a_k r exp(-r^2 / 2 sigma^2) along the normal near a straight piece of the line."""
    out = np.zeros(zo.shape, complex)
    xs = np.min(pts.real) - 4 * sigma, np.max(pts.real) + 4 * sigma
    ys = np.min(pts.imag) - 4 * sigma, np.max(pts.imag) + 4 * sigma
    sel = (zo.real > xs[0]) & (zo.real < xs[1]) & (zo.imag > ys[0]) & (zo.imag < ys[1])
    z = zo[sel]
    if z.size == 0:
        return out
    d = z[:, None] - pts[None, :]
    k = np.exp(-0.5 * np.abs(d) ** 2 / sigma ** 2) * win[None, :]
    ds = float(np.median(np.abs(np.diff(pts)))) if len(pts) > 1 else 1.0
    norm = ds / (math.sqrt(2 * np.pi) * sigma)
    out[sel] = (k.sum(1) if weight_only else (k * d).sum(1)) * norm
    return out


def _curves(p: dict, times: np.ndarray) -> dict:
    Mo = p["motion"]
    out = {k: np.zeros(len(times)) for k in ("P", "S", "E")}
    for ev in Mo["events"]:
        if ev["channel"] in ("P", "S"):
            t = times - ev["t0"]
            upc = _smoothstep(t / max(ev["ramp"], 1e-3))
            down = 1 - _smoothstep((t - ev["ramp"] - ev["hold"]) / max(ev["release"], 1e-3))
            out[ev["channel"]] += ev["amp"] * upc * down
        elif ev["channel"] == "C":  # cough: a fast spike, snapped onto a frame
            tc = times[int(np.argmin(np.abs(times - ev["t"])))]
            out["P"] += ev["amp"] * np.exp(-0.5 * ((times - tc) / 0.3) ** 2)
        elif ev["channel"] == "E":
            out["E"] += ev["amp"] * _smoothstep((times - ev["t0"]) / max(ev["dur"], 1e-3))
    out["P"] = np.clip(out["P"], 0, 1.2)
    out["S"] = np.clip(out["S"], 0, 1.2)
    out["E"] = np.clip(out["E"], 0, 1.0)
    out["O"] = out["P"] * np.clip(out["E"] / 0.3, 0, 1)
    out["B"] = np.sin(2 * np.pi * times / Mo["breath_period_s"] + Mo["breath_phase"])
    for k, pk in enumerate(Mo["peristalsis"]):
        out[f"peri{k}"] = np.sin(2 * np.pi * times / pk["period_s"] + pk["phase"])
    return out


def _field(modes: dict, cur: dict, i: int, bulge_scale: float) -> np.ndarray:
    P, S = cur["P"][i], cur["S"][i]
    u = P * modes["P"] + S * modes["S"] + cur["B"][i] * modes["B"]
    u = u + bulge_scale * (P * (modes["cyst"] + modes["prolapse"] + modes["rectocele"])
                           + cur["E"][i] * modes["empty"] + cur["O"][i] * modes["open"])
    for k in range(3):
        u = u + cur[f"peri{k}"][i] * modes[f"peri{k}"]
    return u


def _min_jacobian(u: np.ndarray, dr: float, dc: float, where: np.ndarray) -> float:
    ux, uy = u.real / dc, u.imag / dr  # pixels
    dux_dr, dux_dc = np.gradient(ux)
    duy_dr, duy_dc = np.gradient(uy)
    det = (1 - dux_dc) * (1 - duy_dr) - dux_dr * duy_dc
    return float(det[where].min()) if where.any() else float(det.min())


# ----------------------------------------------------------------------------- imaging
def _coils(p: dict, G: dict, place: dict, rng) -> np.ndarray:
    im = p["imaging"]
    h, w = p["matrix"]
    dr, dc = p["spacing_mm"]
    n = im["n_coils"]
    n_ant = int(np.clip(round(n * im["coil_anterior_fraction"]), 1, n - 1))
    r, c = np.mgrid[0:h, 0:w].astype(np.float32)
    zi = c * dc + 1j * r * dr
    to_img = lambda z: place["O"] + place["R"] * z  # noqa: E731
    x_ant = G["x_front_skin"] - 25.0
    x_post = G["x_back"] + 20.0
    ys_a = np.linspace(-170, 40, n_ant) + rng.uniform(-15, 15, n_ant)
    ys_p = np.linspace(-170, 40, n - n_ant) + rng.uniform(-15, 15, n - n_ant)
    pos = [to_img(complex(x_ant, y)) for y in ys_a] + [to_img(complex(x_post, y)) for y in ys_p]
    reach = im["coil_reach_mm"]
    sens = np.empty((n, h, w), np.complex64)
    for k, pc in enumerate(pos):
        d2 = np.abs(zi - pc) ** 2
        kx, ky = rng.normal(0, 0.01, 2)
        ph = kx * zi.real + ky * zi.imag + rng.uniform(0, 2 * np.pi)
        sens[k] = (1.0 / (1.0 + d2 / reach ** 2)) * np.exp(1j * ph)
    return sens


def generate(seed: int, matrix=None, n_frames=None):
    """One case: (CineSeries, truth uint8 (T, H, W), params dict)."""
    p = sample_params(seed, matrix, n_frames)
    G = build_geometry(p)
    place = _place(p, G)
    tissue2, label2, bone2, body2, g2, pads, rng = _render_rest(p, G, place)
    img_p = _contrast(p, tissue2, rng, g2)
    lab_p = _clean_labels(_majority(label2))
    bone1 = _downsample(bone2.astype(np.float32)) > 0.49
    body1 = _downsample(body2.astype(np.float32)) > 0.49
    h, w = p["matrix"]
    dr, dc = p["spacing_mm"]
    pad_r, pad_c = pads
    t_n = p["n_frames"]
    times = np.arange(t_n) * p["frame_interval_s"]
    modes = _modes(p, G, place, bone1, body1, pads)
    cur = _curves(p, times)
    # keep the backward map one-to-one: shrink the membrane modes, then the local bulges,
    # where the Jacobian of the map would get small
    body_o = body1[pad_r:pad_r + h, pad_c:pad_c + w]
    floor = {}
    for key in ("P", "S"):
        amp = max(float(cur[key].max()), 0.3)
        floor[key] = 1.0
        for _ in range(10):
            if _min_jacobian(amp * floor[key] * modes[key], dr, dc, body_o) > 0.25:
                break
            floor[key] *= 0.85
        modes[key] = modes[key] * np.float32(floor[key])
    bulge = 1.0
    peak_i = int(np.argmax(cur["P"] + cur["E"] + cur["S"]))
    for _ in range(8):
        if _min_jacobian(_field(modes, cur, peak_i, bulge), dr, dc, body_o) > 0.1:
            break
        bulge *= 0.75
    r, c = np.mgrid[0:h, 0:w].astype(np.float32)
    frames_clean = np.empty((t_n, h, w), np.float32)
    truth = np.empty((t_n, h, w), np.uint8)
    for i in range(t_n):
        u = _field(modes, cur, i, bulge)
        sr = r + pad_r - u.imag / dr
        sc = c + pad_c - u.real / dc
        frames_clean[i] = ndimage.map_coordinates(img_p, [sr, sc], order=1, mode="nearest")
        truth[i] = _clean_labels(ndimage.map_coordinates(lab_p, [sr, sc], order=0,
                                                         mode="nearest"))
    frames = _acquire(p, G, place, frames_clean, body_o)
    meta = {"series_description": p["imaging"]["series_description"],
            "subject_id": f"{GENERATOR}_{seed:03d}", "orientation": "sagittal (canonical)",
            "format": "synthetic", "patient_id": f"{GENERATOR}_{seed:03d}"}
    series = CineSeries(frames=frames, spacing_mm=(dr, dc), times_s=times, meta=meta)
    p["placement"] = {"scale": place["scale"], "tilt_deg": place["tilt_deg"],
                      "origin_mm": [place["O"].real, place["O"].imag],
                      "fits": place["fits"]}
    p["motion"]["bulge_scale"] = bulge
    p["motion"]["membrane_scale"] = floor
    p["anatomy"]["uterus_delta_final_deg"] = G.get("uterus_delta_deg")
    p["anatomy"]["uterus_version_final"] = G.get("uterus_version", "none")
    p["anatomy"]["bowel_loops_placed"] = G["placed_loops"]
    p["times_s"] = [float(t) for t in times]
    return series, truth, p


def _acquire(p, G, place, clean, body_o) -> np.ndarray:
    """Coils, noise, g-factor, ghosts, intensity scale."""
    im = p["imaging"]
    rng = np.random.default_rng([p["seed"], 0xC011])
    t_n, h, w = clean.shape
    sens = _coils(p, G, place, rng)
    ss = np.sqrt((np.abs(sens) ** 2).sum(0)).astype(np.float32)
    ref = clean[0][body_o] * ss[body_o] if body_o.any() else clean[0].ravel() * ss.ravel()
    sigma = float(np.median(ref[ref > 0.05 * ref.max()])) / im["snr"] if ref.size else 0.01
    g = np.ones((h, w), np.float32)
    if im["sense"]:
        r, c = np.mgrid[0:h, 0:w].astype(np.float32)
        g = 1.0 + (im["g_max"] - 1.0) * np.exp(-0.5 * (((c - w / 2) / (0.22 * w)) ** 2
                                                      + ((r - h / 2) / (0.35 * h)) ** 2))
    norm = ss ** im["prescan_normalise"]
    out = np.empty_like(clean)
    nc = sens.shape[0]
    for i in range(t_n):
        m = clean[i]
        if im["sense"]:
            m = m + im["foldover_ghost"] * np.roll(m, w // 2, axis=1)
        if im["pe_ghost"] > 0:
            sh = w // 3
            m = m + im["pe_ghost"] * (np.roll(m, sh, axis=1) + np.roll(m, -sh, axis=1))
        noise = rng.standard_normal((nc, h, w, 2), dtype=np.float32)
        coil = sens * m + (sigma * g) * (noise[..., 0] + 1j * noise[..., 1])
        out[i] = np.sqrt((np.abs(coil) ** 2).sum(0)) / norm
    top = float(np.percentile(out, 99.5))
    out *= im["intensity_max"] / max(top, 1e-9)
    if im["integer"]:
        out = np.clip(np.rint(out), 0, 65535)
    return out.astype(np.float32)


# ----------------------------------------------------------------------------- command line
def write_case(job) -> str:
    seed, out = job
    series, truth, params = generate(int(seed))
    case_dir = Path(out) / f"{GENERATOR}_{int(seed):03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=int(seed),
                       patient_name=f"{GENERATOR.upper()}^{int(seed):03d}",
                       patient_id=f"{GENERATOR}_{int(seed):03d}",
                       slice_thickness_mm=params["imaging"]["slice_thickness_mm"])
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    h, w = params["matrix"]
    return (f"{case_dir.name}: {params['imaging']['sequence']} {params['motion']['maneuver']} "
            f"{truth.shape[0]}x{h}x{w} hyst={params['hysterectomy']} "
            f"fill={params['anatomy']['bladder']['fill']:.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="2000-2029", help="e.g. 2000-2029 or 1,5,7")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(s, args.out) for s in parse_seeds(args.seeds)]
    for line in map_jobs(write_case, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
