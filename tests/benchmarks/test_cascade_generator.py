"""Tests of benchmarks/cascade_generator.py (finite-element cine pelvis), seeds 0-39 only."""

import json

import numpy as np
import pytest
from scipy import ndimage

SEEDS = range(0, 40)


@pytest.fixture(scope="module")
def gen(load_script):
    return load_script("cascade_generator")


@pytest.fixture(scope="module")
def small_cases(gen, shrink):
    out = {}
    for seed in (0, 3, 7):
        p = shrink(gen.draw_params(seed))
        out[seed] = (p, gen.render(p))
    return out


def _first_seed(gen, manoeuvre):
    for s in SEEDS:
        if gen.draw_params(s)["motion"]["manoeuvre"] == manoeuvre:
            return s
    raise AssertionError(f"no {manoeuvre} among seeds 0-39")


def test_interface(gen):
    assert gen.PREFIX == "cascade"
    assert gen.LABELS == {"bladder": 1, "uterus_vagina": 2, "rectum": 3}
    for name in ("draw_params", "render", "generate", "_write_case", "main"):
        assert callable(getattr(gen, name))


def test_draw_params_deterministic_and_json(gen):
    for seed in (0, 1, 2):
        a, b = gen.draw_params(seed), gen.draw_params(seed)
        assert a == b
        assert json.loads(json.dumps(a)) == a
    assert gen.draw_params(0) != gen.draw_params(1)


def test_value_ranges(gen):
    states, manoeuvres, sequences = set(), set(), set()
    for seed in SEEDS:
        p = gen.draw_params(seed)
        h, w = p["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert all(1.1 <= s <= 1.5 for s in p["spacing_mm"])
        assert 16 <= p["n_frames"] <= 40
        assert 0.8 <= p["frame_interval_s"] <= 2.0
        assert 280 <= h * p["spacing_mm"][0] <= 432
        im = p["imaging"]
        assert isinstance(im["sequence"], str) and 5 <= im["snr"] <= 40
        assert im["slice_thickness_mm"] > 0
        an = p["anatomy"]
        assert 0 <= an["bladder_fill"] <= 1
        states.add(an["uterus_state"])
        manoeuvres.add(p["motion"]["manoeuvre"])
        sequences.add(im["sequence"])
        assert an["rectal_content"] in ("empty", "stool", "gas", "gel_bright", "gel_dark")
    assert len(states) >= 5 and len(manoeuvres) >= 4 and len(sequences) >= 4


def test_render_shapes_and_dtypes(small_cases):
    for p, (frames, labels, spacing, params) in small_cases.values():
        t = p["n_frames"]
        h, w = p["matrix"]
        assert frames.shape == (t, h, w) and frames.dtype == np.float32
        assert labels.shape == (t, h, w) and labels.dtype == np.uint8
        assert np.all(np.isfinite(frames)) and frames.min() >= 0 and frames.max() > 0
        assert tuple(spacing) == pytest.approx(tuple(p["spacing_mm"]))
        assert set(np.unique(labels)) <= {0, 1, 2, 3}
        json.dumps(params)


def test_labels_present_sized_connected(small_cases):
    for p, (_frames, labels, spacing, _params) in small_cases.values():
        px = spacing[0] * spacing[1] / 100.0  # cm2
        for f in range(labels.shape[0]):
            for v, (lo, hi) in {1: (2, 120), 2: (8, 200), 3: (5, 120)}.items():
                m = labels[f] == v
                assert lo <= m.sum() * px <= hi, (p["seed"], f, v, m.sum() * px)
                assert ndimage.label(m)[1] == 1


def test_anatomy_order(small_cases):
    """Bladder anterior to the vagina/uterus, rectum posterior to it (column terms), in the
    rows of the lower half of each label, on the rest frame."""
    for _p, (_frames, labels, _spacing, _params) in small_cases.values():
        lab = labels[0]

        def lower_cols(v, other, lab=lab):
            rows = np.nonzero((lab == v).any(1))[0]
            rows = rows[rows >= np.median(rows)]
            rows = [r for r in rows if (lab[r] == other).any()]
            assert rows
            return (np.mean([np.nonzero(lab[r] == v)[0].mean() for r in rows]),
                    np.mean([np.nonzero(lab[r] == other)[0].mean() for r in rows]))

        b, uv = lower_cols(1, 2)
        assert b < uv
        r, uv2 = lower_cols(3, 2)
        assert r > uv2
        cols = [np.nonzero(lab == v)[1].mean() for v in (1, 2, 3)]
        assert cols[0] < cols[2] and cols[1] < cols[2]


def test_valsalva_moves_bladder_down(gen, shrink):
    seed = _first_seed(gen, "valsalva")
    p = shrink(gen.draw_params(seed), frames=10)
    _frames, labels, spacing, _ = gen.render(p)
    rows = np.array([np.nonzero(labels[f] == 1)[0].mean() for f in range(len(labels))])
    descent_mm = (rows.max() - rows[0]) * spacing[0]
    assert descent_mm > 3.0, descent_mm


def test_render_deterministic(gen, small_cases):
    p, (frames, labels, _s, _q) = small_cases[3]
    f2, l2, _s2, _q2 = gen.render(p)
    np.testing.assert_array_equal(frames, f2)
    np.testing.assert_array_equal(labels, l2)


def test_frames_not_separable_from_labels(small_cases):
    for _p, (frames, labels, _s, _q) in small_cases.values():
        f, lab = frames[0], labels[0]
        for v in (1, 2, 3):
            vals = f[lab == v]
            assert vals.std() > 0.01 * (vals.mean() + 1e-9)
        # noise in the air: background pixels are not constant
        air = f[lab == 0]
        assert air.std() > 0
        lo, hi = np.percentile(f[lab > 0], [5, 95])
        overlap = ((air >= lo) & (air <= hi)).mean()
        assert overlap > 0.05


def test_write_case_and_main(gen, tmp_path, monkeypatch, shrink):
    small = shrink(gen.draw_params(1), rows=96, frames=4)
    monkeypatch.setattr(gen, "draw_params", lambda seed: dict(small, seed=seed))
    line = gen._write_case(1, str(tmp_path))
    assert "cascade_001" in line
    case = tmp_path / "cascade_001"
    truth = np.load(case / "truth.npy")
    assert truth.dtype == np.uint8 and truth.shape == (4, 96, small["matrix"][1])
    params = json.loads((case / "params.json").read_text())
    assert params["matrix"] == small["matrix"]
    files = sorted((case / "series").iterdir())
    assert len(files) == 4
    import pydicom

    ds = pydicom.dcmread(files[0])
    assert (ds.Rows, ds.Columns) == truth.shape[1:]
    out2 = tmp_path / "m"
    assert gen.main(["--seeds", "2", "--out", str(out2)]) == 0
    assert np.load(out2 / "cascade_002" / "truth.npy").shape[0] == 4
    assert (out2 / "cascade_002" / "params.json").exists()
