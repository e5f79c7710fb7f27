"""benchmarks/rectocele_accuracy.py: the canal line from a mask, the AUC, a small run."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("rectocele_accuracy")


def test_the_canal_line_follows_the_anterior_edge_of_the_lowest_stretch(script):
    rows, cols = np.mgrid[0:100, 0:80]
    # a canal 8 px wide whose anterior edge runs x = 30 + 0.25 (row - 60), rows 60-90,
    # under an ampulla reaching x = 10 at rows 30-59 (above the stretch)
    edge = 30 + 0.25 * (rows - 60)
    mask = ((rows >= 60) & (rows <= 90) & (cols >= edge) & (cols < edge + 8)) | (
        (rows >= 30) & (rows < 60) & (cols >= 10) & (cols < 45))
    line = script.canal_line(mask, (1.0, 2.0))          # 1 mm rows, 2 mm columns
    low, high = line
    assert low[1] == pytest.approx(88.0) and high[1] == pytest.approx(90 - script.CANAL_MM)
    # x in mm of the edge (pixel edge: half a column before the first column inside)
    for (x, y) in line:
        assert x == pytest.approx(2.0 * np.ceil(30 + 0.25 * (y - 60)) - 1.0, abs=1.2)
    assert script.canal_line(np.zeros((10, 10), bool), (1.0, 1.0)) is None


def test_auc(script):
    assert script.auc([3, 4], [1, 2]) == 1.0
    assert script.auc([1, 2], [3, 4]) == 0.0
    assert script.auc([2], [2]) == 0.5
    assert np.isnan(script.auc([], [1]))


def test_the_page_keeps_the_other_generators_sections(script):
    page = script.merge_page("", "gp", "## gp\nfirst\n")
    page = script.merge_page(page, "defeco", "## defeco\nsecond\n")
    page = script.merge_page(page, "gp", "## gp\nthird\n")
    assert page.startswith(script.HEAD)
    assert page.index("## defeco\nsecond") < page.index("## gp\nthird") and "first" not in page


def test_a_small_run_writes_the_page(script, tmp_path):
    out = tmp_path / "rectocele.md"
    assert script.main(["--seeds", "5000", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| defeco_5000 |" in text and "per frame: mean \\|model − truth\\|" in text
    assert text.startswith(script.HEAD) and "## defeco" in text
    assert "| click error (2 mm at each end), truth labels: largest value mean" in text
