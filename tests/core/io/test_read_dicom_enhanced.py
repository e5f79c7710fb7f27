"""Reading one multi-frame (enhanced) DICOM file: pydicom's emri_small and variants."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.sequence import Sequence
from pydicom.uid import JPEG2000Lossless

from core.errors import ReaderError
from core.io import read_series

EMRI = get_testdata_file("emri_small.dcm")


def _pydicom_frames(name: str) -> np.ndarray:
    return pydicom.dcmread(get_testdata_file(name)).pixel_array.astype(np.float32)


def test_emri_small_matches_pydicom():
    s = read_series(EMRI)
    ref = _pydicom_frames("emri_small.dcm")
    assert s.frames.shape == (10, 64, 64)
    np.testing.assert_array_equal(s.frames, ref)
    assert s.spacing_mm == (1.0, 1.0)
    assert "pixel spacing missing, 1 mm assumed" in s.warnings
    np.testing.assert_allclose(s.times_s, np.arange(10.0))
    assert any("1 s interval assumed" in w for w in s.warnings)
    assert s.meta["format"] == "dicom-enhanced"
    assert s.meta["orientation"] == "unknown (no orientation tag)"
    assert s.meta["series_uid"].startswith("1.2.826.0.1.3680043.2.1143.3712")
    assert s.meta["subject_id"].startswith("subj-")


def test_frame_interval_option_when_the_file_has_no_times():
    s = read_series(EMRI, frame_interval_s=0.25)
    np.testing.assert_allclose(s.times_s, np.arange(10) * 0.25)


@pytest.mark.parametrize("name", ["emri_small_RLE.dcm", "emri_small_big_endian.dcm"])
def test_variants_give_the_same_frames(name):
    plain = read_series(EMRI)
    s = read_series(get_testdata_file(name))
    np.testing.assert_array_equal(s.frames, plain.frames)
    assert s.spacing_mm == plain.spacing_mm
    np.testing.assert_array_equal(s.times_s, plain.times_s)


def test_jpeg2000_lossless_variant():
    path = get_testdata_file("emri_small_jpeg_2k_lossless.dcm")
    if not get_decoder(JPEG2000Lossless).is_available:
        with pytest.raises(ReaderError, match="install pylibjpeg and pylibjpeg-openjpeg"):
            read_series(path)
        return
    s = read_series(path)
    np.testing.assert_array_equal(s.frames, read_series(EMRI).frames)


def test_missing_decoder_names_the_package(monkeypatch):
    decoder = get_decoder(JPEG2000Lossless)
    monkeypatch.setattr(decoder, "_available", {})
    path = get_testdata_file("emri_small_jpeg_2k_lossless.dcm")
    with pytest.raises(ReaderError) as err:
        read_series(path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    assert "no decoder installed" in msg
    assert "install pylibjpeg and pylibjpeg-openjpeg" in msg


def test_single_frame_file_is_refused():
    with pytest.raises(ReaderError, match="a single image, a cine series needs at least 2 frames"):
        read_series(get_testdata_file("MR_small.dcm"))


def test_truncated_pixel_data_is_refused():
    path = get_testdata_file("MR_truncated.dcm")
    with pytest.raises(ReaderError, match="truncated") as err:
        read_series(path)
    assert err.value.path == str(path)


def test_not_dicom_file(tmp_path):
    fake = tmp_path / "scan.dcm"
    fake.write_text("hello")
    with pytest.raises(ReaderError, match="not a DICOM file") as err:
        read_series(fake)
    assert err.value.path == str(fake)


def _item(**kw) -> Dataset:
    ds = Dataset()
    for key, value in kw.items():
        setattr(ds, key, value)
    return ds


def _enhanced(tmp_path, *, per_frame_spacing=False, times="datetime"):
    """emri_small with functional groups: spacing, orientation, rescale and times.

    The stored slice is sagittal but transposed (rows run anterior→posterior,
    columns head→feet) and frames 3 and 4 are stored in swapped time order.
    """
    ds = pydicom.dcmread(EMRI)
    n = 10
    shared = _item(
        PlaneOrientationSequence=Sequence([_item(ImageOrientationPatient=[0, 0, -1, 0, 1, 0])]),
        PixelValueTransformationSequence=Sequence(
            [_item(RescaleSlope=2.0, RescaleIntercept=-10.0, RescaleType="US")]
        ),
    )
    measures = Sequence([_item(PixelSpacing=[0.7, 1.1], SliceThickness=5.0)])
    if not per_frame_spacing:
        shared.PixelMeasuresSequence = measures
    stored_time = [0.5 * k for k in range(n)]
    stored_time[3], stored_time[4] = stored_time[4], stored_time[3]
    items = []
    for k in range(n):
        item = Dataset()
        if times == "datetime":
            sec = 10 + stored_time[k]
            item.FrameContentSequence = Sequence(
                [_item(FrameAcquisitionDateTime=f"202401021030{int(sec):02d}."
                       f"{int(round((sec % 1) * 1e6)):06d}")]
            )
        elif times == "cardiac":
            item.CardiacSynchronizationSequence = Sequence(
                [_item(NominalCardiacTriggerDelayTime=stored_time[k] * 1000.0)]
            )
        if per_frame_spacing:
            item.PixelMeasuresSequence = measures
        items.append(item)
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)
    if times == "frame_time":
        ds.FrameTime = 125.0
    out = tmp_path / "enhanced.dcm"
    ds.save_as(out)
    raw = ds.pixel_array.astype(np.float32) * 2.0 - 10.0
    return out, raw


@pytest.mark.parametrize("times", ["datetime", "cardiac"])
def test_functional_groups_give_spacing_times_rescale_orientation(tmp_path, times):
    path, raw = _enhanced(tmp_path, times=times)
    s = read_series(path)
    order = [0, 1, 2, 4, 3, 5, 6, 7, 8, 9]  # stored frames 3, 4 swapped in time
    expected = np.swapaxes(raw[order], 1, 2)  # transpose back to canonical
    np.testing.assert_array_equal(s.frames, expected)
    np.testing.assert_allclose(s.times_s, np.arange(10) * 0.5, atol=1e-6)
    assert s.spacing_mm == (1.1, 0.7)  # swapped by the transpose
    assert s.meta["orientation"] == "sagittal (canonical)"
    assert s.meta["orientation_ops"] == ["transpose"]
    assert not any("spacing" in w for w in s.warnings)


def test_per_frame_pixel_measures_and_frame_time(tmp_path):
    path, raw = _enhanced(tmp_path, per_frame_spacing=True, times="frame_time")
    s = read_series(path)
    assert s.spacing_mm == (1.1, 0.7)
    np.testing.assert_allclose(s.times_s, np.arange(10) * 0.125)
    assert s.meta["time_source"] == "FrameTime"
    np.testing.assert_array_equal(s.frames, np.swapaxes(raw, 1, 2))


def test_a_multi_slice_file_reads_the_chosen_slice(tmp_path):
    path, raw = _enhanced(tmp_path)
    ds = pydicom.dcmread(path)
    for k, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        # two slices, interleaved: even frames at x = 0, odd frames at x = 3 mm
        item.PlanePositionSequence = Sequence([_item(ImagePositionPatient=[3.0 * (k % 2), 0, 0])])
    ds.save_as(path)
    with pytest.raises(ReaderError, match="multi-slice cine: frames at 2 slice positions"):
        read_series(path)
    # the slice normal of IOP (0,0,-1 | 0,1,0) points to +x: x = 3 mm is slice 1
    s = read_series(path, slice_index=1)
    order = [1, 3, 5, 7, 9]  # the odd stored frames, already in time order
    np.testing.assert_array_equal(s.frames, np.swapaxes(raw[order], 1, 2))
    assert s.meta["slice_index"] == 1 and s.meta["n_slices"] == 2
    assert s.meta["slice_position_mm"] == 3.0
    with pytest.raises(ReaderError, match="no slice 2"):
        read_series(path, slice_index=2)


@pytest.mark.parametrize("times", ["frame_time", "frame_time_vector"])
def test_a_slice_of_an_interleaved_file_keeps_its_real_frame_interval(tmp_path, times):
    """FrameTime and FrameTimeVector step through the file's frames; a slice that holds
    every other frame is sampled half as often."""
    path, raw = _enhanced(tmp_path, times="frame_time")
    ds = pydicom.dcmread(path)
    for k, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        item.PlanePositionSequence = Sequence([_item(ImagePositionPatient=[3.0 * (k % 2), 0, 0])])
    if times == "frame_time_vector":
        del ds.FrameTime
        ds.FrameTimeVector = [0.0] + [100.0 + 10 * k for k in range(1, 10)]  # ms
    ds.save_as(path)
    s = read_series(path, slice_index=1)  # file frames 1, 3, 5, 7, 9
    if times == "frame_time":
        expected = np.arange(5) * 0.25  # two file frames of 125 ms apart
    else:
        file_times = np.cumsum([0.0] + [0.1 + 0.01 * k for k in range(1, 10)])
        expected = file_times[[1, 3, 5, 7, 9]] - file_times[1]
    np.testing.assert_allclose(s.times_s, expected, atol=1e-9)
    assert s.meta["time_source"] == {"frame_time": "FrameTime",
                                     "frame_time_vector": "FrameTimeVector"}[times]

