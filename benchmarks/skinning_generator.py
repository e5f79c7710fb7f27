"""Skinning phantom: dynamic mid-sagittal female pelvic MRI animated by handle skinning.

How a case is made
------------------
1. Anatomy.  A skeleton of anatomical handle points is drawn in body millimetres
   (x posterior, y caudal, origin at the inferior margin of the pubic symphysis):
   symphysis, sacral promontory, S3, sacrococcygeal joint, coccyx tip, bladder neck and
   dome, urethral meatus, introitus, vaginal apex, cervix, anorectal junction, anal
   verge, perineal body.  Every handle has its own random variation; organ outlines are
   closed polygons or swept tubes defined by offsets from two to four handles, so the
   anatomy varies coherently (body size, tilt +-15 deg, position in the field of view,
   bladder filling, anteverted / retroverted / axial uterus, uterine size, fibroids,
   nulliparous or multiparous laxity, hysterectomy in about 20 % of cases).
2. Rest scene.  The body frame is scaled, tilted and placed in the field of view and
   the scene is rasterised on a grid twice as fine as the image as a tissue-class map
   and a label map painted by the same primitives: body outline, skin, subcutaneous
   and visceral fat, abdominal wall, lumbar spine with discs and canal, sacrum,
   coccyx, symphysis, levator plate, puborectalis, anal sphincter, perineal body,
   urethra, vessels, small-bowel and colon loops, sigmoid, ovary, pouch of Douglas
   fluid, then the three organs with wall / lumen layers from distance transforms.
3. Skinning weights.  One weight field per handle is the harmonic (Laplace)
   interpolation of the handles on a 3 mm grid (one sparse LU solve per case):
   bones and the border of the field of view are tied to a fixed handle, the top of
   the abdomen to a breathing handle, a small disc around each handle to that handle.
4. Motion.  A per-case manoeuvre (Valsalva, squeeze then Valsalva, squeeze, cough,
   defecation) gives time curves (ramp, hold, release, repeats) for straining,
   squeezing, rectal emptying and anal opening, plus breathing.  They drive a rigid
   transform plus scale per handle: descent along a posterior-inferior direction,
   rotation about the symphysis, bladder-neck descent, cervical descent, rectocele
   bulge, anorectal-junction descent with opening of the anorectal angle, levator
   plate sag about the coccyx, perineal descent, ampulla shrink and anal canal
   widening.  The forward linear-blend-skinning map is inverted by damped fixed-point
   iteration on the coarse grid, upsampled, and the rest scene is sampled: the water
   and fat signal images linearly, the labels by nearest neighbour, so image and truth
   share one warp.  The amplitude is reduced until the map has no fold.
5. Imaging.  Every tissue has PD, T1, T2, T2* and a fat fraction with per-case
   jitter; the signal comes from the sequence formula (single-shot FSE T2, PD FSE,
   balanced SSFP with its off-resonance band profile, spoiled GRE T1), optional fat
   saturation with a B0-dependent residue, water-fat chemical shift and opposed-phase
   cancellation at fat-water borders, tissue texture, supersampling plus k-space
   truncation (partial volume, Gibbs, FSE T2 blur along phase encoding), optional
   ghosting, 4-8 receive coils with smooth sensitivities, complex Gaussian noise per
   coil (optional parallel-imaging g-factor map), sum-of-squares combination (non
   central chi noise) and an arbitrary global scale.

Orientation: row 0 is cranial (head), rows run towards the feet; column 0 is anterior
(belly), the last column posterior (back).  The symphysis is lower-anterior, the sacrum
and coccyx posterior.

Labels (uint8): 0 background, 1 bladder (wall + urine, ends at the bladder neck; the
urethra is not labelled), 2 uterus_vagina (uterine body, fibroids including subserosal
ones, cervix, vagina with walls and lumen / gel down to the introitus; after
hysterectomy the vagina only, closed by a rounded cuff), 3 rectum (rectum and anal
canal, wall + content, from the rectosigmoid junction cut perpendicular to the bowel
axis in front of S3 down to the anal verge; external anal sphincter and sigmoid are not
labelled).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import splu
from skimage.draw import polygon as draw_polygon
from skimage.measure import points_in_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "skinning"
SUPER = 2  # rest scene and frames are rendered on a grid SUPER times finer
COARSE_MM = 3.0  # grid of the skinning weights and of the inverse map
BLADDER, UTERUS, RECTUM = (ORGANS.index(n) + 1 for n in ("bladder", "uterus_vagina", "rectum"))

# name: PD, T1 (ms), T2 (ms), T2* (ms), fat fraction  (about 1.5 T)
TISSUES: dict[str, tuple[float, float, float, float, float]] = {
    "air": (0.0, 1000, 1, 1, 0.0),
    "fat": (0.95, 280, 75, 40, 0.95),
    "fat_v": (0.95, 280, 75, 40, 0.88),
    "skin": (0.7, 700, 35, 25, 0.1),
    "muscle": (0.72, 900, 42, 28, 0.03),
    "smooth": (0.78, 1050, 70, 40, 0.0),
    "mucosa": (0.85, 1150, 95, 50, 0.0),
    "urine": (1.0, 3200, 1500, 600, 0.0),
    "csf": (1.0, 4000, 1800, 700, 0.0),
    "cortex": (0.06, 400, 2, 1, 0.0),
    "marrow": (0.9, 700, 50, 20, 0.6),
    "disc": (0.85, 1200, 120, 60, 0.0),
    "fibrous": (0.55, 800, 25, 15, 0.0),
    "myometrium": (0.85, 1300, 110, 55, 0.0),
    "jz": (0.8, 1050, 55, 35, 0.0),
    "endometrium": (0.9, 1400, 170, 80, 0.0),
    "cervix": (0.75, 1050, 60, 35, 0.0),
    "mucus": (0.95, 2500, 400, 150, 0.0),
    "vagwall": (0.75, 1000, 60, 35, 0.0),
    "gel": (1.0, 2800, 1100, 400, 0.0),
    "stool": (0.7, 750, 70, 20, 0.05),
    "gas": (0.0, 1000, 1, 1, 0.0),
    "fluid": (0.95, 2600, 600, 250, 0.0),
    "chyme": (0.8, 1300, 160, 60, 0.0),
    "blood": (0.9, 1400, 220, 80, 0.0),
    "fibroid": (0.7, 950, 45, 25, 0.0),
    "sphincter": (0.72, 950, 40, 25, 0.0),
    "int_sph": (0.78, 1050, 65, 35, 0.0),
    "peri_fluid": (0.98, 3000, 900, 350, 0.0),
    "ovary": (0.82, 1100, 90, 45, 0.0),
    "nerve": (0.75, 1000, 80, 40, 0.0),
}
TNAMES = list(TISSUES)
TI = {n: i for i, n in enumerate(TNAMES)}
BONE_TISSUES = ("cortex", "marrow")
# texture amplitude per tissue (relative std of the smooth multiplicative field)
TEXTURE = {"fat": 0.05, "fat_v": 0.08, "muscle": 0.08, "marrow": 0.15, "stool": 0.45,
           "chyme": 0.25, "myometrium": 0.06, "smooth": 0.06, "fibroid": 0.1, "urine": 0.01,
           "ovary": 0.12, "vagwall": 0.05, "cervix": 0.05, "skin": 0.05, "disc": 0.08}
SEQUENCES = ("ssfse_t2", "bssfp", "spgr_t1", "fse_pd")
MANEUVERS = ("valsalva", "squeeze_valsalva", "squeeze", "cough", "defecation")
HANDLES = ("fixed", "breath", "abdwall", "bowel", "sigmoid", "bladder_dome", "bladder_neck",
           "uterus", "cervix", "vagina", "perineum", "rectum_upper", "ampulla", "arj", "anal",
           "levator")


# ----------------------------------------------------------------------------- geometry

def dirv(theta_deg: float) -> np.ndarray:
    """Unit vector at angle theta from the posterior axis towards cranial (body frame)."""
    t = math.radians(theta_deg)
    return np.array([math.cos(t), -math.sin(t)])


def rotm(theta_deg: float) -> np.ndarray:
    """Rotation in (x posterior, y caudal): positive turns posterior towards caudal."""
    t = math.radians(theta_deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def bezier2(p0, p1, p2, n: int = 64) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    p0, p1, p2 = (np.asarray(v, float) for v in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


def catmull(points, n_per: int = 16, closed: bool = False) -> np.ndarray:
    """Centripetal-free (uniform) Catmull-Rom curve through the points."""
    p = np.asarray(points, float)
    if closed:
        ext = np.vstack([p[-1], p, p[0], p[1]])
    else:
        ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0.0, 1.0, n_per, endpoint=False)[:, None]
    out = []
    for i in range(len(ext) - 3):
        p0, p1, p2, p3 = ext[i:i + 4]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    if not closed:
        out.append(p[-1][None])
    return np.vstack(out)


def arclen(pts: np.ndarray) -> np.ndarray:
    return np.r_[0.0, np.cumsum(np.hypot(*np.diff(pts, axis=0).T))]


def resample(pts: np.ndarray, vals: np.ndarray, step: float):
    """Resample a polyline and values along it at a constant arc-length step."""
    d = arclen(pts)
    n = max(2, int(math.ceil(d[-1] / step)) + 1)
    s = np.linspace(0.0, d[-1], n)
    out = np.c_[np.interp(s, d, pts[:, 0]), np.interp(s, d, pts[:, 1])]
    return out, np.interp(s, d, vals), s / max(d[-1], 1e-9)


def superellipse(c, a: float, b: float, ang: float, n: float = 2.0, m: int = 72) -> np.ndarray:
    """Closed outline; a along dirv(ang), b perpendicular; n=2 ellipse, larger = boxier."""
    t = np.linspace(0.0, 2 * np.pi, m, endpoint=False)
    ct, st = np.cos(t), np.sin(t)
    x = a * np.sign(ct) * np.abs(ct) ** (2.0 / n)
    y = b * np.sign(st) * np.abs(st) ** (2.0 / n)
    e1, e2 = dirv(ang), dirv(ang + 90.0)
    return np.asarray(c, float) + x[:, None] * e1 + y[:, None] * e2


def normals(pts: np.ndarray) -> np.ndarray:
    """Unit normals of a polyline (tangent turned +90 deg on screen: (tx, ty) -> (-ty, tx))."""
    t = np.gradient(pts, axis=0)
    t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-9)[:, None]
    return np.c_[-t[:, 1], t[:, 0]]


def line_x(pts: np.ndarray, y: float) -> float:
    """x of a roughly vertical polyline at height y (clamped at the ends)."""
    order = np.argsort(pts[:, 1])
    return float(np.interp(y, pts[order, 1], pts[order, 0]))


# ----------------------------------------------------------------------------- parameters

def _u(rng, a, b):
    return float(rng.uniform(a, b))


def draw_anatomy(rng: np.random.Generator) -> dict:
    """Random anatomy in body millimetres (x posterior, y caudal, origin at the symphysis)."""
    a: dict = {}
    parous = bool(rng.random() < 0.6)
    a["parity"] = "multiparous" if parous else "nulliparous"
    a["laxity"] = _u(rng, 0.75, 1.6) if parous else _u(rng, 0.3, 0.85)
    a["postmenopausal"] = bool(rng.random() < 0.3)
    a["hysterectomy"] = bool(rng.random() < 0.2)
    lax = a["laxity"]
    a["body_scale"] = _u(rng, 0.9, 1.1)
    a["tilt_deg"] = _u(rng, -15, 15)
    a["fat_ant"] = _u(rng, 8, 45)
    a["fat_post"] = float(np.clip(0.5 * a["fat_ant"] + rng.uniform(-3, 12), 5, 35))
    a["fat_mons"] = 0.6 * a["fat_ant"] + _u(rng, 6, 18)
    a["belly"] = _u(rng, 0, 25)
    a["wall_muscle"] = _u(rng, 5, 11)
    a["skin"] = _u(rng, 1.5, 3.0)
    # bones
    a["sym_beta"] = _u(rng, 18, 38)
    a["sym_len"] = _u(rng, 36, 48)
    a["sym_thick"] = _u(rng, 11, 16)
    a["pcl_len"] = _u(rng, 85, 105)
    a["pcl_ang"] = _u(rng, -2, 12)
    a["prom"] = [_u(rng, 68, 90), _u(rng, -122, -100)]
    a["sacral_slope"] = _u(rng, 22, 38)
    a["sacral_curve"] = _u(rng, 0.35, 0.65)
    a["coc_len"] = _u(rng, 24, 36)
    a["coc_ang"] = _u(rng, 25, 55)
    a["vert_depth"] = _u(rng, 32, 40)
    a["vert_height"] = _u(rng, 24, 30)
    a["disc_height"] = _u(rng, 8, 13)
    a["lordosis"] = (np.array([0.42, 0.3, 0.18, 0.1]) * a["sacral_slope"]
                      * _u(rng, 0.9, 1.3)).round(3).tolist()
    # pelvic organs (multiparous / lax cases sit lower)
    a["bn"] = [_u(rng, 9, 18), _u(rng, -22, -8) + 4 * lax]
    a["meatus"] = [_u(rng, -6, 2), _u(rng, 20, 28)]
    a["intro"] = [_u(rng, 9, 17), _u(rng, 29, 36)]
    a["vag_ang"] = _u(rng, 48, 68)
    a["vag_len"] = _u(rng, 62, 85)
    a["vag_bend"] = _u(rng, 0, 14)
    a["vag_gel"] = bool(rng.random() < 0.35)
    a["vag_gel_factor"] = _u(rng, 1.2, 1.5) if a["vag_gel"] else 1.0
    a["arj"] = [_u(rng, 40, 52), _u(rng, 2, 14) + 4 * lax]
    a["ac_len"] = _u(rng, 28, 40)
    a["ac_ang"] = _u(rng, 5, 25)
    a["presacral"] = _u(rng, 6, 16)
    a["rectal_content"] = str(rng.choice(["gel", "stool", "empty"], p=[0.45, 0.25, 0.3]))
    rc = a["rectal_content"]
    a["r_amp"] = _u(rng, 15, 24) if rc == "gel" else (_u(rng, 13, 20) if rc == "stool"
                                                      else _u(rng, 9, 13))
    a["r_up"] = max(9.0, a["r_amp"] * _u(rng, 0.55, 0.8))
    a["r_ac"] = _u(rng, 6, 8.5)
    a["rect_wall"] = _u(rng, 2.5, 4.5)
    a["sigmoid"] = [[_u(rng, -22, -8), _u(rng, -32, -18)], [_u(rng, -60, -35), _u(rng, -65, -45)],
                    [_u(rng, -80, -45), _u(rng, -100, -75)],
                    [_u(rng, -40, -10), _u(rng, -125, -100)]]
    a["r_sig"] = _u(rng, 10, 17)
    a["sig_content"] = str(rng.choice(["stool", "gas", "gel", "empty"], p=[0.4, 0.25, 0.15, 0.2]))
    # bladder
    f = float(rng.uniform(0.0, 1.0))
    a["bladder_fill"] = f
    a["bladder_h"] = (27 + 75 * f) * _u(rng, 0.9, 1.1)
    a["bladder_w"] = (29 + 50 * f) * _u(rng, 0.9, 1.1)
    a["bladder_tilt"] = _u(rng, -5, 20)
    a["bladder_wall"] = max(2.0, 7.0 - 4.5 * f + rng.uniform(-1, 1))
    a["bladder_jitter"] = rng.uniform(-0.08, 0.08, size=(8, 2)).round(4).tolist()
    a["retzius"] = _u(rng, 4, 14)
    # uterus
    version = str(rng.choice(["anteverted", "retroverted", "axial"], p=[0.7, 0.2, 0.1]))
    a["version"] = version
    if version == "anteverted":
        a["cervix_turn"] = _u(rng, 55, 105)
        a["flexion"] = _u(rng, 0, 40) - 35 * f
    elif version == "retroverted":
        a["cervix_turn"] = _u(rng, -10, 25)
        a["flexion"] = -_u(rng, 10, 50)
    else:
        a["cervix_turn"] = _u(rng, 25, 55)
        a["flexion"] = _u(rng, -10, 10)
    pm = a["postmenopausal"]
    a["cervix_len"] = _u(rng, 20, 28) if pm else _u(rng, 25, 36)
    a["cervix_r"] = _u(rng, 9, 12) if pm else _u(rng, 11, 15)
    a["body_len"] = _u(rng, 32, 45) if pm else _u(rng, 42, 60) * (1.08 if parous else 1.0)
    a["body_r"] = _u(rng, 11, 16) if pm else _u(rng, 17, 26)
    a["endo"] = _u(rng, 0.6, 1.5) if pm else _u(rng, 1.0, 5.0)
    a["jz"] = _u(rng, 1.5, 3.5) if pm else _u(rng, 2.5, 6.0)
    a["vault_r"] = _u(rng, 7, 11) if a["hysterectomy"] else _u(rng, 11, 16)
    a["vag_r"] = _u(rng, 5, 7.5)
    nfib = 0 if (a["hysterectomy"] or rng.random() > 0.22) else int(rng.integers(1, 4))
    a["fibroids"] = [{"s": _u(rng, 0.3, 0.95), "side": float(rng.choice([-1.0, 1.0])),
                      "kind": str(rng.choice(["intramural", "subserosal"])),
                      "r": _u(rng, 6, 20), "degenerated": bool(rng.random() < 0.25)}
                     for _ in range(nfib)]
    a["pod_fluid"] = bool(rng.random() < 0.3)
    a["ovary"] = bool((not a["hysterectomy"]) and rng.random() < 0.25)
    a["n_loops"] = int(rng.integers(10, 28))
    a["extra_colon"] = int(rng.integers(0, 3))
    return a


def skeleton(a: dict) -> dict:
    """Derived handle points and curves in body millimetres."""
    s: dict = {}
    sym = np.zeros(2)
    s["sym"] = sym
    s["symtop"] = sym + a["sym_len"] * np.array([-math.sin(math.radians(a["sym_beta"])),
                                                 -math.cos(math.radians(a["sym_beta"]))])
    s["coc"] = sym + a["pcl_len"] * np.array([math.cos(math.radians(a["pcl_ang"])),
                                              -math.sin(math.radians(a["pcl_ang"]))])
    prom = np.array(a["prom"], float)
    s["prom"] = prom
    ss = a["sacral_slope"]
    s["ep"] = np.array([math.cos(math.radians(ss)), -math.sin(math.radians(ss))])
    up0 = np.array([-math.sin(math.radians(ss)), -math.cos(math.radians(ss))])
    s["up0"] = up0
    scj = s["coc"] + a["coc_len"] * np.array([math.sin(math.radians(a["coc_ang"])),
                                              -math.cos(math.radians(a["coc_ang"]))])
    s["scj"] = scj
    tang0 = -up0  # sacral anterior surface leaves the promontory perpendicular to S1 endplate
    ctrl = prom + a["sacral_curve"] * np.linalg.norm(scj - prom) * tang0
    sac = bezier2(prom, ctrl, scj, 80)
    s["sacrum"] = sac
    n = normals(sac)
    # anterior normal: the one pointing away from the sacral body (towards negative x)
    if n[len(n) // 2, 0] > 0:
        n = -n
    s["sac_nant"] = n
    coc_curve = bezier2(scj, scj + 0.5 * (s["coc"] - scj) + 3 * n[-1], s["coc"], 24)
    s["coccyx"] = coc_curve
    s["s3"] = sac[int(0.5 * (len(sac) - 1))]
    # lumbar spine stacked on S1
    verts = []
    c_prev = prom + 0.5 * a["vert_depth"] * s["ep"]
    theta_up = 90.0 + ss
    p_prev = s["ep"]
    for i, lord in enumerate(a["lordosis"]):
        theta_up -= lord
        u = dirv(theta_up)
        p = dirv(theta_up - 90.0)
        h_d = a["disc_height"] * (1.15 if i == 0 else 1.0)
        body_c = c_prev + (h_d + 0.5 * a["vert_height"]) * u
        verts.append({"disc_lo": c_prev.copy(), "p_lo": p_prev.copy(), "u": u, "p": p,
                      "disc_hi": c_prev + h_d * u, "centre": body_c})
        c_prev = c_prev + (h_d + a["vert_height"]) * u
        p_prev = p
    s["verts"] = verts
    # pelvic organ handles
    s["bn"] = np.array(a["bn"], float)
    s["meatus"] = np.array(a["meatus"], float)
    intro = np.array(a["intro"], float)
    s["intro"] = intro
    # leave room for the rectum between the vaginal apex and the sacrum / coccyx
    bone_line = np.vstack([sac, coc_curve])
    vag_len, vag_ang = a["vag_len"], a["vag_ang"]
    r_amp = a["r_amp"]
    for _ in range(30):
        need = 1.8 * r_amp + a["presacral"] + a["vault_r"] * a["vag_gel_factor"] + 8.0
        apex = intro + vag_len * dirv(vag_ang)
        if np.min(np.hypot(*(bone_line - apex).T)) >= need:
            break
        if vag_len > max(55.0, 0.85 * a["vag_len"]):
            vag_len *= 0.97
        elif r_amp > 11.0:
            r_amp -= 1.0
        else:
            vag_ang = min(75.0, vag_ang + 1.5)
    s["r_amp"] = r_amp
    s["r_up"] = min(a["r_up"], max(9.0, 0.8 * r_amp))
    s["vag_len"], s["vag_ang"] = vag_len, vag_ang
    ctrl = intro + 0.45 * vag_len * dirv(vag_ang + a["vag_bend"])
    s["vagina"] = bezier2(intro - 6 * dirv(vag_ang + a["vag_bend"]), ctrl, apex, 48)
    s["vag_rad"] = np.interp(np.linspace(0, 1, len(s["vagina"])), [0, 0.15, 0.7, 1.0],
                             [a["vag_r"] * 0.9, a["vag_r"], a["vag_r"] * 1.1, a["vault_r"]]
                             ) * a["vag_gel_factor"]
    # the bladder neck sits in front of the vagina
    d_bn = np.hypot(*(s["vagina"] - s["bn"]).T) - s["vag_rad"]
    clear = 6.0
    if d_bn.min() < clear:
        away = s["bn"] - s["vagina"][int(np.argmin(d_bn))]
        away = away / max(np.linalg.norm(away), 1e-6)
        if away[0] > 0:
            away = np.array([-1.0, 0.0])
        s["bn"] = s["bn"] + (clear - d_bn.min()) * away
    s["apex"] = apex
    vdir_top = apex - s["vagina"][-4]
    vdir_top /= np.linalg.norm(vdir_top)
    s["vdir_top"] = vdir_top
    arj = np.array(a["arj"], float)
    s["arj"] = arj
    ac_dir = np.array([math.sin(math.radians(a["ac_ang"])), math.cos(math.radians(a["ac_ang"]))])
    s["ac_dir"] = ac_dir
    av = arj + a["ac_len"] * ac_dir
    s["av"] = av
    # rectum: anal canal, ampulla on the levator plate, along the sacrum to S3, sigmoid
    nsac = s["sac_nant"]
    i_s3 = int(0.5 * (len(sac) - 1))
    i_low = int(0.82 * (len(sac) - 1))
    gap = a["presacral"]
    r_amp, r_up = s["r_amp"], s["r_up"]
    rsj = sac[i_s3] + (gap + r_up) * nsac[i_s3]
    low = sac[i_low] + (gap + 0.5 * (r_up + r_amp)) * nsac[i_low]
    coc_n = normals(coc_curve)
    if coc_n[len(coc_n) // 2, 0] > 0:
        coc_n = -coc_n
    amp_a = coc_curve[len(coc_curve) // 2] + (gap + r_amp) * coc_n[len(coc_n) // 2]
    amp_b = arj + (r_amp + 4) * dirv(45.0)
    amp = 0.5 * (amp_a + amp_b)
    s["amp"] = amp
    low = 0.5 * (amp + rsj) + 0.35 * (low - 0.5 * (amp + rsj))  # keeps the bend smooth
    s["rsj"] = rsj
    sig = [np.array(p, float) for p in a["sigmoid"]]
    sig_pts = [rsj + sig[0]] + [rsj + p for p in sig[1:]]
    knots = [av + 8 * ac_dir, av, arj, amp, low, rsj] + sig_pts
    rad = [a["r_ac"], a["r_ac"], a["r_ac"] + 2, r_amp, 0.5 * (r_amp + r_up),
           r_up] + [a["r_sig"]] * len(sig_pts)
    # the ampulla and lower rectum fit between the vagina and the sacrum / coccyx
    vag = s["vagina"]
    vr_end = s["vag_rad"]
    for j in (3, 4, 5):
        q = knots[j]
        dv_all = np.hypot(*(vag - q).T)
        iv = int(np.argmin(dv_all))
        ds = float(np.min(np.hypot(*(bone_line - q).T)))
        clear_v = vr_end[iv] + 3.0
        room = dv_all[iv] + ds - clear_v - 5.0
        rad[j] = float(np.clip(min(rad[j], 0.5 * room), 6.0, None))
        if dv_all[iv] < clear_v + rad[j]:
            away = (q - vag[iv]) / max(dv_all[iv], 1e-6)
            knots[j] = vag[iv] + (clear_v + rad[j]) * away
    s["rect_knots"] = np.array(knots)
    s["rect_rad"] = np.array(rad)
    s["rect_cut_knot"] = 5
    s["levator"] = np.array([arj + (a["r_ac"] + 7) * np.array([0.75, 0.66]),
                             0.5 * (arj + s["coc"]) + np.array([6.0, 6.0]), s["coc"]])
    s["pb"] = 0.5 * (intro + av) + np.array([0.0, -6.0])
    # perineal skin
    s["perineum_skin_y"] = max(intro[1], av[1]) + 5.0
    # abdominal wall inner (peritoneal) line
    st = s["symtop"]
    s["wall_in"] = catmull([st + np.array([2.0, -2.0]),
                            np.array([st[0] - 12 - 0.6 * a["belly"], -90.0]),
                            np.array([st[0] - 17 - a["belly"], -160.0]),
                            np.array([st[0] - 18 - a["belly"], -260.0]),
                            np.array([st[0] - 17 - a["belly"], -460.0])], 12)
    return s


def key_points(a: dict, s: dict) -> np.ndarray:
    """Points that must lie inside the field of view (body frame)."""
    wall = s["wall_in"]
    ant = line_x(wall, -60.0) - a["wall_muscle"] - a["fat_ant"] - a["skin"]
    sac_back = s["sacrum"][len(s["sacrum"]) // 2] + np.array([45.0 + a["fat_post"], 0.0])
    v = s["verts"][0]
    l5_top = v["centre"] + 0.5 * a["vert_height"] * v["u"]
    h = a["bladder_h"]
    return np.array([[ant, -60.0], [ant + 5, 20.0], [s["symtop"][0] - a["fat_mons"] - 10,
                                                     s["symtop"][1]],
                     sac_back, s["coc"] + np.array([30.0 + a["fat_post"], 10.0]),
                     l5_top - np.array([0.0, 8.0]), s["prom"] + np.array([60.0, -10.0]),
                     [s["av"][0], s["perineum_skin_y"] + 22.0],
                     [s["intro"][0], s["perineum_skin_y"] + 22.0],
                     s["bn"] + np.array([0.0, -h - 12.0]), s["rsj"] + np.array([0.0, -70.0])])


def draw_motion(rng: np.random.Generator, a: dict, t_total: float, dt: float) -> dict:
    """Manoeuvre, time curve episodes and per-handle amplitudes."""
    m: dict = {}
    rc = a["rectal_content"]
    p = np.array([0.32, 0.14, 0.1, 0.12, 0.32])
    if rc == "empty":
        p[4] = 0.05
    p /= p.sum()
    maneuver = str(rng.choice(MANEUVERS, p=p))
    m["maneuver"] = maneuver
    lax = a["laxity"]
    start = max(1.5 * dt, _u(rng, 0.03, 0.12) * t_total)
    eps: list[dict] = []
    rest_frac = _u(rng, 0.05, 0.2)

    def block(kind, t0, length, level):
        ramp = length * _u(rng, 0.15, 0.3)
        release = length * _u(rng, 0.12, 0.25)
        hold = max(0.0, length - ramp - release - length * rest_frac)
        eps.append({"kind": kind, "start": t0, "ramp": ramp, "hold": hold,
                    "release": release, "level": _u(rng, 0.7, 1.0)
                    if level is None else level})

    span = t_total - start
    if maneuver == "valsalva":
        n = int(rng.integers(1, 4)) if span > 20 else 1
        for i in range(n):
            block("strain", start + i * span / n, span / n, None)
    elif maneuver == "squeeze_valsalva":
        block("squeeze", start, 0.45 * span, None)
        block("strain", start + 0.45 * span, 0.55 * span, None)
    elif maneuver == "squeeze":
        n = int(rng.integers(1, 4)) if span > 20 else 1
        for i in range(n):
            block("squeeze", start + i * span / n, span / n, None)
    elif maneuver == "cough":
        n_frames = int(round(t_total / dt)) + 1
        k0 = int(math.ceil(start / dt))
        n = int(rng.integers(2, 6))
        idx = np.sort(rng.choice(np.arange(k0, n_frames), size=min(n, n_frames - k0),
                                 replace=False))
        for k in idx:
            ramp = min(0.4, 0.45 * dt)
            eps.append({"kind": "strain", "start": float(k * dt - ramp), "ramp": ramp,
                        "hold": 0.0, "release": min(0.6, 0.5 * dt),
                        "level": _u(rng, 0.5, 1.0)})
    else:  # defecation: one long strain with evacuation
        block("strain", start, 0.9 * span, _u(rng, 0.7, 1.0))
        eps[-1]["evacuate"] = _u(rng, 0.35, 0.85)
    m["episodes"] = eps
    m["breath_period_s"] = _u(rng, 3.5, 6.5)
    m["breath_phase"] = _u(rng, 0, 2 * math.pi)
    m["breath_mm"] = _u(rng, 1.5, 5.0)
    m["descent_deg"] = _u(rng, 10, 35)
    # per-handle strain transform (translation mm in body frame, rotation deg, pivot name)
    dsc = np.array([math.sin(math.radians(m["descent_deg"])),
                    math.cos(math.radians(m["descent_deg"]))])

    def vec(v, mag):
        v = np.asarray(v, float)
        return (v / np.linalg.norm(v) * mag).round(3).tolist()

    bn_ang = _u(rng, 25, 50)
    rectocele = max(0.0, lax - 0.6) * _u(rng, 5, 14)
    hs = {
        "abdwall": {"t": vec([-1.0, 0.2], _u(rng, 3, 8)), "rot": 0.0},
        "bowel": {"t": vec(dsc, _u(rng, 5, 12)), "rot": 0.0},
        "sigmoid": {"t": vec(dsc, lax * _u(rng, 4, 9)), "rot": 0.0},
        "bladder_dome": {"t": vec(dsc, lax * _u(rng, 5, 10)), "rot": lax * _u(rng, 2, 8)},
        "bladder_neck": {"t": vec([math.sin(math.radians(bn_ang)),
                                   math.cos(math.radians(bn_ang))], lax * _u(rng, 9, 17)),
                         "rot": lax * _u(rng, 3, 10)},
        "uterus": {"t": vec(dsc, lax * _u(rng, 7, 14)), "rot": lax * _u(rng, 4, 12)},
        "cervix": {"t": vec(dsc, lax * _u(rng, 9, 19)), "rot": 0.0},
        "perineum": {"t": vec([0.2, 1.0], lax * _u(rng, 6, 12)), "rot": 0.0},
        "rectum_upper": {"t": vec(dsc, lax * _u(rng, 1, 4)), "rot": 0.0},
        "ampulla": {"t": (np.array(vec(dsc, lax * _u(rng, 7, 13)))
                          + np.array(vec([-1.0, 0.35], rectocele))).round(3).tolist(),
                    "rot": 0.0},
        "arj": {"t": vec([0.5, 0.87], lax * _u(rng, 9, 17)), "rot": 0.0},
        "anal": {"t": vec([0.15, 1.0], lax * _u(rng, 6, 11)), "rot": lax * _u(rng, 5, 15)},
        "levator": {"t": [0.0, 0.0], "rot": lax * _u(rng, 5, 13)},
    }
    hs["vagina"] = {"t": (0.5 * (np.array(hs["cervix"]["t"]) + np.array(hs["perineum"]["t"]))
                          ).round(3).tolist(), "rot": 0.0}
    m["strain"] = hs
    m["rectocele_mm"] = rectocele
    m["squeeze_factor"] = _u(rng, 0.3, 0.55)
    m["squeeze_arj_mm"] = _u(rng, 3, 8)
    m["ampulla_shrink"] = _u(rng, 0.35, 0.55)
    m["anal_open"] = _u(rng, 0.4, 0.9)
    m["amplitude"] = 1.0  # reduced at render time until the map has no fold
    return m


def draw_imaging(rng: np.random.Generator) -> dict:
    im: dict = {}
    seq = str(rng.choice(SEQUENCES, p=[0.4, 0.3, 0.15, 0.15]))
    im["sequence"] = seq
    im["field_T"] = float(rng.choice([1.5, 3.0], p=[0.6, 0.4]))
    if seq == "ssfse_t2":
        im.update(TR=_u(rng, 3000, 9000), TE=_u(rng, 60, 130), flip=90.0,
                  fat_sat=bool(rng.random() < 0.25), fse_blur=_u(rng, 0.2, 1.3),
                  bw_px=_u(rng, 300, 900))
    elif seq == "fse_pd":
        im.update(TR=_u(rng, 1800, 4000), TE=_u(rng, 12, 35), flip=90.0,
                  fat_sat=bool(rng.random() < 0.3), fse_blur=_u(rng, 0.1, 0.6),
                  bw_px=_u(rng, 150, 400))
    elif seq == "bssfp":
        tr = _u(rng, 3.0, 5.0)
        im.update(TR=tr, TE=tr / 2, flip=_u(rng, 40, 80), fat_sat=bool(rng.random() < 0.08),
                  fse_blur=0.0, bw_px=_u(rng, 500, 1100))
    else:
        im.update(TR=_u(rng, 5, 150), TE=_u(rng, 1.2, 5.0), flip=_u(rng, 10, 70),
                  fat_sat=bool(rng.random() < 0.4), fse_blur=0.0, bw_px=_u(rng, 150, 500))
    im["tissue_jitter"] = _u(rng, 0.06, 0.18)
    im["fat_t2_fse_factor"] = _u(rng, 1.25, 1.9)
    im["flow_factor"] = (_u(rng, 0.05, 0.4) if seq in ("ssfse_t2", "fse_pd")
                         else _u(rng, 1.0, 1.4) if seq == "bssfp" else _u(rng, 1.2, 2.5))
    im["fatsat_residual"] = _u(rng, 0.03, 0.15)
    im["fatsat_width_hz"] = _u(rng, 80, 220)
    im["b0_hz"] = [_u(rng, -20, 20), _u(rng, -60, 60), _u(rng, -60, 60), _u(rng, -90, 90)]
    im["n_coils"] = int(rng.integers(4, 9))
    im["coil_rho_mm"] = _u(rng, 60, 150)
    im["coil_depth_mm"] = _u(rng, 15, 60)
    im["coil_floor"] = _u(rng, 0.02, 0.15)
    im["snr"] = float(np.exp(rng.uniform(np.log(4.0), np.log(40.0))))
    im["parallel_R"] = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
    im["g_max"] = 1.0 if im["parallel_R"] == 1 else _u(rng, 1.1, 1.3 + 0.3 * im["parallel_R"])
    im["phase_dir"] = str(rng.choice(["AP", "SI"], p=[0.65, 0.35]))
    im["kspace_pe"] = _u(rng, 0.55, 1.0)
    im["kspace_ro"] = _u(rng, 0.75, 1.0)
    im["kspace_window"] = str(rng.choice(["rect", "tukey", "hann"], p=[0.45, 0.35, 0.2]))
    im["ghost"] = bool(rng.random() < 0.35)
    im["ghost_amp"] = _u(rng, 0.02, 0.1)
    im["ghost_shift"] = _u(rng, 0.12, 0.5)
    im["frame_jitter"] = _u(rng, 0.0, 0.025)
    im["scale_max"] = float(np.exp(rng.uniform(np.log(200.0), np.log(4000.0))))
    im["integer"] = bool(rng.random() < 0.5)
    im["slice_mm"] = _u(rng, 4.0, 10.0)
    im["texture_scale_mm"] = [_u(rng, 0.8, 2.0), _u(rng, 4.0, 10.0)]
    return im


def draw_params(seed: int, matrix=None, n_frames=None) -> dict:
    """All random parameters of a case (cheap; no rendering)."""
    rng = np.random.default_rng([int(seed), 0x5C1])
    h0, w0 = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    t0 = int(rng.integers(20, 41))
    dt0 = _u(rng, 0.5, 2.0)
    a = draw_anatomy(rng)
    sk = skeleton(a)
    # field of view: fit the key points after scaling and tilt
    kp = key_points(a, sk)
    rt = rotm(-a["tilt_deg"])
    square = bool(rng.random() < 0.8)
    target = [_u(rng, 280, 420), _u(rng, 280, 420)]
    margin = 10.0
    for _ in range(20):
        pts = (rt @ kp.T).T * a["body_scale"]
        ext = pts.max(0) - pts.min(0) + 2 * margin  # (x, y)
        need_c, need_r = ext[0] / w0, ext[1] / h0
        if max(need_c, need_r) <= 1.5:
            break
        a["body_scale"] *= 0.97
    sc = float(np.clip(max(need_c, target[0] / w0), 1.1, 1.5))
    sr = float(np.clip(max(need_r, target[1] / h0), 1.1, 1.5))
    if square:
        sr = sc = max(sr, sc)
    fov = (h0 * sr, w0 * sc)
    lo = pts.min(0) - margin
    hi = pts.max(0) + margin
    slack = np.array([fov[1], fov[0]]) - (hi - lo)
    origin = (-lo + np.maximum(slack, 0) * np.array([rng.uniform(0.15, 0.85),
                                                     rng.uniform(0.45, 0.95)])).round(3)
    t_total = (t0 - 1) * dt0
    motion = draw_motion(rng, a, t_total, dt0)
    imaging = draw_imaging(rng)
    if matrix is None:
        h, w = h0, w0
    elif np.ndim(matrix) == 0:
        h = w = int(matrix)
    else:
        h, w = (int(v) for v in matrix)
    n = t0 if n_frames is None else int(n_frames)
    return {
        "generator": GENERATOR, "seed": int(seed), "matrix": [h, w],
        "spacing_mm": [fov[0] / h, fov[1] / w], "fov_mm": [round(fov[0], 3), round(fov[1], 3)],
        "n_frames": n, "frame_interval_s": t_total / (n - 1) if n > 1 else dt0,
        "duration_s": t_total, "hysterectomy": a["hysterectomy"],
        "placement": {"origin_mm": origin.tolist(), "tilt_deg": a["tilt_deg"],
                      "body_scale": a["body_scale"]},
        "anatomy": a, "motion": motion, "imaging": imaging,
    }


# ----------------------------------------------------------------------------- raster

class Canvas:
    """Fine raster of the field of view; points are (x, y) image millimetres."""

    def __init__(self, shape, step):
        self.shape = tuple(int(v) for v in shape)
        self.dr, self.dc = float(step[0]), float(step[1])
        self.off = (SUPER - 1) / 2.0

    def rc(self, pts):
        pts = np.atleast_2d(pts)
        return pts[:, 1] / self.dr + self.off, pts[:, 0] / self.dc + self.off

    def poly(self, pts) -> np.ndarray:
        r, c = self.rc(pts)
        m = np.zeros(self.shape, bool)
        rr, cc = draw_polygon(r, c, self.shape)
        m[rr, cc] = True
        return m

    def tube(self, pts, radii, cut: float | None = None):
        """Swept disc along a polyline; with `cut` also the mask of the part whose nearest
        centreline point lies before arc fraction `cut` (a cut perpendicular to the axis)."""
        step = 0.5 * min(self.dr, self.dc)
        p, rad, frac = resample(np.asarray(pts, float), np.asarray(radii, float), step)
        r, c = self.rc(p)
        rmax = float(rad.max())
        pad_r, pad_c = rmax / self.dr + 2, rmax / self.dc + 2
        r0 = max(0, int(math.floor(r.min() - pad_r)))
        r1 = min(self.shape[0], int(math.ceil(r.max() + pad_r)) + 1)
        c0 = max(0, int(math.floor(c.min() - pad_c)))
        c1 = min(self.shape[1], int(math.ceil(c.max() + pad_c)) + 1)
        full = np.zeros(self.shape, bool)
        first = np.zeros(self.shape, bool)
        if r1 <= r0 or c1 <= c0:
            return (full, first) if cut is not None else full
        ri, ci = np.rint(r - r0).astype(int), np.rint(c - c0).astype(int)
        ok = (ri >= 0) & (ri < r1 - r0) & (ci >= 0) & (ci < c1 - c0)
        if not ok.any():
            return (full, first) if cut is not None else full
        sub = np.ones((r1 - r0, c1 - c0), bool)
        idx = np.full(sub.shape, -1, int)
        sub[ri[ok], ci[ok]] = False
        idx[ri[ok], ci[ok]] = np.nonzero(ok)[0]
        dist, (ir, ic) = ndimage.distance_transform_edt(sub, sampling=(self.dr, self.dc),
                                                        return_indices=True)
        near = idx[ir, ic]
        m = dist <= rad[near]
        full[r0:r1, c0:c1] = m
        if cut is None:
            return full
        first[r0:r1, c0:c1] = m & (frac[near] <= cut)
        return full, first

    def inner(self, mask) -> np.ndarray:
        """Distance (mm) from each pixel inside mask to the outside."""
        out = np.zeros(self.shape, np.float32)
        if not mask.any():
            return out
        sl = ndimage.find_objects(mask.astype(np.int8))[0]
        sl = tuple(slice(max(0, s.start - 1), min(n, s.stop + 1))
                   for s, n in zip(sl, self.shape, strict=True))
        out[sl] = ndimage.distance_transform_edt(mask[sl], sampling=(self.dr, self.dc))
        return out

    def dilate(self, mask, mm) -> np.ndarray:
        if not mask.any():
            return mask.copy()
        return ndimage.distance_transform_edt(~mask, sampling=(self.dr, self.dc)) <= mm

    def grid_mm(self):
        yy = (np.arange(self.shape[0]) - self.off) * self.dr
        xx = (np.arange(self.shape[1]) - self.off) * self.dc
        return np.meshgrid(xx, yy)


def largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())[1:]
    return lab == (1 + int(np.argmax(sizes)))


# ----------------------------------------------------------------------------- scene

class Placement:
    def __init__(self, pl: dict):
        self.o = np.array(pl["origin_mm"], float)
        self.k = float(pl["body_scale"])
        self.r = rotm(-pl["tilt_deg"])

    def __call__(self, p) -> np.ndarray:
        p = np.asarray(p, float)
        return self.o + self.k * (p @ self.r.T)

    def vec(self, v) -> np.ndarray:
        return np.asarray(v, float) @ self.r.T


def _uterus_geometry(a, s, bladder_poly, wall, rect_pts, rect_rad):
    """Cervix and body centrelines; the body angle is searched so that it avoids the
    bladder, the abdominal wall, the sacrum and the rectum."""
    apex, vtop = s["apex"], s["vdir_top"]
    theta_v = math.degrees(math.atan2(-vtop[1], vtop[0]))
    e = apex - 6.0 * vtop
    best = None
    blen = max(10.0, a["body_len"] - a["body_r"])
    sac = s["sacrum"]
    for dc_ in (0, -10, 10, -20, 20, -30, -40, -50, -60, -70):
        theta_c = theta_v + a["cervix_turn"] + dc_
        cdir = dirv(theta_c)
        i_os = e + a["cervix_len"] * cdir
        cpts = e + np.linspace(0.5, 1.0, 5)[:, None] * a["cervix_len"] * cdir
        for db in sorted(range(-60, 61, 5), key=abs):
            theta_b = theta_c + a["flexion"] + db
            if a["version"] == "anteverted":
                theta_b = min(theta_b, 178.0)
            bdir = dirv(theta_b)
            p1 = i_os + 0.3 * blen * cdir
            cl = bezier2(i_os, p1, p1 + 0.75 * blen * bdir, 24)
            nrm = normals(cl)
            prof = _body_profile(np.linspace(0, 1, len(cl)), a)
            pts = np.vstack([cl, cl + 0.9 * prof[:, None] * nrm, cl - 0.9 * prof[:, None] * nrm,
                             cl[-1:] + 0.9 * a["body_r"] * bdir])
            allp = np.vstack([pts, cpts])
            bad = float(points_in_poly(allp, bladder_poly).sum())
            xw = np.array([line_x(wall, y) for y in pts[:, 1]])
            bad += int((pts[:, 0] < xw + 4).sum())
            bad += int((pts[:, 0] > s["prom"][0] + 5).sum())
            bad += int(((allp[:, 1] > s["symtop"][1] - 8) & (allp[:, 0] < s["bn"][0] + 6)).sum())
            d_sac = np.min(np.hypot(*(pts[:, None, :] - sac[None, :, :]).transpose(2, 0, 1)),
                           axis=1)
            bad += int((d_sac < 6).sum())
            d_rec = np.hypot(*(pts[:, None, :] - rect_pts[None, :, :]).transpose(2, 0, 1))
            bad += int((d_rec < rect_rad[None, :] + 3).any(axis=1).sum())
            bad = int(round(bad))
            score = (bad, abs(db) + abs(dc_))
            if best is None or score < best[0]:
                best = (score, cl, e, i_os, cdir, bdir, theta_c, theta_b)
            if bad == 0:
                break
        if best[0][0] == 0:
            break
    _, cl, e, i_os, cdir, bdir, theta_c, theta_b = best
    return {"body": cl, "e": e, "i_os": i_os, "cdir": cdir, "bdir": bdir,
            "theta_c": theta_c, "theta_b": theta_b, "conflicts": int(best[0][0])}


def _body_profile(sfrac, a):
    r_i = 0.8 * a["cervix_r"]
    rise = np.sin(0.5 * np.pi * np.clip(sfrac / 0.6, 0, 1))
    return r_i + (a["body_r"] - r_i) * rise


def _bladder_polygon(a, s, wall):
    f = a["bladder_fill"]
    w, h = a["bladder_w"], a["bladder_h"]
    ub, pb = dirv(90.0 + a["bladder_tilt"]), dirv(a["bladder_tilt"])
    base = [(0.0, 0.0), (0.3, 0.06 + 0.04 * f), (0.55, 0.35), (0.5, 0.75), (0.0, 1.0),
            (-0.45, 0.72), (-0.42, 0.3), (-0.2, 0.06)]
    jit = np.array(a["bladder_jitter"])
    pts = []
    bn = s["bn"]
    st = s["symtop"]
    vag, apex = s["vagina"], s["apex"]
    for i, (pp, uu) in enumerate(base):
        if i == 0:
            pts.append(bn.copy())
            continue
        q = bn + (pp + jit[i, 0]) * w * pb + (uu + jit[i, 1]) * h * ub
        # keep clear of the symphysis and of the abdominal wall
        if q[1] > st[1] - 5:
            yy = np.clip(q[1], st[1], 0.0)
            xs = float(np.interp(yy, [st[1], 0.0], [st[0], 0.0])) + 0.5 * a["sym_thick"]
            lim = xs + a["retzius"] + 2
        else:
            lim = line_x(wall, q[1]) + 4
        q[0] = max(q[0], lim)
        # and anterior to the vagina (the bladder base rests on it)
        if q[1] > apex[1] - 25:
            yv = min(q[1], float(vag[:, 1].max()))
            xv = line_x(vag, yv) if yv > apex[1] else apex[0]
            q[0] = min(q[0], xv - a["vag_r"] * a["vag_gel_factor"] - 3)
        pts.append(q)
    return catmull(pts, 12, closed=True)


def build_scene(p: dict, rng: np.random.Generator):
    """Rest scene on the fine grid: tissue classes, labels, handle points and regions."""
    a = p["anatomy"]
    s = skeleton(a)
    h, w = p["matrix"]
    sr, sc = p["spacing_mm"]
    cv = Canvas((h * SUPER, w * SUPER), (sr / SUPER, sc / SUPER))
    P = Placement(p["placement"])
    k = P.k
    tissue = np.zeros(cv.shape, np.uint8)
    label = np.zeros(cv.shape, np.uint8)

    def paint(mask, name, lab=None):
        tissue[mask] = TI[name]
        if lab is not None:
            label[mask] = lab

    def poly(pts_body):
        return cv.poly(P(pts_body))

    def tube(pts_body, radii, cut=None):
        return cv.tube(P(pts_body), np.asarray(radii, float) * k, cut)

    def ell(c, ra, rb, ang, n=2.0):
        return poly(superellipse(c, ra, rb, ang, n))

    wall = s["wall_in"]
    # --- body outline
    fa, fp, fm = a["fat_ant"], a["fat_post"], a["fat_mons"]
    ma, sk_ = a["wall_muscle"], a["skin"]
    st, sym = s["symtop"], s["sym"]
    sac, nsac = s["sacrum"], s["sac_nant"]
    verts = s["verts"]
    outline = [[line_x(wall, -460) - ma - fa, -460.0],
               [line_x(wall, -250) - ma - fa, -250.0],
               [line_x(wall, -120) - ma - fa, -120.0],
               [st[0] - 8 - fm, st[1] - 8],
               [sym[0] - a["sym_thick"] - 0.7 * fm - 4, sym[1] + 6],
               [sym[0] - 0.35 * fm - 8, sym[1] + 20],
               s["meatus"] + np.array([-4.0, 6.0]),
               s["intro"] + np.array([0.0, 4.0]),
               [0.5 * (s["intro"][0] + s["av"][0]), s["perineum_skin_y"]],
               s["av"] + np.array([0.0, 2.0]),
               s["av"] + np.array([18.0, -3.0]),
               s["coc"] + np.array([14 + 0.5 * fp, 16.0])]
    n_s = len(sac)
    th = np.linspace(30.0, 10.0, n_s)
    cw = np.linspace(12.0, 4.0, n_s)
    arch = np.linspace(9.0, 5.0, n_s)
    back_pts = []
    for t_ in (0.0, 0.3, 0.6, 0.9):
        i = int(t_ * (n_s - 1))
        back_pts.append(sac[i] - nsac[i] * (th[i] + cw[i] + arch[i] + 10 - 6 * t_ + fp))
    outline += back_pts[::-1]
    for v in verts:
        outline.append(v["centre"] + v["p"] * (0.5 * a["vert_depth"] + 50 + fp))
    top_post = verts[-1]["centre"] + verts[-1]["p"] * (0.5 * a["vert_depth"] + 52 + fp)
    outline.append([top_post[0], -460.0])
    body_curve = catmull(outline, 10, closed=True)
    body = poly(body_curve)
    paint(body, "fat")
    din = cv.inner(body)
    paint(body & (din <= sk_ * k), "skin")
    # --- abdominal cavity (behind the wall) with visceral fat
    xx, yy = cv.grid_mm()
    # direction of the wall normal is roughly the body x axis; compare in body coordinates
    rinv = P.r.T
    bx = ((xx - P.o[0]) * rinv[0, 0] + (yy - P.o[1]) * rinv[0, 1]) / k
    by = ((xx - P.o[0]) * rinv[1, 0] + (yy - P.o[1]) * rinv[1, 1]) / k
    wall_bx = np.interp(by, np.sort(wall[:, 1]), wall[np.argsort(wall[:, 1]), 0])
    cavity = body & (bx > wall_bx) & (din > (sk_ + 4) * k)
    paint(cavity, "fat_v")
    # abdominal wall muscle (rectus / linea alba)
    wall_m = wall[wall[:, 1] < st[1] + 2]
    paint(tube(wall_m - np.array([0.5 * ma, 0.0]), np.full(len(wall_m), 0.5 * ma)), "muscle")
    paint(tube(wall_m - np.array([ma + 0.5, 0.0]), np.full(len(wall_m), 0.6)), "fibrous")
    # --- posterior muscles (erector spinae) and spine
    back = [v["centre"] + v["p"] * (0.5 * a["vert_depth"] + 42) for v in verts[::-1]]
    back += [sac[int(t_ * (len(sac) - 1))] - nsac[int(t_ * (len(sac) - 1))] * dd
             for t_, dd in ((0.1, 38.0), (0.5, 26.0), (0.9, 16.0))]
    back = catmull(back, 8)
    back = np.vstack([[back[0, 0], -470.0], back])
    radb = np.interp(np.arange(len(back)), [0, 0.55 * len(back), len(back) - 1], [34.0, 28.0, 8.0])
    paint(tube(back, radb) & body, "muscle")
    bones = np.zeros(cv.shape, bool)
    vd, vh = a["vert_depth"], a["vert_height"]
    canal_w = 14.0
    canal_pts = []
    for v in verts:
        ang = math.degrees(math.atan2(-v["u"][1], v["u"][0])) - 90.0
        # disc below this vertebra
        lo_a = v["disc_lo"] - 0.5 * vd * v["p_lo"]
        lo_p = v["disc_lo"] + 0.5 * vd * v["p_lo"]
        hi_a = v["disc_hi"] - 0.5 * vd * v["p"]
        hi_p = v["disc_hi"] + 0.5 * vd * v["p"]
        dmask = poly(np.array([lo_a, lo_p, hi_p, hi_a]))
        paint(dmask, "fibrous")
        paint(poly(superellipse(0.5 * (v["disc_lo"] + v["disc_hi"]), 0.32 * vd,
                                0.3 * a["disc_height"], ang, 2.0)), "disc")
        bm = ell(v["centre"], 0.5 * vd, 0.5 * vh, ang, 5.0)
        bones |= bm
        canal_pts.append(v["centre"] + v["p"] * (0.5 * vd + 2 + 0.5 * canal_w))
        # spinous process / lamina
        sp_c = v["centre"] + v["p"] * (0.5 * vd + canal_w + 16) + v["u"] * (-4.0)
        bones |= ell(sp_c, 15, 6.5, ang - 18, 2.5)
    canal_pts = canal_pts[::-1]
    sac_body = poly(np.vstack([sac, (sac - nsac * th[:, None])[::-1]]))
    sac_arch = poly(np.vstack([sac - nsac * (th + cw)[:, None],
                               (sac - nsac * (th + cw + arch)[:, None])[::-1]]))
    bones |= sac_body | sac_arch
    canal_all = np.vstack([np.array(canal_pts), sac - nsac * (th + 0.5 * cw)[:, None]])
    canal_all = np.vstack([[canal_all[0, 0], -470.0], canal_all])
    crad = np.r_[0.5 * canal_w, np.full(len(canal_pts), 0.5 * canal_w), 0.5 * cw]
    paint(tube(canal_all, crad), "fat")
    i_s2 = int(0.3 * (n_s - 1))
    csf_pts = canal_all[: len(canal_pts) + 1 + i_s2]
    paint(tube(csf_pts, crad[: len(csf_pts)] * 0.85), "csf")
    paint(tube(csf_pts + np.array([2.0, 0.0]), np.full(len(csf_pts), 1.2)), "nerve")
    # coccyx: tapered bone along its curve with two joints
    cc = s["coccyx"]
    coc_m = tube(cc, np.linspace(7.0, 3.5, len(cc)))
    bones |= coc_m
    # symphysis
    sym_c = 0.5 * (sym + st)
    sym_ang = math.degrees(math.atan2(-(st - sym)[1], (st - sym)[0]))
    sym_m = ell(sym_c - np.array([0.15 * a["sym_thick"], 0.0]), 0.5 * a["sym_len"] + 3,
                0.5 * a["sym_thick"], sym_ang, 2.6)
    bones |= sym_m
    # bone layers: cortex rim and marrow
    bd = cv.inner(bones)
    paint(bones, "marrow")
    paint(bones & (bd <= 1.6 * k), "cortex")
    paint(tube(np.array([sym_c - 0.45 * a["sym_len"] * dirv(sym_ang) - np.array([3, 0]),
                         sym_c + 0.45 * a["sym_len"] * dirv(sym_ang) - np.array([3, 0])]),
               [1.3, 1.3]) & bones, "fibrous")
    ncc = normals(cc)
    for t_ in (0.35, 0.7):
        i = int(t_ * (len(cc) - 1))
        paint(tube(np.array([cc[i] - 8 * ncc[i], cc[i] + 8 * ncc[i]]), [0.8, 0.8]) & coc_m,
              "fibrous")
    for t_ in (0.2, 0.4, 0.6, 0.8):
        i = int(t_ * (n_s - 1))
        line = np.array([sac[i] - nsac[i] * 1.0, sac[i] - nsac[i] * (th[i] - 1.0)])
        paint(tube(line, [0.9, 0.9]) & sac_body, "disc")
    bones_dil = cv.dilate(bones, 2.0)
    # --- vessels in front of L5 and the sacrum, dorsal vein, epigastric
    v5 = verts[0]
    vessels = []
    for j in range(int(rng.integers(1, 3))):
        c_ = v5["centre"] - v5["p"] * (0.5 * vd + 9 + 9 * j) + v5["u"] * rng.uniform(-10, 10)
        vessels.append((c_, rng.uniform(4.5, 7.5), rng.uniform(3.5, 6)))
    for t_ in (0.25, 0.55):
        i = int(t_ * (n_s - 1))
        vessels.append((sac[i] + nsac[i] * 3.0, 1.8, 1.5))
    vessels.append((sym + np.array([-5.0, 9.0]), 2.5, 2.0))
    vessels.append((np.array([line_x(wall, -90) - 1.5, -90.0]), 2.0, 2.0))
    # --- pelvic floor
    lev = s["levator"]
    lev_c = catmull(lev, 10)
    paint(tube(lev_c, np.linspace(4.0, 3.0, len(lev_c)) * rng.uniform(0.8, 1.3)) & ~bones,
          "muscle")
    pr_c = lev[0] + np.array([2.0, 2.0])
    paint(ell(pr_c, rng.uniform(6, 10), rng.uniform(4.5, 7), 40.0), "muscle")
    ac_axis = np.array([s["av"] + 2 * s["ac_dir"], s["arj"] + 6 * s["ac_dir"]])
    paint(tube(ac_axis, [a["r_ac"] + rng.uniform(4, 7)] * 2) & body, "sphincter")
    pbv = s["av"] - s["intro"]
    paint(ell(s["pb"], 0.22 * np.linalg.norm(pbv), 5.0,
              math.degrees(math.atan2(-pbv[1], pbv[0])), 2.0) & body, "muscle")
    # urethra with sphincter
    ur = bezier2(s["bn"] + np.array([1.0, -3.0]),
                 0.5 * (s["bn"] + s["meatus"]) + np.array([-3.0, 0.0]),
                 s["meatus"] + np.array([0.0, 4.0]), 24)
    ur_r = rng.uniform(4.5, 6.5)
    paint(tube(ur, np.full(len(ur), ur_r)) & body, "sphincter")
    paint(tube(ur, np.full(len(ur), ur_r * 0.45)) & body, "mucosa")
    paint(tube(ur, np.full(len(ur), 0.8)) & body, "mucus")
    # --- organ shapes (body frame), then exclusive masks
    rk = catmull(s["rect_knots"], 14)
    rr_ = np.interp(np.linspace(0, len(s["rect_knots"]) - 1, len(rk)),
                    np.arange(len(s["rect_knots"])), s["rect_rad"])
    cut_frac = arclen(rk)[14 * s["rect_cut_knot"]] / arclen(rk)[-1]
    bl_poly = _bladder_polygon(a, s, wall)
    # uterus / vagina
    vag = s["vagina"]
    nv = len(vag)
    vr = s["vag_rad"]
    u_geo = None
    n_cut = 14 * s["rect_cut_knot"]
    if not a["hysterectomy"]:
        u_geo = _uterus_geometry(a, s, bl_poly, wall, rk[:n_cut], rr_[:n_cut])
    # the sigmoid loops give way to the uterus and the bladder
    knots = s["rect_knots"].copy()
    for j in range(s["rect_cut_knot"] + 1, len(knots)):
        for _ in range(30):
            q = knots[j]
            clash = points_in_poly(q[None], bl_poly)[0]
            d_bl = np.min(np.hypot(*(bl_poly - q).T))
            clash |= d_bl < a["r_sig"] + 4
            if u_geo is not None:
                clash |= np.min(np.hypot(*(u_geo["body"] - q).T)) < a["body_r"] + a["r_sig"] + 4
            if not clash:
                break
            knots[j] = q + np.array([3.0, -4.0])
    s["rect_knots"] = knots
    rk = catmull(knots, 14)
    rr_ = np.interp(np.linspace(0, len(knots) - 1, len(rk)), np.arange(len(knots)),
                    s["rect_rad"])
    cut_frac = arclen(rk)[n_cut] / arclen(rk)[-1]
    U = tube(vag, vr)
    parts = {}
    if u_geo is not None:
        cl_c = np.array([u_geo["e"], u_geo["i_os"]])
        cervix_m = tube(cl_c, [a["cervix_r"], 0.9 * a["cervix_r"]])
        prof = _body_profile(np.linspace(0, 1, len(u_geo["body"])), a)
        body_m = tube(u_geo["body"], prof)
        fib_ms = []
        nb = normals(u_geo["body"])
        for fb in a["fibroids"]:
            i = int(fb["s"] * (len(u_geo["body"]) - 1))
            off = (rng.uniform(0, 0.5) if fb["kind"] == "intramural"
                   else rng.uniform(0.85, 1.2)) * prof[i]
            c_ = u_geo["body"][i] + fb["side"] * off * nb[i]
            rf = fb["r"] if fb["kind"] == "subserosal" else min(fb["r"], 0.8 * prof[i] + 4)
            fib_ms.append((tube(np.array([c_, c_ + 0.01]), [rf, rf]), fb))
        U = U | cervix_m | body_m
        for fm_, _ in fib_ms:
            U |= fm_
        parts = {"cervix": cervix_m, "body": body_m, "fibroids": fib_ms}
    U = largest(U & body & ~bones_dil)
    u_dil = cv.dilate(U, 1.5)
    for _ in range(6):  # a bladder cut in two by the uterus shrinks towards its neck
        b_shape = poly(bl_poly) & ~bones_dil & body
        B = largest(b_shape & ~u_dil)
        if B.sum() >= 0.75 * (b_shape & ~u_dil).sum():
            break
        bl_poly = s["bn"] + 0.88 * (bl_poly - s["bn"])
    r_full, r_first = tube(rk, rr_, cut_frac)
    R = largest(r_first & ~cv.dilate(U | B, 1.5) & ~bones_dil & body)
    neck = np.ones((2 * SUPER + 1, 2 * SUPER + 1), bool)
    U, B, R = (_no_necks(m, neck) for m in (U, B, R))
    organs = U | B | R
    sig_m = r_full & ~r_first & ~cv.dilate(organs, 1.2) & ~bones_dil & body
    occupied = organs | sig_m | bones_dil
    # --- pouch of Douglas fluid, ovary (unlabelled look-alikes)
    extras = np.zeros(cv.shape, bool)
    if a["pod_fluid"]:
        c_ = s["apex"] + (a["vault_r"] + 5) * dirv(20.0)
        m_ = ell(c_, rng.uniform(6, 12), rng.uniform(3, 6), rng.uniform(0, 60)) & ~occupied
        paint(m_, "peri_fluid")
        extras |= m_
    if a["ovary"] and u_geo is not None:
        c_ = u_geo["body"][-1] + rng.uniform(14, 24) * dirv(rng.uniform(-30, 60))
        ov = ell(c_, rng.uniform(11, 16), rng.uniform(7, 10), rng.uniform(0, 180)) & ~occupied
        paint(ov, "ovary")
        for _ in range(int(rng.integers(2, 6))):
            fc = c_ + rng.uniform(-7, 7, 2)
            paint(ell(fc, rng.uniform(1.5, 4), rng.uniform(1.5, 4), 0.0) & ov, "fluid")
        extras |= ov
    # --- bowel loops and colon in the free cavity
    occupied = occupied | cv.dilate(extras, 1.0)
    limit_a, limit_b = st, sac[int(0.75 * (n_s - 1))]
    cross = (limit_b[0] - limit_a[0]) * (by - limit_a[1]) - (limit_b[1] - limit_a[1]) * (
        bx - limit_a[0])
    sac_bx = np.interp(by, sac[::-1, 1], sac[::-1, 0])
    spine_x = np.interp(by, [v["centre"][1] for v in verts[::-1]],
                        [v["centre"][0] - 0.5 * vd for v in verts[::-1]])
    post_lim = np.where(by > s["prom"][1], sac_bx, spine_x) - 10.0
    free = cavity & (cross < 0) & (bx < post_lim) & (bx > wall_bx + 3) & ~occupied
    free_idx = np.flatnonzero(free)
    loops = []
    n_target = a["n_loops"] + a["extra_colon"]
    tries = 0
    gx = xx
    while len(loops) < n_target and tries < 320 and free_idx.size:
        tries += 1
        j = free_idx[int(rng.integers(free_idx.size))]
        colon = len(loops) < a["extra_colon"]
        late = tries / 320.0
        r_ = rng.uniform(11, 17) if colon else rng.uniform(6, 13) * (1 - 0.4 * late)
        c_img = np.array([xx.flat[j], yy.flat[j]])
        ang = rng.uniform(0, 360)
        length = r_ * rng.uniform(0.0, 3.5) * k
        bend = rng.uniform(-0.6, 0.6) * length
        d1 = P.vec(dirv(ang))
        nrm = np.array([-d1[1], d1[0]])
        cl = bezier2(c_img - 0.5 * length * d1, c_img + bend * nrm, c_img + 0.5 * length * d1, 12)
        m_ = cv.tube(cl, np.full(len(cl), r_ * k))
        size = int(m_.sum())
        if size < 12:
            continue
        if (m_ & ~free).sum() <= 0.03 * size:
            loops.append((m_, colon))
            free &= ~cv.dilate(m_, 1.2 * k) if size < 4000 else ~m_
            free_idx = np.flatnonzero(free)
    for m_, colon in loops:
        d_ = cv.inner(m_)
        kind = (str(rng.choice(["stool", "gas", "mixed"])) if colon else
                str(rng.choice(["fluid", "chyme", "gas", "mixed", "collapsed"],
                               p=[0.35, 0.25, 0.1, 0.2, 0.1])))
        paint(m_, "smooth")
        lumen = m_ & (d_ > rng.uniform(1.5, 3.0) * k)
        if kind == "collapsed":
            paint(lumen, "mucosa")
            paint(m_ & (d_ > 0.6 * d_.max()), "mucus")
            continue
        paint(lumen, {"fluid": "fluid", "chyme": "chyme", "gas": "gas", "stool": "stool",
                      "mixed": "fluid"}[kind])
        if kind == "mixed":
            xs_ = gx[lumen]
            lvl = np.quantile(xs_, rng.uniform(0.2, 0.6)) if xs_.size else 0
            paint(lumen & (gx < lvl), "gas")
        if kind == "stool":
            blobs = ndimage.gaussian_filter(rng.normal(size=cv.shape).astype(np.float32), 3)
            paint(lumen & (blobs > 0.25 * blobs[lumen].std() * 3), "gas")
    for _ in range(int(rng.integers(4, 12))):
        if not free_idx.size:
            break
        j = free_idx[int(rng.integers(free_idx.size))]
        vessels.append((None, np.array([xx.flat[j], yy.flat[j]]), rng.uniform(1.2, 3.0)))
    # vessels (body frame ones first)
    for ves in vessels:
        if ves[0] is None:
            m_ = cv.poly(ves[1] + superellipse((0, 0), ves[2], ves[2] * 0.9, 0.0)) & free
        else:
            m_ = ell(ves[0], ves[1], ves[2], rng.uniform(0, 180)) & ~organs & ~bones & body
        paint(m_, "blood")
    # --- sigmoid (same bowel as the rectum, not labelled)
    _bowel_layers(cv, sig_m, a["sig_content"], a, k, rng, paint, gx)
    # --- organs
    # uterus / vagina
    paint(U, "vagwall", UTERUS)
    dU = cv.inner(U)
    vlum = tube(vag, np.maximum(vr - 3.5, 0.7)) & U
    paint(vlum, "gel" if a["vag_gel"] else "mucus", UTERUS)
    if parts:
        cerv = parts["cervix"] & U
        paint(cerv & ~vlum, "cervix", UTERUS)
        paint(cerv & (dU > 0) & ~vlum & (cv.inner(cerv) <= 2.0 * k), "smooth", UTERUS)
        bodym = parts["body"] & U
        paint(bodym, "myometrium", UTERUS)
        cl = u_geo["body"]
        endo_r = np.interp(np.linspace(0, 1, len(cl)), [0, 0.2, 0.75, 1.0],
                           [0.6, a["endo"] * 0.7, a["endo"], a["endo"] * 0.6])
        paint(tube(cl, endo_r + a["jz"]) & bodym, "jz", UTERUS)
        paint(tube(cl, endo_r) & bodym, "endometrium", UTERUS)
        cax = np.array([u_geo["e"], u_geo["i_os"], cl[3]])
        paint(tube(cax, [1.2, 1.6, 1.0]) & U, "mucus", UTERUS)
        for fm_, fb in parts["fibroids"]:
            paint(fm_ & U, "fibroid", UTERUS)
            if fb["degenerated"]:
                dfb = cv.inner(fm_ & U)
                paint((fm_ & U) & (dfb > 0.5 * dfb.max()), "chyme", UTERUS)
    # bladder
    paint(B, "smooth", BLADDER)
    paint(B & (cv.inner(B) > a["bladder_wall"] * k), "urine", BLADDER)
    # rectum and anal canal
    paint(R, "smooth", RECTUM)
    dR = cv.inner(R)
    ac_zone = tube(np.array([s["av"] + 8 * s["ac_dir"], s["arj"]]), [a["r_ac"] + 3] * 2) & R
    paint(ac_zone & (dR <= 3.0 * k), "int_sph", RECTUM)
    _bowel_layers(cv, R, a["rectal_content"], a, k, rng, paint, gx, lab=RECTUM,
                  wall=a["rect_wall"], collapsed_zone=ac_zone)
    # --- handle points (image mm) and region radii
    hp = {
        "abdwall": (np.array([line_x(wall, -85) - 0.5 * ma, -85.0]), 6.0),
        "bowel": (s["bn"] + np.array([10.0, -a["bladder_h"] - 30.0]), 8.0),
        "sigmoid": (s["rsj"] + np.array(a["sigmoid"][1]), 6.0),
        "bladder_dome": (s["bn"] + 0.7 * a["bladder_h"] * dirv(90 + a["bladder_tilt"]),
                         min(8.0, 0.2 * a["bladder_h"])),
        "bladder_neck": (s["bn"] + np.array([0.0, -3.0]), 4.0),
        "cervix": (s["apex"] - 4 * s["vdir_top"], 5.0),
        "vagina": (vag[nv // 2], 4.0),
        "perineum": (s["pb"], 5.0),
        "rectum_upper": (s["rsj"], 5.0),
        "ampulla": (s["amp"], min(8.0, 0.5 * s["r_amp"])),
        "arj": (s["arj"], 4.0),
        "anal": (s["arj"] + 0.6 * a["ac_len"] * s["ac_dir"], 3.5),
        "levator": (0.5 * (lev[0] + lev[1]), 4.0),
    }
    if u_geo is not None:
        cl = u_geo["body"]
        hp["uterus"] = (cl[int(0.6 * (len(cl) - 1))], min(8.0, 0.5 * a["body_r"]))
    handles = {n: (P(c_[None])[0], r_ * k) for n, (c_, r_) in hp.items()}
    info = {"uterus": None if u_geo is None else {
        "theta_cervix_deg": round(u_geo["theta_c"], 2),
        "theta_body_deg": round(u_geo["theta_b"], 2), "conflicts": u_geo["conflicts"],
        "version_effective": ("anteverted" if u_geo["theta_b"] > 100 else "retroverted"
                              if u_geo["theta_b"] < 80 else "axial")}}
    pivots = {"levator": P(s["coc"][None])[0], "bladder_neck": P(s["sym"][None])[0]}
    return {"tissue": tissue, "label": label, "bones": bones, "body": body, "cv": cv,
            "handles": handles, "pivots": pivots, "placement": P, "info": info,
            "cavity": cavity, "by": by, "skel": s}


def _no_necks(mask: np.ndarray, foot: np.ndarray) -> np.ndarray:
    """One piece without bridges thinner than about one output pixel: the largest piece
    of the morphological opening, grown back inside the mask."""
    if not mask.any():
        return mask
    core = largest(ndimage.binary_opening(mask, structure=foot))
    if not core.any():
        return largest(mask)
    return largest(mask & ndimage.binary_dilation(core, structure=foot))


def _bowel_layers(cv, mask, content, a, k, rng, paint, gx, lab=None, wall=3.0,
                  collapsed_zone=None):
    """Wall, mucosa and lumen content of a bowel segment (rectum or sigmoid)."""
    if not mask.any():
        return
    d = cv.inner(mask)
    paint(mask & (d <= wall * k) if lab is None else np.zeros_like(mask), "smooth", lab)
    lum_d = (wall + 1.5) * k
    paint(mask & (d > wall * k), "mucosa", lab)
    lumen = mask & (d > lum_d)
    if collapsed_zone is not None:
        lumen &= ~collapsed_zone | (d > 0.8 * d[collapsed_zone].max() if collapsed_zone.any()
                                    else False)
    if content == "gel":
        paint(lumen, "gel", lab)
        if rng.random() < 0.5 and lumen.any():
            xs_ = gx[lumen]
            paint(lumen & (gx < np.quantile(xs_, rng.uniform(0.03, 0.15))), "gas", lab)
    elif content == "stool":
        paint(lumen, "stool", lab)
        blobs = ndimage.gaussian_filter(rng.normal(size=mask.shape).astype(np.float32), 2.5)
        if lumen.any():
            thr = np.quantile(blobs[lumen], rng.uniform(0.7, 0.9))
            paint(lumen & (blobs > thr), "gas", lab)
    elif content == "gas":
        paint(lumen, "gas", lab)
    else:  # empty / collapsed: a little mucus and gas
        if lumen.any():
            paint(lumen, "mucus", lab)
            xs_ = gx[lumen]
            paint(lumen & (gx < np.quantile(xs_, rng.uniform(0.2, 0.6))), "gas", lab)


# ----------------------------------------------------------------------------- skinning

class Skinning:
    """Harmonic weights on a coarse grid and the linear-blend map of the handles."""

    def __init__(self, scene: dict, fov_mm):
        cv = scene["cv"]
        self.g = COARSE_MM
        self.gh = int(math.ceil(fov_mm[0] / self.g)) + 2
        self.gw = int(math.ceil(fov_mm[1] / self.g)) + 2
        ys = np.arange(self.gh) * self.g - self.g
        xs = np.arange(self.gw) * self.g - self.g
        self.X, self.Y = np.meshgrid(xs, ys)
        self.ys, self.xs = ys, xs
        # fine masks sampled at the coarse nodes
        r, c = cv.rc(np.c_[self.X.ravel(), self.Y.ravel()])
        ri = np.clip(np.rint(r).astype(int), 0, cv.shape[0] - 1)
        ci = np.clip(np.rint(c).astype(int), 0, cv.shape[1] - 1)
        bones = scene["bones"][ri, ci].reshape(self.gh, self.gw)
        cavity = scene["cavity"][ri, ci].reshape(self.gh, self.gw)
        names = [n for n in HANDLES if n in ("fixed", "breath") or n in scene["handles"]]
        self.names = names
        cons = np.full((self.gh, self.gw), -1, int)
        # breathing: the upper abdominal cavity (top 30 mm of the field of view)
        far = ndimage.distance_transform_edt(~bones) * self.g > 15.0
        breath = cavity & (self.Y < 30.0) & far
        cons[breath] = names.index("breath")
        bones_near = ndimage.binary_dilation(bones, iterations=2)
        cons[breath] = names.index("breath")
        for n, (pt, rad) in scene["handles"].items():
            d = np.hypot(self.X - pt[0], self.Y - pt[1])
            m = d <= max(rad, 0.75 * self.g)
            if not m.any():
                m = d == d.min()
            if (bones_near & m).any():
                continue  # a handle next to bone stays attached to the fixed handle
            cons[m & (cons == -1)] = names.index(n)
        cons[bones] = 0
        n_all = self.gh * self.gw
        idx = np.arange(n_all).reshape(self.gh, self.gw)
        rows, cols = [], []
        for a_, b_ in ((idx[:, :-1], idx[:, 1:]), (idx[:-1, :], idx[1:, :])):
            rows += [a_.ravel(), b_.ravel()]
            cols += [b_.ravel(), a_.ravel()]
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        adj = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_all, n_all))
        lap = sparse.diags(np.asarray(adj.sum(1)).ravel()) - adj
        cflat = cons.ravel()
        fixed = cflat >= 0
        kk = len(names)
        wc = np.zeros((int(fixed.sum()), kk))
        wc[np.arange(wc.shape[0]), cflat[fixed]] = 1.0
        # bi-harmonic energy (L^T L): weights are smooth at the handle discs (a plain
        # harmonic field has a logarithmic cusp there, which folds the map)
        lap = lap.tocsr()
        quad = (lap.T @ lap).tocsr()
        qff = quad[~fixed][:, ~fixed].tocsc()
        qfc = quad[~fixed][:, fixed]
        wf = splu(qff).solve(-(qfc @ wc))
        w = np.zeros((n_all, kk))
        w[fixed] = wc
        w[~fixed] = wf
        w = np.clip(w, 0, None)
        w /= w.sum(1, keepdims=True)
        self.W = w  # (N, K)
        self.cons = cons
        self.body = scene["body"][ri, ci]

    def forward(self, A: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Forward map of the coarse nodes (gh, gw, 2) for per-handle affines A (K,2,2), b."""
        Af = np.einsum("nk,kij->nij", self.W, A)
        bf = self.W @ b
        pts = np.c_[self.X.ravel(), self.Y.ravel()]
        return (np.einsum("nij,nj->ni", Af, pts) + bf).reshape(self.gh, self.gw, 2)

    def _interp(self, field, x, y):
        fi = (y - self.ys[0]) / self.g
        fj = (x - self.xs[0]) / self.g
        i0 = np.clip(np.floor(fi).astype(int), 0, self.gh - 2)
        j0 = np.clip(np.floor(fj).astype(int), 0, self.gw - 2)
        ty = np.clip(fi - i0, 0, 1)[..., None]
        tx = np.clip(fj - j0, 0, 1)[..., None]
        return ((1 - ty) * ((1 - tx) * field[i0, j0] + tx * field[i0, j0 + 1])
                + ty * ((1 - tx) * field[i0 + 1, j0] + tx * field[i0 + 1, j0 + 1]))

    def inverse(self, fwd: np.ndarray, init=None, iters: int = 30):
        """Rest position of every coarse node (backward map) by fixed-point iteration
        x <- x + J(x)^-1 (y - F(x)) with the interpolated forward Jacobian J (a Newton
        step; damped by 0.9); returns positions (gh, gw, 2) and the max residual (mm) of
        nodes whose rest position lies inside the grid."""
        y = np.stack([self.X, self.Y], -1)
        disp = fwd - y
        jac = np.stack([np.gradient(fwd[..., 0], self.g, axis=1),
                        np.gradient(fwd[..., 0], self.g, axis=0),
                        np.gradient(fwd[..., 1], self.g, axis=1),
                        np.gradient(fwd[..., 1], self.g, axis=0)], -1)
        field = np.concatenate([disp, jac], -1)
        x = y.copy() if init is None else init.copy()
        res = np.inf
        lo = np.array([self.xs[0], self.ys[0]])
        hi = np.array([self.xs[-1], self.ys[-1]])
        for _ in range(iters):
            f = self._interp(field, x[..., 0], x[..., 1])
            r = y - (x + f[..., :2])
            a11, a12, a21, a22 = f[..., 2], f[..., 3], f[..., 4], f[..., 5]
            det = a11 * a22 - a12 * a21
            det = np.where(np.abs(det) < 0.05, 0.05, det)
            dx = (a22 * r[..., 0] - a12 * r[..., 1]) / det
            dy = (-a21 * r[..., 0] + a11 * r[..., 1]) / det
            x[..., 0] += 0.9 * dx
            x[..., 1] += 0.9 * dy
            inside = np.all((x >= lo) & (x <= hi), -1)
            res = float(np.abs(r[inside]).max()) if inside.any() else 0.0
            if res < 0.02:
                break
        return x, res

    def jac_det(self, fwd: np.ndarray) -> np.ndarray:
        dxx = np.gradient(fwd[..., 0], self.g, axis=1)
        dxy = np.gradient(fwd[..., 0], self.g, axis=0)
        dyx = np.gradient(fwd[..., 1], self.g, axis=1)
        dyy = np.gradient(fwd[..., 1], self.g, axis=0)
        return dxx * dyy - dxy * dyx


