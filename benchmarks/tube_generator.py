"""Tube phantom: dynamic mid-sagittal female pelvic MRI drawn from swept tubes, with exact truth.

How a case is made
------------------
1. Every random choice of a case (matrix, spacing, frames, anatomy, manoeuvre, sequence,
   scanner chain) is drawn from ``np.random.default_rng(seed)`` first (``case_params`` is
   that cheap, parameter-only path); rendering uses fixed derived streams, so one seed
   always gives bit-identical output and ``matrix`` / ``n_frames`` do not change the case.
2. Anatomy is built in body millimetres (u = anterior→posterior, v = cranial→caudal,
   origin at the inferior-posterior margin of the pubic symphysis).  Nearly every structure
   is a *swept tube*: a centripetal Catmull-Rom centerline through 2-11 control points with
   an anterior and a posterior half-width profile along it, rasterised as the union of
   discs along the curve (or, for vertebrae, as the ribbon of perpendicular segments) on a
   2x oversampled grid.  The bladder is a short, very wide sweep whose width goes to zero at
   the neck; the uterus a tapered sweep (cervix narrow, fundus wide) with myometrium,
   junctional zone, endometrium, cervical stroma and canal as inner sweeps and fibroid
   discs attached in tube coordinates; vagina and rectum/anal canal are long sweeps with a
   wall and a lumen (collapsed, gel- or stool-filled); the sigmoid continues the rectal
   centerline above the rectosigmoid cut; small-bowel loops are random meandering sweeps;
   sacrum/coccyx, symphysis, spinal canal, vessels, levator plate, sphincters, rectus
   muscle are sweeps too.  Organs touching each other deform: the discs of the yielding
   organ shrink with their far side kept (bladder yields to uterus/vagina and bone, rectum
   to vagina/uterus and sacrum), so labels stay exclusive and one piece.
3. Motion is kinematics of the centerlines: per frame the control points rotate about the
   symphysis and descend along a posterior-inferior direction with per-compartment gains
   (laxity, cystocele / uterine prolapse / rectocele severity) driven by the case's
   manoeuvre curve (Valsalva, squeeze, cough, defecation or squeeze + Valsalva; always at
   rest in frame 0); width profiles change (bladder base bulge, anterior rectal bulge,
   rectal emptying and anal canal opening in defecation).  Breathing moves the small bowel
   and the organ tops slightly; bones and the body outline stay fixed.  Each frame is
   re-rasterised from the moved tubes in painter's order into one tissue map, from which
   both the image and the labels are made, so the truth matches the image exactly.
4. Imaging: tissue intensities for T2 single-shot FSE (HASTE), balanced SSFP (TrueFISP,
   water and fat added with opposite phase so that fat-water boundaries turn dark, optional
   off-resonance banding), T1 GRE (optionally opposed-phase) or PD FSE, each with or
   without fat suppression and per-case random tissue levels, tissue texture and
   chemical shift.  The 2x map is averaged down (partial volume), then acquired per
   receive coil (smooth complex sensitivities near anterior / posterior coil arrays) at
   60-90 % resolution in the phase direction by k-space truncation (Gibbs ringing), with
   complex Gaussian noise (SNR 4-40, Rician for one coil, non-central chi for several),
   reconstructed by zero-filled Fourier or bicubic interpolation, combined root-sum-of-
   squares; occasional phase-direction ghosts; then vendor-like post-processing: unsharp
   mask, partial intensity normalisation (division by a heavily smoothed image), gamma /
   window, clipping of the brightest 0-1 % and 12-bit quantisation, sometimes a float
   rescale.

Orientation: frames (T, H, W); row 0 is cranial (head) and rows run towards the feet;
column 0 is anterior (belly) and the last column posterior (back).  Pixel spacing is
square (1.1-1.5 mm) at the default 224-288 matrix; with ``matrix`` given the same field of
view in mm is kept.

Labels (truth uint8, same shape as the frames): 0 background, 1 bladder, 2 uterus_vagina,
3 rectum (order of ``core.organs.ORGANS``).  Bladder = wall + urine down to the bladder
neck (urethra not labelled).  uterus_vagina = uterine body (myometrium, endometrium,
fibroids incl. subserosal ones), cervix and vagina (walls + lumen / gel) down to the
introitus at the perineal skin; after hysterectomy (~20 %) the vagina only, closed by a
rounded cuff.  Rectum = rectum and anal canal (wall + content) from the rectosigmoid cut
(perpendicular to the bowel axis where it leaves the sacral curve at about S3) down to the
anal verge; external sphincter and sigmoid are not labelled.  Bones never carry a label.

Usage: ``python benchmarks/tube_generator.py --seeds 2000-2029 --out DIR [--workers N]``
writes ``DIR/tube_<seed>/`` with ``series/`` (DICOM), ``truth.npy`` and ``params.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import fft as sfft
from scipy import ndimage
from skimage.draw import polygon as draw_polygon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "tube"
LABELS = {name: i + 1 for i, name in enumerate(ORGANS)}
BLADDER, UTVAG, RECTUM = LABELS["bladder"], LABELS["uterus_vagina"], LABELS["rectum"]

# ----------------------------------------------------------------------------- tissues
TISSUES = (
    "air", "fat", "skin", "muscle", "cortex", "marrow", "disc", "csf", "vessel",
    "bowel_wall", "bowel_fluid", "chyme", "gas", "stool", "urine", "bladder_wall",
    "myometrium", "junctional_zone", "endometrium", "cervical_stroma", "fibroid",
    "vaginal_wall", "gel", "mucus", "rectal_wall", "internal_sphincter", "urethra",
    "fibrous", "free_fluid", "cartilage",
)
T = {name: i for i, name in enumerate(TISSUES)}
#: per tissue: HASTE, bSSFP, T1 GRE, PD FSE relative signal, fat fraction, texture amplitude
_BASE = {
    "air": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "fat": (0.58, 0.80, 0.95, 0.80, 1.0, 0.04),
    "skin": (0.42, 0.45, 0.60, 0.60, 0.3, 0.06),
    "muscle": (0.14, 0.20, 0.36, 0.38, 0.0, 0.07),
    "cortex": (0.02, 0.03, 0.03, 0.04, 0.0, 0.0),
    "marrow": (0.50, 0.60, 0.78, 0.70, 0.7, 0.14),
    "disc": (0.55, 0.50, 0.30, 0.55, 0.0, 0.08),
    "csf": (1.00, 1.00, 0.08, 0.75, 0.0, 0.02),
    "vessel": (0.08, 0.95, 0.65, 0.15, 0.0, 0.05),
    "bowel_wall": (0.30, 0.35, 0.42, 0.45, 0.0, 0.08),
    "bowel_fluid": (0.92, 0.88, 0.12, 0.70, 0.0, 0.05),
    "chyme": (0.50, 0.55, 0.45, 0.55, 0.0, 0.25),
    "gas": (0.01, 0.01, 0.01, 0.01, 0.0, 0.0),
    "stool": (0.38, 0.50, 0.50, 0.55, 0.1, 0.35),
    "urine": (1.00, 0.95, 0.07, 0.72, 0.0, 0.02),
    "bladder_wall": (0.20, 0.28, 0.38, 0.42, 0.0, 0.06),
    "myometrium": (0.45, 0.45, 0.38, 0.55, 0.0, 0.07),
    "junctional_zone": (0.18, 0.28, 0.36, 0.45, 0.0, 0.05),
    "endometrium": (0.82, 0.62, 0.32, 0.62, 0.0, 0.06),
    "cervical_stroma": (0.15, 0.25, 0.36, 0.40, 0.0, 0.05),
    "fibroid": (0.12, 0.22, 0.36, 0.38, 0.0, 0.15),
    "vaginal_wall": (0.30, 0.33, 0.40, 0.48, 0.0, 0.07),
    "gel": (0.95, 0.90, 0.10, 0.72, 0.0, 0.03),
    "mucus": (0.62, 0.55, 0.30, 0.60, 0.0, 0.05),
    "rectal_wall": (0.28, 0.32, 0.40, 0.45, 0.0, 0.07),
    "internal_sphincter": (0.36, 0.36, 0.42, 0.50, 0.0, 0.06),
    "urethra": (0.26, 0.30, 0.40, 0.45, 0.0, 0.06),
    "fibrous": (0.10, 0.16, 0.32, 0.30, 0.0, 0.05),
    "free_fluid": (0.96, 0.92, 0.08, 0.70, 0.0, 0.02),
    "cartilage": (0.32, 0.35, 0.34, 0.45, 0.0, 0.05),
}
SEQUENCES = ("haste", "bssfp", "t1_gre", "pd_fse")
_SEQ_COL = {s: i for i, s in enumerate(SEQUENCES)}
_DESCRIPTION = {
    "haste": "TUBE dyn sag HASTE",
    "bssfp": "TUBE dyn sag TrueFISP (bssfp)",
    "t1_gre": "TUBE dyn sag FLASH (t1)",
    "pd_fse": "TUBE dyn sag PD SSFSE",
}
MANEUVERS = ("valsalva", "squeeze", "cough", "defecation", "squeeze_valsalva")
PIVOT = np.array([-8.0, -21.0])  # about the symphysis centre (body mm)
#: descent directions (posterior-inferior) of the anterior, middle and posterior compartments
_DESC_DIR = {k: np.array([math.sin(math.radians(a)), math.cos(math.radians(a))])
             for k, a in (("ant", 25.0), ("mid", 20.0), ("post", 8.0))}


# ------------------------------------------------------------------------- geometry
def _unit(v):
    v = np.asarray(v, float)
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else np.array([0.0, -1.0])


def _dir(angle_deg: float) -> np.ndarray:
    """Unit vector pointing up (cranial), rotated by ``angle_deg`` towards anterior."""
    a = math.radians(angle_deg)
    return np.array([-math.sin(a), -math.cos(a)])


def _rot(phi: float) -> np.ndarray:
    c, s = math.cos(phi), math.sin(phi)
    return np.array([[c, -s], [s, c]])


def _catmull(points: np.ndarray, closed: bool = False, per_seg: int = 28):
    """Dense centripetal Catmull-Rom polyline through ``points`` and its parameter
    (control-point index, fractional)."""
    p = np.asarray(points, float)
    n = len(p)
    if closed:
        ext = np.vstack([p[-1], p, p[0], p[1]])
        nseg = n
    else:
        ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
        nseg = n - 1
    p0, p1, p2, p3 = (ext[k:k + nseg][:, None, :] for k in range(4))
    d01 = np.maximum(np.hypot(*(p1 - p0)[:, 0].T), 1e-3) ** 0.5
    d12 = np.maximum(np.hypot(*(p2 - p1)[:, 0].T), 1e-3) ** 0.5
    d23 = np.maximum(np.hypot(*(p3 - p2)[:, 0].T), 1e-3) ** 0.5
    t0 = np.zeros(nseg)[:, None, None]
    t1 = d01[:, None, None]
    t2 = t1 + d12[:, None, None]
    t3 = t2 + d23[:, None, None]
    u = np.linspace(0.0, 1.0, per_seg, endpoint=False)[None, :, None]
    t = t1 + u * (t2 - t1)
    a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
    a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
    a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
    b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
    b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
    c = ((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2).reshape(-1, 2)
    prm = (np.arange(nseg)[:, None] + u[0, :, 0][None, :]).ravel()
    if not closed:
        c = np.vstack([c, p[-1:]])
        prm = np.r_[prm, n - 1.0]
    return c, prm


def _centerline(points, step: float):
    """Arc-length resampled centerline: positions (k,2), unit tangents, parameter."""
    dense, prm = _catmull(points)
    seg = np.hypot(*np.diff(dense, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    total = float(cum[-1])
    n = max(3, int(math.ceil(total / step)) + 1)
    s = np.linspace(0.0, total, n)
    c = np.c_[np.interp(s, cum, dense[:, 0]), np.interp(s, cum, dense[:, 1])]
    q = np.interp(s, cum, prm)
    t = np.gradient(c, axis=0)
    nt = np.hypot(t[:, 0], t[:, 1])
    bad = nt < 1e-9
    t[bad] = (0.0, -1.0)
    nt[bad] = 1.0
    return c, t / nt[:, None], q


class Discs:
    """Discs of one tube layer: centres (k,2) body mm, radii (k,), parameter (k,)."""

    def __init__(self, c, r, q):
        self.c = np.asarray(c, float)
        self.r = np.asarray(r, float)
        self.q = np.asarray(q, float)

    def select(self, lo=-np.inf, hi=np.inf, dr=0.0, rmax=None) -> Discs:
        m = (self.q >= lo) & (self.q <= hi)
        r = self.r[m] - dr
        if rmax is not None:
            r = np.minimum(r, rmax)
        return Discs(self.c[m], r, self.q[m])

    def const(self, radius: float, cap: float = 0.0) -> Discs:
        r = np.full(len(self.r), float(radius))
        if cap:
            r = np.minimum(r, self.r - cap)
        return Discs(self.c, r, self.q)

    @staticmethod
    def cat(*ds: Discs) -> Discs:
        ds = [d for d in ds if d is not None and len(d.r)]
        if not ds:
            return Discs(np.zeros((0, 2)), np.zeros(0), np.zeros(0))
        return Discs(np.vstack([d.c for d in ds]), np.concatenate([d.r for d in ds]),
                     np.concatenate([d.q for d in ds]))


class Tube:
    """A swept tube: control points, knots (in control-point parameter) and named
    half-width profiles (anterior ``a``, posterior ``b``)."""

    def __init__(self, pts, knots=None, **profiles):
        self.pts = np.asarray(pts, float)
        self.knots = (np.arange(len(self.pts), dtype=float) if knots is None
                      else np.asarray(knots, float))
        self.profiles = {k: (np.asarray(v[0], float), np.asarray(v[1], float))
                         for k, v in profiles.items()}

    def sample(self, step: float, extra=None):
        """Centerline and one :class:`Discs` per profile.  ``extra`` maps a profile name to
        (da(q), db(q)) callables adding to the half-widths."""
        c, t, q = _centerline(self.pts, step)
        nrm = np.c_[t[:, 1], -t[:, 0]]  # anterior side for a tube drawn caudal → cranial
        out = {}
        for name, (a, b) in self.profiles.items():
            aa = np.interp(q, self.knots, a)
            bb = np.interp(q, self.knots, b)
            if extra and name in extra:
                fa, fb = extra[name]
                aa = aa + fa(q)
                bb = bb + fb(q)
            aa = np.maximum(aa, 0.0)
            bb = np.maximum(bb, 0.0)
            out[name] = Discs(c + nrm * ((aa - bb) / 2)[:, None], (aa + bb) / 2, q)
        return c, t, nrm, q, out


def _thin(d: Discs, h0: float, frac: float = 0.07) -> Discs:
    """Keep discs at a spacing of about max(h0, frac * radius) along the tube."""
    if len(d.r) < 3:
        return d
    step = np.maximum(h0, frac * np.maximum(d.r, 0.0))
    ds = np.r_[0.0, np.hypot(*np.diff(d.c, axis=0).T)]
    tau = np.cumsum(ds / step)
    _, idx = np.unique(np.floor(tau).astype(np.int64), return_index=True)
    idx = np.union1d(idx, [len(d.r) - 1])
    return Discs(d.c[idx], d.r[idx], d.q[idx])


def _gap(d: Discs, o: Discs) -> float:
    """Smallest surface distance between two disc sets (negative = overlap depth)."""
    if not len(d.r) or not len(o.r):
        return np.inf
    dd = np.hypot(*(d.c[:, None, :] - o.c[None, :, :]).transpose(2, 0, 1))
    return float(np.min(dd - d.r[:, None] - o.r[None, :]))


def _clear_points(pts, movable, obs: Discs, margin, direction, iters: int = 8):
    """Move movable control points along ``direction`` until they lie ``margin`` mm
    (a number or one per point) outside the union of ``obs``."""
    pts = np.array(pts, float)
    if not len(obs.r):
        return pts
    margin = np.broadcast_to(np.asarray(margin, float), (len(pts),))
    u = _unit(direction)
    for i in movable:
        for _ in range(iters):
            free = float(np.min(np.hypot(*(pts[i] - obs.c).T) - obs.r))
            if free >= margin[i] - 0.05:
                break
            pts[i] = pts[i] + u * (margin[i] - free + 0.1)
    return pts


def _clear_curve(tube: Tube, movable, obs: Discs, extra: float, direction, iters: int = 6):
    """Move movable control points along ``direction`` until every centerline sample lies
    its own outer half-width + ``extra`` outside ``obs``."""
    pts = tube.pts.copy()
    if not len(obs.r):
        return pts
    u = _unit(direction)
    a, b = tube.profiles["outer"]
    half = np.maximum(np.asarray(a), np.asarray(b))
    for _ in range(iters):
        c, _, q = _centerline(pts, 1.5)
        r = np.interp(q, tube.knots, half)
        free = np.min(np.hypot(*(c[:, None, :] - obs.c[None]).transpose(2, 0, 1))
                      - obs.r[None], axis=1)
        deficit = r + extra - free
        k = int(np.argmax(deficit))
        if deficit[k] <= 0.05:
            break
        i0 = int(np.clip(np.floor(q[k]), 0, len(pts) - 2))
        fr = float(q[k] - i0)
        w = {i0: 1.0 - fr, i0 + 1: fr}
        mv = [i for i in w if i in movable]
        if not mv:
            break
        for i in mv:
            wi = w[i] if len(mv) == 2 else max(w[i], 0.6)
            pts[i] = pts[i] + u * (deficit[k] + 0.3) * min(1.0, 1.3 * wi)
    return pts


def _settle_rigid(pts, obstacles, margins, max_deg: float = 60.0):
    """Rotate points 1.. about point 0 by the smallest angle (5° steps, either way) that
    keeps points 2.. ``margins`` (per obstacle, per point) outside every obstacle."""
    pts = np.asarray(pts, float)
    obs = [(o, np.asarray(m, float)[2:]) for o, m in zip(obstacles, margins, strict=True)
           if len(o.r)]
    best, best_bad = pts, np.inf
    for step in range(int(max_deg // 5) + 1):
        for sgn in ((1,) if step == 0 else (1, -1)):
            rot = _rot(math.radians(5.0 * step * sgn))
            cand = pts.copy()
            cand[1:] = (pts[1:] - pts[0]) @ rot.T + pts[0]
            bad = 0.0
            for o, m in obs:
                free = np.min(np.hypot(*(cand[2:, None, :] - o.c[None]).transpose(2, 0, 1))
                              - o.r[None], axis=1)
                bad += float(np.sum(np.clip(m - free, 0, None)))
            if bad <= 0.0:
                return cand
            if bad < best_bad - 1e-6:
                best, best_bad = cand, bad
    return best


def _yield(d: Discs, obs: Discs, gap: float, rmin=1.0, iters: int = 2) -> Discs:
    """Deform ``d`` away from ``obs``: an overlapping disc keeps its far side and gives up
    the overlap (centre moves away by half of it, radius shrinks by half)."""
    if not len(d.r) or not len(obs.r):
        return d
    c, r = d.c.copy(), d.r.copy()
    for _ in range(iters):
        v = c[:, None, :] - obs.c[None, :, :]
        dist = np.hypot(v[..., 0], v[..., 1]) + 1e-6
        pen = r[:, None] + obs.r[None, :] + gap - dist
        j = np.argmax(pen, axis=1)
        ii = np.arange(len(r))
        p = pen[ii, j]
        m = p > 0
        if not m.any():
            break
        rm = np.broadcast_to(np.asarray(rmin, float), r.shape)[m]
        shift = np.clip(np.minimum(p[m], 2.0 * (r[m] - rm)), 0.0, None)
        u = v[ii[m], j[m]] / dist[ii[m], j[m]][:, None]
        c[m] += 0.5 * shift[:, None] * u
        r[m] -= 0.5 * shift
    return Discs(c, r, d.q)


def _at(c, q, param):
    """Centerline sample index nearest to ``param``."""
    return int(np.clip(np.searchsorted(q, param), 0, len(q) - 1))


# ------------------------------------------------------------------------ raster
class Raster:
    """Body mm → 2x oversampled pixel grid; disc-union, ribbon and polygon painting."""

    def __init__(self, shape, spacing, scale, tilt_deg, shift):
        self.shape = (2 * shape[0], 2 * shape[1])
        self.fsr, self.fsc = spacing[0] / 2.0, spacing[1] / 2.0
        self.m = scale * _rot(math.radians(tilt_deg))
        self.t = np.asarray(shift, float)
        self.scale = scale

    def mm(self, p):
        """Body mm (u, v) → image mm (x along columns, y along rows)."""
        return np.atleast_2d(p) @ self.m.T + self.t

    def px(self, p):
        x = self.mm(p)
        return np.c_[x[:, 1] / self.fsr + 0.5, x[:, 0] / self.fsc + 0.5]

    def disc_mask(self, d: Discs):
        """(row0, col0, bool mask) of the union of discs, or None."""
        keep = d.r > 0.05
        if not keep.any():
            return None
        pc = self.px(d.c[keep])
        rr = d.r[keep] * self.scale / self.fsr
        rc = d.r[keep] * self.scale / self.fsc
        h, w = self.shape
        lo = np.maximum(np.ceil(pc[:, 0] - rr), 0).astype(np.int64)
        hi = np.minimum(np.floor(pc[:, 0] + rr), h - 1).astype(np.int64)
        cnt = np.maximum(hi - lo + 1, 0)
        if cnt.sum() == 0:
            return None
        idx = np.repeat(np.arange(len(cnt)), cnt)
        offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        rows = lo[idx] + offs
        dy = (rows - pc[idx, 0]) / rr[idx]
        half = rc[idx] * np.sqrt(np.clip(1.0 - dy * dy, 0.0, None))
        x0 = np.maximum(np.ceil(pc[idx, 1] - half), 0).astype(np.int64)
        x1 = np.minimum(np.floor(pc[idx, 1] + half), w - 1).astype(np.int64)
        ok = x1 >= x0
        if not ok.any():
            return None
        rows, x0, x1 = rows[ok], x0[ok], x1[ok]
        r0, r1, c0, c1 = rows.min(), rows.max(), x0.min(), x1.max()
        nr, nc = r1 - r0 + 1, c1 - c0 + 1
        size = nr * (nc + 1)
        base = (rows - r0) * (nc + 1)
        diff = (np.bincount(base + x0 - c0, minlength=size)
                - np.bincount(base + x1 - c0 + 1, minlength=size))
        mask = np.cumsum(diff.reshape(nr, nc + 1), axis=1)[:, :nc] > 0
        return int(r0), int(c0), mask

    def halfplane(self, r0, c0, mask, point, normal):
        """Keep the part of a mask on the side of body point where (p - point)·normal ≤ 0."""
        pm = self.mm(point)[0]
        nm = _unit(np.asarray(normal) @ self.m.T)
        rows = (np.arange(r0, r0 + mask.shape[0]) - 0.5) * self.fsr
        cols = (np.arange(c0, c0 + mask.shape[1]) - 0.5) * self.fsc
        side = (cols[None, :] - pm[0]) * nm[0] + (rows[:, None] - pm[1]) * nm[1]
        return mask & (side <= 0)

    def paint(self, tis, lab, d: Discs, tissue, label=0, clip=None, cut=None):
        got = self.disc_mask(d)
        if got is None:
            return
        r0, c0, m = got
        if cut is not None:
            m = self.halfplane(r0, c0, m, *cut)
        sl = (slice(r0, r0 + m.shape[0]), slice(c0, c0 + m.shape[1]))
        if clip is not None:
            m = m & clip[sl]
        if tissue is not None:
            tis[sl][m] = tissue
        lab[sl][m] = label

    def poly_mask(self, pts):
        p = self.px(pts)
        rr, cc = draw_polygon(p[:, 0], p[:, 1], self.shape)
        m = np.zeros(self.shape, bool)
        m[rr, cc] = True
        return m

    def ribbon(self, tube: Tube, profile: str, step: float = 0.5):
        """Mask of the ribbon of perpendicular segments of one profile (flat ends)."""
        c, t, q = _centerline(tube.pts, step)
        nrm = np.c_[t[:, 1], -t[:, 0]]
        a, b = tube.profiles[profile]
        aa = np.interp(q, tube.knots, a)
        bb = np.interp(q, tube.knots, b)
        left = c + nrm * aa[:, None]
        right = c - nrm * bb[:, None]
        return self.poly_mask(np.vstack([left, right[::-1]]))


# ----------------------------------------------------------------------- parameters
def _u(r, lo, hi):
    return float(r.uniform(lo, hi))


def case_params(seed: int) -> dict:
    """All random choices of a case (JSON-able), drawn from ``default_rng(seed)``."""
    r = np.random.default_rng(seed)
    h, w = int(r.integers(224, 289)), int(r.integers(224, 289))
    sp = round(_u(r, 1.1, 1.5), 4)
    n_frames = int(r.integers(20, 41))
    dt = round(_u(r, 0.5, 2.0), 3)
    hyst = bool(r.random() < 0.2)
    parous = bool(r.random() < 0.6)
    lax = _u(r, 0.25, 1.0) if parous else _u(r, 0.0, 0.35)
    comp = np.clip(lax * r.uniform(0.3, 1.25, 3), 0.0, 1.0)
    fill = float(r.beta(1.3, 1.3))
    version = "anteverted" if r.random() < 0.75 else "retroverted"
    rect_content = str(r.choice(["gel", "stool", "empty"], p=[0.5, 0.32, 0.18]))
    vag_gel = bool(r.random() < 0.45)
    n_fib = int(r.choice([0, 1, 2, 3], p=[0.7, 0.17, 0.09, 0.04])) if not hyst else 0
    anatomy = {
        "body_scale": _u(r, 0.9, 1.1), "tilt_deg": _u(r, -15, 15),
        "fat_anterior_mm": _u(r, 10, 45), "fat_posterior_mm": _u(r, 8, 40),
        "belly_mm": _u(r, 0, 35), "skin_mm": _u(r, 1.5, 3.0),
        "sym_tilt_deg": _u(r, 10, 28), "sym_len_mm": _u(r, 34, 44), "sym_w_mm": _u(r, 12, 16),
        "sacrum_curv": _u(r, 0.7, 1.3), "pelvis_depth": _u(r, 0.92, 1.08),
        "pcl_rot_deg": _u(r, -7, 7), "disc_degeneration": _u(r, 0, 1),
        "arj_du": _u(r, -5, 5), "arj_dv": _u(r, -5, 6), "canal_angle_deg": _u(r, 10, 32),
        "canal_len_mm": _u(r, 28, 40), "amp_angle_deg": _u(r, -52, -32),
        "amp_dist_mm": _u(r, 28, 38), "presacral_gap_mm": _u(r, 5, 14),
        "rect_wall_mm": _u(r, 2.5, 4.5), "canal_r_mm": _u(r, 6, 8.5),
        "rect_content": rect_content, "rect_lumen": [_u(r, 0.75, 1.0), _u(r, 0.8, 1.0)],
        "sigmoid_content": str(r.choice(["stool", "gas", "collapsed"], p=[0.55, 0.2, 0.25])),
        "sigmoid_r_mm": _u(r, 8, 13), "sigmoid_path": r.uniform(-1, 1, 8).round(3).tolist(),
        "perineal_len_mm": _u(r, 20, 34), "rv_gap_mm": _u(r, 3, 8),
        "vag_gel": vag_gel, "vag_wall_mm": _u(r, 2.5, 3.8), "vag_bow_mm": _u(r, 0, 7),
        "vag_apex_angle_deg": _u(r, -12, 12),
        "bladder_fill": fill, "bladder_axis_deg": _u(r, -15, 10), "neck_dv": _u(r, -6, 5),
        "neck_gap_mm": _u(r, 2, 7), "bladder_bend": _u(r, -0.12, 0.12),
        "version": version,
        "cervix_angle_deg": (_u(r, 15, 55) if version == "anteverted" else _u(r, -45, -10)),
        "flexion_deg": (_u(r, 0, 45) if version == "anteverted" else _u(r, -40, 5)),
        "cervix_len_mm": _u(r, 22, 34), "cervix_w_mm": _u(r, 19, 27),
        "corpus_len_mm": _u(r, 40, 66), "corpus_w_mm": _u(r, 36, 58),
        "endo_mm": _u(r, 2.5, 12), "jz_mm": _u(r, 2, 7),
        "fibroids": [[_u(r, 2.3, 3.9), float(r.choice([-1.0, 1.0])),
                      str(r.choice(["intramural", "subserosal"])), _u(r, 6, 22),
                      bool(r.random() < 0.3)] for _ in range(n_fib)],
        "free_fluid": bool(r.random() < 0.3), "free_fluid_mm": _u(r, 2.5, 5),
        "n_loops": int(r.integers(8, 19)), "aorta_r_mm": _u(r, 7, 11),
    }
    maneuver = str(r.choice(MANEUVERS, p=[0.35, 0.15, 0.15, 0.2, 0.15]))
    motion = {
        "maneuver": maneuver, "parous": parous, "laxity": lax,
        "anterior": float(comp[0]), "middle": float(comp[1]), "posterior": float(comp[2]),
        "squeeze_gain": _u(r, 0.3, 0.6), "reps": int(r.integers(1, 4)),
        "phase": r.uniform(0, 1, 12).round(4).tolist(),
        "breath_period_s": _u(r, 3.5, 6.5), "breath_mm": _u(r, 1.5, 5.0),
        "breath_phase": _u(r, 0, 2 * math.pi), "evacuation": _u(r, 0.5, 1.0),
    }
    seq = str(r.choice(SEQUENCES, p=[0.45, 0.3, 0.12, 0.13]))
    fat_sat = bool(r.random() < (0.1 if seq == "bssfp" else 0.35))
    n_coils = int(r.choice([1, 2, 4, 6], p=[0.2, 0.2, 0.35, 0.25]))
    imaging = {
        "sequence": seq, "fat_sat": fat_sat,
        "opposed_phase": bool(seq == "t1_gre" and r.random() < 0.3),
        "series_description": _DESCRIPTION[seq] + (" FS" if fat_sat else ""),
        "tissue_jitter": r.lognormal(0.0, 0.13, len(TISSUES)).round(4).tolist(),
        "contrast_power": _u(r, 0.8, 1.3), "vessel_bright": bool(r.random() < 0.4),
        "snr": float(np.exp(r.uniform(math.log(4), math.log(40)))), "n_coils": n_coils,
        "coil_radius_mm": _u(r, 70, 160), "coil_offsets": r.uniform(-1, 1, 12).round(4).tolist(),
        "posterior_coil_weight": _u(r, 0.5, 1.3), "b1_dip": _u(r, 0, 0.25),
        "recon": str(r.choice(["zerofill", "bicubic"])), "pe_axis": str(r.choice(["ap", "si"])),
        "res_pe": _u(r, 0.6, 0.9), "res_ro": _u(r, 0.85, 1.0), "apodization": _u(r, 0, 1),
        "chem_shift_px": _u(r, -2.0, 2.0), "ghost_amp": (_u(r, 0.02, 0.08) if r.random() < 0.3
                                                      else 0.0),
        "ghost_div": int(r.choice([2, 3, 4])), "banding": (_u(r, 0.3, 0.8)
                                                           if seq == "bssfp" and r.random() < 0.5
                                                           else 0.0),
        "band_seed": r.uniform(-1, 1, 6).round(4).tolist(), "susceptibility": _u(r, 0.3, 0.9),
        "unsharp_amount": _u(r, 0, 1.2), "unsharp_sigma_px": _u(r, 0.8, 2.5),
        "norm_alpha": _u(r, 0, 0.8), "norm_sigma_mm": _u(r, 20, 45),
        "gamma": _u(r, 0.8, 1.25), "clip_pct": _u(r, 0, 1.0), "out_max": _u(r, 0.55, 1.0),
        "float_scale": (float(10 ** r.uniform(-0.5, 1.5)) if r.random() < 0.35 else 1.0),
        "slice_mm": _u(r, 4, 10), "texture_mm": _u(r, 1.0, 3.0),
    }
    return {
        "generator": GENERATOR, "seed": int(seed), "matrix": [h, w], "spacing_mm": [sp, sp],
        "n_frames": n_frames, "frame_interval_s": dt, "hysterectomy": hyst,
        "anatomy": anatomy, "motion": motion, "imaging": imaging,
    }


# -------------------------------------------------------------------------- anatomy
class Anatomy:
    """Rest geometry in body mm; ``frame`` moves it and returns the layers of one frame."""

    def __init__(self, P: dict, step: float):
        self.P = P
        self.g = g = P["anatomy"]
        self.step = step
        self.hyst = P["hysterectomy"]
        lax = P["motion"]["laxity"]
        # --- symphysis (top → bottom)
        up = _dir(g["sym_tilt_deg"])
        bot = np.array([-5.0, -6.0])
        top = bot + up * g["sym_len_mm"]
        hw = g["sym_w_mm"] / 2
        self.sym = Tube([top, (top + bot) / 2, bot], None,
                        outer=([0.9 * hw, hw, 0.95 * hw],) * 2)
        self.sym_top = top
        # --- sacrum + coccyx (top → bottom)
        base = np.array([(100, -128), (112, -104), (121, -80), (124, -59), (120, -44),
                         (110, -33), (98, -26)], float)
        p0, p1 = base[0], base[-1]
        ch = _unit(p1 - p0)
        proj = p0 + np.outer((base - p0) @ ch, ch)
        base = proj + g["sacrum_curv"] * (base - proj)
        base[:, 0] *= g["pelvis_depth"]
        base = base @ _rot(math.radians(-g["pcl_rot_deg"])).T
        wid = np.array([13, 12.5, 10.5, 8, 6, 4.5, 3.2])
        self.sacrum = Tube(base, None, outer=(wid, wid))
        self.sac_pts = base
        self.tip = base[-1]
        c, t, q = _centerline(base, 1.0)
        self.sac_c, self.sac_post = c, np.c_[t[:, 1], -t[:, 0]]
        self.sac_r = np.interp(q, np.arange(7), wid)
        self.sac_q = q
        self._spine(g)
        # --- rectum / anal canal / sigmoid
        C = np.array([43 + g["arj_du"], 8 + g["arj_dv"] + 8 * lax])
        gam = math.radians(g["canal_angle_deg"])
        V = C + g["canal_len_mm"] * np.array([math.sin(gam), math.cos(gam)])
        tha = math.radians(g["amp_angle_deg"])
        Am = C + g["amp_dist_mm"] * np.array([math.cos(tha), math.sin(tha)])
        self.Am = Am
        wall = g["rect_wall_mm"]
        content = g["rect_content"]
        lum = {"gel": (9, 17, 7, 12, 6, 10), "stool": (7, 16, 6, 11, 5, 8),
               "empty": (2.5, 4.0, 2.5, 4.0, 2.5, 4.0)}[content]
        f0, f1 = g["rect_lumen"]
        l_amp = lum[0] + f0 * (lum[1] - lum[0])
        l_mid = lum[2] + f1 * (lum[3] - lum[2])
        l_up = lum[4] + 0.5 * (f0 + f1) * (lum[5] - lum[4])
        gap_ps = g["presacral_gap_mm"]

        def ant(param, off):
            i = _at(c, q, param)
            return self.sac_c[i] - np.array([self.sac_r[i] + off, 0.0])

        Mr = ant(3.4, gap_ps + wall + l_mid)
        R3 = ant(2.0, gap_ps + wall + l_up)
        sp = np.asarray(g["sigmoid_path"])
        rs = g["sigmoid_r_mm"]
        Sg1 = R3 + np.array([-16 + 5 * sp[0], -20 + 5 * sp[1]])
        head = math.radians(200 + 25 * sp[2])
        pts_s = [Sg1]
        for k in range(4):
            head += math.radians([-35, 60, 70, -40][k] * (1 + 0.6 * sp[3 + k]))
            pts_s.append(pts_s[-1] + (22 + 8 * sp[(4 + k) % 8]) * np.array(
                [math.cos(head), math.sin(head)]))
        Sg2, Sg3, Sg4, Sg5 = pts_s[1:]
        self.cut_q = 5.0
        ca = g["canal_r_mm"]
        sig_l = {"stool": rs - 3, "gas": rs - 2.5, "collapsed": 2.0}[g["sigmoid_content"]]
        sig_o = sig_l + 3.0
        outer = [ca, ca, ca + 1.5, l_amp + wall, l_mid + wall, l_up + wall] + [sig_o] * 5
        lumen = [0.0, 0.0, 1.0, l_amp, l_mid, l_up] + [sig_l] * 5
        self.rect = Tube([V, (V + C) / 2, C, Am, Mr, R3, Sg1, Sg2, Sg3, Sg4, Sg5], None,
                         outer=(outer, outer), lumen=(lumen, lumen))
        self.V, self.C = V, C
        # --- vagina (introitus → apex)
        I_ = V + np.array([-g["perineal_len_mm"], -0.2 * g["perineal_len_mm"]])
        ra = 10.0 if self.hyst else 12.0
        if g["vag_gel"]:
            vo = [6.5, 10.5, 11.5, ra + 3]
        else:
            vo = [5.0, 6.0, 6.5, ra]
        Q1 = np.array([C[0] - g["canal_r_mm"] - 0.6 * g["rv_gap_mm"] - vo[1] - 1.0,
                       C[1] - 4.0])
        I_[0] = min(I_[0], Q1[0] + 4.0)
        dapex = _unit(np.array([-0.55, -0.83]) @ _rot(math.radians(g["vag_apex_angle_deg"])).T)
        A = Am + (l_amp + wall + g["rv_gap_mm"] + vo[3]) * dapex
        ln = np.hypot(*(A - Q1))
        lo, hi = (35, 55) if self.hyst else (42, 65)
        A = Q1 + (A - Q1) * np.clip(ln, lo, hi) / ln
        tv = _unit(A - Q1)
        post = np.array([-tv[1], tv[0]])
        Q2 = Q1 + (A - Q1) / 2 + post * g["vag_bow_mm"]
        tv = _unit(Q1 - I_)
        vw = g["vag_wall_mm"]
        vl = [max(v - vw, 1.0) for v in vo] if g["vag_gel"] else [1.0, 1.2, 1.2, 1.5]
        self.vag = Tube([I_ + tv * 2.0, Q1, Q2, A], None, outer=(vo, vo), lumen=(vl, vl))
        self.I = I_
        self.M = I_ + np.array([-10.0, -4.0])  # urethral meatus
        # settle vagina against the rectum at rest
        rect_d = self.rect.sample(2.0)[4]["outer"]
        self.vag.pts = _clear_points(self.vag.pts, [1, 2, 3], rect_d.select(0, 5.5),
                                     np.array(vo) + 2.0, (-1, -0.2))
        vag_d = self.vag.sample(1.0)[4]["outer"]
        # --- bladder (neck → dome)
        f = g["bladder_fill"]
        vN0 = -8 + g["neck_dv"] + 5 * lax
        vc, _, _, vq, vd = self.vag.sample(1.0)
        sym_d = self.sym.sample(1.0)[4]["outer"]

        def neck_at(vN):
            i = int(np.argmin(np.abs(vc[:, 1] - vN) + 100 * (vq > 2.6)))
            u_front = vd["outer"].c[i, 0] - vd["outer"].r[i] - 3.5 - g["neck_gap_mm"]
            near = np.abs(sym_d.c[:, 1] - vN) < sym_d.r
            back = -np.inf
            if near.any():
                back = np.max(sym_d.c[near, 0] + np.sqrt(sym_d.r[near] ** 2
                                                          - (sym_d.c[near, 1] - vN) ** 2))
            return u_front, back + 9.0

        vN = vN0
        for vN in np.arange(vN0, vN0 - 30.0, -2.0):
            u_front, u_back = neck_at(vN)
            if u_front >= u_back:
                break
        u_front, u_back = neck_at(vN)
        N = np.array([max(u_front, u_back), float(vN)])
        L = 28 + 56 * f ** 0.8
        W = 20 + 50 * f ** 0.75
        d = _dir(g["bladder_axis_deg"])
        n = np.array([d[1], -d[0]])
        Lc = max(L - W / 2, 4.0)
        bend = g["bladder_bend"] * W
        pts = [N, N + 0.25 * Lc * d, N + 0.62 * Lc * d + bend * n, N + Lc * d]
        hw = W / 2
        self.bl_wall = 5.5 - 3.0 * f
        ba = [3.5, max(0.30 * hw, 5.0), 0.9 * hw, hw]
        bb = [3.5, max(0.55 * hw, 6.0), 0.95 * hw, hw]
        self.bl = Tube(pts, None, outer=(ba, bb),
                       lumen=([max(x - self.bl_wall, 0) for x in ba],
                              [max(x - self.bl_wall, 0) for x in bb]))
        self.N = N
        # rectus abdominis line (static)
        bel = g["belly_mm"]
        st = self.sym_top
        rect_pts = [(-34 - bel, -360), (-36 - bel, -250), (-35 - 0.6 * bel, -170),
                    (-31 - 0.3 * bel, -95), st + np.array([-7.0, -8.0])]
        self.rectus_w = 5.0
        self.rectus = Tube(rect_pts, None, outer=([5, 5.5, 5.5, 5, 3.5],) * 2)
        rectus_d = self.rectus.sample(2.0)[4]["outer"]
        self.rectus_d = rectus_d
        self.sym_d = sym_d
        # --- uterus
        self.ut = None
        self.bl.pts = self._clear_bladder(self.bl.pts, vag_d)
        if not self.hyst:
            self.ut = self._fit_uterus(A, vag_d)
        cxd = self.ut.sample(1.0)[4]["outer"].select(hi=1.2) if self.ut else None
        self.bl.pts = self._clear_bladder(self.bl.pts, Discs.cat(vag_d, cxd))
        lab2 = Discs.cat(vag_d, self._ut_discs(self.ut, 1.5)[0] if self.ut else None)
        # sigmoid away from organs
        bl_d = self.bl.sample(2.0)[4]["outer"]
        obs = Discs.cat(lab2, bl_d)
        self.rect.pts = _clear_points(self.rect.pts, [7, 8, 9, 10], obs, sig_o + 4, (0, -1))
        self.rect.pts = _clear_points(self.rect.pts, [7, 8, 9, 10], rectus_d, sig_o + 3,
                                      (1, 0))
        self._rest = {k: getattr(self, k).pts.copy() for k in ("rect", "vag", "bl")}
        if self.ut is not None:
            self._rest["ut"] = self.ut.pts.copy()
        self.A = self.vag.pts[3].copy()
        self._levator()
        self._loops(lab2, bl_d, rect_d)
        self._fluid_vessels(lab2, bl_d)

    # ---------------------------------------------------------------- spine
    def _spine(self, g):
        base = self.sac_pts
        t1 = _unit(base[1] - base[0])
        upv = -t1
        ccur = base[0] + upv * 14.0
        self.vert = []  # (kind, centre, up-direction, depth, height)
        lam = [0.45, 0.75, 1.0, 1.0, 1.0]
        self.vert.append(("body", base[0].copy(), upv, 31.0, 28.0))
        for k in range(5):
            d = _unit(upv * (1 - lam[k]) + np.array([0.1, -1.0]) * lam[k])
            hd = 10.0 - 1.0 * k * 0.3
            self.vert.append(("disc", ccur + d * hd / 2, d, 30.0, hd))
            ccur = ccur + d * hd
            hb = 26.5 + k * 0.3
            self.vert.append(("body", ccur + d * hb / 2, d, 34.0, hb))
            ccur = ccur + d * hb
        # spinal canal (top → bottom): lumbar body centres, then sacral
        canal, cw = [], []
        bodies = [v for v in self.vert if v[0] == "body"][::-1]
        for _, cen, d, dep, _ in bodies[:-1]:
            post = np.array([-d[1], d[0]])
            canal.append(cen + post * (dep / 2 + 2 + 6.5))
            cw.append(6.5)
        for k in range(0, 5):
            i = _at(self.sac_c, self.sac_q, float(k))
            rr = [5.0, 4.0, 3.0, 2.5, 2.0][k]
            canal.append(self.sac_c[i] + self.sac_post[i] * (self.sac_r[i] + 2 + rr))
            cw.append(rr)
        self.canal = Tube(canal, None, outer=(cw, cw))
        self.canal_csf_end = float(len(bodies) - 1 + 1.3)
        crest, cwid, musc, mw = [], [], [], []
        for k in range(len(canal)):
            i = min(k + 1, len(canal) - 1)
            tt = _unit(canal[i] - canal[max(k - 1, 0)])
            post = np.array([tt[1], -tt[0]])
            crest.append(canal[k] + post * (cw[k] + 4.5))
            cwid.append(3.0)
            musc.append(canal[k] + post * (cw[k] + 24.0))
            mw.append(22.0 if k < len(bodies) - 1 else max(3.0, 16.0 - 5.0 * (k - 4)))
        self.crest = Tube(crest[len(bodies) - 1:], None,
                          outer=(cwid[len(bodies) - 1:],) * 2)
        self.canal_pts, self.canal_w = np.array(canal), np.array(cw)
        self.spinous = []
        for k in range(len(bodies) - 1):
            tt = _unit(canal[k + 1] - canal[k])
            post = np.array([tt[1], -tt[0]])
            s0 = canal[k] + post * (cw[k] + 1.0)
            dd = _unit(post + 0.35 * tt)
            self.spinous.append(Tube([s0, s0 + dd * 30.0], None, outer=([7.0, 6.0],) * 2))
        self.paraspinal = Tube(musc[:-1], None, outer=(mw[:-1],) * 2)
        self.post_skin = []
        nb = len(bodies) - 1
        for k in range(len(canal)):
            tt = _unit(canal[min(k + 1, len(canal) - 1)] - canal[max(k - 1, 0)])
            post = np.array([tt[1], -tt[0]])
            extra = 48.0 if k < nb else 30.0 - 4.0 * (k - nb)
            self.post_skin.append(canal[k] + post * (cw[k] + extra))

    # ------------------------------------------------------------ uterus
    def _ut_tube(self, A, ac, ab):
        g = self.g
        dc, db = _dir(ac), _dir(ab)
        Lc, Lb = g["cervix_len_mm"], g["corpus_len_mm"]
        hc, hb = g["cervix_w_mm"] / 2, g["corpus_w_mm"] / 2
        O = A + dc * 2.0
        Iu = O + Lc * dc
        F = Iu + max(Lb - hb, 8.0) * db
        prof = [0.75 * hc, hc, 0.85 * hc, hb, 0.95 * hb]
        return Tube([O, O + 0.5 * Lc * dc, Iu, Iu + 0.45 * max(Lb - hb, 8.0) * db, F], None,
                    outer=(prof, prof))

    def _ut_discs(self, ut, step):
        _, _, nrm, q, d = ut.sample(step)
        out = d["outer"]
        fibs = []
        for pq, side, kind, rf, _ in self.g["fibroids"]:
            i = _at(out.c, q, pq)
            rl = out.r[i]
            off = rl + 0.35 * rf if kind == "subserosal" else min(0.3 * rl, max(rl - rf, 0))
            fibs.append(Discs([out.c[i] + nrm[i] * side * off], [rf], [pq]))
        return Discs.cat(out, *fibs), out, nrm, q

    def _fit_uterus(self, A, vag_d):
        """Version angle with the least conflict with bladder, rectum and sacrum, close to
        the drawn one (the bladder and a full rectum push the uterus)."""
        g = self.g
        ac0, flex = g["cervix_angle_deg"], g["flexion_deg"]
        bl_d = _thin(self.bl.sample(2.0)[4]["outer"], 2.0, 0.2)
        sac_d = self._sac_obs()
        rect_d = _thin(self.rect.sample(2.0)[4]["outer"].select(hi=self.cut_q + 2), 2.0, 0.2)
        hb = g["corpus_w_mm"] / 2
        best, best_cost = ac0, np.inf
        for ac in np.arange(-60.0, 61.0, 5.0):
            ud = _thin(self._ut_discs(self._ut_tube(A, ac, min(ac + flex, 80.0)), 2.0)[0],
                       2.0, 0.2)
            cost = (max(0.0, -_gap(ud, bl_d) - 0.25 * hb) + max(0.0, -_gap(ud, rect_d)
                                                                 - 0.25 * hb)
                    + 2 * max(0.0, 6.0 - _gap(ud, sac_d)) + 0.08 * abs(ac - ac0))
            if cost < best_cost:
                best, best_cost = ac, cost
        self.ut_angles = (float(best), float(min(best + flex, 80.0)))
        return self._ut_tube(A, *self.ut_angles)

    def _clear_bladder(self, pts, lab2):
        for _ in range(3):
            pts = _clear_points(pts, [0, 1, 2, 3], lab2, 3.0, (-0.8, 0.6))
            pts = _clear_points(pts, [1, 2, 3], self.sym_d, 4.0, (1, 0))
            pts = _clear_points(pts, [2, 3], self.rectus_d, 3.0, (1, 0.2))
        return pts

    # ------------------------------------------------------------ pelvic floor
    def _levator(self):
        c, t, nrm, q, d = self.rect.sample(1.0)
        k = _at(c, q, 2.0)
        self.pr_off = d["outer"].r[k] + 6.0
        pr = c[k] - nrm[k] * self.pr_off
        tipa = self.tip + np.array([-5.0, 5.0])
        mid = (pr + tipa) / 2 + _unit(np.array([-(tipa - pr)[1], (tipa - pr)[0]])) * 3.0
        self.lev_rest = np.array([pr, mid, tipa])

    # ------------------------------------------------------------ loops / vessels
    def _loops(self, lab2, bl_d, rect_d):
        rng = np.random.default_rng([self.P["seed"], 3])
        self.loops = []
        sac_d = self.sacrum.sample(2.0)[4]["outer"]
        verts = Discs.cat(*[Discs([v[1]], [v[3] / 2 + 4], [0]) for v in self.vert])
        sig = self.rect.sample(2.0)[4]["outer"]
        obs = _thin(Discs.cat(lab2, bl_d, sig, sac_d, verts, self.sym_d, self.rectus_d), 2.0,
                    0.25)
        organ_top = min(float(np.min(bl_d.c[:, 1] - bl_d.r)), float(np.min(lab2.c[:, 1]
                                                                           - lab2.r)))
        want = self.g["n_loops"]
        bel = self.g["belly_mm"]
        for _ in range(1500):
            if len(self.loops) >= want:
                break
            p = np.array([rng.uniform(-30 - bel, 95), rng.uniform(-330, organ_top + 25)])
            head = rng.uniform(0, 2 * math.pi)
            pts = [p]
            for _k in range(int(rng.integers(1, 5))):
                head += rng.uniform(-1.3, 1.3)
                pts.append(pts[-1] + rng.uniform(12, 26) * np.array([math.cos(head),
                                                                      math.sin(head)]))
            if len(pts) == 2:
                pts.insert(1, (pts[0] + pts[1]) / 2)
            hw = rng.uniform(5.0, 12.0)
            tube = Tube(pts, None, outer=([hw] * len(pts),) * 2)
            dd = tube.sample(2.5)[4]["outer"]
            if _gap(dd, obs) < 1.5:
                continue
            if self.loops and _gap(dd, Discs.cat(*[lp[1] for lp in self.loops])) < -6:
                continue
            kind = str(rng.choice(["fluid", "chyme", "collapsed", "gas"],
                                  p=[0.35, 0.3, 0.2, 0.15]))
            wall = rng.uniform(1.8, 3.0)
            lumen = hw - wall if kind != "collapsed" else rng.uniform(1.0, 2.0)
            if kind == "collapsed":
                hw = min(hw, 7.0)
                lumen = min(lumen, hw - 3.0)
                tube = Tube(pts, None, outer=([hw] * len(pts),) * 2)
            tube.profiles["lumen"] = ([lumen] * len(pts),) * 2
            bubbles = []
            if kind == "chyme":
                for _b in range(int(rng.integers(0, 4))):
                    bubbles.append((rng.uniform(0, len(pts) - 1), rng.uniform(-0.5, 0.5),
                                    rng.uniform(1.0, 3.0)))
            self.loops.append((tube, dd, kind, bubbles, tube.pts.copy()))

    def _fluid_vessels(self, lab2, bl_d):
        rng = np.random.default_rng([self.P["seed"], 4])
        g = self.g
        # vessels: aorta / iliac vein in front of the lumbar spine, presacral, small ones
        bodies = [v for v in self.vert if v[0] == "body"][::-1]
        ra = g["aorta_r_mm"]
        ao = []
        for _, cen, d, dep, _ in bodies[:3]:
            ant = np.array([d[1], -d[0]])
            ao.append(cen + ant * (dep / 2 + 3 + ra))
        self.aorta = Tube(ao, None, outer=([ra, ra, ra * 0.9],) * 2)
        cen, d, dep = bodies[3][1], bodies[3][2], bodies[3][3]
        self.civ = cen + np.array([d[1], -d[0]]) * (dep / 2 + 2 + 0.7 * ra)
        sac_ant = [self.sac_c[_at(self.sac_c, self.sac_q, k)]
                   - self.sac_post[_at(self.sac_c, self.sac_q, k)]
                   * (self.sac_r[_at(self.sac_c, self.sac_q, k)] + 2.0) for k in (0.3, 2, 3.5)]
        self.presacral = Tube(sac_ant, None, outer=([1.5, 1.3, 1.1],) * 2)
        obs = Discs.cat(lab2, bl_d, self.rect.sample(2.0)[4]["outer"], self.sym_d,
                        self.sacrum.sample(2.0)[4]["outer"])
        small = []
        for _ in range(80):
            if len(small) >= 12:
                break
            p = np.array([rng.uniform(-5, 100), rng.uniform(-110, 25)])
            rv = rng.uniform(1.2, 3.5)
            dd = Discs([p], [rv], [0])
            gp = _gap(dd, obs)
            if 1.0 < gp < 14.0:
                small.append((p, rv))
        self.small_vessels = small
        # free fluid in the pouch of Douglas
        self.fluid = None
        if g["free_fluid"]:
            if self.ut is not None:
                _, out, nrm, q = self._ut_discs(self.ut, 1.0)
                i = _at(out.c, q, 1.6)
                side = 1.0 if self.g["version"] == "anteverted" else -1.0
                p = out.c[i] + nrm[i] * side * (out.r[i] + 4.0)
            else:
                p = self.A + np.array([6.0, -14.0])
            dvec = _unit(np.array([0.5, -1.0]))
            self.fluid = np.array([p - 7 * dvec, p + 7 * dvec])

    # ------------------------------------------------------------------ motion
    def frame(self, a: float, e: float, o: float, br: float) -> dict:
        """Layers of one frame: manoeuvre strength ``a`` (+ strain, - squeeze), evacuated
        fraction ``e``, anal opening ``o``, breathing ``br`` (-1..1)."""
        mo = self.P["motion"]
        g = self.g
        step = self.step
        ae = a if a >= 0 else a * mo["squeeze_gain"]
        ap = max(a, 0.0)
        cA, cM, cP = mo["anterior"], mo["middle"], mo["posterior"]
        defe = mo["maneuver"] == "defecation"
        gains = {"ant": (4 + 10 * cA, 8 + 24 * cA), "mid": (3 + 8 * cM, 6 + 36 * cM),
                 "post": ((4 + 8 * cP) * (1.3 if defe else 1.0),
                          (10 + 22 * cP) * (1.25 if defe else 1.0))}
        bmm = mo["breath_mm"] * br

        def disp(p, comp, w):
            rot, desc = gains[comp]
            rel = np.atleast_2d(p) - PIVOT
            rd = rel @ _rot(math.radians(rot * ae)).T - rel
            return np.asarray(w, float)[:, None] * (rd + ae * desc * _DESC_DIR[comp])

        def breath(p, w):
            p = np.atleast_2d(p)
            wv = np.clip((-p[:, 1] - 40.0) / 120.0, 0.0, 1.0) * np.asarray(w, float)
            return wv[:, None] * bmm * np.array([0.25, 1.0])

        out = {}
        # ---- rectum / sigmoid
        r0 = self._rest["rect"]
        wr = np.array([0.15, 0.6, 1.0, 0.85, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1])
        rp = r0 + disp(r0, "post", wr) + breath(r0, [0] * 6 + [0.4] * 5)
        rp = _clear_points(rp, [3, 4, 5], self._sac_obs(), self._rect_r(), (-1, 0))
        lumk = np.array(self.rect.profiles["lumen"][0])
        outk = np.array(self.rect.profiles["outer"][0])
        wallk = outk - lumk
        scale = 1.0 - 0.85 * e
        lum2 = lumk.copy()
        lum2[3:5] = np.maximum(lum2[3:5] * scale, np.minimum(lum2[3:5], 2.5))
        lum2[5] = max(lum2[5] * (1.0 - 0.5 * e), min(lum2[5], 2.5))
        if o > 0:
            op = o * (4.0 + 4.0 * cP)
            lum2[0:3] = np.maximum(lum2[0:3], [op * 0.8, op, op])
        wallk = np.where(np.arange(11) <= 2, np.maximum(outk - lum2, 3.0), wallk)
        out2 = lum2 + wallk
        out2[0:3] = np.maximum(out2[0:3], outk[0:3])
        rc_mm = 35.0 * max(cP - 0.25, 0.0) * ap

        def bulge(q):
            return rc_mm * np.exp(-(((q - 2.75) / 0.45) ** 2))

        def zero(q):
            return 0.0 * q

        rect = Tube(rp, None, outer=(out2, out2), lumen=(lum2, lum2))
        c, t, nrm, q, d = rect.sample(step, extra={"outer": (bulge, zero),
                                                   "lumen": (bulge, zero)})
        rect_o, rect_l = d["outer"], d["lumen"]
        # ---- vagina
        v0 = self._rest["vag"]
        dC = rp[2] - r0[2]
        bulge_c = (18.0 * cA ** 2 + 4.0 * cA) * ap
        bextra = bulge_c * np.array([0.25, 0.97])
        vp = v0.copy()
        vp[0] += disp(v0[0:1], "post", [0.15])[0]
        vp[1] += 0.85 * dC + disp(v0[1:2], "ant", [0.3])[0] + 0.5 * bextra
        vp[2] += (0.4 * dC + disp(v0[2:3], "ant", [0.3])[0] + disp(v0[2:3], "mid", [0.4])[0]
                  + 0.3 * bextra)
        vp[3] += disp(v0[3:4], "mid", [1.0])[0]
        vprof = self.vag.profiles
        vo = np.array(vprof["outer"][0])
        vp = _clear_points(vp, [1, 2, 3], rect_o.select(0, 5.5), vo + 2.0, (-1, -0.2))
        vp = _clear_curve(Tube(vp, None, **self.vag.profiles), [1, 2, 3],
                          _thin(rect_o.select(0, 5.5), 1.0, 0.15), 2.0, (-1, -0.2))
        vp = _clear_points(vp, [3], self._sac_obs(), vo[3] + 3.0, (-1, 0))
        shiftA = vp[3] - (v0[3] + disp(v0[3:4], "mid", [1.0])[0])
        vag = Tube(vp, None, **vprof)
        _, _, _, vq, vd = vag.sample(step)
        out["vag_o"], out["vag_l"] = vd["outer"], vd["lumen"]
        # ---- uterus (moved; settled against bladder and rectum below)
        vag_hard = _thin(vd["outer"], 1.0, 0.15)
        hard = vag_hard
        up_ = None
        if self.ut is not None:
            u0 = self._rest["ut"]
            wu = np.array([1.0, 0.95, 0.85, 0.7, 0.6])
            up_ = u0 + disp(u0, "mid", wu) + breath(u0, [0, 0, 0.1, 0.2, 0.3])
            up_ += np.outer([1.0, 0.85, 0.7, 0.55, 0.45], shiftA)
            up_[0] = vp[3] + (u0[0] - v0[3])
            up_ = _clear_points(up_, [2, 3, 4], self._sac_obs(), np.array(
                self.ut.profiles["outer"][0]) + 3.0, (-1, 0))
            cx = Tube(up_, None, **self.ut.profiles).sample(1.0)[4]["outer"].select(hi=1.2)
            hard = Discs.cat(vag_hard, cx)
        # ---- bladder: yields to vagina + cervix, symphysis, rectus
        b0 = self._rest["bl"]
        wb = np.array([1.0, 1.0, 0.7, 0.5])
        bp = b0 + disp(b0, "ant", wb) + breath(b0, [0, 0, 0.15, 0.3])
        bp[1] += bextra
        floor_v = self.I[1] - 14.0
        bp[:2, 1] = np.minimum(bp[:2, 1], floor_v)
        bp = self._clear_bladder(bp, hard)
        bp = _clear_points(bp, [0, 1, 2, 3], _thin(rect_o.select(hi=self.cut_q), 2.0, 0.2),
                           3.0, (-0.8, -0.3))
        ba, bb = (np.array(x) for x in self.bl.profiles["outer"])
        la, lb = (np.array(x) for x in self.bl.profiles["lumen"])
        bb = bb.copy()
        bb[1] += 0.3 * bulge_c
        lb = lb.copy()
        lb[1] += 0.3 * bulge_c
        bl = Tube(bp, None, outer=(ba, bb), lumen=(la, lb))
        _, _, _, bq, bd = bl.sample(step)
        bo, bli = bd["outer"], bd["lumen"]
        wall_b = bo.r - bli.r
        offb = bli.c - bo.c
        bo_t = _thin(bo, step, 0.07)
        keep = np.isin(bo.q, bo_t.q)
        rect_obs = _thin(rect_o.select(hi=self.cut_q + 2), 1.0, 0.15)
        bo2 = _yield(bo_t, Discs.cat(hard, self._sym_obs(), rect_obs), 1.8, iters=4,
                     rmin=np.maximum(0.6 * bo_t.r, 1.0))
        out["bl_o"] = bo2
        out["bl_l"] = Discs(bo2.c + offb[keep], np.maximum(bo2.r - wall_b[keep], 0.0), bo2.q)
        out["neck"] = bp[0]
        ur = np.array([bp[0], 0.5 * (bp[0] + self.M) + np.array([-2.0, 0.0]), self.M])
        out["urethra"] = _clear_points(ur, [1], hard, 4.0, (-1, 0))
        # the vagina gives way where bladder and rectum still press on it
        vdo, vdl = out["vag_o"], out["vag_l"]
        v_off, v_wall = vdl.c - vdo.c, vdo.r - vdl.r
        vy = _yield(vdo, Discs.cat(_thin(bo2, 1.0, 0.15), rect_obs.select(hi=5.5)), 0.8,
                    rmin=0.5 * vdo.r)
        out["vag_o"] = vy
        out["vag_l"] = Discs(vy.c + v_off, np.maximum(vy.r - v_wall, 0.5), vy.q)
        bl_obs = _thin(bo2, 1.0, 0.15)
        # ---- uterine corpus yields to bladder and rectum
        ut_parts = None
        if up_ is not None:
            ru = np.array(self.ut.profiles["outer"][0])
            up_ = _settle_rigid(up_, [bl_obs, rect_obs, self._sac_obs()],
                                [0.5 * ru, 0.5 * ru, ru + 2.0])
            ut = Tube(up_, None, **self.ut.profiles)
            allu, uo, unrm, uq = self._ut_discs(ut, step)
            nf = len(self.g["fibroids"])
            fib = Discs(allu.c[len(uo.r):], allu.r[len(uo.r):], allu.q[len(uo.r):])
            allu = Discs.cat(_thin(uo, step, 0.05), fib)
            soft = allu.q > 1.2
            soft[len(allu.r) - nf:] = False  # fibroids only shrink (stay attached)
            if nf:
                obs_all = Discs.cat(bl_obs, rect_obs)
                fc, fr = allu.c[-nf:], allu.r[-nf:]
                dist = np.hypot(*(fc[:, None, :] - obs_all.c[None]).transpose(2, 0, 1))
                pen = np.max(fr[:, None] + obs_all.r[None] + 1.5 - dist, axis=1)
                allu.r[-nf:] = np.maximum(0.55 * fr, fr - np.clip(pen, 0, None))
            r_min = 0.55 * allu.r
            ys = _yield(Discs(allu.c[soft], allu.r[soft], allu.q[soft]), bl_obs, 1.5,
                        rmin=r_min[soft])
            cc_, rr_ = allu.c.copy(), allu.r.copy()
            cc_[soft], rr_[soft] = ys.c, ys.r
            n_o = len(allu.r) - nf
            ys = _yield(Discs(cc_[:n_o], rr_[:n_o], allu.q[:n_o]), rect_obs, 1.5,
                        rmin=r_min[:n_o])
            cc_[:n_o], rr_[:n_o] = ys.c, ys.r
            uo = Discs(cc_[:n_o], rr_[:n_o], allu.q[:n_o])
            allu = Discs(cc_, rr_, allu.q)
            ut_parts = (uo, None, None, allu)
        lab2 = Discs.cat(vag_hard, _thin(ut_parts[3], 1.0, 0.15) if ut_parts else None)
        # ---- rectum yields to vagina + cervix and sacrum
        rp2 = _clear_points(rp, [3, 4, 5], vag_hard, 2.0, (1, 0))
        if np.any(rp2 != rp):
            rect = Tube(rp2, None, outer=(out2, out2), lumen=(lum2, lum2))
            c, t, nrm, q, d = rect.sample(step, extra={"outer": (bulge, zero),
                                                       "lumen": (bulge, zero)})
            rect_o, rect_l = d["outer"], d["lumen"]
        wall_s = rect_o.r - rect_l.r
        off = rect_l.c - rect_o.c
        ro = _thin(rect_o, step, 0.07)
        keep = np.isin(rect_o.q, ro.q)
        ro2 = _yield(ro, Discs.cat(vag_hard, self._sac_obs()), 1.8, iters=4)
        rect_o = ro2
        rect_l = Discs(ro2.c + off[keep], np.maximum(ro2.r - wall_s[keep], 0.0), ro2.q)
        out["rect_o"], out["rect_l"] = rect_o, rect_l
        out["rect_axis"] = (c, nrm, q)
        ic = _at(c, q, self.cut_q)
        out["cut"] = (c[ic], t[ic])
        out["ut"] = ut_parts
        out["lab2"] = lab2
        # ---- pelvic floor
        k = _at(c, q, 2.0)
        pr = c[k] - nrm[k] * (rect_o.r[min(np.searchsorted(rect_o.q, 2.0),
                                           len(rect_o.r) - 1)] + 6.0)
        lev0 = self.lev_rest
        sag = ae * (5.0 + 12.0 * cP)
        mid = lev0[1] + (pr - lev0[0]) * 0.5 + sag * np.array([0.3, 0.95])
        out["levator"] = np.array([pr, mid, lev0[2]])
        iv = _at(vd["outer"].c, vd["outer"].q, 0.35)
        ir = _at(c, q, 0.6)
        out["perineal_body"] = (0.5 * (vd["outer"].c[iv] + c[ir]),
                                0.3 * np.hypot(*(vd["outer"].c[iv] - c[ir])))
        # ---- loops, fluid
        loops = []
        for tube, _dd, kind, bubbles, p0 in self.loops:
            pp = p0 + breath(p0, [1.0] * len(p0)) + disp(p0, "mid", [0.15] * len(p0))
            lt = Tube(pp, None, **tube.profiles)
            lc, _, ln, lq, ld = lt.sample(max(step, 0.5))
            bl_ = []
            for bq_, frac, rb in bubbles:
                i = _at(lc, lq, bq_)
                bl_.append(Discs([lc[i] + ln[i] * frac * ld["lumen"].r[i]], [rb], [bq_]))
            loops.append((ld["outer"], ld["lumen"], kind, Discs.cat(*bl_)))
        out["loops"] = loops
        if self.fluid is not None:
            fp = self.fluid + disp(self.fluid, "mid", [0.8, 0.8])
            fr = g["free_fluid_mm"]
            out["fluid"] = Tube(fp, None, outer=([fr, fr * 0.7],) * 2).sample(step)[4]["outer"]
        return out

    def _sac_obs(self):
        if not hasattr(self, "_sac_cache"):
            self._sac_cache = _thin(self.sacrum.sample(1.0)[4]["outer"], 1.0, 0.15)
        return self._sac_cache

    def _sym_obs(self):
        if not hasattr(self, "_sym_cache"):
            self._sym_cache = _thin(Discs.cat(self.sym_d, self.rectus_d), 1.0, 0.15)
        return self._sym_cache

    def _rect_r(self):
        return np.array(self.rect.profiles["outer"][0]) + 2.0


# --------------------------------------------------------------------- manoeuvres
def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def motion_curves(P: dict, times: np.ndarray):
    """Manoeuvre strength a(t) (strain > 0, squeeze < 0), evacuated fraction e(t), anal
    opening o(t) and breathing b(t) at the frame times."""
    mo = P["motion"]
    ph = np.asarray(mo["phase"])
    D = float(times[-1]) if times[-1] > 0 else 1.0
    man = mo["maneuver"]
    a = np.zeros_like(times)

    def push(t0, t1, amp, k):
        ln = t1 - t0
        s = t0 + ln * (0.12 + 0.12 * ph[k % 12])
        r = ln * (0.1 + 0.1 * ph[(k + 1) % 12])
        h = ln * (0.3 + 0.15 * ph[(k + 2) % 12])
        f = ln * (0.08 + 0.07 * ph[(k + 3) % 12])
        up = _smooth((times - s) / max(r, 1e-3))
        down = 1 - _smooth((times - s - r - h) / max(f, 1e-3))
        return amp * up * down

    reps = max(1, min(mo["reps"], int(D // 6) if D >= 6 else 1))
    if man in ("valsalva", "squeeze"):
        sign = 1.0 if man == "valsalva" else -1.0
        for k in range(reps):
            a += push(k * D / reps, (k + 1) * D / reps, sign * (0.7 + 0.3 * ph[k]), 3 * k)
    elif man == "squeeze_valsalva":
        a += push(0.0, D / 2, -(0.7 + 0.3 * ph[0]), 0)
        a += push(D / 2, D, 0.75 + 0.25 * ph[1], 4)
    elif man == "cough":
        n = len(times)
        cand = np.arange(1 if n < 4 else 2, n)
        k = max(1, min(len(cand), 2 + int(ph[0] * 4)))
        idx = cand[np.unique(np.floor(ph[1:1 + k] * len(cand)).astype(int))]
        for j, i in enumerate(idx):
            a += (0.55 + 0.45 * ph[(j + 5) % 12]) * np.exp(-((times - times[i]) / 0.35) ** 2)
        if ph[11] < 0.3:
            a += 0.4 * push(0.0, D, 1.0, 7)
        a = np.clip(a, 0, 1)
    else:  # defecation
        s = D * (0.08 + 0.1 * ph[0])
        f = D * (0.85 + 0.1 * ph[1])
        ramp = max(D * 0.08, 1e-3)
        base = _smooth((times - s) / ramp) * (1 - _smooth((times - f) / ramp))
        wob = 0.85 + 0.15 * np.cos(2 * math.pi * (times / max(D / (1 + 2 * ph[2]), 1e-3)))
        a = base * wob * (0.85 + 0.15 * ph[3])
    a[0] = 0.0
    e = np.zeros_like(times)
    o = np.zeros_like(times)
    if man == "defecation":
        cum = np.cumsum(np.r_[0.0, np.diff(times)] * np.clip(a - 0.3, 0, None))
        total = cum[-1] if cum[-1] > 0 else 1.0
        e = mo["evacuation"] * _smooth(cum / (0.7 * total))
        o = np.clip(a, 0, 1) * (e > 0.02) * (1 - e) ** 0.3
    b = np.sin(2 * math.pi * times / mo["breath_period_s"] + mo["breath_phase"])
    return a, e, o, b


# ------------------------------------------------------------------------ render
def _lut(P):
    im = P["imaging"]
    col = _SEQ_COL[im["sequence"]]
    jit = np.asarray(im["tissue_jitter"])
    vals = np.array([_BASE[n][col] for n in TISSUES]) * jit
    fatf = np.array([_BASE[n][4] for n in TISSUES])
    tex = np.array([_BASE[n][5] for n in TISSUES])
    if im["sequence"] in ("haste", "pd_fse"):
        fluid = [T[n] for n in ("urine", "csf", "gel", "bowel_fluid", "free_fluid")]
        m = np.ones(len(TISSUES), bool)
        m[fluid] = False
        vals[m] = vals[m] ** im["contrast_power"]
    if im["vessel_bright"]:
        vals[T["vessel"]] = {"haste": 0.55, "bssfp": 1.0, "t1_gre": 0.9, "pd_fse": 0.5}[
            im["sequence"]]
    vals[T["air"]] = 0.0
    return vals.astype(np.float32), fatf.astype(np.float32), tex.astype(np.float32)


def _static_layers(A: Anatomy, R: Raster, P: dict):
    """Background tissue map (under moving parts), top map of bones (over them), body
    mask."""
    g = P["anatomy"]
    fa, fp = g["fat_anterior_mm"], g["fat_posterior_mm"]
    bg = np.zeros(R.shape, np.uint8)
    lab = np.zeros(R.shape, np.uint8)
    # body outline
    st = A.sym_top
    rect_pts = A.rectus.pts
    ant = [p - np.array([5.5 + fa, 0.0]) for p in rect_pts[:-1]]
    ant += [st + np.array([-9 - fa, 6.0]), np.array([-14 - 0.75 * fa, 6.0]),
            np.array([-3 - 0.35 * fa, 22.0]), A.M + np.array([-2.0, 3.0]), A.I,
            0.5 * (A.I + A.V) + np.array([0.0, 3.0]), A.V]
    post = [A.V + np.array([17.0, -11.0]), A.tip + np.array([12 + 0.4 * fp, 12.0])]
    ps = A.post_skin
    for k in range(len(ps) - 1, -1, -1):
        post.append(A.canal_pts[k] + (ps[k] - A.canal_pts[k]) + _unit(
            ps[k] - A.canal_pts[k]) * fp * (1.0 if k < len(ps) - 4 else 0.8))
    top_post = post[-1] + np.array([5.0, -60.0])
    outline = np.array(ant + post + [top_post, ant[0] + np.array([0.0, -5.0])])
    dense, _ = _catmull(outline, closed=True, per_seg=20)
    body = R.poly_mask(dense)
    bg[body] = T["fat"]
    k = max(1, int(round(g["skin_mm"] / R.fsr)))
    inner = ndimage.binary_erosion(body, iterations=k)
    bg[body & ~inner] = T["skin"]
    # static soft tissue
    R.paint(bg, lab, A.rectus.sample(0.6)[4]["outer"], T["muscle"], clip=body)
    R.paint(bg, lab, A.paraspinal.sample(0.8)[4]["outer"], T["muscle"], clip=body)
    cd = A.canal.sample(0.5)[4]["outer"]
    R.paint(bg, lab, cd, T["fat"], clip=body)
    R.paint(bg, lab, cd.select(hi=A.canal_csf_end), T["csf"], clip=body)
    R.paint(bg, lab, A.aorta.sample(0.6)[4]["outer"], T["vessel"], clip=body)
    R.paint(bg, lab, Discs([A.civ], [0.7 * g["aorta_r_mm"]], [0]), T["vessel"], clip=body)
    R.paint(bg, lab, A.presacral.sample(0.4)[4]["outer"], T["vessel"], clip=body)
    for p, rv in A.small_vessels:
        R.paint(bg, lab, Discs([p], [rv], [0]), T["vessel"], clip=body)
    # bones and discs: top layer
    top = np.full(R.shape, 255, np.uint8)
    tl = np.zeros(R.shape, np.uint8)
    degen = g["disc_degeneration"]
    for kind, cen, d, dep, hgt in A.vert:
        ant_ = np.array([d[1], -d[0]])
        tube = Tube([cen + ant_ * dep / 2, cen - ant_ * dep / 2], None,
                    outer=([hgt / 2, hgt / 2],) * 2, inner=([hgt / 2 - 1.8] * 2,) * 2)
        if kind == "disc":
            top[R.ribbon(tube, "outer")] = T["disc"] if degen < 0.6 else T["fibrous"]
        else:
            top[R.ribbon(tube, "outer")] = T["cortex"]
            t2 = Tube([cen + ant_ * (dep / 2 - 1.8), cen - ant_ * (dep / 2 - 1.8)], None,
                      inner=([hgt / 2 - 1.8] * 2,) * 2)
            top[R.ribbon(t2, "inner")] = T["marrow"]
    sd = A.sacrum.sample(0.5)[4]["outer"]
    R.paint(top, tl, sd, T["cortex"])
    R.paint(top, tl, sd.select(dr=1.8), T["marrow"])
    c, t, q = _centerline(A.sac_pts, 0.5)
    nrm = np.c_[t[:, 1], -t[:, 0]]
    for kq in (1.0, 2.0, 3.0, 4.0, 5.0):
        i = _at(c, q, kq)
        rr = np.interp(q[i], np.arange(7), A.sacrum.profiles["outer"][0]) - 1.5
        seg = Tube([c[i] - nrm[i] * rr, c[i] + nrm[i] * rr], None, outer=([0.8, 0.8],) * 2)
        R.paint(top, tl, seg.sample(0.3)[4]["outer"], T["fibrous"])
    crest = A.crest.sample(0.5)[4]["outer"]
    R.paint(top, tl, crest, T["cortex"])
    R.paint(top, tl, crest.select(dr=1.4), T["marrow"])
    for sp_ in A.spinous:
        dd = sp_.sample(0.5)[4]["outer"]
        R.paint(top, tl, dd, T["cortex"])
        R.paint(top, tl, dd.select(dr=1.8), T["marrow"])
    sy = A.sym.sample(0.4)[4]["outer"]
    R.paint(top, tl, sy, T["cortex"])
    R.paint(top, tl, sy.select(dr=1.6 + 0.4 * g["sym_w_mm"] / 16), T["marrow"])
    if g["sym_w_mm"] > 13.5:
        R.paint(top, tl, sy.const(1.2, cap=2.0), T["cartilage"])
    top[~body] = 255
    return bg, top, body


def _texture(shape, rng, corr_px):
    n1 = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), corr_px)
    n2 = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 3 * corr_px)
    n = n1 / (n1.std() + 1e-6) + 0.7 * n2 / (n2.std() + 1e-6)
    return (n / (n.std() + 1e-6)).astype(np.float32)


def _paint_frame(A: Anatomy, R: Raster, L: dict, bg, top_idx, top_val, body, P):
    g = P["anatomy"]
    tis = bg.copy()
    lab = np.zeros(R.shape, np.uint8)
    # pelvic floor (unlabelled)
    lev = Tube(L["levator"], None, outer=([4.0, 3.2, 3.0],) * 2).sample(A.step)[4]["outer"]
    R.paint(tis, lab, lev, T["muscle"], clip=body)
    R.paint(tis, lab, Discs([L["levator"][0]], [7.0], [0]), T["muscle"], clip=body)
    pb, prad = L["perineal_body"]
    R.paint(tis, lab, Discs([pb], [max(prad, 3.0)], [0]), T["fibrous"], clip=body)
    ro, rl = L["rect_o"], L["rect_l"]
    eas = ro.select(hi=2.1)
    R.paint(tis, lab, Discs(eas.c, eas.r + 5.5, eas.q), T["muscle"], clip=body)
    # bowel loops
    for lo, li, kind, bub in L["loops"]:
        R.paint(tis, lab, lo, T["bowel_wall"], clip=body)
        fill = {"fluid": "bowel_fluid", "chyme": "chyme", "collapsed": "mucus",
                "gas": "gas"}[kind]
        R.paint(tis, lab, li, T[fill], clip=body)
        if len(bub.r):
            R.paint(tis, lab, bub, T["gas"], clip=body)
    if "fluid" in L:
        R.paint(tis, lab, L["fluid"], T["free_fluid"], clip=body)
    # rectum + sigmoid tube, then the rectum label below the cut
    R.paint(tis, lab, ro, T["rectal_wall"], clip=body)
    R.paint(tis, lab, ro.select(hi=2.05), T["internal_sphincter"], clip=body)
    content = {"gel": "gel", "stool": "stool", "empty": "mucus"}[g["rect_content"]]
    sigc = {"stool": "stool", "gas": "gas", "collapsed": "mucus"}[g["sigmoid_content"]]
    switch = A.cut_q + 0.3 + 0.6 * abs(g["sigmoid_path"][0])
    R.paint(tis, lab, rl.select(lo=switch - 0.05), T[sigc], clip=body)
    R.paint(tis, lab, rl.select(hi=switch), T[content], clip=body)
    bubbles = []
    if content == "stool" or sigc == "stool":
        c, nrm, q = L["rect_axis"]
        rng = np.random.default_rng([P["seed"], 11])
        lo_q = 2.2 if content == "stool" else switch
        for _ in range(6):
            pq = rng.uniform(lo_q, 9.5)
            i = _at(c, q, pq)
            j = min(np.searchsorted(rl.q, pq), len(rl.r) - 1)
            if rl.r[j] > 4:
                bub = Discs([rl.c[j] + nrm[i] * rng.uniform(-0.5, 0.5) * rl.r[j]],
                            [rng.uniform(1.0, 0.35 * rl.r[j])], [pq])
                R.paint(tis, lab, bub, T["gas"], clip=body)
                if pq < A.cut_q + 0.5:
                    bubbles.append(bub)
    cpt, ctan = L["cut"]
    got = R.disc_mask(ro.select(hi=A.cut_q + 1.0))
    if got is not None:
        r0, c0, m = got
        m = R.halfplane(r0, c0, m, cpt, ctan)
        sl = (slice(r0, r0 + m.shape[0]), slice(c0, c0 + m.shape[1]))
        m &= body[sl]
        lab[sl][m] = RECTUM
    # urethra
    ur = Tube(L["urethra"], None, outer=([3.5, 3.8, 3.0],) * 2).sample(A.step)[4]["outer"]
    R.paint(tis, lab, ur, T["urethra"], clip=body)
    R.paint(tis, lab, ur.const(1.0), T["mucus"], clip=body)
    # bladder
    R.paint(tis, lab, L["bl_o"], T["bladder_wall"], BLADDER, clip=body)
    R.paint(tis, lab, L["bl_l"], T["urine"], BLADDER, clip=body)
    # vagina + uterus
    R.paint(tis, lab, L["vag_o"], T["vaginal_wall"], UTVAG, clip=body)
    R.paint(tis, lab, L["vag_l"], T["gel"] if g["vag_gel"] else T["mucus"], UTVAG, clip=body)
    if L["ut"] is not None:
        uo, unrm, uq, allu = L["ut"]
        R.paint(tis, lab, uo.select(lo=1.9), T["myometrium"], UTVAG, clip=body)
        R.paint(tis, lab, uo.select(hi=2.0), T["cervical_stroma"], UTVAG, clip=body)
        jz = g["endo_mm"] / 2 + g["jz_mm"]
        R.paint(tis, lab, uo.select(lo=1.95, hi=3.95).const(jz, cap=2.5), T["junctional_zone"],
                UTVAG, clip=body)
        R.paint(tis, lab, uo.select(lo=2.05, hi=3.9).const(g["endo_mm"] / 2, cap=3.0),
                T["endometrium"], UTVAG, clip=body)
        R.paint(tis, lab, uo.select(hi=2.1).const(1.3, cap=2.0), T["mucus"], UTVAG, clip=body)
        nf = len(g["fibroids"])
        if nf:
            fd = Discs(allu.c[-nf:], allu.r[-nf:], allu.q[-nf:])
            R.paint(tis, lab, fd, T["fibroid"], UTVAG, clip=body)
            for k, fib in enumerate(g["fibroids"]):
                if fib[4]:
                    R.paint(tis, lab, Discs(fd.c[k:k + 1], fd.r[k:k + 1] * 0.45, [0]),
                            T["mucus"], UTVAG, clip=body)
    # the rectum below the cut again, over the other organs
    cut = (cpt, ctan)
    rs = ro.select(hi=A.cut_q + 1.0)
    R.paint(tis, lab, rs, T["rectal_wall"], RECTUM, clip=body, cut=cut)
    R.paint(tis, lab, ro.select(hi=2.05), T["internal_sphincter"], RECTUM, clip=body, cut=cut)
    R.paint(tis, lab, rl.select(hi=A.cut_q + 1.0), T[content], RECTUM, clip=body, cut=cut)
    for bub in bubbles:
        R.paint(tis, lab, bub, T["gas"], RECTUM, clip=body, cut=cut)
    # bones on top
    tis.ravel()[top_idx] = top_val
    lab.ravel()[top_idx] = 0
    # any stray organ fragment (should not happen) becomes fat
    for k in (BLADDER, UTVAG, RECTUM):
        m = lab == k
        if not m.any():
            continue
        sl = ndimage.find_objects(m.astype(np.uint8))[0]
        sub = m[sl]
        cc, n = ndimage.label(sub, structure=np.ones((3, 3), bool))
        if n > 1:
            sizes = np.bincount(cc.ravel())
            sizes[0] = 0
            bad = (cc != int(np.argmax(sizes))) & sub
            tis[sl][bad] = T["fat"]
            lab[sl][bad] = 0
    return tis, lab


def _down(x, h, w):
    """2x2 block mean (float32)."""
    x = x.astype(np.float32, copy=False)
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def _down_labels(lab):
    """Label of each 2x2 block: the most frequent of its four sub-labels (background on a
    tie with an organ, the lower organ on a tie between organs)."""
    subs = (lab[0::2, 0::2], lab[1::2, 0::2], lab[0::2, 1::2], lab[1::2, 1::2])
    counts = np.stack([sum((sb == k).astype(np.uint8) for sb in subs) for k in range(4)])
    return np.argmax(counts, axis=0).astype(np.uint8)


def _cubic_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) Keys cubic interpolation matrix (pixel centres aligned, edges
    clamped)."""
    x = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    m = np.zeros((n_out, n_in))
    base = np.floor(x).astype(int)
    for k in range(-1, 3):
        idx = base + k
        d = np.abs(x - idx)
        wgt = np.where(d <= 1, 1.5 * d ** 3 - 2.5 * d ** 2 + 1,
                       np.where(d < 2, -0.5 * d ** 3 + 2.5 * d ** 2 - 4 * d + 2, 0.0))
        np.add.at(m, (np.arange(n_out), np.clip(idx, 0, n_in - 1)), wgt)
    return m


