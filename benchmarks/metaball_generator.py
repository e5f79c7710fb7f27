"""Metaball phantom: labelled cine mid-sagittal female pelvic MRI from implicit fields.

Anatomy is built in a body frame (mm; u anterior->posterior, v head->feet, origin at the
pubic symphysis) from implicit fields: sums of anisotropic Gaussian metaballs and of
Gaussian kernels strung densely along skeleton curves (tubes with varying radius), each
thresholded at one half.  Organs that touch are resolved by priority with a fat gap
(uterus/vagina > bladder, rectum; bones over all), the uterine body is rotated about the
internal os until it clears the bladder, and each organ is kept as its largest 4-connected
piece.  Motion is a Valsalva / defecation strain curve (rest, rise, peak, release) that
drives landmark displacements (bladder neck, cervix, anorectal junction, perineum, ...;
bones and far field fixed; pathologies add cystocele, rectocele, enterocele or uterine
prolapse displacements; breathing and rigid jitter added); a thin-plate spline fitted
from the deformed to the rest landmarks gives the backward warp of every frame, applied
to the rest signal components (bilinear) and to the rest label map (nearest neighbour,
then largest piece and holes filled).  Imaging: T2 TSE (T2 decay along the echo train
filters k-space lines along the phase axis, per T2 bin), single-shot T2 (long train,
partial Fourier), bSSFP (with optional off-resonance bands) or T1 spoiled GRE, tissue
PD/T1/T2 drawn around textbook values, fat chemical shift along the frequency axis,
optional fat suppression, fold-over of anatomy outside the FOV along the phase axis,
parallel-imaging residual aliasing and g-factor noise, receive-coil bias and Rician noise.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.seeds import map_jobs, parse_seeds  # noqa: E402

PREFIX = "metaball"
LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
LN2 = float(np.log(2.0))

# ----------------------------------------------------------------------------- tissues
# name: (PD, T1 ms, T2 ms, fat fraction, texture amplitude)
TISSUES = {
    "air": (0.0, 1000.0, 10.0, 0.0, 0.0),
    "fat": (0.95, 320.0, 85.0, 1.0, 0.04),
    "skin": (0.75, 900.0, 35.0, 0.0, 0.05),
    "muscle": (0.72, 1050.0, 38.0, 0.0, 0.05),
    "cortex": (0.05, 1000.0, 5.0, 0.0, 0.0),
    "marrow": (0.85, 550.0, 70.0, 0.6, 0.08),
    "disc": (0.85, 1100.0, 110.0, 0.0, 0.05),
    "csf": (1.0, 3500.0, 1500.0, 0.0, 0.02),
    "urine": (1.0, 3000.0, 1200.0, 0.0, 0.01),
    "bladder_wall": (0.75, 1000.0, 55.0, 0.0, 0.04),
    "myometrium": (0.85, 1300.0, 100.0, 0.0, 0.06),
    "endometrium": (0.9, 1300.0, 160.0, 0.0, 0.04),
    "junctional": (0.72, 1000.0, 50.0, 0.0, 0.04),
    "cervix": (0.75, 1100.0, 55.0, 0.0, 0.05),
    "mucus": (0.95, 1600.0, 300.0, 0.0, 0.03),
    "fibroid": (0.7, 900.0, 35.0, 0.0, 0.08),
    "vag_wall": (0.8, 1100.0, 65.0, 0.0, 0.05),
    "gel": (1.0, 2800.0, 900.0, 0.0, 0.01),
    "rect_wall": (0.78, 1000.0, 60.0, 0.0, 0.05),
    "stool": (0.7, 700.0, 70.0, 0.05, 0.25),
    "gas": (0.02, 1000.0, 10.0, 0.0, 0.0),
    "anal": (0.75, 1000.0, 45.0, 0.0, 0.05),
    "bowel_wall": (0.8, 1000.0, 60.0, 0.0, 0.05),
    "bowel_fluid": (1.0, 2800.0, 600.0, 0.0, 0.03),
    "urethra": (0.8, 1100.0, 70.0, 0.0, 0.04),
}
TNAMES = list(TISSUES)
T = {name: i for i, name in enumerate(TNAMES)}
ORGAN_TISSUES = {
    1: ("urine", "bladder_wall"),
    2: ("myometrium", "endometrium", "junctional", "cervix", "mucus", "fibroid", "vag_wall",
        "gel"),
    3: ("rect_wall", "stool", "gas", "anal"),
}
UTERUS_STATES = ("anteverted_anteflexed", "retroverted", "retroflexed", "enlarged_fibroids",
                 "enlarged_adenomyosis", "postmenopausal", "hysterectomy")
CONTRASTS = ("t2_tse", "t2_single_shot", "bssfp", "t1_gre")


# ----------------------------------------------------------------------------- drawing
def draw_params(seed: int) -> dict:
    """All scalar parameters of one case (plain JSON types), from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    u = rng.uniform

    def pick(options, p=None):
        return str(options[int(rng.choice(len(options), p=p))])

    # geometry
    H = int(rng.integers(14, 21) * 16)
    W = int(rng.integers(14, 21) * 16)
    sp_r = u(max(0.9, 220.0 / H), min(1.6, 360.0 / H))
    lo, hi = max(0.9, 220.0 / W, sp_r * 0.95), min(1.6, 360.0 / W, sp_r * 1.05)
    sp_c = u(lo, hi) if lo < hi else float(np.clip(sp_r, max(0.9, 220 / W), min(1.6, 360 / W)))
    n_frames = int(rng.integers(12, 41))
    # anatomy
    uterus = pick(UTERUS_STATES, [0.33, 0.11, 0.11, 0.1, 0.07, 0.14, 0.14])
    manoeuvre = pick(("valsalva", "defecation"), [0.6, 0.4])
    rect_p = [0.2, 0.35, 0.15, 0.3] if manoeuvre == "defecation" else [0.35, 0.35, 0.15, 0.15]
    rectal = pick(("empty", "stool", "gas", "gel"), rect_p)
    patho: dict[str, float] = {}
    if rng.random() < 0.3:
        patho["cystocele"] = u(10, 40)
    if rng.random() < 0.3:
        patho["rectocele"] = u(10, 32)
    if rng.random() < 0.15:
        patho["enterocele"] = u(15, 45)
    if rng.random() < 0.2:
        patho["uterine_prolapse" if uterus != "hysterectomy" else "vault_prolapse"] = u(15, 50)
    anatomy = {
        "uterus": uterus,
        "bladder_fill": u(0.03, 1.0),
        "rectal_content": rectal,
        "vaginal_gel": bool(rng.random() < 0.35),
        "pathology": sorted(patho),
        "pathology_mm": {k: round(v, 2) for k, v in patho.items()},
        "scale": u(0.85, 1.15),
        "tilt_deg": u(-20, 20),
        "offset_frac": [u(-0.12, 0.12), u(-0.12, 0.12)] if rng.random() < 0.7
        else [u(-0.3, 0.3), u(-0.3, 0.3)],
        "fat_mm": u(8, 40),
        "anteflexion_deg": u(25, 70),
        "cervix_angle_deg": u(15, 40),
        "n_fibroids": int(rng.integers(1, 5)),
        "rectum_gap_mm": u(2, 8),
        "n_bowel_loops": int(rng.integers(6, 16)),
        "enterocele_loop": "enterocele" in patho,
    }
    # imaging
    contrast = pick(CONTRASTS, [0.3, 0.3, 0.25, 0.15])
    phase_axis = pick(("col", "row"), [0.6, 0.4])
    n_phase = H if phase_axis == "row" else W
    imaging: dict = {"contrast": contrast, "phase_axis": phase_axis}
    if contrast == "t2_tse":
        etl = int(rng.integers(8, 65))
        esp = u(5, 12)
        imaging.update(TR_ms=u(2500, 6000), echo_spacing_ms=esp, echo_train_length=etl,
                       flip_deg=90.0, partial_fourier=float(pick(("1.0", "0.875", "0.75"),
                                                                [0.6, 0.25, 0.15])))
        imaging["TE_ms"] = float(np.clip(u(80, 130), esp, esp * etl))
    elif contrast == "t2_single_shot":
        pf = float(pick(("0.5625", "0.625", "0.75"), [0.4, 0.4, 0.2]))
        esp = u(3.2, 5.5)
        etl = int(round(n_phase * pf))
        imaging.update(TR_ms=u(1000, 2200), echo_spacing_ms=esp, echo_train_length=etl,
                       flip_deg=90.0, partial_fourier=pf,
                       TE_ms=esp * (round(n_phase * (pf - 0.5)) + 1))
    elif contrast == "bssfp":
        tr = u(3.0, 5.0)
        imaging.update(TR_ms=tr, TE_ms=tr / 2, flip_deg=u(40, 80), echo_train_length=1,
                       partial_fourier=1.0, banding=bool(rng.random() < 0.4),
                       band_cycles=u(0.6, 2.5), band_angle_deg=u(0, 180))
    else:
        imaging.update(TR_ms=u(5, 150), TE_ms=u(2.0, 4.6), flip_deg=u(10, 70),
                       echo_train_length=1, partial_fourier=1.0)
    fs_p = {"t2_tse": 0.35, "t2_single_shot": 0.3, "bssfp": 0.1, "t1_gre": 0.35}[contrast]
    fat_sat = bool(rng.random() < fs_p)
    accel = int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
    imaging.update(
        fat_suppression=fat_sat,
        fat_residual=u(0.03, 0.2) if fat_sat else 1.0,
        chemical_shift_px=0.0 if fat_sat else float(rng.choice([-1, 1]) * u(1, 3)),
        acceleration=accel,
        g_factor_max=1.0 if accel == 1 else (u(1.1, 1.8) if accel == 2 else u(1.4, 2.5)),
        residual_alias=u(0.02, 0.1) if accel > 1 and rng.random() < 0.5 else 0.0,
        wrap_frac=u(0.08, 0.25) if rng.random() < 0.25 else 0.0,
        coil_ant=u(0.4, 2.5), coil_post=u(0.4, 2.5), coil_len_mm=u(40, 110),
        slice_thickness_mm=u(4, 8),
    )
    tissue_var = {n: [u(0.9, 1.1), u(0.85, 1.15), u(0.85, 1.15)] for n in TNAMES}
    motion = {
        "manoeuvre": manoeuvre,
        "descent_mm": u(6, 40),
        "breath_mm": u(0.5, 4), "breath_period_s": u(3, 6),
        "jitter_mm": u(0.1, 1.0),
        "abdominal_bulge_mm": u(0, 12),
        "emptying": u(0.2, 0.6) if manoeuvre == "defecation" and rectal in ("stool", "gel")
        and rng.random() < 0.7 else 0.0,
        "curve": [u(0.06, 0.2), u(0.2, 0.35), u(0.1, 0.3), u(0.1, 0.25)],
        "has_release": bool(rng.random() < 0.8),
    }
    return {
        "seed": int(seed), "matrix": [H, W], "spacing_mm": [float(sp_r), float(sp_c)],
        "n_frames": n_frames, "frame_interval_s": u(0.5, 2.0), "snr": u(5, 40),
        "max_intensity": u(500, 3000), "anatomy": anatomy, "imaging": imaging,
        "motion": motion, "tissue_var": tissue_var,
    }


