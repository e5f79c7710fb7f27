"""Labelled synthetic cine mid-sagittal female pelvic MRI: superquadric anatomy, SVF dynamics.

The "svf" generator is an independent test-data source: it shares no code with the rest of
the repository apart from the DICOM writer and the seed helpers.

Anatomy
    Every structure is a union of 2-D superquadric primitives.  A primitive has a centre, two
    semi-axes, an orientation, two exponents (round ellipse at 2, boxy above), a bend (the
    long axis becomes a parabola whose sagitta is ``bend * a``) and a taper (the short axis
    grows linearly along the long axis).  Primitives are placed in a *pelvic frame* with its
    origin at the inferior point of the pubic symphysis (X posterior, Z cranial, mm); the
    frame is scaled and tilted per patient and placed in the field of view so that the
    labelled organs fit.  The bony frame is the symphysis (cortex, marrow, interpubic disc),
    the sacrum as five segments along a cubic-spline anterior curve of drawn curvature with
    its canal and crest, a coccyx that ends the pubococcygeal line, and the lumbar spine
    (bodies, discs with nucleus, canal with CSF and cauda equina, spinous processes) with a
    drawn lordosis.  The body outline is analytic: a vertical back line where the patient
    lies on the table, an anterior wall that bulges cranially and wraps a full bladder, and a
    perineal curve; subcutaneous fat and skin come from the distance to the outline, with
    rectus, paraspinal, levator plate, puborectalis, external sphincter and perineal body
    muscles, flow voids, small-bowel loops, sigmoid loops and fat planes between them.

    Labelled organs: 1 bladder (lumen and wall; wall thicker when empty, optionally
    trabeculated, optionally a diverticulum), 2 uterus_vagina (uterine body with endometrium,
    junctional zone and myometrium, cervix with canal and Nabothian cysts, fibroids, an IUD
    void, and the vagina with a mucus line or distending gel), 3 rectum (ampulla following
    the sacral curve, upper rectum, anal canal; empty, stool with gas bubbles, gas with a
    dependent level, or rectal gel).  Uterine states: anteverted-anteflexed, anteverted,
    retroverted-retroflexed, retroverted, enlarged with fibroids, postmenopausal atrophic,
    and post-hysterectomy (vagina up to a rounded vault).  Ovarian cysts and a ring
    pessary (two dark cross-sections in the vagina) are unlabelled.  Organs never overlap:
    the visceral structures (the three organs, urethra, bowel, ovarian cysts) partition the
    pelvis by the smallest normalised implicit distance, so organs that press on each other
    share one border; bone, then the pessary, take priority; each label keeps its largest
    4-connected piece.  The uterine body is rotated or shortened until it no longer runs
    into bone and overlaps the bladder or rectum only moderately.

Dynamics
    Frame t is the rest anatomy warped by ``D_t o exp(v_t)``: ``v_t`` is a sum of smooth
    velocity fields (Gaussian-windowed, zero on bone and at the table) for pelvic-floor
    descent, bladder-base descent (cystocele), cervical / vault prolapse, rectocele bulge,
    perineal descent, abdominal push, pelvic-floor lift (squeeze), rectal emptying (a sink)
    and breathing, each times a manoeuvre profile over time (rest, Valsalva, squeeze/Kegel,
    defecation with evacuation of rectal content, cough, Valsalva then squeeze).  The
    exponential is integrated by scaling and squaring on a coarse grid, ``D_t`` is a slow
    rigid drift of the patient.  Image, fat image, rectal-content map and labels are
    resampled with the very same backward map (linear for images, nearest for labels) on a
    2x supersampled grid, then 2x2 averaged (image) or majority-voted (labels).

Imaging
    Per-contrast tissue intensities (T2 single-shot / turbo spin echo, T2 fat-suppressed,
    bSSFP, T1 gradient echo with dark urine) with per-case jitter, tissue texture, a water
    and a separate fat image (fat fraction per tissue) combined with a fat-water phase
    (opposed-phase dark rims in bSSFP and opposed-phase T1), chemical-shift displacement of
    fat along the readout, through-plane partial volume from the slice thickness, surface-
    or body-coil shading and 3 T dielectric shading, fat-suppression failure, bSSFP banding,
    residual SENSE fold-over, k-space truncation (low acquired resolution, Gibbs ringing),
    partial-Fourier and single-shot T2 blur, motion ghosts, spikes (herringbone), zipper
    lines, complex k-space noise (Rician magnitude) at a drawn SNR, and an arbitrary global
    intensity scale.  Rows run head to feet and columns anterior to posterior.

Usage: ``python benchmarks/svf_generator.py --seeds 100-195 --out svf_cases --workers 2``
writes ``svf_cases/svf_XXX/series/`` (DICOM), ``truth.npy`` (uint8 T,H,W) and
``params.json`` per seed.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from scipy.interpolate import CubicSpline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

PREFIX = "svf"
LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}

UTERUS_STATES = (
    "anteverted_anteflexed",
    "anteverted",
    "retroverted_retroflexed",
    "retroverted",
    "enlarged_fibroids",
    "postmenopausal_atrophic",
    "hysterectomy",
)
MANOEUVRES = ("rest", "valsalva", "squeeze", "defecation", "cough", "valsalva_squeeze")
SEQUENCES = {  # sequence: (contrast, DICOM description tag)
    "bssfp": ("bSSFP", "bssfp"),
    "ssfse": ("T2", "t2"),
    "tse": ("T2", "t2"),
    "ssfse_fs": ("T2FS", "t2"),
    "tse_fs": ("T2FS", "t2"),
    "gre_t1": ("T1", "t1"),
}
CONTRASTS = ("T2", "T2FS", "bSSFP", "T1")

# tissue: (water signal T2, T2FS, bSSFP, T1), fat fraction, texture amplitude
TISSUES: dict[str, tuple[tuple[float, float, float, float], float, float]] = {
    "air": ((0.0, 0.0, 0.0, 0.0), 0.0, 0.0),
    "fat": ((0.0, 0.0, 0.0, 0.0), 1.0, 0.07),
    "skin": ((0.42, 0.5, 0.38, 0.45), 0.3, 0.06),
    "muscle": ((0.19, 0.24, 0.2, 0.36), 0.0, 0.1),
    "cortex": ((0.03, 0.03, 0.03, 0.04), 0.0, 0.02),
    "marrow": ((0.2, 0.26, 0.26, 0.28), 0.55, 0.14),
    "cartilage": ((0.3, 0.36, 0.32, 0.33), 0.0, 0.06),
    "disc": ((0.72, 0.82, 0.62, 0.28), 0.0, 0.07),
    "csf": ((1.0, 1.0, 1.0, 0.07), 0.0, 0.02),
    "nerve": ((0.36, 0.42, 0.4, 0.3), 0.0, 0.05),
    "urine": ((1.0, 1.0, 1.0, 0.08), 0.0, 0.015),
    "bladder_wall": ((0.16, 0.21, 0.24, 0.34), 0.0, 0.05),
    "myometrium": ((0.5, 0.6, 0.44, 0.37), 0.0, 0.09),
    "junctional": ((0.2, 0.26, 0.28, 0.36), 0.0, 0.05),
    "endometrium": ((0.86, 0.92, 0.72, 0.31), 0.0, 0.05),
    "cervix": ((0.14, 0.19, 0.25, 0.35), 0.0, 0.06),
    "cervical_canal": ((0.8, 0.88, 0.78, 0.3), 0.0, 0.03),
    "naboth": ((0.95, 0.97, 0.95, 0.14), 0.0, 0.01),
    "vagina_wall": ((0.3, 0.38, 0.32, 0.36), 0.0, 0.09),
    "vagina_lumen": ((0.62, 0.72, 0.55, 0.3), 0.0, 0.05),
    "gel": ((0.93, 0.95, 0.96, 0.12), 0.0, 0.02),
    "rectal_wall": ((0.27, 0.34, 0.3, 0.36), 0.0, 0.08),
    "mucosa": ((0.55, 0.66, 0.5, 0.34), 0.0, 0.06),
    "stool": ((0.36, 0.34, 0.46, 0.55), 0.05, 0.32),
    "gas": ((0.01, 0.01, 0.01, 0.01), 0.0, 0.0),
    "fibroid": ((0.12, 0.16, 0.22, 0.34), 0.0, 0.14),
    "device": ((0.02, 0.02, 0.02, 0.02), 0.0, 0.0),
    "bowel_wall": ((0.3, 0.38, 0.34, 0.4), 0.0, 0.08),
    "bowel_fluid": ((0.85, 0.9, 0.92, 0.14), 0.0, 0.08),
    "chyme": ((0.5, 0.55, 0.6, 0.45), 0.02, 0.28),
    "cyst": ((0.96, 0.97, 0.96, 0.12), 0.0, 0.01),
    "cyst_wall": ((0.25, 0.3, 0.3, 0.36), 0.0, 0.04),
    "urethra": ((0.3, 0.36, 0.3, 0.35), 0.0, 0.06),
    "vessel": ((0.05, 0.06, 0.92, 0.55), 0.0, 0.05),
    "sphincter": ((0.24, 0.3, 0.27, 0.36), 0.0, 0.06),
    "perineal": ((0.18, 0.22, 0.22, 0.34), 0.0, 0.06),
}
TISSUE_NAMES = tuple(TISSUES)
TID = {name: i for i, name in enumerate(TISSUE_NAMES)}
FAT_SIGNAL = {"T2": 0.85, "T2FS": 0.07, "bSSFP": 0.8, "T1": 0.93}
OWNERS = ("bladder", "uv", "rectum", "urethra", "bowel", "ovary")
OWNER_LABEL = {"bladder": 1, "uv": 2, "rectum": 3}


# ----------------------------------------------------------------------------- geometry


def _unit(deg: float) -> np.ndarray:
    t = math.radians(deg)
    return np.array([math.cos(t), math.sin(t)])


def _ang(v) -> float:
    return math.degrees(math.atan2(float(v[1]), float(v[0])))


class Prim:
    """One 2-D superquadric with bend and taper, in pelvic coordinates (X posterior, Z cranial).

    Inside where ``|u/a|^ex + |v'/b'|^ey < 1`` with u along the axis at ``ang`` degrees,
    ``v' = v - bend*a*(1-(u/a)^2)`` and ``b' = b*(1 + taper*u/a)``.
    """

    __slots__ = ("cx", "cz", "a", "b", "ang", "ex", "ey", "bend", "taper")

    def __init__(self, cx, cz, a, b, ang, ex=2.0, ey=2.0, bend=0.0, taper=0.0):
        self.cx, self.cz = float(cx), float(cz)
        self.a, self.b = max(float(a), 0.4), max(float(b), 0.3)
        self.ang, self.ex, self.ey = float(ang), float(ex), float(ey)
        self.bend, self.taper = float(bend), float(taper)

    def resized(self, da: float, db: float | None = None) -> Prim:
        """The same primitive with semi-axes changed by da / db (same sagitta of the bend)."""
        db = da if db is None else db
        a = max(self.a + da, 0.4)
        return Prim(self.cx, self.cz, a, self.b + db, self.ang, self.ex, self.ey,
                    self.bend * self.a / a, self.taper)

    def with_b(self, b: float, a_scale: float = 1.0) -> Prim:
        a = self.a * a_scale
        return Prim(self.cx, self.cz, a, b, self.ang, self.ex, self.ey,
                    self.bend * self.a / a, self.taper)

    def reach(self) -> float:
        return max(self.a, self.b * (1 + abs(self.taper))) + abs(self.bend) * self.a + 1.0

    def F(self, X, Z):
        t = math.radians(self.ang)
        c, s = math.cos(t), math.sin(t)
        dx = X - self.cx
        dz = Z - self.cz
        u = (dx * c + dz * s) / self.a
        uc = np.clip(u, -1.0, 1.0)
        v = -dx * s + dz * c
        if self.bend:
            v = v - self.bend * self.a * (1.0 - uc * uc)
        bb = self.b * np.maximum(1.0 + self.taper * uc, 0.15) if self.taper else self.b
        au, av = np.abs(u), np.abs(v / bb)
        fu = au * au if self.ex == 2.0 else au ** self.ex
        fv = av * av if self.ey == 2.0 else av ** self.ey
        return fu + fv

    def d(self, X, Z):
        """Approximate signed distance (mm, negative inside)."""
        return (np.sqrt(self.F(X, Z)) - 1.0) * min(self.a, self.b)


def _seg(p0, p1, b, pad=0.0, **kw) -> Prim:
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    c = (p0 + p1) / 2
    return Prim(c[0], c[1], np.linalg.norm(p1 - p0) / 2 + pad, b, _ang(p1 - p0), **kw)


def _circ(c, r, ex=2.0) -> Prim:
    return Prim(c[0], c[1], r, r, 0.0, ex, ex)


class Grid:
    """A pixel grid in image mm (x right = posterior, y down = caudal) with the similarity
    transform to pelvic coordinates: image = isp + s * Rot(rho) (X, -Z)."""

    def __init__(self, shape, dy, dx, isp, s, rho_deg):
        self.shape = (int(shape[0]), int(shape[1]))
        self.dy, self.dx = float(dy), float(dx)
        self.isp = (float(isp[0]), float(isp[1]))
        self.s = float(s)
        self.rho = math.radians(rho_deg)
        self.c, self.sn = math.cos(self.rho), math.sin(self.rho)
        self.y = (np.arange(self.shape[0]) + 0.5) * self.dy
        self.x = (np.arange(self.shape[1]) + 0.5) * self.dx
        rx = self.x[None, :] - self.isp[0]
        ry = self.y[:, None] - self.isp[1]
        self.X = (self.c * rx + self.sn * ry) / self.s
        self.Z = (self.sn * rx - self.c * ry) / self.s

    def to_img(self, X, Z):
        return (self.isp[0] + self.s * (self.c * X + self.sn * Z),
                self.isp[1] + self.s * (self.sn * X - self.c * Z))

    def dir_img(self, dX, dZ):
        return self.c * dX + self.sn * dZ, self.sn * dX - self.c * dZ

    def box(self, p: Prim):
        x, y = self.to_img(p.cx, p.cz)
        r = p.reach() * self.s
        r0 = max(int((y - r) / self.dy - 1), 0)
        r1 = min(int((y + r) / self.dy + 2), self.shape[0])
        c0 = max(int((x - r) / self.dx - 1), 0)
        c1 = min(int((x + r) / self.dx + 2), self.shape[1])
        if r1 <= r0 or c1 <= c0:
            return None
        return slice(r0, r1), slice(c0, c1)

    def field(self, prims, out=None):
        d = np.full(self.shape, 1e4, np.float32) if out is None else out
        for p in prims:
            sl = self.box(p)
            if sl is not None:
                np.minimum(d[sl], p.d(self.X[sl], self.Z[sl]), out=d[sl])
        return d

    def mask(self, prims, rough=None, amp=0.0):
        m = np.zeros(self.shape, bool)
        for p in prims:
            sl = self.box(p)
            if sl is None:
                continue
            F = p.F(self.X[sl], self.Z[sl])
            if rough is None:
                m[sl] |= F < 1.0
            else:  # a wavy boundary: the approximate distance against a noise field (mm)
                m[sl] |= (np.sqrt(F) - 1.0) * min(p.a, p.b) < amp * rough[sl]
        return m


def _coarse_grid(step=2.5) -> Grid:
    """A pelvic-frame grid (rho 0, s 1) covering X -130..230, Z -100..300, for fitting."""
    h, w = int(400 / step), int(360 / step)
    return Grid((h, w), step, step, (130.0, 300.0), 1.0, 0.0)


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


# ----------------------------------------------------------------------------- parameters


def draw_params(seed: int) -> dict:
    """Draw all case parameters of one seed (deterministic, JSON-serialisable)."""
    rng = np.random.default_rng([int(seed), 0x5F5, 0xC1E])

    def u(a, b, nd=3):
        return round(float(rng.uniform(a, b)), nd)

    def ch(options, p=None):
        return options[int(rng.choice(len(options), p=p))]

    h = int(rng.integers(224, 289))
    w = h if rng.random() < 0.55 else int(rng.integers(224, 289))
    sr = u(1.1, 1.5)
    sc = sr if rng.random() < 0.6 else u(1.1, 1.5)
    n_frames = int(rng.integers(16, 41))
    dt = u(0.5, 2.0)

    state = ch(UTERUS_STATES, [0.24, 0.12, 0.14, 0.08, 0.13, 0.15, 0.14])
    manoeuvre = ch(MANOEUVRES, [0.1, 0.3, 0.14, 0.2, 0.12, 0.14])
    fill = round(float(np.clip(rng.beta(1.3, 1.4), 0.0, 1.0)), 3)
    pathology: list[str] = []

    if manoeuvre == "defecation":
        content = ch(("gel", "stool", "gas", "empty"), [0.65, 0.2, 0.08, 0.07])
    else:
        content = ch(("empty", "stool", "gas", "gel"), [0.32, 0.33, 0.15, 0.2])
    rect_r = {"empty": u(8, 11), "stool": u(15, 23), "gas": u(13, 21), "gel": u(16, 25)}[content]

    bones = {
        "sym_dx": u(-3, 3), "sym_dz": u(-3, 3), "sym_len": u(36, 44), "sym_thick": u(14, 19),
        "sym_angle": u(104, 122), "sacral_curv": u(0.6, 1.4), "coccyx_dx": u(-6, 6),
        "coccyx_dz": u(-6, 8), "prom_dx": u(-8, 8), "prom_dz": u(-8, 8),
        "sacral_thick": u(0.85, 1.15), "lordosis": u(0.5, 1.5), "lumbosacral_deg": u(-8, 10),
        "interpubic_disc": bool(rng.random() < 0.5),
    }
    body = {
        "fat_ant": u(8, 45), "fat_post": u(10, 48), "fat_perineum": u(5, 14),
        "belly_bulge": u(0, 55), "rectus_mm": u(3, 10), "k_ant": u(18, 34), "k_post": u(2, 14),
    }
    bladder = {
        "neck_dx": u(-3, 3), "neck_dz": u(-3, 4), "size_jit": u(0.88, 1.12),
        "size_jit2": u(0.88, 1.12), "tilt": u(-8, 10), "exponent": u(2.0, 2.8),
        "bend": u(-0.12, 0.12), "taper": u(0.05, 0.35),
        "wall_mm": round(3.0 + 3.0 * (1 - fill) + float(rng.uniform(-0.5, 1.0)), 3),
        "trabeculated": bool(rng.random() < 0.15), "diverticulum": None,
    }
    if rng.random() < 0.14:
        bladder["diverticulum"] = {"u": u(-0.6, 0.4), "r": u(6, 14)}
        pathology.append("bladder_diverticulum")
    if bladder["trabeculated"]:
        bladder["wall_mm"] = round(bladder["wall_mm"] + 1.5, 3)
        pathology.append("trabeculated_bladder")

    if state in ("enlarged_fibroids",):
        body_len, body_thick, endo, jz = u(75, 112), u(50, 72), u(4, 12), u(3, 7)
    elif state == "postmenopausal_atrophic":
        body_len, body_thick, endo, jz = u(32, 48), u(14, 22), u(0.6, 2.0), 0.0
    else:
        body_len, body_thick, endo, jz = u(48, 68), u(30, 42), u(3, 13), u(3, 7)
    if state in ("anteverted_anteflexed",):
        alpha_c, flex = u(92, 122) - 12 * fill, u(20, 60) * (1 - 0.4 * fill)
    elif state == "anteverted":
        alpha_c, flex = u(95, 125) - 12 * fill, u(-5, 12)
    elif state == "retroverted_retroflexed":
        alpha_c, flex = u(58, 80), u(-45, -15)
    elif state == "retroverted":
        alpha_c, flex = u(55, 78), u(-8, 8)
    elif state == "enlarged_fibroids":
        alpha_c, flex = u(88, 112) - 8 * fill, u(-5, 25)
    elif state == "postmenopausal_atrophic":
        alpha_c, flex = u(80, 112), u(-10, 30)
    else:
        alpha_c, flex = 0.0, 0.0
    uterus: dict = {
        "state": state, "alpha_cervix_deg": round(alpha_c, 3), "flexion_deg": round(flex, 3),
        "body_len": body_len, "body_thick": body_thick, "endometrium_mm": endo,
        "junctional_mm": jz, "cervix_len": u(20, 26) if state == "postmenopausal_atrophic"
        else u(25, 34), "cervix_rad": u(9, 12) if state == "postmenopausal_atrophic"
        else u(11, 15), "bend": u(0.03, 0.12), "taper": u(0.15, 0.45),
        "fibroids": [], "nabothian": [], "iud": False,
    }
    if state == "enlarged_fibroids":
        for _ in range(int(rng.integers(1, 5))):
            uterus["fibroids"].append({"u": u(-0.2, 0.9), "v": u(-1.1, 1.1), "r": u(8, 26),
                                       "degenerated": bool(rng.random() < 0.25)})
        pathology.append("fibroids")
    elif state in ("anteverted_anteflexed", "anteverted", "retroverted_retroflexed",
                   "retroverted") and rng.random() < 0.12:
        uterus["fibroids"].append({"u": u(0.0, 0.8), "v": u(-1.0, 1.0), "r": u(6, 14),
                                   "degenerated": False})
        pathology.append("fibroids")
    if state != "hysterectomy":
        if rng.random() < 0.3:
            for _ in range(int(rng.integers(1, 5))):
                uterus["nabothian"].append({"u": u(-0.6, 0.6), "v": u(-0.7, 0.7), "r": u(2, 6)})
            pathology.append("nabothian_cysts")
        if state != "postmenopausal_atrophic" and rng.random() < 0.15:
            uterus["iud"] = True
            pathology.append("iud")
    if state == "hysterectomy":
        pathology.append("hysterectomy")

    gel = bool(rng.random() < (0.55 if manoeuvre == "defecation" else 0.3))
    vagina = {
        "gel": gel, "half_thick": u(9, 13) if gel else u(5, 7), "wall_mm": u(2.5, 3.8),
        "introitus": [u(11, 18), u(-28, -22)], "mid": [u(22, 30), u(2, 12)],
        "vault": [u(40, 52), u(30, 44)],
    }
    rectum = {
        "radius": rect_r, "wall_mm": u(2.5, 4.0), "presacral_mm": u(4, 14),
        "arj": [u(46, 56), u(2, 12)], "anal_len": u(28, 38), "anal_angle": u(236, 258),
        "anal_rad": u(6.5, 9), "top_z": u(92, 110), "gas_level": u(0.2, 0.7),
    }
    ovarian = []
    if rng.random() < 0.2:
        for _ in range(int(rng.integers(1, 3))):
            ovarian.append({"r": u(10, 26), "angle": u(-40, 120), "dist": u(0.6, 1.0)})
        pathology.append("ovarian_cyst")
    pessary = None
    if rng.random() < 0.08:
        pessary = {"diameter": u(55, 72), "thick": u(3.5, 5.0)}
        pathology.append("pessary")

    amp = {
        "pelvic_floor": u(4, 22), "bladder_base": u(0, 30) if rng.random() < 0.5 else u(0, 10),
        "cervix": u(0, 32) if rng.random() < 0.4 else u(0, 10),
        "rectocele": u(0, 22) if rng.random() < 0.4 else u(0, 6),
        "perineum": u(3, 20), "abdominal_push": u(4, 16), "squeeze": u(5, 12),
        "evacuation": u(0.55, 0.95), "sink": u(6, 14),
    }
    if manoeuvre in ("valsalva", "defecation", "cough", "valsalva_squeeze"):
        if amp["bladder_base"] > 15:
            pathology.append("cystocele")
        if amp["cervix"] > 15:
            pathology.append("vault_prolapse" if state == "hysterectomy" else "uterine_prolapse")
        if amp["rectocele"] > 10:
            pathology.append("rectocele")
        if amp["perineum"] > 15:
            pathology.append("descending_perineum")
    profile: dict = {"start": u(0.08, 0.35), "ramp": u(0.08, 0.2), "hold": u(0.15, 0.45),
                     "release": u(0.06, 0.15), "repeats": int(rng.integers(1, 3)),
                     "coughs": [round(float(x), 3) for x in
                                np.sort(rng.uniform(0.15, 0.9, int(rng.integers(2, 5))))],
                     "tone": u(0.0, 0.08)}
    motion = {
        "manoeuvre": manoeuvre, "profile": profile, "amplitudes_mm": amp,
        "breathing": {"amp_mm": u(1.5, 6.0), "period_s": u(3.2, 6.5), "phase": u(0, 6.283)},
        "drift": {"max_mm": u(0.0, 5.0), "max_deg": u(0.0, 2.0)},
    }

    seq = ch(tuple(SEQUENCES), [0.33, 0.24, 0.1, 0.1, 0.06, 0.17])
    contrast = SEQUENCES[seq][0]
    field = float(ch((1.5, 3.0), [0.6, 0.4]))
    bw = u(600, 1100) if seq == "bssfp" else u(150, 700)
    art = {
        "sense_foldover": {"R": int(ch((2, 3), [0.7, 0.3])), "weight": u(0.03, 0.14)}
        if rng.random() < 0.3 else None,
        "motion_ghost": {"weight": u(0.02, 0.1), "period_lines": u(3.0, 12.0)}
        if rng.random() < 0.35 else None,
        "spike": {"amp": u(0.004, 0.03), "ky": int(rng.integers(8, 60)) * ch((-1, 1)),
                  "kx": int(rng.integers(-60, 60)), "frame_prob": u(0.08, 0.4)}
        if rng.random() < 0.15 else None,
        "zipper": {"pos": u(0.1, 0.9), "amp": u(2.0, 6.0)} if rng.random() < 0.15 else None,
        "fatsat_failure": {"amp": u(0.3, 0.9), "x": u(0, 1), "y": u(0, 1), "size": u(40, 90)}
        if contrast == "T2FS" and rng.random() < 0.5 else None,
        "banding": {"radius_mm": u(140, 260), "gx": u(-0.4, 0.4), "gy": u(-0.4, 0.4),
                    "depth": u(0.4, 0.9), "width": u(0.06, 0.14)} if contrast == "bSSFP" else None,
        "dielectric": {"depth": u(0.08, 0.3), "size_mm": u(60, 110)}
        if field == 3.0 and rng.random() < 0.7 else None,
    }
    imaging = {
        "sequence": seq, "contrast": contrast, "field_strength_T": field,
        "slice_thickness_mm": u(4, 10), "phase_dir": ch(("row", "col")),
        "bandwidth_hz_px": bw,
        "chemical_shift_px": round(3.4e-6 * 42.577e6 * field / bw, 3),
        "fat_phase_deg": (u(120, 180) if seq == "bssfp" else
                          (ch((0.0, 180.0)) if seq == "gre_t1" else 0.0)),
        "acquired_fraction": [u(0.55, 1.0), u(0.7, 1.0)],
        "partial_fourier": u(0.55, 0.8) if (seq.startswith("ssfse") or rng.random() < 0.3)
        else 1.0,
        "t2_blur": u(0.3, 1.4) if seq.startswith("ssfse") else u(0.0, 0.3),
        "apodization": u(0.0, 0.6) if rng.random() < 0.5 else 0.0,
        "coil": {"type": ch(("surface", "body"), [0.75, 0.25]), "ant_gain": u(0.5, 2.0),
                 "post_gain": u(0.3, 1.5), "lambda_mm": u(50, 130),
                 "poly": [u(-0.15, 0.15) for _ in range(5)]},
        "texture": u(0.6, 1.5),
        "tissue_jitter": {k: u(0.9, 1.1) for k in TISSUE_NAMES},
        "intensity_max": float(ch((255.0, 1000.0, 2000.0, 4095.0, 1500.0, 800.0, 3000.0))
                               * u(0.8, 1.1)),
        "artefacts": art,
    }
    anatomy = {
        "scale": u(0.88, 1.12), "tilt_deg": u(-10, 12),
        "place": {"u_x": u(0.25, 0.75), "u_y": u(0.25, 0.8)},
        "uterus": uterus, "bladder_fill": fill, "bladder": bladder, "vagina": vagina,
        "rectal_content": content, "rectum": rectum, "bones": bones, "body": body,
        "ovarian_cysts": ovarian, "pessary": pessary,
        "bowel": {"n_loops": int(rng.integers(8, 20)), "n_sigmoid": int(rng.integers(1, 4))},
        "pathology": sorted(set(pathology)),
    }
    return {
        "seed": int(seed), "generator": PREFIX, "spacing_mm": [sr, sc], "matrix": [h, w],
        "n_frames": n_frames, "frame_interval_s": dt, "snr": u(7, 40), "labels": dict(LABELS),
        "render_seed": int(rng.integers(0, 2**31 - 1)),
        "anatomy": anatomy, "imaging": imaging, "motion": motion,
    }


# ----------------------------------------------------------------------------- anatomy


def _sacral_curve(B: dict):
    """Anterior sacrococcygeal curve: a spline from the coccyx tip to the promontory."""
    tmpl = np.array([(78, 26), (92, 44), (106, 62), (116, 84), (116, 106), (104, 122),
                     (84, 132)], float)
    tip = np.array([78 + B["coccyx_dx"], 26 + B["coccyx_dz"]])
    prom = np.array([84 + B["prom_dx"], 132 + B["prom_dz"]])
    c0 = tmpl[-1] - tmpl[0]
    c1 = prom - tip
    n0 = np.array([-c0[1], c0[0]]) / np.linalg.norm(c0)
    n1 = np.array([-c1[1], c1[0]]) / np.linalg.norm(c1)
    pts = []
    for p in tmpl:
        d = p - tmpl[0]
        t = d @ c0 / (c0 @ c0)
        o = d @ n0
        pts.append(tip + t * c1 + o * B["sacral_curv"] * n1)
    pts = np.array(pts)
    s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    spl = CubicSpline(s, pts, axis=0)
    ss = np.linspace(0, s[-1], 200)
    curve = spl(ss)
    tang = spl(ss, 1)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    post = np.stack([tang[:, 1], -tang[:, 0]], axis=1)  # posterior normal
    return ss, curve, tang, post


class Anatomy:
    """The rest anatomy of one case as primitives in the pelvic frame."""

    def __init__(self, params: dict):
        self.p = params
        an = params["anatomy"]
        self.rng = np.random.default_rng([int(params["render_seed"]), 11])
        self.paint: list = []  # (tissue, prims, owner-or-None)
        self.bone_layers: list = []  # (tissue, prims) painted last
        self.bone_prims: list[Prim] = []
        self.owner_prims: dict[str, list[Prim]] = {k: [] for k in OWNERS}
        self.owner_paint: dict[str, list] = {k: [] for k in OWNERS}
        self.lm: dict[str, np.ndarray] = {}
        self.rest_dropped: dict[str, float] = {}
        self.bl_adj = {"shift": 0.0, "k": 1.0}
        self.rect_adj = {"k_r": 1.0, "gap": 0.0}
        self._bones(an["bones"])
        self._bladder(an)
        self._uterus_vagina(an)
        self._rectum(an)
        self._relax(an)
        self._perineum(an)
        self._body(an)
        self._bowel(an)
        self._extras(an)

    # -- bones
    def _bones(self, B):
        sym_c = np.array([-7 + B["sym_dx"], 18 + B["sym_dz"]])
        sym = Prim(sym_c[0], sym_c[1], B["sym_len"] / 2, B["sym_thick"] / 2, B["sym_angle"],
                   2.4, 2.2, 0.03, -0.1)
        d = _unit(B["sym_angle"])
        self.lm["sym_c"] = sym_c
        self.lm["sym_top"] = sym_c + d * B["sym_len"] / 2
        self.lm["sym_front_x"] = float(sym_c[0] - B["sym_thick"] / 2 - 4)
        layers = [("cortex", [sym]), ("marrow", [sym.resized(-1.8)])]
        if B["interpubic_disc"]:
            layers.append(("cartilage", [sym.resized(-3.0, -4.5)]))
        ss, curve, tang, post = _sacral_curve(B)
        self.sacrum = (ss, curve, tang, post)
        self.lm["tip"] = curve[0]
        self.lm["prom"] = curve[-1]
        total = ss[-1]
        k_s = B["sacral_thick"]
        t_cs = min(26.0 / total, 0.3)
        lengths = np.array([12.0, 15.0, 19.0, 24.0, 30.0])  # S5..S1 along the curve
        bounds = t_cs + (1 - t_cs) * np.concatenate([[0], np.cumsum(lengths)]) / lengths.sum()
        thick = np.array([12, 16, 21, 27, 34]) * k_s  # S5..S1
        canal = np.array([0, 3, 5, 7, 9]) * k_s

        def at(t):
            i = int(np.clip(round(t * (len(ss) - 1)), 0, len(ss) - 1))
            return curve[i], tang[i], post[i]

        sac, sac_in, lines, canals_s, crests = [], [], [], [], []
        # the fused sacral bodies: one bent, tapered primitive along the anterior curve
        ps, ts, ns = at(bounds[0])
        pe, te, ne = at(bounds[-1])
        pmid, tmid, nmid = at((bounds[0] + bounds[-1]) / 2)
        q0, q1 = ps + ns * thick[0] / 2, pe + ne * thick[4] / 2
        qm = pmid + nmid * (thick[2] + thick[3]) / 4
        chord = q1 - q0
        half = np.linalg.norm(chord) / 2
        cn = np.array([-chord[1], chord[0]]) / (2 * half)
        sag = float((qm - (q0 + q1) / 2) @ cn)
        cc_ = (q0 + q1) / 2
        bmid = (thick[0] + thick[4]) / 4
        whole = Prim(cc_[0], cc_[1], half + 2.0, bmid, _ang(chord), 3.0, 2.4, sag / (half + 2),
                     (thick[4] - thick[0]) / (thick[4] + thick[0]))
        sac.append(whole)
        sac_in.append(whole.resized(-1.8))
        for k in range(5):
            t0, t1 = bounds[k], bounds[k + 1]
            p0, _, _ = at(t0)
            p1, _, _ = at(t1)
            pm, tm, nm = at((t0 + t1) / 2)
            seg_len = np.linalg.norm(p1 - p0)
            if k < 4:
                lc = p1 + nm * thick[k] / 2
                lines.append(Prim(lc[0], lc[1], 0.8, thick[k] / 2 - 3.0, _ang(tm), 2.0, 2.0))
            if canal[k] > 0:
                cc = pm + nm * (thick[k] + 1.5 + canal[k] / 2)
                canals_s.append(Prim(cc[0], cc[1], seg_len / 2 + 3.0, canal[k] / 2, _ang(tm)))
            pc = pm + nm * (thick[k] + canal[k] + 6)
            crests.append(Prim(pc[0], pc[1], seg_len / 2 + 1.0, 4.5 * k_s, _ang(tm), 2.4, 2.0))
            if k == 4:
                self.lm["s1_top"] = p1
                self.lm["s1_post"] = p1 + nm * thick[k]
        shell = [q.resized(1.6) for q in canals_s]
        layers += [("cortex", sac + shell + crests), ("marrow", sac_in),
                   ("marrow", [q.resized(-1.5) for q in crests]), ("cartilage", lines),
                   ("csf", canals_s)]
        self.bone_prims += [q.resized(1.0) for q in sac] + shell + crests
        # coccyx: three small segments from the tip to the sacrococcygeal joint
        cb = np.linspace(0, t_cs, 4)
        for k in range(3):
            p0, _, _ = at(cb[k])
            p1, _, _ = at(cb[k + 1])
            pm, tm, nm = at((cb[k] + cb[k + 1]) / 2)
            r = (4.0 + 1.2 * k) * k_s
            c = pm + nm * r
            cp = Prim(c[0], c[1], np.linalg.norm(p1 - p0) / 2 - 0.6, r, _ang(tm), 2.2, 2.2)
            layers.append(("cortex", [cp]))
            layers.append(("marrow", [cp.resized(-1.3)]))
            self.bone_prims.append(cp.resized(0.8))
        # lumbar spine
        ang_s1 = _ang(tang[-1])
        e_mid = self.lm["s1_top"] + post[-1] * thick[4] / 2
        alpha = 100.0 + B["lumbosacral_deg"]
        height, depth, disc, canal_w = 27.0 * k_s, 34.0 * k_s, 10.0, 14.0
        prev_c = e_mid - _unit(ang_s1) * thick[4] * 0.45
        c = e_mid + _unit(alpha) * (disc + height / 2)
        self.lm["spine"] = []
        discs, bodies, cortex, canals, nerves, spines = [], [], [], [], [], []
        for _k in range(5):
            dv = c - prev_c
            dc = (c + prev_c) / 2
            discs.append(Prim(dc[0], dc[1], np.linalg.norm(dv) / 2, depth / 2 - 0.5, _ang(dv),
                              2.6, 3.0))
            body = Prim(c[0], c[1], height / 2, depth / 2, alpha, 3.4, 3.4)
            cortex.append(body)
            bodies.append(body.resized(-1.6))
            npst = _unit(alpha - 90.0)
            cc = c + npst * (depth / 2 + 1.5 + canal_w / 2)
            cp = Prim(cc[0], cc[1], height / 2 + disc / 2 + 2, canal_w / 2, alpha, 2.0, 2.6)
            canals.append(cp)
            for off in (-2.5, 2.5):
                nc = cc + npst * off
                nerves.append(Prim(nc[0], nc[1], height / 2 + disc / 2 + 2, 0.9, alpha))
            sc_ = c + npst * (depth / 2 + canal_w + 16)
            spines.append(Prim(sc_[0], sc_[1], height * 0.42, 14.0, alpha - 8, 2.2, 2.0))
            self.lm["spine"].append((c.copy(), alpha, depth))
            prev_c = c
            alpha_next = alpha - (4.0 + 7.0 * B["lordosis"])
            step = height + disc
            c = c + _unit((alpha + alpha_next) / 2) * step
            alpha = alpha_next
        self.spine_disc = discs
        nucleus = [p.resized(-1.5, -p.b * 0.45) for p in discs]
        layers = [("cartilage", discs), ("disc", nucleus)] + layers
        layers += [("cortex", cortex), ("marrow", bodies), ("csf", canals), ("nerve", nerves)]
        layers += [("cortex", spines), ("marrow", [p.resized(-1.5) for p in spines])]
        self.bone_layers = layers
        self.bone_prims += [sym.resized(0.8)] + discs + cortex + canals + spines
        # paraspinal muscle mass behind the lumbar spine and gluteal fibres behind the sacrum
        c3, a3, d3 = self.lm["spine"][2]
        pm = c3 + _unit(a3 - 90) * (d3 / 2 + canal_w + 34)
        self.paint.append(("muscle", [Prim(pm[0], pm[1], 150, 30, a3, 2.0, 2.4)], None))

    def _sacral_x(self, z, offset):
        """Point on a curve `offset` mm anterior of the sacrum at height z."""
        _, curve, _, post = self.sacrum
        i = int(np.argmin(np.abs(curve[:, 1] - z)))
        return curve[i] - post[i] * offset

    # -- bladder
    def _bladder(self, an):
        bl, f = an["bladder"], an["bladder_fill"]
        N = np.array([8 + bl["neck_dx"], 22 + bl["neck_dz"]])
        H = (30 + 78 * f) * bl["size_jit"] * self.bl_adj["k"]
        D = (16 + 64 * f) * bl["size_jit2"] * self.bl_adj["k"]
        alpha = 100 + 10 * f + bl["tilt"]
        dvec, post = _unit(alpha), _unit(alpha - 90)
        sh = self.bl_adj["shift"]
        c = N + dvec * (H / 2 * 0.92 + 0.5 * sh) + post * (D * 0.18 - sh)
        main = Prim(c[0], c[1], H / 2, D / 2, alpha, bl["exponent"], bl["exponent"],
                    bl["bend"], bl["taper"])
        nc = N + dvec * 7 + post * 2
        neck = Prim(nc[0], nc[1], 9, min(7.0, D / 2), alpha)
        prims, lumen = [main, neck], [main.resized(-bl["wall_mm"]),
                                      neck.resized(-bl["wall_mm"] - 1.0)]
        dv = bl["diverticulum"]
        if dv:
            ub = dv["u"] * H / 2
            wall_pt = c + dvec * ub + post * (D / 2) * math.sqrt(max(1 - dv["u"] ** 2, 0.05))
            dc = wall_pt + post * dv["r"] * 0.9
            dprim = _circ(dc, dv["r"])
            dneck = _seg(wall_pt - post * 3, dc, dv["r"] * 0.45)
            prims += [dprim, dneck]
            lumen += [dprim.resized(-1.5), dneck.resized(-1.2)]
        self.owner_prims["bladder"] = prims
        self.owner_paint["bladder"] = [("bladder_wall", prims, None),
                                       ("urine", lumen, "rough" if bl["trabeculated"] else None)]
        self.lm["neck"] = N
        self.lm["bladder_c"] = c
        self.lm["bladder_base"] = N + post * 12 + dvec * 6
        self.bladder_main = main

    # -- uterus, cervix, vagina
    def _uterus_vagina(self, an):
        vg, ut = an["vagina"], an["uterus"]
        f = an["bladder_fill"]
        I = np.array(vg["introitus"], float)
        M = np.array(vg["mid"], float) + np.array([3 * f, 0.0])
        V = np.array(vg["vault"], float) + np.array([7 * f, 3 * f])
        hv = vg["half_thick"]
        lower = _seg(I, M, min(hv, 7.5), pad=4.0, ey=2.2, bend=-0.04)
        upper = _seg(M, V, hv * 1.08, pad=4.0, ey=2.2, taper=0.15)
        vag = [lower, upper]
        if vg["gel"]:
            vlum = [lower.resized(-2.0, -vg["wall_mm"]), upper.resized(-2.0, -vg["wall_mm"])]
            lum_t = "gel"
        else:
            vlum = [lower.with_b(1.1, 0.85), upper.with_b(1.3, 0.85)]
            lum_t = "vagina_lumen"
        self.lm.update(introitus=I, vag_mid=M, vault=V)
        self.vag_dir = _unit(_ang(V - M))
        self.uv_vagina = vag
        self.uv_vlum = (vlum, lum_t)
        self.uv_state = ut["state"]
        if ut["state"] == "hysterectomy":
            cap = _circ(V + self.vag_dir * 1.0, hv * 1.25)
            self.uv_vagina = vag + [cap]
            self.uv_body = []
            self.uv_parts = None
            self._uv_compose(an)
            return
        Eo = V - self.vag_dir * 3.0
        ac = ut["alpha_cervix_deg"]
        Lc, rc = ut["cervix_len"], ut["cervix_rad"]
        cc = Eo + _unit(ac) * Lc / 2
        cervix = Prim(cc[0], cc[1], Lc / 2, rc, ac, 2.2, 2.6, 0.0, -0.08)
        self.cervix = cervix
        self.lm["cervix_c"] = cc
        self.lm["os"] = Eo + _unit(ac) * Lc
        self.uv_geom = {"ab_adj": 0.0, "len_k": 1.0}
        self._uv_compose(an)

    def _uv_body_prims(self, an):
        ut = an["uterus"]
        ac = ut["alpha_cervix_deg"]
        ab = ac + ut["flexion_deg"] + self.uv_geom["ab_adj"]
        Lb = ut["body_len"] * self.uv_geom["len_k"]
        Tb = ut["body_thick"] * (0.85 + 0.15 * self.uv_geom["len_k"])
        O = self.lm["os"]
        db = _unit(ab)
        sign = 1.0 if ut["flexion_deg"] >= 0 else -1.0
        bc = O + db * (Lb / 2 - 4)
        body = Prim(bc[0], bc[1], Lb / 2, Tb / 2, ab, 2.1, 2.3, -sign * ut["bend"], ut["taper"])
        isth = _seg(O - _unit(ac) * 5, O + db * 9, self.cervix.b * 0.85, ey=2.4)
        nrm = _unit(ab + 90)
        fibs = []
        for fb in ut["fibroids"]:
            fc = bc + db * fb["u"] * Lb / 2 + nrm * fb["v"] * Tb / 2
            fibs.append((_circ(fc, fb["r"]), fb["degenerated"]))
        return body, isth, fibs, ab, Lb, Tb, bc

    def _uv_compose(self, an):
        ut = an["uterus"]
        vlum, lum_t = self.uv_vlum
        paint = [("vagina_wall", self.uv_vagina, None), (lum_t, vlum, None)]
        prims = list(self.uv_vagina)
        if self.uv_state != "hysterectomy":
            body, isth, fibs, ab, Lb, Tb, bc = self._uv_body_prims(an)
            self.uv_body = [body, isth] + [f for f, _ in fibs]
            prims += [self.cervix] + self.uv_body
            db = _unit(ab)
            endo = ut["endometrium_mm"]
            ec = bc - db * 0.06 * Lb
            ep = Prim(ec[0], ec[1], 0.78 * Lb / 2, max(endo / 2, 0.35), ab, 2.0, 2.0,
                      body.bend * body.a / (0.78 * Lb / 2), 0.5)
            canal = self.cervix.with_b(1.1 + 0.5 * (endo > 5), 0.93)
            ilink = _seg(self.lm["os"] - _unit(ut["alpha_cervix_deg"]) * 3,
                         ec - db * ep.a * 0.8, 1.1)
            paint += [("cervix", [self.cervix], None), ("myometrium", [body, isth], None)]
            if ut["junctional_mm"] > 0:
                paint.append(("junctional", [ep.resized(ut["junctional_mm"])], None))
            paint += [("endometrium", [ep], None), ("cervical_canal", [canal, ilink], None)]
            for fp, degenerated in fibs:
                paint.append(("fibroid", [fp], None))
                if degenerated:
                    paint.append(("myometrium", [fp.resized(-fp.a * 0.55)], None))
            nab = []
            for nb in ut["nabothian"]:
                cv = self.cervix
                c = (np.array([cv.cx, cv.cz]) + _unit(cv.ang) * nb["u"] * cv.a
                     + _unit(cv.ang + 90) * nb["v"] * max(cv.b - nb["r"] - 1.0, 0.5))
                nab.append(_circ(c, nb["r"]))
            if nab:
                paint.append(("naboth", nab, None))
            if ut["iud"]:
                stem = ep.with_b(1.0, min(16.0 / ep.a, 0.9))
                top = np.array([ec[0], ec[1]]) + db * stem.a
                paint.append(("device", [stem, _circ(top, 2.2)], None))
            self.lm["fundus"] = bc + db * Lb / 2
            self.lm["uterus_c"] = bc
        self.owner_prims["uv"] = prims
        self.owner_paint["uv"] = paint

    # -- rectum and anal canal
    def _rectum(self, an):
        rc = an["rectum"]
        content = an["rectal_content"]
        r = rc["radius"] * self.rect_adj["k_r"]
        g = max(rc["presacral_mm"] + self.rect_adj["gap"], 2.0)
        R0 = np.array(rc["arj"], float)
        A = R0 + _unit(rc["anal_angle"]) * rc["anal_len"]
        P1 = self._sacral_x(min(R0[1] + 45, 70), g + r)
        P2 = self._sacral_x(min(R0[1] + 75, 88), g + r * 0.85)
        P3 = self._sacral_x(rc["top_z"], g + r * 0.72)
        chord = P2 - R0
        nrm = np.array([-chord[1], chord[0]]) / np.linalg.norm(chord)
        amp_len = np.linalg.norm(chord) / 2 + 3
        sag = float((P1 - (R0 + P2) / 2) @ nrm)
        amp_p = _seg(R0 + chord / np.linalg.norm(chord) * 2, P2, r, pad=3, ey=2.2,
                     bend=sag / amp_len, taper=-0.15)
        upper = _seg(P2, P3, r * 0.68, pad=r * 0.25, taper=-0.3)
        jn = Prim(R0[0], R0[1], r * 0.62 + 2, r * 0.55 + 2, _ang(chord))
        ac_dir = _unit(rc["anal_angle"])
        canal = _seg(R0 - ac_dir * 4, A, rc["anal_rad"], pad=1.0, ey=2.4)
        prims = [amp_p, upper, jn, canal]
        w = rc["wall_mm"]
        amp_lumen = [amp_p.resized(-w), upper.resized(-w), jn.resized(-w)]
        if content == "empty":
            amp_lumen = [amp_p.with_b(1.6, 0.95), upper.with_b(1.4, 0.95), jn.with_b(1.4, 0.8)]
            ctype = "mucosa"
        else:
            ctype = {"stool": "stool", "gas": "gas", "gel": "gel"}[content]
        paint = [("rectal_wall", prims, None), (ctype, amp_lumen, "content")]
        if content == "gas":
            paint.append(("stool" if rc["gas_level"] > 0.45 else "bowel_fluid", amp_lumen,
                          ("level", rc["gas_level"])))
        paint.append(("mucosa", [canal.with_b(1.0, 0.92)], None))
        self.owner_prims["rectum"] = prims
        self.owner_paint["rectum"] = paint
        self.rect_lumen = amp_lumen
        self.lm.update(arj=R0, anus=A, rect_amp=(R0 + P2) / 2 + nrm * sag, rect_top=P3)
        self.anal_canal = canal
        self.rect_r = r

    def _perineum(self, an):
        rc = an["rectum"]
        R0, A = self.lm["arj"], self.lm["anus"]
        ac_dir = _unit(rc["anal_angle"])
        ext = _seg(R0 + ac_dir * 3, A + ac_dir * 1.0, rc["anal_rad"] + 5.0, pad=1.0, ey=2.4)
        self.paint.append(("muscle", [ext], None))
        pdir = _unit(_ang(self.lm["tip"] - R0))
        pr = R0 + pdir * (rc["anal_rad"] + 7)
        self.paint.append(("muscle", [Prim(pr[0], pr[1], 9, 6.5, _ang(pdir))], None))
        lev = _seg(R0 + pdir * (rc["anal_rad"] + 6), self.lm["tip"] - pdir * 3,
                   4.5, pad=2.0, bend=0.06)
        self.paint.append(("muscle", [lev], None))
        I = self.lm["introitus"]
        pb = (I + A) / 2 + np.array([0.0, 7.0])
        self.paint.append(("perineal", [Prim(pb[0], pb[1], 10, 7, _ang(A - I), 2.0, 2.0)], None))
        # urethra from the bladder neck to the meatus, anterior of the lower vagina
        N = self.lm["neck"]
        U = I + np.array([-11.0, 5.0])
        ur = _seg(N + np.array([0.0, 2.0]), U, 4.5, pad=1.0)
        self.owner_prims["urethra"] = [ur]
        self.owner_paint["urethra"] = [("urethra", [ur], None),
                                       ("mucosa", [ur.with_b(1.0, 0.95)], None)]
        self.lm["meatus"] = U

    # -- keep organs from swallowing each other: move the bladder, shrink the rectum,
    # -- rotate / shorten the uterine body until the overlaps are moderate
    def _relax(self, an):
        G = _coarse_grid(2.5)
        bone = G.mask(self.bone_prims)
        for _ in range(14):
            bl = G.mask(self.owner_prims["bladder"])
            rec = G.mask(self.owner_prims["rectum"])
            uv = G.mask(self.owner_prims["uv"])
            a_uv = max(int(uv.sum()), 1)
            changed = False
            if (bl & uv).sum() / a_uv > 0.1 and self.bl_adj["shift"] < 24:
                self.bl_adj["shift"] += 3.0
                self.bl_adj["k"] *= 0.97
                self._bladder(an)
                changed = True
            if (rec & uv).sum() / a_uv > 0.16 and self.rect_adj["k_r"] > 0.7:
                self.rect_adj["k_r"] *= 0.92
                self.rect_adj["gap"] -= 1.0
                self._rectum(an)
                changed = True
            if self.uv_state != "hysterectomy":
                bm = G.mask(self.uv_body)
                area = max(int(bm.sum()), 1)
                ob = (bm & bone).sum() / area
                obl = (bm & bl).sum() / area
                orc = (bm & rec).sum() / area
                ab = an["uterus"]["alpha_cervix_deg"] + an["uterus"]["flexion_deg"]
                ab += self.uv_geom["ab_adj"]
                if ob >= 0.01 or obl >= 0.2 or orc >= 0.2:
                    if ob >= 0.01 or orc >= 0.2:
                        step = 7.0 if ab < 140 else -7.0
                    else:
                        step = -7.0 if ab > 60 else 7.0
                    self.uv_geom["ab_adj"] += step
                    self.uv_geom["len_k"] *= 0.95
                    self._uv_compose(an)
                    changed = True
            if not changed:
                break

    # -- body outline
    def _body(self, an):
        bd = an["body"]
        s, rho = an["scale"], math.radians(an["tilt_deg"])
        fat_a, fat_p, fat_n = bd["fat_ant"], bd["fat_post"], bd["fat_perineum"]
        zg = np.arange(-120.0, 320.0, 2.5)
        x0 = self.lm["sym_front_x"] - bd["rectus_mm"] - fat_a
        front = x0 - (bd["belly_bulge"] + 0.4 * fat_a) * _smoothstep((zg - 35) / 150)
        front = front + np.clip(22 - zg, 0, None) ** 2 / (55 + fat_a)  # mons and vulva
        G = _coarse_grid(2.5)
        org = np.zeros(G.shape, bool)
        for k in ("bladder", "uv"):
            org |= G.mask(self.owner_prims[k])
        zc = G.Z[:, 0]
        xs = G.X[0]
        need = np.full(zc.shape, 1e3)
        rows = np.where(org.any(axis=1))[0]
        for i in rows:
            need[i] = xs[np.argmax(org[i])]
        need = np.interp(zg, zc[::-1], need[::-1]) - bd["rectus_mm"] - fat_a - 6
        need = ndi.minimum_filter1d(need, 9)
        front = np.minimum(front, need)
        front = ndi.gaussian_filter1d(front, 3)
        self.front = (zg, front)
        # back: a straight table line in the image behind the sacrum and lumbar spine
        pts = [self.lm["s1_post"]]
        for c, a, d in self.lm["spine"][:3]:
            pts.append(c + _unit(a - 90) * (d / 2 + 14 + 30 + 30))
        _, curve, _, post = self.sacrum
        for i in (40, 80, 120):
            pts.append(curve[i] + post[i] * 30)
        xt = max(math.cos(rho) * p[0] + math.sin(rho) * p[1] for p in pts) + fat_p
        self.table_x = xt  # in pelvic units along the rotated image x
        A, I, U = self.lm["anus"], self.lm["introitus"], self.lm["meatus"]
        zmin = A[1] - 3.0
        k_a = bd["k_ant"]
        for P in (I, U):
            lim = (P[1] - 1.5 - zmin) / max(((P[0] - A[0]) / 60) ** 2, 1e-3)
            k_a = min(k_a, lim)
        self.bottom = (float(A[0]), float(zmin), float(max(k_a, 2.0)), float(bd["k_post"]))
        self.fat = (fat_a, fat_p, fat_n, bd["rectus_mm"])
        self.s, self.rho = s, rho

    def body_mask(self, X, Z):
        zg, front = self.front
        fx = np.interp(Z, zg, front)
        xa, zmin, ka, kp = self.bottom
        q = ((X - xa) / 60.0) ** 2
        zb = np.where(X < xa, zmin + ka * q, zmin - kp * np.minimum(q, 2.5))
        table = math.cos(self.rho) * X + math.sin(self.rho) * Z
        return (X > fx) & (Z > zb) & (table < self.table_x)

    # -- bowel loops, sigmoid, ovarian cysts, vessels, pessary
    def _bowel(self, an):
        rng = self.rng
        G = _coarse_grid(2.5)
        lab = np.full(G.shape, 1e4, np.float32)
        for k in ("bladder", "uv", "rectum", "urethra"):
            G.field(self.owner_prims[k], lab)
        bone = G.field(self.bone_prims)
        rect = G.field(self.owner_prims["rectum"])
        body = self.body_mask(G.X, G.Z)
        inner = ndi.binary_erosion(body, iterations=int((self.fat[0] + 12) / 2.5))
        spine_x = np.array([c[0] - d / 2 for c, _, d in self.lm["spine"]])
        spine_z = np.array([c[1] for c, _, _ in self.lm["spine"]])
        floor_z = self.lm["vault"][1] + 8
        loops: list[tuple[Prim, str, float]] = []

        def ok(c, rr, gap_rect):
            i = int((300 - c[1]) / 2.5)
            j = int((c[0] + 130) / 2.5)
            if not (0 <= i < G.shape[0] and 0 <= j < G.shape[1]) or not inner[i, j]:
                return False
            if lab[i, j] < rr * 0.55 or bone[i, j] < rr + 3 or rect[i, j] < gap_rect:
                return False
            if c[1] < floor_z:
                return False
            if c[1] > self.lm["prom"][1] - 10 and c[0] > np.interp(c[1], spine_z, spine_x) - rr:
                return False
            return all(np.hypot(*(c - np.array([q.cx, q.cz]))) > 0.8 * (rr + q.a)
                       for q, _, _ in loops)

        n_sig = an["bowel"]["n_sigmoid"]
        top = self.lm["rect_top"]
        for _ in range(120):
            if sum(1 for _, k, _ in loops if k == "sigmoid") >= n_sig:
                break
            rr = float(rng.uniform(12, 20))
            c = top + np.array([rng.uniform(-55, 10), rng.uniform(5, 55)])
            if ok(c, rr, rr + 4):
                loops.append((Prim(c[0], c[1], rr * rng.uniform(1.0, 1.6), rr,
                                   rng.uniform(0, 180), 2.0, 2.0, rng.uniform(-0.2, 0.2)),
                              "sigmoid", 0.0))
        n = an["bowel"]["n_loops"]
        for _ in range(400):
            if len(loops) >= n + n_sig:
                break
            rr = float(rng.uniform(8, 17))
            c = np.array([rng.uniform(-90, 120), rng.uniform(floor_z, 300)])
            if ok(c, rr, rr + 3):
                loops.append((Prim(c[0], c[1], rr * rng.uniform(1.0, 1.8), rr,
                                   rng.uniform(0, 180), rng.uniform(2.0, 2.5), 2.0,
                                   rng.uniform(-0.3, 0.3)), "small", 0.0))
        prims, paint = [], []
        for p, kind, _ in loops:
            prims.append(p)
            wall = rng.uniform(1.5, 3.0)
            if kind == "sigmoid":
                content = str(rng.choice(["stool", "gas", "stool", "chyme"]))
            else:
                content = str(rng.choice(["bowel_fluid", "chyme", "bowel_fluid", "gas",
                                          "collapsed"]))
            paint.append(("bowel_wall", [p], None))
            if content == "collapsed":
                paint.append(("mucosa", [p.with_b(1.2, 0.8)], None))
            else:
                lum = p.resized(-wall)
                paint.append((content, [lum], None))
                if content == "gas" and rng.random() < 0.6:
                    paint.append(("bowel_fluid", [lum], ("level", float(rng.uniform(0.3, 0.7)))))
        self.owner_prims["bowel"] = prims
        self.owner_paint["bowel"] = paint
        # ovarian cysts next to the uterus (or the vault)
        cprims, cpaint = [], []
        base = self.lm.get("uterus_c", self.lm["vault"] + np.array([5.0, 20.0]))
        ref_r = max(an["uterus"]["body_thick"] / 2, 12.0)
        for oc in an["ovarian_cysts"]:
            for _ in range(30):
                dvec = _unit(oc["angle"] + rng.uniform(-20, 20))
                c = base + dvec * (ref_r + oc["r"] * oc["dist"])
                i = int((300 - c[1]) / 2.5)
                j = int((c[0] + 130) / 2.5)
                if 0 <= i < G.shape[0] and 0 <= j < G.shape[1] and bone[i, j] > oc["r"] + 2 \
                        and inner[i, j]:
                    cp = _circ(c, oc["r"])
                    cprims.append(cp)
                    cpaint += [("cyst_wall", [cp], None), ("cyst", [cp.resized(-1.2)], None)]
                    break
        self.owner_prims["ovary"] = cprims
        self.owner_paint["ovary"] = cpaint
        # small vessels (flow voids / bright blood) in the mesentery and near the uterus
        vess = []
        for _ in range(60):
            if len(vess) >= 12:
                break
            c = np.array([rng.uniform(-60, 110), rng.uniform(floor_z - 10, 260)])
            i = int((300 - c[1]) / 2.5)
            j = int((c[0] + 130) / 2.5)
            if 0 <= i < G.shape[0] and 0 <= j < G.shape[1] and inner[i, j] and \
                    lab[i, j] > 4 and bone[i, j] > 4:
                vess.append(Prim(c[0], c[1], rng.uniform(1.2, 4.0), rng.uniform(1.0, 2.6),
                                 rng.uniform(0, 180)))
        c4, a4, d4 = self.lm["spine"][1]
        vc = c4 - _unit(a4 - 90) * (d4 / 2 + 10)
        vess.append(Prim(vc[0], vc[1], 60, 8.5, a4, 2.0, 2.0))
        self.paint.append(("vessel", vess, None))

    def _extras(self, an):
        """A ring pessary: two dark cross-sections in the upper vagina, which it distends."""
        ps = an["pessary"]
        self.pessary, self.pessary_wrap = [], []
        if ps:
            V, M = self.lm["vault"], self.lm["vag_mid"]
            ant = _unit(_ang(self.vag_dir) + 90)  # anterior-cranial normal of the vagina
            t = ps["thick"]
            d1 = V + self.vag_dir * 1.0 - ant * 2.0
            d2 = V + (M - V) * min(0.35 + ps["diameter"] / 200.0, 0.75) + ant * 2.0
            self.pessary = [_circ(d1, t), _circ(d2, t)]
            self.pessary_wrap = [_circ(d1, t + 3.5), _circ(d2, t + 3.5)]
            self.owner_prims["uv"] = self.owner_prims["uv"] + self.pessary_wrap
            self.owner_paint["uv"] = [("vagina_wall", self.pessary_wrap, None)] \
                + self.owner_paint["uv"]

    def spines(self):
        """Thin chains along each organ's axis that the organ always owns (keeps it whole)."""
        lm = self.lm
        uv = [lm["introitus"], lm["vag_mid"], lm["vault"]]
        if self.uv_state != "hysterectomy":
            uv += [lm["cervix_c"], lm["os"], lm["uterus_c"]]
        chains = {
            "rectum": [lm["anus"], lm["arj"], lm["rect_amp"], lm["rect_top"]],
            "bladder": [lm["neck"] + (lm["bladder_c"] - lm["neck"]) * 0.15, lm["bladder_c"]],
            "uv": uv,
        }
        return {k: [_seg(a, b, 3.0, pad=2.0) for a, b in zip(v[:-1], v[1:], strict=True)]
                for k, v in chains.items()}

    def organ_extent(self):
        """Pelvic-frame points and radii bounding the labelled organs."""
        out = []
        for k in ("bladder", "uv", "rectum"):
            for p in self.owner_prims[k]:
                out.append((p.cx, p.cz, p.reach()))
        return out


