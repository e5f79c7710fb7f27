"""Voronoi pelvis generator: dynamic mid-sagittal pelvic MRI drawn as a moving power diagram.

How a case is made
------------------
1. Case parameters are drawn from ``np.random.default_rng(seed)``: matrix, pixel spacing,
   frames, body build, bony pelvis, organ sizes and positions (bladder filling, uterus
   version / flexion, fibroids, hysterectomy, rectal and vaginal content, bowel loops),
   pelvic floor laxity, manoeuvre and MRI sequence.
2. A *template raster* (1.25 mm, anatomy coordinates: ``u`` posterior, ``v`` caudal, origin
   at the inferior pubic symphysis) is painted from simple landmark shapes (ellipses,
   spline tubes, a body polygon).  The template only decides which tissue class a seed
   point gets; it is never rendered itself.
3. A few thousand to a few ten thousand jittered hexagonal seed points are scattered over
   the field of view in scanner millimetres (cell size 2-8 mm per case, denser seeds in a
   band around every template boundary).  Each seed takes the class and object of the
   template under it.  The scene is the *power diagram* of these seeds (each seed carries
   a weight ``w``; a point belongs to the seed minimising ``|x - s|^2 - w``), so all organ
   borders are cell borders: lobulated and irregular at the cell scale.  The power diagram is
   computed exactly as a nearest-neighbour query in 3-D (seed lifted to height
   ``sqrt(max(w) - w)``) with a cKDTree on a 2x oversampled pixel grid.
4. Walls are cells: lumen cells (urine, vaginal lumen, rectal / bowel content) that touch a
   cell of another object become wall (one or two cell layers); marrow cells that touch
   anything else become cortex.  Organ cells cut off from their organ are turned into fat.
5. Motion moves the seeds with a smooth displacement field: Gaussian-kernel sources driven
   by the manoeuvre curves (descent of the anterior, middle and posterior compartments,
   posterior-inferior rotation about the symphysis, rectocele bulge, levator sag / opening
   of the anorectal angle, perineal bulge, lift on squeezing, breathing of the upper
   abdomen).  Bone seeds and seeds close to bone stay fixed.  Defecation shrinks the rectal
   content cells' power weights and pulls the rectum together, while hidden content seeds
   on the anal canal axis gain weight so that content passes the opened anal canal.  Each
   frame is re-tessellated, so image and truth come from the same cells.
6. MRI: every cell gets its own intensity (tissue level of the sequence x a per-cell lobular
   offset); sequences T2 HASTE, TrueFISP (bSSFP), T1 GRE, PD FSE, each with or without fat
   saturation; 2x2 partial-volume averaging, point-spread blur, chemical shift of the fat
   signal along the frequency direction (bright / dark bands at fat-water interfaces),
   India-ink cancellation (bSSFP, opposed-phase GRE), optional bSSFP banding, phase-direction
   ghosts, multi-coil receive bias, non-central chi noise (SNR 4-40) and an arbitrary scale.

Orientation
-----------
Frames are (T, H, W) in canonical sagittal order: row 0 cranial (head), rows run towards the
feet; column 0 anterior (belly), columns run posterior (back).  ``spacing_mm`` is (row, col);
a given ``matrix`` keeps the field of view of the case in millimetres.

Labels (truth, uint8)
---------------------
0 background; 1 bladder (wall + urine, down to the bladder neck, urethra not labelled);
2 uterus_vagina (uterine body incl. fibroids, cervix, vagina walls + lumen down to the
introitus at the perineal skin; after hysterectomy the vagina with a rounded cuff);
3 rectum (rectum and anal canal, wall + content, from the rectosigmoid cut perpendicular to
the bowel axis at S3 down to the anal verge; sigmoid and external sphincter not labelled).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.draw import polygon as _polygon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "voronoi"

# ----------------------------------------------------------------------------- tissue classes
(AIR, FAT, MUSCLE, CORTEX, MARROW, DISC, CSF, BL_WALL, URINE, URETHRA, MYO, ENDO, JZ, CERVIX,
 VAG_WALL, VAG_LUMEN, FIBROID, RE_WALL, RE_CONTENT, RE_GAS, ANAL, BO_WALL, BO_FLUID, BO_GAS,
 BO_FECES, VESSEL, FLUID, LIGAMENT) = range(28)
N_CLASSES = 28
CLASS_NAMES = ("air", "fat", "muscle", "cortex", "marrow", "disc", "csf", "bladder_wall",
               "urine", "urethra", "myometrium", "endometrium", "junctional_zone", "cervix",
               "vagina_wall", "vagina_lumen", "fibroid", "rectum_wall", "rectum_content",
               "rectum_gas", "anal_canal", "bowel_wall", "bowel_fluid", "bowel_gas",
               "bowel_feces", "vessel", "fluid", "ligament")

LABEL = np.zeros(N_CLASSES, np.uint8)
LABEL[[BL_WALL, URINE]] = ORGANS.index("bladder") + 1
LABEL[[MYO, ENDO, JZ, CERVIX, VAG_WALL, VAG_LUMEN, FIBROID]] = ORGANS.index("uterus_vagina") + 1
LABEL[[RE_WALL, RE_CONTENT, RE_GAS, ANAL]] = ORGANS.index("rectum") + 1

FAT_FRACTION = np.zeros(N_CLASSES, np.float32)
FAT_FRACTION[FAT] = 1.0
FAT_FRACTION[MARROW] = 0.55
WATERY = np.ones(N_CLASSES, bool)  # tissues whose signal cancels against fat (India ink)
WATERY[[AIR, FAT, MARROW, CORTEX, RE_GAS, BO_GAS]] = False
FIXED = np.zeros(N_CLASSES, bool)  # bones and the spinal canal never move
FIXED[[CORTEX, MARROW, DISC, CSF]] = True

# object ids (walls form where a lumen touches another object)
OBJ_NONE, OBJ_BLADDER, OBJ_UV, OBJ_TUBE, OBJ_URETHRA, OBJ_CYST, OBJ_BOWEL0 = 0, 1, 2, 3, 4, 5, 10

SEQUENCES = ("t2_haste", "truefisp", "t1_gre", "pd_fse")
# relative tissue levels per sequence: HASTE, TrueFISP, T1 GRE, PD FSE
_LEVELS = {
    AIR: (0.0, 0.0, 0.0, 0.0), FAT: (0.62, 0.85, 1.0, 0.85), MUSCLE: (0.13, 0.17, 0.33, 0.3),
    CORTEX: (0.03, 0.04, 0.05, 0.05), MARROW: (0.5, 0.62, 0.8, 0.72),
    DISC: (0.5, 0.5, 0.3, 0.5), CSF: (0.95, 1.0, 0.12, 0.65), BL_WALL: (0.2, 0.25, 0.32, 0.35),
    URINE: (1.0, 0.95, 0.08, 0.7), URETHRA: (0.3, 0.3, 0.3, 0.4),
    MYO: (0.42, 0.38, 0.34, 0.5), ENDO: (0.85, 0.65, 0.3, 0.65), JZ: (0.18, 0.25, 0.3, 0.35),
    CERVIX: (0.2, 0.3, 0.3, 0.38), VAG_WALL: (0.3, 0.32, 0.33, 0.42),
    VAG_LUMEN: (0.55, 0.5, 0.3, 0.55), FIBROID: (0.14, 0.22, 0.3, 0.3),
    RE_WALL: (0.25, 0.3, 0.33, 0.4), RE_CONTENT: (0.4, 0.45, 0.45, 0.5),
    RE_GAS: (0.02, 0.02, 0.02, 0.02), ANAL: (0.22, 0.28, 0.32, 0.38),
    BO_WALL: (0.32, 0.35, 0.38, 0.42), BO_FLUID: (0.9, 0.9, 0.1, 0.65),
    BO_GAS: (0.02, 0.02, 0.02, 0.02), BO_FECES: (0.35, 0.45, 0.5, 0.5),
    VESSEL: (0.06, 0.85, 0.6, 0.1), FLUID: (1.0, 0.95, 0.08, 0.72),
    LIGAMENT: (0.08, 0.1, 0.15, 0.15),
}
_GEL = (0.95, 0.9, 0.1, 0.7)  # ultrasound gel / fluid filling
_SKIN = (0.3, 0.35, 0.45, 0.5)
_TEXTURE = np.ones(N_CLASSES, np.float32)  # relative per-cell intensity spread
_TEXTURE[[URINE, CSF, FLUID, BO_FLUID]] = 0.3
_TEXTURE[[FAT, MYO, FIBROID]] = 1.3
_TEXTURE[[RE_CONTENT, BO_FECES]] = 3.0
_TEXTURE[[AIR, RE_GAS, BO_GAS]] = 0.5

# ------------------------------------------------------------------------------ small helpers
RES = 1.25  # template raster step in anatomy mm
U0, U1, V0, V1 = -170.0, 320.0, -360.0, 160.0


def _rot(vec, deg):
    """Rotate (u, v) vectors; positive angles turn cranial into posterior (clockwise)."""
    a = math.radians(deg)
    vec = np.asarray(vec, float)
    c, s = math.cos(a), math.sin(a)
    return np.stack([vec[..., 0] * c - vec[..., 1] * s, vec[..., 0] * s + vec[..., 1] * c], -1)


def _unit(vec):
    vec = np.asarray(vec, float)
    return vec / max(float(np.linalg.norm(vec)), 1e-9)


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _spline(points, step=0.5):
    """Dense Catmull-Rom curve through ``points`` (N, 2)."""
    pts = np.asarray(points, float)
    ext = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1:i + 3]
        n = max(2, int(np.linalg.norm(p2 - p1) / step))
        t = np.linspace(0, 1, n, endpoint=False)[:, None]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(pts[-1][None])
    return np.vstack(out)


class Curve:
    """A dense spline with arc length, unit tangent and normal ``(t_v, -t_u)``.

    For a curve drawn towards the feet the normal points posterior."""

    def __init__(self, points, step=0.5):
        p = _spline(points, step)
        seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
        p = p[np.r_[True, seg > 1e-6]]
        self.p = p
        self.s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))]
        t = np.gradient(p, axis=0)
        self.t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
        self.n = np.c_[self.t[:, 1], -self.t[:, 0]]
        self.length = float(self.s[-1])
        self.tree = cKDTree(p)

    def arc_of(self, point):
        return float(self.s[self.tree.query(np.asarray(point, float))[1]])

    def at(self, s):
        s = np.clip(np.asarray(s, float), 0, self.length)
        return np.stack([np.interp(s, self.s, self.p[:, 0]), np.interp(s, self.s, self.p[:, 1])],
                        -1)

    def query(self, pts, bound=np.inf):
        """(distance, arc, signed normal offset, foot point) of points (N, 2)."""
        d, i = self.tree.query(pts, distance_upper_bound=bound)
        ok = i < len(self.p)
        i = np.minimum(i, len(self.p) - 1)
        foot = self.p[i]
        off = np.einsum("ij,ij->i", pts - foot, self.n[i])
        return np.where(ok, d, np.inf), self.s[i], off, foot


class Raster:
    """The template raster (anatomy coordinates) with class and object maps."""

    def __init__(self):
        self.u = np.arange(U0, U1, RES)
        self.v = np.arange(V0, V1, RES)
        self.shape = (len(self.v), len(self.u))
        self.U, self.V = np.meshgrid(self.u, self.v)
        self.C = np.full(self.shape, AIR, np.int16)
        self.O = np.zeros(self.shape, np.int16)

    def curve(self, curve, bound):
        """Distance, arc and offset maps of a curve (inf / 0 farther than ``bound``)."""
        lo = curve.p.min(0) - bound
        hi = curve.p.max(0) + bound
        c0, c1 = np.clip(((np.array([lo[0], hi[0]]) - U0) / RES).astype(int) + [0, 2], 0,
                         self.shape[1])
        r0, r1 = np.clip(((np.array([lo[1], hi[1]]) - V0) / RES).astype(int) + [0, 2], 0,
                         self.shape[0])
        dist = np.full(self.shape, np.inf)
        arc = np.zeros(self.shape)
        off = np.zeros(self.shape)
        if r1 > r0 and c1 > c0:
            pts = np.c_[self.U[r0:r1, c0:c1].ravel(), self.V[r0:r1, c0:c1].ravel()]
            d, s, o, _ = curve.query(pts, bound)
            sh = (r1 - r0, c1 - c0)
            dist[r0:r1, c0:c1] = d.reshape(sh)
            arc[r0:r1, c0:c1] = s.reshape(sh)
            off[r0:r1, c0:c1] = o.reshape(sh)
        return dist, arc, off

    def ellipse(self, centre, a, b, axis):
        """Normalised radius (<= 1 inside) of an ellipse with semi-axis ``a`` along ``axis``."""
        ax = _unit(axis)
        du, dv = self.U - centre[0], self.V - centre[1]
        x = du * ax[0] + dv * ax[1]
        y = -du * ax[1] + dv * ax[0]
        return np.sqrt((x / a) ** 2 + (y / b) ** 2)

    def paint(self, mask, cls, obj=OBJ_NONE):
        self.C[mask] = cls
        self.O[mask] = obj

    def lookup(self, pts):
        """Indices of the raster pixels nearest to anatomy points (N, 2)."""
        c = np.clip(np.rint((pts[:, 0] - U0) / RES).astype(int), 0, self.shape[1] - 1)
        r = np.clip(np.rint((pts[:, 1] - V0) / RES).astype(int), 0, self.shape[0] - 1)
        return r, c

    def dilate(self, mask, mm):
        return ndimage.distance_transform_edt(~mask) * RES <= mm


def _largest(mask):
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return round(float(obj), 5)
    return obj


# ------------------------------------------------------------------------------- parameters
def case_params(seed: int, matrix=None, n_frames=None) -> dict:
    """All random choices of one case (cheap, no rendering)."""
    rng = np.random.default_rng([int(seed), 11])
    u = rng.uniform
    h0, w0 = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sp0 = float(u(1.1, 1.5))
    fov = (h0 * sp0, w0 * sp0)
    t0 = int(rng.integers(20, 41))
    dt = float(u(0.5, 2.0))
    if matrix is None:
        h, w = h0, w0
    elif np.ndim(matrix) == 0:
        h = w = int(matrix)
    else:
        h, w = (int(m) for m in matrix)
    n_t = t0 if n_frames is None else int(n_frames)

    multiparous = bool(rng.random() < 0.55)
    lax = float(u(0.3, 1.0) if multiparous else u(0.0, 0.35))
    lax_post = float(np.clip(lax + rng.normal(0, 0.2), 0, 1))
    hyst = bool(rng.random() < 0.2)
    postmeno = bool(rng.random() < 0.25)
    version = str(rng.choice(["anteverted", "retroverted", "axial"], p=[0.68, 0.2, 0.12]))
    n_fibroids = int(min(3, rng.poisson(0.45))) if not hyst else 0
    fibroids = []
    for _ in range(n_fibroids):
        fibroids.append({"kind": str(rng.choice(["intramural", "subserosal", "submucosal"],
                                                p=[0.5, 0.35, 0.15])),
                         "radius": float(u(5, 20)), "t": float(u(0.2, 0.95)),
                         "side": float(rng.choice([-1.0, 1.0])),
                         "degenerated": bool(rng.random() < 0.2)})
    maneuver_pre = str(rng.choice(["valsalva", "defecation", "squeeze", "cough", "protocol"],
                                  p=[0.3, 0.2, 0.13, 0.12, 0.25]))
    anatomy = {
        "body_scale": float(u(0.9, 1.12)), "tilt_deg": float(u(-15, 15)),
        "fat_ant": float(u(8, 50)), "fat_post": float(u(6, 38)), "belly": float(u(0, 35)),
        "sym_angle": float(u(18, 36)), "sym_len": float(u(36, 46)),
        "sym_half": float(u(6, 9)), "prom_u": float(u(74, 88)), "prom_v": float(u(-124, -110)),
        "sacrum_angle": float(u(22, 36)), "sacrum_len": float(u(92, 110)),
        "sacrum_depth": float(u(16, 30)), "coccyx_len": float(u(22, 36)),
        "coccyx_bend": float(u(20, 45)), "vb_depth": float(u(34, 43)),
        "rectus": float(u(7, 12)),
        "multiparous": multiparous, "laxity": lax, "laxity_posterior": lax_post,
        "bladder_fill": float(u(0.02, 1.0) ** 0.8), "bladder_p": float(u(2.0, 2.6)),
        "neck": [float(u(15, 23)), float(u(-23, -14) + 6 * lax)],
        "base_angle": float(u(12, 28)),
        "meatus": [float(u(7, 13)), float(u(25, 31))],
        "introitus": [float(u(18, 26)), float(u(32, 39))],
        "vault": [float(u(50, 60)), float(u(-32, -22) + 8 * lax)],
        "vagina_mid_shift": float(u(-4, 4)), "vagina_gel": bool(rng.random() < 0.5),
        "vagina_half": float(u(5.0, 6.5)), "gel_half": float(u(3, 8)),
        "hysterectomy": hyst, "postmenopausal": postmeno, "version": version,
        "flexion_deg": float(u(50, 100) if version == "anteverted"
                             else (u(-25, -5) if version == "retroverted" else u(-5, 30))),
        "cervix_len": float(u(24, 34)), "cervix_r": float(u(11, 15)),
        "uterus_len": float(u(40, 55) if postmeno else u(55, 85)),
        "uterus_half": float(u(13, 18) if postmeno else u(18, 26)),
        "endometrium_half": float(u(0.8, 2.0) if postmeno else u(2.0, 7.0)),
        "jz": float(u(0.0, 1.5) if postmeno else u(3.0, 7.0)),
        "fibroids": fibroids,
        "anal_verge": [float(u(54, 64)), float(u(44, 52))],
        "arj": [float(u(50, 58)), float(u(6, 16) + 8 * lax_post)],
        "rect_content": str(rng.choice(["gel", "stool", "empty"], p=[0.55, 0.25, 0.2])),
        "ampulla_r": float(u(14, 26)), "anal_r": float(u(7, 9.5)),
        "presacral": float(u(4, 12)), "sigmoid_r": float(u(10, 15)),
        "n_bowel": int(rng.integers(5, 13)), "free_fluid": bool(rng.random() < 0.3),
        "ovarian_cyst": bool(rng.random() < 0.15), "aorta_r": float(u(7, 10.5)),
    }
    if maneuver_pre == "defecation" and anatomy["rect_content"] == "empty":
        anatomy["rect_content"] = "gel"
    if anatomy["rect_content"] == "gel":
        anatomy["ampulla_r"] = float(u(18, 27))
    elif anatomy["rect_content"] == "empty":
        anatomy["ampulla_r"] = float(u(9, 14))

    maneuver = maneuver_pre
    motion = {
        "maneuver": maneuver,
        "anterior_mm": float(6 + 32 * lax ** 1.2 + u(-2, 2)),
        "middle_mm": float(4 + 30 * lax + u(-2, 2)),
        "rectocele_mm": float(2 + 13 * lax_post ** 1.3),
        "levator_mm": float(5 + 18 * max(lax, lax_post) + u(-2, 2)),
        "perineum_mm": float(3 + 14 * lax_post + u(0, 3)),
        "global_mm": float(u(3, 9)), "rotation_deg": float(3 + 14 * lax + u(-2, 2)),
        "lift_mm": float(u(3, 10)), "breath_mm": float(u(1.5, 5)),
        "breath_period_s": float(u(3.5, 6.5)), "breath_phase": float(u(0, 2 * math.pi)),
        "evac_max": float(u(0.55, 1.0)), "rect_shrink": float(u(0.3, 0.6)),
        "anal_open_mm": float(u(3, 7)),
        "curve_seed": int(rng.integers(0, 2 ** 31 - 1)),
    }

    seq = str(rng.choice(SEQUENCES, p=[0.35, 0.3, 0.15, 0.2]))
    fatsat_p = {"t2_haste": 0.3, "truefisp": 0.12, "t1_gre": 0.35, "pd_fse": 0.4}[seq]
    imaging = {
        "sequence": seq, "fat_sat": bool(rng.random() < fatsat_p),
        "opposed_phase": bool(seq == "truefisp" or (seq == "t1_gre" and rng.random() < 0.4)),
        "level_jitter": [float(x) for x in u(0.82, 1.2, N_CLASSES)],
        "fluid_jitter": float(u(0.85, 1.15)), "texture": float(u(0.03, 0.11)),
        "cell_mm": float(u(2.0, 8.0)), "chem_shift_px": float(u(1.0, 3.0) * rng.choice([-1, 1])),
        "freq_axis": str(rng.choice(["rows", "cols"])), "ghosts": bool(rng.random() < 0.3),
        "ghost_amp": float(u(0.02, 0.09)), "ghost_n": int(rng.integers(2, 5)),
        "banding": bool(seq == "truefisp" and rng.random() < 0.35),
        "n_coils": int(rng.integers(4, 9)), "coil_depth_mm": float(u(50, 130)),
        "bias_gamma": float(u(0.35, 1.0)), "noise_channels": int(rng.integers(1, 5)),
        "snr": float(math.exp(u(math.log(4), math.log(40)))),
        "psf_px": float(u(0.3, 0.7)), "phase_blur_px": float(u(0.3, 1.2) if seq in
                                                               ("t2_haste", "pd_fse") else 0.0),
        "scale": float(math.exp(u(math.log(0.5), math.log(3000)))),
        "integer": bool(rng.random() < 0.5), "int_top": float(u(400, 3800)),
        "slice_mm": float(u(4, 8)),
        "skin_mm": float(u(1.5, 3.0)),
    }
    return {
        "generator": GENERATOR, "seed": int(seed), "matrix": [h, w],
        "spacing_mm": [fov[0] / h, fov[1] / w], "fov_mm": [fov[0], fov[1]],
        "n_frames": n_t, "frame_interval_s": dt, "hysterectomy": hyst,
        "anatomy": anatomy, "motion": motion, "imaging": imaging,
    }


# ---------------------------------------------------------------------------------- anatomy
def build_anatomy(a: dict, rng: np.random.Generator):
    """Paint the template raster; return it with the landmarks the motion needs."""
    R = Raster()
    L: dict = {}
    S = np.zeros(2)
    d_sym = np.array([-math.sin(math.radians(a["sym_angle"])),
                      -math.cos(math.radians(a["sym_angle"]))])
    p_sup = S + d_sym * a["sym_len"]
    c_sym = S + d_sym * a["sym_len"] / 2

    # --- spine, sacrum, coccyx: one curve along the anterior surface, top to coccyx tip
    pr = np.array([a["prom_u"], a["prom_v"]])
    psi = math.radians(a["sacrum_angle"])
    chord = np.array([math.sin(psi), math.cos(psi)])
    npost = np.array([math.cos(psi), -math.sin(psi)])
    ls, kd = a["sacrum_len"], a["sacrum_depth"]
    sac = [pr + f * ls * chord + kd * 4 * f * (1 - f) * npost for f in (0.25, 0.5, 0.75, 1.0)]
    s5 = sac[-1]
    d_end = _unit(ls * chord - 4 * kd * npost)
    d_c1 = _rot(d_end, -a["coccyx_bend"])
    c1 = s5 + 0.5 * a["coccyx_len"] * d_c1
    ct = c1 + 0.5 * a["coccyx_len"] * _rot(d_c1, -0.6 * a["coccyx_bend"])
    lumbar = [pr + d for d in ([0, -420], [-4, -300], [-8, -220], [-12, -160], [-13, -110],
                               [-11, -60], [-5, -20])]
    spine = Curve(lumbar + [pr] + sac + [c1, ct])
    s_pr, s_s5, s_ct = spine.arc_of(pr), spine.arc_of(s5), spine.length
    L.update(S=S, pr=pr, s5=s5, ct=ct, p_sup=p_sup)

    sd, ss, so = R.curve(spine, 160.0)
    vb = a["vb_depth"]
    fs = np.clip((ss - s_pr) / max(s_s5 - s_pr, 1), 0, 1)
    fc = np.clip((ss - s_s5) / max(s_ct - s_s5, 1), 0, 1)
    lumb = ss < s_pr
    coc = ss > s_s5
    depth = np.where(lumb, vb, np.where(coc, 9 - 4 * fc, 0.85 * vb * (1 - fs) + 10 * fs))
    canal = np.where(lumb, 15.0, np.where(coc, 0.0, 14 * (1 - fs) + 4 * fs))
    post_el = np.where(lumb, 36.0, np.where(coc, 0.0, 7 - 3 * fs))
    back_muscle = np.where(lumb, 12.0, np.where(coc, 4.0, 10.0 - 5 * fs))
    skin_off = depth + canal + post_el + back_muscle + np.where(
        lumb, a["fat_post"], np.where(coc, 6 + 0.45 * a["fat_post"], 4 + 0.8 * a["fat_post"]))
    near = np.isfinite(sd)

    # --- body outline polygon
    abd_pts = [[p_sup[0] - 16 - a["belly"], V0 - 20], [p_sup[0] - 15 - a["belly"], -230],
               [p_sup[0] - 11 - 0.6 * a["belly"], -140], [p_sup[0] - 5 - 0.2 * a["belly"], -80],
               [p_sup[0] + 1, p_sup[1] - 8], [p_sup[0] + 5, p_sup[1] + 4]]
    abd = Curve(abd_pts)
    av = np.array(a["anal_verge"])
    intro = np.array(a["introitus"])
    # vagina (its curve is needed to keep the anorectum clear of it)
    hyst = a["hysterectomy"]
    vault = np.array(a["vault"])
    vmid = (intro + vault) / 2 + np.array([6 + a["vagina_mid_shift"], 4])
    dvag = _unit(vault - vmid)
    vag_top = vault - (8 if hyst else -3) * dvag
    vag = Curve([intro + np.array([-1, 6]), vmid, vag_top])
    wall_nom = 4.5

    def vhw_of(fv):
        lumen = a["gel_half"] * _smoothstep((fv - 0.2) / 0.35) if a["vagina_gel"] else 0.0
        return np.maximum(a["vagina_half"] + lumen
                          + (0 if hyst else 4) * _smoothstep((fv - 0.8) / 0.2), wall_nom)

    def clear(pt, extra):
        d, s_, _, foot = vag.query(pt[None])
        need = float(vhw_of(s_ / vag.length)[0]) + a["anal_r"] + extra
        if d[0] < need:
            pt = pt + (need - d[0]) * _unit(pt - foot[0] + [1e-3, 0])
        return pt

    av = clear(av, 6.0)
    arj = clear(np.array(a["arj"]), 7.0)
    meatus = np.array(a["meatus"])
    fa, fp = a["fat_ant"], a["fat_post"]
    front = []
    for v in np.linspace(V0 - 20, p_sup[1] - 4, 16):
        k = int(np.argmin(np.abs(abd.p[:, 1] - v)))
        grow = 1.0 + 0.35 * _smoothstep((p_sup[1] - v) / 150.0)
        front.append(abd.p[k] - abd.n[k] * (a["rectus"] + fa * grow))
    mons = [p_sup + [-(8 + 0.9 * fa), 10], S + [-(6 + 0.6 * fa), 14],
            [meatus[0] - 9 - 0.15 * fa, meatus[1] + 3]]
    pb = np.array([(intro[0] + av[0]) / 2, max(intro[1], av[1]) + 3])
    back_arcs = np.linspace(0, s_ct, 40)
    back = []
    for s in back_arcs:
        k = int(np.argmin(np.abs(spine.s - s)))
        f_s = np.clip((s - s_pr) / max(s_s5 - s_pr, 1), 0, 1)
        f_c = np.clip((s - s_s5) / max(s_ct - s_s5, 1), 0, 1)
        if s < s_pr:
            off = vb + 15 + 36 + 12 + fp
        elif s <= s_s5:
            off = (0.85 * vb * (1 - f_s) + 10 * f_s) + (14 * (1 - f_s) + 4 * f_s) + (7 - 3 * f_s) \
                + (10 - 5 * f_s) + 4 + 0.8 * fp
        else:
            off = 9 - 4 * f_c + 4 + 6 + 0.45 * fp
        back.append(spine.p[k] + spine.n[k] * off)
    gc = np.array([av[0] + 22 + 0.3 * fp, av[1] - 5])
    poly = np.array(front + mons + [intro, pb, av, gc] + back[::-1])
    rr, cc = _polygon((poly[:, 1] - V0) / RES, (poly[:, 0] - U0) / RES, R.shape)
    body = np.zeros(R.shape, bool)
    body[rr, cc] = True
    body = ndimage.gaussian_filter(body.astype(np.float32), 1.6) > 0.5
    R.paint(body, FAT)

    # --- organ geometry (masks first, painted later in priority order)
    vd, vs, _ = R.curve(vag, 40)
    vhw = vhw_of(vs / vag.length)
    vag_m = (vd <= vhw) & body

    # bladder
    neck = np.array(a["neck"])
    fill = a["bladder_fill"]
    ba, bb = 18 + 34 * fill ** 0.7, 9 + 46 * fill ** 0.8
    bc = neck + np.array([0.3 * ba, -0.9 * bb])
    bl_shape = (np.abs((R.U - bc[0]) / ba) ** a["bladder_p"]
                + np.abs((R.V - bc[1]) / bb) ** a["bladder_p"]) <= 1
    g = math.radians(a["base_angle"])
    base_n = np.array([math.sin(g), math.cos(g)])  # below the posterior base line
    ant_n = np.array([-math.sin(math.radians(40)), math.cos(math.radians(40))])
    rel_u, rel_v = R.U - neck[0], R.V - neck[1]
    bl_shape &= (rel_u * base_n[0] + rel_v * base_n[1]) <= 0
    bl_shape &= (rel_u * ant_n[0] + rel_v * ant_n[1]) <= 0
    _, _, abd_off = R.curve(abd, 300)
    rectus_m = (abd_off > -a["rectus"]) & (abd_off <= 0) & (R.V < p_sup[1] + 4) & body
    # cervix and uterus
    uterus_m = np.zeros(R.shape, bool)
    cervix_m = np.zeros(R.shape, bool)
    endo_m = np.zeros(R.shape, bool)
    jz_m = np.zeros(R.shape, bool)
    fib_m = np.zeros(R.shape, bool)
    canal_m = np.zeros(R.shape, bool)
    sac_curve = Curve([pr] + sac + [c1, ct])
    sac_d, _, sac_off = R.curve(sac_curve, 60)
    ahead = sac_off < 0  # anterior to the sacrum/coccyx surface
    flex = a["flexion_deg"]
    top = None
    if not hyst:
        cx0 = vault - 7 * dvag
        top = vault + a["cervix_len"] * dvag
        cerv = Curve([cx0, (cx0 + top) / 2, top])
        cd, _, _ = R.curve(cerv, 30)
        cervix_m = cd <= a["cervix_r"]
        canal_m = cd <= 1.8
        lu, hu = a["uterus_len"], a["uterus_half"]
        for _ in range(8):
            du = _rot(dvag, -flex)
            centre = top + du * (lu / 2 - 6)
            du_, dv_ = R.U - centre[0], R.V - centre[1]
            x = du_ * du[0] + dv_ * du[1]
            y = -du_ * du[1] + dv_ * du[0]
            t = np.clip(x / lu + 0.5, 0, 1)
            half = hu * (0.78 + 0.3 * t)
            body_u = (x / (lu / 2)) ** 2 + (y / half) ** 2 <= 1
            clash = body_u & ~ahead & np.isfinite(sac_d)
            clash |= body_u & (sac_d < 20) & ahead
            on_bladder = (body_u & bl_shape).sum() / max(body_u.sum(), 1)
            if clash.sum() * RES ** 2 >= 20:
                flex += 10
            elif on_bladder > 0.12:
                flex -= 12
            else:
                break
        uterus_m = body_u
        endo_m = (x / (0.36 * lu)) ** 2 + (y / a["endometrium_half"]) ** 2 <= 1
        jz_m = (x / (0.40 * lu)) ** 2 + (y / (a["endometrium_half"] + a["jz"])) ** 2 <= 1
        for f in a["fibroids"]:
            r = f["radius"]
            if f["kind"] == "subserosal":
                off = (0.75 * hu + 0.55 * r) * f["side"]
            elif f["kind"] == "submucosal":
                off = (a["endometrium_half"] + 0.6 * r) * f["side"]
            else:
                off = min(0.35 * hu, max(hu - r - 2, 0)) * f["side"]
            xc = (f["t"] - 0.5) * lu * 0.8
            fc_ = centre + du * xc + np.array([-du[1], du[0]]) * off
            m = (R.U - fc_[0]) ** 2 + (R.V - fc_[1]) ** 2 <= r * r
            fib_m |= m
        uterus_m |= fib_m
        uterus_m &= ~((sac_d < 18) & ahead) & ~(np.isfinite(sac_d) & ~ahead)
        L["cervix"] = (cx0 + top) / 2
        L["fundus"] = top + du * (lu - 6)
    L["flexion_deg"] = flex
    uv_m = (vag_m | cervix_m | uterus_m) & body
    uv_m = _largest(uv_m)

    # symphysis and other bones (painted last)
    sym_m = R.ellipse(c_sym, a["sym_len"] / 2, a["sym_half"], d_sym) <= 1
    bl_m = bl_shape & ~R.dilate(uv_m, 3.5) & ~R.dilate(sym_m, 6) & (abd_off > 3) & body
    bl_m &= ~((sac_d < 10) | (np.isfinite(sac_d) & ~ahead))
    bl_m = _largest(bl_m)
    L["neck"] = neck
    L["bladder_top"] = float(R.V[bl_m].min()) if bl_m.any() else float(neck[1] - 10)

    # urethra
    ure = Curve([neck + np.array([0, -2]), (neck + meatus) / 2 + np.array([-1, 0]), meatus])
    ud, _, _ = R.curve(ure, 20)
    ure_m = (ud <= 5.5) & body & ~bl_m

    # rectum and sigmoid: one tube, cut at S3
    s3 = sac_curve.at(0.5 * sac_curve.arc_of(s5))
    k3 = int(np.argmin(np.linalg.norm(sac_curve.p - s3, axis=1)))
    n3 = sac_curve.n[k3]  # posterior normal at S3
    k4 = int(np.argmin(np.linalg.norm(sac_curve.p - sac_curve.at(0.78 * sac_curve.arc_of(s5)),
                                      axis=1)))
    r_amp, r_up = a["ampulla_r"], min(a["ampulla_r"], 15.0)
    gap = a["presacral"]
    rsj = s3 - n3 * (gap + r_up + 2)
    amp_c = sac_curve.p[k4] - sac_curve.n[k4] * (gap + r_amp + 4)
    amp_c = amp_c + np.array([0, 6])
    r1 = arj + np.array([14, -14])
    top_v = min(L["bladder_top"], float(R.V[uterus_m].min()) if uterus_m.any() else 0.0)
    sig = [rsj + np.array([-4, -28]),
           np.array([pr[0] + 2, pr[1] + 6]) - np.array([22, 0]),
           np.array([0.5 * (pr[0] + neck[0]), min(top_v, pr[1] + 10) - 18]),
           np.array([neck[0] + 5, min(top_v, pr[1] + 10) - 30])]
    tube = Curve([av + np.array([2, 6]), arj, r1, amp_c, rsj] + sig)
    s_av, s_arj = tube.arc_of(av), tube.arc_of(arj)
    s_cut = tube.arc_of(rsj)
    td, ts, toff = R.curve(tube, 40)
    rad = np.interp(ts, [0, s_arj, s_arj + 14, tube.arc_of(amp_c), s_cut, s_cut + 25, 1e4],
                    [a["anal_r"], a["anal_r"], 0.8 * r_amp, r_amp, r_up, a["sigmoid_r"],
                     a["sigmoid_r"]])
    tube_m = (td <= rad) & body
    tube_m &= ~R.dilate(uv_m, 3) & ~R.dilate(bl_m, 4) & ~(sac_d < gap)
    rect_m = _largest(tube_m & (ts <= s_cut) & ahead)
    sig_m = tube_m & (ts > s_cut)
    anal_m = rect_m & (ts <= s_arj)
    L.update(arj=arj, av=av, intro=intro, vault=vault, rsj=rsj, ampulla=amp_c, tube=tube,
             s_av=s_av, s_arj=s_arj, s_cut=s_cut, anal_r=a["anal_r"], s3=s3, n3=n3)
    eas_m = (td > a["anal_r"]) & (td <= a["anal_r"] + 6) & (ts <= s_arj - 4) & body

    # pelvic floor muscles
    pr_c = arj + np.array([a["anal_r"] + 7, 3])
    prm = R.ellipse(pr_c, 9.5, 6.5, [0.3, 1]) <= 1
    lev = Curve([pr_c, (pr_c + ct) / 2 + np.array([0, 4]), ct + np.array([-2, 3])])
    ld, _, _ = R.curve(lev, 10)
    lev_m = ld <= 3.8
    perineal_m = R.ellipse((intro + av) / 2 + np.array([0, -5]), 9, 7, [1, 0]) <= 1
    perineal_m &= body

    # vessels: aorta ahead of the upper lumbar spine, left common iliac vein ahead of L5
    aor = Curve([spine.at(s) - spine.n[int(np.argmin(np.abs(spine.s - s)))] * (a["aorta_r"] + 4)
                 for s in np.linspace(0, max(s_pr - 75, 5), 8)])
    ad, _, _ = R.curve(aor, 15)
    vessel_m = ad <= a["aorta_r"]
    k5 = int(np.argmin(np.abs(spine.s - (s_pr - 18))))
    civ = spine.p[k5] - spine.n[k5] * 9
    vessel_m |= R.ellipse(civ, 8, 5.5, spine.t[k5]) <= 1
    vessel_m &= body

    # peritoneal cavity for small bowel loops
    organs = uv_m | bl_m | rect_m | ure_m
    bone_pre = (near & (so > -2) & (so < depth + canal + post_el + 2)) | sym_m
    cavity = body & (abd_off > 4) & ((near & (so < -22)) | ~near) & (R.V < -25) & (R.V > V0 + 5)
    cavity &= ~R.dilate(organs | sig_m, 5) & ~R.dilate(bone_pre | vessel_m, 6)
    loops = []
    if cavity.any():
        cr, cc_ = np.nonzero(cavity)
        low = np.nonzero(R.v[cr] > pr[1])[0]
        for k in range(a["n_bowel"]):
            j = int(rng.integers(len(cr)))
            if k % 2 == 0 and len(low):
                j = int(low[rng.integers(len(low))])
            pos = np.array([R.u[cc_[j]], R.v[cr[j]]])
            ang = float(rng.uniform(0, 2 * math.pi))
            pts = [pos.copy()]
            for _ in range(int(rng.integers(12, 45))):
                ang += float(rng.normal(0, 0.45))
                for _try in range(6):
                    nxt = pos + 4.0 * np.array([math.cos(ang), math.sin(ang)])
                    r_i, c_i = R.lookup(nxt[None])
                    if cavity[r_i[0], c_i[0]]:
                        break
                    ang += float(rng.uniform(1.0, 2.5))
                else:
                    break
                pos = nxt
                pts.append(pos.copy())
            if len(pts) >= 4:
                loops.append((OBJ_BOWEL0 + k, Curve(pts, 1.0), float(rng.uniform(6, 13)),
                              str(rng.choice(["fluid", "feces", "gas"], p=[0.5, 0.35, 0.15]))))

    # --- paint in priority order
    content_cls = {"fluid": BO_FLUID, "feces": BO_FECES, "gas": BO_GAS}
    for obj, cur, rr_, kind in loops:
        d, _, _ = R.curve(cur, rr_ + 1)
        m = (d <= rr_) & cavity
        R.paint(m, content_cls[kind], obj)
    R.paint(sig_m, BO_FECES, OBJ_TUBE)
    if a["free_fluid"] and top is not None:
        ff = L["cervix"] + _rot(dvag, 90) * (a["cervix_r"] + 8) + dvag * 10
        R.paint((R.ellipse(ff, 11, 6, dvag) <= 1) & body, FLUID, OBJ_CYST)
    if a["ovarian_cyst"]:
        oc = np.array([L.get("fundus", vault)[0] + 10, L.get("fundus", vault)[1] - 8])
        R.paint(((R.U - oc[0]) ** 2 + (R.V - oc[1]) ** 2 <= 12.0 ** 2) & body, FLUID, OBJ_CYST)
    R.paint(rectus_m, MUSCLE)
    R.paint(lev_m & body, MUSCLE)
    R.paint(prm & body, MUSCLE)
    R.paint(eas_m, MUSCLE)
    R.paint(perineal_m, MUSCLE)
    R.paint(vessel_m, VESSEL)
    margin = R.dilate(organs, 2.5) & body
    R.paint(margin & ~organs & (R.O != OBJ_TUBE)
            & np.isin(R.C, [BO_FLUID, BO_FECES, BO_GAS, FLUID]), FAT)
    R.paint(ure_m, URETHRA, OBJ_URETHRA)
    R.paint(rect_m, RE_CONTENT, OBJ_TUBE)
    R.paint(anal_m, ANAL, OBJ_TUBE)
    R.paint(vag_m & uv_m, VAG_LUMEN, OBJ_UV)
    if not hyst:
        R.paint(uterus_m & uv_m, MYO, OBJ_UV)
        R.paint(jz_m & uterus_m & uv_m & ~fib_m, JZ, OBJ_UV)
        R.paint(endo_m & uterus_m & uv_m & ~fib_m, ENDO, OBJ_UV)
        R.paint(fib_m & uv_m, FIBROID, OBJ_UV)
        R.paint(cervix_m & uv_m, CERVIX, OBJ_UV)
        R.paint(canal_m & cervix_m & uv_m, ENDO, OBJ_UV)
    R.paint(bl_m, URINE, OBJ_BLADDER)
    L["fib_degenerated"] = any(f["degenerated"] for f in a["fibroids"])

    # bones
    phase_l = np.mod(s_pr - ss, 38.0)
    vert = near & lumb & (so > 0) & (so < depth)
    R.paint(vert & (phase_l >= 10.0), MARROW)
    R.paint(vert & (phase_l < 10.0), DISC)
    R.paint(near & lumb & (so >= depth) & (so < depth + canal), CSF)
    spin = near & lumb & (so >= depth + canal) & (so < depth + canal + post_el)
    R.paint(spin & (np.mod(phase_l - 16.0, 38.0) < 24.0), MARROW)
    R.paint(spin & (np.mod(phase_l - 16.0, 38.0) >= 24.0), LIGAMENT)
    R.paint(near & lumb & (so >= depth + canal + post_el)
            & (so < depth + canal + post_el + back_muscle), MUSCLE)
    sacr = near & ~lumb & ~coc & (so > 0)
    seg = np.mod(ss - s_pr, max((s_s5 - s_pr) / 5.0, 1.0))
    R.paint(sacr & (so < depth) & (seg >= 2.0), MARROW)
    R.paint(sacr & (so < depth) & (seg < 2.0) & (ss > s_pr + 2), DISC)
    R.paint(sacr & (so < depth) & (ss <= s_pr + 2), DISC)
    R.paint(sacr & (so >= depth) & (so < depth + canal), FAT)
    R.paint(sacr & (so >= depth) & (so < depth + canal) & (ss < s_pr + 30), CSF)
    R.paint(sacr & (so >= depth + canal) & (so < depth + canal + post_el), MARROW)
    R.paint(sacr & (so >= depth + canal + post_el)
            & (so < depth + canal + post_el + back_muscle), MUSCLE)
    cocm = near & coc & (so > 0) & (so < depth) & (ss < s_ct - 1)
    R.paint(cocm & (np.mod(ss - s_s5, 9.0) >= 1.6), MARROW)
    R.paint(cocm & (np.mod(ss - s_s5, 9.0) < 1.6), DISC)
    R.paint(sym_m, MARROW)
    R.paint(~body, AIR)
    R.O[~np.isin(R.C, [URINE, URETHRA, MYO, ENDO, JZ, CERVIX, VAG_LUMEN, FIBROID, RE_CONTENT,
                       ANAL, BO_FLUID, BO_FECES, BO_GAS, FLUID])] = OBJ_NONE

    L["skin_off_max"] = float(np.nanmax(np.where(near, skin_off, 0)))
    L["bdist"] = ndimage.distance_transform_edt(~np.isin(R.C, [MARROW, DISC, CSF])) * RES
    L["bgrad"] = np.gradient(ndimage.gaussian_filter(L["bdist"], 2.0))
    L["ampulla_r"] = a["ampulla_r"]
    L.setdefault("cervix", vault + 12 * _unit(vault - vmid))
    if bl_m.any():
        L["bladder_c"] = np.array([R.U[bl_m].mean(), R.V[bl_m].mean()])
        L["bladder_r"] = float(np.sqrt(bl_m.sum() * RES ** 2 / np.pi))
    else:
        L["bladder_c"], L["bladder_r"] = neck + [10, -10], 15.0
    L["body"] = body
    L["cavity"] = cavity
    return R, L


# ------------------------------------------------------------------------------ motion curves
def _trapezoid(t, t0, up, hold, down):
    rise = _smoothstep((t - t0) / max(up, 1e-3))
    fall = 1 - _smoothstep((t - t0 - up - hold) / max(down, 1e-3))
    return rise * fall


def drive_curves(m: dict, times: np.ndarray) -> dict:
    """Per-frame activations: strain, squeeze, evacuation progress, anal flow, breathing."""
    rng = np.random.default_rng(m["curve_seed"])
    total = float(times[-1])
    strain = np.zeros_like(times)
    squeeze = np.zeros_like(times)
    evac = np.zeros_like(times)
    flow = np.zeros_like(times)
    kind = m["maneuver"]

    def episodes(out, n, up, hold, down, amp, start):
        t0 = start
        for _ in range(n):
            if t0 > 0.85 * total:
                break
            u_, h_, d_ = (float(rng.uniform(*up)), float(rng.uniform(*hold)),
                          float(rng.uniform(*down)))
            out += float(rng.uniform(*amp)) * _trapezoid(times, t0, u_, h_, d_)
            t0 += u_ + h_ + d_ + float(rng.uniform(0.5, 3.0))
        return t0

    if kind == "valsalva":
        episodes(strain, int(rng.integers(1, 4)), (1, 3), (2, 8), (1, 3), (0.75, 1.0),
                 float(rng.uniform(0.05, 0.25)) * total)
    elif kind == "squeeze":
        episodes(squeeze, int(rng.integers(1, 4)), (0.5, 1.5), (2, 5), (0.5, 1.5), (0.6, 1.0),
                 float(rng.uniform(0.05, 0.25)) * total)
    elif kind == "cough":
        k = int(rng.integers(2, 6))
        frames = rng.choice(np.arange(1, len(times)), size=min(k, len(times) - 1), replace=False)
        for f in frames:
            strain += float(rng.uniform(0.5, 1.0)) * np.exp(-0.5 * ((times - times[f]) / 0.3) ** 2)
        strain += 0.15 * _trapezoid(times, 0.2 * total, 1.0, 0.5 * total, 1.0)
    elif kind == "defecation":
        t0 = float(rng.uniform(0.05, 0.2)) * total
        up = float(rng.uniform(1, 2.5))
        hold = float(rng.uniform(0.45, 0.65)) * total
        strain += float(rng.uniform(0.8, 1.0)) * _trapezoid(times, t0, up, hold, 1.5)
        dur = hold * float(rng.uniform(0.6, 0.95))
        x = np.clip((times - t0 - up) / dur, 0, 1)
        evac = m["evac_max"] * _smoothstep(x)
        flow = np.where((x > 0) & (x < 1), np.sin(np.pi * x) ** 0.5, 0.0)
    else:  # protocol: rest, squeeze, rest, strain (and maybe a second strain)
        t = episodes(squeeze, 1, (0.5, 1.5), (1.5, 4), (0.5, 1.5), (0.6, 1.0),
                     float(rng.uniform(0.03, 0.12)) * total)
        episodes(strain, int(rng.integers(1, 3)), (1, 2.5), (2, 6), (1, 2.5), (0.75, 1.0),
                 min(t, 0.5 * total))
    strain = np.clip(strain, 0, 1.2)
    squeeze = np.clip(squeeze, 0, 1)
    if np.max(strain) + np.max(squeeze) < 0.3:  # too short a series: force one movement
        strain += _trapezoid(times, 0.1 * total, 0.2 * total, 0.4 * total, 0.2 * total)
    resp = np.sin(2 * np.pi * times / m["breath_period_s"] + m["breath_phase"])
    return {"strain": strain, "squeeze": squeeze, "evac": evac, "flow": flow, "resp": resp}


def point_data(L: dict, A: np.ndarray) -> dict:
    """Rest-frame data of anatomy points (N, 2) that the motion needs."""
    tube = L["tube"]
    d, s, _, foot = tube.query(A, 120.0)
    d = np.where(np.isfinite(d), d, 1e3)
    r = np.interp(s, [0, L["s_arj"], L["s_arj"] + 14, L["s_cut"]],
                  [L["anal_r"], L["anal_r"], L["ampulla_r"], min(L["ampulla_r"], 15.0)])
    rr, cc = (np.clip(np.rint((A[:, 1] - V0) / RES).astype(int), 0, L["bdist"].shape[0] - 1),
              np.clip(np.rint((A[:, 0] - U0) / RES).astype(int), 0, L["bdist"].shape[1] - 1))
    bd = L["bdist"][rr, cc]
    mob = _smoothstep((bd - 1.0) / 5.0)
    normal = np.c_[L["bgrad"][1][rr, cc], L["bgrad"][0][rr, cc]]
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
    guard = 1 - _smoothstep((bd - 1.0) / 14.0)
    return {"tube_d": d, "tube_s": s, "tube_foot": foot, "tube_r": r, "mobility": mob,
            "bone_normal": normal, "bone_guard": guard}


def displacement(m: dict, L: dict, P: np.ndarray, k: dict, frame: int, pd: dict,
                 gain: float = 1.0) -> np.ndarray:
    """Displacement (anatomy mm) of rest points P (N, 2) at one frame.

    Compartments move with flat-topped kernels (organs translate more than they stretch);
    bulges (cystocele, rectocele, perineum) are narrow Gaussians."""
    st, sq = gain * float(k["strain"][frame]), gain * float(k["squeeze"][frame])
    ev, fl = float(k["evac"][frame]), float(k["flow"][frame])
    D = np.zeros_like(P)

    def src(c, sigma, vec, flat=False):
        q = np.sum((P - c) ** 2, axis=1) / sigma ** 2
        g = np.exp(-0.5 * q * q) if flat else np.exp(-0.5 * q)
        return g[:, None] * np.asarray(vec, float)[None]

    vault, intro = L["vault"], L["intro"]
    dv = _unit(intro - vault)
    a_ant, a_mid = m["anterior_mm"], m["middle_mm"]
    if st > 0:
        # compartments: flat-topped kernels blended as a partition of unity, so where they
        # overlap the tissue moves by their weighted mean (not their sum)
        comps = [(L["bladder_c"], L["bladder_r"] + 10, a_ant, _unit([0.35, 1.0])),
                 (L["cervix"], 35.0, a_mid, _unit(dv + [0.35, 0.2])),
                 (L["arj"] + [8, -16], 32.0, m["levator_mm"], _unit([0.35, 1.0])),
                 ((L["intro"] + L["av"]) / 2 + [0, -5], 30.0, m["perineum_mm"],
                  _unit([0.1, 1.0]))]
        acc = np.zeros_like(P)
        wsum = np.zeros(len(P))
        for c, sig, amp, vec in comps:
            sig = max(sig, 25.0 + 1.6 * amp)
            q = np.sum((P - c) ** 2, axis=1) / sig ** 2
            wk = np.exp(-0.5 * q * q)
            acc += wk[:, None] * (amp * vec)[None]
            wsum += wk
        D += st * acc / np.maximum(wsum, 1.0)[:, None]
        D += st * src(L["neck"] + [12, -2], 16.0, 0.25 * a_ant * _unit([0.2, 1.0]))
        D += st * src(L["arj"] + [-8, -18], 14.0, m["rectocele_mm"] * _unit([-1.0, 0.45]))
        D += st * src(np.array([50.0, -90.0]), 70.0, m["global_mm"] * _unit([0.2, 1.0]))
        rel = P - L["S"]
        rot = _rot(rel, m["rotation_deg"] * st) - rel
        D += rot * np.exp(-0.5 * np.sum((P - L["neck"]) ** 2, axis=1) / 30.0 ** 2)[:, None]
    if sq > 0:
        lift = m["lift_mm"] * sq
        D += src(L["bladder_c"], L["bladder_r"] + 12, lift * _unit([-0.15, -1.0]), True)
        D += src(L["arj"] + [5, -10], 32.0, lift * 1.2 * _unit([-0.5, -0.8]), True)
        D += src((L["intro"] + L["av"]) / 2, 25.0, lift * 0.8 * _unit([-0.2, -1.0]))
    br = m["breath_mm"] * float(k["resp"][frame])
    wb = _smoothstep((-90.0 - P[:, 1]) / 90.0)
    D += wb[:, None] * br * _unit([-0.3, 0.9])[None]
    # rectal emptying and anal canal opening (radial, around the tube axis)
    if ev > 0 or fl > 0:
        d, s, foot, r = pd["tube_d"], pd["tube_s"], pd["tube_foot"], pd["tube_r"]
        radial = P - foot
        in_rect = (s > L["s_arj"] + 4) & (s < L["s_cut"] + 10)
        g = 1 - _smoothstep((d - r) / 18.0)
        along = _smoothstep((s - L["s_arj"]) / 12.0) * (1 - _smoothstep((s - L["s_cut"]) / 20))
        keep = np.maximum(1 - ev * m["rect_shrink"], np.minimum(1.0, 9.0 / np.maximum(r, 1)))
        D -= ((1 - keep) * g * along * in_rect)[:, None] * radial
        in_anal = (s < L["s_arj"] + 6) & (d > 0.5)
        h = 1 - _smoothstep((d - L["anal_r"] - 2) / 14.0)
        unit = radial / np.maximum(d, 1e-6)[:, None]
        D += (fl * m["anal_open_mm"] * h * in_anal)[:, None] * unit
    # near bone: slide along it, never move into it
    into = np.minimum(np.einsum("ij,ij->i", D, pd["bone_normal"]), 0.0)
    D -= (pd["bone_guard"] * into)[:, None] * pd["bone_normal"]
    return D * pd["mobility"][:, None]


def motion_gain(m: dict, L: dict, R: Raster, k: dict) -> float:
    """Largest gain <= 1 of the manoeuvre amplitudes that keeps the organs from being
    crushed or folded (Jacobian determinant >= 0.4 at the organ template points)."""
    near = ndimage.binary_dilation(LABEL[R.C] > 0, iterations=3)
    P = np.c_[R.U[near], R.V[near]][::4]
    eps = 0.5
    pds = [point_data(L, P + d) for d in ([0, 0], [eps, 0], [0, eps])]
    k = dict(k, evac=np.zeros_like(k["evac"]), flow=np.zeros_like(k["flow"]))
    frames = sorted({int(np.argmax(k["strain"])), int(np.argmax(k["squeeze"]))})
    gain = 1.0
    for _ in range(8):
        worst = np.inf
        for f in frames:
            d0 = displacement(m, L, P, k, f, pds[0], gain)
            du = (displacement(m, L, P + [eps, 0], k, f, pds[1], gain) - d0) / eps
            dv = (displacement(m, L, P + [0, eps], k, f, pds[2], gain) - d0) / eps
            det = (1 + du[:, 0]) * (1 + dv[:, 1]) - du[:, 1] * dv[:, 0]
            worst = min(worst, float(det.min()))
        if worst >= 0.4:
            break
        gain *= 0.8
    return gain


# ---------------------------------------------------------------------------------- seeding
def _hex(x0, x1, y0, y1, h, rng, jitter=0.32):
    ys = np.arange(y0, y1, h * 0.866)
    pts = []
    for i, y in enumerate(ys):
        xs = np.arange(x0 + (h / 2 if i % 2 else 0), x1, h)
        pts.append(np.c_[xs, np.full_like(xs, y)])
    p = np.vstack(pts)
    return p + rng.uniform(-jitter * h, jitter * h, p.shape)


class World:
    """Anatomy (u, v) <-> scanner (x = column mm, y = row mm) similarity transform."""

    def __init__(self, scale, tilt_deg, centre_anat, centre_world):
        self.scale = scale
        self.tilt = tilt_deg
        self.ca = np.asarray(centre_anat, float)
        self.cw = np.asarray(centre_world, float)

    def to_world(self, P):
        return self.scale * _rot(np.asarray(P, float) - self.ca, self.tilt) + self.cw

    def vec_to_world(self, V):
        return self.scale * _rot(V, self.tilt)

    def to_anat(self, X):
        return _rot((np.asarray(X, float) - self.cw) / self.scale, -self.tilt) + self.ca


def place_in_fov(p: dict, R: Raster, L: dict, rng) -> World:
    """Scale / shift the anatomy so that the pelvis (and if possible the body) fits."""
    a, m = p["anatomy"], p["motion"]
    fov_h, fov_w = p["fov_mm"]
    lab = LABEL[R.C] > 0
    bone = np.isin(R.C, [MARROW, DISC]) & (R.V > a["prom_v"] - 15)
    core = np.c_[R.U[lab | bone], R.V[lab | bone]]
    core = core[:: max(1, len(core) // 1500)]
    low = core[core[:, 1] > -10]
    drop = m["levator_mm"] + 0.5 * m["perineum_mm"] + 4
    core = np.vstack([core, low + [8, drop]])
    body = L["body"]
    rows = (R.V[:, 0] > -70) & (R.V[:, 0] < -10)
    extra = np.c_[R.U[rows][body[rows]], R.V[rows][body[rows]]]
    extra = extra[:: max(1, len(extra) // 600)]
    centre = np.array([55.0, -45.0])
    scale0 = a["body_scale"]
    best = None
    for pts, margin in ((np.vstack([core, extra]), 4.0), (core, 10.0)):
        for attempt in range(60):
            sc = scale0 * 0.97 ** (attempt // 4)
            off = rng.uniform(-0.07, 0.07, 2) * [fov_w, fov_h]
            w = World(sc, a["tilt_deg"], centre, np.array([fov_w / 2, fov_h / 2]) + off)
            X = w.to_world(pts)
            lo, hi = X.min(0), X.max(0)
            if lo[0] >= margin and lo[1] >= margin and hi[0] <= fov_w - margin \
                    and hi[1] <= fov_h - margin:
                return w
            if best is None:
                best = w
            # recentre on the points for the next try
            shift = np.array([fov_w, fov_h]) / 2 - (lo + hi) / 2
            w2 = World(sc, a["tilt_deg"], centre, w.cw + shift)
            X = w2.to_world(pts)
            lo, hi = X.min(0), X.max(0)
            if lo[0] >= margin and lo[1] >= margin and hi[0] <= fov_w - margin \
                    and hi[1] <= fov_h - margin:
                return w2
            best = w2
    return best


def make_seeds(p: dict, R: Raster, L: dict, world: World, rng) -> dict:
    """Seed points (world mm) with class, object, weight and motion data."""
    fov_h, fov_w = p["fov_mm"]
    s = p["imaging"]["cell_mm"]
    b = float(np.clip(0.45 * s, 1.6, 3.2))
    wb = max(2.5 * b, 0.6 * s)
    key = R.C.astype(np.int32) * 64 + R.O
    edge = np.zeros(R.shape, bool)
    edge[:, 1:] |= key[:, 1:] != key[:, :-1]
    edge[1:, :] |= key[1:, :] != key[:-1, :]
    dist = ndimage.distance_transform_edt(~edge) * RES
    marg = 30.0
    bg = _hex(-marg, fov_w + marg, -marg, fov_h + marg, s, rng)
    dense = _hex(-marg, fov_w + marg, -marg, fov_h + marg, b, rng)

    def look(X):
        return R.lookup(world.to_anat(X))

    r, c = look(bg)
    keep = dist[r, c] * world.scale >= wb
    air = R.C[r, c] == AIR
    if s < 5:
        keep &= ~air | (rng.random(len(bg)) < (s / 5.0) ** 2)
    bg = bg[keep]
    r, c = look(dense)
    dense = dense[dist[r, c] * world.scale < wb]
    X = np.vstack([bg, dense])
    h = np.r_[np.full(len(bg), s), np.full(len(dense), b)]
    A = world.to_anat(X)
    r, c = R.lookup(A)
    cls = R.C[r, c].astype(np.int16)
    obj = R.O[r, c].astype(np.int16)
    w = rng.uniform(-0.12, 0.12, len(X)) * h ** 2
    return {"X": X, "A": A, "cls": cls, "obj": obj, "w": w, "h": h, "b": b}


def _render_ids(X, w, grid3, active=None):
    """Power-diagram cell of every grid point: the nearest seed after lifting each seed to
    height ``sqrt(max(w) - w)`` (``|x - s|^2 - w`` ordering is kept exactly)."""
    idx = np.arange(len(X)) if active is None else np.nonzero(active)[0]
    wa = w[idx]
    z = np.sqrt(np.maximum(wa.max() - wa, 0.0))
    tree = cKDTree(np.c_[X[idx], z])
    return idx[tree.query(grid3, k=1)[1]]


def _majority(lab2):
    """Label of each pixel: the most frequent label of its 2x2 subsamples (ties: lower)."""
    quads = (lab2[0::2, 0::2], lab2[1::2, 0::2], lab2[0::2, 1::2], lab2[1::2, 1::2])
    counts = np.stack([sum((q == v).astype(np.uint8) for q in quads) for v in range(4)])
    return np.argmax(counts, axis=0).astype(np.uint8)


def _down(x):
    """Mean over 2x2 blocks of a (2H, 2W) array."""
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def _grid(h, w, sp):
    ys = ((np.arange(2 * h) + 0.5) / 2 - 0.5) * sp[0]
    xs = ((np.arange(2 * w) + 0.5) / 2 - 0.5) * sp[1]
    gx, gy = np.meshgrid(xs, ys)
    return np.c_[gx.ravel(), gy.ravel(), np.zeros(gx.size)]


def finish_cells(sd: dict, p: dict, L: dict, R: Raster, grid3, shape2, rng) -> None:
    """Connectivity clean-up, walls, cortex, gas bubbles, vessels, hidden anal content."""
    ids = _render_ids(sd["X"], sd["w"], grid3).reshape(shape2)
    cls, obj = sd["cls"], sd["obj"]
    # organs: keep the largest piece of each label, on the oversampled grid and then on the
    # pixel grid of the truth (2x2 majority), turning the cells of other pieces into fat
    for _ in range(3):
        for lab in (1, 2, 3):
            m2 = LABEL[cls[ids]] == lab
            lab_img, n = ndimage.label(m2, structure=np.ones((3, 3), bool))
            if n > 1:
                sizes = np.bincount(lab_img.ravel())
                sizes[0] = 0
                big = int(np.argmax(sizes))
                bad = np.setdiff1d(np.unique(ids[(lab_img > 0) & (lab_img != big)]),
                                   np.unique(ids[lab_img == big]))
                cls[bad] = FAT
                obj[bad] = OBJ_NONE
        truth = _majority(LABEL[cls[ids]])
        changed = False
        for lab in (1, 2, 3):
            lab_img, n = ndimage.label(truth == lab, structure=np.ones((3, 3), bool))
            if n > 1:
                sizes = np.bincount(lab_img.ravel())
                sizes[0] = 0
                small = (lab_img > 0) & (lab_img != int(np.argmax(sizes)))
                small2 = np.repeat(np.repeat(small, 2, 0), 2, 1) & (LABEL[cls[ids]] == lab)
                bad = np.unique(ids[small2])
                cls[bad] = FAT
                obj[bad] = OBJ_NONE
                changed = True
        if not changed:
            break
    # adjacency of cells in the rest frame
    pa = np.r_[ids[:, :-1].ravel(), ids[:-1, :].ravel()]
    pb = np.r_[ids[:, 1:].ravel(), ids[1:, :].ravel()]
    diff = pa != pb
    pa, pb = pa[diff], pb[diff]
    pa, pb = np.r_[pa, pb], np.r_[pb, pa]
    pairs = np.unique(np.c_[pa, pb], axis=0)
    pa, pb = pairs[:, 0], pairs[:, 1]
    fill = p["anatomy"]["bladder_fill"]
    rules = [((URINE,), BL_WALL, 2 if fill < 0.2 else 1),
             ((VAG_LUMEN,), VAG_WALL, 2),
             ((RE_CONTENT,), RE_WALL, 1 if sd["b"] > 2.4 else 2),
             ((BO_FLUID, BO_FECES, BO_GAS), BO_WALL, 1)]
    for lumen, wall, layers in rules:
        is_l = np.isin(cls, lumen)
        first = is_l[pa] & (obj[pa] != obj[pb])
        layer = np.unique(pa[first])
        new = [layer]
        for _ in range(layers - 1):
            wall_now = np.zeros(len(cls), bool)
            wall_now[np.concatenate(new)] = True
            nxt = is_l[pa] & ~wall_now[pa] & wall_now[pb] & (obj[pa] == obj[pb])
            new.append(np.unique(pa[nxt]))
        for layer in new:
            cls[layer] = wall
    # sigmoid: its lumen uses bowel classes, but the wall rule above used the tube object
    marrow = cls == MARROW
    cort = marrow[pa] & ~np.isin(cls[pb], [MARROW, CORTEX])
    cls[np.unique(pa[cort])] = CORTEX
    # gas bubbles in the non-dependent (anterior) part of the rectum and bowel loops
    a = p["anatomy"]
    tube = L["tube"]
    d, s, off, foot = tube.query(sd["A"], 80.0)
    frac = {"gel": 0.04, "stool": 0.3, "empty": 0.45}[a["rect_content"]]
    rc = (cls == RE_CONTENT) & (sd["A"][:, 0] < foot[:, 0] - 0.25 * np.maximum(d, 1))
    cls[rc & (rng.random(len(cls)) < frac)] = RE_GAS
    bf = (cls == BO_FLUID) & (rng.random(len(cls)) < 0.06)
    cls[bf] = BO_GAS
    bfe = (cls == BO_FECES) & (rng.random(len(cls)) < 0.2)
    cls[bfe] = BO_GAS
    # mesenteric vessels: scattered fat cells in the abdominal cavity
    r_, c_ = R.lookup(sd["A"])
    mes = (cls == FAT) & L["cavity"][r_, c_] & (rng.random(len(cls)) < 0.03)
    cls[mes] = VESSEL
    # hidden content seeds on the anal canal axis (appear when the canal opens)
    b = sd["b"]
    s_hidden = np.arange(L["s_av"] + 2.0, L["s_arj"] + 8.0, 0.8 * b)
    Ah = tube.at(s_hidden)
    Xh = sd["world"].to_world(Ah)
    n_h = len(Ah)
    sd["X"] = np.vstack([sd["X"], Xh])
    sd["A"] = np.vstack([sd["A"], Ah])
    sd["cls"] = np.r_[cls, np.full(n_h, RE_CONTENT, np.int16)]
    sd["obj"] = np.r_[obj, np.full(n_h, OBJ_TUBE, np.int16)]
    sd["w"] = np.r_[sd["w"], np.full(n_h, -1e6)]
    sd["h"] = np.r_[sd["h"], np.full(n_h, b)]
    sd["hidden"] = np.r_[np.zeros(len(cls), bool), np.ones(n_h, bool)]
    # motion data
    sd["pd"] = point_data(L, sd["A"])
    sd["pd"]["mobility"][FIXED[sd["cls"]]] = 0.0


# ---------------------------------------------------------------------------------- imaging
def tissue_levels(im: dict, a: dict) -> tuple[np.ndarray, float]:
    """Per-class (N_CLASSES,) signal levels of the case's sequence, and the skin level."""
    j = SEQUENCES.index(im["sequence"])
    lev = np.array([_LEVELS[c][j] for c in range(N_CLASSES)], np.float64)
    lev *= np.asarray(im["level_jitter"])
    fluid = im["fluid_jitter"] * np.array(_GEL)[j]
    for c in (URINE, CSF, FLUID, BO_FLUID):
        lev[c] = fluid * (0.95 + 0.05 * im["level_jitter"][c])
    if a["vagina_gel"]:
        lev[VAG_LUMEN] = fluid * 0.97
    content = a["rect_content"]
    if content == "gel":
        lev[RE_CONTENT] = fluid * 0.96
    elif content == "empty":
        lev[RE_CONTENT] = 0.6 * lev[RE_CONTENT]
    lev[[AIR, RE_GAS, BO_GAS]] = 0.0
    skin = _SKIN[j] * im["level_jitter"][0]
    return lev, skin


