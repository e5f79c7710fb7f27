"""Synthetic dynamic pelvic-floor MRI formed analytically in k-space from tissue polygons.

How a case is made
------------------
1. Case parameters (:func:`case_params`, from ``default_rng([seed, 1])`` only, so they can
   be drawn cheaply without any geometry): matrix, pixel spacing (hence the field of view),
   frame count and interval, sequence family (T2 single-shot FSE, balanced SSFP or spoiled
   T1 GRE, each with or without fat saturation) and its acquisition settings (acquired
   matrix, partial Fourier 5/8 to 1 with zero filling or homodyne, echo spacing, flip angle,
   fat-water phase, chemical-shift pixels, coils, SNR 5-40, raw filter, intensity scale),
   the manoeuvre (rest / Valsalva / squeeze / cough / defecation) and anatomy switches
   (hysterectomy in ~20 %, uterine version, fibroids, parity / laxity, bladder filling,
   rectal and vaginal content, body habitus, tilt +-15 deg).
2. Anatomy (``default_rng([seed, 2])``) is drawn in body millimetres with the origin at the
   inferior margin of the pubic symphysis, y towards the feet and x towards the back.  Every
   tissue region is a simple polygon built from control points smoothed by Chaikin corner
   cutting: tubes (vagina-cervix, rectum-sigmoid, urethra, spine, levator plate, vessels) are
   envelopes of discs swept along a smoothed centre line, blobs (bladder, uterine body,
   bowel loops, fibroids) are star polygons with harmonic wobble, and the uterus is the
   boundary splice (union) of the cervico-vaginal tube, the uterine body and subserosal
   fibroids.  Organ walls are separate polygons around the lumen polygons.  Every polygon
   lies inside a parent tissue (fat, a wall, a bone cortex...), so the scene is the sum over
   polygons of (tissue signal - parent signal) x indicator.  Colliding parts are pushed
   towards their own centre / centre line at construction.
3. Motion: one smooth displacement field (posterior-inferior rotation about a point at the
   symphysis, descent of the levator hiatus, Gaussian bumps for cystocele, uterine prolapse,
   rectocele and anorectal-junction descent, all scaled by laxity; squeeze lifts with the
   opposite sign; bones fixed and the field fading near bones and the image border) acts on
   the soft-tissue vertices.  The rectum is redrawn each instant from its centre line with
   widths that follow the evacuation curve (ampulla empties, anal canal opens, content in the
   canal).  Bowel loops move rigidly with the field at their centre plus breathing.  A time
   curve per case (ramp, hold, release, repeats; coughs are 0.2-0.4 s spikes) drives it.
4. Image formation in k-space: the continuous Fourier transform of each polygon is
   evaluated exactly with the edge-sum formula
   ``F(k) = i / (2 pi |k|^2) sum_edges (k . N_e) sinc(k . e_e) exp(-2 pi i k . m_e)``
   (N outward edge normal, e edge vector, m midpoint; F(0) = area; sinc handles edges
   parallel to k) at the acquired Cartesian k-space points only (acquired matrix smaller
   than the reconstructed one, partial Fourier).  Per-tissue k-spaces are weighted by the
   tissue signal, which for single-shot FSE varies along the phase-encode order with the
   echo time (T2 blurring), and fat carries its own phase (opposed phase gives dark
   fat-water boundaries in bSSFP / GRE) and a readout chemical shift of 0-2 pixels.  Edges
   that never move are summed once; rigidly moving polygons get a phase ramp.  Frames in
   which the motion curve changes quickly during the read-out fill the phase-encode lines in
   segments from different motion states (ghosts).  The zero-filled k-space is inverse
   transformed; a smooth texture field, bSSFP off-resonance bands and coil sensitivities
   multiply the complex image; each coil is transformed back, gets complex Gaussian noise at
   the acquired points, is reconstructed (zero filling or homodyne) and the coils are
   combined by root-sum-of-squares (Rician / non-central chi noise).
5. Truth: the label polygons of the motion state at the frame's k = 0 time are rasterised
   (pixel centres inside the polygon) on the same grid.

Orientation: mid-sagittal slice, row 0 cranial (head), rows towards the feet; column 0
anterior (belly), last column posterior (back).  Pubic symphysis lower-anterior, sacrum and
coccyx posterior.

Labels (uint8): 0 background; 1 bladder: wall + urine down to the bladder neck (urethra not
labelled); 2 uterus_vagina: uterine body (myometrium, junctional zone, endometrium,
fibroids incl. subserosal), cervix and vagina (walls + lumen / gel) down to the introitus at
the perineal skin, a rounded vaginal cuff after hysterectomy; 3 rectum: rectum and anal
canal (wall + content) from the rectosigmoid junction, cut perpendicular to the bowel axis
at about S3, down to the anal verge (external sphincter and sigmoid not labelled).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from skimage.draw import polygon as draw_polygon
from skimage.measure import points_in_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "kspace"
LABELS = {name: i + 1 for i, name in enumerate(ORGANS)}

# ---------------------------------------------------------------------------------------
# tissues: proton density, T1 (ms), T2 (ms), fat fraction, flow (inflow / flow void)
# ---------------------------------------------------------------------------------------
TISSUES: dict[str, tuple[float, float, float, float, float]] = {
    "air": (0.0, 1000.0, 1.0, 0.0, 0.0),
    "skin": (0.75, 800.0, 45.0, 0.0, 0.0),
    "fat": (1.0, 260.0, 110.0, 1.0, 0.0),
    "muscle": (0.8, 1000.0, 36.0, 0.0, 0.0),
    "cortex": (0.04, 1000.0, 2.0, 0.0, 0.0),
    "marrow": (0.9, 450.0, 90.0, 0.6, 0.0),
    "disc": (0.85, 1100.0, 95.0, 0.0, 0.0),
    "csf": (1.0, 4000.0, 1800.0, 0.0, 0.0),
    "urine": (1.0, 3000.0, 1400.0, 0.0, 0.0),
    "bladder_wall": (0.8, 1000.0, 48.0, 0.0, 0.0),
    "vagina_wall": (0.8, 1100.0, 62.0, 0.0, 0.0),
    "vagina_lumen": (0.85, 1500.0, 200.0, 0.0, 0.0),
    "myometrium": (0.85, 1300.0, 105.0, 0.0, 0.0),
    "junctional": (0.8, 1000.0, 48.0, 0.0, 0.0),
    "endometrium": (0.9, 1300.0, 170.0, 0.0, 0.0),
    "cervix": (0.8, 1100.0, 52.0, 0.0, 0.0),
    "canal": (0.9, 1500.0, 220.0, 0.0, 0.0),
    "fibroid": (0.8, 1000.0, 38.0, 0.0, 0.0),
    "rectal_wall": (0.8, 1000.0, 58.0, 0.0, 0.0),
    "rectal_content": (0.7, 800.0, 90.0, 0.0, 0.0),
    "gas": (0.0, 1000.0, 1.0, 0.0, 0.0),
    "bowel_wall": (0.8, 1000.0, 60.0, 0.0, 0.0),
    "bowel_fluid": (0.95, 2500.0, 500.0, 0.0, 0.0),
    "chyme": (0.8, 1200.0, 120.0, 0.0, 0.0),
    "vessel": (0.9, 1200.0, 250.0, 0.0, 1.0),
    "sphincter": (0.8, 1000.0, 40.0, 0.0, 0.0),
    "fibrous": (0.6, 900.0, 30.0, 0.0, 0.0),
    "urethra_lumen": (0.85, 1300.0, 150.0, 0.0, 0.0),
}
TNAMES = list(TISSUES)
TIDX = {n: i for i, n in enumerate(TNAMES)}
SEQUENCES = ("ssfse", "bssfp", "t1gre")
MANEUVERS = ("valsalva", "squeeze", "cough", "defecation", "squeeze_valsalva")


# ---------------------------------------------------------------------------------------
# case parameters (cheap path)
# ---------------------------------------------------------------------------------------
def case_params(seed: int) -> dict:
    """All per-case random choices that need no geometry (deterministic per seed)."""
    r = np.random.default_rng([int(seed), 1])
    h, w = int(r.integers(224, 289)), int(r.integers(224, 289))
    sp = float(r.uniform(1.1, 1.5))
    seq = str(r.choice(SEQUENCES, p=[0.45, 0.38, 0.17]))
    fatsat = bool(r.random() < {"ssfse": 0.25, "bssfp": 0.12, "t1gre": 0.35}[seq])
    pf = float(r.choice([0.625, 0.75, 0.875, 1.0], p=[0.3, 0.3, 0.25, 0.15]))
    imaging = {
        "sequence": seq,
        "fat_sat": fatsat,
        "readout_fraction": float(r.uniform(0.62, 0.95)),
        "phase_fraction": float(r.uniform(0.5, 0.8)),
        "partial_fourier": pf,
        "pf_recon": str(r.choice(["zerofill", "homodyne"])),
        "echo_spacing_ms": float(r.uniform(3.5, 6.0)),
        "te_eff_ms": float(r.uniform(70.0, 110.0)),
        "tr_ms": float(r.uniform(3.4, 5.0) if seq == "bssfp" else r.uniform(4.0, 8.0)),
        "flip_deg": float(r.uniform(45, 80) if seq == "bssfp" else r.uniform(10, 70)),
        "fat_phase": float(np.pi if (seq != "ssfse" and r.random() < 0.55) else 0.0),
        "chemical_shift_px": float(r.uniform(0.0, 2.0)),
        "n_coils": int(r.integers(1, 5)),
        "snr": float(np.exp(r.uniform(np.log(5.0), np.log(40.0)))),
        "raw_filter": float(r.uniform(0.0, 0.6)),
        "texture": float(r.uniform(0.03, 0.12)),
        "banding": bool(seq == "bssfp" and r.random() < 0.5),
        "integer": bool(r.random() < 0.5),
        "scale": float(np.exp(r.uniform(np.log(0.5), np.log(4000.0)))),
        "tissue_jitter": [float(v) for v in r.normal(0.0, 0.12, len(TNAMES))],
    }
    man = str(r.choice(MANEUVERS, p=[0.36, 0.14, 0.14, 0.2, 0.16]))
    parous = bool(r.random() < 0.6)
    motion = {
        "maneuver": man,
        "laxity": float(r.uniform(0.35, 1.0) if parous else r.uniform(0.0, 0.4)),
        "repeats": int(r.integers(1, 4)),
        "breath_mm": float(r.uniform(1.5, 7.0)),
        "breath_period_s": float(r.uniform(3.0, 6.0)),
        "curve_seed": int(r.integers(0, 2**31)),
    }
    hyst = bool(r.random() < 0.2)
    anatomy = {
        "hysterectomy": hyst,
        "parity": "multiparous" if parous else "nulliparous",
        "version": "retroverted" if r.random() < 0.2 else "anteverted",
        "n_fibroids": 0 if (hyst or r.random() < 0.7) else int(r.integers(1, 4)),
        "bladder_fill": float(r.uniform(0.03, 1.0)),
        "rectal_content": str(r.choice(["stool", "gel", "gas", "empty"], p=[.5, .2, .1, .2])),
        "vaginal_gel": bool(r.random() < 0.3),
        "tilt_deg": float(r.uniform(-15.0, 15.0)),
        "body_scale": float(r.uniform(0.88, 1.12)),
        "fat_ant_mm": float(r.uniform(10.0, 45.0)),
        "fat_back_mm": float(r.uniform(8.0, 35.0)),
        "belly_mm": float(r.uniform(0.0, 30.0)),
        "postmenopausal": bool(r.random() < 0.3),
    }
    return {
        "generator": GENERATOR,
        "seed": int(seed),
        "matrix": [h, w],
        "spacing_mm": [sp, sp],
        "fov_mm": [h * sp, w * sp],
        "n_frames": int(r.integers(20, 31)),
        "frame_interval_s": float(r.uniform(0.5, 2.0)),
        "imaging": imaging,
        "motion": motion,
        "anatomy": anatomy,
        "hysterectomy": hyst,
    }


# ---------------------------------------------------------------------------------------
# polygon helpers (points are (y, x) in mm)
# ---------------------------------------------------------------------------------------
def _area(p: np.ndarray) -> float:
    x, y = p[:, 1], p[:, 0]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _ccw(p: np.ndarray) -> np.ndarray:
    return p if _area(p) > 0 else p[::-1].copy()


def _chaikin(p: np.ndarray, it: int = 3, closed: bool = True) -> np.ndarray:
    p = np.asarray(p, float)
    for _ in range(it):
        q = np.roll(p, -1, axis=0) if closed else p[1:]
        a = p if closed else p[:-1]
        new = np.empty((2 * len(a), 2))
        new[0::2] = 0.75 * a + 0.25 * q
        new[1::2] = 0.25 * a + 0.75 * q
        p = new if closed else np.vstack([p[:1], new, p[-1:]])
    return p


def _resample(p: np.ndarray, step: float, closed: bool = True) -> np.ndarray:
    q = np.vstack([p, p[:1]]) if closed else p
    seg = np.hypot(*np.diff(q, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(8 if closed else 2, int(np.ceil(s[-1] / step)) + (0 if closed else 1))
    t = np.linspace(0.0, s[-1], n, endpoint=not closed)
    return np.column_stack([np.interp(t, s, q[:, 0]), np.interp(t, s, q[:, 1])])


def _normals(p: np.ndarray) -> np.ndarray:
    """Outward unit normals of a counter-clockwise closed polygon."""
    t = np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)
    n = np.column_stack([-t[:, 1], t[:, 0]])
    n /= np.maximum(np.hypot(n[:, 0], n[:, 1]), 1e-9)[:, None]
    return n


def _offset(p: np.ndarray, d: float) -> np.ndarray:
    p = _ccw(p)
    return p + d * _normals(p)


def _rot(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s], [s, c]])


def _unit(deg_from_up: float) -> np.ndarray:
    """Unit (y, x) vector pointing up (towards the head) rotated by deg towards posterior."""
    a = np.deg2rad(deg_from_up)
    return np.array([-np.cos(a), np.sin(a)])


def _blob(center, ay, ax, angle=0.0, wobble=0.0, rng=None, n=96, egg=0.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    if rng is not None and wobble > 0:
        for k in range(2, 5):
            r += wobble / k * rng.normal() * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    u = ay * np.cos(t) * r
    v = ax * np.sin(t) * r * (1.0 - egg * 0.5 * (1 - np.cos(t)))
    pts = np.column_stack([u, v]) @ _rot(angle).T
    return _ccw(pts + np.asarray(center, float))


def _frame(c: np.ndarray):
    """Arc length, unit tangents and unit normals (tangent rotated +90 deg) of a polyline."""
    d = np.gradient(c, axis=0)
    t = d / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))])
    return s, t, np.column_stack([-t[:, 1], t[:, 0]])


def _centerline(ctrl, step=1.0, it=4) -> np.ndarray:
    return _resample(_chaikin(np.asarray(ctrl, float), it, closed=False), step, closed=False)


def _tube(c, half, s0=None, s1=None, cap0="round", cap1="round") -> np.ndarray:
    """Outline of the discs of radius ``half`` swept along the dense centre line ``c``
    restricted to arc length [s0, s1]; ends flat (cut perpendicular) or round."""
    s, _, _ = _frame(c)
    s0 = s[0] if s0 is None else s0
    s1 = s[-1] if s1 is None else s1
    ss = np.linspace(s0, s1, max(4, int((s1 - s0) / 0.8) + 1))
    cc = np.column_stack([np.interp(ss, s, c[:, 0]), np.interp(ss, s, c[:, 1])])
    hh = np.interp(ss, s, half)
    _, tt, nn = _frame(cc)
    left = cc + hh[:, None] * nn
    right = cc - hh[:, None] * nn

    def cap(center, h, tan, nrm, sign):
        a = np.linspace(0, np.pi, 13)[1:-1]
        return center + h * (np.cos(a)[:, None] * nrm + sign * np.sin(a)[:, None] * tan)

    parts = [left]
    if cap1 == "round":
        parts.append(cap(cc[-1], hh[-1], tt[-1], nn[-1], 1.0))
    parts.append(right[::-1])
    if cap0 == "round":
        parts.append(cap(cc[0], hh[0], tt[0], -nn[0], -1.0))
    poly = np.vstack(parts)
    # drop swallow-tail points that lie inside the disc of another centre-line point
    d = np.hypot(poly[:, None, 0] - cc[None, :, 0], poly[:, None, 1] - cc[None, :, 1])
    inside = np.any(d < 0.97 * hh[None, :], axis=1)
    keep = poly[~inside] if (~inside).sum() > 8 else poly
    return _ccw(keep)


def _run(mask: np.ndarray) -> np.ndarray:
    """Indices of the longest cyclic run of True in ``mask``."""
    n = len(mask)
    if mask.all():
        return np.arange(n)
    start = int(np.argmin(mask))  # a False
    idx = (np.arange(n) + start) % n
    m = mask[idx]
    best, cur, best_i, cur_i = 0, 0, 0, 0
    for i, v in enumerate(m):
        if v:
            if cur == 0:
                cur_i = i
            cur += 1
            if cur > best:
                best, best_i = cur, cur_i
        else:
            cur = 0
    return idx[best_i:best_i + best]


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union of two overlapping simple polygons by splicing their outside runs."""
    a, b = _ccw(_resample(a, 0.8)), _ccw(_resample(b, 0.8))
    ina, inb = points_in_poly(a, b), points_in_poly(b, a)
    if not ina.any():
        return a if inb.all() else a
    if inb.all():
        return a
    if ina.all():
        return b
    return _ccw(np.vstack([a[_run(~ina)], b[_run(~inb)]]))


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a minus b for two polygons that overlap in one region."""
    a, b = _ccw(_resample(a, 0.8)), _ccw(_resample(b, 0.8))
    ina, inb = points_in_poly(a, b), points_in_poly(b, a)
    if not ina.any() or not inb.any():
        return a
    return _ccw(np.vstack([a[_run(~ina)], b[_run(inb)][::-1]]))


def _clip(p: np.ndarray, nrm: np.ndarray, c: float) -> np.ndarray:
    """Keep the part of polygon p with p . nrm >= c (Sutherland-Hodgman, one plane)."""
    out = []
    v = p @ nrm - c
    n = len(p)
    for i in range(n):
        j = (i + 1) % n
        if v[i] >= 0:
            out.append(p[i])
        if (v[i] >= 0) != (v[j] >= 0):
            t = v[i] / (v[i] - v[j])
            out.append(p[i] + t * (p[j] - p[i]))
    return np.array(out) if len(out) >= 3 else np.zeros((0, 2))


def _repel(p, anchors, obstacles, margin=1.5, iters=14):
    """Pull vertices of p that fall inside (dilated) obstacles towards their anchors."""
    p = p.copy()
    dil = [_offset(_resample(o, 1.0), margin) for o in obstacles if len(o) >= 3]
    moved = np.zeros(len(p), bool)
    for _ in range(iters):
        bad = np.zeros(len(p), bool)
        for o in dil:
            bad |= points_in_poly(p, o)
        if not bad.any():
            break
        moved |= bad
        p[bad] = anchors[bad] + 0.88 * (p[bad] - anchors[bad])
    if moved.any():
        zone = moved | np.roll(moved, 1) | np.roll(moved, -1) | np.roll(moved, 2)
        for _ in range(3):
            sm = 0.25 * np.roll(p, 1, 0) + 0.5 * p + 0.25 * np.roll(p, -1, 0)
            p[zone] = sm[zone]
    return p


def _rdp_open(p: np.ndarray, tol: float) -> np.ndarray:
    keep = np.zeros(len(p), bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(p) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        seg = p[j] - p[i]
        ln = max(float(np.hypot(*seg)), 1e-9)
        rel = p[i + 1:j] - p[i]
        d = np.abs(rel[:, 0] * seg[1] - rel[:, 1] * seg[0]) / ln
        k = int(np.argmax(d))
        if d[k] <= tol and ln > 10.0:
            k = (j - i) // 2 - 1
        if d[k] > tol or ln > 10.0:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return keep


def _simplify(p: np.ndarray, tol: float = 0.1) -> np.ndarray:
    """Fewest vertices within ``tol`` mm of the dense closed outline (edges <= 10 mm)."""
    p = _resample(p, 0.5)
    far = int(np.argmax(np.hypot(*(p - p[0]).T)))
    k1 = _rdp_open(p[:far + 1], tol)
    k2 = _rdp_open(np.vstack([p[far:], p[:1]]), tol)
    keep = np.zeros(len(p), bool)
    keep[:far + 1] |= k1
    keep[far:] |= k2[:-1]
    return _ccw(p[keep])


def _step_for(p: np.ndarray) -> float:
    return float(np.clip(0.055 * np.sqrt(abs(_area(p))), 1.0, 4.0))


# ---------------------------------------------------------------------------------------
# anatomy
# ---------------------------------------------------------------------------------------
class Scene:
    """Polygons of one case in body millimetres."""

    def __init__(self):
        self.polys: list[dict] = []

    def add(self, pts, tissue, parent, *, name="", label=0, fixed=False, rigid=False,
            step=None):
        pts = _simplify(_ccw(np.asarray(pts, float)), 0.1)
        rec = {"pts": pts, "tissue": tissue, "parent": parent, "name": name, "label": label,
               "fixed": fixed, "rigid": rigid}
        self.polys.append(rec)
        return rec

    def solid(self, names=None):
        return [p["pts"] for p in self.polys if (names is None or p["name"] in names)]


def _bowel_geometry(a: dict, rng, land: dict) -> dict:
    """Rectum + sigmoid centre line and rest widths."""
    av = land["AV"]
    canal_dir = _unit(-(12 + rng.normal(0, 5)))
    lac = rng.uniform(28, 38)
    arj = av + lac * canal_dir
    down = (av - arj) / np.linalg.norm(av - arj)
    ara = np.deg2rad(rng.uniform(92, 112))
    cands = [_rot(ara) @ down, _rot(-ara) @ down]
    rdir = cands[0] if cands[0][0] < cands[1][0] else cands[1]
    sac = land["sacrum_front"]
    sn = land["sacrum_normal"]  # pointing anterior
    content = a["rectal_content"]
    amp = {"stool": rng.uniform(15, 21), "gel": rng.uniform(17, 24), "gas": rng.uniform(14, 20),
           "empty": rng.uniform(9, 12)}[content]
    gap = rng.uniform(6.5, 11)
    r1 = arj + rng.uniform(18, 24) * rdir
    pts = [av, arj, r1]
    for yy in (-35.0, -60.0, -84.0):
        i = int(np.argmin(abs(sac[:, 0] - yy)))
        hh = amp if yy > -50 else amp * 0.8
        pts.append(sac[i] + (gap + hh) * sn[i])
    j = pts[-1]
    if a["version"] == "retroverted":
        sig = [j + np.array([-18.0, -2.0]), j + np.array([-34.0, -14.0]),
               j + np.array([-44.0, -34.0])]
    else:
        sig = [j + np.array([-16.0, -14.0]), j + np.array([-26.0, -36.0]),
               j + np.array([-30.0, -56.0])]
    c = _centerline(pts + [s + rng.normal(0, 2, 2) for s in sig], 1.0, 4)
    s, _, _ = _frame(c)
    d = np.hypot(*(c - j).T)
    s_j = float(s[int(np.argmin(d))])
    s_arj = float(s[int(np.argmin(np.hypot(*(c - arj).T)))])
    h_canal = rng.uniform(7.0, 8.5)
    knots_s = [0, s_arj - 6, s_arj + 6, s_arj + 25, s_arj + 55, s_j, s[-1] - 8, s[-1]]
    knots_h = [h_canal, h_canal + 0.5, amp * 0.85, amp, amp * 0.85, amp * 0.62,
               amp * 0.62, amp * 0.6]
    knots_s = np.maximum.accumulate(np.array(knots_s, float))
    half = np.interp(s, knots_s, knots_h)
    wall = np.where(s < s_arj - 3, rng.uniform(4.5, 6.0), rng.uniform(2.6, 3.8))
    wall = np.convolve(np.pad(wall, 6, mode="edge"), np.ones(13) / 13, mode="valid")
    return {"c": c, "s": s, "half": half, "wall": wall, "s_j": s_j, "s_arj": s_arj,
            "arj": arj, "content": content}


def _bowel_polys(bg: dict, evac: float, opening: float, bubbles) -> dict:
    """Rectum / sigmoid polygons for an evacuation level and anal opening."""
    c, s, half, wall = bg["c"], bg["s"], bg["half"], bg["wall"]
    s_arj, s_j = bg["s_arj"], bg["s_j"]
    lumen0 = np.maximum(half - wall, 0.8)
    amp_win = np.clip((s - s_arj) / 10.0, 0, 1) * np.clip((s_j + 10 - s) / 25.0, 0, 1)
    canal_win = np.clip((s - 6.0) / 8.0, 0, 1) * np.clip((s_arj + 8 - s) / 8.0, 0, 1)
    shrink = 0.25 if bg["content"] == "empty" else 0.72
    lumen = lumen0 * (1 - shrink * evac * amp_win) + opening * 5.0 * canal_win
    lumen = np.maximum(lumen, 0.7)
    outer = np.maximum(lumen + wall * (1 + 0.35 * evac * amp_win), np.minimum(half, 6.0))
    out = {"rectum": _tube(c, outer, 0.0, s_j, "flat", "flat"),
           "sigmoid": _tube(c, outer, s_j, s[-1], "flat", "round"),
           "rect_lumen": _tube(c, lumen, 1.5, s_j, "round", "flat"),
           "sig_lumen": _tube(c, lumen, s_j, s[-1] - 1.0, "flat", "round"), "bub": []}
    _, _, nn = _frame(c)
    for sb, fb, rb in bubbles:
        k = int(np.argmin(abs(s - sb)))
        hl = lumen[k]
        rad = min(rb, 0.55 * hl)
        if rad < 1.2 or sb + rad + 2 > s_j:
            continue
        ctr = c[k] + fb * (hl - rad - 0.8) * nn[k]
        out["bub"].append(_blob(ctr, rad, rad, n=12))
    return out


def build_anatomy(p: dict, rng) -> tuple[Scene, dict]:
    a = p["anatomy"]
    sc = Scene()
    land: dict = {}

    def j(s):
        return rng.normal(0.0, s, 2)

    # ---- bones (fixed) -----------------------------------------------------------
    cs = np.array([-19.0, -7.0]) + j(1.5)
    sym_ang = np.deg2rad(25 + rng.normal(0, 5))
    sym = _blob(cs, rng.uniform(17, 21), rng.uniform(6.5, 8.0), angle=sym_ang, n=72)
    sc.add(sym, "cortex", "fat", name="symphysis", fixed=True, step=1.5)
    sc.add(_blob(cs, 15.5, 5.0, angle=sym_ang, n=60), "marrow", "cortex", fixed=True,
           step=1.5)
    ctrl = np.array([[-120, 72], [-102, 97], [-84, 108], [-66, 112], [-48, 110],
                     [-36, 105]], float) + j(3)
    sac_front = _centerline(ctrl, 1.0, 3)
    s, _, nn = _frame(sac_front)
    if nn[len(nn) // 2, 1] > 0:
        nn = -nn  # normal pointing anterior
    land["sacrum_front"], land["sacrum_normal"] = sac_front, nn
    th = np.interp(s, [0, s[-1] * 0.3, s[-1]], [34, 24, 11])
    sac_mid = sac_front - 0.5 * th[:, None] * nn
    sacrum = _tube(sac_mid, 0.5 * th, cap0="flat", cap1="round")
    sc.add(sacrum, "cortex", "fat", name="sacrum", fixed=True, step=1.8)
    sc.add(_tube(sac_mid, 0.5 * th - 1.6, 1.5, s[-1] - 1.0, "flat", "round"), "marrow",
           "cortex", fixed=True, step=1.8)
    ks = s < s[-1] * 0.75
    post = sac_front - (th + 15.0)[:, None] * nn
    sc.add(_tube(post[ks], np.full(ks.sum(), 3.5), cap0="flat"), "cortex", "fat",
           name="sacral_crest", fixed=True)
    _, st_, _ = _frame(sac_mid)
    c0 = sac_mid[-1] + 12.5 * st_[-1]
    cocc = _centerline([c0, c0 + 11.0 * st_[-1] + 3.0 * nn[-1] + j(1.5),
                        c0 + 19.0 * st_[-1] + 10.0 * nn[-1] + j(1.5)], 1.0, 2)
    ct = _frame(cocc)[1][-1]
    land["coccyx_tip"] = cocc[-1] + 3.0 * ct
    coccyx = _tube(cocc, np.linspace(5.5, 3.2, len(cocc)))
    sc.add(coccyx, "cortex", "fat", name="coccyx", fixed=True, step=1.2)
    # lumbar vertebrae stacked on the S1 endplate
    prom = sac_front[0]
    ep_dir = -nn[0]
    up = -_frame(sac_front)[1][0]
    ang = float(np.arctan2(-up[1], -up[0]))
    top = prom + 0.5 * th[0] * ep_dir
    spine_front = [prom]
    body_polys = []
    canal_pts, musc_pts = [], []
    for lev in range(4):
        up = np.array([-np.cos(ang), -np.sin(ang)])
        side = np.array([np.sin(ang), -np.cos(ang)])  # anterior
        disc_c = top + 6.5 * up
        centre_v = disc_c + 20.0 * up
        vb = _rrect(centre_v, ang, 13.5, 17.5)
        body_polys.append(vb)
        sc.add(vb, "cortex", "fat", name=f"L{5 - lev}", fixed=True, step=1.8)
        sc.add(_rrect(centre_v, ang, 12.0, 16.0), "marrow", "cortex", fixed=True, step=1.8)
        sc.add(_rrect(disc_c, ang, 3.2, 16.5, r=3.0), "disc", "fat", fixed=True, step=1.8)
        spine_front.append(centre_v + 17.5 * side)
        sc.add(_rrect(centre_v - 50.0 * side + 4 * up, ang, 8.0, 9.0), "cortex", "muscle",
               fixed=True, step=1.8)
        canal_pts.append(centre_v - 27.0 * side)
        musc_pts.append(centre_v - 55.0 * side)
        top = centre_v + 13.5 * up
        ang = ang - np.deg2rad(rng.uniform(5, 11))
    canal_s = sac_front - (th + 4.5)[:, None] * nn
    ks = s < s[-1] * 0.75
    cl = _centerline(np.vstack([canal_pts[::-1], canal_s[ks][4::8]]), 1.0, 2)
    scl, _, _ = _frame(cl)
    sc.add(_tube(cl, np.interp(scl, [0, scl[-1] * 0.55, scl[-1]], [7.0, 6.0, 2.0]),
                 cap0="flat"), "csf", "fat", name="canal", fixed=True)
    ml = _centerline(musc_pts[::-1], 1.0, 2)
    muscle = _tube(ml, np.full(len(ml), 16.0), cap0="flat")
    sc.polys.insert(0, {"pts": _simplify(muscle), "tissue": "muscle",
                        "parent": "fat", "name": "paraspinal", "label": 0, "fixed": True,
                        "rigid": False})
    post_x = max(float(muscle[:, 1].max()), float(post[:, 1].max()))
    land["post_x"] = post_x
    sf = np.array(spine_front[::-1])
    land["spine_front"] = sf
    land["bones"] = [sym, sacrum, coccyx] + body_polys

    fa, fbk, belly = a["fat_ant_mm"], a["fat_back_mm"], a["belly_mm"]
    sym_top = cs + 20.0 * np.array([-np.cos(sym_ang), -np.sin(sym_ang)])
    ys = np.linspace(-420, sym_top[0], 30)
    xpw = sym_top[1] - 4.0 - (belly + 12.0) * np.clip((sym_top[0] - ys) / 130.0, 0, 1) ** 0.7
    rect_h = rng.uniform(4.0, 6.0)
    rect_c = _centerline(np.column_stack([ys, xpw - rect_h]), 1.0, 2)
    rectus = _tube(rect_c, np.full(len(rect_c), rect_h), cap0="flat", cap1="round")
    land["rectus"] = rectus
    land["wall_y"], land["wall_x"] = ys, xpw

    # ---- perineal landmarks ---------------------------------------------------------
    land["M"] = np.array([24.0, 6.0]) + j(2)
    land["I"] = np.array([36.0, 22.0]) + j(2)
    land["AV"] = land["I"] + np.array([10.0, 34.0]) + j(2.5)

    # ---- rectum and sigmoid ------------------------------------------------------------
    bg = _bowel_geometry(a, rng, land)
    nb = {"stool": 7, "gel": 2, "gas": 0, "empty": 0}[bg["content"]]
    bg["bubbles"] = [(float(rng.uniform(bg["s_arj"] + 8, bg["s_j"] - 6)),
                      float(rng.uniform(-1, 1)), float(rng.uniform(1.5, 5.0)))
                     for _ in range(nb)]
    rest_bowel = _bowel_polys(bg, 0.0, 0.0, bg["bubbles"])

    # ---- vagina / cervix tube ---------------------------------------------------------
    I = land["I"]
    v1 = I + rng.uniform(26, 32) * _unit(rng.uniform(6, 18))
    f = v1 + rng.uniform(38, 48) * _unit(rng.uniform(28, 40))
    hyst = a["hysterectomy"]
    fill = a["bladder_fill"]
    if a["version"] == "anteverted":
        alpha = rng.uniform(40, 90) - 45 * fill
        body_dir = _unit(-alpha)
    else:
        body_dir = _unit(rng.uniform(5, 30))
    cdir = _unit(rng.uniform(-30, 5) if a["version"] == "anteverted" else rng.uniform(5, 25))
    lc = rng.uniform(24, 32)
    q = f + lc * cdir
    gel = a["vaginal_gel"]
    lum_h = rng.uniform(4.0, 7.0) if gel else rng.uniform(1.0, 1.8)
    hv = [max(4.8, lum_h + 3.0), max(6.5, lum_h + 3.2), max(8.5, lum_h + 3.4)]
    h_cx = rng.uniform(11.5, 14.5)
    rect_obs = [rest_bowel["rectum"], rest_bowel["sigmoid"]]
    for _ in range(12):
        ctrl = [I, v1, f] if hyst else [I, v1, f, q, q + 10.0 * body_dir]
        c = _centerline(ctrl, 1.0, 3)
        s, _, _ = _frame(c)
        sf_ = s[int(np.argmin(np.hypot(*(c - f).T)))]
        if hyst:
            half = np.interp(s, [0, 25, sf_], hv)
        else:
            half = np.interp(s, [0, 25, sf_ - 4, sf_ + 6, s[-1]],
                             hv + [h_cx, h_cx * 0.92])
        tube = _tube(c, half, cap0="flat", cap1="round")
        hit = any(points_in_poly(tube, _offset(_resample(o, 1.0), 2.0)).any()
                  for o in rect_obs)
        if not hit:
            break
        f = f + np.array([1.0, -2.0])
        q = q + np.array([0.5, -2.5])
        v1 = v1 + np.array([0.0, -0.8])
    land["F"], land["Q"] = f, q

    # ---- bladder ------------------------------------------------------------------------
    m_ = land["M"]
    neck = m_ + rng.uniform(34, 42) * _unit(rng.uniform(6, 20))
    land["N"] = neck
    ay, ax = 9.0 + 38.0 * fill, 17.0 + 16.0 * fill
    tau = np.deg2rad(rng.uniform(5, 25))
    cb = neck + np.array([-ay * 0.95 - 4.0, -ax * 0.2])
    tube_tree = cKDTree(_resample(tube, 1.0))
    for _ in range(12):
        if tube_tree.query(cb)[0] >= 0.8 * ax:
            break
        cb = cb + np.array([0.0, -2.0])
    sym_d = _offset(_resample(sym, 1.0), 3.0)
    for _ in range(20):
        bl = _blob(cb, ay, ax, angle=-tau, n=60)
        if not points_in_poly(bl, sym_d).any():
            break
        cb = cb + np.array([-2.0, 1.2])
    bl = _blob(cb, ay, ax, angle=-tau, wobble=0.1, rng=rng, n=120)
    th_ = np.arctan2(bl[:, 1] - cb[1], bl[:, 0] - cb[0])
    tn = np.arctan2(neck[1] - cb[1], neck[0] - cb[0])
    dth = np.angle(np.exp(1j * (th_ - tn)))
    rr = np.hypot(*(bl - cb).T)
    r_neck = np.hypot(*(neck - cb))
    rr = rr + (r_neck - rr[np.argmin(abs(dth))]) * np.exp(-(dth / 0.38) ** 2)
    bl = cb + rr[:, None] * np.column_stack([np.cos(th_), np.sin(th_)])
    bl = _ccw(bl)
    core = _blob(cb, 0.5 * ay, 0.5 * ax, angle=-tau, n=48)

    # ---- uterus body, union, children ----------------------------------------------------
    uv_children = []
    if hyst:
        uv = tube
        cx_child = None
    else:
        lb, tb = rng.uniform(44, 68), rng.uniform(28, 44)
        if a["postmenopausal"]:
            lb, tb = lb * 0.78, tb * 0.8
        wob = rng.normal(size=8)
        obst_u = [_offset(_resample(o, 1.0), 1.8) for o in [bl, sym] + rect_obs]
        a0 = float(np.degrees(np.arctan2(body_dir[1], -body_dir[0])))
        best = None
        for da in (0, -10, 10, -20, 20, -30, 30, -40, 40, -52, 52, -65, 65, -80, 80):
            bd = _unit(a0 + da)
            bc_ = q + (0.5 * lb - 2.0) * bd
            ang_ = np.arctan2(bd[1], bd[0])
            b_ = _blob(bc_, 0.5 * lb, 0.5 * tb, angle=ang_, wobble=0.08,
                       rng=np.random.default_rng(np.abs(wob * 1e6).astype(int)), n=110,
                       egg=0.45)
            frac = np.mean(np.any([points_in_poly(b_, o) for o in obst_u], axis=0))
            centre_in = any(points_in_poly(bc_[None], o)[0] for o in obst_u)
            score = frac + (1.0 if centre_in else 0.0)
            if best is None or score < best[0] - 1e-9:
                best = (score, bd, bc_, ang_, b_)
            if score < 0.04:
                break
        _, body_dir, bc, body_ang, body = best
        body = _repel(body, np.tile(bc, (len(body), 1)), [core, sym] + rect_obs, margin=1.8)
        s, _, _ = _frame(c)
        inside = points_in_poly(c, body)
        s_in = float(s[np.argmax(inside)]) if inside.any() else float(s[-1])
        myo = bc + (body - bc) * np.maximum(1 - 1.4 / np.maximum(np.hypot(*(body - bc).T),
                                                                 1e-6), 0.3)[:, None]
        uv = _union(tube, body)
        endo_h = rng.uniform(0.8, 2.0) if a["postmenopausal"] else rng.uniform(2.0, 7.0)
        jz_w = rng.uniform(2.5, 7.0)
        scale = 1.0
        for _ in range(10):
            jz = _blob(bc + 2.0 * body_dir, 0.36 * lb * scale, (endo_h + jz_w) * scale,
                       angle=body_ang, n=60, egg=0.3)
            if points_in_poly(jz, _offset(myo, -1.5)).all():
                break
            scale *= 0.88
        endo = _blob(bc + 2.0 * body_dir, 0.32 * lb * scale, endo_h * scale, angle=body_ang,
                     n=48, egg=0.3)
        fibs = []
        for _ in range(a["n_fibroids"]):
            for _try in range(25):
                rad = rng.uniform(5, 17)
                sub = rng.random() < 0.4
                th0 = rng.uniform(0, 2 * np.pi)
                dvec = np.array([np.cos(th0), np.sin(th0)])
                if dvec @ body_dir < -0.3:
                    continue
                rb = np.hypot(*(body - bc).T)
                ab = np.arctan2(body[:, 1] - bc[1], body[:, 0] - bc[0])
                k = int(np.argmin(abs(np.angle(np.exp(1j * (ab - th0))))))
                dist = rb[k] - 0.35 * rad if sub else rng.uniform(0.2, 0.8) * (rb[k] - rad - 2)
                ctr = bc + dist * dvec
                circ = _blob(ctr, rad, rad, n=48)
                if np.min(np.hypot(jz[:, 0] - ctr[0], jz[:, 1] - ctr[1])) < rad + 1.5:
                    continue
                if any(np.hypot(*(ctr - fc)) < rad + fr + 2 for fc, fr in fibs):
                    continue
                if sub:
                    big = _blob(ctr, rad + 1.8, rad + 1.8, n=60)
                    if any(points_in_poly(big, _offset(_resample(o, 1.0), 1.5)).any()
                           for o in [core, sym] + rect_obs):
                        continue
                    uv = _union(uv, big)
                    myo = _union(myo, _blob(ctr, rad + 0.5, rad + 0.5, n=56))
                elif not points_in_poly(circ, _offset(myo, -1.0)).all():
                    continue
                fibs.append((ctr, rad))
                break
        stroma = None
        if s_in - sf_ > 6:
            stroma = _tube(c, half - 1.3, sf_ + 1.0, s_in - 1.0, "flat", "flat")
            stroma = _difference(stroma, _offset(myo, 0.6))
            canal_t = _tube(c, np.full(len(c), rng.uniform(1.0, 2.2)), sf_ + 3.5, s_in - 4.0)
            cx_child = (stroma, canal_t)
        else:
            cx_child = None
        uv_children = [("myometrium", myo, "vagina_wall"), ("junctional", jz, "myometrium"),
                       ("endometrium", endo, "junctional")]
        deg = rng.random() < 0.25
        for ctr, rad in fibs:
            uv_children.append(("fibroid_deg" if deg else "fibroid",
                                _blob(ctr, rad, rad, wobble=0.05, rng=rng, n=48),
                                "myometrium"))
        land["uterus_c"] = bc
    land["vag_c"], land["vag_half"], land["vag_sF"] = c, half, sf_
    vag_lumen = _tube(c, np.full(len(c), lum_h), 2.5, sf_ - 2.5, "round", "round")

    obst = [sym, uv, land["rectus"]] + rect_obs
    uv_d = _offset(_resample(uv, 1.0), 4.0)
    for _ in range(30):
        if not points_in_poly(cb[None], uv_d)[0]:
            break
        cb = cb + 2.0 * (neck - cb) / max(np.linalg.norm(neck - cb), 1e-6)
    bl = _repel(bl, np.tile(cb, (len(bl), 1)), obst, margin=2.0)
    bwall = float(np.clip(5.2 - 3.2 * fill + rng.normal(0, 0.4), 1.8, 6.0))
    rr = np.hypot(*(bl - cb).T)
    urine = cb + (bl - cb) * np.maximum(1 - bwall / np.maximum(rr, 1e-6), 0.2)[:, None]
    land["bladder_c"] = cb

    # ---- urethra -------------------------------------------------------------------
    ucl = _centerline([neck + 1.5 * (m_ - neck) / np.linalg.norm(m_ - neck),
                       0.5 * (neck + m_) + np.array([0.0, -2.0]), m_], 1.0, 2)
    uhalf = np.interp(np.arange(len(ucl)), [0, len(ucl) - 1], [5.5, 4.0])
    urethra = _tube(ucl, uhalf, cap0="round", cap1="flat")
    urethra = _repel(urethra, ucl[np.argmin(np.hypot(urethra[:, None, 0] - ucl[None, :, 0],
                                                      urethra[:, None, 1] - ucl[None, :, 1]),
                                             axis=1)], [uv, sym, bl], margin=1.0)

    # ---- pelvic floor -------------------------------------------------------------------
    rc, rs, rh = bg["c"], bg["s"], bg["half"]
    _, rt, rn = _frame(rc)
    post_sign = np.sign(rn[:, 1:2])
    post_sign[post_sign == 0] = 1
    rpost = rn * post_sign  # towards posterior
    k_arj = int(np.argmin(abs(rs - bg["s_arj"])))
    pr_c = rc[k_arj] + (rh[k_arj] + 8.5) * rpost[k_arj] + np.array([3.0, 0.0])
    pr = _blob(pr_c, 9.0, 6.0, angle=np.arctan2(rt[k_arj, 1], rt[k_arj, 0]), n=40)
    tip = land["coccyx_tip"]
    lev_pts = [pr_c]
    for k in range(k_arj + 8, len(rc)):
        if rc[k, 0] < tip[0] + 6:
            break
        if k % 8 == 0:
            lev_pts.append(rc[k] + (rh[k] + 5.5) * rpost[k])
    lev_pts.append(tip + np.array([7.0, -2.0]))
    lev_c = _centerline(lev_pts, 1.0, 2)
    lev = _tube(lev_c, np.full(len(lev_c), rng.uniform(2.8, 4.0)))
    lev = _difference(lev, pr)
    eas = []
    for sgn in (1.0, -1.0):
        kk = int(np.argmin(abs(rs - 11.0)))
        ce = rc[kk] + sgn * (rh[kk] + 5.5) * rpost[kk]
        eas.append(_blob(ce, 8.5, 4.0, angle=np.arctan2(rt[kk, 1], rt[kk, 0]), n=32))
    # perineal body between the lower vagina and the anterior sphincter
    pv = c[int(np.argmin(abs(_frame(c)[0] - 16)))]
    pa = rc[int(np.argmin(abs(rs - 20)))]
    pbc = 0.5 * (pv + pa)
    occ = np.vstack([_resample(x, 1.0) for x in [uv, rest_bowel["rectum"], eas[0],
                                                    eas[1], urethra, pr]])
    pbr = float(np.clip(cKDTree(occ).query(pbc)[0] - 1.5, 2.0, 9.0))
    pb = _blob(pbc, pbr * 1.2, pbr, angle=0.3, n=32)

    # ---- body outline and abdominal wall ---------------------------------------------------
    skin_x = xpw - 2 * rect_h - fa - 2.5
    mons = rng.uniform(14, 30) + 0.4 * fa
    av = land["AV"]
    ant = [np.array([yy, xx]) for yy, xx in zip(ys[::4], skin_x[::4], strict=False)]
    per = [np.array([sym_top[0] + 12, sym_top[1] - mons - 6]),
           np.array([cs[0] + 18, cs[1] - mons]),
           np.array([m_[0] - 4, m_[1] - 16]),
           m_ + np.array([3.0, -2.0]),
           I + np.array([4.0, -6.0]), I + np.array([4.5, 5.0]),
           0.5 * (I + av) + np.array([6.5, 0.0]),
           av + np.array([4.5, -7.0]), av + np.array([4.5, 7.0]),
           av + np.array([6.0, 20.0]), av + np.array([14.0, 45.0]),
           av + np.array([8.0, 75.0]),
           np.array([av[0] - 40, land["post_x"] + 6 + fbk]),
           np.array([-90.0, land["post_x"] + 8 + fbk]),
           np.array([-420.0, land["post_x"] + 8 + fbk])]
    outline = np.vstack(ant + per)
    outline = _chaikin(outline, 2)
    # keep the organ tube ends inside the skin
    ends = np.vstack([tube, rest_bowel["rectum"], urethra, eas[0], eas[1], pb])
    for _ in range(6):
        out = ~points_in_poly(ends, _offset(outline, -1.8))
        if not out.any():
            break
        nrm = _normals(_ccw(outline))
        d = cKDTree(ends[out]).query(_ccw(outline))[0]
        outline = _ccw(outline) + nrm * (2.0 * np.exp(-(d / 6.0) ** 2))[:, None]
    outline = _ccw(outline)
    land["outline"] = outline

    # ---- vessels --------------------------------------------------------------------------
    vess = []
    sfr = land["spine_front"]
    ao = _centerline([sfr[0] + np.array([-60.0, -14.0]), sfr[2] + np.array([0.0, -13.0])],
                     1.0, 1)
    vess.append(_tube(ao, np.full(len(ao), rng.uniform(7.0, 10.0)), cap0="flat"))
    vess.append(_blob(sfr[-2] + np.array([5.0, -12.0]), 10.0, 6.0, n=32))
    msv = _centerline(sac_front[5:-20] + 3.5 * nn[5:-20], 1.0, 1)
    vess.append(_tube(msv, np.full(len(msv), 1.3)))
    vess.append(_blob(cs + np.array([20.0, -11.0]), 2.5, 2.0, n=16))

    # ---- assemble ---------------------------------------------------------------------------
    sc.add(outline, "skin", "air", name="body")
    sc.add(_offset(_resample(outline, 2.0), -2.2), "fat", "skin", name="fat")
    sc.add(rectus, "muscle", "fat", name="rectus")
    for v in vess:
        sc.add(v, "vessel", "fat", name="vessel", fixed=True)
    sc.add(bl, "bladder_wall", "fat", name="bladder", label=LABELS["bladder"])
    sc.add(urine, "urine", "bladder_wall", name="urine")
    sc.add(urethra, "sphincter", "fat", name="urethra")
    ul = _tube(ucl, np.full(len(ucl), 1.0), 2.0, _frame(ucl)[0][-1] - 2.0)
    sc.add(ul, "urethra_lumen", "sphincter", name="urethra_lumen")
    sc.add(uv, "vagina_wall", "fat", name="uterus_vagina", label=LABELS["uterus_vagina"])
    sc.add(vag_lumen, "vagina_lumen", "vagina_wall", name="vagina_lumen")
    if cx_child is not None:
        sc.add(cx_child[0], "cervix", "vagina_wall", name="cervix")
        sc.add(cx_child[1], "canal", "cervix", name="cervical_canal")
    for tname, pts, parent in uv_children:
        tis = "fibroid" if tname.startswith("fibroid") else tname
        rec = sc.add(pts, tis, parent, name=tname)
        if tname == "fibroid_deg":
            rec["tissue"] = "endometrium"
    for nm, pts in (("puborectalis", pr), ("levator", lev), ("eas_a", eas[0]),
                    ("eas_p", eas[1])):
        sc.add(pts, "sphincter" if nm.startswith("eas") else "muscle", "fat", name=nm)
    sc.add(pb, "fibrous", "fat", name="perineal_body")
    land["bowel"] = bg
    land["solid"] = [bl, uv, rest_bowel["rectum"], rest_bowel["sigmoid"], sym, sacrum, pr,
                     lev, eas[0], eas[1], urethra, pb, rectus] + body_polys + vess
    return sc, land


def _rrect(c, ang, hh, hw, r=5.0, n=64):
    """Rounded rectangle (half height hh along the axis at angle ang from vertical)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    e = 4.0
    u = hh * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** (2 / e)
    v = hw * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** (2 / e)
    up = np.array([-np.cos(ang), -np.sin(ang)])
    side = np.array([np.sin(ang), -np.cos(ang)])
    return _ccw(np.asarray(c) + u[:, None] * up + v[:, None] * side)


