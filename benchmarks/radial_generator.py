"""Radial real-time generator of labelled synthetic cine sagittal pelvic MRI.

Anatomy: a female pelvis in the (near) mid-sagittal plane, built in an anatomical
frame (u toward the feet, v toward the back, mm, origin at the inferior end of the
pubic symphysis) from swept-disc tubes along spline skeletons and perturbed
(super)ellipses, painted in anatomical order onto a soft-tissue layer and a fixed
bone layer.  Bones: pubic symphysis, sacrum (S1-S5) with canal and posterior plate,
coccyx segments, lumbar vertebrae with discs, spinal canal, cauda and spinous
processes.  Soft tissue: skin, subcutaneous and intra-pelvic fat, rectus abdominis,
paraspinal and gluteal muscle, optional thighs, small-bowel and sigmoid loops with
fluid, chyme or gas, mesenteric and great vessels, levator plate, puborectalis,
external anal sphincter, perineal body, urethra.  Labelled organs: 1 bladder (wall
and urine), 2 uterus_vagina (vaginal wall and lumen, cervical stroma and canal,
myometrium, junctional zone, endometrium, optional fibroid and Nabothian cysts),
3 rectum with anal canal (wall and content: collapsed, stool, gas with a fluid
level, fluid or gel, gas bubbles on the non-dependent side).  Per subject: pelvic
size, pelvic tilt, bone shapes, body habitus, bladder filling from empty to full,
anteverted or retroverted and flexed uterus, post-menopausal atrophy, rectal
content and distension, vaginal gel, thighs, buttock / natal cleft, off-midline
offset, supine or seated in an open scanner (gravity sag, gas rises cranially).

Motion: 12-40 frames of rest, optional squeeze, one or two strains (Valsalva or
defecation) and optional recovery.  The soft layer is warped backward by a sum of
smooth displacement components times time courses: pelvic floor descent of
10-40 mm, extra bladder-base and cervix descent, posterior-caudal motion of the
anorectal junction (the anorectal angle opens), an optional rectocele, rectal
evacuation and anal canal opening during defecation, abdominal wall bulge,
breathing (held during strain), bowel peristalsis and a small bulk drift; the bones
stay.  The strain components are scaled down together where their sum would fold the
warp.  Labels are warped with nearest neighbour on the final pixel grid (crumbs under
10 pixels go to the background), so no imaging effect touches them; a draw whose organ
is missing or split in any frame, or whose warp folds, is redrawn and the attempt
number recorded.

Imaging: golden-angle (or tiny golden-angle) radial acquisition simulated in
k-space for 1-4 receive coils with smooth complex sensitivities: each frame's
object (the field of view plus a tapered margin of tissue outside it) is Fourier
transformed on a 2x oversampled grid and interpolated with a Kaiser-Bessel kernel
onto 15-120 spokes of 2x oversampled readouts (optionally with gradient-delay
errors), complex Gaussian noise is added, and each frame is reconstructed by ramp
density-compensated gridding (adjoint NUFFT) from the spokes of 1-3 neighbouring
frames (sliding-window view sharing), then combined by root sum of squares
(Rician / non-central chi noise) with a partial intensity normalisation.
Contrasts: bSSFP (with optional off-resonance banding), spoiled GRE (T1-like) and
single-shot T2 (HASTE-like), each with per-case random tissue intensities and
textures; field strength from 0.25-0.6 T (open, lower SNR) to 1.5 T and 3 T (B1
bias); SNR 5-40.

Output: ``generate(seed)`` returns float32 frames (T, H, W) in canonical
orientation (rows head to feet, columns anterior to posterior), uint8 labels,
spacing (row, col) in mm and a JSON-able dict of every drawn parameter.
``run_case`` writes ``radial_{seed:03d}/series.dcm``: one Enhanced MR multi-frame
DICOM file with shared and per-frame functional groups, stored RLE Lossless
compressed (pydicom's built-in RLE codec, which ``core.io.read_series`` decodes),
plus ``truth.npy`` and ``params.json``.

Usage: python benchmarks/radial_generator.py --seeds 0-11 --out /tmp/radial [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)
from scipy import fft as sfft
from scipy import ndimage, sparse
from scipy.interpolate import CubicSpline, PchipInterpolator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.io.dicom_write import SAGITTAL_IOP, decimal_string, rescale  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402

LABELS = {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
BLADDER, UTERUS, RECTUM = 1, 2, 3
MAX_ATTEMPTS = 25
BOWEL_TRIES = 500  # candidate centres of small-bowel loops
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"

#: tissue: (bSSFP, spoiled GRE, single-shot T2) relative signal, fine and coarse texture.
TISSUES: dict[str, tuple[float, float, float, float, float]] = {
    "air": (0.0, 0.0, 0.0, 0.0, 0.0),
    "skin": (0.45, 0.5, 0.4, 0.03, 0.03),
    "fat": (0.85, 1.0, 0.78, 0.03, 0.05),
    "muscle": (0.22, 0.34, 0.15, 0.05, 0.05),
    "fibrous": (0.14, 0.26, 0.1, 0.04, 0.04),
    "cortex": (0.04, 0.05, 0.03, 0.0, 0.0),
    "marrow": (0.55, 0.78, 0.55, 0.08, 0.1),
    "pubis": (0.4, 0.55, 0.38, 0.06, 0.06),
    "annulus": (0.2, 0.25, 0.14, 0.03, 0.03),
    "nucleus": (0.6, 0.3, 0.8, 0.04, 0.04),
    "csf": (0.95, 0.15, 1.0, 0.02, 0.03),
    "vessel": (0.95, 0.6, 0.06, 0.02, 0.05),
    "bladder_wall": (0.22, 0.36, 0.16, 0.04, 0.04),
    "urine": (1.0, 0.1, 1.0, 0.01, 0.02),
    "urethra": (0.3, 0.36, 0.3, 0.04, 0.04),
    "urethral_mucosa": (0.55, 0.3, 0.7, 0.03, 0.03),
    "myometrium": (0.42, 0.38, 0.5, 0.05, 0.06),
    "junctional": (0.26, 0.35, 0.2, 0.04, 0.04),
    "endometrium": (0.62, 0.32, 0.85, 0.04, 0.04),
    "cervix": (0.25, 0.36, 0.14, 0.04, 0.04),
    "mucus": (0.8, 0.2, 0.9, 0.02, 0.02),
    "fibroid": (0.2, 0.36, 0.1, 0.06, 0.06),
    "vaginal_wall": (0.32, 0.38, 0.3, 0.04, 0.05),
    "rectal_wall": (0.25, 0.36, 0.2, 0.04, 0.05),
    "stool": (0.42, 0.46, 0.36, 0.3, 0.2),
    "gas": (0.02, 0.02, 0.02, 0.0, 0.0),
    "fluid": (0.92, 0.14, 0.95, 0.02, 0.03),
    "gel": (0.95, 0.16, 0.97, 0.01, 0.02),
    "bowel_wall": (0.3, 0.38, 0.25, 0.05, 0.05),
    "chyme": (0.5, 0.4, 0.5, 0.22, 0.15),
}
TISSUE_NAMES = list(TISSUES)
TID = {name: i for i, name in enumerate(TISSUE_NAMES)}
SEQUENCES = ("bssfp", "gre", "haste")

# Paint priorities of the soft layer (later paints over earlier).
P_BODY, P_THIGH, P_MUSCLE, P_BOWEL, P_VESSEL, P_FLOOR, P_URETHRA = 0, 1, 2, 4, 6, 7, 8
P_RECTUM, P_VAGINA, P_BLADDER, P_UT_VESSEL, P_UTERUS = 9, 10, 11, 12, 13

BBox = tuple[float, float, float, float]
NO_BOX: BBox = (-np.inf, np.inf, -np.inf, np.inf)


# ----------------------------------------------------------------------------- shapes


class Shape(Protocol):
    """A region with an approximate signed distance (mm, negative inside)."""

    bbox: BBox

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray: ...


def _dir(deg: float) -> np.ndarray:
    """Unit vector at ``deg`` from the feet direction (+u) toward the back (+v)."""
    rad = np.radians(deg)
    return np.array([np.cos(rad), np.sin(rad)])


def _angle(vec: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(vec[1], vec[0])))


def _unit(vec: np.ndarray) -> np.ndarray:
    return vec / max(float(np.linalg.norm(vec)), 1e-9)


def _smax(*values: np.ndarray, k: float = 3.0) -> np.ndarray:
    """Smooth maximum (rounds the corners of intersections)."""
    out = values[0] / k
    for val in values[1:]:
        out = np.logaddexp(out, val / k)
    return out * k


def _profile(xs: Sequence[float], ys: Sequence[float]) -> Callable[[np.ndarray], np.ndarray]:
    """Monotone smooth interpolant through (x, y) points, constant beyond the ends."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    keep = np.r_[True, np.diff(x) > 0.5]
    x, y = x[keep], y[keep]
    spline = PchipInterpolator(x, y)
    return lambda q: spline(np.clip(q, x[0], x[-1]))


@dataclass
class FuncShape:
    """A shape given by its distance function."""

    fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
    bbox: BBox = NO_BOX

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.fn(u, v)


def half_plane(point: np.ndarray, normal: np.ndarray) -> FuncShape:
    """Points on the side of ``point`` opposite to ``normal``."""
    n = _unit(np.asarray(normal, float))
    p = np.asarray(point, float)
    return FuncShape(lambda u, v: (u - p[0]) * n[0] + (v - p[1]) * n[1])


@dataclass
class Tube:
    """Union of discs along a dense skeleton (exact distance to the swept discs)."""

    centers: np.ndarray
    radii: np.ndarray

    @classmethod
    def along(cls, ctrl: Sequence[np.ndarray], radii: Sequence[float], step: float = 1.0) -> Tube:
        """Cubic spline through the control points, radii interpolated along it."""
        pts = np.asarray(ctrl, float)
        chord = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
        t = np.linspace(0.0, chord[-1], max(int(chord[-1] / step) + 1, 2))
        if len(pts) > 2:
            centers = CubicSpline(chord, pts, axis=0, bc_type="natural")(t)
        else:
            centers = pts[0] + (t / chord[-1])[:, None] * (pts[1] - pts[0])
        return cls(centers, np.interp(t, chord, np.asarray(radii, float)))

    @property
    def bbox(self) -> BBox:
        r = float(self.radii.max())
        lo, hi = self.centers.min(axis=0) - r, self.centers.max(axis=0) + r
        return lo[0], hi[0], lo[1], hi[1]

    def arc(self) -> np.ndarray:
        """Arc length fraction (0-1) of each skeleton point."""
        s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(self.centers, axis=0), axis=1))]
        return s / max(s[-1], 1e-9)

    def sub(self, f0: float, f1: float, fractions: Sequence[float],
            radii: Sequence[float]) -> Tube:
        """Part between arc fractions ``f0``-``f1`` with radii given at local fractions."""
        arc = self.arc()
        keep = (arc >= f0) & (arc <= f1)
        local = (arc[keep] - f0) / max(f1 - f0, 1e-9)
        return Tube(self.centers[keep], np.interp(local, fractions, radii))

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        out = np.empty(u.shape, np.float64)
        chunk = max(256, 2_000_000 // len(self.radii))
        cu, cv = self.centers[:, 0], self.centers[:, 1]
        for s in range(0, len(u), chunk):
            du = u[s:s + chunk, None] - cu
            dv = v[s:s + chunk, None] - cv
            out[s:s + chunk] = (np.sqrt(du * du + dv * dv) - self.radii).min(axis=1)
        return out


@dataclass
class Blob:
    """Superellipse (exponent ``p``) with boundary harmonics; ``phi`` is the a-axis angle."""

    center: np.ndarray
    a: float
    b: float
    phi: float
    p: float = 2.0
    harmonics: tuple[tuple[int, float, float], ...] = ()

    @property
    def bbox(self) -> BBox:
        r = max(self.a, self.b) * (1.0 + sum(abs(h[1]) for h in self.harmonics))
        return self.center[0] - r, self.center[0] + r, self.center[1] - r, self.center[1] + r

    def outline(self, n: int = 72) -> np.ndarray:
        """Boundary points (n, 2) of an ellipse (p = 2) with its harmonics."""
        psi = np.linspace(0, 2 * np.pi, n, endpoint=False)
        edge = 1 + sum(amp * np.cos(k * psi + phase) for k, amp, phase in self.harmonics)
        axis = _dir(self.phi)
        x, y = edge * self.a * np.cos(psi), edge * self.b * np.sin(psi)
        return self.center + x[:, None] * axis + y[:, None] * np.array([-axis[1], axis[0]])

    def sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        c, s = np.cos(np.radians(self.phi)), np.sin(np.radians(self.phi))
        du, dv = u - self.center[0], v - self.center[1]
        x, y = (du * c + dv * s) / self.a, (dv * c - du * s) / self.b
        rho = (np.abs(x) ** self.p + np.abs(y) ** self.p) ** (1.0 / self.p)
        edge = np.ones_like(rho)
        if self.harmonics:
            psi = np.arctan2(y, x)
            for k, amp, phase in self.harmonics:
                edge += amp * np.cos(k * psi + phase)
        return (rho - edge) * min(self.a, self.b)


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, step: float = 1.0) -> np.ndarray:
    """Quadratic Bezier curve sampled about every ``step`` mm."""
    n = max(int((np.linalg.norm(p1 - p0) + np.linalg.norm(p2 - p1)) / step), 2)
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * t * (1 - t) * p1 + t ** 2 * p2


