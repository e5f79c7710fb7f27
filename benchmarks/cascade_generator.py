"""Cascade: labelled synthetic cine mid-sagittal female pelvic MRI from a finite-element
model.

An independent judge generator.  Each case is built in three stages, a cascade:

1. **Atlas of polygons.**  A random parametric atlas in a pelvic frame (``a`` mm towards
   posterior, ``s`` mm towards the feet, origin at the inferior margin of the pubic
   symphysis) gives polygons for the body outline (subcutaneous and intra-abdominal fat of
   a slim to obese habitus), abdominal wall, paraspinal muscle, lumbar vertebrae and
   discs, spinal canal, sacrum and coccyx, pubic symphysis, aorta, small-bowel loops,
   sigmoid, levator plate, puborectalis, perineal body, external sphincter, urethra,
   bladder (wall and urine), vagina, cervix, uterine body with junctional zone,
   endometrium and fibroids (or no uterus after hysterectomy), rectum and anal canal.
   Polygons are made of tubes swept along Chaikin-smoothed centrelines and of smoothed
   control polygons, placed in the scanner frame with per-case scale, tilt and offset,
   and painted by priority into a fine tissue raster by an even-odd scanline fill.
2. **Quasi-static linear elasticity.**  The field of view is meshed with triangles
   (``scipy.spatial.Delaunay`` of a jittered grid plus points on the organ outlines),
   each triangle takes the tissue under its centroid and that tissue's Young's modulus
   and Poisson ratio (plane strain; pelvic-floor muscles and connective tissue scaled by a
   per-case support stiffness), bone and the box edge are fixed (Dirichlet).  Three load
   cases are solved once with one sparse LU factorisation: intra-abdominal pressure (body
   force down and slightly back in the abdominopelvic cavity, the abdominal wall pushed
   forward, extra loads for cystocele, uterine / vault prolapse, rectocele and
   enterocele), levator contraction (puborectalis pulled towards the pubis, plate lifted)
   and evacuation (volumetric eigenstrain emptying the rectum, anal canal opening,
   puborectalis relaxing).  Each frame mixes them with manoeuvre curves (rest, Valsalva,
   squeeze, cough, evacuation, squeeze-then-Valsalva) plus breathing; frames whose
   triangles would fold are scaled back.  A frame is drawn by pulling every pixel back
   through the deformed mesh (piecewise-linear barycentric map) into the rest rasters.
3. **Acquisition.**  Water and fat signals per tissue from proton density, T1, T2 (and
   an ADC for the diffusion-like EPI) for one of six sequences (single-shot T2, fat-sat
   T2, bSSFP, T1 gradient echo in phase or opposed phase - the latter computed after
   partial-volume mixing, so fat-water edges turn dark -, low-SNR EPI with geometric
   distortion along the phase direction), textures (stool, bowel content, fat septa,
   marrow), through-slice partial volume, surface-coil sensitivity, then per frame in
   k-space: keyhole view sharing with the previous frame, truncation and partial Fourier
   (Gibbs ringing, blur), respiratory or Nyquist ghosts, an occasional spike, complex
   Gaussian noise (Rician magnitude, SNR 5-40), an occasional signal dip in one frame and
   an arbitrary global intensity scale.

Image conventions: rows run head (row 0) to feet, column 0 is anterior, the last column
posterior.

Label conventions (one uint8 label image per frame, no overlaps):

* 1 ``bladder``: bladder wall and urine; the urethra is not labelled.
* 2 ``uterus_vagina``: uterine body (myometrium, junctional zone, endometrium, any
  fibroids), cervix with its canal, vagina from the introitus to the fornix; after
  hysterectomy the vagina up to its vault.
* 3 ``rectum``: the anal canal from the anal verge (mucosa and internal sphincter; the
  external sphincter ring is not labelled) and the rectum, wall and content (stool, gas
  or gel), up to the rectosigmoid junction, which this generator puts where the bowel
  centreline crosses the level 45 % of the way from the sacral promontory down to the
  coccygeal tip (about S3), cut square to the centreline.  The sigmoid above is bowel
  (unlabelled).

Each label present is made one connected piece (the largest component is kept).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import splu
from scipy.spatial import Delaunay, cKDTree

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

PREFIX = "cascade"
LABELS = {"bladder": 1, "uterus_vagina": 2, "rectum": 3}

# --------------------------------------------------------------------------- tissues
(AIR, FAT, MUSCLE, SKIN, CORTEX, MARROW, DISC, CSF, URINE, BWALL, MYO, ENDO, JZ, FIBROID,
 CERVIX, MUCUS, VWALL, URETHRA, RWALL, RCONTENT, BOWWALL, BOWCONT, BOWGAS, VESSEL, CONNECT,
 SPHINCTER, LEVATOR, ANALMUC) = range(28)
N_TISSUE = 28
BONY = (CORTEX, MARROW, DISC, CSF)

# pd, T1 ms, T2 ms, fat fraction, ADC (1e-3 mm2/s), Young's modulus (rel.), Poisson ratio
_PROPS = {
    AIR: (0.0, 1000, 1, 0.0, 0.0, 0.004, 0.05),
    FAT: (1.0, 260, 80, 0.92, 0.2, 1.0, 0.45),
    MUSCLE: (0.75, 900, 40, 0.03, 1.4, 3.0, 0.45),
    SKIN: (0.7, 800, 45, 0.1, 1.0, 4.0, 0.45),
    CORTEX: (0.04, 1000, 10, 0.0, 0.2, 50.0, 0.3),
    MARROW: (0.9, 500, 60, 0.55, 0.4, 50.0, 0.3),
    DISC: (0.85, 1100, 110, 0.0, 1.6, 50.0, 0.3),
    CSF: (1.0, 3500, 1800, 0.0, 3.0, 50.0, 0.3),
    URINE: (1.0, 3200, 1600, 0.0, 3.0, 0.6, 0.45),
    BWALL: (0.75, 900, 48, 0.0, 1.3, 1.5, 0.45),
    MYO: (0.85, 1100, 105, 0.0, 1.6, 5.0, 0.45),
    ENDO: (0.9, 1200, 160, 0.0, 1.2, 3.0, 0.45),
    JZ: (0.75, 1000, 55, 0.0, 1.2, 5.0, 0.45),
    FIBROID: (0.7, 900, 42, 0.0, 1.0, 8.0, 0.45),
    CERVIX: (0.75, 1000, 55, 0.0, 1.3, 6.0, 0.45),
    MUCUS: (0.95, 2000, 350, 0.0, 2.2, 2.0, 0.45),
    VWALL: (0.8, 1000, 70, 0.0, 1.4, 1.5, 0.45),
    URETHRA: (0.78, 1000, 65, 0.0, 1.4, 2.0, 0.45),
    RWALL: (0.78, 950, 60, 0.02, 1.3, 1.2, 0.45),
    RCONTENT: (0.8, 1000, 80, 0.0, 1.2, 0.8, 0.45),
    BOWWALL: (0.8, 950, 65, 0.0, 1.3, 0.8, 0.45),
    BOWCONT: (0.95, 2500, 700, 0.0, 2.5, 0.5, 0.45),
    BOWGAS: (0.0, 1000, 1, 0.0, 0.0, 0.3, 0.3),
    VESSEL: (1.0, 1400, 250, 0.0, 2.0, 1.5, 0.45),
    CONNECT: (0.6, 900, 35, 0.05, 1.0, 2.5, 0.45),
    SPHINCTER: (0.75, 900, 42, 0.0, 1.3, 3.0, 0.45),
    LEVATOR: (0.75, 900, 38, 0.0, 1.3, 4.0, 0.45),
    ANALMUC: (0.85, 1000, 90, 0.0, 1.3, 1.5, 0.45),
}
_RECTAL_CONTENT = {  # pd, T1, T2, E
    "empty": (0.8, 1000, 80, 1.2),
    "stool": (0.6, 700, 95, 0.8),
    "gas": (0.0, 1000, 1, 0.3),
    "gel_bright": (1.0, 3000, 1400, 0.5),
    "gel_dark": (0.12, 700, 18, 0.5),
}
SEQUENCES = ("t2_ssfse", "t2_fs", "bssfp", "t1_gre_in", "t1_gre_opp", "epi_dwi")
MANOEUVRES = ("rest", "valsalva", "squeeze", "cough", "evacuation", "squeeze_valsalva")
UTERUS_STATES = ("anteverted_anteflexed", "anteverted", "midposition", "retroverted",
                 "retroflexed", "fibroid_enlarged", "atrophic", "hysterectomy")


def _r(x, nd=3):
    return round(float(x), nd)


# --------------------------------------------------------------------------- geometry
def _chaikin(pts, n=3, closed=False):
    p = np.asarray(pts, float)
    for _ in range(n):
        q = p if not closed else np.vstack([p, p[:1]])
        a, b = q[:-1], q[1:]
        new = np.empty((2 * len(a), 2))
        new[0::2] = 0.75 * a + 0.25 * b
        new[1::2] = 0.25 * a + 0.75 * b
        p = new if closed else np.vstack([q[:1], new, q[-1:]])
    return p


def _resample(pts, step):
    p = np.asarray(pts, float)
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(math.ceil(s[-1] / step)) + 1)
    t = np.linspace(0, s[-1], n)
    return np.column_stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])]), t


def _tube(center, profile, cap0=True, cap1=True, step=1.5):
    """Polygon swept along a smoothed centreline; ``profile`` = half-widths at evenly
    spaced fractions of the arc length (clamped below the radius of curvature)."""
    c, t = _resample(_chaikin(center, 3), step)
    frac = t / max(t[-1], 1e-6)
    prof = np.asarray(profile, float)
    hw = np.interp(frac, np.linspace(0, 1, len(prof)), prof)
    d1 = np.gradient(c, axis=0)
    d2 = np.gradient(d1, axis=0)
    sp = np.linalg.norm(d1, axis=1) + 1e-9
    kappa = np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / sp**3
    kappa = ndimage.maximum_filter1d(kappa, 9)
    hw = np.minimum(hw, 0.92 / np.maximum(kappa, 1e-6))
    tan = d1 / sp[:, None]
    nrm = np.column_stack([-tan[:, 1], tan[:, 0]])
    left, right = c + nrm * hw[:, None], c - nrm * hw[:, None]
    parts = [left]
    if cap1:
        ang0 = math.atan2(nrm[-1, 1], nrm[-1, 0])
        th = ang0 - np.linspace(0, math.pi, 12)[1:-1]
        parts.append(c[-1] + hw[-1] * np.column_stack([np.cos(th), np.sin(th)]))
    parts.append(right[::-1])
    if cap0:
        ang0 = math.atan2(-nrm[0, 1], -nrm[0, 0])
        th = ang0 - np.linspace(0, math.pi, 12)[1:-1]
        parts.append(c[0] + hw[0] * np.column_stack([np.cos(th), np.sin(th)]))
    return np.vstack(parts)


def _ellipse(c, ra, rb, ang_deg=0.0, n=40, wob=None):
    th = np.linspace(0, 2 * math.pi, n, endpoint=False)
    rr = np.ones(n) if wob is None else 1 + wob
    x, y = ra * rr * np.cos(th), rb * rr * np.sin(th)
    ca, sa = math.cos(math.radians(ang_deg)), math.sin(math.radians(ang_deg))
    return np.column_stack([c[0] + ca * x - sa * y, c[1] + sa * x + ca * y])


def _unit(deg):
    return np.array([math.cos(math.radians(deg)), math.sin(math.radians(deg))])


def _sacrum_curve(an):
    """Anterior surface of sacrum + coccyx (promontory -> tip), pelvic frame."""
    p = np.array(an["promontory"])
    c = np.array(an["coccyx_tip"])
    bulge = an["sacral_bulge_mm"]
    ctrl = [p, p + (24, 16), (p[0] + 36 + bulge, p[1] + 40), (p[0] + 37 + bulge, 0.35 * p[1]),
            (c[0] + 16, c[1] - 12), c]
    return _chaikin(ctrl, 3)


def _sacrum_a(curve, s):
    """Anterior sacral surface a at level s (clamped to its range)."""
    order = np.argsort(curve[:, 1])
    return float(np.interp(s, curve[order, 1], curve[order, 0]))


def _landmarks(an):
    """Derived centrelines of the pelvic organs in the pelvic frame."""
    sac = _sacrum_curve(an)
    P = np.array(an["promontory"])
    C = np.array(an["coccyx_tip"])
    J = np.array(an["arj"])
    A = np.array(an["anal_verge"])
    th_a = math.degrees(math.atan2(*(A - J)[::-1]))
    d_r = _unit(th_a - an["anorectal_angle_deg"])
    rhw = an["rectal_halfwidth_mm"]
    R1 = J + 20 * d_r
    off = an["presacral_mm"] + rhw
    s_cut = P[1] + 0.45 * (C[1] - P[1])
    pts = [A, J, R1]
    for s in (R1[1] - 22, s_cut + 8, s_cut):
        pts.append((_sacrum_a(sac, s) - off, s))
    pts.append((_sacrum_a(sac, s_cut - 14) - an["presacral_mm"] - 12, s_cut - 14))
    pts = np.array(pts, float)
    pts[3:, 0] = np.maximum(pts[3:, 0], pts[2, 0])
    sig = [pts[-2], pts[-1], pts[-1] + (-18, -20), pts[-1] + (-45, -28), pts[-1] + (-62, -18)]
    vag = np.array([an["introitus"], np.array(an["introitus"]) + (6, -24),
                    np.array(an["introitus"]) + (18, -48), an["vault"]], float)
    return {"sacrum": sac, "rectum": pts, "n_canal": 2, "s_cut": s_cut, "sigmoid": np.array(sig),
            "vagina": vag}


def _uterus_axes(an, lm):
    V = np.array(an["vault"])
    dc = _unit(an["cervix_angle_deg"])
    O = V + an["cervix_length_mm"] * dc
    db = _unit(an["body_angle_deg"])
    F = O + an["uterus_length_mm"] * db
    return V, O, F


# --------------------------------------------------------------------------- params
def draw_params(seed: int) -> dict:
    """Random parameters of one case (JSON-serialisable)."""
    rng = np.random.default_rng([int(seed), 0xCA5C])
    u = rng.uniform

    h = int(rng.choice([224, 240, 256, 256, 272, 288]))
    w = int(rng.choice([224, 240, 256, 256, 272, 288]))
    fov_target = u(290, 390)
    dr = float(np.clip(fov_target / h, 1.1, 1.5))
    dc = float(np.clip(dr * u(0.93, 1.07), 1.1, 1.5))
    n_frames = int(rng.integers(16, 41))
    dt = u(0.8, 2.0)

    # habitus
    bmi = u(0, 1) ** 1.3
    hab = {"bmi_index": _r(bmi), "subcut_ant_mm": _r(8 + 85 * bmi * u(0.6, 1.2)),
           "visceral_mm": _r(5 + 55 * bmi * u(0.5, 1.3)),
           "subcut_post_mm": _r(6 + 55 * bmi * u(0.5, 1.2)),
           "belly_mm": _r(35 * bmi * u(0, 1)), "wall_mm": _r(u(5, 10))}
    k = u(0.9, 1.1)
    P = [_r(80 + u(-8, 8)), _r(-104 + u(-10, 8))]
    C = [_r(88 + u(-8, 8)), _r(-12 + u(-12, 10))]
    J = [_r(52 + u(-6, 6)), _r(6 + u(-6, 6))]
    A = [_r(J[0] + 14 + u(-4, 6)), _r(J[1] + 38 + u(-4, 6))]
    I0 = [_r(22 + u(-4, 4)), _r(44 + u(-3, 4))]
    vault = [_r(56 + u(-6, 6)), _r(-28 + u(-8, 8))]
    state = str(rng.choice(UTERUS_STATES, p=[0.26, 0.16, 0.1, 0.12, 0.08, 0.1, 0.1, 0.08]))
    fill = float(u(0, 1) ** 0.8)
    content = str(rng.choice(list(_RECTAL_CONTENT), p=[0.3, 0.3, 0.12, 0.18, 0.1]))
    rhw = {"empty": u(8, 11), "stool": u(15, 23), "gas": u(12, 20), "gel_bright": u(17, 24),
           "gel_dark": u(16, 23)}[content]
    an = {
        "scale": _r(k), "habitus": hab, "promontory": P, "coccyx_tip": C,
        "sacral_bulge_mm": _r(u(-4, 6)), "arj": J, "anal_verge": A, "introitus": I0,
        "vault": vault, "bladder_fill": _r(fill), "bladder_neck": [_r(20 + u(-4, 4)),
                                                                  _r(-10 + u(-6, 5))],
        "uterus_state": state, "rectal_content": content, "rectal_halfwidth_mm": _r(rhw),
        "anorectal_angle_deg": _r(u(85, 112)), "presacral_mm": _r(4 + 12 * bmi + u(0, 6)),
        "vagina_halfwidth_mm": _r(u(5.5, 7.5)), "symphysis_tilt_deg": _r(u(-8, 8)),
        "symphysis_length_mm": _r(u(34, 44)),
        "pelvic_floor_stiffness": _r(u(0.25, 1.5)),
        "prolapse": {"cystocele": _r(max(0.0, u(-0.6, 1))), "uterine": _r(max(0.0, u(-0.7, 1))),
                     "rectocele": _r(max(0.0, u(-0.5, 1))),
                     "enterocele": _r(max(0.0, u(-0.8, 1)))},
        "n_bowel_loops_density": _r(u(0.35, 0.7)),
    }
    # uterus
    phi_v = math.degrees(math.atan2(vault[1] - (I0[1] - 48), vault[0] - (I0[0] + 18)))
    length, width, clen, endo = u(55, 78), u(17, 24), u(24, 34), u(2, 7)
    fibroids = []
    if state == "anteverted_anteflexed":
        phc = phi_v - u(55, 85) + 25 * fill
        phb = phc - u(10, 40)
    elif state == "anteverted":
        phc = phi_v - u(40, 65) + 20 * fill
        phb = phc - u(-5, 12)
    elif state == "midposition":
        phc = phi_v - u(12, 30)
        phb = phc - u(-10, 10)
    elif state == "retroverted":
        phc = phi_v + u(-8, 12)
        phb = phc - u(5, 25)
    elif state == "retroflexed":
        phc = phi_v + u(-5, 10)
        phb = phc + u(15, 40)
        length *= 0.85
    elif state == "fibroid_enlarged":
        phc = phi_v - u(30, 70)
        phb = phc - u(-10, 20)
        length, width = u(75, 105), u(24, 34)
        for _ in range(int(rng.integers(1, 5))):
            fibroids.append([_r(u(0.3, 0.92)), _r(u(-1.1, 1.1)), _r(u(6, 24)),
                             int(rng.random() < 0.2)])
    elif state == "atrophic":
        phc = phi_v - u(20, 60)
        phb = phc - u(-5, 15)
        length, width, clen, endo = u(35, 50), u(10, 15), u(18, 26), u(0.8, 2)
    else:
        phc, phb = phi_v - 40, phi_v - 40
        length = width = clen = endo = 0.0
    if state != "hysterectomy":
        lm = _landmarks(an)
        sac = lm["sacrum"]
        for _ in range(40):  # keep the fundus inside the pelvic cavity
            Vv = np.array(vault)
            O = Vv + clen * _unit(phc)
            F = O + length * _unit(phb)
            wall_a = -8 + 4 * float(np.clip((-36 - F[1]) / 50, 0, 1))
            back = _sacrum_a(sac, F[1]) - 28 - width
            if F[0] - width < wall_a:
                phb += 4
            elif F[0] > back and F[1] > P[1] - 40:
                phb -= 4
            elif O[0] > _sacrum_a(sac, O[1]) - 40:
                phc -= 4
            else:
                break
    an.update({"cervix_angle_deg": _r(phc), "body_angle_deg": _r(phb),
               "uterus_length_mm": _r(length), "uterus_halfwidth_mm": _r(width),
               "cervix_length_mm": _r(clen), "endometrium_mm": _r(endo), "fibroids": fibroids})

    seq = str(rng.choice(SEQUENCES, p=[0.34, 0.12, 0.3, 0.08, 0.06, 0.1]))
    snr = u(5, 12) if seq == "epi_dwi" else float(np.exp(u(math.log(8), math.log(40))))
    imaging = {
        "sequence": seq, "slice_thickness_mm": _r(u(4, 10)), "snr": _r(snr),
        "te_ms": _r({"t2_ssfse": u(80, 110), "t2_fs": u(75, 100), "bssfp": u(1.4, 2.2),
                     "t1_gre_in": 4.6, "t1_gre_opp": 2.3, "epi_dwi": u(55, 80)}[seq]),
        "tr_ms": _r({"t2_ssfse": u(4000, 9000), "t2_fs": u(4000, 9000), "bssfp": u(3, 4.5),
                     "t1_gre_in": u(90, 180), "t1_gre_opp": u(90, 180),
                     "epi_dwi": u(2000, 4000)}[seq]),
        "flip_deg": _r(u(45, 75) if seq == "bssfp" else u(60, 80)),
        "b_value": _r(u(50, 500)), "fat_residual": _r(u(0.03, 0.15)),
        "phase_dir": str(rng.choice(["AP", "HF"], p=[0.65, 0.35])),
        "phase_fraction": _r(u(0.55, 1.0)), "readout_fraction": _r(u(0.8, 1.0)),
        "partial_fourier": _r(float(rng.choice([1.0, 1.0, 0.75, 0.625]))),
        "view_sharing": _r(u(0.2, 0.5) if rng.random() < 0.4 else 0.0),
        "distortion_mm": _r(u(2, 8) if seq == "epi_dwi" else 0.0),
        "coil": {"ant_gain": _r(u(0.3, 1.0)), "post_gain": _r(u(0.3, 1.0)),
                 "length_mm": _r(u(70, 220)), "row_frac": _r(u(0.3, 0.8))},
        "ghost": _r(u(0.05, 0.35) if rng.random() < 0.3 else 0.0),
        "nyquist_ghost": _r(u(0.05, 0.2) if seq == "epi_dwi" else 0.0),
        "spike_frame": int(rng.integers(0, n_frames)) if rng.random() < 0.1 else -1,
        "dip_frame": int(rng.integers(1, n_frames)) if rng.random() < 0.1 else -1,
        "intensity_scale": _r(10 ** u(-0.5, 3.3), 5),
    }
    man = str(rng.choice(MANOEUVRES, p=[0.08, 0.36, 0.16, 0.1, 0.18, 0.12]))
    total = n_frames * dt
    motion = {
        "manoeuvre": man, "onset_s": _r(u(0.05, 0.25) * total), "ramp_s": _r(u(1.5, 5)),
        "hold_s": _r(u(0.25, 0.6) * total), "release": bool(rng.random() < 0.5),
        "descent_mm": _r(u(10, 30) + 25 * (1.5 - an["pelvic_floor_stiffness"]) * u(0.3, 1)),
        "lift_mm": _r(u(5, 14)), "evac_mm": _r(u(8, 20)), "breath_mm": _r(u(0.5, 2.5)),
        "breath_period_s": _r(u(3.5, 6)), "breath_phase": _r(u(0, 2 * math.pi)),
        "cough_times_s": sorted(_r(u(0.15, 0.9) * total) for _ in range(int(rng.integers(1, 4)))),
    }
    return {
        "generator": PREFIX, "seed": int(seed), "matrix": [h, w], "spacing_mm": [_r(dr, 4),
                                                                                _r(dc, 4)],
        "n_frames": n_frames, "frame_interval_s": _r(dt),
        "placement": {"tilt_deg": _r(u(-12, 12)), "anchor_row_frac": _r(u(0.64, 0.74)),
                      "anchor_col_frac": _r(u(0.26, 0.38) + 0.0008 * hab["subcut_ant_mm"])},
        "imaging": imaging, "anatomy": an, "motion": motion,
    }


# --------------------------------------------------------------------------- atlas
class _Canvas:
    """Fine rest rasters (tissue, label, content brightness) in scanner mm."""

    def __init__(self, fov_h, fov_w, res, margin, to_scanner):
        self.res, self.m = res, margin
        self.y0 = self.x0 = -margin
        self.ny = int(math.ceil((fov_h + 2 * margin) / res))
        self.nx = int(math.ceil((fov_w + 2 * margin) / res))
        self.T = np.zeros((self.ny, self.nx), np.uint8)
        self.L = np.zeros((self.ny, self.nx), np.uint8)
        self.B = np.ones((self.ny, self.nx), np.float32)
        self.to = to_scanner
        self.outlines = []

    def mask(self, poly):
        xy = self.to(np.asarray(poly, float))
        u = (xy[:, 0] - self.x0) / self.res - 0.5
        v = (xy[:, 1] - self.y0) / self.res - 0.5
        u1, v1, u2, v2 = u, v, np.roll(u, -1), np.roll(v, -1)
        out = np.zeros((self.ny, self.nx), bool)
        r0 = max(0, int(math.ceil(v.min())))
        r1 = min(self.ny - 1, int(math.floor(v.max())))
        if r1 < r0:
            return out
        rows = np.arange(r0, r1 + 1)[:, None]
        hit = ((v1 <= rows) & (rows < v2)) | ((v2 <= rows) & (rows < v1))
        ri, ei = np.nonzero(hit)
        vv = rows[ri, 0]
        x = u1[ei] + (vv - v1[ei]) * (u2[ei] - u1[ei]) / (v2[ei] - v1[ei])
        col = np.clip(np.ceil(x), 0, self.nx).astype(int)
        acc = np.zeros((r1 - r0 + 1, self.nx + 1), np.int32)
        np.add.at(acc, (ri, col), 1)
        out[r0:r1 + 1] = (np.cumsum(acc, axis=1)[:, :-1] % 2).astype(bool)
        return out

    def paint(self, poly, tissue, label=0, where=None, outline=False, bright=None):
        m = self.mask(poly)
        if where is not None:
            m &= where
        self.T[m] = tissue
        self.L[m] = label
        if bright is not None:
            self.B[m] = bright
        if outline:
            self.outlines.append(self.to(np.asarray(poly, float)))
        return m


def _build_atlas(params, cv: _Canvas, rng):
    an = params["anatomy"]
    hab = an["habitus"]
    lm = _landmarks(an)
    sac = lm["sacrum"]
    P = np.array(an["promontory"])
    C = np.array(an["coccyx_tip"])
    J = np.array(an["arj"])
    A = np.array(an["anal_verge"])
    I0 = np.array(an["introitus"])
    Fa, Vf, Fp = hab["subcut_ant_mm"], hab["visceral_mm"], hab["subcut_post_mm"]
    tw, belly = hab["wall_mm"], hab["belly_mm"]
    top = -520.0

    def a_wall(s):  # posterior surface of the anterior abdominal wall
        g = np.clip((-36 - np.asarray(s)) / 50, 0, 1)
        g2 = np.clip((-60 - np.asarray(s)) / 90, 0, 1)
        return -14 - (Vf + 6) * g - belly * 0.3 * g2

    # spine above the promontory: bodies as quadrilaterals stacked along a lordotic axis
    ang = -100.0 + rng.uniform(-6, 6)
    base = P + (4, -2)
    bodies, discs = [], []
    depth = 38 * rng.uniform(0.92, 1.08)
    for _lev in range(5):
        ax = _unit(ang)
        nx_ = np.array([-ax[1], ax[0]])
        if nx_[0] < 0:
            nx_ = -nx_
        d0, d1 = base, base + 10 * ax
        discs.append(np.array([d0, d1, d1 + depth * nx_, d0 + depth * nx_]))
        b0, b1 = d1, d1 + 27 * ax
        bodies.append(np.array([b0, b1, b1 + depth * nx_, b0 + depth * nx_]))
        base = b1
        ang -= 7 + rng.uniform(-2, 2)
    spine_front = np.array([q[0] for q in bodies] + [bodies[-1][1]])
    spine_back = np.array([q[3] for q in bodies] + [bodies[-1][2]])
    sac_post_thick = np.interp(np.linspace(0, 1, len(sac)), [0, 0.6, 0.85, 1], [34, 22, 12, 8])
    t = np.gradient(sac, axis=0)
    t /= np.linalg.norm(t, axis=1)[:, None]
    nrm = np.column_stack([t[:, 1], -t[:, 0]])
    nrm *= np.sign(nrm[:, 0:1] + 1e-9)
    sac_back = sac + nrm * sac_post_thick[:, None]

    # body outline
    ant = [(float(a_wall(s)) - tw - Fa - belly * float(np.clip((-40 - s) / 120, 0, 1)), s)
           for s in np.linspace(top, -40, 18)]
    mons = Fa * 0.7 + 6
    low = [(-30 - mons, -14), (-22 - 0.5 * mons, 10), (-6 - 0.15 * mons, 30), (6, 43),
           (I0[0], I0[1] + 2), (I0[0] + 12, I0[1] + 5), (0.5 * (I0[0] + A[0]), A[1] + 4),
           (A[0], A[1] + 2), (A[0] + 14, A[1] - 4),
           (C[0] + 20 + 0.4 * Fp, C[1] + 22)]
    wfr = np.interp(np.linspace(0, 1, len(sac_back)), [0, 0.45, 1], [1, 0, 0])
    sb = sac_back + np.column_stack([7 + Fp + 40 * wfr, np.zeros(len(wfr))])
    back = [tuple(q) for q in sb[::-1][::4]]
    lumbar = [(spine_back[i][0] + 60 + Fp, spine_back[i][1]) for i in range(1, len(spine_back))]
    body = np.array(ant + low + back + lumbar + [(lumbar[-1][0], top)], float)
    body_poly = _chaikin(body, 2, closed=True)
    body_m = cv.paint(body_poly, FAT, outline=True)
    er = max(1, int(round(2.2 / cv.res)))
    skin = body_m & ~ndimage.binary_erosion(body_m, iterations=er)
    cv.T[skin] = SKIN

    # muscles: abdominal wall, paraspinal, posterior sacral layer
    ss = np.linspace(top, -34, 30)
    wall = np.array([(float(a_wall(s)), s) for s in ss] +
                    [(float(a_wall(s)) - tw, s) for s in ss[::-1]])
    cv.paint(wall, MUSCLE, where=body_m)
    para = np.vstack([spine_back + (14, 0), (spine_back + (62, 0))[::-1]])
    para = np.vstack([para, [(spine_back[-1][0] + 62, top), (spine_back[-1][0] + 14, top)]])
    cv.paint(_chaikin(para, 1, closed=True), MUSCLE, where=body_m)
    cv.paint(np.vstack([sac_back, (sac_back + (6, 0))[::-1]]), MUSCLE, where=body_m)

    # bowel loops in the peritoneal cavity
    bl_bottom = min(an["bladder_neck"][1] - 20 - 75 * an["bladder_fill"], -45)
    wall_s = np.linspace(top, bl_bottom, 40)
    region = np.array([(float(a_wall(s_)) + 3 + 0.25 * Vf, s_) for s_ in wall_s] + [
                       (30, bl_bottom),
                       (an["vault"][0], an["vault"][1] - 10 - 30 * an["prolapse"]["enterocele"]),
                       (_sacrum_a(sac, -45) - 30, -45), (P[0] - 6, P[1]),
                       (spine_front[-1][0] - 14, top)])
    reg_m = cv.mask(region) & body_m
    idx = np.flatnonzero(reg_m)
    area = idx.size * cv.res**2
    n_loops = int(area / (math.pi * 13**2) * an["n_bowel_loops_density"] * 3.0)
    if idx.size:
        for k in rng.choice(idx, size=min(n_loops, 400)):
            yy, xx = divmod(int(k), cv.nx)
            cen_s = np.array([cv.x0 + (xx + 0.5) * cv.res, cv.y0 + (yy + 0.5) * cv.res])
            cen = cv.to_inv(cen_s)
            ra, rb = rng.uniform(8, 18), rng.uniform(7, 15)
            an_ = rng.uniform(0, 180)
            wob = 0.08 * np.sin(np.linspace(0, 2 * math.pi, 40, endpoint=False) * 3
                                + rng.uniform(0, 6))
            cv.paint(_ellipse(cen, ra, rb, an_, wob=wob), BOWWALL, where=reg_m)
            kind = rng.random()
            inner = _ellipse(cen, ra - 2.5, rb - 2.5, an_, wob=wob)
            if kind < 0.15:
                cv.paint(inner, BOWGAS, where=reg_m)
            elif kind < 0.3:
                pass  # collapsed loop
            else:
                cv.paint(inner, BOWCONT, where=reg_m, bright=rng.uniform(0.15, 1.0))

    # vessels: aorta / iliac confluence in front of the lumbar spine
    vess = spine_front[2:] + (-13, 0)
    cv.paint(_tube(np.vstack([vess, vess[-1] + (-10, -200)]), [8, 9], step=2.0), VESSEL,
             where=body_m)

    # spine
    for q in discs:
        cv.paint(q, DISC)
    for q in bodies:
        cv.paint(q, CORTEX)
        cen = q.mean(axis=0)
        cv.paint(cen + (q - cen) * 0.86, MARROW)
    canal = np.vstack([spine_back + (1, 0), (spine_back + (14, 0))[::-1]])
    canal = np.vstack([canal, [(spine_back[-1][0] + 14, top), (spine_back[-1][0] + 1, top)]])
    cv.paint(canal, CSF)
    for q in bodies:
        c = q[2:].mean(axis=0) + (32, 6)
        cv.paint(_ellipse(c, 17, 8, rng.uniform(-30, -10)), CORTEX)
        cv.paint(_ellipse(c, 14, 6, rng.uniform(-30, -10)), MARROW)
    sac_poly = np.vstack([sac, sac_back[::-1]])
    cv.paint(sac_poly, CORTEX, outline=True)
    cen = sac_poly.mean(axis=0)
    cv.paint(np.vstack([sac[:-6] + nrm[:-6] * 2.2, (sac_back[:-6] - nrm[:-6] * 2.2)[::-1]]),
             MARROW)
    for frac in (0.25, 0.45, 0.62, 0.8):  # sacral / coccygeal segment gaps
        i = int(frac * (len(sac) - 1))
        seg = np.array([sac[i] - t[i] * 1.2, sac[i] + t[i] * 1.2,
                        sac_back[i] + t[i] * 1.2, sac_back[i] - t[i] * 1.2])
        cv.paint(seg, DISC)
    cv.paint(np.vstack([sac_back[:int(0.6 * len(sac))] - nrm[:int(0.6 * len(sac))] * 9,
                        (sac_back[:int(0.6 * len(sac))] - nrm[:int(0.6 * len(sac))] * 5)[::-1]]),
             CSF)

    # symphysis
    L = an["symphysis_length_mm"]
    sd = _unit(-110 + an["symphysis_tilt_deg"])
    sym_c = [(0, 0), tuple(L * sd)]
    cv.paint(_tube(sym_c, [7.5, 8.5, 7.5]), CORTEX, outline=True)
    cv.paint(_tube(sym_c, [5.5, 6.5, 5.5]), MARROW)
    cv.paint(_tube(sym_c, [1.2, 1.6, 1.2], cap0=False, cap1=False), CONNECT)

    # pelvic floor
    pr_c = J + (11, 7)
    lev = [pr_c, 0.5 * (pr_c + C) + (2, 4), C + (-2, 5)]
    cv.paint(_tube(lev, [7, 5, 4]), LEVATOR, outline=True)
    cv.paint(_ellipse(pr_c, 11, 8, 30), LEVATOR)
    cv.paint(_ellipse(0.5 * (I0 + A) + (2, -6), 12, 10, 60), CONNECT)

    # rectum, anal canal, sigmoid
    rc = lm["rectum"]
    rhw = an["rectal_halfwidth_mm"]
    canal_prof = [7.5, 8.5]
    cv.paint(_tube(rc[:2], [14, 13]), SPHINCTER)
    cv.paint(_tube(lm["sigmoid"], [rhw * 0.55 + 4, 13, 11, 10], cap0=False), BOWWALL)
    cv.paint(_tube(lm["sigmoid"], [rhw * 0.55 + 1, 10, 8, 7], cap0=False), BOWCONT,
             bright=rng.uniform(0.2, 0.8))
    amp = [canal_prof[0], canal_prof[1], rhw * 0.75, rhw, rhw, 0.85 * rhw, 0.6 * rhw + 4,
           0.55 * rhw + 4]
    rect_poly = _tube(rc[:-1], amp[:-1], cap0=True, cap1=False)
    cv.paint(rect_poly, RWALL, 3, outline=True)
    lum = [1.5, 1.5, max(rhw * 0.75 - 3, 2), rhw - 3, rhw - 3, 0.85 * rhw - 3, 0.6 * rhw + 1]
    cv.paint(_tube(rc[1:-1], lum[1:], cap0=True, cap1=False), RCONTENT, 3)
    cv.paint(_tube(rc[:2], [1.6, 1.4]), ANALMUC, 3)

    # urethra
    N = np.array(an["bladder_neck"])
    meat = np.array([6.0, 41.0])
    cv.paint(_tube([N, 0.5 * (N + meat) + (-2, 0), meat], [5, 5, 4]), URETHRA)

    # bladder
    f = an["bladder_fill"]
    Hb, Db = 22 + 82 * f, 30 + 52 * f
    vag = lm["vagina"]
    vs = np.argsort(vag[:, 1])

    def lim(a, s):
        if s > an["vault"][1]:
            return min(a, float(np.interp(s, vag[vs, 1], vag[vs, 0])) - an["vagina_halfwidth_mm"])
        return min(a, _sacrum_a(sac, s) - 2 * rhw - 10)

    ctrl = [(0, 0), (-7, -8), (-9, -0.45 * Hb), (-5 - 0.12 * Db, -0.85 * Hb),
            (0.35 * Db, -Hb), (0.85 * Db, -0.8 * Hb), (Db, -0.4 * Hb), (0.65 * Db, -0.08 * Hb),
            (0.25 * Db, 0.06 * Hb)]
    ctrl = [(lim(N[0] + a, N[1] + s), N[1] + s) for a, s in ctrl]
    bl = _chaikin(ctrl, 3, closed=True)
    cv.paint(bl, BWALL, 1, outline=True)
    cen = bl.mean(axis=0)
    dist = np.linalg.norm(bl - cen, axis=1)
    wall_t = 4.5 - 2.0 * f
    cv.paint(cen + (bl - cen) * ((dist - wall_t) / dist)[:, None], URINE, 1)

    # vagina, cervix, uterus
    vhw = an["vagina_halfwidth_mm"]
    state = an["uterus_state"]
    V, O, F = _uterus_axes(an, lm)
    uw = an["uterus_halfwidth_mm"]
    body_c = [O, O + 0.5 * (F - O), F]
    if state != "hysterectomy":
        rim_body = _tube(body_c, [0.6 * uw + 1.5, uw + 1.5, 0.8 * uw + 1.5], cap0=False)
        cv.paint(rim_body, FAT)
    cv.paint(_tube(vag, [vhw + 1.2, vhw + 1.2, vhw + 1.2]), CONNECT)
    cv.paint(_tube(vag, [vhw, vhw, vhw * 1.05]), VWALL, 2, outline=True)
    cv.paint(_tube(vag[1:], [1.2, 1.6, 1.2]), MUCUS, 2)
    if state != "hysterectomy":
        dc = _unit(an["cervix_angle_deg"])
        cerv = [V - 6 * dc, O]
        chw = 0.55 * uw + 2
        cv.paint(_tube(cerv, [chw * 0.9, chw]), CERVIX, 2, outline=True)
        cv.paint(_tube(cerv, [1.5, 1.5]), MUCUS, 2)
        prof = [0.6 * uw, uw, 0.8 * uw]
        body_poly = _tube(body_c, prof, cap0=False)
        cv.paint(body_poly, MYO, 2, outline=True)
        for tt, off, r, deg in an["fibroids"]:
            db = _unit(an["body_angle_deg"])
            p = O + tt * (F - O) + off * uw * np.array([-db[1], db[0]])
            cv.paint(_ellipse(p, r, r * 0.9, rng.uniform(0, 180)), MUCUS if deg else FIBROID, 2)
        e = an["endometrium_mm"]
        inner = [O + 0.05 * (F - O), O + 0.5 * (F - O), O + 0.88 * (F - O)]
        if state != "atrophic":
            cv.paint(_tube(inner, [e * 0.5 + 3.5, e + 4.5, e * 0.7 + 4]), JZ, 2,
                     where=cv.T == MYO)
        cv.paint(_tube(inner, [0.4 * e, e, 0.7 * e]), ENDO, 2, where=np.isin(cv.T, (MYO, JZ)))

    # the bladder lies in front of the uterus / vagina in every row
    behind = np.maximum.accumulate(cv.L == 2, axis=1)
    drop = (cv.L == 1) & behind
    cv.T[drop], cv.L[drop] = FAT, 0
    # keep each label one connected piece
    for lab in (1, 2, 3):
        m = cv.L == lab
        cc, n = ndimage.label(m)
        if n > 1:
            sizes = np.bincount(cc.ravel())[1:]
            drop = m & (cc != 1 + int(np.argmax(sizes)))
            cv.L[drop] = 0
            cv.T[drop] = CONNECT
    return {"sacrum": sac, "body": body_m, "cavity": _cavity_mask(cv, an, lm, a_wall, spine_front,
                                                                  top)}


def _cavity_mask(cv, an, lm, a_wall, spine_front, top):
    J = np.array(an["arj"])
    C = np.array(an["coccyx_tip"])
    poly = [(float(a_wall(s_)), s_) for s_ in np.linspace(top, -36, 40)]
    poly += [(6, -30), (10, 2), (22, 14),
            J + (8, -4), C + (-4, 2)] + [tuple(p + (-3, 0)) for p in lm["sacrum"][::-1][::3]]
    poly += [tuple(p) for p in spine_front] + [(spine_front[-1][0], top)]
    return cv.mask(np.array(poly, float))


# --------------------------------------------------------------------------- mechanics
def _fe_solve(params, cv, atlas, rng, fov_h, fov_w):
    """Mesh, assemble, and solve the three unit load cases; returns nodes, tris, U."""
    an = params["anatomy"]
    h = float(np.clip(max(fov_h, fov_w) / 62, 5.0, 7.0))
    m = 24.0
    xs = np.arange(-m, fov_w + m + 1e-6, h)
    ys = np.arange(-m, fov_h + m + 1e-6, h)
    gx, gy = np.meshgrid(xs, ys)
    edge = ((gx == xs[0]) | (gx == xs[-1]) | (gy == ys[0]) | (gy == ys[-1])).ravel()
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts[~edge] += rng.uniform(-0.22 * h, 0.22 * h, (int((~edge).sum()), 2))
    bnd = []
    for poly in cv.outlines:
        q, _ = _resample(np.vstack([poly, poly[:1]]), 0.6 * h)
        bnd.append(q[:-1])
    bnd = np.vstack(bnd)
    bnd = bnd[(bnd[:, 0] > -m + 2) & (bnd[:, 0] < fov_w + m - 2) & (bnd[:, 1] > -m + 2)
              & (bnd[:, 1] < fov_h + m - 2)]
    if len(bnd):
        bnd = bnd[np.unique(np.round(bnd / (0.4 * h)).astype(int), axis=0, return_index=True)[1]]
        d, _ = cKDTree(bnd).query(pts)
        keep = edge | (d > 0.5 * h)
        fixed_edge = edge[keep]
        pts = np.vstack([pts[keep], bnd])
        edge = np.concatenate([fixed_edge, np.zeros(len(bnd), bool)])
    tri = Delaunay(pts).simplices
    x = pts[tri]  # (nt,3,2)
    area2 = ((x[:, 1, 0] - x[:, 0, 0]) * (x[:, 2, 1] - x[:, 0, 1])
             - (x[:, 2, 0] - x[:, 0, 0]) * (x[:, 1, 1] - x[:, 0, 1]))
    ok = np.abs(area2) > 1e-6
    tri, x, area2 = tri[ok], x[ok], area2[ok]
    flip = area2 < 0
    tri[flip] = tri[flip][:, [0, 2, 1]]
    x = pts[tri]
    area2 = np.abs(area2)

    def look(raster, p):
        j = np.clip(((p[:, 0] - cv.x0) / cv.res).astype(int), 0, cv.nx - 1)
        i = np.clip(((p[:, 1] - cv.y0) / cv.res).astype(int), 0, cv.ny - 1)
        return raster[i, j]

    cen = x.mean(axis=1)
    tis = look(cv.T, cen)
    lab = look(cv.L, cen)
    cav = look(atlas["cavity"], cen) & look(atlas["body"], cen)
    E = np.array([_PROPS[i][5] for i in range(N_TISSUE)])
    nu = np.array([_PROPS[i][6] for i in range(N_TISSUE)])
    E[RCONTENT] = _RECTAL_CONTENT[an["rectal_content"]][3]
    sup = an["pelvic_floor_stiffness"]
    for t_ in (LEVATOR, SPHINCTER, CONNECT):
        E[t_] *= sup
    Et, nut = E[tis], nu[tis]
    # B matrices
    b = np.stack([x[:, 1, 1] - x[:, 2, 1], x[:, 2, 1] - x[:, 0, 1], x[:, 0, 1] - x[:, 1, 1]], 1)
    c = np.stack([x[:, 2, 0] - x[:, 1, 0], x[:, 0, 0] - x[:, 2, 0], x[:, 1, 0] - x[:, 0, 0]], 1)
    nt = len(tri)
    B = np.zeros((nt, 3, 6))
    B[:, 0, 0::2] = b
    B[:, 1, 1::2] = c
    B[:, 2, 0::2] = c
    B[:, 2, 1::2] = b
    B /= area2[:, None, None]
    f0 = Et / ((1 + nut) * (1 - 2 * nut))
    D = np.zeros((nt, 3, 3))
    D[:, 0, 0] = D[:, 1, 1] = f0 * (1 - nut)
    D[:, 0, 1] = D[:, 1, 0] = f0 * nut
    D[:, 2, 2] = f0 * (1 - 2 * nut) / 2
    A = 0.5 * area2
    Ke = np.einsum("tji,tjk,tkl->til", B, D, B) * A[:, None, None]
    dof = np.stack([2 * tri, 2 * tri + 1], axis=2).reshape(nt, 6)
    rows = np.repeat(dof, 6, axis=1).ravel()
    cols = np.tile(dof, (1, 6)).ravel()
    n = len(pts)
    K = sparse.coo_matrix((Ke.ravel(), (rows, cols)), shape=(2 * n, 2 * n)).tocsc()

    bone_node = np.isin(look(cv.T, pts), BONY)
    fixed = edge | bone_node
    free_dof = np.flatnonzero(~np.repeat(fixed, 2))

    def body_force(mask, vec):
        F = np.zeros((n, 2))
        fv = np.zeros((nt, 2))
        fv[mask] = vec[mask] if np.ndim(vec) == 2 else vec
        np.add.at(F, tri.ravel(), np.repeat(fv * (A / 3)[:, None], 3, axis=0))
        return F.ravel()

    def eigen(mask, eps):  # eps (nt,3) Voigt
        fe = np.einsum("tji,tjk,tk->ti", B, D, eps) * A[:, None]
        fe[~mask] = 0
        F = np.zeros(2 * n)
        np.add.at(F, dof.ravel(), fe.ravel())
        return F

    pro = an["prolapse"]
    tilt = math.radians(params["placement"]["tilt_deg"])
    R = np.array([[math.cos(tilt), -math.sin(tilt)], [math.sin(tilt), math.cos(tilt)]])
    down, post = R @ np.array([0.0, 1.0]), R @ np.array([1.0, 0.0])
    # pressure
    vec = np.tile(down + 0.15 * post, (nt, 1))
    mult = np.ones(nt)
    mult[lab == 1] += 2.5 * pro["cystocele"]
    mult[lab == 2] += 2.5 * pro["uterine"]
    mult[np.isin(tis, (BOWWALL, BOWCONT, BOWGAS))] += 1.5 * pro["enterocele"]
    Fp = body_force(cav, vec * mult[:, None])
    wall = (~cav) & np.isin(tis, (MUSCLE, FAT, SKIN)) & (cen[:, 0] < look_anchor(params)[0])
    Fp += body_force(wall & (cen[:, 1] < look_anchor(params)[1] - 40), -0.5 * post)
    J_s = _to_scanner_fn(params)(np.array([an["arj"]]))[0]
    low_rect = (lab == 3) & (np.linalg.norm(cen - J_s, axis=1) < 45)
    Fp += body_force(low_rect, (-0.9 * post + 0.4 * down) * 3.0 * pro["rectocele"])
    # levator contraction
    sym_s = _to_scanner_fn(params)(np.array([[0.0, -8.0]]))[0]
    pr = np.isin(tis, (LEVATOR, SPHINCTER, CONNECT)) & ~cav
    d_pr = sym_s - cen
    d_pr /= np.linalg.norm(d_pr, axis=1)[:, None] + 1e-9
    Fl = body_force(pr, d_pr - 0.6 * down[None, :])
    # evacuation: rectal volume loss, canal opening, puborectalis relaxing
    rc = (tis == RCONTENT)
    Fe = eigen(rc, np.tile([-0.25, -0.25, 0.0], (nt, 1)))
    canal = np.isin(tis, (ANALMUC,))
    Fe += eigen(canal, np.tile([0.35 * post[0] ** 2, 0.35 * post[1] ** 2,
                                0.7 * post[0] * post[1]], (nt, 1)))
    Fe += body_force(pr, -0.5 * d_pr) * 0.5
    Fall = np.column_stack([Fp, Fl, Fe])
    Kff = K[free_dof][:, free_dof].tocsc()
    lu = splu(Kff)
    U = np.zeros((2 * n, 3))
    U[free_dof] = lu.solve(np.ascontiguousarray(Fall[free_dof]))
    U = U.reshape(n, 2, 3)
    # normalise: pressure -> median cavity-node displacement, levator -> ARJ, evac -> rectum
    cav_node = np.zeros(n, bool)
    cav_node[tri[cav].ravel()] = True
    mag = np.linalg.norm(U, axis=1)
    ref_p = np.percentile(mag[cav_node & ~fixed, 0], 75) if (cav_node & ~fixed).any() else 1
    near_j = np.linalg.norm(pts - J_s, axis=1) < 12
    ref_l = mag[near_j, 1].mean() if near_j.any() else 1
    rn = np.zeros(n, bool)
    rn[tri[lab == 3].ravel()] = True
    ref_e = np.percentile(mag[rn, 2], 90) if rn.any() else 1
    U[:, :, 0] /= max(ref_p, 1e-9)
    U[:, :, 1] /= max(ref_l, 1e-9)
    U[:, :, 2] /= max(ref_e, 1e-9)
    return pts, tri, U, tis


def look_anchor(params):
    return _to_scanner_fn(params)(np.array([[0.0, 0.0]]))[0]


def _to_scanner_fn(params):
    h, w = params["matrix"]
    dr, dc = params["spacing_mm"]
    fov_h, fov_w = h * dr, w * dc
    pl = params["placement"]
    k = params["anatomy"]["scale"]
    t = math.radians(pl["tilt_deg"])
    R = k * np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    off = np.array([pl["anchor_col_frac"] * fov_w, pl["anchor_row_frac"] * fov_h])
    return lambda p: np.asarray(p, float) @ R.T + off


def _curves(motion, n, dt):
    t = np.arange(n) * dt
    man = motion["manoeuvre"]
    on, ramp, hold = motion["onset_s"], motion["ramp_s"], motion["hold_s"]

    def sstep(x):
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)

    def pulse(t0, rp, hd, rel=True):
        up = sstep((t - t0) / rp)
        if rel:
            up = up * (1 - sstep((t - t0 - rp - hd) / rp))
        return up

    P = np.zeros(n)
    L = np.zeros(n)
    E = np.zeros(n)
    if man == "valsalva":
        P = pulse(on, ramp, hold, motion["release"]) * (1 + 0.04 * np.sin(2.1 * t))
        L = -0.2 * P
    elif man == "squeeze":
        per = max(ramp * 2 + hold * 0.5, 4 * dt)
        for t0 in np.arange(on, t[-1] + dt, per + ramp):
            L = np.maximum(L, pulse(t0, ramp * 0.5, hold * 0.5))
        P = 0.08 * L
    elif man == "cough":
        for tc in motion["cough_times_s"]:
            P = np.maximum(P, np.exp(-(((t - tc) / max(0.6, 0.6 * dt)) ** 2)))
        L = 0.4 * np.concatenate([[0.0], P[:-1]])
    elif man == "evacuation":
        P = 0.85 * pulse(on, ramp, hold, motion["release"])
        E = sstep((t - on - 0.3 * ramp) / (2 * ramp + hold))
        L = -0.9 * sstep((t - on) / ramp)
    elif man == "squeeze_valsalva":
        mid = t[-1] * 0.45
        L = pulse(on * 0.5, ramp * 0.5, max(mid - on * 0.5 - ramp, dt))
        P = pulse(mid + ramp * 0.3, ramp, hold, motion["release"])
    B = np.sin(2 * math.pi * t / motion["breath_period_s"] + motion["breath_phase"])
    return P, L, E, B


# --------------------------------------------------------------------------- signal
def _signal_tables(params):
    im = params["imaging"]
    seq = im["sequence"]
    te, tr, fa = im["te_ms"], im["tr_ms"], math.radians(im["flip_deg"])
    W = np.zeros(N_TISSUE)
    Fz = np.zeros(N_TISSUE)
    props = dict(_PROPS)
    rc = _RECTAL_CONTENT[params["anatomy"]["rectal_content"]]
    props[RCONTENT] = (rc[0], rc[1], rc[2], 0.02, 1.0, rc[3], 0.45)

    def w_sig(t1, t2, adc):
        if seq in ("t2_ssfse", "t2_fs"):
            return math.exp(-te / t2) * (1 - math.exp(-tr / t1))
        if seq == "bssfp":
            return math.sin(fa) / (1 + math.cos(fa) + (1 - math.cos(fa)) * t1 / t2) * 2.2
        if seq.startswith("t1_gre"):
            e1 = math.exp(-tr / t1)
            return math.sin(fa) * (1 - e1) / (1 - math.cos(fa) * e1) * 1.6
        return math.exp(-te / t2) * math.exp(-im["b_value"] * adc * 1e-3)

    fat_sig = {"t2_ssfse": math.exp(-te / 140) * (1 - math.exp(-tr / 260)),
               "t2_fs": im["fat_residual"] * math.exp(-te / 140),
               "bssfp": math.sin(fa) / (1 + math.cos(fa) + (1 - math.cos(fa)) * 260 / 80) * 2.2,
               "epi_dwi": 0.04}.get(seq)
    if fat_sig is None:
        e1 = math.exp(-tr / 260)
        fat_sig = math.sin(fa) * (1 - e1) / (1 - math.cos(fa) * e1) * 1.6
    for i in range(N_TISSUE):
        pd, t1, t2, ff, adc = props[i][:5]
        W[i] = pd * (1 - ff) * w_sig(t1, t2, adc)
        Fz[i] = pd * ff * fat_sig
    flow = {"t2_ssfse": 0.08, "t2_fs": 0.08, "bssfp": 1.0, "epi_dwi": 0.05}.get(seq, 2.5)
    W[VESSEL] *= flow
    return W, Fz


def _rest_images(params, cv, rng, out_spacing):
    Wt, Ft = _signal_tables(params)
    T = cv.T
    Wi = Wt[T].astype(np.float32)
    Fi = Ft[T].astype(np.float32)
    px = 1.0 / cv.res

    def noise(sig_mm):
        z = ndimage.gaussian_filter(rng.standard_normal(T.shape).astype(np.float32),
                                    sig_mm * px)
        return z / (z.std() + 1e-9)

    tex = 1 + 0.05 * noise(2.5)
    Wi *= tex * cv.B
    Fi *= tex
    n2 = noise(1.5)
    content = params["anatomy"]["rectal_content"]
    rcm = T == RCONTENT
    if content == "stool":
        Wi[rcm] *= np.clip(1 + 0.35 * n2[rcm], 0.2, 2.0)
        bub = rcm & (noise(1.2) > 1.6)
        Wi[bub] = 0
    elif content == "gas":
        Wi[rcm & (n2 > 1.8)] += 0.05
    bc = T == BOWCONT
    Wi[bc] *= np.clip(1 + 0.3 * n2[bc], 0.1, 2.0)
    septa = (T == FAT) & (np.abs(noise(3.0)) < 0.06)
    Fi[septa] *= 0.55
    Wi[septa] += 0.05
    mar = T == MARROW
    Fi[mar] *= np.clip(1 + 0.25 * n2[mar], 0.3, 2)
    thk = params["imaging"]["slice_thickness_mm"]
    pv = 0.05 + 0.03 * (thk - 4)
    sig = (1.5 + 0.3 * thk) * px
    Wi = (1 - pv) * Wi + pv * ndimage.gaussian_filter(Wi, sig)
    Fi = (1 - pv) * Fi + pv * ndimage.gaussian_filter(Fi, sig)
    aa = [0.45 * out_spacing[0] * px, 0.45 * out_spacing[1] * px]
    return ndimage.gaussian_filter(Wi, aa), ndimage.gaussian_filter(Fi, aa)


def _combine(params, W, F):
    seq = params["imaging"]["sequence"]
    if seq == "t1_gre_opp":
        return np.abs(W - F)
    return W + F


# --------------------------------------------------------------------------- render
def _pullback(pdef, prest, tri, cx, cy):
    """Rest position of every node of the regular grid (cx, cy) by locating it in the
    deformed triangles (each triangle rasterised over the cells of its bounding box) and
    mapping its barycentric coordinates back to the rest triangle."""
    x0, y0 = cx[0], cy[0]
    hx, hy = cx[1] - cx[0], cy[1] - cy[0]
    ny, nx = len(cy), len(cx)
    v = pdef[tri]  # (nt,3,2)
    i0 = np.clip(np.ceil((v[:, :, 0].min(1) - x0) / hx), 0, nx).astype(int)
    i1 = np.clip(np.floor((v[:, :, 0].max(1) - x0) / hx), -1, nx - 1).astype(int)
    j0 = np.clip(np.ceil((v[:, :, 1].min(1) - y0) / hy), 0, ny).astype(int)
    j1 = np.clip(np.floor((v[:, :, 1].max(1) - y0) / hy), -1, ny - 1).astype(int)
    wx, wy = np.maximum(i1 - i0 + 1, 0), np.maximum(j1 - j0 + 1, 0)
    cnt = wx * wy
    t = np.repeat(np.arange(len(tri)), cnt)
    local = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    gi = i0[t] + local % wx[t]
    gj = j0[t] + local // wx[t]
    px, py = x0 + gi * hx, y0 + gj * hy
    a, b, c = v[t, 0], v[t, 1], v[t, 2]
    e1, e2 = b - a, c - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    qx, qy = px - a[:, 0], py - a[:, 1]
    l1 = (qx * e2[:, 1] - qy * e2[:, 0]) / det
    l2 = (e1[:, 0] * qy - e1[:, 1] * qx) / det
    eps = 1e-6
    ins = (l1 >= -eps) & (l2 >= -eps) & (l1 + l2 <= 1 + eps)
    t, gi, gj, l1, l2 = t[ins], gi[ins], gj[ins], l1[ins], l2[ins]
    r = prest[tri[t]]
    src = r[:, 0] * (1 - l1 - l2)[:, None] + r[:, 1] * l1[:, None] + r[:, 2] * l2[:, None]
    gy, gx = np.meshgrid(cy, cx, indexing="ij")
    out = np.column_stack([gx.ravel(), gy.ravel()])  # uncovered cells: identity
    out[gj * nx + gi] = src
    return out


def render(params: dict):
    """Render one case: (frames float32 (T,H,W), labels uint8 (T,H,W), spacing, params)."""
    params = json.loads(json.dumps(params))
    h, w = (int(v) for v in params["matrix"])
    dr, dc = (float(v) for v in params["spacing_mm"])
    n = int(params["n_frames"])
    dt = float(params["frame_interval_s"])
    fov_h, fov_w = h * dr, w * dc
    rng = np.random.default_rng([int(params["seed"]), 0x5EED])
    res = max(0.6, min(dr, dc) / 2)
    to = _to_scanner_fn(params)
    cv = _Canvas(fov_h, fov_w, res, 26.0, to)
    k = params["anatomy"]["scale"]
    t_ = math.radians(params["placement"]["tilt_deg"])
    Rinv = np.linalg.inv(k * np.array([[math.cos(t_), -math.sin(t_)],
                                       [math.sin(t_), math.cos(t_)]]))
    off = to(np.zeros((1, 2)))[0]
    cv.to_inv = lambda p: (np.asarray(p, float) - off) @ Rinv.T
    atlas = _build_atlas(params, cv, rng)
    pts, tri, U, _tis = _fe_solve(params, cv, atlas, rng, fov_h, fov_w)
    mo = params["motion"]
    P, L, E, Br = _curves(mo, n, dt)
    amp = np.column_stack([P * mo["descent_mm"] + Br * mo["breath_mm"], L * mo["lift_mm"],
                           E * mo["evac_mm"]])
    air_t = np.isin(_tis, (AIR,))
    x0 = pts[tri]
    a0 = ((x0[:, 1, 0] - x0[:, 0, 0]) * (x0[:, 2, 1] - x0[:, 0, 1])
          - (x0[:, 2, 0] - x0[:, 0, 0]) * (x0[:, 1, 1] - x0[:, 0, 1]))
    Wr, Fr = _rest_images(params, cv, rng, (dr, dc))

    im = params["imaging"]
    # output grid (+ EPI distortion along the phase direction)
    yy, xx = np.meshgrid((np.arange(h) + 0.5) * dr, (np.arange(w) + 0.5) * dc, indexing="ij")
    jac = np.ones((h, w))
    if im["distortion_mm"] > 0:
        gas = np.isin(cv.T, (BOWGAS,)) | ((cv.T == RCONTENT)
                                         & (params["anatomy"]["rectal_content"] == "gas"))
        gmap = ndimage.gaussian_filter(gas.astype(np.float32), 10 / res)
        gs = ndimage.map_coordinates(gmap, [(yy - cv.y0) / res - 0.5, (xx - cv.x0) / res - 0.5],
                                     order=1, mode="nearest")
        cf = rng.uniform(-1, 1, 4)
        fld = (cf[0] * (yy / fov_h - 0.5) + cf[1] * (xx / fov_w - 0.5)
               + cf[2] * (yy / fov_h - 0.5) ** 2 + 4 * gs / max(gs.max(), 1e-3) * cf[3])
        d = im["distortion_mm"] * fld
        if im["phase_dir"] == "AP":
            xx = xx - d
            jac = 1 - np.gradient(d, dc, axis=1)
        else:
            yy = yy - d
            jac = 1 - np.gradient(d, dr, axis=0)
        jac = np.clip(jac, 0.3, 3)
    cs = 3.0
    cy = np.linspace(yy.min(), yy.max(), max(8, int(fov_h / cs)))
    cx = np.linspace(xx.min(), xx.max(), max(8, int(fov_w / cs)))
    cgy, cgx = np.meshgrid(cy, cx, indexing="ij")
    qy = (yy - cy[0]) / (cy[1] - cy[0])
    qx = (xx - cx[0]) / (cx[1] - cx[0])

    frames = np.zeros((n, h, w), np.float32)
    labels = np.zeros((n, h, w), np.uint8)
    prev_key = None
    for f in range(n):
        u = U @ amp[f]
        for _ in range(8):  # avoid folded triangles
            xd = (pts + u)[tri]
            ad = ((xd[:, 1, 0] - xd[:, 0, 0]) * (xd[:, 2, 1] - xd[:, 0, 1])
                  - (xd[:, 2, 0] - xd[:, 0, 0]) * (xd[:, 1, 1] - xd[:, 0, 1]))
            ratio = ad / a0
            if ratio[~air_t].min() > 0.3 and ratio.min() > 0.02:
                break
            u = u * 0.8
        key = np.round(u, 3).tobytes()
        if key != prev_key:
            if np.abs(u).max() < 1e-3:
                ry, rx = yy, xx
            else:
                src = _pullback(pts + u, pts, tri, cx, cy)
                cry = ndimage.map_coordinates(src[:, 1].reshape(cgy.shape), [qy, qx], order=1,
                                              mode="nearest")
                crx = ndimage.map_coordinates(src[:, 0].reshape(cgy.shape), [qy, qx], order=1,
                                              mode="nearest")
                ry, rx = cry, crx
            fy, fx = (ry - cv.y0) / res - 0.5, (rx - cv.x0) / res - 0.5
            Wv = ndimage.map_coordinates(Wr, [fy, fx], order=1, mode="nearest")
            Fv = ndimage.map_coordinates(Fr, [fy, fx], order=1, mode="nearest")
            lab = ndimage.map_coordinates(cv.L, [fy, fx], order=0, mode="nearest")
            img = _combine(params, Wv, Fv) * jac
            prev_key = key
        frames[f] = img
        labels[f] = lab
    for f in range(n):
        for lb in (1, 2, 3):
            m = labels[f] == lb
            cc, k_ = ndimage.label(m)
            if k_ > 1:
                sizes = np.bincount(cc.ravel())[1:]
                labels[f][m & (cc != 1 + int(np.argmax(sizes)))] = 0
    frames = _acquire(params, frames, rng, yy, xx, fov_h, fov_w)
    params["completed"] = True
    return frames, labels, (dr, dc), params


def _acquire(params, frames, rng, yy, xx, fov_h, fov_w):
    im = params["imaging"]
    n, h, w = frames.shape
    co = im["coil"]
    yc = co["row_frac"] * fov_h
    vert = np.exp(-(((yy - yc) / (0.9 * fov_h)) ** 2))
    sens = 0.3 + vert * (co["ant_gain"] * np.exp(-xx / co["length_mm"])
                         + co["post_gain"] * np.exp(-(fov_w - xx) / co["length_mm"]))
    sens = sens / sens.max()
    cph = rng.uniform(-1.5, 1.5, 3)
    phase = cph[0] + cph[1] * yy / fov_h + cph[2] * xx / fov_w
    ax = 1 if im["phase_dir"] == "AP" else 0
    npe = (w, h)[ax == 0]
    nro = (h, w)[ax == 0]
    kp = np.fft.fftshift(np.fft.fftfreq(npe)) * npe
    kr = np.fft.fftshift(np.fft.fftfreq(nro)) * nro
    half = npe / 2 * im["phase_fraction"]
    lo = -half * (2 * im["partial_fourier"] - 1)
    keep_pe = (kp >= lo) & (kp <= half)
    keep_ro = np.abs(kr) <= nro / 2 * im["readout_fraction"]
    centre = np.abs(kp) <= half * im["view_sharing"]
    gh = im["ghost"] * np.sin(2 * math.pi * kp * rng.uniform(0.02, 0.08) + rng.uniform(0, 6))
    pe_mod = np.exp(1j * gh) * np.where(np.arange(npe) % 2 == 1,
                                         np.exp(1j * math.pi * im["nyquist_ghost"]), 1)

    def shape_pe(v):
        return v[None, :] if ax == 1 else v[:, None]

    def shape_ro(v):
        return v[:, None] if ax == 1 else v[None, :]

    mask = shape_pe(keep_pe) & shape_ro(keep_ro)
    share = shape_pe(~centre) & (im["view_sharing"] > 0)
    sig0 = frames[0] * sens
    ref = float(sig0[sig0 > 0.15 * sig0.max()].mean()) if sig0.max() > 0 else 1.0
    sigma = ref / im["snr"]
    out = np.empty_like(frames)
    prev_k = None
    for f in range(n):
        z = frames[f] * sens * np.exp(1j * phase)
        K = np.fft.fftshift(np.fft.fft2(z))
        Kc = K
        if prev_k is not None:
            Kc = np.where(share, prev_k, K)
        prev_k = K
        Kc = Kc * mask * shape_pe(pe_mod)
        if f == im["spike_frame"]:
            i, j = rng.integers(0, h), rng.integers(0, w)
            Kc[i, j] += np.abs(Kc).max() * rng.uniform(0.05, 0.3)
        z = np.fft.ifft2(np.fft.ifftshift(Kc))
        z = z + sigma * (rng.standard_normal((h, w)) + 1j * rng.standard_normal((h, w)))
        out[f] = np.abs(z)
        if f == im["dip_frame"]:
            out[f] *= rng.uniform(0.5, 0.8)
    return (out * im["intensity_scale"]).astype(np.float32)


def generate(seed: int):
    """``render(draw_params(seed))``."""
    return render(draw_params(seed))


# --------------------------------------------------------------------------- output
def _write_case(seed: int, out: str) -> str:
    frames, labels, spacing, params = generate(seed)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    im = params["imaging"]
    tag = {"bssfp": "bssfp", "t1_gre_in": "t1", "t1_gre_opp": "t1"}.get(im["sequence"],
                                                                       im["sequence"])
    times = np.arange(frames.shape[0]) * float(params["frame_interval_s"])
    series = CineSeries(frames=frames, spacing_mm=spacing, times_s=times,
                        meta={"series_description": f"cine sag pelvis ({tag})",
                              "subject_id": f"{PREFIX}_{seed:03d}"})
    write_dicom_series(series, case / "series", seed=seed, patient_name=f"CASCADE^{seed:03d}",
                       patient_id=f"{PREFIX}_{seed:03d}",
                       slice_thickness_mm=float(im["slice_thickness_mm"]))
    np.save(case / "truth.npy", labels.astype(np.uint8))
    (case / "params.json").write_text(json.dumps(params, indent=1))
    present = [name for name, v in LABELS.items() if (labels == v).any()]
    return (f"{case.name}: {frames.shape[0]}x{frames.shape[1]}x{frames.shape[2]} "
            f"{im['sequence']} {params['motion']['manoeuvre']} "
            f"uterus={params['anatomy']['uterus_state']} "
            f"rectum={params['anatomy']['rectal_content']} labels={','.join(present)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="100-195")
    ap.add_argument("--out", default="cascade_cases")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for line in map_jobs(functools.partial(_write_case, out=args.out), seeds, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
