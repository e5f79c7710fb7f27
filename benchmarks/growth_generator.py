"""Growth: female pelvic floor cine MRI whose anatomy is grown by competitive multi-label growing.

How a case is made
------------------
1. Parameters (``sample_params``, cheap, no rendering): matrix 224-288 per axis, pixels of
   1.1-1.5 mm (with ``matrix`` given the field of view in mm is kept and the spacing scaled),
   20-40 frames 0.5-2 s apart, a manoeuvre, a sequence family and the anatomy scalars (body size,
   tilt, fat, bladder filling, uterus version / size / fibroids, hysterectomy, parity and laxity
   per compartment, rectal and vaginal content ...).  The landmarks are laid out once here to
   place the pelvis in the field of view.
2. Anatomy in body millimetres (x posterior, y caudal, origin at the inferior-posterior corner of
   the pubic symphysis): bones (symphysis, sacrum, coccyx, lumbar vertebrae, discs, spinous
   processes), body outline, skin, subcutaneous fat, rectus muscle, spinal canal, paraspinal
   muscles and vessels are drawn once.  Every moving soft structure is a *component*: a seed
   skeleton (points and curves laid out from the landmarks: bladder base and dome, cervix and
   uterine axis, fibroids, vaginal axis, anal canal + rectum up to the rectosigmoid junction at S3,
   sigmoid, small-bowel loops, pouch-of-Douglas fluid), a radius profile and either a target area
   (bladder, uterus) or a fixed reach.
3. Growth, every frame, on a 2x oversampled grid: one multi-source Dijkstra front
   (``scipy.sparse.csgraph.dijkstra``) on the 8-connected pixel graph of the pelvic cavity with an
   anisotropic random speed field (smooth noise, roughness and preferred direction per
   component).  Each component enters through a virtual node whose edges to its seed pixels carry
   a head start (constant minus the local radius), so all components grow at once and meet at
   irregular interfaces (an additively weighted geodesic Voronoi diagram); each keeps the part of
   its cell reached before its own stop time (area quantile or fixed reach).  Skeleton pixels
   and a core around them (a fraction of the radius: tissue stiffness) have no incoming edges,
   so no front crushes a thin organ; the bladder keeps in front of the vagina - uterus septum;
   turgid organs (bladder, uterus) get a morphological opening / closing.  Bones, muscles
   (levator plate, puborectalis, external anal sphincter), the urethra and the body wall are
   obstacles.  Walls (bladder, vagina, rectum, bowel) are rings of the grown regions (distance
   transform), uterine zones (endometrium, junctional zone, myometrium, cervical stroma and
   canal) come from the normalised arrival time, and the rectum is cut from the sigmoid by a
   plane perpendicular to the bowel axis at the junction.
4. Motion: a manoeuvre curve per case (rest, Valsalva, squeeze, cough, defecation, squeeze then
   Valsalva; ramps, holds, releases, repeats) drives displacement vectors of control points
   (bladder dome / base / neck, cervix, fundus, vaginal axis, introitus, perineal body, anorectal
   junction, rectocele, levator plate, bowel, breathing of the upper abdomen) while anchors on
   every bone stay fixed.  A Gaussian RBF field carries the seed skeletons, speed fields,
   textures and soft tissue; every frame is grown again from the moved seeds with the same speed
   fields, so contacts and flattening appear naturally.  Defecation empties the rectum through
   the opening anal canal.
5. Imaging: tissue relaxation values -> signal of the sequence (T2 HASTE, TrueFISP, PD TSE, T1 GRE,
   optional fat saturation) with per-case jitter; separate water and fat images (chemical shift,
   opposed-phase cancellation at fat-water borders), texture, bSSFP banding, a transmit field,
   through-plane partial volume (a shifted neighbouring-slice map mixed in with weight 0-30 %),
   then k-space: crop of the 2x grid to the output matrix, acquired fraction of 60-90 % in the
   phase direction, partial Fourier 5/8-7/8 with zero filling (Gibbs ringing), optional
   Hamming / Fermi filter, occasional Nyquist or motion ghosts, coil sensitivities (anterior and
   posterior arrays) with per-coil k-space noise, root-sum-of-squares magnitude (Rician /
   non-central chi, SNR 4-40) and an arbitrary global scale.

Orientation: row 0 cranial, rows go towards the feet; column 0 anterior, last column posterior.

Labels (truth uint8 (T, H, W)): 0 background, 1 bladder (wall + urine down to the bladder neck;
the urethra is not labelled), 2 uterus_vagina (uterine body with fibroids, cervix and vagina with
its lumen down to the introitus; a rounded vaginal cuff after hysterectomy), 3 rectum (rectum and
anal canal, wall + content, from the plane cut at the rectosigmoid junction to the anal verge;
sigmoid and external anal sphincter not labelled).  Image and truth come from the same fine
tissue map of each frame: the truth is its tent-weighted majority at the output pixel centres.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import scipy.fft as sfft
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "growth"

# ----------------------------------------------------------------------------------------------
# tissues: name, proton density, T1 (ms), T2 (ms), fat fraction, texture amplitude
_TISSUES = (
    ("air", 0.0, 1000.0, 1.0, 0.0, 0.0),
    ("fat", 0.9, 260.0, 110.0, 1.0, 0.07),
    ("skin", 0.7, 700.0, 45.0, 0.1, 0.05),
    ("muscle", 0.75, 900.0, 42.0, 0.02, 0.08),
    ("cortex", 0.04, 1000.0, 5.0, 0.0, 0.02),
    ("marrow", 0.85, 500.0, 80.0, 0.55, 0.15),
    ("disc_annulus", 0.5, 900.0, 35.0, 0.0, 0.04),
    ("disc_nucleus", 0.85, 1300.0, 110.0, 0.0, 0.05),
    ("csf", 1.0, 4000.0, 1800.0, 0.0, 0.01),
    ("nerve", 0.75, 900.0, 80.0, 0.0, 0.03),
    ("ligament", 0.2, 800.0, 15.0, 0.0, 0.05),
    ("vessel", 0.9, 1450.0, 250.0, 0.0, 0.02),
    ("urine", 1.0, 3200.0, 1400.0, 0.0, 0.01),
    ("bladder_wall", 0.72, 1000.0, 55.0, 0.0, 0.05),
    ("endometrium", 0.88, 1250.0, 140.0, 0.0, 0.04),
    ("junctional", 0.68, 900.0, 50.0, 0.0, 0.05),
    ("myometrium", 0.8, 1150.0, 95.0, 0.0, 0.07),
    ("cervix_stroma", 0.7, 1000.0, 55.0, 0.0, 0.05),
    ("cervix_mucus", 0.95, 2300.0, 600.0, 0.0, 0.02),
    ("fibroid", 0.68, 900.0, 40.0, 0.0, 0.06),
    ("fibroid_degenerated", 0.85, 1500.0, 180.0, 0.0, 0.2),
    ("vaginal_wall", 0.75, 1000.0, 65.0, 0.0, 0.06),
    ("vaginal_mucus", 0.92, 1800.0, 200.0, 0.0, 0.05),
    ("gel", 1.0, 2500.0, 900.0, 0.0, 0.01),
    ("rectal_wall", 0.72, 1000.0, 55.0, 0.0, 0.05),
    ("feces", 0.7, 700.0, 70.0, 0.05, 0.35),
    ("gas", 0.0, 1000.0, 1.0, 0.0, 0.0),
    ("mucosa", 0.85, 1200.0, 110.0, 0.0, 0.08),
    ("bowel_wall", 0.75, 1000.0, 65.0, 0.0, 0.05),
    ("bowel_fluid", 1.0, 2800.0, 900.0, 0.0, 0.03),
    ("chyme", 0.85, 1200.0, 150.0, 0.02, 0.25),
    ("free_fluid", 1.0, 3000.0, 1200.0, 0.0, 0.01),
    ("urethra_wall", 0.7, 950.0, 50.0, 0.0, 0.05),
    ("urethra_mucosa", 0.85, 1200.0, 120.0, 0.0, 0.05),
    ("perineal", 0.6, 900.0, 38.0, 0.05, 0.08),
    ("int_sphincter", 0.75, 1000.0, 70.0, 0.0, 0.05),
    ("symph_disc", 0.5, 900.0, 30.0, 0.0, 0.04),
    ("venous_plexus", 0.95, 1400.0, 300.0, 0.0, 0.05),
)
_T = {row[0]: i for i, row in enumerate(_TISSUES)}
_NT = len(_TISSUES)

_FAMILIES = ("haste", "truefisp", "pd", "t1gre")
_SEQ_NAMES = {"haste": "T2 HASTE", "truefisp": "TrueFISP", "pd": "PD TSE", "t1gre": "T1 GRE"}
_MANEUVERS = ("valsalva", "defecation", "squeeze", "cough", "squeeze_valsalva")
_C_HEAD = 150.0  # head-start constant of the growth (mm of travel)
_BIG = 1.0e4  # cost of an obstacle pixel


# ----------------------------------------------------------------------------------------------
# small geometry helpers (body coordinates: x posterior, y caudal, mm)
def _up(theta_deg: float) -> np.ndarray:
    """Unit vector theta degrees from cranial (0, -1) towards posterior (+x)."""
    t = math.radians(theta_deg)
    return np.array([math.sin(t), -math.cos(t)])


def _down(theta_deg: float) -> np.ndarray:
    """Unit vector theta degrees from caudal (0, 1) towards posterior (+x)."""
    t = math.radians(theta_deg)
    return np.array([math.sin(t), math.cos(t)])


def _bezier(ctrl, n: int = 64) -> np.ndarray:
    ctrl = np.asarray(ctrl, float)
    t = np.linspace(0.0, 1.0, n)[:, None, None]
    pts = np.broadcast_to(ctrl, (n,) + ctrl.shape).copy()
    while pts.shape[1] > 1:
        pts = (1.0 - t) * pts[:, :-1] + t * pts[:, 1:]
    return pts[:, 0]


def _arclen(poly: np.ndarray) -> np.ndarray:
    seg = np.hypot(*np.diff(poly, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(seg)])


def _resample(poly, step: float) -> np.ndarray:
    poly = np.asarray(poly, float)
    s = _arclen(poly)
    keep = np.concatenate([[True], np.diff(s) > 1e-9])
    poly, s = poly[keep], s[keep]
    if len(poly) < 2:
        return np.repeat(poly[:1], 2, axis=0)
    n = max(2, int(math.ceil(s[-1] / step)) + 1)
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])], 1)


def _smooth_poly(poly: np.ndarray, passes: int = 3) -> np.ndarray:
    p = np.asarray(poly, float).copy()
    for _ in range(passes):
        p[1:-1] = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    return p


def _chaikin(poly, n_iter: int = 3) -> np.ndarray:
    p = np.asarray(poly, float)
    for _ in range(n_iter):
        q = np.roll(p, -1, axis=0)
        p = np.stack([0.75 * p + 0.25 * q, 0.25 * p + 0.75 * q], 1).reshape(-1, 2)
    return p


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _normals(poly: np.ndarray) -> np.ndarray:
    """Unit normals of a polyline, rotated +90 deg from the tangent ((dx, dy) -> (dy, -dx))."""
    t = np.gradient(poly, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-12
    return np.stack([t[:, 1], -t[:, 0]], 1)


def _polyline_dist(x, y, poly):
    """Distance of points (x, y) to a polyline and the arc length of the nearest point on it."""
    best = np.full(np.shape(x), np.inf)
    arc = np.zeros(np.shape(x))
    s0 = 0.0
    for a, b in zip(poly[:-1], poly[1:], strict=False):
        d = b - a
        l2 = float(d @ d)
        if l2 < 1e-12:
            continue
        t = np.clip(((x - a[0]) * d[0] + (y - a[1]) * d[1]) / l2, 0.0, 1.0)
        dist = np.hypot(x - a[0] - t * d[0], y - a[1] - t * d[1])
        m = dist < best
        best = np.where(m, dist, best)
        arc = np.where(m, s0 + t * math.sqrt(l2), arc)
        s0 += math.sqrt(l2)
    return best, arc


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Linear interpolation from n_in samples spanning [0, n_out - 1] to n_out samples."""
    pos = np.linspace(0.0, n_in - 1.0, n_out)
    i0 = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
    f = (pos - i0).astype(np.float32)
    m = np.zeros((n_out, n_in), np.float32)
    m[np.arange(n_out), i0] = 1.0 - f
    m[np.arange(n_out), i0 + 1] += f
    return m


