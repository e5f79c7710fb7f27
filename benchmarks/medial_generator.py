"""Medial-representation phantom: labelled synthetic cine mid-sagittal female pelvic MRI.

Every case is one thick sagittal slice through the female pelvis imaged repeatedly while the
simulated patient rests, squeezes, strains, coughs or evacuates.  Rows run head to feet and
columns anterior to posterior.  Labels: 1 bladder (urine and wall), 2 uterus and vagina
(myometrium, endometrium, cervix, fibroids, gestational sac; vaginal wall, lumen and gel),
3 rectum (wall, content and anal canal with its internal sphincter).  Everything else is 0:
bones, muscles (levator, external sphincter), fat, urethra, bowel loops, sigmoid, vessels.

Anatomy, in millimetres of a "pelvis frame" (origin at the inferior margin of the pubic
symphysis, x posterior, y caudal), scaled per case:

* Organs are medial objects: a spline skeleton, a radius function on each side of it and
  low-order Fourier modes perturbing the radii.  A pixel's nearest skeleton point gives its
  medial coordinates (u along the axis, signed normal distance n); the organ is where |n| is
  below the radius of that side, and inner layers are bands in (u, n): detrusor, endometrium,
  junctional zone, cervical canal and stroma, vaginal mucosa and lumen, rectal mucosa,
  muscularis and content, internal sphincter.  Bladder: a sac from the bladder neck whose
  length and width follow the fill fraction (volume 40-500 ml), kept behind the symphysis and
  abdominal wall.  Uterus: cervix plus body turned by version and flexion angles from the
  vaginal vault (anteverted/anteflexed, retroverted, upright, atrophic, enlarged - gravid-like
  with a sac, adenomyosis with a thick junctional zone, or myomatous - or absent after
  hysterectomy, the vagina then ending in a closed vault); it is turned back until it rests
  on, not in, a full bladder; fibroids are discs fixed in the uterus' medial coordinates.
  Vagina: a flattened tube, lumen collapsed (mucus line) or distended by gel.  Rectum:
  rectosigmoid to anal verge, bent at the anorectal junction by the anorectal angle, resting
  on the sacrum, coccyx and levator plate; content empty, gas, stool (mottled, bubbles) or
  ultrasound gel (optionally doped, bright on T1); gas floats to the non-dependent side.  The
  urethra and herniated bowel (enterocele, sigmoidocele) are unlabelled medial objects.
* Overlapping objects share space by their depth below the surface times a stiffness (a stiff
  uterus indents a soft bladder, a thin seam of the tissue behind shows at contacts).  The
  thin vagina is pushed out of the bladder, urethra, rectum and hernia sac and thinned where
  squeezed, never cut.  Each label is kept as one connected piece.
* Slab partial volume: each object has a lateral half-width; at the slab's offset from the
  midline and across its thickness its section narrows (ellipsoidal cross-section), edges are
  averaged over three depths in the slab.
* The rest of the body is painted once on a fine grid: skin and subcutaneous fat (thin to
  obese, pannus), rectus abdominis or linea alba, pelvic fat with strands, pubic symphysis
  (fibrocartilage at the midline, marrow off it), lumbar vertebrae, sacrum and coccyx
  (marrow, discs, canal with CSF, spinous processes or laminae and multifidus off-midline),
  levator plate, puborectalis, external anal sphincter, perineal body, anococcygeal ligament,
  iliac and dorsal vessels, small-bowel loops and sigmoid packed around the organs (fluid,
  chyme, collapsed, gas with levels, stool), mesenteric vessels, optional ovary with follicles,
  free fluid in the pouch of Douglas, the medial thighs.

Dynamics: a strain curve per frame (rest, squeeze, Valsalva, defecation with evacuation of the
rectal content and opening of the anal canal, cough spikes) moves control points at the
bladder neck, cervix or vault, anorectal junction and perineum; the skeletons follow
(displacement blended along each axis, the uterus rotates, the anal canal turns about the
anorectal junction opening or closing the anorectal angle, radii shrink when a skeleton
stretches to keep the area).  Pathology: cystocele (bladder base bulges down and back into the
vagina), rectocele (anterior bulge pushing the vagina), enterocele/sigmoidocele (a bowel sac
sliding into the rectovaginal space), intussusception (infolding rectal wall), uterine or
vault prolapse (vagina shortens and thickens), levator ballooning (deep descent, thin
levator).  The background follows a smooth displacement field interpolated from skeleton and
boundary displacements with Gaussian weights that decay away from the organs and vanish on the
bones and the back; plus breathing, abdominal bulging when straining and small rigid motion
(mean-reverting jitter, rare jumps).  Supine or seated (open upright low-field scanner:
organs lower at rest, pelvis tilted back, gas rises cranially).

Imaging: proton density, T1 (field dependent), T2 and T2* per tissue at 0.55, 1.5 or 3 T
through single-shot fast spin echo (HASTE-like: long TE with a restore pulse, echo-train T2
blurring along the phase axis, partial Fourier without homodyne), balanced SSFP (T2/T1
contrast, off-resonance banding) or spoiled gradient echo (T1, inflow-bright vessels,
intravoxel dephasing at gas).  Off-resonance from air and gas (2D dipole kernel, shimmed with
a quadratic fit) shifts pixels along the readout (labels are shifted with them) and the fat
image by the chemical shift; optional fat suppression failing off resonance; anterior and
posterior surface-coil arrays (optionally intensity-normalised, which amplifies central
noise), dielectric shading at 3 T, smooth image phase, occasional respiratory ghosts of the
abdominal wall; k-space truncated to the acquired matrix and zero filled (Gibbs ringing, mild
apodisation), Cartesian or real-time radial (golden-angle spokes, streaks) or spiral
(interleaves, swirls) undersampling; complex Gaussian noise added in k-space, magnitude
images (Rician).  ``snr`` is the mean signal of the body in the first frame over the noise
standard deviation per channel.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.interpolate import CubicSpline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.seeds import map_jobs, parse_seeds  # noqa: E402

PREFIX = "medial"
LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}

# ----------------------------------------------------------------------------------------
# tissues: proton density, T1 at 1.5 T (ms), exponent of T1 on field strength, T2 (ms),
# T2* (ms), fat fraction
# ----------------------------------------------------------------------------------------
_TISSUE = {
    "air": (0.0, 1000, 0.0, 1, 1, 0.0),
    "fat": (1.0, 290, 0.3, 150, 35, 1.0),  # J-coupling: fat stays bright in fast spin echo
    "pelvic_fat": (0.95, 900, 0.35, 60, 25, 0.8),
    "muscle": (0.78, 1000, 0.4, 38, 25, 0.0),
    "skin": (0.72, 900, 0.35, 30, 15, 0.15),
    "cortex": (0.05, 1000, 0.2, 5, 1, 0.0),
    "marrow": (0.9, 650, 0.3, 55, 10, 0.6),
    "disc": (0.88, 1100, 0.35, 95, 40, 0.0),
    "disc_old": (0.8, 1000, 0.35, 45, 25, 0.0),
    "csf": (1.0, 3800, 0.08, 1800, 200, 0.0),
    "cartilage": (0.7, 1000, 0.35, 35, 20, 0.0),
    "fibrous": (0.5, 900, 0.35, 22, 10, 0.0),
    "vessel": (0.95, 1550, 0.25, 250, 60, 0.0),
    "bowel_wall": (0.82, 1050, 0.35, 60, 30, 0.0),
    "bowel_fluid": (1.0, 2800, 0.1, 700, 150, 0.0),
    "chyme": (0.85, 1300, 0.3, 110, 40, 0.0),
    "stool": (0.72, 700, 0.3, 65, 15, 0.05),
    "fluid": (1.0, 3000, 0.08, 1200, 200, 0.0),
    "ovary": (0.86, 1100, 0.35, 85, 40, 0.0),
    "perineal": (0.76, 1000, 0.4, 45, 25, 0.0),
    "urine": (1.0, 3000, 0.08, 1500, 250, 0.0),
    "detrusor": (0.8, 1000, 0.4, 48, 30, 0.0),
    "myometrium": (0.86, 1300, 0.35, 100, 45, 0.0),
    "myometrium_old": (0.82, 1150, 0.35, 70, 35, 0.0),
    "junctional": (0.8, 1100, 0.35, 50, 30, 0.0),
    "endometrium": (0.92, 1350, 0.3, 160, 60, 0.0),
    "cervix_stroma": (0.78, 1100, 0.35, 52, 30, 0.0),
    "mucus": (1.0, 2400, 0.1, 450, 100, 0.0),
    "fibroid": (0.8, 1100, 0.35, 40, 25, 0.0),
    "degenerate": (0.95, 1800, 0.2, 260, 60, 0.0),
    "vagina_wall": (0.8, 1100, 0.35, 56, 30, 0.0),
    "vagina_mucosa": (0.86, 1250, 0.35, 95, 40, 0.0),
    "gel": (1.0, 2800, 0.08, 1000, 150, 0.0),
    "gel_doped": (1.0, 260, 0.05, 200, 60, 0.0),
    "rectal_mucosa": (0.86, 1200, 0.35, 85, 35, 0.0),
    "rectal_muscle": (0.8, 1000, 0.4, 44, 25, 0.0),
    "anal_sphincter": (0.8, 1050, 0.4, 55, 28, 0.0),
    "urethra_muscle": (0.78, 1000, 0.4, 40, 25, 0.0),
    "urethra_submucosa": (0.88, 1300, 0.3, 120, 45, 0.0),
    "gas": (0.0, 1000, 0.0, 1, 1, 0.0),
}
_TNAMES = list(_TISSUE)
_TID = {name: i for i, name in enumerate(_TNAMES)}
_GAS_TISSUES = ("air", "gas")


def _sequence_signal(img: dict, pd, t1, t2, t2s):
    """Steady-state signal of the case's sequence (arrays or scalars)."""
    seq = img["sequence"]
    t1 = np.maximum(t1, 1.0)
    t2 = np.maximum(t2, 0.5)
    if seq == "haste":
        # single shot with a restore (driven equilibrium) pulse at the end of the echo train:
        # long-T2 magnetisation is flipped back, so fluid is not saturated by the short TR
        restore = np.exp(-2.5 * img["te_ms"] / t2)
        sat = 1 - np.exp(-img["tr_ms"] / t1) * (1 - restore)
        return pd * sat * np.exp(-img["te_ms"] / t2)
    a = np.deg2rad(img["flip_deg"])
    e1 = np.exp(-img["tr_ms"] / t1)
    if seq == "bssfp":
        e2 = np.exp(-img["tr_ms"] / t2)
        ss = np.sin(a) * (1 - e1) / (1 - (e1 - e2) * np.cos(a) - e1 * e2)
        return pd * ss * np.exp(-img["te_ms"] / t2)
    ss = np.sin(a) * (1 - e1) / (1 - np.cos(a) * e1)
    return pd * ss * np.exp(-img["te_ms"] / np.maximum(t2s, 0.5))


def _signal_table(img: dict, doped_gel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Water and fat signal of every tissue (arrays indexed by tissue id), max about 1."""
    b = img["field_strength_T"]
    fpd, ft1, fex, ft2, ft2s, _ = _TISSUE["fat"]
    fat = float(_sequence_signal(img, fpd, ft1 * (b / 1.5) ** fex, ft2, ft2s))
    sw = np.zeros(len(_TNAMES))
    sf = np.zeros(len(_TNAMES))
    for i, name in enumerate(_TNAMES):
        pd, t1, ex, t2, t2s, ff = _TISSUE[name]
        if name == "gel" and doped_gel:
            pd, t1, ex, t2, t2s, ff = _TISSUE["gel_doped"]
        t2 = t2 * (0.9 if b >= 3 else 1.0)
        w = float(_sequence_signal(img, pd, t1 * (b / 1.5) ** ex, t2, t2s))
        if name == "vessel":  # flowing blood
            if img["sequence"] == "haste":
                w = 0.03
            elif img["sequence"] == "t1":
                w = -1.0  # inflow: set below relative to fat
        sw[i] = (1 - ff) * w
        sf[i] = ff * fat
    if img["sequence"] == "t1":
        sw[_TID["vessel"]] = 0.9 * fat
    scale = max(sw.max(), sf.max(), 1e-6)
    return sw / scale, sf / scale


# ----------------------------------------------------------------------------------------
# geometry helpers
# ----------------------------------------------------------------------------------------
def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _rot(v, deg: float) -> np.ndarray:
    """Rotate 2-vectors (x, y) by deg; positive turns clockwise on screen (x right, y down)."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    v = np.asarray(v, float)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], -1)


def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _resample(ctrl, n: int) -> np.ndarray:
    """Cubic spline through control points, n points evenly spaced in arc length."""
    ctrl = np.asarray(ctrl, float)
    d = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(ctrl, axis=0), axis=1))])
    keep = np.concatenate([[True], np.diff(d) > 1e-6])
    ctrl, d = ctrl[keep], d[keep]
    if len(ctrl) < 3:
        pts = ctrl[0] + np.linspace(0, 1, 8 * n)[:, None] * (ctrl[-1] - ctrl[0])
    else:
        pts = CubicSpline(d, ctrl, bc_type="natural")(np.linspace(0, d[-1], 8 * n))
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    q = np.linspace(0, s[-1], n)
    return np.stack([np.interp(q, s, pts[:, 0]), np.interp(q, s, pts[:, 1])], -1)


def _normals(skel: np.ndarray) -> np.ndarray:
    """Unit normals on the + side, (-t_y, t_x) of the unit tangent."""
    t = np.gradient(skel, axis=0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
    return np.stack([-t[:, 1], t[:, 0]], -1)


def _arclen(skel: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(skel, axis=0), axis=1).sum())


def _medial(px: np.ndarray, py: np.ndarray, skel: np.ndarray):
    """Medial coordinates of points (px, py) with respect to the polyline skel (N, 2).

    Returns u (arc-length fraction of the nearest skeleton point), signed normal distance
    n (positive on the side of (-t_y, t_x)) and the unsigned distance.
    """
    sk = skel.astype(np.float32)
    a = sk[:-1]
    ab = sk[1:] - a
    l2 = np.maximum((ab * ab).sum(1), 1e-6)
    dx = px[:, None] - a[:, 0]
    dy = py[:, None] - a[:, 1]
    t = (dx * ab[:, 0] + dy * ab[:, 1]) / l2
    np.clip(t, 0.0, 1.0, out=t)
    ex = dx - t * ab[:, 0]
    ey = dy - t * ab[:, 1]
    d2 = ex * ex + ey * ey
    k = d2.argmin(1)
    idx = np.arange(px.size)
    seg = np.sqrt(l2)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    u = (cum[k] + t[idx, k] * seg[k]) / cum[-1]
    cross = ab[k, 0] * dy[idx, k] - ab[k, 1] * dx[idx, k]
    dist = np.sqrt(d2[idx, k])
    return u.astype(np.float32), np.where(cross >= 0, dist, -dist), dist


