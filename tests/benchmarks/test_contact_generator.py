"""Tests of benchmarks/contact_generator.py (PBD soft-body contact simulation generator).

Small renders (matrix 128, 8 frames) are generated once per seed and shared; one test runs
the command line at the default size.
"""

import json

import numpy as np
import pydicom
import pytest

SMALL = {"matrix": 128, "n_frames": 8}
SEEDS = (2, 9, 13)  # two valsalva cases and a mixed manoeuvre after hysterectomy


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("contact_generator")


@pytest.fixture(scope="module")
def cases(gen):
    cache = {}

    def get(seed):
        if seed not in cache:
            cache[seed] = gen.generate(seed, **SMALL)
        return cache[seed]

    return get


def test_same_seed_is_bit_identical_and_seeds_differ(gen, cases):
    s1, t1, p1 = cases(2)
    s2, t2, p2 = gen.generate(2, **SMALL)
    assert np.array_equal(s1.frames, s2.frames)
    assert np.array_equal(t1, t2)
    assert np.array_equal(s1.times_s, s2.times_s)
    assert json.dumps(p1, sort_keys=True) == json.dumps(p2, sort_keys=True)
    s3, t3, p3 = cases(9)
    assert p3["seed"] == 9 and p1["seed"] == 2
    assert p3["imaging"] != p1["imaging"]
    assert not np.array_equal(t1, t3)
    assert s1.frames.shape != s3.frames.shape or not np.allclose(s1.frames, s3.frames)


def test_shapes_dtypes_ranges_and_field_of_view(gen, cases):
    for seed in SEEDS:
        series, truth, params = cases(seed)
        t, h, w = series.frames.shape
        assert (t, h, w) == (8, 128, 128) and truth.shape == (8, 128, 128)
        assert series.frames.dtype == np.float32 and truth.dtype == np.uint8
        assert np.isfinite(series.frames).all() and series.frames.min() >= 0
        assert series.frames.max() > 0
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert params["generator"] == "contact" and params["seed"] == seed
        assert params["matrix"] == [128, 128] and params["n_frames"] == 8
        assert "sequence" in params["imaging"] and "maneuver" in params["motion"]
        assert isinstance(params["hysterectomy"], bool)
        json.dumps(params)
        times = series.times_s
        assert times[0] == 0 and np.all(np.diff(times) > 0)
        # same field of view (mm) as the default render of this seed, spacing scaled
        default = gen.sample_params(seed)
        h0, w0 = default["matrix"]
        dr0, dc0 = default["spacing_mm"]
        assert 224 <= h0 <= 288 and 224 <= w0 <= 288
        assert 1.1 <= dr0 <= 1.5 and 1.1 <= dc0 <= 1.5
        assert 20 <= default["n_frames"] <= 40
        assert 0.5 <= default["motion"]["frame_interval_s"] <= 2.0
        dr, dc = series.spacing_mm
        assert dr * 128 == pytest.approx(h0 * dr0) and dc * 128 == pytest.approx(w0 * dc0)
        assert 240 <= h0 * dr0 <= 435 and 240 <= w0 * dc0 <= 435


def test_every_organ_present_and_one_piece_in_every_frame(cases, piece_sizes):
    for seed in SEEDS:
        _, truth, _ = cases(seed)
        for k in range(truth.shape[0]):
            for label in (1, 2, 3):
                mask = truth[k] == label
                assert mask.sum() >= 15, (seed, k, label)
                sizes = piece_sizes(mask)
                share = sizes.max() / mask.sum()
                assert share >= 0.99, (seed, k, label, share)
                if k == 0:
                    assert len(sizes) == 1


def test_organs_move_and_the_image_moves_with_them(cases):
    for seed in SEEDS:
        series, truth, _ = cases(seed)
        changed = [(truth[k] != truth[0]).sum() for k in range(1, truth.shape[0])]
        assert max(changed) >= 40, (seed, changed)
        k = 1 + int(np.argmax(changed))
        moved = truth[k] != truth[0]
        still = (truth[k] == 0) & (truth[0] == 0)
        f0, fk = series.frames[0], series.frames[k]
        scale = float(np.percentile(f0, 99))
        diff_moved = np.abs(fk - f0)[moved].mean() / scale
        # where an organ boundary moved the image changes more than noise does elsewhere
        assert diff_moved > 0.04, (seed, diff_moved)
        assert not np.allclose(f0[moved], fk[moved])
        assert still.any()


