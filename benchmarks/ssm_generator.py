"""Synthetic dynamic pelvic MRI from a coupled multi-organ statistical shape model ("ssm").

How a case is made
------------------
1. Shape model (built once per process, deterministically from a fixed seed): 60
   procedurally drawn "subjects" whose bladder, uterus/vagina, rectum (with their
   centre lines), symphysis, sacrum/coccyx, levator plate, urethra and body outline are
   generated from anatomical rules with correlated variation (bladder filling pushes the
   uterus up and back, obesity thickens fat, parity enlarges the uterus and raises pelvic
   floor laxity, a short vagina runs steeper, ...).  Each subject is also drawn at
   maximal Valsalva, squeeze and defecation.  All contours are resampled to corresponding
   landmarks; PCA runs over the concatenation [rest, Valsalva-rest, squeeze-rest,
   defecation-rest] in body millimetres (no Procrustes alignment), so every mode couples
   the rest anatomy of all structures with how they move.
2. A case draws Student-t mode weights (5 % of cases push one mode to 2.5-3.5 SD) and
   rejects draws whose organs overlap each other or bone; discrete extras come on top:
   hysterectomy (~20 %, vagina only with a rounded cuff), fibroids (intramural or
   subserosal), rectal content (stool, gas, gel), vaginal gel.
3. Motion: per-case time curves (ramp, hold, release, repeats; cough pulses; defecation)
   weight the manoeuvre blocks of the model, plus a slow random walk in the first shape
   modes and breathing of the upper abdominal wall.  Bones never move.
4. The rest scene (body outline, skin, fat with septa, rectus and paraspinal muscles,
   lumbar spine, sacrum, coccyx, symphysis, levator/puborectalis, anal sphincter,
   perineal body, urethra, small-bowel loops, sigmoid, vessels, organs with their
   internal zones) is painted as tissue classes on a 3x supersampled grid.  Each frame
   is that scene warped by a thin-plate spline through the landmark displacements; the
   organ labels are rasterised from the frame's contours and the image is forced to
   agree with them.
5. MRI: per-case sequence family (T2 SSFSE, bSSFP, T1 GRE, PD FSE; fat saturation or
   not) with jittered Gaussian-mixture tissue levels and texture, separate water and fat
   channels (chemical shift, opposed-phase "India ink" cancellation), 3x3 partial-volume
   averaging, optional k-space truncation (blur/ringing), bSSFP off-resonance bands,
   phase-encode motion ghosts, 2-8 circular loop coils from the Biot-Savart law combined
   by sum of squares with complex per-coil noise (non-central chi noise floor, SNR 4-40),
   arbitrary global scale.

Orientation: mid-sagittal slice, row 0 cranial (head), rows run towards the feet;
column 0 anterior (belly), last column posterior (back).

Labels (uint8): 0 background, 1 bladder (wall + urine, down to the bladder neck; urethra
not labelled), 2 uterus_vagina (uterus incl. fibroids, cervix and vagina down to the
introitus; after hysterectomy the vagina with its cuff), 3 rectum (rectum and anal canal
from the rectosigmoid cut at about S3 to the anal verge; sigmoid and external sphincter
not labelled).
"""

import argparse
import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import linalg, ndimage, special
from scipy.spatial import cKDTree
from skimage.draw import polygon as _draw_polygon
from skimage.measure import points_in_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "ssm"

_MODEL_SEED = 48_2024
_N_SUBJECTS = 60
_PARTS = (
    ("bladder", 64), ("uv", 80), ("uvc", 40), ("rectum", 72), ("rectc", 36),
    ("symph", 24), ("sacrum", 60), ("sacc", 30), ("body", 120), ("levator", 12),
    ("urethra", 8),
)
_SLICES = {}
_o = 0
for _name, _n in _PARTS:
    _SLICES[_name] = slice(_o, _o + _n)
    _o += _n
_NPTS = _o
_BONE_PARTS = ("symph", "sacrum", "sacc")
_SEQUENCES = ("t2_ssfse", "bssfp", "t1_gre", "pd_fse")
_MANEUVERS = ("valsalva", "squeeze", "cough", "defecation", "squeeze_valsalva")

# tissue classes
(AIR, FAT, SKIN, MUSCLE, CORTEX, MARROW, URINE, BWALL, MYO, ENDO, JZ, VWALL, VLUMEN,
 RWALL, RCONT, BOWWALL, BOWFLUID, GAS, VESSEL, CSF, DISC, FIBROID, FIBROUS,
 CHYME) = range(24)
_NCLS = 24

#: relative water-signal level of every class per sequence family; FAT is the fat signal.
_LEVELS = {
    "t2_ssfse": [0, .5, .35, .16, .02, .16, 1., .2, .42, .85, .15, .3, .5, .25, .3, .3,
                 .85, .03, .08, .95, .55, .12, .12, .42],
    "bssfp": [0, .75, .3, .12, .02, .15, .9, .2, .35, .55, .18, .3, .5, .25, .35, .3, .85,
              .03, .9, .9, .45, .15, .12, .5],
    "t1_gre": [0, 1., .45, .3, .02, .3, .1, .3, .33, .3, .3, .32, .2, .3, .55, .32, .12,
               .03, .7, .08, .3, .28, .2, .45],
    "pd_fse": [0, .9, .5, .35, .03, .35, .7, .38, .6, .7, .4, .45, .6, .42, .5, .42, .7,
               .04, .15, .75, .6, .35, .3, .55],
}
_GEL_LEVEL = {"t2_ssfse": .95, "bssfp": .9, "t1_gre": .15, "pd_fse": .75}


# ----------------------------------------------------------------------------- geometry
def _dirs(angles_deg):
    a = np.radians(np.asarray(angles_deg, float))
    return np.stack([np.sin(a), -np.cos(a)], -1)


def _path(start, lengths, angles, counts, sigma=8.0, step=0.5):
    """Centre line from ``start`` (x posterior, y caudal, mm) made of segments with a
    heading angle each (0 = cranial, +90 = posterior), the heading smoothed along arc
    length; sampled with ``counts`` points per segment (anatomical correspondence).
    Returns points (n, 2), unit tangents (n, 2) and arc length of the samples."""
    lengths = np.asarray(lengths, float)
    total = float(lengths.sum())
    n = max(int(np.ceil(total / step)), 8)
    s = np.linspace(0.0, total, n + 1)
    bounds = np.concatenate([[0.0], np.cumsum(lengths)])
    seg = np.clip(np.searchsorted(bounds, s, side="right") - 1, 0, len(lengths) - 1)
    ang = np.asarray(angles, float)[seg]
    ds = total / n
    ang = ndimage.gaussian_filter1d(ang, sigma / ds, mode="nearest")
    d = _dirs(ang)
    pts = np.asarray(start, float) + np.concatenate(
        [[[0.0, 0.0]], np.cumsum((d[:-1] + d[1:]) * (ds / 2), 0)])
    ss = np.concatenate([
        np.linspace(bounds[k], bounds[k + 1], c, endpoint=k == len(counts) - 1)
        for k, c in enumerate(counts)])
    c = np.stack([np.interp(ss, s, pts[:, 0]), np.interp(ss, s, pts[:, 1])], 1)
    t = np.stack([np.interp(ss, s, d[:, 0]), np.interp(ss, s, d[:, 1])], 1)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    return c, t, ss


def _tube(c, t, wp, wn):
    """Closed contour around centre line ``c``: the +normal side (posterior for a
    cranially running line) at half-width ``wp``, then the other side reversed."""
    nrm = np.stack([-t[:, 1], t[:, 0]], 1)
    return np.concatenate([c + wp[:, None] * nrm, (c - wn[:, None] * nrm)[::-1]])


def _tangents(c):
    t = np.gradient(c, axis=0)
    return t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)


