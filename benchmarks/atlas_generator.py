"""Atlas generator: labelled synthetic cine mid-sagittal female pelvic MRI from hand-made
template pelves, warped by random diffeomorphic B-spline deformations and a low-dimensional
pelvic-floor motion model.

How a case is made
    1. ``sample_params(seed)`` draws every case choice (template, organ sizes, pathologies,
       manoeuvre, motion-mode weights, sequence, matrix, spacing, field of view ...).
    2. ``render(params)`` paints the chosen template on a 1 mm canonical grid (tissue classes
       and organ labels), with per-organ scaling (bladder filling, uterus size/version,
       rectal content), random bowel loops, vessels and pelvic-floor muscles, then gives every
       tissue a signal for the chosen sequence family, with texture.
    3. Each frame samples that canonical image through one backward map: acquisition affine
       (spacing, rotation, off-centre) -> inverse subject B-spline deformation -> inverse
       motion at time t.  Both deformations are stationary velocity fields exponentiated by
       scaling and squaring, so they are invertible (positive Jacobian).  The image is sampled
       linearly, the labels by nearest neighbour through the very same coordinates.
    4. Acquisition effects: low-resolution real-time blur, smooth bias, optional wrap-around
       (aliasing along the phase direction = columns) and ghosting, Rician noise, global scale.

Coordinates (template, mm): x runs anterior -> posterior, y cranial -> caudal; the origin is
the inferior-posterior margin of the pubic symphysis.  Images: row 0 cranial, column 0
anterior.

Label conventions (uint8; 0 background, 1 bladder, 2 uterus_vagina, 3 rectum)
    * bladder: lumen (urine) plus the bladder wall, down to the internal urethral orifice
      (bladder neck).  The urethra is NOT labelled.
    * uterus_vagina: uterine body (myometrium, junctional zone, endometrium, fibroids), cervix
      and vagina (walls and lumen, including intravaginal gel), caudally down to the vaginal
      introitus at the level of the perineal skin; labia/vestibule are not labelled.  After
      hysterectomy only the vagina (closed vault) is labelled.
    * rectum: anal canal (mucosa + internal sphincter, from the anal verge) and rectum (wall
      and content: gas, stool, gel or collapsed mucosa) cranially up to the rectosigmoid
      junction, where the bowel leaves the sacral concavity (about S3).  The sigmoid, external
      anal sphincter, puborectalis and levator plate are not labelled.
    * All three organs are present in every frame of every case; each is one connected piece
      (small fragments that nearest-neighbour sampling may cut off are removed from the labels).
    * Labels are exclusive; bones painted last trim any organ overlapping them.

Pathologies (motion modes that act on strain): cystocele (bladder base below the
pubococcygeal line), rectocele (anterior rectal wall bulge), enterocele (small bowel loop from
the pouch of Douglas descending between vagina and rectum), uterine (or vault) prolapse.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

PREFIX = "atlas"
# canonical grid (mm)
X0, X1, Y0, Y1 = -140.0, 240.0, -350.0, 110.0
GW, GH = int(X1 - X0), int(Y1 - Y0)
CSTEP = 4.0  # coarse grid for velocity fields (mm)
CX = np.arange(X0, X1 + CSTEP, CSTEP)
CY = np.arange(Y0, Y1 + CSTEP, CSTEP)

(AIR, FAT, MUSCLE, CORTEX, MARROW, URINE, BWALL, MYO, ENDO, JZ, CERVIX, VWALL, VLUMEN, RWALL,
 BOWWALL, BOWFLUID, GAS, CSF, DISC, VESSEL, SKIN, FIBROID, URETHRA, SPHINCTER, CHYME, NUCLEUS,
 FIBROCART, GEL, STOOL, MUCUS) = range(30)
N_TISSUE = 30

SEQUENCES = ("t2_haste", "bssfp", "t1_gre", "pd_tse")
SEQ_P = (0.4, 0.3, 0.15, 0.15)
# signal ranges per sequence family, tissue order as above
_LEVELS = {
    "t2_haste": [(0, .01), (.55, .8), (.1, .2), (.02, .05), (.4, .6), (.85, 1), (.15, .25),
                 (.4, .6), (.7, .9), (.12, .22), (.12, .25), (.25, .4), (.15, .3), (.2, .35),
                 (.25, .4), (.6, .95), (0, .03), (.85, 1), (.2, .35), (.03, .2), (.25, .4),
                 (.06, .18), (.2, .35), (.1, .2), (.3, .6), (.5, .75), (.1, .2), (.75, .95),
                 (.2, .45), (.3, .5)],
    "bssfp": [(0, .01), (.7, .95), (.1, .2), (.02, .05), (.5, .7), (.85, 1), (.15, .25),
              (.35, .5), (.55, .75), (.15, .25), (.15, .25), (.25, .4), (.2, .35), (.2, .3),
              (.2, .35), (.75, 1), (0, .03), (.85, 1), (.2, .3), (.7, .95), (.3, .45),
              (.08, .18), (.2, .3), (.1, .2), (.3, .6), (.5, .7), (.1, .2), (.8, 1),
              (.25, .45), (.35, .55)],
    "t1_gre": [(0, .01), (.8, 1), (.25, .35), (.02, .05), (.65, .85), (.05, .12), (.25, .35),
               (.3, .42), (.25, .35), (.28, .38), (.28, .38), (.3, .4), (.2, .3), (.28, .38),
               (.3, .4), (.08, .2), (0, .03), (.05, .12), (.2, .3), (.1, .5), (.35, .5),
               (.28, .38), (.3, .38), (.25, .35), (.3, .5), (.15, .25), (.2, .3), (.08, .18),
               (.35, .6), (.2, .3)],
    "pd_tse": [(0, .01), (.75, .95), (.25, .35), (.02, .05), (.65, .8), (.55, .75), (.3, .4),
               (.45, .6), (.55, .7), (.3, .4), (.3, .4), (.4, .5), (.35, .5), (.35, .45),
               (.35, .5), (.55, .75), (0, .03), (.55, .75), (.35, .45), (.05, .3), (.45, .6),
               (.2, .3), (.35, .45), (.25, .35), (.4, .6), (.5, .65), (.25, .35), (.55, .75),
               (.35, .55), (.4, .55)],
}
TEX_AMP = np.full(N_TISSUE, 0.05)
TEX_AMP[[FAT, MARROW]] = 0.08
TEX_AMP[[STOOL, CHYME]] = 0.3
TEX_AMP[[URINE, CSF, GEL, BOWFLUID]] = 0.02
TEX_AMP[[MYO, FIBROID]] = 0.1

PATHOLOGIES = ("cystocele", "rectocele", "enterocele", "prolapse")
PATH_P = (0.3, 0.3, 0.18, 0.18)
MANOEUVRES = ("valsalva", "repeated_strain", "squeeze_strain", "defecation", "cough_strain")

# --------------------------------------------------------------------------- templates
# Hand-drawn mid-sagittal female pelves (mm, x posterior, y caudal, origin inferior symphysis).
_T0 = {
    "name": "gynecoid_nullipara",
    "symph": ((-8, -18), 21, 7, -112),  # centre, half length, half thickness, axis angle
    "sacrum": [(78, -118), (98, -100), (112, -80), (120, -60), (121, -45), (116, -36)],
    "sacrum_thick": [40, 34, 26, 18, 12, 9],
    "coccyx": [(116, -36), (110, -28), (101, -22), (93, -18)],
    "vert": [(98, -297, -8), (92, -259, -5), (88, -221, 0), (88, -183, 8), (93, -146, 20)],
    "body": [(-80, -350), (-78, -260), (-72, -190), (-62, -130), (-50, -80), (-40, -40),
             (-32, -8), (-22, 18), (-6, 36), (14, 46), (35, 55), (60, 60), (84, 58), (108, 48),
             (128, 30), (144, 5), (158, -30), (170, -70), (182, -110), (192, -160),
             (198, -220), (200, -280), (200, -350)],
    "rectus": [(-64, -350), (-62, -260), (-57, -190), (-48, -130), (-36, -80), (-24, -48),
               (-17, -40)],
    "bladder": [(18, -12), (8, -28), (5, -50), (10, -70), (32, -82), (55, -72), (60, -50),
                (50, -30), (38, -22), (26, -14)],
    "neck": (18, -12),
    "urethra": [(18, -12), (16, 5), (13, 20), (10, 34)],
    "vagina": [(22, 44), (30, 20), (42, -5), (54, -28), (62, -42)],
    "cervix": ((63, -50), 15, 12),
    "uterus_av": [(60, -62), (52, -88), (38, -106), (20, -114)],
    "uterus_rv": [(60, -62), (58, -90), (58, -114), (62, -134)],
    "rectum": [(82, 52), (76, 30), (68, 10), (80, -2), (92, -18), (98, -40), (98, -62),
               (92, -85)],
    "rectum_w": [13, 14, 16, 24, 34, 38, 34, 26],
    "levator": [(80, 16), (90, 0), (96, -16)],
    "perineal_body": (48, 34),
    "bowel_floor": [(-80, -85), (0, -80), (40, -80), (70, -70), (85, -95), (110, -120),
                    (150, -130)],
    "spine_front": [(-350, 72), (-190, 62), (-140, 70), (-118, 76), (-90, 96), (-60, 112)],
    "cul_de_sac": (78, -68),
    "coccyx_joint": (101, -22),
}


def _shifted(pts, dx, dy, where=None):
    out = []
    for p in pts:
        if where is None or where(p):
            out.append((p[0] + dx, p[1] + dy) + tuple(p[2:]))
        else:
            out.append(tuple(p))
    return out


def _make_templates():
    t1 = dict(_T0)  # multiparous: wider hiatus, lower bladder neck / ARJ, shallower sacrum
    t1.update({
        "name": "multiparous_wide",
        "sacrum": [(82, -120), (100, -98), (110, -78), (116, -58), (116, -42), (112, -33)],
        "coccyx": [(112, -33), (106, -24), (98, -17), (90, -13)],
        "body": [(-85, -350), (-84, -260), (-80, -190), (-72, -130), (-58, -80), (-46, -40),
                 (-36, -8), (-24, 20), (-8, 40), (14, 50), (36, 60), (62, 65), (88, 62),
                 (110, 52), (130, 34), (146, 8), (160, -30), (172, -70), (184, -110),
                 (194, -160), (200, -220), (202, -280), (202, -350)],
        "bladder": [(20, -8), (8, -26), (4, -48), (10, -68), (34, -78), (58, -68), (62, -46),
                    (52, -24), (40, -16), (28, -10)],
        "neck": (20, -8),
        "urethra": [(20, -8), (17, 8), (13, 24), (9, 38)],
        "vagina": [(24, 50), (34, 24), (46, -2), (57, -26), (64, -40)],
        "cervix": ((65, -48), 16, 13),
        "uterus_av": [(62, -60), (55, -86), (40, -104), (22, -112)],
        "uterus_rv": [(62, -60), (60, -88), (60, -112), (64, -132)],
        "rectum": [(86, 58), (78, 36), (70, 16), (82, 4), (94, -14), (100, -36), (99, -60),
                   (93, -84)],
        "levator": [(82, 22), (90, 4), (94, -10)],
        "perineal_body": (52, 40),
        "coccyx_joint": (98, -17),
    })
    t2 = dict(_T0)  # android / deep sacral curve, lordotic spine, high organs
    t2.update({
        "name": "android_lordotic",
        "symph": ((-9, -19), 22, 6.5, -118),
        "sacrum": [(72, -122), (96, -108), (114, -88), (126, -64), (128, -46), (122, -35)],
        "sacrum_thick": [42, 35, 27, 19, 12, 9],
        "coccyx": [(122, -35), (115, -25), (105, -18), (96, -15)],
        "vert": [(104, -300, -14), (94, -262, -10), (86, -224, -2), (84, -186, 10),
                 (88, -150, 26)],
        "body": [(-70, -350), (-68, -260), (-64, -190), (-56, -130), (-46, -80), (-38, -40),
                 (-30, -8), (-20, 16), (-4, 34), (16, 44), (36, 52), (62, 57), (86, 55),
                 (112, 46), (134, 28), (152, 2), (166, -32), (178, -72), (188, -112),
                 (196, -162), (202, -222), (204, -282), (204, -350)],
        "rectus": [(-54, -350), (-52, -260), (-48, -190), (-42, -130), (-32, -80),
                   (-22, -48), (-17, -40)],
        "bladder": [(16, -14), (7, -30), (4, -54), (10, -76), (30, -88), (52, -80), (58, -56),
                    (48, -34), (36, -24), (24, -16)],
        "neck": (16, -14),
        "urethra": [(16, -14), (15, 3), (12, 18), (9, 32)],
        "vagina": [(20, 42), (28, 18), (40, -8), (52, -32), (60, -46)],
        "cervix": ((61, -55), 14, 12),
        "uterus_av": [(58, -66), (50, -92), (36, -112), (18, -122)],
        "uterus_rv": [(58, -66), (56, -94), (58, -118), (64, -138)],
        "rectum": [(84, 50), (78, 28), (70, 8), (84, -4), (98, -22), (106, -46), (106, -70),
                   (98, -92)],
        "levator": [(82, 14), (94, -4), (104, -16)],
        "coccyx_joint": (105, -18),
        "cul_de_sac": (82, -72),
    })
    t3 = dict(_T0)  # obese / short, anteriorly placed organs
    t3.update({
        "name": "obese_short",
        "body": [(-110, -350), (-112, -260), (-110, -190), (-100, -130), (-84, -80),
                 (-66, -40), (-50, -8), (-32, 22), (-10, 42), (14, 52), (38, 62), (64, 68),
                 (90, 66), (118, 56), (142, 36), (162, 8), (178, -30), (190, -70),
                 (200, -110), (208, -160), (212, -220), (214, -280), (214, -350)],
        "bladder": [(17, -11), (7, -26), (3, -46), (8, -64), (30, -76), (54, -68), (58, -46),
                    (48, -28), (36, -20), (25, -13)],
        "neck": (17, -11),
        "uterus_av": [(60, -62), (50, -84), (34, -100), (16, -106)],
        "cul_de_sac": (78, -66),
    })
    return [_T0, t1, t2, t3]


TEMPLATES = _make_templates()


# --------------------------------------------------------------------------- geometry
def _chaikin(pts, n=3, closed=False):
    p = np.asarray(pts, float)
    for _ in range(n):
        if closed:
            cur, nxt = p, np.roll(p, -1, axis=0)
        else:
            cur, nxt = p[:-1], p[1:]
        r = np.empty((2 * len(cur), 2))
        r[0::2] = 0.75 * cur + 0.25 * nxt
        r[1::2] = 0.25 * cur + 0.75 * nxt
        p = r if closed else np.vstack([p[0], r, p[-1]])
    return p


def _resample(p, step=1.0):
    d = np.r_[0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
    n = max(int(d[-1] / step), 2)
    s = np.linspace(0, d[-1], n)
    return np.c_[np.interp(s, d, p[:, 0]), np.interp(s, d, p[:, 1])], s / max(d[-1], 1e-9)


def _ellipse(c, a, b, ang_deg=0.0, n=64):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ca, sa = np.cos(np.radians(ang_deg)), np.sin(np.radians(ang_deg))
    x, y = a * np.cos(t), b * np.sin(t)
    return np.c_[c[0] + ca * x - sa * y, c[1] + sa * x + ca * y]


class Canvas:
    """Tissue classes and organ labels on the 1 mm canonical grid."""

    def __init__(self):
        self.tissue = np.zeros((GH, GW), np.uint8)
        self.label = np.zeros((GH, GW), np.uint8)

    @staticmethod
    def mask_poly(pts):
        img = Image.new("L", (GW, GH), 0)
        p = [((x - X0), (y - Y0)) for x, y in np.asarray(pts, float)]
        ImageDraw.Draw(img).polygon(p, fill=1)
        return np.asarray(img, bool)

    @staticmethod
    def mask_tube(centre, widths, smooth=True):
        c = _chaikin(centre, 3) if smooth and len(centre) > 2 else np.asarray(centre, float)
        c, s = _resample(c, 1.0)
        w = np.interp(s, np.linspace(0, 1, len(widths)), widths)
        t = np.gradient(c, axis=0)
        t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-9)[:, None]
        nrm = np.c_[-t[:, 1], t[:, 0]]
        poly = np.vstack([c + nrm * w[:, None] / 2, (c - nrm * w[:, None] / 2)[::-1]])
        m = Canvas.mask_poly(poly)
        img = Image.new("L", (GW, GH), 0)
        dr = ImageDraw.Draw(img)
        for k in (0, -1):
            x, y, r = c[k, 0] - X0, c[k, 1] - Y0, w[k] / 2
            dr.ellipse([x - r, y - r, x + r, y + r], fill=1)
        return m | np.asarray(img, bool)

    def paint(self, mask, tissue, label=None):
        self.tissue[mask] = tissue
        if label is not None:
            self.label[mask] = label


def _inner(mask, depth):
    """Pixels of mask deeper than depth mm from its edge."""
    return ndi.distance_transform_edt(mask) > depth


# --------------------------------------------------------------------------- parameters
def sample_params(seed: int) -> dict:
    """Every random choice of a case except textures/noise/bowel loops (drawn in render)."""
    rng = np.random.default_rng(seed)
    ti = int(rng.integers(len(TEMPLATES)))
    menop = bool(rng.random() < 0.25)
    hyst = bool(rng.random() < 0.12)
    fibroid = bool(not hyst and not menop and rng.random() < 0.2)
    uterus = {
        "present": not hyst,
        "version": "retroverted" if rng.random() < 0.2 else "anteverted",
        "size": float(rng.uniform(0.55, 0.75) if menop else rng.uniform(0.85, 1.2)
                      * (1.25 if fibroid else 1.0)),
        "postmenopausal": menop,
        "fibroid": fibroid,
        "fibroid_radius_mm": float(rng.uniform(8, 22)) if fibroid else 0.0,
        "fibroid_pos": float(rng.uniform(0.3, 0.9)),
        "fibroid_side": float(rng.choice([-1.0, 1.0])),
    }
    path = [p for p, pr in zip(PATHOLOGIES, PATH_P, strict=True) if rng.random() < pr]
    anatomy = {
        "template": TEMPLATES[ti]["name"], "template_index": ti,
        "bladder_fill": float(rng.uniform(0.35, 1.6)),
        "uterus": uterus,
        "hysterectomy": hyst,
        "rectal_content": str(rng.choice(["empty", "gas", "stool", "gel"], p=[.3, .2, .3, .2])),
        "vaginal_gel": bool(rng.random() < 0.35),
        "obesity_mm": float(rng.uniform(-8, 30)),
        "n_bowel_loops": int(rng.integers(45, 90)),
        "symphysis_marrow": bool(rng.random() < 0.6),
        "bspline_spacing_mm": float(rng.uniform(40, 65)),
        "bspline_sigma_mm": float(rng.uniform(3, 8)),
    }
    t_n = int(rng.integers(15, 41))
    dt = float(rng.uniform(0.5, 2.0))
    man = str(rng.choice(MANOEUVRES))
    modes = {
        "descent": float(rng.uniform(6, 18)),
        "anterior": float(rng.uniform(2, 12)),
        "posterior": float(rng.uniform(3, 14)),
        "abdominal": float(rng.uniform(3, 12)),
    }
    amp = {"cystocele": (15, 32), "rectocele": (12, 26), "enterocele": (18, 34),
           "prolapse": (15, 35)}
    for p in path:
        modes[p] = float(rng.uniform(*amp[p]))
    motion = {
        "manoeuvre": man, "modes": modes,
        "breathing_mm": float(rng.uniform(1, 5)), "breathing_period_s": float(rng.uniform(3, 6)),
        "breathing_phase": float(rng.uniform(0, 2 * np.pi)),
        "t_start": float(rng.uniform(0.1, 0.3)), "ramp": float(rng.uniform(0.1, 0.25)),
        "hold": float(rng.uniform(0.2, 0.45)),
    }
    seq = str(rng.choice(SEQUENCES, p=SEQ_P))
    imaging = {
        "sequence": seq,
        "fat_suppressed": bool(rng.random() < (0.1 if seq == "bssfp" else 0.25)),
        "realtime_lowres": bool(rng.random() < (0.5 if seq == "bssfp" else 0.3)),
        "lowres_factor": float(rng.uniform(0.4, 0.7)),
        "snr": float(np.exp(rng.uniform(np.log(5), np.log(40)))),
        "wrap": bool(rng.random() < 0.12),
        "ghost": float(rng.uniform(0.04, 0.15)) if rng.random() < 0.15 else 0.0,
        "bias": float(rng.uniform(0.1, 0.5)),
        "global_scale": float(10 ** rng.uniform(0, 3.3)),
        "rotation_deg": float(rng.uniform(-8, 8)),
        "subject_scale": float(rng.uniform(0.9, 1.1)),
        "slice_thickness_mm": float(rng.uniform(5, 10)),
    }
    h, w = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    dr = float(rng.uniform(max(1.1, 290 / h), 1.5))
    dc = float(rng.uniform(max(1.1, (230 if imaging["wrap"] else 250) / w), 1.5))
    centre = [float(rng.uniform(20, 50) + rng.normal(0, 8)),  # x (mm)
              float(-75 + rng.normal(0, 8))]
    # keep lumbar spine (y=-200) to below perineum (y=+65) inside the field of view
    half_h = h * dr / 2
    centre[1] = float(np.clip(centre[1], 65 - half_h + 5, -200 + half_h - 5))
    return {
        "generator": "atlas", "seed": int(seed), "matrix": [h, w], "spacing_mm": [dr, dc],
        "n_frames": t_n, "frame_interval_s": dt, "fov_centre_mm": centre,
        "pathologies": path, "anatomy": anatomy, "motion": motion, "imaging": imaging,
        "organs": list(ORGANS),
    }


# --------------------------------------------------------------------------- anatomy
def _scale_about(pts, c, sx, sy):
    p = np.asarray(pts, float)
    return np.c_[c[0] + (p[:, 0] - c[0]) * sx, c[1] + (p[:, 1] - c[1]) * sy]


def build_anatomy(params: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
    """Paint the case's template on the canonical grid: (tissue, label, landmarks)."""
    a = params["anatomy"]
    T = TEMPLATES[a["template_index"]]
    cv = Canvas()
    # body with obesity: anterior part moves anteriorly, posterior part posteriorly
    ob = a["obesity_mm"]
    body = np.asarray(T["body"], float)
    ant = body[:, 0] < 40
    wy = np.clip((10 - body[:, 1]) / 60, 0, 1)
    body[ant, 0] -= ob * wy[ant]
    body[~ant, 0] += 0.4 * ob * np.clip((40 - body[~ant, 1]) / 80, 0, 1)
    body = _chaikin(body, 3)
    # close the outline across the top of the grid
    top = np.vstack([body, [[body[-1, 0], Y0 - 20], [body[0, 0], Y0 - 20]]])
    bodym = cv.mask_poly(top)
    cv.paint(bodym, FAT)
    cv.paint(bodym & ~_inner(bodym, 2.0), SKIN)
    yy, xx = np.mgrid[Y0:Y1, X0:X1] + 0.5
    # muscles
    cv.paint(cv.mask_tube(T["rectus"], [10, 10, 9, 9, 8, 8, 7]) & bodym, MUSCLE)
    vert = T["vert"]
    spine_c = [(v[0], v[1]) for v in vert] + [T["sacrum"][0]]
    para = [(x + 75, y) for x, y in spine_c] + [(T["sacrum"][3][0] + 40, T["sacrum"][3][1])]
    cv.paint(cv.mask_tube(para, [50, 48, 45, 40, 30, 20, 10]) & bodym, MUSCLE)
    cv.paint(cv.mask_tube([(v[0] - 34, v[1]) for v in vert[:4]] + [(70, -200)], [16] * 5),
             VESSEL)  # aorta down to the bifurcation
    # spine: discs, vertebrae, canal, spinous processes
    cv.paint(cv.mask_tube(spine_c, [40] * len(spine_c)), DISC)
    for k in range(len(vert) - 1):
        mx, my = (vert[k][0] + vert[k + 1][0]) / 2, (vert[k][1] + vert[k + 1][1]) / 2
        cv.paint(cv.mask_poly(_ellipse((mx, my), 12, 3.5, (vert[k][2] + vert[k + 1][2]) / 2)),
                 NUCLEUS)
    for x, y, tilt in vert:
        r = cv.mask_poly(_rot_rect((x, y), 44, 27, tilt))
        cv.paint(r, CORTEX)
        cv.paint(_inner(r, 2.0), MARROW)
        cv.paint(cv.mask_poly(_rot_rect((x + 55, y + 4), 26, 12, tilt + 15)), CORTEX)
        cv.paint(cv.mask_poly(_rot_rect((x + 55, y + 4), 22, 8, tilt + 15)), MARROW)
    canal = [(x + 33, y) for x, y in spine_c[:-1]] + [(T["sacrum"][0][0] + 36,
                                                       T["sacrum"][0][1] + 10)]
    cv.paint(cv.mask_tube(canal, [15] * len(canal)), CSF)
    # pelvic floor muscles / perineum
    pb = T["perineal_body"]
    cv.paint(cv.mask_poly(_ellipse(pb, 10, 8, 30)), MUSCLE)
    cv.paint(cv.mask_tube(T["levator"], [8, 8, 7]), MUSCLE)
    rect = np.asarray(T["rectum"], float)
    arj = rect[2]
    cv.paint(cv.mask_poly(_ellipse((arj[0] + 12, arj[1] + 6), 8, 6, 40)), MUSCLE)  # puborectalis
    cv.paint(cv.mask_tube(rect[:3], [24, 24, 22]), SPHINCTER)  # external sphincter
    ur = cv.mask_tube(T["urethra"], [9, 9, 8, 7])
    cv.paint(ur, URETHRA)
    cv.paint(cv.mask_tube(T["urethra"], [1.5] * 4), MUCUS)

    # --- bladder (label 1)
    f = a["bladder_fill"]
    nk = T["neck"]
    bl = _scale_about(T["bladder"], nk, f ** 0.45, f ** 0.8)
    blm = cv.mask_poly(_chaikin(bl, 4, closed=True))
    cv.paint(blm, BWALL, 1)
    wall = 2.5 + 3.5 * max(0.0, 1.0 - f)
    cv.paint(_inner(blm, wall), URINE, 1)
    dome = float(bl[:, 1].min()) - float(np.asarray(T["bladder"])[:, 1].min())

    # --- rectum + anal canal (label 3)
    content = a["rectal_content"]
    cf = {"empty": 0.55, "gas": 1.15, "stool": 1.1, "gel": 1.25}[content]
    widths = np.asarray(T["rectum_w"], float)
    widths[3:] *= cf
    rm = cv.mask_tube(rect, widths)
    cv.paint(rm, RWALL, 3)
    lum_w = np.maximum(widths - 7, 1.5)
    lum_w[:3] = 1.5
    lumen = cv.mask_tube(rect, lum_w) & rm
    if content == "empty":
        cv.paint(cv.mask_tube(rect, np.maximum(widths * 0.15, 1.5)) & rm, MUCUS, 3)
    else:
        sub = cv.mask_tube(rect[2:], lum_w[2:]) & rm
        cv.paint(cv.mask_tube(rect, [1.5] * len(rect)) & rm, MUCUS, 3)
        cv.paint(sub, {"gas": GAS, "stool": STOOL, "gel": GEL}[content], 3)
        if content == "stool":  # gas bubbles in stool
            for _ in range(int(rng.integers(2, 8))):
                ys, xs = np.nonzero(sub)
                k = int(rng.integers(len(ys)))
                r = rng.uniform(1.5, 4)
                cv.paint(cv.mask_poly(_ellipse((xs[k] + X0, ys[k] + Y0), r, r)) & sub, GAS, 3)
    del lumen

    # --- uterus / cervix / vagina (label 2)
    u = a["uterus"]
    vag = np.asarray(T["vagina"], float)
    vw = 18.0 if a["vaginal_gel"] else 11.0
    vm = cv.mask_tube(vag, [vw * 0.9, vw, vw, vw, vw * 0.9])
    if u["present"]:
        cc, ca, cb = T["cervix"]
        axis = vag[-1] - vag[-2]
        ang = np.degrees(np.arctan2(axis[1], axis[0]))
        s = u["size"] ** 0.5
        cm = cv.mask_poly(_ellipse(cc, ca * s, cb * s, ang))
        key = "uterus_rv" if u["version"] == "retroverted" else "uterus_av"
        uc = np.asarray(T[key], float)
        os_ = uc[0].copy()
        uc = _scale_about(uc, os_, u["size"], u["size"])
        if u["version"] == "anteverted" and dome < 0:
            prog = np.linspace(0, 1, len(uc)) ** 0.7
            uc[:, 1] += dome * prog
            uc[:, 0] += -0.3 * dome * prog
        uw = np.asarray([22, 36, 40, 34]) * u["size"] ** 0.8
        um = cv.mask_tube(uc, uw)
        cv.paint(vm | cm | um, VWALL, 2)
        cv.paint(um, MYO, 2)
        cv.paint(cm, CERVIX, 2)
        if u["postmenopausal"]:
            cv.paint(cv.mask_tube(uc, [1.5, 2.5, 2.5, 1.5]) & um, ENDO, 2)
        else:
            cv.paint(cv.mask_tube(uc, uw * 0.45) & um, JZ, 2)
            ew = float(rng.uniform(4, 12))
            cv.paint(cv.mask_tube(uc, [2, ew, ew, 2]) & um, ENDO, 2)
        cv.paint(cv.mask_tube([cc - axis / np.linalg.norm(axis) * ca * s * 0.8,
                               cc + axis / np.linalg.norm(axis) * ca * s * 0.8], [2, 2])
                 & cm, ENDO, 2)
        if u["fibroid"]:
            cl, sl = _resample(_chaikin(uc, 3), 1.0)
            k = int(u["fibroid_pos"] * (len(cl) - 1))
            t = cl[min(k + 1, len(cl) - 1)] - cl[max(k - 1, 0)]
            nrm = np.array([-t[1], t[0]]) / max(np.hypot(*t), 1e-9)
            fc = cl[k] + nrm * u["fibroid_side"] * uw.max() * 0.35
            r = u["fibroid_radius_mm"]
            cv.paint(cv.mask_poly(_ellipse(fc, r, r * 0.9)), FIBROID, 2)
    else:
        cv.paint(vm, VWALL, 2)
    lum = cv.mask_tube(vag, [1.5] + [vw - 8 if a["vaginal_gel"] else 1.5] * 3 + [1.5]) & vm
    cv.paint(lum, GEL if a["vaginal_gel"] else MUCUS, 2)
    # labia / vestibule below the introitus: unlabelled soft tissue and air gap
    intro = vag[0]
    cv.paint(cv.mask_poly(_ellipse((intro[0] - 6, intro[1] + 6), 9, 6, -30)) & bodym, MUSCLE, 0)

    # --- bones painted last (rigid, trim organs)
    sac = np.asarray(T["sacrum"], float)
    sc, ss = _resample(_chaikin(sac, 3), 1.0)
    th = np.interp(ss, np.linspace(0, 1, len(sac)), T["sacrum_thick"])
    tg = np.gradient(sc, axis=0)
    tg /= np.hypot(tg[:, 0], tg[:, 1])[:, None]
    nrm = np.c_[-tg[:, 1], tg[:, 0]]
    if np.mean(nrm[:, 0]) < 0:
        nrm = -nrm
    sacm = cv.mask_poly(np.vstack([sc, (sc + nrm * th[:, None])[::-1]]))
    cv.paint(sacm, CORTEX, 0)
    cv.paint(_inner(sacm, 2.0), MARROW, 0)
    for q in np.linspace(0.12, 0.85, 4):  # vestigial sacral discs
        k = int(q * (len(sc) - 1))
        cv.paint(cv.mask_tube([sc[k] - nrm[k] * 0, sc[k] + nrm[k] * th[k]], [1.5, 1.5]) & sacm,
                 DISC, 0)
    sacral_canal = sc[: len(sc) // 2] + nrm[: len(sc) // 2] * (th[: len(sc) // 2, None] + 6)
    cv.paint(cv.mask_tube(sacral_canal[::4], [8] * len(sacral_canal[::4]), smooth=False)
             & bodym, CSF, 0)
    cocc = T["coccyx"]
    for k in range(len(cocc) - 1):
        m = cv.mask_tube([cocc[k], cocc[k + 1]], [9 - 1.5 * k, 8 - 1.5 * k])
        cv.paint(m, CORTEX, 0)
        cv.paint(_inner(m, 1.5), MARROW, 0)
    (sx, sy), hl, ht, sang = T["symph"]
    sym = cv.mask_poly(_ellipse((sx, sy), hl, ht, sang))
    cv.paint(sym, CORTEX, 0)
    cv.paint(_inner(sym, 2.0), MARROW if a["symphysis_marrow"] else FIBROCART, 0)
    # organs end at the skin: nothing labelled in the skin or outside the body
    ring = bodym & ~_inner(bodym, 1.5) & (cv.label > 0)
    cv.paint(ring, SKIN, 0)
    cv.paint(~bodym & (cv.tissue != AIR), AIR, 0)
    # --- bowel loops above the pelvic floor (and the enterocele loop)
    floor = np.asarray(T["bowel_floor"], float)
    ylim = np.interp(xx[0], floor[:, 0], floor[:, 1])
    front = np.asarray(T["spine_front"], float)
    xlim = np.interp(yy[:, 0], front[:, 0], front[:, 1])
    organs = ndi.binary_dilation(cv.label > 0, iterations=3)
    allowed = (cv.tissue == FAT) & (yy < ylim[None, :]) & (xx < xlim[:, None]) & ~organs
    allowed &= _inner(bodym, 12)
    ys, xs = np.nonzero(allowed)
    if len(ys):
        for _ in range(a["n_bowel_loops"]):
            i = int(rng.integers(len(ys)))
            c = (xs[i] + X0, ys[i] + Y0)
            r1, r2 = rng.uniform(8, 18), rng.uniform(6, 13)
            m = cv.mask_poly(_ellipse(c, r1, r2, rng.uniform(0, 180), 40)) & allowed
            inner_t = [BOWFLUID, GAS, CHYME][int(rng.choice(3, p=[.45, .15, .4]))]
            cv.paint(m, BOWWALL)
            cv.paint(_inner(m, rng.uniform(1.5, 3)), inner_t)
            if inner_t == BOWFLUID and rng.random() < 0.3:
                cv.paint(_inner(m, 5) & (yy < c[1] - r2 * 0.3), GAS)
    cds = T["cul_de_sac"]
    if "enterocele" in params["pathologies"]:
        m = cv.mask_poly(_ellipse(cds, 9, 8, 30)) & (cv.label == 0)
        cv.paint(m, BOWWALL)
        cv.paint(_inner(m, 2.0), CHYME)
    # small vessels in fat
    fat = np.nonzero((cv.tissue == FAT) & _inner(bodym, 6))
    for _ in range(int(rng.integers(15, 40))):
        i = int(rng.integers(len(fat[0])))
        r = rng.uniform(1.2, 3.0)
        m = cv.mask_poly(_ellipse((fat[1][i] + X0, fat[0][i] + Y0), r, r * rng.uniform(.6, 1),
                                  0, 16)) & (cv.tissue == FAT)
        cv.paint(m, VESSEL)
    # connectivity: keep the largest piece of each organ
    for lab in (1, 2, 3):
        m = cv.label == lab
        cc_, n = ndi.label(m)
        if n > 1:
            sizes = ndi.sum(m, cc_, range(1, n + 1))
            drop = m & (cc_ != 1 + int(np.argmax(sizes)))
            cv.label[drop] = 0
            cv.tissue[drop] = FAT
    bl_base = bl[np.argmax(bl[:, 1] - 0.3 * bl[:, 0])]
    cerv = np.asarray(T["cervix"][0], float) if u["present"] else vag[-1]
    marks = {
        "neck": np.asarray(nk, float), "bladder_base": np.asarray(bl_base, float),
        "arj": arj, "cervix": cerv, "vault": vag[-1], "introitus": vag[0],
        "cul_de_sac": np.asarray(cds, float), "ant_rect_wall": rect[3] + np.array([-12, -6]),
        "symph_inf": np.zeros(2), "coccyx": np.asarray(T["coccyx_joint"], float),
    }
    return cv.tissue, cv.label, marks


def _rot_rect(c, w, h, ang_deg):
    ca, sa = np.cos(np.radians(ang_deg)), np.sin(np.radians(ang_deg))
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    pts = _chaikin(pts, 2, closed=True)
    return np.c_[c[0] + ca * pts[:, 0] - sa * pts[:, 1], c[1] + sa * pts[:, 0] + ca * pts[:, 1]]


# --------------------------------------------------------------------------- deformations
def _bspline_basis(u):
    t = u - np.floor(u)
    return np.stack([(1 - t) ** 3 / 6, (3 * t ** 3 - 6 * t ** 2 + 4) / 6,
                     (-3 * t ** 3 + 3 * t ** 2 + 3 * t + 1) / 6, t ** 3 / 6])


def _bspline_matrix(coords, origin, spacing, n_ctrl):
    u = (coords - origin) / spacing
    i = np.floor(u).astype(int)
    b = _bspline_basis(u)
    m = np.zeros((len(coords), n_ctrl))
    for k in range(4):
        np.add.at(m, (np.arange(len(coords)), np.clip(i + k - 1, 0, n_ctrl - 1)), b[k])
    return m


def bspline_velocity(params: dict, rng: np.random.Generator) -> np.ndarray:
    """Cubic B-spline velocity field (2, len(CY), len(CX)) on the coarse grid (mm)."""
    sp = params["anatomy"]["bspline_spacing_mm"]
    sig = params["anatomy"]["bspline_sigma_mm"]
    nx = int((X1 - X0) / sp) + 4
    ny = int((Y1 - Y0) / sp) + 4
    cx = rng.normal(0, sig, (ny, nx))
    cy = rng.normal(0, sig, (ny, nx))
    lim = 0.4 * sp
    cx, cy = np.clip(cx, -lim, lim), np.clip(cy, -lim, lim)
    bx = _bspline_matrix(CX, X0 - sp, sp, nx)
    by = _bspline_matrix(CY, Y0 - sp, sp, ny)
    return np.stack([by @ cx @ bx.T, by @ cy @ bx.T])


def _sample(field, x, y, order=1):
    """Sample a coarse-grid field (…, len(CY), len(CX)) at mm coordinates."""
    ci = (y - Y0) / CSTEP
    cj = (x - X0) / CSTEP
    return np.stack([ndi.map_coordinates(f, [ci, cj], order=order, mode="nearest")
                     for f in field])


def exp_field(v, n=6):
    """Displacement of exp(v) on the coarse grid by scaling and squaring."""
    gy, gx = np.meshgrid(CY, CX, indexing="ij")
    d = v / 2 ** n
    for _ in range(n):
        d = d + _sample(d, gx + d[0], gy + d[1])
    return d


def jacobian_det(d):
    """Jacobian determinant of x -> x + d(x) on the coarse grid."""
    dxdx = np.gradient(d[0], CSTEP, axis=1) + 1
    dxdy = np.gradient(d[0], CSTEP, axis=0)
    dydx = np.gradient(d[1], CSTEP, axis=1)
    dydy = np.gradient(d[1], CSTEP, axis=0) + 1
    return dxdx * dydy - dxdy * dydx


def motion_modes(params: dict, tissue: np.ndarray, marks: dict) -> dict:
    """Unit velocity fields (2, len(CY), len(CX)) of the motion modes in template space."""
    gy, gx = np.meshgrid(CY, CX, indexing="ij")
    bone = np.isin(tissue, (CORTEX, MARROW))
    dist = ndi.distance_transform_edt(~bone)
    dist_c = ndi.map_coordinates(dist, [(gy - Y0), (gx - X0)], order=1, mode="nearest")
    att = 1 - np.exp(-dist_c ** 2 / (2 * 9.0 ** 2))

    def g(c, sx, sy):
        return np.exp(-((gx - c[0]) ** 2 / (2 * sx ** 2) + (gy - c[1]) ** 2 / (2 * sy ** 2)))

    def vec(w, d):
        d = np.asarray(d, float) / np.hypot(*d)
        return np.stack([w * d[0], w * d[1]]) * att

    m = marks
    modes = {
        "descent": vec(g((45, -5), 50, 45), (0.3, 1.0)),
        "posterior": vec(g(m["arj"], 22, 22), (0.6, 1.0)),
        "abdominal": vec(g((-40, -150), 40, 80), (-1.0, 0.3))
        + vec(0.6 * g((30, -170), 60, 70), (0, 1)),
        "breathing": vec(g((40, -300), 140, 90), (0.1, 1.0)),
    }
    r = np.stack([gx - m["symph_inf"][0], gy - m["symph_inf"][1]])
    rot = np.stack([-r[1], r[0]]) / 42.0
    modes["anterior"] = rot * g((30, -30), 28, 28) * att
    modes["cystocele"] = vec(g(m["bladder_base"], 18, 16), (0.25, 1.0))
    modes["rectocele"] = vec(g(m["ant_rect_wall"], 11, 14), (-1.0, 0.25))
    modes["enterocele"] = vec(g(m["cul_de_sac"] + np.array([-4, 12]), 12, 22), (-0.3, 1.0))
    ax = m["introitus"] - m["vault"]
    modes["prolapse"] = vec(g(m["cervix"], 18, 22), ax)
    return modes


def time_course(params: dict, times: np.ndarray) -> np.ndarray:
    """Strain level s(t) in [-0.3, 1] of the manoeuvre."""
    mo = params["motion"]
    dur = max(times[-1], 1e-6)
    u = times / dur

    def ss(x):
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)

    t0, ramp, hold = mo["t_start"], mo["ramp"], mo["hold"]
    man = mo["manoeuvre"]
    if man == "defecation":
        s = ss((u - t0) / (1 - t0 - 0.05))
    elif man == "repeated_strain":
        h = 0.5 * (1 - t0)
        s = ss((u - t0) / (h * 0.35)) * (1 - ss((u - t0 - h * 0.65) / (h * 0.3)))
        s = np.maximum(s, ss((u - t0 - h) / (h * 0.35)) * (1 - ss((u - t0 - 1.65 * h)
                                                                    / (h * 0.3))))
    else:
        s = ss((u - t0) / ramp) * (1 - ss((u - t0 - ramp - hold) / ramp))
        if man == "squeeze_strain":
            s = s - 0.3 * ss(u / (t0 * 0.5)) * (1 - ss((u - t0 * 0.6) / (t0 * 0.3)))
        if man == "cough_strain":
            s = s + 0.25 * (np.sin(times * 6.0) > 0.6) * ss((u - t0) / ramp)
    s[0] = 0.0
    return s


