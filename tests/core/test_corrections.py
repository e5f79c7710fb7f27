"""Hand corrections on an analysis result: provenance, saving, re-tracking, training source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from track.synthetic import ORGANS3, make_case

from core.corrections import retrack, run_retrack
from core.edit import paint, stroke_mask
from core.pipeline import AnalysisResult, run_analyze
from core.progress import Progress
from core.segment.infer import SegmentationResult


@pytest.fixture(scope="module")
def case():
    return make_case(shape=64, n_frames=6, spacing=2.0, seed=5)


class _Segmenter:
    """Returns the case's labels as the model's, with a fixed confidence."""

    def __init__(self, labels):
        self.labels = labels

    def segment(self, series):
        conf = np.full((series.n_frames, 3), 0.8, np.float32)
        res = SegmentationResult(self.labels.copy(), conf, "fake-model", ORGANS3)
        yield Progress("done", series.n_frames, series.n_frames, "", {"result": res})


def _model_result(case):
    return run_analyze(case.series, segmenter=_Segmenter(case.labels), n_points=16,
                       repair=False)


def _erase_bladder(result, frame):
    """The frame's labels with the bladder's lower half erased by a wide stroke."""
    lab = result.labels[frame]
    rows, cols = np.nonzero(lab == 1)
    mid = rows.mean()
    h, w = lab.shape
    mask = stroke_mask((h, w), result.series.spacing_mm,
                       [(mid + 12, -10), (mid + 12, w + 10)], 20.0)
    return paint(lab, mask, 0, only=1)


def test_a_correction_marks_the_frame_manual_and_keeps_the_model_it_came_from(case):
    res = _model_result(case)
    assert res.provenance is None and res.manual_frames == []
    new = _erase_bladder(res, 3)
    others = res.labels[[0, 1, 2, 4, 5]].copy()
    res.set_manual_labels(3, new)
    assert res.manual_frames == [3]
    np.testing.assert_array_equal(res.labels[3], new)
    np.testing.assert_array_equal(res.labels[[0, 1, 2, 4, 5]], others)
    rec = res.provenance[3]
    assert rec["source"] == "manual" and rec["edited_from"] == "fake-model"
    assert all(p == {"source": "auto", "model_id": "fake-model", "time": p["time"]}
               for i, p in enumerate(res.provenance) if i != 3)
    res.set_manual_labels(3, new)  # corrected again: still names the model
    assert res.provenance[3]["edited_from"] == "fake-model"


@pytest.mark.parametrize("frame, labels, match", [
    (6, None, "frame"), (-1, None, "frame"), (True, None, "frame"),
    (0, np.zeros((3, 3), np.uint8), "expected"), (0, np.full((64, 64), 4), "0..3"),
])
def test_bad_corrections_are_refused(case, frame, labels, match):
    res = _model_result(case)
    lab = np.zeros((64, 64), np.uint8) if labels is None else labels
    before = res.labels.copy()
    with pytest.raises(ValueError, match=match):
        res.set_manual_labels(frame, lab)
    np.testing.assert_array_equal(res.labels, before)


def test_manual_frames_survive_saving_and_loading(case, tmp_path):
    from core.project import load_project, manual_frames, save_project

    res = _model_result(case)
    res.set_manual_labels(2, _erase_bladder(res, 2))
    path = tmp_path / "corrected.pvt"
    save_project(res.to_project(), path)
    back = AnalysisResult.from_project(load_project(path))
    assert back.manual_frames == [2] and back.model_id == "fake-model"
    np.testing.assert_array_equal(back.labels, res.labels)
    # saved again after loading: the corrections are still there, not re-stamped "auto"
    save_project(back.to_project(), path)
    again = load_project(path)
    assert manual_frames(again) == [2]
    assert again.provenance[2]["edited_from"] == "fake-model"
    assert again.provenance[0]["time"] == back.provenance[0]["time"]


def test_a_saved_correction_is_a_training_source(case, tmp_path):
    from core.project import save_project
    from core.segment.data import project_source

    res = _model_result(case)
    new = _erase_bladder(res, 4)
    res.set_manual_labels(4, new)
    path = tmp_path / "train.pvt"
    save_project(res.to_project(), path)
    images, labels, spacing = project_source(path, ORGANS3)
    np.testing.assert_array_equal(images, case.series.frames[[4]])
    np.testing.assert_array_equal(labels, new[None])
    assert tuple(spacing) == tuple(case.series.spacing_mm)


def test_retrack_follows_the_corrected_labels_and_keeps_the_rest(case):
    res = _model_result(case)
    area_before = res.frames.query("organ == 'bladder' and frame == 3")["area_mm2"].item()
    res.set_manual_labels(3, _erase_bladder(res, 3))
    res.settings["repaired_frames"] = {"rectum": [2]}     # an earlier analysis redrew it
    stages, out = [], None
    for p in retrack(res, device="cpu"):
        stages.append(p.stage)
        if p.stage == "done":
            out = p.data["result"]
    assert stages[-1] == "done" and "track" in stages
    row = out.frames.query("organ == 'bladder' and frame == 3")
    true_area = float((res.labels[3] == 1).sum()) * np.prod(case.series.spacing_mm)
    assert row["area_mm2"].item() < 0.8 * area_before
    assert row["area_mm2"].item() == pytest.approx(true_area, rel=0.1)
    # the model's id, confidence and settings stay; a hand-drawn frame has no confidence
    assert out.model_id == "fake-model" and out.manual_frames == [3]
    assert np.isnan(out.frames.query("frame == 3")["confidence"]).all()
    np.testing.assert_allclose(out.frames.query("frame != 3")["confidence"], 0.8, rtol=1e-6)
    assert out.settings["manual_frames"] == [3]
    assert out.settings["segmentation_piece_weight"] == res.settings["segmentation_piece_weight"]
    assert out.settings["rest_frame"] == res.settings["rest_frame"]
    np.testing.assert_array_equal(out.labels, res.labels)
    # the table is the one frame_table makes of the new tracks (not computed twice)
    from core.indices import frame_table

    conf = res.confidence.astype(np.float32).copy()
    conf[3] = np.nan
    pd.testing.assert_frame_equal(out.frames, frame_table(
        out.points, case.series, out.labels, out.organs, confidence=conf,
        rest_frame=out.tracks.rest_frame, flagged=out.settings["flagged_frames"],
        repaired={"rectum": [2]}))
    assert out.frames.query("repaired")[["organ", "frame"]].values.tolist() == [["rectum", 2]]
    # the other frames' tracks are those of the same labels
    other = out.frames.query("organ == 'bladder' and frame == 1")["area_mm2"].item()
    assert other == pytest.approx(
        res.frames.query("organ == 'bladder' and frame == 1")["area_mm2"].item(), rel=1e-6)


def test_the_readme_correction_recipe_runs(case):
    res = _model_result(case)
    series = res.series
    mask = stroke_mask(series.shape, series.spacing_mm, [(20, 20), (25, 30)], radius_mm=3)
    res.set_manual_labels(1, paint(res.labels[1], mask, 0, only=1))
    out = run_retrack(res)
    assert out.manual_frames == [1] and out.model_id == "fake-model"
    np.testing.assert_array_equal(out.labels[1], res.labels[1])


class _OtherModel(_Segmenter):
    """A 'fine-tuned' model: the truth everywhere, a different id and confidence."""

    def segment(self, series):
        conf = np.full((series.n_frames, 3), 0.95, np.float32)
        res = SegmentationResult(self.labels.copy(), conf, "tuned-model", ORGANS3)
        yield Progress("done", series.n_frames, series.n_frames, "", {"result": res})


def test_resegment_keeps_the_corrected_frames_and_takes_the_new_models_others(case):
    from core.corrections import resegment

    res = _model_result(case)
    fixed = _erase_bladder(res, 3)
    res.set_manual_labels(3, fixed)
    record = dict(res.provenance[3])
    out = None
    for p in resegment(res, segmenter=_OtherModel(case.labels), device="cpu", repair=False):
        if p.stage == "done":
            out = p.data["result"]
    np.testing.assert_array_equal(out.labels[3], fixed)
    others = [0, 1, 2, 4, 5]
    np.testing.assert_array_equal(out.labels[others], case.labels[others])
    assert out.model_id == "tuned-model" and out.manual_frames == [3]
    assert out.provenance[3] == record
    assert all(out.provenance[t]["model_id"] == "tuned-model" for t in others)
    assert np.isnan(out.confidence[3]).all()
    np.testing.assert_allclose(out.confidence[others], 0.95)
    assert out.settings["manual_frames"] == [3]


def test_fixed_frames_are_never_redrawn_by_the_repair(case):
    from track.test_repair import truncate

    bad = truncate(case.labels, [4, 5])
    plain = run_analyze(case.series, segmenter=_Segmenter(bad), n_points=16)
    assert plain.settings["repaired_frames"] == {"bladder": [4, 5]}
    res = run_analyze(case.series, segmenter=_Segmenter(bad), n_points=16,
                      fixed_frames={5: bad[5]})
    np.testing.assert_array_equal(res.labels[5], bad[5])   # kept as given
    assert res.settings["repaired_frames"] == {"bladder": [4]}
    assert not np.array_equal(res.labels[4], bad[4])        # the other one is redrawn


@pytest.mark.parametrize("fixed, match", [
    ({6: np.zeros((64, 64))}, "not a frame"),
    ({True: np.zeros((64, 64))}, "not a frame"),
    ({0: np.zeros((8, 8))}, "expected"),
    ({0: np.full((64, 64), 9)}, "0..3"),
])
def test_bad_fixed_frames_are_refused(case, fixed, match):
    with pytest.raises(ValueError, match=match):
        run_analyze(case.series, segmenter=_Segmenter(case.labels), fixed_frames=fixed)
