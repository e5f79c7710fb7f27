"""Synthetic MR defecography: labelled mid-sagittal cine series of the female pelvis.

Usage: ``python benchmarks/defeco_generator.py --seeds 0-11 --out DIR [--workers N]``

Each case (``defeco_{seed:03d}`` under ``--out``) holds ``series/`` (single-frame DICOM
files with shuffled names), ``truth.npy`` (uint8 labels (T, H, W): 0 background,
1 bladder, 2 uterus + cervix + vagina, 3 rectum + anal canal) and ``params.json``.

Methods (independent of the project's other phantoms):

* Anatomy in mm (x anterior→posterior, y head→feet, origin at the lower border of the
  pubic symphysis).  Hollow organs are tubes: a cubic spline medial axis with a
  spline half-width on each side (vagina, urethra, anal canal + rectum, uterus with
  cervix, sacrum, levator plate, sigmoid); bladder, symphysis, L5, bowel loops and the
  body outline are closed superellipses with random Fourier perturbations.
* Motion over normalised time u: rest → squeeze (the pelvic floor lifts) → strain →
  evacuation.  Three compartment displacement fields (anterior, middle, posterior),
  weighted by the rest height of each vertex, move the organs down: anorectal
  junction 2–6 cm, plus a cystocele, uterine / vault descent, a rectocele (anterior
  rectal bulge that pushes the vagina forward) or an enterocele (a small-bowel loop
  opening the rectovaginal space) for 0–3 pathologies per subject.  The gel-filled
  rectum empties progressively to a thin tube with a dark wall while the anal canal
  opens.
* Imaging: tissue classes rasterised with PIL at ×3 supersampling and averaged (partial
  volume), per-case intensities around a bSSFP or single-shot FSE template (±30 %),
  smooth multiplicative texture, thick-slice and strain motion blur, polynomial bias
  field (up to ±40 %), bSSFP banding in 30 % of bSSFP cases and Rician noise (SNR
  10–40).  Organs are painted in priority order (bladder < uterus/vagina < rectum) and
  each label keeps its largest 4-connected piece.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.interpolate import CubicSpline

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.io import read_series  # noqa: E402
from core.io.dicom_write import rescale, write_dicom_series  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402
from core.series import CineSeries  # noqa: E402

SS = 3  # supersampling factor
N_AXIS = 56  # samples along a tube axis
TISSUES = ("air", "fat", "muscle", "cortex", "marrow", "urine", "gel", "bladder_wall",
           "myometrium", "cervix", "endometrium", "vaginal_wall", "bowel_wall",
           "bowel_content", "rectal_wall", "soft", "table")
TI = {name: i for i, name in enumerate(TISSUES)}
#: Relative intensities per tissue (order of TISSUES) for each sequence template.
TEMPLATES = {
    "bssfp": (0.0, 0.7, 0.22, 0.04, 0.65, 1.0, 0.95, 0.25, 0.45, 0.25, 0.8, 0.35, 0.35,
              0.6, 0.28, 0.45, 0.05),
    "ssfse": (0.0, 0.75, 0.15, 0.03, 0.55, 1.0, 0.9, 0.2, 0.5, 0.15, 0.85, 0.3, 0.3,
              0.7, 0.22, 0.4, 0.05),
}
#: Rest-height knots (mm) and weights of each compartment's displacement.
COMPARTMENTS = {
    "anterior": ((-110.0, -15.0, 5.0, 35.0), (0.1, 1.0, 1.0, 0.3)),
    "middle": ((-150.0, -50.0, -30.0, 45.0), (0.3, 1.0, 1.0, 0.3)),
    "posterior": ((-130.0, 0.0, 20.0, 50.0), (0.05, 1.0, 1.0, 0.75)),
}
DESCENT_DIR = {"anterior": (0.1, 1.0), "middle": (-0.3, 1.0), "posterior": (0.15, 1.0)}
LIFT_GAIN = {"anterior": 0.5, "middle": 0.7, "posterior": 1.0}
LIFT_DIR = np.array([-0.35, -1.0]) / np.hypot(0.35, 1.0)
PATHOLOGIES = ("rectocele", "cystocele", "uterine_descent", "enterocele")
Poly = np.ndarray  # (M, 2) vertices in anatomical mm


# --------------------------------------------------------------------------- geometry
def smoothstep(u: float, a: float, b: float) -> float:
    """0 below a, 1 above b, C1-smooth in between."""
    x = float(np.clip((u - a) / (b - a), 0.0, 1.0))
    return x * x * (3.0 - 2.0 * x)


def spline(ctrl: list[tuple[float, ...]], n: int = N_AXIS) -> tuple[np.ndarray, np.ndarray]:
    """Chord-length cubic spline through rows (x, y, extra...): (n, cols) samples and
    the fractional control index of each sample."""
    pts = np.asarray(ctrl, dtype=float)
    d = np.r_[0.0, np.cumsum(np.hypot(*np.diff(pts[:, :2], axis=0).T))]
    t = np.linspace(0.0, d[-1], n)
    return CubicSpline(d, pts, bc_type="natural")(t), np.interp(t, d, np.arange(len(pts)))


def normals(axis: np.ndarray) -> np.ndarray:
    """Unit normals of a polyline; posterior for an axis running up the pelvis."""
    t = np.gradient(axis, axis=0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
    return np.stack([-t[:, 1], t[:, 0]], axis=1)


def disc(center: np.ndarray, r: float, n: int = 20) -> Poly:
    a = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return center + r * np.stack([np.cos(a), np.sin(a)], axis=1)


def tube(axis: np.ndarray, hw_pos: np.ndarray, hw_neg: np.ndarray,
         keep: np.ndarray | None = None) -> list[Poly]:
    """A tube as quads between consecutive samples plus round caps (robust to folds).

    ``hw_pos`` is the half-width on the normal side (posterior), ``hw_neg`` the other;
    ``keep`` (bool per sample) limits the tube to a run of samples.
    """
    n = normals(axis)
    left, right = axis + n * hw_pos[:, None], axis - n * hw_neg[:, None]
    idx = np.flatnonzero(keep) if keep is not None else np.arange(len(axis))
    if len(idx) < 2:
        return []
    polys = [np.array([left[i], left[i + 1], right[i + 1], right[i]])
             for i in idx[:-1] if i + 1 in idx]
    for e in (idx[0], idx[-1]):
        centre = axis[e] + n[e] * (hw_pos[e] - hw_neg[e]) / 2.0
        polys.append(disc(centre, (hw_pos[e] + hw_neg[e]) / 2.0))
    return polys


def ellipse(center: tuple[float, float], rx: float, ry: float, angle_deg: float = 0.0,
            power: float = 2.0, radius_mult: np.ndarray | float = 1.0, n: int = 72) -> Poly:
    """A closed superellipse, rotated by ``angle_deg``, radius scaled by ``radius_mult``."""
    a = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = (np.abs(np.cos(a) / rx) ** power + np.abs(np.sin(a) / ry) ** power) ** (-1.0 / power)
    r = r * radius_mult
    th = np.deg2rad(angle_deg)
    x, y = r * np.cos(a), r * np.sin(a)
    rot = np.stack([x * np.cos(th) - y * np.sin(th), x * np.sin(th) + y * np.cos(th)], axis=1)
    return rot + np.asarray(center)


def blob(rng: np.random.Generator, center: tuple[float, float], rx: float, ry: float,
         angle_deg: float = 0.0, power: float = 2.0, wobble: float = 0.04,
         n: int = 72) -> Poly:
    """A superellipse with a random low-order Fourier perturbation of its radius."""
    a = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    mult = np.ones(n)
    for k in (2, 3, 4):
        mult *= 1.0 + wobble / k * rng.normal() * np.cos(k * a + rng.uniform(0, 2 * np.pi))
    return ellipse(center, rx, ry, angle_deg, power, mult, n)


def shrink(poly: Poly, center: np.ndarray, by: float) -> Poly:
    """Move the vertices of a star-shaped polygon ``by`` mm toward its centre."""
    v = poly - center
    r = np.linalg.norm(v, axis=1, keepdims=True)
    return center + v * np.clip(1.0 - by / np.maximum(r, 1e-9), 0.05, 1.0)


def bulge(axis: np.ndarray, at: int, amount: float, direction: np.ndarray,
          sigma: float = 5.0) -> np.ndarray:
    """Push axis samples near index ``at`` by ``amount`` mm along ``direction``."""
    w = np.exp(-0.5 * ((np.arange(len(axis)) - at) / sigma) ** 2)
    return axis + amount * w[:, None] * direction


# --------------------------------------------------------------------------- subject
def draw_subject(rng: np.random.Generator) -> dict:
    """Random subject: size, pose, organ shapes, motion amplitudes and pathologies."""
    n_path = int(rng.choice(4, p=[0.3, 0.35, 0.25, 0.1]))
    path = sorted(rng.choice(PATHOLOGIES, size=n_path, replace=False).tolist())
    return {
        "pathologies": path,
        "scale": [float(rng.uniform(0.88, 1.12)), float(rng.uniform(0.9, 1.1))],
        "rotation_deg": float(rng.uniform(-12, 12)),
        "shift_mm": rng.uniform(-15, 15, 2).tolist(),
        "fat_mm": float(rng.uniform(8, 45)),
        "bladder_fill": float(rng.uniform(0.1, 1.0)),
        "uterus_flex_deg": float(rng.uniform(20, 60)),
        "uterus_length_mm": float(rng.uniform(45, 65)),
        "cervix_length_mm": float(rng.uniform(22, 32)),
        "rectum_halfwidth_mm": float(rng.uniform(17, 26)),
        "anorectal_jitter_mm": rng.uniform(-5, 5, 2).tolist(),
        "descent_posterior_mm": float(rng.uniform(20, 60)),
        "descent_anterior_mm": float(rng.uniform(30, 55) if "cystocele" in path
                                     else rng.uniform(4, 14)),
        "descent_middle_mm": float(rng.uniform(25, 50) if "uterine_descent" in path
                                   else rng.uniform(4, 14)),
        "squeeze_mm": float(rng.uniform(5, 14)),
        "rectocele_mm": float(rng.uniform(15, 35)) if "rectocele" in path else 0.0,
        "enterocele_mm": float(rng.uniform(25, 50)) if "enterocele" in path else 0.0,
        "evacuated_fraction": float(rng.uniform(0.75, 0.97)),
        "anal_open_mm": float(rng.uniform(3, 7)),
        "vaginal_gel_mm": float(rng.uniform(2, 5)) if rng.random() < 0.35 else 0.0,
        "phase_jitter": float(rng.uniform(-0.04, 0.04)),
    }


def timeline(u: float, jitter: float) -> dict[str, float]:
    """Phase amplitudes at normalised time u: squeeze lift, strain push, emptying..."""
    j = jitter
    push = smoothstep(u, 0.30 + j, 0.62 + j)
    return {
        "lift": smoothstep(u, 0.09 + j, 0.14 + j) * (1.0 - smoothstep(u, 0.22 + j, 0.27 + j)),
        "push": push,
        "empty": smoothstep(u, 0.48 + j, 0.93),
        "open": smoothstep(u, 0.46 + j, 0.52 + j) * (1.0 - smoothstep(u, 0.94, 1.0)),
        "blur": 4.0 * push * (1.0 - push) * (u < 0.62 + j),
    }


def displace(p: np.ndarray, comp: str, sub: dict, st: dict[str, float],
             gain: float | np.ndarray = 1.0) -> np.ndarray:
    """Rest vertices (N, 2) moved by one compartment's squeeze and strain field."""
    knots, weights = COMPARTMENTS[comp]
    w = np.interp(p[:, 1], knots, weights) * gain
    d = np.asarray(DESCENT_DIR[comp]) / np.hypot(*DESCENT_DIR[comp])
    move = sub[f"descent_{comp}_mm"] * st["push"] * d
    move = move + sub["squeeze_mm"] * st["lift"] * LIFT_GAIN[comp] * LIFT_DIR
    return p + np.asarray(w)[:, None] * move