def _sdf_at(shape: Shape, pts: np.ndarray) -> np.ndarray:
    pts = np.atleast_2d(pts)
    return shape.sdf(pts[:, 0], pts[:, 1])


def _clear(point: np.ndarray, shape: Shape, need: float, iters: int = 15) -> np.ndarray:
    """Move ``point`` along the distance gradient until it is ``need`` mm from ``shape``."""
    p = np.asarray(point, float).copy()
    h = 0.5
    for _ in range(iters):
        d = float(_sdf_at(shape, p)[0])
        if d >= need:
            break
        probe = np.array([p + (h, 0), p - (h, 0), p + (0, h), p - (0, h)])
        val = _sdf_at(shape, probe)
        grad = np.array([val[0] - val[1], val[2] - val[3]])
        if np.linalg.norm(grad) < 1e-6:
            break
        p += (need - d + 0.3) * _unit(grad)
    return p


@dataclass
class Op:
    """One paint operation: layers are (grow mm, tissue), outer first."""

    prio: int
    shape: Shape
    layers: list[tuple[float, str]]
    label: int = 0
    within: tuple[Shape, ...] = ()
    only: tuple[str, ...] = ()


class Canvas:
    """Soft and fixed tissue maps and the soft label map over anatomical coordinates."""

    def __init__(self, u: np.ndarray, v: np.ndarray) -> None:
        self.u, self.v = u.ravel(), v.ravel()
        self.soft = np.zeros(self.u.size, np.int16)
        self.fixed = np.full(self.u.size, -1, np.int16)
        self.label = np.zeros(self.u.size, np.uint8)

    def paint(self, op: Op, fixed: bool = False) -> None:
        outer = max(g for g, _ in op.layers)
        u0, u1, v0, v1 = op.shape.bbox
        idx = np.flatnonzero((self.u >= u0 - outer) & (self.u <= u1 + outer)
                             & (self.v >= v0 - outer) & (self.v <= v1 + outer))
        if idx.size == 0:
            return
        d = op.shape.sdf(self.u[idx], self.v[idx])
        keep = d < outer
        for shape in op.within:
            sel = np.flatnonzero(keep)
            keep[sel] = shape.sdf(self.u[idx[sel]], self.v[idx[sel]]) < 0
        target = self.fixed if fixed else self.soft
        if op.only:
            keep &= np.isin(target[idx], [TID[t] for t in op.only])
        idx, d = idx[keep], d[keep]
        for grow, tissue in sorted(op.layers, key=lambda layer: -layer[0]):
            target[idx[d < grow]] = TID[tissue]
        if not fixed:
            self.label[idx] = op.label


# ----------------------------------------------------------------------------- anatomy