def regularize_motion(scene: dict, motion: dict, names: list[str], lam: float = 0.45) -> float:
    """Limit the compression between neighbouring handles (and between a handle and bone)
    at full strain and full squeeze: the relative displacement along the line joining two
    handle discs may not exceed `lam` times the gap between them.  Rewrites the strain
    translations (body frame) and returns the largest correction in mm."""
    P = scene["placement"]
    k = P.k
    hn = [n for n in names if n in scene["handles"]]
    cen = np.array([scene["handles"][n][0] for n in hn])
    rad = np.array([scene["handles"][n][1] for n in hn])
    u = np.zeros((len(hn), 2))
    for i, n in enumerate(hn):
        hs = motion["strain"].get(n, {"t": [0.0, 0.0], "rot": 0.0})
        pivot = scene["pivots"].get(n, cen[i]) if n == "levator" else cen[i]
        rot = rotm(hs["rot"])
        u[i] = P.vec(hs["t"]) * k + (rot - np.eye(2)) @ (cen[i] - pivot)
    u0 = u.copy()
    squeeze = any(e["kind"] == "squeeze" for e in motion["episodes"])
    neg = lam / motion["squeeze_factor"] if squeeze else 2.5 * lam
    # nearest bone point of each handle
    bones = scene["bones"]
    cv = scene["cv"]
    d_b, (ir, ic) = ndimage.distance_transform_edt(~bones, sampling=(cv.dr, cv.dc),
                                                   return_indices=True)
    r_, c_ = cv.rc(cen)
    ri = np.clip(np.rint(r_).astype(int), 0, bones.shape[0] - 1)
    ci = np.clip(np.rint(c_).astype(int), 0, bones.shape[1] - 1)
    bone_pt = np.c_[(ic[ri, ci] - cv.off) * cv.dc, (ir[ri, ci] - cv.off) * cv.dr]
    for _ in range(60):
        worst = 0.0
        for i in range(len(hn)):
            for j in range(-1, len(hn)):
                if j == i:
                    continue
                if j < 0:
                    d = bone_pt[i] - cen[i]
                    uj = np.zeros(2)
                    gap = max(np.hypot(*d) - rad[i], 3.0)
                else:
                    d = cen[j] - cen[i]
                    uj = u[j]
                    gap = max(np.hypot(*d) - rad[i] - rad[j], 3.0)
                if gap > 120:
                    continue
                e = d / max(np.hypot(*d), 1e-6)
                rel = float((u[i] - uj) @ e)
                exc = rel - lam * gap if rel > 0 else rel + neg * gap
                if (rel > 0 and exc <= 0) or (rel <= 0 and exc >= 0):
                    continue
                worst = max(worst, abs(exc))
                if j < 0:
                    u[i] -= exc * e
                else:
                    u[i] -= 0.5 * exc * e
                    u[j] += 0.5 * exc * e
        if worst < 0.05:
            break
    rinv = P.r.T
    for i, n in enumerate(hn):
        if n not in motion["strain"]:
            continue
        du = (u[i] - u0[i]) / k
        t = np.array(motion["strain"][n]["t"], float) + rinv @ du
        motion["strain"][n]["t"] = t.round(3).tolist()
    return float(np.abs(u - u0).max()) if len(hn) else 0.0


