"""Opt-in anatomy: changes of a drawn layout that the phantom never draws by itself.

Each function takes a layout from :func:`core.phantom.layout.draw_layout` and its own
random generator (so that the case's other draws stay unchanged) and changes the layout
in place; :func:`core.phantom.case.build_model` calls them for the case parameters of
the same names (``absent_bladder``, ``empty_bladder``, ``fibroid_uterus``, ``large_uterus``,
``neck_funnel``, ``sigmoid_colon``; ``vault_loops`` with ``hysterectomy``), and
:func:`core.phantom.paint.paint` draws what they add.
"""

from __future__ import annotations

import numpy as np

from core.phantom import tissues as T
from core.phantom.layout import anterior_normals, harmonics, scale_turn
from core.phantom.shapes import smooth_curve

#: Smallest radius of :func:`absent_bladder`'s speck in output pixels (a smaller one
#: does not outlast :func:`core.phantom.levelsets.regular_partition`).
SPECK_PIXELS = 1.5


def empty_bladder(lay: dict, rng: np.random.Generator) -> None:
    """Replace a drawn layout's bladder by a nearly empty one (in place).

    A voided bladder lies flat above its neck, behind the symphysis: a thin,
    often dented disc (half-thickness 3–8 mm) whose thick wall holds little or
    no urine; :func:`core.phantom.layout.draw_layout`'s emptiest bladder is a blob of radius 13 mm.

    Args:
        lay: a layout from :func:`core.phantom.layout.draw_layout`.
        rng: its own random generator (the case's other draws stay unchanged).
    """
    u = rng.uniform
    bl = lay["bladder"]
    neck = np.asarray(bl["neck"], float)
    half_len, half_thick = u(10.0, 22.0), u(3.0, 8.0)
    ang = np.deg2rad(u(-30.0, 15.0))  # long axis about antero-posterior
    axis = np.array([np.cos(ang), np.sin(ang)])
    centre = neck + axis * half_len * u(0.2, 0.6) + np.array([0.0, -(half_thick + u(1.0, 4.0))])
    coeffs, phases = harmonics(rng, 4, 0.22)
    bl.update({
        "centre": centre.tolist(), "radii": [half_len, half_thick], "angle": float(ang),
        "coeffs": coeffs, "phases": phases, "power": u(2.0, 2.6),
        "neck_radius": min(bl["neck_radius"], half_thick * u(0.4, 0.5)),
        "wall": min(u(2.0, 4.5), half_thick), "fill": u(0.0, 0.05), "empty": True,
    })


def absent_bladder(lay: dict, rng: np.random.Generator) -> None:
    """Leave a drawn layout's bladder nothing to see (in place).

    Some series show no bladder at all: voided, or out of the slice. The bladder shrinks
    to a speck (radius 1–2.5 mm, at least ``SPECK_PIXELS`` output pixels so that the
    pixels can show it) just above its neck, behind the symphysis, labelled
    but painted as the fat around it (:func:`core.phantom.paint.paint`), so the label
    marks where the bladder would be while the image shows none; the space it filled is
    left to fat and bowel.

    Args:
        lay: a layout from :func:`core.phantom.layout.draw_layout`, with its output pixel
            size ``pixel_mm`` (the larger side; 1 mm if missing).
        rng: its own random generator (the case's other draws stay unchanged).
    """
    u = rng.uniform
    bl = lay["bladder"]
    neck = np.asarray(bl["neck"], float)
    r = max(u(1.0, 2.5), SPECK_PIXELS * lay.get("pixel_mm", 1.0))
    centre = neck + np.array([u(-2.0, 2.0), -(r + u(2.0, 5.0))])
    bl.update({
        "centre": centre.tolist(), "radii": [r, r * u(0.7, 1.0)], "angle": 0.0,
        "coeffs": [0.0] * len(bl["coeffs"]), "phases": [0.0] * len(bl["phases"]),
        "power": 2.0, "neck_radius": min(bl["neck_radius"], 0.5 * r), "wall": r,
        "fill": 0.0, "empty": True, "hidden": True,
    })


def _body_point(ub: dict, phi: float, frac: float) -> list[float]:
    """The point at angle ``phi`` (0 = the fundus) and ``frac`` of the way from the
    centre to the outline of the uterine body's ellipse ``ub`` (body frame, mm)."""
    (ra, rb), ang = ub["radii"], ub["angle"]
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    edge = rot @ np.array([ra * np.cos(phi), rb * np.sin(phi)])
    return (np.asarray(ub["centre"], float) + edge * frac).tolist()


