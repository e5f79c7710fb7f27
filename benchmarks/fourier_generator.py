"""Ninth independent generator of labelled synthetic cine mid-sagittal female pelvic MRI.

Methods.  Anatomy is 2D and built from closed shapes given by random Fourier
descriptors: each shape has a mean radial contour ``rho(t) = 1 + sum_k a_k cos kt +
b_k sin kt`` (low-order harmonics) plus per-subject random perturbations of the
harmonics.  Elongated structures (bladder, uterus-cervix-vagina, rectum-anal canal,
levator plate) draw that contour in a curvilinear frame: the local coordinate u runs
along a quadratic skeleton curve between anatomical anchor points (pubic symphysis,
sacral promontory, coccyx tip, bladder neck, bladder dome, cervix, uterine fundus,
introitus, anorectal junction, anus, rectosigmoid) and v across it, scaled by a width
profile.  Straining (sinusoid or ramp-hold) moves the anchor points (descent 1-4 cm,
bladder-neck rotation, anorectal-angle opening, coccyx extension) and changes the
harmonics smoothly (bladder flattening).  Organs are painted by priority (bladder >
uterus-vagina > rectum; bones over all), so they never overlap; each label keeps its
largest connected piece.  Appearance: per-tissue multi-octave (1/f^beta) noise
texture that moves with a smooth anchor-driven displacement field, fat septa, stool
texture and gas, small-bowel/sigmoid loops with mixed content; per case a sequence
(T2 single-shot FSE, bSSFP with off-resonance banding, T1 gradient echo; optional
fat suppression) with its own tissue values; acquisition at a low native resolution
(1.8-3 mm phase, 1.2-2 mm read) by k-space truncation and zero filling; optional
temporal view sharing (k-space periphery blended from neighbouring frames);
surface-coil shading from anterior and posterior elements; complex Gaussian noise
(Rician magnitude, SNR 5-40); random global scale and offset.  Each case is written
as one Enhanced MR Image Storage multi-frame DICOM (stored in a random in-plane
orientation and frame order, which ``core.io.read_series`` undoes), read back and
checked.

Run::

    python benchmarks/fourier_generator.py --seeds 0-11 --out /tmp/fourier/cases --workers 1
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from core.io import read_series  # noqa: E402
from core.io.dicom_write import decimal_string as _ds  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402

BLADDER, UTERUS, RECTUM = 1, 2, 3
SSAA = 2  # supersampling of shape coverage

# tissue indices
(AIR, FAT, MUSCLE, SKIN, CORTEX, MARROW, URINE, BWALL, MYO, ENDO, JZ, STROMA, VAGWALL,
 VAGLUM, RWALL, STOOL, GAS, SPHINC, BOWWALL, BOWFLUID, BOWMIX, DISC, CSF, LEVATOR) = range(24)
N_TISSUE = 24

# Tissue signal per sequence (my own values): T2 SSFSE, bSSFP, T1 GRE.
_T2 = [0.0, 0.72, 0.17, 0.45, 0.03, 0.55, 1.0, 0.22, 0.42, 0.82, 0.16, 0.14, 0.30,
       0.12, 0.24, 0.38, 0.0, 0.13, 0.30, 0.90, 0.50, 0.60, 0.95, 0.13]
_SSFP = [0.0, 0.85, 0.22, 0.45, 0.03, 0.70, 1.0, 0.30, 0.48, 0.75, 0.26, 0.25, 0.36,
         0.20, 0.30, 0.42, 0.0, 0.22, 0.35, 0.95, 0.55, 0.65, 0.98, 0.21]
_T1 = [0.0, 1.0, 0.36, 0.55, 0.04, 0.80, 0.10, 0.33, 0.38, 0.34, 0.34, 0.33, 0.36,
       0.20, 0.35, 0.52, 0.0, 0.33, 0.36, 0.12, 0.40, 0.30, 0.10, 0.34]
SEQUENCES = {"t2_ssfse": _T2, "bssfp": _SSFP, "t1_gre": _T1}
# texture strength (relative modulation) per tissue
_TEX = np.array([0, .10, .12, .08, .05, .22, .02, .10, .14, .10, .08, .10, .10,
                 .10, .10, .45, .05, .10, .12, .06, .40, .06, .03, .12])


# --------------------------------------------------------------------------- shapes
def random_harmonics(rng, mean: dict[int, complex], jitter: float, kmax: int = 6):
    """Mean low-order harmonics plus random perturbations decaying with order."""
    h = {}
    for k in range(2, kmax + 1):
        m = mean.get(k, 0j)
        h[k] = m + complex(*rng.normal(0, jitter / k ** 1.3, 2))
    return h


def radial(h: dict[int, complex], n: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Unit contour (u, v) of a radial Fourier descriptor."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rho = np.ones_like(t)
    for k, c in h.items():
        rho += c.real * np.cos(k * t) + c.imag * np.sin(k * t)
    rho = np.clip(rho, 0.35, None)
    return rho * np.cos(t), rho * np.sin(t)


def bezier(a, q, b, s):
    """Quadratic Bezier through a (s=0) and b (s=1) with control q, and its unit normal."""
    a, q, b = (np.asarray(p, float) for p in (a, q, b))
    s = np.asarray(s, float)[:, None]
    pt = (1 - s) ** 2 * a + 2 * (1 - s) * s * q + s ** 2 * b
    d = 2 * (1 - s) * (q - a) + 2 * s * (b - q)
    d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    return pt, np.stack([-d[:, 1], d[:, 0]], 1)


def through(a, m, b):
    """Control point making the Bezier pass through m at s = 0.5."""
    return 2 * np.asarray(m, float) - 0.5 * (np.asarray(a, float) + np.asarray(b, float))


def tube(h, a, m, b, widths, scale=1.0, shrink=0.0, s_range=(0.0, 1.0)):
    """Closed contour (N, 2) in mm: Fourier shape in the skeleton frame a->m->b.

    widths: half-width knots (mm) at evenly spaced s; shrink: mm taken off all round.
    """
    u, v = radial(h)
    s0, s1 = s_range
    s = s0 + (u + 1) / 2 * (s1 - s0)
    knots = np.linspace(0, 1, len(widths))
    w = np.interp(np.clip(s, 0, 1), knots, np.asarray(widths) * scale)
    length = np.linalg.norm(np.asarray(b) - np.asarray(a)) + 1e-6
    ds = shrink / length
    s = np.clip(s, s0 + ds, s1 - ds) if shrink else s
    pt, nrm = bezier(a, through(a, m, b), b, s)
    return pt + nrm * (v * np.maximum(w - shrink, 0.5))[:, None]


def blob(h, centre, rx, ry, angle=0.0):
    u, v = radial(h)
    ca, sa = np.cos(angle), np.sin(angle)
    x, y = u * rx, v * ry
    return np.stack([centre[0] + ca * x - sa * y, centre[1] + sa * x + ca * y], 1)


class Canvas:
    """Painter with partial-volume coverage at the output grid."""

    def __init__(self, h, w, sp, origin_px, rot):
        self.h, self.w, self.sp = h, w, sp
        self.o = origin_px
        self.c, self.s = np.cos(rot), np.sin(rot)
        self.tissue_frac = np.zeros((N_TISSUE, h, w), np.float32)
        self.tissue_frac[AIR] = 1
        self.owner = np.zeros((h, w), np.uint8)

    def px(self, pts):
        """mm (x anterior->posterior, y head->feet, origin symphysis) -> supersampled px."""
        x = self.c * pts[:, 0] - self.s * pts[:, 1]
        y = self.s * pts[:, 0] + self.c * pts[:, 1]
        col = (x / self.sp[1] + self.o[1] + 0.5) * SSAA - 0.5
        row = (y / self.sp[0] + self.o[0] + 0.5) * SSAA - 0.5
        return list(zip(col.tolist(), row.tolist(), strict=True))

    def cover(self, pts):
        """Fractional coverage of a polygon: (coverage array of the box, (row, col) slices)."""
        p = self.px(pts)
        arr = np.asarray(p)
        c0 = max(int(np.floor(arr[:, 0].min() / SSAA)) - 1, 0)
        c1 = min(int(np.ceil(arr[:, 0].max() / SSAA)) + 2, self.w)
        r0 = max(int(np.floor(arr[:, 1].min() / SSAA)) - 1, 0)
        r1 = min(int(np.ceil(arr[:, 1].max() / SSAA)) + 2, self.h)
        if c1 <= c0 or r1 <= r0:
            return np.zeros((1, 1), np.float32), (slice(0, 1), slice(0, 1))
        img = Image.new("L", ((c1 - c0) * SSAA, (r1 - r0) * SSAA), 0)
        ImageDraw.Draw(img).polygon([(x - c0 * SSAA, y - r0 * SSAA) for x, y in p], fill=255)
        a = np.asarray(img, np.float32).reshape(r1 - r0, SSAA, c1 - c0, SSAA)
        return a.mean(axis=(1, 3)) / 255.0, (slice(r0, r1), slice(c0, c1))

    def full(self, cov):
        out = np.zeros((self.h, self.w), np.float32)
        out[cov[1]] = cov[0]
        return out

    def paint(self, pts, tissue, owner=None, cov=None):
        f, box = self.cover(pts) if cov is None else cov
        tf = self.tissue_frac[(slice(None), *box)]
        tf *= (1 - f)[None]
        tf[tissue] += f
        if owner is not None:
            self.owner[box][f >= 0.5] = owner
        return f, box


def union(cv, *covs):
    """Union (max) of coverages as one full-frame coverage."""
    r0, r1 = min(b[0].start for _, b in covs), max(b[0].stop for _, b in covs)
    c0, c1 = min(b[1].start for _, b in covs), max(b[1].stop for _, b in covs)
    out = np.zeros((r1 - r0, c1 - c0), np.float32)
    for f, (rs, cs) in covs:
        sub = (slice(rs.start - r0, rs.stop - r0), slice(cs.start - c0, cs.stop - c0))
        out[sub] = np.maximum(out[sub], f)
    return out, (slice(r0, r1), slice(c0, c1))


# --------------------------------------------------------------------------- subject
def make_subject(rng):
    """Per-subject rest anchors (mm, origin = inferior symphysis) and shape harmonics."""
    j = lambda s=1.0: rng.normal(0, s)  # noqa: E731
    a = {
        "sym": np.array([0.0, 0.0]),
        "coccyx": np.array([82 + j(6), -12 + j(6)]),
        "prom": np.array([92 + j(7), -108 + j(8)]),
        "bneck": np.array([24 + j(3), -22 + j(3)]),
        "cervix": np.array([56 + j(4), -42 + j(5)]),
        "introitus": np.array([22 + j(3), 38 + j(3)]),
        "arj": np.array([58 + j(4), 4 + j(4)]),
        "anus": np.array([48 + j(3), 44 + j(3)]),
        "rsig": np.array([90 + j(5), -92 + j(8)]),
    }
    fill = rng.uniform(0.6, 1.25)  # bladder filling
    a["bdome"] = a["bneck"] + np.array([2 + j(5), -(48 + 14 * fill) + j(4)])
    if rng.random() < 0.85:  # anteverted: the fundus rests on the bladder dome
        a["fundus"] = a["bdome"] + np.array([rng.uniform(8, 30), -rng.uniform(22, 40)])
    else:  # retroverted: the fundus points to the sacrum
        a["fundus"] = a["cervix"] + np.array([rng.uniform(-5, 10), -rng.uniform(45, 60)])
    hv = lambda mean, jit: random_harmonics(rng, mean, jit)  # noqa: E731
    shapes = {
        "bladder": hv({2: 0.06 + 0j, 3: 0.05j}, 0.10),
        "uterus": hv({2: 0.04 + 0j}, 0.06),
        "rectum": hv({}, 0.07),
        "pubis": hv({2: 0.05 + 0j}, 0.06),
        "body": hv({2: -0.02 + 0j, 4: -0.09 + 0j}, 0.04),
        "levator": hv({}, 0.05),
    }
    widths = {
        "bladder": np.array([8, 24, 31, 29, 20]) * fill ** 0.5 * rng.uniform(0.85, 1.15),
        "uterus": np.array([6, 7, 7, 10, 13, 16, 19, 18, 12]) * rng.uniform(0.75, 1.05),
        "rectum": np.array([7, 8, 13, 16, 14, 11, 9]) * rng.uniform(0.8, 1.2),
    }
    loops = []
    for _ in range(rng.integers(5, 10)):
        loops.append((np.array([rng.uniform(-20, 90), rng.uniform(-200, -95)]),
                       rng.uniform(10, 20), rng.uniform(8, 15), rng.uniform(0, np.pi),
                       hv({}, 0.12), rng.choice([BOWFLUID, BOWMIX, GAS], p=[.5, .4, .1])))
    return {"anchors": a, "shapes": shapes, "widths": widths, "loops": loops, "fill": fill,
            "stool": rng.choice(["stool", "gas", "fluid", "empty"], p=[.45, .15, .15, .25]),
            "body_ap": rng.uniform(-55, -38), "body_post": rng.uniform(135, 165),
            "perineum": rng.uniform(50, 62), "sac_bulge": rng.uniform(18, 32),
            "vag_gel": bool(rng.random() < 0.25)}


def strain_curve(rng, n):
    """Straining amount m(t) in [0, 1]."""
    t = np.linspace(0, 1, n)
    kind = rng.choice(["sinus", "ramp_hold", "double"])
    if kind == "sinus":
        m = 0.5 - 0.5 * np.cos(2 * np.pi * t * rng.uniform(0.8, 1.3))
    elif kind == "double":
        m = np.sin(np.pi * t * 2) ** 2
    else:
        t0, t1, t2 = np.sort(rng.uniform(0.05, 0.95, 3))
        m = np.clip((t - t0) / max(t1 - t0, 0.08), 0, 1)
        if rng.random() < 0.6:
            m = m * np.clip(1 - (t - t2) / 0.15, 0, 1)
        m = 0.5 - 0.5 * np.cos(np.pi * m)
    return np.clip(m, 0, 1), str(kind)


def moved_anchors(sub, m, mot):
    """Anchors at straining amount m."""
    a = {k: v.copy() for k, v in sub["anchors"].items()}
    d = mot["descent"] * m
    down = np.array([np.sin(mot["dir"]), np.cos(mot["dir"])])
    for k, f in (("bneck", 1.0), ("cervix", 0.85), ("arj", 0.8), ("introitus", 0.45),
                 ("anus", 0.55), ("rsig", 0.3), ("fundus", 0.55), ("bdome", 0.55)):
        a[k] = a[k] + f * d * down
    # bladder-neck rotation about the symphysis (posterior-inferior swing)
    rot = mot["bn_rot"] * m
    rel = a["bneck"] - a["sym"]
    c, s = np.cos(rot), np.sin(rot)
    a["bneck"] = a["sym"] + np.array([c * rel[0] - s * rel[1], s * rel[0] + c * rel[1]])
    # anorectal angle opening: the anal canal swings anteriorly about the ARJ
    rel = a["anus"] - a["arj"]
    c, s = np.cos(-mot["ara"] * m), np.sin(-mot["ara"] * m)
    a["anus"] = a["arj"] + np.array([c * rel[0] - s * rel[1], s * rel[0] + c * rel[1]])
    a["coccyx"] = a["coccyx"] + m * mot["coccyx"] * np.array([0.8, 0.6])
    # bladder flattening: dome descends more than the neck
    a["bdome"] = a["bdome"] + m * mot["flatten"] * 25 * down
    return a


def displacement(a0, a1, xx, yy, sigma=35.0):
    """Smooth dense displacement (mm) interpolating anchor moves (normalised Gaussians)."""
    num_x = np.zeros_like(xx)
    num_y = np.zeros_like(xx)
    den = np.full_like(xx, 0.3)
    for k in a0:
        g = np.exp(-((xx - a0[k][0]) ** 2 + (yy - a0[k][1]) ** 2) / (2 * sigma ** 2))
        dx, dy = a1[k] - a0[k]
        num_x += g * dx
        num_y += g * dy
        den += g
    return num_x / den, num_y / den


def fbm(rng, h, w, beta):
    """Multi-octave (1/f^beta) noise, zero mean, unit std."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1
    spec = (rng.normal(size=(h, w // 2 + 1)) + 1j * rng.normal(size=(h, w // 2 + 1)))
    out = np.fft.irfft2(spec / f ** (beta / 2), s=(h, w))
    return ((out - out.mean()) / (out.std() + 1e-9)).astype(np.float32)


# --------------------------------------------------------------------------- frame
def draw_frame(cv: Canvas, sub, a, m, mot):
    """Paint all structures for one frame; owner map holds the organ labels."""
    sh, wd = sub["shapes"], sub["widths"]
    # body outline (fat) with skin: superellipse-like Fourier shape
    ap, post = sub["body_ap"] - 6 * m, sub["body_post"]
    per = sub["perineum"] + 0.35 * m * mot["descent"]
    cx, ry = (ap + post) / 2, 260.0
    cy = per - ry
    rx = (post - ap) / 2 / (1 + sh["body"][4].real)
    cv.paint(blob(sh["body"], (cx, cy), rx, ry), SKIN)
    inner = cv.paint(blob(sh["body"], (cx, cy), rx - 4, ry - 4), FAT)
    # rectus abdominis (anterior wall muscle) and posterior (gluteal / paraspinal) muscle
    rect = np.array([[ap + 14, -400], [ap + 26, -400], [ap + 24, -30], [ap + 16, -28]])
    cv.paint(rect, MUSCLE)
    glut = cv.full(cv.cover(blob(sh["levator"], (post - 10, -40), 38, 95)))
    cv.paint(None, MUSCLE, cov=(glut * cv.full(inner), (slice(None), slice(None))))
    # small bowel / sigmoid loops, pushed down by straining
    for c, rx, ryy, ang, h, content in sub["loops"]:
        cc = c + np.array([0, 0.5 * m * mot["descent"]])
        cv.paint(blob(h, cc, rx, ryy, ang), BOWWALL)
        cv.paint(blob(h, cc, rx - 3, ryy - 3, ang), int(content))
    # levator plate (ARJ -> coccyx) and puborectalis sling behind the ARJ
    lev = tube(sh["levator"], a["arj"] + [6, 8], (a["arj"] + a["coccyx"]) / 2 + [4, 8],
               a["coccyx"], [7, 6, 5, 4])
    cv.paint(lev, LEVATOR)
    cv.paint(blob(sh["levator"], a["arj"] + [14, 8], 12, 9, 0.5), LEVATOR)
    # perineal body / external sphincter around the anal canal
    cv.paint(tube(sh["rectum"], a["arj"], (a["arj"] + a["anus"]) / 2, a["anus"] + [0, 6],
                  [13, 14, 14, 12]), SPHINC)
    # rectum + anal canal: anus -> ARJ -> rectosigmoid (ampulla along the sacrum)
    q = (a["arj"] + a["rsig"]) / 2 + np.array([0.45 * sub["sac_bulge"], 0])
    rec = tube(sh["rectum"], a["anus"], a["arj"], q, wd["rectum"][:5], s_range=(0, 1))
    rec2 = tube(sh["rectum"], a["arj"], q, a["rsig"], wd["rectum"][2:])
    cv.paint(None, RWALL, RECTUM, cov=union(cv, cv.cover(rec), cv.cover(rec2)))
    if sub["stool"] != "empty":
        lum = {"stool": STOOL, "gas": GAS, "fluid": BOWFLUID}[sub["stool"]]
        inner = union(cv, cv.cover(tube(sh["rectum"], a["arj"], q, a["rsig"], wd["rectum"][2:],
                                        shrink=4)),
                      cv.cover(tube(sh["rectum"], a["anus"], a["arj"], q, wd["rectum"][:5],
                                    shrink=4, s_range=(0.45, 1))))
        cv.paint(None, lum, cov=inner)
    # uterus-cervix-vagina: introitus -> cervix -> fundus
    ut_pts = tube(sh["uterus"], a["introitus"], a["cervix"], a["fundus"], wd["uterus"])
    cv.paint(ut_pts, VAGWALL, UTERUS)
    cv.paint(tube(sh["uterus"], a["introitus"], a["cervix"], a["fundus"], wd["uterus"],
                  s_range=(0.5, 1.02)), MYO)
    cv.paint(tube(sh["uterus"], a["introitus"], a["cervix"], a["fundus"],
                  wd["uterus"] * 0.6, s_range=(0.4, 0.62)), STROMA)
    cv.paint(tube(sh["uterus"], a["introitus"], a["cervix"], a["fundus"],
                  np.full(9, 6.0), s_range=(0.6, 0.93)), JZ)
    cv.paint(tube(sh["uterus"], a["introitus"], a["cervix"], a["fundus"],
                  np.full(9, 3.0), s_range=(0.62, 0.91)), ENDO)
    cv.paint(tube(sh["uterus"], a["introitus"], a["cervix"], a["fundus"],
                  np.full(9, 2.5), s_range=(0.02, 0.42)),
             BOWFLUID if sub["vag_gel"] else VAGLUM)
    # bladder: wall + urine, neck -> dome, flattening with strain
    hb = dict(sh["bladder"])
    hb[2] = hb[2] + complex(0.12 * m * mot["flatten"], 0)
    bw = wd["bladder"] * (1 + 0.25 * m * mot["flatten"])
    mid = (a["bneck"] + a["bdome"]) / 2 + np.array([6, 0])
    cv.paint(tube(hb, a["bneck"], mid, a["bdome"], bw), BWALL, BLADDER)
    cv.paint(tube(hb, a["bneck"], mid, a["bdome"], bw, shrink=mot["bwall"]), URINE)
    # bones last: pubis and sacrum/coccyx segments (+ L5), spinal canal behind
    pub = blob(sh["pubis"], (-4, -20), 24, 10, np.pi / 2 + 0.35)
    cv.paint(pub, CORTEX)
    cv.paint(blob(sh["pubis"], (-4, -20), 21, 7, np.pi / 2 + 0.35), MARROW)
    sq = (a["prom"] + a["coccyx"]) / 2 + np.array([sub["sac_bulge"], 0])
    n_seg = 8
    s_knots = np.linspace(0, 1, n_seg + 1)
    for i in range(n_seg):
        ts = np.linspace(s_knots[i] + 0.012, s_knots[i + 1] - 0.012, 6)
        pt, nrm = bezier(a["prom"], sq, a["coccyx"], ts)
        th = np.interp(ts, [0, 0.6, 1], [30, 18, 7])[:, None]
        seg = np.concatenate([pt - nrm * 0.0, (pt - nrm * th)[::-1]])
        cv.paint(seg, CORTEX)
        cv.paint(np.concatenate([pt - nrm * 1.5, (pt - nrm * (th - 1.5))[::-1]]), MARROW)
    ts = np.linspace(0, 0.75, 12)
    pt, nrm = bezier(a["prom"], sq, a["coccyx"], ts)
    th = np.interp(ts, [0, 0.6, 1], [30, 18, 7])[:, None]
    canal = pt - nrm * (th + 2 + 5 * (1 - ts[:, None]))
    cv.paint(np.concatenate([pt - nrm * (th + 2), canal[::-1]]), CSF)
    # L5 body above the promontory with disc
    up = a["prom"] + np.array([-8, -12])
    cv.paint(blob(sh["pubis"], up + [16, -4], 16, 5, 0.2), DISC)
    cv.paint(blob(sh["pubis"], up + [14, -24], 18, 14, 0.2), CORTEX)
    cv.paint(blob(sh["pubis"], up + [14, -24], 16, 12, 0.2), MARROW)


def finish_labels(owner):
    lab = np.zeros_like(owner)
    for k in (BLADDER, UTERUS, RECTUM):
        cc, n = ndimage.label(owner == k)
        if n == 0:
            continue
        sizes = ndimage.sum(np.ones_like(cc), cc, index=range(1, n + 1))
        lab[cc == 1 + int(np.argmax(sizes))] = k
    return lab


# --------------------------------------------------------------------------- generate
def generate(seed: int):
    """One case: (frames float32 (T,H,W), labels uint8 (T,H,W), spacing (row, col), params).

    Frames and labels are in canonical orientation and equal what ``read_series``
    returns for the written file (frames after the same uint16 quantisation).
    """
    rng = np.random.default_rng([int(seed), 0xF0C1])
    h, w = (int(v) for v in rng.integers(224, 289, 2))
    sp = (round(float(rng.uniform(1.1, 1.5)), 4), round(float(rng.uniform(1.1, 1.5)), 4))
    n_t = int(rng.integers(12, 41))
    seq = str(rng.choice(list(SEQUENCES), p=[0.45, 0.3, 0.25]))
    fatsat = bool(rng.random() < (0.3 if seq != "bssfp" else 0.15))
    sub = make_subject(rng)
    mot = {"descent": rng.uniform(10, 40), "dir": rng.uniform(-0.15, 0.45),
           "bn_rot": rng.uniform(0.05, 0.35), "ara": rng.uniform(0.1, 0.45),
           "coccyx": rng.uniform(0, 8), "flatten": rng.uniform(0.3, 1.0),
           "bwall": rng.uniform(2.5, 5.0)}
    m, kind = strain_curve(rng, n_t)
    rot = rng.uniform(-0.17, 0.17)
    # symphysis position in pixels: pelvis roughly centred with random shift
    origin = (h * rng.uniform(0.58, 0.7), w * rng.uniform(0.3, 0.42))
    # textures (moved by the anchor displacement field)
    tex = [fbm(rng, h, w, b) for b in (2.6, 3.4, 1.8)]
    septa = np.abs(fbm(rng, h, w, 3.0))
    septa = np.clip(1 - septa / 0.15, 0, 1)  # thin dark lines at zero crossings
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # mm coordinates (pre-rotation) of each pixel
    xm, ym = (xx - origin[1]) * sp[1], (yy - origin[0]) * sp[0]
    xr, yr = np.cos(rot) * xm + np.sin(rot) * ym, -np.sin(rot) * xm + np.cos(rot) * ym
    values = np.array(SEQUENCES[seq], np.float32) * rng.uniform(0.85, 1.15, N_TISSUE)
    values[AIR] = values[GAS] = 0.0
    if fatsat:
        values[FAT] *= 0.12
        values[MARROW] *= 0.25
        values[SKIN] *= 0.6
    img_t = np.zeros((n_t, h, w), np.float32)
    labels = np.zeros((n_t, h, w), np.uint8)
    rest = sub["anchors"]
    for t in range(n_t):
        a = moved_anchors(sub, m[t], mot)
        cv = Canvas(h, w, sp, origin, rot)
        draw_frame(cv, sub, a, m[t], mot)
        labels[t] = finish_labels(cv.owner)
        dx, dy = displacement(rest, a, xr, yr)
        c, s = np.cos(rot), np.sin(rot)
        dcol = (c * dx - s * dy) / sp[1]
        drow = (s * dx + c * dy) / sp[0]
        coords = [yy - drow, xx - dcol]
        tx = [ndimage.map_coordinates(f, coords, order=1, mode="reflect") for f in tex]
        sep = ndimage.map_coordinates(septa, coords, order=1, mode="reflect")
        frac = cv.tissue_frac
        img = np.tensordot(values, frac, 1)
        mod = np.tensordot(_TEX, frac, 1)
        img *= 1 + mod * (0.6 * tx[0] + 0.4 * tx[2])
        stool = frac[STOOL] + frac[BOWMIX]
        img += stool * 0.25 * values[STOOL] * np.clip(tx[2], -1.5, 1.5)
        img -= frac[FAT] * sep * values[FAT] * 0.55
        img_t[t] = np.clip(img, 0, None)
    # bSSFP banding from a smooth off-resonance field
    if seq == "bssfp":
        off = fbm(rng, h, w, 4.5) * rng.uniform(1.0, 2.2) + rng.uniform(0, np.pi)
        img_t *= (0.25 + 0.75 * np.abs(np.cos(off / 2)) ** 0.6)[None]
    # surface coil sensitivity: anterior and posterior element rows
    sens = np.zeros((h, w), np.float32)
    d0 = rng.uniform(50, 90)
    for xa in (sub["body_ap"] - 15, sub["body_post"] + 15):
        for ya in np.linspace(-150, 60, 3) + rng.normal(0, 10, 3):
            d2 = ((xr - xa) ** 2 + (yr - ya) ** 2) / d0 ** 2
            sens += (rng.uniform(0.7, 1.3) / (1 + d2) ** 1.5) ** 2
    sens = np.sqrt(sens)
    sens /= np.percentile(sens, 99)
    img_t *= (0.08 + sens)[None]
    # low native resolution + optional view sharing, in k-space
    phase_axis = int(rng.integers(0, 2))
    native = [rng.uniform(1.2, 2.0), rng.uniform(1.2, 2.0)]
    native[phase_axis] = rng.uniform(1.8, 3.0)
    ky = np.abs(np.fft.fftfreq(h))[:, None] * 2  # 1 = output Nyquist
    kx = np.abs(np.fft.fftfreq(w))[None, :] * 2
    keep = (ky <= sp[0] / native[0]) & (kx <= sp[1] / native[1])
    k = np.fft.fft2(img_t) * keep[None]
    share = bool(rng.random() < 0.4)
    if share:
        kr = np.sqrt((ky / (sp[0] / native[0])) ** 2 + (kx / (sp[1] / native[1])) ** 2)
        wcen = np.clip((0.55 - kr) / 0.25 + 1, 0, 1)[None]  # 1 at centre, 0 outside
        nb = 0.5 * (np.roll(k, 1, 0) + np.roll(k, -1, 0))
        nb[0], nb[-1] = k[1], k[-2]
        k = wcen * k + (1 - wcen) * nb
    cplx = np.fft.ifft2(k)
    sig = float(np.mean(np.abs(cplx[:, labels[0] > 0]))) if np.any(labels[0]) else 1.0
    snr = float(rng.uniform(5, 40))
    sigma = sig / snr
    noise = rng.normal(0, sigma, (2, n_t, h, w))
    frames = np.hypot(cplx.real + noise[0], cplx.imag + noise[1])
    scale, offset = float(np.exp(rng.uniform(np.log(50), np.log(4000)))), float(rng.uniform(0, 30))
    frames = frames / (np.percentile(frames, 99.5) + 1e-9) * scale + offset
    stored, slope, intercept = _quantise(frames)
    frames = (stored.astype(np.float64) * slope + intercept).astype(np.float32)
    params = {"seed": int(seed), "shape": [n_t, h, w], "spacing_mm": [sp[0], sp[1]],
              "sequence": seq, "fat_suppressed": fatsat, "snr": round(snr, 2),
              "native_mm": [round(v, 3) for v in native],
              "phase_axis": ["rows", "cols"][phase_axis],
              "view_sharing": share, "strain": kind, "descent_mm": round(mot["descent"], 2),
              "bladder_fill": round(float(sub["fill"]), 3), "rectal_content": str(sub["stool"]),
              "frame_interval_s": round(float(rng.uniform(0.5, 1.8)), 3),
              "scale": round(scale, 3), "offset": round(offset, 3),
              "store_variant": int(rng.integers(0, 4)), "shuffle_frames": bool(rng.random() < 0.3),
              "rescale": [slope, intercept]}
    return frames, labels, sp, params


def _quantise(frames):
    lo, hi = float(frames.min()), float(frames.max())
    intercept = float(_ds(min(lo, 0.0)))
    slope = float(_ds((hi - intercept) / 60000.0)) if hi > intercept else 1.0
    stored = np.clip(np.rint((frames - intercept) / slope), 0, 65535).astype(np.uint16)
    return stored, slope, intercept


# --------------------------------------------------------------------------- DICOM
def write_enhanced(path: Path, frames, sp, params):
    """One Enhanced MR Image Storage file; stored orientation / frame order per params."""
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    enhanced_mr = "1.2.840.10008.5.1.4.1.1.4.1"
    slope, intercept = params["rescale"]
    stored = np.clip(np.rint((frames.astype(np.float64) - intercept) / slope), 0, 65535)
    stored = stored.astype(np.uint16)
    n_t, h, w = stored.shape
    variant = params["store_variant"]
    rowdir, coldir, ssp = [0.0, 1.0, 0.0], [0.0, 0.0, -1.0], (sp[0], sp[1])
    if variant == 1:  # transposed
        stored = np.swapaxes(stored, 1, 2)
        rowdir, coldir, ssp = [0.0, 0.0, -1.0], [0.0, 1.0, 0.0], (sp[1], sp[0])
    elif variant == 2:  # rows reversed (feet at top)
        stored = stored[:, ::-1]
        coldir = [0.0, 0.0, 1.0]
    elif variant == 3:  # columns reversed (posterior at left)
        stored = stored[:, :, ::-1]
        rowdir = [0.0, -1.0, 0.0]
    order = np.arange(n_t)
    if params["shuffle_frames"]:
        order = np.random.default_rng(params["seed"] + 77).permutation(n_t)
    seed = str(params["seed"])
    uid = lambda kind: generate_uid(entropy_srcs=["fourier", seed, kind])  # noqa: E731
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = enhanced_mr
    meta.MediaStorageSOPInstanceUID = sop = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    start = _dt.datetime(2025, 3, 1, 10, 0, 0)
    ds.SOPClassUID, ds.SOPInstanceUID = enhanced_mr, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.FrameOfReferenceUID = uid("for")
    ds.Modality, ds.Manufacturer = "MR", "PelviTrack fourier phantom"
    ds.PatientName, ds.PatientID, ds.PatientSex = "FOURIER^" + seed, f"FOURIER{seed}", "F"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = start.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = start.strftime("%H%M%S")
    ds.AcquisitionDateTime = start.strftime("%Y%m%d%H%M%S")
    ds.SeriesDescription = f"cine sag {params['sequence']}"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.NumberOfFrames = n_t
    ds.Rows, ds.Columns = stored.shape[1], stored.shape[2]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = [_ds(ssp[0]), _ds(ssp[1])]
    pm.SliceThickness = "6"
    po = Dataset()
    po.ImageOrientationPatient = [_ds(v) for v in rowdir + coldir]
    pvt = Dataset()
    pvt.RescaleIntercept, pvt.RescaleSlope, pvt.RescaleType = _ds(intercept), _ds(slope), "US"
    shared.PixelMeasuresSequence = Sequence([pm])
    shared.PlaneOrientationSequence = Sequence([po])
    shared.PixelValueTransformationSequence = Sequence([pvt])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per = []
    dt = params["frame_interval_s"]
    for i in order:
        item = Dataset()
        fc = Dataset()
        when = start + _dt.timedelta(seconds=float(i) * dt)
        fc.FrameAcquisitionDateTime = when.strftime("%Y%m%d%H%M%S.%f")
        fc.TemporalPositionIndex = int(i) + 1
        pp = Dataset()
        pp.ImagePositionPatient = ["0", _ds(-w * sp[1] / 2), _ds(h * sp[0] / 2)]
        item.FrameContentSequence = Sequence([fc])
        item.PlanePositionSequence = Sequence([pp])
        per.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    ds.PixelData = np.ascontiguousarray(stored[order]).tobytes()
    ds.save_as(path, enforce_file_format=True)


def _centroid_col(lab, k):
    return float(np.mean(np.nonzero(lab == k)[1]))


def write_case(seed: int, out: Path) -> dict:
    frames, labels, sp, params = generate(seed)
    folder = Path(out) / f"fourier_{seed:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    write_enhanced(folder / "series.dcm", frames, sp, params)
    series = read_series(folder / "series.dcm")
    back = series.frames
    if back.shape != frames.shape:
        raise RuntimeError(f"seed {seed}: read back {back.shape}, wrote {frames.shape}")
    if not np.allclose(series.spacing_mm, sp, atol=1e-4):
        raise RuntimeError(f"seed {seed}: spacing {series.spacing_mm} != {sp}")
    if not np.allclose(back, frames, rtol=1e-5, atol=1e-3 * float(params["rescale"][0])):
        raise RuntimeError(f"seed {seed}: frames differ after read-back (orientation?)")
    for t in range(labels.shape[0]):
        if set(np.unique(labels[t])) != {0, 1, 2, 3}:
            raise RuntimeError(f"seed {seed}: frame {t} lacks an organ")
        if _centroid_col(labels[t], BLADDER) >= _centroid_col(labels[t], RECTUM):
            raise RuntimeError(f"seed {seed}: bladder not anterior to rectum in frame {t}")
    np.save(folder / "truth.npy", labels)
    params = dict(params, spacing_mm=[float(s) for s in series.spacing_mm],
                  shape=list(back.shape), labels={"1": "bladder", "2": "uterus_vagina",
                                                  "3": "rectum"})
    (folder / "params.json").write_text(json.dumps(params, indent=1))
    return params


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0-11")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for p in map_jobs(partial(write_case, out=out), parse_seeds(args.seeds), args.workers):
        print(f"fourier_{p['seed']:03d}: {p['shape']} {p['sequence']} "
              f"spacing {p['spacing_mm']} snr {p['snr']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
