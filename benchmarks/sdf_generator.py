"""Signed-distance-function (CSG) phantom of dynamic mid-sagittal female pelvic floor MRI.

How a case is made
------------------
Every structure is an implicit shape: a CSG expression of 2D signed distance functions
(ellipses, capsules, tapered capsules, circular-arc capsules with a radius profile,
rounded boxes) combined with polynomial smooth union / smooth subtraction /
intersection.  The expressions are evaluated in *body millimetres* on a grid oversampled
2x in each direction.

* Skeleton (fixed in time): pubic symphysis (cortex, marrow, interpubic disc), sacrum as
  an arc of rounded boxes S1-S5 with canal and dorsal crest, coccyx segments, lumbar
  bodies and discs, spinal canal and spinous processes.
* Static soft tissue: body outline (rounded trunk box, mons and buttock ellipses cut by a
  perineal height field), skin, subcutaneous fat, rectus abdominis, back muscles, aorta,
  small-bowel loops (fluid, gas, chyme or collapsed; bladder look-alikes) and mesenteric
  vessels.  It is rendered once and then resampled (linearly) through the frame's warp.
* Pelvic structures, re-evaluated every frame: bladder (dome ellipse smooth-united with
  a base capsule, cystocele bulge, wall = shell of the SDF), uterus (tapered capsule +
  fundus ellipse + fibroids, junctional zone and endometrium as inner SDFs), cervix,
  vagina (arc capsule, collapsed mucus line or gel-filled lumen), rectum (arc capsule
  along the sacral curve with an ampulla radius profile, rectocele bulge, content) and
  anal canal, sigmoid, urethra, levator plate, puborectalis, external anal sphincter,
  perineal body, pouch-of-Douglas fluid.  Contacts are resolved by smooth subtraction of
  the dilated neighbour (bladder yields to uterus/vagina, rectum and bone; rectum yields
  to uterus/vagina and bone; organs are clipped by the skin).
* Motion: a manoeuvre curve (rest, Valsalva, squeeze, cough, defecation or a mix) drives
  every primitive parameter (rotational descent of the bladder neck about the symphysis,
  cystocele, cervical / vault descent and posterior rotation of the uterus, descent of
  the anorectal junction, anorectal angle, rectocele, levator-plate sag, defecation
  emptying of the rectum with an opening anal canal) plus a global low-frequency domain
  warp (pelvic-floor bump, breathing, abdominal push, sinusoid modes) applied to the SDF
  evaluation coordinates.  Bones never move.
* Imaging: the intensity is a painter composite of tissues whose occupancy is a
  smoothstep of the signed distance (per-case edge width = partial volume), averaged
  over the 2x2 sub-samples.  Sequences: T2 single-shot FSE (HASTE), balanced SSFP
  (TrueFISP, dark fat-water band, optional off-resonance banding), T1 spoiled GRE
  (optionally opposed phase), PD TSE, each with or without fat saturation; per-case
  tissue levels, band-limited texture, multi-coil receive bias, motion blur for fast
  frames, optional ghosting and wrap-around, Rician / non-central-chi noise
  (SNR 4-40) and an arbitrary global scale.

Orientation
-----------
Mid-sagittal slice in canonical order: row 0 is cranial (head), rows run towards the
feet; column 0 is anterior (belly), the last column posterior (back).  The anatomy is
tilted by up to +-15 degrees and placed at a random position in the field of view.

Labels (truth, uint8)
---------------------
0 background, 1 bladder (wall + urine, down to the bladder neck; urethra not labelled),
2 uterus_vagina (uterus incl. fibroids, cervix, vagina walls + lumen down to the
introitus; vagina only with a rounded cuff after hysterectomy), 3 rectum (rectum from the
rectosigmoid junction, cut flat perpendicular to the bowel axis at about S3, and the
anal canal down to the anal verge; external sphincter and sigmoid not labelled).  Labels
come from the sign of the organ SDFs (averaged over each pixel's 2x2 sub-samples) with
the painter's priority (rectum < uterus_vagina < bladder < bone), so they are exclusive
and match the image exactly.  Should a contact subtraction ever leave a stray fragment of
an organ, the fragment is removed from that organ's SDF (made positive there for all its
layers) before painting, so every organ is one 8-connected piece in image and truth alike.

``sample_params(seed)`` gives every random choice of a case without rendering it;
``generate(seed, matrix=None, n_frames=None)`` renders it (a smaller ``matrix`` keeps the
field of view; ``n_frames`` picks frames spread over the same manoeuvre, including the
most strained one).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "sdf"
SEQUENCES = ("t2_haste", "bssfp", "t1_gre", "pd_tse")
MANEUVERS = ("valsalva", "defecation", "squeeze", "cough", "mixed")
LABEL = {name: i + 1 for i, name in enumerate(ORGANS)}

# tissue: (T2 HASTE, bSSFP, T1 GRE, PD TSE, fat fraction, texture amplitude)
TISSUES: dict[str, tuple[float, ...]] = {
    "air": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "skin": (0.38, 0.42, 0.50, 0.46, 0.0, 0.05),
    "fat": (0.72, 0.86, 1.00, 0.90, 1.0, 0.06),
    "muscle": (0.16, 0.22, 0.36, 0.36, 0.0, 0.08),
    "cortex": (0.04, 0.05, 0.05, 0.07, 0.0, 0.0),
    "marrow": (0.52, 0.62, 0.78, 0.72, 0.6, 0.14),
    "disc": (0.64, 0.55, 0.32, 0.56, 0.0, 0.05),
    "annulus": (0.22, 0.28, 0.30, 0.38, 0.0, 0.03),
    "cartilage": (0.30, 0.36, 0.30, 0.42, 0.0, 0.03),
    "csf": (1.00, 0.95, 0.12, 0.72, 0.0, 0.02),
    "urine": (1.00, 1.00, 0.10, 0.76, 0.0, 0.02),
    "bladder_wall": (0.22, 0.28, 0.36, 0.40, 0.0, 0.05),
    "myometrium": (0.50, 0.46, 0.38, 0.56, 0.0, 0.08),
    "junctional": (0.20, 0.26, 0.36, 0.38, 0.0, 0.05),
    "endometrium": (0.86, 0.76, 0.30, 0.66, 0.0, 0.05),
    "cervix": (0.17, 0.25, 0.36, 0.36, 0.0, 0.05),
    "mucus": (0.82, 0.78, 0.22, 0.62, 0.0, 0.03),
    "fibroid": (0.12, 0.24, 0.34, 0.32, 0.0, 0.10),
    "vagina_wall": (0.33, 0.38, 0.37, 0.46, 0.0, 0.06),
    "gel": (0.96, 0.95, 0.12, 0.76, 0.0, 0.02),
    "rectal_wall": (0.30, 0.36, 0.38, 0.46, 0.0, 0.06),
    "ias": (0.40, 0.42, 0.38, 0.50, 0.0, 0.05),
    "eas": (0.14, 0.20, 0.33, 0.32, 0.0, 0.06),
    "feces": (0.42, 0.56, 0.46, 0.56, 0.1, 0.35),
    "gas": (0.02, 0.02, 0.02, 0.02, 0.0, 0.0),
    "urethra": (0.20, 0.26, 0.36, 0.38, 0.0, 0.04),
    "urethra_mucosa": (0.36, 0.40, 0.36, 0.48, 0.0, 0.04),
    "ligament": (0.10, 0.15, 0.26, 0.24, 0.0, 0.04),
    "bowel_wall": (0.36, 0.42, 0.40, 0.50, 0.0, 0.06),
    "bowel_fluid": (0.90, 0.94, 0.16, 0.70, 0.0, 0.04),
    "chyme": (0.52, 0.60, 0.42, 0.56, 0.05, 0.25),
    "vessel": (0.06, 0.95, 0.72, 0.12, 0.0, 0.02),
    "peritoneal_fluid": (0.96, 0.95, 0.10, 0.74, 0.0, 0.02),
    "mesentery": (0.64, 0.80, 0.92, 0.84, 0.9, 0.12),
}


# ----------------------------------------------------------------------------- vectors
def _add(a, b, s=1.0):
    return (a[0] + s * b[0], a[1] + s * b[1])


def _sub(a, b):
    return (a[0] - b[0], a[1] - b[1])


def _len(a):
    return math.hypot(a[0], a[1])


def _unit(a):
    n = _len(a) or 1.0
    return (a[0] / n, a[1] / n)


def _dirv(theta):
    """Unit vector at ``theta`` degrees from cranial towards posterior (x posterior, y caudal)."""
    t = math.radians(theta)
    return (math.sin(t), -math.cos(t))


def _angle(v):
    """Inverse of :func:`_dirv` (degrees)."""
    return math.degrees(math.atan2(v[0], -v[1]))


def _rot(v, deg):
    """Rotate a vector; ``_rot(_dirv(a), d) == _dirv(a + d)``."""
    t = math.radians(deg)
    c, s = math.cos(t), math.sin(t)
    return (v[0] * c - v[1] * s, v[0] * s + v[1] * c)


def _rot_about(p, c, deg):
    return _add(c, _rot(_sub(p, c), deg))


def _lerp(a, b, t):
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


# ----------------------------------------------------------------------------- SDFs
def sd_circle(x, y, c, r):
    return np.hypot(x - c[0], y - c[1]) - r


def sd_ellipse(x, y, c, a, b, ang=0.0):
    """Approximate signed distance to an ellipse (semi-axes a along ``ang`` degrees, b)."""
    ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
    dx = x - (c[0] + 1.234e-3)
    dy = y - c[1]
    u = dx * ca + dy * sa
    v = dy * ca - dx * sa
    k0 = np.hypot(u * (1.0 / a), v * (1.0 / b))
    k1 = np.hypot(u * (1.0 / (a * a)), v * (1.0 / (b * b)))
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def sd_capsule(x, y, a, b, ra, rb=None):
    """Capsule from a to b, radius tapering linearly from ra to rb."""
    rb = ra if rb is None else rb
    bx, by = b[0] - a[0], b[1] - a[1]
    inv = 1.0 / (bx * bx + by * by + 1e-9)
    px, py = x - a[0], y - a[1]
    h = np.clip((px * bx + py * by) * inv, 0.0, 1.0)
    return np.hypot(px - bx * h, py - by * h) - (ra + (rb - ra) * h)


def sd_box(x, y, c, hx, hy, ang, rr):
    """Rounded box: half sizes hx (along ``ang`` degrees in the x/y plane) and hy."""
    ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
    dx, dy = x - c[0], y - c[1]
    qx = np.abs(dx * ca + dy * sa) - (hx - rr)
    qy = np.abs(dy * ca - dx * sa) - (hy - rr)
    return (np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
            + np.minimum(np.maximum(qx, qy), 0.0) - rr)


def smin(a, b, k):
    """Polynomial smooth minimum (smooth union)."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.clip(0.5 + (0.5 / k) * (b - a), 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smax(a, b, k):
    """Smooth maximum (smooth intersection)."""
    return -smin(-a, -b, k)


def ssub(a, b, k):
    """Smooth subtraction of b from a."""
    return smax(a, -b, k)


