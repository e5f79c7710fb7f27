"""Stream: labelled synthetic cine mid-sagittal female pelvic MRI, painted and advected.

An independent held-out generator.  Each case is built in three stages that share no
code with the rest of the repository's phantoms:

1. **Painting.**  The rest anatomy is painted like an illustration: every structure is
   a union of brush dabs (discs or calligraphic elliptical nibs) swept along
   Catmull-Rom chains of cubic Bezier segments whose "pen pressure" (width) varies
   along the stroke, laid down in anatomical order (body fat, muscle, bowel, vessels,
   bladder, rectum, vagina, uterus, urethra, abdominal wall, bones last).  The skin is a
   closed Bezier outline filled by scan lines.
2. **Flow.**  Frames are produced by advecting the painted tissue (texture and labels
   together) with a velocity field made of divergence-free "jets" (the curl of a
   stream function ``psi = (d x r) G(r)``), a random smooth swirl (curl of filtered
   noise), breathing, and regularised point sources/sinks (bladder filling, rectal
   emptying).  The manoeuvre (rest, Valsalva, Kegel squeeze, cough, defecation) sets
   the time course of each component; prolapse pockets (cystocele, uterine/vault
   prolapse, enterocele, rectocele) are extra jets that grow with strain.  A backward
   map is integrated with semi-Lagrangian steps, so deformation is cumulative; bones
   are held nearly rigid and the skin is held fixed.  Through-plane drift of the slice
   is modelled with a lateral half-width per organ pixel (from its in-plane depth) and
   a slab of finite thickness, giving partial volume and shrinking organs.
3. **Acquisition.**  Per-sequence tissue contrast (single-shot T2 / HASTE, balanced
   SSFP with banding, T1 spoiled GRE with dark urine and opposed-phase fat, T2 fat
   suppressed, low-SNR real-time FLASH) simulated in k-space: coil bias, smooth phase,
   gas susceptibility dropout, chemical shift of fat along the readout, reduced
   acquired resolution (ringing), partial Fourier zero filling, T2 echo-train blur,
   residual parallel-imaging aliasing, occasional artefact frames (ghost, spike,
   intensity jump), complex Gaussian noise and magnitude (Rician) reconstruction, then
   an arbitrary global scale.

Image convention: rows head (row 0) to feet, column 0 anterior, last column posterior.

Labels (one uint8 image per frame, never overlapping; each present label is one
connected piece; pixels whose slab overlap with the organ is below one half are 0):

* 1 ``bladder``: urine plus bladder wall (and a catheter balloon inside it); not the
  urethra, not the catheter tube.
* 2 ``uterus_vagina``: uterine body with myometrium, junctional zone, endometrium and
  any fibroids (including subserosal ones), cervix with its canal, vagina (walls and
  mucosa) from the vault to the introitus at the skin.  After hysterectomy: the vagina
  up to its vault.
* 3 ``rectum``: the anal canal from the anal verge (internal sphincter, mucosa; the
  external sphincter, puborectalis and levator are 0) and the rectum (wall plus any
  content: stool, gas, gel) up to the rectosigmoid junction, placed where the bowel
  leaves the sacral concavity at about the S2-S3 level, roughly 11-14 cm from the
  verge along the bowel.  The sigmoid beyond is unlabelled bowel.

Run ``python benchmarks/stream_generator.py --seeds 100-195 --out stream_cases``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

PREFIX = "stream"
LABELS = {"bladder": 1, "uterus_vagina": 2, "rectum": 3}

SEQUENCES = ("haste_t2", "bssfp", "t1_spgr", "t2_fs", "rt_flash")
UTERUS_STATES = ("anteverted", "anteflexed", "retroverted", "retroflexed", "fibroid",
                 "atrophic", "hysterectomy")
MANOEUVRES = ("rest", "valsalva", "kegel", "cough", "defecation")
RECTAL_CONTENTS = ("empty", "stool", "gas", "gel_bright", "gel_dark")

# name: (haste_t2, bssfp, t1_spgr, t2_fs, rt_flash) relative signal
_SIGNAL = {
    "air": (0.0, 0.0, 0.0, 0.0, 0.0),
    "subfat": (0.80, 0.85, 1.00, 0.07, 0.80),
    "muscle": (0.17, 0.22, 0.35, 0.16, 0.38),
    "pelvfat": (0.74, 0.80, 0.95, 0.08, 0.76),
    "cortex": (0.03, 0.04, 0.03, 0.03, 0.05),
    "marrow": (0.55, 0.60, 0.80, 0.14, 0.62),
    "disc": (0.55, 0.45, 0.30, 0.55, 0.35),
    "csf": (1.00, 0.95, 0.10, 1.00, 0.30),
    "urine": (1.00, 0.95, 0.10, 1.00, 0.30),
    "bwall": (0.22, 0.28, 0.35, 0.25, 0.40),
    "myo": (0.50, 0.45, 0.42, 0.55, 0.50),
    "jz": (0.26, 0.33, 0.40, 0.28, 0.47),
    "endo": (0.90, 0.70, 0.38, 0.95, 0.45),
    "fibroid": (0.14, 0.25, 0.32, 0.16, 0.42),
    "fibroid_b": (0.72, 0.60, 0.45, 0.80, 0.48),
    "cervix": (0.20, 0.30, 0.36, 0.22, 0.42),
    "vagwall": (0.28, 0.32, 0.36, 0.30, 0.42),
    "vagmuc": (0.70, 0.60, 0.32, 0.75, 0.40),
    "rwall": (0.30, 0.33, 0.38, 0.32, 0.42),
    "stool": (0.42, 0.45, 0.52, 0.45, 0.50),
    "gas": (0.02, 0.02, 0.02, 0.02, 0.03),
    "gel_b": (0.95, 0.90, 0.80, 0.95, 0.75),
    "gel_d": (0.06, 0.08, 0.05, 0.06, 0.08),
    "bowelwall": (0.32, 0.35, 0.40, 0.34, 0.45),
    "bowelfluid": (0.85, 0.85, 0.15, 0.88, 0.35),
    "vessel": (0.05, 0.90, 0.60, 0.08, 0.85),
    "balloon": (0.95, 0.92, 0.10, 0.98, 0.30),
    "catheter": (0.03, 0.05, 0.05, 0.03, 0.06),
    "urethra": (0.30, 0.32, 0.38, 0.32, 0.42),
    "sphincter": (0.20, 0.26, 0.36, 0.20, 0.40),
    "analmuc": (0.48, 0.42, 0.40, 0.50, 0.45),
}
_NAMES = list(_SIGNAL)
_TID = {n: i for i, n in enumerate(_NAMES)}
_FAT = {"subfat": 1.0, "pelvfat": 0.95, "marrow": 0.6}
# (fine, coarse) multiplicative texture amplitude
_TEXTURE = {"subfat": (0.07, 0.05), "pelvfat": (0.10, 0.08), "stool": (0.25, 0.20),
            "bowelfluid": (0.10, 0.15), "myo": (0.06, 0.06), "fibroid": (0.12, 0.10),
            "fibroid_b": (0.15, 0.10), "urine": (0.015, 0.03), "gel_b": (0.03, 0.05),
            "muscle": (0.08, 0.05), "marrow": (0.10, 0.08), "csf": (0.02, 0.02)}
_BONE = ("cortex", "marrow", "disc")
_GAS_LIKE = ("gas",)


# --------------------------------------------------------------------------- params


def _pick(rng: np.random.Generator, options, probs):
    p = np.asarray(probs, dtype=float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def draw_params(seed: int) -> dict:
    """JSON-serialisable parameters of one case: patient, manoeuvre, acquisition."""
    rng = np.random.default_rng([int(seed), 0x57E4A])

    def u(a, b):
        return round(float(rng.uniform(a, b)), 3)

    fov_h = rng.uniform(280.0, 400.0)
    row_mm = float(np.clip(rng.uniform(1.1, 1.5), fov_h / 288, fov_h / 224))
    h = int(np.clip(round(fov_h / row_mm), 224, 288))
    row_mm = float(np.clip(fov_h / h, 1.1, 1.5))
    fov_w = float(np.clip(fov_h * rng.uniform(0.85, 1.05), 280.0, 400.0))
    col_mm = row_mm if rng.random() < 0.6 else float(rng.uniform(1.1, 1.5))
    col_mm = float(np.clip(col_mm, fov_w / 288, fov_w / 224))
    w = int(np.clip(round(fov_w / col_mm), 224, 288))
    col_mm = float(np.clip(fov_w / w, 1.1, 1.5))

    state = _pick(rng, UTERUS_STATES, [0.26, 0.16, 0.12, 0.07, 0.13, 0.13, 0.13])
    fill = float(rng.beta(1.3, 1.6))
    if rng.random() < 0.1:
        fill = float(rng.uniform(0.02, 0.08))
    catheter = bool(rng.random() < 0.08)
    if catheter:
        fill = float(rng.uniform(0.03, 0.25))
    length = {"fibroid": (80, 115), "atrophic": (36, 50), "hysterectomy": (0, 0)}.get(
        state, (58, 82))
    width = {"fibroid": (50, 70), "atrophic": (18, 27), "hysterectomy": (0, 0)}.get(
        state, (32, 46))
    version, flexion = {
        "anteverted": ((60, 95), (0, 20)), "anteflexed": ((45, 75), (25, 55)),
        "retroverted": ((-25, 5), (-10, 10)), "retroflexed": ((-5, 20), (-45, -25)),
        "fibroid": ((30, 90), (-10, 25)), "atrophic": ((20, 90), (-10, 20)),
        "hysterectomy": ((0, 0), (0, 0)),
    }[state]
    fibroids = []
    if state == "fibroid" or (state in ("anteverted", "anteflexed") and rng.random() < 0.1):
        for _ in range(int(rng.integers(1, 5)) if state == "fibroid" else 1):
            fibroids.append([u(0.25, 0.95), u(-1.1, 1.1), u(7, 24), bool(rng.random() < 0.25)])
    manoeuvre = _pick(rng, MANOEUVRES, [0.14, 0.36, 0.15, 0.15, 0.20])
    if manoeuvre == "defecation":
        content = _pick(rng, RECTAL_CONTENTS, [0.0, 0.1, 0.0, 0.6, 0.3])
    else:
        content = _pick(rng, RECTAL_CONTENTS, [0.35, 0.3, 0.15, 0.12, 0.08])
    rdiam = {"empty": (16, 22), "stool": (28, 45), "gas": (30, 46)}.get(content, (34, 52))

    anatomy = {
        "uterus_state": state,
        "uterus_length_mm": u(*length),
        "uterus_width_mm": u(*width),
        "version_deg": u(*version),
        "flexion_deg": u(*flexion),
        "fibroids": fibroids,
        "endometrium_mm": u(1, 3) if state == "atrophic" else u(3, 12),
        "cervix_length_mm": u(20, 28) if state == "atrophic" else u(25, 35),
        "cervix_width_mm": u(20, 28),
        "vagina_length_mm": u(55, 78) if state == "hysterectomy" else u(65, 92),
        "vagina_lower_deg": u(68, 84),
        "vagina_upper_deg": u(35, 55),
        "vagina_thickness_mm": u(9, 14),
        "bladder_fill": round(fill, 3),
        "bladder_wall_mm": u(2.5, 5),
        "catheter": catheter,
        "rectal_content": content,
        "rectal_diameter_mm": u(*rdiam),
        "anorectal_angle_deg": u(88, 122),
        "anal_canal_mm": u(28, 40),
        "subcut_anterior_mm": u(8, 45),
        "subcut_posterior_mm": u(6, 30),
        "sacral_curvature": u(0.7, 1.3),
        "symphysis_mm": u(36, 46),
        "n_bowel_loops": int(rng.integers(6, 17)),
        "cystocele_mm": u(8, 28) if rng.random() < 0.35 else 0.0,
        "uterine_prolapse_mm": u(8, 25) if rng.random() < 0.25 else 0.0,
        "enterocele_mm": u(10, 28) if rng.random() < 0.2 else 0.0,
        "rectocele_mm": u(6, 20) if rng.random() < 0.35 else 0.0,
        "lateral_halfwidth_scale": u(1.3, 1.9),
    }
    descent = {"valsalva": (8, 30), "defecation": (12, 32), "cough": (5, 16)}.get(
        manoeuvre, (0, 0))
    drift = u(3, 10) if rng.random() < 0.3 else u(0, 1.5)
    motion = {
        "manoeuvre": manoeuvre,
        "onset_frac": u(0.08, 0.25),
        "ramp_frac": u(0.10, 0.20),
        "hold_frac": u(0.20, 0.40),
        "release_frac": u(0.08, 0.18),
        "descent_mm": u(*descent),
        "lift_mm": u(5, 14) if manoeuvre == "kegel" else 0.0,
        "n_contractions": int(rng.integers(1, 3)),
        "cough_fracs": sorted(u(0.2, 0.95) for _ in range(int(rng.integers(1, 4)))),
        "evacuation_fraction": u(0.3, 0.9) if manoeuvre == "defecation" else 0.0,
        "anorectal_opening_mm": u(6, 18) if manoeuvre == "defecation" else 0.0,
        "swirl_mm": u(0.5, 2.0),
        "breathing_mm": u(1, 5),
        "breathing_period_s": u(3.5, 6.0),
        "through_plane_mm": drift,
        "bladder_fill_rate_mm2_s": u(0, 3),
    }
    seq = _pick(rng, SEQUENCES, [0.35, 0.25, 0.12, 0.12, 0.16])
    snr = {"haste_t2": (12, 40), "bssfp": (15, 40), "t1_spgr": (10, 30), "t2_fs": (8, 25),
           "rt_flash": (5, 12)}[seq]
    n_art = int(rng.choice([0, 0, 0, 1, 2]))
    imaging = {
        "sequence": seq,
        "slice_thickness_mm": u(6, 10) if seq == "rt_flash" else u(4, 8),
        "snr": u(*snr),
        "phase_dir": "AP" if rng.random() < 0.6 else "HF",
        "partial_fourier": 1.0 if rng.random() < 0.3 else u(0.56, 0.8),
        "acq_res": [u(0.45, 0.7) if seq == "rt_flash" else u(0.55, 0.95), u(0.6, 1.0)],
        "parallel_R": int(rng.choice([1, 2, 2, 3])),
        "alias_gain": u(0.01, 0.08),
        "chem_shift_px": u(-2.5, 2.5),
        "fat_opposed_phase": bool(seq in ("t1_spgr", "rt_flash") and rng.random() < 0.5),
        "bias_strength": u(0.2, 0.7),
        "coil_length_mm": u(60, 150),
        "t2_blur": u(0.6, 1.8) if seq in ("haste_t2", "t2_fs") else 0.0,
        "banding_depth": u(0.4, 0.9) if seq == "bssfp" else 0.0,
        "gas_dropout": u(1.5, 4.0) if seq in ("bssfp", "t1_spgr", "rt_flash") else u(0.3, 1),
        "artefact_frames": [[u(0.1, 1.0), str(rng.choice(["ghost", "spike", "jump"]))]
                            for _ in range(n_art)],
        "intensity_scale": round(float(10 ** rng.uniform(1.5, 3.5)), 3),
    }
    return {
        "generator": PREFIX,
        "seed": int(seed),
        "render_seed": int(rng.integers(0, 2**31 - 1)),
        "matrix": [h, w],
        "spacing_mm": [round(row_mm, 5), round(col_mm, 5)],
        "n_frames": int(rng.integers(16, 41)),
        "frame_interval_s": u(0.8, 2.0),
        "placement": {"origin_frac": [u(0.30, 0.42), u(0.60, 0.72)],
                      "tilt_deg": u(-12, 12), "scale": u(0.88, 1.12)},
        "anatomy": anatomy,
        "motion": motion,
        "imaging": imaging,
    }


# --------------------------------------------------------------------------- painting


def _v(x, y):
    return np.array([x, y], dtype=float)


def _unit(a):
    a = np.asarray(a, dtype=float)
    return a / max(float(np.hypot(*a)), 1e-9)


def _dir(deg):
    r = math.radians(deg)
    return np.array([math.cos(r), math.sin(r)])


def _chain(knots, widths, per_seg=24):
    """Catmull-Rom chain through knots as cubic Bezier segments; widths ride along."""
    k = np.asarray(knots, dtype=float)
    wv = np.asarray(widths, dtype=float)
    if len(k) == 1:
        return k.copy(), wv.copy()
    kk = np.vstack([k[0] - (k[1] - k[0]), k, k[-1] + (k[-1] - k[-2])])
    ww = np.concatenate([[wv[0]], wv, [wv[-1]]])
    t = np.linspace(0.0, 1.0, per_seg, endpoint=False)[:, None]
    pts, wid = [], []
    for i in range(1, len(kk) - 2):
        b0, b3 = kk[i], kk[i + 1]
        b1 = b0 + (kk[i + 1] - kk[i - 1]) / 6.0
        b2 = b3 - (kk[i + 2] - kk[i]) / 6.0
        pts.append((1 - t) ** 3 * b0 + 3 * (1 - t) ** 2 * t * b1 + 3 * (1 - t) * t**2 * b2
                   + t**3 * b3)
        w0, w3 = ww[i], ww[i + 1]
        w1 = w0 + (ww[i + 1] - ww[i - 1]) / 6.0
        w2 = w3 - (ww[i + 2] - ww[i]) / 6.0
        tt = t[:, 0]
        wid.append((1 - tt) ** 3 * w0 + 3 * (1 - tt) ** 2 * tt * w1
                   + 3 * (1 - tt) * tt**2 * w2 + tt**3 * w3)
    pts.append(k[-1:])
    wid.append(wv[-1:])
    return np.vstack(pts), np.maximum(np.concatenate(wid), 0.3)


def _resample(pts, wid):
    """Brush dabs spaced by a fraction of the local radius."""
    seg = np.hypot(*np.diff(pts, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return pts[:1], wid[:1]
    step = 0.3 * max(float(wid.min()) / 2.0, 0.6)
    n = int(np.clip(s[-1] / step, 2, 700)) + 1
    si = np.linspace(0.0, s[-1], n)
    out = np.stack([np.interp(si, s, pts[:, 0]), np.interp(si, s, pts[:, 1])], axis=1)
    return out, np.interp(si, s, wid)


class _Canvas:
    """Tissue-id and label images on the output grid; strokes given in anatomical mm."""

    def __init__(self, p, shape, spacing):
        self.h, self.w = shape
        self.dr, self.dc = spacing
        pl = p["placement"]
        self.scale = float(pl["scale"])
        th = math.radians(pl["tilt_deg"])
        self.tilt = th
        self.m = self.scale * np.array([[math.cos(th), -math.sin(th)],
                                        [math.sin(th), math.cos(th)]])
        self.o = np.array([pl["origin_frac"][0] * self.w * self.dc,
                           pl["origin_frac"][1] * self.h * self.dr])
        self.tissue = np.zeros(shape, np.int16)
        self.label = np.zeros(shape, np.uint8)
        self.xs = np.arange(self.w) * self.dc
        self.ys = np.arange(self.h) * self.dr

    def mm(self, pts):
        """Anatomical (x posterior, y feet) mm → scanner (X col-mm, Y row-mm)."""
        return np.asarray(pts, dtype=float) @ self.m.T + self.o

    def px(self, pts):
        q = self.mm(pts)
        return np.stack([q[..., 1] / self.dr, q[..., 0] / self.dc], axis=-1)  # (row, col)

    def stroke(self, knots, widths, tissue, label=0, nib=1.0, nib_deg=0.0):
        if np.isscalar(widths):
            widths = [widths] * len(knots)
        pts, wid = _resample(*_chain(knots, widths))
        q = self.mm(pts)
        r = wid * self.scale / 2.0
        reach = float(r.max()) * max(1.0, nib)
        c0 = max(int((q[:, 0].min() - reach) / self.dc) - 1, 0)
        c1 = min(int((q[:, 0].max() + reach) / self.dc) + 2, self.w)
        r0 = max(int((q[:, 1].min() - reach) / self.dr) - 1, 0)
        r1 = min(int((q[:, 1].max() + reach) / self.dr) + 2, self.h)
        if c1 <= c0 or r1 <= r0:
            return
        xs, ys = self.xs[c0:c1], self.ys[r0:r1]
        ang = math.radians(nib_deg) + self.tilt
        ca, sa = math.cos(ang), math.sin(ang)
        mask = np.zeros((r1 - r0, c1 - c0), bool)
        chunk = max(1, int(2_000_000 // mask.size))
        for i in range(0, len(q), chunk):
            dx = xs[None, None, :] - q[i:i + chunk, 0, None, None]
            dy = ys[None, :, None] - q[i:i + chunk, 1, None, None]
            rr = r[i:i + chunk, None, None]
            if nib == 1.0:
                d = (dx * dx + dy * dy) <= rr * rr
            else:
                a = dx * ca + dy * sa
                b = -dx * sa + dy * ca
                d = (a / (rr * nib)) ** 2 + (b / rr) ** 2 <= 1.0
            mask |= d.any(axis=0)
        self.tissue[r0:r1, c0:c1][mask] = _TID[tissue]
        self.label[r0:r1, c0:c1][mask] = label

    def polygon(self, knots, tissue):
        pts, _ = _chain(list(knots) + [knots[0]], [1.0] * (len(knots) + 1), per_seg=32)
        q = self.px(pts)
        ry, cx = q[:, 0], q[:, 1]
        y0, y1, x0, x1 = ry[:-1], ry[1:], cx[:-1], cx[1:]
        mask = np.zeros((self.h, self.w), bool)
        cols = np.arange(self.w)
        for row in range(self.h):
            yc = row + 1e-6
            hit = (y0 <= yc) != (y1 <= yc)
            if not hit.any():
                continue
            t = (yc - y0[hit]) / (y1[hit] - y0[hit])
            xc = np.sort(x0[hit] + t * (x1[hit] - x0[hit]))
            mask[row] = np.searchsorted(xc, cols) % 2 == 1
        self.tissue[mask] = _TID[tissue]
        self.label[mask] = 0
        return mask


def _spline_pts(knots, widths):
    pts, wid = _chain(knots, widths, per_seg=12)
    return pts, wid / 2.0


def _overlap(a, b, slack):
    (pa, ra), (pb, rb) = a, b
    d = np.hypot(pa[:, None, 0] - pb[None, :, 0], pa[:, None, 1] - pb[None, :, 1])
    return float(np.max(ra[:, None] + rb[None, :] - d)) - slack


def _paint(p, cv: _Canvas, rng: np.random.Generator) -> dict:
    a = p["anatomy"]

    def j(s=2.0):
        return float(rng.normal(0.0, s))

    fa, fp = a["subcut_anterior_mm"], a["subcut_posterior_mm"]
    # --- landmarks (anatomical mm; origin at the lower end of the symphysis)
    sym_dir = _unit(_v(0.42, 0.91))
    sym_top = -a["symphysis_mm"] * sym_dir
    anal_u = _unit(_v(0.3 + j(0.05), 0.95))
    verge = _v(50 + j(3), 54 + j(1.5))
    arj = verge - a["anal_canal_mm"] * anal_u
    ang_u = math.degrees(math.atan2(anal_u[1], anal_u[0]))
    rect_d = _dir(ang_u - a["anorectal_angle_deg"])
    curve = (a["sacral_curvature"] - 1.0) * 15.0
    sac_k = np.array([[108, -100], [117 + curve, -70], [120 + curve, -42],
                      [113 + 0.6 * curve, -14], [101, 6], [90, 17]], float)
    sac_k[:, 0] += j(3)
    sac_w = np.array([30, 24, 19, 13, 9, 6], float)

    def sac_ant(y):
        order = np.argsort(sac_k[:, 1])
        return float(np.interp(y, sac_k[order, 1], (sac_k[:, 0] - sac_w / 2)[order]))

    # --- body outline, fat, muscle
    body = [(-30 - fa, -380), (-30 - fa, -200), (-26 - fa, -100), (-22 - fa, -40),
            (-10 - 0.7 * fa, 10), (-3 - 0.3 * fa, 32), (10, 48), (30, 56),
            (verge[0], verge[1] + 2), (74, 57), (100, 45), (124 + 0.4 * fp, 18),
            (138 + 0.6 * fp, -20), (146 + fp, -70), (150 + fp, -140), (156 + fp, -220),
            (160 + fp, -380)]
    body_mask = cv.polygon(body, "subfat")
    cav = [(-24, -380), (-24, -120), (-18, -50), (20, 20), (40, 38), (80, 30),
           (sac_k[3, 0] - 4, -14), (sac_k[2, 0] - 8, -42), (sac_k[0, 0] - 10, -110),
           (80, -380)]
    cv.polygon(cav, "pelvfat")
    l_cent = [sac_k[0] + _v(-4, -37 - 38 * i) + _v(j(1.5), 0) for i in range(6)]
    cv.stroke([c + _v(48, 0) for c in l_cent[::-1]] + [sac_k[0] + _v(34, 8)],
              [40] * 6 + [30], "muscle")
    cv.stroke([sac_k[0] + _v(28, 10), sac_k[1] + _v(20, 0), sac_k[2] + _v(18, 0)],
              [16, 10, 6], "muscle")
    # perineal body, external sphincter, puborectalis and levator plate
    intro = _v(16 + j(2), 46 + j(1.5))
    cv.stroke([intro + _v(10, -2), 0.5 * (intro + verge) + _v(0, -4), verge + _v(-12, -8)],
              [12, 15, 12], "muscle")
    cv.stroke([verge + 2 * anal_u, arj + 6 * anal_u], [26, 24], "sphincter")
    tip = sac_k[5]
    back = _unit(tip - arj)
    cv.stroke([arj + 12 * back + _v(0, -4), arj + 0.55 * (tip - arj) + _v(0, 2), tip],
              [9, 8, 7], "muscle")
    cv.stroke([arj + _v(4, 16), arj + 12 * back + _v(2, 4), arj + _v(6, -10)], [9, 10, 8],
              "muscle")

    # --- small bowel loops, sigmoid, vessels (unlabelled)
    def loop(c, rad, wid, content):
        th0 = rng.uniform(0, 2 * math.pi)
        span = rng.uniform(1.2, 3.2)
        ks = [c + rad * _dir(math.degrees(th0 + span * t)) for t in (0, 0.5, 1.0)]
        cv.stroke(ks, wid, "bowelwall")
        if content:
            cv.stroke(ks, max(wid - 5, 2), content)

    contents = ["bowelfluid", "bowelfluid", "stool", "gas", "", "bowelfluid"]
    for _ in range(a["n_bowel_loops"]):
        c = _v(rng.uniform(-15, 80), rng.uniform(-200, -80))
        loop(c, rng.uniform(8, 16), rng.uniform(14, 26), contents[rng.integers(len(contents))])
    r_amp = a["rectal_diameter_mm"] / 2.0
    k2 = arj + (0.9 * r_amp + 6) * rect_d
    k3 = _v(sac_ant(k2[1] - 28) - 0.85 * r_amp - 3, k2[1] - 28)
    k4 = _v(sac_ant(k3[1] - 28) - max(0.7 * r_amp, 8) - 3, k3[1] - 28)
    rs = _v(sac_ant(k4[1] - 22) - 18, k4[1] - 22)
    sig = [rs, rs + _v(-18, -16), rs + _v(-40, -14), rs + _v(-58, -30), rs + _v(-50, -62)]
    cv.stroke(sig, [22, 26, 26, 24, 22], "bowelwall")
    cv.stroke(sig[1:], [18, 18, 17, 15], "stool" if rng.random() < 0.6 else "gas")
    vag_len = a["vagina_length_mm"]
    p1 = intro + 0.4 * vag_len * _dir(-a["vagina_lower_deg"])
    vault = p1 + 0.6 * vag_len * _dir(-a["vagina_upper_deg"])
    pouch = 0.5 * (vault + k3) + _v(0, -8)
    if a["enterocele_mm"] > 0 or a["uterus_state"] == "hysterectomy":
        loop(pouch, 6.0, 18.0, "bowelfluid")
        if a["uterus_state"] == "hysterectomy":
            loop(vault + _v(-15, -30), 10.0, 20.0, "bowelfluid")
            loop(vault + _v(5, -55), 10.0, 20.0, "stool")
    ant = sac_k[0] + _v(-22, 0)
    cv.stroke([l_cent[2] + _v(-24, 0), l_cent[1] + _v(-24, 0), l_cent[0] + _v(-22, 0), ant],
              [12, 12, 11, 6], "vessel")

    # --- bladder (label 1)
    f = a["bladder_fill"]
    neck = _v(11 + j(1.5), -9 + j(1.5))
    wall = a["bladder_wall_mm"] + 4.0 * (1.0 - f) ** 2
    b_len = 12 + 55 * f**0.7
    b_d = 8 + 72 * f**0.6
    b_ax = _dir(-15 - 85 * f**0.8 + j(4))
    b0 = neck + max((0.45 * b_d + 2 * wall) / 2 - 2.0, 2.0) * _unit(_v(0.3, -1))
    b_k = [b0 + t * b_len * b_ax for t in (0.0, 0.33, 0.66, 1.0)]
    b_w = [b_d * s for s in (0.45, 0.92, 1.0, 0.7)]
    cv.stroke(b_k, [w + 2 * wall for w in b_w], "bwall", 1)
    cv.stroke(b_k, b_w, "urine", 1)
    bladder_obs = _spline_pts(b_k, [w + 2 * wall for w in b_w])
    meatus = _v(1 + j(1), 37 + j(1))
    ure = [neck, neck + _v(-1, 18), meatus]
    if a["catheter"]:
        rb = 9.0
        bc = neck + (rb + 3) * _unit(_v(0.35, -0.94))
        cv.stroke([bc], [2 * rb + 3], "catheter", 1)
        cv.stroke([bc], [2 * rb], "balloon", 1)

    # --- rectum and anal canal (label 3)
    wr = 3.5
    r_k = [verge, arj, k2, k3, k4, rs]
    r_w = [15, 18, 2 * r_amp, 1.7 * r_amp, max(1.4 * r_amp, 16), 20]
    cv.stroke(r_k, r_w, "rwall", 3)
    content = a["rectal_content"]
    lum_k = r_k[1:]
    if content == "empty":
        cv.stroke(lum_k, [3, 5, 4, 4, 3], "analmuc", 3)
    else:
        tis = {"stool": "stool", "gas": "gas", "gel_bright": "gel_b", "gel_dark": "gel_d"}
        cv.stroke(lum_k, [4] + [max(w - 2 * wr, 3) for w in r_w[2:]], tis[content], 3)
        if content == "stool":
            for _ in range(int(rng.integers(3, 9))):
                t = rng.uniform(0.25, 0.85)
                pts, wid = _chain(lum_k, [4] + r_w[2:])
                i = int(t * (len(pts) - 1))
                off = rng.uniform(-0.3, 0.3) * wid[i] * _v(1, 0)
                cv.stroke([pts[i] + off], [rng.uniform(2, 7)], "gas", 3)
    cv.stroke([verge + 2 * anal_u, arj], [2.5, 3], "analmuc", 3)
    rect_obs = _spline_pts(r_k[2:], r_w[2:])

    # --- vagina (label 2)
    vt = a["vagina_thickness_mm"]
    hyst = a["uterus_state"] == "hysterectomy"
    v_k = [intro, p1, 0.5 * (p1 + vault) + _v(j(1), j(1)), vault]
    cv.stroke(v_k, [10, vt, vt, vt + (4 if hyst else 2)], "vagwall", 2)
    cv.stroke(v_k[:-1] + [vault - 2 * _dir(-a["vagina_upper_deg"])], [2, 3, 3, 2.5],
              "vagmuc", 2)

    # --- uterus (label 2)
    rot_applied = 0.0
    if not hyst:
        ang_v = -a["vagina_upper_deg"]
        cl, cw = a["cervix_length_mm"], a["cervix_width_mm"]
        ul, uw = a["uterus_length_mm"], a["uterus_width_mm"]
        obs = [(bladder_obs, 14.0), (rect_obs, 6.0),
               (_spline_pts(list(sac_k[:4]), list(sac_w[:4] + 4)), 0.0)]

        def build(delta):
            ac = ang_v - a["version_deg"] + delta
            ab = ac - a["flexion_deg"]
            cdir, bdir = _dir(ac), _dir(ab)
            os_ = vault + 0.7 * cl * cdir
            perp = _v(-bdir[1], bdir[0])
            bend = -0.06 * a["flexion_deg"] / 30.0 * ul
            body_k = [os_, os_ + 0.35 * ul * bdir + 0.5 * bend * perp,
                      os_ + 0.7 * ul * bdir + bend * perp, os_ + ul * bdir + 0.6 * bend * perp]
            return cdir, os_, body_k, perp

        best = None
        for delta in np.arange(-60.0, 61.0, 5.0):
            cdir, os_, body_k, perp = build(float(delta))
            bdir = _unit(body_k[3] - body_k[0])
            if bdir[1] > -0.25 or cdir[1] > 0.0:
                continue  # the uterus never points towards the feet
            shape = _spline_pts([vault - 0.3 * cl * cdir, os_] + body_k[1:],
                                [cw, 0.6 * uw, 0.9 * uw, uw, 0.75 * uw])
            pen = sum(max(_overlap(shape, ob, s), 0.0) for ob, s in obs)
            below = max(0.0, float(body_k[3][1] - b_k[1][1])) if bdir[0] < 0 else 0.0
            cost = pen + 0.15 * abs(float(delta)) + 2.0 * below
            if best is None or cost < best[0] - 1e-9:
                best = (cost, float(delta))
        if best is None:
            best = (0.0, 0.0)
        rot_applied = best[1]
        cdir, os_, body_k, perp = build(rot_applied)
        cv.stroke([vault - 0.3 * cl * cdir, os_], [cw, 0.8 * cw], "cervix", 2)
        cv.stroke(body_k, [0.6 * uw, 0.9 * uw, uw, 0.75 * uw], "myo", 2)
        en = a["endometrium_mm"]
        end_k = [body_k[0] + 0.05 * ul * (body_k[1] - body_k[0]) / max(ul, 1e-6),
                 body_k[1], body_k[2], 0.5 * (body_k[2] + body_k[3])]
        cv.stroke(end_k, [2, en + 6, en + 6, 0.6 * en + 4], "jz", 2)
        cv.stroke(end_k, [1.5, en, en, 0.6 * en], "endo", 2)
        cv.stroke([vault - 0.25 * cl * cdir, os_], [2, 2], "endo", 2)
        bdir = _unit(body_k[3] - body_k[0])
        for frac, side, rad, bright in a["fibroids"]:
            c = body_k[0] + frac * ul * bdir + side * 0.45 * uw * perp
            cv.stroke([c], [2 * rad], "fibroid_b" if bright else "fibroid", 2)
    a_out = dict(a)
    a_out["uterus_rotation_applied_deg"] = rot_applied

    # --- urethra, catheter tube, abdominal wall, bones last
    cv.stroke(ure, [7, 7, 6], "urethra")
    if a["catheter"]:
        cv.stroke(ure, [3, 3, 3], "catheter")
    cv.stroke([sym_top + _v(-6, -2), sym_top + _v(-10, -60), sym_top + _v(-14, -140),
               sym_top + _v(-16, -360)], [9, 10, 10, 10], "muscle")
    cv.stroke(l_cent[::-1] + [sac_k[0]], [30] * 6 + [28], "disc")
    for i in range(5):
        c = l_cent[i]
        axis = _unit(l_cent[i + 1] - c)
        apd = _v(-axis[1], axis[0])
        if apd[0] < 0:
            apd = -apd
        nib_deg = math.degrees(math.atan2(apd[1], apd[0]))
        cv.stroke([c - 14 * apd, c + 14 * apd], 28, "cortex", nib=0.15, nib_deg=nib_deg)
        cv.stroke([c - 13 * apd, c + 13 * apd], 24, "marrow", nib=0.15, nib_deg=nib_deg)
        cv.stroke([c + 29 * apd, c + 52 * apd + _v(0, 10)], [12, 8], "cortex")
        cv.stroke([c + 31 * apd, c + 50 * apd + _v(0, 10)], [8, 5], "marrow")
    csf = [c + _v(27, 0) for c in l_cent[::-1]] + [sac_k[0] + _v(25, 2), sac_k[1] + _v(17, 0)]
    cv.stroke(csf, [12] * 6 + [10, 4], "csf")
    disc0 = 0.5 * (l_cent[0] + sac_k[0]) + _v(-2, 0)
    cv.stroke([disc0 - _v(15, -1), disc0 + _v(15, -3)], 8, "disc")
    cv.stroke(list(sac_k), list(sac_w), "cortex")
    cv.stroke(list(sac_k), list(np.maximum(sac_w - 4, 2)), "marrow")
    for i in range(1, 4):  # sacral segment lines
        cv.stroke([sac_k[i] - _v(sac_w[i] / 2 - 2, 0), sac_k[i] + _v(sac_w[i] / 2 - 2, 0)],
                  1.5, "disc")
    sym_mid = 0.5 * sym_top + _v(-sym_dir[1], sym_dir[0]) * 1.5
    cv.stroke([sym_top, sym_mid, _v(0, 0)], [12, 14, 11], "cortex")
    cv.stroke([sym_top, sym_mid, _v(0, 0)], [8, 10, 7], "marrow")
    cv.stroke([sym_top + 2 * sym_dir, _v(0, 0) - 2 * sym_dir], [2, 2], "disc")

    # --- tidy: outside the skin is air; each label one connected piece
    cv.tissue[~body_mask] = _TID["air"]
    cv.label[~body_mask] = 0
    for k in (1, 2, 3):
        keep = _largest(cv.label == k)
        drop = (cv.label == k) & ~keep
        cv.tissue[drop] = _TID["pelvfat"]
        cv.label[drop] = 0
    return {
        "anatomy": a_out, "neck": neck, "b0": b0, "b_centre": b_k[1], "arj": arj, "k2": k2,
        "vault": vault, "pouch": pouch, "intro": intro, "body_mask": body_mask,
        "rect_centre": 0.5 * (k2 + k3), "b_ax": b_ax,
    }


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


# --------------------------------------------------------------------------- flow


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _schedules(m: dict, t: np.ndarray, duration: float) -> dict:
    """Amplitude of each flow component over time (mm, or mm² for sinks)."""
    on = m["onset_frac"] * duration
    ramp = max(m["ramp_frac"] * duration, 0.5)
    hold = m["hold_frac"] * duration
    rel = max(m["release_frac"] * duration, 0.5)
    rise = _smoothstep((t - on) / ramp)
    fall = _smoothstep((t - on - ramp - hold) / rel)
    man = m["manoeuvre"]
    zero = np.zeros_like(t)
    strain, lift, evac, arj = zero, zero, zero, zero
    if man == "valsalva":
        strain = rise * (1 - fall)
    elif man == "defecation":
        strain = rise * (1 - 0.7 * fall)
        evac = _smoothstep((t - on - 0.6 * ramp) / max(hold + 0.4 * ramp, 0.5))
        arj = strain
    elif man == "cough":
        width = 0.3 * duration / max(len(t), 2)
        strain = zero.copy()
        for cf in m["cough_fracs"]:
            strain = strain + np.exp(-0.5 * ((t - cf * duration) / max(width, 0.15)) ** 2)
        strain = np.minimum(strain, 1.0)
    elif man == "kegel":
        n = m["n_contractions"]
        seg = (duration - on) / n
        lift = zero.copy()
        for i in range(n):
            s0 = on + i * seg
            up = _smoothstep((t - s0) / max(0.2 * seg, 0.4))
            down = _smoothstep((t - s0 - 0.6 * seg) / max(0.2 * seg, 0.4))
            lift = lift + up * (1 - down)
    return {"strain": strain, "lift": lift, "evac": evac, "arj": arj}


class _Flow:
    """Eulerian displacement-per-unit fields on the output grid (rows, cols in px)."""

    def __init__(self, cv: _Canvas, tissue: np.ndarray, body: np.ndarray):
        self.cv = cv
        self.X = cv.xs[None, :]
        self.Y = cv.ys[:, None]
        bone = np.isin(tissue, [_TID[n] for n in _BONE]).astype(float)
        rig = 1.0 - np.clip(1.5 * ndi.gaussian_filter(bone, 2.0), 0.0, 1.0)
        depth = ndi.distance_transform_edt(body, sampling=(cv.dr, cv.dc))
        self.gate = rig * np.clip(depth / 15.0, 0.0, 1.0)

    def _to_px(self, vx, vy):
        return np.stack([vy / self.cv.dr, vx / self.cv.dc]) * self.gate

    def jet(self, centre, direction, sigma, sigma_y=None):
        c = self.cv.mm(centre)
        d = _unit(np.asarray(direction) @ self.cv.m.T)
        s = sigma * self.cv.scale
        sy = (sigma_y or sigma) * self.cv.scale
        dx, dy = self.X - c[0], self.Y - c[1]
        g = np.exp(-0.5 * (dx**2 / s**2 + dy**2 / sy**2))
        cross = d[0] * dy - d[1] * dx
        # v = curl(psi), psi = cross * g  →  vx = d_psi/dY, vy = -d_psi/dX
        vx = d[0] * g + cross * g * (-dy / sy**2)
        vy = d[1] * g - cross * g * (-dx / s**2)
        return self._to_px(vx, vy)

    def point(self, centre, eps=8.0):
        """Displacement per mm² of area added at a point source (negative: sink)."""
        c = self.cv.mm(centre)
        dx, dy = self.X - c[0], self.Y - c[1]
        r2 = dx**2 + dy**2 + (eps * self.cv.scale) ** 2
        return self._to_px(dx / (2 * np.pi * r2), dy / (2 * np.pi * r2))

    def swirl(self, rng, corr_mm=30.0):
        cv = self.cv
        n = rng.standard_normal((cv.h, cv.w))
        psi = ndi.gaussian_filter(n, (corr_mm / cv.dr, corr_mm / cv.dc), mode="wrap")
        gy, gx = np.gradient(psi, cv.dr, cv.dc)
        vx, vy = gy, -gx
        peak = float(np.sqrt(vx**2 + vy**2).max()) or 1.0
        return self._to_px(vx / peak, vy / peak)


# --------------------------------------------------------------------------- render


def _lateral_halfwidth(label, spacing, scale_k):
    hw = np.full(label.shape, 1e3, np.float32)
    for k in (1, 2, 3):
        m = label == k
        if not m.any():
            continue
        depth = ndi.distance_transform_edt(m, sampling=spacing)
        size = (max(3, int(40 / spacing[0])), max(3, int(40 / spacing[1])))
        rloc = np.maximum(ndi.maximum_filter(depth, size=size), 1.0)
        rho = np.clip(1.0 - depth / rloc, 0.0, 1.0)
        wl = np.clip(scale_k * rloc, 15.0, 45.0)
        hw[m] = (wl * np.sqrt(np.maximum(1.0 - rho**2, 0.0)))[m]
    return hw


def _upsample2(c: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear ×2 upsampling of a (2, ceil(h/2), ceil(w/2)) map to (2, h, w)."""
    out = np.empty((2, 2 * c.shape[1], 2 * c.shape[2]), np.float32)
    out[:, ::2, ::2] = c
    out[:, 1:-1:2, ::2] = 0.5 * (c[:, :-1] + c[:, 1:])
    out[:, -1, ::2] = 1.5 * c[:, -1] - 0.5 * c[:, -2]
    out[:, :, 1:-1:2] = 0.5 * (out[:, :, 0:-2:2] + out[:, :, 2::2])
    out[:, :, -1] = 1.5 * out[:, :, -2] - 0.5 * out[:, :, -4]
    return out[:, :h, :w]


