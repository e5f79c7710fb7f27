"""benchmarks/rectocele_accuracy.py: the AUC, the page, a small run."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("rectocele_accuracy")


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
    assert "| fitted line and model labels (no clicks)" in text
