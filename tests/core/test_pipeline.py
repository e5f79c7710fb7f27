"""analyze(): stages, result, tables and written files on a small moving case."""

import numpy as np
import pytest
import torch
from track.synthetic import ORGANS3, make_case

from core.indices import FRAME_COLUMNS, POINT_COLUMNS
from core.pipeline import AnalysisResult, analyze, run_analyze
from core.segment.infer import SegmentationResult

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def case():
    c = make_case(shape=64, n_frames=6, spacing=2.0, seed=5)
    c.series.meta.update(patient_name="DOE^JANE", patient_id="PID-991", subject_id="alias-5")
    return c


@pytest.fixture(scope="module")
def result(case):
    return run_analyze(case.series, labels=case.labels, n_points=24)


def test_stages_in_order_and_result(case):
    stages = []
    for p in analyze(case.series, labels=case.labels, n_points=24):
        if not stages or stages[-1] != p.stage:
            stages.append(p.stage)
        last = p
    assert stages == ["read", "segment", "track", "indices", "done"]
    res = last.data["result"]
    assert isinstance(res, AnalysisResult)
    assert res.organs == ORGANS3 and res.model_id == "given"
    assert res.tracks.points["bladder"].shape == (6, 24, 2)
    assert res.settings["n_points"] == 24 and res.settings["rest_frame"] == 0
    assert res.settings["segmentation_backend"] is None  # labels given: no network ran
    assert res.settings["segmentation_scales"] is None
    assert res.settings["segmentation_temporal_weight"] is None
    assert res.settings["segmentation_touch_mm"] is None
    assert res.settings["segmentation_piece_weight"] is None
    assert res.settings["segmentation_zoom_roi_mm"] is None


def test_settings_record_how_the_network_ran(case):
    import torch

    from core.segment.infer import Segmenter
    from core.segment.unet import UNet

    torch.manual_seed(0)
    seg = Segmenter(UNet(base_channels=4, depth=2), device="cpu", backend="torch",
                    scales=(0.9, 1.1), temporal_weight=0.15, touch_mm=2.0, piece_weight=1.5,
                    zoom_roi_mm=24.0, config={"organs": list(ORGANS3), "spacing_mm": 1.25})
    res = run_analyze(case.series, segmenter=seg, n_points=16, repair=False)
    assert res.settings["segmentation_backend"] == "torch"
    assert res.settings["segmentation_scales"] == [0.9, 1.1]
    assert res.settings["segmentation_temporal_weight"] == 0.15
    assert res.settings["segmentation_touch_mm"] == 2.0
    assert res.settings["segmentation_piece_weight"] == 1.5
    assert res.settings["segmentation_zoom_roi_mm"] == 24.0


def test_tables(result, case):
    assert list(result.points.columns) == list(POINT_COLUMNS)
    assert list(result.frames.columns) == list(FRAME_COLUMNS)
    assert len(result.points) == 3 * 6 * 24 and len(result.frames) == 3 * 6
    assert set(result.points["subject"]) == {"alias-5"}
    # the field moves the bladder down (y grows caudally): positive descent at peak
    peak = int(np.argmax(case.strain))
    b = result.frames[(result.frames.organ == "bladder") & (result.frames.frame == peak)]
    assert b["descent_mm"].iloc[0] > 3.0
    text = result.points.to_csv() + result.frames.to_csv()
    assert "DOE" not in text and "PID-991" not in text


def test_segmenter_is_used_and_confidence_lands_in_frames(case):
    class FakeSegmenter:
        batches = []

        def segment(self, series, batch_size=None):
            from core.progress import Progress

            self.batches.append(batch_size)
            yield Progress("segment", 0, series.n_frames)
            conf = np.full((series.n_frames, 3), 0.9, np.float32)
            res = SegmentationResult(case.labels, conf, "fake-1", ORGANS3)
            yield Progress("done", series.n_frames, series.n_frames, "", {"result": res})

    fake = FakeSegmenter()
    res = run_analyze(case.series, segmenter=fake, n_points=16)
    assert res.model_id == "fake-1"
    np.testing.assert_allclose(res.frames["confidence"], 0.9, rtol=1e-6)
    run_analyze(case.series, segmenter=fake, n_points=16, batch_size=3)
    assert fake.batches == [None, 3]  # the segmenter's default unless given