def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def curves(motion: dict, times: np.ndarray) -> dict:
    """strain (+) / squeeze (-) curve, evacuation progress, anal opening, breathing."""
    t = np.asarray(times, float)
    c = np.zeros_like(t)
    evac = np.zeros_like(t)
    opening = np.zeros_like(t)
    for e in motion["episodes"]:
        up = _smooth((t - e["start"]) / max(e["ramp"], 1e-6))
        t_rel = e["start"] + e["ramp"] + e["hold"]
        down = _smooth((t - t_rel) / max(e["release"], 1e-6))
        env = e["level"] * (up - down)
        c += -env if e["kind"] == "squeeze" else env
        if "evacuate" in e:
            prog = _smooth((t - e["start"] - e["ramp"]) / max(e["hold"], 1e-6))
            evac = np.maximum(evac, e["evacuate"] * prog)
            opening = np.maximum(opening, (up - down) * np.sin(np.pi * np.clip(prog, 0, 1))
                                 ** 0.5)
    breath = np.sin(2 * np.pi * t / motion["breath_period_s"] + motion["breath_phase"])
    breath = breath * (1 - 0.7 * np.clip(np.abs(c), 0, 1))
    return {"c": np.clip(c, -1, 1), "evac": evac, "open": opening, "breath": breath}


