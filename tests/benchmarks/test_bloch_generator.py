"""benchmarks/bloch_generator.py: one case written, read back and checked."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from core.io import read_series


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("bloch_generator")


@pytest.fixture(scope="module")
def case(script, generate_one):
    folder = generate_one(script, "bloch", 0)
    series = read_series(folder / "series.nii.gz")
    truth = np.load(folder / "truth.npy")
    params = json.loads((folder / "params.json").read_text())
    return folder, series, truth, params


def test_read_back_matches_truth_and_params(case):
    _, series, truth, params = case
    assert truth.dtype == np.uint8
    assert series.frames.shape == truth.shape == tuple(params["shape"])
    assert series.spacing_mm == tuple(params["spacing_mm"])
    t, h, w = truth.shape
    assert 12 <= t <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert all(1.1 <= s <= 1.5 for s in series.spacing_mm)
    assert params["sequence"]["name"] in ("bssfp", "ssfse", "spgr")
    assert 4 <= params["coils"] <= 8 and 8 <= params["snr"] <= 40


def test_every_organ_one_piece_in_every_frame(case):
    truth = case[2]
    for frame in truth:
        for organ in (1, 2, 3):
            assert ndimage.label(frame == organ)[1] == 1


def test_organs_in_anatomical_order(case):
    truth = case[2]
    for frame in truth:
        rows, cols = np.indices(frame.shape)
        assert cols[frame == 1].mean() < cols[frame == 3].mean()  # bladder anterior
        assert rows[frame == 1].mean() < rows[frame == 2].max()  # above the vagina's end


def test_strain_descends_bladder_or_vagina(case):
    _, series, truth, _ = case
    lowest = np.array([[np.nonzero((f == organ).any(axis=1))[0].max() for f in truth]
                       for organ in (1, 2)])
    descent_mm = (lowest.max(axis=1) - lowest[:, 0]) * series.spacing_mm[0]
    assert descent_mm.max() > 5


def test_generate_is_what_was_written(script, case):
    _, series, truth, params = case
    frames, labels, spacing, again = script.generate(0)
    np.testing.assert_array_equal(labels, truth)
    np.testing.assert_allclose(frames, series.frames, rtol=1e-5, atol=1e-3)
    assert list(spacing) == params["spacing_mm"] and again["snr"] == params["snr"]


def test_stored_voxel_order_is_not_canonical(case):
    folder, series, _, _ = case
    img = nib.load(folder / "series.nii.gz")
    _, h, w = series.frames.shape
    assert img.header.get_sform(coded=True)[1] in (1, 2)
    assert img.shape[:2] == (h, w)  # the reader's plain order would be (W, H)
    assert series.meta["orientation"].startswith("sagittal (canonical)")
    assert series.meta["orientation_ops"]
    raw = np.asarray(img.dataobj)[:, :, 0, 0]
    assert not np.array_equal(raw, series.frames[0])


def test_parse_seeds(script):
    assert script.parse_seeds("0-3") == [0, 1, 2, 3]
    assert script.parse_seeds("1, 4-5") == [1, 4, 5]