class Arc:
    """Circular arc from p0 to p1 (centre c, radius R, start angle a0, signed sweep)."""

    def __init__(self, c, radius, a0, sweep):
        self.c, self.R, self.a0, self.sweep = c, radius, a0, sweep

    @classmethod
    def sagitta(cls, p0, p1, sag):
        """Arc through p0 and p1 whose midpoint lies ``sag`` mm off the chord (to the left
        of p0->p1 for sag > 0, left = (-dy, dx))."""
        d = _sub(p1, p0)
        length = _len(d)
        min_sag = length * length / (8.0 * 3000.0) + 1e-3
        if abs(sag) < min_sag:
            sag = min_sag if sag >= 0 else -min_sag
        n = (-d[1] / length, d[0] / length)
        mid = _lerp(p0, p1, 0.5)
        apex = _add(mid, n, sag)
        radius = (length * length / 4.0 + sag * sag) / (2.0 * abs(sag))
        c = _add(apex, n, -math.copysign(radius, sag))
        a0 = math.atan2(p0[1] - c[1], p0[0] - c[0])
        a1 = math.atan2(p1[1] - c[1], p1[0] - c[0])
        am = math.atan2(apex[1] - c[1], apex[0] - c[0])
        ccw = (a1 - a0) % (2 * math.pi)
        sweep = ccw if (am - a0) % (2 * math.pi) < ccw else -((a0 - a1) % (2 * math.pi))
        return cls(c, radius, a0, sweep)

    @classmethod
    def tangent(cls, p0, t0, p1):
        """Arc starting at p0 with tangent t0 and ending at p1."""
        t0 = _unit(t0)
        n = (-t0[1], t0[0])
        d = _sub(p1, p0)
        dn = d[0] * n[0] + d[1] * n[1]
        if abs(dn) < 1e-3:
            dn = 1e-3
        rs = (d[0] * d[0] + d[1] * d[1]) / (2.0 * dn)
        rs = max(-3000.0, min(3000.0, rs))
        c = _add(p0, n, rs)
        a0 = math.atan2(p0[1] - c[1], p0[0] - c[0])
        a1 = math.atan2(p1[1] - c[1], p1[0] - c[0])
        r0 = _sub(p0, c)
        cross = r0[0] * t0[1] - r0[1] * t0[0]
        if cross > 0:
            sweep = (a1 - a0) % (2 * math.pi)
        else:
            sweep = -((a0 - a1) % (2 * math.pi))
        return cls(c, abs(rs), a0, sweep)

    def point(self, t):
        a = self.a0 + self.sweep * t
        return (self.c[0] + self.R * math.cos(a), self.c[1] + self.R * math.sin(a))

    def tangent_at(self, t):
        a = self.a0 + self.sweep * t
        s = 1.0 if self.sweep >= 0 else -1.0
        return (-math.sin(a) * s, math.cos(a) * s)

    @property
    def length(self):
        return abs(self.sweep) * self.R

    def sdf(self, x, y, r0, r1, amp=0.0, gam=1.0):
        """Arc capsule with radius r0 -> r1 plus ``amp * sin(pi t**gam)``; returns (d, t)."""
        dx, dy = x - self.c[0], y - self.c[1]
        rho = np.hypot(dx, dy)
        ang = np.arctan2(dy, dx)
        s = 1.0 if self.sweep >= 0 else -1.0
        big = abs(self.sweep)
        rel = np.mod((ang - self.a0) * s, 2 * math.pi)
        inside = rel <= big
        beyond_end = (rel - big) < (2 * math.pi - big) / 2
        t = np.where(inside, rel * (1.0 / big), np.where(beyond_end, 1.0, 0.0))
        p0, p1 = self.point(0.0), self.point(1.0)
        d_end = np.where(beyond_end, np.hypot(x - p1[0], y - p1[1]),
                         np.hypot(x - p0[0], y - p0[1]))
        dist = np.where(inside, np.abs(rho - self.R), d_end)
        r = r0 + (r1 - r0) * t
        if amp:
            r = r + amp * np.sin(math.pi * t ** gam)
        return dist - r, t


# ----------------------------------------------------------------------------- sampling
class _R:
    """Thin wrapper of a numpy Generator that rounds draws for a tidy params.json."""

    def __init__(self, seed):
        self.g = np.random.default_rng(seed)

    def u(self, a, b):
        return round(float(self.g.uniform(a, b)), 4)

    def i(self, a, b):
        return int(self.g.integers(a, b + 1))

    def choice(self, items, p=None):
        return items[int(self.g.choice(len(items), p=p))]

    def bern(self, p):
        return bool(self.g.random() < p)


def _perineum_y(an, x):
    """Perineal skin height field y(x) (body mm) and its slope."""
    xpc, cap, cpp = an["per_xc"], an["per_ca"], an["per_cp"]
    dx = x - xpc
    da = np.minimum(dx, 0.0) * (1.0 / 60.0)
    dp = np.maximum(dx, 0.0) * (1.0 / 60.0)
    g = np.exp(-((x - an["x_I"]) * (1.0 / 7.0)) ** 2)
    kb = np.maximum(x - an["butt_knee"], 0.0) * (1.0 / 40.0)
    y = an["per_y"] - cap * da * da - cpp * dp * dp - an["notch"] * g + an["butt_drop"] * kb * kb
    slope = (-2.0 * cap * da - 2.0 * cpp * dp) * (1.0 / 60.0) + an["notch"] * g * 2.0 * (
        x - an["x_I"]) * (1.0 / 49.0) + an["butt_drop"] * 2.0 * kb * (1.0 / 40.0)
    return y, slope


def _perineum_scalar(an, x):
    y, _ = _perineum_y(an, np.array([x], float))
    return float(y[0])


def _body_sdf(an, x, y):
    tb = an["trunk"]
    d = sd_box(x, y, (tb[0], tb[1]), tb[2], tb[3], 0.0, tb[4])
    be = an["belly"]
    d = smin(d, sd_ellipse(x, y, (be[0], be[1]), be[2], be[3], 0.0), 30.0)
    mo = an["mons"]
    d = smin(d, sd_ellipse(x, y, (mo[0], mo[1]), mo[2], mo[3], mo[4]), 18.0)
    bu = an["butt"]
    d = smin(d, sd_ellipse(x, y, (bu[0], bu[1]), bu[2], bu[3], bu[4]), 22.0)
    yp, sl = _perineum_y(an, x)
    per = (y - yp) / np.sqrt(1.0 + sl * sl)
    return smax(d, per, 5.0)


