"""Geodesic-growth generator of labelled synthetic cine mid-sagittal female pelvic MRI.

A subject is drawn per seed (pelvic size, tilt and shape, body habitus, bladder fill,
uterus state, rectal content, strain amplitudes, sequence and acquisition settings).
The anatomy is painted in a canonical mid-sagittal frame (1 mm grid, y towards the
feet, x towards the back, origin near the lower edge of the pubic symphysis): body
outline with subcutaneous fat and skin, abdominal wall, lumbar spine, sacrum and coccyx
(cortex, marrow, discs, spinal canal), pubic symphysis, levator plate, puborectalis,
perineal body, anal sphincter, ischioanal fat and urethra.  Bladder, uterus/vagina and
rectum are then grown by COMPETITIVE GEODESIC GROWTH: each organ starts from a skeleton
(points or curves with per-point start times that set a radius profile) and its front
spreads through an organ-specific travel-cost map (cheap through pelvic fat, dearer
through bowel, muscle and the perineal compartment, blocked by bone) in one multi-label
Dijkstra pass; a pixel belongs to the first front that reaches it, and each organ stops
at its target area, so the organs press against each other and against bone without
overlapping.  Organ interiors (bladder wall/urine, endometrium/junctional zone/
myometrium/fibroids, cervical stroma, vaginal wall/lumen or gel, rectal wall and its
content: collapsed, stool with gas bubbles, gas, bright or dark gel) and bowel loops are
painted afterwards.  Motion is a Valsalva/defecation strain: organ-, pelvic-floor-,
bowel- and abdominal-wall-specific target displacements (bone held fixed) are
regularised into a smooth stationary velocity field by iterated Gaussian smoothing with
the constraints re-imposed (Demons-like), scaled by a rest/rise/peak/release time course
plus breathing and exponentiated by scaling-and-squaring per frame, giving a
diffeomorphic backward map; small rigid jitter is added.  Images come from T1/T2/PD
values per tissue through spin-echo or spoiled/balanced gradient-echo signal equations
(T2, bSSFP, T1 GRE, T1 SE, PD), with tissue texture, slice-thickness partial volume
(blend with two slightly deformed neighbouring sections), multi-coil sensitivities,
k-space truncation (ringing), optional ghosting, per-coil complex noise in k-space and a
root-sum-of-squares combination.  Labels: 1 bladder (urine + wall), 2 uterus, cervix and
vagina (vagina only after hysterectomy), 3 rectum with anal canal; each is one
4-connected piece in every frame.
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from scipy.interpolate import CubicSpline
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

PREFIX = "geodesic"
LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
UTERUS_STATES = ("normal", "retroverted", "enlarged_fibroid", "atrophic", "hysterectomy")
RECTAL_CONTENTS = ("empty", "stool", "gas", "gel_bright", "gel_dark")
CONTRASTS = ("t2_ssfse", "bssfp", "t1_gre", "t1_se", "pd")

# canonical grid (mm): rows y from Y0 (head) to the feet, columns x from X0 (anterior)
Y0, Y1, X0, X1 = -232.0, 100.0, -152.0, 272.0
NY, NX = int(Y1 - Y0), int(X1 - X0)
GROW_STEP = 2.0  # mm, grid of the geodesic growth
VEL_STEP = 4  # mm, grid of the velocity field

# tissue classes: name -> (T1 ms, T2 ms, PD, texture)
TISSUES = {
    "air": (1000.0, 1.0, 0.0, 0.0),
    "fat_visc": (290.0, 110.0, 0.95, 0.07),
    "fat_sub": (290.0, 110.0, 0.95, 0.05),
    "fat_isch": (290.0, 110.0, 0.95, 0.07),
    "skin": (700.0, 40.0, 0.7, 0.05),
    "muscle_wall": (1000.0, 38.0, 0.75, 0.05),
    "muscle_post": (1000.0, 38.0, 0.75, 0.06),
    "muscle_pf": (1000.0, 40.0, 0.75, 0.05),
    "cortex": (1000.0, 1.5, 0.05, 0.0),
    "marrow": (550.0, 80.0, 0.8, 0.12),
    "disc": (1200.0, 110.0, 0.85, 0.05),
    "csf": (4000.0, 2000.0, 1.0, 0.02),
    "urethra": (1000.0, 50.0, 0.75, 0.04),
    "bowel_wall": (900.0, 60.0, 0.8, 0.06),
    "bowel_fluid": (2500.0, 500.0, 0.95, 0.08),
    "bowel_chyme": (800.0, 70.0, 0.7, 0.25),
    "gas": (1000.0, 1.0, 0.02, 0.0),
    "urine": (3200.0, 1800.0, 1.0, 0.01),
    "bladder_wall": (1000.0, 45.0, 0.75, 0.04),
    "myometrium": (1300.0, 115.0, 0.85, 0.06),
    "endometrium": (1400.0, 180.0, 0.9, 0.05),
    "jz_stroma": (1100.0, 55.0, 0.8, 0.05),
    "vagina_wall": (1100.0, 70.0, 0.8, 0.05),
    "lumen_fluid": (2500.0, 900.0, 0.95, 0.03),
    "fibroid": (1000.0, 35.0, 0.7, 0.08),
    "rect_wall": (1000.0, 55.0, 0.8, 0.05),
    "stool": (600.0, 45.0, 0.6, 0.35),
    "gel_bright": (2600.0, 1200.0, 1.0, 0.02),
    "gel_dark": (300.0, 8.0, 0.6, 0.04),
}
CLS = {name: i for i, name in enumerate(TISSUES)}
BLOCKED = ("air", "cortex", "marrow", "disc", "csf", "skin")
# travel cost per class (bladder, uterus, rectum); missing -> blocked
COSTS = {
    "fat_visc": (1.0, 1.0, 1.0),
    "fat_sub": (15.0, 15.0, 15.0),
    "fat_isch": (15.0, 15.0, 6.0),
    "muscle_wall": (12.0, 12.0, 12.0),
    "muscle_post": (12.0, 12.0, 12.0),
    "muscle_pf": (6.0, 6.0, 3.0),
    "urethra": (30.0, 30.0, 30.0),
}


# ----------------------------------------------------------------------------- drawing


def _u(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _curve(ctrl, step: float = 0.5) -> np.ndarray:
    """Dense points (n, 2) of a smooth curve through control points (y, x)."""
    c = np.asarray(ctrl, float)
    d = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))]
    n = max(2, int(d[-1] / step) + 1)
    t = np.linspace(0.0, d[-1], n)
    if len(c) == 2:
        return c[0] + (c[1] - c[0]) * (t / d[-1])[:, None]
    return CubicSpline(d, c, axis=0, bc_type="natural")(t)


def _poly(pts) -> np.ndarray:
    img = Image.new("1", (NX, NY), 0)
    ImageDraw.Draw(img).polygon([(x - X0, y - Y0) for y, x in pts], fill=1)
    return np.array(img, dtype=bool)


class Grid:
    """Pixel coordinates (mm) of the canonical grid."""

    def __init__(self) -> None:
        self.y = (Y0 + np.arange(NY) + 0.5)[:, None] * np.ones((1, NX))
        self.x = np.ones((NY, 1)) * (X0 + np.arange(NX) + 0.5)[None, :]

    def near(self, pts, radius):
        """Nearest-point index and distance for the pixels within radius of pts."""
        pts = np.asarray(pts, float)
        lo = np.floor(pts.min(0) - radius - (Y0, X0)).astype(int)
        hi = np.ceil(pts.max(0) + radius - (Y0, X0)).astype(int) + 1
        lo = np.maximum(lo, 0)
        hi = np.minimum(hi, (NY, NX))
        sl = (slice(lo[0], hi[0]), slice(lo[1], hi[1]))
        q = np.stack([self.y[sl].ravel(), self.x[sl].ravel()], 1)
        d, i = cKDTree(pts).query(q, distance_upper_bound=radius)
        return sl, d.reshape(self.y[sl].shape), i.reshape(self.y[sl].shape)

    def tube(self, pts, radii) -> np.ndarray:
        radii = np.broadcast_to(np.asarray(radii, float), (len(pts),))
        out = np.zeros((NY, NX), bool)
        sl, d, i = self.near(pts, float(radii.max()))
        ok = np.isfinite(d)
        r = np.zeros_like(d)
        r[ok] = radii[i[ok]]
        out[sl] = ok & (d <= r)
        return out

    def ellipse(self, c, axis, a, b) -> np.ndarray:
        u = _u(axis)
        dy, dx = self.y - c[0], self.x - c[1]
        s = dy * u[0] + dx * u[1]
        t = -dy * u[1] + dx * u[0]
        return (s / a) ** 2 + (t / b) ** 2 <= 1.0


def _box(bc, u, height, half_w, ahead=0.0):
    """Corners of a box with bottom-centre bc, axis u (up), width 2*half_w."""
    u = _u(u)
    p = np.array([u[1], -u[0]])  # posterior perpendicular
    b = np.asarray(bc) + ahead * u
    top = b + height * u
    return [b - half_w * p, b + half_w * p, top + half_w * p, top - half_w * p]


# ----------------------------------------------------------------------------- subject


def _tf(a: dict, pts):
    """Pelvic shape transform of control points: AP depth and height factors."""
    out = []
    for y, x in pts:
        out.append((y * a["height_factor"] if y < 0 else y, x * a["ap_factor"] if x > 0 else x))
    return out


def draw_subject(seed: int) -> dict:
    """Draw all parameters of one case (no rendering)."""
    rng = np.random.default_rng(seed)
    U = rng.uniform
    uterus = str(rng.choice(UTERUS_STATES, p=[0.3, 0.17, 0.15, 0.17, 0.21]))
    content = str(rng.choice(RECTAL_CONTENTS, p=[0.25, 0.25, 0.15, 0.2, 0.15]))
    fill = float(np.clip(rng.beta(1.1, 1.3), 0.0, 1.0))
    anatomy = {
        "pelvis_scale": U(0.88, 1.12), "tilt_deg": U(-12, 12),
        "ap_factor": U(0.9, 1.1), "height_factor": U(0.92, 1.08),
        "sacral_curvature": U(0.6, 1.4), "symphysis_angle_deg": U(20, 38),
        "fat_ant_mm": U(6, 45), "fat_post_mm": U(5, 35), "belly_bulge_mm": U(-8, 25),
        "uterus": uterus, "bladder_fill": fill, "rectal_content": content,
        "vaginal_gel": bool(rng.random() < (0.45 if content.startswith("gel") else 0.1)),
        "vagina_radius_mm": U(5.5, 8.0), "vagina_shift": [U(-6, 6), U(-5, 5)],
        "cervix_length_mm": U(22, 34), "cervix_radius_mm": U(11, 15),
        "uterus_length_mm": U(50, 70), "uterus_radius_mm": U(18, 24),
        "endometrium_mm": U(2.5, 7.0), "bladder_wall_mm": 2.5 + 4.0 * (1 - fill) + U(0, 1),
        "rectum_shift": [U(-6, 6), U(-6, 6)], "bowel_floor_mm": U(-50, -25),
        "fibroids": [],
    }
    if uterus == "atrophic":
        anatomy.update(uterus_length_mm=U(28, 40), uterus_radius_mm=U(9, 13),
                       cervix_radius_mm=U(8, 11), endometrium_mm=U(0.8, 2.0))
    elif uterus == "enlarged_fibroid":
        anatomy.update(uterus_length_mm=U(80, 115), uterus_radius_mm=U(27, 38))
        anatomy["fibroids"] = [[U(0.15, 0.9), float(rng.choice([-1, 1])) * U(0.3, 1.0),
                                U(8, 24)] for _ in range(int(rng.integers(1, 4)))]
    r_amp = {"empty": U(7, 10), "stool": U(15, 24), "gas": U(13, 22),
             "gel_bright": U(18, 26), "gel_dark": U(18, 26)}[content]
    anatomy["rectal_radius_mm"] = r_amp
    contrast = str(rng.choice(CONTRASTS, p=[0.34, 0.26, 0.15, 0.1, 0.15]))
    if contrast == "t2_ssfse":
        seq = {"TR_ms": U(2500, 6000), "TE_ms": U(75, 120), "flip_deg": 90.0}
    elif contrast == "bssfp":
        tr = U(3.0, 5.0)
        seq = {"TR_ms": tr, "TE_ms": tr / 2, "flip_deg": U(40, 75)}
    elif contrast == "t1_gre":
        seq = {"TR_ms": U(4, 9), "TE_ms": U(1.5, 4.5), "flip_deg": U(10, 25)}
    elif contrast == "t1_se":
        seq = {"TR_ms": U(400, 700), "TE_ms": U(8, 15), "flip_deg": 90.0}
    else:
        seq = {"TR_ms": U(2000, 4000), "TE_ms": U(12, 30), "flip_deg": 90.0}
    sr = U(1.1, 1.5)
    sc = float(np.clip(sr + U(-0.1, 0.1), 1.1, 1.5))
    H, W = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    # field of view must cover promontory .. below the perineum
    s, th = anatomy["pelvis_scale"], np.deg2rad(anatomy["tilt_deg"])
    ey = (112 * anatomy["height_factor"] + 14 + 74) * s
    ex = (155 * anatomy["ap_factor"] + 30) * s
    need_y = ey * abs(np.cos(th)) + ex * abs(np.sin(th)) + 6
    need_x = ex * abs(np.cos(th)) + ey * abs(np.sin(th)) + 6
    if H * sr < need_y:
        H = min(288, int(np.ceil(need_y / sr)))
        sr = max(sr, min(1.5, need_y / H))
    if W * sc < need_x:
        W = min(288, int(np.ceil(need_x / sc)))
        sc = max(sc, min(1.5, need_x / W))
    imaging = {
        "contrast": contrast, **seq, "n_coils": int(rng.choice([4, 6, 8])),
        "coil_radius_mm": U(90, 160), "snr": U(5, 40),
        "kspace_fraction_rows": U(0.55, 0.95), "kspace_fraction_cols": U(0.6, 1.0),
        "ghost_phase_rad": float(U(0.03, 0.25)) if rng.random() < 0.35 else 0.0,
        "slice_thickness_mm": U(4, 8), "intensity_scale": float(10 ** U(0.5, 3.5)),
        "fov_offset": [U(-1, 1), U(-1, 1)],
    }
    n = int(rng.integers(12, 41))
    dt = U(0.5, 2.5)
    n_rest = max(2, int(round(n * U(0.08, 0.2))))
    rise = max(2, int(round(n * U(0.2, 0.35))))
    plateau = max(1, int(round(n * U(0.08, 0.25))))
    peak_frame = min(n - 2, n_rest + rise)
    d_main = U(5, 40)
    motion = {
        "descent_mm": {"bladder": float(np.clip(d_main * U(0.6, 1.3), 6, 40)),
                       "uterus": float(np.clip(d_main * U(0.5, 1.2), 5, 40)),
                       "rectum": float(np.clip(d_main * U(0.4, 1.1), 5, 35))},
        "rectocele_mm": float(U(3, 20)) if rng.random() < 0.45 else 0.0,
        "abdominal_push_mm": U(2, 14), "breathing_mm": U(0.5, 4.0),
        "breathing_period_s": U(3.0, 6.0), "breathing_phase": U(0, 2 * np.pi),
        "jitter_mm": U(0.0, 0.6), "n_rest": n_rest, "rise_frames": rise,
        "plateau_frames": plateau, "release_level": U(0.15, 0.65),
    }
    return {
        "seed": int(seed), "generator": PREFIX, "spacing_mm": [float(sr), float(sc)],
        "matrix": [H, W], "n_frames": n, "frame_interval_s": float(dt),
        "snr": float(imaging["snr"]), "labels": dict(LABELS), "rest_frame": 0,
        "peak_frame": int(peak_frame), "anatomy": _plain(anatomy),
        "imaging": _plain(imaging), "motion": _plain(motion),
    }


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj)
    if isinstance(obj, (np.integer, int)) and not isinstance(obj, bool):
        return int(obj)
    return obj


def _strain_curve(p: dict) -> np.ndarray:
    m, n = p["motion"], p["n_frames"]
    a = np.zeros(n)
    r0, pk = m["n_rest"], p["peak_frame"]
    for t in range(n):
        if t < r0:
            a[t] = 0.0
        elif t < pk:
            s = (t - r0 + 1) / (pk - r0 + 1)
            a[t] = s * s * (3 - 2 * s)
        elif t <= pk + m["plateau_frames"]:
            a[t] = 1.0 - 0.02 * (t - pk)
        else:
            s = min(1.0, (t - pk - m["plateau_frames"]) / 3.0)
            a[t] = (1 - 0.02 * m["plateau_frames"]) * (1 - s) + m["release_level"] * s
    a[pk] = 1.0
    return a


# ----------------------------------------------------------------------------- anatomy


def _anatomy(p: dict, rng: np.random.Generator, g: Grid) -> dict:
    a = p["anatomy"]
    T = lambda pts: _tf(a, pts)  # noqa: E731
    cls = np.full((NY, NX), CLS["air"], np.uint8)
    fa, fp, bb = a["fat_ant_mm"], a["fat_post_mm"], a["belly_bulge_mm"]
    skin = T([(-300, -42 - fa), (-200, -44 - fa - 0.5 * bb), (-130, -48 - fa - bb),
              (-75, -46 - fa - 0.8 * bb), (-35, -34 - fa), (0, -22 - 0.6 * fa),
              (28, -4 - 0.3 * fa), (48, 18), (58, 42), (64, 62), (56, 82),
              (22, 122 + 0.3 * fp), (-30, 158 + 0.6 * fp), (-90, 178 + fp),
              (-150, 195 + fp), (-210, 205 + fp), (-300, 210 + fp)])
    sk = _curve(skin, 1.0)
    body = _poly(list(sk) + [(-400, 260 + fp), (-400, -80 - fa)])
    dist = ndi.distance_transform_edt(body)
    w = np.clip((g.x - 20) / 60, 0, 1)
    ft = (fa * (1 - w) + fp * w) * np.where(g.y > 20, 0.45, 1.0) + 3
    cls[body] = CLS["fat_visc"]
    cls[body & (dist < ft)] = CLS["fat_sub"]
    wall = body & (dist >= ft) & (dist < ft + 6 + 0.1 * fa) & (g.x < 30) & (g.y < -25)
    cls[wall] = CLS["muscle_wall"]
    cls[body & (dist < 1.8)] = CLS["skin"]

    # sacrum + coccyx: anterior surface curve, posterior normal
    k = a["sacral_curvature"]
    sac_ctrl = [(-112, 90), (-88, 100 + 6 * k), (-62, 106 + 10 * k), (-38, 110 + 8 * k),
                (-20, 108 + 4 * k), (-10, 102), (-1, 93)]
    sac = _curve(T(sac_ctrl), 0.5)
    tan = np.gradient(sac, axis=0)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    nrm = np.stack([-tan[:, 1], tan[:, 0]], 1)
    arc = np.r_[0, np.cumsum(np.linalg.norm(np.diff(sac, axis=0), axis=1))]
    L = arc[-1]
    thick = np.interp(arc / L, [0, 0.8, 1], [30, 12, 7])
    post = sac + nrm * thick[:, None]
    canal = post + nrm * np.where(arc / L < 0.75, 10.0, 3.0)[:, None]
    dorsal = canal + nrm * np.where(arc / L < 0.8, 7.0, 2.0)[:, None]
    # lumbar spine on top of the S1 endplate
    prom = sac[0]
    e = _u([-0.5, 1.0])
    bc = prom + 19 * e
    axes = [(-0.88, -0.48), (-0.95, -0.3), (-0.99, -0.12), (-1.0, 0.05), (-0.98, 0.18)]
    vert, discs, post_pts = [], [], []
    for u in axes:
        u = _u(u)
        pp = np.array([u[1], -u[0]])
        discs.append(_box(bc, u, 10, 18))
        post_pts.append(bc + 19 * pp)
        bc = bc + 10 * u
        vert.append((bc.copy(), u))
        post_pts.append(bc + 19 * pp + 13 * u)
        bc = bc + 27 * u
        post_pts.append(bc + 19 * pp)
    post_pts = np.array(post_pts)[::-1]
    lum_post = [tuple(q) for q in post_pts] + [tuple(q) for q in post[:: 10]]
    region = _poly([(Y0 - 50, lum_post[0][1])] + lum_post
                   + [tuple(post[-1]), (Y1 + 50, post[-1][1] + 20), (Y1 + 50, X1 + 50),
                      (Y0 - 50, X1 + 50)])
    backm = region & body & (cls != CLS["fat_sub"]) & (cls != CLS["skin"])
    cls[backm & (g.y < -30)] = CLS["muscle_post"]
    cls[backm & (g.y >= -30)] = CLS["fat_isch"]
    bone = np.zeros((NY, NX), bool)
    disc = np.zeros((NY, NX), bool)
    csf = np.zeros((NY, NX), bool)
    for d in discs:
        disc |= _poly(d)
    for c0, u in vert:
        bone |= _poly(_box(c0, u, 27, 18))
        pp = np.array([u[1], -u[0]])
        csf |= _poly(_box(c0 + 26 * pp - 10 * u, u, 47, 6.5))
        bone |= g.tube(_curve([c0 + 40 * pp + 8 * u, c0 + 62 * pp + 2 * u]), 7.0)
    disc &= ~bone
    # sacral segments (S1-S5 fused with remnant discs, 3 coccygeal segments)
    sac_all = _poly(list(sac) + list(post[::-1]))
    bone |= sac_all
    cuts = [0.2, 0.37, 0.52, 0.65, 0.77, 0.85, 0.93]
    for c in cuts:
        i = int(np.argmin(np.abs(arc / L - c)))
        gap = g.tube([sac[i] - 2 * nrm[i], post[i] + 2 * nrm[i]], 1.0 if c < 0.77 else 1.5)
        disc |= gap & sac_all
    bone &= ~disc
    ncan = int(np.argmin(np.abs(arc / L - 0.6)))
    csf |= _poly(list(post[:ncan]) + list(canal[:ncan][::-1]))
    bone |= _poly(list(canal[: int(0.85 * len(arc))]) + list(dorsal[: int(0.85 * len(arc))][::-1]))
    bone &= ~csf
    # pubic symphysis
    ang = np.deg2rad(a["symphysis_angle_deg"])
    ps_axis = np.array([np.cos(ang), np.sin(ang)])
    ps_c = np.array(T([(-18, -4)])[0])
    ps = g.ellipse(ps_c, ps_axis, 21, 7.5)
    bone |= ps
    marrow = bone & (ndi.distance_transform_edt(bone) > 1.8)
    cls[bone] = CLS["cortex"]
    cls[marrow] = CLS["marrow"]
    cls[disc & body] = CLS["disc"]
    cls[csf & body] = CLS["csf"]
    ps_inf = ps_c + 21 * ps_axis
    # prevesical fat in front of and below the symphysis: not a space organs can enter
    front = (g.y - ps_c[0]) * -ps_axis[1] + (g.x - ps_c[1]) * ps_axis[0] < 4.0
    cls[front & body & (g.y > ps_c[0] - 25) & (cls == CLS["fat_visc"])] = CLS["fat_sub"]

    # pelvic floor
    isch = _poly(T([(26, 72), (12, 88), (0, 97), (8, 112), (30, 112), (54, 84), (60, 70)]))
    cls[isch & body & (cls == CLS["fat_visc"])] = CLS["fat_isch"]
    lev = g.tube(_curve(T([(20, 66), (25, 76), (14, 88), (2, 97)])), 4.0)
    lev |= g.tube(np.array(T([(24, 72)])), 7.0) | g.ellipse(T([(44, 40)])[0], (1, 0.3), 9, 8)
    anus = np.array(T([(62, 63)])[0])
    arj = np.array(T([(24, 54)])[0]) + np.array(a["rectum_shift"]) * 0.3
    canal_pts = _curve([anus, arj], 0.5)
    lev |= g.tube(canal_pts[: int(0.75 * len(canal_pts))], 12.0)
    cls[lev & body & ~bone] = CLS["muscle_pf"]
    hiatus = _poly([(ps_c[0], -200), tuple(ps_inf + (-2, 0))] + T([(8, 30), (15, 55), (28, 70),
                                                                      (10, 90), (0, 97)])
                   + [(-10, 300), (300, 300), (300, -200)])
    # urethra
    neck = np.array(T([(-4, 19)])[0])
    ure = _curve([neck] + T([(12, 17), (28, 14), (43, 10)]))
    cls[g.tube(ure, 3.5) & body] = CLS["urethra"]

    # ---- organ skeletons: list of (points, radii) ; start time = rmax - r
    fill = a["bladder_fill"]
    vs = np.array(a["vagina_shift"])
    intro = np.array(T([(46, 18)])[0])
    vtop = np.array(T([(-20, 60)])[0]) + vs
    vag = _curve([intro, np.array(T([(26, 31)])[0]) + 0.3 * vs,
                  np.array(T([(2, 46)])[0]) + 0.7 * vs, vtop])
    rv = a["vagina_radius_mm"]
    state = a["uterus"]
    ut_parts = {"vagina": len(vag)}
    if state == "hysterectomy":
        n_keep = int(0.88 * len(vag))
        ut_pts = vag[:n_keep]
        ut_r = np.full(n_keep, rv)
        ut_r[-12:] = rv + 2.0
        ut_parts["cervix"] = n_keep
        body_dir = None
    else:
        if state == "retroverted":
            dc, db = _u([-1, 0.25]), _u([-0.7, 0.9])
        elif state == "enlarged_fibroid":
            dc, db = _u([-1, -0.2]), _u([-1.2 - 0.4 * fill, -0.6])
        else:
            dc, db = _u([-1, -0.3]), _u([-(0.5 + 1.2 * fill), -1])
        cerv = _curve([vtop, vtop + a["cervix_length_mm"] * dc])
        io = cerv[-1]
        lb, rb = a["uterus_length_mm"], a["uterus_radius_mm"]
        mid = io + 0.5 * lb * _u(0.6 * dc + db)
        bod = _curve([io, mid, io + lb * db])
        t = np.linspace(0, 1, len(bod))
        rbody = rb * (0.7 + 0.3 * np.sin(np.pi * np.clip(t * 1.2, 0, 1)))
        ut_pts = np.concatenate([vag, cerv, bod])
        ut_r = np.concatenate([np.full(len(vag), rv),
                               np.linspace(rv + 2, a["cervix_radius_mm"], len(cerv)), rbody])
        ut_parts["cervix"] = len(vag) + len(cerv)
        body_dir = db
    ut_pts = np.asarray(ut_pts)
    # rectum
    r_amp = a["rectal_radius_mm"]
    rs = np.array(a["rectum_shift"])
    rect = _curve([anus, arj] + [np.array(q) + rs * f for q, f in zip(
        T([(4, 70), (-22, 84), (-50, 92), (-80, 90), (-106, 78)]),
        (0.5, 1, 1, 0.8, 0.5), strict=True)], 0.5)
    ra = np.r_[0, np.cumsum(np.linalg.norm(np.diff(rect, axis=0), axis=1))]
    a_arj = float(np.linalg.norm(arj - anus))
    re_r = np.interp(ra, [0, a_arj, a_arj + 15, a_arj + 35, a_arj + 75, a_arj + 110, ra[-1]],
                     [7, 9, 0.8 * r_amp, r_amp, r_amp, 0.65 * r_amp, 0.55 * r_amp])
    re_r = np.maximum(re_r, 7.0)
    # bladder
    b0 = np.array(T([(-7, 24)])[0])
    b1 = np.array(T([(-15, 44)])[0])
    cen = np.array(T([(-14 - 38 * fill, 22 - 2 * fill)])[0])
    bla = np.concatenate([_curve([b0, b1]), _curve([0.5 * (b0 + b1), cen + (0.01, 0)])])
    bla_r = np.full(len(bla), 6.0)
    bl_area = 550.0 + 5200.0 * fill ** 1.2

    # ---- competitive geodesic growth on a 2 mm grid
    lab = _grow(cls, hiatus, g, [(bla, bla_r), (ut_pts, ut_r), (rect, re_r)],
                [bl_area, None, None], p, a)
    lab[np.isin(cls, [CLS[n] for n in BLOCKED])] = 0
    for k in (1, 2, 3):
        m = _largest(lab == k)
        m = ndi.binary_fill_holes(m) & ((lab == 0) | m) & ~np.isin(cls, [CLS["cortex"],
                                                                          CLS["marrow"]])
        lab[(lab == k) & ~m] = 0
        lab[m] = k
        if not (lab == k).any():
            raise RuntimeError(f"organ {k} did not grow")

    # ---- organ interiors
    org = {}
    bl = lab == 1
    bd = ndi.distance_transform_edt(bl)
    cls[bl] = CLS["bladder_wall"]
    cls[bl & (bd > a["bladder_wall_mm"])] = CLS["urine"]
    ut = lab == 2
    sl, d, idx = g.near(ut_pts, 80.0)
    dd, ii = np.full((NY, NX), np.inf), np.zeros((NY, NX), int)
    dd[sl], ii[sl] = d, np.minimum(idx, len(ut_pts) - 1)
    nv, nc = ut_parts["vagina"], ut_parts["cervix"]
    is_v, is_c, is_b = ut & (ii < nv), ut & (ii >= nv) & (ii < nc), ut & (ii >= nc)
    cls[ut] = CLS["myometrium"]
    cls[is_v] = CLS["vagina_wall"]
    lum_w = rng.uniform(2.0, 4.5) if a["vaginal_gel"] else 0.9
    vag_fill = "gel_bright" if a["rectal_content"] != "gel_dark" else "gel_dark"
    cls[is_v & (dd < lum_w)] = CLS[vag_fill if a["vaginal_gel"] else "lumen_fluid"]
    cls[is_c & (dd < 0.75 * a["cervix_radius_mm"])] = CLS["jz_stroma"]
    cls[is_c & (dd < 1.6)] = CLS["lumen_fluid"]
    if body_dir is not None:
        en = a["endometrium_mm"]
        cls[is_b & (dd < en + 4.5)] = CLS["jz_stroma"]
        cls[is_b & (dd < en)] = CLS["endometrium"]
        nb = len(ut_pts) - nc
        for frac, side, rad in a["fibroids"]:
            j = nc + int(frac * (nb - 1))
            tq = ut_pts[min(j + 1, len(ut_pts) - 1)] - ut_pts[max(j - 1, 0)]
            nq = _u([-tq[1], tq[0]]) * side
            c = ut_pts[j] + nq * ut_r[j] * 0.75
            cls[ut & g.tube(np.array([c]), rad)] = CLS["fibroid"]
    re = lab == 3
    sl, d, idx = g.near(rect, 80.0)
    rd_, ri_ = np.full((NY, NX), np.inf), np.zeros((NY, NX), int)
    rd_[sl], ri_[sl] = d, np.minimum(idx, len(rect) - 1)
    n_arj = int(np.argmin(np.abs(ra - a_arj)))
    red = ndi.distance_transform_edt(re)
    cls[re] = CLS["rect_wall"]
    content = a["rectal_content"]
    inner = re & (red > 3.0) & (ri_ > n_arj)
    if content == "empty":
        cls[inner & (rd_ < 1.5)] = CLS["lumen_fluid"]
    else:
        cls[inner] = CLS[{"stool": "stool", "gas": "gas", "gel_bright": "gel_bright",
                          "gel_dark": "gel_dark"}[content]]
        if content == "stool":
            ys, xs = np.nonzero(inner)
            for j in rng.choice(len(ys), size=min(len(ys), 25), replace=False):
                blob = g.tube(np.array([[Y0 + ys[j] + 0.5, X0 + xs[j] + 0.5]]),
                              rng.uniform(1.0, 3.5))
                cls[blob & inner] = CLS["gas"]
        if content == "gas":
            lvl = rng.uniform(0.0, 0.4)
            ys = np.nonzero(inner)[0]
            cls[inner & (g.y > Y0 + np.quantile(ys, 1 - lvl))] = CLS["stool"]
    cls[re & (ri_ <= n_arj) & (rd_ < 1.2)] = CLS["lumen_fluid"]

    # ---- bowel loops in the peritoneal cavity
    free = (cls == CLS["fat_visc"]) & (lab == 0) & (g.y < a["bowel_floor_mm"]) & ~hiatus
    free_cls = free.copy()
    free = ndi.binary_erosion(free, iterations=1)
    ys, xs = np.nonzero(free)
    if len(ys):
        order = rng.permutation(len(ys))[:400]
        for j in order:
            y, x = Y0 + ys[j] + 0.5, X0 + xs[j] + 0.5
            r = rng.uniform(8, 20)
            axis, ecc = rng.normal(size=2), rng.uniform(1.0, 1.8)
            disk = g.ellipse((y, x), axis, r * ecc, r / ecc)
            if free[disk].mean() < 0.97:
                continue
            free &= ~disk
            kind = rng.choice(["bowel_fluid", "gas", "bowel_chyme", "bowel_wall"],
                              p=[0.3, 0.15, 0.3, 0.25])
            wt = rng.uniform(2, 3.5)
            cls[disk & free_cls] = CLS["bowel_wall"]
            inner_ = g.ellipse((y, x), axis, r * ecc - wt, max(r / ecc - wt, 0.5))
            cls[inner_ & free_cls] = CLS[kind]
    org.update(lab=lab, cls=cls, body=body, bone=bone, hiatus=hiatus,
               rect=rect, n_arj=n_arj)
    return org


def _largest(m: np.ndarray) -> np.ndarray:
    lb, n = ndi.label(m)
    if n <= 1:
        return m.copy()
    sizes = np.bincount(lb.ravel())
    sizes[0] = 0
    return lb == int(np.argmax(sizes))


def _grow(cls, hiatus, g, skeletons, areas, p, a) -> np.ndarray:
    """Competitive multi-label geodesic growth (Dijkstra) with per-organ area caps."""
    st = int(GROW_STEP)
    ys, xs = slice(int(-180 - Y0), int(84 - Y0), st), slice(int(-70 - X0), int(160 - X0), st)
    sub = cls[ys, xs]
    hsub = hiatus[ys, xs]
    blocked = np.isin(cls, [CLS[n] for n in BLOCKED])
    blk = ndi.maximum_filter(blocked, size=st, origin=0)[ys, xs]
    H, W = sub.shape
    costs = []
    for k in range(3):
        c = np.full(sub.shape, np.inf)
        for name, vals in COSTS.items():
            c[sub == CLS[name]] = vals[k]
        c[(sub == CLS["fat_visc"]) & (g.y[ys, xs] < a["bowel_floor_mm"])] *= 1.3
        c[hsub] *= (6.0, 1.5, 1.5)[k]
        c[blk] = np.inf
        cp = np.full((H + 2, W + 2), np.inf)
        cp[1:-1, 1:-1] = c
        costs.append(cp.ravel().tolist())
    Wp = W + 2
    heap = []
    caps, tmax, sources = [], [], []
    for k, (pts, radii) in enumerate(skeletons):
        rmax = float(np.max(radii))
        iy = np.round((pts[:, 0] - (Y0 + ys.start + 0.5)) / st).astype(int)
        ix = np.round((pts[:, 1] - (X0 + xs.start + 0.5)) / st).astype(int)
        ok = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
        seen = {}
        for yy, xx, r in zip(iy[ok], ix[ok], np.asarray(radii)[ok], strict=True):
            f = (yy + 1) * Wp + xx + 1
            t0 = rmax - float(r)
            if costs[k][f] < np.inf and t0 < seen.get(f, np.inf):
                seen[f] = t0
        sources.append(seen)
        if areas[k] is None:
            ref = g.tube(pts, radii)[ys, xs] & ~blk
            caps.append(int(ref.sum() * rng_scale(p, k)))
            tmax.append(rmax + 8.0)
        else:
            caps.append(int(areas[k] / st**2))
            tmax.append(np.inf)
    lab = [0] * ((H + 2) * Wp)
    count = [0, 0, 0]
    d1, d2 = float(st), float(st) * 2**0.5
    nbrs = [(1, d1), (-1, d1), (Wp, d1), (-Wp, d1), (Wp + 1, d2), (Wp - 1, d2),
            (-Wp + 1, d2), (-Wp - 1, d2)]
    # skeleton pixels are owned from the start (thin skeletons first); their fronts
    # leave at the per-point start time, which sets the radius profile
    for k in (1, 2, 0):
        for f, t0 in sources[k].items():
            if not lab[f]:
                lab[f] = k + 1
                count[k] += 1
                for off, ln in nbrs:
                    if costs[k][f + off] != np.inf:
                        heap.append((t0 + ln * 0.5 * (costs[k][f] + costs[k][f + off]),
                                     k, f + off))
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        t, k, i = pop(heap)
        if lab[i] or count[k] >= caps[k] or t > tmax[k]:
            continue
        lab[i] = k + 1
        count[k] += 1
        ck = costs[k]
        ci = ck[i]
        for off, ln in nbrs:
            j = i + off
            if not lab[j]:
                cj = ck[j]
                if cj != np.inf:
                    push(heap, (t + ln * 0.5 * (ci + cj), k, j))
    small = np.array(lab, np.uint8).reshape(H + 2, Wp)[1:-1, 1:-1]
    full = np.zeros((NY, NX), np.uint8)
    probs = []
    for k in (1, 2, 3):
        up = ndi.zoom((small == k).astype(np.float32), st, order=1)
        pk = np.zeros((NY, NX), np.float32)
        hh, ww = min(up.shape[0], NY - ys.start), min(up.shape[1], NX - xs.start)
        pk[ys.start:ys.start + hh, xs.start:xs.start + ww] = up[:hh, :ww]
        probs.append(ndi.gaussian_filter(pk, 1.0))
    probs = np.stack([np.full((NY, NX), 0.5, np.float32)] + probs)
    full[:] = np.argmax(probs, axis=0)
    return full


def rng_scale(p: dict, k: int) -> float:
    """Deterministic area factor of the skeleton-shaped organs (uterus, rectum)."""
    return 0.97 + 0.08 * ((p["seed"] * 7 + k * 13) % 10) / 10.0


# ----------------------------------------------------------------------------- motion


def _velocity(p: dict, org: dict, g: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Peak strain velocity field and breathing field, (2, ny, nx) in mm on a 4 mm grid."""
    m = p["motion"]
    lab, cls = org["lab"], org["cls"]
    s = VEL_STEP
    ny, nx = NY // s, NX // s

    def down(mask):
        return mask.reshape(ny, s, nx, s).mean(axis=(1, 3)) > 0.5

    yc = g.y.reshape(ny, s, nx, s).mean(axis=(1, 3))
    xc = g.x.reshape(ny, s, nx, s).mean(axis=(1, 3))
    cons = np.zeros((ny, nx), bool)
    val = np.zeros((2, ny, nx))

    def put(mask, vy, vx):
        cons[mask] = True
        val[0][mask] = vy[mask] if np.ndim(vy) else vy
        val[1][mask] = vx[mask] if np.ndim(vx) else vx

    dsc = m["descent_mm"]
    dpf = 0.6 * np.mean(list(dsc.values()))
    body = down(org["body"])
    hi = down(org["hiatus"]) & body
    put(hi, dpf * 0.95 * np.clip((yc + 10) / 50, 0.4, 1.0), dpf * 0.2)
    bowel = body & (yc < p["anatomy"]["bowel_floor_mm"]) & down(cls == CLS["fat_visc"])
    put(bowel, 0.4 * dsc["uterus"], 0.0)
    ab = down(np.isin(cls, [CLS["muscle_wall"]])) | (body & down(cls == CLS["fat_sub"])
                                                       & (xc < 20) & (yc < -20))
    A = m["abdominal_push_mm"]
    put(ab, 0.25 * A, -A)
    dirs = {1: _u([1, 0.25]), 2: _u([1, -0.25]), 3: _u([1, 0.15])}
    gains = {1: (0.6, 0.6), 2: (0.6, 0.6), 3: (0.5, 0.7)}
    names = {1: "bladder", 2: "uterus", 3: "rectum"}
    for k in (1, 2, 3):
        mk = down(ndi.binary_erosion(lab == k, iterations=2)) & ~hi
        if k == 3:
            mk = down(lab == k)
        if not mk.any():
            continue
        y0, y1 = yc[mk].min(), yc[mk].max()
        rel = np.clip((yc - y0) / max(y1 - y0, 1.0), 0, 1)
        amp = dsc[names[k]] * (gains[k][0] + gains[k][1] * rel)
        vy, vx = amp * dirs[k][0], amp * dirs[k][1]
        if k == 3 and m["rectocele_mm"] > 0:
            c = org["rect"][min(org["n_arj"] + 50, len(org["rect"]) - 1)]
            wgt = np.exp(-((yc - c[0]) ** 2 + (xc - c[1]) ** 2) / (2 * 14.0**2))
            vx = vx - m["rectocele_mm"] * wgt
        put(mk, vy, vx)
    bone = down(org["bone"]) | down(cls == CLS["muscle_post"])
    put(bone | ~body & (xc > 100), 0.0, 0.0)
    v = np.where(cons, val, 0.0)
    for _ in range(60):
        v = ndi.gaussian_filter(v, (0, 1.5, 1.5), mode="nearest")
        v[:, cons] = val[:, cons]
    v = ndi.gaussian_filter(v, (0, 0.8, 0.8), mode="nearest")
    vb = np.zeros_like(v)
    vb[0] = m["breathing_mm"] * np.clip((-60 - yc) / 60, 0, 1) * body
    vb[0] = ndi.gaussian_filter(vb[0], 2.0)
    return v, vb


