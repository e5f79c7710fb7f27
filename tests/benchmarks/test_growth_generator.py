"""Tests of benchmarks/growth_generator.py: small renders (matrix 128, 8 frames, same field of
view) and one default-size case through the command line."""

import json

import numpy as np
import pydicom
import pytest
from scipy import ndimage

SMALL = {"matrix": 128, "n_frames": 8}


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("growth_generator")


@pytest.fixture(scope="module")
def case(gen):
    cache = {}

    def get(seed):
        if seed not in cache:
            cache[seed] = gen.generate(seed, **SMALL)
        return cache[seed]

    return get


def test_deterministic_per_seed_and_different_between_seeds(gen, case):
    s1, t1, p1 = case(5)
    s2, t2, p2 = gen.generate(5, **SMALL)
    assert np.array_equal(s1.frames, s2.frames)
    assert np.array_equal(t1, t2)
    assert json.dumps(p1, sort_keys=True) == json.dumps(p2, sort_keys=True)
    s3, t3, p3 = case(6)
    assert not np.array_equal(t1, t3)
    assert np.mean(np.abs(s1.frames - s3.frames)) > 0
    assert p1["anatomy"] != p3["anatomy"]


def test_shapes_types_ranges_and_field_of_view(gen, case):
    series, truth, params = case(5)
    assert series.frames.dtype == np.float32 and series.frames.shape == (8, 128, 128)
    assert truth.dtype == np.uint8 and truth.shape == series.frames.shape
    assert set(np.unique(truth).tolist()) == {0, 1, 2, 3}
    assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
    assert series.frames.max() > 0
    assert series.times_s[0] == 0 and np.all(np.diff(series.times_s) > 0)
    for key in ("generator", "seed", "matrix", "spacing_mm", "n_frames", "imaging", "motion",
                "hysterectomy"):
        assert key in params
    assert params["generator"] == gen.GENERATOR == "growth"
    assert "sequence" in params["imaging"] and "maneuver" in params["motion"]
    json.dumps(params)
    # same field of view in mm as the default-size case, spacing scaled
    default = gen.sample_params(5)
    (h, w), (dr, dc) = default["matrix"], default["spacing_mm"]
    assert 224 <= h <= 288 and 224 <= w <= 288
    assert 1.1 <= dr <= 1.5 and 1.1 <= dc <= 1.5
    assert 20 <= default["n_frames"] <= 40 and 0.5 <= default["frame_interval_s"] <= 2.0
    assert np.allclose(np.array(series.spacing_mm) * 128, [h * dr, w * dc])
    assert np.isclose(series.times_s[-1], (default["n_frames"] - 1) * default["frame_interval_s"])


@pytest.mark.parametrize("seed", [5, 7])
def test_every_organ_present_and_in_one_piece(case, seed, piece_sizes):
    _series, truth, _params = case(seed)
    for t, frame in enumerate(truth):
        for organ in (1, 2, 3):
            sizes = piece_sizes(frame == organ)
            assert sizes.sum() > 20, (t, organ)
            assert sizes.max() >= 0.99 * sizes.sum(), (t, organ, sizes)
            if t == 0:
                assert len(sizes) == 1, (organ, sizes)


def test_organs_move_and_the_image_moves_with_them(gen, case):
    series, truth, params = case(7)
    m = gen._curves(params["motion"], series.times_s)[0]
    f = int(np.argmax(np.abs(m)))
    assert abs(m[f]) > 0.3
    changed = truth[f] != truth[0]
    assert changed.sum() > 30
    diff = np.abs(series.frames[f] - series.frames[0])
    body = series.frames[0] > np.percentile(series.frames[0], 40)
    still = ~ndimage.binary_dilation(changed, iterations=2) & body
    assert diff[changed].mean() > 1.2 * diff[still].mean()


def _row_centres(mask):
    """Mean column of the mask in every row (nan where the row is empty)."""
    n = mask.sum(1)
    cols = np.arange(mask.shape[1])[None, :]
    return np.where(n > 0, (mask * cols).sum(1) / np.maximum(n, 1), np.nan)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_anatomical_order(case, seed):
    """Bladder in front of the uterus / vagina, rectum behind it, row by row."""
    _series, truth, _params = case(seed)
    for frame in truth[[0, -1]]:
        bl, uv, re = (_row_centres(frame == organ) for organ in (1, 2, 3))
        both = ~np.isnan(bl) & ~np.isnan(uv)
        assert both.sum() > 0 and np.mean(bl[both] < uv[both]) >= 0.8
        both = ~np.isnan(uv) & ~np.isnan(re)
        assert both.sum() > 0 and np.mean(uv[both] < re[both]) >= 0.8
        cb = np.argwhere(frame == 1)[:, 1].mean()
        cr = np.argwhere(frame == 3)[:, 1].mean()
        assert cb < cr


def test_labels_sit_on_image_edges(case):
    series, truth, _params = case(5)
    img = series.frames[0]
    grad = np.hypot(ndimage.sobel(img, 0), ndimage.sobel(img, 1))
    border = np.zeros(img.shape, bool)
    for organ in (1, 2, 3):
        m = truth[0] == organ
        border |= m & ~ndimage.binary_erosion(m)
    body = img > np.percentile(img, 40)
    assert grad[border].mean() > 1.3 * grad[body & ~border].mean()


def test_parameters_vary_across_seeds(gen):
    ps = [gen.sample_params(s) for s in range(2000, 2016)]
    fams = {p["imaging"]["family"] for p in ps}
    assert len(fams) >= 2 and fams <= {"haste", "truefisp", "pd", "t1gre"}
    assert {p["hysterectomy"] for p in ps} == {True, False}
    assert len({p["motion"]["maneuver"] for p in ps}) >= 3
    assert {p["anatomy"]["uterus_version"] for p in ps} == {"anteverted", "retroverted"}
    fill = [p["anatomy"]["bladder_fill"] for p in ps]
    assert max(fill) - min(fill) > 0.5
    assert len({tuple(p["matrix"]) for p in ps}) > 8


def test_command_line_writes_a_readable_case(gen, generate_one):
    case_dir = generate_one(gen, "growth", 3)
    truth = np.load(case_dir / "truth.npy")
    params = json.loads((case_dir / "params.json").read_text())
    files = sorted((case_dir / "series").iterdir())
    assert truth.dtype == np.uint8 and truth.ndim == 3
    assert len(files) == truth.shape[0] == params["n_frames"]
    ds = [pydicom.dcmread(f) for f in files]
    assert all((d.Rows, d.Columns) == truth.shape[1:] for d in ds)
    assert [int(d.InstanceNumber) for d in ds] == list(range(1, len(ds) + 1))
    assert str(ds[0].PatientID) == "growth_003"
    assert params["generator"] == "growth" and params["seed"] == 3
    assert list(truth.shape[1:]) == params["matrix"]
    pix = ds[0].pixel_array
    assert pix.shape == truth.shape[1:] and pix.max() > 0
