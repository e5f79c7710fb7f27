"""`pelvitrack phantom` writes N cases with DICOM and truth."""

import pydicom

from app.cli import main
from core.phantom import read_truth


def test_phantom_command_writes_cases(tmp_path, capsys):
    rc = main(["phantom", str(tmp_path), "--cases", "2", "--seed", "3", "--shape", "48", "56",
               "--frames", "3", "--no-shuffle"])
    assert rc == 0
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == ["phantom-0003", "phantom-0004"]
    for name in folders:
        files = sorted((tmp_path / name / "dicom").glob("IM*.dcm"))
        assert len(files) == 3
        assert pydicom.dcmread(files[0]).Rows == 48
        truth = read_truth(tmp_path / name / "truth.h5")
        assert truth.labels.shape == (3, 48, 56)
    assert str(tmp_path) in capsys.readouterr().out


def test_phantom_command_rejects_bad_count(tmp_path, capsys):
    assert main(["phantom", str(tmp_path), "--cases", "0"]) == 2
    assert "error:" in capsys.readouterr().err
