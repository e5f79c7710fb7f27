"""Tenth independent generator of labelled synthetic cine mid-sagittal pelvic MRI.

Methods: each subject is built from a hand-designed mid-sagittal atlas (mm; x
anterior→posterior, y head→feet, origin at the pubic symphysis) of closed
polygons: bladder (label 1), uterus + cervix + vagina (label 2), rectum + anal
canal (label 3), pubis, sacrum/coccyx, levator/puborectalis, sphincter, small
bowel loops, muscles and the body outline, with per-subject shape modes
(scale, bladder filling, uterine version/flexion, vaginal length, rectal
distension) and a random pose.  Motion comes from a mass-spring model: the
organ vertices are unit masses joined by edge and cross springs, with a
pressure term (area preservation) for the bladder and rectum, tethered to
their rest positions and ligament anchors near the bones, and pulled
down/back by a time-varying straining load (1–4 cm peak descent).  It is
integrated by semi-implicit Euler (30 steps per frame); vertices are pushed
out of bones and higher-priority organs.  Other soft tissue follows a
kernel-interpolated displacement field.  Frames are rasterised at ×2
supersampling (partial volume by averaging, labels by majority, largest piece
per organ), with per-case tissue intensities (no sequence template; dark urine
with p≈0.35), texture, blur, bias field, slow drift, phase-axis ghosting, spike
noise and Gaussian/Rician noise.  Written as sagittal NIfTI and checked by
reading back with ``core.io.read_series``.

Usage: ``python benchmarks/massspring_generator.py --seeds 0-11 --out DIR [--workers N]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.seeds import map_jobs, parse_seeds  # noqa: E402

ORGANS = ("bladder", "uterus", "rectum")
STEPS, DT, DAMP = 30, 0.25, 1.0
K_EDGE, K_CROSS, K_TETHER, K_PRESS = 4.0, 1.0, 0.15, 2.0


# --------------------------------------------------------------------- geometry
def ellipse(c, rx, ry, ang=0.0, n=40, p=2.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ct, st = np.cos(t), np.sin(t)
    x = rx * np.sign(ct) * np.abs(ct) ** (2 / p)
    y = ry * np.sign(st) * np.abs(st) ** (2 / p)
    a = np.deg2rad(ang)
    return np.stack([c[0] + x * np.cos(a) - y * np.sin(a),
                     c[1] + x * np.sin(a) + y * np.cos(a)], 1)


def tube(pts, widths, n=60):
    """Closed polygon around a polyline with half-widths at its points."""
    pts, widths = np.asarray(pts, float), np.asarray(widths, float)
    seg = np.r_[0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
    s = np.linspace(0, seg[-1], n // 2)
    c = np.stack([np.interp(s, seg, pts[:, 0]), np.interp(s, seg, pts[:, 1])], 1)
    c = ndimage.gaussian_filter1d(c, 1.5, axis=0, mode="nearest")
    w = np.interp(s, seg, widths)
    d = np.gradient(c, axis=0)
    nrm = np.stack([-d[:, 1], d[:, 0]], 1) / (np.linalg.norm(d, axis=1, keepdims=True) + 1e-9)
    return np.r_[c + nrm * w[:, None], (c - nrm * w[:, None])[::-1]]


def resample(poly, n):
    closed = np.r_[poly, poly[:1]]
    seg = np.r_[0, np.cumsum(np.linalg.norm(np.diff(closed, axis=0), axis=1))]
    s = np.linspace(0, seg[-1], n, endpoint=False)
    return np.stack([np.interp(s, seg, closed[:, 0]), np.interp(s, seg, closed[:, 1])], 1)


def area(poly):
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * (x @ np.roll(y, -1) - y @ np.roll(x, -1))


def inside(pts, poly):
    x, y = pts[:, :1], pts[:, 1:]
    x1, y1 = poly[:, 0][None], poly[:, 1][None]
    x2, y2 = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    cross = (y1 > y) != (y2 > y)
    xint = x1 + (y - y1) * (x2 - x1) / np.where(y2 == y1, 1e-12, y2 - y1)
    return (cross & (x < xint)).sum(1) % 2 == 1


def push_out(pts, poly, margin=0.8):
    """Move points lying inside ``poly`` to just outside its nearest edge."""
    m = inside(pts, poly)
    if not m.any():
        return pts
    p = pts[m]
    a, b = poly[None], np.roll(poly, -1, 0)[None]
    ab = b - a
    t = np.clip(((p[:, None] - a) * ab).sum(-1) / ((ab * ab).sum(-1) + 1e-12), 0, 1)
    q = a + t[..., None] * ab
    d = np.linalg.norm(q - p[:, None], axis=-1)
    k = d.argmin(1)
    qn = q[np.arange(len(p)), k]
    v = qn - p
    pts = pts.copy()
    pts[m] = qn + v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-9) * margin
    return pts


def warp(pts, src0, src1, sigma=18.0, w0=0.5):
    """Kernel-interpolated displacement of ``pts`` from control points src0 → src1."""
    d2 = ((pts[:, None] - src0[None]) ** 2).sum(-1)
    w = np.exp(-d2 / (2 * sigma ** 2))
    return pts + (w @ (src1 - src0)) / (w.sum(1, keepdims=True) + w0)


# ------------------------------------------------------------------------ atlas
def build_atlas(rng):
    u = rng.uniform
    fill, dist = u(0.75, 1.3), u(0.7, 1.4)
    pub = ellipse((0, 0), u(6, 8), u(18, 23), ang=u(-35, -20), n=30)
    sac_bend = u(-8, 8)
    sacrum = tube([(88, -170), (126 + sac_bend / 2, -125), (146 + sac_bend, -75),
                   (150 + sac_bend, -30), (138, 5), (120, 28)], [22, 20, 16, 11, 7, 3], 60)
    neck = np.array([22 + u(-3, 3), -4 + u(-3, 3)])
    rx, ry = 32 * fill * u(0.9, 1.1), 25 * fill * u(0.9, 1.1)
    bladder = ellipse(neck + (u(3, 8), -ry), rx, ry, ang=u(-10, 10), n=64, p=u(2.0, 2.8))
    bladder[:, 1] = np.minimum(bladder[:, 1], neck[1])
    tv, lv = np.deg2rad(u(36, 48)), u(60, 78)
    p0 = np.array([18 + u(-3, 3), 48 + u(-3, 3)])
    p1 = p0 + lv * np.array([np.sin(tv), -np.cos(tv)])
    version = u(25, 85) if rng.random() < 0.8 else -u(5, 40)
    tc = tv - np.deg2rad(version)
    tb = tc - np.deg2rad(u(-15, 40))
    lc, lb = u(25, 34), u(48, 68)
    p2 = p1 + lc * np.array([np.sin(tc), -np.cos(tc)])
    p3 = p2 + lb * np.array([np.sin(tb), -np.cos(tb)])
    wb = u(18, 25)
    ut_line = [p0, p0 + 0.5 * (p1 - p0), p1, p2, p2 + 0.5 * (p3 - p2), p3]
    uterus = tube(ut_line, [5, 7, 12, 13, wb, 0.5 * wb], 72)
    rect_line = [(52 + u(-4, 4), 64), (72 + u(-4, 4), 32), (100, 0), (114, -40), (110, -80),
                 (95, -112)]
    rectum = tube(rect_line, [6, 7, 13 * dist, 16 * dist, 14 * dist, 11], 72)
    levator = tube([(8, 24), (35, 40), (62, 56), (86, 50), (104, 32), (120, 24)],
                   [4, 5, 6, 6, 5, 4])
    body = np.array([(-45, -260), (-42, -60), (-34, -20), (-28, 10), (-15, 40), (0, 62),
                     (20, 78), (45, 84), (62, 86), (85, 82), (140, 80), (178, 50), (190, 0),
                     (186, -60), (172, -130), (160, -260)], float)
    body[:, 0] += np.where(body[:, 0] < 60, u(-15, 8), u(-10, 20))
    bowels = [ellipse((u(-10, 100), u(-150, -95)), u(10, 18), u(8, 14), ang=u(0, 180), n=24)
              for _ in range(rng.integers(3, 7))]
    organs = [resample(bladder, 64), resample(uterus, 72), resample(rectum, 72)]
    inner = {  # interior structures that follow one organ (index)
        "endometrium": (1, tube([p2 + 0.1 * (p3 - p2), p2 + 0.85 * (p3 - p2)], [2, 3], 24)),
        "jz": (1, tube([p2 - 0.1 * (p2 - p1), p2 + 0.9 * (p3 - p2)], [5, 6], 24)),
        "cervix": (1, tube([p1 - 0.1 * (p2 - p1), p2], [10, 11], 24)),
        "vlumen": (1, tube([p0, p1], [1.2, 1.8], 24)),
        "sphincter": (2, ellipse(np.array(rect_line[0]) + (8, -10), 14, 16, ang=30, n=30)),
    }
    soft = {"body": body, "levator": levator,
            "rectus": tube([(-36, -260), (-34, -60), (-20, -15)], [6, 6, 4]),
            "glut": ellipse((150, 40), 28, 40, ang=20), "paraspinal":
                tube([(168, -260), (172, -130), (160, -40)], [14, 14, 8])}
    for i, b in enumerate(bowels):
        soft[f"bowel{i}"] = b
    shape = {"bladder_fill": fill, "rectal_distension": dist, "version_deg": version,
             "vaginal_length_mm": lv}
    return organs, {"pubis": pub, "sacrum": sacrum}, soft, inner, shape


# ------------------------------------------------------------------ mass-spring
def make_springs(sizes):
    springs, off = [], 0
    for n in sizes:
        i = np.arange(n)
        springs.append(np.stack([off + i, off + (i + 1) % n, np.full(n, K_EDGE)], 1))
        j = i[::4]
        for f in (n // 3, n // 2):
            springs.append(np.stack([off + j, off + (j + f) % n, np.full(len(j), K_CROSS)], 1))
        off += n
    s = np.concatenate(springs)
    return s[:, 0].astype(int), s[:, 1].astype(int), s[:, 2]


def simulate(organs, bones, profile, descent, rng):
    """Positions (T, N, 2) of all organ vertices under the straining profile."""
    sizes = [len(o) for o in organs]
    idx = np.cumsum([0] + sizes)
    x = np.concatenate(organs).astype(float)
    a, b, k = make_springs(sizes)
    anchors = [((8, -2), 0.45, 12), ((110, -85), 1.5, 18), ((62, -6), 0.25, 14),
               ((52, 64), 0.4, 10)]
    ka = np.zeros(len(x))
    for c, kk, sg in anchors:
        ka += kk * np.exp(-((x - c) ** 2).sum(1) / (2 * sg ** 2))
    direc = np.array([rng.uniform(0.2, 0.5), 1.0])
    direc /= np.linalg.norm(direc)
    load = np.concatenate([np.full(n, d) for n, d in zip(sizes, descent, strict=True)])
    order = [(0, (1, 2)), (2, (1,))]  # bladder pushes uterus/rectum, rectum pushes uterus

    def collide(x):
        for bone in bones:
            x = push_out(x, bone)
        for hi, lows in order:
            poly = x[idx[hi]:idx[hi + 1]]
            for lo in lows:
                x[idx[lo]:idx[lo + 1]] = push_out(x[idx[lo]:idx[lo + 1]], poly)
        return x

    def run(x, x0, rest, a0, s, steps):
        v = np.zeros_like(x)
        for step in range(steps):
            d = x[b] - x[a]
            ln = np.linalg.norm(d, axis=1) + 1e-9
            f_s = (k * (ln - rest) / ln)[:, None] * d
            f = np.zeros_like(x)
            np.add.at(f, a, f_s)
            np.add.at(f, b, -f_s)
            f += -(K_TETHER + ka)[:, None] * (x - x0)
            f += (K_TETHER * load * s)[:, None] * direc
            for o in (0,):  # pressure keeps the urine-filled bladder's area
                p = x[idx[o]:idx[o + 1]]
                tang = np.roll(p, -1, 0) - np.roll(p, 1, 0)
                nrm = np.stack([tang[:, 1], -tang[:, 0]], 1) * np.sign(a0[o])
                f[idx[o]:idx[o + 1]] += K_PRESS * (a0[o] - area(p)) / abs(a0[o]) * nrm * 0.5
            v += DT * (f - DAMP * v)
            sp = np.linalg.norm(v, axis=1, keepdims=True)
            v *= np.minimum(1.0, 4.0 / (sp + 1e-9))  # speed limit keeps contacts stable
            x = x + DT * v
            if step % 3 == 2:
                moved = x
                x = collide(x.copy())
                v[np.any(x != moved, axis=1)] = 0.0
        return x

    a_init = [area(o) for o in organs]
    rest0 = np.linalg.norm(x[b] - x[a], axis=1)
    x = run(x, x.copy(), rest0, a_init, 0.0, 240)  # relax the atlas's contacts
    x0, rest = x.copy(), np.linalg.norm(x[b] - x[a], axis=1)
    a0 = [area(x[idx[i]:idx[i + 1]]) for i in range(3)]
    out = []
    for s in profile:
        x = run(x, x0, rest, a0, s, STEPS)
        out.append(x.copy())
    return np.array(out), idx


def strain_profile(n, rng):
    t = np.arange(n) / max(n - 1, 1)
    t0, t1 = rng.uniform(0.05, 0.25), rng.uniform(0.25, 0.45)
    r = np.clip((t - t0) / t1, 0, 1)
    s = r * r * (3 - 2 * r)
    if rng.random() < 0.5:
        tr = rng.uniform(0.75, 0.9)
        q = np.clip((t - tr) / (1 - tr), 0, 1)
        s *= 1 - rng.uniform(0.2, 0.8) * q
    return np.clip(s + rng.normal(0, 0.02, n), 0, 1)


# ------------------------------------------------------------------ appearance
def intensities(rng):
    u = rng.uniform
    dark = bool(rng.random() < 0.35)
    return dark, {
        "air": u(0.0, 0.03), "fat": u(0.55, 1.0), "vfat": u(0.45, 0.95), "muscle": u(0.12, 0.4),
        "urine": u(0.02, 0.12) if dark else u(0.7, 1.1), "bwall": u(0.08, 0.35),
        "myo": u(0.3, 0.7), "endo": u(0.45, 1.0), "jz": u(0.08, 0.3), "cervix": u(0.08, 0.35),
        "vagina": u(0.2, 0.55), "vlumen": u(0.05, 0.9), "rwall": u(0.15, 0.45),
        "rcontent": u(0.02, 0.08) if rng.random() < 0.4 else u(0.15, 0.65),
        "marrow": u(0.35, 0.85), "cortex": u(0.02, 0.08), "bowel": u(0.25, 0.6),
        "bowelc": u(0.1, 0.9), "levator": u(0.1, 0.35),
    }


def shrink(poly, d):
    tang = np.roll(poly, -1, 0) - np.roll(poly, 1, 0)
    nrm = np.stack([-tang[:, 1], tang[:, 0]], 1) * np.sign(area(poly))
    return poly + nrm / (np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-9) * d


def generate(seed: int):
    """``(frames (T,H,W) float32, labels (T,H,W) uint8, spacing_mm, params)`` in
    read-back order: rows head→feet, columns anterior→posterior."""
    rng = np.random.default_rng([seed, 1010])
    u = rng.uniform
    H, W, T = int(rng.integers(224, 289)), int(rng.integers(224, 289)), int(rng.integers(12, 41))
    sr, sc = round(u(1.1, 1.5), 3), round(u(1.1, 1.5), 3)
    organs, bones, soft, inner, shape = build_atlas(rng)
    descent = rng.uniform(10, 40, 3)
    profile = strain_profile(T, rng)
    traj, idx = simulate(organs, list(bones.values()), profile, descent, rng)
    rest = traj[0]
    # pose: atlas mm → image pixel (col, row), with organs kept inside the FOV
    ang, scl = np.deg2rad(u(-12, 12)), u(0.88, 1.12)
    R = scl * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    R = R @ np.diag([u(0.95, 1.05), u(0.95, 1.05)])
    allpts = traj.reshape(-1, 2) @ R.T
    lo, hi = allpts.min(0) - 8, allpts.max(0) + 8
    fov = np.array([(W - 1) * sc, (H - 1) * sr])
    slack = np.maximum(fov - (hi - lo), 0)
    shift = -lo + slack * rng.uniform(0.3, 0.7, 2)

    def to_px(p):  # supersampled pixel coordinates
        q = (p @ R.T + shift) / (sc, sr)
        return [tuple(v) for v in (2 * q + 0.5)]

    dark, I = intensities(rng)
    tex = ndimage.gaussian_filter(rng.normal(size=(2 * H, 2 * W)), 4.0)
    tex = 1 + 0.1 * tex / (tex.std() + 1e-9)
    yy, xx = np.mgrid[0:H, 0:W] / np.array([H, W])[:, None, None]
    c = rng.normal(0, 0.25, 6)
    bias = np.exp(c[0] * xx + c[1] * yy + c[2] * xx * yy + c[3] * xx ** 2 + c[4] * yy ** 2)
    drift = 1 + rng.uniform(-0.12, 0.12) * np.linspace(0, 1, T) \
        + rng.uniform(-0.03, 0.03) * np.sin(np.linspace(0, rng.uniform(2, 8), T))
    ghost_p = rng.choice([0.0, 0.25, 0.5], p=[0.4, 0.35, 0.25])
    spike_p = 0.25 if rng.random() < 0.3 else 0.0
    phase_axis = int(rng.integers(0, 2))
    snr, rician = u(5, 40), bool(rng.random() < 0.5)
    blur = u(0.3, 1.0)
    gain, offset = u(200, 3000), u(0, 80)
    frames = np.zeros((T, H, W), np.float32)
    labels = np.zeros((T, H, W), np.uint8)
    ctrl0 = rest
    for t in range(T):
        now = traj[t]
        org = [now[idx[i]:idx[i + 1]] for i in range(3)]
        img = Image.new("F", (2 * W, 2 * H), I["air"])
        dr = ImageDraw.Draw(img)

        def paint(poly, val, dr=dr):
            dr.polygon(to_px(poly), fill=float(val))

        wsoft = {k: warp(v, ctrl0, now) for k, v in soft.items()}
        paint(wsoft["body"], I["fat"])
        paint(shrink(wsoft["body"], 14), I["vfat"])
        for k in ("rectus", "glut", "paraspinal", "levator"):
            paint(wsoft[k], I["muscle" if k != "levator" else "levator"])
        for k in wsoft:
            if k.startswith("bowel"):
                paint(wsoft[k], I["bowel"])
                paint(shrink(wsoft[k], 3), I["bowelc"])
        paint(bones["pubis"], I["cortex"])
        paint(shrink(bones["pubis"], 1.5), I["marrow"])
        paint(bones["sacrum"], I["cortex"])
        paint(shrink(bones["sacrum"], 2), I["marrow"])
        paint(warp(inner["sphincter"][1], ctrl0, now, 10, 0.2), I["muscle"])
        paint(org[2], I["rwall"])
        paint(shrink(org[2], rng.uniform(2.5, 4)), I["rcontent"])
        paint(org[1], I["myo"])
        for k, key in (("cervix", "cervix"), ("jz", "jz"), ("endometrium", "endo")):
            paint(warp(inner[k][1], rest[idx[1]:idx[2]], org[1], 10, 0.05), I[key])
        vag = warp(inner["vlumen"][1], rest[idx[1]:idx[2]], org[1], 10, 0.05)
        paint(org[0], I["bwall"])
        paint(shrink(org[0], rng.uniform(2.0, 3.5)), I["urine"])
        paint(vag, I["vlumen"])
        hi_img = np.asarray(img, np.float32) * tex
        img = hi_img.reshape(H, 2, W, 2).mean((1, 3))
        # labels: exclusive map at ×2 (bladder > rectum > uterus), majority per pixel
        lab = Image.new("L", (2 * W, 2 * H), 0)
        dl = ImageDraw.Draw(lab)
        for k in (2, 3, 1):
            dl.polygon(to_px(org[k - 1]), fill=k)
        sub = np.asarray(lab).reshape(H, 2, W, 2)
        counts = np.stack([(sub == k).sum((1, 3)) for k in range(4)]).astype(float)
        counts[0] -= 0.5
        lab = counts.argmax(0).astype(np.uint8)
        for k in (1, 2, 3):
            cc, n = ndimage.label(lab == k)
            if n == 0:
                raise RuntimeError(f"seed {seed}: organ {k} missing in frame {t}")
            if n > 1:
                big = np.argmax(np.bincount(cc.ravel())[1:]) + 1
                lab[(cc > 0) & (cc != big)] = 0
        labels[t] = lab
        # artefacts
        img = ndimage.gaussian_filter(img, blur) * bias * drift[t]
        if rng.random() < ghost_p:
            n_ph = img.shape[phase_axis]
            for div, amp in ((2, u(0.05, 0.2)), (int(rng.integers(3, 6)), u(0.0, 0.08))):
                img = img + amp * np.roll(img, n_ph // div, axis=phase_axis)
        if rng.random() < spike_p:
            F = np.fft.fft2(img)
            ky, kx = rng.integers(0, H), rng.integers(0, W)
            F[ky, kx] += u(0.02, 0.1) * np.abs(F[0, 0])
            img = np.real(np.fft.ifft2(F))
        sigma = float(np.mean(img[lab > 0])) / snr
        if rician:
            img = np.hypot(img + rng.normal(0, sigma, img.shape), rng.normal(0, sigma, img.shape))
        else:
            img = img + rng.normal(0, sigma, img.shape)
        frames[t] = (img * gain + offset).astype(np.float32)
    params = {"seed": seed, "shape": [T, H, W], "spacing_mm": [sr, sc], "dark_urine": dark,
              "snr": snr, "rician": rician, "ghost_prob": float(ghost_p),
              "spike_prob": spike_p, "phase_axis": phase_axis, "descent_mm": descent.tolist(),
              "strain_profile": profile.round(4).tolist(), "pose_deg": float(np.rad2deg(ang)),
              "pose_scale": scl, "intensities": I, **shape}
    return frames, labels, (sr, sc), params


# ------------------------------------------------------------------------- output
def write_case(seed: int, out: Path) -> float:
    import time

    from core.io import read_series

    t0 = time.time()
    frames, labels, (sr, sc), params = generate(seed)
    case = out / f"massspring_{seed:03d}"
    case.mkdir(parents=True, exist_ok=True)
    thk = 5.0
    aff = np.array([[0, 0, thk, 0], [-sc, 0, 0, 0], [0, -sr, 0, 0], [0, 0, 0, 1]], float)
    data = np.transpose(frames, (2, 1, 0))[:, :, None, :]  # (W, H, 1, T)
    img = nib.Nifti1Image(data, aff)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((sc, sr, thk, 0.5))
    img.set_sform(aff, code=1)
    img.set_qform(aff, code=1)
    nib.save(img, case / "series.nii")
    np.save(case / "truth.npy", labels)
    s = read_series(case / "series.nii")
    if s.frames.shape != labels.shape or s.meta.get("orientation_ops"):
        raise RuntimeError(f"seed {seed}: read back {s.frames.shape} "
                           f"{s.meta.get('orientation_ops')} vs {labels.shape}")
    if not np.allclose(s.spacing_mm, (sr, sc), atol=1e-6):
        raise RuntimeError(f"seed {seed}: spacing {s.spacing_mm} vs {(sr, sc)}")
    if not np.allclose(s.frames, frames, rtol=1e-5, atol=1e-3):
        raise RuntimeError(f"seed {seed}: frames differ after read-back")
    params["spacing_mm"] = [float(v) for v in s.spacing_mm]
    (case / "params.json").write_text(json.dumps(params, indent=1))
    return time.time() - t0


def _job(args):
    return args[0], write_case(args[0], Path(args[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-11")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    jobs = [(s, a.out) for s in parse_seeds(a.seeds)]
    for seed, dt in map_jobs(_job, jobs, a.workers):
        print(f"massspring_{seed:03d}: {dt:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