def _sample_anatomy(r: _R) -> dict:
    k = r.u(0.88, 1.1)  # skeletal scale
    an: dict = {"scale": k}
    beta = r.u(35, 55)
    hl, w = r.u(18, 23) * k, r.u(7.0, 10.0) * k
    ax = _dirv(180 - beta)
    an["sym"] = {"beta": beta, "half_len": hl, "half_w": w,
                 "sup": [-hl * ax[0], -hl * ax[1]], "inf": [hl * ax[0], hl * ax[1]]}
    s_inf = tuple(an["sym"]["inf"])
    s_sup = tuple(an["sym"]["sup"])
    # sacrum
    prom = (r.u(76, 90) * k, r.u(-98, -82) * k)
    scj = (r.u(120, 134) * k, r.u(-6, 8) * k)
    an["sacrum"] = {"prom": list(prom), "scj": list(scj), "sag": r.u(13, 24) * k,
                    "depth1": r.u(28, 34) * k, "depth5": r.u(10, 13) * k}
    an["coccyx"] = {"n": r.i(3, 4), "bend": r.u(5, 13), "len": r.u(7, 9) * k}
    an["lumbar"] = {"vert_h": r.u(25, 29) * k, "disc_h": r.u(8, 12) * k,
                    "depth": r.u(34, 42) * k, "lordosis": r.u(35, 55),
                    "canal_r": r.u(6, 8) * k, "spinous": r.u(28, 38) * k}
    # soft tissue habitus
    fat_ant, fat_post = r.u(8, 48), r.u(8, 38)
    an["fat_ant"], an["fat_post"] = fat_ant, fat_post
    an["rectus_t"] = r.u(6, 12)
    an["skin_t"] = r.u(1.5, 3.0)
    belly = r.u(0, 35)
    # bladder neck: behind the lower symphysis
    n_ax = r.u(6, 14)
    neck = _add(_add((0.0, 0.0), ax, n_ax),
                (w / max(math.sin(math.radians(beta)), 0.5) + r.u(8, 14) + 5.0, 0.0))
    an["neck"] = list(neck)
    # perineal skin landmarks
    l_u = r.u(32, 44)
    x_m = neck[0] + r.u(-6, 3)
    y_m = neck[1] + math.sqrt(max(l_u * l_u - (x_m - neck[0]) ** 2, 100.0))
    y_m = max(y_m, s_inf[1] + w + 10.0)
    x_i = x_m + r.u(9, 15)
    x_av = x_i + r.u(26, 36)
    an["x_M"], an["x_I"], an["x_AV"] = x_m, x_i, x_av
    an["per_xc"] = x_i + r.u(5, 20)
    an["per_ca"] = r.u(10, 22)
    an["per_cp"] = r.u(4, 9)
    an["notch"] = r.u(2, 7)
    an["butt_knee"] = x_i + r.u(42, 55)
    an["butt_drop"] = r.u(4, 30)
    an["per_y"] = 0.0
    an["per_y"] = y_m - _perineum_scalar(an, x_m)
    # trunk, mons and buttocks
    mons_fat = r.u(14, 38)
    x_ant = -w * 1.4 - mons_fat - 4
    x_front = min(x_ant, s_sup[0] - (fat_ant + an["rectus_t"] + 6)) - belly
    y_l4 = prom[1] - 70 * k
    x_back = prom[0] + an["lumbar"]["depth"] + 2 * an["lumbar"]["canal_r"] + an["lumbar"][
        "spinous"] + 10 + fat_post
    y_bot = an["per_y"] + 30.0
    an["trunk"] = [(x_ant + x_back) / 2, (y_bot - 500.0) / 2, (x_back - x_ant) / 2,
                   (y_bot + 500.0) / 2, r.u(45, 75)]
    be_a = 60.0 + (x_ant - x_front)
    an["belly"] = [x_front + be_a, r.u(-130, -90), be_a, r.u(110, 140)]
    an["x_front"] = x_front
    an["mons"] = [-4.0, 4.0, hl + 14, w + mons_fat + 6, 90 - beta]
    an["butt"] = [scj[0] - 10, scj[1] + 18, 50 + fat_post, r.u(52, 66), r.u(-15, 15)]
    an["y_l4"] = y_l4
    # pelvic organs -------------------------------------------------------------
    an["hysterectomy"] = r.bern(0.2)
    parity = r.choice(("nulliparous", "multiparous"), p=(0.35, 0.65))
    an["parity"] = parity
    lax = r.u(0.0, 0.35) if parity == "nulliparous" else r.u(0.25, 1.0)
    an["laxity"] = {"anterior": round(min(1.0, max(0.0, lax + r.u(-0.2, 0.2))), 3),
                    "middle": round(min(1.0, max(0.0, lax + r.u(-0.2, 0.2))), 3),
                    "posterior": round(min(1.0, max(0.0, lax + r.u(-0.2, 0.2))), 3)}
    fill = r.u(0.0, 1.0) ** 0.9
    an["bladder"] = {"fill": fill, "wall": 2.5 + 4.0 * (1 - fill) * r.u(0.6, 1.0),
                     "base_len": r.u(14, 26), "base_r": r.u(6, 10),
                     "tilt": r.u(-12, 12), "k": r.u(6, 14)}
    # vagina
    i_pt = (x_i, _perineum_scalar(an, x_i))
    th_v = r.u(30, 50)
    l_v = r.u(62, 82) if not an["hysterectomy"] else r.u(50, 70)
    r_top = r.u(10, 14)
    sk0 = _skeleton(an)

    def clearance(p):
        return float(_posterior_bone_sdf(sk0, np.array([p[0]]), np.array([p[1]]))[0])

    best = None
    for step in range(40):
        cand_th, cand_l = max(th_v - 1.5 * step, 12.0), l_v * (0.99 ** step)
        vault = _add(i_pt, _dirv(cand_th), cand_l)
        score = clearance(vault) - (r_top + 40)
        if best is None or score > best[0] + 1e-6:
            best = (score, cand_th, cand_l)
        if score >= 0:
            break
    _, th_v, l_v = best
    vault = _add(i_pt, _dirv(th_v), l_v)
    r_mid, gel = r.u(8, 11), r.bern(0.45)
    # keep the vagina behind the bladder neck / urethra
    u_v = _unit(_sub(vault, i_pt))
    n_ant = (u_v[1], -u_v[0]) if u_v[1] > 0 else (-u_v[1], u_v[0])
    if n_ant[0] > 0:
        n_ant = (-n_ant[0], -n_ant[1])
    neck0 = tuple(an["neck"])
    r_eff = r_mid + (5.0 if gel else 0.0)
    dist = (neck0[0] - i_pt[0]) * n_ant[0] + (neck0[1] - i_pt[1]) * n_ant[1]
    if dist < r_eff + 8.0:
        shift = r_eff + 8.0 - dist
        i_pt = _add(i_pt, n_ant, -shift)
        i_pt = (i_pt[0], _perineum_scalar(an, i_pt[0]))
        vault = _add(vault, n_ant, -shift)
        an["x_I"] = i_pt[0]
    # bladder base runs along the anterior vaginal wall, clear of it
    bl = an["bladder"]
    th_b = th_v + 8.0
    for _ in range(30):
        b2 = _add(neck0, _dirv(th_b), bl["base_len"])
        db = (b2[0] - i_pt[0]) * n_ant[0] + (b2[1] - i_pt[1]) * n_ant[1]
        if db >= r_eff + bl["base_r"] + 4.0:
            break
        th_b -= 3.0
    bl["base_theta"] = th_b
    an["vagina"] = {"I": list(i_pt), "V": list(vault), "theta": th_v, "len": l_v,
                    "sag": r.u(-12, 2), "r_low": r.u(5.5, 7.5), "r_mid": r_mid,
                    "r_top": r_top, "gel": gel, "wall": r.u(2.5, 4.0)}
    # uterus
    anteverted = r.bern(0.8)
    post_meno = r.bern(0.25)
    sz = r.u(0.65, 0.85) if post_meno else r.u(0.9, 1.2)
    fl = r.u(10, 60)
    if anteverted:
        th_c = th_v - r.u(0, 25) - 10 * fill
        th_u = th_c - fl * (1 - 0.5 * fill)
    else:
        th_c = th_v + r.u(15, 35)
        th_u = th_c + r.u(5, 35)
    # choose the body direction that keeps the fundus clear of bladder dome and sacrum
    neck0 = tuple(an["neck"])
    base_len = an["bladder"]["base_len"]
    b_mid = _lerp(neck0, _add(neck0, _dirv(bl["base_theta"]), base_len), 0.5)
    a_x, a_y = 20 + 22 * fill, 10 + 36 * fill
    dome = _add(b_mid, (-a_x * 0.15, -(a_y * 0.75 + 2.0)))
    o_int = _add(_add(vault, _dirv(th_v), -6.0), _dirv(th_c), 30.0 * sz)
    y_j = sk0["sacral_segs"][2][4][1]
    best, best_th = None, th_u
    for cand in np.arange(-72.0, 84.0, 4.0):
        pen = abs(cand - th_u) * 0.15
        for frac, rad in ((1.0, 24.0 * sz), (0.75, 19.0 * sz), (0.4, 14.0 * sz)):
            p = _add(o_int, _dirv(float(cand)), 48.0 * sz * frac)
            room = 46.0 if p[1] > y_j - 10.0 else 16.0
            pen += 3.0 * max(0.0, rad + room - clearance(p))
            db = float(sd_ellipse(np.array([p[0]]), np.array([p[1]]), dome, a_x, a_y)[0])
            pen += 6.0 * max(0.0, rad + 2.0 - db)
            if frac == 1.0 and p[0] < dome[0] + 0.6 * a_x:
                pen += 2.0 * max(0.0, p[1] - (dome[1] - 0.5 * a_y))
            ds = float(_symphysis_sdf(an, np.array([p[0]]), np.array([p[1]]))[0])
            pen += 3.0 * max(0.0, rad + 10.0 - ds)
        if best is None or pen < best:
            best, best_th = pen, float(cand)
    th_c += 0.3 * (best_th - th_u)
    th_u = best_th
    an["uterus"] = {"anteverted": anteverted, "postmenopausal": post_meno, "size": sz,
                    "theta_c": th_c, "theta_u": th_u, "cx_len": r.u(24, 34) * sz,
                    "cx_r": r.u(10, 14) * sz, "body_len": r.u(36, 52) * sz,
                    "r_isth": r.u(10, 13) * sz, "r_fund": r.u(18, 26) * sz,
                    "endo": r.u(1.0, 3.0) if post_meno else r.u(2.0, 7.0),
                    "jz": r.u(4, 8) * sz, "nabothian": r.bern(0.3)}
    fibroids = []
    if not an["hysterectomy"]:
        for _ in range(int(r.g.choice([0, 0, 0, 1, 1, 2, 3]))):
            fibroids.append({"t": r.u(0.25, 1.1), "off": r.u(-1.3, 1.3),
                             "r": r.u(5, 20) * sz})
    an["fibroids"] = fibroids
    # rectum and anal canal
    av = (x_av, _perineum_scalar(an, x_av))
    th_ac = r.u(-40, -15)  # anal canal direction from the verge upwards
    l_ac = r.u(28, 40)
    arj = _add(av, _dirv(th_ac), l_ac)
    r_a = r.u(9, 12)
    xv = i_pt[0] + (i_pt[1] - arj[1]) * math.tan(math.radians(th_v))
    need_x = xv + an["vagina"]["r_mid"] + r_a + 7.0
    if arj[0] < need_x:
        arj = (need_x, arj[1])
    # anal canal points down and backwards (20-40 degrees from caudal) to the verge
    tan_c = math.tan(math.radians(r.u(20, 38)))
    x_av = arj[0]
    for _ in range(4):
        x_av = arj[0] + (_perineum_scalar(an, x_av) - arj[1]) * tan_c
    an["x_AV"] = x_av
    av = (x_av, _perineum_scalar(an, x_av))
    content = r.choice(("gel", "feces", "gas", "empty"), p=(0.4, 0.35, 0.1, 0.15))
    an["rectum"] = {"AV": list(av), "A": list(arj), "alpha": r.u(85, 105),
                    "r_A": r_a, "r_J": r.u(11, 15), "amp": r.u(3, 13),
                    "wall": r.u(2.5, 4.0), "canal_r": r.u(7, 9.5), "content": content,
                    "gap": r.u(7, 14), "rectocele": r.u(0, 18) * an["laxity"]["posterior"],
                    "rc_t": r.u(0.12, 0.3)}
    an["sigmoid"] = {"turn": r.u(-150, -80), "len": r.u(50, 85), "sag": r.u(-25, 25),
                     "r": r.u(9, 14), "content": r.choice(("feces", "gas", "chyme")),
                     "extra": r.i(0, 3)}
    an["pouch_fluid"] = r.u(3, 11) if r.bern(0.4) else 0.0
    an["urethra_r"] = r.u(4.5, 6.5)
    an["levator_t"] = r.u(2.5, 4.0)
    return an


# ----------------------------------------------------------------------------- skeleton
def _skeleton(an):
    """Derived static skeleton primitives (lists of boxes / capsules) in body mm."""
    sk: dict = {}
    sa = an["sacrum"]
    prom, scj = tuple(sa["prom"]), tuple(sa["scj"])
    chord = _sub(scj, prom)
    left = (-chord[1], chord[0])
    arc = Arc.sagitta(prom, scj, sa["sag"] if left[0] > 0 else -sa["sag"])
    sk["sacrum_arc"] = arc
    segs = []
    seg_len = arc.length / 5.0
    for i in range(5):
        t = (i + 0.5) / 5.0
        pt, tau = arc.point(t), arc.tangent_at(t)
        npst = (tau[1], -tau[0])
        if npst[0] < 0:
            npst = (-npst[0], -npst[1])
        depth = sa["depth1"] + (sa["depth5"] - sa["depth1"]) * i / 4.0
        c = _add(pt, npst, depth / 2.0)
        ang = math.degrees(math.atan2(tau[1], tau[0]))
        segs.append((c, seg_len / 2.0 + 0.8, depth / 2.0, ang, pt, tau, npst, depth))
    sk["sacral_segs"] = segs
    # coccyx
    cc = an["coccyx"]
    cur, tau = scj, arc.tangent_at(1.0)
    th = _angle(tau)
    cocc = []
    for i in range(cc["n"]):
        th += cc["bend"]
        d = _dirv(th)
        ln = cc["len"] * (1.0 - 0.12 * i)
        dep = (9.0 - 1.5 * i) * an["scale"]
        npst = _rot(d, -90)
        c = _add(_add(cur, d, ln / 2.0 + 0.8), npst, dep / 2.0 - 1.0)
        cocc.append((c, ln / 2.0, dep / 2.0, math.degrees(math.atan2(d[1], d[0]))))
        cur = _add(cur, d, ln + 1.6)
    sk["coccyx"] = cocc
    sk["coccyx_tip"] = _add(cur, _rot(_dirv(th), -90), 2.0)
    # lumbar chain upwards from the promontory along the anterior surface
    lu = an["lumbar"]
    tau0 = segs[0][5]
    up0 = _angle((-tau0[0], -tau0[1]))
    cur = _add(prom, (-tau0[0], -tau0[1]), 0.5)
    elems, canal = [], []
    kinds = ["disc", "vert", "disc", "vert", "disc", "vert", "disc", "vert", "disc", "vert"]
    targets = np.linspace(up0 + 25, up0 + lu["lordosis"] + 10, len(kinds))
    for kind, th_up in zip(kinds, targets, strict=True):
        h = lu["disc_h"] if kind == "disc" else lu["vert_h"]
        u = _dirv(float(th_up))
        npst = _rot(u, 90)
        dep = lu["depth"] - (3.0 if kind == "disc" else 0.0)
        c = _add(_add(cur, u, h / 2.0), npst, dep / 2.0)
        elems.append((kind, c, h / 2.0, dep / 2.0, math.degrees(math.atan2(u[1], u[0])), u,
                      npst))
        canal.append(_add(c, npst, dep / 2.0 + 2.0 + lu["canal_r"]))
        cur = _add(cur, u, h)
    sk["lumbar"] = elems
    sac_canal = [_add(s[4], s[6], s[7] + 4.0) for s in segs[:4]]
    sk["canal"] = list(reversed(canal)) + sac_canal
    sk["canal_r"] = lu["canal_r"]
    sk["dorsal"] = [_add(s[4], s[6], s[7] + 8.0 - 1.0 * i) for i, s in enumerate(segs)]
    return sk


