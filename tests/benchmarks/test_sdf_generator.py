"""Tests of benchmarks/sdf_generator.py (signed-distance-function CSG phantom)."""

import json

import numpy as np
import pydicom
import pytest

SMALL = {"matrix": 128, "n_frames": 8}


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("sdf_generator")


@pytest.fixture(scope="module")
def cases(gen):
    return {seed: gen.generate(seed, **SMALL) for seed in (3, 11, 21, 32)}


def test_deterministic_per_seed_and_different_between_seeds(gen, cases):
    s1, t1, p1 = cases[3]
    s2, t2, p2 = gen.generate(3, **SMALL)
    assert np.array_equal(s1.frames, s2.frames)
    assert np.array_equal(t1, t2)
    assert p1 == p2
    s3, t3, _ = cases[11]
    assert s3.frames.shape != s1.frames.shape or not np.array_equal(s3.frames, s1.frames)
    assert not np.array_equal(t1, t3)


def test_shapes_dtypes_ranges_and_field_of_view(gen, cases):
    for seed, (series, truth, params) in cases.items():
        t_n = series.frames.shape[0]
        assert series.frames.dtype == np.float32 and truth.dtype == np.uint8
        assert series.frames.shape == truth.shape == (t_n, 128, 128)
        assert params["n_frames"] == t_n and 2 <= t_n <= 8
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
        assert series.frames.max() > 0
        assert np.all(np.diff(series.times_s) > 0) and series.times_s[0] == 0
        full = gen.sample_params(seed)
        h0, w0 = full["matrix"]
        assert 224 <= h0 <= 288 and 224 <= w0 <= 288
        sp0 = full["spacing_mm"]
        assert 1.1 <= sp0[0] <= 1.5 and sp0[0] == sp0[1]
        assert 20 <= full["n_frames"] <= 40 and 0.5 <= full["frame_interval_s"] <= 2.0
        # same field of view at the small matrix
        fov = (h0 * sp0[0], w0 * sp0[1])
        assert series.spacing_mm[0] * 128 == pytest.approx(fov[0], rel=1e-6)
        assert series.spacing_mm[1] * 128 == pytest.approx(fov[1], rel=1e-6)
        assert params["generator"] == "sdf" and params["seed"] == seed
        assert params["matrix"] == [128, 128]
        for key in ("imaging", "motion", "hysterectomy"):
            assert key in params
        json.dumps(params)


def test_every_organ_present_and_one_piece(cases, piece_sizes):
    for _seed, (_series, truth, _params) in cases.items():
        for frame in truth:
            for label in (1, 2, 3):
                sizes = piece_sizes(frame == label)
                assert sizes.size >= 1, f"organ {label} missing"
                assert sizes.max() >= 0.99 * sizes.sum()
        for label in (1, 2, 3):
            assert piece_sizes(truth[0] == label).size == 1


def test_organs_move_and_image_follows(cases):
    for _seed, (series, truth, params) in cases.items():
        push = np.abs(np.array(params["motion"]["push_curve"]))
        k = int(np.argmax(push))
        assert push[k] > 0.2
        changed = truth[k] != truth[0]
        assert changed.sum() > 20
        diff = np.abs(series.frames[k] - series.frames[0])
        noise = np.abs(series.frames[1] - series.frames[0])
        # the image differs more where the labels changed than on average
        assert diff[changed].mean() > 1.2 * diff.mean()
        assert diff[changed].mean() > 0.5 * noise.mean()


def test_anatomical_order(cases):
    for _seed, (_series, truth, _params) in cases.items():
        lab = truth[0]
        cols = np.arange(lab.shape[1])[None, :]
        centre = {k: cols.repeat(lab.shape[0], 0)[lab == k].mean() for k in (1, 2, 3)}
        assert centre[1] < centre[2] < centre[3]
        # bladder lies anterior to the vagina row by row where both exist
        rows = [r for r in range(lab.shape[0]) if (lab[r] == 1).any() and (lab[r] == 3).any()]
        for r in rows:
            assert np.nonzero(lab[r] == 1)[0].min() < np.nonzero(lab[r] == 3)[0].max()


def test_variety_across_seeds(gen):
    params = [gen.sample_params(s) for s in range(2000, 2012)]
    assert len({p["imaging"]["sequence"] for p in params}) >= 2
    assert {p["hysterectomy"] for p in params} == {True, False}
    assert len({p["motion"]["maneuver"] for p in params}) >= 3
    fills = [p["anatomy"]["bladder"]["fill"] for p in params]
    assert max(fills) - min(fills) > 0.5
    assert len({round(p["tilt_deg"], 2) for p in params}) == len(params)
    assert all(-15 <= p["tilt_deg"] <= 15 for p in params)


def test_command_line_writes_a_readable_case(gen, generate_one):
    case = generate_one(gen, "sdf", 7)
    files = sorted((case / "series").glob("*.dcm"))
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert len(files) == truth.shape[0] == params["n_frames"]
    ds = pydicom.dcmread(files[0])
    assert (ds.Rows, ds.Columns) == truth.shape[1:]
    assert params["matrix"] == [ds.Rows, ds.Columns]
    assert float(ds.PixelSpacing[0]) == pytest.approx(params["spacing_mm"][0], rel=1e-4)
    assert set(np.unique(truth)) == {0, 1, 2, 3}
