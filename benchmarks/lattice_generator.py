"""LATTICE: labelled synthetic cine mid-sagittal female pelvic MRI (Valsalva / defecography).

Method.  Every subject is first built in a canonical pelvic frame (millimetres; origin
at the lower border of the pubic symphysis, x towards the back, y towards the feet)
from implicit shapes: "round-cone" distance fields along Catmull-Rom centre curves
(vagina, cervix, uterine body, rectum, anal canal, urethra, rectus muscle, bowel
loops), approximate ellipse distance fields (bladder lobes, symphysis, fibroids,
ovary), polynomial smooth-min unions, scan-line filled polygons (sacrum, coccyx,
lumbar vertebrae and discs, body outline, pelvic cavity) and carving with distance
transforms so that organs never overlap (a full bladder indents the uterus, an empty
one is indented by it; the rectum flattens the vagina).  The draws per subject cover
bladder fill (flat thick-walled to large), uterus (normal / atrophic / enlarged with
fibroids / hysterectomy; anteverted, mid or retroverted; flexion adapted so the body
rests on the bladder), rectal content (gel, stool, gas, gas-fluid level, collapsed),
sacral curvature and coccyx angle, anorectal angle, fat, small-bowel packing.  A
tissue-class map is painted on that canonical lattice and turned into a reference
signal with one of three contrasts (single-shot FSE, balanced SSFP, T1-ish GRE),
jittered per tissue, with multi-scale texture, fat septa and partial-volume blur.

The image is an affine pose (pelvic tilt, subject scale, field-of-view offset)
followed by a free-form cubic B-spline warp from a coarse lattice of random control
displacements.  Motion is a stationary velocity field in the canonical frame (sum of
Gaussian pushes: pelvic floor, abdomen, perineum, optional cystocele, vault/uterine
prolapse and anterior rectocele bulge, all faded to zero near bone and the back, so
bones stay rigid); the backward map of each frame is its exponential (scaling and
squaring) at strain s(t) (rest, optional squeeze, rise, peak, partial release).  Each
frame samples the reference signal (linear) and labels (nearest) through ONE composed
backward coordinate map on a 2x-oversampled grid, then goes to k-space: ideal crop to
the matrix, low-resolution / partial-Fourier acquisition with optional apodisation
(Gibbs ringing), surface-coil bias, optional respiratory ghosts along the phase-encode
axis, complex Gaussian noise on the acquired samples and a magnitude (Rician) image.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

PREFIX = "lattice"
LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
UTERUS_STATES = ("normal", "atrophic", "enlarged_fibroid", "hysterectomy")
CONTRASTS = ("ssfse", "bssfp", "t1")
BIG = 1.0e3
Y_TOP = -700.0  # far above anything a field of view can reach (canonical mm)

# ----------------------------------------------------------------------------- tissues
# name, ssfse, bssfp, t1, multiplicative texture amplitude (low, mid, high frequency)
_TISSUES = (
    ("air", 0.00, 0.00, 0.00, (0.00, 0.00, 0.00)),
    ("fat", 0.74, 0.88, 1.00, (0.06, 0.05, 0.03)),
    ("pelvic_fat", 0.68, 0.82, 0.92, (0.08, 0.07, 0.04)),
    ("muscle", 0.17, 0.21, 0.33, (0.06, 0.07, 0.04)),
    ("skin", 0.36, 0.40, 0.45, (0.04, 0.04, 0.03)),
    ("cortex", 0.03, 0.03, 0.04, (0.10, 0.05, 0.05)),
    ("marrow", 0.50, 0.70, 0.80, (0.08, 0.12, 0.08)),
    ("annulus", 0.20, 0.26, 0.30, (0.04, 0.04, 0.03)),
    ("nucleus", 0.78, 0.70, 0.30, (0.05, 0.04, 0.03)),
    ("csf", 1.00, 1.00, 0.12, (0.02, 0.02, 0.02)),
    ("nerve", 0.36, 0.36, 0.35, (0.04, 0.04, 0.03)),
    ("artery", 0.04, 0.90, 0.55, (0.05, 0.05, 0.05)),
    ("vein", 0.55, 0.85, 0.40, (0.08, 0.05, 0.04)),
    ("urine", 1.00, 0.97, 0.10, (0.02, 0.01, 0.01)),
    ("bladder_wall", 0.19, 0.22, 0.32, (0.05, 0.05, 0.04)),
    ("myometrium", 0.40, 0.46, 0.36, (0.07, 0.05, 0.04)),
    ("endometrium", 0.88, 0.76, 0.34, (0.04, 0.04, 0.03)),
    ("junctional", 0.21, 0.26, 0.34, (0.05, 0.05, 0.04)),
    ("cervix", 0.16, 0.23, 0.33, (0.05, 0.05, 0.04)),
    ("cervix_canal", 0.80, 0.70, 0.25, (0.04, 0.04, 0.03)),
    ("vag_wall", 0.31, 0.33, 0.35, (0.05, 0.05, 0.04)),
    ("vag_mucus", 0.76, 0.70, 0.25, (0.04, 0.04, 0.03)),
    ("rect_wall", 0.20, 0.22, 0.32, (0.05, 0.05, 0.04)),
    ("rect_mucosa", 0.44, 0.42, 0.38, (0.06, 0.06, 0.05)),
    ("ias", 0.36, 0.35, 0.34, (0.05, 0.05, 0.04)),
    ("gas", 0.00, 0.00, 0.00, (0.00, 0.00, 0.00)),
    ("stool", 0.33, 0.32, 0.50, (0.15, 0.35, 0.35)),
    ("gel", 0.95, 0.95, 0.12, (0.02, 0.02, 0.01)),
    ("bowel_wall", 0.30, 0.33, 0.38, (0.05, 0.06, 0.05)),
    ("bowel_fluid", 0.92, 0.95, 0.12, (0.03, 0.03, 0.02)),
    ("bowel_feathery", 0.40, 0.42, 0.38, (0.08, 0.28, 0.22)),
    ("fibroid", 0.13, 0.20, 0.33, (0.06, 0.14, 0.06)),
    ("fibroid_degen", 0.70, 0.60, 0.30, (0.10, 0.15, 0.08)),
    ("urethra", 0.26, 0.28, 0.33, (0.04, 0.04, 0.03)),
    ("urethra_mucosa", 0.62, 0.55, 0.30, (0.04, 0.04, 0.03)),
    ("fluid", 1.00, 0.97, 0.10, (0.02, 0.01, 0.01)),
    ("ovary", 0.42, 0.42, 0.34, (0.06, 0.06, 0.05)),
    ("follicle", 1.00, 0.95, 0.10, (0.02, 0.01, 0.01)),
    ("ligament", 0.07, 0.10, 0.15, (0.04, 0.04, 0.03)),
    ("erectile", 0.62, 0.70, 0.40, (0.06, 0.06, 0.05)),
    ("perineal_body", 0.19, 0.22, 0.30, (0.05, 0.06, 0.04)),
)
TISSUES = tuple(row[0] for row in _TISSUES)
K = {name: i for i, name in enumerate(TISSUES)}
_FATLIKE = ("fat", "pelvic_fat", "marrow")  # fat-like classes (India-ink boundaries)


# ----------------------------------------------------------------------------- geometry
def _rot(v, deg: float) -> np.ndarray:
    """Rotate a 2-vector (x posterior, y caudal) by ``deg`` counter-clockwise on screen."""
    t = math.radians(deg)
    c, s = math.cos(t), math.sin(t)
    v = np.asarray(v, float)
    return np.array([v[0] * c + v[1] * s, -v[0] * s + v[1] * c])


def _up(deg: float) -> np.ndarray:
    """Unit vector ``deg`` away from straight up (headwards); positive leans anterior."""
    return _rot((0.0, -1.0), deg)


def _down(deg: float) -> np.ndarray:
    """Unit vector ``deg`` away from straight down (feetwards); positive leans posterior."""
    return _rot((0.0, 1.0), deg)


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / max(float(np.hypot(v[0], v[1])), 1e-9)


def _catmull(ctrl, step: float = 3.0, closed: bool = False) -> np.ndarray:
    """Catmull-Rom curve through control rows (x, y[, extra columns]) every ~``step`` mm."""
    c = np.asarray(ctrl, float)
    if closed:
        p = np.vstack([c[-1], c, c[0], c[1]])
    else:
        p = np.vstack([2 * c[0] - c[1], c, 2 * c[-1] - c[-2]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        n = max(2, int(math.ceil(np.hypot(*(p2[:2] - p1[:2])) / step)))
        t = (np.arange(n) / n)[:, None]
        out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                          + (3 * p1 - p0 - 3 * p2 + p3) * t**3))
    if not closed:
        out.append(c[-1][None])
    return np.vstack(out)


def _tube_sdf(x, y, pts, radii):
    """Signed distance (approx.) to a chain of round cones through ``pts`` with ``radii``."""
    pts = np.asarray(pts, np.float32)
    r = np.broadcast_to(np.asarray(radii, np.float32), (len(pts),))
    d = None
    for i in range(len(pts) - 1):
        ax, ay = float(pts[i, 0]), float(pts[i, 1])
        dx, dy = float(pts[i + 1, 0]) - ax, float(pts[i + 1, 1]) - ay
        px, py = x - ax, y - ay
        l2 = dx * dx + dy * dy
        t = np.clip((px * dx + py * dy) / l2, 0.0, 1.0) if l2 > 1e-9 else 0.0
        di = np.hypot(px - t * dx, py - t * dy) - (r[i] + t * (r[i + 1] - r[i]))
        d = di if d is None else np.minimum(d, di)
    return d


def _ellipse_sdf(x, y, c, u, a: float, b: float):
    """Approximate signed distance to an ellipse (semi-axis ``a`` along unit ``u``)."""
    dx, dy = x - c[0], y - c[1]
    p = dx * u[0] + dy * u[1]
    q = -dx * u[1] + dy * u[0]
    k0 = np.sqrt((p / a) ** 2 + (q / b) ** 2)
    k1 = np.sqrt((p / a**2) ** 2 + (q / b**2) ** 2)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def _smin(a, b, k: float):
    """Polynomial smooth minimum (smooth union of two distance fields)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1.0 - h) + a * h - k * h * (1.0 - h)


def _interp_fn(ys, xs):
    """x(y) from samples (sorted by y), for vectorised region tests."""
    ys = np.asarray(ys, float)
    xs = np.asarray(xs, float)
    o = np.argsort(ys)
    return ys[o], xs[o]


