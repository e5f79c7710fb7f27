"""Exports: tables, pseudonymised metadata, NIfTI label maps and overlay videos."""

import json
import math

import imageio.v3 as iio
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from core.export import (
    pseudonymize,
    read_labels_nifti,
    render_overlay_frame,
    write_labels_nifti,
    write_overlay_video,
    write_table,
)
from core.organs import ORGAN_COLOURS
from core.series import default_meta


def _table():
    return pd.DataFrame(
        {
            "organ": ["bladder", "rectum", "uterus_vagina"],
            "frame": [0, 1, 2],
            "curvature_per_mm": [0.1, np.nan, -0.25],
            "note": ["é ü", "", "x"],
        }
    )


@pytest.mark.parametrize("fmt, reader", [
    ("csv", lambda p: pd.read_csv(p, keep_default_na=False, na_values=[""])),
    ("xlsx", pd.read_excel),
    ("parquet", pd.read_parquet),
])
def test_tables_round_trip_through_pandas_readers(tmp_path, fmt, reader):
    df = _table()
    path = write_table(df, tmp_path / "sub" / "points", fmt=fmt)
    assert path == tmp_path / "sub" / f"points.{fmt}"
    back = reader(path)
    assert list(back.columns) == list(df.columns)
    assert back["organ"].tolist() == df["organ"].tolist()
    assert back["frame"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(back["curvature_per_mm"], df["curvature_per_mm"])
    assert back["note"].iloc[0] == "é ü"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_table_format_from_suffix_and_validation(tmp_path):
    assert write_table(_table(), tmp_path / "a.xlsx").suffix == ".xlsx"
    assert write_table(_table(), tmp_path / "b").suffix == ".csv"
    assert write_table(_table(), tmp_path / "c", fmt=".PARQUET").suffix == ".parquet"
    with pytest.raises(ValueError, match="unknown table format 'json'; choose one of csv"):
        write_table(_table(), tmp_path / "d", fmt="json")
    with pytest.raises(ValueError, match="ends in .csv but the format asked is 'xlsx'"):
        write_table(_table(), tmp_path / "e.csv", fmt="xlsx")
    with pytest.raises(TypeError, match="expected a pandas DataFrame, got dict"):
        write_table({"a": [1]}, tmp_path / "f")


def test_pseudonymize_removes_identity_and_keeps_alias():
    meta = default_meta()
    meta.update(
        subject_id="S-017", patient_name="Doe^Jane", patient_id="123456",
        patient_birth_date="19700101", source_path="/data/Doe_Jane/cine",
        series_description="cine sag",
    )
    out = pseudonymize(meta)
    for key in ("patient_name", "patient_id", "patient_birth_date", "source_path"):
        assert key not in out
    assert "Doe" not in repr(out) and "123456" not in repr(out)
    assert out["subject_id"] == "S-017" and out["series_description"] == "cine sag"
    assert out["pseudonymized"] is True
    assert meta["patient_name"] == "Doe^Jane"  # input untouched
    kept = pseudonymize(meta, keep_identity=True)
    assert kept["patient_name"] == "Doe^Jane" and kept["pseudonymized"] is False
    assert pseudonymize({"patient_name": "X"})["subject_id"] == "subject"


def test_nifti_orientation_round_trip(tmp_path):
    t, h, w = 4, 7, 11  # H != W so a transposition cannot hide
    labels = np.zeros((t, h, w), np.uint8)
    for f in range(t):
        labels[f, f, : f + 2] = 1  # an L shape that moves with the frame
        labels[f, f : f + 3, w - 1] = 2
        labels[f, h - 1, f] = 3
    times = np.array([0.0, 1.5, 3.0, 4.5])
    path = write_labels_nifti(labels, (1.2, 0.8), tmp_path / "labels", times_s=times)
    assert path.name == "labels.nii.gz"
    img = nib.load(path)
    data = np.asarray(img.dataobj)
    assert data.shape == (w, h, t) and data.dtype == np.uint8
    for f in range(t):
        np.testing.assert_array_equal(data[:, :, f].T, labels[f])
    np.testing.assert_allclose(img.header.get_zooms(), (0.8, 1.2, 1.0))
    np.testing.assert_allclose(img.affine, np.diag([0.8, 1.2, 1.0, 1.0]))
    assert img.header["pixdim"][4] == pytest.approx(1.5)
    assert img.header.get_xyzt_units() == ("mm", "sec")
    assert img.header.get_intent()[0] == "label"
    info = json.loads(img.header.extensions[0].get_content())
    assert info["times_s"] == times.tolist() and info["spacing_mm"] == [1.2, 0.8]
    np.testing.assert_array_equal(read_labels_nifti(path), labels)


def test_nifti_validation(tmp_path):
    with pytest.raises(ValueError, match=r"expected \(T,H,W\) labels, got shape \(3, 4\)"):
        write_labels_nifti(np.zeros((3, 4), np.uint8), (1, 1), tmp_path / "x.nii.gz")
    with pytest.raises(ValueError, match="0..255"):
        write_labels_nifti(np.full((2, 3, 4), 300), (1, 1), tmp_path / "x.nii.gz")
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"not nifti at all")
    from core.errors import ReaderError

    with pytest.raises(ReaderError, match="bad.nii.gz"):
        read_labels_nifti(bad)