def _bone_layers(an, sk, x, y):
    """Static top group: [(tissue, d)] in painter order and the union SDF."""
    layers = []
    sym = an["sym"]
    sup, inf, w = tuple(sym["sup"]), tuple(sym["inf"]), sym["half_w"]
    d_sym = sd_capsule(x, y, sup, inf, w, w * 0.9)
    layers += [("cortex", d_sym), ("marrow", d_sym + 1.8)]
    layers.append(("cartilage", sd_capsule(x, y, _lerp(sup, inf, 0.1), _lerp(sup, inf, 0.9),
                                           1.2)))
    d_union = d_sym
    for (c, hx, hy, ang, *_rest) in sk["sacral_segs"]:
        d = sd_box(x, y, c, hx, hy, ang, 3.0)
        layers.append(("cortex", d))
        d_union = np.minimum(d_union, d)
    for (c, hx, hy, ang, *_rest) in sk["sacral_segs"]:
        layers.append(("marrow", sd_box(x, y, c, hx - 1.6, hy - 1.8, ang, 2.5)))
    for c, hx, hy, ang in sk["coccyx"]:
        d = sd_box(x, y, c, hx, hy, ang, 2.0)
        layers += [("cortex", d), ("marrow", d + 1.5)]
        d_union = np.minimum(d_union, d)
    for kind, c, hx, hy, ang, _u, _n in sk["lumbar"]:
        if kind == "disc":
            d = sd_box(x, y, c, hx + 0.5, hy, ang, 3.0)
            layers += [("annulus", d), ("disc", d + 3.5)]
        else:
            d = sd_box(x, y, c, hx, hy, ang, 3.0)
            layers += [("cortex", d), ("marrow", d + 1.8)]
        d_union = np.minimum(d_union, d)
    pts = sk["canal"]
    d_canal = None
    n_lum = len(pts) - 4
    for i in range(len(pts) - 1):
        ra = sk["canal_r"] if i < n_lum - 1 else sk["canal_r"] * (0.8 - 0.18 * (i - n_lum + 1))
        d = sd_capsule(x, y, pts[i], pts[i + 1], max(ra, 2.0))
        d_canal = d if d_canal is None else np.minimum(d_canal, d)
    layers.append(("csf", d_canal))
    d_union = np.minimum(d_union, d_canal)
    lu = an["lumbar"]
    for kind, c, _hx, hy, ang, _u, npst in sk["lumbar"]:
        if kind != "vert":
            continue
        cp = _add(c, npst, hy + 2 * sk["canal_r"] + 4 + lu["spinous"] / 2)
        d = sd_box(x, y, cp, lu["spinous"] / 2, lu["vert_h"] * 0.36, ang + 90.0, 4.0)
        layers += [("cortex", d), ("marrow", d + 1.8)]
        d_union = np.minimum(d_union, d)
    dp = sk["dorsal"]
    d_dors = None
    for i in range(len(dp) - 1):
        d = sd_capsule(x, y, dp[i], dp[i + 1], 3.5 - 0.4 * i)
        d_dors = d if d_dors is None else np.minimum(d_dors, d)
    layers += [("cortex", d_dors)]
    d_union = np.minimum(d_union, d_dors)
    return layers, d_union


def _symphysis_sdf(an, x, y):
    sym = an["sym"]
    return sd_capsule(x, y, tuple(sym["sup"]), tuple(sym["inf"]), sym["half_w"],
                      sym["half_w"] * 0.9)


def _posterior_bone_sdf(sk, x, y):
    d = None
    for (c, hx, hy, ang, *_rest) in sk["sacral_segs"]:
        e = sd_box(x, y, c, hx, hy, ang, 3.0)
        d = e if d is None else np.minimum(d, e)
    for c, hx, hy, ang in sk["coccyx"]:
        d = np.minimum(d, sd_box(x, y, c, hx, hy, ang, 2.0))
    return d


# ----------------------------------------------------------------------------- motion
def _sample_motion(r: _R, total: float, times: np.ndarray) -> dict:
    man = r.choice(MANEUVERS, p=(0.35, 0.25, 0.15, 0.1, 0.15))
    eps = []
    t = r.u(1.5, 4.0)
    kinds = {"valsalva": "s", "defecation": "s", "squeeze": "q", "cough": "s",
             "mixed": "q"}
    kind = kinds[man]
    while t < total - 3.0:
        if man == "defecation":
            up, hold, down = r.u(1.0, 3.0), r.u(6, 16), r.u(1.0, 2.5)
        elif man == "cough":
            up, hold, down = r.u(1.0, 2.0), r.u(2, 5), r.u(1.0, 2.0)
        else:
            up, hold, down = r.u(0.8, 3.0), r.u(2.5, 9.0), r.u(0.8, 2.5)
        level = r.u(0.65, 1.0) if kind == "s" else r.u(0.6, 1.0)
        if man == "cough":
            level = r.u(0.2, 0.4)
        eps.append([t, up, hold, down, level, kind])
        t += up + hold + down + r.u(2.0, 6.0)
        if man == "mixed":
            kind = "s" if kind == "q" else "q"
    coughs = []
    if man == "cough":
        n = min(len(times) - 2, r.i(2, 5))
        idx = sorted(int(i) for i in r.g.choice(np.arange(2, len(times)), n, replace=False))
        coughs = [round(float(times[i]), 4) for i in idx]
    return {"maneuver": man, "episodes": eps, "coughs": coughs,
            "cough_amp": r.u(0.7, 1.0), "squeeze_amp": r.u(0.25, 0.45),
            "evac_rate": r.u(0.06, 0.2), "evac_max": r.u(0.55, 0.95),
            "breath_period": r.u(3.0, 6.0), "breath_phase": r.u(0, 6.283),
            "breath_amp": r.u(1.5, 6.0), "push_amp": r.u(2.0, 6.0),
            "floor_sigma": r.u(38, 55),
            "modes": [[r.u(0.3, 1.6), r.u(0, 360), r.u(0, 360), r.u(120, 300),
                       r.u(0.03, 0.25), r.u(0, 6.283), r.u(-1.5, 1.5)] for _ in range(3)]}


def _pulse(t, t0, up, hold, down):
    a = np.clip((t - t0) / up, 0.0, 1.0)
    b = np.clip((t - (t0 + up + hold)) / down, 0.0, 1.0)
    return a * a * (3 - 2 * a) - b * b * (3 - 2 * b)


def _curves(mo: dict, t: np.ndarray) -> dict:
    t = np.asarray(t, float)
    s = np.zeros_like(t)
    q = np.zeros_like(t)
    for t0, up, hold, down, level, kind in mo["episodes"]:
        p = level * _pulse(t, t0, up, hold, down)
        if kind == "s":
            s = np.maximum(s, p)
        else:
            q = np.maximum(q, p)
    c = np.zeros_like(t)
    for tc in mo["coughs"]:
        c = np.maximum(c, np.exp(-((t - tc) / 0.25) ** 2 / 2))
    # evacuation integrated on a fine grid
    e = np.zeros_like(t)
    opening = np.zeros_like(t)
    if mo["maneuver"] == "defecation":
        tf = np.arange(0.0, float(t.max()) + 0.1, 0.05)
        sf = np.zeros_like(tf)
        for t0, up, hold, down, level, kind in mo["episodes"]:
            if kind == "s":
                sf = np.maximum(sf, level * _pulse(tf, t0, up, hold, down))
        rate = mo["evac_rate"] * np.clip((sf - 0.45) / 0.3, 0, 1)
        ef = np.minimum(np.cumsum(rate) * 0.05, mo["evac_max"])
        active = np.gradient(ef) > 1e-5
        of = ndimage.uniform_filter1d(active.astype(float), 20)
        e = np.interp(t, tf, ef)
        opening = np.interp(t, tf, of)
    push = s + mo["cough_amp"] * c - mo["squeeze_amp"] * q * 2.0
    breath = np.sin(2 * np.pi * t / mo["breath_period"] + mo["breath_phase"]) * (1 - 0.8 * s)
    return {"s": s, "q": q, "c": c, "e": e, "open": opening, "P": push, "b": breath}


def _frame_geometry(an, sk, st) -> dict:
    """Per-frame primitive parameters from the rest anatomy and the motion state."""
    pp = max(st["P"], 0.0)
    pm = max(-st["P"], 0.0)
    lx = an["laxity"]
    s_inf = tuple(an["sym"]["inf"])
    g: dict = {"st": st}
    # ---- bladder
    bl = an["bladder"]
    f = bl["fill"]
    neck0 = tuple(an["neck"])
    om = pp * (4 + 22 * lx["anterior"]) - pm * 4
    neck = _rot_about(neck0, s_inf, om)
    neck = _add(neck, _dirv(165), pp * (2 + 14 * lx["anterior"]) - pm * 3)
    th_v = an["vagina"]["theta"]
    base_dir = _dirv(bl["base_theta"])
    b2 = _add(neck0, base_dir, bl["base_len"])
    b2 = _rot_about(b2, s_inf, om * 0.8)
    b2 = _add(b2, _dirv(172), pp * (2 + 24 * lx["anterior"]) - pm * 3)
    a_x, a_y = 20 + 22 * f, 10 + 36 * f
    cd = _add(_lerp(neck0, _add(neck0, base_dir, bl["base_len"]), 0.5),
              (-a_x * 0.15, -(a_y * 0.75 + 2.0)))
    cd = _rot_about(cd, s_inf, om * 0.45)
    cd = _add(cd, _dirv(165), pp * (2 + 6 * lx["anterior"]) - pm * 2)
    g["bladder"] = {"neck": neck, "b2": b2, "dome": cd, "ax": a_x, "ay": a_y,
                    "tilt": bl["tilt"] + om * 0.3, "base_r": bl["base_r"] + 2 * f,
                    "k": bl["k"], "wall": bl["wall"],
                    "cele": pp * 18 * lx["anterior"] ** 1.5}
    # ---- vagina / uterus
    va = an["vagina"]
    i_pt, v0 = tuple(va["I"]), tuple(va["V"])
    dm = pp * (4 + 34 * lx["middle"] ** 1.5) - pm * 4
    to_i = _unit(_sub(i_pt, v0))
    dm = min(dm, _len(_sub(v0, i_pt)) - 32.0)
    vault = _add(_add(v0, to_i, dm), _dirv(90), pp * 3)
    g["vagina"] = {"I": i_pt, "V": vault, "sag": va["sag"] - 0.08 * max(dm, 0) - 0.15 * pp * (
        an["rectum"]["rectocele"]), "r_low": va["r_low"], "r_mid": va["r_mid"],
        "r_top": va["r_top"], "gel": va["gel"], "wall": va["wall"]}
    th_vv = _angle(_sub(vault, i_pt))
    if not an["hysterectomy"]:
        ut = an["uterus"]
        rot_u = pp * (4 + 12 * lx["middle"]) - pm * 3
        th_c = ut["theta_c"] + (th_vv - th_v) + rot_u
        th_u = ut["theta_u"] + (th_vv - th_v) + rot_u * 1.3
        o_ext = _add(vault, _dirv(th_vv), -6.0)
        o_int = _add(o_ext, _dirv(th_c), ut["cx_len"])
        fund = _add(o_int, _dirv(th_u), ut["body_len"])
        g["uterus"] = {"o_ext": o_ext, "o_int": o_int, "fund": fund, "th_u": th_u,
                       "th_c": th_c}
    # ---- rectum
    re = an["rectum"]
    av = tuple(re["AV"])
    arj = _add(tuple(re["A"]), _dirv(170), pp * (6 + 24 * lx["posterior"]))
    arj = _add(arj, _dirv(-30), pm * 6)
    if av[1] - arj[1] < 20.0:  # the anal canal keeps a length of at least ~20 mm
        arj = (arj[0], av[1] - 20.0)
    alpha = re["alpha"] + pp * (10 + 25 * lx["posterior"]) - pm * 12
    u_c = _unit(_sub(av, arj))
    u_r = _rot(u_c, -alpha - 20.0)
    sa = sk["sacral_segs"][2]
    rj = re["r_J"]
    j0 = _add(sa[4], sa[6], -(re["gap"] + rj))
    jn = _add(j0, _dirv(170), pp * 4)
    ev = st["e"]
    # keep the rectal arc (radius profile) clear of sacrum and coccyx
    r_a, r_j, amp = re["r_A"], rj * (1 - 0.3 * ev), re["amp"] * (1 - 0.6 * ev)
    arc = Arc.tangent(arj, u_r, jn)
    ts = np.linspace(0.05, 0.95, 12)
    pts = np.array([arc.point(float(t)) for t in ts])
    clear = _posterior_bone_sdf(sk, pts[:, 0], pts[:, 1]) - 3.0
    base = r_a + (r_j - r_a) * ts
    bump = np.sin(np.pi * ts ** 0.7)
    amp = float(np.clip(np.min((clear - base) / np.maximum(bump, 0.1)), 0.0, amp))
    shrink = float(np.clip(np.min(clear / base), 0.6, 1.0))
    r_a, r_j = r_a * shrink, r_j * shrink
    g["rectum"] = {"A": arj, "AV": av, "J": jn, "u_r": u_r, "r_A": r_a,
                   "r_J": r_j, "amp": amp,
                   "wall": re["wall"], "canal_r": re["canal_r"] + 1.5 * pm,
                   "lumen": (1.0 - 0.85 * ev) if re["content"] != "empty" else 0.15,
                   "open": st["open"] * 6.0 * (1.0 if re["content"] != "empty" else 0.0),
                   "cele": pp * re["rectocele"], "rc_t": re["rc_t"],
                   "content": re["content"]}
    # ---- muscles
    tip = sk["coccyx_tip"]
    g["levator"] = {"sag": 3 + pp * (6 + 14 * lx["posterior"]) - pm * 3, "tip": tip,
                    "pr_scale": 1.0 + 0.3 * pm}
    g["urethra_top"] = _add(neck, _sub(b2, neck), 0.15)
    return g