def place_loops(sc: Scene, land: dict, rng, clip_n, clip_c) -> list[dict]:
    """Sigmoid and small-bowel loops in the free peritoneal space (rigid bodies)."""
    occ_pts = np.vstack([_resample(q, 1.0) for q in land["solid"]])
    solid = land["solid"]
    loops = []
    sfr = land["spine_front"]
    bg = land["bowel"]
    jpt = bg["c"][int(np.argmin(abs(bg["s"] - bg["s_j"])))]

    def free(ctr, rad):
        if ctr @ clip_n - clip_c < rad + 10:
            return False
        if not points_in_poly(ctr[None], _offset(land["outline"], -8.0))[0]:
            return False
        if any(points_in_poly(ctr[None], q)[0] for q in solid):
            return False
        if cKDTree(occ_pts).query(ctr)[0] < rad + 2.5:
            return False
        xf = np.interp(ctr[0], sfr[:, 0], sfr[:, 1]) if ctr[0] < sfr[-1, 0] else 200.0
        xw = np.interp(ctr[0], land["wall_y"], land["wall_x"])
        return xw + rad + 2 < ctr[1] < xf - rad - 6 and ctr[0] < -18

    specs = [("sig", jpt + np.array([-25.0, -20.0]), 35.0) for _ in range(int(rng.integers(2, 5)))]
    specs += [("sb", None, 0.0) for _ in range(170)]
    n_sig = 0
    for kind, c0, spread in specs:
        rad = rng.uniform(9, 15) if kind == "sig" else rng.uniform(7, 19)
        if c0 is not None:
            ctr = c0 + rng.normal(0, spread, 2)
        else:
            ctr = np.array([rng.uniform(-330, -20), rng.uniform(-90, 110)])
        if not free(ctr, rad):
            continue
        asp = rng.uniform(1.0, 1.6)
        outer = _blob(ctr, rad, rad / asp, angle=rng.uniform(0, np.pi), wobble=0.08, rng=rng,
                      n=40)
        wall = rng.uniform(1.4, 2.6)
        kinds = ["bowel_fluid", "chyme", "gas", "bowel_wall"]
        content = (str(rng.choice(["rectal_content", "gas"], p=[0.7, 0.3])) if kind == "sig"
                   else str(rng.choice(kinds, p=[0.35, 0.35, 0.12, 0.18])))
        inner = ctr + (outer - ctr) * np.maximum(
            1 - wall / np.maximum(np.hypot(*(outer - ctr).T), 1e-6), 0.15)[:, None]
        loops.append({"outer": outer, "inner": inner, "content": content,
                      "wall": "rectal_wall" if kind == "sig" else "bowel_wall", "c": ctr})
        occ_pts = np.vstack([occ_pts, _resample(outer, 1.0)])
        solid = solid + [outer]
        n_sig += kind == "sig"
    return loops