# ----------------------------------------------------------------------------- rasterise


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def _noise(rng, shape, sigma_px):
    n = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_px)
    return n / max(float(n.std()), 1e-6)


def _place(anat: Anatomy, params: dict, fov_h: float, fov_w: float):
    an = params["anatomy"]
    s, rho = an["scale"], an["tilt_deg"]
    g0 = Grid((1, 1), 1, 1, (0.0, 0.0), s, rho)
    xs, ys = [], []
    for cx, cz, r in anat.organ_extent():
        x, y = g0.to_img(cx, cz)
        xs += [x - r * s, x + r * s]
        ys += [y - r * s, y + r * s]
    ax, ay = g0.to_img(*anat.lm["anus"])
    vx, _ = g0.to_img(*anat.lm["vault"])
    lo_x, hi_x = 12 - min(xs), fov_w - 12 - max(xs)
    lo_y, hi_y = 10 - min(ys), fov_h - 42 - ay
    ux, uy = an["place"]["u_x"], an["place"]["u_y"]
    isp_x = fov_w * (0.4 + 0.18 * ux) - vx
    isp_y = fov_h * (0.72 + 0.14 * uy) - ay
    isp_x = min(max(isp_x, lo_x), hi_x) if hi_x > lo_x else (lo_x + hi_x) / 2
    isp_y = min(max(isp_y, lo_y), hi_y) if hi_y > lo_y else hi_y
    return isp_x, isp_y


