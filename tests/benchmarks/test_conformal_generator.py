"""Tests of benchmarks/conformal_generator.py: small renders (128 px, 8 frames, same field of
view) and one default case through the command line."""

import json

import numpy as np
import pytest
from scipy import ndimage

SEEDS = (0, 1, 2, 3, 4, 5)
SMALL = {"matrix": 128, "n_frames": 8}


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("conformal_generator")


@pytest.fixture(scope="module")
def cases(gen):
    return {s: gen.generate(s, **SMALL) for s in SEEDS}


def test_deterministic_per_seed_and_different_between_seeds(gen, cases):
    series, truth, params = cases[0]
    again_series, again_truth, again_params = gen.generate(0, **SMALL)
    assert np.array_equal(series.frames, again_series.frames)
    assert np.array_equal(truth, again_truth)
    assert np.array_equal(series.times_s, again_series.times_s)
    assert json.dumps(params, sort_keys=True) == json.dumps(again_params, sort_keys=True)
    other_series, other_truth, other_params = cases[1]
    assert not np.array_equal(series.frames, other_series.frames)
    assert not np.array_equal(truth, other_truth)
    assert params["anatomy"] != other_params["anatomy"]


def test_shapes_dtypes_ranges_and_field_of_view(gen, cases):
    for seed, (series, truth, params) in cases.items():
        assert series.frames.dtype == np.float32 and truth.dtype == np.uint8
        assert series.frames.shape == truth.shape == (8, 128, 128)
        assert np.all(np.isfinite(series.frames)) and series.frames.max() > 0
        assert set(np.unique(truth)) == {0, 1, 2, 3}
        assert series.times_s[0] == 0 and np.all(np.diff(series.times_s) > 0)
        # the small render keeps the default field of view
        h0, w0 = params["default_matrix"]
        assert 224 <= h0 <= 288 and 224 <= w0 <= 288
        fov = np.array(params["fov_mm"])
        assert np.allclose(np.array(series.spacing_mm) * 128, fov)
        assert np.all(fov / np.array([h0, w0]) >= 1.1 - 1e-9)
        assert np.all(fov / np.array([h0, w0]) <= 1.5 + 1e-9)
        assert 250 * 0.98 <= fov.min() and fov.max() <= 432
        for key in ("generator", "seed", "matrix", "spacing_mm", "n_frames", "imaging",
                    "motion", "hysterectomy"):
            assert key in params
        assert params["generator"] == "conformal" and params["seed"] == seed
        assert params["matrix"] == [128, 128] and params["n_frames"] == 8
        assert params["imaging"]["sequence"] in gen.SEQUENCES
        assert params["motion"]["maneuver"] in gen.MANEUVERS
        json.dumps(params)  # JSON-able
    # default sizes and timing without overrides (parameter path only)
    for seed in range(8):
        p = gen.sample_params(seed)
        h, w = p["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert all(1.1 <= s <= 1.5 for s in p["spacing_mm"])
        assert 20 <= p["n_frames"] <= 40 and 0.5 <= p["frame_interval_s"] <= 2.0


def test_every_organ_present_and_one_piece_in_every_frame(cases, piece_sizes):
    for seed, (_series, truth, _params) in cases.items():
        for t, frame in enumerate(truth):
            for organ in (1, 2, 3):
                mask = frame == organ
                assert mask.sum() > 20, (seed, t, organ)
                sizes = piece_sizes(mask)
                assert sizes.max() >= 0.99 * mask.sum(), (seed, t, organ, len(sizes))
        # organs never touch the border of the field of view
        assert not truth[:, [0, -1], :].any() and not truth[:, :, [0, -1]].any()


def test_organs_move_and_the_image_moves_with_them(cases):
    for seed, (series, truth, _params) in cases.items():
        changed = (truth != truth[0]).reshape(len(truth), -1).sum(1)
        k = int(np.argmax(changed))
        assert changed[k] > 10, seed
        # where the labels changed the (denoised) image changed more than far from organs
        diff = np.abs(ndimage.gaussian_filter(series.frames[k], 1.0)
                      - ndimage.gaussian_filter(series.frames[0], 1.0))
        moved = truth[k] != truth[0]
        calm = ndimage.distance_transform_edt((truth[0] == 0) & (truth[k] == 0)) > 8
        assert diff[moved].mean() > 1.1 * diff[calm].mean(), seed


def test_anatomical_order(cases):
    for seed, (_series, truth, _params) in cases.items():
        first = truth[0]
        cols = {k: np.nonzero(first == k)[1].mean() for k in (1, 2, 3)}
        assert cols[1] < cols[3] and cols[2] < cols[3], seed
        for front, back in ((1, 2), (2, 3)):
            rows = [r for r in range(first.shape[0])
                    if (first[r] == front).any() and (first[r] == back).any()]
            assert rows, (seed, front, back)
            ahead = [np.nonzero(first[r] == front)[0].mean()
                     < np.nonzero(first[r] == back)[0].mean() for r in rows]
            assert np.mean(ahead) >= 0.9, (seed, front, back)
        # the bladder ends above the perineum, the vagina and the anal canal reach lower
        lowest = {k: np.nonzero((first == k).any(1))[0].max() for k in (1, 2, 3)}
        assert lowest[1] < lowest[2] and lowest[1] < lowest[3], seed


def test_parameters_vary_across_seeds(gen):
    params = [gen.sample_params(seed) for seed in range(12)]
    sequences = {p["imaging"]["sequence"] for p in params}
    assert len(sequences) >= 2
    assert {p["hysterectomy"] for p in params} == {True, False}
    assert len({p["motion"]["maneuver"] for p in params}) >= 3
    fills = [p["anatomy"]["bladder"]["fill"] for p in params]
    assert max(fills) - min(fills) > 0.4
    assert len({tuple(p["matrix"]) for p in params}) >= 6
    tilts = [p["anatomy"]["tilt_deg"] for p in params]
    assert min(tilts) < -5 and max(tilts) > 5 and all(abs(t) <= 15 for t in tilts)


def test_command_line_writes_a_readable_case(gen, generate_one):
    import pydicom

    case = generate_one(gen, "conformal", 3)
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    files = sorted((case / "series").iterdir())
    assert len(files) == truth.shape[0] == params["n_frames"]
    assert list(truth.shape[1:]) == params["matrix"]
    ds = [pydicom.dcmread(f) for f in files]
    assert all((d.Rows, d.Columns) == truth.shape[1:] for d in ds)
    assert [int(d.InstanceNumber) for d in ds] == list(range(1, len(ds) + 1))
    assert np.allclose([float(v) for v in ds[0].PixelSpacing], params["spacing_mm"], rtol=1e-6)
    pixels = ds[0].pixel_array.astype(float)
    assert pixels.shape == truth.shape[1:] and pixels.std() > 0
    assert str(ds[0].PatientID) == "conformal_003"
    assert params["generator"] == "conformal" and params["seed"] == 3
    assert set(np.unique(truth)) == {0, 1, 2, 3}