def bias_field(shape, sp, im: dict, rng) -> np.ndarray:
    """Sum-of-squares receive sensitivity of anterior and posterior coil rows."""
    h, w = shape
    ys = np.arange(h) * sp[0]
    xs = np.arange(w) * sp[1]
    gx, gy = np.meshgrid(xs, ys)
    fov_h, fov_w = h * sp[0], w * sp[1]
    n = im["n_coils"]
    d0 = im["coil_depth_mm"]
    acc = np.zeros(shape)
    for k in range(n):
        front = k % 2 == 0
        cx = (-0.05 if front else 1.05) * fov_w + rng.normal(0, 0.05 * fov_w)
        cy = (k // 2 + 0.5) / math.ceil(n / 2) * fov_h + rng.normal(0, 0.05 * fov_h)
        gain = rng.uniform(0.6, 1.0) * (1.0 if front else rng.uniform(0.7, 1.3))
        acc += gain * (1.0 + ((gx - cx) ** 2 + (gy - cy) ** 2) / d0 ** 2) ** -1.5
    b = np.sqrt(acc)
    b /= np.median(b)
    return (b ** im["bias_gamma"]).astype(np.float32)


def synthesize(W, F, INK, body, p, rng) -> np.ndarray:
    """Turn water / fat / interface images (T, H, W) into the MRI frames."""
    im = p["imaging"]
    t_n, h, w = W.shape
    sp = p["spacing_mm"]
    freq = 2 if im["freq_axis"] == "cols" else 1
    phase = 1 if freq == 2 else 2
    cs = im["chem_shift_px"] * (1.0 if sp[freq - 1] < 1.4 else 0.7)
    shift = [0.0, 0.0, 0.0]
    shift[freq] = cs
    Fs = ndimage.shift(F, shift, order=1, mode="nearest")
    if im["opposed_phase"]:
        img = (W + Fs) * (1 - 0.85 * INK)
    else:
        img = W + Fs
    if im["banding"]:
        ys = np.linspace(-1, 1, h)[:, None]
        xs = np.linspace(-1, 1, w)[None]
        c = rng.uniform(-0.5, 0.5, 2)
        off = 1.6 * ((xs - c[0]) ** 2 + (ys - c[1]) ** 2) + rng.uniform(0, 1)
        band = 1 - 0.6 * np.exp(-(((off % 1.0) - 0.5) / 0.03) ** 2)
        img = img * band[None].astype(np.float32)
    sig = [0.0, im["psf_px"], im["psf_px"]]
    sig[phase] = math.hypot(im["psf_px"], im["phase_blur_px"])
    img = ndimage.gaussian_filter(img, sig)
    if im["ghosts"]:
        n = im["ghost_n"]
        size = img.shape[phase]
        ghost = np.zeros_like(img)
        for k in range(1, n):
            ghost += np.roll(img, int(k * size / n), axis=phase) * (im["ghost_amp"] / k)
        img = img + ghost
    img = img * bias_field((h, w), sp, im, rng)[None]
    mean_body = float(img[:, body].mean()) if body.any() else float(img.mean())
    sigma = mean_body / im["snr"]
    re = img + sigma * rng.standard_normal(img.shape, dtype=np.float32)
    acc = re * re + (sigma * rng.standard_normal(img.shape, dtype=np.float32)) ** 2
    for _ in range(im["noise_channels"] - 1):
        acc += (sigma * rng.standard_normal(img.shape, dtype=np.float32)) ** 2
        acc += (sigma * rng.standard_normal(img.shape, dtype=np.float32)) ** 2
    img = np.sqrt(acc)
    top = float(np.percentile(img, 99.8)) or 1.0
    if im["integer"]:
        img = np.clip(np.rint(img / top * im["int_top"]), 0, 4095)
    else:
        img = img / top * im["scale"]
    return img.astype(np.float32)


# --------------------------------------------------------------------------------- generate
def generate(seed: int, matrix=None, n_frames=None):
    """One case: (CineSeries, truth uint8 (T, H, W), params dict)."""
    p = case_params(seed, matrix, n_frames)
    h, w = p["matrix"]
    sp = tuple(p["spacing_mm"])
    t_n = p["n_frames"]
    a, m, im = p["anatomy"], p["motion"], p["imaging"]
    rng_anat = np.random.default_rng([int(seed), 21])
    rng_seed = np.random.default_rng([int(seed), 22])
    rng_img = np.random.default_rng([int(seed), 23])

    R, L = build_anatomy(a, rng_anat)
    world = place_in_fov(p, R, L, rng_anat)
    sd = make_seeds(p, R, L, world, rng_seed)
    sd["world"] = world
    grid3 = _grid(h, w, sp)
    shape2 = (2 * h, 2 * w)
    finish_cells(sd, p, L, R, grid3, shape2, rng_seed)

    times = np.arange(t_n) * p["frame_interval_s"]
    k = drive_curves(m, times)
    gain = motion_gain(m, L, R, k)
    lev, skin = tissue_levels(im, a)
    if L.get("fib_degenerated"):
        lev[FIBROID] = 0.5 * (lev[FIBROID] + lev[ENDO])
    cls = sd["cls"]
    tex = np.exp(im["texture"] * _TEXTURE[cls] * rng_seed.standard_normal(len(cls)))
    level = lev[cls] * tex
    if im["fat_sat"]:
        fat_scale = float(rng_seed.uniform(0.04, 0.15))
    else:
        fat_scale = 1.0
    ff = FAT_FRACTION[cls]
    cw = (level * (1 - ff)).astype(np.float32)
    cf = (level * ff * fat_scale).astype(np.float32)
    watery = WATERY[cls].astype(np.float32)
    is_fat = (cls == FAT).astype(np.float32)
    skin_px = max(1, int(round(im["skin_mm"] / (0.5 * min(sp)))))
    w_rest = sd["w"].copy()
    hidden = sd["hidden"]
    content = (cls == RE_CONTENT) & ~hidden
    b = sd["b"]

    truth = np.zeros((t_n, h, w), np.uint8)
    Wimg = np.zeros((t_n, h, w), np.float32)
    Fimg = np.zeros((t_n, h, w), np.float32)
    INK = np.zeros((t_n, h, w), np.float32)
    body_any = np.zeros((h, w), bool)
    for f in range(t_n):
        D = displacement(m, L, sd["A"], k, f, sd["pd"], gain)
        X = sd["X"] + world.vec_to_world(D)
        wt = w_rest.copy()
        ev, fl = float(k["evac"][f]), float(k["flow"][f])
        if ev > 0:
            wt[content] -= ev * (1.6 * b) ** 2
        if fl > 0.05:
            wt[hidden] = -(1.2 * b) ** 2 + fl * (1.5 * b) ** 2
        ids = _render_ids(X, wt, grid3, ~hidden | (fl > 0.05)).reshape(shape2)
        c2 = cls[ids]
        lab2 = LABEL[c2]
        truth[f] = _majority(lab2)
        body2 = c2 != AIR
        inner = ndimage.binary_erosion(body2, iterations=skin_px)
        band = body2 & ~inner & (lab2 == 0)
        w2 = cw[ids]
        f2 = cf[ids]
        w2[band] = skin * (0.85 + 0.3 * (tex[ids[band]] - 1))
        f2[band] = 0.0
        Wimg[f] = _down(w2)
        Fimg[f] = _down(f2)
        INK[f] = 4 * _down(is_fat[ids]) * _down(watery[ids])
        body_any |= _down(body2.astype(np.float32)) > 0

    frames = synthesize(Wimg, Fimg, INK, body_any, p, rng_img)
    tag = {"t2_haste": "t2", "truefisp": "bssfp", "t1_gre": "t1", "pd_fse": "pd"}[im["sequence"]]
    desc = f"voronoi dyn sag {im['sequence']}{' fs' if im['fat_sat'] else ''} ({tag})"
    series = CineSeries(frames=frames, spacing_mm=sp, times_s=times,
                        meta={"series_description": desc, "subject_id": f"voronoi_{seed:03d}",
                              "orientation": "sagittal (canonical)", "format": "synthetic"})
    p["n_seeds"] = int(len(sd["cls"]))
    p["world"] = {"scale": world.scale, "tilt_deg": world.tilt,
                  "centre_mm": [float(x) for x in world.cw]}
    p["anatomy"]["flexion_used_deg"] = float(L["flexion_deg"])
    p["imaging"]["band_cell_mm"] = b
    p["motion"]["peak_strain"] = float(k["strain"].max())
    p["motion"]["gain"] = gain
    p["motion"]["peak_squeeze"] = float(k["squeeze"].max())
    return series, truth, _jsonable(p)


# ---------------------------------------------------------------------------- command line
def write_case(job) -> str:
    seed, out = job
    series, truth, params = generate(int(seed))
    case_dir = Path(out) / f"{GENERATOR}_{int(seed):03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=int(seed),
                       patient_name=f"VORONOI^{int(seed):03d}",
                       patient_id=f"voronoi_{int(seed):03d}",
                       slice_thickness_mm=params["imaging"]["slice_mm"])
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    vols = [int((truth == i + 1).sum() / truth.shape[0]) for i in range(len(ORGANS))]
    return (f"{case_dir.name}: {params['matrix'][0]}x{params['matrix'][1]}x"
            f"{params['n_frames']} {params['imaging']['sequence']} "
            f"{params['motion']['maneuver']} hyst={params['hysterectomy']} px/organ={vols}")


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