# ----------------------------------------------------------------------------- pelvis SDF
def _pelvis(an, sk, g, x, y, bone_d, sym_d, body_d):
    """Dynamic layers on (x, y) body coordinates.

    Returns (layers, tags, organ_sdfs, union): a painter list of (tissue, d), the organ
    label each layer belongs to (0 for none), label -> outer SDF (after contacts) and the
    union of everything dynamic."""
    layers = []
    inside = body_d  # negative inside the body
    # ---------------- vagina
    va = g["vagina"]
    i_pt, vault = va["I"], va["V"]
    ext = _add(i_pt, _unit(_sub(i_pt, vault)), 6.0)
    varc = Arc.sagitta(ext, vault, va["sag"])
    rl, rm, rt = va["r_low"], va["r_mid"], va["r_top"]
    if va["gel"]:
        rl, rm, rt = rl + 3, rm + 5, rt + 4
    d_vag, tv = varc.sdf(x, y, rl, rt, amp=rm - 0.5 * (rl + rt), gam=0.8)
    # ---------------- uterus / cervix
    ut_layers = []
    if "uterus" in g:
        ug = g["uterus"]
        u = an["uterus"]
        o_ext, o_int, fund = ug["o_ext"], ug["o_int"], ug["fund"]
        d_cx = sd_capsule(x, y, o_ext, o_int, u["cx_r"] * 0.95, u["cx_r"])
        d_body = sd_capsule(x, y, o_int, fund, u["r_isth"] * 1.15, u["r_fund"] * 0.92)
        d_fund = sd_ellipse(x, y, _add(fund, _unit(_sub(fund, o_int)), -u["r_fund"] * 0.2),
                            u["r_fund"] * 0.95, u["r_fund"], ug["th_u"] - 90.0)
        d_ut = smin(d_body, d_fund, 10.0)
        for fb in an["fibroids"]:
            ax = _unit(_sub(fund, o_int))
            nrm = (-ax[1], ax[0])
            rad = u["r_isth"] + (u["r_fund"] - u["r_isth"]) * min(fb["t"], 1.0)
            c = _add(_add(o_int, _sub(fund, o_int), fb["t"]), nrm, fb["off"] * rad)
            d_f = sd_circle(x, y, c, fb["r"])
            d_ut = smin(d_ut, d_f, 4.0)
            ut_layers.append(("fibroid", d_f))
        d_uv = smin(smin(d_vag, d_cx, 6.0), d_ut, 6.0)
        axd = _unit(_sub(fund, o_int))
        e_end = _add(fund, axd, -u["r_fund"] * 0.55)
        d_jz = sd_capsule(x, y, _add(o_int, axd, 2.0), e_end, u["jz"] + u["endo"] * 0.6,
                          u["jz"] + u["endo"])
        d_en = sd_capsule(x, y, _add(o_int, axd, 3.0), e_end, u["endo"] * 0.3, u["endo"])
        d_can = sd_capsule(x, y, o_ext, o_int, 1.3, 1.6)
        ut_layers = ([("myometrium", d_ut), ("junctional", d_jz), ("endometrium", d_en)]
                     + ut_layers + [("cervix", d_cx + 0.5), ("mucus", d_can)])
        if u["nabothian"]:
            cn = _add(_lerp(o_ext, o_int, 0.4), _rot(_unit(_sub(o_int, o_ext)), 90),
                      u["cx_r"] * 0.5)
            ut_layers.append(("mucus", sd_circle(x, y, cn, 2.5)))
        d_lumen_cut = d_cx + 1.0
    else:
        d_uv = d_vag
        d_lumen_cut = None
    d_uv = smax(d_uv, inside, 1.0)
    d_uv = ssub(d_uv, bone_d - 2.0, 2.0)
    # vaginal lumen
    if va["gel"]:
        d_vl, _ = varc.sdf(x, y, rl - va["wall"] - 0.5, rt - va["wall"] - 1.5,
                           amp=rm - 0.5 * (rl + rt) - 1.0, gam=0.8)
        vl_tissue = "gel"
    else:
        d_vl, _ = varc.sdf(x, y, 1.0, 1.6)
        vl_tissue = "mucus"
    if d_lumen_cut is not None:
        d_vl = ssub(d_vl, d_lumen_cut, 1.0)
    uv_layers = [("vagina_wall", d_uv)] + ut_layers + [(vl_tissue, d_vl)]
    # ---------------- rectum
    rg = g["rectum"]
    arj, av, jn = rg["A"], rg["AV"], rg["J"]
    rarc = Arc.tangent(arj, rg["u_r"], jn)
    d_rr, tr = rarc.sdf(x, y, rg["r_A"], rg["r_J"], amp=rg["amp"], gam=0.7)
    tj = rarc.tangent_at(1.0)
    cut = (x - jn[0]) * tj[0] + (y - jn[1]) * tj[1]
    d_rr = np.maximum(d_rr, cut)
    # rectocele: bulge on the anterior wall towards the vagina
    if rg["cele"] > 0.5:
        p = rarc.point(rg["rc_t"])
        tt = rarc.tangent_at(rg["rc_t"])
        nrm = (-tt[1], tt[0])
        vm = varc.point(0.45)
        if (vm[0] - p[0]) * nrm[0] + (vm[1] - p[1]) * nrm[1] < 0:
            nrm = (-nrm[0], -nrm[1])
        rad = rg["r_A"] + 0.5 * rg["amp"]
        cb = _add(p, nrm, rad + rg["cele"] * 0.5 - 4.0)
        ang = math.degrees(math.atan2(nrm[1], nrm[0]))
        d_b = sd_ellipse(x, y, cb, rg["cele"] * 0.5 + 6.0, 11.0, ang)
        d_rr = smin(d_rr, d_b, 5.0)
        d_bl_in = sd_ellipse(x, y, cb, max(rg["cele"] * 0.5 + 6.0 - rg["wall"], 1.0),
                             11.0 - rg["wall"], ang)
    else:
        d_bl_in = None
    ext_av = _add(av, _unit(_sub(av, arj)), 6.0)
    canal_r = rg["canal_r"]
    d_ac = sd_capsule(x, y, arj, ext_av, canal_r + 1.5, canal_r)
    d_rect = smin(d_rr, d_ac, 4.0)
    d_rect = smax(d_rect, inside, 1.0)
    d_rect = ssub(d_rect, d_uv - 2.0, 2.0)
    d_rect = ssub(d_rect, bone_d - 2.5, 2.0)
    lum = rg["lumen"]
    d_rl, _ = rarc.sdf(x, y, (rg["r_A"] - rg["wall"]) * lum, (rg["r_J"] - rg["wall"]) * lum,
                       amp=rg["amp"] * lum, gam=0.7)
    d_rl = np.maximum(d_rl, cut)
    if d_bl_in is not None and lum > 0.2:
        d_rl = smin(d_rl, d_bl_in, 4.0)
    d_cl = sd_capsule(x, y, _add(arj, _unit(_sub(arj, av)), 4.0), ext_av,
                      1.0 + rg["open"], 0.8 + rg["open"] * 0.8)
    d_rl = smin(d_rl, d_cl, 2.0)
    content = rg["content"] if rg["content"] != "empty" else "feces"
    rect_layers = [("rectal_wall", d_rect), ("ias", d_ac), (content, d_rl)]
    # ---------------- bladder
    bg = g["bladder"]
    d_dome = sd_ellipse(x, y, bg["dome"], bg["ax"], bg["ay"], bg["tilt"])
    d_base = sd_capsule(x, y, bg["neck"], bg["b2"], bg["base_r"] * 0.7, bg["base_r"])
    d_bl = smin(d_dome, d_base, bg["k"])
    if bg["cele"] > 0.5:
        cc = _add(_lerp(bg["neck"], bg["b2"], 0.45), _dirv(190), bg["cele"] * 0.3)
        d_bl = smin(d_bl, sd_ellipse(x, y, cc, 10.0 + bg["cele"] * 0.3, 9.0 + bg["cele"] * 0.4,
                                     0.0), 8.0)
    d_bl = ssub(d_bl, d_uv - 2.0, 3.0)
    d_bl = ssub(d_bl, d_rect - 2.0, 2.0)
    d_bl = ssub(d_bl, sym_d - 3.0, 3.0)
    d_bl = smax(d_bl, inside + 3.0, 1.0)
    bl_layers = [("bladder_wall", d_bl), ("urine", d_bl + bg["wall"])]
    # ---------------- non-organ pelvic structures (painted first)
    pre = []
    sg = an["sigmoid"]
    t_out = rarc.tangent_at(1.0)
    s0 = _add(jn, t_out, -4.0)
    s_end = _add(jn, _rot(t_out, sg["turn"] * 0.5), sg["len"])
    sarc = Arc.sagitta(s0, s_end, sg["sag"])
    sr = min(sg["r"], rg["r_J"] + 1.0)
    d_sg, _ = sarc.sdf(x, y, rg["r_J"], sr)
    d_sgl, _ = sarc.sdf(x, y, (rg["r_J"] - rg["wall"]) * max(lum, 0.4), sr - 3.0)
    pre += [("bowel_wall", d_sg), (sg["content"], d_sgl)]
    for k in range(sg["extra"]):
        c = _add(s_end, _rot(t_out, sg["turn"] + 40 * k), 22.0 + 16 * k)
        d = sd_ellipse(x, y, c, sg["r"] + 2, sg["r"] - 1, 30.0 * k)
        pre += [("bowel_wall", d), (sg["content"], d + 3.0)]
    if an["pouch_fluid"] > 0 and "uterus" in g:
        pc = _lerp(g["uterus"]["o_int"], rarc.point(0.75), 0.5)
        pre.append(("peritoneal_fluid", sd_ellipse(x, y, pc, an["pouch_fluid"] * 1.6,
                                                   an["pouch_fluid"], 40.0)))
    # levator plate, puborectalis, anococcygeal body
    lv = g["levator"]
    u_c = _unit(_sub(av, arj))
    post = _rot(u_c, -90)
    if post[0] < 0:
        post = (-post[0], -post[1])
    pr_c = _add(arj, post, rg["r_A"] + 6.0)
    pr_c = _add(pr_c, u_c, 3.0)
    chord = _sub(lv["tip"], pr_c)
    left = (-chord[1], chord[0])
    larc = Arc.sagitta(pr_c, lv["tip"], lv["sag"] if left[1] > 0 else -lv["sag"])
    d_lev, _ = larc.sdf(x, y, an["levator_t"] * 1.2, an["levator_t"])
    d_pr = sd_ellipse(x, y, pr_c, 10.0 * lv["pr_scale"], 6.5 * lv["pr_scale"],
                      math.degrees(math.atan2(chord[1], chord[0])))
    pre += [("muscle", smin(d_lev, d_pr, 4.0))]
    # external anal sphincter and perineal body
    d_eas = sd_capsule(x, y, _lerp(arj, av, 0.3), ext_av, canal_r + 5.0, canal_r + 4.0)
    d_eas = smax(d_eas, inside, 1.0)
    pb_c = _add(_lerp(i_pt, av, 0.55), _dirv(0), 14.0)
    d_pb = sd_ellipse(x, y, pb_c, 11.0, 8.0, _angle(_sub(av, i_pt)) - 90)
    pre += [("muscle", smax(d_pb, inside + 2.0, 1.0)), ("eas", d_eas)]
    # urethra
    top = g["urethra_top"]
    m_pt = (an["x_M"], _perineum_scalar(an, an["x_M"]))
    m_ext = _add(m_pt, _unit(_sub(m_pt, top)), 5.0)
    ur = an["urethra_r"]
    d_ur = smax(sd_capsule(x, y, top, m_ext, ur + 1.0, ur), inside, 1.0)
    pre += [("urethra", d_ur), ("urethra_mucosa", d_ur + ur * 0.45),
            ("muscle", sd_capsule(x, y, top, m_ext, 0.9, 0.9))]
    layers = list(pre)
    tags = [0] * len(pre)
    for lbl, grp in ((LABEL["rectum"], rect_layers), (LABEL["uterus_vagina"], uv_layers),
                     (LABEL["bladder"], bl_layers)):
        outer = grp[0][1]
        layers += [grp[0]] + [(nm, np.maximum(d, outer)) for nm, d in grp[1:]]
        tags += [lbl] * len(grp)
    organs = {LABEL["rectum"]: d_rect, LABEL["uterus_vagina"]: d_uv,
              LABEL["bladder"]: d_bl}
    union = np.minimum(np.minimum(d_rect, d_uv), d_bl)
    union = np.minimum(union, np.minimum(np.minimum(d_sg, d_lev), d_eas))
    return layers, tags, organs, union