def fibroid_uterus(lay: dict, rng: np.random.Generator) -> None:
    """Give a drawn layout an enlarged uterus with fibroids bulging from it (in place).

    The body grows ×1–1.35 about the top of the cervix, and 1–3 fibroids (hypointense
    on T2, ellipses of radius 5–20 mm) sit on its outline anywhere but towards the
    cervix, their centres 75–105 % of the way out, so they bulge from the body
    (subserosal) or dent its outline from within (intramural).  The phantom's own
    fibroids are painted inside an unchanged outline; these change it.

    Args:
        lay: a layout from :func:`core.phantom.layout.draw_layout`.
        rng: its own random generator (the case's other draws stay unchanged).
    """
    ub = lay["uterus_body"]
    grow = rng.uniform(1.0, 1.35)
    _grow_body(ub, grow, grow)
    ub["fibroids"] = _fibroids(ub, rng, int(rng.integers(1, 4)), 20.0)


def large_uterus(lay: dict, rng: np.random.Generator) -> None:
    """Give a drawn layout a large uterine body reaching over the bladder (in place).

    The body grows about the top of the cervix ×1.4–1.9 along its axis and ×1.2–1.6
    across it (a body 55–120 mm long and 35–75 mm thick, as with fibroids, adenomyosis or
    after several pregnancies), keeping its direction, so an anteverted one reaches over
    the bladder dome into the space the bowel fills otherwise (:func:`paint` lays the
    bowel loops around the organs); 0–3 fibroids of radius 5–25 mm sit on its outline as
    in :func:`fibroid_uterus`.  :func:`fibroid_uterus` grows the body ×1–1.35 at most.

    Args:
        lay: a layout from :func:`core.phantom.layout.draw_layout`.
        rng: its own random generator (the case's other draws stay unchanged).
    """
    ub = lay["uterus_body"]
    along, across = rng.uniform(1.4, 1.9), rng.uniform(1.2, 1.6)
    _grow_body(ub, along, across)
    ub["fibroids"] = _fibroids(ub, rng, int(rng.integers(0, 4)), 25.0)
    ub["large"] = True


def _grow_body(ub: dict, along: float, across: float) -> None:
    """Grow the uterine body ``ub`` about the top of the cervix (the start of its axis),
    ×``along`` along its axis and ×``across`` across it (in place)."""
    pivot = np.asarray(ub["axis"][0], float)
    ub["centre"] = scale_turn(ub["centre"], pivot, along, 0.0)
    ub["axis"] = [pivot.tolist(), scale_turn(ub["axis"][1], pivot, along, 0.0)]
    ub["radii"] = [ub["radii"][0] * along, ub["radii"][1] * across]


def _fibroids(ub: dict, rng: np.random.Generator, n: int, r_max: float) -> list[dict]:
    """``n`` fibroids (radius 5–``r_max`` mm) centred 75–105 % of the way out to the
    outline of the uterine body ``ub``, anywhere but towards the cervix."""
    u = rng.uniform
    out = []
    for _ in range(n):
        phi = np.deg2rad(u(-120.0, 120.0))  # 0 = the fundus, ±180° = the cervix
        radius = u(5.0, r_max)
        out.append({"centre": _body_point(ub, phi, u(0.75, 1.05)),
                    "radii": [radius, radius * u(0.7, 1.0)],
                    "angle": float(u(0.0, np.pi))})
    return out


def vault_loops(lay: dict, rng: np.random.Generator) -> None:
    """Bowel loops in the space a hysterectomy left above the vaginal vault (in place).

    Without a uterus, small bowel and sigmoid sink into the cul-de-sac between the
    bladder and the rectum.  1–3 loops (ellipses of radius 8–18 mm; mostly mixed or
    collapsed content, grey like a uterus, else stool, fluid or gas; walls 0.8–2 mm)
    are centred inside the outline the uterine body would have had, so they fill the
    place where a model that expects a uterus looks for one.  :func:`paint` lays them
    only where there is no organ and no bone, inside the body, so labels are
    unchanged.

    Args:
        lay: a layout from :func:`core.phantom.layout.draw_layout`.
        rng: its own random generator (the case's other draws stay unchanged).
    """
    u = rng.uniform
    kinds = (T.MIXED, T.BOWEL_WALL, T.STOOL, T.FLUID, T.GAS)
    loops = []
    for _ in range(int(rng.integers(1, 4))):
        phi, r = u(0.0, 2 * np.pi), np.sqrt(u(0.0, 0.7))
        radius = u(8.0, 18.0)
        loops.append({
            "centre": _body_point(lay["uterus_body"], phi, r),
            "radii": [radius, radius * u(0.6, 1.0)], "angle": float(u(0.0, np.pi)),
            "kind": int(rng.choice(kinds, p=[0.35, 0.3, 0.15, 0.1, 0.1])),
            "wall": u(0.8, 2.0),
        })
    lay["vault_loops"] = loops


