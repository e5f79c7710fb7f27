"""Bad segmentation frames redrawn from the rest outline moved by the image motion."""

import numpy as np
import pytest
import torch

from core.metrics import dice
from core.track import track_organs
from core.track.repair import repair_labels

from .synthetic import ORGANS3, make_case

torch.set_num_threads(2)
BAD = [5, 6, 7]


def truncate(labels: np.ndarray, frames, k: int = 1) -> np.ndarray:
    """Labels whose organ k lost its upper third in ``frames``."""
    out = labels.copy()
    for t in frames:
        rows = np.flatnonzero((out[t] == k).any(axis=1))
        cut = rows[0] + (rows[-1] - rows[0]) // 3
        top = out[t, :cut]
        top[top == k] = 0
    return out


@pytest.fixture(scope="module")
def case():
    return make_case(shape=96, n_frames=9, spacing=1.6, seed=3)


def tracks_of(case, labels):
    for p in track_organs(case.series, labels, ORGANS3, n_points=64):
        if p.stage == "done":
            return p.data["result"]
    raise AssertionError("no result")


def test_truncated_frames_are_redrawn_close_to_the_truth(case):
    bad_labels = truncate(case.labels, BAD)
    tracks = tracks_of(case, bad_labels)
    assert set(tracks.propagated["bladder"]) == set(BAD)
    assert tracks.propagated["rectum"] == {} and tracks.propagated["uterus_vagina"] == {}
    fixed, repaired = repair_labels(bad_labels, tracks, ORGANS3, case.series.spacing_mm)
    assert repaired == {"bladder": BAD}
    assert not np.shares_memory(fixed, bad_labels)
    for t in BAD:
        before = dice(bad_labels[t] == 1, case.labels[t] == 1)
        after = dice(fixed[t] == 1, case.labels[t] == 1)
        assert before < 0.9 and after > 0.95, (t, before, after)
        # other organs keep every pixel; the contour used by the tables follows
        for k in (2, 3):
            np.testing.assert_array_equal(fixed[t] == k, bad_labels[t] == k)
        c = tracks.contours["bladder"][t]
        assert c[:, 1].min() < case.series.spacing_mm[0] * np.flatnonzero(
            (bad_labels[t] == 1).any(axis=1))[0] - 3  # reaches above the cut
    others = [t for t in range(9) if t not in BAD]
    np.testing.assert_array_equal(fixed[others], bad_labels[others])


def test_most_frames_flagged_warns_that_the_rest_frame_may_be_wrong():
    from core.track.tracker import flag_frames

    present = np.ones(10, bool)
    gap = np.full(10, 0.3)
    gap[5:] = 2.0  # 5 of 9 frames disagree; the rest frame's neighbours agree with it
    bad, _, note = flag_frames("rectum", gap, present, 0)
    assert bad.tolist() == [False] * 5 + [True] * 5  # still flagged (and redrawn)
    assert note is not None and note.startswith(
        "rectum: 5 of 9 frames disagree with the rest frame 0") and "--no-repair" in note
    gap[5] = 0.3  # 4 of 9: no note
    bad, _, note = flag_frames("rectum", gap, present, 0)
    assert int(bad.sum()) == 4 and note is None


def test_nothing_flagged_means_nothing_changed(case):
    tracks = tracks_of(case, case.labels)
    fixed, repaired = repair_labels(case.labels, tracks, ORGANS3, case.series.spacing_mm)
    assert repaired == {}
    np.testing.assert_array_equal(fixed, case.labels)


def test_a_wrong_rest_frame_is_not_imposed_on_the_good_frames(case):
    from core.track.tracker import rest_is_suspect

    bad_rest = truncate(case.labels, [0])
    tracks = tracks_of(case, bad_rest)
    assert not tracks.flagged["bladder"].any() and tracks.propagated["bladder"] == {}
    assert any(w.startswith("bladder: the frames next to the rest frame 0 disagree")
               for w in tracks.warnings), tracks.warnings
    fixed, repaired = repair_labels(bad_rest, tracks, ORGANS3, case.series.spacing_mm)
    assert repaired == {}
    np.testing.assert_array_equal(fixed, bad_rest)

    present = np.ones(10, bool)
    quiet = np.full(10, 0.3)
    assert not rest_is_suspect(quiet, present, 0, quiet > 1.0)
    far = quiet.copy()
    far[1:5] = 2.0  # the four frames next to the rest frame disagree with it
    assert rest_is_suspect(far, present, 0, far > 1.0)
    assert not rest_is_suspect(far, present, 9, far > 1.0)  # frames 8, 7, 6, 5 agree
    most = np.full(10, 1.2)
    most[1] = 0.3
    assert rest_is_suspect(most, present, 0, most > 1.0)  # 8 of 9 frames flagged
    most[2] = 0.3
    assert not rest_is_suspect(most, present, 0, most > 1.0)  # 7 of 9


def test_when_most_frames_disagree_but_the_neighbours_agree_only_gross_frames_are_flagged(
        monkeypatch):
    import core.track.tracker as tracker

    present = np.ones(30, bool)
    gap = np.full(30, 0.3)  # frames 1-4, next to the rest frame, agree with it
    gap[5:] = 2.5  # 25 of 29 disagree (a shape the registration does not follow) ...
    gap[[8, 9, 20]] = [15.0, 14.0, 16.0]  # ... three with the organ drawn elsewhere
    bad, thr, note = tracker.flag_frames("uterus_vagina", gap, present, 0)
    assert tracker.rest_is_suspect(gap, present, 0, gap > thr)  # by the 80 % rule
    assert np.flatnonzero(bad).tolist() == [8, 9, 20]  # only the frames > 4 mm off
    assert note.startswith("uterus_vagina: most frames disagree with the rest frame 0") and (
        "more than 4 mm off" in note and "--no-repair" in note)

    gap[[8, 9, 20]] = 3.0  # nothing gross: the rest frame is doubted, nothing flagged
    bad, _, note = tracker.flag_frames("uterus_vagina", gap, present, 0)
    assert not bad.any() and "no frame was corrected" in note

    gap[[8, 9, 20]] = 15.0
    gap[1:5] = 2.0  # the neighbours disagree too: the rest frame is the odd one out
    bad, _, note = tracker.flag_frames("uterus_vagina", gap, present, 0)
    assert not bad.any() and "no frame was corrected" in note

    monkeypatch.setattr(tracker, "GROSS_GAP_MM", 0.0)  # off: the earlier behaviour
    gap[1:5] = 0.3
    bad, _, note = tracker.flag_frames("uterus_vagina", gap, present, 0)
    assert not bad.any() and "no frame was corrected" in note
