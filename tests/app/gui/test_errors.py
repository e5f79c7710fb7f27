"""Errors become dialogs (one line + details), never a crash."""

from __future__ import annotations

import sys

import numpy as np
from PySide6.QtWidgets import QMessageBox


def test_bad_file_shows_error_dialog_and_keeps_state(loaded, qtbot, tmp_path):
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"this is not a NIfTI file")
    before = loaded.state.data
    assert loaded.open_path(bad)
    qtbot.waitUntil(lambda: loaded.worker is None, timeout=10_000)
    assert loaded.test_messages, "no error dialog was shown"
    text, details = loaded.test_messages[-1]
    assert "broken.nii.gz" in text and "\n" not in text
    assert "Traceback" in details
    assert loaded.state.data is before


def test_missing_path_reports_reader_error(window):
    assert not window.open_path("/no/such/series")
    assert "no such file or folder" in window.test_messages[-1][0]


def test_excepthook_shows_dialog(window, monkeypatch):
    from app.gui.dialogs import install_excepthook

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()) or 0)
    old = sys.excepthook
    try:
        install_excepthook()
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = old
    assert shown == ["RuntimeError: boom"]


def test_series_chooser_lists_dicom_series(tmp_path, disc_result):
    from app.gui.dialogs import SeriesChooser
    from core.io.dicom_write import write_dicom_series
    from core.io.listing import list_series

    write_dicom_series(disc_result.series, tmp_path / "a", seed=1)
    short = disc_result.series.with_frames(disc_result.series.frames)
    write_dicom_series(type(short)(short.frames[:3], short.spacing_mm, short.times_s[:3]),
                       tmp_path / "b", seed=2)
    entries = list_series(tmp_path)
    assert [(e.n_frames, e.rows, e.columns) for e in entries] == [(6, 48, 40), (3, 48, 40)]
    dlg = SeriesChooser(entries, str(tmp_path))
    assert dlg.selected_uid() == entries[0].series_uid
    dlg.deleteLater()


def test_multi_series_folder_asks_which_one(window, qtbot, tmp_path, disc_result, monkeypatch):
    from core.io.dicom_write import write_dicom_series
    from core.series import CineSeries

    s = disc_result.series
    write_dicom_series(s, tmp_path / "a", seed=1)
    write_dicom_series(CineSeries(s.frames[:3], s.spacing_mm, s.times_s[:3]), tmp_path / "b",
                       seed=2)
    asked = []

    def choose(entries, folder, parent=None):
        asked.append([e.n_frames for e in entries])
        return entries[1]  # the 3-frame series

    monkeypatch.setattr("app.gui.main_window.choose_series", choose)
    read = []
    with qtbot.waitSignal(window.state.result_changed, timeout=10_000):
        assert window.open_path(tmp_path)
        window.worker.progress.connect(
            lambda p: read.append(p.data["series"].n_frames) if "series" in p.data else None)
    assert asked == [[6, 3]]
    assert read == [3]


def test_demo_without_model_tracks_the_shipped_labels(monkeypatch):
    import app.gui.demo as demo

    monkeypatch.setattr(demo, "model_available", lambda model=None: False)
    opts = demo.demo_options()
    assert opts["labels"].shape == (24, 224, 224)
    assert set(np.unique(opts["labels"])) == {0, 1, 2, 3}


def test_view_and_demo_arguments():
    from app.cli import build_parser

    args = build_parser().parse_args(["view", "x.pvt", "--screenshot", "s.png"])
    assert args.command == "view" and args.input == "x.pvt" and args.screenshot == "s.png"
    args = build_parser().parse_args(["demo", "--frame", "3"])
    assert args.command == "demo" and args.frame == 3


