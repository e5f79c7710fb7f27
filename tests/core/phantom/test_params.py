"""Random ranges, overrides and their validation."""

import json

import numpy as np
import pytest

from core.phantom import generate_case
from core.phantom.params import RANGES, sample_params


@pytest.mark.parametrize("seed", range(40))
def test_random_parameters_within_documented_ranges(seed):
    p = sample_params(np.random.default_rng(seed), {})
    lo, hi = RANGES["matrix"]
    assert all(lo <= n <= hi for n in p["shape"])
    lo, hi = RANGES["spacing_mm"]
    assert all(lo <= s <= hi for s in p["spacing_mm"])
    assert RANGES["n_frames"][0] <= p["n_frames"] <= RANGES["n_frames"][1]
    assert RANGES["frame_interval_s"][0] <= p["frame_interval_s"] <= RANGES["frame_interval_s"][1]
    assert p["contrast"] in ("t2", "bssfp")
    assert RANGES["snr"][0] <= p["snr"] <= RANGES["snr"][1]
    assert 0 <= p["bias_strength"] <= RANGES["bias_strength"][1]
    assert RANGES["motion_strength"][0] <= p["motion_strength"] <= RANGES["motion_strength"][1]


def test_parameters_vary_between_seeds():
    ps = [sample_params(np.random.default_rng(s), {}) for s in range(60)]
    assert {p["contrast"] for p in ps} == {"t2", "bssfp"}
    assert len({tuple(p["shape"]) for p in ps}) > 10
    assert any(p["shape"][0] != p["shape"][1] for p in ps)
    assert any(p["motion_strength"] < 0.25 for p in ps)  # some cases barely move
    assert any(p["bias_strength"] > 0.5 for p in ps)  # some strong bias fields


def test_default_case_matches_its_parameters():
    case = generate_case(21, n_frames=3)
    p = case.params
    assert json.loads(json.dumps(p, allow_nan=False)) == p  # strict JSON round trip
    assert case.series.frames.shape == (3, *p["shape"])
    assert case.series.spacing_mm == pytest.approx(tuple(p["spacing_mm"]))
    np.testing.assert_allclose(np.diff(case.series.times_s), p["frame_interval_s"])
    assert np.isfinite(case.series.frames).all() and case.series.frames.min() >= 0


def test_overrides_are_applied_and_checked():
    case = generate_case(1, shape=(64, 72), n_frames=3, spacing_mm=(3.0, 2.8),
                         contrast="bssfp", noise=0.05)
    assert case.series.frames.shape == (3, 64, 72)
    assert case.series.spacing_mm == (3.0, 2.8)
    assert case.params["contrast"] == "bssfp" and case.params["snr"] == pytest.approx(20)
    with pytest.raises(ValueError, match="unknown phantom override"):
        generate_case(1, colour="red")
    with pytest.raises(ValueError, match="contrast"):
        generate_case(1, contrast="pd")
    with pytest.raises(ValueError, match="seed"):
        generate_case(-1)


def test_parse_overrides_reads_json_else_strings_and_names_the_flag():
    from core.phantom.params import parse_overrides

    got = parse_overrides(["sigmoid_colon=true", "shape=[64,64]", "snr=4", "contrast=t1",
                           "gamma=1.5"])
    assert got == {"sigmoid_colon": True, "shape": [64, 64], "snr": 4, "contrast": "t1",
                   "gamma": 1.5}
    with pytest.raises(ValueError, match="--option needs KEY=VALUE, got 'snr'"):
        parse_overrides(["snr"], "--option")
