"""Random mid-sagittal pelvic anatomy, laid out in the body frame.

Body frame: mm, origin at the inferior pubic point, ``x`` posterior, ``y``
caudal.  :func:`draw_layout` returns plain numbers and lists (JSON-able), from
which :mod:`core.phantom.paint` renders tissues and organ level sets.
Typical adult female sizes are used (symphysis 38–50 mm, pubococcygeal line
85–110 mm, bladder from nearly empty to full, anteverted or retroverted uterus).
"""

from __future__ import annotations

import numpy as np

from core.phantom.shapes import smooth_curve


def _unit(angle_deg: float) -> np.ndarray:
    """Direction at ``angle_deg`` from +x (posterior) towards −y (cranial)."""
    a = np.deg2rad(angle_deg)
    return np.array([np.cos(a), -np.sin(a)])


def harmonics(rng: np.random.Generator, n: int, amp: float) -> tuple[list, list]:
    coeffs = [float(rng.uniform(-amp, amp) / (k + 1) ** 0.7) for k in range(n)]
    phases = [float(rng.uniform(0, 2 * np.pi)) for _ in range(n)]
    return coeffs, phases


def _spine_curve(rng: np.random.Generator, tip: np.ndarray) -> np.ndarray:
    """Anterior surface of coccyx, sacrum and lumbar spine, from the coccyx tip up."""
    k = rng.uniform(0.8, 1.2)  # sacral curvature
    lord = rng.uniform(0.6, 1.4)  # lumbar lordosis
    sc = rng.uniform(0.92, 1.1)  # size
    ctrl = np.array([
        [0, 0], [9, -12], [17 * k, -26], [28 * k, -50], [32 * k, -75], [27 * k, -100],
        [14 * k, -124], [2 * k - 6 * lord, -152], [-4 - 10 * lord, -185],
        [-6 - 12 * lord, -220], [-4 - 10 * lord, -255], [2 - 6 * lord, -290], [8, -330],
        [14, -380], [18, -440],
    ]) * sc
    return smooth_curve(ctrl + tip, n=140)


def anterior_normals(curve: np.ndarray) -> np.ndarray:
    """Unit normals (K, 2) of a polyline (K, 2), each pointing anteriorly (−x)."""
    tang = np.gradient(curve, axis=0)
    norm = np.stack([tang[:, 1], -tang[:, 0]], 1)
    norm /= np.linalg.norm(norm, axis=1, keepdims=True)
    return norm * -np.sign(norm[:, 0:1] + 1e-9)