# ----------------------------------------------------------------------------- geometry
def _rot(a: float) -> np.ndarray:
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _rotv(v, deg: float) -> np.ndarray:
    return _rot(np.radians(deg)) @ np.asarray(v, float)


class Geo:
    """Affine map between extended-grid pixels (r, c) and body mm (u, v)."""

    def __init__(self, scale, tilt_deg, center_mm, p0, spacing, pad):
        self.s, self.R = scale, _rot(np.radians(tilt_deg))
        self.C, self.P0 = np.asarray(center_mm, float), np.asarray(p0, float)
        self.dr, self.dc = spacing
        self.pr, self.pc = pad

    def to_body(self, r, c):
        x = (np.asarray(c, float) - self.pc) * self.dc - self.C[0]
        y = (np.asarray(r, float) - self.pr) * self.dr - self.C[1]
        Ri = self.R.T / self.s
        return Ri[0, 0] * x + Ri[0, 1] * y + self.P0[0], Ri[1, 0] * x + Ri[1, 1] * y + self.P0[1]

    def to_pix(self, u, v):
        du, dv = np.asarray(u, float) - self.P0[0], np.asarray(v, float) - self.P0[1]
        R = self.R * self.s
        x = R[0, 0] * du + R[0, 1] * dv + self.C[0]
        y = R[1, 0] * du + R[1, 1] * dv + self.C[1]
        return y / self.dr + self.pr, x / self.dc + self.pc


