"""``pelvitrack compare``: deformation summaries of several projects side by side."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "gui"))
from gui_helpers import STEP_MM, disc_case  # noqa: E402

from app.cli import main  # noqa: E402
from core.indices import SUMMARY_COLUMNS  # noqa: E402
from core.project import save_project  # noqa: E402


@pytest.fixture
def projects(tmp_path):
    short = tmp_path / "short.pvt"
    save_project(disc_case(n_frames=4).to_project(), short)
    folder = tmp_path / "analysed"     # the folder `pelvitrack analyze --out` writes
    folder.mkdir()
    save_project(disc_case(n_frames=7).to_project(), folder / "analysis.pvt")
    return short, folder


def test_two_projects_side_by_side(projects, tmp_path, capsys):
    short, folder = projects
    out = tmp_path / "summary.xlsx"
    assert main(["compare", str(short), str(folder), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert "1:short.pvt (disc)" in lines[0] and "2:analysed (disc)" in lines[0]
    descent = next(line for line in lines if "max descent (mm)" in line).split()
    assert float(descent[-2]) == pytest.approx(3 * STEP_MM, abs=0.51)
    assert float(descent[-1]) == pytest.approx(6 * STEP_MM, abs=0.51)
    # right-aligned columns: every row of the table ends where the heading does, the
    # longest labels ("reference point below PCL, rest (mm)") included
    rows = [line for line in lines if line.startswith("  ")]
    assert len({len(line) for line in [lines[0], *rows]}) == 1
    table = pd.read_excel(out)
    assert list(table.columns) == ["input", *SUMMARY_COLUMNS]
    assert list(table["input"]) == ["1:short.pvt", "2:analysed"]
    assert list(table["frames"]) == [4, 7]
    assert "summary written" in text


@pytest.mark.parametrize("make, word", [
    (lambda tmp: [str(tmp / "short.pvt")], "two or more"),
    (lambda tmp: [str(tmp / "short.pvt"), str(tmp / "nope.pvt")], "no such file"),
    (lambda tmp: [str(tmp / "short.pvt"), str(tmp / "empty")], "no analysis.pvt"),
    (lambda tmp: [str(tmp / "short.pvt"), str(tmp / "series.nii")], "not a PelviTrack project"),
    (lambda tmp: [str(tmp / "short.pvt"), str(tmp / "broken.pvt")], "broken.pvt"),
])
def test_bad_inputs_give_one_line_and_exit_2(projects, tmp_path, capsys, make, word):
    (tmp_path / "empty").mkdir()                    # neither a project nor a batch's folder
    (tmp_path / "series.nii").write_bytes(b"\0" * 400)
    (tmp_path / "broken.pvt").write_bytes(b"not hdf5")
    assert main(["compare", *make(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and word in err[0]


def test_the_pcl_rows_show_where_a_line_was_placed(tmp_path, capsys):
    from gui_helpers import RADIUS_MM

    from core.reference import with_pcl

    a = disc_case(n_frames=4)
    a.set_landmarks(with_pcl({}, 4, (3.0, 22.0), (37.0, 22.0)))
    save_project(a.to_project(), tmp_path / "a.pvt")
    save_project(disc_case(n_frames=4).to_project(), tmp_path / "b.pvt")
    assert main(["compare", str(tmp_path / "a.pvt"), str(tmp_path / "b.pvt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    worst = next(line for line in lines if "below PCL, max" in line).split()
    assert float(worst[-2]) == pytest.approx(14 + RADIUS_MM + 3 * STEP_MM - 22, abs=0.6)
    assert worst[-1] == "–"                          # no line placed on the second
    grade = next(line for line in lines if "PCL grade" in line).split()
    assert grade[-2:] == ["mild", "–"]


def test_a_batch_folder_gives_each_of_its_inputs(tmp_path, capsys):
    cohort = tmp_path / "cohort"
    for name, n in (("p1", 4), ("p2", 7)):
        (cohort / name).mkdir(parents=True)
        save_project(disc_case(n_frames=n).to_project(), cohort / name / "analysis.pvt")
    (cohort / "bad").mkdir()                                  # a failed input: no project
    assert main(["compare", str(cohort)]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "1:p1 (disc)" in head and "2:p2 (disc)" in head
    # one batch of one input is not enough to compare
    assert main(["compare", str(tmp_path / "cohort" / "p1")]) == 2
