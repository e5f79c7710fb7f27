"""Level-set generator of labelled synthetic cine mid-sagittal female pelvic MRI.

Every structure is the zero level set of a function phi (negative inside) built on the
image grid in millimetres:

* **Seeds.**  Each organ starts as a skeleton curve (polyline in an "anatomy frame":
  origin at the inferior point of the pubic symphysis, y caudal, x posterior) with a
  radius profile r(s) along its arc length s: phi0 = dist(x, curve) - r(s).  The anatomy
  frame is scaled (patient size), rotated (pelvic tilt) and placed in the field of view.
* **Front propagation.**  The seed front is advanced once with a smooth random speed
  field F (Gaussian-filtered white noise): phi = phi0 - A * F, which makes the outlines
  irregular yet smooth; composite organs are smooth unions (smooth minimum) of parts
  (vagina + cervix + uterine body + fibroids).  Walls and zonal anatomy are bands of
  the level sets (bladder wall, rectal wall, junctional zone, endometrium, cervical
  stroma, vaginal wall and lumen).
* **Multiphase competition.**  Organs are phases of one partition: at every frame
  psi_i = max(phi_i, (phi_i - min_j phi_j) / 2) so that touching organs share an exact
  border (uterus/vagina slightly favoured); bones, the body outline and the anterior
  abdominal wall / symphysis line are obstacles; a full bladder pushes the uterine body
  cranially at rest; unlabelled small bowel, sigmoid and an enterocele sac fill only
  what the organs leave.  Each
  label keeps its largest 4-connected piece; the rest is given back to background.
* **Dynamics.**  Frame t samples the rest level sets through a backward warp per
  group (bones: rigid; body/floor; bowel; bladder; uterus-vagina; rectum) made of
  rigid drift, breathing (cranial, anterior wall) and a manoeuvre profile s(t)
  (Valsalva, defecation with evacuation, squeeze, cough) times smooth
  organ-specific descent fields (pelvic floor, bladder base = cystocele, cervix =
  prolapse, enterocele loop pushing vagina and rectum apart).  Time-dependent speed
  terms move fronts in place (rectocele bulge of the anterior rectal wall,
  evacuation of the rectal content, opening of the anal canal).  Labels are the
  zero sets of the very fields that are painted, so they follow exactly.
* **Imaging.**  Tissues get contrast-specific intensities (T2 single-shot FSE, T2
  fat-suppressed, bSSFP with off-resonance banding, T1 spoiled gradient echo),
  jittered per case, with textures; partial volume by soft level-set occupancy
  whose width grows with the slice thickness; low acquired resolution (k-space
  truncation, Gibbs ringing); motion ghosts and wrap-around along the phase
  direction; susceptibility blooming near gas; coil shading and multi-coil
  sum-of-squares or single-coil Rician noise with a g-factor map; arbitrary
  intensity scale.

Labels: 1 bladder (lumen + wall), 2 uterus and vagina (body, cervix, vagina with its
lumen or gel), 3 rectum (wall, content, anal canal); all else 0.
Image row 0 is cranial, column 0 anterior.

Usage: ``python benchmarks/levelset_generator.py --seeds 0-9 --out /tmp/ls``
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.seeds import map_jobs, parse_seeds  # noqa: E402

PREFIX = "levelset"
LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}

UTERUS_STATES = ("anteverted", "retroverted", "axial", "atrophic", "enlarged_fibroids",
                 "adenomyosis", "hysterectomy")
CONTRASTS = ("t2_ssfse", "bssfp", "t1_gre", "t2_fs")
SEQUENCES = {"t2_ssfse": "single-shot FSE (HASTE/SSFSE)", "bssfp": "bSSFP (TrueFISP/FIESTA)",
             "t1_gre": "T1 spoiled gradient echo", "t2_fs": "single-shot FSE fat-suppressed"}
_DESC = {"t2_ssfse": "(t2 ssfse)", "bssfp": "(bssfp)", "t1_gre": "(t1)", "t2_fs": "(t2 fs)"}

#: Base tissue intensities per contrast (jittered per case).
TISSUE = {
    "t2_ssfse": dict(fat=0.78, muscle=0.16, skin=0.45, cortex=0.03, marrow=0.5, disc=0.6,
                     csf=0.95, urine=1.0, bwall=0.22, myo=0.47, endo=0.88, jz=0.17,
                     cervix=0.2, fibroid=0.13, vwall=0.27, vlumen=0.62, gel=0.93, rwall=0.27,
                     stool=0.36, gas=0.02, bfluid=0.82, chyme=0.45, gutwall=0.33,
                     vessel=0.05, urethra=0.24, mucus=0.55),
    "t2_fs": dict(fat=0.12, muscle=0.17, skin=0.3, cortex=0.03, marrow=0.16, disc=0.6,
                  csf=0.95, urine=1.0, bwall=0.24, myo=0.5, endo=0.9, jz=0.18, cervix=0.21,
                  fibroid=0.14, vwall=0.3, vlumen=0.65, gel=0.95, rwall=0.3, stool=0.38,
                  gas=0.02, bfluid=0.85, chyme=0.45, gutwall=0.35, vessel=0.05,
                  urethra=0.26, mucus=0.6),
    "bssfp": dict(fat=0.86, muscle=0.2, skin=0.5, cortex=0.03, marrow=0.62, disc=0.6,
                  csf=1.0, urine=0.95, bwall=0.26, myo=0.5, endo=0.72, jz=0.3, cervix=0.3,
                  fibroid=0.25, vwall=0.32, vlumen=0.6, gel=0.9, rwall=0.3, stool=0.45,
                  gas=0.02, bfluid=0.86, chyme=0.5, gutwall=0.36, vessel=0.88, urethra=0.3,
                  mucus=0.6),
    "t1_gre": dict(fat=0.95, muscle=0.32, skin=0.5, cortex=0.03, marrow=0.8, disc=0.3,
                   csf=0.12, urine=0.12, bwall=0.3, myo=0.4, endo=0.36, jz=0.38, cervix=0.38,
                   fibroid=0.37, vwall=0.35, vlumen=0.3, gel=0.16, rwall=0.35, stool=0.62,
                   gas=0.02, bfluid=0.22, chyme=0.55, gutwall=0.36, vessel=0.7,
                   urethra=0.35, mucus=0.3),
}


# --------------------------------------------------------------------------- drawing
def _u(rng, a, b):
    return float(rng.uniform(a, b))


def draw_params(seed: int) -> dict:
    """All random choices of one case (JSON-serialisable, deterministic for a seed)."""
    rng = np.random.default_rng([int(seed), 0x15E7])
    h = int(rng.integers(224, 289))
    w = h if rng.random() < 0.55 else int(rng.integers(224, 289))
    sr = round(_u(rng, 1.1, 1.5), 4)
    sc = sr if rng.random() < 0.6 else round(_u(rng, 1.1, 1.5), 4)
    contrast = str(rng.choice(CONTRASTS, p=[0.4, 0.33, 0.13, 0.14]))
    field = float(rng.choice([0.55, 1.5, 3.0], p=[0.1, 0.55, 0.35]))
    dt = {"t2_ssfse": (0.9, 2.2), "t2_fs": (1.0, 2.4), "bssfp": (0.4, 1.2),
          "t1_gre": (0.6, 1.5)}[contrast]
    n_frames = int(rng.integers(16, 41))
    snr = _u(rng, 9, 45) * (0.7 if field < 1 else 1.0)

    state = str(rng.choice(UTERUS_STATES, p=[0.34, 0.14, 0.08, 0.12, 0.13, 0.07, 0.12]))
    r = rng.random()
    fill = _u(rng, 0.0, 0.15) if r < 0.2 else (_u(rng, 0.15, 0.6) if r < 0.65
                                                 else _u(rng, 0.6, 1.0))
    rectal = str(rng.choice(["empty", "gas", "stool", "gel", "stool_gas", "gel_gas"],
                            p=[0.2, 0.12, 0.22, 0.28, 0.1, 0.08]))
    vag_gel = bool(rng.random() < (0.5 if rectal.startswith("gel") else 0.15))
    pathology = []
    for name, p in (("cystocele", 0.25), ("rectocele", 0.25), ("enterocele", 0.12),
                    ("uterine_prolapse", 0.15), ("perineal_descent", 0.2)):
        if rng.random() < p:
            if name == "uterine_prolapse" and state == "hysterectomy":
                name = "vault_prolapse"
            pathology.append(name)
    if rectal.startswith("gel"):
        man = str(rng.choice(["valsalva", "defecation", "squeeze", "cough"],
                             p=[0.3, 0.5, 0.1, 0.1]))
    else:
        man = str(rng.choice(["valsalva", "defecation", "squeeze", "cough"],
                             p=[0.5, 0.18, 0.17, 0.15]))

    a = _u(rng, 0.6, 1.0) if man != "cough" else _u(rng, 0.4, 0.7)
    if man == "squeeze":
        floor = [-_u(rng, 4, 12), -_u(rng, 2, 8)]
        bl, uv, rc = ([-_u(rng, 1, 5), -_u(rng, 0, 4)], [-_u(rng, 1, 5), -_u(rng, 0, 4)],
                      [-_u(rng, 2, 8), -_u(rng, 2, 7)])
        rcele = ent = 0.0
    else:
        floor = ([_u(rng, 20, 32) * a, _u(rng, 4, 12) * a] if "perineal_descent" in pathology
                 else [_u(rng, 7, 16) * a, _u(rng, 0, 8) * a])
        bl = ([_u(rng, 18, 42) * a, _u(rng, -2, 8) * a] if "cystocele" in pathology
              else [_u(rng, 3, 10) * a, _u(rng, -3, 4) * a])
        pro = "uterine_prolapse" in pathology or "vault_prolapse" in pathology
        uv = ([_u(rng, 18, 40) * a, _u(rng, -10, 0) * a] if pro
              else [_u(rng, 3, 10) * a, _u(rng, -4, 4) * a])
        rc = [_u(rng, 4, 12) * a, _u(rng, -4, 4) * a]
        rcele = _u(rng, 10, 26) * a if "rectocele" in pathology else _u(rng, 0, 4) * a
        ent = _u(rng, 22, 40) * a if "enterocele" in pathology else 0.0
    motion = {
        "manoeuvre": man, "strength": round(a, 3),
        "onset_frac": _u(rng, 0.08, 0.25), "ramp_frac": _u(rng, 0.08, 0.2),
        "hold_frac": _u(rng, 0.15, 0.4), "release_frac": _u(rng, 0.08, 0.15),
        "n_coughs": int(rng.integers(1, 4)),
        "evacuation": _u(rng, 0.4, 0.95) if man == "defecation" else 0.0,
        "descent_mm": {"floor": floor, "bladder": bl, "uterus_vagina": uv, "rectum": rc},
        "rectocele_bulge_mm": rcele, "enterocele_descent_mm": ent,
        "breath_amp_mm": _u(rng, 1.0, 6.0), "breath_period_s": _u(rng, 3.0, 6.0),
        "drift_mm": _u(rng, 0.05, 0.5), "jerk_mm": [_u(rng, 0, 4), _u(rng, -2, 2)],
    }
    anatomy = {
        "uterus": {"state": state, "anteversion_deg": _u(rng, 50, 95),
                   "flexion_deg": _u(rng, -5, 40), "length_scale": _u(rng, 0.85, 1.15),
                   "n_fibroids": int(rng.integers(1, 5)) if state == "enlarged_fibroids" else 0},
        "bladder_fill": round(fill, 3),
        "rectal_content": rectal,
        "vaginal_gel": vag_gel,
        "pathology": pathology,
        "body_scale": _u(rng, 0.88, 1.12),
        "tilt_deg": float(np.clip(rng.normal(0, 6), -14, 14)),
        "fat_anterior_mm": _u(rng, 8, 45), "fat_posterior_mm": _u(rng, 10, 40),
        "presacral_gap_mm": _u(rng, 2, 12),
        "n_bowel_loops": int(rng.integers(4, 11)),
        "free_fluid": bool(rng.random() < 0.15),
    }
    fov_h, fov_w = h * sr, w * sc
    imaging = {
        "sequence": SEQUENCES[contrast], "contrast": contrast, "field_strength_T": field,
        "slice_thickness_mm": round(_u(rng, 4, 10), 2),
        "n_coils": int(rng.choice([1, 4, 6], p=[0.25, 0.4, 0.35])),
        "acceleration": int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2])),
        "phase_axis": str(rng.choice(["col", "row"], p=[0.65, 0.35])),
        "acq_frac_phase": _u(rng, 0.5, 1.0), "acq_frac_read": _u(rng, 0.75, 1.0),
        "ghost_amp": _u(rng, 0.02, 0.09) if rng.random() < 0.3 else 0.0,
        "wrap": bool(rng.random() < 0.15),
        "bias_strength": _u(rng, 0.05, 0.35) * (1.6 if field > 2 else 1.0),
        "banding_depth": _u(rng, 0.3, 0.9) if contrast == "bssfp" else 0.0,
        "offres_cycles": _u(rng, 0.2, 1.0) * field / 1.5,
        "fatsat_failure": _u(rng, 0.0, 0.5) if contrast == "t2_fs" else 0.0,
        "susceptibility": _u(rng, 0.3, 1.0) if contrast in ("bssfp", "t1_gre")
        else _u(rng, 0.0, 0.3),
        "gain": float(10 ** _u(rng, 1.0, 3.7)),
        "origin_row_mm": fov_h - _u(rng, 65, 105),
        "origin_col_mm": _u(rng, 75, 100) + max(0.0, fov_w - 260) * _u(rng, 0.2, 0.45),
    }
    return {
        "seed": int(seed), "generator": PREFIX, "spacing_mm": [sr, sc], "matrix": [h, w],
        "n_frames": n_frames, "frame_interval_s": round(_u(rng, *dt), 3), "snr": round(snr, 2),
        "labels": dict(LABELS), "anatomy": anatomy, "imaging": imaging, "motion": motion,
    }


def _profiles(motion: dict, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strain s(t) in [0, 1], rectal evacuation e(t) in [0, 1], anal opening o(t)."""
    t = np.arange(n, dtype=float)

    def smooth(x):
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)

    on = max(1.0, motion["onset_frac"] * n)
    ramp = max(1.0, motion["ramp_frac"] * n)
    hold = max(1.0, motion["hold_frac"] * n)
    rel = max(1.0, motion["release_frac"] * n)
    man = motion["manoeuvre"]
    evac = np.zeros(n)
    opening = np.zeros(n)
    if man == "cough":
        k = int(motion["n_coughs"])
        centres = on + (np.arange(k) + 0.5) * max(1.5, (n - on - 1) / (k + 0.5))
        s = np.zeros(n)
        for c in centres:
            s = np.maximum(s, np.exp(-0.5 * ((t - np.round(c)) / 0.55) ** 2))
    elif man == "defecation":
        s = smooth((t - on) / ramp) * (1 - smooth((t - (n - 1 - rel * 0.5)) / rel))
        evac = motion["evacuation"] * smooth((t - on - ramp * 0.5) / max(2.0, 0.5 * n))
        opening = s * np.clip(np.gradient(evac) * n * 0.5 + (evac > 0.02), 0, 1)
    else:
        s = smooth((t - on) / ramp) * (1 - smooth((t - on - ramp - hold) / rel))
    s[0] = 0.0
    return s, evac, opening