def test_bad_arguments(case):
    with pytest.raises(ValueError, match="rest_frame"):
        run_analyze(case.series, labels=case.labels, rest_frame=9)
    from core.errors import TrackingError

    with pytest.raises(TrackingError, match="do not match"):
        run_analyze(case.series, labels=case.labels[:3])
    with pytest.raises(TypeError, match="CineSeries or a path"):
        run_analyze(42, labels=case.labels)


def test_write_outputs(result, tmp_path):
    load_project = pytest.importorskip("core.project").load_project
    from core.export import read_labels_nifti
    from core.pipeline import write_outputs

    written = write_outputs(result, tmp_path, fmt="csv")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["analysis.pvt", "frames.csv", "labels.nii.gz", "overlay.gif", "points.csv",
                     "report.html"]
    assert set(written) == {"labels", "points", "frames", "project", "overlay", "report"}
    import re

    report = re.sub(r"base64,[A-Za-z0-9+/=]+", "", (tmp_path / "report.html").read_text())
    assert "DOE" not in report and "PID-991" not in report and "alias-5" in report
    np.testing.assert_array_equal(read_labels_nifti(tmp_path / "labels.nii.gz"), result.labels)
    proj = load_project(tmp_path / "analysis.pvt")
    np.testing.assert_allclose(proj.tracks["bladder"]["points"],
                               result.tracks.points["bladder"])
    for f in ("points.csv", "frames.csv"):
        text = (tmp_path / f).read_text()
        assert "DOE" not in text and "PID-991" not in text and "alias-5" in text
    assert proj.series.meta.get("patient_name", "") == ""


def test_from_project_round_trip(result, tmp_path):
    project = pytest.importorskip("core.project")
    path = tmp_path / "a.pvt"
    project.save_project(result.to_project(), path)
    back = AnalysisResult.from_project(project.load_project(path))
    assert back.organs == result.organs and back.tracks.rest_frame == 0
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(back.points, result.points)
    pd_testing.assert_frame_equal(back.frames, result.frames, check_exact=False, atol=1e-6)


def _truncated_segmenter(case, frames):
    from track.test_repair import truncate

    labels = truncate(case.labels, frames)

    class TruncatingSegmenter:
        def segment(self, series):
            from core.progress import Progress

            conf = np.full((series.n_frames, 3), 0.8, np.float32)
            res = SegmentationResult(labels, conf, "fake-trunc", ORGANS3)
            yield Progress("done", series.n_frames, series.n_frames, "", {"result": res})

    return TruncatingSegmenter(), labels


