"""benchmarks/spline_generator.py: a third independent phantom, held out for testing."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("spline_generator")


def test_a_case_reads_back_and_is_anatomically_ordered(script, tmp_path):
    script.main(["--seeds", "2", "--out", str(tmp_path)])  # asserts the read-back itself
    truth = np.load(tmp_path / "spline_2" / "truth.npy")
    assert truth.dtype == np.uint8 and set(np.unique(truth)) == {0, 1, 2, 3}
    # anterior on the left: bladder in front of the rectum
    cols = [np.nonzero(truth[0] == k)[1].mean() for k in (1, 3)]
    assert cols[0] < cols[1]
    again = script.make_case(2)
    np.testing.assert_array_equal(again[1], truth)
