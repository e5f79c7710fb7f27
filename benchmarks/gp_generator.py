"""gp: Gaussian-process anatomy and motion, an independent synthetic cine pelvic-floor MRI set.

Labelled synthetic cine (dynamic) MID-SAGITTAL female pelvic MRI as used for pelvic-floor
dysfunction (rest, squeeze, cough, strain/Valsalva, defecation), written from scratch to judge a
segmentation model on data it has never seen.

Approach
--------
* Anatomy: every structure is a *primitive* placed in an anatomical frame whose origin is the
  inferior margin of the pubic symphysis (y caudal, x posterior, mm): star-shaped super-ellipse
  blobs whose polar radius is multiplied by ``exp(g(phi))`` with ``g`` a periodic Gaussian
  process, and tubes (a centre line from a few anatomical control points, displaced along its
  normal by a 1-D Gaussian process, with a GP-modulated radius profile).  Organs are kept apart
  by Euclidean distance maps of what was already built (tube centre lines are pushed down the
  distance gradient and their radii clipped; blob radii are clipped by ray casting), so the
  bladder is indented by the uterus, the rectum hugs the sacrum, and so on.
* Partial volume: each primitive has a lateral (out-of-plane) half-width ``W``; at in-plane
  normalised radius ``rho`` its lateral extent is ``W*sqrt(1-rho^2)``, and its volume fraction is
  the overlap of that extent with the slab ``[offset - thk/2, offset + thk/2]``.  Structures are
  composited painter-wise with those fractions on a 2x oversampled complex canvas (water and fat
  components, so opposed-phase gradient echo shows India-ink edges).
* Motion: per frame a stationary velocity field is the posterior of a squared-exponential
  Gaussian process (Matheron's update of a smooth random prior sample) conditioned on landmark
  displacements of the manoeuvre (bones fixed; bladder neck, cervix/vault, anorectal junction,
  perineal body, levator plate ... descend and the anorectal angle opens on straining, lift on
  squeezing, a one-frame transient on coughing, rectal emptying on defecation).  It is turned into
  a diffeomorphism by scaling and squaring (2^-6 steps, composed), and image AND label maps are
  backward-warped through that same map (labels by nearest neighbour), so nothing folds and truth
  moves exactly with the image.
* Acquisition: tissue T1/T2/PD/fat fraction at 1.5 T or 3 T; T2 single-shot FSE (+fat-sat), PD
  FSE, balanced SSFP (steady state solved per tissue and off-resonance, so banding appears where
  the smooth B0 map crosses +-1/(2 TR)), spoiled T1 gradient echo in- or opposed-phase (+fat-sat);
  smooth multi-element receive bias; k-space of the oversampled object cropped to the matrix
  (truncation ringing), reduced phase-encode resolution, partial Fourier, single-shot T2 blur,
  periodic motion ghosts and Nyquist ghosts; complex Gaussian noise (Rician magnitude) at SNR
  5-40; arbitrary global scale.

Image orientation: row 0 is cranial (head), rows run to the feet; column 0 is anterior, the last
column posterior.

Label conventions (uint8, exclusive, one connected piece each)
--------------------------------------------------------------
0 background / everything else, including the urethra, the small bowel, the sigmoid colon and
  the pouch of Douglas.
1 bladder: wall and urine, cut at the internal urethral orifice (the urethra is not labelled).
2 uterus_vagina: uterine body (myometrium, junctional zone, endometrium, fibroids), cervix and
  vagina (wall and lumen).  CAUDAL END OF THE VAGINA: the introitus (hymenal ring), i.e. the end
  of the vaginal tube about 2 mm inside the skin of the vestibule; labia, vestibule and the
  perineal body are not labelled.  After hysterectomy the vagina is labelled up to its closed
  vault and there is no tissue of this label above the vault.
3 rectum: anal canal (from the anal verge, including the internal and external sphincter ring
  around it) and rectum (wall and content).  CRANIAL END OF THE RECTUM: the rectosigmoid
  junction, taken at the level of the third sacral segment, where the bowel leaves the sacral
  concavity; the label ends with a cut perpendicular to the bowel axis there.  The sigmoid that
  continues above it (curving anteriorly, then leaving the slice) is visible and unlabelled.

Command line: ``python benchmarks/gp_generator.py --seeds 100-195 --out gp_cases``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

PREFIX = "gp"
LABELS = {"bladder": 1, "uterus_vagina": 2, "rectum": 3}

SEQUENCES = ["t2_ssfse", "t2_ssfse_fs", "bssfp", "t1_gre", "t1_gre_fs", "pd_fse"]
_SEQ_P = [0.25, 0.12, 0.25, 0.15, 0.10, 0.13]
UTERUS_STATES = ["anteverted", "retroverted", "retroflexed", "fibroids", "atrophic", "hysterectomy"]
_UT_P = [0.33, 0.13, 0.12, 0.15, 0.13, 0.14]
RECTAL_CONTENTS = ["empty", "gas", "stool", "gel"]
MANOEUVRES = ["rest", "squeeze", "cough", "strain", "defecation"]
_MAN_P = [0.15, 0.15, 0.15, 0.35, 0.20]

# structure classes of the auxiliary map (not labels)
AIR, FAT, SKIN, MUSCLE, BONE, DISC, CSF, VESSEL, BOWEL, COLON, URETHRA, PERINEUM, FLUID = range(13)
BLADDER_WALL, URINE, UTERUS, CERVIX, VAGINA, FIBROID, RECTUM_WALL, RECTUM_CONTENT, ANAL = range(
    20, 29
)

# tissue: T1 at 1.5 T (ms), T2 (ms), proton density, fat fraction
_TISSUE = {
    "fat": (900, 40, 0.95, 0.9),
    "skin": (700, 40, 0.75, 0.15),
    "muscle": (900, 38, 0.75, 0.03),
    "marrow": (900, 45, 0.9, 0.55),
    "cortex": (1000, 8, 0.1, 0.0),
    "cartilage": (1000, 30, 0.62, 0.0),
    "disc": (1200, 120, 0.88, 0.0),
    "annulus": (1000, 40, 0.7, 0.0),
    "csf": (3800, 1800, 1.0, 0.0),
    "blood": (1450, 250, 0.9, 0.0),
    "smooth": (1000, 55, 0.78, 0.0),
    "mucosa": (1100, 90, 0.8, 0.0),
    "urine": (3000, 1500, 1.0, 0.0),
    "myometrium": (1300, 105, 0.82, 0.0),
    "myo_atrophic": (1100, 60, 0.78, 0.0),
    "endometrium": (1400, 200, 0.88, 0.0),
    "junctional": (1100, 52, 0.78, 0.0),
    "cervix": (1100, 60, 0.8, 0.0),
    "fibroid": (900, 42, 0.75, 0.0),
    "fibroid_deg": (1800, 300, 0.92, 0.0),
    "vagwall": (1100, 72, 0.8, 0.0),
    "mucus": (2500, 400, 0.95, 0.0),
    "stool": (700, 90, 0.8, 0.05),
    "gel": (2500, 900, 1.0, 0.0),
    "gel_doped": (300, 220, 1.0, 0.0),
    "gas": (1000, 1, 0.0, 0.0),
    "fluid": (2900, 900, 0.98, 0.0),
    "chyme": (1200, 150, 0.85, 0.05),
    "sphincter": (950, 40, 0.72, 0.0),
    "perineum": (950, 45, 0.72, 0.05),
}
_FLUIDS = {"urine", "csf", "fluid", "gel", "mucus", "blood"}


def _r(x, nd=3):
    return float(round(float(x), nd))


# --------------------------------------------------------------------------- parameters


def draw_params(seed: int) -> dict:
    """All per-case choices (JSON-able); fine random detail is drawn in render from noise_seed."""
    rng = np.random.default_rng(seed)
    rows, cols = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    dr = rng.uniform(1.1, 1.5)
    dc = float(np.clip(dr * rng.uniform(0.88, 1.12), 1.1, 1.5))
    n_frames = int(rng.integers(15, 41))
    dt = rng.uniform(0.5, 2.0)
    seq = str(rng.choice(SEQUENCES, p=_SEQ_P))
    b0 = float(rng.choice([1.5, 3.0], p=[0.55, 0.45]))
    cs_ms = 1000.0 / (3.4 * 42.58 * b0)  # fat-water in-phase period
    if seq.startswith("t2_ssfse"):
        tr, te, flip = rng.uniform(1800, 4000), rng.uniform(75, 120), 90.0
        pf, pe_res, etl_blur = rng.uniform(0.55, 0.7), rng.uniform(0.65, 1.0), rng.uniform(0.2, 1.0)
    elif seq == "pd_fse":
        tr, te, flip = rng.uniform(2000, 3500), rng.uniform(15, 35), 90.0
        pf, pe_res, etl_blur = rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0), rng.uniform(0.1, 0.5)
    elif seq == "bssfp":
        tr = rng.uniform(3.2, 5.0)
        te, flip = tr / 2, rng.uniform(45, 75)
        pf, pe_res, etl_blur = rng.uniform(0.75, 1.0), rng.uniform(0.75, 1.0), 0.0
    else:
        tr, flip = rng.uniform(80, 220), rng.uniform(60, 80)
        te = cs_ms * (0.5 if rng.random() < 0.45 else 1.0)  # opposed- or in-phase
        pf, pe_res, etl_blur = rng.uniform(0.7, 1.0), rng.uniform(0.6, 1.0), 0.0
    ghost = rng.random() < 0.45
    imaging = {
        "sequence": seq,
        "field_T": b0,
        "tr_ms": _r(tr),
        "te_ms": _r(te),
        "flip_deg": _r(flip),
        "fat_sat": seq.endswith("_fs"),
        "fat_sat_residual": _r(rng.uniform(0.03, 0.15)),
        "slice_thickness_mm": _r(rng.uniform(4.0, 10.0), 1),
        "slice_offset_mm": _r(rng.uniform(-3.0, 3.0), 2),
        "snr": _r(np.exp(rng.uniform(np.log(5), np.log(40))), 2),
        "pe_axis": int(rng.integers(0, 2)),
        "partial_fourier": _r(pf),
        "pe_resolution": _r(pe_res),
        "ro_resolution": _r(rng.uniform(0.8, 1.0)),
        "t2_blur": _r(etl_blur),
        "ghost_px": _r(rng.uniform(0.3, 1.6) if ghost else 0.0),
        "ghost_period": _r(rng.uniform(3.0, 12.0)),
        "nyquist_ghost": _r(rng.uniform(0.0, 0.06) if rng.random() < 0.3 else 0.0),
        "offres_hz": _r(rng.uniform(15, 220)),
        "coil_mix": _r(rng.uniform(0.4, 1.0)),
        "intensity_scale": _r(10 ** rng.uniform(1.0, 3.3)),
    }
    state = str(rng.choice(UTERUS_STATES, p=_UT_P))
    fill = float(rng.uniform(0.03, 1.0))
    content = str(rng.choice(RECTAL_CONTENTS, p=[0.25, 0.17, 0.25, 0.33]))
    cervix_rel = {"anteverted": (45, 80), "fibroids": (40, 75), "atrophic": (35, 75),
                  "retroverted": (-15, 15), "retroflexed": (25, 55), "hysterectomy": (0, 0)}[state]
    flex = {"anteverted": (5, 45), "fibroids": (0, 30), "atrophic": (0, 35),
            "retroverted": (-25, 5), "retroflexed": (-110, -60), "hysterectomy": (0, 0)}[state]
    flex_deg = rng.uniform(*flex)
    if state in ("anteverted", "fibroids", "atrophic"):
        flex_deg -= 45 * max(0.0, fill - 0.45)  # a full bladder props the body up
    body_len = {"anteverted": (45, 70), "retroverted": (45, 70), "retroflexed": (45, 68),
                "fibroids": (65, 100), "atrophic": (25, 40), "hysterectomy": (0, 0)}[state]
    body_r = {"fibroids": (22, 34), "atrophic": (9, 13),
              "hysterectomy": (0, 0)}.get(state, (18, 26))
    fibroids = []
    if state == "fibroids":
        for _ in range(int(rng.integers(1, 5))):
            fibroids.append({"s": _r(rng.uniform(0.15, 1.0)),
                             "side": _r(rng.uniform(-1.3, 1.3)),
                             "r_mm": _r(rng.uniform(6, 28)),
                             "degenerated": bool(rng.random() < 0.2)})
    prolapse = {k: (_r(rng.uniform(0.3, 1.0)) if rng.random() < p else 0.0)
                for k, p in (("bladder", 0.25), ("uterus", 0.15), ("rectum", 0.2))}
    if state == "hysterectomy":
        prolapse["uterus"] = _r(prolapse["uterus"] * 0.6)  # vault prolapse
    sc_fat = rng.uniform(8, 45)
    anatomy = {
        "uterus_state": state,
        "rectal_content": content,
        "bladder_fill": _r(fill),
        "pelvis_scale": _r(rng.uniform(0.92, 1.08)),
        "sc_fat_mm": _r(sc_fat),
        "post_fat_mm": _r(rng.uniform(8, 40) * (0.6 + sc_fat / 60)),
        "belly_mm": _r(rng.uniform(0, 45) * np.sqrt(sc_fat / 45)),
        "rectus_mm": _r(rng.uniform(7, 13)),
        "symph_tilt_deg": _r(rng.uniform(15, 35)),
        "sacral_slope_deg": _r(rng.uniform(32, 48)),
        "vagina_angle_deg": _r(rng.uniform(18, 34)),
        "vagina_len_mm": _r(rng.uniform(55, 75) if state == "hysterectomy"
                            else rng.uniform(65, 90)),
        "vaginal_gel": bool(rng.random() < 0.2),
        "cervix_rel_deg": _r(rng.uniform(*cervix_rel) if cervix_rel[1] else 0.0),
        "flexion_deg": _r(flex_deg),
        "cervix_len_mm": _r(rng.uniform(22, 34) if state != "hysterectomy" else 0.0),
        "cervix_r_mm": _r(rng.uniform(11, 15) if state != "hysterectomy" else 0.0),
        "body_len_mm": _r(rng.uniform(*body_len) if body_len[1] else 0.0),
        "body_r_mm": _r(rng.uniform(*body_r) if body_r[1] else 0.0),
        "endometrium": _r(rng.uniform(0.05, 0.1) if state == "atrophic"
                          else rng.uniform(0.1, 0.3)),
        "fibroids": fibroids,
        "anorectal_angle_deg": _r(rng.uniform(85, 118)),
        "anal_canal_mm": _r(rng.uniform(30, 42)),
        "anal_r_mm": _r(rng.uniform(7.5, 10)),
        "rectal_r_mm": _r({"empty": (9, 12), "gas": (13, 22), "stool": (14, 24),
                           "gel": (17, 28)}[content][0] + rng.random() *
                          ({"empty": 3, "gas": 9, "stool": 10, "gel": 11}[content])),
        "gel_doped": bool(rng.random() < 0.4),
        "sigmoid_len_mm": _r(rng.uniform(40, 95)),
        "prolapse": prolapse,
        "rectocele_mm": _r(rng.uniform(8, 30) if (prolapse["rectum"] > 0 or rng.random() < 0.15)
                           else 0.0),
        "douglas_fluid": bool(rng.random() < 0.25),
        "n_bowel_loops": int(rng.integers(10, 24)),
    }
    fov = (rows * dr, cols * dc)
    front = -(40 + anatomy["sc_fat_mm"] + anatomy["belly_mm"])
    back = 150 + anatomy["post_fat_mm"]
    anatomy["placement"] = {
        "origin_mm": [_r(fov[0] - rng.uniform(72, 110)),
                      _r(fov[1] / 2 - (front + back) / 2 + rng.uniform(-15, 15))],
        "tilt_deg": _r(rng.uniform(-12, 12)),
    }
    man = str(rng.choice(MANOEUVRES, p=_MAN_P))
    motion = {
        "manoeuvre": man,
        "descent_mm": _r(rng.uniform(8, 28)),
        "lift_mm": _r(rng.uniform(4, 12)),
        "onset": _r(rng.uniform(0.05, 0.35)),
        "ramp": _r(rng.uniform(0.1, 0.3)),
        "release": _r(rng.uniform(0.75, 1.3) if man == "strain" else 2.0),
        "events": sorted(_r(x) for x in rng.uniform(0.1, 0.95, int(rng.integers(1, 4)))),
        "length_scale_mm": _r(rng.uniform(22, 36)),
        "jitter_mm": _r(rng.uniform(0.2, 0.8)),
        "drift_mm": _r(rng.uniform(0.0, 2.5)),
        "resp_mm": _r(rng.uniform(0.0, 3.0)),
    }
    return {
        "generator": PREFIX,
        "seed": int(seed),
        "noise_seed": int(rng.integers(0, 2**31 - 1)),
        "matrix": [rows, cols],
        "spacing_mm": [_r(dr, 4), _r(dc, 4)],
        "n_frames": n_frames,
        "frame_interval_s": _r(dt),
        "imaging": imaging,
        "anatomy": anatomy,
        "motion": motion,
    }


# --------------------------------------------------------------------------- geometry helpers


def _dir(theta_deg):
    """Unit vector (dy, dx) at theta from cranial, positive toward anterior."""
    t = np.deg2rad(theta_deg)
    return np.array([-np.cos(t), -np.sin(t)])


def _ang(v):
    return float(np.rad2deg(np.arctan2(-v[1], -v[0])))


def _unit(dy, dx):
    v = np.array([dy, dx], float)
    return v / np.linalg.norm(v)


def _gp1d(rng, n, step, ell, sigma):
    """A sample of a squared-exponential GP on n points spaced step (filtered white noise)."""
    if sigma <= 0 or n < 2:
        return np.zeros(n)
    s = max(ell / (np.sqrt(2) * step), 0.5)
    z = ndimage.gaussian_filter1d(rng.standard_normal(n + int(8 * s)), s, mode="wrap")
    return sigma * z[:n] * np.sqrt(2 * np.sqrt(np.pi) * s)


def _periodic_gp(rng, sigma, ell, nphi=720, kmax=14):
    """Periodic GP on the circle, tabulated on nphi angles in [-pi, pi)."""
    k = np.arange(1, kmax + 1)
    w = np.exp(-0.5 * (k * ell) ** 2)
    w = sigma * np.sqrt(w / w.sum())
    a, b = rng.standard_normal(kmax) * w, rng.standard_normal(kmax) * w
    phi = np.linspace(-np.pi, np.pi, nphi, endpoint=False)
    return (a[None] * np.cos(np.outer(phi, k)) + b[None] * np.sin(np.outer(phi, k))).sum(1)


def _polyline(ctrl, rng, step=0.5, smooth_mm=0.0, gp_sigma=0.0, gp_ell=25.0):
    ctrl = np.asarray(ctrl, float)
    seg = np.linalg.norm(np.diff(ctrl, axis=0), axis=1)
    sc = np.concatenate([[0], np.cumsum(seg)])
    s = np.arange(0, sc[-1] + 1e-9, step)
    if s[-1] < sc[-1] - 1e-6:
        s = np.append(s, sc[-1])
    pts = np.stack([np.interp(s, sc, ctrl[:, 0]), np.interp(s, sc, ctrl[:, 1])], 1)
    if smooth_mm > 0:
        pts = ndimage.gaussian_filter1d(pts, smooth_mm / step, axis=0, mode="nearest")
    if gp_sigma > 0:
        g = _gp1d(rng, len(pts), step, gp_ell, gp_sigma)
        g *= np.clip(np.minimum(np.arange(len(pts)), np.arange(len(pts))[::-1]) * step / 10, 0, 1)
        pts = pts + _normals(pts) * g[:, None]
    return pts


def _normals(pts):
    t = np.gradient(pts, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-12
    return np.stack([-t[:, 1], t[:, 0]], 1)  # posterior of a caudally running line


def _arclen(pts):
    return np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])


class _Canvas:
    """The 2x oversampled reference canvas in the field of view, with anatomical coordinates."""

    def __init__(self, params, contrast_off=False):
        self.H, self.W = (int(v) for v in params["matrix"])
        self.dr, self.dc = (float(v) for v in params["spacing_mm"])
        self.H2, self.W2 = 2 * self.H, 2 * self.W
        self.hr, self.hc = self.dr / 2, self.dc / 2
        pl = params["anatomy"]["placement"]
        self.o = np.array(pl["origin_mm"], float)
        t = np.deg2rad(pl["tilt_deg"])
        self.cs, self.sn = np.cos(t), np.sin(t)
        Y = (np.arange(self.H2) + 0.5) * self.hr
        X = (np.arange(self.W2) + 0.5) * self.hc
        dy, dx = Y[:, None] - self.o[0], X[None, :] - self.o[1]
        self.ya = (self.cs * dy + self.sn * dx).astype(np.float32)
        self.xa = (-self.sn * dy + self.cs * dx).astype(np.float32)
        im = params["imaging"]
        self.thk, self.off = float(im["slice_thickness_mm"]), float(im["slice_offset_mm"])
        self.img = np.zeros((self.H2, self.W2), np.complex64)
        self.cls = np.zeros((self.H2, self.W2), np.uint8)
        self.lab = np.zeros((self.H2, self.W2), np.uint8)
        self.body = np.zeros((self.H2, self.W2), bool)

    def to_fov(self, p):
        p = np.asarray(p, float)
        y = self.o[0] + self.cs * p[..., 0] - self.sn * p[..., 1]
        x = self.o[1] + self.sn * p[..., 0] + self.cs * p[..., 1]
        return np.stack([y, x], -1)

    def vec_to_fov(self, v):
        v = np.asarray(v, float)
        return np.stack([self.cs * v[..., 0] - self.sn * v[..., 1],
                         self.sn * v[..., 0] + self.cs * v[..., 1]], -1)

    def vec_to_anat(self, v):
        v = np.asarray(v, float)
        return np.stack([self.cs * v[..., 0] + self.sn * v[..., 1],
                         -self.sn * v[..., 0] + self.cs * v[..., 1]], -1)

    def to_idx(self, p):
        f = self.to_fov(p)
        return np.stack([f[..., 0] / self.hr - 0.5, f[..., 1] / self.hc - 0.5], -1)

    def bbox(self, lo, hi):
        cor = np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], lo[1]], [hi[0], hi[1]]])
        ix = self.to_idx(cor)
        r0, r1 = int(np.floor(ix[:, 0].min())) - 1, int(np.ceil(ix[:, 0].max())) + 2
        c0, c1 = int(np.floor(ix[:, 1].min())) - 1, int(np.ceil(ix[:, 1].max())) + 2
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(max(r1, r0), self.H2), min(max(c1, c0), self.W2)
        return (slice(r0, r1), slice(c0, c1))

    def sample(self, arr, p, order=1):
        ix = self.to_idx(np.atleast_2d(p))
        return ndimage.map_coordinates(arr, [ix[:, 0], ix[:, 1]], order=order, mode="nearest")

    def pv(self, rho, W):
        """Through-plane volume fraction of a structure of lateral half-width W at rho."""
        w = W * np.sqrt(np.clip(1.0 - rho * rho, 0.0, None))
        lo, hi = self.off - self.thk / 2, self.off + self.thk / 2
        return np.clip(np.minimum(w, hi) - np.maximum(-w, lo), 0.0, None) / self.thk

    def dist(self, mask):
        """Signed distance (mm) to mask (negative inside)."""
        if not mask.any():
            return np.full(mask.shape, 1e4, np.float32)
        samp = (self.hr, self.hc)
        out = ndimage.distance_transform_edt(~mask, sampling=samp)
        out -= ndimage.distance_transform_edt(mask, sampling=samp)
        return out.astype(np.float32)

    def grad_anat(self, D):
        gy, gx = np.gradient(D, self.hr, self.hc)
        return gy, gx


class _Blob:
    def __init__(self, c, a, b, theta, p=2.0, g=None, W=30.0):
        self.c, self.a, self.b, self.theta, self.p = np.asarray(c, float), a, b, theta, p
        self.e = _dir(theta)
        self.ep = np.array([self.e[1], -self.e[0]])
        self.phi = np.linspace(-np.pi, np.pi, 720, endpoint=False)
        self.scale = np.exp(g) if g is not None else np.ones(720)
        self.W = W

    def boundary(self, phi_idx=None):
        c, s = np.cos(self.phi), np.sin(self.phi)
        n = self.scale / (np.abs(c) ** self.p + np.abs(s) ** self.p) ** (1 / self.p)
        return (self.c[None] + (self.a * n * c)[:, None] * self.e[None]
                + (self.b * n * s)[:, None] * self.ep[None])

    def eval(self, cv):
        R = max(self.a, self.b) * self.scale.max() * 1.45 + 2
        sl = cv.bbox(self.c - R, self.c + R)
        dy, dx = cv.ya[sl] - self.c[0], cv.xa[sl] - self.c[1]
        un = (dy * self.e[0] + dx * self.e[1]) / self.a
        wn = (dy * self.ep[0] + dx * self.ep[1]) / self.b
        n = (np.abs(un) ** self.p + np.abs(wn) ** self.p) ** (1 / self.p)
        ph = np.arctan2(wn, un)
        sc = np.interp(ph, self.phi, self.scale, period=2 * np.pi)
        rho = n / sc
        dist = np.sqrt(dy * dy + dx * dx)
        return sl, rho, dist

    def clip_rays(self, cv, D, gap):
        """Shrink the radius so that the blob keeps ``gap`` mm off the obstacles of distance D."""
        B = self.boundary()
        t = np.linspace(0.0, 1.0, 160)
        pts = self.c[None, None] + t[None, :, None] * (B - self.c[None])[:, None, :]
        d = cv.sample(D, pts.reshape(-1, 2)).reshape(len(B), len(t))
        hit = d < gap
        first = np.where(hit.any(1), hit.argmax(1), len(t))
        frac = np.where(first < len(t), t[np.minimum(first, len(t) - 1)] * 0.97, 1.0)
        frac = ndimage.minimum_filter1d(frac, 9, mode="wrap")
        frac = np.minimum(frac, ndimage.gaussian_filter1d(frac, 3, mode="wrap"))
        self.scale = self.scale * np.clip(frac, 0.05, 1.0)


class _Tube:
    def __init__(self, pts, r, W):
        self.p = np.asarray(pts, float)
        self.r = np.broadcast_to(np.asarray(r, float), (len(self.p),)).copy()
        self.W = np.broadcast_to(np.asarray(W, float), (len(self.p),)).copy()
        self.s = _arclen(self.p)

    def eval(self, cv):
        rmax = float(self.r.max()) + 1.0
        sl = cv.bbox(self.p.min(0) - rmax - 2, self.p.max(0) + rmax + 2)
        q = np.stack([cv.ya[sl].ravel(), cv.xa[sl].ravel()], 1)
        shape = cv.ya[sl].shape
        if q.size == 0:
            return sl, np.full(shape, np.inf), np.zeros(shape, int)
        d, i = cKDTree(self.p).query(q, distance_upper_bound=rmax)
        miss = ~np.isfinite(d)
        i[miss] = 0
        rho = np.where(miss, np.inf, d / self.r[i])
        return sl, rho.reshape(shape), i.reshape(shape)

    def mask(self, cv, upto=None):
        sl, rho, idx = self.eval(cv)
        m = np.zeros((cv.H2, cv.W2), bool)
        inside = rho < 1
        if upto is not None:
            inside &= idx <= upto
        m[sl] = inside
        return m


def _repel(cv, pts, r, D, gap, movable, rmin, iters=5):
    """Push centre-line points down the distance gradient until r+gap fits; clip radii."""
    gy, gx = cv.grad_anat(D)
    pts = pts.copy()
    for _ in range(iters):
        d = cv.sample(D, pts)
        need = r + gap - d
        if not (movable & (need > 0)).any():
            break
        g = np.stack([cv.sample(gy, pts), cv.sample(gx, pts)], 1)
        g = cv.vec_to_anat(g)
        g /= np.linalg.norm(g, axis=1, keepdims=True) + 1e-9
        mv = np.where(movable & (need > 0), np.minimum(need, 8.0), 0.0)
        pts += g * mv[:, None]
        sm = ndimage.gaussian_filter1d(pts, 6, axis=0, mode="nearest")
        pts[movable] = sm[movable]
    d = cv.sample(D, pts)
    r = np.where(movable, np.clip(np.minimum(r, d - gap), rmin, None), r)
    return pts, r, d


# --------------------------------------------------------------------------- contrast


class _Contrast:
    def __init__(self, params, cv, rng):
        im = params["imaging"]
        self.seq = im["sequence"]
        self.b0 = float(im["field_T"])
        self.tr, self.te = float(im["tr_ms"]), float(im["te_ms"])
        self.flip = np.deg2rad(float(im["flip_deg"]))
        self.fs = bool(im["fat_sat"])
        self.cv = cv
        self.df_cs = -3.4 * 42.58 * self.b0  # fat off-resonance, Hz
        # smooth B0 off-resonance map (scanner frame), Hz
        Y = (np.arange(cv.H2) + 0.5) / cv.H2 * 2 - 1
        X = (np.arange(cv.W2) + 0.5) / cv.W2 * 2 - 1
        c = rng.normal(0, 1, 6)
        c /= np.abs(c).sum()
        yy, xx = Y[:, None], X[None, :]
        self.df = (float(im["offres_hz"]) * (c[0] + c[1] * yy + c[2] * xx + c[3] * yy * yy
                   + c[4] * xx * xx + c[5] * xx * yy)).astype(np.float32)
        res = float(im["fat_sat_residual"])
        self.eta = (res + (1 - res) * np.clip((np.abs(self.df) - 70) / 160, 0, 1)).astype(
            np.float32
        )
        self.cache = {}
        self.flow = {"bssfp": 1.1, "t1_gre": 2.2, "t1_gre_fs": 2.2}.get(self.seq, 0.1)

    def _relax(self, name):
        T1, T2, pd, ff = _TISSUE[name]
        if self.b0 > 2:
            T1 = T1 * (1.1 if name in _FLUIDS else 1.35)
            T2 = T2 * 0.9
        return T1, T2, pd, ff

    def _bssfp_tab(self, T1, T2):
        n = 256
        psi = np.linspace(-np.pi, np.pi, n, endpoint=False)
        E1, E2 = np.exp(-self.tr / T1), np.exp(-self.tr / T2)
        ca, sa = np.cos(self.flip), np.sin(self.flip)
        Rx = np.array([[1, 0, 0], [0, ca, sa], [0, -sa, ca]])
        ph = psi + np.pi  # alternating RF phase
        Rz = np.zeros((n, 3, 3))
        Rz[:, 0, 0] = Rz[:, 1, 1] = np.cos(ph)
        Rz[:, 0, 1], Rz[:, 1, 0] = np.sin(ph), -np.sin(ph)
        Rz[:, 2, 2] = 1
        A = np.diag([E2, E2, E1]) @ Rz @ Rx
        rhs = np.broadcast_to(np.array([0.0, 0.0, 1 - E1]), (n, 3))[..., None]
        M = np.linalg.solve(np.eye(3)[None] - A, rhs)
        Mp = (Rx @ M)[..., 0]
        sig = (Mp[:, 0] + 1j * Mp[:, 1]) * np.exp(-self.tr / 2 / T2) * np.exp(-0.5j * ph)
        return psi, sig

    def _component(self, T1, T2, off_hz, fat):
        seq = self.seq
        if seq == "bssfp":
            psi, sig = self._bssfp_tab(T1, T2)
            ph = np.angle(np.exp(2j * np.pi * (self.df + off_hz) * self.tr / 1000.0))
            re = np.interp(ph, psi, sig.real, period=2 * np.pi)
            im = np.interp(ph, psi, sig.imag, period=2 * np.pi)
            return (re + 1j * im).astype(np.complex64)
        if seq.startswith("t1_gre"):
            E1 = np.exp(-self.tr / T1)
            t2s = 40.0 if fat else min(0.6 * T2, 60.0) if T2 > 2 else 1.0
            s = np.sin(self.flip) * (1 - E1) / (1 - np.cos(self.flip) * E1)
            s *= np.exp(-self.te / t2s)
            return complex(s * np.exp(2j * np.pi * off_hz * self.te / 1000.0))
        return complex((1 - np.exp(-self.tr / T1)) * np.exp(-self.te / T2))

    def parts(self, name):
        if name not in self.cache:
            T1, T2, pd, ff = self._relax(name)
            w = pd * (1 - ff) * self._component(T1, T2, 0.0, False) if pd > 0 else 0j
            f = 0j
            if pd > 0 and ff > 0:
                T1f = 280.0 if self.b0 < 2 else 380.0
                T2f = 70.0 if self.seq in ("bssfp",) or self.seq.startswith("t1") else 135.0
                f = pd * ff * self._component(T1f, T2f, self.df_cs, True)
            if name == "blood":
                w = w * self.flow
            self.cache[name] = (w, f)
        return self.cache[name]

    def S(self, name, sl):
        w, f = self.parts(name)
        w = w[sl] if isinstance(w, np.ndarray) else w
        f = f[sl] if isinstance(f, np.ndarray) else f
        if self.fs and not (isinstance(f, complex) and f == 0):
            f = f * self.eta[sl]
        out = w + f
        if np.isscalar(out):
            return np.full(self.cv.ya[sl].shape, out, np.complex64)
        return np.asarray(out, np.complex64)


# --------------------------------------------------------------------------- anatomy


class _Painter:
    def __init__(self, cv, con, tex):
        self.cv, self.con, self.tex = cv, con, tex

    def paint(self, sl, f, zones, label=0, body_only=True):
        """zones: list of (mask|None, tissue, cls, texture_amp); later zones override."""
        cv = self.cv
        if f.size == 0:
            return
        if body_only:
            f = f * cv.body[sl]
        shape = f.shape
        sig = np.zeros(shape, np.complex64)
        cls = np.zeros(shape, np.uint8)
        for m, tissue, c, amp in zones:
            m = np.ones(shape, bool) if m is None else m
            if not m.any():
                continue
            s = self.con.S(tissue, sl)
            if amp:
                s = s * (1 + amp * self.tex[1][sl] + 0.5 * amp * self.tex[0][sl])
            sig[m] = s[m]
            cls[m] = c
        img = cv.img[sl]
        img += (f * (sig - img)).astype(np.complex64)
        own = f >= 0.5
        cv.cls[sl][own] = cls[own]
        lab = np.broadcast_to(np.asarray(label, np.uint8), shape)
        cv.lab[sl][own] = lab[own]


def _scanfill(cv, poly_anat):
    """Even-odd polygon fill of an anatomical polygon on the canvas."""
    ix = cv.to_idx(poly_anat)
    r, c = ix[:, 0], ix[:, 1]
    r2, c2 = np.roll(r, -1), np.roll(c, -1)
    rows = np.arange(cv.H2)[:, None].astype(float)
    lo, hi = np.minimum(r, r2)[None], np.maximum(r, r2)[None]
    cross = (rows >= lo) & (rows < hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = c[None] + (rows - r[None]) * (c2 - c)[None] / (r2 - r)[None]
    xc = np.where(cross, xc, np.inf)
    xc.sort(axis=1)
    mask = np.zeros((cv.H2, cv.W2), bool)
    cols = np.arange(cv.W2)[None, :]
    for k in range(0, xc.shape[1] - 1, 2):
        a, b = xc[:, k:k + 1], xc[:, k + 1:k + 2]
        ok = np.isfinite(a) & np.isfinite(b)
        mask |= ok & (cols >= a) & (cols < b)
    return mask


def _build(params, cv, con):
    """Paint the reference anatomy; return landmark points (anatomical mm) for the motion."""
    an = params["anatomy"]
    rng = np.random.default_rng([int(params["noise_seed"]), 1])
    rtex = np.random.default_rng([int(params["noise_seed"]), 2])
    tex = []
    for smm in (0.7, 2.5, 7.0):
        n = ndimage.gaussian_filter(rtex.standard_normal((cv.H2, cv.W2)).astype(np.float32),
                                    (smm / cv.hr, smm / cv.hc))
        tex.append(n / (n.std() + 1e-9))
    P = _Painter(cv, con, tex)
    k = float(an["pelvis_scale"])
    sc, pf, bl, rm = an["sc_fat_mm"], an["post_fat_mm"], an["belly_mm"], an["rectus_mm"]
    state = an["uterus_state"]
    pro = an["prolapse"]
    L = {}
    corners = np.array([[0, 0], [0, cv.W2 * cv.hc], [cv.H2 * cv.hr, 0],
                        [cv.H2 * cv.hr, cv.W2 * cv.hc]]) - cv.o
    ytop = float((cv.cs * corners[:, 0] + cv.sn * corners[:, 1]).min()) - 40

    # ---------------- bones (geometry)
    es = _dir(an["symph_tilt_deg"])
    symph = _Blob(es * 20 * k, 20 * k, 7.5 * k, an["symph_tilt_deg"], 2.3,
                  _periodic_gp(rng, 0.05, 0.5), W=25)
    sym_top = es * 40 * k
    L["fixed"] = [np.zeros(2), es * 20 * k, sym_top]
    sac_ctrl = k * np.array([[-118, 68], [-100, 84], [-80, 97], [-60, 105], [-43, 106],
                             [-32, 100], [-25, 92], [-20, 82]], float)
    sac_ctrl[:, 1] += rng.normal(0, 3)
    sac_th = k * np.array([38, 34, 28, 22, 17, 13, 10, 8], float)
    ant = _polyline(sac_ctrl, rng, smooth_mm=5, gp_sigma=1.0)
    sa = _arclen(ant)
    thick = np.interp(sa, _arclen(sac_ctrl[:: 1]) * sa[-1] / _arclen(sac_ctrl)[-1], sac_th)
    nrm = _normals(ant)
    sac = _Tube(ant + nrm * thick[:, None] / 2, thick / 2, 60)
    sac_in = _Tube(sac.p, np.maximum(thick / 2 - 1.6, 1), 60)
    n_can = int(len(ant) * 0.4)
    sac_canal = _Tube((ant + nrm * thick[:, None] * 0.7)[:n_can],
                      np.minimum(2.5, thick[:n_can] * 0.1) * np.linspace(1, 0.5, n_can), 5)
    L["fixed"] += [ant[0], ant[len(ant) // 3], ant[2 * len(ant) // 3], ant[-1],
                   ant[len(ant) // 2] + 25 * nrm[len(ant) // 2]]
    L["coccyx"] = ant[-1].copy()
    # lumbar spine
    sig = an["sacral_slope_deg"]
    q = ant[0] + 0.5 * 38 * k * np.array([-np.sin(np.deg2rad(sig)), np.cos(np.deg2rad(sig))])
    a_prev = sig
    verts, discs, canal_pts, spinous, spine_ant = [], [], [], [], [ant[0]]
    for lev, (da, dh) in enumerate(zip([15, 28, 38, 45, 50], [12, 11, 10, 9, 8], strict=True)):
        a_k = sig - da + rng.normal(0, 2)
        e_mid, e_k = _dir((a_prev + a_k) / 2), _dir(a_k)
        h, depth = 27 * k, (38 if lev == 0 else 36) * k
        dcen = q + e_mid * dh * k / 2
        bc = q + e_mid * dh * k + e_k * h / 2
        perp = np.array([e_k[1], -e_k[0]])
        discs.append((dcen, dh * k / 2 + 1, depth / 2 - 1, (a_prev + a_k) / 2))
        verts.append((bc, h / 2, depth / 2, a_k))
        canal_pts.append(bc + perp * (depth / 2 + 2 + 8))
        spinous.append((bc + perp * (depth / 2 + 2 + 16 + 16), a_k, perp))
        spine_ant.append(bc - perp * depth / 2)
        L["fixed"].append(bc)
        q = bc + e_k * h / 2
        a_prev = a_k
        if q[0] < ytop - 30:
            break
    spine_ant = np.array(spine_ant)

    # ---------------- body outline
    yt = ytop - 30
    m_anchor = np.array([[yt, -28 - 0.9 * bl], [-150, -28 - bl], [-90, -25 - 0.75 * bl],
                         [-50, -19 - 0.25 * bl], [sym_top[0] - 2, sym_top[1] - 7]])
    m_anchor = m_anchor[np.argsort(m_anchor[:, 0])]
    m_anchor = m_anchor[(m_anchor[:, 0] >= yt) & (np.r_[True, np.diff(m_anchor[:, 0]) > 5])]

    def m_line(y):
        return np.interp(y, m_anchor[:, 0], m_anchor[:, 1])

    front = [[y, x - rm - sc] for y, x in m_anchor]
    front += [[sym_top[0] + 12, sym_top[1] - 10 - 1.1 * sc], [5 * k, -12 * k - 0.6 * sc],
              [18 * k, -6 * k - 0.2 * sc], [26 * k, 3 * k]]
    bottom = (k * np.array([[30, 14], [35, 28], [40, 42], [41, 55], [37, 66], [27, 78]])).tolist()
    bottom += [[12 * k, 90 * k + 0.3 * pf]]
    back = []
    for j in range(len(ant) - 1, -1, -max(1, len(ant) // 8)):
        back.append(ant[j] + nrm[j] * (thick[j] + 6 + 0.8 * pf))
    for (pt, _a_k, perp) in spinous:
        back.append(pt + perp * (18 + pf))
    back.append([yt, back[-1][1]])
    poly = np.array(front + bottom + [list(b) for b in back], float)
    poly = _polyline(np.vstack([poly, poly[:1]]), rng, step=1.0, smooth_mm=3, gp_sigma=1.5,
                     gp_ell=30)
    cv.body[:] = _scanfill(cv, poly)
    body_edge = cv.dist(~cv.body)

    # ---------------- pelvic floor geometry
    V0 = np.array([29.0, 18.0]) * k
    AV = np.array([39.0, 55.0]) * k
    MEA = np.array([25.0, 5.0]) * k
    thv = an["vagina_angle_deg"]
    Lv = an["vagina_len_mm"] * k
    v1 = V0 + 0.35 * Lv * _dir(-(thv - 8))
    vctrl = [V0, v1, v1 + 0.65 * Lv * _dir(-(thv + 8))]
    vag_c = _polyline(vctrl, rng, smooth_mm=8, gp_sigma=1.2)
    vs = _arclen(vag_c)
    sfrac = vs / vs[-1]
    vault_r = 13.0 if state != "hysterectomy" else 7.5
    vag_r = np.interp(sfrac, [0, 0.3, 0.8, 0.93, 1.0], [5.0, 6.0, 6.5, vault_r * 0.8, vault_r])
    vag_r *= np.exp(_gp1d(rng, len(vag_c), 0.5, 15, 0.06))
    vag_W = np.interp(sfrac, [0, 0.2, 1], [9.0, 15.0, 17.0])
    vag = _Tube(vag_c, vag_r, vag_W)
    vag_m = vag.mask(cv)
    L["introitus"] = V0
    L["vagina_mid"] = vag_c[len(vag_c) // 2]
    L["vault"] = vag_c[-1]

    # levator / puborectalis / perineal body
    thac = rng.uniform(10, 25)
    A1 = AV + an["anal_canal_mm"] * k * _dir(thac)
    r_ac = an["anal_r_mm"]
    pr_c = A1 + np.array([4.0, r_ac + 8.0])
    pubrect = _Blob(pr_c, 9 * k, 6 * k, 20, 2.0, _periodic_gp(rng, 0.06, 0.6), W=25)
    lev = _Tube(_polyline([pr_c + np.array([-2, 6]), ant[-1] + np.array([7, -2])], rng,
                          gp_sigma=0.8), rng.uniform(3, 4.5), 25)
    perineal = _Blob(np.array([24.0, 34.0]) * k, 10 * k, 7.5 * k, -30, 2.0,
                     _periodic_gp(rng, 0.08, 0.5), W=12)
    L["arj"], L["anal_verge"], L["puborectalis"] = A1, AV, pr_c
    L["perineal_body"] = perineal.c
    L["levator"] = lev.p[len(lev.p) // 2]

    bone_m = np.zeros((cv.H2, cv.W2), bool)
    for s_ in (sac,):
        bone_m |= s_.mask(cv)
    sl_, rho_, _ = symph.eval(cv)
    sym_m = np.zeros_like(bone_m)
    sym_m[sl_] = rho_ < 1
    for (bc, a, b, a_k) in verts:
        bb = _Blob(bc, a, b, a_k, 4.0)
        s2, r2, _ = bb.eval(cv)
        bone_m[s2] |= r2 < 1.15
    lev_m = lev.mask(cv)
    sl_, rho_, _ = pubrect.eval(cv)
    lev_m[sl_] |= rho_ < 1

    # ---------------- rectum + sigmoid
    alpha = an["anorectal_angle_deg"]
    th_r0 = (thac - 180) + alpha
    r_amp = an["rectal_r_mm"]
    pts = [AV, A1, A1 + 18 * _dir(th_r0), A1 + 18 * _dir(th_r0) + 25 * _dir(th_r0 + 35)]
    gap_ps = rng.uniform(7, 14)
    for yy in (-48.0, -68.0):
        j = int(np.argmin(np.abs(ant[:, 0] - yy * k)))
        pts.append(ant[j] - nrm[j] * (gap_ps + 0.75 * r_amp))
    rsj = pts[-1]
    retro = state in ("retroverted", "retroflexed")
    heading = _ang(_unit(*(pts[-1] - pts[-2])))
    hs = np.arange(0, an["sigmoid_len_mm"] * k, 1.0)
    turn = rng.uniform(80, 150)
    late = 0.3 if retro else 0.0
    hd = heading + turn * np.clip((hs / hs[-1] - late) / (1 - late), 0, 1) + np.cumsum(
        _gp1d(rng, len(hs), 1.0, 20, 1.5))
    sig_pts = rsj + np.cumsum(np.stack([-np.cos(np.deg2rad(hd)), -np.sin(np.deg2rad(hd))], 1), 0)
    ctrl = np.vstack([np.array(pts), sig_pts[5::6]])
    rc = _polyline(ctrl, rng, smooth_mm=9, gp_sigma=1.0, gp_ell=20)
    rs = _arclen(rc)
    s_a1 = rs[int(np.argmin(np.linalg.norm(rc - A1, axis=1)))]
    i_rsj = int(np.argmin(np.linalg.norm(rc - rsj, axis=1)))
    s_rsj = rs[i_rsj]
    r_sig = rng.uniform(9, 16)
    rr = np.interp(rs, [0, s_a1 - 6, s_a1 + 4, s_a1 + 16, s_a1 + 34, s_a1 + 50, s_rsj,
                        s_rsj + 10, rs[-1]],
                   [r_ac * 0.9, r_ac, r_ac * 1.15, 0.7 * r_amp, r_amp, r_amp, 0.75 * r_amp, r_sig,
                    r_sig])
    rr *= np.exp(_gp1d(rng, len(rc), 0.5, 12, 0.07))
    obst = bone_m | lev_m | vag_m | sym_m
    D = cv.dist(obst)
    mov = rs > s_a1 + 4
    rc, rr, _ = _repel(cv, rc, rr, D, 2.5, mov, 5.0)
    rs = _arclen(rc)
    Wr = np.where(rs < s_rsj + 20, rr * 1.1,
                  rr * 1.1 * np.clip((rs[-1] - rs) / max(0.45 * (rs[-1] - s_rsj), 1), 0, 1))
    rect = _Tube(rc, rr, Wr)
    rect_lab_m = rect.mask(cv, upto=i_rsj)
    i_sig_vis = int(np.searchsorted(rs, s_rsj + 25))
    sig_start_m = rect.mask(cv, upto=i_sig_vis) & ~rect_lab_m
    L["ampulla"] = rc[int(np.searchsorted(rs, s_a1 + 30))]
    L["ampulla_r"] = float(rr[int(np.searchsorted(rs, s_a1 + 30))])
    L["upper_rectum"] = rsj
    L["sigmoid"] = rc[min(i_sig_vis, len(rc) - 1)]
    L["rect_dir"] = _unit(*(rc[int(np.searchsorted(rs, s_a1 + 34))] -
                            rc[int(np.searchsorted(rs, s_a1 + 26))]))

    # ---------------- uterus geometry (cervix fixed in the vault), then bladder, then body
    ut = None
    ut_m = np.zeros_like(vag_m)
    cervix_m = np.zeros_like(vag_m)
    fib_blobs = []
    if state != "hysterectomy":
        E = vag_c[int(np.searchsorted(vs, vs[-1] - 6))]
        th_c = -thv + an["cervix_rel_deg"]
        th_b = th_c + an["flexion_deg"]
        Lc, Lb = an["cervix_len_mm"] * k, an["body_len_mm"] * k
        I_ = E + Lc * _dir(th_c)
        F = I_ + Lb * _dir(th_b)
        uc = _polyline([E, I_, F], rng, smooth_mm=6, gp_sigma=1.0, gp_ell=20)
        us = _arclen(uc)
        i_i = int(np.argmin(np.linalg.norm(uc - I_, axis=1)))
        s_i = us[i_i]
        rc_, rb = an["cervix_r_mm"] * k, an["body_r_mm"] * k
        ur = np.interp(us, [0, s_i * 0.5, s_i, s_i + 0.35 * (us[-1] - s_i),
                            s_i + 0.75 * (us[-1] - s_i), us[-1]],
                       [rc_ * 0.9, rc_, rc_ * 0.95, rb, rb, rb * 0.85])
        ur *= np.exp(_gp1d(rng, len(uc), 0.5, 15, 0.06))
        cervix_m = _Tube(uc, ur, 1).mask(cv, upto=i_i)

    # bladder: star-shaped from its centre, clipped by what surrounds it
    fill = an["bladder_fill"]
    BN = np.array([-12.0, 17.0]) * k + np.array([8.0, 2.0]) * pro["bladder"]
    a_b, b_b = (12 + 52 * fill) * k, (17 + 30 * fill) * k
    th_bl = rng.uniform(0, 25)
    cb = BN + _dir(th_bl) * a_b * 0.92
    obst_b = cervix_m | vag_m | rect_lab_m | bone_m
    Db = np.minimum(cv.dist(obst_b), cv.dist(sym_m) - 2.0)
    Db = np.minimum(Db, body_edge - sc - rm - 1.5)
    for _ in range(20):
        if cv.sample(Db, cb)[0] > 6:
            break
        cb = BN + (cb - BN) * 0.85
    blad = _Blob(cb, a_b, b_b, th_bl, 2.2, _periodic_gp(rng, 0.12 - 0.07 * fill, 0.45))
    blad.clip_rays(cv, Db, 2.0)
    tw = 5.5 - 3.5 * fill
    s2, r2, _ = blad.eval(cv)
    blad_m = np.zeros_like(vag_m)
    blad_m[s2] = r2 < 1
    L["bladder_neck"] = BN
    bnd = blad.boundary()
    L["dome"] = bnd[int(np.argmin(bnd[:, 0]))]
    L["bladder_base"] = bnd[int(np.argmax(bnd[:, 1] - 0.3 * bnd[:, 0]))]

    if state != "hysterectomy":
        obst_u = bone_m | rect_lab_m | sig_start_m | sym_m | blad_m
        Du = np.minimum(cv.dist(obst_u), body_edge - sc - rm - 2)
        best = None
        gp_off = _gp1d(rng, 4000, 0.5, 20, 1.0)
        for dth in (0, -20, 20, -40, -60, 40, -80):
            Fb = I_ + Lb * _dir(th_b + dth)
            uc1 = _polyline([E, I_, Fb], rng, smooth_mm=6)
            uc1 = uc1 + _normals(uc1) * gp_off[:len(uc1), None]
            us1 = _arclen(uc1)
            ur1 = np.interp(us1 / us1[-1], us / us[-1], ur)
            i1 = int(np.argmin(np.linalg.norm(uc1 - I_, axis=1)))
            mv1 = np.arange(len(uc1)) > i1
            uc1, ur1, du = _repel(cv, uc1, ur1, Du, 3.0, mv1, 7.0, iters=8)
            bad = np.nonzero(mv1 & (du < 6.0))[0]
            cut = max(bad[0], i1 + 10) if len(bad) else len(uc1)
            if best is None or cut > best[0] + 4:
                best = (cut, uc1[:cut], ur1[:cut], i1)
            if cut >= 0.9 * len(uc1):
                break
        _, uc, ur, i_i = best
        s_i = _arclen(uc)[i_i]
        us = _arclen(uc)
        ut = _Tube(uc, ur, ur * rng.uniform(1.15, 1.45))
        ut.s_i = s_i
        ut_m = ut.mask(cv)
        L["cervix"] = E
        L["fundus"] = uc[-1]
        for fb in an["fibroids"]:
            j = int(np.clip(np.searchsorted(us, s_i + fb["s"] * (us[-1] - s_i)), 0, len(uc) - 1))
            n_ = _normals(uc)[j]
            side = fb["side"]
            rf = fb["r_mm"] * k
            off = side * ur[j] * 0.85 if abs(side) <= 1 else np.sign(side) * (ur[j] + rf * 0.4)
            c = uc[j] + n_ * off
            if cv.sample(Du, c)[0] < rf * 0.8:
                continue
            bb = _Blob(c, rf, rf * rng.uniform(0.8, 1.0), rng.uniform(0, 180), 2.0,
                       _periodic_gp(rng, 0.06, 0.6), W=rf)
            bb.clip_rays(cv, Du, 2.0)
            bb.deg = fb["degenerated"]
            fib_blobs.append(bb)
            s2, r2, _ = bb.eval(cv)
            ut_m[s2] |= r2 < 1

    # ---------------- paint, background first
    inside = cv.body
    sl_all = (slice(0, cv.H2), slice(0, cv.W2))
    P.paint(sl_all, inside.astype(np.float32),
            [(None, "fat", FAT, 0.04), (body_edge < 1.8, "skin", SKIN, 0.05)], body_only=False)
    # anterior abdominal wall muscle
    yy = np.arange(yt, sym_top[0] + 1, 1.0)
    mw = _Tube(_polyline(np.stack([yy, m_line(yy) - rm / 2], 1), rng, smooth_mm=3,
                         gp_sigma=0.8), rm / 2, 30)
    s2, r2, _ = mw.eval(cv)
    P.paint(s2, cv.pv(r2, mw.W[0]), [(None, "muscle", MUSCLE, 0.05)])

    # small bowel loops in the peritoneal cavity
    D_all = cv.dist(ut_m | vag_m | rect.mask(cv) | bone_m | sym_m | lev_m | blad_m)
    sp_y = spine_ant[np.argsort(spine_ant[:, 0])]
    ant_sorted = ant[np.argsort(ant[:, 0])]
    loops = 0
    for _try in range(an["n_bowel_loops"] * 30):
        if loops >= an["n_bowel_loops"]:
            break
        cy = rng.uniform(ytop, -25 * k)
        xlo = float(m_line(cy)) + 4
        xhi = float(np.interp(cy, np.r_[sp_y[:, 0], ant_sorted[:, 0]],
                              np.r_[sp_y[:, 1], ant_sorted[:, 1]])) - 6
        if xhi - xlo < 16:
            continue
        c0 = np.array([cy, rng.uniform(xlo, xhi)])
        r0 = rng.uniform(7, 13)
        hd0 = rng.uniform(0, 360)
        ln = rng.uniform(15, 65)
        hs_ = np.arange(0, ln, 1.0)
        hd_ = hd0 + rng.uniform(-4, 4) * hs_ + np.cumsum(_gp1d(rng, len(hs_), 1.0, 15, 2.0))
        lp = c0 + np.cumsum(np.stack([-np.cos(np.deg2rad(hd_)), -np.sin(np.deg2rad(hd_))], 1), 0)
        if not inside[tuple(np.clip(np.rint(cv.to_idx(lp)).astype(int), 0,
                                    [cv.H2 - 1, cv.W2 - 1]).T)].all():
            continue
        if (cv.sample(D_all, lp) < r0 + 1.5).any():
            continue
        if (lp[:, 1] < m_line(lp[:, 0]) + r0 * 0.6).any():
            continue
        tb = _Tube(_polyline(lp, rng, smooth_mm=2), r0, r0 * rng.uniform(0.45, 1.15))
        s2, r2, i2 = tb.eval(cv)
        kind = rng.choice(["fluid", "chyme", "gas", "collapsed", "level"], p=[.35, .25, .12, .15,
                                                                            .13])
        wall = r2 > 1 - 2.0 / r0
        lum = ~wall
        zones = [(None, "smooth", BOWEL, 0.05)]
        if kind == "collapsed":
            zones.append((r2 < 0.35, "mucosa", BOWEL, 0.1))
        elif kind == "level":
            X = cv.ya[s2] * cv.sn + cv.xa[s2] * cv.cs  # scanner posterior coordinate
            lvl = float(cv.sample(cv.ya * cv.sn + cv.xa * cv.cs, c0)[0]) + rng.uniform(-4, 2)
            zones += [(lum, "fluid", BOWEL, 0.05), (lum & (X < lvl), "gas", BOWEL, 0)]
        else:
            folds = (np.cos(2 * np.pi * tb.s[i2] / rng.uniform(3.5, 5.5)) > 0.55) & (r2 > 0.55)
            zones += [(lum, kind, BOWEL, 0.15 if kind == "chyme" else 0.04),
                      (lum & folds & (kind != "gas"), "mucosa", BOWEL, 0.05)]
        P.paint(s2, cv.pv(r2, tb.W[0]), zones)
        loops += 1
    for _ in range(int(rng.integers(3, 10))):  # mesenteric vessels
        cy = rng.uniform(ytop, -40 * k)
        c0 = np.array([cy, rng.uniform(float(m_line(cy)) + 5, float(m_line(cy)) + 80)])
        bb = _Blob(c0, rng.uniform(1.2, 3), rng.uniform(1.2, 3), rng.uniform(0, 180), W=3)
        s2, r2, _ = bb.eval(cv)
        P.paint(s2, cv.pv(r2, 3.0), [(None, "blood", VESSEL, 0)])

    # great vessels in front of the lumbar spine
    if len(spine_ant) > 2:
        vp = spine_ant[1:][::-1]
        rv = rng.uniform(8, 11)
        vp = vp + np.array([0.0, -(3 + rv)])
        vt = _Tube(_polyline(vp, rng, smooth_mm=5), rv, rng.uniform(2, 7))
        s2, r2, _ = vt.eval(cv)
        P.paint(s2, cv.pv(r2, vt.W[0]), [(None, "blood", VESSEL, 0)])
        lciv = _Blob(spine_ant[1] + np.array([2.0, -8.0]), 6, 10, 90, W=8)
        s2, r2, _ = lciv.eval(cv)
        P.paint(s2, cv.pv(r2, 8.0), [(None, "blood", VESSEL, 0)])

    # spine
    for (dcen, a, b, ang) in discs:
        bb = _Blob(dcen, a, b, ang, 3.0)
        s2, r2, _ = bb.eval(cv)
        P.paint(s2, cv.pv(r2, 40), [(None, "annulus", DISC, 0.05),
                                    (r2 < 0.6, "disc", DISC, 0.05)])
    for (bc, a, b, a_k) in verts:
        bb = _Blob(bc, a, b, a_k, 4.0, _periodic_gp(rng, 0.02, 0.4))
        s2, r2, _ = bb.eval(cv)
        inner = (r2 < 1 - 1.6 / min(a, b))
        P.paint(s2, cv.pv(r2, 40), [(None, "cortex", BONE, 0), (inner, "marrow", BONE, 0.15)])
    for (pt, _a_k, perp) in spinous:
        bb = _Blob(pt, 17, 6, _ang(perp) - 15, 2.5, _periodic_gp(rng, 0.06, 0.5), W=6)
        s2, r2, _ = bb.eval(cv)
        P.paint(s2, cv.pv(r2, 6), [(None, "cortex", BONE, 0), (r2 < 0.7, "marrow", BONE, 0.1)])
    if len(canal_pts) > 1:
        cp = np.vstack([np.array(canal_pts)[::-1], sac_canal.p[:1]])
        can = _Tube(_polyline(cp, rng, smooth_mm=4), rng.uniform(6.5, 8.5), 9)
        s2, r2, _ = can.eval(cv)
        P.paint(s2, cv.pv(r2, 9), [(None, "csf", CSF, 0)])
    for tb, tis in ((sac, "cortex"), (sac_in, "marrow")):
        s2, r2, _ = tb.eval(cv)
        P.paint(s2, cv.pv(r2, 60), [(None, tis, BONE, 0.15 if tis == "marrow" else 0)])
    s2, r2, _ = sac_canal.eval(cv)
    P.paint(s2, cv.pv(r2, 5), [(None, "csf", CSF, 0)])
    s2, r2, _ = symph.eval(cv)
    P.paint(s2, cv.pv(r2, 25), [(None, "cortex", BONE, 0),
                                (r2 < 1 - 1.8 / symph.b, "marrow", BONE, 0.1)])
    P.paint(s2, cv.pv(r2 * 1.05, 2.0), [(None, "cartilage", BONE, 0)])

    # pelvic floor soft tissue
    for bb, tis, c in ((perineal, "perineum", PERINEUM), (pubrect, "muscle", MUSCLE)):
        s2, r2, _ = bb.eval(cv)
        P.paint(s2, cv.pv(r2, bb.W), [(None, tis, c, 0.05)])
    s2, r2, _ = lev.eval(cv)
    P.paint(s2, cv.pv(r2, 25), [(None, "muscle", MUSCLE, 0.05)])
    uret = _Tube(_polyline([BN + _dir(th_bl) * 3, (BN + MEA) / 2 + np.array([0, -3]), MEA], rng,
                           smooth_mm=5), rng.uniform(5, 6.5), 6.5)
    s2, r2, _ = uret.eval(cv)
    P.paint(s2, cv.pv(r2, 6.5), [(None, "sphincter", URETHRA, 0.05),
                                  (r2 < 0.5, "smooth", URETHRA, 0.05),
                                  (r2 < 0.2, "mucosa", URETHRA, 0)])
    if an["douglas_fluid"]:
        c0 = (L["vault"] + L["ampulla"]) / 2 + np.array([-10.0, 0])
        bb = _Blob(c0, rng.uniform(4, 9), rng.uniform(3, 6), rng.uniform(0, 180), 2.0,
                   _periodic_gp(rng, 0.15, 0.5), W=10)
        s2, r2, _ = bb.eval(cv)
        P.paint(s2, cv.pv(r2, 10), [(None, "fluid", FLUID, 0)])

    # rectum and sigmoid (label 3 up to the rectosigmoid junction)
    s2, r2, i2 = rect.eval(cv)
    sloc = rect.s[i2]
    content = an["rectal_content"]
    canal = sloc < s_a1
    lumen = r2 < 1 - 3.0 / rect.r[i2]
    cls_w = np.where(i2 <= i_rsj, RECTUM_WALL, COLON).astype(np.uint8)
    zones = [(None, "smooth", 0, 0.05), (canal, "sphincter", ANAL, 0.05),
             (canal & (r2 < 0.55), "smooth", ANAL, 0.05), (canal & (r2 < 0.2), "mucosa", ANAL, 0)]
    rect_part = (~canal) & (i2 <= i_rsj)
    sig_part = i2 > i_rsj
    ctis = {"gel": "gel_doped" if an["gel_doped"] else "gel"}.get(content, content)
    if content == "empty":
        zones.append((rect_part & (r2 < 0.25), "mucosa", RECTUM_CONTENT, 0.1))
    else:
        zones.append((rect_part & lumen, ctis, RECTUM_CONTENT, 0.35 if content == "stool" else
                      0.04))
        if content == "stool":
            zones.append((rect_part & lumen & (tex[0][s2] > 1.3), "gas", RECTUM_CONTENT, 0))
    scont = rng.choice(["gas", "stool", "collapsed"], p=[0.4, 0.4, 0.2])
    if scont == "collapsed":
        zones.append((sig_part & (r2 < 0.3), "mucosa", COLON, 0.1))
    else:
        zones.append((sig_part & lumen, str(scont), COLON, 0.3 if scont == "stool" else 0))
    f = cv.pv(r2, rect.W[i2])
    lab = np.where(i2 <= i_rsj, 3, 0).astype(np.uint8)
    # wall class
    P.paint(s2, f, zones, label=lab)
    own = (f >= 0.5) & (cv.cls[s2] == 0)
    cv.cls[s2][own] = cls_w[own]

    # vagina and uterus (label 2)
    s2, r2, i2 = vag.eval(cv)
    zones = [(None, "vagwall", VAGINA, 0.05)]
    if an["vaginal_gel"]:
        zones.append((r2 < 0.55, "gel", VAGINA, 0.03))
    else:
        zones.append((r2 < 0.3, "mucus", VAGINA, 0.1))
    P.paint(s2, cv.pv(r2, vag.W[i2]), zones, label=2)
    if ut is not None:
        s2, r2, i2 = ut.eval(cv)
        sl_u = ut.s[i2]
        body = sl_u > ut.s_i
        tpos = np.clip((sl_u - ut.s_i) / max(ut.s[-1] - ut.s_i, 1), 0, 1)
        ew = an["endometrium"] * np.sin(np.pi * np.clip(tpos * 1.1, 0, 1)) ** 0.6
        ew = np.where(i2 >= len(ut.p) - 1, 0, ew)
        myo = "myo_atrophic" if state == "atrophic" else "myometrium"
        zones = [(None, "cervix", CERVIX, 0.05), ((~body) & (r2 < 0.18), "mucus", CERVIX, 0.05),
                 (body, myo, UTERUS, 0.06), (body & (r2 < ew + 0.14), "junctional", UTERUS, 0.05),
                 (body & (r2 < ew), "endometrium", UTERUS, 0.05)]
        P.paint(s2, cv.pv(r2, ut.W[i2]), zones, label=2)
        for bb in fib_blobs:
            s2, r2, _ = bb.eval(cv)
            P.paint(s2, cv.pv(r2, bb.W), [(None, "fibroid_deg" if bb.deg else "fibroid",
                                           FIBROID, 0.12)], label=2)

    # bladder (label 1)
    s2, r2, dd = blad.eval(cv)
    Rloc = dd / np.maximum(r2, 1e-6)
    urine = r2 < 1 - tw / np.maximum(Rloc, tw + 1)
    Wb = (b_b * 0.9 + 10)
    P.paint(s2, cv.pv(r2, Wb), [(None, "smooth", BLADDER_WALL, 0.05),
                                (urine, "urine", URINE, 0.01)], label=1)
    L["bladder_center"] = blad.c
    L["sym_top"] = sym_top
    L["m_line"] = (float(m_line(-100.0)), float(m_line(-180.0)))
    L["ytop"] = ytop
    L["spine_ant"] = spine_ant
    return L


# --------------------------------------------------------------------------- motion


def _time_course(mo, T):
    u = np.linspace(0, 1, T)
    i = np.arange(T)

    def sstep(x):
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)

    man = mo["manoeuvre"]
    a = np.zeros(T)
    sq = np.zeros(T)
    ev = np.zeros(T)
    if man in ("strain", "defecation"):
        a = sstep((u - mo["onset"]) / mo["ramp"]) * (1 - sstep((u - mo["release"]) / 0.1))
        if man == "defecation":
            ev = sstep((u - mo["onset"] - 0.5 * mo["ramp"]) / 0.45)
    elif man == "cough":
        for e in mo["events"]:
            a = a + np.exp(-(((i - e * (T - 1)) / 0.45) ** 2)) * (0.5 + 0.5 * (e * 7 % 1))
        a = np.clip(a, 0, 1) * 0.75
    elif man == "squeeze":
        for e in mo["events"]:
            sq = np.maximum(sq, sstep((u - e + 0.12) / 0.06) * (1 - sstep((u - e - 0.08) / 0.06)))
        if T and sq.max() < 0.5:
            sq[int(round(mo["events"][0] * (T - 1)))] = 1.0
    return a, sq, ev


def _motion_fields(params, cv, L):
    """Backward maps u_t (T,2,gh,gw) in mm on a coarse grid + the grid description."""
    mo = params["motion"]
    an = params["anatomy"]
    T = int(params["n_frames"])
    rng = np.random.default_rng([int(params["noise_seed"]), 3])
    pro = an["prolapse"]
    A = float(mo["descent_mm"])
    A_bn = A * rng.uniform(0.6, 0.9) + 40 * pro["bladder"]
    A_cx = A * rng.uniform(0.45, 0.7) + 50 * pro["uterus"]
    A_r = A * rng.uniform(0.8, 1.1) + 28 * pro["rectum"]
    Lf = float(mo["lift_mm"])
    to_intro = _unit(*(L["introitus"] - L["vault"]))
    pts, vs, vq, ve, vr = [], [], [], [], []

    def add(p, s=(0, 0), q=(0, 0), e=(0, 0), r=(0, 0)):
        pts.append(np.asarray(p, float))
        for lst, v in ((vs, s), (vq, q), (ve, e), (vr, r)):
            lst.append(np.asarray(v, float))

    for p in L["fixed"]:
        add(p)
    add(L["coccyx"], s=2 * _unit(0.2, 1))
    add(L["bladder_neck"], s=A_bn * _unit(1, 0.35), q=0.5 * Lf * _unit(-1, -0.6))
    add(L["dome"], s=0.45 * A_bn * _unit(1, 0.1), r=(1, 0))
    add(L["bladder_base"], s=0.9 * A_bn * _unit(1, 0.15), q=0.4 * Lf * _unit(-1, -0.4))
    add(L["vault"], s=A_cx * to_intro, q=0.4 * Lf * _unit(-1, -0.3))
    if "fundus" in L:
        add(L["fundus"], s=0.6 * A_cx * to_intro + 0.2 * A * _unit(1, 0), r=(1, 0))
    add(L["vagina_mid"], s=0.3 * (A_cx + A_bn) * _unit(1, 0.1), q=0.6 * Lf * _unit(-1, -0.5))
    add(L["introitus"], s=0.35 * A_r * _unit(1, 0.1), q=0.5 * Lf * _unit(-1, -0.3))
    add(L["perineal_body"], s=0.45 * A_r * _unit(1, 0.1), q=0.8 * Lf * _unit(-1, -0.4))
    rect_open = 0.25 * A_r * _unit(0.3, 1)
    add(L["arj"], s=A_r * _unit(1, 0.45), q=1.2 * Lf * _unit(-0.8, -1),
        e=0.5 * A_r * _unit(1, 0.3))
    add(L["anal_verge"], s=0.4 * A_r * _unit(1, 0.2), q=0.6 * Lf * _unit(-1, -0.3))
    add(L["puborectalis"], s=0.9 * A_r * _unit(1, 0.8) + rect_open, q=1.2 * Lf * _unit(-0.5, -1))
    add(L["levator"], s=0.6 * A_r * _unit(1, 0.2), q=0.7 * Lf * _unit(-1, 0))
    amp = L["ampulla"]
    rdir = L["rect_dir"]
    anorm = np.array([rdir[1], -rdir[0]])  # anterior-ish normal of the rectal axis
    if anorm[1] > 0:
        anorm = -anorm
    ra = L["ampulla_r"]
    rcele = float(an["rectocele_mm"])
    add(amp, s=0.7 * A_r * _unit(1, 0.2), q=0.5 * Lf * _unit(-1, -0.3))
    add(amp + anorm * ra, s=0.7 * A_r * _unit(1, 0.2) + rcele * _unit(0.3, -1),
        e=-0.5 * ra * anorm)
    add(amp - anorm * ra, s=0.7 * A_r * _unit(1, 0.2), e=0.5 * ra * anorm)
    add(L["upper_rectum"], s=0.35 * A * _unit(1, 0))
    add(L["sigmoid"], s=0.4 * A * _unit(1, 0), r=(1, 0))
    ym = L["ytop"] + 40
    add([ym, L["m_line"][1] + 60], s=0.25 * A * _unit(1, 0), r=(1, 0.2))
    add([-100, L["m_line"][0] + 40], s=0.35 * A * _unit(1, 0), r=(0.8, 0.2))
    add([-100, L["m_line"][0] - 5], s=0.25 * A * _unit(0.3, -1), r=(0.3, -0.5),
        q=1.0 * _unit(0, 1))
    P = np.array(pts)
    n = len(P)
    jit = lambda: np.exp(rng.normal(0, 0.12, n))[:, None]  # noqa: E731
    rot = np.deg2rad(rng.normal(0, 6, n))
    c_, s_ = np.cos(rot)[:, None], np.sin(rot)[:, None]

    def perturb(V):
        V = np.array(V) * jit()
        return np.concatenate([c_ * V[:, :1] - s_ * V[:, 1:], s_ * V[:, :1] + c_ * V[:, 1:]], 1)

    Vs, Vq, Ve, Vr = perturb(vs), perturb(vq), perturb(ve), np.array(vr)
    Pf = cv.to_fov(P)
    Vs, Vq, Ve, Vr = (cv.vec_to_fov(v) for v in (Vs, Vq, Ve, Vr))
    a, sq, ev = _time_course(mo, T)
    dt = float(params["frame_interval_s"])
    t_s = np.arange(T) * dt
    resp = float(mo["resp_mm"]) * np.sin(2 * np.pi * t_s / rng.uniform(3.5, 6) + rng.uniform(
        0, 6.3))
    if mo["manoeuvre"] in ("strain", "defecation"):
        resp = resp * (1 - a)
    drift = np.cumsum(rng.normal(0, 1, (T, 2)), 0)
    drift -= drift[0]
    drift *= float(mo["drift_mm"]) / max(np.abs(drift).max(), 1e-6)

    ell = float(mo["length_scale_mm"])
    gs = 6.0
    fy, fx = cv.H2 * cv.hr, cv.W2 * cv.hc
    gy = np.arange(-30, fy + 31, gs)
    gx = np.arange(-30, fx + 31, gs)
    G = np.stack(np.meshgrid(gy, gx, indexing="ij"), -1).reshape(-1, 2)

    def kern(X, Y):
        d2 = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * ell * ell))

    K = kern(Pf, Pf) + 0.08 * np.eye(n)
    Kinv = np.linalg.inv(K)
    Kg = kern(G, Pf) @ Kinv
    # smooth random prior samples (Matheron update), temporally smooth coefficients
    sg = ell / (np.sqrt(2) * gs)
    nb = 4
    basis = []
    for _ in range(nb):
        b = np.stack([ndimage.gaussian_filter(rng.standard_normal((len(gy), len(gx))), sg,
                                              mode="wrap") for _ in range(2)])
        basis.append(b * np.sqrt(4 * np.pi) * sg)
    basis = np.array(basis)
    fr = rng.uniform(0.02, 0.2, nb)
    ph = rng.uniform(0, 6.3, nb)
    coef = np.sin(2 * np.pi * fr[None] * t_s[:, None] + ph[None]) / np.sqrt(nb / 2)
    coef -= coef[:1]
    jmm = float(mo["jitter_mm"])
    piy = (Pf[:, 0] - gy[0]) / gs
    pix = (Pf[:, 1] - gx[0]) / gs
    U = np.zeros((T, 2, len(gy), len(gx)), np.float32)
    jmin = np.inf
    for t in range(T):
        D = a[t] * Vs + sq[t] * Vq + ev[t] * Ve + resp[t] * Vr + drift[t][None]
        f = jmm * np.tensordot(coef[t], basis, 1)
        fP = np.stack([ndimage.map_coordinates(f[c], [piy, pix], order=1, mode="nearest")
                       for c in range(2)], 1)
        v = f + (Kg @ (D - fP)).T.reshape(2, len(gy), len(gx))
        u = _exp_backward(v, gs)
        U[t] = u
        jmin = min(jmin, _jac_min(u, gs))
    return U, (gy[0], gx[0], gs), jmin


def _exp_backward(v, gs, nsteps=6):
    """Backward map of exp(v) by scaling and squaring: returns displacement u (x -> x + u)."""
    u = -v / 2**nsteps
    iy, ix = np.meshgrid(np.arange(v.shape[1]), np.arange(v.shape[2]), indexing="ij")
    for _ in range(nsteps):
        cy, cx = iy + u[0] / gs, ix + u[1] / gs
        u = u + np.stack([ndimage.map_coordinates(u[c], [cy, cx], order=1, mode="nearest")
                          for c in range(2)])
    return u


def _jac_min(u, gs):
    dyy, dyx = np.gradient(u[0], gs)
    dxy, dxx = np.gradient(u[1], gs)
    return float(((1 + dyy) * (1 + dxx) - dyx * dxy).min())


def _interp_matrix(pos, n):
    """Dense linear interpolation weights of grid-unit positions pos onto n nodes."""
    pos = np.clip(pos, 0, n - 1 - 1e-6)
    i0 = np.floor(pos).astype(int)
    w = pos - i0
    M = np.zeros((len(pos), n), np.float32)
    M[np.arange(len(pos)), i0] = 1 - w
    M[np.arange(len(pos)), np.minimum(i0 + 1, n - 1)] += w
    return M


# --------------------------------------------------------------------------- render


def _coil(params, cv, rng):
    Y = (np.arange(cv.H2) + 0.5) * cv.hr
    X = (np.arange(cv.W2) + 0.5) * cv.hc
    an = params["anatomy"]
    front = -(35 + an["sc_fat_mm"] + an["belly_mm"] * 0.7)
    back = 140 + an["post_fat_mm"]
    B = np.zeros((cv.H2, cv.W2), np.float32)
    for xa in (front - 15, back + 15):
        for ya in (-150, -70, 10):
            p = cv.to_fov(np.array([ya + rng.normal(0, 15), xa + rng.normal(0, 10)]))
            s = rng.uniform(80, 150)
            g = rng.uniform(0.6, 1.4)
            B += g * np.exp(-((Y[:, None] - p[0]) ** 2 + (X[None, :] - p[1]) ** 2) / (2 * s * s))
    B /= B[cv.body].mean() if cv.body.any() else B.mean()
    lam = float(params["imaging"]["coil_mix"])
    return ((1 - lam) + lam * B).astype(np.float32)


def _kspace_filter(params, H, W, rng):
    im = params["imaging"]
    pe = int(im["pe_axis"])
    n_pe, n_ro = (H, W) if pe == 0 else (W, H)
    kpe = np.fft.fftfreq(n_pe) * n_pe
    kro = np.fft.fftfreq(n_ro) * n_ro
    wpe = (np.abs(kpe) <= im["pe_resolution"] * n_pe / 2).astype(np.complex64)
    wro = (np.abs(kro) <= im["ro_resolution"] * n_ro / 2).astype(np.complex64)
    pf = float(im["partial_fourier"])
    if pf < 1:
        cut = -(pf - 0.5) * n_pe
        side = 1 if rng.random() < 0.5 else -1
        wpe = wpe * (side * kpe >= cut)
    if im["t2_blur"] > 0:
        wpe = wpe * np.exp(-im["t2_blur"] * np.abs(kpe) / (n_pe / 2))
    # periodic motion ghosts (sequential ordering) and Nyquist (odd/even line) ghosts
    order = np.argsort(np.argsort(kpe))
    shift = im["ghost_px"] * np.sin(2 * np.pi * order / im["ghost_period"] + rng.uniform(0, 6.3))
    wpe = wpe * np.exp(-2j * np.pi * kpe * shift / n_pe)
    if im["nyquist_ghost"] > 0:
        wpe = wpe * np.where(order % 2 == 1, 1 + im["nyquist_ghost"] * np.exp(
            1j * rng.uniform(0, 6.3)), 1)
    return (wpe[:, None] * wro[None, :]) if pe == 0 else (wro[:, None] * wpe[None, :])


def _simulate(params, want_aux=False):
    cv = _Canvas(params)
    con = _Contrast(params, cv, np.random.default_rng([int(params["noise_seed"]), 4]))
    L = _build(params, cv, con)
    U, (g0y, g0x, gs), jmin = _motion_fields(params, cv, L)
    rng = np.random.default_rng([int(params["noise_seed"]), 5])
    coil = _coil(params, cv, rng)
    H, W, H2, W2 = cv.H, cv.W, cv.H2, cv.W2
    T = U.shape[0]
    # interpolation of the coarse map onto the oversampled and the output grids
    yh, xh = (np.arange(H2) + 0.5) * cv.hr, (np.arange(W2) + 0.5) * cv.hc
    yt, xt = (np.arange(H) + 0.5) * cv.dr, (np.arange(W) + 0.5) * cv.dc
    gh, gw = U.shape[2], U.shape[3]
    Ayh, Axh = _interp_matrix((yh - g0y) / gs, gh), _interp_matrix((xh - g0x) / gs, gw)
    Ayt, Axt = _interp_matrix((yt - g0y) / gs, gh), _interp_matrix((xt - g0x) / gs, gw)
    kf = _kspace_filter(params, H, W, rng)
    ky = np.fft.fftfreq(H) * H
    kx = np.fft.fftfreq(W) * W
    ramp = (np.exp(1j * np.pi * ky / (2 * H))[:, None] * np.exp(1j * np.pi * kx / (2 * W))[None])
    iy_keep = np.r_[0:(H + 1) // 2, H2 - H // 2:H2]
    ix_keep = np.r_[0:(W + 1) // 2, W2 - W // 2:W2]
    re, imr = cv.img.real.copy(), cv.img.imag.copy()
    clean = np.zeros((T, H, W), np.complex64)
    labels = np.zeros((T, H, W), np.uint8)
    aux = np.zeros((T, H, W), np.uint8) if want_aux else None
    body = np.zeros((T, H, W), bool) if want_aux else None
    YH, XH = np.meshgrid(yh, xh, indexing="ij")
    YT, XT = np.meshgrid(yt, xt, indexing="ij")
    for t in range(T):
        uy = Ayh @ U[t, 0] @ Axh.T
        ux = Ayh @ U[t, 1] @ Axh.T
        cy, cx = (YH + uy) / cv.hr - 0.5, (XH + ux) / cv.hc - 0.5
        w = (ndimage.map_coordinates(re, [cy, cx], order=1, mode="nearest")
             + 1j * ndimage.map_coordinates(imr, [cy, cx], order=1, mode="nearest"))
        k = np.fft.fft2(w * coil)
        k = k[iy_keep][:, ix_keep] * ramp / 4.0
        clean[t] = np.fft.ifft2(k * kf)
        uy = Ayt @ U[t, 0] @ Axt.T
        ux = Ayt @ U[t, 1] @ Axt.T
        ry = np.rint((YT + uy) / cv.hr - 0.5).astype(int)
        rx = np.rint((XT + ux) / cv.hc - 0.5).astype(int)
        ok = (ry >= 0) & (ry < H2) & (rx >= 0) & (rx < W2)
        ry, rx = np.clip(ry, 0, H2 - 1), np.clip(rx, 0, W2 - 1)
        labels[t] = np.where(ok, cv.lab[ry, rx], 0)
        if want_aux:
            aux[t] = np.where(ok, cv.cls[ry, rx], 0)
            body[t] = ok & cv.body[ry, rx]
    # one connected piece per label and frame
    for t in range(T):
        for lab in (1, 2, 3):
            m = labels[t] == lab
            if not m.any():
                continue
            cc, n = ndimage.label(m)
            if n > 1:
                sizes = np.bincount(cc.ravel())[1:]
                labels[t][m & (cc != 1 + int(np.argmax(sizes)))] = 0
    im = params["imaging"]
    ref = np.abs(clean[0])
    bmask = labels[0] > 0
    sig_level = float(np.mean(ref[ref > 0.1 * np.percentile(ref, 99)])) if ref.max() > 0 else 1.0
    if bmask.any():
        sig_level = max(sig_level, 1e-6)
    sigma = sig_level / float(im["snr"])
    noise = rng.standard_normal((2, T, H, W)).astype(np.float32) * sigma
    frames = np.abs(clean + noise[0] + 1j * noise[1])
    frames *= float(im["intensity_scale"]) / sig_level
    out = {"frames": frames.astype(np.float32), "labels": labels, "jac_min": jmin}
    if want_aux:
        out["aux"], out["body"] = aux, body
    return out


def render(params: dict):
    """Render a case: (frames float32 (T,H,W), labels uint8 (T,H,W), (row_mm, col_mm), params)."""
    out = _simulate(params)
    return out["frames"], out["labels"], tuple(float(v) for v in params["spacing_mm"]), params


def generate(seed: int):
    return render(draw_params(seed))


def _write_case(seed: int, out) -> str:
    t0 = time.time()
    params = draw_params(seed)
    frames, labels, spacing, params = render(params)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    (case / "series").mkdir(parents=True, exist_ok=True)
    T = frames.shape[0]
    seq = params["imaging"]["sequence"]
    series = CineSeries(
        frames=frames,
        spacing_mm=spacing,
        times_s=np.arange(T) * float(params["frame_interval_s"]),
        meta={"series_description": f"cine sag pelvis ({seq})", "subject_id": f"gp_{seed:03d}"},
    )
    write_dicom_series(series, case / "series", seed=seed, patient_name=f"GP^{seed:03d}",
                       patient_id=f"gp_{seed:03d}",
                       slice_thickness_mm=float(params["imaging"]["slice_thickness_mm"]))
    np.save(case / "truth.npy", labels.astype(np.uint8))
    (case / "params.json").write_text(json.dumps(params, indent=1))
    an = params["anatomy"]
    px = [int((labels == k).sum() // T) for k in (1, 2, 3)]
    return (f"{PREFIX}_{seed:03d}: {seq} {frames.shape[1]}x{frames.shape[2]} "
            f"{spacing[0]:.2f}x{spacing[1]:.2f}mm {T}fr {params['motion']['manoeuvre']} "
            f"uterus={an['uterus_state']} rectum={an['rectal_content']} "
            f"px/frame b/u/r={px[0]}/{px[1]}/{px[2]} ({time.time() - t0:.1f}s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="100-195")
    ap.add_argument("--out", default="gp_cases")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    seeds = parse_seeds(a.seeds)
    from functools import partial

    for line in map_jobs(partial(_write_case, out=a.out), seeds, a.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
