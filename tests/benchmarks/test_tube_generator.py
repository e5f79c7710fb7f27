"""Tests of benchmarks/tube_generator.py (swept-tube pelvic cine phantom)."""

import json

import numpy as np
import pydicom
import pytest

SEEDS = (2000, 2003, 2007)


@pytest.fixture(scope="module")
def tube(load_script):
    return load_script("tube_generator")


@pytest.fixture(scope="module")
def small(tube):
    """Small renders (128 x 128, 8 frames) of a few seeds, made once."""
    return {seed: tube.generate(seed, matrix=128, n_frames=8) for seed in SEEDS}


def test_deterministic_per_seed_and_different_between_seeds(tube, small):
    series, truth, params = small[SEEDS[0]]
    again, truth2, params2 = tube.generate(SEEDS[0], matrix=128, n_frames=8)
    assert np.array_equal(series.frames, again.frames)
    assert np.array_equal(truth, truth2)
    assert np.array_equal(series.times_s, again.times_s)
    assert json.dumps(params, sort_keys=True) == json.dumps(params2, sort_keys=True)
    other, truth3, params3 = small[SEEDS[1]]
    assert not np.array_equal(truth, truth3)
    assert not np.allclose(series.frames, other.frames)
    assert params["imaging"] != params3["imaging"] or params["anatomy"] != params3["anatomy"]


def test_shapes_dtypes_ranges_and_field_of_view(tube, small):
    for seed, (series, truth, params) in small.items():
        assert series.frames.dtype == np.float32 and series.frames.shape == (8, 128, 128)
        assert truth.dtype == np.uint8 and truth.shape == series.frames.shape
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
        assert series.frames.std() > 0 and series.frames.max() <= 4095 * 40
        t = series.times_s
        assert t[0] == 0 and np.all(np.diff(t) > 0)
        assert 0.5 <= np.median(np.diff(t)) <= 2.0
        assert params["generator"] == "tube" and params["seed"] == seed
        assert params["matrix"] == [128, 128] and params["n_frames"] == 8
        json.dumps(params)  # JSON-able
        for key in ("imaging", "motion", "hysterectomy"):
            assert key in params
        assert "sequence" in params["imaging"] and "maneuver" in params["motion"]
        # same field of view as the default matrix: spacing scaled, FOV 250-430 mm
        default = tube.case_params(seed)
        h0, w0 = default["matrix"]
        fov = np.array(params["fov_mm"])
        assert np.allclose(np.array(series.spacing_mm) * 128, fov, rtol=1e-6)
        assert 1.1 - 1e-9 <= fov[0] / h0 <= 1.5 + 1e-9 and 1.1 - 1e-9 <= fov[1] / w0 <= 1.5 + 1e-9
        assert fov[0] / h0 == pytest.approx(fov[1] / w0)  # square pixels at default size
        assert 240 <= fov.min() and fov.max() <= 435
    for seed in range(2000, 2012):
        p = tube.case_params(seed)
        assert all(224 <= m <= 288 for m in p["matrix"])
        assert 1.1 <= p["spacing_mm"][0] <= 1.5 and 20 <= p["n_frames"] <= 40
        assert 0.5 <= p["frame_interval_s"] <= 2.0


def test_non_square_matrix_keeps_field_of_view(tube, small):
    series, truth, params = tube.generate(SEEDS[0], matrix=(96, 80), n_frames=3)
    assert series.frames.shape == (3, 96, 80) and truth.shape == (3, 96, 80)
    fov = small[SEEDS[0]][2]["fov_mm"]
    assert series.spacing_mm[0] * 96 == pytest.approx(fov[0])
    assert series.spacing_mm[1] * 80 == pytest.approx(fov[1])


def test_every_organ_present_and_one_piece_in_every_frame(small, piece_sizes):
    for _seed, (_series, truth, _params) in small.items():
        for frame in truth:
            for label in (1, 2, 3):
                sizes = piece_sizes(frame == label)
                assert sizes.size >= 1, f"label {label} missing"
                assert sizes.max() >= 0.99 * sizes.sum()
        # organs stay inside the field of view
        for label in (1, 2, 3):
            m = truth == label
            assert not (m[:, 0].any() or m[:, -1].any() or m[:, :, 0].any() or m[:, :, -1].any())


