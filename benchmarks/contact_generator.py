"""Contact: dynamic pelvic MRI from a 2-D position-based soft-body simulation with contact.

How a case is made
------------------
1. Parameters (``sample_params``, cheap, no simulation): matrix, pixel spacing, number of
   frames and frame interval, the manoeuvre (valsalva, squeeze, cough, defecation or a
   mixed series) as a list of timed events, pelvic-floor laxity per compartment, uterus
   version / size / fibroids, hysterectomy (~20 %), bladder filling, rectal and vaginal
   content (gel, faeces, gas, empty) and the MRI sequence family with all its artefacts.
2. Anatomy (canonical millimetres, x posterior, y caudal, origin at the lower tip of the
   pubic symphysis): rigid polygons for the symphysis, sacrum (S1-S5), coccyx, lumbar
   vertebrae and discs, aorta / iliac vein and the anterior abdominal wall are placed from
   landmarks (symphysis axis, conjugate, pubococcygeal line, sacral hollow depth).  The
   organs are closed polygons with 60-160 vertices: the bladder a fluid sac (edges, bending,
   strong area constraint) whose neck is linked to the urethra, the uterus with cervix a
   firm body (shape matching) whose outline is the union of a pear shape and its fibroids,
   vagina, urethra, rectum (anal verge to the rectosigmoid cut at S3), sigmoid and levator
   plate are collapsible "ladder" tubes (two walls around a centreline with rungs and
   diagonals), and 7-15 small-bowel / sigmoid loops are extra soft bodies.
3. Settling: bodies start shrunk (sacs about a pivot, tubes in width) and grow to their
   size while vertex-vertex contact (k-d tree, radii from the current edge lengths), a
   signed distance field of the bones and the abdominal wall, a penetration resolver
   (softer body yields), a compartment separator (bladder in front of the vagina, rectum
   behind it) and links (cervix in the vaginal vault, bladder neck on the urethra, rectum
   on sigmoid) pack them without overlap.  The settled state becomes the stress-free rest.
4. Motion: a few hundred PBD substeps (Jacobi, constraint groups solved in turn, light
   wall tension against zig-zags).  Intra-abdominal pressure P(t) pushes every soft vertex
   down-backwards (bowel most, bladder / uterus less); supports are spring anchors that
   stiffen when stretched and whose stiffness encodes laxity (anterior: bladder base, neck
   and urethra; middle: cervix or vaginal cuff; posterior: rectovaginal septum plus a
   rectocele load; floor: levator plate and perineum).  Squeeze moves the anchor targets
   up and forward, defecation relaxes the puborectalis, shrinks the rectal area and rung
   widths and opens the anal canal, breathing moves the upper bowel and abdominal wall.
   Bones never move.  A crowded pelvis whose organ outlines still cross or interpenetrate
   is re-simulated with less filling / smaller organs (deterministic retries).
5. Rendering: each frame's polygons are rasterised (2x oversampled, painter's order,
   exclusive labels) into a tissue map and a label map together, organ walls from a
   distance transform, uterine zones / fibroids / textures carried by each body's rigid
   fit; bones are painted last (they never carry a label).  If an organ would be split at
   the output resolution another painter's order, or a substep inside the acquisition
   window, is used for that frame.  Tissue levels per sequence family (T2 HASTE,
   TrueFISP, T1 GRE, PD, each with or without fat saturation), filtered noise texture and
   fat septa, chemical shift, TrueFISP / opposed-phase dark fat-water boundary lines and
   banding, 2x2 averaging (partial volume), finite k-space window (blur, ringing,
   single-shot T2 blur along phase), in-frame motion blur (3 sub-positions) for fast
   motion, optional wrap-around and ghosting in the phase direction, a receive-coil bias
   field, non-central chi noise from 1-8 coils (SNR 4-40) and an arbitrary intensity scale.

Orientation
-----------
Mid-sagittal slice, row 0 cranial (rows run head to feet), column 0 anterior (columns run
to the back); the symphysis is lower-anterior, sacrum / coccyx posterior.  The pelvis is
tilted by up to +-15 degrees and placed anywhere in a 246-432 mm field of view with all
bones and organs inside it in every frame.

Labels
------
truth uint8 (T, H, W): 0 background, 1 bladder (wall + urine down to the bladder neck; the
urethra is not labelled), 2 uterus_vagina (uterus incl. fibroids, cervix and vagina down
to the introitus at the perineal skin; after hysterectomy the vagina closed by a rounded
cuff), 3 rectum (rectum and anal canal from the rectosigmoid cut, perpendicular to the
bowel axis at S3, down to the anal verge; sigmoid and external sphincter not labelled).
Labels come from the same rasterised geometry as the image (majority of the 2x2
sub-pixels), so truth and image match exactly.
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
from skimage.measure import find_contours

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "contact"

# ----------------------------------------------------------------------------- tissues
(AIR, SKIN, FAT, MUSCLE, CORTEX, MARROW, DISC, NUCLEUS, CSF, ARTERY, VEIN, URINE, BLWALL,
 MYO, JZ, ENDO, CXSTROMA, FIBROID, VAGWALL, VAGLUMEN, GEL, RECTWALL, FECES, GAS, BOWELWALL,
 BOWELFLUID, FREEFLUID, URETHRA, MUCOSA, OVARY, FOLLICLE, CHYME) = range(32)
N_CLASSES = 32
FAT_CLASSES = (FAT, MARROW)
NO_WATER = (AIR, CORTEX, GAS, FAT, MARROW)

#          AIR  SKIN FAT  MUSC CORT MARR DISC NUCL CSF  ART  VEIN URIN BLW  MYO  JZ   ENDO
#          CXS  FIBR VAGW VAGL GEL  RECW FECE GAS  BOWW BOWF FREE URET MUCO OVAR FOLL CHYM
_LUT = {
    "haste": [0.0, .45, .78, .17, .03, .55, .16, .70, .95, .04, .35, 1.0, .22, .45, .18, .80,
              .16, .14, .34, .75, .95, .28, .36, .02, .30, .90, .97, .20, .60, .45, .95, .50],
    "truefisp": [0.0, .40, .85, .15, .03, .65, .20, .60, .95, .95, .90, 1.0, .20, .35, .20,
                 .55, .18, .15, .30, .60, .95, .26, .36, .02, .28, .95, .97, .20, .50, .40,
                 .95, .60],
    "t1_gre": [0.0, .50, 1.0, .35, .03, .85, .30, .35, .12, .60, .45, .10, .32, .38, .36, .34,
               .35, .33, .36, .25, .12, .36, .50, .02, .36, .15, .10, .33, .30, .35, .12,
               .40],
    "pd": [0.0, .55, .85, .38, .03, .70, .45, .70, .75, .10, .50, .75, .42, .60, .42, .68,
           .40, .38, .50, .65, .78, .46, .55, .02, .48, .76, .76, .42, .60, .58, .76, .62],
}
_TEX = np.array([0, .12, .07, .16, .08, .22, .12, .10, .04, .08, .16, .03, .14, .18, .12, .16,
                 .14, .24, .15, .08, .03, .16, .45, .05, .15, .05, .03, .12, .08, .18, .03,
                 .32], dtype=np.float32)
_FAMILIES = ("haste", "truefisp", "t1_gre", "pd")
_DESCRIPTION = {"haste": "t2 haste", "truefisp": "(bssfp)", "t1_gre": "(t1)", "pd": "pd tse"}
_MANEUVERS = ("valsalva", "squeeze", "cough", "defecation", "mixed")


# ----------------------------------------------------------------------------- helpers
def _u(rng, a, b):
    return float(rng.uniform(a, b))


def _d(angle_deg):
    """Unit vector pointing 'up' rotated posteriorly by angle (x posterior, y caudal)."""
    a = math.radians(angle_deg)
    return np.array([math.sin(a), -math.cos(a)])


def _ang(v):
    return math.degrees(math.atan2(v[0], -v[1]))


def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _pulse(t, t0, ramp, hold, rel):
    up = _smooth((t - t0) / max(ramp, 1e-3))
    down = 1.0 - _smooth((t - t0 - ramp - hold) / max(rel, 1e-3))
    return np.minimum(up, down)


def _resample(line, step, closed=False):
    pts = np.asarray(line, float)
    if closed:
        pts = np.vstack([pts, pts[:1]])
    seg = np.sqrt((np.diff(pts, axis=0) ** 2).sum(1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(3, int(round(s[-1] / step)))
    si = np.linspace(0.0, s[-1], n + (0 if closed else 1), endpoint=not closed)
    return np.stack([np.interp(si, s, pts[:, 0]), np.interp(si, s, pts[:, 1])], 1)


def _spline(points, per=24):
    p = np.asarray(points, float)
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0, 1, per, endpoint=False)[:, None]
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-1:])
    return np.vstack(out)


def _bezier(p0, p1, p2, n=80):
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


def _normals(line):
    t = np.gradient(line, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-12
    return t, np.stack([-t[:, 1], t[:, 0]], 1)


def _cap_count(hw, step=2.2):
    return max(1, int(round(math.pi * hw / step)) - 1)


def _tube_outline(center, hw, cap0=False, cap1=False, step=2.2, like=None):
    """Closed outline of a tube: side A (left normal) up, cap, side B down, cap.

    ``like``: half-widths whose cap vertex counts are used (same topology)."""
    t, n = _normals(center)
    hw = np.asarray(hw, float)
    ref = hw if like is None else np.asarray(like, float)
    a = center + n * hw[:, None]
    b = center - n * hw[:, None]
    parts = [a]
    if cap1:
        m = _cap_count(ref[-1], step)
        ph = np.linspace(0, math.pi, m + 2)[1:-1, None]
        parts.append(center[-1] + hw[-1] * (np.cos(ph) * n[-1] + np.sin(ph) * t[-1]))
    parts.append(b[::-1])
    if cap0:
        m = _cap_count(ref[0], step)
        ph = np.linspace(0, math.pi, m + 2)[1:-1, None]
        parts.append(center[0] + hw[0] * (-np.cos(ph) * n[0] - np.sin(ph) * t[0]))
    return np.vstack(parts)


def _ellipse(c, a, b, ang_deg, n=64, p=2.0):
    ph = np.linspace(0, 2 * math.pi, n, endpoint=False)
    cs, sn = np.cos(ph), np.sin(ph)
    x = a * np.sign(cs) * np.abs(cs) ** (2 / p)
    y = b * np.sign(sn) * np.abs(sn) ** (2 / p)
    r = math.radians(ang_deg)
    rot = np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])
    return np.asarray(c) + np.stack([x, y], 1) @ rot.T


def _area(poly):
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


# ----------------------------------------------------------------------------- parameters
def _events(rng, maneuver, duration):
    """Timed manoeuvre events (seconds) filling the series after 1-4 s of rest."""
    ev = []
    t = _u(rng, 0.06, 0.16) * duration

    def add(kind, ramp, hold, rel, amp, gap):
        nonlocal t
        ev.append({"type": kind, "t0": round(t, 3), "ramp": round(ramp, 3),
                   "hold": round(hold, 3), "release": round(rel, 3), "amp": round(amp, 3)})
        t += ramp + hold + rel + gap

    if maneuver == "valsalva":
        for _ in range(int(rng.integers(1, 4))):
            if t > 0.8 * duration:
                break
            add("strain", _u(rng, 1.5, 4.0), _u(rng, 0.12, 0.3) * duration, _u(rng, 1.0, 3.0),
                _u(rng, 0.65, 1.0), _u(rng, 0.05, 0.15) * duration)
    elif maneuver == "squeeze":
        for _ in range(int(rng.integers(1, 4))):
            if t > 0.8 * duration:
                break
            add("squeeze", _u(rng, 0.8, 2.5), _u(rng, 0.1, 0.25) * duration, _u(rng, 0.8, 2.5),
                _u(rng, 0.6, 1.0), _u(rng, 0.05, 0.15) * duration)
    elif maneuver == "cough":
        while t < 0.85 * duration and len(ev) < 8:
            add("cough", _u(rng, 0.25, 0.6), _u(rng, 0.1, 0.5), _u(rng, 0.4, 1.0),
                _u(rng, 0.8, 1.25), _u(rng, 1.0, 4.0))
    elif maneuver == "defecation":
        add("push", _u(rng, 2.0, 4.0), _u(rng, 0.3, 0.5) * duration, _u(rng, 1.5, 3.5),
            _u(rng, 0.6, 0.9), _u(rng, 0.05, 0.1) * duration)
        if t < 0.8 * duration and rng.random() < 0.5:
            add("push", _u(rng, 1.0, 2.0), _u(rng, 0.08, 0.15) * duration, _u(rng, 1.0, 2.0),
                _u(rng, 0.6, 0.9), 0.0)
    else:  # mixed: squeeze, rest, strain (sometimes a cough)
        add("squeeze", _u(rng, 0.8, 2.0), _u(rng, 0.1, 0.2) * duration, _u(rng, 0.8, 2.0),
            _u(rng, 0.6, 1.0), _u(rng, 0.05, 0.1) * duration)
        add("strain", _u(rng, 1.5, 3.5), _u(rng, 0.15, 0.3) * duration, _u(rng, 1.0, 2.5),
            _u(rng, 0.65, 1.0), _u(rng, 0.03, 0.08) * duration)
        if t < 0.9 * duration:
            add("cough", _u(rng, 0.25, 0.5), _u(rng, 0.1, 0.4), _u(rng, 0.4, 0.9),
                _u(rng, 0.8, 1.2), 0.0)
    return ev


def sample_params(seed: int) -> dict:
    """All scalar random choices of a case (no geometry, no simulation; cheap)."""
    rng = np.random.default_rng([int(seed), 0xC0])
    h0, w0 = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sp_r = _u(rng, 1.1, 1.5)
    sp_c = float(np.clip(sp_r * rng.uniform(0.95, 1.05), 1.1, 1.5)) if rng.random() < 0.3 \
        else sp_r
    n_frames = int(rng.integers(20, 41))
    maneuver = str(rng.choice(_MANEUVERS, p=[0.32, 0.14, 0.16, 0.22, 0.16]))
    dt = _u(rng, 0.5, 1.0) if maneuver == "cough" else _u(rng, 0.5, 2.0)
    duration = n_frames * dt
    hyst = bool(rng.random() < 0.2)
    parity = str(rng.choice(["nulliparous", "multiparous"], p=[0.4, 0.6]))
    lax0 = _u(rng, 0.0, 0.45) if parity == "nulliparous" else _u(rng, 0.25, 1.0)
    lax = {k: float(np.clip(lax0 + rng.normal(0, 0.18), 0.0, 1.0))
           for k in ("anterior", "middle", "posterior", "floor")}
    menopause = bool(rng.random() < 0.25)
    version = "none" if hyst else str(rng.choice(["anteverted", "retroverted", "midposition"],
                                                  p=[0.7, 0.18, 0.12]))
    fill = float(rng.uniform(0.0, 1.0) ** 1.15)
    rect_content = str(rng.choice(["gel", "feces", "gas", "empty"], p=[0.35, 0.3, 0.1, 0.25]))
    if maneuver == "defecation" and rect_content in ("empty", "gas"):
        rect_content = "gel" if rng.random() < 0.7 else "feces"
    anatomy = {
        "body_scale": _u(rng, 0.88, 1.12),
        "tilt_deg": _u(rng, -15, 15),
        "fat_anterior_mm": _u(rng, 6, 36), "fat_posterior_mm": _u(rng, 6, 30),
        "belly_mm": _u(rng, 0, 25), "mons_mm": _u(rng, 12, 34),
        "symphysis_angle_deg": _u(rng, 22, 38), "symphysis_length_mm": _u(rng, 36, 46),
        "symphysis_thickness_mm": _u(rng, 11, 15),
        "conjugate_mm": _u(rng, 112, 130), "inlet_angle_deg": _u(rng, 48, 62),
        "pcl_length_mm": _u(rng, 96, 114), "pcl_angle_deg": _u(rng, 15, 32),
        "sacral_slope_deg": _u(rng, 50, 64), "sacral_turn_deg": _u(rng, 85, 110),
        "sacral_length_mm": _u(rng, 108, 128), "rectus_mm": _u(rng, 5, 12),
        "bladder_fill": fill, "bladder_aspect": _u(rng, 0.42, 0.7) + 0.8 * fill,
        "bladder_tilt_deg": _u(rng, -25, 15),
        "urethra_angle_deg": _u(rng, 5, 30), "urethra_length_mm": _u(rng, 30, 40),
        "vagina_length_mm": _u(rng, 55, 78) if hyst else _u(rng, 70, 92),
        "vagina_lower_deg": _u(rng, 5, 20), "vagina_bend_deg": _u(rng, 10, 28),
        "vagina_gel": bool(rng.random() < 0.3),
        "uterus_version": version, "menopause": menopause,
        "uterus_body_mm": (_u(rng, 35, 50) if menopause else _u(rng, 45, 68)) * (
            1.08 if parity == "multiparous" else 1.0),
        "uterus_width_mm": _u(rng, 28, 36) if menopause else _u(rng, 32, 48),
        "cervix_mm": _u(rng, 22, 34),
        "endometrium_mm": _u(rng, 1, 3) if menopause else _u(rng, 3, 14),
        "n_fibroids": int(rng.choice([0, 0, 0, 1, 1, 2, 3])) if not hyst else 0,
        "rectal_content": rect_content,
        "ampulla_half_mm": {"gel": _u(rng, 13, 20), "feces": _u(rng, 11, 18),
                            "gas": _u(rng, 10, 15), "empty": _u(rng, 7, 10)}[rect_content],
        "anal_angle_deg": _u(rng, 5, 22), "anorectal_angle_deg": _u(rng, 95, 120),
        "n_bowel": int(rng.integers(7, 16)), "douglas_loop": bool(rng.random() < 0.4),
        "free_fluid": bool(rng.random() < 0.3), "ovary": bool(rng.random() < 0.3),
    }
    family = str(rng.choice(_FAMILIES, p=[0.36, 0.3, 0.16, 0.18]))
    fat_sat = bool(rng.random() < {"haste": 0.3, "truefisp": 0.15, "t1_gre": 0.35,
                                   "pd": 0.4}[family])
    imaging = {
        "sequence": family + ("_fs" if fat_sat else ""), "family": family, "fat_sat": fat_sat,
        "snr": float(np.exp(rng.uniform(math.log(4), math.log(40)))),
        "coils": int(rng.choice([1, 2, 4, 8])),
        "bias_strength": _u(rng, 0.2, 0.9), "coil_falloff_mm": _u(rng, 60, 180),
        "phase_axis": "rows" if rng.random() < 0.5 else "cols",
        "wrap": bool(rng.random() < 0.2), "wrap_fraction": _u(rng, 0.08, 0.22),
        "ghost": float(_u(rng, 0.02, 0.08)) if rng.random() < 0.25 else 0.0,
        "chemical_shift_px": _u(rng, -1.5, 1.5) if family != "truefisp" else 0.0,
        "india_ink": family == "truefisp" or (family == "t1_gre" and rng.random() < 0.3),
        "banding": bool(family == "truefisp" and rng.random() < 0.35),
        "k_phase": _u(rng, 0.55, 0.95), "k_read": _u(rng, 0.75, 1.0),
        "phase_blur_px": _u(rng, 0.2, 0.9) if family in ("haste", "pd") else 0.0,
        "acq_time_s": _u(rng, 0.3, 0.8), "level_jitter": _u(rng, 0.08, 0.22),
        "scale": float(np.exp(rng.uniform(math.log(0.5), math.log(4000)))),
        "integer_like": bool(rng.random() < 0.5),
    }
    motion = {
        "maneuver": maneuver, "frame_interval_s": dt, "duration_s": duration,
        "events": _events(rng, maneuver, duration), "laxity": lax,
        "strain_direction_deg": _u(rng, 10, 35), "strain_gain": _u(rng, 0.8, 1.25),
        "lift_mm": _u(rng, 5, 13), "breath_period_s": _u(rng, 3.5, 6.5),
        "breath_mm": _u(rng, 1.0, 4.0), "rectocele": float(lax["posterior"] * rng.uniform(0.3, 1)),
        "empty_fraction": _u(rng, 0.45, 0.8), "anal_open_mm": _u(rng, 4, 10),
    }
    imaging["slice_mm"] = _u(rng, 4.0, 8.0)
    return {
        "generator": GENERATOR, "seed": int(seed), "matrix": [h0, w0],
        "spacing_mm": [sp_r, sp_c], "n_frames": n_frames, "parity": parity,
        "hysterectomy": hyst, "anatomy": anatomy, "motion": motion, "imaging": imaging,
    }


# ----------------------------------------------------------------------------- PBD system
EDGE, RUNG, DIAG, BEND, CAP = range(5)


class _System:
    """Soft bodies as closed polygons, solved with Jacobi position-based dynamics."""

    def __init__(self):
        self.pos, self.full, self.bodies = [], [], []
        self.cons = []      # (i, j, rest_full, wpart, k_stretch, k_compress, kind, station)
        self.anchors = []   # (i, k, lift weight, drop weight, active while settling)
        self.links = []     # (i, j, k)
        self.n = 0
        self.sep = None
        self.d0 = 20.0
        self.loose = np.zeros(0, int)

    # -- building
    def _add(self, name, init, full, **info):
        start = self.n
        self.pos.append(np.asarray(init, float))
        self.full.append(np.asarray(full, float))
        self.n += len(init)
        body = {"name": name, "start": start, "n": len(init), "idx": np.arange(start, self.n)}
        body.update(info)
        self.bodies.append(body)
        return body

    def _con(self, i, j, fall, wpart, kst, kco, kind=EDGE, station=-1):
        i, j = np.atleast_1d(i).astype(int), np.atleast_1d(j).astype(int)
        rest = np.linalg.norm(fall[j] - fall[i], axis=1)
        wp = rest if wpart is None else np.broadcast_to(np.asarray(wpart, float), rest.shape)
        st = np.broadcast_to(np.asarray(station, int), rest.shape)
        self.cons.append((i, j, rest, np.array(wp, float), np.full(len(i), float(kst)),
                          np.full(len(i), float(kco)), np.full(len(i), kind), np.array(st)))

    def _fall(self, b, full):
        fall = np.zeros((self.n, 2))
        fall[b["idx"]] = full
        return fall

    def add_sac(self, name, contour, pivot, g0, k_edge=(0.4, 0.1), k_bend=0.1, k_area=0.6,
                alpha=0.05, force=1.0, **info):
        full = np.asarray(contour, float)
        if _area(full) < 0:
            full = full[::-1].copy()
        init = pivot + g0 * (full - pivot)
        b = self._add(name, init, full, kind="sac", k_area=k_area, alpha=alpha, force=force,
                      area_exp=2.0, **info)
        idx = b["idx"]
        fall = self._fall(b, full)
        self._con(idx, np.roll(idx, -1), fall, None, *k_edge)
        self._con(idx, np.roll(idx, -2), fall, None, k_bend, k_bend, BEND)
        return b

    def add_tube(self, name, center, hw, cap0, cap1, g0, k_len=(0.5, 0.1), k_rung=(0.3, 0.1),
                 k_diag=0.1, k_bend=0.05, k_area=0.0, alpha=0.0, force=1.0, min_w=2.0,
                 **info):
        center = np.asarray(center, float)
        hw = _safe_hw(center, hw)
        full = _tube_outline(center, hw, cap0, cap1)
        init = _tube_outline(center, hw * g0, cap0, cap1, like=hw)
        ns = len(center)
        m1 = _cap_count(hw[-1]) if cap1 else 0
        m0 = len(full) - 2 * ns - m1
        b = self._add(name, init, full, kind="tube", k_area=k_area, alpha=alpha, force=force,
                      area_exp=1.0, **info)
        s = b["start"]
        a_idx = s + np.arange(ns)
        c1 = s + ns + np.arange(m1)
        b_idx = s + ns + m1 + np.arange(ns)[::-1]
        c0 = s + 2 * ns + m1 + np.arange(m0)
        b.update(a=a_idx, b=b_idx, cap1=c1, cap0=c0, ns=ns, center=center, hw=hw,
                 min_w=min_w)
        fall = self._fall(b, full)
        st = np.arange(ns)
        self._con(a_idx[:-1], a_idx[1:], fall, 0.0, *k_len, EDGE, st[1:])
        self._con(b_idx[:-1], b_idx[1:], fall, 0.0, *k_len, EDGE, st[1:])
        ring = np.concatenate([[a_idx[-1]], c1, [b_idx[-1]]])
        self._con(ring[:-1], ring[1:], fall, None, *k_len, CAP)
        ring = np.concatenate([[b_idx[0]], c0, [a_idx[0]]])
        self._con(ring[:-1], ring[1:], fall, None, *k_len, CAP)
        self._con(a_idx, b_idx, fall, None, *k_rung, RUNG, st)
        w = np.linalg.norm(fall[b_idx] - fall[a_idx], axis=1)
        self._con(a_idx[:-1], b_idx[1:], fall, w[1:], k_diag, k_diag, DIAG, st[1:])
        self._con(b_idx[:-1], a_idx[1:], fall, w[1:], k_diag, k_diag, DIAG, st[1:])
        self._con(a_idx[:-2], a_idx[2:], fall, 0.0, k_bend, k_bend, BEND, st[1:-1])
        self._con(b_idx[:-2], b_idx[2:], fall, 0.0, k_bend, k_bend, BEND, st[1:-1])
        for cap, e in ((c1, ns - 1), (c0, 0)):
            if len(cap):
                e2 = e - 1 if e else 1
                for j in (a_idx[e], b_idx[e], a_idx[e2], b_idx[e2]):
                    self._con(cap, np.full(len(cap), j), fall, None, 0.3, 0.3, CAP)
        return b

    def anchor(self, idx, k, lift=0.0, drop=0.0, settle=False):
        idx = np.atleast_1d(np.asarray(idx))
        kk = np.broadcast_to(np.asarray(k, float), idx.shape)
        li = np.broadcast_to(np.asarray(lift, float), idx.shape)
        dr = np.broadcast_to(np.asarray(drop, float), idx.shape)
        for i, a, b_, c in zip(idx, kk, li, dr, strict=True):
            self.anchors.append((int(i), float(a), float(b_), float(c), bool(settle)))

    def link(self, i, j, k=0.8):
        for a, b in zip(np.atleast_1d(i), np.atleast_1d(j), strict=True):
            self.links.append((int(a), int(b), float(k)))

    # -- finalising
    def finalize(self, exclude):
        self.x = np.vstack(self.pos)
        self.xfull = np.vstack(self.full)
        n = self.n
        self.bid = np.zeros(n, int)
        self.nxt = np.zeros(n, int)
        self.prv = np.zeros(n, int)
        for k, b in enumerate(self.bodies):
            idx = b["idx"]
            self.bid[idx] = k
            self.nxt[idx] = np.roll(idx, -1)
            self.prv[idx] = np.roll(idx, 1)
        nb = self.nb = len(self.bodies)
        cols = [np.concatenate([c[k] for c in self.cons]) for k in range(8)]
        self.ci, self.cj = cols[0].astype(int), cols[1].astype(int)
        self.rest, self.wpart, self.kst, self.kco = cols[2], cols[3], cols[4], cols[5]
        self.ckind, self.cst = cols[6].astype(int), cols[7].astype(int)
        self.cbody = self.bid[self.ci]
        # constraint groups solved one after the other (each touches a vertex <= ~2 times)
        self.groups = []
        for kinds in ((EDGE, CAP), (RUNG, DIAG), (BEND,)):
            idx = np.nonzero(np.isin(self.ckind, kinds))[0]
            if len(idx):
                self.groups.append(idx)
        self.gdata = []
        for sel in self.groups:
            ci, cj = self.ci[sel], self.cj[sel]
            ij = np.concatenate([ci, cj])
            inv = 1.5 / np.maximum(np.bincount(ij, minlength=self.n), 1.0)
            self.gdata.append((ci, cj, self.kst[sel], self.kco[sel], ij, inv))
        li = np.array(self.links, float).reshape(-1, 3)
        self.link_i, self.link_j, self.link_k = li[:, 0].astype(int), li[:, 1].astype(int), li[:, 2]
        tubes = [b for b in self.bodies if b["kind"] == "tube"]
        self.mi = np.concatenate([b["a"] for b in tubes]).astype(int)
        self.mj = np.concatenate([b["b"] for b in tubes]).astype(int)
        self.mrest = np.concatenate([np.broadcast_to(np.asarray(b["min_w"], float), (b["ns"],))
                                     for b in tubes])
        # neighbouring stations (for the local tube axis) of every station
        nxt, prv = [], []
        off = 0
        for b in tubes:
            k = np.arange(b["ns"])
            nxt.append(off + np.minimum(k + 1, b["ns"] - 1))
            prv.append(off + np.maximum(k - 1, 0))
            off += b["ns"]
        self.m_next, self.m_prev = np.concatenate(nxt), np.concatenate(prv)
        an = self.anchors
        self.ai = np.array([a[0] for a in an], int)
        self.ak = np.array([a[1] for a in an])
        self.alift = np.array([a[2] for a in an])
        self.adrop = np.array([a[3] for a in an])
        self.asettle = np.array([a[4] for a in an], bool)
        self.ad0 = np.full(len(an), self.d0)
        self.ad0[np.isin(self.ai, self.loose)] = 45.0
        self.atarget = self.xfull[self.ai].copy()
        self.rank = np.array([b.get("rank", 7) for b in self.bodies])
        self.smooth = np.array([b.get("smooth", 0.08) for b in self.bodies])[self.bid]
        self.k_area = np.array([b["k_area"] for b in self.bodies])
        self.alpha = np.array([b["alpha"] for b in self.bodies])
        self.area_exp = np.array([b["area_exp"] for b in self.bodies])
        self.force = np.array([b["force"] for b in self.bodies])[self.bid]
        for k, b in enumerate(self.bodies):
            b["k"] = k
        self.area0 = self.areas(self.xfull)
        self.q_full = self.xfull - self._centroids(self.xfull)[self.bid]
        self.link_rest = np.linalg.norm(self.xfull[self.link_j] - self.xfull[self.link_i], axis=1)
        self.excl = np.eye(nb, dtype=bool)
        names = [b["name"] for b in self.bodies]
        for a, b in exclude:
            for i, na in enumerate(names):
                for j, nb_ in enumerate(names):
                    if na.startswith(a) and nb_.startswith(b):
                        self.excl[i, j] = self.excl[j, i] = True
        self._set_radius(self.xfull)

    def _set_radius(self, x):
        e = np.linalg.norm(x[self.nxt] - x, axis=1)
        self.rad = np.clip(0.58 * np.maximum(e, e[self.prv]), 0.9, 1.8)

    def _centroids(self, x):
        c = np.stack([np.bincount(self.bid, x[:, 0], self.nb),
                      np.bincount(self.bid, x[:, 1], self.nb)], 1)
        return c / np.bincount(self.bid, minlength=self.nb)[:, None]

    def areas(self, x):
        nx = x[self.nxt]
        cr = x[:, 0] * nx[:, 1] - nx[:, 0] * x[:, 1]
        return 0.5 * np.bincount(self.bid, cr, self.nb)

    def rigid_fit(self, x, ref):
        """Per-body rotation angle and centroids (current, reference) of x against ref."""
        c = self._centroids(x)
        cr = self._centroids(ref)
        p = x - c[self.bid]
        q = ref - cr[self.bid]
        a00 = np.bincount(self.bid, p[:, 0] * q[:, 0], self.nb)
        a01 = np.bincount(self.bid, p[:, 0] * q[:, 1], self.nb)
        a10 = np.bincount(self.bid, p[:, 1] * q[:, 0], self.nb)
        a11 = np.bincount(self.bid, p[:, 1] * q[:, 1], self.nb)
        return np.arctan2(a10 - a01, a00 + a11), c, cr

    def reset_rest(self, x):
        """x becomes the stress-free rest state."""
        self.rest = np.linalg.norm(x[self.cj] - x[self.ci], axis=1)
        w = np.zeros_like(self.rest)
        rung = self.ckind == RUNG
        w[rung] = self.rest[rung]
        diag = self.ckind == DIAG
        key = {}
        for k in np.nonzero(rung)[0]:
            key[(self.cbody[k], self.cst[k])] = self.rest[k]
        for k in np.nonzero(diag)[0]:
            w[k] = min(key.get((self.cbody[k], self.cst[k]), 0.0), self.rest[k])
        self.wpart = w
        self.area0 = self.areas(x)
        self.q_full = x - self._centroids(x)[self.bid]
        self.link_rest = np.linalg.norm(x[self.link_j] - x[self.link_i], axis=1)
        self.atarget = x[self.ai].copy()
        self._set_radius(x)

    def resolve(self, x, margin=1.0, max_step=2.5, dry=False, only=None):
        """Move vertices that lie inside another (non-excluded) body out to its boundary;
        the softer body of a pair yields fully, the firmer one by a third."""
        lo = np.array([x[b["idx"]].min(0) for b in self.bodies])
        hi = np.array([x[b["idx"]].max(0) for b in self.bodies])
        rank = self.rank
        moved = 0
        for ib, bb in enumerate(self.bodies):
            poly = x[bb["idx"]]
            a = poly
            b = np.roll(poly, -1, axis=0)
            ab = b - a
            ab2 = (ab ** 2).sum(1) + 1e-12
            for ia, ba in enumerate(self.bodies):
                if self.excl[ia, ib] or (lo[ia] > hi[ib]).any() or (hi[ia] < lo[ib]).any():
                    continue
                if only is not None and (ia not in only or ib not in only):
                    continue
                P = x[ba["idx"]]
                sel = np.nonzero(((P >= lo[ib]) & (P <= hi[ib])).all(1))[0]
                if len(sel) == 0:
                    continue
                Q = P[sel]
                py, px = Q[:, 1:2], Q[:, 0:1]
                yi, yj = a[None, :, 1], b[None, :, 1]
                with np.errstate(divide="ignore", invalid="ignore"):
                    xc = (b[None, :, 0] - a[None, :, 0]) * (py - yi) / (yj - yi) + a[None, :, 0]
                cross = ((yi > py) != (yj > py)) & (px < xc)
                ins = np.nonzero(cross.sum(1) % 2 == 1)[0]
                if len(ins) == 0:
                    continue
                if dry:
                    moved += len(ins)
                    continue
                Qi = Q[ins]
                t = np.clip(((Qi[:, None] - a[None]) * ab[None]).sum(-1) / ab2, 0, 1)
                proj = a[None] + t[..., None] * ab[None]
                dd = np.linalg.norm(Qi[:, None] - proj, axis=2)
                k = np.argmin(dd, axis=1)
                pr = proj[np.arange(len(ins)), k]
                out = pr - Qi
                out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
                w = 1.0 if rank[ia] >= rank[ib] else 0.35
                gi = ba["idx"][sel[ins]]
                mv = w * (pr + out * margin - Qi)
                ln = np.linalg.norm(mv, axis=1, keepdims=True)
                x[gi] += mv * np.minimum(1.0, max_step / (ln + 1e-9))
                moved += len(ins)
        return moved

    def separate(self, xp):
        """Compartments: bladder vertices stay anterior to the vagina (outside its wall),
        rectal vertices posterior to the vaginal centreline extended along the cervix."""
        sp = self.sep
        if sp is None:
            return
        A, B = xp[sp["a"]], xp[sp["b"]]
        mid = 0.5 * (A + B)
        hw = 0.5 * np.linalg.norm(A - B, axis=1)
        lines = [(mid, hw, sp["front"], -1.0)]
        if sp["ut"] is not None:
            cu = xp[sp["ut"]].mean(0)
            d = cu - mid[-1]
            ext = np.vstack([mid, mid[-1] + d / (np.linalg.norm(d) + 1e-9) * sp["ext"]])
            lines.append((ext, np.append(hw, hw[-1]), sp["back"], 1.0))
        else:
            lines.append((mid, hw, sp["back"], 1.0))
        for line, lhw, idx, want in lines:
            a, b = line[:-1], line[1:]
            hseg = 0.5 * (lhw[:-1] + lhw[1:])
            ab = b - a
            ab2 = (ab ** 2).sum(1) + 1e-9
            nl = np.stack([-ab[:, 1], ab[:, 0]], 1) / np.sqrt(ab2)[:, None]
            P = xp[idx]
            t = ((P[:, None] - a[None]) * ab[None]).sum(-1) / ab2
            proj = a[None] + np.clip(t, 0, 1)[..., None] * ab[None]
            dd = np.linalg.norm(P[:, None] - proj, axis=2)
            k = np.argmin(dd, axis=1)
            r = np.arange(len(idx))
            inside = (t[r, k] > 0) & (t[r, k] < 1) & (dd[r, k] < hseg[k] + sp["reach"])
            side = ((P - proj[r, k]) * nl[k]).sum(1)
            bad = inside & (side * want < 0)
            if bad.any():
                tgt = proj[r, k][bad] + nl[k][bad] * (want * (hseg[k][bad] + 1.5))[:, None]
                xp[idx[bad]] += 0.5 * (tgt - P[bad])

    # -- solving
    def set_sdf(self, sdf, origin, step):
        self.sdf = sdf.astype(np.float32)
        gy, gx = np.gradient(self.sdf)
        nrm = np.sqrt(gx ** 2 + gy ** 2) + 1e-6
        self.sdf_gx, self.sdf_gy = gx / nrm, gy / nrm
        self.sdf_origin, self.sdf_step = np.asarray(origin, float), float(step)

    def sdf_at(self, pts):
        cc = ((np.asarray(pts) - self.sdf_origin) / self.sdf_step)[:, ::-1].T
        return ndimage.map_coordinates(self.sdf, cc, order=1, mode="nearest") * self.sdf_step

    def _rigid(self, xp):
        cc = ((xp - self.sdf_origin) / self.sdf_step)[:, ::-1].T
        s = ndimage.map_coordinates(self.sdf, cc, order=1, mode="nearest") * self.sdf_step
        m = s < self.rad
        if m.any():
            c2 = cc[:, m]
            gx = ndimage.map_coordinates(self.sdf_gx, c2, order=1, mode="nearest")
            gy = ndimage.map_coordinates(self.sdf_gy, c2, order=1, mode="nearest")
            push = np.minimum(self.rad[m] - s[m], 2.0)
            xp[m, 0] += push * gx
            xp[m, 1] += push * gy

    def _min_width(self, xp, k=0.6):
        """Tube walls keep their side: (A - B) along the local normal >= min width."""
        A, B = xp[self.mi], xp[self.mj]
        mid = 0.5 * (A + B)
        t = mid[self.m_next] - mid[self.m_prev]
        t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-9
        n = np.stack([-t[:, 1], t[:, 0]], 1)
        w = ((A - B) * n).sum(1)
        short = self.mrest - w
        m = short > 0
        if m.any():
            c = (0.5 * k * short[m])[:, None] * n[m]
            np.add.at(xp, self.mi[m], c)
            np.add.at(xp, self.mj[m], -c)

    def _pairs(self, xp):
        pr = cKDTree(xp).query_pairs(2.0 * float(self.rad.max()), output_type="ndarray")
        if len(pr) == 0:
            return pr.reshape(0, 2)
        pr = pr[~self.excl[self.bid[pr[:, 0]], self.bid[pr[:, 1]]]]
        return pr[np.lexsort((pr[:, 1], pr[:, 0]))]

    def _dist(self, xp, ci, cj, rest, kst, kco, omega=1.5, ij=None, inv_deg=None):
        if len(ci) == 0:
            return
        d = xp[cj] - xp[ci]
        L = np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2) + 1e-9
        C = L - rest
        s = np.where(C > 0, kst, kco) * (0.5 * C / L)
        n = self.n
        if ij is None:
            ij = np.concatenate([ci, cj])
            inv_deg = omega / np.maximum(np.bincount(ij, minlength=n), 1.0)
        cx, cy = s * d[:, 0], s * d[:, 1]
        xp[:, 0] += np.bincount(ij, np.concatenate([cx, -cx]), n) * inv_deg
        xp[:, 1] += np.bincount(ij, np.concatenate([cy, -cy]), n) * inv_deg

    def step(self, x, xprev, ext, g=1.0, cscale=None, area_scale=None, targets=None,
             settling=False, damp=0.55, iters=3):
        xp = x + damp * (x - xprev) + ext
        lap = 0.5 * (xp[self.nxt] + xp[self.prv]) - xp  # wall tension: removes zig-zags
        xp += self.smooth[:, None] * lap
        e = np.sqrt(((xp[self.nxt] - xp) ** 2).sum(1))
        self.rad = np.clip(0.58 * np.maximum(e, e[self.prv]), 0.9, 2.6)
        pairs = self._pairs(xp)
        gc = g if cscale is None else g * cscale
        rest = np.sqrt(np.maximum(self.rest ** 2 - self.wpart ** 2 * (1.0 - gc * gc), 1e-6))
        a0 = self.area0 * np.where(self.area_exp > 1.5, g * g, g)
        if area_scale is not None:
            a0 = a0 * area_scale
        q = self.q_full * g
        tgt = self.atarget if targets is None else targets
        ak = np.maximum(self.ak, 0.04) * self.asettle if settling else self.ak
        bid, nb = self.bid, self.nb
        gd = self.gdata
        rests = [rest[sel] for sel in self.groups]
        for _ in range(iters):
            for (ci, cj, kst, kco, ij, inv), rs in zip(gd, rests, strict=True):
                self._dist(xp, ci, cj, rs, kst, kco, ij=ij, inv_deg=inv)
            if len(self.link_i):
                self._dist(xp, self.link_i, self.link_j, self.link_rest, self.link_k,
                           self.link_k, 1.0)
            self._min_width(xp)
            nx, pv = xp[self.nxt], xp[self.prv]
            cr = xp[:, 0] * nx[:, 1] - nx[:, 0] * xp[:, 1]
            area = 0.5 * np.bincount(bid, cr, nb)
            gx = 0.5 * (nx[:, 1] - pv[:, 1])
            gy = 0.5 * (pv[:, 0] - nx[:, 0])
            den = np.bincount(bid, gx * gx + gy * gy, nb) + 1e-9
            lam = (-(area - a0) / den * self.k_area)[bid]
            xp[:, 0] += lam * gx
            xp[:, 1] += lam * gy
            c = self._centroids(xp)
            p = xp - c[bid]
            a00 = np.bincount(bid, p[:, 0] * q[:, 0], nb)
            a01 = np.bincount(bid, p[:, 0] * q[:, 1], nb)
            a10 = np.bincount(bid, p[:, 1] * q[:, 0], nb)
            a11 = np.bincount(bid, p[:, 1] * q[:, 1], nb)
            th = np.arctan2(a10 - a01, a00 + a11)
            cs, sn = np.cos(th)[bid], np.sin(th)[bid]
            al = self.alpha[bid]
            xp[:, 0] += al * (cs * q[:, 0] - sn * q[:, 1] + c[bid, 0] - xp[:, 0])
            xp[:, 1] += al * (sn * q[:, 0] + cs * q[:, 1] + c[bid, 1] - xp[:, 1])
            if len(self.ai):
                diff = tgt - xp[self.ai]
                if settling:
                    xp[self.ai] += ak[:, None] * diff
                else:  # supports stiffen when stretched (collagen)
                    d2 = (diff ** 2).sum(1) / self.ad0 ** 2
                    xp[self.ai] += np.minimum(ak * (1.0 + d2), 0.5)[:, None] * diff
            if len(pairs):
                i, j = pairs[:, 0], pairs[:, 1]
                d = xp[j] - xp[i]
                L = np.sqrt((d ** 2).sum(1)) + 1e-9
                pen = self.rad[i] + self.rad[j] - L
                m = pen > 0
                if m.any():
                    s = 0.5 * pen[m] / L[m]
                    cx, cy = s * d[m, 0], s * d[m, 1]
                    n = self.n
                    xp[:, 0] += np.bincount(j[m], cx, n) - np.bincount(i[m], cx, n)
                    xp[:, 1] += np.bincount(j[m], cy, n) - np.bincount(i[m], cy, n)
            self._rigid(xp)
        self.separate(xp)
        return xp


# ----------------------------------------------------------------------------- scene
_GRID0 = np.array([-260.0, -560.0])
_SUPPORT = 0.03
_GAIN = 0.6
_GRID_SHAPE = (720, 520)  # rows (y), cols (x) at 1 mm


def _raster(polys, shape=_GRID_SHAPE, origin=_GRID0, step=1.0):
    m = np.zeros(shape, bool)
    for p in polys:
        rr, cc = _scanfill((p[:, 1] - origin[1]) / step, (p[:, 0] - origin[0]) / step, shape)
        m[rr, cc] = True
    return m


# ----------------------------------------------------------------------------- anatomy
def _outline_from_mask(polys, circles, step=2.2, res=0.5):
    """Outline (closed polygon) of the union of polygons and circles."""
    pts = np.vstack(polys + [np.asarray(c[:2])[None] for c in circles])
    rmax = max([0.0] + [c[2] for c in circles])
    lo = pts.min(0) - rmax - 3
    hi = pts.max(0) + rmax + 3
    shape = (int((hi[1] - lo[1]) / res) + 1, int((hi[0] - lo[0]) / res) + 1)
    m = np.zeros(shape, bool)
    for p in polys:
        rr, cc = _scanfill((p[:, 1] - lo[1]) / res, (p[:, 0] - lo[0]) / res, shape)
        m[rr, cc] = True
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    for cx, cy, r in circles:
        m |= ((xx * res + lo[0] - cx) ** 2 + (yy * res + lo[1] - cy) ** 2) <= r * r
    m = ndimage.binary_fill_holes(m)
    cs = find_contours(np.pad(m, 1).astype(float), 0.5)
    c = max(cs, key=len)[:, ::-1] - 1
    c = c * res + lo
    return _resample(c, step, closed=True)


def _curv_limit(line, hw, frac=0.8):
    """Half-widths no larger than frac x the local radius of curvature (no folded walls)."""
    t, _ = _normals(line)
    ang = np.unwrap(np.arctan2(t[:, 1], t[:, 0]))
    ds = np.linalg.norm(np.gradient(line, axis=0), axis=1) + 1e-9
    kap = np.abs(np.gradient(ang)) / ds
    kap = ndimage.maximum_filter1d(ndimage.gaussian_filter1d(kap, 1.0), 5)
    return np.minimum(hw, frac / (kap + 1e-6))


def _mask_outline(m, step=2.2):
    """Outline (closed polygon, canonical mm) of the largest blob of a 1 mm grid mask."""
    cs = find_contours(np.pad(m, 1).astype(float), 0.5)
    c = max(cs, key=len)[:, ::-1] - 1 + _GRID0
    return _resample(ndimage.gaussian_filter1d(c, 1.0, axis=0, mode="wrap"), step, closed=True)


def _safe_hw(center, hw, min_hw=2.5):
    """Narrow a tube where a wall would run backwards (a fold at a tight bend)."""
    hw = np.asarray(hw, float).copy()
    t, n = _normals(center)
    ds = np.linalg.norm(np.diff(center, axis=0), axis=1)
    tm = 0.5 * (t[1:] + t[:-1])
    for _ in range(25):
        bad = np.zeros(len(hw), bool)
        for sgn in (1.0, -1.0):
            side = center + sgn * n * hw[:, None]
            prog = (np.diff(side, axis=0) * tm).sum(1)
            b = prog < 0.45 * ds
            bad[:-1] |= b
            bad[1:] |= b
        if not bad.any():
            break
        hw[bad] = np.maximum(min_hw, hw[bad] * 0.85)
        hw = np.minimum(hw, ndimage.minimum_filter1d(hw, 3) * 1.15)
    return hw


def _clear_line(line, others, hw, bone_dist, iters=30, cap=8.0):
    """Push the interior points of a centreline away from the other (points, half-width)
    structures (to 0.6 of the summed half-widths + 2 mm), at most ``cap`` mm and never
    closer to the bones than 0.6 hw."""
    line = line.copy()
    start = line.copy()
    n = len(line)
    w = np.clip(np.arange(n) / 6.0, 0, 1) * np.clip((n - 1 - np.arange(n)) / 6.0, 0, 1)
    for _ in range(iters):
        moved = False
        for pts, ohw in others:
            d = np.linalg.norm(line[:, None] - pts[None], axis=2)
            k = np.argmin(d, axis=1)
            need = 0.6 * (hw + ohw[k]) + 2.0
            short = (need - d[np.arange(n), k]) * w
            if (short > 0.2).any():
                direc = line - pts[k]
                direc /= np.linalg.norm(direc, axis=1, keepdims=True) + 1e-9
                new = line + direc * np.clip(short, 0, 3)[:, None] * 0.5
                gi = np.clip(np.round(new[:, 1] - _GRID0[1]).astype(int), 0, _GRID_SHAPE[0] - 1)
                gj = np.clip(np.round(new[:, 0] - _GRID0[0]).astype(int), 0, _GRID_SHAPE[1] - 1)
                ok = (bone_dist[gi, gj] > 0.6 * hw + 2) & (
                    np.linalg.norm(new - start, axis=1) < cap)
                line[ok] = new[ok]
                moved = moved or bool(ok.any())
        if not moved:
            break
    return _resample(ndimage.gaussian_filter1d(line, 1.5, axis=0, mode="nearest"), 2.2)


def _sacral_frame(curve):
    t, _ = _normals(curve)
    post = np.stack([t[:, 1], -t[:, 0]], 1)
    return t, post


def _build(prm, rng):
    """Canonical anatomy: rigid polygons, soft bodies, anchors, links and landmarks."""
    A = prm["anatomy"]
    hyst = prm["hysterectomy"]
    lm = {}
    rigid = []   # (class, polygon, is_bone, is_obstacle)

    # ---- symphysis
    a_s = A["symphysis_angle_deg"]
    Ls, ts = A["symphysis_length_mm"], A["symphysis_thickness_mm"]
    ax = _d(-a_s)
    pn = np.array([-ax[1], ax[0]])
    if pn[0] < 0:
        pn = -pn
    e_inf = np.zeros(2)
    e_sup = Ls * ax
    c_s = 0.5 * (e_inf + e_sup)
    ang_ax = math.degrees(math.atan2(ax[1], ax[0]))
    sym = _ellipse(c_s, Ls / 2, ts / 2, ang_ax, 56, 2.6)
    rigid.append((CORTEX, sym, True, True))
    rigid.append((MARROW, _ellipse(c_s, Ls / 2 - 1.8, ts / 2 - 1.8, ang_ax, 56, 2.6), True,
                  False))
    lm.update(e_inf=e_inf, e_sup=e_sup, sym_c=c_s)

    # ---- sacrum and coccyx
    b = math.radians(A["inlet_angle_deg"])
    prom = e_sup + A["conjugate_mm"] * np.array([math.cos(b), -math.sin(b)])
    # anterior sacral surface: tangent angle (from straight down, + posterior) turning
    # anteriorly, mostly in the lower sacrum and coccyx
    g0 = A["sacral_slope_deg"]
    turn = A["sacral_turn_deg"]
    length = A["sacral_length_mm"]
    s_ = np.linspace(0, 1, int(length) + 1)
    gam = np.radians(g0 - turn * s_ ** 1.7)
    steps = np.stack([np.sin(gam), np.cos(gam)], 1) * (length / (len(s_) - 1))
    free = np.vstack([[0, 0], np.cumsum(steps[:-1], axis=0)])
    th = math.radians(A["pcl_angle_deg"])
    want = A["pcl_length_mm"] * np.array([math.cos(th), -math.sin(th)]) - prom
    rot = math.atan2(want[1], want[0]) - math.atan2(free[-1, 1], free[-1, 0])
    scl = np.linalg.norm(want) / np.linalg.norm(free[-1])
    rmat = np.array([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]])
    curve = _resample(prom + scl * free @ rmat.T, 1.0)
    tip = curve[-1]
    tang, post = _sacral_frame(curve)
    ltot = len(curve) - 1
    lc = int(round(_u(rng, 24, 34)))
    ls = ltot - lc
    lm.update(prom=prom, tip=tip, sacral_curve=curve)

    def sac_pt(f):
        """Anterior sacral surface at fraction f of the sacrum (0 promontory, 1 S5 end)."""
        i = int(np.clip(round(f * ls), 0, ltot))
        return curve[i], -post[i]

    lm["sac_pt"] = sac_pt
    bounds = [0.0, 0.25, 0.45, 0.63, 0.81, 1.0]
    tb = lambda f: 36 - 23 * f  # noqa: E731
    for k in range(5):
        i0 = int(round(bounds[k] * ls)) + (1 if k else 0)
        i1 = int(round(bounds[k + 1] * ls)) - 1
        seg = np.arange(i0, i1 + 1)
        f = seg / ls
        front = curve[seg]
        back = front + post[seg] * tb(f)[:, None]
        poly = np.vstack([front, back[::-1]])
        rigid.append((CORTEX, poly, True, True))
        inner = np.vstack([front[1:-1] + post[seg][1:-1] * 1.5,
                           (back - post[seg] * 1.5)[1:-1][::-1]])
        rigid.append((MARROW, inner, True, False))
        if k < 4:
            j0, j1 = i1, min(i1 + 3, ltot)
            gap = np.vstack([curve[[j0, j1]], (curve[[j1, j0]] + post[[j1, j0]]
                                               * tb(np.array([j1, j0]) / ls)[:, None] * 0.8)])
            rigid.append((DISC, gap, True, True))
    sseg = np.arange(0, int(0.7 * ls))
    f = sseg / ls
    canal_in = curve[sseg] + post[sseg] * tb(f)[:, None]
    canal_w = (7 - 5 * f)[:, None]
    canal_out = canal_in + post[sseg] * canal_w
    rigid.append((CSF, np.vstack([canal_in, canal_out[::-1]]), True, True))
    sseg2 = np.arange(0, ls)
    f2 = sseg2 / ls
    lam_in = curve[sseg2] + post[sseg2] * (tb(f2) + np.where(f2 < 0.7, 7 - 5 * f2, 0))[:, None]
    lam_out = lam_in + post[sseg2] * (8 - 4 * f2)[:, None]
    rigid.append((CORTEX, np.vstack([lam_in, lam_out[::-1]]), True, True))
    rigid.append((MARROW, np.vstack([lam_in[2:-2] + post[sseg2][2:-2] * 1.5,
                                     (lam_out - post[sseg2] * 1.5)[2:-2][::-1]]), True, False))
    sacral_back = lam_out
    for k in range(3):
        i0 = ls + 2 + k * (lc // 3)
        i1 = min(ltot, ls + (k + 1) * (lc // 3))
        seg = np.arange(i0, i1 + 1)
        thick = (10 - 4 * (seg - ls) / lc)[:, None]
        poly = np.vstack([curve[seg], (curve[seg] + post[seg] * thick)[::-1]])
        rigid.append((CORTEX, poly, True, True))
        if len(seg) > 4:
            rigid.append((MARROW, np.vstack([curve[seg][1:-1] + post[seg][1:-1] * 1.4,
                                             (curve[seg] + post[seg] * (thick - 1.4))[1:-1][::-1]]),
                          True, False))
    coccyx_back = curve[ls:] + post[ls:] * 8

    # ---- lumbar spine
    e = post[0].copy()
    B = prom.copy()
    depth = _u(rng, 38, 46)
    spine_front, spine_back, spinous = [prom.copy()], [prom + depth * e], []
    dehydrated = A["menopause"] and rng.random() < 0.6
    for _lvl in range(6):
        up = np.array([e[1], -e[0]])
        tilt_up = -_ang(up)  # anterior tilt of the stacking direction, degrees
        hp = _u(rng, 4.5, 7.5)
        ha = hp + depth * math.tan(math.radians(np.clip(0.5 * tilt_up + _u(rng, -2, 2), 0, 14)))
        p1 = B + depth * e
        disc = np.array([B, p1, p1 + hp * up, B + ha * up])
        rigid.append((DISC, disc, True, True))
        dc = disc.mean(0)
        rigid.append(((DISC if dehydrated else NUCLEUS),
                      _ellipse(dc, 0.3 * depth, 0.28 * min(ha, hp + 2), math.degrees(
                          math.atan2(e[1], e[0])), 24), True, False))
        B = B + ha * up
        e = (p1 + hp * up - B)
        e /= np.linalg.norm(e)
        up = np.array([e[1], -e[0]])
        hv = _u(rng, 25, 30)
        wedge = math.tan(math.radians(np.clip(0.25 * -_ang(up) + _u(rng, -1, 1), 0, 6)))
        p0, p1 = B, B + depth * e
        p3 = B + hv * up
        p2 = p1 + (hv - depth * wedge) * up
        mid_a = 0.5 * (p0 + p3) + e * 1.5
        body = np.array([p0, p1, p2, p3, mid_a])
        rigid.append((CORTEX, body, True, True))
        ctr = body[:4].mean(0)
        rigid.append((MARROW, ctr + 0.86 * (body[:4] - ctr), True, False))
        spine_front += [p0, mid_a, p3]
        spine_back += [p1, p2]
        sp0 = 0.5 * (p1 + p2) + e * 15
        spinous.append((sp0, e, up, hv))
        B = p3
        e = (p2 - p3) / np.linalg.norm(p2 - p3)
        if B[1] < -470:
            break
    spine_front = np.array(spine_front)
    spine_back = np.array(spine_back)
    canal_line = spine_back
    _, cnrm = _normals(canal_line)
    if cnrm[len(cnrm) // 2, 0] < 0:
        cnrm = -cnrm
    cw = _u(rng, 12, 16)
    rigid.append((CSF, np.vstack([canal_line + cnrm * 0.5, (canal_line + cnrm * cw)[::-1]]),
                  True, True))
    lm.update(canal_back=canal_line + cnrm * (cw + 1), canal_n=cnrm)
    tips = []
    for sp0, e_, up_, hv in spinous:
        base = sp0 - e_ * 2
        tip_s = base + e_ * _u(rng, 16, 22) - up_ * 6
        poly = np.array([base + up_ * hv * 0.3, tip_s + up_ * 4, tip_s - up_ * 3,
                         base - up_ * hv * 0.25])
        rigid.append((CORTEX, poly, True, False))
        rigid.append((MARROW, poly.mean(0) + 0.7 * (poly - poly.mean(0)), True, False))
        tips.append(tip_s)
    tips = np.array(tips)
    lm.update(spine_front=spine_front)

    # ---- vessels anterior to the spine
    sf = spine_front[spine_front[:, 1] < prom[1] - 40]
    if len(sf) >= 2:
        ao_hw = _u(rng, 8, 11)
        line = np.vstack([sf[::-1][:, :]])
        line = _resample(line[np.argsort(line[:, 1])], 3.0)
        line = line + np.array([-(ao_hw + 2.5), 0.0])
        bottom = line[-1, 1]
        line = line[line[:, 1] < bottom - 5]
        if len(line) > 3:
            aorta = _tube_outline(line, np.full(len(line), ao_hw), False, True)
            rigid.append((ARTERY, aorta, False, True))
    l5 = spine_front[(spine_front[:, 1] < prom[1] + 2) & (spine_front[:, 1] > prom[1] - 38)]
    if len(l5):
        vc = l5.mean(0) + np.array([-_u(rng, 7, 10), 0])
        vein = _ellipse(vc, _u(rng, 5, 8), _u(rng, 7, 11), 0, 24)
        rigid.append((VEIN, vein, False, True))

    # ---- anterior abdominal wall and skin
    ys = np.linspace(e_sup[1] - 2, -520, 60)
    dlt = e_sup[1] - ys
    bel = A["belly_mm"]
    x_in = e_sup[0] - 3 - bel * _smooth(dlt / 140) - 0.08 * dlt
    inner = np.stack([x_in, ys], 1)
    rect_t = A["rectus_mm"]
    outer = inner - np.array([rect_t, 0])
    skin_ant = inner - np.array([rect_t + A["fat_anterior_mm"] + 2, 0])
    lm.update(wall_inner=inner, wall_outer=outer, skin_ant=skin_ant)
    wall_obst = np.vstack([[c_s - pn * ts * 0.2], inner, [[-420, -520], [-420, 30],
                                                         [e_inf[0] - ts, 30]]])
    rigid.append((None, wall_obst, False, True))
    f_m = A["mons_mm"]
    mons = np.array([e_sup - pn * (ts / 2 + f_m * 0.6) + ax * 10,
                     c_s - pn * (ts / 2 + f_m),
                     e_inf - pn * (ts / 2 + f_m * 0.7) + np.array([0, 6]),
                     e_inf + np.array([-4 - 0.2 * f_m, 12 + 0.15 * f_m])])
    lm["mons"] = mons

    # ---- urethra (bladder neck BN to meatus)
    bn = e_inf + ax * (0.28 * Ls) + pn * (ts / 2 + _u(rng, 7, 12))
    phi = A["urethra_angle_deg"]
    lu = A["urethra_length_mm"]
    ohw = _u(rng, 4.5, 5.8)
    for _ in range(12):
        du = np.array([-math.sin(math.radians(phi)), math.cos(math.radians(phi))])
        ucl = _resample(np.array([bn + lu * du, bn]), 2.2)
        dist = np.min(np.linalg.norm(ucl[:, None] - sym[None], axis=2), axis=1)
        if dist.min() > ohw + 2.5:
            break
        phi -= 4
        bn = bn + pn * 1.0
    meatus = ucl[0]
    lm.update(bn=bn, meatus=meatus)

    # ---- introitus (the vagina itself is drawn after the anal canal and rectal path)
    gel_v = A["vagina_gel"]
    hw_v = _u(rng, 8, 12) if gel_v else _u(rng, 4.6, 7.0)
    du_up = (bn - meatus) / np.linalg.norm(bn - meatus)
    nu_post = np.array([-du_up[1], du_up[0]])
    if nu_post[0] < 0:
        nu_post = -nu_post
    v0 = meatus + nu_post * (ohw + hw_v + _u(rng, 2.5, 5)) + du_up * _u(rng, -6, -2)
    hw_cx = _u(rng, 11, 14)
    hw_top = hw_v * 1.1 if hyst else max(hw_cx + 3.0, hw_v)

    bones = _raster([p_ for c_, p_, _b, o_ in rigid if o_])
    bone_dist = ndimage.distance_transform_edt(~bones)

    # ---- anal canal, levator plate (puborectalis sling to coccyx tip), planned rectum
    av = v0 + np.array([_u(rng, 34, 44), _u(rng, 0, 7)])
    psi = A["anal_angle_deg"]
    lac = _u(rng, 26, 34)
    hw_ac_pre = _u(rng, 5.5, 7.5)
    dac = np.array([math.sin(math.radians(psi)), math.cos(math.radians(psi))])
    arj = av - lac * dac
    # the anal canal stays behind the lower vagina (perineal body in between)
    a_low = max(A["vagina_lower_deg"] - 6 * A["bladder_fill"], _ang(du_up) + _u(rng, 0, 8))
    need = hw_v + hw_ac_pre + 7.0
    x_vag = v0[0] + (v0[1] - arj[1]) * math.tan(math.radians(a_low))
    if arj[0] - x_vag < need:
        shift = need - (arj[0] - x_vag)
        av = av + np.array([shift, 0.0])
        arj = arj + np.array([shift, 0.0])
    ara = A["anorectal_angle_deg"]
    r1 = np.array([math.sin(math.radians(psi + ara)), math.cos(math.radians(psi + ara))])
    hw_amp = A["ampulla_half_mm"]
    content = A["rectal_content"]
    hw_ac = hw_ac_pre
    bis = dac + r1
    bis /= np.linalg.norm(bis)
    hw_pr = _u(rng, 6, 8.5)
    hw_pl = _u(rng, 3.5, 5)
    pr = arj + bis * (hw_ac + hw_pr + 3.0)
    tip_end = tip + (pr - tip) / np.linalg.norm(pr - tip) * 6
    mid = 0.5 * (pr + tip_end) + np.array([0.2, 1.0]) * _u(rng, 0, 6)
    lev_line = _resample(_bezier(pr, mid, tip_end, 60), 2.2)
    lev_hw = np.interp(np.linspace(0, 1, len(lev_line)), [0, 0.25, 1],
                       [hw_pr, hw_pl, _u(rng, 2.5, 3.5)])
    lm["pr"] = pr
    _, npl = _normals(lev_line)
    k = int(0.4 * len(lev_line))
    up_n = npl[k] if npl[k, 1] < 0 else -npl[k]
    q1 = lev_line[k] + up_n * (hw_pl + hw_amp + 3)
    hw_up = _u(rng, 7, 10) + (3 if content in ("gel", "feces") else 0)
    gap = _u(rng, 5, 12)
    ctrl = [av, arj, 0.5 * (arj + q1) + up_n * 2, q1]
    for f in (0.84, 0.68):
        p_, nant = sac_pt(f)
        ctrl.append(p_ + nant * (gap + (hw_amp if f > 0.75 else 0.5 * (hw_amp + hw_up))))
    f_cut = _u(rng, 0.46, 0.56)
    p_, nant = sac_pt(f_cut)
    ctrl.append(p_ + nant * (gap + hw_up))
    rline = _resample(_spline(ctrl, 30), 1.0)
    rline = _resample(ndimage.gaussian_filter1d(rline, 4.0, axis=0, mode="nearest"), 2.2)
    rline[0] = av
    sr = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(rline, axis=0), axis=1))])
    s_arj = float(sr[np.argmin(np.linalg.norm(rline - arj, axis=1))])
    corridor = _tube_outline(rline[sr > s_arj + 5], np.full(int((sr > s_arj + 5).sum()),
                                                            hw_amp * 0.8))

    # ---- vagina: parallel to and behind the urethra, then bending back towards the
    # sacral hollow, kept in front of the rectal path (less bend / shorter if needed)
    lv = A["vagina_length_mm"] + 12 * A["bladder_fill"]
    bend = A["vagina_bend_deg"]
    up_r = rline[sr > s_arj + 5]
    for _try in range(8):
        d1, d2 = _d(a_low), _d(a_low + bend)
        p1 = v0 + 0.5 * lv * d1
        vcl = _resample(_bezier(v0, p1, p1 + 0.55 * lv * d2, 120), 2.2)
        sv = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(vcl, axis=0), axis=1))])
        vhw = hw_v * (0.9 + 0.1 * _smooth(sv / 12)) + (hw_top - hw_v) * _smooth(
            (sv - (sv[-1] - 24)) / 20)
        dist = np.linalg.norm(vcl[:, None] - up_r[None], axis=2).min(1)
        if (dist - vhw).min() > 0.7 * hw_amp + 3:
            break
        if bend > -5:
            bend -= 7
        else:
            lv *= 0.92
    vhw = _curv_limit(vcl, vhw)
    t_top = _normals(vcl)[0][-1]
    lm.update(v0=v0, vault=vcl[-1])

    # ---- bladder: an ellipse on the bladder neck, kept anterior to the vagina and out of
    # the bones, grown back to its volume where there is room
    fill = A["bladder_fill"]
    area_b = 250 + fill ** 1.4 * 4800
    asp = A["bladder_aspect"]
    tilt = A["bladder_tilt_deg"]
    va_b = vcl - _normals(vcl)[1] * vhw[:, None]  # anterior vaginal wall (side B)
    behind = np.vstack([va_b - np.array([2.5, 0]), [va_b[-1] + np.array([-2.5, -22.0]),
                                                    [260, vcl[-1, 1] - 24],
                                                    [260, 60], [va_b[0, 0], 60]]])
    forbid = _raster([behind]) | ndimage.binary_dilation(bones, iterations=2)
    scale = 1.0
    shift = _u(rng, 0.0, 0.3)
    for _try in range(6):
        ah = math.sqrt(area_b / math.pi * asp) * scale
        bh = math.sqrt(area_b / math.pi / asp) * scale
        cb = bn + np.array([bh * shift, -0.9 * ah])
        ell = _ellipse(cb, bh, ah, tilt, 240, 2.3)
        i0 = int(np.argmin(np.linalg.norm(ell - bn, axis=1)))
        kk = np.arange(len(ell))
        dk = np.minimum(np.abs(kk - i0), len(ell) - np.abs(kk - i0)) / len(ell)
        ell = ell + (bn - ell[i0]) * np.exp(-(dk / 0.07) ** 2)[:, None]
        m = _raster([ell]) & ~forbid
        disk = np.hypot(*np.mgrid[-5:6, -5:6]) <= 5
        m = ndimage.binary_opening(m, structure=disk)
        lab, nl = ndimage.label(m)
        if nl > 1:
            gi = int(round(bn[1] - 4 - _GRID0[1]))
            gj = int(round(bn[0] - _GRID0[0]))
            keep = lab[gi, gj] if lab[gi, gj] else np.argmax(np.bincount(lab.ravel())[1:]) + 1
            m = lab == keep
        got = float(m.sum())
        if got >= 0.93 * area_b:
            break
        scale *= min(1.25, math.sqrt(area_b / max(got, 1.0)) ** 0.8)
    bl_outline = _mask_outline(m)
    lm["bladder_area"] = float(m.sum())

    # ---- uterus: pear + fibroids on the cervix in the vault, rotated (and if needed made
    # smaller) until it is clear of the bladder, the bones and the rectal corridor
    ut_outline = None
    ut_info = {}
    if not hyst:
        ang_tv = _ang(t_top)
        ver = A["uterus_version"]
        if ver == "anteverted":
            ang_cx = ang_tv - _u(rng, 35, 75)
            ang_b = ang_cx - _u(rng, 10, 65)
        elif ver == "retroverted":
            ang_cx = ang_tv + _u(rng, -15, 10)
            ang_b = min(ang_cx + _u(rng, 0, 35), 75.0)
        else:
            ang_cx = ang_tv - _u(rng, 10, 30)
            ang_b = ang_cx - _u(rng, -10, 15)
        lcx, lb = A["cervix_mm"], A["uterus_body_mm"]
        ext_os = vcl[-1] - t_top * _u(rng, 7, 11)
        hw_b = A["uterus_width_mm"] / 2
        blk = (ndimage.binary_dilation(_raster([bl_outline]), iterations=3) | bones
               | _raster([corridor]))
        step_dir = 1.0 if ver != "retroverted" else -1.0
        best = None
        for _try in range(40):
            iso = ext_os + lcx * _d(ang_cx)
            fund = iso + lb * _d(ang_b)
            uline = _resample(_spline([ext_os, ext_os + 0.5 * lcx * _d(ang_cx), iso,
                                       iso + 0.5 * lb * _d(ang_b), fund], 30), 2.0)
            su = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(uline, axis=0),
                                                               axis=1))])
            sb = np.clip((su - lcx) / lb, 0, 1)
            uhw = np.where(su < lcx, hw_cx * (0.85 + 0.15 * _smooth(su / lcx)),
                           hw_cx * 0.95 + (hw_b - 0.95 * hw_cx) * np.sin(
                               0.5 * math.pi * np.clip(sb / 0.6, 0, 1)) - 0.1 * hw_b * _smooth(
                               (sb - 0.7) / 0.3))
            tube = _tube_outline(uline, uhw, True, True, step=1.0)
            hit = int((_raster([tube]) & blk).sum())
            if best is None or hit < best[0]:
                best = (hit, uline, uhw, tube, iso, fund)
            if hit < 20:
                break
            if step_dir > 0 and ang_b < ang_cx + 20:
                ang_b += 6
            elif step_dir < 0 and ang_b > ang_cx - 15:
                ang_b -= 6
            else:
                lb *= 0.93
                hw_b = max(hw_cx, hw_b * 0.95)
                lcx *= 0.97
        _, uline, uhw, tube, iso, fund = best
        _, un = _normals(uline)
        circles = []
        fibroids = []
        for _k in range(A["n_fibroids"]):
            i = int(np.clip(rng.integers(int(0.3 * len(uline)), len(uline) - 1), 0,
                            len(uline) - 1))
            side = 1 if rng.random() < 0.5 else -1
            fr = _u(rng, -0.3, 1.3)
            r = _u(rng, 5, 16)
            if fr < 0.85:
                r = min(r, 0.8 * uhw[i])
            c = uline[i] + side * un[i] * fr * uhw[i]
            if fr >= 0.85 and (_raster([_ellipse(c, r + 2, r + 2, 0, 24)]) & blk).sum() > 20:
                fr, r = 0.3, min(r, 0.7 * uhw[i])
                c = uline[i] + side * un[i] * fr * uhw[i]
            circles.append((c[0], c[1], r))
            fibroids.append({"center": c, "radius": r, "degenerated": bool(rng.random() < 0.2)})
        ut_outline = _outline_from_mask([tube], circles)
        ut_info = {"centerline": uline, "hw": uhw, "lcx": lcx, "fibroids": fibroids,
                   "ext_os": ext_os, "iso": iso, "fund": fund}
        lm.update(ext_os=ext_os, iso=iso, fund=fund)

    # ---- rectum: keep clear of vagina and uterus (bone-aware), then widths and sigmoid
    others = [(vcl, vhw)]
    if ut_outline is not None:
        others.append((ut_outline, np.zeros(len(ut_outline))))
    rline = _clear_line(rline, others, hw_amp, bone_dist)
    rline = _resample(ndimage.gaussian_filter1d(_resample(rline, 1.0), 3.0, axis=0,
                                                mode="nearest"), 2.2)
    rline[0] = av
    sr = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(rline, axis=0), axis=1))])
    s_arj = float(sr[np.argmin(np.linalg.norm(rline - arj, axis=1))])
    s_end = sr[-1]
    prof = np.interp(sr, [0, s_arj, s_arj + 12, s_arj + 0.45 * (s_end - s_arj), s_end],
                     [hw_ac * 0.9, hw_ac, hw_amp, hw_amp, hw_up])
    rhw = ndimage.gaussian_filter1d(prof, 2.0)
    # no wider than the room to the bones
    gi = np.clip(np.round(rline[:, 1] - _GRID0[1]).astype(int), 0, _GRID_SHAPE[0] - 1)
    gj = np.clip(np.round(rline[:, 0] - _GRID0[0]).astype(int), 0, _GRID_SHAPE[1] - 1)
    rhw = np.maximum(np.minimum(rhw, bone_dist[gi, gj] * 0.9 + 1.0), 4.0)
    rhw = _curv_limit(rline, rhw)
    cut = rline[-1].copy()
    t_cut = _normals(rline)[0][-1]
    best = None
    for turn in (0.0, 0.5, -0.4, 1.0):
        sig_dir = (-np.array([1.0, 0.3]) * _u(rng, 25, 45) - np.array([0, _u(rng, 0, 20)])
                   ) * (1 - turn) + np.array([0, -35.0]) * turn
        s_len = _u(rng, 14, 24)
        sline = _resample(_bezier(cut, cut + t_cut * s_len, cut + t_cut * s_len * 0.8
                                  + sig_dir, 80), 2.2)
        shw = _curv_limit(sline, np.interp(np.linspace(0, 1, len(sline)), [0, 0.4, 1],
                                           [rhw[-1], _u(rng, 8, 12), _u(rng, 8, 12)]))
        shw[0] = rhw[-1]
        tube = _tube_outline(sline, shw, False, True)
        hit = int((_raster([tube]) & (bones | (_raster([ut_outline]) if ut_outline is not None
                                              else bones))).sum())
        if best is None or hit < best[0]:
            best = (hit, sline, shw)
        if hit < 10:
            break
    _, sig_line, sig_hw = best
    lm.update(av=av, arj=arj, cut=cut)

    return dict(rigid=rigid, lm=lm, sym=sym, ax=ax, pn=pn, ts=ts, urethra=(ucl, ohw),
                vagina=(vcl, vhw, gel_v), uterus=(ut_outline, ut_info), bladder=bl_outline,
                rectum=(rline, rhw, s_arj), sigmoid=(sig_line, sig_hw), levator=(lev_line,
                                                                                  lev_hw),
                tips=tips, sacral_back=sacral_back, coccyx_back=coccyx_back, content=content)


def _blob(c, r, rng, n=40, ecc=(0.5, 1.0)):
    """Irregular oval of maximal radius r (bowel loop cross-section)."""
    th = np.linspace(0, 2 * math.pi, n, endpoint=False)
    e = _u(rng, *ecc)
    a = _u(rng, 0, math.pi)
    rad = np.ones(n)
    for k in (2, 3, 4, 5):
        rad += _u(rng, 0, 0.07) * np.cos(k * th + _u(rng, 0, 6.3))
    rad = rad / rad.max() * r
    x, y = rad * np.cos(th), rad * np.sin(th) * e
    return np.asarray(c) + np.stack([x * math.cos(a) - y * math.sin(a),
                                     x * math.sin(a) + y * math.cos(a)], 1)


def _place_loops(rng, free_dist, n, y_range, r_range, taken, lm, tries=400, gap=2.5):
    """Bowel loop centres in free space (distance map in mm on the 1 mm grid)."""
    out = []
    wall, spine = lm["wall_inner"], lm["spine_front"]
    for _ in range(tries):
        if len(out) >= n:
            break
        y = _u(rng, *y_range)
        xa = float(np.interp(y, wall[::-1, 1], wall[::-1, 0]))
        sf = spine[np.argsort(spine[:, 1])]
        xb = float(np.interp(y, sf[:, 1], sf[:, 0]))
        if xb - xa < 20:
            continue
        x = _u(rng, xa, xb)
        r = _u(rng, *r_range)
        gi = int(round(y - _GRID0[1]))
        gj = int(round(x - _GRID0[0]))
        if not (0 <= gi < _GRID_SHAPE[0] and 0 <= gj < _GRID_SHAPE[1]):
            continue
        room = free_dist[gi, gj]
        if room < r + gap:
            if room < 7 + gap:
                continue
            r = room - gap
        if any(np.hypot(x - c[0], y - c[1]) < r + c[2] + gap for c in taken + out):
            continue
        out.append((x, y, r))
    return out


def _make_system(sc, prm, rng):
    A = prm["anatomy"]
    lax = prm["motion"]["laxity"]
    lm = sc["lm"]
    hyst = prm["hysterectomy"]
    S = _System()
    info = {}
    content = sc["content"]
    # bladder
    bl = S.add_sac("bladder", sc["bladder"], lm["bn"], 0.55, k_edge=(0.25, 0.1), k_bend=0.3,
                   k_area=0.9, alpha=0.01, force=0.75, rank=4, smooth=0.2)
    # uterus
    ut_outline, ut_info = sc["uterus"]
    ut = None
    if not hyst:
        ut = S.add_sac("uterus", ut_outline, ut_info["ext_os"], 0.6, k_edge=(0.5, 0.5),
                       k_bend=0.3, k_area=0.6, alpha=_u(rng, 0.12, 0.3), force=0.85, rank=0,
                       smooth=0.05)
    vcl, vhw, gel_v = sc["vagina"]
    va = S.add_tube("vagina", vcl, vhw, False, True, 0.55, k_len=(0.5, 0.2),
                    k_rung=(0.3, 0.3 if gel_v else 0.2), k_diag=0.1, k_bend=0.15,
                    k_area=0.3 if gel_v else 0.0, min_w=7.0, force=0.55, rank=3)
    ucl, ohw = sc["urethra"]
    ur = S.add_tube("urethra", ucl, np.full(len(ucl), ohw), False, False, 0.7,
                    k_len=(0.8, 0.8), k_rung=(0.6, 0.6), k_diag=0.5, k_bend=0.4, min_w=6.0,
                    alpha=0.15,
                    force=0.35, rank=2)
    rline, rhw, s_arj = sc["rectum"]
    k_ar = {"gel": 0.5, "feces": 0.4, "gas": 0.3, "empty": 0.02}[content]
    sr0 = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(rline, axis=0), axis=1))])
    min_r = np.minimum(np.where(sr0 <= s_arj + 15, 11.0, 9.0), 1.6 * np.asarray(rhw))
    re = S.add_tube("rectum", rline, rhw, False, False, 0.55, k_len=(0.45, 0.2),
                    k_rung=(0.25, 0.06), k_diag=0.1, k_bend=0.15, k_area=k_ar, min_w=min_r,
                    force=0.5, rank=5)
    sl, sh = sc["sigmoid"]
    sg = S.add_tube("sigmoid", sl, sh, False, True, 0.55, k_len=(0.45, 0.08),
                    k_rung=(0.25, 0.06), k_diag=0.08, k_bend=0.04, k_area=0.3, min_w=5.0,
                    force=0.9, rank=6)
    ll, lh = sc["levator"]
    lv = S.add_tube("levator", ll, lh, True, True, 0.8, k_len=(0.5, 0.3), k_rung=(0.5, 0.5),
                    k_diag=0.3, k_bend=0.15, min_w=3.0, force=0.45, rank=1)

    # free space for extra soft bodies
    occ = _raster([p for c, p, _b, obst in sc["rigid"] if obst] + [
        sc["bladder"], _tube_outline(vcl, vhw, False, True), _tube_outline(rline, rhw),
        _tube_outline(sl, sh, False, True), _tube_outline(ll, lh, True, True),
        _tube_outline(ucl, np.full(len(ucl), ohw))] + ([ut_outline] if ut is not None else []))
    free_dist = ndimage.distance_transform_edt(~occ)
    loops = []
    if A["douglas_loop"] and not hyst:
        c0 = 0.5 * (lm["iso"] + lm["cut"]) if "iso" in lm else lm["vault"]
        loops += _place_loops(rng, free_dist, 1, (c0[1] - 25, c0[1] + 15), (6, 10), [], lm, 300)
        loops = [(x, y, r, "douglas") for x, y, r in loops]
    tops = [sc["bladder"][:, 1].min(), rline[:, 1].min()]
    if ut is not None:
        tops.append(ut_outline[:, 1].min())
    y_low = min(-40.0, float(np.median(tops)) + 10)
    pel = _place_loops(rng, free_dist, A["n_bowel"], (-200, y_low), (7, 19),
                       [lp[:3] for lp in loops], lm, 800, gap=1.5)
    kinds = rng.choice(["fluid", "gas", "mixed", "chyme", "collapsed"], size=len(pel),
                       p=[0.3, 0.12, 0.18, 0.25, 0.15])
    loops += [(x, y, r, str(k)) for (x, y, r), k in zip(pel, kinds, strict=True)]
    if A["free_fluid"] and "iso" in lm:
        loops += [(x, y, r, "free_fluid") for x, y, r in _place_loops(
            rng, free_dist, 1, (lm["ext_os"][1] - 20, lm["ext_os"][1] + 10), (5, 9),
            [lp[:3] for lp in loops], lm, 200)]
    if A["ovary"] and "fund" in lm:
        loops += [(x, y, r, "ovary") for x, y, r in _place_loops(
            rng, free_dist, 1, (lm["fund"][1] - 30, lm["fund"][1] + 20), (10, 15),
            [lp[:3] for lp in loops], lm, 200)]
    bowel = []
    for k, (x, y, r, kind) in enumerate(loops):
        n = max(24, int(2 * math.pi * r / 2.2))
        cont = _blob((x, y), r, rng, n, ecc=(0.85, 1.0) if kind in ("free_fluid", "ovary")
                     else (0.5, 1.0))
        ka = {"fluid": 0.6, "free_fluid": 0.8, "douglas": 0.6, "ovary": 0.6}.get(kind, 0.3)
        al = {"ovary": 0.25, "free_fluid": 0.0}.get(kind, 0.03)
        b = S.add_sac(f"bowel{k:02d}", cont, np.array([x, y]), 0.55, k_edge=(0.3, 0.1),
                      k_bend=0.1, k_area=ka, alpha=al, force=1.0, loop_kind=kind, radius=r,
                      rank=8 if kind == "free_fluid" else 7)
        bowel.append(b)
        S.anchor(b["idx"], 0.012 if kind != "ovary" else 0.03, lift=0.2, settle=True)
    # static upper-abdominal loops (rigid during the simulation, move with breathing)
    upper = _place_loops(rng, free_dist, 70, (-520, -150), (7, 21),
                         [lp[:3] for lp in loops], lm, 1500, gap=1.0)
    upper = [(x, y, r, str(rng.choice(["fluid", "gas", "mixed", "chyme", "collapsed"],
                                       p=[0.25, 0.15, 0.2, 0.25, 0.15]))) for x, y, r in upper
             if y < -150 - r * 0.5 or y < y_low - 60]

    # ---- anchors (supports): stiffness per PBD iteration, weaker with laxity
    la, lmid, lp, lf = lax["anterior"], lax["middle"], lax["posterior"], lax["floor"]
    K = _SUPPORT
    anc = {}

    def put(idx, k, lift=0.0, drop=0.0, settle=False):
        idx = np.atleast_1d(np.asarray(idx)).astype(int)
        bc = [np.broadcast_to(np.asarray(v, float), idx.shape) for v in (k, lift, drop)]
        for n_, i in enumerate(idx):
            anc[int(i)] = (float(bc[0][n_]), float(bc[1][n_]), float(bc[2][n_]), settle)

    x0 = S.full
    bidx = bl["idx"]
    yb = x0[0][:, 1]
    hb = (yb - yb.min()) / max(1e-6, yb.max() - yb.min())
    base = hb > 0.6
    wb = _smooth((hb - 0.6) / 0.4)
    put(bidx[base], K * (0.3 + 0.5 * wb[base]) * (1 - 0.6 * la), lift=0.8, settle=True)
    st = np.arange(ur["ns"])
    fr = st / max(1, ur["ns"] - 1)
    for side in ("a", "b"):
        put(ur[side][1:], K * 1.5 * (1 - 0.6 * la), lift=1.0 - 0.3 * fr[1:])
        put(ur[side][:1], K * 4 * (1 - 0.55 * lf), lift=0.6, settle=True)
    sv = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(vcl, axis=0), axis=1))])
    fv = sv / sv[-1]
    kv = np.where(fv < 0.35, 1.5 * (1 - 0.3 * la - 0.3 * lp),
                  np.where(fv < 0.7, 0.5 * (1 - 0.6 * lmid), 0.0)) * K
    if hyst:
        kv = np.where(fv >= 0.7, K * 0.8 * (1 - 0.6 * lmid), kv)
    for side in ("a", "b"):
        on = kv > 0
        put(va[side][on], kv[on], lift=(1.0 - 0.6 * fv)[on])
        put(va[side][:1], K * 4 * (1 - 0.55 * lf), lift=0.8, settle=True)
    if ut is not None:
        xu = x0[1]
        near = np.minimum(np.linalg.norm(xu - ut_info["iso"], axis=1),
                          np.linalg.norm(xu - ut_info["ext_os"], axis=1)) < 13
        put(ut["idx"][near], K * 0.8 * (1 - 0.65 * lmid), lift=0.5)
        put(ut["idx"][np.linalg.norm(xu - ut_info["ext_os"], axis=1) < 8], K, lift=0.5,
            settle=True)
    sr = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(rline, axis=0), axis=1))])
    anal = sr <= s_arj + 2
    upper_r = sr > sr[-1] - 0.45 * (sr[-1] - s_arj)
    for side in ("a", "b"):
        m = anal.copy()
        m[0] = False
        put(re[side][m], K * 2.0 * (1 - 0.55 * lp), lift=1.0, drop=1.0)
        put(re[side][upper_r], K * 1.0, lift=0.2)
        put(re[side][-1:], K * 2.0, settle=True)
        put(re[side][:1], K * 4 * (1 - 0.55 * lf), lift=0.8, drop=0.6, settle=True)
    put(sg["idx"], K * 0.2)
    put(sg["cap1"], K * 1.0, settle=True)
    nl = lv["ns"]
    fl = np.arange(nl) / max(1, nl - 1)
    for side in ("a", "b"):
        put(lv[side][fl <= 0.85], K * 2.0 * (1 - 0.6 * lf), lift=1.0 - 0.8 * fl[fl <= 0.85],
            drop=1.0 - 0.7 * fl[fl <= 0.85], settle=True)
        put(lv[side][fl > 0.85], 0.5, settle=True)
    put(lv["cap1"], 0.5, settle=True)
    put(lv["cap0"], K * 2.5 * (1 - 0.6 * lf), lift=1.0, drop=1.0, settle=True)
    for i in sorted(anc):
        k, li, dr, stl = anc[i]
        S.anchor(i, k, li, dr, stl)

    # ---- links
    xb = x0[0]
    i_neck = np.argsort(np.linalg.norm(xb - lm["bn"], axis=1))[:3]
    top_u = [ur["a"][-1], ur["b"][-1]]
    xall = np.vstack(S.full)
    for i in i_neck:
        gi = bidx[i]
        j = min(top_u, key=lambda t: np.linalg.norm(xall[t] - xall[gi]))
        S.link(gi, j, 0.8)
    if ut is not None:
        vtop = np.concatenate([va["cap1"], va["a"][-3:], va["b"][-3:]])
        for i in vtop:
            d = np.linalg.norm(xall[ut["idx"]] - xall[i], axis=1)
            S.link(i, ut["idx"][int(np.argmin(d))], 0.6)
    S.link(re["a"][-1], sg["a"][0], 1.0)
    S.link(re["b"][-1], sg["b"][0], 1.0)
    S.d0 = 12.0 + 16.0 * float(np.mean(list(lax.values())))
    S.loose = np.concatenate([b["idx"] for b in bowel]) if bowel else np.zeros(0, int)
    S.finalize([("uterus", "vagina"), ("rectum", "sigmoid")])
    S.sep = {"a": va["a"], "b": va["b"], "ut": ut["idx"] if ut is not None else None,
             "ext": 25.0, "front": bl["idx"], "back": re["idx"][:2 * re["ns"]],
             "reach": 25.0}
    info.update(vag_s=sv)
    info.update(bladder=bl, uterus=ut, vagina=va, urethra=ur, rectum=re, sigmoid=sg,
                levator=lv, bowel=bowel, upper_loops=upper, s_arj=s_arj, rect_s=sr)
    return S, info


# ----------------------------------------------------------------------------- motion
def _curves(motion, t):
    """Strain, squeeze, emptying, anal opening, puborectalis relaxation, breathing."""
    strain = np.zeros_like(t)
    squeeze = np.zeros_like(t)
    empty = np.zeros_like(t)
    opening = np.zeros_like(t)
    relax = np.zeros_like(t)
    for ev in motion["events"]:
        p = _pulse(t, ev["t0"], ev["ramp"], ev["hold"], ev["release"]) * ev["amp"]
        if ev["type"] in ("strain", "cough"):
            strain += p
        elif ev["type"] == "squeeze":
            squeeze += p
        else:  # push (defecation)
            strain += p
            relax = np.maximum(relax, p / max(ev["amp"], 1e-6))
            t1 = ev["t0"] + 0.6 * ev["ramp"]
            e = _smooth((t - t1) / max(0.8 * ev["hold"], 0.5)) * motion["empty_fraction"]
            empty = np.maximum(empty, np.minimum(e + empty.max() * 0, 1.0))
            o = _pulse(t, t1, 0.8, max(0.7 * ev["hold"], 0.5), 1.0)
            opening = np.maximum(opening, o)
    for i in range(1, len(empty)):
        empty[i] = max(empty[i], empty[i - 1])
    hold = np.clip(strain + squeeze, 0, 1)
    breath = np.sin(2 * math.pi * t / motion["breath_period_s"]) * (1 - hold)
    return dict(strain=strain, squeeze=squeeze, empty=np.minimum(empty, 0.9), opening=opening,
                relax=relax, breath=breath)


def _simulate(S, info, prm, sc):
    """Settle the scene, then run the manoeuvre; positions at every substep."""
    M = prm["motion"]
    n0 = prm["n_frames"]
    spf = max(5, int(math.ceil(220 / n0)))
    n_sub = n0 * spf
    h = M["frame_interval_s"] / spf
    # settling: grow from the shrunk start with only the pins active
    x = S.x.copy()
    xprev = x.copy()
    n_grow, n_hold = 60, 15
    zero = np.zeros_like(x)
    for j in range(n_grow + n_hold):
        g = 0.55 + 0.45 * float(_smooth((j + 1) / n_grow))
        xn = S.step(x, xprev, zero, g=g, settling=True, targets=S.xfull[S.ai], damp=0.3)
        if j % 2 == 1 or j >= n_grow:
            S.resolve(xn)
        xprev, x = x, xn
    S.reset_rest(x)
    S.x = x
    t = np.arange(n_sub + 1) * h
    cv = _curves(M, t)
    lax = M["laxity"]
    xi = math.radians(M["strain_direction_deg"])
    dstrain = np.array([math.sin(xi), math.cos(xi)])
    lift_vec = np.array([-0.45, -0.89]) * M["lift_mm"]
    drop_vec = np.array([0.35, 0.94]) * (8 + 8 * lax["floor"])
    gain = _GAIN * M["strain_gain"]
    force = S.force[:, None] * dstrain[None]
    # pelvic-organ-specific extra loads: rectocele (anterior ampulla wall), cystocele
    extra = np.zeros_like(x)
    re = info["rectum"]
    sr, s_arj = info["rect_s"], info["s_arj"]
    amp = (sr > s_arj + 4) & (sr < s_arj + 45)
    extra[re["b"][amp]] += np.array([-0.8, 0.6]) * 1.2 * M["rectocele"]
    bl = info["bladder"]
    xb = x[bl["idx"]]
    hb = (xb[:, 1] - xb[:, 1].min()) / max(1e-6, np.ptp(xb[:, 1]))
    extra[bl["idx"]] += (np.array([0.3, 0.95]) * 0.8 * lax["anterior"]) * _smooth(
        (hb[:, None] - 0.4) / 0.6)
    # breathing weight (upper bowel loops only)
    bw = np.zeros(S.n)
    for b in info["bowel"]:
        yb = x[b["idx"], 1].mean()
        bw[b["idx"]] = float(_smooth((-yb - 40) / 150))
    # defecation: rung / area scaling of the rectum
    rk = S.cbody == S.bodies.index(re)
    st = S.cst
    s_con = np.where(rk, sr[np.clip(st, 0, len(sr) - 1)], -1)
    amp_c = rk & ((S.ckind == RUNG) | (S.ckind == DIAG)) & (s_con > s_arj + 3)
    anal_c = rk & ((S.ckind == RUNG) | (S.ckind == DIAG)) & (s_con <= s_arj + 3)
    i_rect = S.bodies.index(re)
    hw_ac = float(np.mean(info["rectum"]["hw"][sr <= s_arj]))
    rec = np.zeros((n_sub + 1, S.n, 2), np.float32)
    rec[0] = x
    xprev = x.copy()
    for j in range(1, n_sub + 1):
        p, q = cv["strain"][j], cv["squeeze"][j]
        ext = (gain * (p - 0.3 * q)) * (force + extra * p / max(p, 1e-6) * (p > 0))
        ext[:, 1] += M["breath_mm"] * (cv["breath"][j] - cv["breath"][j - 1]) * bw
        tg = (S.atarget + q * S.alift[:, None] * lift_vec
              + cv["relax"][j] * S.adrop[:, None] * drop_vec)
        tg[:, 1] += M["breath_mm"] * cv["breath"][j] * bw[S.ai]
        cs = np.ones(len(S.ci))
        e, o = cv["empty"][j], cv["opening"][j]
        cs[amp_c] = 1.0 - 0.5 * e
        cs[anal_c] = 1.0 + o * M["anal_open_mm"] / (2 * hw_ac)
        asc = np.ones(S.nb)
        asc[i_rect] = 1.0 - 0.75 * e
        xn = S.step(x, xprev, ext, cscale=cs, area_scale=asc, targets=tg)
        if j % 3 == 0:
            S.resolve(xn)
        xprev, x = x, xn
        rec[j] = x
    return rec, t, spf, cv


# ----------------------------------------------------------------------------- rendering
class _Canvas:
    """Canonical mm -> 2x oversampled canvas (rows, cols), with a phase-axis margin."""

    def __init__(self, shape, spacing, scale, rot_deg, pc, t_mm, ext_rows=0, ext_cols=0):
        self.h, self.w = shape
        self.dr, self.dc = spacing
        self.s = scale
        a = math.radians(rot_deg)
        self.R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        self.pc, self.t = np.asarray(pc, float), np.asarray(t_mm, float)
        self.er, self.ec = ext_rows, ext_cols
        self.H2, self.W2 = 2 * (self.h + 2 * ext_rows), 2 * (self.w + 2 * ext_cols)

    def mm(self, p):
        return self.s * (np.asarray(p, float) - self.pc) @ self.R.T + self.t

    def rc(self, p):
        q = self.mm(p)
        return np.stack([2 * (q[:, 1] / self.dr + self.er) + 0.5,
                         2 * (q[:, 0] / self.dc + self.ec) + 0.5], 1)

    def canon(self, rows, cols):
        """Canvas pixel centres -> canonical mm (x, y)."""
        x = ((cols - 0.5) / 2 - self.ec) * self.dc
        y = ((rows - 0.5) / 2 - self.er) * self.dr
        q = np.stack([x, y], -1) - self.t
        return q @ self.R / self.s + self.pc


def _scanfill(r, c, shape):
    """Pixels (rows, cols) whose centres lie inside the polygon (even-odd rule)."""
    H, W = shape
    r = np.asarray(r, float)
    c = np.asarray(c, float)
    r2, c2 = np.roll(r, -1), np.roll(c, -1)
    ra = max(0, int(math.ceil(r.min())))
    rb = min(H - 1, int(math.floor(r.max())))
    if rb < ra or W <= 0:
        return np.zeros(0, int), np.zeros(0, int)
    rows = np.arange(ra, rb + 1, dtype=float)[:, None]
    lo, hi = np.minimum(r, r2)[None], np.maximum(r, r2)[None]
    ok = (rows >= lo) & (rows < hi)
    dr = r2 - r
    dr[dr == 0] = 1.0
    xs = np.where(ok, c[None] + (rows - r[None]) / dr[None] * (c2 - c)[None], np.inf)
    xs.sort(axis=1)
    m = int(ok.sum(1).max()) if ok.any() else 0
    if m < 2:
        return np.zeros(0, int), np.zeros(0, int)
    xs = xs[:, :m - m % 2]
    st, en = xs[:, 0::2], xs[:, 1::2]
    good = np.isfinite(en)
    cs = np.clip(np.ceil(st), 0, W).astype(int)
    ce = np.clip(np.floor(en) + 1, 0, W).astype(int)
    good &= ce > cs
    nr = rb - ra + 1
    ri = np.broadcast_to(np.arange(nr)[:, None], cs.shape)
    diff = np.bincount((ri * (W + 1) + cs)[good], minlength=nr * (W + 1)) - np.bincount(
        (ri * (W + 1) + ce)[good], minlength=nr * (W + 1))
    mask = np.cumsum(diff.reshape(nr, W + 1), axis=1)[:, :W] > 0
    rr, cc = np.nonzero(mask)
    return rr + ra, cc


def _pmask(rc, H, W, pad=2):
    """Crop origin and boolean mask of a polygon given in canvas (row, col) coordinates."""
    r0 = max(0, int(math.floor(rc[:, 0].min())) - pad)
    c0 = max(0, int(math.floor(rc[:, 1].min())) - pad)
    r1 = min(H, int(math.ceil(rc[:, 0].max())) + pad + 1)
    c1 = min(W, int(math.ceil(rc[:, 1].max())) + pad + 1)
    if r1 <= r0 or c1 <= c0:
        return (0, 0), np.zeros((0, 0), bool)
    rr, cc = _scanfill(rc[:, 0] - r0, rc[:, 1] - c0, (r1 - r0, c1 - c0))
    m = np.zeros((r1 - r0, c1 - c0), bool)
    m[rr, cc] = True
    return (r0, c0), m


def _solid(m):
    """Fill holes and keep the largest 8-connected piece of a crop mask."""
    if not m.any():
        return m
    m = ndimage.binary_fill_holes(m)
    lab, n = ndimage.label(m, structure=np.ones((3, 3)))
    if n > 1:
        m = lab == (np.argmax(np.bincount(lab.ravel())[1:]) + 1)
    return m


class _Painter:
    def __init__(self, cv):
        self.cv = cv
        self.cls = np.zeros((cv.H2, cv.W2), np.uint8)
        self.lab = np.zeros((cv.H2, cv.W2), np.uint8)
        self.tex_id = np.zeros((cv.H2, cv.W2), np.int16)  # 0 static texture, k body k

    def poly(self, pts, value, label=None, solid=False, tex=None):
        rc = self.cv.rc(pts)
        o, m = _pmask(rc, self.cv.H2, self.cv.W2)
        if m.size == 0:
            return o, m
        if solid:
            m = _solid(m)
        self.put(o, m, value, label, tex)
        return o, m

    def put(self, o, m, value, label=None, tex=None):
        r0, c0 = o
        sl = (slice(r0, r0 + m.shape[0]), slice(c0, c0 + m.shape[1]))
        if np.ndim(value):
            self.cls[sl][m] = value[m]
        else:
            self.cls[sl][m] = value
        if label is not None:
            self.lab[sl][m] = label
        if tex is not None:
            self.tex_id[sl][m] = tex

    def line(self, pts, hw_mm, value, label=None, within=None, tex=None):
        """A thick polyline (tube of half-width hw_mm), optionally clipped to a crop mask."""
        pts = np.asarray(pts, float)
        if len(pts) < 2:
            return
        poly = _tube_outline(pts, np.full(len(pts), hw_mm), True, True, step=0.8)
        rc = self.cv.rc(poly)
        o, m = _pmask(rc, self.cv.H2, self.cv.W2)
        if m.size == 0:
            return
        if within is not None:
            (wr, wc), wm = within
            full = np.zeros_like(m)
            r0, c0 = o
            rs = slice(max(r0, wr), min(r0 + m.shape[0], wr + wm.shape[0]))
            cs = slice(max(c0, wc), min(c0 + m.shape[1], wc + wm.shape[1]))
            if rs.start < rs.stop and cs.start < cs.stop:
                full[rs.start - r0:rs.stop - r0, cs.start - c0:cs.stop - c0] = wm[
                    rs.start - wr:rs.stop - wr, cs.start - wc:cs.stop - wc]
            m = m & full
        self.put(o, m, value, label, tex)

    def edt(self, o, m):
        sp = (self.cv.dr / 2 / self.cv.s, self.cv.dc / 2 / self.cv.s)  # canonical mm
        return ndimage.distance_transform_edt(np.pad(m, 1), sampling=sp)[1:-1, 1:-1]


class _Renderer:
    """Draws one frame's tissue classes, labels and texture on the 2x canvas."""

    def __init__(self, prm, sc, S, info, ref, cv, rng):
        self.prm, self.sc, self.S, self.info, self.cv = prm, sc, S, info, cv
        A = prm["anatomy"]
        lm = sc["lm"]
        self.ref = ref
        self.lm = lm
        self.skin_mm = _u(rng, 1.5, 2.6)
        self.breath_mm = prm["motion"]["breath_mm"]
        # static noise texture on the canvas and a shared patch for moving bodies
        n1 = ndimage.gaussian_filter(rng.standard_normal((cv.H2, cv.W2)), 1.2)
        n2 = ndimage.gaussian_filter(rng.standard_normal((cv.H2, cv.W2)), 5.0)
        st = n1 / (n1.std() + 1e-9) + 0.6 * n2 / (n2.std() + 1e-9)
        self.static_tex = (st / st.std()).astype(np.float32)
        p1 = ndimage.gaussian_filter(rng.standard_normal((600, 600)), 1.3)
        p2 = ndimage.gaussian_filter(rng.standard_normal((600, 600)), 4.0)
        pt = p1 / p1.std() + 0.5 * p2 / p2.std()
        self.patch = (pt / pt.std()).astype(np.float32)
        self.patch_step = 0.6
        self.offsets = rng.uniform(-120, 120, size=(S.nb, 2))
        # static body parts (canonical)
        self.skin_ant = lm["skin_ant"][::-1]  # top (cranial) first
        self.inner, self.outer = lm["wall_inner"], lm["wall_outer"]
        fp = A["fat_posterior_mm"]
        back_pts = [sc["sacral_back"] + np.array([fp, 0]), sc["coccyx_back"] + np.array(
            [fp * 1.1 + 6, 0])]
        tips = sc["tips"]
        para_in = lm["canal_back"]
        para_out = para_in + lm["canal_n"] * _u(rng, 28, 42)
        self.paraspinal = np.vstack([para_in, para_out[::-1]])
        back_pts.append(para_out + np.array([fp * 0.8, 0]))
        if len(tips):
            back_pts.append(tips + np.array([fp * 0.8 + 5, 0]))
        bp = np.vstack(back_pts)
        ys = np.arange(-560.0, float(lm["tip"][1]) + 25, 4.0)
        xs = np.array([bp[np.abs(bp[:, 1] - y) < 18, 0].max() if (np.abs(bp[:, 1] - y) < 18)
                       .any() else np.nan for y in ys])
        good = ~np.isnan(xs)
        xs = np.interp(ys, ys[good], xs[good])
        xs = ndimage.gaussian_filter1d(xs, 4, mode="nearest")
        self.skin_post = np.stack([xs, ys], 1)[::-1]  # caudal first
        av = lm["av"]
        y_c = float(lm["tip"][1]) + 22
        x_c = float(np.interp(y_c, ys, xs))
        self.cleft = np.array([av + np.array([9, -2]), av + np.array([20, -9]),
                               [0.5 * (av[0] + 20 + x_c), 0.5 * (av[1] - 9 + y_c) + 4]])
        self.cleft_end = np.array([x_c, y_c])
        self.mons = lm["mons"]
        self.static_cls, self.static_mask = self._static()
        # tissue parameters
        self.fill = A["bladder_fill"]
        self.content = sc["content"]
        self.gel_v = sc["vagina"][2]
        self.wall_b = _u(rng, 2.0, 3.0) + 3.0 * (1 - self.fill)
        self.wall_r = _u(rng, 2.5, 4.0)
        self.wall_v = _u(rng, 2.5, 3.5)
        self.wall_bowel = _u(rng, 1.4, 2.6)
        self.level = {b["name"]: _u(rng, -0.4, 0.3) for b in info["bowel"]}
        self.uk = {b["name"]: str(b["loop_kind"]) for b in info["bowel"]}
        self.fluid_douglas = bool(rng.random() < 0.5)
        self.sig_content = self.content if rng.random() < 0.5 else str(
            rng.choice(["feces", "gas", "empty"]))
        self.eas_mm = _u(rng, 4, 7)
        ut = info["uterus"]
        self.ut = ut
        if ut is not None:
            self.ut_info = sc["uterus"][1]
            self.jz_mm = 0.0 if A["menopause"] or rng.random() < 0.2 else _u(rng, 3, 7)
            self.endo_mm = A["endometrium_mm"] / 2
        self.follicles = [(rng.uniform(-0.6, 0.6, 2), _u(rng, 1.5, 4.5))
                          for _ in range(int(rng.integers(2, 7)))]
        self.upper = info["upper_loops"]
        self.upper_polys = [(_blob((x_, y_), r, rng, 40), kind, _u(rng, -0.4, 0.3))
                            for x_, y_, r, kind in self.upper]
        # small mesenteric vessels between the loops (static dots)
        dots = []
        wall, spine = lm["wall_inner"], lm["spine_front"]
        sf = spine[np.argsort(spine[:, 1])]
        for _ in range(int(rng.integers(10, 30))):
            y_ = _u(rng, -400, -60)
            xa = float(np.interp(y_, wall[::-1, 1], wall[::-1, 0]))
            xb = float(np.interp(y_, sf[:, 1], sf[:, 0]))
            if xb - xa > 20:
                dots.append(_ellipse((_u(rng, xa + 8, xb - 8), y_), _u(rng, 1, 2.5),
                                     _u(rng, 1, 2.5), 0, 12))
        self.vessel_dots = dots
        self.under_cls, self.under_mask = self._under()
        self.loop_layers = None

    def _under(self):
        """Static structures under the organs: paraspinal muscle, vessels."""
        P = _Painter(self.cv)
        P.poly(self.paraspinal, MUSCLE)
        for c, poly, bone, _o in self.sc["rigid"]:
            if not bone and c is not None:
                P.poly(poly, c)
        for poly in self.vessel_dots:
            P.poly(poly, VEIN)
        return P.cls.copy(), P.cls > 0

    def _upper_layers(self):
        """Upper abdominal loops pre-drawn once: (origin, mask, classes, breathing weight)."""
        out = []
        for poly, kind, lvl in self.upper_polys:
            P = _Painter(self.cv)
            P.tex = self.static_tex
            self._loop(P, poly, kind, lvl)
            rc = self.cv.rc(poly)
            o, m = _pmask(rc, self.cv.H2, self.cv.W2)
            if m.size == 0 or not m.any():
                continue
            r0, c0 = o
            v = P.cls[r0:r0 + m.shape[0], c0:c0 + m.shape[1]].copy()
            m = m & (v > 0)
            out.append((o, m, v, float(_smooth((-poly[:, 1].mean() - 40) / 150))))
        return out

    # -- static layers (bones painted last, vessels early)
    def _static(self):
        P = _Painter(self.cv)
        for c, poly, bone, _o in self.sc["rigid"]:
            if bone and c is not None:
                P.poly(poly, c)
        mask = P.cls > 0
        return P.cls.copy(), mask

    def body_outline(self, x, b):
        inf = self.info
        w = _smooth((self.lm["e_sup"][1] - self.skin_ant[:, 1]) / 120.0)
        ant = self.skin_ant - np.stack([self.breath_mm * b * w, 0 * w], 1)
        ur, va, re = inf["urethra"], inf["vagina"], inf["rectum"]
        per = [x[ur["b"][0]], x[ur["a"][0]], x[va["b"][0]], x[va["a"][0]]]
        pa, pb = x[va["a"][0]], x[re["b"][0]]
        per += [pa + (pb - pa) * f + np.array([0, 1.5]) * math.sin(math.pi * f)
                for f in (0.33, 0.66)]
        per += [x[re["b"][0]], x[re["a"][0]]]
        front = np.vstack([ant[:-3], self.mons])
        front = _resample(_spline(front[::2] if len(front) > 40 else front, 8), 3.0)
        return np.vstack([front, np.array(per), self.cleft, [self.cleft_end],
                          self.skin_post[self.skin_post[:, 1] < self.cleft_end[1] - 2]])

    # -- texture of moving bodies
    def _body_tex(self, P, o, m, k, fit):
        th, c, cr = fit
        r0, c0 = o
        rr, cc = np.nonzero(m)
        p = self.cv.canon(rr + r0, cc + c0)
        ct, st = math.cos(-th[k]), math.sin(-th[k])
        d = p - c[k]
        loc = np.stack([ct * d[:, 0] - st * d[:, 1], st * d[:, 0] + ct * d[:, 1]], 1)
        idx = (loc + self.offsets[k]) / self.patch_step + 300
        v = ndimage.map_coordinates(self.patch, idx[:, ::-1].T, order=1, mode="mirror")
        P.tex[r0 + rr, c0 + cc] = v
        return p, loc

    def _loop(self, P, poly, kind, level, k=None, fit=None):
        o, m = P.poly(poly, BOWELWALL)
        if m.size == 0 or not m.any():
            return
        if k is not None:
            p, loc = self._body_tex(P, o, m, k, fit)
        else:
            rr, cc = np.nonzero(m)
            p = self.cv.canon(rr + o[0], cc + o[1])
            loc = p - poly.mean(0)
        if kind == "free_fluid":
            P.put(o, m, FREEFLUID)
            return
        if kind == "ovary":
            P.put(o, m, OVARY)
            r = np.sqrt(np.abs(_area(poly)) / math.pi)
            cls = np.full(len(p), OVARY, np.uint8)
            for cxy, rf in self.follicles:
                cls[np.linalg.norm(loc - cxy * r, axis=1) < rf] = FOLLICLE
            v = np.zeros(m.shape, np.uint8)
            v[m] = cls
            P.put(o, m, v)
            return
        d = P.edt(o, m)
        wall = self.wall_bowel * (1.6 if kind == "collapsed" else 1.0)
        inner = m & (d > wall)
        if kind == "douglas":
            kind = "fluid" if self.fluid_douglas else "chyme"
        if kind in ("fluid", "gas", "chyme"):
            P.put(o, inner, {"fluid": BOWELFLUID, "gas": GAS, "chyme": CHYME}[kind])
        elif kind == "mixed":
            r = np.sqrt(np.abs(_area(poly)) / math.pi)
            x_lvl = poly[:, 0].mean() + level * r
            v = np.zeros(m.shape, np.uint8)
            cls = np.where(p[:, 0] < x_lvl, GAS, BOWELFLUID).astype(np.uint8)
            v[m] = cls
            P.put(o, inner, v)
        else:
            P.put(o, inner, CHYME)

    def frame(self, x, b, fit, fit_full, order=("rectum", "bladder", "vagina", "uterus")):
        cv, inf = self.cv, self.info
        P = _Painter(cv)
        P.tex = self.static_tex.copy()
        o, m = P.poly(self.body_outline(x, b), SKIN, solid=True)
        d = P.edt(o, m)
        P.put(o, m & (d > self.skin_mm), FAT)
        w_in = _smooth((self.lm["e_sup"][1] - self.inner[:, 1]) / 120.0)[:, None]
        shift = np.hstack([-self.breath_mm * b * w_in, 0 * w_in])
        P.poly(np.vstack([self.inner + shift, (self.outer + shift)[::-1]]), MUSCLE)
        um = self.under_mask
        P.cls[um] = self.under_cls[um]
        if self.loop_layers is None:
            self.loop_layers = self._upper_layers()
        dv = self.cv.s * self.cv.R @ np.array([0.0, 1.0])
        dv = np.array([2 * dv[1] / self.cv.dr, 2 * dv[0] / self.cv.dc])  # canvas px per mm
        for (r0, c0), m, v, wy in self.loop_layers:
            sh = np.round(dv * self.breath_mm * b * wy).astype(int)
            r1, c1 = r0 + sh[0], c0 + sh[1]
            if r1 < 0 or c1 < 0 or r1 + m.shape[0] > cv.H2 or c1 + m.shape[1] > cv.W2:
                continue
            P.cls[r1:r1 + m.shape[0], c1:c1 + m.shape[1]][m] = v[m]
        # perineal body and external anal sphincter, levator, urethra
        va, re, ur, lv = inf["vagina"], inf["rectum"], inf["urethra"], inf["levator"]
        sr, s_arj = inf["rect_s"], inf["s_arj"]
        i_arj = int(np.argmin(np.abs(sr - s_arj)))
        sv = inf["vag_s"]
        kv = int(np.searchsorted(sv, min(32.0, sv[-1] * 0.4)))
        P.poly(np.vstack([x[va["a"][:kv + 1]], x[re["b"][:i_arj + 1]][::-1]]), MUSCLE)
        ca = x[re["a"][:i_arj + 2]]
        cb = x[re["b"][:i_arj + 2]]
        mid = 0.5 * (ca + cb)
        ua = ca - mid
        ua /= np.linalg.norm(ua, axis=1, keepdims=True) + 1e-9
        P.poly(np.vstack([ca + ua * self.eas_mm, (cb - ua * self.eas_mm)[::-1]]), MUSCLE)
        P.poly(x[lv["idx"]], MUSCLE)
        o, m = P.poly(x[ur["idx"]], URETHRA)
        P.line(0.5 * (x[ur["a"]] + x[ur["b"]]), 1.0, MUCOSA, within=(o, m))
        # bowel loops (moving)
        for b_ in inf["bowel"]:
            k = b_["k"]
            self._loop(P, x[b_["idx"]], self.uk[b_["name"]], self.level[b_["name"]], k, fit)
        for name in order:
            getattr(self, "_" + name)(P, x, fit, fit_full)
        # bones last
        sm = self.static_mask
        P.cls[sm] = self.static_cls[sm]
        P.lab[sm] = 0
        return P

    def _rectum(self, P, x, fit, fit_full):
        cv, inf = self.cv, self.info
        re = inf["rectum"]
        sr, s_arj = inf["rect_s"], inf["s_arj"]
        i_arj = int(np.argmin(np.abs(sr - s_arj)))
        # sigmoid + rectum: wall from the union, label from the rectum polygon only
        sg = inf["sigmoid"]
        rc_r = cv.rc(x[re["idx"]])
        rc_s = cv.rc(x[sg["idx"]])
        allrc = np.vstack([rc_r, rc_s])
        r0 = max(0, int(allrc[:, 0].min()) - 3)
        c0 = max(0, int(allrc[:, 1].min()) - 3)
        r1 = min(cv.H2, int(allrc[:, 0].max()) + 4)
        c1 = min(cv.W2, int(allrc[:, 1].max()) + 4)
        shp = (r1 - r0, c1 - c0)
        mr = np.zeros(shp, bool)
        ms = np.zeros(shp, bool)
        rr, cc = _scanfill(rc_r[:, 0] - r0, rc_r[:, 1] - c0, shp)
        mr[rr, cc] = True
        rr, cc = _scanfill(rc_s[:, 0] - r0, rc_s[:, 1] - c0, shp)
        ms[rr, cc] = True
        mr = _solid(mr)
        ms &= ~mr
        un = mr | ms
        d = P.edt((r0, c0), un)
        o = (r0, c0)
        k_r = re["k"]
        self._body_tex(P, o, un, k_r, fit)
        wall = un & (d <= self.wall_r)
        canal = np.zeros(shp, bool)
        ac = np.vstack([x[re["a"][:i_arj + 1]], x[re["b"][:i_arj + 1]][::-1]])
        rc_a = cv.rc(ac)
        rr, cc = _scanfill(rc_a[:, 0] - r0, rc_a[:, 1] - c0, shp)
        canal[rr, cc] = True
        opening = inf.get("opening_now", 0.0)
        lumen = un & ~wall
        if opening < 0.3:
            lumen &= ~canal
        cmap = {"gel": GEL, "feces": FECES, "gas": GAS, "empty": MUCOSA}
        v = np.full(shp, RECTWALL, np.uint8)
        v[lumen & mr] = cmap[self.content]
        v[lumen & ms] = cmap[self.sig_content]
        P.put(o, ms, v)
        P.put(o, mr, v, label=3)
        if opening < 0.3:
            mid = 0.5 * (x[re["a"][:i_arj + 1]] + x[re["b"][:i_arj + 1]])
            P.line(mid, 0.6, MUCOSA, within=(o, mr))

    def _bladder(self, P, x, fit, fit_full):
        bl = self.info["bladder"]
        o, m = P.poly(x[bl["idx"]], BLWALL, label=1, solid=True)
        if m.any():
            self._body_tex(P, o, m, bl["k"], fit)
            d = P.edt(o, m)
            P.put(o, m & (d > self.wall_b), URINE)

    def _vagina(self, P, x, fit, fit_full):
        va = self.info["vagina"]
        o, m = P.poly(x[va["idx"]], VAGWALL, label=2, solid=True)
        if m.any():
            self._body_tex(P, o, m, va["k"], fit)
            mid = 0.5 * (x[va["a"]] + x[va["b"]])
            if self.gel_v:
                d = P.edt(o, m)
                P.put(o, m & (d > self.wall_v), GEL)
            else:
                P.line(mid[1:], 0.7, VAGLUMEN, within=(o, m))

    def _uterus(self, P, x, fit, fit_full):
        ut = self.ut
        if ut is None:
            return
        k = ut["k"]
        o, m = P.poly(x[ut["idx"]], MYO, label=2, solid=True)
        if not m.any():
            return
        self._body_tex(P, o, m, k, fit)
        th, c, cr = fit_full
        rot = np.array([[math.cos(th[k]), -math.sin(th[k])], [math.sin(th[k]), math.cos(th[k])]])

        def tf(p):
            return (np.asarray(p) - cr[k]) @ rot.T + c[k]

        ui = self.ut_info
        cl, hw = ui["centerline"], ui["hw"]
        su = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(cl, axis=0), axis=1))])
        lcx = ui["lcx"]
        body = (su > lcx + 3) & (su < su[-1] - 0.45 * hw[-1])
        cerv = su <= lcx + 1
        within = (o, m)
        if body.sum() >= 2:
            if self.jz_mm > 0:
                P.line(tf(cl[body]), self.endo_mm + self.jz_mm, JZ, within=within)
            P.line(tf(cl[body]), max(self.endo_mm, 0.6), ENDO, within=within)
        if cerv.sum() >= 2:
            P.line(tf(cl[cerv]), max(2.0, float(np.mean(hw[cerv])) - 2.5), CXSTROMA,
                   within=within)
            P.line(tf(cl[cerv | (su < lcx + 4)]), 0.9, VAGLUMEN, within=within)
        for f in ui["fibroids"]:
            circ = _ellipse(tf(f["center"][None])[0], f["radius"], f["radius"] * 0.95, 0, 40)
            rc = self.cv.rc(circ)
            fo, fm = _pmask(rc, self.cv.H2, self.cv.W2)
            if fm.size:
                full = np.zeros_like(fm)
                r0, c0 = fo
                (wr, wc), wm = within
                rs = slice(max(r0, wr), min(r0 + fm.shape[0], wr + wm.shape[0]))
                cs = slice(max(c0, wc), min(c0 + fm.shape[1], wc + wm.shape[1]))
                if rs.start < rs.stop and cs.start < cs.stop:
                    full[rs.start - r0:rs.stop - r0, cs.start - c0:cs.stop - c0] = wm[
                        rs.start - wr:rs.stop - wr, cs.start - wc:cs.stop - wc]
                P.put(fo, fm & full, ENDO if f["degenerated"] else FIBROID)


