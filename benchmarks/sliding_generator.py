"""Sliding-compartment cine MRI phantom: spline polygons moved by per-organ fields, k-space SSFSE.

How a case is made
------------------
1. Parameters (``draw_params``): matrix 224–288 per axis, square pixels 1.1–1.5 mm, 20–40
   frames every 0.5–2 s, body/pelvis size, tilt ±15°, fat thickness, pelvic-floor laxity,
   bladder filling, uterine version/flexion/size, fibroids, hysterectomy (~20 %), vaginal and
   rectal content, the manoeuvre and its time curve, and the MRI sequence.
2. Anatomy: every structure is a closed polygon (200–400 vertices) made with centripetal
   Catmull-Rom curves through a handful of anatomical control points, in a canonical pelvis
   frame (origin at the inferior border of the symphysis, x posterior, y caudal, mm).
   Tubes (vagina–cervix–uterus, rectum–anal canal, sigmoid, urethra, vessels, muscles) are a
   Catmull-Rom centreline offset by a radius profile.  Bones: symphysis, sacrum, coccyx,
   lumbar bodies and discs, posterior elements, spinal canal.  Soft tissue: body outline,
   subcutaneous fat, skin, rectus abdominis, paraspinal muscles, levator plate, puborectalis,
   external anal sphincter, perineal body, urethra, small-bowel loops (fluid, chyme, gas),
   sigmoid, aorta and small vessels.  The scene is scaled, tilted and placed in the field of
   view so that the whole pelvis fits.
3. Motion (sliding compartments): five compartments (bladder, uterus/vagina, rectum, pelvic
   floor, everything else) plus the fixed bones.  All share one smooth field of radial basis
   functions driven by the manoeuvre curve (descent and posterior rotation at the hiatus,
   anorectal-junction descent, cystocele, rectocele, abdominal wall bulge, breathing),
   attenuated to zero at the bones.  Each organ adds a tangential slip along its interface
   direction (uterus/vagina along the vaginal axis = prolapse, bladder and rectum sliding
   along it), faded to zero where the organ is attached (bladder neck, introitus, anal
   verge, rectosigmoid).  Since the shared part is continuous and the slips are tangential,
   normal components match at the interfaces (no gap, no overlap).  The rectum also deforms
   itself: during defecation the ampulla empties and the anal canal opens.  Polygon vertices
   move with their compartment's field; the texture of the background tissue moves with the
   shared field, organ textures with their organ.  Manoeuvres: rest, valsalva, squeeze,
   cough, defecation.
4. Raster: per frame the polygons are rasterised with an exact (non-zero winding) point-in-polygon
   scanline test at the pixel centres of a 2x grid, painted in a fixed priority order
   (soft tissue, pelvic floor, organs, then bones over everything).  The label map is the
   organ map at the even 2x pixels, i.e. exactly at the output pixel centres.
5. MRI: per-tissue signal for single-shot FSE (T2 decay point-spread function along the
   phase-encode axis from echo spacing, echo-train order (linear or centric), acceleration,
   half-Fourier 0.55–0.65 with zero filling), bSSFP (T2/T1 contrast, fat in opposed phase so
   fat–water interfaces cancel into dark bands, optional off-resonance bands) or T1 GRE (dark
   urine, optional opposed phase); optional fat saturation.  The 2x image is taken to
   k-space, cropped to the output matrix (partial volume, Gibbs ringing), filtered, then
   back; receive bias from 2–6 coil elements, g-factor weighted Rician or non-central chi
   noise (SNR 5–40), occasional N/2 ghost or k-space spike, arbitrary global scale.

Orientation: mid-sagittal slice, row 0 cranial (rows run head→feet), column 0 anterior
(columns run anterior→posterior).

Labels (uint8): 0 background, 1 bladder (wall + urine, down to the bladder neck; urethra not
labelled), 2 uterus_vagina (uterus incl. fibroids, cervix, vagina walls + lumen down to the
introitus at the skin; after hysterectomy the vagina closed by a rounded cuff), 3 rectum
(rectum and anal canal, wall + content, from a cut perpendicular to the bowel axis at S3
down to the anal verge; sigmoid and external sphincter not labelled).  Bones never carry an
organ label; labels are exclusive and cut at the skin.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
from scipy import fft as sfft  # noqa: E402
from scipy import ndimage  # noqa: E402

from core.io.dicom_write import write_dicom_series  # noqa: E402
from core.organs import ORGANS  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

GENERATOR = "sliding"
assert ORGANS == ("bladder", "uterus_vagina", "rectum")

# --------------------------------------------------------------------------- tissues
# name: (proton density, T1 ms, T2 ms, fat fraction, fine texture, coarse texture)
TISSUES = {
    "air": (0.0, 1000, 1, 0.0, 0.0, 0.0),
    "fat": (1.0, 280, 130, 1.0, 0.05, 0.05),
    "muscle": (0.75, 1000, 40, 0.0, 0.06, 0.04),
    "cortex": (0.03, 1000, 2, 0.0, 0.0, 0.0),
    "marrow": (0.9, 380, 80, 0.55, 0.10, 0.06),
    "urine": (1.0, 3000, 1500, 0.0, 0.01, 0.02),
    "bladder_wall": (0.72, 1000, 50, 0.0, 0.04, 0.03),
    "myometrium": (0.82, 1300, 100, 0.0, 0.05, 0.05),
    "junctional": (0.72, 1100, 55, 0.0, 0.04, 0.03),
    "endometrium": (0.88, 1300, 170, 0.0, 0.05, 0.03),
    "cervix": (0.7, 1100, 48, 0.0, 0.04, 0.03),
    "vagina_wall": (0.76, 1200, 72, 0.0, 0.05, 0.04),
    "gel": (1.0, 2600, 900, 0.0, 0.02, 0.02),
    "mucus": (0.85, 1800, 300, 0.0, 0.03, 0.02),
    "rectal_wall": (0.75, 1100, 60, 0.0, 0.05, 0.03),
    "feces": (0.65, 700, 85, 0.1, 0.30, 0.15),
    "gas": (0.02, 1000, 2, 0.0, 0.0, 0.0),
    "bowel_wall": (0.76, 1100, 62, 0.0, 0.05, 0.03),
    "bowel_fluid": (1.0, 2800, 900, 0.0, 0.03, 0.04),
    "chyme": (0.8, 1200, 180, 0.0, 0.20, 0.10),
    "blood": (0.9, 1400, 250, 0.0, 0.02, 0.02),
    "csf": (1.0, 4000, 1800, 0.0, 0.02, 0.02),
    "disc": (0.85, 1100, 110, 0.0, 0.05, 0.03),
    "fibroid": (0.7, 1100, 35, 0.0, 0.06, 0.06),
    "fibrous": (0.6, 900, 30, 0.0, 0.04, 0.03),
    "skin": (0.8, 900, 45, 0.0, 0.05, 0.03),
    "urethra": (0.75, 1000, 55, 0.0, 0.04, 0.03),
    "fluid": (1.0, 3000, 1200, 0.0, 0.01, 0.02),
}
TNAMES = list(TISSUES)
TID = {n: i for i, n in enumerate(TNAMES)}
COMPS = ("bone", "bladder", "uv", "rectum", "floor", "other")
CID = {n: i for i, n in enumerate(COMPS)}
LABEL = {"bladder": 1, "uv": 2, "rectum": 3}


# --------------------------------------------------------------------------- geometry
def _u(rng, a, b):
    return float(rng.uniform(a, b))


def _dirv(beta):
    """Unit vector at ``beta`` degrees from cranial towards posterior (x posterior, y caudal)."""
    b = np.deg2rad(beta)
    return np.array([np.sin(b), -np.cos(b)])


def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def catmull_rom(pts, n, closed=False, alpha=0.5):
    """Centripetal Catmull-Rom curve through ``pts`` (K, 2) with about ``n`` samples."""
    p = np.asarray(pts, float)
    if closed:
        ext = np.vstack([p[-1], p, p[0], p[1]])
    else:
        ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    nseg = len(ext) - 3
    seg = np.linalg.norm(np.diff(ext[1:nseg + 2], axis=0), axis=1)
    counts = np.maximum(2, np.round(n * seg / max(seg.sum(), 1e-9)).astype(int))
    out = []
    for i in range(nseg):
        p0, p1, p2, p3 = ext[i:i + 4]
        t0 = 0.0
        t1 = t0 + max(np.linalg.norm(p1 - p0), 1e-6) ** alpha
        t2 = t1 + max(np.linalg.norm(p2 - p1), 1e-6) ** alpha
        t3 = t2 + max(np.linalg.norm(p3 - p2), 1e-6) ** alpha
        t = np.linspace(t1, t2, counts[i], endpoint=False)[:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    if not closed:
        out.append(p[-1][None])
    return np.vstack(out)


def resample(curve, n, closed=False):
    """``n`` points evenly spaced in arc length along a polyline."""
    c = np.vstack([curve, curve[:1]]) if closed else curve
    d = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))]
    s = np.linspace(0.0, d[-1], n, endpoint=not closed)
    return np.stack([np.interp(s, d, c[:, 0]), np.interp(s, d, c[:, 1])], axis=1)


def closed_shape(pts, n=240):
    """Closed centripetal Catmull-Rom polygon through control points."""
    return resample(catmull_rom(pts, 3 * n, closed=True), n, closed=True)


def ellipse(c, a, b, ang=0.0, n=200):
    """Closed polygon of an ellipse (through 8 control points, Catmull-Rom)."""
    th = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ca, sa = np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))
    x, y = a * np.cos(th), b * np.sin(th)
    pts = np.stack([c[0] + ca * x - sa * y, c[1] + sa * x + ca * y], axis=1)
    return closed_shape(pts, n)


class Tube:
    """A centreline (Catmull-Rom through control points) with a radius profile."""

    def __init__(self, ctrl, radii, n=160):
        ctrl = np.asarray(ctrl, float)
        c = resample(catmull_rom(ctrl, 6 * n), n)
        self.c = c
        seg = np.linalg.norm(np.diff(c, axis=0), axis=1)
        self.s = np.r_[0.0, np.cumsum(seg)]
        self.length = float(self.s[-1])
        # arc length of each control point = nearest centreline sample
        idx = [int(np.argmin(np.linalg.norm(c - p, axis=1))) for p in ctrl]
        sc = np.maximum.accumulate(self.s[idx])
        sc[0], sc[-1] = 0.0, self.length
        self.s_ctrl = sc
        self.r = np.interp(self.s, sc, np.asarray(radii, float))
        tg = np.gradient(c, axis=0)
        tg /= np.maximum(np.linalg.norm(tg, axis=1, keepdims=True), 1e-9)
        self.t = tg
        self.nrm = np.stack([-tg[:, 1], tg[:, 0]], axis=1)  # left normal

    def set_centreline(self, c):
        """Replace the centreline samples (same count) and recompute tangents/normals."""
        self.c = c
        tg = np.gradient(c, axis=0)
        tg /= np.maximum(np.linalg.norm(tg, axis=1, keepdims=True), 1e-9)
        self.t = tg
        self.nrm = np.stack([-tg[:, 1], tg[:, 0]], axis=1)

    def radius_at(self, values):
        return np.interp(self.s, self.s_ctrl, np.asarray(values, float))

    def polygon(self, r=None, lo=0.0, hi=None, cap0="flat", cap1="round", ncap=24):
        """Closed polygon of the tube between arc lengths ``lo`` and ``hi``; also returns the
        normalised arc position (0..1 along the whole centreline) of every vertex."""
        r = self.r if r is None else r
        hi = self.length if hi is None else hi
        k = (self.s >= lo) & (self.s <= hi)
        c, nrm, t, rr, ss = self.c[k], self.nrm[k], self.t[k], r[k], self.s[k]
        left = c + rr[:, None] * nrm
        right = c - rr[:, None] * nrm
        parts, sp = [left], [ss]

        if cap1 == "round":
            a = np.linspace(0, np.pi, ncap)[1:-1]
            pts = c[-1] + rr[-1] * (np.cos(a)[:, None] * nrm[-1] + np.sin(a)[:, None] * t[-1])
            parts.append(pts)
            sp.append(np.full(len(pts), ss[-1]))
        parts.append(right[::-1])
        sp.append(ss[::-1])
        if cap0 == "round":
            a = np.linspace(0, np.pi, ncap)[1:-1]
            pts = c[0] - rr[0] * (np.cos(a)[:, None] * nrm[0] + np.sin(a)[:, None] * t[0])
            parts.append(pts)
            sp.append(np.full(len(pts), ss[0]))
        return np.vstack(parts), np.concatenate(sp) / max(self.length, 1e-9)

    def nearest(self, p):
        """(index of nearest centreline sample, distance) for points p (N, 2)."""
        d = np.linalg.norm(p[:, None, :] - self.c[None, :, :], axis=2)
        i = np.argmin(d, axis=1)
        return i, d[np.arange(len(p)), i]


def inside(points, poly):
    """Even-odd point-in-polygon test for a few points (N, 2) against a polygon (M, 2)."""
    x, y = points[:, 0][:, None], points[:, 1][:, None]
    x0, y0 = poly[:, 0][None], poly[:, 1][None]
    x1, y1 = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    cond = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (np.sum(cond & (x < xc), axis=1) % 2) == 1


def raster(rc, shape):
    """Exact scanline point-in-polygon fill (non-zero winding rule, so that a tube whose
    sides touch at a tight bend stays solid) of a polygon given in pixel (row, col)
    coordinates: returns (row slice, col slice, bool mask) of the pixel centres inside."""
    h, w = shape
    r0, c0 = rc[:, 0], rc[:, 1]
    r1, c1 = np.roll(r0, -1), np.roll(c0, -1)
    rmin = int(max(0, np.ceil(r0.min())))
    rmax = int(min(h, np.ceil(r0.max())))
    cmin = int(max(0, np.floor(c0.min())))
    cmax = int(min(w, np.ceil(c0.max()) + 1))
    if rmax <= rmin or cmax <= cmin:
        return None
    lo, hi = np.minimum(r0, r1), np.maximum(r0, r1)
    start = np.clip(np.ceil(lo), rmin, rmax).astype(np.int64)
    stop = np.clip(np.ceil(hi), rmin, rmax).astype(np.int64)
    cnt = np.maximum(stop - start, 0)
    tot = int(cnt.sum())
    if tot == 0:
        return None
    e = np.repeat(np.arange(len(r0)), cnt)
    off = np.arange(tot) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    rows = start[e] + off
    t = (rows - r0[e]) / (r1[e] - r0[e])
    xs = c0[e] + t * (c1[e] - c0[e])
    sgn = np.where(r1[e] > r0[e], 1.0, -1.0)
    col = np.clip(np.ceil(xs), cmin, cmax).astype(np.int64) - cmin
    wd = cmax - cmin + 1
    nr = rmax - rmin
    diff = np.bincount((rows - rmin) * wd + col, weights=sgn, minlength=nr * wd).reshape(nr, wd)
    mask = np.abs(np.cumsum(diff, axis=1)[:, :-1]) > 0.5
    return slice(rmin, rmax), slice(cmin, cmax), mask


# --------------------------------------------------------------------------- parameters
def draw_params(seed):
    """All random scalars of a case (cheap: no geometry, no image)."""
    rng = np.random.default_rng([int(seed), 0x51D])
    h, w = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sp = _u(rng, 1.1, 1.5)
    n_frames = int(rng.integers(20, 41))
    dt = _u(rng, 0.5, 2.0)
    parous = bool(rng.random() < 0.65)
    lax = _u(rng, 0.25, 1.0) if parous else _u(rng, 0.0, 0.35)
    hyst = bool(rng.random() < 0.2)
    man = str(rng.choice(["rest", "valsalva", "squeeze", "cough", "defecation"],
                         p=[0.12, 0.36, 0.15, 0.15, 0.22]))
    fam = str(rng.choice(["ssfse", "bssfp", "t1gre"], p=[0.5, 0.3, 0.2]))
    anat = {
        "body_scale": _u(rng, 0.88, 1.12), "tilt_deg": _u(rng, -15, 15),
        "fat_ant_mm": _u(rng, 8, 42), "fat_post_mm": _u(rng, 6, 30),
        "laxity": lax, "multiparous": parous,
        "bladder_fill": _fill(rng.uniform(0.0, 1.0)),
        "retroverted": bool(rng.random() < 0.22), "flexion_deg": _u(rng, 40, 100),
        "uterus_len_mm": _u(rng, 52, 70) * (1.1 if parous else 1.0),
        "uterus_rad_mm": _u(rng, 16, 23),
        "n_fibroids": int(rng.choice([0, 0, 0, 0, 1, 1, 2, 3])),
        "vaginal_gel": bool(rng.random() < 0.45),
        "rectal_content": str(rng.choice(["gel", "feces", "empty"], p=[0.5, 0.35, 0.15])),
        "n_bowel_loops": int(rng.integers(14, 32)), "douglas_fluid": bool(rng.random() < 0.2),
        "symphysis_fill": str(rng.choice(["marrow", "fibrocartilage"])),
        "pcl_mm": _u(rng, 85, 102), "pcl_angle_deg": _u(rng, 8, 28),
        "sacral_bulge_mm": _u(rng, 22, 38), "intro_x": _u(rng, 5, 14), "intro_y": _u(rng, 26, 34),
    }
    imaging = {"sequence": fam, "fat_sat": bool(rng.random() < (0.15 if fam == "bssfp" else 0.3)),
               "pe_axis": "ap" if rng.random() < 0.6 else "si",
               "snr": float(np.exp(rng.uniform(np.log(5), np.log(40)))),
               "noise": str(rng.choice(["rician", "nc_chi"])), "n_coils": int(rng.integers(2, 7)),
               "accel": int(rng.choice([2, 3])), "ghost": bool(rng.random() < 0.25),
               "spike": bool(rng.random() < 0.06), "prescan_norm": bool(rng.random() < 0.5),
               "scale_style": str(rng.choice(["int12", "float"])),
               "slice_thickness_mm": _u(rng, 4, 8)}
    if fam == "ssfse":
        imaging.update(echo_spacing_ms=_u(rng, 3.5, 6.0), half_fourier=_u(rng, 0.55, 0.65),
                       order=str(rng.choice(["linear", "centric"], p=[0.75, 0.25])),
                       tr_ms=_u(rng, 3000, 8000), fat_t2_ms=_u(rng, 110, 170))
    elif fam == "bssfp":
        imaging.update(flip_deg=_u(rng, 35, 75), tr_ms=_u(rng, 3.0, 4.8),
                       banding=bool(rng.random() < 0.5))
    else:
        imaging.update(flip_deg=_u(rng, 50, 80), tr_ms=_u(rng, 80, 200),
                       opposed_phase=bool(rng.random() < 0.5))
    motion = {"maneuver": man, "breath_mm": _u(rng, 1.5, 5.0), "breath_period_s": _u(rng, 3, 6),
              "descent_mm": 6 + 26 * lax, "slip_uv_mm": 2 + 20 * lax,
              "cystocele_mm": (_u(rng, 6, 24) * lax) if lax > 0.45 else 0.0,
              "rectocele_mm": (_u(rng, 6, 20) * lax) if lax > 0.4 else 0.0,
              "slip_bladder_mm": _u(rng, 1, 5), "slip_rectum_mm": _u(rng, 2, 8),
              "abd_bulge_mm": _u(rng, 2, 8)}
    dur = n_frames * dt
    efforts = []
    if man == "rest":
        efforts.append([_u(rng, 0.1, 0.3) * dur, 0.3 * dur, 0.2 * dur, 0.3 * dur,
                        _u(rng, 0.08, 0.15) * float(rng.choice([-1, 1]))])
    elif man in ("valsalva", "squeeze", "defecation"):
        k = 1 if man == "defecation" else int(rng.integers(1, 4))
        slot = (dur - 1.0) / k
        for i in range(k):
            ramp, hold, rel = _u(rng, 1, 3), _u(rng, 0.3, 0.55) * slot, _u(rng, 1, 3)
            t0 = 1.0 + i * slot + _u(rng, 0, max(0.0, slot - ramp - hold - rel))
            amp = _u(rng, 0.75, 1.0) if man != "squeeze" else -_u(rng, 0.5, 0.9)
            efforts.append([t0, ramp, hold, rel, amp])
        if man == "valsalva" and rng.random() < 0.3:
            efforts.append([0.3, 1.0, 0.05 * dur, 1.0, -_u(rng, 0.3, 0.6)])
    else:  # cough: short pulses
        k = int(rng.integers(2, 6))
        for i in range(k):
            t0 = (i + _u(rng, 0.1, 0.6)) * dur / k
            efforts.append([t0, _u(rng, 0.2, 0.6), _u(rng, 0.1, 0.8), _u(rng, 0.3, 1.0),
                            _u(rng, 0.7, 1.0)])
    motion["efforts"] = efforts
    if man == "cough":
        motion["descent_mm"] *= 0.7
    if man == "defecation":
        motion["descent_mm"] *= 1.25
    return {"generator": GENERATOR, "seed": int(seed), "matrix": [h, w],
            "spacing_mm": [sp, sp], "fov_mm": [h * sp, w * sp], "n_frames": n_frames,
            "frame_interval_s": dt, "duration_s": dur, "imaging": imaging, "motion": motion,
            "anatomy": anat, "hysterectomy": hyst}


def _fill(v):
    """Bladder filling from a uniform draw: nearly empty (0.03-0.15) in 10 % of cases,
    otherwise spread evenly over 0.2-1.0."""
    v = float(v)
    return 0.03 + 1.2 * v if v < 0.1 else 0.2 + 0.8 * (v - 0.1) / 0.9


def _curves(params, times):
    """Manoeuvre curve m(t) (signed; <0 lift), evacuation progress e(t), anal opening o(t)."""
    m = np.zeros_like(times)
    for t0, ramp, hold, rel, amp in params["motion"]["efforts"]:
        up = _smooth((times - t0) / ramp)
        down = 1.0 - _smooth((times - t0 - ramp - hold) / rel)
        m += amp * up * down
    e = np.zeros_like(times)
    o = np.zeros_like(times)
    if params["motion"]["maneuver"] == "defecation":
        t0, ramp, hold, rel, _ = params["motion"]["efforts"][0]
        e = _smooth((times - t0 - ramp * 0.8) / max(hold * 0.8, 0.5))
        o = _smooth((times - t0 - ramp * 0.6) / 1.0) * (1 - _smooth((times - t0 - ramp - hold)
                                                                  / max(rel, 0.5)))
    return m, e, o


# --------------------------------------------------------------------------- anatomy
class Scene:
    """Structures in canonical mm: each is a dict with the rest polygon ``p`` (N, 2, x
    posterior, y caudal), ``tissue``, ``comp`` (compartment), ``z`` (paint order), ``label``
    (organ label or 0) and ``w`` (per-vertex slip weight)."""

    def __init__(self):
        self.items = []
        self.lm = {}

    def add(self, name, poly, tissue, comp, z, label=0, w=None):
        poly = np.asarray(poly, float)
        n = int(np.clip(len(poly), 200, 400))
        if w is not None and n != len(poly):  # keep the slip weight with its vertex
            d = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(np.vstack([poly, poly[:1]]),
                                                            axis=0), axis=1))]
            w = np.interp(np.linspace(0, d[-1], n, endpoint=False), d, np.r_[w, w[:1]])
        if n != len(poly):
            poly = resample(poly, n, closed=True)
        self.items.append({"name": name, "p": poly, "tissue": tissue, "comp": comp, "z": z,
                           "label": label, "w": np.zeros(len(poly)) if w is None else w})


def _push_out(pt, tube, gap):
    """Move a point radially out of a tube (radius + gap) if it is inside."""
    i, d = tube.nearest(pt[None])
    need = tube.r[i[0]] + gap
    if d[0] < need:
        v = pt - tube.c[i[0]]
        n = np.linalg.norm(v)
        v = v / n if n > 1e-6 else -tube.nrm[i[0]]
        return tube.c[i[0]] + v * need
    return pt


def _push_tube(poly, tube, gap):
    """Move polygon vertices to the anterior side of a tube (radius + gap): a vertex beside
    the tube whose anterior offset from the centreline is smaller than that is moved out."""
    i, d = tube.nearest(poly)
    need = tube.r[i] + gap
    nrm = tube.nrm[i] * np.where(tube.nrm[i][:, :1] < 0, 1.0, -1.0)
    off = np.sum((poly - tube.c[i]) * nrm, axis=1)
    beside = (i > 0) & (i < len(tube.c) - 1)
    move = (beside & (off < need)) | (d < need)
    return np.where(move[:, None], tube.c[i] + nrm * need[:, None], poly)


def _egg(base, axis_beta, length, rad, rad_base):
    """Closed egg-shaped polygon (uterine body) from the internal os along ``axis_beta``."""
    d = _dirv(axis_beta)
    n = np.array([-d[1], d[0]])
    pts = [base - 4 * d,
           base + rad_base * n, base + 0.3 * length * d + 0.85 * rad * n,
           base + 0.62 * length * d + rad * n, base + 0.92 * length * d + 0.7 * rad * n,
           base + (length + 0.25 * rad) * d,
           base + 0.92 * length * d - 0.7 * rad * n, base + 0.62 * length * d - rad * n,
           base + 0.3 * length * d - 0.85 * rad * n, base - rad_base * n]
    return closed_shape(np.array(pts), 260), np.array(pts)


def _shrink(pts, by):
    c = pts.mean(axis=0)
    v = pts - c
    r = np.linalg.norm(v, axis=1, keepdims=True)
    return c + v * np.maximum(r - by, 0.3 * r) / np.maximum(r, 1e-9)


def _out_of_ellipse(p, c, ang, a, b):
    """Push polygon vertices radially out of an ellipse (centre c, semi-axes a, b)."""
    ca, sa = np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))
    v = p - c
    x, y = v[:, 0] * ca + v[:, 1] * sa, -v[:, 0] * sa + v[:, 1] * ca
    r = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    k = np.where(r < 1, 1 / np.maximum(r, 1e-6), 1.0)
    x, y = x * k, y * k
    return np.stack([c[0] + x * ca - y * sa, c[1] + x * sa + y * ca], axis=1)


def _out_of_star(p, poly):
    """Move vertices of ``p`` that lie inside ``poly`` (star-shaped about its centroid)
    radially out onto its outline."""
    c = poly.mean(axis=0)
    v = poly - c
    a = np.arctan2(v[:, 1], v[:, 0])
    r = np.linalg.norm(v, axis=1)
    o = np.argsort(a)
    a, r = a[o], r[o]
    ins = inside(p, poly)
    if not ins.any():
        return p
    w = p[ins] - c
    aw = np.arctan2(w[:, 1], w[:, 0])
    rw = np.interp(aw, np.r_[a - 2 * np.pi, a, a + 2 * np.pi], np.r_[r, r, r]) + 0.5
    out = p.copy()
    out[ins] = c + w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-9) * rw[:, None]
    return out


def _min_dist(a, b):
    return float(np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)))


def _overlap(a, b):
    return bool(inside(a[::3], b).any() or inside(b[::3], a).any())


def build_anatomy(P):
    """The canonical rest scene of a case (deterministic from its parameters)."""
    A = P["anatomy"]
    rng = np.random.default_rng([P["seed"], 0xA7A])
    sc = Scene()
    lm = sc.lm
    # ---------------- bones: symphysis
    ls, ws, a = _u(rng, 35, 45), _u(rng, 12, 17), np.deg2rad(_u(rng, 20, 38))
    axis = np.array([-np.sin(a), -np.cos(a)])
    top = ls * axis
    ang = np.rad2deg(np.arctan2(axis[1], axis[0]))
    sym = ellipse(top / 2, ls / 2, ws / 2, ang, 220)
    sc.add("symphysis_cortex", sym, "cortex", "bone", 100)
    fill = "marrow" if A["symphysis_fill"] == "marrow" else "fibrous"
    sc.add("symphysis", ellipse(top / 2, ls / 2 - 2.5, ws / 2 - 2.5, ang, 220), fill, "bone", 101)
    lm["sym_top"], lm["sym_c"], lm["sym"] = top, top / 2, sym
    # ---------------- sacrum and coccyx
    pa = np.deg2rad(A["pcl_angle_deg"])
    tip = np.array([A["pcl_mm"] * np.cos(pa), -A["pcl_mm"] * np.sin(pa)])
    prom = tip + _u(rng, 95, 112) * _dirv(_u(rng, -25, -5))
    ch = prom - tip
    perp = np.array([-ch[1], ch[0]]) / np.linalg.norm(ch)
    q = (tip + prom) / 2 + 2 * A["sacral_bulge_mm"] * perp
    uu = np.linspace(0, 1, 5)[:, None]
    bez = (1 - uu) ** 2 * tip + 2 * uu * (1 - uu) * q + uu ** 2 * prom
    ant = resample(catmull_rom(bez, 400), 121)
    u = np.linspace(0, 1, 121)
    tg = np.gradient(ant, axis=0)
    tg /= np.linalg.norm(tg, axis=1, keepdims=True)
    npost = np.stack([-tg[:, 1], tg[:, 0]], axis=1)
    th = np.where(u < 0.23, _u(rng, 8, 10), np.interp(u, [0.23, 1.0], [16, _u(rng, 40, 46)]))
    post = ant + th[:, None] * npost
    lm["sac_ant"], lm["sac_post"], lm["sac_npost"], lm["sac_u"] = ant, post, npost, u
    k = u >= 0.24
    sac = np.vstack([ant[k], post[k][::-1]])
    sc.add("sacrum_cortex", sac, "cortex", "bone", 100)
    k2 = (u >= 0.255) & (u <= 0.995)
    sc.add("sacrum", np.vstack([ant[k2] + 2 * npost[k2],
                                (ant[k2] + (th[k2, None] - 2) * npost[k2])[::-1]]),
           "marrow", "bone", 101)
    k3 = u >= 0.55
    can_a, can_b = ant + 0.6 * th[:, None] * npost, ant + 0.8 * th[:, None] * npost
    sc.add("sacral_canal", np.vstack([can_a[k3], can_b[k3][::-1]]), "csf", "bone", 102)
    for j in range(1, 5):
        i = int(np.argmin(np.abs(u - (0.24 + 0.76 * j / 5))))
        seg = np.array([ant[i] - 0.8 * tg[i], post[i] - 0.8 * tg[i] - 0.6 * th[i] * npost[i] * 0.4,
                        post[i] + 0.8 * tg[i] - 0.24 * th[i] * npost[i], ant[i] + 0.8 * tg[i]])
        sc.add(f"sacral_disc{j}", seg, "fibrous", "bone", 103)
    kc = u <= 0.235
    sc.add("coccyx_disc", np.vstack([ant[kc], post[kc][::-1]]), "fibrous", "bone", 100)
    for lo, hi in ((0.0, 0.065), (0.08, 0.145), (0.16, 0.225)):
        kk = (u >= lo) & (u <= hi)
        seg = np.vstack([ant[kk], post[kk][::-1]])
        sc.add("coccyx_cortex", closed_shape(seg[::max(1, len(seg) // 10)], 80), "cortex",
               "bone", 101)
        sc.add("coccyx", _shrink(closed_shape(seg[::max(1, len(seg) // 10)], 80), 1.3),
               "marrow", "bone", 102)
    lm["tip"], lm["prom"] = tip, prom
    # ---------------- lumbar spine
    a0 = ant[-1].copy()
    depth = float(th[-1])
    beta = float(np.clip(np.rad2deg(np.arctan2(tg[-1, 0], -tg[-1, 1])), -35, -20))
    ant_line, post_line = [a0.copy()], [a0 + depth * npost[-1]]
    level = 0
    bodies = []
    while a0[1] > -470 and level < 7:
        for part in ("disc", "body"):
            beta = min(beta + (_u(rng, 5, 7) if part == "disc" else _u(rng, 4, 5)), 15.0)
            up = _dirv(beta)
            e = np.array([-up[1], up[0]])
            hgt = _u(rng, 8, 12) if part == "disc" else _u(rng, 26, 31)
            cor = np.array([a0, a0 + depth * e, a0 + depth * e + hgt * up, a0 + hgt * up])
            mid = (cor + np.roll(cor, -1, axis=0)) / 2
            inset = cor + 0.12 * (cor.mean(axis=0) - cor)
            shape = closed_shape(np.vstack([inset, mid])[[0, 4, 1, 5, 2, 6, 3, 7]], 120)
            if part == "disc":
                sc.add(f"disc{level}", shape, "disc", "bone", 100)
            else:
                sc.add(f"vertebra{level}_cortex", shape, "cortex", "bone", 100)
                sc.add(f"vertebra{level}", _shrink(shape, 1.8), "marrow", "bone", 101)
                bodies.append((cor.mean(axis=0), up, e))
            a0 = a0 + hgt * up
            ant_line.append(a0.copy())
            post_line.append(a0 + depth * e)
        level += 1
    ant_line, post_line = np.array(ant_line), np.array(post_line)
    e_avg = np.array([1.0, 0.0])
    canal = np.vstack([post_line + 1.5 * e_avg, (post_line + 15 * e_avg)[::-1]])
    sc.add("spinal_canal", canal, "csf", "bone", 100)
    for i, (cen, up, e) in enumerate(bodies):
        pe = cen + (depth / 2 + 28) * e - 4 * up
        shp = ellipse(pe, 16, 8, np.rad2deg(np.arctan2(e[1], e[0])) + 25, 120)
        sc.add(f"spinous{i}_cortex", shp, "cortex", "bone", 100)
        sc.add(f"spinous{i}", _shrink(shp, 1.5), "marrow", "bone", 101)
    lm["spine_ant"] = np.vstack([ant[::-1][:60][::-1], ant_line])
    # ---------------- body outline
    s_int = np.array([A["intro_x"], A["intro_y"]])
    fa, fp = A["fat_ant_mm"], A["fat_post_mm"]
    verge = s_int + np.array([_u(rng, 32, 42), _u(rng, 6, 14)])
    lm["intro"], lm["verge"] = s_int, verge
    paraback = post_line[:, 0].max() + 20 + _u(rng, 40, 60)
    i45 = int(np.argmin(np.abs(u - 0.45)))
    i90 = int(np.argmin(np.abs(u - 0.9)))
    skin_ant = np.array([[-80 - fa, -480], [-88 - 1.1 * fa, -320], [-80 - fa, -190],
                         [-60 - 0.8 * fa, -95], [top[0] - 14 - 0.6 * fa, top[1] + 4]])
    body_pts = np.vstack([
        skin_ant,
        [[-16 - 0.3 * fa, 6], [s_int[0] - 12, s_int[1] - 3], [s_int[0] - 3, s_int[1] + 2],
         (s_int + verge) / 2 + [0, 6], [verge[0] - 6, verge[1] + 3], verge + [8, 2],
         [verge[0] + 24, verge[1] - 6], tip + [14 + 0.5 * fp, 20],
         post[i45] + npost[i45] * (6 + fp), post[i90] + npost[i90] * (10 + fp),
         post[-1] + npost[-1] * (35 + fp), [paraback + fp, post[-1][1] - 110],
         [paraback + fp, -480]]])
    body = closed_shape(body_pts, 400)
    sc.add("body", body, "fat", "other", 0)
    lm["body"] = body
    lm["mons"] = skin_ant[-1]
    lm["skin_lo"] = skin_ant[3]
    # paraspinal muscles
    musc = np.vstack([[[post_line[:, 0].max() + 16, -490]], post_line[1:][::-1] + [16, 0],
                      post[i90] + npost[i90] * 2, post[i45] + npost[i45] * 2,
                      post[i45] + npost[i45] * 7, post[i90] + npost[i90] * 7,
                      [[paraback - 4, post[-1][1] - 40], [paraback - 4, -490]]])
    sc.add("paraspinal", closed_shape(musc, 300), "muscle", "other", 1)
    # rectus abdominis
    rr = _u(rng, 4, 6)
    rect_ctrl = np.vstack([skin_ant[:4] + [fa + rr + 1.5, 0], top + [-3, -4]])
    rectus = Tube(rect_ctrl, [rr, rr, rr, rr * 1.1, rr * 0.8], 160)
    sc.add("rectus", rectus.polygon(cap0="flat", cap1="round")[0], "muscle", "other", 1)
    lm["wall_inner"] = rectus.c + [rr + 1, 0]
    # aorta and left common iliac vein
    ao_r = _u(rng, 7, 11)
    ao_line = ant_line[3:] - [ao_r + _u(rng, 4, 9), 0]
    if len(ao_line) >= 2:
        ao = Tube(np.vstack([ao_line[::-1]]), [ao_r] * len(ao_line), 120)
        sc.add("aorta", ao.polygon(cap0="flat", cap1="round")[0], "blood", "other", 3)
    sc.add("iliac_vein", ellipse(ant_line[2] - [ao_r, 8], 6, 4.5, 30, 100), "blood", "other", 3)

    # ---------------- uterus / vagina
    hyst = P["hysterectomy"]
    bl, bu = _u(rng, 10, 28), _u(rng, 38, 56)
    l_low, l_up = _u(rng, 28, 38), (_u(rng, 28, 40) if hyst else _u(rng, 36, 50))
    d_low, d_up = _dirv(bl), _dirv(bu)
    v_mid = s_int + l_low * d_low
    apex = v_mid + l_up * d_up
    gel = A["vaginal_gel"]
    r_v = _u(rng, 7.5, 10) if gel else _u(rng, 5, 7)
    ctrl = [s_int - 3 * d_low, s_int + 0.5 * l_low * d_low, v_mid, v_mid + 0.5 * l_up * d_up, apex]
    radii = [r_v, r_v, r_v, r_v * 1.03, r_v * (1.15 if hyst else 1.05)]
    if not hyst:
        bc = bu - _u(rng, 0, 30)
        lc, rc = _u(rng, 24, 34), _u(rng, 11, 15)
        cm, osi = apex + 0.5 * lc * _dirv(bc), apex + lc * _dirv(bc)
        ctrl += [cm, osi]
        radii = radii[:-1] + [0.5 * (r_v + rc) + 2, rc, rc * 0.92]
    # keep the vaginal vault and the cervix well in front of the sacrum / coccyx: the
    # rectum runs between them
    for j in range(3, len(ctrl)):
        dsa = np.linalg.norm(ant - ctrl[j], axis=1)
        ja = int(np.argmin(dsa))
        need = radii[j] + 26.0
        off = float(np.dot(ctrl[j] - ant[ja], -npost[ja]))
        if off < need:
            ctrl[j] = ctrl[j] - npost[ja] * (need - off)
    apex = ctrl[4]
    if not hyst:
        cm, osi = ctrl[5], ctrl[6]
    uvt = Tube(np.array(ctrl), radii, 200)
    uv_poly, uv_s = uvt.polygon(cap0="flat", cap1="round")
    lm["apex"], lm["v_mid"], lm["uv_axis"] = apex, v_mid, (s_int - apex) / np.linalg.norm(
        s_int - apex)

    def uvw(s):
        return _smooth((s - 0.12) / 0.3)

    # ---------------- bladder
    f = A["bladder_fill"]
    neck = np.array([_u(rng, 8, 16), _u(rng, -16, -8)])
    iv, _ = uvt.nearest(neck[None])
    nv = uvt.nrm[iv[0]] * (1.0 if uvt.nrm[iv[0], 0] < 0 else -1.0)
    front = uvt.c[iv[0]] + nv * (uvt.r[iv[0]] + 4.0)
    if neck[0] > front[0]:
        neck = np.array([front[0], neck[1]])
    hb, db = 24 + 90 * f, 22 + 58 * f
    bd0 = _u(rng, -12, 12)
    wall_in = lm["wall_inner"]
    ys = np.linspace(top[1] - 4, 4, 40)
    xm = np.array([sym[np.abs(sym[:, 1] - y) < 2.5, 0].max(initial=-1e3) for y in ys])

    def bladder_shape(bd, hb, db):
        dd = _dirv(bd)
        nn = np.array([-dd[1], dd[0]])
        cen = neck + (0.5 * hb + 2.5) * dd
        th_ = np.linspace(0, 2 * np.pi, 12, endpoint=False)[1:] + np.pi
        pts = np.vstack([neck[None], np.stack(
            [cen + 0.5 * hb * np.cos(t) * dd + 0.5 * db * np.sin(t) * nn for t in th_])])
        return closed_shape(pts, 300), pts

    def bladder_clash(poly):
        """Fraction of the outline that the vagina/cervix, the symphysis or the abdominal
        wall would have to push (a rounded bladder needs hardly any pushing)."""
        far = np.linalg.norm(poly - neck, axis=1) > 8
        i, d = uvt.nearest(poly)
        need = uvt.r[i] + 3.0
        nrm = uvt.nrm[i] * np.where(uvt.nrm[i][:, :1] < 0, 1.0, -1.0)
        off = np.sum((poly - uvt.c[i]) * nrm, axis=1)
        beside = (i > 0) & (i < len(uvt.c) - 1)
        bad = (beside & (off < need)) | (d < need)
        ca, sa = np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))
        v = poly - top / 2
        ex, ey = v[:, 0] * ca + v[:, 1] * sa, -v[:, 0] * sa + v[:, 1] * ca
        bad |= (ex / (ls / 2 + 6)) ** 2 + (ey / (ws / 2 + 6)) ** 2 < 1
        bad |= poly[:, 0] < np.interp(poly[:, 1], wall_in[:, 1], wall_in[:, 0]) + 2
        bad |= poly[:, 0] < np.interp(poly[:, 1], ys, xm + 6, left=-1e3, right=-1e3)
        return float(np.mean(bad & far))

    # the dome rises cranially and anteriorly behind the abdominal wall, resting on the
    # vagina/cervix: pick the axis (and, if needed, a flatter outline) that fits best
    best = None
    for sq in (1.0, 0.85, 0.72, 0.6):
        for bd in bd0 - np.arange(0.0, 46.0, 5.0):
            bladder, bpts = bladder_shape(bd, hb, db * sq)
            c = bladder_clash(bladder)
            if best is None or c < best[0] - 1e-9:
                best = (c, bladder, bpts)
            if c <= 0.02:
                break
        if best[0] <= 0.02:
            break
    _, bladder, bpts = best
    wall = _u(rng, 2.5, 4.0) + 3.5 * (1 - f)
    bladder = _out_of_ellipse(bladder, top / 2, ang, ls / 2 + 6, ws / 2 + 6)
    bladder[:, 0] = np.maximum(bladder[:, 0], np.interp(bladder[:, 1], wall_in[:, 1],
                                                        wall_in[:, 0]) + 2)
    lim = np.interp(bladder[:, 1], ys, xm + 6, left=-1e3, right=-1e3)
    bladder[:, 0] = np.maximum(bladder[:, 0], lim)
    bladder = _push_tube(bladder, uvt, 2.5)

    def make_urine(bladder):
        urine = _out_of_ellipse(_shrink(bladder, wall), top / 2, ang, ls / 2 + 6 + wall,
                                ws / 2 + 6 + wall)
        urine = _push_tube(urine, uvt, 2.5 + wall)
        cu = urine.mean(axis=0)
        out = ~inside(urine, _shrink(bladder, 1.0))
        urine[out] = cu + 0.6 * (urine[out] - cu)
        return urine

    urine = make_urine(bladder)
    lm["neck"], lm["bladder"] = neck, bladder
    lm["bladder_base"] = bpts[np.argmax(bpts[:, 0] + bpts[:, 1] * 0.3)]

    # ---------------- rectum, anal canal, sigmoid
    ba, lac, r_ac = _u(rng, -25, -5), _u(rng, 30, 40), _u(rng, 7.5, 10)
    dac = _dirv(ba)
    arj = _push_out(verge + lac * dac, uvt, r_ac + 6)
    content = A["rectal_content"]
    r_amp = {"gel": _u(rng, 17, 25), "feces": _u(rng, 14, 21), "empty": _u(rng, 9, 12)}[content]
    r_up = _u(rng, 11, 15)
    gps = _u(rng, 4, 11)

    def sacpt(uv, r):
        i = int(np.argmin(np.abs(u - uv)))
        return ant[i] - npost[i] * (gps + r)

    r1 = arj + _u(rng, 18, 26) * _dirv(_u(rng, 35, 60))
    pts_r = [r1, sacpt(0.3, r_amp), sacpt(0.45, r_amp * 0.95), sacpt(0.6, r_up)]
    rad_r = [r_amp, r_amp, r_amp * 0.9, r_up]
    for i, p in enumerate(pts_r):
        dmin = _min_dist(p[None], uv_poly)
        if inside(p[None], uv_poly)[0]:
            dmin = 0.0
        if dmin < rad_r[i] + 3:
            rad_r[i] = max(7.0, dmin - 3)
    rect_pre = Tube(np.vstack([verge - 3 * dac, verge + 0.5 * lac * dac, arj] + pts_r),
                    [r_ac, r_ac, r_ac * 1.05] + rad_r, 120).polygon()[0]
    # ---------------- uterine body (rotated away from the bladder / sacrum if needed)
    body_parts = []
    if not hyst:
        lb, rb = A["uterus_len_mm"], A["uterus_rad_mm"]
        bb = bc + _u(rng, 35, 80) if A["retroverted"] else bc - A["flexion_deg"]
        bb = float(np.clip(bb, -70.0, 95.0))  # the fundus never points caudally
        sac_band = np.vstack([ant, post[::-1]])
        bb0 = bb
        sac_pts = np.vstack([ant, post])[::2]

        def egg_cost(bb, lb, rb):
            """(clash with sacrum/rectum, clash with the bladder) of a uterine body; the
            bladder yields to the uterus (its dome is indented), the sacrum does not."""
            egg = _egg(osi, bb, lb, rb, rc * 0.9)[0]
            big = _shrink(egg, -4.0)
            hard = float(np.mean(inside(big[::3], sac_band)))
            dsac = np.min(np.linalg.norm(egg[::6][:, None] - sac_pts[None], axis=2), axis=1)
            hard += float(np.mean(dsac < 16.0))  # room for the rectum behind it
            soft = float(np.mean(dsac < 24.0))
            soft += float(np.mean(inside(big[::3], rect_pre)))
            soft += float(np.mean(inside(_shrink(egg, -12.0)[::3], sac_band)))
            hit_b = float(np.mean(inside(big[::3], bladder))) + float(
                np.mean(inside(bladder[::3], big)))
            return hard, soft, hit_b

        # try angles from the drawn one outwards; the body keeps its size (at most a mild
        # shrink when nothing fits), never vanishing
        for shrink_k in range(5):
            best = None
            for dev in sorted(np.arange(-165.0, 166.0, 5.0), key=abs):
                cand = bb0 + dev
                if not -70.0 <= cand <= 95.0:
                    continue
                hs, soft, hb_ = egg_cost(cand, lb, rb)
                score = 20.0 * hs + 2.0 * soft + hb_ + 0.004 * abs(cand - bb0)
                if best is None or score < best[0]:
                    best = (score, cand, hs)
                if hs == 0.0 and soft == 0.0 and hb_ < 0.02:
                    break
            bb = best[1]
            if best[2] < 0.02 or shrink_k == 4:
                break
            lb, rb = lb * 0.93, rb * 0.95
        egg, ectrl = _egg(osi, bb, lb, rb, rc * 0.9)
        lm["uterus_beta"] = (bb, bc)
        lm["fundus"] = osi + lb * _dirv(bb)
        body_parts.append(("myometrium", egg))
        jz = _egg(osi + 2 * _dirv(bb), bb, lb * 0.9, rb * 0.62, rc * 0.5)[0]
        endo = _egg(osi + 4 * _dirv(bb), bb, lb * 0.8, rb * _u(rng, 0.14, 0.32), 1.5)[0]
        body_parts += [("junctional", jz), ("endometrium", endo)]
        fib = []
        for _ in range(A["n_fibroids"]):
            rf = _u(rng, 6, 22)
            along = osi + _u(rng, 0.35, 0.85) * lb * _dirv(bb)
            side = np.array([-_dirv(bb)[1], _dirv(bb)[0]]) * rng.choice([-1, 1])
            if rng.random() < 0.4:  # subserosal
                c = along + side * (rb * 0.85 + 0.35 * rf)
            else:
                c = along + side * _u(rng, 0, max(rb - rf, 0.1))
            fb = ellipse(c, rf, rf * _u(rng, 0.8, 1.0), _u(rng, 0, 180), 200)
            if not _overlap(_shrink(fb, -3), rect_pre):
                fib.append(fb)
        body_parts += [("fibroid", fb) for fb in fib]
    for name, poly in body_parts:  # the bladder dome yields to the uterine body
        if name in ("myometrium", "fibroid"):
            bladder = _out_of_star(bladder, _shrink(poly, -3.0))
    if body_parts:
        urine = make_urine(bladder)
    bw = _smooth((np.linalg.norm(bladder - neck, axis=1) - 5) / 25)
    lm["bladder"] = bladder
    uv_all = np.vstack([uv_poly] + [p for _, p in body_parts])
    s74 = sacpt(0.75, r_up)
    sg = [s74 + [-_u(rng, 20, 35), -_u(rng, 5, 15)]]
    sg.append(sg[-1] + [-_u(rng, 15, 30), _u(rng, -5, 12)])
    sg.append(sg[-1] + [_u(rng, -10, 10), -_u(rng, 20, 35)])
    sg.append(sg[-1] + [_u(rng, 10, 30), -_u(rng, 10, 25)])
    sg = np.array(sg)
    r_sig = _u(rng, 10, 15)
    organs_now = np.vstack([uv_all, bladder])
    for _ in range(12):
        if _min_dist(sg, organs_now) > r_sig + 4 and not inside(sg, uv_all).any() and not inside(
                sg, bladder).any():
            break
        sg = sg + [0, -10]
    rctrl = np.vstack([verge - 3 * dac, verge + 0.5 * lac * dac, arj] + pts_r + [s74] + list(sg))
    rrad = [r_ac, r_ac, r_ac * 1.05] + rad_r + [r_up * 0.95] + [r_sig] * 4
    bowel = Tube(rctrl, rrad, 260)
    s_cut = float(bowel.s_ctrl[6])
    # keep the rectum clear of the uterus/vagina and the bladder: push its centreline back,
    # then clamp its radius per sample
    others = np.vstack([uv_all, bladder])[::2]
    low = bowel.s <= s_cut + 5
    for _ in range(3):
        dv = bowel.c[:, None, :] - others[None, :, :]
        dd = np.sqrt(np.sum(dv ** 2, axis=2))
        j = np.argmin(dd, axis=1)
        dist = dd[np.arange(len(j)), j]
        need = np.minimum(bowel.r, 9.0) + 3.0
        deficit = np.where(low & (dist < need), need - dist, 0.0)
        away = dv[np.arange(len(j)), j] / np.maximum(dist, 1e-6)[:, None]
        away[(inside(bowel.c, uv_poly) | inside(bowel.c, bladder))] = [1.0, 0.0]
        shift = ndimage.gaussian_filter1d(deficit[:, None] * away, 4, axis=0)
        bowel.set_centreline(bowel.c + shift)
        # ... but never into the sacrum / coccyx (a bone painted over the rectum would cut
        # it in two): keep the centreline anterior of the sacral surface
        ds = np.linalg.norm(bowel.c[:, None, :] - ant[None, :, :], axis=2)
        js = np.argmin(ds, axis=1)
        off = np.sum((bowel.c - ant[js]) * -npost[js], axis=1)
        need_s = np.minimum(bowel.r, 7.0) + 2.5
        beside = (js > 0) & (js < len(ant) - 1) & (ds[np.arange(len(js)), js] < 40)
        deficit = np.where(low & beside & (off < need_s), need_s - off, 0.0)
        shift = ndimage.gaussian_filter1d(deficit[:, None] * -npost[js], 4, axis=0)
        bowel.set_centreline(bowel.c + shift)
    # where the rectum runs in the channel between the sacrum and the organs in front of
    # it, centre it in that channel (a ray from the sacral surface forwards to the first
    # organ) so that neither a bone nor the uterus/vagina is painted across it
    front = [uv_poly, bladder] + [p for _, p in body_parts]
    ds = np.linalg.norm(bowel.c[:, None, :] - ant[None, :, :], axis=2)
    js = np.argmin(ds, axis=1)
    beside = low & (js > 0) & (js < len(ant) - 1) & (ds[np.arange(len(js)), js] < 45)
    gap = np.full(len(js), np.inf)
    steps = np.arange(0.0, 70.0, 1.0)
    for i in np.flatnonzero(beside):
        ray = ant[js[i]] - npost[js[i]] * steps[:, None]
        hit = np.zeros(len(steps), bool)
        for fp in front:
            hit |= inside(ray, fp)
        if hit.any():
            gap[i] = steps[np.argmax(hit)]
    tight = beside & (gap < 2 * (np.minimum(bowel.r, 9.0) + 2.5) + 4)
    if tight.any():
        target = ant[js] - npost[js] * np.where(np.isfinite(gap), gap / 2, 0.0)[:, None]
        wgt = ndimage.gaussian_filter1d(tight.astype(float), 3)
        wgt = np.clip(wgt * 2, 0, 1)
        newc = np.where(tight[:, None], target, bowel.c)
        newc = ndimage.gaussian_filter1d(newc, 4, axis=0)
        bowel.set_centreline(bowel.c + wgt[:, None] * (newc - bowel.c))
    others = np.vstack([others, ant])
    ins = np.zeros(len(bowel.c), bool)
    for fp in front:
        ins |= inside(bowel.c, fp)
    dist = np.sqrt(np.min(np.sum((bowel.c[:, None, :] - others[None, :, :]) ** 2, axis=2),
                          axis=1))
    dist = np.where(ins, 0.0, dist)
    lim = np.where(low, np.maximum(dist - 2.5, 3.5), np.inf)
    bowel.r = np.minimum(bowel.r, ndimage.minimum_filter1d(lim, 9))
    s_arj = float(bowel.s_ctrl[2])
    wall_r = np.where(bowel.s < s_arj, bowel.r - 0.7, _u(rng, 2.5, 4.0))
    wall_r = np.where((bowel.s >= s_arj) & (bowel.s < s_arj + 8),
                      np.interp(bowel.s, [s_arj, s_arj + 8], [r_ac - 0.7, 3.0]), wall_r)
    lm["rect"] = {"tube": bowel, "s_cut": s_cut, "s_arj": s_arj, "wall": wall_r,
                  "content": content}
    lm["arj"], lm["r1"] = arj, r1
    lm["rectocele_site"] = r1 + (uvt.c[uvt.nearest(r1[None])[0][0]] - r1) * 0.5
    sig_poly = bowel.polygon(lo=s_cut - 3, cap0="flat", cap1="round")[0]
    sc.add("sigmoid", sig_poly, "bowel_wall", "other", 2)
    sr_in = bowel.radius_at(rrad) - 3.0
    sig_lum = bowel.polygon(r=np.maximum(sr_in, 1), lo=s_cut - 3, cap0="flat", cap1="round")[0]
    sig_cont = "feces" if rng.random() < 0.6 else ("gas" if rng.random() < 0.5 else "chyme")
    sc.add("sigmoid_lumen", sig_lum, sig_cont, "other", 2.5)

    # ---------------- pelvic floor
    lev = Tube(np.array([arj + [r_ac + 3, 2], (arj + tip) / 2 + [0, 5], tip + [-2, 4]]),
               [_u(rng, 3, 4.5)] * 3, 120)
    sc.add("levator_plate", lev.polygon(cap0="round", cap1="round")[0], "muscle", "floor", 5)
    sc.add("puborectalis", ellipse(arj + [r_ac + 5, 3], _u(rng, 6, 9), _u(rng, 4.5, 6.5),
                                   ba + 90, 120), "muscle", "floor", 5)
    eas = Tube(np.array([verge - 3 * dac, verge + 0.4 * lac * dac, verge + 0.75 * lac * dac]),
               [r_ac + _u(rng, 3.5, 5.5)] * 3, 100)
    sc.add("ext_sphincter", eas.polygon(cap0="flat", cap1="round")[0], "muscle", "floor", 5)
    sc.add("perineal_body", ellipse((s_int + verge) / 2 + [2, -9], _u(rng, 7, 10),
                                    _u(rng, 5, 7), 80, 120), "fibrous", "floor", 5.5)
    meatus = s_int + [-_u(rng, 9, 14), -_u(rng, 1, 5)]
    umid = (neck + meatus) / 2 + [-2, 0]
    ru = _u(rng, 3.5, 5)
    dsym = umid - top / 2
    if np.linalg.norm(dsym) < ls / 2 + ru + 3:
        umid = top / 2 + dsym / np.linalg.norm(dsym) * (ls / 2 + ru + 3)
    ure = Tube(np.array([neck + [0, -4], umid, meatus + [-1, 3]]), [ru, ru, ru * 0.8], 100)
    sc.add("urethra", ure.polygon(cap0="round", cap1="flat")[0], "urethra", "floor", 6)
    sc.add("urethra_lumen", ure.polygon(r=np.full(len(ure.s), 0.8), cap0="round",
                                        cap1="flat")[0], "mucus", "floor", 6.5)
    if A["douglas_fluid"] and not hyst:
        dc = cm + np.array([rc + _u(rng, 4, 8), -_u(rng, 0, 8)])
        sc.add("douglas_fluid", ellipse(dc, _u(rng, 4, 9), _u(rng, 3, 6), _u(rng, 0, 180), 100),
               "fluid", "other", 6)

    # ---------------- organs (labelled)
    sc.add("uv", uv_poly, "vagina_wall", "uv", 20, 2, uvw(uv_s))
    lum_r = np.full(len(uvt.s), max(r_v - _u(rng, 2.5, 3.5), 2.0) if gel else 0.7)
    s_ap = float(uvt.s_ctrl[4])
    lp, ls_ = uvt.polygon(r=lum_r, hi=s_ap + (2.0 if gel else -3.0), cap0="flat", cap1="round")
    sc.add("vaginal_lumen", lp, "gel" if gel else "mucus", "uv", 21, 2, uvw(ls_))
    if not hyst:
        cp, cs = uvt.polygon(r=uvt.r - 1.0, lo=s_ap - 6, cap0="round", cap1="flat")
        sc.add("cervix", cp, "cervix", "uv", 22, 2, uvw(cs))
        for name, poly in body_parts:
            sc.add(name, poly, name, "uv", {"myometrium": 23, "junctional": 24,
                                            "endometrium": 25, "fibroid": 27}[name], 2,
                   np.ones(len(poly)))
        kp, ks = uvt.polygon(r=np.full(len(uvt.s), 1.2), lo=s_ap - 4, cap0="round", cap1="flat")
        sc.add("cervical_canal", kp, "mucus", "uv", 26, 2, uvw(ks))
    sc.add("bladder", bladder, "bladder_wall", "bladder", 8, 1, bw)
    sc.add("urine", urine, "urine", "bladder", 8.5, 1,
           _smooth((np.linalg.norm(urine - neck, axis=1) - 5) / 25))
    lm["uv_tube"] = uvt
    lm["body_parts"] = body_parts
    return sc


def _place_loops(sc, P, occ_items):
    """Small-bowel loops and small vessels in free intraperitoneal space (canonical)."""
    rng = np.random.default_rng([P["seed"], 0xB0E])
    lm = sc.lm
    x0, y0, stp = -220.0, -500.0, 2.0
    shape = (int(640 / stp), int(480 / stp))
    occ = np.zeros(shape, bool)
    rc_of = lambda p: np.stack([(p[:, 1] - y0) / stp, (p[:, 0] - x0) / stp], axis=1)  # noqa: E731
    body = np.zeros(shape, bool)
    r = raster(rc_of(lm["body"]), shape)
    body[r[0], r[1]] |= r[2]
    for it in occ_items:
        r = raster(rc_of(it["p"]), shape)
        if r is not None:
            occ[r[0], r[1]] |= r[2]
    occ = ndimage.binary_dilation(occ, iterations=2) | ~body
    sp = lm["spine_ant"]
    order = np.argsort(sp[:, 1])
    wall = lm["wall_inner"]
    wo = np.argsort(wall[:, 1])
    placed = 0
    for _ in range(900):
        if placed >= P["anatomy"]["n_bowel_loops"]:
            break
        r_ = _u(rng, 7, 19)
        c = np.array([_u(rng, -120, 120), _u(rng, -330, 0)])
        xl = np.interp(c[1], sp[order, 1], sp[order, 0]) - 6 - r_
        xw = np.interp(c[1], wall[wo, 1], wall[wo, 0]) + 3 + r_
        if not (xw < c[0] < xl):
            continue
        ell = ellipse(c, r_, r_ * _u(rng, 0.6, 1.0), _u(rng, 0, 180), 200)
        rr = rc_of(_shrink(ell, -2.0))
        ok = True
        rs = raster(rr, shape)
        if rs is None or occ[rs[0], rs[1]][rs[2]].any():
            ok = False
        if not ok:
            continue
        occ[rs[0], rs[1]] |= rs[2]
        kind = rng.choice(["fluid", "chyme", "gas"], p=[0.5, 0.3, 0.2])
        sc.add(f"loop{placed}", ell, "bowel_wall", "other", 2)
        lum = _shrink(ell, _u(rng, 1.8, 3.0))
        sc.add(f"loop{placed}_lumen", lum, "chyme" if kind == "chyme" else "bowel_fluid",
               "other", 2.5)
        if kind == "gas":
            level = lum[:, 0].min() + _u(rng, 0.3, 0.8) * np.ptp(lum[:, 0])
            gas = lum.copy()
            gas[:, 0] = np.minimum(gas[:, 0], level)
            sc.add(f"loop{placed}_gas", gas, "gas", "other", 2.7)
        placed += 1
    nv = int(rng.integers(3, 8))
    for _ in range(200):
        if nv <= 0:
            break
        c = np.array([_u(rng, -100, 120), _u(rng, -300, 10)])
        r_ = _u(rng, 1.5, 3.5)
        ell = ellipse(c, r_, r_ * _u(rng, 0.7, 1.0), 0, 60)
        rs = raster(rc_of(_shrink(ell, -1.0)), shape)
        if rs is None or occ[rs[0], rs[1]][rs[2]].any():
            continue
        occ[rs[0], rs[1]] |= rs[2]
        sc.add(f"vessel{nv}", ell, "blood", "other", 3)
        nv -= 1


# --------------------------------------------------------------------------- placement
def _rot(deg):
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def _place(sc, P, fov):
    """Scale, tilt and offset (canonical → image mm) so that the whole pelvis fits."""
    rng = np.random.default_rng([P["seed"], 0x9A])
    A = P["anatomy"]
    lm = sc.lm
    keys = ("symphysis_cortex", "sacrum_cortex", "coccyx_cortex", "uv", "myometrium",
            "bladder", "levator_plate", "ext_sphincter", "fibroid")
    pts = [it["p"] for it in sc.items if it["name"] in keys]
    bowel = lm["rect"]["tube"]
    pts.append(bowel.c[bowel.s <= lm["rect"]["s_cut"]])
    pts.append(np.array([lm["intro"] + [0, 8], lm["verge"] + [0, 10], lm["mons"] + [-6, 0],
                         lm["prom"] + [0, -10], lm["tip"] + [25, 10], lm["skin_lo"]]))
    k = np.vstack(pts)
    rot = _rot(A["tilt_deg"])
    s = A["body_scale"]
    m = 6.0
    kr = k @ rot.T
    span = np.ptp(kr, axis=0)
    fw, fh = fov[1], fov[0]
    s = min(s, (fw - 2 * m) / (span[0] * 1.0), (fh - 2 * m) / span[1])
    lo, hi = kr.min(axis=0) * s, kr.max(axis=0) * s
    # centre the pelvis, with a random shift of up to a quarter of the slack either way
    slack = np.array([fw, fh]) - 2 * m - (hi - lo)
    jit = rng.uniform(-0.25, 0.25, 2) * np.maximum(slack, 0)
    tx = m - lo[0] + slack[0] / 2 + jit[0]
    ty = m - lo[1] + slack[1] / 2 + jit[1]
    return s, rot, np.array([tx, ty])


# --------------------------------------------------------------------------- rendering
def _tissue_signals(P, rng):
    """Complex signal per tissue for the case's sequence."""
    im = P["imaging"]
    fam = im["sequence"]
    n = len(TNAMES)
    sig = np.zeros(n, np.complex128)
    t2 = np.ones(n)
    af, ac = np.zeros(n), np.zeros(n)
    fs_res = _u(rng, 0.03, 0.15)
    flow = (_u(rng, 0.05, 0.3) if rng.random() < 0.7 else _u(rng, 0.6, 1.0)) if fam == "ssfse" \
        else (1.0 if fam == "bssfp" else _u(rng, 0.4, 1.2))
    fat_phase = np.deg2rad(_u(rng, 150, 180)) if fam == "bssfp" else (
        np.pi if fam == "t1gre" and im.get("opposed_phase") else 0.0)
    te_gre = 2.3 if im.get("opposed_phase") else 4.6
    for i, name in enumerate(TNAMES):
        pd, t1, tt2, ff, a_f, a_c = TISSUES[name]
        pd *= _u(rng, 0.9, 1.1)
        t1 *= _u(rng, 0.85, 1.15)
        tt2 *= _u(rng, 0.85, 1.15)
        if name == "urine":
            tt2 = _u(rng, 800, 2000)
        if name == "fat" and fam == "ssfse":
            tt2 = im["fat_t2_ms"]
        if name == "marrow":
            ff = 0.25
        if fam == "ssfse":
            s = pd * (1 - np.exp(-im["tr_ms"] / t1)) * np.exp(-im["te_eff_ms"] / tt2)
        elif fam == "bssfp":
            al = np.deg2rad(im["flip_deg"])
            s = pd * np.sin(al) / ((t1 / tt2 + 1) - np.cos(al) * (t1 / tt2 - 1))
        else:
            al = np.deg2rad(im["flip_deg"])
            e1 = np.exp(-im["tr_ms"] / t1)
            s = pd * np.sin(al) * (1 - e1) / (1 - np.cos(al) * e1) * np.exp(
                -te_gre / max(0.5 * tt2, 1.0))
        fat_w = ff * (fs_res if im["fat_sat"] else 1.0)
        sig[i] = s * ((1 - ff) + fat_w * np.exp(1j * fat_phase))
        if name == "blood":
            sig[i] *= flow
        t2[i] = tt2
        af[i], ac[i] = a_f * _u(rng, 0.6, 1.4), a_c * _u(rng, 0.6, 1.4)
    return sig, t2, af, ac