class Anatomy:
    """Rest-pose geometry of one subject (anatomical mm) and its per-frame deformation."""

    def __init__(self, sub: dict, rng: np.random.Generator) -> None:
        self.sub = sub
        jx, jy = sub["anorectal_jitter_mm"]
        arj = (60.0 + jx, 8.0 + jy)
        r = sub["rectum_halfwidth_mm"]
        self.rectum, ci = spline([(66, 46, 6.5), (*arj, 8.0), (84, -8, 15), (104, -38, r),
                                  (110, -78, r), (98, -112, 0.8 * r), (80, -130, 0.6 * r)])
        self.arj_idx = int(np.argmin(np.abs(ci - 1.0)))
        self.canal = ci < 1.0
        self.bubbles = [(int(rng.integers(self.arj_idx + 6, N_AXIS - 8)),
                        float(rng.uniform(2, 5))) for _ in range(int(rng.integers(0, 5)))]
        self.vagina, _ = spline([(18, 40, 5), (26, 15, 6.5), (40, -12, 7.5), (52, -38, 8.5),
                                 (58, -52, 10)])
        self.vagina_frac = np.linspace(0.0, 1.0, N_AXIS)
        self._bladder(rng)
        self._uterus(rng)
        self._context(rng)

    def _bladder(self, rng: np.random.Generator) -> None:
        f = self.sub["bladder_fill"]
        ry, rx = 18 + 30 * f, 17 + 20 * f
        self.bladder_c = np.array([22 - 12 * f, -14 - ry])
        self.bladder_r = (rx, ry)
        self.bladder = blob(rng, tuple(self.bladder_c), rx, ry, rng.uniform(-15, 5),
                            power=rng.uniform(2.0, 2.6))
        self.bladder_in = shrink(self.bladder, self.bladder_c, 2.5)

    def _uterus(self, rng: np.random.Generator) -> None:
        """Anteverted, anteflexed uterus over the bladder dome, rotated back until clear."""
        sub = self.sub
        vault = self.vagina[-1, :2]
        dvag = vault - self.vagina[-4, :2]
        dvag /= np.linalg.norm(dvag)
        a_c = np.deg2rad(rng.uniform(15, 35))
        lc, lb = sub["cervix_length_mm"], sub["uterus_length_mm"]
        c1 = vault + lc * np.array([-np.sin(a_c), -np.cos(a_c)])
        (cx, cy), (rx, ry) = self.bladder_c, self.bladder_r
        flex = np.deg2rad(sub["uterus_flex_deg"])
        a_b = a_c + flex
        while True:
            dirb = np.array([-np.sin(a_b), -np.cos(a_b)])
            pts = c1 + np.outer([0.5, 0.8, 1.0], lb * dirb)
            clear = ((pts[:, 0] - cx) / (rx + 18)) ** 2 + ((pts[:, 1] - cy) / (ry + 18)) ** 2
            if np.all(clear > 1.0) or a_b < -0.5:
                break
            a_b -= np.deg2rad(5)
        self.uterus, self.uterus_ci = spline(
            [(*(vault - 8 * dvag), 8.0), (*vault, 12.0), (*c1, 14.0),
             (*(c1 + 0.5 * lb * dirb), rng.uniform(19, 25)), (*(c1 + lb * dirb), 17.0)])

    def _context(self, rng: np.random.Generator) -> None:
        fat = self.sub["fat_mm"]
        self.symphysis = blob(rng, (-6, -20), 8, 22, -25, wobble=0.02)
        self.l5 = blob(rng, (108, -212), 21, 14, 20, power=3.0, wobble=0.02)
        self.sacrum, _ = spline([(122, -192, 16), (148, -125, 15), (153, -72, 11),
                                 (141, -35, 7), (118, -12, 3.5)])
        self.rectus, _ = spline([(-32, -320, 6), (-34, -150, 6.5), (-22, -55, 5), (-12, -42, 3)])
        self.body, _ = spline([(-38 - fat, -330), (-42 - fat, -150), (-38 - fat, -60),
                               (-22 - 0.8 * fat, -12), (-8 - 0.3 * fat, 30), (15, 52),
                               (45, 50), (70, 55), (100, 52), (135, 22),
                               (152 + 0.5 * fat, -20), (170 + fat, -80), (176 + fat, -150),
                               (172 + fat, -220), (166 + fat, -330)], n=120)
        self.sigmoid, _ = spline([(78, -138, 12), (60, -158, 13), (35, -150, 12),
                                  (20, -175, 11)])
        self.loops = [(blob(rng, (rng.uniform(-20, 100), rng.uniform(-240, -105)),
                            rng.uniform(10, 18), rng.uniform(9, 16), rng.uniform(0, 180)),
                       "bowel_content" if rng.random() < 0.6 else "urine")
                      for _ in range(int(rng.integers(5, 10)))]
        self.urethra, _ = spline([(22, -12, 3.5), (17, 10, 3.5), (12, 34, 3.0)])
        self.perineal = blob(rng, (40, 36), 11, 9, 30)

    # ----------------------------------------------------------------- one frame
    def frame(self, st: dict[str, float]) -> list[tuple[list[Poly], str, int | None]]:
        """Painter's list of (polygons, tissue, label) for one frame, back to front."""
        sub = self.sub
        rect, vag = self.rectum.copy(), self.vagina.copy()
        rect[:, :2] = displace(rect[:, :2], "posterior", sub, st)
        vag[:, :2] = displace(vag[:, :2], "middle", sub, st)
        ut = displace(self.uterus[:, :2], "middle", sub, st)
        hw_r = self.rectum[:, 2]
        wall = np.where(self.canal, hw_r, 3.5)
        lumen = np.where(self.canal, st["open"] * sub["anal_open_mm"],
                         (hw_r - wall) * (1.0 - st["empty"] * sub["evacuated_fraction"]) + 0.4)
        rc_at = self.arj_idx + 7
        rc = sub["rectocele_mm"] * st["push"] * np.exp(
            -0.5 * ((np.arange(N_AXIS) - rc_at) / 4.0) ** 2)
        nr = normals(rect[:, :2])
        hw_pos, hw_neg = wall + lumen, wall + lumen + rc
        vaxis = vag[:, :2]
        if sub["rectocele_mm"]:
            apex = rect[rc_at, :2] - nr[rc_at] * hw_neg[rc_at]
            j = int(np.argmin(np.linalg.norm(vaxis - apex, axis=1)))
            vaxis = bulge(vaxis, j, rc[rc_at], -nr[rc_at], sigma=6.0)
        vlumen = np.full(N_AXIS, 0.8)
        if sub["vaginal_gel_mm"]:
            vlumen = 0.8 + sub["vaginal_gel_mm"] * np.clip((self.vagina_frac - 0.2) / 0.15, 0, 1)
        hw_v = self.vagina[:, 2] + vlumen - 0.8
        entero = self._enterocele(st, rect[:, :2], nr, hw_neg, vaxis, hw_v)
        if entero is not None:
            rect[:, :2], vaxis, ent_poly = entero
        polys: list[tuple[list[Poly], str, int | None]] = self._context_frame(st)
        polys += self._bladder_frame(st)
        ci = self.uterus_ci
        hw_u = self.uterus[:, 2]
        polys += [(tube(vaxis, hw_v, hw_v), "vaginal_wall", 2),
                  (tube(ut, hw_u, hw_u), "myometrium", 2),
                  (tube(ut, hw_u, hw_u, ci <= 2.2), "cervix", None),
                  (tube(ut, np.full(N_AXIS, 2.5), np.full(N_AXIS, 2.5),
                        (ci > 2.4) & (ci < 3.6)), "endometrium", None),
                  (tube(vaxis, vlumen, vlumen, self.vagina_frac > 0.03),
                   "gel" if sub["vaginal_gel_mm"] else "endometrium", None)]
        raxis = rect[:, :2]
        polys += [(tube(raxis, hw_pos, hw_neg), "rectal_wall", 3),
                  (tube(raxis, lumen, lumen + rc, lumen > 0.3), "gel", None)]
        nr = normals(raxis)
        polys += [([disc(raxis[i] - nr[i] * 0.5 * lumen[i], min(rb, 0.35 * lumen[i]))], "air",
                   None) for i, rb in self.bubbles if 0.35 * lumen[i] > 1.0]
        if entero is not None:
            polys += [([ent_poly], "bowel_wall", 0),
                      ([shrink(ent_poly, ent_poly.mean(axis=0), 2.5)], "bowel_content", 0)]
        return polys

    def _enterocele(self, st: dict[str, float], raxis: np.ndarray, nr: np.ndarray,
                    hw_neg: np.ndarray, vaxis: np.ndarray, hw_v: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, Poly] | None:
        """Small-bowel loop descending between vagina and rectum, pushing both apart."""
        depth = self.sub["enterocele_mm"] * st["push"] ** 1.5
        if depth < 3.0:
            return None
        y = self.vagina[-1, 1] - 15.0 + depth
        j = int(np.argmin(np.abs(vaxis[:, 1] - y)))
        k = self.arj_idx + int(np.argmin(np.abs(raxis[self.arj_idx:, 1] - y)))
        size = 6.0 + 0.25 * depth
        raxis = bulge(raxis, k, size, nr[k], sigma=5.0)
        vaxis = bulge(vaxis, j, size, -nr[k], sigma=6.0)
        nv = normals(vaxis)
        front = vaxis[j] + nv[j] * hw_v[j]
        back = raxis[k] - normals(raxis)[k] * hw_neg[k]
        across = min(float(np.linalg.norm(back - front)) / 2.0 + 1.0, size)
        ang = np.rad2deg(np.arctan2(nv[j, 1], nv[j, 0]))  # short axis across the septum
        poly = ellipse(tuple((front + back) / 2.0), max(across, 3.0), 1.6 * size, ang, n=36)
        return raxis, vaxis, poly

    def _bladder_frame(self, st: dict[str, float]) -> list[tuple[list[Poly], str, int | None]]:
        outer = displace(self.bladder, "anterior", self.sub, st)
        inner = displace(self.bladder_in, "anterior", self.sub, st)
        return [([outer], "bladder_wall", 1), ([inner], "urine", None)]

    def _context_frame(self, st: dict[str, float]) -> list[tuple[list[Poly], str, int | None]]:
        sub = self.sub
        body = displace(self.body, "posterior", sub, st,
                        gain=np.exp(-(((self.body[:, 0] - 55.0) / 45.0) ** 2)))
        sac, rec = self.sacrum, self.rectus
        sig = self.sigmoid.copy()
        sig[:, :2] = displace(sig[:, :2], "middle", sub, st, gain=0.3)
        out: list[tuple[list[Poly], str, int | None]] = [
            ([body], "fat", None),
            (tube(rec[:, :2], rec[:, 2], rec[:, 2]), "muscle", None),
            ([self.l5], "cortex", None), ([shrink(self.l5, self.l5.mean(0), 2.0)], "marrow", None),
            (tube(sac[:, :2], sac[:, 2], sac[:, 2]), "cortex", None),
            (tube(sac[:, :2], sac[:, 2] - 2, sac[:, 2] - 2), "marrow", None),
            ([self.symphysis], "cortex", None),
            ([shrink(self.symphysis, self.symphysis.mean(0), 2.0)], "marrow", None),
        ]
        for loop, content in self.loops:
            moved = displace(loop, "middle", sub, st, gain=0.3)
            out += [([moved], "bowel_wall", None),
                    ([shrink(moved, moved.mean(0), 2.5)], content, None)]
        out += [(tube(sig[:, :2], sig[:, 2], sig[:, 2]), "bowel_wall", None),
                (tube(sig[:, :2], sig[:, 2] - 2.5, sig[:, 2] - 2.5), "bowel_content", None)]
        rect = displace(self.rectum[:, :2], "posterior", sub, st)
        i = self.arj_idx
        lev_rest = np.linspace(self.rectum[i, :2] + (self.rectum[i, 2] + 6.0, 6.0),
                               self.sacrum[-1, :2], 12)
        lev = displace(lev_rest, "posterior", sub, st, gain=np.linspace(1.0, 0.0, 12))
        ure = self.urethra
        canal = np.flatnonzero(self.canal)
        out += [(tube(lev, np.full(12, 4.5), np.full(12, 4.5)), "muscle", None),
                ([displace(self.perineal, "posterior", sub, st)], "soft", None),
                (tube(displace(ure[:, :2], "anterior", sub, st), ure[:, 2], ure[:, 2]),
                 "muscle", None),
                (tube(rect[canal], self.rectum[canal, 2] + 4.0, self.rectum[canal, 2] + 4.0),
                 "muscle", None)]
        return out


