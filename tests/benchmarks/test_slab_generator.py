"""benchmarks/slab_generator.py: 3D pelvic anatomy imaged as a thick oblique slab."""

import json

import numpy as np
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 10  # a short case (14 frames)
CONTRAST_SEEDS = (0, 4, 8, 10, 14)  # T2, PD, T1 (no fat suppression), bSSFP, T2 fat-sat


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("slab_generator")


@pytest.fixture(scope="module")
def cases(script):
    return {s: script.generate(s) for s in CONTRAST_SEEDS}


def _centroid_col(mask):
    return float(np.argwhere(mask)[:, 1].mean())


def test_case_written_and_read_back(script, tmp_path):
    assert script.main(["--seeds", str(SEED), "--out", str(tmp_path)]) == 0
    folder = tmp_path / f"slab_{SEED:03d}"
    series = read_series(folder / "series.nii.gz")
    labels = np.load(folder / "truth.npy")
    params = json.loads((folder / "params.json").read_text())
    n, h, w = series.frames.shape
    assert labels.dtype == np.uint8 and labels.shape == (n, h, w)
    assert 12 <= n <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert params["shape"] == [n, h, w] and params["seed"] == SEED
    assert all(1.1 <= s <= 1.5 for s in series.spacing_mm)
    assert series.spacing_mm == pytest.approx(tuple(params["spacing_mm"]), abs=1e-6)
    assert 4 <= params["slab_thickness_mm"] <= 10
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    for t in range(n):
        for lv in (1, 2, 3):
            _, pieces = ndimage.label(labels[t] == lv)
            assert pieces == 1, (t, lv, pieces)
        assert _centroid_col(labels[t] == 1) < _centroid_col(labels[t] == 3)
        # rows run head->feet: the bladder lies above the anal end of the rectum
        assert np.argwhere(labels[t] == 1)[:, 0].min() < np.argwhere(labels[t] == 3)[:, 0].max()
    frames, labels2, spacing, _ = script.generate(SEED)
    assert np.array_equal(frames, series.frames)
    assert np.array_equal(labels2, labels)
    assert spacing == pytest.approx(series.spacing_mm)


def test_contrasts_are_real(cases):
    sequences = {params["sequence"] for _, _, _, params in cases.values()}
    assert len(sequences) > 1
    checked = set()
    for frames, labels, _, params in cases.values():
        img, lab, probes = frames[0], labels[0], params["probes"]
        bladder = img[lab == 1].mean()
        if params["sequence"] == "t1_gre" and not params["fat_sat"] and len(probes["fat"]) >= 20:
            fat = np.mean([img[r, c] for r, c in probes["fat"]])
            assert bladder < fat  # dark urine on T1
            checked.add("t1")
        if params["sequence"] == "t2_ssfse" and len(probes["muscle"]) >= 20:
            muscle = np.mean([img[r, c] for r, c in probes["muscle"]])
            assert bladder > muscle  # bright urine on T2
            checked.add("t2")
    assert checked == {"t1", "t2"}


def test_organs_move_during_strain(cases):
    for frames, labels, spacing, params in cases.values():
        assert frames.dtype == np.float32 and labels.dtype == np.uint8
        assert frames.shape == labels.shape == tuple(params["shape"])
        # the pelvic organs descend during the strain: the bladder's lowest row moves
        low = [np.argwhere(lab == 1)[:, 0].max() * spacing[0] for lab in labels]
        assert max(low) - min(low) > 5.0, params["seed"]
