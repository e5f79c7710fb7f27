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


def test_several_slice_positions_are_refused(tmp_path):
    for k in range(3):
        write_mr(tmp_path / f"s{k}", pattern(k), series_uid="6.6", instance=k + 1,
                 trigger_ms=0.0, ipp=(5.0 * k, 0.0, 0.0))
    with pytest.raises(ReaderError, match="3 slice positions"):
        read_series(tmp_path)


def test_recursive_subfolders(tmp_path):
    sub = tmp_path / "IMAGES" / "SER1"
    sub.mkdir(parents=True)
    for k in range(3):
        write_mr(sub / f"IM{k}", pattern(k), series_uid="8.8", instance=k + 1,
                 trigger_ms=250.0 * k)
    s = read_series(tmp_path)
    np.testing.assert_allclose(s.times_s, [0.0, 0.25, 0.5])