# ---------------------------------------------------------------------------------------
# motion
# ---------------------------------------------------------------------------------------
def motion_curves(p: dict, times: np.ndarray, fine: np.ndarray):
    """Strain a(t) (+ strain, - squeeze), evacuation e(t), canal opening o(t)."""
    m = p["motion"]
    r = np.random.default_rng(m["curve_seed"])
    dur = float(times[-1] + p["frame_interval_s"])
    man = m["maneuver"]

    def ramp_hold(t, t0, up, hold, down, amp):
        y = np.clip((t - t0) / up, 0, 1)
        y = y * np.clip(1 - (t - t0 - up - hold) / down, 0, 1)
        return amp * (0.5 - 0.5 * np.cos(np.pi * y))

    def curve(t):
        a = np.zeros_like(t)
        e = np.zeros_like(t)
        o = np.zeros_like(t)
        reps = m["repeats"]
        if man in ("valsalva", "squeeze", "squeeze_valsalva", "defecation"):
            slot = dur / reps
            for k in range(reps):
                t0 = k * slot + r.uniform(0.08, 0.25) * slot
                up = r.uniform(0.1, 0.2) * slot
                hold = r.uniform(0.25, 0.4) * slot
                down = r.uniform(0.08, 0.15) * slot
                amp = r.uniform(0.75, 1.0)
                if man == "squeeze" or (man == "squeeze_valsalva" and k % 2 == 0 and reps > 1):
                    amp = -amp
                a += ramp_hold(t, t0, up, hold, down, amp)
                if man == "defecation":
                    ev = np.clip((t - t0 - 0.6 * up) / (hold + up * 0.4), 0, 1)
                    e = np.maximum(e, r.uniform(0.6, 1.0) * ev)
                    o = np.maximum(o, ramp_hold(t, t0 + up, 0.2 * hold, 0.6 * hold,
                                                0.3 * hold, 1.0))
        if man == "cough":
            for _ in range(int(r.integers(3, 8))):
                tc = times[int(r.integers(1, len(times)))] + r.normal(0, 0.12)
                w = r.uniform(0.15, 0.35)
                a += r.uniform(0.4, 0.8) * np.exp(-0.5 * ((t - tc) / w) ** 2)
            if r.random() < 0.5:
                a += ramp_hold(t, 0.5 * dur, 0.1 * dur, 0.2 * dur, 0.1 * dur, 0.8)
        return np.clip(a, -1, 1.2), e, o

    r_state = r.bit_generator.state
    fr = curve(times)
    r.bit_generator.state = r_state
    return fr, curve(fine)


