"""benchmarks/voxel_generator.py: one generated case, read back through core.io."""

import json

import numpy as np
import pydicom
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 17
CANONICAL_IOP = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


@pytest.fixture(scope="module")
def case(load_script, generate_one):
    script = load_script("voxel_generator")
    folder = generate_one(script, "voxel", SEED)
    return {
        "script": script,
        "folder": folder,
        "series": read_series(folder / "series"),
        "truth": np.load(folder / "truth.npy"),
        "params": json.loads((folder / "params.json").read_text()),
    }


def test_read_back_matches_truth_and_params(case):
    series, truth, params = case["series"], case["truth"], case["params"]
    assert truth.dtype == np.uint8
    assert series.frames.shape == truth.shape == tuple(params["shape"])
    assert series.spacing_mm == pytest.approx(tuple(params["spacing_mm"]), abs=1e-6)
    n_t, h, w = truth.shape
    assert 12 <= n_t <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert all(1.1 <= s <= 1.5 for s in series.spacing_mm)


def test_every_organ_one_piece_in_every_frame(case):
    for frame in case["truth"]:
        assert set(np.unique(frame)) <= {0, 1, 2, 3}
        for k in (1, 2, 3):
            assert ndimage.label(frame == k)[1] == 1


def test_bladder_anterior_to_rectum(case):
    cols = np.arange(case["truth"].shape[2])
    for frame in case["truth"]:
        mean_col = {k: (frame == k).sum(axis=0) @ cols / (frame == k).sum() for k in (1, 3)}
        assert mean_col[1] < mean_col[3]


def test_generate_is_what_was_written(case):
    frames, labels, spacing, params = case["script"].generate(SEED)
    assert np.array_equal(labels, case["truth"])
    assert spacing == tuple(case["params"]["spacing_mm"])
    assert params["sequence"] == case["params"]["sequence"]
    slope = float(pydicom.dcmread(next((case["folder"] / "series").iterdir())).RescaleSlope)
    assert np.max(np.abs(case["series"].frames - frames)) <= slope


def test_stored_orientation_is_not_canonical(case):
    files = list((case["folder"] / "series").iterdir())
    assert len(files) == case["truth"].shape[0]
    assert all("." not in f.name for f in files)
    ds = pydicom.dcmread(files[0], stop_before_pixels=True)
    iop = [float(v) for v in ds.ImageOrientationPatient]
    assert not np.allclose(iop, CANONICAL_IOP)
    assert case["series"].meta["orientation_ops"]


def test_valsalva_descent(case):
    truth, row_mm = case["truth"], case["params"]["spacing_mm"][0]
    rows = np.arange(truth.shape[1])
    descent = []
    for k in (1, 2, 3):
        lowest = np.array([rows[(frame == k).any(axis=1)].max() for frame in truth])
        descent.append((lowest.max() - lowest[0]) * row_mm)
    assert max(descent) > 5.0