def _rest_scene(anat: Anatomy, grid: Grid, rng):
    """Tissue map, labels and rectal-content map of the rest anatomy on `grid`."""
    X, Z = grid.X, grid.Z
    shape = grid.shape
    T = np.zeros(shape, np.uint8)
    body = anat.body_mask(X, Z)
    body = ndi.gaussian_filter(body.astype(np.float32), (3.5 / grid.dy, 3.5 / grid.dx)) > 0.5
    depth = ndi.distance_transform_edt(body, sampling=(grid.dy, grid.dx)) / grid.s
    fat_a, fat_p, fat_n, rect_mm = anat.fat
    tfat = np.interp(X, [20.0, 90.0], [fat_a, fat_p])
    tfat = np.where(Z < 0, np.minimum(tfat, fat_n), tfat)
    T[body] = TID["fat"]
    # abdominal wall muscle (rectus / linea alba) deep to the anterior fat
    rect = body & (depth >= tfat) & (depth < tfat + rect_mm) & (X < 15) & \
        (Z > anat.lm["sym_top"][1] - 6)
    T[rect] = TID["muscle"]
    for tissue, prims, _ in anat.paint:
        m = grid.mask(prims) & body
        T[m] = TID[tissue]
    T[body & (depth < 1.6)] = TID["skin"]
    bone = grid.mask(anat.bone_prims)
    # visceral partition
    fields = np.stack([grid.field(anat.owner_prims[k]) for k in OWNERS])
    owner = np.argmin(fields, axis=0)
    inside = (np.min(fields, axis=0) < 0) & body & ~bone
    pess = grid.mask(anat.pessary) if anat.pessary else np.zeros(shape, bool)
    if anat.pessary:  # the vaginal wall around the ring belongs to the vagina
        wrap = grid.mask(anat.pessary_wrap) & body & ~bone
        owner[wrap] = OWNERS.index("uv")
        inside |= wrap
    for key, prims in anat.spines().items():
        sp = grid.mask(prims) & body & ~bone & (fields[OWNERS.index(key)] < 0)
        owner[sp] = OWNERS.index(key)
        inside |= sp
    inside &= ~pess
    rough = _noise(rng, shape, 2.6 / grid.dy)
    content = np.zeros(shape, np.float32)
    labels = np.zeros(shape, np.uint8)
    for oi, key in enumerate(OWNERS):
        own = inside & (owner == oi)
        if not own.any():
            continue
        if key in OWNER_LABEL:
            n_own = int(own.sum())
            own = _largest(own)
            anat.rest_dropped[key] = round(1.0 - float(own.sum()) / n_own, 4)
            labels[own] = OWNER_LABEL[key]
        for tissue, prims, flag in anat.owner_paint[key]:
            if flag == "rough":
                m = grid.mask(prims, rough, 1.3) & own
            else:
                m = grid.mask(prims) & own
            if isinstance(flag, tuple) and flag[0] == "level":
                # dependent (posterior in the supine patient) part of a gas-filled lumen
                xs = grid.x[None, :] * np.ones((shape[0], 1))
                if m.any():
                    lo, hi = xs[m].min(), xs[m].max()
                    m &= xs > lo + (1 - flag[1]) * (hi - lo)
            T[m] = TID[tissue]
            if flag == "content":
                content[m] = 1.0
    T[pess & body] = TID["device"]
    for tissue, prims in anat.bone_layers:
        m = grid.mask(prims) & body
        T[m] = TID[tissue]
    # gas bubbles in stool
    bub = (T == TID["stool"]) & (_noise(rng, shape, 0.9 / grid.dy) > 1.7)
    T[bub] = TID["gas"]
    return T, labels, content, body


