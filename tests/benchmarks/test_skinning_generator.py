"""Tests of benchmarks/skinning_generator.py (handle-skinning pelvic MRI phantom)."""

import json

import numpy as np
import pydicom
import pytest
from scipy import ndimage

SEEDS = (11, 12, 13, 14)
SMALL = 128
FRAMES = 8


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("skinning_generator")


@pytest.fixture(scope="module")
def cases(gen):
    """Small renders (same field of view) of a few seeds, computed once."""
    return {s: gen.generate(s, matrix=SMALL, n_frames=FRAMES) for s in SEEDS}


def test_deterministic_per_seed_and_seeds_differ(gen, cases):
    series, truth, params = cases[SEEDS[0]]
    again, truth2, params2 = gen.generate(SEEDS[0], matrix=SMALL, n_frames=FRAMES)
    assert np.array_equal(series.frames, again.frames)
    assert np.array_equal(truth, truth2)
    assert json.dumps(params, sort_keys=True) == json.dumps(params2, sort_keys=True)
    other, truth3, params3 = cases[SEEDS[1]]
    assert params3["seed"] != params["seed"]
    assert not np.array_equal(truth, truth3)
    assert other.frames.shape != series.frames.shape or not np.allclose(
        other.frames, series.frames)


def test_shapes_dtypes_ranges_and_field_of_view(gen, cases):
    for seed, (series, truth, params) in cases.items():
        assert series.frames.dtype == np.float32
        assert truth.dtype == np.uint8
        assert series.frames.shape == truth.shape == (FRAMES, SMALL, SMALL)
        assert np.all(np.isfinite(series.frames)) and series.frames.max() > 0
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert np.all(np.diff(series.times_s) > 0) and series.times_s[0] == 0
        assert params["generator"] == "skinning" and params["seed"] == seed
        assert params["matrix"] == [SMALL, SMALL] and params["n_frames"] == FRAMES
        assert "sequence" in params["imaging"] and "maneuver" in params["motion"]
        assert isinstance(params["hysterectomy"], bool)
        # same field of view as the default render
        full = gen.draw_params(seed)
        fov_small = np.array(params["spacing_mm"]) * np.array(params["matrix"])
        fov_full = np.array(full["spacing_mm"]) * np.array(full["matrix"])
        assert np.allclose(fov_small, fov_full)
        assert np.allclose(series.spacing_mm, params["spacing_mm"])
        h, w = full["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert all(1.1 - 1e-9 <= s <= 1.5 + 1e-9 for s in full["spacing_mm"])
        assert 250 <= fov_full.min() and fov_full.max() <= 432
        assert 20 <= full["n_frames"] <= 40
        assert 0.5 <= full["frame_interval_s"] <= 2.0
        json.dumps(params)


def test_every_organ_present_and_one_piece(cases, piece_sizes):
    for _series, truth, _ in cases.values():
        for t in range(truth.shape[0]):
            for lab in (1, 2, 3):
                sizes = piece_sizes(truth[t] == lab)
                assert sizes.size >= 1, f"label {lab} missing in frame {t}"
                assert sizes.max() >= 0.99 * sizes.sum()
        # rest frame: exactly one piece per organ
        for lab in (1, 2, 3):
            assert piece_sizes(truth[0] == lab).size == 1


def test_organs_move_and_image_follows(cases):
    for series, truth, params in cases.values():
        pk = int(np.argmax(np.abs(params["motion"]["curve_strain"])))
        changed = truth[pk] != truth[0]
        assert changed.sum() >= 10, params["motion"]["maneuver"]
        # the image changes where the labels change, more than where nothing moves
        f = series.frames
        diff = np.abs(f[pk] - f[0])
        organs = (truth[0] > 0) | (truth[pk] > 0)
        calm = ~ndimage.binary_dilation(organs, iterations=6)
        assert diff[changed].mean() > 1.1 * diff[calm].mean()


def test_anatomical_order(cases):
    for _, truth, params in cases.values():
        for t in range(truth.shape[0]):
            cols = np.arange(truth.shape[2])
            votes_bv, votes_vr = [], []
            for row in truth[t]:
                b, u, r = row == 1, row == 2, row == 3
                if b.any() and u.any():
                    votes_bv.append(cols[b].mean() < cols[u].mean())
                if u.any() and r.any():
                    votes_vr.append(cols[u].mean() < cols[r].mean())
            assert votes_bv and np.mean(votes_bv) >= 0.8, params["seed"]
            assert votes_vr and np.mean(votes_vr) >= 0.8, params["seed"]


def test_bones_never_labelled_and_labels_match_tissue(gen):
    p = gen.draw_params(SEEDS[2], matrix=SMALL, n_frames=FRAMES)
    scene = gen.build_scene(p, np.random.default_rng([SEEDS[2], 0xB0D7]))
    assert not np.any(scene["label"][scene["bones"]])
    tissue = scene["tissue"]
    urine = tissue == gen.TI["urine"]
    assert urine.any() and np.all(scene["label"][urine] == 1)
    for name in ("cortex", "marrow", "fat", "muscle", "sphincter"):
        assert np.all(scene["label"][tissue == gen.TI[name]] == 0), name


def test_parameters_vary_across_seeds(gen):
    ps = [gen.draw_params(s) for s in range(12)]
    assert len({p["imaging"]["sequence"] for p in ps}) >= 2
    assert {p["hysterectomy"] for p in ps} == {True, False}
    assert len({p["motion"]["maneuver"] for p in ps}) >= 2
    assert len({tuple(p["matrix"]) for p in ps}) >= 6
    fills = [p["anatomy"]["bladder_fill"] for p in ps]
    assert max(fills) - min(fills) > 0.4
    tilts = [p["placement"]["tilt_deg"] for p in ps]
    assert max(tilts) - min(tilts) > 10


def test_command_line_writes_readable_case(gen, generate_one):
    case = generate_one(gen, "skinning", 7)
    files = sorted((case / "series").iterdir())
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert truth.dtype == np.uint8 and truth.shape[0] == len(files) == params["n_frames"]
    ds = [pydicom.dcmread(f) for f in files]
    assert all((d.Rows, d.Columns) == truth.shape[1:] for d in ds)
    assert list(truth.shape[1:]) == params["matrix"]
    img = ds[0].pixel_array
    assert img.shape == truth.shape[1:] and img.max() > 0
    assert params["generator"] == "skinning" and params["seed"] == 7
