#!/usr/bin/env python
"""Fifth independent phantom: dynamic mid-sagittal female pelvis from implicit fields.

Written without reading the project's own phantom or the other benchmark
generators, to give an honest estimate of how the segmenter does on anatomy,
contrast and motion it was not built around.

Design
------
Anatomy (coordinates in mm, x posterior, y inferior, origin at the centre of the
pubic symphysis) is a set of approximate signed-distance fields (negative inside)
built from superellipse primitives combined with smooth min / max:

* bones: pubic symphysis; sacrum S1-S5 and coccyx Co1-3 as a kinematic chain of
  rounded segments bent by a random curvature per joint; L1-L5 bodies, discs,
  nuclei, spinal canal and spinous processes stacked above with random lordosis;
* organs (the labels): bladder (superellipse from nearly empty to full, wall and
  urine, a funnel to the neck), uterus_vagina (vagina of two segments with a
  bend, cervix and an egg-shaped body, anteverted or retroverted, ante- or
  retroflexed, zonal anatomy, optional fibroid and Nabothian cysts, optional
  vaginal gel), rectum (anal canal with its sphincters, an ampulla resting on the
  levator plate and segments found by scanning the sacral field; gas / stool /
  gel / mixed / empty content with a supine air-fluid level);
* distractors: levator plate, puborectalis, perineal body, urethra, rectus
  abdominis, sigmoid and small-bowel loops (one in the pouch of Douglas at times)
  and vessels drawn in the free space of the fields, fat, skin, medial thighs
  below the perineum (half the cases), air outside;
* placement: the vagina sits at a septum's distance in front of the rectum's
  field, the bladder neck between it and the symphysis (the rectum shrinks until
  there is room); organs are pushed up the gradient of the other fields (the
  bladder never downwards, shrinking front-to-back if it cannot fit), the uterus
  is turned about the vaginal vault; what overlap is left is split on the
  bisector of the two fields (a contact operator leaving a ~1 mm septum); bones
  and the abdominal wall carve; each organ keeps its largest connected piece.

Motion: a Valsalva / defecation-like straining cycle.  Each frame's stationary
velocity field, a sum of Gaussian radial-basis velocities (pelvic-floor descent,
anterior / middle / posterior compartment descent, rectocele bulge, abdominal
push, breathing, small random ones) damped to zero on bone, is exponentiated by
scaling and squaring; its inverse warps both the rest image (rendered at 2x)
and the organ level sets, thresholded at the pixel centres, so labels follow
the image exactly.  A small rigid jitter per frame.

Imaging: one of four contrast tables (HASTE/SSFSE, TSE, bSSFP, low-fat HASTE),
per-tissue random variation and textures; 2x supersampling then 2x2 averaging
(partial volume); optional k-space truncation (ringing) and blur; a smooth
multiplicative coil bias; optional bSSFP banding; Rician noise at SNR 5-30.
Geometry: spacing 1.1-1.5 mm (slightly anisotropic), matrix 224-288 per side,
random field-of-view offset and in-plane rotation up to 15 degrees.

Output per seed: ``DIR/field_SSS/{series.nii.gz, truth.npy, params.json}``.
The NIfTI holds (W, H, 1, T) float32 in one of four on-disk layouts with a
sagittal affine, so that ``core.io.read_series`` must reorient it to canonical
frames (rows head->feet, columns anterior->posterior); every case is read back
and compared.  Labels: 0 background, 1 bladder (wall + lumen), 2 uterus_vagina
(body, cervix, vagina), 3 rectum (rectum + anal canal with sphincters).

    python benchmarks/field_generator.py --seeds 0-11 --out /tmp/field/cases
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
SS = 2  # supersampling of the rest scene
MARGIN = 48  # rest-scene margin, in fine pixels
GAP = 0.6  # half the septum left between touching organs (mm)
LAYOUTS = ("canonical", "flip_rows", "flip_cols", "transposed")

# --- contrast tables --------------------------------------------------------------------
TISSUES = ("air fat fat_cav skin muscle fibrous cortex marrow disc nucleus csf vessel "
           "bowel_wall bowel_fluid bowel_gas bowel_feces urethra bladder_wall urine "
           "vagina_wall vagina_lumen gel_v cervix cervix_canal myometrium junctional "
           "endometrium fibroid naboth rectal_wall anal gas stool gel").split()
_TABLE = {  # one value per tissue, in TISSUES order
    "haste": (0, .72, .66, .45, .20, .15, .03, .50, .42, .75, 1.0, .06, .32, .90, .02, .42,
              .30, .24, 1.0, .30, .60, .92, .17, .80, .48, .20, .85, .13, .95, .30, .22,
              .02, .38, .92),
    "tse": (0, .85, .80, .50, .24, .18, .04, .62, .45, .80, .95, .10, .35, .85, .03, .45,
            .33, .27, .95, .33, .62, .90, .20, .82, .55, .25, .88, .16, .92, .33, .25,
            .03, .42, .90),
    "bssfp": (0, .85, .80, .50, .22, .20, .04, .60, .50, .70, 1.0, .90, .35, .95, .03, .45,
              .35, .30, 1.0, .35, .70, .95, .25, .85, .40, .28, .70, .20, .95, .35, .30,
              .03, .50, .95),
    "haste_lowfat": (0, .45, .42, .40, .20, .15, .03, .35, .40, .72, 1.0, .06, .30, .90,
                     .02, .40, .30, .24, 1.0, .30, .58, .92, .17, .78, .50, .20, .85, .13,
                     .95, .30, .22, .02, .36, .92),
}
TEXTURE = {"fat": .06, "fat_cav": .09, "muscle": .05, "marrow": .12, "myometrium": .05,
           "stool": .35, "bowel_feces": .35, "fibroid": .08, "skin": .05}


# --- field primitives -------------------------------------------------------------------
class Grid:
    """Anatomy coordinates (x, y) of a regular grid that is affine in its indices, so that
    a primitive can be evaluated on the sub-grid around it only (far away: ``FAR`` mm)."""

    FAR = 30.0

    def __init__(self, x, y):
        self.x, self.y = x, y
        o = np.array([x[0, 0], y[0, 0]])
        u = np.array([x[1, 0], y[1, 0]]) - o
        v = np.array([x[0, 1], y[0, 1]]) - o
        self.o, self.inv = o, np.linalg.inv(np.column_stack([u, v]))

    def window(self, pr):
        r = max(pr[2], pr[3]) * (1 + abs(pr[6])) + self.FAR
        corners = np.array([[pr[0] - r, pr[1] - r], [pr[0] + r, pr[1] - r],
                            [pr[0] - r, pr[1] + r], [pr[0] + r, pr[1] + r]])
        ij = (corners - self.o) @ self.inv.T
        n, m = self.x.shape
        i0, j0 = np.clip(np.floor(ij.min(axis=0)).astype(int), 0, [n, m])
        i1, j1 = np.clip(np.ceil(ij.max(axis=0)).astype(int) + 1, 0, [n, m])
        return slice(i0, i1), slice(j0, j1)


_GRIDS: list[Grid] = []  # grids registered for windowed evaluation (while rendering)


def sdf(pr, x, y):
    """Approximate signed distance (mm) to a superellipse primitive.

    ``pr = (cx, cy, a, b, ang, p, egg)``: centre, semi-axis a along angle ``ang``
    (rad, in x-y), semi-axis b across it, exponent p, egg factor (widening towards +a).
    First-order exact at the boundary: (k - 1) / |grad k| of the implicit norm k.
    On a registered :class:`Grid` only the window around the primitive is computed.
    """
    for grid in _GRIDS:
        if x is grid.x and y is grid.y:
            out = np.full(x.shape, Grid.FAR, np.float64)
            wi, wj = grid.window(pr)
            out[wi, wj] = _sdf(pr, x[wi, wj], y[wi, wj])
            return out
    return _sdf(pr, x, y)


def _sdf(pr, x, y):
    cx, cy, a, b, ang, p, egg = pr
    c, s = np.cos(ang), np.sin(ang)
    dx, dy = x - cx, y - cy
    u = (dx * c + dy * s) / a
    v = (dy * c - dx * s) / b
    if egg:
        v = v / (1.0 + egg * np.clip(u, -1.0, 1.0))
    au, av = np.abs(u) + 1e-9, np.abs(v) + 1e-9
    if p == 2:
        k = np.sqrt(au * au + av * av)
        g = np.sqrt((au / a) ** 2 + (av / b) ** 2) / k
    else:
        k = (au ** p + av ** p) ** (1.0 / p)
        g = k ** (1.0 - p) * np.sqrt((au ** (p - 1) / a) ** 2 + (av ** (p - 1) / b) ** 2)
    return (k - 1.0) / g


def smin(a, b, k):
    """Smooth union of two fields (polynomial smooth minimum, width k mm)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smax(a, b, k):
    """Smooth intersection of two fields."""
    return -smin(-a, -b, k)


