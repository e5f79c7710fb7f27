"""Thin-plate-spline cine phantom: labelled synthetic dynamic mid-sagittal female pelvic MRI.

An independent source of test data for a pelvic-organ segmentation model.  Each seed
draws a patient, a manoeuvre and an acquisition (``draw_params``); ``render`` turns
the parameters into float32 frames (T, H, W) and uint8 labels 0 background,
1 bladder, 2 uterus_vagina, 3 rectum.  Rows run head to feet, columns anterior
(column 0) to posterior.

Anatomy (built in a pelvic frame in mm with the pubic symphysis at the origin, then
scaled, tilted and placed in the field of view): bony frame of pubic symphysis
(ellipse, cortex and marrow), sacrum and coccyx as a curved tapering band, lumbar
vertebrae with discs, spinal canal and an aorta in front; body outline with
subcutaneous fat of drawn thickness, a muscle band under it (rectus in front,
gluteal/paraspinal behind), pelvic fat with texture, small bowel loops and the
sigmoid (unlabelled tubes with wall and content), vessels.  Organs are swept tubes
along centre lines or closed periodic cubic B-splines through control polygons:
bladder (lumen + wall; fill from near empty to full, pushed out of the symphysis
and clamped in front of the vagina/cervix), uterus_vagina as one label (vagina from
the introitus up behind the urethra to the fornix, cervix with canal, uterine body
with endometrium; states anteverted, anteflexed, retroverted, enlarged with
fibroids, atrophic, post-hysterectomy vault; the body is rotated away from the
bladder/rectum until it does not overlap), rectum (anal canal + ampulla along the
sacral curve, ending at the S3 level where the unlabelled sigmoid continues; content
empty, stool, gas or gel).  Urethra, perineal body, anal sphincter, puborectalis and
levator plate are drawn as muscle.  Each label is kept as its largest 4-connected
piece.

Dynamics: moving landmarks (bladder neck and base, bladder dome, urethra, cervix or
vault, fundus, mid vagina, anterior rectal wall (rectocele / emptying), anorectal
junction, anus, perineum, levator plate, abdominal wall, small bowel) with
displacement vectors scaled by the patient's anterior / middle / posterior prolapse
severity and driven by a manoeuvre profile over time (rest, Valsalva, squeeze,
defecation with rectal emptying, cough, squeeze then Valsalva); bony and far-field
landmarks are fixed.  Each frame is the rest anatomy warped by the backward
thin-plate-spline map (fitted on a coarse grid, upsampled), with bone kept rigid and
a small rigid patient drift; image and labels use the same map, rendered at 2x and
averaged (image) or majority-voted (labels).

Imaging: sequence per case among T2 single-shot FSE, T2 fat-suppressed, bSSFP, T1
gradient echo and proton density, each with its own tissue intensity table jittered
per case, multiplicative texture, k-space truncation (low acquired resolution,
ringing), motion ghosts along the phase direction, a smooth polynomial bias field,
multi-coil complex sum-of-squares magnitude with Gaussian noise per coil (non-central
chi), SNR 6-40, occasional artefacts (zipper line, spike/herringbone frame, noisy
frame) and an arbitrary global scale.  Spacing 1.1-1.5 mm per axis, matrix 224-288
per side, 16-40 frames, 0.8-2 s apart.

Usage: ``python benchmarks/tps_generator.py --seeds 100-195 --out tps_cases``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

PREFIX = "tps"
LABELS = {"bladder": 1, "uterus_vagina": 2, "rectum": 3}

UTERUS_STATES = (
    "anteverted",
    "anteflexed",
    "retroverted",
    "fibroid_enlarged",
    "atrophic",
    "hysterectomy",
)
RECTAL_CONTENTS = ("empty", "stool", "gas", "gel")
MANOEUVRES = ("rest", "valsalva", "squeeze", "defecation", "cough", "squeeze_valsalva")
SEQUENCES = ("t2_ssfse", "t2_fs", "bssfp", "t1_gre", "pd")

# tissue classes
(
    AIR,
    FAT,
    MUSCLE,
    CORTEX,
    MARROW,
    URINE,
    BWALL,
    MYO,
    ENDO,
    STROMA,
    VWALL,
    VLUMEN,
    RWALL,
    STOOL,
    GAS,
    GEL,
    BOWEL,
    CSF,
    DISC,
    VESSEL,
    FIBROID,
    FLUID,
    PFAT,
) = range(23)
_TISSUES = (
    "air fat muscle cortex marrow urine bwall myo endo stroma vwall vlumen rwall stool gas "
    "gel bowel csf disc vessel fibroid fluid pfat"
).split()
_TABLE = {  # intensity per tissue, in _TISSUES order
    "t2_ssfse": [
        0,
        0.78,
        0.22,
        0.03,
        0.55,
        1.0,
        0.25,
        0.5,
        0.85,
        0.18,
        0.35,
        0.7,
        0.3,
        0.45,
        0.02,
        0.95,
        0.5,
        1.0,
        0.7,
        0.05,
        0.14,
        0.95,
        0.72,
    ],
    "t2_fs": [
        0,
        0.1,
        0.25,
        0.03,
        0.15,
        1.0,
        0.28,
        0.55,
        0.9,
        0.2,
        0.38,
        0.75,
        0.32,
        0.5,
        0.02,
        0.95,
        0.55,
        1.0,
        0.7,
        0.05,
        0.16,
        0.95,
        0.12,
    ],
    "bssfp": [
        0,
        0.8,
        0.3,
        0.04,
        0.6,
        0.95,
        0.3,
        0.45,
        0.6,
        0.3,
        0.35,
        0.7,
        0.33,
        0.5,
        0.02,
        0.9,
        0.55,
        1.0,
        0.75,
        0.9,
        0.25,
        0.9,
        0.75,
    ],
    "t1_gre": [
        0,
        0.9,
        0.35,
        0.04,
        0.8,
        0.12,
        0.33,
        0.4,
        0.42,
        0.37,
        0.38,
        0.3,
        0.36,
        0.55,
        0.02,
        0.15,
        0.45,
        0.1,
        0.3,
        0.6,
        0.37,
        0.12,
        0.85,
    ],
    "pd": [
        0,
        0.85,
        0.4,
        0.04,
        0.75,
        0.7,
        0.4,
        0.6,
        0.7,
        0.45,
        0.5,
        0.65,
        0.45,
        0.55,
        0.02,
        0.7,
        0.55,
        0.75,
        0.65,
        0.15,
        0.35,
        0.72,
        0.8,
    ],
}


# ----------------------------------------------------------------------------- parameters


def draw_params(seed: int) -> dict:
    """Deterministic, JSON-serialisable parameters of case ``seed``."""
    rng = np.random.default_rng([int(seed), 0x7B5])
    u = rng.uniform
    h, w = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    base = u(1.1, 1.5)
    sr = float(np.clip(base * u(0.97, 1.03), 1.1, 1.5))
    sc = float(np.clip(base * u(0.97, 1.03), 1.1, 1.5))
    state = str(rng.choice(UTERUS_STATES, p=[0.24, 0.22, 0.16, 0.12, 0.13, 0.13]))
    content = str(rng.choice(RECTAL_CONTENTS, p=[0.3, 0.3, 0.15, 0.25]))
    sev = float(u(0, 1) ** 1.5)
    anatomy = {
        "pelvis_scale": float(u(0.9, 1.1)),
        "pelvis_tilt_deg": float(u(-12, 12)),
        "subcut_fat_mm": float(u(6, 32)),
        "bladder_fill": float(u(0.03, 1.0)),
        "uterus_state": state,
        "uterus_length_mm": float(
            {"atrophic": u(35, 48), "fibroid_enlarged": u(75, 95)}.get(state, u(55, 75))
        ),
        "n_fibroids": int(rng.integers(1, 4)) if state == "fibroid_enlarged" else 0,
        "vaginal_gel": bool(u() < 0.35),
        "rectal_content": content,
        "rectal_radius_mm": float(
            {"empty": u(8, 11), "stool": u(14, 21), "gas": u(13, 20), "gel": u(17, 23)}[content]
        ),
        "prolapse_severity": sev,
        "prolapse_anterior": float(np.clip(sev * u(0.4, 1.3), 0, 1)),
        "prolapse_middle": float(np.clip(sev * u(0.3, 1.3), 0, 1))
        if state != "hysterectomy"
        else float(np.clip(sev * u(0.5, 1.4), 0, 1)),
        "prolapse_posterior": float(np.clip(sev * u(0.4, 1.3), 0, 1)),
        "rectocele_mm": float(u(0, 28) * (u() < 0.5)),
        "n_bowel_loops": int(rng.integers(3, 8)),
        "placement": [float(u(0.2, 0.8)), float(u(0.2, 0.8))],
    }
    manoeuvre = str(rng.choice(MANOEUVRES, p=[0.08, 0.3, 0.14, 0.24, 0.12, 0.12]))
    motion = {
        "manoeuvre": manoeuvre,
        "effort": float(u(0.55, 1.0)),
        "onset": float(u(0.1, 0.3)),
        "release": float(u(0.7, 0.9)),
        "drift_mm": float(u(0, 2.5)),
        "drift_deg": float(u(0, 1.5)),
    }
    seq = str(rng.choice(SEQUENCES, p=[0.4, 0.12, 0.22, 0.12, 0.14]))
    imaging = {
        "sequence": seq,
        "snr": float(np.exp(u(np.log(6), np.log(40)))),
        "n_coils": int(rng.integers(4, 13)),
        "bias_strength": float(u(0.0, 0.5)),
        "acq_fraction": [float(u(0.55, 0.95)), float(u(0.7, 1.0))],
        "phase_axis": int(rng.integers(0, 2)),
        "ghost_amplitude": float(u(0, 0.06)),
        "texture": float(u(0.03, 0.12)),
        "intensity_jitter": float(u(0.03, 0.12)),
        "artefact": str(
            rng.choice(["none", "zipper", "spike", "noisy_frame"], p=[0.7, 0.1, 0.1, 0.1])
        ),
        "scale": float(10 ** u(1, 3.5)),
        "slice_thickness_mm": float(u(5, 10)),
    }
    return {
        "seed": int(seed),
        "generator": PREFIX,
        "spacing_mm": [round(sr, 4), round(sc, 4)],
        "matrix": [h, w],
        "n_frames": int(rng.integers(16, 41)),
        "frame_interval_s": round(float(u(0.8, 2.0)), 3),
        "labels": dict(LABELS),
        "anatomy": anatomy,
        "motion": motion,
        "imaging": imaging,
    }


# ----------------------------------------------------------------------------- geometry


def _bspline_closed(ctrl: np.ndarray, per_seg: int = 16) -> np.ndarray:
    """Closed periodic uniform cubic B-spline through control polygon ``ctrl`` (N, 2)."""
    t = np.linspace(0, 1, per_seg, endpoint=False)
    b = (
        np.stack([(1 - t) ** 3, 3 * t**3 - 6 * t**2 + 4, -3 * t**3 + 3 * t**2 + 3 * t + 1, t**3], 1)
        / 6
    )
    n = len(ctrl)
    idx = (np.arange(n)[:, None] + np.arange(-1, 3)[None, :]) % n
    return np.einsum("tk,nkd->ntd", b, ctrl[idx]).reshape(-1, 2)


def _resample(pts: np.ndarray, radii: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    seg = np.r_[0, np.cumsum(np.hypot(*np.diff(pts, axis=0).T))]
    s = np.linspace(0, seg[-1], max(2, int(seg[-1] / step) + 2))
    return (
        np.stack([np.interp(s, seg, pts[:, 0]), np.interp(s, seg, pts[:, 1])], 1),
        np.interp(s, seg, radii),
    )


def _smooth_line(pts, n=60):
    """Catmull-Rom-like smooth poly line through points (via dense linear + gaussian)."""
    pts = np.asarray(pts, float)
    d, _ = _resample(pts, np.zeros(len(pts)), 1.0)
    if len(d) > 8:
        d[1:-1] = ndimage.gaussian_filter1d(d, 3, axis=0, mode="nearest")[1:-1]
    return d


def _inside(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd point in polygon test for points (M, 2) and polygon (N, 2), (y, x)."""
    y1, x1 = poly[:, 0][None], poly[:, 1][None]
    y2, x2 = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    py, px = pts[:, 0:1], pts[:, 1:2]
    cross = (y1 <= py) != (y2 <= py)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
    return ((cross & (xs > px)).sum(1) % 2) == 1