def test_model_frames_that_disagree_with_the_motion_are_repaired(case):
    from core.metrics import dice

    segmenter, bad = _truncated_segmenter(case, [4, 5])
    res = run_analyze(case.series, segmenter=segmenter, n_points=16)
    assert res.settings["repaired_frames"] == {"bladder": [4, 5]}
    assert any(w.startswith("bladder: labels of frames 4–5 redrawn") for w in res.tracks.warnings)
    assert any(w.startswith("bladder: in frames 4–5") for w in res.settings["warnings"])
    for t in (4, 5):
        assert dice(res.labels[t] == 1, case.labels[t] == 1) > dice(bad[t] == 1,
                                                                   case.labels[t] == 1)
    # the frame table measures the repaired outline
    area = res.frames[(res.frames.organ == "bladder")].set_index("frame")["area_mm2"]
    assert area[4] == pytest.approx(area[3], rel=0.15)
    prov = res.to_project().provenance
    assert prov[4]["repaired"] == ["bladder"] and "repaired" not in prov[3]
    # the frame table says which frames were flagged and redrawn, also after a save
    fr = res.frames.set_index(["organ", "frame"])
    assert res.settings["flagged_frames"] == {"bladder": [4, 5]}
    assert fr.loc[("bladder", 4), "flagged"] and fr.loc[("bladder", 5), "repaired"]
    assert int(fr["repaired"].sum()) == 2 and int(fr["flagged"].sum()) == 2
    assert not fr.loc[("rectum", 4), "repaired"]
    back = AnalysisResult.from_project(res.to_project())
    assert back.frames["repaired"].tolist() == res.frames["repaired"].tolist()
    assert back.frames["flagged"].tolist() == res.frames["flagged"].tolist()

    kept = run_analyze(case.series, segmenter=segmenter, n_points=16, repair=False)
    np.testing.assert_array_equal(kept.labels, bad)
    assert kept.settings["repaired_frames"] == {}
    # labels given by the user are never redrawn, only flagged
    given = run_analyze(case.series, labels=bad, n_points=16)
    np.testing.assert_array_equal(given.labels, bad)
    assert any(w.startswith("bladder: in frames 4–5") for w in given.tracks.warnings)
    g = given.frames.set_index(["organ", "frame"])
    assert g.loc[("bladder", 4), "flagged"] and not g["repaired"].any()


def test_one_slice_of_a_multi_slice_nifti_is_analysed_and_exported_in_place(case, tmp_path):
    """analyze(path, slice_index=1) on a sagittal (W, H, Z, T) NIfTI stored feet→head:
    the chosen slice is read canonical, and its label map is written on that slice's
    grid, in the source's stored order."""
    import nibabel as nib

    from core.pipeline import write_outputs

    canon = case.series.frames  # (T, H, W), canonical
    stored = np.transpose(canon[:, ::-1, :], (2, 1, 0))  # (W, H, T), rows feet→head
    data = np.stack([stored * 0.5, stored, stored * 2.0], axis=2)  # (W, H, Z=3, T)
    affine = np.eye(4)
    affine[:3, 0] = (0.0, -2.0, 0.0)  # columns: posterior
    affine[:3, 1] = (0.0, 0.0, 2.0)  # rows: head
    affine[:3, 2] = (4.0, 0.0, 0.0)  # slices 4 mm apart along x
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 0.4
    nib.save(img, tmp_path / "ms.nii.gz")
    res = run_analyze(tmp_path / "ms.nii.gz", labels=case.labels, n_points=16, slice_index=1)
    np.testing.assert_allclose(res.series.frames, canon, rtol=1e-6)
    assert res.series.meta["slice_index"] == 1
    write_outputs(res, tmp_path / "out", fmt="csv", overlay=False)
    lab = nib.load(tmp_path / "out" / "labels.nii.gz")
    # written on the source's grid: slice 1's affine, the source's stored order
    expected_affine = affine.copy()
    expected_affine[:3, 3] += affine[:3, 2]
    np.testing.assert_allclose(lab.affine, expected_affine)
    np.testing.assert_array_equal(np.asarray(lab.dataobj),
                                  np.transpose(res.labels[:, ::-1, :], (2, 1, 0)))


def test_an_organ_found_in_no_frame_is_named_and_the_rest_is_measured(case, tmp_path):
    import warnings

    from core.pipeline import write_outputs

    labels = np.asarray(case.labels).copy()
    labels[labels == 2] = 0  # no uterus_vagina anywhere (after a hysterectomy, say)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no all-NaN reductions on the way
        res = run_analyze(case.series, labels=labels, n_points=24)
        written = write_outputs(res, tmp_path, fmt="csv", overlay=False)
    notes = res.settings["warnings"]
    assert [n.split(":")[0] for n in notes if "found in no frame" in n] == ["uterus_vagina"]
    frames = res.frames.set_index("organ")
    assert frames.loc["uterus_vagina", "area_mm2"].isna().all()
    assert frames.loc["bladder", "area_mm2"].notna().all()
    assert set(written) == {"labels", "points", "frames", "project", "report"}