def _coil_maps(P, R: Raster, A: Anatomy, h, w, sp):
    """Complex receive sensitivities (K, h, w) of anterior / posterior coil arrays."""
    im = P["imaging"]
    k = im["n_coils"]
    off = np.asarray(im["coil_offsets"])
    yy, xx = np.meshgrid(np.arange(h) * sp[0], np.arange(w) * sp[1], indexing="ij")
    ant_skin = R.mm(np.array([[-40 - P["anatomy"]["fat_anterior_mm"], -60.0]]))[0]
    post_skin = R.mm(np.array([[175 + P["anatomy"]["fat_posterior_mm"], -60.0]]))[0]
    fov_y = h * sp[0]
    maps = []
    for j in range(k):
        front = j % 2 == 0 if k > 1 else off[0] > -0.3
        base = ant_skin if front else post_skin
        cy = fov_y * (0.5 + 0.3 * off[(j + 1) % 12]) if k > 2 else base[1] + 40 * off[2]
        cx = base[0] + (-25.0 if front else 25.0) + 10 * off[(j + 3) % 12]
        d2 = (xx - cx) ** 2 + (yy - cy) ** 2
        rad = im["coil_radius_mm"] * (1 + 0.2 * off[(j + 5) % 12])
        mag = 1.0 / (1.0 + d2 / rad ** 2) ** 0.75
        if not front:
            mag *= im["posterior_coil_weight"]
        phase = 0.004 * off[(j + 7) % 12] * xx + 0.004 * off[(j + 9) % 12] * yy + j
        maps.append(mag * np.exp(1j * phase))
    maps = np.array(maps)
    rss = np.sqrt(np.sum(np.abs(maps) ** 2, axis=0))
    return (maps / rss.max()).astype(np.complex64)


