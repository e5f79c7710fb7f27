"""Tests of benchmarks/metaball_generator.py (implicit-field pelvis cine generator)."""

import json

import numpy as np
import pytest
from scipy import ndimage

SEED = 5


@pytest.fixture(scope="module")
def mod(load_script):
    return load_script("metaball_generator")


@pytest.fixture(scope="module")
def case(mod):
    return mod.generate(SEED)


def test_dicom_round_trip(mod, case, generate_one):
    from core.io import read_series

    frames, labels, spacing, params = case
    folder = generate_one(mod, "metaball", SEED)
    s = read_series(folder / "series")
    assert s.frames.shape == frames.shape
    assert np.max(np.abs(s.frames - frames)) <= frames.max() / 65000 * 1.01
    assert np.allclose(s.spacing_mm, spacing, atol=1e-4)
    n = frames.shape[0]
    assert np.allclose(s.times_s, np.arange(n) * params["frame_interval_s"], atol=1e-3)
    assert np.array_equal(np.load(folder / "truth.npy"), labels)
    saved = json.loads((folder / "params.json").read_text())
    for key in ("seed", "generator", "spacing_mm", "matrix", "n_frames", "frame_interval_s",
                "snr", "labels", "rest_frame", "peak_frame", "anatomy", "imaging", "motion"):
        assert key in saved
    assert saved["generator"] == "metaball"
    assert saved["labels"] == mod.LABELS
    for key in ("uterus", "bladder_fill", "rectal_content", "pathology"):
        assert key in saved["anatomy"]
    for key in ("contrast", "TR_ms", "TE_ms", "echo_train_length", "acceleration"):
        assert key in saved["imaging"]
    assert "descent_mm" in saved["motion"]
    assert saved["matrix"] == list(frames.shape[1:])


def test_ranges(case):
    frames, labels, spacing, params = case
    n, h, w = frames.shape
    assert 12 <= n <= 40 and 224 <= h <= 320 and 224 <= w <= 320
    assert frames.dtype == np.float32 and labels.dtype == np.uint8
    assert labels.shape == frames.shape
    assert np.all(np.isfinite(frames)) and frames.min() >= 0
    assert 400 <= frames.max() <= 3100
    assert all(0.9 <= s <= 1.6 for s in spacing)
    assert 220 <= h * spacing[0] <= 361 and 220 <= w * spacing[1] <= 361
    assert set(np.unique(labels).tolist()) == {0, 1, 2, 3}
    assert 0 <= params["rest_frame"] < params["peak_frame"] < n
    assert 0 <= params["anatomy"]["bladder_fill"] <= 1
    assert 5 <= params["snr"] <= 40


def test_topology_and_order(case):
    _, labels, _, params = case
    for t in range(labels.shape[0]):
        cols = {}
        for k in (1, 2, 3):
            m = labels[t] == k
            assert ndimage.label(m)[1] == 1, (t, k)
            cols[k] = np.nonzero(m)[1].mean()
        assert cols[1] < cols[3]
    rest, peak = params["rest_frame"], params["peak_frame"]
    row = [np.nonzero(labels[i] == 1)[0].mean() for i in (rest, peak)]
    assert row[1] > row[0]


def test_deterministic(mod, case):
    frames, labels, spacing, params = mod.generate(SEED)
    assert np.array_equal(frames, case[0]) and np.array_equal(labels, case[1])
    assert spacing == case[2] and params == case[3]


def test_variety(mod):
    drawn = [mod.draw_params(s) for s in range(40)]
    contrasts = {d["imaging"]["contrast"] for d in drawn}
    uteri = {d["anatomy"]["uterus"] for d in drawn}
    pathos = {p for d in drawn for p in d["anatomy"]["pathology"]}
    assert len(contrasts) >= 3 and len(uteri) >= 4 and len(pathos) >= 3
    assert len({tuple(d["matrix"]) for d in drawn}) > 10
    assert len({d["n_frames"] for d in drawn}) > 10
    assert any(not d["anatomy"]["pathology"] for d in drawn)
