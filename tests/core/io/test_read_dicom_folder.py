"""Reading folders of single-frame DICOM images."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np
import pytest
from io_dicom_factory import pattern, write_mr

from core.errors import ReaderError
from core.io import read_series
from core.series import IDENTITY_KEYS


def _random_name() -> str:
    return secrets.token_hex(6)  # no extension


def _cine_folder(tmp_path: Path, n: int = 6, **kw) -> tuple[Path, list[float]]:
    """Frames with TriggerTime out of InstanceNumber order, random names, stray files.

    Frame k (in time order) holds pattern(k); its trigger time is 400*k + 50 ms.
    """
    folder = tmp_path / "cine"
    folder.mkdir()
    rng = np.random.default_rng(1)
    instance_of = rng.permutation(n) + 1  # InstanceNumber does not follow time
    triggers = [400.0 * k + 50.0 for k in range(n)]
    for k in rng.permutation(n):
        write_mr(
            folder / _random_name(), pattern(int(k)), series_uid="1.2.3.4.5",
            instance=int(instance_of[k]), trigger_ms=triggers[k], **kw,
        )
    (folder / "README").write_text("exported by hand\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(100))
    (folder / "DICOMDIR").write_bytes(bytes(200))
    return folder, triggers


def test_folder_sorted_by_trigger_time_with_rescale_and_spacing(tmp_path):
    folder, triggers = _cine_folder(tmp_path, slope=2.0, intercept=-100.0)
    s = read_series(folder)
    assert s.n_frames == 6 and s.shape == (12, 10)
    expected = np.stack([pattern(k).astype(np.float32) * 2.0 - 100.0 for k in range(6)])
    np.testing.assert_array_equal(s.frames, expected)
    np.testing.assert_allclose(s.times_s, (np.array(triggers) - triggers[0]) / 1000.0)
    assert s.spacing_mm == (0.8, 1.2)
    assert s.meta["format"] == "dicom-folder"
    assert s.meta["time_source"] == "TriggerTime"
    assert s.meta["orientation"] == "sagittal (canonical)"
    assert s.meta["orientation_ops"] == []
    assert s.warnings == []


def test_identity_is_kept_apart_from_the_pseudonymous_alias(tmp_path):
    folder, _ = _cine_folder(tmp_path)
    s = read_series(folder)
    assert s.meta["patient_name"] == "Doe^Jane"
    assert s.meta["patient_id"] == "PID-001"
    assert "patient_name" in IDENTITY_KEYS
    alias = s.meta["subject_id"]
    assert alias.startswith("subj-") and len(alias) == 13
    assert "PID" not in alias and "Doe" not in alias
    assert s.meta["study_uid"] == "1.2.3.4" and s.meta["series_uid"] == "1.2.3.4.5"
    assert s.meta["series_description"] == "cine sag"
    assert s.meta["source_path"] == str(folder)
    assert read_series(folder).meta["subject_id"] == alias  # deterministic


def test_acquisition_time_orders_frames_when_no_trigger_time(tmp_path):
    folder = tmp_path / "acq"
    folder.mkdir()
    times = ["101500.250", "101501.750", "101503.250", "101504.750"]
    for k in (2, 0, 3, 1):
        write_mr(folder / f"img{k}.dcm", pattern(k), series_uid="9.9",
                 instance=10 - k, acquisition_time=times[k])
    s = read_series(folder)
    assert s.meta["time_source"] == "AcquisitionTime"
    np.testing.assert_allclose(s.times_s, [0.0, 1.5, 3.0, 4.5])
    np.testing.assert_array_equal(s.frames[:, 0, 0], [0, 100, 200, 300])


def test_no_time_tag_uses_instance_number_and_records_a_warning(tmp_path):
    folder = tmp_path / "notime"
    folder.mkdir()
    for k in (3, 1, 0, 2):
        write_mr(folder / _random_name(), pattern(k), series_uid="7.7", instance=k + 1)
    s = read_series(folder, frame_interval_s=0.5)
    np.testing.assert_array_equal(s.frames[:, 0, 0], [0, 100, 200, 300])
    np.testing.assert_allclose(s.times_s, [0.0, 0.5, 1.0, 1.5])
    assert any("InstanceNumber" in w for w in s.warnings)
    s1 = read_series(folder)
    np.testing.assert_allclose(s1.times_s, [0.0, 1.0, 2.0, 3.0])
    assert any("1 s interval assumed" in w for w in s1.warnings)


def test_missing_pixel_spacing_assumes_1_mm_with_warning(tmp_path):
    folder, _ = _cine_folder(tmp_path, spacing=None)
    s = read_series(folder)
    assert s.spacing_mm == (1.0, 1.0)
    assert "pixel spacing missing, 1 mm assumed" in s.warnings


def _two_series(tmp_path: Path) -> Path:
    folder = tmp_path / "two"
    folder.mkdir()
    for k in range(3):
        write_mr(folder / _random_name(), pattern(k), series_uid="1.1.1",
                 description="cine rest", instance=k + 1, trigger_ms=100.0 * k)
    for k in range(5):
        write_mr(folder / _random_name(), pattern(10 + k), series_uid="2.2.2",
                 description="cine strain", instance=k + 1, trigger_ms=100.0 * k)
    return folder


def test_two_series_are_refused_with_a_listing(tmp_path):
    folder = _two_series(tmp_path)
    with pytest.raises(ReaderError) as err:
        read_series(folder)
    msg = str(err.value)
    assert str(folder) in msg
    assert "1.1.1" in msg and "cine rest" in msg and "(3 frames)" in msg
    assert "2.2.2" in msg and "cine strain" in msg and "(5 frames)" in msg


def test_series_uid_picks_one_series(tmp_path):
    folder = _two_series(tmp_path)
    s = read_series(folder, series_uid="2.2.2")
    assert s.n_frames == 5 and s.meta["series_description"] == "cine strain"
    np.testing.assert_array_equal(s.frames[:, 0, 0], [1000, 1100, 1200, 1300, 1400])
    with pytest.raises(ReaderError, match="no series with UID 3.3.3"):
        read_series(folder, series_uid="3.3.3")


def test_frames_of_different_sizes_name_the_offending_file(tmp_path):
    folder = tmp_path / "sizes"
    folder.mkdir()
    write_mr(folder / "a", pattern(0), series_uid="5.5", instance=1, trigger_ms=0.0)
    write_mr(folder / "b", pattern(1), series_uid="5.5", instance=2, trigger_ms=500.0)
    odd = write_mr(folder / "c", pattern(2, (8, 8)), series_uid="5.5", instance=3,
                   trigger_ms=1000.0)
    with pytest.raises(ReaderError, match="frame size 8x8 differs") as err:
        read_series(folder)
    assert err.value.path == str(odd)


def test_truncated_pixel_data_in_a_folder(tmp_path):
    folder = tmp_path / "trunc"
    folder.mkdir()
    write_mr(folder / "a", pattern(0), series_uid="5.5", instance=1, trigger_ms=0.0)
    bad = write_mr(folder / "b", pattern(1), series_uid="5.5", instance=2, trigger_ms=500.0)
    bad.write_bytes(bad.read_bytes()[:-60])
    with pytest.raises(ReaderError, match="truncated") as err:
        read_series(folder)
    assert err.value.path == str(bad)


def test_single_image_folder_is_refused(tmp_path):
    write_mr(tmp_path / "only.dcm", pattern(0), series_uid="5.5")
    with pytest.raises(ReaderError, match="a single image, a cine series needs at least 2"):
        read_series(tmp_path)


def test_folder_with_no_readable_dicom(tmp_path):
    (tmp_path / "README").write_text("nothing here")
    (tmp_path / "notes.dcm").write_text("not really DICOM")
    with pytest.raises(ReaderError) as err:
        read_series(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_folder_of_stray_files_only(tmp_path):
    (tmp_path / "README").write_text("nothing here")
    with pytest.raises(ReaderError, match="not a supported folder"):
        read_series(tmp_path)


def test_empty_folder_and_missing_path(tmp_path):
    with pytest.raises(ReaderError, match="empty folder"):
        read_series(tmp_path)
    with pytest.raises(ReaderError, match="no such file or folder"):
        read_series(tmp_path / "nope")


def test_a_3d_stack_is_refused(tmp_path):
    for k in range(3):
        write_mr(tmp_path / f"s{k}", pattern(k), series_uid="6.6", instance=k + 1,
                 trigger_ms=0.0, ipp=(5.0 * k, 0.0, 0.0))
    with pytest.raises(ReaderError, match="3D stack .*3 slice positions"):
        read_series(tmp_path)
    with pytest.raises(ReaderError, match="3D stack"):
        read_series(tmp_path, slice_index=1)


def _multi_slice_folder(folder: Path) -> Path:
    """Three sagittal slices (x = 5, 0, -5 mm: -5, 0, 5 mm along the slice normal,
    which points to -x) acquired in turn, 4 frames each; the slice at position index
    i, frame k holds pattern(10 * i + k)."""
    n = 0
    for k in range(4):
        for turn, (index, x) in enumerate(((0, 5.0), (2, -5.0), (1, 0.0))):  # not in order
            n += 1
            write_mr(folder / f"IM{n:03d}", pattern(10 * index + k), series_uid="7.7",
                     instance=n, trigger_ms=300.0 * k + 100.0 * turn, ipp=(x, 0.0, 0.0))
    return folder


def test_a_multi_slice_cine_needs_a_slice_and_reads_the_chosen_one(tmp_path):
    folder = _multi_slice_folder(tmp_path)
    with pytest.raises(ReaderError, match=r"multi-slice cine: frames at 3 slice positions "
                                          r"\(-5, 0, 5 mm\); choose one with slice_index 0-2"):
        read_series(folder)
    for index in range(3):
        s = read_series(folder, slice_index=index)
        expected = np.stack([pattern(10 * index + k) for k in range(4)]).astype(np.float32)
        np.testing.assert_array_equal(s.frames, expected)
        assert s.meta["slice_index"] == index and s.meta["n_slices"] == 3
        assert s.meta["slice_position_mm"] == (-5.0, 0.0, 5.0)[index]
        np.testing.assert_allclose(s.times_s, [0.0, 0.3, 0.6, 0.9])
    with pytest.raises(ReaderError, match="no slice 3: the series has 3 slice positions"):
        read_series(folder, slice_index=3)


def test_slice_index_of_a_single_slice_cine(tmp_path):
    folder, _ = _cine_folder(tmp_path)
    assert read_series(folder, slice_index=0).n_frames == 6
    with pytest.raises(ReaderError, match="no slice 1: the series has 1 slice position "):
        read_series(folder, slice_index=1)
    with pytest.raises(ReaderError, match="slice_index must be a non-negative integer"):
        read_series(folder, slice_index=-1)


def test_recursive_subfolders(tmp_path):
    sub = tmp_path / "IMAGES" / "SER1"
    sub.mkdir(parents=True)
    for k in range(3):
        write_mr(sub / f"IM{k}", pattern(k), series_uid="8.8", instance=k + 1,
                 trigger_ms=250.0 * k)
    s = read_series(tmp_path)
    np.testing.assert_allclose(s.times_s, [0.0, 0.25, 0.5])


def _write_with(folder: Path, k: int, **tags) -> Path:
    """A frame written by write_mr, then extra tags set directly."""
    import pydicom

    path = write_mr(folder / _random_name(), pattern(k), series_uid="4.2", instance=10 - k)
    ds = pydicom.dcmread(path)
    for key, value in tags.items():
        setattr(ds, key, value)
    ds.save_as(path)
    return path


@pytest.mark.parametrize(
    ("tags", "source"),
    [
        (lambda k: {"AcquisitionDateTime": f"20240102235959.{k * 4:02d}0000"},
         "AcquisitionDateTime"),
        (lambda k: {"ContentDate": "20240102", "ContentTime": f"0930{10 + k:02d}.2"},
         "ContentTime"),
        (lambda k: {"TriggerTime": 0.0, "AcquisitionTime": f"0930{10 + 2 * k:02d}"},
         "AcquisitionTime"),  # constant TriggerTime (not gated) is passed over
    ],
)
def test_other_time_tags(tmp_path, tags, source):
    for k in (1, 3, 0, 2):
        _write_with(tmp_path, k, **tags(k))
    s = read_series(tmp_path)
    assert s.meta["time_source"] == source
    np.testing.assert_array_equal(s.frames[:, 0, 0], [0, 100, 200, 300])
    step = {"AcquisitionDateTime": 0.04, "ContentTime": 1.0, "AcquisitionTime": 2.0}[source]
    np.testing.assert_allclose(s.times_s, np.arange(4) * step, atol=1e-6)


def test_acquisition_time_across_midnight_uses_the_date(tmp_path):
    stamps = [("20240102", "235959.0"), ("20240103", "000000.5"), ("20240103", "000002.0")]
    for k, (day, tm) in enumerate(stamps):
        _write_with(tmp_path, k, AcquisitionDate=day, AcquisitionTime=tm)
    s = read_series(tmp_path)
    np.testing.assert_allclose(s.times_s, [0.0, 1.5, 3.0])


def test_coarse_clock_ties_spread_evenly_with_warning(tmp_path):
    # Four frames in 3 s, but the clock only has whole seconds: 10, 10, 11, 13.
    for k, sec in zip((0, 1, 2, 3), (10, 10, 11, 13), strict=True):
        _write_with(tmp_path, k, AcquisitionTime=f"0930{sec:02d}", InstanceNumber=k + 1)
    s = read_series(tmp_path)
    np.testing.assert_array_equal(s.frames[:, 0, 0], [0, 100, 200, 300])
    np.testing.assert_allclose(s.times_s, [0.0, 1.0, 2.0, 3.0])
    assert any("repeated values" in w for w in s.warnings)


def test_duplicate_files_are_read_once(tmp_path):
    folder, _ = _cine_folder(tmp_path)
    first = next(p for p in sorted(folder.iterdir()) if len(p.name) == 12)
    (folder / "copy_of_one").write_bytes(first.read_bytes())
    s = read_series(folder)
    assert s.n_frames == 6
    assert any("duplicate image" in w for w in s.warnings)


def test_a_multiframe_file_alone_in_a_folder(tmp_path):
    from pydicom.data import get_testdata_file

    (tmp_path / "IM0001").write_bytes(Path(get_testdata_file("emri_small.dcm")).read_bytes())
    (tmp_path / "README.txt").write_text("x")
    s = read_series(tmp_path)
    assert s.n_frames == 10 and s.meta["format"] == "dicom-enhanced"


def test_bad_options_are_refused(tmp_path):
    folder, _ = _cine_folder(tmp_path)
    with pytest.raises(ReaderError, match="spacing_mm must be two positive"):
        read_series(folder, spacing_mm=(0.0, 1.0))
    with pytest.raises(ReaderError, match="frame_interval_s must be a positive"):
        read_series(folder, frame_interval_s=-1.0)


def test_monochrome1_is_inverted_so_bright_is_high(tmp_path):
    for k in range(2):
        _write_with(tmp_path, k, PhotometricInterpretation="MONOCHROME1", TriggerTime=100.0 * k)
    s = read_series(tmp_path)
    np.testing.assert_array_equal(s.frames[1], 65535.0 - pattern(1).astype(np.float32))


def test_the_scanner_affine_of_the_frames_is_recorded(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    for k in range(3):
        write_mr(folder / f"IM{k}", pattern(k), series_uid="9.9", instance=k + 1,
                 trigger_ms=100.0 * k, ipp=(4.0, -20.0, 60.0))
    s = read_series(folder)
    a = np.asarray(s.meta["affine_ras"])
    # canonical sagittal: a row steps posterior (RAS -y) by the column spacing 1.2 mm,
    # a column steps to the feet (-z) by the row spacing 0.8 mm; origin RAS(IPP)
    np.testing.assert_allclose(a[:3, 0], (0.0, -1.2, 0.0), atol=1e-12)
    np.testing.assert_allclose(a[:3, 1], (0.0, 0.0, -0.8), atol=1e-12)
    np.testing.assert_allclose(a[:3, 3], (-4.0, 20.0, 60.0))