def handle_transforms(scene, motion, names, cvals, amp: float):
    """Affine (A, b) per handle in image mm for one time point."""
    P = scene["placement"]
    k = P.k
    c, ev, op, br = cvals
    strain, squeeze = max(c, 0.0), max(-c, 0.0)
    kk = len(names)
    A = np.tile(np.eye(2), (kk, 1, 1))
    b = np.zeros((kk, 2))
    sq = motion["squeeze_factor"]
    for i, n in enumerate(names):
        if n == "fixed":
            continue
        if n == "breath":
            b[i] = P.vec([0.0, motion["breath_mm"] * br]) * k
            continue
        centre = scene["handles"][n][0]
        hs = motion["strain"].get(n, {"t": [0.0, 0.0], "rot": 0.0})
        tvec = np.array(hs["t"], float)
        rot = hs["rot"]
        t_body = amp * (strain * tvec - squeeze * sq * tvec)
        rot_deg = amp * (strain * rot - squeeze * sq * rot)
        if n == "arj":
            t_body = t_body + amp * squeeze * np.array([-motion["squeeze_arj_mm"], -2.0])
        if n in ("abdwall", "bowel", "sigmoid"):
            t_body = amp * strain * tvec
        scale = np.eye(2)
        if n == "ampulla" and ev > 0:
            sfac = 1.0 - amp * motion["ampulla_shrink"] * ev / 0.85
            scale = np.eye(2) * max(sfac, 0.4)
        if n == "anal" and op > 0:
            ax = P.vec(scene["skel"]["ac_dir"])
            perp = np.array([-ax[1], ax[0]])
            scale = np.eye(2) + amp * motion["anal_open"] * op * np.outer(perp, perp)
        pivot = scene["pivots"].get(n, centre) if n == "levator" else centre
        R = rotm(rot_deg)
        Am = R @ scale
        t_img = P.vec(t_body) * k
        A[i] = Am
        b[i] = pivot + t_img - Am @ pivot
    return A, b


