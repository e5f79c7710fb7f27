"""``pelvitrack info``: describes a series; bad input gives one ``error:`` line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from io_dicom_factory import write_mr
from pydicom.data import get_testdata_file

from app.cli import main

EMRI = get_testdata_file("emri_small.dcm")


def test_info_on_emri_small(capsys):
    assert main(["info", EMRI, "--frame-interval", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "frames:       10" in out
    assert "matrix:       64 x 64" in out
    assert "spacing:      1 x 1 mm" in out
    assert "frame interval: 0.5 s" in out
    assert "warning:      pixel spacing missing, 1 mm assumed" in out


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, a word the message must contain)."""
    cases: dict[str, tuple[Path, str]] = {}
    not_dicom = tmp / "notes.dcm"
    not_dicom.write_text("plain text")
    cases["not dicom"] = (not_dicom, "not a DICOM file")
    cases["truncated"] = (Path(get_testdata_file("MR_truncated.dcm")), "truncated")
    cases["single image"] = (Path(get_testdata_file("MR_small.dcm")), "a single image")
    sizes = tmp / "sizes"
    sizes.mkdir()
    write_mr(sizes / "a", np.zeros((6, 6)), series_uid="1.1", instance=1)
    write_mr(sizes / "b", np.zeros((8, 6)), series_uid="1.1", instance=2)
    cases["sizes"] = (sizes, "differs")
    empty = tmp / "empty"
    empty.mkdir()
    cases["empty"] = (empty, "empty folder")
    cases["missing"] = (tmp / "does-not-exist", "no such file")
    stray = tmp / "stray"
    stray.mkdir()
    (stray / "README").write_text("x")
    cases["no images"] = (stray, "not a supported folder")
    two = tmp / "two"
    two.mkdir()
    for k in range(2):
        write_mr(two / f"a{k}", np.zeros((4, 4)), series_uid="1.1", instance=k + 1)
        write_mr(two / f"b{k}", np.zeros((4, 4)), series_uid="2.2", instance=k + 1)
    cases["two series"] = (two, "2 series")
    cube = tmp / "vol.nii.gz"
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.zeros((5, 5, 4, 1), np.float32), np.eye(4)), cube)
    cases["3d volume"] = (cube, "a 3D volume")
    return cases


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    return _bad_inputs(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize(
    "name",
    ["not dicom", "truncated", "single image", "sizes", "empty", "missing", "no images",
     "two series", "3d volume"],
)
def test_bad_input_gives_one_error_line(capsys, bad_inputs, name):
    path, word = bad_inputs[name]
    assert main(["info", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert str(path) in lines[0]
    assert word in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_missing_decoder_names_the_package(capsys, monkeypatch):
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEG2000Lossless

    monkeypatch.setattr(get_decoder(JPEG2000Lossless), "_available", {})
    assert main(["info", get_testdata_file("emri_small_jpeg_2k_lossless.dcm")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "install pylibjpeg" in err[0]


def test_subprocess_error_has_no_traceback(bad_inputs):
    path, _ = bad_inputs["truncated"]
    res = subprocess.run([sys.executable, "-m", "app", "info", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]
    assert "Traceback" not in res.stderr


def test_damaged_tiff_and_nifti_give_one_line(capsys, caplog, tmp_path):
    import tifffile

    good = tmp_path / "good.tif"
    tifffile.imwrite(good, np.zeros((3, 9, 7), np.int16), photometric="minisblack")
    data = bytearray(good.read_bytes())
    data[8] ^= 0x40  # damage the first tag entry (tifffile logs an error, then copes or fails)
    bad = tmp_path / "bad.tif"
    bad.write_bytes(bytes(data))
    nii = tmp_path / "bad.nii"
    nii.write_bytes(b"\x00" * 20)
    for path in (bad, nii):
        caplog.clear()
        code = main(["info", str(path)])
        captured = capsys.readouterr()
        # Library log records would reach stderr in the real CLI (no logging set up).
        assert [r.name for r in caplog.records if r.name.startswith(("tifffile", "nibabel"))] == []
        if code == 0:
            assert "frames:" in captured.out and captured.err == ""
            continue
        assert code == 2
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]


def test_no_subcommand_opens_the_app(monkeypatch):
    """``pelvitrack`` alone runs ``view`` with no input (the desktop app)."""
    import app.commands.view as view

    seen = {}

    def fake_run(args):
        seen["input"] = args.input
        return 0

    monkeypatch.setattr(view, "run", fake_run)
    assert main([]) == 0
    assert seen == {"input": None}


def test_slice_of_a_multi_slice_nifti(capsys, tmp_path):
    import nibabel as nib

    img = nib.Nifti1Image(np.random.default_rng(1).random((16, 12, 3, 4)).astype(np.float32),
                          np.eye(4))
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 0.25
    path = tmp_path / "ms.nii.gz"
    nib.save(img, path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert "multi-slice cine" in err and "--slice N" in err
    assert main(["info", str(path), "--slice", "2"]) == 0
    out = capsys.readouterr().out
    assert "slice:        2 of 0-2" in out and "frames:       4" in out
    with pytest.raises(SystemExit) as exc:
        main(["info", str(path), "--slice", "-1"])
    assert exc.value.code == 2
    assert "expected a slice number" in capsys.readouterr().err


def test_info_on_a_project_lists_its_analysis_lines_points_and_measurements(capsys, tmp_path):
    from shapes_factory import tube_analysis

    from core.measurements import with_measurement
    from core.project import save_project
    from core.rectocele import ANAL_HIGH, ANAL_LOW, with_anal_line
    from core.reference import with_pcl

    result = tube_analysis((100.0, 110.0, 120.0), pcl=((60.0, 100.0), (160.0, 95.0)))
    marks, _ = with_measurement(result.landmarks, 3, 1, "distance", [(5.0, 5.0), (5.0, 17.0)])
    result.set_landmarks(with_pcl(marks, 3, (60.0, 104.0), (160.0, 95.0), frame=2))
    path = tmp_path / "tube.pvt"
    save_project(result.to_project(), path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    # labels given to the analysis count as drawn by hand
    assert "analysis:     model given, organs rectum, rest frame 1, 3 frame(s) corrected" in out
    assert ("lines:        pubococcygeal line (its own on 3 of 3 frames); anal canal line "
            "(every frame)\n") in out
    assert "reference:    anorectal junction (found on each frame)\n" in out
    assert "measured:     #1 distance 12.0 mm (frame 2)\n" in out
    low, high = result.landmarks[ANAL_LOW][1], result.landmarks[ANAL_HIGH][1]
    result.set_landmarks(with_anal_line(result.landmarks, 3, low + 1.0, high, frame=1))
    result.set_reference_points({"rectum": 7})
    save_project(result.to_project(), path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "anal canal line (its own on 3 of 3 frames)" in out
    assert "reference:    anorectal junction (tracked point 7)\n" in out
