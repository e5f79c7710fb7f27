"""benchmarks/judge_rule.py: the shipping rules' judgements from evaluate tables."""

import numpy as np
import pandas as pd
import pytest

ORGANS = ("bladder", "uterus_vagina", "rectum")


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("judge_rule")


def _table(scores, prefix="gp", first=100, frames=3, dsc=0.95, empty=()):
    """Per-frame table: case ``prefix_<first+i>`` has HD95 = scores[i] / 3 in every organ
    and frame (so its summed HD95 is scores[i]) and ASD a quarter of that; the
    (case index, organ, frame) triples in ``empty`` have no distance (one mask empty)."""
    rows = []
    for i, s in enumerate(scores):
        for organ in ORGANS:
            for f in range(frames):
                gone = (i, organ, f) in empty
                rows.append({"case": f"{prefix}_{first + i}", "organ": organ, "frame": f,
                             "dsc": 0.0 if gone else dsc,
                             "hd95_mm": np.nan if gone else s / 3,
                             "asd_mm": np.nan if gone else s / 12})
    return pd.DataFrame(rows)


BASE = [30.0 + 2 * i for i in range(20)]


def test_gp_passes_a_candidate_lower_on_every_case(script):
    ok, lines = script.judge_gp(_table(BASE), _table([s * 0.9 for s in BASE]),
                                [(100, 109), (110, 119)])
    assert ok
    assert "-10.00 %" in lines[0] and "lower on 20, higher on 0 of 20" in lines[0]


def test_gp_fails_a_drop_under_the_minimum_or_a_half_that_rises(script):
    small = [s * 0.99 for s in BASE]   # lower everywhere, but only 1 %
    assert not script.judge_gp(_table(BASE), _table(small), [])[0]
    mixed = [s * 0.8 for s in BASE[:10]] + [s * 1.05 for s in BASE[10:]]
    ok, lines = script.judge_gp(_table(BASE), _table(mixed), [(100, 109), (110, 119)])
    # Overall 7 % lower, but the second half is higher: rule 103 asks for both halves.
    assert not ok
    assert "+5.00 %" in lines[2]


def test_gp_fails_a_candidate_that_stops_drawing_an_organ(script):
    # 20 cases × 3 frames = 60 frames; one more empty organ-frame is 1.7 % of them.
    lower = [s * 0.9 for s in BASE]
    assert script.judge_gp(_table(BASE), _table(lower, empty={(0, "bladder", 0)}), [],
                           empty_limit=2.0)[0]
    ok, lines = script.judge_gp(_table(BASE), _table(lower, empty={(0, "bladder", 0)}), [])
    assert not ok
    assert "one-empty organ-frames 0 -> 1 (+1.67 % of 60 frames" in lines[-1]


def test_phantom_margins(script):
    same = _table(BASE, prefix="phantom")
    assert script.judge_phantom(same, same.copy())[0]
    # 2 % higher overall: within the 3 % margin, and each organ within 6 %.
    assert script.judge_phantom(same, _table([s * 1.02 for s in BASE], prefix="phantom"))[0]
    # One organ's ASD 10 % higher fails although the summed HD95 does not move.
    worse_asd = same.copy()
    worse_asd.loc[worse_asd.organ == "rectum", "asd_mm"] *= 1.10
    ok, lines = script.judge_phantom(same, worse_asd)
    assert not ok
    assert any(line.strip().startswith("rectum: HD95 +0.0 %, ASD +10.0 %") for line in lines)
    # A DSC under the floor fails whatever the distances.
    low_dsc = _table(BASE, prefix="phantom", dsc=0.90)
    assert not script.judge_phantom(same, low_dsc)[0]


def test_sets_fail_only_a_rise_that_is_large_and_significant(script):
    twelve = [20.0 + i for i in range(12)]
    base = {"alt": _table(twelve, prefix="alt"), "mesh": _table(twelve, prefix="mesh")}
    # mesh: one case four times higher: +25 % on the set, but one case is not significant.
    one_bad = twelve.copy()
    one_bad[0] *= 4
    ok, lines = script.judge_sets(
        base, {"alt": base["alt"], "mesh": _table(one_bad, prefix="mesh")}, pooled_limit=20.0)
    assert ok, lines
    # mesh: every case 15 % higher: significant, more than 10 %: the set fails.
    ok, lines = script.judge_sets(
        base, {"alt": base["alt"], "mesh": _table([s * 1.15 for s in twelve], prefix="mesh")},
        pooled_limit=20.0)
    assert not ok
    assert lines[-1].endswith("mesh")
    # The pooled limit on its own: every case of both sets 2 % higher (significant).
    up = {k: _table([s * 1.02 for s in twelve], prefix=k) for k in base}
    ok, lines = script.judge_sets(base, up)
    assert not ok and "+2.00 %" in lines[0]