# --------------------------------------------------------------------------- geometry
def _polyline(yy, xx, pts):
    """Distance to a polyline, arc length of the nearest point and side (+1 right of
    the direction of travel, i.e. posterior for a caudal-going curve)."""
    pts = np.asarray(pts, float)
    best = np.full(yy.shape, np.inf, np.float32)
    s_best = np.zeros(yy.shape, np.float32)
    side = np.ones(yy.shape, np.float32)
    acc = 0.0
    for p, q in zip(pts[:-1], pts[1:], strict=False):
        d = q - p
        ln2 = float(d @ d) + 1e-9
        ln = np.sqrt(ln2)
        t = np.clip(((yy - p[0]) * d[0] + (xx - p[1]) * d[1]) / ln2, 0, 1)
        dy = yy - (p[0] + t * d[0])
        dx = xx - (p[1] + t * d[1])
        dist = np.sqrt(dy * dy + dx * dx)
        m = dist < best
        best = np.where(m, dist, best)
        s_best = np.where(m, acc + t * ln, s_best)
        cross = d[0] * (xx - p[1]) - d[1] * (yy - p[0])
        side = np.where(m, np.where(cross >= 0, 1.0, -1.0), side)
        acc += ln
    return best, s_best, side, acc


def _point_line(pt, pts):
    """Distance from one point to a polyline and the nearest point on it."""
    best, best_p = np.inf, pts[0]
    for p, q in zip(pts[:-1], pts[1:], strict=False):
        d = q - p
        t = float(np.clip((pt - p) @ d / (d @ d + 1e-9), 0, 1))
        c = p + t * d
        dist = float(np.linalg.norm(pt - c))
        if dist < best:
            best, best_p = dist, c
    return best, best_p