def render(params: dict):
    """Render one case → (frames float32 (T,H,W), labels uint8 (T,H,W), spacing, params)."""
    p = json.loads(json.dumps(params))
    h, w = (int(v) for v in p["matrix"])
    dr, dc = (float(v) for v in p["spacing_mm"])
    nt = int(p["n_frames"])
    dt = float(p["frame_interval_s"])
    seed = int(p["render_seed"])
    rng_paint = np.random.default_rng([seed, 1])
    rng_tex = np.random.default_rng([seed, 2])
    rng_flow = np.random.default_rng([seed, 3])
    rng_acq = np.random.default_rng([seed, 4])
    cv = _Canvas(p, (h, w), (dr, dc))
    info = _paint(p, cv, rng_paint)
    p["anatomy"] = info["anatomy"]
    a, m, im = p["anatomy"], p["motion"], p["imaging"]
    tissue0, label0 = cv.tissue.copy(), cv.label.copy()

    # rest texture and signal
    seq_i = SEQUENCES.index(im["sequence"])
    base = np.array([_SIGNAL[n][seq_i] for n in _NAMES])
    base = base * (1 + 0.08 * rng_tex.standard_normal(len(base)))
    fatf = np.array([_FAT.get(n, 0.0) for n in _NAMES])
    t1 = np.array([_TEXTURE.get(n, (0.04, 0.04))[0] for n in _NAMES])
    t2 = np.array([_TEXTURE.get(n, (0.04, 0.04))[1] for n in _NAMES])
    n1 = ndi.gaussian_filter(rng_tex.standard_normal((h, w)), 1.2 / min(dr, dc) + 0.3)
    n2 = ndi.gaussian_filter(rng_tex.standard_normal((h, w)), 6.0 / min(dr, dc))
    n1 /= n1.std() + 1e-9
    n2 /= n2.std() + 1e-9
    sig = base[tissue0] * np.clip(1 + t1[tissue0] * n1 + t2[tissue0] * n2, 0.2, 2.0)
    fat0 = (sig * fatf[tissue0]).astype(np.float32)
    water0 = (sig * (1 - fatf[tissue0])).astype(np.float32)
    sur = base[_TID["pelvfat"]] * 0.85
    sur_w, sur_f = sur * (1 - fatf[_TID["pelvfat"]]), sur * fatf[_TID["pelvfat"]]
    hw0 = _lateral_halfwidth(label0, (dr, dc), a["lateral_halfwidth_scale"])

    # flow fields
    fl = _Flow(cv, tissue0, info["body_mask"])
    descent_dir = _v(0.3, 0.95)
    fields = {
        "strain": (fl.jet(_v(30, -25), descent_dir, 48.0, 70.0) * 1.0
                   + fl.jet(info["b0"] + _v(8, -6), _v(0.15, 1), 18.0)
                   * (a["cystocele_mm"] / max(m["descent_mm"], 1.0))
                   + fl.jet(info["vault"], _unit(info["intro"] - info["vault"]), 16.0)
                   * (a["uterine_prolapse_mm"] / max(m["descent_mm"], 1.0))
                   + fl.jet(info["pouch"], _v(-0.2, 1), 14.0)
                   * (a["enterocele_mm"] / max(m["descent_mm"], 1.0))
                   + fl.jet(info["arj"] + _v(4, -12), _v(-1, 0.25), 12.0)
                   * (a["rectocele_mm"] / max(m["descent_mm"], 1.0))),
        "lift": fl.jet(info["arj"] + _v(4, -4), _v(-0.6, -0.8), 28.0),
        "arj": fl.jet(info["arj"], _v(0.55, 0.85), 22.0),
        "evac": fl.point(info["rect_centre"]),
        "fill": fl.point(info["b_centre"]),
        "breath": fl.jet(_v(40, -220), _v(0.1, 1), 90.0),
    }
    swirls = [fl.swirl(rng_flow) for _ in range(3)]
    freq = rng_flow.uniform(0.05, 0.25, 3)
    phase = rng_flow.uniform(0, 2 * np.pi, 3)
    times = np.arange(nt) * dt
    duration = max(times[-1], dt)
    lumen = float(np.isin(label0, [3]).sum() * dr * dc) * 0.35

    def amps(t):
        t = np.atleast_1d(np.asarray(t, float))
        s = _schedules(m, t, duration)
        out = {
            "strain": m["descent_mm"] * s["strain"],
            "lift": m["lift_mm"] * s["lift"],
            "arj": m["anorectal_opening_mm"] * s["arj"],
            "evac": -m["evacuation_fraction"] * lumen * s["evac"],
            "fill": m["bladder_fill_rate_mm2_s"] * t,
            "breath": m["breathing_mm"] * np.sin(2 * np.pi * t / m["breathing_period_s"]),
        }
        for i in range(3):
            out[f"s{i}"] = m["swirl_mm"] * np.sin(2 * np.pi * freq[i] * t + phase[i]) \
                - m["swirl_mm"] * np.sin(phase[i])
        return out

    allf = dict(fields)
    for i in range(3):
        allf[f"s{i}"] = swirls[i]
    peak = {k: float(np.abs(v).max()) for k, v in allf.items()}
    # backward map integrated on a half-resolution grid (the flow is smooth)
    hc, wc = (h + 1) // 2, (w + 1) // 2
    grid = np.mgrid[0:hc, 0:wc].astype(np.float32) * 2.0
    coarse = {k: v[:, ::2, ::2] for k, v in allf.items()}
    phi = grid.copy()
    maps = [phi.copy()]
    for i in range(1, nt):
        fine = np.linspace(times[i - 1], times[i], 9)
        af = amps(fine)
        total = sum(np.abs(np.diff(af[k])).sum() * peak[k] for k in allf)
        nsub = int(np.clip(math.ceil(total / 1.0), 1, 16))
        ts = np.linspace(times[i - 1], times[i], nsub + 1)
        asub = amps(ts)
        for s in range(nsub):
            disp = sum(float(asub[k][s + 1] - asub[k][s]) * coarse[k] for k in coarse)
            dep = (grid - disp) / 2.0
            phi = np.stack([ndi.map_coordinates(phi[c], dep, order=1, mode="nearest")
                            for c in range(2)])
        maps.append(phi.copy())

    # through-plane drift
    drift_amp = m["through_plane_mm"]
    sched = _schedules(m, times, duration)
    drift = drift_amp * (0.7 * np.maximum(sched["strain"], sched["lift"])
                         + 0.3 * np.sin(2 * np.pi * times / 11.0 + rng_flow.uniform(0, 6)))
    th = im["slice_thickness_mm"]

    # acquisition setup
    pe_axis = 1 if im["phase_dir"] == "AP" else 0
    ro_axis = 1 - pe_axis
    ky = np.fft.fftfreq(h)[:, None] * np.ones((1, w))
    kx = np.fft.fftfreq(w)[None, :] * np.ones((h, 1))
    kpe, kro = (kx, ky) if pe_axis == 1 else (ky, kx)
    res_pe, res_ro = im["acq_res"]
    kwin = ((np.abs(kpe) <= 0.5 * res_pe) & (np.abs(kro) <= 0.5 * res_ro)).astype(float)
    pf = im["partial_fourier"]
    if pf < 1.0:
        kwin *= (kpe >= -0.5 * res_pe * (2 * pf - 1)).astype(float)
    if im["t2_blur"] > 0:
        kwin *= np.exp(-np.abs(kpe) / (0.5 * res_pe) / im["t2_blur"])
    n_ro = w if ro_axis == 1 else h
    ramp = np.exp(-2j * np.pi * kro * im["chem_shift_px"] * (1 if n_ro else 0))
    fat_phase = np.exp(1j * np.pi) if im["fat_opposed_phase"] else 1.0
    xx = cv.xs[None, :] / (w * dc)
    yy = cv.ys[:, None] / (h * dr)
    lcoil = im["coil_length_mm"] / (w * dc)
    bias = 0.55 + 0.45 * (np.exp(-xx / lcoil) + np.exp(-(1 - xx) / lcoil))
    rough = ndi.gaussian_filter(rng_acq.standard_normal((h, w)), min(h, w) / 6, mode="wrap")
    bias = bias * np.exp(im["bias_strength"] * rough / (rough.std() + 1e-9) * 0.5)
    bias = 1 + im["bias_strength"] * (bias / bias.mean() - 1)
    bias = np.broadcast_to(bias, (h, w))
    bg_phase = np.exp(1j * (rng_acq.uniform(-np.pi, np.pi) + 2.0 * (xx - 0.5)
                            + 1.5 * (yy - 0.5) ** 2))
    offres = ndi.gaussian_filter(rng_acq.standard_normal((h, w)), min(h, w) / 5, mode="wrap")
    offres = offres / (offres.std() + 1e-9) * 0.6 + rng_acq.uniform(0, 1)
    art = {}
    for frac, kind in im["artefact_frames"]:
        art[max(1, min(nt - 1, round(frac * (nt - 1))))] = kind
    body_sig = float(np.mean(sig[info["body_mask"]])) if info["body_mask"].any() else 1.0
    sigma = body_sig / im["snr"]
    gmap = 1.0
    if im["parallel_R"] > 1:
        gmap = 1.0 + 0.4 * np.cos(np.pi * (xx if pe_axis == 1 else yy) * im["parallel_R"]) ** 2
    gas_id = _TID["gas"]

    packed0 = label0.astype(np.int16) * 64 + tissue0
    wf0 = (water0 + 1j * fat0).astype(np.complex64)
    frames = np.empty((nt, h, w), np.float32)
    labels = np.empty((nt, h, w), np.uint8)
    for i in range(nt):
        phi = _upsample2(maps[i], h, w)
        packed = ndi.map_coordinates(packed0, phi, order=0, mode="nearest")
        lab, tis = (packed // 64).astype(np.uint8), packed % 64
        wf = ndi.map_coordinates(wf0, phi, order=1, mode="nearest")
        wat, fat = wf.real, wf.imag
        hw = ndi.map_coordinates(hw0, phi, order=1, mode="nearest")
        d = drift[i]
        frac = np.clip((np.minimum(hw, d + th / 2) - np.maximum(-hw, d - th / 2)) / th, 0, 1)
        organ = lab > 0
        frac = np.where(organ, frac, 1.0)
        wat = frac * wat + (1 - frac) * sur_w
        fat = frac * fat + (1 - frac) * sur_f
        lab = np.where(frac >= 0.5, lab, 0).astype(np.uint8)
        for k in (1, 2, 3):
            mk = lab == k
            if mk.any():
                lab[mk & ~_largest(mk)] = 0
        labels[i] = lab
        # signal modulation in image space
        gas = ndi.gaussian_filter((tis == gas_id).astype(float), 4.0 / min(dr, dc))
        mod = np.exp(-im["gas_dropout"] * gas)
        if im["banding_depth"] > 0:
            ph = np.mod(offres + 3.0 * gas, 1.0)
            mod = mod * (1 - im["banding_depth"] * np.exp(-0.5 * ((ph - 0.5) / 0.04) ** 2))
        kw = np.fft.fft2(wat * mod * bias * bg_phase)
        kf = np.fft.fft2(fat * mod * bias * bg_phase) * ramp * fat_phase
        kspace = (kw + kf) * kwin
        kind = art.get(i)
        if kind == "spike":
            r0, c0 = rng_acq.integers(0, h), rng_acq.integers(0, w)
            kspace[r0, c0] += 0.05 * np.abs(kspace).max() * np.exp(1j * rng_acq.uniform(0, 6))
        img = np.fft.ifft2(kspace)
        if im["parallel_R"] > 1:
            n_pe = w if pe_axis == 1 else h
            img = img + im["alias_gain"] * np.roll(img, n_pe // im["parallel_R"], axis=pe_axis)
        if kind == "ghost":
            n_pe = w if pe_axis == 1 else h
            img = img + 0.25 * np.roll(img, n_pe // int(rng_acq.integers(2, 5)), axis=pe_axis)
        noise = (rng_acq.standard_normal((h, w)) + 1j * rng_acq.standard_normal((h, w)))
        img = np.abs(img + sigma * gmap * noise)
        if kind == "jump":
            img = img * rng_acq.uniform(0.55, 0.8)
        frames[i] = img
    frames *= np.float32(im["intensity_scale"])
    return frames, labels, (dr, dc), p


def generate(seed: int):
    """``render(draw_params(seed))``."""
    return render(draw_params(seed))


def _write_case(seed: int, out: str) -> str:
    frames, labels, spacing, params = generate(seed)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    times = np.arange(frames.shape[0]) * float(params["frame_interval_s"])
    im = params["imaging"]
    series = CineSeries(frames=frames, spacing_mm=spacing, times_s=times,
                        meta={"series_description": f"stream cine ({im['sequence']})",
                              "subject_id": f"{PREFIX}_{seed:03d}"})
    write_dicom_series(series, case / "series", seed=seed,
                       patient_name=f"STREAM^CASE{seed:03d}", patient_id=f"{PREFIX}_{seed:03d}",
                       slice_thickness_mm=float(im["slice_thickness_mm"]))
    np.save(case / "truth.npy", labels.astype(np.uint8))
    (case / "params.json").write_text(json.dumps(params, indent=1))
    an, mo = params["anatomy"], params["motion"]
    return (f"{case.name}: {frames.shape[0]}x{frames.shape[1]}x{frames.shape[2]} "
            f"{im['sequence']} snr={im['snr']:.0f} {mo['manoeuvre']} "
            f"uterus={an['uterus_state']} rectum={an['rectal_content']} "
            f"bladder={an['bladder_fill']:.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="100-195", help="e.g. 100-195 or 1,5,7")
    ap.add_argument("--out", default="stream_cases", help="output folder")
    ap.add_argument("--workers", type=int, default=1, help="parallel processes")
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for line in map_jobs(functools.partial(_write_case, out=args.out), seeds, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