def _poly_dist(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of points (M, 2) to a polyline."""
    return _medial(points[:, 0].astype(np.float32), points[:, 1].astype(np.float32), line)[2]


def _fourier(rng, n_modes: int = 3, amp: float = 0.06) -> list:
    return [[float(rng.normal(0, amp / (k + 1))), float(rng.uniform(0, 2 * np.pi))]
            for k in range(n_modes)]


def _apply_fourier(u: np.ndarray, modes: list) -> np.ndarray:
    f = np.ones_like(u)
    for k, (a, ph) in enumerate(modes):
        f += a * np.cos(np.pi * (k + 1) * u + ph)
    return np.clip(f, 0.6, 1.4)


# ----------------------------------------------------------------------------------------
# random case parameters
# ----------------------------------------------------------------------------------------
_MANOEUVRES = ("valsalva", "defecation", "squeeze_valsalva", "squeeze", "cough")


def _segment(t0, ramp, hold, release, amp) -> dict:
    return {"t0": float(t0), "ramp": float(ramp), "hold": float(hold),
            "release": float(release), "amp": float(amp)}


def _schedule(manoeuvre: str, n: int, dt: float, rng) -> dict:
    """Strain segments (seconds) of one manoeuvre, evacuation window and cough frames."""
    total = n * dt
    rest = max(1.6 * dt, rng.uniform(0.08, 0.2) * total)
    segs: list[dict] = []
    evac = None
    coughs: list[int] = []

    def push(t0, amp, hold_frac):
        ramp = max(dt, rng.uniform(1.2, 3.0))
        hold = max(dt, hold_frac * total)
        rel = max(dt, rng.uniform(1.0, 2.5))
        segs.append(_segment(t0, ramp, hold, rel, amp))
        return t0 + ramp + hold + rel

    if manoeuvre in ("valsalva", "squeeze"):
        sign = 1.0 if manoeuvre == "valsalva" else -1.0
        end = push(rest, sign * rng.uniform(0.85, 1.1), rng.uniform(0.25, 0.4))
        if total - end > 0.3 * total and rng.random() < 0.6:
            push(end + rng.uniform(0.04, 0.1) * total, sign * rng.uniform(0.6, 1.0),
                 rng.uniform(0.1, 0.18))
    elif manoeuvre == "squeeze_valsalva":
        end = push(rest, -rng.uniform(0.8, 1.1), rng.uniform(0.12, 0.2))
        push(max(end + dt, 0.5 * total), rng.uniform(0.85, 1.1), rng.uniform(0.15, 0.25))
    elif manoeuvre == "defecation":
        ramp = max(dt, rng.uniform(2.0, 4.0))
        hold = max(2 * dt, rng.uniform(0.55, 0.75) * total - ramp)
        segs.append(_segment(rest, ramp, hold, max(dt, rng.uniform(1.5, 3.0)),
                             rng.uniform(0.85, 1.15)))
        e0 = rest + 0.6 * ramp
        evac = {"t0": float(e0), "t1": float(e0 + rng.uniform(0.4, 0.8) * hold),
                "residual": float(rng.uniform(0.1, 0.6))}
    else:  # cough: single-frame spikes, sometimes on top of a weak strain
        first = int(np.ceil(rest / dt)) + 1
        cand = list(range(first, n))
        rng.shuffle(cand)
        for f in cand:
            if all(abs(f - c) >= 3 for c in coughs):
                coughs.append(int(f))
            if len(coughs) >= int(rng.integers(2, 5)):
                break
        coughs.sort()
        for f in coughs:
            segs.append(_segment(f * dt - 0.4, 0.3, 0.2, 0.4, rng.uniform(0.6, 1.0)))
    return {"segments": segs, "evacuation": evac, "cough_frames": coughs,
            "tremor": [float(rng.uniform(0.0, 0.05)), float(rng.uniform(1.2, 2.5)),
                       float(rng.uniform(0, 2 * np.pi))]}


def _pick(rng, options: dict) -> str:
    names = list(options)
    p = np.array([options[k] for k in names], float)
    return str(names[int(rng.choice(len(names), p=p / p.sum()))])


def draw_params(seed: int) -> dict:
    """All random parameters of case ``seed`` (JSON-serialisable)."""
    rng = np.random.default_rng([int(seed), 0x6D656469])

    def uni(a, b):
        return float(rng.uniform(a, b))

    # --- scanner and sequence --------------------------------------------------------
    field_t = float(_pick(rng, {"0.55": 0.2, "1.5": 0.55, "3": 0.25}))
    position = "seated" if field_t < 1 and rng.random() < 0.45 else "supine"
    sequence = _pick(rng, {"haste": 0.55, "bssfp": 0.35, "t1": 0.10})
    readout = "cartesian"
    if sequence != "haste" and rng.random() < 0.3:
        readout = _pick(rng, {"radial": 0.6, "spiral": 0.4})
    h = int(rng.integers(80, 161)) * 2
    sr = uni(max(0.8, 240 / h), min(2.0, 400 / h))
    sc = float(np.clip(sr * uni(0.85, 1.2), 0.8, 2.0))
    fov_c = float(np.clip(h * sr * uni(0.85, 1.1), 240, 400))
    w = int(np.clip(round(fov_c / sc / 2) * 2, 160, 320))
    n_frames = int(rng.integers(12, 41))
    if sequence == "haste":
        dt = uni(0.8, 2.0)
    elif readout == "cartesian":
        dt = uni(0.5, 1.5)
    else:
        dt = uni(0.5, 1.0)
    pe = "AP" if rng.random() < 0.6 else "HF"
    n_pe = h if pe == "HF" else w
    n_ro = w if pe == "HF" else h
    fov_pe = n_pe * (sr if pe == "HF" else sc)
    fov_ro = n_ro * (sc if pe == "HF" else sr)
    acq_pe = int(np.clip(round(fov_pe / uni(1.3, 2.4)), 96, n_pe))
    acq_ro = int(np.clip(round(fov_ro / uni(0.9, 1.8)), 112, n_ro))
    snr = {0.55: uni(7, 14), 1.5: uni(12, 30), 3.0: uni(18, 40)}[field_t]
    thickness = uni(5, 10)
    snr *= (thickness / 6.0) ** 0.5 * (0.8 if readout != "cartesian" else 1.0)
    r = rng.random()
    off = uni(0, 3) if r < 0.5 else (uni(3, 8) if r < 0.85 else uni(8, 15))
    off *= 1 if rng.random() < 0.5 else -1
    imaging = {
        "sequence": sequence,
        "contrast": {"haste": "T2", "bssfp": "T2/T1", "t1": "T1"}[sequence],
        "field_strength_T": field_t,
        "slice_thickness_mm": thickness,
        "slice_offset_mm": off,
        "readout": readout,
        "phase_encode": pe,
        "acquired_matrix": [acq_ro, acq_pe],
        "b0_axis": "HF" if position == "supine" else "AP",
        "apodization": uni(0.0, 0.35),
        "gain": uni(300, 3000),
        "f0_offset_hz": uni(-30, 30) * field_t / 1.5,
        "shim_residual": uni(0.5, 1.5),
        "phase_poly": [uni(-1.2, 1.2) for _ in range(4)],
    }
    if sequence == "haste":
        imaging.update(te_ms=uni(70, 110), tr_ms=uni(1500, 4000), flip_deg=90.0,
                       echo_spacing_ms=uni(3.5, 5.5), partial_fourier=uni(0.55, 0.68),
                       t2_blur_ms=uni(160, 320), bandwidth_hz_px=uni(400, 800))
    elif sequence == "bssfp":
        imaging.update(tr_ms=uni(3.0, 4.6), flip_deg=uni(35, 70), partial_fourier=1.0,
                       bandwidth_hz_px=uni(700, 1200))
        imaging["te_ms"] = imaging["tr_ms"] / 2
    else:
        imaging.update(tr_ms=uni(3.5, 7.0), te_ms=uni(1.2, 2.6), flip_deg=uni(8, 25),
                       partial_fourier=1.0 if rng.random() < 0.6 else uni(0.62, 0.8),
                       bandwidth_hz_px=uni(250, 600))
    if readout == "radial":
        imaging["spokes"] = int(rng.integers(24, 97))
    elif readout == "spiral":
        imaging["interleaves"] = int(rng.integers(4, 13))
        imaging["spiral_undersampling"] = uni(1.2, 2.2)
    fs_p = {"haste": 0.2, "bssfp": 0.1, "t1": 0.35}[sequence]
    imaging["fat_suppression"] = bool(rng.random() < fs_p)
    imaging["fat_suppression_residual"] = uni(0.04, 0.15)
    imaging["chemical_shift_sign"] = 1.0 if rng.random() < 0.5 else -1.0
    imaging["coil"] = {
        "anterior": int(rng.integers(2, 5)), "posterior": int(rng.integers(2, 5)),
        "element_mm": uni(60, 110), "gap_mm": uni(8, 30),
        "weights": [uni(0.75, 1.25) for _ in range(8)],
        "normalized": bool(rng.random() < 0.6), "normalize_power": uni(0.6, 1.0),
    }
    b1_amp = {0.55: 0.0, 1.5: uni(-0.08, 0.08), 3.0: uni(-0.35, 0.2)}[field_t]
    imaging["b1_shading"] = {"amplitude": b1_amp, "sigma_mm": uni(45, 90),
                             "centre_mm": [uni(-30, 30), uni(-30, 30)]}
    imaging["ghosting"] = None
    if rng.random() < 0.1:
        imaging["ghosting"] = {"amplitude": uni(0.05, 0.16), "shift_frac": uni(0.12, 0.4)}

    # --- anatomy -------------------------------------------------------------------------
    age = "postmenopausal" if rng.random() < 0.3 else "premenopausal"
    if age == "premenopausal":
        state = _pick(rng, {"anteverted": 0.55, "retroverted": 0.14, "upright": 0.1,
                            "enlarged": 0.08, "absent": 0.13})
    else:
        state = _pick(rng, {"atrophic": 0.55, "absent": 0.25, "anteverted": 0.12,
                            "retroverted": 0.08})
    ut: dict = {"state": state}
    if state != "absent":
        if state == "atrophic":
            ut.update(version_deg=uni(10, 80), flexion_deg=uni(-10, 20),
                      cervix_len_mm=uni(15, 24), cervix_r_mm=uni(8, 11),
                      body_len_mm=uni(24, 40), body_r_mm=uni(9, 14),
                      endometrium_mm=uni(0.4, 1.4), junctional_mm=0.0)
        else:
            ut.update(cervix_len_mm=uni(22, 32), cervix_r_mm=uni(11, 15),
                      body_len_mm=uni(42, 60), body_r_mm=uni(16, 23),
                      endometrium_mm=uni(1.5, 6.0) if age == "premenopausal" else uni(0.5, 1.5),
                      junctional_mm=uni(3, 7) if age == "premenopausal" else 0.0)
            if state == "anteverted":
                ut.update(version_deg=uni(60, 100), flexion_deg=uni(5, 40))
            elif state == "retroverted":
                ut.update(version_deg=uni(-60, -20), flexion_deg=uni(-40, 5))
            elif state == "upright":
                ut.update(version_deg=uni(10, 35), flexion_deg=uni(-10, 15))
            else:
                ut.update(version_deg=uni(30, 80), flexion_deg=uni(-5, 25),
                          body_len_mm=uni(75, 115), body_r_mm=uni(28, 42),
                          subtype=_pick(rng, {"gravid": 0.35, "adenomyosis": 0.35,
                                              "myomatous": 0.3}))
                if ut["subtype"] == "adenomyosis":
                    ut["junctional_mm"] = uni(12, 18)
                if ut["subtype"] == "gravid":
                    ut["sac_mm"] = uni(14, 28)
        fibroids = []
        n_fib = 0
        if ut.get("subtype") == "myomatous":
            n_fib = int(rng.integers(2, 5))
        elif age == "premenopausal" and rng.random() < 0.15:
            n_fib = int(rng.integers(1, 4))
        for _ in range(n_fib):
            fibroids.append({"u": uni(0.45, 0.95), "n": uni(-1.0, 1.0),
                             "r_mm": uni(6, 22), "degenerated": bool(rng.random() < 0.2)})
        ut["fibroids"] = fibroids
        ut["nabothian"] = [[uni(0.1, 0.8), uni(-0.75, 0.75), uni(1.5, 5)]
                           for _ in range(int(rng.integers(1, 4)) if rng.random() < 0.3 else 0)]
        ut["fourier"] = [_fourier(rng, 3, 0.05), _fourier(rng, 3, 0.05)]
    manoeuvre = _pick(rng, {"valsalva": 0.3, "defecation": 0.3, "squeeze_valsalva": 0.15,
                            "squeeze": 0.1, "cough": 0.15})
    content_p = ({"gel": 0.8, "stool": 0.08, "gas": 0.04, "empty": 0.08}
                 if manoeuvre == "defecation" else
                 {"gel": 0.4, "stool": 0.22, "gas": 0.15, "empty": 0.23})
    content = _pick(rng, content_p)
    r_amp = {"gel": uni(18, 28), "stool": uni(13, 21), "gas": uni(13, 19),
             "empty": uni(8.5, 11)}[content]
    gas_frac = {"gel": uni(0.02, 0.1) if rng.random() < 0.35 else 0.0,
                "stool": uni(0.0, 0.15), "gas": uni(0.65, 0.9), "empty": 0.0}[content]
    fill = float(np.clip(rng.beta(1.6, 1.6), 0.04, 1.0))
    fat = 8 + 60 * float(rng.beta(1.5, 3.0))
    pathology = []
    for name, p in (("cystocele", 0.18), ("rectocele", 0.25 if manoeuvre == "defecation"
                                              else 0.15),
                    ("enterocele", 0.08), ("sigmoidocele", 0.04), ("intussusception", 0.06),
                    ("uterine_prolapse", 0.08), ("levator_ballooning", 0.1)):
        if rng.random() < p:
            pathology.append(name)
    if "enterocele" in pathology and "sigmoidocele" in pathology:
        pathology.remove("sigmoidocele")
    if state == "absent" and "uterine_prolapse" in pathology:
        pathology[pathology.index("uterine_prolapse")] = "vault_prolapse"
    anatomy = {
        "age_group": age,
        "scale": uni(0.9, 1.1),
        "pelvic_tilt_deg": uni(-8, 8) if position == "supine" else uni(4, 15),
        "uterus": ut,
        "bladder_fill": fill,
        "bladder_volume_ml": 40 + 460 * fill,
        "bladder_tilt_deg": uni(-15, 10),
        "bladder_wall_mm": uni(2.0, 3.2) + 3.0 * (1 - fill),
        "bladder_fourier": [_fourier(rng, 3, 0.06), _fourier(rng, 3, 0.06)],
        "rectal_content": content,
        "rectal_ampulla_mm": r_amp,
        "rectal_gas_fraction": gas_frac,
        "rectal_wall_mm": uni(2.5, 3.8) + (1.2 if content == "empty" else 0.0),
        "rectal_gel_doped": bool(content == "gel" and sequence == "t1" and rng.random() < 0.5),
        "rectum_fourier": [_fourier(rng, 3, 0.07), _fourier(rng, 3, 0.07)],
        "anal_canal_mm": uni(28, 38),
        "anal_canal_r_mm": uni(7, 9.5),
        "anorectal_angle_deg": uni(90, 120),
        "vaginal_gel": bool(rng.random() < (0.4 if manoeuvre == "defecation" else 0.25)),
        "vaginal_gel_mm": uni(2.0, 6.0),
        "vagina_r_mm": uni(4.5, 6.5),
        "vagina_fourier": [_fourier(rng, 3, 0.05), _fourier(rng, 3, 0.05)],
        "urethra_r_mm": uni(4.5, 6.5),
        "fat_thickness_mm": fat,
        "posterior_fat_mm": uni(4, 14) + 0.35 * fat,
        "rectus_mm": uni(7, 12),
        "disc_age": uni(0, 1),
        "pathology": pathology,
        "bowel_loops": int(rng.integers(20, 61)),
        "sigmoid_loops": int(rng.integers(1, 3)),
        "ovary": bool(rng.random() < (0.25 if age == "premenopausal" else 0.05)),
        "free_fluid": bool(age == "premenopausal" and rng.random() < 0.25),
        "thighs": bool(position == "supine" and rng.random() < 0.3),
        "seed_texture": int(rng.integers(0, 2**31 - 1)),
    }

    # --- motion -----------------------------------------------------------------------
    sched = _schedule(manoeuvre, n_frames, dt, rng)
    descent = {"bladder_neck": uni(8, 20), "cervix": uni(5, 16), "anorectal": uni(10, 25),
               "perineum": uni(5, 15), "upper_factor": uni(0.25, 0.45)}
    if "cystocele" in pathology:
        descent["bladder_neck"] += uni(12, 30)
        descent["cystocele_bulge_mm"] = uni(12, 28)
    if "uterine_prolapse" in pathology or "vault_prolapse" in pathology:
        descent["cervix"] += uni(25, 45)
    if "levator_ballooning" in pathology:
        descent["anorectal"] += uni(15, 30)
        descent["perineum"] += uni(10, 20)
    if "rectocele" in pathology:
        descent["rectocele_bulge_mm"] = uni(12, 32)
    if "enterocele" in pathology or "sigmoidocele" in pathology:
        descent["hernia_mm"] = uni(25, 50)
    motion = {
        "position": position,
        "manoeuvre": manoeuvre,
        "schedule": sched,
        "descent_mm": descent,
        "lift_mm": {"bladder_neck": uni(4, 10), "cervix": uni(3, 8), "anorectal": uni(6, 14),
                    "perineum": uni(3, 8)},
        "anorectal_angle_change_deg": {"strain": uni(8, 25), "evacuation": uni(15, 40),
                                       "squeeze": uni(8, 20)},
        "uterus_rotation_deg": uni(0, 12),
        "seated_descent_mm": uni(5, 15) if position == "seated" else 0.0,
        "breathing": {"period_s": uni(3, 6), "phase": uni(0, 2 * np.pi),
                      "craniocaudal_mm": uni(1.5, 6), "anteroposterior_mm": uni(1, 5)},
        "abdominal_bulge_mm": uni(3, 10),
        "rigid": {"sigma_mm": uni(0.1, 0.5), "sigma_deg": uni(0.03, 0.25),
                  "jump_frame": int(rng.integers(2, n_frames)) if rng.random() < 0.1 else None,
                  "jump_mm": [uni(-4, 4), uni(-4, 4)]},
    }
    params = {
        "seed": int(seed),
        "generator": PREFIX,
        "spacing_mm": [float(sr), float(sc)],
        "matrix": [int(h), int(w)],
        "fov_mm": [float(h * sr), float(w * sc)],
        "fov_centre_mm": [uni(30, 55), uni(-70, -40)],
        "n_frames": n_frames,
        "frame_interval_s": float(dt),
        "snr": float(snr),
        "labels": dict(LABELS),
        "anatomy": anatomy,
        "imaging": imaging,
        "motion": motion,
    }
    strain = _strain_curve(params)
    params["rest_frame"], params["peak_frame"] = _rest_peak(strain, manoeuvre)
    return params


def _strain_curve(params: dict) -> np.ndarray:
    """Strain s per frame (>0 bearing down, <0 squeeze)."""
    n, dt = params["n_frames"], params["frame_interval_s"]
    t = np.arange(n) * dt
    sched = params["motion"]["schedule"]
    s = np.zeros(n)
    amp_t, per, ph = sched["tremor"]
    for g in sched["segments"]:
        x = t - g["t0"]
        up = _smooth(x / g["ramp"])
        down = 1 - _smooth((x - g["ramp"] - g["hold"]) / g["release"])
        env = np.where(x < 0, 0.0, np.minimum(up, down))
        s += g["amp"] * env * (1 + amp_t * np.sin(2 * np.pi * t / per + ph))
    return np.clip(s, -1.3, 1.4)


def _evacuation(params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Evacuation progress e in [0, 1] and anal opening o in [0, 1] per frame."""
    n, dt = params["n_frames"], params["frame_interval_s"]
    t = np.arange(n) * dt
    ev = params["motion"]["schedule"]["evacuation"]
    if not ev:
        return np.zeros(n), np.zeros(n)
    e = _smooth((t - ev["t0"]) / max(ev["t1"] - ev["t0"], 1e-3))
    o = _smooth((t - ev["t0"]) / 1.0) * (1 - _smooth((t - ev["t1"] - 1.0) / 1.5))
    return e, o


def _rest_peak(strain: np.ndarray, manoeuvre: str) -> tuple[int, int]:
    if manoeuvre == "squeeze" or (strain.max() < 0.3 * abs(strain.min())):
        peak = int(np.argmin(strain))
    else:
        peak = int(np.argmax(strain))
    before = np.abs(strain[: max(peak, 1)])
    rest = int(np.argmin(before + 1e-3 * np.arange(before.size)))
    return rest, peak


# ----------------------------------------------------------------------------------------
# rest anatomy (pelvis frame: origin at the inferior margin of the symphysis, x posterior,
# y caudal, millimetres; scaled per case)
# ----------------------------------------------------------------------------------------
_SPINE_ANT = [(92, -24), (103, -34), (108, -46), (110, -62), (106, -80), (96, -100),
              (80, -122), (72, -150), (65, -185), (60, -220), (57, -255), (56, -290),
              (57, -330), (59, -380), (62, -440)]
_PROMONTORY = (80, -122)
_WALL_INNER = [(-19, -42), (-22, -70), (-25, -110), (-28, -160), (-31, -220), (-33, -290),
               (-34, -360), (-34, -450)]
_VAGINA = [(24, 28), (27, 8), (35, -12), (47, -34), (59, -52)]
_RECTUM = [(86, -98), (88, -74), (82, -50), (70, -28), (57, -11), (48, -2)]
_NECK = (20, -14)
_MEATUS = (10, 23)


@dataclass
class _Obj:
    """One medial object in its current pose."""

    name: str
    label: int
    skel: np.ndarray
    rp: np.ndarray
    rn: np.ndarray
    stiff: float
    w_lat: float
    discs: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


def _profile(u, knots_u, knots_r):
    return np.interp(u, knots_u, knots_r)


def _cap(u, r, start: float):
    """Round the end of a radius profile with an elliptical cap from ``start`` to 1."""
    t = np.clip((u - start) / max(1 - start, 1e-6), 0, 1)
    return r * np.sqrt(np.clip(1 - t * t, 0, 1))


class _Anatomy:
    """Rest geometry of one case and its deformation per frame."""

    def __init__(self, params: dict, rng: np.random.Generator):
        a = params["anatomy"]
        self.p = params
        self.a = a
        self.mo = params["motion"]
        k = a["scale"]
        self.k = k

        def sc(pts):
            return np.asarray(pts, float) * k

        self.z0 = params["imaging"]["slice_offset_mm"]
        self.th = params["imaging"]["slice_thickness_mm"]
        # bones
        self.symph_c = sc((-10, -20))
        self.symph_axis = _unit((-0.45, -0.89))
        self.symph_half = 21 * k * (1 + 0.01 * abs(self.z0))
        self.symph_thick = 7 * k * (1 + 0.04 * abs(self.z0))
        self.spine_ant = _resample(sc(_SPINE_ANT), 120)
        self.spine_s = np.concatenate(
            [[0.0], np.cumsum(np.linalg.norm(np.diff(self.spine_ant, axis=0), axis=1))])
        prom = sc(_PROMONTORY)
        self.s_prom = float(self.spine_s[np.argmin(np.linalg.norm(self.spine_ant - prom,
                                                                  axis=1))])
        self.coccyx = self.spine_ant[0].copy()
        self.wall_inner = sc(_WALL_INNER)
        t = np.linspace(0, 1, 40)
        axis = self.symph_axis
        post = np.array([-axis[1], axis[0]])
        if post[0] < 0:
            post = -post
        self.symph_post = post
        ends = self.symph_c + np.outer((2 * t - 1) * self.symph_half, axis)
        # posterior surface of the symphysis, bottom to top, then the abdominal wall
        back = ends + np.outer(self.symph_thick * np.sqrt(np.clip(1 - (2 * t - 1) ** 2, 0, 1))
                               ** 0.5, post)
        back = back[::-1] if back[0, 1] < back[-1, 1] else back
        self.anterior_boundary = np.concatenate([back, self.wall_inner])
        self.neck = sc(_NECK)
        self.meatus = sc(_MEATUS)
        self._build_vagina(sc(_VAGINA))
        self._build_rectum(sc(_RECTUM))
        self._relax()
        self._build_bladder()
        self._build_urethra()
        self._build_uterus()
        self._build_hernia()

    # -- helpers -------------------------------------------------------------------------
    def _lat(self, w):
        """Radius factors of an organ of lateral half-width w at the slab samples."""
        zs = self.z0 + self.th * np.array([-1 / 3, 0.0, 1 / 3])
        return np.sqrt(np.clip(1 - (zs / max(w, 1e-3)) ** 2, 0, 1))

    def _ant_side(self, skel):
        """+1 when the + side of the skeleton faces anteriorly (x decreasing)."""
        nrm = _normals(skel)
        return 1 if float(np.mean(nrm[:, 0])) < 0 else -1

    # -- organs at rest ------------------------------------------------------------------
    def _build_vagina(self, ctrl):
        a = self.a
        self.vag_ctrl = ctrl
        skel = _resample(ctrl, 26)
        u = np.linspace(0, 1, skel.shape[0])
        rv = a["vagina_r_mm"] * self.k
        has_uterus = a["uterus"]["state"] != "absent"
        widen = 1 + (0.55 if has_uterus else 0.3) * _smooth((u - 0.7) / 0.25)
        lumen = np.zeros_like(u)
        if a["vaginal_gel"]:
            lumen = a["vaginal_gel_mm"] * (0.45 + 0.55 * _smooth(u / 0.8)) * _smooth(u / 0.08)
        r = rv * widen * (0.85 + 0.15 * _smooth(u / 0.1)) + lumen
        end = 0.9 if has_uterus else 0.86
        r = np.where(u > end, _cap(u, r, end) * 0.6 + 0.4 * r * (u <= 0.999), r)
        fa, fb = a["vagina_fourier"]
        self.vag = {"skel": skel, "rp": r * _apply_fourier(u, fa),
                    "rn": r * _apply_fourier(u, fb), "lumen": lumen, "wall": rv}
        self.vag_top_dir = _unit(skel[-1] - skel[-4])

    def _build_rectum(self, ctrl):
        a = self.a
        arj = ctrl[-1]
        inc = _unit(ctrl[-1] - ctrl[-2])
        canal_dir = _rot(-inc, a["anorectal_angle_deg"])
        lc = a["anal_canal_mm"] * self.k
        av = arj + lc * canal_dir
        self.arj, self.av, self.canal_dir0, self.rect_inc = arj, av, canal_dir, inc
        top = _resample(ctrl, 30)
        canal = arj + np.outer(np.linspace(0, 1, 9)[1:], (av - 2.5 * canal_dir) - arj)
        skel = np.concatenate([top, canal])
        lens = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(skel, axis=0), axis=1))])
        u = lens / lens[-1]
        u_arj = float(u[top.shape[0] - 1])
        self.u_arj = u_arj
        amp = a["rectal_ampulla_mm"] * self.k
        rac = a["anal_canal_r_mm"] * self.k
        q = u / u_arj
        r_top = max(0.62 * amp, 9.0)
        r = np.where(q <= 1,
                     _profile(q, [0.0, 0.15, 0.55, 0.72, 0.9, 1.0],
                              [r_top * 0.85, r_top, amp, amp * 0.97, 0.5 * (amp + rac), rac + 1]),
                     _profile(q, [1.0, 1.0 + 0.6 * (1 - u_arj) / u_arj, 1 / u_arj],
                              [rac + 1, rac, rac * 0.8]))
        r = np.where(u < 0.04, r * (0.75 + 0.25 * _smooth(u / 0.04)), r)
        fa, fb = a["rectum_fourier"]
        rp = r * np.where(q <= 1, _apply_fourier(u, fa), 1.0)
        rn = r * np.where(q <= 1, _apply_fourier(u, fb), 1.0)
        # posterior boundary: sacrum / coccyx anterior surface and the levator plate
        self.levator_end = arj + (rac + 5) * _unit(_rot(canal_dir, -90)
                                                   if _rot(canal_dir, -90)[0] > 0
                                                   else _rot(canal_dir, 90))
        lev = np.stack([np.linspace(self.coccyx[0], self.levator_end[0], 12),
                        np.linspace(self.coccyx[1], self.levator_end[1], 12)], -1)
        post_line = np.concatenate([lev[::-1], self.spine_ant[:60]])
        self.posterior_boundary = post_line
        side = self._ant_side(skel)
        avail = _poly_dist(skel, post_line) - 2.0
        post = rn if side > 0 else rp
        ant = rp if side > 0 else rn
        over = np.clip(post - avail, 0, None) * (q <= 1)
        shift = 0.5 * over
        nrm = _normals(skel) * side  # anterior normals
        skel = skel + nrm * shift[:, None]
        post = post - over + shift
        ant = ant + 0.3 * over - shift
        rp, rn = (ant, post) if side > 0 else (post, ant)
        self.rect = {"skel": skel, "rp": np.maximum(rp, 2.0), "rn": np.maximum(rn, 2.0),
                     "u_arj": u_arj, "r_ac": rac, "wall": a["rectal_wall_mm"],
                     "n_top": top.shape[0], "side": side}

    def _build_bladder(self):
        a = self.a
        f = a["bladder_fill"]
        d = 10 * (6 * a["bladder_volume_ml"] / np.pi) ** (1 / 3)  # sphere diameter, mm
        length = d * (1.3 - 0.2 * f)
        rad = d * (0.25 + 0.17 * f)
        axis = _rot((0.0, -1.0), a["bladder_tilt_deg"])
        n = 26
        u = np.linspace(0, 1, n)
        skel = self.neck + np.outer(u * length, axis)
        neck_r = 3.5
        ra = rad * 0.9 * np.where(u < 0.5, np.sin(np.pi / 2 * np.clip(u / 0.5, 0, 1)) ** 0.8, 1)
        rpost = rad * 1.15 * np.where(u < 0.3, np.sin(np.pi / 2 * np.clip(u / 0.3, 0, 1)) ** 0.6,
                                      1)
        ra = _cap(u, np.maximum(ra, neck_r), 0.5)
        rpost = _cap(u, np.maximum(rpost, neck_r), 0.55)
        fa, fb = a["bladder_fourier"]
        ra *= _apply_fourier(u, fa)
        rpost *= _apply_fourier(u, fb)
        avail = _poly_dist(skel, self.anterior_boundary) - 2.5
        over = np.clip(ra - avail, 0, None)
        ra = ra - over
        rpost = rpost + 0.5 * over
        side = self._ant_side(skel)
        rp, rn = (ra, rpost) if side > 0 else (rpost, ra)
        self.blad = {"skel": skel, "rp": rp, "rn": rn, "side": side, "length": length,
                     "w_lat": 0.55 * d, "wall": a["bladder_wall_mm"]}

    def _build_urethra(self):
        axis = _unit(self.meatus - self.neck)
        top = self.neck + 3.0 * axis
        mid = 0.5 * (top + self.meatus) + 2.0 * np.array([axis[1], -axis[0]])
        skel = _resample([top, mid, self.meatus], 14)
        u = np.linspace(0, 1, 14)
        r = self.a["urethra_r_mm"] * (1 - 0.3 * u)
        self.ure = {"skel": skel, "rp": r, "rn": r}

    def _uterus_skel(self, version, flexion):
        ut = self.a["uterus"]
        k = self.k
        lc, lb = ut["cervix_len_mm"] * k, ut["body_len_mm"] * k
        vault = self.vag["skel"][-1]
        e = vault - 7.0 * self.vag_top_dir
        dc = _rot(self.vag_top_dir, -version)
        db = _rot(dc, -flexion)
        o = e + lc * dc
        ctrl = [e, e + 0.5 * lc * dc, o, o + 0.5 * lb * _unit(dc + 2 * db), o + lb * db]
        return _resample(ctrl, 30), lc, lb

    def _build_uterus(self):
        ut = self.a["uterus"]
        self.ut = None
        if ut["state"] == "absent":
            return
        k = self.k
        rc, rb = ut["cervix_r_mm"] * k, ut["body_r_mm"] * k
        lc, lb = ut["cervix_len_mm"] * k, ut["body_len_mm"] * k
        total = lc + lb
        uc = lc / total
        u = np.linspace(0, 1, 30)
        r = _profile(u, [0.0, 6 / total, uc, uc + 0.25 * (1 - uc), uc + 0.5 * (1 - uc),
                         uc + 0.78 * (1 - uc), 1.0],
                     [0.75 * rc, rc, 0.85 * rc, 0.85 * rb, rb, 0.93 * rb, 0.9 * rb])
        r = _cap(u, r, uc + 0.78 * (1 - uc))
        fa, fb = ut["fourier"]
        version = ut["version_deg"] - 40 * self.a["bladder_fill"] * (ut["version_deg"] > 30)
        flexion = ut["flexion_deg"]
        blad = self.blad
        bl = _Obj("bladder", 1, blad["skel"], blad["rp"], blad["rn"], 1, 1)
        rect = _Obj("rectum", 3, self.rect["skel"], self.rect["rp"], self.rect["rn"], 1, 1)
        # turn the uterus until it rests on (not inside) its neighbours
        best = None
        for step in range(12):
            skel, _, _ = self._uterus_skel(version, flexion)
            uo = _Obj("uterus", 2, skel, r * _apply_fourier(u, fa), r * _apply_fourier(u, fb),
                      1, 1)
            area = _area(uo)
            ob = _overlap(uo, bl) / area
            orr = _overlap(uo, rect) / area
            wall = float(np.min(_poly_dist(skel, self.anterior_boundary[20:]) - r))
            bad = max(ob - 0.12, 0) + max(orr - 0.12, 0) + max(-wall, 0) / 20
            if best is None or bad < best[0]:
                best = (bad, version, skel, uo)
            if bad <= 0:
                break
            if ob > orr or wall < 0:
                version -= 8
            else:
                version += 8
            if step > 5:
                flexion *= 0.7
        _, version, skel, uo = best
        self.ut = {"skel": skel, "rp": uo.rp, "rn": uo.rn, "lc": lc, "lb": lb,
                   "version": float(version), "flexion": float(flexion),
                   "w_lat": (28 if ut["state"] != "atrophic" else 18) * k
                   + (12 if ut["state"] == "enlarged" else 0)}

    def _build_hernia(self):
        path = self.a["pathology"]
        self.hernia = None
        kind = "enterocele" if "enterocele" in path else (
            "sigmoidocele" if "sigmoidocele" in path else None)
        if kind is None:
            return
        vault = self.vag["skel"][-1]
        rect_pt = self.rect["skel"][np.argmin(np.abs(self.rect["skel"][:, 1] - vault[1]))]
        start = 0.5 * (vault + rect_pt) + np.array([0.0, -14.0])
        target = 0.5 * (self.vag["skel"][8] + self.rect["skel"][self.rect["n_top"] - 6])
        self.hernia = {"kind": kind, "start": start, "dir": _unit(target - start),
                       "r": 12.0 if kind == "enterocele" else 14.0}

    def _relax(self):
        """Push the vagina away from a distended rectum and bladder at rest."""
        vag = self.vag
        sk = vag["skel"].copy()
        side = self._ant_side(sk)
        nrm = _normals(sk) * side  # anterior
        rect = self.rect
        dr = _poly_dist(sk, rect["skel"][: rect["n_top"]])
        r_rect = np.interp(_medial(sk[:, 0].astype(np.float32), sk[:, 1].astype(np.float32),
                                   rect["skel"])[0],
                           np.linspace(0, 1, rect["skel"].shape[0]),
                           rect["rn"] if rect["side"] > 0 else rect["rp"])
        rv = 0.5 * (vag["rp"] + vag["rn"])
        over = np.clip(r_rect + 0.4 * rv - dr, 0, 14)
        over = ndimage.gaussian_filter1d(over, 2.0)
        sk = sk + nrm * over[:, None]
        vag["skel"] = sk
        self.vag_top_dir = _unit(sk[-1] - sk[-4])


    # -- motion ----------------------------------------------------------------------------
    def controls(self, s: float, seated: float) -> dict:
        """Displacement (mm) of the pelvic floor control points for strain s."""
        mo = self.mo
        de, li = mo["descent_mm"], mo["lift_mm"]
        sp, sm = max(s, 0.0), max(-s, 0.0)
        vag_axis = _unit(self.vag["skel"][0] - self.vag["skel"][-1])
        dirs = {"bladder_neck": (_unit((0.35, 1.0)), _unit((-0.3, -1.0))),
                "cervix": (vag_axis, _unit((-0.2, -1.0))),
                "anorectal": (_unit((0.3, 1.0)), _unit((-0.6, -0.8))),
                "perineum": (_unit((0.1, 1.0)), _unit((-0.2, -1.0)))}
        out = {}
        for key, (dn, up) in dirs.items():
            out[key] = (sp * de[key] + seated) * dn + sm * li[key] * up
        # the vault cannot pass the introitus: the vagina keeps a quarter of its length
        cap = 0.72 * _arclen(self.vag["skel"])
        norm = float(np.linalg.norm(out["cervix"]))
        if norm > cap:
            out["cervix"] = out["cervix"] * cap / norm
        return out

    def glob(self, pts: np.ndarray, b: float, sp: float) -> np.ndarray:
        """Breathing and abdominal push (mm) at points (M, 2) of the pelvis frame."""
        mo = self.mo
        x, y = pts[..., 0], pts[..., 1]
        w_top = np.clip((-20 * self.k - y) / 110, 0, 1) * (1 - np.clip((x - 60) / 40, 0, 1))
        w_ant = np.clip((35 - x) / 60, 0, 1) * np.clip((-y - 30) / 80, 0, 1)
        br = mo["breathing"]
        bulge = mo["abdominal_bulge_mm"]
        gy = (b * br["craniocaudal_mm"] + sp * 0.5 * bulge) * w_top
        gx = -(b * br["anteroposterior_mm"] + sp * bulge) * w_ant
        return np.stack([gx, gy], -1)

    @staticmethod
    def _squeeze(sk, r, side, front, back):
        """Move a thin organ's axis out of its anterior (front) and posterior (back)
        neighbours; where both press, centre it between them and thin it (returned)."""
        squeeze = np.zeros(len(sk))
        for _ in range(4):
            ant = _normals(sk) * side
            x, y = sk[:, 0].astype(np.float32), sk[:, 1].astype(np.float32)
            margin = 0.6 * np.maximum(r - squeeze, 1.8)
            pf = np.zeros(len(sk))
            pb = np.zeros(len(sk))
            for ob in front:
                pf = np.maximum(pf, np.clip(margin - _eval_obj(ob, x, y)[0], 0, None))
            for ob in back:
                pb = np.maximum(pb, np.clip(margin - _eval_obj(ob, x, y)[0], 0, None))
            if not (pf.any() or pb.any()):
                break
            both = np.minimum(pf, pb)
            mv = np.where(both > 0, 0.5 * (pb - pf), pb - pf)
            sk = sk + ant * ndimage.gaussian_filter1d(mv, 1.0)[:, None]
            squeeze = np.maximum(squeeze, ndimage.gaussian_filter1d(0.5 * both, 1.0))
        return sk, np.minimum(squeeze, np.maximum(r - 1.8, 0))

    def pose(self, s: float, e: float, o: float, b: float):
        """Objects in their pose for strain s, evacuation e, anal opening o, breathing b,
        with displacement samples (rest points, current points) for the background."""
        a, mo = self.a, self.mo
        sp, sm = max(s, 0.0), max(-s, 0.0)
        seated = mo["seated_descent_mm"]
        c = self.controls(s, seated)
        uf = mo["descent_mm"]["upper_factor"]
        de = mo["descent_mm"]
        objs, rest_pts, cur_pts = [], [], []

        def add_samples(sk0, rp0, rn0, sk, rp, rn):
            n0, n1 = _normals(sk0), _normals(sk)
            sel = slice(None, None, 2)
            for pa, pb in ((sk0, sk), (sk0 + n0 * rp0[:, None], sk + n1 * rp[:, None]),
                           (sk0 - n0 * rn0[:, None], sk - n1 * rn[:, None])):
                rest_pts.append(pa[sel])
                cur_pts.append(pb[sel])

        # bladder
        bl = self.blad
        sk0 = bl["skel"]
        u = np.linspace(0, 1, sk0.shape[0])
        w = ((1 - u) ** 1.5)[:, None]
        disp = w * c["bladder_neck"] + (1 - w) * uf * c["bladder_neck"] + self.glob(sk0, b, sp)
        bulge = sp * de.get("cystocele_bulge_mm", 0.0)
        bump = np.exp(-(((u - 0.2) / 0.16) ** 2))
        disp = disp + (0.4 * bulge * bump)[:, None] * _unit((0.35, 1.0))
        sk = sk0 + disp
        scale = float(np.clip(_arclen(sk0) / max(_arclen(sk), 1e-3), 0.8, 1.25))
        rp, rn = bl["rp"] * scale, bl["rn"] * scale
        if bl["side"] > 0:
            rn = rn + bulge * bump
        else:
            rp = rp + bulge * bump
        bulge_pt = sk[5] - bl["side"] * _normals(sk)[5] * (rn[5] if bl["side"] > 0 else rp[5])
        objs.append(_Obj("bladder", 1, sk, rp, rn, 1.0, bl["w_lat"],
                         info={"wall": bl["wall"]}))
        add_samples(sk0, bl["rp"], bl["rn"], sk, rp, rn)
        neck_disp = disp[0]

        # urethra
        ur = self.ure
        u = np.linspace(0, 1, ur["skel"].shape[0])[:, None]
        d_ur = (1 - u) * neck_disp + u * (0.3 * c["perineum"])
        sk = ur["skel"] + d_ur
        objs.append(_Obj("urethra", 0, sk, ur["rp"], ur["rn"], 2.0, ur["rp"][0] * 1.2))
        add_samples(ur["skel"], ur["rp"], ur["rn"], sk, ur["rp"], ur["rn"])

        # rectum
        rc = self.rect
        sk0 = rc["skel"]
        u = np.linspace(0, 1, sk0.shape[0])
        ua = rc["u_arj"]
        is_rect = u <= ua + 1e-6
        w = _smooth(u / ua)[:, None] ** 1.2
        d_ar = c["anorectal"]
        disp = (1 - w) * uf * d_ar + w * d_ar + self.glob(sk0, b, sp)
        dang = (sp * mo["anorectal_angle_change_deg"]["strain"]
                + o * mo["anorectal_angle_change_deg"]["evacuation"]
                - sm * mo["anorectal_angle_change_deg"]["squeeze"])
        sk = sk0 + disp
        canal = ~is_rect
        # the anal canal runs from the moved anorectal junction to an anal verge that stays
        # with the perineum; turning the canal about the junction opens or closes the angle
        arj_t = self.arj + d_ar + self.glob(self.arj[None], b, sp)[0]
        turned = arj_t + _rot(self.av - self.arj, dang)
        held = self.av + 0.9 * c["perineum"] + self.glob(self.av[None], b, sp)[0]
        av_t = 0.35 * turned + 0.65 * held
        frac = np.linalg.norm(sk0[canal] - self.arj, axis=1) / np.linalg.norm(self.av - self.arj)
        sk[canal] = arj_t + np.outer(frac, av_t - arj_t)
        ev = mo["schedule"]["evacuation"]
        resid = ev["residual"] if ev else 1.0
        cfrac = 1 - (1 - resid) * e
        wall = rc["wall"]
        rp, rn = rc["rp"].copy(), rc["rn"].copy()
        shrink = np.where(is_rect & (u > 0.1 * ua), np.sqrt(cfrac), 1.0)
        rp = np.where(is_rect, wall + (rp - wall) * shrink, rp)
        rn = np.where(is_rect, wall + (rn - wall) * shrink, rn)
        scale = float(np.clip(_arclen(sk0[is_rect]) / max(_arclen(sk[is_rect]), 1e-3), 0.8, 1.25))
        rp = np.where(is_rect, rp * scale, rp)
        rn = np.where(is_rect, rn * scale, rn)
        lumen_max = 0.75 * rc["r_ac"]
        rp = np.where(canal, rp + 0.45 * o * lumen_max, rp)
        rn = np.where(canal, rn + 0.45 * o * lumen_max, rn)
        rbulge = sp * de.get("rectocele_bulge_mm", 0.0) * (
            0.6 if a["rectal_content"] == "empty" else 1.0)
        rbump = np.exp(-(((u - 0.8 * ua) / 0.09) ** 2)) * is_rect
        if rc["side"] > 0:
            rp = rp + rbulge * rbump
        else:
            rn = rn + rbulge * rbump
        ir = int(np.argmax(rbump))
        nr = _normals(sk)[ir] * rc["side"]
        rect_bulge_pt = sk[ir] + nr * (rp[ir] if rc["side"] > 0 else rn[ir])
        stiff_r = 1.7 if a["rectal_content"] in ("gel", "stool") else 1.3
        objs.append(_Obj("rectum", 3, sk, rp, rn, stiff_r, 1.3 * max(rc["rp"].max(), 10.0) + 6,
                         info={"u_arj": ua, "wall": wall, "lumen": o * lumen_max,
                               "content": cfrac, "s": sp}))
        add_samples(sk0, rc["rp"], rc["rn"], sk, rp, rn)

        # hernia sac (enterocele / sigmoidocele)
        hern = None
        if self.hernia is not None:
            h = self.hernia
            start = h["start"] + uf * c["cervix"] + self.glob(h["start"][None], b, sp)[0]
            length = 6 + sp * de.get("hernia_mm", 30.0)
            sk = start + np.outer(np.linspace(0, 1, 10) * length, h["dir"])
            uu = np.linspace(0, 1, 10)
            r = h["r"] * (0.8 + 0.2 * np.sin(np.pi * uu))
            r = _cap(uu, r, 0.7) * 0.5 + 0.5 * r * (uu < 0.999)
            hern = _Obj(h["kind"], 0, sk, r, r, 1.45, 25.0, info={"kind": h["kind"]})
            sk0 = h["start"] + np.outer(np.linspace(0, 1, 10) * 6, h["dir"])
            add_samples(sk0, r, r, sk, r, r)

        # vagina
        vg = self.vag
        sk0 = vg["skel"]
        u = np.linspace(0, 1, sk0.shape[0])
        w = u[:, None]
        d_in = 0.45 * c["perineum"] + 0.15 * c["bladder_neck"]
        disp = (1 - w) * d_in + w * c["cervix"] + self.glob(sk0, b, sp)
        sk = sk0 + disp
        side = self._ant_side(sk0)
        ant = _normals(sk) * side
        push = np.zeros(sk.shape[0])
        if bulge > 0:
            push -= 0.6 * bulge * np.exp(-(np.linalg.norm(sk - bulge_pt, axis=1) / 22) ** 2)
        if rbulge > 0:
            push += 0.7 * rbulge * np.exp(-(np.linalg.norm(sk - rect_bulge_pt, axis=1) / 20) ** 2)
        if hern is not None:
            dh = _poly_dist(sk, hern.skel)
            push += np.clip(hern.rp.max() + 6 - dh, 0, None) * 0.8
        sk = sk + ant * ndimage.gaussian_filter1d(push, 1.5)[:, None]
        lscale = float(np.clip(_arclen(sk0) / max(_arclen(sk), 1e-3), 0.85, 1.8)) ** 0.5
        rp, rn = vg["rp"] * lscale, vg["rn"] * lscale
        front = [ob for ob in objs if ob.name in ("bladder", "urethra")]
        back = [ob for ob in objs if ob.name == "rectum"] + ([hern] if hern is not None else [])
        sk, squeeze = self._squeeze(sk, 0.5 * (rp + rn), side, front, back)
        rp, rn = np.maximum(rp - squeeze, 1.8), np.maximum(rn - squeeze, 1.8)
        objs.append(_Obj("vagina", 2, sk, rp, rn, 1.6, 20.0 * self.k,
                         info={"lumen": vg["lumen"] * lscale, "wall": vg["wall"]}))
        add_samples(sk0, vg["rp"], vg["rn"], sk, rp, rn)
        vault_disp = sk[-1] - sk0[-1]

        # uterus
        if self.ut is not None:
            ut = self.ut
            sk0 = ut["skel"]
            u = np.linspace(0, 1, sk0.shape[0])[:, None]
            rot = sp * mo["uterus_rotation_deg"]
            sk = sk0[0] + _rot(sk0 - sk0[0], rot)
            disp = (1 - 0.5 * u) * vault_disp + 0.5 * u * (uf * c["cervix"]
                                                           + self.glob(sk0, b, sp))
            sk = sk + disp
            discs = []
            nrm = _normals(sk)
            for fb in a["uterus"]["fibroids"]:
                i = int(round(fb["u"] * (sk.shape[0] - 1)))
                rr = ut["rp"][i] if fb["n"] >= 0 else ut["rn"][i]
                centre = sk[i] + nrm[i] * fb["n"] * rr * 0.85
                discs.append((float(centre[0]), float(centre[1]), fb["r_mm"] * self.k,
                              bool(fb["degenerated"])))
            objs.append(_Obj("uterus", 2, sk, ut["rp"], ut["rn"], 2.5, ut["w_lat"],
                             discs=discs, info={"lc": ut["lc"], "lb": ut["lb"]}))
            add_samples(sk0, ut["rp"], ut["rn"], sk, ut["rp"], ut["rn"])
        if hern is not None:
            objs.append(hern)
        return objs, np.concatenate(rest_pts), np.concatenate(cur_pts)