# --------------------------------------------------------------------------- rendering
def _signal_image(params, tissue, rng):
    im = params["imaging"]
    lv = np.array([rng.uniform(lo, hi) for lo, hi in _LEVELS[im["sequence"]]])
    if im["fat_suppressed"]:
        lv[FAT] = rng.uniform(0.04, 0.12) * (2 if im["sequence"] == "bssfp" else 1)
        lv[MARROW] = rng.uniform(0.1, 0.2)
    base = lv[tissue]
    tex = np.zeros_like(base)
    for sig, w in ((1.0, 0.5), (3.0, 1.0)):
        tex += w * ndi.gaussian_filter(rng.standard_normal(base.shape), sig) * sig
    tex /= max(tex.std(), 1e-6)
    img = base * (1 + TEX_AMP[tissue] * tex)
    return ndi.gaussian_filter(np.clip(img, 0, None), 0.6).astype(np.float32)


def render(params: dict):
    """Render a case: (CineSeries, truth uint8 (T,H,W), extras dict)."""
    seed = int(params["seed"])
    rng = np.random.default_rng([seed, 1])
    tissue, label, marks = build_anatomy(params, rng)
    img0 = _signal_image(params, tissue, rng)
    v_b = bspline_velocity(params, np.random.default_rng([seed, 2]))
    d_binv = exp_field(-v_b)
    modes = motion_modes(params, tissue, marks)
    mo = params["motion"]
    h, w = params["matrix"]
    dr, dc = params["spacing_mm"]
    t_n = int(params["n_frames"])
    times = np.arange(t_n) * float(params["frame_interval_s"])
    s = time_course(params, times)
    im = params["imaging"]
    pad = int(round(w * 0.25)) if im["wrap"] else 0
    wfull = w + 2 * pad
    ii, jj = np.mgrid[0:h, 0:wfull].astype(np.float64)
    ang = np.radians(im["rotation_deg"])
    sc = im["subject_scale"]
    u = (jj - pad - (w - 1) / 2) * dc / sc
    v = (ii - (h - 1) / 2) * dr / sc
    cx, cy = params["fov_centre_mm"]
    px = cx + np.cos(ang) * u - np.sin(ang) * v
    py = cy + np.sin(ang) * u + np.cos(ang) * v
    db = _sample(d_binv, px, py)
    qx, qy = px + db[0], py + db[1]
    # smooth bias
    by_, bx_ = np.mgrid[0:h, 0:w] / max(h, w)
    cb = rng.uniform(-1, 1, 4)
    bias = np.exp(im["bias"] * (cb[0] * (bx_ - .5) + cb[1] * (by_ - .5)
                                + cb[2] * np.exp(-((bx_ - rng.uniform(0, 1)) ** 2
                                                   + (by_ - rng.uniform(0, 1)) ** 2) / 0.1)))
    frames = np.zeros((t_n, h, w), np.float32)
    truth = np.zeros((t_n, h, w), np.uint8)
    min_det = np.inf
    for t in range(t_n):
        vel = sum(mo["modes"][k] * s[t] * modes[k] for k in mo["modes"])
        for k in ("cystocele", "rectocele", "prolapse"):
            if k in mo["modes"]:  # a little of the defect already at rest
                vel = vel + 0.15 * mo["modes"][k] * modes[k]
        breath = mo["breathing_mm"] * np.sin(2 * np.pi * times[t] / mo["breathing_period_s"]
                                             + mo["breathing_phase"])
        vel = vel + breath * modes["breathing"]
        dm = exp_field(-vel)
        if t in (0, int(np.argmax(s))):
            min_det = min(min_det, float(jacobian_det(dm).min()))
        dd = _sample(dm, qx, qy)
        rx, ry = qx + dd[0], qy + dd[1]
        ci, cj = ry - Y0 - 0.5, rx - X0 - 0.5
        f = ndi.map_coordinates(img0, [ci, cj], order=1, mode="nearest")
        lab = ndi.map_coordinates(label, [ci, cj], order=0, mode="constant", cval=0)
        if pad:
            core = f[:, pad:pad + w].copy()
            core[:, :pad] += f[:, pad + w:]
            core[:, w - pad:] += f[:, :pad]
            f, lab = core, lab[:, pad:pad + w]
        frames[t] = f
        truth[t] = _clean(lab)
    frames = _acquisition(frames, bias, params, rng)
    meta = {"subject_id": f"{PREFIX}_{seed:03d}",
            "series_description": f"cine sagittal atlas {im['sequence']}"
            + {"bssfp": " (bssfp)", "t1_gre": " (t1)"}.get(im["sequence"], ""),
            "orientation": "sagittal (canonical)"}
    series = CineSeries(frames=frames, spacing_mm=(dr, dc), times_s=times, meta=meta)
    extras = {"time_course": s, "min_jacobian_motion": min_det,
              "min_jacobian_bspline": float(jacobian_det(d_binv).min()),
              "min_jacobian_bspline_fwd": float(jacobian_det(exp_field(v_b)).min())}
    return series, truth, extras


