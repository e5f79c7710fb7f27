"""benchmarks/dixon_generator.py: one generated case, read back and checked."""

import json

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 17


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("dixon_generator")


@pytest.fixture(scope="module")
def case(script, generate_one):
    folder = generate_one(script, "dixon", SEED)
    params = json.loads((folder / "params.json").read_text())
    return folder, np.load(folder / "truth.npy"), params


def test_read_back_matches_generate(script, case):
    folder, truth, params = case
    series = read_series(folder / "series.nii")
    frames, labels, spacing, gen_params = script.generate(SEED)
    step = params["nifti"]["scl_slope"]
    assert series.frames.shape == truth.shape == frames.shape
    assert np.abs(series.frames - frames).max() <= step * 1.01
    np.testing.assert_array_equal(labels, truth)
    assert series.spacing_mm == pytest.approx(spacing)
    assert list(spacing) == params["spacing_mm"] == gen_params["spacing_mm"]
    assert np.diff(series.times_s) == pytest.approx(params["frame_interval_s"], rel=1e-5)


def test_ranges(case):
    _, truth, params = case
    t, h, w = truth.shape
    assert 12 <= t <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert all(1.1 <= s <= 1.5 for s in params["spacing_mm"])
    assert 0.5 <= params["frame_interval_s"] <= 2.5 and 6 <= params["snr"] <= 40
    assert params["labels"] == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}


def test_labels_one_piece_and_bladder_anterior(case):
    _, truth, _ = case
    assert set(np.unique(truth)) <= {0, 1, 2, 3}
    for lab in truth:
        for k in (1, 2, 3):
            assert ndimage.label(lab == k)[1] == 1
        assert np.nonzero(lab == 1)[1].mean() < np.nonzero(lab == 3)[1].mean()


def test_organs_descend_during_strain(case):
    _, truth, params = case
    rest, peak = params["rest_frame"], params["peak_frame"]
    row_mm = params["spacing_mm"][0]
    drops = []
    for k in (1, 2, 3):
        low = [np.nonzero(truth[t] == k)[0].max() for t in (rest, peak)]
        drops.append((low[1] - low[0]) * row_mm)
    assert min(drops) >= 1.0
    assert 5.0 <= max(drops) <= 60.0


def test_nifti2_oblique_scaled(case):
    folder, _, _ = case
    img = nib.load(folder / "series.nii")
    assert isinstance(img, nib.Nifti2Image)
    assert img.get_data_dtype() == np.int16
    slope, inter = img.dataobj.slope, img.dataobj.inter  # scl_slope / scl_inter
    assert abs(slope - 1) > 1e-3 and inter != 0
    rot = np.abs(img.affine[:3, :3] / np.linalg.norm(img.affine[:3, :3], axis=0))
    assert np.sort(rot, axis=0)[1].max() > 0.02  # not diagonal up to a permutation


def test_dixon_physics(script):
    # water on the left, fat on the right, a partial-volume boundary column
    water = np.zeros((8, 9))
    water[:, :4], water[:, 4] = 1.0, 0.5
    fat = 1.0 - water
    field = np.full(water.shape, 0.4)
    s_ip, s_op = script.echoes(water, fat, field)
    out = script.dixon_combine(s_ip, s_op, np.zeros_like(field))
    op = out["opposed_phase"]
    assert (op[:, 4] < 0.1 * op[:, 3]).all() and (op[:, 4] < 0.1 * op[:, 5]).all()
    assert out["in_phase"][:, 4] == pytest.approx(1.0)
    np.testing.assert_allclose(out["water"], water, atol=1e-6)
    # a field phase more than 90 degrees off the reference swaps water and fat
    s_ip, s_op = script.echoes(water, fat, np.full(water.shape, 2.2))
    swapped = script.dixon_combine(s_ip, s_op, np.zeros_like(field))
    np.testing.assert_allclose(swapped["water"], fat, atol=1e-6)