class _Grid:
    """Fine rest-anatomy grid in image mm (row, col) with pelvis-frame transform."""

    def __init__(self, fov, res, margin, origin, scale, tilt):
        self.res = res
        self.y0, self.x0 = -margin, -margin
        self.shape = (int((fov[0] + 2 * margin) / res) + 1, int((fov[1] + 2 * margin) / res) + 1)
        self.origin, self.scale = np.asarray(origin, float), scale
        c, s = np.cos(tilt), np.sin(tilt)
        self.rot = np.array([[c, -s], [s, c]])

    def to_img(self, p):
        return self.origin + self.scale * (np.asarray(p, float).reshape(-1, 2) @ self.rot.T)

    def to_idx(self, p):
        q = self.to_img(p)
        return np.stack([(q[:, 0] - self.y0) / self.res, (q[:, 1] - self.x0) / self.res], 1)

    def poly(self, p) -> np.ndarray:
        """Rasterise a pelvic-frame closed polygon (even-odd scanline)."""
        q = self.to_idx(p)
        h, w = self.shape
        y1, x1 = q[:, 0], q[:, 1]
        y2, x2 = np.roll(y1, -1), np.roll(x1, -1)
        rr, cc = [], []
        for a, b, c, d in zip(y1, x1, y2, x2, strict=True):
            if a == c:
                continue
            lo, hi = min(a, c), max(a, c)
            r = np.arange(max(0, int(np.ceil(lo))), min(h, int(np.ceil(hi))))
            if len(r) == 0:
                continue
            xs = b + (r - a) * (d - b) / (c - a)
            rr.append(r)
            cc.append(np.clip(np.ceil(xs), 0, w).astype(int))
        acc = np.zeros((h, w + 1), np.int32)
        if rr:
            np.add.at(acc, (np.concatenate(rr), np.concatenate(cc)), 1)
        return (np.cumsum(acc, 1)[:, :w] % 2) == 1

    def sweep(self, pts, radii) -> np.ndarray:
        """Union of discs along a pelvic-frame centre line with radii (mm)."""
        pts = np.asarray(pts, float).reshape(-1, 2)
        radii = np.broadcast_to(np.asarray(radii, float), (len(pts),)).copy()
        q = self.to_idx(pts)
        rr = radii * self.scale / self.res
        if len(q) > 1:
            q, rr = _resample(q, rr, max(0.5, 0.35 * max(rr.min(), 1.0)))
        m = rr.max() + 2
        h, w = self.shape
        r0, r1 = max(0, int(q[:, 0].min() - m)), min(h, int(q[:, 0].max() + m) + 1)
        c0, c1 = max(0, int(q[:, 1].min() - m)), min(w, int(q[:, 1].max() + m) + 1)
        out = np.zeros(self.shape, bool)
        if r1 <= r0 or c1 <= c0:
            return out
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float32)
        d = np.full(yy.shape, np.inf, np.float32)
        for (cy, cx), r in zip(q, rr, strict=True):
            np.minimum(d, np.hypot(yy - cy, xx - cx) - r, out=d)
        out[r0:r1, c0:c1] = d <= 0
        return out