def _rot(pts, pivot, deg):
    a = np.radians(deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (np.asarray(pts) - pivot) @ r.T + pivot


def _polyline(keys, counts):
    """Points along a polyline through ``keys`` with ``counts`` points per segment, lightly
    smoothed (ends kept)."""
    out = []
    for k, c in enumerate(counts):
        last = k == len(counts) - 1
        f = np.linspace(0, 1, c, endpoint=last)[:, None]
        out.append(keys[k] * (1 - f) + keys[k + 1] * f)
    p = np.concatenate(out)
    for _ in range(3):
        p[1:-1] = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    return p


def _dense(poly, k=4):
    """Polygon vertices densified ``k`` times (closed)."""
    q = np.roll(poly, -1, 0)
    f = np.arange(k)[None, :, None] / k
    return (poly[:, None] * (1 - f) + q[:, None] * f).reshape(-1, 2)


def _sdist(pts, dense, poly):
    """Distance of pts to a densified outline (negative inside ``poly``) and the unit
    direction pointing away from it."""
    diff = pts[:, None] - dense[None]
    d2 = (diff ** 2).sum(-1)
    i = np.argmin(d2, 1)
    d = np.sqrt(d2[np.arange(len(pts)), i])
    vec = diff[np.arange(len(pts)), i] / np.maximum(d, 1e-6)[:, None]
    if poly is not None:
        inside = points_in_poly(pts, poly)
        d = np.where(inside, -d, d)
        vec = np.where(inside[:, None], -vec, vec)
    return d, vec


def _draw_subject(rng):
    """Anatomical parameters of one population subject (correlated)."""
    g = rng.normal
    par = {}
    par["scale"] = float(np.clip(g(1.0, 0.045), 0.9, 1.1))
    par["obes"] = float(rng.beta(1.8, 2.6))
    par["fill"] = float(rng.uniform(0, 1) ** 1.2)
    par["parous"] = float(rng.random() < 0.55)
    par["retro"] = float(rng.random() < 0.18)
    par["lax"] = float(np.clip(rng.beta(2, 3.5) + 0.22 * par["parous"], 0, 1))
    par["rfill"] = float(rng.uniform(0, 1))
    par["sy_tilt"] = g(30, 4)
    par["sy_len"] = g(40, 2.5)
    par["sy_wid"] = g(14, 1.2)
    par["tip"] = (g(90, 4), g(-5, 3))
    par["sac_ang"] = (g(64, 5), g(22, 4), g(-26, 5))
    par["sac_len"] = (g(25, 2), g(40, 3), g(50, 3))
    par["neck"] = (g(16, 2), g(-15, 3) + 6 * par["lax"] + 3 * par["obes"])
    par["bl_tilt"] = g(10, 4) + 12 * par["fill"]
    par["bl_a"] = 9 + 62 * par["fill"] ** 0.9 * rng.uniform(0.9, 1.1)
    par["bl_b"] = 18 + 11 * par["fill"] ** 0.5 * rng.uniform(0.9, 1.1)
    par["meatus"] = (g(3, 2), g(26, 2))
    par["introitus"] = (g(14, 2), g(45, 2))
    par["vag_len"] = rng.uniform(62, 90)
    par["vag_a0"] = g(14, 4)
    par["vag_a1"] = g(33, 4) + 0.25 * (par["vag_len"] - 76)
    par["vag_w"] = rng.uniform(5.0, 7.0) + 1.2 * par["parous"]
    if rng.random() < 0.3:
        par["vag_w"] += rng.uniform(2.5, 5.0)
    if par["retro"]:
        par["cerv_ang"] = par["vag_a1"] + rng.uniform(-30, -10) + 5 * par["fill"]
        par["body_ang"] = par["cerv_ang"] + rng.uniform(5, 30)
    else:
        par["cerv_ang"] = par["vag_a1"] - rng.uniform(55, 90) + 55 * par["fill"]
        par["body_ang"] = par["cerv_ang"] - rng.uniform(-5, 28) * (1 - 0.6 * par["fill"])
    par["cerv_len"] = rng.uniform(24, 33)
    par["cerv_w"] = rng.uniform(10.5, 14)
    par["body_len"] = rng.uniform(42, 60) + 8 * par["parous"]
    par["body_w"] = rng.uniform(15, 22) + 3 * par["parous"]
    par["verge"] = (g(56, 3), g(50, 2))
    par["ac_len"] = rng.uniform(30, 38)
    par["ac_ang"] = g(-28, 4)
    par["ara"] = g(112, 7)
    par["rect_ang"] = (g(48, 4), g(24, 4), g(4, 4))
    par["rect_len"] = (g(24, 2), g(28, 2), g(24, 2), g(12, 2))
    par["fat_a"] = 10 + 50 * par["obes"] * rng.uniform(0.8, 1.2)
    par["fat_p"] = 8 + 38 * par["obes"] * rng.uniform(0.8, 1.2)
    return par


def _subject_rectum_rest(par):
    ac_len = par["ac_len"]
    r0 = par["ac_ang"] + 180 - par["ara"]
    ra = par["rect_ang"]
    rc, _, _ = _path(par["verge"], (ac_len, *par["rect_len"]),
                     (par["ac_ang"], r0, ra[0], ra[1], ra[2]), (8, 6, 8, 8, 6), sigma=5)
    return rc


def _subject(par, v=0.0, sq=0.0, d=0.0):
    """Landmarks (_NPTS, 2) of one subject in body mm for a manoeuvre state."""
    s = par["scale"]
    lax = par["lax"]
    out = {}
    # --- bones (fixed)
    th = np.radians(par["sy_tilt"])
    u = np.array([-np.sin(th), -np.cos(th)])
    pp = np.array([np.cos(th), -np.sin(th)])
    tt = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    c_sy = (par["sy_len"] / 2) * u
    out["symph"] = (c_sy + np.outer(np.cos(tt) * par["sy_len"] / 2, u)
                    + np.outer(np.sin(tt) * par["sy_wid"] / 2 * (1 + 0.15 * np.cos(tt)), pp))
    sc, st, ss = _path(par["tip"], par["sac_len"], par["sac_ang"], (6, 12, 12), sigma=14)
    f = ss / ss[-1]
    wsac = np.interp(f, [0, 0.05, 0.2, 0.35, 1.0], [2.5, 4.5, 6.0, 7.5, 16.0])
    out["sacc"] = sc
    out["sacrum"] = _tube(sc, st, wsac, wsac)

    # --- manoeuvre field
    psi = v * (3 + 10 * lax) + d * (5 + 12 * lax) - sq * (3 + 3 * (1 - lax))
    dlt = v * (3 + 24 * lax) + d * (8 + 22 * lax) - sq * (3 + 5 * (1 - lax))
    ddir = np.array([0.3, 0.95]) / np.hypot(0.3, 0.95)

    def field(p, gain=1.0):
        p = np.atleast_2d(np.asarray(p, float))
        w = (np.clip((p[:, 1] + 230) / 170, 0.25, 1.0)
             * np.clip(1 - (p[:, 0] - 85) / 80, 0.35, 1.0)) * gain
        dx = ddir[0] * np.clip((95 - p[:, 0]) / 50, -0.2, 1.0)
        return p + (w * dlt)[:, None] * np.stack([dx, np.full(len(p), ddir[1])], 1)

    perin = (v * (2 + 16 * lax) + d * (5 + 14 * lax) - sq * 4) * np.array([0.2, 0.98])

    # --- bladder
    neck = field(np.array(par["neck"]))[0]
    beta = np.radians(par["bl_tilt"] - psi * 1.2)
    ub = np.array([-np.sin(beta), -np.cos(beta)])
    vb = np.array([np.cos(beta), -np.sin(beta)])
    a, b = par["bl_a"], par["bl_b"]
    th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    sl = a * (1 - np.cos(th))
    tl = b * np.sin(th) * (0.78 + 0.22 * (1 - np.cos(th)) / 2)
    dent = (1 - par["fill"]) * (1 - par["retro"]) * 0.45 * a
    sl = sl - dent * np.exp(-((th - 2.6) / 0.55) ** 2)
    bl = neck + np.outer(sl, ub) + np.outer(tl, vb)
    bulge = (v * lax ** 2 * 30 + d * lax ** 2 * 18) * np.exp(-((th - 0.75) / 0.55) ** 2)
    bl = bl + np.outer(bulge, np.array([0.15, 0.99]))
    dsy, nsy = _sdist(bl, _dense(out["symph"]), out["symph"])
    deficit = np.maximum(4.0 - dsy, 0)
    if deficit.max() > 0:
        i = int(np.argmax(deficit))
        bl = bl + deficit[i] * nsy[i]
    out["bladder"] = bl
    meatus = np.array(par["meatus"]) + 0.3 * perin
    f8 = np.linspace(0, 1, 8)[:, None]
    out["urethra"] = neck * (1 - f8) + meatus * f8

    # --- uterus / vagina
    intro = np.array(par["introitus"]) + 0.5 * perin
    lv = par["vag_len"] * (1 - v * lax * 0.4 - d * lax * 0.25) + sq * 3
    rot_u = -0.2 * psi
    angs = (par["vag_a0"] + 0.4 * psi, par["vag_a1"] + rot_u, par["cerv_ang"] + rot_u,
            par["body_ang"] + rot_u)
    lens = (0.35 * lv, 0.65 * lv, par["cerv_len"], par["body_len"])
    start_u = field(intro + np.array([0.0, -0.0]), 0.0)[0]
    uc, ut, us = _path(start_u, lens, angs, (6, 10, 8, 16), sigma=11)
    # move the centre line with the pelvic floor (more at the top)
    fr = np.clip(us / (lv + 10), 0, 1)[:, None]
    uc = uc + fr * (field(uc) - uc)
    ut = _tangents(uc)
    wv, cw, bw = par["vag_w"], par["cerv_w"], par["body_w"]
    tot = us[-1]
    r_cap = min(bw, par["body_len"] * 0.45)
    keys_s = [0, 6, lv - 8, lv, lv + 0.5 * par["cerv_len"], lv + par["cerv_len"],
              lv + par["cerv_len"] + 0.45 * par["body_len"], tot - r_cap]
    keys_w = [0.8 * wv, wv, wv, cw, cw, 0.9 * cw, bw, 0.97 * bw]
    wu = np.interp(us, keys_s, keys_w)
    cap = us > tot - r_cap
    wu[cap] = 0.97 * bw * np.sqrt(np.clip(1 - ((us[cap] - (tot - r_cap)) / r_cap) ** 2, 0,
                                          1))
    wu = np.maximum(wu, 0.3)

    # --- rectum / anal canal
    verge = np.array(par["verge"]) + 0.45 * perin
    j0 = np.array(par["verge"]) + par["ac_len"] * _dirs(par["ac_ang"])
    j = field(j0)[0] + np.array([v * (3 + 8 * lax) + d * (4 + 8 * lax) - sq * 4, -sq * 2])
    acv = j - verge
    ac_len = float(np.hypot(*acv))
    ac_ang = float(np.degrees(np.arctan2(acv[0], -acv[1])))
    ara = par["ara"] + v * (8 + 18 * lax) + d * (18 + 15 * lax) - sq * 12
    r0 = ac_ang + 180 - ara
    ra = par["rect_ang"]
    rl = par["rect_len"]
    rc, rt, rs = _path(verge, (ac_len, *rl), (ac_ang, r0, ra[0], ra[1], ra[2]),
                       (8, 6, 8, 8, 6), sigma=5)
    if v or sq or d:  # the upper rectum stays where it is at rest, the lower part stretches
        rest_c = _subject_rectum_rest(par)
        q = np.clip((rs - ac_len) / (rs[-1] - ac_len), 0, 1) ** 1.5
        q = (3 * q ** 2 - 2 * q ** 3)[:, None]
        rc = rc * (1 - q) + rest_c * q
    rt = _tangents(rc)
    rf = par["rfill"]
    hac = 7.0 + d * (4 + 4 * rf)
    ha_a = (8 + 5 * rf) * (1 - 0.45 * d)
    ha_p = (11 + 13 * rf) * (1 - 0.5 * d)
    hu = (10 + 4 * rf) * (1 - 0.25 * d)
    ks = [0, 3, ac_len, ac_len + 12, ac_len + 45, rs[-1]]
    wp = np.interp(rs, ks, [2.5, hac, hac + 1, ha_p, ha_p * 0.9, hu])
    wn = np.interp(rs, ks, [2.5, hac, hac + 1, ha_a, ha_a * 0.95, hu])
    rc_amp = v * lax ** 2 * 22 + d * lax ** 2 * 16
    wn = wn + rc_amp * np.exp(-(((rs - ac_len - 18) / 12) ** 2))
    # --- keep organs apart: push the rectum off bone, the uterus/vagina off its neighbours
    bones = np.concatenate([_dense(out["sacrum"]), _dense(out["symph"])])
    for _ in range(3):
        dr, nrr = _sdist(rc, bones, None)
        need = np.maximum(np.maximum(wp, wn) + 4.0 - dr, 0)
        need[:8] = 0
        rc = rc + ndimage.gaussian_filter1d(need[:, None] * nrr, 1.5, axis=0, mode="nearest")
    rt = _tangents(rc)
    rect = _tube(rc, rt, wp, wn)
    blad = out["bladder"]
    for _ in range(6):
        ut = _tangents(uc)
        db, nb = _sdist(uc, _dense(blad), blad)
        dr, nrr = _sdist(uc, _dense(rect), rect)
        dbn, nbn = _sdist(uc, bones, None)
        nb_ = np.maximum(wu + 2.5 - db, 0)
        nr_ = np.maximum(wu + 2.5 - dr, 0)
        nn_ = np.maximum(wu + 3.0 - dbn, 0)
        both = np.minimum(nb_, nr_)
        wu = np.maximum(wu - 0.6 * both, 0.3)
        sh = nb_[:, None] * nb + nr_[:, None] * nrr + nn_[:, None] * nbn
        sh[0] = 0
        uc = uc + 0.8 * ndimage.gaussian_filter1d(sh, 1.2, axis=0, mode="nearest")
    ut = _tangents(uc)
    out["uvc"] = uc
    out["uv"] = _tube(uc, ut, wu, wu)
    out["rectc"] = rc
    out["rectum"] = rect

    # --- levator plate (puborectalis behind the junction to the coccyx tip)
    rn7 = np.array([-rt[7, 1], rt[7, 0]])
    q0 = rc[7] + rn7 * (wp[7] + 6)
    q2 = np.array(par["tip"]) + np.array([-5.0, 3.0])
    q1 = 0.5 * (q0 + q2) + np.array([0, 6.0])
    f12 = np.linspace(0, 1, 12)[:, None]
    lev = (1 - f12) ** 2 * q0 + 2 * f12 * (1 - f12) * q1 + f12 ** 2 * q2
    dl, nl = _sdist(lev, _dense(rect), rect)
    lev = lev + np.maximum(6 - dl, 0)[:, None] * nl
    out["levator"] = lev

    # --- body outline (anterior top -> perineum -> posterior top)
    fa, fp = par["fat_a"], par["fat_p"]
    sy_top = c_sy + (par["sy_len"] / 2) * u

    def wall(y):
        return sy_top[0] - 3 - 0.22 * (sy_top[1] - y)

    def kbul(y):
        return 1 + 0.5 * par["obes"] * np.exp(-((y + 80) / 45) ** 2)

    ys = np.array([-420, -300, -200, -130, -80, -45])
    ant = [(wall(y) - 11 - fa * kbul(y), y) for y in ys]
    ant += [(sy_top[0] - 10 - 0.9 * fa, sy_top[1] + 12), (-14 - 0.6 * fa, 10),
            (-6 - 0.25 * fa, 30), (2, 42)]
    intro0, verge0 = np.array(par["introitus"]), np.array(par["verge"])
    per = [intro0 + [-6, 2], intro0 + [0, 2.5], 0.5 * (intro0 + verge0) + [0, 7],
           verge0 + [0, 2.5], verge0 + [9, 0]]
    tip = np.array(par["tip"])
    stop = sc[-1]
    s3 = sc[15]
    post = [(tip[0] + 6, tip[1] + 25), (tip[0] + 14 + 0.25 * fp, tip[1] + 4),
            (s3[0] + wsac[15] + 16 + fp, s3[1]),
            (stop[0] + wsac[-1] + 38 + fp, stop[1]),
            (stop[0] + wsac[-1] + 50 + fp, stop[1] - 70),
            (stop[0] + wsac[-1] + 42 + fp, -420)]
    keys = np.array(ant + [tuple(p) for p in per] + post, float)
    pmask = keys[:, 1] > -5
    wgt = np.exp(-((keys[:, 0] - 45) / 50) ** 2) * pmask
    keys = keys + wgt[:, None] * perin
    amask = (keys[:, 0] < 20) & (keys[:, 1] < -40)
    keys[amask, 0] -= (v * 5 + d * 3 - sq * 1.5)
    counts = [10, 10, 7, 6, 4, 4, 4, 4, 4, 3, 3, 4, 4, 3, 4, 5, 7, 8, 8, 8]
    counts[-1] += 120 - sum(counts)
    out["body"] = _polyline(keys, counts)
    x = np.concatenate([out[nm] for nm, _ in _PARTS])
    return x * s


def _raster_mm(pts, origin, shape, res=1.0):
    rr, cc = _draw_polygon((pts[:, 1] - origin[1]) / res, (pts[:, 0] - origin[0]) / res,
                           shape)
    m = np.zeros(shape, bool)
    m[rr, cc] = True
    return m


def _valid(x, tol=3):
    """Organs do not overlap each other or bone (checked on a 2 mm grid with one pixel of
    margin, ``tol`` pixels forgiven), each is one sizeable piece."""
    origin = (-140.0, -320.0)
    shape = (230, 180)
    masks = {nm: _raster_mm(x[_SLICES[nm]], origin, shape, 2.0) for nm in
             ("bladder", "uv", "rectum", "symph", "sacrum")}
    it = 1
    areas = {"bladder": 40, "uv": 80, "rectum": 50}
    for nm, amin in areas.items():
        m = masks[nm]
        if m.sum() < amin:
            return False
        _, n = ndimage.label(m, np.ones((3, 3)))
        if n != 1:
            return False
    bone = ndimage.binary_dilation(masks["symph"] | masks["sacrum"], iterations=it)
    organs = ("bladder", "uv", "rectum")
    for i, a in enumerate(organs):
        if (masks[a] & bone).sum() > tol:
            return False
        da = ndimage.binary_dilation(masks[a], iterations=it)
        for bname in organs[i + 1:]:
            if (da & masks[bname]).sum() > tol:
                return False
    return True


def _bump(p, c, sigma):
    return np.exp(-((p - c) ** 2).sum(-1) / (2 * sigma ** 2))[:, None]


def _states(par):
    """Rest landmarks and the displacements to maximal Valsalva, squeeze and defecation,
    as smooth (fold-free) displacement fields plus rectal emptying; bones stay."""
    x = _subject(par)
    s = par["scale"]
    lax = par["lax"]
    sl = _SLICES
    soft = np.ones(_NPTS, bool)
    for nm in _BONE_PARTS:
        soft[sl[nm]] = False
    p = x / s
    uvc, rc, bl = p[sl["uvc"]], p[sl["rectc"]], p[sl["bladder"]]
    dsac, _ = _sdist(p, _dense(p[sl["sacrum"]]), None)
    g_w = (np.clip((p[:, 1] + 230) / 170, 0.2, 1.0)
           * np.clip((dsac - 8) / 30, 0.0, 1.0))[:, None]
    post = 0.6 * np.clip((70 - p[:, 0]) / 50, 0, 1)
    down = np.stack([post, np.full(len(p), 0.9)], 1) * g_w
    base = bl[8]
    cerv = uvc[20]
    intro = uvc[0]
    to_intro = (intro - cerv) / np.linalg.norm(intro - cerv)
    rt = _tangents(rc)
    ant = -np.stack([-rt[14, 1], rt[14, 0]])
    r_c = p[sl["rectum"]][71 - 14] + ant * 3
    jn = rc[8]
    abdo = ((p[:, 0] < p[sl["symph"]][:, 0].min() + 5) & (p[:, 1] < -45)).astype(float)
    abdo *= np.isin(np.arange(_NPTS), np.arange(_NPTS)[sl["body"]])
    abdo = abdo[:, None] * np.array([-1.0, 0.0])

    def push(amp, cyst, prol, rcele, jshift):
        u = amp * down
        u = u + cyst * _bump(p, base, 18) * np.array([0.1, 1.0])
        u = u + prol * _bump(p, cerv, 25) * to_intro
        u = u + rcele * _bump(p, r_c, 14) * ant
        u = u + _bump(p, jn, 13) * jshift
        return u

    uv_ = push(6 + 26 * lax, 26 * lax ** 2, 30 * lax ** 2, 18 * lax ** 2,
               np.array([1 + 3 * lax, 4 + 5 * lax])) + 4 * abdo
    usq = push(-(4 + 5 * (1 - lax)), 0, 0, 0, np.array([-4.0, -4.0])) - 1.5 * abdo
    ud = push(10 + 22 * lax, 16 * lax ** 2, 20 * lax ** 2, 22 * lax ** 2,
              np.array([2 + 3 * lax, 6 + 5 * lax])) + 3 * abdo
    # rectal emptying and anal opening during defecation
    rct = p[sl["rectum"]]
    ci = np.r_[np.arange(36), 35 - np.arange(36)]
    cpt = rc[ci]
    fac = np.where(ci < 8, 1.35, 0.6)
    fac = np.where((ci >= 8) & (ci < 11), 1.0, fac)
    empt = (cpt + (rct - cpt) * fac[:, None]) - rct
    ud[sl["rectum"]] += empt
    out = [x]
    for u in (uv_, usq, ud):
        u = np.where(soft[:, None], u, 0.0)
        out.append(u * s)
    return out


@lru_cache(maxsize=1)
def _model():
    """The coupled shape model: mean (4, P, 2), modes (k, 4, P, 2), sd (k,)."""
    rng = np.random.default_rng(_MODEL_SEED)
    rows = []
    tries = 0
    while len(rows) < _N_SUBJECTS and tries < 4000:
        tries += 1
        par = _draw_subject(rng)
        st = _states(par)
        if not (_valid(st[0]) and all(_valid(st[0] + u, 6) for u in st[1:])):
            continue
        rows.append(np.stack(st))
    z = np.stack(rows).reshape(len(rows), -1)
    mean = z.mean(0)
    _, sv, vt = np.linalg.svd(z - mean, full_matrices=False)
    var = sv ** 2 / (len(rows) - 1)
    k = int(min(np.searchsorted(np.cumsum(var) / var.sum(), 0.98) + 1, 24))
    shape = (4, _NPTS, 2)
    return mean.reshape(shape), vt[:k].reshape((k, *shape)), np.sqrt(var[:k])


# ------------------------------------------------------------------------ case settings
def case_settings(seed: int) -> dict:
    """Discrete and imaging choices of a case (cheap: no shape model, no rendering)."""
    rng = np.random.default_rng([int(seed), 48, 1])
    seq = str(rng.choice(_SEQUENCES, p=[0.4, 0.3, 0.15, 0.15]))
    man = str(rng.choice(_MANEUVERS, p=[0.34, 0.16, 0.14, 0.2, 0.16]))
    h, w = (int(v) for v in rng.integers(224, 289, 2))
    sp = float(rng.uniform(1.1, 1.5))
    sp_c = float(np.clip(sp * rng.uniform(0.97, 1.03), 1.1, 1.5))
    content = "gel" if (man == "defecation" and rng.random() < 0.8) else str(
        rng.choice(["stool", "gas", "gel"], p=[0.5, 0.25, 0.25]))
    return {
        "sequence": seq,
        "fat_sat": bool(rng.random() < (0.15 if seq == "bssfp" else 0.3)),
        "maneuver": man,
        "hysterectomy": bool(rng.random() < 0.2),
        "matrix": [h, w],
        "spacing_mm": [sp, sp_c],
        "n_frames": int(rng.integers(20, 41)),
        "frame_interval_s": float(rng.uniform(0.5, 2.0)),
        "rectal_content": content,
        "vaginal_gel": bool(rng.random() < 0.25),
        "n_fibroids": int(rng.choice([0, 1, 2, 3], p=[0.72, 0.16, 0.08, 0.04])),
        "tilt_deg": float(rng.uniform(-15, 15)),
        "snr": float(np.exp(rng.uniform(np.log(4), np.log(40)))),
        "n_coils_ant": int(rng.integers(1, 5)),
        "n_coils_post": int(rng.integers(1, 5)),
        "ghosting": bool(rng.random() < 0.35),
        "k_truncation": float(rng.uniform(0.55, 0.9)) if rng.random() < 0.4 else 1.0,
        "opposed_phase": bool(seq == "bssfp" or (seq == "t1_gre" and rng.random() < 0.5)),
        "slice_thickness_mm": float(rng.uniform(5, 8)),
        "integer_scale": bool(rng.random() < 0.5),
    }


def _time_curves(rng, man, t_norm, n):
    """Manoeuvre weights (n, 3) for Valsalva, squeeze and defecation at normalised times."""
    a = np.zeros((n, 3))

    def trap(u0, ramp, hold, rel):
        x = t_norm
        up = np.clip((x - u0) / max(ramp, 1e-3), 0, 1)
        down = np.clip(1 - (x - u0 - ramp - hold) / max(rel, 1e-3), 0, 1)
        r = np.minimum(up, down)
        return 0.5 - 0.5 * np.cos(np.pi * r)

    start = rng.uniform(0.08, 0.22)
    if man in ("valsalva", "squeeze"):
        col = 0 if man == "valsalva" else 1
        reps = int(rng.integers(1, 4))
        span = (1 - start) / reps
        for r in range(reps):
            u0 = start + r * span
            a[:, col] = np.maximum(a[:, col], rng.uniform(0.75, 1.1) * trap(
                u0, 0.18 * span, rng.uniform(0.25, 0.45) * span, 0.18 * span))
    elif man == "squeeze_valsalva":
        a[:, 1] = rng.uniform(0.7, 1.0) * trap(start, 0.08, 0.18, 0.08)
        a[:, 0] = rng.uniform(0.8, 1.1) * trap(start + 0.42, 0.1, 0.25, 0.1)
    elif man == "cough":
        k = int(rng.integers(3, 7))
        idx = np.sort(rng.choice(np.arange(max(1, n // 6), n), size=min(k, n - 1),
                                 replace=False))
        for i in idx:
            amp = rng.uniform(0.55, 0.95)
            a[i, 0] = max(a[i, 0], amp)
            for jj in (i - 1, i + 1):
                if 0 <= jj < n:
                    a[jj, 0] = max(a[jj, 0], 0.3 * amp)
    else:  # defecation: short push, then evacuation held to the end
        a[:, 0] = rng.uniform(0.3, 0.6) * trap(start, 0.1, 0.15, 0.15)
        a[:, 2] = rng.uniform(0.85, 1.1) * trap(start + 0.12, 0.25, 2.0, 0.1)
    return a


# ------------------------------------------------------------------------------ imaging
def _interp_matrix(n_out, n_coarse, step):
    f = np.arange(n_out) / step
    i0 = np.clip(np.floor(f).astype(int), 0, n_coarse - 2)
    w = f - i0
    m = np.zeros((n_out, n_coarse))
    m[np.arange(n_out), i0] = 1 - w
    m[np.arange(n_out), i0 + 1] = w
    return m


def _smooth_noise(rng, shape, sigma_px, up=1):
    """Unit-variance smooth random field of ``shape`` (generated ``up`` times coarser)."""
    cs = (shape[0] // up + 2, shape[1] // up + 2)
    f = ndimage.gaussian_filter(rng.standard_normal(cs), sigma_px / up, mode="wrap")
    f = (f - f.mean()) / (f.std() + 1e-9)
    if up == 1:
        return f[:shape[0], :shape[1]]
    my = _interp_matrix(shape[0], cs[0], up)
    mx = _interp_matrix(shape[1], cs[1], up)
    return my @ f @ mx.T


def _tps_kernel(d2):
    return 0.5 * d2 * np.log(d2 + 1e-20)


class _RestTPS:
    """Thin-plate spline on fixed rest-space control points (units of 100 mm), factorised
    once; each frame solves for the rest -> frame displacement and inverts it by a
    fixed-point iteration to get, for every frame position, where it was at rest."""

    def __init__(self, src, lam=1e-4):
        n = len(src)
        self.src = src
        k = _tps_kernel(((src[:, None] - src[None]) ** 2).sum(-1))
        p = np.hstack([np.ones((n, 1)), src])
        a = np.zeros((n + 3, n + 3))
        a[:n, :n] = k + lam * np.eye(n)
        a[:n, n:] = p
        a[n:, :n] = p.T
        self.lu = linalg.lu_factor(a)
        self.n = n

    def inverse(self, dst, pts, iters=3):
        rhs = np.zeros((self.n + 3, 2))
        rhs[:self.n] = dst - self.src
        sol = linalg.lu_solve(self.lu, rhs)
        n = self.n

        sx, sy = self.src[:, 0][None], self.src[:, 1][None]

        def disp(q):
            dx = q[:, :1] - sx
            dy = q[:, 1:] - sy
            kk = _tps_kernel(dx * dx + dy * dy)
            return kk @ sol[:n] + sol[n] + q @ sol[n + 1:]

        q = pts.copy()
        for _ in range(iters):
            q = pts - disp(q)
        return q


def _loop_field(x, y, xc, yc, zc, radius):
    """|B transverse to B0 (head-foot)| of a circular loop (axis along AP) at the plane
    points (x, y, z=0), from the Biot-Savart law (complete elliptic integrals)."""
    zax = x - xc
    rho = np.sqrt((y - yc) ** 2 + zc ** 2) + 1e-6
    a = radius
    al2 = a * a + rho * rho + zax * zax - 2 * a * rho
    be2 = a * a + rho * rho + zax * zax + 2 * a * rho
    be = np.sqrt(be2)
    m = np.clip(1 - al2 / be2, 0, 1 - 1e-9)
    ek, ee = special.ellipk(m), special.ellipe(m)
    bz = ((a * a - rho * rho - zax * zax) * ee + al2 * ek) / (2 * al2 * be)
    br = zax * ((a * a + rho * rho + zax * zax) * ee - al2 * ek) / (2 * al2 * be * rho)
    bzlat = br * (-zc) / rho
    return np.sqrt(bz ** 2 + bzlat ** 2)


class _Canvas:
    """3x supersampled painting surface in image millimetres."""

    def __init__(self, h, w, sp):
        self.h3, self.w3 = 3 * h, 3 * w
        self.sp = sp
        self.cls = np.zeros((self.h3, self.w3), np.uint8)

    def idx(self, pts):
        return pts[:, 1] / self.sp[0] * 3 + 1, pts[:, 0] / self.sp[1] * 3 + 1

    def mask(self, pts):
        r, c = self.idx(pts)
        im = Image.new("L", (self.w3, self.h3), 0)
        ImageDraw.Draw(im).polygon(list(zip(c.tolist(), r.tolist(), strict=True)), fill=1)
        return np.asarray(im, dtype=bool)

    def paint(self, pts, cls, where=None):
        m = self.mask(pts)
        if where is not None:
            m &= where
        self.cls[m] = cls


def _circle(c, r, n=32):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.asarray(c) + np.stack([r * np.cos(t), r * np.sin(t)], 1)


def _ribbon(pts, half):
    """Closed polygon of constant half-width around a polyline."""
    half = np.broadcast_to(np.asarray(half, float), (len(pts),)).copy()
    return _tube(pts, _tangents(pts), half, half)


def _chaikin(p, it=2):
    for _ in range(it):
        q = np.roll(p, -1, 0)
        p = np.stack([0.75 * p + 0.25 * q, 0.25 * p + 0.75 * q], 1).reshape(-1, 2)
    return p


def _hyst_contour(uvc, uv):
    """Vagina-only contour (indices 0..15 of the centre line) closed by a rounded cuff."""
    c = uvc[:16]
    pside = uv[:16]
    nside = uv[79 - np.arange(16)]
    t = _tangents(c)
    r = 0.5 * np.linalg.norm(pside[-1] - nside[-1])
    mid = 0.5 * (pside[-1] + nside[-1])
    nrm = np.array([-t[-1, 1], t[-1, 0]])
    ang = np.linspace(0, np.pi, 9)[1:-1]
    arc = mid + r * (np.outer(np.cos(ang), nrm) + np.outer(np.sin(ang), t[-1]))
    return np.concatenate([pside, arc, nside[::-1]])


def _organ_polys(x, hyst, fibroids):
    """Frame polygons (image mm) of the three organs; fibroid circles added to uterus."""
    bl = _chaikin(x[_SLICES["bladder"]])
    uvc, uv = x[_SLICES["uvc"]], x[_SLICES["uv"]]
    uvp = [_chaikin(_hyst_contour(uvc, uv) if hyst else uv)]
    for fb in fibroids:
        if fb["kind"] == "subserosal" and not hyst:
            i = fb["index"]
            ci = uvc[i if i < 40 else 79 - i]
            o = uv[i] - ci
            o = o / max(np.linalg.norm(o), 1e-6)
            uvp.append(_circle(uv[i] + o * fb["r"] * fb["out"], fb["r"]))
    return bl, uvp, _chaikin(x[_SLICES["rectum"]], 1)


def _rasterise_labels(cv, polys, bone):
    bl, uvp, re = polys
    lab = np.zeros((cv.h3, cv.w3), np.uint8)
    for p in uvp:
        lab[cv.mask(p)] = 2
    lab[cv.mask(bl)] = 1
    lab[cv.mask(re)] = 3
    lab[bone] = 0
    return lab


# ---------------------------------------------------------------------------- the case
def _place(rng, x_rest, disp, st, fov, with_body=True):
    """Rigid tilt + shift body mm -> image mm so that pelvis and perineum fit the FOV."""
    a = np.radians(st["tilt_deg"])
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    key = [x_rest] + [x_rest + dd for dd in disp]
    keep = np.zeros(_NPTS, bool)
    for nm in ("bladder", "uv", "rectum", "symph", "sacrum", "levator"):
        keep[_SLICES[nm]] = True
    body = np.zeros(_NPTS, bool)
    body[_SLICES["body"]] = True
    sel_body = body & (x_rest[:, 1] > -60)
    if not with_body:
        sel_body = body & (x_rest[:, 1] > 20)
    pts = np.concatenate([k[keep] for k in key] + [k[sel_body] for k in key]) @ r.T
    lo, hi = pts.min(0), pts.max(0)
    margin = np.array([6.0, 8.0])
    need = hi - lo + 2 * margin
    if np.any(need > fov):
        return None
    slack = fov - need
    frac = np.array([rng.uniform(0.25, 0.75), rng.uniform(0.7, 0.97)])
    shift = margin - lo + slack * frac
    return r, shift


def generate(seed: int, matrix=None, n_frames=None):
    """One synthetic cine case: (CineSeries, truth uint8 (T, H, W), params dict)."""
    st = case_settings(seed)
    rng = np.random.default_rng([int(seed), 48, 2])
    mean, modes, sd = _model()
    h0, w0 = st["matrix"]
    fov = np.array([w0 * st["spacing_mm"][1], h0 * st["spacing_mm"][0]])  # (x, y) mm
    if matrix is not None:
        h, w = (int(matrix), int(matrix)) if np.isscalar(matrix) else map(int, matrix)
    else:
        h, w = h0, w0
    sp = (float(fov[1] / h), float(fov[0] / w))
    t_n = int(n_frames) if n_frames is not None else st["n_frames"]
    dt = st["frame_interval_s"]
    times = np.arange(t_n) * dt + np.concatenate(
        [[0], rng.uniform(-0.04, 0.04, t_n - 1) * dt])
    times = np.maximum.accumulate(times + np.arange(t_n) * 1e-4)
    t_norm = times / max(times[-1], 1e-6)
    curves = _time_curves(rng, st["maneuver"], t_norm, t_n)
    peak = np.maximum(curves.max(0), 0.0)

    # --- shape model draw with rejection
    k = len(sd)
    placed = None
    extreme = None
    for attempt in range(40):
        bw = rng.standard_t(5, k) / np.sqrt(5 / 3)
        if rng.random() < 0.05:
            extreme = int(rng.integers(0, min(4, k)))
            bw[extreme] = rng.choice([-1, 1]) * rng.uniform(2.5, 3.5)
        bw = np.clip(bw, -3.5, 3.5)
        if attempt >= 30:
            bw = bw * 0.3
        if attempt == 39:
            bw = bw * 0
        z = mean + np.tensordot(bw * sd, modes, 1)
        ok = _valid(z[0]) and all(_valid(z[0] + peak[m] * z[1 + m]) for m in range(3)
                                  if peak[m] > 0)
        if not ok:
            continue
        placed = _place(rng, z[0], [peak[m] * z[1 + m] for m in range(3)], st, fov,
                        with_body=attempt < 12)
        if placed is not None:
            break
        extreme = None
    if placed is None:  # fall back: centre it, whatever is cut
        placed = (np.eye(2), fov / 2 - z[0][_SLICES["bladder"]].mean(0))
    rmat, shift = placed
    rest_b = z[0]

    # --- frame landmarks (body mm), slow random walk in the first modes, breathing
    walk = np.cumsum(rng.normal(0, 0.04, (t_n, min(3, k))), 0)
    walk -= walk[0]
    walk = np.clip(walk, -0.25, 0.25)
    z_frames = []
    breath_a = rng.uniform(1.0, 4.0)
    breath_p = rng.uniform(3.5, 6.0)
    breath_ph = rng.uniform(0, 2 * np.pi)
    bodyidx = np.arange(_NPTS)[_SLICES["body"]]
    for t in range(t_n):
        zt = mean + np.tensordot(bw * sd + np.pad(walk[t] * sd[:walk.shape[1]],
                                                  (0, k - walk.shape[1])), modes, 1)
        xt = zt[0] + sum(curves[t, m] * zt[1 + m] for m in range(3))
        xb = xt.copy()
        for sl in _BONE_PARTS:
            xb[_SLICES[sl]] = rest_b[_SLICES[sl]]
        br = np.sin(2 * np.pi * times[t] / breath_p + breath_ph)
        by = rest_b[bodyidx, 1]
        wy = np.clip((-60 - by) / 150, 0, 1) * (rest_b[bodyidx, 0] < 30)
        xb[bodyidx, 0] -= breath_a * br * wy
        xb[bodyidx, 1] -= 0.8 * breath_a * br * wy
        z_frames.append(xb @ rmat.T + shift)
    x0 = rest_b @ rmat.T + shift

    def to_img(p):
        return np.asarray(p) @ rmat.T + shift

    # --- discrete extras
    hyst = st["hysterectomy"]
    fibroids = []
    if not hyst:
        for _ in range(st["n_fibroids"]):
            kind = "subserosal" if rng.random() < 0.45 else "intramural"
            fibroids.append({"kind": kind, "index": int(rng.choice(
                np.r_[28:37, 43:52])), "r": float(rng.uniform(5, 14)),
                "out": float(rng.uniform(0.2, 0.6))})

    cv = _Canvas(h, w, sp)
    img = _render_rest(rng, cv, x0, rest_b, to_img, st, hyst, fibroids)
    frames, truth = _render_frames(rng, cv, img, x0, z_frames, times, st, hyst, fibroids)
    series = CineSeries(frames=frames, spacing_mm=sp, times_s=times)
    series.meta["series_description"] = f"ssm cine sagittal ({_SERIES_TAG[st['sequence']]})"
    series.meta["orientation"] = "sagittal (canonical)"
    series.meta["subject_id"] = f"ssm_{seed:03d}"
    params = {
        "generator": GENERATOR,
        "seed": int(seed),
        "matrix": [h, w],
        "spacing_mm": [sp[0], sp[1]],
        "fov_mm": [float(fov[1]), float(fov[0])],
        "n_frames": t_n,
        "frame_interval_s": float(dt),
        "imaging": {kk: st[kk] for kk in (
            "sequence", "fat_sat", "snr", "n_coils_ant", "n_coils_post", "ghosting",
            "k_truncation", "opposed_phase", "slice_thickness_mm", "integer_scale")}
        | img["imaging"],
        "motion": {"maneuver": st["maneuver"],
                   "peak_weights": [float(v) for v in peak],
                   "peak_frame": int(np.argmax(curves.sum(1))),
                   "breathing_mm": float(breath_a), "breathing_period_s": float(breath_p)},
        "hysterectomy": bool(hyst),
        "anatomy": {
            "mode_weights": [float(v) for v in bw],
            "extreme_mode": extreme,
            "n_modes": int(k),
            "tilt_deg": st["tilt_deg"],
            "fibroids": fibroids,
            "rectal_content": st["rectal_content"],
            "vaginal_gel": st["vaginal_gel"],
        },
    }
    return series, truth, params


_SERIES_TAG = {"t2_ssfse": "ssfse", "bssfp": "bssfp", "t1_gre": "t1", "pd_fse": "pd"}


def _render_rest(rng, cv, x0, rest_b, to_img, st, hyst, fibroids):
    """Paint the rest scene (tissue classes, then water/fat channels) on the canvas."""
    sl = _SLICES
    h3, w3 = cv.h3, cv.w3
    px = 3 / cv.sp[1]  # 3x pixels per mm (columns)
    cls = cv.cls
    body = x0[sl["body"]]
    # closed across the top, far beyond the field of view
    body_poly = np.concatenate([body, [body[-1] + [0, -300], body[0] + [0, -300]]])
    inside = cv.mask(body_poly)
    edt = ndimage.distance_transform_edt(inside) / px
    skin_t = rng.uniform(1.5, 3.0)
    cls[inside] = FAT
    cls[inside & (edt < skin_t)] = SKIN

    # rest body geometry helpers (body mm)
    sy = rest_b[sl["symph"]]
    sy_top = sy[np.argmin(sy[:, 1])]
    sacc = rest_b[sl["sacc"]]
    sac = rest_b[sl["sacrum"]]
    wsac = 0.5 * np.linalg.norm(sac[:30] - sac[59 - np.arange(30)], axis=1)

    # rectus abdominis
    ys = np.linspace(sy_top[1] + 2, -450, 30)
    wall_in = sy_top[0] - 3 - 0.22 * (sy_top[1] - ys)
    thick = rng.uniform(7, 12)
    rect_poly = np.concatenate([np.stack([wall_in, ys], 1),
                                np.stack([wall_in - thick, ys], 1)[::-1]])
    cv.paint(to_img(rect_poly), MUSCLE, inside)
    # linea alba / transversalis thin fibrous line
    cv.paint(to_img(_ribbon(np.stack([wall_in + 1.5, ys], 1), 0.5)), FIBROUS, inside)

    # lumbar spine above S1: vertebral bodies, discs, canal, posterior elements, muscles
    c1 = sacc[-1]
    t1 = (sacc[-1] - sacc[-2]) / np.linalg.norm(sacc[-1] - sacc[-2])
    ang = np.degrees(np.arctan2(t1[0], -t1[1]))
    half_w = wsac[-1] + 1
    cur = c1.copy()
    chain = [(cur.copy(), ang)]
    vert, discs = [], []
    for lev in range(5):
        ang = ang + (16 if lev == 0 else 8)
        dvec = _dirs(ang)
        dh = rng.uniform(8, 11)
        vh = rng.uniform(25, 29)
        nrm = np.array([-dvec[1], dvec[0]])
        p0 = cur + dvec * 0.5
        p1 = cur + dvec * dh
        discs.append(np.array([p0 + nrm * half_w, p1 + nrm * half_w,
                               p1 - nrm * half_w, p0 - nrm * half_w]))
        q1 = p1 + dvec * vh
        vert.append(np.array([p1 + nrm * half_w, q1 + nrm * half_w, q1 - nrm * half_w,
                              p1 - nrm * half_w]))
        cur = q1
        chain.append((cur.copy(), ang))
    # spinal canal (posterior to the bodies), continues down into the sacral canal
    post_line = [c + _dirs(a_)[::-1] * np.array([1, -1]) * (half_w + 8) for c, a_ in chain]
    sac_canal = [sacc[i] + np.array([-_tangents(sacc)[i, 1], _tangents(sacc)[i, 0]])
                 * (wsac[i] + 4 + 0.1 * wsac[i]) for i in range(12, 30)]
    canal = np.array(sac_canal + post_line)
    # paraspinal muscles: band behind the canal up to the posterior fat
    post_body = body[body[:, 1] < sacc[8, 1]]
    post_body = post_body[post_body[:, 0] > sacc[:, 0].min()]
    spine_m = None
    if len(post_body) > 3:
        fatp = rng.uniform(0.5, 1.0) * (12 + (post_body[:, 0].max() - canal[:, 0].max()) * 0.25)
        inner = post_body[np.argsort(post_body[:, 1])]
        inner = inner - np.array([fatp, 0])
        spine_m = np.concatenate([canal[np.argsort(canal[:, 1])], inner[::-1]])
        cv.paint(to_img(spine_m), MUSCLE, inside)
        # posterior elements (spinous processes, laminae)
        for (c, a_) in chain[1:]:
            dv = _dirs(a_)
            nrm = np.array([-dv[1], dv[0]])
            base = c - dv * 14 + nrm * (half_w + 17)
            sp_poly = np.array([base - dv * 5, base + dv * 5, base + dv * 1 + nrm * 26
                                + dv * 7, base - dv * 4 + nrm * 26 + dv * 5])
            cv.paint(to_img(_chaikin(sp_poly, 2)), CORTEX, inside)
            cen = sp_poly.mean(0)
            cv.paint(to_img(_chaikin(cen + (sp_poly - cen) * 0.7, 2)), MARROW, inside)
    cv.paint(to_img(_ribbon(canal[np.argsort(canal[:, 1])], 6.5)), CSF, inside)
    # dorsal sacrum
    tg = _tangents(sacc)
    nr = np.stack([-tg[:, 1], tg[:, 0]], 1)
    dors = sacc + nr * (wsac + 9.5)[:, None]
    cv.paint(to_img(_ribbon(dors[6:], np.linspace(2.5, 6, 24))), MARROW, inside)
    for dsk in discs:
        cv.paint(to_img(dsk), DISC, inside)
    for vb in vert:
        cv.paint(to_img(vb), CORTEX, inside)
        cen = vb.mean(0)
        cv.paint(to_img(cen + (vb - cen) * 0.88), MARROW, inside)

    # --- visceral compartments
    bl_r = rest_b[sl["bladder"]]
    uv_r = rest_b[sl["uv"]]
    re_r = rest_b[sl["rectum"]]
    rc_r = rest_b[sl["rectc"]]
    # levator plate, puborectalis, perineal body, external sphincter
    lev = rest_b[sl["levator"]]
    cv.paint(to_img(_ribbon(lev, np.linspace(4.5, 2.5, 12))), MUSCLE, inside)
    cv.paint(to_img(_circle(lev[0] + [1, 1], rng.uniform(4.5, 6.5))), MUSCLE, inside)
    rtg = _tangents(rc_r)
    rn = np.stack([-rtg[:, 1], rtg[:, 0]], 1)
    wpr = np.linalg.norm(re_r[:36] - rc_r, axis=1)
    wnr = np.linalg.norm(re_r[71 - np.arange(36)] - rc_r, axis=1)
    for sgn, ww in ((1, wpr), (-1, wnr)):
        band = rc_r[1:8] + sgn * rn[1:8] * (ww[1:8] + 3.5)[:, None]
        cv.paint(to_img(_ribbon(band, 3.2)), MUSCLE, inside)
    uvc_r = rest_b[sl["uvc"]]
    pb = np.array([uvc_r[2], 0.5 * (uvc_r[2] + rc_r[3]) + [0, 6], rc_r[3],
                   0.5 * (uvc_r[4] + rc_r[6])])
    cv.paint(to_img(pb), FIBROUS, inside)
    # urethra
    ur = rest_b[sl["urethra"]]
    cv.paint(to_img(_ribbon(ur, 4.0)), MUSCLE, inside)
    cv.paint(to_img(_ribbon(ur, 1.2)), VWALL, inside)

    # organ masks at rest (image space), bones
    bone_sy = cv.mask(to_img(sy))
    bone_sa = cv.mask(to_img(sac))
    bone = bone_sy | bone_sa
    for v_ in vert:
        bone |= cv.mask(to_img(v_))
    polys = _organ_polys(x0, hyst, fibroids)
    lab = _rasterise_labels(cv, polys, bone)
    organ = lab > 0
    near = ndimage.binary_dilation(organ[::3, ::3], iterations=max(1, int(2.5 / cv.sp[0])))

    # peritoneal cavity: behind the abdominal wall, in front of the spine, above the organs
    sig_content = st["rectal_content"]
    free = inside[::3, ::3] & ~near
    yy, xx = np.mgrid[0:cv.h3:3, 0:cv.w3:3]
    # back to body coordinates for compartment tests
    pts_img = np.stack([(xx - 1) / 3 * cv.sp[1], (yy - 1) / 3 * cv.sp[0]], -1)
    rmat_inv = np.linalg.pinv(np.array(to_img(np.eye(2)) - to_img(np.zeros((1, 2)))))
    pb_ = (pts_img - to_img(np.zeros((1, 2)))[0]) @ rmat_inv
    bx, by = pb_[..., 0], pb_[..., 1]
    wall_x = sy_top[0] - 3 - 0.22 * (sy_top[1] - by)
    spine_x = np.interp(by, np.r_[sacc[::-1, 1], -600], np.r_[sacc[::-1, 0] - wsac[::-1],
                                                                sacc[-1, 0] - 60])
    top_org = min(bl_r[:, 1].min(), (uv_r[:, 1].min() if not hyst else uvc_r[15, 1] - 10))
    floor_y = np.maximum(top_org + 25, -20) if hyst else top_org + 20
    cavity = free & (bx > wall_x + 3) & (bx < spine_x - 6) & (by < floor_y) & (by < sacc[8, 1])
    cavity &= ~ndimage.binary_dilation(bone[::3, ::3], iterations=3)
    # sigmoid: continues the rectum beyond the cut
    ct = rc_r[-1]
    tg_end = rtg[-1]
    a_end = np.degrees(np.arctan2(tg_end[0], -tg_end[1]))
    wtop = 0.5 * (wpr[-1] + wnr[-1])
    sig_c, sig_t, _ = _path(ct - tg_end * 2.0, (25, 45, 50, 50),
                            (a_end, a_end - rng.uniform(30, 60), a_end - rng.uniform(80, 120),
                             a_end - rng.uniform(130, 170)), (6, 8, 8, 8), sigma=14)
    sig_w = np.full(30, wtop * rng.uniform(0.85, 1.05))
    sig_poly = _tube(sig_c, sig_t, sig_w, sig_w)
    sig_mask_i = cv.mask(to_img(sig_poly)) & inside & ~bone
    # small-bowel loops in the cavity
    loops = []
    cav_pts = np.argwhere(cavity)
    n_loops = int(rng.integers(10, 26))
    if len(cav_pts):
        for _ in range(n_loops * 3):
            if len(loops) >= n_loops:
                break
            r0, c0 = cav_pts[rng.integers(len(cav_pts))]
            cen = np.array([bx[r0, c0], by[r0, c0]])
            if rng.random() < 0.5:
                a_ = rng.uniform(0, 180)
                ln = rng.uniform(15, 45)
                cc_, tt_, _ = _path(cen - _dirs(a_) * ln / 2, (ln,), (a_,), (10,), sigma=4)
                cc_ = cc_ + np.outer(np.sin(np.linspace(0, np.pi, 10)), _dirs(a_ + 90)) * \
                    rng.uniform(-10, 10)
                rad = rng.uniform(7, 13)
                poly = _tube(cc_, _tangents(cc_), np.full(10, rad), np.full(10, rad))
            else:
                rad = rng.uniform(7, 15)
                t_ = np.linspace(0, 2 * np.pi, 28, endpoint=False)
                ecc = rng.uniform(0.6, 1.0)
                poly = cen + np.stack([rad * np.cos(t_), rad * ecc * np.sin(t_)], 1)
            kind = rng.choice(["fluid", "chyme", "gas", "collapsed"], p=[0.4, 0.3, 0.12, 0.18])
            loops.append((_chaikin(poly, 2), kind, rad))

    # paint visceral content: loops, sigmoid, free fluid, vessels
    cav_full = np.zeros((h3, w3), bool)
    cav_full[::3, ::3] = cavity
    cav_full = ndimage.binary_dilation(cav_full, np.ones((3, 3)))
    for poly, kind, rad in loops:
        m = cv.mask(to_img(poly)) & inside & ~bone & ~organ
        if not m.any():
            continue
        cls[m] = BOWWALL
        if kind != "collapsed":
            rs_, cs_ = np.nonzero(m)
            box = (slice(rs_.min(), rs_.max() + 1), slice(cs_.min(), cs_.max() + 1))
            mb_ = m[box]
            edt_l = ndimage.distance_transform_edt(np.pad(mb_, 1))[1:-1, 1:-1] / px
            lum = mb_ & (edt_l > rng.uniform(1.5, 2.5))
            sub = cls[box]
            sub[lum] = {"fluid": BOWFLUID, "chyme": CHYME, "gas": GAS}[kind]
            if kind == "chyme" and rng.random() < 0.5:
                sub[lum & (edt_l > rad * 0.6)] = GAS
    cls[sig_mask_i] = RWALL
    edt_s = ndimage.distance_transform_edt(sig_mask_i) / px
    sig_lum = sig_mask_i & (edt_s > rng.uniform(2.5, 3.5))
    cls[sig_lum] = RCONT if sig_content != "gas" else GAS
    # mesenteric / perivisceral vessels
    n_ves = int(rng.integers(4, 12))
    fatpix = np.argwhere((cls[::3, ::3] == FAT) & inside[::3, ::3])
    for _ in range(n_ves if len(fatpix) else 0):
        r0, c0 = fatpix[rng.integers(len(fatpix))]
        cen = np.array([(c0 * 3 - 1 + 1) / 3 * cv.sp[1], (r0 * 3) / 3 * cv.sp[0]])
        rr_ = rng.uniform(1.2, 3.5)
        cv.paint(_circle(cen, rr_, 16), VESSEL, (cls == FAT))
    # large vessel anterior to L4/L5
    lv_c = chain[2][0] + _dirs(chain[2][1] - 90) * (half_w + 9)
    cv.paint(to_img(_circle(lv_c, rng.uniform(6, 9))), VESSEL, inside & ~bone)
    # pouch of Douglas free fluid (look-alike) in some cases
    if rng.random() < 0.3 and not hyst:
        pod = 0.5 * (uvc_r[22] + rc_r[22]) + [0, -4]
        cv.paint(to_img(_circle(pod, rng.uniform(3, 7), 20)), BOWFLUID, inside & ~organ & ~bone)

    # --- bones
    for m_, w_ in ((bone_sy, 1.8), (bone_sa, 1.5)):
        e = ndimage.distance_transform_edt(m_) / px
        cls[m_] = CORTEX
        cls[m_ & (e > w_)] = MARROW
    # fused sacral disc remnants and coccygeal joints: thin lines across the sacrum
    for i in (4, 8, 12, 16, 20, 24):
        nrm = nr[i]
        seg = np.array([sacc[i] - nrm * wsac[i] * 0.85, sacc[i] + nrm * wsac[i] * 0.85])
        seg = _ribbon(np.linspace(seg[0], seg[1], 6), 0.9 if i > 8 else 1.3)
        cv.paint(to_img(seg), DISC if i > 8 else FIBROUS, bone_sa)

    # --- organs with internal zones
    # bladder
    mb = lab == 1
    areab = mb.sum() / px ** 2
    wall_b = float(np.clip(5.5 - areab / 1500, 2.0, 5.0))
    eb = ndimage.distance_transform_edt(np.pad(mb, 1))[1:-1, 1:-1] / px
    cls[mb] = BWALL
    cls[mb & (eb > wall_b)] = URINE
    # rectum
    mr = lab == 3
    er = ndimage.distance_transform_edt(np.pad(mr, 1))[1:-1, 1:-1] / px
    cls[mr] = RWALL
    content = st["rectal_content"]
    lum_r = mr & (er > rng.uniform(2.5, 3.5))
    if content == "gas":
        cls[lum_r] = GAS
        cls[lum_r & (er < 5)] = RCONT
    else:
        cls[lum_r] = RCONT
    # uterus / vagina zones from the centre line
    mu = lab == 2
    cpts = to_img(uvc_r if not hyst else uvc_r[:16])
    dense_i = np.linspace(0, len(cpts) - 1, 12 * len(cpts))
    dense = np.stack([np.interp(dense_i, np.arange(len(cpts)), cpts[:, q]) for q in (0, 1)], 1)
    ru, cu = np.nonzero(mu)
    pu = np.stack([(cu - 1) / 3 * cv.sp[1], (ru - 1) / 3 * cv.sp[0]], 1)
    dist, near_i = cKDTree(dense).query(pu)
    si = dense_i[near_i]
    zone = np.full(len(pu), MYO, np.uint8)
    vag = si < 15.5
    cerv = (si >= 15.5) & (si < 23.5)
    body_z = si >= 23.5
    gel = st["vaginal_gel"]
    vag_lum = 0.6 if not gel else max(0.8, 0.5 * np.median(dist[vag]) if vag.any() else 1)
    zone[vag] = VWALL
    zone[vag & (dist < vag_lum)] = VLUMEN
    zone[cerv] = JZ
    zone[cerv & (dist < 1.8)] = ENDO
    ew = rng.uniform(2.0, 6.5)
    ew_s = ew * np.clip((39.5 - si) / 6, 0, 1)
    zone[body_z & (dist < ew_s + rng.uniform(3, 6))] = JZ
    zone[body_z & (dist < ew_s)] = ENDO
    cls[ru, cu] = zone
    for fb in fibroids:
        if fb["kind"] == "intramural":
            i = fb["index"]
            ci = uvc_r[i if i < 40 else 79 - i]
            o = uv_r[i] - ci
            wloc = np.linalg.norm(o)
            if wloc > fb["r"] * 0.6 + 3:
                o = o / max(wloc, 1e-6)
                r_ = min(fb["r"], wloc - 3)
                cv.paint(to_img(_circle(ci + o * (wloc - r_ - 2.5) * 0.6, r_)), FIBROID, mu)
        else:
            for p in polys[1][1:]:
                mfb = cv.mask(p) & mu
                cls[mfb & (cls != ENDO)] = FIBROID

    # --- intensities: Gaussian-mixture class levels with texture
    seq = st["sequence"]
    lv = np.array(_LEVELS[seq], float) * np.exp(rng.normal(0, 0.15, _NCLS))
    if content == "gel":
        lv[RCONT] = _GEL_LEVEL[seq] * rng.uniform(0.85, 1.05)
    if gel:
        lv[VLUMEN] = _GEL_LEVEL[seq] * rng.uniform(0.85, 1.05)
    if seq == "t2_ssfse" and rng.random() < 0.5:
        lv[VESSEL] = rng.uniform(0.3, 0.7)
    fat_level = lv[FAT]
    if st["fat_sat"]:
        fat_level *= rng.uniform(0.03, 0.15)
    f_fine = _smooth_noise(rng, (h3, w3), 2.0 * px, up=3)
    f_coarse = _smooth_noise(rng, (h3, w3), 9.0 * px, up=6)
    tex_amp = np.clip(rng.normal(0.08, 0.03, _NCLS), 0.02, 0.2)
    tex_amp[[RCONT, CHYME, MARROW]] *= 3
    mix_d = np.clip(rng.normal(0.1, 0.05, _NCLS), 0, 0.3)
    tex = 0.6 * f_fine + 0.4 * f_coarse
    mix = 1 / (1 + np.exp(-3 * f_coarse))
    lvl_map = lv[cls] * (1 + mix_d[cls] * (2 * mix - 1)) * (1 + tex_amp[cls] * tex)
    water = np.where((cls == FAT) | (cls == MARROW), 0.0, lvl_map)
    fatf = np.zeros_like(water)
    isfat = cls == FAT
    septa = np.abs(f_fine) < rng.uniform(0.04, 0.12)
    fatf[isfat] = fat_level * (1 + 0.06 * tex[isfat])
    water[isfat & septa] = lv[FIBROUS] * 0.8
    fatf[isfat & septa] *= 0.3
    ism = cls == MARROW
    fatf[ism] = 0.65 * fat_level * (1 + 0.15 * tex[ism])
    water[ism] = lv[MUSCLE] * 0.5
    if content == "stool":
        bub = (f_fine > 1.3) & (cls == RCONT)
        water[bub] = lv[GAS]
    return {
        "water": np.maximum(water, 0).astype(np.float32),
        "fat": np.maximum(fatf, 0).astype(np.float32),
        "lab": lab,
        "bone": bone,
        "inside": inside,
        "levels": lv,
        "fat_level": float(fat_level),
        "imaging": {"levels": {"fat": float(fat_level), "urine": float(lv[URINE]),
                               "muscle": float(lv[MUSCLE]), "myometrium": float(lv[MYO])},
                    "n_bowel_loops": len(loops)},
    }


def _render_frames(rng, cv, img, x0, z_frames, times, st, hyst, fibroids):
    h3, w3 = cv.h3, cv.w3
    h, w = h3 // 3, w3 // 3
    sp = cv.sp
    t_n = len(z_frames)
    # control points: subsampled organ/structure landmarks and FOV anchors
    sel = []
    for nm, step in (("bladder", 2), ("uv", 2), ("uvc", 3), ("rectum", 2), ("rectc", 3),
                     ("symph", 3), ("sacrum", 3), ("body", 3), ("levator", 2),
                     ("urethra", 2)):
        sel.append(np.arange(_NPTS)[_SLICES[nm]][::step])
    sel = np.concatenate(sel)
    fov_w, fov_h = w * sp[1], h * sp[0]
    ax = np.linspace(-0.1, 1.1, 7)
    anchors = np.concatenate([np.stack([ax * fov_w, np.full(7, -0.1 * fov_h)], 1),
                              np.stack([ax * fov_w, np.full(7, 1.1 * fov_h)], 1),
                              np.stack([np.full(5, -0.1 * fov_w), ax[1:-1] * fov_h], 1),
                              np.stack([np.full(5, 1.1 * fov_w), ax[1:-1] * fov_h], 1)])
    src0 = x0[sel]
    keep = np.ones(len(sel), bool)
    dd = np.linalg.norm(src0[:, None] - src0[None], axis=-1)
    for i in range(len(sel)):
        if keep[i] and np.any(dd[i, :i][keep[:i]] < 1.0):
            keep[i] = False
    sel = sel[keep]
    step = 12
    ny, nx = (h3 - 1) // step + 2, (w3 - 1) // step + 2
    gy, gx = np.mgrid[0:ny, 0:nx] * step
    grid_mm = np.stack([(gx.ravel() - 1) / 3 * sp[1], (gy.ravel() - 1) / 3 * sp[0]], 1)
    tps = _RestTPS(np.concatenate([x0[sel], anchors]) / 100.0)
    my = _interp_matrix(h3, ny, step)
    mx = _interp_matrix(w3, nx, step)
    lv = img["levels"]
    wall_w = np.array([0, lv[BWALL], lv[MYO], lv[RWALL]], np.float32)
    bone = img["bone"]
    water0, fat0, lab0 = img["water"], img["fat"], img["lab"]

    # coils (static), at 1x
    yy, xx = np.mgrid[0:h, 0:w]
    xm, ym = xx * sp[1], yy * sp[0]
    ins1 = img["inside"][1::3, 1::3]
    cols_in = np.nonzero(ins1.any(0))[0]
    x_ant = cols_in.min() * sp[1] if len(cols_in) else 0.0
    x_post = cols_in.max() * sp[1] if len(cols_in) else fov_w
    coils = []
    for side, n_c in (("ant", st["n_coils_ant"]), ("post", st["n_coils_post"])):
        for i in range(n_c):
            rad = rng.uniform(45, 110)
            xc = x_ant - rng.uniform(5, 25) if side == "ant" else x_post + rng.uniform(5, 30)
            yc = fov_h * ((i + 0.5) / n_c) * rng.uniform(0.8, 1.2) + rng.uniform(-30, 30)
            zc = rng.uniform(-90, 90)
            coils.append(_loop_field(xm, ym, xc, yc, zc, rad))
    coils = np.stack(coils)
    sos = np.sqrt((coils ** 2).sum(0))
    ref = np.median(sos[ins1]) if ins1.any() else sos.mean()
    coils /= ref
    # bSSFP off-resonance bands
    band = None
    if st["sequence"] == "bssfp" and rng.random() < 0.5:
        cxn, cyn = xm / fov_w - 0.5, ym / fov_h - 0.5
        phi = np.pi + rng.uniform(2.5, 5.0) * (cxn ** 2 + cyn ** 2) * rng.choice([-1, 1]) \
            + rng.uniform(-1, 1) * cxn + rng.uniform(-1, 1) * cyn
        wrapped = np.angle(np.exp(1j * (phi - np.pi)))
        band = 1 - rng.uniform(0.5, 0.9) * np.exp(-(wrapped / rng.uniform(0.08, 0.2)) ** 2)
        band = np.where(np.hypot(cxn, cyn) > 0.25, band, 1.0)
    # chemical shift along the readout (rows or columns)
    readout_axis = int(rng.integers(0, 2))
    cs_shift = int(rng.integers(0, 4))
    pe_axis = 1 - readout_axis
    ghost_eps = rng.uniform(0.15, 0.45) if st["ghosting"] else 0.0
    ghost_period = rng.uniform(3, 7)
    opp = st["opposed_phase"]
    ktr = st["k_truncation"]
    snr = st["snr"]
    ant_w = np.clip((x_ant + 90 - xm) / 60, 0, 1) * np.clip((fov_h * 0.65 - ym) / 60, 0, 1)

    frames = np.zeros((t_n, h, w), np.float32)
    truth = np.zeros((t_n, h, w), np.uint8)
    sigma = None
    for t in range(t_n):
        xt = z_frames[t]
        back = tps.inverse(np.concatenate([xt[sel], anchors]) / 100.0,
                           grid_mm / 100.0) * 100.0
        rr = (back[:, 1] / sp[0] * 3 + 1).reshape(ny, nx)
        cc = (back[:, 0] / sp[1] * 3 + 1).reshape(ny, nx)
        r3 = my @ rr @ mx.T
        c3 = my @ cc @ mx.T
        coords = np.stack([r3, c3])
        wa = ndimage.map_coordinates(water0, coords, order=1, mode="nearest")
        fa = ndimage.map_coordinates(fat0, coords, order=1, mode="nearest")
        la = ndimage.map_coordinates(lab0, coords, order=0, mode="nearest")
        wa[bone] = water0[bone]
        fa[bone] = fat0[bone]
        polys = _organ_polys(xt, hyst, fibroids)
        lab = _rasterise_labels(cv, polys, bone)
        bad_in = (lab > 0) & (la != lab)
        wa[bad_in] = wall_w[lab[bad_in]]
        fa[bad_in] = 0
        bad_out = (lab == 0) & (la > 0) & ~bone
        wa[bad_out] = 0
        fa[bad_out] = img["fat_level"]
        if cs_shift:
            fa = np.roll(fa, cs_shift, axis=readout_axis)
        w1 = wa.reshape(h, 3, w, 3).mean((1, 3))
        f1 = fa.reshape(h, 3, w, 3).mean((1, 3))
        m = np.abs(w1 - f1) if opp else w1 + f1
        if band is not None:
            m = m * band
        if ktr < 1.0:
            k = np.fft.fftshift(np.fft.fft2(m))
            n_pe = m.shape[pe_axis]
            keep_n = int(n_pe * ktr)
            lo = (n_pe - keep_n) // 2
            sl = [slice(None), slice(None)]
            kk = np.zeros_like(k)
            sl[pe_axis] = slice(lo, lo + keep_n)
            kk[tuple(sl)] = k[tuple(sl)]
            m = np.abs(np.fft.ifft2(np.fft.ifftshift(kk)))
        if ghost_eps > 0:
            mov = m * ant_w
            kf = np.fft.fft(mov, axis=pe_axis)
            n_pe = m.shape[pe_axis]
            ph = ghost_eps * np.sin(2 * np.pi * np.arange(n_pe) / ghost_period
                                    + 0.7 * t)
            shape = [1, 1]
            shape[pe_axis] = n_pe
            mov2 = np.fft.ifft(kf * np.exp(1j * ph).reshape(shape), axis=pe_axis)
            m = np.abs(m - mov + mov2)
        if sigma is None:
            org = lab[1::3, 1::3] > 0
            sref = float(np.median((m * np.sqrt((coils ** 2).sum(0)))[org])) if org.any() \
                else float(m.mean())
            sigma = max(sref, 1e-6) / snr
        nre = rng.standard_normal((len(coils), h, w)) * sigma
        nim = rng.standard_normal((len(coils), h, w)) * sigma
        frames[t] = np.sqrt(((coils * m + nre) ** 2 + nim ** 2).sum(0))
        truth[t] = lab[1::3, 1::3]
    if st["integer_scale"]:
        top = float(np.percentile(frames, 99.9))
        frames = np.rint(frames / max(top, 1e-9) * rng.uniform(900, 4000))
        frames = np.clip(frames, 0, 4095)
    else:
        frames = frames * float(10 ** rng.uniform(-1.5, 3))
    return frames.astype(np.float32), truth


# ------------------------------------------------------------------------ command line
def write_case(job) -> str:
    """Render one seed into ``<out>/ssm_<seed>``: DICOM series, truth.npy, params.json."""
    seed, out = job
    series, truth, params = generate(int(seed))
    case_dir = Path(out) / f"{GENERATOR}_{int(seed):03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=int(seed),
                       patient_name=f"SSM^{int(seed):03d}", patient_id=f"ssm_{int(seed):03d}",
                       slice_thickness_mm=params["imaging"]["slice_thickness_mm"])
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    counts = [int((truth == i + 1).sum() / len(truth)) for i in range(len(ORGANS))]
    return (f"{case_dir.name}: {params['imaging']['sequence']}"
            f"{' fs' if params['imaging']['fat_sat'] else ''} {params['motion']['maneuver']}"
            f" T={params['n_frames']} {params['matrix'][0]}x{params['matrix'][1]}"
            f" hyst={params['hysterectomy']} px/frame={counts}")


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
