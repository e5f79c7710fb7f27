"""Voxel-atlas generator of labelled synthetic cine sagittal pelvic MRI.

Anatomy: per subject, a 3D tissue atlas (uint8 classes; 1 mm in the sagittal plane, 2 mm
across it, only the slab the imaging plane crosses) painted from primitives in template mm
(x left, y posterior, z head): superquadrics (bladder, uterine body, symphysis, vertebrae,
muscles) and tubes swept along smooth 3D centre-lines with varying radius (rectum and anal
canal, cervix and vagina, sacrum and coccyx, urethra, bowel, vessels, levator plate).  Per
subject: size, fat, bladder filling, uterine version / flexion / size (post-menopausal
small uterus), rectal distension and content, pitch, and the imaging plane's offset from
the midline (0-8 mm) and tilt.
Motion: Valsalva (rest → strain → rest, or sustained strain) as a smooth displacement
field: Gaussian-weighted descent of the pelvic floor (bladder base, cervix, anorectal
junction) plus a rotation of the levator plate about the coccyx tip, faded to zero near
the pubic bones and sacrum / coccyx, and a breathing-like global shift; backward warping.
Slice: x2 in-plane supersampling and three depths across the 4-8 mm slice: intensities
averaged (partial volume), labels by majority, the largest piece of each organ kept.
Imaging: fat-suppressed T2 TSE, T2 TSE, bSSFP or T1 GRE templates (±30 % per case),
steady-state approach (some bSSFP), frame intensity jitter, SENSE-like fold-over, receive
bias, blur from a reduced acquisition matrix and Rician noise (SNR 8-40).
Output per case ``voxel_{seed:03d}``: ``series/`` (single-frame MR DICOM files in a
non-canonical sagittal order stated by ImageOrientationPatient), ``truth.npy`` (uint8
(T, H, W) in canonical order: 0 background, 1 bladder, 2 uterus_vagina, 3 rectum) and
``params.json``.

Usage: python benchmarks/voxel_generator.py --seeds 0-11 --out DIR [--workers N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from pydicom import uid as pdu
from pydicom.dataset import FileDataset, FileMetaDataset
from scipy import ndimage
from scipy.interpolate import make_interp_spline
from scipy.spatial.transform import Rotation

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.io import read_series  # noqa: E402
from core.io.dicom_write import decimal_string, rescale  # noqa: E402
from core.seeds import map_jobs, parse_seeds  # noqa: E402

SEQUENCES = ("t2_tse_fs", "t2_tse", "bssfp", "t1_gre")
LABELS = {1: "bladder", 2: "uterus_vagina", 3: "rectum"}

#: Tissue classes: (name, organ label, template intensity per sequence in SEQUENCES order).
TISSUES: tuple[tuple[str, int, tuple[float, float, float, float]], ...] = (
    ("air", 0, (0, 0, 0, 0)), ("fat", 0, (.10, .85, .90, 1.00)),
    ("muscle", 0, (.22, .25, .22, .38)), ("skin", 0, (.35, .55, .45, .55)),
    ("cortex", 0, (.03, .03, .03, .03)), ("marrow", 0, (.15, .60, .55, .80)),
    ("cartilage", 0, (.45, .40, .35, .35)), ("urine", 1, (1.00, 1.00, 1.00, .10)),
    ("bladder_wall", 1, (.25, .28, .25, .35)), ("myometrium", 2, (.55, .55, .45, .40)),
    ("junction", 2, (.20, .22, .30, .38)), ("endometrium", 2, (.85, .85, .65, .35)),
    ("cervix", 2, (.18, .18, .28, .38)), ("mucus", 2, (.90, .90, .80, .20)),
    ("vagina", 2, (.35, .35, .35, .38)), ("rectal_wall", 3, (.35, .35, .30, .38)),
    ("stool", 3, (.45, .45, .40, .55)), ("gas", 3, (.02, .02, .02, .02)),
    ("sphincter", 3, (.20, .20, .20, .35)), ("bowel_wall", 0, (.40, .40, .35, .40)),
    ("bowel_fluid", 0, (.80, .75, .85, .20)), ("vessel", 0, (.05, .05, .95, .70)),
    ("csf", 0, (.95, .95, .95, .08)), ("disc", 0, (.60, .60, .50, .30)),
    ("urethra", 0, (.30, .30, .30, .35)), ("faeces", 0, (.45, .45, .40, .55)),
)
TISSUE = {name: i for i, (name, _, _) in enumerate(TISSUES)}
ORGAN_OF_TISSUE = np.array([organ for _, organ, _ in TISSUES], dtype=np.uint8)

#: (ScanningSequence, SequenceVariant, ScanOptions, TR ms, TE ms) written per sequence.
SEQUENCE_TAGS = {"t2_tse_fs": ("SE", "SK", "FS", "1400", "90"),
                 "t2_tse": ("SE", "SK", "", "1400", "90"),
                 "bssfp": ("GR", "SS", "", "3.6", "1.8"), "t1_gre": ("GR", "SP", "", "120", "4.6")}

Level = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


# --- primitives ----------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A solid: bounding box (x, y, z mm) and a level function, ≤ 0 inside (≈ mm outside)."""

    lo: np.ndarray
    hi: np.ndarray
    level: Level


#: Paint operations: (shapes, tissue name), applied in order (later ones win).
Ops = list[tuple[list[Shape], str]]


def _yz(y: float, z: float, x: float = 0.0) -> np.ndarray:
    return np.array([x, y, z], dtype=np.float64)


def _axis(theta_deg: float) -> np.ndarray:
    """Unit vector in the sagittal plane, ``theta`` from head (+z) towards anterior (-y)."""
    t = np.deg2rad(theta_deg)
    return np.array([0.0, -np.sin(t), np.cos(t)])


