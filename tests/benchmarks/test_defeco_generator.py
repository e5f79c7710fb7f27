"""benchmarks/defeco_generator.py: one synthetic MR defecography case, written and read back."""

import json

import numpy as np
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 11  # a short case (15 frames) without rectocele, so the rectum empties fully


@pytest.fixture(scope="module")
def case(load_script, generate_one):
    script = load_script("defeco_generator")
    folder = generate_one(script, "defeco", SEED)
    params = json.loads((folder / "params.json").read_text())
    return script, folder, read_series(folder / "series"), np.load(folder / "truth.npy"), params


def test_written_series_matches_truth_and_params(case):
    _, _, series, truth, params = case
    assert truth.dtype == np.uint8
    assert series.frames.shape == truth.shape == tuple(params["shape"])
    assert series.spacing_mm == pytest.approx(tuple(params["spacing_mm"]))
    t_n, h, w = truth.shape
    assert 12 <= t_n <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert all(1.1 <= s <= 1.5 for s in series.spacing_mm)
    assert params["seed"] == SEED and params["sequence"] in ("bssfp", "ssfse")


def test_every_organ_is_one_piece_in_every_frame(case):
    truth = case[3]
    for t, frame in enumerate(truth):
        for k in (1, 2, 3):
            assert ndimage.label(frame == k)[1] == 1, f"organ {k} in frame {t}"


def test_bladder_is_anterior_to_rectum(case):
    truth = case[3]
    cols = np.arange(truth.shape[2])
    for frame in truth:
        bladder = cols[np.nonzero(frame == 1)[1]].mean()
        rectum = cols[np.nonzero(frame == 3)[1]].mean()
        assert bladder < rectum


def test_generate_is_deterministic_and_equals_written(case):
    script, _, series, truth, params = case
    frames, labels, spacing, again = script.generate(SEED)
    np.testing.assert_array_equal(labels, truth)
    assert spacing == tuple(params["spacing_mm"])
    assert again["subject"] == params["subject"]
    tol = 0.51 * script.rescale(frames)[1] + 1e-6 * float(np.abs(frames).max())
    assert float(np.abs(series.frames - frames).max()) <= tol


def test_evacuation_empties_and_descends(case):
    _, _, series, truth, _ = case
    area = (truth == 3).sum(axis=(1, 2))
    assert area.min() < 0.7 * area[0]
    lowest = np.array([np.nonzero((f == 3).any(axis=1))[0].max() for f in truth])
    assert (lowest.max() - lowest[0]) * series.spacing_mm[0] > 10.0


def test_rectal_gel_is_bright(case):
    _, _, series, truth, _ = case
    first = series.frames[0]
    assert first[truth[0] == 3].mean() > first.mean()