def _smin(a, b, k):
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0, 1)
    return b + (a - b) * h - k * h * (1 - h)


def _noise(rng, shape, sigma_px):
    n = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_px,
                            mode="wrap")
    return n / (float(n.std()) + 1e-8)


def _dirv(alpha_deg):
    """Unit vector in the anatomy frame: 0 deg = cranial, positive toward anterior."""
    a = np.deg2rad(alpha_deg)
    return np.array([-np.cos(a), -np.sin(a)])


def _soft(phi, tau):
    return np.clip(0.5 - phi / tau, 0.0, 1.0)


class _Frame:
    """Anatomy frame <-> image millimetres, plus grid coordinates."""

    def __init__(self, params, pad):
        im, an = params["imaging"], params["anatomy"]
        self.sr, self.sc = (float(v) for v in params["spacing_mm"])
        self.h, self.w = (int(v) for v in params["matrix"])
        self.pad = pad
        he, we = self.h + 2 * pad[0], self.w + 2 * pad[1]
        self.shape = (he, we)
        self.k = float(an["body_scale"])
        th = np.deg2rad(an["tilt_deg"])
        self.rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        # the default placement was drawn for the default spacing; keep it relative
        self.origin = np.array([im["origin_row_mm"], im["origin_col_mm"]])
        self.yi = ((np.arange(he) - pad[0]) * self.sr).astype(np.float32)[:, None] \
            * np.ones((1, we), np.float32)
        self.xi = ((np.arange(we) - pad[1]) * self.sc).astype(np.float32)[None, :] \
            * np.ones((he, 1), np.float32)
        dy, dx = self.yi - self.origin[0], self.xi - self.origin[1]
        inv = self.rot.T / self.k
        self.ya = (inv[0, 0] * dy + inv[0, 1] * dx).astype(np.float32)
        self.xa = (inv[1, 0] * dy + inv[1, 1] * dx).astype(np.float32)

    def p(self, pts):
        pts = np.atleast_2d(np.asarray(pts, float))
        return self.origin + self.k * pts @ self.rot.T

    def v(self, vec):
        return self.rot @ np.asarray(vec, float)

    def line(self, pts):
        return _polyline(self.yi, self.xi, self.p(pts))

    def gauss(self, centre, sigma):
        return np.exp(-0.5 * ((self.ya - centre[0]) ** 2 + (self.xa - centre[1]) ** 2)
                      / sigma ** 2).astype(np.float32)


