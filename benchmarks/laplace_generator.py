"""Synthetic cine mid-sagittal pelvic-floor MRI with exact organ truth ("laplace" generator).

Anatomy is built per seed in a patient frame (u: mm towards posterior, v: mm towards the
feet, origin at the centre of the pubic symphysis), then tilted (pelvic tilt) and placed
in the field of view.  The bladder and the uterine body are superquadrics; the vagina,
cervix, rectum + anal canal, urethra, sigmoid, vessels and the sacrum/coccyx are B-spline
tubes with varying radius.  Around them: skin, subcutaneous and pelvic fat, rectus
abdominis, paraspinal and gluteal muscles, levator plate, puborectalis, perineal body,
external anal sphincter, pubic symphysis, sacrum, coccyx, lumbar vertebrae with discs,
marrow and the CSF of the canal, aorta/iliac vessels, small-bowel loops with fluid, gas or
stool, and air outside the body.  The rest anatomy is rendered on a 2x supersampled grid
(partial volume) as separate water and fat signals.

Motion: each frame's displacement is a linear combination of harmonic fields.  A field
solves Laplace's equation on a coarse (~4 mm) grid by a sparse LU solve, with Dirichlet
values 0 on the grid border, on all bones and outside the body (except a window below the
perineum so the perineum can bulge), and with the manoeuvre's displacements on small
discs at organ landmarks (bladder neck/base/dome, cervix or vaginal cuff, fundus, mid
vagina, anorectal junction, anal verge, perineal body, ampulla, rectosigmoid).  Strain
and defecation move the bladder base and cervix down and back, the anorectal junction down
and back (the anorectal angle opens) and the perineum down; squeeze lifts them (negative,
smaller); a cough is a brief spike; defecation adds an emptying field that collapses the
ampulla; an optional rectocele field bulges the anterior rectal wall.  The coarse fields
are upsampled bilinearly; the amplitude is reduced until det(I - grad d) > 0.25 in every
frame (no folding).  A small breathing drift (cranial parts more) is added.  Image (water
and fat, bilinear) and labels (nearest neighbour) are warped with the same backward map.

Acquisition: per-tissue PD/T1/T2 (randomised, 1.5 T or 3 T) into signal equations of
single-shot T2 FSE ("haste"), balanced SSFP ("bssfp"), T1 spoiled GRE in or opposed phase
("t1_gre"; opposed phase |W - F| gives dark lines at fat-water borders), PD FSE ("pd_fse"),
optional fat suppression.  Artefacts: chemical shift of fat along the readout (0-2 px),
phase-axis distortion from a smooth off-resonance map, Gibbs ringing (k-space truncation),
occasional phase-axis ghost, smooth receive bias, Rician noise (SNR 5-40), global scale.

Image orientation: row 0 cranial, rows towards the feet; column 0 anterior.

Label conventions (uint8 truth (T, H, W); 0 background, 1 bladder, 2 uterus_vagina,
3 rectum; exclusive; every organ is one 8-connected piece in every frame):
  * bladder: wall + urine down to the bladder neck (internal urethral orifice).  The
    urethra is NOT labelled.
  * uterus_vagina: uterine body (myometrium, junctional zone, endometrium, fibroids),
    cervix and vagina (walls + lumen/gel) from the fornices down to the introitus at the
    perineal skin; vestibule/labia not labelled.  After hysterectomy only the vagina up to
    its cuff is labelled.
  * rectum: rectal wall + content from the rectosigmoid junction (where the bowel leaves
    the sacral concavity, about S3) through the anal canal (mucosa and internal sphincter)
    to the anal verge.  The sigmoid and the external anal sphincter are not labelled.
  * Truth follows the water signal: the phase-axis distortion is applied to the labels as
    well; the fat chemical shift is not (organs are water).  All three organs are always
    present.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.interpolate import splev, splprep
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import splu
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.series import CineSeries  # noqa: E402

SEQUENCES = ("haste", "bssfp", "t1_gre", "pd_fse")
MANOEUVRES = ("rest", "squeeze", "strain", "cough", "defecation")

# tissue ids
(AIR, FAT, SKIN, MUSCLE, BONE, MARROW, DISC, NUCLEUS, CSF, BLOOD, URINE, BWALL, MYO, ENDO,
 JZ, FIBROID, CERVIX, CANAL, VWALL, VLUMEN, GEL, RWALL, STOOL, BOWWALL, BFLUID, URETHRA,
 MUCUS) = range(27)
N_TISSUE = 27

# (pd_water, pd_fat, T1 1.5T, T1 3T, T2 1.5T, T2 3T) in ms
TISSUES = {
    AIR: (0.0, 0.0, 1000, 1000, 1, 1),
    FAT: (0.05, 0.9, 1000, 1100, 60, 50),
    SKIN: (0.7, 0.1, 800, 1000, 45, 40),
    MUSCLE: (0.7, 0.0, 870, 1400, 45, 38),
    BONE: (0.04, 0.0, 800, 900, 5, 5),
    MARROW: (0.3, 0.65, 900, 1000, 60, 50),
    DISC: (0.75, 0.0, 1000, 1200, 80, 70),
    NUCLEUS: (0.85, 0.0, 1200, 1400, 140, 120),
    CSF: (1.0, 0.0, 3500, 4200, 1800, 1600),
    BLOOD: (0.85, 0.0, 1400, 1900, 250, 150),
    URINE: (1.0, 0.0, 3000, 3800, 1500, 1300),
    BWALL: (0.7, 0.0, 1000, 1300, 60, 50),
    MYO: (0.8, 0.0, 1300, 1600, 110, 95),
    ENDO: (0.85, 0.0, 1300, 1600, 160, 140),
    JZ: (0.7, 0.0, 1000, 1300, 55, 50),
    FIBROID: (0.65, 0.0, 900, 1200, 40, 35),
    CERVIX: (0.7, 0.0, 1100, 1400, 65, 55),
    CANAL: (0.9, 0.0, 1500, 1800, 200, 180),
    VWALL: (0.72, 0.0, 1100, 1400, 75, 65),
    VLUMEN: (0.85, 0.0, 1500, 1800, 180, 160),
    GEL: (1.0, 0.0, 2800, 3300, 900, 800),
    RWALL: (0.72, 0.0, 1100, 1400, 65, 55),
    STOOL: (0.6, 0.1, 600, 700, 60, 50),
    BOWWALL: (0.72, 0.0, 1100, 1400, 70, 60),
    BFLUID: (0.95, 0.0, 2500, 3000, 600, 500),
    URETHRA: (0.75, 0.0, 1100, 1400, 70, 60),
    MUCUS: (0.85, 0.0, 1500, 1800, 250, 220),
}
FAT_T1 = {1.5: 260.0, 3.0: 380.0}
FAT_T2_FSE = {1.5: 130.0, 3.0: 115.0}


def _rot(du, dv, ang):
    c, s = np.cos(ang), np.sin(ang)
    return c * du + s * dv, -s * du + c * dv


def _unit(ang_deg):
    """Unit vector at ``ang_deg`` from cranial (0) towards posterior (+90) in (u, v)."""
    a = np.deg2rad(ang_deg)
    return np.array([np.sin(a), -np.cos(a)])


class Canvas:
    """Tissue and label maps on a grid, painted shape by shape in patient coordinates."""

    def __init__(self, shape, spacing, origin, tilt):
        self.shape = shape
        self.dr, self.dc = spacing
        self.y0, self.x0 = origin
        self.tilt = tilt
        rows = np.arange(shape[0]) * self.dr
        cols = np.arange(shape[1]) * self.dc
        self.Y, self.X = np.meshgrid(rows, cols, indexing="ij")
        self.U, self.V = self.to_patient(self.X, self.Y)
        self.tissue = np.zeros(shape, np.uint8)
        self.label = np.zeros(shape, np.uint8)
        self.occupied = np.zeros(shape, bool)

    def claim(self):
        """Mark the organs painted so far (dilated by ~2 mm) as occupied."""
        it = max(1, int(round(2.0 / min(self.dr, self.dc))))
        self.occupied = ndimage.binary_dilation(self.label != 0, iterations=it)

    def to_patient(self, x, y):
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        dx, dy = x - self.x0, y - self.y0
        return c * dx + s * dy, -s * dx + c * dy

    def to_image(self, u, v):
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        return self.x0 + c * u - s * v, self.y0 + s * u + c * v

    def paint(self, mask, tissue, label=0, sl=None, own=False):
        """Paint ``mask``; with ``own`` only where no other organ (plus a 2 mm gap) is."""
        if own:
            occ = self.occupied if sl is None else self.occupied[sl]
            lab = self.label if sl is None else self.label[sl]
            mask = mask & ((~occ) | (lab == label))
        if sl is None:
            self.tissue[mask] = tissue
            self.label[mask] = label
        else:
            self.tissue[sl][mask] = tissue
            self.label[sl][mask] = label

    def superquadric(self, centre, a, b, ang, p=2.0):
        """rho (<1 inside) of a superquadric with half axes a (along u) and b (along v)."""
        du, dv = _rot(self.U - centre[0], self.V - centre[1], ang)
        return (np.abs(du / a) ** p + np.abs(dv / b) ** p) ** (1.0 / p)

    def tube(self, ctrl, radii, n=160):
        """Distance (mm) to a B-spline centreline and the radius there, on a bounding box.

        Returns (slice, dist, radius) or None when the tube is outside the grid."""
        ctrl = np.asarray(ctrl, float)
        k = min(3, len(ctrl) - 1)
        tck, uu = splprep([ctrl[:, 0], ctrl[:, 1]], k=k, s=0)
        t = np.linspace(0, 1, n)
        cu, cv = splev(t, tck)
        rad = np.interp(t, uu, np.asarray(radii, float))
        xs, ys = self.to_image(np.asarray(cu), np.asarray(cv))
        m = rad.max() + 3
        r0 = max(int((ys.min() - m) / self.dr), 0)
        r1 = min(int((ys.max() + m) / self.dr) + 2, self.shape[0])
        c0 = max(int((xs.min() - m) / self.dc), 0)
        c1 = min(int((xs.max() + m) / self.dc) + 2, self.shape[1])
        if r1 <= r0 or c1 <= c0:
            return None
        sl = (slice(r0, r1), slice(c0, c1))
        pts = np.stack([self.X[sl].ravel(), self.Y[sl].ravel()], 1)
        d, idx = cKDTree(np.stack([xs, ys], 1)).query(pts)
        shape = (r1 - r0, c1 - c0)
        return sl, d.reshape(shape), rad[idx].reshape(shape)


def _spline_closed(points, n=400):
    p = np.asarray(points, float)
    tck, _ = splprep([p[:, 0], p[:, 1]], s=0, per=1, k=3)
    u, v = splev(np.linspace(0, 1, n, endpoint=False), tck)
    return np.asarray(u), np.asarray(v)


def _largest_component(mask):
    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n <= 1:
        return mask
    sizes = ndimage.sum(mask, lab, index=np.arange(1, n + 1))
    return lab == (1 + int(np.argmax(sizes)))


# --------------------------------------------------------------------------- anatomy
def sample_anatomy(rng):
    """Random anatomy parameters (patient frame, mm)."""
    a = {}
    a["fat_ant"] = float(rng.uniform(8, 55))
    a["fat_post"] = float(rng.uniform(8, 45))
    a["belly"] = float(rng.uniform(0, 45))
    a["tilt_deg"] = float(rng.uniform(-12, 12))
    a["bladder_fill"] = float(rng.uniform(0.05, 1.3))
    a["uterus"] = str(rng.choice(["normal", "fibroid", "postmenopausal", "hysterectomy"],
                                 p=[0.5, 0.17, 0.18, 0.15]))
    a["version"] = str(rng.choice(["anteverted", "retroverted"], p=[0.75, 0.25]))
    a["rectum_content"] = str(rng.choice(["empty", "gas", "stool", "gel"],
                                         p=[0.3, 0.2, 0.3, 0.2]))
    a["vaginal_gel"] = bool(rng.random() < 0.2)
    a["vagina_angle_deg"] = float(rng.uniform(15, 38))
    a["vagina_length"] = float(rng.uniform(60, 90))
    a["symphysis_angle_deg"] = float(rng.uniform(20, 40))
    a["coccyx"] = [float(rng.uniform(92, 108)), float(rng.uniform(-15, 5))]
    a["sacrum_depth"] = float(rng.uniform(-8, 10))
    a["vertebra_height"] = float(rng.uniform(25, 31))
    a["disc_height"] = float(rng.uniform(7, 12))
    a["anal_verge"] = [float(rng.uniform(55, 70)), float(rng.uniform(48, 60))]
    a["anal_canal_length"] = float(rng.uniform(28, 42))
    a["anal_canal_angle_deg"] = float(rng.uniform(-25, 0))
    a["n_bowel_loops"] = int(rng.integers(8, 22))
    return a


def render_anatomy(a, rng, canvas):
    """Paint tissues and organ labels; returns landmark dict (patient coords)."""
    cv = canvas
    U, V = cv.U, cv.V
    lm = {}
    fa, fp, belly = a["fat_ant"], a["fat_post"], a["belly"]
    coccyx = np.array(a["coccyx"])
    sd = a["sacrum_depth"]
    sacrum_ctrl = np.array([coccyx, coccyx + [16 + sd * 0.5, -25], [128 + sd, -60],
                            [127 + sd, -95], [113 + sd * 0.5, -122]])
    sacrum_r = [3.5, 7, 12, 15, 17]
    prom = sacrum_ctrl[-1] + [-12, -12]
    # body outline (patient frame)
    av = np.array(a["anal_verge"])
    intro = np.array([float(rng.uniform(18, 28)), float(rng.uniform(38, 46))])
    bottom = max(av[1], intro[1]) + 4
    outline = [
        (-48 - fa - belly, -400), (-46 - fa - belly, -220), (-40 - fa - 0.6 * belly, -120),
        (-30 - 0.9 * fa - 0.2 * belly, -40), (-22 - 0.8 * fa, 5), (-12 - 0.5 * fa, 30),
        (intro[0] - 12, intro[1] + 4), (intro[0] + 10, bottom), (av[0] - 4, bottom + 2),
        (av[0] + 14, av[1] + 2), (coccyx[0] + 8 + 0.3 * fp, coccyx[1] + 30),
        (coccyx[0] + 18 + 0.6 * fp, coccyx[1]), (138 + sd + fp, -45), (150 + sd + fp, -95),
        (150 + fp, -150), (165 + fp, -230), (170 + fp, -400),
    ]
    ou, ov = _spline_closed(outline)
    ox, oy = cv.to_image(ou, ov)
    img = Image.new("L", (cv.shape[1], cv.shape[0]), 0)
    ImageDraw.Draw(img).polygon(list(zip(ox / cv.dc, oy / cv.dr, strict=True)), fill=1)
    body = np.asarray(img, bool)
    depth = ndimage.distance_transform_edt(body, sampling=(cv.dr, cv.dc))
    cv.paint(body, FAT)
    cv.paint(body & (depth < 2.0), SKIN)
    # anterior abdominal wall: rectus muscle at depth fat..fat+thickness above the pubis
    fat_depth = fa * np.clip(1 - (V + 40) / 120, 0.5, 1.0)
    rect = (U < 10) & (V < -12) & (depth > fat_depth) & (depth < fat_depth + 11)
    cv.paint(rect & body, MUSCLE)
    # paraspinal muscles: deep to posterior fat, above the sacrum
    post = (U > 60) & (V < -40) & (depth > fp * 0.8 + 2) & (depth < fp * 0.8 + 55)
    cv.paint(post & body, MUSCLE)
    # gluteal muscle posterior-inferior
    glut = cv.superquadric(coccyx + [35 + 0.4 * fp, -5], 18, 45, np.deg2rad(-25), 2)
    cv.paint((glut < 1) & body & (depth > 0.5 * fp + 3), MUSCLE)
    # small bowel loops in the peritoneal cavity
    loops = []
    top_v = -330
    for _ in range(200):
        if len(loops) >= a["n_bowel_loops"]:
            break
        c = np.array([rng.uniform(-20, 100), rng.uniform(top_v, -55)])
        r = rng.uniform(8, 16)
        if any(np.hypot(*(c - q)) < r + s + 2 for q, s, _k in loops):
            continue
        loops.append((c, r, str(rng.choice(["fluid", "gas", "stool", "collapsed"]))))
    for c, r, kind in loops:
        rho = cv.superquadric(c, r, r * rng.uniform(0.6, 1.0), rng.uniform(0, np.pi), 2)
        inside = (rho < 1) & (depth > fa + 14)
        cv.paint(inside, BOWWALL)
        lumen = inside & (rho < 1 - 2.2 / r)
        if kind == "fluid":
            cv.paint(lumen, BFLUID)
        elif kind == "gas":
            cv.paint(lumen, AIR)
        elif kind == "stool":
            cv.paint(lumen, STOOL)
        else:
            cv.paint(lumen & (rho < 0.3), MUCUS)
    # lumbar spine
    h, dh = a["vertebra_height"], a["disc_height"]
    centre = prom + [14, -dh - h / 2]
    vert_centres = []
    for k in range(6):
        vert_centres.append(centre.copy())
        centre = centre + [(-3 + 2.5 * k) * 0.6, -(h + dh)]
    # aorta / iliac vessels anterior to the spine
    vc = np.array(vert_centres)
    vess = cv.tube(np.c_[vc[:, 0] - 30, vc[:, 1]][::-1], [10, 10, 10, 9.5, 9, 8])
    if vess is not None:
        sl, d, r = vess
        cv.paint(d < r, BLOOD, 0, sl)
    # spinal canal and posterior elements
    can = cv.tube(np.r_[np.c_[vc[:, 0] + 26, vc[:, 1]][::-1], [sacrum_ctrl[-1] + [28, 20]]],
                  [7, 7, 7, 7, 6.5, 6, 4])
    if can is not None:
        sl, d, r = can
        cv.paint(d < r + 2, BONE, 0, sl)
        cv.paint(d < r, CSF, 0, sl)
    for c in vert_centres:
        rho = cv.superquadric(c + [48, 4], 13, 11, 0.2, 2.5)
        cv.paint(rho < 1, BONE)
        cv.paint(rho < 0.8, MARROW)
        rho = cv.superquadric(c, 17, h / 2, 0.0, 4)
        cv.paint(rho < 1, BONE)
        cv.paint(rho < 0.88, MARROW)
        dc = c + [0, h / 2 + dh / 2]
        rho = cv.superquadric(dc, 16.5, dh / 2, 0.0, 3)
        cv.paint(rho < 1, DISC)
        cv.paint(rho < 0.55, NUCLEUS)
    # sacrum / coccyx
    sac = cv.tube(sacrum_ctrl, sacrum_r)
    if sac is not None:
        sl, d, r = sac
        cv.paint(d < r, BONE, 0, sl)
        cv.paint(d < r - 1.8, MARROW, 0, sl)
    # ---- organs
    # rectum centreline: anal verge -> ARJ -> along the sacrum -> rectosigmoid
    ca = _unit(a["anal_canal_angle_deg"])
    arj = av + ca * a["anal_canal_length"]
    content = a["rectum_content"]
    r_amp = {"empty": rng.uniform(9, 12), "gas": rng.uniform(14, 22),
             "stool": rng.uniform(14, 24), "gel": rng.uniform(18, 28)}[content]
    presac = rng.uniform(2, 9)
    p_amp = np.array([sacrum_ctrl[1][0] - 7 - presac - r_amp, sacrum_ctrl[1][1] - 5])
    p_mid = np.array([sacrum_ctrl[2][0] - 15 - presac - 11, -65])
    p_rs = np.array([sacrum_ctrl[3][0] - 17 - presac - 10, -92])
    lm.update(arj=arj, av=av, amp=p_amp, rs=p_rs)
    # sigmoid (unlabelled) from the rectosigmoid anteriorly and up
    sig = [p_rs, p_rs + [-20, -22], p_rs + [-45, -18], p_rs + [-60, -40]]
    t = cv.tube(sig, [10, 10, 11, 11])
    if t is not None:
        sl, d, r = t
        cv.paint(d < r, BOWWALL, 0, sl)
        cv.paint(d < r - 2.5, STOOL if rng.random() < 0.5 else AIR, 0, sl)
    # levator plate, puborectalis, external sphincter, perineal body
    t = cv.tube([arj + [12, 2], (arj + coccyx) / 2 + [8, 0], coccyx + [-2, 6]], [4, 3.5, 3])
    if t is not None:
        sl, d, r = t
        cv.paint(d < r, MUSCLE, 0, sl)
    rho = cv.superquadric(arj + [13, 6], 7, 6, 0, 2)
    cv.paint(rho < 1, MUSCLE)
    per = (av + intro) / 2 + [0, -8]
    lm["perineum"] = per
    rho = cv.superquadric(per, 10, 12, 0.3, 2)
    cv.paint((rho < 1) & body, MUSCLE)
    t = cv.tube([av + ca * 2, arj - ca * 3], [13, 12])
    if t is not None:
        sl, d, r = t
        cv.paint(d < r, MUSCLE, 0, sl)
    # bladder
    f = a["bladder_fill"]
    neck = np.array([rng.uniform(13, 20), rng.uniform(-8, 2)])
    bv = 7 + 33 * f
    bu = 16 + 22 * f
    b_ang = rng.uniform(-15, 20)
    axis = _unit(b_ang)
    bc = neck + axis * bv * 0.92 + [max(0.0, bu - 22) * 0.7 + 4, 0]
    b_rho_ang = np.deg2rad(-b_ang)
    wall = rng.uniform(2.5, 3.5) + 2.5 * max(0.0, 0.5 - f)
    brho = cv.superquadric(bc, bu, bv, b_rho_ang, rng.uniform(2.0, 2.7))
    lm.update(neck=neck, bladder_c=bc, dome=bc - axis * bv * 0.9,
              bladder_base=bc + np.array(_rot(bu * 0.55, bv * 0.6, -b_rho_ang)))
    # vagina / cervix / uterus
    vdir = _unit(a["vagina_angle_deg"])
    apex = intro + vdir * a["vagina_length"]
    vmid = (intro + apex) / 2 + np.array([-vdir[1], vdir[0]]) * rng.uniform(-4, 4)
    lm.update(intro=intro, apex=apex, vmid=vmid)
    vr = rng.uniform(6, 8) + (4 if a["vaginal_gel"] else 0)
    uv_parts = []
    uv_parts.append(("tube", [intro, vmid, apex], [vr * 0.8, vr, vr]))
    kind = a["uterus"]
    cervix_ctrl = None
    if kind != "hysterectomy":
        cdir = _unit(a["vagina_angle_deg"] - rng.uniform(5, 30))
        clen = rng.uniform(25, 38) * (0.75 if kind == "postmenopausal" else 1.0)
        crad = rng.uniform(11, 15) * (0.8 if kind == "postmenopausal" else 1.0)
        c0 = apex - vdir * 12
        c1 = c0 + cdir * clen
        cervix_ctrl = ([c0, (c0 + c1) / 2, c1], [crad * 0.9, crad, crad])
        if a["version"] == "anteverted":
            udir_ang = a["vagina_angle_deg"] - rng.uniform(60, 105)
        else:
            udir_ang = a["vagina_angle_deg"] + rng.uniform(5, 30)
        udir = _unit(udir_ang)
        if kind == "normal":
            ul, us = rng.uniform(28, 42), rng.uniform(17, 24)
        elif kind == "fibroid":
            ul, us = rng.uniform(42, 60), rng.uniform(30, 42)
        else:
            ul, us = rng.uniform(17, 25), rng.uniform(9, 13)
        ucentre = c1 + udir * ul * 0.8
        # the bladder is painted after the uterus and is indented by it
        uang = np.arctan2(udir[0], -udir[1])
        lm.update(cervix=apex, fundus=ucentre + udir * ul * 0.7, uterus_c=ucentre)
        uv_parts.append(("uterus", ucentre, us, ul, uang, kind))
    else:
        lm.update(cervix=apex, fundus=apex + vdir * 10, uterus_c=apex)
    # fat capsules
    vt = cv.tube(*uv_parts[0][1:])
    ct = cv.tube(*cervix_ctrl) if cervix_ctrl else None
    if len(uv_parts) > 1:
        _, uc, us, ul, uang, kind = uv_parts[1]
        urho = cv.superquadric(uc, us, ul, uang, 2.3)
        cv.paint(urho < 1, MYO, 2)
        e = 0.12 if kind == "postmenopausal" else rng.uniform(0.2, 0.35)
        cv.paint(urho < e + 0.2, JZ, 2)
        cv.paint(urho < e, ENDO, 2)
        if kind == "fibroid":
            for _ in range(int(rng.integers(1, 4))):
                fr = rng.uniform(8, 0.6 * us)
                off = np.array(_rot(rng.uniform(-0.6, 0.6) * us, rng.uniform(-0.6, 0.6) * ul,
                                    -uang))
                frho = cv.superquadric(uc + off, fr, fr * rng.uniform(0.8, 1.1), 0, 2)
                cv.paint(frho < 1, FIBROID, 2)
    if ct is not None:
        sl, d, r = ct
        cv.paint(d < r, CERVIX, 2, sl)
        cv.paint(d < 2.0, CANAL, 2, sl)
    if vt is not None:
        sl, d, r = vt
        cv.paint(d < r, VWALL, 2, sl)
        if a["vaginal_gel"]:
            cv.paint(d < r - 3, GEL, 2, sl)
        else:
            cv.paint(d < 1.3, VLUMEN, 2, sl)
    cv.claim()
    # rectum + anal canal (labelled 3); paint fat capsule first
    rect_ctrl = [av, arj - ca * 4, arj + [10, -12], p_amp, p_mid, p_rs]
    rect_r = [8, 9, r_amp * 0.8, r_amp, 12, 11]
    t = cv.tube(rect_ctrl, rect_r)
    rect_tube = t
    if t is not None:
        sl, d, r = t
        cv.paint((d < r + 1.5) & (cv.label[sl] == 0), FAT, 0, sl)
        cv.paint(d < r, RWALL, 3, sl, own=True)
        lum = d < r - 3
        if content == "empty":
            cv.paint(d < 1.5, MUCUS, 3, sl, own=True)
        elif content == "gas":
            cv.paint(lum, AIR, 3, sl, own=True)
        elif content == "stool":
            cv.paint(lum, STOOL, 3, sl, own=True)
        else:
            cv.paint(lum, GEL, 3, sl, own=True)
        # anal canal: closed lumen
        tc = cv.tube([av + ca * 1, arj], [8, 8])
        if tc is not None:
            sl2, d2, r2 = tc
            cv.paint(d2 < r2, RWALL, 3, sl2, own=True)
            cv.paint(d2 < 1.3, MUCUS, 3, sl2, own=True)
    cv.claim()
    bladder = brho < 1
    cv.paint(bladder, BWALL, 1, own=True)
    cv.paint(brho < 1 - wall / min(bu, bv), URINE, 1, own=True)
    # urethra (unlabelled)
    meatus = intro + [-14, -1]
    t = cv.tube([neck + [0, 1], (neck + meatus) / 2 + [-3, 0], meatus], [4.5, 5, 3.5])
    if t is not None:
        sl, d, r = t
        cv.paint(d < r, URETHRA, 0, sl)
        cv.paint(d < 1.2, MUCUS, 0, sl)
    # pubic symphysis (bone wins over everything)
    pang = np.deg2rad(a["symphysis_angle_deg"])
    prho = cv.superquadric((0.0, 0.0), 8, 22, pang, 2.2)
    cv.paint(prho < 1, BONE)
    cv.paint(prho < 0.8, MARROW)
    cv.paint(cv.superquadric((0.0, 0.0), 1.5, 20, pang, 2) < 1, DISC)
    # small vessels in pelvic fat
    for _ in range(int(rng.integers(3, 9))):
        c = np.array([rng.uniform(20, 90), rng.uniform(-60, 20)])
        rho = cv.superquadric(c, rng.uniform(1.5, 3.5), rng.uniform(1.5, 3.5), 0, 2)
        cv.paint((rho < 1) & (cv.tissue == FAT) & (cv.label == 0), BLOOD)
    cv.paint(~body, AIR)
    cv.label[~body] = 0
    lm["rect_tube"] = rect_tube is not None
    return lm, body


# --------------------------------------------------------------------------- Laplace
def laplace_solve(fixed, values):
    """Solve Laplace's equation on a grid with Dirichlet values where ``fixed``.

    Args:
        fixed: bool (ny, nx); the grid border is treated as fixed as well.
        values: (ny, nx) or (ny, nx, k) boundary values (read where fixed).

    Returns:
        float array like ``values``: the boundary values where fixed, and the discrete
        harmonic interpolant (5-point stencil, unit aspect) elsewhere.
    """
    fixed = np.asarray(fixed, bool).copy()
    fixed[0, :] = fixed[-1, :] = fixed[:, 0] = fixed[:, -1] = True
    vals = np.asarray(values, float)
    squeeze = vals.ndim == 2
    if squeeze:
        vals = vals[..., None]
    ny, nx = fixed.shape
    free = ~fixed
    idx = -np.ones((ny, nx), int)
    idx[free] = np.arange(int(free.sum()))
    out = vals.copy()
    n = int(free.sum())
    if n == 0:
        return out[..., 0] if squeeze else out
    jj, ii = np.nonzero(free)
    rows, cols, data = [np.arange(n)], [np.arange(n)], [np.full(n, 4.0)]
    rhs = np.zeros((n, vals.shape[2]))
    for dj, di in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nj, ni = jj + dj, ii + di
        nb_free = free[nj, ni]
        rows.append(np.arange(n)[nb_free])
        cols.append(idx[nj[nb_free], ni[nb_free]])
        data.append(-np.ones(int(nb_free.sum())))
        fx = ~nb_free
        np.add.at(rhs, np.arange(n)[fx], vals[nj[fx], ni[fx]])
    A = coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(n, n)).tocsc()
    sol = splu(A).solve(rhs)
    out[free] = sol
    return out[..., 0] if squeeze else out


def _time_curves(rng, manoeuvre, times):
    T = len(times)
    dur = times[-1]

    def ramp(t0, t1, t2, t3):
        up = np.clip((times - t0) / max(t1 - t0, 1e-3), 0, 1)
        down = np.clip((t3 - times) / max(t3 - t2, 1e-3), 0, 1)
        x = np.minimum(up, down)
        return x * x * (3 - 2 * x)

    g = np.zeros(T)
    e = np.zeros(T)
    t0 = rng.uniform(0.1, 0.25) * dur
    t1 = t0 + rng.uniform(0.15, 0.3) * dur
    t2 = t1 + rng.uniform(0.2, 0.35) * dur
    t3 = min(t2 + rng.uniform(0.1, 0.2) * dur, dur * 1.5)
    if manoeuvre == "strain":
        g = rng.uniform(0.7, 1.0) * ramp(t0, t1, t2, t3)
    elif manoeuvre == "squeeze":
        g = -rng.uniform(0.3, 0.45) * ramp(t0, t1, t2, t3)
    elif manoeuvre == "cough":
        for tc in rng.uniform(0.2, 0.85, int(rng.integers(1, 4))) * dur:
            w = max(rng.uniform(0.4, 0.8), 0.6 * np.median(np.diff(times)))
            g = g + rng.uniform(0.5, 0.8) * np.exp(-(((times - tc) / w) ** 2))
        g = np.minimum(g, 1.0)
    elif manoeuvre == "defecation":
        g = rng.uniform(0.8, 1.0) * ramp(t0, t1, dur * 2, dur * 3)
        e = rng.uniform(0.6, 1.0) * ramp(t1, t1 + 0.4 * (dur - t1), dur * 2, dur * 3)
    else:
        g = 0.03 * np.sin(2 * np.pi * times / rng.uniform(6, 15))
    return g, e


# --------------------------------------------------------------------------- signal
def _signal_luts(rng, seq, field, fatsat):
    """Water and fat signal per tissue id."""
    w = np.zeros(N_TISSUE)
    fsig = np.zeros(N_TISSUE)
    hi = field == 3.0
    p = {}
    if seq == "haste":
        p.update(TR=rng.uniform(1000, 2500), TE=rng.uniform(80, 130))
    elif seq == "pd_fse":
        p.update(TR=rng.uniform(2000, 3500), TE=rng.uniform(20, 35))
    elif seq == "bssfp":
        p.update(TR=rng.uniform(3.2, 4.5), flip=rng.uniform(45, 75))
        p["TE"] = p["TR"] / 2
    else:
        p.update(TR=rng.uniform(4, 8), flip=rng.uniform(10, 25),
                 phase=str(rng.choice(["in", "opposed"])))
        p["TE"] = (4.6 if p["phase"] == "in" else 2.3) if field == 1.5 else (
            2.3 if p["phase"] == "in" else 1.15)

    def eq(pd, t1, t2):
        if seq in ("haste", "pd_fse"):
            return pd * (1 - np.exp(-p["TR"] / t1)) * np.exp(-p["TE"] / t2)
        a = np.deg2rad(p["flip"])
        e1, e2 = np.exp(-p["TR"] / t1), np.exp(-p["TR"] / t2)
        if seq == "bssfp":
            return pd * np.sin(a) * (1 - e1) / (1 - (e1 - e2) * np.cos(a) - e1 * e2) \
                * np.exp(-p["TE"] / t2)
        return pd * np.sin(a) * (1 - e1) / (1 - np.cos(a) * e1) * np.exp(-p["TE"] / (0.6 * t2))

    ft1 = FAT_T1[field] * rng.uniform(0.9, 1.1)
    ft2 = FAT_T2_FSE[field] * rng.uniform(0.85, 1.15)
    for k, (pdw, pdf, t1a, t1b, t2a, t2b) in TISSUES.items():
        jit = rng.uniform(0.88, 1.12, 3)
        t1 = (t1b if hi else t1a) * jit[0]
        t2 = (t2b if hi else t2a) * jit[1]
        w[k] = eq(pdw * jit[2], t1, t2)
        fsig[k] = eq(pdf, ft1, ft2)
    if fatsat:
        fsig *= rng.uniform(0.03, 0.15)
    if seq in ("haste", "pd_fse"):
        w[BLOOD] *= rng.uniform(0.03, 0.2)  # flow void
    elif seq == "t1_gre":
        w[BLOOD] *= rng.uniform(1.0, 2.5)  # inflow
    return w, fsig, p


def _smooth_noise(rng, shape, sigma):
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return n / (n.std() + 1e-9)


def draw_sequence(seed):
    """Sequence family of a seed (its own stream, so it can be read without rendering)."""
    return str(SEQUENCES[int(np.random.default_rng([int(seed), 7]).integers(0, 4))])


def generate_case(seed, matrix=None, n_frames=None):
    """One case: frames (T,H,W) float32, truth (T,H,W) uint8, spacing, times, params."""
    rng = np.random.default_rng(seed)
    H, W = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    dr, dc = float(rng.uniform(1.1, 1.5)), float(rng.uniform(1.1, 1.5))
    T = int(rng.integers(15, 41))
    if matrix:  # same field of view at another matrix
        dr, dc = dr * H / int(matrix[0]), dc * W / int(matrix[1])
        H, W = int(matrix[0]), int(matrix[1])
    if n_frames:  # same duration with fewer/more frames
        T = int(n_frames)
    dt = float(rng.uniform(0.5, 2.0))
    if n_frames:
        dt = float(np.clip(dt * int(rng.integers(15, 41)) / max(T - 1, 1), 0.5, 2.0))
    times = np.arange(T) * dt
    anat = sample_anatomy(rng)
    manoeuvre = str(rng.choice(MANOEUVRES, p=[0.08, 0.17, 0.4, 0.12, 0.23]))
    seq = draw_sequence(seed)
    field = float(rng.choice([1.5, 3.0]))
    fatsat = bool(rng.random() < (0.3 if seq != "bssfp" else 0.1))
    # placement: symphysis such that the perineum is 35-80 mm above the bottom row
    fov_y, fov_x = H * dr, W * dc
    sym_y = fov_y - float(rng.uniform(70, 105))
    body_mid_u = 55 + (anat["fat_post"] - anat["fat_ant"]) / 4
    sym_x = fov_x / 2 - body_mid_u + float(rng.uniform(-0.12, 0.12)) * fov_x
    tilt = np.deg2rad(anat["tilt_deg"])
    # ---- rest anatomy at 2x
    cv = Canvas((2 * H, 2 * W), (dr / 2, dc / 2), (sym_y - dr / 4, sym_x - dc / 4), tilt)
    lm, body2 = render_anatomy(anat, rng, cv)
    for k in (1, 2, 3):  # a piece cut off an organ becomes fat (truth and image agree)
        m = cv.label == k
        rm = m & ~_largest_component(m)
        cv.label[rm] = 0
        cv.tissue[rm] = FAT
    w_lut, f_lut, seqp = _signal_luts(rng, seq, field, fatsat)
    water2 = w_lut[cv.tissue] * (1 + 0.06 * _smooth_noise(rng, cv.shape, 3))
    stool = cv.tissue == STOOL
    water2[stool] *= np.clip(1 + 0.35 * _smooth_noise(rng, cv.shape, 2)[stool], 0.1, 2)
    fat2 = f_lut[cv.tissue] * (1 + 0.04 * _smooth_noise(rng, cv.shape, 3))
    water = water2.reshape(H, 2, W, 2).mean((1, 3))
    fat = fat2.reshape(H, 2, W, 2).mean((1, 3))
    frac = np.stack([(cv.label == k).reshape(H, 2, W, 2).mean((1, 3)) for k in range(4)])
    labels0 = np.argmax(frac + np.array([0, 3e-3, 2e-3, 1e-3])[:, None, None], 0)
    labels0 = labels0.astype(np.uint8)
    for k in (1, 2, 3):
        m = labels0 == k
        labels0[m & ~_largest_component(m)] = 0
    bone1 = np.isin(cv.tissue, (BONE, MARROW, DISC, NUCLEUS)).reshape(H, 2, W, 2).any((1, 3))
    body1 = body2.reshape(H, 2, W, 2).all((1, 3))
    # ---- Laplace fields on a coarse grid
    h = 4.0
    ny, nx = int(np.ceil(fov_y / h)) + 1, int(np.ceil(fov_x / h)) + 1
    gy = np.linspace(0, (H - 1) * dr, ny)
    gx = np.linspace(0, (W - 1) * dc, nx)
    GY, GX = np.meshgrid(gy, gx, indexing="ij")
    ri = np.clip(np.rint(GY / dr).astype(int), 0, H - 1)
    ci = np.clip(np.rint(GX / dc).astype(int), 0, W - 1)
    gu, gv = cv.to_patient(GX, GY)
    near = ndimage.binary_dilation(bone1, iterations=1)[ri, ci]
    window = (gu > -10) & (gu < 110) & (gv > 10)
    fixed = near | (~body1[ri, ci] & ~window)
    sa, sm, sp = (float(rng.uniform(0.3, 1.4)) for _ in range(3))
    rectocele = bool(rng.random() < 0.3 * sp)
    vec = {
        "neck": (rng.uniform(4, 10) * sa, rng.uniform(8, 22) * sa),
        "bladder_base": (rng.uniform(4, 10) * sa, rng.uniform(12, 25) * sa),
        "dome": (rng.uniform(0, 4), rng.uniform(4, 12) * sa),
        "cervix": (rng.uniform(3, 10) * sm, rng.uniform(12, 30) * sm),
        "fundus": (rng.uniform(0, 5), rng.uniform(5, 15) * sm),
        "vmid": (rng.uniform(2, 7) * sm, rng.uniform(8, 20) * 0.5 * (sa + sm)),
        "arj": (rng.uniform(4, 10) * sp, rng.uniform(10, 25) * sp),
        "av": (rng.uniform(0, 4), rng.uniform(4, 10) * sp),
        "perineum": (rng.uniform(0, 4), rng.uniform(5, 12) * sp),
        "amp": (rng.uniform(2, 6) * sp, rng.uniform(6, 14) * sp),
        "rs": (rng.uniform(0, 3), rng.uniform(2, 6)),
    }
    c_, s_ = np.cos(tilt), np.sin(tilt)

    def handle_values(items, radius=6.0):
        fx = fixed.copy()
        val = np.zeros((ny, nx, 2))
        for pos, (du, dv) in items:
            m = np.hypot(gu - pos[0], gv - pos[1]) < radius
            if not m.any():
                j = np.argmin(np.hypot(gu - pos[0], gv - pos[1]))
                m = np.zeros_like(fixed)
                m.flat[j] = True
            m &= ~near
            fx |= m
            # patient (u, v) displacement -> image (x, y)
            val[m] = (c_ * du - s_ * dv, s_ * du + c_ * dv)
        return fx, val

    items = [(lm[k], v) for k, v in vec.items()]
    fx_main, val_main = handle_values(items)
    fields = [laplace_solve(fx_main, val_main)]
    # emptying: ampulla walls move to the centre line, ARJ opens
    amp_dir = np.array([1.0, 0.0])
    ramp_r = float(rng.uniform(6, 11))
    empty_items = [(lm["amp"] - amp_dir * ramp_r, (ramp_r * 0.5, 0.0)),
                   (lm["amp"] + amp_dir * ramp_r, (-ramp_r * 0.4, 0.0))]
    fx_e, val_e = handle_values(empty_items, 4.5)
    fields.append(laplace_solve(fx_e, val_e))
    rc_items = [(lm["amp"] - amp_dir * 10, (-rng.uniform(6, 14) * sp, rng.uniform(2, 8)))]
    fx_r, val_r = handle_values(rc_items, 5.0)
    fields.append(laplace_solve(fx_r, val_r))
    g, e = _time_curves(rng, manoeuvre, times)
    rc = np.clip(g, 0, None) * (1.0 if rectocele else 0.0)
    coef = np.stack([g, e, rc], 1)  # (T, 3)
    F = np.stack(fields)  # (3, ny, nx, 2)
    amp = 1.0
    for _ in range(15):
        d = amp * np.einsum("tk,kyxc->tyxc", coef, F)
        dxx = np.gradient(d[..., 0], h, axis=2)
        dxy = np.gradient(d[..., 0], h, axis=1)
        dyx = np.gradient(d[..., 1], h, axis=2)
        dyy = np.gradient(d[..., 1], h, axis=1)
        det = (1 - dxx) * (1 - dyy) - dxy * dyx
        if det.min() > 0.25:
            break
        amp *= 0.85
    # breathing drift
    b_amp = float(rng.uniform(0.5, 3.0))
    b_per = float(rng.uniform(3.0, 6.0))
    b_ph = float(rng.uniform(0, 2 * np.pi))
    wy = np.clip((sym_y - 40 - GY) / 150, 0, 1)
    breath = b_amp * np.sin(2 * np.pi * times / b_per + b_ph)
    d[..., 1] -= breath[:, None, None] * wy[None]
    d[..., 0] += 0.2 * breath[:, None, None] * wy[None]
    # ---- acquisition
    readout = str(rng.choice(["col", "row"]))
    cs = float(rng.uniform(0, 2)) * (0 if fatsat else 1)
    dist = _smooth_noise(rng, (H, W), min(H, W) / 10) * float(rng.uniform(0, 0.8))
    rr, cc = np.meshgrid(np.arange(H, dtype=float), np.arange(W, dtype=float), indexing="ij")
    cy = rr * (ny - 1) / (H - 1)
    cxg = cc * (nx - 1) / (W - 1)
    keep_r, keep_c = float(rng.uniform(0.55, 0.9)), float(rng.uniform(0.55, 0.9))
    ky = np.abs(np.fft.fftfreq(H)) <= keep_r / 2
    kx = np.abs(np.fft.fftfreq(W)) <= keep_c / 2
    kmask = ky[:, None] & kx[None, :]
    ghost = float(rng.uniform(0.03, 0.1)) if rng.random() < 0.2 else 0.0
    yb, xb = rng.uniform(-0.3, 1.3) * H, rng.uniform(-0.3, 1.3) * W
    bias = np.exp(-((rr - yb) ** 2 + (cc - xb) ** 2) / (2 * (rng.uniform(0.5, 1.2) * H) ** 2))
    bias = 0.5 + bias / bias.max() + 0.1 * _smooth_noise(rng, (H, W), 30)
    snr = float(rng.uniform(5, 40))
    scale = float(10 ** rng.uniform(1, 3.5))
    frames = np.zeros((T, H, W), np.float32)
    truth = np.zeros((T, H, W), np.uint8)
    ref = None
    for t in range(T):
        dy = ndimage.map_coordinates(d[t, ..., 1], [cy, cxg], order=1) / dr
        dx = ndimage.map_coordinates(d[t, ..., 0], [cy, cxg], order=1) / dc
        sr, sc = rr - dy, cc - dx
        if readout == "col":
            sr = sr - dist
        else:
            sc = sc - dist
        wt = ndimage.map_coordinates(water, [sr, sc], order=1, mode="nearest")
        fr_, fc_ = (sr, sc - cs) if readout == "col" else (sr - cs, sc)
        ft = ndimage.map_coordinates(fat, [fr_, fc_], order=1, mode="nearest")
        lab = ndimage.map_coordinates(labels0, [sr, sc], order=0, mode="nearest")
        for k in (1, 2, 3):
            m = lab == k
            lab[m & ~_largest_component(m)] = 0
        truth[t] = lab
        img = np.abs(wt - ft) if seqp.get("phase") == "opposed" else wt + ft
        img = img * bias
        k = np.fft.fft2(img) * kmask
        img = np.fft.ifft2(k)
        if ghost:
            axis = 1 if readout == "row" else 0
            n = img.shape[axis]
            img = img + ghost * np.roll(img, n // int(rng.integers(2, 5)), axis=axis)
        if ref is None:
            ref = float(np.mean(np.abs(img)[body1]))
        sigma = ref / snr
        noisy = np.abs(img + sigma * (rng.standard_normal(img.shape)
                                      + 1j * rng.standard_normal(img.shape)))
        frames[t] = (noisy * scale).astype(np.float32)
    params = {
        "generator": "laplace",
        "seed": int(seed),
        "matrix": [H, W],
        "spacing_mm": [dr, dc],
        "n_frames": T,
        "frame_interval_s": dt,
        "manoeuvre": manoeuvre,
        "imaging": {"sequence": seq, "field_T": field, "fat_suppression": fatsat,
                    **{k: (float(v) if not isinstance(v, str) else v) for k, v in seqp.items()},
                    "readout_axis": readout, "chemical_shift_px": cs,
                    "k_space_kept": [keep_r, keep_c], "ghost": ghost, "snr": snr,
                    "scale": scale},
        "anatomy": anat,
        "motion": {"severity": {"anterior": sa, "middle": sm, "posterior": sp},
                   "rectocele": rectocele, "amplitude_factor": float(amp),
                   "handles_mm": {k: [float(x) for x in v] for k, v in vec.items()},
                   "strain_curve": [float(x) for x in g],
                   "emptying_curve": [float(x) for x in e],
                   "breathing_mm": b_amp, "coarse_grid_mm": h},
        "labels": {str(i + 1): n for i, n in enumerate(ORGANS)},
        "placement": {"symphysis_row": sym_y / dr, "symphysis_col": sym_x / dc},
    }
    return {"frames": frames, "truth": truth, "spacing": (dr, dc), "times": times,
            "params": params, "displacement_mm": d, "fixed": fx_main,
            "laplace_values": val_main, "laplace_field": fields[0]}


def write_case(seed, out):
    case = generate_case(seed)
    p = case["params"]
    folder = Path(out) / f"laplace_{seed:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    seq = p["imaging"]["sequence"]
    tag = {"bssfp": "(bssfp)", "t1_gre": "(t1)"}.get(seq, f"({seq})")
    series = CineSeries(frames=case["frames"], spacing_mm=case["spacing"],
                        times_s=case["times"],
                        meta={"subject_id": f"laplace_{seed:03d}",
                              "series_description": f"dyn sag {p['manoeuvre']} {tag}",
                              "orientation": "sagittal (canonical)"})
    write_dicom_series(series, folder / "series", seed=seed,
                       patient_name=f"LAPLACE^{seed:03d}", patient_id=f"laplace_{seed:03d}",
                       slice_thickness_mm=float(np.random.default_rng(seed).uniform(5, 8)))
    np.save(folder / "truth.npy", case["truth"])
    (folder / "params.json").write_text(json.dumps(p, indent=1))
    return (f"laplace_{seed:03d}: {p['matrix'][0]}x{p['matrix'][1]} x{p['n_frames']} "
            f"{seq} {p['manoeuvre']} uterus={p['anatomy']['uterus']}")


def main(argv=None):
    from functools import partial

    from core.seeds import map_jobs, parse_seeds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="2000-2029")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for line in map_jobs(partial(write_case, out=args.out), parse_seeds(args.seeds),
                         args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
