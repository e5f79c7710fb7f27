"""benchmarks/patho_generator.py: pathology-heavy synthetic cine pelvic MRI (held-out set)."""

import json

import numpy as np
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 3


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("patho_generator")


@pytest.fixture(scope="module")
def case_dir(script, generate_one):
    return generate_one(script, "patho", SEED)


@pytest.fixture(scope="module")
def generated(script):
    return script.generate(SEED)


def test_written_case_reads_back_as_generated(case_dir, generated):
    frames, labels, spacing, params = generated
    series = read_series(case_dir / "series")
    assert series.frames.shape == frames.shape
    step = (float(frames.max()) - min(float(frames.min()), 0.0)) / 65000
    assert np.abs(series.frames - frames).max() <= 0.51 * step + 1e-4 * float(frames.max())
    assert np.allclose(series.spacing_mm, spacing)
    interval = params["frame_interval_s"]
    assert np.allclose(series.times_s, np.arange(frames.shape[0]) * interval, atol=1e-4)
    truth = np.load(case_dir / "truth.npy")
    assert truth.dtype == np.uint8
    assert np.array_equal(truth, labels)
    written = json.loads((case_dir / "params.json").read_text())
    assert written["seed"] == SEED
    assert written["labels"] == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
    for key in ("spacing_mm", "frame_interval_s", "snr", "rest_frame", "peak_frame",
                "pathologies", "imaging"):
        assert key in written


def test_ranges(generated):
    frames, labels, spacing, params = generated
    t, h, w = frames.shape
    assert frames.dtype == np.float32 and labels.dtype == np.uint8
    assert labels.shape == frames.shape
    assert 12 <= t <= 40
    assert 224 <= h <= 288 and 224 <= w <= 288
    assert all(1.1 <= s <= 1.5 for s in spacing)
    assert 0.5 <= params["frame_interval_s"] <= 2.5
    assert 6 <= params["snr"] <= 40
    assert params["labels"] == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    assert np.isfinite(frames).all() and frames.min() >= 0
    assert 0 <= params["rest_frame"] < params["peak_frame"] < t


def test_one_piece_per_organ_and_bladder_anterior(generated):
    _, labels, _, _ = generated
    four = ndimage.generate_binary_structure(2, 1)
    for frame in labels:
        for v in (1, 2, 3):
            _, n = ndimage.label(frame == v, structure=four)
            assert n == 1
        cols = np.arange(frame.shape[1])
        bladder_x = (cols * (frame == 1)).sum() / (frame == 1).sum()
        rectum_x = (cols * (frame == 3)).sum() / (frame == 3).sum()
        assert bladder_x < rectum_x


def test_organs_descend_during_strain(generated):
    _, labels, spacing, params = generated
    rest, peak = labels[params["rest_frame"]], labels[params["peak_frame"]]
    drops = []
    for v in (1, 2, 3):
        low_rest = np.nonzero((rest == v).any(axis=1))[0].max()
        low_peak = np.nonzero((peak == v).any(axis=1))[0].max()
        drops.append((low_peak - low_rest) * spacing[0])
    assert min(drops) >= 1.0
    assert 5.0 <= max(drops) <= 60.0


def test_deterministic(script, generated):
    frames, labels, spacing, params = script.generate(SEED)
    assert np.array_equal(frames, generated[0])
    assert np.array_equal(labels, generated[1])
    assert spacing == generated[2]
    assert json.dumps(params, sort_keys=True) == json.dumps(generated[3], sort_keys=True)


def test_pathology_variety(script):
    subjects = [script.draw_subject(s) for s in range(24)]
    imaging = [script.draw_imaging(s) for s in range(24)]
    assert any(s["hysterectomy"] for s in subjects)
    assert any(not s["hysterectomy"] for s in subjects)
    found = {p for s in subjects for p in s["pathologies"]}
    assert {"cystocele", "enterocele", "rectocele", "intussusception"} <= found
    assert {"uterine_prolapse", "vault_prolapse"} & found
    assert any(not s["pathologies"] for s in subjects)
    assert {s["version"] for s in subjects} >= {"anteverted", "retroverted"}
    assert any(s["fibroids"] for s in subjects)
    assert len({s["rectal_content"] for s in subjects}) == 4
    fills = [s["bladder_fill"] for s in subjects]
    assert min(fills) < 0.2 and max(fills) > 0.8
    assert {i["sequence"] for i in imaging} == {"bssfp", "ssfse"}
