"""write_case: valid MR DICOM files, truth.h5 round trip, read back by core.io."""

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import validate_file_meta
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from core.io.dicom_write import rescale, write_dicom_series
from core.phantom import generate_case, read_truth, write_case
from core.series import CineSeries


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    case = generate_case(11, shape=(64, 80), n_frames=5, spacing_mm=(2.0, 2.5))
    out = tmp_path_factory.mktemp("phantom")
    return case, write_case(case, out, shuffle_names=True)


def test_dicom_files_are_valid_mr(written):
    case, folder = written
    files = sorted((folder / "dicom").iterdir())
    assert len(files) == 5
    assert all(f.suffix == "" and len(f.name) == 16 for f in files)  # shuffled hex names
    times = []
    for f in files:
        ds = pydicom.dcmread(f)
        validate_file_meta(ds.file_meta, enforce_standard=True)
        assert ds.preamble is not None and ds.ImageType[2] == "M"
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPClassUID == MRImageStorage == ds.SOPClassUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.Modality == "MR"
        assert [float(v) for v in ds.ImageOrientationPatient] == [0, 1, 0, 0, 0, -1]
        assert [float(v) for v in ds.PixelSpacing] == pytest.approx([2.0, 2.5])
        arr = ds.pixel_array
        assert arr.shape == (64, 80) and arr.dtype == np.uint16
        k = int(ds.InstanceNumber) - 1
        value = arr * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        span = case.series.frames.max() - min(case.series.frames.min(), 0)
        assert np.abs(value - case.series.frames[k]).max() <= span / 65000
        times.append((k, float(ds.TriggerTime)))
    times.sort()
    np.testing.assert_allclose([t for _, t in times], case.series.times_s * 1000, atol=1e-3)
    assert len({pydicom.dcmread(f).SeriesInstanceUID for f in files}) == 1


def test_truth_round_trip(written):
    case, folder = written
    truth = read_truth(folder)
    np.testing.assert_array_equal(truth.labels, case.labels)
    assert truth.organs == case.organs
    for organ in case.organs:
        np.testing.assert_array_equal(truth.trajectories[organ], case.trajectories[organ])
    for name, pts in case.landmarks.items():
        np.testing.assert_array_equal(truth.landmarks[name], pts)
    np.testing.assert_array_equal(truth.strain, case.strain)
    assert truth.spacing_mm == pytest.approx(case.series.spacing_mm)
    assert truth.params["seed"] == 11 and truth.subject_id == "phantom-0011"


def test_read_back_with_core_io(written):
    dicom_folder = pytest.importorskip("core.io.dicom_folder")
    del dicom_folder
    from core.io import read_series

    case, folder = written
    series = read_series(folder / "dicom")
    assert series.frames.shape == case.series.frames.shape
    assert series.spacing_mm == pytest.approx(case.series.spacing_mm)
    np.testing.assert_allclose(series.times_s, case.series.times_s, atol=1e-3)
    span = float(case.series.frames.max())
    assert np.abs(series.frames - case.series.frames).max() <= span / 60000


def test_rescale_keeps_intensities():
    frames = np.linspace(-3.0, 1234.5, 2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5)
    stored, slope, intercept = rescale(frames)
    assert stored.dtype == np.uint16
    np.testing.assert_allclose(stored * slope + intercept, frames, atol=slope)


def test_unshuffled_names_and_uids_deterministic(tmp_path: Path):
    series = CineSeries(np.random.default_rng(0).random((3, 8, 8)), (1.0, 1.0), [0, 1, 2])
    a = write_dicom_series(series, tmp_path / "a", seed=4)
    b = write_dicom_series(series, tmp_path / "b", seed=4)
    assert [p.name for p in a] == ["IM00001.dcm", "IM00002.dcm", "IM00003.dcm"]
    uids_a = [pydicom.dcmread(p).SOPInstanceUID for p in a]
    uids_b = [pydicom.dcmread(p).SOPInstanceUID for p in b]
    assert uids_a == uids_b and len(set(uids_a)) == 3
    with pytest.raises(ValueError, match="CineSeries"):
        write_dicom_series(np.zeros((2, 4, 4)), tmp_path / "c")


def test_write_case_rejects_other_objects(tmp_path):
    with pytest.raises(ValueError, match="PhantomCase"):
        write_case(object(), tmp_path)
    from core.errors import ReaderError

    with pytest.raises(ReaderError):
        read_truth(tmp_path / "nothing.h5")