class Anatomy:
    """Landmarks, shapes and paint operations of one subject (anatomical mm)."""

    def __init__(self, subj: dict[str, Any], rng: np.random.Generator) -> None:
        self.subj, self.rng = subj, rng
        self.ops: list[Op] = []
        self.fixed_ops: list[Op] = []
        tilt = np.radians(subj["tilt_deg"])
        g_img = np.array([1.0, 0.0]) if subj["seated"] else np.array([0.0, 1.0])
        self.gravity = np.array([np.cos(tilt) * g_img[0] + np.sin(tilt) * g_img[1],
                                 -np.sin(tilt) * g_img[0] + np.cos(tilt) * g_img[1]])
        self._bones()
        self._floor_landmarks()
        self._body()
        self._pelvic_floor()
        self._rectum()
        self._vagina()
        self._bladder()
        self._uterus()
        self._urethra()
        self._muscles()
        self._vessels()

    # -- helpers
    def _op(self, prio: int, shape: Shape, layers: list[tuple[float, str]], label: int = 0,
            within: tuple[Shape, ...] = (), only: tuple[str, ...] = ()) -> None:
        self.ops.append(Op(prio, shape, layers, label, within, only))

    def _fixed(self, shape: Shape, layers: list[tuple[float, str]],
               within: tuple[Shape, ...] = ()) -> None:
        self.fixed_ops.append(Op(0, shape, layers, 0, within))

    def bone_sdf(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.minimum.reduce([t.sdf(u, v) for t in self.bone_tubes])

    def _sacral(self, frac: float) -> tuple[np.ndarray, np.ndarray]:
        """Anterior sacral surface point and posterior normal at a sacral arc fraction
        (beyond 1: along the coccyx)."""
        i = min(int(round(frac * self.i_apex)), len(self.surf) - 1)
        return self.surf[i], self.post[i]

    # -- bones (fixed layer)
    def _bones(self) -> None:
        b = self.subj["bones"]
        self.O = np.zeros(2)
        self.Ps = b["symphysis_length"] * _dir(180 + b["symphysis_tilt"])
        r = b["symphysis_radius"]
        self.sym = Tube.along([self.O, self.Ps / 2, self.Ps], [0.9 * r, r, 0.85 * r])
        self._fixed(self.sym, [(0, "cortex"), (-1.6, "pubis")])
        pr = b["promontory"][0] * _dir(b["promontory"][1])
        apex = b["apex"][0] * _dir(b["apex"][1])
        tip = apex + b["coccyx_length"] * _dir(b["coccyx_angle"])
        chord = apex - pr
        slope = min(_angle(chord) + b["concavity"], 50.0)
        k1 = pr + 0.55 * float(np.linalg.norm(chord)) * _dir(slope)
        k2 = apex + 0.45 * b["coccyx_length"] * _unit(apex - k1)
        self.surf = np.r_[_bezier(pr, k1, apex), _bezier(apex, k2, tip)[1:]]
        tang = np.gradient(self.surf, axis=0)
        tang /= np.linalg.norm(tang, axis=1, keepdims=True)
        self.post = np.stack([-tang[:, 1], tang[:, 0]], axis=1)
        self.i_apex = int(np.argmin(np.linalg.norm(self.surf - apex, axis=1)))
        self.tip, self.Cj = tip, apex + 0.65 * (tip - apex)
        n_s, n_all = self.i_apex + 1, len(self.surf)
        f = np.arange(n_s) / self.i_apex
        r1 = b["s1_depth"] / 2
        rad = np.r_[np.interp(f, [0, 0.3, 0.7, 1], [r1, 0.72 * r1, 0.45 * r1, 5.0]),
                    np.linspace(4.5, 2.5, n_all - n_s)]
        centers = self.surf + rad[:, None] * self.post
        top = half_plane(centers[0], -tang[0])
        sacrum = Tube(centers[:n_s], rad[:n_s])
        coccyx = Tube(centers[n_s - 2:], rad[n_s - 2:])
        self.bone_tubes = [self.sym, sacrum, coccyx]
        rc = np.interp(f, [0, 0.5, 0.88, 1], [b["sacral_canal"], 0.7 * b["sacral_canal"], 1.5, 1])
        canal = self.surf[:n_s] + (2 * rad[:n_s] + rc + 0.5)[:, None] * self.post[:n_s]
        n_canal = int(0.88 * n_s)
        self._fixed(Tube(canal[:n_canal], rc[:n_canal]), [(0, "fat")], (top,))
        n_csf = int(0.4 * n_s)
        self._fixed(Tube(canal[:n_csf], rc[:n_csf] - 1), [(0, "csf")], (top,))
        tp = b["sacral_plate"]
        plate = self.surf[:n_s] + (2 * rad[:n_s] + 2 * rc + 1 + tp)[:, None] * self.post[:n_s]
        n_plate = int(0.92 * n_s)
        self._fixed(Tube(plate[:n_plate], np.full(n_plate, tp)), [(0, "cortex"), (-1.2, "marrow")],
                    (top,))
        self.sac_post = np.r_[self.surf[:n_s] + (2 * rad[:n_s] + 2 * rc + 1 + 2 * tp)[:, None]
                              * self.post[:n_s],
                              self.surf[n_s:] + 2 * rad[n_s:, None] * self.post[n_s:]]
        self._fixed(sacrum, [(0, "cortex")], (top,))
        bounds = np.r_[0, np.cumsum([0.26, 0.22, 0.2, 0.17, 0.15])] * self.i_apex
        self._segments(centers, rad, tang, bounds, "marrow", 1.5)
        self._fixed(coccyx, [(0, "annulus")])
        n_co = b["coccyx_segments"]
        co_bounds = np.linspace(self.i_apex, n_all - 1, n_co + 1)
        self._segments(centers, rad, tang, co_bounds, "cortex", 0.8, inner="marrow")
        self._lumbar(centers[0], -tang[0], 2 * r1)

    def _segments(self, centers: np.ndarray, rad: np.ndarray, tang: np.ndarray,
                  bounds: np.ndarray, tissue: str, gap: float, inner: str = "") -> None:
        """Bone segments between skeleton indices ``bounds``, with flat gaps between."""
        for i0, i1 in zip(bounds[:-1].astype(int), bounds[1:].astype(int), strict=True):
            if i1 - i0 < 3:
                continue
            lo, hi = max(i0 - 4, 0), min(i1 + 5, len(rad))
            cut = (half_plane(centers[i0] + gap * tang[i0], -tang[i0]),
                   half_plane(centers[i1] - gap * tang[i1], tang[i1]))
            layers = [(0.0, tissue)] if tissue == "cortex" else [(-1.5, tissue)]
            if inner:
                layers.append((-1.2, inner))
            self._fixed(Tube(centers[lo:hi], rad[lo:hi]), layers, cut)

    def _lumbar(self, endplate: np.ndarray, axis: np.ndarray, depth: float) -> None:
        b = self.subj["bones"]
        ang, c = _angle(axis), endplate.copy()
        hd, hb, rc, sl = b["disc_height"], b["body_height"], b["lumbar_canal"], b["spinous_length"]
        steps = [b["lumbosacral_angle"]] + [b["lordosis_step"]] * 4 + [-3.0] * 9
        canal, spinous, centers = [], [], []
        self.spine_front, self.spine_back = [], []
        for step in steps:
            if c[0] < -560:
                break
            new = ang - step
            mid = (ang + new) / 2
            disc = c + hd / 2 * _dir(mid)
            body = c + hd * _dir(mid) + hb / 2 * _dir(new)
            back = _dir(new - 90)
            self._fixed(Blob(disc, hd / 2 + 0.8, depth / 2 - 0.5, mid, 3.0), [(0, "annulus")])
            self._fixed(Blob(disc, hd * 0.3, depth * 0.28, mid), [(0, "nucleus")])
            self._fixed(Blob(body, hb / 2, depth / 2, new, 5.0), [(0, "cortex"), (-1.5, "marrow")])
            rear = body + depth / 2 * back
            canal.append(rear + rc * back)
            sp = rear + (2 * rc + 3 + sl / 2) * _dir(new - 110)
            spinous.append(Blob(sp, sl / 2, b["spinous_width"], new - 110, 2.5))
            centers.append(body)
            self.spine_front.append(body - depth / 2 * back)
            self.spine_back.append(sp + sl / 2 * _dir(new - 110))
            c, ang = body + hb / 2 * _dir(new), new
        top_canal = self.surf[0] + (depth + b["sacral_canal"] + 0.5) * self.post[0]
        canal_tube = Tube.along([top_canal, *canal], np.full(len(canal) + 1, rc), step=2.0)
        self._fixed(canal_tube, [(0, "csf")])
        cauda = Tube(canal_tube.centers + 0.35 * rc * _dir(ang - 90), np.full(len(canal_tube.radii),
                                                                               1.3))
        self._fixed(cauda, [(0, "fibrous")])
        ligament = Tube.along([s.center for s in spinous], np.full(len(spinous), 3.0), step=2.0)
        self._fixed(ligament, [(0, "fibrous")])
        for blob in spinous:
            self._fixed(blob, [(0, "cortex"), (-1.5, "marrow")])
        self.bone_tubes.append(Tube.along(centers[:2], np.full(2, depth / 2)))

    # -- pelvic floor landmarks and body outline
    def _floor_landmarks(self) -> None:
        f = self.subj["floor"]
        sag = np.array([self.subj["gravity_sag_mm"], 0.0])
        self.ARJ = np.array(f["arj"]) + sag
        self.canal_axis = _dir(f["canal_angle"])
        self.AV = self.ARJ + f["canal_length"] * self.canal_axis
        self.I = self.AV + np.array([-f["introitus_rise"], -f["perineal_length"]])

    def _body(self) -> None:
        h = self.subj["habitus"]
        r = float(self.sym.radii.max())
        fat, rect, belly, mons = h["fat_anterior"], h["rectus"], h["belly"], h["fat_mons"]
        front, o = self.Ps[1] - r, self.O
        self.wall = fat + rect + 3.0
        ant = [(-900.0, front - fat - rect - 30 - 0.5 * belly),
               (self.Ps[0] - 130, front - fat - rect - 15 - belly),
               (self.Ps[0] - 50, front - fat - rect - 4 - 0.35 * belly),
               (self.Ps[0], front - mons), (o[0] + 10, o[1] - r - 0.8 * mons),
               (o[0] + 60, o[1] - r - 0.8 * mons + 30)]
        self.v_ant = _profile([p[0] for p in ant], [p[1] for p in ant])
        tail = [(self.tip[0] + 12, self.tip[1] + 12 + h["fat_sacral"]),
                (self.AV[0] + 8, self.AV[1] + 18)]
        low = self.spine_back[0][0] + 10
        post = ([(p[0], p[1] + h["fat_back"]) for p in self.spine_back]
                + [(p[0], p[1] + h["fat_sacral"]) for p in self.sac_post[::8] if p[0] > low]
                + tail)
        self.v_post = _profile([p[0] for p in post], [p[1] for p in post])
        floor = [(-900.0, o[0] + 35), (o[1] - r - mons + 5, o[0] + 26),
                 (self.I[1] - 12, self.I[0] + 6), (self.I[1], self.I[0] + 2.5),
                 ((self.I[1] + self.AV[1]) / 2, (self.I[0] + self.AV[0]) / 2 + 4),
                 (self.AV[1], self.AV[0] + 2), (self.AV[1] + 12, self.AV[0] - 0.4 * h["cleft"]),
                 (self.AV[1] + 35, self.AV[0] - h["cleft"]), (900.0, self.AV[0] - h["cleft"])]
        self.u_floor = _profile([p[0] for p in floor], [p[1] for p in floor])
        but = h["buttock"]
        buttock = Blob(self.tip + np.array([14 + 14 * but, 6 + 6 * but]), 30 + 25 * but,
                       14 + 14 * but + 0.5 * h["fat_sacral"], 12.0)

        def body_sdf(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            main = _smax(self.v_ant(u) - v, v - self.v_post(u), u - self.u_floor(v))
            if but < 0.15:
                return main
            return -_smax(-main, -buttock.sdf(u, v), k=10.0)

        self.body = FuncShape(body_sdf)
        seat: tuple[Shape, ...] = ()
        if self.subj["seated"]:
            seat = (half_plane(self.AV + h["seat_gap"] * self.gravity, self.gravity),)
        self._op(P_BODY, self.body, [(0, "skin"), (-1.8, "fat")], within=seat)
        if h["thighs"]:
            self._thighs(h, o[1] - r - 0.5 * mons)

    def _thighs(self, h: dict[str, Any], v0: float) -> None:
        """Medial thighs below the perineum (off-midline or legs together)."""
        gap, top = h["thigh_gap"], self.AV[0]
        v1 = self.AV[1] + 40 + 40 * h["buttock"]

        def thigh_sdf(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            du = np.maximum(u - top, 0.0)
            return _smax(self.u_floor(v) + gap - u, v0 + 0.0006 * du ** 2 - v,
                         v - v1 + 0.0004 * du ** 2)

        thigh = FuncShape(thigh_sdf)
        self._op(P_THIGH, thigh, [(0, "skin"), (-1.8, "fat")])
        inner = FuncShape(lambda u, v: thigh_sdf(u, v) + 8.0)
        muscle = Blob(np.array([top + 130, (v0 + v1) / 2]), 115.0, max((v1 - v0) / 2 - 14, 8.0),
                      0.0, 2.0, ((3, 0.04, 1.0),))
        self._op(P_THIGH, muscle, [(0, "muscle")], within=(inner,))

    def _pelvic_floor(self) -> None:
        f = self.subj["floor"]
        side = _dir(f["canal_angle"] + 70)
        reach = self.subj["rectum"]["arj_radius"] + f["puborectalis"] / 2
        self.pr_center = self.ARJ + reach * side
        self._op(P_FLOOR, Blob(self.pr_center, f["puborectalis"] / 2, f["puborectalis_width"],
                               _angle(side)), [(0, "muscle")])
        lp = f["levator"] / 2
        end = self.Cj + np.array([3.0, -2.0])
        plate = Tube.along([self.pr_center, (self.pr_center + end) / 2 + (3, 0), end],
                           [lp, lp, 0.8 * lp])
        self._op(P_FLOOR, plate, [(0, "muscle")])
        r_ac = self.subj["rectum"]["canal_radius"]
        eas = Tube.along([self.AV + self.canal_axis, self.ARJ + 0.25 * (self.AV - self.ARJ)],
                         [r_ac + f["sphincter"], r_ac + 0.8 * f["sphincter"]])
        self._op(P_FLOOR, eas, [(0, "muscle")])
        axis = self.AV - self.I
        pb = Blob((self.I + self.AV) / 2 + (-3, 0), 0.3 * float(np.linalg.norm(axis)),
                  f["perineal_body"], _angle(axis))
        self._op(P_FLOOR, pb, [(0, "fibrous")])

    # -- organs
    def _rectum(self) -> None:
        rc = self.subj["rectum"]
        r_amp, wall, gap = rc["ampulla_radius"], rc["wall"], rc["presacral_gap"]
        s_amp, n_amp = self._sacral(rc["ampulla_level"])
        amp = s_amp - (r_amp + gap) * n_amp
        floor_line = half_plane(self.ARJ, _unit(np.array([self.Cj[1] - self.ARJ[1],
                                                          self.ARJ[0] - self.Cj[0]])))
        amp = _clear(amp, FuncShape(lambda u, v: -floor_line.sdf(u, v)), 0.5 * r_amp)
        s55, n55 = self._sacral(0.55)
        s28, n28 = self._sacral(0.28)
        up = s55 - (rc["upper_radius"] + gap) * n55
        up[0] = min(up[0], amp[0] - 0.6 * r_amp)
        rs = s28 - (rc["rs_radius"] + gap + 6) * n28 + (0, -10)
        tube = Tube.along([self.AV, self.ARJ, amp, up, rs],
                          [0.85 * rc["canal_radius"], rc["arj_radius"], r_amp,
                           rc["upper_radius"], rc["rs_radius"]])
        tube.radii = np.minimum(tube.radii, np.maximum(self.bone_sdf(*tube.centers.T) - 2, 4))
        self.rectum, self.amp, self.rs = tube, amp, rs
        self.rectum_length = float(np.sum(np.linalg.norm(np.diff(tube.centers, axis=0), axis=1)))
        arc = tube.arc() * self.rectum_length
        self.s_arj = arc[int(np.argmin(np.linalg.norm(tube.centers - self.ARJ, axis=1)))]
        blend = np.clip((arc - self.s_arj) / 8.0, 0, 1)
        lumen_r = np.maximum(tube.radii - wall, 1.0)
        if rc["content"] == "collapsed":
            lumen_r = np.minimum(lumen_r, 2.5)
        lumen = Tube(tube.centers, (1 - blend) * rc["canal_lumen"] + blend * lumen_r)
        content = {"collapsed": "mucus", "stool": "stool", "gas": "gas", "fluid": "fluid",
                   "gel": "gel"}[rc["content"]]
        self._op(P_RECTUM, tube, [(0, "rectal_wall")], RECTUM)
        self._op(P_RECTUM, lumen, [(0, content)], RECTUM)
        r_lum = max(r_amp - wall, 1.0)
        if rc["content"] == "gas":
            level = half_plane(amp + rc["fluid_level"] * r_lum * self.gravity, -self.gravity)
            self._op(P_RECTUM, lumen, [(0, "fluid")], RECTUM, within=(level,))
        perp = np.array([-self.gravity[1], self.gravity[0]])
        for depth, lateral, radius in rc["bubbles"]:
            center = amp - depth * r_lum * self.gravity + lateral * r_lum * perp
            self._op(P_RECTUM, Blob(center, radius, 0.8 * radius, 0.0), [(0, "gas")], RECTUM,
                     within=(lumen,))

    def _beside_rectum(self, along: float, distance: float) -> np.ndarray:
        """Point ``distance`` mm anterior to the rectal wall, ``along`` mm above the ARJ."""
        arc = self.rectum.arc() * self.rectum_length
        i = int(np.argmin(np.abs(arc - (self.s_arj + along))))
        t = _unit(np.gradient(self.rectum.centers, axis=0)[i])
        normal = np.array([-t[1], t[0]])
        normal = normal if normal[1] < 0 else -normal
        return self.rectum.centers[i] + (self.rectum.radii[i] + distance) * normal

    def _vagina(self) -> None:
        vg = self.subj["vagina"]
        r = vg["radius"] + (vg["lumen"] if vg["gel"] else 0.0)
        v1 = self._beside_rectum(vg["lower_along"], r + vg["septum"])
        top = self._beside_rectum(vg["fornix_along"], r + 2.5 + vg["septum"])
        v1 = _clear(v1, self.sym, r + 9.0)
        self.vagina = Tube.along([self.I, v1, top], [0.55 * r, r, r + 2.5])
        self.F, self.vag_axis = top, _unit(top - v1)
        self._op(P_VAGINA, self.vagina, [(0, "vaginal_wall")], UTERUS)
        lum = vg["lumen"]
        lumen = self.vagina.sub(0.03, 0.9, [0, 0.3, 1], [0.6 * lum, lum, lum])
        self._op(P_VAGINA, lumen, [(0, "gel" if vg["gel"] else "mucus")], UTERUS)

    def _bladder(self) -> None:
        bl = self.subj["bladder"]
        a, b = bl["half_height"], bl["half_width"]
        bn_u = bl["neck_height"] + 0.8 * self.subj["gravity_sag_mm"]
        k = int(np.argmin(np.abs(self.vagina.centers[:, 0] - bn_u)))
        bn = np.array([bn_u, self.vagina.centers[k, 1] - self.vagina.radii[k] - bl["neck_gap"]])
        bn = _clear(bn, self.sym, 8.0)
        tilt = bl["tilt"]
        harm = ((1, bl["pear"], 0.0), *(tuple(h) for h in bl["harmonics"]))
        center = bn + a * (1 - bl["pear"]) * _dir(180 + tilt)
        for _ in range(30):
            blob = Blob(center, a, b, 180 + tilt, 2.0, harm)
            pen_v = float(np.max(0.6 * self.vagina.radii - _sdf_at(blob, self.vagina.centers)))
            pen_s = float(np.max(self.sym.radii + 3.0 - _sdf_at(blob, self.sym.centers)))
            edge = blob.outline()
            edge = edge[edge[:, 0] < self.Ps[0]]  # above the pubis the wall is the limit
            front = float(np.min(edge[:, 1] - self.v_ant(edge[:, 0]) - self.wall, initial=0.0))
            if pen_v <= 0 and pen_s <= 0 and front >= 0:
                break
            # the base rests on the vagina and behind the pubis; no room: smaller than drawn
            center = center - (min(max(pen_s, 0.0), 4.0), min(max(pen_v, 0.0), 4.0))
            if front < 0 or (pen_v > 0 and pen_s > 0):
                a, b = max(0.95 * a, 10.0), max(0.95 * b, 12.0)
        self.subj["bladder"]["size_used"] = [float(a), float(b)]
        self.bladder = blob
        outline = blob.outline()
        self.BN = outline[np.argmax(outline[:, 0])]
        self._op(P_BLADDER, self.bladder, [(0, "bladder_wall"), (-bl["wall"], "urine")], BLADDER)

    def _uterus_conflict(self, tubes: Sequence[Tube]) -> float:
        c = np.concatenate([t.centers for t in tubes])
        r = np.concatenate([t.radii for t in tubes])
        into_wall = r + self.wall - (c[:, 1] - self.v_ant(c[:, 0]))
        return float(max(np.max(0.6 * r - _sdf_at(self.bladder, c)),
                         np.max(0.3 * r - _sdf_at(self.rectum, c)),
                         np.max(r + 3.0 - self.bone_sdf(c[:, 0], c[:, 1])),
                         np.max(into_wall)))

    def _uterus(self) -> None:
        ut = self.subj["uterus"]
        eo = self.F - 5 * self.vag_axis
        base = _angle(self.vag_axis)
        r_cx, r_co, l_co = ut["cervix_radius"], ut["corpus_radius"], ut["corpus_length"]
        best: tuple[float, Tube, Tube, float] | None = None
        turns = (0, 8, -8, 16, -16, 24, -24, 34, -34, 46, -46, 60, -60) if ut["anteverted"] \
            else (0, 8, 16, 24, 34, 46, 60, 75, 90)
        for dv in turns:
            ver = ut["version"] + dv
            corpus_angle = base + ver + 1.4 * ut["flexion"]
            io = eo + ut["cervix_length"] * _dir(base + ver)
            mid = io + 0.5 * l_co * _dir(base + ver + ut["flexion"])
            fundus = mid + max(0.5 * l_co - 0.8 * r_co, 3.0) * _dir(corpus_angle)
            cervix = Tube.along([eo, io], [0.85 * r_cx, r_cx])
            corpus = Tube.along([io, mid, fundus], [r_cx, r_co, 0.9 * r_co])
            score = max(self._uterus_conflict([cervix, corpus]), 105 - corpus_angle,
                        corpus_angle - 285)
            if best is None or score < best[0] - 1e-6:
                best = (score, cervix, corpus, ver)
            if score <= 0:
                break
        assert best is not None
        _, cervix, corpus, ver = best
        self.subj["uterus"]["version_used"] = float(ver)
        self.cervix, self.corpus, self.EO = cervix, corpus, eo
        self._op(P_UTERUS, cervix, [(0, "cervix")], UTERUS)
        self._op(P_UTERUS, corpus, [(0, "myometrium")], UTERUS)
        e, jz = ut["endometrium"], ut["junctional"]
        if jz > 0:
            self._op(P_UTERUS, corpus.sub(0.08, 0.97, [0, 0.3, 0.8, 1],
                                          [1.5, e + jz, e + jz, 0.7 * (e + jz)]),
                     [(0, "junctional")], UTERUS)
        self._op(P_UTERUS, corpus.sub(0.12, 0.97, [0, 0.3, 0.8, 1], [0.4, e, e, 0.6 * e]),
                 [(0, "endometrium")], UTERUS)
        canal = Tube.along([eo - 2 * _unit(cervix.centers[-1] - eo), cervix.centers[-1]],
                           [ut["canal"], ut["canal"]])
        self._op(P_UTERUS, canal, [(0, "mucus")], UTERUS)
        for frac, side, radius in ut["nabothian"]:
            i = int(frac * (len(cervix.radii) - 1))
            tang = _unit(cervix.centers[-1] - cervix.centers[0])
            center = cervix.centers[i] + side * (cervix.radii[i] - radius - 1.5) * np.array(
                [-tang[1], tang[0]])
            self._op(P_UTERUS, Blob(center, radius, radius, 0.0), [(0, "fluid")], UTERUS)
        if ut["fibroid"]:
            frac, side, radius = ut["fibroid"]
            i = int(frac * (len(corpus.radii) - 1))
            tang = _unit(np.gradient(corpus.centers, axis=0)[i])
            normal = np.array([-tang[1], tang[0]])
            center = corpus.centers[i] + side * 0.5 * corpus.radii[i] * normal
            self._op(P_UTERUS, Blob(center, radius, 0.9 * radius, 0.0, 2.0, ((3, 0.05, 1.0),)),
                     [(0, "fibroid")], UTERUS)

    def _urethra(self) -> None:
        ur = self.subj["urethra"]
        if self.subj["midline_offset_mm"] > 6:
            return
        r = ur["radius"]
        meatus = self.I + np.array([-ur["meatus_rise"], -ur["meatus_forward"]])
        mid = _clear((self.BN + meatus) / 2, self.sym, r + 5.0)
        meatus = _clear(meatus, self.sym, r + 4.0)
        start = self.BN - 2.0 * _dir(180 + self.subj["bladder"]["tilt"])
        tube = Tube.along([start, mid, meatus], [r, r, 0.8 * r])
        self._op(P_URETHRA, tube, [(0, "urethra"), (-(r - ur["lumen"]), "urethral_mucosa")])

    # -- walls, muscles and vessels
    def _muscles(self) -> None:
        h = self.subj["habitus"]
        offset = self.subj["midline_offset_mm"]
        us = np.arange(-560.0, self.Ps[0] - 8, 8.0)
        rect = h["rectus"]
        cu = np.r_[us, self.Ps[0] - 3]
        crest = self.Ps[1] - self.sym.radii[-1] - rect / 2 - 1
        cv = np.r_[self.v_ant(us) + h["fat_anterior"] + rect / 2, crest]
        cv = np.where(cu > self.Ps[0] - 40, np.minimum(cv, crest), cv)
        tissue = "muscle" if offset >= 3 else "fibrous"
        radius = rect / 2 if offset >= 3 else min(rect / 2, 2.0)
        inside = FuncShape(lambda u, v: self.body.sdf(u, v) + 2.0)
        self._op(P_MUSCLE, Tube.along(np.stack([cu, cv], 1), np.full(cu.size, radius)),
                 [(0, tissue)], within=(inside,))
        back = np.array(self.spine_back)
        width = min(8.0 + 3.0 * offset, 35.0)
        spine = Tube.along(back[::-1] - 0.3 * width * np.array([0, 1.0]),
                           np.full(len(back), width / 2), step=2.0)
        self._op(P_MUSCLE, spine, [(0, "muscle")], within=(inside,))
        but = h["buttock"]
        deep = FuncShape(lambda u, v: self.body.sdf(u, v) + 0.6 * h["fat_sacral"] + 2.0)
        glute = Blob(self.tip + np.array([12 + 16 * but, 4 + 6 * but]), 16 + 24 * but,
                     7 + 12 * but + 0.3 * offset, 15.0, 2.0, ((2, 0.05, 0.5),))
        self._op(P_MUSCLE, glute, [(0, "muscle")], within=(deep,))

    def _vessels(self) -> None:
        vs = self.subj["vessels"]
        front = np.array(self.spine_front)
        self.v_spine = _profile(np.r_[front[:, 0], self.surf[:self.i_apex, 0]],
                                np.r_[front[:, 1], self.surf[:self.i_apex, 1]])
        if vs["great_vessel"]:
            r = vs["great_radius"]
            us = np.arange(-560.0, front[0, 0] + 10, 6.0)
            centers = np.stack([us, self.v_spine(us) - r - 1.5], 1)
            self._op(P_VESSEL, Tube(centers, np.full(us.size, r)), [(0, "vessel")])
        for frac, side, radius in vs["uterine"]:
            t = self.cervix if frac < 0.5 else self.corpus
            i = int((frac % 0.5) * 2 * (len(t.radii) - 1))
            tang = _unit(np.gradient(t.centers, axis=0)[i])
            normal = np.array([-tang[1], tang[0]])
            center = t.centers[i] + side * (t.radii[i] + radius + 1.0) * normal
            self._op(P_UT_VESSEL, Blob(center, radius, radius, 0.0), [(0, "vessel")],
                     only=("fat",))

    # -- bowel (needs the visible extent)
    def add_bowel(self, box: BBox) -> None:
        """Sigmoid and small-bowel loops and mesenteric vessels in the peritoneal cavity."""
        bw, rng = self.subj["bowel"], self.rng
        dome = float(self.bladder.outline()[:, 0].min())
        ctrl_v = [-900.0, self.bladder.center[1], self.F[1] + 5, self.rs[1] + 5, 900.0]
        ctrl_u = [dome - 2, dome - 2, self.F[0] - 4, self.rs[0] - 8, self.rs[0] - 20]
        u_perit = _profile(ctrl_v, ctrl_u)
        region = FuncShape(lambda u, v: _smax(self.v_ant(u) + self.wall - v,
                                              v - self.v_spine(u) + 3.0, u - u_perit(v),
                                              self.body.sdf(u, v) + 5.0, k=2.0))
        loops: list[tuple[np.ndarray, float]] = []
        for _ in range(bw["sigmoid_loops"]):
            r = rng.uniform(12, 19)
            center = self.rs + np.array([-rng.uniform(0.6, 1.6), -rng.uniform(0.3, 1.5)]) * r
            loops.append((center, r))
            self._loop(center, r, str(rng.choice(["stool", "gas", "chyme"])), region)
        u0, u1 = max(box[0], -560.0), min(box[1], float(np.max(ctrl_u)))
        for _ in range(BOWEL_TRIES):
            center = np.array([rng.uniform(u0, u1), rng.uniform(box[2], box[3])])
            r = rng.uniform(*bw["radius"])
            if _sdf_at(region, center)[0] > -3.0:
                continue
            if any(np.linalg.norm(center - c) < 0.85 * (r + rc) for c, rc in loops):
                continue
            loops.append((center, r))
            content = str(rng.choice(["fluid", "chyme", "gas", "bowel_wall"], p=bw["content_p"]))
            self._loop(center, r, content, region)
        self.loop_centers = [c for c, _ in loops]
        for _ in range(bw["vessels"]):
            center = np.array([rng.uniform(u0, u1), rng.uniform(box[2], box[3])])
            if _sdf_at(region, center)[0] < -2.0:
                self._op(P_BOWEL + 1, Blob(center, rng.uniform(1.0, 2.5), rng.uniform(1.0, 2.5),
                                           0.0), [(0, "vessel")], only=("fat",))

    def _loop(self, center: np.ndarray, r: float, content: str, region: Shape) -> None:
        rng = self.rng
        harm = tuple((k, rng.uniform(0, 0.08), rng.uniform(0, 2 * np.pi)) for k in (2, 3))
        blob = Blob(center, r * rng.uniform(0.8, 1.2), r * rng.uniform(0.7, 1.0),
                    rng.uniform(0, 180), 2.0, harm)
        wall = rng.uniform(1.5, 3.0)
        self._op(P_BOWEL, blob, [(0, "bowel_wall"), (-wall, content)], within=(region,),
                 only=("fat",))


# ----------------------------------------------------------------------------- draws


def draw_scanner(rng: np.random.Generator) -> dict[str, Any]:
    """Field strength, posture, sequence, timing and radial sampling of one case."""
    kind = str(rng.choice(["open", "1.5T", "3T"], p=[0.3, 0.45, 0.25]))
    tesla = {"open": rng.uniform(0.25, 0.6), "1.5T": 1.5, "3T": 3.0}[kind]
    seated = bool(kind == "open" and rng.random() < 0.5)
    seq = str(rng.choice(SEQUENCES, p=[0.45, 0.25, 0.3]))
    tr_ms = {"bssfp": rng.uniform(3.0, 5.0), "gre": rng.uniform(3.0, 6.0),
             "haste": rng.uniform(4.0, 7.0)}[seq] * (1.4 if kind == "open" else 1.0)
    spokes = int(round(np.exp(rng.uniform(np.log(15), np.log(120)))))
    spokes = min(spokes, int(2000 / tr_ms))
    interval = round(float(rng.uniform(max(0.3, spokes * tr_ms / 1000), 2.0)), 3)
    base_snr = {"open": (5, 14), "1.5T": (10, 30), "3T": (15, 40)}[kind]
    snr = float(np.clip(rng.uniform(*base_snr) * {"bssfp": 1.0, "gre": 0.85, "haste": 0.9}[seq],
                        5, 40))
    golden = 111.246117975 if rng.random() < 0.7 else 23.628327
    delay = [float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.5, 0.5))] \
        if rng.random() < 0.4 else [0.0, 0.0]
    return {
        "scanner": kind, "field_strength_T": round(float(tesla), 3), "seated": seated,
        "sequence": seq, "tr_ms": round(float(tr_ms), 3), "spokes_per_frame": spokes,
        "frame_interval_s": interval, "n_frames": int(rng.integers(12, 41)),
        "view_sharing_frames": int(rng.choice([1, 2, 3], p=[0.5, 0.25, 0.25])),
        "angle_step_deg": golden, "angle0_deg": float(rng.uniform(0, 180)),
        "gradient_delay_samples": delay,
        "n_coils": int(rng.choice([1, 2, 3, 4], p=[0.25, 0.3, 0.25, 0.2])), "snr": snr,
        "slice_thickness_mm": round(float(rng.uniform(5, 10)), 1),
        "normalize": float(rng.uniform(0, 1)),
    }


def draw_geometry(rng: np.random.Generator) -> dict[str, Any]:
    row = float(rng.uniform(1.1, 1.5))
    col = float(np.clip(row * rng.uniform(0.95, 1.05), 1.1, 1.5))
    return {"height": int(rng.integers(224, 289)), "width": int(rng.integers(224, 289)),
            "spacing_mm": [round(row, 4), round(col, 4)],
            "symphysis_row_fraction": float(rng.uniform(0.58, 0.7)),
            "column_jitter_mm": float(rng.uniform(-12, 12))}


def draw_subject(rng: np.random.Generator, seated: bool) -> dict[str, Any]:
    """Anatomy of one subject (anatomical mm before the pelvic scale)."""
    u = rng.uniform
    meno = bool(rng.random() < 0.25)
    content = str(rng.choice(["collapsed", "stool", "gas", "fluid", "gel"],
                             p=[0.2, 0.3, 0.12, 0.13, 0.25]))
    r_amp = {"collapsed": u(10, 14), "stool": u(14, 23), "gas": u(14, 22), "fluid": u(14, 22),
             "gel": u(18, 26)}[content]
    n_bubbles = {"collapsed": 0, "stool": int(rng.integers(0, 5)), "gas": 0,
                 "fluid": int(rng.integers(0, 2)), "gel": int(rng.integers(0, 3))}[content]
    fill = float(rng.beta(1.1, 1.2))
    habitus = float(u(0, 1) ** 1.5)
    offset = float(u(0, 10))
    fat = 8 + 50 * habitus * u(0.7, 1.1)
    antevert = rng.random() < 0.85
    gel_vagina = bool(rng.random() < 0.25)
    s = 0.85 if meno else 1.0
    return {
        "pelvic_scale": float(u(0.9, 1.08)), "tilt_deg": float(u(-25, 25) if seated else u(-8, 8)),
        "midline_offset_mm": offset, "seated": seated,
        "gravity_sag_mm": float(u(4, 14)) if seated else 0.0,
        "bones": {
            "symphysis_tilt": u(20, 45), "symphysis_length": u(34, 46),
            "symphysis_radius": u(6, 8.5), "promontory": [u(120, 136), u(150, 163)],
            "apex": [u(108, 124), u(113, 127)], "coccyx_length": u(25, 38),
            "coccyx_angle": u(-45, 15), "coccyx_segments": int(rng.integers(3, 5)),
            "concavity": u(8, 22), "s1_depth": u(28, 36), "sacral_canal": u(5, 7),
            "sacral_plate": u(3, 4.5), "lumbosacral_angle": u(26, 36), "lordosis_step": u(8, 11),
            "disc_height": u(8, 12), "body_height": u(25, 30), "lumbar_canal": u(6.5, 9),
            "spinous_length": u(26, 38), "spinous_width": u(5, 8),
        },
        "floor": {
            "arj": [u(-15, 3), u(36, 48)], "canal_length": u(28, 40), "canal_angle": u(22, 48),
            "perineal_length": u(24, 38), "introitus_rise": u(0, 10), "puborectalis": u(8, 14),
            "puborectalis_width": u(6, 10), "levator": u(5, 9), "sphincter": u(4, 7),
            "perineal_body": u(6, 9),
        },
        "habitus": {
            "index": habitus, "fat_anterior": fat, "fat_mons": 0.6 * fat + u(8, 18),
            "fat_back": 6 + 35 * habitus, "fat_sacral": 5 + 30 * habitus,
            "belly": -10 + 60 * habitus * u(0.5, 1.2), "rectus": u(3, 12),
            "buttock": float(np.clip(offset / 10 + u(-0.2, 0.3), 0, 1)), "cleft": u(10, 30),
            "thighs": bool(not seated and rng.random() < 0.5), "thigh_gap": u(2, 9),
            "seat_gap": u(15, 35),
        },
        "rectum": {
            "content": content, "ampulla_radius": r_amp,
            "wall": u(5, 7) if content == "collapsed" else float(np.clip(
                6 - 0.12 * r_amp + rng.normal(0, 0.5), 2, 6)),
            "canal_radius": u(7.5, 10), "arj_radius": u(9, 12), "upper_radius": u(8, 15),
            "rs_radius": u(8, 13), "presacral_gap": u(4, 16), "ampulla_level": u(0.8, 1.1),
            "canal_lumen": u(0.7, 1.2), "fluid_level": u(0.0, 0.6),
            "bubbles": [[u(0.2, 0.7), u(-0.5, 0.5), u(2, 6)] for _ in range(n_bubbles)],
        },
        "vagina": {
            "radius": u(5, 7.5), "lower_along": u(6, 16),
            "fornix_along": u(35, 60) * (0.85 if meno else 1.0), "septum": u(-1, 4) - 5 * fill,
            "gel": gel_vagina,
            "lumen": u(3, 7) if gel_vagina else u(0.7, 1.3),
        },
        "bladder": {
            "fill": fill, "half_height": (11 + 42 * fill) * u(0.9, 1.1),
            "half_width": (17 + 22 * fill) * u(0.9, 1.1), "tilt": u(-15, 25),
            "neck_height": u(-26, -10), "neck_gap": u(1, 6), "pear": u(0.05, 0.25),
            "wall": float(np.clip(2.5 + 4.5 * (1 - fill) + rng.normal(0, 0.5), 2, 7.5)),
            "harmonics": [[k, u(-0.06, 0.06), u(0, 2 * np.pi)] for k in (2, 3, 4)],
        },
        "uterus": {
            "menopausal": meno, "anteverted": bool(antevert),
            "version": u(35, 105) - 30 * fill if antevert else u(-25, 0),
            "flexion": u(0, 55) if antevert else u(-35, 0),
            "cervix_length": u(22, 34) * s, "cervix_radius": u(10, 14) * s,
            "corpus_length": u(28, 45) if meno else u(48, 78),
            "corpus_radius": u(9, 14) if meno else u(17, 26),
            "endometrium": u(0.5, 1.8) if meno else u(1.5, 7), "junctional": 0.0 if meno
            else u(3, 7), "canal": u(1.0, 2.2),
            "nabothian": [[u(0.2, 0.9), float(rng.choice([-1, 1])), u(1.5, 4)]
                          for _ in range(int(rng.integers(0, 4)))],
            "fibroid": [u(0.4, 0.9), float(rng.choice([-1, 1])), u(6, 15)]
            if not meno and rng.random() < 0.15 else [],
        },
        "urethra": {"radius": u(4, 6), "lumen": u(1.2, 2.0), "meatus_rise": u(3, 8),
                    "meatus_forward": u(8, 14)},
        "bowel": {"sigmoid_loops": int(rng.integers(1, 3)),
                  "radius": [u(6, 9), u(13, 18)],
                  "content_p": list(rng.dirichlet([3, 3, 1.2, 1.5])),
                  "vessels": int(rng.integers(8, 26))},
        "vessels": {"great_vessel": bool(rng.random() < 0.6), "great_radius": u(6, 11),
                    "uterine": [[u(0, 1), float(rng.choice([-1, 1])), u(1.2, 3)]
                                for _ in range(int(rng.integers(2, 9)))]},
    }


def _ramp(t: np.ndarray, start: float, length: float) -> np.ndarray:
    x = np.clip((t - start) / max(length, 1e-6), 0, 1)
    return x * x * (3 - 2 * x)


def draw_motion(rng: np.random.Generator, n_frames: int, interval: float) -> dict[str, Any]:
    """Manoeuvre timing and displacement amplitudes."""
    u = rng.uniform
    dur = (n_frames - 1) * interval
    squeeze = bool(rng.random() < 0.3)
    sq_on = u(0.05, 0.1) * dur + interval
    sq_len = u(0.1, 0.15) * dur
    on = max(u(0.12, 0.3) * dur, interval) + (sq_on + sq_len if squeeze else 0.0)
    up = min(u(0.8, 3.0), 0.2 * dur)
    recover = bool(rng.random() < 0.6)
    hold_end = on + up + 0.15 * dur
    off = u(hold_end, max(0.88 * dur, hold_end + 0.01)) if recover else None
    second = bool(recover and dur > 20 and rng.random() < 0.3)
    maneuver = "defecation" if rng.random() < 0.4 else "valsalva"
    defec = maneuver == "defecation"
    return {
        "maneuver": maneuver, "descent_mm": u(10, 40), "direction_deg": u(5, 30),
        "onset_s": on, "ramp_up_s": up, "release_s": off, "ramp_down_s": u(1.0, 3.0),
        "residual": u(0, 0.25), "second_strain": second,
        "squeeze": [sq_on, sq_len, u(4, 12)] if squeeze else [],
        "bladder_extra": u(0, 0.5), "bladder_direction_deg": u(20, 50),
        "cervix_extra": u(0, 0.6), "arj_extra": u(0.1, 0.5) * (1.4 if defec else 1.0),
        "arj_direction_deg": u(30, 70),
        "rectocele_mm": u(4, 11) if rng.random() < 0.45 else 0.0, "rectocele_at": u(12, 25),
        "evacuation": u(0.15, 0.45) if defec else 0.0, "evacuation_time_s": u(3, 10),
        "canal_opening": u(0.4, 0.6) if defec and rng.random() < 0.8 else 0.0,
        "abdominal_bulge_mm": u(0, 8), "breathing_mm": u(1.5, 6), "breathing_period_s": u(3, 6),
        "breathing_phase": u(0, 2 * np.pi), "plateau_wobble": u(0, 0.06),
        "peristalsis": [[u(1, 3), u(4, 15), u(0, 2 * np.pi), u(0, 360)]
                        for _ in range(int(rng.integers(2, 6)))],
        "drift_mm": u(0, 2),
        "drift_steps": rng.normal(0, 1, (n_frames, 2)).tolist(),
    }


def strain_curve(motion: dict[str, Any], t: np.ndarray) -> np.ndarray:
    """Strain level 0-1 over time (rest, ramp, hold, optional release and second strain)."""
    m = motion
    s = _ramp(t, m["onset_s"], m["ramp_up_s"])
    if m["release_s"] is not None:
        s = s * (1 - (1 - m["residual"]) * _ramp(t, m["release_s"], m["ramp_down_s"]))
        if m["second_strain"]:
            again = m["release_s"] + m["ramp_down_s"] + 1.0
            s = np.maximum(s, 0.8 * _ramp(t, again, m["ramp_up_s"]))
    return s * (1 + m["plateau_wobble"] * np.sin(2 * np.pi * t / 3.1))


# ----------------------------------------------------------------------------- motion


def _bump(u: np.ndarray, v: np.ndarray, c: np.ndarray, up: float, down: float, ant: float,
          post: float) -> np.ndarray:
    du, dv = u - c[0], v - c[1]
    su, sv = np.where(du < 0, up, down), np.where(dv < 0, ant, post)
    return np.exp(-0.5 * ((du / su) ** 2 + (dv / sv) ** 2))


def _bump_axis(u: np.ndarray, v: np.ndarray, c: np.ndarray, axis: np.ndarray, along: float,
               across: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian elongated along ``axis`` and the signed distance across it."""
    du, dv = u - c[0], v - c[1]
    a = du * axis[0] + dv * axis[1]
    x = -du * axis[1] + dv * axis[0]
    return np.exp(-0.5 * ((a / along) ** 2 + (x / across) ** 2)), x


@dataclass
class Motion:
    """Displacement components (K, 2, M, M) in pixels and their time courses (K, T)."""

    fields: np.ndarray
    coef: np.ndarray
    drift: np.ndarray  # (T, 2) pixels, bulk drift of the soft tissue
    strain: np.ndarray  # (T,)

    cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def displacement(self, t: int) -> np.ndarray:
        if t not in self.cache:
            self.cache[t] = np.tensordot(self.coef[:, t], self.fields, axes=1)
        return self.cache[t]


def build_motion(anat: Anatomy, m: dict[str, Any], u: np.ndarray, v: np.ndarray,
                 times: np.ndarray, to_pixels: Callable[[np.ndarray], np.ndarray],
                 spacing: tuple[float, float], body: np.ndarray) -> Motion:
    """Anatomical displacement fields of the manoeuvre, converted to image pixels.

    The manoeuvre components are scaled down together (``amplitude_scale`` in ``m``)
    until the warp at peak strain keeps a Jacobian determinant of at least 0.35 in the
    body.
    """
    d = m["descent_mm"]
    s = strain_curve(m, times)
    comps: list[tuple[np.ndarray, np.ndarray, bool]] = []

    def add(field_u: np.ndarray, field_v: np.ndarray, course: np.ndarray,
            manoeuvre: bool = True) -> None:
        comps.append((to_pixels(np.stack([field_u, field_v]).astype(np.float32)), course,
                      manoeuvre))

    hiatus = (anat.BN + anat.ARJ) / 2 + (12.0, 0.0)
    w_a = _bump(u, v, hiatus, 65.0, 42.0, 26.0, 32.0)
    e_a = _dir(m["direction_deg"])
    add(w_a * e_a[0] * d, w_a * e_a[1] * d, s)
    w_b = _bump(u, v, anat.BN + (-8.0, 2.0), 22, 22, 22, 22)
    e_b = _dir(m["bladder_direction_deg"]) * min(d * m["bladder_extra"], 18.0)
    add(w_b * e_b[0], w_b * e_b[1], s)
    w_c = _bump(u, v, anat.EO, 24, 24, 24, 24)
    e_c = _unit(anat.I - anat.F) * min(d * m["cervix_extra"], 20.0)
    add(w_c * e_c[0], w_c * e_c[1], s)
    w_d = _bump(u, v, anat.ARJ, 20, 20, 20, 20)
    e_d = _dir(m["arj_direction_deg"]) * min(d * m["arj_extra"], 16.0)
    add(w_d * e_d[0], w_d * e_d[1], s)
    if m["squeeze"]:
        sq_on, sq_len, lift = m["squeeze"]
        q = _ramp(times, sq_on, 1.0) * (1 - _ramp(times, sq_on + sq_len, 1.0))
        add(-(w_a * e_a[0] + 0.5 * w_d) * lift, -(w_a * e_a[1] + 0.5 * w_d) * lift, q)
    if m["rectocele_mm"] > 0:
        i = int(np.argmin(np.abs(np.linalg.norm(anat.rectum.centers - anat.ARJ, axis=1)
                                 - m["rectocele_at"]) + 1e3 * (anat.rectum.centers[:, 1]
                                                               > anat.ARJ[1] + 40)))
        tang = _unit(np.gradient(anat.rectum.centers, axis=0)[i])
        normal = np.array([-tang[1], tang[0]])
        normal = normal if normal[1] < 0 else -normal
        w_e, _ = _bump_axis(u, v, anat.rectum.centers[i] + anat.rectum.radii[i] * normal, tang,
                            18.0, 14.0)
        add(w_e * normal[0] * m["rectocele_mm"], w_e * normal[1] * m["rectocele_mm"], s)
    if m["evacuation"] > 0:
        sigma = 1.3 * anat.subj["rectum"]["ampulla_radius"]
        w_f = _bump(u, v, anat.amp, sigma, sigma, sigma, sigma)
        progress = np.clip(np.cumsum(s) * (times[1] - times[0]) / m["evacuation_time_s"], 0, 1)
        add(-(u - anat.amp[0]) * w_f, -(v - anat.amp[1]) * w_f, m["evacuation"] * progress)
    if m["canal_opening"] > 0:
        axis = anat.canal_axis
        w_g, across = _bump_axis(u, v, (anat.ARJ + anat.AV) / 2, axis,
                                 0.6 * np.linalg.norm(anat.AV - anat.ARJ), 5.0)
        normal = np.array([-axis[1], axis[0]])
        add(w_g * across * normal[0], w_g * across * normal[1], m["canal_opening"] * s)
    above = 1.0 / (1.0 + np.exp((u - (anat.Ps[0] - 40)) / 15.0))
    breath = m["breathing_mm"] * np.sin(2 * np.pi * times / m["breathing_period_s"]
                                        + m["breathing_phase"]) * (1 - 0.85 * np.clip(s, 0, 1))
    add(above, -0.25 * above, breath, manoeuvre=False)
    wall_pt = np.array([anat.Ps[0] - 70, float(anat.v_ant(anat.Ps[0] - 70))])
    w_i = _bump(u, v, wall_pt, 50, 50, 30, 40)
    add(np.zeros_like(u), -w_i * m["abdominal_bulge_mm"], s)
    centers = anat.loop_centers or [hiatus + (-80.0, 0.0)]
    for k, (amp, period, phase, angle) in enumerate(m["peristalsis"]):
        w_j = _bump(u, v, centers[k % len(centers)], 11, 11, 11, 11)
        e_j = _dir(angle) * amp
        add(w_j * e_j[0], w_j * e_j[1], np.sin(2 * np.pi * times / period + phase),
            manoeuvre=False)
    steps = np.asarray(m["drift_steps"])
    walk = np.cumsum(steps, axis=0)
    walk = walk / max(float(np.abs(walk).max()), 1e-9) * m["drift_mm"]
    drift = walk / np.asarray(spacing)
    fields, coef = np.stack([c[0] for c in comps]), np.stack([c[1] for c in comps])
    strain_rows = [i for i, c in enumerate(comps) if c[2]]
    peak, scale = int(np.argmax(s)), 1.0
    while scale > 0.3 and _min_det(np.tensordot(coef[:, peak], fields, axes=1), body) < 0.35:
        coef[strain_rows] *= 0.85
        scale *= 0.85
    m["amplitude_scale"] = scale
    return Motion(fields, coef, drift - drift[0], s)


def _min_det(disp: np.ndarray, body: np.ndarray) -> float:
    """Smallest Jacobian determinant of the backward map x - d(x) inside ``body``."""
    dyy, dyx = np.gradient(disp[0])
    dxy, dxx = np.gradient(disp[1])
    return float(((1 - dyy) * (1 - dxx) - dyx * dxy)[body].min())


# ----------------------------------------------------------------------------- scene


@dataclass
class Scene:
    """Rest-state maps on the object grid and the output crop."""

    soft: np.ndarray
    fixed: np.ndarray
    label: np.ndarray
    crop: tuple[slice, slice]
    motion: Motion


def _grid_coords(shape: tuple[int, int], disp: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(shape, dtype=np.float32)
    return np.stack([rows - disp[0], cols - disp[1]])


def _warp(image: np.ndarray, coords: np.ndarray, order: int) -> np.ndarray:
    return ndimage.map_coordinates(image, coords, order=order, mode="nearest")


def frame_coords(scene: Scene, t: int) -> np.ndarray:
    """Sampling coordinates of the soft layer for frame ``t`` (the bones stay)."""
    drift = scene.motion.drift[t][:, None, None]
    return _grid_coords(scene.soft.shape, scene.motion.displacement(t) + drift)


def frame_labels(scene: Scene, t: int) -> np.ndarray:
    """Organ labels of frame ``t`` on the output grid; nearest-neighbour warping leaves
    crumbs of a few pixels at stretched boundaries, which are given to the background."""
    lab = _warp(scene.label, frame_coords(scene, t), 0)
    lab[scene.fixed >= 0] = 0
    lab = lab[scene.crop]
    for organ in (BLADDER, UTERUS, RECTUM):
        parts, n = ndimage.label(lab == organ)
        if n > 1:
            sizes = ndimage.sum_labels(parts > 0, parts, range(1, n + 1))
            lab[np.isin(parts, 1 + np.flatnonzero(sizes < 10))] = 0
    return lab


def _folds(motion: Motion, body: np.ndarray) -> bool:
    return any(_min_det(motion.displacement(t), body) < 0.15
               for t in range(motion.coef.shape[1]))


def _organs_ok(labels: np.ndarray) -> bool:
    for lab in labels:
        for organ in (BLADDER, UTERUS, RECTUM):
            _, n = ndimage.label(lab == organ)
            if n != 1:
                return False
    return True


def build_scene(subj: dict[str, Any], geom: dict[str, Any], scan: dict[str, Any],
                motion: dict[str, Any], rng: np.random.Generator) -> Scene:
    """Anatomy placed in the image, rendered at rest, with its motion fields."""
    h, w = geom["height"], geom["width"]
    dr, dc = geom["spacing_mm"]
    m = max(h, w) + 16 + (max(h, w) % 2)
    while sfft.next_fast_len(OVERSAMPLING * m) != OVERSAMPLING * m:
        m += 2
    r0, c0 = (m - h) // 2, (m - w) // 2
    anat = Anatomy(subj, rng)
    scale, theta = subj["pelvic_scale"], np.radians(subj["tilt_deg"])
    cos, sin = np.cos(theta), np.sin(theta)
    uc = (anat.Ps[0] + anat.O[0]) / 2
    vc = (float(anat.v_ant(anat.Ps[0])) + float(np.max(anat.v_post(np.linspace(
        anat.surf[0, 0], anat.AV[0], 20))))) / 2
    y_o = geom["symphysis_row_fraction"] * h * dr
    x_o = w * dc / 2 + geom["column_jitter_mm"] - scale * (sin * uc + cos * vc)
    rows, cols = np.indices((m, m), dtype=np.float64)
    y, x = (rows - r0) * dr - y_o, (cols - c0) * dc - x_o
    u, v = (cos * y + sin * x) / scale, (-sin * y + cos * x) / scale
    anat.add_bowel((float(u.min()), float(u.max()), float(v.min()), float(v.max())))
    canvas = Canvas(u, v)
    for op in sorted(anat.ops, key=lambda o: o.prio):
        canvas.paint(op)
    for op in anat.fixed_ops:
        canvas.paint(op, fixed=True)
    canvas.fixed[canvas.soft == TID["air"]] = -1

    def to_pixels(f: np.ndarray) -> np.ndarray:
        return np.stack([scale * (cos * f[0] - sin * f[1]) / dr,
                         scale * (sin * f[0] + cos * f[1]) / dc])

    times = np.arange(scan["n_frames"]) * scan["frame_interval_s"]
    mot = build_motion(anat, motion, u, v, times, to_pixels, (dr, dc),
                       canvas.soft.reshape(m, m) > 0)
    label = _clean_labels(canvas.label.reshape(m, m), canvas.fixed.reshape(m, m) >= 0)
    return Scene(canvas.soft.reshape(m, m), canvas.fixed.reshape(m, m), label,
                 (slice(r0, r0 + h), slice(c0, c0 + w)), mot)


def _clean_labels(label: np.ndarray, bone: np.ndarray) -> np.ndarray:
    """Drop organ slivers one pixel thin and crumbs of under 20 pixels (they would break
    into pieces when warped); larger pieces stay and make the draw fail."""
    out = label.copy()
    out[bone] = 0
    for organ in (BLADDER, UTERUS, RECTUM):
        mask = out == organ
        body = ndimage.binary_opening(mask)
        parts, n = ndimage.label(body)
        sizes = ndimage.sum_labels(body, parts, range(1, n + 1))
        out[mask & ~np.isin(parts, 1 + np.flatnonzero(sizes >= 20))] = 0
    return out


# ----------------------------------------------------------------------------- k-space

KB_WIDTH, OVERSAMPLING = 3, 2
_KB_BETA = np.pi * np.sqrt((KB_WIDTH / OVERSAMPLING * (OVERSAMPLING - 0.5)) ** 2 - 0.8)
_FRACTIONS = np.linspace(-0.5, 0.5, 2049)
#: Kaiser-Bessel weights of the nodes round(k) - 1, round(k), round(k) + 1 by the fraction
#: k - round(k) (table rows).
_KB_TABLE = np.stack([np.i0(_KB_BETA * np.sqrt(np.clip(
    1 - (2 * (_FRACTIONS - o) / KB_WIDTH) ** 2, 0, None))) for o in (-1, 0, 1)], axis=1)


def _kernel(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest grid node of each coordinate and the three kernel weights (n, 3)."""
    base = np.rint(k)
    row = np.rint((k - base + 0.5) * (len(_FRACTIONS) - 1)).astype(np.int64)
    return base.astype(np.int64), _KB_TABLE[row]


def interp_matrix(ky: np.ndarray, kx: np.ndarray, g: int) -> sparse.csr_matrix:
    """Rows: samples at grid coordinates (ky, kx); columns: cells of the g x g k-space grid."""
    n = ky.size
    offs = np.array([-1, 0, 1])
    (by, wy), (bx, wx) = _kernel(ky), _kernel(kx)
    iy, ix = by[:, None] + offs, bx[:, None] + offs
    cols = ((iy % g)[:, :, None] * g + (ix % g)[:, None, :]).reshape(n, 9)
    vals = (wy[:, :, None] * wx[:, None, :]).reshape(n, 9).astype(np.float32)
    return sparse.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, 9 * n + 1, 9)),
                             shape=(n, g * g))