def generate(seed: int, matrix=None, n_frames=None):
    """One case: (CineSeries, truth uint8 (T, H, W), params)."""
    P = case_params(seed)
    g, im = P["anatomy"], P["imaging"]
    h0, w0 = P["matrix"]
    sp0 = P["spacing_mm"][0]
    if matrix is not None:
        h, w = (int(matrix), int(matrix)) if np.isscalar(matrix) else (int(matrix[0]),
                                                                        int(matrix[1]))
    else:
        h, w = h0, w0
    nf = int(n_frames) if n_frames is not None else P["n_frames"]
    # anatomy in body mm and its placement in the field of view
    step0 = 0.45
    A = Anatomy(P, step0)
    scale = g["body_scale"]
    rest = A.frame(0.0, 0.0, 0.0, 0.0)
    key = Discs.cat(rest["bl_o"], rest["vag_o"], rest["ut"][3] if rest["ut"] else None,
                    rest["rect_o"].select(hi=A.cut_q), A.sym_d,
                    _thin(A.sacrum.sample(1.0)[4]["outer"], 1.0, 0.2))
    rot = scale * _rot(math.radians(g["tilt_deg"]))
    kc = key.c @ rot.T
    kr = key.r * scale
    lo = np.min(kc - kr[:, None], axis=0) - np.array([10.0, 10.0])
    hi = np.max(kc + kr[:, None], axis=0) + np.array([12.0, 22.0])
    need = hi - lo
    sp_fit = max(sp0, need[0] / w0, need[1] / h0)
    if sp_fit > 1.5:
        scale *= 1.5 / sp_fit
        lo, hi = lo * 1.5 / sp_fit, hi * 1.5 / sp_fit
        sp_fit = 1.5
    sp0 = sp_fit
    fov = np.array([w0 * sp0, h0 * sp0])  # (x, y) mm
    rng_pl = np.random.default_rng([seed, 1])
    room = fov - (hi - lo)
    shift = -lo + rng_pl.uniform(0.25, 0.75, 2) * np.maximum(room, 0.0)
    spacing = (fov[1] / h, fov[0] / w)
    P["spacing_mm"] = [round(sp0, 5), round(sp0, 5)]
    P["fov_mm"] = [float(fov[1]), float(fov[0])]
    P["anatomy"]["body_scale_used"] = scale
    R = Raster((h, w), spacing, scale, g["tilt_deg"], shift)
    A.step = max(0.35, 0.6 * min(R.fsr, R.fsc) / scale)
    bg, top, body = _static_layers(A, R, P)
    top_idx = np.flatnonzero(top != 255)
    top_val = top.ravel()[top_idx]
    lut, fatf, texa = _lut(P)
    times = np.arange(nf) * P["frame_interval_s"]
    a, e, o, b = motion_curves(P, times)
    rng_tx = np.random.default_rng([seed, 2])
    tex = _texture(R.shape, rng_tx, max(0.6, im["texture_mm"] / R.fsr))
    cs = int(round(im["chem_shift_px"] * 2 * (w / w0)))
    sig = np.zeros((nf, h, w), np.float32)
    gasf = np.zeros((nf, h, w), np.float32)
    truth = np.zeros((nf, h, w), np.uint8)
    fs = im["fat_sat"]
    for i in range(nf):
        L = A.frame(float(a[i]), float(e[i]), float(o[i]), float(b[i]))
        tis, lab = _paint_frame(A, R, L, bg, top_idx, top_val, body, P)
        val = lut[tis] * (1.0 + texa[tis] * tex)
        ff = fatf[tis]
        fat = val * ff * (0.08 if fs else 1.0)
        wat = val * (1 - ff)
        if cs:
            fat = np.roll(fat, cs, axis=1 if im["pe_axis"] == "si" else 0)
        W_, F_ = _down(wat, h, w), _down(fat, h, w)
        if im["sequence"] == "bssfp" or im["opposed_phase"]:
            s = np.abs(W_ - F_)
        else:
            s = W_ + F_
        sig[i] = s
        gasf[i] = _down((tis == T["gas"]).astype(np.float32), h, w)
        truth[i] = _down_labels(lab)
    frames = _acquire(sig, gasf, P, R, A, (h, w), spacing, seed)
    series = CineSeries(frames=frames, spacing_mm=spacing, times_s=times)
    series.meta.update({
        "series_description": im["series_description"], "subject_id": f"tube_{seed:03d}",
        "orientation": "sagittal (canonical)", "format": "synthetic",
    })
    P["matrix"] = [h, w]
    P["spacing_mm"] = [round(float(spacing[0]), 5), round(float(spacing[1]), 5)]
    P["n_frames"] = nf
    P["motion"]["strain_curve"] = [round(float(x), 4) for x in a]
    P["motion"]["evacuation_curve"] = [round(float(x), 4) for x in e]
    P["imaging"]["lut"] = {n: round(float(v), 4) for n, v in zip(TISSUES, lut, strict=True)}
    return series, truth, P


