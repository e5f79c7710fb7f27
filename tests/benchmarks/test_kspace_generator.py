"""Tests of benchmarks/kspace_generator.py (analytic k-space synthetic cine MRI)."""

import json

import numpy as np
import pytest
from scipy import ndimage

SMALL = {"matrix": 128, "n_frames": 8}
SEEDS = (3, 8, 10)


@pytest.fixture(scope="module")
def mod(load_script):
    return load_script("kspace_generator")


@pytest.fixture(scope="module")
def cases(mod):
    return {s: mod.generate(s, **SMALL) for s in SEEDS}


def test_deterministic_and_seeds_differ(mod, cases):
    s1, t1, p1 = cases[SEEDS[0]]
    s2, t2, p2 = mod.generate(SEEDS[0], **SMALL)
    assert np.array_equal(s1.frames, s2.frames)
    assert np.array_equal(t1, t2)
    assert p1 == p2
    s3, t3, _ = cases[SEEDS[1]]
    assert not np.array_equal(t1, t3)
    assert float(np.mean(np.abs(s1.frames - s3.frames))) > 0


def test_shapes_dtypes_ranges_and_fov(mod, cases):
    for seed, (series, truth, params) in cases.items():
        assert series.frames.dtype == np.float32 and truth.dtype == np.uint8
        assert series.frames.shape == (8, 128, 128) == truth.shape
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
        assert series.frames.max() > 0
        times = series.times_s
        assert times[0] == 0 and np.all(np.diff(times) > 0)
        assert 0.5 <= params["frame_interval_s"] <= 2.0
        # same field of view as the default case, spacing scaled to the small matrix
        full = mod.case_params(seed)
        h0, w0 = full["matrix"]
        assert 224 <= h0 <= 288 and 224 <= w0 <= 288
        assert 1.1 <= full["spacing_mm"][0] <= 1.5
        fov = (128 * series.spacing_mm[0], 128 * series.spacing_mm[1])
        assert fov == pytest.approx((h0 * full["spacing_mm"][0], w0 * full["spacing_mm"][1]))
        assert 240 <= fov[0] <= 440 and 240 <= fov[1] <= 440
        for key in ("generator", "seed", "matrix", "spacing_mm", "n_frames", "imaging",
                    "motion", "hysterectomy"):
            assert key in params
        assert params["generator"] == "kspace" and params["matrix"] == [128, 128]
        assert "sequence" in params["imaging"] and "maneuver" in params["motion"]
        json.dumps(params)


def test_organs_present_and_one_piece(cases, piece_sizes):
    for _, truth, _ in cases.values():
        for lab in (1, 2, 3):
            for t in range(truth.shape[0]):
                sizes = piece_sizes(truth[t] == lab)
                assert sizes.size >= 1, (lab, t)
                assert sizes.max() >= 0.99 * sizes.sum(), (lab, t)
            assert piece_sizes(truth[0] == lab).size == 1


def test_organs_move_and_image_follows(cases):
    for series, truth, params in cases.values():
        strain = np.abs(np.array(params["motion"]["strain_curve"]))
        k = int(np.argmax(strain))
        assert strain[k] > 0.1
        changed = np.mean(truth[k] != truth[0])
        assert changed > 0.001
        # the image changes where the labels changed more than elsewhere in the body
        diff = np.abs(series.frames[k] - series.frames[0])
        moved = (truth[k] != truth[0])
        ring = ndimage.binary_dilation(moved, iterations=1)
        still = ndimage.binary_dilation(truth[0] > 0, iterations=12) & ~ndimage.binary_dilation(
            moved, iterations=6)
        assert diff[ring].mean() > diff[still].mean()


def test_anatomical_order(cases):
    for _, truth, _ in cases.values():
        for t in range(truth.shape[0]):
            cols = {lab: np.nonzero(truth[t] == lab)[1].mean() for lab in (1, 2, 3)}
            assert cols[1] < cols[3]
            assert cols[2] < cols[3]
            # the bladder base lies anterior to the vagina at the same rows
            rows_b = np.nonzero((truth[t] == 1).any(1))[0]
            rows_v = np.nonzero((truth[t] == 2).any(1))[0]
            common = np.intersect1d(rows_b, rows_v)
            if common.size:
                r = common[-1]
                assert np.nonzero(truth[t, r] == 1)[0].mean() < np.nonzero(
                    truth[t, r] == 2)[0].mean()


def test_parameters_vary_across_seeds(mod):
    ps = [mod.case_params(s) for s in range(12)]
    assert len({p["imaging"]["sequence"] for p in ps}) >= 2
    assert {p["hysterectomy"] for p in ps} == {True, False}
    assert len({p["motion"]["maneuver"] for p in ps}) >= 3
    assert len({round(p["anatomy"]["bladder_fill"], 3) for p in ps}) == 12
    assert mod.case_params(5) == mod.case_params(5)


def test_hysterectomy_case_has_only_vagina(mod, cases):
    hyst = [s for s in SEEDS if cases[s][2]["hysterectomy"]]
    intact = [s for s in SEEDS if not cases[s][2]["hysterectomy"]]
    assert hyst and intact
    area = {s: (cases[s][1][0] == 2).sum() for s in SEEDS}
    assert max(area[s] for s in hyst) < max(area[s] for s in intact)


def test_command_line_writes_readable_case(mod, generate_one):
    pydicom = pytest.importorskip("pydicom")
    case = generate_one(mod, "kspace", 38)
    files = sorted((case / "series").iterdir())
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert truth.shape[0] == len(files) == params["n_frames"]
    ds = pydicom.dcmread(files[0])
    assert (ds.Rows, ds.Columns) == truth.shape[1:] == tuple(params["matrix"])
    assert ds.PatientID == "kspace_038"
    assert ds.pixel_array.max() > 0
    assert set(np.unique(truth)) == {0, 1, 2, 3}