# --------------------------------------------------------------------------- anatomy
def _build(params, fr: _Frame, tis: dict, rng) -> dict:
    """Rest-state level sets and pre-painted layers, grouped by how they move."""
    an = params["anatomy"]
    k = fr.k
    shape = fr.shape
    px = min(fr.sr, fr.sc)
    big = np.float32(1e3)
    J = lambda s=1.0: rng.normal(0, s)  # noqa: E731
    rng_n = np.random.default_rng([int(params["seed"]), 21])  # noise fields: own stream
    nz = lambda mm: _noise(rng_n, shape, mm / px)  # noqa: E731

    # ---- bones (rigid): lumbosacral spine, sacrum, coccyx, pubic symphysis
    gap = an["presacral_gap_mm"]
    curv = rng.uniform(0.8, 1.2)
    sac = np.array([(-260, 40), (-190, 50 + J(3)), (-160, 58 + J(3)), (-130, 76 + J(3)),
                    (-100, 96 + 4 * curv), (-70, 106 + 8 * curv), (-42, 108 + 6 * curv),
                    (-20, 100 + 3 * curv), (-4, 88 + J(2)), (8, 80)], float)
    sac[:, 1] += gap
    d, s, side, total = fr.line(sac)
    off = side * d
    s_prom = float(np.sum(np.linalg.norm(np.diff(sac[:4], axis=0), axis=1))) * k
    s_tip = float(np.sum(np.linalg.norm(np.diff(sac[:9], axis=0), axis=1))) * k
    rel = np.clip((s - s_prom) / (s_tip - s_prom), 0, 1)
    thick = (np.where(s < s_prom, 32.0, 30 - 22 * rel) * k).astype(np.float32)
    inrange = s < s_tip
    phi_body_v = np.where(inrange, np.maximum(-off, off - thick), big) + 0.6 * nz(6)
    canal = np.where(s < s_prom + (s_tip - s_prom) * 0.75, (11 - 6 * rel) * k, 0)
    post_el = np.maximum(np.maximum(thick + canal - off, off - thick - canal - 9 * k),
                         s - (s_prom + 0.8 * (s_tip - s_prom)))
    phi_bone = np.minimum(phi_body_v, np.where(inrange, post_el, big))
    canal_mask = (off > thick) & (off < thick + canal) & inrange
    # discs: lumbar (thick, bright), fused sacral remnants, coccygeal joints
    disc = np.zeros(shape, np.float32)
    lumbar = [(s_prom - j * rng.uniform(36, 40) * k, rng.uniform(8, 11)) for j in range(1, 6)]
    for sk, hk in [(s_prom, 10.0)] + lumbar:
        disc = np.maximum(disc, (np.abs(s - sk) < hk * k / 2) & (off < thick - 2))
    seg_len = (s_tip - s_prom) / 6.0
    for i in range(1, 6):
        sk = s_prom + i * seg_len
        disc = np.maximum(disc, 0.5 * ((np.abs(s - sk) < 1.2 * k) & (off < thick - 1.5)))
    # symphysis: capsule from the inferior to the superior (anterior-cranial) end
    ang = rng.uniform(25, 45)
    p_inf = np.array([J(2), J(2)])
    length = rng.uniform(36, 48)
    p_sup = p_inf + length * _dirv(ang)
    ds, _, _, _ = fr.line([p_inf, p_sup])
    phi_sym = ds - rng.uniform(7, 9.5) * k + 0.5 * nz(5)
    phi_bone = np.minimum(phi_bone, phi_sym)
    marrow = tis["marrow"] * (1 + 0.12 * nz(2.5))
    bone_val = np.where(-phi_bone < 1.8, tis["cortex"], marrow)
    bone_val = np.where(disc >= 1, tis["disc"], bone_val)
    bone_val = np.where((disc > 0.2) & (disc < 1), 0.5 * (marrow + tis["disc"]), bone_val)
    bone_val = np.where((ds < 1.0 * k) & (phi_sym < -1.5), tis["disc"] * 0.8, bone_val)

    # ---- body outline, fat, skin, muscles (soft background)
    fa, fp = an["fat_anterior_mm"], an["fat_posterior_mm"]
    peri = np.array([(-420, -58), (-200, -58 + J(3)), (-110, -60 + J(3)), (-60, -50),
                     p_sup + (-8, -7), p_sup + (2, -3)])
    outline = [(-420, -70 - fa), (-200, -70 - fa + J(3)), (-100, -72 - fa), (-55, -62 - fa),
               (-25, -48 - 0.6 * fa), (0, -30 - 0.4 * fa), (18, -18 - 0.2 * fa), (32, 0),
               (44, 16), (48, 40), (54, 63), (48, 80), (32, 100 + 0.3 * fp),
               (0, 128 + fp), (-50, 145 + fp), (-120, 130 + fp), (-200, 118 + fp),
               (-420, 118 + fp)]
    from skimage.draw import polygon
    pts = fr.p(outline)
    rr, cc = polygon(pts[:, 0] / fr.sr + fr.pad[0], pts[:, 1] / fr.sc + fr.pad[1], shape)
    inside = np.zeros(shape, bool)
    inside[rr, cc] = True
    sampling = (fr.sr, fr.sc)
    phi_skin = (ndi.distance_transform_edt(~inside, sampling=sampling)
                - ndi.distance_transform_edt(inside, sampling=sampling)).astype(np.float32)
    phi_skin += 1.5 * nz(12)
    fat = tis["fat"] * (1 + 0.06 * nz(1.5) + 0.05 * nz(8))
    bg = np.where(phi_skin < 0, fat, 0.0).astype(np.float32)
    bg = np.where((phi_skin < 0) & (phi_skin > -2.2), tis["skin"], bg)
    muscle = tis["muscle"] * (1 + 0.06 * nz(2))
    dpe, _, sidep, _ = fr.line(peri)
    # organs stay behind the anterior abdominal wall and the symphysis
    dw, _, sidew, _ = fr.line(list(peri[:-1]) + [p_sup, p_inf, p_inf + (60, -6)])
    wall_ant = (-sidew * dw + 1.5 * k).astype(np.float32)
    rect_th = rng.uniform(7, 12) * k
    phi_mus = np.maximum(sidep * dpe, -sidep * dpe - rect_th)  # anterior band of peri line
    phi_mus = np.where(fr.ya < p_sup[0] + 6, phi_mus, big)
    # levator plate, puborectalis, perineal body, external sphincter region
    lev = [sac[8] + (0, -4), (14, 70 + J(3)), (26, 62 + J(2))]
    dl, _, _, _ = fr.line(lev)
    phi_mus = np.minimum(phi_mus, dl - rng.uniform(3, 4.5) * k + 0.5 * nz(4))
    dpr, _, _, _ = fr.line([(24, 60), (33, 66)])
    phi_mus = np.minimum(phi_mus, dpr - rng.uniform(5, 8) * k)
    dpb, _, _, _ = fr.line([(30, 38), (42, 44)])
    phi_mus = np.minimum(phi_mus, dpb - rng.uniform(5, 8) * k + nz(4))
    # paraspinal muscles behind the sacrum / lumbar spine
    phi_para = np.maximum(np.maximum(thick + canal + 10 * k - off, off - thick - canal - 45 * k),
                          fr.ya + 55)
    phi_mus = np.minimum(phi_mus, np.where(inrange | (fr.ya < -150), phi_para, big))
    bg = np.where((phi_mus < 0) & (phi_skin < -2), muscle, bg)
    bg = np.where(canal_mask & (phi_skin < 0), tis["csf"] * (1 + 0.05 * nz(3)), bg)

    # ---- bladder skeleton first: the uterus rests on the bladder dome
    fill = an["bladder_fill"]
    neck = np.array([-4 + J(2), 18 + J(2)])
    a_bl = rng.uniform(-5, 25)
    lbl = 10 + 55 * fill
    rmax = 13 + 25 * fill
    p0 = neck + (-3, 5)
    p1 = p0 + 0.45 * lbl * _dirv(a_bl)
    p2 = p1 + 0.55 * lbl * _dirv(a_bl + rng.uniform(-15, 15))

    # ---- uterus and vagina (one phase)
    st = an["uterus"]["state"]
    ls = an["uterus"]["length_scale"]
    intro = np.array([42 + J(1.5), 16 + J(1.5)])
    phi_v = rng.uniform(20, 40)
    alpha_v = -phi_v
    lv = rng.uniform(62, 85)
    vault = intro + lv * _dirv(alpha_v)
    bow = np.array([0.0, rng.uniform(-5, 5)])
    vag = [intro + (4, 0), intro + 0.5 * lv * _dirv(alpha_v) + bow, vault]
    dv, sv, _, lvt = fr.line(vag)
    gel = an["vaginal_gel"]
    frac = np.clip(sv / lvt, 0, 1)
    rv = (np.where(frac < 0.3, 5.0, 5.0 + 2.0 * np.clip((frac - 0.3) / 0.3, 0, 1))
          + (rng.uniform(4, 9) * np.clip((frac - 0.25) / 0.35, 0, 1) if gel else 0)) * k
    phi_uv = dv - rv + 0.8 * nz(8)
    uv_val = np.full(shape, tis["myo"], np.float32) * (1 + 0.05 * nz(3))
    lumen_w = np.where(gel, rv - 3.0 * k, 0.9 * k)
    vreg = dv < rv + 2
    e_cx = vault + 2 * _dirv(alpha_v)
    if st != "hysterectomy":
        if st in ("anteverted", "atrophic", "enlarged_fibroids", "adenomyosis"):
            a_c = alpha_v + an["uterus"]["anteversion_deg"]
            a_b = a_c + an["uterus"]["flexion_deg"]
            # a full bladder lifts the fundus: keep the body above the bladder dome
            a_b = float(np.clip(a_b, a_c - 10, 88 - 40 * an["bladder_fill"]))
            a_c = min(a_c, a_b + 10)
        elif st == "retroverted":
            a_c = alpha_v + rng.uniform(-15, 15)
            a_b = a_c - rng.uniform(15, 45)
        else:
            a_c = alpha_v + rng.uniform(25, 50)
            a_b = a_c + rng.uniform(-10, 10)
        atro = st == "atrophic"
        lc = rng.uniform(20, 25) if atro else rng.uniform(25, 35)
        rc = (rng.uniform(8, 11) if atro else rng.uniform(11, 14)) * k
        i_os = e_cx + lc * _dirv(a_c)
        lb = (rng.uniform(28, 40) if atro else rng.uniform(45, 65)) * ls
        rb = rng.uniform(9, 13) if atro else rng.uniform(17, 24)
        if st == "enlarged_fibroids":
            lb, rb = lb * rng.uniform(1.2, 1.7), rb * rng.uniform(1.2, 1.5)
        if st == "adenomyosis":
            lb, rb = lb * rng.uniform(1.1, 1.4), rb * rng.uniform(1.3, 1.6)
        mid = i_os + 0.5 * lb * _dirv(0.5 * (a_c + a_b))
        fund = mid + 0.5 * lb * _dirv(a_b)
        # the bladder pushes the body away (cranially / posteriorly) when it fills
        bl_skel = np.array([p0, p1, p2])
        for _ in range(3):
            for name, rad in (("i_os", rc / k), ("mid", 0.75 * rb), ("fund", 0.75 * rb)):
                pt = {"i_os": i_os, "mid": mid, "fund": fund}[name]
                dd, cp = _point_line(pt, bl_skel)
                need = 0.9 * rmax + rad
                if dd < need:
                    shift = (pt - cp) / max(dd, 1e-6) * (need - dd)
                    if name == "i_os":
                        i_os = i_os + shift
                    mid = mid + shift * (0.5 if name == "fund" else 1.0)
                    fund = fund + shift
        dcx, scx, _, _ = fr.line([e_cx, i_os])
        phi_cx = dcx - rc
        db, sb, _, lbt = fr.line([i_os, mid, fund])
        fb = np.clip(sb / lbt, 0, 1)
        rprof = (rc / k + (rb - rc / k) * np.sin(np.pi / 2 * np.clip(fb / 0.45, 0, 1))) * k
        phi_b = db - rprof + rng.uniform(0.8, 2.0) * nz(10)
        phi_body_u = _smin(phi_cx, phi_b, 4.0 * k)
        cav_w_body = (rng.uniform(0.5, 1.5) if atro else rng.uniform(2.5, 7)) * k
        jz_w = (0.0 if atro else rng.uniform(3, 7)) * k
        if st == "adenomyosis":
            jz_w = rng.uniform(11, 20) * k
        dcav, scav, _, lcav = fr.line([e_cx, i_os, mid, fund - (rb * 0.55) * _dirv(a_b)])
        in_body = scav > lc * k
        cav = np.where(scav < lc * k, 1.5 * k, cav_w_body) * (1 + 0.15 * nz(5))
        uv_val = np.where((phi_cx < 0) & ~in_body, tis["cervix"], uv_val)
        uv_val = np.where((phi_cx < -0.25 * rc) & ~in_body, tis["cervix"] * 0.9, uv_val)
        uv_val = np.where(in_body & (dcav < cav + jz_w) & (jz_w > 0), tis["jz"], uv_val)
        uv_val = np.where(dcav < cav, np.where(in_body, tis["endo"], tis["mucus"]), uv_val)
        if st == "adenomyosis":
            foci = (nz(1.2) > 2.3) & (dcav < cav + jz_w) & in_body
            uv_val = np.where(foci, tis["endo"], uv_val)
        if st == "enlarged_fibroids":
            for _ in range(int(an["uterus"]["n_fibroids"])):
                t_f = rng.uniform(0.25, 0.95)
                cf = i_os + t_f * (fund - i_os)
                nrm = np.array([-(fund - i_os)[1], (fund - i_os)[0]])
                nrm /= np.linalg.norm(nrm) + 1e-9
                rf = rng.uniform(7, 26)
                cf = cf + nrm * rng.uniform(-1, 1) * rb * rng.uniform(0.3, 1.1)
                dfb, _, _, _ = fr.line([cf, cf + (0.01, 0.0)])
                phi_f = dfb - rf * k + 0.7 * nz(3)
                phi_body_u = _smin(phi_body_u, phi_f, 3.0 * k)
                tex = tis["fibroid"] * (1 + 0.15 * nz(1.5))
                if rng.random() < 0.3:
                    tex = np.where(nz(2) > 0.6, tis["myo"] * 1.2, tex)
                uv_val = np.where(phi_f < 0, tex, uv_val)
        phi_uv = _smin(phi_uv, phi_body_u, 4.0 * k)
        vreg = vreg & (phi_cx > -1) & (dv < rv + 2)
        e_pt = e_cx
    else:
        cuff = vault + 3 * _dirv(alpha_v)
        dcf, _, _, _ = fr.line([vault, cuff])
        phi_uv = _smin(phi_uv, dcf - 8 * k, 3 * k)
        e_pt = vault
    uv_val = np.where(vreg, tis["vwall"] * (1 + 0.06 * nz(2)), uv_val)
    uv_val = np.where(vreg & (dv < lumen_w), tis["gel"] if gel else tis["vlumen"], uv_val)

    # ---- bladder
    dbl, sbl, _, lblt = fr.line([p0, p1, p2])
    fbl = np.clip(sbl / lblt, 0, 1)
    rprof = (8 + 4 * fill + (rmax - 8 - 4 * fill) * np.sin(np.pi / 2 * np.clip(fbl / 0.55, 0, 1)))
    phi_bl = dbl - rprof * k + (0.6 + 1.6 * fill) * nz(12)
    dnk, _, _, _ = fr.line([neck + (4, -1), p0])
    phi_bl = _smin(phi_bl, dnk - 6 * k, 3 * k)
    phi_uv = np.maximum(phi_uv, wall_ant)
    phi_bl = np.maximum(np.maximum(phi_bl, -phi_uv + 1.0), wall_ant)  # uterus indents it
    bl_wall = (rng.uniform(2, 3.5) + 4 * (1 - fill) * rng.uniform(0.5, 1)) * k
    # urethra (unlabelled, painted in the background layer)
    meatus = np.array([34 + J(2), 4 + J(2)])
    du, _, _, _ = fr.line([neck + (2, 0), 0.5 * (neck + meatus) + (0, -2), meatus])
    uw = rng.uniform(4, 5.5) * k
    bg = np.where((du < uw) & (phi_skin < -1), tis["urethra"], bg)
    bg = np.where((du < 0.8 * k) & (phi_skin < -1), tis["mucus"], bg)

    # ---- rectum and anal canal
    rcont = an["rectal_content"]
    verge = np.array([53 + J(1.5), 63 + J(1.5)])
    la = rng.uniform(28, 40)
    arj = verge + la * _dirv(rng.uniform(8, 25))
    r_amp = {"empty": rng.uniform(7, 9), "gas": rng.uniform(12, 20),
             "stool": rng.uniform(13, 22), "gel": rng.uniform(17, 27),
             "stool_gas": rng.uniform(14, 22), "gel_gas": rng.uniform(17, 26)}[rcont]
    rpts = [verge + (3, 1), arj, arj + 18 * _dirv(rng.uniform(-60, -40)),
            (-22, 76 + gap * 0.5 + J(3)), (-52, 84 + gap * 0.6 + J(3)),
            (-82, 82 + gap * 0.5 + J(3)), (-106, 70 + J(3))]
    rpts = [np.asarray(p, float) for p in rpts]
    dr, sr_, _, lrt = fr.line(rpts)
    s_an = la * k
    r_an = rng.uniform(6.5, 8.5)
    amp_w = np.clip((sr_ - s_an) / (18 * k), 0, 1) * np.clip((lrt - sr_) / (45 * k), 0.35, 1)
    rr_prof = (r_an + (r_amp - r_an) * amp_w) * k
    phi_r = dr - rr_prof + rng.uniform(0.8, 2.0) * nz(9)
    phi_r = np.maximum(np.maximum(phi_r, -phi_uv + 1.0), wall_ant)
    r_wall = rng.uniform(2.5, 4.5) * k
    lum_r = np.where(sr_ < s_an, -2.0, np.maximum(rr_prof - r_wall, 1.0 * k))
    phi_lum = dr - lum_r + 0.5 * nz(5)
    shrink = ((r_amp - 7.5) * k * amp_w * (sr_ > s_an)).astype(np.float32)
    anal = np.exp(-0.5 * ((sr_ - 0.5 * s_an) / (0.45 * s_an)) ** 2) * (dr < 20 * k)
    # rectocele: speed bump on the anterior wall of the lower ampulla
    c_rc = rpts[2] + (-6, -r_amp * 0.7)
    bump = fr.gauss(c_rc, 11 + 0.3 * r_amp) * np.clip((rpts[2][1] + 4 - fr.xa) / 8, 0, 1)
    # content
    tex = nz(2.5)
    if rcont == "empty":
        content = tis["mucus"] * (1 + 0.1 * tex)
        gasm = np.zeros(shape, np.float32)
    elif rcont == "gas":
        content = np.full(shape, tis["gas"], np.float32)
        gasm = np.ones(shape, np.float32)
    elif rcont.startswith("stool"):
        content = tis["stool"] * (1 + 0.3 * tex)
        gasm = (nz(1.5) > (1.6 if rcont == "stool_gas" else 2.6)).astype(np.float32)
    else:
        content = tis["gel"] * (1 + 0.04 * tex)
        gasm = np.zeros(shape, np.float32)
    if rcont.endswith("_gas"):
        # gas rises to the non-dependent (anterior, supine) side of the lumen
        inside = phi_lum < 0
        level = (float(fr.xa[inside].min()) if inside.any() else 40.0) + rng.uniform(4, 14)
        gasm = np.maximum(gasm, (fr.xa < level).astype(np.float32))
    content = np.where(gasm > 0.5, tis["gas"], content).astype(np.float32)

    # ---- small bowel loops, sigmoid (unlabelled, background priority)
    phi_bw = np.full(shape, big, np.float32)
    bw_val = np.zeros(shape, np.float32)
    bw_gas = np.zeros(shape, np.float32)
    # small bowel: loops on a jittered lattice that fills the peritoneal cavity above
    # the pelvic organs (more or fewer loops by the drawn count), touching each other
    loops = []
    dens = 0.5 + 0.05 * an["n_bowel_loops"]
    step = rng.uniform(24, 32)
    for yc in np.arange(-300, -30, step):
        for xc in np.arange(-50, 95, step):
            c = np.array([yc + rng.uniform(-0.3, 0.3) * step, xc + rng.uniform(-0.3, 0.3) * step])
            lim = np.interp(c[0], sac[:, 0], sac[:, 1]) - 12
            if c[1] > lim or rng.random() > dens or (c[0] > -45 and rng.random() < 0.5):
                continue
            loops.append((c, rng.uniform(0.45, 0.65) * step,
                          rng.choice(["fluid", "chyme", "gas", "collapsed"],
                                     p=[0.35, 0.4, 0.08, 0.17])))
    sig = [rpts[-1] + (3, 1), rpts[-1] + (-18, -8 + J(4)), (-140 + J(5), 40 + J(8)),
           (-135 + J(5), 12 + J(8))]
    ent_c = None
    if "enterocele" in an["pathology"]:
        ent_c = (e_pt + np.array([-12.0, 22.0]))
        loops.append((ent_c, rng.uniform(9, 13), "chyme"))
    sig_kind = {"gas": "gas", "empty": "collapsed"}.get(rcont, "chyme")
    items = [(None, rng.uniform(9, 15), sig_kind)] + loops
    bnz = 1.2 * nz(6)
    for i, (c, rad, kind) in enumerate(items):
        if c is None:
            dd, _, _, _ = fr.line(sig)
        else:
            e = rng.uniform(0.7, 1.3)
            ang = rng.uniform(0, np.pi)
            yy, xx = fr.ya - c[0], fr.xa - c[1]
            u1 = np.cos(ang) * yy + np.sin(ang) * xx
            u2 = -np.sin(ang) * yy + np.cos(ang) * xx
            dd = np.sqrt((u1 * e) ** 2 + (u2 / e) ** 2) * k
        ph = dd - rad * k + bnz
        if kind == "collapsed":
            ph = ph + rad * 0.35 * k
        m = ph < phi_bw
        wall = rng.uniform(1.5, 3.0) * k
        val = {"fluid": tis["bfluid"], "chyme": tis["chyme"], "gas": tis["gas"],
               "collapsed": tis["gutwall"]}[kind] * rng.uniform(0.85, 1.15)
        lumen = np.where(ph < -wall, val * (1 + 0.12 * tex), tis["gutwall"])
        if kind == "chyme":
            lumen = np.where((ph < -wall) & (tex > 1.3), tis["bfluid"], lumen)
        bw_val = np.where(m, lumen, bw_val)
        bw_gas = np.where(m, float(kind == "gas") * (ph < -wall), bw_gas)
        phi_bw = np.where(m, ph, phi_bw)
        if i == len(items) - 1 and ent_c is not None:
            phi_ent = ph.copy()
    # loops stay inside the peritoneal cavity (behind the anterior abdominal wall)
    phi_bw = np.maximum(phi_bw, -sidep * dpe + 2 * k)
    phi_bw = np.maximum(phi_bw, -phi_bone)
    # vessels and free fluid in the background
    for _ in range(int(rng.integers(3, 9))):
        c = np.array([rng.uniform(-120, 30), rng.uniform(-30, 95)])
        dd = np.sqrt((fr.ya - c[0]) ** 2 + (fr.xa - c[1]) ** 2) * k
        bg = np.where((dd < rng.uniform(1.5, 3.2) * k) & (phi_skin < -3), tis["vessel"], bg)
    if an["free_fluid"]:
        c = e_pt + np.array([-4.0, 16.0])
        ff = np.sqrt((fr.ya - c[0]) ** 2 + ((fr.xa - c[1]) * 1.6) ** 2) * k \
            - rng.uniform(5, 10) * k + nz(3)
        bg = np.where(ff < 0, tis["bfluid"], bg)

    groups = {
        "bone": dict(stack=np.stack([phi_bone, bone_val]), fill=[big, 0.0]),
        "bg": dict(stack=np.stack([bg, phi_skin, wall_ant]), fill=[0.0, big, big]),
        "bowel": dict(stack=np.stack([phi_bw, bw_val, bw_gas]), fill=[big, 0.0, 0.0]),
        "bladder": dict(stack=np.stack([phi_bl]), fill=[big]),
        "uv": dict(stack=np.stack([phi_uv, uv_val]), fill=[big, 0.0]),
        "rectum": dict(stack=np.stack([phi_r, phi_lum, content, gasm]),
                       fill=[big, big, 0.0, 0.0]),
    }
    if ent_c is not None:
        groups["ent"] = dict(stack=np.stack([phi_ent, bw_val]), fill=[big, 0.0])
    for name, g in groups.items():
        g["stack"] = g["stack"].astype(np.float32)
        if name in ("bg",):
            g["bbox"] = (0, shape[0], 0, shape[1])
        else:
            m = g["stack"][0] < 20
            rows, cols = np.nonzero(m.any(1))[0], np.nonzero(m.any(0))[0]
            if rows.size == 0:
                g["bbox"] = (0, 1, 0, 1)
            else:
                g["bbox"] = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
    extra = dict(shrink=shrink, anal=anal.astype(np.float32), bump=bump, bl_wall=bl_wall,
                 r_wall=r_wall, cervix=e_pt, neck=neck, rpts=rpts, ent_c=ent_c,
                 bl_mid_y=float(p1[0]))
    return {"groups": groups, "extra": extra}


