"""Independent synthetic cine of the midsagittal female pelvis, with exact organ truth.

A phantom designed independently of ``core.phantom`` (no shared code or parameters),
to test how a segmentation model generalises.  Orientation as a radiologist views a
sagittal slice: row 0 superior, last row inferior, column 0 ANTERIOR, last POSTERIOR.

Anatomy (design mm: x posterior, y inferior, origin at the pubic symphysis; per seed
scaled 0.86-1.02 and tilted ±8°).  Curved structures are tubes: distance to a spline
centre line with a radius varying along the arc.
- body outline, skin, subcutaneous fat (anterior/posterior/perineal thickness per
  seed), air outside, rectus abdominis; vertebral column as one spline (coccyx,
  sacrum concave anteriorly, lumbar lordosis) with bodies (cortex, marrow), discs,
  fused sacral remnants, canal, spinous processes, dorsal sacrum; prevertebral
  vessels; pubic symphysis; levator plate, puborectalis, external anal sphincter,
  perineal body, vulva, urethra;
- bladder (label 1): superellipse on the bladder neck, urine + wall, indented by
  the uterus; uterus_vagina (label 2): cervix + corpus on one bent tube (anteverted
  78 %, else retroverted; a full bladder tilts it back) with endometrium, junctional
  zone, cervical stroma and canal, optional fibroid / Nabothian cysts, and the
  collapsed vagina from the fornix to the introitus; rectum (label 3): one tube from
  the anal verge (anal canal, anorectal angle, ampulla) up along the sacrum to the
  recto-sigmoid junction, beyond which it continues as unlabelled sigmoid; content
  gel, stool with gas bubbles, gas, or stool with an anterior (supine) gas level;
- small-bowel loops (fluid / chyme / gas / collapsed) packed into the free abdomen,
  mesenteric vessels, optional free fluid in the pouch of Douglas.

Dynamics (Valsalva / defecation): strain s(t) rises smoothly to a plateau, released
in half of the seeds.  Soft tissue moves by u = s(t) sum_k g_k d_k / (eps + sum_k g_k)
(Gaussian handles at bladder base and dome, cervix, fundus, vagina, anorectal
junction, ampulla, anus, perineal body, bowel, abdominal wall; zero handles on the
bones): bladder base and cervix descend ~5-30 mm postero-inferiorly, the anorectal
junction more than the upper rectum (the anorectal angle opens), the bowel pushes
down; plus respiration of the upper abdomen and a slow drift of the whole body.
Amplitudes shrink until the Jacobian of the map is > 0.4 (no folding).  Bones move
only with the drift; soft tissue slides past them.  Each frame pulls the reference
(tissue kind, organ, texture) back through the inverted map on a 2x grid; a pixel's
label is the organ covering most of its 2x2 sub-pixels (organs win ties), so image
and truth come from the same deformed geometry.

Acquisition (per seed, in ``params.json``): H, W in 224-288, spacing 1.1-1.5 mm (row
and column may differ), T 12-30 frames every 0.5-2 s; T2 single-shot (fluid bright,
fat bright-ish, muscle dark, flow voids) or bSSFP (fluid, fat, vessels bright,
India-ink fat-water borders), levels jittered ±15 %; 2x supersampling + Gaussian PSF
(more along the phase axis); coil-like bias up to 50 %; Rician noise, SNR 6-40;
stored as 12-bit integers, int16, or float32 with an arbitrary scale.

``python benchmarks/alt_generator.py --seeds 0-11 --out DIR [--montage PNG]`` writes
``DIR/alt_SEED/{series.nii.gz, truth.npy, params.json}`` and asserts that
``core.io.read_series`` reads each series back exactly (frames, spacing, times).
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from scipy.interpolate import splev, splprep

#: tissue kind: (T2 single-shot level, bSSFP level, texture amplitude)
TISSUE: dict[str, tuple[float, float, float]] = {
    "air": (0.0, 0.0, 0.0), "fat": (0.62, 0.88, 0.06), "skin": (0.35, 0.45, 0.05),
    "muscle": (0.17, 0.22, 0.06), "cortex": (0.03, 0.05, 0.02), "marrow": (0.5, 0.62, 0.15),
    "disc": (0.6, 0.55, 0.1), "fluid": (0.95, 0.95, 0.02), "vessel": (0.12, 0.9, 0.1),
    "wall": (0.2, 0.28, 0.05), "myometrium": (0.45, 0.42, 0.08),
    "endometrium": (0.82, 0.75, 0.05), "stroma": (0.16, 0.2, 0.06),
    "vagwall": (0.33, 0.35, 0.06), "mucus": (0.72, 0.7, 0.05), "gutwall": (0.32, 0.33, 0.06),
    "gas": (0.02, 0.02, 0.3), "stool": (0.38, 0.45, 0.35), "gel": (0.9, 0.92, 0.03),
    "chyme": (0.55, 0.62, 0.25), "fibrous": (0.14, 0.18, 0.05), "soft": (0.3, 0.35, 0.06),
}
KINDS = tuple(TISSUE)
K = {name: i for i, name in enumerate(KINDS)}
ORG = 32  # reference code = kind + ORG * organ (0 none, 1 bladder, 2 uterus_vagina, 3 rectum)
ORGANS = ("bladder", "uterus_vagina", "rectum")
COLOURS = ((255, 214, 0), (255, 64, 160), (0, 200, 255))


class Grid:
    """The 2x supersampled image grid in world mm (x posterior, y inferior) and design mm."""

    def __init__(self, h: int, w: int, sp: tuple[float, float], centre: np.ndarray,
                 scale: float, tilt_deg: float) -> None:
        self.h2, self.w2, self.dy, self.dx, self.scale = 2 * h, 2 * w, sp[0] / 2, sp[1] / 2, scale
        t = np.deg2rad(tilt_deg)
        self.rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        cw = self.world(centre)
        self.y0 = cw[1] - (self.h2 - 1) / 2 * self.dy  # world y of sub-pixel row 0
        self.x0 = cw[0] - (self.w2 - 1) / 2 * self.dx
        self.Y, self.X = np.meshgrid(self.y0 + np.arange(self.h2) * self.dy,
                                     self.x0 + np.arange(self.w2) * self.dx, indexing="ij")
        self.XD, self.YD = self.design(np.stack([self.X, self.Y]))

    def world(self, p: Any) -> np.ndarray:  # design point(s) (..., 2) -> world (..., 2)
        return self.scale * np.asarray(p, float) @ self.rot.T

    def design(self, q: np.ndarray) -> np.ndarray:  # world (2, ...) -> design (2, ...)
        return np.tensordot(self.rot.T, q, axes=1) / self.scale

    def vec(self, v: Any) -> np.ndarray:  # a design displacement in world axes (not scaled)
        return np.asarray(v, float) @ self.rot.T

    def edt(self, m: np.ndarray) -> np.ndarray:  # mm from each pixel of m to outside m
        return ndi.distance_transform_edt(m, sampling=(self.dy, self.dx))

    def dilate(self, m: np.ndarray, r: float) -> np.ndarray:
        return self.edt(~m) <= r

    def ellipse(self, c: Any, a: float, b: float, ang: float = 0.0, p: float = 2.0) -> np.ndarray:
        """Superellipse in design coordinates (centre, semi-axes, angle of axis a in degrees)."""
        m = np.zeros((self.h2, self.w2), bool)
        cw, rr = self.world(c), max(a, b) * self.scale + 1.0
        r0, r1 = int((cw[1] - rr - self.y0) / self.dy), int((cw[1] + rr - self.y0) / self.dy) + 2
        c0, c1 = int((cw[0] - rr - self.x0) / self.dx), int((cw[0] + rr - self.x0) / self.dx) + 2
        r0, r1, c0, c1 = max(r0, 0), min(r1, self.h2), max(c0, 0), min(c1, self.w2)
        if r0 < r1 and c0 < c1:
            xd, yd = self.XD[r0:r1, c0:c1] - c[0], self.YD[r0:r1, c0:c1] - c[1]
            ca, sa = np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))
            m[r0:r1, c0:c1] = (np.abs((xd * ca + yd * sa) / a) ** p
                               + np.abs((yd * ca - xd * sa) / b) ** p) <= 1.0
        return m

    def polygon(self, pts: np.ndarray) -> np.ndarray:  # filled polygon of world points (N, 2)
        img = Image.new("1", (self.w2, self.h2), 0)
        xy = [((x - self.x0) / self.dx, (y - self.y0) / self.dy) for x, y in pts]
        ImageDraw.Draw(img).polygon(xy, fill=1)
        return np.asarray(img, bool)


def curve(pts: Any, step: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Samples ~step mm apart on a spline through ``pts`` (N, 2) and the arc at each point."""
    pts = np.asarray(pts, float)
    tck, uu = splprep(pts.T, k=min(3, len(pts) - 1), s=0)
    tt = np.linspace(0.0, 1.0, 4000)
    arc = np.r_[0.0, np.cumsum(np.hypot(*np.diff(np.array(splev(tt, tck)), axis=1)))]
    n = max(int(arc[-1] / step), 2)
    samples = np.array(splev(np.interp(np.linspace(0, arc[-1], n), arc, tt), tck)).T
    return samples, np.interp(uu, tt, arc)