def _push_out_ellipse(p, centre, axes, ang, margin):
    c, s = np.cos(ang), np.sin(ang)
    rel = p - centre
    u = rel @ np.array([c, s]) / (axes[0] + margin)
    v = rel @ np.array([-s, c]) / (axes[1] + margin)
    r = np.hypot(u, v)
    k = np.where(r < 1, 1 / np.maximum(r, 1e-3), 1.0)
    return centre + rel * k[:, None]


# ----------------------------------------------------------------------------- anatomy


def _build_rest(params: dict, grid: _Grid, rng: np.random.Generator):
    """Rest tissue map, label map, bone mask and landmarks (pelvic frame)."""
    a = params["anatomy"]
    sh = grid.shape
    tissue = np.zeros(sh, np.uint8)
    label = np.zeros(sh, np.uint8)
    j = lambda s=1.0: rng.normal(0, s)  # noqa: E731

    # body outline and fat / muscle layers
    body_pts = np.array(
        [
            (-320, -75),
            (-160, -78 + j(4)),
            (-70, -55 + j(3)),
            (-18, -40),
            (25, -22),
            (52, 2),
            (63, 30),
            (62, 58),
            (56, 90),
            (42, 122),
            (12, 152),
            (-60, 168 + j(4)),
            (-170, 168),
            (-320, 165),
        ]
    )
    fat = a["subcut_fat_mm"]
    body_pts[:6, 1] -= 0.5 * (fat - 15)
    body_pts[9:, 1] += 0.3 * (fat - 15)
    body = grid.poly(_bspline_closed(body_pts, 12))
    dist = ndimage.distance_transform_edt(body) * grid.res / grid.scale
    tissue[body] = PFAT
    tissue[body & (dist < fat + 12 + j(1))] = MUSCLE
    tissue[body & (dist < fat)] = FAT

    # symphysis
    s_ang = np.deg2rad(55 + j(4))
    s_axes = (19 + j(1), 7 + j(0.5))
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)

    def ell(ax, ay):
        return np.stack(
            [
                ax * np.cos(t) * np.cos(s_ang) - ay * np.sin(t) * np.sin(s_ang),
                ax * np.cos(t) * np.sin(s_ang) + ay * np.sin(t) * np.cos(s_ang),
            ],
            1,
        )

    bone = grid.poly(ell(*s_axes))
    marrow = grid.poly(ell(s_axes[0] - 2.5, s_axes[1] - 2.5))

    # sacrum / coccyx band and lumbar spine
    sac = np.array(
        [(-108, 110), (-82, 128), (-56, 138), (-31, 139), (-9, 131), (10, 119), (26, 101)], float
    )
    sac[:, 1] += j(4)
    sac_ht = np.array([16, 14, 12, 10, 8, 6, 4.5])
    bone |= grid.sweep(sac, sac_ht)
    marrow |= grid.sweep(sac[:5], sac_ht[:5] - 3)
    tang = np.gradient(sac, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    normal = np.stack([tang[:, 1], -tang[:, 0]], 1)  # points anterior
    sac_front = sac + normal * sac_ht[:, None]
    canal = grid.sweep(sac[:4] - normal[:4] * (0.45 * sac_ht[:4, None]), 3.0)
    lum = []
    for k in range(4):
        cy, cx = -140 - 38 * k, 100 - 8 * k + j(2)
        box = np.array(
            [(cy - 15, cx - 18), (cy - 15, cx + 18), (cy + 15, cx + 18), (cy + 15, cx - 18)]
        )
        bone |= grid.poly(_bspline_closed(np.repeat(box, 2, 0), 6))
        marrow |= grid.sweep([(cy - 8, cx), (cy + 8, cx)], 12)
        lum.append((cy + 19, cx))
    discs = np.zeros(sh, bool)
    for p in lum:
        discs |= grid.sweep([(p[0] - 1, p[1] - 14), (p[0] - 1, p[1] + 14)], 3.5)
    cord = grid.sweep([(-320, 142), (-100, 135)], 9)
    tissue[cord & body] = CSF
    aorta = grid.sweep([(-320, 68), (-150, 72), (-125, 72)], 9 + j(0.5))
    tissue[aorta & body] = VESSEL

    # bowel loops (unlabelled)
    def tube(pts, r, content, wall=2.5):
        m = grid.sweep(pts, r)
        tissue[m & body] = BOWEL
        tissue[grid.sweep(pts, max(r - wall, 1.0)) & body] = content

    for _ in range(a["n_bowel_loops"]):
        c0 = np.array([rng.uniform(-175, -75), rng.uniform(5, 95)])
        ang = rng.uniform(0, 2 * np.pi)
        pts = [
            c0 + 14 * np.array([np.cos(ang + k * 0.9), np.sin(ang + k * 0.9)]) * (1 + 0.3 * k)
            for k in range(4)
        ]
        tube(
            pts,
            rng.uniform(7, 12),
            rng.choice([FLUID, BOWEL, GAS, STOOL], p=[0.4, 0.3, 0.15, 0.15]),
        )

    # rectum centre line, constrained in front of the sacrum
    content = a["rectal_content"]
    r_amp = a["rectal_radius_mm"]
    front_y, front_x = sac_front[:, 0], sac_front[:, 1]
    y_top = sac[2, 0]  # S3 level: rectum -> sigmoid
    anus = np.array([62.0, 62 + j(2)])
    arj = np.array([33 + j(2), 76 + j(2)])
    ys = np.array([22, 4, -16, -36, y_top])
    xdef = np.array([93, 105, 110, 110, 108]) + j(2)
    radii = np.array([0.75, 0.95, 1.0, 0.9, 0.7]) * r_amp
    xs = np.minimum(xdef, np.interp(ys, front_y, front_x) - 4 - radii)
    rect_line = np.vstack([anus, arj, np.stack([ys, xs], 1)])
    rect_r = np.r_[7.5, 9.0, radii]
    # sigmoid continuing above S3
    sig = np.array(
        [
            rect_line[-1],
            rect_line[-1] + (-18, -6),
            rect_line[-1] + (-32, -30),
            rect_line[-1] + (-36, -58),
        ]
    )
    sig_content = {"empty": BOWEL, "stool": STOOL, "gas": GAS, "gel": GEL}[content]
    tube(sig, 11, sig_content if content != "empty" else STOOL, 3)

    # uterus_vagina: vault clamped in front of the rectum
    state = a["uterus_state"]
    rect_front = lambda y: np.interp(-y, -rect_line[:, 0], rect_line[:, 1] - rect_r)  # noqa: E731
    introitus = np.array([56.0, 27 + j(2)])
    vault = np.array([-18 + j(3), 62 + j(3)])
    cerv_r = 0 if state == "hysterectomy" else (10 if state == "atrophic" else 13)
    vault[1] = min(vault[1], rect_front(vault[0]) - 4 - max(cerv_r, 8))
    vag_r = 5.5 + j(0.4)
    vag_line = np.array([introitus, 0.5 * (introitus + vault) + (0, -3), vault])
    uv_line = [vag_line]
    uv_r = [np.r_[vag_r, vag_r, vag_r + 1]]
    axis = (vault - introitus) / np.linalg.norm(vault - introitus)
    ios = vault + axis * (28 if cerv_r else 0)
    body_poly = None
    fundus = vault.copy()
    if state != "hysterectomy":
        ios = vault + axis * (25 + j(2))
        uv_line.append(np.array([vault, ios]))
        uv_r.append(np.r_[cerv_r, cerv_r - 1])
        L = a["uterus_length_mm"]
        hw = {"atrophic": 0.33, "fibroid_enlarged": 0.45}.get(state, 0.38) * L
        pref = {
            "anteverted": 55,
            "anteflexed": 100,
            "retroverted": -55,
            "fibroid_enlarged": 40,
            "atrophic": 60,
        }[state] + j(8)
        # angle from the cervical axis, positive = anterior; rotate away from neighbours
        step = -6 if pref > 0 else 6
        bl_poly = _bladder_poly(a, rng, vault, introitus, cerv_r, vag_r, s_axes, s_ang)
        for _ in range(25):
            th = np.deg2rad(pref)
            ca, sa = np.cos(th), np.sin(th)
            d = np.array([axis[0] * ca - axis[1] * sa, axis[0] * sa + axis[1] * ca])
            n = np.array([d[1], -d[0]])
            prof = np.array([(0, cerv_r - 1), (0.15, 0.7), (0.45, 0.95), (0.75, 1.0), (0.95, 0.7)])
            left = [ios + d * f * L + n * (w if f == 0 else w * hw) for f, w in prof]
            right = [ios + d * f * L - n * (w if f == 0 else w * hw) for f, w in prof][::-1]
            ctrl = np.array(left + [ios + d * 1.08 * L] + right + [ios - d * 4])
            ctrl += rng.normal(0, 1.0, ctrl.shape)
            body_poly = _bspline_closed(ctrl, 10)
            bad = (
                _inside(body_poly, bl_poly).mean()
                + _inside(body_poly, _tube_poly(rect_line, rect_r + 3)).mean()
            )
            bad += float(
                (body_poly[:, 1] > np.interp(body_poly[:, 0], front_y, front_x) - 3).mean()
            )
            if bad <= 0.03:
                break
            pref += step
        fundus = ios + d * L
    else:
        bl_poly = _bladder_poly(a, rng, vault, introitus, cerv_r, vag_r, s_axes, s_ang)

    # urethra, perineal body, sphincter, levator plate (muscle)
    neck = np.array([3.0, 27.0])
    meatus = np.array([47.0, 16 + j(1.5)])
    for m in (
        grid.sweep([neck, 0.5 * (neck + meatus) + (0, 2), meatus], 4),
        grid.sweep([(52, 44)], 8),
        grid.sweep(rect_line[:2], 11),
        grid.sweep([arj + (6, 12), sac[-1] + (4, -4)], 4.5),
        grid.sweep([arj + (7, 11)], 6.5),
    ):
        tissue[m & body] = MUSCLE
    tissue[grid.sweep([neck, 0.5 * (neck + meatus) + (0, 2), meatus], 1.2) & body] = VLUMEN

    # rectum (label 3)
    rect = grid.sweep(rect_line, rect_r)
    rlum_r = np.maximum(rect_r - (3.5 if content != "empty" else 5.0), 1.0)
    rlum_r[:2] = 1.0
    rlum = grid.sweep(rect_line, rlum_r)
    tissue[rect] = RWALL
    tissue[rlum] = {"empty": VLUMEN, "stool": STOOL, "gas": GAS, "gel": GEL}[content]
    label[rect] = 3

    # uterus / vagina (label 2)
    uv = np.zeros(sh, bool)
    for ln, rr in zip(uv_line, uv_r, strict=True):
        uv |= grid.sweep(ln, rr)
    tissue[uv] = VWALL
    if state != "hysterectomy":
        cx = grid.sweep(uv_line[1], cerv_r)
        tissue[cx] = STROMA
        body_m = grid.poly(body_poly)
        tissue[body_m] = MYO
        uv |= body_m
        endo_r = 1.2 if state == "atrophic" else rng.uniform(2.5, 5)
        tissue[grid.sweep([ios, ios + (fundus - ios) * 0.8], endo_r) & body_m] = ENDO
        tissue[grid.sweep(uv_line[1], 1.5)] = VLUMEN
        for _ in range(a["n_fibroids"]):
            c = ios + (fundus - ios) * rng.uniform(0.35, 0.9)
            c += (
                np.array([(fundus - ios)[1], -(fundus - ios)[0]])
                / max(np.linalg.norm(fundus - ios), 1)
                * rng.uniform(-1, 1)
                * 15
            )
            ang = np.linspace(0, 2 * np.pi, 8, endpoint=False)
            rf = rng.uniform(9, 18)
            fm = grid.poly(
                _bspline_closed(
                    c
                    + rf
                    * np.stack([np.sin(ang), np.cos(ang)], 1)
                    * rng.uniform(0.85, 1.15, (8, 1)),
                    8,
                )
            )
            fm &= ~(label == 3) & ~bone
            tissue[fm] = FIBROID
            uv |= fm
    vlum_r = rng.uniform(2.5, 4.5) if a["vaginal_gel"] else 1.2
    tissue[grid.sweep(vag_line, [vlum_r, vlum_r, vlum_r])] = GEL if a["vaginal_gel"] else VLUMEN
    uv &= label == 0
    label[uv] = 2

    # bladder (label 1), painted last among organs but never over them
    bl = grid.poly(bl_poly) & (label == 0)
    wall = 2.5 + 3.5 * (1 - a["bladder_fill"])
    bl_in = ndimage.distance_transform_edt(bl) * grid.res / grid.scale
    tissue[bl] = BWALL
    tissue[bl & (bl_in > wall)] = URINE
    label[bl] = 1

    # bone last (rigid, never labelled)
    for lab in (1, 2, 3):
        label[(label == lab) & bone] = 0
    tissue[bone] = CORTEX
    tissue[marrow & bone] = MARROW
    tissue[discs & ~bone] = DISC
    tissue[canal] = CSF
    tissue[grid.sweep([(-5, -8), (10, -18)], 2.2) & ~bone & (label == 0)] = VESSEL  # dorsal vein
    tissue[~body] = AIR
    label[~body] = 0

    # keep the largest 4-connected piece of each label
    four = ndimage.generate_binary_structure(2, 1)
    for lab in (1, 2, 3):
        cc, n = ndimage.label(label == lab, four)
        if n > 1:
            keep = np.argmax(np.bincount(cc.ravel())[1:]) + 1
            drop = (cc > 0) & (cc != keep)
            label[drop] = 0
            tissue[drop] = PFAT

    # landmarks: (rest point, strain displacement, squeeze displacement, emptying displacement)
    pa, pm, pp = a["prolapse_anterior"], a["prolapse_middle"], a["prolapse_posterior"]
    dome = bl_poly[np.argmin(bl_poly[:, 0])]
    rect_mid = np.array([ys[2], xs[2] - radii[2]])
    collapse = max(0.0, 2 * radii[2] - 10) if content != "empty" else 0.0
    v = lambda y, x: np.array([y, x], float)  # noqa: E731
    moving = [
        (neck, v(1, 0.35) * (8 + 32 * pa), v(-0.6, -0.3) * 6, v(0, 0)),
        (neck + (-12, 20), v(1, 0.15) * (6 + 30 * pa), v(-0.5, -0.2) * 5, v(0, 0)),
        (dome, v(1, 0.1) * (4 + 10 * pa), v(0, 0), v(0, 0)),
        (0.5 * (neck + meatus), v(0.7, 0.6) * (4 + 16 * pa), v(-0.5, -0.4) * 4, v(0, 0)),
        (vault, v(1, -0.25) * (5 + 42 * pm), v(-0.7, -0.3) * 6, v(0, 0)),
        (fundus, v(1, 0) * (4 + 22 * pm), v(0, 0), v(0, 0)),
        (0.5 * (introitus + vault), v(1, 0) * (4 + 22 * max(pm, pa)), v(-0.6, -0.4) * 5, v(0, 0)),
        (rect_mid, v(0.3, -1) * a["rectocele_mm"] + v(1, 0) * 6 * pp, v(0, 0), v(0, 1) * collapse),
        (arj, v(1, 0.4) * (8 + 26 * pp), v(-0.7, -0.6) * 8, v(0.5, 0.2) * 6),
        (anus, v(1, 0.25) * (6 + 18 * pp), v(-0.8, -0.4) * 5, v(0.5, 0) * 5),
        (v(60, 45), v(1, 0.1) * (5 + 16 * max(pp, pa)), v(-1, 0) * 5, v(0, 0)),
        (arj + (7, 16), v(1, 0.1) * (5 + 14 * pp), v(-0.8, -0.3) * 5, v(0, 0)),
        (v(-80, -60 - 0.5 * (fat - 15)), v(0, -1) * 8, v(0, 0), v(0, 0)),
        (v(-110, 55), v(1, 0.1) * (8 + 16 * pm), v(0, 0), v(0, 0)),
    ]
    fixed = [v(-16, -11), v(0, 0), v(16, 11), v(-14, 12)] + list(sac) + [v(-140, 100), v(-180, 90)]
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    fixed += [v(-40, 60) + 240 * np.array([np.sin(q), np.cos(q)]) for q in ang]
    return tissue, label, bone, moving, fixed


def _tube_poly(line, radii):
    """Rough outline of a swept tube for overlap tests (pelvic frame)."""
    d, r = _resample(np.asarray(line, float), np.asarray(radii, float), 2.0)
    t = np.gradient(d, axis=0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-6)
    n = np.stack([t[:, 1], -t[:, 0]], 1)
    return np.vstack([d + n * r[:, None], (d - n * r[:, None])[::-1]])


def _bladder_poly(a, rng, vault, introitus, cerv_r, vag_r, s_axes, s_ang):
    f = a["bladder_fill"]
    neck = np.array([3.0, 27.0])
    ay, ax = 9 + 40 * f, 17 + 34 * f
    c = neck + np.array([-ay * 0.9, ax * 0.12])
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    rad = 1 + rng.normal(0, 0.06, 12)
    ctrl = (
        c
        + np.stack([ay * np.cos(ang), ax * np.sin(ang) * (1 - 0.25 * (np.cos(ang) > 0))], 1)
        * rad[:, None]
    )
    ctrl[np.argmax(ctrl[:, 0])] = neck + (1, 0)
    poly = _bspline_closed(ctrl, 14)
    poly = _push_out_ellipse(poly, np.zeros(2), s_axes, s_ang, 3.0)
    # clamp behind: in front of vagina / cervix
    line = np.array(
        [introitus, vault, vault + (vault - introitus) / np.linalg.norm(vault - introitus) * 25]
    )
    rr = np.array([vag_r, max(cerv_r, vag_r), max(cerv_r, vag_r)])
    lim = np.interp(-poly[:, 0], -line[:, 0], line[:, 1] - rr) - 3.5
    mask = (poly[:, 0] > line[-1, 0]) & (poly[:, 0] < line[0, 0])
    poly[:, 1] = np.where(mask, np.minimum(poly[:, 1], lim), poly[:, 1])
    poly[:, 1] = np.maximum(poly[:, 1], -(30 + 0.5 * (a["subcut_fat_mm"] - 15)) + 12)
    return poly


# ----------------------------------------------------------------------------- dynamics


def _profile(motion: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """Driver values (n, 3): strain, squeeze, emptying over normalised time."""
    t = (np.arange(n) + 0.5) / n
    m, e = motion["manoeuvre"], motion["effort"]
    on, off = motion["onset"], motion["release"]
    ramp = lambda a, b, w=0.08: np.clip((t - a) / w, 0, 1) * np.clip((b - t) / w, 0, 1)  # noqa: E731
    s = 0.03 * np.sin(2 * np.pi * t * 3 + rng.uniform(0, 6))
    q = np.zeros(n)
    em = np.zeros(n)
    if m == "valsalva":
        s = s + e * ramp(on, off, 0.12)
    elif m == "squeeze":
        q = e * ramp(on, off, 0.1)
    elif m == "defecation":
        s = s + e * ramp(on, 1.5, 0.15)
        em = np.clip((t - (on + off) / 2) / 0.25, 0, 1)
    elif m == "cough":
        for c in rng.uniform(0.2, 0.85, 3):
            s = s + 0.6 * e * np.exp(-0.5 * ((t - c) / 0.03) ** 2)
    elif m == "squeeze_valsalva":
        mid = (on + off) / 2
        q = e * ramp(on, mid - 0.05, 0.08)
        s = s + e * ramp(mid + 0.05, off + 0.1, 0.1)
    return np.stack([s, q, em], 1)


def _tps_fit(src: np.ndarray, val: np.ndarray, lam: float = 1e-3):
    n = len(src)
    d = np.hypot(*(src[:, None] - src[None]).transpose(2, 0, 1))
    k = np.where(d > 0, d**2 * np.log(d + 1e-12), 0) + lam * np.eye(n)
    p = np.c_[np.ones(n), src]
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = val
    return np.linalg.solve(a, rhs)


def _tps_eval(coef: np.ndarray, src: np.ndarray, pts: np.ndarray) -> np.ndarray:
    d = np.hypot(pts[:, None, 0] - src[None, :, 0], pts[:, None, 1] - src[None, :, 1])
    k = np.where(d > 0, d**2 * np.log(d + 1e-12), 0)
    n = len(src)
    return k @ coef[:n] + coef[n] + pts @ coef[n + 1 :]


# ----------------------------------------------------------------------------- render


def render(params: dict):
    """Frames float32 (T, H, W), labels uint8 (T, H, W), spacing (row, col) mm, params."""
    seed = int(params["seed"])
    a, mo, im = params["anatomy"], params["motion"], params["imaging"]
    h, w = (int(v) for v in params["matrix"])
    sr, sc = (float(v) for v in params["spacing_mm"])
    T = int(params["n_frames"])
    fov = (h * sr, w * sc)
    scale = a["pelvis_scale"]
    tilt = np.deg2rad(a["pelvis_tilt_deg"])
    # place the organ bounding box (pelvic frame) inside the field of view
    c, s = np.cos(tilt), np.sin(tilt)
    box = np.array([(y, x) for y in (-142, 74) for x in (-30, 140)], float)
    rb = scale * box @ np.array([[c, -s], [s, c]]).T
    lo, hi = rb.min(0), rb.max(0)
    origin = []
    for k, f in enumerate((fov[0], fov[1])):
        a0, a1 = -lo[k] + 4, f - hi[k] - 4
        origin.append(a0 + a["placement"][k] * (a1 - a0) if a1 > a0 else (a0 + a1) / 2)
    res = max(0.6, min(sr, sc) / 2.2)
    grid = _Grid(fov, res, 40.0, origin, scale, tilt)
    rng_a = np.random.default_rng([seed, 11])
    tissue, label, bone, moving, fixed = _build_rest(params, grid, rng_a)

    # fine intensity image
    rng_t = np.random.default_rng([seed, 12])
    table = np.array(_TABLE[im["sequence"]], float)
    table = table * (1 + im["intensity_jitter"] * rng_t.normal(0, 1, len(table)))
    table = np.clip(table, 0, None)
    img = table[tissue].astype(np.float32)
    tex = ndimage.gaussian_filter(rng_t.normal(0, 1, tissue.shape).astype(np.float32), 2.0 / res)
    tex /= tex.std() + 1e-6
    img *= np.clip(1 + im["texture"] * tex, 0.5, 1.5)
    stool = tissue == STOOL
    if stool.any():
        blobs = ndimage.gaussian_filter(
            rng_t.normal(0, 1, tissue.shape).astype(np.float32), 1.5 / res
        )
        img[stool] *= np.clip(1 + 2.5 * blobs[stool] / (blobs.std() + 1e-6) * 0.2, 0.3, 1.7)
    bone_dist = ndimage.distance_transform_edt(~bone).astype(np.float32) * res

    # landmarks in image mm
    rest = grid.to_img(np.array([m[0] for m in moving]))
    R = grid.rot * scale
    disp = [np.array([m[k] for m in moving]) @ R.T for k in (1, 2, 3)]
    fixed_img = grid.to_img(np.array(fixed))
    prof = _profile(mo, T, rng_t)

    # drift: smooth random walk
    rng_d = np.random.default_rng([seed, 13])
    walk = ndimage.gaussian_filter1d(rng_d.normal(0, 1, (T + 8, 3)), 3, axis=0)[4 : T + 4]
    walk /= np.abs(walk).max(0) + 1e-9
    shift = walk[:, :2] * mo["drift_mm"]
    rot = np.deg2rad(walk[:, 2] * mo["drift_deg"])

    # output sample positions (2x supersampling) and a coarse grid for the TPS
    ry = (np.arange(2 * h) - 0.5) * sr / 2
    rx = (np.arange(2 * w) - 0.5) * sc / 2
    PY, PX = np.meshgrid(ry, rx, indexing="ij")
    cstep = 6
    cy = np.arange(0, 2 * h + cstep, cstep)
    cx = np.arange(0, 2 * w + cstep, cstep)
    CY, CX = np.meshgrid(ry[0] + cy * sr / 2, rx[0] + cx * sc / 2, indexing="ij")
    cpts = np.stack([CY.ravel(), CX.ravel()], 1)
    ctr = np.asarray(origin)

    frames = np.zeros((T, h, w), np.float32)
    labels = np.zeros((T, h, w), np.uint8)
    onehot = np.zeros((4, h, w), np.int16)
    for ti in range(T):
        d = sum(prof[ti, k] * disp[k] for k in range(3))
        src = np.vstack([rest + d, fixed_img])
        val = np.vstack([-d, np.zeros_like(fixed_img)])
        coef = _tps_fit(src, val)
        u = _tps_eval(coef, src, cpts).reshape(CY.shape + (2,))
        # rigid drift (backward): body point = R(-a)(p - c - t) + c
        ca, sa = np.cos(rot[ti]), np.sin(rot[ti])
        by = PY - ctr[0] - shift[ti, 0]
        bx = PX - ctr[1] - shift[ti, 1]
        qy = ca * by + sa * bx + ctr[0]
        qx = -sa * by + ca * bx + ctr[1]
        # TPS displacement at body point (coarse grid indices)
        iy = (qy - CY[0, 0]) / (cstep * sr / 2)
        ix = (qx - CX[0, 0]) / (cstep * sc / 2)
        uy = ndimage.map_coordinates(u[..., 0], [iy, ix], order=1, mode="nearest")
        ux = ndimage.map_coordinates(u[..., 1], [iy, ix], order=1, mode="nearest")
        gi, gj = (qy - grid.y0) / res, (qx - grid.x0) / res
        wb = np.clip(
            1 - ndimage.map_coordinates(bone_dist, [gi, gj], order=1, mode="nearest") / 10.0, 0, 1
        )
        gi = gi + (1 - wb) * uy / res
        gj = gj + (1 - wb) * ux / res
        sample = ndimage.map_coordinates(img, [gi, gj], order=1, mode="nearest")
        frames[ti] = sample.reshape(h, 2, w, 2).mean((1, 3))
        lab = ndimage.map_coordinates(label, [gi, gj], order=0, mode="nearest").reshape(h, 2, w, 2)
        for k in range(4):
            onehot[k] = (lab == k).sum((1, 3))
        onehot[0] -= 1  # ties go to the organ
        labels[ti] = np.argmax(onehot, 0)

    # keep largest 4-connected piece per label per frame
    four = ndimage.generate_binary_structure(2, 1)
    for ti in range(T):
        for lab in (1, 2, 3):
            cc, n = ndimage.label(labels[ti] == lab, four)
            if n > 1:
                keep = np.argmax(np.bincount(cc.ravel())[1:]) + 1
                labels[ti][(cc > 0) & (cc != keep)] = 0

    frames = _acquire(frames, params, np.random.default_rng([seed, 14]), origin)
    return frames, labels, (sr, sc), params


def _acquire(clean: np.ndarray, params: dict, rng: np.random.Generator, origin) -> np.ndarray:
    im = params["imaging"]
    T, h, w = clean.shape
    pa = im["phase_axis"] + 1
    # low acquired resolution: k-space truncation with a mild taper
    fr, fc = im["acq_fraction"] if pa == 1 else im["acq_fraction"][::-1]
    ky = np.abs(np.fft.fftfreq(h)) * 2
    kx = np.abs(np.fft.fftfreq(w)) * 2
    win = lambda k, f: np.clip((f - k) / 0.08 + 0.5, 0, 1)  # noqa: E731
    filt = win(ky, fr)[:, None] * win(kx, fc)[None, :]
    out = np.real(np.fft.ifft2(np.fft.fft2(clean, axes=(1, 2)) * filt, axes=(1, 2)))
    # motion ghosts along the phase axis
    g = im["ghost_amplitude"] * (0.5 + rng.uniform(0, 1, T))
    n_ph = out.shape[pa]
    sh = int(n_ph * rng.uniform(0.15, 0.35))
    out = out + g[:, None, None] * 0.5 * (np.roll(out, sh, axis=pa) + np.roll(out, -sh, axis=pa))
    out = np.clip(out, 0, None)
    # bias field (polynomial) and coil sensitivities
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    cf = rng.normal(0, 1, 6) * im["bias_strength"] / 2
    bias = np.exp(cf[0] * yy + cf[1] * xx + cf[2] * yy * xx + cf[3] * yy**2 + cf[4] * xx**2)
    nc = im["n_coils"]
    cen = np.stack(
        [
            rng.uniform(-0.9, 0.9, nc),
            np.where(np.arange(nc) % 2, -1.15, 1.15) + rng.normal(0, 0.1, nc),
        ],
        1,
    )
    wid = rng.uniform(0.5, 0.9, nc)
    sens = np.exp(
        -((yy[None] - cen[:, 0, None, None]) ** 2 + (xx[None] - cen[:, 1, None, None]) ** 2)
        / (2 * wid[:, None, None] ** 2)
    )
    phase = rng.uniform(-2, 2, (nc, 3))
    sens = sens * np.exp(
        1j * (phase[:, 0, None, None] + phase[:, 1, None, None] * yy + phase[:, 2, None, None] * xx)
    )
    sens /= np.sqrt((np.abs(sens) ** 2).sum(0)).mean()
    sig = out * bias[None]
    body = clean > 0.2 * clean.max()
    mean_sig = float(sig[body].mean()) if body.any() else float(sig.mean() + 1e-6)
    sigma = mean_sig / im["snr"]
    frames = np.empty_like(clean)
    noisy_frame = int(rng.integers(0, T)) if im["artefact"] == "noisy_frame" else -1
    spike_frame = int(rng.integers(0, T)) if im["artefact"] == "spike" else -1
    for t in range(T):
        sd = sigma * (2.5 if t == noisy_frame else 1.0)
        coil = sig[t][None] * sens + sd * (
            rng.normal(0, 1, sens.shape) + 1j * rng.normal(0, 1, sens.shape)
        )
        if t == spike_frame:
            k = np.fft.fft2(coil, axes=(1, 2))
            ky_, kx_ = rng.integers(2, h // 3), rng.integers(2, w // 3)
            k[:, ky_, kx_] += np.abs(k).max() * 0.05
            coil = np.fft.ifft2(k, axes=(1, 2))
        frames[t] = np.sqrt((np.abs(coil) ** 2).sum(0))
    if im["artefact"] == "zipper":
        col = int(rng.integers(w // 5, 4 * w // 5))
        frames[:, :, col] += np.abs(rng.normal(0, 3 * sigma, (T, h)))
    frames *= im["scale"] / max(mean_sig, 1e-6)
    return np.clip(frames, 0, None).astype(np.float32)


def generate(seed: int):
    """``render(draw_params(seed))``."""
    return render(draw_params(seed))


# ----------------------------------------------------------------------------- CLI


def _write_case(seed: int, out: str) -> str:
    params = draw_params(seed)
    frames, labels, spacing, params = render(params)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    dt = params["frame_interval_s"]
    seq = params["imaging"]["sequence"]
    tag = {"t2_ssfse": "t2 ssfse", "t2_fs": "t2 fs", "bssfp": "bssfp", "t1_gre": "t1", "pd": "pd"}[
        seq
    ]
    subject = f"TPS{seed:03d}"
    series = CineSeries(
        frames=frames,
        spacing_mm=tuple(spacing),
        times_s=np.arange(len(frames)) * dt,
        meta={"series_description": f"TPS dynamic sagittal pelvis ({tag})", "subject_id": subject},
    )
    write_dicom_series(
        series,
        case / "series",
        seed=seed,
        patient_name=f"TPS^{seed:03d}",
        patient_id=subject,
        slice_thickness_mm=params["imaging"]["slice_thickness_mm"],
    )
    np.save(case / "truth.npy", labels.astype(np.uint8))
    (case / "params.json").write_text(json.dumps(params, indent=2))
    a = params["anatomy"]
    return (
        f"{case.name}: {frames.shape[0]}x{frames.shape[1]}x{frames.shape[2]} {seq} "
        f"{params['motion']['manoeuvre']} uterus={a['uterus_state']} rectum={a['rectal_content']} "
        f"bladder={a['bladder_fill']:.2f} snr={params['imaging']['snr']:.1f}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="100-195")
    ap.add_argument("--out", default="tps_cases")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    for line in map_jobs(functools.partial(_write_case, out=args.out), seeds, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