def draw_layout(rng: np.random.Generator) -> dict:
    """Draw one random pelvic anatomy in the body frame.

    Args:
        rng: random generator (the only source of randomness).

    Returns:
        A JSON-able dict of shapes (centres, radii, angles in radians, polylines
        as lists of [x, y] mm) and landmarks ``inferior_pubic_point`` and
        ``coccyx_tip`` (body-frame mm).
    """
    u = rng.uniform
    lay: dict = {}
    # Pubic symphysis: ellipse whose inferior end is the origin, top tilted anteriorly.
    ls, ts, tilt = u(38, 50), u(11, 16), np.deg2rad(u(18, 45))
    axis = np.array([-np.sin(tilt), -np.cos(tilt)])
    lay["symphysis"] = {
        "centre": (axis * ls / 2).tolist(), "radii": [ls / 2, ts / 2],
        "angle": float(np.arctan2(axis[1], axis[0])), "disc": u(1.0, 2.5),
    }
    top_pubis = axis * ls
    # Coccyx tip from the pubococcygeal line length and angle.
    pcl, phi = u(85, 110), u(8, 35)
    tip = pcl * _unit(phi)
    spine = _spine_curve(rng, tip)
    lay["spine"] = {"curve": spine.tolist(), "canal": u(9, 15), "disc_signal": u(0, 1)}
    # Coccyx tip: the middle of the distal end of the last segment (9 mm deep).
    t0 = (spine[1] - spine[0]) / np.linalg.norm(spine[1] - spine[0])
    n0 = np.array([-t0[1], t0[0]]) * np.sign(-t0[1] + 1e-9)
    tip_mark = tip + n0 * 4.5
    lay["landmarks"] = {"inferior_pubic_point": [0.0, 0.0], "coccyx_tip": tip_mark.tolist()}

    # Bladder neck behind the symphysis, vagina just behind the bladder base.
    neck = np.array([u(13, 22), u(-20, -6)])
    beta = u(48, 75)  # vaginal axis angle above the horizontal
    dv = _unit(beta)
    rv = u(5, 8)
    perineum_y = u(30, 44)
    v_anchor = neck + np.array([u(3, 7) + rv, 0.0])
    t_low = (perineum_y - 2 - v_anchor[1]) / dv[1]  # dv[1] < 0: going down is t < 0
    v_low = v_anchor + t_low * dv
    v_high = v_anchor + u(30, 55) * dv
    # A gentle bend (towards the sacrum or the pubis) in the middle third.
    bend = np.array([-dv[1], dv[0]]) * u(-5, 5)
    vpts = smooth_curve(np.array([v_low, (v_low + v_high) / 2 + bend, v_high]), n=9)
    lay["vagina"] = {"pts": vpts.tolist(), "radius": rv,
                     "lumen": u(0.6, 2.0)}
    if rng.random() < 0.25:  # vaginal gel (defecography): distended bright lumen
        lay["vagina"].update(gel=True, lumen=rv * u(0.35, 0.65))
    # Cervix continues the vagina, the body flexes anteriorly (or posteriorly).
    cdir = _unit(beta + u(-15, 20))
    lc, rc = u(22, 34), u(11, 16)
    c_top = v_high + lc * cdir
    lay["cervix"] = {"pts": [(v_high - 4 * dv).tolist(), c_top.tolist()], "radius": rc,
                     "canal": u(0.8, 2.0)}
    retro = rng.random() < 0.2
    psi = u(-55, -10) if retro else u(35, 115)
    bdir = _unit(beta + psi)
    lb, tb = u(38, 62), u(15, 24)
    if rng.random() < 0.15:  # small (postmenopausal) uterus
        lb, tb = lb * 0.65, tb * 0.7
    coeffs, phases = harmonics(rng, 3, 0.12)
    lay["uterus_body"] = {
        "centre": (c_top + bdir * (lb / 2 - 4)).tolist(), "radii": [lb / 2 + 4, tb],
        "angle": float(np.arctan2(bdir[1], bdir[0])), "coeffs": coeffs, "phases": phases,
        "endometrium": u(0.8, 4.5), "jz": u(1.5, 4.5), "axis": [c_top.tolist(),
        (c_top + bdir * (lb - 8)).tolist()], "retroverted": bool(retro),
    }
    # Bladder: from nearly empty to full, rising above the symphysis.
    fill = u(0.0, 1.0) ** 0.7  # more often moderately full, as protocols ask
    rb = 13 + 32 * fill
    bang = np.deg2rad(u(-20, 20))
    bcentre = neck + np.array([0.25 * rb + 4, -0.9 * rb - 2])
    coeffs, phases = harmonics(rng, 4, 0.16 if fill < 0.4 else 0.1)
    lay["bladder"] = {
        "centre": bcentre.tolist(), "radii": [rb * u(0.95, 1.3), rb * u(0.7, 1.0)],
        "angle": float(bang), "coeffs": coeffs, "phases": phases, "power": u(2.0, 2.8),
        "neck": neck.tolist(), "neck_radius": u(3.5, 6.0),
        "wall": u(0.8, 2.2) + 3.0 * (1 - fill) * u(0.3, 1.0), "fill": fill,
    }
    lay["urethra"] = {"pts": [neck.tolist(), (neck + [-u(4, 10), u(30, 40)]).tolist()],
                      "radius": u(5, 7)}
    # Rectum: anal canal down-back to the anus, ampulla and rectum up along the sacrum.
    arj_y = u(-6, 10)
    tv = (arj_y - v_anchor[1]) / dv[1]
    arj = np.array([v_anchor[0] + tv * dv[0] + rv + u(9, 16), arj_y])
    gam = np.deg2rad(u(5, 40))
    anus = arj + u(26, 38) * np.array([np.sin(gam), np.cos(gam)])
    amp_r, up_r = u(9, 20), u(7, 13)

    def x_vagina(y: float) -> float:
        return float(v_anchor[0] + (y - v_anchor[1]) / dv[1] * dv[0])

    gap = u(7, 18)
    # Rectum centre line follows the spine at a distance gap + radius in front of it.
    sp = spine[(spine[:, 1] < arj[1] - 28) & (spine[:, 1] > arj[1] - u(75, 120))]
    off = sp + anterior_normals(sp) * (gap + np.linspace(amp_r, up_r, len(sp))[:, None])
    off = off[::-1]  # from caudal to cranial
    amp_y = arj[1] - u(18, 28)
    amp_c = np.array([max(arj[0] + u(-2, 6), x_vagina(amp_y) + rv + amp_r + u(1, 5)), amp_y])
    pick = off[np.linspace(0, len(off) - 1, 5).astype(int)[1:]]
    ctrl = np.concatenate([[anus, arj, amp_c], pick])
    pts = smooth_curve(ctrl, n=20)
    radii = np.interp(np.linspace(0, 1, len(pts)), [0, 0.22, 0.3, 0.55, 1],
                      [u(5, 8), u(6, 9), amp_r, amp_r * u(0.7, 1.0), up_r])
    content = rng.choice(["gel", "stool", "gas", "collapsed"], p=[0.35, 0.35, 0.15, 0.15])
    lay["rectum"] = {"pts": pts.tolist(), "radii": radii.tolist(), "wall": u(2.0, 4.0),
                     "content": str(content), "arj": arj.tolist(), "anus": anus.tolist()}
    # Pelvic floor muscles and the perineal body.
    lay["levator"] = {"pts": [(arj + [radii[1] + 3, 2]).tolist(),
                              ((arj + tip) / 2 + [0, u(0, 6)]).tolist(), tip.tolist()],
                      "radius": u(2.5, 5.0)}
    lay["perineal_body"] = {"centre": ((v_low + anus) / 2 + [0, -u(4, 10)]).tolist(),
                            "radii": [u(7, 11), u(6, 10)]}
    lay["sphincter"] = u(3, 6)
    # Body outline and fat / muscle layers.
    xa = -u(45, 95)

    def x_spine(y: float) -> float:
        near = spine[np.abs(spine[:, 1] - y) < 15]
        return float(near[:, 0].max()) if len(near) else float(tip[0])

    back_soft = u(35, 85)
    body = np.array([
        [xa, -480], [xa - u(0, 15), -260], [xa - u(0, 20), -150], [xa * 0.85, -70],
        [top_pubis[0] - u(12, 30), top_pubis[1] + 5], [-u(8, 18), u(18, 30)],
        [v_low[0] - 2, perineum_y + 1], [anus[0] - 12, anus[1] + 2], [anus[0] + 4, anus[1] + 3],
        [tip[0] + u(15, 35), tip[1] + u(45, 70)],
        [x_spine(tip[1] - 30) + 35 + back_soft, tip[1] - 30],
        [x_spine(tip[1] - 90) + 45 + back_soft, tip[1] - 90],
        [x_spine(-200) + 60 + back_soft * u(0.8, 1.3), -200],
        [x_spine(-320) + 60 + back_soft * u(0.8, 1.3), -320],
        [x_spine(-450) + 60 + back_soft * u(0.8, 1.3), -480],
    ])
    lay["body"] = {
        "outline": body.tolist(), "fat_ant": u(8, 45), "fat_post": u(10, 55),
        "rectus": u(7, 13), "muscle_post": u(25, 60), "skin": u(1.0, 2.0),
        "sacrum_len": u(105, 130),
    }
    lay["top_pubis"] = top_pubis.tolist()
    lay["n_bowel"] = int(rng.integers(30, 80))
    lay["lesion_draws"] = rng.random(10).tolist()  # fibroids / Nabothian cysts
    # Free fluid in the rectouterine pouch (some cases).
    pouch = (c_top + arj) / 2 + np.array([u(-5, 10), -u(15, 35)])
    lay["pouch"] = {"centre": pouch.tolist(), "radii": [u(4, 12), u(3, 8)],
                    "angle": u(0, np.pi), "present": bool(rng.random() < 0.2)}
    # Gap (mm) left by bladder and rectum against the vagina (0 = touching).
    lay["contact"] = [u(0, 1.5) if rng.random() < 0.6 else 0.0,
                      u(0, 3.0) if rng.random() < 0.6 else 0.0]
    return lay


