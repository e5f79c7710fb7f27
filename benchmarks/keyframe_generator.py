"""Keyframe generator: cine pelvic-floor MRI from rest / maximum-strain organ keyframes (SDF morph).

A self-contained synthetic-data generator for PelviTrack.  Every case is one dynamic
mid-sagittal slice of a female pelvis (T frames, float32) with an exact per-frame truth
(bladder, uterus_vagina, rectum).

How a case is made
------------------
1. Parameters (``sample_params``, cheap, no pixels): matrix 224-288 x 224-288, spacing
   1.1-1.5 mm, 20-40 frames 0.5-2 s apart; bony pelvis (symphysis tilt and size, inlet
   angle and conjugate, sacral length / curvature, coccyx angle, lumbar lordosis), body
   habitus (abdominal, mons and back fat, belly), pose (tilt +-15 deg, scale, position in
   the field of view), organs (bladder filling 5-100 %, anteverted or retroverted uterus,
   size, fibroids, hysterectomy in ~20 %, vaginal / rectal gel, stool or gas), laxity
   (nulliparous vs multiparous), manoeuvre and imaging.
2. Geometry: bony landmarks first (symphysis, promontory, sacral curve, coccyx, L1-L5),
   then every organ is drawn independently as keyframes - a REST shape and a
   MAXIMUM-STRAIN shape (bladder descended and rotated, base bulging in lax cases; cervix
   and uterus descended; vagina shortened and bent; rectum with an anterior rectocele, a
   descended anorectal junction and an opened anorectal angle) and, when the manoeuvre
   needs it, a SQUEEZE shape (lifted and compacted) or an EVACUATED rectum.  Each shape is a
   smooth closed outline (centripetal Catmull-Rom through hand-placed control points
   defined relative to the bony landmarks, with per-case random variation); tube-like
   organs (vagina, cervix, uterine body, rectum) get their control points as offsets of a
   curved axis with a width profile.  Every outline becomes a signed distance field (SDF,
   mm, negative inside) on a 2x oversampled grid.
3. Motion: a manoeuvre curve s(t) in [-1, 1] (ease-in/out ramps, holds, repeats, coughs
   as one-frame spikes; negative = squeeze) plus per-organ lag, gain and jitter.  Each
   frame's organ is the zero level set of (1-|s|)*SDF_rest + |s|*SDF_key, the two SDFs
   being read in correspondence-aligned coordinates (the keyframes share their control
   points; a smooth per-organ map built from them keeps a translated or bent thin tube
   from fading out halfway).  The soft hollow organs give way to the firm uterus / vagina
   (bladder and rectum SDFs are clipped by it, so they are indented, never overlapped);
   otherwise exclusivity is per pixel the organ with the most negative SDF, and a pixel that
   is mostly bone is never labelled.  Each organ is checked to be one 8-connected piece and
   its SDF is smoothed if not (the largest piece is kept as a last resort).
   Bones never move; bowel loops, fat, muscles, urethra, sphincters and skin follow a
   smooth displacement field interpolated with Gaussian radial basis functions from the
   organ control point motions (bones and skin anchored), plus breathing and peristalsis.
4. Imaging: ~40 % SynthSeg-style contrast (every tissue class a random mean and a random
   within-class standard deviation, then blurred), otherwise a sequence family with
   per-case tissue levels: T2 HASTE / single-shot FSE, TrueFISP (bright vessels, India-ink
   lines at fat-water boundaries, off-resonance banding), T1 GRE (in- or opposed-phase) or
   fat-suppressed T2 (with imperfect suppression).  Partial volume from the 2x grid,
   complex PSF blur, chemical shift, a strong smooth multiplicative bias (product of
   low-order polynomials times a surface-coil term, up to a factor 3 across the field of
   view), occasional respiratory ghosting and spike / herringbone, Rician or
   non-central-chi noise (SNR 4-40) and scanner-like storage (12-bit integers, 8-bit
   with clipping of the brightest 0-2 %, or floats with an arbitrary scale).

Orientation
-----------
Canonical mid-sagittal: row 0 cranial (head), rows run towards the feet; column 0 anterior
(belly), the last column posterior (back).  The pubic symphysis is lower-anterior, sacrum
and coccyx posterior.  ``spacing_mm`` is (row, column); a smaller ``matrix`` keeps the same
field of view in mm.

Labels
------
truth uint8 (T, H, W): 0 background, 1 bladder, 2 uterus_vagina, 3 rectum (ORGANS order).
1 bladder: wall + urine out to the outer wall surface, ending caudally at the bladder neck
(the urethra is not labelled).  2 uterus_vagina: uterine body (myometrium, endometrium,
fibroids including subserosal ones), cervix and vagina (walls + lumen / gel) down to the
introitus at the perineal skin; after hysterectomy the vagina alone, closed by a rounded
cuff.  3 rectum: rectum and anal canal (wall + content) from the rectosigmoid junction, cut
perpendicular to the bowel axis where it leaves the sacral curve at about S3, down to the
anal verge; the external anal sphincter and the sigmoid above the cut are not labelled.
Labels are exclusive, every organ is present in every frame, bones never carry a label,
and image and truth come from the same geometry in the same frame.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import polygon as _draw_polygon
from skimage.measure import points_in_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "keyframe"

SEQUENCES = ("synth", "haste", "truefisp", "t1_gre", "t2_fs")
MANEUVERS = ("valsalva", "valsalva_repeat", "squeeze", "squeeze_strain", "cough", "defecation")

# ----------------------------------------------------------------------------- tissues
CLASSES = (
    "air", "fat", "skin", "muscle", "cortex", "marrow", "disc", "csf", "nerve", "vessel",
    "bowel_wall", "bowel_fluid", "gas", "chyme", "stool", "mucosa", "free_fluid", "ligament",
    "plexus", "bladder_wall", "urine", "myometrium", "endometrium", "junctional_zone",
    "cervical_stroma", "vaginal_wall", "gel", "fibroid", "rectal_wall", "perineal_body",
    "symphysis_disc", "sphincter",
)
C = {name: i for i, name in enumerate(CLASSES)}
FAT_FRACTION = np.zeros(len(CLASSES), np.float32)
FAT_FRACTION[C["fat"]] = 1.0
FAT_FRACTION[C["marrow"]] = 0.55

# (lo, hi) mean signal per class for haste, truefisp, t1_gre, t2_fs (relative units).
_TISSUE = {
    "air": ((0, .01), (0, .01), (0, .01), (0, .01)),
    "fat": ((.55, .8), (.65, .9), (.8, 1.), (.04, .14)),
    "skin": ((.3, .45), (.35, .5), (.4, .55), (.2, .35)),
    "muscle": ((.1, .2), (.12, .22), (.28, .4), (.12, .22)),
    "cortex": ((.01, .05), (.01, .05), (.01, .05), (.01, .05)),
    "marrow": ((.35, .55), (.45, .65), (.6, .85), (.08, .2)),
    "disc": ((.45, .75), (.5, .8), (.25, .35), (.5, .8)),
    "csf": ((.85, 1.), (.9, 1.), (.06, .14), (.9, 1.)),
    "nerve": ((.25, .4), (.3, .45), (.3, .4), (.25, .4)),
    "vessel": ((.02, .15), (.7, .95), (.2, .9), (.03, .2)),
    "bowel_wall": ((.25, .4), (.25, .4), (.3, .42), (.3, .45)),
    "bowel_fluid": ((.75, 1.), (.8, 1.), (.08, .2), (.8, 1.)),
    "gas": ((0, .04), (0, .04), (0, .03), (0, .04)),
    "chyme": ((.35, .6), (.4, .6), (.25, .45), (.4, .65)),
    "stool": ((.15, .45), (.2, .5), (.3, .6), (.2, .5)),
    "mucosa": ((.45, .7), (.4, .6), (.3, .4), (.5, .75)),
    "free_fluid": ((.85, 1.), (.85, 1.), (.06, .14), (.9, 1.)),
    "ligament": ((.04, .1), (.05, .12), (.08, .15), (.04, .1)),
    "plexus": ((.5, .8), (.6, .9), (.25, .4), (.55, .85)),
    "bladder_wall": ((.12, .25), (.18, .3), (.3, .4), (.15, .28)),
    "urine": ((.85, 1.), (.85, 1.), (.04, .12), (.9, 1.)),
    "myometrium": ((.3, .5), (.35, .5), (.3, .4), (.35, .55)),
    "endometrium": ((.65, .9), (.5, .7), (.3, .42), (.7, .95)),
    "junctional_zone": ((.1, .2), (.2, .3), (.28, .38), (.12, .22)),
    "cervical_stroma": ((.1, .22), (.15, .3), (.28, .38), (.12, .25)),
    "vaginal_wall": ((.2, .35), (.3, .4), (.3, .4), (.22, .38)),
    "gel": ((.75, .95), (.8, .95), (.1, .2), (.8, 1.)),
    "fibroid": ((.06, .18), (.12, .25), (.28, .38), (.08, .2)),
    "rectal_wall": ((.18, .3), (.25, .35), (.3, .4), (.2, .32)),
    "perineal_body": ((.12, .22), (.15, .25), (.28, .38), (.12, .22)),
    "symphysis_disc": ((.15, .3), (.2, .35), (.2, .3), (.15, .3)),
    "sphincter": ((.08, .18), (.12, .22), (.28, .4), (.1, .2)),
}
# relative within-class variation (texture) for the realistic sequences
_TEXTURE = {"fat": .07, "muscle": .12, "marrow": .18, "chyme": .3, "stool": .45, "gas": .3,
            "bowel_fluid": .05, "urine": .02, "gel": .04, "myometrium": .1, "fibroid": .25,
            "csf": .04, "skin": .1, "plexus": .2, "vessel": .25, "endometrium": .08,
            "disc": .12, "nerve": .15}


# ----------------------------------------------------------------------------- geometry
def _d(theta: float) -> np.ndarray:
    """Unit vector at polar angle theta (deg); u (columns) posterior, v (rows) caudal."""
    t = math.radians(theta)
    return np.array([math.cos(t), math.sin(t)])


def _ang(vec) -> float:
    return math.degrees(math.atan2(vec[1], vec[0]))


def _unit(vec) -> np.ndarray:
    vec = np.asarray(vec, float)
    return vec / max(float(np.linalg.norm(vec)), 1e-9)


def _rot(pts, deg: float, centre) -> np.ndarray:
    """Rotate points about centre by deg (polar-angle sense)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    p = np.asarray(pts, float) - centre
    return np.stack([c * p[..., 0] - s * p[..., 1], s * p[..., 0] + c * p[..., 1]], -1) + centre


