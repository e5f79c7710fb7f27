"""Tests of benchmarks/voronoi_generator.py (power-diagram pelvis phantom)."""

import json

import numpy as np
import pytest

SMALL = {"matrix": 128, "n_frames": 8}


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("voronoi_generator")


@pytest.fixture(scope="module")
def cases(gen):
    """Small renders of a few seeds, generated once."""
    return {seed: gen.generate(seed, **SMALL) for seed in (3, 5, 6, 7)}


def test_deterministic_per_seed_and_seeds_differ(gen, cases):
    series, truth, params = cases[3]
    again_series, again_truth, again_params = gen.generate(3, **SMALL)
    assert np.array_equal(series.frames, again_series.frames)
    assert np.array_equal(truth, again_truth)
    assert params == again_params
    other_series, other_truth, _ = cases[5]
    assert other_series.frames.shape != series.frames.shape or not np.array_equal(
        other_series.frames, series.frames)
    assert not np.array_equal(other_truth, truth)


def test_shapes_dtypes_ranges_and_field_of_view(gen, cases):
    for seed, (series, truth, params) in cases.items():
        assert series.frames.dtype == np.float32
        assert truth.dtype == np.uint8
        assert series.frames.shape == truth.shape == (8, 128, 128)
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
        assert series.frames.max() > 0
        assert np.all(np.diff(series.times_s) > 0) and series.times_s[0] == 0
        assert 0.5 <= series.frame_interval_s <= 2.0
        assert params["generator"] == "voronoi" and params["seed"] == seed
        assert params["matrix"] == [128, 128] and params["n_frames"] == 8
        json.dumps(params)
        for key in ("imaging", "motion", "hysterectomy", "spacing_mm"):
            assert key in params
        assert "sequence" in params["imaging"] and "maneuver" in params["motion"]
        # the field of view of the default-size case is kept
        full = gen.case_params(seed)
        h, w = full["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert 1.1 <= full["spacing_mm"][0] <= 1.5 and 1.1 <= full["spacing_mm"][1] <= 1.5
        assert 20 <= full["n_frames"] <= 40
        fov = (h * full["spacing_mm"][0], w * full["spacing_mm"][1])
        small = (128 * series.spacing_mm[0], 128 * series.spacing_mm[1])
        assert np.allclose(fov, small, rtol=1e-6)
        assert 240 <= fov[0] <= 440 and 240 <= fov[1] <= 440


def test_every_organ_present_as_one_piece_in_every_frame(cases, piece_sizes):
    for seed, (_, truth, _) in cases.items():
        for t in range(truth.shape[0]):
            for label in (1, 2, 3):
                sizes = piece_sizes(truth[t] == label)
                assert sizes.size >= 1, (seed, t, label)
                assert sizes.max() >= 0.99 * sizes.sum(), (seed, t, label, sizes)
                assert sizes.sum() >= 20, (seed, t, label)


def test_organs_move_and_the_image_moves_with_them(cases):
    for seed, (series, truth, _) in cases.items():
        changed = [(truth[t] != truth[0]).sum() for t in range(truth.shape[0])]
        k = int(np.argmax(changed))
        assert changed[k] >= 15, (seed, changed)
        moved = truth[k] != truth[0]
        still = (truth[k] == 0) & (truth[0] == 0)
        diff = np.abs(series.frames[k] - series.frames[0])
        # where the organs moved, the image changed more than in untouched background
        assert diff[moved].mean() > 1.2 * np.median(diff[still]), seed
        # the organ centroids shift between rest and the most moved frame
        shift = 0.0
        for label in (1, 2, 3):
            r0 = np.argwhere(truth[0] == label).mean(0)
            rk = np.argwhere(truth[k] == label).mean(0)
            shift = max(shift, float(np.hypot(*(rk - r0))))
        assert shift >= 0.5, seed


def _row_order(t0, front, back):
    """Fraction of the rows holding both labels where ``front`` lies anterior to ``back``."""
    rows = [r for r in range(t0.shape[0]) if (t0[r] == front).any() and (t0[r] == back).any()]
    if not rows:
        return None
    ok = [np.nonzero(t0[r] == front)[0].mean() < np.nonzero(t0[r] == back)[0].mean()
          for r in rows]
    return float(np.mean(ok))


def test_anatomical_order_over_seeds(gen, cases):
    extra = {seed: gen.generate(seed, matrix=96, n_frames=2) for seed in (0, 1, 4)}
    for seed, (_, truth, _) in {**cases, **extra}.items():
        t0 = truth[0]
        cols = {lab: np.argwhere(t0 == lab)[:, 1].mean() for lab in (1, 2, 3)}
        rows = {lab: np.argwhere(t0 == lab)[:, 0] for lab in (1, 2, 3)}
        # bladder anterior to the uterus/vagina, rectum posterior to it (row by row)
        bladder_first = _row_order(t0, 1, 2)
        assert bladder_first is None or bladder_first >= 0.8, (seed, bladder_first)
        assert _row_order(t0, 2, 3) >= 0.8, seed
        assert cols[1] < cols[3], (seed, cols)
        # vagina and anal canal reach below the bladder neck
        assert rows[2].max() > rows[1].max() and rows[3].max() > rows[1].max(), seed


def test_sequences_and_anatomy_vary_across_seeds(gen):
    params = [gen.case_params(seed) for seed in range(2000, 2016)]
    assert len({p["imaging"]["sequence"] for p in params}) >= 2
    assert {p["hysterectomy"] for p in params} == {True, False}
    assert len({p["motion"]["maneuver"] for p in params}) >= 3
    assert len({p["anatomy"]["version"] for p in params}) >= 2
    fills = [p["anatomy"]["bladder_fill"] for p in params]
    assert max(fills) - min(fills) > 0.4
    assert len({tuple(p["matrix"]) for p in params}) > 8
    cells = [p["imaging"]["cell_mm"] for p in params]
    assert min(cells) >= 2 and max(cells) <= 8 and max(cells) - min(cells) > 2


def test_hysterectomy_case_has_vagina_only(gen):
    seed = next(s for s in range(100) if gen.case_params(s)["hysterectomy"])
    _, truth, params = gen.generate(seed, matrix=96, n_frames=2)
    assert params["hysterectomy"] is True
    uv = np.argwhere(truth[0] == 2)
    bl = np.argwhere(truth[0] == 1)
    # the vaginal cuff stays low: no uterine body above the bladder dome
    assert uv[:, 0].min() > bl[:, 0].min()


def test_command_line_writes_a_readable_case(gen, generate_one):
    pydicom = pytest.importorskip("pydicom")
    case = generate_one(gen, "voronoi", 55)  # a small default-size case (240x243x21)
    files = sorted((case / "series").iterdir())
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert truth.dtype == np.uint8 and truth.shape[0] == len(files) == params["n_frames"]
    ds = pydicom.dcmread(files[0])
    assert (ds.Rows, ds.Columns) == truth.shape[1:] == tuple(params["matrix"])
    assert ds.PatientID == "voronoi_055"
    assert float(ds.PixelSpacing[0]) == pytest.approx(params["spacing_mm"][0], rel=1e-4)
    pixels = ds.pixel_array
    assert pixels.shape == truth.shape[1:] and pixels.max() > 0
    assert params["generator"] == "voronoi" and params["seed"] == 55