class Field:
    """Displacement field of the manoeuvre model in body millimetres."""

    def __init__(self, p, land, rng, clip_n, clip_c):
        lax = p["motion"]["laxity"]
        self.pivot = land["M"] + np.array([-22.0, -10.0])
        self.theta = 0.06 + 0.16 * lax + rng.uniform(0, 0.04)
        self.dh = 6.0 + 20.0 * lax
        self.hc = 0.5 * (land["I"] + land["AV"]) + np.array([-10.0, 0.0])
        self.dir_h = np.array([np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20))])
        self.squeeze_gain = rng.uniform(0.35, 0.55)
        bones = np.vstack([_resample(b, 1.5) for b in land["bones"]])
        self.bone_tree = cKDTree(bones)
        self.clip_n, self.clip_c = clip_n, clip_c
        bg = land["bowel"]
        k_arj = int(np.argmin(abs(bg["s"] - bg["s_arj"])))
        k_rc = int(np.argmin(abs(bg["s"] - (bg["s_arj"] + 14))))
        nb = land["bladder_c"]
        self.bumps = [  # centre, sigma, amplitude, direction
            (land["N"] + np.array([-6.0, 14.0]), 17.0,
             min(0.7 * 17, 26 * lax * rng.uniform(0.5, 1.0)), np.array([0.94, 0.34])),
            (land["F"] + np.array([-8.0, 0.0]), 22.0,
             min(0.7 * 22, 30 * lax * rng.uniform(0.3, 1.0)), np.array([0.92, -0.38])),
            (bg["c"][k_rc] + np.array([0.0, -bg["half"][k_rc]]), 12.0,
             min(0.7 * 12, 18 * lax * rng.uniform(0.3, 1.0)), np.array([0.3, -0.95])),
            (bg["c"][k_arj], 18.0, 6 + 8 * lax, np.array([0.8, 0.6])),
        ]
        self.bladder_top = nb
        self.canal = bg
        _, _, rn = _frame(bg["c"])
        self.canal_tree = cKDTree(bg["c"])

    def weight(self, pts):
        y, x = pts[:, 0], pts[:, 1]
        wy = np.clip((y + 210.0) / 130.0, 0, 1) * np.clip((110.0 - y) / 50.0, 0, 1)
        wx = np.clip((x + 45.0) / 40.0, 0, 1) * np.clip((150.0 - x) / 45.0, 0, 1)
        db = self.bone_tree.query(pts)[0]
        wb = np.clip(db / 28.0, 0, 1)
        dt = pts @ self.clip_n - self.clip_c
        wt = np.clip((dt - 6.0) / 40.0, 0, 1)
        w = wy * wx
        w = w * w * (3 - 2 * w)
        sb = wb * wb * (3 - 2 * wb)
        st = wt * wt * (3 - 2 * wt)
        return w * sb * st, sb * st

    def __call__(self, pts, a, o=0.0, push=True):
        if abs(a) < 1e-9 and o < 1e-9:
            return np.zeros_like(pts)
        w, safe = self.weight(pts)
        gain = 1.0 if a >= 0 else self.squeeze_gain
        v = pts - self.pivot
        rot = self.theta * np.column_stack([v[:, 1], -v[:, 0]])
        g = np.exp(-np.sum((pts - self.hc) ** 2, axis=1) / (2 * 42.0 ** 2))
        u = a * gain * w[:, None] * (rot + self.dh * g[:, None] * self.dir_h)
        if a > 0:
            for c, sg, amp, d in self.bumps:
                gg = np.exp(-np.sum((pts - c) ** 2, axis=1) / (2 * sg * sg))
                u += a * amp * (gg * safe)[:, None] * d
        if push and o > 0:
            dist, idx = self.canal_tree.query(pts)
            bg = self.canal
            sk = bg["s"][idx]
            win = np.clip((sk - 6.0) / 8.0, 0, 1) * np.clip((bg["s_arj"] + 8 - sk) / 8.0, 0, 1)
            v = pts - bg["c"][idx]
            nv = v / np.maximum(dist, 1e-6)[:, None]
            fall = np.clip(1 - (dist - bg["half"][idx] - 2.0) / 14.0, 0, 1)
            u += (o * 5.0 * win * fall)[:, None] * nv
        return u