# ----------------------------------------------------------------------------- imaging
def _levels(prm, rng):
    im = prm["imaging"]
    base = np.array(_LUT[im["family"]], float)
    lut = base * np.exp(rng.normal(0.0, im["level_jitter"], N_CLASSES))
    if im["fat_sat"]:
        lut[FAT] = base[FAT] * _u(rng, 0.04, 0.16)
        lut[MARROW] = base[MARROW] * _u(rng, 0.08, 0.25)
        lut[SKIN] *= _u(rng, 0.6, 0.9)
    if im["family"] == "t1_gre" and rng.random() < 0.4:
        lut[ARTERY] = _u(rng, 0.03, 0.15)  # no inflow enhancement
    if im["family"] == "haste" and rng.random() < 0.4:
        lut[VEIN] = _u(rng, 0.5, 0.8)      # slow venous flow bright
    lut[AIR] = 0.0
    return lut.astype(np.float32)


def _image2x(P, lut, prm, rng, cs_sub):
    """Ideal 2x image of one painted frame (float32)."""
    cls = P.cls
    img = lut[cls] * (1.0 + _TEX[cls] * P.tex)
    fec = cls == FECES
    if fec.any():
        img[fec & (P.tex > 1.4)] *= 0.12
    img[cls == AIR] = 0.0
    im = prm["imaging"]
    fat = (cls == FAT) | (cls == MARROW)
    if P.septa > 0:
        sf = cls == FAT
        img[sf] *= 1.0 - P.septa * np.exp(-(P.tex[sf] / 0.18) ** 2)
    if cs_sub:
        fat_img = np.where(fat, img, 0.0)
        axis = 1 if im["phase_axis"] == "rows" else 0
        shifted = np.roll(fat_img, cs_sub, axis=axis)
        img = np.where(fat, 0.0, img) + shifted
    if im["india_ink"]:
        water = ~fat & ~np.isin(cls, NO_WATER)
        edge = np.zeros_like(fat)
        for ax_ in (0, 1):
            f1, w1 = np.roll(fat, 1, ax_), np.roll(water, 1, ax_)
            edge |= (fat & w1) | (water & f1)
        img[edge] *= P.ink
    return np.maximum(img, 0.0).astype(np.float32)


