"""Tests of benchmarks/ssm_generator.py (statistical-shape-model cine generator)."""

import json

import numpy as np
import pytest
from scipy import ndimage

SMALL = {"matrix": 128, "n_frames": 8}


@pytest.fixture(scope="module")
def ssm(load_script):
    return load_script("ssm_generator")


@pytest.fixture(scope="module")
def cases(ssm):
    """Small renders of a few seeds, made once."""
    return {seed: ssm.generate(seed, **SMALL) for seed in (3, 4, 5, 6)}


def test_deterministic_per_seed_and_seeds_differ(ssm, cases):
    s1, t1, p1 = cases[3]
    s2, t2, p2 = ssm.generate(3, **SMALL)
    assert np.array_equal(s1.frames, s2.frames)
    assert np.array_equal(t1, t2)
    assert json.dumps(p1, sort_keys=True) == json.dumps(p2, sort_keys=True)
    s3, t3, _ = cases[4]
    assert s3.frames.shape != s1.frames.shape or not np.array_equal(s1.frames, s3.frames)
    assert not np.array_equal(t1, t3) or t1.shape != t3.shape


def test_shapes_dtypes_ranges_and_fov(ssm, cases):
    for seed, (series, truth, params) in cases.items():
        assert series.frames.dtype == np.float32
        assert truth.dtype == np.uint8
        assert series.frames.shape == truth.shape == (8, 128, 128)
        assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
        assert series.frames.std() > 0
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert np.all(np.diff(series.times_s) > 0) and series.times_s[0] == 0
        assert 0.5 <= series.frame_interval_s <= 2.0
        # same field of view in mm as the default-size case, spacing scaled
        st = ssm.case_settings(seed)
        h0, w0 = st["matrix"]
        fov = (h0 * st["spacing_mm"][0], w0 * st["spacing_mm"][1])
        assert 224 <= h0 <= 288 and 224 <= w0 <= 288
        assert all(1.1 <= s <= 1.5 for s in st["spacing_mm"])
        assert series.spacing_mm[0] * 128 == pytest.approx(fov[0])
        assert series.spacing_mm[1] * 128 == pytest.approx(fov[1])
        assert params["matrix"] == [128, 128] and params["n_frames"] == 8
        assert params["generator"] == "ssm" and params["seed"] == seed
        assert "sequence" in params["imaging"] and "maneuver" in params["motion"]
        assert isinstance(params["hysterectomy"], bool)
        json.dumps(params)


def test_organs_present_and_one_piece(cases, piece_sizes):
    for _, truth, _ in cases.values():
        for t in range(truth.shape[0]):
            for k in (1, 2, 3):
                sizes = piece_sizes(truth[t] == k)
                assert sizes.size >= 1, f"organ {k} missing in frame {t}"
                assert sizes.max() >= 0.99 * sizes.sum()
        for k in (1, 2, 3):
            assert piece_sizes(truth[0] == k).size == 1


def test_organs_move_and_image_follows(cases):
    for series, truth, _ in cases.values():
        changed = [np.mean(truth[t] != truth[0]) for t in range(1, truth.shape[0])]
        assert max(changed) > 0.002
        t = int(np.argmax(changed)) + 1
        moved = truth[t] != truth[0]
        diff = np.abs(series.frames[t] - series.frames[0])
        # the image changes more where the labels changed than elsewhere
        assert diff[moved].mean() > diff[~moved].mean()


def test_anatomical_order(cases):
    for _, truth, _ in cases.values():
        lab = truth[0]
        cols = {k: np.nonzero(lab == k)[1].mean() for k in (1, 2, 3)}
        assert cols[1] < cols[3]
        rows_b = np.nonzero(lab == 1)[0]
        low = rows_b > np.median(rows_b)
        rows_ok = 0
        rows_n = 0
        for r in np.unique(rows_b[low]):
            b = np.nonzero(lab[r] == 1)[0]
            u = np.nonzero(lab[r] == 2)[0]
            if len(u):
                rows_n += 1
                rows_ok += b.mean() < u.mean()
        assert rows_n == 0 or rows_ok >= 0.8 * rows_n
        ok = n = 0
        for r in range(lab.shape[0]):
            u = np.nonzero(lab[r] == 2)[0]
            q = np.nonzero(lab[r] == 3)[0]
            if len(u) and len(q):
                n += 1
                ok += u.mean() < q.mean()
        assert n > 0 and ok >= 0.8 * n


def test_labels_match_image(cases):
    """Urine (bright on T2/bSSFP) or the organ region differs from its surroundings."""
    for series, truth, params in cases.values():
        img = series.frames[0]
        blad = truth[0] == 1
        ring = ndimage.binary_dilation(blad, iterations=6) & ~ndimage.binary_dilation(
            blad, iterations=2) & (truth[0] == 0)
        assert abs(img[blad].mean() - img[ring].mean()) > 0.02 * img.max() or \
            params["imaging"]["sequence"] == "t1_gre"


def test_variety_across_seeds(ssm):
    settings = [ssm.case_settings(s) for s in range(2000, 2012)]
    assert len({s["sequence"] for s in settings}) >= 2
    assert {s["hysterectomy"] for s in settings} == {True, False}
    assert len({s["maneuver"] for s in settings}) >= 3
    assert len({tuple(s["matrix"]) for s in settings}) >= 6
    assert all(20 <= s["n_frames"] <= 40 for s in settings)


def test_shape_model_varies_anatomy(ssm, cases):
    mean, modes, sd = ssm._model()
    assert modes.shape[0] >= 5 and np.all(np.diff(sd) <= 1e-9)
    areas = [(truth[0] == 1).sum() for _, truth, _ in cases.values()]
    assert max(areas) > 1.2 * min(areas)


def test_command_line_writes_readable_case(ssm, generate_one):
    pydicom = pytest.importorskip("pydicom")
    case = generate_one(ssm, "ssm", 7)
    files = sorted((case / "series").iterdir())
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert truth.shape[0] == len(files) == params["n_frames"]
    ds = pydicom.dcmread(files[0])
    assert (ds.Rows, ds.Columns) == truth.shape[1:] == tuple(params["matrix"])
    assert ds.pixel_array.shape == truth.shape[1:]
    assert params["generator"] == "ssm" and params["seed"] == 7
