"""``pelvitrack analyze``: files written, summary, pseudonymisation, bad input."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from app.cli import main
from core.progress import Progress
from core.segment.infer import SegmentationResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from track.synthetic import ORGANS3, make_case  # noqa: E402

torch.set_num_threads(2)

project = pytest.importorskip("core.project")


@pytest.fixture(scope="module")
def case():
    return make_case(shape=64, n_frames=5, spacing=2.0, seed=9)


@pytest.fixture()
def input_file(case, tmp_path):
    """A project file holding the series with a patient identity (a readable input)."""
    series = case.series
    series.meta.update(patient_name="DOE^JANE", patient_id="PID-123", subject_id="alias-9")
    path = tmp_path / "input.pvt"
    project.save_project(project.Project(series=series, organs=ORGANS3), path)
    return path


@pytest.fixture()
def fake_segmenter(case, monkeypatch):
    """Replace the model by one returning the true labels (until a model ships)."""

    made = []

    class Fake:
        def __init__(self, model=None, device="auto", backend="auto", scales=None,
                     temporal_weight=None, touch_mm=None, piece_weight=None,
                     zoom_roi_mm=None):
            self.model = model
            made.append({"model": model, "device": device, "backend": backend,
                         "scales": scales, "temporal_weight": temporal_weight,
                         "touch_mm": touch_mm, "piece_weight": piece_weight,
                         "zoom_roi_mm": zoom_roi_mm})

        def segment(self, series):
            t = series.n_frames
            yield Progress("segment", 0, t, "")
            res = SegmentationResult(case.labels, np.full((t, 3), 0.8, np.float32),
                                     "fake-model", ORGANS3)
            yield Progress("done", t, t, "", {"result": res})

    monkeypatch.setattr("core.segment.infer.shared_segmenter", Fake)
    return made


def test_analyze_writes_all_files(input_file, fake_segmenter, tmp_path, capsys, case):
    out = tmp_path / "out"
    rc = main(["analyze", str(input_file), "--out", str(out), "--points", "32"])
    assert rc == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["analysis.pvt", "frames.csv", "labels.nii.gz", "overlay.gif", "points.csv",
                     "report.html"]
    printed = capsys.readouterr().out
    assert "bladder" in printed and "max descent" in printed
    pts = pd.read_csv(out / "points.csv")
    frames = pd.read_csv(out / "frames.csv")
    assert len(pts) == 3 * 5 * 32 and len(frames) == 3 * 5
    # pseudonymised: the alias, never the name or id
    assert set(pts["subject"]) == {"alias-9"} and set(frames["subject"]) == {"alias-9"}
    for f in ("points.csv", "frames.csv"):
        text = (out / f).read_text()
        assert "DOE" not in text and "PID-123" not in text
    proj = project.load_project(out / "analysis.pvt")
    assert proj.series.meta.get("patient_name", "") == ""
    assert proj.tracks["rectum"]["points"].shape == (5, 32, 2)
    # NIfTI round trip keeps the orientation: frame t rows x cols equals the labels
    from core.export import read_labels_nifti

    np.testing.assert_array_equal(read_labels_nifti(out / "labels.nii.gz"), case.labels)
    import nibabel as nib

    img = nib.load(out / "labels.nii.gz")
    assert img.header.get_zooms()[:2] == pytest.approx((2.0, 2.0))
    # documented layout (W, H, T): data[:, :, t].T is frame t as rows x columns, so
    # the (asymmetric) organ layout is not flipped or transposed
    data = np.asarray(img.dataobj)
    assert data.shape == (64, 64, 5)
    np.testing.assert_array_equal(data[:, :, 2].T, case.labels[2])


def test_keep_identity_and_parquet(input_file, fake_segmenter, tmp_path):
    out = tmp_path / "out"
    rc = main(["analyze", str(input_file), "--out", str(out), "--points", "16",
               "--format", "parquet", "--keep-identity", "--rest-frame", "1", "--no-video"])
    assert rc == 0
    pts = pd.read_parquet(out / "points.parquet")
    assert set(pts["subject"]) == {"PID-123"}
    assert "DOE^JANE" not in pts.to_csv()  # the name never goes into a table
    rest = pts[pts.frame == 1]
    np.testing.assert_allclose(rest["displacement_mm"], 0.0, atol=1e-9)
    assert not (out / "overlay.gif").exists()


def test_bad_input_is_one_line_error(tmp_path, capsys):
    rc = main(["analyze", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


def test_inference_options_reach_the_segmenter(input_file, fake_segmenter, tmp_path, capsys):
    assert main(["analyze", str(input_file), "--out", str(tmp_path / "a"), "--points", "16",
                 "--no-video", "--backend", "onnx", "--scales", "1"]) == 0
    assert main(["analyze", str(input_file), "--out", str(tmp_path / "b"), "--points", "16",
                 "--no-video", "--scales", "0.9,1.1", "--temporal-weight", "0.15",
                 "--touch-mm", "0", "--piece-weight", "2", "--zoom-roi-mm", "24"]) == 0
    assert [(m["backend"], m["scales"], m["temporal_weight"], m["touch_mm"], m["piece_weight"],
             m["zoom_roi_mm"])
            for m in fake_segmenter] == [("onnx", (1.0,), None, None, None, None),
                                         ("auto", (0.9, 1.1), 0.15, 0.0, 2.0, 24.0)]
    for bad, msg in [(["--backend", "trt"], "invalid choice: 'trt'"),
                     (["--scales", "big"], "expected zoom factors"),
                     (["--scales", "5"], "zoom factors in [0.5, 2.0]"),
                     (["--temporal-weight", "0.5"], "temporal weight must be in [0, 0.5)"),
                     (["--temporal-weight", "x"], "expected a temporal weight like 0.15"),
                     (["--touch-mm", "-1"], "touch_mm must be a finite number >= 0"),
                     (["--touch-mm", "near"], "expected a distance in mm like 3"),
                     (["--piece-weight", "-1"], "piece weight must be a finite number >= 0"),
                     (["--piece-weight", "x"], "expected a weight like 2"),
                     (["--zoom-roi-mm", "-5"], "zoom ROI margin must be a finite number"),
                     (["--zoom-roi-mm", "wide"], "expected a margin in mm like 40")]:
        with pytest.raises(SystemExit) as exc:
            main(["analyze", str(input_file), "--out", str(tmp_path / "c"), *bad])
        assert exc.value.code == 2
        assert msg in capsys.readouterr().err


def test_bad_rest_frame_is_one_line_error(input_file, fake_segmenter, tmp_path, capsys):
    rc = main(["analyze", str(input_file), "--out", str(tmp_path / "o"), "--rest-frame", "99"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "rest_frame" in err[-1]


def test_dicom_input_is_pseudonymised(case, fake_segmenter, tmp_path):
    dicom_write = pytest.importorskip("core.io.dicom_write")
    dicom_write.write_dicom_series(case.series, tmp_path / "dicom", shuffle_names=True,
                                   patient_name="DOE^JOHN", patient_id="PID-777")
    out = tmp_path / "out"
    rc = main(["analyze", str(tmp_path / "dicom"), "--out", str(out), "--points", "16",
               "--no-video"])
    assert rc == 0
    from core.io import read_series

    alias = read_series(tmp_path / "dicom").subject
    assert alias and "DOE" not in alias and alias != "PID-777"
    for f in ("points.csv", "frames.csv"):
        text = (out / f).read_text()
        assert "DOE" not in text and "JOHN" not in text and "PID-777" not in text
        assert set(pd.read_csv(out / f)["subject"]) == {alias}
    proj = project.load_project(out / "analysis.pvt")
    assert "DOE" not in str(proj.series.meta) and "PID-777" not in str(proj.series.meta)


@pytest.mark.slow
def test_analyze_with_the_shipped_model(tmp_path, capsys):
    """End to end with the real default model on a small phantom case written as DICOM."""
    from core.segment.model_io import default_model_path

    if not Path(str(default_model_path()) + ".json").exists():
        pytest.skip("no shipped model")
    phantom = pytest.importorskip("core.phantom")
    case = phantom.generate_case(3, shape=(128, 128), n_frames=4)
    folder = phantom.write_case(case, tmp_path / "in")
    out = tmp_path / "out"
    assert main(["analyze", str(folder), "--out", str(out), "--points", "32"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "analysis.pvt", "frames.csv", "labels.nii.gz", "overlay.gif", "points.csv",
                     "report.html"]
    frames = pd.read_csv(out / "frames.csv")
    assert set(frames["organ"]) == set(case.organs) and len(frames) == 3 * 4
    assert frames["confidence"].between(0, 1).all()
    text = (out / "points.csv").read_text() + (out / "frames.csv").read_text()
    assert "PHANTOM^" not in text
    assert "max descent" in capsys.readouterr().out


def test_no_repair_reaches_the_pipeline(input_file, tmp_path, monkeypatch):
    import core.pipeline
    from core.errors import TrackingError

    seen = {}

    def fake(source, **kwargs):
        seen.update(kwargs)
        raise TrackingError("stop here")
        yield  # a generator, like the real one

    monkeypatch.setattr(core.pipeline, "analyze", fake)
    assert main(["analyze", str(input_file), "--out", str(tmp_path / "o"), "--no-repair"]) == 2
    assert seen["repair"] is False
    assert main(["analyze", str(input_file), "--out", str(tmp_path / "o")]) == 2
    assert seen["repair"] is True


def test_a_project_with_corrected_frames_keeps_them(case, fake_segmenter, tmp_path, capsys):
    from core.export import read_labels_nifti

    p = project.Project(series=case.series, organs=ORGANS3)
    project.set_auto_labels(p, case.labels, "old-model")
    fixed = case.labels[2].copy()
    fixed[fixed == 1] = 0   # the user erased the bladder in frame 2
    project.set_manual_labels(p, 2, fixed)
    path = tmp_path / "corrected.pvt"
    project.save_project(p, path)
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--points", "16", "--no-video"]) == 0
    err = capsys.readouterr().err
    assert "keeping 1 hand-corrected frame(s)" in err
    labels = read_labels_nifti(out / "labels.nii.gz")
    np.testing.assert_array_equal(labels[2], fixed)
    np.testing.assert_array_equal(labels[[0, 1, 3, 4]], case.labels[[0, 1, 3, 4]])
    saved = project.load_project(out / "analysis.pvt")
    assert project.manual_frames(saved) == [2]
    assert saved.provenance[0]["model_id"] == "fake-model"
    assert saved.provenance[2]["edited_from"] == "old-model"


# -- batches: several inputs, every series of a folder -----------------------------------


def test_a_batch_analyses_each_input_into_its_own_folder(input_file, fake_segmenter, tmp_path,
                                                         capsys):
    import shutil

    second = tmp_path / "second.pvt"
    shutil.copy(input_file, second)
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"not a nifti at all")
    out = tmp_path / "cohort"
    rc = main(["analyze", str(input_file), str(bad), str(second), "--out", str(out),
               "--points", "16", "--no-video"])
    assert rc == 2                                   # one failed: the others are written
    captured = capsys.readouterr()
    assert "bad.nii.gz" in captured.err and "Traceback" not in captured.err
    assert "2 of 3 series analysed" in captured.out
    for name in ("input", "second"):
        assert sorted(p.name for p in (out / name).iterdir()) == [
            "analysis.pvt", "frames.csv", "labels.nii.gz", "points.csv", "report.html"]
    assert not (out / "bad").exists()
    log = pd.read_csv(out / "batch.csv", keep_default_na=False)
    assert list(log["name"]) == ["input", "bad", "second"]
    assert list(log["status"]) == ["done", "failed", "done"]
    assert "bad.nii.gz" in log["error"][1] and log["error"][0] == ""
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["input"]) == ["input"] * 3 + ["second"] * 3
    assert list(summary["organ"][:3]) == list(ORGANS3)
    assert set(summary["subject"]) == {"alias-9"}   # pseudonymised, as the tables
    assert "PID-123" not in (out / "summary.csv").read_text()
    frames = pd.read_csv(out / "input" / "frames.csv")
    bladder = frames[frames["organ"] == "bladder"]
    assert summary["max_descent_mm"][0] == pytest.approx(bladder["descent_mm"].max())

    # going on after a stopped run: what is there is kept (not analysed again)
    stamp = (out / "input" / "analysis.pvt").stat().st_mtime_ns
    rc = main(["analyze", str(input_file), str(second), "--out", str(out), "--points", "16",
               "--no-video", "--skip-existing"])
    assert rc == 0
    assert (out / "input" / "analysis.pvt").stat().st_mtime_ns == stamp
    log = pd.read_csv(out / "batch.csv")
    assert list(log["status"]) == ["skipped", "skipped"]
    assert list(pd.read_csv(out / "summary.csv")["input"]) == ["input"] * 3 + ["second"] * 3


def test_each_series_of_a_dicom_folder_is_analysed(case, fake_segmenter, tmp_path, capsys):
    from core.io.dicom_write import write_dicom_series

    folder = tmp_path / "study"
    write_dicom_series(case.series, folder / "a", seed=1)
    write_dicom_series(case.series, folder / "b", seed=2)
    out = tmp_path / "out"
    # without --each-series the folder is one input that names its series
    assert main(["analyze", str(folder), "--out", str(out)]) == 2
    assert "2 series in one folder" in capsys.readouterr().err
    rc = main(["analyze", str(folder), "--out", str(out), "--each-series", "--points", "16",
               "--no-video"])
    assert rc == 0, capsys.readouterr().err
    log = pd.read_csv(out / "batch.csv")
    assert list(log["name"]) == ["study_s1", "study_s2"]
    assert log["series_uid"].nunique() == 2 and list(log["status"]) == ["done", "done"]
    for name in log["name"]:
        assert (out / name / "analysis.pvt").is_file()


def test_batch_argument_errors_are_one_line(input_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", str(input_file), str(input_file), "--out", str(out),
                 "--series-uid", "1.2.3"]) == 2
    assert "--series-uid" in capsys.readouterr().err
    missing = tmp_path / "nowhere.dcm"
    assert main(["analyze", str(input_file), str(missing), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nowhere.dcm" in err and "no such file" in err and "Traceback" not in err
    assert not out.exists()                         # checked before anything runs


def test_the_pcl_is_measured_against_and_kept(input_file, fake_segmenter, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["analyze", str(input_file), "--out", str(out), "--points", "16", "--no-video",
               "--pcl", "10,40,110,40"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "below the PCL" in printed
    frames = pd.read_csv(out / "frames.csv")
    # the line is horizontal at y = 40 mm: below it is the lowest y minus 40
    np.testing.assert_allclose(frames["below_pcl_mm"], frames["lowest_y_mm"] - 40, atol=1e-6)
    saved = project.load_project(out / "analysis.pvt")
    np.testing.assert_allclose(saved.landmarks["inferior_pubic_point"], [[10, 40]] * 5)
    # analysing the project again keeps its line
    again = tmp_path / "again"
    assert main(["analyze", str(out / "analysis.pvt"), "--out", str(again), "--points", "16",
                 "--no-video"]) == 0
    np.testing.assert_allclose(pd.read_csv(again / "frames.csv")["below_pcl_mm"],
                               frames["below_pcl_mm"])


def test_a_bad_pcl_is_a_usage_error(input_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(input_file), "--out", str(tmp_path / "o"), "--pcl", "1,2,3"])
    assert exc.value.code == 2
    assert "PUBIS_X,PUBIS_Y,COCCYX_X,COCCYX_Y" in capsys.readouterr().err
    assert main(["analyze", str(input_file), str(input_file), "--out", str(tmp_path / "o"),
                 "--pcl", "10,40,110,40"]) == 2
    assert "one input" in capsys.readouterr().err
    # pixels given as mm: off this 64-pixel, 2 mm image (0-126 mm)
    assert main(["analyze", str(input_file), "--out", str(tmp_path / "o"),
                 "--pcl", "10,40,300,40"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "input.pvt" in err[0] and "off the image" in err[0]


def test_a_projects_reference_points_are_kept(input_file, fake_segmenter, tmp_path, capsys):
    from core.pipeline import AnalysisResult

    out = tmp_path / "out"
    assert main(["analyze", str(input_file), "--out", str(out), "--points", "16", "--no-video",
                 "--pcl", "10,40,110,40"]) == 0
    result = AnalysisResult.from_project(project.load_project(out / "analysis.pvt"))
    k = int(np.argmax(result.tracks.points["bladder"][0][:, 1]))
    result.set_reference_points({"bladder": k})
    project.save_project(result.to_project(), tmp_path / "marked.pvt")
    capsys.readouterr()
    again = tmp_path / "again"
    assert main(["analyze", str(tmp_path / "marked.pvt"), "--out", str(again), "--points", "16",
                 "--no-video"]) == 0
    assert "bladder base" in capsys.readouterr().out
    frames = pd.read_csv(again / "frames.csv")
    assert frames.loc[frames["organ"] == "bladder", "ref_below_pcl_mm"].notna().all()
    assert project.load_project(again / "analysis.pvt").settings["reference_points"] == {
        "bladder": k}


def test_the_anal_canal_line_measures_a_rectocele(case, input_file, fake_segmenter, tmp_path,
                                                  capsys):
    from core.rectocele import ANAL_LOW, rectocele_depth
    from core.track.contours import mask_contour

    sp = case.series.spacing_mm
    rows, cols = np.nonzero(case.labels[0] == 3)
    cx, low_y = cols.mean() * sp[1], rows.max() * sp[0]
    line = np.array([[cx, low_y + 6], [cx, low_y - 10]])     # upwards through the rectum
    out = tmp_path / "out"
    assert main(["analyze", str(input_file), "--out", str(out), "--points", "16", "--no-video",
                 "--anal-canal", ",".join(f"{v:g}" for v in line.ravel())]) == 0
    printed = capsys.readouterr().out
    rectum_line = next(x for x in printed.splitlines() if x.strip().startswith("rectum"))
    assert "rectocele" in rectum_line
    frames = pd.read_csv(out / "frames.csv")
    rectum = frames[frames["organ"] == "rectum"].sort_values("frame")
    expected = [rectocele_depth(mask_contour(lab == 3, sp), line) for lab in case.labels]
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(rectum["rectocele_depth_mm"], expected, atol=0.5)
    assert frames.loc[frames["organ"] != "rectum", "rectocele_depth_mm"].isna().all()
    from core.rectocele import rectocele_grade

    assert f"({rectocele_grade(max(expected))})" in rectum_line
    saved = project.load_project(out / "analysis.pvt")
    np.testing.assert_allclose(saved.landmarks[ANAL_LOW][0], line[0])
    # bad lines: a usage error, or one line naming the file and the point off the image
    with pytest.raises(SystemExit):
        main(["analyze", str(input_file), "--out", str(tmp_path / "o"), "--anal-canal", "1,2"])
    assert "LOW_X,LOW_Y,HIGH_X,HIGH_Y" in capsys.readouterr().err
    assert main(["analyze", str(input_file), "--out", str(tmp_path / "o"),
                 "--anal-canal", "10,40,10,300"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--anal-canal" in err[0] and "upper anal canal point" in err[0]


def test_the_anal_canal_line_can_be_fitted_to_each_frame(case, input_file, fake_segmenter,
                                                         tmp_path, capsys):
    from core.rectocele import ANAL_HIGH, ANAL_LOW, fit_anal_line

    out = tmp_path / "out"
    assert main(["analyze", str(input_file), "--out", str(out), "--points", "16", "--no-video",
                 "--anal-canal", "auto"]) == 0
    saved = project.load_project(out / "analysis.pvt")
    for t in (0, len(case.labels) - 1):            # each frame its own line
        line = fit_anal_line(case.labels[t] == 3, case.series.spacing_mm)
        np.testing.assert_allclose([saved.landmarks[ANAL_LOW][t], saved.landmarks[ANAL_HIGH][t]],
                                   line)
    # the depth against each frame's own line (this small rectum is all canal: 20 mm, so
    # nothing lies above a line fitted to its lowest 25 mm and the depth is NaN)
    from core.rectocele import rectocele_depth
    from core.track.contours import mask_contour

    frames = pd.read_csv(out / "frames.csv")
    expected = [rectocele_depth(mask_contour(lab == 3, case.series.spacing_mm),
                                fit_anal_line(lab == 3, case.series.spacing_mm))
                for lab in case.labels]
    np.testing.assert_allclose(frames.loc[frames["organ"] == "rectum", "rectocele_depth_mm"],
                               expected, atol=0.5)
    # a batch may fit each input's own; given points stay one patient's
    assert main(["analyze", str(input_file), str(input_file), "--out", str(tmp_path / "b"),
                 "--points", "16", "--no-video", "--anal-canal", "auto"]) == 0
    assert (tmp_path / "b").is_dir()
    capsys.readouterr()
    assert main(["analyze", str(input_file), str(input_file), "--out", str(tmp_path / "c"),
                 "--anal-canal", "1,2,3,40"]) == 2
    assert "one input" in capsys.readouterr().err


def test_the_summary_quotes_the_anorectal_angle():
    from shapes_factory import tube_analysis

    from app.commands.analyze import summary_lines

    result = tube_analysis((105.0, 95.0, 140.0))
    rectum = next(x for x in summary_lines(result) if x.strip().startswith("rectum"))
    assert rectum.endswith("anorectal angle 105° at rest, 95–140°")


def test_the_summary_names_the_junction_found_on_each_frame():
    from shapes_factory import tube_analysis

    from app.commands.analyze import summary_lines

    result = tube_analysis((100.0, 110.0), pcl=((60.0, 100.0), (160.0, 95.0)))
    rectum = next(x for x in summary_lines(result) if x.strip().startswith("rectum"))
    m, h = result.frames["ref_below_pcl_mm"].max(), result.frames["ref_to_pubis_mm"].max()
    assert (f"anorectal junction (automatic) {m:+6.1f} mm below the PCL, H-line {h:.1f} mm"
            in rectum)
    assert "H normal, M mild" in rectum
    result.set_reference_points({"rectum": 3})
    rectum = next(x for x in summary_lines(result) if x.strip().startswith("rectum"))
    assert "anorectal junction  " in rectum and "(automatic)" not in rectum


def test_the_summary_lists_the_measurements_by_hand():
    from shapes_factory import tube_analysis

    from app.commands.analyze import summary_lines
    from core.measurements import with_measurement

    result = tube_analysis((100.0, 110.0))
    assert not any(x.strip().startswith("measured") for x in summary_lines(result))
    marks, _ = with_measurement(result.landmarks, 2, 1, "distance", [(10.0, 10.0), (10.0, 33.5)])
    marks, _ = with_measurement(marks, 2, 0, "angle", [(10.0, 20.0), (10.0, 10.0), (20.0, 10.0)])
    result.set_landmarks(marks)
    line = next(x for x in summary_lines(result) if x.strip().startswith("measured"))
    assert line.split(None, 1)[1] == "#2 angle 90° (frame 1), #1 distance 23.5 mm (frame 2)"