def test_tables_of_different_cases_are_refused(script):
    with pytest.raises(ValueError, match="same cases"):
        script.judge_gp(_table(BASE), _table(BASE, first=200), [])


def test_command_line_exit_codes(script, tmp_path, capsys):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    _table(BASE).to_csv(a, index=False)
    _table([s * 0.9 for s in BASE]).to_csv(b, index=False)
    _table([s * 1.1 for s in BASE]).to_csv(c, index=False)
    assert script.main(["gp", str(a), str(b), "--halves", "100-109,110-119"]) == 0
    assert capsys.readouterr().out.strip().endswith("RESULT PASS")
    assert script.main(["gp", str(a), str(c)]) == 1
    assert capsys.readouterr().out.strip().endswith("RESULT FAIL")
    assert script.main(["gp", str(a), str(tmp_path / "none.csv")]) == 2
    err = capsys.readouterr().err
    assert "none.csv: no such file" in err and err.count("\n") == 1
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    assert script.main(["gp", str(a), str(tmp_path / "bad.csv")]) == 2
    assert "not an evaluate table" in capsys.readouterr().err
    for side, factor in (("A", 1.0), ("B", 1.0)):
        (tmp_path / side).mkdir()
        for s in ("R", "S"):
            _table([v * factor for v in BASE], prefix=f"phantom{s}").to_csv(
                tmp_path / side / f"{s}.csv", index=False)
    assert script.main(["phantom", str(tmp_path / "A"), str(tmp_path / "B")]) == 0
    assert script.main(["sets", str(tmp_path / "A"), str(tmp_path / "B"), "--sets", "R"]) == 0
    assert script.main(["sets", str(tmp_path / "A"), str(tmp_path / "empty")]) == 2


def test_pooled_judges_an_inference_time_change_over_all_sets(script):
    twelve = [20.0 + i for i in range(12)]
    base = {"gp": _table(BASE), "c/alt": _table(twelve, prefix="alt")}
    lower = {"gp": _table([s * 0.97 for s in BASE]),
             "c/alt": _table([s * 1.04 for s in twelve], prefix="alt")}
    ok, lines = script.judge_pooled(base, lower, ["gp"])
    assert ok, lines
    assert lines[0].startswith("pooled:") and "of 32" in lines[0]
    # A set 6 % higher fails, although the pooled mean falls.
    worse = dict(lower, **{"c/alt": _table([s * 1.06 for s in twelve], prefix="alt")})
    ok, lines = script.judge_pooled(base, worse, ["gp"])
    assert not ok and any("c/alt" in line and line.endswith("FAIL") for line in lines)
    # A set that must fall and does not: gp unchanged, alt much lower.
    alt_only = {"gp": base["gp"], "c/alt": _table([s * 0.5 for s in twelve], prefix="alt")}
    ok, lines = script.judge_pooled(base, alt_only, ["gp"])
    assert not ok and any("gp" in line and "(must fall) FAIL" in line for line in lines)
    assert script.judge_pooled(base, alt_only, [])[0]
    # One more organ-frame without a distance is 1/96 of the frames: over 0.1 %.
    gone = dict(lower, gp=_table([s * 0.97 for s in BASE], empty={(0, "bladder", 0)}))
    ok, lines = script.judge_pooled(base, gone, ["gp"])
    assert not ok and "one-empty organ-frames 0 -> 1 (+1.04 % of 96 frames" in lines[-1]
    with pytest.raises(ValueError, match="names no table: mesh"):
        script.judge_pooled(base, lower, ["mesh"])


def test_pooled_reads_tables_at_any_depth(script, tmp_path, capsys):
    for side, factor in (("A", 1.0), ("B", 0.95)):
        (tmp_path / side / "ph").mkdir(parents=True)
        _table([v * factor for v in BASE]).to_csv(tmp_path / side / "gp.csv", index=False)
        _table([v * factor for v in BASE], prefix="phantomR").to_csv(
            tmp_path / side / "ph" / "R.csv", index=False)
    assert script.main(["pooled", str(tmp_path / "A"), str(tmp_path / "B"),
                        "--must-fall", "gp,ph/R"]) == 0
    out = capsys.readouterr().out
    assert "  ph/R:" in out and out.strip().endswith("RESULT PASS")
    (tmp_path / "B" / "ph" / "R.csv").unlink()
    assert script.main(["pooled", str(tmp_path / "A"), str(tmp_path / "B")]) == 2
    assert "different sets" in capsys.readouterr().err
