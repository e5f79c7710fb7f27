"""benchmarks/fine_tune_round.py: which frames are corrected, and how they are scored."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("fine_tune_round")


def test_corrected_frames_are_evenly_spaced_with_both_ends(script):
    assert script.corrected_frames(24, 4) == [0, 8, 15, 23]
    assert script.corrected_frames(3, 4) == [0, 1, 2]
    assert script.corrected_frames(10, 1) == [0]


def test_score_skips_corrected_frames_and_counts_missing_organs(script):
    truth = np.zeros((3, 20, 20), np.uint8)
    truth[:, 5:10, 5:10] = 1
    truth[:, 12:16, 12:16] = 2
    pred = truth.copy()
    pred[1][pred[1] == 2] = 0           # frame 1: the uterus is missing
    pred[2] = np.roll(truth[2], 3, 1)   # frame 2: everything 3 px to the right
    s = script.score(pred, truth, (1.0, 1.0))
    assert s["one_empty_uterus_vagina"] == 1 and s["one_empty_bladder"] == 0
    assert s["dsc_uterus_vagina"] == pytest.approx((1 + 0 + 0.25) / 3)
    assert s["hd95_bladder"] == pytest.approx((0 + 0 + 3) / 3)
    assert s["hd95_uterus_vagina"] == pytest.approx(1.5)  # frame 1 has no HD95
    assert s["hd95_rectum"] == 0  # no rectum in either: 0 by definition
    only0 = script.score(pred, truth, (1.0, 1.0), skip=(1, 2))
    assert only0["dsc_bladder"] == 1 and only0["one_empty_uterus_vagina"] == 0