class Canvas:
    """Implicit-field evaluation on the extended pixel grid, kernels windowed."""

    def __init__(self, geo: Geo, shape):
        self.geo, self.shape = geo, shape
        r, c = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
        U, V = geo.to_body(r, c)
        self.U, self.V = U.astype(np.float32), V.astype(np.float32)
        self.px_mm = min(geo.dr, geo.dc) / geo.s

    def zeros(self):
        return np.zeros(self.shape, np.float32)

    def window(self, u, v, rad):
        r, c = self.geo.to_pix(u, v)
        rp = rad / self.px_mm + 2
        r0, r1 = max(int(r - rp), 0), min(int(r + rp) + 2, self.shape[0])
        c0, c1 = max(int(c - rp), 0), min(int(c + rp) + 2, self.shape[1])
        if r0 >= r1 or c0 >= c1:
            return None
        return slice(r0, r1), slice(c0, c1)

    def blob(self, F, cu, cv, a, b, ang_deg=0.0, w=1.0, power=2):
        """Anisotropic metaball exp(-ln2 q^p); q = 1 on the ellipse (a, b) rotated by ang."""
        win = self.window(cu, cv, 2.5 * max(a, b))
        if win is None:
            return
        du, dv = self.U[win] - cu, self.V[win] - cv
        ca, sa = np.cos(np.radians(ang_deg)), np.sin(np.radians(ang_deg))
        x, y = (du * ca + dv * sa) / a, (-du * sa + dv * ca) / b
        if power == 2:
            q = x * x + y * y
        else:
            q = (np.abs(x) ** power + np.abs(y) ** power) ** (2.0 / power)
        F[win] += w * np.exp(-LN2 * q)

    def tube(self, F, pts, radii, w=1.0):
        """Gaussian kernels strung along a smoothed polyline; field 1/2 at distance r."""
        pts, radii = np.asarray(pts, float), np.asarray(radii, float)
        seg = np.r_[0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
        step = float(np.clip(0.3 * radii.min() / 1.1774, 0.4, 2.0))
        s = np.arange(0, seg[-1] + step / 2, step)
        pu, pv, pr = (np.interp(s, seg, pts[:, 0]), np.interp(s, seg, pts[:, 1]),
                      np.interp(s, seg, radii))
        k = max(1, int(4 / step))
        pu = ndimage.gaussian_filter1d(pu, k, mode="nearest")
        pv = ndimage.gaussian_filter1d(pv, k, mode="nearest")
        for cu, cv, r in zip(pu, pv, pr, strict=True):
            sig = r / 1.1774
            win = self.window(cu, cv, 3 * sig)
            if win is None:
                continue
            d2 = (self.U[win] - cu) ** 2 + (self.V[win] - cv) ** 2
            F[win] += w * step / (sig * 2.5066) * np.exp(-d2 / (2 * sig * sig))

    def edt_mm(self, mask):
        g = self.geo
        return ndimage.distance_transform_edt(mask, sampling=(g.dr / g.s, g.dc / g.s))


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


# ----------------------------------------------------------------------------- anatomy
def _skeleton(p: dict, rng: np.random.Generator) -> dict:
    """Organ skeletons in body mm (before the image transform)."""
    a = p["anatomy"]
    j = lambda s: rng.normal(0, s, 2)  # noqa: E731
    g: dict = {}
    # bones
    g["ps"] = (np.array([0.0, 0.0]), 20 + rng.uniform(-2, 3), 7.5 + rng.uniform(-1, 1.5),
               -60 + rng.uniform(-10, 10))
    sac = np.array([(82, -118), (97, -98), (110, -76), (118, -54), (120, -34), (116, -18)],
                   float) + j(3)
    sac[:, 0] += np.linspace(0, rng.uniform(-8, 8), len(sac))
    g["sacrum"] = (sac, np.array([16, 14, 12, 10, 8, 6.5]))
    g["coccyx"] = (np.array([sac[-1], sac[-1] + (-3, 12), sac[-1] + (-8, 22),
                             sac[-1] + (-14, 29)]), np.array([6, 5, 4.5, 3.5]))
    lum = [((72, -133), -30, "disc"), ((64, -153), -15, "bone"), ((60, -171), -8, "disc"),
           ((58, -189), -3, "bone"), ((57, -207), 0, "disc"), ((57, -225), 2, "bone"),
           ((58, -243), 3, "disc"), ((59, -261), 4, "bone")]
    g["lumbar"] = [(np.array(c, float) + (sac[0] - (82, -118)), ang, kind)
                   for c, ang, kind in lum]
    # pelvic floor, urethra, vagina
    bn = np.array([24.0, 6.0]) + j(3)
    g["bn"] = bn
    g["urethra"] = np.array([bn, bn + (-7, 20), bn + (-14, 38)])
    intro = np.array([24.0, 55.0]) + j(3)
    vault = np.array([64.0, -6.0]) + j(4)
    g["intro"], g["vault"] = intro, vault
    gel = a["vaginal_gel"]
    rv = rng.uniform(9, 12) if gel else rng.uniform(5.5, 7.5)
    mid = (intro + vault) / 2 + (rng.uniform(-3, 5), 0)
    g["vagina"] = (np.array([intro, mid, vault]), np.array([rv * 0.8, rv, rv * 1.05]))
    arj = np.array([66.0, 34.0]) + j(3)
    anus = np.array([80.0, 68.0]) + j(2)
    g["arj"], g["anus"] = arj, anus
    g["perineal_body"] = (np.array([48.0, 54.0]) + j(2), rng.uniform(11, 16),
                          rng.uniform(8, 11))
    cx_tip = g["coccyx"][0][-1]
    g["levator"] = np.array([arj + (12, 4), (arj + cx_tip) / 2 + (8, 6), cx_tip])
    # rectum along the sacrum
    content = a["rectal_content"]
    r_amp = {"empty": rng.uniform(9, 12), "stool": rng.uniform(16, 24),
             "gas": rng.uniform(14, 21), "gel": rng.uniform(19, 27)}[content]
    r_can = rng.uniform(7, 9)
    tang = np.gradient(sac, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    nant = np.stack([tang[:, 1], -tang[:, 0]], 1)  # anterior normal
    nant *= np.sign(-nant[:, :1])
    gap = a["rectum_gap_mm"]
    half = g["sacrum"][1]
    up = [sac[k] + nant[k] * (half[k] + gap + r) for k, r in
          ((4, 0.9 * r_amp), (3, 0.85 * r_amp), (2, 0.8 * r_amp), (1, 0.7 * r_amp))]
    low = np.array([arj[0] + 8 + 0.3 * r_amp, arj[1] - 14 - 0.4 * r_amp])
    g["rectum"] = (np.array([anus, arj, low, *up]),
                   np.array([r_can, r_can * 1.1, 0.8 * r_amp, 0.9 * r_amp, 0.85 * r_amp,
                             0.8 * r_amp, 0.7 * r_amp]))
    g["rect_ant_n"] = nant[3]
    # bladder
    f = a["bladder_fill"]
    ba, bb = 18 + 20 * f + rng.uniform(-2, 2), 8 + 45 * f ** 0.9 + rng.uniform(-2, 2)
    bang = rng.uniform(-25, 5)
    g["bladder"] = (bn + np.array([0.05 * ba + 1, -0.92 * bb]), ba, bb, bang)
    g["bladder_wall"] = 3 + 4 * (1 - f) + rng.uniform(-0.5, 0.5)
    # uterus
    st = a["uterus"]
    vdir = _unit(vault - intro)
    if st != "hysterectomy":
        cang = -a["cervix_angle_deg"] if st != "retroverted" else rng.uniform(10, 35)
        cdir = _unit(_rotv(vdir, cang))
        clen = rng.uniform(25, 35) if st != "postmenopausal" else rng.uniform(18, 24)
        crad = rng.uniform(11, 14) if st != "postmenopausal" else rng.uniform(8, 10)
        ext_os = vault - 4 * cdir
        int_os = ext_os + clen * cdir
        flex = {"retroflexed": rng.uniform(70, 110), "retroverted": rng.uniform(-10, 20)}.get(
            st, -a["anteflexion_deg"])
        if st == "postmenopausal":
            blen, brad = rng.uniform(28, 38), rng.uniform(10, 14)
        elif st.startswith("enlarged"):
            blen, brad = rng.uniform(75, 115), rng.uniform(32, 50)
        else:
            blen, brad = rng.uniform(48, 62), rng.uniform(19, 25)
        g["cervix"] = (ext_os, int_os, crad)
        g["body"] = {"len": blen, "rad": brad, "flex": flex, "dir0": cdir}
        if st == "enlarged_fibroids":
            g["fibroids"] = [(rng.uniform(0.3, 0.95), rng.uniform(-1.1, 1.1),
                              rng.uniform(8, 24)) for _ in range(a["n_fibroids"])]
        g["jz_mm"] = rng.uniform(10, 16) if st == "enlarged_adenomyosis" else rng.uniform(3, 6)
        g["endo_mm"] = rng.uniform(1, 2) if st == "postmenopausal" else rng.uniform(3, 7)
    g["fsc"] = a["fat_mm"]
    g["rect_content"] = content
    return g


def _body_axis(g: dict, angle_offset: float):
    ext_os, int_os, crad = g["cervix"]
    b = g["body"]
    d = _unit(_rotv(b["dir0"], b["flex"] + angle_offset))
    pts = np.array([int_os + t * b["len"] * d for t in np.linspace(0, 1, 9)])
    prof = np.sin(np.linspace(0.25, 0.93, 9) * np.pi) ** 0.6
    radii = np.maximum(crad * 0.9, b["rad"] * prof)
    return pts, radii, d


def _clear_bladder(g: dict) -> float:
    """Rotate the uterine body about the internal os (smallest angle) to clear the bladder."""
    (c, ba, bb, bang) = g["bladder"]
    Rb = _rot(np.radians(-bang))
    best, best_q = 0.0, -1.0
    for off in sorted(np.arange(-60.0, 61.0, 5.0), key=abs):
        pts, radii, _ = _body_axis(g, off)
        loc = (Rb @ (pts - c).T).T
        q = (loc[:, 0] / (ba + 0.7 * radii + 2)) ** 2 + (loc[:, 1] / (bb + 0.7 * radii + 2)) ** 2
        if np.all(q[2:] > 1.0):
            return float(off)
        if q[2:].min() > best_q:
            best, best_q = float(off), float(q[2:].min())
    return best


def _bbox_points(g: dict) -> np.ndarray:
    pts = [g["intro"], g["anus"] + (0, 6), g["vault"], g["bn"] + (-10, 0)]
    c, ba, bb, _ = g["bladder"]
    r = max(ba, bb) + 4
    pts += [c + (r, 0), c - (r, 0), c + (0, r), c - (0, r)]
    rp, rr = g["rectum"]
    for q, rad in zip(rp, rr, strict=True):
        pts += [q + (rad, 0), q - (rad, 0), q - (0, rad)]
    if "body" in g:
        bp, br, _ = _body_axis(g, g["body"].get("off", 0.0))
        for q, rad in zip(bp, br, strict=True):
            pts += [q + (rad, 0), q - (rad, 0), q - (0, rad), q + (0, rad)]
    return np.array(pts)


def _paint(p: dict, g: dict, cv: Canvas, rng: np.random.Generator):
    """Tissue map (int8) and rest label map (uint8) on the extended grid."""
    U, V = cv.U, cv.V
    a = p["anatomy"]
    fsc = g["fsc"]
    tis = np.zeros(cv.shape, np.int8)
    # body outline
    fx = fsc - 20.0
    vb = np.interp(U, [-80, -50, -30, -10, 10, 40, 60, 80, 100, 120, 140, 165, 200],
                   np.array([-40, 0, 22, 38, 52, 62, 66, 70, 62, 45, 25, 0, -60]) + 0.6 * fx)
    uf = np.interp(V, [-400, -150, -60, -20, 0, 20, 60], [-78, -70, -58, -50, -48, -35, 0])
    uf = uf - fx
    ub = np.interp(V, [-400, -150, -60, -20, 20, 60], [178, 170, 160, 150, 140, 110]) + 0.7 * fx
    body = (U > uf) & (U < ub) & (V < vb)
    tis[body] = T["fat"]
    depth = cv.edt_mm(body)
    tis[body & (depth < rng.uniform(1.5, 2.5))] = T["skin"]
    # abdominal wall muscle band, posterior muscles
    F = cv.zeros()
    ps_c, ps_a, ps_b, ps_ang = g["ps"]
    ps_top = ps_c + _rotv((ps_a, 0), ps_ang)
    wall = np.array([(-70 + fx * 0 + fsc + 6, -320), (-62 + fsc + 6, -150),
                     (-50 + fsc + 6, -60), ps_top + (-2, -6)])
    wall[:3, 0] -= fx
    cv.tube(F, wall, [rng.uniform(4, 6)] * 4)
    tis[(F > 0.5) & body & (depth > fsc * 0.7)] = T["muscle"]
    sac, half = g["sacrum"]
    spine_u = [c[0] for c, _, _ in g["lumbar"]][::-1] + list(sac[:, 0])
    spine_v = [c[1] for c, _, _ in g["lumbar"]][::-1] + list(sac[:, 1])
    back = np.interp(V, spine_v, spine_u) + np.interp(V, [-300, -120, -60, 0], [48, 40, 18, 14])
    musc_post = body & (U > back) & (depth > fsc) & (V < 40)
    tis[musc_post] = T["muscle"]
    # pelvic floor
    F = cv.zeros()
    cv.tube(F, g["levator"], [4.5, 4.5, 3.5])
    cv.blob(F, *(g["arj"] + (15, 8)), 7, 6)
    pb, pa, pbb = g["perineal_body"]
    cv.blob(F, *pb, pa, pbb, 20)
    rp, rr = g["rectum"]
    cv.tube(F, rp[:2], rr[:2] + 5.5)
    tis[(F > 0.5) & body] = T["muscle"]
    F = cv.zeros()
    cv.tube(F, g["urethra"], [5, 4.5, 3.5])
    tis[(F > 0.5) & body] = T["urethra"]
    # organs ------------------------------------------------------------------
    # uterus / vagina
    Fu = cv.zeros()
    cv.tube(Fu, *g["vagina"])
    vag = (Fu > 0.5) & body
    st = a["uterus"]
    uter = np.zeros(cv.shape, bool)
    if "body" in g:
        g["body"]["off"] = _clear_bladder(g)
        ext_os, int_os, crad = g["cervix"]
        Fc = cv.zeros()
        cv.tube(Fc, [ext_os - 3 * _unit(int_os - ext_os), int_os], [crad * 0.9, crad])
        bp, br, bd = _body_axis(g, g["body"]["off"])
        Fb = cv.zeros()
        cv.tube(Fb, bp, br)
        for t_, side, rad in g.get("fibroids", []):
            c = bp[0] + t_ * (bp[-1] - bp[0]) + side * np.array([-bd[1], bd[0]]) * br.max()
            cv.blob(Fb, *c, rad, rad * rng.uniform(0.85, 1.0), 0, w=1.2)
            g.setdefault("fib_c", []).append((c, rad))
        cerv = (Fc > 0.5) & body
        ubody = (Fb > 0.5) & body
        uter = cerv | ubody
    # bladder (cleared from uterus/vagina by a fat gap)
    Fbl = cv.zeros()
    c, ba, bb, bang = g["bladder"]
    cv.blob(Fbl, *c, ba, bb, bang, power=2.4)
    cv.blob(Fbl, *(c + (0.2 * ba, 0.3 * bb)), 0.6 * ba, 0.5 * bb, bang, w=0.4)
    cv.blob(Fbl, *(c - (0.3 * ba, 0.3 * bb)), 0.5 * ba, 0.5 * bb, bang, w=0.3)
    ut_all = uter | vag
    clear = cv.edt_mm(~ut_all) > 2.0
    bladder = (Fbl > 0.5) & body & clear
    # rectum
    Fr = cv.zeros()
    cv.tube(Fr, rp, rr)
    rect = (Fr > 0.5) & body & clear & (cv.edt_mm(~bladder) > 2.0)
    # bones
    Fbone = cv.zeros()
    cv.blob(Fbone, *ps_c, ps_a, ps_b, ps_ang, power=2.5)
    cv.tube(Fbone, sac, half)
    cv.tube(Fbone, *g["coccyx"])
    Fdisc = cv.zeros()
    for cen, ang, kind in g["lumbar"]:
        if kind == "bone":
            cv.blob(Fbone, *cen, 17.5, 13.0, ang, power=5)
            cv.blob(Fbone, *(cen + _rotv((48, 0), ang)), 12, 9, ang + 20)
        else:
            cv.blob(Fdisc, *cen, 17.0, 5.0, ang, power=4)
    bone = (Fbone > 0.5) & body
    # spinal canal
    Fcs = cv.zeros()
    canal = [cen + _rotv((27, 0), ang) for cen, ang, _ in g["lumbar"]][::-1]
    canal += [sac[0] + (24, -6), sac[1] + (22, 0), sac[2] + (17, 0)]
    cv.tube(Fcs, np.array(canal), [6.5] * (len(canal) - 2) + [5, 3.5])
    nobone = ~bone
    uter &= nobone
    vag &= nobone
    bladder &= nobone
    rect &= nobone
    # keep largest pieces; what is dropped stays fat
    ut_all = _largest(uter | vag)
    bladder = _largest(bladder)
    rect = _largest(rect)
    # paint organs
    tis[(Fdisc > 0.5) & body] = T["disc"]
    tis[(Fcs > 0.5) & body] = T["csf"]
    bw = g["bladder_wall"]
    dbl = cv.edt_mm(bladder)
    tis[bladder] = T["bladder_wall"]
    tis[bladder & (dbl > bw)] = T["urine"]
    # rectum: wall, content, anal canal
    dre = cv.edt_mm(rect)
    Fa = cv.zeros()
    cv.tube(Fa, np.array([rp[0] + 4 * _unit(rp[0] - rp[1]), rp[1]]), rr[:2] + 0.5)
    anal = (Fa > 0.5) & rect
    tis[rect] = T["rect_wall"]
    lumen = rect & (dre > rng.uniform(2.5, 3.5)) & ~anal
    content = g["rect_content"]
    if content == "empty":
        Fl = cv.zeros()
        cv.tube(Fl, rp[2:], np.full(len(rp) - 2, 1.8))
        tis[lumen & (Fl > 0.5)] = T["mucus"]
    elif content == "stool":
        tis[lumen] = T["stool"]
        Fg = cv.zeros()
        for _ in range(int(rng.integers(2, 9))):
            k = int(rng.integers(2, len(rp)))
            cv.blob(Fg, *(rp[k] + rng.normal(0, rr[k] * 0.4, 2)), *rng.uniform(1.5, 5, 2))
        tis[lumen & (Fg > 0.5)] = T["gas"]
    elif content == "gas":
        tis[lumen] = T["gas"]
    else:
        tis[lumen] = T["gel"]
        Fg = cv.zeros()
        cv.blob(Fg, *(rp[-2] + g["rect_ant_n"] * rr[-2] * 0.5), rr[-2] * 0.6, rr[-2] * 0.3)
        tis[lumen & (Fg > 0.5) & (rng.random() < 0.5)] = T["gas"]
    tis[anal] = T["anal"]
    # vagina and uterus layers
    dva = cv.edt_mm(vag)
    tis[ut_all & vag] = T["vag_wall"]
    if a["vaginal_gel"]:
        tis[ut_all & vag & (dva > rng.uniform(2.5, 4))] = T["gel"]
    else:
        Fl = cv.zeros()
        cv.tube(Fl, g["vagina"][0], np.full(3, 1.3))
        tis[ut_all & vag & (Fl > 0.5)] = T["mucus"]
    if "body" in g:
        ext_os, int_os, crad = g["cervix"]
        cer = ut_all & ~vag & (Fc > 0.5)
        tis[cer] = T["cervix"]
        Fl = cv.zeros()
        cv.tube(Fl, [ext_os, int_os], [2.5, 2.5])
        tis[cer & (Fl > 0.5)] = T["mucus"]
        ub = ut_all & ~vag & ~cer
        tis[ub] = T["myometrium"]
        Fe, Fj = cv.zeros(), cv.zeros()
        ep = np.array([int_os + t * (bp[-2] - int_os) for t in np.linspace(0, 1, 6)])
        er = g["endo_mm"] * np.sin(np.linspace(0.3, 0.85, 6) * np.pi)
        cv.tube(Fe, ep, np.maximum(er, 1.0))
        cv.tube(Fj, ep, np.maximum(er, 1.0) + g["jz_mm"])
        tis[ub & (Fj > 0.5)] = T["junctional"]
        tis[ub & (Fe > 0.5)] = T["endometrium"]
        if st == "enlarged_adenomyosis":
            for _ in range(int(rng.integers(5, 15))):
                cen = bp[int(rng.integers(1, 7))] + rng.normal(0, 5, 2)
                Fg = cv.zeros()
                cv.blob(Fg, *cen, *rng.uniform(1, 2.5, 2))
                tis[ub & (Fg > 0.5) & (Fj > 0.5)] = T["mucus"]
        for cen, rad in g.get("fib_c", []):
            d2 = (U - cen[0]) ** 2 + (V - cen[1]) ** 2
            tis[ub & (d2 < (rad * 0.95) ** 2)] = T["fibroid"]
    # bones last
    dbo = cv.edt_mm(bone)
    tis[bone] = T["cortex"]
    tis[bone & (dbo > rng.uniform(1.2, 2.2))] = T["marrow"]
    labels = np.zeros(cv.shape, np.uint8)
    labels[bladder] = 1
    labels[ut_all] = 2
    labels[rect] = 3
    occupied = bone | bladder | ut_all | rect | (tis == T["muscle"]) | (tis == T["csf"]) \
        | (tis == T["urethra"]) | (tis == T["disc"]) | ~body
    g["bone_mask"] = bone
    return tis, labels, occupied, body


def _bowel(p: dict, g: dict, cv: Canvas, tis, occupied, body, rng) -> list:
    """Bowel loops by rejection sampling in free space above the pelvic organs."""
    U, V = cv.U, cv.V
    loops = []
    occ = ndimage.binary_dilation(occupied, iterations=2)
    inside = body & ~occ
    v_lim = min(g["vault"][1], g["bladder"][0][1]) + 10
    sac = g["sacrum"][0]
    spine_u = np.r_[[c[0] for c, _, _ in g["lumbar"]][::-1], sac[:, 0]]
    spine_v = np.r_[[c[1] for c, _, _ in g["lumbar"]][::-1], sac[:, 1]]
    front = np.interp(V, [-400, -150, -60, 0], [-78, -70, -58, -48]) - (g["fsc"] - 20)
    abdomen = (U < np.interp(V, spine_v, spine_u) - 22) & (U > front + g["fsc"] + 14)
    cand = np.flatnonzero(inside & abdomen & (V < v_lim))
    want = p["anatomy"]["n_bowel_loops"]
    centers = []
    if p["anatomy"]["enterocele_loop"]:
        rp, rr = g["rectum"]
        pouch = (g["vault"] + rp[3]) / 2 + (0, -12)
        centers.append((pouch, rng.uniform(11, 16), True))
    for _ in range(want * 6):
        if cand.size == 0 or len(centers) >= want + 1:
            break
        k = cand[int(rng.integers(cand.size))]
        centers.append((np.array([U.flat[k], V.flat[k]]), rng.uniform(8, 18), False))
    for c, r, forced in centers:
        F = cv.zeros()
        cv.blob(F, *c, r, r * rng.uniform(0.6, 1.0), rng.uniform(0, 180))
        m = (F > 0.5) & body
        if forced:  # enterocele loop: squeezed into the pouch, organs keep priority
            m &= ~ndimage.binary_dilation(occupied & (tis != T["muscle"]), iterations=1)
            m = _largest(m)
        elif np.any(m & occ):
            continue
        if m.sum() < 10:
            continue
        kind = rng.choice(["fluid", "gas", "stool", "collapsed"], p=[0.4, 0.2, 0.2, 0.2])
        d = cv.edt_mm(m)
        tis[m] = T["bowel_wall"]
        lum = m & (d > rng.uniform(1.5, 3))
        tis[lum] = T[{"fluid": "bowel_fluid", "gas": "gas", "stool": "stool",
                      "collapsed": "bowel_wall"}[str(kind)]]
        occ |= ndimage.binary_dilation(m, iterations=2)
        loops.append((c, r, forced))
    return loops


# ----------------------------------------------------------------------------- motion
def _tps_fit(src: np.ndarray, dst: np.ndarray, lam: float = 1e-3):
    n = len(src)
    d2 = ((src[:, None, :] - src[None, :, :]) ** 2).sum(-1)
    K = 0.5 * d2 * np.log(d2 + 1e-12) + lam * np.eye(n)
    P = np.c_[np.ones(n), src]
    A = np.zeros((n + 3, n + 3))
    A[:n, :n], A[:n, n:], A[n:, :n] = K, P, P.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = dst
    return src, np.linalg.solve(A, rhs)


def _tps_eval(model, pts: np.ndarray) -> np.ndarray:
    src, sol = model
    n = len(src)
    d2 = ((pts[:, None, :] - src[None, :, :]) ** 2).sum(-1)
    K = 0.5 * d2 * np.log(d2 + 1e-12)
    return K @ sol[:n] + sol[n] + pts @ sol[n + 1:]


def _strain(p: dict, n: int):
    m = p["motion"]
    c = m["curve"]
    a = max(1, int(round(n * c[0])))
    b = min(n - 2, a + max(2, int(round(n * c[1]))))
    e = min(n - 1, b + max(1, int(round(n * c[2]))))
    f = min(n - 1, e + max(2, int(round(n * c[3])))) if m["has_release"] else n + 10
    t = np.arange(n, dtype=float)

    def ss(x):
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)

    s = ss((t - a + 1) / max(b - a + 1, 1))
    if m["has_release"] and e < n - 1:
        s = s * (1 - 0.85 * ss((t - e) / max(f - e, 1)))
    peak = int(np.clip((b + e) // 2, 1, n - 1)) if m["has_release"] else int(
        np.clip((b + n - 1) // 2, 1, n - 1))
    s[peak] = max(s[peak], s.max())
    empt = ss((t - b) / max(n - 1 - b, 1))
    return s, empt, 0, peak


def _landmarks(p: dict, g: dict, loops: list, corners: np.ndarray):
    """Rest landmarks (N,2) and a function of (strain, emptying, breath) -> displacements."""
    m, a = p["motion"], p["anatomy"]
    pm = a["pathology_mm"]
    d = m["descent_mm"]
    dn = _unit((0.35, 1.0))
    pts, disp = [], []

    def add(q, vec):
        pts.append(np.asarray(q, float))
        disp.append(np.asarray(vec, float))

    # fixed: bones and far field
    ps_c, ps_a, ps_b, ps_ang = g["ps"]
    for t_ in (-1, 0, 1):
        add(ps_c + _rotv((t_ * ps_a, 0), ps_ang), (0, 0))
    sac, _ = g["sacrum"]
    for q in sac:
        add(q, (0, 0))
    add(g["coccyx"][0][-1], (0, 0))
    for cen, _, _kind in g["lumbar"][:4]:
        add(cen, (0, 0))
    for q in corners:
        add(q, (0, 0))
    # moving organs
    cyst = pm.get("cystocele", 0.0)
    prol = pm.get("uterine_prolapse", 0.0) + pm.get("vault_prolapse", 0.0)
    recto = pm.get("rectocele", 0.0)
    ent = pm.get("enterocele", 0.0)
    vdir = _unit(g["intro"] - g["vault"])
    bc, ba, bb, _ = g["bladder"]
    add(g["bn"], d * dn + cyst * np.array([0.1, 0.6]))
    add(bc + (0.5 * ba, 0.6 * bb), 0.9 * d * dn + cyst * np.array([0.0, 1.0]))
    add(bc + (-0.1 * ba, 0.7 * bb), 0.8 * d * dn + cyst * np.array([-0.1, 0.8]))
    add(bc - (0, bb), 0.45 * d * dn + 0.2 * cyst * np.array([0, 1]))
    add(bc - (ba, 0), 0.3 * d * np.array([0, 1]))
    vault_d = 0.8 * d * dn + prol * vdir
    add(g["vault"], vault_d)
    if "body" in g:
        bp, _, _ = _body_axis(g, g["body"]["off"])
        add(bp[0], 0.7 * d * dn + 0.9 * prol * vdir)
        add(bp[-1], 0.4 * d * dn + 0.6 * prol * vdir)
    add((g["intro"] + g["vault"]) / 2, 0.7 * d * dn + 0.5 * (prol + cyst) * vdir * 0.6)
    add(g["intro"], 0.45 * d * np.array([0.2, 1.0]) + 0.25 * prol * np.array([0, 1]))
    pb = g["perineal_body"][0]
    add(pb, 0.6 * d * dn)
    add(g["arj"], 1.0 * d * _unit((0.45, 1.0)))
    add(g["anus"], 0.6 * d * _unit((0.2, 1.0)))
    rp, rr = g["rectum"]
    n_ant = g["rect_ant_n"]
    rec_a = rp[2] + n_ant * rr[2] * 0.9
    add(rec_a, 0.8 * d * dn + recto * np.array([-1.0, 0.25]))
    add(rp[3], 0.4 * d * dn)
    add(rp[4], 0.2 * d * dn)
    add(g["levator"][1], 0.6 * d * _unit((0.1, 1.0)))
    add(g["anus"] + (-30, 2), 0.45 * d * np.array([0, 1]))
    add(g["anus"] + (30, -8), 0.4 * d * np.array([0, 1]))
    # emptying landmarks (walls of the ampulla converge)
    i_empty = len(pts)
    add(rp[3] + n_ant * rr[3] * 0.8, 0.4 * d * dn)
    add(rp[3] - n_ant * rr[3] * 0.6, 0.4 * d * dn)
    # bowel loops, enterocele, abdominal wall
    i_breath = []
    for c, _r, forced in loops:
        if forced:
            add(c, 0.6 * d * dn + ent * vdir)
        else:
            i_breath.append(len(pts))
            add(c, 0.25 * d * np.array([0, 1]))
    bulge = m["abdominal_bulge_mm"]
    fx = g["fsc"] - 20
    for v in (-150.0, -80.0):
        i_breath.append(len(pts))
        add((-50 - fx, v), (-bulge, 0.1 * d))
    P = np.array(pts)
    D = np.array(disp)

    def field(s, e, br):
        out = D * s
        if m["emptying"] > 0:
            out[i_empty] += -n_ant * rr[3] * m["emptying"] * e
            out[i_empty + 1] += n_ant * rr[3] * m["emptying"] * 0.5 * e
        if i_breath:
            out[i_breath, 1] += br
        return out

    return P, field


# ----------------------------------------------------------------------------- physics
def _signals(p: dict):
    """Water and fat signal per tissue and the T2 per tissue (for the echo-train filter)."""
    im = p["imaging"]
    c = im["contrast"]
    n = len(TNAMES)
    sw, sf, t2 = np.zeros(n), np.zeros(n), np.zeros(n)
    fat_pd, fat_t1, fat_t2 = 1.0, 320.0, 85.0

    def sig(pd, t1, t2_):
        if c in ("t2_tse", "t2_single_shot"):
            return pd * (1 - np.exp(-im["TR_ms"] / t1)) * np.exp(-im["TE_ms"] / t2_)
        if c == "bssfp":
            a = np.radians(im["flip_deg"])
            return pd * np.sin(a) / ((1 + np.cos(a)) + (1 - np.cos(a)) * t1 / t2_) \
                * np.exp(-im["TE_ms"] / t2_)
        a = np.radians(im["flip_deg"])
        e1 = np.exp(-im["TR_ms"] / t1)
        return pd * np.sin(a) * (1 - e1) / (1 - np.cos(a) * e1) * np.exp(-im["TE_ms"] / (
            0.6 * t2_))

    for i, name in enumerate(TNAMES):
        pd, t1, tt2, ff, _ = TISSUES[name]
        v = p["tissue_var"][name]
        pd, t1, tt2 = pd * v[0], t1 * v[1], tt2 * v[2]
        t2[i] = tt2
        if name == "fat":
            sw[i] = 0.0
        else:
            sw[i] = (1 - ff) * sig(pd, t1, tt2)
        sf[i] = ff * sig(fat_pd * v[0] if name == "fat" else fat_pd, fat_t1, fat_t2)
    sf *= im["fat_residual"]
    return sw, sf, t2


T2_BINS = np.array([50.0, 150.0, 1000.0])


def _echo_filters(p: dict, n_phase: int) -> np.ndarray:
    """Per T2 bin, the k-space weighting along the phase axis (fftfreq order)."""
    im = p["imaging"]
    ky = np.fft.fftfreq(n_phase) * n_phase
    if im["contrast"] in ("t2_tse", "t2_single_shot"):
        L = im["echo_train_length"]
        esp = im["echo_spacing_ms"]
        frac = min(1.0, L / n_phase) if im["contrast"] == "t2_single_shot" else L / n_phase
        t = im["TE_ms"] + esp * frac * ky
        t = np.maximum(t, esp)
        filt = np.exp(-(t[None, :] - im["TE_ms"]) / T2_BINS[:, None])
    else:
        filt = np.ones((len(T2_BINS), n_phase))
    pf = im["partial_fourier"]
    if pf < 1.0:
        n0 = int(round(n_phase * (pf - 0.5)))
        filt[:, ky < -n0] = 0.0
    return filt


def _bbox(m: np.ndarray):
    rows, cols = np.any(m, 1), np.any(m, 0)
    if not rows.any():
        return None
    r0, r1 = np.flatnonzero(rows)[[0, -1]]
    c0, c1 = np.flatnonzero(cols)[[0, -1]]
    return slice(r0, r1 + 1), slice(c0, c1 + 1)


def _finish_labels(lab: np.ndarray) -> np.ndarray:
    """Per organ: the largest 4-connected piece with its holes filled."""
    out = np.zeros_like(lab)
    for k in (2, 1, 3):
        box = _bbox(lab == k)
        if box is None:
            continue
        m = ndimage.binary_fill_holes(_largest(lab[box] == k))
        sub = out[box]
        sub[m & (sub == 0)] = k
    for k in (1, 2, 3):
        box = _bbox(out == k)
        if box is None:
            continue
        m = out[box] == k
        out[box][m & ~_largest(m)] = 0
    return out


def _interp_index(n_fine: int, n_coarse: int, step: int):
    """Indices and weights of linear interpolation from samples at multiples of step."""
    x = np.arange(n_fine) / step
    i0 = np.minimum(np.floor(x).astype(int), n_coarse - 2)
    return i0, (x - i0).astype(np.float32)


def _upsample(a: np.ndarray, ir, ic) -> np.ndarray:
    (i0, w0), (j0, w1) = ir, ic
    a = a[i0] * (1 - w0[:, None]) + a[i0 + 1] * w0[:, None]
    return a[:, j0] * (1 - w1) + a[:, j0 + 1] * w1


def _bilinear(stack: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Bilinear sampling of (K,H,W) at (r, c) with edge clamping (mode 'nearest')."""
    _, h, w = stack.shape
    r = np.clip(r, 0, h - 1.001)
    c = np.clip(c, 0, w - 1.001)
    r0, c0 = r.astype(np.int32), c.astype(np.int32)
    fr, fc = r - r0, c - c0
    flat = stack.reshape(len(stack), -1)
    i = r0 * w + c0
    return (flat[:, i] * ((1 - fr) * (1 - fc)) + flat[:, i + 1] * ((1 - fr) * fc)
            + flat[:, i + w] * (fr * (1 - fc)) + flat[:, i + w + 1] * (fr * fc))


def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict]:
    """One case: frames float32 (T,H,W) >= 0, labels uint8 (T,H,W), spacing, params."""
    p = draw_params(seed)
    rng = np.random.default_rng([seed, 7])
    a, im, mo = p["anatomy"], p["imaging"], p["motion"]
    H, W = p["matrix"]
    dr, dc = p["spacing_mm"]
    n = p["n_frames"]
    g = _skeleton(p, rng)
    if "body" in g:
        g["body"]["off"] = _clear_bladder(g)
    # image transform: fit the organ box (with descent margin) into the FOV
    p0 = np.array([55.0, -20.0])
    box = _bbox_points(g)
    extra = mo["descent_mm"] * 0.8 + max([0.0, *a["pathology_mm"].values()]) * 0.6
    box = np.vstack([box, box[np.argmax(box[:, 1])] + (0, extra)])
    Rt = _rot(np.radians(a["tilt_deg"]))
    rb = (Rt @ (box - p0).T).T
    fov = np.array([W * dc, H * dr])
    ext = rb.max(0) - rb.min(0)
    scale = float(min(a["scale"], *((fov - 12) / ext)))
    mid = (rb.max(0) + rb.min(0)) / 2 * scale
    room = np.maximum((fov - 12 - ext * scale) / 2, 0)
    off = np.clip(np.array(a["offset_frac"]) * fov, -room, room)
    center = fov / 2 - mid + off
    a["scale_used"] = scale
    wrap = im["wrap_frac"]
    pax = 1 if im["phase_axis"] == "col" else 0
    n_ph = (H, W)[pax]
    pad = int(round(wrap * n_ph))
    pads = (pad, 0) if pax == 0 else (0, pad)
    geo = Geo(scale, a["tilt_deg"], center, p0, (dr, dc), pads)
    shape = (H + 2 * pads[0], W + 2 * pads[1])
    cv = Canvas(geo, shape)
    tis, lab0, occupied, body = _paint(p, g, cv, rng)
    loops = _bowel(p, g, cv, tis, occupied, body, rng)
    if a["enterocele_loop"] and not any(f for _, _, f in loops):
        a["enterocele_loop"] = False
    # rest signal components
    sw, sf, t2 = _signals(p)
    tex_amp = np.array([TISSUES[nm][4] for nm in TNAMES])
    noise = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 1.5)
    noise /= noise.std() + 1e-6
    tex = 1 + tex_amp[tis] * noise
    water = (sw[tis] * tex).astype(np.float32)
    fat = (sf[tis] * tex).astype(np.float32)
    tb = np.argmin(np.abs(np.log(t2[:, None] / T2_BINS[None, :])), axis=1)[tis]
    fat_bin = int(np.argmin(np.abs(np.log(85.0 / T2_BINS))))
    if im["contrast"] not in ("t2_tse", "t2_single_shot"):
        tb[:] = 0
    comps = [ndimage.gaussian_filter(np.where(tb == b, water, 0), 0.5)
             for b in range(len(T2_BINS))]
    comps.append(ndimage.gaussian_filter(fat, 0.5))
    comps = np.stack(comps).astype(np.float32)
    used = [b for b in range(len(T2_BINS)) if comps[b].any()] + [len(T2_BINS)]
    # static maps on the extended grid: coil bias, bands
    dep = cv.edt_mm(body)
    w_ant = 1 / (1 + np.exp((cv.U - 50) / 25))
    lam = im["coil_len_mm"]
    bias = 0.35 + np.exp(-dep / lam) * (im["coil_ant"] * w_ant + im["coil_post"] * (1 - w_ant))
    smooth = ndimage.gaussian_filter(rng.standard_normal((8, 8)), 1.5)
    bias *= 1 + 0.15 * ndimage.zoom(smooth / (smooth.std() + 1e-9),
                                    (shape[0] / 8, shape[1] / 8), order=1)[:shape[0], :shape[1]]
    bias = np.maximum(bias, 0.1).astype(np.float32)
    if im["contrast"] == "bssfp" and im.get("banding"):
        ang = np.radians(im["band_angle_deg"])
        ph = 2 * np.pi * im["band_cycles"] * ((cv.U * np.cos(ang) + cv.V * np.sin(ang)) / 200.0)
        ph += 1.5 * np.exp(-((cv.U - g["rectum"][0][3][0]) ** 2
                             + (cv.V - g["rectum"][0][3][1]) ** 2) / 800.0)
        wrapped = np.angle(np.exp(1j * (ph - np.pi)))
        bias = bias * (1 - 0.9 * np.exp(-(wrapped ** 2) / (2 * 0.12 ** 2))).astype(np.float32)
    filt = _echo_filters(p, n_ph)
    # g-factor map (image grid)
    pos = np.arange(n_ph) / n_ph
    gprof = 1 + (im["g_factor_max"] - 1) * np.exp(-((pos - 0.5) / 0.28) ** 2)
    gsm = ndimage.zoom(ndimage.gaussian_filter(rng.standard_normal((6, 6)), 1), (H / 6, W / 6),
                       order=1)[:H, :W]
    gmap = (gprof[:, None] if pax == 0 else gprof[None, :]) * (1 + 0.1 * gsm)
    # motion
    corners = np.array(cv.geo.to_body(*np.meshgrid([-0.6 * shape[0], 1.6 * shape[0]],
                                                   [-0.6 * shape[1], 1.6 * shape[1]],
                                                   indexing="ij"))).reshape(2, -1).T
    P, field = _landmarks(p, g, loops, corners)
    s, empt, rest_f, peak_f = _strain(p, n)
    dt = p["frame_interval_s"]
    breath = mo["breath_mm"] * np.sin(2 * np.pi * np.arange(n) * dt / mo["breath_period_s"]
                                      + rng.uniform(0, 2 * np.pi))
    jit = np.cumsum(rng.normal(0, 1, (n, 3)), axis=0)
    jit -= jit.mean(0)
    jit /= np.abs(jit).max(0) + 1e-9
    jit *= [mo["jitter_mm"] / dr, mo["jitter_mm"] / dc, np.radians(0.5 * mo["jitter_mm"])]
    step = 8
    rc, cc = np.mgrid[0:shape[0] + step:step, 0:shape[1] + step:step].astype(float)
    ub, vb = cv.geo.to_body(rc, cc)
    coarse = np.c_[ub.ravel(), vb.ravel()]
    Ar = _interp_index(shape[0], rc.shape[0], step)
    Ac = _interp_index(shape[1], rc.shape[1], step)
    sl = (slice(pads[0], pads[0] + H), slice(pads[1], pads[1] + W))
    comps_used = np.ascontiguousarray(comps[used])
    if im["contrast"] in ("t2_tse", "t2_single_shot") or im["partial_fourier"] < 1:
        fsel = [fat_bin if b == len(T2_BINS) else b for b in used]
        fu = filt[fsel].astype(np.complex64)
        filt_used = fu[:, :, None] if pax == 0 else fu[:, None, :]
    else:
        filt_used = None
    frames = np.zeros((n, H, W), np.float32)
    labels = np.zeros((n, H, W), np.uint8)
    cs = im["chemical_shift_px"]
    fax = 1 - pax
    sigma0 = None
    desc = []
    for t in range(n):
        D = field(s[t], empt[t], breath[t])
        model = _tps_fit(P + D, P)
        src = _tps_eval(model, coarse)
        sr, sc = cv.geo.to_pix(src[:, 0], src[:, 1])
        sr = _upsample(sr.reshape(rc.shape).astype(np.float32), Ar, Ac)
        sc = _upsample(sc.reshape(rc.shape).astype(np.float32), Ar, Ac)
        cr, cc0 = shape[0] / 2, shape[1] / 2
        th = jit[t, 2]
        yr, xc = sr - cr, sc - cc0
        sr = cr + np.cos(th) * yr - np.sin(th) * xc + jit[t, 0]
        sc = cc0 + np.sin(th) * yr + np.cos(th) * xc + jit[t, 1]
        coords = np.array([sr, sc], np.float32)
        lab = ndimage.map_coordinates(lab0, coords[:, sl[0], sl[1]], order=0, mode="nearest")
        labels[t] = _finish_labels(lab.astype(np.uint8))
        if t == 0 or t == peak_f:
            bl = np.argwhere(labels[t] == 1)
            desc.append(float(bl[:, 0].mean() * dr) if len(bl) else 0.0)
        water_w = _bilinear(comps_used[:-1], coords[0], coords[1])
        cf = coords.copy()
        cf[fax] -= cs
        img = np.concatenate([water_w, _bilinear(comps_used[-1:], cf[0], cf[1])]) * bias
        if pad:  # fold-over along the phase axis
            img = np.moveaxis(img, pax + 1, 1)
            core = img[:, pad:pad + n_ph].copy()
            core[:, :pad] += img[:, pad + n_ph:]
            core[:, n_ph - pad:] += img[:, :pad]
            img = np.moveaxis(core, 1, pax + 1)
        if filt_used is None:
            img = img.sum(0).astype(np.complex64)
        else:
            ks = sfft.fft(img, axis=pax + 1) * filt_used
            img = sfft.ifft(ks.sum(0), axis=pax)
        if im["residual_alias"] > 0:
            img = img + im["residual_alias"] * np.roll(img, n_ph // im["acceleration"], axis=pax)
        if sigma0 is None:
            mag = np.abs(img)
            ref = np.percentile(mag[labels[t] > 0], 75) if np.any(labels[t]) else mag.max()
            sigma0 = ref / p["snr"]
            sg = (sigma0 * gmap).astype(np.float32)
        nz = rng.standard_normal((2, H, W), dtype=np.float32)
        noisy = np.hypot(img.real + sg * nz[0], img.imag + sg * nz[1])
        frames[t] = noisy
    frames *= p["max_intensity"] / max(float(frames.max()), 1e-9)
    frames = np.nan_to_num(np.maximum(frames, 0)).astype(np.float32)
    p["rest_frame"], p["peak_frame"] = int(rest_f), int(peak_f)
    mo["strain"] = [round(float(x), 4) for x in s]
    mo["bladder_centroid_descent_mm"] = round(desc[1] - desc[0], 2) if len(desc) == 2 else 0.0
    bn_d = mo["descent_mm"] * _unit((0.35, 1.0)) + a["pathology_mm"].get("cystocele", 0.0) * \
        np.array([0.1, 0.6])
    mo["bladder_neck_descent_mm"] = round(float(np.linalg.norm(bn_d)), 2)
    p["n_bowel_loops_drawn"] = len(loops)
    p["labels"] = dict(LABELS)
    p["generator"] = PREFIX
    p.pop("tissue_var")
    im["n_phase"] = int(n_ph)
    return frames, labels, (float(dr), float(dc)), p


# ----------------------------------------------------------------------------- CLI
def _write_case(seed: int, out: str) -> str:
    from core.io.dicom_write import write_dicom_series
    from core.series import CineSeries

    frames, labels, spacing, params = generate(seed)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    n = frames.shape[0]
    dt = params["frame_interval_s"]
    contrast = params["imaging"]["contrast"]
    series = CineSeries(frames=frames, spacing_mm=spacing, times_s=np.arange(n) * dt,
                        meta={"series_description": f"metaball sag dynamic ({contrast})",
                              "subject_id": f"METABALL{seed:03d}"})
    write_dicom_series(series, case / "series", seed=seed, patient_id=f"METABALL{seed:03d}",
                       patient_name=f"METABALL^{seed:03d}",
                       slice_thickness_mm=float(params["imaging"]["slice_thickness_mm"]))
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    a = params["anatomy"]
    return (f"{case.name}: {n}x{frames.shape[1]}x{frames.shape[2]} {contrast} "
            f"uterus={a['uterus']} rectum={a['rectal_content']} "
            f"pathology={','.join(a['pathology']) or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="100-147", help='e.g. "100-147" or "1,5"')
    parser.add_argument("--out", default="metaball_cases", help="output folder")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for line in map_jobs(functools.partial(_write_case, out=args.out), seeds, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
