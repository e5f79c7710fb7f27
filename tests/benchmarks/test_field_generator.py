"""The implicit-field phantom generator (benchmarks/field_generator.py): one case end to end."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("field_generator")


def test_one_case_written_read_back_and_deterministic(script, tmp_path):
    assert script.main(["--seeds", "4", "--out", str(tmp_path)]) == 0
    case = tmp_path / "field_004"
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())

    assert truth.dtype == np.uint8
    assert set(np.unique(truth)) == {0, 1, 2, 3}
    assert truth.shape == tuple(params["shape"])
    for label in (1, 2, 3):  # every organ in every frame
        assert (truth == label).sum(axis=(1, 2)).min() > 0
    rows, cols = np.indices(truth.shape[1:])
    rest = truth[0]
    # canonical sagittal: bladder anterior (left) of the rectum, above the anal end
    assert cols[rest == 1].mean() < cols[rest == 3].mean()
    assert rows[rest == 1].mean() < rows[rest == 3].max()

    frames, again, spacing, _ = script.generate(4)
    assert np.array_equal(again, truth)
    assert frames.dtype == np.float32 and frames.shape == truth.shape
    assert tuple(spacing) == tuple(params["spacing_mm"])