def _eval_obj(obj: _Obj, px: np.ndarray, py: np.ndarray):
    """Central-section depth (negative inside), u, n, dist and radius at the points."""
    u, n, dist = _medial(px, py, obj.skel)
    ug = np.linspace(0, 1, obj.skel.shape[0])
    r = np.where(n >= 0, np.interp(u, ug, obj.rp), np.interp(u, ug, obj.rn))
    return dist - r, u, n, dist, r


def _grid_for(objs, step=1.5):
    pts = np.concatenate([o.skel for o in objs])
    rmax = max(max(o.rp.max(), o.rn.max()) for o in objs) + 3
    xs = np.arange(pts[:, 0].min() - rmax, pts[:, 0].max() + rmax, step, dtype=np.float32)
    ys = np.arange(pts[:, 1].min() - rmax, pts[:, 1].max() + rmax, step, dtype=np.float32)
    x, y = np.meshgrid(xs, ys)
    return x.ravel(), y.ravel()


def _area(obj: _Obj, step=1.5) -> float:
    x, y = _grid_for([obj], step)
    return float((_eval_obj(obj, x, y)[0] < 0).sum()) * step * step


def _overlap(a: _Obj, b: _Obj, step=1.5) -> float:
    x, y = _grid_for([a], step)
    ins = _eval_obj(a, x, y)[0] < 0
    if not ins.any():
        return 0.0
    inb = _eval_obj(b, x[ins], y[ins])[0] < 0
    return float(inb.sum()) * step * step