# --------------------------------------------------------------------------- motion
def _sample(group, rr, cc, margin, shape):
    """Backward-warp a group's stack: rr, cc are rest-grid indices for every pixel."""
    r0, r1, c0, c1 = group["bbox"]
    r0, c0 = max(0, r0 - margin), max(0, c0 - margin)
    r1, c1 = min(shape[0], r1 + margin), min(shape[1], c1 + margin)
    out = []
    coords = np.stack([rr[r0:r1, c0:c1], cc[r0:r1, c0:c1]])
    for f, fill in zip(group["stack"], group["fill"], strict=True):
        full = np.full(shape, fill, np.float32)
        full[r0:r1, c0:c1] = ndi.map_coordinates(f, coords, order=1, prefilter=False,
                                                 mode="nearest")
        out.append(full)
    return out


def _largest(mask):
    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


# --------------------------------------------------------------------------- render
def render(params: dict):
    """Frames (T, H, W) float32, labels (T, H, W) uint8, spacing (row, col) mm, params."""
    params = json.loads(json.dumps(params))
    seed = int(params["seed"])
    im, mo = params["imaging"], params["motion"]
    n = int(params["n_frames"])
    dt = float(params["frame_interval_s"])
    h, w = (int(v) for v in params["matrix"])
    sr, sc = (float(v) for v in params["spacing_mm"])
    axis = 1 if im["phase_axis"] == "col" else 0
    pad = [0, 0]
    if im["wrap"]:
        pad[axis] = int(round(0.18 * (w if axis == 1 else h)))
    fr = _Frame(params, tuple(pad))
    shape = fr.shape
    rng_t = np.random.default_rng([seed, 11])
    base = TISSUE[im["contrast"]]
    tis = {kk: float(v * rng_t.uniform(0.85, 1.15)) for kk, v in base.items()}
    tis["cortex"] = min(tis["cortex"], 0.05)
    tis["gas"] = min(tis["gas"], 0.03)
    rng_a = np.random.default_rng([seed, 12])
    built = _build(params, fr, tis, rng_a)
    groups, ex = built["groups"], built["extra"]
    s_t, ev_t, op_t = _profiles(mo, n)
    peak = int(np.argmax(s_t))
    k = fr.k

    # static displacement weight maps (image frame), vectors rotated into the image frame
    des = mo["descent_mm"]
    v = {key: fr.v(val) * k for key, val in des.items()}
    g_floor = fr.gauss((20, 45), 48)
    g_bl = (1 / (1 + np.exp(-(fr.ya - ex["bl_mid_y"]) / 12))) * fr.gauss(ex["neck"], 75)
    g_uv = fr.gauss(ex["cervix"], 48)
    g_r = fr.gauss(ex["rpts"][2], 42)
    w_b = np.clip((-fr.ya - 10) / 160, 0, 1)
    w_ba = w_b * np.clip((-fr.xa - 20) / 50, 0, 1) + 0.3 * w_b
    ent_v = None
    if ex["ent_c"] is not None:
        g_ent = fr.gauss(ex["ent_c"], 22)
        ent_v = fr.v((mo["enterocele_descent_mm"], -3.0)) * k
        sept = ex["ent_c"] + np.array([mo["enterocele_descent_mm"] * 0.6, 0.0])
        g_sept = fr.gauss(sept, 20)
        push = fr.v((0.0, 12.0)) * k * min(1.0, mo["enterocele_descent_mm"] / 25)
    rng_m = np.random.default_rng([seed, 13])
    drift = np.cumsum(rng_m.normal(0, mo["drift_mm"], (n, 2)), axis=0)
    drift -= drift[0]
    rot = np.cumsum(rng_m.normal(0, 0.12, n))
    rot -= rot[0]
    jerk = fr.v(mo["jerk_mm"])
    bphase = rng_m.uniform(0, 2 * np.pi)
    centre = np.array([float(fr.yi.mean()), float(fr.xi.mean())])
    tau = max(sr, sc) * (0.6 + 0.05 * im["slice_thickness_mm"])
    max_disp = 8 + max(np.abs(np.concatenate(list(v.values()))).max(),
                       mo["enterocele_descent_mm"] * k) + 6
    margin = int(max_disp / min(sr, sc)) + 4

    frames = np.zeros((n, *shape), np.float32)
    gasf = np.zeros((n, *shape), np.float32)
    labels = np.zeros((n, *shape), np.uint8)
    organs = ("bladder", "uv", "rectum")
    for t in range(n):
        st = s_t[t]
        # rigid part: rotation about the centre + drift + jerk with strain
        a = np.deg2rad(rot[t])
        tr = drift[t] + jerk * st
        yy = fr.yi - centre[0] - tr[0]
        xx = fr.xi - centre[1] - tr[1]
        ry = np.cos(a) * yy + np.sin(a) * xx + centre[0]
        rx = -np.sin(a) * yy + np.cos(a) * xx + centre[1]
        br = mo["breath_amp_mm"] * np.sin(2 * np.pi * t * dt / mo["breath_period_s"] + bphase)
        soft_y = br * w_b + st * v["floor"][0] * g_floor
        soft_x = -0.4 * br * w_ba + st * v["floor"][1] * g_floor

        def coords(dy, dx, ry=ry, rx=rx):
            return (ry - dy) / sr + pad[0], (rx - dx) / sc + pad[1]

        out = {}
        out["bone"] = _sample(groups["bone"], *coords(0, 0), margin, shape)
        out["bg"] = _sample(groups["bg"], *coords(soft_y, soft_x), margin, shape)
        by, bx = 0.6 * soft_y, 0.6 * soft_x
        if ent_v is not None:
            out["ent"] = _sample(groups["ent"], *coords(soft_y + st * ent_v[0] * g_ent,
                                                        soft_x + st * ent_v[1] * g_ent),
                                 margin, shape)
        out["bowel"] = _sample(groups["bowel"], *coords(by, bx), margin, shape)
        oy = {"bladder": soft_y + st * v["bladder"][0] * g_bl,
              "uv": soft_y + st * v["uterus_vagina"][0] * g_uv,
              "rectum": soft_y + st * v["rectum"][0] * g_r}
        ox = {"bladder": soft_x + st * v["bladder"][1] * g_bl,
              "uv": soft_x + st * v["uterus_vagina"][1] * g_uv,
              "rectum": soft_x + st * v["rectum"][1] * g_r}
        if ent_v is not None:
            oy["uv"] = oy["uv"] - st * push[0] * g_sept
            ox["uv"] = ox["uv"] - st * push[1] * g_sept
            oy["rectum"] = oy["rectum"] + st * push[0] * g_sept
            ox["rectum"] = ox["rectum"] + st * push[1] * g_sept
        # time-dependent speed terms on the rectum, applied in rest coordinates
        rg = groups["rectum"]
        speed = (ev_t[t] * ex["shrink"] - op_t[t] * 3.5 * k * ex["anal"]
                 - st * mo["rectocele_bulge_mm"] * k * ex["bump"])
        lspeed = (ev_t[t] * ex["shrink"] - op_t[t] * 9.0 * k * ex["anal"]
                  - st * mo["rectocele_bulge_mm"] * k * ex["bump"])
        rstack = dict(rg, stack=np.stack([rg["stack"][0] + speed, rg["stack"][1] + lspeed,
                                          rg["stack"][2], rg["stack"][3]]))
        out["bladder"] = _sample(groups["bladder"], *coords(oy["bladder"], ox["bladder"]),
                                 margin, shape)
        out["uv"] = _sample(groups["uv"], *coords(oy["uv"], ox["uv"]), margin, shape)
        out["rectum"] = _sample(rstack, *coords(oy["rectum"], ox["rectum"]), margin, shape)

        phi_bone, bone_val = out["bone"]
        bg_val, phi_skin, wall_ant = out["bg"]
        obst = np.maximum(np.maximum(-phi_bone, phi_skin + 1.0), wall_ant)
        phis = {o: np.maximum(out[o][0], obst) for o in organs}
        phases = dict(phis)
        bias = {"uv": 1.0}
        names = list(phases)
        psi = {}
        for nm in names:
            others = np.min(np.stack([phases[o] - bias.get(o, 0.0) for o in names if o != nm]),
                            axis=0)
            psi[nm] = np.maximum(phases[nm], 0.5 * (phases[nm] - others))
        lab = np.zeros(shape, np.uint8)
        for code, nm in ((1, "bladder"), (2, "uv"), (3, "rectum")):
            m = _largest(psi[nm] < 0)
            psi[nm] = np.where((psi[nm] < 0) & ~m, tau, psi[nm])
            lab[m] = code
        labels[t] = lab
        # painting: background, bowel, enterocele, organs, bones
        img = bg_val.copy()
        org_min = np.minimum(np.minimum(psi["bladder"], psi["uv"]), psi["rectum"])
        phi_bw, bw_val, bw_gas = out["bowel"]
        phi_bw = np.maximum(np.maximum(phi_bw, -org_min), phi_skin + 1.0)
        if ent_v is not None:
            # the enterocele sac fills the space the organs leave (they are pushed apart)
            psi_ent = np.maximum(np.maximum(out["ent"][0], obst), -org_min)
            phi_bw = np.maximum(phi_bw, -psi_ent)
            al = _soft(psi_ent, tau)
            img = img * (1 - al) + al * out["ent"][1]
        al = _soft(phi_bw, tau)
        img = img * (1 - al) + al * bw_val
        gas = al * bw_gas
        # bladder
        p = psi["bladder"]
        inner = _soft(p + ex["bl_wall"], tau)
        val = tis["bwall"] * (1 - inner) + tis["urine"] * inner
        al = _soft(p, tau)
        img = img * (1 - al) + al * val
        # uterus / vagina
        al = _soft(psi["uv"], tau)
        img = img * (1 - al) + al * out["uv"][1]
        # rectum
        p = psi["rectum"]
        phi_r, phi_l, cont, rgas = out["rectum"]
        lum = _soft(np.maximum(phi_l, p + 0.6 * ex["r_wall"]), tau)
        val = tis["rwall"] * (1 - lum) + cont * lum
        al = _soft(p, tau)
        img = img * (1 - al) + al * val
        gas = np.maximum(gas, al * lum * rgas)
        # bones on top
        al = _soft(phi_bone, tau * 0.8)
        img = img * (1 - al) + al * bone_val
        frames[t] = img
        gasf[t] = gas

    frames = _acquire(frames, gasf, s_t, params, fr, np.random.default_rng([seed, 14]))
    # fold (wrap-around) and crop to the field of view
    if pad[axis]:
        p_ = pad[axis]
        frames = np.moveaxis(frames, axis + 1, -1)
        core = frames[..., p_:-p_].copy()
        ramp = np.linspace(0.1, 0.6, p_, dtype=np.float32)  # coil fall-off outside the FOV
        core[..., -p_:] += frames[..., :p_] * ramp
        core[..., :p_] += frames[..., -p_:] * ramp[::-1]
        frames = np.moveaxis(core, -1, axis + 1)
        labels = labels[:, pad[0]:pad[0] + h, pad[1]:pad[1] + w]
    frames = _noise_and_coils(frames, params, np.random.default_rng([seed, 15]))
    params["rest_frame"] = 0
    params["peak_frame"] = peak
    params["strain_profile"] = [round(float(x), 4) for x in s_t]
    params["labels"] = dict(LABELS)
    return frames.astype(np.float32), labels, (sr, sc), params