def _acquire(sig, gasf, P, R, A, shape, spacing, seed):
    """Bias field, coils, k-space truncation, noise, ghosts, vendor post-processing."""
    im = P["imaging"]
    h, w = shape
    nf = sig.shape[0]
    rng = np.random.default_rng([seed, 5])
    # susceptibility blooming around gas on gradient echo sequences
    if im["sequence"] in ("bssfp", "t1_gre"):
        sg = max(0.6, 2.0 / (spacing[0] / 1.3))
        for i in range(nf):
            sig[i] *= np.clip(1 - im["susceptibility"] * 2.0
                              * ndimage.gaussian_filter(gasf[i], sg), 0, 1)
    yy, xx = np.meshgrid(np.arange(h) * spacing[0], np.arange(w) * spacing[1], indexing="ij")
    cy, cx = h * spacing[0] / 2, w * spacing[1] / 2
    b1 = 1 - im["b1_dip"] * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 90.0 ** 2))
    if im["banding"] > 0:
        bs = np.asarray(im["band_seed"])
        phi = (0.5 * bs[0] * (xx - cx) / 50 + 0.5 * bs[1] * (yy - cy) / 50
               + 0.8 * (((xx - cx) / 120) ** 2 + ((yy - cy) / 120) ** 2) * (2 + bs[2]))
        phi = phi * math.pi * (1.5 + bs[3])
        wrapped = np.angle(np.exp(1j * phi))
        band = 1 - im["banding"] * np.exp(-((np.abs(wrapped) - math.pi) / 0.35) ** 2)
        b1 = b1 * band
    sig *= b1[None].astype(np.float32)
    maps = _coil_maps(P, R, A, h, w, spacing)
    rss_true = np.sqrt(np.sum(np.abs(maps) ** 2, axis=0))
    ref = sig[0] * rss_true
    body = ref > 0.05 * ref.max()
    sigma = float(np.median(ref[body])) / im["snr"] if body.any() else 0.01
    # k-space truncation
    pe_rows = im["pe_axis"] == "si"
    fr = (im["res_pe"], im["res_ro"]) if pe_rows else (im["res_ro"], im["res_pe"])
    hl, wl = max(8, int(round(h * fr[0]))), max(8, int(round(w * fr[1])))
    ky = sfft.fftfreq(h) * h
    kx = sfft.fftfreq(w) * w
    keep_y = np.abs(ky) <= hl / 2
    keep_x = np.abs(kx) <= wl / 2
    hl, wl = int(keep_y.sum()), int(keep_x.sum())
    ap = im["apodization"]
    wy = 1 - ap * 0.5 * (1 - np.cos(np.pi * np.abs(ky[keep_y]) / (hl / 2 + 1)))
    wx = 1 - ap * 0.5 * (1 - np.cos(np.pi * np.abs(kx[keep_x]) / (wl / 2 + 1)))
    win = (wy[:, None] * wx[None, :]).astype(np.float32)
    sub = np.ix_(np.flatnonzero(keep_y), np.flatnonzero(keep_x))
    bicubic = im["recon"] == "bicubic"
    sk = sigma * h * w / math.sqrt(hl * wl)
    phase0 = np.exp(1j * (0.01 * (xx - cx) + 0.006 * (yy - cy))).astype(np.complex64)
    out = np.zeros((nf, h, w), np.float32)
    if bicubic:
        my = _cubic_matrix(h, hl).astype(np.float32)
        mx = _cubic_matrix(w, wl).astype(np.float32)
    for i in range(nf):
        acc = None
        for m in maps:
            kk = sfft.fft2(sig[i] * phase0 * m)[sub]
            kk = kk + sk * (rng.standard_normal(kk.shape, dtype=np.float32)
                            + 1j * rng.standard_normal(kk.shape, dtype=np.float32))
            kk *= win
            if bicubic:
                img = sfft.ifft2(kk) * (hl * wl / (h * w))
            else:
                full = np.zeros((h, w), np.complex64)
                full[sub] = kk
                img = sfft.ifft2(full)
            a2 = np.abs(img) ** 2
            acc = a2 if acc is None else acc + a2
        mag = np.sqrt(acc).astype(np.float32)
        if bicubic:
            mag = (my @ mag @ mx.T).astype(np.float32)
        out[i] = np.clip(mag, 0, None)
    if im["ghost_amp"] > 0:
        ax = 0 if pe_rows else 1
        n = h if pe_rows else w
        sh = n // im["ghost_div"]
        for i in range(nf):
            out[i] += im["ghost_amp"] * (np.roll(out[i], sh, axis=ax)
                                         + np.roll(out[i], -sh, axis=ax)) * 0.5
    # vendor post-processing
    amt = im["unsharp_amount"]
    sgu = im["unsharp_sigma_px"] * min(1.0, h / 256)
    if amt > 0:
        for i in range(nf):
            out[i] = np.clip(out[i] + amt * (out[i] - ndimage.gaussian_filter(out[i], sgu)),
                             0, None)
    if im["norm_alpha"] > 0:
        f = 8
        small = out[0][: h // f * f, : w // f * f].reshape(h // f, f, w // f, f).mean((1, 3))
        sm = ndimage.gaussian_filter(small, im["norm_sigma_mm"] / (spacing[0] * f))
        sm = ndimage.zoom(sm, (h / sm.shape[0], w / sm.shape[1]), order=1)
        sm = np.pad(sm, ((0, max(0, h - sm.shape[0])), (0, max(0, w - sm.shape[1]))),
                    mode="edge")[:h, :w]
        sm = np.maximum(sm, 0.25 * sm.max())
        out /= ((sm / sm.max()) ** im["norm_alpha"])[None].astype(np.float32)
    hi = float(np.percentile(out[0], 100 - im["clip_pct"])) if im["clip_pct"] > 0 else float(
        out[0].max())
    hi = max(hi, 1e-6)
    y = np.clip(out / hi, 0, 1) ** im["gamma"]
    y = np.rint(y * 4095 * im["out_max"])
    return (y * im["float_scale"]).astype(np.float32)


# ----------------------------------------------------------------------- command line
def write_case(job) -> str:
    seed, out = job
    t0 = time.time()
    series, truth, params = generate(int(seed))
    case_dir = Path(out) / f"{GENERATOR}_{int(seed):03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=int(seed),
                       patient_name=f"TUBE^{int(seed):03d}", patient_id=f"tube_{int(seed):03d}",
                       slice_thickness_mm=params["imaging"]["slice_mm"])
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    a = params["anatomy"]
    return (f"{case_dir.name}: {truth.shape[0]}x{truth.shape[1]}x{truth.shape[2]} "
            f"{params['imaging']['sequence']}{' FS' if params['imaging']['fat_sat'] else ''} "
            f"{params['motion']['maneuver']} fill={a['bladder_fill']:.2f} "
            f"{'hysterectomy' if params['hysterectomy'] else a['version']} "
            f"snr={params['imaging']['snr']:.1f} ({time.time() - t0:.1f} s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="2000-2029", help='e.g. "2000-2029" or "1,5,7"')
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(s, args.out) for s in parse_seeds(args.seeds)]
    for line in map_jobs(write_case, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