# ---------------------------------------------------------------------------------------
# k-space engine
# ---------------------------------------------------------------------------------------
def _edge_terms(p0, p1, starts, ky, kx, dtype=np.complex64):
    """Per polygon group: sum over edges of (k.N) sinc(k.e) exp(-2 pi i k.m) on the grid
    ky (rows) x kx (cols); edges sorted by group, ``starts`` the first edge of each."""
    rdt = np.float32 if dtype == np.complex64 else np.float64
    e = (p1 - p0)
    m = 0.5 * (p0 + p1)
    n_e, nro, npe = len(e), len(ky), len(kx)
    out = np.empty((len(starts), nro, npe), dtype)
    if n_e == 0:
        out[:] = 0
        return out
    ey = e[:, 0].astype(rdt)[:, None, None]
    ex = e[:, 1].astype(rdt)[:, None, None]
    kxr = kx.astype(rdt)[None, None, :]
    ex_ph = np.exp(-2j * np.pi * np.outer(m[:, 1], kx)).astype(dtype)
    rows = max(1, int(2.0e6 // max(1, n_e * npe)))
    for r0 in range(0, nro, rows):
        kyr = ky[r0:r0 + rows]
        kyb = kyr.astype(rdt)[None, :, None]
        ey_ph = np.exp(-2j * np.pi * np.outer(m[:, 0], kyr)).astype(dtype)
        kd = ey * kyb + ex * kxr
        kn = ey * kxr - ex * kyb  # k . N with N = (e_y, -e_x) for a ccw polygon
        kd *= rdt(np.pi)
        z = kd == 0
        kd[z] = 1
        sn = np.sin(kd)
        sn /= kd
        sn[z] = 1
        kn *= sn
        t = kn * ey_ph[:, :, None]
        t *= ex_ph[:, None, :]
        out[:, r0:r0 + rows] = np.add.reduceat(t, starts, axis=0)
    return out


def polygon_ft(polys, ky, kx, dtype=np.complex128):
    """Exact FT of each polygon (list of (n,2) (y,x) mm arrays) on the grid; (P, Ny, Nx)."""
    if not polys:
        return np.zeros((0, len(ky), len(kx)), dtype)
    p0 = np.vstack(polys)
    p1 = np.vstack([np.roll(q, -1, axis=0) for q in polys])
    starts = np.cumsum([0] + [len(q) for q in polys[:-1]])
    f = _edge_terms(p0, p1, starts, ky, kx, dtype)
    return _finish(f, [_area(q) for q in polys], ky, kx)


def _finish(f, areas, ky, kx):
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    pre = np.where(k2 > 0, 1j / (2 * np.pi * np.where(k2 > 0, k2, 1.0)), 0.0)
    f = f * pre.astype(f.dtype)[None]
    zr, zc = np.nonzero(k2 == 0)
    for i, ar in enumerate(areas):
        f[i, zr, zc] = ar
    return f


# ---------------------------------------------------------------------------------------
# signal model
# ---------------------------------------------------------------------------------------
def tissue_signals(p: dict, pe_te_ms: np.ndarray, content: dict):
    """(n_tissue, n_pe) water and fat signal per tissue and phase-encode line."""
    im = p["imaging"]
    seq = im["sequence"]
    jit = np.exp(np.asarray(im["tissue_jitter"]))
    water = np.zeros((len(TNAMES), len(pe_te_ms)))
    fat = np.zeros_like(water)
    for i, name in enumerate(TNAMES):
        pd, t1, t2, ff, flow = TISSUES[content.get(name, name)]
        pd *= jit[i]
        t2 *= np.sqrt(jit[(i + 7) % len(TNAMES)])
        if seq == "ssfse":
            s = pd * np.exp(-pe_te_ms / t2) * (1 - np.exp(-2500.0 / t1))
            s = s * (0.15 if flow else 1.0)
            sf = np.exp(-pe_te_ms / 110.0) * np.ones_like(pe_te_ms)
        elif seq == "bssfp":
            ca = np.cos(np.deg2rad(im["flip_deg"]))
            s = pd * np.sin(np.deg2rad(im["flip_deg"])) / ((1 + ca) + (1 - ca) * t1 / t2)
            s = s * (1.6 if flow else 1.0) * np.ones_like(pe_te_ms)
            sf = np.sin(np.deg2rad(im["flip_deg"])) / ((1 + ca) + (1 - ca) * 260.0 / 80.0)
            sf = sf * np.ones_like(pe_te_ms)
        else:
            al = np.deg2rad(im["flip_deg"])
            e1 = np.exp(-im["tr_ms"] / t1)
            s = pd * np.sin(al) * (1 - e1) / (1 - np.cos(al) * e1)
            s = s * (2.5 if flow else 1.0) * np.ones_like(pe_te_ms)
            e1f = np.exp(-im["tr_ms"] / 260.0)
            sf = np.sin(al) * (1 - e1f) / (1 - np.cos(al) * e1f) * np.ones_like(pe_te_ms)
        if im["fat_sat"]:
            sf = sf * 0.08
        water[i] = (1 - ff) * s
        fat[i] = ff * sf * pd
    return water, fat


# ---------------------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------------------
def _smooth_field(rng, h, w, cycles, n=6):
    """Sum of n random plane waves with about ``cycles`` periods across the image."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    f = np.zeros((h, w))
    for _ in range(n):
        ky_, kx_ = rng.normal(0, cycles, 2)
        f += np.cos(2 * np.pi * (ky_ * yy + kx_ * xx) + rng.uniform(0, 2 * np.pi))
    return f / np.sqrt(n / 2)


def generate(seed: int, matrix=None, n_frames=None):
    """One case: (CineSeries, truth (T,H,W) uint8, params dict)."""
    p = case_params(seed)
    fov = np.array(p["fov_mm"], float)
    if matrix is not None:
        hw = (int(matrix), int(matrix)) if np.isscalar(matrix) else tuple(int(v) for v in matrix)
        p["matrix"] = [hw[0], hw[1]]
        p["spacing_mm"] = [float(fov[0] / hw[0]), float(fov[1] / hw[1])]
    if n_frames is not None:
        p["n_frames"] = int(n_frames)
    h, w = p["matrix"]
    dy, dx = p["spacing_mm"]
    t_n = p["n_frames"]
    im = p["imaging"]
    a = p["anatomy"]
    rng = np.random.default_rng([int(seed), 2])
    sc, land = build_anatomy(p, rng)

    # ---- placement: scale, tilt, translation so that the pelvis fits ----------------------
    tilt = np.deg2rad(a["tilt_deg"])
    rot = _rot(tilt)
    must = np.vstack([rec["pts"] for rec in sc.polys
                      if rec["label"] or rec["name"] in ("symphysis", "coccyx", "urethra")])
    olb = land["outline"]
    must = np.vstack([must, land["sacrum_front"], olb[olb[:, 0] > land["AV"][0] - 10]])
    ol = land["outline"]
    wide = ol[(ol[:, 0] > must[:, 0].min() - 40)]
    mr, wr = must @ rot.T, wide @ rot.T
    need_y = max(mr[:, 0].max() - mr[:, 0].min() + 28.0, 1.0)
    need_x = max(wr[:, 1].max() - wr[:, 1].min() + 12.0, 1.0)
    s_fit = min(fov[0] / need_y, fov[1] / need_x)
    scale = float(min(a["body_scale"], s_fit))
    lo_y = -mr[:, 0].min() * scale + 14.0
    hi_y = fov[0] - mr[:, 0].max() * scale - 14.0
    ty = rng.uniform(0.74, 0.93) * fov[0] - mr[:, 0].max() * scale
    ty = float(np.clip(ty, lo_y, hi_y)) if hi_y > lo_y else 0.5 * (lo_y + hi_y)
    lo_x = -wr[:, 1].min() * scale + 6.0
    hi_x = fov[1] - wr[:, 1].max() * scale - 6.0
    tx = rng.uniform(lo_x, max(lo_x, hi_x)) if hi_x > lo_x else 0.5 * (lo_x + hi_x)
    lin = scale * rot
    off = np.array([ty, tx])
    p["placement"] = {"scale": scale, "offset_mm": [float(ty), float(tx)]}

    def to_fov(q):
        return q @ lin.T + off

    # top edge of the FOV in body coordinates: (to_fov(q))_y >= -dy/2
    clip_n = lin[0]
    clip_c = -dy / 2 - off[0]
    loops = place_loops(sc, land, rng, clip_n, clip_c)
    for rec in sc.polys:
        if (rec["pts"] @ clip_n - clip_c).min() < 0:
            rec["pts"] = _clip(rec["pts"], clip_n, clip_c)
    sc.polys = [r_ for r_ in sc.polys if len(r_["pts"]) >= 3 and abs(_area(r_["pts"])) > 1]
    field = Field(p, land, rng, clip_n, clip_c)

    # ---- acquisition geometry ------------------------------------------------------------
    n_ro = max(16, int(round(h * im["readout_fraction"] / 2)) * 2)
    n_pe_full = max(16, int(round(w * im["phase_fraction"] / 2)) * 2)
    n_high = n_pe_full // 2
    n_low = int(round(n_pe_full / 2 * (2 * im["partial_fourier"] - 1)))
    ky = np.arange(-n_ro // 2, n_ro // 2) / (h * dy)
    pe_idx = np.arange(-n_low, n_high)
    kx = pe_idx / (w * dx)
    n_pe = len(pe_idx)
    order = np.arange(n_pe)  # linear order from the partial-Fourier side
    centre_line = n_low
    if im["sequence"] == "ssfse":
        esp = im["echo_spacing_ms"]
        te = im["te_eff_ms"] + (order - centre_line) * esp
        te = np.maximum(te, esp)
    else:
        te = np.full(n_pe, 2.0)
    content = {"rectal_content": {"stool": "rectal_content", "gel": "bowel_fluid",
                                  "gas": "gas", "empty": "rectal_content"}[a["rectal_content"]]}
    if a["vaginal_gel"]:
        content["vagina_lumen"] = "bowel_fluid"
    water, fat = tissue_signals(p, te, content)
    shift = im["chemical_shift_px"] * dy * (1 if seed % 2 else -1)
    fat_ramp = np.exp(-2j * np.pi * ky * shift) * np.exp(1j * im["fat_phase"])
    # tissue weight per k point (n_t, n_ro, n_pe)
    wgt = (water[:, None, :] + fat[:, None, :] * fat_ramp[None, :, None]).astype(np.complex64)

    # ---- timing and motion states ------------------------------------------------------------
    dt_f = p["frame_interval_s"]
    times = np.arange(t_n) * dt_f
    t_acq = min(0.9 * dt_f, 0.25 + n_pe * (im["echo_spacing_ms"] if im["sequence"] == "ssfse"
                                           else im["tr_ms"]) / 1000.0)
    line_t = (order - centre_line) / max(n_pe, 1) * t_acq
    fine = (times[:, None] + line_t[None, :]).ravel()
    (a_t, e_t, o_t), (a_f, e_f, o_f) = motion_curves(p, times, fine)
    a_f, e_f, o_f = (v.reshape(t_n, n_pe) for v in (a_f, e_f, o_f))
    states = []  # per frame: list of (a, e, o, breath, pe slice)
    for i in range(t_n):
        seg = [(float(a_t[i]), float(e_t[i]), float(o_t[i]), times[i], slice(0, n_pe))]
        if np.ptp(a_f[i]) > 0.12:
            cuts = np.linspace(0, n_pe, 4).astype(int)
            seg = []
            for k in range(3):
                mid = (cuts[k] + cuts[k + 1]) // 2
                seg.append((float(a_f[i, mid]), float(e_f[i, mid]), float(o_f[i, mid]),
                            times[i] + line_t[mid], slice(cuts[k], cuts[k + 1])))
        states.append(seg)
    breath_amp = p["motion"]["breath_mm"]
    breath_T = p["motion"]["breath_period_s"]

    def breath(t):
        return breath_amp * 0.5 * (1 - np.cos(2 * np.pi * t / breath_T))

    # ---- classify polygons -----------------------------------------------------------------
    n_t = len(TNAMES)
    k_static = np.zeros((n_t, n_ro, n_pe), np.complex128)
    static_polys, static_g = [], []
    deform = []
    all_states = [s for seg in states for s in seg]
    for rec in sc.polys:
        pts = rec["pts"]
        if rec["fixed"]:
            static_polys.append(to_fov(pts))
            static_g.append(rec)
            continue
        moving = np.zeros(len(pts), bool)
        for st in all_states:
            moving |= np.any(np.abs(field(pts, st[0], st[2])) > 1e-7, axis=1)
        if not moving.any():
            static_polys.append(to_fov(pts))
            static_g.append(rec)
        else:
            deform.append((rec, moving))
    # static polygons: exact FT once
    for q, rec in zip(static_polys, static_g, strict=True):
        f = polygon_ft([q], ky, kx)[0]
        k_static[TIDX[rec["tissue"]]] += f
        k_static[TIDX[rec["parent"]]] -= f
    # deforming polygons: static edges once
    dyn_static = []
    for rec, moving in deform:
        pts = rec["pts"]
        emov = moving | np.roll(moving, -1)
        rec["emov"] = emov
        q = to_fov(pts)
        keep = ~emov
        if keep.any():
            f = _edge_terms(q[keep], np.roll(q, -1, axis=0)[keep], np.array([0]), ky, kx,
                            np.complex128)[0]
        else:
            f = np.zeros((n_ro, n_pe), np.complex128)
        dyn_static.append(f)
    # rigid loops: FT once
    loop_ft = []
    for lp in loops:
        fo, fi = polygon_ft([to_fov(lp["outer"]), to_fov(lp["inner"])], ky, kx)
        loop_ft.append((fo, fi))
    bg = land["bowel"]
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    pre = np.where(k2 > 0, 1j / (2 * np.pi * np.where(k2 > 0, k2, 1.0)), 0.0)
    k0 = np.nonzero(k2 == 0)

    def kspace_state(a_, e_, o_, tb):
        kt = k_static.astype(np.complex64)
        groups = []
        p0s, p1s, starts, areas = [], [], [], []
        n_acc = 0
        for (rec, _), fst in zip(deform, dyn_static, strict=True):
            pts = rec["pts"]
            q = to_fov(pts + field(pts, a_, o_))
            em = rec["emov"]
            p0s.append(q[em])
            p1s.append(np.roll(q, -1, axis=0)[em])
            starts.append(n_acc)
            n_acc += int(em.sum())
            areas.append(_area(q))
            groups.append((rec["tissue"], rec["parent"], fst))
        bw = _bowel_polys(bg, e_, o_, bg["bubbles"])
        bpolys = [(bw["rectum"], "rectal_wall", "fat"), (bw["sigmoid"], "rectal_wall", "fat"),
                  (bw["rect_lumen"], "rectal_content", "rectal_wall"),
                  (bw["sig_lumen"], "rectal_content", "rectal_wall")]
        bpolys += [(b, "gas", "rectal_content") for b in bw["bub"]]
        for q0, tis, par in bpolys:
            if len(q0) < 3:
                continue
            q0 = _simplify(q0, 0.1)
            q = to_fov(q0 + field(q0, a_, o_, push=False))
            p0s.append(q)
            p1s.append(np.roll(q, -1, axis=0))
            starts.append(n_acc)
            n_acc += len(q)
            areas.append(_area(q))
            groups.append((tis, par, None))
        f = _edge_terms(np.vstack(p0s), np.vstack(p1s), np.array(starts), ky, kx)
        for i, (tis, par, fst) in enumerate(groups):
            tot = f[i] if fst is None else f[i] + fst
            tot = tot * pre
            tot[k0] = areas[i]
            tot = tot.astype(np.complex64)
            kt[TIDX[tis]] += tot
            kt[TIDX[par]] -= tot
        for lp, (fo, fi) in zip(loops, loop_ft, strict=True):
            d = field(lp["c"][None], a_, o_)[0]
            wgh = np.clip((lp["c"] @ clip_n - clip_c - 20.0) / 60.0, 0, 1)
            wgh *= np.clip((-lp["c"][0] - 60.0) / 60.0, 0, 1)
            d = d + np.array([-tb * wgh, 0.0])
            dd = d @ lin.T
            ph = np.outer(np.exp(-2j * np.pi * ky * dd[0]), np.exp(-2j * np.pi * kx * dd[1]))
            fo_, fi_ = (fo * ph).astype(np.complex64), (fi * ph).astype(np.complex64)
            kt[TIDX[lp["wall"]]] += fo_ - fi_
            kt[TIDX["fat"]] -= fo_
            kt[TIDX[lp["content"]]] += fi_
        return kt

    def labels_state(a_, e_, o_):
        lab = np.zeros((h, w), np.uint8)
        polys = {}
        for rec in sc.polys:
            if rec["label"]:
                q = to_fov(rec["pts"] + field(rec["pts"], a_, o_))
                polys[rec["label"]] = q
        bw = _bowel_polys(bg, e_, o_, [])
        q0 = _simplify(bw["rectum"], 0.1)
        polys[LABELS["rectum"]] = to_fov(q0 + field(q0, a_, o_, push=False))
        for lv in (LABELS["uterus_vagina"], LABELS["bladder"], LABELS["rectum"]):
            q = polys[lv]
            rr, cc = draw_polygon(q[:, 0] / dy, q[:, 1] / dx, shape=(h, w))
            lab[rr, cc] = lv
        return lab

    # ---- image-space factors -------------------------------------------------------------
    rimg = np.random.default_rng([int(seed), 3])
    tex = 1.0 + im["texture"] * _smooth_field(rimg, h, w, 4.0, 8) + \
        0.5 * im["texture"] * _smooth_field(rimg, h, w, 12.0, 10)
    yy, xx = np.mgrid[0:h, 0:w]
    ycm, xcm = yy * dy, xx * dx
    ol_f = to_fov(land["outline"])
    coils = []
    for ci in range(im["n_coils"]):
        side_ant = ci % 2 == 0
        cy = rimg.uniform(0.3, 0.75) * h * dy
        rows = ol_f[np.abs(ol_f[:, 0] - cy) < 20]
        cx = (rows[:, 1].min() - 25 if side_ant else rows[:, 1].max() + 25) if len(rows) \
            else (0.0 if side_ant else w * dx)
        d0 = rimg.uniform(90, 170)
        mag = 1.0 / (1.0 + ((ycm - cy) ** 2 + (xcm - cx) ** 2) / d0 ** 2)
        ph = 2 * np.pi * rimg.uniform(0, 0.3) * _smooth_field(rimg, h, w, 0.8, 3)
        coils.append(mag * np.exp(1j * ph))
    rss = np.sqrt(sum(np.abs(cm) ** 2 for cm in coils))
    coils = [cm / np.percentile(rss, 95) for cm in coils]
    if im["banding"]:
        b0 = _smooth_field(rimg, h, w, 0.7, 4) * rimg.uniform(1.0, 3.0) * np.pi
        band = 1 - rimg.uniform(0.5, 0.9) * np.exp(-((np.mod(b0, 2 * np.pi) - np.pi) / 0.18) ** 2)
    else:
        band = 1.0
    # acquisition mask and raw filter in the full grid
    rows_full = np.mod(np.arange(-n_ro // 2, n_ro // 2), h)
    cols_full = np.mod(pe_idx, w)
    filt = np.outer(1 - im["raw_filter"] * (np.arange(-n_ro // 2, n_ro // 2) / (n_ro / 2)) ** 2,
                    1 - im["raw_filter"] * (pe_idx / (n_pe_full / 2)) ** 2)
    homodyne = im["pf_recon"] == "homodyne" and n_low < n_high
    if homodyne:
        hw_w = np.where(pe_idx >= n_low, 2.0, 1.0)
        sym_w = np.where(np.abs(pe_idx) < n_low,
                         0.5 + 0.5 * np.cos(np.pi * pe_idx / max(n_low, 1)), 0.0)

    frames = np.zeros((t_n, h, w), np.float32)
    truth = np.zeros((t_n, h, w), np.uint8)
    sigma = None
    nrng = np.random.default_rng([int(seed), 4])
    for i in range(t_n):
        kacq = np.zeros((n_ro, n_pe), np.complex64)
        for a_, e_, o_, tt, sl in states[i]:
            kt = kspace_state(a_, e_, o_, breath(tt))
            kacq[:, sl] = np.einsum("trp,trp->rp", wgt[:, :, sl], kt[:, :, sl])
        truth[i] = labels_state(a_t[i], e_t[i], o_t[i])
        kfull = np.zeros((h, w), np.complex64)
        kfull[np.ix_(rows_full, cols_full)] = kacq
        img = np.fft.ifft2(kfull) / (dy * dx)
        img = img * tex * band
        if sigma is None:
            body = np.abs(img) > 0.05 * np.abs(img).max()
            sigma = float(np.mean(np.abs(img)[body])) / im["snr"]
            sig_k = sigma * h * w / np.sqrt(n_ro * n_pe)
        acc = np.zeros((h, w))
        for cm in coils:
            kc = np.fft.fft2(img * cm)[np.ix_(rows_full, cols_full)]
            kc = kc + sig_k * (nrng.standard_normal(kc.shape) +
                               1j * nrng.standard_normal(kc.shape)) / np.sqrt(2)
            kc = kc * filt
            kf = np.zeros((h, w), np.complex128)
            if homodyne:
                kf[np.ix_(rows_full, cols_full)] = kc * sym_w[None, :]
                phase = np.angle(np.fft.ifft2(kf))
                kf[:] = 0
                kf[np.ix_(rows_full, cols_full)] = kc * hw_w[None, :]
                val = np.real(np.fft.ifft2(kf) * np.exp(-1j * phase))
                acc += val ** 2
            else:
                kf[np.ix_(rows_full, cols_full)] = kc
                acc += np.abs(np.fft.ifft2(kf)) ** 2
        frames[i] = np.sqrt(acc)
    top = 1000.0 + 3000.0 * (im["scale"] % 1.0) if im["integer"] else im["scale"]
    frames *= top / max(float(np.percentile(frames, 99.5)), 1e-12)
    if im["integer"]:
        frames = np.clip(np.rint(frames), 0, None)
    series = CineSeries(frames=frames.astype(np.float32), spacing_mm=(dy, dx), times_s=times)
    series.meta["series_description"] = f"kspace synthetic cine ({im['sequence']})"
    series.meta["orientation"] = "sagittal (canonical)"
    series.meta["subject_id"] = f"kspace_{int(seed):03d}"
    p["fov_mm"] = [h * dy, w * dx]
    p["acquired"] = {"readout": n_ro, "phase": n_pe, "phase_full": n_pe_full}
    p["motion"]["strain_curve"] = [float(v) for v in a_t]
    p["motion"]["evacuation_curve"] = [float(v) for v in e_t]
    p["motion"]["ghost_frames"] = [i for i, s_ in enumerate(states) if len(s_) > 1]
    p["n_loops"] = len(loops)
    return series, truth, p


def write_case(job) -> str:
    """Write one case folder (DICOM series, truth.npy, params.json); a summary line."""
    seed, out = job
    series, truth, params = generate(int(seed))
    case_dir = Path(out) / f"{GENERATOR}_{int(seed):03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=int(seed),
                       patient_name=f"KSPACE^{int(seed):03d}",
                       patient_id=f"kspace_{int(seed):03d}", slice_thickness_mm=6.0)
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    h, w = params["matrix"]
    return (f"{case_dir.name}: {params['n_frames']} frames {h}x{w} "
            f"{params['imaging']['sequence']} {params['motion']['maneuver']} "
            f"hyst={params['hysterectomy']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="2000-2029")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(s, args.out) for s in parse_seeds(args.seeds)]
    for line in map_jobs(write_case, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