# --------------------------------------------------------------------------- imaging
def pose_matrix(sub: dict, shape: tuple[int, int], spacing: tuple[float, float]) -> np.ndarray:
    """2×3 affine: anatomical mm → supersampled PIL pixel coordinates."""
    h, w = shape
    sr, sc = spacing
    fov_h = h * sr
    centre_anat = np.array([65.0, max(-60.0, 100.0 - fov_h / 2.0)])
    centre_img = np.array([w * sc / 2.0, fov_h / 2.0]) + np.asarray(sub["shift_mm"])
    th = np.deg2rad(sub["rotation_deg"])
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) * sub["scale"]
    to_px = np.diag([SS / sc, SS / sr])
    lin = to_px @ rot
    off = to_px @ (centre_img - rot @ centre_anat) + (SS - 1) / 2.0
    return np.hstack([lin, off[:, None]])


def rasterise(items: list[tuple[list[Poly], str, int | None]], affine: np.ndarray,
              shape: tuple[int, int], table_x: float) -> tuple[np.ndarray, np.ndarray]:
    """Paint tissue classes and labels at ×SS; returns (tissue, label) uint8 maps."""
    h, w = shape[0] * SS, shape[1] * SS
    tis, lab = Image.new("L", (w, h), 0), Image.new("L", (w, h), 0)
    dt, dl = ImageDraw.Draw(tis), ImageDraw.Draw(lab)
    if table_x < w:
        dt.rectangle([table_x, 0, table_x + 20 * SS, h], fill=TI["table"])
    for polys, tissue, label in items:
        for p in polys:
            xy = (p @ affine[:, :2].T + affine[:, 2]).ravel().tolist()
            dt.polygon(xy, fill=TI[tissue])
            if label is not None:
                dl.polygon(xy, fill=label)
    return np.asarray(tis), np.asarray(lab)