# ----------------------------------------------------------------------------- static soft
def _static_layers(an, sk, loops, x, y):
    d_body = _body_sdf(an, x, y)
    layers = [("skin", d_body), ("fat", d_body + an["skin_t"])]
    off = an["fat_ant"] + an["skin_t"]
    t = an["rectus_t"]
    d_rec = np.abs(d_body + off + t / 2) - t / 2
    d_rec = np.maximum(d_rec, x - 40.0)
    d_rec = smax(d_rec, y - (an["sym"]["sup"][1] + 3.0), 2.0)
    layers.append(("muscle", d_rec))
    # back muscles behind the canal, above the sacrum's lower half
    cp = np.array(sk["canal"])
    order = np.argsort(cp[:, 1])
    xc = np.interp(y, cp[order, 1], cp[order, 0])
    d_bm = np.maximum(d_body + an["fat_post"] + an["skin_t"], xc + sk["canal_r"] + 2 - x)
    d_bm = smax(d_bm, y - (sk["sacral_segs"][2][0][1]), 6.0)
    layers.append(("muscle", d_bm))
    # aorta / iliac confluence in front of the lumbar spine
    pts = [_add(e[1], e[6], -(e[3] + 4.0 + an["aorta_r"])) for e in sk["lumbar"][2:]]
    pts = pts[::-1]
    d_ao = None
    for i in range(len(pts) - 1):
        d = sd_capsule(x, y, pts[i], pts[i + 1], an["aorta_r"])
        d_ao = d if d_ao is None else np.minimum(d_ao, d)
    layers.append(("vessel", d_ao))
    for lp in loops:
        if lp["kind"] == "arc":
            arc = Arc.sagitta(tuple(lp["p0"]), tuple(lp["p1"]), lp["sag"])
            d, _ = arc.sdf(x, y, lp["r"], lp["r"] * 0.9)
        else:
            d = sd_ellipse(x, y, tuple(lp["c"]), lp["r"] * 1.3, lp["r"], lp["ang"])
        d = np.maximum(d, d_body + 10.0)
        layers.append(("bowel_wall", d))
        if lp["content"] == "collapsed":
            layers.append(("mucus", d + lp["r"] * 0.75))
        else:
            layers.append((lp["content"], d + lp["wall"]))
    for v in an["mesovessels"]:
        layers.append(("vessel", sd_circle(x, y, tuple(v[:2]), v[2])))
    return layers, d_body


def _sample_loops(r: _R, an, sk, pelvic_check) -> list:
    """Small-bowel loops in the peritoneal cavity, kept clear of organs and bones."""
    n_want = r.i(6, 14)
    cands = []
    for _ in range(160):
        cands.append((r.u(-70, 140), r.u(-230, 20), r.u(7, 13)))
    arr = np.array(cands)
    ok = pelvic_check(arr[:, 0], arr[:, 1], arr[:, 2])
    loops = []
    for (cx, cy, rad), good in zip(cands, ok, strict=True):
        if not good:
            continue
        if any(math.hypot(cx - lp["c"][0], cy - lp["c"][1]) < 0.9 * (rad + lp["r"]) * 1.4
               for lp in loops):
            continue
        content = r.choice(("bowel_fluid", "gas", "chyme", "collapsed"),
                           p=(0.35, 0.12, 0.33, 0.2))
        lp = {"c": [cx, cy], "r": rad, "wall": r.u(2.0, 3.2), "content": content,
              "ang": r.u(0, 180)}
        if r.bern(0.45):
            lp["kind"] = "arc"
            a = r.u(0, 360)
            half = r.u(12, 22)
            lp["p0"] = list(_add((cx, cy), _dirv(a), half))
            lp["p1"] = list(_add((cx, cy), _dirv(a), -half))
            lp["sag"] = r.u(-14, 14)
        else:
            lp["kind"] = "ellipse"
        loops.append(lp)
        if len(loops) >= n_want:
            break
    return loops


# ----------------------------------------------------------------------------- params
def _states(curves, i):
    return {k: float(v[i]) for k, v in curves.items()}


def sample_params(seed: int) -> dict:
    """All random choices of a case (cheap: no image is rendered)."""
    r = _R(seed)
    h0, w0 = r.i(224, 288), r.i(224, 288)
    n_frames = r.i(20, 40)
    dt = r.u(0.5, 2.0)
    times = np.arange(n_frames) * dt
    an = _sample_anatomy(r)
    an["aorta_r"] = r.u(7, 10)
    mo = _sample_motion(r, float(times[-1]), times)
    sk = _skeleton(an)
    # imaging
    seq = r.choice(SEQUENCES, p=(0.4, 0.3, 0.15, 0.15))
    im = {"sequence": seq, "fat_sat": r.bern(0.3 if seq in ("t2_haste", "pd_tse") else 0.2),
          "opposed_phase": bool(seq == "t1_gre" and r.bern(0.5)),
          "band_depth": r.u(0.45, 0.9), "offres_banding": bool(seq == "bssfp" and r.bern(0.35)),
          "level_jitter": [r.u(0.85, 1.15) for _ in TISSUES],
          "level_shift": [r.u(-0.03, 0.03) for _ in TISSUES],
          "gamma": r.u(0.8, 1.25), "edge_px": r.u(0.35, 0.9),
          "snr": round(float(np.exp(r.u(math.log(4), math.log(40)))), 3),
          "coils": r.choice((1, 4, 6, 8), p=(0.25, 0.25, 0.25, 0.25)),
          "coil_rho": r.u(90, 180), "normalize": r.u(0.0, 0.7),
          "ghost": r.u(0.02, 0.1) if r.bern(0.3) else 0.0, "ghost_div": r.i(2, 4),
          "phase_axis": r.choice(("ap", "cc"), p=(0.7, 0.3)),
          "wrap_mm": r.u(20, 55) if r.bern(0.15) else 0.0,
          "scale": round(float(np.exp(r.u(math.log(40), math.log(4000)))), 3),
          "integer": r.bern(0.5), "slice_mm": r.u(4, 8), "tex_sigma": r.u(0.8, 2.0),
          "offres": [r.u(-1, 1) for _ in range(4)]}
    if im["wrap_mm"] > 0:
        im["phase_axis"] = "cc"
    # body / organ extents -> spacing, tilt and position
    tilt = r.u(-15, 15)
    params = {"generator": GENERATOR, "seed": int(seed), "matrix": [h0, w0],
              "n_frames": n_frames, "frame_interval_s": dt, "anatomy": an, "motion": mo,
              "imaging": im, "hysterectomy": bool(an["hysterectomy"])}
    ext = _extents(params, sk)
    an["mesovessels"] = []
    loops = _sample_loops(r, an, sk, ext["loop_ok"])
    an["loops"] = loops
    for _ in range(r.i(4, 12)):
        lp = loops[r.i(0, len(loops) - 1)] if loops else {"c": [0.0, -150.0], "r": 10.0}
        ang = r.u(0, 360)
        an["mesovessels"].append(list(_add(tuple(lp["c"]), _dirv(ang), lp["r"] + r.u(3, 9)))
                                 + [r.u(1.0, 2.5)])
    body_w = ext["body_ap"] + 16.0
    lo = max(1.1, body_w / w0)
    sp = r.u(lo, 1.5) if lo < 1.5 else 1.5
    fov = [h0 * sp, w0 * sp]
    ct, st = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
    pts = ext["fit"]
    rx = pts[:, 0] * ct - pts[:, 1] * st
    ry = pts[:, 0] * st + pts[:, 1] * ct
    margin = 8.0
    org = []
    frac_low = r.u(0.7, 0.9)  # where the lowest pelvic point lands in the field of view
    for lo_v, hi_v, size in ((rx.min(), rx.max(), fov[1]), (ry.min(), ry.max(), fov[0])):
        a, b = margin - lo_v, size - margin - hi_v
        mid, half = (a + b) / 2.0, max(b - a, 0.0) / 2.0
        if size == fov[0] and len(org) == 1:
            mid = min(max(frac_low * size - hi_v, a), b)
            half = min(mid - a, b - mid)
            org.append(mid + r.u(-0.3, 0.3) * half)
        else:
            org.append(mid + r.u(-0.55, 0.55) * half)
    # prefer keeping the whole body width in view when it fits
    bx = ext["body_x"]
    brx = bx[:, 0] * ct - bx[:, 1] * st
    if brx.max() - brx.min() + 6 < fov[1]:
        lo_c = max(3 - brx.min(), margin - rx.min())
        hi_c = min(fov[1] - 3 - brx.max(), fov[1] - margin - rx.max())
        if lo_c < hi_c:
            org[0] = min(max(org[0], lo_c), hi_c)
    params.update({"spacing_mm": [sp, sp], "fov_mm": fov, "tilt_deg": tilt,
                   "dyn_box": ext["dyn_box"],
                   "origin_mm": [round(org[1], 3), round(org[0], 3)]})
    params["imaging"]["series_description"] = {
        "t2_haste": "HASTE dyn sag pelvic floor", "bssfp": "TrueFISP cine sag (bssfp)",
        "t1_gre": "FLASH dyn sag (t1)", "pd_tse": "PD TSE dyn sag"}[seq] + (
        " FS" if im["fat_sat"] else "")
    params["motion"]["times_s"] = [round(float(t), 4) for t in times]
    return params