def union(prims, x, y, k=0.0):
    out = sdf(prims[0], x, y)
    for pr in prims[1:]:
        out = smin(out, sdf(pr, x, y), k) if k else np.minimum(out, sdf(pr, x, y))
    return out


def prim(c, a, b, direction, p=2.0, egg=0.0):
    return (float(c[0]), float(c[1]), float(a), float(b),
            float(np.arctan2(direction[1], direction[0])), float(p), float(egg))


def up(psi):
    """Unit vector pointing head-wards, tilted posteriorly by psi (rad)."""
    return np.array([np.sin(psi), -np.cos(psi)])


def down(om):
    """Unit vector pointing foot-wards, tilted posteriorly by om (rad)."""
    return np.array([np.sin(om), np.cos(om)])


def rot(v, t):
    return np.array([v[0] * np.cos(t) - v[1] * np.sin(t), v[0] * np.sin(t) + v[1] * np.cos(t)])


def ring(pr, n=32, scale=1.0):
    cx, cy, a, b, ang = pr[:5]
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    u, v = a * scale * np.cos(t), b * scale * np.sin(t)
    return cx + u * np.cos(ang) - v * np.sin(ang), cy + u * np.sin(ang) + v * np.cos(ang)


def interior(prims):
    pts = [ring(pr, 24, s) for pr in prims for s in (1.0, 0.7, 0.4)]
    return np.concatenate([p[0] for p in pts]), np.concatenate([p[1] for p in pts])


def grad(f, x, y, h=0.5):
    g = np.array([f(x + h, y) - f(x - h, y), f(x, y + h) - f(x, y - h)]) / (2 * h)
    return g / max(np.linalg.norm(g), 1e-9)


def push(pr, obstacle, clear, iters=40, direction=None, no_down=False):
    """Move a primitive up the gradient of ``obstacle`` (or along ``direction``; never
    towards the feet if ``no_down``) until its rim clears it by ``clear`` mm."""
    for _ in range(iters):
        x, y = interior([pr])  # the rim and inner rings: an engulfed obstacle counts too
        d = obstacle(x, y)
        i = int(np.argmin(d))
        if d[i] >= clear:
            return pr, True
        g = grad(obstacle, x[i], y[i]) if direction is None else direction
        if no_down and g[1] > 0:
            g = np.array([g[0], 0.0]) if abs(g[0]) > 0.3 else np.array([0.0, -1.0])
            g = g / np.linalg.norm(g)
        step = min(clear - d[i] + 0.5, 5.0)
        pr = (pr[0] + g[0] * step, pr[1] + g[1] * step, *pr[2:])
    return pr, False


# --- anatomy ----------------------------------------------------------------------------
def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def x_wall(A, y):
    """x (mm) of the inner surface of the anterior abdominal wall at height y."""
    return A["p_sup"][0] - 2 - A["bulge"] * (
        1 - np.exp(-np.maximum(A["p_sup"][1] - y, 0) / A["l_bulge"]))


def build_spine(rng, A, s):
    """Symphysis, sacrum + coccyx chain and lumbar column into A.

    Returns points behind the spine (for the posterior skin) and on its front (the back
    of the abdominal cavity), in mm.
    """
    tilt = np.radians(_u(rng, 15, 35))
    ax = down(tilt)
    half, wid = s * _u(rng, 17, 23), s * _u(rng, 5.5, 8)
    A["bone"] = [prim((0, 0), half, wid, ax, 2.4)]
    A["p_inf"], A["p_sup"] = ax * half, -ax * half
    A["bulge"], A["l_bulge"] = _u(rng, 0, 40), _u(rng, 60, 120)  # abdominal wall shape
    A["canal"], A["discs"], A["nuclei"] = [], [], []
    post, front = [], []
    prom = s * np.array([85.0, -100.0]) + rng.normal(0, 4, 2)
    om0 = np.radians(_u(rng, 28, 45))
    om, top = om0, prom.copy()
    lens = s * np.array([28, 24, 20, 16, 13, 11, 9, 7.0]) * _u(rng, 0.9, 1.1)
    deps = s * np.array([38, 30, 24, 18, 14, 10, 8, 6.0]) * _u(rng, 0.9, 1.1)
    k_sac, k_cc = np.radians(_u(rng, 9, 14)), np.radians(_u(rng, 5, 12))
    t_sac = _u(rng, 8, 22)
    for i in range(8):
        d, n = down(om), np.array([np.cos(om), -np.sin(om)])
        gap = 1.2 if i < 5 else 2.5
        A["bone"].append(prim(top + d * lens[i] / 2 + n * deps[i] / 2, lens[i] / 2 - gap / 2,
                              deps[i] / 2, d, 3.0 if i < 5 else 2.2))
        front.append(top.copy())
        if i < 4:
            cw = s * (11.0 - 2 * i)
            A["canal"].append((prim(top + d * lens[i] / 2 + n * (deps[i] + cw / 2 + 1),
                                    lens[i] / 2 + 1, cw / 2, d, 2.5), "csf" if i < 2 else "fat"))
            lam = top + d * lens[i] / 2 + n * (deps[i] + cw + 4)
            A["bone"].append(prim(lam, lens[i] / 2 + 0.5, 3.0, d, 2.5))
            post.append(lam + n * (3 + t_sac))
        top = top + d * lens[i]
        om -= k_sac if i < 4 else k_cc
    A["tip"] = top
    post.append(top + np.array([np.cos(om), -np.sin(om)]) * _u(rng, 12, 22))
    # lumbar column upwards from the S1 endplate
    om_l, top = om0, prom.copy()
    lordosis = np.cumsum([_u(rng, 12, 18), _u(rng, 12, 16), _u(rng, 10, 15), _u(rng, 6, 10),
                          _u(rng, 3, 8)])
    t_back = _u(rng, 8, 40)
    for i in range(5):
        om_n = om0 - np.radians(lordosis[i])
        om_m = 0.5 * (om_l + om_n)
        um, nm = -down(om_m), np.array([np.cos(om_m), -np.sin(om_m)])
        td, dep, h = s * _u(rng, 8, 12), s * _u(rng, 34, 42), s * _u(rng, 25, 30)
        A["discs"].append(prim(top + um * td / 2 + nm * dep / 2, td / 2, dep / 2 * 0.95, um, 3))
        A["nuclei"].append(prim(top + um * td / 2 + nm * dep / 2, td / 2 * 0.6, dep / 4, um))
        base = top + um * td
        u, n = -down(om_n), np.array([np.cos(om_n), -np.sin(om_n)])
        A["bone"].append(prim(base + u * h / 2 + n * dep / 2, h / 2, dep / 2, u, 4.0))
        if i == 0:
            A["l5"] = A["bone"][-1]
        A["canal"].append((prim(base + u * h / 2 + n * (dep + 9), (h + td) / 2 + 2, 8, u, 2.5),
                           "csf"))
        sp_dir = rot(n, np.radians(-15))
        spc = base + u * h * 0.4 + n * (dep + 18) + sp_dir * 15
        A["bone"].append(prim(spc, 15, 5.5, sp_dir, 2.5))
        post.append(spc + sp_dir * (15 + t_back))
        front.extend([base.copy(), base + u * h])
        top, om_l = base + u * h, om_n
    return post, front


