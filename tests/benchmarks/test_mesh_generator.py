"""benchmarks/mesh_generator.py: a fourth independent phantom, held out for testing."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("mesh_generator")


def test_a_case_reads_back_and_is_anatomically_ordered(script, tmp_path):
    script.main(["--seeds", "4", "--out", str(tmp_path)])  # asserts the read-back itself
    truth = np.load(tmp_path / "mesh_4" / "truth.npy")
    assert truth.dtype == np.uint8 and set(np.unique(truth)) == {0, 1, 2, 3}
    cols = [np.nonzero(truth[0] == k)[1].mean() for k in (1, 3)]
    assert cols[0] < cols[1]  # anterior on the left: bladder in front of the rectum
    np.testing.assert_array_equal(script.generate(4)[1], truth)