def _down(img2):
    h, w = img2.shape
    return img2.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _down_labels(lab2):
    h, w = lab2.shape
    blk = lab2.reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).reshape(h // 2, w // 2, 4)
    counts = np.stack([(blk == k).sum(-1) for k in range(4)], -1).astype(np.float32)
    counts += np.array([0.0, 0.3, 0.2, 0.1], np.float32)  # ties go to an organ
    return np.argmax(counts, -1).astype(np.uint8)


_ORDERS = (("rectum", "bladder", "vagina", "uterus"), ("bladder", "rectum", "vagina", "uterus"),
           ("rectum", "vagina", "uterus", "bladder"), ("vagina", "uterus", "rectum", "bladder"),
           ("bladder", "vagina", "uterus", "rectum"), ("vagina", "uterus", "bladder", "rectum"))


def _connectivity(lab):
    """Smallest share of an organ's pixels in its largest 8-connected piece (0 if absent)."""
    worst = 1.0
    for k in (1, 2, 3):
        m = lab == k
        n = int(m.sum())
        if n == 0:
            return 0.0
        cc, nc = ndimage.label(m, structure=np.ones((3, 3)))
        if nc > 1:
            worst = min(worst, np.bincount(cc.ravel())[1:].max() / n)
    return worst


def _bias(shape, body, spacing, prm, rng):
    """Receive-coil sensitivity: anterior and posterior arrays plus a smooth field."""
    im = prm["imaging"]
    h, w = shape
    dr, dc = spacing
    cols = np.arange(w)[None, :]
    rows = np.arange(h)[:, None]
    anyb = body.any(1)
    first = np.where(anyb, body.argmax(1), w // 3)
    last = np.where(anyb, w - 1 - body[:, ::-1].argmax(1), 2 * w // 3)
    first = ndimage.gaussian_filter1d(first.astype(float), 6, mode="nearest")[:, None]
    last = ndimage.gaussian_filter1d(last.astype(float), 6, mode="nearest")[:, None]
    L = im["coil_falloff_mm"]
    a_ant, a_post = _u(rng, 0.4, 1.6), _u(rng, 0.4, 1.6)
    prof = (0.35 + a_ant * np.exp(-np.clip(cols - first, 0, None) * dc / L)
            + a_post * np.exp(-np.clip(last - cols, 0, None) * dc / L))
    yy, xx = rows / h - 0.5, cols / w - 0.5
    field = np.zeros((h, w))
    for _ in range(4):
        fx, fy = rng.uniform(0.3, 1.6, 2)
        field += rng.normal(0, 1) * np.cos(2 * math.pi * (fx * xx + rng.random())) * np.cos(
            2 * math.pi * (fy * yy + rng.random()))
    field *= im["bias_strength"] * 0.25
    vert = 1.0 + rng.uniform(-0.35, 0.35) * (rows / h - 0.5) * 2
    b = prof * np.exp(field) * vert
    b /= b[body].mean() if body.any() else b.mean()
    return b.astype(np.float32)


def _kspace(frames, im, ax_ph):
    """Finite k-space coverage: a raised-cosine window (partial truncation ringing) that is
    narrower in the phase direction, plus the single-shot T2 blur along phase."""
    t, h, w = frames.shape
    ky = np.fft.fftfreq(h)[:, None]
    kx = np.fft.fftfreq(w)[None, :]
    cut_ph, cut_ro = im["k_phase"], im["k_read"]
    kp, kr = (ky, kx) if ax_ph == 0 else (kx, ky)

    def win(k, cut):
        a = np.abs(k) / (0.5 * cut)
        return np.where(a < 0.8, 1.0, np.where(a < 1.0, 0.5 + 0.5 * np.cos(np.pi * (a - 0.8)
                                                                            / 0.2), 0.0))

    filt = win(kp, cut_ph) * win(kr, cut_ro)
    filt = filt * np.exp(-(2 * np.pi * kp) ** 2 * im["phase_blur_px"] ** 2 / 2)
    spec = np.fft.fft2(frames, axes=(1, 2)) * filt[None]
    return np.abs(np.fft.ifft2(spec, axes=(1, 2))).astype(np.float32)


def _banding(shape, rng):
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = h * _u(rng, 0.35, 0.65), w * _u(rng, 0.35, 0.65)
    r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (0.5 * max(h, w)) ** 2
    psi = _u(rng, 0.6, 2.2) * r2 + _u(rng, -0.3, 0.3) * (xx / w) + rng.random()
    fr = np.mod(psi, 1.0)
    return (1.0 - _u(rng, 0.5, 0.9) * np.exp(-((fr - 0.5) / _u(rng, 0.02, 0.05)) ** 2)
            ).astype(np.float32)


# ----------------------------------------------------------------------------- case
def _self_crossings(P):
    """Number of crossing pairs of non-adjacent edges of a closed polygon."""
    a = P
    b = np.roll(P, -1, axis=0)
    n = len(P)

    def orient(p, q, r):
        return np.sign((q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1])
                       - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0]))

    A, B, C, D = a[:, None], b[:, None], a[None], b[None]
    hit = (orient(A, B, C) * orient(A, B, D) < 0) & (orient(C, D, A) * orient(C, D, B) < 0)
    i, j = np.triu_indices(n, 2)
    keep = ~((i == 0) & (j == n - 1))
    return int(hit[i[keep], j[keep]].sum())


