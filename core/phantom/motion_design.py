"""Where and how much the pelvic organs move when the subject strains.

Each bump is a Gaussian-localised forward displacement (mm at full effort)
centred on an anatomical structure of the layout: the pelvic floor sags and
descends, the bladder base moves down and back, the uterus and cervix descend
and rotate, the anterior rectal wall bulges forward (rectocele), the levator
plate and perineum sag, the abdominal wall bulges and the bowel is pushed down;
one more bump moves the abdomen with breathing.
"""

from __future__ import annotations

import numpy as np

from core.phantom.grid import Canvas
from core.phantom.motion import Bump


def _dir(angle_deg: float) -> np.ndarray:
    """Body-frame unit vector, ``angle_deg`` from caudal (+y) towards posterior (+x)."""
    a = np.deg2rad(angle_deg)
    return np.array([np.sin(a), np.cos(a)])


def design_bumps(lay: dict, canvas: Canvas, rng: np.random.Generator, strength: float,
                 resp_mm: float, bowel_mm: float = 0.0) -> tuple[list[Bump], list[str]]:
    """Localised deformations of one case, in image mm.

    Args:
        lay: body-frame layout.
        canvas: grid (body ↔ image transforms).
        rng: random generator.
        strength: overall motion strength (0 none, 1 a marked prolapse).
        resp_mm: amplitude of the respiratory motion of the abdomen (mm).
        bowel_mm: amplitude of the independent motion of bowel loops (mm).

    Returns:
        (bumps, channel of each bump: ``"strain"``, ``"resp"`` or ``"bowel"``).
    """
    u = rng.uniform
    m = strength
    neck = np.asarray(lay["bladder"]["neck"])
    arj = np.asarray(lay["rectum"]["arj"])
    c_top = np.asarray(lay["cervix"]["pts"][1])
    blc = np.asarray(lay["bladder"]["centre"])
    rb = max(lay["bladder"]["radii"])
    tip = np.asarray(lay["landmarks"]["coccyx_tip"])
    rec = np.asarray(lay["rectum"]["pts"])
    rr = np.asarray(lay["rectum"]["radii"])
    amp_i = int(np.argmax(rr))
    # Tissue behind the symphysis slides along it: down and back at its tilt.
    ax = np.asarray(lay["symphysis"]["centre"], float)
    sym_tilt = float(np.degrees(np.arctan2(-ax[0], -ax[1])))  # from caudal towards posterior
    body = [
        # (centre, sigma, forward displacement, rotation)
        # Pelvic floor descent: anterior compartment down and back (rotating around the
        # pubis), posterior compartment down and forward (away from the sacrum).
        (neck + [6, 8], u(25, 35), m * u(8, 30) * _dir(sym_tilt + u(4, 25)), 0.0),
        (arj + [-4, 4], u(25, 35), m * u(8, 30) * _dir(u(-35, 0)), 0.0),
        (neck + [4, -0.3 * rb], u(18, 28), m * u(4, 24) * _dir(sym_tilt + u(8, 35)), 0.0),
        (c_top, u(20, 32), m * u(4, 28) * _dir(u(-45, 0)), 0.0),
        (c_top, u(25, 35), np.zeros(2), m * u(-0.25, 0.25)),
        (rec[amp_i] - [rr[amp_i] * 0.8, 0], u(12, 20), m * u(0, 22) * _dir(u(-95, -50)), 0.0),
        ((arj + tip) / 2, u(15, 25), m * u(3, 15) * _dir(u(-40, -5)), 0.0),
        (np.array([(neck[0] + arj[0]) / 2, arj[1] + 35]), u(20, 30),
         m * u(3, 18) * _dir(u(-10, 20)), 0.0),
        (blc + [0, -rb - 50], u(40, 70), m * u(3, 12) * _dir(u(-20, 20)), 0.0),
        (np.array([-lay["body"]["fat_ant"] - 40.0, -130.0]), u(40, 60),
         m * u(0, 10) * _dir(-90), 0.0),
    ]
    # A few random smooth deformations around the organs: motion patterns beyond the model.
    lo = np.minimum.reduce([neck, arj, c_top]) - 30.0
    hi = np.maximum.reduce([neck, arj, c_top]) + 30.0
    for _ in range(int(rng.integers(1, 4))):
        centre = rng.uniform(lo, hi)
        if rng.random() < 0.3:
            body.append((centre, u(20, 40), np.zeros(2), m * u(-0.12, 0.12)))
        else:
            body.append((centre, u(15, 40), m * u(0, 8) * _dir(u(-180, 180)), 0.0))
    bumps, channels = [], []
    for centre, sigma, vec, rot in body:
        c_img = canvas.body_to_image(np.asarray(centre, float))
        v_img = canvas.body_vec_to_image(np.asarray(vec, float))
        bumps.append(Bump(c_img, np.array([sigma, sigma * u(0.85, 1.2)]), v_img, float(rot)))
        channels.append("strain")
    resp_c = canvas.body_to_image(np.array([20.0, -220.0]))
    resp_v = canvas.body_vec_to_image(resp_mm * _dir(u(-20, 20)))
    bumps.append(Bump(resp_c, np.array([u(80, 120)] * 2), resp_v, 0.0))
    channels.append("resp")
    # Bowel loops above the pelvis move on their own (peristalsis), a few mm.
    top = np.asarray(lay["top_pubis"])
    for _ in range(int(rng.integers(1, 4))):
        c_body = np.array([u(top[0], tip[0] - 20), u(-200, top[1] - 40)])
        vec = canvas.body_vec_to_image(bowel_mm * u(0.5, 1.0) * _dir(u(-180, 180)))
        bumps.append(Bump(canvas.body_to_image(c_body), np.array([u(15, 30)] * 2), vec, 0.0))
        channels.append("bowel")
    return bumps, channels