def _clean(lab):
    out = lab.copy()
    for k in (1, 2, 3):
        m = lab == k
        cc, n = ndi.label(m)
        if n > 1:
            sizes = ndi.sum(m, cc, range(1, n + 1))
            out[m & (cc != 1 + int(np.argmax(sizes)))] = 0
    return out


def _acquisition(frames, bias, params, rng):
    im = params["imaging"]
    t_n, h, w = frames.shape
    if im["realtime_lowres"]:
        fct = im["lowres_factor"]
        for t in range(t_n):
            small = ndi.zoom(frames[t], (min(1, fct * 1.3), fct), order=1)
            frames[t] = ndi.zoom(small, (h / small.shape[0], w / small.shape[1]), order=3,
                                 grid_mode=True, mode="nearest")[:h, :w]
    frames *= bias[None].astype(np.float32)
    if im["ghost"] > 0:
        shift = int(rng.integers(w // 6, w // 2))
        frames += im["ghost"] * np.roll(frames, shift, axis=2)
    ref = float(np.percentile(frames, 75))
    sigma = max(ref, 1e-3) / im["snr"]
    n1 = rng.standard_normal(frames.shape).astype(np.float32) * sigma
    n2 = rng.standard_normal(frames.shape).astype(np.float32) * sigma
    out = np.sqrt((frames + n1) ** 2 + n2 ** 2) * im["global_scale"]
    return out.astype(np.float32)


# --------------------------------------------------------------------------- CLI
def write_case(seed: int, out: str | Path) -> str:
    t0 = time.time()
    params = sample_params(seed)
    series, truth, extras = render(params)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case / "series", seed=seed, patient_name=f"ATLAS^{seed:03d}",
                       patient_id=f"{PREFIX}_{seed:03d}",
                       slice_thickness_mm=params["imaging"]["slice_thickness_mm"])
    np.save(case / "truth.npy", truth)
    p = dict(params)
    p["time_course"] = [round(float(x), 4) for x in extras["time_course"]]
    (case / "params.json").write_text(json.dumps(p, indent=1))
    return (f"{case.name}: {params['anatomy']['template']} {params['imaging']['sequence']} "
            f"{params['matrix'][0]}x{params['matrix'][1]}x{params['n_frames']} "
            f"path={','.join(params['pathologies']) or 'none'} {time.time() - t0:.1f}s")


def _job(args):
    return write_case(*args)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for line in map_jobs(_job, [(s, a.out) for s in parse_seeds(a.seeds)], a.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
