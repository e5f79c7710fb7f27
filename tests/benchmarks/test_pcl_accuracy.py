"""benchmarks/pcl_accuracy.py: the line placed once, the click error, the comparison."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("pcl_accuracy")


def test_one_line_takes_the_rest_frame_and_the_click_moves_each_end(script):
    from core.reference import COCCYX, PUBIS

    marks = {PUBIS: np.array([[0.0, 50.0], [1.0, 51.0], [2.0, 52.0]]),
             COCCYX: np.array([[90.0, 20.0], [91.0, 21.0], [92.0, 22.0]])}
    line = script.one_line(marks, 1, 3)
    np.testing.assert_allclose(line[PUBIS], [[1.0, 51.0]] * 3)
    shift = script.click_shift(np.random.default_rng(1), 2.0)
    np.testing.assert_allclose(np.hypot(shift[:, 0], shift[:, 1]), [2.0, 2.0])
    moved = script.one_line(marks, 1, 3, shift)
    np.testing.assert_allclose(moved[COCCYX][0], [91.0, 21.0] + shift[1])


def test_compare_scores_frames_the_max_and_the_bladder_grade(script):
    truth = pd.DataFrame({"organ": ["bladder"] * 3 + ["rectum"] * 3, "frame": [0, 1, 2] * 2,
                          "below_pcl_mm": [-5.0, 10.0, 28.0, 40.0, 45.0, 50.0]})
    pred = truth.copy()
    pred.loc[2, "below_pcl_mm"] = 32.0          # the bladder's max: 28 -> 32 (mild -> moderate)
    pred.loc[3, "below_pcl_mm"] = np.nan        # a frame without the organ is not scored
    out = script.compare(pred, truth).set_index("organ")
    assert out.loc["bladder", "frame_error_mm"] == pytest.approx(4 / 3)
    assert out.loc["bladder", "max_error_mm"] == pytest.approx(4.0)
    assert not out.loc["bladder", "grade_agrees"] and out.loc["bladder", "graded"]
    assert out.loc["rectum", "frame_error_mm"] == 0 and not out.loc["rectum", "graded"]


def test_a_small_run_writes_the_page(script, tmp_path):
    out = tmp_path / "pcl.md"
    assert script.main(["--seeds", "7610", "--frames", "4", "--out", str(out)]) == 0
    text = out.read_text()
    for cond in script.CONDITIONS:
        assert f"| {cond} | bladder |" in text
    assert "| reference point | rectum |" not in text     # the bladder base only
    assert "(not graded)" in text