def front_of(field, y, target, x_from, sign=-1.0):
    """x (mm) of the first point anterior (sign -1) or posterior (+1) of ``x_from`` at
    height y where field >= target."""
    xs = x_from + sign * np.arange(0, 200, 0.5)
    d = field(xs, np.full_like(xs, y))
    hit = np.flatnonzero(d >= target)
    return float(xs[hit[0]]) if hit.size else float(xs[-1])


def build_organs(rng, A, s, info):
    """Pelvic floor, rectum, vagina, urethra, bladder and uterus."""
    def bone(x, y):
        return union(A["bone"], x, y)

    p_inf, tip = A["p_inf"], A["tip"]
    # anorectal junction in front of and below the coccyx tip; anal canal down from it
    arj = tip + (p_inf - tip) * _u(rng, 0.38, 0.5) + np.array([0, _u(rng, 4, 14)])
    alpha = np.radians(_u(rng, 5, 30))
    a_dir = down(alpha)
    l_an, w_an = s * _u(rng, 28, 40), s * _u(rng, 7, 10)
    anus = arj + a_dir * l_an
    A["anal"] = prim(arj + a_dir * l_an / 2, l_an / 2 + 2, w_an, a_dir)
    # levator plate behind the junction towards the coccyx, puborectalis behind the junction
    perp = np.array([np.cos(alpha), -np.sin(alpha)])
    pr = arj + perp * (w_an + s * _u(rng, 4, 7)) + a_dir * _u(rng, 0, 6)
    lev_end = tip + np.array([_u(rng, -8, 0), _u(rng, 0, 6)])
    A["muscles"] = [prim(pr, _u(rng, 6, 9), _u(rng, 4.5, 6.5), a_dir),
                    prim((pr + lev_end) / 2, np.linalg.norm(lev_end - pr) / 2 + 4,
                         _u(rng, 2.5, 4.5), lev_end - pr)]
    # rectum: ampulla just behind-above the junction, then up the sacral hollow
    content = str(rng.choice(["gas", "stool", "gel", "mixed", "empty"],
                             p=[.2, .25, .25, .2, .1]))
    r1_draw = s * {"gel": _u(rng, 16, 25), "gas": _u(rng, 12, 21), "stool": _u(rng, 11, 21),
                   "mixed": _u(rng, 14, 23), "empty": _u(rng, 8, 11)}[content]
    ara = np.radians(_u(rng, 85, 115))
    r_dir = rot(a_dir, -ara)
    a1_k, front_off, low_off = _u(rng, 1.0, 1.35), _u(rng, -4, 6), _u(rng, 0, 6)
    seg_draws = [(s * _u(rng, dy_lo, dy_hi), _u(rng, 0.6, 0.95), _u(rng, 4, 12),
                  s * _u(rng, a_lo, a_hi))
                 for a_lo, a_hi, dy_lo, dy_hi in ((20, 30, 15, 25), (15, 22, 22, 32))]

    def place_rectum(f):
        r1 = r1_draw * f
        for _ in range(8):
            a1 = r1 * a1_k
            phi = np.arctan2(r_dir[1], r_dir[0])
            hx = np.hypot(a1 * np.cos(phi), r1 * np.sin(phi))
            hy = np.hypot(a1 * np.sin(phi), r1 * np.cos(phi))
            e1 = prim(arj + [front_off + hx, -low_off - hy + r1 * 0.3], a1, r1, r_dir)
            e1, ok = push(e1, lambda x, y: bone(x, y) - 4, 0.0, iters=6, no_down=True)
            if ok:
                break
            r1 *= 0.9
        c1 = np.array(e1[:2])
        segs = [prim((arj + c1) / 2, np.linalg.norm(c1 - arj) / 2 + 4, min(r1, w_an + 2),
                     c1 - arj), e1]
        yc, radius = c1[1], r1
        for dy, shrink, gap, a_seg in seg_draws:
            yc -= dy
            radius = max(s * 7.5, radius * shrink)
            x_sac = front_of(lambda x, y: -bone(x, y), yc, 0.0, segs[-1][0], 1.0)
            g = grad(bone, x_sac, yc)
            tangent = np.array([-g[1], g[0]])
            tangent = tangent if tangent[1] < 0 else -tangent
            prev = np.array(segs[-1][:2])
            target = np.array([x_sac - gap - radius, yc])
            reach = 0.6 * (segs[-1][2] + a_seg)
            if np.linalg.norm(target - prev) > reach:
                target = prev + (target - prev) / np.linalg.norm(target - prev) * reach
            axis = tangent * 0.3 + (target - prev) / max(np.linalg.norm(target - prev), 1e-6)
            seg, _ = push(prim(target, a_seg, radius, axis),
                          lambda x, y, gap=gap: bone(x, y) - gap, 0.0)
            segs.append(seg)
        return segs, r1

    def rectum(x, y):
        return smin(sdf(A["anal"], x, y), union(A["rect"], x, y, 10.0), 8.0)

    # vagina: introitus in front of the anus, vault in front of the rectum, one bend
    lp = s * _u(rng, 28, 42)
    intro0 = anus + np.array([-lp, -_u(rng, 2, 8)])
    gel_v = bool(rng.random() < 0.35)
    hv0 = s * _u(rng, 4.5, 7) * (1.5 if gel_v else 1.0)
    sep = _u(rng, 1.5, 4)
    dy_v2, dy_v1 = s * _u(rng, 5, 25), _u(rng, -6, 8)
    y_n = p_inf[1] - s * _u(rng, 5, 18)
    sym = A["bone"][0]
    x_back = front_of(lambda x, y: -sdf(sym, x, y), y_n, 0.0, 200.0)
    x_back = front_of(lambda x, y: sdf(sym, x, y), y_n, 0.5, min(x_back, 0.0), 1.0)

    def place_vagina():
        c1 = np.array(A["rect"][1][:2])
        y_v2, y_v1 = min(c1[1], arj[1] - 15) - dy_v2, arj[1] + dy_v1
        hv = hv0
        for _ in range(12):  # thinner (compressed) vagina where the rectum leaves no room
            v1 = np.array([front_of(rectum, y_v1, hv + sep, arj[0]), y_v1])
            v2 = np.array([front_of(rectum, y_v2, hv * 1.15 + sep, c1[0]), y_v2])
            i0 = np.minimum([front_of(rectum, intro0[1], hv + sep, anus[0]), intro0[1]], intro0)
            vag = [prim((i0 + v1) / 2, np.linalg.norm(v1 - i0) / 2 + hv, hv, v1 - i0),
                   prim((v1 + v2) / 2, np.linalg.norm(v2 - v1) / 2 + hv * 0.8, hv * 1.15,
                        v2 - v1)]
            if min((bone(*ring(seg)) - 8).min() for seg in vag) >= 0 or hv < 3:
                break
            hv *= 0.9
        return vag, hv, i0, v1, v2

    def vagina(x, y):
        return union(A["vag"], x, y, 6.0)

    f = 1.0
    for _ in range(8):  # shrink the rectum until the bladder neck has room in front
        A["rect"], r1 = place_rectum(f)
        A["vag"], hv, intro, v1, v2 = place_vagina()
        chain = np.array([v2, v1, intro])
        x_vag = front_of(vagina, y_n, 0.5, float(np.interp(y_n, chain[:, 1], chain[:, 0])))
        if x_vag - x_back >= 24:
            break
        f *= 0.88
    e1, segs = A["rect"][1], A["rect"]
    A["rect_wall"], A["content"] = _u(rng, 2.5, 4.0), content
    A["air_level"] = _u(rng, 0.2, 0.6)  # fraction of the lumen width filled with gas (mixed)
    th2 = float(np.arctan2(v2[0] - v1[0], v1[1] - v2[1]))
    A["gel_v"] = gel_v
    A["vag_lumen"] = hv * _u(rng, 0.55, 0.7) if gel_v else hv - _u(rng, 0.7, 2.0)
    A["pb"] = prim((intro + anus) / 2 + np.array([0, -_u(rng, 4, 9)]), lp * 0.35 + 3,
                   _u(rng, 5, 8), anus - intro)

    # bladder neck between the symphysis and the vagina; urethra down to the meatus
    meatus = intro + np.array([-_u(rng, 8, 14), -_u(rng, 0, 4)])
    lo_x, hi_x = x_back + 10, x_vag - 8
    neck = np.array([(lo_x + hi_x) / 2 if lo_x < hi_x else (x_back + x_vag) / 2, y_n])
    w_ur = _u(rng, 3.5, 5)
    fill = float(rng.beta(1.3, 1.3))
    a_b, b_b = s * (16 + 34 * fill) * _u(rng, 0.9, 1.1), s * (9 + 31 * fill) * _u(rng, 0.9, 1.1)
    bl_off = np.array([_u(rng, -0.35, 0.05), -_u(rng, 0.7, 0.9)])
    bl_dir, bl_p = rot(np.array([1.0, 0]), np.radians(_u(rng, -20, 15))), _u(rng, 2.0, 2.6)

    def bladder_at(k):  # constrained bladders give way front-to-back more than upwards
        ab = np.array([a_b * k, b_b * k ** 0.3])
        return prim(neck + bl_off * ab, ab[0], ab[1], bl_dir, bl_p)

    bl = bladder_at(1.0)

    bl_init = bl

    # uterus: cervix in the vaginal vault, body rotated (then shrunk) until it fits;
    # anteverted over an empty bladder, more upright over a full one
    anteverted = bool(rng.random() < 0.75)
    psi_c = th2 - np.radians(_u(rng, 40, 100) * (1 - 0.5 * fill)) if anteverted else (
        th2 + np.radians(_u(rng, -10, 25)))
    flex = -np.radians(_u(rng, 0, 45)) if anteverted else np.radians(_u(rng, 0, 40))
    l_c, w_c = s * _u(rng, 12, 16), s * _u(rng, 10, 14)
    l_b, w_b, egg = s * _u(rng, 21, 30), s * _u(rng, 13, 20), _u(rng, 0.1, 0.35)
    slope = (tip[1] - p_inf[1]) / (tip[0] - p_inf[0])

    def uterus_at(psi, scale):
        c_dir, b_dir = up(psi), up(psi + flex)
        cc = v2 + c_dir * l_c * 0.3
        bc = cc + c_dir * l_c + b_dir * l_b * 0.85 * scale
        return [prim(cc, l_c, w_c, c_dir), prim(bc, l_b * scale, w_b * scale, b_dir, 2, egg)]

    def overlap(ut, bl_prim):  # mm of overlap beyond what the contact may split
        x, y = interior(ut[1:])
        m_po = np.minimum(rectum(x, y), bone(x, y) - 4).min()
        m_wall = (x - x_wall(A, y) - 2 + np.maximum(y - A["p_sup"][1], 0)).min()
        below = (y - p_inf[1] - (x - p_inf[0]) * slope).max() + 10  # > 0: below the PCL
        m_neck = np.hypot(x - neck[0], y - neck[1]).min() - 18
        pen = max(0, -5 - m_po) + 3 * max(0, -m_wall) + 3 * max(0, below) + max(0, -m_neck)
        if bl_prim is not None:
            pen += max(0, -8 - sdf(bl_prim, x, y).min())
        return pen

    offsets = np.radians(np.array([0] + [v for k in range(4, 84, 4) for v in (k, -k)]))

    def search_uterus(psi0, bl_prims):
        """Smallest turn (then shrink) of the uterus that fits; the first bladder given is
        respected if possible, else ignored."""
        for bl_prim in bl_prims:
            best = (np.inf, psi0, 1.0)
            for scale in (1.0, 0.92, 0.85, 0.78):
                for turn in offsets:
                    pen = overlap(uterus_at(psi0 + turn, scale), bl_prim)
                    if pen < best[0] - 1e-6:
                        best = (pen, psi0 + turn, scale)
                    if pen == 0:
                        return best
        return best

    pen, psi_c, scale = search_uterus(psi_c, (bl_init, bladder_at(0.8), None))
    ut = uterus_at(psi_c, scale)

    # bladder: pushed off the vagina, uterus, rectum, bones and wall; shrunk if it cannot fit
    def bl_obstacle(x, y):
        soft = np.minimum(np.minimum(vagina(x, y) + 6, union(ut, x, y, 5.0) + 6), rectum(x, y) + 1)
        return np.minimum(np.minimum(soft, bone(x, y) - 4),
                          x - x_wall(A, y) - 1 + np.maximum(y - A["p_sup"][1], 0))

    k = 1.0
    for _ in range(10):  # a smaller bladder rather than one pushed away from its neck
        bl, ok = push(bladder_at(k), bl_obstacle, 0.0, iters=25, no_down=True)
        near = np.array(ring(bl, 64))
        j = int(np.argmin(np.hypot(near[0] - neck[0], near[1] - neck[1])))
        rim = near[:, j]
        if ok and np.linalg.norm(rim - neck) < 14:
            break
        k *= 0.9
    info["bladder_shrink"] = k
    if not ok:  # no room for this bladder: turn the uterus away from where it ended up
        pen, psi_c, scale = search_uterus(psi_c, (bl, None))
        ut = uterus_at(psi_c, scale)
    info["uterus_overlap_mm"] = pen
    c_dir, b_dir = up(psi_c), up(psi_c + flex)
    cc, bc = np.array(ut[0][:2]), np.array(ut[1][:2])
    if np.linalg.norm(rim - neck) > 8:  # the neck follows a bladder that had to move
        neck = rim + (neck - rim) / np.linalg.norm(neck - rim) * 6
    A["urethra"] = prim((neck + meatus) / 2, np.linalg.norm(meatus - neck) / 2 + 1, w_ur,
                        meatus - neck)
    A["bladder"] = [bl, prim((neck + rim) / 2, np.linalg.norm(rim - neck) / 2 + 5,
                             min(bl[2], bl[3], 14) / 2 + 3,
                             rim - neck + 1e-6)]
    A["bl_wall"] = s * (5.0 - 2.8 * fill) * _u(rng, 0.8, 1.2)
    A["uterus"] = ut
    endo_b = _u(rng, 1.5, 6)
    jz = _u(rng, 3, 8)
    ec = bc - b_dir * l_b * scale * 0.1
    A["endo"] = prim(ec, l_b * scale * _u(rng, 0.55, 0.75), endo_b, b_dir)
    A["jz"] = prim(ec, A["endo"][2] + jz, endo_b + jz, b_dir)
    A["cx_canal"] = prim(cc, l_c * 0.85, _u(rng, 1, 2.5), c_dir)
    A["fibroid"] = None
    if rng.random() < 0.15:
        fc = bc + b_dir * l_b * scale * _u(rng, -0.4, 0.5) + rot(b_dir, np.pi / 2) * (
            w_b * scale * _u(rng, -0.5, 0.5))
        A["fibroid"] = prim(fc, _u(rng, 6, 14), _u(rng, 6, 14), b_dir)
    A["naboth"] = [prim(cc + rot(c_dir, np.pi / 2) * _u(rng, -0.6, 0.6) * w_c
                        + c_dir * _u(rng, -0.5, 0.5) * l_c, r, r, c_dir)
                   for r in rng.uniform(1.5, 4, size=int(rng.integers(1, 4)))
                   ] if rng.random() < 0.2 else []
    info.update(bladder_fill=fill, rectum_content=content, rectum_radius_mm=r1, rectum_shrink=f,
                anorectal_angle_deg=float(np.degrees(ara)), anteverted=anteverted,
                cervix_axis_deg=float(np.degrees(psi_c)), flexion_deg=float(np.degrees(flex)),
                vaginal_gel=gel_v, fibroid=A["fibroid"] is not None,
                uterus_scale=scale)
    A["landmarks"] = dict(arj=arj, anus=anus, intro=intro, meatus=meatus, neck=neck, v2=v2,
                          cervix=cc, e1=np.array(e1[:2]), e3=np.array(segs[-1][:2]))
    return th2


