"""Tests of benchmarks/medial_generator.py: medial-representation cine pelvic MRI phantom."""

import json

import numpy as np
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 5
KEYS = {"seed", "generator", "spacing_mm", "matrix", "n_frames", "frame_interval_s", "snr",
        "labels", "rest_frame", "peak_frame", "anatomy", "imaging", "motion"}


@pytest.fixture(scope="module")
def mod(load_script):
    return load_script("medial_generator")


@pytest.fixture(scope="module")
def case(mod):
    return mod.generate(SEED)


@pytest.fixture(scope="module")
def folder(mod, generate_one):
    return generate_one(mod, "medial", SEED)


def _small_params(mod, seed, n=8, size=144):
    """Parameters of a faster variant of a case: fewer frames over the same duration and a
    smaller matrix over the same field of view."""
    p = mod.draw_params(seed)
    total = p["n_frames"] * p["frame_interval_s"]
    h, w = p["matrix"]
    sr, sc = p["spacing_mm"]
    p["matrix"] = [size, size]
    p["spacing_mm"] = [sr * h / size, sc * w / size]
    p["n_frames"] = n
    p["frame_interval_s"] = total / n
    return p


def _small(mod, seed, n=8, size=144):
    return mod.render(_small_params(mod, seed, n, size))


def test_dicom_round_trip(mod, case, folder):
    frames, labels, spacing, params = case
    series = read_series(folder / "series")
    assert series.frames.shape == frames.shape
    tol = float(frames.max()) / 65000 * 1.01
    assert np.abs(series.frames - frames).max() <= tol
    assert np.allclose(series.spacing_mm, spacing, atol=1e-4)
    n, dt = frames.shape[0], params["frame_interval_s"]
    assert np.allclose(series.times_s, np.arange(n) * dt, atol=2e-3)
    assert np.array_equal(np.load(folder / "truth.npy"), labels)
    saved = json.loads((folder / "params.json").read_text())
    assert KEYS <= set(saved)
    assert saved["generator"] == "medial" == mod.PREFIX
    assert saved["labels"] == mod.LABELS == {"1": "bladder", "2": "uterus_vagina",
                                             "3": "rectum"}
    assert saved["seed"] == SEED
    assert {"state"} <= set(saved["anatomy"]["uterus"])
    for key in ("bladder_fill", "rectal_content", "pathology"):
        assert key in saved["anatomy"]
    for key in ("contrast", "field_strength_T", "slice_thickness_mm"):
        assert key in saved["imaging"]
    assert isinstance(saved["motion"], dict)
    assert saved["matrix"] == list(frames.shape[1:])


def test_deterministic(mod, case, folder):
    # the command line generated the same case again
    frames, labels, _, params = case
    assert np.array_equal(np.load(folder / "truth.npy"), labels)
    assert json.loads((folder / "params.json").read_text()) == json.loads(json.dumps(params))
    assert mod.draw_params(3) == mod.draw_params(3)
    a = _small(mod, 1, n=4, size=96)
    b = _small(mod, 1, n=4, size=96)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_params_in_range(mod):
    for seed in range(4):
        p = mod.draw_params(seed)
        json.dumps(p)
        h, w = p["matrix"]
        assert 160 <= h <= 320 and 160 <= w <= 320
        assert all(0.8 <= s <= 2.0 for s in p["spacing_mm"])
        assert 240 <= h * p["spacing_mm"][0] <= 400
        assert 12 <= p["n_frames"] <= 40
        assert 0.5 <= p["frame_interval_s"] <= 2.0
        assert 5 <= p["imaging"]["slice_thickness_mm"] <= 10
        assert p["imaging"]["field_strength_T"] in (0.55, 1.5, 3.0)
        assert 0 <= p["rest_frame"] < p["n_frames"] and 0 <= p["peak_frame"] < p["n_frames"]


def test_labels(case):
    frames, labels, spacing, params = case
    assert labels.dtype == np.uint8 and labels.shape == frames.shape
    assert set(np.unique(labels)) <= {0, 1, 2, 3}
    px = spacing[0] * spacing[1]
    n = labels.shape[0]
    for k, (lo, hi) in {1: (150, 15000), 2: (300, 15000), 3: (150, 8000)}.items():
        present = 0
        for i in range(n):
            m = labels[i] == k
            if not m.any():
                continue
            present += 1
            assert ndimage.label(m)[1] == 1, (k, i)
            assert lo <= m.sum() * px <= hi, (k, i, m.sum() * px)
        assert present >= 0.8 * n, k
    cols = np.arange(labels.shape[2])
    for i in range(n):
        c = {k: (cols * (labels[i] == k).sum(0)).sum() / max((labels[i] == k).sum(), 1)
             for k in (1, 2, 3)}
        assert c[1] < c[3]  # bladder anterior to rectum
        assert c[1] < c[2] < c[3]  # uterus and vagina between them


def test_hysterectomy_smaller(mod):
    _, with_uterus, _, p1 = _small(mod, 0, n=3)
    p = _small_params(mod, 0, n=3)
    p["anatomy"]["uterus"] = {"state": "absent"}
    _, without, _, p2 = mod.render(p)
    assert p1["anatomy"]["uterus"]["state"] != "absent"
    assert p2["anatomy"]["uterus_version_effective_deg"] is None
    a1, a2 = (with_uterus == 2).sum(), (without == 2).sum()
    assert 0 < a2 < 0.8 * a1
    for lab in without:
        assert ndimage.label(lab == 2)[1] == 1


def test_motion(case):
    frames, labels, spacing, params = case
    rest, peak = params["rest_frame"], params["peak_frame"]
    assert rest != peak
    assert (labels[rest] != labels[peak]).sum() > 50
    assert params["motion"]["manoeuvre"] in ("valsalva", "defecation", "squeeze_valsalva")

    def lowest(i):  # lowest row of the bladder, mm
        return np.nonzero((labels[i] == 1).any(1))[0].max() * spacing[0]

    assert lowest(peak) > lowest(rest) + 3  # bladder neck descends while straining


def test_defecation_empties_rectum(mod):
    n = 10
    p = _small_params(mod, 2, n=n)
    p["motion"]["manoeuvre"] = "defecation"
    p["motion"]["schedule"] = mod._schedule("defecation", n, p["frame_interval_s"],
                                            np.random.default_rng(0))
    p["anatomy"]["rectal_content"] = "gel"
    p["anatomy"]["rectal_ampulla_mm"] = 24.0
    frames, labels, spacing, params = mod.render(p)
    rest, peak = params["rest_frame"], params["peak_frame"]
    area = (labels == 3).sum((1, 2))
    assert area[-1] < 0.85 * area[rest]
    low = [np.nonzero((labels[i] == 3).any(1))[0].max() for i in range(n)]
    assert max(low[peak:]) > low[rest]  # the anorectal junction and canal descend


def test_image(case):
    frames, labels, _, params = case
    assert frames.dtype == np.float32 and np.isfinite(frames).all() and frames.min() >= 0
    assert frames.max() > 0
    i = params["rest_frame"]
    img = frames[i]
    air = min(img[:8, :8].mean(), img[:8, -8:].mean(), img[-8:, :8].mean(),
              img[-8:, -8:].mean())  # a corner outside the body: noise only
    for k in (1, 2, 3):
        m = labels[i] == k
        ring = ndimage.binary_dilation(m, iterations=5) & ~ndimage.binary_dilation(m, iterations=2)
        assert img[m].mean() > 2 * air
        assert abs(img[m].mean() - img[ring & (labels[i] == 0)].mean()) > 0.02 * img.max()
