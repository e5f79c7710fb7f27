"""benchmarks/massspring_generator.py: a tenth independent phantom (mass-spring motion)."""

import json

import numpy as np
import pytest
from scipy import ndimage

SEED = 0


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("massspring_generator")


@pytest.fixture(scope="module")
def case(script, generate_one):
    return generate_one(script, "massspring", SEED)  # the script checks read-back


def test_case_reads_back_in_range_and_ordered(script, case):
    from core.io import read_series

    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    series = read_series(case / "series.nii")
    assert truth.dtype == np.uint8 and truth.shape == series.frames.shape
    t, h, w = truth.shape
    assert params["shape"] == [t, h, w] and 12 <= t <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert np.allclose(series.spacing_mm, params["spacing_mm"])
    assert all(1.1 <= s <= 1.5 for s in params["spacing_mm"])
    assert set(np.unique(truth)) == {0, 1, 2, 3}
    for frame in truth:
        for k in (1, 2, 3):
            assert ndimage.label(frame == k)[1] == 1  # each organ one piece, every frame
        cols = [np.nonzero(frame == k)[1].mean() for k in (1, 3)]
        assert cols[0] < cols[1]  # anterior on the left: bladder in front of the rectum
    frames, labels, spacing, again = script.generate(SEED)
    np.testing.assert_array_equal(labels, truth)
    np.testing.assert_allclose(frames, series.frames, rtol=1e-5, atol=1e-3)
    assert again["seed"] == SEED and list(spacing) == params["spacing_mm"]


def test_bladder_descends_under_strain(case):
    truth = np.load(case / "truth.npy")
    row_mm = json.loads((case / "params.json").read_text())["spacing_mm"][0]
    lowest = [np.nonzero((f == 1).any(1))[0].max() for f in truth]
    assert (max(lowest) - min(lowest)) * row_mm > 5.0