def _rest_images(T, params, rng, grid: Grid):
    im = params["imaging"]
    ci = CONTRASTS.index(im["contrast"])
    jit = im["tissue_jitter"]
    wat = np.array([TISSUES[n][0][ci] * jit.get(n, 1.0) for n in TISSUE_NAMES], np.float32)
    ff = np.array([TISSUES[n][1] for n in TISSUE_NAMES], np.float32)
    amp = np.array([TISSUES[n][2] for n in TISSUE_NAMES], np.float32) * im["texture"]
    if im["contrast"] == "T1":
        wat[TID["endometrium"]] = wat[TID["myometrium"]] * 0.95
        wat[TID["junctional"]] = wat[TID["myometrium"]] * 0.98
    n1 = _noise(rng, T.shape, 0.7 / grid.dy)
    n2 = _noise(rng, T.shape, 3.0 / grid.dy)
    tex = 1.0 + amp[T] * (0.55 * n1 + 0.45 * n2)
    W = np.clip(wat[T] * tex, 0, None)
    F = np.clip(ff[T] * FAT_SIGNAL[im["contrast"]] * (1.0 + 0.6 * amp[T] * n1), 0, None)
    sig = 0.09 * im["slice_thickness_mm"]
    W = ndi.gaussian_filter(W, (sig / grid.dy, sig / grid.dx))
    F = ndi.gaussian_filter(F, (sig / grid.dy, sig / grid.dx))
    return W.astype(np.float32), F.astype(np.float32), wat[TID["mucosa"]]


