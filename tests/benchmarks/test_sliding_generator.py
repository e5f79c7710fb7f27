"""Tests of benchmarks/sliding_generator.py (small renders; one command-line case)."""

import json

import numpy as np
import pydicom
import pytest

SMALL = dict(matrix=128, n_frames=8)


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("sliding_generator")


@pytest.fixture(scope="module")
def cases(gen):
    return {seed: gen.generate(seed, **SMALL) for seed in (3, 5, 8)}


def test_deterministic_and_seed_dependent(gen, cases):
    s1, t1, p1 = cases[3]
    s2, t2, p2 = gen.generate(3, **SMALL)
    assert np.array_equal(s1.frames, s2.frames)
    assert np.array_equal(t1, t2)
    assert p1 == p2
    s3, t3, _ = cases[5]
    assert not np.array_equal(t1, t3)
    assert not np.allclose(s1.frames, s3.frames)


def test_shapes_types_and_field_of_view(gen, cases):
    for seed, (series, truth, params) in cases.items():
        assert series.frames.shape == (8, 128, 128) and series.frames.dtype == np.float32
        assert truth.shape == (8, 128, 128) and truth.dtype == np.uint8
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
        assert series.frames.max() > 0
        assert series.times_s[0] == 0 and np.all(np.diff(series.times_s) > 0)
        default = gen.draw_params(seed)
        h, w = default["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert 1.1 <= default["spacing_mm"][0] <= 1.5
        assert 20 <= default["n_frames"] <= 40 and 0.5 <= default["frame_interval_s"] <= 2.0
        fov = np.array([h * default["spacing_mm"][0], w * default["spacing_mm"][1]])
        assert np.all((fov >= 240) & (fov <= 435))
        got = np.array(series.spacing_mm) * np.array(series.shape)
        assert np.allclose(got, fov)
        assert params["matrix"] == [128, 128] and params["n_frames"] == 8
        for key in ("generator", "seed", "spacing_mm", "imaging", "motion", "hysterectomy"):
            assert key in params
        json.dumps(params)


def test_organs_present_and_one_piece(cases, piece_sizes):
    for _, truth, _ in cases.values():
        for k in range(truth.shape[0]):
            for lab in (1, 2, 3):
                sizes = piece_sizes(truth[k] == lab)
                assert sizes.size >= 1, (k, lab)
                assert sizes.max() >= 0.99 * sizes.sum(), (k, lab, sizes)
        for lab in (1, 2, 3):
            assert len(piece_sizes(truth[0] == lab)) == 1


def test_organs_one_piece_more_seeds_and_uterine_body(gen, piece_sizes):
    """Every organ in one piece in every frame over more seeds; a uterus that is still
    there (no hysterectomy) has a body, so its label is clearly larger than a vagina alone."""
    uv = {True: [], False: []}
    for seed in range(2000, 2008):
        _, truth, params = gen.generate(seed, matrix=128, n_frames=4)
        for k in range(truth.shape[0]):
            for lab in (1, 2, 3):
                sizes = piece_sizes(truth[k] == lab)
                assert sizes.size >= 1, (seed, k, lab)
                assert sizes.max() >= 0.99 * sizes.sum(), (seed, k, lab, sizes)
        area = float((truth[0] == 2).sum()) * np.prod(params["spacing_mm"])
        uv[params["hysterectomy"]].append(area)
    assert uv[True] and uv[False]
    assert min(uv[False]) > 1.3 * max(uv[True]), uv


def test_bladder_filling_broad(gen):
    fills = np.array([gen.draw_params(s)["anatomy"]["bladder_fill"] for s in range(400)])
    assert 0.04 <= np.mean(fills < 0.2) <= 0.2
    assert np.mean(fills > 0.6) > 0.35


def test_organs_move_and_image_follows(gen):
    for seed in (3, 8):
        series, truth, params = gen.generate(seed, clean=True, **SMALL)
        k = int(np.argmax([np.sum(truth[i] != truth[0]) for i in range(len(truth))]))
        changed = truth[k] != truth[0]
        assert changed.sum() >= 30
        diff = np.abs(series.frames[k] - series.frames[0])
        far = (truth[0] == 0) & (truth[k] == 0)
        assert diff[changed].mean() > diff[far].mean()
        assert diff[changed].mean() > 0.02 * series.frames[0].max()


def test_anatomical_order(cases):
    for _, truth, _ in cases.values():
        cols = np.arange(truth.shape[2])
        c = [(cols * (truth[0] == lab).sum(axis=0)).sum() / (truth[0] == lab).sum()
             for lab in (1, 2, 3)]
        assert c[0] < c[1] < c[2], c


def test_parameters_vary(gen):
    ps = [gen.draw_params(s) for s in range(2000, 2012)]
    assert len({p["imaging"]["sequence"] for p in ps}) >= 2
    assert {p["hysterectomy"] for p in ps} == {True, False}
    assert len({p["motion"]["maneuver"] for p in ps}) >= 3
    assert len({p["matrix"][0] for p in ps}) >= 4
    fills = [p["anatomy"]["bladder_fill"] for p in ps]
    assert max(fills) - min(fills) > 0.4


def test_command_line_writes_readable_case(gen, generate_one):
    case = generate_one(gen, "sliding", 5)
    files = sorted((case / "series").iterdir())
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert truth.shape[0] == len(files) == params["n_frames"]
    ds = pydicom.dcmread(files[0])
    assert (ds.Rows, ds.Columns) == truth.shape[1:] == tuple(params["matrix"])
    assert ds.PatientID == "sliding_005"
    assert params["generator"] == "sliding" and params["seed"] == 5