class _Grid:
    """A regular lattice in the canonical frame (rows: y, columns: x)."""

    def __init__(self, x0: float, y0: float, h: float, nx: int, ny: int):
        self.x0, self.y0, self.h, self.nx, self.ny = x0, y0, h, nx, ny
        self.shape = (ny, nx)
        self.X = (x0 + h * np.arange(nx, dtype=np.float32))[None, :]
        self.Y = (y0 + h * np.arange(ny, dtype=np.float32))[:, None]

    def box(self, xmin, xmax, ymin, ymax):
        h = self.h
        j0 = max(0, int(math.floor((xmin - self.x0) / h)))
        j1 = min(self.nx, int(math.ceil((xmax - self.x0) / h)) + 1)
        i0 = max(0, int(math.floor((ymin - self.y0) / h)))
        i1 = min(self.ny, int(math.ceil((ymax - self.y0) / h)) + 1)
        if j0 >= j1 or i0 >= i1:
            return None
        return (slice(i0, i1), slice(j0, j1)), self.X[:, j0:j1], self.Y[i0:i1, :]

    def tube(self, pts, radii) -> np.ndarray:
        pts = np.asarray(pts, float)
        r = np.broadcast_to(np.asarray(radii, float), (len(pts),))
        out = np.full(self.shape, BIG, np.float32)
        pad = float(r.max()) + 2.0
        b = self.box(pts[:, 0].min() - pad, pts[:, 0].max() + pad,
                     pts[:, 1].min() - pad, pts[:, 1].max() + pad)
        if b is not None:
            sl, x, y = b
            out[sl] = _tube_sdf(x, y, pts, r)
        return out

    def ellipse(self, c, u, a, b) -> np.ndarray:
        out = np.full(self.shape, BIG, np.float32)
        rr = max(a, b) + 2.0
        bx = self.box(c[0] - rr, c[0] + rr, c[1] - rr, c[1] + rr)
        if bx is not None:
            sl, x, y = bx
            out[sl] = _ellipse_sdf(x, y, c, u, a, b)
        return out

    def polygon(self, poly) -> np.ndarray:
        """Even-odd scan-line fill of a closed polygon."""
        p = np.asarray(poly, float)
        q = np.roll(p, -1, axis=0)
        ys = (self.y0 + self.h * np.arange(self.ny))[:, None]
        y1, y2 = p[None, :, 1], q[None, :, 1]
        cross = ((y1 <= ys) & (y2 > ys)) | ((y2 <= ys) & (y1 > ys))
        rows, edges = np.nonzero(cross)
        yy = ys[rows, 0]
        xa, xb, ya, yb = p[edges, 0], q[edges, 0], p[edges, 1], q[edges, 1]
        xi = xa + (yy - ya) * (xb - xa) / (yb - ya)
        cols = np.clip(np.ceil((xi - self.x0) / self.h), 0, self.nx).astype(np.int64)
        acc = np.zeros((self.ny, self.nx + 1), np.int32)
        np.add.at(acc, (rows, cols), 1)
        return (np.cumsum(acc, axis=1)[:, : self.nx] % 2).astype(bool)

    def left_of(self, fn, offset: float = 0.0) -> np.ndarray:
        """X < x(Y) + offset for x(y) given as sorted samples."""
        ys, xs = fn
        return self.X < (np.interp(self.Y[:, 0], ys, xs) + offset)[:, None]