def build_body(rng, A, s, post, front):
    """Skin and abdominal wall as height fields x(y), the perineum, optional thighs."""
    lm = A["landmarks"]
    y0 = float(A["p_sup"][1])
    t_sub, t_mus = s * _u(rng, 10, 40), _u(rng, 5, 10)
    ys = np.linspace(-420, 200, 621)
    x_wi = x_wall(A, ys)
    x_ant = x_wi - t_mus - t_sub * (1 + 0.3 * (1 - np.exp(-np.maximum(y0 - ys, 0) / 80)))
    end_y = lm["meatus"][1] + 3
    f = np.clip((ys - y0) / (end_y - y0), 0, 1) ** 1.5
    x_ant = np.where(ys > y0, x_ant + f * (lm["meatus"][0] - 6 - x_ant), x_ant)
    pts = np.array(post + [lm["anus"] + np.array([8.0, -3.0])])
    order = np.argsort(pts[:, 1])
    x_post = ndimage.gaussian_filter1d(np.interp(ys, pts[order, 1], pts[order, 0]), 8)
    fr = np.array(front)
    o = np.argsort(fr[:, 1])
    x_front = np.interp(ys, fr[o, 1], fr[o, 0])
    A["hf"] = dict(ys=ys, x_wi=x_wi, x_ant=x_ant, x_post=x_post, x_front=x_front,
                   y0=y0, t_mus=t_mus,
                   y_bot=float(max(lm["intro"][1], lm["anus"][1]) + _u(rng, 2, 6)))
    A["thigh"] = None
    if rng.random() < 0.5:  # medial thighs touching the midline below the perineum
        top = A["hf"]["y_bot"] + _u(rng, 2, 10)
        x0, x1 = lm["meatus"][0] - _u(rng, 10, 40), lm["anus"][0] + _u(rng, 20, 60)
        A["thigh"] = dict(shape=prim(((x0 + x1) / 2, top + 150), (x1 - x0) / 2, 150,
                                     np.array([1.0, 0]), _u(rng, 2.0, 3.5)), muscles=[
            prim((_u(rng, x0 + 20, x1 - 20), top + _u(rng, 40, 70)), _u(rng, 20, 35),
                 _u(rng, 10, 18), rot(np.array([1.0, 0]), _u(rng, -0.6, 0.6)), 2.2)
            for _ in range(int(rng.integers(0, 2)))])


