"""Landmark generator: labelled dynamic mid-sagittal female pelvic MRI built from a statistical
landmark model (a seventh generator, designed independently of the others).

Run: ``python benchmarks/landmark_generator.py --seeds 0-11 --out DIR [--workers N]``; writes
``DIR/landmark_SSS/{series.nii, truth.npy, params.json}`` with labels 0 background, 1 bladder
(wall + lumen), 2 uterus_vagina (body, cervix, vagina), 3 rectum (with the anal canal).

Methods.  *Shape model*: a subject is ~35 named landmarks in mm (x anterior->posterior, y
head->feet, origin at the top of the symphysis): symphysis top/bottom, promontory, S2-S5,
last coccygeal joint and tip, bladder neck, meatus, introitus, three vaginal points and apex,
rectosigmoid, upper rectum, ampulla, anorectal junction, anal canal and verge, perineal body,
puborectalis, and eight bladder control points blended between an empty and a full template.
Eight latent scores (age, parity, BMI, size, pelvic tilt, laxity, bladder and rectal filling)
come from a correlated normal (older -> more parous, heavier, laxer) and act as modes:
scaling, rotation of the sacral chain and rectum, resting pelvic-floor descent, bladder
blending, fat thickness, uterine size and post-menopausal atrophy; each landmark then gets
1.5-2.2 mm noise.  The uterus comes from version/flexion angles (anteverted or retroverted; a
full bladder tips it up) and cervix/body lengths.  Outlines are centripetal Catmull-Rom curves
through landmark-derived points: closed curves (pubis, vertebrae, body, bowel loops) and
swept-disc tubes with radius profiles (vagina; uterus with cervix, junctional zone and
endometrium; rectum with anal canal; urethra, sigmoid, rectus, aorta, thecal sac).  Collisions
follow stiffness (bone > rectum > uterus/vagina > bladder): tubes are pushed out of stiffer
tubes, but all leave a small bladder core free (the rectum flattens); the bladder is a
star-shaped curve whose rays shrink out of its neighbours and from behind the vagina, then
re-inflate where free to keep its rest area (uterine impression, neck funnelling).
Variety: nulli-/multiparous, retroversion, fibroid, hysterectomy (vault only, ~10 %),
cystocele, rectocele, enterocele, uterine/vault prolapse, descending perineum, empty to full
bladder, rectal gel/stool/gas/empty, vaginal gel.  *Surroundings* (own tissue classes):
pubis (cortex, marrow, symphyseal disc), sacrum (body, canal, crest, residual discs), coccyx,
lordotic lumbar spine with discs, thecal sac and spinous processes, paraspinal, gluteal,
levator plate, puborectalis, external sphincter, perineal body, an obturator/pubic-ramus
partial-volume region, rectus abdominis, skin and BMI-scaled fat, packed small-bowel loops
(supine gas levels), a sigmoid continuous with the rectum, aorta, iliac vein, venous plexus,
ovary with follicles, cul-de-sac fluid, natal cleft, air.  *Motion*: 15-40 frames follow a
strain curve s(t) (rest, optional squeeze, ramp, hold, partial recovery, repeated efforts);
each soft landmark moves by s(t) times weighted anterior (bladder-neck rotation about the
meatus plus descent), middle (along the vaginal axis) and posterior (perineal) vectors, 1-4 cm
relative to the pubococcygeal line, and the anorectal junction moves back (angle opening);
defecation empties the ampulla and opens the anal canal.  Bones move only rigidly (patient
motion).  Every frame is rebuilt from its landmarks, so labels follow the image exactly.
*Image*: a tissue-class map rasterised at 3x (PIL), averaged down (partial volume; labels are
the majority organ of the same sub-pixels, one piece per organ); per-class means drawn around
a sequence template (T2 HASTE, optionally fat-suppressed, bSSFP, T1 GRE); texture from smooth
random fields and fat septa tied to tissue by a landmark RBF warp; smooth bias (to +-40 %,
coil hot spot), bSSFP banding, Gibbs ringing, blur, motion blur or ghosts in a few frames,
Gaussian or Rician noise (SNR 4-40), random scale and offset, float32 or int16.  *Geometry*:
matrix 224-288 per axis, spacing 1.1-1.5 mm per axis, FOV shift, in-plane rotation up to 10
degrees.  The NIfTI holds the frames in one of eight transposed/flipped layouts with a true
sagittal affine; each case is read back through core.io and checked.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.special import ndtr

ROOT = Path(__file__).resolve().parents[1]
SS = 3  # supersampling factor of the tissue map

# name, organ label, relative signal for T2 HASTE, bSSFP, T1 GRE
TISSUES = (
    ("air", 0, 0.00, 0.00, 0.00), ("skin", 0, 0.45, 0.40, 0.50), ("fat", 0, 0.78, 0.82, 0.95),
    ("muscle", 0, 0.20, 0.22, 0.35), ("fibrous", 0, 0.08, 0.10, 0.22),
    ("cortex", 0, 0.03, 0.03, 0.05), ("marrow", 0, 0.50, 0.58, 0.72),
    ("annulus", 0, 0.18, 0.25, 0.30), ("nucleus", 0, 0.65, 0.55, 0.30),
    ("csf", 0, 0.98, 1.00, 0.10), ("artery", 0, 0.05, 0.90, 0.75), ("vein", 0, 0.70, 0.85, 0.45),
    ("bowel_wall", 0, 0.32, 0.35, 0.40), ("bowel_fluid", 0, 0.90, 0.92, 0.12),
    ("chyme", 0, 0.50, 0.55, 0.35), ("gas", 0, 0.01, 0.01, 0.01), ("stool", 0, 0.38, 0.42, 0.50),
    ("urethra", 0, 0.24, 0.30, 0.35), ("mucosa", 0, 0.60, 0.50, 0.30),
    ("ovary", 0, 0.45, 0.45, 0.35), ("fluid", 0, 1.00, 1.00, 0.10),
    ("bladder_wall", 1, 0.20, 0.26, 0.35), ("urine", 1, 1.00, 0.95, 0.07),
    ("myometrium", 2, 0.48, 0.42, 0.38), ("junctional", 2, 0.18, 0.28, 0.36),
    ("endometrium", 2, 0.85, 0.70, 0.40), ("cervix", 2, 0.15, 0.25, 0.35),
    ("fibroid", 2, 0.12, 0.20, 0.34), ("vagina_wall", 2, 0.26, 0.30, 0.36),
    ("vagina_lumen", 2, 0.60, 0.50, 0.30), ("vagina_gel", 2, 0.95, 0.92, 0.12),
    ("rectal_wall", 3, 0.26, 0.30, 0.38), ("rectal_gel", 3, 0.95, 0.92, 0.12),
    ("rectal_stool", 3, 0.40, 0.45, 0.50), ("rectal_gas", 3, 0.01, 0.01, 0.01),
)
K = {t[0]: i for i, t in enumerate(TISSUES)}
ORGAN_OF = np.array([t[1] for t in TISSUES], np.uint8)
TEMPLATE = np.array([t[2:] for t in TISSUES], np.float64)
SEQUENCES = ("t2_haste", "bssfp", "t1_gre")

MEAN = {  # rest positions in mm: x anterior->posterior, y head->feet
    "sym_top": (0, 0), "sym_bot": (10, 40), "promontory": (76, -82), "s2": (98, -59),
    "s3": (114, -36), "s4": (121, -12), "s5": (119, 7), "co1": (111, 22), "co_tip": (100, 33),
    "bladder_neck": (30, 28), "meatus": (20, 68), "introitus": (32, 78), "vag_low": (40, 55),
    "vag_mid": (49, 32), "vag_up": (57, 10), "vag_apex": (66, -6), "rectosigmoid": (90, -42),
    "rectum_up": (96, -14), "ampulla": (86, 12), "anorectal": (70, 44), "anal_mid": (75, 63),
    "anal_verge": (81, 81), "perineal_body": (55, 70), "puborectalis": (86, 51),
}
BONES = ("sym_top", "sym_bot", "promontory", "s2", "s3", "s4", "s5", "co1", "co_tip")
SACRAL = ("promontory", "s2", "s3", "s4", "s5", "co1")
BLADDER = ("bladder_neck", "b_retro", "b_ant", "b_antsup", "b_dome", "b_postsup", "b_post",
           "b_base")
B_EMPTY = ((30, 28), (22, 16), (16, 2), (14, -12), (23, -20), (33, -16), (40, -6), (42, 7))
B_FULL = ((30, 28), (20, 12), (6, -24), (3, -62), (22, -88), (42, -82), (48, -42), (47, 3))
# motion weights: (bladder-neck rotation, anterior, middle, posterior descent)
WEIGHTS = {
    "bladder_neck": (1, 1, 0, 0), "b_retro": (.8, .8, 0, 0), "b_ant": (.3, .5, 0, 0),
    "b_antsup": (0, .3, 0, 0), "b_dome": (0, .3, .1, 0), "b_postsup": (0, .4, .2, 0),
    "b_post": (.2, .7, .3, 0), "b_base": (.5, 1, .2, 0), "meatus": (0, .15, 0, 0),
    "introitus": (0, .1, .05, .1), "vag_low": (.3, .6, .2, .2), "vag_mid": (.7, .9, .5, .1),
    "vag_up": (.4, .8, .7, 0), "vag_apex": (0, .1, 1, 0), "ext_os": (0, 0, 1, 0),
    "int_os": (0, 0, .8, 0), "fundus": (0, 0, .35, 0), "rectosigmoid": (0, 0, .1, .2),
    "rectum_up": (0, 0, 0, .45), "ampulla": (0, 0, 0, .85), "anorectal": (0, 0, 0, 1),
    "anal_mid": (0, 0, 0, .75), "anal_verge": (0, 0, 0, .55), "perineal_body": (0, .1, .1, .45),
    "puborectalis": (0, 0, 0, .9),
}
MODES = ("age", "parity", "bmi", "size", "tilt", "laxity", "bladder", "rectum")
CORR = np.eye(8)
for (_i, _j), _c in {(0, 1): .45, (0, 2): .3, (1, 2): .2, (0, 5): .4, (1, 5): .55,
                     (2, 5): .25, (2, 3): .2}.items():
    CORR[_i, _j] = CORR[_j, _i] = _c
CHOL = np.linalg.cholesky(CORR)


# ----------------------------------------------------------------------------- geometry

def _rot(deg):
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _unit(v):
    v = np.asarray(v, float)
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-12)


def _dir(deg):
    return np.array([np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))])


def _cr(ctrl, step=2.0, closed=False):
    """Centripetal Catmull-Rom samples through ``ctrl`` (N,2), about ``step`` mm apart.
    Returns (points, u): u is the control-point parameter of each sample."""
    p = np.asarray(ctrl, float)
    n = len(p)
    q = np.vstack([p[-1], p, p[0], p[1]]) if closed else \
        np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    pts, us = [], []
    for i in range(n if closed else n - 1):
        p0, p1, p2, p3 = q[i:i + 4]
        t1 = np.hypot(*(p1 - p0)) ** .5 + 1e-6
        t2 = t1 + np.hypot(*(p2 - p1)) ** .5 + 1e-6
        t3 = t2 + np.hypot(*(p3 - p2)) ** .5 + 1e-6
        t = np.linspace(t1, t2, max(2, int(np.ceil(np.hypot(*(p2 - p1)) / step))),
                        endpoint=False)[:, None]
        a1, a2 = ((t1 - t) * p0 + t * p1) / t1, ((t2 - t) * p1 + (t - t1) * p2) / (t2 - t1)
        a3 = ((t3 - t) * p2 + (t - t2) * p3) / (t3 - t2)
        b1, b2 = ((t2 - t) * a1 + t * a2) / t2, ((t3 - t) * a2 + (t - t1) * a3) / (t3 - t1)
        pts.append(((t2 - t) * b1 + (t - t1) * b2) / (t2 - t1))
        us.append(i + (t[:, 0] - t1) / (t2 - t1))
    if not closed:
        pts, us = pts + [p[-1:]], us + [np.array([n - 1.0])]
    return np.vstack(pts), np.concatenate(us)


def _tube(ctrl, radii, step=2.5):
    """Swept-disc tube: centres along a Catmull-Rom curve, radii interpolated per control."""
    c, u = _cr(ctrl, step=step)
    return c, np.interp(u, np.arange(len(ctrl)), np.asarray(radii, float) * np.ones(len(ctrl)))


def _closed(ctrl, step=2.0):
    return _cr(ctrl, step=step, closed=True)[0]


def _area(p):
    return 0.5 * abs(np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1]))


def _outward(p):
    """Outward unit normals of a closed curve."""
    t = np.roll(p, -1, 0) - np.roll(p, 1, 0)
    n = _unit(np.stack([t[:, 1], -t[:, 0]], 1))
    return n if _area(p + n) > _area(p) else -n


def _inset(p, d):
    return p - d * _outward(p)


def _normals(p, sign):
    """Unit normals of an open curve, pointing to +x (posterior) when sign > 0."""
    t = np.gradient(p, axis=0)
    n = _unit(np.stack([t[:, 1], -t[:, 0]], 1))
    return n * np.where(n[:, :1] * sign >= 0, 1, -1)


def _ellipse(c, a, b, ang, n=36):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.asarray(c, float) + np.stack([a * np.cos(t), b * np.sin(t)], 1) @ _rot(ang).T


def _clearance(p, r, cs, rs):
    """Penetration of points p (radius r) into discs (cs, rs): depth, worst disc, offsets."""
    d = p[:, None, :] - cs[None]
    dist = np.hypot(d[..., 0], d[..., 1]) + 1e-9
    pen = rs[None] + r[:, None] - dist
    j = pen.argmax(1)
    return pen[np.arange(len(p)), j], j, d, dist


def _push(p, r, cs, rs, gap=1.0, along=None):
    """Move tube centres p (radii r) out of discs (cs, rs), radially or ``along`` a direction,
    smoothly along the tube."""
    q = p.copy()
    for it in range(10):
        pen, j, d, dist = _clearance(q, r + gap, cs, rs)
        i = np.nonzero(pen > 0)[0]
        if not len(i):
            break
        step = d[i, j[i]] / dist[i, j[i]][:, None] if along is None else _unit(along)[None]
        q[i] += step * (pen[i, None] + (0 if along is None else 0.5))
        if it == 0:
            q = p + ndimage.gaussian_filter1d(q - p, 2.0, axis=0, mode="nearest")
    return q


def _bladder(outline, axis, cs, rs, vc, vr, wall, target=None):
    """Bladder as a star-shaped curve about a centre near ``axis`` (neck, dome): rays shrink
    out of the neighbours (cs, rs) and from behind the vagina (vc, vr), then re-inflate where
    free towards ``target`` area (urine is incompressible).  Returns (outer, inner); radial
    moves never make the curve cross itself."""
    vt = _unit(np.gradient(vc, axis=0))
    vn = np.stack([vt[:, 1], -vt[:, 0]], 1)  # towards the anterior wall, introitus -> apex

    def pen(p, gap=0.8):
        d = p[:, None] - vc[None, 1:-1]
        j = np.hypot(d[..., 0], d[..., 1]).argmin(1) + 1
        along = np.abs(np.sum((p - vc[j]) * vt[j], 1))
        behind = vr[j] + gap - np.sum((p - vc[j]) * vn[j], 1) - 3 * np.maximum(along - 1.5, 0)
        return np.maximum(_clearance(p, np.full(len(p), gap), cs, rs)[0], behind)

    cand = np.vstack([outline.mean(0), axis[0] + np.linspace(0.15, 0.6, 8)[:, None] *
                      (axis[1] - axis[0])])
    pc = pen(cand, 6.0)
    c = cand[0] if pc[0] <= 0 else cand[np.argmin(pc)]
    ang = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    dirs = np.stack([np.cos(ang), np.sin(ang)], 1)
    e, w = np.roll(outline, -1, 0) - outline, outline - c  # farthest crossing of each ray
    cross = lambda a, b: a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]  # noqa: E731
    den = cross(dirs[:, None], e[None])
    den = np.where(abs(den) < 1e-9, 1e-9, den)
    t, uu = cross(w[None], e[None]) / den, cross(w[None], dirs[:, None]) / den
    rho = np.maximum(np.where((t > 0) & (uu >= 0) & (uu <= 1), t, 0).max(1), 2.0)
    a0 = target or 0.95 * _area(c + dirs * rho[:, None])  # rest: the template area...

    def shrink(r):
        for _ in range(14):
            pe = pen(c + dirs * r[:, None])
            if not (pe > 0).any():
                break
            r = np.where(pe > 0, np.maximum(r - pe - 0.3, 1.0), r)
        return r

    rho = shrink(rho)
    if target is None:  # ...but never much more than the room left by the neighbours
        a0 = min(a0, 1.25 * _area(c + dirs * rho[:, None]))
    for _ in range(4):
        deficit = a0 - _area(c + dirs * rho[:, None])
        free = pen(c + dirs * rho[:, None], 2.5) < 0
        if deficit <= 0 or free.sum() < 5:
            break
        grow = np.where(free, min(6.0, deficit / (free.sum() * 2 * np.pi / 120 * rho.mean())), 0)
        rho = shrink(rho + ndimage.gaussian_filter1d(grow, 2.5, mode="wrap"))
    outer = c + dirs * rho[:, None]
    k = 1 / np.clip(np.abs(np.sum(_outward(outer) * dirs, 1)), 0.4, 1)
    return outer, c + dirs * np.maximum(rho - wall * k, 0.3)[:, None]


# ----------------------------------------------------------------------------- subject

def _subject(rng):
    """Landmarks and scalars of one subject: mean shape + correlated modes + noise."""
    m = dict(zip(MODES, CHOL @ rng.standard_normal(8), strict=True))
    u = rng.uniform
    age = float(np.clip(47 + 14 * m["age"], 20, 85))
    meno = age > 51 + rng.normal(0, 2)
    parity = 0 if m["parity"] < -0.35 else int(np.clip(1.5 + 1.2 * m["parity"], 1, 5))
    bmi = float(np.clip(26 + 5 * m["bmi"], 17, 45))
    lax = float(np.clip(0.45 + 0.3 * m["laxity"], 0, 1))
    fill_b, fill_r = float(ndtr(1.1 * m["bladder"])), float(ndtr(m["rectum"]))
    hyst = rng.random() < 0.10
    path = []
    lm = {k: np.array(v, float) for k, v in MEAN.items()}
    for k, e, f in zip(BLADDER[1:], B_EMPTY[1:], B_FULL[1:], strict=True):
        lm[k] = (1 - fill_b) * np.array(e, float) + fill_b * np.array(f, float)
    for k in lm:  # modes: size, tilt of the sacral chain and rectum, sacral curve, laxity
        lm[k] = lm["sym_bot"] + (1 + 0.05 * m["size"]) * (lm[k] - lm["sym_bot"])
    for k in (*SACRAL, "co_tip", "rectosigmoid", "rectum_up", "ampulla", "puborectalis"):
        lm[k] = lm["sym_top"] + _rot(4.0 * m["tilt"]) @ (lm[k] - lm["sym_top"])
    curve = u(-5, 5)
    for k, w in (("s3", .7), ("s4", 1), ("s5", .7)):
        lm[k] += (curve * w, 0)
    rest_drop = lax * u(0, 10) + (4 if parity >= 2 else 0)
    for k, (_, wa, wm, wp) in WEIGHTS.items():
        if k in lm:
            lm[k] += rest_drop * max(wa, wm, wp) * _unit((0.2, 1))
    for k in lm:
        lm[k] += rng.normal(0, 1.5 if k in BONES else 2.2, 2)
    uterus = None
    if hyst:  # vaginal vault only
        path.append("hysterectomy")
        lm["vag_apex"] = lm["vag_up"] + 0.45 * (lm["vag_apex"] - lm["vag_up"]) + (4, 0)
    else:
        retro = rng.random() < 0.18
        if retro:
            th_c, flex = u(-88, -68), u(5, 30)
            th_b = th_c + flex
        else:
            th_c, flex = u(-125, -100), u(10, 60)
            th_b, th_c = th_c - flex + 55 * fill_b, th_c + 15 * fill_b
        scale = 0.65 if meno else 1.0
        lb = (u(42, 54) if parity == 0 else u(52, 66)) * scale * (1 + 0.05 * m["size"])
        rb = u(16, 21) * (1.1 if parity else 1) * (0.7 if meno else 1)
        eo = lm["vag_up"] + 0.75 * (lm["vag_apex"] - lm["vag_up"]) + (-3, 2) + \
            (0 if retro else fill_b * np.array([8, 0]))
        io = eo + u(24, 32) * scale ** .5 * _dir(th_c)
        lm["ext_os"], lm["int_os"], lm["fundus"] = eo, io, io + lb * _dir(th_b)
        uterus = {"retroverted": bool(retro), "version_deg": float(th_c),
                  "flexion_deg": float(flex), "body_radius": float(rb),
                  "endometrium": float(u(0.8, 1.8) if meno else u(2, 7)),
                  "junctional": float(0 if meno else u(3, 7))}
        if retro:
            path.append("retroverted_uterus")
        if rng.random() < (0.22 if 35 < age < 60 else 0.08):
            path.append("fibroid")
            uterus["fibroid"] = (float(u(0.35, 1.0)), float(rng.choice([-1, 1])),
                                 float(u(0.1, 0.9)), float(u(7, 20)))
    vs = u(0.9, 1.1) * (1.12 if parity else 1)
    content = str(rng.choice(["gel", "stool", "gas", "empty"], p=[.45, .25, .12, .18]))
    r_amp = {"gel": u(19, 28), "stool": 14 + 12 * fill_r, "gas": u(12, 20),
             "empty": u(9, 12)}[content]
    defec = (content == "gel" and rng.random() < 0.6) or (content == "stool"
                                                            and rng.random() < 0.2)
    for name, pr in (("cystocele", .25 + .15 * lax), ("rectocele", .22 + .15 * lax),
                     ("enterocele", .35 if hyst else .1), ("descending_perineum", .12 + .1 * lax),
                     ("vault_prolapse" if hyst else "uterine_prolapse", .12 + .1 * lax)):
        if rng.random() < pr:
            path.append(name)
    sub = {
        "modes": {k: float(v) for k, v in m.items()}, "age": age, "postmenopausal": bool(meno),
        "parity": parity, "bmi": bmi, "laxity": lax, "bladder_fill": fill_b,
        "rectal_fill": fill_r, "uterus": uterus, "pathologies": path, "lm": lm,
        "vag_scale": float(vs), "rectal_content": content, "r_amp": float(r_amp),
        "r_up": float(0.45 * r_amp + u(3, 6)), "r_rs": float(u(9, 13)),
        "r_arj": float(u(7, 9.5)), "r_anal": float(u(6.5, 8.5)),
        "rect_wall": float(u(4, 5) if content == "empty" else u(2.5, 3.8)),
        "bladder_wall": float(5.5 - 3 * fill_b + u(-0.5, 0.5)), "defecation": bool(defec),
        "gel_bubble": bool(content == "gel" and rng.random() < 0.4),
        "vaginal_gel": bool(rng.random() < (0.45 if content == "gel" else 0.1)),
        "ant_fat": float(np.clip(8 + (bmi - 20) * 1.6, 6, 50)),
        "post_fat": float(np.clip(6 + (bmi - 20) * 1.3, 5, 45)),
        "belly": max(0.0, bmi - 26) * 1.5, "r_rectus": float(u(4, 6.5)),
        "r_urethra": float(u(4, 5.5)), "pubis_hw": float(u(7, 9)),
        "symph_disc": bool(rng.random() < 0.5), "obturator": bool(rng.random() < 0.35),
        "gluteal": bool(rng.random() < 0.6),
        "ovary": bool(uterus and not meno and rng.random() < 0.3),
        "free_fluid": bool(uterus and rng.random() < 0.15), "r_aorta": float(u(7, 10)),
    }
    sub["spine"] = _spine(lm, rng, age)
    sub["stool_bubbles"] = [(u(0.3, 2.6), u(-0.8, 0.8), u(1.2, 4))
                            for _ in range(rng.integers(3, 9))]
    sub["plexus"] = [(str(rng.choice(["vag_up", "vag_apex", "vag_mid", "sym_bot"])),
                      rng.normal(0, 9, 2), u(1.2, 3)) for _ in range(rng.integers(3, 8))]
    sub["follicles"] = [(rng.normal(0, 4, 2), u(1.5, 4.5)) for _ in range(rng.integers(2, 6))]
    _bowel(sub, rng)
    return sub


def _spine(lm, rng, age):
    """Lumbar chain on the S1 endplate: bodies, discs, posterior and anterior lines."""
    u = rng.uniform
    up = -_unit(lm["s2"] - lm["promontory"])
    a = lm["promontory"].copy()
    p = a + u(32, 38) * np.array([-up[1], up[0]])
    bodies, discs, back = [], [], [p.copy()]
    for level in range(5):  # L5..L1: wedge discs and bodies make the lordosis
        da = u(9, 12) * (0.75 if age > 60 else 1)
        a1, p1 = a + up * da, p + up * da * u(0.45, 0.65)
        discs.append(np.array([a, p, p1, a1]))
        post = _unit(p1 - a1)
        up = np.array([post[1], -post[0]])
        ha = u(25, 29)
        a, p = a1 + up * ha, p1 + up * ha * (0.88 if level == 0 else 0.97)
        bodies.append(np.array([a1, p1, p, a]))
        back += [p1, p]
        post = _unit(p - a)
        up = np.array([post[1], -post[0]])
    front = sorted([b[0] for b in bodies] + [b[3] for b in bodies], key=lambda q: -q[1])
    return {"bodies": bodies, "discs": discs, "back": np.array(back + [p + up * 200]),
            "front": np.array(front + [a + up * 200]), "canal": u(13, 17),
            "nucleus": 0.4 if age > 55 else 1.0}


def _rectus_line(sub):
    top, b = sub["lm"]["sym_top"], sub["belly"]
    return np.array([top + (-8, -2), top + (-13 - .1 * b, -40), top + (-18 - .4 * b, -100),
                     top + (-22 - .7 * b, -170), top + (-24 - .8 * b, -260),
                     top + (-24 - .8 * b, -480)])


def _bowel(sub, rng):
    """Small-bowel loops packed into the abdomen above the pelvic organs, and the sigmoid."""
    lm, u = sub["lm"], rng.uniform
    rect, front = _rectus_line(sub), sub["spine"]["front"]
    busy = [lm[k] for k in ("b_dome", "b_postsup", "b_antsup", "rectosigmoid", "vag_apex")]
    if sub["uterus"]:
        busy += [lm["fundus"], 0.5 * (lm["fundus"] + lm["int_os"]), lm["int_os"]]
    busy, loops = np.array(busy), []
    for _ in range(600):
        y, r = u(-330, -20), u(7, 18)
        xa = np.interp(y, rect[::-1, 1], rect[::-1, 0]) + sub["r_rectus"] + 2 + r
        xp = np.interp(y, front[::-1, 1], front[::-1, 0]) - 2 * sub["r_aorta"] - 6 - r
        if xp <= xa:
            continue
        c = np.array([u(xa, xp), y])
        if np.min(np.hypot(*(busy - c).T)) < r + 10 or \
                any(np.hypot(*(c - q["c"])) < 0.8 * (r + q["r"]) for q in loops):
            continue
        kind = str(rng.choice(["fluid", "chyme", "gas", "mixed"], p=[.35, .35, .12, .18]))
        loops.append({"c": c, "r": r, "ar": u(0.6, 1.0), "ang": u(0, 180), "kind": kind,
                      "wall": u(1.5, 3), "gas": u(0.2, 0.6)})
        if len(loops) >= 45:
            break
    sub["loops"] = loops
    p = lm["rectosigmoid"] + (-4, -20)
    pts = [lm["rectosigmoid"], p]
    for _ in range(rng.integers(3, 6)):
        p = np.clip(p + _dir(u(-180, 0)) * u(18, 30), (20, -150), (105, -45))
        pts.append(p)
    sub["sigmoid"] = {"pts": np.array(pts), "r": u(9, 15),
                      "kind": str(rng.choice(["stool", "gas", "fluid"], p=[.6, .25, .15]))}


# ----------------------------------------------------------------------------- motion

def _smooth_knots(times, values, n):
    """Cosine-eased piecewise curve through (times, values), sampled at 0..n-1."""
    t, times, values = np.arange(n, dtype=float), np.asarray(times, float), np.asarray(values)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    w = np.clip((t - times[i]) / np.maximum(times[i + 1] - times[i], 1e-9), 0, 1)
    return values[i] + (0.5 - 0.5 * np.cos(np.pi * w)) * (values[i + 1] - values[i])


def _motion(rng, sub):
    """Strain curve, defecation, compartment descent vectors and rigid patient motion."""
    u = rng.uniform
    n = int(rng.integers(15, 41))
    tk, sk = [0, int(rng.integers(2, 5))], [0.0, 0.0]
    squeeze = rng.random() < 0.2
    if squeeze:  # a brief pelvic-floor contraction lifts the organs first
        tq = tk[-1] + int(rng.integers(2, 4))
        tk, sk = tk + [tq, tq + 2], sk + [-u(0.15, 0.35), 0.0]
    first = True
    while tk[-1] < n - 1:  # efforts: ramp, hold, partial recovery
        peak = u(0.9, 1.0) if first else u(0.5, 1.0)
        t0 = tk[-1] + int(rng.integers(2, 6))
        t1 = t0 + int(rng.integers(3, 10))
        t2 = t1 + int(rng.integers(2, 5))
        tk += [t0, t1, t2, t2 + int(rng.integers(1, 4))]
        low = u(0.1, 0.5)
        sk += [peak, peak * u(0.92, 1.05), low, low]
        first = False
    s = _smooth_knots(tk, sk, n)
    s += rng.normal(0, 0.015, n) * (s > 0.5)
    evac = np.zeros(n)
    if sub["defecation"]:
        start = int(np.argmax(s > 0.85)) + 1
        dur = rng.integers(3, 9)
        evac = _smooth_knots([0, start, start + dur, max(n, start + dur + 1)], [0, 0, 1, 1], n)
    lax, path, lm = 0.8 + 0.5 * sub["laxity"], sub["pathologies"], sub["lm"]
    mo = {
        "n": n, "s": s, "evac": evac, "peak": int(np.argmax(s)), "squeeze": bool(squeeze),
        "dt": float(np.round(u(0.7, 2.0), 3)),
        "alpha": min(30.0, (u(15, 28) if "cystocele" in path else u(5, 18)) * lax),
        "Da": min(32, (u(18, 28) if "cystocele" in path else u(6, 14)) * lax)
        * _unit((0.15, 1)),
        "Dm": min(38, (u(24, 34) if {"uterine_prolapse", "vault_prolapse"} & set(path) else
                       u(8, 18)) * lax) * _unit(lm["introitus"] - lm["vag_apex"]),
        "Dp": min(38, (u(28, 36) if "descending_perineum" in path else u(12, 25)) * lax)
        * _unit((0.25, 1)),
        "ara": np.array([u(3, 8), 0.0]), "evac_shift": np.array([u(3, 8), u(3, 8)]),
        "abdomen": u(2, 10), "bowel_drop": u(4, 12),
        "rectocele": (u(0.45, 0.95), u(9, 16), u(8, 22)) if "rectocele" in path else None,
        "enterocele": (u(10, 15), u(0.8, 1.1)) if "enterocele" in path else None,
    }
    walk = np.cumsum(rng.normal(0, 0.25, (n, 3)), 0) * (1, 1, 0.08)
    mo["rigid"] = walk + s[:, None] * np.array([u(-2, 2), u(-3, 3), u(-1.5, 1.5)])
    mo["loops_phase"] = rng.uniform(0, 2 * np.pi, len(sub["loops"]))
    return mo  # rigid: (dx, dy mm, rotation deg) per frame


def _frame_lm(sub, mo, t):
    """Landmarks of frame t in the pelvis frame (bones do not move here)."""
    s, e, base = mo["s"][t], mo["evac"][t], sub["lm"]
    rot = _rot(mo["alpha"] * s) - np.eye(2)
    lm = {}
    for k, p in base.items():
        wr, wa, wm, wp = WEIGHTS.get(k, (0, 0, 0, 0))
        lm[k] = p + s * (wa * mo["Da"] + wm * mo["Dm"] + wp * mo["Dp"]) + \
            wr * rot @ (p - base["meatus"])
    for k, w in (("anorectal", 1), ("puborectalis", .8), ("anal_mid", .5)):
        lm[k] = lm[k] + w * (s * mo["ara"] + e * mo["evac_shift"])
    return lm


# ----------------------------------------------------------------------------- scene

class Scene:
    """Draw list of one frame in body mm: polygons and swept-disc tubes, painted in order;
    ``clip`` = (skin outline, its inset): nothing outside the body, skin stays skin."""

    def __init__(self):
        self.items, self.clip = [], None

    def poly(self, cls, pts, inset=0.0):
        pts = np.asarray(pts, float)
        self.items.append(("p", K[cls], _inset(pts, inset) if inset else pts))

    def tube(self, cls, cen, rad):
        rad = np.asarray(rad, float) * np.ones(len(cen))
        if (rad > 0.3).any():
            self.items.append(("t", K[cls], np.asarray(cen, float)[rad > 0.3], rad[rad > 0.3]))

    def disc(self, cls, c, r):
        self.tube(cls, np.asarray(c, float)[None], [r])


def _bones(sc, sub, lm):
    """Lumbar spine, thecal sac, spinous processes, paraspinal muscle, sacrum, coccyx, pubis."""
    sp, back = sub["spine"], sub["spine"]["back"]
    nb = _normals(back, +1)
    canal = back + nb * (sp["canal"] / 2)
    ant, uu = _cr(np.array([lm[k] for k in SACRAL]), step=2)
    n = _normals(ant, +1)
    prof = lambda v: np.interp(uu, np.arange(6), v)[:, None]  # noqa: E731
    body, can, crest = prof([32, 25, 18, 14, 10, 7]), prof([12, 9, 6, 4, 2, 0.5]), \
        prof([10, 9, 8, 7, 5, 3])
    low = uu < 3.6  # paraspinal muscle over the lumbar spine and upper sacrum
    sc.tube("muscle", np.vstack([(ant + n * (body + can + crest + 10))[low][::-1],
                                 (back + nb * (sp["canal"] + 28))[1:]]),
            np.concatenate([np.linspace(8, 20, low.sum()), np.full(len(back) - 1, 24)]))
    for d in sp["discs"]:
        ax = _unit(d[1] - d[0])
        sc.poly("annulus", _closed(d, 1.5))
        sc.poly("nucleus" if sp["nucleus"] > .5 else "annulus",
                _ellipse(d.mean(0), 11, 2.5, np.degrees(np.arctan2(ax[1], ax[0]))))
    for b in sp["bodies"]:  # rounded corners
        rr = _closed(np.vstack([b[i] + .14 * (b[(i + d) % 4] - b[i]) for i in range(4)
                                for d in (-1, 1)]), 1.5)
        sc.poly("cortex", rr)
        sc.poly("marrow", rr, 1.8)
    sc.tube("csf", canal, sp["canal"] / 2)
    sc.tube("fibrous", canal + nb * (sp["canal"] / 2 + 1.5), 1.5)
    for b in sp["bodies"]:
        base = 0.5 * (b[1] + b[2]) + _unit(b[1] - b[0]) * (sp["canal"] + 2)
        tip = base + _unit(_unit(b[1] - b[0]) * 1.0 + _unit(b[0] - b[3]) * 0.35) * 27
        sc.tube("cortex", [base, tip], [7, 6])
        sc.tube("marrow", [base, tip], [5.5, 4.5])

    def band(d0, d1, trim=0):  # sacrum between two depths behind its anterior surface
        sl = slice(trim, len(ant) - trim)
        return np.vstack([(ant + n * d0)[sl], (ant + n * d1)[sl][::-1]])

    sc.poly("cortex", band(0, body + can + crest))
    sc.poly("marrow", band(1.6, body - 1.6, 1))
    sc.poly("fat", band(body, body + can))
    top = uu < 1.3
    sc.poly("csf", np.vstack([(ant + n * body)[top], (ant + n * (body + can))[top][::-1]]))
    sc.poly("marrow", band(body + can + 1.6, body + can + crest - 1.6, 1))
    for j in (1, 2, 3, 4):  # residual discs
        i = int(np.argmin(abs(uu - j)))
        sc.tube("nucleus" if (j == 1 and sp["nucleus"] > .5) else "annulus",
                [ant[i] + n[i] * 2, ant[i] + n[i] * (body[i, 0] - 2)], 1.0)
    cc = np.array([lm["co1"], 0.5 * (lm["co1"] + lm["co_tip"]), lm["co_tip"]])
    sc.tube("cortex", cc, [5.5, 4.5, 3.2])
    sc.tube("marrow", cc, [4, 3.2, 2])
    sc.disc("annulus", cc[1], 1.8)
    a, b = lm["sym_top"], lm["sym_bot"]
    ax = b - a
    oval = _ellipse(0.5 * (a + b), np.hypot(*ax) / 2 + 3, sub["pubis_hw"],
                    np.degrees(np.arctan2(ax[1], ax[0])))
    sc.poly("cortex", oval)
    sc.poly("marrow", oval, 2.0)
    if sub["symph_disc"]:
        sc.tube("fibrous", [a + 0.1 * ax, b - 0.1 * ax], 1.4)


def _body_outline(sub, lm, bulge):
    """Skin outline: abdominal wall (bulging with strain), mons, perineum, buttocks, back."""
    af, pf, b = sub["ant_fat"], sub["post_fat"], sub["belly"]
    rect = _rectus_line(sub)
    ys = rect[:, 1]
    ant = rect - np.stack([sub["r_rectus"] + af * (1 + 0.5 * np.clip(-ys / 150, 0, 1)) + b * .3
                           + bulge * np.clip(-ys / 80, 0, 1), 0 * ys], 1)
    mons, sp = 0.7 * af, sub["spine"]
    back = sp["back"] + _normals(sp["back"], +1) * (sp["canal"] + 52 + pf)
    pts = [ant[-1] + (0, -300), *ant[::-1][:-1],
           lm["sym_top"] + (-10 - mons, 18), lm["sym_bot"] + (-14 - .8 * mons, 12),
           lm["meatus"] + (-14 - .4 * mons, 14), lm["introitus"] + (-4, 9),
           lm["perineal_body"] + (0, 15), lm["anal_verge"] + (4, 5),
           lm["anal_verge"] + (32, 12 + .3 * pf), lm["co_tip"] + (62 + pf, 40),
           *[lm[k] + (d + pf, 0) for k, d in (("s5", 60), ("s3", 55), ("s2", 50))],
           *[q for q in back[2:] if q[1] < lm["promontory"][1]]]
    return _closed(np.array(pts + [pts[-1] + (0, -300)]), 3.0)


def _surroundings(sc, sub, mo, t, lm):
    """Everything but the three organs, in painting order."""
    s = mo["s"][t]
    sp = max(s, 0)
    outline = _body_outline(sub, lm, mo["abdomen"] * s)
    sc.poly("skin", outline)
    sc.poly("fat", outline, 2.2)
    sc.clip = (outline, _inset(outline, 2.2))
    sc.tube("skin", [lm["anal_verge"] + (4, 4), lm["co_tip"] + (22, 22)], 1.4)  # natal cleft
    sc.tube("air", [lm["anal_verge"] + (5, 6), lm["co_tip"] + (24, 25)], 0.6)
    if sub["gluteal"]:
        sc.poly("muscle", _ellipse(lm["co_tip"] + (50 + .5 * sub["post_fat"], 40), 26, 42, 60))
    rect = _rectus_line(sub)
    rect[:, 0] -= mo["abdomen"] * s * np.clip(-rect[:, 1] / 80, 0, 1)
    sc.tube("muscle", *_tube(rect, sub["r_rectus"] * np.array([1, 1.1, 1.2, 1.2, 1.2, 1.2]),
                             step=4))
    if sub["obturator"]:  # partial volume of obturator internus and the pubic ramus
        sc.poly("muscle", _ellipse(lm["sym_bot"] + (-4, 14), 16, 7, 30))
        sc.poly("cortex", _ellipse(lm["sym_bot"] + (-8, 10), 7, 3.5, 35))
    drop = mo["bowel_drop"] * s
    for q, ph in zip(sub["loops"], mo["loops_phase"], strict=True):
        c = q["c"] + (-0.3 * drop, drop * np.clip((q["c"][1] + 250) / 150, 0.2, 1))
        wob = 1 + 0.08 * np.sin(ph + 0.9 * t)  # peristalsis
        outer = _ellipse(c, q["r"] * wob, q["r"] * q["ar"] / wob, q["ang"], 28)
        inner = _inset(outer, q["wall"])
        sc.poly("bowel_wall", outer)
        sc.poly({"fluid": "bowel_fluid", "gas": "gas"}.get(q["kind"], "chyme"), inner)
        if q["kind"] == "mixed":  # supine: gas rises anteriorly, its level is a vertical line
            xl = inner[:, 0].min() + q["gas"] * np.ptp(inner[:, 0])
            sc.poly("gas", np.vstack([inner[inner[:, 0] <= xl], (xl, c[1])]))
    sg = sub["sigmoid"]
    sgp = sg["pts"] + np.array([0.3, 1]) * drop * 0.6
    sgp[0] = lm["rectosigmoid"]
    cen, rad = _tube(sgp, sg["r"])
    sc.tube("bowel_wall", cen, rad)
    sc.tube({"stool": "stool", "gas": "gas", "fluid": "bowel_fluid"}[sg["kind"]], cen, rad - 2.5)
    front, ra = sub["spine"]["front"], sub["r_aorta"]
    sc.tube("artery", (front + _normals(front, -1) * (ra + 2))[2:], ra)
    l5 = sub["spine"]["bodies"][0]
    sc.poly("vein", _ellipse(0.5 * (l5[0] + l5[3]) - (8, 0), 8, 5.5, 80))
    for q in sub["loops"][:6]:
        sc.disc("vein", q["c"] + (q["r"] + 3, 0), 1.5)
    sc.tube("muscle", *_tube([lm["puborectalis"], lm["co_tip"]], [4.5, 3.5]))  # levator plate
    sc.disc("muscle", lm["puborectalis"], 7.5)
    sc.tube("fibrous", [lm["anal_mid"] + (9, 0), lm["co_tip"] + (2, 4)], 2.2)  # anococcygeal
    ac = [lm["anorectal"] + 0.3 * (lm["anal_mid"] - lm["anorectal"]), lm["anal_mid"],
          lm["anal_verge"]]
    sc.tube("muscle", *_tube(ac, sub["r_anal"] + np.array([4, 5.5, 4.5])))  # ext. sphincter
    sc.disc("muscle", lm["perineal_body"], 10)
    sc.disc("fibrous", lm["perineal_body"] + (2, 2), 3)
    for name, off, r in sub["plexus"]:
        sym = name == "sym_bot"
        sc.disc("vein", lm[name] + off * (0.6 if sym else 1) + ((0, 12) if sym else (0, 0)), r)
    if sub["uterus"] and sub["ovary"]:
        oc = lm["fundus"] + _unit(lm["fundus"] - lm["int_os"]) * 6 + (20, -4)
        sc.poly("ovary", _ellipse(oc, 15, 10, 30))
        for off, r in sub["follicles"]:
            sc.disc("fluid", oc + off, r)
    if sub["uterus"] and sub["free_fluid"]:
        sc.disc("fluid", 0.5 * (lm["vag_apex"] + lm["rectum_up"]) + (0, -6), 6 + 3 * sp)
    cen, rad = _tube([lm["bladder_neck"] + (2, -3), 0.5 * (lm["bladder_neck"] + lm["meatus"])
                      + (-1, 0), lm["meatus"]], sub["r_urethra"] + np.array([1, 0, -1]))
    sc.tube("urethra", cen, rad)
    sc.tube("mucosa", cen, 1.2)
    _bones(sc, sub, lm)


def _scene(sub, mo, t, lm):
    """Draw list of frame t and the landmarks measured against the pubococcygeal line."""
    sc = Scene()
    _surroundings(sc, sub, mo, t, lm)
    e, sp, u = mo["evac"][t], max(mo["s"][t], 0), sub["uterus"]
    ent = None  # enterocele: a small-bowel loop sliding down between vagina and rectum
    if mo["enterocele"]:
        p0 = 0.5 * (lm["vag_apex"] + lm["rectum_up"]) + (0, -14)
        p1 = 0.5 * (lm["vag_mid"] + lm["ampulla"]) + (0, 6)
        ent = (p0 + sp ** 1.2 * (p1 - p0), mo["enterocele"][0])
    # a bladder core that the others leave free: nothing crushes the bladder
    bctrl, bax = np.array([lm[k] for k in BLADDER]), (lm["bladder_neck"] + (-3, -4), lm["b_dome"])
    core = (bax[0][None] + 0.3 * (bax[1] - bax[0]),
            np.array([np.clip(0.3 * np.sqrt(_area(bctrl) / np.pi), 5, 12)]))
    # rectum yields to bone and the enterocele (the anal canal does not), and flattens where
    # the vagina would have no room in front of it
    sac, _ = _cr(np.array([lm[k] for k in SACRAL] + [lm["co_tip"]]), step=3)
    op = float(np.sin(np.pi * e) ** 0.6) if sub["defecation"] else 0.0  # anal canal opening
    rrad = np.array([sub["r_rs"], sub["r_up"] * (1 - 0.3 * e), sub["r_amp"] * (1 - 0.6 * e),
                     sub["r_arj"] + 3 * op, sub["r_anal"] + 2 * op, sub["r_anal"] - 1 + 2 * op])
    rc, ru = _cr(np.array([lm[k] for k in ("rectosigmoid", "rectum_up", "ampulla", "anorectal",
                                           "anal_mid", "anal_verge")]), step=2.5)
    rr = np.interp(ru, np.arange(6), rrad)
    obs_c, obs_r = sac, np.full(len(sac), 3.0)
    if ent is not None:
        obs_c, obs_r = np.vstack([obs_c, ent[0]]), np.append(obs_r, ent[1])
    fix = ru < 2.8
    rc[fix] = _push(rc[fix], rr[fix], obs_c, obs_r, gap=2.0)
    room = core[1][0] + 13 * sub["vag_scale"] + 3
    rr = np.minimum(rr, np.maximum(np.hypot(*(rc - core[0]).T) - room, 4.0))
    ant_n = _normals(rc, -1)
    neck = None
    if mo["rectocele"]:  # anterior bulge of the lower rectum, growing with strain
        pos, r_rc, depth = mo["rectocele"]
        i = int(np.argmin(abs(ru - 2 - pos)))
        tip = rc[i] + ant_n[i] * (0.6 * rr[i] + depth * sp)
        r_n = min(r_rc * (0.5 + 0.5 * sp), max(np.hypot(*(tip - core[0][0])) - room, 3.0))
        neck = (np.array([rc[i], tip]), np.array([0.8 * r_n, r_n]))
    rect_c = rc if neck is None else np.vstack([rc, neck[0], neck[0].mean(0)])
    rect_r = rr if neck is None else np.concatenate([rr, neck[1], [neck[1].mean()]])
    # vagina and uterus yield to the rectum, the enterocele and the sacrum
    obs_c, obs_r = np.vstack([rect_c, sac]), np.concatenate([rect_r, np.full(len(sac), 3)])
    if ent is not None:
        obs_c, obs_r = np.vstack([obs_c, ent[0]]), np.append(obs_r, ent[1])
    vc, vr = _tube(np.array([lm[k] for k in ("introitus", "vag_low", "vag_mid", "vag_up",
                                             "vag_apex")]),
                   sub["vag_scale"] * np.array([3.5, 5, 6, 6.8, 8.5 if u is None else 7.5]), 2)
    vc[2:] = _push(vc[2:], vr[2:], obs_c, obs_r, along=(-1, -0.3))
    vc[2:] = _push(vc[2:], vr[2:], *core)
    bc, br = [vc, rect_c], [vr, rect_r]
    fib = None
    if u:
        eo, io, fu = lm["ext_os"], lm["int_os"], lm["fundus"]
        rb = u["body_radius"]
        utc, uu = _cr(np.array([eo, 0.5 * (eo + io), io, io + 0.35 * (fu - io), io + 0.68 *
                                (fu - io), fu - _unit(fu - io) * 0.92 * rb]), step=2)
        utr = np.interp(uu, np.arange(6), [8.5, 12.5, 11, 0.85 * rb, rb, 0.92 * rb])
        utc = _push(utc, utr, obs_c, obs_r, along=(-0.8, -0.6))
        utc = _push(utc, utr, *core)  # but never crushes the bladder
        ib = int(np.argmax(uu >= 2))  # internal os: cervix below, body above
        bc, br = bc + [utc], br + [utr]
        if "fibroid" in u:
            fu_, side, off, r_f = u["fibroid"]
            i = int(np.clip(round(fu_ * (len(utc) - 1)), ib, len(utc) - 1))
            tn = _unit(np.gradient(utc, axis=0)[i])
            fib = (utc[i] + np.array([tn[1], -tn[0]]) * side * utr[i] * off, r_f)
            bc, br = bc + [fib[0][None]], br + [[r_f]]
    if ent is not None:
        bc, br = bc + [ent[0][None]], br + [[ent[1]]]
    a, b = lm["sym_top"], lm["sym_bot"]  # and stays behind the pubis and the abdominal wall
    bc.append(a + np.linspace(-0.1, 1.1, 7)[:, None] * (b - a))
    br.append(np.full(7, sub["pubis_hw"] + 2.5))
    rect = _rectus_line(sub)
    rect[:, 0] -= mo["abdomen"] * mo["s"][t] * np.clip(-rect[:, 1] / 80, 0, 1)
    rect = _tube(rect[:3], sub["r_rectus"] + 2.5, step=4)
    bc, br = bc + [rect[0]], br + [rect[1]]
    bo, bi = _bladder(_closed(bctrl, 1.5), bax, np.vstack(bc),
                      np.concatenate(br), vc, vr, sub["bladder_wall"], sub.get("bladder_area"))
    sub.setdefault("bladder_area", _area(bo))  # the first (rest) frame sets the volume
    if ent is not None:
        ell = _ellipse(ent[0], ent[1], ent[1] * mo["enterocele"][1], 70, 28)
        sc.poly("bowel_wall", ell)
        sc.poly("chyme", ell, 2.2)
    sc.poly("bladder_wall", bo)
    sc.poly("urine", bi)
    sc.tube("vagina_wall", vc, vr)
    if sub["vaginal_gel"]:
        sc.tube("vagina_gel", vc[1:], np.maximum(vr[1:] - 2.6, 0))
    else:
        sc.tube("vagina_lumen", vc[1:-1], 1.1)
    if u:  # zonal anatomy; a bridge keeps the cervix on the vaginal vault
        sc.tube("vagina_wall", [vc[-1], utc[0]], [vr[-1] * 0.8, utr[0]])
        sc.tube("myometrium", utc, utr)
        sc.tube("cervix", utc[:ib + 1], utr[:ib + 1] - 0.4)
        body = utc[ib:-1]
        taper = np.linspace(0.5, 1, len(body)) ** 0.5
        if u["junctional"]:
            sc.tube("junctional", body, (u["endometrium"] + u["junctional"]) * taper)
        sc.tube("endometrium", body, u["endometrium"] * taper)
        sc.tube("endometrium", utc[1:ib], 1.0)
        if fib:
            sc.disc("fibroid", *fib)
    content, wall = sub["rectal_content"], sub["rect_wall"]
    lum = np.maximum(rr - wall, 0) * np.where(ru > 3.15, op, 1)  # anal canal shut unless open
    if content == "empty":
        lum = np.minimum(lum, 1.5)
    fill = {"gel": "rectal_gel", "stool": "rectal_stool"}.get(content, "rectal_gas")
    sc.tube("rectal_wall", rc, rr)
    if neck is not None:
        sc.tube("rectal_wall", *neck)
    sc.tube(fill, rc, lum)
    if neck is not None and content != "empty":
        sc.tube(fill, neck[0], neck[1] - wall)
    if content == "stool":
        for pos, lat, r in sub["stool_bubbles"]:
            i = int(np.argmin(abs(ru - pos)))
            if lum[i] > r + 1:
                sc.disc("rectal_gas", rc[i] + ant_n[i] * lat * (lum[i] - r), r)
    if sub["gel_bubble"]:  # supine: gas floats anteriorly
        i = int(np.argmax(lum))
        rb_ = min(6.0, 0.35 * lum[i])
        sc.disc("rectal_gas", rc[i] + ant_n[i] * (lum[i] - rb_ - 0.5), rb_)
    return sc, {"bladder_neck": lm["bladder_neck"], "cervix_or_vault": lm["ext_os"] if u else
                vc[-1] + _unit(vc[-1] - vc[-3]) * vr[-1], "anorectal": lm["anorectal"]}


# ----------------------------------------------------------------------------- image

_CIRCLE = {n: np.stack([np.cos(a), np.sin(a)], 1)
           for n, a in ((m, np.linspace(0, 2 * np.pi, m, endpoint=False)) for m in (12, 24, 40))}


def _raster(scene, a, b, shape):
    """Tissue-class map (shape) of a scene; (a, b) maps body mm to sub-pixel (x, y)."""
    im = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(im)
    px = np.sqrt(abs(np.linalg.det(a)))
    for kind, cls, *g in scene.items:
        if kind == "p":
            if len(g[0]) >= 3:
                draw.polygon((g[0] @ a.T + b).ravel().tolist(), fill=cls)
            continue
        cen, rad = g  # discs, and the quads between consecutive discs
        q = cen @ a.T + b
        circ = _CIRCLE[12 if rad.max() * px < 6 else 24 if rad.max() * px < 25 else 40] @ a.T
        for j in range(len(cen)):
            draw.polygon((q[j] + rad[j] * circ).ravel().tolist(), fill=cls)
        if len(cen) > 1:
            seg = np.diff(cen, axis=0)
            m = _unit(np.stack([-seg[:, 1], seg[:, 0]], 1))
            quad = np.stack([cen[:-1] + rad[:-1, None] * m, cen[1:] + rad[1:, None] * m,
                             cen[1:] - rad[1:, None] * m, cen[:-1] - rad[:-1, None] * m], 1)
            for qd in quad @ a.T + b:
                draw.polygon(qd.ravel().tolist(), fill=cls)
    out = np.asarray(im)
    if scene.clip is not None:
        masks = []
        for pts in scene.clip:
            m = Image.new("1", (shape[1], shape[0]), 0)
            ImageDraw.Draw(m).polygon((pts @ a.T + b).ravel().tolist(), fill=1)
            masks.append(np.asarray(m))
        out = np.where(masks[1], out, np.where(masks[0], np.uint8(K["skin"]), np.uint8(0)))
    return out


def _geometry(rng, sub):
    """Matrix, spacing, in-plane rotation and FOV centre (organs kept inside)."""
    h, w = (int(v) for v in rng.integers(224, 289, 2))
    sr, sc = (float(v) for v in np.round(rng.uniform(1.1, 1.5, 2), 3))
    if rng.random() < 0.5:
        sc = sr
    theta = float(rng.uniform(-10, 10))
    lm = sub["lm"]
    box = np.array([lm[k] for k in ("b_dome", "b_antsup", "rectosigmoid", "anal_verge",
                                    "introitus", "co_tip", "sym_top")
                    + (("fundus",) if sub["uterus"] else ())])
    box = np.vstack([box.min(0) - (12, 15), box.max(0) + (12, 40)])
    corners = np.array([[box[i, 0], box[j, 1]] for i in (0, 1) for j in (0, 1)])
    mid = box.mean(0) - (0, 0.5 * max(0.0, h * sr - 240))  # large FOV: more abdomen, less air
    centre = box.mean(0)
    for _ in range(30):
        c = mid + rng.uniform(-1, 1, 2) * (25, 20)
        q = (corners - c) @ _rot(-theta).T / (sc, sr)
        if np.all(abs(q[:, 0]) < w / 2 - 3) and np.all(abs(q[:, 1]) < h / 2 - 3):
            centre = c
            break
    return {"shape": (h, w), "spacing": (sr, sc), "theta": theta, "centre": centre}


def _to_image(geo, rigid):
    """Affine (a, b): body mm -> 1x pixel (x=col, y=row), with patient motion (dx, dy, deg)
    about the pelvis: world = R(p - piv) + piv + shift; pixel = R(-theta)(world - c)/sp + mid."""
    (h, w), (sr, sc), piv = geo["shape"], geo["spacing"], np.array([50.0, 10.0])
    rm, s = _rot(rigid[2]), np.diag([1 / sc, 1 / sr]) @ _rot(-geo["theta"])
    return s @ rm, s @ (piv - rm @ piv + rigid[:2] - geo["centre"]) + ((w - 1) / 2, (h - 1) / 2)


def _contrast(rng, sub):
    """Sequence, class means around its template, and texture amplitudes per class."""
    seq, n = int(rng.choice(3, p=[.5, .33, .17])), len(TISSUES)
    mean = TEMPLATE[:, seq] * np.exp(rng.normal(0, 0.15, n)) + rng.normal(0, 0.02, n)
    fatsat = seq == 0 and rng.random() < 0.15
    if fatsat:
        mean[[K["fat"], K["marrow"]]] *= (0.15, 0.35)
    mean[K["vagina_lumen"]] = rng.uniform(0.2, 0.9) * mean[K["urine"]]
    if sub["postmenopausal"]:  # no zonal contrast
        mean[K["myometrium"]] *= 0.7
        mean[K["endometrium"]] = 0.5 * (mean[K["endometrium"]] + mean[K["myometrium"]])
    if seq == 2 and rng.random() < 0.3:  # gadolinium-doped gel
        mean[[K["rectal_gel"], K["vagina_gel"]]] = rng.uniform(0.8, 1.0)
    if rng.random() < 0.25:  # degenerating fibroid
        mean[K["fibroid"]] = rng.uniform(0.3, 0.8)
    mean[0] = 0.0
    amp = rng.uniform(0, 1, (n, 4)) * (0.06, 0.07, 0.08, 0)  # fine, medium, coarse, septa
    amp[[K["stool"], K["rectal_stool"], K["chyme"]], 0] = rng.uniform(0.15, 0.35, 3)
    amp[K["marrow"], 0] = rng.uniform(0.05, 0.15)
    amp[K["fat"], 3] = -rng.uniform(0.1, 0.4)
    amp[0] = 0
    return SEQUENCES[seq], bool(fatsat), np.clip(mean, 0, None), amp


def _fields(rng, lo, hi):
    """Smooth random fields on a 1 mm grid of body coordinates (fine, medium, coarse, septa)."""
    shape = tuple(int(v) for v in np.ceil(hi - lo)[::-1] + 1)
    out = []
    for sig in (0.8, 3.0, 10.0):
        f = ndimage.gaussian_filter(rng.standard_normal(shape), sig)
        out.append(f / (f.std() + 1e-9))
    g = rng.standard_normal(shape)
    dog = ndimage.gaussian_filter(g, 1.5) - ndimage.gaussian_filter(g, 5)
    out.append(ndimage.gaussian_filter(np.exp(-(dog / (0.25 * dog.std())) ** 2), 0.6))
    return np.stack(out).astype(np.float32)


def _bias(rng, h, w):
    """Smooth multiplicative bias: Legendre polynomials to degree 3, maybe a coil hot spot."""
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    leg = np.polynomial.legendre.legval
    field = sum(rng.normal() * leg(xx, np.eye(4)[i]) * leg(yy, np.eye(4)[j]) / (1 + i + j)
                for i in range(4) for j in range(4 - i))
    if rng.random() < 0.5:
        c = rng.uniform(-1, 1, 2)
        field = field + rng.uniform(0.5, 1.5) * np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2)
                                                       / 0.3)
    field = field - field.mean()
    strength = rng.uniform(0.05, 0.4)
    return np.exp(field * np.log1p(strength) / (abs(field).max() + 1e-9)), float(strength)


def _artefacts(rng, frames, seq):
    """bSSFP banding, Gibbs ringing, blur, motion blur or ghosts, noise, scale, storage type."""
    n, h, w = frames.shape
    if seq == "bssfp" and rng.random() < 0.3:  # off-resonance grows off-centre
        yy, xx = np.mgrid[-1:1:h * 1j, -1:1:w * 1j]
        c0 = rng.uniform(-0.3, 0.3, 2)
        ph = np.pi * ((xx - c0[0]) ** 2 + (yy - c0[1]) ** 2) / rng.uniform(0.5, 1.2) ** 2
        band = np.exp(-(np.mod(ph, 2 * np.pi) - np.pi) ** 2 / (2 * 0.12 ** 2))
        frames *= (1 - rng.uniform(0.5, 0.9) * band)[None].astype(np.float32)
    gibbs = rng.random() < 0.4
    ax = int(rng.integers(1, 3))  # phase-encoding axis
    if gibbs:
        keep = abs(np.fft.fftfreq(frames.shape[ax])) <= rng.uniform(0.55, 0.85) / 2
        keep = keep.reshape([-1 if i == ax else 1 for i in range(3)])
        frames = np.abs(np.fft.ifft(np.fft.fft(frames, axis=ax) * keep, axis=ax))
        frames = frames.astype(np.float32)
    blur = float(rng.uniform(0.3, 0.8)) if rng.random() < 0.5 else 0.0
    if blur:
        frames = ndimage.gaussian_filter(frames, (0, blur, blur))
    mblur = sorted(int(v) for v in rng.choice(n, rng.integers(1, 4), replace=False)) \
        if rng.random() < 0.4 else []
    for t in mblur:
        v = _dir(rng.uniform(0, 360)) * rng.uniform(1.5, 4)
        if rng.random() < 0.5:
            frames[t] = np.mean([ndimage.shift(frames[t], k * v[::-1], order=1, mode="nearest")
                                 for k in np.linspace(-0.5, 0.5, 5)], 0)
        else:  # a ghost along the phase-encoding axis
            frames[t] += rng.uniform(0.08, 0.2) * np.roll(frames[t], frames.shape[ax] // 3,
                                                          axis=ax - 1)
    snr = float(np.exp(rng.uniform(np.log(4), np.log(40))))
    sigma = np.float32(frames[frames > 0.05 * np.percentile(frames, 99)].mean() / snr)
    rician = rng.random() < 0.7
    noise = rng.standard_normal((2, *frames.shape), dtype=np.float32) * sigma
    frames = np.sqrt((frames + noise[0]) ** 2 + noise[1] ** 2) if rician else frames + noise[0]
    as_int = rng.random() < 0.5
    if as_int:
        scale = rng.uniform(300, 4000) / np.percentile(frames, 99.5)
        frames = np.clip(np.round(frames * scale + rng.uniform(0, 40)), -32768, 32767)
    else:
        scale = 10 ** rng.uniform(-1, 3)
        frames = frames * scale + rng.uniform(-0.05, 0.05) * scale
    frames = frames.astype(np.int16 if as_int else np.float32).astype(np.float32)
    return frames, {"snr": round(snr, 2), "noise": "rician" if rician else "gaussian",
                    "gibbs": bool(gibbs), "blur_px": round(blur, 2), "motion_blur_frames": mblur,
                    "stored_dtype": "int16" if as_int else "float32"}


def _pool(a, h, w):
    """Sum of each SS x SS block."""
    a = a.reshape(h, SS, w, SS)
    a = a[:, 0] + a[:, 1] + a[:, 2]
    return a[..., 0] + a[..., 1] + a[..., 2]


def _labels(cls3, h, w, lut_code, dropped):
    """Majority organ of each pixel's sub-pixels, one piece per organ; stray fragments are
    dropped from the labels and repainted as fat in the tissue map, so the image agrees."""
    code = _pool(lut_code[cls3], h, w)  # four 4-bit organ counts per pixel
    lab = np.stack([(code >> (4 * k)) & 15 for k in range(4)]).argmax(0).astype(np.uint8)
    for k in (1, 2, 3):
        comp, nc = ndimage.label(lab == k)
        if nc > 1:
            sizes = np.bincount(comp.ravel())[1:]
            stray = (comp > 0) & (comp != 1 + sizes.argmax())
            lab[stray] = 0
            big = np.repeat(np.repeat(ndimage.binary_dilation(stray), SS, 0), SS, 1)
            cls3 = np.where(big & (ORGAN_OF[cls3] == k), np.uint8(K["fat"]), cls3)
            dropped[k - 1] = max(dropped[k - 1], 1 - sizes.max() / sizes.sum())
    return lab, cls3


def generate(seed: int):
    """One case: (frames float32 (T,H,W) as stored, labels uint8 (T,H,W), spacing (row, col)
    mm, params dict).  Deterministic per seed."""
    rng = np.random.default_rng([int(seed), 7_000_003])
    sub = _subject(rng)
    mo = _motion(rng, sub)
    geo = _geometry(rng, sub)
    seq, fatsat, mean, amp = _contrast(rng, sub)
    (h, w), n, (sr, sc) = geo["shape"], mo["n"], geo["spacing"]
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    pix = np.stack([xx.ravel(), yy.ravel()], 1)
    a0, b0 = _to_image(geo, (0, 0, 0))
    body0 = (pix - b0) @ np.linalg.inv(a0).T
    lo, hi = body0.min(0) - 40, body0.max(0) + 40
    fields = _fields(rng, lo, hi)
    # texture follows tissue: Gaussian RBF of the soft landmarks' displacement (bones fixed)
    soft = [k for k in sub["lm"] if k not in BONES]
    ctrl = np.array([sub["lm"][k] for k in soft] + [sub["lm"][k] for k in BONES])
    rbf = lambda p: np.exp(-((p[:, None] - ctrl[None]) ** 2).sum(-1) / (2 * 25.0 ** 2))  # noqa: E731
    kinv = np.linalg.inv(rbf(ctrl) + 1e-3 * np.eye(len(ctrl)))
    coarse = pix.reshape(h, w, 2)[::4, ::4]
    gh, gw = coarse.shape[:2]
    bias, strength = _bias(rng, h, w)
    lut_mean = mean.astype(np.float32)
    lut_code = (1 << (4 * ORGAN_OF.astype(np.uint16))).astype(np.uint16)
    frames, labels = np.empty((n, h, w), np.float32), np.empty((n, h, w), np.uint8)
    meas, dropped = [], [0.0, 0.0, 0.0]
    for t in range(n):
        lm = _frame_lm(sub, mo, t)
        scene, mt = _scene(sub, mo, t, lm)
        meas.append(mt)
        a, b = _to_image(geo, mo["rigid"][t])
        cls3 = _raster(scene, SS * a, SS * b + (SS - 1) / 2, (SS * h, SS * w))
        labels[t], cls3 = _labels(cls3, h, w, lut_code, dropped)
        base = _pool(lut_mean[cls3], h, w) / SS ** 2
        ainv = np.linalg.inv(a)
        disp = np.array([lm[k] - sub["lm"][k] for k in soft] + [np.zeros(2)] * len(BONES))
        dk = rbf((coarse.reshape(-1, 2) - b) @ ainv.T) @ (kinv @ disp)
        grid = ((pix - b) @ ainv.T).reshape(h, w, 2) - lo - \
            np.repeat(np.repeat(dk.reshape(gh, gw, 2), 4, 0), 4, 1)[:h, :w]
        ix = np.clip(np.rint(grid[..., 0]).astype(int), 0, fields.shape[2] - 1)
        iy = np.clip(np.rint(grid[..., 1]).astype(int), 0, fields.shape[1] - 1)
        ccls = cls3[SS // 2::SS, SS // 2::SS]
        frames[t] = base * (1 + np.einsum("ghw,hwg->hw", fields[:, iy, ix],
                                          amp[ccls].astype(np.float32)))
    frames, art = _artefacts(rng, frames * bias[None].astype(np.float32), seq)
    lm0, pk = sub["lm"], mo["peak"]  # measurements against the pubococcygeal line
    pcl = _unit(lm0["co1"] - lm0["sym_bot"])
    below = np.array([-pcl[1], pcl[0]]) * np.sign(pcl[0])

    def ara(tt):
        q = _frame_lm(sub, mo, tt)
        v1, v2 = _unit(q["ampulla"] - q["anorectal"]), _unit(q["anal_mid"] - q["anorectal"])
        return round(float(np.degrees(np.arccos(np.clip(v1 @ v2, -1, 1)))), 1)

    u = sub["uterus"]
    params = {
        "generator": "landmark_generator", "seed": int(seed), "shape": [n, h, w],
        "spacing_mm": [sr, sc], "frame_interval_s": mo["dt"], "sequence": seq,
        "fat_suppressed": fatsat, **art, "bias_strength": round(strength, 3),
        "rotation_deg": round(geo["theta"], 2),
        "fov_centre_mm": [round(float(v), 1) for v in geo["centre"]],
        "pathologies": sub["pathologies"], "age": round(sub["age"], 1), "parity": sub["parity"],
        "bmi": round(sub["bmi"], 1), "postmenopausal": sub["postmenopausal"],
        "uterus": u and {k: round(v, 2) if isinstance(v, float) else v for k, v in u.items()},
        "bladder_fill": round(sub["bladder_fill"], 3), "rectal_content": sub["rectal_content"],
        "vaginal_gel": sub["vaginal_gel"], "defecation": sub["defecation"],
        "squeeze": mo["squeeze"], "strain": [round(float(v), 3) for v in mo["s"]],
        "peak_frame": pk, "below_pcl_mm_rest_peak": {
            k: [round(float((meas[i][k] - lm0["sym_bot"]) @ below), 1) for i in (0, pk)]
            for k in meas[0]},
        "anorectal_angle_deg_rest_peak": [ara(0), ara(pk)],
        "modes": {k: round(v, 3) for k, v in sub["modes"].items()},
        "dropped_fragments": [round(float(v), 4) for v in dropped],
    }
    return frames, labels, (sr, sc), params


# ----------------------------------------------------------------------------- output

def _stored(frames, spacing, rng):
    """Data (W', H', T) in one of eight transposed/flipped layouts, its sagittal RAS affine
    and the operations read_series must undo."""
    n, h, w = frames.shape
    tr, fr, fc = (bool(v) for v in rng.integers(0, 2, 3))
    st = frames[:, ::-1] if fr else frames
    st = st[:, :, ::-1] if fc else st
    st = st.swapaxes(1, 2) if tr else st
    origin = np.array([rng.uniform(-5, 5), rng.uniform(60, 140), rng.uniform(60, 160)])

    def ras(rs, cs):  # stored (row, col) -> canonical (r, c) -> RAS mm (posterior, inferior)
        a, b = (cs, rs) if tr else (rs, cs)
        r, c = (h - 1 - a if fr else a), (w - 1 - b if fc else b)
        return origin + c * spacing[1] * np.array([0, -1, 0]) + r * spacing[0] * np.array(
            [0, 0, -1])

    aff, o = np.eye(4), ras(0, 0)
    aff[:3, 0], aff[:3, 1], aff[:3, 2], aff[:3, 3] = ras(0, 1) - o, ras(1, 0) - o, \
        (rng.uniform(4, 8), 0, 0), o
    ops = [name for name, f in (("transpose", tr), ("flip rows", fr), ("flip columns", fc)) if f]
    return np.ascontiguousarray(st.transpose(2, 1, 0)), aff, ops


def write_case(seed: int, out) -> dict:
    """Generate, write and read back one case; returns its params."""
    import nibabel as nib

    t0 = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    folder = Path(out) / f"landmark_{int(seed):03d}"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([int(seed), 91])
    data, aff, ops = _stored(frames, spacing, rng)
    data = data.astype(np.int16 if params["stored_dtype"] == "int16" else np.float32)
    four_d = bool(rng.random() < 0.5)
    img = nib.Nifti1Image(data[:, :, None, :] if four_d else data, aff)
    img.set_sform(aff, code=1)
    img.set_qform(aff, code=1)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = params["frame_interval_s"]
    img.header["descrip"] = f"landmark seed {int(seed)} {params['sequence']}".encode()
    nib.save(img, folder / "series.nii")
    np.save(folder / "truth.npy", labels)
    params.update(stored_ops=ops, stored_ndim=4 if four_d else 3,
                  generate_s=round(time.perf_counter() - t0, 2))
    (folder / "params.json").write_text(json.dumps(params, indent=1))
    check_case(folder, frames, labels, spacing)
    return params


def check_case(folder, frames, labels, spacing):
    """Read a case back through core.io; raise unless shape, spacing, frames, labels agree,
    every organ is in every frame and the bladder lies anterior to (left of) the rectum."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from core.segment.data import read_labelled_case

    series, lab = read_labelled_case(folder, 4)
    if series.frames.shape != labels.shape or not np.array_equal(lab, labels):
        raise RuntimeError(f"{folder}: read-back shape {series.frames.shape} != {labels.shape}")
    if not np.allclose(series.spacing_mm, spacing, atol=1e-4):
        raise RuntimeError(f"{folder}: spacing {series.spacing_mm} != {spacing}")
    if not np.array_equal(series.frames, frames):
        raise RuntimeError(f"{folder}: frames do not read back in the generated order")
    cols = np.arange(lab.shape[2])
    for t, f in enumerate(lab):
        area = [(f == k).sum() for k in (1, 2, 3)]
        if min(area) == 0:
            raise RuntimeError(f"{folder}: frame {t} misses an organ")
        if not (f == 1).sum(0) @ cols / area[0] < (f == 3).sum(0) @ cols / area[2]:
            raise RuntimeError(f"{folder}: frame {t}: bladder not anterior to the rectum")


def _job(args):
    return args[0], write_case(*args)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0-11", help='e.g. "0-11" or "3,5,7"')
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--workers", type=int, default=1, help="cases in parallel")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from core.seeds import map_jobs, parse_seeds
    jobs = [(s, args.out) for s in parse_seeds(args.seeds)]
    t0 = time.perf_counter()
    for seed, p in map_jobs(_job, jobs, args.workers):
        print(f"landmark_{seed:03d}: {p['generate_s']:5.2f} s  {p['shape']} "
              f"{p['sequence']:8s} snr {p['snr']:5.1f}  {', '.join(p['pathologies']) or '-'}",
              flush=True)
    print(f"{len(jobs)} cases in {time.perf_counter() - t0:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