@dataclass(frozen=True)
class Acquisition:
    """Radial sampling of an m x m object grid (k-space grid and readout of 2m samples)."""

    m: int
    spokes: int
    window: int
    angle_step_deg: float
    angle0_deg: float
    delay: tuple[float, float] = (0.0, 0.0)
    sigma: float = 0.0

    @property
    def g(self) -> int:
        return OVERSAMPLING * self.m

    @property
    def n_read(self) -> int:
        return 2 * self.m

    def positions(self, frame: int, delayed: bool) -> tuple[np.ndarray, np.ndarray]:
        """Grid coordinates (ky, kx) of the frame's samples, spoke-major."""
        j = frame * self.spokes + np.arange(self.spokes)
        theta = np.radians(self.angle0_deg + j * self.angle_step_deg)[:, None]
        r = np.arange(self.n_read) - self.n_read / 2
        if delayed:
            r = r + (self.delay[0] * np.cos(theta) ** 2 + self.delay[1] * np.sin(theta) ** 2)
        r = r * (self.g / self.n_read)
        return (r * np.sin(theta)).ravel(), (r * np.cos(theta)).ravel()

    def density(self) -> np.ndarray:
        """Ramp density compensation of one frame's samples for a full view-sharing window."""
        n = np.abs(np.arange(self.n_read) - self.n_read / 2)
        d = np.pi * np.maximum(n, 0.25) * (self.g / self.n_read) ** 2 / (self.window * self.spokes)
        return np.tile(d, self.spokes).astype(np.float32)

    def window_frames(self, t: int, n_frames: int) -> range:
        k = min(self.window, n_frames)
        start = t - 1 if k == 3 else t - (k - 1)
        start = int(np.clip(start, 0, n_frames - k))
        return range(start, start + k)


