"""Tests of benchmarks/geodesic_generator.py (geodesic-growth synthetic cine pelvis)."""

import json
from collections import Counter

import numpy as np
import pytest
from scipy import ndimage as ndi

from core.io import read_series

SEED = 5
PARAM_KEYS = ("seed", "generator", "spacing_mm", "matrix", "n_frames", "frame_interval_s",
              "snr", "labels", "rest_frame", "peak_frame", "anatomy", "imaging", "motion")


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("geodesic_generator")


@pytest.fixture(scope="module")
def case(script, generate_one):
    return generate_one(script, "geodesic", SEED)


@pytest.fixture(scope="module")
def generated(script):
    return script.generate(SEED)


def test_written_case_reads_back(case, generated):
    frames, labels, spacing, params = generated
    series = read_series(case / "series")
    assert series.frames.shape == frames.shape
    quantum = float(frames.max()) / 65000 * 1.01
    assert np.max(np.abs(series.frames - frames)) <= quantum
    assert np.allclose(series.spacing_mm, spacing, atol=1e-6)
    times = np.arange(len(frames)) * params["frame_interval_s"]
    assert np.allclose(series.times_s, times, atol=1e-3)
    assert np.array_equal(np.load(case / "truth.npy"), labels)
    written = json.loads((case / "params.json").read_text())
    for key in PARAM_KEYS:
        assert key in written
    assert written["generator"] == "geodesic"
    assert written["seed"] == SEED
    assert written["labels"] == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
    assert written["matrix"] == list(frames.shape[1:])
    assert written["n_frames"] == len(frames)
    assert 0 <= written["rest_frame"] < written["peak_frame"] < written["n_frames"]
    assert written["anatomy"]["uterus"] in ("normal", "retroverted", "enlarged_fibroid",
                                            "atrophic", "hysterectomy")
    assert 0.0 <= written["anatomy"]["bladder_fill"] <= 1.0
    assert "rectal_content" in written["anatomy"]
    for key in ("contrast", "TR_ms", "TE_ms", "n_coils"):
        assert key in written["imaging"]
    assert "descent_mm" in written["motion"]


def test_ranges(generated):
    frames, labels, spacing, params = generated
    assert frames.dtype == np.float32 and labels.dtype == np.uint8
    assert frames.shape == labels.shape
    t, h, w = frames.shape
    assert 12 <= t <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert all(1.1 - 1e-9 <= s <= 1.5 + 1e-9 for s in spacing)
    assert np.all(np.isfinite(frames)) and frames.min() >= 0
    assert frames.max() > 0
    assert set(np.unique(labels).tolist()) == {0, 1, 2, 3}
    assert 5 <= params["snr"] <= 40


def test_one_piece_per_organ_and_order(generated):
    _, labels, _, _ = generated
    for t in range(len(labels)):
        for k in (1, 2, 3):
            _, n = ndi.label(labels[t] == k)
            assert n == 1, (t, k, n)
        cols = {k: np.nonzero(labels[t] == k)[1].mean() for k in (1, 3)}
        assert cols[1] < cols[3]


def test_organs_descend_at_peak(generated):
    _, labels, spacing, params = generated
    rest, peak = labels[params["rest_frame"]], labels[params["peak_frame"]]
    drop = np.nonzero(peak == 1)[0].mean() - np.nonzero(rest == 1)[0].mean()
    assert drop * spacing[0] > 2.0
    low = np.nonzero(peak == 1)[0].max() - np.nonzero(rest == 1)[0].max()
    assert low >= 1
    # the uterus/vagina and rectum move footwards too
    for k in (2, 3):
        assert np.nonzero(peak == k)[0].mean() >= np.nonzero(rest == k)[0].mean()


def test_deterministic(script, generated):
    frames, labels, spacing, params = script.generate(SEED)
    assert np.array_equal(frames, generated[0])
    assert np.array_equal(labels, generated[1])
    assert spacing == generated[2]
    assert json.dumps(params, sort_keys=True) == json.dumps(generated[3], sort_keys=True)


def test_variety_of_drawn_subjects(script):
    draws = [script.draw_subject(s) for s in range(40)]
    uterus = Counter(d["anatomy"]["uterus"] for d in draws)
    contrast = Counter(d["imaging"]["contrast"] for d in draws)
    content = Counter(d["anatomy"]["rectal_content"] for d in draws)
    assert len(uterus) >= 4 and len(contrast) >= 4 and len(content) >= 4
    fills = [d["anatomy"]["bladder_fill"] for d in draws]
    assert min(fills) < 0.25 and max(fills) > 0.75
    for d in draws:
        assert 12 <= d["n_frames"] <= 40
        assert 224 <= d["matrix"][0] <= 288 and 224 <= d["matrix"][1] <= 288
        assert all(1.1 <= s <= 1.5 for s in d["spacing_mm"])
        assert 0.5 <= d["frame_interval_s"] <= 2.5
        assert 0 <= d["rest_frame"] < d["peak_frame"] < d["n_frames"]
        assert 5 <= max(d["motion"]["descent_mm"].values()) <= 40
        json.dumps(d)
    assert script.draw_subject(3) == script.draw_subject(3)