def neck_funnel(lay: dict, rng: np.random.Generator) -> None:
    """Lift a drawn layout's bladder 6–20 mm off its neck (in place), so it narrows to the
    neck through a funnel.

    The neck stays behind the symphysis and the urethra where they were; the bladder
    rises away from the neck, and the tube that joins them (wide at the bladder,
    0.6–1× as wide at the neck as before) becomes a funnel of that length, as in
    bladder-neck funnelling.  :func:`core.phantom.layout.draw_layout`'s bladder sits on its neck.

    Args:
        lay: a layout from :func:`core.phantom.layout.draw_layout`.
        rng: its own random generator (the case's other draws stay unchanged).
    """
    bl = lay["bladder"]
    neck, centre = np.asarray(bl["neck"], float), np.asarray(bl["centre"], float)
    up = (centre - neck) / max(float(np.linalg.norm(centre - neck)), 1e-9)
    length = rng.uniform(6.0, 20.0)
    bl["centre"] = (centre + up * length).tolist()
    bl["neck_radius"] = float(bl["neck_radius"] * rng.uniform(0.6, 1.0))
    bl["funnel_mm"] = float(length)


#: Arc length (mm) along the spine's anterior surface from the coccyx tip to the middle
#: third of S3 (core.phantom.spine: three coccygeal segments, S5, S4, then S3 at 74.5–96.5).
S3_ARC_MM = (80.0, 92.0)


def sigmoid_colon(lay: dict, rng: np.random.Generator) -> None:
    """Label the rectum up to S3 and continue it above, unlabelled, as the sigmoid (in place).

    Readers and most annotation protocols end the rectum at the rectosigmoid junction,
    about S3, where the bowel leaves the sacrum and turns forwards: the image shows the
    same tube going on.  :func:`core.phantom.layout.draw_layout` ends the rectum on the
    lower sacrum with no bowel continuing from it.  Here the centre line runs from the
    anus through the ampulla up along the sacrum (its own gap of 7–18 mm in front of it)
    to a cut 80–92 mm of spine above the coccyx tip (S3), then on as the sigmoid 15–35 mm
    further up the sacrum, forwards 25–45 mm and forwards again, rising or sinking over
    the uterus (radius 7–12 mm).  The labelled rectum ends in a flat cut across the tube (the
    layout's ``rectum["cut"]``: a point and the cranial tangent); :func:`paint` draws the
    sigmoid with the rectum's content and wall where there is no organ and no bone.

    Args:
        lay: a layout from :func:`core.phantom.layout.draw_layout`.
        rng: its own random generator (the case's other draws stay unchanged).
    """
    u = rng.uniform
    re = lay["rectum"]
    spine = np.asarray(lay["spine"]["curve"], float)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(spine, axis=0).T))])
    ant = anterior_normals(spine)

    def along(level: float, dist: float) -> np.ndarray:
        """The point ``dist`` mm in front of the spine at arc ``level`` mm from the tip."""
        p = np.array([np.interp(level, arc, spine[:, k]) for k in range(2)])
        n = np.array([np.interp(level, arc, ant[:, k]) for k in range(2)])
        return p + n / max(float(np.linalg.norm(n)), 1e-9) * dist

    old = np.asarray(re["pts"], float)
    old_r = np.asarray(re["radii"], float)
    amp_i = int(np.argmax(old_r[: len(old_r) // 2 + 1]))
    anus, arj, amp_c = old[0], np.asarray(re["arj"], float), old[amp_i]
    amp_r, up_r, sig_r = float(old_r[amp_i]), u(7.0, 12.0), u(7.0, 12.0)
    gap = u(7.0, 18.0)
    cut = u(*S3_ARC_MM)
    start = float(arc[np.argmin(np.abs(spine[:, 1] - (amp_c[1] - 20.0)))])
    start = min(max(start, 20.0), cut - 30.0)
    mid = (start + cut) / 2
    up = cut + u(15.0, 35.0)
    fwd = -np.array([1.0, 0.0])  # anterior in the body frame
    top = along(up, gap + sig_r)
    turn = top + fwd * u(25.0, 45.0) + np.array([0.0, -u(5.0, 20.0)])
    end = turn + fwd * u(15.0, 35.0) + np.array([0.0, u(-10.0, 25.0)])
    ctrl = np.array([anus, arj, amp_c, along(start, gap + amp_r), along(mid, gap + up_r),
                     along(cut, gap + up_r), top, turn, end])
    per = 4  # curve samples per control-point segment: control point j is sample j * per
    # (four, as draw_layout's rectum has, so that paint's anal canal, its first six
    # samples, keeps its length)
    pts = smooth_curve(ctrl, n=(len(ctrl) - 1) * per + 1)
    k_cut = 5 * per
    knots = np.array([0, 1, 2, 3, 4, 5, 6, 8], float) * per
    radii = np.interp(np.arange(len(pts)), knots,
                      [old_r[0], old_r[min(5, len(old_r) - 1)], amp_r, amp_r * u(0.8, 1.0),
                       up_r, up_r, sig_r, sig_r])
    t = pts[k_cut + 1] - pts[k_cut - 1]
    re["pts"] = pts[: k_cut + 1].tolist()
    re["radii"] = radii[: k_cut + 1].tolist()
    re["cut"] = {"point": pts[k_cut].tolist(), "tangent": (t / np.linalg.norm(t)).tolist()}
    lay["sigmoid"] = {"pts": pts[k_cut:].tolist(), "radii": radii[k_cut:].tolist()}