def frame_of(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arc length and unit tangent of curve samples."""
    arc = np.r_[0.0, np.cumsum(np.hypot(*np.diff(samples, axis=0).T))]
    tang = np.gradient(samples, axis=0)
    return arc, tang / np.linalg.norm(tang, axis=1, keepdims=True)


def tube(g: Grid, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: distance (mm) to the nearest centre-line sample, that sample's arc length,
    and the signed offset across the line (> 0 where cross(tangent, pixel - sample) > 0)."""
    arc, tang = frame_of(samples)
    r = np.rint((samples[:, 1] - g.y0) / g.dy).astype(int)
    c = np.rint((samples[:, 0] - g.x0) / g.dx).astype(int)
    ok = (r >= 0) & (r < g.h2) & (c >= 0) & (c < g.w2)
    if not ok.any():
        inf = np.full((g.h2, g.w2), np.inf)
        return inf, np.zeros_like(inf), inf
    ids = np.full((g.h2, g.w2), -1, np.int64)
    ids[r[ok], c[ok]] = np.nonzero(ok)[0]
    _, (ri, ci) = ndi.distance_transform_edt(ids < 0, sampling=(g.dy, g.dx), return_indices=True)
    near = ids[ri, ci]
    vx, vy = g.X - samples[near, 0], g.Y - samples[near, 1]
    return np.hypot(vx, vy), arc[near], tang[near, 0] * vy - tang[near, 1] * vx


def largest(m: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a mask."""
    lab, n = ndi.label(m, structure=np.ones((3, 3)))
    return m if n <= 1 else lab == np.bincount(lab.ravel())[1:].argmax() + 1


def unit(deg: float) -> np.ndarray:  # design direction, degrees anterior of superior
    return np.array([-np.sin(np.deg2rad(deg)), -np.cos(np.deg2rad(deg))])


def build_anatomy(rng: np.random.Generator, g: Grid) -> dict[str, Any]:
    """Reference anatomy on the 2x grid: soft-tissue and bone codes, texture, handle points."""
    u, sc = rng.uniform, g.scale

    def jit(s: float) -> np.ndarray:
        return rng.normal(0.0, s, 2)

    P: dict[str, Any] = {"fat_anterior_mm": u(8, 42), "fat_posterior_mm": u(6, 35),
                         "fat_perineum_mm": u(2, 6), "rectus_mm": u(7, 12), "belly_mm": u(-5, 25)}
    f_a, f_p, f_per, m_r, bel = P.values()
    soft = np.zeros((g.h2, g.w2), np.uint8)  # kind + ORG * organ, moves with the soft tissue
    static = np.zeros_like(soft)  # bones and spinal canal; 0 = transparent

    # --- vertebral column: coccyx -> sacrum -> lumbar spine on one centre line ---
    lord = u(-8, 8)
    col = np.array([(110, 8), (122, -12), (130, -32), (131, -58), (124, -80), (110, -100),
                    (96, -120), (86, -140), (80 + .5 * lord, -170), (81 + lord, -205),
                    (86 + lord, -240), (94 + lord, -280), (102 + lord, -330)])
    col[1:6] += rng.normal(0, 2.5, (5, 2))
    cpts = curve(g.world(col))[0]
    carc, ctan = frame_of(cpts)
    _, cs, coff = tube(g, cpts)  # coff > 0: posterior of the column (it runs upwards)
    spec: list[tuple[float, int, float]] = []  # (length, 0 body / 1 disc / 2 remnant, width)
    for ln, w in [(7, 9), (7, 10), (8, 12), (9, 14)]:
        spec += [(ln, 0, w), (2, 2, w)]
    for i, (ln, w) in enumerate([(13, 17), (15, 21), (18, 27), (22, 35), (28, 44)]):
        spec += [(ln, 0, w)] + ([(2.5, 1 if i == 3 else 2, w)] if i < 4 else [])
    spec += [(11, 1, 42)] + [(27, 0, 42), (10, 1, 42)] * 8
    lens, typ, widths = (np.array(x) for x in zip(*spec, strict=True))
    lens, widths = lens * sc, widths * sc * u(0.9, 1.1)
    starts = np.r_[0.0, np.cumsum(lens)[:-1]]
    centres = starts + lens / 2
    s_s5, s_s1 = starts[8], starts[17]  # bottom of S5, top of S1 (promontory level)
    m_lum = u(3, 8)

    def prof(sv: Any) -> tuple[np.ndarray, ...]:
        """Half width, canal depth, dorsal bone depth, dorsal muscle depth at arc sv."""
        sv = np.asarray(sv, float)
        lum, ramp = sv >= s_s1, (lambda a, b: np.interp(sv, [s_s5, s_s1], [a, b]))
        return (np.interp(sv, centres, widths) / 2, np.where(lum, 14, ramp(3, 10)) * sc,
                np.where(lum, 30, ramp(6, 13)) * sc, np.where(lum, m_lum, ramp(3, 9)) * sc)

    def col_at(sv: float, off: float) -> np.ndarray:
        """World point at arc sv, ``off`` mm behind (> 0) or in front of the centre line."""
        i = min(int(np.searchsorted(carc, sv)), len(carc) - 1)
        return cpts[i] + np.array([-ctan[i, 1], ctan[i, 0]]) * off

    def block(sv: float, a: float, b: float, off: float) -> np.ndarray:
        """Rounded rectangle along the column at arc sv (semi-axes a along, b across)."""
        j = min(int(np.searchsorted(carc, sv)), len(carc) - 1)
        t = g.rot.T @ ctan[j]
        ctr = g.design(col_at(sv, off)[:, None])[:, 0]
        return g.ellipse(ctr, a / sc, b / sc, np.rad2deg(np.arctan2(t[1], t[0])), 4.0)

    half, canal, dors, musc = prof(cs)
    along = (cs > 1.5) & (cs < carc[-1] - 1.5)  # beside the line, not beyond its ends
    lum, po = cs >= s_s1, coff - half
    incol = along & (np.abs(coff) <= half)
    static[incol] = np.where(lum, K["disc"], K["fibrous"])[incol]  # discs, fused remnants
    post = along & (po > 0) & (cs >= s_s5)
    cn = post & (po < canal)
    static[cn] = np.where(cs > s_s1 - 25 * sc, K["fluid"], K["fat"])[cn]  # CSF, sacral canal
    dz = post & (po >= canal) & (po < canal + dors)
    static[dz] = np.where(lum, K["fibrous"], K["marrow"])[dz]  # interspinous / dorsal sacrum
    for i in np.nonzero(typ == 0)[0]:
        static[block(centres[i], lens[i] / 2, widths[i] / 2, 0.0)] = K["marrow"]
        if centres[i] > s_s1:  # spinous process
            h, c_, d_ = (float(x) for x in prof(centres[i])[:3])
            static[block(centres[i] - .15 * lens[i], .3 * lens[i], .42 * d_, h + c_ + .55 * d_)
                   & dz] = K["marrow"]
    paraspinal = post & (po >= canal + dors) & (po < canal + dors + musc)
    sym_ang = u(20, 35)  # pubic symphysis, top tilted anteriorly
    sym = g.ellipse((0, 0), u(17, 22), u(6, 8), 90 - sym_ang)
    static[sym] = K["marrow"]
    marrow = static == K["marrow"]
    static[marrow & (g.edt(marrow) < 1.5)] = K["cortex"]

    # --- body outline, subcutaneous fat, skin, rectus abdominis ---
    neck, meatus = np.array([24.0, 0.0]) + jit(3), np.array([11.0, 50.0]) + jit(2)
    os_, vmid = np.array([62.0, -12.0]) + jit(4), np.array([30.0, 26.0]) + jit(2.5)
    intro, arj = np.array([17.0, 59.0]) + jit(2), np.array([47.0, 29.0]) + jit(2.5)
    anus = np.array([55.0, 64.0]) + jit(2)
    front = np.array([(-30 - bel - m_r - f_a, -380), (-30 - bel - m_r - f_a, -180),
                      (-22 - .5 * bel - m_r - f_a, -90), (-13 - m_r - f_a, -25),
                      (-12 - .9 * f_a, 8), (-3 - .45 * f_a, 40), intro + (-6, 4),
                      (intro + anus) / 2 + (0, 6), anus + (2, 4.5), anus + (20, -1),
                      col[0] + (22 + .7 * f_p, 42)])
    back = [col_at(sv, float(sum(prof(sv))) + f_p * sc)
            for sv in [s_s5 - 12 * sc, s_s5 + 8 * sc, (s_s5 + s_s1) / 2, s_s1 - 8 * sc,
                       s_s1 + 25 * sc, s_s1 + 60 * sc, s_s1 + 100 * sc, carc[-1] - 1]]
    outline = curve(np.vstack([g.world(front), np.array(back)]), step=1.0)[0]
    body = g.polygon(np.vstack([outline, outline[-1] + (0, -200), outline[0] + (0, -200)]))
    eo = g.edt(body)
    f_loc = f_a + (f_p - f_a) / (1 + np.exp(-(g.XD - 55) / 12))
    f_loc = np.where((g.YD > 40) & (g.XD > -5) & (g.XD < 100), np.minimum(f_loc, f_per), f_loc)
    inner = body & (eo >= u(1.2, 2.2))  # inside the skin
    subq = body & (eo < f_loc)
    rectus = body & (eo >= f_loc) & (eo < f_loc + m_r) & (g.XD < 30) & (g.YD < -14)

    # --- bladder on its neck; the uterus rests on it (a full bladder tilts it back) ---
    fill = u(0, 1)
    a_b, b_b, b_ang, b_p = 18 + 14 * fill + u(-3, 3), 12 + 20 * fill + u(-3, 3), u(-25, 10), \
        u(2.0, 2.2 + 0.6 * fill)
    bc = neck + (min(0.25 * a_b, os_[0] - neck[0] - 14 - 0.9 * a_b) + u(-3, 3), -0.85 * b_b)
    blad = g.ellipse(bc, a_b, b_b, b_ang, b_p) | g.ellipse(
        (bc + neck) / 2, np.linalg.norm(neck - bc) / 2 + 2, 0.5 * b_b,
        np.rad2deg(np.arctan2(neck[1] - bc[1], neck[0] - bc[0])))

    def clearance(p: np.ndarray) -> float:
        """Approximate distance (mm) of the points (N, 2) outside the bladder (< 0 inside)."""
        ca, sa = np.cos(np.deg2rad(b_ang)), np.sin(np.deg2rad(b_ang))
        x, y = p[:, 0] - bc[0], p[:, 1] - bc[1]
        rho = (np.abs((x * ca + y * sa) / a_b) ** b_p
               + np.abs((y * ca - x * sa) / b_b) ** b_p) ** (1 / b_p)
        return float(((rho - 1) * min(a_b, b_b)).min())

    antev = bool(rng.random() < 0.78)
    a_c = u(5, 35) if antev else u(-20, 5)  # cervix / corpus axes, degrees anterior of up
    a_u = min(a_c + u(10, 45), 65) if antev else a_c - u(0, 25)
    l_c, l_u, r_u = u(24, 34), u(28, 45), u(15, 23) if antev else u(14, 19)
    for _ in range(16):
        dc, du = unit(a_c), unit(a_u)
        io = os_ + dc * l_c
        if clearance(io + np.outer(np.linspace(0.2, 1, 9), du) * l_u) >= 0.35 * r_u and \
                clearance(os_ + np.outer(np.linspace(0.5, 1, 5), dc) * l_c) >= 6:
            break
        a_c, a_u = max(a_c - 4, -20), a_u - 5
    fund = io + du * l_u
    upts, uarc = curve(g.world([os_ - dc * 3, os_ + dc * l_c / 2, io, io + du * l_u / 2, fund]))
    ud, us, _ = tube(g, upts)
    ur = np.interp(us, uarc, np.array([10, 12.5, 12, r_u, .85 * r_u]) * sc * u(0.9, 1.1))
    dv = (os_ - vmid) / np.linalg.norm(os_ - vmid)
    vpts, varc = curve(g.world([os_ + dc * 6, os_ - dv * 10, vmid, intro]))
    vd, vs, _ = tube(g, vpts)
    vag = vd <= np.interp(vs, varc, np.array([12, 7, 5.5, 5]) * sc)

    # --- rectum (+ sigmoid) along the sacrum ---
    r_a, r_up, r_sig, gap = u(12, 22), u(9, 13), u(9, 14), u(3, 10)
    amp_c = np.array([58 + r_a, 14 - 0.5 * r_a]) + jit(2)
    sac = [col_at(sv, -(float(prof(sv)[0]) + (gap + r) * sc))
           for sv, r in [(centres[9], .8 * r_a), ((s_s5 + s_s1) / 2, r_up), (starts[14], r_up)]]
    rsj = g.design(sac[2])
    sig = [rsj + (-8, -28), rsj + (-30, -45), rsj + (-55, -42), rsj + (-75, -55)]
    rpts, rarc = curve(np.vstack([g.world([anus, arj, arj + (13, -9) + jit(2), amp_c]), sac,
                                  g.world(sig)]))
    rd, rs, _ = tube(g, rpts)
    rr = np.interp(rs, rarc, np.array([6.5, 8, .7 * r_a, r_a, .8 * r_a, r_up, r_up]
                                      + [r_sig] * 4) * sc)
    s_arj, s_rsj, rwall = rarc[1], rarc[6], u(2.5, 4)

    # --- organ masks: collisions resolved, one connected piece each ---
    bones = g.dilate(static > 0, 2.0)
    uv = largest(((ud <= ur) | vag) & inner & ~bones)
    rect = largest((rd <= rr) & (rs <= s_rsj) & inner & ~bones & ~g.dilate(uv, 1.5))
    sigm = (rd <= rr) & (rs > s_rsj) & inner & ~bones & ~g.dilate(uv | rect, 1.0)
    blad = largest(blad & inner & ~g.dilate(uv | rect, 2.0) & ~g.dilate(sym, 4.0)
                   & ~g.dilate(rectus, 3.0) & ~bones)

    # --- soft layer: fat, muscles, vessels, pelvic floor ---
    soft[body] = K["fat"]
    soft[(paraspinal & body) | rectus] = K["muscle"]
    r_v = u(6, 9)
    ves = tube(g, np.array([col_at(sv, -(float(prof(sv)[0]) + (3 + r_v) * sc))
                            for sv in np.linspace(s_s1 + 12 * sc, carc[-1] - 1, 6)]))[0]
    soft[(ves <= r_v * sc) & body] = K["vessel"]
    pr = arj + (11, 9)  # puborectalis sling behind the anorectal junction
    lev = tube(g, curve(g.world([pr, (pr + col[0]) / 2 + (0, 3), col[0] + (-6, 2)]))[0])[0]
    eas = tube(g, curve(g.world([anus, arj + (0, 3)]))[0])[0]
    soft[((lev <= u(2.5, 4) * sc) | g.ellipse(pr, 7, 5, 30) | (eas <= 11.5 * sc)) & body] = \
        K["muscle"]
    pbx = (np.interp(48, [vmid[1], intro[1]], [vmid[0], intro[0]])
           + np.interp(48, [arj[1], anus[1]], [arj[0], anus[0]])) / 2
    soft[g.ellipse((pbx, 48.0), 9, 7, 90) & body] = K["fibrous"]  # perineal body
    soft[g.ellipse(intro + (-12, -6), 10, 7, 60) & body] = K["soft"]  # vulva
    ureth = tube(g, curve(g.world([neck + (-1, 3), (neck + meatus) / 2 + (-1, 0), meatus]))[0])
    soft[(ureth[0] <= u(3.5, 4.5) * sc) & body] = K["soft"]

    # --- bowel loops, mesenteric vessels, sigmoid, free fluid ---
    occupied = uv | rect | blad | sigm | (static > 0) | paraspinal | (soft != K["fat"])
    free = inner & (eo > f_loc + 2) & ~g.dilate(occupied, 3.0) & (g.YD < neck[1] - 8) & (
        (coff < 0) | ~along)
    area = free.sum() * g.dy * g.dx
    n_loop, placed, cand = int(area / 500 * u(0.5, 0.8)), 0, np.argwhere(free)
    for _ in range(12 * n_loop if len(cand) else 0):
        r, c = cand[rng.integers(len(cand))]
        ctr, ax, ay, ang = np.array([g.XD[r, c], g.YD[r, c]]), u(7, 16), u(6, 13), u(0, 180)
        loop = g.ellipse(ctr, ax, ay, ang)
        if placed >= n_loop or not loop.any() or (loop & ~free).any():
            continue
        placed += 1
        free &= ~g.dilate(loop, 1.0)
        w = u(1.8, 3) / sc
        soft[loop] = K["gutwall"]
        soft[g.ellipse(ctr, max(ax - w, 1), max(ay - w, 1), ang)] = K[str(rng.choice(
            ["fluid", "chyme", "gas", "gutwall"], p=[.35, .35, .15, .15]))]
    for r, c in cand[rng.integers(0, max(len(cand), 1), int(area / 400))] if len(cand) else []:
        if free[r, c]:
            soft[g.ellipse((g.XD[r, c], g.YD[r, c]), u(1, 2.2), u(1, 2.2))] = K["vessel"]
    soft[sigm] = K["gutwall"]
    soft[sigm & (rd <= rr - rwall)] = K[str(rng.choice(["stool", "gas", "chyme"]))]
    free_fluid = bool(rng.random() < 0.35)
    if free_fluid:  # pouch of Douglas
        ff = g.ellipse((io + amp_c) / 2 + (0, 4), u(8, 14), u(3, 7), u(-60, -20))
        soft[ff & inner & ~g.dilate(uv | rect | blad | (static > 0), 1.0)] = K["fluid"]
    soft[subq] = K["fat"]

    # --- labelled organs with their inner structure ---
    content = str(rng.choice(["gel", "stool", "gas", "mixed"], p=[.35, .35, .12, .18]))
    soft[rect] = K["gutwall"] + ORG * 3
    soft[rect & (rs < s_arj) & (rd <= 1.0)] = K["mucus"] + ORG * 3  # anal canal
    lumen = rect & (rs >= s_arj) & (rd <= rr - rwall)
    soft[lumen] = K[{"mixed": "stool"}.get(content, content)] + ORG * 3
    if content == "mixed":  # supine: gas rises anteriorly
        soft[lumen & (g.XD < amp_c[0] - u(0, 0.6) * r_a)] = K["gas"] + ORG * 3
    for _ in range(rng.integers(3, 12) if content == "stool" else 0):
        r, c = np.argwhere(lumen)[rng.integers(lumen.sum())]
        soft[g.ellipse((g.XD[r, c], g.YD[r, c]), u(1, 4), u(1, 4)) & lumen] = K["gas"] + ORG * 3
    soft[uv] = K["vagwall"] + ORG * 2
    soft[uv & (vd <= u(0.8, 1.6) * sc)] = K["mucus"] + ORG * 2
    s_io, uin = uarc[2], (ud <= ur) & uv
    endo = u(1.5, 6) * np.sin(np.pi * np.clip((us - s_io) / (uarc[-1] - s_io), 0, 1)) ** 0.6
    corpus, cerv = uin & (us > s_io), uin & (us <= s_io)
    soft[uin] = K["myometrium"] + ORG * 2
    soft[corpus & (ud <= endo + u(3, 6))] = K["stroma"] + ORG * 2  # junctional zone
    soft[corpus & (ud <= endo)] = K["endometrium"] + ORG * 2
    soft[cerv & (ud <= ur - 2.5)] = K["stroma"] + ORG * 2
    soft[cerv & (ud <= 1.3) & (us > 1.0)] = K["mucus"] + ORG * 2
    if rng.random() < 0.2:  # fibroid
        fc = io + du * l_u * u(0.3, 0.7) + du[::-1] * (1, -1) * u(-8, 8)
        soft[g.ellipse(fc, u(5, 11), u(5, 11), u(0, 180)) & corpus] = K["stroma"] + ORG * 2
    for _ in range(rng.integers(1, 4) if rng.random() < 0.3 else 0):  # Nabothian cysts
        r, c = np.argwhere(cerv)[rng.integers(cerv.sum())]
        soft[g.ellipse((g.XD[r, c], g.YD[r, c]), u(1.5, 3), u(1.5, 3)) & cerv] = \
            K["fluid"] + ORG * 2
    soft[blad] = K["wall"] + ORG * 1
    soft[blad & (g.edt(blad) > u(1.5, 3.5))] = K["fluid"] + ORG * 1
    soft[body & ~inner] = K["skin"]

    tex = ndi.gaussian_filter(rng.standard_normal(soft.shape), 2.0 / g.dy)
    tex2 = ndi.gaussian_filter(rng.standard_normal(soft.shape), 0.7 / g.dy)
    P.update(anteverted=antev, cervix_angle_deg=a_c, corpus_angle_deg=a_u, uterus_len_mm=l_u,
             bladder_semi_axes_mm=[a_b, b_b], ampulla_radius_mm=r_a, symphysis_tilt_deg=sym_ang,
             rectal_content=content, bowel_loops=placed, free_fluid=free_fluid)
    pts = {"neck": neck, "dome": bc + (0, -b_b), "os": os_, "fund": fund, "vmid": vmid,
           "arj": arj, "amp": amp_c, "anus": anus, "pb": (vmid + arj) / 2 + (0, 18),
           "bowel": bc + (0, -b_b - 35), "wall": np.array([-20 - m_r, -70.0]),
           "sym": np.zeros(2), "cocc": col[0], "s3": col[3] + (-15, 0), "s1": col[5],
           "l4": col[8]}
    return {"soft": soft, "static": static, "pts": pts, "params": P,
            "tex": (0.75 * tex / tex.std() + 0.25 * tex2 / tex2.std()).astype(np.float32)}


def strain_curve(rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Strain 0..1 per frame: rest, smooth rise, plateau, optional release."""
    def smooth(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        return x * x * (3 - 2 * x)

    tau = np.linspace(0.0, 1.0, n)
    t0 = rng.uniform(0.05, 0.3)
    t1 = rng.uniform(t0 + 0.25, min(t0 + 0.6, 0.9))
    s = smooth((tau - t0) / (t1 - t0)) * (1 + 0.04 * np.sin(2 * np.pi * 3 * tau))
    release = bool(rng.random() < 0.5)
    if release:
        t2 = rng.uniform(min(t1 + 0.03, 0.9), 0.95)
        s = s - (1 - rng.uniform(0, 0.5)) * smooth((tau - t2) / (1.0 - t2))
    return np.clip(s, 0, None), {"onset": t0, "peak": t1, "release": release}


class Motion:
    """Displacement field (world mm): normalised Gaussian handles, respiration, drift."""

    def __init__(self, rng: np.random.Generator, g: Grid, pts: dict[str, np.ndarray]) -> None:
        u = rng.uniform

        def d(amount: float, ang: float) -> np.ndarray:  # ang: degrees posterior of inferior
            return g.vec((amount * np.sin(np.deg2rad(ang)), amount * np.cos(np.deg2rad(ang))))

        a = self.amp = {"bladder_base": u(5, 50), "cervix": u(5, 45), "anorectal": u(8, 45),
                        "perineum": u(3, 18), "bowel": u(3, 20)}
        pb, pc, pr = u(10, 35), u(0, 30), u(10, 35)
        h = [("neck", 16, d(a["bladder_base"], pb)),
             ("dome", 22, d(0.35 * a["bladder_base"], pb) + d(0.5 * a["bowel"], 0)),
             ("os", 16, d(a["cervix"], pc)),
             ("fund", 20, d(0.45 * a["cervix"], pc) + d(0.3 * a["bowel"], 0)),
             ("vmid", 14, d(0.3 * (a["bladder_base"] + a["cervix"]), 15)),
             ("arj", 14, d(a["anorectal"], pr)), ("amp", 18, d(0.6 * a["anorectal"], pr)),
             ("anus", 12, d(a["perineum"], 8)), ("pb", 12, d(1.1 * a["perineum"], 10)),
             ("bowel", 35, d(a["bowel"], 0)), ("wall", 25, g.vec((-u(0, 6), 0.0)))]
        h += [(k, s, np.zeros(2)) for k, s in [("sym", 9), ("cocc", 12), ("s3", 18),
                                               ("s1", 18), ("l4", 25)]]
        self.pos = np.array([g.world(pts[k]) for k, _, _ in h])
        self.sig = np.array([s * g.scale for _, s, _ in h])
        self.vec = np.array([v for _, _, v in h])
        self.g, self.eps, self.y_resp = g, 0.08, float(pts["dome"][1])
        self.resp = (u(0.5, 4.0), u(3.5, 6.0), u(0, 2 * np.pi))  # amplitude, period, phase
        self.drift = g.vec(rng.normal(0, 1.0, 2))
        self.factor = 1.0
        for _ in range(12):  # no folding: Jacobian of the peak map > 0.4
            self.jacobian_min = self.min_jacobian()
            if self.jacobian_min > 0.4:
                break
            self.vec *= 0.85
            self.factor *= 0.85

    def field(self, q: np.ndarray, s: float, t_s: float = 0.0, frac: float = 0.0) -> np.ndarray:
        """Displacement at world points q (2, ...): strain s, time t_s, cine fraction frac."""
        num, den = np.zeros_like(q), np.full(q.shape[1:], self.eps)
        col = (2, *([1] * (q.ndim - 1)))
        for p, sg, v in zip(self.pos, self.sig, self.vec, strict=True):
            w = np.exp(-((q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2) / (2 * sg * sg))
            num += w * v.reshape(col)
            den += w
        amp, per, ph = self.resp
        wr = np.clip((self.y_resp - self.g.design(q)[1]) / 60.0, 0, 1) * amp * np.sin(
            2 * np.pi * t_s / per + ph)
        return (num / den * s + self.g.vec((-0.25, 1.0)).reshape(col) * wr
                + (self.drift * frac).reshape(col))

    def min_jacobian(self) -> float:
        g = self.g
        ys, xs = np.linspace(g.y0, g.Y[-1, 0], 90), np.linspace(g.x0, g.X[0, -1], 90)
        f = self.field(np.stack(np.meshgrid(xs, ys)), 1.0)
        (dxy, dxx), (dyy, dyx) = (np.gradient(c, ys[1] - ys[0], xs[1] - xs[0]) for c in f)
        return float(((1 + dxx) * (1 + dyy) - dxy * dyx).min())


def acquisition(rng: np.random.Generator) -> dict[str, Any]:
    u = rng.uniform
    sp = round(u(1.1, 1.5), 3)
    return {"H": int(rng.integers(224, 289)), "W": int(rng.integers(224, 289)),
            "spacing_mm": [sp, round(float(np.clip(sp * u(0.95, 1.05), 1.1, 1.5)), 3)],
            "T": int(rng.integers(12, 31)), "dt_s": round(u(0.5, 2.0), 3),
            "contrast": str(rng.choice(["t2_ssfse", "bssfp"], p=[0.55, 0.45])),
            "snr": u(6, 40), "bias": u(0.0, 0.5), "psf_px": u(0.3, 0.7),
            "phase_blur_px": u(0.0, 0.6), "phase_axis": int(rng.integers(0, 2)),
            "storage": str(rng.choice(["uint12", "int16", "float"], p=[0.4, 0.2, 0.4])),
            "scale": float(u(0.86, 1.02)), "tilt_deg": u(-8, 8),
            "centre_mm": [50 + u(-10, 10), u(-5, 10)]}


def generate_case(seed: int) -> dict[str, Any]:
    """One cine: frames (T,H,W) in the stored dtype, truth (T,H,W) uint8 and params."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20240917]))
    A = acquisition(rng)
    h, w, n = A["H"], A["W"], A["T"]
    g = Grid(h, w, tuple(A["spacing_mm"]), np.array(A["centre_mm"]), A["scale"], A["tilt_deg"])
    ana = build_anatomy(rng, g)
    soft, static, tex = ana["soft"], ana["static"], ana["tex"]
    mot = Motion(rng, g, ana["pts"])
    strain, sinfo = strain_curve(rng, n)
    ci = 1 if A["contrast"] == "bssfp" else 0
    lev = np.array([TISSUE[k][ci] for k in KINDS]) * rng.uniform(0.85, 1.15, len(KINDS))
    if ci == 0:
        lev[K["vessel"]] = rng.uniform(0.05, 0.4)  # flow void, more or less complete
    amp = np.array([TISSUE[k][2] for k in KINDS])
    fat_k = np.array([k == "fat" for k in KINDS])
    water_k = np.array([k not in ("fat", "air", "cortex", "gas", "skin") for k in KINDS])
    ink = ci == 1 and rng.random() < 0.7
    # the map is inverted on a coarse grid (fixed point q = p - u(q)), then interpolated
    nr, nc = g.h2 // 4 + 1, g.w2 // 4 + 1
    pc = np.stack(np.meshgrid(np.linspace(g.x0, g.X[0, -1], nc), np.linspace(g.y0, g.Y[-1, 0], nr)))
    fine = np.meshgrid(np.arange(g.h2) * (nr - 1) / (g.h2 - 1),
                       np.arange(g.w2) * (nc - 1) / (g.w2 - 1), indexing="ij")
    rows0, cols0 = np.meshgrid(np.arange(g.h2, dtype=float), np.arange(g.w2, dtype=float),
                               indexing="ij")
    frames, truth = np.zeros((n, h, w), np.float32), np.zeros((n, h, w), np.uint8)
    for k in range(n):
        t_s, frac = k * A["dt_s"], k / max(n - 1, 1)
        q = pc.copy()
        for _ in range(6):
            q = pc - mot.field(q, float(strain[k]), t_s, frac)
        qx, qy = (ndi.map_coordinates(c, fine, order=1) for c in q)
        crd = [(qy - g.y0) / g.dy, (qx - g.x0) / g.dx]
        crd_b = [rows0 - mot.drift[1] * frac / g.dy, cols0 - mot.drift[0] * frac / g.dx]
        bone = ndi.map_coordinates(static, crd_b, order=0, mode="constant")
        code = np.where(bone > 0, bone, ndi.map_coordinates(soft, crd, order=0, mode="nearest"))
        tx = np.where(bone > 0, ndi.map_coordinates(tex, crd_b, order=1, mode="nearest"),
                      ndi.map_coordinates(tex, crd, order=1, mode="nearest"))
        kind, organ = code % ORG, code // ORG
        img = lev[kind] * (1 + amp[kind] * tx)
        if ink:  # bSSFP chemical-shift cancellation at fat-water borders
            fat, wat = fat_k[kind], water_k[kind]
            img[(ndi.binary_dilation(fat) & wat) | (ndi.binary_dilation(wat) & fat)] *= 0.25
        frames[k] = img.reshape(h, 2, w, 2).mean(axis=(1, 3))
        cnt = np.stack([(organ == o).reshape(h, 2, w, 2).sum(axis=(1, 3)) for o in range(4)])
        truth[k] = (cnt - np.array([0.5, 0, 0, 0])[:, None, None]).argmax(axis=0)
        if k == 0:
            bodymask = (kind != K["air"]).reshape(h, 2, w, 2).mean(axis=(1, 3)) > 0.5
    repaired = 0  # stray fragments of an organ (expected 0)
    for k, o in np.ndindex(n, 3):
        m = truth[k] == o + 1
        stray = m & ~largest(m)
        repaired += int(stray.sum())
        truth[k][stray] = 0
    # acquisition: PSF, coil bias, Rician noise, storage
    psf = [A["psf_px"]] * 2
    psf[A["phase_axis"]] += A["phase_blur_px"]
    frames = ndi.gaussian_filter(frames, (0, *psf))
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    c = rng.normal(0, 1, 5)
    lb = c[0] * xx + c[1] * yy + 0.5 * (c[2] * xx * xx + c[3] * yy * yy + c[4] * xx * yy)
    lam = rng.uniform(0.3, 0.8)
    for side in (xx + 1, 1 - xx):  # anterior and posterior coil arrays
        lb += rng.uniform(0.3, 1) * np.exp(-side / lam)
    lb = (lb - np.median(lb[bodymask])) / max(np.ptp(lb[bodymask]), 1e-6) * np.log1p(A["bias"])
    frames = frames * np.exp(lb)[None]
    sigma = float(frames[0][bodymask].mean()) / A["snr"]
    frames = np.hypot(frames + sigma * rng.standard_normal(frames.shape),
                      sigma * rng.standard_normal(frames.shape))
    frames = frames / float(np.percentile(frames, 99.7))
    if A["storage"] == "uint12":
        stored = np.clip(np.rint(frames * rng.uniform(2500, 4000)), 0, 4095).astype(np.uint16)
    elif A["storage"] == "int16":
        stored = np.clip(np.rint(frames * rng.uniform(400, 2000)), 0, 32767).astype(np.int16)
    else:
        stored = (frames * 10 ** rng.uniform(-1, 3)).astype(np.float32)
    peak = int(np.argmax(strain))
    handles = {k: mot.field(g.world(ana["pts"][k])[:, None], float(strain[peak]))[:, 0]
               for k in ("neck", "os", "arj", "amp", "anus")}
    low = {name: float((np.nonzero((truth[peak] == o).any(1))[0].max()
                        - np.nonzero((truth[0] == o).any(1))[0].max()) * A["spacing_mm"][0])
           for o, name in enumerate(ORGANS, 1)}
    params = {"seed": seed, "acquisition": A, "anatomy": ana["params"],
              "dynamics": {"amplitudes_mm_before_fold_check": mot.amp,
                           "amplitude_factor": mot.factor, "jacobian_min": mot.jacobian_min,
                           "strain": strain.tolist(), "peak_frame": peak, **sinfo,
                           "respiration_mm_period_s": list(mot.resp[:2]),
                           "drift_mm": mot.drift.tolist(),
                           "peak_displacement_mm_post_inf": {k: v.tolist()
                                                             for k, v in handles.items()},
                           "lowest_point_descent_mm": low},
              "contrast_levels": dict(zip(KINDS, lev.tolist(), strict=True)),
              "india_ink": bool(ink), "noise_sigma": sigma, "truth_pixels_repaired": repaired,
              "times_s": (np.arange(n) * A["dt_s"]).tolist(),
              "orientation": "rows superior->inferior, columns anterior->posterior"}
    return {"frames": stored, "truth": truth, "params": params}


def write_case(case: dict[str, Any], folder: Path) -> Path:
    """series.nii.gz ((W,H,1,T), sagittal affine, xyzt mm/s, frame times in a JSON
    extension), truth.npy and params.json; returns the series path."""
    folder.mkdir(parents=True, exist_ok=True)
    P, frames = case["params"], case["frames"]
    (sy, sx), dt, thick = P["acquisition"]["spacing_mm"], P["acquisition"]["dt_s"], 5.0
    # column index -> posterior (RAS -y), row index -> inferior (RAS -z), slice -> R-L
    aff = np.array([[0, 0, thick, 0], [-sx, 0, 0, 0], [0, -sy, 0, 0], [0, 0, 0, 1]], float)
    img = nib.Nifti1Image(np.ascontiguousarray(frames.transpose(2, 1, 0))[:, :, None, :], aff)
    img.set_data_dtype(frames.dtype)
    img.set_qform(aff, code=1)
    img.set_sform(aff, code=2)
    hdr = img.header
    hdr.set_xyzt_units("mm", "sec")
    hdr.set_zooms((sx, sy, thick, dt))
    hdr["descrip"] = f"alt_generator seed {P['seed']}".encode()
    hdr.extensions.append(nib.nifti1.Nifti1Extension(6, json.dumps(
        {"times_s": P["times_s"], "generator": "benchmarks/alt_generator.py"}).encode()))
    path = folder / "series.nii.gz"
    nib.save(img, path)
    np.save(folder / "truth.npy", case["truth"])
    (folder / "params.json").write_text(json.dumps(P, indent=1))
    return path


def self_check(case: dict[str, Any], path: Path) -> None:
    """The project's reader returns exactly what was written; the truth is sound."""
    from core.io import read_series

    series = read_series(path)
    P, truth = case["params"], np.load(path.parent / "truth.npy")
    assert series.meta["orientation_ops"] == [], series.meta["orientation_ops"]
    assert np.array_equal(series.frames, case["frames"].astype(np.float32)), "frames differ"
    assert np.allclose(series.spacing_mm, P["acquisition"]["spacing_mm"], atol=1e-5)
    assert np.allclose(series.times_s, P["times_s"], atol=1e-6)
    assert truth.dtype == np.uint8 and truth.shape == series.frames.shape
    assert np.array_equal(truth, case["truth"])
    for k, o in np.ndindex(truth.shape[0], 3):
        n = ndi.label(truth[k] == o + 1, structure=np.ones((3, 3)))[1]
        assert n == 1, f"frame {k} organ {o + 1}: {n} components"


def montage(folders: list[Path], out: Path, mm_per_px: float = 1.1) -> None:
    """Frame 0 and the last frame of up to 6 cases, read back with the project's reader,
    with truth contours, at a common physical scale (anterior on the left)."""
    from core.io import read_series

    tiles = []
    for f in folders[:6]:
        s, truth = read_series(f / "series.nii.gz"), np.load(f / "truth.npy")
        for k in (0, s.n_frames - 1):
            im = s.frames[k]
            lo, hi = np.percentile(im, [0.5, 99.5])
            rgb = np.repeat((np.clip((im - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(
                np.uint8)[..., None], 3, axis=2)
            for o, col in enumerate(COLOURS, 1):
                m = truth[k] == o
                rgb[m & ~ndi.binary_erosion(m)] = col
            size = (round(im.shape[1] * s.spacing_mm[1] / mm_per_px),
                    round(im.shape[0] * s.spacing_mm[0] / mm_per_px))
            tile = Image.new("RGB", (400, 416))
            tile.paste(Image.fromarray(rgb).resize(size, Image.BILINEAR), (0, 16))
            ImageDraw.Draw(tile).text((4, 2), f"{f.name} frame {k}   A <- -> P", fill="white")
            tiles.append(tile)
    sheet = Image.new("RGB", (4 * 404, -(-len(tiles) // 4) * 420))
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % 4) * 404, (i // 4) * 420))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)


def _one(seed: int, out: Path) -> str:
    t0 = time.perf_counter()
    case = generate_case(seed)
    path = write_case(case, out / f"alt_{seed}")
    self_check(case, path)
    A = case["params"]["acquisition"]
    return (f"alt_{seed}: {A['T']}x{A['H']}x{A['W']} {A['contrast']} snr {A['snr']:.0f} "
            f"{A['storage']}, read back ok, {time.perf_counter() - t0:.1f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-11", help="e.g. 0-11 or 1,4,7-9")
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--montage", type=Path, default=None, help="PNG of the first 6 cases")
    ap.add_argument("--workers", type=int, default=1, help="cases generated in parallel")
    args = ap.parse_args(argv)
    from core.seeds import map_jobs, parse_seeds
    seeds = parse_seeds(args.seeds)
    for line in map_jobs(partial(_one, out=args.out), seeds, args.workers):
        print(line, flush=True)
    if args.montage:
        montage([args.out / f"alt_{s}" for s in seeds], args.montage)
        print(f"montage: {args.montage}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