# ----------------------------------------------------------------------------------------
# background painting (once per case, on a fine grid of the pelvis frame)
# ----------------------------------------------------------------------------------------
class _Canvas:
    def __init__(self, x0, y0, g, h, w):
        self.x0, self.y0, self.g = float(x0), float(y0), float(g)
        self.t = np.full((h, w), _TID["air"], np.uint8)

    def box(self, xmin, xmax, ymin, ymax):
        h, w = self.t.shape
        j0 = int(np.clip(np.floor((xmin - self.x0) / self.g), 0, w))
        j1 = int(np.clip(np.ceil((xmax - self.x0) / self.g) + 1, 0, w))
        i0 = int(np.clip(np.floor((ymin - self.y0) / self.g), 0, h))
        i1 = int(np.clip(np.ceil((ymax - self.y0) / self.g) + 1, 0, h))
        if j1 <= j0 or i1 <= i0:
            return None
        xs = (self.x0 + self.g * np.arange(j0, j1)).astype(np.float32)
        ys = (self.y0 + self.g * np.arange(i0, i1)).astype(np.float32)
        x, y = np.meshgrid(xs, ys)
        return (slice(i0, i1), slice(j0, j1)), x, y

    def coords(self):
        h, w = self.t.shape
        return (self.x0 + self.g * np.arange(w), self.y0 + self.g * np.arange(h))

    def set(self, sl, mask, tissue, only=None):
        sub = self.t[sl]
        if only is not None:
            mask = mask & np.isin(sub, [_TID[o] for o in only])
        sub[mask] = _TID[tissue]

    def tube(self, skel, rp, rn=None, tissue="muscle", only=None):
        skel = np.asarray(skel, float)
        rp = np.broadcast_to(np.asarray(rp, float), (skel.shape[0],))
        rn = rp if rn is None else np.broadcast_to(np.asarray(rn, float), (skel.shape[0],))
        m = max(rp.max(), rn.max()) + 2
        b = self.box(skel[:, 0].min() - m, skel[:, 0].max() + m, skel[:, 1].min() - m,
                     skel[:, 1].max() + m)
        if b is None:
            return
        sl, x, y = b
        obj = _Obj("", 0, skel, rp, rn, 1, 1)
        d = _eval_obj(obj, x.ravel(), y.ravel())[0].reshape(x.shape)
        self.set(sl, d < 0, tissue, only)

    def ellipse(self, c, a, b, direction, tissue, only=None):
        m = max(a, b) + 1
        bx = self.box(c[0] - m, c[0] + m, c[1] - m, c[1] + m)
        if bx is None:
            return
        sl, x, y = bx
        d = _unit(direction)
        dx, dy = x - c[0], y - c[1]
        p = dx * d[0] + dy * d[1]
        q = -dx * d[1] + dy * d[0]
        self.set(sl, (p / a) ** 2 + (q / b) ** 2 < 1, tissue, only)

    def polygon_mask(self, pts) -> np.ndarray:
        pts = np.asarray(pts, float)
        xs, ys = self.coords()
        x1, y1 = pts[:, 0], pts[:, 1]
        x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
        mask = np.zeros(self.t.shape, bool)
        for i, yv in enumerate(ys):
            cond = (y1 <= yv) != (y2 <= yv)
            if not cond.any():
                continue
            xc = np.sort(x1[cond] + (yv - y1[cond]) * (x2[cond] - x1[cond])
                         / (y2[cond] - y1[cond]))
            for xa, xb in zip(xc[0::2], xc[1::2], strict=False):
                j0 = max(int(np.ceil((xa - self.x0) / self.g)), 0)
                j1 = min(int(np.floor((xb - self.x0) / self.g)) + 1, mask.shape[1])
                if j1 > j0:
                    mask[i, j0:j1] = True
        return mask