def _acquire(frames, gasf, s_t, params, fr, rng):
    """Contrast-dependent effects, ghosts and resolution loss on the noise-free frames."""
    im = params["imaging"]
    n, he, we = frames.shape
    px = min(fr.sr, fr.sc)
    contrast = im["contrast"]
    # fat-saturation failure near the body periphery (crude: brighten bright-ish fat areas)
    if contrast == "t2_fs" and im["fatsat_failure"] > 0:
        fs = np.clip(_noise(rng, (he, we), 40 / px) * 0.5 + 0.3, 0, 1) * im["fatsat_failure"]
        frames = frames * (1 + fs)
    # susceptibility blooming near gas
    if im["susceptibility"] > 0 and gasf.max() > 0:
        halo = ndi.gaussian_filter(gasf, (0, 2.5 / px, 2.5 / px))
        frames = frames * (1 - np.clip(im["susceptibility"] * 2.2 * halo, 0, 0.95))
    # bSSFP banding from a static B0 map (+ gas dipole term)
    if contrast == "bssfp":
        yy = (fr.yi - fr.yi.mean()) / 200.0
        xx = (fr.xi - fr.xi.mean()) / 200.0
        c = rng.normal(0, 1, 5) * np.array([1, 1, 0.5, 0.5, 0.5])
        b0 = im["offres_cycles"] * (c[0] * yy + c[1] * xx + c[2] * yy * xx + c[3] * yy ** 2
                                    + c[4] * xx ** 2) + 0.1 * _noise(rng, (he, we), 40 / px)
        b0 = b0[None] + 0.8 * ndi.gaussian_filter(gasf, (0, 5 / px, 5 / px))
        frac = np.mod(b0, 1.0) - 0.5
        width = rng.uniform(0.015, 0.035)
        frames = frames * (1 - im["banding_depth"] * np.exp(-0.5 * (frac / width) ** 2))
    # flicker of the overall signal
    frames = frames * (1 + 0.015 * rng.standard_normal(n))[:, None, None].astype(np.float32)
    # motion ghosts along the phase-encode direction, stronger while straining
    axis = 2 if im["phase_axis"] == "col" else 1
    if im["ghost_amp"] > 0:
        nn = frames.shape[axis]
        shift = nn // int(rng.integers(2, 5))
        amp = (im["ghost_amp"] * (0.35 + np.asarray(s_t)))[:, None, None]
        frames = frames + amp * 0.5 * (np.roll(frames, shift, axis) + np.roll(frames, -shift,
                                                                              axis))
    # limited acquired resolution: truncate k-space (Gibbs ringing) with slight apodisation
    fa, fr_ = im["acq_frac_phase"], im["acq_frac_read"]
    ky = np.fft.fftfreq(he)[:, None]
    kx = np.fft.fftfreq(we)[None, :]
    fy, fx = (fa, fr_) if axis == 1 else (fr_, fa)
    mask = ((np.abs(ky) <= 0.5 * fy) & (np.abs(kx) <= 0.5 * fx)).astype(np.float32)
    mask *= np.exp(-0.5 * ((ky / (0.5 * fy)) ** 2 + (kx / (0.5 * fx)) ** 2) / 2.5)
    thick = im["slice_thickness_mm"]
    out = sfft.ifft2(sfft.fft2(frames.astype(np.float32), axes=(1, 2)) * mask, axes=(1, 2)).real
    if thick > 7:
        out = ndi.gaussian_filter(out, (0, 0.25 * (thick - 7) / fr.sr, 0.25 * (thick - 7) / fr.sc))
    return np.maximum(out, 0).astype(np.float32)


