"""Tests of benchmarks/texture_generator.py (small renders: 128 rows, 8 frames)."""

import json

import numpy as np
import pydicom
import pytest

SMALL = {"matrix": 128, "n_frames": 8}
_CACHE: dict = {}


@pytest.fixture(scope="module")
def tex(load_script):
    return load_script("texture_generator")


@pytest.fixture(scope="module")
def case(tex):
    """``case(seed)``: a cached small render (series, truth, params)."""

    def get(seed):
        if seed not in _CACHE:
            _CACHE[seed] = tex.generate(seed, **SMALL)
        return _CACHE[seed]

    return get


def test_deterministic_per_seed_and_seeds_differ(tex, case):
    s1, t1, p1 = case(3)
    s2, t2, p2 = tex.generate(3, **SMALL)
    assert np.array_equal(s1.frames, s2.frames)
    assert np.array_equal(t1, t2)
    assert json.dumps(p1, sort_keys=True) == json.dumps(p2, sort_keys=True)
    s3, t3, p3 = case(4)
    assert p3["seed"] == 4 and p1["seed"] == 3
    assert s1.frames.shape != s3.frames.shape or not np.allclose(s1.frames, s3.frames)
    assert not np.array_equal(t1, t3)


def test_shapes_types_ranges_and_fov_rule(tex, case):
    for seed in (3, 4):
        series, truth, params = case(seed)
        assert series.frames.dtype == np.float32 and truth.dtype == np.uint8
        assert series.frames.shape == (8, 128, 128) == truth.shape
        assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
        assert series.frames.max() > 0
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert series.times_s[0] == 0 and np.all(np.diff(series.times_s) > 0)
        assert 0.5 <= series.frame_interval_s <= 2.0
        # the small render keeps the default field of view in mm
        full = tex.draw_params(seed)
        assert 224 <= full["matrix"][0] <= 288 and 224 <= full["matrix"][1] <= 288
        assert all(1.1 <= s <= 1.5 for s in full["spacing_mm"])
        assert 20 <= full["n_frames"] <= 40
        fov = [full["matrix"][i] * full["spacing_mm"][i] for i in range(2)]
        assert 240 <= min(fov) and max(fov) <= 435
        got = [128 * series.spacing_mm[i] for i in range(2)]
        assert np.allclose(got, fov, rtol=1e-6)
        assert params["matrix"] == [128, 128] and params["n_frames"] == 8
        for key in ("generator", "seed", "spacing_mm", "imaging", "motion", "hysterectomy"):
            assert key in params
        assert params["generator"] == tex.GENERATOR == "texture"
        assert params["imaging"]["sequence"] in tex.SEQUENCES
        assert params["motion"]["maneuver"] in tex.MANEUVERS
        json.dumps(params)


def test_every_organ_present_and_one_piece(case, piece_sizes):
    for seed in (3, 4, 5):
        _, truth, _ = case(seed)
        for k in (1, 2, 3):
            assert len(piece_sizes(truth[0] == k)) == 1, (seed, k)
            for t in range(truth.shape[0]):
                sizes = piece_sizes(truth[t] == k)
                assert sizes.size >= 1, (seed, k, t)
                assert sizes.max() >= 0.99 * sizes.sum(), (seed, k, t)


def test_organs_move_and_image_moves_with_them(case):
    moved = 0
    for seed in (3, 4, 5):
        series, truth, params = case(seed)
        changed = np.array([(truth[t] != truth[0]).sum() for t in range(truth.shape[0])])
        k = int(np.argmax(changed))
        if changed[k] < 15:
            continue
        moved += 1
        diff = np.abs(series.frames[k] - series.frames[0])
        lab_change = truth[k] != truth[0]
        # reference: body pixels far from the organs, where only noise changes
        far = np.ones_like(lab_change)
        far[:, : truth.shape[2] * 3 // 4] = False
        far &= series.frames[0] > np.percentile(series.frames[0], 60)
        assert diff[lab_change].mean() > 1.3 * diff[far].mean(), seed
        assert params["motion"]["most_strained_frame"] in range(truth.shape[0])
    assert moved >= 2


def test_anatomical_order(case):
    for seed in (3, 4, 5, 6):
        _, truth, _ = case(seed)
        lab = truth[0]
        cols = np.arange(lab.shape[1])
        centre = {k: cols[np.nonzero(lab == k)[1]].mean() for k in (1, 2, 3)}
        assert centre[1] < centre[3], seed
        good = total = 0
        for r in range(lab.shape[0]):
            b, u, q = (np.nonzero(lab[r] == k)[0] for k in (1, 2, 3))
            if b.size and u.size:
                total += 1
                good += b.min() < u.min()
            if q.size and u.size:
                total += 1
                good += q.max() > u.max()
        assert total > 0 and good >= 0.9 * total, (seed, good, total)


def test_sequences_and_anatomy_vary(tex):
    ps = [tex.draw_params(seed) for seed in range(12)]
    assert len({p["imaging"]["sequence"] for p in ps}) >= 2
    assert {p["hysterectomy"] for p in ps} == {True, False}
    assert len({p["motion"]["maneuver"] for p in ps}) >= 2
    assert len({tuple(p["matrix"]) for p in ps}) >= 6
    fills = [p["anatomy"]["bladder_fill"] for p in ps]
    assert max(fills) - min(fills) > 0.4
    assert len({p["anatomy"]["rectal_content"] for p in ps}) >= 2


def test_command_line_writes_readable_case(tex, generate_one):
    case_dir = generate_one(tex, "texture", 7)
    files = sorted((case_dir / "series").iterdir())
    truth = np.load(case_dir / "truth.npy")
    params = json.loads((case_dir / "params.json").read_text())
    assert truth.dtype == np.uint8 and truth.shape[0] == len(files) == params["n_frames"]
    ds = [pydicom.dcmread(f) for f in files]
    assert all(d.Rows == truth.shape[1] and d.Columns == truth.shape[2] for d in ds)
    assert ds[0].pixel_array.shape == truth.shape[1:]
    assert params["generator"] == "texture" and params["seed"] == 7
    assert list(truth.shape[1:]) == params["matrix"]
    assert str(ds[0].PatientID) == "texture_007"
