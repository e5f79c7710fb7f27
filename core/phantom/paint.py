"""Render a body-frame layout onto the fine grid: tissue classes and organ level sets.

The soft-tissue map moves with the motion field; the rigid map (pubic
symphysis and spinal column) moves only with the global jitter and is laid on
top.  Organ level sets (mm, negative inside) are mutually exclusive, stay
inside the body and keep clear of the bones, so labels and contours follow them
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.spatial import cKDTree

from core.phantom import tissues as T
from core.phantom.grid import BIG, Canvas
from core.phantom.levelsets import exclusive, regular_partition
from core.phantom.shapes import (
    blob_sdf,
    polyline_distance,
    smin,
    smooth_curve,
    smooth_noise,
    tube_sdf,
)
from core.phantom.spine import spine_column


@dataclass
class Painted:
    """Rest-frame rendering on the fine grid.

    Attributes:
        soft: uint8 tissue class per fine pixel (moves with the soft tissue).
        rigid: uint8 tissue class of bones / spinal column (0 where none).
        rigid_sdf: signed distance (mm) to the rigid structures.
        organs: (n_organs, rows, cols) float32 exclusive level sets (mm, < 0 inside).
        body_sdf: signed distance (mm) to the skin, negative inside the body.
        lost: (n_organs,) fraction of each organ's area dropped because it lay
            outside the organ's largest piece (see ``regular_partition``).
    """

    soft: np.ndarray
    rigid: np.ndarray
    rigid_sdf: np.ndarray
    organs: np.ndarray
    body_sdf: np.ndarray
    lost: np.ndarray


#: Tissue of each rectal content (a collapsed lumen is wall with a line of mixed signal).
RECTAL_CONTENT = {"gel": T.FLUID, "stool": T.STOOL, "gas": T.GAS, "collapsed": T.RECT_WALL}


def _body(canvas: Canvas, lay: dict) -> np.ndarray:
    """Signed distance (mm) to the skin, negative inside."""
    outline = smooth_curve(np.asarray(lay["body"]["outline"]), n=300, closed=True)
    rc = canvas.image_to_index(canvas.body_to_image(outline))
    img = Image.new("1", (canvas.shape[1], canvas.shape[0]), 0)
    ImageDraw.Draw(img).polygon([(float(c), float(r)) for r, c in rc], fill=1)
    inside = np.asarray(img, dtype=bool)
    step = canvas.step_mm
    d_in = ndimage.distance_transform_edt(inside) * step
    d_out = ndimage.distance_transform_edt(~inside) * step
    return (d_out - d_in).astype(np.float32)


def paint(canvas: Canvas, lay: dict, rng: np.random.Generator) -> Painted:
    """Render the rest-frame anatomy of ``lay`` on ``canvas``.

    Args:
        canvas: fine grid with body-frame coordinates.
        lay: layout from :func:`core.phantom.layout.draw_layout`.
        rng: random generator (bowel loops and contents).

    Returns:
        The painted rest frame (see :class:`Painted`).
    """
    X, Y = canvas.X, canvas.Y
    ev = canvas.evaluate
    body = _body(canvas, lay)
    column, rigid, _ = spine_column(canvas, lay, rng)
    sy = lay["symphysis"]
    sym = ev(lambda X, Y: blob_sdf(X, Y, sy["centre"], sy["radii"], sy["angle"]),
             np.array([sy["centre"]]), max(sy["radii"]) + 4)
    rigid[sym < 0] = T.MARROW
    rigid[(sym < 0) & (sym > -1.8)] = T.CORTEX
    axis = np.array([np.cos(sy["angle"]), np.sin(sy["angle"])])
    across = (X - sy["centre"][0]) * axis[1] - (Y - sy["centre"][1]) * axis[0]
    rigid[(sym < -0.8) & (np.abs(across) < sy["disc"])] = T.FIBROUS
    rigid_sdf = np.minimum(column, sym)

    # Soft tissue: fat, skin, abdominal wall and back muscles.
    soft = np.zeros(canvas.shape, np.uint8)
    b = lay["body"]
    inside = body < 0
    depth = -body
    soft[inside] = T.FAT
    lm = lay["landmarks"]
    tip = np.asarray(lm["coccyx_tip"])
    fat_t = np.interp(X, [-60, tip[0]], [b["fat_ant"], b["fat_post"]])
    top = np.asarray(lay["top_pubis"])
    rectus = inside & (depth > fat_t) & (depth < fat_t + b["rectus"]) & (X < top[0] + 25) & (
        Y < top[1] + 8)
    soft[rectus] = T.MUSCLE
    # Paraspinal muscles at lumbar level; only a thin layer behind the sacrum.
    lumbar = Y < tip[1] - b["sacrum_len"]
    thick = np.where(lumbar, b["muscle_post"], 0.25 * b["muscle_post"])
    back = inside & (depth > fat_t) & (depth < fat_t + thick) & (X > tip[0] + 10)
    soft[back & (Y < tip[1] - 20)] = T.MUSCLE
    soft[inside & (depth < b["skin"])] = T.SKIN

    # Organs.
    bl = lay["bladder"]
    bladder = ev(lambda X, Y: smin(
        blob_sdf(X, Y, bl["centre"], bl["radii"], bl["angle"], bl["coeffs"], bl["phases"],
                 bl["power"]),
        tube_sdf(X, Y, np.array([bl["centre"], bl["neck"]]), [bl["neck_radius"] * 2,
                                                             bl["neck_radius"]]), 8.0),
        np.array([bl["centre"], bl["neck"]]), max(bl["radii"]) * 1.4 + 10)
    va, ce, ub = lay["vagina"], lay["cervix"], lay["uterus_body"]
    vag = ev(lambda X, Y: tube_sdf(X, Y, np.array(va["pts"]), [va["radius"]] * len(va["pts"])),
             np.array(va["pts"]), va["radius"] + 6)
    fibroid = np.full_like(vag, BIG)
    if lay.get("hysterectomy"):
        # Uterus and cervix removed: the vagina alone, closed at its vault (the rounded
        # end of its tube); fat and bowel take the space above it.
        cer = np.full_like(vag, BIG)
        ubody = np.full_like(vag, BIG)
    else:
        cer = ev(lambda X, Y: tube_sdf(X, Y, np.array(ce["pts"]), [ce["radius"]] * 2),
                 np.array(ce["pts"]), ce["radius"] + 6)
        ubody = ev(lambda X, Y: blob_sdf(X, Y, ub["centre"], ub["radii"], ub["angle"],
                                         ub["coeffs"], ub["phases"]),
                   np.array([ub["centre"]]), max(ub["radii"]) * 1.3 + 6)
        if ub.get("fibroids"):  # opt-in (opt_in.fibroid_uterus)
            for fb in ub["fibroids"]:
                one = ev(lambda X, Y, fb=fb: blob_sdf(X, Y, fb["centre"], fb["radii"],
                                                      fb["angle"]),
                         np.array([fb["centre"]]), max(fb["radii"]) + 6)
                fibroid = np.minimum(fibroid, one)
            ubody = smin(ubody, fibroid, 3.0)
    uterus = smin(smin(vag, cer, 6.0), ubody, 10.0)
    re = lay["rectum"]
    rpts = np.asarray(re["pts"])
    rectum = ev(lambda X, Y: tube_sdf(X, Y, rpts, re["radii"]), rpts, max(re["radii"]) + 6)
    open_end = None
    if re.get("cut"):  # opt-in (opt_in.sigmoid_colon): a flat end across the tube at S3
        cut = _cut_sdf(X, Y, re["cut"], 3.0 * max(re["radii"]))
        # No wall across the cut: the lumen goes on into the sigmoid.
        open_end = (cut > -re["wall"]) & (rectum < -re["wall"])
        rectum = np.maximum(rectum, cut)
    # The vagina and cervix keep their shape: bladder and rectum rest against them.
    tube = smin(vag, cer, 6.0)
    bladder = np.maximum(bladder, -(tube - lay["contact"][0]))
    rectum = np.maximum(rectum, -(tube - lay["contact"][1]))
    levels = exclusive([bladder, uterus, rectum])
    clear = np.maximum(-rigid_sdf + 2.5, body + 3.0)
    organs, lost = regular_partition([np.maximum(lv, clear) for lv in levels],
                                     canvas.step_mm, lay.get("pixel_mm", 1.0))

    # Pelvic floor and sphincters (drawn before organs so organs stay on top).
    lv = lay["levator"]
    lev = ev(lambda X, Y: tube_sdf(X, Y, np.asarray(lv["pts"]), [lv["radius"] * 1.6,
                                                                 lv["radius"], lv["radius"]]),
             np.asarray(lv["pts"]), 12)
    soft[(lev < 0) & inside] = T.MUSCLE
    pb = lay["perineal_body"]
    per = ev(lambda X, Y: blob_sdf(X, Y, pb["centre"], pb["radii"], 0.3),
             np.array([pb["centre"]]), 14)
    soft[(per < 0) & inside] = T.FIBROUS
    canal_pts = rpts[:6]
    sph = ev(lambda X, Y: tube_sdf(X, Y, canal_pts, np.asarray(re["radii"][:6]) +
                                   lay["sphincter"]), canal_pts, 16)
    soft[(sph < 0) & inside] = T.MUSCLE
    ur = lay["urethra"]
    ure_d = ev(lambda X, Y: polyline_distance(X, Y, np.asarray(ur["pts"]))[0],
               np.asarray(ur["pts"]), ur["radius"] + 4)
    soft[(ure_d < ur["radius"]) & inside] = T.MUSCLE
    soft[(ure_d < 1.0) & inside] = T.VAG_LUMEN

    _bowel(canvas, lay, rng, soft, organs, rigid_sdf, body)
    _vault_loops(canvas, lay, soft, organs, rigid_sdf, body)
    _sigmoid(canvas, lay, soft, organs, rigid_sdf, body)
    po = lay["pouch"]
    if po["present"]:
        fluid = ev(lambda X, Y: blob_sdf(X, Y, po["centre"], po["radii"], po["angle"]),
                   np.array([po["centre"]]), 16)
        soft[(fluid < 0) & inside] = T.FLUID
    _vessels(canvas, lay, rng, soft, body)
    _organ_tissues(canvas, lay, soft, organs, vag, cer, ubody, fibroid, open_end)
    return Painted(soft, rigid, rigid_sdf.astype(np.float32), organs, body, lost)


def _bowel(canvas: Canvas, lay: dict, rng: np.random.Generator, soft: np.ndarray,
           organs: np.ndarray, rigid_sdf: np.ndarray, body: np.ndarray) -> None:
    """Bowel loops (walls, fluid / mixed / gas content) filling the abdomen."""
    X, Y = canvas.X, canvas.Y
    top = np.asarray(lay["top_pubis"])
    tip = np.asarray(lay["landmarks"]["coccyx_tip"])
    b = lay["body"]
    fat_t = np.interp(X, [-60, tip[0]], [b["fat_ant"], b["fat_post"]])
    # Below a line from the top of the pubis to the mid sacrum the pelvis holds no bowel.
    p0, p1 = top + [0, -5], tip + [0, -rng.uniform(45, 80)]
    slope = (p1[1] - p0[1]) / (p1[0] - p0[0])
    floor = p0[1] + slope * (X - p0[0])
    cavity = (body < -(fat_t + b["rectus"] + 2)) & (Y < floor) & (rigid_sdf > 6)
    cavity &= organs.min(0) > rng.uniform(2, 6)
    rr, cc = np.nonzero(cavity[::4, ::4])
    if rr.size == 0:
        return
    n = min(lay["n_bowel"], rr.size)
    pick = rng.choice(rr.size, n, replace=False)
    cent = canvas.index_to_image(np.stack([rr[pick] * 4, cc[pick] * 4], 1).astype(float))
    sub = np.nonzero(cavity)
    pts = canvas.index_to_image(np.stack(sub, 1).astype(float))
    # Warp the space a little so that loops are irregular, not round cells.
    amp = rng.uniform(3.0, 8.0)
    scale = rng.uniform(8.0, 16.0) / canvas.step_mm
    for axis in range(2):
        pts[:, axis] += amp * smooth_noise(canvas.shape, scale, rng)[sub]
    d, near = cKDTree(cent).query(pts, k=2)
    d1, d2, near = d[:, 0], d[:, 1], near[:, 0]
    kind = rng.choice([T.FLUID, T.MIXED, T.GAS, T.BOWEL_WALL, T.STOOL], n,
                      p=[0.3, 0.35, 0.08, 0.12, 0.15])
    radius = rng.uniform(12, 28, n)
    wall = rng.uniform(0.8, 2.0)
    vals = np.full(len(near), T.FAT, np.uint8)
    inner = d1 < radius[near]
    vals[inner] = kind[near][inner]
    edge = inner & ((d2 - d1 < 2 * wall) | (d1 > radius[near] - wall))
    vals[edge] = T.BOWEL_WALL
    soft[sub] = vals


def _vault_loops(canvas: Canvas, lay: dict, soft: np.ndarray, organs: np.ndarray,
                 rigid_sdf: np.ndarray, body: np.ndarray) -> None:
    """Bowel loops above the vaginal vault after hysterectomy (opt_in.vault_loops), off
    the organs and bones and inside the body: labels and the rigid map are unchanged."""
    loops = lay.get("vault_loops")
    if not loops:
        return
    free = (organs.min(0) > 1.0) & (rigid_sdf > 2.0) & (body < -5.0)
    for lp in loops:
        d = canvas.evaluate(lambda X, Y, lp=lp: blob_sdf(X, Y, lp["centre"], lp["radii"],
                                                         lp["angle"]),
                            np.array([lp["centre"]]), max(lp["radii"]) + 4)
        inner = (d < 0) & free
        soft[inner] = lp["kind"]
        soft[inner & (d > -lp["wall"])] = T.BOWEL_WALL


def _cut_sdf(X: np.ndarray, Y: np.ndarray, cut: dict, reach: float) -> np.ndarray:
    """Negative on the caudal side of the plane through ``cut["point"]`` across
    ``cut["tangent"]`` and everywhere farther than ``reach`` mm from the point (so that
    the cut ends only the tube near it)."""
    px, py = cut["point"]
    tx, ty = cut["tangent"]
    return np.minimum((X - px) * tx + (Y - py) * ty, reach - np.hypot(X - px, Y - py))


def _sigmoid(canvas: Canvas, lay: dict, soft: np.ndarray, organs: np.ndarray,
             rigid_sdf: np.ndarray, body: np.ndarray) -> None:
    """The sigmoid colon above a rectum cut at S3 (opt_in.sigmoid_colon), with the
    rectum's content and wall, off the organs and bones and inside the body: labels and
    the rigid map are unchanged."""
    sg = lay.get("sigmoid")
    if not sg:
        return
    re = lay["rectum"]
    pts = np.asarray(sg["pts"])
    d = canvas.evaluate(lambda X, Y: tube_sdf(X, Y, pts, sg["radii"]), pts,
                        max(sg["radii"]) + 4)
    e_b, e_u, e_r = organs
    # Up to the rectum's cut end; a little off the bladder and uterus.
    inner = (d < 0) & (e_r >= 0) & (np.minimum(e_b, e_u) > 0.5) & (rigid_sdf > 1.5)
    inner &= body < -4.0
    _fill_lumen(canvas, soft, inner, pts, re["content"])
    soft[inner & (d > -re["wall"])] = T.RECT_WALL


def _fill_lumen(canvas: Canvas, soft: np.ndarray, inside: np.ndarray, pts: np.ndarray,
                content: str) -> None:
    """Paint a bowel's ``content`` (gel, stool, gas or collapsed, with a thin line of
    mixed signal along the centre line ``pts`` of a collapsed one) where ``inside``."""
    soft[inside] = RECTAL_CONTENT[content]
    if content == "collapsed":
        dc = canvas.evaluate(lambda X, Y: polyline_distance(X, Y, pts)[0], pts, 8)
        soft[inside & (dc < 1.5)] = T.MIXED


def _vessels(canvas: Canvas, lay: dict, rng: np.random.Generator, soft: np.ndarray,
             body: np.ndarray) -> None:
    """A few thin winding vessels in the pelvic and mesenteric fat."""
    tip = np.asarray(lay["landmarks"]["coccyx_tip"])
    top = np.asarray(lay["top_pubis"])
    for _ in range(int(rng.integers(2, 9))):
        start = np.array([rng.uniform(top[0], tip[0]), rng.uniform(-200, tip[1] + 20)])
        ang = rng.uniform(0, 2 * np.pi)
        steps = rng.uniform(8, 15) * np.stack(
            [np.cos(ang + np.cumsum(rng.normal(0, 0.35, 6))),
             np.sin(ang + np.cumsum(rng.normal(0, 0.35, 6)))], 1)
        pts = smooth_curve(np.vstack([start, start + np.cumsum(steps, 0)]), n=16)
        rad = rng.uniform(1.0, 3.0)
        d = canvas.evaluate(lambda X, Y, pts=pts, rad=rad: tube_sdf(X, Y, pts, [rad] * len(pts)),
                            pts, rad + 3)
        sel = (d < 0) & (soft == T.FAT) & (body < -10)
        soft[sel] = T.VESSEL


def _organ_tissues(canvas: Canvas, lay: dict, soft: np.ndarray, organs: np.ndarray,
                   vag: np.ndarray, cer: np.ndarray, ubody: np.ndarray,
                   fibroid: np.ndarray, open_end: np.ndarray | None = None) -> None:
    """Walls, contents and zonal anatomy inside the three organs (``open_end``: where the
    rectum's cut end has no wall)."""
    X, Y = canvas.X, canvas.Y
    bl, re, ub = lay["bladder"], lay["rectum"], lay["uterus_body"]
    e_b, e_u, e_r = organs
    if bl.get("hidden"):  # opt-in (opt_in.absent_bladder): labelled, nothing to see
        soft[e_b < 0] = T.FAT
    else:
        soft[e_b < 0] = T.URINE
        soft[(e_b < 0) & (e_b > -bl["wall"])] = T.BLADDER_WALL
    # Uterus and vagina: pick the zone by the nearest primitive.
    inside_u = e_u < 0
    zone = np.argmin(np.stack([vag, cer, ubody - 4.0]), axis=0)
    soft[inside_u & (zone == 0)] = T.VAG_WALL
    va = lay["vagina"]
    dv = canvas.evaluate(lambda X, Y: polyline_distance(X, Y, np.asarray(va["pts"]))[0],
                         np.asarray(va["pts"]), 8)
    lumen = T.FLUID if va.get("gel") else T.VAG_LUMEN
    soft[inside_u & (zone == 0) & (dv < va["lumen"])] = lumen
    soft[inside_u & (zone == 1)] = T.STROMA
    ce = lay["cervix"]
    dc = canvas.evaluate(lambda X, Y: polyline_distance(X, Y, np.asarray(ce["pts"]))[0],
                         np.asarray(ce["pts"]), 8)
    soft[inside_u & (zone == 1) & (dc < ce["canal"])] = T.ENDOMETRIUM
    soft[inside_u & (zone == 2)] = T.MYOMETRIUM
    ax = np.asarray(ub["axis"])
    endo, jz = ub["endometrium"], ub["jz"]
    d_jz = canvas.evaluate(lambda X, Y: tube_sdf(X, Y, ax, [0.6 * jz + 0.5, endo + jz]), ax, 20)
    d_en = canvas.evaluate(lambda X, Y: tube_sdf(X, Y, ax, [0.4, endo]), ax, 20)
    body_zone = inside_u & (zone == 2)
    soft[body_zone & (d_jz < 0)] = T.STROMA
    soft[body_zone & (d_en < 0)] = T.ENDOMETRIUM
    # Occasional fibroids (dark, round) in the body and Nabothian cysts in the cervix.
    for zone_id, tissue, n_max, r_lo, r_hi, prob in ((2, T.STROMA, 3, 4.0, 12.0, 0.25),
                                                     (1, T.FLUID, 3, 1.5, 4.0, 0.3)):
        cand = np.argwhere(inside_u & (zone == zone_id))
        if len(cand) == 0 or lay["lesion_draws"][zone_id - 1] > prob:
            continue
        for k in range(1 + int(lay["lesion_draws"][2 + zone_id] * n_max) % n_max):
            r, c = cand[int(lay["lesion_draws"][4 + k] * (len(cand) - 1))]
            rad = r_lo + (r_hi - r_lo) * lay["lesion_draws"][7 + k]
            near = (X - X[r, c]) ** 2 + (Y - Y[r, c]) ** 2 < rad**2
            soft[near & inside_u & (zone == zone_id)] = tissue
    soft[inside_u & (fibroid < 0)] = T.STROMA  # the opt-in fibroids on the outline
    # Rectum: wall and content (gel, stool, gas or collapsed lumen).
    inside_r = e_r < 0
    _fill_lumen(canvas, soft, inside_r, np.asarray(re["pts"]), re["content"])
    wall = inside_r & (e_r > -re["wall"])
    if open_end is not None:
        wall &= ~open_end
    soft[wall] = T.RECT_WALL
    # Anal canal: narrow, mostly wall.
    canal = inside_r & (Y > re["arj"][1] + 4)
    soft[canal & (e_r < -re["wall"])] = T.RECT_WALL
    del X, Y