def _noise_and_coils(frames, params, rng):
    """Coil shading, g-factor map and single-coil Rician or multi-coil SoS noise."""
    im = params["imaging"]
    n, h, w = frames.shape
    yy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    body = frames > 0.2 * np.percentile(frames, 95)
    ref = float(frames[body].mean()) if body.any() else 1.0
    sigma = ref / float(params["snr"])
    nc = int(im["n_coils"])
    bs = im["bias_strength"]
    # dielectric / B1 shading (stronger at 3 T)
    shade = 1 + bs * (rng.normal(0, 0.6) * yy + rng.normal(0, 0.6) * xx
                      - rng.uniform(0, 1) * np.exp(-(yy ** 2 + xx ** 2) / 0.3))
    shade = np.clip(shade, 0.3, 2.0).astype(np.float32)
    r_acc = int(im["acceleration"])
    gmap = (1 + 0.35 * (r_acc - 1) * np.exp(-((yy * 1.3) ** 2 + (xx * 1.3) ** 2))).astype(
        np.float32)
    if nc == 1:
        sens = [shade]
    else:
        sens = []
        for i in range(nc):
            side = -1.0 if i % 2 == 0 else 1.0
            cy = (i // 2) / max(1, (nc - 1) // 2) * 1.6 - 0.8 + rng.normal(0, 0.1)
            cx = side * rng.uniform(0.9, 1.2)
            width = rng.uniform(0.8, 1.1)
            sens.append((0.15 + np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width ** 2)))
                        * shade)
        tot = np.sqrt(sum(s ** 2 for s in sens))
        norm = float(np.percentile(tot, 90))
        sens = [s / norm for s in sens]
    acc = np.zeros_like(frames)
    for s in sens:
        sig = (sigma * gmap).astype(np.float32)
        re = frames * s + sig * rng.standard_normal(frames.shape, dtype=np.float32)
        imag = sig * rng.standard_normal(frames.shape, dtype=np.float32)
        acc += re * re + imag * imag
    out = np.sqrt(acc) * np.float32(im["gain"])
    return out.astype(np.float32)