def _exp_backward(v: np.ndarray, k: int = 6) -> np.ndarray:
    """Backward displacement exp(-v) (mm) by scaling and squaring on the 4 mm grid."""
    w = -v / 2**k / VEL_STEP
    ny, nx = v.shape[1:]
    gy, gx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    for _ in range(k):
        cy, cx = gy + w[0], gx + w[1]
        w = w + np.stack([ndi.map_coordinates(w[i], [cy, cx], order=1, mode="nearest")
                          for i in range(2)])
    return w * VEL_STEP


# ----------------------------------------------------------------------------- imaging


def _signal_table(im: dict) -> np.ndarray:
    tr, te, fl = im["TR_ms"], im["TE_ms"], np.deg2rad(im["flip_deg"])
    out = []
    for t1, t2, pd, _ in TISSUES.values():
        e1, e2 = np.exp(-tr / t1), np.exp(-tr / t2)
        if im["contrast"] == "bssfp":
            s = pd * np.sin(fl) * (1 - e1) / (1 - (e1 - e2) * np.cos(fl) - e1 * e2)
            s *= np.exp(-te / t2)
        elif im["contrast"] == "t1_gre":
            s = pd * np.sin(fl) * (1 - e1) / (1 - np.cos(fl) * e1) * np.exp(-te / t2)
        else:
            s = pd * (1 - e1) * np.exp(-te / t2)
        out.append(s)
    out = np.array(out)
    return out / out.max()