# ----------------------------------------------------------------------------- imaging

def tissue_signals(im: dict, rng: np.random.Generator):
    """Water and fat signal per tissue class for the case's sequence."""
    props = np.array([TISSUES[n] for n in TNAMES], float)
    jit = np.exp(rng.normal(0.0, im["tissue_jitter"], size=(len(TNAMES), 4)))
    pd = props[:, 0] * jit[:, 0]
    t1 = props[:, 1] * jit[:, 1] * (1.25 if im["field_T"] > 2 else 1.0)
    t2 = props[:, 2] * jit[:, 2] * (0.92 if im["field_T"] > 2 else 1.0)
    t2s = props[:, 3] * jit[:, 3] * (0.6 if im["field_T"] > 2 else 1.0)
    ff = props[:, 4]
    fat_t1, fat_t2, fat_t2s = 280.0 * jit[1, 1], 75.0 * jit[1, 2], 40.0 * jit[1, 3]
    seq = im["sequence"]
    if seq in ("ssfse_t2", "fse_pd"):
        fat_t2 = fat_t2 * im["fat_t2_fse_factor"]

    def sig(pd_, t1_, t2_, t2s_):
        tr, te, al = im["TR"], im["TE"], math.radians(im["flip"])
        e1 = np.exp(-tr / t1_)
        if seq in ("ssfse_t2", "fse_pd"):
            return pd_ * (1 - e1) * np.exp(-te / t2_)
        if seq == "bssfp":
            e2 = np.exp(-tr / t2_)
            return (pd_ * math.sin(al) * (1 - e1) / (1 - (e1 - e2) * math.cos(al) - e1 * e2)
                    * np.exp(-te / t2_))
        return pd_ * math.sin(al) * (1 - e1) / (1 - math.cos(al) * e1) * np.exp(-te / t2s_)

    water = sig(pd * (1 - ff), t1, t2, t2s)
    fat = sig(pd * ff, fat_t1, fat_t2, fat_t2s)
    gas = [TI["air"], TI["gas"]]
    water[gas] = 0.0
    fat[gas] = 0.0
    water[TI["blood"]] *= im["flow_factor"]
    return water.astype(np.float32), fat.astype(np.float32)