def generate(seed: int):
    """``render(draw_params(seed))``."""
    return render(draw_params(seed))


# --------------------------------------------------------------------------- writing
def _write_case(seed: int, out: str) -> str:
    from core.io.dicom_write import write_dicom_series
    from core.series import CineSeries

    frames, labels, spacing, params = generate(seed)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    dt = float(params["frame_interval_s"])
    times = np.arange(frames.shape[0]) * dt
    im = params["imaging"]
    desc = f"cine sag pelvic floor levelset {_DESC[im['contrast']]}"
    series = CineSeries(frames=frames, spacing_mm=spacing, times_s=times,
                        meta={"series_description": desc, "subject_id": f"{PREFIX}_{seed:03d}"})
    write_dicom_series(series, case / "series", seed=seed, patient_id=f"{PREFIX}_{seed:03d}",
                       patient_name=f"LEVELSET^{seed:03d}",
                       slice_thickness_mm=float(im["slice_thickness_mm"]))
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    an = params["anatomy"]
    return (f"{case.name}: {frames.shape[0]}x{frames.shape[1]}x{frames.shape[2]} "
            f"{im['contrast']} {an['uterus']['state']} fill={an['bladder_fill']:.2f} "
            f"rectum={an['rectal_content']} {params['motion']['manoeuvre']} "
            f"path={','.join(an['pathology']) or '-'}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="100-195")
    ap.add_argument("--out", default="levelset_cases")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for line in map_jobs(functools.partial(_write_case, out=args.out), seeds, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