def hfield(A, key, y):
    """A height field of the body (x mm at height y)."""
    h = A["hf"]
    return np.interp(y, h["ys"], h[key])


def base_fields(A, x, y):
    """Bone, wall and the three organ fields after carving and contact."""
    bone = union(A["bone"], x, y)
    wall = hfield(A, "x_wi", y) - x + np.minimum(0, A["hf"]["y0"] - y)  # < 0 in the cavity
    raw = [union(A["bladder"], x, y, 8.0),
           smin(union(A["vag"], x, y, 6.0), union(A["uterus"], x, y, 5.0), 5.0),
           smin(sdf(A["anal"], x, y), union(A["rect"], x, y, 10.0), 8.0)]
    raw = [np.maximum(np.maximum(d, 3.0 - bone), wall + 1.0) for d in raw]
    organs = [np.maximum(raw[k], 0.5 * (raw[k] - np.minimum(raw[k - 1], raw[k - 2])) + GAP)
              for k in range(3)]
    return bone, wall, organs


def body_field(A, x, y):
    f = smax(hfield(A, "x_ant", y) - x, x - hfield(A, "x_post", y), 6.0)
    return smax(f, y - A["hf"]["y_bot"], 8.0)


def place_loops(rng, A, box, s):
    """Sigmoid, small-bowel loops and vessels in the free space (coarse 2 mm grid)."""
    gx, gy = np.meshgrid(np.arange(box[0], box[1], 2.0), np.arange(box[2], box[3], 2.0))
    x, y = gx.ravel(), gy.ravel()
    bone, wall, organs = base_fields(A, x, y)
    lm = A["landmarks"]
    slope = (A["tip"][1] - A["p_inf"][1]) / (A["tip"][0] - A["p_inf"][0])
    floor = y - (A["p_inf"][1] + (x - A["p_inf"][0]) * slope) + 12  # < 0 above the PCL
    free = np.minimum.reduce([*organs, bone - 2, -wall - 2, hfield(A, "x_front", y) - x - 4,
                              -floor, union(A["muscles"], x, y), sdf(A["urethra"], x, y)])
    loops, vessels = [], []

    def drop(r, near=None, radius=1e9, kind="loop"):
        nonlocal free
        ok = free > r + 1.5
        if near is not None:
            ok &= np.hypot(x - near[0], y - near[1]) < radius
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return False
        i = int(rng.choice(idx))
        pr = prim((x[i], y[i]), r, r * _u(rng, 0.6, 1.0), rot(np.array([1.0, 0]),
                                                                _u(rng, 0, np.pi)))
        free = np.minimum(free, sdf(pr, x, y))
        if kind == "vessel":
            vessels.append(pr)
        else:
            loops.append((pr, kind, _u(rng, 1.5, 3.0)))
        return True

    for _ in range(int(rng.integers(1, 3))):
        drop(s * _u(rng, 14, 22), lm["e3"] + np.array([-10, -30]), 45,
             str(rng.choice(["feces", "gas", "feces"])))
    if rng.random() < 0.3:
        drop(s * _u(rng, 7, 11), (lm["v2"] + lm["e1"]) / 2 + np.array([0, -15]), 30,
             str(rng.choice(["fluid", "feces"])))
    l5 = A["l5"]
    for _ in range(int(rng.integers(1, 4))):
        drop(_u(rng, 3.5, 7), (l5[0] - 35, l5[1]), 40, "vessel")
    for _ in range(40):
        drop(s * _u(rng, 7, 17), kind=str(rng.choice(
            ["fluid", "gas", "feces", "collapsed", "fluid"])))
    A["loops"], A["vessels"] = loops, vessels
    return len(loops)


# --- rendering --------------------------------------------------------------------------
def largest_piece(d):
    """The field with all but its largest inside component pushed outside (+0.5 mm)."""
    lab, n = ndimage.label(d < 0)
    if n <= 1:
        return d
    keep = int(np.argmax(np.bincount(lab.ravel())[1:])) + 1
    return np.where((lab > 0) & (lab != keep), np.maximum(d, 0.5), d)