def _spine_segments(anat: _Anatomy) -> list[tuple[float, float, str]]:
    """(start, end, kind) arc-length intervals of bodies and discs along the spine line."""
    k = anat.k
    sp = anat.s_prom
    sacral = [("S1", 28), ("d", 2.5), ("S2", 23), ("d", 2), ("S3", 19), ("d", 2), ("S4", 15),
              ("d", 2), ("S5", 12), ("j", 2), ("C1", 10), ("j", 1.5), ("C2", 8), ("j", 1.5),
              ("C3", 7)]
    q = sp / sum(v for _, v in sacral)
    segs = []
    s = sp
    for name, v in sacral:
        e = s - v * q
        segs.append((e, s, "disc_old" if name in ("d", "j") else "body"))
        s = e
    s = sp
    for i in range(6):
        disc = (11 if i == 0 else 10) * k
        segs.append((s, s + disc, "disc"))
        segs.append((s + disc, s + disc + 28 * k, "body"))
        s += disc + 28 * k
    return segs


def _paint_background(anat: _Anatomy, cv: _Canvas, rng, params: dict) -> dict:
    """Paint the static body on the canvas; returns landmarks used by the renderer."""
    a = anat.a
    k = anat.k
    z0 = abs(anat.z0)
    seated = params["motion"]["position"] == "seated"
    gdir = np.array([0.0, 1.0]) if seated else np.array([1.0, 0.0])
    fat = a["fat_thickness_mm"]
    rt = a["rectus_mm"] * k
    # --- spine geometry --------------------------------------------------------------
    A = anat.spine_ant
    s = anat.spine_s
    t = np.gradient(A, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    nu = np.stack([-t[:, 1], t[:, 0]], -1)  # posterior normal
    sp = anat.s_prom
    depth = np.where(s <= sp, (9 + 21 * (s / sp) ** 1.3) * k, (38 + 2 * np.clip((s - sp) / 60,
                                                                                  0, 1)) * k)
    depth = ndimage.gaussian_filter1d(depth, 2)
    canal = np.where(s <= sp, 10 * k * _smooth((s / sp - 0.25) / 0.6), 16 * k)
    pwall = np.where(s <= sp, 9 * k * _smooth((s / sp - 0.15) / 0.2), 40 * k)
    dorsal = A + nu * (depth + canal + pwall + a["posterior_fat_mm"] * np.where(
        s <= sp, 0.6, 1.0))[:, None]
    # --- body outline ----------------------------------------------------------------
    wall = anat.wall_inner
    ys = np.linspace(-460, wall[0, 1], 40)
    xin = np.interp(ys, wall[::-1, 1], wall[::-1, 0])
    pannus = 1 + 0.6 * np.clip((-ys - 60) / 160, 0, 1) * fat / 60
    ant = np.stack([xin - rt - 2 - fat * pannus, ys], -1)
    sym_top = anat.symph_c + anat.symph_half * anat.symph_axis
    sym_front = anat.symph_c[0] - anat.symph_thick
    mons = 10 + 0.5 * fat
    vag0 = anat.vag["skel"][0]
    av = anat.av
    per_y = max(vag0[1], av[1]) + 4
    lower = np.array([
        (sym_front - mons - 4, sym_top[1] + 6), (sym_front - mons, -12 * k),
        (sym_front - 0.8 * mons, 2 * k), (-2 - 0.3 * mons, 16 * k), (4 * k, 23 * k),
        (anat.meatus[0], anat.meatus[1] + 2), (vag0[0], vag0[1] + 0.5 * a["vagina_r_mm"] + 1),
        (0.5 * (vag0[0] + av[0]), per_y), (av[0], av[1] + 1.0), (av[0] + 9, av[1] + 1.5),
        (av[0] + 20, av[1] - 6)])
    tip = anat.coccyx
    cleft = np.array([tip + np.array([16, 18]) * k])
    body = np.concatenate([ant, lower, cleft, dorsal[4:]])
    body = np.concatenate([body, [[dorsal[-1, 0] + 20, -470], [ant[0, 0] - 20, -470]]])
    bmask = cv.polygon_mask(body)
    cv.t[bmask] = _TID["fat"]
    # thighs touching the midline below the perineum
    if a["thighs"]:
        gap = rng.uniform(5, 16)
        half = 0.5 * (av[0] - sym_front) + 10 + 0.4 * fat
        ctr = np.array([0.5 * (av[0] + sym_front) - 5, per_y + gap + 150])
        cv.ellipse(ctr, half, 150, (1.0, 0.0), "fat", only=("air",))
        cv.ellipse(ctr + np.array([-5.0, 45 + 0.3 * fat]), half * 0.8, 150, (1.0, 0.0),
                   "muscle", only=("fat",))
        bmask = cv.t != _TID["air"]
    # pelvic (extra- and intraperitoneal) fat inside the muscular wall
    sym_bot = anat.symph_c - anat.symph_half * anat.symph_axis
    inner = np.concatenate([
        wall[::-1],
        [sym_top + anat.symph_post * 2, anat.symph_c + anat.symph_post * anat.symph_thick,
         sym_bot + np.array([4.0, 8.0]) * k, (anat.meatus[0] + 7, 14 * k),
         (0.5 * (vag0[0] + av[0]), 12 * k), anat.arj + np.array([4.0, 6.0]),
         anat.levator_end], A[:100]])
    pmask = cv.polygon_mask(inner) & bmask
    cv.t[pmask] = _TID["pelvic_fat"]

    # --- bowel loops packed around the organs --------------------------------------
    f = max(1, int(round(2.0 / cv.g)))
    coarse_g = cv.g * f
    xs, ys_ = cv.coords()
    xc, yc = xs[::f].astype(np.float32), ys_[::f].astype(np.float32)
    X, Y = np.meshgrid(xc, yc)
    objs, _, _ = anat.pose(0.0, 0.0, 0.0, 0.0)
    occ = np.zeros(X.shape, bool)
    for ob in objs:
        m = max(ob.rp.max(), ob.rn.max()) + 3
        j0, j1 = np.searchsorted(xc, [ob.skel[:, 0].min() - m, ob.skel[:, 0].max() + m])
        i0, i1 = np.searchsorted(yc, [ob.skel[:, 1].min() - m, ob.skel[:, 1].max() + m])
        if i1 > i0 and j1 > j0:
            xs_, ys_b = X[i0:i1, j0:j1], Y[i0:i1, j0:j1]
            d = _eval_obj(ob, xs_.ravel(), ys_b.ravel())[0].reshape(xs_.shape)
            occ[i0:i1, j0:j1] |= d < 1.0
    floor = Y < (-32 * k - 0.25 * (X - 40))

    def line_dist(line):
        pts = _resample(line, max(int(_arclen(line) / (0.5 * coarse_g)), 4))
        ii = np.rint((pts[:, 1] - yc[0]) / coarse_g).astype(int)
        jj = np.rint((pts[:, 0] - xc[0]) / coarse_g).astype(int)
        ok = (ii >= 0) & (ii < X.shape[0]) & (jj >= 0) & (jj < X.shape[1])
        hit = np.ones(X.shape, bool)
        hit[ii[ok], jj[ok]] = False
        return ndimage.distance_transform_edt(hit) * coarse_g

    spine_d = line_dist(A[20:])
    free = pmask[::f, ::f] & floor & ~occ & (spine_d > 14) & (line_dist(wall) > 3)
    loops = []

    def place(radius, near=None, prefer_low=True):
        edt = ndimage.distance_transform_edt(free) * coarse_g
        ok = edt >= radius
        if not ok.any():
            return None
        iy, ix = np.nonzero(ok)
        if near is not None:
            dd = np.hypot(X[iy, ix] - near[0], Y[iy, ix] - near[1])
            j = int(np.argmin(dd + rng.uniform(0, 6, dd.size)))
        else:
            # tight spots first (packing), lower ones preferred
            lw = -(edt[iy, ix] - radius) / 2.5 + (Y[iy, ix] / 50.0 if prefer_low else 0.0)
            wgt = np.exp(lw - lw.max())
            j = int(rng.choice(iy.size, p=wgt / wgt.sum()))
        cxy = np.array([X[iy[j], ix[j]], Y[iy[j], ix[j]]], float)
        free[np.hypot(X - cxy[0], Y - cxy[1]) < radius + rng.uniform(0.8, 2.5)] = False
        return cxy

    rtop = anat.rect["skel"][0]
    for _ in range(a["sigmoid_loops"]):
        r = rng.uniform(13, 19) * k
        c = place(r, near=rtop + np.array([-10.0, -25.0]))
        if c is not None:
            loops.append(("sigmoid", c, r, r * rng.uniform(0.7, 1.0), rng.uniform(0, 180)))
    misses = 0
    for _ in range(a["bowel_loops"]):
        r = rng.uniform(7, 14) * k
        c = place(r)
        if c is None:
            misses += 1
            if misses > 4:
                break
            continue
        loops.append(("small", c, r, r * rng.uniform(0.65, 1.0), rng.uniform(0, 180)))
    ovary = None
    if a["ovary"] and anat.ut is not None:
        c = place(13 * k, near=anat.ut["skel"][-1] + np.array([25.0, -5.0]))
        if c is not None:
            ovary = c
    for kind, c, ra, rb, ang in loops:
        d = _rot(np.array([1.0, 0.0]), ang)
        wall_t = rng.uniform(1.5, 2.8)
        if kind == "sigmoid":
            content = "stool" if rng.random() < 0.7 else "gas"
        else:
            content = _pick(rng, {"bowel_fluid": 0.35, "chyme": 0.3, "collapsed": 0.2,
                                  "gas": 0.15})
        cv.ellipse(c, ra, rb, d, "bowel_wall")
        if content == "collapsed":
            cv.ellipse(c, max(ra - wall_t * 2.5, 1), max(rb - wall_t * 2.5, 0.8), d, "chyme")
            continue
        inner_t = "bowel_fluid" if content == "gas" else content
        cv.ellipse(c, ra - wall_t, rb - wall_t, d, inner_t)
        gas_frac = 0.85 if content == "gas" else (rng.uniform(0.1, 0.4) if rng.random() < 0.3
                                                   else 0.0)
        if gas_frac > 0:
            bx = cv.box(c[0] - ra, c[0] + ra, c[1] - ra, c[1] + ra)
            if bx is not None:
                sl, x, y = bx
                h = (x - c[0]) * gdir[0] + (y - c[1]) * gdir[1]
                cv.set(sl, h < -(1 - 2 * gas_frac) * (min(ra, rb) - wall_t), "gas",
                       only=(inner_t,))
        if content == "stool":
            bx = cv.box(c[0] - ra, c[0] + ra, c[1] - ra, c[1] + ra)
            if bx is not None:
                sl, x, y = bx
                bub = ndimage.gaussian_filter(rng.normal(size=x.shape), 1.2 / cv.g)
                cv.set(sl, bub > 2.2 * bub.std(), "gas", only=("stool",))
    # mesenteric vessels
    cav_pts = np.argwhere(free | (pmask[::f, ::f] & floor & ~occ & (spine_d > 14)))
    if cav_pts.size:
        for j in rng.choice(len(cav_pts), size=min(len(cav_pts), int(rng.integers(6, 20))),
                            replace=False):
            iy, ix = cav_pts[j]
            cv.ellipse((X[iy, ix], Y[iy, ix]), rng.uniform(1.0, 2.4), rng.uniform(0.8, 1.6),
                       _rot(np.array([1.0, 0.0]), rng.uniform(0, 180)), "vessel",
                       only=("pelvic_fat",))
    if ovary is not None:
        cv.ellipse(ovary, 14 * k, 9 * k, (1.0, 0.4), "ovary")
        for _ in range(int(rng.integers(2, 7))):
            off = rng.uniform(-1, 1, 2) * np.array([8.0, 4.5]) * k
            cv.ellipse(ovary + off, rng.uniform(1.5, 4.5), rng.uniform(1.5, 4), (1.0, 0.0),
                       "fluid", only=("ovary",))
    if a["free_fluid"]:
        vault = anat.vag["skel"][-1]
        rp = anat.rect["skel"][np.argmin(np.abs(anat.rect["skel"][:, 1] - vault[1]))]
        c = 0.5 * (vault + rp) + np.array([0.0, -10.0])
        cv.ellipse(c, rng.uniform(8, 16), rng.uniform(3, 7), rp - vault, "fluid",
                   only=("pelvic_fat",))

    # --- muscles, ligaments ----------------------------------------------------------
    rect_line = np.concatenate([wall[::-1][:-1] + np.array([-(rt / 2 + 1), 0.0]),
                                [sym_top + np.array([-4.0, -2.0]) * k]])
    if z0 < 2 and anat.th < 7:
        cv.tube(_resample(rect_line, 40), 1.4, tissue="fibrous")
    else:
        cv.tube(_resample(rect_line, 40), rt / 2, tissue="muscle")
    canal_dir = anat.canal_dir0
    cpost = _rot(canal_dir, -90)
    cpost = cpost if cpost[0] > 0 else -cpost
    lev_r = (2.6 if "levator_ballooning" in a["pathology"] else 3.8) * k
    cv.tube(_resample([tip, 0.5 * (tip + anat.levator_end) + np.array([0, 3.0]),
                       anat.levator_end], 12), lev_r, tissue="muscle")
    rac = anat.rect["r_ac"]
    cv.ellipse(anat.arj + cpost * (rac + 7 * k), 8.5 * k, 5.5 * k, canal_dir, "muscle")
    cv.tube(_resample([anat.arj + 0.3 * (av - anat.arj), av], 8),
            rac + 5.5 * k, tissue="muscle", only=("fat", "pelvic_fat", "skin"))
    vlow = anat.vag["skel"][5]
    pb = 0.5 * (vlow + (anat.arj + 0.5 * (av - anat.arj)))
    cv.ellipse(pb, 11 * k, 7 * k, (0.2, 1.0), "perineal")
    cv.tube(_resample([tip, 0.5 * (tip + av) + cpost * 6, av + cpost * (rac + 6)], 10),
            2.0 * k, tissue="fibrous", only=("pelvic_fat", "fat"))

    # --- spine -----------------------------------------------------------------------
    sel = slice(None, None, 2)
    A2, s2 = A[sel], s[sel]
    dmax = float((depth + canal + pwall).max()) + 4
    bx = cv.box(A2[:, 0].min() - 5, A2[:, 0].max() + dmax, A2[:, 1].min() - 5,
                A2[:, 1].max() + dmax)
    if bx is not None:
        sl, x, y = bx
        shape = x.shape
        px_, py_ = x.ravel(), y.ravel()
        tiss = np.full(px_.size, 255, np.uint8)
        for lo in range(0, px_.size, 40000):
            hi = min(lo + 40000, px_.size)
            u, n, _ = _medial(px_[lo:hi], py_[lo:hi], A2)
            ss = u * s2[-1]
            dep = np.interp(ss, s, depth)
            can = np.interp(ss, s, canal)
            pw = np.interp(ss, s, pwall)
            out = np.full(hi - lo, 255, np.uint8)
            inside_body = (n > 0) & (n < dep)
            out[inside_body] = _TID["cortex"]
            core = (n > 1.5) & (n < dep - 1.5)
            seg_kind = np.full(hi - lo, "", object)
            body_core = np.zeros(hi - lo, bool)
            for a0, a1, kind in _spine_segments(anat):
                inn = (ss >= a0) & (ss < a1)
                if kind == "body":
                    body_core |= inn & (ss > a0 + 1.2) & (ss < a1 - 1.2)
                else:
                    seg_kind[inn] = kind
            out[core & body_core] = _TID["marrow"]
            for kind in ("disc", "disc_old"):
                dk = kind
                if kind == "disc" and a["disc_age"] > 0.6:
                    dk = "disc_old"
                out[inside_body & (seg_kind == kind)] = _TID[dk]
            in_canal = (n >= dep) & (n < dep + can) & (can > 0.5)
            thecal = ss > 0.62 * sp
            out[in_canal & thecal] = _TID["csf"] if z0 < 10 else _TID["marrow"]
            out[in_canal & ~thecal] = _TID["pelvic_fat"] if z0 < 8 else _TID["marrow"]
            post = (n >= dep + can) & (n < dep + can + pw) & (pw > 0.5)
            lumbar = ss > sp
            out[post & ~lumbar] = _TID["cortex"]
            out[post & ~lumbar & (n > dep + can + 1.5) & (n < dep + can + pw - 1.5)] = \
                _TID["marrow"]
            if z0 < 8:
                out[post & lumbar] = _TID["fat"]
                out[post & lumbar & (n < dep + can + 0.75 * pw)] = _TID["fibrous"]
            else:
                lam = post & lumbar & (n < dep + can + 10 * k)
                out[post & lumbar] = _TID["muscle"]
                out[lam] = _TID["marrow"]
            tiss[lo:hi] = out
        tiss = tiss.reshape(shape)
        sub = cv.t[sl]
        m = (tiss != 255) & bmask[sl]
        sub[m] = tiss[m]
    if z0 < 8:  # lumbar spinous processes, pointing backwards and down
        for a0, a1, kind in _spine_segments(anat):
            if kind != "body" or a0 < sp:
                continue
            j = int(np.argmin(np.abs(s - 0.5 * (a0 + a1))))
            base = A[j] + nu[j] * (depth[j] + canal[j] + 1.0)
            d = _unit(nu[j] * np.cos(0.45) - t[j] * np.sin(0.45))
            sk = _resample([base, base + 0.5 * 30 * k * d, base + 30 * k * d], 8)
            prof = np.array([9, 8, 6.5, 5.5, 5.5, 6, 6.5, 6.0]) * k
            cv.tube(sk, prof, tissue="cortex", only=("fibrous", "fat"))
            cv.tube(sk, prof - 1.6, tissue="marrow", only=("cortex",))
    # --- pubic symphysis ---------------------------------------------------------------
    ax = anat.symph_axis
    sk = _resample([anat.symph_c - anat.symph_half * ax, anat.symph_c + anat.symph_half * ax],
                   12)
    uu = np.linspace(0, 1, 12)
    prof = anat.symph_thick * np.clip(1 - (2 * uu - 1) ** 4, 0.05, 1) ** 0.5
    cv.tube(sk, prof, tissue="cortex")
    cv.tube(sk, np.maximum(prof - 1.6, 0.3), tissue="marrow")
    if z0 < 2.5 + anat.th / 4:
        cv.tube(sk, np.maximum(prof - 1.6 - 1.2 * anat.th / 6, 0.2), tissue="cartilage")
    # --- vessels -----------------------------------------------------------------------
    i5 = int(np.argmin(np.abs(s - (sp + 30 * k))))
    cv.ellipse(A[i5] - nu[i5] * 12 * k, 9 * k, 6.5 * k, t[i5], "vessel", only=("pelvic_fat",))
    i4 = int(np.argmin(np.abs(s - (sp + 48 * k))))
    cv.ellipse(A[i4] - nu[i4] * 24 * k, 5 * k, 5 * k, t[i4], "vessel", only=("pelvic_fat",))
    cv.ellipse(anat.symph_c + anat.symph_post * (anat.symph_thick + 5) - 6 * ax, 3.5, 2.2, ax,
               "vessel", only=("pelvic_fat",))
    # --- skin --------------------------------------------------------------------------
    inside = cv.t != _TID["air"]
    edt = ndimage.distance_transform_edt(inside) * cv.g
    cv.t[inside & (edt < 1.8)] = _TID["skin"]
    ant_skin = ant
    return {"body_mask": inside, "ant_skin": ant_skin, "dorsal": dorsal, "gdir": gdir,
            "bowel_loops": len([lp for lp in loops if lp[0] == "small"]),
            "sigmoid_loops": len([lp for lp in loops if lp[0] == "sigmoid"]),
            "ovary_drawn": ovary is not None}


# ----------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------
_GAMMA_HZ_PER_T = 42.577e6
_CHI_AIR = 9.4e-6


def _texture(rng, shape, sigma):
    t = ndimage.gaussian_filter(rng.normal(size=shape), sigma, mode="wrap")
    return (t / max(t.std(), 1e-9)).astype(np.float32)


class _Renderer:
    def __init__(self, params: dict):
        self.p = params
        img = params["imaging"]
        self.img = img
        a = params["anatomy"]
        rng = np.random.default_rng([int(params["seed"]), 0x7E87])
        self.rng_noise = np.random.default_rng([int(params["seed"]), 0x401E])
        self.anat = _Anatomy(params, rng)
        self.sw, self.sf = _signal_table(img, a["rectal_gel_doped"])
        self.H, self.W = params["matrix"]
        self.sr, self.sc = params["spacing_mm"]
        self.pxmm = 0.5 * (self.sr + self.sc)
        n = params["n_frames"]
        self.n = n
        self.dt = params["frame_interval_s"]
        self.strain = _strain_curve(params)
        self.evac, self.open = _evacuation(params)
        mo = params["motion"]
        br = mo["breathing"]
        tt = np.arange(n) * self.dt
        self.breath = 0.5 * (1 - np.cos(2 * np.pi * tt / br["period_s"] + br["phase"]))
        # rigid motion: mean-reverting random walk plus an optional jump
        rg = mo["rigid"]
        tau = np.zeros((n, 2))
        rot = np.zeros(n)
        for i in range(1, n):
            tau[i] = 0.75 * tau[i - 1] + rng.normal(0, rg["sigma_mm"], 2)
            rot[i] = 0.75 * rot[i - 1] + rng.normal(0, rg["sigma_deg"])
        if rg["jump_frame"] is not None and rg["jump_frame"] < n:
            tau[rg["jump_frame"]:] += np.asarray(rg["jump_mm"])
        self.tau, self.rot = tau, rot
        self.tilt = a["pelvic_tilt_deg"]
        self.c_pel = np.asarray(params["fov_centre_mm"], float)
        ii, jj = np.mgrid[0:self.H, 0:self.W].astype(np.float32)
        self.SY = (ii - (self.H - 1) / 2) * self.sr
        self.SX = (jj - (self.W - 1) / 2) * self.sc
        # background canvas covering every frame's field of view
        cx, cy = self.pelvis_coords(self.SX[[0, 0, -1, -1], [0, -1, 0, -1]],
                                    self.SY[[0, 0, -1, -1], [0, -1, 0, -1]], 0)
        margin = 45.0
        g = max(0.55, 0.7 * min(self.sr, self.sc))
        x0, y0 = cx.min() - margin, cy.min() - margin
        hb = int(np.ceil((cy.max() + margin - y0) / g)) + 1
        wb = int(np.ceil((cx.max() + margin - x0) / g)) + 1
        cv = _Canvas(x0, y0, g, hb, wb)
        self.canvas = cv
        self.land = _paint_background(self.anat, cv, rng, params)
        tex = _texture(rng, cv.t.shape, 1.6 / g)
        tex2 = _texture(rng, cv.t.shape, 5.0 / g)
        t = cv.t
        wch = self.sw[t] * (1 + 0.07 * tex + 0.06 * tex2)
        pf = t == _TID["pelvic_fat"]
        wch[pf] *= 1 + 0.5 * np.clip(tex[pf] - 0.8, 0, None)
        fch = self.sf[t] * (1 + 0.04 * tex2)
        fch[pf] *= 1 - 0.25 * np.clip(tex[pf] - 0.8, 0, 1)
        gch = np.isin(t, [_TID[x] for x in _GAS_TISSUES]).astype(np.float32)
        sig = 0.45
        self.bg = [np.ascontiguousarray(ndimage.gaussian_filter(c.astype(np.float32), sig))
                   for c in (wch, fch, gch)]
        # organ textures in medial coordinates
        self.otex = _texture(rng, (160, 96), 2.0)
        self.otex_fine = _texture(rng, (160, 96), 0.8)
        # anchors (zero displacement) on the bones and the back
        an = self.anat
        ax = an.symph_axis
        sym = an.symph_c + np.outer(np.linspace(-1, 1, 9) * an.symph_half, ax)
        self.anchors = np.concatenate([sym, an.spine_ant[::3], self.land["dorsal"][::4]])
        self._scanner_maps()
        self.sigma_noise = None
        self.shim = None

    # -- coordinates ---------------------------------------------------------------------
    def pelvis_coords(self, sx, sy, i):
        th = np.deg2rad(self.tilt + self.rot[i])
        c, s = np.cos(th), np.sin(th)
        cx, cy = self.c_pel + self.tau[i]
        return cx + c * sx + s * sy, cy - s * sx + c * sy

    def pixel_coords(self, px, py, i):
        th = np.deg2rad(self.tilt + self.rot[i])
        c, s = np.cos(th), np.sin(th)
        cx, cy = self.c_pel + self.tau[i]
        dx, dy = px - cx, py - cy
        sx, sy = c * dx - s * dy, s * dx + c * dy
        return sy / self.sr + (self.H - 1) / 2, sx / self.sc + (self.W - 1) / 2

    # -- scanner-frame maps --------------------------------------------------------------
    def _scanner_maps(self):
        img = self.img
        cl = img["coil"]
        ant = self.land["ant_skin"]
        dors = self.land["dorsal"]
        elems = []
        for count, line, sign in ((cl["anterior"], ant, -1), (cl["posterior"], dors, 1)):
            ys = np.linspace(-150, 25, count) * self.anat.k
            order = np.argsort(line[:, 1])
            xs = np.interp(ys, line[order, 1], line[order, 0])
            for x, y in zip(xs, ys, strict=True):
                elems.append((x + sign * cl["gap_mm"], y))
        px, py = self.pelvis_coords(self.SX, self.SY, 0)
        tot = np.zeros_like(px)
        for j, (ex, ey) in enumerate(elems):
            d2 = (px - ex) ** 2 + (py - ey) ** 2
            tot += (cl["weights"][j % 8] / (1 + d2 / cl["element_mm"] ** 2) ** 1.5) ** 2
        coil = np.sqrt(tot)
        bx, by = self.bg_index(px, py)
        body = ndimage.map_coordinates(self.land["body_mask"].astype(np.float32), [by, bx],
                                       order=1, mode="nearest") > 0.5
        self.body0 = body
        ref = np.percentile(coil[body], 90) if body.any() else coil.max()
        self.coil = (coil / max(ref, 1e-9)).astype(np.float32)
        b1 = img["b1_shading"]
        cxy = np.array([px[body].mean(), py[body].mean()]) if body.any() else np.zeros(2)
        cxy = cxy + np.asarray(b1["centre_mm"])
        self.b1 = (1 + b1["amplitude"] * np.exp(-((px - cxy[0]) ** 2 + (py - cxy[1]) ** 2)
                                                 / (2 * b1["sigma_mm"] ** 2))).astype(np.float32)
        pp = img["phase_poly"]
        self.phase = (pp[0] + pp[1] * self.SX / 100 + pp[2] * self.SY / 100
                      + pp[3] * self.SX * self.SY / 1e4).astype(np.float32)
        self.ant_region = (np.clip(-px / 40, 0, 1) * (py < 0)).astype(np.float32)

    def bg_index(self, px, py):
        cv = self.canvas
        return (px - cv.x0) / cv.g, (py - cv.y0) / cv.g

    # -- background displacement field ----------------------------------------------------
    def _field(self, i, rest, cur, b, sp):
        st = max(2, int(round(10.0 / self.pxmm)))
        ci = np.arange(0, self.H + st, st, dtype=np.float32)
        cj = np.arange(0, self.W + st, st, dtype=np.float32)
        jj, ii = np.meshgrid(cj, ci)
        sy = (ii - (self.H - 1) / 2) * self.sr
        sx = (jj - (self.W - 1) / 2) * self.sc
        px, py = self.pelvis_coords(sx, sy, i)
        pts = np.stack([px.ravel(), py.ravel()], -1).astype(np.float32)
        an = self.anat
        q = np.concatenate([cur, self.anchors]).astype(np.float32)
        dq = np.concatenate([cur - rest, np.zeros_like(self.anchors)]).astype(np.float32)
        resid = dq - an.glob(q, b, sp)
        sig = 17.0
        d2 = (pts * pts).sum(1)[:, None] + (q * q).sum(1)[None, :] - 2 * pts @ q.T
        wgt = np.exp(np.maximum(d2, 0) * (-1 / (2 * sig * sig)))
        den = wgt.sum(1) + 0.04
        g = an.glob(pts, b, sp)
        res = (wgt @ resid) / den[:, None]
        # no folding: where the backward map x -> x - D(x) would fold (Jacobian determinant
        # small), the organ-driven part is damped (the background then lags the organs)
        th = np.deg2rad(self.tilt + self.rot[i])
        rt = np.array([[np.cos(th), np.sin(th)], [-np.sin(th), np.cos(th)]])  # p = rt @ s
        for _ in range(5):
            disp = g + res
            dx = disp[:, 0].reshape(px.shape)
            dy = disp[:, 1].reshape(px.shape)
            gxr, gxc = np.gradient(dx, st * self.sr, st * self.sc)
            gyr, gyc = np.gradient(dy, st * self.sr, st * self.sc)
            # d(D)/d(p) = d(D)/d(s) @ rt.T with s = (col, row) scanner axes
            a11 = gxc * rt[0, 0] + gxr * rt[0, 1]
            a12 = gxc * rt[1, 0] + gxr * rt[1, 1]
            a21 = gyc * rt[0, 0] + gyr * rt[0, 1]
            a22 = gyc * rt[1, 0] + gyr * rt[1, 1]
            det = (1 - a11) * (1 - a22) - a12 * a21
            if det.min() > 0.3:
                break
            bad = ndimage.gaussian_filter((det < 0.35).astype(np.float32), 1.0)
            res = res * (1 - 0.35 * np.clip(3 * bad, 0, 1)).reshape(-1, 1)
        fi, fj = np.mgrid[0:self.H, 0:self.W].astype(np.float32)
        up = _gather([dx.astype(np.float32), dy.astype(np.float32)], fi / st, fj / st)
        return up[0].reshape(self.H, self.W), up[1].reshape(self.H, self.W)

    # -- organs ----------------------------------------------------------------------------
    def _eval(self, obj: _Obj, PX, PY, i):
        rmax = max(obj.rp.max(), obj.rn.max()) + 2 * self.pxmm + 1
        pts = obj.skel
        xmin, xmax = pts[:, 0].min() - rmax, pts[:, 0].max() + rmax
        ymin, ymax = pts[:, 1].min() - rmax, pts[:, 1].max() + rmax
        for cx, cy, r, _ in obj.discs:
            xmin, xmax = min(xmin, cx - r - 2), max(xmax, cx + r + 2)
            ymin, ymax = min(ymin, cy - r - 2), max(ymax, cy + r + 2)
        ci, cj = self.pixel_coords(np.array([xmin, xmin, xmax, xmax]),
                                   np.array([ymin, ymax, ymin, ymax]), i)
        i0, i1 = int(max(np.floor(ci.min()), 0)), int(min(np.ceil(ci.max()) + 1, self.H))
        j0, j1 = int(max(np.floor(cj.min()), 0)), int(min(np.ceil(cj.max()) + 1, self.W))
        if i1 <= i0 or j1 <= j0:
            return None
        sl = (slice(i0, i1), slice(j0, j1))
        px, py = PX[sl].ravel(), PY[sl].ravel()
        hh, ww = i1 - i0, j1 - j0
        if hh * ww > 900:
            # medial coordinates on every second pixel, bilinear in between
            ri = np.arange(hh // 2 + 1, dtype=np.float32) * 2 + i0
            rj = np.arange(ww // 2 + 1, dtype=np.float32) * 2 + j0
            gj, gi = np.meshgrid(rj, ri)
            cx, cy = self.pelvis_coords((gj - (self.W - 1) / 2) * self.sc,
                                        (gi - (self.H - 1) / 2) * self.sr, i)
            _, u, n, dist, _ = _eval_obj(obj, cx.ravel(), cy.ravel())
            shp = gi.shape
            u = _up2(u.reshape(shp), hh, ww).ravel()
            dist = _up2(dist.reshape(shp), hh, ww).ravel()
            n = np.where(_up2(n.reshape(shp), hh, ww).ravel() >= 0, dist, -dist)
            ug = np.linspace(0, 1, obj.skel.shape[0])
            r = np.where(n >= 0, np.interp(u, ug, obj.rp), np.interp(u, ug, obj.rn))
        else:
            _, u, n, dist, r = _eval_obj(obj, px, py)
        lat = self.anat._lat(obj.w_lat)
        pm = self.pxmm
        occ = np.mean([np.clip(0.5 - (dist - r * c) / pm, 0, 1) for c in lat], axis=0)
        reff = r * lat.mean()
        dc = dist - reff
        disc_w = []
        for cx, cy, rd, _ in obj.discs:
            dd = np.hypot(px - cx, py - cy)
            o2 = np.mean([np.clip(0.5 - (dd - rd * c) / pm, 0, 1) for c in lat], axis=0)
            occ = np.maximum(occ, o2)
            dc = np.minimum(dc, dd - rd * lat.mean())
            disc_w.append(np.clip((rd * lat.mean() - dd) / pm + 0.5, 0, 1))
        return {"sl": sl, "shape": (i1 - i0, j1 - j0), "px": px, "py": py, "u": u, "n": n,
                "dist": dist, "r": reff, "occ": occ, "dc": dc, "discs": disc_w}

    def _tex(self, ev, scale_u, offset, fine=False):
        t = self.otex_fine if fine else self.otex
        cu = np.mod(ev["u"] * scale_u + offset, t.shape[0] - 1)
        cn = np.clip(ev["n"] / 2.0 + t.shape[1] / 2, 0, t.shape[1] - 1)
        return ndimage.map_coordinates(t, [cu, cn], order=1, mode="nearest")

    def _inside(self, ev, radius):
        """Soft weight of |n| < radius."""
        return np.clip((radius - np.abs(ev["n"])) / self.pxmm + 0.5, 0, 1)

    def _organ_signal(self, obj: _Obj, ev, gdir):
        sw = self.sw
        T = _TID
        a = self.p["anatomy"]
        an = np.abs(ev["n"])
        depth = ev["r"] - ev["dist"]
        gas = np.zeros_like(an)
        pm = self.pxmm
        if obj.name == "bladder":
            wt = obj.info["wall"] * (1 + 0.6 * np.clip(1 - ev["u"] / 0.12, 0, 1))
            uw = np.clip((depth - wt) / pm + 0.5, 0, 1)
            w = sw[T["detrusor"]] * (1 - uw) + sw[T["urine"]] * uw
            w = w * (1 + 0.05 * self._tex(ev, 40, 3))
            return w, gas
        if obj.name == "urethra":
            frac = an / np.maximum(ev["r"], 0.5)
            w = np.where(frac > 0.55, sw[T["urethra_muscle"]],
                         np.where(frac > 0.18, sw[T["urethra_submucosa"]], sw[T["vagina_wall"]]))
            return w, gas
        if obj.name == "vagina":
            ug = np.linspace(0, 1, obj.skel.shape[0])
            lum = np.interp(ev["u"], ug, obj.info["lumen"])
            gel = a["vaginal_gel"]
            lumen = np.where(lum > 0.3, lum, 0.5)
            lw = self._inside(ev, lumen)
            mw = np.clip(self._inside(ev, lumen + 1.6) - lw, 0, 1)
            ww = 1 - lw - mw
            lum_sig = sw[T["gel"]] if gel else sw[T["mucus"]]
            w = lw * lum_sig + mw * sw[T["vagina_mucosa"]] + ww * sw[T["vagina_wall"]]
            return w * (1 + 0.06 * self._tex(ev, 50, 20)), gas
        if obj.name == "uterus":
            return self._uterus_signal(obj, ev), gas
        if obj.name == "rectum":
            return self._rectum_signal(obj, ev, gdir)
        # herniated bowel
        wall = np.clip((depth - 2.2) / pm + 0.5, 0, 1)
        if obj.info["kind"] == "enterocele":
            tex = self._tex(ev, 60, 70)
            inner = np.where(tex > 0.9, sw[T["chyme"]], sw[T["bowel_fluid"]])
            gas = wall * (self._tex(ev, 60, 90, True) > 1.9)
        else:
            inner = sw[T["stool"]] * (0.7 + 0.5 * self._tex(ev, 60, 80, True))
            gas = wall * (self._tex(ev, 60, 100, True) > 1.6)
        w = (1 - wall) * sw[T["bowel_wall"]] + wall * inner
        return w * (1 - gas), gas

    def _uterus_signal(self, obj, ev):
        sw = self.sw
        T = _TID
        ut = self.p["anatomy"]["uterus"]
        pm = self.pxmm
        length = _arclen(obj.skel)
        scale = length / (obj.info["lc"] + obj.info["lb"])
        lc, lb = obj.info["lc"] * scale, obj.info["lb"] * scale
        s = ev["u"] * length
        an = np.abs(ev["n"])
        reff = np.maximum(ev["r"], 1.0)
        cz = 1 - _smooth((s - lc + 4) / 8)
        tb = np.clip((s - lc) / (0.86 * lb), 0, 1)
        e = ut["endometrium_mm"] * np.clip(np.sin(np.pi * tb), 0, 1) ** 0.6 * (s > lc)
        jz = ut["junctional_mm"]
        endo = np.clip((e - an) / pm + 0.5, 0, 1) * (e > 0.05)
        jzw = np.clip(np.clip((e + jz - an) / pm + 0.5, 0, 1) * (s > lc - 3) - endo, 0, 1)
        myo = "myometrium_old" if ut["state"] == "atrophic" else "myometrium"
        mw = 1 - endo - jzw
        tex = self._tex(ev, 45, 40)
        body = endo * sw[T["endometrium"]] + jzw * sw[T["junctional"]] + mw * sw[T[myo]] * (
            1 + 0.07 * tex)
        if ut.get("subtype") == "adenomyosis":
            foci = (self._tex(ev, 90, 55, True) > 1.7) & (jzw > 0.5)
            body = np.where(foci, sw[T["mucus"]] * 0.8, body)
        canal = np.clip((1.0 - an) / pm + 0.5, 0, 1)
        muc = np.clip(np.clip((2.6 - an) / pm + 0.5, 0, 1) - canal, 0, 1)
        strom = np.clip(np.clip((0.64 * reff - an) / pm + 0.5, 0, 1) - canal - muc, 0, 1)
        outer = 1 - canal - muc - strom
        cerv = (canal * sw[T["mucus"]] + muc * sw[T["endometrium"]] * 0.85
                + strom * sw[T["cervix_stroma"]] + outer * sw[T[myo]] * 0.95)
        w = cz * cerv + (1 - cz) * body
        ug = np.linspace(0, 1, obj.skel.shape[0])
        nrm = _normals(obj.skel)
        for uc, nf, rr in ut["nabothian"]:
            sc = uc * lc / length
            i = int(round(sc * (obj.skel.shape[0] - 1)))
            rad = np.interp(sc, ug, obj.rp if nf >= 0 else obj.rn)
            c = obj.skel[i] + nrm[i] * nf * rad * 0.7
            dd = np.hypot(ev["px"] - c[0], ev["py"] - c[1])
            cw = np.clip((rr - dd) / pm + 0.5, 0, 1)
            w = (1 - cw) * w + cw * sw[T["fluid"]]
        if ut.get("sac_mm"):
            sc = (lc + 0.55 * lb) / length
            i = int(round(sc * (obj.skel.shape[0] - 1)))
            dd = np.hypot(ev["px"] - obj.skel[i, 0], ev["py"] - obj.skel[i, 1])
            rr = ut["sac_mm"] * 0.5 * self.anat._lat(ut["sac_mm"] * 0.8).mean()
            ring = np.clip((rr + 3 - dd) / pm + 0.5, 0, 1)
            cw = np.clip((rr - dd) / pm + 0.5, 0, 1)
            w = (1 - ring) * w + (ring - cw) * sw[T["endometrium"]] + cw * sw[T["fluid"]]
        for (cx, cy, _rd, degen), dw in zip(obj.discs, ev["discs"], strict=True):
            fsig = sw[T["fibroid"]] * (1 + 0.08 * self._tex(ev, 70, 33, True))
            if degen:
                dd = np.hypot(ev["px"] - cx, ev["py"] - cy)
                core = np.clip((0.55 * _rd - dd) / pm + 0.5, 0, 1)
                fsig = (1 - core) * fsig + core * sw[T["degenerate"]]
            w = (1 - dw) * w + dw * fsig
        return w

    def _rectum_signal(self, obj, ev, gdir):
        sw = self.sw
        T = _TID
        a = self.p["anatomy"]
        info = obj.info
        pm = self.pxmm
        u = ev["u"]
        an = np.abs(ev["n"])
        canal = u > info["u_arj"]
        content = a["rectal_content"]
        wall = info["wall"] * (1 + 0.4 * (1 - info["content"]))
        rc = np.where(canal, info["lumen"], np.maximum(ev["r"] - wall, 0.0))
        if content == "empty":
            rc = np.where(canal, rc, np.minimum(rc, 1.0))
        cw = np.clip((rc - an) / pm + 0.5, 0, 1) * (rc > 0.05)
        mucw = np.clip(np.clip((rc + 1.3 - an) / pm + 0.5, 0, 1) - cw, 0, 1)
        musc = 1 - cw - mucw
        wall_sig = np.where(canal, sw[T["anal_sphincter"]], sw[T["rectal_muscle"]])
        w = mucw * sw[T["rectal_mucosa"]] + musc * wall_sig
        gas = np.zeros_like(an)
        fill_sig = {"gel": sw[T["gel"]], "stool": sw[T["stool"]], "gas": sw[T["stool"]],
                    "empty": sw[T["mucus"]]}[content]
        cont = np.full(an.shape, fill_sig, dtype=np.float64)
        gfrac = a["rectal_gas_fraction"]
        if content == "stool":
            tex = self._tex(ev, 60, 10, True)
            cont = sw[T["stool"]] * np.clip(0.6 + 0.45 * tex, 0.15, 1.6)
            gas = (tex > 1.5) * 1.0
        inside = (cw > 0.5) & ~canal
        if gfrac > 0 and inside.sum() > 4:
            h = ev["px"] * gdir[0] + ev["py"] * gdir[1]
            thr = np.quantile(h[inside], gfrac)
            pocket = np.clip((thr - h) / pm + 0.5, 0, 1) * (~canal)
            gas = np.maximum(gas, pocket)
        # intussusception: infolded rectal wall inside the lumen
        if "intussusception" in a["pathology"] and info["s"] > 0.05:
            ua = info["u_arj"]
            u0 = 0.35 * ua
            length = 0.45 * ua * info["s"]
            ramp = np.clip((u - u0) / max(length, 1e-3), 0, 1) * (u < u0 + length)
            centre = rc * (1 - 0.6 * ramp)
            fold = np.clip((2.6 - np.abs(an - centre)) / pm + 0.5, 0, 1) * (ramp > 0) * cw
            cont = (1 - fold) * cont + fold * sw[T["rectal_muscle"]]
            gas = gas * (1 - fold)
        w = w + cw * cont * (1 - gas)
        return w * (1 + 0.05 * self._tex(ev, 50, 120)), gas * cw

    # -- one frame -----------------------------------------------------------------------------
    def frame(self, i: int):
        H, W = self.H, self.W
        s = float(self.strain[i])
        sp = max(s, 0.0)
        b = float(self.breath[i])
        PX, PY = self.pelvis_coords(self.SX, self.SY, i)
        objs, rest, cur = self.anat.pose(s, float(self.evac[i]), float(self.open[i]), b)
        dx, dy = self._field(i, rest, cur, b, sp)
        bx, by = self.bg_index(PX - dx, PY - dy)
        bgw, bgf, bgg = _gather(self.bg, by, bx).reshape(3, H, W)
        best = np.full((H, W), np.inf, np.float32)
        second = np.full((H, W), np.inf, np.float32)
        owner = np.full((H, W), -1, np.int16)
        evs = []
        for k, ob in enumerate(objs):
            ev = self._eval(ob, PX, PY, i)
            evs.append(ev)
            if ev is None:
                continue
            sl = ev["sl"]
            e = np.where(ev["occ"] >= 0.5, ev["dc"] * ob.stiff, np.inf).reshape(ev["shape"])
            b0, s0, o0 = best[sl], second[sl], owner[sl]
            better = e < b0
            s0[:] = np.where(better, b0, np.minimum(s0, e))
            b0[:] = np.where(better, e, b0)
            o0[:] = np.where(better, k, o0)
        lab_of = np.array([ob.label for ob in objs] + [0], np.uint8)
        labels = lab_of[owner]
        for lv in (1, 2, 3):
            m = labels == lv
            if not m.any():
                continue
            cc, nc = ndimage.label(m)
            if nc > 1:
                sizes = ndimage.sum_labels(m, cc, index=np.arange(1, nc + 1))
                drop = m & (cc != 1 + int(np.argmax(sizes)))
                labels[drop] = 0
                owner[drop] = -1
        gdir = self.land["gdir"]
        th = np.deg2rad(self.tilt + self.rot[i])
        gp = np.array([np.cos(th) * gdir[0] + np.sin(th) * gdir[1],
                       -np.sin(th) * gdir[0] + np.cos(th) * gdir[1]])
        fsum = np.zeros((H, W), np.float32)
        wsum = np.zeros((H, W), np.float32)
        gsum = np.zeros((H, W), np.float32)
        for k, (ob, ev) in enumerate(zip(objs, evs, strict=True)):
            if ev is None:
                continue
            sl = ev["sl"]
            own = owner[sl].ravel()
            f = ev["occ"] * ((own == k) | (own == -1))
            sec = second[sl].ravel()
            fin = np.isfinite(sec)
            with np.errstate(invalid="ignore"):
                gap = sec - best[sl].ravel()
            seam = np.clip(np.where(fin, gap, 99.0) / 1.6, 0, 1)
            f = f * np.where((own == k) & fin, 0.6 + 0.4 * seam, 1.0)
            if not f.any():
                continue
            w, g = self._organ_signal(ob, ev, gp)
            fsum[sl] += f.reshape(ev["shape"])
            wsum[sl] += (f * w).reshape(ev["shape"])
            gsum[sl] += (f * g).reshape(ev["shape"])
        over = np.maximum(fsum, 1.0)
        fsum, wsum, gsum = fsum / over, wsum / over, gsum / over
        water = bgw * (1 - fsum) + wsum
        fatc = bgf * (1 - fsum)
        gas = np.clip(bgg * (1 - fsum) + gsum, 0, 1)
        return self._acquire(i, water, fatc, gas, labels)

    # -- acquisition ---------------------------------------------------------------------
    def _acquire(self, i, water, fatc, gas, labels):
        img = self.img
        H, W = self.H, self.W
        b0 = img["field_strength_T"]
        seq = img["sequence"]
        ro_axis = 0 if img["phase_encode"] == "AP" else 1
        pe_axis = 1 - ro_axis
        # off-resonance from air and gas (2D dipole kernel), shimmed
        if self.shim is None:
            ky = np.fft.fftfreq(H, d=self.sr)[:, None]
            kx = np.fft.rfftfreq(W, d=self.sc)[None, :]
            k2 = kx ** 2 + ky ** 2
            k2[0, 0] = 1.0
            kb = ky if img["b0_axis"] == "HF" else kx
            kern = 1 / 3 - kb ** 2 / k2
            kern[0, 0] = 0.0
            g1 = np.exp(-2 * (np.pi ** 2) * ((ky * self.sr) ** 2 + (kx * self.sc) ** 2))
            self.dipole = (kern * g1 * _GAMMA_HZ_PER_T * b0 * _CHI_AIR).astype(np.complex64)
        df = np.fft.irfft2(np.fft.rfft2(gas) * self.dipole, s=(H, W))
        body = gas < 0.5
        if self.shim is None:
            yy, xx = np.nonzero(body[::4, ::4])
            if yy.size > 10:
                yy, xx = yy * 4.0 / H, xx * 4.0 / W
                A = np.stack([np.ones_like(yy), yy, xx, yy * yy, xx * xx, yy * xx], -1)
                self.shim = np.linalg.lstsq(A, df[::4, ::4][body[::4, ::4]], rcond=None)[0]
            else:
                self.shim = np.zeros(6)
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
            yy, xx = yy / H, xx / W
            c = self.shim
            self.shim_map = (c[0] + c[1] * yy + c[2] * xx + c[3] * yy * yy + c[4] * xx * xx
                             + c[5] * yy * xx).astype(np.float32)
            self.phase_c = (self.coil * self.b1 * np.exp(1j * self.phase)).astype(np.complex64)
        df = ((df - self.shim_map) * img["shim_residual"] + img["f0_offset_hz"]).astype(
            np.float32)
        bw = img["bandwidth_hz_px"]
        fws = 3.5e-6 * _GAMMA_HZ_PER_T * b0
        # fat: chemical shift along the readout, suppression failing off resonance
        cs = img["chemical_shift_sign"] * fws / bw if img["readout"] == "cartesian" else 0.0
        if abs(cs) > 0.02:
            k0 = int(np.floor(cs))
            fr = cs - k0
            fatc = ((1 - fr) * np.roll(fatc, k0, axis=ro_axis)
                    + fr * np.roll(fatc, k0 + 1, axis=ro_axis))
        if img["fat_suppression"]:
            res = img["fat_suppression_residual"]
            fatc = fatc * (res + (1 - res) * np.clip((np.abs(df) - 0.3 * fws) / (0.4 * fws),
                                                     0, 1))
            water = water * 0.95
        sig = water + fatc
        if seq == "bssfp":
            ph = np.mod(2 * np.pi * df * img["tr_ms"] * 1e-3, 2 * np.pi) - np.pi
            sig = sig * (1 - 0.9 * np.exp(-(ph / 0.35) ** 2))
        if seq != "haste":
            gy, gx = np.gradient(df, self.sr, self.sc)
            grad = np.hypot(gx, gy)
            te = img["te_ms"] * 1e-3
            sig = sig * np.abs(np.sinc(te * grad * self.pxmm)) * np.abs(
                np.sinc(te * grad * 0.5 * img["slice_thickness_mm"]))
        # geometric distortion along the readout (labels move with the pixels)
        if img["readout"] == "cartesian":
            shift = np.clip(df / bw, -3, 3)
            if np.abs(shift).max() > 0.2:
                fi, fj = np.mgrid[0:H, 0:W].astype(np.float32)
                if ro_axis == 0:
                    fi = fi - shift
                else:
                    fj = fj - shift
                sig = ndimage.map_coordinates(sig, [fi, fj], order=1, mode="nearest")
                labels = ndimage.map_coordinates(labels, [fi, fj], order=0, mode="nearest")
                labels = _largest_pieces(labels)
        # coil sensitivity, B1 shading, image phase, ghosts
        cplx = sig.astype(np.float32) * self.phase_c
        gh = img["ghosting"]
        if gh:
            sh = int(round(gh["shift_frac"] * (W if pe_axis == 1 else H)))
            wob = 0.6 + 0.4 * np.sin(2 * np.pi * i * self.dt / 4.0)
            g = cplx * self.ant_region * gh["amplitude"] * wob
            cplx = cplx + np.roll(g, sh, axis=pe_axis) + np.roll(g, -sh, axis=pe_axis)
        if self.sigma_noise is None:
            ref = np.abs(cplx)[self.body0]
            self.sigma_noise = float(np.mean(ref) / self.p["snr"]) if ref.size else 1e-3
        ksp = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(cplx), norm="ortho"))
        mask, wts = self._sampling(i, ro_axis)
        nsamp = max(int(mask.sum()), 1)
        sk = self.sigma_noise * np.sqrt(H * W / nsamp)
        noise = self.rng_noise.normal(0, sk, (2, H, W)).astype(np.float32)
        ksp = (ksp + (noise[0] + 1j * noise[1])) * mask * wts
        out = np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(ksp), norm="ortho")))
        cl = img["coil"]
        if cl["normalized"]:
            out = out / np.maximum(self.coil, 0.05) ** cl["normalize_power"]
        out = out * img["gain"]
        return out.astype(np.float32), labels

    def _sampling(self, i, ro_axis):
        img = self.img
        H, W = self.H, self.W
        acq_ro, acq_pe = img["acquired_matrix"]
        n_ax = [0, 0]
        n_ax[ro_axis] = acq_ro
        n_ax[1 - ro_axis] = acq_pe
        ky = (np.arange(H) - H // 2)[:, None].astype(np.float32)
        kx = (np.arange(W) - W // 2)[None, :].astype(np.float32)
        rdo = img["readout"]
        if rdo == "cartesian":
            mask = (np.abs(ky) < n_ax[0] / 2) & (np.abs(kx) < n_ax[1] / 2)
            kpe = ky if ro_axis == 1 else kx
            n_pe = n_ax[1 - ro_axis]
            m0 = n_pe * (img["partial_fourier"] - 0.5)
            mask = mask & (kpe >= -m0)
            wts = np.ones((H, W), np.float32)
            if img["sequence"] == "haste":
                wts = wts * np.exp(-img["echo_spacing_ms"] * np.clip(kpe, -m0, None)
                                   / img["t2_blur_ms"])
        else:
            mask = np.zeros((H, W), bool)
            golden = 111.246
            if rdo == "radial":
                nsp = img["spokes"]
                ang = np.deg2rad((i * nsp + np.arange(nsp)) * golden)
                r = np.linspace(-1, 1, 2 * max(n_ax) + 1)
                yy = np.rint(np.outer(np.sin(ang), r) * n_ax[0] / 2 + H // 2).astype(int)
                xx = np.rint(np.outer(np.cos(ang), r) * n_ax[1] / 2 + W // 2).astype(int)
            else:
                ni = img["interleaves"]
                turns = max(n_ax) / (2 * ni * img["spiral_undersampling"])
                tt = np.linspace(0, 1, int(40 * turns * 2 * np.pi) + 200)
                yy, xx = [], []
                for j in range(ni):
                    ph = 2 * np.pi * j / ni + np.deg2rad(i * golden)
                    arg = 2 * np.pi * turns * tt + ph
                    yy.append(tt * np.sin(arg) * n_ax[0] / 2 + H // 2)
                    xx.append(tt * np.cos(arg) * n_ax[1] / 2 + W // 2)
                yy = np.rint(np.concatenate(yy)).astype(int)
                xx = np.rint(np.concatenate(xx)).astype(int)
            ok = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
            mask[yy[ok], xx[ok]] = True
            wts = np.ones((H, W), np.float32)
        ap = img["apodization"]
        wts = wts * (1 - ap * np.clip(ky / (n_ax[0] / 2), -1, 1) ** 2) * (
            1 - ap * np.clip(kx / (n_ax[1] / 2), -1, 1) ** 2)
        return mask, wts


def _up2(a: np.ndarray, hh: int, ww: int) -> np.ndarray:
    """Bilinear doubling of a coarse grid (coarse node k at fine index 2k), cropped."""
    r = np.empty((2 * a.shape[0] - 1, a.shape[1]), a.dtype)
    r[0::2] = a
    r[1::2] = 0.5 * (a[:-1] + a[1:])
    c = np.empty((r.shape[0], 2 * a.shape[1] - 1), a.dtype)
    c[:, 0::2] = r
    c[:, 1::2] = 0.5 * (r[:, :-1] + r[:, 1:])
    return c[:hh, :ww]


def _gather(stack: np.ndarray, by: np.ndarray, bx: np.ndarray) -> np.ndarray:
    """Bilinear samples (C, N) of a list/stack of C (H, W) maps at fractional (row, col)."""
    h, w = stack[0].shape
    by = np.clip(by, 0, h - 1.001).ravel()
    bx = np.clip(bx, 0, w - 1.001).ravel()
    i0 = by.astype(np.int32)
    j0 = bx.astype(np.int32)
    fy = (by - i0).astype(np.float32)
    fx = (bx - j0).astype(np.float32)
    idx = i0 * w + j0
    w11 = fx * fy
    w10 = fy - w11
    w01 = fx - w11
    w00 = 1 - fx - fy + w11
    out = []
    for ch in stack:
        f = ch.ravel()
        out.append(np.take(f, idx) * w00 + np.take(f, idx + 1) * w01
                   + np.take(f, idx + w) * w10 + np.take(f, idx + w + 1) * w11)
    return np.stack(out)


def _largest_pieces(labels: np.ndarray) -> np.ndarray:
    labels = labels.copy()
    for lv in (1, 2, 3):
        m = labels == lv
        if not m.any():
            continue
        cc, nc = ndimage.label(m)
        if nc > 1:
            sizes = ndimage.sum_labels(m, cc, index=np.arange(1, nc + 1))
            labels[m & (cc != 1 + int(np.argmax(sizes)))] = 0
    return labels


# ----------------------------------------------------------------------------------------
# public interface
# ----------------------------------------------------------------------------------------
def render(params: dict) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict]:
    """Render a case from its parameters (see :func:`draw_params`); deterministic."""
    params = json.loads(json.dumps(params))
    rd = _Renderer(params)
    n = params["n_frames"]
    H, W = params["matrix"]
    frames = np.zeros((n, H, W), np.float32)
    labels = np.zeros((n, H, W), np.uint8)
    for i in range(n):
        frames[i], labels[i] = rd.frame(i)
    np.maximum(frames, 0, out=frames)
    strain = rd.strain
    params["rest_frame"], params["peak_frame"] = _rest_peak(strain, params["motion"]["manoeuvre"])
    params["strain"] = [round(float(v), 4) for v in strain]
    an = rd.anat
    params["anatomy"]["uterus_version_effective_deg"] = (
        float(an.ut["version"]) if an.ut is not None else None)
    params["anatomy"]["bowel_loops_drawn"] = rd.land["bowel_loops"]
    params["anatomy"]["sigmoid_loops_drawn"] = rd.land["sigmoid_loops"]
    params["anatomy"]["ovary_drawn"] = bool(rd.land["ovary_drawn"])
    params["labels"] = dict(LABELS)
    spacing = (float(params["spacing_mm"][0]), float(params["spacing_mm"][1]))
    return frames, labels, spacing, params


def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict]:
    """Frames (T, H, W) float32 >= 0, labels (T, H, W) uint8, spacing (row, col) mm, params."""
    return render(draw_params(seed))


def _write_case(seed: int, out: str) -> str:
    from core.io.dicom_write import write_dicom_series
    from core.series import CineSeries

    frames, labels, spacing, params = generate(seed)
    case = Path(out) / f"{PREFIX}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    n = frames.shape[0]
    dt = params["frame_interval_s"]
    img = params["imaging"]
    series = CineSeries(
        frames=frames, spacing_mm=spacing, times_s=np.arange(n) * dt,
        meta={"series_description": f"medial sag dynamic ({img['sequence']})",
              "subject_id": f"MEDIAL{seed:03d}"})
    write_dicom_series(series, case / "series", seed=seed, patient_id=f"MEDIAL{seed:03d}",
                       patient_name=f"MEDIAL^{seed:03d}",
                       slice_thickness_mm=float(img["slice_thickness_mm"]))
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    an = params["anatomy"]
    return (f"{case.name}: {n}x{frames.shape[1]}x{frames.shape[2]} {img['sequence']} "
            f"{img['field_strength_T']}T {params['motion']['manoeuvre']} "
            f"uterus={an['uterus']['state']} rectum={an['rectal_content']} "
            f"pathology={','.join(an['pathology']) or 'none'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="100-195", help="seed list, e.g. 100-195 or 1,5,7")
    parser.add_argument("--out", default="medial_cases", help="output folder")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    for line in map_jobs(functools.partial(_write_case, out=args.out), seeds, args.workers):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