def _forward_fft(img: np.ndarray, g: int) -> np.ndarray:
    """2D FFT of (C, m, m) images zero-padded to g x g, image centre at index 0 (the
    all-zero rows are skipped in the first pass)."""
    c, m = img.shape[0], img.shape[-1]
    h = m // 2
    rows = np.zeros((c, m, g), np.complex64)
    rows[:, :, :m - h], rows[:, :, g - h:] = img[:, :, h:], img[:, :, :h]
    rows = sfft.fft(rows, axis=2, workers=1)
    full = np.zeros((c, g, g), np.complex64)
    full[:, :m - h], full[:, g - h:] = rows[:, h:], rows[:, :h]
    return sfft.fft(full, axis=1, workers=1)


def _inverse_fft(grid: np.ndarray, m: int) -> np.ndarray:
    """Central m x m of the inverse 2D FFT of (C, g, g) k-space grids."""
    g, h = grid.shape[-1], m // 2
    cols = sfft.ifft(grid, axis=1, workers=1)
    cols = np.concatenate([cols[:, g - h:], cols[:, :m - h]], axis=1)
    img = sfft.ifft(cols, axis=2, workers=1)
    return np.concatenate([img[:, :, g - h:], img[:, :, :m - h]], axis=2)


def apodization(acq: Acquisition) -> np.ndarray:
    """Image-domain transform of the gridding kernel (divided out both ways)."""
    a = interp_matrix(np.zeros(1), np.zeros(1), acq.g)
    grid = np.asarray(a.T @ np.ones(1, np.complex64)).reshape(1, acq.g, acq.g)
    return (_inverse_fft(grid, acq.m)[0].real * acq.g ** 2).astype(np.float32)