def _catmull_rom(points, closed: bool, n: int = 8) -> np.ndarray:
    """Centripetal Catmull-Rom spline through points (n samples per segment)."""
    p = np.asarray(points, float)
    if closed:
        ext = np.vstack([p[-1:], p, p[:2]])
    else:
        ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    p0, p1, p2, p3 = (ext[i:len(ext) - 3 + i][:, None, :] for i in range(4))
    d01 = np.maximum(np.linalg.norm(p1 - p0, axis=-1), 1e-4) ** 0.5
    d12 = np.maximum(np.linalg.norm(p2 - p1, axis=-1), 1e-4) ** 0.5
    d23 = np.maximum(np.linalg.norm(p3 - p2, axis=-1), 1e-4) ** 0.5
    t1, t2 = d01, d01 + d12
    t3 = t2 + d23
    u = np.linspace(0, 1, n, endpoint=False)[None, :]
    t = (t1 + u * d12)[..., None]
    t1, t2, t3 = t1[..., None], t2[..., None], t3[..., None]
    a1 = (t1 - t) / t1 * p0 + t / t1 * p1
    a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
    a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
    b1 = (t2 - t) / t2 * a1 + t / t2 * a2
    b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
    out = ((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2).reshape(-1, 2)
    if not closed:
        out = np.vstack([out, p[-1:]])
    return out


def _resample(curve: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ~step mm along an open polyline, with their arc-length fraction."""
    seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(int(round(s[-1] / step)), 2)
    ss = np.linspace(0.0, s[-1], n + 1)
    pts = np.stack([np.interp(ss, s, curve[:, 0]), np.interp(ss, s, curve[:, 1])], 1)
    return pts, ss / max(s[-1], 1e-9)


def _profile(frac: np.ndarray, knots: np.ndarray, values) -> np.ndarray:
    return np.interp(frac, knots, np.asarray(values, float))


def _unloop(side: np.ndarray, tang: np.ndarray, step: float) -> np.ndarray:
    keep = [side[0]]
    for i in range(1, len(side)):
        if np.dot(side[i] - keep[-1], tang[i]) > 0.15 * step or i == len(side) - 1:
            keep.append(side[i])
    return np.array(keep)


def _tube(centre, hw_left, hw_right=None, caps=("round", "round"), step=4.0):
    """Closed control polygon of a tube around a Catmull-Rom axis.

    hw_left / hw_right: half widths at the axis control points (left = the side of the
    normal (-t_v, t_u)).  Returns (outline control points, dense axis, axis fraction, the
    control-point fractions).
    """
    ctrl = np.asarray(centre, float)
    axis = _catmull_rom(ctrl, False, 12)
    pts, frac = _resample(axis, step)
    # arc fractions of the control points (nearest dense point)
    seg = np.linalg.norm(np.diff(axis, axis=0), axis=1)
    s_axis = np.concatenate([[0.0], np.cumsum(seg)]) / max(seg.sum(), 1e-9)
    knots = np.array([s_axis[np.argmin(np.linalg.norm(axis - c, axis=1))] for c in ctrl])
    knots = np.maximum.accumulate(knots)
    knots = knots + np.arange(len(knots)) * 1e-6
    hl = _profile(frac, knots, hw_left)
    hr = _profile(frac, knots, hw_left if hw_right is None else hw_right)
    tang = np.gradient(pts, axis=0)
    tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-9)
    nrm = np.stack([-tang[:, 1], tang[:, 0]], 1)
    left = _unloop(pts + hl[:, None] * nrm, tang, step)
    right = _unloop(pts - hr[:, None] * nrm, tang, step)
    parts = [left]
    phis = np.linspace(0, np.pi, 7)[1:-1]
    if caps[1] == "round":
        r = 0.5 * (hl[-1] + hr[-1])
        parts.append(pts[-1] + r * (np.cos(phis)[:, None] * nrm[-1] + np.sin(phis)[:, None]
                                    * tang[-1]))
    else:
        w = np.linspace(0, 1, 5)[1:-1, None]
        parts.append((1 - w) * (pts[-1] + hl[-1] * nrm[-1]) + w * (pts[-1] - hr[-1] * nrm[-1]))
    parts.append(right[::-1])
    if caps[0] == "round":
        r = 0.5 * (hl[0] + hr[0])
        parts.append(pts[0] + r * (np.cos(phis)[:, None] * (-nrm[0]) + np.sin(phis)[:, None]
                                   * (-tang[0])))
    else:
        w = np.linspace(0, 1, 5)[1:-1, None]
        parts.append((1 - w) * (pts[0] - hr[0] * nrm[0]) + w * (pts[0] + hl[0] * nrm[0]))
    return np.vstack(parts), pts, frac


def _outline(ctrl, n=4) -> np.ndarray:
    """Smooth closed outline (Catmull-Rom) through closed control points."""
    return _catmull_rom(ctrl, True, n)


def _circle(c, r, n=18) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([c[0] + r * np.cos(t), c[1] + r * np.sin(t)], 1)


def _ellipse(c, a, b, ang, n=20) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    p = np.stack([a * np.cos(t), b * np.sin(t)], 1)
    return _rot(p, ang, np.zeros(2)) + np.asarray(c, float)


def _seg_dist(pts, poly, closed=True) -> np.ndarray:
    """Unsigned distance of points (N,2) to the polyline poly (M,2)."""
    p = np.asarray(pts, float)[:, None, :]
    a = np.asarray(poly, float)
    b = np.roll(a, -1, axis=0) if closed else a[1:]
    a = a if closed else a[:-1]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)
    q = a + t[..., None] * ab
    return np.sqrt(((p - q) ** 2).sum(-1)).min(1)


def _sd_poly(pts, poly) -> np.ndarray:
    """Signed distance of points to a closed polygon (negative inside)."""
    pts = np.atleast_2d(np.asarray(pts, float))
    d = _seg_dist(pts, poly)
    inside = points_in_poly(pts, np.asarray(poly, float))
    return np.where(inside, -d, d)


def _push_out(pts, obstacles, clearance, fixed=()) -> np.ndarray:
    """Move points out of (and clearance away from) obstacle polygons."""
    pts = np.array(pts, float)
    for _ in range(6):
        moved = False
        for poly in obstacles:
            sd = _sd_poly(pts, poly)
            bad = sd < clearance
            for i in np.flatnonzero(bad):
                if i in fixed:
                    continue
                eps = 0.3
                gx = (_sd_poly(pts[i] + [eps, 0], poly) - _sd_poly(pts[i] - [eps, 0], poly))[0]
                gy = (_sd_poly(pts[i] + [0, eps], poly) - _sd_poly(pts[i] - [0, eps], poly))[0]
                g = _unit([gx, gy])
                pts[i] = pts[i] + (clearance - sd[i] + 0.2) * g
                moved = True
        if not moved:
            break
    return pts


def _push_centre(pts, obstacles, clearance, fixed=()) -> np.ndarray:
    """Move points towards their centroid until clear of the obstacle polygons (an organ
    indented by a neighbour)."""
    pts = np.array(pts, float)
    c = pts.mean(0)
    for i in range(len(pts)):
        if i in fixed:
            continue
        d = c - pts[i]
        n = float(np.linalg.norm(d))
        if n < 1e-6:
            continue
        d /= n
        for _ in range(40):
            if all(_sd_poly(pts[i], ob)[0] >= clearance for ob in obstacles):
                break
            if np.linalg.norm(pts[i] - c) < 4.0:
                break
            pts[i] = pts[i] + 1.0 * d
    return pts


def _splits(poly, cutters, res=1.0) -> bool:
    """Whether the cutter outlines cut the closed outline poly into several pieces (or
    swallow it), checked on a local grid of res mm."""
    lo = poly.min(0) - 2
    hi = poly.max(0) + 2
    shape = (int((hi[1] - lo[1]) / res) + 1, int((hi[0] - lo[0]) / res) + 1)
    m = np.zeros(shape, bool)
    rr, cc = _draw_polygon((poly[:, 1] - lo[1]) / res, (poly[:, 0] - lo[0]) / res, shape)
    m[rr, cc] = True
    total = m.sum()
    cut = np.zeros(shape, bool)
    for q in cutters:
        rr, cc = _draw_polygon((q[:, 1] - lo[1]) / res, (q[:, 0] - lo[0]) / res, shape)
        cut[rr, cc] = True
    m &= ~ndi.binary_dilation(cut, iterations=1)
    lab, n = ndi.label(m, np.ones((3, 3), bool))
    if n == 0:
        return True
    sizes = np.bincount(lab.ravel())[1:]
    return bool(np.sort(sizes)[-2] > 0.03 * total if n > 1 else sizes.max() < 0.3 * total)


def _u(rng, lo, hi) -> float:
    return float(rng.uniform(lo, hi))


# ----------------------------------------------------------------------------- parameters
def _sample_anatomy(rng) -> dict:
    parous = bool(rng.random() < 0.65)
    lax = _u(rng, 0.2, 1.0) if parous else _u(rng, 0.0, 0.35)
    hyst = bool(rng.random() < 0.2)
    fill = float(np.clip(rng.beta(1.2, 1.4), 0.05, 1.0))
    gel_rect = rng.random()
    content = "gel" if gel_rect < 0.55 else ("stool" if gel_rect < 0.85 else "gas")
    retro = bool(rng.random() < 0.25)
    n_fib = 0 if hyst else int(rng.choice([0, 0, 0, 0, 0, 0, 1, 1, 2, 3]))
    fibroids = [dict(t=_u(rng, 0.25, 1.0), o=_u(rng, -1.15, 1.15), r=_u(rng, 5, 18))
                for _ in range(n_fib)]
    a = dict(
        scale=_u(rng, 0.9, 1.1), tilt=_u(rng, -15, 15),
        sym_alpha=_u(rng, 18, 38), sym_len=_u(rng, 36, 46), sym_th=_u(rng, 11, 16),
        conj=_u(rng, 108, 124), inlet=_u(rng, 48, 60),
        mid_ap=_u(rng, 118, 134), mid_ang=_u(rng, 24, 38), out_ap=_u(rng, 108, 122),
        out_ang=_u(rng, 10, 26), sac_depth=_u(rng, 4, 12),
        cocc_len=_u(rng, 24, 36), cocc_angle=_u(rng, 15, 40),
        lordosis=[_u(rng, 10, 20)] + [_u(rng, 5, 11) for _ in range(5)], vert_depth=_u(rng, 36, 44),
        vert_height=_u(rng, 25, 30), disc_height=_u(rng, 9, 13), canal=_u(rng, 13, 18),
        spinous=_u(rng, 26, 34),
        fat_front=_u(rng, 8, 42), belly=_u(rng, 0, 40), fat_back=_u(rng, 8, 38),
        back_muscle=_u(rng, 4, 14), rectus=_u(rng, 6, 12), wall_lean=_u(rng, 0, 14),
        fat_cleft=_u(rng, 12, 35),
        introitus=[_u(rng, 18, 28), _u(rng, 16, 26)], perineum=_u(rng, 38, 50),
        anus_drop=_u(rng, 3, 10),
        parous=parous, laxity=lax, hysterectomy=hyst,
        bladder=dict(fill=fill, neck=[_u(rng, 4, 14), _u(rng, -20, -8)],
                     tilt=_u(rng, -30, -8), wall=_u(rng, 2.0, 3.0), noise=_u(rng, 0.02, 0.07),
                     shape_seed=int(rng.integers(1 << 30))),
        uterus=dict(retroverted=retro,
                    version=_u(rng, 5, 40) if retro else _u(rng, 55, 105),
                    flexion=_u(rng, -75, -25) if retro else _u(rng, 0, 45),
                    cervix_len=_u(rng, 22, 34), cervix_hw=_u(rng, 10, 13.5),
                    body_len=_u(rng, 45, 64) if parous else _u(rng, 38, 52),
                    body_hw=_u(rng, 17, 24) if parous else _u(rng, 14, 20),
                    endo_hw=_u(rng, 1.5, 6.0), jz=_u(rng, 2, 4.5), fibroids=fibroids),
        vagina=dict(length=_u(rng, 55, 75) if hyst else _u(rng, 62, 82),
                    angle=_u(rng, -70, -52), bow=_u(rng, 0, 6), hw_low=_u(rng, 5.5, 7.0),
                    hw_up=_u(rng, 6.5, 8.5), gel=bool(rng.random() < 0.35),
                    gel_factor=_u(rng, 1.5, 2.2), wall=_u(rng, 2.5, 3.5)),
        rectum=dict(content=content, canal_len=_u(rng, 26, 36), zeta=_u(rng, -5, 10),
                    ara=_u(rng, 88, 112), hc=_u(rng, 6.5, 8.5),
                    amp=_u(rng, 17, 25) if content == "gel" else _u(rng, 13, 20),
                    hrs=_u(rng, 10, 13.5), gap=_u(rng, 4, 10), wall=_u(rng, 2.5, 4.0),
                    l1=_u(rng, 12, 20)),
        strain=dict(bl_desc=(8 + 28 * lax) * _u(rng, 0.8, 1.15), bl_dir=_u(rng, 55, 80),
                    cystocele=28 * lax ** 1.5 * _u(rng, 0.6, 1.15),
                    ut_desc=(6 + 38 * lax ** 1.5) * _u(rng, 0.8, 1.15), ut_rot=_u(rng, -4, 12),
                    arj_desc=(7 + 18 * lax) * _u(rng, 0.8, 1.15), arj_dir=_u(rng, 72, 100),
                    ara_open=_u(rng, 12, 32), rectocele=24 * lax ** 1.3 * _u(rng, 0.5, 1.15),
                    ),
        squeeze=dict(lift=_u(rng, 4, 11), ara_close=_u(rng, 8, 18), bl_lift=_u(rng, 3, 8)),
    )
    return a


def _ease(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6 * x - 15) + 10)


def _sample_motion(rng, T: int, dt: float) -> dict:
    dur = (T - 1) * dt
    kind = str(rng.choice(MANEUVERS, p=[0.3, 0.14, 0.12, 0.12, 0.12, 0.2]))
    ev = []

    def strain(t0, span, amp, sign=1.0):
        ramp = min(_u(rng, 1.5, 5.0) / dur, 0.3 * span)
        rel = min(_u(rng, 1.0, 4.0) / dur, 0.25 * span)
        hold = max(span - ramp - rel, 0.08) * _u(rng, 0.6, 0.95)
        ev.append(dict(type="hold", t0=t0, ramp=ramp, hold=hold, release=rel,
                       amp=sign * amp, wobble=_u(rng, 0.0, 0.06), phase=_u(rng, 0, 6.28)))
        return t0 + ramp + hold + rel

    t0 = _u(rng, 0.06, 0.2)
    evac = None
    if kind == "valsalva":
        strain(t0, 0.95 - t0, _u(rng, 0.8, 1.0))
    elif kind == "valsalva_repeat":
        n = int(rng.integers(2, 4))
        share = (0.97 - t0) / n
        for i in range(n):
            strain(t0 + i * share, share * 0.85, _u(rng, 0.7, 1.0))
    elif kind == "squeeze":
        n = int(rng.integers(1, 4))
        share = (0.97 - t0) / n
        for i in range(n):
            strain(t0 + i * share, share * 0.85, _u(rng, 0.7, 1.0), -1.0)
    elif kind == "squeeze_strain":
        mid = _u(rng, 0.4, 0.55)
        strain(t0, mid - t0 - 0.03, _u(rng, 0.7, 1.0), -1.0)
        strain(mid, 0.97 - mid, _u(rng, 0.8, 1.0))
    elif kind == "cough":
        n = int(rng.integers(2, 6))
        times = np.sort(rng.uniform(t0, 0.95, n))
        for tc in times:
            ev.append(dict(type="spike", t0=float(tc), amp=_u(rng, 0.45, 0.9)))
        if rng.random() < 0.4:
            strain(0.6, 0.37, _u(rng, 0.6, 0.9))
    else:  # defecation
        end = strain(t0, 0.95 - t0, _u(rng, 0.85, 1.0))
        h = ev[-1]
        start = h["t0"] + h["ramp"] * _u(rng, 0.5, 1.0)
        evac = dict(t0=start, span=max(_u(rng, 0.2, 0.45) * (end - start), 0.05),
                    amount=_u(rng, 0.6, 1.0))
    return dict(maneuver=kind, duration_s=dur, events=ev, evacuation=evac,
                lag_s=[_u(rng, 0.0, 0.6) for _ in ORGANS],
                gain=[_u(rng, 0.9, 1.05) for _ in ORGANS],
                jitter_mm=_u(rng, 0.2, 0.7), breath_mm=_u(rng, 1.0, 5.0),
                breath_period_s=_u(rng, 3.0, 6.0), breath_phase=_u(rng, 0, 6.28),
                peristalsis_mm=_u(rng, 0.5, 2.5))


def _maneuver_curve(motion: dict, times: np.ndarray, organ: int | None = None):
    """s(t) in [-1, 1] (positive strain, negative squeeze) and evacuation e(t) in [0, 1]."""
    dur = max(motion["duration_s"], 1e-6)
    tt = times / max(times[-1], 1e-9)
    if organ is not None:
        tt = tt - motion["lag_s"][organ] / dur
    s = np.zeros(len(times))
    for ev in motion["events"]:
        if ev["type"] == "hold":
            up = _ease((tt - ev["t0"]) / max(ev["ramp"], 1e-6))
            t_rel = ev["t0"] + ev["ramp"] + ev["hold"]
            down = 1.0 - _ease((tt - t_rel) / max(ev["release"], 1e-6))
            wob = 1.0 - ev["wobble"] * (0.5 + 0.5 * np.sin(40 * tt + ev["phase"]))
            s += ev["amp"] * up * down * wob
    for ev in motion["events"]:
        if ev["type"] == "spike":
            j = int(np.argmin(np.abs(times / max(times[-1], 1e-9) - ev["t0"])))
            s[j] += ev["amp"]
            step = times[1] - times[0] if len(times) > 1 else 1.0
            if step < 0.9:
                for k in (j - 1, j + 1):
                    if 0 <= k < len(s):
                        s[k] += 0.3 * ev["amp"]
    if organ is not None:
        s = s * motion["gain"][organ]
    s = np.clip(s, -1.0, 1.0)
    e = np.zeros(len(times))
    if motion.get("evacuation"):
        ev = motion["evacuation"]
        e = ev["amount"] * _ease((tt - ev["t0"]) / ev["span"])
    return s, e


def _sample_imaging(rng) -> dict:
    r = rng.random()
    if r < 0.4:
        seq = "synth"
    else:
        seq = str(rng.choice(SEQUENCES[1:], p=[0.42, 0.3, 0.12, 0.16]))
    means, stds = {}, {}
    for name in CLASSES:
        if seq == "synth":
            means[name] = _u(rng, 0.0, 1.0)
            stds[name] = _u(rng, 0.0, 0.15)
        else:
            col = SEQUENCES.index(seq) - 1
            lo, hi = _TISSUE[name][col]
            means[name] = _u(rng, lo, hi)
            stds[name] = means[name] * _TEXTURE.get(name, 0.05) * _u(rng, 0.5, 1.6)
    if seq == "t1_gre" and rng.random() < 0.7:  # inflow: bright vessels, sometimes
        means["vessel"] = _u(rng, 0.5, 0.95)
    opposed = (seq == "truefisp" and rng.random() < 0.75) or (seq == "t1_gre"
                                                              and rng.random() < 0.3)
    storage = str(rng.choice(["int12", "int8", "float"], p=[0.45, 0.25, 0.3]))
    return dict(
        sequence=seq, means=means, stds=stds,
        synth_blur=_u(rng, 0.4, 1.6), opposed_phase=bool(opposed),
        chemical_shift_px=_u(rng, 0.0, 1.5) if seq != "synth" else 0.0,
        phase_dir=str(rng.choice(["ap", "si"])), psf=[_u(rng, 0.3, 0.6), _u(rng, 0.4, 1.0)],
        bias_ratio=_u(rng, 1.3, 3.0), bias_poly=[float(v) for v in rng.uniform(-1, 1, 6)],
        coil=_u(rng, 0.0, 1.2), coil_len=_u(rng, 40, 110),
        snr=float(np.exp(rng.uniform(np.log(4), np.log(40)))),
        coils=int(rng.choice([1, 1, 1, 2, 4, 8])),
        ghost=_u(rng, 0.03, 0.12) if rng.random() < 0.25 else 0.0,
        ghost_copies=int(rng.integers(1, 4)),
        spike=_u(rng, 0.03, 0.1) if rng.random() < 0.12 else 0.0,
        spike_frames=_u(rng, 0.1, 1.0), spike_k=[_u(rng, 0.12, 0.48), _u(rng, -0.48, 0.48)],
        banding=_u(rng, 0.3, 0.8) if (seq == "truefisp" and rng.random() < 0.45) else 0.0,
        banding_freq=_u(rng, 1.0, 3.0), banding_angle=_u(rng, 0, 180),
        fs_fail=_u(rng, 0.5, 3.0) if (seq == "t2_fs" and rng.random() < 0.4) else 0.0,
        fs_angle=_u(rng, 0, 360),
        storage=storage, clip_percent=_u(rng, 0.0, 2.0), scale=_u(rng, 0.5, 3000.0),
        int_fraction=_u(rng, 0.6, 1.0), slice_thickness_mm=_u(rng, 5.0, 10.0),
    )


# ----------------------------------------------------------------------------- anatomy
def _rounded_quad(q, r=2.0) -> np.ndarray:
    """Closed smooth outline of a quadrilateral with rounded corners."""
    q = np.asarray(q, float)
    pts = []
    for i in range(len(q)):
        p, prev, nxt = q[i], q[i - 1], q[(i + 1) % len(q)]
        pts.append(p + r * _unit(prev - p))
        pts.append(p + r * _unit(nxt - p))
    return _outline(np.array(pts), 3)


class _Anatomy:
    """Every structure in anatomical mm (u posterior, v caudal, origin at the inferior
    margin of the pubic symphysis), organs as keyframes; ``img`` maps into the image."""

    def __init__(self, a: dict):
        self.a = a
        self.hyst = bool(a["hysterectomy"])
        self.fill_scale = 1.0
        self._bones()
        self._spine()
        self.I = np.array(a["introitus"], float)
        self.AV = self.I + np.array([a["perineum"], a["anus_drop"]])
        self._body()
        self._rectum_axis()
        self._uterus_rest()
        self.shapes = {name: {} for name in ORGANS}
        for pose in ("rest", "strain", "squeeze"):
            self._pose(pose)
        self._soft()

    # ------------------------------------------------------------------ bones
    def _bones(self):
        a = self.a
        al = math.radians(a["sym_alpha"])
        up = np.array([-math.sin(al), -math.cos(al)])
        ant = np.array([-math.cos(al), math.sin(al)])
        ln, th = a["sym_len"], a["sym_th"]
        self.S0 = np.zeros(2)
        self.Ssup = ln * up
        self.crest = self.Ssup + th * ant
        self.sym_ant_low = th * ant
        c = 0.5 * ln * up + 0.5 * th * ant
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        x = np.sign(np.cos(t)) * np.abs(np.cos(t)) ** 0.7 * ln / 2
        y = np.sign(np.sin(t)) * np.abs(np.sin(t)) ** 0.7 * th / 2
        self.sym = c + x[:, None] * up + y[:, None] * ant
        self.sym_disc = np.array([c + 0.42 * ln * up, c - 0.42 * ln * up])
        g = math.radians(a["inlet"])
        self.P = self.Ssup + a["conj"] * np.array([math.cos(g), -math.sin(g)])
        self.S3 = a["mid_ap"] * _d(-a["mid_ang"])
        self.SCJ = a["out_ap"] * _d(-a["out_ang"])
        ch = _unit(self.S3 - self.P)
        s2 = 0.5 * (self.P + self.S3) + a["sac_depth"] * np.array([ch[1], -ch[0]])
        curve = _catmull_rom(np.array([self.P, s2, self.S3, self.SCJ]), False, 40)
        seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
        self._sac_s = np.concatenate([[0.0], np.cumsum(seg)]) / seg.sum()
        self._sac_curve = curve
        self.t_s3 = float(self._sac_s[80])
        tt = np.linspace(0, 1, 15)
        A = self.bez(tt)
        nr = self.bez_nrm(tt)
        tb = a["vert_depth"] * 0.85 * (1 - tt) + 9 * tt
        tc = a["canal"] * (1 - tt) + 1.5 * tt
        tp = 9 * (1 - tt) + 4 * tt
        back = A + (tb + tc + tp)[:, None] * nr
        self.sac_ant, self.sac_back = A, back
        self.sacrum = np.vstack([A, back[::-1]])
        m = tt <= 0.86
        inner = A[m] + tb[m, None] * nr[m]
        outer = A[m] + (tb[m] + tc[m])[:, None] * nr[m]
        self.sac_canal = np.vstack([inner, outer[::-1]])
        self.sac_lines = []
        for tl in (0.21, 0.4, 0.58, 0.76):
            p, n = self.bez(np.array([tl]))[0], self.bez_nrm(np.array([tl]))[0]
            tang = np.array([-n[1], n[0]])
            dep = a["vert_depth"] * 0.85 * (1 - tl) + 9 * tl
            q = [p + 0.8 * n - 0.7 * tang, p + (dep - 1.5) * n - 0.7 * tang,
                 p + (dep - 1.5) * n + 0.7 * tang, p + 0.8 * n + 0.7 * tang]
            self.sac_lines.append(np.array(q))
        # coccyx: four shrinking segments turning anteriorly
        ang = _ang(self.bez_tan(np.array([1.0]))[0]) + a["cocc_angle"]
        lens = a["cocc_len"] * np.array([0.32, 0.27, 0.23, 0.18])
        wid = [12.0, 10.0, 8.0, 6.0]
        p = self.SCJ + 4.5 * self.bez_nrm(np.array([1.0]))[0] + 1.2 * _d(ang)
        self.coccyx, self.cocc_axis = [], []
        for i in range(4):
            dd = _d(ang)
            self.coccyx.append(_ellipse(p + dd * lens[i] / 2, lens[i] / 2 - 0.7, wid[i] / 2,
                                        ang, 16))
            self.cocc_axis.append(p + dd * lens[i] / 2)
            if i == 3:
                self.last_joint = p.copy()
            p = p + dd * lens[i]
            ang += 9.0
        self.tip = p
        self.cocc_dir = _d(ang - 18)

    def bez(self, t):
        """Anterior sacral surface from the promontory (t=0) to the sacrococcygeal
        joint (t=1), arc-length parametrised."""
        t = np.asarray(t, float)
        c = self._sac_curve
        return np.stack([np.interp(t, self._sac_s, c[:, 0]), np.interp(t, self._sac_s, c[:, 1])],
                        -1)

    def bez_tan(self, t):
        t = np.asarray(t, float)
        d = self.bez(np.clip(t + 0.02, 0, 1)) - self.bez(np.clip(t - 0.02, 0, 1))
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def bez_nrm(self, t):
        tg = self.bez_tan(t)
        return np.stack([tg[:, 1], -tg[:, 0]], 1)  # posterior normal

    def _spine(self):
        a = self.a
        up_ang = _ang(-self.bez_tan(np.array([0.0]))[0])
        e_ang = up_ang + 90.0
        depth, hgt, dh = a["vert_depth"], a["vert_height"], a["disc_height"]
        corner = self.P.copy()
        self.vert, self.discs, self.spinous = [], [], []
        post = [self.P + depth * _d(e_ang)]
        tips = []
        for i in range(6):
            lord = a["lordosis"][i]
            e_new = e_ang + lord
            upn = _d(e_new - 90)
            b0 = corner + dh * (1.25 if i == 0 else 1.0) * _d(e_ang - 90 + 0.5 * lord)
            b1 = b0 + depth * _d(e_new)
            cp = corner + depth * _d(e_ang)
            self.discs.append(_rounded_quad([corner, cp, b1, b0], 2.5))
            h = hgt * (0.97 + 0.015 * i)
            t0, t1 = b0 + h * upn, b1 + h * upn
            self.vert.append(_rounded_quad([b0, b1, t1, t0], 2.5))
            post += [b1, t1]
            base = 0.5 * (b1 + t1) + a["canal"] * _d(e_new)
            tip = base + a["spinous"] * _d(e_new + 14)
            tips.append(tip)
            self.spinous.append(_outline(np.array([
                base - 0.42 * h * upn - 2 * _d(e_new), base + 0.42 * h * upn - 2 * _d(e_new),
                tip + 4.5 * upn, tip + 1.5 * _d(e_new), tip - 4.5 * upn]), 4))
            corner, e_ang = t0, e_new
        self.spine_post = np.array(post)
        self.spine_tips = np.array(tips)
        self.spine_e = _d(e_ang)
        self.spine_ant = np.array([self.P] + [v[0] for v in self.vert])
        # lumbar canal: strip behind the vertebral bodies down into the sacral canal
        post_arr = np.array(post)
        tg = np.gradient(post_arr, axis=0)
        tg /= np.linalg.norm(tg, axis=1, keepdims=True)
        nr = np.stack([-tg[:, 1], tg[:, 0]], 1)
        nr *= np.sign(nr[:, :1] + 1e-9)  # posterior
        self.canal = np.vstack([post_arr, (post_arr + a["canal"] * nr)[::-1]])
        self.canal_axis = post_arr + 0.5 * a["canal"] * nr

    # ------------------------------------------------------------------ body wall
    def wall_u(self, v):
        """Inner surface (u) of the anterior abdominal wall at height v (above the crest)."""
        a = self.a
        h = np.maximum(self.crest[1] - np.asarray(v, float), 0.0)
        bump = np.clip(h / 140.0, 0, 1) ** 1.3
        return self.crest[0] + 3.0 - math.tan(math.radians(a["wall_lean"])) * h \
            - 0.35 * a["belly"] * bump

    def _body(self):
        a = self.a
        vs = self.crest[1] - np.array([420.0, 320, 240, 170, 115, 70, 35, 8])
        h = self.crest[1] - vs
        bump = np.clip(h / 140.0, 0, 1) ** 1.3
        wall_in = self.wall_u(vs)
        wall_out = wall_in - a["rectus"]
        skin_u = wall_out - (a["fat_front"] * (1 + 0.2 * bump) + a["belly"] * bump)
        front = np.stack([skin_u, vs], 1)
        ff = a["fat_front"]
        mons = [self.crest + np.array([-a["rectus"] * 0.5 - ff - 5, 10.0]),
                self.sym_ant_low + np.array([-0.85 * ff - 9, 4.0]),
                np.array([self.I[0] - 24 - 0.15 * ff, self.I[1] - 9]),
                self.I + np.array([-12.0, -3.0])]
        bottom = [self.I, 0.5 * (self.I + self.AV) + np.array([0.0, 4.0]), self.AV,
                  self.AV + np.array([13.0, -6.0]),
                  self.tip + np.array([16 + a["fat_cleft"], 12.0])]
        back = []
        tt = np.linspace(1.0, 0.0, 6)
        sb = self.sac_back[np.linspace(len(self.sac_back) - 1, 0, 6).astype(int)]
        nr = self.bez_nrm(tt)
        for i in range(6):
            back.append(sb[i] + (3 + 0.3 * a["back_muscle"] + a["fat_back"] * (0.6 + 0.08 * i))
                        * nr[i])
        for tip in self.spine_tips:
            back.append(tip + (a["back_muscle"] + 3 + a["fat_back"]) * self.spine_e * 1.0)
        last = back[-1]
        back.append(last + np.array([-8.0, -150.0]))
        back.append(np.array([last[0] - 10, vs[0]]))
        self.back_muscle_line = np.array([tip + (a["back_muscle"] + 2) * self.spine_e
                                          for tip in self.spine_tips])
        ctrl = np.vstack([front, np.array(mons), np.array(bottom), np.array(back)])
        self.body = _outline(ctrl, 5)
        # rectus abdominis band from the pubic crest upwards
        vv = np.linspace(self.crest[1] - 2, vs[0], 14)
        wi = self.wall_u(vv)
        self.rectus = np.vstack([np.stack([wi, vv], 1),
                                 np.stack([wi - a["rectus"], vv], 1)[::-1]])
        self.rectus[0] = self.crest + np.array([0.0, -1.0])

    # ------------------------------------------------------------------ organs
    def _rectum_axis(self):
        r = self.a["rectum"]
        self.c_up = _d(-90.0 - r["zeta"])
        self.ARJ = self.AV + r["canal_len"] * self.c_up
        cax = np.array(self.cocc_axis)
        cdir = _unit(cax[-1] - cax[0])
        n_ant = np.array([cdir[1], -cdir[0]])
        if n_ant[0] > 0:
            n_ant = -n_ant
        self.cocc_nant = n_ant
        amp, gap = r["amp"], r["gap"]
        t2 = 0.95
        self.R2 = self.bez([t2])[0] - (gap + 0.9 * amp + 2.0) * self.bez_nrm([t2])[0]
        ts = 0.55 * self.t_s3
        t3 = 0.5 * (self.t_s3 + t2)
        self.R3 = self.bez([t3])[0] - (gap + 0.85 * amp) * self.bez_nrm([t3])[0]
        self.RS = self.bez([ts])[0] - (gap + r["hrs"]) * self.bez_nrm([ts])[0]
        self.RS_dir = -self.bez_tan([ts])[0]

    def _rectum(self, pose: str, empty: bool, canal_open: bool):
        a, r = self.a, self.a["rectum"]
        st, sq = a["strain"], a["squeeze"]
        AV, ARJ, ara = self.AV, self.ARJ.copy(), r["ara"]
        amp, hc, rc = r["amp"], r["hc"], 0.0
        if pose == "strain":
            ARJ = ARJ + min(st["arj_desc"], r["canal_len"] - 14.0) * _d(st["arj_dir"])
            ara = ara + st["ara_open"]
            rc = st["rectocele"]
            amp = amp * 1.06
        elif pose == "squeeze":
            ARJ = ARJ + sq["lift"] * _d(-105.0)
            ara = ara - sq["ara_close"]
            amp = amp * 0.95
        dA = ARJ - self.ARJ
        c_up = _unit(ARJ - AV)
        R2 = self.R2 + 0.45 * dA
        r_up = _d(_ang(-c_up) - ara - 25.0)  # axis; the posterior wall makes the ARA
        r_up = _unit(r_up + 0.6 * _unit(R2 - ARJ))
        R1 = ARJ + r["l1"] * r_up
        R3 = self.R3 + 0.12 * dA
        ctrl = np.array([AV - 7 * c_up, AV, 0.5 * (AV + ARJ), ARJ, R1, R2, R3, self.RS])
        bones = [self.sacrum] + self.coccyx
        fixed = {0, 1, 7}
        ctrl = _push_out(ctrl, bones, 0.6 * amp + 3.0, fixed=fixed)
        if empty:
            amp_e = max(0.42 * amp, hc + 2.5)
        else:
            amp_e = amp
        hcc = hc + (3.0 if canal_open else 0.0)
        hw = np.array([hcc, hcc, hcc + 0.5, hcc + 1.5, 0.85 * amp_e, amp_e, 0.85 * amp_e,
                       r["hrs"]])
        hw_ant = hw * np.array([1, 1, 1, 1, 0.92, 0.95, 1, 1]) \
            + rc * np.array([0, 0, 0.25, 0.9, 0.55, 0.1, 0, 0])
        hw_post = hw * np.array([1, 1, 1, 1.1, 1.25, 1.05, 1, 1])
        outer, _, _ = _tube(ctrl, hw_post, hw_ant, caps=("flat", "flat"))
        wall = r["wall"]
        if empty:
            ch = np.array([3.0 if canal_open else 0.6, 0.8, 0.8, 0.8, 0.8])
        else:
            ch = np.maximum(hw[3:] - wall, 0.6)
            ch[0] = 3.5 if canal_open else 0.6
        ch_ant = ch + rc * np.array([0.9, 0.55, 0.1, 0, 0])
        cctrl = ctrl[3:]
        if canal_open:
            cctrl = np.vstack([ctrl[1:3], ctrl[3:]])
            ch = np.concatenate([[hcc - wall, hcc - wall], ch])
            ch_ant = np.concatenate([[hcc - wall, hcc - wall], ch_ant])
        content, _, _ = _tube(cctrl, ch, ch_ant, caps=("round" if not canal_open else "flat",
                                                        "flat"))
        anchors = np.vstack([ctrl[1:], ctrl[1:] + hw[1:, None] * 0])
        return dict(outer=_outline(outer, 3), content=_outline(content, 3)), ctrl[1:], anchors

    def _uterus_rest(self):
        """Rest apex and uterine control points, then rotate the uterus clear of the
        rectum, the sacrum and the symphysis."""
        a, vg, ut = self.a, self.a["vagina"], self.a["uterus"]
        rect, _, _ = self._rectum("rest", False, False)
        hu = vg["hw_up"] * (vg["gel_factor"] if vg["gel"] else 1.0)
        for k in range(16):  # tilt the vagina forwards until it clears the rectum
            self.A = self.I + vg["length"] * _d(vg["angle"] - 2.0 * k)
            ax = _catmull_rom(self._vagina(self.A, vg["bow"])[1:], False, 4)
            if float(_sd_poly(ax[len(ax) // 3:], rect["outer"]).min()) >= hu + 2.0:
                break
        if self.hyst:
            self.ut_ctrl = None
            return
        dv = _unit(self.A - self.I)
        npost = np.array([-dv[1], dv[0]])
        M2 = self.I + 0.7 * (self.A - self.I) + 0.7 * vg["bow"] * npost
        dA = _unit(self.A - M2)
        n_ant = np.array([dA[1], -dA[0]])
        if n_ant[0] > 0:
            n_ant = -n_ant
        hu = vg["hw_up"] * (vg["gel_factor"] if vg["gel"] else 1.0)
        self.E = self.A - (0.6 * hu + 6.0) * dA + 0.35 * hu * n_ant
        self.ang_c = _ang(dA) - ut["version"]
        if self.ang_c - ut["flexion"] < -195.0:  # fundus not below the horizontal
            self.ang_c = -195.0 + ut["flexion"]
        rect, _, _ = self._rectum("rest", False, False)
        vout, _ = self._vagina_shapes(self._vagina(self.A, vg["bow"]))
        bladder, _ = self._bladder("rest", [vout, _circle(self.E, ut["cervix_hw"] + 2.0)])
        obstacles = [self.sacrum, self.sym, self.rectus_poly()]
        rb = 10 + 48 * a["bladder"]["fill"]
        best, best_score = 0.0, -1e9
        sgn = -1.0 if ut["retroverted"] else 1.0
        steps = [sgn * 4.0 * k for k in range(28)]
        if ut["retroverted"]:  # either way, smallest change first
            steps = [0.0] + [4.0 * (k // 2 + 1) * (1 if k % 2 else -1) for k in range(30)]
        for dang in steps:
            comps = self._uterus_comps(self.ang_c + dang, ut["flexion"])
            pts = np.vstack([comps["body"], comps["cervix"]] + comps["fibroids"])
            hard = min(float(_sd_poly(pts, ob).min()) for ob in obstacles)
            # the body may indent the bladder (not cut through it) and rest on the rectum
            far = np.linalg.norm(pts - comps["ctrl"][1], axis=1) > 14.0
            blad = float(_sd_poly(pts[far], bladder).min()) + 0.28 * rb
            rect_c = float(_sd_poly(pts, rect["outer"]).min()) \
                + (1.3 if ut["retroverted"] else 0.6) * a["rectum"]["amp"]
            score = 100.0 * min(hard, 2.0) + 10.0 * min(blad, 2.0) + min(rect_c, 2.0)
            if score > best_score + 0.1:
                best, best_score = dang, score
            if hard >= 2.0 and blad >= 2.0 and rect_c >= 2.0:
                break
        self.ang_c += best
        # a bladder that the uterus would cut in two is emptier than asked
        st = a["strain"]
        dv = _unit(self.A - self.I)
        npost = np.array([-dv[1], dv[0]])
        desc = max(min(st["ut_desc"], np.linalg.norm(self.A - self.I) - 28.0), 0.0)
        shift = desc * (-dv) + 0.15 * desc * npost
        for _ in range(8):
            ok = True
            for pose, sh, rot in (("rest", None, 0.0), ("strain", shift, st["ut_rot"])):
                uc = self._uterus_comps(self.ang_c, ut["flexion"], sh, rot)
                bl, _ = self._bladder(pose, [vout, _circle(self.E, ut["cervix_hw"] + 2.0)])
                if _splits(bl, [uc["body"], uc["cervix"]] + uc["fibroids"]):
                    ok = False
                    break
            if ok:
                break
            self.fill_scale *= 0.88

    def _uterus_comps(self, ang_c, flex, shift=None, rot=0.0):
        ut = self.a["uterus"]
        lc, hc = ut["cervix_len"], ut["cervix_hw"]
        lb, hb, he = ut["body_len"], ut["body_hw"], ut["endo_hw"]
        E = self.E
        dc = _d(ang_c)
        Io = E + lc * dc
        B1 = Io + 0.3 * lb * _d(ang_c - 0.4 * flex)
        B2 = B1 + 0.38 * lb * _d(ang_c - 0.8 * flex)
        db = _d(ang_c - flex)
        F = B2 + max(0.32 * lb - 0.55 * hb, 3.0) * db
        Fe = B2 + max(0.32 * lb - 1.25 * hb, 1.0) * db
        cer_c = np.array([E - 3 * dc, E + 0.5 * lc * dc, Io])
        body_c = np.array([Io - 3 * dc, B1, B2, F])
        endo_c = np.array([E - 1 * dc, Io, B1, B2, Fe])
        ctrl = np.vstack([cer_c, body_c, endo_c])
        if shift is not None:
            ctrl = _rot(ctrl, rot, E) + shift
        cer_c, body_c, endo_c = ctrl[:3], ctrl[3:7], ctrl[7:]
        cervix, _, _ = _tube(cer_c, [0.85 * hc, hc, hc])
        body, bax, bfr = _tube(body_c, [hc + 1.0, 0.85 * hb, hb, 0.92 * hb])
        endo, _, _ = _tube(endo_c, [1.1, 1.5, he, he, 0.75 * he])
        fib, fc = [], []
        hw_ax = np.interp(bfr, [0, 0.3, 0.68, 1.0], [hc + 1, 0.85 * hb, hb, 0.92 * hb])
        tg = np.gradient(bax, axis=0)
        tg /= np.linalg.norm(tg, axis=1, keepdims=True)
        nr = np.stack([-tg[:, 1], tg[:, 0]], 1)
        for f in ut["fibroids"]:
            i = int(round(f["t"] * (len(bax) - 1)))
            c = bax[i] + f["o"] * hw_ax[i] * nr[i]
            fib.append(_circle(c, f["r"] * (0.9 if abs(f["o"]) > 0.8 else 1.0), 20))
            fc.append(c)
        return dict(cervix=_outline(cervix, 3), body=_outline(body, 3),
                    endo=_outline(endo, 3), fibroids=fib,
                    ctrl=np.vstack([E, Io, B1, B2, F] + fc))

    def _vagina(self, A, bow):
        I = self.I
        dv = _unit(A - I)
        npost = np.array([-dv[1], dv[0]])
        M1 = I + 0.35 * (A - I) + bow * npost
        M2 = I + 0.7 * (A - I) + 0.7 * bow * npost
        ctrl = np.array([I - 8 * dv, I, M1, M2, A])
        return ctrl

    def _vagina_shapes(self, ctrl):
        vg = self.a["vagina"]
        hl, hu = vg["hw_low"], vg["hw_up"]
        gf = vg["gel_factor"] if vg["gel"] else 1.0
        hw = np.array([hl, hl, 1.05 * hl, hu * (0.5 + 0.5 * gf), hu * gf])
        outer, _, _ = _tube(ctrl, hw, caps=("flat", "round"))
        if vg["gel"]:
            lw = np.maximum(hw - vg["wall"], 1.0)
        else:
            lw = np.full(5, 0.9)
        lumen, _, _ = _tube(ctrl, lw, caps=("flat", "round"))
        return _outline(outer, 3), _outline(lumen, 3)

    def _bladder(self, pose: str, obstacles):
        a, b = self.a, self.a["bladder"]
        f = b["fill"]
        ra, rb = (14 + 26 * f) * self.fill_scale, (10 + 48 * f) * self.fill_scale
        rng = np.random.default_rng(b["shape_seed"])
        phis = np.arange(16) * 22.5
        g = 1 + b["noise"] * rng.standard_normal(16)
        loc = np.stack([ra * np.cos(np.radians(phis)) * g, rb * np.sin(np.radians(phis)) * g], 1)
        low = loc[:, 1] > 0.45 * rb
        loc[low, 1] = 0.45 * rb + (loc[low, 1] - 0.45 * rb) * 0.45
        if not self.hyst and not a["uterus"]["retroverted"]:
            top = np.sin(np.radians(phis)) < -0.5
            loc[top, 1] += (1 - f) * 0.3 * rb * np.abs(np.sin(np.radians(phis[top])))
        i_neck = 5  # 112.5 deg: anterior-inferior
        loc[i_neck] = [-0.18 * ra, 0.74 * rb + 1.0]
        pts = loc.copy()  # the dome leans forwards (shear), the base stays on the floor
        pts[:, 0] += math.tan(math.radians(-b["tilt"])) * np.minimum(pts[:, 1], 0.0)
        pts = pts - pts[i_neck] + np.array(b["neck"], float)
        w = (pts[:, 1] - pts[:, 1].min()) / max(np.ptp(pts[:, 1]), 1e-6)
        if pose == "strain":
            st = a["strain"]
            disp = st["bl_desc"] * _d(st["bl_dir"])[None, :] * (0.3 + 0.7 * w[:, None])
            wb = np.exp(-(((phis - 75.0 + 180) % 360 - 180) / 38.0) ** 2)
            disp = disp + st["cystocele"] * wb[:, None] * _d(100.0)[None, :]
            pts = pts + disp
            pts[:, 0] = pts[:, 0].mean() + (pts[:, 0] - pts[:, 0].mean()) * 0.96
        elif pose == "squeeze":
            sq = a["squeeze"]
            pts = pts + sq["bl_lift"] * _d(-112.0)[None, :] * (0.4 + 0.6 * w[:, None])
        if pose != "strain":  # the bladder stays in front of the vaginal axis (extended up)
            vg = a["vagina"]
            need = vg["hw_up"] * (vg["gel_factor"] if vg["gel"] else 1.0) + 2.5
            dv = _unit(self.A - self.I)
            n_ant = np.array([dv[1], -dv[0]])
            if n_ant[0] > 0:
                n_ant = -n_ant
            dist = (pts - self.A) @ n_ant
            low = np.clip((pts[:, 1] - self.A[1]) / 12.0 + 1.0, 0.0, 1.0)  # below the apex
            short = np.maximum(need - dist, 0.0) * low
            short[i_neck] = 0.0
            pts = pts + short[:, None] * n_ant
        pts[:, 0] = np.maximum(pts[:, 0], self.front_u(pts[:, 1]) + 3.5)
        bones = [self.sym, self.rectus_poly()]
        pts = _push_out(pts, bones, 3.5, fixed=set())
        pts = _push_centre(pts, obstacles, 2.0, fixed={i_neck} if pose == "rest" else set())
        pts = _push_out(pts, [self.sym], 2.5)
        sm = 0.5 * pts + 0.25 * (np.roll(pts, 1, 0) + np.roll(pts, -1, 0))
        sm[i_neck] = pts[i_neck]
        sm[:, 0] = np.maximum(sm[:, 0], self.front_u(sm[:, 1]) + 3.0)
        pts = _push_out(sm, [self.sym], 2.0)
        return _outline(pts, 4), pts

    def front_u(self, v):
        """Anterior limit (u) of the pelvic cavity at height v: the back of the symphysis,
        above it the abdominal wall."""
        v = np.asarray(v, float)
        f = np.clip((v - self.Ssup[1]) / max(self.S0[1] - self.Ssup[1], 1e-6), 0, 1)
        sym = self.Ssup[0] + f * (self.S0[0] - self.Ssup[0])
        return np.where(v < self.Ssup[1], np.maximum(self.wall_u(v), sym), sym)

    def rectus_poly(self):
        vv = np.linspace(self.crest[1] - 1, self.crest[1] - 400, 12)
        wi = self.wall_u(vv)
        return np.vstack([np.stack([wi, vv], 1), np.stack([wi - 80, vv], 1)[::-1]])

    def _pose(self, pose: str):
        a = self.a
        st = a["strain"]
        # rectum
        rect, rctrl, ranch = self._rectum(pose, False, False)
        self.shapes["rectum"][pose] = dict(comps=rect, anchors=ranch)
        if pose == "rest":
            self.shapes["rectum"]["rest_empty"] = dict(
                comps=self._rectum("rest", True, False)[0], anchors=ranch)
        if pose == "strain":
            self.shapes["rectum"]["strain_open"] = dict(
                comps=self._rectum("strain", False, True)[0], anchors=ranch)
            self.shapes["rectum"]["strain_empty"] = dict(
                comps=self._rectum("strain", True, True)[0], anchors=ranch)
        # uterus + vagina
        vg = a["vagina"]
        dv = _unit(self.A - self.I)
        npost = np.array([-dv[1], dv[0]])
        bow = vg["bow"]
        shift, rot = np.zeros(2), 0.0
        if pose == "strain":
            desc = min(st["ut_desc"], np.linalg.norm(self.A - self.I) - 28.0)
            shift = max(desc, 0.0) * (-dv) + 0.15 * desc * npost
            rot = st["ut_rot"]
            bow = bow + 0.45 * st["cystocele"] - 0.5 * st["rectocele"]
        elif pose == "squeeze":
            shift = a["squeeze"]["lift"] * 0.7 * _d(-100.0)
            bow = bow * 0.8
        A = self.A + (0.9 * shift if not self.hyst else shift)
        vctrl = self._vagina(A, bow)
        comps = {}
        uanch = []
        if not self.hyst:
            uc = self._uterus_comps(self.ang_c, a["uterus"]["flexion"], shift, rot)
            comps.update(cervix=uc["cervix"], body=uc["body"], endo=uc["endo"])
            if uc["fibroids"]:
                comps["fibroids"] = uc["fibroids"]
            uanch = [uc["ctrl"]]
        # keep the vagina off the rectum (anterior push), introitus fixed
        vctrl = _push_out(vctrl, [rect["outer"]], vg["hw_up"] + 1.5, fixed={0, 1, 4})
        vouter, vlumen = self._vagina_shapes(vctrl)
        comps.update(vagina=vouter, lumen=vlumen)
        self.shapes["uterus_vagina"][pose] = dict(comps=comps,
                                                  anchors=np.vstack([vctrl[1:]] + uanch))
        # bladder last: pushed out of symphysis, abdominal wall, uterus and vagina
        obst = [vouter] + [comps[k] for k in ("cervix",) if k in comps]
        bl, bctrl = self._bladder(pose, obst)
        self.shapes["bladder"][pose] = dict(comps=dict(outer=bl), anchors=bctrl)
        if pose == "rest":
            self.rest_vctrl, self.rest_bctrl, self.rest_rctrl = vctrl, bctrl, rctrl

    # ------------------------------------------------------------------ soft tissue
    def _soft(self):
        """Unlabelled structures next to the organs (rest geometry)."""
        a = self.a
        r = a["rectum"]
        bctrl = self.rest_bctrl
        neck = bctrl[5]
        meatus = self.I + np.array([-10.0, -1.5])
        mid = 0.5 * (neck + meatus) + 3.0 * _unit(self.sym_ant_low - self.Ssup) * 0 \
            + np.array([-2.0, 0.0])
        uc = np.array([neck - 2 * _unit(meatus - neck), mid, meatus + 4 * _unit(meatus - neck)])
        self.urethra, _, _ = _tube(uc, [5.0, 5.5, 4.5])
        self.urethra_in, _, _ = _tube(uc, [2.2, 2.4, 1.8])
        rc = self.rest_rctrl  # AV, mid canal, ARJ, R1, R2, R3, RS
        c_up = _unit(rc[2] - rc[0])
        eas_c = np.array([rc[0] - 3 * c_up, rc[0] + 0.5 * (rc[2] - rc[0]), rc[2] - 6 * c_up])
        self.eas, _, _ = _tube(eas_c, [r["hc"] + 6.0, r["hc"] + 6.5, r["hc"] + 5.0])
        n_post = np.array([-c_up[1], c_up[0]])
        if n_post[0] < 0:
            n_post = -n_post
        pr = rc[2] + (r["hc"] + 6.0) * n_post + 2.0 * c_up
        self.puborectalis = _ellipse(pr, 6.5, 4.5, _ang(n_post), 16)
        tipa = self.tip + 3.0 * self.cocc_nant
        lp_c = np.array([pr, 0.5 * (pr + tipa) + 2.5 * _unit([1.0, 0.6]), tipa])
        self.levator, _, _ = _tube(lp_c, [4.0, 3.5, 3.0])
        lig_c = np.array([rc[0] + (r["hc"] + 6) * n_post, 0.5 * (rc[0] + self.tip) + [8, 6],
                          tipa])
        self.anococcygeal, _, _ = _tube(lig_c, [2.0, 2.0, 1.6])
        pb = 0.5 * (self.I + self.AV) + np.array([0.0, -11.0])
        self.perineal_body = _ellipse(pb, 0.3 * a["perineum"], 9.0, -20, 16)
        self.meatus = meatus

    # ------------------------------------------------------------------ helpers
    def organ_polys(self):
        """Every organ outline of every keyframe (for the must-fit box)."""
        out = []
        for organ in ORGANS:
            for kf in self.shapes[organ].values():
                for v in kf["comps"].values():
                    out.extend(v if isinstance(v, list) else [v])
        return out


# ----------------------------------------------------------------------------- pose, params
def _rotmat(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s], [s, c]])


def _to_img(pts, pose: dict) -> np.ndarray:
    """Anatomical mm (u, v) -> image mm (x = column, y = row)."""
    p = np.asarray(pts, float)
    return (p @ _rotmat(pose["tilt"]).T) * pose["scale"] + np.array(pose["offset"])


def _must_fit(an: _Anatomy) -> np.ndarray:
    low = np.array([an.I + [0.0, 22.0], an.AV + [0.0, 22.0], an.I + [-30.0, 18.0]])
    pts = [an.sym, an.sacrum, an.P[None], low] + an.coccyx
    pts += an.organ_polys()
    return np.vstack(pts)


def _choose_pose(an: _Anatomy, a: dict, fov, rng) -> dict:
    pts = _must_fit(an)
    scale = a["scale"]
    margin = 8.0
    for _ in range(20):
        q = (pts @ _rotmat(a["tilt"]).T) * scale
        lo, hi = q.min(0), q.max(0)
        room = np.array([fov[1], fov[0]]) - 2 * margin - (hi - lo)
        if np.all(room >= 0):
            break
        scale *= 0.95
    room = np.maximum(room, 0.0)
    # centre the body (at pelvic level) and the pelvis, with some random offset, keeping
    # every must-fit point inside
    R = _rotmat(a["tilt"]).T
    bv = an.body[(an.body[:, 1] > an.P[1]) & (an.body[:, 1] < an.I[1])]
    bq = (bv @ R) * scale
    pel = (np.array([an.P, an.I + [0.0, 20.0]]) @ R) * scale
    want = np.array([fov[1], fov[0]]) / 2 - np.array([0.5 * (bq[:, 0].min() + bq[:, 0].max()),
                                                     0.5 * (pel[:, 1].min() + pel[:, 1].max())])
    want += rng.uniform(-0.12, 0.12, 2) * np.array([fov[1], fov[0]])
    off = np.clip(want, margin - lo, margin - lo + room)
    return dict(tilt=float(a["tilt"]), scale=float(scale), offset=[float(off[0]), float(off[1])])


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj)
    if isinstance(obj, (np.integer, int)) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    return obj


def _params_and_anatomy(seed: int, matrix=None, n_frames=None):
    seed = int(seed)
    rng = np.random.default_rng([seed, 0x4B46])
    h, w = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sp = _u(rng, 1.1, 1.5)
    t_n = int(rng.integers(20, 41))
    dt = _u(rng, 0.5, 2.0)
    anat = _sample_anatomy(rng)
    motion = _sample_motion(rng, t_n, dt)
    imaging = _sample_imaging(rng)
    fov = (h * sp, w * sp)
    an = _Anatomy(anat)
    pose = _choose_pose(an, anat, fov, rng)
    if matrix is not None:
        mh, mw = (int(matrix), int(matrix)) if np.isscalar(matrix) else map(int, matrix)
        h, w = mh, mw
    sr, sc = fov[0] / h, fov[1] / w
    if n_frames is not None:
        t_n = int(n_frames)
    params = dict(
        generator=GENERATOR, seed=seed, matrix=[h, w], spacing_mm=[sr, sc], n_frames=t_n,
        frame_interval_s=dt, fov_mm=[fov[0], fov[1]], pose=pose,
        hysterectomy=bool(anat["hysterectomy"]), laxity=anat["laxity"],
        parous=anat["parous"], bladder_fill=anat["bladder"]["fill"],
        uterus="none" if anat["hysterectomy"] else (
            "retroverted" if anat["uterus"]["retroverted"] else "anteverted"),
        fibroids=0 if anat["hysterectomy"] else len(anat["uterus"]["fibroids"]),
        rectal_content=anat["rectum"]["content"], vaginal_gel=anat["vagina"]["gel"],
        anatomy=anat, motion=motion, imaging=imaging,
    )
    return _jsonable(params), an


def sample_params(seed: int, matrix=None, n_frames=None) -> dict:
    """The case parameters only (no pixels): cheap, JSON-able, same as ``generate``'s."""
    return _params_and_anatomy(seed, matrix, n_frames)[0]


# ----------------------------------------------------------------------------- grid
class _Grid:
    """2x oversampled grid: sample (a, b) lies at row mm (a - 0.5) * sr / 2 and column mm
    (b - 0.5) * sc / 2, so each native pixel (centre at i * sr, j * sc) is the mean of a
    2x2 block."""

    def __init__(self, h: int, w: int, sr: float, sc: float, pose: dict):
        self.h, self.w, self.sr, self.sc = h, w, sr, sc
        self.hr, self.hc = sr / 2, sc / 2
        self.shape2 = (2 * h, 2 * w)
        self.pose = pose

    def img(self, pts) -> np.ndarray:
        return _to_img(pts, self.pose)

    def idx(self, pts_img) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(pts_img, float)
        return p[..., 1] / self.hr + 0.5, p[..., 0] / self.hc + 0.5

    def mask(self, poly_anat, shape=None) -> np.ndarray:
        r, c = self.idx(self.img(poly_anat))
        m = np.zeros(self.shape2, bool)
        rr, cc = _draw_polygon(r, c, self.shape2)
        m[rr, cc] = True
        return m

    def sdf(self, polys_anat, margin=45.0) -> np.ndarray:
        """Signed distance (mm) on the 2x grid to the union of closed outlines."""
        polys = [self.img(p) for p in polys_anat]
        r = np.concatenate([self.idx(p)[0] for p in polys])
        c = np.concatenate([self.idx(p)[1] for p in polys])
        mr, mc = margin / self.hr, margin / self.hc
        r0 = int(max(math.floor(r.min() - mr), 0))
        r1 = int(min(math.ceil(r.max() + mr), self.shape2[0]))
        c0 = int(max(math.floor(c.min() - mc), 0))
        c1 = int(min(math.ceil(c.max() + mc), self.shape2[1]))
        out = np.full(self.shape2, margin, np.float32)
        if r1 - r0 < 2 or c1 - c0 < 2:
            return out
        m = np.zeros((r1 - r0, c1 - c0), bool)
        for p in polys:
            pr, pc = self.idx(p)
            rr, cc = _draw_polygon(pr - r0, pc - c0, m.shape)
            m[rr, cc] = True
        m = ndi.binary_fill_holes(m)
        hmin = min(self.hr, self.hc)
        if not m.any():
            return out
        din = ndi.distance_transform_edt(m, sampling=(self.hr, self.hc))
        dout = ndi.distance_transform_edt(~m, sampling=(self.hr, self.hc))
        sd = np.where(m, -(din - 0.5 * hmin), dout - 0.5 * hmin)
        out[r0:r1, c0:c1] = np.minimum(sd, margin)
        return out

    def mm2(self):
        """Image mm (x, y) of every 2x sample."""
        yy = (np.arange(self.shape2[0]) - 0.5) * self.hr
        xx = (np.arange(self.shape2[1]) - 0.5) * self.hc
        return np.meshgrid(xx, yy)


def _block(a: np.ndarray) -> np.ndarray:
    """Mean over 2x2 blocks (2x grid -> native)."""
    h, w = a.shape[0] // 2, a.shape[1] // 2
    return a.reshape(h, 2, w, 2).mean(axis=(1, 3))


def _smooth_noise(rng, shape, sigma) -> np.ndarray:
    n = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return (n - n.mean()) / max(float(n.std()), 1e-6)


# ----------------------------------------------------------------------------- scene
class _Scene:
    """Rest background (warped per frame), fixed bones and the organ keyframe SDFs."""

    def __init__(self, an: _Anatomy, params: dict, grid: _Grid, rng):
        self.an, self.p, self.g, self.rng = an, params, grid, rng
        self.a = params["anatomy"]
        self.body_sdf = grid.sdf([an.body], margin=400.0)
        self._organs()
        self._fixed()
        self._background()

    # ------------------------------------------------------------------ organs
    def _organs(self):
        g, an = self.g, self.an
        motion = self.p["motion"]
        kinds = {e["type"] for e in motion["events"]}
        amps = [e["amp"] for e in motion["events"]]
        need = {"rest"}
        if any(x > 0 for x in amps) or "spike" in kinds:
            need.add("strain")
        if any(x < 0 for x in amps):
            need.add("squeeze")
        self.defecation = motion["maneuver"] == "defecation"
        self.kf = {}
        self.anchor = {}
        self.box = {}
        for organ in ORGANS:
            shapes = an.shapes[organ]
            poses = [p for p in shapes if p.split("_")[0] in need]
            if organ == "rectum" and not self.defecation:
                poses = [p for p in poses if p in ("rest", "strain", "squeeze")]
            if organ == "rectum" and self.defecation:
                poses = [p for p in poses if p != "strain"]
            self.kf[organ] = {}
            allpts = []
            for pose in poses:
                comps = shapes[pose]["comps"]
                fields = {}
                for name, polys in comps.items():
                    polys = polys if isinstance(polys, list) else [polys]
                    fields[name] = g.sdf(polys)
                    allpts.extend(g.img(p) for p in polys)
                self.kf[organ][pose] = fields
                self.anchor[(organ, pose)] = g.img(shapes[pose]["anchors"])
            pts = np.vstack(allpts)
            r, c = g.idx(pts)
            mr, mc = 10.0 / g.hr, 10.0 / g.hc
            r0 = max(int(math.floor(r.min() - mr)) // 2 * 2, 0)
            c0 = max(int(math.floor(c.min() - mc)) // 2 * 2, 0)
            r1 = min(int(math.ceil(r.max() + mr)) // 2 * 2 + 2, g.shape2[0])
            c1 = min(int(math.ceil(c.max() + mc)) // 2 * 2 + 2, g.shape2[1])
            self.box[organ] = (r0, r1, c0, c1)
        # correspondence maps (rest -> key pose) on each organ box, Shepard interpolation
        self.cmap = {}
        for organ in ORGANS:
            r0, r1, c0, c1 = self.box[organ]
            yy = (np.arange(r0, r1) - 0.5) * g.hr
            xx = (np.arange(c0, c1) - 0.5) * g.hc
            X, Y = np.meshgrid(xx, yy)
            rest = self.anchor[(organ, "rest")]
            for pose in self.kf[organ]:
                if pose.startswith("rest"):
                    continue
                key = self.anchor[(organ, pose)]
                dsp = key - rest
                d2 = (X[..., None] - rest[:, 0]) ** 2 + (Y[..., None] - rest[:, 1]) ** 2
                wgt = np.exp(-d2 / (2 * 14.0 ** 2)) + 1e-12
                wgt /= wgt.sum(-1, keepdims=True)
                self.cmap[(organ, pose)] = np.stack([wgt @ dsp[:, 0], wgt @ dsp[:, 1]], 0) \
                    .astype(np.float32)
        rr = [self.box[o] for o in ORGANS]
        self.ubox = (min(b[0] for b in rr), max(b[1] for b in rr),
                     min(b[2] for b in rr), max(b[3] for b in rr))
        # per-organ anchor sets for the surroundings' displacement field
        self.rest_sdf = {o: self._union(o, self.kf[o]["rest"]) for o in ORGANS}

    @staticmethod
    def _union(organ, fields):
        if organ == "uterus_vagina":
            keys = [k for k in ("vagina", "cervix", "body", "fibroids") if k in fields]
            out = fields[keys[0]]
            for k in keys[1:]:
                out = np.minimum(out, fields[k])
            return out
        return fields["outer"]

    # ------------------------------------------------------------------ bones (fixed)
    def _fixed(self):
        g, an = self.g, self.an
        fx = np.zeros(g.shape2, np.uint8)
        bone = np.zeros(g.shape2, bool)
        for poly in [an.sym, an.sacrum] + an.coccyx + an.vert + an.spinous:
            bone |= g.mask(poly)
        canal = g.mask(an.sac_canal)
        bone &= ~canal
        bsdf = ndi.distance_transform_edt(bone, sampling=(g.hr, g.hc))
        fx[bone] = C["marrow"]
        fx[bone & (bsdf < 1.3)] = C["cortex"]
        for q in an.sac_lines:
            m = g.mask(q) & bone
            fx[m] = C["symphysis_disc"]
        # symphysis: fibrocartilaginous disc along the long axis
        d0, d1 = g.img(an.sym_disc)
        m = self._line_mask(d0, d1, 1.6) & g.mask(an.sym)
        fx[m] = C["symphysis_disc"]
        for poly in an.discs:
            m = g.mask(poly)
            dd = ndi.distance_transform_edt(m, sampling=(g.hr, g.hc))
            fx[m] = C["symphysis_disc"]
            fx[m & (dd > 3.0)] = C["disc"]
            bone |= m
        lum = g.mask(an.canal)
        csf = lum | (canal & self._sac_upper())
        fx[lum & ~bone] = C["csf"]
        fx[canal & ~csf] = C["fat"]
        fx[canal & csf] = C["csf"]
        # cauda equina: a few thin nerve roots in the thecal sac
        ax = g.img(an.canal_axis)
        for k in (-3.0, 0.0, 3.5):
            for i in range(len(ax) - 1):
                p0, p1 = ax[i], ax[i + 1]
                nvec = _unit([-(p1 - p0)[1], (p1 - p0)[0]])
                fx[self._line_mask(p0 + k * nvec, p1 + k * nvec, 0.5) & lum] = C["nerve"]
        self.fixed_mask = fx > 0
        self.fixed_cls = fx
        self.bone_dist = ndi.distance_transform_edt(~self.fixed_mask, sampling=(g.hr, g.hc)) \
            .astype(np.float32)

    def _sac_upper(self):
        an = self.an
        t = np.linspace(0, 0.4, 8)
        A = an.bez(t)
        nr = an.bez_nrm(t)
        poly = np.vstack([A - 5 * nr, (A + 90 * nr)[::-1]])
        return self.g.mask(poly)

    def _line_mask(self, p0, p1, half_width) -> np.ndarray:
        """Thin band between two image-mm points."""
        g = self.g
        d = _unit(np.asarray(p1) - p0)
        n = np.array([-d[1], d[0]])
        q = np.array([p0 + half_width * n, p1 + half_width * n, p1 - half_width * n,
                      p0 - half_width * n])
        r, c = g.idx(q)
        m = np.zeros(g.shape2, bool)
        rr, cc = _draw_polygon(r, c, g.shape2)
        m[rr, cc] = True
        return m

    # ------------------------------------------------------------------ background
    def _background(self):
        g, an, a, rng = self.g, self.an, self.a, self.rng
        bg = np.zeros(g.shape2, np.uint8)
        body = self.body_sdf < 0
        bg[body] = C["fat"]
        skin = body & (self.body_sdf > -_u(rng, 1.5, 2.6))
        inner = body & ~skin
        bg[inner & g.mask(an.rectus)] = C["muscle"]
        back = np.vstack([an.back_muscle_line,
                          an.sac_back[:6] + (3 + 0.3 * a["back_muscle"]) * an.bez_nrm(
                              np.linspace(0, 1, 15))[:6],
                          an.sac_back[:6][::-1], an.spine_post[::-1]])
        bg[inner & g.mask(back)] = C["muscle"]
        # vessels: aortic end / iliac vein in front of L4-L5, presacral and pelvic veins
        if rng.random() < 0.6:
            v = np.array(an.spine_ant[1:])
            e = np.array([an.spine_e[0], an.spine_e[1]])
            axis = v - (7.0 + _u(rng, 0, 4)) * e
            if len(axis) >= 2:
                tube, _, _ = _tube(axis[::-1][: max(2, len(axis) - 1)], [8.0] * max(
                    2, len(axis) - 1))
                bg[g.mask(tube)] = C["vessel"]
        if rng.random() < 0.6:
            cpos = an.P + np.array([-9.0, -14.0])
            bg[g.mask(_ellipse(cpos, 7.0, 5.0, _u(rng, -30, 30)))] = C["vessel"]
        for t in np.sort(rng.uniform(0.1, 0.9, int(rng.integers(2, 6)))):
            p = an.bez([t])[0] - _u(rng, 2.5, 6) * an.bez_nrm([t])[0]
            bg[g.mask(_circle(p, _u(rng, 1.0, 2.2), 10))] = C["vessel"]
        # pelvic floor: levator plate, puborectalis, sphincters, perineal body, urethra
        for poly, cls in ((an.perineal_body, "perineal_body"), (an.levator, "muscle"),
                          (an.anococcygeal, "ligament"), (an.eas, "sphincter"),
                          (an.puborectalis, "muscle"), (an.urethra, "sphincter"),
                          (an.urethra_in, "mucosa")):
            bg[inner & g.mask(poly)] = C[cls]
        # venous plexuses (bright on T2) beside the urethra and the vagina, Retzius space
        vctrl = an.rest_vctrl
        for _ in range(int(rng.integers(3, 9))):
            t = _u(rng, 0.15, 0.9)
            i = min(int(t * (len(vctrl) - 1)), len(vctrl) - 2)
            p = vctrl[i] + (t * (len(vctrl) - 1) - i) * (vctrl[i + 1] - vctrl[i])
            side = _unit([-(vctrl[i + 1] - vctrl[i])[1], (vctrl[i + 1] - vctrl[i])[0]])
            p = p + rng.choice([-1, 1]) * _u(rng, 9, 14) * side
            bg[inner & g.mask(_ellipse(p, _u(rng, 1.5, 3.5), _u(rng, 1.2, 2.5),
                                       _u(rng, 0, 180), 10))] = C["plexus"]
        for _ in range(int(rng.integers(1, 5))):
            p = an.Ssup + np.array([_u(rng, 6, 16), _u(rng, 2, 30)])
            bg[inner & g.mask(_circle(p, _u(rng, 1.0, 2.5), 10))] = C["plexus"]
        self._bowel(bg, inner)
        # the organs' rest places are connective tissue / fat; bones are drawn on top
        for organ in ORGANS:
            bg[(self.rest_sdf[organ] < 0.6) & body] = C["fat"]
        self.bg_cls = bg

    def _crop(self, poly_img, pad=2):
        """Local rasterisation of an image-mm polygon: (slices, mask) or None."""
        g = self.g
        r, c = g.idx(poly_img)
        r0, c0 = max(int(np.floor(r.min())) - pad, 0), max(int(np.floor(c.min())) - pad, 0)
        r1 = min(int(np.ceil(r.max())) + pad + 1, g.shape2[0])
        c1 = min(int(np.ceil(c.max())) + pad + 1, g.shape2[1])
        if r1 - r0 < 2 or c1 - c0 < 2:
            return None
        m = np.zeros((r1 - r0, c1 - c0), bool)
        rr, cc = _draw_polygon(r - r0, c - c0, m.shape)
        m[rr, cc] = True
        return (slice(r0, r1), slice(c0, c1)), m

    def _bowel(self, bg, inner):
        """Sigmoid from the rectosigmoid junction, then small-bowel / sigmoid loops packed in
        the free peritoneal space above the pelvic floor."""
        g, an, a, rng = self.g, self.an, self.a, self.rng
        X, Y = g.mm2()
        organ_min = np.minimum.reduce([self.rest_sdf[o] for o in ORGANS])
        for pose in ("squeeze", "strain"):
            for o in ORGANS:
                if pose in self.kf[o]:
                    organ_min = np.minimum(organ_min, self._union(o, self.kf[o][pose]))
        occupied = np.zeros(g.shape2, bool)
        # sigmoid: continues the rectum at the cut
        r = a["rectum"]
        scont = r["content"] if rng.random() < 0.5 else str(rng.choice(["stool", "gas"]))
        d_up = an.RS_dir
        ant = np.array([-1.0, 0.0])
        L1, L2 = _u(rng, 15, 30), _u(rng, 25, 55)
        ctrl = np.array([an.RS - 3 * d_up, an.RS + L1 * d_up,
                         an.RS + (L1 + 12) * d_up + 0.4 * L2 * ant,
                         an.RS + (L1 + 10) * d_up + L2 * ant + _u(rng, -10, 10) * d_up])
        hw = r["hrs"] * _u(rng, 0.9, 1.15)
        dense = _catmull_rom(ctrl, False, 10)
        ri, ci = g.idx(g.img(dense))
        ri = np.clip(np.round(ri).astype(int), 0, g.shape2[0] - 1)
        ci = np.clip(np.round(ci).astype(int), 0, g.shape2[1] - 1)
        other = np.minimum(self.rest_sdf["bladder"], self.rest_sdf["uterus_vagina"])
        bad = (other[ri, ci] < hw * g.pose["scale"] + 3) | (self.bone_dist[ri, ci] < hw + 2)
        bad[:12] = False
        n_ok = int(np.argmax(bad)) if bad.any() else len(bad)
        if n_ok >= 14:
            ax = dense[:n_ok:3]
            tube, _, _ = _tube(ax, [hw] * len(ax), caps=("flat", "round"))
            cr = self._crop(g.img(_outline(tube, 3)))
            if cr is not None:
                self._loop(bg, cr, r["wall"], scont, inner, occupied, 2)
        # free space for loops: above the pelvic floor, off organs, bones and the wall
        floor_p0 = g.img(an.rest_bctrl[5][None])[0]
        floor_p1 = g.img(an.tip[None])[0]
        fd = _unit(floor_p1 - floor_p0)
        fn = np.array([-fd[1], fd[0]])
        if fn[1] > 0:
            fn = -fn  # pointing cranially
        above = (X - floor_p0[0]) * fn[0] + (Y - floor_p0[1]) * fn[1] > 4.0
        wall = g.mask(an.rectus_poly())
        wall_d = ndi.distance_transform_edt(~wall, sampling=(g.hr, g.hc))
        free = inner & above & (organ_min > 2.5) & (self.bone_dist > 6.0) & (wall_d > 2.5)
        free &= (bg == C["fat"]) & ~occupied
        spine_band = g.mask(np.vstack([an.spine_ant, an.spine_ant[::-1] + [[-14.0, 0.0]]]))
        free &= ~spine_band
        fd2 = ndi.distance_transform_edt(free, sampling=(g.hr, g.hc))
        cand = np.flatnonzero(fd2 > 4.0)
        self.loops = []
        if cand.size == 0:
            return
        picks = rng.choice(cand, size=min(1500, cand.size), replace=False)
        n_sig = int(rng.integers(0, 3))
        gap = max(int(round(_u(rng, 0.6, 2.0) / g.hr)), 1)
        for idx in picks:
            yy, xx = np.unravel_index(idx, g.shape2)
            if occupied[yy, xx]:
                continue
            cx, cy = X[yy, xx], Y[yy, xx]
            if fd2[yy, xx] < 4.5:
                continue
            sig = n_sig > 0 and fd2[yy, xx] > 11
            if rng.random() < 0.6:  # a short curved segment of bowel
                hw = _u(rng, 9, 15) if sig else _u(rng, 4.5, 11)
                ln = _u(rng, 1.5, 4.5) * hw
                dd = _d(_u(rng, 0, 360))
                nn = np.array([-dd[1], dd[0]])
                ax = np.array([[cx, cy] - 0.5 * ln * dd, [cx, cy] + _u(rng, -0.4, 0.4) * ln * nn,
                               [cx, cy] + 0.5 * ln * dd])
                poly = _outline(_tube(ax, [hw * _u(rng, 0.8, 1.1), hw, hw * _u(rng, 0.8, 1.1)],
                                      step=3.0)[0], 2)
                rad = 0.5 * ln + hw
            else:
                rad = _u(rng, 9, 17) if sig else _u(rng, 5, 13)
                poly = _ellipse([cx, cy], rad, rad * _u(rng, 0.55, 1.0), _u(rng, 0, 180), 24)
            if rad > fd2[yy, xx] + 6.0:
                continue
            cr = self._crop(poly)
            if cr is None:
                continue
            sl, m = cr
            if not np.all(free[sl][m]) or occupied[sl][m].any():
                continue
            if sig:
                n_sig -= 1
                kind = str(rng.choice(["stool", "gas", "stool"]))
            else:
                kind = str(rng.choice(["fluid", "chyme", "mixed", "gas", "collapsed"],
                                      p=[0.32, 0.33, 0.12, 0.05, 0.18]))
            wall = _u(rng, 2.5, 4.0) if sig else _u(rng, 1.0, 2.2)
            self._loop(bg, cr, wall, kind, inner, occupied, gap, centre=(cx, cy), rad=rad)
            self.loops.append((cx, cy, min(rad, 15.0)))
        # mesenteric vessels and a little free fluid between the loops
        gaps = np.flatnonzero(free & (bg == C["fat"]))
        if gaps.size:
            for idx in rng.choice(gaps, size=min(int(rng.integers(6, 24)), gaps.size),
                                  replace=False):
                yy, xx = np.unravel_index(idx, g.shape2)
                cr = self._crop(_circle([X[yy, xx], Y[yy, xx]], _u(rng, 0.8, 2.0), 10))
                if cr is not None:
                    sl, m = cr
                    view = bg[sl]
                    view[m & (view == C["fat"])] = C["vessel"]
        if rng.random() < 0.3:  # fluid in the pouch of Douglas
            p = an.A + np.array([_u(rng, 8, 16), _u(rng, -18, -6)])
            bg[inner & g.mask(_ellipse(p, _u(rng, 4, 9), _u(rng, 2, 5), _u(rng, -60, 0)))] \
                = C["free_fluid"]

    def _loop(self, bg, crop, wall, kind, inner, occupied, gap, centre=None, rad=None):
        g, rng = self.g, self.rng
        sl, m = crop
        view = bg[sl]
        m = m & inner[sl] & (view == C["fat"])
        if not m.any():
            return
        occupied[sl] |= ndi.binary_dilation(m, iterations=gap)
        d = ndi.distance_transform_edt(np.pad(m, 1), sampling=(g.hr, g.hc))[1:-1, 1:-1]
        lum = m & (d > wall)
        view[m] = C["bowel_wall"]
        cls = {"fluid": "bowel_fluid", "chyme": "chyme", "gas": "gas", "mixed": "bowel_fluid",
               "stool": "stool", "gel": "gel", "collapsed": "bowel_wall"}[kind]
        view[lum] = C[cls]
        if kind == "collapsed":
            view[m & (d > wall + 1.2) & (d < wall + 2.2)] = C["mucosa"]
        yy = (np.arange(sl[0].start, sl[0].stop) - 0.5) * g.hr
        xx = (np.arange(sl[1].start, sl[1].stop) - 0.5) * g.hc
        X, Y = np.meshgrid(xx, yy)
        if kind == "mixed" and centre is not None:
            view[lum & (X < centre[0] - _u(rng, -0.2, 0.5) * rad)] = C["gas"]
        if kind == "stool" and lum.any():
            pts = np.flatnonzero(lum)
            for idx in rng.choice(pts, size=min(int(rng.integers(3, 10)), pts.size),
                                  replace=False):
                y0, x0 = np.unravel_index(idx, lum.shape)
                bub = (X - X[y0, x0]) ** 2 + (Y - Y[y0, x0]) ** 2 < _u(rng, 0.8, 2.5) ** 2
                view[bub & lum] = C["gas"]
        if kind in ("fluid", "chyme") and centre is not None and rng.random() < 0.55:
            for _ in range(int(rng.integers(3, 8))):
                ang = _u(rng, 0, 360)
                p0 = np.array(centre) + 1.5 * rad * _d(ang)
                p1 = np.array(centre) + rad * _u(rng, 0.0, 0.5) * _d(ang)
                dv = _unit(p1 - p0)
                nv = np.array([-dv[1], dv[0]]) * 0.45
                cr = self._crop(np.array([p0 + nv, p1 + nv, p1 - nv, p0 - nv]))
                if cr is None:
                    continue
                s2, m2 = cr
                big = np.zeros(g.shape2, bool)
                big[s2] = m2
                fold = big[sl] & lum
                view[fold] = C["bowel_wall"]


# ----------------------------------------------------------------------------- motion
class _Animator:
    """Per-frame organ SDFs (keyframe blend), exclusivity, connectivity and the
    surroundings' displacement field."""

    def __init__(self, scene: _Scene, params: dict, times: np.ndarray, rng):
        self.s, self.p, self.g = scene, params, scene.g
        self.times = times
        motion = params["motion"]
        t_n = len(times)
        self.curves = {}
        for k, organ in enumerate(ORGANS):
            sk, ek = _maneuver_curve(motion, times, k)
            jit = ndi.gaussian_filter1d(rng.standard_normal((t_n, 2)), 1.0, axis=0)
            jit *= motion["jitter_mm"] / max(float(jit.std()), 1e-6)
            self.curves[organ] = (sk, ek, jit)
        self.s_global = _maneuver_curve(motion, times)[0]
        R0, R1, C0, C1 = scene.ubox
        self.bone_nat = _block(scene.fixed_mask[R0:R1, C0:C1].astype(np.float32)) >= 0.5
        self._field_setup(rng)

    # ------------------------------------------------------------------ organ SDFs
    def _sample(self, arr, yy, xx, box=None):
        g = self.g
        if box is None:
            r = yy / g.hr + 0.5
            c = xx / g.hc + 0.5
        else:
            r = yy / g.hr + 0.5 - box[0]
            c = xx / g.hc + 0.5 - box[2]
        return ndi.map_coordinates(arr, [r, c], order=1, mode="nearest", prefilter=False)

    def organ_fields(self, organ: str, t: int) -> tuple[dict, np.ndarray, np.ndarray]:
        """Blended component SDFs of one organ in its box, and the rest-frame coordinates."""
        s, g = self.s, self.g
        sk, ek, jit = self.curves[organ]
        a = float(sk[t])
        e = float(ek[t])
        box = s.box[organ]
        r0, r1, c0, c1 = box
        yy, xx = np.meshgrid((np.arange(r0, r1) - 0.5) * g.hr, (np.arange(c0, c1) - 0.5) * g.hc,
                             indexing="ij")
        zy, zx = yy - jit[t, 1], xx - jit[t, 0]
        kf = s.kf[organ]
        if organ == "rectum" and s.defecation:
            key = "strain_open" if a >= 0 else "squeeze"
        else:
            key = "strain" if a >= 0 else "squeeze"
        mag = abs(a)
        if key not in kf or mag < 1e-4:
            fy, fx = zy, zx
            wy, wx = zy, zx
            mag = 0.0
        else:
            cm = s.cmap[(organ, key)]
            fy, fx = zy, zx
            for _ in range(3):
                dx = self._sample(cm[0], fy, fx, box)
                dy = self._sample(cm[1], fy, fx, box)
                fy, fx = zy - mag * dy, zx - mag * dx
            wx = fx + self._sample(cm[0], fy, fx, box)
            wy = fy + self._sample(cm[1], fy, fx, box)
        out = {}
        for name in kf["rest"]:
            v = self._sample(kf["rest"][name], fy, fx)
            if organ == "rectum" and s.defecation and e > 0:
                v = (1 - e) * v + e * self._sample(kf["rest_empty"][name], fy, fx)
            if mag > 0:
                w = self._sample(kf[key][name], wy, wx)
                if organ == "rectum" and s.defecation and e > 0 and key == "strain_open":
                    w = (1 - e) * w + e * self._sample(kf["strain_empty"][name], wy, wx)
                v = (1 - mag) * v + mag * w
            out[name] = v
        return out, fy, fx

    def frame(self, t: int):
        """Labels at native resolution, 2x labels and component fields in the union box."""
        s = self.s
        R0, R1, C0, C1 = s.ubox
        shp = (R1 - R0, C1 - C0)
        big = np.float32(1e3)
        sdf = np.full((len(ORGANS),) + shp, big, np.float32)
        comps, rest_xy = {}, {}
        fixed = s.bone_dist[R0:R1, C0:C1]
        bodys = s.body_sdf[R0:R1, C0:C1]
        for k, organ in enumerate(ORGANS):
            fields, fy, fx = self.organ_fields(organ, t)
            r0, r1, c0, c1 = s.box[organ]
            sl = (slice(r0 - R0, r1 - R0), slice(c0 - C0, c1 - C0))
            u = _Scene._union(organ, fields)
            u = np.maximum(u, 1.0 - fixed[sl])
            u = np.maximum(u, bodys[sl] + 0.3)
            sdf[k][sl] = u
            comps[organ] = (fields, sl)
            rest_xy[organ] = (fy, fx)
        # soft hollow organs give way to the uterus / vagina (indented, not cut through)
        sdf[0] = np.maximum(sdf[0], 0.8 - sdf[1])
        sdf[2] = np.maximum(sdf[2], 0.8 - sdf[1])
        lab, lab2 = self._labels(sdf)
        for _ in range(3):
            bad = [k for k in range(len(ORGANS)) if not self._connected(lab == k + 1)]
            if not bad:
                break
            for k in bad:
                sdf[k] = ndi.gaussian_filter(sdf[k], 1.2)
            lab, lab2 = self._labels(sdf)
        for k in range(len(ORGANS)):
            m = lab == k + 1
            if m.any() and not self._connected(m):
                cc, n = ndi.label(m, np.ones((3, 3), bool))
                keep = np.argmax(np.bincount(cc.ravel())[1:]) + 1
                drop = m & (cc != keep)
                lab[drop] = 0
                lab2[np.repeat(np.repeat(drop, 2, 0), 2, 1) & (lab2 == k + 1)] = 0
        return lab, lab2, sdf, comps, rest_xy

    def _labels(self, sdf):
        mn = sdf.min(0)
        lab2 = np.where(mn < 0, sdf.argmin(0) + 1, 0).astype(np.uint8)
        k, h, w = sdf.shape
        nat = sdf.reshape(k, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
        mnn = nat.min(0)
        lab = np.where(mnn < 0, nat.argmin(0) + 1, 0).astype(np.uint8)
        lab[self.bone_nat] = 0  # a pixel that is mostly bone never carries an organ label
        return lab, lab2

    @staticmethod
    def _connected(m) -> bool:
        if not m.any():
            return True
        _, n = ndi.label(m, np.ones((3, 3), bool))
        return n <= 1

    # ------------------------------------------------------------------ surroundings
    def _field_setup(self, rng):
        """Gaussian RBF weights: organ anchors carry their keyframe motion, bones, skin,
        introitus and anus are anchored at zero."""
        s, g, an = self.s, self.g, self.s.an
        step = 4
        ys = np.arange(0, g.h, step) * g.sr
        xs = np.arange(0, g.w, step) * g.sc
        X, Y = np.meshgrid(xs, ys)
        self.coarse_shape = X.shape
        pts = np.stack([X.ravel(), Y.ravel()], 1)
        org = []
        self.org_slices = {}
        for organ in ORGANS:
            rest = s.anchor[(organ, "rest")]
            self.org_slices[organ] = (len(org), len(org) + len(rest))
            org.extend(rest)
        org = np.array(org)
        zero = [an.sym, an.sacrum] + an.coccyx + an.vert + [an.body[::6]]
        zero = np.vstack([g.img(z) for z in zero] + [g.img(np.array([an.I, an.AV, an.meatus]))])
        d2o = ((pts[:, None, :] - org[None]) ** 2).sum(-1)
        d2z = ((pts[:, None, :] - zero[None]) ** 2).sum(-1)
        wo = np.exp(-d2o / (2 * 17.0 ** 2))
        wz = np.exp(-d2z / (2 * 9.0 ** 2)).sum(1)
        self.w_org = (wo / (wo.sum(1) + wz + 0.04)[:, None]).astype(np.float32)
        self.org_rest = org
        # breathing: upper abdomen and anterior wall, fading into the pelvis
        motion = self.p["motion"]
        top = g.img(an.P[None])[0][1]
        ramp = np.clip((top - Y) / 90.0, 0, 1)
        self.breath = np.stack([-0.35 * ramp, -1.0 * ramp], 0) * motion["breath_mm"]
        self.breath_ph = 2 * np.pi * self.times / motion["breath_period_s"] + motion[
            "breath_phase"]
        # peristalsis: a few loops wobbling
        loops = getattr(s, "loops", [])
        self.peri = []
        for i in rng.permutation(len(loops))[:6]:
            cx, cy, rad = loops[i]
            w = np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * (rad * 1.2) ** 2))
            self.peri.append((w, rng.uniform(-1, 1, 2), _u(rng, 0.1, 0.4), _u(rng, 0, 6.28)))

    def displacement(self, t: int) -> np.ndarray:
        """Displacement (2, H, W) in mm (x, y) of the surroundings at frame t."""
        s, g = self.s, self.g
        disp = np.zeros_like(self.org_rest)
        for organ in ORGANS:
            sk, ek, jit = self.curves[organ]
            a = float(sk[t])
            key = "strain" if a >= 0 else "squeeze"
            if organ == "rectum" and s.defecation and a >= 0:
                key = "strain_open"
            i0, i1 = self.org_slices[organ]
            if (organ, key) in s.anchor:
                disp[i0:i1] = abs(a) * (s.anchor[(organ, key)] - s.anchor[(organ, "rest")])
            disp[i0:i1] += jit[t]
        d = (self.w_org @ disp).T.reshape((2,) + self.coarse_shape)
        d = d + self.breath * math.sin(self.breath_ph[t])
        amp = self.p["motion"]["peristalsis_mm"]
        for w, vec, f, ph in self.peri:
            k = amp * math.sin(2 * np.pi * f * self.times[t] + ph)
            d[0] += w * vec[0] * k
            d[1] += w * vec[1] * k
        # coarse -> native
        yy = np.arange(g.h) / 4.0
        xx = np.arange(g.w) / 4.0
        Yi, Xi = np.meshgrid(yy, xx, indexing="ij")
        return np.stack([ndi.map_coordinates(d[i], [Yi, Xi], order=1, mode="nearest")
                         for i in range(2)], 0)


# ----------------------------------------------------------------------------- imaging
class _Imager:
    """Tissue signal (2x -> native partial volume), then the acquisition: chemical shift,
    fat-water phase, banding, PSF, bias, ghosts, spikes, noise, and scanner storage."""

    def __init__(self, scene: _Scene, params: dict, rng):
        self.s, self.g, self.p = scene, scene.g, params
        im = params["imaging"]
        self.im = im
        self.mean = np.array([im["means"][n] for n in CLASSES], np.float32)
        self.std = np.array([im["stds"][n] for n in CLASSES], np.float32)
        self.synth = im["sequence"] == "synth"
        self.ff = np.zeros_like(FAT_FRACTION) if self.synth else FAT_FRACTION
        g = self.g
        if self.synth:
            bl = im["synth_blur"]
            self.tex_bg = _smooth_noise(rng, g.shape2, bl)
            self.tex_org = _smooth_noise(rng, g.shape2, bl)
        else:
            self.tex_bg = 0.6 * _smooth_noise(rng, g.shape2, 0.8) + 0.5 * _smooth_noise(
                rng, g.shape2, 4.0)
            self.tex_org = 0.6 * _smooth_noise(rng, g.shape2, 0.8) + 0.5 * _smooth_noise(
                rng, g.shape2, 4.0)
        bub = np.zeros(g.shape2, np.float32)
        n = int(g.shape2[0] * g.shape2[1] / 900)
        bub[rng.integers(0, g.shape2[0], n), rng.integers(0, g.shape2[1], n)] = 1.0
        self.bubble = ndi.gaussian_filter(bub, 1.5 / g.hr) * (2 * np.pi * (1.5 / g.hr) ** 2)
        cls = scene.bg_cls
        val = np.maximum(self.mean[cls] + self.std[cls] * self.tex_bg, 0)
        ffc = self.ff[cls]
        self.bgW = _block(val * (1 - ffc)).astype(np.float32)
        self.bgF = _block(val * ffc).astype(np.float32)
        fc = scene.fixed_cls
        m = scene.fixed_mask
        valf = np.where(m, np.maximum(self.mean[fc] + self.std[fc] * self.tex_bg, 0), 0)
        self.fxW = _block(valf * (1 - self.ff[fc])).astype(np.float32)
        self.fxF = _block(valf * self.ff[fc]).astype(np.float32)
        self.fxA = _block(m.astype(np.float32))
        self.body = _block((scene.body_sdf < 0).astype(np.float32)) > 0.5
        self._acq_setup(rng)

    # ------------------------------------------------------------------ organ signal
    def _organ_classes(self, organ: str, f: dict) -> np.ndarray:
        a = self.p["anatomy"]
        if organ == "bladder":
            wall = a["bladder"]["wall"] + 2.0 * (1 - a["bladder"]["fill"])
            return np.where(f["outer"] < -wall, C["urine"], C["bladder_wall"]).astype(np.uint8)
        if organ == "rectum":
            content = {"gel": "gel", "stool": "stool", "gas": "gas"}[a["rectum"]["content"]]
            cls = np.full(f["outer"].shape, C["rectal_wall"], np.uint8)
            cls[(f["content"] < 0) & (f["outer"] < -0.6)] = C[content]
            return cls
        cls = np.full(f["vagina"].shape, C["vaginal_wall"], np.uint8)
        lumen = "gel" if a["vagina"]["gel"] else "mucosa"
        cls[f["lumen"] < 0] = C[lumen]
        if "body" in f:
            cls[f["body"] < 0] = C["myometrium"]
            cls[(f["body"] < 0) & (f["endo"] < a["uterus"]["jz"])] = C["junctional_zone"]
            cls[f["cervix"] < 0] = C["cervical_stroma"]
            cls[f["endo"] < 0] = C["endometrium"]
        if "fibroids" in f:
            cls[f["fibroids"] < 0] = C["fibroid"]
        return cls

    def organ_signal(self, lab2, comps, rest_xy, anim) -> np.ndarray:
        out = np.zeros(lab2.shape, np.float32)
        for k, organ in enumerate(ORGANS):
            fields, sl = comps[organ]
            mask = lab2[sl] == k + 1
            if not mask.any():
                continue
            cls = self._organ_classes(organ, fields)
            fy, fx = rest_xy[organ]
            tex = anim._sample(self.tex_org, fy, fx)
            if organ == "rectum" and self.p["anatomy"]["rectum"]["content"] == "stool":
                bub = anim._sample(self.bubble, fy, fx) > 0.45
                cls[bub & (cls == C["stool"])] = C["gas"]
            val = np.maximum(self.mean[cls] + self.std[cls] * tex, 0)
            view = out[sl]
            view[mask] = val[mask]
        return out

    # ------------------------------------------------------------------ acquisition
    def _acq_setup(self, rng):
        g, im = self.g, self.im
        yy = np.linspace(-1, 1, g.h)[:, None]
        xx = np.linspace(-1, 1, g.w)[None, :]
        c = np.array(im["bias_poly"]) * 0.45
        px = 1 + c[0] * xx + c[1] * xx ** 2
        py = 1 + c[2] * yy + c[3] * yy ** 2
        pxy = 1 + 0.5 * c[4] * xx * yy
        bias = np.maximum(px * py * pxy, 0.05)
        # surface coils in front of the abdomen and under the back
        cols = np.arange(g.w) * g.sc
        body_cols = np.flatnonzero(self.body.any(0))
        front = cols[body_cols[0]] if body_cols.size else 0.0
        back = cols[body_cols[-1]] if body_cols.size else cols[-1]
        coil = 1 + im["coil"] * (np.exp(-np.abs(cols - front) / im["coil_len"])
                                 + np.exp(-np.abs(back - cols) / im["coil_len"]))
        lb = np.log(bias * coil[None, :])
        rngb = max(float(lb.max() - lb.min()), 1e-6)
        lb = (lb - lb.mean()) * min(1.0, math.log(im["bias_ratio"]) / rngb) \
            if rngb > math.log(im["bias_ratio"]) else lb - lb.mean()
        if rngb < math.log(im["bias_ratio"]):
            lb = lb * math.log(im["bias_ratio"]) / rngb
        self.bias = np.exp(lb).astype(np.float32)
        ang = math.radians(im["fs_angle"])
        ramp = (xx * math.cos(ang) + yy * math.sin(ang) + 1.5) / 3.0
        self.fs_field = (1 + im["fs_fail"] * np.clip(ramp, 0, 1) ** 2).astype(np.float32)
        ang = math.radians(im["banding_angle"])
        phase = 2 * np.pi * im["banding_freq"] * (xx * math.cos(ang) + yy * math.sin(ang)) \
            + 3.0 * (xx ** 2 + yy ** 2)
        wrapped = np.angle(np.exp(1j * phase))
        self.band = (1 - im["banding"] * np.exp(-(wrapped / 0.28) ** 2)).astype(np.float32)
        self.phase_axis = 1 if im["phase_dir"] == "ap" else 0
        self.read_axis = 1 - self.phase_axis
        sig = [0.0, 0.0]
        sig[self.read_axis] = im["psf"][0]
        sig[self.phase_axis] = im["psf"][1]
        self.psf = sig
        rows = np.arange(g.h)[:, None]
        cols_i = np.arange(g.w)[None, :]
        kx, ky = im["spike_k"]
        self.spike_wave = np.exp(2j * np.pi * (kx * cols_i + ky * rows)).astype(np.complex64)
        self.spike_on = rng.random(self.p["n_frames"]) < im["spike_frames"]
        anterior = np.zeros((g.h, g.w), np.float32)
        if body_cols.size:
            anterior[:, :] = np.exp(-np.maximum(cols - front, 0) / 60.0)[None, :]
        self.moving = anterior * self.body
        self.noise_rng = np.random.default_rng(rng.integers(1 << 62))
        self.sigma = None

    def acquire(self, t, lab2, comps, rest_xy, anim) -> np.ndarray:
        s, g, im = self.s, self.g, self.im
        R0, R1, C0, C1 = s.ubox
        org2 = self.organ_signal(lab2, comps, rest_xy, anim)
        orgW = np.zeros((g.h, g.w), np.float32)
        orgA = np.zeros((g.h, g.w), np.float32)
        orgW[R0 // 2:R1 // 2, C0 // 2:C1 // 2] = _block(org2)
        orgA[R0 // 2:R1 // 2, C0 // 2:C1 // 2] = _block((lab2 > 0).astype(np.float32))
        d = anim.displacement(t)
        rr, cc = np.meshgrid(np.arange(g.h, dtype=np.float32), np.arange(g.w, dtype=np.float32),
                             indexing="ij")
        coords = [rr - d[1] / g.sr, cc - d[0] / g.sc]
        bw = ndi.map_coordinates(self.bgW, coords, order=1, mode="nearest", prefilter=False)
        bf = ndi.map_coordinates(self.bgF, coords, order=1, mode="nearest", prefilter=False)
        rest = np.clip(1 - self.fxA - orgA, 0, 1)
        W = bw * rest + self.fxW + orgW
        F = bf * rest + self.fxF
        if im["fs_fail"] > 0:
            F = F * self.fs_field
        cs = im["chemical_shift_px"]
        if cs > 0:
            i0 = int(math.floor(cs))
            fr = cs - i0
            F = (1 - fr) * np.roll(F, i0, axis=self.read_axis) + fr * np.roll(
                F, i0 + 1, axis=self.read_axis)
        sig = W - F if im["opposed_phase"] else W + F
        if im["banding"] > 0:
            sig = sig * self.band
        sig = ndi.gaussian_filter(sig, self.psf)
        sig = sig * self.bias
        if self.sigma is None:
            fg = np.abs(sig[self.body])
            self.sigma = float(fg.mean() if fg.size else np.abs(sig).mean()) / im["snr"]
        z = sig.astype(np.complex64)
        if im["ghost"] > 0:
            n = sig.shape[self.phase_axis]
            mov = sig * self.moving
            for m in range(1, im["ghost_copies"] + 1):
                shift = int(round(n * m / (2 * im["ghost_copies"] + 1)))
                amp = im["ghost"] / m
                z = z + amp * np.roll(mov, shift, axis=self.phase_axis) * (1j if m % 2 else -1)
                z = z + amp * np.roll(mov, -shift, axis=self.phase_axis) * (-1j if m % 2 else 1)
        if im["spike"] > 0 and self.spike_on[t]:
            z = z + im["spike"] * self.sigma * im["snr"] * self.spike_wave
        L = im["coils"]
        rng = self.noise_rng
        sl = self.sigma / math.sqrt(L) if L > 1 else self.sigma
        acc = np.zeros(sig.shape, np.float32)
        for _ in range(L):
            nz = rng.standard_normal((2,) + sig.shape).astype(np.float32) * sl
            acc += (z.real / math.sqrt(L) + nz[0]) ** 2 + (z.imag / math.sqrt(L) + nz[1]) ** 2
        return np.sqrt(acc)

    def store(self, frames: np.ndarray) -> np.ndarray:
        im = self.im
        if im["storage"] == "int12":
            top = float(frames.max()) or 1.0
            out = np.rint(frames / top * 4095 * im["int_fraction"])
            return np.clip(out, 0, 4095).astype(np.float32)
        if im["storage"] == "int8":
            top = float(np.percentile(frames, 100 - im["clip_percent"])) or 1.0
            return np.rint(np.clip(frames / top, 0, 1) * 255).astype(np.float32)
        mean = float(frames.mean()) or 1.0
        return (frames / mean * im["scale"]).astype(np.float32)


# ----------------------------------------------------------------------------- case
def _describe(seq: str) -> str:
    tag = {"synth": "synthseg", "haste": "haste", "truefisp": "bssfp", "t1_gre": "t1",
           "t2_fs": "t2 fs"}[seq]
    return f"keyframe dynamic pelvic floor sag ({tag})"


def generate(seed: int, matrix=None, n_frames=None):
    """One case: (CineSeries, truth uint8 (T, H, W), params dict)."""
    params, an = _params_and_anatomy(seed, matrix, n_frames)
    h, w = params["matrix"]
    sr, sc = params["spacing_mm"]
    t_n = params["n_frames"]
    grid = _Grid(h, w, sr, sc, params["pose"])
    rng = np.random.default_rng([int(seed), 0x5CE7E])
    scene = _Scene(an, params, grid, rng)
    times = np.arange(t_n, dtype=np.float64) * params["frame_interval_s"]
    anim = _Animator(scene, params, times, rng)
    imager = _Imager(scene, params, rng)
    frames = np.zeros((t_n, h, w), np.float32)
    truth = np.zeros((t_n, h, w), np.uint8)
    R0, R1, C0, C1 = scene.ubox
    for t in range(t_n):
        lab, lab2, _, comps, rest_xy = anim.frame(t)
        truth[t, R0 // 2:R1 // 2, C0 // 2:C1 // 2] = lab
        frames[t] = imager.acquire(t, lab2, comps, rest_xy, anim)
    frames = imager.store(frames)
    s_curve = anim.s_global
    params["motion"]["s"] = [round(float(v), 4) for v in s_curve]
    params["max_strain_frame"] = int(np.argmax(np.abs(s_curve)))
    params["times_s"] = [round(float(v), 4) for v in times]
    meta = {"series_description": _describe(params["imaging"]["sequence"]),
            "subject_id": f"{GENERATOR}_{int(seed):03d}", "orientation": "sagittal (canonical)"}
    series = CineSeries(frames=frames, spacing_mm=(sr, sc), times_s=times, meta=meta)
    return series, truth, _jsonable(params)


def write_case(job) -> str:
    """Write one case folder (DICOM series, truth.npy, params.json); one-line summary."""
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
    return (f"{case_dir.name}: {params['n_frames']}x{h}x{w} "
            f"{params['imaging']['sequence']} {params['motion']['maneuver']} "
            f"uterus={params['uterus']} fill={params['bladder_fill']:.2f} "
            f"laxity={params['laxity']:.2f}")


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