def _bbox(mask, pad: int = 0):
    rows = np.flatnonzero(mask.any(1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(0))
    return (slice(max(rows[0] - pad, 0), rows[-1] + pad + 1),
            slice(max(cols[0] - pad, 0), cols[-1] + pad + 1))


def _away(a, b, gap: float, h: float):
    """``a`` without the points closer than ``gap`` mm to ``b``."""
    bb = _bbox(a, pad=int(gap / h) + 3)
    if bb is None or not b[bb].any():
        return a
    dist = ndi.distance_transform_edt(~b[bb]) * h
    out = a.copy()
    out[bb] &= dist > gap
    return out


def _inner(mask, h: float) -> np.ndarray:
    """Distance (mm) from inside ``mask`` to its border; 0 outside."""
    out = np.zeros(mask.shape, np.float32)
    bb = _bbox(mask, pad=1)
    if bb is not None:
        out[bb] = ndi.distance_transform_edt(mask[bb]) * h
    return out


def _largest(mask):
    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(sizes.argmax())


def _along(curve, t: float):
    """Point and unit tangent of a dense curve at arc fraction ``t``."""
    seg = np.hypot(*np.diff(curve[:, :2], axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    tt = float(np.clip(t, 0.0, 1.0)) * s[-1]
    i = int(np.clip(np.searchsorted(s, tt) - 1, 0, len(curve) - 2))
    f = (tt - s[i]) / max(seg[i], 1e-9)
    p = curve[i, :2] * (1 - f) + curve[i + 1, :2] * f
    return p, _unit(curve[i + 1, :2] - curve[i, :2])


# ----------------------------------------------------------------------------- subject
def draw_subject(seed: int) -> dict:
    """Draw one subject's anatomy in the canonical frame (nothing is rendered).

    Returns:
        {"params": JSON-serialisable draws, "geo": numpy geometry used by the renderer}.
    """
    rng = np.random.default_rng([int(seed), 1])

    def uni(a, b):
        return float(rng.uniform(a, b))

    geo: dict = {}
    # habitus and pose -----------------------------------------------------------------
    fat_ant = float(np.exp(uni(math.log(7.0), math.log(50.0))))
    fat_post = float(np.clip(0.55 * fat_ant + uni(-2.0, 10.0), 6.0, 42.0))
    pannus = max(0.0, fat_ant - 22.0) * uni(0.2, 0.9)
    scale = uni(0.86, 1.15)
    tilt = uni(-20.0, 20.0)

    # pubic symphysis and anterior abdominal wall -----------------------------------------
    a_s, ls, ts = uni(26.0, 44.0), uni(34.0, 46.0), uni(11.0, 16.0)
    u_s = _down(a_s)
    n_s = _rot(u_s, 90.0)  # posterior-superior normal
    sym_c = -0.5 * ls * u_s
    sym_top = -ls * u_s
    geo["sym"] = (sym_c, u_s, ls / 2.0, ts / 2.0)
    tr = uni(7.0, 12.0)
    lean = uni(-4.0, 14.0) + 0.25 * pannus
    r0 = sym_top + np.array([-1.5, 1.0])
    rect_ctrl = np.array([r0, r0 + (-2.0 - 0.2 * lean, -40.0), r0 + (-4.0 - 0.6 * lean, -100.0),
                          r0 + (-5.0 - lean, -170.0), (r0[0] - 5.0 - lean, Y_TOP)])
    rect_pts = _catmull(rect_ctrl, 6.0)
    geo["rectus"] = (rect_pts, tr / 2.0)
    rect_c = _interp_fn(rect_pts[:, 1], rect_pts[:, 0])

    # bladder neck, urethra, introitus, vagina --------------------------------------------
    neck = -uni(0.25, 0.45) * ls * u_s + n_s * (ts / 2.0 + uni(10.0, 18.0))
    meatus = neck + uni(32.0, 42.0) * _down(uni(-14.0, 6.0))
    intro = meatus + np.array([uni(10.0, 16.0), uni(1.0, 6.0)])
    r_u = uni(4.5, 6.0)
    geo["urethra"] = (np.array([neck, 0.5 * (neck + meatus) + (uni(-2, 2), 0.0), meatus]), r_u)

    state = str(rng.choice(UTERUS_STATES, p=[0.55, 0.15, 0.15, 0.15]))
    hyst = state == "hysterectomy"
    lv = uni(52.0, 72.0) if hyst else uni(62.0, 86.0)
    vag_gel = bool(rng.random() < 0.3)
    r_v = uni(7.0, 9.5) if vag_gel else uni(5.0, 7.0)
    a_vl, a_vu = uni(5.0, 25.0), uni(28.0, 55.0)
    d_l, d_u = _up(-a_vl), _up(-a_vu)
    v1 = intro + 0.35 * lv * d_l
    v2 = v1 + 0.35 * lv * _unit(d_l + d_u)
    vault = v2 + 0.3 * lv * d_u
    vag_ctrl = np.array([[*intro, 0.7 * r_v], [*v1, r_v], [*v2, r_v], [*vault, r_v * 1.08]])
    vag = _catmull(vag_ctrl, 3.0)
    geo["vagina"] = vag
    vag_x = _interp_fn(vag[:, 1], vag[:, 0])

    # sacrum and coccyx -------------------------------------------------------------------
    sac0 = np.array([[72, -118], [86, -100], [101, -80], [110, -58], [112, -38], [108, -22]], float)
    sac0 += np.array([uni(-8.0, 8.0), uni(-10.0, 8.0)])
    bend = uni(1.1, 1.9)
    c0, c1 = sac0[0], sac0[-1]
    ch = _unit(c1 - c0)
    proj = c0 + np.outer((sac0 - c0) @ ch, ch)
    sac = proj + bend * (sac0 - proj)
    sac = sac[0] + uni(0.9, 1.1) * (sac - sac[0])
    cang, clen = uni(-20.0, 15.0), uni(0.7, 1.25)
    cocc_ctrl = np.array([sac[-1], sac[-1] + clen * _rot((-8.0, 11.0), cang),
                          sac[-1] + clen * _rot((-16.0, 19.0), cang)])
    sac_d = _catmull(sac, 2.0)
    cocc_d = _catmull(cocc_ctrl, 1.5)
    th0 = uni(46.0, 56.0)
    rc0 = min(uni(5.0, 7.0), (0.42 * th0 - 6.0) / 2.0)
    geo["sacrum"] = (sac_d, th0, rc0)
    geo["coccyx"] = cocc_d
    prom, tip = sac_d[0], cocc_d[-1]

    def sac_ant(t, off):
        p, tan = _along(sac_d, t)
        return p + _rot(tan, -90.0) * off  # anterior normal

    # rectum and anal canal ---------------------------------------------------------------
    content = str(rng.choice(["gel", "stool", "gas", "gas_fluid", "collapsed"],
                             p=[0.38, 0.22, 0.12, 0.1, 0.18]))
    r_amp = {"gel": uni(17.0, 27.0), "stool": uni(14.0, 23.0), "gas": uni(15.0, 24.0),
             "gas_fluid": uni(15.0, 23.0), "collapsed": uni(8.0, 11.0)}[content]
    r_up = uni(9.0, 14.0) + (3.0 if content == "gel" else 0.0)
    r_arj, r_ac = uni(8.0, 11.0), uni(6.0, 8.5)
    wall_r = uni(3.0, 5.0) if content == "collapsed" else uni(2.2, 3.8)
    a0y = uni(-6.0, 14.0)
    arj = np.array([float(np.interp(a0y, *vag_x)) + r_v + r_arj + uni(3.0, 7.0), a0y])
    phi_a, la = uni(-5.0, 25.0), uni(28.0, 40.0)
    anus = arj + la * _down(phi_a)
    anus[0] = max(anus[0], intro[0] + 20.0)
    ara = uni(85.0, 128.0)
    a1 = arj + uni(16.0, 24.0) * _down(phi_a + ara)
    gap_ps = uni(4.0, 10.0) + 0.15 * fat_ant
    a2 = sac_ant(0.74, gap_ps + r_amp)
    rs_top = uni(0.2, 0.42)
    a3 = sac_ant(0.5 * (0.74 + rs_top), gap_ps + 0.6 * r_amp + 0.4 * r_up)
    a4 = sac_ant(rs_top, gap_ps + r_up + uni(3.0, 12.0))
    rect_ctrl2 = np.array([[*arj, r_arj], [*a1, 0.9 * r_amp], [*a2, r_amp],
                           [*a3, 0.6 * r_amp + 0.4 * r_up], [*a4, 0.9 * r_up]])
    rectum = _catmull(rect_ctrl2, 3.5)
    geo["rectum"] = rectum
    geo["anal"] = (anus, arj, r_ac)

    # bladder -----------------------------------------------------------------------------
    fill = float(rng.uniform(0.0, 1.0))
    rb = 13.0 + 36.0 * fill**0.85
    ecc = min(0.34 + 1.1 * fill, 1.45)
    bax, bay = rb / math.sqrt(ecc), max(rb * math.sqrt(ecc), 9.0)
    beta = uni(-12.0, 12.0) + 18.0 * (1.0 - fill)
    ub = _rot((1.0, 0.0), beta)
    ext_y = math.sqrt((bax * ub[1]) ** 2 + (bay * ub[0]) ** 2)
    bcx = min(neck[0] + uni(0.0, 0.3) * bax, vault[0] - 0.75 * bax)
    bc = np.array([max(bcx, neck[0] - 0.15 * bax), neck[1] - 3.0 - ext_y])
    lobes = []
    for _ in range(int(rng.integers(0, 2 + int(2.5 * fill)))):
        ang = uni(0.0, 360.0)
        d = _rot((1.0, 0.0), ang)
        rim = bc + d * (bax * bay / math.hypot(bay * (d @ ub), bax * (d @ _rot(ub, 90.0))))
        lobes.append((rim - d * 0.35 * rb, uni(0.18, 0.32) * rb))
    wall_b = 2.2 + 6.0 * (1.0 - fill) ** 1.6 + uni(-0.4, 0.8)
    geo["bladder"] = dict(c=bc, u=ub, a=bax, b=bay, neck=neck, lobes=lobes, r_n=uni(6.0, 9.0))

    def bladder_sdf(x, y):
        f = _ellipse_sdf(x, y, bc, ub, bax, bay)
        f = _smin(f, _tube_sdf(x, y, np.array([neck, neck + 0.35 * (bc - neck)]),
                               geo["bladder"]["r_n"]), 9.0)
        for lc, lr in lobes:
            f = _smin(f, np.hypot(x - lc[0], y - lc[1]) - lr, 6.0)
        return f

    geo["bladder_sdf"] = bladder_sdf

    # uterus ------------------------------------------------------------------------------
    version = drawn_version = "none"
    psi = 0.0
    body = None
    fibroids = []
    et = jz = 0.0
    lb = wb = lc = rc = 0.0
    if not hyst:
        u_c = _rot(d_u, uni(-8.0, 25.0))
        if state == "atrophic":
            lc, rc, lb, wb = uni(16.0, 24.0), uni(8.0, 11.0), uni(24.0, 38.0), uni(15.0, 24.0)
            et, jz = uni(1.0, 3.0), 0.0
        elif state == "enlarged_fibroid":
            lc, rc, lb, wb = uni(24.0, 34.0), uni(13.0, 17.0), uni(68.0, 105.0), uni(48.0, 75.0)
            et, jz = uni(3.0, 10.0), uni(3.0, 8.0)
        else:
            lc, rc, lb, wb = uni(22.0, 34.0), uni(11.0, 15.0), uni(45.0, 66.0), uni(32.0, 46.0)
            et, jz = uni(3.0, 14.0), uni(3.0, 9.0)
        iso = vault + lc * u_c
        geo["cervix"] = (np.array([vault - 8.0 * d_u, vault, iso]),
                         np.array([0.8 * rc, rc, 0.95 * rc]))
        vr = rng.random()
        version = "anteverted" if vr < 0.72 else ("retroverted" if vr < 0.92 else "mid")
        if version == "anteverted":
            psi = uni(75.0, 112.0) - 55.0 * fill
        elif version == "retroverted":
            psi = uni(-105.0, -45.0) + 20.0 * fill
        else:
            psi = uni(-20.0, 35.0)
        kappa = uni(-15.0, 15.0)
        r_end = 0.46 * wb

        def body_axis(psi_):
            la_ = max(lb - r_end, 5.0)
            pts, p = [iso.copy()], iso.copy()
            for k, frac in enumerate((0.35, 0.35, 0.3)):
                p = p + frac * la_ * _up(psi_ + kappa * (k + 0.5) / 3.0)
                pts.append(p.copy())
            return np.array(pts), np.array([0.95 * rc, 0.45 * wb, 0.5 * wb, r_end])

        def clearance(psi_):
            pts, rr = body_axis(psi_)
            dense = _catmull(np.column_stack([pts, rr]), 4.0)
            cb = float(np.min(bladder_sdf(dense[:, 0], dense[:, 1]) - dense[:, 2]))
            cr = float(np.min(_tube_sdf(dense[:, 0], dense[:, 1], rectum[:, :2], rectum[:, 2])
                              - dense[:, 2]))
            bone = np.vstack([sac_d, cocc_d])
            dd = np.hypot(dense[:, None, 0] - bone[None, :, 0],
                          dense[:, None, 1] - bone[None, :, 1])
            cs = float(np.min(dd.min(1) - dense[:, 2]))
            return cb, cr, cs

        # place the body where it rests on (at most slightly indents) the bladder and
        # keeps off the rectum and the sacrum, as close as possible to the drawn angle
        lo_hi = {"anteverted": (-30.0, 125.0), "retroverted": (-115.0, 25.0),
                 "mid": (-45.0, 55.0)}[version]
        best = None
        for cand in np.arange(lo_hi[0], lo_hi[1] + 0.1, 3.0):
            cb, cr, cs = clearance(float(cand))
            allow_r = 0.3 if version == "retroverted" else 0.12
            pen = (max(0.0, -cb - 0.2 * wb) + max(0.0, -cr - allow_r * wb)
                   + 2.0 * max(0.0, 3.0 - cs))
            cost = 10.0 * pen + 0.3 * abs(cand - psi)
            if version == "anteverted":
                cost += 3.0 * max(0.0, cb - 3.0)
            if best is None or cost < best[0]:
                best = (cost, float(cand))
        psi = best[1]
        drawn_version = version
        version = "anteverted" if psi > 20.0 else ("retroverted" if psi < -20.0 else "mid")
        pts, rr = body_axis(psi)
        body = _catmull(np.column_stack([pts, rr]), 3.0)
        geo["body"] = body
        # endometrial stripe along the axis
        ax_len = np.hypot(*np.diff(body[:, :2], axis=0).T).sum()
        n_e = max(int(0.8 * ax_len / 3.0), 3)
        ep = np.array([_along(body, t)[0] for t in np.linspace(0.04, 0.8, n_e)])
        er = 0.5 * et * np.sin(np.linspace(0.35, 2.6, n_e)) ** 0.7 + 0.4
        geo["endometrium"] = (ep, er, jz)
        if state == "enlarged_fibroid":
            for _ in range(int(rng.integers(1, 5))):
                t = uni(0.2, 0.95)
                p, tan = _along(body, t)
                rad_local = float(np.interp(t, np.linspace(0, 1, len(body)), body[:, 2]))
                side = 1.0 if rng.random() < 0.5 else -1.0
                off = uni(0.0, 1.0) * rad_local
                fr = uni(8.0, 28.0)
                fibroids.append((p + side * off * _rot(tan, 90.0), fr, bool(rng.random() < 0.25)))
            geo["fibroids"] = fibroids
        geo["nabothian"] = [float(x) for x in rng.uniform(0.2, 0.9, int(rng.integers(0, 3)))]

    # lumbar spine above the promontory ---------------------------------------------------
    tan0 = _unit(sac_d[3] - sac_d[0])
    e = _rot(tan0, 90.0)  # S1 endplate direction, posterior
    dv = 0.58 * th0 * uni(0.95, 1.12)
    wc = 2.0 * rc0 * uni(1.1, 1.4)
    a_prev, p_prev = prom.copy(), prom + dv * e
    verts, discs, spinous = [], [], []
    heights = []
    for level in range(6):
        heights.append(("disc", uni(9.0, 14.0), uni(5.0, 8.0)))
        hp = uni(23.0, 27.0) if level == 0 else uni(25.0, 28.0)
        heights.append(("body", uni(26.0, 30.0), hp))
    canal = [prom + e * (0.58 * th0 + 2.0 + rc0)]
    for kind, ha, hp in heights:
        nu = _rot(e, 90.0)
        a1_, p1_ = a_prev + ha * nu, p_prev + hp * nu
        poly = np.array([a_prev, p_prev, p1_, a1_])
        (discs if kind == "disc" else verts).append(poly)
        e = _unit(p1_ - a1_)
        if kind == "body":
            mid = 0.5 * (p_prev + p1_)
            base = mid + e * (2.0 + wc + 2.0)
            spinous.append((base, base + uni(20.0, 28.0) * _rot(e, -18.0), uni(6.0, 8.5)))
            canal.append(mid + e * (2.0 + wc / 2.0))
        a_prev, p_prev = a1_, a1_ + dv * e
        if a_prev[1] < Y_TOP + 60:
            break
    canal.append(canal[-1] + (0.0, -200.0))
    geo["spine"] = dict(verts=verts, discs=discs, spinous=spinous, canal=np.array(canal),
                        wc=wc, degenerate=bool(rng.random() < 0.3))
    ant_line = [prom] + [v[3] for v in verts] + [d[3] for d in discs]
    ant_line = np.array(sorted(ant_line, key=lambda p: -p[1]))
    spine_ant = _interp_fn(np.concatenate([ant_line[:, 1], sac_d[:, 1], cocc_d[:, 1], [Y_TOP]]),
                           np.concatenate([ant_line[:, 0], sac_d[:, 0], cocc_d[:, 0],
                                           [ant_line[-1, 0]]]))
    geo["spine_ant"] = spine_ant

    # posterior muscle line and skin, anterior skin, body outline -------------------------
    m_l, m_s = uni(6.0, 16.0), uni(5.0, 14.0)
    musc = [(sp[1][0] + m_l, sp[1][1]) for sp in spinous]
    for t in np.linspace(0.0, 1.0, 9):
        p, tan = _along(sac_d, t)
        musc.append(tuple(p + _rot(tan, 90.0) * (th0 * (1.0 - 0.72 * t) + m_s)))
    musc.append(tuple(tip + np.array([14.0 + m_s, -4.0])))
    musc = np.array(sorted(musc, key=lambda p: p[1]))
    musc = np.vstack([[musc[0, 0], Y_TOP], musc])
    musc_x = _interp_fn(musc[:, 1], musc[:, 0])
    geo["musc_x"] = musc_x
    y_p = sym_top[1] - 45.0
    ys_a = np.arange(Y_TOP, sym_top[1] - 20.0, 5.0)
    x_a = (np.interp(ys_a, *rect_c) - tr / 2.0 - fat_ant
           - pannus * np.exp(-(((ys_a - y_p) / 45.0) ** 2)))
    ys_b = np.arange(tip[1], Y_TOP, -5.0)
    x_b = ndi.uniform_filter1d(np.interp(ys_b, *musc_x), 7, mode="nearest") + fat_post
    perineum = np.array([0.5 * (intro[0] + anus[0]), max(intro[1], anus[1]) + uni(1.0, 6.0)])
    inferior = np.array([
        (sym_c[0] - ts / 2.0 - 6.0 - 0.85 * fat_ant, sym_c[1]),
        (-10.0 - 0.6 * fat_ant, 8.0 + 0.15 * fat_ant),
        (meatus[0] - 8.0 - 0.25 * fat_ant, meatus[1] + 4.0 + 0.1 * fat_ant),
        (meatus[0], meatus[1] + 1.5),
        (intro[0], intro[1] + 1.5),
        tuple(perineum),
        (anus[0], anus[1] + 1.5),
        (anus[0] + 18.0, anus[1] + 2.0 + 0.15 * fat_post),
        (tip[0] + 20.0 + 0.6 * fat_post, tip[1] + 28.0 + 0.3 * fat_post),
        (x_b[0], ys_b[0]),
    ])
    inf_d = _catmull(np.vstack([[x_a[-1], ys_a[-1]], inferior]), 2.0)
    outline = np.vstack([np.column_stack([x_a, ys_a]), inf_d, np.column_stack([x_b, ys_b])[1:]])
    geo["outline"] = outline
    geo["front_pts"] = np.column_stack([x_a, ys_a])
    # pelvic cavity (pelvic fat, bowel, mobile tissue)
    ys_r = np.arange(Y_TOP, sym_top[1], 5.0)
    rback = np.column_stack([np.interp(ys_r, *rect_c) + tr / 2.0, ys_r])
    floor = np.array([sym_top + n_s * ts / 2.0, n_s * ts / 2.0, meatus + (3.0, -8.0),
                      intro + (0.0, -8.0), anus + (-4.0, -10.0), tip])
    back = np.vstack([sac_d[::-1], ant_line, [[ant_line[-1, 0], Y_TOP]]])
    geo["cavity"] = np.vstack([rback, floor, cocc_d[::-1], back])
    geo["front_x"] = _interp_fn(ys_a, x_a)
    geo["back_x"] = _interp_fn(ys_b, x_b)
    geo["rect_back"] = _interp_fn(ys_r, rback[:, 0])

    # key points
    geo.update(neck=neck, meatus=meatus, intro=intro, vault=vault, arj=arj, anus=anus,
               prom=prom, tip=tip, sym_top=sym_top, n_s=n_s, ts=ts, r_v=r_v, r_u=r_u,
               wall_b=wall_b, wall_r=wall_r, content=content, vag_gel=vag_gel, d_u=d_u,
               perineum=perineum, fat_ant=fat_ant, fat_post=fat_post)

    # the region the field of view has to cover (canonical mm)
    req = [sym_top + (-ts, -4.0), anus + (0.0, 10.0), tip + (6.0, 0.0), prom + (0.0, -10.0)]
    for ang in range(0, 360, 30):
        d = _rot((1.0, 0.0), ang)
        req.append(bc + d * (bax * bay / math.hypot(bay * (d @ ub), bax * (d @ _rot(ub, 90.0)))))
        for curve in [rectum] + ([body] if body is not None else []):
            for p in curve[::3]:
                req.append(p[:2] + d * p[2])
        for fc, fr, _ in fibroids:
            req.append(fc + d * fr)
    req.append(sac_ant(0.5, -th0 * 0.5))
    geo["required"] = np.array(req)

    params = {
        "scale": round(scale, 4),
        "tilt_deg": round(tilt, 2),
        "fat_anterior_mm": round(fat_ant, 2),
        "fat_posterior_mm": round(fat_post, 2),
        "bladder_fill": round(fill, 4),
        "bladder_wall_mm": round(wall_b, 2),
        "uterus": state,
        "version": version,
        "version_drawn": drawn_version,
        "body_angle_deg": round(psi, 1),
        "uterus_length_mm": round(lb, 1),
        "uterus_thickness_mm": round(wb, 1),
        "cervix_length_mm": round(lc, 1),
        "endometrium_mm": round(et, 2),
        "junctional_zone_mm": round(jz, 2),
        "n_fibroids": len(fibroids),
        "vagina_length_mm": round(lv, 1),
        "vaginal_gel": vag_gel,
        "rectal_content": content,
        "rectal_ampulla_radius_mm": round(r_amp, 2),
        "anorectal_angle_deg": round(ara, 1),
        "presacral_gap_mm": round(gap_ps, 2),
        "sacral_curvature": round(bend, 3),
        "coccyx_angle_deg": round(cang, 1),
        "symphysis_angle_deg": round(a_s, 1),
    }
    return {"params": params, "geo": geo}


# ----------------------------------------------------------------------------- reference
def _paint_bowel(rng, grid, tis, free, region_center, n_max, r_range, kinds, placed, h):
    """Pack bowel loops (label 0) into free space; returns the list of placed circles."""
    ys, xs = np.nonzero(free > r_range[0] + 1.0)
    if ys.size == 0:
        return placed
    wy = np.exp(-(((grid.Y[ys, 0] - region_center[1]) / 120.0) ** 2)
                - (((grid.X[0, xs] - region_center[0]) / 120.0) ** 2))
    keys = np.log(wy + 1e-12) - np.log(-np.log(rng.random(ys.size) + 1e-12))  # Gumbel top-k
    order = np.argsort(-keys)[: 40 * n_max]
    count = 0
    for k in order:
        if count >= n_max:
            break
        k = int(k)
        cy, cx = float(grid.Y[ys[k], 0]), float(grid.X[0, xs[k]])
        r = min(float(rng.uniform(*r_range)), float(free[ys[k], xs[k]]) - 1.0)
        if placed:
            pl = np.asarray(placed)
            r = min(r, float(np.min(np.hypot(pl[:, 0] - cx, pl[:, 1] - cy) - pl[:, 2])) - 0.4)
        if r < r_range[0]:
            continue
        placed.append((cx, cy, r))
        count += 1
        c = np.array([cx, cy])
        u = _rot((1.0, 0.0), float(rng.uniform(0, 180)))
        if rng.random() < 0.45:  # oblong section of a loop
            rt = r * float(rng.uniform(0.5, 0.75))
            f = grid.tube(np.array([c - (r - rt) * u, c + (r - rt) * u]), rt)
        else:
            f = grid.ellipse(c, u, r, r / float(rng.uniform(1.0, 1.5)))
        m = f < 0
        bb = _bbox(m, 1)
        if bb is None:
            continue
        mm = m[bb]
        inner = ndi.distance_transform_edt(mm) * h
        wall = float(rng.uniform(1.3, 2.6))
        kind = str(rng.choice(kinds[0], p=kinds[1]))
        sub = tis[bb]
        sub[mm] = K["bowel_wall"]
        lumen = inner > wall
        if kind == "fluid":
            sub[lumen] = K["bowel_fluid"]
        elif kind == "feathery":
            sub[inner > 0.6 * wall] = K["bowel_feathery"]
        elif kind == "gas":
            sub[lumen] = K["gas"]
        elif kind == "stool":
            sub[lumen] = K["stool"]
            xx = grid.X[:, bb[1]]
            sub[lumen & (xx < cx - 0.4 * r)] = K["gas"]
        else:  # fluid with a gas cap anteriorly (supine: anterior is up)
            xx = grid.X[:, bb[1]]
            sub[lumen] = K["bowel_fluid"]
            sub[lumen & (xx < cx - float(rng.uniform(0.2, 0.6)) * r)] = K["gas"]
    return placed


def build_reference(sub: dict, grid: _Grid, rng: np.random.Generator) -> dict:
    """Paint the canonical tissue map and label map; return masks the motion needs."""
    geo = sub["geo"]
    h = grid.h
    X, Y = grid.X, grid.Y
    tis = np.zeros(grid.shape, np.uint8)
    body = grid.polygon(geo["outline"])
    cavity = grid.polygon(geo["cavity"]) & body
    tis[body] = K["fat"]
    tis[cavity] = K["pelvic_fat"]
    if rng.random() < 0.45:  # medial thigh partly in the slice, below the perineum
        gap_t = float(rng.uniform(2.0, 12.0))
        tc = geo["meatus"] + np.array([rng.uniform(-40, 0), rng.uniform(60, 90)])
        thigh = (grid.ellipse(tc, _unit((1.0, rng.uniform(-0.3, 0.3))), rng.uniform(70, 110),
                              rng.uniform(45, 70)) < 0) & (Y > geo["meatus"][1] - 10.0)
        thigh = _away(thigh, body, gap_t, h)
        if thigh.any():
            tis[thigh] = K["fat"]
            ti = _inner(thigh, h)
            tis[thigh & (ti > rng.uniform(10, 25))] = K["muscle"]
            tis[thigh & (ti < 1.5)] = K["skin"]

    # muscles -------------------------------------------------------------------------------
    rect_pts, rt = geo["rectus"]
    rectus = (grid.tube(rect_pts, rt) < 0) & body
    tis[rectus] = K["muscle"]
    back_region = ~grid.left_of(geo["spine_ant"], 1.0) & (Y < geo["tip"][1])
    back_musc = back_region & grid.left_of(geo["musc_x"]) & body
    tis[back_musc] = K["muscle"]
    skin = body & (_inner(body, h) < float(rng.uniform(1.0, 2.0)))
    tis[skin] = K["skin"]
    arj, anus, r_ac = geo["anal"][1], geo["anal"][0], geo["anal"][2]
    rect_d = geo["rectum"]
    post = _unit(np.array([1.0, 0.15]))
    pr_c = arj + post * (geo["anal"][2] + 9.0) + np.array([0.0, 4.0])
    tis[(grid.ellipse(pr_c, _unit((1.0, -0.4)), rng.uniform(7, 10), rng.uniform(5, 7)) < 0)
        & body] = K["muscle"]
    lev = (grid.tube(np.array([pr_c, 0.5 * (pr_c + geo["tip"]) + (0.0, 3.0), geo["tip"]]),
                     [rng.uniform(3.5, 5.0), rng.uniform(3.0, 4.5), 2.5]) < 0) & body
    tis[lev] = K["muscle"]
    eas_r = r_ac + float(rng.uniform(3.0, 6.0))
    eas = grid.tube(np.array([arj + (0, -3.0), anus + (0.0, 2.0)]), [eas_r - 1, eas_r]) < 0
    tis[eas & body] = K["muscle"]
    tis[(grid.tube(np.array([anus + (4.0, -4.0), geo["tip"]]), 1.4) < 0) & body] = K["ligament"]
    # perineal soft tissue (perineal membrane, transverse perinei, levator partial volume)
    pm = np.array([np.array([4.0, 8.0]), 0.5 * (geo["intro"] + anus) + (0.0, -12.0),
                   anus + (10.0, -8.0)])
    tis[(grid.tube(pm, [rng.uniform(6, 10), rng.uniform(9, 14), rng.uniform(7, 11)]) < 0)
        & body & ~skin] = K["perineal_body"]
    pb_c = 0.5 * (geo["intro"] + anus) + np.array([0.0, -6.0])
    tis[(grid.ellipse(pb_c, _unit(anus - geo["intro"]), rng.uniform(8, 12), rng.uniform(6, 9)) < 0)
        & body] = K["perineal_body"]
    # urethra (label 0): sphincter, wall, mucosa; clitoris below the symphysis
    upts, r_u = geo["urethra"]
    uf = grid.tube(upts, r_u)
    tis[(uf < 2.0) & body] = K["muscle"]
    tis[(uf < 0) & body] = K["urethra"]
    tis[(grid.tube(upts, rng.uniform(1.2, 2.2)) < 0) & body] = K["urethra_mucosa"]
    cl0 = np.array([-6.0, 4.0])
    tis[(grid.tube(np.array([cl0, geo["meatus"] + (-11.0, -3.0)]), [3.5, 2.5]) < 0) & body] \
        = K["erectile"]

    # vessels --------------------------------------------------------------------------------
    verts = geo["spine"]["verts"]
    if verts:
        v5 = verts[0]
        ea = _unit(v5[1] - v5[0])
        cv = 0.5 * (v5[0] + v5[3]) - ea * rng.uniform(8.0, 12.0)
        tis[(grid.ellipse(cv, _unit(v5[3] - v5[0]), rng.uniform(7, 11), rng.uniform(4, 7)) < 0)
            & cavity] = K["vein"]
        if len(verts) > 1:
            v4 = verts[1]
            ca = 0.5 * (v4[0] + v4[3]) - _unit(v4[1] - v4[0]) * rng.uniform(8.0, 11.0)
            tis[(grid.ellipse(ca, _unit(v4[3] - v4[0]), rng.uniform(5, 8), rng.uniform(4, 6)) < 0)
                & cavity] = K["artery"]
    sac_d, th0, rc0 = geo["sacrum"]
    msa = np.array([_along(sac_d, t)[0] + _rot(_along(sac_d, t)[1], -90.0) * 2.0
                    for t in np.linspace(0.0, 0.6, 8)])
    tis[(grid.tube(msa, 0.9) < 0) & cavity] = K["artery"]
    for _ in range(int(rng.integers(4, 12))):  # perivesical / paravaginal venous plexus
        t = float(rng.uniform(0.1, 0.9))
        p, tan = _along(geo["vagina"], t)
        side = 90.0 * (1 if rng.random() < 0.5 else -1)
        c = p + _rot(tan, side) * (geo["r_v"] + rng.uniform(2, 9))
        vm = grid.ellipse(c, tan, rng.uniform(1.0, 3.5), rng.uniform(0.8, 2.0)) < 0
        tis[vm & body] = K["vein"]

    # bones ------------------------------------------------------------------------------------
    bone = np.zeros(grid.shape, bool)
    marrow_parts = []
    sc, us, sa, sb = geo["sym"]
    symph = grid.ellipse(sc, us, sa, sb) < 0
    marrow_parts.append(symph)
    tn = np.linspace(0.0, 1.0, len(sac_d))
    tan = np.gradient(sac_d, axis=0)
    tan /= np.hypot(tan[:, 0], tan[:, 1])[:, None]
    npost = np.column_stack([tan[:, 1], -tan[:, 0]])
    thick = th0 * (1.0 - 0.72 * tn)
    sacrum = grid.polygon(np.vstack([sac_d, (sac_d + npost * thick[:, None])[::-1]]))
    marrow_parts.append(sacrum)
    cocc = geo["coccyx"]
    ct = np.gradient(cocc, axis=0)
    ct /= np.hypot(ct[:, 0], ct[:, 1])[:, None]
    cthick = np.linspace(thick[-1] * 0.8, 4.0, len(cocc))
    coccyx = grid.polygon(np.vstack([cocc, (cocc + np.column_stack([ct[:, 1], -ct[:, 0]])
                                             * cthick[:, None])[::-1]]))
    marrow_parts.append(coccyx)
    sp = geo["spine"]
    for poly in sp["verts"]:
        cen = poly.mean(0)
        marrow_parts.append(grid.polygon(cen + 0.97 * (poly - cen)))
    for base, tipp, rr in sp["spinous"]:
        marrow_parts.append(grid.tube(np.array([base, tipp]), [rr, rr * 0.8]) < 0)
    for m in marrow_parts:
        bone |= m
    bone &= body
    tis[bone] = K["marrow"]
    cort = bone & (_inner(bone, h) < float(rng.uniform(1.2, 2.2)))
    tis[cort] = K["cortex"]
    # discs, fused sacral disc remnants, coccygeal joints, canal
    for poly in sp["discs"]:
        dm = grid.polygon(poly) & body
        tis[dm] = K["annulus"]
        cen = poly.mean(0)
        if not sp["degenerate"]:
            tis[(grid.ellipse(cen, _unit(poly[1] - poly[0]), 0.3 * np.hypot(*(poly[1] - poly[0])),
                              0.22 * np.hypot(*(poly[3] - poly[0]))) < 0) & dm] = K["nucleus"]
    for t in (0.2, 0.37, 0.53, 0.68):
        p, tg = _along(sac_d, t)
        nn = _rot(tg, 90.0)
        tis[(grid.tube(np.array([p + nn * 1.5, p + nn * 0.5 * th0 * (1 - 0.72 * t)]), 0.7) < 0)
            & sacrum] = K["annulus"]
    for t in (0.0, 0.4, 0.72):
        p, tg = _along(cocc, t)
        nn = _rot(tg, 90.0)
        tis[(grid.tube(np.array([p - nn * 2.0, p + nn * 12.0]), 0.8) < 0) & coccyx] = K["annulus"]
    canal_l = sp["canal"]
    cs = [canal_l[0]]
    for t in np.linspace(0.0, 0.8, 9):
        p, tg = _along(sac_d, t)
        th = th0 * (1 - 0.72 * t)
        cs.append(p + _rot(tg, 90.0) * (0.58 * th + 2.0 + rc0 * (1 - 0.7 * t)))
    sac_canal = np.array(cs[1:])[::-1]
    rs = np.array([rc0 * (1 - 0.7 * t) for t in np.linspace(0.0, 0.8, 9)])[::-1]
    tis[(grid.tube(sac_canal, rs) < 0) & body] = K["fat"]
    dural_end = float(rng.uniform(0.2, 0.45))
    tis[(grid.tube(np.array([_along(sac_d, dural_end)[0]
                             + _rot(_along(sac_d, dural_end)[1], 90.0)
                             * (0.58 * th0 * (1 - 0.72 * dural_end) + 2 + rc0 * 0.8)]
                            + [c for c in canal_l]), [rc0 * 0.7] + [sp["wc"] / 2.0] * len(canal_l))
         < 0) & body] = K["csf"]
    for off in (-0.25, 0.2):
        nerve = canal_l + np.array([0.0, 0.0]) + off * sp["wc"] * np.array([1.0, 0.0])
        tis[(grid.tube(nerve, 0.8) < 0) & (tis == K["csf"])] = K["nerve"]

    # organs ------------------------------------------------------------------------------------
    gap = float(rng.uniform(1.2, 2.8))
    inside = body & (_inner(body, h) > 0.5)
    rect_f = grid.tube(rect_d[:, :2], rect_d[:, 2])
    ac_f = grid.tube(np.array([anus + (0.0, 4.0), arj]), [r_ac * 0.85, r_ac])
    R = (np.minimum(rect_f, ac_f) < 0) & inside
    R = _away(R, bone, 2.0, h)
    B = (geo["bladder_sdf"](X, Y) < 0) & inside
    vag_d = geo["vagina"]
    Vg = (grid.tube(vag_d[:, :2], vag_d[:, 2]) < 0) & inside
    Cx = np.zeros(grid.shape, bool)
    Bo = np.zeros(grid.shape, bool)
    body_f = None
    if "cervix" in geo:
        cpts, crad = geo["cervix"]
        Cx = (grid.tube(cpts, crad) < 0) & inside
        body_f = grid.tube(geo["body"][:, :2], geo["body"][:, 2])
        for fc, fr, _ in geo.get("fibroids", []):
            body_f = _smin(body_f, np.hypot(X - fc[0], Y - fc[1]) - fr, 4.0)
        Bo = (body_f < 0) & inside
    Vg, Cx, Bo = (_away(m, R, gap, h) for m in (Vg, Cx, Bo))
    B = _away(B, R, gap, h)
    B = _away(B, Vg | Cx, gap, h)
    B = _away(B, bone, 3.0, h)
    B = _away(B, rectus, 2.5, h)
    params = sub["params"]
    if params["bladder_fill"] > 0.35 or params["version"] != "anteverted":
        Bo = _away(Bo, B, gap, h)
    else:
        B = _away(B, Bo, gap, h)
    Ut = Vg | Cx | Bo
    Ut = _away(Ut, B, gap, h)
    Ut = _away(Ut, bone, 2.0, h)
    Ut = _away(Ut, rectus, 2.0, h)
    B, Ut, R = _largest(B), _largest(Ut), _largest(R)
    organs = B | Ut | R

    # free space for bowel, ovary and fluid (label 0) ------------------------------------------
    forb = organs | bone | rectus | ~cavity | (Y > geo["vault"][1] + 6.0)
    forb |= tis == K["vein"]
    forb |= tis == K["artery"]
    free = ndi.distance_transform_edt(~forb) * h
    placed: list = []
    extras = {"ovary": False, "peritoneal_fluid": False}
    if params["uterus"] in ("normal", "enlarged_fibroid") and rng.random() < 0.35:
        # an ovary partly in the slice, near the fundus
        fund = geo["body"][-1, :2]
        ys, xs = np.nonzero(free > 9.0)
        if ys.size:
            dd = np.hypot(X[0, xs] - fund[0], Y[ys, 0] - fund[1])
            k = int(np.argmin(np.abs(dd - 30.0) + rng.uniform(0, 15, dd.size)))
            oc = np.array([X[0, xs[k]], Y[ys[k], 0]])
            oa = min(float(rng.uniform(11, 17)), float(free[ys[k], xs[k]]) - 1.0)
            ou = _rot((1.0, 0.0), float(rng.uniform(0, 180)))
            om = (grid.ellipse(oc, ou, oa, 0.65 * oa) < 0) & ~forb
            tis[om] = K["ovary"]
            for _ in range(int(rng.integers(2, 8))):
                fcn = oc + _rot(ou, float(rng.uniform(0, 360))) * rng.uniform(0, 0.5 * oa)
                tis[(np.hypot(X - fcn[0], Y - fcn[1]) < rng.uniform(1.5, 4.5)) & om] = K["follicle"]
            placed.append((float(oc[0]), float(oc[1]), oa))
            extras["ovary"] = True
    if rng.random() < 0.3:  # a little free fluid in the pouch of Douglas
        pc = 0.5 * (geo["vault"] + geo["rectum"][len(geo["rectum"]) // 2, :2]) + (0.0, -8.0)
        fm = (np.hypot(X - pc[0], (Y - pc[1]) * 1.3) < rng.uniform(6.0, 14.0)) & (free > 0.8)
        if fm.any():
            tis[fm] = K["fluid"]
            extras["peritoneal_fluid"] = True
            free = np.where(fm, 0.0, free)
    top = geo["rectum"][-1, :2]
    placed = _paint_bowel(rng, grid, tis, free, top + (-10.0, -20.0), int(rng.integers(1, 4)),
                          (11.0, 19.0), (["stool", "gas", "mixed"], [0.55, 0.2, 0.25]), placed, h)
    density = float(rng.uniform(0.35, 1.0))
    placed = _paint_bowel(rng, grid, tis, free, geo["vault"] + (-20.0, -60.0), int(110 * density),
                          (6.0, 17.0), (["fluid", "feathery", "gas", "mixed"],
                                        [0.38, 0.4, 0.07, 0.15]), placed, h)
    fat_now = (tis == K["pelvic_fat"]) & (free > 2.5)
    ys, xs = np.nonzero(fat_now)
    for _ in range(min(int(rng.integers(10, 40)), ys.size)):
        k = int(rng.integers(ys.size))
        c = (X[0, xs[k]], Y[ys[k], 0])
        tis[(np.hypot(X - c[0], Y - c[1]) < rng.uniform(0.8, 2.0)) & fat_now] = \
            K["vein"] if rng.random() < 0.6 else K["artery"]

    # organ interiors --------------------------------------------------------------------------
    # bladder: wall and urine
    bi = _inner(B, h)
    tis[B] = K["bladder_wall"]
    tis[B & (bi > geo["wall_b"])] = K["urine"]
    # rectum: muscular wall, mucosa, content; anal canal: internal sphincter + mucosa
    ri = _inner(R, h)
    upper = R & (rect_f <= ac_f) & (np.hypot(X - arj[0], Y - arj[1]) > 4.0)
    tis[R] = K["ias"]
    tis[upper] = K["rect_wall"]
    wr = geo["wall_r"]
    tis[upper & (ri > wr - 1.2)] = K["rect_mucosa"]
    lumen = upper & (ri > wr)
    content = geo["content"]
    lb = _bbox(lumen)
    if lb is not None:
        lx = np.broadcast_to(X, grid.shape)[lumen]
        if content == "gel":
            tis[lumen] = K["gel"]
            if rng.random() < 0.5:
                xmin = float(lx.min())
                for _ in range(int(rng.integers(1, 5))):
                    idx = np.flatnonzero(lx < xmin + 4.0)
                    k = int(rng.choice(idx))
                    yy = np.broadcast_to(Y, grid.shape)[lumen][k]
                    bub = np.hypot(X - lx[k] - 1.0, Y - yy) < rng.uniform(1.5, 4.0)
                    tis[bub & lumen] = K["gas"]
        elif content == "stool":
            tis[lumen] = K["stool"]
            yy_all = np.broadcast_to(Y, grid.shape)[lumen]
            for _ in range(int(rng.integers(4, 16))):
                k = int(rng.integers(lx.size))
                tis[(np.hypot(X - lx[k], Y - yy_all[k]) < rng.uniform(0.8, 3.0)) & lumen] = K["gas"]
        elif content in ("gas", "gas_fluid"):
            tis[lumen] = K["gas"]
            q = rng.uniform(0.7, 0.88) if content == "gas" else rng.uniform(0.35, 0.6)
            level = float(np.quantile(lx, q))
            tis[lumen & (X > level)] = K["bowel_fluid"] if rng.random() < 0.6 else K["stool"]
        else:
            tis[lumen] = K["rect_mucosa"]
    tis[(grid.tube(np.array([anus + (0.0, 3.0), arj]), rng.uniform(0.8, 1.6)) < 0) & R & ~upper] \
        = K["rect_mucosa"]
    # uterus / vagina
    tis[Ut] = K["vag_wall"]
    if geo["vag_gel"]:
        tis[(grid.tube(vag_d[:, :2], np.maximum(vag_d[:, 2] - rng.uniform(2.0, 3.0), 1.0)) < 0)
            & Ut] = K["gel"]
    else:
        tis[(grid.tube(vag_d[2:-2, :2], rng.uniform(0.6, 1.3)) < 0) & Ut] = K["vag_mucus"]
    if "cervix" in geo:
        cpts = geo["cervix"][0]
        tis[Cx & Ut] = K["cervix"]
        tis[(grid.tube(np.array([cpts[0] + 0.5 * (cpts[1] - cpts[0]), cpts[2]]),
                       rng.uniform(0.8, 1.6)) < 0) & Cx & Ut] = K["cervix_canal"]
        for t in geo["nabothian"]:
            p = cpts[1] + t * (cpts[2] - cpts[1]) + _rot(_unit(cpts[2] - cpts[1]), 90) \
                * rng.uniform(-6, 6)
            tis[(np.hypot(X - p[0], Y - p[1]) < rng.uniform(1.5, 4.0)) & Cx & Ut] = K["follicle"]
        bo = Bo & Ut
        tis[bo] = K["myometrium"]
        ep, er, jz = geo["endometrium"]
        ef = grid.tube(ep, er)
        if jz > 0:
            tis[bo & (ef < jz)] = K["junctional"]
        tis[bo & (ef < 0)] = K["endometrium"]
        for fc, fr, degen in geo.get("fibroids", []):
            fm = (np.hypot(X - fc[0], Y - fc[1]) < fr) & Ut
            tis[fm] = K["fibroid"]
            if degen:
                tis[fm & (np.hypot(X - fc[0], Y - fc[1]) < 0.5 * fr)] = K["fibroid_degen"]

    lab = np.zeros(grid.shape, np.uint8)
    lab[B] = 1
    lab[Ut] = 2
    lab[R] = 3
    anchor = (bone | (back_region & body)
              | (grid.left_of(geo["rect_back"]) & (Y < geo["sym_top"][1])))
    ant_wall = grid.left_of(geo["rect_back"], 8.0) & body & (Y < geo["sym_top"][1] + 10.0)
    extras["bowel_loops"] = len(placed)
    return dict(tis=tis, lab=lab, body=body, bone=bone, anchor=anchor, ant_wall=ant_wall,
                extras=extras)


def _signal(tis, grid, rng, imaging) -> np.ndarray:
    """Reference signal on the canonical lattice from the tissue map."""
    h = grid.h
    lut = imaging["lut"]
    tex = np.array([row[4] for row in _TISSUES], np.float32) * imaging["texture_gain"]

    def field(sigma_mm):
        n = ndi.gaussian_filter(rng.standard_normal(tis.shape).astype(np.float32), sigma_mm / h)
        return n / max(float(n.std()), 1e-6)

    n_lo, n_mid, n_hi = field(7.0), field(1.8), field(0.6)
    sig = lut[tis] * (1.0 + tex[tis, 0] * n_lo + tex[tis, 1] * n_mid + tex[tis, 2] * n_hi)
    fatlike = (tis == K["fat"]) | (tis == K["pelvic_fat"])
    sep = field(2.6)
    sig[fatlike & (np.abs(sep) < imaging["septa"])] *= imaging["septa_depth"]
    if imaging["india_ink"]:
        fat = np.isin(tis, [K[n] for n in _FATLIKE])
        water = ~fat & (tis != K["air"]) & (tis != K["gas"]) & (tis != K["cortex"])
        edge = fat & ndi.binary_dilation(water)
        sig[edge] *= 0.25
    sig = np.maximum(sig, 0.0)
    return ndi.gaussian_filter(sig, imaging["pv_blur_mm"] / h).astype(np.float32)


# ----------------------------------------------------------------------------- imaging draws
def _draw_imaging(seed: int) -> dict:
    rng = np.random.default_rng([int(seed), 2])
    contrast = str(rng.choice(CONTRASTS, p=[0.45, 0.4, 0.15]))
    col = 1 + CONTRASTS.index(contrast)
    base = np.array([row[col] for row in _TISSUES], np.float32)
    lut = base * np.exp(rng.normal(0.0, 0.1, base.size)).astype(np.float32)
    fat_gain = float(rng.uniform(0.7, 1.15))
    for n in ("fat", "pelvic_fat", "marrow"):
        lut[K[n]] *= fat_gain
    gel_t1 = None
    if contrast == "t1":
        gel_t1 = "doped" if rng.random() < 0.5 else "plain"
        lut[K["gel"]] = 0.85 if gel_t1 == "doped" else 0.12
    lut[K["air"]] = 0.0
    lut[K["gas"]] = float(rng.uniform(0.0, 0.02))
    pe_axis = "rows" if rng.random() < 0.4 else "cols"
    pf = 1.0 if rng.random() < 0.45 else float(rng.uniform(0.56, 0.8))
    imaging = {
        "contrast": contrast,
        "lut": lut,
        "fat_gain": round(fat_gain, 3),
        "gel_t1": gel_t1,
        "texture_gain": float(rng.uniform(0.6, 1.5)),
        "septa": float(rng.uniform(0.02, 0.08)),
        "septa_depth": float(rng.uniform(0.6, 0.85)),
        "india_ink": bool(contrast == "bssfp" and rng.random() < 0.6),
        "pv_blur_mm": float(rng.uniform(0.2, 0.9)),
        "snr": float(np.exp(rng.uniform(math.log(5.0), math.log(40.0)))),
        "bias_ratio": float(np.exp(rng.uniform(0.0, math.log(3.0)))),
        "phase_encode": pe_axis,
        "partial_fourier": pf,
        "resolution_pe": float(rng.uniform(0.55, 1.0)),
        "resolution_ro": float(rng.uniform(0.8, 1.0)),
        "apodisation": 0.0 if rng.random() < 0.5 else float(rng.uniform(0.1, 0.5)),
        "ghosts": bool(rng.random() < 0.3),
        "ghost_amp_mm": float(rng.uniform(1.0, 4.0)),
        "ghost_period_lines": float(rng.uniform(3.0, 12.0)),
        "banding": bool(contrast == "bssfp" and rng.random() < 0.3),
        "gain": float(np.exp(rng.uniform(math.log(200.0), math.log(3000.0)))),
    }
    return imaging


def _draw_motion(seed: int, scale: float) -> dict:
    rng = np.random.default_rng([int(seed), 3])
    n = int(rng.integers(12, 41))
    dt = float(rng.uniform(0.5, 2.5))
    n_rest = int(rng.integers(1, max(2, n // 6) + 1))
    squeeze = bool(n >= 16 and rng.random() < 0.3)
    s = np.zeros(n)
    t = n_rest
    if squeeze:
        n_sq = int(rng.integers(2, 5))
        amp = float(rng.uniform(0.12, 0.3))
        s[t:t + n_sq] = -amp * np.sin(np.linspace(0.0, math.pi, n_sq + 2)[1:-1])
        t += n_sq
    n_rise = int(rng.integers(2, 7))
    rise = np.linspace(0.0, 1.0, n_rise + 1)[1:]
    s[t:t + n_rise] = (3 * rise**2 - 2 * rise**3)[: max(0, n - t)]
    t += n_rise
    n_plat = int(rng.integers(1, 9))
    tremor = float(rng.uniform(0.0, 0.05))
    if t < n:
        m = min(n_plat, n - t)
        s[t:t + m] = 1.0 - tremor * rng.random(m) + np.linspace(-0.03, 0.0, m)
        t += m
    if t < n:
        end = float(rng.uniform(0.2, 0.7))
        m = n - t
        x = np.linspace(0.0, 1.0, m + 1)[1:]
        s[t:] = 1.0 + (end - 1.0) * (3 * x**2 - 2 * x**3)
        if m > 10 and rng.random() < 0.35:  # a second, weaker strain
            c = int(rng.integers(m // 2, m))
            s[t:] += float(rng.uniform(0.2, 0.5)) * np.exp(-0.5 * ((np.arange(m) - c) / 2.5) ** 2)
    s[0] = 0.0
    peak = int(np.argmax(s))
    s = s / s[peak]
    if peak == 0:  # not possible with n_rest >= 1, kept for safety
        s[1] = 1.0
        peak = 1
    descent = float(rng.uniform(5.0, 35.0))  # physical mm
    d = descent / scale
    mot = {
        "n_frames": n, "frame_interval_s": dt, "strain": s, "rest_frame": 0, "peak_frame": peak,
        "squeeze": squeeze, "descent_mm": descent,
        "descent_angle_deg": float(rng.uniform(-12.0, 20.0)),
        "abdominal_push": float(rng.uniform(0.35, 0.7)) * d,
        "perineal": float(rng.uniform(0.3, 0.9)) * d,
        "cystocele": float(rng.uniform(0.2, 0.9)) * d if rng.random() < 0.5 else 0.0,
        "cystocele_angle_deg": float(rng.uniform(0.0, 30.0)),
        "prolapse": float(rng.uniform(0.2, 0.8)) * d if rng.random() < 0.35 else 0.0,
        "rectocele": float(rng.uniform(4.0, 20.0)) / scale if rng.random() < 0.45 else 0.0,
        "rectocele_angle_deg": float(rng.uniform(45.0, 75.0)),
        "bulge": float(rng.uniform(0.0, 7.0)) / scale,
        "fade_mm": float(rng.uniform(14.0, 24.0)),
        "d": d,
        "jitter_mm": float(rng.uniform(0.0, 1.0)) if rng.random() < 0.5 else 0.0,
        "rng": rng,
    }
    return mot


def _velocity(geo, grid, ref, mot, hc: float):
    """Stationary velocity field (canonical mm) on a coarse lattice; zero at bone and back."""
    ny = int(math.ceil(grid.ny * grid.h / hc)) + 1
    nx = int(math.ceil(grid.nx * grid.h / hc)) + 1
    yc = grid.y0 + hc * np.arange(ny)
    xc = grid.x0 + hc * np.arange(nx)
    Yc, Xc = np.meshgrid(yc, xc, indexing="ij")
    ii = (Yc - grid.y0) / grid.h
    jj = (Xc - grid.x0) / grid.h
    dist_anchor = ndi.distance_transform_edt(~ref["anchor"]) * grid.h
    dist_bone = ndi.distance_transform_edt(~ref["bone"]) * grid.h
    da = ndi.map_coordinates(dist_anchor, [ii, jj], order=1, mode="nearest")
    db = ndi.map_coordinates(dist_bone, [ii, jj], order=1, mode="nearest")
    x = np.clip(da / mot["fade_mm"], 0.0, 1.0)
    fade = ndi.gaussian_filter(x * x * (3 - 2 * x), 2.0)
    xb = np.clip(db / 10.0, 0.0, 1.0)
    fade_b = xb * xb * (3 - 2 * xb)

    def gauss(c, sx, sy):
        return np.exp(-0.5 * (((Xc - c[0]) / sx) ** 2 + ((Yc - c[1]) / sy) ** 2))

    neck, arj, vault = geo["neck"], geo["arj"], geo["vault"]
    hiatus = 0.5 * (neck + arj) + np.array([0.0, 5.0])
    dvec = _down(mot["descent_angle_deg"])
    comps = [
        (gauss(hiatus, 48.0, 52.0), 1.0, dvec),
        (gauss(hiatus + (5.0, -80.0), 75.0, 70.0), mot["abdominal_push"] / max(mot["d"], 1e-6),
         np.array([0.0, 1.0])),
        (gauss(geo["perineum"] + (0.0, -8.0), 28.0, 26.0), mot["perineal"] / max(mot["d"], 1e-6),
         np.array([0.0, 1.0])),
    ]
    vx = sum(w * a * dv[0] for w, a, dv in comps) * fade
    vy = sum(w * a * dv[1] for w, a, dv in comps) * fade
    # normalise the pelvic-floor push so the hiatus organs move by the drawn descent
    pts = np.array([neck, arj, vault])
    pi = (pts[:, 1] - grid.y0) / hc
    pj = (pts[:, 0] - grid.x0) / hc
    mag = np.hypot(ndi.map_coordinates(vx, [pi, pj], order=1),
                   ndi.map_coordinates(vy, [pi, pj], order=1))
    k = mot["d"] / max(float(mag.max()), 1e-6)
    vx, vy = vx * k, vy * k
    extra = []
    bl = geo["bladder"]
    base = neck + 0.45 * (bl["c"] - neck) + np.array([6.0, 4.0])
    extra.append((gauss(base, 22.0, 20.0), mot["cystocele"], _down(mot["cystocele_angle_deg"])))
    extra.append((gauss(vault, 20.0, 20.0), mot["prolapse"], -geo["d_u"]))
    p, tg = _along(geo["rectum"], 0.18)
    r_here = float(np.interp(0.18, np.linspace(0, 1, len(geo["rectum"])), geo["rectum"][:, 2]))
    rc_c = p + _rot(tg, -90.0) * 0.6 * r_here
    extra.append((gauss(rc_c, 15.0, 15.0), mot["rectocele"], _down(-mot["rectocele_angle_deg"])))
    for w, a, dv in extra:
        vx = vx + w * a * dv[0] * fade
        vy = vy + w * a * dv[1] * fade
    fw = ndi.map_coordinates(ref["ant_wall"].astype(np.float32), [ii, jj], order=1)
    bulge = gauss(np.array([geo["sym_top"][0] - 10.0, geo["sym_top"][1] - 70.0]), 40.0, 60.0)
    vx = vx - mot["bulge"] * bulge * ndi.gaussian_filter(fw, 4.0) * fade_b
    vx = ndi.gaussian_filter(vx, 1.5)
    vy = ndi.gaussian_filter(vy, 1.5)
    return (np.stack([vx, vy]).astype(np.float32), (float(grid.x0), float(grid.y0)), hc)


def _exp_disp(v, hc: float, s: float, steps: int = 6) -> np.ndarray:
    """Displacement of exp(s * v) by scaling and squaring (coarse lattice, mm)."""
    d = (v * (s / 2.0**steps)).astype(np.float64)
    ii, jj = np.indices(v.shape[1:], dtype=np.float64)
    for _ in range(steps):
        ci, cj = ii + d[1] / hc, jj + d[0] / hc
        dx = ndi.map_coordinates(d[0], [ci, cj], order=1, mode="nearest")
        dy = ndi.map_coordinates(d[1], [ci, cj], order=1, mode="nearest")
        d = d + np.stack([dx, dy])
    return d


# ----------------------------------------------------------------------------- main entry
def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict]:
    """One labelled cine case.

    Returns:
        frames float32 (T, H, W) >= 0, labels uint8 (T, H, W), spacing (row_mm, col_mm),
        params (JSON-serialisable).
    """
    sub = draw_subject(seed)
    geo, ap = sub["geo"], sub["params"]
    imaging = _draw_imaging(seed)
    scale = ap["scale"]
    mot = _draw_motion(seed, scale)
    grng = np.random.default_rng([int(seed), 7])

    # field of view and pose ----------------------------------------------------------------
    rot = np.array([_rot((1.0, 0.0), ap["tilt_deg"]), _rot((0.0, 1.0), ap["tilt_deg"])]).T
    req = geo["required"] + np.array([0.0, 0.0])
    low = req[np.argmax(req[:, 1])]
    req = np.vstack([req, low + (0.0, mot["d"] + 10.0)])
    h_px = 2 * int(grng.integers(112, 145))
    w_px = 2 * int(grng.integers(112, 145))
    sr, sc = float(grng.uniform(1.1, 1.5)), float(grng.uniform(1.1, 1.5))
    margin = 8.0
    for _ in range(4):
        q = scale * (req @ rot.T)
        need_c = float(np.ptp(q[:, 0])) + 2 * margin
        need_r = float(np.ptp(q[:, 1])) + 2 * margin
        if h_px * sr < need_r:
            sr = min(1.5, need_r / h_px)
            h_px = max(h_px, min(288, 2 * int(math.ceil(need_r / sr / 2))))
        if w_px * sc < need_c:
            sc = min(1.5, need_c / w_px)
            w_px = max(w_px, min(288, 2 * int(math.ceil(need_c / sc / 2))))
        fit = min(h_px * sr / need_r, w_px * sc / need_c)
        if fit >= 1.0:
            break
        scale *= fit * 0.99
    fov = np.array([w_px * sc, h_px * sr])
    q = scale * (req @ rot.T)
    lo_ = margin - q.min(0) - np.array([sc, sr]) * 0.5
    hi_ = fov - margin - q.max(0) - np.array([sc, sr]) * 0.5
    # the pelvis (at rest) sits near the centre of the field of view, randomly offset
    q0 = scale * (geo["required"] @ rot.T)
    centre = 0.5 * (fov - np.array([sc, sr])) - 0.5 * (q0.min(0) + q0.max(0))
    off = grng.uniform(-0.15, 0.15, 2) * np.abs(hi_ - lo_)
    p_ref = np.clip(centre + off, np.minimum(lo_, hi_), np.maximum(lo_, hi_))
    # fine (2x) sampling grid in image mm over the field of view plus a pad of PAD pixels
    # each side (no wrap-around of the periodic k-space processing into the image);
    # fine sample 2 * (i + PAD) is output pixel i's centre
    pad = 8
    he, we = h_px + 2 * pad, w_px + 2 * pad
    yi = (np.arange(2 * he) - 2 * pad) * (sr / 2.0)
    xi = (np.arange(2 * we) - 2 * pad) * (sc / 2.0)
    py, px = np.meshgrid(yi, xi, indexing="ij")
    rel = np.stack([px - p_ref[0], py - p_ref[1]])
    inv = rot.T  # rotation back
    ax = (inv[0, 0] * rel[0] + inv[0, 1] * rel[1]) / scale
    ay = (inv[1, 0] * rel[0] + inv[1, 1] * rel[1]) / scale
    # free-form B-spline warp from a coarse lattice of control displacements
    n_ctrl = int(grng.integers(4, 7))
    ffd_sigma = float(grng.uniform(1.5, 5.0))
    ctrl = grng.normal(0.0, ffd_sigma, (2, n_ctrl + 3, n_ctrl + 3))
    ci = py / fov[1] * n_ctrl + 1.0
    cj = px / fov[0] * n_ctrl + 1.0
    ax = ax + ndi.map_coordinates(ctrl[0], [ci, cj], order=3, prefilter=False, mode="nearest")
    ay = ay + ndi.map_coordinates(ctrl[1], [ci, cj], order=3, prefilter=False, mode="nearest")

    # canonical lattice covering the field of view (+ motion margin) ∩ body --------------------
    hgrid = float(np.clip(min(sr, sc) / 2.0 / scale, 0.42, 0.8))
    outline = geo["outline"]
    mrg = 45.0 + mot["d"]
    x0 = max(float(ax.min()) - mrg, float(outline[:, 0].min()) - 5.0)
    x1 = min(float(ax.max()) + mrg, float(outline[:, 0].max()) + 5.0)
    y0 = float(ay.min()) - mrg
    y1 = min(float(ay.max()) + mrg, float(outline[:, 1].max()) + 10.0)
    grid = _Grid(x0, y0, hgrid, int((x1 - x0) / hgrid) + 1, int((y1 - y0) / hgrid) + 1)
    trng = np.random.default_rng([int(seed), 4])
    ref = build_reference(sub, grid, trng)
    signal = _signal(ref["tis"], grid, trng, imaging)
    lab_ref = ref["lab"]

    # motion ---------------------------------------------------------------------------------
    hc = 2.0
    vel, (vx0, vy0), hc = _velocity(geo, grid, ref, mot, hc)
    s_t = mot["strain"]
    n_t = mot["n_frames"]
    mrng = mot["rng"]
    jit = np.cumsum(mrng.normal(0.0, 0.35, (n_t, 2)), axis=0)
    jit -= jit[0]
    if mot["jitter_mm"] > 0:
        jit *= mot["jitter_mm"] / max(float(np.abs(jit).max()), 1e-6)
    else:
        jit[:] = 0.0
    ci_a = (ay - vy0) / hc
    cj_a = (ax - vx0) / hc

    # imaging fields in image space ------------------------------------------------------------
    irng = np.random.default_rng([int(seed), 6])
    cy, cx = py / fov[1], px / fov[0]
    logb = np.zeros_like(py)
    for _ in range(int(irng.integers(1, 4))):
        side = irng.uniform(-0.2, 0.15) if irng.random() < 0.5 else irng.uniform(0.85, 1.2)
        c = (irng.uniform(-0.1, 1.1), side)
        logb += irng.uniform(0.5, 1.0) * np.exp(-((cx - c[1]) ** 2 + (cy - c[0]) ** 2)
                                                  / (2 * irng.uniform(0.25, 0.5) ** 2))
    logb += irng.normal(0, 0.15) * (cy - 0.5)
    span = float(np.ptp(logb[::4, ::4]))
    bias = np.exp((logb - logb.mean()) * (math.log(imaging["bias_ratio"]) / max(span, 1e-6)))
    if imaging["banding"]:  # bSSFP off-resonance bands, mostly towards the periphery
        x0b, y0b = irng.uniform(0.3, 0.7), irng.uniform(0.3, 0.7)
        qa, qb, qc = irng.uniform(1.0, 3.5), irng.uniform(1.0, 3.5), irng.uniform(-1.5, 1.5)
        lowf = ndi.zoom(irng.normal(0.0, 0.25, (4, 4)), (py.shape[0] / 4, py.shape[1] / 4),
                        order=3, grid_mode=True, mode="nearest")[: py.shape[0], : py.shape[1]]
        off = (qa * (cx - x0b) ** 2 + qb * (cy - y0b) ** 2 + qc * (cx - x0b) * (cy - y0b)
               + lowf + irng.uniform(0, 1))
        width = irng.uniform(0.02, 0.05)
        bias = bias * (1.0 - 0.85 * np.exp(-((((off % 1.0) - 0.5) / width) ** 2)))
    pe_rows = imaging["phase_encode"] == "rows"
    n_pe, n_ro = (he, we) if pe_rows else (we, he)
    kpe = np.arange(n_pe) - n_pe // 2
    kro = np.arange(n_ro) - n_ro // 2
    win_pe = (np.abs(kpe) <= imaging["resolution_pe"] * n_pe / 2).astype(float)
    win_ro = (np.abs(kro) <= imaging["resolution_ro"] * n_ro / 2).astype(float)
    pf = imaging["partial_fourier"]
    if pf < 1.0:
        cut = -int(round((2 * pf - 1.0) * (imaging["resolution_pe"] * n_pe / 2)))
        if irng.random() < 0.5:
            win_pe[kpe < cut] = 0.0
        else:
            win_pe[kpe > -cut] = 0.0
    if imaging["apodisation"] > 0:
        a = imaging["apodisation"]
        win_pe *= 1.0 - a + a * np.cos(np.pi * kpe / n_pe) ** 2
        win_ro *= 1.0 - a + a * np.cos(np.pi * kro / n_ro) ** 2
    kwin = np.outer(win_pe, win_ro) if pe_rows else np.outer(win_ro, win_pe)
    acq = kwin > 0
    n_acq = int(acq.sum())
    ghost_phase = None
    if imaging["ghosts"]:
        kf = np.arange(2 * n_pe) - n_pe
        delta = imaging["ghost_amp_mm"] * np.sin(2 * np.pi * kf / imaging["ghost_period_lines"]
                                                 + irng.uniform(0, 2 * np.pi))
        fov_pe = he * sr if pe_rows else we * sc
        ph = np.exp(-2j * np.pi * kf * delta / fov_pe)
        ghost_phase = ph[:, None] if pe_rows else ph[None, :]
        wall_ref = ref["ant_wall"].astype(np.float32)

    def kspace(img_fine):
        return np.fft.fftshift(np.fft.fft2(img_fine))

    def crop(kf):
        return kf[he - he // 2: he - he // 2 + he, we - we // 2: we - we // 2 + we]

    def image(kc):
        return np.abs(np.fft.ifft2(np.fft.ifftshift(kc)))[pad:pad + h_px, pad:pad + w_px]

    frames = np.zeros((n_t, h_px, w_px), np.float32)
    labels = np.zeros((n_t, h_px, w_px), np.uint8)
    sigma = None
    descent_meas = {}
    for t in range(n_t):
        disp = _exp_disp(vel, hc, -float(s_t[t]))
        dx = ndi.map_coordinates(disp[0], [ci_a, cj_a], order=1, mode="nearest")
        dy = ndi.map_coordinates(disp[1], [ci_a, cj_a], order=1, mode="nearest")
        qx = ax + dx + jit[t, 0]
        qy = ay + dy + jit[t, 1]
        ri, rj = (qy - grid.y0) / grid.h, (qx - grid.x0) / grid.h
        fine = ndi.map_coordinates(signal, [ri, rj], order=1, mode="constant", cval=0.0)
        cen = (slice(2 * pad, 2 * (pad + h_px), 2), slice(2 * pad, 2 * (pad + w_px), 2))
        lab = ndi.map_coordinates(lab_ref, [ri[cen], rj[cen]], order=0, mode="constant", cval=0)
        fine = fine * bias
        kf = kspace(fine)
        if ghost_phase is not None:
            wmov = ndi.map_coordinates(wall_ref, [ri, rj], order=1, mode="constant", cval=0.0)
            km = kspace(fine * wmov)
            kf = kf + km * (ghost_phase - 1.0) * 0.6
        kc = crop(kf) * kwin / 4.0
        if sigma is None:
            clean = image(kc)
            fg = clean > 0.15 * np.percentile(clean, 99)
            sigma = float(clean[fg].mean()) / imaging["snr"]
        noise = irng.normal(0.0, 1.0, (2,) + kc.shape) * (sigma * he * we / math.sqrt(n_acq))
        kc = kc + (noise[0] + 1j * noise[1]) * acq
        img = image(kc)
        frames[t] = (img * imaging["gain"]).astype(np.float32)
        for o in (1, 2, 3):
            m = lab == o
            if m.any():
                lab[m & ~_largest(m)] = 0
        labels[t] = lab
    # how far the bladder neck and the anorectal junction moved at peak (physical mm)
    fwd = _exp_disp(vel, hc, 1.0)
    for name in ("neck", "arj", "vault"):
        p = geo[name]
        ii, jj = (p[1] - vy0) / hc, (p[0] - vx0) / hc
        d = [float(ndi.map_coordinates(fwd[c], [[ii], [jj]], order=1)[0]) for c in (0, 1)]
        descent_meas[name] = round(float(np.hypot(*d)) * scale, 2)

    lut = imaging.pop("lut")
    params = {
        "seed": int(seed),
        "generator": PREFIX,
        "spacing_mm": [round(sr, 6), round(sc, 6)],
        "matrix": [h_px, w_px],
        "n_frames": n_t,
        "frame_interval_s": round(mot["frame_interval_s"], 6),
        "snr": round(imaging["snr"], 4),
        "labels": dict(LABELS),
        "rest_frame": int(mot["rest_frame"]),
        "peak_frame": int(mot["peak_frame"]),
        "strain": [round(float(v), 4) for v in s_t],
        "anatomy": {**ap, "scale": round(scale, 4), **ref["extras"]},
        "imaging": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in imaging.items()}
        | {"tissue_intensity": {n: round(float(lut[i]), 4) for i, n in enumerate(TISSUES)}},
        "motion": {
            "descent_mm": round(mot["descent_mm"], 2),
            "descent_angle_deg": round(mot["descent_angle_deg"], 2),
            "cystocele_mm": round(mot["cystocele"] * scale, 2),
            "prolapse_mm": round(mot["prolapse"] * scale, 2),
            "rectocele_mm": round(mot["rectocele"] * scale, 2),
            "abdominal_bulge_mm": round(mot["bulge"] * scale, 2),
            "squeeze": mot["squeeze"],
            "jitter_mm": round(mot["jitter_mm"], 3),
            "peak_displacement_mm": descent_meas,
        },
        "pose": {"tilt_deg": ap["tilt_deg"], "ffd_sigma_mm": round(ffd_sigma, 3),
                 "ffd_lattice": n_ctrl + 3},
    }
    return frames, labels, (float(sr), float(sc)), params


def _one(seed: int, out: Path) -> str:
    t0 = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    case = out / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    n = frames.shape[0]
    series = CineSeries(
        frames=frames, spacing_mm=spacing,
        times_s=np.arange(n) * params["frame_interval_s"],
        meta={"series_description":
              f"LATTICE dynamic sagittal pelvis ({params['imaging']['contrast']})",
              "subject_id": f"LATTICE{seed:03d}"})
    write_dicom_series(series, case / "series", seed=seed, patient_id=f"LATTICE{seed:03d}",
                       patient_name=f"LATTICE^{seed:03d}")
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    a = params["anatomy"]
    return (f"{case.name}: {n} frames {frames.shape[1]}x{frames.shape[2]} "
            f"{spacing[0]:.2f}x{spacing[1]:.2f} mm, {params['imaging']['contrast']}, "
            f"snr {params['snr']:.1f}, fill {a['bladder_fill']:.2f}, {a['uterus']}, "
            f"rectum {a['rectal_content']}, descent {params['motion']['descent_mm']:.1f} mm "
            f"({time.perf_counter() - t0:.1f} s)")


def _job(args: tuple[int, str]) -> str:
    return _one(args[0], Path(args[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-11", help='seeds, e.g. "0-11" or "1,5,7"')
    ap.add_argument("--out", default="lattice_cases", help="output folder")
    ap.add_argument("--workers", type=int, default=1, help="worker processes")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for line in map_jobs(_job, [(s, str(out)) for s in parse_seeds(args.seeds)], args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