def bssfp_profile(im: dict, theta: np.ndarray) -> np.ndarray:
    """Relative bSSFP magnitude vs off-resonance precession per TR (steady state of the
    Bloch equations with alternating RF phase), for a T1 1000 ms / T2 100 ms tissue."""
    tr, al = im["TR"], math.radians(im["flip"])
    e1, e2 = math.exp(-tr / 1000.0), math.exp(-tr / 100.0)
    rx = np.array([[1, 0, 0], [0, math.cos(al), math.sin(al)], [0, -math.sin(al), math.cos(al)]])
    relax = np.diag([e2, e2, e1])
    out = np.empty(theta.shape)
    for i, th in enumerate(theta.ravel()):
        ph = th + np.pi
        rz = np.array([[math.cos(ph), math.sin(ph), 0], [-math.sin(ph), math.cos(ph), 0],
                       [0, 0, 1]])
        m = np.linalg.solve(np.eye(3) - rx @ relax @ rz, rx @ np.array([0, 0, 1 - e1]))
        out.flat[i] = math.hypot(m[0], m[1])
    ref = out.flat[int(np.argmin(np.abs(np.angle(np.exp(1j * theta.ravel())))))]
    return out / max(ref, 1e-9)


class Imager:
    """Per-case scanner: static maps (B0, coils, g-factor, k-space filter)."""

    def __init__(self, im: dict, shape, spacing, scene, rng):
        self.im = im
        h, w = shape
        self.shape = shape
        yy = (np.arange(h) - (h - 1) / 2) / ((h - 1) / 2)
        xx = (np.arange(w) - (w - 1) / 2) / ((w - 1) / 2)
        X, Y = np.meshgrid(xx, yy)
        f0, gx, gy, q = im["b0_hz"]
        fs = 2.0 if im["field_T"] > 2 else 1.0
        b0 = fs * (f0 + gx * X + gy * Y + q * (X ** 2 + Y ** 2) - 0.5 * q)
        self.b0 = b0
        fat_hz = -3.4e-6 * 42.58e6 * im["field_T"]
        self.fat_phase = 0.0
        if im["sequence"] in ("bssfp", "spgr_t1"):
            self.fat_phase = 2 * np.pi * fat_hz * im["TE"] * 1e-3
        fatfac = np.ones(shape)
        if im["fat_sat"]:
            r0 = im["fatsat_residual"]
            fatfac = r0 + (1 - r0) * (1 - np.exp(-(b0 / im["fatsat_width_hz"]) ** 2))
        self.fatfac = np.kron(fatfac, np.ones((SUPER, SUPER))).astype(np.float32)
        # chemical shift along the readout, in fine pixels
        shift_px = abs(fat_hz) / im["bw_px"] * SUPER
        self.fat_shift = int(round(shift_px))
        self.ro_axis = 0 if im["phase_dir"] == "AP" else 1
        self.pe_axis = 1 - self.ro_axis
        self.band = np.ones(shape)
        if im["sequence"] == "bssfp":
            theta_tab = np.linspace(-np.pi, np.pi, 181)
            prof = bssfp_profile(im, theta_tab)
            th = np.angle(np.exp(1j * 2 * np.pi * b0 * im["TR"] * 1e-3))
            self.band = np.interp(th, theta_tab, prof)
        # k-space filter
        ky = np.fft.fftfreq(h)[:, None] * 2
        kx = np.fft.fftfreq(w)[None, :] * 2
        kpe, kro = (kx, ky) if self.pe_axis == 1 else (ky, kx)
        fpe, fro = im["kspace_pe"], im["kspace_ro"]
        filt = (np.abs(kpe) <= fpe) & (np.abs(kro) <= fro)
        filt = filt.astype(float)
        if im["kspace_window"] == "hann":
            filt *= (0.5 + 0.5 * np.cos(np.pi * np.clip(np.abs(kpe) / fpe, 0, 1))) * (
                0.5 + 0.5 * np.cos(np.pi * np.clip(np.abs(kro) / fro, 0, 1)))
        elif im["kspace_window"] == "tukey":
            ramp = np.clip((np.abs(kpe) / fpe - 0.75) / 0.25, 0, 1)
            filt *= 0.5 + 0.5 * np.cos(np.pi * ramp)
        if im["fse_blur"] > 0:
            filt *= np.exp(-im["fse_blur"] * np.abs(kpe))
        self.kfilt = filt
        # coils around the body
        sr, sc = spacing
        gy_mm = np.arange(h)[:, None] * sr
        gx_mm = np.arange(w)[None, :] * sc
        body = scene["body"][::SUPER, ::SUPER][:h, :w]
        cols = np.where(body.any(0))[0]
        rows = np.where(body.any(1))[0]
        x_ant = cols.min() * sc if cols.size else 0.0
        x_post = cols.max() * sc if cols.size else w * sc
        y0, y1 = (rows.min() * sr, rows.max() * sr) if rows.size else (0.0, h * sr)
        nc = im["n_coils"]
        n_ant = nc // 2
        self.coils = []
        for j in range(nc):
            ant = j < n_ant
            nn = n_ant if ant else nc - n_ant
            jj = j if ant else j - n_ant
            cy = y0 + (y1 - y0) * (jj + 0.5) / nn + rng.uniform(-15, 15)
            cx = (x_ant - rng.uniform(5, 25)) if ant else (x_post + rng.uniform(0, 15))
            d2 = (gx_mm - cx) ** 2 + (gy_mm - cy) ** 2 + im["coil_depth_mm"] ** 2
            mag = (1 + d2 / im["coil_rho_mm"] ** 2) ** -1.5 + im["coil_floor"]
            phase = rng.uniform(0, 2 * np.pi) + rng.uniform(-1, 1) * gx_mm / 200 + rng.uniform(
                -1, 1) * gy_mm / 200
            self.coils.append((mag * np.exp(1j * phase)).astype(np.complex64))
        self.coils = np.array(self.coils)
        norm = np.sqrt((np.abs(self.coils) ** 2).sum(0)).max()
        self.coils /= norm
        gmap = np.ones(shape)
        if im["parallel_R"] > 1:
            cy_, cx_ = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
            rr = ((np.arange(h)[:, None] - cy_) ** 2 + (np.arange(w)[None, :] - cx_) ** 2)
            gmap = 1 + (im["g_max"] - 1) * np.exp(-rr / (2 * (0.25 * max(h, w)) ** 2))
        self.gmap = gmap
        self.sigma = None

    def clean(self, water_f, fat_f) -> np.ndarray:
        """Noise-free complex image from the warped fine water / fat images."""
        fat = fat_f * self.fatfac
        if self.fat_shift:
            fat = np.roll(fat, self.fat_shift, axis=self.ro_axis)
        m = water_f + fat * np.exp(1j * self.fat_phase)
        h, w = self.shape
        m = m.reshape(h, SUPER, w, SUPER).mean(axis=(1, 3))
        m = np.fft.ifft2(np.fft.fft2(m) * self.kfilt)
        return m * self.band

    def acquire(self, m: np.ndarray, rng: np.random.Generator, ghost_amp: float) -> np.ndarray:
        im = self.im
        if im["ghost"] and ghost_amp > 0:
            n = self.shape[self.pe_axis]
            sh = int(round(im["ghost_shift"] * n))
            m = m + ghost_amp * (np.roll(m, sh, axis=self.pe_axis)
                                 + 0.5 * np.roll(m, -sh, axis=self.pe_axis)) * np.exp(1j * 0.7)
        coil_img = self.coils * m[None]
        coil_img = coil_img.astype(np.complex64)
        sig = (self.sigma * self.gmap).astype(np.float32)[None]
        coil_img.real += rng.standard_normal(coil_img.shape, dtype=np.float32) * sig
        coil_img.imag += rng.standard_normal(coil_img.shape, dtype=np.float32) * sig
        return np.sqrt((np.abs(coil_img) ** 2).sum(0))