def _render_rest(p: dict, org: dict, rng: np.random.Generator) -> np.ndarray:
    cls = org["cls"]
    table = _signal_table(p["imaging"])
    tex = np.array([v[3] for v in TISSUES.values()])
    n1 = ndi.gaussian_filter(rng.standard_normal((NY, NX)), 1.0)
    n2 = ndi.gaussian_filter(rng.standard_normal((NY, NX)), 5.0)
    noise = 0.7 * n1 / n1.std() + 0.5 * n2 / n2.std()
    s = table[cls] * np.clip(1 + tex[cls] * noise, 0.05, None)
    # slice-thickness partial volume: neighbouring sections slightly deformed
    wgt = 0.12 + 0.03 * (p["imaging"]["slice_thickness_mm"] - 4)
    gy, gx = np.mgrid[0:NY, 0:NX].astype(np.float32)
    acc = (1 - 2 * wgt) * s
    for _ in range(2):
        f = [ndi.zoom(rng.standard_normal((NY // 16 + 1, NX // 16 + 1)), 16, order=3)[:NY, :NX]
             for _ in range(2)]
        amp = rng.uniform(1.0, 3.0)
        acc += wgt * ndi.map_coordinates(s, [gy + amp * f[0], gx + amp * f[1]], order=1,
                                         mode="nearest")
    return ndi.gaussian_filter(acc, 0.6).astype(np.float32)


def _coils(p: dict, H: int, W: int, sp, body_img: np.ndarray, rng) -> np.ndarray:
    im = p["imaging"]
    n = im["n_coils"]
    Y = (np.arange(H) - (H - 1) / 2)[:, None] * sp[0]
    X = (np.arange(W) - (W - 1) / 2)[None, :] * sp[1]
    rows = np.nonzero(body_img.any(1))[0]
    cols_a = [np.nonzero(body_img[r])[0].min() for r in rows] or [0]
    cols_p = [np.nonzero(body_img[r])[0].max() for r in rows] or [W - 1]
    xa = (np.median(cols_a) - (W - 1) / 2) * sp[1] - 15
    xp = (np.median(cols_p) - (W - 1) / 2) * sp[1] + 15
    half = n // 2
    maps = []
    ext = H * sp[0] * 0.7
    for i in range(n):
        yi = -ext / 2 + ext * ((i % half) + 0.5) / half + rng.uniform(-15, 15)
        xi = xa if i < half else xp
        zi = rng.uniform(-60, 60)
        d2 = (Y - yi) ** 2 + (X - xi) ** 2 + zi**2
        mag = 1.0 / (1 + d2 / im["coil_radius_mm"] ** 2) ** 1.5
        ph = rng.uniform(0, 2 * np.pi) + rng.uniform(-1, 1) * Y / 200 + rng.uniform(-1, 1) * X / 200
        maps.append(mag * np.exp(1j * ph))
    maps = np.array(maps)
    norm = np.sqrt((np.abs(maps) ** 2).sum(0))
    return (maps / norm[body_img].mean()).astype(np.complex64)


# ----------------------------------------------------------------------------- generate


def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict]:
    """frames float32 (T,H,W) >= 0, labels uint8 (T,H,W), spacing (row_mm, col_mm), params"""
    p = draw_subject(seed)
    rng = np.random.default_rng([seed, 7])
    g = Grid()
    org = _anatomy(p, rng, g)
    sig = _render_rest(p, org, rng)
    v, vb = _velocity(p, org, g)
    a, im, m = p["anatomy"], p["imaging"], p["motion"]
    H, W = p["matrix"]
    sp = tuple(p["spacing_mm"])
    n = p["n_frames"]
    s, th = a["pelvis_scale"], np.deg2rad(a["tilt_deg"])
    # anatomical centre of the field of view
    ymin, ymax = -112 * a["height_factor"] - 12, 74.0
    xmin, xmax = -30.0, 125 * a["ap_factor"]
    cy, cx = (ymin + ymax) / 2, (xmin + xmax) / 2
    ey, ex = (ymax - ymin) * s, (xmax - xmin) * s
    hy = ey / 2 * abs(np.cos(th)) + ex / 2 * abs(np.sin(th))
    hx = ex / 2 * abs(np.cos(th)) + ey / 2 * abs(np.sin(th))
    sly, slx = max(0.0, H * sp[0] / 2 - hy - 3), max(0.0, W * sp[1] / 2 - hx - 3)
    oy, ox = im["fov_offset"][0] * sly, im["fov_offset"][1] * slx  # image-frame offsets (mm)
    c, sn = np.cos(th), np.sin(th)
    rot = np.array([[c, -sn], [sn, c]])
    centre = np.array([cy, cx]) - rot @ np.array([oy, ox]) / s
    Yi = (np.arange(H) - (H - 1) / 2)[:, None] * sp[0] * np.ones((1, W))
    Xi = (np.arange(W) - (W - 1) / 2)[None, :] * sp[1] * np.ones((H, 1))
    ay0 = (rot[0, 0] * Yi + rot[0, 1] * Xi) / s + centre[0]
    ax0 = (rot[1, 0] * Yi + rot[1, 1] * Xi) / s + centre[1]
    curve = _strain_curve(p)
    times = np.arange(n) * p["frame_interval_s"]
    breath = np.sin(2 * np.pi * times / m["breathing_period_s"] + m["breathing_phase"])
    jit = rng.normal(0, m["jitter_mm"] + 1e-9, (n, 2))
    body_img = ndi.map_coordinates(org["body"].astype(np.float32),
                                   [ay0 - Y0 - 0.5, ax0 - X0 - 0.5], order=1) > 0.5
    coils = _coils(p, H, W, sp, body_img, rng)
    frames = np.zeros((n, H, W), np.float32)
    labels = np.zeros((n, H, W), np.uint8)
    clean = []
    for t in range(n):
        w = _exp_backward(curve[t] * v + breath[t] * vb)
        ay, ax = ay0 + jit[t, 0], ax0 + jit[t, 1]
        gyc, gxc = (ay - Y0) / VEL_STEP - 0.5, (ax - X0) / VEL_STEP - 0.5
        wy = ndi.map_coordinates(w[0], [gyc, gxc], order=1, mode="nearest")
        wx = ndi.map_coordinates(w[1], [gyc, gxc], order=1, mode="nearest")
        sy, sx = ay + wy - Y0 - 0.5, ax + wx - X0 - 0.5
        clean.append(ndi.map_coordinates(sig, [sy, sx], order=1, mode="nearest"))
        lt = ndi.map_coordinates(org["lab"], [sy, sx], order=0, mode="nearest")
        out = np.zeros_like(lt)
        for k in (1, 2, 3):
            mk = _largest(lt == k)
            mk = ndi.binary_fill_holes(mk) & ((lt == 0) | mk)
            mk = _largest(mk & (out == 0))
            if not mk.any():
                raise RuntimeError(f"seed {seed}: organ {k} vanished in frame {t}")
            out[mk] = k
        labels[t] = out
    # acquisition: coils, k-space truncation, ghosting, noise, RSS
    mean_sig = float(np.mean(clean[0][body_img])) if body_img.any() else 1.0
    sigma = mean_sig / p["snr"]
    kr, kc = im["kspace_fraction_rows"], im["kspace_fraction_cols"]
    fy, fx = np.fft.fftfreq(H), np.fft.fftfreq(W)
    mask = (np.abs(fy)[:, None] <= kr / 2) & (np.abs(fx)[None, :] <= kc / 2)
    frac = mask.mean()
    ghost = np.ones(W, np.complex64)
    ghost[::2] = np.exp(1j * im["ghost_phase_rad"])
    for t in range(n):
        ci = coils * clean[t][None]
        k = np.fft.fft2(ci, norm="ortho")
        k *= ghost[None, None, :]
        noise = rng.standard_normal((2,) + k.shape).astype(np.float32)
        k = (k + (sigma / np.sqrt(frac)) * (noise[0] + 1j * noise[1])) * mask
        img = np.fft.ifft2(k, norm="ortho")
        frames[t] = np.sqrt((np.abs(img) ** 2).sum(0))
    frames *= np.float32(im["intensity_scale"] / max(float(frames.max()), 1e-9))
    frames = np.maximum(frames, 0).astype(np.float32)
    p["motion"]["strain_curve"] = [float(x) for x in curve]
    p["motion"]["peak_bladder_descent_px"] = float(
        _centroid_row(labels[p["peak_frame"]] == 1) - _centroid_row(labels[0] == 1))
    return frames, labels, (float(sp[0]), float(sp[1])), p


def _centroid_row(m: np.ndarray) -> float:
    return float(np.nonzero(m)[0].mean())


def _write_case(seed: int, out: str) -> str:
    t0 = time.time()
    frames, labels, spacing, params = generate(seed)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    contrast = params["imaging"]["contrast"]
    tag = {"bssfp": "bssfp", "t1_gre": "t1", "t1_se": "t1"}.get(contrast, contrast)
    series = CineSeries(frames=frames, spacing_mm=spacing,
                        times_s=np.arange(len(frames)) * params["frame_interval_s"],
                        meta={"series_description": f"geodesic sag dynamic ({tag})",
                              "subject_id": f"GEODESIC{seed:03d}"})
    write_dicom_series(series, case / "series", seed=seed, patient_id=f"GEODESIC{seed:03d}",
                       patient_name=f"GEODESIC^{seed:03d}",
                       slice_thickness_mm=params["imaging"]["slice_thickness_mm"])
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=2))
    a = params["anatomy"]
    return (f"{case.name}: {frames.shape[0]}x{frames.shape[1]}x{frames.shape[2]} "
            f"{contrast} uterus={a['uterus']} fill={a['bladder_fill']:.2f} "
            f"rectum={a['rectal_content']} snr={params['snr']:.1f} "
            f"({time.time() - t0:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-11")
    ap.add_argument("--out", default=f"{PREFIX}_cases")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    from functools import partial

    for line in map_jobs(partial(_write_case, out=args.out), seeds, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