def _tangle_score(S, info, x):
    """Crossings of the organ outlines plus vertices inside other bodies."""
    n = 0
    only = set()
    for name in ("bladder", "uterus", "vagina", "rectum"):
        b = info[name]
        if b is not None:
            n += _self_crossings(x[b["idx"]])
            only.add(b["k"])
    return n + S.resolve(x.copy(), dry=True, only=only)


def _sdf(sc):
    m = _raster([p for _c, p, _b, o in sc["rigid"] if o])
    return ndimage.distance_transform_edt(~m) - ndimage.distance_transform_edt(m)


def _fit_view(prm, sc, S, info, rec, fov, rng):
    """Scale (<= body scale), tilt and translation so that bones and organs fit the FOV."""
    A = prm["anatomy"]
    names = ("bladder", "uterus", "vagina", "rectum", "urethra", "levator", "sigmoid")
    idx = np.concatenate([info[n]["idx"] for n in names if info[n] is not None])
    pts = [rec[::4, idx].reshape(-1, 2).astype(float)]
    lm = sc["lm"]
    for c, poly, bone, _o in sc["rigid"]:
        if bone and c == CORTEX and poly[:, 1].mean() > lm["prom"][1]:
            pts.append(poly)
    pts.append(lm["prom"][None] + np.array([[0.0, -12.0]]))
    pts = np.vstack(pts)
    wall = lm["wall_inner"]
    wall = wall[(wall[:, 1] > pts[:, 1].min()) & (wall[:, 1] < lm["e_sup"][1])]
    if len(wall):
        pts = np.vstack([pts, wall - np.array([A["rectus_mm"] + 4, 0])])
    tilt = A["tilt_deg"]
    a = math.radians(tilt)
    R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    q = pts @ R.T
    lo, hi = q.min(0), q.max(0)
    ext = hi - lo
    margin = 8.0
    fh, fw = fov
    s = min(A["body_scale"], (fw - 2 * margin) / ext[0], (fh - 2 * margin) / ext[1])
    slack = np.array([fw, fh]) - 2 * margin - s * ext
    off = rng.uniform(-0.5, 0.5, 2) * np.minimum(np.maximum(slack, 0), 60.0)
    return s, tilt, s * (lo + hi) / 2, off


