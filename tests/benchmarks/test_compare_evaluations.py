"""benchmarks/compare_evaluations.py: paired per-case comparison of evaluate tables."""

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("compare_evaluations")


def _table(values):
    """Per-frame table: values[case][organ] = list of per-frame HD95."""
    rows = [{"case": c, "organ": o, "frame": f, "hd95_mm": v, "dsc": 0.9}
            for c, organs in values.items() for o, vs in organs.items()
            for f, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_case_score_is_the_sum_of_organ_means(script):
    t = _table({"c1": {"bladder": [1.0, 3.0], "rectum": [4.0, 4.0]},
                "c2": {"bladder": [2.0, 2.0], "rectum": [1.0, 5.0]}})
    assert script.case_scores(t, "hd95_mm").to_dict() == {"c1": 6.0, "c2": 5.0}
    assert script.set_total(t, "hd95_mm") == pytest.approx(2.0 + 3.5)


def test_a_candidate_lower_on_every_case_wins_the_paired_test(script):
    cases = {f"c{i}": {"bladder": [2.0 + i, 2.0 + i], "rectum": [3.0, 3.0]} for i in range(12)}
    better = {c: {"bladder": [v - 0.5 for v in o["bladder"]], "rectum": o["rectum"]}
              for c, o in cases.items()}
    r = script.compare({"S": _table(cases)}, {"S": _table(better)}, "hd95_mm")
    assert (r["lower"], r["higher"], r["equal"]) == (12, 0, 0)
    assert r["p_b_lower"] < 0.001 and r["p_two_sided"] < 0.001
    assert r["b"].mean() == pytest.approx(r["a"].mean() - 0.5)
    a_total, b_total = r["sets"]["S"]
    assert b_total == pytest.approx(a_total - 0.5)
    same = script.compare({"S": _table(cases)}, {"S": _table(cases)}, "hd95_mm")
    assert same["equal"] == 12 and same["p_b_lower"] != same["p_b_lower"]  # NaN: no test


def test_mismatched_tables_and_missing_files_are_one_line_errors(script, tmp_path, capsys):
    a = _table({"c1": {"bladder": [1.0]}})
    b = _table({"c2": {"bladder": [1.0]}})
    with pytest.raises(ValueError, match="same cases"):
        script.compare({"S": a}, {"S": b}, "hd95_mm")
    with pytest.raises(ValueError, match="different sets"):
        script.compare({"S": a}, {"T": a}, "hd95_mm")
    (tmp_path / "x").mkdir()
    a.to_csv(tmp_path / "x" / "S.csv", index=False)
    assert script.main([str(tmp_path / "x"), str(tmp_path / "y"), "--sets", "S"]) == 2
    err = capsys.readouterr().err
    assert "S.csv: no such file" in err and len(err.strip().splitlines()) == 1
    assert script.main([str(tmp_path / "x"), str(tmp_path / "x"), "--sets", "S"]) == 0
    assert "1 cases" in capsys.readouterr().out