def _multi_slice_folder(folder, series) -> None:
    """``series`` written twice as one DICOM series at two slice positions (x = 0
    and 6 mm); the second copy's frames are inverted, so the two slices differ."""
    import pydicom

    from core.io.dicom_write import write_dicom_series
    from core.series import CineSeries

    inverted = CineSeries(series.frames.max() - series.frames, series.spacing_mm,
                          series.times_s)
    for name, s, x in (("s0", series, 0.0), ("s1", inverted, 6.0)):
        for f in write_dicom_series(s, folder / name, seed=3):
            ds = pydicom.dcmread(f)
            ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.99.1"
            ds.ImagePositionPatient = [x, *list(ds.ImagePositionPatient)[1:]]
            ds.save_as(f)


def test_a_multi_slice_folder_lists_and_opens_one_slice(window, qtbot, tmp_path, disc_result,
                                                        monkeypatch):
    from app.gui.dialogs import SeriesChooser
    from core.io.listing import list_series

    _multi_slice_folder(tmp_path, disc_result.series)
    entries = list_series(tmp_path)
    # the slice normal of a canonical sagittal slice points to -x: x = 6 mm comes first
    assert [(e.slice_index, e.n_slices, e.slice_position_mm, e.n_frames) for e in entries] \
        == [(0, 2, -6.0, 6), (1, 2, 0.0, 6)]
    dlg = SeriesChooser(entries, str(tmp_path))
    assert dlg.table.item(1, 1).text() == "1 of 0-1 (0 mm)"
    dlg.deleteLater()

    monkeypatch.setattr("app.gui.main_window.choose_series", lambda e, f, parent=None: e[1])
    read = []
    with qtbot.waitSignal(window.state.result_changed, timeout=10_000):
        assert window.open_path(tmp_path)
        window.worker.progress.connect(
            lambda p: read.append(p.data["series"]) if "series" in p.data else None)
    assert read[0].meta["slice_index"] == 1
    np.testing.assert_allclose(read[0].frames, disc_result.series.frames, atol=1)


def test_a_multi_slice_nifti_asks_for_the_slice(window, qtbot, tmp_path, monkeypatch):
    import nibabel as nib

    from core.io.listing import slice_count

    data = np.random.default_rng(0).random((20, 24, 3, 4)).astype(np.float32)
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_xyzt_units("mm", "sec")
    path = tmp_path / "ms.nii.gz"
    nib.save(img, path)
    assert slice_count(path) == 3
    assert slice_count(tmp_path) == 1
    asked = []
    monkeypatch.setattr("app.gui.main_window.choose_slice",
                        lambda n, p, parent=None: asked.append(n) or None)
    assert not window.open_path(path)  # cancelled: nothing started
    monkeypatch.setattr("app.gui.main_window.choose_slice", lambda n, p, parent=None: 2)
    read = []
    with qtbot.waitSignal(window.state.result_changed, timeout=10_000):
        assert window.open_path(path)
        window.worker.progress.connect(
            lambda p: read.append(p.data["series"]) if "series" in p.data else None)
    assert asked == [3]
    np.testing.assert_array_equal(read[0].frames, np.transpose(data[:, :, 2], (2, 1, 0)))


def test_slice_count_of_an_enhanced_dicom(tmp_path):
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from core.io.listing import slice_count

    emri = get_testdata_file("emri_small.dcm")
    assert slice_count(emri) == 1
    ds = pydicom.dcmread(emri)
    orient = Dataset()
    orient.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([orient])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence([Dataset() for _ in range(10)])
    for step, name in ((2, "two.dcm"), (1, "stack.dcm")):
        for k, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
            pos = Dataset()
            pos.ImagePositionPatient = [4.0 * (k % step if step > 1 else k), 0.0, 0.0]
            item.PlanePositionSequence = Sequence([pos])
        ds.save_as(tmp_path / name)
    assert slice_count(tmp_path / "two.dcm") == 2  # frames alternate between 2 positions
    assert slice_count(tmp_path / "stack.dcm") == 1  # one frame per position: a 3D stack
    assert slice_count(tmp_path / "missing.dcm") == 1
