"""Sketch generator: synthetic cine mid-sagittal female pelvic MRI drawn from smoothed
random control polygons, with exact segmentation truth.

How a case is made
------------------
1. An anatomical frame in body millimetres (x anterior→posterior, y cranial→caudal,
   origin at the centre of the pubic symphysis) is laid out from bony landmarks: the
   symphysis (oblique oval), the curved sacrum and coccyx, lumbar vertebrae L1–L5 with
   discs and marrow, the spinal canal and spinous processes.  The whole frame is rotated
   by a random pelvic tilt and placed off-centre in the field of view.
2. Every outline is a jittered control polygon smoothed by Chaikin corner cutting (closed
   blobs: bladder, uterine body, fibroids, bowel loops) or an open polyline with varying
   half-width turned into a tube (vagina, urethra, rectum/anal canal, sigmoid, aorta).
   Surrounding tissue: skin, subcutaneous and pelvic fat, rectus abdominis, paraspinal and
   gluteal muscle, levator plate / puborectalis, external anal sphincter, perineal body,
   small-bowel loops with fluid / gas / stool / collapsed content, sigmoid colon, vessels.
3. Everything is drawn at 2x oversampling into a tissue-class map and a label map with
   the same polygons (painter's order), then tissue signal levels of one sequence family
   (T2 single-shot FSE "haste", balanced SSFP "bssfp" with dark fat–water boundary lines,
   T1 spoiled GRE "t1", proton density "pd"; optional fat suppression) with texture and
   partial-volume blur turn it into a rest image.
4. Motion: landmarks (bones, body back and image border fixed; bladder neck/base, cervix,
   vagina, anorectal junction, anus, perineal body, levator plate moving) are displaced by a
   smooth strain curve (valsalva, defecation, squeeze then strain, coughs, repeated
   strains; squeeze = negative strain lifts the organs).  Each frame is a backward
   piecewise-affine warp over the Delaunay triangulation of the displaced landmarks; the
   image is sampled linearly and the labels by nearest neighbour with the same map, so the
   truth matches the image exactly.  A slight breathing drift moves the abdomen.
5. Per frame (in image space, not warped): coil bias field, occasional motion ghosting,
   Rician magnitude noise (SNR 5–40) and an arbitrary global intensity scale.

Orientation: row 0 cranial, rows towards the feet; column 0 anterior, last column
posterior.  Matrix 224–288 rows and columns (independently), spacing 1.1–1.5 mm.

Label conventions (uint8 truth (T, H, W), exclusive)
----------------------------------------------------
0 background / everything else.
1 bladder: the whole bladder out to the outer wall surface (wall + urine).  It ends
  caudally at the bladder neck (internal urethral orifice); the urethra is NOT labelled.
2 uterus_vagina: uterine body (myometrium, endometrium, fibroids, including subserosal
  ones), cervix and vagina (walls + lumen/gel).  The vagina ends caudally at the introitus
  on the perineal skin.  Post-hysterectomy cases ("hysterectomy": true) have the vagina
  only, closed by a rounded vaginal cuff.
3 rectum: rectum and anal canal (wall + content) from the rectosigmoid junction, cut
  perpendicular to the bowel axis where the bowel leaves the sacral curve at about S3,
  down to the anal verge.  The external anal sphincter and the sigmoid colon above the
  cut are not labelled.
All three organs are present in every frame.  In the rest frame each is exactly one
8-connected piece (slivers thinner than ~3 pixels and fragments cut off by other structures
are repainted as fat before rendering); the warp never folds (triangle flips are prevented by
scaling the motion down, see "motion_scale"), so in every frame the largest piece holds at
least 99 % of the organ (a few isolated pixels can appear where tissue is compressed).
Anatomical invariants at rest: the bladder lies anterior to the vagina and the rectum
posterior to it (centroid columns bladder < lower uterus_vagina < rectum); bones never
carry an organ label.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.spatial import Delaunay

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "sketch"
SEQUENCES = ("haste", "bssfp", "t1", "pd")

# tissue classes
(AIR, FAT, MUSCLE, CORTEX, MARROW, DISC, URINE, BWALL, MYO, ENDO, CERVIX, VWALL, RWALL,
 BOWWALL, FLUID, GAS, STOOL, VESSEL, SKIN, CSF, FIBROID, MUCUS, GEL, SPHINCTER, JZ) = range(25)
N_CLASSES = 25

#: base signal per sequence family: class -> (value); randomized per case.
_BASE = {
    "haste": {AIR: 0.0, FAT: 0.75, MUSCLE: 0.2, CORTEX: 0.03, MARROW: 0.55, DISC: 0.7,
              URINE: 1.0, BWALL: 0.2, MYO: 0.5, ENDO: 0.85, CERVIX: 0.15, VWALL: 0.28,
              RWALL: 0.25, BOWWALL: 0.32, FLUID: 0.95, GAS: 0.02, STOOL: 0.38, VESSEL: 0.06,
              SKIN: 0.45, CSF: 0.95, FIBROID: 0.14, MUCUS: 0.75, GEL: 0.92, SPHINCTER: 0.16,
              JZ: 0.22},
    "bssfp": {AIR: 0.0, FAT: 0.85, MUSCLE: 0.22, CORTEX: 0.03, MARROW: 0.6, DISC: 0.6,
              URINE: 1.0, BWALL: 0.25, MYO: 0.5, ENDO: 0.8, CERVIX: 0.25, VWALL: 0.3,
              RWALL: 0.3, BOWWALL: 0.35, FLUID: 0.95, GAS: 0.02, STOOL: 0.5, VESSEL: 0.9,
              SKIN: 0.5, CSF: 0.95, FIBROID: 0.2, MUCUS: 0.8, GEL: 0.95, SPHINCTER: 0.2,
              JZ: 0.3},
    "t1": {AIR: 0.0, FAT: 1.0, MUSCLE: 0.35, CORTEX: 0.03, MARROW: 0.8, DISC: 0.3,
           URINE: 0.12, BWALL: 0.35, MYO: 0.42, ENDO: 0.38, CERVIX: 0.36, VWALL: 0.4,
           RWALL: 0.4, BOWWALL: 0.4, FLUID: 0.15, GAS: 0.02, STOOL: 0.55, VESSEL: 0.5,
           SKIN: 0.6, CSF: 0.1, FIBROID: 0.35, MUCUS: 0.2, GEL: 0.15, SPHINCTER: 0.33,
           JZ: 0.4},
    "pd": {AIR: 0.0, FAT: 0.9, MUSCLE: 0.38, CORTEX: 0.04, MARROW: 0.8, DISC: 0.6,
           URINE: 0.6, BWALL: 0.38, MYO: 0.6, ENDO: 0.68, CERVIX: 0.4, VWALL: 0.45,
           RWALL: 0.45, BOWWALL: 0.45, FLUID: 0.6, GAS: 0.02, STOOL: 0.55, VESSEL: 0.2,
           SKIN: 0.6, CSF: 0.6, FIBROID: 0.35, MUCUS: 0.6, GEL: 0.6, SPHINCTER: 0.35,
           JZ: 0.45},
}


# ----------------------------------------------------------------------------- geometry
def chaikin(pts: np.ndarray, iters: int = 4, closed: bool = True) -> np.ndarray:
    """Chaikin corner cutting of a polygon (closed) or polyline (open, ends kept)."""
    p = np.asarray(pts, float)
    for _ in range(iters):
        if closed:
            q = np.roll(p, -1, axis=0)
            p = np.stack([0.75 * p + 0.25 * q, 0.25 * p + 0.75 * q], 1).reshape(-1, 2)
        else:
            a, b = p[:-1], p[1:]
            mid = np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], 1).reshape(-1, 2)
            p = np.vstack([p[:1], mid, p[-1:]])
    return p


def blob(rng, center, rx, ry, angle=0.0, n=10, jit=0.12, taper=0.0) -> np.ndarray:
    """Smoothed jittered ellipse; ``taper`` narrows the +x (local) end (pear shape)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 2 * np.pi / n)
    r = 1 + rng.uniform(-jit, jit, n)
    lx, ly = rx * np.cos(t) * r, ry * np.sin(t) * r
    ly = ly * (1 - taper * np.clip(np.cos(t), 0, 1))
    ca, sa = np.cos(angle), np.sin(angle)
    ctrl = np.stack([center[0] + ca * lx - sa * ly, center[1] + sa * lx + ca * ly], 1)
    return chaikin(ctrl, 4, True)