def downsample_labels(lab3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Majority label of each SS×SS block, then the largest 4-connected piece per organ.

    Returns (labels, dropped) where ``dropped`` holds the label of each pixel removed as
    a stray piece (0 elsewhere).
    """
    h, w = lab3.shape[0] // SS, lab3.shape[1] // SS
    blocks = lab3.reshape(h, SS, w, SS)
    counts = np.stack([(blocks == k).sum(axis=(1, 3)) for k in range(4)])
    lab = np.argmax(counts, axis=0).astype(np.uint8)
    dropped = np.zeros_like(lab)
    for k in (1, 2, 3):
        comp, n = ndimage.label(lab == k)
        if n == 0:
            raise RuntimeError(f"organ {k} vanished from a frame")
        if n > 1:
            sizes = np.bincount(comp.ravel())[1:]
            stray = (comp > 0) & (comp != 1 + int(np.argmax(sizes)))
            lab[stray], dropped[stray] = 0, k
    return lab, dropped


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return f / max(float(f.std()), 1e-9)


def static_fields(rng: np.random.Generator, shape: tuple[int, int], seq: str) -> dict:
    """Per-case texture, bias and (bSSFP) banding multipliers."""
    h, w = shape
    y, x = np.mgrid[-1:1:h * 1j, -1:1:w * 1j]
    terms = np.stack([x, y, x * x, x * y, y * y])
    poly = np.tensordot(rng.normal(size=5), terms, axes=1)
    bias_amp = rng.uniform(0.1, 0.4)
    bias = 1.0 + bias_amp * poly / max(float(np.abs(poly).max()), 1e-9)
    tex = 1.0 + rng.uniform(0.04, 0.1) * smooth_field(rng, shape, 1.5) \
        + rng.uniform(0.02, 0.06) * smooth_field(rng, shape, 6.0)
    band = np.ones(shape)
    banding = seq == "bssfp" and rng.random() < 0.3
    if banding:
        x0, y0 = rng.uniform(-0.3, 0.3, 2)
        off = rng.uniform(0.3, 1.0) * ((x - x0) ** 2 + (y - y0) ** 2) + rng.uniform(-0.3, 0.3) * x
        wrap = off - 0.5 - np.round(off - 0.5)
        band = 1.0 - rng.uniform(0.6, 0.95) * np.exp(-0.5 * (wrap / 0.035) ** 2)
    return {"mult": (bias * tex * band).astype(np.float32), "bias_amp": float(bias_amp),
            "banding": bool(banding)}


def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict]:
    """One case: (frames float32 (T,H,W), labels uint8 (T,H,W), spacing (row, col), params)."""
    rng = np.random.default_rng(seed)
    t_n = int(rng.integers(12, 41))
    shape = (int(rng.integers(224, 289)), int(rng.integers(224, 289)))
    sr = round(float(rng.uniform(1.1, 1.5)), 3)
    sc = round(float(np.clip(sr * rng.uniform(0.95, 1.05), 1.1, 1.5)), 3)
    seq = "bssfp" if rng.random() < 0.5 else "ssfse"
    snr = float(rng.uniform(10, 40))
    thickness = float(rng.uniform(5, 10))
    factors = rng.uniform(0.7, 1.3, len(TISSUES))
    factors[TI["urine"]] = rng.uniform(0.95, 1.3)
    factors[TI["gel"]] = factors[TI["urine"]] * rng.uniform(0.9, 1.0)  # both are water
    lut = 1000.0 * np.asarray(TEMPLATES[seq]) * factors
    sub = draw_subject(rng)
    anatomy = Anatomy(sub, rng)
    affine = pose_matrix(sub, shape, (sr, sc))
    body = anatomy.body @ affine[:, :2].T + affine[:, 2]
    in_fov = (body[:, 1] >= 0) & (body[:, 1] < shape[0] * SS)
    table_x = float(body[in_fov, 0].max(initial=0.0) + 4 * SS)
    fields = static_fields(rng, shape, seq)
    blur_max = float(rng.uniform(0.5, 2.0))
    slice_sigma = 0.05 * thickness / min(sr, sc)
    frames = np.empty((t_n, *shape), np.float32)
    labels = np.empty((t_n, *shape), np.uint8)
    sigma_noise = 0.0
    for t in range(t_n):
        st = timeline(t / (t_n - 1), sub["phase_jitter"])
        tis3, lab3 = rasterise(anatomy.frame(st), affine, shape, table_x)
        labels[t], dropped = downsample_labels(lab3)
        if dropped.any():  # stray organ pieces become fat in the image too
            up = np.repeat(np.repeat(dropped, SS, axis=0), SS, axis=1)
            tis3 = np.where((up > 0) & (lab3 == up), TI["fat"], tis3)
        img = lut[tis3].reshape(shape[0], SS, shape[1], SS).mean(axis=(1, 3))
        motion = blur_max * st["blur"]
        img = ndimage.gaussian_filter(img * fields["mult"], (np.hypot(slice_sigma, motion),
                                                             slice_sigma))
        if t == 0:
            sigma_noise = float(img[img > 0.05 * img.max()].mean()) / snr
        noise = rng.normal(0.0, sigma_noise, (2, *shape))
        frames[t] = np.hypot(img + noise[0], noise[1])
    interval = float(rng.uniform(0.9, 2.2))
    params = {"seed": int(seed), "shape": [t_n, *shape], "spacing_mm": [sr, sc],
              "sequence": seq, "snr": snr, "slice_thickness_mm": thickness,
              "frame_interval_s": interval, "bias_amplitude": fields["bias_amp"],
              "banding": fields["banding"], "motion_blur_px": blur_max,
              "pathologies": sub["pathologies"], "subject": sub}
    return frames, labels, (sr, sc), params


# --------------------------------------------------------------------------- output
def write_case(seed: int, out: Path) -> str:
    """Generate, write and round-trip check one case; returns a one-line summary."""
    t0 = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    case = out / f"defeco_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    desc = "cine sag bSSFP defecography" if params["sequence"] == "bssfp" \
        else "cine sag SSFSE defecography"
    times = np.arange(len(frames)) * params["frame_interval_s"]
    series = CineSeries(frames, spacing, times,
                        meta={"subject_id": f"defeco_{seed:03d}", "series_description": desc})
    write_dicom_series(series, case / "series", shuffle_names=True, seed=seed,
                       slice_thickness_mm=params["slice_thickness_mm"])
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    back = read_series(case / "series")
    if back.frames.shape != frames.shape or not np.allclose(back.spacing_mm, spacing,
                                                            rtol=0, atol=1e-6):
        raise RuntimeError(f"{case}: round trip changed shape or spacing "
                           f"({back.frames.shape}, {back.spacing_mm})")
    _, slope, _ = rescale(frames)
    err = float(np.abs(back.frames - frames).max())
    if err > 0.51 * slope + 1e-6 * float(np.abs(frames).max()):
        raise RuntimeError(f"{case}: round trip frames differ by {err:.4g} (slope {slope:.4g})")
    return (f"{case.name}: T={frames.shape[0]} {frames.shape[1]}x{frames.shape[2]} "
            f"{params['sequence']} SNR={params['snr']:.0f} "
            f"pathologies={','.join(params['pathologies']) or 'none'} "
            f"{time.perf_counter() - t0:.1f}s")


def _write_star(args: tuple[int, Path]) -> str:
    return write_case(*args)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Synthetic labelled MR defecography cine series.")
    ap.add_argument("--seeds", required=True, help="e.g. 0-11 or 1,5,7")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(s, args.out) for s in parse_seeds(args.seeds)]
    for line in map_jobs(_write_star, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