def scale_turn(p: list, pivot: np.ndarray, scale: float, ang: float) -> list:
    """``p`` moved away from ``pivot`` by ``scale``, then turned about it by ``ang``."""
    c, s = np.cos(ang), np.sin(ang)
    d = (np.asarray(p, float) - pivot) * scale
    return (pivot + np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]])).tolist()


def vary_layout(lay: dict, rng: np.random.Generator, strength: float) -> float:
    """Widen the organ shapes of a drawn layout beyond :func:`draw_layout`'s ranges (in place).

    Each organ changes on its own (size, aspect, orientation, lobulation, bends and
    calibre of the rectum), so relative sizes and positions that the default
    anatomy never shows appear in training.  The amount is ``strength`` times a
    per-case draw in [0.3, 1], so a set mixes mildly and strongly varied cases.

    Args:
        lay: a layout from :func:`draw_layout`.
        rng: its own random generator (the case's other draws stay unchanged).
        strength: >= 0; 0 leaves the layout as it is, 1 is the training setting.

    Returns:
        The amount applied (strength × the per-case draw).
    """
    if strength <= 0:
        return 0.0
    s = float(strength * rng.uniform(0.3, 1.0))

    def factor(sd: float) -> float:
        return float(np.exp(np.clip(rng.normal(0.0, sd * s), -2.5 * sd, 2.5 * sd)))

    def lobes(coeffs: list, phases: list, n_extra: int, amp: float) -> tuple[list, list]:
        grow = 1.0 + 1.5 * s
        c = [v * grow for v in coeffs]
        p = list(phases)
        for k in range(len(c), len(c) + n_extra):
            c.append(float(rng.uniform(-amp, amp) * s / (k + 1) ** 0.7))
            p.append(float(rng.uniform(0, 2 * np.pi)))
        # Keep the radial profile positive (a blob, not a star).
        total = sum(abs(v) for v in c)
        if total > 0.45:
            c = [v * 0.45 / total for v in c]
        return c, p

    # Bladder: size and aspect about its neck, turned, more or less lobulated.
    bl = lay["bladder"]
    neck = np.asarray(bl["neck"], float)
    size, aspect = factor(0.2), factor(0.15)
    bl["radii"] = [bl["radii"][0] * size * aspect, bl["radii"][1] * size / aspect]
    bl["centre"] = scale_turn(bl["centre"], neck, size, np.deg2rad(rng.uniform(-20, 20) * s))
    bl["angle"] = float(bl["angle"] + np.deg2rad(rng.uniform(-35, 35) * s))
    bl["coeffs"], bl["phases"] = lobes(bl["coeffs"], bl["phases"], 2, 0.12)
    bl["power"] = float(np.clip(bl["power"] + rng.uniform(-0.4, 0.8) * s, 1.8, 3.4))
    # Uterus: body flexed further about the top of the cervix, resized, reshaped.
    ub = lay["uterus_body"]
    pivot = np.asarray(ub["axis"][0], float)
    turn = np.deg2rad(rng.uniform(-30, 30) * s)
    size, aspect = factor(0.2), factor(0.15)
    ub["centre"] = scale_turn(ub["centre"], pivot, size * aspect, turn)
    ub["axis"] = [pivot.tolist(), scale_turn(ub["axis"][1], pivot, size * aspect, turn)]
    ub["radii"] = [ub["radii"][0] * size * aspect, ub["radii"][1] * size / aspect]
    ub["angle"] = float(ub["angle"] + turn)
    ub["coeffs"], ub["phases"] = lobes(ub["coeffs"], ub["phases"], 2, 0.1)
    ce = lay["cervix"]
    ce["radius"] = float(ce["radius"] * factor(0.15))
    va = lay["vagina"]
    va["radius"] = float(va["radius"] * factor(0.12))
    # Rectum: calibre varying along its length, its upper course bent sideways.
    re = lay["rectum"]
    pts = np.asarray(re["pts"], float)
    n = len(pts)
    knots = np.linspace(0, 1, 5)
    calibre = np.exp(np.interp(np.linspace(0, 1, n), knots, rng.normal(0, 0.25 * s, 5)))
    calibre[:3] = 1.0  # the anal canal keeps its calibre
    re["radii"] = (np.asarray(re["radii"], float) * calibre).tolist()
    tang = np.gradient(pts, axis=0)
    normal = np.stack([-tang[:, 1], tang[:, 0]], 1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    bend = np.interp(np.linspace(0, 1, n), knots, rng.uniform(-8, 8, 5) * s)
    bend *= np.clip((np.arange(n) - 3) / 4.0, 0.0, 1.0)  # anus and anorectal junction fixed
    re["pts"] = (pts + normal * bend[:, None]).tolist()
    lay["variation"] = s
    return s