# ----------------------------------------------------------------------------- dynamics


def _profiles(motion: dict, times: np.ndarray):
    """Manoeuvre amplitude per frame for the strain, squeeze, cough and evacuation groups."""
    D = max(float(times[-1]), 1e-6)
    f = times / D
    pr = motion["profile"]
    man = motion["manoeuvre"]
    dtf = (times[1] - times[0]) / D if len(times) > 1 else 0.1

    def hold(f0, ramp, hl, rel):
        ramp, rel = max(ramp, dtf), max(rel, dtf)
        return _smoothstep((f - f0) / ramp) - _smoothstep((f - f0 - ramp - hl) / rel)

    strain = np.zeros_like(f)
    squeeze = np.zeros_like(f)
    cough = np.zeros_like(f)
    evac = np.zeros_like(f)
    f0, ramp, hl, rel = pr["start"], pr["ramp"], pr["hold"], pr["release"]
    if man == "valsalva":
        if pr["repeats"] == 1:
            strain = hold(f0, ramp, hl, rel)
        else:
            span = (1.0 - f0) / 2
            strain = hold(f0, ramp * 0.7, span * 0.45, rel * 0.7)
            strain += 0.85 * hold(f0 + span, ramp * 0.7, span * 0.45, rel * 0.7)
    elif man == "squeeze":
        n = pr["repeats"] + 1
        span = (1.0 - f0) / n
        for k in range(n):
            squeeze += hold(f0 + k * span, span * 0.2, span * 0.35, span * 0.2)
    elif man == "defecation":
        strain = hold(f0, ramp, 2.0, rel)
        evac = _smoothstep((f - f0 - ramp * 0.5) / max(0.35, 2 * dtf))
    elif man == "cough":
        width = max(0.03, 0.6 * dtf)
        for c in pr["coughs"]:
            cough += np.exp(-0.5 * ((f - c) / width) ** 2)
    elif man == "valsalva_squeeze":
        strain = hold(f0 * 0.6, ramp * 0.7, 0.2, rel * 0.7)
        squeeze = hold(0.62, 0.08, 0.18, 0.08)
    tone = pr["tone"] * np.sin(2 * np.pi * f * 1.7 + 1.0)
    return {"strain": np.clip(strain, 0, 1.2) + np.clip(tone, 0, None),
            "squeeze": np.clip(squeeze, 0, 1.0), "cough": np.clip(cough, 0, 1.0),
            "evac": np.clip(evac, 0, 1.0)}