def test_anatomical_order_bladder_vagina_rectum(cases):
    for seed in SEEDS:
        _, truth, _ = cases(seed)
        for k in range(truth.shape[0]):
            cols = [np.nonzero(truth[k] == label)[1].mean() for label in (1, 2, 3)]
            assert cols[0] < cols[2] and cols[1] < cols[2], (seed, k, cols)
            for a, b in ((1, 2), (2, 3)):  # row by row: anterior organ first
                good = total = 0
                for r in range(truth.shape[1]):
                    ca = np.nonzero(truth[k, r] == a)[0]
                    cb = np.nonzero(truth[k, r] == b)[0]
                    if len(ca) and len(cb):
                        total += 1
                        good += ca.mean() < cb.mean()
                assert total == 0 or good / total >= 0.9, (seed, k, a, b, good, total)


def test_labels_and_tissues_come_from_the_same_geometry(gen):
    """One frame painted by the renderer: organ-only tissues carry their organ's label,
    labelled pixels hold organ tissue, and bones (painted last) carry no label."""
    for seed in (2, 5):  # with a uterus, after hysterectomy
        prm = gen.sample_params(seed)
        rng = np.random.default_rng(0)
        sc = gen._build(prm, rng)
        S, info = gen._make_system(sc, prm, rng)
        x = S.xfull
        fov = (140 * 2.6, 140 * 2.6)
        s, tilt, cq, off = gen._fit_view(prm, sc, S, info, x[None], fov, rng)
        t_mm = np.array([139 * 2.6 / 2, 139 * 2.6 / 2]) - cq + off
        cv = gen._Canvas((140, 140), (2.6, 2.6), s, tilt, (0.0, 0.0), t_mm)
        R = gen._Renderer(prm, sc, S, info, x, cv, rng)
        P = R.frame(x, 0.0, S.rigid_fit(x, x), S.rigid_fit(x, S.xfull))
        cls, lab = P.cls, P.lab
        assert (lab[cls == gen.URINE] == 1).all()
        uterine = np.isin(cls, [gen.MYO, gen.JZ, gen.ENDO, gen.CXSTROMA, gen.FIBROID,
                                gen.VAGWALL])
        assert uterine.any() and (lab[uterine] == 2).all()
        assert set(np.unique(cls[lab == 1])) <= {gen.URINE, gen.BLWALL}
        assert set(np.unique(cls[lab == 3])) <= {gen.RECTWALL, gen.GEL, gen.FECES, gen.GAS,
                                                 gen.MUCOSA}
        assert (lab[R.static_mask] == 0).all() and R.static_mask.sum() > 500
        for label in (1, 2, 3):
            assert (lab == label).sum() > 100
        assert prm["hysterectomy"] == (info["uterus"] is None)


def test_parameters_vary_across_seeds(gen):
    ps = [gen.sample_params(s) for s in range(12)]
    assert len({p["imaging"]["family"] for p in ps}) >= 2
    assert {p["hysterectomy"] for p in ps} == {True, False}
    assert len({p["motion"]["maneuver"] for p in ps}) >= 3
    assert len({round(p["anatomy"]["bladder_fill"], 3) for p in ps}) == 12
    assert len({tuple(p["matrix"]) for p in ps}) >= 6
    for p in ps:
        assert p["motion"]["events"], p["seed"]
        ev = p["motion"]["events"][0]
        assert ev["t0"] > 0 and ev["t0"] < p["motion"]["duration_s"]


def test_command_line_writes_a_readable_case(gen, generate_one):
    case = generate_one(gen, "contact", 11)
    files = sorted((case / "series").iterdir())
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert len(files) == truth.shape[0] == params["n_frames"]
    assert 20 <= truth.shape[0] <= 40
    ds = [pydicom.dcmread(f) for f in files]
    assert all(d.Rows == truth.shape[1] and d.Columns == truth.shape[2] for d in ds)
    assert 224 <= truth.shape[1] <= 288 and 224 <= truth.shape[2] <= 288
    assert [int(d.InstanceNumber) for d in ds] == list(range(1, len(ds) + 1))
    assert str(ds[0].PatientID) == "contact_011"
    assert float(ds[0].PixelSpacing[0]) == pytest.approx(params["spacing_mm"][0], rel=1e-6)
    img = ds[len(ds) // 2].pixel_array
    assert img.shape == truth.shape[1:] and img.max() > 0
    assert truth.dtype == np.uint8 and set(np.unique(truth)) == {0, 1, 2, 3}
    assert params["generator"] == "contact" and params["seed"] == 11