def superquadric(centre: Sequence[float], radii: Sequence[float], pitch_deg: float = 0.0,
                 power: float | tuple[float, float, float] = 2.0) -> Shape:
    """Superquadric; radii (x, across, along) with "along" at ``pitch_deg`` (see _axis).

    ``power``: one exponent, or one per axis (x, across, along).
    """
    cx, cy, cz = (float(v) for v in centre)
    rx, ry, rz = (float(v) for v in radii)
    px, py, pz = (float(v) for v in np.broadcast_to(power, 3))
    t = np.deg2rad(pitch_deg)
    ca, sa, r_min, p = float(np.cos(t)), float(np.sin(t)), min(rx, ry, rz), (px + py + pz) / 3

    def level(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        dy, dz = y - cy, z - cz
        f = (np.abs((x - cx) / rx) ** px + np.abs((ca * dy + sa * dz) / ry) ** py
             + np.abs((ca * dz - sa * dy) / rz) ** pz)
        return (f ** (1.0 / p) - 1.0) * r_min

    reach = np.array([rx, max(ry, rz), max(ry, rz)])
    c = np.array([cx, cy, cz])
    return Shape(c - reach, c + reach, level)


def _capsule(a: np.ndarray, b: np.ndarray, ra: float, rb: float, x_ratio: float) -> Shape:
    """Segment a→b with radius ra→rb; the x (lateral) radius is ``x_ratio`` times larger."""
    ax, ay, az = float(a[0] / x_ratio), float(a[1]), float(a[2])
    ux, uy, uz = float(b[0] / x_ratio) - ax, float(b[1]) - ay, float(b[2]) - az
    length2 = max(ux * ux + uy * uy + uz * uz, 1e-9)
    ra, dr, inv = float(ra), float(rb - ra), 1.0 / x_ratio

    def level(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        px, py, pz = x * inv - ax, y - ay, z - az
        t = np.clip((px * ux + py * uy + pz * uz) / length2, 0.0, 1.0)
        d = np.sqrt((px - t * ux) ** 2 + (py - t * uy) ** 2 + (pz - t * uz) ** 2)
        return d - (ra + t * dr)

    r = max(ra, rb)
    reach = np.array([r * x_ratio, r, r])
    return Shape(np.minimum(a, b) - reach, np.maximum(a, b) + reach, level)


def tube(points: Sequence[np.ndarray], radii: Sequence[float], x_ratio: float = 1.0,
         step_mm: float = 5.0) -> list[Shape]:
    """Tube swept along a smooth centre-line through ``points`` with radii varying along it."""
    pts = np.asarray(points, dtype=np.float64)
    chord = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    spline = make_interp_spline(chord, pts, k=min(3, len(pts) - 1))
    s = np.linspace(0.0, chord[-1], max(2, int(np.ceil(chord[-1] / step_mm)) + 1))
    line, rr = spline(s), np.maximum(np.interp(s, chord, radii), 0.5)
    return [_capsule(line[i], line[i + 1], rr[i], rr[i + 1], x_ratio) for i in range(len(s) - 1)]


def level_of(shapes: Sequence[Shape], x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Level of a union of shapes at points (x, y, z)."""
    return np.min(np.stack([s.level(x, y, z) for s in shapes]), axis=0)


@dataclass(frozen=True)
class Grid:
    """A 3D voxel grid: axes (x, y, z) in template mm."""

    origin: np.ndarray
    step: np.ndarray
    shape: tuple[int, int, int]

    def window(self, lo: np.ndarray, hi: np.ndarray) -> tuple[tuple[slice, ...], list] | None:
        """Slices and broadcastable coordinates of the voxels inside a box (None: empty)."""
        i0 = np.maximum(np.ceil((lo - self.origin) / self.step).astype(int), 0)
        i1 = np.minimum(np.floor((hi - self.origin) / self.step).astype(int) + 1, self.shape)
        if np.any(i1 <= i0):
            return None
        coords = []
        for k in range(3):
            axis = (self.origin[k] + self.step[k] * np.arange(i0[k], i1[k])).astype(np.float32)
            coords.append(axis.reshape([-1 if j == k else 1 for j in range(3)]))
        return tuple(slice(a, b) for a, b in zip(i0, i1, strict=True)), coords


def paint(vol: np.ndarray, grid: Grid, shapes: Sequence[Shape], tissue: str) -> None:
    """Set the voxels inside ``shapes`` to ``tissue``."""
    for s in shapes:
        win = grid.window(s.lo, s.hi)
        if win is not None:
            sl, (x, y, z) = win
            vol[sl][s.level(x, y, z) <= 0] = TISSUE[tissue]


# --- subject and anatomy ---------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Per-subject anatomy and pose."""

    size: float
    fat: float
    bladder_fill: float
    version_deg: float
    flexion_deg: float
    postmenopausal: bool
    uterus_length_mm: float
    rectal_distension: float
    rectal_content: str
    pitch_deg: float
    offset_mm: float
    tilt_deg: tuple[float, float]
    thickness_mm: float


def draw_subject(rng: np.random.Generator) -> Subject:
    """Random subject: anteverted (80 %) or retroverted uterus, 25 % post-menopausal."""
    post, antever = bool(rng.random() < 0.25), bool(rng.random() < 0.8)
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    return Subject(
        size=u(0.88, 1.12), fat=u(0, 1), bladder_fill=u(0, 1),
        version_deg=u(15, 55) if antever else u(-35, -10),
        flexion_deg=u(5, 50) if antever else u(-35, 5), postmenopausal=post,
        uterus_length_mm=u(28, 38) if post else u(46, 62), rectal_distension=u(0, 1),
        rectal_content=str(rng.choice(["empty", "gas", "stool", "mixed"])),
        pitch_deg=u(-10, 10), offset_mm=u(0, 8), tilt_deg=(u(-3, 3), u(-3, 3)),
        thickness_mm=u(4, 8))


@dataclass
class Anatomy:
    """Paint operations in order, the bones that anchor motion and motion landmarks."""

    ops: Ops = field(default_factory=list)
    sacrum: list[Shape] = field(default_factory=list)
    symphysis: list[Shape] = field(default_factory=list)
    floor_centre: np.ndarray = field(default_factory=lambda: np.zeros(3))
    coccyx_tip: np.ndarray = field(default_factory=lambda: np.zeros(3))
    levator_mid: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def add(self, shapes: Shape | list[Shape], tissue: str) -> None:
        self.ops.append((shapes if isinstance(shapes, list) else [shapes], tissue))


def _jit(rng: np.random.Generator, sd: float = 3.0) -> np.ndarray:
    return np.array([0.0, *rng.normal(0.0, sd, 2)])


def _trunk(sub: Subject, rng: np.random.Generator, an: Anatomy) -> float:
    """Skin, fat and muscles of the trunk; returns the depth of the abdominal wall (y, mm)."""
    a, b, p, pz = 112.0 + 30.0 * sub.fat, 300.0, float(rng.uniform(3.0, 4.5)), 10.0
    yc, zc = 30.0 + rng.normal(0, 4), -52.0 + b
    an.add(superquadric((0, yc, zc), (400, a, b), power=(2, p, pz)), "skin")
    an.add(superquadric((0, yc, zc), (400, a - 2.5, b - 2.5), power=(2, p, pz)), "fat")
    zs = np.linspace(40.0, zc + 0.9 * b, 8)
    wall = yc - a * (1 - np.abs((zs - zc) / b) ** pz) ** (1 / p) + 13.0 + 28.0 * sub.fat
    for side in (-1.0, 1.0):
        rectus = [_yz(-56, 16, side * 24)]
        rectus += [_yz(w, z, side * 24) for w, z in zip(wall, zs, strict=True)]
        an.add(tube(rectus, [5.0] * len(rectus), x_ratio=4.4, step_mm=10), "muscle")
        an.add(superquadric((side * 58, 105, -5), (52, 38, 70)), "muscle")  # gluteus maximus
        an.add(superquadric((side * 62, -5, -5), (9, 30, 28)), "muscle")  # obturator internus
    an.add(superquadric((0, 118, 310), (45, 28, 200)), "muscle")  # paraspinal
    return float(np.max(wall))


def _skeleton(rng: np.random.Generator, an: Anatomy) -> None:
    """Sacrum, coccyx, lumbar spine, pubic symphysis, femoral heads, spinal canal."""
    curve = float(rng.uniform(0.85, 1.15))
    sac = [_yz(65, 122), _yz(77 + 2 * curve, 94), _yz(85 + 4 * curve, 66), _yz(85, 42)]
    coc = [sac[-1], _yz(82, 24), _yz(72, 4) + _jit(rng, 2)]
    for pts, radii, ratio in ((sac, [20, 16, 12, 9], 3.0), (coc, [8, 6, 4.5], 1.8)):
        an.add(tube(pts, radii, ratio), "cortex")
        an.sacrum += tube(pts, radii, ratio, step_mm=10)
        an.add(tube(pts, [max(r - 2.5, 1.5) for r in radii], ratio), "marrow")
    an.coccyx_tip = coc[-1]
    theta = float(rng.uniform(5, 15))  # lumbar lordosis: the column climbs anteriorly
    up, back = _axis(theta), np.array([0.0, np.cos(np.deg2rad(theta)), np.sin(np.deg2rad(theta))])
    base = _yz(62, 145)
    an.add(tube([base + 27 * back + 300 * up, base + 27 * back, _yz(94, 110), _yz(92, 88)],
                [7, 7, 6, 4]), "csf")
    for k in range(7):
        body = base + (38.0 * k + 19.0) * up
        an.add(superquadric(base + 38.0 * k * up, (22, 16, 6), theta, 2.5), "disc")
        an.add(superquadric(body, (24, 17, 14), theta, 3.5), "cortex")
        an.add(superquadric(body, (22, 15, 12), theta, 3.5), "marrow")
        an.add(superquadric(body + 50 * back, (5, 14, 9), theta), "cortex")
        an.add(superquadric(body + 50 * back, (3.5, 12, 7), theta), "marrow")
    tilt = float(rng.uniform(17, 33))
    centre = _yz(-45, 0) + _jit(rng, 2)
    an.add(superquadric(centre, (32, 8, 20), tilt, 2.5), "cortex")
    an.symphysis.append(superquadric(centre, (32, 8, 20), tilt, 2.5))
    an.add(superquadric(centre, (30, 5.5, 17.5), tilt, 2.5), "marrow")
    an.add(superquadric(centre, (2, 6, 17), tilt, 2.5), "cartilage")
    for side in (-1.0, 1.0):
        an.add(superquadric((side * 88, 5, -5), (24, 24, 24)), "cortex")
        an.add(superquadric((side * 88, 5, -5), (22, 22, 22)), "marrow")


def _vessels_and_bowel(rng: np.random.Generator, an: Anatomy,
                       wall_y: float, dome_z: float) -> None:
    """Aorta / IVC and iliac vessels, sigmoid colon and small-bowel loops."""
    for x0, y0, sign in ((12.0, 22.0, 1.0), (-16.0, 30.0, -1.0)):  # aorta (left), IVC (right)
        an.add(tube([_yz(y0, 400, x0), _yz(y0 + 2, 190, x0 * 0.4)], [10, 10]), "vessel")
        for side in (-1.0, 1.0):
            an.add(tube([_yz(y0 + 2, 190, x0 * 0.4), _yz(y0 + 8, 120, side * 42),
                         _yz(-5 + sign, 30, side * 55)], [7, 6.5, 6]), "vessel")
    content = "bowel_fluid" if rng.random() < 0.7 else "air"
    sigmoid = [_yz(38, 96), _yz(30, 120, 12), _yz(5, 130, 25), _yz(-20, 118, 32), _yz(-30, 150, 20)]
    r_sig = float(rng.uniform(10, 15))
    an.add(tube(sigmoid, [r_sig] * 5, 1.1), "bowel_wall")
    an.add(tube(sigmoid, [r_sig - 2.5] * 5, 1.1), "faeces" if content == "bowel_fluid" else "air")
    for _ in range(int(rng.integers(5, 11))):
        start = np.array([rng.uniform(-35, 35), rng.uniform(wall_y + 15, 25),
                          rng.uniform(dome_z + 5, 260)])
        pts = [start]
        for _ in range(4):
            nxt = pts[-1] + rng.normal(0, 22, 3)
            nxt[1] = np.clip(nxt[1], wall_y + 15, 35)
            nxt[2] = max(nxt[2], dome_z)
            pts.append(nxt)
        r = float(rng.uniform(9, 13))
        an.add(tube(pts, [r] * 5, step_mm=6), "bowel_wall")
        an.add(tube(pts, [r - 2] * 5, step_mm=6),
               content if rng.random() < 0.7 else "bowel_fluid")


def _rectum(sub: Subject, rng: np.random.Generator) -> tuple[Ops, list[Shape], np.ndarray]:
    """Rectum (wall, content) and anal canal (sphincters): paint ops, shapes and the ARJ."""
    r = 9.0 + 11.0 * sub.rectal_distension
    ctrl = [p + _jit(rng, 2.5) for p in (_yz(40, 96), _yz(49, 72), _yz(53, 47), _yz(49, 22))]
    arj = _yz(35, 2) + _jit(rng, 2.5)
    ctrl.append(arj)
    radii = [0.75 * r, 0.9 * r, r, r, max(0.65 * r, 11.0)]
    outer = tube(ctrl, radii, 1.2)
    anal = [arj, arj + _yz(4, -22), _yz(42, -45) + _jit(rng, 2)]
    canal = tube(anal, [radii[-1], 12.0, 8.0])
    lumen = [max(q - 3.0, 1.5) for q in radii] if sub.rectal_content != "empty" else [2.0] * 5
    inside = "gas" if sub.rectal_content == "gas" else "stool"
    ops: Ops = [(outer, "rectal_wall"), (tube(ctrl, lumen, 1.2), inside),
                (canal, "sphincter"), (tube(anal, [2.5, 2.0, 1.5]), "rectal_wall")]
    if sub.rectal_content == "mixed":
        ops.append(([superquadric(ctrl[2] - _yz(0.5 * r, 0), (0.6 * r, 0.4 * r, 0.6 * r))], "gas"))
    return ops, outer + canal, arj


def _bladder(sub: Subject, rng: np.random.Generator) -> tuple[Ops, Shape, np.ndarray]:
    """Bladder (wall, urine) and urethra behind the symphysis: ops, shape, lowest point."""
    f = sub.bladder_fill
    ry, rz, rx = 13.0 + 11.0 * f, 13.0 + 30.0 * f, 20.0 + 30.0 * f
    neck_z = -4.0 + rng.normal(0, 3)
    centre = _yz(-31.0 + ry, neck_z + 0.9 * rz) + _jit(rng, 1.5)
    pitch, power, wall = float(rng.uniform(-10, 15)), float(rng.uniform(2.1, 2.6)), 4.0 - 2.0 * f
    outer = superquadric(centre, (rx, ry, rz), pitch, power)
    low = centre - 0.9 * rz * _axis(pitch)
    inner = superquadric(centre, (rx - wall, ry - wall, rz - wall), pitch, power)
    ops: Ops = [(tube([low + _yz(-2, 2), _yz(-24, -20), _yz(-28, -42)], [5.5, 5, 4.5]), "urethra"),
                ([outer], "bladder_wall"), ([inner], "urine")]
    return ops, outer, low


def _uterus(sub: Subject, rng: np.random.Generator, bladder: Shape,
            behind: list[Shape]) -> tuple[Ops, np.ndarray]:
    """Uterus, cervix and vagina, the body turned away from the bladder and from ``behind``.

    Returns the paint ops and the external os.
    """
    post, length = sub.postmenopausal, sub.uterus_length_mm
    r_c, len_c = (9.5, 22.0) if post else (13.0, 28.0)
    ext_os = _yz(16, 12) + _jit(rng, 2.5)
    ys = np.arange(-60.0, 60.0, 1.0)
    inb = bladder.level(np.zeros_like(ys), ys, np.full_like(ys, ext_os[2])) <= 0
    if inb.any():
        ext_os[1] = max(ext_os[1], ys[inb].max() + 0.6 * r_c)
    version = sub.version_deg
    internal = ext_os + len_c * _axis(version)
    while version > -40 and bladder.level(*internal) < 0.6 * r_c:
        version -= 8.0
        internal = ext_os + len_c * _axis(version)
    r_ap, r_x = 0.36 * length, 0.44 * length
    theta = version + sub.flexion_deg
    for _ in range(16):
        x, y, z = np.array([internal + t * length * _axis(theta) for t in (0.4, 0.7, 1.0)]).T
        if np.any(bladder.level(x, y, z) < 0.6 * r_ap):
            theta -= 8.0
        elif np.any(level_of(behind, x, y, z) < 0.6 * r_ap):
            theta += 8.0
        else:
            break
    centre = internal + 0.42 * length * _axis(theta)
    intro = _yz(-14, -46) + _jit(rng, 2.5)
    top = ext_os + 2.0 * _axis(version) + _yz(4, 0)
    vagina = [top, 0.5 * (top + intro) + _yz(3, 0), intro]
    cervix = [ext_os - 3.0 * _axis(version), internal + 3.0 * _axis(version)]
    e_t = 1.0 if post else float(rng.uniform(2.0, 6.0))
    endo = (0.5 * r_x, e_t, 0.36 * length)
    ops: Ops = [(tube(vagina, [10, 7, 6], 2.4), "vagina"),
                (tube(cervix, [r_c, r_c], 1.2), "cervix"),
                ([superquadric(centre, (r_x, r_ap, 0.5 * length), theta, 2.2)], "myometrium")]
    if not post:
        ops.append(([superquadric(centre, [v + 5.0 for v in endo], theta)], "junction"))
    ops += [([superquadric(centre, endo, theta)], "endometrium"),
            (tube(cervix, [2.0, 2.0]), "mucus"), (tube(vagina, [1.5, 1.5, 1.5], 3.0), "mucus")]
    return ops, ext_os


def build_anatomy(sub: Subject, rng: np.random.Generator) -> Anatomy:
    """All paint operations of one subject (template mm), context first, organs last."""
    an = Anatomy()
    wall_y = _trunk(sub, rng, an)
    bladder_ops, bladder, low = _bladder(sub, rng)
    rectum_ops, rectum, arj = _rectum(sub, rng)
    _vessels_and_bowel(rng, an, wall_y, float(bladder.hi[2]))
    _skeleton(rng, an)
    an.add(tube([_yz(42, -8), _yz(58, -4), an.coccyx_tip + _yz(-5, -2)], [5, 4.5, 4], 4.0),
           "muscle")  # levator plate
    an.add(superquadric(arj + _yz(14, -6), (24, 6, 9)), "muscle")  # puborectalis
    an.add(superquadric((0, 8, -40), (14, 8, 9)), "muscle")  # perineal body
    uterus_ops, ext_os = _uterus(sub, rng, bladder, rectum + an.sacrum)
    an.ops += uterus_ops + bladder_ops + rectum_ops
    an.floor_centre = (low + ext_os + arj) / 3.0
    an.levator_mid = 0.5 * (arj + an.coccyx_tip)
    return an


# --- acquisition geometry, motion and slicing -----------------------------------------


@dataclass(frozen=True)
class Geometry:
    """Output grid (canonical rows x columns), timing and field-of-view centre (y, z mm)."""

    rows: int
    cols: int
    spacing_mm: tuple[float, float]
    n_frames: int
    interval_s: float
    centre_yz: tuple[float, float]


def draw_geometry(sub: Subject, rng: np.random.Generator) -> Geometry:
    """Matrix 224-288, spacing 1.1-1.5 mm, 12-40 frames; the pelvic organs inside the FOV."""
    rows, cols = int(rng.integers(224, 289)), int(rng.integers(224, 289))
    sr = round(float(rng.uniform(1.1, 1.5)), 3)
    sc = round(float(np.clip(sr + rng.uniform(-0.08, 0.08), 1.1, 1.5)), 3)
    slack_z = np.clip(rows * sr / sub.size / 2 - 110.0, 0, 90)  # keeps z -100…+110 inside
    slack_y = np.clip(cols * sc / sub.size / 2 - 85.0, 0, 35)  # keeps y -70…+90 inside
    centre = (float(10.0 + rng.uniform(-1, 1) * slack_y), float(5.0 + rng.uniform(0, 1) * slack_z))
    return Geometry(rows, cols, (sr, sc), int(rng.integers(12, 41)),
                    round(float(rng.uniform(0.6, 2.0)), 3), centre)


def plane_points(sub: Subject, geo: Geometry) -> np.ndarray:
    """Template-mm points (3 depths, 2 rows, 2 cols, 3) sampled for each output pixel."""
    # pose: pitch about x, then the plane's tilt about z (SI) and y (AP)
    angles = (sub.pitch_deg, *sub.tilt_deg)
    axes = Rotation.from_euler("XZY", angles, degrees=True).as_matrix() / sub.size
    sr, sc = geo.spacing_mm
    down = ((np.arange(2 * geo.rows) + 0.5) / 2 - 0.5 - (geo.rows - 1) / 2) * sr
    post = ((np.arange(2 * geo.cols) + 0.5) / 2 - 0.5 - (geo.cols - 1) / 2) * sc
    depth = sub.offset_mm + sub.thickness_mm * np.array([-1.0, 0.0, 1.0]) / 3.0
    q = (np.array([0.0, *geo.centre_yz]) + depth[:, None, None, None] * axes[:, 0]
         + post[None, None, :, None] * axes[:, 1] - down[None, :, None, None] * axes[:, 2])
    return q.astype(np.float32)


def atlas_grid(q: np.ndarray) -> Grid:
    """The grid (2 mm across the plane, 1 mm in it) around the points, room for motion."""
    flat = q.reshape(-1, 3)
    margin = np.array([3.0, 25.0, 50.0])
    lo, hi = flat.min(axis=0) - margin, flat.max(axis=0) + margin
    lo[1], hi[1] = max(lo[1], -150.0), min(hi[1], 200.0)
    step = np.array([2.0, 1.0, 1.0])
    shape = tuple(int(v) for v in np.ceil((hi - lo) / step) + 1)
    return Grid(lo, step, (shape[0], shape[1], shape[2]))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class Motion:
    """Valsalva strain (T,) in 0…1, breathing shift (T, 3) mm and the strain's amplitudes."""

    strain: np.ndarray
    breathing: np.ndarray
    descent_mm: float
    descent_dir_deg: float
    levator_deg: float
    sustained: bool


def draw_motion(geo: Geometry, rng: np.random.Generator) -> Motion:
    """Rest → strain → rest (or sustained strain) and a 1-3 mm breathing-like shift."""
    n, t = geo.n_frames, np.arange(geo.n_frames, dtype=np.float64)
    rest, ramp = int(rng.integers(2, 5)), int(rng.integers(2, 6))
    sustained = bool(rng.random() < 0.35)
    strain = _smoothstep((t - rest + 1) / ramp)
    if not sustained:
        release = rest - 1 + ramp + int(rng.integers(1, max(2, n - rest - 2 * ramp)))
        strain = strain * (1.0 - _smoothstep((t - release) / ramp))
    amp, period = float(rng.uniform(1.0, 3.0)), float(rng.uniform(3.0, 5.0))
    wave = amp * np.sin(2 * np.pi * t * geo.interval_s / period + rng.uniform(0, 2 * np.pi))
    breathing = np.stack([np.zeros(n), 0.3 * wave, wave], axis=1) + rng.normal(0, 0.3, (n, 3))
    return Motion(strain, breathing, float(rng.uniform(15, 40)), float(rng.uniform(-10, 25)),
                  float(rng.uniform(8, 22)), sustained)


def motion_field(an: Anatomy, motion: Motion, q0: np.ndarray) -> np.ndarray:
    """Displacement (mm) at full strain at the points ``q0`` (h, w, 3), doubled to (2h, 2w, 3).

    Pelvic-floor descent (Gaussian weight around bladder base, cervix and ARJ) plus the
    levator plate's rotation about the coccyx tip, faded to zero within 12 mm of bone.
    """
    x, y, z = q0[..., 0], q0[..., 1], q0[..., 2]
    bone = np.minimum(level_of(an.sacrum, x, y, z), level_of(an.symphysis, x, y, z))
    anchor = _smoothstep(bone / 12.0)
    g = np.exp(-0.5 * np.sum(((q0 - an.floor_centre) / (60.0, 45.0, 50.0)) ** 2, axis=-1))
    a = np.deg2rad(motion.descent_dir_deg)
    phi = g[..., None] * (motion.descent_mm * np.array([0.0, np.sin(a), -np.cos(a)]))
    th = np.deg2rad(motion.levator_deg)
    rel = q0 - an.coccyx_tip
    w = np.exp(-0.5 * np.sum((q0 - an.levator_mid) ** 2, axis=-1) / 24.0**2)
    phi[..., 1] += w * (rel[..., 1] * (np.cos(th) - 1) - rel[..., 2] * np.sin(th))
    phi[..., 2] += w * (rel[..., 1] * np.sin(th) + rel[..., 2] * (np.cos(th) - 1))
    phi *= anchor[..., None]
    return np.repeat(np.repeat(phi, 2, axis=0), 2, axis=1).astype(np.float32)


def render(vol: np.ndarray, grid: Grid, q: np.ndarray, phi: np.ndarray, motion: Motion,
           lut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clean frames (partial-volume mean) and majority labels (T, H, W) by backward warping."""
    n_u, h2, w2, _ = q.shape
    qi = (q - grid.origin.astype(np.float32)) / grid.step.astype(np.float32)
    phii = phi / grid.step.astype(np.float32)
    nx, ny, nz = grid.shape
    flat = vol.ravel()
    # one byte per label in a little-endian uint32: a single sum counts all the votes
    votes = (1 << (8 * ORGAN_OF_TISSUE.astype(np.uint32))).astype(np.uint32)

    def pool(a: np.ndarray) -> np.ndarray:  # sum over depth and each 2 x 2 block
        a = a.reshape(n_u, h2 // 2, 2, w2 // 2, 2).sum(axis=0, dtype=a.dtype)
        return a[:, 0, :, 0] + a[:, 0, :, 1] + a[:, 1, :, 0] + a[:, 1, :, 1]

    frames, labels = [], []
    for s, b in zip(motion.strain, motion.breathing, strict=True):
        src = qi - (np.float32(s) * phii + (b / grid.step).astype(np.float32))
        ix = np.clip(np.rint(src[..., 0]), 0, nx - 1).astype(np.int32)
        iy = np.clip(np.rint(src[..., 1]), 0, ny - 1).astype(np.int32)
        iz = np.clip(np.rint(src[..., 2]), 0, nz - 1).astype(np.int32)
        tissue = flat[(ix * ny + iy) * nz + iz]
        frames.append(pool(lut[tissue]) / np.float32(4 * n_u))
        counts = pool(votes[tissue]).view(np.uint8).reshape(h2 // 2, w2 // 2, 4)
        labels.append(np.argmax(counts[..., : len(LABELS) + 1], axis=-1).astype(np.uint8))
    return np.stack(frames), np.stack(labels)


def keep_largest(labels: np.ndarray) -> bool:
    """Keep the largest piece of each organ in each frame (in place); False if one is missing."""
    for frame in labels:
        for k in LABELS:
            pieces, n = ndimage.label(frame == k)
            if n == 0:
                return False
            if n > 1:
                sizes = np.bincount(pieces.ravel())[1:]
                frame[(pieces > 0) & (pieces != np.argmax(sizes) + 1)] = 0
    return True


# --- imaging ---------------------------------------------------------------------------


def tissue_lut(sequence: str, rng: np.random.Generator) -> np.ndarray:
    """Tissue intensities of one case: the sequence's template, each ×U(0.7, 1.3)."""
    k = SEQUENCES.index(sequence)
    base = np.array([values[k] for _, _, values in TISSUES], dtype=np.float32)
    return (base * rng.uniform(0.7, 1.3, base.size)).astype(np.float32)


def _bias(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth receive bias: low-order log field plus anterior / posterior coil elements."""
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    c = rng.normal(0.0, 0.15, 5)
    field_ = np.exp(c[0] * yy + c[1] * xx + c[2] * yy * xx + c[3] * yy**2 + c[4] * xx**2)
    field_ += rng.uniform(0.0, 0.5) * (np.exp(-(xx + 1) / 0.35) + np.exp(-(1 - xx) / 0.35))
    return (field_ / field_.mean()).astype(np.float32)


def _window(n: int, fraction: float) -> np.ndarray:
    """k-space window keeping ``fraction`` of the frequencies, with a short cosine taper."""
    k = np.abs(np.fft.fftfreq(n)) / 0.5
    ramp = np.clip((fraction - k) / (0.15 * fraction), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)


def acquire(clean: np.ndarray, sequence: str,
            rng: np.random.Generator) -> tuple[np.ndarray, dict[str, object]]:
    """Bias, fold-over, steady state, jitter, reduced matrix and Rician noise."""
    n_t, h, w = clean.shape
    img = clean * _bias(h, w, rng)[None]
    phase_axis = int(rng.integers(1, 3))
    art: dict[str, object] = {"phase_direction": "rows (SI)" if phase_axis == 1 else "cols (AP)"}
    if rng.random() < 0.35:
        n = img.shape[phase_axis]
        shift = n // 2 + int(rng.integers(-n // 10, n // 10 + 1))
        amp = float(rng.uniform(0.04, 0.12))
        img = img + amp * np.roll(img, shift, axis=phase_axis)
        art["foldover"] = {"amplitude": amp, "shift_px": shift}
    if sequence == "bssfp" and rng.random() < 0.5:
        amp, tau = float(rng.uniform(0.3, 0.8)), float(rng.uniform(0.6, 1.5))
        img = img * (1.0 + amp * np.exp(-np.arange(n_t) / tau))[:, None, None]
        art["steady_state"] = {"amplitude": amp, "tau_frames": tau}
    jitter = 1.0 + rng.uniform(-0.05, 0.05, n_t)
    img = img * jitter[:, None, None]
    kept = (float(rng.uniform(0.55, 0.85)), float(rng.uniform(0.8, 1.0)))  # phase, readout
    win_rows = _window(h, kept[0] if phase_axis == 1 else kept[1])
    win_cols = _window(w, kept[0] if phase_axis == 2 else kept[1])
    spec = np.fft.fft2(img, axes=(1, 2)) * (win_rows[:, None] * win_cols[None, :])
    img = np.fft.ifft2(spec, axes=(1, 2)).real
    snr = float(rng.uniform(8, 40))
    ref = float(np.mean(img[img > 0.15 * np.percentile(img, 99)]))
    sigma = ref / snr
    noisy = np.hypot(img + sigma * rng.standard_normal(img.shape),
                     sigma * rng.standard_normal(img.shape))
    art.update(snr=snr, matrix_fraction={"phase": kept[0], "readout": kept[1]},
               jitter=[round(float(j), 4) for j in jitter])
    return (noisy * rng.uniform(400, 3000)).astype(np.float32), art


# --- the case ----------------------------------------------------------------------------

#: Stored-order operations (transpose, flip rows, flip columns); never the canonical one.
STORED_ORDERS = [(t, r, c) for t in (False, True) for r in (False, True) for c in (False, True)][1:]


def _attempt(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict] | None:
    sub = draw_subject(rng)
    geo = draw_geometry(sub, rng)
    an = build_anatomy(sub, rng)
    q = plane_points(sub, geo)
    grid = atlas_grid(q)
    vol = np.zeros(grid.shape, dtype=np.uint8)  # the tissue atlas
    for shapes, tissue in an.ops:
        paint(vol, grid, shapes, tissue)
    motion = draw_motion(geo, rng)
    phi = motion_field(an, motion, q[1, ::2, ::2])
    sequence = str(rng.choice(SEQUENCES))
    clean, labels = render(vol, grid, q, phi, motion, tissue_lut(sequence, rng))
    if not keep_largest(labels):
        return None
    frames, artefacts = acquire(clean, sequence, rng)
    order = STORED_ORDERS[int(rng.integers(len(STORED_ORDERS)))]
    params = {
        "shape": list(frames.shape), "spacing_mm": list(geo.spacing_mm),
        "frame_interval_s": geo.interval_s, "sequence": sequence, "snr": artefacts.pop("snr"),
        "off_midline_mm": sub.offset_mm, "tilt_deg": list(sub.tilt_deg),
        "slice_thickness_mm": sub.thickness_mm, "artefacts": artefacts, "subject": asdict(sub),
        "fov_centre_yz_mm": list(geo.centre_yz),
        "motion": {"strain": [round(float(s), 4) for s in motion.strain],
                   "descent_mm": motion.descent_mm, "descent_dir_deg": motion.descent_dir_deg,
                   "levator_rotation_deg": motion.levator_deg, "sustained": motion.sustained},
        "stored_order": dict(zip(("transpose", "flip_rows", "flip_cols"), order, strict=True)),
        "labels": {str(k): v for k, v in LABELS.items()},
    }
    return frames, labels, params


def generate(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float], dict]:
    """One case: frames float32 (T, H, W) canonical, labels uint8, spacing (row, col), params.

    Deterministic for ``seed``; a draw where an organ misses a frame is redrawn.
    """
    for attempt in range(8):
        out = _attempt(np.random.default_rng([int(seed), attempt]))
        if out is not None:
            frames, labels, params = out
            params.update(seed=int(seed), attempt=attempt)
            return frames, labels, (params["spacing_mm"][0], params["spacing_mm"][1]), params
    raise RuntimeError(f"seed {seed}: no draw with every organ in every frame")


# --- DICOM -------------------------------------------------------------------------------


def stored_view(frames: np.ndarray, spacing: tuple[float, float], x_mm: float, transpose: bool,
                flip_rows: bool, flip_cols: bool
                ) -> tuple[np.ndarray, list[float], np.ndarray, tuple[float, float]]:
    """Canonical frames in a stored order: (pixels, IOP, IPP of pixel 0, PixelSpacing)."""
    _, h, w = frames.shape
    sr, sc = spacing
    u_r, u_c = np.array([0.0, 0.0, -1.0]), np.array([0.0, 1.0, 0.0])  # LPS, canonical
    origin = np.array([x_mm, -(w - 1) / 2 * sc, (h - 1) / 2 * sr])
    stored = frames
    if flip_rows:
        stored, origin, u_r = stored[:, ::-1], origin + (h - 1) * sr * u_r, -u_r
    if flip_cols:
        stored, origin, u_c = stored[:, :, ::-1], origin + (w - 1) * sc * u_c, -u_c
    if transpose:
        stored, u_r, u_c, sr, sc = np.swapaxes(stored, 1, 2), u_c, u_r, sc, sr
    return np.ascontiguousarray(stored), [*u_c, *u_r], origin, (sr, sc)


def write_series(folder: Path, frames: np.ndarray, params: dict) -> float:
    """Single-frame MR Image Storage files with random hex names; returns the RescaleSlope."""
    seed, seq, n_t = int(params["seed"]), params["sequence"], len(frames)
    stored, iop, ipp, spacing = stored_view(frames, tuple(params["spacing_mm"]),
                                            float(params["off_midline_mm"]),
                                            **params["stored_order"])
    pixels, slope, intercept = rescale(stored)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 0xD1C0])
    tags = SEQUENCE_TAGS[seq]

    def uid(kind: str, i: int = 0) -> str:
        return pdu.generate_uid(entropy_srcs=["voxel", str(seed), kind, str(i)])

    start = dt.datetime(2024, 3, 1, 8, 0, 0) + dt.timedelta(minutes=seed % 600)
    day, clock = start.strftime("%Y%m%d"), start.strftime("%H%M%S")
    common = {
        "SOPClassUID": pdu.MRImageStorage, "StudyInstanceUID": uid("study"),
        "SeriesInstanceUID": uid("series"), "FrameOfReferenceUID": uid("for"),
        "PositionReferenceIndicator": "", "Modality": "MR", "Manufacturer": "PelviTrack voxel",
        "PatientName": "VOXEL^CASE", "PatientID": f"voxel_{seed:03d}", "PatientSex": "F",
        "PatientBirthDate": "", "AccessionNumber": "", "ReferringPhysicianName": "",
        "StudyID": "1", "SeriesNumber": 3, "AcquisitionNumber": 1, "StudyDate": day,
        "SeriesDate": day, "AcquisitionDate": day, "StudyTime": clock, "SeriesTime": clock,
        "StudyDescription": "Dynamic pelvic floor MRI (synthetic)",
        "SeriesDescription": f"cine sag {seq}", "NumberOfTemporalPositions": n_t,
        "ImageType": ["ORIGINAL", "PRIMARY", "M", "NONE"], "ScanningSequence": tags[0],
        "SequenceVariant": tags[1], "ScanOptions": tags[2], "RepetitionTime": tags[3],
        "EchoTime": tags[4], "PatientPosition": "HFS", "BodyPartExamined": "PELVIS",
        "MRAcquisitionType": "2D", "MagneticFieldStrength": "1.5",
        "SliceThickness": decimal_string(float(params["slice_thickness_mm"])),
        "PixelSpacing": [decimal_string(v) for v in spacing],
        "ImageOrientationPatient": [decimal_string(float(v)) for v in iop],
        "ImagePositionPatient": [decimal_string(float(v)) for v in ipp],
        "SamplesPerPixel": 1, "PhotometricInterpretation": "MONOCHROME2",
        "Rows": pixels.shape[1], "Columns": pixels.shape[2], "BitsAllocated": 16,
        "BitsStored": 16, "HighBit": 15, "PixelRepresentation": 0, "RescaleType": "US",
        "RescaleSlope": decimal_string(slope), "RescaleIntercept": decimal_string(intercept),
    }
    names = {"".join(f"{b:02x}" for b in rng.integers(0, 256, 8)) for _ in range(2 * n_t)}
    for i, name in enumerate(sorted(names)[:n_t]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = pdu.MRImageStorage
        meta.MediaStorageSOPInstanceUID = uid("sop", i)
        meta.TransferSyntaxUID = pdu.ExplicitVRLittleEndian
        meta.ImplementationClassUID = pdu.PYDICOM_IMPLEMENTATION_UID
        ds = FileDataset(str(folder / name), {}, file_meta=meta, preamble=b"\0" * 128)
        for key, value in common.items():
            setattr(ds, key, value)
        t_s = i * float(params["frame_interval_s"])
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.InstanceNumber = ds.TemporalPositionIdentifier = i + 1
        ds.AcquisitionTime = (start + dt.timedelta(seconds=t_s)).strftime("%H%M%S.%f")
        ds.TriggerTime = decimal_string(t_s * 1000.0)
        ds.PixelData = pixels[i].tobytes()
        ds.save_as(folder / name, enforce_file_format=True)
    return slope


def check_round_trip(case: Path, frames: np.ndarray, spacing: tuple[float, float],
                     slope: float) -> None:
    """Read ``case/series`` back with core.io; raise if shape, spacing or pixels differ."""
    back = read_series(case / "series")
    if back.frames.shape != frames.shape:
        raise RuntimeError(f"{case.name}: read back {back.frames.shape}, wrote {frames.shape}")
    if not np.allclose(back.spacing_mm, spacing, rtol=0, atol=1e-6):
        raise RuntimeError(f"{case.name}: read back spacing {back.spacing_mm}, wrote {spacing}")
    err = float(np.max(np.abs(back.frames.astype(np.float64) - frames)))
    if err > slope:
        raise RuntimeError(f"{case.name}: frames differ by {err:g} (> slope {slope:g})")


def run_case(job: tuple[int, str]) -> str:
    """Generate, write and check one case; returns its one-line summary."""
    seed, out = job
    t0 = time.perf_counter()
    frames, labels, spacing, params = generate(seed)
    t_gen = time.perf_counter() - t0
    case = Path(out) / f"voxel_{seed:03d}"
    slope = write_series(case / "series", frames, params)
    np.save(case / "truth.npy", labels)
    (case / "params.json").write_text(json.dumps(params, indent=1))
    check_round_trip(case, frames, spacing, slope)
    n_t, h, w = frames.shape
    return (f"{case.name}: {n_t}x{h}x{w} {spacing[0]:.3f}x{spacing[1]:.3f} mm "
            f"{params['sequence']} SNR {params['snr']:.1f} off {params['off_midline_mm']:.1f} mm "
            f"generate {t_gen:.2f} s, total {time.perf_counter() - t0:.2f} s")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--seeds 0-11 --out DIR [--workers N]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", required=True, help='e.g. "0-11" or "1,5,7"')
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = [(seed, str(args.out)) for seed in parse_seeds(args.seeds)]
    args.out.mkdir(parents=True, exist_ok=True)
    for line in map_jobs(run_case, jobs, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