def paint_scene(A, x, y, X, values, tex_f, tex_c, tex_b):
    """Rest image and organ fields on the fine grid (x, y anatomy mm; X image column mm)."""
    h = 0.5 * min(A["fine_mm"])

    def m(d):
        return np.clip(0.5 - d / h, 0.0, 1.0)

    img = np.full(x.shape, values["air"], np.float32)
    amp = np.zeros(x.shape, np.float32)

    def paint(mask, tissue):
        img[...] += mask * (values[tissue] - img)
        amp[...] += mask * (TEXTURE.get(tissue, 0.03) - amp)

    body = body_field(A, x, y)
    bone, wall, organs = base_fields(A, x, y)
    organs = [largest_piece(d) for d in organs]
    paint(m(body), "fat")
    paint(m(np.maximum(wall, body + 3)) * (y < A["hf"]["y0"] + 30), "fat_cav")
    paint(m(np.maximum(body, -body - 2.0)), "skin")
    th = A["thigh"]
    if th is not None:
        d = sdf(th["shape"], x, y)
        paint(m(d), "fat")
        paint(m(np.maximum(d, -d - 2.0)), "skin")
        for pr in th["muscles"]:
            paint(m(np.maximum(sdf(pr, x, y), d + 6)), "muscle")
    xr = hfield(A, "x_wi", y) - A["hf"]["t_mus"] / 2
    paint(m(np.maximum(np.abs(x - xr) - A["hf"]["t_mus"] / 2, y - A["hf"]["y0"] - 2)), "muscle")
    for pr in A["muscles"]:
        paint(m(sdf(pr, x, y)), "muscle")
    paint(m(sdf(A["pb"], x, y)), "fibrous")
    for pr, tissue in A["canal"]:
        paint(m(sdf(pr, x, y)), tissue)
    paint(m(bone), "cortex")
    paint(m(bone + 1.6), "marrow")
    paint(m(union(A["discs"], x, y)), "disc")
    paint(m(union(A["nuclei"], x, y)), "nucleus")
    for pr in A["vessels"]:
        paint(m(sdf(pr, x, y)), "vessel")
    for pr, kind, w in A["loops"]:
        d = sdf(pr, x, y)
        paint(m(d), "bowel_wall")
        if kind != "collapsed":
            paint(m(d + w), "bowel_" + kind)
    d = sdf(A["urethra"], x, y)
    paint(m(d), "urethra")
    paint(m(d + A["urethra"][3] * 0.6), "vagina_lumen")
    d_bl, d_ut, d_re = organs
    mb, mu, mr = m(d_bl), m(d_ut), m(d_re)
    paint(mb, "bladder_wall")
    paint(mb * m(d_bl + A["bl_wall"]), "urine")
    # uterus_vagina
    paint(mu, "vagina_wall")
    paint(mu * m(union(A["vag"], x, y, 6.0) + A["vag_lumen"]),
          "gel_v" if A["gel_v"] else "vagina_lumen")
    cervix, corpus = A["uterus"]
    paint(mu * m(sdf(cervix, x, y)), "cervix")
    paint(mu * m(sdf(A["cx_canal"], x, y)), "cervix_canal")
    for pr in A["naboth"]:
        paint(mu * m(sdf(pr, x, y)), "naboth")
    paint(mu * m(smax(sdf(corpus, x, y), -sdf(cervix, x, y) - 1, 3)), "myometrium")
    paint(mu * m(sdf(A["jz"], x, y)), "junctional")
    paint(mu * m(sdf(A["endo"], x, y)), "endometrium")
    if A["fibroid"] is not None:
        paint(mu * m(sdf(A["fibroid"], x, y)), "fibroid")
    # rectum and anal canal
    paint(mr, "rectal_wall")
    paint(mr * m(sdf(A["anal"], x, y)), "anal")
    lumen = mr * m(union(A["rect"], x, y, 10.0) + A["rect_wall"])
    content = A["content"]
    if content == "mixed":
        lo, hi = A["lumen_x"]
        level = lo + A["air_level"] * (hi - lo)
        paint(lumen * np.clip(0.5 + (X - level) / h, 0, 1), "stool")
        paint(lumen * np.clip(0.5 - (X - level) / h, 0, 1), "gas")
    elif content == "empty":
        paint(lumen * m(union(A["rect"], x, y, 10.0) + A["rect"][0][3] - 2.0), "stool")
    else:
        paint(lumen, content)
        if content in ("stool", "gel"):
            paint(lumen * np.clip((tex_b - 1.4) * 3, 0, 1), "gas")
    img *= 1.0 + amp * (tex_f + 0.5 * tex_c)
    return img, [d.astype(np.float32) for d in organs]


def smooth_noise(rng, shape, sigma):
    n = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return n / max(float(n.std()), 1e-6)


def expfield(vr, vc, n=6):
    """Scaling and squaring: displacement of exp(v) on the coarse grid (index units)."""
    ur, uc = vr / 2 ** n, vc / 2 ** n
    gr, gc = np.indices(vr.shape, dtype=np.float64)
    for _ in range(n):
        co = [gr + ur, gc + uc]
        ur, uc = (ur + ndimage.map_coordinates(ur, co, order=1, mode="nearest"),
                  uc + ndimage.map_coordinates(uc, co, order=1, mode="nearest"))
    return ur, uc


def interp_matrix(pos, n):
    """(len(pos), n) weights of linear interpolation at fractional indices ``pos``."""
    i0 = np.clip(np.floor(pos).astype(int), 0, n - 2)
    f = np.clip(pos - i0, 0, 1)
    w = np.zeros((len(pos), n))
    w[np.arange(len(pos)), i0] = 1 - f
    w[np.arange(len(pos)), i0 + 1] = f
    return w