class Motion:
    """Velocity components on a coarse image grid and their per-frame combination."""

    def __init__(self, anat: Anatomy, params: dict, grid: Grid, fov_h, fov_w):
        self.grid = grid
        self.h = max(fov_h, fov_w) / 70.0
        m = 40.0
        self.y0, self.x0 = -m, -m
        ny, nx = int((fov_h + 2 * m) / self.h) + 1, int((fov_w + 2 * m) / self.h) + 1
        self.yc = self.y0 + np.arange(ny) * self.h
        self.xc = self.x0 + np.arange(nx) * self.h
        cg = Grid((ny, nx), self.h, self.h, (grid.isp[0] - self.x0 + self.h / 2,
                                             grid.isp[1] - self.y0 + self.h / 2),
                  grid.s, math.degrees(grid.rho))
        self.cg = cg
        yy, xx = self.yc[:, None] + 0 * self.xc[None, :], self.xc[None, :] + 0 * self.yc[:, None]
        bone_d = np.maximum(cg.field(anat.bone_prims), 0) * grid.s
        wgt = 1.0 - np.exp(-0.5 * (bone_d / 7.0) ** 2)
        table_img = grid.isp[0] + anat.table_x * grid.s
        wgt *= _smoothstep((table_img - xx) / 35.0)
        self.wgt = wgt
        amp = params["motion"]["amplitudes_mm"]
        lm = anat.lm
        s = grid.s

        def bump(c, sigma, dvec, a):
            cx, cy = grid.to_img(*c)
            dx, dy = grid.dir_img(*(np.asarray(dvec) / np.linalg.norm(dvec)))
            g = np.exp(-0.5 * ((xx - cx) ** 2 + (yy - cy) ** 2) / (sigma * s) ** 2) * a * s
            return np.stack([g * dx, g * dy]) * wgt

        vdir = -anat.vag_dir
        cerv = lm.get("cervix_c", lm["vault"])
        comps = {
            "pelvic_floor": bump((55, 12), 38, (0.35, -1), amp["pelvic_floor"]),
            "bladder_base": bump(lm["bladder_base"], 20, (0.25, -1), amp["bladder_base"]),
            "cervix": bump(cerv, 22, vdir, amp["cervix"]),
            "rectocele": bump(lm["arj"] + np.array([-12.0, 14.0]), 14, (-1, -0.35),
                              amp["rectocele"]),
            "perineum": bump((38, -20), 24, (0.15, -1), amp["perineum"]),
            "abdominal_push": bump((40, 110), 65, (0.1, -1), amp["abdominal_push"]),
            "squeeze": bump(lm["arj"] + np.array([-2.0, -2.0]), 30, (-0.6, 0.8),
                            amp["squeeze"]),
        }
        cx, cy = grid.to_img(*lm["rect_amp"])
        sg = anat.rect_r * 1.3 * s
        g = np.exp(-0.5 * ((xx - cx) ** 2 + (yy - cy) ** 2) / sg ** 2)
        comps["sink"] = np.stack([-(xx - cx) / sg * g, -(yy - cy) / sg * g]) * amp["sink"] * s \
            * wgt
        br = params["motion"]["breathing"]
        zz = cg.Z
        wb = 1.0 / (1.0 + np.exp(-(zz - 70.0) / 25.0))
        bdx, bdy = grid.dir_img(-0.15, -1.0)
        comps["breathing"] = np.stack([wb * bdx, wb * bdy]) * br["amp_mm"] * s * wgt
        self.comps = comps

    def coefficients(self, params, times):
        prof = _profiles(params["motion"], times)
        br = params["motion"]["breathing"]
        breath = 0.5 * (1 + np.sin(2 * np.pi * times / br["period_s"] + br["phase"]))
        st, sq, co, ev = prof["strain"], prof["squeeze"], prof["cough"], prof["evac"]
        man = params["motion"]["manoeuvre"]
        k_def = 1.25 if man == "defecation" else 1.0
        coef = {
            "pelvic_floor": st * k_def + 0.8 * co - 0.35 * sq,
            "bladder_base": st + 0.7 * co,
            "cervix": st + 0.6 * co,
            "rectocele": st * (1.2 if man == "defecation" else 0.8),
            "perineum": st * k_def + 0.5 * co,
            "abdominal_push": st + co,
            "squeeze": sq,
            "sink": ev,
            "breathing": breath * (1 - 0.7 * np.clip(st + sq, 0, 1)),
        }
        return coef, prof

    def velocity(self, coef, t):
        v = np.zeros_like(self.comps["breathing"])
        for k, arr in self.comps.items():
            c = float(coef[k][t])
            if c:
                v += c * arr
        return v

    def inverse_displacement(self, v, n=6):
        """Displacement of exp(-v) by scaling and squaring (image mm on the coarse grid)."""
        u = -v / self.h / (2 ** n)
        ny, nx = u.shape[1:]
        ii, jj = np.mgrid[0:ny, 0:nx].astype(np.float64)
        for _ in range(n):
            coords = np.stack([ii + u[1], jj + u[0]])
            u = u + np.stack([ndi.map_coordinates(u[0], coords, order=1, mode="nearest"),
                              ndi.map_coordinates(u[1], coords, order=1, mode="nearest")])
        return u * self.h