def polyline(ctrl, iters=4) -> np.ndarray:
    return chaikin(np.asarray(ctrl, float), iters, closed=False)


def tube(line: np.ndarray, half_widths) -> np.ndarray:
    """Closed polygon around a polyline with half-widths given at evenly spaced stations."""
    seg = np.r_[0, np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))]
    s = seg / max(seg[-1], 1e-9)
    hw = np.asarray(half_widths, float)
    w = np.interp(s, np.linspace(0, 1, len(hw)), hw)
    tang = np.gradient(line, axis=0)
    tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-9)
    nrm = np.stack([-tang[:, 1], tang[:, 0]], 1)
    return np.vstack([line + nrm * w[:, None], (line - nrm * w[:, None])[::-1]])


def push_out(poly, p0, p1, margin, side, y_from=-1e9) -> np.ndarray:
    """Move points of ``poly`` onto the ``side`` (+1/-1 along the left normal of p0→p1) of the
    line through p0, p1 at least ``margin`` mm away, for points caudal to ``y_from``."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = (p1 - p0) / np.linalg.norm(p1 - p0)
    n = np.array([-d[1], d[0]]) * side
    q = np.array(poly, float)
    dist = (q - p0) @ n
    w = np.clip((q[:, 1] - y_from) / 10.0, 0, 1)
    move = np.clip(margin - dist, 0, None) * w
    return q + move[:, None] * n


def _overlap(a, b) -> float:
    """Area of polygon a ∩ polygon b over the area of b (1 mm raster)."""
    lo = np.minimum(a.min(0), b.min(0)) - 2
    size = tuple(int(v) + 4 for v in np.maximum(a.max(0), b.max(0)) - lo)
    ma, mb = Image.new("1", size, 0), Image.new("1", size, 0)
    ImageDraw.Draw(ma).polygon([tuple(p) for p in (a - lo)], fill=1)
    ImageDraw.Draw(mb).polygon([tuple(p) for p in (b - lo)], fill=1)
    ma, mb = np.array(ma), np.array(mb)
    return float((ma & mb).sum() / max(mb.sum(), 1))


class Canvas:
    """2x oversampled class and label maps; body mm → 2x pixel transform."""

    def __init__(self, h2, w2, dr, dc, tilt, origin):
        self.h2, self.w2, self.dr, self.dc = h2, w2, dr, dc
        self.ca, self.sa = np.cos(tilt), np.sin(tilt)
        self.origin = origin  # image mm (x, y) of body origin
        self.cls = Image.new("L", (w2, h2), AIR)
        self.lab = Image.new("L", (w2, h2), 0)
        self.dc_cls = ImageDraw.Draw(self.cls)
        self.dc_lab = ImageDraw.Draw(self.lab)

    def to_img_mm(self, p):
        p = np.asarray(p, float).reshape(-1, 2)
        x = self.ca * p[:, 0] - self.sa * p[:, 1] + self.origin[0]
        y = self.sa * p[:, 0] + self.ca * p[:, 1] + self.origin[1]
        return np.stack([x, y], 1)

    def to_px1(self, p):
        """body mm → 1x pixel (row, col)."""
        q = self.to_img_mm(p)
        return np.stack([q[:, 1] / self.dr, q[:, 0] / self.dc], 1)

    def _xy(self, p):
        q = self.to_img_mm(p)
        return [(float(2 * a / self.dc + 0.5), float(2 * b / self.dr + 0.5)) for a, b in q]

    def poly(self, pts, cls, label=0):
        xy = self._xy(pts)
        self.dc_cls.polygon(xy, fill=cls)
        self.dc_lab.polygon(xy, fill=label)

    def line(self, pts, cls, width_mm, label=0):
        xy = self._xy(pts)
        w = max(1, int(round(2 * width_mm / min(self.dr, self.dc))))
        self.dc_cls.line(xy, fill=cls, width=w, joint="curve")
        self.dc_lab.line(xy, fill=label, width=w, joint="curve")

    def walled(self, outer_line, hw, wall, cls_wall, cls_in, label=0):
        hw = np.asarray(hw, float)
        self.poly(tube(outer_line, hw), cls_wall, label)
        self.poly(tube(outer_line, np.maximum(hw - wall, 0.6)), cls_in, label)


def _rot(v, deg):
    a = np.deg2rad(deg)
    return np.array([np.cos(a) * v[0] - np.sin(a) * v[1], np.sin(a) * v[0] + np.cos(a) * v[1]])


def _unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


# ----------------------------------------------------------------------------- anatomy
def build_case(seed: int, matrix=None, n_frames=None):
    """Draw one case: returns dict with rest class/label maps, landmarks and parameters."""
    rng = np.random.default_rng([int(seed), 0x5CE7C4])
    u = rng.uniform
    h, w = (int(rng.integers(224, 289)), int(rng.integers(224, 289)))
    if matrix is not None:
        h, w = matrix
    dr, dc = round(float(u(1.1, 1.5)), 3), round(float(u(1.1, 1.5)), 3)
    fov_h, fov_w = h * dr, w * dc
    tilt = np.deg2rad(u(-12, 10))
    oy = float(np.clip(u(0.6, 0.75) * fov_h, 130, fov_h - 85))
    ox = float(np.clip(u(0.26, 0.45) * fov_w, 50, fov_w - 150))
    cv = Canvas(2 * h, 2 * w, dr, dc, tilt, (ox, oy))

    habitus = str(rng.choice(["thin", "normal", "obese"], p=[0.3, 0.45, 0.25]))
    fat_ant = {"thin": u(6, 15), "normal": u(15, 30), "obese": u(30, 65)}[habitus]
    fat_back = {"thin": u(5, 12), "normal": u(10, 25), "obese": u(25, 50)}[habitus]

    # --- bones
    s_len, s_wid, s_ang = u(17, 23), u(6, 8.5), np.deg2rad(u(18, 40))
    ax = np.array([-np.sin(s_ang), -np.cos(s_ang)])  # points cranially (and anteriorly)
    sym_top, sym_bot = ax * s_len, -ax * s_len
    pr = np.array([u(80, 100), u(-100, -85)])
    sc = u(0.9, 1.12)
    sac_front = pr + sc * np.array([[0, 0], [20, 25], [30, 52], [32, 78], [27, 98]])
    cocc = sac_front[-1] + sc * np.array([[0, 0], [-4, 12], [-11, 21], [-20, 27]])
    sac_thick = np.array([34, 28, 22, 16, 12]) * u(0.9, 1.1)
    sac_n = np.array([_unit(_rot(sac_front[min(i + 1, 4)] - sac_front[max(i - 1, 0)], 90))
                      for i in range(5)])  # anterior normals

    # vertebrae L5..L1 stacked up from S1 top plate
    verts = []
    base = pr + np.array([17, -2])
    ang_list = np.array([-20, -10, -2, 5, 9]) + u(-6, 6)
    vh, dh, vd = u(25, 30), u(7, 11), u(32, 38)
    cur = base
    for a in ang_list:
        d = _rot(np.array([0.0, -1.0]), a)
        c = cur + d * (dh + vh / 2)
        verts.append((c, d))
        cur = c + d * vh / 2
    spine_back = max(v[0][0] for v in verts) + vd / 2 + u(55, 75)  # skin-side of spinous

    # --- body outline (x anterior negative)
    ant_wall = -7 - fat_ant - u(8, 14)  # skin x at symphysis level
    bulge = {"thin": u(0, 10), "normal": u(10, 35), "obese": u(30, 70)}[habitus]
    introitus = np.array([u(12, 24), u(50, 60)])
    anus = np.array([u(70, 88), u(52, 62)]) + np.array([0, introitus[1] - 55])
    top = -oy - 30
    ys = np.linspace(top, 10, 8)
    front = [(ant_wall - bulge * np.clip((-y - 20) / 150, 0, 1) ** 0.8 + u(-3, 3), y)
             for y in ys]
    mons = (ant_wall + u(0, 8), 30.0)
    perineum = [mons, (introitus[0] - 6, introitus[1] - 2), tuple(introitus),
                (0.5 * (introitus[0] + anus[0]), anus[1] + u(2, 6)), tuple(anus)]
    butt = [(anus[0] + 20, anus[1] - 4), (cocc[-1][0] + 30 + fat_back, cocc[-1][1] + 5),
            (sac_front[2][0] + sac_thick[2] + 15 + fat_back, sac_front[2][1])]
    back = [(spine_back + fat_back + u(-5, 5), y) for y in np.linspace(pr[1] - 10, top, 5)]
    outline = np.array(front + perineum + butt + back, float)
    outline = chaikin(outline, 3, True)
    cv.poly(outline, FAT)
    cv.line(np.vstack([outline, outline[:1]]), SKIN, u(1.5, 3))

    # abdominal wall muscle (rectus) inside the fat layer, down to the symphysis top
    rw = u(7, 13)
    rect_line = polyline([(x + fat_ant + rw / 2 + 2, y) for x, y in front[:-1]]
                         + [tuple(sym_top + np.array([-4, -2]))], 3)
    # --- bowel loops (painted before organs so organs and walls clip them)
    bladder_fill = float(u(0, 1) ** 0.9)
    hb, db = 22 + 85 * bladder_fill, 28 + 52 * bladder_fill
    bn = np.array([u(12, 20), u(-4, 6)])
    hyst = bool(u() < 0.12)
    postmeno = bool(not hyst and u() < 0.25)
    version = str(rng.choice(["anteverted", "mid", "retroverted"], p=[0.6, 0.15, 0.25]))
    rect_content = str(rng.choice(["empty", "gas", "stool", "gel"], p=[0.3, 0.2, 0.25, 0.25]))
    vag_gel = bool(u() < 0.2)

    n_loops = int(rng.integers(10, 22))
    loop_y_max = bn[1] - hb - 5
    loops = []
    for _ in range(n_loops):
        y = u(top + 5, max(loop_y_max + 25, top + 40))
        x = u(ant_wall + fat_ant + rw + 12 - bulge * 0.6, pr[0] - 15)
        r = u(8, 19)
        content = rng.choice([FLUID, GAS, STOOL, BOWWALL], p=[0.4, 0.2, 0.2, 0.2])
        pts = blob(rng, (x, y), r, r * u(0.6, 1.0), u(0, np.pi), n=8, jit=0.15)
        cv.poly(pts, BOWWALL)
        if content != BOWWALL:
            inner = blob(rng, (x, y), r - u(2, 3.5), (r - 2.5) * u(0.5, 0.9),
                         u(0, np.pi), n=7, jit=0.1)
            cv.poly(inner, int(content))
        loops.append([float(x), float(y), float(r)])

    # aorta / IVC anterior to the lumbar bodies, bifurcating at about L4
    ao_pts = [v[0] - np.array([vd / 2 + u(10, 14), 0]) for v in verts[1:]][::-1]
    if len(ao_pts) >= 2:
        cv.poly(tube(polyline(ao_pts, 3), [u(7, 11)] * 3), VESSEL)
    for _ in range(int(rng.integers(3, 10))):  # small mesenteric vessels
        c = (u(ant_wall + fat_ant + 20, pr[0] - 20), u(top, loop_y_max))
        cv.poly(blob(rng, c, u(1.2, 2.5), u(1.2, 2.5), n=6), VESSEL)

    # --- vagina / uterus geometry
    vag_len = u(62, 80) if hyst else u(70, 90)
    vag_ang = u(28, 45)  # degrees from cranial towards posterior
    vag_dir = _unit(_rot(np.array([0.0, -1.0]), vag_ang))
    apex = introitus + vag_dir * vag_len
    vmid = introitus + vag_dir * vag_len * 0.4 + _rot(vag_dir, 90) * u(-4, 2)
    vag_hw = u(4.5, 7.5) + (3 if vag_gel else 0)

    # bladder
    b_center = bn + np.array([0.33 * db + u(-3, 6), -hb / 2 + 2])
    bpoly = blob(rng, b_center, db / 2, hb / 2, np.deg2rad(u(-15, 15)), n=12,
                 jit=0.06 + 0.08 * (1 - bladder_fill))
    k = np.argmin(np.linalg.norm(bpoly - bn, axis=1))  # pull the base towards the neck
    wgt = np.exp(-((np.arange(len(bpoly)) - k + len(bpoly) // 2) % len(bpoly)
                   - len(bpoly) // 2) ** 2 / (2 * (len(bpoly) / 14) ** 2))
    bpoly = bpoly + wgt[:, None] * (bn - bpoly[k])
    bpoly = push_out(bpoly, introitus, apex, vag_hw + u(2, 5), side=-1, y_from=apex[1] - 15)
    top_bladder = float(bpoly[:, 1].min())

    # urethra (not labelled): from bladder neck to meatus just anterior of the introitus
    meatus = introitus + np.array([-u(6, 10), -u(3, 7)])
    ure = polyline([bn, 0.5 * (bn + meatus) + np.array([u(-2, 2), 0]), meatus], 3)
    cv.walled(ure, [u(3.5, 5)] * 3, 2.5, MUSCLE, MUCUS)

    # perineal body and levator / sphincter muscles
    arj = np.array([u(55, 70), u(15, 28)])
    arj = push_out(arj[None], introitus, apex, vag_hw + u(12, 18), side=1)[0]
    pb = 0.5 * (introitus + anus) + np.array([0, -u(6, 12)])
    cv.poly(blob(rng, pb, u(7, 11), u(6, 9), n=8), MUSCLE)
    lev = polyline([arj + np.array([-2, 10]), arj + np.array([12, 3]),
                    0.5 * (arj + cocc[-1]) + np.array([0, u(0, 4)]), cocc[-1]], 3)
    cv.line(lev, MUSCLE, u(6, 10))
    can_dir = _unit(anus - arj)
    cv.poly(tube(polyline([arj, anus + can_dir * 2], 2), [u(11, 14)] * 2), SPHINCTER)
    glut = blob(rng, (cocc[-1][0] + 25 + fat_back * 0.3, cocc[-1][1] + 20),
                u(14, 24), u(20, 30), np.deg2rad(40), n=8)
    cv.poly(glut, MUSCLE)

    # rectum (label 3) and sigmoid (not labelled)
    gap = u(6, 18)
    r_hw = {"empty": u(7, 10), "gas": u(13, 20), "stool": u(13, 22), "gel": u(16, 25)}
    amp_hw = r_hw[rect_content]
    rs = sac_front[2] + sac_n[2] * (gap + amp_hw * 0.7)
    rmid = sac_front[3] + sac_n[3] * (gap + amp_hw)
    ramp = 0.5 * (sac_front[4] + arj) + sac_n[4] * (gap * 0.5 + amp_hw * 0.6)
    r_ctrl = np.array([rs, rmid, ramp, arj, arj + can_dir * 12, anus + can_dir * 1.5])
    r_line = polyline(r_ctrl, 3)
    hws = [amp_hw * 0.7, amp_hw * 0.95, amp_hw, amp_hw * 0.6, u(5.5, 7.5), u(5, 6.5)]
    routline = tube(r_line, hws)
    routline = push_out(routline, introitus, apex, vag_hw + u(1.5, 4), side=1,
                        y_from=apex[1] - 25)
    sig_dir = _unit(rs - rmid)
    sig = polyline([rs, rs + sig_dir * 25, rs + sig_dir * 30 + np.array([-u(15, 35), -u(5, 20)]),
                    (u(20, 60), u(top_bladder - 40, top_bladder - 10))], 3)
    cv.walled(sig, [amp_hw * 0.7, u(9, 14), u(9, 14), u(8, 12)], 3, BOWWALL,
              int(rng.choice([STOOL, GAS, FLUID, BOWWALL])))
    cv.poly(routline, RWALL, 3)
    content_cls = {"empty": MUCUS, "gas": GAS, "stool": STOOL, "gel": GEL}[rect_content]
    wall_t = u(2.5, 4)
    if rect_content == "empty":
        cv.line(r_line[: int(len(r_line) * 0.8)], MUCUS, 1.2, 3)
    else:
        inner = tube(r_line, [max(x - wall_t, 0.8) for x in hws[:3]] + [2.5, 0.8, 0.6])
        inner = push_out(inner, introitus, apex, vag_hw + 5, side=1, y_from=apex[1] - 25)
        cv.poly(inner, content_cls, 3)
        cv.line(r_line[int(len(r_line) * 0.72):], MUCUS, 1.0, 3)

    # bladder (label 1)
    cv.poly(bpoly, BWALL, 1)
    bwall = u(2, 4) * (1.3 - 0.6 * bladder_fill)
    inner = b_center + (bpoly - b_center) * (1 - bwall / max(min(db, hb) / 2, 5))
    cv.poly(inner, URINE, 1)

    # uterus + vagina (label 2)
    cv.walled(polyline([introitus - vag_dir * 1.5, vmid, apex], 3), [vag_hw] * 3,
              vag_hw - (u(2, 3) if vag_gel else 0.9), VWALL, GEL if vag_gel else MUCUS, 2)
    uterus = {"hysterectomy": hyst, "postmenopausal": postmeno, "version": version}
    if hyst:
        cv.poly(blob(rng, apex, vag_hw + 1, vag_hw + 1, n=8, jit=0.05), VWALL, 2)
    else:
        c_ang = vag_ang + {"anteverted": -u(60, 100), "mid": -u(20, 45),
                           "retroverted": u(-25, 5)}[version]
        flex = {"anteverted": u(-30, 5), "mid": u(-10, 10), "retroverted": u(5, 35)}[version]
        flex = float(np.clip(c_ang + flex, -85, 70) - c_ang)
        c_dir = _unit(_rot(np.array([0.0, -1.0]), c_ang))
        c_len, c_hw = u(22, 32), u(10, 14)
        c0 = apex - vag_dir * u(6, 10)
        c1 = c0 + c_dir * c_len
        if postmeno:
            bl, bw = u(35, 50), u(18, 26)
        else:
            bl, bw = u(50, 85), u(30, 48)
        big = bool(not postmeno and u() < 0.2)
        if big:
            bl, bw = bl * u(1.2, 1.5), bw * u(1.2, 1.5)
        b_dir = _unit(_rot(c_dir, flex))
        ucen = c1 + b_dir * bl * 0.42
        need = ucen[1] - (top_bladder - bw * 0.3)
        if version == "anteverted" and need > 0:  # rest on the dome: tilt more cranially
            b_dir = _unit(b_dir + np.array([0.0, -1.0]) * min(need / 20.0, 3.0))
            ucen = c1 + b_dir * bl * 0.42
        ang = np.arctan2(b_dir[1], b_dir[0])
        cv.poly(blob(rng, 0.5 * (c0 + c1), c_len / 2 + 4, c_hw,
                     float(np.arctan2(c_dir[1], c_dir[0])), n=8, jit=0.05), CERVIX, 2)
        upoly = blob(rng, ucen, bl / 2 + 3, bw / 2, ang + np.pi, n=10, jit=0.07, taper=0.35)
        for _ in range(10):  # the uterus rests on the bladder, it does not swallow it
            if _overlap(upoly, bpoly) < 0.12:
                break
            shift = np.array([0.0, -5.0]) if version == "anteverted" else _unit(
                ucen - b_center) * 5.0
            ucen, upoly = ucen + shift, upoly + shift
        b_dir = _unit(ucen - c1)
        ang = np.arctan2(b_dir[1], b_dir[0])
        cv.poly(upoly, MYO, 2)
        cv.poly(tube(polyline([c1 - c_dir * 6, ucen], 1), [c_hw * 0.9, c_hw]), MYO, 2)  # isthmus
        n_fib = int(rng.choice([0, 1, 2, 3], p=[0.55, 0.25, 0.12, 0.08]) if not postmeno else 0)
        fibs = []
        for _ in range(n_fib):
            fr = u(7, 22)
            off = _rot(b_dir, u(-120, 120)) * u(0.2, 0.5) * bw + b_dir * u(0, bl * 0.3)
            cv.poly(blob(rng, ucen + off, fr, fr * u(0.8, 1), n=8, jit=0.06), FIBROID, 2)
            fibs.append(round(float(fr), 1))
        et = u(1.5, 3) if postmeno else u(3, 9)
        cv.poly(blob(rng, ucen - b_dir * 2, bl * 0.36, et + 3, ang, n=8, jit=0.05), JZ, 2)
        cv.poly(blob(rng, ucen - b_dir * 2, bl * 0.33, et, ang, n=8, jit=0.05), ENDO, 2)
        cv.line(polyline([c0 + c_dir * 3, c1 + b_dir * 3], 1), MUCUS, 1.5, 2)
        fundus = ucen + b_dir * bl / 2
        uterus.update(body_length_mm=round(float(bl), 1), body_width_mm=round(float(bw), 1),
                      enlarged=big, fibroids_mm=fibs)

    # muscles and bones last (they clear labels)
    cv.poly(tube(rect_line, [rw / 2] * 4), MUSCLE)
    for c, d in verts:  # posterior elements, canal, paraspinal muscle
        n = np.array([-d[1], d[0]]) * -1  # posterior normal
        if n[0] < 0:
            n = -n
        cv.poly(blob(rng, c + n * (vd / 2 + 45), 24, 18, 0, n=8, jit=0.08), MUSCLE)
        cv.poly(blob(rng, c + n * (vd / 2 + 32), 14, 8, np.arctan2(n[1], n[0]), n=8), MARROW)
    canal = polyline([v[0] + np.array([vd / 2 + 9, 0]) for v in verts[::-1]]
                     + [sac_front[1] + np.array([sac_thick[1] * 0.65, 0]),
                        sac_front[3] + np.array([sac_thick[3] * 0.6, 0])], 3)
    cv.poly(tube(canal, [7, 7, 6, 5, 4, 2]), CSF)
    for c, d in verts:
        n = np.array([-d[1], d[0]])
        corners = [c + d * vh / 2 + n * vd / 2, c + d * vh / 2 - n * vd / 2,
                   c - d * vh / 2 - n * vd / 2, c - d * vh / 2 + n * vd / 2]
        vb = chaikin(np.array(corners), 2)
        cv.poly(vb, CORTEX)
        cv.poly(c + (vb - c) * 0.88, MARROW)
        dc_ = c - d * (vh / 2 + dh / 2)
        cv.poly(blob(rng, dc_, vd / 2 - 1, dh / 2, np.arctan2(n[1], n[0]), n=8, jit=0.03), DISC)
    sac_back = sac_front - sac_n * sac_thick[:, None]
    sac_poly = np.vstack([polyline(sac_front, 2), polyline(sac_back, 2)[::-1]])
    cv.poly(sac_poly, CORTEX)
    cv.poly(tube(polyline(0.5 * (sac_front + sac_back), 2), sac_thick / 2 - 2.5), MARROW)
    for i in range(1, 5):  # rudimentary sacral discs
        cv.line([sac_front[i] + sac_n[i] * -1, sac_back[i]], DISC, 1.2)
    cv.poly(tube(polyline(cocc, 2), [5, 4, 3.5, 2.5]), CORTEX)
    cv.poly(tube(polyline(cocc, 2), [3, 2.4, 2, 1.2]), MARROW)
    sym = blob(rng, (0, 0), s_len, s_wid, np.arctan2(ax[1], ax[0]), n=10, jit=0.04)
    cv.poly(sym, CORTEX)
    cv.poly(sym * 0.8, MARROW)

    cls = np.array(cv.cls, dtype=np.uint8)
    lab = np.array(cv.lab, dtype=np.uint8)
    body = Image.new("L", (cv.w2, cv.h2), 0)
    ImageDraw.Draw(body).polygon(cv._xy(outline), fill=1)
    body = ndimage.binary_dilation(np.array(body, bool), iterations=2)
    cls[~body] = AIR
    lab[~body] = 0
    # no sliver thinner than ~3 pixels, then one connected piece per organ
    yy, xx = np.mgrid[-3:4, -3:4]
    disk = yy ** 2 + xx ** 2 <= 9
    for k in (1, 2, 3):
        m_k = lab == k
        thin = m_k & ~ndimage.binary_opening(m_k, structure=disk)
        lab[thin] = 0
        cls[thin] = FAT
    for k in (1, 2, 3):
        cc, n = ndimage.label(lab == k, structure=np.ones((3, 3)))
        if n > 1:
            sizes = ndimage.sum(np.ones_like(cc), cc, index=np.arange(1, n + 1))
            keep = 1 + int(np.argmax(sizes))
            drop = (cc > 0) & (cc != keep)
            lab[drop] = 0
            cls[drop] = FAT
    # stool and gas bubbles inside stool regions
    stool = cls == STOOL
    if stool.any():
        bub = ndimage.gaussian_filter(rng.standard_normal(cls.shape), 2.0)
        cls[stool & (bub > np.percentile(bub, 97))] = GAS

    # --- landmarks (body mm) with displacement directions at full strain
    m = u(0.4, 1.35)
    maneuver = str(rng.choice(["valsalva", "defecation", "squeeze_strain", "cough",
                               "repeated"], p=[0.35, 0.25, 0.15, 0.1, 0.15]))
    if maneuver == "defecation":
        m *= 1.3
    common = m * u(10, 24)
    d_bn = common * u(0.6, 1.3) * _unit((u(0.2, 0.6), 1))
    d_cx = common * u(0.5, 1.3) * _unit((u(-0.3, 0.2), 1))
    d_ar = common * u(0.7, 1.4) * _unit((u(0.05, 0.45), 1))
    d_per = 0.45 * d_ar + m * u(0, 5) * _unit((u(0, 0.3), 1))
    cystocele = bool(u() < 0.3)
    rectocele = bool(u() < 0.3)
    d_cys = np.array([u(2, 8), u(6, 18)]) * m if cystocele else np.zeros(2)
    d_rc = np.array([-u(5, 15), u(0, 6)]) * m if rectocele else np.zeros(2)
    moving = [
        (bn, d_bn), (bn + np.array([db * 0.45, -4]), d_bn * 1.1 + d_cys),
        (b_center, 0.45 * d_bn), (b_center + np.array([0, -hb * 0.45]), 0.2 * d_bn),
        (0.5 * (bn + meatus), 0.55 * d_bn + 0.3 * d_per), (introitus, d_per),
        (vmid, 0.5 * (d_bn + d_ar) * 0.8 + 0.5 * (d_cys + d_rc)), (apex, d_cx),
        (arj, d_ar), (ramp + sac_n[4] * amp_hw * 0.3, 0.7 * d_ar + d_rc),
        (rmid, 0.3 * d_ar), (anus, d_per * 1.1), (pb, d_per),
        (arj + 0.4 * (cocc[-1] - arj) + np.array([0, 6]), 0.55 * d_ar),
    ]
    if not hyst:
        moving += [(c1, 0.75 * d_cx), (fundus, 0.4 * d_cx + _rot(d_cx, 90) * 0.25)]
    abd = [((ant_wall + fat_ant + rw + 5, -60.0), np.array([-u(0, 8), u(0, 4)]))]
    breath = [(np.array([x, y]), np.array([0.0, 0.0])) for x in (0.0, 45.0)
              for y in (top_bladder - 30, top_bladder - 90)]
    fixed = [np.zeros(2), sym_top, sym_bot, sym_top + np.array([-10, 4])]
    fixed += list(sac_front) + list(sac_back) + list(cocc[1:])
    fixed += [c for c, _ in verts] + [c - np.array([vd / 2 + 3, 0]) for c, _ in verts]
    fixed += [np.array([spine_back, y]) for y in (top, pr[1], 0)]
    fixed += [np.array([x, introitus[1] + 45]) for x in (-40, 40, 120)]
    params = {
        "anatomy": {"habitus": habitus, "subcutaneous_fat_mm": round(float(fat_ant), 1),
                    "pelvic_tilt_deg": round(float(np.rad2deg(tilt)), 1),
                    "bladder_fill": round(bladder_fill, 3), "uterus": uterus,
                    "vaginal_gel": vag_gel, "rectal_content": rect_content,
                    "n_bowel_loops": n_loops},
        "motion": {"maneuver": maneuver, "severity": round(float(m), 3),
                   "cystocele": cystocele, "rectocele": rectocele,
                   "bladder_neck_descent_mm": round(float(np.linalg.norm(d_bn)), 1),
                   "cervix_descent_mm": round(float(np.linalg.norm(d_cx)), 1),
                   "anorectal_descent_mm": round(float(np.linalg.norm(d_ar)), 1)},
    }
    return dict(rng=rng, h=h, w=w, dr=dr, dc=dc, cls=cls, lab=lab, canvas=cv,
                moving=moving, abd=abd, breath=breath, fixed=fixed, params=params,
                n_frames=n_frames)


# ----------------------------------------------------------------------------- imaging
def strain_curve(rng, t, maneuver):
    """Strain s(t) in about [-0.4, 1] for the frame times t (s)."""
    u = rng.uniform
    dur = t[-1] if t[-1] > 0 else 1.0

    def bump(t0, rise, hold, fall, amp):
        a = np.clip((t - t0) / max(rise, 1e-3), 0, 1)
        b = np.clip((t - t0 - rise - hold) / max(fall, 1e-3), 0, 1)
        sm = lambda x: x * x * (3 - 2 * x)  # noqa: E731
        return amp * (sm(a) - sm(b))

    t0 = u(0.08, 0.25) * dur
    if maneuver in ("valsalva", "defecation"):
        s = bump(t0, u(0.1, 0.25) * dur, u(0.2, 0.4) * dur, u(0.1, 0.2) * dur, 1.0)
    elif maneuver == "squeeze_strain":
        s = bump(t0, 0.1 * dur, 0.12 * dur, 0.08 * dur, -u(0.25, 0.45))
        s += bump(t0 + 0.4 * dur, 0.1 * dur, 0.25 * dur, 0.1 * dur, 1.0)
    elif maneuver == "cough":
        s = np.zeros_like(t)
        for k in range(int(rng.integers(2, 5))):
            s += bump(t0 + k * u(0.15, 0.22) * dur, 0.03 * dur, 0.0, 0.05 * dur, u(0.5, 0.9))
        s = np.minimum(s, 1.0)
    else:
        s = np.zeros_like(t)
        n = int(rng.integers(2, 4))
        for k in range(n):
            s += bump(t0 + k * 0.8 * dur / n, 0.1 * dur, 0.08 * dur, 0.1 * dur, u(0.6, 1.0))
        s = np.minimum(s, 1.0)
    return s


def _tissue_image(rng, cls, seq, fat_sat):
    u = rng.uniform
    table = np.array([_BASE[seq][k] for k in range(N_CLASSES)]) * u(0.85, 1.15, N_CLASSES)
    if fat_sat:
        table[FAT] *= u(0.08, 0.25)
        table[MARROW] *= u(0.25, 0.5)
        table[SKIN] *= 0.6
    img = table[cls]
    n1 = ndimage.gaussian_filter(rng.standard_normal(cls.shape), 4.0)
    n2 = ndimage.gaussian_filter(rng.standard_normal(cls.shape), 1.2)
    n1 /= n1.std() + 1e-9
    n2 /= n2.std() + 1e-9
    amp = np.full(N_CLASSES, 0.05)
    amp[[STOOL, BOWWALL, MARROW]] = 0.2
    amp[[FAT, MYO]] = 0.08
    amp[[URINE, GEL, CSF]] = 0.02
    img = img * (1 + amp[cls] * n1 * u(0.6, 1.4) + 0.5 * amp[cls] * n2)
    if seq == "bssfp" and not fat_sat:  # dark fat–water boundary lines
        fat = cls == FAT
        water = (cls != FAT) & (cls != AIR) & (cls != CORTEX)
        edge = fat & ndimage.binary_dilation(water, iterations=1)
        img[edge] *= u(0.15, 0.45)
    return np.clip(img, 0, None)


def _signed_areas(pts, simplices):
    v = pts[simplices]
    a, b = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]
    return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]


def _warp_maps(src_pts, dst_pts, simplices, h, w):
    """Backward piecewise-affine map: for each output pixel, its rest (row, col).

    ``simplices`` is the Delaunay triangulation of the rest landmarks; displacements are
    limited so that no triangle flips, so the map is a homeomorphism.  The displaced
    triangles are rasterized (triangle index per pixel) and each pixel is mapped by its
    triangle's affine map back to the rest frame."""

    idx = Image.new("I", (w, h), -1)
    dr_ = ImageDraw.Draw(idx)
    for k, sim in enumerate(simplices):
        dr_.polygon([(float(dst_pts[v, 1]), float(dst_pts[v, 0])) for v in sim], fill=k)
    simp = np.array(idx, dtype=np.int64).ravel()
    rr, cc = np.mgrid[0:h, 0:w]
    pts = np.stack([rr.ravel(), cc.ravel()], 1).astype(float)
    ok = simp >= 0
    out = pts.copy()
    v = dst_pts[simplices]  # (n, 3, 2)
    mat = np.stack([v[:, 0] - v[:, 2], v[:, 1] - v[:, 2]], axis=2)  # columns
    det = mat[:, 0, 0] * mat[:, 1, 1] - mat[:, 0, 1] * mat[:, 1, 0]
    det = np.where(np.abs(det) < 1e-9, 1e-9, det)
    inv = np.stack([np.stack([mat[:, 1, 1], -mat[:, 0, 1]], 1),
                    np.stack([-mat[:, 1, 0], mat[:, 0, 0]], 1)], 1) / det[:, None, None]
    sel = simp[ok]
    bary2 = np.einsum("nij,nj->ni", inv[sel], pts[ok] - v[sel, 2])
    bary = np.c_[bary2, 1 - bary2.sum(1)]
    vert = simplices[simp[ok]]
    out[ok] = np.einsum("ni,nij->nj", bary, src_pts[vert])
    return out[:, 0].reshape(h, w), out[:, 1].reshape(h, w)