def _pe_filter(P, n_pe, t2_groups):
    """Per-T2-group k-space weights along the phase-encode axis (single-shot FSE)."""
    im = P["imaging"]
    f = np.rint(np.fft.fftfreq(n_pe) * n_pe).astype(int)
    n_over = int(round((im["half_fourier"] - 0.5) * n_pe))
    acq = f >= -n_over
    if im["order"] == "linear":
        key = f + n_over
    else:
        key = np.where(np.abs(f) <= n_over, 2 * np.abs(f) + (f < 0), 2 * n_over + 1 + f)
    key = np.where(acq, key, 10 ** 6)
    rank = np.empty(n_pe, int)
    rank[np.argsort(key, kind="stable")] = np.arange(n_pe)
    te = im["echo_spacing_ms"] * (rank // im["accel"] + 1)
    te_eff = float(te[f == 0][0])
    filt = [np.where(acq, np.exp(-(te - te_eff) / t2g), 0.0) for t2g in t2_groups]
    return filt, te_eff


def generate(seed: int, matrix=None, n_frames=None, clean: bool = False):
    """One case: (CineSeries, truth (T, H, W) uint8, params dict).

    ``matrix`` (int or (H, W)) renders the same field of view at another size;
    ``n_frames`` samples the same manoeuvre with another number of frames;
    ``clean`` (tests) leaves out noise, bias and artefacts.
    """
    P = draw_params(seed)
    h0, w0 = P["matrix"]
    fov = np.array(P["fov_mm"], float)
    if matrix is not None:
        h, w = (int(matrix), int(matrix)) if np.isscalar(matrix) else (int(matrix[0]),
                                                                       int(matrix[1]))
        P["matrix"] = [h, w]
        P["spacing_mm"] = [float(fov[0] / h), float(fov[1] / w)]
    h, w = P["matrix"]
    sr, scol = P["spacing_mm"]
    if n_frames is not None:
        P["n_frames"] = int(n_frames)
        P["frame_interval_s"] = P["duration_s"] / int(n_frames)
    T = P["n_frames"]
    times = np.arange(T) * P["frame_interval_s"]
    rng = np.random.default_rng([int(seed), 0x1A6])
    im = P["imaging"]

    # ---- anatomy, placement
    sc = build_anatomy(P)
    _place_loops(sc, P, [it for it in sc.items if it["name"] != "body"])
    s, rot, off = _place(sc, P, fov)
    P["placement"] = {"scale": float(s), "offset_mm": [float(off[0]), float(off[1])]}
    lm = sc.lm

    def tf(p):
        return (np.asarray(p, float) @ rot.T) * s + off

    def tf_dir(d):
        d = np.asarray(d, float) @ rot.T
        return d / np.linalg.norm(d)

    def inv_y(p):  # canonical y of image points
        return (((p - off) / s) @ rot)[:, 1]

    items = sorted([dict(it, q=tf(it["p"])) for it in sc.items], key=lambda it: it["z"])
    rect = lm["rect"]
    bowel = rect["tube"]
    s_cut, s_arj, wall_r = rect["s_cut"], rect["s_arj"], rect["wall"]
    content = {"gel": "gel", "feces": "feces", "empty": "gas"}[rect["content"]]

    def rect_polys(e, o):
        amp_w = _smooth((bowel.s - s_arj - 5) / 10) * (1 - _smooth((bowel.s - s_cut + 5) / 10))
        can_w = 1 - _smooth((bowel.s - s_arj + 5) / 8)
        r_in = np.maximum(bowel.r - wall_r, 0.7)
        r_in = r_in * (1 - 0.8 * e * amp_w) + 6.0 * o * can_w
        r_out = np.maximum(np.maximum(bowel.r * (1 - 0.6 * e * amp_w), np.minimum(bowel.r, 7.5))
                           + 4.0 * o * can_w, r_in + 2.0)
        outer, so = bowel.polygon(r=r_out, hi=s_cut, cap0="flat", cap1="flat")
        inner, si = bowel.polygon(r=r_in, hi=s_cut - 1.5, cap0="flat", cap1="flat")
        return outer, so * bowel.length, inner, si * bowel.length

    def rect_w(smm):
        return _smooth((smm - s_arj) / 20) * (1 - _smooth((smm - (s_cut - 25)) / 25))

    # ---- grids
    h2, w2 = 2 * h, 2 * w
    d2 = np.array([scol / 2, sr / 2])  # (x, y) mm per 2x pixel

    def to_rc2(q):
        return np.stack([q[:, 1] / d2[1], q[:, 0] / d2[0]], axis=1)

    bone_t2 = np.full((h2, w2), -1, np.int16)
    for it in items:
        if it["comp"] == "bone":
            r_ = raster(to_rc2(it["q"]), (h2, w2))
            if r_ is not None:
                sub = bone_t2[r_[0], r_[1]]
                sub[r_[2]] = TID[it["tissue"]]
    bone2 = bone_t2 >= 0
    bone1 = bone2[::2, ::2]
    edt = ndimage.distance_transform_edt(~bone1, sampling=(sr, scol))

    def att(q):
        d = ndimage.map_coordinates(edt, [q[:, 1] / sr, q[:, 0] / scol], order=1, mode="nearest")
        return _smooth((d - 1.5) / 12.0)

    # ---- motion model
    mo = P["motion"]
    m_t, e_t, o_t = _curves(P, times)
    br_t = mo["breath_mm"] * np.sin(2 * np.pi * times / mo["breath_period_s"]
                                    + _u(rng, 0, 2 * np.pi))
    wall_in = lm["wall_inner"]
    y_abd = -120.0
    abd_c = wall_in[np.argmin(np.abs(wall_in[:, 1] - y_abd))]
    nz = lambda v: np.asarray(v, float) / np.linalg.norm(v)  # noqa: E731
    rbf = [  # centre, sigma, direction, amplitude function of (m, m+)
        (tf((lm["v_mid"] + lm["arj"]) / 2), 45 * s, tf_dir(nz([0.45, 1])),
         lambda m, mp: m * mo["descent_mm"]),
        (tf(lm["arj"] + [5, 0]), 25 * s, tf_dir(nz([0.7, 1])),
         lambda m, mp: 0.5 * m * mo["descent_mm"]),
        (tf(lm["bladder_base"]), 20 * s, tf_dir(nz([0.2, 1])), lambda m, mp: mp * mo[
            "cystocele_mm"]),
        (tf(lm["rectocele_site"]), 16 * s, tf_dir(nz([-1, 0.35])),
         lambda m, mp: mp * mo["rectocele_mm"]),
        (tf(abd_c), 70 * s, tf_dir([-1.0, 0.0]), lambda m, mp: mp * mo["abd_bulge_mm"]),
    ]
    d_br = tf_dir(nz([-0.25, 1]))
    y_br = lm["prom"][1] + 30
    d_uv = tf_dir(lm["uv_axis"])
    d_rect = tf_dir(nz(lm["verge"] - lm["r1"]))
    slip_amp = {"uv": mo["slip_uv_mm"], "bladder": mo["slip_bladder_mm"],
                "rectum": mo["slip_rectum_mm"]}
    slip_dir = {"uv": d_uv, "bladder": d_uv, "rectum": d_rect}

    def field(q, k, comp=None, w=None):
        m = float(m_t[k])
        mp = max(m, 0.0)
        u = np.zeros_like(q)
        for c, sg, d, fn in rbf:
            a = fn(m, mp)
            if a != 0.0:
                u += (a * np.exp(-np.sum((q - c) ** 2, axis=1) / (2 * sg * sg)))[:, None] * d
        u += (br_t[k] * _smooth((y_br - inv_y(q)) / 90.0))[:, None] * d_br
        if comp in slip_amp and w is not None:
            sl = m if m > 0 else 0.3 * m
            u += (sl * slip_amp[comp] * w)[:, None] * slip_dir[comp]
        return u * att(q)[:, None]

    # ---- image model
    im["te_eff_ms"] = 0.0
    sig, t2, af, ac = _tissue_signals(P, np.random.default_rng([int(seed), 0x516]))
    fam = im["sequence"]
    pe_axis = 1 if im["pe_axis"] == "ap" else 0
    n_pe = (h, w)[pe_axis]
    if fam == "ssfse":
        edges = [0, 45, 70, 110, 250, 1e9]
        grp = np.digitize(t2, edges) - 1
        t2g = [max(25.0, float(np.exp(np.mean(np.log(t2[grp == g]))))) if np.any(grp == g)
               else 25.0 for g in range(len(edges) - 1)]
        filt, te_eff = _pe_filter(P, n_pe, t2g)
        im["te_eff_ms"] = te_eff
        sig, t2, af, ac = _tissue_signals(P, np.random.default_rng([int(seed), 0x516]))
    else:
        grp = np.zeros(len(TNAMES), int)
        filt = [np.ones(n_pe)]
    groups = [g for g in range(len(filt)) if np.any((grp == g) & (np.abs(sig) > 1e-3))]
    shp = [1, 1]
    shp[pe_axis] = n_pe
    filt = [f.reshape(shp) for f in filt]
    ky = np.r_[0:(h + 1) // 2, h2 - h // 2:h2]
    kx = np.r_[0:(w + 1) // 2, w2 - w // 2:w2]
    nf = ndimage.gaussian_filter(rng.standard_normal((h2, w2)), 0.9)
    nf /= nf.std()
    nc = ndimage.gaussian_filter(rng.standard_normal((h2, w2)), 7.0)
    nc /= nc.std()
    yy2, xx2 = np.mgrid[0:h2, 0:w2].astype(np.float32)
    gstep = 8
    gy, gx = np.mgrid[0:h2:gstep, 0:w2:gstep]
    gq = np.stack([gx.ravel() * d2[0], gy.ravel() * d2[1]], axis=1)
    skin_px = max(1, int(round(_u(rng, 1.5, 2.5) / d2.mean())))
    bubbly = np.isin(np.arange(len(TNAMES)), [TID["feces"], TID["chyme"]])
    # coils, g-factor, off-resonance, ghost, spike
    yy1, xx1 = np.mgrid[0:h, 0:w]
    ymm, xmm = yy1 * sr, xx1 * scol
    body_q = tf(lm["body"])
    ant_x, back_x = float(tf(lm["mons"][None])[0, 0]), float(body_q[:, 0].max())
    coils = []
    for i in range(im["n_coils"]):
        front = (i % 2 == 0)
        cx = (ant_x - _u(rng, 10, 40)) if front else min(back_x, fov[1]) + _u(rng, 10, 40)
        coils.append((cx, _u(rng, 0.1, 0.9) * fov[0], _u(rng, 70, 140), _u(rng, 0.6, 1.0)))
    sens = np.stack([a_ / (1 + ((xmm - cx) ** 2 + (ymm - cy) ** 2) / d0 ** 2) ** 0.75
                     for cx, cy, d0, a_ in coils])
    bias = np.sqrt((sens ** 2).sum(axis=0))
    bias *= np.exp(0.15 * rng.standard_normal() * (xmm / fov[1] - 0.5)
                   + 0.15 * rng.standard_normal() * (ymm / fov[0] - 0.5))
    bias /= np.median(bias)
    r_acc = im["accel"]
    gmax = _u(rng, 1.1, 1.5) if r_acc == 2 else _u(rng, 1.3, 2.2)
    cyc, cxc = fov[0] / 2, fov[1] / 2
    pe_mm = (ymm, xmm)[pe_axis]
    gmap = 1 + (gmax - 1) * np.exp(-((xmm - cxc) ** 2 + (ymm - cyc) ** 2) / (2 * (0.3 * fov.mean())
                                                                            ** 2)) * (
        0.65 + 0.35 * np.cos(np.pi * r_acc * pe_mm / fov[pe_axis]) ** 2)
    im["g_max"] = gmax
    band = np.ones((h, w))
    if fam == "bssfp" and im.get("banding"):
        cpl = rng.standard_normal(4)
        psi = (np.pi * (0.6 + 0.5 * cpl[0]) + 2.5 * cpl[1] * (xmm / fov[1] - 0.5)
               + 2.5 * cpl[2] * (ymm / fov[0] - 0.5)
               + 6.0 * abs(cpl[3]) * ((xmm / fov[1] - 0.5) ** 2 + (ymm / fov[0] - 0.5) ** 2))
        wr = np.mod(psi, 2 * np.pi) - np.pi
        band = 1 - 0.9 * np.exp(-wr ** 2 / (2 * 0.18 ** 2))
    ghost_eps = _u(rng, 0.03, 0.1) * np.exp(1j * _u(rng, 0, 2 * np.pi)) if im["ghost"] else 0.0
    spike_at = (int(rng.integers(0, h)), int(rng.integers(0, w)), _u(rng, 0.01, 0.05))
    pe_odd = (np.arange(n_pe) % 2 == 1).reshape(shp)
    norm_p = _u(rng, 0.4, 0.9)
    scale_style = im["scale_style"]
    target = _u(rng, 1200, 3800) if scale_style == "int12" else 10 ** _u(rng, -1, 3.5)
    im["scale_target"] = target

    frames = np.zeros((T, h, w), np.float32)
    truth = np.zeros((T, h, w), np.uint8)
    sigma0 = None
    scale = None
    for k in range(T):
        tis = np.zeros((h2, w2), np.int16)
        org = np.zeros((h2, w2), np.uint8)
        cmp_ = np.full((h2, w2), CID["other"], np.int8)
        mean_disp = {}
        body_mask = None
        ro, so, ri, si = rect_polys(float(e_t[k]), float(o_t[k]))
        ro, ri = tf(ro), tf(ri)
        dyn = [{"q": ro, "tissue": "rectal_wall", "comp": "rectum", "z": 10, "label": 3,
                "w": rect_w(so)},
               {"q": ri, "tissue": content, "comp": "rectum", "z": 11, "label": 3,
                "w": rect_w(si)}]
        allit = sorted([it for it in items if it["comp"] != "bone"] + dyn, key=lambda i: i["z"])
        for it in allit:
            q = it["q"]
            disp = field(q, k, it["comp"], it["w"])
            if it["comp"] in ("bladder", "uv", "rectum") and it["comp"] not in mean_disp:
                mean_disp[it["comp"]] = disp.mean(axis=0)
            r_ = raster(to_rc2(q + disp), (h2, w2))
            if r_ is None:
                continue
            rs, cs, mk = r_
            if it.get("name") == "body":
                body_mask = np.zeros((h2, w2), bool)
                body_mask[rs, cs] = mk
            sub = tis[rs, cs]
            sub[mk] = TID[it["tissue"]]
            sub = cmp_[rs, cs]
            sub[mk] = CID[it["comp"]]
            if it["label"]:
                sub = org[rs, cs]
                sub[mk] = it["label"]
        # a sliver of an organ cut off by a neighbour (< 3 % of it at the output pixels)
        # becomes fat, in the label and in the 2x tissue map alike
        for lab in (1, 2, 3):
            pl, npc = ndimage.label(org[::2, ::2] == lab, structure=np.ones((3, 3), bool))
            if npc > 1:
                cnt = np.bincount(pl.ravel())[1:]
                small = np.isin(pl, np.flatnonzero(cnt < 0.03 * cnt.sum()) + 1)
                if small.any():
                    cut = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)[:h2, :w2] & (
                        org == lab)
                    org[cut], tis[cut], cmp_[cut] = 0, TID["fat"], CID["other"]
        tis[bone2] = bone_t2[bone2]
        org[bone2] = 0
        cmp_[bone2] = CID["bone"]
        tis[~body_mask] = TID["air"]
        org[~body_mask] = 0
        inner = ndimage.binary_erosion(body_mask, iterations=skin_px)
        skin = body_mask & ~inner & np.isin(tis, [TID["fat"], TID["muscle"]])
        tis[skin] = TID["skin"]
        truth[k] = org[::2, ::2]
        # texture warped with the tissue
        ub = field(gq, k, "other")
        shp_g = gy.shape
        dx = ndimage.zoom(ub[:, 0].reshape(shp_g), (h2 / shp_g[0], w2 / shp_g[1]), order=1)
        dy = ndimage.zoom(ub[:, 1].reshape(shp_g), (h2 / shp_g[0], w2 / shp_g[1]), order=1)
        dx, dy = dx[:h2, :w2] / d2[0], dy[:h2, :w2] / d2[1]
        for cn, md in mean_disp.items():
            sel = cmp_ == CID[cn]
            dx[sel], dy[sel] = md[0] / d2[0], md[1] / d2[1]
        dx[bone2], dy[bone2] = 0.0, 0.0
        coords = [yy2 - dy, xx2 - dx]
        tf_ = ndimage.map_coordinates(nf, coords, order=1, mode="reflect")
        tc_ = ndimage.map_coordinates(nc, coords, order=1, mode="reflect")
        val = sig[tis] * (1 + af[tis] * tf_ + ac[tis] * tc_)
        val[bubbly[tis] & (tf_ > 1.5)] *= 0.1
        # k-space: T2 point-spread per group, crop to the matrix, half-Fourier
        kk = np.zeros((h, w), np.complex128)
        for g in groups:
            sel = grp[tis] == g
            if not sel.any():
                continue
            kg = sfft.fft2(np.where(sel, val, 0).astype(np.complex64))
            kk += kg[np.ix_(ky, kx)] * filt[g] / 4.0
        if not clean:
            if im["ghost"]:
                kk = np.where(pe_odd, kk * (1 + ghost_eps), kk)
            if im["spike"] and k % 5 == 2:
                kk[spike_at[0], spike_at[1]] += spike_at[2] * np.abs(kk[0, 0])
        img = sfft.ifft2(kk) * band
        if clean:
            frame = np.abs(img)
        else:
            if sigma0 is None:
                ref = np.abs(img * bias)[truth[k] > 0]
                sigma0 = float(np.mean(ref)) / im["snr"] if ref.size else 1.0
            sg = sigma0 * gmap
            if im["noise"] == "rician":
                z = img * bias + sg * (rng.standard_normal((h, w))
                                       + 1j * rng.standard_normal((h, w)))
                frame = np.abs(z)
            else:
                acc = np.zeros((h, w))
                for c in range(len(coils)):
                    z = img * sens[c] + sg * (rng.standard_normal((h, w))
                                              + 1j * rng.standard_normal((h, w)))
                    acc += np.abs(z) ** 2
                frame = np.sqrt(acc)
            if im["prescan_norm"]:
                frame = frame / bias ** norm_p
        if scale is None:
            scale = target / max(float(np.percentile(frame, 99.8)), 1e-9)
        frame = frame * scale
        if scale_style == "int12" and not clean:
            frame = np.clip(np.rint(frame), 0, 4095)
        frames[k] = frame
    P["motion"]["curve"] = [round(float(v), 4) for v in m_t]
    P["motion"]["most_strained_frame"] = int(np.argmax(np.abs(m_t)))
    desc = {"ssfse": "SLIDING cine sag HASTE", "bssfp": "SLIDING cine sag TrueFISP (bssfp)",
            "t1gre": "SLIDING cine sag FLASH (t1)"}[fam]
    series = CineSeries(frames=frames, spacing_mm=(sr, scol), times_s=times,
                        meta={"series_description": desc, "subject_id": f"sliding_{seed:03d}",
                              "orientation": "sagittal (canonical)"})
    return series, truth, _jsonable(P)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x)
    return x


# --------------------------------------------------------------------------- CLI
def write_case(job):
    """Write one case folder (DICOM series, truth.npy, params.json); one-line summary."""
    seed, out = job
    series, truth, params = generate(seed)
    case = Path(out) / f"{GENERATOR}_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    write_dicom_series(series, case / "series", seed=seed, patient_name=f"SLIDING^{seed:03d}",
                       patient_id=f"sliding_{seed:03d}",
                       slice_thickness_mm=params["imaging"]["slice_thickness_mm"])
    np.save(case / "truth.npy", truth)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    t, h, w = truth.shape
    return (f"{case.name}: {t}x{h}x{w} {params['imaging']['sequence']} "
            f"{params['motion']['maneuver']} hyst={params['hysterectomy']} "
            f"fill={params['anatomy']['bladder_fill']:.2f} lax={params['anatomy']['laxity']:.2f}")


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
