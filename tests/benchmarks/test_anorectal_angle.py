"""benchmarks/anorectal_angle.py: the error summary and a small run writing the page."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("anorectal_angle")


def test_errors_against_the_truth(script):
    rows = [{"truth": np.array([100.0, 120.0, np.nan]), "model": np.array([104.0, np.nan, 90.0])},
            {"truth": np.array([90.0, 95.0, 130.0]), "model": np.array([88.0, 99.0, 130.0])}]
    e = script._errors(rows, "model")
    assert e["measured"] == 5 and e["missing"] == 1          # frame 1 of the first case
    assert e["frame"][0] == pytest.approx((4 + 2 + 4 + 0) / 4) and e["frame"][2] == 4
    assert e["rest"][0] == pytest.approx(3.0)
    # ranges: truth 20 and 40, model 14 and 42
    assert e["range"][0] == pytest.approx((6 + 2) / 2)


def test_junction_errors_against_the_truth(script):
    nan = [np.nan, np.nan]
    rows = [{"truth_j": np.array([[0.0, 0.0], [10.0, 10.0], nan]),
             "model_j": np.array([[3.0, 4.0], nan, [1.0, 1.0]])},
            {"truth_j": np.array([[5.0, 5.0], [5.0, 5.0]]),
             "model_j": np.array([[5.0, 7.0], [5.0, 5.0]])}]
    e = script.junction_errors(rows, "model")
    assert e["measured"] == 4 and e["missing"] == 1          # frame 1 of the first case
    assert e["distance"][0] == pytest.approx((5 + 2 + 0) / 3)
    assert e["head_feet"][0] == pytest.approx((4 + 2 + 0) / 3)
    assert e["rest"][0] == pytest.approx((5 + 2) / 2)


def test_a_small_run_writes_the_page(script, tmp_path):
    out = tmp_path / "ara.md"
    assert script.main(["--seeds", "2020", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith(script.HEAD) and "## gp\n" in text and "| gp_2020 | " in text
    for name in script.WAYS.values():
        assert text.count(f"| {name} | ") == 2           # the angle's table, the junction's
    junction = next(line for line in text.splitlines()
                    if line.startswith("| model labels, same line |") and " mm (" in line)
    assert float(junction.split("|")[3].split(" mm")[0]) < 30.0
    row = next(line for line in text.splitlines() if line.startswith("| gp_2020 |"))
    truth_rest = float(row.split("|")[4])
    assert 60.0 < truth_rest < 180.0


def test_each_generator_keeps_its_section(script, tmp_path):
    out = tmp_path / "ara.md"
    script.write_section(out, "gp", "## gp\nkept\n", script.HEAD)
    assert script.main(["--generator", "defeco", "--seeds", "5000", "--out", str(out)]) == 0
    text = out.read_text()
    assert "## gp\nkept" in text and "## defeco\n" in text and "| defeco_5000 | " in text
    assert "rest-angle parameter" not in text          # defeco has no angle parameter