def _partial(acq: Acquisition, obj: np.ndarray, t: int, apod: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """One frame's spokes: forward NUFFT, noise, weighted gridding (C, m, m)."""
    g = acq.g
    rec = interp_matrix(*acq.positions(t, delayed=False), g)
    fwd = rec if acq.delay == (0.0, 0.0) else interp_matrix(*acq.positions(t, delayed=True), g)
    kspace = _forward_fft(obj / apod, g).reshape(obj.shape[0], -1)
    samples = np.stack([fwd @ k for k in kspace])
    if acq.sigma > 0:
        noise = rng.standard_normal((2, *samples.shape), dtype=np.float32)
        samples = samples + acq.sigma * (noise[0] + 1j * noise[1])
    weighted = samples * acq.density()
    rec_t = rec.T.tocsr()
    grid = np.stack([rec_t @ s for s in weighted]).reshape(obj.shape[0], g, g)
    return _inverse_fft(grid, acq.m) / apod


def acquire(objects: Callable[[int], np.ndarray], n_frames: int, acq: Acquisition,
            rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield the coil images (C, m, m) of each reconstructed frame (sliding window)."""
    apod = apodization(acq)
    cache: dict[int, np.ndarray] = {}
    for t in range(n_frames):
        frames = acq.window_frames(t, n_frames)
        for j in frames:
            if j not in cache:
                cache[j] = _partial(acq, objects(j), j, apod, rng)
        yield sum(cache[j] for j in frames)
        for j in [j for j in cache if j < frames.start]:
            del cache[j]


def noise_gain(acq: Acquisition, rng: np.random.Generator) -> float:
    """Image noise std (per real channel) for unit sample noise, sliding window included."""
    unit = Acquisition(acq.m, acq.spokes, acq.window, acq.angle_step_deg, acq.angle0_deg,
                       sigma=1.0)
    img = _partial(unit, np.zeros((1, acq.m, acq.m), np.complex64), 0, apodization(acq), rng)
    q = acq.m // 4
    return float(np.std(img[0, q:-q, q:-q].real)) * np.sqrt(acq.window)


# ----------------------------------------------------------------------------- imaging


def tissue_tables(seq: str, rng: np.random.Generator,
                  offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-case signal, fine and coarse texture amplitude of every tissue."""
    k = SEQUENCES.index(seq)
    vals = np.array([TISSUES[n][k] for n in TISSUE_NAMES])
    vals = vals * np.exp(rng.normal(0, 0.12, vals.size))
    mix = float(np.clip(0.35 + offset / 12, 0, 1))
    vals[TID["pubis"]] = (1 - mix) * vals[TID["annulus"]] + mix * vals[TID["marrow"]]
    fine = np.array([TISSUES[n][3] for n in TISSUE_NAMES]) * rng.uniform(0.7, 1.3)
    coarse = np.array([TISSUES[n][4] for n in TISSUE_NAMES]) * rng.uniform(0.7, 1.3)
    return vals, fine, coarse


def _texture(shape: tuple[int, int], sigma: float, rng: np.random.Generator) -> np.ndarray:
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return (noise / noise.std()).astype(np.float32)


def coil_maps(n: int, body: np.ndarray, spacing: tuple[float, float],
              rng: np.random.Generator) -> tuple[np.ndarray, list[list[float]]]:
    """Smooth complex sensitivities (C, m, m), RSS median 1 over the body."""
    m = body.shape[0]
    rows, cols = np.indices((m, m), dtype=np.float32)
    y, x = rows * spacing[0], cols * spacing[1]
    occupied = np.flatnonzero(body.any(axis=0))
    front, back = occupied[0] * spacing[1] - 30, occupied[-1] * spacing[1] + 30
    maps, where = [], []
    for c in range(n):
        if n == 1:
            cy, cx, reach = m * spacing[0] * rng.uniform(0.3, 0.7), m * spacing[1] / 2, 400.0
        else:
            cy = m * spacing[0] * ((c // 2 + 0.5) / ((n + 1) // 2) * 0.8 + 0.1 + rng.uniform(
                -0.05, 0.05))
            cx, reach = (front if c % 2 == 0 else back), rng.uniform(90, 150)
        dist2 = ((y - cy) ** 2 + (x - cx) ** 2) / reach ** 2
        phase = rng.uniform(0, 2 * np.pi) + rng.uniform(-1, 1) * (y - cy) / 300 \
            + rng.uniform(-1, 1) * (x - cx) / 300
        maps.append((1 + dist2) ** -1.2 * np.exp(1j * phase))
        where.append([float(cy), float(cx), float(reach)])
    sens = np.array(maps, np.complex64)
    rss = np.sqrt((np.abs(sens) ** 2).sum(axis=0))
    return sens / np.median(rss[body]), where


def scanner_fields(scan: dict[str, Any], shape: tuple[int, int], spacing: tuple[float, float],
                   rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """Fixed multiplicative field: B1 bias (3 T) and bSSFP off-resonance banding."""
    rows, cols = np.indices(shape, dtype=np.float32)
    y, x = rows * spacing[0], cols * spacing[1]
    cy, cx = shape[0] * spacing[0] / 2, shape[1] * spacing[1] / 2
    out = np.ones(shape, np.float32)
    info: dict[str, Any] = {"bias": 0.0, "banding": False}
    if scan["field_strength_T"] >= 3:
        amp = float(rng.uniform(-0.25, 0.25))
        oy, ox = rng.uniform(-60, 60, 2)
        out *= 1 + amp * np.exp(-((y - cy - oy) ** 2 + (x - cx - ox) ** 2) / (2 * 90.0 ** 2))
        info["bias"] = amp
    p_band = 0.35 if scan["field_strength_T"] >= 1.5 else 0.1
    if scan["sequence"] == "bssfp" and rng.random() < p_band:
        gy, gx = rng.uniform(-0.05, 0.05, 2)
        curv = rng.uniform(-1e-4, 1e-4)
        phase = rng.uniform(0, 2 * np.pi) + gy * (y - cy) + gx * (x - cx) \
            + curv * ((y - cy) ** 2 + (x - cx) ** 2)
        wrapped = np.angle(np.exp(1j * (phase - np.pi)))
        depth, width = rng.uniform(0.5, 0.9), rng.uniform(0.12, 0.3)
        out *= 1 - depth * np.exp(-wrapped ** 2 / (2 * width ** 2))
        info.update(banding=True, band_depth=float(depth), band_width=float(width))
    return out, info


def _taper(m: int, crop: tuple[slice, slice]) -> np.ndarray:
    """1 over the output field of view plus 4 px, falling smoothly to 0 at the grid edge."""
    def axis(sl: slice) -> np.ndarray:
        i = np.arange(m, dtype=np.float32)
        lo, hi = sl.start - 4, sl.stop + 4
        ramp_lo = np.clip(i / max(lo, 1), 0, 1)
        ramp_hi = np.clip((m - 1 - i) / max(m - 1 - hi, 1), 0, 1)
        return np.sin(np.pi / 2 * np.minimum(ramp_lo, ramp_hi)) ** 2
    return np.outer(axis(crop[0]), axis(crop[1]))


def render_frames(scene: Scene, scan: dict[str, Any], subj: dict[str, Any],
                  spacing: tuple[float, float], rng: np.random.Generator
                  ) -> tuple[np.ndarray, dict[str, Any]]:
    """Tissue intensities, coils, radial acquisition and reconstruction (T, H, W)."""
    vals, fine, coarse = tissue_tables(scan["sequence"], rng, subj["midline_offset_mm"])
    shape = scene.soft.shape
    n_fine, n_coarse = _texture(shape, 1.2, rng), _texture(shape, 4.0, rng)

    def intensity(tissue: np.ndarray) -> np.ndarray:
        t = np.maximum(tissue, 0)
        img = vals[t] * (1 + fine[t] * n_fine + coarse[t] * n_coarse)
        return ndimage.gaussian_filter(np.maximum(img, 0).astype(np.float32), 0.5)

    soft_i, fixed_i = intensity(scene.soft), intensity(scene.fixed)
    alpha = ndimage.gaussian_filter((scene.fixed >= 0).astype(np.float32), 0.5)
    body = scene.soft > 0
    sens, coil_where = coil_maps(scan["n_coils"], body, spacing, rng)
    shading, field_info = scanner_fields(scan, shape, spacing, rng)
    shading = shading * _taper(shape[0], scene.crop)

    def obj(t: int) -> np.ndarray:
        img = alpha * fixed_i + (1 - alpha) * _warp(soft_i, frame_coords(scene, t), 1)
        return (img * shading)[None] * sens

    rss_body = float(np.mean(np.sqrt((np.abs(obj(0)) ** 2).sum(axis=0))[body]))
    acq = Acquisition(shape[0], scan["spokes_per_frame"], scan["view_sharing_frames"],
                      scan["angle_step_deg"], scan["angle0_deg"],
                      tuple(scan["gradient_delay_samples"]))
    sigma = rss_body / scan["snr"] / noise_gain(acq, rng)
    acq = Acquisition(acq.m, acq.spokes, acq.window, acq.angle_step_deg, acq.angle0_deg,
                      acq.delay, float(sigma))
    out = np.empty((scan["n_frames"], *scene.label[scene.crop].shape), np.float32)
    flatten = np.sqrt((np.abs(sens) ** 2).sum(axis=0))[scene.crop] ** -scan["normalize"]
    for t, coils in enumerate(acquire(obj, scan["n_frames"], acq, rng)):
        out[t] = np.sqrt((np.abs(coils) ** 2).sum(axis=0))[scene.crop] * flatten
    gain = float(rng.uniform(200, 1500)) / rss_body
    info = {"coils": coil_where, **field_info, "sample_noise_sigma": float(sigma * gain),
            "image_noise_sigma": float(rss_body / scan["snr"] * gain),
            "body_mean": float(rss_body * gain), "k_grid": acq.g, "readout_samples": acq.n_read}
    return (out * gain).astype(np.float32), info


# ----------------------------------------------------------------------------- generate


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj)
    if isinstance(obj, (np.integer, int)) and not isinstance(obj, bool):
        return int(obj)
    return obj


def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict[str, Any]]:
    """One case: frames (T, H, W) float32, labels (T, H, W) uint8, spacing (mm), params."""
    rng = np.random.default_rng(seed)
    for attempt in range(MAX_ATTEMPTS):  # noqa: B007 (recorded below)
        scan = draw_scanner(rng)
        geom = draw_geometry(rng)
        subj = draw_subject(rng, scan["seated"])
        motion = draw_motion(rng, scan["n_frames"], scan["frame_interval_s"])
        scene = build_scene(subj, geom, scan, motion, rng)
        labels = np.stack([frame_labels(scene, t) for t in range(scan["n_frames"])])
        effective = motion["descent_mm"] * motion["amplitude_scale"]
        if effective >= 10 and _organs_ok(labels) and not _folds(scene.motion, scene.soft > 0):
            break
    else:
        raise RuntimeError(f"seed {seed}: no valid draw in {MAX_ATTEMPTS} attempts")
    spacing = (float(geom["spacing_mm"][0]), float(geom["spacing_mm"][1]))
    frames, imaging = render_frames(scene, scan, subj, spacing, rng)
    params = {
        "seed": int(seed), "attempt": attempt, "generator": "radial",
        "shape": list(frames.shape), "spacing_mm": list(spacing),
        "frame_interval_s": scan["frame_interval_s"], "sequence": scan["sequence"],
        "snr": scan["snr"], "labels": LABELS, "scanner": scan, "geometry": geom,
        "subject": subj, "motion": {**motion, "strain": scene.motion.strain.tolist(),
                                    "peak_frame": int(np.argmax(scene.motion.strain))},
        "imaging": imaging,
    }
    return frames, labels, spacing, _jsonable(params)


# ----------------------------------------------------------------------------- DICOM


def _item(**elements: Any) -> Dataset:
    ds = Dataset()
    for key, value in elements.items():
        setattr(ds, key, value)
    return ds


def _seq(**elements: Any) -> DicomSequence:
    return DicomSequence([_item(**elements)])


def write_dicom(path: Path, frames: np.ndarray, spacing: tuple[float, float],
                params: dict[str, Any]) -> None:
    """One Enhanced MR multi-frame file, RLE Lossless, canonical sagittal orientation."""
    seed, scan = params["seed"], params["scanner"]
    t_n, h, w = frames.shape
    stored, slope, intercept = rescale(frames)

    def uid(kind: str) -> str:
        return generate_uid(entropy_srcs=["pelvitrack-radial", str(seed), kind])

    start = dt.datetime(2024, 3, 1, 8, 0, 0) + dt.timedelta(minutes=7 * int(seed) % 600)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ENHANCED_MR
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = ENHANCED_MR, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = uid("frame-of-reference"), ""
    day, clock = start.strftime("%Y%m%d"), start.strftime("%H%M%S")
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.InstanceCreationDate = day
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.InstanceCreationTime = clock
    ds.AcquisitionDateTime = start.strftime("%Y%m%d%H%M%S.%f")
    ds.Modality, ds.Manufacturer = "MR", "PelviTrack synthetic"
    ds.ManufacturerModelName, ds.SoftwareVersions = "radial_generator", "1"
    ds.DeviceSerialNumber, ds.InstitutionName = f"RAD{seed:05d}", "Synthetic"
    ds.PatientName, ds.PatientID = f"SYNTH^RADIAL{seed:03d}", f"RADIAL-{seed:03d}"
    ds.PatientBirthDate, ds.PatientSex = "", "F"
    ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = "1", "", ""
    ds.StudyDescription = "Dynamic pelvic floor MRI (synthetic, radial real-time)"
    upright = "seated" if scan["seated"] else "supine"
    ds.SeriesDescription = f"radial {scan['sequence']} cine sag {upright} (synthetic)"
    ds.SeriesNumber, ds.InstanceNumber, ds.AcquisitionNumber = 1, 1, 1
    ds.BodyPartExamined, ds.ContentQualification = "PELVIS", "RESEARCH"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.PixelPresentation, ds.VolumetricProperties = "MONOCHROME", "VOLUME"
    ds.VolumeBasedCalculationTechnique, ds.ComplexImageComponent = "NONE", "MAGNITUDE"
    ds.AcquisitionContrast = {"bssfp": "MIXED", "gre": "T1", "haste": "T2"}[scan["sequence"]]
    ds.ResonantNucleus, ds.KSpaceFiltering = "1H", "NONE"
    ds.MagneticFieldStrength = decimal_string(scan["field_strength_T"])
    ds.MRAcquisitionType, ds.GeometryOfKSpaceTraversal = "2D", "RADIAL"
    ds.PulseSequenceName = {"bssfp": "radial_bssfp", "gre": "radial_flash",
                            "haste": "radial_sstse"}[scan["sequence"]]
    ds.EchoPulseSequence = "SPIN" if scan["sequence"] == "haste" else "GRADIENT"
    ds.SteadyStatePulseSequence = "FREE_PRECESSION" if scan["sequence"] == "bssfp" else "NONE"
    ds.MultipleSpinEcho = "YES" if scan["sequence"] == "haste" else "NO"
    ds.PhaseContrast = ds.EchoPlanarPulseSequence = ds.SaturationRecovery = "NO"
    ds.ImageComments = f"synthetic radial cine, seed {seed}, {scan['spokes_per_frame']} spokes"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.NumberOfFrames = h, w, t_n
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    dim_uid = uid("dimension")
    ds.DimensionOrganizationSequence = _seq(DimensionOrganizationUID=dim_uid)
    ds.DimensionIndexSequence = _seq(DimensionOrganizationUID=dim_uid,
                                     DimensionIndexPointer=Tag("TemporalPositionIndex"),
                                     FunctionalGroupPointer=Tag("FrameContentSequence"),
                                     DimensionDescriptionLabel="Time")
    centre = float(np.percentile(frames, 50) + np.percentile(frames, 99)) / 2
    tr = scan["tr_ms"]
    ds.SharedFunctionalGroupsSequence = _seq(
        PixelMeasuresSequence=_seq(PixelSpacing=[decimal_string(s) for s in spacing],
                                   SliceThickness=decimal_string(scan["slice_thickness_mm"])),
        PlaneOrientationSequence=_seq(ImageOrientationPatient=[decimal_string(c)
                                                               for c in SAGITTAL_IOP]),
        PixelValueTransformationSequence=_seq(RescaleIntercept=decimal_string(intercept),
                                              RescaleSlope=decimal_string(slope),
                                              RescaleType="US"),
        FrameVOILUTSequence=_seq(WindowCenter=decimal_string(centre),
                                 WindowWidth=decimal_string(float(np.percentile(frames, 99.5)))),
        MRTimingAndRelatedParametersSequence=_seq(
            RepetitionTime=decimal_string(tr), FlipAngle=decimal_string(
                {"bssfp": 50.0, "gre": 12.0, "haste": 150.0}[scan["sequence"]]),
            EchoTrainLength=scan["spokes_per_frame"] if scan["sequence"] == "haste" else 1),
        MREchoSequence=_seq(EffectiveEchoTime=float(
            {"bssfp": tr / 2, "gre": 1.8, "haste": 80.0}[scan["sequence"]])),
        MRReceiveCoilSequence=_seq(ReceiveCoilName=f"{scan['n_coils']}ch pelvis",
                                   ReceiveCoilType="MULTICOIL" if scan["n_coils"] > 1
                                   else "VOLUME"),
        MRAveragesSequence=_seq(NumberOfAverages=decimal_string(1.0)),
    )
    sr, sc = spacing
    position = [decimal_string(v) for v in (
        params["subject"]["midline_offset_mm"], -w * sc / 2, h * sr / 2)]
    interval = params["frame_interval_s"]
    per_frame = []
    for i in range(t_n):
        when = (start + dt.timedelta(seconds=i * interval)).strftime("%Y%m%d%H%M%S.%f")
        per_frame.append(_item(
            FrameContentSequence=_seq(FrameAcquisitionDateTime=when,
                                      FrameReferenceDateTime=when,
                                      FrameAcquisitionDuration=float(
                                          scan["spokes_per_frame"] * tr),
                                      FrameAcquisitionNumber=i + 1, TemporalPositionIndex=i + 1,
                                      StackID="1", InStackPositionNumber=1,
                                      DimensionIndexValues=[i + 1]),
            PlanePositionSequence=_seq(ImagePositionPatient=position)))
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    ds.compress(RLELossless, np.ascontiguousarray(stored))
    ds.save_as(path, enforce_file_format=True)


# ----------------------------------------------------------------------------- CLI


def run_case(job: tuple[int, str]) -> str:
    """Generate and write one case; return a one-line summary."""
    seed, out_dir = job
    started = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    case = Path(out_dir) / f"radial_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    write_dicom(case / "series.dcm", frames, spacing, params)
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    t_n, h, w = frames.shape
    scan = params["scanner"]
    return (f"radial_{seed:03d}: {t_n}x{h}x{w} {spacing[0]:.3f}x{spacing[1]:.3f} mm "
            f"{scan['sequence']} {scan['field_strength_T']:g} T "
            f"{'seated' if scan['seated'] else 'supine'} SNR {params['snr']:.1f} "
            f"{scan['spokes_per_frame']} spokes x{scan['n_coils']} coils "
            f"attempt {params['attempt']} {time.perf_counter() - started:.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", required=True, help='e.g. "0-11,100-111"')
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, str(args.out)) for seed in parse_seeds(args.seeds)]
    for line in map_jobs(run_case, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