def _drift(params, times, rng):
    dr = params["motion"]["drift"]
    n = len(times)
    D = max(times[-1], 1e-6)
    f = times / D
    a = rng.uniform(-1, 1, (3, 3))
    tx = dr["max_mm"] * (a[0, 0] * f + 0.3 * a[0, 1] * np.sin(2 * np.pi * f * (1 + a[0, 2])))
    ty = dr["max_mm"] * (a[1, 0] * f + 0.3 * a[1, 1] * np.sin(2 * np.pi * f * (1 + a[1, 2])))
    th = dr["max_deg"] * (a[2, 0] * f + 0.3 * a[2, 1] * np.sin(2 * np.pi * f))
    jitter = rng.normal(0, 0.15 * dr["max_mm"] / max(math.sqrt(n), 1), (2, n))
    return tx + jitter[0], ty + jitter[1], th


# ----------------------------------------------------------------------------- imaging


class Scanner:
    """Per-frame acquisition effects on the (H, W) water and fat images."""

    def __init__(self, params, shape, spacing, anat: Anatomy, grid_out: Grid, body, rng):
        im = params["imaging"]
        self.im = im
        self.shape = shape
        H, W = shape
        self.rng = rng
        art = im["artefacts"]
        self.pax = 0 if im["phase_dir"] == "row" else 1  # axis along which phase is encoded
        yy = (np.arange(H)[:, None] + 0.5) * spacing[0] + 0 * np.arange(W)[None, :]
        xx = (np.arange(W)[None, :] + 0.5) * spacing[1] + 0 * np.arange(H)[:, None]
        fov_h, fov_w = H * spacing[0], W * spacing[1]
        # coil sensitivity
        co = im["coil"]
        front_x = np.interp(grid_out.Z, *anat.front)
        ax_img, _ = grid_out.to_img(front_x, grid_out.Z)
        ax_img = np.clip(ax_img, -200, None)
        table_img = grid_out.isp[0] + anat.table_x * grid_out.s
        px, py = grid_out.to_img(*anat.lm["vault"])
        cc = np.exp(-0.5 * ((yy - py) / 140.0) ** 2)
        if co["type"] == "surface":
            lam = co["lambda_mm"]
            coil = 0.35 + cc * (co["ant_gain"] * np.exp(-np.clip(xx - ax_img, 0, None) / lam)
                                + co["post_gain"] * np.exp(-np.clip(table_img - xx, 0, None)
                                                           / lam))
        else:
            coil = np.ones(shape)
        ny_, nx_ = (yy - fov_h / 2) / fov_h, (xx - fov_w / 2) / fov_w
        pl = co["poly"]
        coil = coil * (1 + pl[0] * ny_ + pl[1] * nx_ + pl[2] * ny_ * nx_ + pl[3] * ny_ ** 2
                       + pl[4] * nx_ ** 2)
        if art["dielectric"]:
            dl = art["dielectric"]
            coil *= 1 - dl["depth"] * np.exp(-0.5 * ((xx - px) ** 2 + (yy - py) ** 2)
                                              / dl["size_mm"] ** 2)
        ref = float(np.mean(coil[body])) if body.any() else float(np.mean(coil))
        self.coil = (np.clip(coil, 0.05, None) / ref).astype(np.float32)
        # fat suppression efficiency
        self.fat_w = 1.0
        if art["fatsat_failure"]:
            fs = art["fatsat_failure"]
            cx, cy = fs["x"] * fov_w, fs["y"] * fov_h
            self.fat_w = 1.0 + fs["amp"] / FAT_SIGNAL["T2FS"] * np.exp(
                -0.5 * ((xx - cx) ** 2 + (yy - cy) ** 2) / fs["size"] ** 2)
        # bSSFP banding from a smooth off-resonance field
        self.band = None
        if art["banding"]:
            bd = art["banding"]
            r2 = ((xx - px) ** 2 + (yy - py) ** 2) / bd["radius_mm"] ** 2
            phi = np.pi * (r2 + bd["gx"] * (xx - px) / 100 + bd["gy"] * (yy - py) / 100)
            wrap = np.angle(np.exp(1j * (phi - np.pi)))
            self.band = (1 - bd["depth"] * np.exp(-0.5 * (wrap / bd["width"]) ** 2)).astype(
                np.float32)
        self.fat_phase = np.exp(1j * math.radians(im["fat_phase_deg"]))
        self.cs = im["chemical_shift_px"] * (1 if rng.random() < 0.5 else -1)
        self.rax = 1 - self.pax
        # k-space mask: acquired window, partial Fourier, T2 blur, apodisation
        n_p, n_r = shape[self.pax], shape[self.rax]
        kp = np.fft.fftshift(np.fft.fftfreq(n_p)) * n_p
        kr = np.fft.fftshift(np.fft.fftfreq(n_r)) * n_r
        fp, fr = im["acquired_fraction"]
        mp = (np.abs(kp) <= fp * n_p / 2).astype(np.float64)
        mr = (np.abs(kr) <= fr * n_r / 2).astype(np.float64)
        pf = im["partial_fourier"]
        if pf < 1.0:
            cut = -fp * n_p / 2 + (1 - pf) * fp * n_p
            mp *= kp >= cut
        mp *= np.exp(-im["t2_blur"] * np.abs(kp) / max(fp * n_p / 2, 1))
        if im["apodization"] > 0:
            a = im["apodization"]
            for arr, half in ((mp, fp * n_p / 2), (mr, fr * n_r / 2)):
                kk = np.abs(np.fft.fftshift(np.fft.fftfreq(len(arr))) * len(arr)) / max(half, 1)
                taper = np.where(kk < 1 - a, 1.0, 0.5 * (1 + np.cos(np.pi * (kk - 1 + a)
                                                                    / max(a, 1e-6))))
                arr *= np.clip(taper, 0, 1)
        km = mp[:, None] * mr[None, :] if self.pax == 0 else mr[:, None] * mp[None, :]
        self.kmask = np.fft.ifftshift(km)
        self.frac = float((self.kmask > 0).mean())
        self.kp_index = np.fft.fftfreq(n_p) * n_p
        self.art = art

    def __call__(self, W, F, t, sigma):
        art = self.art
        rng = self.rng
        # chemical shift of fat along the readout
        if self.cs:
            n = math.floor(self.cs)
            fr = self.cs - n
            F = (1 - fr) * np.roll(F, n, axis=self.rax) + fr * np.roll(F, n + 1, axis=self.rax)
        img = W + (F * self.fat_w) * self.fat_phase
        if self.band is not None:
            img = img * self.band
        img = img * self.coil
        fo = art["sense_foldover"]
        if fo:
            n = self.shape[self.pax]
            sh = n // fo["R"]
            alias = np.roll(img, sh, axis=self.pax)
            if fo["R"] == 3:
                alias = alias + np.roll(img, -sh, axis=self.pax)
            img = img + fo["weight"] * alias
        K = np.fft.fft2(img)
        mg = art["motion_ghost"]
        if mg:
            mod = 1 + mg["weight"] * 2 * np.cos(2 * np.pi * self.kp_index / mg["period_lines"]
                                               + 0.7 * t)
            K = K * (mod[:, None] if self.pax == 0 else mod[None, :])
        K = K * self.kmask
        sp = art["spike"]
        if sp and rng.random() < sp["frame_prob"]:
            ky, kx = (sp["ky"], sp["kx"]) if self.pax == 0 else (sp["kx"], sp["ky"])
            K[ky % self.shape[0], kx % self.shape[1]] += sp["amp"] * abs(K[0, 0])
        n_tot = K.size
        sk = sigma * math.sqrt(n_tot / max(self.frac, 1e-3))
        noise = rng.standard_normal(K.shape) + 1j * rng.standard_normal(K.shape)
        K = K + sk * noise * (self.kmask > 0)
        out = np.abs(np.fft.ifft2(K))
        zp = art["zipper"]
        if zp:
            pos = int(zp["pos"] * (self.shape[self.rax] - 1))
            line = zp["amp"] * sigma * np.abs(rng.standard_normal(self.shape[self.pax]))
            line *= 1 + 0.8 * (np.arange(self.shape[self.pax]) % 2)
            if self.rax == 1:
                out[:, pos] += line
            else:
                out[pos, :] += line
        return out.astype(np.float32)