def profile(rng, n_frames):
    """Straining curve in [0, 1] per frame (rest, ramp, hold, release, maybe again)."""
    t0 = int(rng.integers(1, max(2, n_frames // 5) + 1))
    knots, vals = [0.0, float(t0)], [0.0, 0.0]
    t = float(t0)
    while t < n_frames:
        ramp, hold = _u(rng, 3, 8), _u(rng, 2, max(3, n_frames / 3))
        rel = float(rng.choice([0.0, 0.5, 1.0]))
        knots += [t + ramp, t + ramp + hold, t + 2 * ramp + hold]
        vals += [1.0, 1.0, 1.0 - rel]
        t = t + 2 * ramp + hold + _u(rng, 1, 4)
        if rel < 1 or rng.random() < 0.6:
            break
        knots.append(t)
        vals.append(0.0)
    knots.append(max(knots[-1], n_frames) + 1)
    vals.append(vals[-1])
    fine = np.linspace(-5, n_frames + 5, 20 * (n_frames + 10) + 1)
    curve = ndimage.gaussian_filter1d(np.interp(fine, knots, vals), 12)
    return lambda tt: np.interp(tt, fine, curve)


def motion_components(rng, A, s, th2):
    lm = A["landmarks"]
    centre = (lm["arj"] + lm["neck"] + lm["v2"]) / 3 + rng.normal(0, 4, 2)
    comps = [  # (centre, sigma mm, velocity mm, lag frames)
        (centre, _u(rng, 30, 45), down(np.radians(_u(rng, -5, 25))) * s * _u(rng, 6, 30), 0.0),
        (lm["neck"], _u(rng, 14, 22), down(np.radians(_u(rng, 10, 45))) * _u(rng, 0, 18),
         _u(rng, -1, 1)),
        (lm["v2"], _u(rng, 15, 25), -up(th2) * _u(rng, 0, 20), _u(rng, -1, 1.5)),
        (lm["arj"], _u(rng, 14, 22), down(np.radians(_u(rng, 0, 30))) * _u(rng, 0, 20),
         _u(rng, -0.5, 2)),
        (lm["neck"] + np.array([0, -70]), _u(rng, 40, 60),
         np.array([_u(rng, -0.2, 0.3), 1.0]) * _u(rng, 3, 10), _u(rng, -1, 0.5)),
    ]
    if rng.random() < 0.5:
        r1 = A["rect"][0][3]
        comps.append((lm["e1"] + np.array([-r1, 0]), _u(rng, 8, 14),
                      np.array([-1.0, 0.25]) * _u(rng, 4, 14), _u(rng, 0, 2)))
    for _ in range(3):
        comps.append((centre + rng.normal(0, 30, 2), _u(rng, 15, 30), rng.normal(0, 2, 2),
                      _u(rng, -1, 1)))
    return comps


def bias_field(rng, H, W):
    v, u = np.meshgrid(np.linspace(-1, 1, H), np.linspace(-1, 1, W), indexing="ij")
    logb = np.zeros((H, W))
    for i in range(4):
        for j in range(4 - i):
            logb += rng.normal(0, 0.18 / (1 + i + j)) * u ** i * v ** j
    for _ in range(int(rng.integers(1, 3))):
        cu, cv, sg = _u(rng, -1.2, 1.2), _u(rng, -1.2, 1.2), _u(rng, 0.4, 0.9)
        logb += _u(rng, 0.1, 0.45) * np.exp(-((u - cu) ** 2 + (v - cv) ** 2) / (2 * sg ** 2))
    b = np.exp(logb)
    return (b / b.mean()).astype(np.float32)


def choose_fov(rng, A, descent):
    """Matrix, spacing, rotation and a field of view that holds the pelvic organs.

    Returns a dict: H, W, sr, sc (mm), R (image <- anatomy rotation), c_a (anatomy mm at
    the image centre), c_img (image mm of the centre), ext (image extent in mm).
    """
    H, W = (int(v) for v in rng.integers(224, 289, size=2))
    sr = round(_u(rng, 1.1, 1.5), 3)
    sc = round(float(np.clip(sr * _u(rng, 0.93, 1.07), 1.1, 1.5)), 3)
    theta = np.radians(_u(rng, -15, 15))
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    gx, gy = np.meshgrid(np.arange(-80, 200, 2.0), np.arange(-200, 120, 2.0))
    _, _, organs = base_fields(A, gx.ravel(), gy.ravel())
    inside = np.min(organs, axis=0) < 0
    ox, oy = gx.ravel()[inside], gy.ravel()[inside]
    y_mid = np.array([oy.min(), 0.5 * (oy.min() + oy.max())])
    x0 = min(ox.min() - 15, hfield(A, "x_ant", y_mid).min() - 5)
    x1 = max(ox.max() + 15, hfield(A, "x_post", y_mid).max() + 5)
    y0, y1 = oy.min() - 25, A["hf"]["y_bot"] + 10
    q = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]) @ R.T
    c_img = np.array([(W - 1) / 2 * sc, (H - 1) / 2 * sr])
    ext = np.array([(W - 1) * sc, (H - 1) * sr])
    lo, hi = q.max(axis=0) - ext + c_img, q.min(axis=0) + c_img  # bounds of z = R c_a
    z = (lo + hi) / 2 + np.maximum(hi - lo, 0) / 2 * rng.uniform(-0.4, 0.4, 2)
    return dict(H=H, W=W, sr=sr, sc=sc, theta=theta, R=R, c_a=R.T @ z, c_img=c_img, ext=ext,
                descent=descent)


def to_anatomy(g, X, Y):
    """Anatomy (x, y) mm of image points (X = column mm, Y = row mm)."""
    R, dX, dY = g["R"], X - g["c_img"][0], Y - g["c_img"][1]
    return R[0, 0] * dX + R[1, 0] * dY + g["c_a"][0], R[0, 1] * dX + R[1, 1] * dY + g["c_a"][1]


def render_frames(rng, A, g, comps, prof, n_frames, rest, fields):
    """Warp the rest image and organ fields through the straining cycle.

    Returns frames (T, H, W) float32 (noise-free) and truth (T, H, W) uint8.
    """
    H, W, sr, sc, R, c_img = g["H"], g["W"], g["sr"], g["sc"], g["R"], g["c_img"]
    step, cm = 4, 6  # velocity on a coarse image grid: every 4 pixels, 6 nodes of margin
    cr = (np.arange(-cm, H // step + cm + 1) * step).astype(np.float64)
    ccol = (np.arange(-cm, W // step + cm + 1) * step).astype(np.float64)
    CR, CC = np.meshgrid(cr, ccol, indexing="ij")
    xc, yc = to_anatomy(g, CC * sc, CR * sr)
    damp = np.clip(union(A["bone"], xc, yc) / 10.0, 0, 1)  # bones stay rigid
    damp = damp * damp * (3 - 2 * damp)
    vel = []
    for c, sig, v, lag in comps:
        w = damp * np.exp(-((xc - c[0]) ** 2 + (yc - c[1]) ** 2) / (2 * sig ** 2))
        vX, vY = R @ np.asarray(v, float)
        vel.append((w * vY / sr / step, w * vX / sc / step, lag))
    breath = (_u(rng, 0.5, 2.0), _u(rng, 3.5, 6.0), _u(rng, 0, 2 * np.pi))
    c_a = g["c_a"]
    wb = damp * np.exp(-((xc - c_a[0]) ** 2 + (yc - c_a[1] + 80) ** 2) / (2 * 70.0 ** 2))
    fine_i = (np.arange(SS * H) + 0.5) / SS - 0.5  # fine sample centres, native pixel units
    fine_j = (np.arange(SS * W) + 0.5) / SS - 0.5
    FI, FJ = np.meshgrid(fine_i, fine_j, indexing="ij")
    NI, NJ = np.meshgrid(np.arange(H, dtype=float), np.arange(W, dtype=float), indexing="ij")
    wr = interp_matrix((fine_i + cm * step) / step, len(cr))
    wc = interp_matrix((fine_j + cm * step) / step, len(ccol))
    frames = np.empty((n_frames, H, W), np.float32)
    truth = np.empty((n_frames, H, W), np.uint8)
    jitter = np.zeros(3)  # rigid patient motion: rows px, columns px, rad
    for t in range(n_frames):
        vr = -sum(v[0] * prof(t - v[2]) for v in vel)  # inverse map: minus the velocity
        vc = -sum(v[1] * prof(t - v[2]) for v in vel)
        vr = vr - wb * breath[0] * np.sin(2 * np.pi * t / breath[1] + breath[2]) / sr / step
        ur, uc = expfield(vr, vc)
        if t:
            jitter = np.clip(jitter + rng.normal(0, [0.3, 0.3, 0.002]), -1.5, 1.5)
        a, rr, rc = jitter[2], CR - c_img[1] / sr, CC - c_img[0] / sc
        ur = ur * step + (np.cos(a) - 1) * rr + np.sin(a) * rc + jitter[0] / sr
        uc = uc * step - np.sin(a) * rr + (np.cos(a) - 1) * rc + jitter[1] / sc
        dfr, dfc = wr @ ur @ wc.T, wr @ uc @ wc.T  # bilinear upsampling to the fine grid
        src = [(FI + dfr + 0.5) * SS - 0.5 + MARGIN, (FJ + dfc + 0.5) * SS - 0.5 + MARGIN]
        img = ndimage.map_coordinates(rest, src, order=1, mode="nearest")
        frames[t] = img.reshape(H, SS, W, SS).mean(axis=(1, 3))  # partial volume
        dnr = dfr.reshape(H, SS, W, SS).mean(axis=(1, 3))
        dnc = dfc.reshape(H, SS, W, SS).mean(axis=(1, 3))
        src = [(NI + dnr + 0.5) * SS - 0.5 + MARGIN, (NJ + dnc + 0.5) * SS - 0.5 + MARGIN]
        d = np.stack([ndimage.map_coordinates(f, src, order=1, mode="nearest") for f in fields])
        truth[t] = np.where(d.min(axis=0) < 0, np.argmin(d, axis=0) + 1, 0)
    return frames, truth


def degrade(rng, frames, contrast):
    """Ringing, blur, coil bias, bSSFP banding and Rician noise; returns frames, params."""
    n_frames, H, W = frames.shape
    deg: dict = {"contrast": contrast}
    if rng.random() < 0.5:  # k-space truncation along one axis
        axis, keep = int(rng.integers(1, 3)), _u(rng, 0.6, 0.9)
        k = np.abs(np.fft.fftfreq(frames.shape[axis])) <= keep / 2
        f = np.fft.fft(frames, axis=axis)
        f *= k.reshape([1, -1, 1] if axis == 1 else [1, 1, -1])
        frames = np.real(np.fft.ifft(f, axis=axis)).astype(np.float32)
        deg["ringing"] = {"axis": "rows" if axis == 1 else "columns", "keep": keep}
    if rng.random() < 0.3:
        sig = _u(rng, 0.3, 0.7)
        frames = ndimage.gaussian_filter(frames, (0, sig, sig)).astype(np.float32)
        deg["blur_px"] = sig
    frames *= bias_field(rng, H, W)[None]
    if contrast == "bssfp" and rng.random() < 0.4:
        v, u = np.meshgrid(np.linspace(-1, 1, H), np.linspace(-1, 1, W), indexing="ij")
        phi = 2 * np.pi * (_u(rng, 0, 1) + _u(rng, 0.5, 2.0) * (
            _u(rng, -1, 1) * u + _u(rng, -1, 1) * v + _u(rng, -1, 1) * u * v))
        wrap = np.angle(np.exp(1j * (phi - np.pi)))
        frames *= (1 - _u(rng, 0.5, 0.9) * np.exp(-(wrap / 0.2) ** 2)).astype(np.float32)
        deg["banding"] = True
    frames = np.maximum(frames, 0)
    body_mean = float(frames[0][frames[0] > 0.15 * np.percentile(frames[0], 99)].mean())
    deg["snr"] = _u(rng, 5, 30)
    sigma = body_mean / deg["snr"]
    n1 = rng.standard_normal(frames.shape, dtype=np.float32)
    n2 = rng.standard_normal(frames.shape, dtype=np.float32)
    frames = np.sqrt((frames + sigma * n1) ** 2 + (sigma * n2) ** 2)
    frames *= (1 + rng.normal(0, 0.01, (n_frames, 1, 1))) * _u(rng, 300, 3000)
    return frames.astype(np.float32), deg


def generate(seed: int):
    """One case, deterministic in ``seed``.

    Returns:
        frames (T, H, W) float32 in canonical sagittal order, truth (T, H, W) uint8
        (0 background, 1 bladder, 2 uterus_vagina, 3 rectum), spacing (row, col) mm,
        params (the drawn parameters, JSON-ready).
    """
    rng = np.random.default_rng(seed)
    A: dict = {}
    info: dict = {"seed": int(seed), "generator": "field_generator"}
    s = _u(rng, 0.92, 1.1)
    post, front = build_spine(rng, A, s)
    th2 = build_organs(rng, A, s, info)
    build_body(rng, A, s, post, front)
    comps = motion_components(rng, A, s, th2)
    n_frames = int(rng.integers(15, 41))
    prof = profile(rng, n_frames)
    g = choose_fov(rng, A, float(np.linalg.norm(comps[0][2])))
    H, W, sr, sc, R = g["H"], g["W"], g["sr"], g["sc"], g["R"]
    corners = np.array([[-50.0, -50], [g["ext"][0] + 50, -50], [-50, g["ext"][1] + 50],
                        [g["ext"][0] + 50, g["ext"][1] + 50]])
    cx, cy = to_anatomy(g, corners[:, 0], corners[:, 1])
    n_loops = place_loops(rng, A, (cx.min(), cx.max(), cy.min(), cy.max()), s)
    contrast = str(rng.choice(list(_TABLE), p=[.35, .2, .3, .15]))
    values = {t: v * float(np.exp(rng.normal(0, 0.08))) for t, v in
              zip(TISSUES, _TABLE[contrast], strict=True)}
    # rest scene on the fine (2x) grid with a margin, in anatomy coordinates
    A["fine_mm"] = (sr / SS, sc / SS)
    Y, X = np.meshgrid(((np.arange(SS * H + 2 * MARGIN) - MARGIN + 0.5) / SS - 0.5) * sr,
                       ((np.arange(SS * W + 2 * MARGIN) - MARGIN + 0.5) / SS - 0.5) * sc,
                       indexing="ij")
    x, y = to_anatomy(g, X, Y)
    rx, ry = ring(A["rect"][0], 64)  # the ampulla's extent along the image's AP axis
    rX = R[0, 0] * (rx - g["c_a"][0]) + R[0, 1] * (ry - g["c_a"][1]) + g["c_img"][0]
    A["lumen_x"] = (float(rX.min()), float(rX.max()))
    tex_f = smooth_noise(rng, x.shape, 1.2 / sr * SS)
    tex_c = smooth_noise(rng, x.shape, 6.0 / sr * SS)
    tex_b = smooth_noise(rng, x.shape, 0.9 / sr * SS)
    _GRIDS.append(Grid(x, y))
    try:
        rest, fields = paint_scene(A, x, y, X, values, tex_f, tex_c, tex_b)
    finally:
        _GRIDS.clear()
    frames, truth = render_frames(rng, A, g, comps, prof, n_frames, rest, fields)
    frames, deg = degrade(rng, frames, contrast)
    counts = [(truth == k).sum(axis=(1, 2)) for k in (1, 2, 3)]
    if min(int(c.min()) for c in counts) < 30:
        raise RuntimeError(f"seed {seed}: an organ is (nearly) missing in a frame")
    info.update(
        shape=[n_frames, H, W], spacing_mm=[sr, sc], rotation_deg=float(np.degrees(g["theta"])),
        fov_centre_anatomy_mm=[float(v) for v in g["c_a"]],
        frame_interval_s=_u(rng, 1.0, 2.0),
        peak_frame=int(np.argmax([prof(t) for t in range(n_frames)])),
        descent_mm=g["descent"], bowel_loops=n_loops,
        storage_layout=str(rng.choice(LAYOUTS)), pelvis_scale=s,
        rest_area_cm2={k: float(c[0]) * sr * sc / 100 for k, c in
                       zip(("bladder", "uterus_vagina", "rectum"), counts, strict=True)},
        **deg)
    return frames, truth, (sr, sc), _jsonable(info)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return round(float(obj), 4)
    return obj


# --- output -----------------------------------------------------------------------------
def nifti_bytes(frames, spacing, interval, layout):
    """NIfTI-1 bytes of (W, H, 1, T) data in one of LAYOUTS with a sagittal RAS+ affine."""
    sr, sc = spacing
    _, H, W = frames.shape
    a = np.eye(4)
    a[:3, 0] = [0, -sc, 0]  # column index -> posterior (RAS -y)
    a[:3, 1] = [0, 0, -sr]  # row index -> feet (RAS -z)
    a[:3, 2] = [4.0, 0, 0]  # slice normal: right-left, 4 mm
    a[:3, 3] = [0, (W - 1) / 2 * sc, (H - 1) / 2 * sr]
    data = np.transpose(frames, (2, 1, 0))  # (W, H, T): data[:, :, t] = frames[t].T
    if layout == "flip_rows":
        data = data[:, ::-1]
        a[:3, 3] += a[:3, 1] * (H - 1)
        a[:3, 1] *= -1
    elif layout == "flip_cols":
        data = data[::-1]
        a[:3, 3] += a[:3, 0] * (W - 1)
        a[:3, 0] *= -1
    elif layout == "transposed":
        data = np.transpose(data, (1, 0, 2))
        a[:, [0, 1]] = a[:, [1, 0]]
    img = nib.Nifti1Image(np.ascontiguousarray(data[:, :, None, :], dtype=np.float32), a)
    img.set_sform(a, code=1)
    img.set_qform(a, code=1)
    z = np.linalg.norm(a[:3, :3], axis=0)
    img.header.set_zooms((z[0], z[1], z[2], interval))
    img.header.set_xyzt_units("mm", "sec")
    img.header["descrip"] = b"field_generator phantom"
    return img.to_bytes()


def write_case(seed: int, out: Path) -> str:
    t0 = time.perf_counter()
    frames, truth, spacing, params = generate(seed)
    case = out / f"field_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    raw = nifti_bytes(frames, spacing, params["frame_interval_s"], params["storage_layout"])
    with open(case / "series.nii.gz", "wb") as fh, gzip.GzipFile(
            filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=6) as gz:
        gz.write(raw)
    np.save(case / "truth.npy", truth)
    (case / "params.json").write_text(json.dumps(params, indent=1, sort_keys=True) + "\n")
    check_readback(case, frames, truth, spacing)
    T, H, W = frames.shape
    return (f"{case.name}: {H}x{W} px, {spacing[0]:.3f}x{spacing[1]:.3f} mm, {T} frames, "
            f"{params['contrast']}, {params['storage_layout']}, "
            f"descent {params['descent_mm']:.0f} mm, {time.perf_counter() - t0:.1f} s")


def check_readback(case: Path, frames, truth, spacing) -> None:
    """Read the written series with core.io and fail loudly if it differs."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from core.io import read_series

    series = read_series(case / "series.nii.gz")
    got = series.frames
    if got.shape != frames.shape or got.shape != truth.shape:
        raise AssertionError(f"{case}: read back {got.shape}, wrote {frames.shape}, "
                             f"truth {truth.shape}")
    tol = 1e-5 * float(np.abs(frames).max())
    if not np.allclose(got, frames, rtol=1e-6, atol=tol):
        raise AssertionError(f"{case}: frames read back differ "
                             f"(max {np.abs(got - frames).max():.3g})")
    if not np.allclose(series.spacing_mm, spacing, atol=1e-4):
        raise AssertionError(f"{case}: spacing read back {series.spacing_mm}, wrote {spacing}")
    if "sagittal" not in str(series.meta.get("orientation")):
        raise AssertionError(f"{case}: orientation read back {series.meta.get('orientation')}")


def _job(arg):
    return write_case(*arg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-11", help="e.g. 0-11 or 3,5,7")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--workers", type=int, default=1, help="cases in parallel")
    args = parser.parse_args(argv)
    from core.seeds import map_jobs, parse_seeds
    jobs = [(seed, args.out) for seed in parse_seeds(args.seeds)]
    for line in map_jobs(_job, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