def _decrowd(prm, attempt):
    """A copy of the parameters with a less crowded pelvis for retry ``attempt``."""
    p = json.loads(json.dumps(prm))
    if attempt:
        A, M = p["anatomy"], p["motion"]
        A["bladder_fill"] *= 0.7 ** attempt
        A["bladder_aspect"] = min(A["bladder_aspect"], 1.0)
        A["uterus_body_mm"] *= 0.92 ** attempt
        A["uterus_width_mm"] *= 0.92 ** attempt
        A["ampulla_half_mm"] *= 0.9 ** attempt
        M["strain_gain"] *= 0.85 ** attempt
    if attempt >= 3:  # conservative variant
        A["uterus_version"] = "none" if p["hysterectomy"] else "anteverted"
        A["bladder_fill"] = min(A["bladder_fill"], 0.3)
        A["ampulla_half_mm"] = min(A["ampulla_half_mm"], 11.0)
        A["n_fibroids"] = min(A["n_fibroids"], 1)
        A["vagina_bend_deg"] = min(A["vagina_bend_deg"], 15.0)
        M["rectocele"] *= 0.5
    p["retry"] = attempt
    return p


def generate(seed: int, matrix=None, n_frames=None):
    """One synthetic case: (CineSeries, truth (T, H, W) uint8, params dict)."""
    prm = sample_params(seed)
    h0, w0 = prm["matrix"]
    dr0, dc0 = prm["spacing_mm"]
    fov = (h0 * dr0, w0 * dc0)
    if matrix is None:
        H, W = h0, w0
    elif np.ndim(matrix) == 0:
        H = W = int(matrix)
    else:
        H, W = (int(v) for v in matrix)
    dr, dc = fov[0] / H, fov[1] / W
    M = prm["motion"]
    t0 = prm["n_frames"]
    T = t0 if n_frames is None else int(n_frames)
    im = prm["imaging"]
    rng_img = np.random.default_rng([int(seed), 3])
    rng_noise = np.random.default_rng([int(seed), 4])
    duration = t0 * M["frame_interval_s"]
    times = np.arange(T) * (duration / T)
    # simulate; if organs got tangled (crowded pelvis), retry a less crowded variant
    best = None
    attempt = 0
    while attempt < 4:
        p_try = _decrowd(prm, attempt)
        rng_geo = np.random.default_rng([int(seed), 2, attempt])
        sc = _build(p_try, rng_geo)
        S, info = _make_system(sc, p_try, rng_geo)
        S.set_sdf(_sdf(sc), _GRID0, 1.0)
        rec, t_sub, spf, cv_ = _simulate(S, info, p_try, sc)
        step = max(1, (len(rec) - 1) // t0)
        score = max(_tangle_score(S, info, rec[j].astype(float))
                    for j in range(0, len(rec), step))
        if best is None or score < best[0]:
            best = (score, p_try, sc, S, info, rec, t_sub, spf, cv_, attempt)
        if score <= 12:
            break
        attempt = 3 if (score > 40 and attempt < 3) else attempt + 1
    score, prm, sc, S, info, rec, t_sub, spf, cv_, attempt = best
    M = prm["motion"]
    h_sub = t_sub[1] - t_sub[0]
    jf = np.clip(np.round(times / h_sub).astype(int), 0, len(rec) - 1)

    s, tilt, cq, off = _fit_view(prm, sc, S, info, rec, fov, rng_img)
    fov_c = np.array([(W - 1) * dc / 2, (H - 1) * dr / 2])
    t_mm = fov_c - cq + off
    ext_r = ext_c = 0
    if im["wrap"]:
        e = int(round(im["wrap_fraction"] * (H if im["phase_axis"] == "rows" else W)))
        if im["phase_axis"] == "rows":
            ext_r = e
        else:
            ext_c = e
    cv = _Canvas((H, W), (dr, dc), s, tilt, (0.0, 0.0), t_mm, ext_r, ext_c)
    R = _Renderer(prm, sc, S, info, rec[0].astype(float), cv, rng_img)
    lut = _levels(prm, rng_img)
    ink = _u(rng_img, 0.05, 0.3)
    septa = _u(rng_img, 0.0, 0.3)
    cs_sub = int(round(2 * im["chemical_shift_px"]))
    acq = min(im["acq_time_s"], duration / T)
    dj = max(1, int(round(acq / 2 / h_sub)))
    ref = rec[0].astype(float)
    rest_full = S.xfull
    he, we = H + 2 * ext_r, W + 2 * ext_c
    ideal = np.zeros((T, he, we), np.float32)
    truth = np.zeros((T, H, W), np.uint8)
    body_mask = None
    organ_idx = np.concatenate([info[n]["idx"] for n in ("bladder", "vagina", "rectum")])
    n_blur = 0
    for k in range(T):
        j = int(jf[k])
        subs = [j]
        lo, hi = max(0, j - dj), min(len(rec) - 1, j + dj)
        if np.abs(rec[hi, organ_idx] - rec[lo, organ_idx]).max() * s > 2.5:
            subs = [lo, j, hi]
            n_blur += 1
        def paint(jj, order):
            x = rec[jj].astype(float)
            info["opening_now"] = float(cv_["opening"][jj])
            P = R.frame(x, float(cv_["breath"][jj]), S.rigid_fit(x, ref),
                        S.rigid_fit(x, rest_full), order)
            P.ink, P.septa = ink, septa
            return P

        best = None
        # painter's order of the organs, then (rarely) a neighbouring substep within the
        # acquisition window, until every organ is one piece at this resolution
        tries = [(0, o) for o in _ORDERS] + [(d, o) for d in (-1, 1, -2, 2, -3, 3)
                                             for o in _ORDERS[:2]]
        for dj_, order in tries:
            jj = int(np.clip(j + dj_, 0, len(rec) - 1))
            P = paint(jj, order)
            lab = _down_labels(P.lab)[ext_r:ext_r + H, ext_c:ext_c + W]
            conn = _connectivity(lab)
            if best is None or conn > best[0]:
                best = (conn, order, P, lab, jj)
            if conn >= 0.995:
                break
        _, order, P, lab, j = best
        subs = [max(0, j - dj), j, min(len(rec) - 1, j + dj)] if len(subs) == 3 else [j]
        acc = _image2x(P, lut, prm, rng_img, cs_sub)
        if body_mask is None:
            body_mask = _down((P.cls != AIR).astype(np.float32)) > 0.5
        for jj in subs:
            if jj != j:
                acc = acc + _image2x(paint(jj, order), lut, prm, rng_img, cs_sub)
        ideal[k] = _down(acc / len(subs))
        truth[k] = lab

    # acquisition: blur, banding, bias, wrap-around, ghosting, noise, scale
    ax_ph = 0 if im["phase_axis"] == "rows" else 1
    frames = _kspace(ideal, im, ax_ph)
    if im["banding"]:
        frames = frames * _banding((he, we), rng_img)[None]
    frames = frames * _bias((he, we), body_mask, (dr, dc), prm, rng_img)[None]
    if ext_r or ext_c:
        core = frames[:, ext_r:ext_r + H, ext_c:ext_c + W].copy()
        if ext_r:
            core[:, H - ext_r:] += frames[:, :ext_r]
            core[:, :ext_r] += frames[:, ext_r + H:]
        else:
            core[:, :, W - ext_c:] += frames[:, :, :ext_c]
            core[:, :, :ext_c] += frames[:, :, ext_c + W:]
        frames = core
        body_mask = body_mask[ext_r:ext_r + H, ext_c:ext_c + W]
    if im["ghost"] > 0:
        n_ph = frames.shape[1 + ax_ph]
        frames = frames + im["ghost"] * np.roll(frames, n_ph // 2, axis=1 + ax_ph)
    sig = float(frames[:, body_mask].mean()) if body_mask.any() else float(frames.mean())
    sigma = sig / im["snr"]
    df = 2 * im["coils"] - 1
    n1 = rng_noise.standard_normal(frames.shape).astype(np.float32)
    chi = rng_noise.chisquare(df, frames.shape).astype(np.float32)
    frames = np.sqrt((frames + sigma * n1) ** 2 + sigma ** 2 * chi)
    frames = frames / max(float(np.percentile(frames, 99.5)), 1e-6) * im["scale"]
    if im["integer_like"]:
        frames = np.round(frames)
    frames = frames.astype(np.float32)

    series = CineSeries(frames=frames, spacing_mm=(dr, dc), times_s=times)
    desc = f"{GENERATOR} dyn sag {_DESCRIPTION[im['family']]}{' fs' if im['fat_sat'] else ''}"
    series.meta.update(series_description=desc, subject_id=f"{GENERATOR}_{int(seed):03d}",
                       orientation="sagittal (canonical)", format="synthetic")
    params = dict(prm)
    params.update(matrix=[H, W], spacing_mm=[dr, dc], n_frames=T,
                  fov_mm=[fov[0], fov[1]], frame_interval_s=float(duration / T),
                  view={"scale": s, "tilt_deg": tilt, "offset_mm": [float(v) for v in off]},
                  simulation={"substeps": int(len(rec) - 1), "substeps_per_frame": spf,
                              "attempt": int(attempt), "tangle_score": int(score),
                              "vertices": int(S.n), "bodies": [b["name"] for b in S.bodies],
                              "blurred_frames": n_blur},
                  organs=list(ORGANS))
    params["imaging"] = dict(im, levels={str(k): float(v) for k, v in enumerate(lut)})
    return series, truth, _jsonable(params)


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return o


def write_case(job) -> str:
    """Write one case folder (DICOM series, truth.npy, params.json); return a summary."""
    seed, out = job
    series, truth, params = generate(int(seed))
    case_dir = Path(out) / f"{GENERATOR}_{int(seed):03d}"
    case_dir.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case_dir / "series", seed=int(seed),
                       patient_name=f"{GENERATOR.upper()}^{int(seed):03d}",
                       patient_id=f"{GENERATOR}_{int(seed):03d}",
                       slice_thickness_mm=float(params["imaging"]["slice_mm"]))
    np.save(case_dir / "truth.npy", truth)
    (case_dir / "params.json").write_text(json.dumps(params, indent=1))
    h, w = truth.shape[1:]
    return (f"{case_dir.name}: {truth.shape[0]} frames {h}x{w} "
            f"{params['imaging']['sequence']} {params['motion']['maneuver']}"
            f"{' hysterectomy' if params['hysterectomy'] else ''}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="2000-2029", help='e.g. "2000-2029" or "1,5,7"')
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(s, args.out) for s in parse_seeds(args.seeds)]
    for line in map_jobs(write_case, jobs, args.workers):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