# ----------------------------------------------------------------------------- render


def _block_mean(a, shape):
    H, W = shape
    return a.reshape(H, 2, W, 2).mean(axis=(1, 3))


def _block_mode(lab, shape):
    H, W = shape
    b = lab.reshape(H, 2, W, 2)
    counts = np.stack([(b == k).sum(axis=(1, 3)) for k in range(4)])
    return np.argmax(counts, axis=0).astype(np.uint8)


def _clean_labels(lab, dropped=None):
    out = np.zeros_like(lab)
    for k in (1, 2, 3):
        m = lab == k
        if m.any():
            keep = _largest(m)
            out[keep] = k
            if dropped is not None:
                dropped[k - 1] = max(dropped[k - 1], 1.0 - float(keep.sum()) / float(m.sum()))
    return out


def render(params: dict):
    """Render one case: frames float32 (T,H,W) >= 0, labels uint8 (T,H,W), spacing, params."""
    p = json.loads(json.dumps(params))
    H, Wd = (int(v) for v in p["matrix"])
    sr, sc = (float(v) for v in p["spacing_mm"])
    T = int(p["n_frames"])
    dt = float(p["frame_interval_s"])
    rng = np.random.default_rng([int(p["render_seed"]), 3])
    fov_h, fov_w = H * sr, Wd * sc
    anat = Anatomy(p)
    isp = _place(anat, p, fov_h, fov_w)
    an = p["anatomy"]
    grid = Grid((2 * H, 2 * Wd), sr / 2, sc / 2, isp, an["scale"], an["tilt_deg"])
    tis, lab0, content0, body = _rest_scene(anat, grid, rng)
    W0, F0, mucosa = _rest_images(tis, p, rng, grid)
    times = np.arange(T) * dt
    motion = Motion(anat, p, grid, fov_h, fov_w)
    coef, prof = motion.coefficients(p, times)
    tx, ty, th = _drift(p, times, rng)
    grid_out = Grid((H, Wd), sr, sc, isp, an["scale"], an["tilt_deg"])
    body_out = _block_mean(body.astype(np.float32), (H, Wd)) > 0.5
    scanner = Scanner(p, (H, Wd), (sr, sc), anat, grid_out, body_out, rng)
    ref = float(np.mean(_block_mean(W0 + F0, (H, Wd))[body_out])) if body_out.any() else 0.3
    sigma = ref / float(p["snr"])
    yf = grid.y[:, None] + 0 * grid.x[None, :]
    xf = grid.x[None, :] + 0 * grid.y[:, None]
    pcx, pcy = grid.to_img(*anat.lm["vault"])
    evac_amp = p["motion"]["amplitudes_mm"]["evacuation"]
    frames = np.zeros((T, H, Wd), np.float32)
    labels = np.zeros((T, H, Wd), np.uint8)
    mags, change = [], []
    dropped = [0.0, 0.0, 0.0]
    u_first = None
    for t in range(T):
        v = motion.velocity(coef, t)
        mags.append(float(np.abs(v).max()))
        u = motion.inverse_displacement(v)
        if u_first is None:
            u_first = u
        change.append(float(np.mean(np.hypot(*(u - u_first)) * motion.wgt))
                      + math.hypot(tx[t] - tx[0], ty[t] - ty[0]) * 0.2)
        c, s_ = math.cos(math.radians(-th[t])), math.sin(math.radians(-th[t]))
        qx0, qy0 = xf - pcx - tx[t], yf - pcy - ty[t]
        qx = pcx + c * qx0 - s_ * qy0
        qy = pcy + s_ * qx0 + c * qy0
        ci = [(qy - motion.y0) / motion.h, (qx - motion.x0) / motion.h]
        ux = ndi.map_coordinates(u[0], ci, order=1, mode="nearest")
        uy = ndi.map_coordinates(u[1], ci, order=1, mode="nearest")
        coords = np.stack([(qy + uy) / grid.dy - 0.5, (qx + ux) / grid.dx - 0.5])
        Wt = ndi.map_coordinates(W0, coords, order=1, mode="constant", cval=0.0,
                                 prefilter=False)
        Ft = ndi.map_coordinates(F0, coords, order=1, mode="constant", cval=0.0,
                                 prefilter=False)
        Lt = ndi.map_coordinates(lab0, coords, order=0, mode="constant", cval=0,
                                 prefilter=False)
        e = float(prof["evac"][t]) * evac_amp
        if e > 0 and content0.any():
            Ct = ndi.map_coordinates(content0, coords, order=1, mode="constant", cval=0.0,
                                     prefilter=False)
            Wt = Wt * (1 - e * Ct) + e * Ct * mucosa
            Ft = Ft * (1 - e * Ct)
        Wo = _block_mean(Wt, (H, Wd))
        Fo = _block_mean(Ft, (H, Wd))
        labels[t] = _clean_labels(_block_mode(Lt, (H, Wd)), dropped)
        frames[t] = scanner(Wo, Fo, times[t], sigma)
    scale = p["imaging"]["intensity_max"] * 0.85 / max(float(np.percentile(frames[0], 99.7)),
                                                        1e-6)
    frames *= scale
    np.clip(frames, 0, None, out=frames)
    peak = int(np.argmax(change))
    areas = {LABELS[str(k)]: round(float((labels[0] == k).sum() * sr * sc / 100.0), 2)
             for k in (1, 2, 3)}
    p["derived"] = {
        "isp_mm": [round(isp[0], 2), round(isp[1], 2)],
        "peak_frame": peak,
        "strain": [round(float(x), 4) for x in prof["strain"]],
        "squeeze": [round(float(x), 4) for x in prof["squeeze"]],
        "cough": [round(float(x), 4) for x in prof["cough"]],
        "evacuation": [round(float(x), 4) for x in prof["evac"]],
        "rest_area_cm2": areas,
        "noise_sigma": round(float(sigma * scale), 4),
        "max_velocity_mm": round(max(mags), 2),
        "deformation_change": [round(x, 4) for x in change],
        "max_dropped_fraction": [round(x, 4) for x in dropped],
        "rest_dropped_fraction": anat.rest_dropped,
    }
    return frames, labels, (sr, sc), p


def generate(seed: int):
    return render(draw_params(seed))


# ----------------------------------------------------------------------------- CLI


def _write_case(seed: int, out: str) -> str:
    t0 = time.perf_counter()
    frames, labels, spacing, p = generate(seed)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    T = frames.shape[0]
    times = np.arange(T) * float(p["frame_interval_s"])
    im = p["imaging"]
    tag = SEQUENCES[im["sequence"]][1]
    desc = f"svf cine sagittal {im['sequence']} {p['motion']['manoeuvre']} ({tag})"
    subject = f"{PREFIX}_{seed:03d}"
    series = CineSeries(frames=frames, spacing_mm=spacing, times_s=times,
                        meta={"series_description": desc, "subject_id": subject})
    write_dicom_series(series, case / "series", seed=seed, patient_name=f"SVF^{seed:03d}",
                       patient_id=subject, slice_thickness_mm=float(im["slice_thickness_mm"]))
    np.save(case / "truth.npy", labels.astype(np.uint8))
    (case / "params.json").write_text(json.dumps(p, indent=1))
    an = p["anatomy"]
    return (f"{subject}: {T}x{frames.shape[1]}x{frames.shape[2]} {im['contrast']} "
            f"{p['motion']['manoeuvre']} uterus={an['uterus']['state']} "
            f"bladder={an['bladder_fill']:.2f} rectum={an['rectal_content']} "
            f"({time.perf_counter() - t0:.1f}s)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="100-195", help="seeds, e.g. 100-195 or 1,5,7")
    parser.add_argument("--out", default="svf_cases", help="output folder")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    job = functools.partial(_write_case, out=args.out)
    for line in map_jobs(job, seeds, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
