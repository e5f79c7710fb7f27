"""Texture-rich synthetic dynamic pelvic-floor MRI with harmonic (Laplace) tissue motion.

How a case is made
------------------
1. ``draw_params`` draws everything random of a case from ``np.random.default_rng(seed)``:
   matrix, spacing, frame count and interval, sequence family (T2 HASTE, bSSFP, T1 GRE,
   PD TSE, with or without fat saturation), anatomy knobs (tilt, body size, fat thickness,
   bladder filling, uterine version / size / fibroids, hysterectomy, laxity, rectal and
   vaginal content, bowel loops) and the manoeuvre.  It is cheap (no rendering).
2. Anatomy is laid out in a body frame (u mm towards the back, v mm towards the feet, origin
   near the lower pubic symphysis): closed smooth curves (periodic cubic splines and Fourier
   contours) for the body outline, symphysis, vertebral bodies, bladder, bowel loops and
   fibroids; swept-disc tubes (a smooth centre line with a radius profile) for the vagina,
   uterus/cervix, rectum/sigmoid, urethra, vessels and the muscles.  Positions come from an
   anatomical layout with per-case variation and simple collision rules (the uterus is
   turned until it no longer cuts deeply into the bladder, rectum or sacrum).
3. The rest frame is painted on a 2x supersampled grid with explicit priority (fat, muscles,
   bowel, vessels, bladder, rectum, uterus/vagina, bones last), so labels are exclusive.
   Every tissue gets its own synthesised texture: random-phase noise with a tissue-specific
   power spectrum (fat lobules with septa and Scarpa's fascia, muscle fibres following a
   direction field along each muscle, marrow with cortical rims, feathery small-bowel folds
   with gas/fluid levels, stool with bubbles, zonal uterus with whorled fibroids and
   nabothian cysts, bladder wall trabeculation and ureteric jets).
4. Contrast: per-case random tissue levels of the sequence family, water and fat parts
   (fat saturation, chemical-shift displacement, bSSFP/GRE India-ink at fat-water borders),
   averaging to the output grid (partial volume).
5. Motion: forward displacements are prescribed on the organs for each mode (Valsalva
   descent with cystocele, uterine prolapse, rectocele and anorectal-angle opening; squeeze
   lift; defecation emptying of the rectum through an opening anal canal; breathing at the
   top edge); bones are held fixed.  Each mode is interpolated harmonically (cascadic
   multigrid Jacobi iterations of the Laplace equation on a ~4 mm grid), modes are mixed by
   a per-case time curve (ramp, hold, release, repeats; coughs), inverted to a backward map
   and upsampled.  Image (linear) and labels (nearest neighbour) are warped by the same map.
6. Acquisition per frame: k-space truncation (blur, Gibbs ringing), bSSFP banding, smooth
   receive-coil bias brighter near the anterior and posterior coils, occasional ghosting,
   non-central chi noise from 1-8 coils (SNR 4-40), arbitrary global scale.

Orientation: mid-sagittal slice, row 0 cranial (head), rows run towards the feet; column 0
anterior (belly), the last column posterior (back).

Labels (uint8): 0 background; 1 bladder (wall + urine, down to the bladder neck, urethra
not labelled); 2 uterus_vagina (uterine body with zonal anatomy and fibroids including
subserosal ones, cervix, vagina walls + lumen/gel down to the introitus at the skin; after
hysterectomy the vagina only, closed by a rounded cuff); 3 rectum (rectum and anal canal,
wall + content, from a cut perpendicular to the bowel axis at the rectosigmoid junction
near S3 down to the anal verge; sigmoid and external sphincter not labelled).  Bones never
carry a label.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.interpolate import CubicSpline
from skimage.draw import polygon as draw_polygon
from skimage.measure import points_in_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "texture"
SS = 2  # supersampling factor of the rest-frame painting
SEQUENCES = ("t2_haste", "bssfp", "t1_gre", "pd_tse")
MANEUVERS = ("valsalva", "defecation", "rest_squeeze_valsalva", "squeeze", "cough")
SEQ_INDEX = {name: i for i, name in enumerate(SEQUENCES)}

# appearance class: (levels for t2_haste, bssfp, t1_gre, pd_tse), fat fraction
APPEAR: dict[str, tuple[tuple[float, float, float, float], float]] = {
    "air": ((0.0, 0.0, 0.0, 0.0), 0.0),
    "skin": ((0.35, 0.40, 0.50, 0.55), 0.0),
    "fat": ((0.72, 0.85, 0.95, 0.85), 1.0),
    "fascia": ((0.12, 0.15, 0.25, 0.30), 0.0),
    "muscle": ((0.16, 0.22, 0.36, 0.36), 0.0),
    "marrow": ((0.50, 0.55, 0.75, 0.70), 0.6),
    "cortex": ((0.03, 0.04, 0.05, 0.05), 0.0),
    "disc": ((0.25, 0.30, 0.30, 0.35), 0.0),
    "nucleus": ((0.70, 0.60, 0.25, 0.55), 0.0),
    "csf": ((1.00, 1.00, 0.10, 0.70), 0.0),
    "bowel_wall": ((0.30, 0.32, 0.42, 0.45), 0.0),
    "fluid": ((0.92, 0.95, 0.10, 0.68), 0.0),
    "chyme": ((0.50, 0.55, 0.30, 0.50), 0.0),
    "gas": ((0.01, 0.01, 0.01, 0.01), 0.0),
    "feces": ((0.38, 0.45, 0.55, 0.50), 0.1),
    "artery": ((0.05, 0.85, 0.70, 0.15), 0.0),
    "vein": ((0.60, 0.90, 0.40, 0.40), 0.0),
    "mucosa": ((0.45, 0.45, 0.40, 0.50), 0.0),
    "bladder_wall": ((0.20, 0.25, 0.35, 0.40), 0.0),
    "urine": ((1.00, 1.00, 0.07, 0.70), 0.0),
    "jet": ((0.72, 1.05, 0.25, 0.60), 0.0),
    "myometrium": ((0.50, 0.45, 0.38, 0.55), 0.0),
    "jz": ((0.20, 0.30, 0.34, 0.40), 0.0),
    "endometrium": ((0.82, 0.62, 0.32, 0.62), 0.0),
    "cervix": ((0.17, 0.26, 0.35, 0.40), 0.0),
    "fibroid": ((0.14, 0.25, 0.34, 0.36), 0.0),
    "vag_wall": ((0.32, 0.35, 0.38, 0.45), 0.0),
    "mucus": ((0.80, 0.75, 0.20, 0.60), 0.0),
    "gel": ((0.90, 0.92, 0.15, 0.66), 0.0),
    "sphincter_int": ((0.28, 0.30, 0.38, 0.42), 0.0),
    "ligament": ((0.08, 0.12, 0.20, 0.22), 0.0),
}
# tissue id -> (name, appearance class, label)
TISSUES: tuple[tuple[str, str, int], ...] = (
    ("air", "air", 0), ("skin", "skin", 0), ("fat", "fat", 0), ("fascia", "fascia", 0),
    ("muscle", "muscle", 0), ("marrow", "marrow", 0), ("cortex", "cortex", 0),
    ("disc", "disc", 0), ("nucleus", "nucleus", 0), ("csf", "csf", 0),
    ("bowel_wall", "bowel_wall", 0), ("bowel_fluid", "fluid", 0), ("chyme", "chyme", 0),
    ("gas", "gas", 0), ("feces", "feces", 0), ("artery", "artery", 0), ("vein", "vein", 0),
    ("free_fluid", "fluid", 0), ("urethra_lumen", "mucosa", 0), ("ligament", "ligament", 0),
    ("bladder_wall", "bladder_wall", 1), ("urine", "urine", 1), ("jet", "jet", 1),
    ("myometrium", "myometrium", 2), ("jz", "jz", 2), ("endometrium", "endometrium", 2),
    ("cervix", "cervix", 2), ("fibroid", "fibroid", 2), ("nabothian", "fluid", 2),
    ("vag_wall", "vag_wall", 2), ("vag_lumen", "mucus", 2), ("vag_gel", "gel", 2),
    ("rect_wall", "bowel_wall", 3), ("rect_mucosa", "mucosa", 3), ("rect_stool", "feces", 3),
    ("rect_gas", "gas", 3), ("rect_gel", "gel", 3), ("anal", "sphincter_int", 3),
)
T = {name: i for i, (name, _, _) in enumerate(TISSUES)}
TISSUE_LABEL = np.array([lab for _, _, lab in TISSUES], np.uint8)
APPEAR_NAMES = tuple(APPEAR)
TISSUE_APPEAR = np.array([APPEAR_NAMES.index(a) for _, a, _ in TISSUES], np.int64)
# texture recipe per appearance class: (noise field, amplitude)
TEXTURE: dict[str, tuple[tuple[str, float], ...]] = {
    "skin": (("fine", 0.08),),
    "fat": (("fine", 0.04),),
    "muscle": (("fibre", 0.13), ("fine", 0.04)),
    "marrow": (("medium", 0.12), ("small", 0.09)),
    "disc": (("small", 0.06),), "nucleus": (("small", 0.05),), "csf": (("coarse", 0.03),),
    "bowel_wall": (("small", 0.10),), "fluid": (("coarse", 0.02),),
    "chyme": (("medium", 0.20), ("small", 0.10)), "feces": (("small", 0.25), ("medium", 0.15)),
    "urine": (("coarse", 0.015),), "myometrium": (("small", 0.07), ("medium", 0.05)),
    "jz": (("small", 0.06),), "endometrium": (("small", 0.06),), "cervix": (("small", 0.08),),
    "fibroid": (("small", 0.06),), "vag_wall": (("small", 0.10),), "mucosa": (("small", 0.10),),
    "sphincter_int": (("small", 0.08),), "gel": (("coarse", 0.02),), "mucus": (("small", 0.05),),
    "vein": (("small", 0.1),), "artery": (("small", 0.05),), "ligament": (("fine", 0.05),),
}


# ----------------------------------------------------------------------------- parameters
def draw_params(seed: int, matrix=None, n_frames=None) -> dict:
    """All random choices of a case (no rendering): the cheap parameter-only path."""
    rng = np.random.default_rng(seed)
    h0, w0 = (int(x) for x in rng.integers(224, 289, 2))
    sp0 = float(rng.uniform(1.1, 1.5))
    t0 = int(rng.integers(20, 41))
    dt = float(rng.uniform(0.5, 2.0))
    fov = (h0 * sp0, w0 * sp0)
    if matrix is None:
        h, w = h0, w0
    elif np.isscalar(matrix):
        h = w = int(matrix)
    else:
        h, w = (int(x) for x in matrix)
    n_t = t0 if n_frames is None else int(n_frames)
    seq = str(rng.choice(SEQUENCES, p=[0.4, 0.3, 0.15, 0.15]))
    fatsat = bool(rng.random() < {"t2_haste": 0.25, "bssfp": 0.1, "t1_gre": 0.4,
                                   "pd_tse": 0.3}[seq])
    hyst = bool(rng.random() < 0.2)
    nullip = bool(rng.random() < 0.35)
    laxity = float(rng.uniform(0.0, 0.35) if nullip else rng.uniform(0.25, 1.0))
    maneuver = str(rng.choice(MANEUVERS, p=[0.35, 0.2, 0.2, 0.1, 0.15]))
    rect_p = [0.3, 0.15, 0.35, 0.2] if maneuver != "defecation" else [0.1, 0.1, 0.3, 0.5]
    anatomy = {
        "tilt_deg": float(rng.uniform(-15, 15)),
        "body_scale": float(rng.uniform(0.88, 1.12)),
        "fat_mm": float(rng.uniform(8, 45)),
        "parity": "nulliparous" if nullip else "multiparous",
        "laxity": laxity,
        "bladder_fill": float(np.clip(rng.beta(1.3, 1.3), 0.03, 1.0)),
        "version": "none" if hyst else str(rng.choice(["anteverted", "retroverted"],
                                                      p=[0.75, 0.25])),
        "version_deg": float(rng.uniform(70, 130)),
        "retro_deg": float(rng.uniform(20, 55)),
        "uterus_length_mm": float(rng.uniform(45, 60) + (0 if nullip else 6)),
        "uterus_radius_mm": float(rng.uniform(16, 23)),
        "cervix_length_mm": float(rng.uniform(24, 34)),
        "endometrium_mm": float(rng.uniform(1.0, 6.0)),
        "n_fibroids": 0 if hyst else int(rng.choice([0, 0, 0, 1, 1, 2, 3])),
        "n_nabothian": 0 if hyst else int(rng.integers(0, 5)),
        "vaginal_gel": bool(rng.random() < 0.3),
        "rectal_content": str(rng.choice(["empty", "gas", "stool", "gel"], p=rect_p)),
        "n_bowel_loops": int(rng.integers(14, 31)),
        "n_sigmoid_loops": int(rng.integers(1, 4)),
        "free_fluid": bool(rng.random() < 0.3),
        "bladder_trabeculation": bool(rng.random() < 0.25),
        "ureteric_jet": bool(rng.random() < 0.3),
        "sacral_curvature": float(rng.uniform(0.75, 1.25)),
        "vaginal_angle_deg": float(rng.uniform(24, 40)),
    }
    imaging = {
        "sequence": seq,
        "fat_saturation": fatsat,
        "snr": float(np.exp(rng.uniform(np.log(4), np.log(40)))),
        "n_coils": int(rng.choice([1, 2, 4, 8])),
        "bias_strength": float(rng.uniform(0.3, 1.2)),
        "bias_length_mm": float(rng.uniform(50, 130)),
        "ghosting": float(rng.uniform(0.03, 0.12)) if rng.random() < 0.35 else 0.0,
        "kspace_fraction": [float(rng.uniform(0.8, 1.0)), float(rng.uniform(0.55, 0.95))],
        "chemical_shift_px": float(rng.uniform(-1.5, 1.5)),
        "banding": bool(seq == "bssfp" and rng.random() < 0.8),
        "ink_lines": bool(seq in ("bssfp", "t1_gre") and rng.random() < 0.7),
        "global_scale": float(np.exp(rng.uniform(np.log(80), np.log(4000)))),
        "integer_values": bool(rng.random() < 0.5),
        "slice_thickness_mm": float(rng.uniform(5.0, 10.0)),
        "level_jitter_seed": int(rng.integers(0, 2**31)),
    }
    sp = (fov[0] / h, fov[1] / w)
    return {
        "generator": GENERATOR, "seed": int(seed), "matrix": [h, w],
        "spacing_mm": [float(sp[0]), float(sp[1])], "fov_mm": [float(fov[0]), float(fov[1])],
        "n_frames": n_t, "frame_interval_s": dt, "hysterectomy": hyst,
        "imaging": imaging, "motion": {"maneuver": maneuver}, "anatomy": anatomy,
    }


# ----------------------------------------------------------------------------- geometry
def _unit(v):
    v = np.asarray(v, float)
    return v / max(np.hypot(v[0], v[1]), 1e-9)


def _rot(v, deg):
    """Rotate a body-frame vector; positive turns +v (caudal) towards -u (anterior)."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def closed_curve(pts, n=160):
    """Periodic cubic spline through the control points (chord-length parameter)."""
    p = np.asarray(pts, float)
    p = np.vstack([p, p[:1]])
    d = np.r_[0.0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
    cs = CubicSpline(d, p, bc_type="periodic")
    return cs(np.linspace(0.0, d[-1], n, endpoint=False))


def open_curve(pts, n=48):
    """Smooth open curve through control points and its arc-length fraction of each point."""
    p = np.asarray(pts, float)
    d = np.r_[0.0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
    cs = CubicSpline(d, p, bc_type="natural")
    s = np.linspace(0.0, d[-1], n)
    return cs(s), d / d[-1]


def fourier_contour(rng, center, a, b, angle_deg, n=96, rough=0.08, harmonics=4):
    """Closed Fourier contour: an ellipse with random low harmonics of the radius."""
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 2 + harmonics):
        r += rough / k * (rng.normal() * np.cos(k * phi) + rng.normal() * np.sin(k * phi))
    x, y = a * r * np.cos(phi), b * r * np.sin(phi)
    ang = math.radians(angle_deg)
    c, s = math.cos(ang), math.sin(ang)
    return np.stack([center[0] + c * x - s * y, center[1] + s * x + c * y], 1)


class Tube:
    """Swept-disc tube: smooth centre line (body mm) with a radius profile."""

    def __init__(self, ctrl, radii, n=48):
        self.pts, frac = open_curve(ctrl, n)
        s = np.r_[0.0, np.cumsum(np.hypot(*np.diff(self.pts, axis=0).T))]
        self.r = np.interp(s / s[-1], frac, np.asarray(radii, float))
        self.length = float(s[-1])

    def at(self, t):
        i = np.clip(t, 0, 1) * (len(self.pts) - 1)
        k = int(min(math.floor(i), len(self.pts) - 2))
        w = i - k
        p = self.pts[k] * (1 - w) + self.pts[k + 1] * w
        tan = _unit(self.pts[k + 1] - self.pts[k])
        return p, tan, float(self.r[k] * (1 - w) + self.r[k + 1] * w)


def tube_query(tube: Tube, u, v):
    """Nearest-centre-line quantities of points (u, v): q = dist / radius, t, side, tangent."""
    a, b = tube.pts[:-1], tube.pts[1:]
    ab = b - a
    l2 = np.maximum((ab**2).sum(1), 1e-9)
    out_q = np.empty(u.size)
    out_t = np.empty(u.size)
    out_side = np.empty(u.size)
    out_k = np.empty(u.size, np.int64)
    out_d = np.empty(u.size)
    n = len(tube.pts)
    for c0 in range(0, u.size, 8192):
        pu = u[c0:c0 + 8192, None] - a[None, :, 0]
        pv = v[c0:c0 + 8192, None] - a[None, :, 1]
        s = np.clip((pu * ab[:, 0] + pv * ab[:, 1]) / l2, 0, 1)
        du, dv = pu - s * ab[:, 0], pv - s * ab[:, 1]
        d = np.hypot(du, dv)
        rr = tube.r[:-1] + s * (tube.r[1:] - tube.r[:-1])
        q = d / rr
        k = np.argmin(q, 1)
        idx = np.arange(len(k))
        out_q[c0:c0 + 8192] = q[idx, k]
        out_d[c0:c0 + 8192] = d[idx, k]
        out_t[c0:c0 + 8192] = (k + s[idx, k]) / (n - 1)
        cross = ab[k, 0] * pv[idx, k] - ab[k, 1] * pu[idx, k]
        out_side[c0:c0 + 8192] = np.sign(cross)
        out_k[c0:c0 + 8192] = k
    ang = np.arctan2(ab[out_k, 1], ab[out_k, 0])
    return out_q, out_t, out_side, ang, out_d


def build_anatomy(p: dict, rng: np.random.Generator) -> dict:
    """Body-frame geometry (u posterior mm, v caudal mm) of one case."""
    an = p["anatomy"]
    hyst = p["hysterectomy"]
    g: dict = {}
    j = lambda s: rng.normal(0, s, 2)  # noqa: E731
    # --- symphysis
    sy_c = np.array([-22.0, -12.0]) + j(2)
    sy_a, sy_b = rng.uniform(21, 25), rng.uniform(7.5, 9.5)
    sy_phi = rng.uniform(28, 42)
    sy_dir = np.array([math.sin(math.radians(sy_phi)), math.cos(math.radians(sy_phi))])
    g["symphysis"] = fourier_contour(rng, sy_c, sy_a, sy_b, 90 - sy_phi, rough=0.05)
    sy_top, sy_bot = sy_c - sy_a * sy_dir, sy_c + sy_a * sy_dir
    g["sy_top"], g["sy_bot"], g["sy_c"] = sy_top, sy_bot, sy_c
    # --- spine: vertebral centres, heights and AP widths
    kappa = an["sacral_curvature"]
    centres = np.array([[50, -268], [50, -231], [52, -194], [57, -157], [72, -126], [88, -110],
                        [99, -93], [106, -76], [108, -61], [106, -49], [102, -40], [96, -33]],
                       float)
    chord0, chord1 = centres[4], centres[-1]
    for i in range(5, 12):  # sacral concavity
        f = (i - 4) / 7
        lin = chord0 * (1 - f) + chord1 * f
        centres[i] = lin + kappa * (centres[i] - lin)
    centres += j(1.5)
    heights = np.array([27, 27, 27, 27, 26, 22, 20, 17, 14, 11, 9, 8], float)
    widths = np.array([38, 38, 38, 38, 40, 32, 25, 19, 15, 12, 10, 8], float)
    widths *= rng.uniform(0.92, 1.08)
    g["vert_c"], g["vert_h"], g["vert_w"] = centres, heights, widths
    tang = np.gradient(centres, axis=0)
    tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
    post = np.stack([tang[:, 1], -tang[:, 0]], 1)  # points posteriorly (u > 0)
    post *= np.sign(post[:, :1])
    g["vert_t"], g["vert_post"] = tang, post
    ant_surface = centres - post * widths[:, None] / 2
    g["spine_ant"] = ant_surface
    coccyx_tip = ant_surface[-1] + tang[-1] * 4
    g["coccyx_tip"] = coccyx_tip
    # --- vagina (introitus -> fornix / cuff)
    intro = np.array([sy_bot[0] + 26, sy_bot[1] + 25]) + j(2)
    a1 = math.radians(rng.uniform(8, 20))
    a2 = math.radians(an["vaginal_angle_deg"])
    d1 = np.array([math.sin(a1), -math.cos(a1)])
    d2 = np.array([math.sin(a2), -math.cos(a2)])
    l_low, l_up = rng.uniform(28, 36), rng.uniform(40, 52)
    if hyst:
        l_up *= rng.uniform(0.55, 0.8)
    mid = intro + l_low * d1
    fornix = mid + l_up * d2
    gel = an["vaginal_gel"]
    rv_low = rng.uniform(6, 8) + (2.5 if gel else 0)
    rv_up = rng.uniform(7, 9.5) + (6 if gel else 0)
    g["vagina"] = Tube([intro - d1 * 4, mid, fornix], [rv_low * 0.85, rv_low, rv_up])
    g["vag_dirs"] = (d1, d2)
    g["intro"], g["fornix"] = intro, fornix
    # --- urethra and bladder neck
    neck = np.array([sy_c[0] + 28, sy_c[1] + 4]) + j(1.5)
    meatus = np.array([intro[0] - rng.uniform(8, 12), intro[1] - 1])
    g["urethra"] = Tube([neck, (neck + meatus) / 2 + [1.5, 0], meatus + [0.5, 4]],
                        [4.5, 5.5, 4])
    g["neck"] = neck
    # --- bladder (closed spline through layout points depending on filling)
    f = an["bladder_fill"]
    vt = g["vagina"]
    base_pts = []
    for t in (0.38, 0.55, 0.72, 0.88):
        c, tan, r = vt.at(t)
        ant = np.array([tan[1], -tan[0]])
        ant *= -np.sign(ant[0]) if ant[0] != 0 else 1
        q = c + ant * (r + 3.0)
        if q[1] < neck[1] - 4:
            base_pts.append(q)
    base_top = base_pts[-1] if base_pts else neck + [10, -10]
    ps = base_top + np.array([-4 + 8 * f, -14 - 40 * f])
    dome = np.array([-6 + 6 * f, sy_top[1] - 12 - 100 * f]) + j(3)
    ant_pt = np.array([sy_top[0] + 4 - 4 * f, sy_top[1] - 4 - 55 * f])
    ai = np.array([sy_top[0] + 17, sy_top[1] + 5])
    an_pt = (ai + neck) / 2 + np.array([3, 0])
    bl_ctrl = [neck, *base_pts, ps, (ps + dome) / 2 + np.array([8, -8]) * (0.4 + f),
               dome, (dome + ant_pt) / 2 + np.array([-6, -6]) * (0.3 + f), ant_pt, ai, an_pt]
    g["bladder"] = closed_curve(bl_ctrl, 200)
    g["bladder_base"] = base_pts[0] if base_pts else neck
    # --- uterus / cervix (turned until it no longer cuts deeply into bladder or sacrum)
    ant_sac = ant_surface[4:]
    if not hyst:
        ext_os = fornix - d2 * rng.uniform(3, 7)
        dc = _rot(d2, -6)
        lc = an["cervix_length_mm"]
        io = ext_os + lc * dc
        g["ext_os"], g["int_os"] = ext_os, io
        ru = an["uterus_radius_mm"]
        lb = an["uterus_length_mm"]
        rc = rng.uniform(11, 14)
        want = an["version_deg"] if an["version"] == "anteverted" else -an["retro_deg"]
        best = None
        for step in range(40):
            psi = want - math.copysign(4 * step, want)
            if want * psi < 0:
                psi = 0.0
            db1 = _rot(dc, -psi * 0.5)  # anteversion turns the body anteriorly
            db2 = _rot(dc, -psi)
            p1 = io + db1 * lb * 0.45
            p2 = p1 + db2 * lb * 0.55
            tube = Tube([ext_os - dc * 2, io, p1, p2], [rc, rc * 1.05, ru, ru * 0.75])
            bad = _uterus_bad(tube, lc, g["bladder"], ant_sac)
            if best is None or bad < best[2]:
                best = (tube, float(psi), bad)
            if bad == 0:
                break
        g["uterus"], g["version_final_deg"] = best[:2]
    # --- rectum, anal canal and sigmoid continuation
    content = an["rectal_content"]
    rr = {"empty": rng.uniform(7, 10), "gas": rng.uniform(12, 18), "stool": rng.uniform(12, 20),
          "gel": rng.uniform(17, 24)}[content]
    arj = np.array([mid[0] + 26, mid[1] + 4]) + j(2)
    anal_dir = _unit(np.array([rng.uniform(0.55, 0.85), 1.0]))
    verge = arj + anal_dir * rng.uniform(32, 40)
    ctrl = [verge + anal_dir * 5, arj + anal_dir * 12, arj]
    radii = [6.5, 6.5, 8.5]
    gaps = rng.uniform(3, 8, 3)
    for k, gap, fr in zip((8, 7, 6), gaps, (0.85, 1.0, 0.8), strict=True):
        r_k = max(rr * fr, 7.0)
        ctrl.append(ant_surface[k] - post[k] * (gap + r_k))
        radii.append(r_k)
    rs = ctrl[5].copy()
    sig1 = rs + np.array([-8, -22]) + j(3)
    sig2 = sig1 + np.array([-22, -12]) + j(4)
    ctrl += [sig1, sig2]
    radii += [rr * 0.75, rr * 0.7]
    ctrl = [np.asarray(c, float) for c in ctrl]
    others = [g["vagina"]] + ([g["uterus"]] if "uterus" in g else [])
    for i in range(2, 6):  # keep clear of vagina / cervix, but in front of the sacrum
        for _ in range(12):
            clear = min(float(np.min(np.hypot(*(o.pts - ctrl[i]).T) - o.r)) for o in others)
            if clear >= radii[i] + 3:
                break
            room = float(np.min(np.hypot(*(ant_sac - ctrl[i]).T)))
            if room > radii[i] + 3:
                ctrl[i] = ctrl[i] + np.array([2.0, 0.5])
            elif radii[i] > 6.0:
                radii[i] *= 0.9
            else:
                break
    g["rectum"] = Tube(ctrl, radii, n=64)
    g["rect_content"] = content
    g["rect_cut_pt"] = ctrl[5]
    g["arj"], g["verge"] = ctrl[2], verge
    pts = g["rectum"].pts
    g["rect_cut_t"] = float(np.argmin(np.hypot(*(pts - ctrl[5]).T)) / (len(pts) - 1))
    g["anal_t"] = float(np.argmin(np.hypot(*(pts - ctrl[2]).T)) / (len(pts) - 1))
    return g


def _uterus_bad(tube: Tube, lc, bl_poly, sacrum_pts) -> int:
    core = []
    k0 = int(len(tube.pts) * min(lc / tube.length, 0.6))
    for k in range(k0, len(tube.pts), 3):
        c, r = tube.pts[k], tube.r[k]
        for a in np.linspace(0, 2 * np.pi, 12, endpoint=False):
            core.append(c + 0.8 * r * np.array([math.cos(a), math.sin(a)]))
    bad = int(points_in_poly(np.array(core), bl_poly).sum())
    for c, r in zip(tube.pts[::3], tube.r[::3], strict=True):
        bad += int(np.min(np.hypot(*(sacrum_pts - c).T)) < r + 6)
    return bad


def body_outline(g: dict, fat: float) -> np.ndarray:
    """Closed skin curve of the body (body frame), given subcutaneous fat thickness."""
    vc, vw, post = g["vert_c"], g["vert_w"], g["vert_post"]
    sy_top, sy_c, sy_bot = g["sy_top"], g["sy_c"], g["sy_bot"]
    rect = g["rectus"]
    intro, verge = g["intro"], g["verge"]
    pts = []
    pts.append([rect.pts[-1, 0] - 7 - fat, -520])
    for t in (0.95, 0.7, 0.45, 0.22):
        c, _, r = rect.at(t)
        pts.append([c[0] - r - fat, c[1]])
    pts.append([sy_top[0] - 8 - fat * 0.9, sy_top[1] + 4])
    pts.append([sy_c[0] - 12 - fat * 0.8, sy_c[1] + 14])
    pts.append([sy_bot[0] - 6 - fat * 0.4, sy_bot[1] + 16])
    pts.append([intro[0] - 12, intro[1] + 3])
    pts.append([intro[0] + 1, intro[1] + 4.5])
    mid = (intro + verge) / 2
    pts.append([mid[0], max(intro[1], verge[1]) + 5])
    pts.append([verge[0] + 1, verge[1] + 2.5])
    pts.append([verge[0] + 16, verge[1] - 1])
    ct = g["coccyx_tip"]
    pts.append([ct[0] + 30 + fat * 0.6, ct[1] + 22])
    depths = {9: 40, 7: 46, 5: 54, 4: 62, 3: 72, 2: 78, 1: 78, 0: 78}
    for k in (9, 7, 5, 4, 3, 2, 1, 0):
        depth = depths[k]
        q = vc[k] + post[k] * (vw[k] / 2 + depth + fat)
        pts.append(q)
    pts.append([pts[-1][0] + 4, -520])
    return closed_curve(pts, 300)


# ----------------------------------------------------------------------------- canvas
class Canvas:
    """Rest-frame painter on the supersampled grid (tissue ids + multiplicative texture)."""

    def __init__(self, p: dict, fit: dict):
        self.h, self.w = p["matrix"]
        self.sr, self.sc = p["spacing_mm"]
        self.H, self.W = self.h * SS, self.w * SS
        self.s, self.th = fit["scale"], math.radians(fit["tilt_deg"])
        self.o = np.array(fit["origin_mm"])  # image mm (x, y) of the body origin
        ii = (np.arange(self.H) + 0.5) / SS - 0.5
        jj = (np.arange(self.W) + 0.5) / SS - 0.5
        y = ii[:, None] * self.sr
        x = jj[None, :] * self.sc
        self.U, self.V = self.to_body(np.broadcast_to(x, (self.H, self.W)),
                                      np.broadcast_to(y, (self.H, self.W)))
        self.tid = np.zeros((self.H, self.W), np.uint8)
        self.mod = np.ones((self.H, self.W), np.float32)
        self.ang = np.zeros((self.H, self.W), np.float32)  # fibre angle (image frame)
        self.px_mm = min(self.sr, self.sc) / SS / self.s  # body mm per subpixel

    def to_img(self, u, v):
        c, s = math.cos(self.th), math.sin(self.th)
        x = self.o[0] + self.s * (c * u - s * v)
        y = self.o[1] + self.s * (s * u + c * v)
        return x, y

    def to_body(self, x, y):
        c, s = math.cos(self.th), math.sin(self.th)
        dx, dy = (x - self.o[0]) / self.s, (y - self.o[1]) / self.s
        return c * dx + s * dy, -s * dx + c * dy

    def vec_img(self, du, dv):
        c, s = math.cos(self.th), math.sin(self.th)
        return self.s * (c * du - s * dv), self.s * (s * du + c * dv)

    def to_sub(self, pts):
        x, y = self.to_img(pts[:, 0], pts[:, 1])
        return (y / self.sr + 0.5) * SS - 0.5, (x / self.sc + 0.5) * SS - 0.5

    def poly(self, pts) -> np.ndarray:
        r, c = self.to_sub(np.asarray(pts, float))
        m = np.zeros((self.H, self.W), bool)
        rr, cc = draw_polygon(r, c, (self.H, self.W))
        m[rr, cc] = True
        return m

    def tube(self, tube: Tube, pad: float = 0.0):
        """Bounding-box slices and per-pixel (q, t, side, image angle, dist) of a tube."""
        r, c = self.to_sub(tube.pts)
        m = (tube.r.max() + pad) * self.s / (min(self.sr, self.sc) / SS) + 2
        r0, r1 = int(max(0, r.min() - m)), int(min(self.H, r.max() + m + 1))
        c0, c1 = int(max(0, c.min() - m)), int(min(self.W, c.max() + m + 1))
        if r1 <= r0 or c1 <= c0:
            return None
        sl = (slice(r0, r1), slice(c0, c1))
        u, v = self.U[sl].ravel(), self.V[sl].ravel()
        q, t, side, ang, d = tube_query(tube, u, v)
        shp = (r1 - r0, c1 - c0)
        du, dv = np.cos(ang), np.sin(ang)
        x, y = self.vec_img(du, dv)
        ia = np.arctan2(y, x)
        return sl, q.reshape(shp), t.reshape(shp), side.reshape(shp), ia.reshape(shp), \
            d.reshape(shp)

    def paint(self, mask, tissue, sl=None, mod=None, ang=None):
        if sl is None:
            sl = (slice(None), slice(None))
        tid, md, an = self.tid[sl], self.mod[sl], self.ang[sl]
        tid[mask] = T[tissue]
        md[mask] = 1.0 if mod is None else (mod[mask] if np.ndim(mod) else mod)
        if ang is not None:
            an[mask] = ang[mask]

    def paint_tube(self, tube, tissue, qmax=1.0, fibre=False, mask_extra=None):
        res = self.tube(tube)
        if res is None:
            return None
        sl, q, t, side, ia, d = res
        m = q < qmax
        if mask_extra is not None:
            m &= mask_extra[sl]
        self.paint(m, tissue, sl, ang=ia if fibre else None)
        return res


def spectral_noise(rng, shape, px_mm, scale_mm, band=0.45, aniso=1.0, angle=0.0):
    """Random-phase noise with a log-normal band-pass power spectrum (unit std)."""
    h, w = shape
    ky = np.fft.fftfreq(h, d=px_mm)[:, None]
    kx = np.fft.rfftfreq(w, d=px_mm)[None, :]
    c, s = math.cos(angle), math.sin(angle)
    kpar = kx * c + ky * s
    kper = -kx * s + ky * c
    kk = np.sqrt((kpar * aniso) ** 2 + kper**2)
    kk[0, 0] = 1e-9
    amp = np.exp(-0.5 * (np.log(kk * scale_mm) / band) ** 2)
    amp[0, 0] = 0.0
    phase = rng.uniform(0, 2 * np.pi, amp.shape)
    out = np.fft.irfft2(amp * np.exp(1j * phase), s=(h, w))
    return (out / max(out.std(), 1e-12)).astype(np.float32)


# ----------------------------------------------------------------------------- layout fit
def fit_layout(p: dict, g: dict, rng: np.random.Generator) -> dict:
    """Body scale, fat, tilt and origin such that the pelvis and body fit the field of view."""
    an = p["anatomy"]
    fov_h, fov_w = p["fov_mm"]
    s, fat = an["body_scale"], an["fat_mm"]
    th = math.radians(an["tilt_deg"])
    pivot = np.array([30.0, -60.0])
    top_needed = min(g["bladder"][:, 1].min(), g["vert_c"][4, 1] - 20)
    if "uterus" in g:
        top_needed = min(top_needed, (g["uterus"].pts[:, 1] - g["uterus"].r).min())
    top_needed -= 15
    mb = rng.uniform(0.05, 0.2)
    mx = rng.uniform(0.15, 0.85)
    for _ in range(60):
        g["rectus"] = _rectus(g, s)
        outline = body_outline(g, fat)
        c, si = math.cos(th), math.sin(th)
        rel = outline - pivot
        x = s * (c * rel[:, 0] - si * rel[:, 1])
        y = s * (si * rel[:, 0] + c * rel[:, 1])
        key = np.array([[g["sy_c"][0], top_needed], [g["intro"][0], g["intro"][1] + 8],
                        [g["verge"][0], g["verge"][1] + 6]]) - pivot
        ky = s * (si * key[:, 0] + c * key[:, 1])
        y_bottom = y.max()
        y_top = ky.min()
        span = y_bottom - y_top
        margin_bottom = 14 + 20 * mb / 0.2
        if span + 8 + margin_bottom <= fov_h:
            lo, hi = 8 - y_top, fov_h - margin_bottom - y_bottom
            oy = hi - (hi - lo) * mx * 0.5
        else:
            oy = None
        ok = oy is not None
        if ok:
            vis = (y + oy > -2) & (y + oy < fov_h + 2)
            xs = x[vis]
            width = xs.max() - xs.min()
            ok = width + 10 <= fov_w
        if ok:
            slack = fov_w - width - 10
            ox = 5 + slack * mx - xs.min()
            # origin: image mm of body point (0, 0)
            origin = np.array([ox, oy]) + np.array(
                [s * (c * -pivot[0] - si * -pivot[1]), s * (si * -pivot[0] + c * -pivot[1])])
            return {"scale": s, "fat_mm": fat, "tilt_deg": an["tilt_deg"],
                    "origin_mm": [float(origin[0]), float(origin[1])], "outline": outline}
        if fat > 9:
            fat *= 0.85
        elif abs(th) > 0.05:
            th *= 0.8
            an["tilt_deg"] = math.degrees(th)
        else:
            s *= 0.97
    raise RuntimeError("anatomy does not fit the field of view")


def _rectus(g, s):
    sy_top = g["sy_top"]
    base = np.array([sy_top[0] - 3, sy_top[1] - 2])
    ctrl = [base, base + [-14, -40], base + [-30, -110], base + [-38, -200],
            base + [-40, -520]]
    return Tube(ctrl, [4.0, 5.5, 6.5, 7.0, 7.0], n=40)


# ----------------------------------------------------------------------------- painting
def paint_scene(p: dict, g: dict, fit: dict, rng: np.random.Generator):
    cv = Canvas(p, fit)
    an = p["anatomy"]
    fat_mm = fit["fat_mm"]
    body = cv.poly(fit["outline"])
    g["body_mask"] = body
    cv.paint(body, "fat")
    # skin and Scarpa's fascia from the distance to the outside
    dist = ndimage.distance_transform_edt(body, sampling=(cv.sr / SS, cv.sc / SS)) / cv.s
    cv.paint(body & (dist < rng.uniform(1.2, 2.2)), "skin")
    scarpa = body & (np.abs(dist - fat_mm * rng.uniform(0.4, 0.6)) < 0.45)
    cv.paint(scarpa & (cv.V < g["sy_c"][1]) & (cv.U < 40), "fascia")
    # paraspinal muscles along the spine (posterior), fibres along the spine
    vc, vw, post = g["vert_c"], g["vert_w"], g["vert_post"]
    para_ctrl = [vc[k] + post[k] * (vw[k] / 2 + (40 if k < 4 else 14)) for k in range(0, 9)]
    para = Tube([para_ctrl[0] + [0, -200], *para_ctrl],
                [30, 30, 30, 30, 28, 16, 12, 9, 7, 5], n=60)
    cv.paint_tube(para, "muscle", fibre=True, mask_extra=body)
    # rectus abdominis with posterior sheath
    cv.paint_tube(g["rectus"], "muscle", fibre=True, mask_extra=body)
    # pelvic floor: levator plate, puborectalis, perineal body, sphincters, anococcygeal lig.
    rect = g["rectum"]
    arj, verge, ct = g["arj"], g["verge"], g["coccyx_tip"]
    anal_dir = _unit(verge - arj)
    back = _rot(anal_dir, 90)
    back *= np.sign(back[0])
    lev = Tube([arj + back * 10 + [0, 4], (arj + ct) / 2 + [8, 6], ct + [-2, 3]],
               [5.5, 4.5, 3.5])
    cv.paint_tube(lev, "muscle", fibre=True, mask_extra=body)
    pr = Tube([arj + back * 9 - anal_dir * 4, arj + back * 11 + anal_dir * 6], [7.5, 6.5])
    cv.paint_tube(pr, "muscle", fibre=True)
    eas = Tube([arj + anal_dir * 4, verge], [11.5, 9.5])
    cv.paint_tube(eas, "muscle", fibre=True, mask_extra=body)
    pb_c = (g["intro"] + verge) / 2 + np.array([-2, -12])
    pb = Tube([pb_c + [-5, -6], pb_c + [5, 6]], [7, 6])
    cv.paint_tube(pb, "muscle", fibre=True, mask_extra=body)
    lig = Tube([verge - anal_dir * 6 + back * 10, ct + [6, 8]], [1.8, 1.2])
    cv.paint_tube(lig, "ligament", mask_extra=body)
    # urethra (muscular sphincter + mucosal lumen), not labelled
    ur = g["urethra"]
    res = cv.paint_tube(ur, "muscle", fibre=True, mask_extra=body)
    if res is not None:
        sl, q, t, side, ia, d = res
        cv.paint((d < 1.2) & body[sl], "urethra_lumen", sl)
    # organ masks needed for placing bowel loops
    bl_mask = cv.poly(g["bladder"])
    ut_mask = np.zeros_like(bl_mask)
    if "uterus" in g:
        res = cv.tube(g["uterus"])
        if res is not None:
            ut_mask[res[0]] = res[1] < 1.15
    vres = cv.tube(g["vagina"])
    ut_mask[vres[0]] |= vres[1] < 1.1
    # peritoneal cavity polygon (for bowel loops)
    rect_t = g["rectus"]
    cav = [rect_t.pts[k] + [rect_t.r[k] + 3, 0] for k in range(len(rect_t.pts) - 1, -1, -4)]
    cav += [g["sy_top"] + [8, 0], g["neck"] + [2, -6], g["fornix"] + [0, 4],
            g["rectum"].at(g["rect_cut_t"])[0] + [0, 0]]
    cav += [g["spine_ant"][k] - [4, 0] for k in range(6, -1, -1)]
    cav += [g["spine_ant"][0] + [-4, -250]]
    cav = np.array(cav)
    occupied = bl_mask | ndimage.binary_dilation(ut_mask, iterations=4)
    rq = cv.tube(rect)
    if rq is not None:
        occupied[rq[0]] |= rq[1] < 1.2
    # small bowel and sigmoid loops
    _paint_bowel(cv, g, rng, cav, occupied, an)
    # vessels: aorta / iliac anterior to the lumbar spine, small pelvic vessels
    sa = g["spine_ant"]
    aorta = Tube([sa[0] + [-14, -260], sa[1] + [-13, 0], sa[2] + [-12, 0],
                  sa[3] + [-12, 0] + rng.normal(0, 2, 2)],
                 [rng.uniform(7, 10)] * 4)
    cv.paint_tube(aorta, "artery")
    for _ in range(int(rng.integers(6, 16))):
        cen = np.array([rng.uniform(-10, 75), rng.uniform(-90, 10)])
        if points_in_poly(cen[None], cav)[0] or rng.random() < 0.5:
            r = rng.uniform(1.0, 2.8)
            vt = Tube([cen, cen + rng.normal(0, 3, 2)], [r, r])
            cv.paint_tube(vt, "vein" if rng.random() < 0.6 else "artery", mask_extra=body)
    for k in (5, 6, 7):  # median sacral vessels
        c = sa[k] - [3, 0]
        cv.paint_tube(Tube([c, c + [1, 6]], [1.2, 1.2]), "artery")
    # free fluid in the pouch of Douglas
    if an["free_fluid"] and "uterus" in g:
        c = (g["ext_os"] + g["rectum"].at(g["rect_cut_t"] * 0.8)[0]) / 2 + [0, -12]
        ff = fourier_contour(rng, c, rng.uniform(4, 9), rng.uniform(2, 4), rng.uniform(0, 90))
        cv.paint(cv.poly(ff) & body, "free_fluid")
    # ---------------- organs (priority: bladder < rectum < uterus/vagina), then bones
    _paint_bladder(cv, g, rng, an, bl_mask)
    _paint_rectum(cv, g, rng, an)
    _paint_uterus_vagina(cv, g, rng, an, p["hysterectomy"])
    _paint_bones(cv, g, rng)
    _fix_pieces(cv)
    return cv


def _paint_bowel(cv, g, rng, cav, occupied, an):
    n_sb, n_sig = an["n_bowel_loops"], an["n_sigmoid_loops"]
    lo_v = g["sy_top"][1] - 5
    tries = 0
    placed = []
    gas_side = rng.uniform(0.2, 0.5)
    while len(placed) < n_sb + n_sig and tries < 400:
        tries += 1
        sig = len(placed) < n_sig
        r = rng.uniform(14, 22) if sig else rng.uniform(10, 18)
        cen = np.array([rng.uniform(-70, 60), rng.uniform(-330, lo_v)])
        if sig:
            cen[1] = rng.uniform(g["bladder"][:, 1].min() - 40, lo_v)
        if not points_in_poly(cen[None], cav)[0]:
            continue
        si, sj = cv.to_sub(cen[None])
        i, jx = int(si[0]), int(sj[0])
        if not (0 <= i < cv.H and 0 <= jx < cv.W):
            continue
        ring = cen + r * np.stack([np.cos(np.linspace(0, 6.28, 16)),
                                   np.sin(np.linspace(0, 6.28, 16))], 1)
        ri, rj = cv.to_sub(ring)
        inside = (ri >= 0) & (ri < cv.H) & (rj >= 0) & (rj < cv.W)
        hits = occupied[ri[inside].astype(int), rj[inside].astype(int)].sum()
        if hits > 3 or occupied[i, jx]:
            continue
        if any(np.hypot(*(cen - c)) < (r + rc) * 0.7 for c, rc in placed):
            continue
        placed.append((cen, r))
        contour = fourier_contour(rng, cen, r, r * rng.uniform(0.6, 1.0), rng.uniform(0, 180),
                                  rough=0.12)
        m = cv.poly(contour) & g["body_mask"]
        if not m.any():
            continue
        rows, cols = np.nonzero(m)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        sl = (slice(r0, r1), slice(c0, c1))
        mm = m[sl]
        dist = ndimage.distance_transform_edt(mm, sampling=(cv.sr / SS, cv.sc / SS)) / cv.s
        uu, vv = cv.U[sl] - cen[0], cv.V[sl] - cen[1]
        theta = np.arctan2(vv, uu)
        wall = rng.uniform(1.5, 3.0)
        cv.paint(mm, "bowel_wall", sl)
        lumen = mm & (dist > wall)
        kind = rng.choice(["fluid", "collapsed", "gas", "chyme"] if not sig else
                          ["feces", "feces", "gas"])
        if kind == "fluid" or kind == "gas":
            cv.paint(lumen, "bowel_fluid", sl)
            if kind == "gas" or rng.random() < gas_side * 0.5:
                # gas anterior (non-dependent, supine): smaller image column
                xcol = np.arange(c0, c1)[None, :]
                cut = c0 + (c1 - c0) * rng.uniform(0.25, 0.7)
                cv.paint(lumen & (xcol < cut), "gas", sl)
        elif kind == "chyme":
            cv.paint(lumen, "chyme", sl)
        elif kind == "collapsed":
            cv.paint(lumen, "chyme", sl)
            cv.paint(lumen & (dist < wall + 2.5), "bowel_fluid", sl)
        else:
            cv.paint(lumen, "feces", sl)
            _bubbles(cv, rng, sl, lumen, "gas", int(rng.integers(3, 12)))
        # feathery folds (valvulae conniventes) / haustra growing in from the wall
        nf = int(rng.integers(8, 20)) if not sig else int(rng.integers(4, 8))
        phase = rng.uniform(0, 6.28)
        wob = 0.4 * np.sin(3 * theta + rng.uniform(0, 6.28))
        folds = (np.cos(nf * theta + phase + wob) > (0.8 if not sig else 0.93))
        depth = rng.uniform(1.5, 3.5) if kind != "collapsed" else r * rng.uniform(0.4, 0.7)
        fold_m = lumen & folds & (dist < wall + depth)
        if kind != "gas" or rng.random() < 0.5:
            cv.paint(fold_m, "bowel_wall", sl)


def _bubbles(cv, rng, sl, region, tissue, n):
    rows, cols = np.nonzero(region)
    if rows.size == 0:
        return
    rr = np.arange(region.shape[0])[:, None]
    cc = np.arange(region.shape[1])[None, :]
    px = min(cv.sr, cv.sc) / SS / cv.s
    for _ in range(n):
        k = rng.integers(rows.size)
        rad = rng.uniform(0.7, 2.5) / px
        m = ((rr - rows[k]) ** 2 + (cc - cols[k]) ** 2 < rad**2) & region
        cv.paint(m, tissue, sl)


def _paint_bladder(cv, g, rng, an, bl_mask):
    f = an["bladder_fill"]
    m = bl_mask & g["body_mask"]
    rows, cols = np.nonzero(m)
    sl = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    mm = m[sl]
    dist = ndimage.distance_transform_edt(mm, sampling=(cv.sr / SS, cv.sc / SS)) / cv.s
    th = rng.uniform(2.5, 3.5) + 4.0 * (1 - f) ** 2
    trab = 0.0
    if an["bladder_trabeculation"]:
        nz = spectral_noise(rng, mm.shape, cv.px_mm, rng.uniform(2.5, 5))
        trab = np.clip(nz, -1, 3) * rng.uniform(0.8, 2.0)
        th += 1.5
    cv.paint(mm, "bladder_wall", sl)
    urine = mm & (dist > th + trab)
    cv.paint(urine, "urine", sl)
    if an["ureteric_jet"]:
        base = g["bladder_base"] + np.array([-4, -8])
        d = _unit(np.array([rng.uniform(-1.0, -0.2), -1.0]))
        uu, vv = cv.U[sl] - base[0], cv.V[sl] - base[1]
        along = uu * d[0] + vv * d[1]
        across = -uu * d[1] + vv * d[0]
        ln = rng.uniform(15, 40)
        wid = 1.5 + along * rng.uniform(0.08, 0.2)
        jet = urine & (along > 0) & (along < ln) & (np.abs(across) < wid)
        cv.paint(jet, "jet", sl, mod=np.float32(rng.uniform(0.8, 1.1)))


def _paint_rectum(cv, g, rng, an):
    rect = g["rectum"]
    res = cv.tube(rect)
    sl, q, t, side, ia, d = res
    body = g["body_mask"][sl]
    inside = (q < 1) & body
    cut = g["rect_cut_t"]
    anal_t = g["anal_t"]
    rectum = inside & (t <= cut)
    sigmoid = inside & (t > cut)
    content = g["rect_content"]
    r_here = np.where(q > 0, d / np.maximum(q, 1e-6), 1.0)
    wall = rng.uniform(2.5, 4.0)
    # sigmoid continuation (not labelled): wall + feces or gas
    cv.paint(sigmoid, "bowel_wall", sl)
    cv.paint(sigmoid & (d < r_here - wall), "feces" if content != "gas" else "gas", sl)
    # rectum and anal canal
    cv.paint(rectum, "rect_wall", sl)
    canal = rectum & (t < anal_t)
    cv.paint(canal, "anal", sl, ang=ia)
    cv.paint(canal & (d < 1.0), "rect_mucosa", sl)
    amp = rectum & (t >= anal_t)
    lum = amp & (d < r_here - wall)
    if content == "empty":
        cv.paint(lum, "rect_mucosa", sl)
        # folded collapsed lumen: thin wavy bright line of mucus/gas
        wave = np.sin(t * rng.uniform(40, 80) + rng.uniform(0, 6)) * rng.uniform(0.5, 2.0)
        line = amp & (np.abs(d * side - wave) < 0.9)
        cv.paint(line & (d < r_here - wall), "rect_gas" if rng.random() < 0.4 else "rect_gel",
                 sl)
    elif content == "gas":
        cv.paint(lum, "rect_gas", sl)
        if rng.random() < 0.6:
            cv.paint(lum & (d * side < -rng.uniform(0, 0.5) * r_here), "rect_stool", sl)
    elif content == "stool":
        cv.paint(lum, "rect_stool", sl)
        _bubbles(cv, rng, sl, lum, "rect_gas", int(rng.integers(4, 15)))
    else:
        cv.paint(lum, "rect_gel", sl)
        _bubbles(cv, rng, sl, lum, "rect_gas", int(rng.integers(0, 4)))
    # thin gel / mucus continuing into the closed anal canal lets it open on defecation
    if content == "gel":
        cv.paint(canal & (d < 1.0), "rect_gel", sl)


def _paint_uterus_vagina(cv, g, rng, an, hyst):
    vag = g["vagina"]
    sl, q, t, side, ia, d = cv.tube(vag)
    body = g["body_mask"][sl]
    vm = (q < 1) & body
    r_here = np.where(q > 0, d / np.maximum(q, 1e-6), 1.0)
    cv.paint(vm, "vag_wall", sl)
    # submucosal venous plexus dots in the vaginal wall
    if rng.random() < 0.6:
        nz = spectral_noise(rng, vm.shape, cv.px_mm, 1.5)
        cv.paint(vm & (nz > 2.2) & (q > 0.5), "vein", sl)
    if an["vaginal_gel"]:
        gel = vm & (d < r_here - rng.uniform(3, 4)) & (t > 0.06)
        cv.paint(gel, "vag_gel", sl)
    else:
        wave = np.sin(t * rng.uniform(15, 30)) * rng.uniform(0.3, 1.0)
        cv.paint(vm & (np.abs(d * side - wave) < rng.uniform(0.6, 1.1)) & (t > 0.05),
                 "vag_lumen", sl)
    if hyst:
        return
    ut = g["uterus"]
    sl, q, t, side, ia, d = cv.tube(ut)
    body = g["body_mask"][sl]
    um = (q < 1) & body
    # fibroids: intramural / subserosal / submucosal (union with the uterus)
    fib_masks = []
    for _ in range(an["n_fibroids"]):
        tk = rng.uniform(0.45, 0.95)
        c, tan, r = ut.at(tk)
        nrm = np.array([-tan[1], tan[0]])
        kind = rng.choice(["intramural", "subserosal", "submucosal"], p=[0.5, 0.3, 0.2])
        rf = rng.uniform(6, 16) if kind != "submucosal" else rng.uniform(4, 8)
        off = {"intramural": rng.uniform(0.3, 0.6) * r, "subserosal": r + rf * 0.4,
               "submucosal": rng.uniform(0.0, 0.25) * r}[kind]
        cen = c + nrm * off * rng.choice([-1, 1])
        contour = fourier_contour(rng, cen, rf, rf * rng.uniform(0.8, 1.0), rng.uniform(0, 180),
                                  rough=0.05)
        fm = cv.poly(contour)[sl] & body
        uu, vv = cv.U[sl] - cen[0], cv.V[sl] - cen[1]
        rr_, th_ = np.hypot(uu, vv), np.arctan2(vv, uu)
        whorl = 1 + rng.uniform(0.12, 0.3) * np.sin(rr_ * rng.uniform(0.8, 1.6)
                                                     + rng.integers(1, 4) * th_)
        fib_masks.append((fm, whorl.astype(np.float32), rng.random() < 0.15))
        um |= fm
    cv.paint(um, "myometrium", sl)
    # zonal anatomy: endometrium / junctional zone in the body, stroma in the cervix
    lc = an["cervix_length_mm"]
    t_io = lc / ut.length
    endo = an["endometrium_mm"]
    jz = rng.uniform(3.5, 7.0)
    body_part = um & (t > t_io * 0.9)
    cerv = um & (t <= t_io * 0.9)
    taper = np.clip((t - t_io) / 0.15, 0.25, 1.0) * np.clip((0.97 - t) / 0.12, 0.2, 1.0)
    endo_w = endo * taper
    cv.paint(body_part & (d < endo_w + jz) & (q < 0.85), "jz", sl)
    cv.paint(body_part & (d < endo_w), "endometrium", sl)
    cv.paint(cerv & (q < 0.85), "cervix", sl)
    cv.paint(cerv & (d < rng.uniform(1.2, 2.5)), "vag_lumen", sl)
    for _ in range(an["n_nabothian"]):
        tk = rng.uniform(0.05, 0.9) * t_io
        c, tan, r = ut.at(tk)
        nrm = np.array([-tan[1], tan[0]])
        cen = c + nrm * rng.uniform(0.35, 0.7) * r * rng.choice([-1, 1])
        rad = rng.uniform(1.5, 4.5)
        cm = (np.hypot(cv.U[sl] - cen[0], cv.V[sl] - cen[1]) < rad) & cerv
        cv.paint(cm, "nabothian", sl)
    for fm, whorl, degenerate in fib_masks:
        cv.paint(fm, "nabothian" if degenerate else "fibroid", sl, mod=whorl)


def _paint_bones(cv, g, rng):
    bone = np.zeros((cv.H, cv.W), bool)
    vc, vh, vw, vt, post = g["vert_c"], g["vert_h"], g["vert_w"], g["vert_t"], g["vert_post"]
    # lumbar discs (annulus + nucleus) as a column, spinal canal and posterior elements
    col = Tube(vc[:5], vw[:5] / 2 - 1)
    cv.paint_tube(col, "disc")
    for k in range(4):
        c = (vc[k] + vc[k + 1]) / 2
        cv.paint_tube(Tube([c - vt[k] * 1.5, c + vt[k] * 1.5], [vw[k] * 0.3] * 2), "nucleus")
    canal_ctrl = [vc[k] + post[k] * (vw[k] / 2 + 8) for k in range(0, 8)]
    canal = Tube([canal_ctrl[0] - vt[0] * 250, *canal_ctrl],
                 [7.5, 7.5, 7.5, 7, 6.5, 5, 3.5, 2.5, 1.5])
    res = cv.paint_tube(canal, "csf")
    if res is not None:  # cauda equina roots
        sl, q, t, side, ia, d = res
        nz = spectral_noise(rng, q.shape, cv.px_mm, 1.2, aniso=0.2,
                            angle=float(np.median(ia)))
        cv.paint((q < 0.8) & (nz > 1.3), "ligament", sl)
    for k in range(0, 5):  # spinous processes / laminae
        a = vc[k] + post[k] * (vw[k] / 2 + 16)
        b = a + post[k] * rng.uniform(28, 38) + vt[k] * 6
        sp = Tube([a, b], [7, 5])
        res = cv.paint_tube(sp, "marrow")
        if res is not None:
            bone[res[0]] |= res[1] < 1
    crest = Tube([vc[k] + post[k] * (vw[k] / 2 + 16 - 2 * (k - 4)) for k in range(4, 9)],
                 [5, 4.5, 4, 3.5, 3])
    res = cv.paint_tube(crest, "marrow")
    if res is not None:
        bone[res[0]] |= res[1] < 1
    # lumbar bodies (rounded rectangles) and the sacrum (one tapered tube) + coccyx
    for k in range(0, 4):
        c, t_, n_ = vc[k], vt[k], post[k]
        hh, hw = vh[k] / 2, vw[k] / 2
        corners = [c - t_ * hh - n_ * hw * 0.85, c - t_ * hh * 0.9 - n_ * hw,
                   c + t_ * hh * 0.9 - n_ * hw, c + t_ * hh - n_ * hw * 0.85,
                   c + t_ * hh + n_ * hw * 0.85, c + t_ * hh * 0.9 + n_ * hw,
                   c - t_ * hh * 0.9 + n_ * hw, c - t_ * hh + n_ * hw * 0.85]
        m = cv.poly(closed_curve(corners, 64))
        cv.paint(m, "marrow")
        bone |= m
    sac = Tube([vc[4] - vt[4] * vh[4] / 2, *vc[4:9], vc[8] + vt[8] * 5],
               [vw[4] / 2, vw[4] / 2, vw[5] / 2, vw[6] / 2, vw[7] / 2, vw[8] / 2, vw[8] / 2.4])
    res = cv.paint_tube(sac, "marrow")
    bone[res[0]] |= res[1] < 1
    for k in range(9, 12):
        c, t_ = vc[k], vt[k]
        m_t = Tube([c - t_ * vh[k] * 0.4, c + t_ * vh[k] * 0.4], [vw[k] / 2, vw[k] / 2.3])
        res = cv.paint_tube(m_t, "marrow")
        bone[res[0]] |= res[1] < 1
    sym = cv.poly(g["symphysis"])
    cv.paint(sym, "marrow")
    bone |= sym
    # cortical rims and sacral disc remnants / interpubic disc
    bd = ndimage.distance_transform_edt(bone, sampling=(cv.sr / SS, cv.sc / SS)) / cv.s
    cv.paint(bone & (bd < rng.uniform(1.2, 2.2)), "cortex")
    for k in range(4, 8):
        c = (vc[k] + vc[k + 1]) / 2
        nrm = post[k]
        rem = Tube([c - nrm * vw[k] * 0.35, c + nrm * vw[k] * 0.35], [0.8, 0.8])
        res = cv.tube(rem)
        if res is not None:
            sl, q, *_ = res
            cv.paint((q < 1) & bone[sl], "disc", sl)
    sc = g["sy_c"]
    sd = _unit(g["sy_bot"] - g["sy_top"])
    disc = Tube([sc - sd * 16, sc + sd * 16], [1.4, 1.4])
    res = cv.tube(disc)
    if res is not None:
        sl, q, *_ = res
        cv.paint((q < 1) & bone[sl], "ligament", sl)
    g["bone_mask"] = bone


def _fix_pieces(cv):
    """Keep each organ one 8-connected piece; stray fragments become fat."""
    lab = TISSUE_LABEL[cv.tid]
    for k in (1, 2, 3):
        m = lab == k
        cc, n = ndimage.label(m, structure=np.ones((3, 3), bool))
        if n > 1:
            sizes = np.bincount(cc.ravel())[1:]
            keep = np.argmax(sizes) + 1
            stray = m & (cc != keep)
            cv.tid[stray] = T["fat"]
            cv.mod[stray] = 1.0


# ----------------------------------------------------------------------------- contrast
def render_rest(p: dict, cv: Canvas, rng: np.random.Generator):
    """Rest-frame water and fat images (output grid) and the labels."""
    im = p["imaging"]
    si = SEQ_INDEX[im["sequence"]]
    jr = np.random.default_rng(im["level_jitter_seed"])
    levels = np.array([APPEAR[a][0][si] for a in APPEAR_NAMES]) * jr.uniform(0.8, 1.2,
                                                                               len(APPEAR))
    ffrac = np.array([APPEAR[a][1] for a in APPEAR_NAMES])
    fat_keep = float(jr.uniform(0.05, 0.18)) if im["fat_saturation"] else 1.0
    if im["fat_saturation"] and im["sequence"] == "t2_haste":
        levels *= 1.15  # fluid-sensitive fat-saturated T2 looks brighter after scaling
    app = TISSUE_APPEAR[cv.tid]
    base = levels[app].astype(np.float32)
    ff = ffrac[app].astype(np.float32)
    shape = cv.tid.shape
    px = min(cv.sr, cv.sc) / SS
    fields = {
        "fine": spectral_noise(rng, shape, px, 0.8, band=0.6),
        "small": spectral_noise(rng, shape, px, 2.0),
        "medium": spectral_noise(rng, shape, px, 4.5),
        "coarse": spectral_noise(rng, shape, px, 12.0),
    }
    # oriented fibre noise blended along the direction field
    k_or = 6
    fib = [spectral_noise(rng, shape, px, rng.uniform(0.9, 1.4), band=0.5, aniso=8.0,
                          angle=np.pi * i / k_or) for i in range(k_or)]
    a = np.mod(cv.ang, np.pi) / (np.pi / k_or)
    i0 = np.floor(a).astype(int) % k_or
    w = (a - np.floor(a)).astype(np.float32)
    fibre = np.zeros(shape, np.float32)
    for i in range(k_or):
        fibre += np.where(i0 == i, 1 - w, 0) * fib[i] + np.where((i0 + 1) % k_or == i, w, 0) \
            * fib[i]
    fields["fibre"] = fibre
    tex = np.ones(shape, np.float32)
    for cls, recipe in TEXTURE.items():
        sel = app == APPEAR_NAMES.index(cls)
        if not sel.any():
            continue
        acc = np.zeros(int(sel.sum()), np.float32)
        for name, amp in recipe:
            acc += amp * fields[name][sel]
        tex[sel] += acc
    # fat lobules with septa
    sel = app == APPEAR_NAMES.index("fat")
    lob = spectral_noise(rng, shape, px, rng.uniform(6, 12), band=0.35)
    septa = np.exp(-(lob / rng.uniform(0.1, 0.2)) ** 2)
    tex[sel] -= rng.uniform(0.25, 0.55) * septa[sel]
    sel = app == APPEAR_NAMES.index("marrow")  # focal fatty islands / red marrow mottling
    tex[sel] += 0.1 * np.clip(fields["coarse"][sel], 0, None)
    sig = base * cv.mod * np.clip(tex, 0.05, None)
    water = sig * (1 - ff)
    fat = sig * ff * fat_keep
    # average to the output grid (partial volume)
    h, w_ = p["matrix"]

    def down(x):
        return x.reshape(h, SS, w_, SS).mean(axis=(1, 3))

    water, fat = down(water), down(fat)
    fatfrac = down(ff)
    shift = im["chemical_shift_px"]
    fat = ndimage.shift(fat, (shift, 0), order=1, mode="nearest")
    img = water + fat
    if im["ink_lines"]:
        m1 = ndimage.gaussian_filter(fatfrac, 0.7)
        var = np.clip(ndimage.gaussian_filter(fatfrac**2, 0.7) - m1**2, 0, None)
        img *= 1 - rng.uniform(0.5, 0.9) * np.clip(np.sqrt(var) * 3.0, 0, 1)
    # labels: majority of the supersampled organ labels per output pixel
    lab2 = TISSUE_LABEL[cv.tid]
    counts = np.stack([(lab2 == k).reshape(h, SS, w_, SS).sum(axis=(1, 3)) for k in range(4)])
    counts[0] = counts[0] + 0.5  # ties go to background
    labels = np.argmax(counts, 0).astype(np.uint8)
    for k in (1, 2, 3):
        m = labels == k
        cc, n = ndimage.label(m, structure=np.ones((3, 3), bool))
        if n > 1:
            keep = np.argmax(np.bincount(cc.ravel())[1:]) + 1
            labels[m & (cc != keep)] = 0
    return img.astype(np.float32), labels


# ----------------------------------------------------------------------------- motion
def time_curves(p: dict, rng: np.random.Generator) -> dict:
    """Per-frame mixing weights of the motion modes for the case's manoeuvre."""
    n = p["n_frames"]
    man = p["motion"]["maneuver"]
    tt = np.arange(n, dtype=float)
    v = np.zeros(n)
    sq = np.zeros(n)
    de = np.zeros(n)

    def pulse(start, up, hold, down, amp):
        x = np.zeros(n)
        e1, e2, e3 = start + up, start + up + hold, start + up + hold + down
        r = (tt >= start) & (tt < e1)
        x[r] = 0.5 - 0.5 * np.cos(np.pi * (tt[r] - start) / max(up, 1e-6))
        x[(tt >= e1) & (tt < e2)] = 1.0
        r = (tt >= e2) & (tt < e3)
        x[r] = 0.5 + 0.5 * np.cos(np.pi * (tt[r] - e2) / max(down, 1e-6))
        return amp * x

    def schedule(k):
        seg = n / k
        out = []
        for i in range(k):
            s0 = i * seg + rng.uniform(0.1, 0.3) * seg
            up = rng.uniform(0.12, 0.2) * seg
            hold = rng.uniform(0.2, 0.35) * seg
            down = rng.uniform(0.1, 0.2) * seg
            out.append((s0, up, hold, down, rng.uniform(0.6, 1.0)))
        return out

    if man == "valsalva":
        for args in schedule(int(rng.integers(1, 4))):
            v = np.maximum(v, pulse(*args))
    elif man == "squeeze":
        for args in schedule(int(rng.integers(1, 4))):
            sq = np.maximum(sq, pulse(*args))
    elif man == "rest_squeeze_valsalva":
        a, b = schedule(2)
        sq = pulse(*a)
        v = pulse(*b)
    elif man == "cough":
        for _ in range(int(rng.integers(2, 6))):
            k = rng.integers(1, n - 1)
            v[k] = max(v[k], rng.uniform(0.4, 0.8))
            v[k + 1] = max(v[k + 1], v[k] * rng.uniform(0.0, 0.4))
        v = np.maximum(v, pulse(n * 0.6, n * 0.1, n * 0.15, n * 0.1, rng.uniform(0.2, 0.5)))
    else:  # defecation: strain, evacuate (rectum stays empty), partial release
        s0 = rng.uniform(0.1, 0.25) * n
        v = pulse(s0, 0.15 * n, n, 0.0, 1.0)
        v -= pulse(0.8 * n, 0.1 * n, n, 0.0, rng.uniform(0.2, 0.5))
        de = pulse(s0 + 0.12 * n, 0.3 * n, n, 0.0, 1.0)
    br = np.sin(2 * np.pi * tt * p["frame_interval_s"] / rng.uniform(3.5, 6.0)
                + rng.uniform(0, 6.28))
    return {"valsalva": v, "squeeze": sq, "defecation": de, "breathing": br}


def _jacobi(dir_mask, dir_val, levels=3, iters=250):
    """Harmonic interpolation of Dirichlet values (C, H, W); Neumann on free borders.

    Cascadic multigrid: Jacobi sweeps from the coarsest level up, each level started from
    the upsampled solution of the one below.
    """
    pyr = [(dir_mask, dir_val)]
    for _ in range(levels - 1):
        m, v = pyr[-1]
        hh, ww = (m.shape[0] + 1) // 2, (m.shape[1] + 1) // 2
        mp = np.zeros((hh * 2, ww * 2), bool)
        mp[:m.shape[0], :m.shape[1]] = m
        vp = np.zeros((v.shape[0], hh * 2, ww * 2))
        vp[:, :m.shape[0], :m.shape[1]] = v * m
        cnt = mp.reshape(hh, 2, ww, 2).sum(axis=(1, 3))
        val = vp.reshape(v.shape[0], hh, 2, ww, 2).sum(axis=(2, 4)) / np.maximum(cnt, 1)
        pyr.append((cnt > 0, val))
    sol = None
    for m, v in reversed(pyr):
        if sol is None:
            x = np.zeros_like(v)
        else:
            x = np.repeat(np.repeat(sol, 2, axis=1), 2, axis=2)[:, :m.shape[0], :m.shape[1]]
        x = np.where(m, v, x)
        for _ in range(iters):
            xp = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
            avg = 0.25 * (xp[:, :-2, 1:-1] + xp[:, 2:, 1:-1] + xp[:, 1:-1, :-2] + xp[:, 1:-1, 2:])
            x = np.where(m, v, avg)
        sol = x
    return sol


def motion_fields(p, g, cv: Canvas, labels, rng):
    """Backward displacement maps (T, 2, h, w) in pixels and the mode amplitudes."""
    an = p["anatomy"]
    lax = an["laxity"]
    h, w = p["matrix"]
    sr, sc = p["spacing_mm"]
    cell = 4.0
    nr = int(math.ceil((h - 1) * sr / cell)) + 1
    nc = int(math.ceil((w - 1) * sc / cell)) + 1
    yr = np.linspace(0, (h - 1) * sr, nr)
    xc = np.linspace(0, (w - 1) * sc, nc)
    gy, gx = np.meshgrid(yr, xc, indexing="ij")
    gu, gv = cv.to_body(gx, gy)
    pi = np.clip(np.rint(gy / sr).astype(int), 0, h - 1)
    pj = np.clip(np.rint(gx / sc).astype(int), 0, w - 1)
    lab_c = labels[pi, pj]
    bone1 = g["bone_mask"].reshape(h, SS, w, SS).any(axis=(1, 3))
    bone_c = ndimage.binary_dilation(bone1, iterations=1)[pi, pj]
    organ = np.zeros_like(lab_c, bool)
    for k in (1, 2, 3):
        mk = lab_c == k
        er = ndimage.binary_erosion(mk)
        organ |= er if er.sum() >= 3 else mk
    # ---------------- forward displacement prescriptions in the body frame (mm)
    pos = np.stack([gu, gv], -1)

    def gauss(c, sig):
        return np.exp(-((gu - c[0]) ** 2 + (gv - c[1]) ** 2) / (2 * sig**2))

    hiatus = (g["sy_bot"] + g["arj"]) / 2 + np.array([0, -12])
    ddir = _unit(np.array([rng.uniform(0.25, 0.55), 1.0]))
    desc = 8 + 32 * lax
    fv = desc * gauss(hiatus, rng.uniform(45, 60))[..., None] * ddir
    ara = (4 + 14 * lax) * gauss(g["arj"], 18)[..., None] * _unit(np.array([0.8, 0.6]))
    fv += ara
    cyst = 30 * max(lax - 0.25, 0) ** 1.2 * rng.uniform(0.6, 1.3)
    fv += cyst * gauss(g["bladder_base"] + [-6, -6], 15)[..., None] * _unit(np.array([0.1, 1]))
    prol = 0.0
    if "ext_os" in g:
        prol = 40 * max(lax - 0.35, 0) ** 1.3 * rng.uniform(0.5, 1.3)
        fv += prol * gauss(g["ext_os"], 24)[..., None] * -_unit(g["vag_dirs"][1])
    else:
        prol = 30 * max(lax - 0.4, 0) ** 1.3 * rng.uniform(0.5, 1.3)
        fv += prol * gauss(g["fornix"], 18)[..., None] * -_unit(g["vag_dirs"][1])
    rcele = 0.0
    if rng.random() < 0.6:
        rcele = 22 * max(lax - 0.3, 0) ** 1.2 * rng.uniform(0.6, 1.3)
        c = g["arj"] + np.array([-10, -14])
        fv += rcele * gauss(c, 11)[..., None] * np.array([-1.0, 0.25])
    # squeeze: lift towards the symphysis
    lift = (5 + 7 * (1 - lax)) * rng.uniform(0.8, 1.2)
    fs = lift * gauss(hiatus, 50)[..., None] * _unit(np.array([-0.5, -0.9]))
    fs += 5 * gauss(g["arj"], 15)[..., None] * _unit(np.array([-0.8, -0.6]))
    # defecation: rectum empties towards its axis, anal canal opens, extra descent
    fd = np.zeros_like(fv)
    fd_mask = np.zeros_like(organ)
    rect = g["rectum"]
    q, t, side, ang, d = tube_query(rect, gu.ravel(), gv.ravel())
    q, t, d = q.reshape(gu.shape), t.reshape(gu.shape), d.reshape(gu.shape)
    near = rect.pts[np.clip(np.rint(t * (len(rect.pts) - 1)).astype(int), 0,
                            len(rect.pts) - 1)]
    to_axis = near - pos
    k_shrink = rng.uniform(0.35, 0.6)
    in_rect = (lab_c == 3) & (t >= g["anal_t"])
    fd[in_rect] = (to_axis * k_shrink)[in_rect]
    fd_mask |= in_rect & (q > 0.3)
    ring = (t < g["anal_t"]) & (q > 1.0) & (q < 2.2) & (t > 0.03)
    opening = rng.uniform(5, 9)
    fd[ring] = (-to_axis / np.maximum(d, 1e-6)[..., None] * opening)[ring]
    fd_mask |= ring
    fd += 8 * gauss(g["arj"], 20)[..., None] * _unit(np.array([0.6, 1.0]))
    # body-frame mm -> image pixel displacement
    def to_px(f):
        dx, dy = cv.vec_img(f[..., 0], f[..., 1])
        return np.stack([dy / cell, dx / cell])  # in coarse cells

    top = np.zeros_like(organ)
    top[0, :] = True
    fixed = bone_c
    # tissue close to bone is tethered: prescriptions fade out towards the bones
    dist_bone = ndimage.distance_transform_edt(~bone_c) * cell
    tether = np.clip((dist_bone - 4.0) / 22.0, 0.0, 1.0)[..., None]
    fv, fs, fd = fv * tether, fs * tether, fd * tether
    modes = {}
    # Valsalva / squeeze: all organs prescribed, bones and top edge fixed
    for name, f in (("valsalva", fv), ("squeeze", fs)):
        dm = organ | fixed | top
        val = np.where(organ[None], to_px(f), 0.0)
        val = np.where(fixed[None] | top[None], 0.0, val)
        modes[name] = _jacobi(dm, val)
    dm = organ | fixed | top | fd_mask
    val = np.where((organ | fd_mask)[None], to_px(fd), 0.0)
    val = np.where(fixed[None] | top[None], 0.0, val)
    modes["defecation"] = _jacobi(dm, val)
    br_amp = rng.uniform(3, 8)
    val = np.zeros((2, nr, nc))
    val[0, 0, :] = br_amp / cell
    modes["breathing"] = _jacobi(fixed | top, val)
    curves = time_curves(p, rng)

    def min_jac(f):
        j = (1 + np.gradient(f[0], axis=0)) * (1 + np.gradient(f[1], axis=1)) \
            - np.gradient(f[0], axis=1) * np.gradient(f[1], axis=0)
        return float(j.min())

    # amplitude safety: forward maps must stay one-to-one (Jacobian > 0.2), per mode first
    gains = {}
    for k in modes:
        peak = float(np.max(np.abs(curves[k]))) or 1.0
        gains[k] = 1.0
        while gains[k] > 0.05 and min_jac(gains[k] * peak * modes[k]) < 0.3:
            gains[k] *= 0.85
        modes[k] = modes[k] * gains[k]
    gain = 1.0
    for _ in range(12):
        worst = min(min_jac(gain * sum(curves[k][i] * modes[k] for k in modes))
                    for i in range(p["n_frames"]))
        if worst > 0.2:
            break
        gain *= 0.85
    # invert (fixed point) and upsample to the pixel grid
    # coarse grid index of pixel centres (grid step = yr[1]-yr[0] etc.)
    rr = np.arange(h)[:, None] * sr / (yr[1] - yr[0]) * np.ones((1, w))
    cc = np.ones((h, 1)) * np.arange(w)[None, :] * sc / (xc[1] - xc[0])
    scale_r = cell / (yr[1] - yr[0])
    scale_c = cell / (xc[1] - xc[0])
    ci, cj = np.meshgrid(np.arange(nr), np.arange(nc), indexing="ij")
    backs = np.zeros((p["n_frames"], 2, h, w), np.float32)
    mag = np.zeros(p["n_frames"])
    bone_px = ndimage.binary_dilation(bone1, iterations=1)
    for i in range(p["n_frames"]):
        f = gain * sum(curves[k][i] * modes[k] for k in modes)  # cells (~4 mm)
        fr, fc = f[0] * scale_r, f[1] * scale_c  # grid-index units
        br_, bc_ = -fr, -fc
        for _ in range(6):
            cr, cc2 = ci + br_, cj + bc_
            br_ = -ndimage.map_coordinates(fr, [cr, cc2], order=1, mode="nearest")
            bc_ = -ndimage.map_coordinates(fc, [cr, cc2], order=1, mode="nearest")
        up_r = ndimage.map_coordinates(br_, [rr, cc], order=1, mode="nearest")
        up_c = ndimage.map_coordinates(bc_, [rr, cc], order=1, mode="nearest")
        # grid-index units -> pixels
        up_r *= (yr[1] - yr[0]) / sr
        up_c *= (xc[1] - xc[0]) / sc
        up_r[bone_px] = 0
        up_c[bone_px] = 0
        backs[i, 0], backs[i, 1] = up_r, up_c
        orgm = labels > 0
        mag[i] = float(np.mean(np.hypot(up_r[orgm] * sr, up_c[orgm] * sc)))
    gv_, gs_, gd_ = (gains[k] * gain for k in ("valsalva", "squeeze", "defecation"))
    info = {"descent_mm": desc * gv_, "cystocele_mm": cyst * gv_, "prolapse_mm": prol * gv_,
            "rectocele_mm": rcele * gv_, "squeeze_lift_mm": lift * gs_,
            "anal_opening_mm": opening * gd_, "breathing_mm": br_amp * gains["breathing"] * gain,
            "gain": {k: round(gains[k] * gain, 4) for k in gains},
            "curves": {k: [round(float(x), 4) for x in v] for k, v in curves.items()}}
    return backs, mag, info


# ----------------------------------------------------------------------------- acquisition
def acquire(p, rest, labels, backs, rng, body1):
    im = p["imaging"]
    h, w = p["matrix"]
    n = p["n_frames"]
    sr, sc = p["spacing_mm"]
    rr, cc = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = np.zeros((n, h, w), np.float32)
    truth = np.zeros((n, h, w), np.uint8)
    # coil bias: smooth random field + anterior / posterior array sensitivity
    cols = np.nonzero(body1.any(0))[0]
    c_ant, c_post = (cols.min(), cols.max()) if cols.size else (0, w - 1)
    lb = im["bias_length_mm"]
    bs = im["bias_strength"]
    xmm = cc * sc
    bias = 0.35 + bs * (rng.uniform(0.6, 1.4) * np.exp(-np.clip(xmm - c_ant * sc, 0, None) / lb)
                        + rng.uniform(0.4, 1.2) * np.exp(-np.clip(c_post * sc - xmm, 0, None)
                                                          / lb))
    bias *= np.exp(0.25 * spectral_noise(rng, (h, w), min(sr, sc), 120.0, band=0.5))
    bias /= bias[body1].mean()
    # bSSFP banding from a smooth off-resonance map
    band = np.ones((h, w), np.float32)
    if im["banding"]:
        yy, xx = (rr - h / 2) / h, (cc - w / 2) / w
        phi = rng.uniform(4, 14) * (yy**2 + xx**2) + 1.5 * spectral_noise(
            rng, (h, w), min(sr, sc), 80.0, band=0.5) + rng.uniform(0, 6.28)
        dist = np.abs(np.mod(phi, 2 * np.pi) - np.pi)
        band = 1 - rng.uniform(0.6, 0.95) * np.exp(-(dist / 0.12) ** 2)
    # k-space window (resolution, Gibbs ringing)
    kr = np.abs(np.fft.fftfreq(h))[:, None] / 0.5
    kc = np.abs(np.fft.fftfreq(w))[None, :] / 0.5
    fr_, fc_ = im["kspace_fraction"]
    win = ((kr <= fr_) & (kc <= fc_)).astype(np.float32)
    body_mean = float(rest[body1].mean())
    sigma = body_mean / im["snr"]
    nco = im["n_coils"]
    scale = im["global_scale"]
    ghost_shift = int(rng.integers(w // 4, w // 2))
    for i in range(n):
        cr, ccc = rr + backs[i, 0], cc + backs[i, 1]
        img = ndimage.map_coordinates(rest, [cr, ccc], order=1, mode="nearest")
        truth[i] = ndimage.map_coordinates(labels, [cr, ccc], order=0, mode="nearest")
        img = np.real(np.fft.ifft2(np.fft.fft2(img) * win)).astype(np.float32)
        img = np.clip(img, 0, None) * bias * band
        if im["ghosting"] > 0:
            g_amp = im["ghosting"] * (0.5 + 0.5 * math.sin(i * 1.3))
            img = img + g_amp * np.roll(img, ghost_shift, axis=1)
        s_coil = img / math.sqrt(nco)
        acc = np.zeros_like(img)
        for _ in range(nco):
            re = s_coil + rng.normal(0, sigma, (h, w)).astype(np.float32)
            imag = rng.normal(0, sigma, (h, w)).astype(np.float32)
            acc += re * re + imag * imag
        frames[i] = np.sqrt(acc) * scale
    if im["integer_values"]:
        frames = np.rint(np.clip(frames, 0, 65535 * max(1.0, scale / 4000)))
    return frames.astype(np.float32), truth


# ----------------------------------------------------------------------------- public API
def generate(seed: int, matrix=None, n_frames=None):
    """One case: (CineSeries, truth uint8 (T, H, W), params dict)."""
    p = draw_params(seed, matrix, n_frames)
    rng = np.random.default_rng([int(seed), 1])
    g = build_anatomy(p, rng)
    fit = fit_layout(p, g, rng)
    p["anatomy"]["body_scale"] = float(fit["scale"])
    p["anatomy"]["fat_mm"] = float(fit["fat_mm"])
    if "version_final_deg" in g:
        p["anatomy"]["version_final_deg"] = float(g["version_final_deg"])
    cv = paint_scene(p, g, fit, rng)
    rest, labels = render_rest(p, cv, rng)
    h, w = p["matrix"]
    body1 = g["body_mask"].reshape(h, SS, w, SS).mean(axis=(1, 3)) > 0.5
    backs, mag, info = motion_fields(p, g, cv, labels, rng)
    frames, truth = acquire(p, rest, labels, backs, rng, body1)
    n = p["n_frames"]
    times = np.arange(n) * p["frame_interval_s"]
    p["motion"].update(info)
    p["motion"]["most_strained_frame"] = int(np.argmax(mag))
    p["motion"]["mean_organ_displacement_mm"] = [round(float(x), 3) for x in mag]
    p["imaging"]["series_description"] = _description(p)
    p["organs"] = list(ORGANS)
    series = CineSeries(frames=frames, spacing_mm=tuple(p["spacing_mm"]), times_s=times,
                        meta={"series_description": p["imaging"]["series_description"],
                              "subject_id": f"texture_{seed:03d}",
                              "orientation": "sagittal (canonical)"})
    return series, truth, p


def _description(p):
    im = p["imaging"]
    tag = {"t2_haste": "t2 haste", "bssfp": "bssfp", "t1_gre": "t1", "pd_tse": "pd"}
    fs = " fs" if im["fat_saturation"] else ""
    return f"dynamic pelvic floor {p['motion']['maneuver']} ({tag[im['sequence']]}){fs}"


def write_case(job) -> str:
    seed, out = job
    series, truth, params = generate(seed)
    case_dir = Path(out) / f"{GENERATOR}_{seed:03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=seed,
                       patient_name=f"TEXTURE^{seed:03d}", patient_id=f"texture_{seed:03d}",
                       slice_thickness_mm=params["imaging"]["slice_thickness_mm"])
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    h, w = params["matrix"]
    return (f"{case_dir.name}: {params['n_frames']}x{h}x{w} {params['imaging']['sequence']} "
            f"{params['motion']['maneuver']} hyst={params['hysterectomy']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="2000-2029")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(s, args.out) for s in parse_seeds(args.seeds)]
    for line in map_jobs(write_case, jobs, args.workers):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
