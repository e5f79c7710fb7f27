"""benchmarks/error_kinds.py: extra and missed area split near / far, on drawn shapes."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("error_kinds")


def _disc(shape, centre, radius):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


def test_a_far_blob_is_far_and_a_thin_rim_is_near(script):
    truth = np.zeros((2, 80, 80), np.uint8)
    truth[:, _disc((80, 80), (30, 30), 10)] = 1
    pred = truth.copy()
    blob = _disc((80, 80), (65, 65), 4)  # 30+ pixels from the disc
    pred[:, blob] = 1
    rim = _disc((80, 80), (30, 30), 10) & ~_disc((80, 80), (30, 30), 9)
    pred[:, rim] = 0  # missed, within one pixel of the prediction
    k = script.error_kinds(pred, truth, 2, (2.0, 1.0), far_mm=5.0)[1]
    px = 2.0  # mm² per pixel; every frame is the same, so per frame = one frame
    assert k["extra"] == pytest.approx(blob.sum() * px)
    assert k["extra_far"] == pytest.approx(blob.sum() * px)
    assert k["missed"] == pytest.approx(rim.sum() * px)
    assert k["missed_far"] == 0
    assert k["truth"] == pytest.approx(_disc((80, 80), (30, 30), 10).sum() * px)


def test_an_organ_missing_from_the_prediction_is_all_far(script):
    truth = np.zeros((1, 40, 40), np.uint8)
    truth[0, 10:20, 10:20] = 2
    pred = np.zeros_like(truth)
    kinds = script.error_kinds(pred, truth, 2, (1.0, 1.0))
    assert kinds[2]["missed"] == kinds[2]["missed_far"] == 100
    assert kinds[1] == {"truth": 0, "pred": 0, "extra": 0, "extra_far": 0, "missed": 0,
                        "missed_far": 0}


def test_shapes_must_match(script):
    with pytest.raises(ValueError, match="one shape"):
        script.error_kinds(np.zeros((1, 4, 4)), np.zeros((1, 4, 5)), 1, (1.0, 1.0))


def test_lookup_follows_dotted_paths(script):
    params = {"imaging": {"coil": "posterior", "snr": 12.5}, "flags": [1, 2]}
    assert script.lookup(params, "imaging.coil") == "posterior"
    assert script.lookup(params, "imaging.snr") == 12.5
    assert script.lookup(params, "imaging.missing") == "?"
    assert script.lookup(params, "flags") == "[1, 2]"


def test_report_gives_shares_and_groups(script):
    kinds = {1: {"truth": 10, "pred": 10, "extra": 4, "extra_far": 1, "missed": 2,
                 "missed_far": 2}}
    rows = [{"kinds": kinds, "summed_hd95": 10.0, "by": {"coil": "a"}},
            {"kinds": kinds, "summed_hd95": 30.0, "by": {"coil": "b"}},
            {"kinds": kinds, "summed_hd95": 20.0, "by": {"coil": "b"}}]
    text = script.report(rows, ["bladder"], ["coil"], 5.0)
    assert "| bladder | 12 | 25% | 6 | 100% |" in text
    assert "50% of the extra and missed area is far" in text
    assert "| a | 10.0 | 1 |" in text and "| b | 25.0 | 2 |" in text


def test_a_folder_without_cases_is_a_one_line_error(script, tmp_path, capsys):
    assert script.main(["--cases", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no labelled case folders" in err and len(err.strip().splitlines()) == 1


def test_end_to_end_on_a_generated_case(script, load_script, generate_one, tmp_path, capsys):
    case = generate_one(load_script("massspring_generator"), "massspring", 3)
    out = tmp_path / "report.md"
    assert script.main(["--cases", str(case.parent), "--by", "imaging.sequence", "--raw",
                        "--out", str(out)]) == 0
    text = out.read_text()
    assert "1 case(s)" in text and "| uterus_vagina |" in text
    assert "| imaging.sequence | mean summed HD95 mm | cases |" in text
    assert text in capsys.readouterr().out
