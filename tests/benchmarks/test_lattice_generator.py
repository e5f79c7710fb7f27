"""benchmarks/lattice_generator.py: the LATTICE synthetic cine pelvic MRI generator."""

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

from core.io import read_series

SEED = 3


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("lattice_generator")


@pytest.fixture(scope="module")
def case(script):
    return script.generate(SEED)


@pytest.fixture(scope="module")
def case_dir(script, generate_one):
    return generate_one(script, "lattice", SEED)


def test_written_case_reads_back(case, case_dir):
    frames, labels, spacing, params = case
    series = read_series(case_dir / "series")
    assert series.frames.shape == frames.shape
    step = (float(frames.max()) - min(float(frames.min()), 0.0)) / 65000.0
    assert np.abs(series.frames - frames).max() <= 0.6 * step
    assert np.allclose(series.spacing_mm, spacing, atol=1e-6)
    t = np.arange(frames.shape[0]) * params["frame_interval_s"]
    assert np.allclose(series.times_s, t, atol=1e-3)
    assert np.array_equal(np.load(case_dir / "truth.npy"), labels)
    written = json.loads((case_dir / "params.json").read_text())
    for key in ("seed", "generator", "spacing_mm", "matrix", "n_frames", "frame_interval_s",
                "snr", "labels", "rest_frame", "peak_frame", "anatomy", "imaging"):
        assert key in written
    assert written["generator"] == "lattice"
    assert written["seed"] == SEED
    assert written["labels"] == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
    assert written["imaging"]["contrast"] in ("ssfse", "bssfp", "t1")
    assert written["anatomy"]["uterus"] in ("normal", "atrophic", "enlarged_fibroid",
                                            "hysterectomy")
    assert 0.0 <= written["anatomy"]["bladder_fill"] <= 1.0


def test_ranges(case):
    frames, labels, spacing, params = case
    n, h, w = frames.shape
    assert frames.dtype == np.float32 and labels.dtype == np.uint8
    assert labels.shape == frames.shape
    assert 12 <= n <= 40 and params["n_frames"] == n
    assert 224 <= h <= 288 and 224 <= w <= 288 and params["matrix"] == [h, w]
    assert all(1.1 <= s <= 1.5 for s in spacing)
    assert params["spacing_mm"] == pytest.approx(list(spacing))
    assert 0.5 <= params["frame_interval_s"] <= 2.5
    assert 5.0 <= params["snr"] <= 40.0
    assert np.all(np.isfinite(frames)) and frames.min() >= 0.0 and frames.max() > 0.0
    assert set(np.unique(labels).tolist()) == {0, 1, 2, 3}
    assert 0 <= params["rest_frame"] < params["peak_frame"] < n


def test_one_piece_per_organ_and_bladder_anterior(case):
    _, labels, _, _ = case
    for lab in labels:
        for organ in (1, 2, 3):
            assert ndi.label(lab == organ)[1] == 1  # present, one 4-connected piece
        cols = np.arange(lab.shape[1])[None, :]
        bladder = float(np.broadcast_to(cols, lab.shape)[lab == 1].mean())
        rectum = float(np.broadcast_to(cols, lab.shape)[lab == 3].mean())
        assert bladder < rectum


def test_organs_descend_at_peak_strain(case):
    _, labels, spacing, params = case
    rest, peak = labels[params["rest_frame"]], labels[params["peak_frame"]]

    def lowest(lab, organ):
        return int(np.nonzero((lab == organ).any(axis=1))[0].max())

    moves = [lowest(peak, o) - lowest(rest, o) for o in (1, 3)]
    assert max(moves) >= 2
    assert sum(moves) > 0


def test_deterministic_and_seeds_differ(script, case):
    frames, labels, spacing, params = case
    again = script.generate(SEED)
    assert np.array_equal(again[0], frames)
    assert np.array_equal(again[1], labels)
    assert again[2] == spacing
    assert json.dumps(again[3], sort_keys=True) == json.dumps(params, sort_keys=True)
    other = script.generate(SEED + 1)
    assert other[0].shape != frames.shape or not np.array_equal(other[0], frames)
    assert other[3]["anatomy"] != params["anatomy"]


def test_anatomy_draws_vary_over_seeds(script):
    draws = [script.draw_subject(s)["params"] for s in range(40)]
    states = {d["uterus"] for d in draws}
    assert states == {"normal", "atrophic", "enlarged_fibroid", "hysterectomy"}
    fills = [d["bladder_fill"] for d in draws]
    assert min(fills) < 0.2 and max(fills) > 0.8
    assert len({d["rectal_content"] for d in draws}) >= 3