# ----------------------------------------------------------------------------- generate

def _texture(rng, cv, tissue, im):
    f1 = ndimage.gaussian_filter(rng.normal(size=cv.shape).astype(np.float32),
                                 im["texture_scale_mm"][0] / cv.dr)
    f2 = ndimage.gaussian_filter(rng.normal(size=cv.shape).astype(np.float32),
                                 im["texture_scale_mm"][1] / cv.dr)
    f1 /= max(float(f1.std()), 1e-6)
    f2 /= max(float(f2.std()), 1e-6)
    amp = np.zeros(len(TNAMES), np.float32)
    for n, v in TEXTURE.items():
        amp[TI[n]] = v
    a = amp[tissue]
    return np.clip(1 + a * (0.6 * f1 + 0.8 * f2), 0.2, 2.5).astype(np.float32)


def generate(seed: int, matrix=None, n_frames=None):
    """One case: (CineSeries, truth uint8 (T, H, W), params)."""
    p = draw_params(seed, matrix, n_frames)
    rng = np.random.default_rng([int(seed), 0xB0D7])
    h, w = p["matrix"]
    sr, sc = p["spacing_mm"]
    n = p["n_frames"]
    times = np.linspace(0.0, p["duration_s"], n) if n > 1 else np.zeros(1)
    scene = build_scene(p, rng)
    cv = scene["cv"]
    sk = Skinning(scene, (h * sr, w * sc))
    cur = curves(p["motion"], times)
    p["motion"]["regularized_mm"] = round(regularize_motion(scene, p["motion"], sk.names), 3)
    # amplitude guard: no fold of the forward map inside the body
    amp = 1.0
    for _ in range(8):
        worst = np.inf
        for i in range(n):
            A, b = handle_transforms(scene, p["motion"], sk.names,
                                     (cur["c"][i], cur["evac"][i], cur["open"][i],
                                      cur["breath"][i]), amp)
            worst = min(worst, float(sk.jac_det(sk.forward(A, b))[
                sk.body.reshape(sk.gh, sk.gw)].min()))
        if worst > 0.3:
            break
        amp *= 0.8
    p["motion"]["amplitude"] = round(amp, 4)
    p["motion"]["min_jacobian"] = round(worst, 4)
    # rest-frame signal images
    im = p["imaging"]
    water_t, fat_t = tissue_signals(im, rng)
    tex = _texture(rng, cv, scene["tissue"], im)
    water_rest = water_t[scene["tissue"]] * tex
    fat_rest = fat_t[scene["tissue"]] * (0.5 + 0.5 * tex)
    imager = Imager(im, (h, w), (sr, sc), scene, rng)
    # upsampling matrices coarse -> fine render grid and -> output pixel centres
    fy = (np.arange(h * SUPER) - cv.off) * cv.dr
    fx = (np.arange(w * SUPER) - cv.off) * cv.dc
    oy, ox = np.arange(h) * sr, np.arange(w) * sc
    my_f, mx_f = _interp_matrix(sk.ys, fy), _interp_matrix(sk.xs, fx)
    my_o, mx_o = _interp_matrix(sk.ys, oy), _interp_matrix(sk.xs, ox)
    frames = np.empty((n, h, w), np.float32)
    truth = np.empty((n, h, w), np.uint8)
    init = None
    max_res = 0.0
    clean_ref = None
    ghost_amps = im["ghost_amp"] * (0.5 + rng.random(n))
    for i in range(n):
        A, b = handle_transforms(scene, p["motion"], sk.names,
                                 (cur["c"][i], cur["evac"][i], cur["open"][i], cur["breath"][i]),
                                 amp)
        src, res = sk.inverse(sk.forward(A, b), init)
        init = src
        max_res = max(max_res, res)
        sx_f = (mx_f @ (my_f @ src[..., 0]).T).T
        sy_f = (mx_f @ (my_f @ src[..., 1]).T).T
        r_f, c_f = sy_f / cv.dr + cv.off, sx_f / cv.dc + cv.off
        coords = np.stack([r_f, c_f])
        wat = ndimage.map_coordinates(water_rest, coords, order=1, mode="nearest",
                                      output=np.float32)
        fat = ndimage.map_coordinates(fat_rest, coords, order=1, mode="nearest",
                                      output=np.float32)
        sx_o = (mx_o @ (my_o @ src[..., 0]).T).T
        sy_o = (mx_o @ (my_o @ src[..., 1]).T).T
        truth[i] = ndimage.map_coordinates(scene["label"],
                                           np.stack([sy_o / cv.dr + cv.off,
                                                     sx_o / cv.dc + cv.off]),
                                           order=0, mode="nearest")
        m = imager.clean(wat, fat)
        if clean_ref is None:
            clean_ref = m
            body_o = scene["body"][::SUPER, ::SUPER][:h, :w]
            comb = np.sqrt((np.abs(imager.coils * m[None]) ** 2).sum(0))
            level = float(np.median(comb[body_o & (comb > 0.05 * comb.max())]))
            imager.sigma = level / im["snr"]
        frames[i] = imager.acquire(m, rng, ghost_amps[i]) * (
            1 + im["frame_jitter"] * rng.standard_normal())
    scale = im["scale_max"] / max(float(np.percentile(frames, 99.9)), 1e-9)
    frames *= scale
    if im["integer"]:
        frames = np.clip(np.rint(frames), 0, 65535)
    frames = frames.astype(np.float32)
    p["motion"]["inverse_residual_mm"] = round(max_res, 4)
    p["motion"]["curve_strain"] = np.round(cur["c"], 4).tolist()
    p["motion"]["peak_frame"] = int(np.argmax(np.abs(cur["c"]) + cur["evac"]))
    p["uterus_geometry"] = scene["info"]["uterus"]
    p["imaging"]["noise_sigma_rel"] = round(1.0 / im["snr"], 5)
    desc = {"ssfse_t2": "dyn sag pelvic floor (t2 haste)", "fse_pd": "dyn sag pelvic floor (pd)",
            "bssfp": "dyn sag pelvic floor (bssfp)", "spgr_t1": "dyn sag pelvic floor (t1)"}
    meta = {"series_description": desc[im["sequence"]], "orientation": "sagittal (canonical)",
            "subject_id": f"skinning_{seed:03d}", "format": "synthetic"}
    series = CineSeries(frames=frames, spacing_mm=(sr, sc), times_s=times, meta=meta)
    return series, truth, _jsonable(p)


def _interp_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Linear interpolation matrix from samples at `src` (uniform) to positions `dst`."""
    g = src[1] - src[0]
    f = (dst - src[0]) / g
    i0 = np.clip(np.floor(f).astype(int), 0, len(src) - 2)
    t = np.clip(f - i0, 0, 1)
    rows = np.r_[np.arange(len(dst)), np.arange(len(dst))]
    return sparse.csr_matrix((np.r_[1 - t, t], (rows, np.r_[i0, i0 + 1])),
                             shape=(len(dst), len(src)))


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return float(round(float(x), 6))
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def write_case(job) -> str:
    seed, out = job
    series, truth, params = generate(seed)
    case_dir = Path(out) / f"{GENERATOR}_{seed:03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=seed,
                       patient_name=f"SKINNING^{seed:03d}", patient_id=f"skinning_{seed:03d}",
                       slice_thickness_mm=params["imaging"]["slice_mm"])
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    h, w = params["matrix"]
    return (f"{case_dir.name}: {params['n_frames']}x{h}x{w} {params['imaging']['sequence']} "
            f"{params['motion']['maneuver']} hyst={params['hysterectomy']} "
            f"amp={params['motion']['amplitude']}")


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
