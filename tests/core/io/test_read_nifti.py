"""Reading 2D+t NIfTI files: convention data[:, :, t].T is frame t."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from core.errors import ReaderError
from core.io import read_series

NIB_DATA = Path(nib.__file__).parent / "tests" / "data"


def _write(path: Path, data: np.ndarray, zooms, time_unit: str | None = "sec") -> Path:
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_zooms(zooms)
    if time_unit is not None:
        img.header.set_xyzt_units("mm", time_unit)
    nib.save(img, path)
    return path


def _frames(n=5, h=6, w=4) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 1000, (n, h, w)).astype(np.float32)


def test_whc_array_reads_as_frames(tmp_path):
    frames = _frames()
    data = np.transpose(frames, (2, 1, 0))  # (W, H, T)
    path = _write(tmp_path / "cine.nii.gz", data, (0.9, 1.3, 1.0))
    img = nib.load(path)
    img.header["pixdim"][4] = 0.5
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj), img.affine, img.header), path)
    s = read_series(path)
    for t in range(5):
        np.testing.assert_array_equal(s.frames[t], data[:, :, t].T)
    assert s.spacing_mm == (1.3, 0.9)  # (row = zooms[1], col = zooms[0])
    np.testing.assert_allclose(s.times_s, np.arange(5) * 0.5)
    assert s.meta["format"] == "nifti" and s.warnings == []


def test_singleton_slice_axis_and_milliseconds(tmp_path):
    frames = _frames(n=4)
    data = np.transpose(frames, (2, 1, 0))[:, :, None, :]  # (W, H, 1, T)
    path = _write(tmp_path / "cine.nii", data, (1.0, 1.5, 5.0, 250.0), time_unit="msec")
    s = read_series(path)
    np.testing.assert_array_equal(s.frames, frames)
    assert s.spacing_mm == (1.5, 1.0)
    np.testing.assert_allclose(s.times_s, [0.0, 0.25, 0.5, 0.75])


def test_no_time_step_uses_option_or_1s_with_warning(tmp_path):
    data = np.transpose(_frames(n=3), (2, 1, 0))
    path = _write(tmp_path / "c.nii.gz", data, (1.0, 1.0, 1.0), time_unit=None)
    s = read_series(path, frame_interval_s=2.0)
    np.testing.assert_allclose(s.times_s, [0.0, 2.0, 4.0])
    assert any("2 s given" in w for w in s.warnings)
    s1 = read_series(path)
    assert any("1 s assumed" in w for w in s1.warnings)


def test_round_trip_with_the_label_writer(tmp_path):
    export = pytest.importorskip("core.export.nifti")
    labels = np.random.default_rng(0).integers(0, 4, (4, 7, 5)).astype(np.uint8)
    path = export.write_labels_nifti(labels, (1.2, 0.8), tmp_path / "labels.nii.gz",
                                     times_s=[0.0, 1.5, 3.1, 4.0])
    s = read_series(path)
    np.testing.assert_array_equal(s.frames, labels)
    assert s.spacing_mm == (1.2, 0.8)
    np.testing.assert_allclose(s.times_s, [0.0, 1.5, 3.1, 4.0])


def test_static_3d_volume_is_refused(tmp_path):
    data = np.zeros((6, 5, 4, 1), dtype=np.float32)
    path = _write(tmp_path / "vol.nii.gz", data, (1.0, 1.0, 1.0, 1.0))
    with pytest.raises(ReaderError, match="a 3D volume, not a 2D\\+t cine"):
        read_series(path)
    with pytest.raises(ReaderError, match="a 3D volume, not a 2D\\+t cine"):
        read_series(NIB_DATA / "anatomical.nii")  # (33,41,25), time unit set, no time step


def test_4d_with_several_slices_is_refused_naming_the_shape():
    path = NIB_DATA / "example4d.nii.gz"
    with pytest.raises(ReaderError) as err:
        read_series(path)
    assert "(128, 96, 24, 2)" in str(err.value) and str(path) in str(err.value)


def test_one_slice_of_a_multi_slice_cine(tmp_path):
    frames = np.stack([_frames(n=5) + 1000 * z for z in range(3)])  # (Z, T, H, W)
    data = np.transpose(frames, (3, 2, 0, 1))  # (W, H, Z, T)
    path = _write(tmp_path / "ms.nii.gz", data, (0.9, 1.3, 4.0, 0.5))
    with pytest.raises(ReaderError, match=r"multi-slice cine .*slice_index 0-2"):
        read_series(path)
    s = read_series(path, slice_index=2)
    np.testing.assert_array_equal(s.frames, frames[2])
    assert s.meta["slice_index"] == 2 and s.meta["n_slices"] == 3
    np.testing.assert_allclose(s.times_s, np.arange(5) * 0.5)
    with pytest.raises(ReaderError, match="no slice 3: the file has 3 slices"):
        read_series(path, slice_index=3)
    single = _write(tmp_path / "one.nii.gz", data[:, :, 0], (0.9, 1.3, 0.5))
    assert read_series(single, slice_index=0).n_frames == 5
    with pytest.raises(ReaderError, match="no slice 1: the file has 1 slice "):
        read_series(single, slice_index=1)


def test_slice_index_is_refused_for_formats_without_slices(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "c.tif", _frames().astype(np.uint16))
    with pytest.raises(ReaderError, match="slice can be chosen only in multi-slice DICOM or NIfTI"):
        read_series(tmp_path / "c.tif", slice_index=0)


def test_damaged_nifti(tmp_path):
    path = tmp_path / "bad.nii.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(200)))
    with pytest.raises(ReaderError) as err:
        read_series(path)
    assert err.value.path == str(path)
    good = _write(tmp_path / "ok.nii", np.zeros((4, 4, 3), np.float32), (1, 1, 1))
    cut = tmp_path / "cut.nii"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ReaderError):
        read_series(cut)


def _sagittal(data: np.ndarray, col_dir, row_dir, zooms, path: Path, code: str = "sform"):
    """Save (W, H, T) data whose array axis 0 / axis 1 point along ``col_dir`` /
    ``row_dir`` (RAS+ unit vectors), slice normal along x."""
    affine = np.eye(4)
    affine[:3, 0] = np.asarray(col_dir, float) * zooms[0]
    affine[:3, 1] = np.asarray(row_dir, float) * zooms[1]
    affine[:3, 2] = (1.0, 0.0, 0.0)
    img = nib.Nifti1Image(data, None)
    if code == "sform":
        img.set_sform(affine, code=1)
        img.set_qform(None, code=0)
    else:
        img.set_qform(affine, code=1)
        img.set_sform(None, code=0)
    img.header.set_zooms((*zooms, 0.5) if data.ndim == 3 else (*zooms, 1.0, 0.5))
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, path)
    return path


# Canonical sagittal in RAS+: the column index grows towards posterior (-y), the row
# index towards the feet (-z).
POSTERIOR, FEET = (0, -1, 0), (0, 0, -1)
ANTERIOR, HEAD = (0, 1, 0), (0, 0, 1)


@pytest.mark.parametrize("code", ["sform", "qform"])
def test_sagittal_nifti_in_canonical_order_is_unchanged(tmp_path, code):
    frames = _frames()  # (T, H, W): canonical already
    data = np.transpose(frames, (2, 1, 0))[:, :, None, :]
    s = read_series(_sagittal(data, POSTERIOR, FEET, (0.9, 1.3), tmp_path / "c.nii", code))
    np.testing.assert_array_equal(s.frames, frames)
    assert s.spacing_mm == (1.3, 0.9)
    assert s.meta["orientation_ops"] == []
    assert s.meta["orientation"].startswith("sagittal (canonical)")


@pytest.mark.parametrize("stored, col_dir, row_dir, ops", [
    # rows stored feet→head (the usual NIfTI order of a sagittal scan)
    (lambda f: f[:, ::-1, :], POSTERIOR, HEAD, ["flip rows"]),
    (lambda f: f[:, :, ::-1], ANTERIOR, FEET, ["flip columns"]),
    (lambda f: f[:, ::-1, ::-1], ANTERIOR, HEAD, ["flip rows", "flip columns"]),
    # stored transposed: array axis 0 runs head→feet, axis 1 anterior→posterior
    (lambda f: np.swapaxes(f, 1, 2), FEET, POSTERIOR, ["transpose"]),
    (lambda f: np.swapaxes(f, 1, 2)[:, :, ::-1], HEAD, POSTERIOR,
     ["transpose", "flip rows"]),
])
def test_sagittal_nifti_is_brought_to_canonical_order(tmp_path, stored, col_dir, row_dir, ops):
    frames = _frames()  # (T, H, W) canonical: rows head→feet, columns anterior→posterior
    spacing = (1.3, 0.9)  # (row, col) of the canonical frames
    on_disk = stored(frames)  # (T, rows, cols) as stored
    zooms = (0.9, 1.3) if "transpose" not in ops else (1.3, 0.9)  # (axis 0, axis 1)
    data = np.ascontiguousarray(np.transpose(on_disk, (2, 1, 0)))
    s = read_series(_sagittal(data, col_dir, row_dir, zooms, tmp_path / "c.nii.gz"))
    np.testing.assert_array_equal(s.frames, frames)
    assert s.spacing_mm == spacing
    assert s.meta["orientation_ops"] == ops


def test_files_without_an_orientation_are_read_as_stored(tmp_path):
    frames = _frames()
    path = _write(tmp_path / "c.nii", np.transpose(frames, (2, 1, 0)), (1.0, 1.0, 0.5))
    raw = bytearray(path.read_bytes())
    raw[252:256] = np.array([0, 0], "<i2").tobytes()  # qform_code, sform_code: unknown
    path.write_bytes(bytes(raw))
    assert nib.load(path).header.get_sform(coded=True)[1] == 0
    s = read_series(path)
    np.testing.assert_array_equal(s.frames, frames)
    assert s.meta["orientation_ops"] == [] and "as stored" in s.meta["orientation"]


def test_labels_exported_with_the_source_affine_overlay_the_source(tmp_path):
    """A sagittal NIfTI stored feet→head: its labels, written with
    ``meta["affine_ras"]`` and the reader's operations, are on the source's grid (same
    affine, same array order: every voxel is where the source voxel it labels is),
    and read back canonical."""
    from core.export import read_labels_nifti, write_labels_nifti

    frames = _frames(n=3)  # canonical (T, H, W); unique values per frame
    data = np.ascontiguousarray(np.transpose(frames[:, ::-1, :], (2, 1, 0)))
    src = _sagittal(data, POSTERIOR, HEAD, (0.9, 1.3), tmp_path / "src.nii.gz")
    src_img = nib.load(src)
    src_affine = src_img.affine.copy()
    src_affine[:3, 3] += (7.0, -3.0, 20.0)  # somewhere in the scanner
    nib.save(nib.Nifti1Image(np.asarray(src_img.dataobj), src_affine, src_img.header), src)
    s = read_series(src)
    assert s.meta["orientation_ops"] == ["flip rows"]
    labels = (s.frames % 4).astype(np.uint8)
    out = write_labels_nifti(labels, s.spacing_mm, tmp_path / "labels.nii.gz", s.times_s,
                             affine=s.meta["affine_ras"],
                             orientation_ops=s.meta["orientation_ops"])
    lab_img = nib.load(out)
    # the source's grid: the same affine and the same array order as the source
    np.testing.assert_allclose(lab_img.affine, src_affine)
    np.testing.assert_array_equal(np.asarray(lab_img.dataobj),
                                  (np.asarray(nib.load(src).dataobj) % 4).astype(np.uint8))
    np.testing.assert_array_equal(read_labels_nifti(out), labels)
    back = read_series(out)
    np.testing.assert_array_equal(back.frames, labels)
    assert back.meta["orientation_ops"] == ["flip rows"]