def choose_sequence(seed: int) -> tuple[str, bool]:
    """Sequence family and fat suppression of a seed (own random stream)."""
    rng = np.random.default_rng([int(seed), 0x5E9])
    seq = str(rng.choice(SEQUENCES, p=[0.4, 0.3, 0.15, 0.15]))
    return seq, bool(seq in ("haste", "pd", "t1") and rng.uniform() < 0.2)


def generate(seed: int, matrix=None, n_frames=None):
    """Return (CineSeries, truth uint8 (T,H,W), params dict) for one seed."""
    case = build_case(seed, matrix, n_frames)
    rng = case["rng"]
    u = rng.uniform
    h, w, dr, dc = case["h"], case["w"], case["dr"], case["dc"]
    cv = case["canvas"]
    seq, fat_sat = choose_sequence(seed)
    img2 = _tissue_image(rng, case["cls"], seq, fat_sat)
    blur = u(0.4, 1.0)
    img2 = ndimage.gaussian_filter(img2, 2 * blur)
    lab2 = case["lab"]

    t_n = int(rng.integers(15, 41)) if n_frames is None else int(n_frames)
    dt = round(float(u(0.5, 2.0)), 3)
    times = np.arange(t_n) * dt
    maneuver = case["params"]["motion"]["maneuver"]
    s = strain_curve(rng, times, maneuver)
    br_amp, br_per, br_ph = u(0.5, 3.0), u(3.5, 6.0), u(0, 2 * np.pi)
    breath = br_amp * np.sin(2 * np.pi * times / br_per + br_ph)

    # landmarks in 1x pixel coordinates
    mv_p = cv.to_px1(np.array([p for p, _ in case["moving"]]))
    mv_d = np.array([d for _, d in case["moving"]])
    ab_p = cv.to_px1(np.array([p for p, _ in case["abd"] + case["breath"]]))
    ab_d = np.array([d for _, d in case["abd"] + case["breath"]])
    fx_p = cv.to_px1(np.array(case["fixed"]))
    border = []
    for a in np.linspace(-0.05, 1.05, 7):
        border += [(a * h, -0.05 * w), (a * h, 1.05 * w), (-0.05 * h, a * w), (1.05 * h, a * w)]
    fx_p = np.vstack([fx_p, np.array(border)])

    def mm_to_px(d):  # body-mm displacement → 1x pixel displacement (rotate, scale)
        q = cv.to_img_mm(d) - cv.to_img_mm(np.zeros((1, 2)))
        return np.stack([q[:, 1] / dr, q[:, 0] / dc], 1)

    mv_dp, ab_dp = mm_to_px(mv_d), mm_to_px(ab_d)
    brv = mm_to_px(np.array([[0.0, 1.0]]))[0]
    # dense grid whose displacement is a Gaussian-weighted (Shepard) average of the
    # landmark displacements (fixed points count as zero): the piecewise-affine warp then
    # approximates a smooth field; grid points on bone stay fixed.
    lm_p = np.vstack([mv_p, ab_p, fx_p])
    lm_ds = np.vstack([mv_dp, ab_dp, np.zeros_like(fx_p)])
    lm_db = np.vstack([np.tile(0.4 * brv, (len(mv_p), 1)), np.tile(brv, (len(ab_p), 1)),
                       np.zeros_like(fx_p)])
    step = 14.0 / min(dr, dc)
    gr, gc = np.meshgrid(np.arange(step / 2, h, step), np.arange(step / 2, w, step),
                         indexing="ij")
    grid = np.stack([gr.ravel(), gc.ravel()], 1)
    dist = np.linalg.norm(grid[:, None] - lm_p[None], axis=2)
    grid = grid[dist.min(1) > 0.45 * step]
    dist = np.linalg.norm(grid[:, None] - lm_p[None], axis=2)
    wgt = np.exp(-0.5 * (dist / (16.0 / min(dr, dc))) ** 2) + 1e-12
    wgt /= wgt.sum(1, keepdims=True)
    g_ds, g_db = wgt @ lm_ds, wgt @ lm_db
    gcls = case["cls"][np.clip((2 * grid[:, 0] + 0.5).astype(int), 0, 2 * h - 1),
                       np.clip((2 * grid[:, 1] + 0.5).astype(int), 0, 2 * w - 1)]
    on_bone = np.isin(gcls, [CORTEX, MARROW, DISC, CSF])
    g_ds[on_bone] = 0
    g_db[on_bone] = 0
    mov_p = np.vstack([mv_p, ab_p, grid])
    mov_ds = np.vstack([mv_dp, ab_dp, g_ds])
    mov_db = np.vstack([np.tile(0.4 * brv, (len(mv_p), 1)), np.tile(brv, (len(ab_p), 1)),
                        g_db])
    src = np.vstack([mov_p, fx_p])
    simplices = Delaunay(src).simplices
    area0 = _signed_areas(src, simplices)

    def dst_at(si, bi, scale):
        return np.vstack([mov_p + scale * si * mov_ds + bi * mov_db, fx_p])

    motion_scale = 1.0
    for _ in range(12):  # shrink the motion until no triangle flips (or gets too thin)
        ok = True
        for si in (float(s.min()), float(s.max())):
            for bi in (-br_amp, br_amp):
                a1 = _signed_areas(dst_at(si, bi, motion_scale), simplices)
                ok &= bool(np.all(a1 * np.sign(area0) > 0.2 * np.abs(area0)))
        if ok:
            break
        motion_scale *= 0.85

    # bias field, ghosting choice, noise
    rr, cc = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    bias = ndimage.gaussian_filter(rng.standard_normal((h, w)), min(h, w) / 5)
    bias = np.exp(u(0.1, 0.35) * bias / (bias.std() + 1e-9))
    bias *= 1 + u(-0.3, 0.3) * (rr - 0.5) + u(0.1, 0.5) * (2 * cc - 1) ** 2
    snr = float(u(5, 40))
    ghost = bool(u() < 0.25)
    g_amp, g_shift = u(0.03, 0.12), int(rng.integers(w // 5, w // 2))
    scale = float(10 ** u(1.0, 3.5))

    frames = np.empty((t_n, h, w), np.float32)
    truth = np.empty((t_n, h, w), np.uint8)
    ref_level = None
    for i in range(t_n):
        dst = dst_at(s[i], breath[i], motion_scale)
        sr_, sc_ = _warp_maps(src, dst, simplices, h, w)
        coords = np.stack([2 * sr_ + 0.5, 2 * sc_ + 0.5])
        im = ndimage.map_coordinates(img2, coords, order=1, mode="nearest")
        truth[i] = ndimage.map_coordinates(lab2, coords, order=0, mode="nearest")
        im = im * bias
        if ref_level is None:
            ref_level = float(np.mean(im[im > 0.05 * im.max()]))
        if ghost:
            im = im + g_amp * np.roll(im, g_shift, axis=1) * (0.6 + 0.4 * np.sin(i))
        sig = ref_level / snr
        re = im + rng.normal(0, sig, im.shape)
        imn = rng.normal(0, sig, im.shape)
        frames[i] = (np.sqrt(re * re + imn * imn) * scale).astype(np.float32)

    params = {
        "generator": GENERATOR, "seed": int(seed), "matrix": [h, w],
        "spacing_mm": [dr, dc], "n_frames": t_n, "frame_interval_s": dt,
        "organs": list(ORGANS),
        "imaging": {"sequence": seq, "fat_suppression": fat_sat, "snr": round(snr, 2),
                    "ghosting": ghost, "blur_px": round(float(blur), 3),
                    "intensity_scale": round(scale, 3)},
        "orientation": "rows head->feet, columns anterior->posterior",
        **case["params"],
    }
    params["motion"]["breathing_mm"] = round(float(br_amp), 2)
    params["motion"]["motion_scale"] = round(float(motion_scale), 3)
    params["motion"]["strain_curve"] = [round(float(x), 3) for x in s]
    desc = {"haste": "cine sag (haste)", "bssfp": "cine sag (bssfp)", "t1": "cine sag (t1)",
            "pd": "cine sag (pd)"}[seq]
    series = CineSeries(frames=frames, spacing_mm=(dr, dc), times_s=times,
                        meta={"series_description": desc, "subject_id": f"sketch_{seed:03d}",
                              "orientation": "sagittal (canonical)"})
    return series, truth, params


def write_case(job) -> str:
    seed, out = job
    series, truth, params = generate(seed)
    case_dir = Path(out) / f"{GENERATOR}_{seed:03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=seed,
                       patient_name=f"SKETCH^{seed:03d}", patient_id=f"sketch_{seed:03d}",
                       slice_thickness_mm=float(np.random.default_rng(seed).uniform(5, 8)))
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    return (f"{case_dir.name}: {params['imaging']['sequence']} {params['matrix']} "
            f"{params['n_frames']} frames, {params['motion']['maneuver']}")


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