def _extents(params, sk):
    """Coarse evaluation (2 mm) of the pelvic structures at rest and extreme states."""
    an, mo = params["anatomy"], params["motion"]
    step = 3.0
    xs = np.arange(-140.0, 280.0, step)
    ys = np.arange(-280.0, 170.0, step)
    x, y = np.meshgrid(xs, ys)
    bone_d = _posterior_bone_sdf(sk, x, y)
    sym_d = _symphysis_sdf(an, x, y)
    bone_d = np.minimum(bone_d, sym_d)
    body_d = _body_sdf(an, x, y)
    times = np.arange(params["n_frames"]) * params["frame_interval_s"]
    cur = _curves(mo, times)
    i_max, i_min = int(np.argmax(cur["P"])), int(np.argmin(cur["P"]))
    dyn = np.zeros(x.shape, bool)
    org = np.zeros(x.shape, bool)
    for i in sorted({0, i_max, i_min, len(times) - 1}):
        st = _states(cur, i)
        st["e"] = float(cur["e"].max())
        g = _frame_geometry(an, sk, st)
        _layers, _tags, organs, union = _pelvis(an, sk, g, x, y, bone_d, sym_d, body_d)
        dyn |= union < 0
        for d in organs.values():
            org |= d < 0
    fit_mask = org | (bone_d < 0)
    fit_mask &= (y > an["sacrum"]["prom"][1] - 25)
    yy, xx = np.nonzero(fit_mask)
    fit = np.stack([xs[xx], ys[yy]], axis=1)
    # keep the perineal skin and the bottom of the organs in view
    fit = np.concatenate([fit, [[an["x_AV"], _perineum_scalar(an, an["x_AV"]) + 8]]])
    band = (y > -60) & (y < 40) & (body_d < 0)
    bxs = x[band]
    body_x = np.stack([x[band], y[band]], axis=1)[[np.argmin(bxs), np.argmax(bxs)]]
    dyy, dxx = np.nonzero(dyn)
    dyn_box = [float(xs[dxx].min()) - 14, float(xs[dxx].max()) + 14,
               float(ys[dyy].min()) - 14, float(ys[dyy].max()) + 14]
    org_d = np.where(org, -1.0, 1.0)
    dist_org = ndimage.distance_transform_edt(~org) * step

    def loop_ok(cx, cy, rad):
        ix = np.clip(np.round((cx - xs[0]) / step).astype(int), 0, len(xs) - 1)
        iy = np.clip(np.round((cy - ys[0]) / step).astype(int), 0, len(ys) - 1)
        ok = body_d[iy, ix] < -(an["fat_ant"] + an["rectus_t"] + rad + 8)
        ok &= dist_org[iy, ix] > rad + 5
        ok &= org_d[iy, ix] > 0
        ok &= bone_d[iy, ix] > rad + 8
        # anterior to the spine / aorta and above the pelvic floor
        spine_x = np.interp(cy, [p[1] for p in sk["canal"][::-1]],
                            [p[0] for p in sk["canal"][::-1]]) - an["lumbar"]["depth"] - 20
        ok &= cx < spine_x - rad
        sup = an["sym"]["sup"]
        jn = sk["sacral_segs"][2][4]
        yline = sup[1] + (jn[1] - sup[1]) * (cx - sup[0]) / (jn[0] - sup[0])
        ok &= cy < yline - rad
        return ok

    return {"fit": fit, "body_ap": float(bxs.max() - bxs.min()), "body_x": body_x,
            "dyn_box": dyn_box, "loop_ok": loop_ok}


# ----------------------------------------------------------------------------- imaging
def _levels(im) -> dict:
    col = SEQUENCES.index(im["sequence"])
    out = {}
    for i, (name, vals) in enumerate(TISSUES.items()):
        v = vals[col]
        ff = vals[4]
        if im["fat_sat"]:
            v = v * (1.0 - 0.9 * ff)
        if name not in ("air", "gas", "cortex"):
            v = max(0.01, v * im["level_jitter"][i] + im["level_shift"][i])
        out[name] = (float(v ** im["gamma"]), float(ff), float(vals[5]))
    return out


def _smoothstep_occ(d, inv_w):
    t = np.clip(0.5 - d * inv_w, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class _Painter:
    def __init__(self, levels, inv_w, want_fat):
        self.levels = levels
        self.inv_w = inv_w
        self.want_fat = want_fat

    def paint(self, img, fat, tex, layers, gas_thr=1.3):
        for name, d in layers:
            if float(d.min()) * self.inv_w > 0.5:
                continue
            o = _smoothstep_occ(d, self.inv_w)
            v, ff, amp = self.levels[name]
            val = v * (1.0 + amp * tex) if amp else v
            if name == "feces":
                g = np.clip((tex - gas_thr) * 2.0, 0.0, 1.0)
                val = val * (1.0 - g) + self.levels["gas"][0] * g
            img += o * (val - img)
            if self.want_fat:
                fat += o * (ff - fat)


def _texture(rng, shape, sigma_px):
    a = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_px)
    b = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_px * 4)
    t = a / (a.std() + 1e-6) * 0.7 + b / (b.std() + 1e-6) * 0.7
    return t.astype(np.float32)


def _block(a):
    h, w = a.shape[0] // 2, a.shape[1] // 2
    return a.reshape(h, 2, w, 2).mean(axis=(1, 3))


def generate(seed: int, matrix=None, n_frames=None):
    """Render one case: (CineSeries, truth uint8 (T, H, W), params)."""
    params = sample_params(seed)
    an, mo, im = params["anatomy"], params["motion"], params["imaging"]
    h0, w0 = params["matrix"]
    fov = params["fov_mm"]
    if matrix is not None:
        hh, ww = (int(matrix), int(matrix)) if np.isscalar(matrix) else map(int, matrix)
    else:
        hh, ww = h0, w0
    sp = (fov[0] / hh, fov[1] / ww)
    params["matrix"], params["spacing_mm"] = [hh, ww], [sp[0], sp[1]]
    times_all = np.asarray(mo["times_s"])
    cur_all = _curves(mo, times_all)
    if n_frames is not None and int(n_frames) != len(times_all):
        idx = np.round(np.linspace(0, len(times_all) - 1, int(n_frames))).astype(int)
        k = int(np.argmax(np.abs(cur_all["P"])))
        if k not in idx and len(idx) > 2:
            j = 1 + int(np.argmin(np.abs(idx[1:] - k)))
            idx[j] = k
        idx = np.unique(idx)
    else:
        idx = np.arange(len(times_all))
    times = times_all[idx]
    params["n_frames"] = len(times)
    curves = _curves(mo, times)
    t_n = len(times)
    sk = _skeleton(an)
    rng = np.random.default_rng([int(seed), 7])
    # sub-sample grid in image mm -> body mm
    hs, ws = 2 * hh, 2 * ww
    ry = ((np.arange(hs) - 0.5) / 2.0) * sp[0]
    rx = ((np.arange(ws) - 0.5) / 2.0) * sp[1]
    py, px = np.meshgrid(ry.astype(np.float32), rx.astype(np.float32), indexing="ij")
    oy, ox = params["origin_mm"]
    tl = math.radians(params["tilt_deg"])
    ct, st = math.cos(tl), math.sin(tl)
    ux, uy = px - ox, py - oy
    bx = (ux * ct + uy * st).astype(np.float32)
    by = (-ux * st + uy * ct).astype(np.float32)
    levels = _levels(im)
    inv_w = 1.0 / (im["edge_px"] * 0.5 * min(sp))  # edge half-width in sub-sample units
    want_fat = im["sequence"] == "bssfp" and not im["fat_sat"] or im["opposed_phase"]
    painter = _Painter(levels, inv_w, want_fat)
    tex = _texture(rng, (hs, ws), im["tex_sigma"] / (0.5 * min(sp)))
    # static background and bones
    bg = np.zeros((hs, ws), np.float32)
    bg_fat = np.zeros((hs, ws), np.float32)
    s_layers, _ = _static_layers(an, sk, an["loops"], bx, by)
    painter.paint(bg, bg_fat, tex, s_layers)
    b_layers, d_bone = _bone_layers(an, sk, bx, by)
    bone_img = np.zeros((hs, ws), np.float32)
    bone_fat = np.zeros((hs, ws), np.float32)
    painter.paint(bone_img, bone_fat, tex, b_layers)
    o_bone = _smoothstep_occ(d_bone, inv_w)
    bone_pix = _block(d_bone) < 0
    sym_full = _symphysis_sdf(an, bx, by)
    post_full = _posterior_bone_sdf(sk, bx, by)
    pel_bone = np.minimum(sym_full, post_full)
    # dynamic window (sub-sample indices, even-aligned)
    x0, x1, y0, y1 = params["dyn_box"]
    cx = np.array([x0, x1, x0, x1])
    cy = np.array([y0, y0, y1, y1])
    ix = (cx * ct - cy * st + ox) / sp[1]
    iy = (cx * st + cy * ct + oy) / sp[0]
    r0 = max(0, int(math.floor(iy.min())) - 2)
    r1 = min(hh, int(math.ceil(iy.max())) + 3)
    c0 = max(0, int(math.floor(ix.min())) - 2)
    c1 = min(ww, int(math.ceil(ix.max())) + 3)
    ws_r, ws_c = slice(2 * r0, 2 * r1), slice(2 * c0, 2 * c1)
    frames = np.zeros((t_n, hh, ww), np.float32)
    truth = np.zeros((t_n, hh, ww), np.uint8)
    fat_pix = None
    for fi in range(t_n):
        stt = _states(curves, fi)
        ux_w, uy_w = _warp(an, mo, stt, float(times[fi]), bx, by)
        qx = bx - ux_w
        qy = by - uy_w
        # rest-image coordinates of q for resampling the static background
        rr = (qx * st + qy * ct + oy) / sp[0] * 2.0 + 0.5
        cc = (qx * ct - qy * st + ox) / sp[1] * 2.0 + 0.5
        img = ndimage.map_coordinates(bg, [rr, cc], order=1, mode="nearest")
        fat = (ndimage.map_coordinates(bg_fat, [rr, cc], order=1, mode="nearest")
               if want_fat else bg_fat)
        wx, wy = qx[ws_r, ws_c], qy[ws_r, ws_c]
        twin = ndimage.map_coordinates(tex, [rr[ws_r, ws_c], cc[ws_r, ws_c]], order=1,
                                       mode="nearest")
        g = _frame_geometry(an, sk, stt)
        body_w = _body_sdf(an, wx, wy)
        layers, tags, organs, _u = _pelvis(an, sk, g, wx, wy, pel_bone[ws_r, ws_c],
                                           sym_full[ws_r, ws_c], body_w)
        lab = _one_piece(organs, layers, tags, bone_pix[r0:r1, c0:c1], 0.5 / inv_w + 0.01)
        sub_img = img[ws_r, ws_c]
        sub_fat = fat[ws_r, ws_c] if want_fat else np.zeros_like(sub_img)
        painter.paint(sub_img, sub_fat, twin, layers)
        img[ws_r, ws_c] = sub_img
        if want_fat:
            fat[ws_r, ws_c] = sub_fat
        img = img * (1.0 - o_bone) + bone_img
        frames[fi] = _block(img)
        if want_fat:
            fat = fat * (1.0 - o_bone) + bone_fat
            fat_pix = _block(fat)
            frames[fi] *= 1.0 - im["band_depth"] * np.clip(4.0 * fat_pix * (1.0 - fat_pix),
                                                           0, 1)
        truth[fi, r0:r1, c0:c1] = lab
        truth[fi][bone_pix] = 0
    _acquire(frames, params, curves, times, rng, bx, by, sp)
    series = CineSeries(frames=frames, spacing_mm=sp, times_s=times)
    series.meta["series_description"] = im["series_description"]
    series.meta["orientation"] = "sagittal (canonical)"
    series.meta["subject_id"] = f"sdf_{seed:03d}"
    params["motion"]["times_s"] = [round(float(t), 4) for t in times]
    params["motion"]["push_curve"] = [round(float(v), 4) for v in curves["P"]]
    return series, truth, _jsonable(params)


