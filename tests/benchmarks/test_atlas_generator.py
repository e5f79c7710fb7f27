"""Tests of benchmarks/atlas_generator.py (template pelves + B-spline + motion modes)."""

import copy
import json

import numpy as np
import pydicom
import pytest
from scipy import ndimage as ndi

DEV_SEEDS = range(40)


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("atlas_generator")


@pytest.fixture(scope="module")
def all_params(gen):
    return [gen.sample_params(s) for s in DEV_SEEDS]


@pytest.fixture(scope="module")
def small(gen, shrink):
    cache = {}

    def get(seed, rows=128, frames=8):
        key = (seed, rows, frames)
        if key not in cache:
            cache[key] = gen.render(shrink(gen.sample_params(seed), rows, frames))
        return cache[key]

    return get


def test_deterministic_per_seed(gen, shrink):
    assert gen.sample_params(7) == gen.sample_params(7)
    assert gen.sample_params(7) != gen.sample_params(8)
    p = shrink(gen.sample_params(7), 96, 4)
    s1, t1, _ = gen.render(p)
    s2, t2, _ = gen.render(copy.deepcopy(p))
    np.testing.assert_array_equal(s1.frames, s2.frames)
    np.testing.assert_array_equal(t1, t2)


def test_params_ranges(all_params):
    for p in all_params:
        h, w = p["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert all(1.1 <= s <= 1.5 for s in p["spacing_mm"])
        assert 15 <= p["n_frames"] <= 40
        assert 0.5 <= p["frame_interval_s"] <= 2.0
        assert 5 <= p["imaging"]["snr"] <= 40
        # field of view from the lumbar spine to below the perineum
        cy = p["fov_centre_mm"][1]
        assert cy - h * p["spacing_mm"][0] / 2 <= -200
        assert cy + h * p["spacing_mm"][0] / 2 >= 65
        json.dumps(p)


@pytest.mark.parametrize("seed", [0, 3, 11, 26])
def test_frames_and_labels(small, seed):
    series, truth, extras = small(seed)
    t_n, h, w = series.frames.shape
    assert truth.shape == (t_n, h, w) and truth.dtype == np.uint8
    assert series.frames.dtype == np.float32 and np.all(np.isfinite(series.frames))
    assert series.frames.min() >= 0 and series.frames.max() > 0
    assert set(np.unique(truth)) <= {0, 1, 2, 3}
    for t in range(t_n):
        for k in (1, 2, 3):
            m = truth[t] == k
            assert m.sum() > 10, (seed, t, k)
            assert ndi.label(m)[1] == 1, (seed, t, k)
    assert extras["min_jacobian_motion"] > 0


def test_full_size_case_labels(gen):
    p = gen.sample_params(12)
    series, truth, _ = gen.render(p)
    assert series.frames.shape == (p["n_frames"], *p["matrix"])
    assert series.spacing_mm == tuple(p["spacing_mm"])
    for t in (0, truth.shape[0] // 2, truth.shape[0] - 1):
        for k in (1, 2, 3):
            assert ndi.label(truth[t] == k)[1] == 1


def test_bspline_and_motion_invertible(gen):
    for seed in range(6):
        p = gen.sample_params(seed)
        p["anatomy"]["bspline_sigma_mm"] = 8.0  # the largest drawn
        v = gen.bspline_velocity(p, np.random.default_rng(seed))
        for d in (gen.exp_field(v), gen.exp_field(-v)):
            assert gen.jacobian_det(d).min() > 0
        # forward and backward maps are inverse of each other
        d_f, d_b = gen.exp_field(v), gen.exp_field(-v)
        gy, gx = np.meshgrid(gen.CY, gen.CX, indexing="ij")
        back = gen._sample(d_b, gx + d_f[0], gy + d_f[1])
        err = np.hypot(d_f[0] + back[0], d_f[1] + back[1])[10:-10, 10:-10]
        assert err.max() < 1.0


def test_strongest_motion_invertible(gen):
    p = gen.sample_params(2)
    rng = np.random.default_rng(0)
    tissue, label, marks = gen.build_anatomy(p, rng)
    modes = gen.motion_modes(p, tissue, marks)
    vel = sum(w * modes[k] for k, w in
              {"descent": 18, "anterior": 12, "posterior": 14, "abdominal": 12,
               "cystocele": 32, "rectocele": 26, "enterocele": 34, "prolapse": 35}.items())
    assert gen.jacobian_det(gen.exp_field(-vel)).min() > 0


def test_coverage_over_dev_seeds(gen, all_params):
    templates = {p["anatomy"]["template"] for p in all_params}
    assert templates == {t["name"] for t in gen.TEMPLATES}
    assert len(gen.TEMPLATES) >= 3
    paths = {x for p in all_params for x in p["pathologies"]}
    assert paths == set(gen.PATHOLOGIES)
    assert {p["imaging"]["sequence"] for p in all_params} == set(gen.SEQUENCES)
    assert {p["anatomy"]["rectal_content"] for p in all_params} == {"empty", "gas", "stool",
                                                                    "gel"}
    assert {p["motion"]["manoeuvre"] for p in all_params} == set(gen.MANOEUVRES)
    assert any(p["anatomy"]["hysterectomy"] for p in all_params)
    assert any(p["anatomy"]["uterus"]["fibroid"] for p in all_params)
    assert any(p["anatomy"]["uterus"]["version"] == "retroverted" for p in all_params)
    assert any(p["imaging"]["fat_suppressed"] for p in all_params)
    assert any(p["imaging"]["realtime_lowres"] for p in all_params)
    assert any(p["imaging"]["wrap"] for p in all_params)
    fills = [p["anatomy"]["bladder_fill"] for p in all_params]
    assert min(fills) < 0.6 and max(fills) > 1.3


def test_image_and_labels_move_together(gen, shrink):
    p = shrink(gen.sample_params(4), 160, 6)
    p["motion"]["modes"] = {"descent": 16.0, "posterior": 8.0}
    p["motion"]["breathing_mm"] = 0.0
    p["motion"]["manoeuvre"] = "defecation"
    im = p["imaging"]
    im.update(snr=1e6, realtime_lowres=False, ghost=0.0, wrap=False, bias=0.0,
              rotation_deg=0.0)
    series, truth, extras = gen.render(p)
    f0, f1 = series.frames[0], series.frames[-1]
    assert extras["time_course"][-1] > 0.9
    for k in (1, 3):
        c0 = np.array(ndi.center_of_mass(truth[0] == k))
        c1 = np.array(ndi.center_of_mass(truth[-1] == k))
        shift_mm = (c1 - c0) * np.array(series.spacing_mm)
        assert shift_mm[0] > (3.0 if k == 1 else 1.0), (k, shift_mm)  # towards the feet
        # the image moved by the same amount: best integer shift of the organ's window
        m = ndi.binary_dilation(truth[0] == k, iterations=4)
        best, err = None, np.inf
        for dy in range(-2, 16):
            for dx in range(-6, 8):
                e = np.abs(np.roll(f0, (dy, dx), axis=(0, 1)) - f1)[np.roll(m, (dy, dx),
                                                                           axis=(0, 1))]
                if e.mean() < err:
                    best, err = (dy, dx), e.mean()
        assert abs(best[0] - (c1 - c0)[0]) <= 2.5 and abs(best[1] - (c1 - c0)[1]) <= 2.5, (
            k, best, c1 - c0)
    # labels follow the image exactly: label boundaries sit on intensity edges
    for t in (0, -1):
        m = truth[t] == 1
        inside = series.frames[t][ndi.binary_erosion(m, iterations=2)].mean()
        ring = series.frames[t][ndi.binary_dilation(m, iterations=4) & ~ndi.binary_dilation(
            m, iterations=1)].mean()
        assert abs(inside - ring) > 0.05 * series.frames[t].max()


@pytest.mark.parametrize("seed", [1, 5, 9, 20, 33])
def test_anatomical_invariants(small, seed):
    series, truth, _ = small(seed)
    for t in (0, truth.shape[0] - 1):
        cb = np.array(ndi.center_of_mass(truth[t] == 1))
        cr = np.array(ndi.center_of_mass(truth[t] == 3))
        assert cb[1] < cr[1]  # bladder anterior to rectum
        rows = np.nonzero((truth[t] == 2).any(axis=1))[0]
        low = rows[rows >= rows.min() + 0.6 * (rows.max() - rows.min())]
        n_ok = n = 0
        for r in low:  # lower vagina: bladder/urethra region in front, rectum behind
            v = np.nonzero(truth[t, r] == 2)[0]
            rc = np.nonzero(truth[t, r] == 3)[0]
            bc = np.nonzero(truth[t, r] == 1)[0]
            if len(rc):
                n += 1
                n_ok += rc.mean() > v.mean()
            if len(bc):
                assert bc.mean() < v.mean()
        assert n == 0 or n_ok / n > 0.9
        # bladder above the introitus (lowest vagina row)
        assert cb[0] < rows.max()


def test_command_line_writes_case(gen, generate_one):
    case = generate_one(gen, "atlas", 5)
    p = json.loads((case / "params.json").read_text())
    for key in ("generator", "seed", "matrix", "spacing_mm", "n_frames", "frame_interval_s",
                "imaging"):
        assert key in p
    assert p["generator"] == "atlas" and p["seed"] == 5
    assert p["imaging"]["sequence"] in gen.SEQUENCES
    truth = np.load(case / "truth.npy")
    assert truth.shape == (p["n_frames"], *p["matrix"]) and truth.dtype == np.uint8
    files = sorted((case / "series").iterdir())
    assert len(files) == p["n_frames"]
    ds = pydicom.dcmread(files[0])
    assert (ds.Rows, ds.Columns) == tuple(p["matrix"])
    assert [float(x) for x in ds.PixelSpacing] == pytest.approx(p["spacing_mm"], rel=1e-6)