def test_organs_move_and_the_image_moves_with_them(small):
    for _seed, (series, truth, params) in small.items():
        curve = np.abs(np.asarray(params["motion"]["strain_curve"]))
        k = int(np.argmax(curve))
        assert curve[k] > 0.2 and curve[0] == 0.0
        changed = truth[k] != truth[0]
        assert changed.sum() >= 20
        # the image changes more where the truth changed than inside unchanged organs
        f = series.frames
        diff = np.abs(f[k] - f[0])
        still = (truth[k] == truth[0]) & (truth[0] > 0)
        assert diff[changed].mean() > 1.2 * diff[still].mean()
        # the bladder (or another organ) actually moves: its centroid shifts
        shifts = []
        for label in (1, 2, 3):
            c0 = np.argwhere(truth[0] == label).mean(axis=0)
            ck = np.argwhere(truth[k] == label).mean(axis=0)
            shifts.append(np.hypot(*(ck - c0)))
        assert max(shifts) > 0.5


def test_anatomical_order_bladder_vagina_rectum(tube, small):
    cases = dict(small)
    for seed in (2001, 2005, 2010):
        cases[seed] = tube.generate(seed, matrix=96, n_frames=2)
    for seed, (_series, truth, _params) in cases.items():
        lab = truth[0]
        cols = {k: np.nonzero(lab == k)[1].mean() for k in (1, 2, 3)}
        assert cols[1] < cols[3] and cols[2] < cols[3], seed
        rows_b = rows_r = ok_b = ok_r = 0
        for r in range(lab.shape[0]):
            b, v, x = (np.nonzero(lab[r] == k)[0] for k in (1, 2, 3))
            if b.size and v.size:
                rows_b += 1
                ok_b += b.mean() < v.mean()
            if v.size and x.size:
                rows_r += 1
                ok_r += v.mean() < x.mean()
        assert rows_r > 0 and ok_r >= 0.9 * rows_r, seed
        assert rows_b == 0 or ok_b >= 0.75 * rows_b, seed


def test_sequences_anatomy_and_manoeuvres_vary(tube):
    ps = [tube.case_params(seed) for seed in range(2000, 2012)]
    assert len({p["imaging"]["sequence"] for p in ps}) >= 2
    assert {p["hysterectomy"] for p in ps} == {True, False}
    assert len({p["motion"]["maneuver"] for p in ps}) >= 3
    fills = [p["anatomy"]["bladder_fill"] for p in ps]
    assert max(fills) - min(fills) > 0.4
    assert len({p["anatomy"]["version"] for p in ps if not p["hysterectomy"]}) == 2
    assert len({tuple(p["matrix"]) for p in ps}) > 6
    assert len({round(p["anatomy"]["tilt_deg"]) for p in ps}) > 6


def test_bladder_is_bright_on_t2_and_dark_on_t1(tube):
    """Labels match the image: urine is bright on HASTE and dark on T1 GRE."""
    seeds = {"haste": None, "t1_gre": None}
    for seed in range(2000, 2060):
        p = tube.case_params(seed)
        seq = p["imaging"]["sequence"]
        if (seq in seeds and seeds[seq] is None and not p["imaging"]["fat_sat"]
                and p["anatomy"]["bladder_fill"] > 0.4):
            seeds[seq] = seed
    ratio = {}
    for seq, seed in seeds.items():
        assert seed is not None
        series, truth, _ = tube.generate(seed, matrix=96, n_frames=2)
        f, lab = series.frames[0], truth[0]
        body = f > 0.15 * np.percentile(f, 99)
        ratio[seq] = np.median(f[lab == 1]) / np.median(f[body])
    assert ratio["haste"] > 1.2 and ratio["t1_gre"] < 0.7


def test_command_line_writes_a_readable_case(tube, generate_one):
    case = generate_one(tube, "tube", 2004)
    files = sorted((case / "series").iterdir())
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert truth.dtype == np.uint8 and truth.ndim == 3
    assert len(files) == truth.shape[0] == params["n_frames"]
    ds = [pydicom.dcmread(f) for f in files]
    assert all((d.Rows, d.Columns) == truth.shape[1:] for d in ds)
    assert [int(d.InstanceNumber) for d in ds] == list(range(1, len(ds) + 1))
    assert params["generator"] == "tube" and params["seed"] == 2004
    assert list(truth.shape[1:]) == params["matrix"]
    assert ds[0].PatientID == "tube_2004"
    px = ds[0].pixel_array * float(ds[0].RescaleSlope) + float(ds[0].RescaleIntercept)
    assert px.shape == truth.shape[1:] and px.max() > 0