def _labels(dpix, bone):
    lab = np.zeros(bone.shape, np.uint8)
    for lbl in (LABEL["rectum"], LABEL["uterus_vagina"], LABEL["bladder"]):
        lab[dpix[lbl] < 0] = lbl
    lab[bone] = 0
    return lab


def _one_piece(organs, layers, tags, bone, edge):
    """Pixel labels (priority rectum < uterus_vagina < bladder < bone) with every organ
    kept as its largest 8-connected piece: stray pieces are removed from the organ's SDF
    (made positive there, for all its layers), so image and labels stay identical."""
    dpix = {lbl: _block(d) for lbl, d in organs.items()}
    removed = {lbl: np.zeros(bone.shape, bool) for lbl in organs}
    eight = np.ones((3, 3), bool)
    for _ in range(3):
        lab = _labels(dpix, bone)
        changed = False
        for lbl in organs:
            m = lab == lbl
            comp, n = ndimage.label(m, structure=eight)
            if n > 1:
                keep = int(np.argmax(np.bincount(comp.ravel())[1:])) + 1
                rem = m & (comp != keep)
                dpix[lbl] = np.where(rem, np.maximum(dpix[lbl], 1.0), dpix[lbl])
                removed[lbl] |= rem
                changed = True
        if not changed:
            break
    lab = _labels(dpix, bone)
    for lbl, rem in removed.items():
        if not rem.any():
            continue
        up = np.repeat(np.repeat(rem, 2, axis=0), 2, axis=1)
        for i, (name, d) in enumerate(layers):
            if tags[i] == lbl:
                layers[i] = (name, np.where(up, np.maximum(d, edge), d))
    return lab


def _warp(an, mo, st, t, x, y):
    """Global low-frequency displacement u(x, y) (body mm) of the soft tissue."""
    pp, pm = max(st["P"], 0.0), max(-st["P"], 0.0)
    lx = an["laxity"]
    lam = (lx["anterior"] + lx["middle"] + lx["posterior"]) / 3.0
    hc = _lerp(tuple(an["vagina"]["I"]), tuple(an["rectum"]["A"]), 0.5)
    sig = mo["floor_sigma"]
    amp = pp * (2 + 10 * lam) - pm * 3
    dvec = _dirv(170)
    gx = (x - hc[0]) * (1.0 / sig)
    gy = (y - hc[1]) * (1.0 / sig)
    bump = np.exp(-0.5 * (gx * gx + gy * gy))
    ux = amp * dvec[0] * bump
    uy = amp * dvec[1] * bump
    env = 1.0 / (1.0 + np.exp((y + 70.0) * (1.0 / 20.0)))
    ant = 1.0 / (1.0 + np.exp((x - 60.0) * (1.0 / 30.0)))
    br = st["b"] * mo["breath_amp"]
    uy = uy + (br + pp * mo["push_amp"]) * env
    ux = ux - 0.5 * br * env * ant - 0.3 * pp * mo["push_amp"] * env * ant
    for a, dir_deg, k_deg, lam_w, f, ph, gain in mo["modes"]:
        ta = a * math.sin(2 * math.pi * f * t + ph) + gain * st["P"] * 0.5
        d = _dirv(dir_deg)
        kv = _dirv(k_deg)
        w = np.sin((x * kv[0] + y * kv[1]) * (2 * math.pi / lam_w) + ph)
        ux = ux + ta * d[0] * w
        uy = uy + ta * d[1] * w
    return ux.astype(np.float32), uy.astype(np.float32)


def _acquire(frames, params, curves, times, rng, bx, by, sp):
    """Bias field, noise, ghosting, wrap-around, motion blur and scale, in place."""
    im = params["imaging"]
    an = params["anatomy"]
    t_n, hh, ww = frames.shape
    bxp, byp = _block(bx), _block(by)
    d_body = _body_sdf(an, bxp, byp)
    body = d_body < 0
    # coils around the body (sensitivities in body coordinates)
    nc = im["coils"]
    crng = np.random.default_rng([params["seed"], 11])
    tb = an["trunk"]
    x_ant, x_back = an["x_front"], tb[0] + tb[2]
    sens = []
    for c in range(max(nc, 1)):
        if nc == 1:
            cxy = (x_ant - 40.0, crng.uniform(-60, 20))
        else:
            side = c % 2
            cxy = ((x_ant - 25.0) if side == 0 else (x_back + 25.0),
                   -100.0 + 160.0 * (c // 2) / max(1, (nc - 1) // 2) + crng.uniform(-15, 15))
        r2 = ((bxp - cxy[0]) ** 2 + (byp - cxy[1]) ** 2) / im["coil_rho"] ** 2
        sens.append((1.0 / (1.0 + r2) ** 1.2).astype(np.float32))
    sens = np.array(sens)
    sos = np.sqrt((sens ** 2).sum(0))
    norm = sos.max()
    sens /= norm
    sos /= norm
    corr = (sos + 0.05) ** (-im["normalize"])
    ref = float(np.median(frames[:, body].mean(0) if body.any() else frames.mean()))
    sigma = max(ref, 1e-3) * float(np.median(sos[body])) / im["snr"]
    mo = params["motion"]
    dpdt = (_curves(mo, times + 0.1)["P"] - _curves(mo, np.maximum(times - 0.1, 0.0))["P"]) / 0.2
    wrap_px = int(round(im["wrap_mm"] / sp[0])) if im["wrap_mm"] > 0 else 0
    if wrap_px:
        yy = (np.arange(-wrap_px, 0) * sp[0])[:, None] * np.ones((1, ww))
        xx = (np.arange(ww) * sp[1])[None, :] * np.ones((wrap_px, 1))
        oy, ox = params["origin_mm"]
        tl = math.radians(params["tilt_deg"])
        ux, uy = xx - ox, yy - oy
        wbx = ux * math.cos(tl) + uy * math.sin(tl)
        wby = -ux * math.sin(tl) + uy * math.cos(tl)
        wd = _body_sdf(an, wbx, wby)
        fat_v = _levels(im)["fat"][0]
        strip = (np.clip(0.5 - wd, 0, 1) * fat_v * ref / 0.6 * 0.5).astype(np.float32)
    ax = 0 if im["phase_axis"] == "cc" else 1
    for i in range(t_n):
        f = frames[i]
        blur = abs(float(dpdt[i])) * 0.3 * 20.0 / min(sp)
        if blur > 1.5:
            f = ndimage.gaussian_filter1d(f, min(blur, 8.0) / 3.0, axis=0)
        if wrap_px:
            f = f.copy()
            f[-wrap_px:] += strip
        if im["ghost"] > 0:
            shift = f.shape[ax] // im["ghost_div"]
            f = f + im["ghost"] * (1 + 0.5 * math.sin(i)) * np.roll(f, shift, axis=ax)
        if im["offres_banding"]:
            o = im["offres"]
            psi = (o[0] * bxp / 25.0 + o[1] * byp / 30.0 + o[2] * np.sin(bxp / 60.0 + o[3])
                   * 3.0)
            band = np.exp(-((np.mod(psi, 2 * np.pi) - np.pi) / 0.12) ** 2)
            f = f * (1.0 - 0.85 * band * body)
        if nc == 1:
            sig = f * sens[0]
            noisy = np.hypot(sig + rng.normal(0, sigma, f.shape),
                             rng.normal(0, sigma, f.shape))
        else:
            acc = np.zeros_like(f)
            for c in range(nc):
                sig = f * sens[c]
                acc += (sig + rng.normal(0, sigma, f.shape)) ** 2
                acc += rng.normal(0, sigma, f.shape) ** 2
            noisy = np.sqrt(acc)
        frames[i] = (noisy * corr).astype(np.float32)
    frames *= im["scale"] / max(float(np.percentile(frames, 99.5)), 1e-6)
    if im["integer"]:
        np.rint(frames, out=frames)
    np.maximum(frames, 0.0, out=frames)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return round(float(obj), 5)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# ----------------------------------------------------------------------------- CLI
def write_case(job) -> str:
    seed, out = job
    t0 = time.perf_counter()
    series, truth, params = generate(seed)
    case_dir = Path(out) / f"{GENERATOR}_{seed:03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=seed, patient_name=f"SDF^{seed:03d}",
                       patient_id=f"sdf_{seed:03d}",
                       slice_thickness_mm=params["imaging"]["slice_mm"])
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    im, mo = params["imaging"], params["motion"]
    return (f"{case_dir.name}: {truth.shape[0]}x{truth.shape[1]}x{truth.shape[2]} "
            f"{im['sequence']}{' fs' if im['fat_sat'] else ''} {mo['maneuver']} "
            f"hyst={params['hysterectomy']} snr={im['snr']:.1f} "
            f"{time.perf_counter() - t0:.1f}s")


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