def _smooth_field(rng, shape, corr_px: float, coarse: int = 4) -> np.ndarray:
    """Smooth Gaussian random field of unit variance, correlation ~corr_px fine pixels."""
    hc = max(4, shape[0] // coarse + 2)
    wc = max(4, shape[1] // coarse + 2)
    f = ndimage.gaussian_filter(rng.standard_normal((hc, wc)), corr_px / coarse, mode="wrap")
    f = _interp_matrix(shape[0], hc) @ f.astype(np.float32) @ _interp_matrix(shape[1], wc).T
    return ((f - f.mean()) / (f.std() + 1e-9)).astype(np.float32)


def _interp_x(y, ys, xs):
    order = np.argsort(ys)
    return np.interp(y, np.asarray(ys)[order], np.asarray(xs)[order])


# ----------------------------------------------------------------------------------------------
# parameters
def _u(rng, a, b):
    return float(rng.uniform(a, b))


def _sample_anatomy(rng) -> dict:
    a: dict = {}
    a["body_scale"] = _u(rng, 0.9, 1.1)
    a["tilt_deg"] = _u(rng, -15, 15)
    a["symph_tilt_deg"] = _u(rng, 18, 38)
    a["symph_len"] = _u(rng, 34, 44)
    a["symph_half_thk"] = _u(rng, 6.5, 9.0)
    a["symph_disc_visible"] = bool(rng.random() < 0.6)
    a["pcl_len"] = _u(rng, 86, 104)
    a["pcl_angle_deg"] = _u(rng, 6, 24)
    a["coccyx_len"] = _u(rng, 24, 34)
    a["coccyx_angle_deg"] = _u(rng, 25, 50)
    a["sacrum_height"] = _u(rng, 82, 100)
    a["promontory_ant"] = _u(rng, 15, 40)
    a["sacral_concavity"] = _u(rng, 18, 32)
    a["s1_depth"] = _u(rng, 40, 48)
    a["lordosis"] = _u(rng, 0.6, 1.4)
    a["fat_ant"] = _u(rng, 8, 36)
    a["fat_post"] = _u(rng, 5, 22)
    a["mons_fat"] = _u(rng, 10, 32)
    a["belly"] = _u(rng, 0, 30)
    a["rectus_thk"] = _u(rng, 7, 13)
    a["paraspinal"] = _u(rng, 22, 38)
    a["retzius"] = _u(rng, 3, 9)
    a["presacral"] = _u(rng, 3, 12)
    a["aorta"] = bool(rng.random() < 0.6)
    # pelvic floor and perineum
    a["hiatus_len"] = _u(rng, 42, 56)
    a["m_line"] = _u(rng, 3, 14)
    a["anal_len"] = _u(rng, 28, 38)
    a["anal_angle_deg"] = _u(rng, 12, 32)
    a["ara_deg"] = _u(rng, 88, 112)
    a["neck_x"] = _u(rng, 12, 20)
    a["neck_h"] = _u(rng, 8, 20)
    a["urethra_len"] = _u(rng, 30, 40)
    a["urethra_angle_deg"] = _u(rng, 5, 25)
    a["urethra_radius"] = _u(rng, 3.0, 4.5)
    a["uv_gap"] = _u(rng, 1.5, 4.0)
    # organs
    a["hysterectomy"] = bool(rng.random() < 0.2)
    a["parity"] = "multiparous" if rng.random() < 0.55 else "nulliparous"
    lo, hi = (0.35, 1.0) if a["parity"] == "multiparous" else (0.1, 0.5)
    a["laxity_anterior"] = _u(rng, lo, hi)
    a["laxity_middle"] = _u(rng, lo, hi)
    a["laxity_posterior"] = _u(rng, lo, hi)
    a["rectocele"] = bool(rng.random() < (0.5 if a["parity"] == "multiparous" else 0.15))
    a["vagina_angle_low_deg"] = _u(rng, -3, 10)
    a["vagina_low_len"] = _u(rng, 24, 34)
    a["vagina_apex_arc"] = _u(rng, 26, 42) if a["hysterectomy"] else _u(rng, 32, 52)
    a["apex_gap"] = _u(rng, 1.5, 6.0)
    a["vaginal_gel"] = bool(rng.random() < 0.35)
    a["vagina_radius"] = _u(rng, 9, 13) if a["vaginal_gel"] else _u(rng, 5.0, 7.0)
    a["bladder_fill"] = float(rng.uniform(0, 1) ** 0.9)
    a["bladder_tilt_deg"] = _u(rng, -8, 8)
    a["uterus_version"] = "retroverted" if rng.random() < 0.22 else "anteverted"
    a["version_deg"] = _u(rng, 65, 115) if a["uterus_version"] == "anteverted" else _u(rng, -10, 25)
    a["flexion_deg"] = _u(rng, 0, 40)
    a["cervix_len"] = _u(rng, 22, 34)
    a["cervix_radius"] = _u(rng, 9, 13)
    a["uterus_len"] = _u(rng, 34, 58)
    a["uterus_radius"] = _u(rng, 14, 22)
    a["endometrium_frac"] = _u(rng, 0.08, 0.34)
    nf = int(rng.choice([0, 0, 0, 1, 1, 2, 3])) if not a["hysterectomy"] else 0
    a["fibroids"] = [
        {"pos": _u(rng, 0.25, 1.0), "side": int(rng.choice([-1, 1])), "depth": _u(rng, 0.0, 1.25),
         "radius": _u(rng, 5, 20), "degenerated": bool(rng.random() < 0.25)}
        for _ in range(nf)
    ]
    a["rectal_content"] = str(rng.choice(["gel", "gel", "feces", "collapsed", "gas"]))
    rr = {"gel": (15, 23), "feces": (12, 19), "collapsed": (8, 11), "gas": (11, 18)}
    a["rectal_radius"] = _u(rng, *rr[a["rectal_content"]])
    a["anal_radius"] = _u(rng, 5.0, 7.0)
    a["sacral_s3"] = _u(rng, 0.42, 0.56)
    a["sigmoid_turn"] = [_u(rng, -70, -40), _u(rng, -30, -8), _u(rng, -30, 10), _u(rng, -40, -15)]
    a["sigmoid_radius"] = _u(rng, 9, 14)
    a["douglas_fluid"] = bool(rng.random() < 0.35)
    a["n_loops"] = int(rng.integers(14, 30))
    a["roughness"] = _u(rng, 0.5, 1.5)
    return a


def _sample_imaging(rng, dt: float) -> dict:
    fam = str(rng.choice(_FAMILIES, p=[0.4, 0.3, 0.12, 0.18]))
    im: dict = {"family": fam}
    if fam == "haste":
        im.update(te_ms=_u(rng, 75, 130), tr_ms=_u(rng, 2500.0, 6000.0),
                  flip_deg=90.0)
    elif fam == "pd":
        im.update(te_ms=_u(rng, 18, 38), tr_ms=_u(rng, 1500, 3200), flip_deg=90.0)
    elif fam == "truefisp":
        im.update(te_ms=_u(rng, 1.5, 2.3), tr_ms=_u(rng, 3.2, 4.6), flip_deg=_u(rng, 40, 80))
    else:
        im.update(te_ms=float(rng.choice([2.3, 4.6])), tr_ms=_u(rng, 6, 150),
                  flip_deg=_u(rng, 10, 70))
    im["fat_sat"] = bool(fam != "truefisp" and rng.random() < (0.45 if fam == "t1gre" else 0.3))
    im["sequence"] = _SEQ_NAMES[fam] + (" FS" if im["fat_sat"] else "")
    im["fat_sat_residual"] = _u(rng, 0.03, 0.25)
    im["opposed_phase"] = bool((fam == "truefisp" and rng.random() < 0.75)
                               or (fam == "t1gre" and im["te_ms"] < 3.0))
    im["chemical_shift_px"] = int(rng.integers(0, 3 if fam == "t1gre" else 2))
    im["phase_dir"] = "AP" if rng.random() < 0.6 else "SI"
    im["acq_fraction"] = _u(rng, 0.6, 0.9)
    im["ro_fraction"] = _u(rng, 0.85, 1.0)
    im["partial_fourier"] = 1.0 if rng.random() < 0.2 else _u(rng, 0.625, 0.875)
    im["filter"] = str(rng.choice(["none", "hamming", "fermi"], p=[0.45, 0.25, 0.3]))
    im["n_coils"] = int(rng.choice([1, 2, 4, 8], p=[0.15, 0.2, 0.4, 0.25]))
    im["snr"] = float(math.exp(rng.uniform(math.log(4.0), math.log(40.0))))
    im["ghost"] = str(rng.choice(["none", "nyquist", "motion"], p=[0.7, 0.12, 0.18]))
    im["ghost_strength"] = _u(rng, 0.02, 0.1)
    im["pv_weight"] = _u(rng, 0.0, 0.3)
    im["pv_shift_mm"] = _u(rng, 1.0, 4.0)
    im["transmit_bias"] = _u(rng, 0.05, 0.3)
    im["banding"] = bool(fam == "truefisp" and rng.random() < 0.45)
    im["tissue_jitter"] = _u(rng, 0.05, 0.18)
    levels = [_u(rng, 250, 1200), _u(rng, 1500, 4000), _u(rng, 1, 8)]
    im["intensity_max"] = float(rng.choice(levels))
    im["integer"] = bool(rng.random() < 0.5 and im["intensity_max"] > 100)
    im["slice_thickness_mm"] = _u(rng, 4.0, 8.0)
    return im


def _pulse(t, t0, rise, hold, fall):
    up = _smoothstep((t - t0) / max(rise, 1e-3))
    down = 1.0 - _smoothstep((t - t0 - rise - hold) / max(fall, 1e-3))
    return up * down


def _sample_motion(rng, duration: float) -> dict:
    man = str(rng.choice(_MANEUVERS, p=[0.35, 0.2, 0.15, 0.12, 0.18]))
    pulses = []
    t = _u(rng, 1.0, 0.2 * duration + 1.0)
    if man in ("valsalva", "defecation"):
        n = 1 if man == "defecation" or rng.random() < 0.55 else 2
        for _ in range(n):
            rise, hold, fall = _u(rng, 1.5, 4.0), _u(rng, 3.0, 0.5 * duration / n), _u(rng, 1, 3)
            pulses.append([t, rise, hold, fall, _u(rng, 0.7, 1.0)])
            t += rise + hold + fall + _u(rng, 1.0, 4.0)
    elif man == "squeeze":
        for _ in range(int(rng.integers(1, 4))):
            rise, hold, fall = _u(rng, 1.0, 2.5), _u(rng, 2.0, 6.0), _u(rng, 1.0, 2.5)
            pulses.append([t, rise, hold, fall, -_u(rng, 0.6, 1.0)])
            t += rise + hold + fall + _u(rng, 1.0, 3.0)
    elif man == "cough":
        for _ in range(int(rng.integers(3, 7))):
            pulses.append([t, 0.3, _u(rng, 0.0, 0.4), 0.6, _u(rng, 0.5, 1.0)])
            t += _u(rng, 2.0, 5.0)
    else:
        rise, hold, fall = _u(rng, 1.0, 2.5), _u(rng, 2.0, 5.0), _u(rng, 1.0, 2.0)
        pulses.append([t, rise, hold, fall, -_u(rng, 0.6, 1.0)])
        t += rise + hold + fall + _u(rng, 1.0, 3.0)
        rise, hold, fall = _u(rng, 1.5, 3.0), _u(rng, 3.0, 8.0), _u(rng, 1.0, 3.0)
        pulses.append([t, rise, hold, fall, _u(rng, 0.7, 1.0)])
    return {
        "maneuver": man, "pulses": pulses, "evacuation": _u(rng, 0.4, 0.85),
        "breath_period_s": _u(rng, 3.0, 6.0), "breath_phase": _u(rng, 0, 2 * math.pi),
        "breath_amp_mm": _u(rng, 2.0, 8.0), "squeeze_strength": _u(rng, 0.5, 1.0),
    }


def _curves(motion: dict, times: np.ndarray):
    """Manoeuvre strain m (-1 squeeze .. 1 strain), evacuation e (0..1), anal opening, breathing."""
    m = np.zeros_like(times)
    for t0, rise, hold, fall, amp in motion["pulses"]:
        m += amp * _pulse(times, t0, rise, hold, fall)
    m = np.clip(m, -1.0, 1.0)
    e = np.zeros_like(times)
    opening = np.zeros_like(times)
    if motion["maneuver"] == "defecation" and motion["pulses"]:
        t0, rise, hold, _fall, _amp = motion["pulses"][0]
        e = motion["evacuation"] * _smoothstep((times - t0 - 0.6 * rise) / max(0.8 * hold, 0.5))
        opening = _pulse(times, t0 + 0.6 * rise, 1.0, max(0.8 * hold - 1.0, 0.0), 1.5)
    b = np.sin(2 * math.pi * times / motion["breath_period_s"] + motion["breath_phase"])
    return m, e, opening, b


def sample_params(seed: int, matrix=None, n_frames=None) -> dict:
    """All random scalars of a case (no rendering); ``generate`` renders exactly these."""
    rng = np.random.default_rng([int(seed), 4711])
    h0, w0 = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sp = _u(rng, 1.1, 1.5)
    sc = float(np.clip(sp * (rng.uniform(0.96, 1.04) if rng.random() < 0.3 else 1.0), 1.1, 1.5))
    fov = [h0 * sp, w0 * sc]
    t0 = int(rng.integers(20, 41))
    dt0 = _u(rng, 0.5, 2.0)
    anat = _sample_anatomy(rng)
    imaging = _sample_imaging(rng, dt0)
    motion = _sample_motion(rng, (t0 - 1) * dt0)
    geo = _landmarks(anat)
    placement = _place(geo, anat, fov, rng)
    if matrix is None:
        h, w = h0, w0
    elif np.ndim(matrix) == 0:
        h = w = int(matrix)
    else:
        h, w = (int(v) for v in matrix)
    n = t0 if n_frames is None else int(n_frames)
    dt = dt0 if n_frames is None else dt0 * (t0 - 1) / max(n - 1, 1)
    return {
        "generator": GENERATOR, "seed": int(seed), "matrix": [h, w],
        "spacing_mm": [fov[0] / h, fov[1] / w], "fov_mm": fov, "n_frames": n,
        "frame_interval_s": dt, "default_matrix": [h0, w0], "default_n_frames": t0,
        "imaging": imaging, "motion": motion, "hysterectomy": anat["hysterectomy"],
        "anatomy": anat, "placement": placement, "organs": list(ORGANS),
    }


# ----------------------------------------------------------------------------------------------
# landmarks and rest skeletons in body millimetres
def _landmarks(a: dict) -> dict:
    g: dict = {}
    ts = math.radians(a["symph_tilt_deg"])
    u_s = np.array([-math.sin(ts), -math.cos(ts)])
    n_s = np.array([math.cos(ts), -math.sin(ts)])
    hl, ht = a["symph_len"] / 2, a["symph_half_thk"]
    c_s = 0.92 * hl * u_s - 0.45 * ht * n_s
    g.update(sym_c=c_s, sym_u=u_s, sym_n=n_s, sym_hl=hl, sym_ht=ht)
    pub_top = c_s + hl * u_s
    front_top = c_s + 0.7 * hl * u_s - 0.85 * ht * n_s
    front_bot = c_s - 0.7 * hl * u_s - 0.85 * ht * n_s
    g.update(pub_top=pub_top, front_top=front_top, front_bot=front_bot)
    # sacrum, coccyx
    ap = math.radians(a["pcl_angle_deg"])
    tc = a["pcl_len"] * np.array([math.cos(ap), -math.sin(ap)])
    scj = tc + a["coccyx_len"] * _up(a["coccyx_angle_deg"])
    prom = scj + np.array([-a["promontory_ant"], -a["sacrum_height"]])
    chord = scj - prom
    nrm = np.array([chord[1], -chord[0]]) / np.linalg.norm(chord)
    q = 0.5 * (prom + scj) + a["sacral_concavity"] * nrm
    sac = _bezier([prom, q, scj], 48)
    sac_n = _normals(sac)
    sac_n *= np.sign(sac_n[:, :1] + 1e-9)
    u = np.linspace(0, 1, len(sac))
    thk = a["s1_depth"] * (1 - u) ** 1.15 + 12.0 * u
    sac_post = sac + thk[:, None] * sac_n
    cocc = _bezier([scj, 0.5 * (scj + tc) + np.array([-3.0, 2.0]), tc], 16)
    g.update(tc=tc, scj=scj, prom=prom, sac=sac, sac_n=sac_n, sac_post=sac_post, cocc=cocc,
             sac_thk=thk)
    # lumbar column from the S1 endplate upwards
    aa, bb = prom.copy(), sac_post[0].copy()
    verts, discs = [], []
    level = 0
    while max(aa[1], bb[1]) > -560 and level < 12:
        e = (bb - aa) / np.linalg.norm(bb - aa)
        n = np.array([e[1], -e[0]])
        wedge = a["lordosis"] * max(0.0, 6.0 - 1.6 * level)
        hdp = 7.0 - 0.2 * min(level, 5)
        a1, b1 = aa + n * (hdp + wedge), bb + n * hdp
        discs.append(np.array([aa, bb, b1, a1]))
        e1 = (b1 - a1) / np.linalg.norm(b1 - a1)
        n1 = np.array([e1[1], -e1[0]])
        depth = np.linalg.norm(b1 - a1)
        b1 = a1 + e1 * min(depth, 44.0)
        hb = 28.0 + 0.5 * min(level, 4)
        a2, b2 = a1 + n1 * (hb + (1.5 if level == 0 else 0.0)), b1 + n1 * hb
        verts.append(np.array([a1, b1, b2, a2]))
        aa, bb = a2, b2
        level += 1
    g.update(verts=verts, discs=discs)
    # anterior and posterior vertebral lines (top -> bottom)
    ant = [prom] + [v[0] for v in verts] + [v[3] for v in verts]
    post = [sac_post[0]] + [v[1] for v in verts] + [v[2] for v in verts]
    ant = np.array(sorted(ant, key=lambda p: p[1]))
    post = np.array(sorted(post, key=lambda p: p[1]))
    g["ant_line"] = np.concatenate([ant[:-1], sac, cocc[1:]])
    g["pvl"] = np.concatenate([post[:-1], sac_post, cocc[1:] + np.array([6.0, 0.0])])
    # anterior compartment, anchored on the symphysis: bladder neck, urethra, introitus
    ru, rv, ra = a["urethra_radius"], a["vagina_radius"], a["anal_radius"]
    sym_pts = np.array([c_s + hl * math.cos(t) * u_s + ht * math.sin(t) * n_s
                        for t in np.linspace(0, 2 * math.pi, 48, endpoint=False)])
    neck = np.array([a["neck_x"], -a["neck_h"]])
    th_u = a["urethra_angle_deg"]
    u_down = np.array([-math.sin(math.radians(th_u)), math.cos(math.radians(th_u))])
    for _ in range(20):
        ur = neck + np.linspace(0, a["urethra_len"], 12)[:, None] * u_down
        clear = np.min(np.linalg.norm(ur[:, None] - sym_pts[None], axis=2))
        if clear > ru + 4.0:
            break
        neck = neck + np.array([1.5, 0.0])
    meatus = neck + a["urethra_len"] * u_down
    perp = np.array([-u_down[1], u_down[0]])
    perp *= np.sign(perp[0] + 1e-9)
    iv = meatus + (ru + rv + a["uv_gap"]) * perp + np.array([0.0, 2.0])
    th_lo = th_u + a["vagina_angle_low_deg"]
    p1 = iv + a["vagina_low_len"] * _up(th_lo)
    g.update(iv=iv, meatus=meatus, neck=neck, urethra_dir=-u_down)
    # posterior compartment, anchored on the bones: anorectal junction on the hiatus line
    hiatus = a["hiatus_len"]
    da = _down(a["anal_angle_deg"])
    for _ in range(20):
        ah = ap - math.atan2(a["m_line"], hiatus)
        hdir = np.array([math.cos(ah), -math.sin(ah)])
        arjp = hiatus * hdir
        arj = arjp - (ra + 2.0) * hdir + np.array([0.0, 1.5])
        seg = np.linspace(0, 1, 20)[:, None] * (p1 - iv) + iv
        if np.min(np.linalg.norm(seg - arj, axis=1)) > rv + ra + 5.0 and np.min(
                np.linalg.norm(seg - (arj + 15 * da), axis=1)) > rv + ra + 4.0:
            break
        hiatus += 2.0
    av = arj + a["anal_len"] * da
    dr = _down(a["anal_angle_deg"] + a["ara_deg"])
    lp_mid = 0.5 * (arjp + tc) + np.array([0.0, 4.0])
    g.update(arjp=arjp, arj=arj, av=av, da=da, dr=dr, hdir=hdir, lp_mid=lp_mid, hiatus=hiatus)
    # rectum: anal verge -> ARJ -> along the sacrum to S3
    s3 = int(round(a["sacral_s3"] * (len(sac) - 1)))
    low = int(round(0.8 * (len(sac) - 1)))
    idx = np.arange(low, s3 - 1, -1)
    gap = a["presacral"] + a["rectal_radius"] * np.linspace(0.95, 0.8, len(idx))
    off = sac[idx] - sac_n[idx] * gap[:, None]
    lower = _bezier([arj, arj + 22.0 * dr, off[0] - 12.0 * (off[1] - off[0]), off[0]], 24)
    rect = np.concatenate([[av + 4.0 * da, av], _resample([av, arj], 2.0)[1:-1], lower, off[1:]])
    rect = _resample(_smooth_poly(_resample(rect, 2.0), 3), 1.0)
    sarc = _arclen(rect)
    s_arj = float(sarc[int(np.argmin(np.linalg.norm(rect - arj, axis=1)))])
    rr_, sig_r = a["rectal_radius"], a["sigmoid_radius"]
    knots = [0, 4, s_arj - 3, s_arj + 10, s_arj + 30, sarc[-1] - 20, sarc[-1]]
    vals = [0.8 * ra, ra, ra + 1.0, 0.9 * rr_, rr_, 0.75 * rr_, sig_r]
    rect_rho = np.interp(sarc, knots, vals)
    g.update(rect=rect, s_arj=s_arj, rect_rho=rect_rho, junction=rect[-1],
             junction_t=(rect[-1] - rect[-4]) / np.linalg.norm(rect[-1] - rect[-4]))
    # vagina: introitus -> lower segment parallel to the urethra -> apex against the rectum
    n_r = _normals(rect)
    n_r *= -np.sign(n_r[:, :1] + 1e-9)
    rv_top = rv * (1.1 if a["hysterectomy"] else 1.25)
    for k_try in range(10):
        ia = int(min(len(rect) - 1, np.searchsorted(sarc, s_arj + a["vagina_apex_arc"]
                                                      - 3.0 * k_try)))
        apex = rect[ia] + n_r[ia] * (rect_rho[ia] + rv_top + a["apex_gap"])
        vag = _resample(_bezier([iv + 4.0 * (iv - p1) / np.linalg.norm(iv - p1), iv, p1,
                                 0.5 * (p1 + apex) + 4.0 * perp, apex], 48), 1.0)
        sv = _arclen(vag)
        d = np.linalg.norm(vag[:, None] - rect[None], axis=2) - rect_rho[None]
        if sv[-1] < 105 and np.min(d[sv > 8]) > rv - 1.0:
            break
    th_up = math.degrees(math.atan2(apex[0] - p1[0], -(apex[1] - p1[1])))
    g.update(vag=vag, vag_top=vag[-1], vag_up=_up(th_up), vag_low=_up(th_lo))
    # bladder skeleton: a base branch along the anterior vaginal wall and a dome branch
    fill = a["bladder_fill"]
    area_bl = float(450.0 + 8200.0 * fill ** 1.25)
    len_bl = 10.0 + 62.0 * fill
    rho_bl = (-2.0 * len_bl + math.sqrt(4.0 * len_bl ** 2 + 4.0 * math.pi * area_bl)) / (
        2.0 * math.pi)
    b0 = neck + 3.0 * g["urethra_dir"]
    s_v = _arclen(vag)
    n_v = _normals(vag)
    n_v *= -np.sign(n_v[:, :1] + 1e-9)  # towards anterior (x < 0)
    i0 = int(np.argmin(np.linalg.norm(vag - b0, axis=1)))
    l_base = 8.0 + 16.0 * fill
    i1 = int(min(len(vag) - 4, np.searchsorted(s_v, s_v[i0] + l_base)))
    i1 = max(i1, i0 + 3)
    ds = s_v[i0:i1 + 1] - s_v[i0]
    rho_base = np.interp(ds, [0.0, 6.0, max(ds[-1], 6.5)], [3.0, 0.4 * rho_bl, 0.6 * rho_bl])
    base = vag[i0:i1 + 1] + n_v[i0:i1 + 1] * (a["vagina_radius"] + 1.5 + rho_base)[:, None]
    base = np.concatenate([[b0], base])
    rho_base = np.concatenate([[2.5], rho_base])
    k = max(1, int(0.45 * len(base)))
    dome_dir = _up(float(np.interp(fill, [0, 1], [22, 4])) + a["bladder_tilt_deg"])
    l_dome = 4.0 + 46.0 * fill
    dome = _resample(_bezier([base[k], base[k] + 0.5 * l_dome * dome_dir + np.array([-4.0, 0]),
                              base[k] + l_dome * dome_dir], 16), 1.0)
    rho_dome = np.interp(_arclen(dome), [0.0, 8.0, l_dome + 1.0], [rho_base[k], 0.85 * rho_bl,
                                                                 rho_bl])
    g.update(bl_dome=dome, bl_base=base, bl_b0=b0, bl_rho=rho_bl, bl_rho_dome=rho_dome,
             bl_rho_base=rho_base, bl_area=area_bl)
    # uterus
    if not a["hysterectomy"]:
        s_v = _arclen(vag)
        i_os = int(np.searchsorted(s_v, s_v[-1] - 14.0))
        ant_n = -np.array([_up(th_up)[1], -_up(th_up)[0]])
        ant_n *= -np.sign(ant_n[0] + 1e-9)
        os_ = vag[i_os] + 2.0 * ant_n
        g["os"] = os_
        thc = th_up - a["version_deg"]
        flex = -a["flexion_deg"] if a["uterus_version"] == "anteverted" else a["flexion_deg"]
        bl_pts = np.concatenate([dome, base])
        bl_rho = np.concatenate([rho_dome, rho_base])
        if a["uterus_version"] == "anteverted":
            thc = max(thc, -80.0)
        best = None
        for _ in range(26):
            cdir = _up(thc)
            i_os2 = os_ + a["cervix_len"] * cdir
            fund = i_os2 + a["uterus_len"] * _up(max(thc + flex, -88.0))
            ut = _resample(_bezier([os_ - 2.0 * cdir, i_os2, fund], 40), 1.0)
            s_u = _arclen(ut)
            rho = _uterus_profile(s_u, a)
            body = s_u > 0.8 * a["cervix_len"]
            d = np.linalg.norm(ut[body][:, None, :] - bl_pts[None], axis=2)
            clear = float(np.min(d - rho[body][:, None] - bl_rho[None]))
            best = (clear, ut, s_u, rho)
            if clear > -4.0 or a["uterus_version"] == "retroverted" or thc > 20.0:
                break
            thc += 5.0
        _clear, ut, s_u, rho = best
        g.update(ut=ut, ut_s=s_u, ut_rho=rho, ut_int_os=float(a["cervix_len"]), fundus=ut[-1])
    return g


def _uterus_profile(s: np.ndarray, a: dict) -> np.ndarray:
    lc, lb = a["cervix_len"], a["uterus_len"]
    rc, ru = a["cervix_radius"], a["uterus_radius"]
    knots = [0.0, 4.0, lc, lc + 0.5 * lb, lc + lb]
    vals = [0.65 * rc, rc, 1.05 * rc, ru, 0.8 * ru]
    return np.interp(s, knots, vals)


def _outline(g: dict, a: dict) -> np.ndarray:
    """Closed body outline (mid-sagittal skin) in body mm, anterior top -> perineum -> back."""
    pub = g["pub_top"]
    ys = np.linspace(-600.0, pub[1], 40)
    h = pub[1] - ys
    x_in = g["front_top"][0] + 2.0 - a["belly"] * _smoothstep(h / 150.0) - 10.0 * _smoothstep(
        h / 50.0)
    x_skin = x_in - a["rectus_thk"] - a["fat_ant"] - 2.0
    ant = np.stack([x_skin, ys], 1)
    mons = a["mons_fat"]
    fb = g["front_bot"]
    iv, meat, av, tc = g["iv"], g["meatus"], g["av"], g["tc"]
    bottom = [
        [g["front_top"][0] - mons - 2.0, pub[1] + 6.0],
        [fb[0] - 0.9 * mons, fb[1]],
        [fb[0] - 0.55 * mons, fb[1] + 0.5 * mons + 4.0],
        [meat[0] - 8.0, meat[1] + 7.0],
        [meat[0] - 1.0, meat[1] + 1.0],
        [iv[0], iv[1] + 0.8],
        [0.5 * (iv[0] + av[0]), max(iv[1], av[1]) + 4.0],
        [av[0], av[1] + 0.8],
        [av[0] + 13.0, av[1] - 3.0],
        [tc[0] + 14.0, tc[1] + 24.0],
    ]
    # back: posterior vertebral line + canal + posterior elements + muscle + fat
    pvl = g["pvl"]
    y_sc = g["scj"][1]
    y_s2 = g["sac"][int(0.3 * len(g["sac"]))][1]
    yb = np.linspace(-600.0, tc[1] + 10.0, 70)
    xb = _interp_x(yb, pvl[:, 1], pvl[:, 0])
    soft = np.where(
        yb < y_s2, 15.0 + 19.0 + a["paraspinal"],
        np.interp(yb, [y_s2, y_sc, tc[1] + 10], [12.0 + 0.5 * a["paraspinal"], 14.0, 10.0]))
    xb = xb + soft + a["fat_post"] + 2.0
    back = np.stack([xb, yb], 1)[::-1]
    back = back[back[:, 1] < tc[1] + 8.0]
    poly = np.concatenate([ant, np.array(bottom), back])
    return _chaikin(poly, 3)


def _place(g: dict, a: dict, fov, rng) -> dict:
    """Body size, tilt and position so that the pelvis and its skin fit the field of view."""
    outline = _outline(g, a)
    tops = [g["prom"][1] - 25.0, g["bl_dome"][-1][1] - g["bl_rho"] - 15.0,
            g["junction"][1] - 40.0]
    if "fundus" in g:
        tops.append(g["fundus"][1] - a["uterus_radius"] - 15.0)
    y_top = min(tops)
    # the pelvis below the promontory with its skin, the anterior wall up to the organ tops
    pts = outline[(outline[:, 1] >= g["prom"][1] + 15.0)
                  | ((outline[:, 1] >= y_top) & (outline[:, 0] < 30.0))]
    low = pts[np.argmax(pts[:, 1])]
    pts = np.concatenate([pts, np.array([[g["prom"][0], y_top], [g["tc"][0], y_top],
                                         low + np.array([0.0, 30.0])])])  # room for descent
    tilt = a["tilt_deg"]
    c, s = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
    rot = np.array([[c, -s], [s, c]])
    r = pts @ rot.T
    ext = r.max(0) - r.min(0)
    margin = 4.0
    scale = min(a["body_scale"], (fov[1] - 2 * margin) / ext[0], (fov[0] - 2 * margin) / ext[1])
    scale = max(scale, 0.85)
    lo = margin - scale * r.min(0)
    hi = np.array([fov[1], fov[0]]) - margin - scale * r.max(0)
    off = lo + np.array([rng.uniform(0.0, 1.0), rng.uniform(0.45, 1.0)]) * np.maximum(hi - lo, 0)
    if hi[1] < lo[1]:  # too tall: keep the perineum, let the top go
        off[1] = hi[1]
    return {"scale": float(scale), "tilt_deg": float(tilt), "offset_mm": [float(v) for v in off]}


# ----------------------------------------------------------------------------------------------
# components (growing structures)
class _Comp:
    def __init__(self, name, label, style, pts, rho, group, mode="radius", area=0.0,
                 rough=0.3, aniso=1.0, axis_deg=0.0):
        self.name, self.label, self.style, self.group = name, label, style, group
        self.pts = np.asarray(pts, float)
        self.rho = np.asarray(rho, float) * np.ones(len(self.pts))
        self.s = _arclen(self.pts) if len(self.pts) > 1 else np.zeros(1)
        self.mode, self.area = mode, area
        self.rough, self.aniso, self.axis_deg = rough, aniso, axis_deg
        self.delta = 0.0
        self.share = None  # component whose dilation this one shares (fibroid -> uterus)
        self.core = 0.0  # fraction of the radius kept as an owned core (tissue stiffness)
        self.perineal = False  # may grow below the pelvic floor
        self.smooth = 0.0  # radius (mm) of the morphological smoothing of turgid organs
        self.delta_cap = 22.0  # largest dilation an area-mode component may take
        self.extra: dict = {}


class _Case:
    """Everything of one case: static scene, components, motion, growth and acquisition."""

    def __init__(self, params: dict):
        self.p = params
        seed = params["seed"]
        self.a = a = params["anatomy"]
        self.H, self.W = params["matrix"]
        self.Hf, self.Wf = 2 * self.H, 2 * self.W
        self.fr, self.fc = params["spacing_mm"][0] / 2, params["spacing_mm"][1] / 2
        pl = params["placement"]
        self.scale = pl["scale"]
        th = math.radians(pl["tilt_deg"])
        self.rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
        self.off = np.array(pl["offset_mm"])
        self.rng_geo = np.random.default_rng([seed, 77])
        self.rng_tex = np.random.default_rng([seed, 78])
        self.rng_noise = np.random.default_rng([seed, 79])
        self.g = _landmarks(a)
        rows = np.arange(self.Hf, dtype=np.float32)[:, None] * self.fr
        cols = np.arange(self.Wf, dtype=np.float32)[None, :] * self.fc
        bx, by = self._img_to_body(cols, rows)
        self.XB, self.YB = bx.astype(np.float32), by.astype(np.float32)
        self.px_mm = (self.fr / self.scale, self.fc / self.scale)
        self._static_scene()
        self._components()
        self._motion_setup()
        self._graph_setup()
        self._imaging_setup()

    # -- coordinates
    def _img_to_body(self, x, y):
        dx, dy = x - self.off[0], y - self.off[1]
        r = self.rot
        bx = (r[0, 0] * dx + r[1, 0] * dy) / self.scale
        by = (r[0, 1] * dx + r[1, 1] * dy) / self.scale
        return bx, by

    def _body_to_img(self, pts):
        pts = np.atleast_2d(pts)
        return self.off + self.scale * pts @ self.rot.T

    def _body_to_px(self, pts):
        q = self._body_to_img(pts)
        return q[:, 1] / self.fr, q[:, 0] / self.fc

    def _vec_to_img(self, v):
        return self.scale * np.atleast_2d(v) @ self.rot.T

    def _poly_mask(self, poly) -> np.ndarray:
        r, c = self._body_to_px(poly)
        im = Image.new("L", (self.Wf, self.Hf), 0)
        ImageDraw.Draw(im).polygon(list(zip(c.tolist(), r.tolist(), strict=False)), fill=1)
        return np.asarray(im, dtype=bool)

    def _bbox(self, pts, margin_mm):
        r, c = self._body_to_px(pts)
        mr, mc = margin_mm * self.scale / self.fr, margin_mm * self.scale / self.fc
        r0, r1 = int(max(0, np.floor(r.min() - mr))), int(min(self.Hf, np.ceil(r.max() + mr) + 1))
        c0, c1 = int(max(0, np.floor(c.min() - mc))), int(min(self.Wf, np.ceil(c.max() + mc) + 1))
        return r0, r1, c0, c1

    # -- static scene ---------------------------------------------------------------------
    def _static_scene(self):
        a, g, rng = self.a, self.g, self.rng_geo
        X, Y = self.XB, self.YB
        T = _T
        body = self._poly_mask(_outline(g, a))
        depth = ndimage.distance_transform_edt(body, sampling=self.px_mm)
        soft = np.full(X.shape, T["air"], np.uint8)
        soft[body] = T["fat"]
        skin_thk = 1.6 + 0.8 * rng.random()
        # anterior abdominal wall
        pub = g["pub_top"]
        h = pub[1] - Y
        x_in = g["front_top"][0] + 2.0 - a["belly"] * _smoothstep(h / 150.0) - 10.0 * _smoothstep(
            h / 50.0)
        above = Y < pub[1] + 2.0
        rect = above & (X < x_in) & (X > x_in - a["rectus_thk"]) & body
        soft[rect] = T["muscle"]
        linea = above & (X > x_in - a["rectus_thk"] - 1.2) & (X < x_in + 1.0) & body
        soft[linea & ~rect] = T["ligament"]
        # posterior column soft tissue
        pvl = g["pvl"]
        x_pvl = _interp_x(Y, pvl[:, 1], pvl[:, 0])
        d_post = X - x_pvl
        y_s2 = g["sac"][int(0.3 * len(g["sac"]))][1]
        y_tc = g["tc"][1]
        lumbar = Y < y_s2
        wc = np.where(lumbar, 15.0, 5.0)
        wpe = np.where(lumbar, 19.0, 5.0)
        posterior = (d_post > 0) & (Y < y_tc + 6.0) & body
        canal = posterior & (d_post < wc)
        soft[canal] = np.where(lumbar[canal], T["csf"], T["fat"])
        roots = canal & lumbar & (np.abs(np.sin((d_post - 2.0) * 0.9)) < 0.12) & (d_post > 4)
        soft[roots] = T["nerve"]
        musc_w = np.where(lumbar, a["paraspinal"], np.interp(
            Y, [y_s2, g["scj"][1], y_tc], [0.5 * a["paraspinal"], 6.0, 2.0]))
        pe = posterior & (d_post >= wc) & (d_post < wc + wpe)
        musc = posterior & (d_post >= wc + wpe) & (d_post < wc + wpe + musc_w)
        soft[musc] = T["muscle"]
        soft[pe] = T["ligament"]
        # subcutaneous fat thickness / skin
        soft[body & (depth < skin_thk)] = T["skin"]
        # vessels
        vessels = np.zeros(X.shape, bool)
        ant = g["ant_line"]
        x_ant = _interp_x(Y, ant[:, 1], ant[:, 0])
        if a["aorta"]:
            l4 = g["verts"][min(1, len(g["verts"]) - 1)][3][1]
            vessels |= (np.abs(X - (x_ant - 13.0)) < 7.5) & (Y < l4) & body
        l5 = g["verts"][0]
        cliv = 0.5 * (l5[0] + l5[3]) + np.array([-9.0, 0.0])
        vessels |= ((X - cliv[0]) / 5.5) ** 2 + ((Y - cliv[1]) / 8.0) ** 2 < 1
        sac_line = (np.abs(X - (x_ant - 2.5)) < 1.0) & (Y > g["prom"][1]) & (Y < g["scj"][1])
        vessels |= sac_line
        # small vessels in the mesentery and retropubic plexus
        for _ in range(int(rng.integers(6, 16))):
            cx, cy = _u(rng, -40, 60), _u(rng, -200, -60)
            rr = _u(rng, 1.0, 2.5)
            vessels |= (X - cx) ** 2 + (Y - cy) ** 2 < rr * rr
        soft[vessels & body & (soft == T["fat"])] = T["vessel"]
        c_s, u_s, n_s = g["sym_c"], g["sym_u"], g["sym_n"]
        for _ in range(int(rng.integers(1, 4))):
            pt = c_s + _u(rng, -0.5, 0.6) * g["sym_hl"] * u_s + (g["sym_ht"] + _u(rng, 2, 5)) * n_s
            rr = _u(rng, 1.0, 2.2)
            m = ((X - pt[0]) ** 2 + (Y - pt[1]) ** 2 < rr * rr) & (soft == T["fat"])
            soft[m] = T["venous_plexus"]
        # bones ----------------------------------------------------------------------------
        bone = np.zeros(X.shape, np.uint8)
        lu = ((X - c_s[0]) * u_s[0] + (Y - c_s[1]) * u_s[1]) / g["sym_hl"]
        ln = ((X - c_s[0]) * n_s[0] + (Y - c_s[1]) * n_s[1]) / g["sym_ht"]
        sym = np.abs(lu) ** 2.4 + np.abs(ln) ** 2.4 < 1.0
        sac_poly = np.concatenate([g["sac"], g["sac_post"][::-1]])
        sacrum = self._poly_mask(sac_poly)
        vert = np.zeros(X.shape, bool)
        for v in g["verts"]:
            vert |= self._poly_mask(_chaikin(v, 2))
        disc = np.zeros(X.shape, bool)
        for d in g["discs"]:
            disc |= self._poly_mask(d)
        disc &= ~vert & ~sacrum
        cocc = np.zeros(X.shape, bool)
        cl = g["cocc"]
        dist_c, arc_c = _polyline_dist(X, Y, cl)
        lc = _arclen(cl)[-1]
        rad_c = np.interp(arc_c, [0, lc], [5.0, 3.2])
        cocc = (dist_c < rad_c) & (np.abs(np.sin(math.pi * arc_c / (lc / 3.4))) > 0.12)
        # spinous processes / median sacral crest
        period = 40.0
        spin = pe & lumbar & (np.sin(2 * math.pi * (Y - g["prom"][1]) / period + 0.8) > -0.1)
        crest = pe & ~lumbar & (Y < g["scj"][1])
        bone_all = sym | sacrum | vert | cocc | spin | crest
        bdepth = ndimage.distance_transform_edt(bone_all, sampling=self.px_mm)
        cort = 1.0 + 0.8 * rng.random()
        bone[bone_all] = T["marrow"]
        bone[bone_all & (bdepth < cort)] = T["cortex"]
        if a["symph_disc_visible"]:
            bone[sym & (np.abs(ln) < 0.28) & (np.abs(lu) < 0.92)] = T["symph_disc"]
        # sacral segment remnants
        sac_arc_len = _arclen(g["sac"])[-1]
        d_s, arc_s = _polyline_dist(X, Y, g["sac"][::2])
        for f in (0.2, 0.4, 0.58, 0.76):
            bone[sacrum & (np.abs(arc_s - f * sac_arc_len) < 1.0) & (bdepth > 1.0)] = T[
                "disc_annulus"]
        ddepth = ndimage.distance_transform_edt(disc, sampling=self.px_mm)
        bone[disc] = T["disc_annulus"]
        degenerated = rng.random() < 0.3
        bone[disc & (ddepth > 2.8)] = T["disc_annulus"] if degenerated else T["disc_nucleus"]
        self.bone = bone
        self.bone_mask = bone > 0
        soft[self.bone_mask] = T["fat"]
        # growth zones ----------------------------------------------------------------------
        x_pb = _interp_x(Y, ant[:, 1], ant[:, 0])
        lumbar_ant = Y < g["prom"][1]
        x_pb = np.where(lumbar_ant, x_pb - _u(rng, 12, 22), x_pb - a["presacral"] * 0.5)
        pf_x = [-200.0, -30.0, 0.0, g["arjp"][0], g["lp_mid"][0], g["tc"][0], 400.0]
        pf_y = [g["front_bot"][1] + 4, g["front_bot"][1] + 4, 0.0, g["arjp"][1], g["lp_mid"][1],
                g["tc"][1], g["tc"][1]]
        y_pf = np.interp(X, pf_x, pf_y)
        below = Y > y_pf
        arj, da = g["arj"], g["da"]
        x_anal = arj[0] + (Y - arj[1]) * da[0] / da[1]
        x_lim = np.where(Y <= pub[1], x_in + _u(rng, 2, 6), -1e9)
        sym_d = ndimage.distance_transform_edt(~sym, sampling=self.px_mm)
        cav = body & ~below & (X < x_pb) & (X > x_lim) & (depth > skin_thk + 3.0)
        cav &= (sym_d > a["retzius"]) & ~bone_all
        cav &= ~((Y < y_tc) & (X >= x_pb))
        per = body & below & (X < x_anal + 11.0) & ~bone_all & (sym_d > 2.0)
        zone = np.zeros(X.shape, np.uint8)
        zone[cav] = 2
        zone[per] = 3
        self.body, self.soft, self.zone = body, soft, zone
        self.sym_mask = sym

    # -- components -----------------------------------------------------------------------
    def _components(self):
        a, g, rng = self.a, self.g, self.rng_geo
        comps = []
        R = a["roughness"]
        # bladder
        dome, base = g["bl_dome"], g["bl_base"]
        rb = g["bl_rho"]
        rho_d, rho_b = g["bl_rho_dome"], g["bl_rho_base"]
        bl = _Comp("bladder", 1, "bladder", np.concatenate([dome, base]),
                   np.concatenate([rho_d, rho_b]), group=1, mode="area", area=g["bl_area"],
                   rough=0.12 * R, aniso=_u(rng, 1.0, 1.35), axis_deg=_u(rng, 60, 120))
        bl.extra["wall"] = float(np.interp(a["bladder_fill"], [0, 1], [4.5, 2.0]))
        bl.core, bl.smooth = 0.45, float(np.clip(0.3 * rb, 1.5, 6.0))
        comps.append(bl)
        # vagina
        vag = g["vag"]
        s_v = _arclen(vag)
        rv = a["vagina_radius"]
        top_r = rv * (1.25 if not a["hysterectomy"] else 1.1)
        low_r = min(rv, 6.0) * 0.85
        rho_v = np.interp(s_v, [0, 6, 22, 0.5 * s_v[-1], s_v[-1]],
                          [0.8 * low_r, low_r, rv, rv, top_r])
        va = _Comp("vagina", 2, "vagina", vag, rho_v, group=2, rough=0.15 * R,
                   aniso=1.0)
        va.extra["wall"] = _u(rng, 2.5, 4.0)
        va.extra["lumen"] = 0.65 if a["vaginal_gel"] else 0.22
        va.core, va.perineal = 0.75, True
        comps.append(va)
        # uterus and fibroids
        if not a["hysterectomy"]:
            ut = _Comp("uterus", 2, "uterus", g["ut"], g["ut_rho"], group=2, mode="area",
                       rough=0.1 * R, aniso=_u(rng, 1.0, 1.3))
            ut.area = float(np.sum(2 * g["ut_rho"][:-1] * np.diff(g["ut_s"]))
                            + 0.5 * math.pi * g["ut_rho"][-1] ** 2)
            ut.extra["int_os"] = g["ut_int_os"]
            ut.core, ut.smooth, ut.delta_cap = 0.5, 3.0, 10.0
            comps.append(ut)
            nrm = _normals(g["ut"])
            for k, fb in enumerate(a["fibroids"]):
                i = int(np.searchsorted(g["ut_s"], g["ut_int_os"] + fb["pos"] * a["uterus_len"]))
                i = min(i, len(g["ut"]) - 1)
                rho_here = g["ut_rho"][i]
                depth = min(fb["depth"], 1.0 + 0.6 * fb["radius"] / rho_here)
                c = g["ut"][i] + fb["side"] * nrm[i] * depth * rho_here
                if fb["pos"] > 0.95:
                    c = g["ut"][-1] + (g["ut"][-1] - g["ut"][-3]) / 2.0 * depth * 0.5 * rho_here
                pts = np.array([c, c + 0.5])
                fc = _Comp(f"fibroid{k}", 2, "fibroid", pts, fb["radius"], group=2, rough=0.1,
                           aniso=1.0)
                fc.extra["degenerated"] = fb["degenerated"]
                fc.share = ut
                fc.core = 0.5
                comps.append(fc)
        # rectum (anal verge -> junction) and sigmoid
        rect = g["rect"]
        s_r = _arclen(rect)
        sa = g["s_arj"]
        rho_r = g["rect_rho"]
        re = _Comp("rectum", 3, "rectum", rect, rho_r, group=3, rough=0.2 * R,
                   aniso=_u(rng, 1.0, 1.3))
        re.extra.update(s_arj=sa, wall=_u(rng, 2.2, 3.8), content=a["rectal_content"],
                        ampulla=(s_r > sa + 4) & (s_r < s_r[-1] - 10),
                        anal=s_r < sa)
        re.core, re.perineal = 0.55, True
        comps.append(re)
        j, jt = g["junction"], g["junction_t"]
        st = a["sigmoid_turn"]
        p1 = j + 12.0 * jt + np.array([-12.0, 0.0])
        p2 = j + np.array([st[0], st[1]])
        p3 = p2 + np.array([st[2], st[3]])
        sig = _resample(_bezier([j, p1, p2, p3], 40), 1.0)
        sig = np.concatenate([[j - 3 * jt], sig])
        sg = _Comp("sigmoid", 0, "colon", sig, a["sigmoid_radius"], group=3, rough=0.25 * R)
        sg.extra.update(wall=re.extra["wall"], content=str(rng.choice(["feces", "gas",
                                                                         "collapsed"])))
        sg.core = 0.4
        comps.append(sg)
        self.cut = (j, jt)
        # rectocele seed: part of the rectum, grows with strain
        if a["rectocele"]:
            i = int(np.searchsorted(s_r, sa + _u(rng, 12, 22)))
            nr = _normals(rect)[i]
            if nr[0] > 0:
                nr = -nr
            c = rect[i] + 0.3 * rho_r[i] * nr
            rc = _Comp("rectocele", 3, "rectum", np.array([c, c + 0.5]), 0.5 * rho_r[i],
                       group=3, rough=0.15)
            rc.extra.update(s_arj=-1.0, wall=re.extra["wall"], content=a["rectal_content"],
                            size=_u(rng, 6, 16), anal=np.zeros(2, bool), ampulla=np.ones(2, bool))
            rc.perineal = True
            comps.append(rc)
        # pouch of Douglas fluid
        if a["douglas_fluid"]:
            top = g["vag_top"]
            k = int(np.argmin(np.linalg.norm(rect - top, axis=1)))
            c = 0.5 * (top + rect[k]) + np.array([0.0, -10.0])
            comps.append(_Comp("douglas", 0, "fluid", np.array([c, c + 0.5]), _u(rng, 3, 8),
                               group=20, rough=0.3))
        # small bowel loops (and a colon segment) above the pelvic organs
        organ_pts = [c_.pts for c_ in comps]
        organ_rho = [c_.rho for c_ in comps]
        tops = [dome[-1][1] - rb]
        if not a["hysterectomy"]:
            tops.append(g["fundus"][1] - a["uterus_radius"])
        y_hi = min(tops) + 15.0
        ant_line = g["ant_line"]
        n_ok, tries = 0, 0
        loops = []
        while n_ok < a["n_loops"] and tries < 900:
            tries += 1
            cy = _u(rng, -330.0, y_hi)
            pub = g["pub_top"]
            hh = pub[1] - cy
            xin = g["front_top"][0] + 2 - a["belly"] * _smoothstep(hh / 150) - 10 * _smoothstep(
                hh / 50)
            xpb = _interp_x(cy, ant_line[:, 1], ant_line[:, 0]) - 18.0
            if xpb - xin < 30:
                continue
            cx = _u(rng, xin + 10, xpb - 8)
            rl = _u(rng, 8.0, 15.0)
            ang = _u(rng, 0, 360)
            ln = _u(rng, 0, 50)
            dv = np.array([math.cos(math.radians(ang)), math.sin(math.radians(ang))])
            bend = _u(rng, -0.5, 0.5) * ln * np.array([-dv[1], dv[0]])
            pts = _resample(_bezier([[cx, cy], [cx, cy] + 0.5 * ln * dv + bend,
                                     [cx, cy] + ln * dv], 12), 1.0)
            pr, pc = self._body_to_px(pts)
            pr, pc = np.rint(pr).astype(int), np.rint(pc).astype(int)
            inside = (pr >= 0) & (pr < self.Hf) & (pc >= 0) & (pc < self.Wf)
            if not inside.all() or np.any(self.zone[pr, pc] != 2):
                continue
            ok = True
            for op, orho in zip(organ_pts, organ_rho, strict=True):
                d = np.linalg.norm(pts[:, None] - op[None], axis=2) - np.asarray(orho)[None]
                if np.min(d) < rl + 2.0:
                    ok = False
                    break
            for op, orho in loops:
                d = np.linalg.norm(pts[:, None] - op[None], axis=2) - 0.75 * orho[None]
                if ok and np.min(d) < 0.75 * rl:
                    ok = False
            if not ok:
                continue
            loops.append((pts, np.full(len(pts), rl)))
            n_ok += 1
        for k, (pts, rl) in enumerate(loops):
            colon = k == 0 and rng.random() < 0.5
            lc = _Comp(f"loop{k}", 0, "colon" if colon else "loop", pts, rl, group=30 + k,
                       rough=_u(rng, 0.2, 0.45) * R, aniso=_u(rng, 1.0, 1.4),
                       axis_deg=_u(rng, 0, 180))
            kind = str(rng.choice(["fluid", "collapsed", "chyme", "gas", "level"],
                                  p=[0.35, 0.3, 0.15, 0.08, 0.12]))
            lc.extra.update(wall=_u(rng, 1.5, 2.8), content=kind if not colon else str(
                rng.choice(["feces", "gas", "collapsed"])), level=_u(rng, -0.3, 0.4))
            comps.append(lc)
        self.comps = comps
        self._bladder_k = [k for k, c in enumerate(comps) if c.name == "bladder"][0]

    # -- motion ---------------------------------------------------------------------------
    def _motion_setup(self):
        g, a, mo = self.g, self.a, self.p["motion"]
        rng_m = np.random.default_rng([self.p["seed"], 80])

        def r(lo, hi):
            return _u(rng_m, lo, hi)

        sq = mo["squeeze_strength"] * (1.25 - (a["laxity_anterior"] + a["laxity_middle"]
                                                + a["laxity_posterior"]) / 3.0)
        # normal descent plus the part due to laxity, per compartment
        la, lm, lp = (0.35 + 0.9 * a[k] for k in ("laxity_anterior", "laxity_middle",
                                                  "laxity_posterior"))
        ctrl, vs, vq, ve, vb = [], [], [], [], []

        def add(pt, strain, squeeze=(0.0, 0.0), evac=(0.0, 0.0), breath=(0.0, 0.0)):
            ctrl.append(np.asarray(pt, float))
            vs.append(strain)
            vq.append(squeeze)
            ve.append(evac)
            vb.append(breath)

        zero = (0.0, 0.0)
        # anchors on bones
        c_s, u_s = g["sym_c"], g["sym_u"]
        for f in (-0.8, 0.0, 0.8):
            add(c_s + f * g["sym_hl"] * u_s, zero)
        for p in g["sac"][::8]:
            add(p, zero)
        add(g["scj"], zero)
        add(g["tc"], zero)
        for v in g["verts"][:4]:
            add(v[0], zero)
        # organs
        dome_top = g["bl_dome"][-1]
        add(dome_top, (r(0, 6), r(6, 16) * (0.5 + 0.5 * la)), (0.0, -r(3, 8) * sq))
        add(g["bl_base"][-1], (r(3, 10) * la, r(12, 40) * la), (-r(1, 4) * sq, -r(5, 12) * sq))
        add(g["neck"], (r(6, 14) * la, r(6, 20) * la), (-r(1, 3) * sq, -r(4, 10) * sq))
        add(g["meatus"], (r(2, 6) * la, r(2, 8) * la), (0.0, -r(1, 4) * sq))
        add(g["iv"], (r(1, 5) * lp, r(3, 10) * (la + lp) / 2), (0.0, -r(2, 5) * sq))
        cx_v = (r(2, 10) * lm, r(10, 45) * lm)
        top = g["vag_top"]
        add(top, cx_v, (-r(0, 3) * sq, -r(4, 10) * sq))
        vmid = g["vag"][len(g["vag"]) // 2]
        add(vmid, (0.6 * cx_v[0] + 2, 0.6 * cx_v[1] + 2), (0.0, -r(3, 8) * sq))
        if "fundus" in g:
            add(g["fundus"], (r(-5, 8) * lm, r(5, 20) * lm), (0.0, -r(2, 6) * sq))
        pb = 0.5 * (g["iv"] + g["av"]) + np.array([0.0, -6.0])
        add(pb, (r(2, 6) * lp, r(4, 14) * lp), (-r(1, 3) * sq, -r(3, 7) * sq))
        add(g["av"], (r(2, 8) * lp, r(4, 16) * lp), (-r(0, 2) * sq, -r(2, 6) * sq),
            (r(2, 6), r(4, 10)))
        add(g["arj"], (r(8, 18) * lp, r(12, 35) * lp), (-r(4, 10) * sq, -r(6, 14) * sq),
            (r(3, 10), r(8, 20)))
        k = int(np.searchsorted(_arclen(g["rect"]), g["s_arj"] + 28))
        add(g["rect"][k], (r(4, 10) * lp, r(6, 18) * lp), (0.0, -r(2, 6) * sq), (r(0, 5), r(4, 12)))
        if a["rectocele"]:
            k = int(np.searchsorted(_arclen(g["rect"]), g["s_arj"] + 16))
            add(g["rect"][k] + np.array([-a["rectal_radius"] * 0.6, 0.0]),
                (-r(8, 20) * lp, r(4, 12) * lp), zero, (-r(5, 12), r(2, 8)))
        add(g["lp_mid"], (r(2, 6) * lp, r(8, 22) * lp), (0.0, -r(3, 8) * sq))
        add(g["junction"], (r(0, 4), r(2, 8)))
        # bowel and abdominal wall, breathing
        bamp = mo["breath_amp_mm"]
        ytop = g["prom"][1]
        for c in self.comps:
            if c.name.startswith("loop"):
                ctr = c.pts[len(c.pts) // 2]
                wb = float(np.clip((ytop + 40 - ctr[1]) / 120.0, 0.0, 1.0))
                add(ctr, (r(-2, 3), r(3, 12)), (0.0, -r(0, 4)), zero, (0.3 * bamp * wb,
                                                                        -bamp * wb))
        pub = g["pub_top"]
        for hgt in (80.0, 160.0, 240.0):
            y = pub[1] - hgt
            x = g["front_top"][0] - a["belly"] * _smoothstep(hgt / 150) - 10 - a["rectus_thk"]
            wb = min(1.0, hgt / 200.0)
            add((x, y), (-r(1, 5), 0.0), zero, zero, (-0.4 * bamp * wb, -0.5 * bamp * wb))
        self.ctrl = np.array(ctrl)
        self.v_strain, self.v_squeeze = np.array(vs, float), np.array(vq, float)
        self.v_evac, self.v_breath = np.array(ve, float), np.array(vb, float)
        # RBF interpolation (image mm) with a small ridge
        ci = self._body_to_img(self.ctrl)
        self.sig_rbf = 20.0 * self.scale
        d2 = np.sum((ci[:, None] - ci[None]) ** 2, axis=2)
        kmat = np.exp(-d2 / (2 * self.sig_rbf ** 2))
        self.k_inv = np.linalg.inv(kmat + 0.08 * np.eye(len(ci)))
        self.ctrl_img = ci
        hc, wc = self.Hf // 8 + 2, self.Wf // 8 + 2
        yy = np.linspace(0, (self.Hf - 1) * self.fr, hc)
        xx = np.linspace(0, (self.Wf - 1) * self.fc, wc)
        gx, gy = np.meshgrid(xx, yy)
        gp = np.stack([gx.ravel(), gy.ravel()], 1)
        self.k_grid = self._rbf(gp)
        self.grid_shape = (hc, wc)
        for name, n_out, n_in in (("up_r", self.Hf, hc), ("up_c", self.Wf, wc)):
            pos = np.linspace(0.0, n_in - 1.0, n_out)
            i0 = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
            setattr(self, name, (i0, (pos - i0).astype(np.float32)))
        for c in self.comps:
            c.k_pts = self._rbf(self._body_to_img(c.pts))
            c.img0 = self._body_to_img(c.pts)
        self.times = np.arange(self.p["n_frames"]) * self.p["frame_interval_s"]
        self.m, self.e, self.open, self.b = _curves(mo, self.times)

    def _rbf(self, pts_img):
        d2 = np.sum((pts_img[:, None] - self.ctrl_img[None]) ** 2, axis=2)
        return np.exp(-d2 / (2 * self.sig_rbf ** 2)).astype(np.float32)

    def _alpha(self, f):
        m, e, b = self.m[f], self.e[f], self.b[f]
        d = (max(m, 0.0) * self.v_strain + max(-m, 0.0) * self.v_squeeze + e * self.v_evac
             + b * self.v_breath)
        return self.k_inv @ self._vec_to_img(d)

    # -- growth graph ---------------------------------------------------------------------
    def _graph_setup(self):
        rs, cs = np.nonzero(self.zone > 0)
        mr, mc = int(12 / self.fr) + 2, int(12 / self.fc) + 2
        r0, r1 = max(0, rs.min() - mr), min(self.Hf, rs.max() + mr + 1)
        c0, c1 = max(0, cs.min() - mc), min(self.Wf, cs.max() + mc + 1)
        self.roi = (r0, r1, c0, c1)
        h, w = r1 - r0, c1 - c0
        self.rh, self.rw = h, w
        n = h * w
        idx = np.arange(n).reshape(h, w)
        src, dst, lens, dirs = [], [], [], []
        for k, (dr, dc) in enumerate(((0, 1), (1, 0), (1, 1), (1, -1))):
            a = idx[0:h - dr, max(0, -dc):w - max(0, dc)]
            b = idx[dr:h, max(0, dc):w + min(0, dc)]
            src.append(a.ravel())
            dst.append(b.ravel())
            lens.append(np.full(a.size, math.hypot(dr * self.fr, dc * self.fc) / self.scale))
            dirs.append(np.full(a.size, k))
        src, dst = np.concatenate(src), np.concatenate(dst)
        self.e_src, self.e_dst = src, dst
        self.e_len = np.concatenate(lens).astype(np.float32)
        self.e_dir = np.concatenate(dirs).astype(np.int8)
        s2, d2 = np.concatenate([src, dst]), np.concatenate([dst, src])
        order = np.lexsort((d2, s2))
        self.perm = order
        self.g_indices = d2[order].astype(np.int32)
        self.g_indptr = np.concatenate([[0], np.cumsum(np.bincount(s2, minlength=n))]).astype(
            np.int32)
        self.n_nodes = n
        # edge directions in image mm -> angles
        ang = []
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            ang.append(math.atan2(dr * self.fr, dc * self.fc))
        self.dir_ang = np.array(ang)
        phi = self.dir_ang[self.e_dir]
        self.e_c2 = np.cos(2 * phi).astype(np.float32)
        self.e_s2 = np.sin(2 * phi).astype(np.float32)
        # static random speed fields (full grid, advected per frame)
        rng = self.rng_tex
        px = self.scale / min(self.fr, self.fc)
        n1 = _smooth_field(rng, (self.Hf, self.Wf), 7.0 * px)
        n2 = _smooth_field(rng, (self.Hf, self.Wf), 18.0 * px)
        self.speed_noise = (0.8 * n1 + 0.6 * n2).astype(np.float32)
        # per-component roughness / anisotropy fields from a rest-frame isotropic partition
        self.comp_rough = np.array([c.rough for c in self.comps], np.float32)
        self.comp_aniso = np.array([c.aniso for c in self.comps], np.float32)
        th = np.array([math.radians(c.axis_deg) for c in self.comps])
        self.comp_c2, self.comp_s2 = np.cos(2 * th), np.sin(2 * th)

    def _upsample(self, coarse):
        """Bilinear upsampling of a coarse displacement grid to the fine grid (no BLAS)."""
        (r0, rf), (c0, cf) = self.up_r, self.up_c
        rows = coarse[r0] * (1.0 - rf)[:, None] + coarse[r0 + 1] * rf[:, None]
        return rows[:, c0] * (1.0 - cf)[None, :] + rows[:, c0 + 1] * cf[None, :]

    def _frame_fields(self, f):
        """Displacement of frame f on the fine grid and the backward-warp index."""
        alpha = self._alpha(f)
        dgrid = self.k_grid @ alpha
        hc, wc = self.grid_shape
        dx = self._upsample(dgrid[:, 0].reshape(hc, wc).astype(np.float32))
        dy = self._upsample(dgrid[:, 1].reshape(hc, wc).astype(np.float32))
        rr = np.arange(self.Hf, dtype=np.float32)[:, None] - dy * np.float32(1.0 / self.fr)
        cc = np.arange(self.Wf, dtype=np.float32)[None, :] - dx * np.float32(1.0 / self.fc)
        rr = np.clip(np.rint(rr), 0, self.Hf - 1).astype(np.int32)
        cc = np.clip(np.rint(cc), 0, self.Wf - 1).astype(np.int32)
        warp = (rr * np.int32(self.Wf) + cc).ravel()
        return alpha, warp

    def _seeds(self, f, alpha):
        """Seed pixels (ROI node ids), head starts and arc lengths per component of frame f."""
        r0, r1, c0, c1 = self.roi
        m, e, op = self.m[f], self.e[f], self.open[f]
        out = []
        for c in self.comps:
            pts = c.img0 + c.k_pts @ alpha
            rho = c.rho.copy()
            if c.style == "rectum" and c.name == "rectum":
                rho = np.where(c.extra["ampulla"], rho * (1.0 - 0.65 * e), rho)
                rho = np.where(c.extra["anal"], rho + op * 4.5, rho)
            if c.name == "rectocele":
                rho = rho * (1.0 - 0.4 * e) + max(m, 0.0) * c.extra["size"] * self.a[
                    "laxity_posterior"] + 0.5 * e * c.extra["size"]
            # dense sampling of the skeleton
            if len(pts) > 1:
                seg = np.hypot(*np.diff(pts, axis=0).T)
                step = 0.45 * min(self.fr, self.fc)
                n_sub = np.maximum(1, np.ceil(seg / step).astype(int))
                starts = np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
                tt = (np.arange(n_sub.sum()) - starts) / np.repeat(n_sub, n_sub)
                ii = np.repeat(np.arange(len(seg)), n_sub)
                p = pts[ii] + tt[:, None] * (pts[ii + 1] - pts[ii])
                rr_ = rho[ii] + tt * (rho[ii + 1] - rho[ii])
                ss = c.s[ii] + tt * (c.s[ii + 1] - c.s[ii])
                p = np.concatenate([p, pts[-1:]])
                rr_ = np.concatenate([rr_, rho[-1:]])
                ss = np.concatenate([ss, c.s[-1:]])
            else:
                p, rr_, ss = pts, rho, c.s
            pr = np.rint(p[:, 1] / self.fr).astype(int) - r0
            pc = np.rint(p[:, 0] / self.fc).astype(int) - c0
            if len(pr) > 1:  # 4-connected raster: a front cannot slip through a diagonal step
                diag = (pr[1:] != pr[:-1]) & (pc[1:] != pc[:-1])
                j = np.nonzero(diag)[0]
                pr = np.concatenate([pr, pr[j + 1]])
                pc = np.concatenate([pc, pc[j]])
                rr_ = np.concatenate([rr_, rr_[j]])
                ss = np.concatenate([ss, ss[j]])
            ok = (pr >= 0) & (pr < r1 - r0) & (pc >= 0) & (pc < c1 - c0)
            node = pr[ok] * self.rw + pc[ok]
            hs = _C_HEAD - rr_[ok] - c.delta - (c.share.delta if c.share is not None else 0.0)
            ss = ss[ok]
            if len(node):
                order = np.lexsort((hs, node))
                node, hs, ss = node[order], hs[order], ss[order]
                first = np.concatenate([[True], node[1:] != node[:-1]])
                node, hs, ss = node[first], hs[first], ss[first]
            hs = np.maximum(hs, 1.0)
            out.append((node, hs, ss, pts, rho, hs.copy()))
        # owned cores (a fraction of the local radius around the skeleton)
        for k, c in enumerate(self.comps):
            node, hs, ss, pts, rho, h0 = out[k]
            if c.core <= 0 or len(node) == 0:
                continue
            rad = np.clip(_C_HEAD - hs - c.delta, 0.0, None) * c.core  # core radius per seed
            rpx = node // self.rw
            cpx = node % self.rw
            mr = int(math.ceil(rad.max() * self.scale / self.fr)) + 2
            mc = int(math.ceil(rad.max() * self.scale / self.fc)) + 2
            a0, a1 = max(0, rpx.min() - mr), min(self.rh, rpx.max() + mr + 1)
            b0, b1 = max(0, cpx.min() - mc), min(self.rw, cpx.max() + mc + 1)
            box = np.ones((a1 - a0, b1 - b0), bool)
            box[rpx - a0, cpx - b0] = False
            d, (ir, ic) = ndimage.distance_transform_edt(box, sampling=self.px_mm,
                                                         return_indices=True)
            lut = np.full(box.shape, -1, np.int64)
            lut[rpx - a0, cpx - b0] = np.arange(len(node))
            near = lut[ir, ic]
            inside = (d > 0) & (d <= rad[near])
            inside &= self._allowed_box(k, a0, a1, b0, b1)
            if not inside.any():
                continue
            rr_, cc_ = np.nonzero(inside)
            nn = near[rr_, cc_]
            out[k] = (np.concatenate([node, (rr_ + a0) * self.rw + cc_ + b0]),
                      np.concatenate([hs, hs[nn] + d[rr_, cc_]]),
                      np.concatenate([ss, ss[nn]]), pts, rho, np.concatenate([h0, h0[nn]]))
        # a pixel shared by two skeletons belongs to the thinner, more protected structure
        prio = {"vagina": 6, "rectum": 6, "uterus": 5, "sigmoid": 4, "bladder": 3}
        allnode = np.concatenate([o[0] for o in out])
        allcomp = np.concatenate([np.full(len(o[0]), k) for k, o in enumerate(out)])
        allprio = np.array([prio.get(self.comps[k].name, 2) for k in allcomp])
        order = np.lexsort((-allprio, allnode))
        sn = allnode[order]
        first = np.concatenate([[True], sn[1:] != sn[:-1]]) if len(sn) else np.zeros(0, bool)
        win = np.zeros(len(allnode), bool)
        win[order[first]] = True
        pos = 0
        for k, o in enumerate(out):
            keep = win[pos:pos + len(o[0])]
            pos += len(o[0])
            if not keep.all():
                out[k] = (o[0][keep], o[1][keep], o[2][keep], o[3], o[4], o[5][keep])
        return out

    def _draw_moving(self, f, alpha, tis, obst):
        """Muscles, urethra and perineal body of frame f onto the fine tissue map (in place)."""
        g, a = self.g, self.a
        T = _T

        def moved(pts):
            pts = np.atleast_2d(pts)
            return (self._body_to_img(pts) + self._rbf(self._body_to_img(pts)) @ alpha)

        def img_to_body_pts(q):
            bx, by = self._img_to_body(q[:, 0], q[:, 1])
            return np.stack([bx, by], 1)

        def paint(poly_body, radius_fn, tissue, margin, is_obst=True, caps=True):
            r0, r1, c0, c1 = self._bbox(poly_body, margin)
            if r1 <= r0 or c1 <= c0:
                return
            X = self.XB[r0:r1, c0:c1]
            Y = self.YB[r0:r1, c0:c1]
            d, s = _polyline_dist(X, Y, poly_body)
            m = d < radius_fn(s)
            if not caps:
                ltot = _arclen(poly_body)[-1]
                m &= (s > 1e-6) & (s < ltot - 1e-6)
            sub = tis[r0:r1, c0:c1]
            sub[m] = tissue
            if is_obst:
                obst[r0:r1, c0:c1] |= m
            return m, (r0, r1, c0, c1), d, s

        key = img_to_body_pts(moved(np.array([g["arj"], g["av"], g["neck"], g["meatus"],
                                              g["lp_mid"], g["iv"]])))
        arj, av, neck, meat, lpm, iv = key
        arjp = arj + 7.0 * g["hdir"]
        # levator plate and puborectalis
        lev = _bezier([arjp + np.array([2.0, 3.0]), lpm, g["tc"]], 9)
        paint(lev, lambda s: np.full_like(s, self._lev_thk), T["muscle"], 8.0)
        daxis = (av - arj) / (np.linalg.norm(av - arj) + 1e-9)
        pr_c = arjp + 4.5 * g["hdir"] + 3.0 * daxis
        paint(np.array([pr_c - 3.0 * daxis, pr_c + 3.0 * daxis]),
              lambda s: np.full_like(s, 5.5), T["muscle"], 8.0)
        # external anal sphincter: ring around the lower anal canal
        ra = self.a["anal_radius"] + 4.5 * self.open[f]
        leas = self._eas_len
        ax = np.array([av, av - leas * daxis])
        res = paint(ax, lambda s: np.full_like(s, ra + 1.2 + self._eas_thk), T["muscle"],
                    ra + 8.0, is_obst=False, caps=False)
        if res is not None:
            m, (r0, r1, c0, c1), d, s = res
            inner = d < ra + 1.2
            sub = tis[r0:r1, c0:c1]
            sub[m & inner] = self._soft_under[r0:r1, c0:c1][m & inner]
            obst[r0:r1, c0:c1] |= m & ~inner
        # anococcygeal ligament
        post_eas = av - 0.5 * leas * daxis + (ra + 3.0) * np.array([1.0, 0.0])
        paint(np.array([post_eas, g["tc"]]), lambda s: np.full_like(s, 1.4), T["ligament"], 4.0)
        # urethra
        ur = np.array([meat + 2.0 * (meat - neck) / np.linalg.norm(meat - neck), neck])
        ru = a["urethra_radius"]
        res = paint(ur, lambda s: np.full_like(s, ru + 0.6), T["urethra_wall"], ru + 3.0,
                    caps=False)
        if res is not None:
            m, (r0, r1, c0, c1), d, s = res
            sub = tis[r0:r1, c0:c1]
            sub[m & (d < 0.45 * ru)] = T["urethra_mucosa"]
        # perineal body: dense fibromuscular node (cost, not obstacle)
        pb = 0.5 * (iv + av) + np.array([0.0, -8.0])
        paint(np.array([pb - np.array([6.0, -2.0]), pb + np.array([6.0, -2.0])]),
              lambda s: np.full_like(s, 6.0), T["perineal"], 10.0, is_obst=False)

    # -- one frame ------------------------------------------------------------------------
    def frame(self, f, state):
        """Fine tissue map and fine label map of frame f (state carries growth memory)."""
        T = _T
        alpha, warp = self._frame_fields(f)
        self._warp_now = warp
        soft = self.soft.ravel()[warp].reshape(self.Hf, self.Wf)
        zone = self.zone.ravel()[warp].reshape(self.Hf, self.Wf)
        soft = np.where(self.bone_mask, self.bone, soft)
        zone = np.where(self.bone_mask, 0, zone)
        obst = np.zeros((self.Hf, self.Wf), bool)
        self._soft_under = soft.copy()
        tis = soft.copy()
        self._draw_moving(f, alpha, tis, obst)
        r0, r1, c0, c1 = self.roi
        sl = (slice(r0, r1), slice(c0, c1))
        wroi = warp.reshape(self.Hf, self.Wf)[sl].ravel()
        zc = zone[sl].ravel()
        ob = obst[sl].ravel()
        self._zc_now, self._ob_now = zc.reshape(self.rh, self.rw), ob.reshape(self.rh, self.rw)
        self._post_now = self._septum_mask(alpha)
        seeds = self._seeds(f, alpha)
        cost_zone = np.where(zc == 2, 1.0, np.where(zc == 3, 2.2, _BIG)).astype(np.float32)
        cost_zone[ob] = _BIG
        pbm = tis[sl].ravel() == T["perineal"]
        cost_zone[pbm & (cost_zone < _BIG)] = 4.0
        for node, *_rest in seeds:
            cost_zone[node] = np.minimum(cost_zone[node], 2.2)
        noise = self.speed_noise.ravel()[wroi]
        if state.get("owner") is None:
            flat = np.zeros(self.n_nodes, np.float32)
            res = self._grow(seeds, cost_zone * np.exp(-0.25 * noise), flat, flat,
                             np.ones(self.n_nodes, np.float32))
            self._set_owner(res, state)
        ow = state["owner"][wroi]
        rough = self.comp_rough_f[ow]
        c2, s2, an = self.comp_c2_f[ow], self.comp_s2_f[ow], self.comp_an_f[ow]
        cost = cost_zone * np.exp(-rough * noise)
        passes = 14 if state.get("first", True) else 1
        for i in range(passes):
            if i:
                seeds = self._seeds(f, alpha)
            before = [c.delta for c in self.comps]
            res = self._grow(seeds, cost, c2, s2, an)
            taus = self._update_delta(res)
            if max(abs(c.delta - d) for c, d in zip(self.comps, before, strict=True)) < 0.15:
                break
        state["first"] = False
        return self._assign(f, res, seeds, tis, wroi, taus)

    def _septum_mask(self, alpha):
        """ROI pixels behind the vagina - uterus septum (extended cranially from the fundus):
        the bladder stays in front of it (the vesico-uterine reflection)."""
        named = {c.name: c for c in self.comps}
        va = named["vagina"]
        line = [va.img0 + va.k_pts @ alpha]
        if "uterus" in named:
            ut = named["uterus"]
            line.append(ut.img0 + ut.k_pts @ alpha)
        line = np.concatenate(line)
        up = self.rot @ np.array([0.0, -1.0]) * self.scale
        post = self.rot @ np.array([1.0, 0.0]) * self.scale
        tip = line[-1] + 15.0 * (line[-1] - line[-6]) / (np.linalg.norm(line[-1] - line[-6]) + 1e-9)
        poly = np.concatenate([line, [tip, tip + 800 * up, tip + 800 * up + 800 * post,
                                      line[0] - 150 * up + 800 * post, line[0] - 150 * up]])
        r0, r1, c0, c1 = self.roi
        im = Image.new("L", (self.rw, self.rh), 0)
        pts = list(zip((poly[:, 0] / self.fc - c0).tolist(), (poly[:, 1] / self.fr - r0).tolist(),
                       strict=True))
        ImageDraw.Draw(im).polygon(pts, fill=1)
        return np.asarray(im, dtype=bool)

    def _allowed_box(self, k, a0, a1, b0, b1):
        z = self._zc_now[a0:a1, b0:b1]
        ok = (z == 2) | ((z == 3) & self.comps[k].perineal)
        if self.comps[k].name == "bladder":
            ok &= ~self._post_now[a0:a1, b0:b1]
        return ok & ~self._ob_now[a0:a1, b0:b1]

    def _allowed(self, comp):
        """Per node: may the node's cell owner keep it (cavity, or perineum for the passages;
        the bladder only in front of the vagina - uterus septum)."""
        perin = np.array([c.perineal for c in self.comps] + [False])
        z = self._zc_now.ravel()
        cc = np.where(comp >= 0, comp, len(self.comps))
        ok = (z == 2) | ((z == 3) & perin[cc])
        return ok & ~((cc == self._bladder_k) & self._post_now.ravel())

    def _set_owner(self, res, state):
        """Rest-frame partition -> per-pixel component id (full grid, -1 none -> extra slot)."""
        comp = res["comp"]
        full = np.full(self.Hf * self.Wf, len(self.comps), np.int32)
        r0, r1, c0, c1 = self.roi
        sub = full.reshape(self.Hf, self.Wf)
        sub[r0:r1, c0:c1] = np.where(comp >= 0, comp, len(self.comps)).reshape(self.rh, self.rw)
        state["owner"] = full
        self.comp_rough_f = np.append(self.comp_rough, 0.25).astype(np.float32)
        self.comp_c2_f = np.append(self.comp_c2, 0.0).astype(np.float32)
        self.comp_s2_f = np.append(self.comp_s2, 0.0).astype(np.float32)
        self.comp_an_f = np.append(self.comp_aniso, 1.0).astype(np.float32)

    def _grow(self, seeds, cost, c2, s2, an):
        n = self.n_nodes
        src, dst = self.e_src, self.e_dst
        cm = cost[src] + cost[dst]
        # anisotropy: speed a along the preferred axis, 1 across (edge-midpoint averages)
        am = 0.5 * (an[src] + an[dst])
        cos2 = 0.5 + 0.25 * (self.e_c2 * (c2[src] + c2[dst]) + self.e_s2 * (s2[src] + s2[dst]))
        w = (0.5 * self.e_len) * cm / np.sqrt(1.0 + (am * am - 1.0) * cos2)
        # seed pixels are owned by their component: no edge leads into them
        is_seed = np.zeros(n, bool)
        for s_ in seeds:
            is_seed[s_[0]] = True
        data = np.concatenate([np.where(is_seed[dst], _BIG, w),
                               np.where(is_seed[src], _BIG, w)])[self.perm]
        k = len(seeds)
        counts = np.array([len(s[0]) for s in seeds])
        indptr = np.concatenate([self.g_indptr, self.g_indptr[-1] + np.cumsum(counts)])
        indices = np.concatenate([self.g_indices] + [s[0].astype(np.int32) for s in seeds])
        vals = np.concatenate([data] + [s[1] for s in seeds])
        gr = csr_matrix((vals, indices, indptr), shape=(n + k, n + k))
        limit = _C_HEAD + 32.0
        dist, pred, srcs = dijkstra(gr, directed=True, indices=np.arange(n, n + k),
                                    min_only=True, return_predecessors=True, limit=limit)
        dist, pred, srcs = dist[:n], pred[:n], srcs[:n]
        comp = np.where(srcs >= n, srcs - n, -1)
        # root seed of every node (pointer doubling)
        root = np.where((pred >= n) | (pred < 0), np.arange(n), pred)
        for _ in range(14):
            nxt = root[root]
            if np.array_equal(nxt, root):
                break
            root = nxt
        return {"dist": dist, "comp": comp, "root": root, "seeds": seeds}

    def _update_delta(self, res):
        """Stop times: the area quantile of the cell for area-mode components (their dilation
        is remembered for the next frame), the common constant for the others."""
        dist, comp = res["dist"], res["comp"]
        comp = np.where(self._allowed(comp), comp, -1)
        px_area = self.px_mm[0] * self.px_mm[1]
        taus = np.full(len(self.comps), _C_HEAD)
        for k, c in enumerate(self.comps):
            if c.share is not None:
                taus[k] = _C_HEAD - c.share.delta
            if c.mode != "area":
                continue
            target = c.area * (1.0 - 0.03 * max(self._m_now, 0.0)) / px_area
            dk = dist[comp == k]
            dk = dk[np.isfinite(dk)]
            if len(dk) == 0:
                continue
            nt = int(min(len(dk) - 1, max(1, round(target))))
            tau = float(np.partition(dk, nt)[nt])
            taus[k] = tau
            c.delta = float(np.clip(c.delta + 0.4 * (tau - _C_HEAD), -20.0, c.delta_cap))
        return taus

    def _assign(self, f, res, seeds, tis, wroi, taus):
        """Regions of the grown components -> tissue classes and organ labels (fine grid)."""
        T = _T
        dist, comp, root = res["dist"], res["comp"], res["root"]
        n = self.n_nodes
        nc = len(self.comps)
        # seed attributes
        seed_h = np.zeros(n, np.float32)
        seed_s = np.zeros(n, np.float32)
        seed_c = np.full(n, -1, np.int32)
        order = np.argsort([-float(np.mean(s[1])) if len(s[1]) else 0.0 for s in seeds])
        for k in order:
            node, _hs, ss, _p, _r, h0 = seeds[k]
            seed_h[node] = h0
            seed_s[node] = ss
            seed_c[node] = k
        ok = comp >= 0
        cc = np.where(ok, comp, 0)
        inreg = ok & (dist <= taus[cc]) & self._allowed(comp)
        lab_of = np.array([c.label for c in self.comps] + [0], np.uint8)
        cidx = np.where(inreg, comp, nc)
        # rectum / sigmoid cut: plane perpendicular to the bowel axis at the junction
        ir = [k for k, c in enumerate(self.comps) if c.name == "rectum"][0]
        isg = [k for k, c in enumerate(self.comps) if c.name == "sigmoid"][0]
        jp = seeds[ir][3][-1]
        jt = seeds[ir][3][-1] - seeds[ir][3][-4]
        jt = jt / (np.linalg.norm(jt) + 1e-9)
        r0, r1, c0, c1 = self.roi
        rr = (np.arange(n) // self.rw + r0) * self.fr
        cc_ = (np.arange(n) % self.rw + c0) * self.fc
        near = (cidx == ir) | (cidx == isg)
        side = (cc_ - jp[0]) * jt[0] + (rr - jp[1]) * jt[1]
        close = np.hypot(cc_ - jp[0], rr - jp[1]) < 2.5 * self.a["sigmoid_radius"] * self.scale
        cidx = np.where(near & close & (side > 0), isg, cidx)
        cidx = np.where(near & close & (side <= 0) & (cidx == isg), ir, cidx)
        # turgid organs: a morphological opening and closing (distance transforms) smooths
        # the crevices a free front would creep into
        for k, c in enumerate(self.comps):
            if c.smooth <= 0:
                continue
            c2d = cidx.reshape(self.rh, self.rw)
            m = c2d == k
            if not m.any():
                continue
            rr_, cc2 = np.nonzero(m)
            pad = int(3 * c.smooth * self.scale / min(self.fr, self.fc)) + 2
            a0, a1 = max(0, rr_.min() - pad), min(self.rh, rr_.max() + pad + 1)
            b0, b1 = max(0, cc2.min() - pad), min(self.rw, cc2.max() + pad + 1)
            sub = c2d[a0:a1, b0:b1]
            mk = sub == k
            rad = c.smooth
            er = ndimage.distance_transform_edt(mk, sampling=self.px_mm) > rad
            op = ndimage.distance_transform_edt(~er, sampling=self.px_mm) <= rad
            cl = ndimage.distance_transform_edt(~op, sampling=self.px_mm) <= rad
            cl = ndimage.distance_transform_edt(cl, sampling=self.px_mm) > rad
            free = (sub == nc) & self._allowed_box(k, a0, a1, b0, b1)
            sub[mk & ~op] = nc
            sub[cl & free & ~mk] = k
        lab = lab_of[cidx]
        # one piece per organ (8-connected)
        lab2 = lab.reshape(self.rh, self.rw)
        for organ in (1, 2, 3):
            m = lab2 == organ
            pieces, npieces = ndimage.label(m, structure=np.ones((3, 3)))
            if npieces > 1:
                sizes = np.bincount(pieces.ravel())
                sizes[0] = 0
                drop = (pieces != int(np.argmax(sizes))) & m
                lab2[drop] = 0
                cidx.reshape(self.rh, self.rw)[drop] = nc
        lab = lab2.ravel()
        # walls: distance to the border of each wall group
        grp_of = np.array([c.group for c in self.comps] + [0], np.int32)
        grp = grp_of[cidx].reshape(self.rh, self.rw)
        border = np.zeros_like(grp, bool)
        border[:-1] |= grp[:-1] != grp[1:]
        border[1:] |= grp[1:] != grp[:-1]
        border[:, :-1] |= grp[:, :-1] != grp[:, 1:]
        border[:, 1:] |= grp[:, 1:] != grp[:, :-1]
        wdist = ndimage.distance_transform_edt(~border, sampling=self.px_mm).ravel()
        # normalised depth from the skeleton (0 on the skeleton, 1 on the stop front)
        hroot = seed_h[root]
        q = np.clip((dist - hroot) / np.maximum(taus[np.minimum(cidx, nc - 1)] - hroot, 1e-3),
                    0.0, 1.0)
        sroot = seed_s[root]
        tex2 = self.tex2.ravel()[wroi]
        body_x = self.XB[r0:r1, c0:c1].ravel()
        out = tis[r0:r1, c0:c1].ravel().copy()
        e_now, op_now = self.e[f], self.open[f]
        for k, c in enumerate(self.comps):
            m = cidx == k
            if not m.any():
                continue
            qq, wd, ss = q[m], wdist[m], sroot[m]
            t = np.full(qq.shape, T["fat"], np.uint8)
            st = c.style
            if st == "bladder":
                t[:] = T["urine"]
                t[wd < c.extra["wall"]] = T["bladder_wall"]
            elif st == "uterus":
                cx = ss < c.extra["int_os"]
                ef = self.a["endometrium_frac"]
                t[:] = T["myometrium"]
                t[~cx & (qq < ef + 0.17)] = T["junctional"]
                t[~cx & (qq < ef)] = T["endometrium"]
                t[cx & (qq < 0.8)] = T["cervix_stroma"]
                t[cx & (qq < 0.16)] = T["cervix_mucus"]
            elif st == "fibroid":
                t[:] = T["fibroid"]
                if c.extra["degenerated"]:
                    t[(qq < 0.55) & (tex2[m] > -0.3)] = T["fibroid_degenerated"]
            elif st == "vagina":
                t[:] = T["vaginal_wall"]
                lum = qq < c.extra["lumen"]
                t[lum] = T["gel"] if self.a["vaginal_gel"] else T["vaginal_mucus"]
                t[wd < c.extra["wall"] * 0.6] = T["vaginal_wall"]
            elif st in ("rectum", "colon", "loop"):
                t[:] = self._content(c, tex2[m], body_x[m], qq, op_now, e_now)
                own = seed_c[root[m]] == k
                if st == "rectum":
                    anal = (ss < c.extra["s_arj"]) & own
                    lum = qq < (0.3 + 0.4 * op_now)
                    t[anal] = T["int_sphincter"]
                    if op_now > 0.2 and c.extra["content"] in ("gel", "feces"):
                        t[anal & lum] = T["gel"] if c.extra["content"] == "gel" else T["feces"]
                    else:
                        t[anal & (qq < 0.3)] = T["mucosa"]
                wall = c.extra["wall"]
                t[(wd < wall)] = T["rectal_wall"] if st != "loop" else T["bowel_wall"]
                t[(wd >= 0.55 * wall) & (wd < wall) & (st != "loop")] = T["mucosa"]
                if st == "rectum":
                    t[anal & (wd < wall)] = T["int_sphincter"]
            elif st == "fluid":
                t[:] = T["free_fluid"]
            out[m] = t
        out2, lab2 = out.reshape(self.rh, self.rw), lab.reshape(self.rh, self.rw)
        # small pockets enclosed by one organ (triple-junction fat, a squeezed fluid drop) are
        # filled with the organ's nearest tissue, in the label and the image alike
        max_hole = 40.0 / (self.px_mm[0] * self.px_mm[1])
        for organ in (1, 2, 3):
            rows = np.nonzero((lab2 == organ).any(1))[0]
            cols = np.nonzero((lab2 == organ).any(0))[0]
            if len(rows) == 0:
                continue
            box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            sub_l, sub_t = lab2[box], out2[box]
            m = sub_l == organ
            holes = ndimage.binary_fill_holes(m) & ~m
            if not holes.any():
                continue
            hl, _nh = ndimage.label(holes)
            small = np.bincount(hl.ravel()) <= max_hole
            small[0] = False
            fill = small[hl]
            if fill.any():
                _d, (ir, ic) = ndimage.distance_transform_edt(~m, return_indices=True)
                sub_t[fill] = sub_t[ir[fill], ic[fill]]
                sub_l[fill] = organ
        tis[r0:r1, c0:c1] = out2
        labf = np.zeros((self.Hf, self.Wf), np.uint8)
        labf[r0:r1, c0:c1] = lab2
        self._last_comp = cidx
        return tis, labf

    def _content(self, c, tex2, bx, qq, op_now, e_now):
        T = _T
        kind = c.extra["content"]
        t = np.full(qq.shape, T["feces"], np.uint8)
        if kind == "gel":
            t[:] = T["gel"]
            t[tex2 > 1.9] = T["gas"]
        elif kind == "feces":
            t[:] = T["feces"]
            t[tex2 > 1.0] = T["gas"]
        elif kind == "gas":
            t[:] = T["gas"]
            t[qq > 0.8] = T["mucosa"]
        elif kind == "collapsed":
            t[:] = T["mucosa"]
            t[qq < 0.25] = T["free_fluid"] if c.style == "loop" else T["mucosa"]
            t[(tex2 > 0.8) & (qq > 0.3)] = T["bowel_wall"]
        elif kind == "fluid":
            t[:] = T["bowel_fluid"]
        elif kind == "chyme":
            t[:] = T["chyme"]
            t[tex2 > 1.4] = T["gas"]
        elif kind == "level":
            t[:] = T["bowel_fluid"]
            lo, hi = bx.min(), bx.max()
            t[bx < lo + (0.5 + 0.4 * c.extra["level"]) * (hi - lo)] = T["gas"]
        return t

    # -- imaging --------------------------------------------------------------------------
    def _imaging_setup(self):
        im = self.p["imaging"]
        rng = self.rng_tex
        px = self.scale / min(self.fr, self.fc)
        self.tex1 = _smooth_field(rng, (self.Hf, self.Wf), 0.9 * px, coarse=1)
        self.tex2 = _smooth_field(rng, (self.Hf, self.Wf), 3.0 * px, coarse=2)
        self._lev_thk = _u(rng, 2.2, 4.0)
        self._eas_len = _u(rng, 18, 26)
        self._eas_thk = _u(rng, 3.5, 6.5)
        # signal per tissue
        fam = im["family"]
        te, tr, fa = im["te_ms"], im["tr_ms"], math.radians(im["flip_deg"])
        pd = np.array([t[1] for t in _TISSUES])
        t1 = np.array([t[2] for t in _TISSUES])
        t2 = np.array([t[3] for t in _TISSUES])
        ff = np.array([t[4] for t in _TISSUES])
        self.tex_amp = np.array([t[5] for t in _TISSUES], np.float32)
        t1f, t2f = 260.0, {"haste": 115.0, "pd": 110.0, "truefisp": 85.0, "t1gre": 60.0}[fam]

        def sig(t1_, t2_):
            if fam in ("haste", "pd"):
                return (1 - np.exp(-tr / t1_)) * np.exp(-te / t2_)
            if fam == "truefisp":
                return math.sin(fa) / (1 + math.cos(fa) + (1 - math.cos(fa)) * t1_ / t2_)
            e1 = np.exp(-tr / t1_)
            return math.sin(fa) * (1 - e1) / (1 - math.cos(fa) * e1) * np.exp(-te / (0.6 * t2_))

        jit = np.exp(rng.normal(0.0, im["tissue_jitter"], _NT))
        sw = pd * (1 - ff) * sig(t1, t2) * jit
        sf = pd * ff * sig(np.full(_NT, t1f), np.full(_NT, t2f)) * jit
        ves = _T["vessel"]
        sw[ves] *= {"haste": _u(rng, 0.03, 0.2), "pd": _u(rng, 0.1, 0.4),
                    "truefisp": _u(rng, 1.0, 1.6), "t1gre": _u(rng, 2.0, 4.0)}[fam]
        if im["fat_sat"]:
            sf *= im["fat_sat_residual"]
        scale = np.max(sw + sf)
        self.sw = (sw / scale).astype(np.float32)
        self.sf = (sf / scale).astype(np.float32)
        self.fat_phase = np.complex64(-1.0 if im["opposed_phase"] else 1.0)
        # static smooth fields on the fine grid
        self.tx = np.exp(im["transmit_bias"] * _smooth_field(rng, (self.Hf, self.Wf), 80 * px,
                                                             coarse=8)).astype(np.float32)
        ph = _smooth_field(rng, (self.Hf, self.Wf), 60 * px, coarse=8) * _u(rng, 0.5, 2.5)
        self.bg_phase = np.exp(1j * ph).astype(np.complex64)
        self.band = np.ones((self.Hf, self.Wf), np.float32)
        if im["banding"]:
            ry = (np.arange(self.Hf)[:, None] - _u(rng, 0.3, 0.7) * self.Hf) / self.Hf
            rx = (np.arange(self.Wf)[None, :] - _u(rng, 0.3, 0.7) * self.Wf) / self.Wf
            cyc = _u(rng, 0.8, 2.2) * (rx ** 2 + ry ** 2) + 0.15 * _smooth_field(
                rng, (self.Hf, self.Wf), 50 * px, coarse=8) + _u(rng, 0, 1)
            dcyc = np.abs(((cyc + 0.5) % 1.0) - 0.5)
            self.band = (1 - 0.9 * np.exp(-(dcyc / _u(rng, 0.02, 0.05)) ** 2)).astype(np.float32)
        # neighbouring slice for through-plane partial volume
        sh = im["pv_shift_mm"] * self.scale
        dxn = sh * _smooth_field(rng, (self.Hf, self.Wf), 40 * px, coarse=8)
        dyn = sh * _smooth_field(rng, (self.Hf, self.Wf), 40 * px, coarse=8)
        rr = np.clip(np.rint(np.arange(self.Hf)[:, None] + dyn / self.fr), 0, self.Hf - 1)
        cc = np.clip(np.rint(np.arange(self.Wf)[None, :] + dxn / self.fc), 0, self.Wf - 1)
        self.nb_idx = (rr.astype(np.int64) * self.Wf + cc.astype(np.int64)).ravel()
        # k-space sampling on the output matrix
        H, W = self.H, self.W
        pax = 1 if im["phase_dir"] == "AP" else 0
        npe, nro = (W, H) if pax == 1 else (H, W)
        kp = np.arange(npe) - npe // 2
        kr = np.arange(nro) - nro // 2
        nacq = int(round(im["acq_fraction"] * npe))
        mp = (kp >= -nacq // 2) & (kp < nacq // 2)
        nskip = int(round((1.0 - im["partial_fourier"]) * nacq / 2.0))
        if nskip > 0:
            if rng.random() < 0.5:
                mp &= kp >= -nacq // 2 + nskip
            else:
                mp &= kp < nacq // 2 - nskip
        nr_acq = int(round(im["ro_fraction"] * nro))
        mr = (kr >= -nr_acq // 2) & (kr < nr_acq // 2)
        wp, wr = mp.astype(np.float32), mr.astype(np.float32)
        if im["filter"] == "hamming":
            wp *= 0.54 + 0.46 * np.cos(np.pi * np.clip(kp / (nacq / 2), -1, 1))
            wr *= 0.54 + 0.46 * np.cos(np.pi * np.clip(kr / (nr_acq / 2), -1, 1))
        elif im["filter"] == "fermi":
            wp *= 1 / (1 + np.exp((np.abs(kp) - 0.85 * nacq / 2) / (0.04 * nacq / 2)))
            wr *= 1 / (1 + np.exp((np.abs(kr) - 0.85 * nr_acq / 2) / (0.04 * nr_acq / 2)))
        mask = np.outer(wr, wp) if pax == 1 else np.outer(wp, wr)
        if im["ghost"] == "nyquist":
            lines = (np.abs(kp) % 2 == 1).astype(np.float32)
            g = 1 + im["ghost_strength"] * lines * np.exp(1j * _u(rng, 0, 2 * np.pi))
            mask = mask * (g[None, :] if pax == 1 else g[:, None])
        elif im["ghost"] == "motion":
            ph_l = rng.normal(0, 4 * im["ghost_strength"], npe) * (rng.random(npe) < 0.35)
            g = np.exp(1j * ph_l)
            mask = mask * (g[None, :] if pax == 1 else g[:, None])
        self.kmask = np.fft.ifftshift(mask).astype(np.complex64)
        self.kpow = float(np.sum(np.abs(mask) ** 2))
        self.pax = pax
        # coils (output grid), anterior and posterior arrays
        nc = im["n_coils"]
        yy = np.arange(H)[:, None] * self.fr * 2
        xx = np.arange(W)[None, :] * self.fc * 2
        body_out = self.body[::2, ::2]
        cols_b = np.nonzero(body_out.any(0))[0]
        xa = (cols_b.min() if len(cols_b) else 0) * self.fc * 2
        xp = (cols_b.max() if len(cols_b) else W - 1) * self.fc * 2
        sens = []
        if nc == 1:
            sens.append(np.exp(0.25 * _smooth_field(rng, (H, W), 60 * px, coarse=8)).astype(
                np.complex64))
        else:
            for k in range(nc):
                front = k % 2 == 0
                cy = _u(rng, 0.2, 0.8) * H * self.fr * 2
                cx = (xa - _u(rng, 15, 40)) if front else (xp + _u(rng, 15, 40))
                r0 = _u(rng, 60, 140)
                mag = 1.0 / (1.0 + ((xx - cx) ** 2 + (yy - cy) ** 2) / r0 ** 2) ** 0.8
                phs = _u(rng, 0, 6.28) + _u(rng, -0.01, 0.01) * (xx + yy)
                sens.append((mag * np.exp(1j * phs)).astype(np.complex64))
        sens = np.array(sens)
        rss = np.sqrt(np.sum(np.abs(sens) ** 2, axis=0))
        norm = float(np.mean(rss[body_out])) if body_out.any() else float(np.mean(rss))
        self.sens = (sens / norm).astype(np.complex64)
        self.body_out = body_out
        self.shift_fat = int(im["chemical_shift_px"]) * (1 if rng.random() < 0.5 else -1)
        self.noise_sigma = None

    def render(self, tis, f):
        """Fine tissue map -> one magnitude frame on the output matrix."""
        warp = self._warp_now
        tex = self.tex1.ravel()[warp].reshape(self.Hf, self.Wf)
        amp = self.tex_amp[tis]
        mod = 1.0 + amp * tex
        w_img = self.sw[tis] * mod
        f_img = self.sf[tis] * mod
        pv = self.p["imaging"]["pv_weight"]
        if pv > 0:
            tnb = tis.ravel()[self.nb_idx].reshape(self.Hf, self.Wf)
            w_img = (1 - pv) * w_img + pv * self.sw[tnb]
            f_img = (1 - pv) * f_img + pv * self.sf[tnb]
        if self.shift_fat:
            f_img = np.roll(f_img, self.shift_fat, axis=1 - self.pax)
        x = (w_img + self.fat_phase * f_img) * (self.tx * self.band)
        x = x.astype(np.complex64) * self.bg_phase
        k = sfft.fft2(x, workers=1)
        H, W = self.H, self.W
        # crop the centre of the (unshifted) 2x spectrum = the output matrix
        rows = np.r_[0:(H + 1) // 2, 2 * H - H // 2:2 * H]
        cols = np.r_[0:(W + 1) // 2, 2 * W - W // 2:2 * W]
        kc = k[np.ix_(rows, cols)] / 4.0
        img = sfft.ifft2(kc * self.kmask, workers=1)
        coil = self.sens * img[None]
        if self.noise_sigma is None:
            ref = np.abs(img) * np.sqrt(np.sum(np.abs(self.sens) ** 2, axis=0))
            sref = float(np.median(ref[self.body_out])) if self.body_out.any() else float(
                np.median(ref))
            self.noise_sigma = sref / self.p["imaging"]["snr"]
        sk = self.noise_sigma * H * W / math.sqrt(max(self.kpow, 1.0))
        nc = coil.shape[0]
        nz = self.rng_noise.standard_normal((nc, H, W, 2), dtype=np.float32)
        nk = (nz[..., 0] + 1j * nz[..., 1]) * np.float32(sk / math.sqrt(2.0))
        noise = sfft.ifft2(nk * self.kmask[None], axes=(1, 2), workers=1)
        mag = np.sqrt(np.sum(np.abs(coil + noise) ** 2, axis=0))
        return mag.astype(np.float32)


def _truth_from_fine(labf: np.ndarray) -> np.ndarray:
    """Tent-weighted majority of the fine labels around each output pixel centre (2i, 2j)."""
    hf, wf = labf.shape
    pad = np.pad(labf, ((1, 1), (1, 1)), mode="edge")
    best = np.zeros((hf // 2, wf // 2), np.float32)
    out = np.zeros((hf // 2, wf // 2), np.uint8)
    wts = {(-1, -1): 1, (-1, 0): 2, (-1, 1): 1, (0, -1): 2, (0, 0): 4.01, (0, 1): 2,
           (1, -1): 1, (1, 0): 2, (1, 1): 1}
    for lab in range(4):
        acc = np.zeros((hf // 2, wf // 2), np.float32)
        for (dr, dc), wv in wts.items():
            acc += wv * (pad[1 + dr:1 + dr + hf:2, 1 + dc:1 + dc + wf:2] == lab)
        better = acc > best
        out[better] = lab
        best = np.maximum(best, acc)
    return out


def generate(seed: int, matrix=None, n_frames=None):
    """Render one case: (CineSeries, truth uint8 (T, H, W), params dict)."""
    params = sample_params(seed, matrix=matrix, n_frames=n_frames)
    case = _Case(params)
    n = params["n_frames"]
    frames = np.zeros((n, case.H, case.W), np.float32)
    truth = np.zeros((n, case.H, case.W), np.uint8)
    state: dict = {}
    for f in range(n):
        case._m_now = float(case.m[f])
        tis, labf = case.frame(f, state)
        lab = _truth_from_fine(labf)
        lab = _one_piece(lab, tis, labf)
        frames[f] = case.render(tis, f)
        truth[f] = lab
    im = params["imaging"]
    hi = float(np.percentile(frames[0], 99.5)) or 1.0
    frames *= im["intensity_max"] / hi
    if im["integer"]:
        frames = np.rint(frames)
    times = np.arange(n) * params["frame_interval_s"]
    tag = {"truefisp": "bssfp", "t1gre": "t1", "haste": "haste", "pd": "pd"}[im["family"]]
    meta = {"series_description": f"growth {im['sequence']} ({tag})",
            "orientation": "sagittal (canonical)", "subject_id": f"growth_{seed:03d}"}
    series = CineSeries(frames=frames.astype(np.float32), spacing_mm=tuple(params["spacing_mm"]),
                        times_s=times, meta=meta)
    return series, truth, params


def _one_piece(lab, tis, labf):
    """Keep the largest 8-connected piece of every organ (others become fat in both maps)."""
    for organ in (1, 2, 3):
        m = lab == organ
        pieces, n = ndimage.label(m, structure=np.ones((3, 3)))
        if n > 1:
            sizes = np.bincount(pieces.ravel())
            sizes[0] = 0
            drop = m & (pieces != int(np.argmax(sizes)))
            lab[drop] = 0
            big = np.repeat(np.repeat(drop, 2, 0), 2, 1)
            hit = big & (labf == organ)
            tis[hit] = _T["fat"]
            labf[hit] = 0
    return lab


def write_case(job) -> str:
    """Write <out>/growth_<seed>/ with series/ (DICOM), truth.npy and params.json."""
    seed, out = job
    series, truth, params = generate(int(seed))
    case_dir = Path(out) / f"{GENERATOR}_{int(seed):03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=int(seed),
                       patient_name=f"{GENERATOR.upper()}^{int(seed):03d}",
                       patient_id=f"{GENERATOR}_{int(seed):03d}",
                       slice_thickness_mm=params["imaging"]["slice_thickness_mm"])
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    t, h, w = truth.shape
    return (f"{case_dir.name}: {t} frames {h}x{w} {params['imaging']['sequence']} "
            f"{params['motion']['maneuver']} hysterectomy={params['hysterectomy']}")


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
