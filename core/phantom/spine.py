"""The spinal column of the phantom: coccyx, sacrum, lumbar vertebrae, discs, canal."""

from __future__ import annotations

import numpy as np

from core.phantom import tissues as T
from core.phantom.grid import BIG, Canvas
from core.phantom.shapes import blob_sdf, smin, tube_sdf


def spine_column(canvas: Canvas, lay: dict, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Vertebrae, discs, canal and posterior elements: (sdf, tissue map)."""
    curve = np.asarray(lay["spine"]["curve"])
    seg = np.hypot(*np.diff(curve, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    tang = np.gradient(curve, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    post = np.stack([-tang[:, 1], tang[:, 0]], 1)
    post *= np.sign(post[:, 0:1] + 1e-9)  # normal pointing posterior (+x)
    # (length along the curve, gap after, depth) from the coccyx tip up.
    gap_disc = rng.uniform(7, 11)
    levels = [(9, 2, 9), (9, 2, 11), (11, 3, 13), (16, 2, 17), (19, 1.5, 22), (22, 1.5, 28),
              (24, 1.5, 34), (28, gap_disc, 40)]
    levels += [(rng.uniform(26, 31), gap_disc, rng.uniform(33, 38)) for _ in range(9)]
    bone = np.full(canvas.shape, BIG, np.float32)
    disc = np.full(canvas.shape, BIG, np.float32)
    pos = 0.0
    spinous: list = []
    for i, (length, gap, depth) in enumerate(levels):
        if pos + length > s[-1]:
            break
        mid = pos + length / 2
        c = np.array([np.interp(mid, s, curve[:, 0]), np.interp(mid, s, curve[:, 1])])
        t = np.array([np.interp(mid, s, tang[:, 0]), np.interp(mid, s, tang[:, 1])])
        n = np.array([-t[1], t[0]]) * np.sign(-t[1] + 1e-9)
        centre = c + n * depth / 2
        ang = float(np.arctan2(t[1], t[0]))
        r = (length / 2, depth / 2)
        sdf = canvas.evaluate(
            lambda X, Y, centre=centre, ang=ang, r=r: blob_sdf(X, Y, centre, r, ang, power=4.0),
            np.array([centre]), max(r) + 4)
        bone = np.minimum(bone, sdf)
        if gap > 4 and i >= 7:
            dc = c + t * (length / 2 + gap / 2) + n * depth / 2
            rr = (gap / 2 + 1.0, depth / 2 - 1)
            dsd = canvas.evaluate(
                lambda X, Y, dc=dc, ang=ang, rr=rr: blob_sdf(X, Y, dc, rr, ang, power=3.0),
                np.array([dc]), max(rr) + 4)
            disc = np.minimum(disc, dsd)
        if i >= 8:  # lumbar: a spinous process behind the canal
            spinous.append((c + n * (depth + lay["spine"]["canal"] + 20) - t * 4, ang))
        pos += length + gap
    # Canal (CSF above S2, fat below) and posterior elements behind the bodies.
    canal_w = lay["spine"]["canal"]
    depth_at = np.interp(s, [0, 60, 110, 160, 2000], [8, 18, 34, 40, 37])
    canal_line = curve + post * (depth_at[:, None] + 2 + canal_w / 2)
    keep = s > 35
    canal = canvas.evaluate(
        lambda X, Y: tube_sdf(X, Y, canal_line[keep][::4],
                              np.interp(s[keep][::4], [35, 110, 2000],
                                        [2.5, canal_w / 2, canal_w / 2])),
        canal_line[keep], canal_w + 4)
    sac = (s > 35) & (s < 135)
    back_line = curve + post * (depth_at[:, None] + 4 + canal_w + 2)
    back = canvas.evaluate(
        lambda X, Y: tube_sdf(X, Y, back_line[sac][::4],
                              np.interp(s[sac][::4], [35, 135], [2.5, 5.0])),
        back_line[sac], 10)
    for centre, ang in spinous:
        sp_sdf = canvas.evaluate(
            lambda X, Y, centre=centre, ang=ang: blob_sdf(X, Y, centre, (9.0, 17.0), ang,
                                                          power=2.5),
            np.array([centre]), 22)
        back = np.minimum(back, sp_sdf)
    column = smin(smin(np.minimum(bone, disc), canal, 3.0), back, 3.0)
    tmap = np.zeros(canvas.shape, np.uint8)
    tmap[column < 0] = T.FIBROUS
    tmap[back < 0] = T.MARROW
    tmap[(back < 0) & (back > -1.5)] = T.CORTEX
    tmap[canal < 0] = T.CSF
    tmap[disc < 0] = T.DISC
    tmap[(disc < 0) & (disc > -2.0)] = T.FIBROUS
    tmap[bone < 0] = T.MARROW
    tmap[(bone < 0) & (bone > -1.6)] = T.CORTEX
    return column, tmap, canal_line