def _circle(cx, cy, r, n=64):
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


def test_overlay_frame_has_organ_colour_on_the_contour():
    frame = np.zeros((40, 40), np.float32)
    sp = (1.0, 1.0)
    contour = _circle(20.0, 15.0, 8.0)
    rgb = render_overlay_frame(frame, {"bladder": contour, "rectum": None}, sp, window=(0, 1))
    scale = math.ceil(512 / 40)
    assert rgb.shape == (40 * scale, 40 * scale, 3) and rgb.dtype == np.uint8
    colour = np.array(ORGAN_COLOURS["bladder"])

    def px(x_mm, y_mm):
        return rgb[round((y_mm + 0.5) * scale - 0.5), round((x_mm + 0.5) * scale - 0.5)]

    for x, y in contour[::8]:
        assert np.abs(px(x, y).astype(int) - colour).max() <= 40, (x, y, px(x, y))
    assert px(20.0, 15.0).tolist() == [0, 0, 0]  # inside the circle: the black frame
    assert px(2.0, 35.0).tolist() == [0, 0, 0]
    coloured = np.all(np.abs(rgb.astype(int) - colour) <= 40, axis=2)
    rows, cols = np.nonzero(coloured)
    # The drawn ring spans the circle's extent: 16 mm in x and y, within a few px.
    assert abs((cols.max() - cols.min()) / scale - 16.0) < 0.5
    assert abs((rows.max() - rows.min()) / scale - 16.0) < 0.5


def test_overlay_frame_anisotropic_pixels_and_grey_window():
    frame = np.tile(np.linspace(0, 100, 20, dtype=np.float32), (10, 1))  # 10 rows x 20 cols
    sp = (2.0, 1.0)  # rows are 2 mm: the field of view is 20 mm x 20 mm
    rgb = render_overlay_frame(frame, {}, sp, scale=1)
    assert rgb.shape == (20, 20, 3)  # square display pixels of 1 mm
    assert np.all(rgb[..., 0] == rgb[..., 1])  # grey
    assert rgb[5, 0, 0] == 0 and rgb[5, -1, 0] == 255  # 1st/99th percentile window
    assert np.all(np.diff(rgb[5, :, 0].astype(int)) >= 0)


def test_overlay_contour_leaving_the_image_is_clipped():
    frame = np.zeros((20, 30), np.float32)
    contour = np.array([[-10.0, 10.0], [15.0, -10.0], [40.0, 10.0], [15.0, 30.0]])  # diamond
    rgb = render_overlay_frame(frame, {"rectum": contour}, (1.0, 1.0), window=(0, 1), scale=2)
    assert rgb.shape == (40, 60, 3)
    colour = np.array(ORGAN_COLOURS["rectum"])
    coloured = np.all(np.abs(rgb.astype(int) - colour) <= 40, axis=2)
    # The diamond's edges cross the image near its four corners, never its centre.
    assert coloured[:8, :8].any() and coloured[:8, -8:].any()
    assert coloured[-8:, :8].any() and coloured[-8:, -8:].any()
    assert not coloured[15:25, 20:40].any()


def test_overlay_video_gif_and_errors(tmp_path, monkeypatch):
    frames = np.random.default_rng(0).random((3, 12, 16)).astype(np.float32)
    contours = {"bladder": [_circle(8, 6, 3), None, _circle(8, 6, 4)]}
    path = write_overlay_video(frames, contours, (1.0, 1.0), tmp_path / "v.gif", fps=5,
                               scale=2, times_s=[0.0, 1.0, 2.0])
    video = iio.imread(path, index=None)
    assert video.shape[0] == 3 and video.shape[1:3] == (24, 32)
    with pytest.raises(ValueError, match="have 2 entries for 3 frames"):
        write_overlay_video(frames, {"bladder": [None, None]}, (1, 1), tmp_path / "w.gif")
    with pytest.raises(ValueError, match="use .gif or .mp4"):
        write_overlay_video(frames, contours, (1, 1), tmp_path / "v.avi")

    import imageio_ffmpeg

    def no_ffmpeg():
        raise RuntimeError("no ffmpeg")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_ffmpeg)
    with pytest.raises(ValueError, match="save the video as .gif instead"):
        write_overlay_video(frames, contours, (1, 1), tmp_path / "v.mp4")
    assert not (tmp_path / "v.mp4").exists()


def test_overlay_video_mp4(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    try:
        imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        pytest.skip("ffmpeg not available")
    frames = np.random.default_rng(1).random((4, 15, 15)).astype(np.float32)
    contours = {"rectum": [_circle(7, 7, 3)] * 4}
    path = write_overlay_video(frames, contours, (1.0, 1.0), tmp_path / "v.mp4", scale=3)
    assert path.stat().st_size > 0
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="FFMPEG") as reader:
        assert reader.count_frames() == 4
        assert reader.get_data(0).shape == (46, 46, 3)  # 45 padded to even
