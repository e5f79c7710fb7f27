"""Fast checks of benchmarks/levelset_generator.py (seeds 0-39 only)."""

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

from core.io import read_series

SEEDS = range(40)


@pytest.fixture(scope="module")
def mod(load_script):
    return load_script("levelset_generator")


def small(mod, seed, n_frames=10, size=128):
    """Render a case on a coarser grid over the same field of view, with fewer frames."""
    p = mod.draw_params(seed)
    h, w = p["matrix"]
    f = size / max(h, w)
    p["matrix"] = [int(round(h * f)), int(round(w * f))]
    p["spacing_mm"] = [p["spacing_mm"][0] / f, p["spacing_mm"][1] / f]
    p["n_frames"] = n_frames
    return mod.render(p)


@pytest.fixture(scope="module")
def cases(mod):
    return {seed: small(mod, seed) for seed in (0, 1, 3, 5, 7, 11)}


def test_interface(mod):
    assert mod.PREFIX == "levelset"
    assert mod.LABELS == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
    p = mod.draw_params(4)
    json.dumps(p)
    assert p == mod.draw_params(4)
    for key in ("seed", "generator", "spacing_mm", "matrix", "n_frames", "frame_interval_s",
                "snr", "labels", "anatomy", "imaging", "motion"):
        assert key in p
    assert p["generator"] == "levelset"
    for key in ("uterus", "bladder_fill", "rectal_content", "pathology"):
        assert key in p["anatomy"]
    assert "state" in p["anatomy"]["uterus"]
    for key in ("sequence", "contrast", "field_strength_T", "slice_thickness_mm"):
        assert key in p["imaging"]
    assert "manoeuvre" in p["motion"]


def test_draw_ranges_and_variety(mod):
    ps = [mod.draw_params(s) for s in SEEDS]
    for p in ps:
        assert all(1.1 <= v <= 1.5 for v in p["spacing_mm"])
        assert all(224 <= v <= 288 for v in p["matrix"])
        assert 16 <= p["n_frames"] <= 40
    states = {p["anatomy"]["uterus"]["state"] for p in ps}
    assert len(states) >= 5 and "hysterectomy" in states
    assert len({p["imaging"]["contrast"] for p in ps}) >= 3
    assert len({p["motion"]["manoeuvre"] for p in ps}) >= 3
    assert len({p["anatomy"]["rectal_content"] for p in ps}) >= 4
    assert len({tuple(p["anatomy"]["pathology"]) for p in ps}) >= 4
    fills = [p["anatomy"]["bladder_fill"] for p in ps]
    assert min(fills) < 0.15 and max(fills) > 0.6


def test_frames_and_labels(cases):
    for seed, (frames, labels, _, params) in cases.items():
        assert frames.dtype == np.float32 and labels.dtype == np.uint8
        assert frames.shape == labels.shape and frames.shape[0] == 10
        assert np.all(np.isfinite(frames)) and frames.min() >= 0
        assert set(np.unique(labels)) <= {0, 1, 2, 3}
        assert 0 <= params["rest_frame"] < 10 and 0 <= params["peak_frame"] < 10
        assert params["labels"] == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
        for t in range(labels.shape[0]):
            for code in (1, 2, 3):
                m = labels[t] == code
                assert m.sum() > 5, (seed, t, code)
                assert ndi.label(m)[1] == 1, (seed, t, code)


def test_anatomy_relations(cases):
    for seed, (_, labels, _, _) in cases.items():
        ordered = rows = 0
        for lab in labels:
            cols = {c: np.nonzero(lab == c)[1].mean() for c in (1, 2, 3)}
            assert cols[1] < cols[3], seed  # bladder anterior to the rectum
            # rows through the lower bladder and the rectum: the vagina lies between them
            r_mid = int(np.nonzero(lab == 1)[0].mean())
            for r in range(r_mid, lab.shape[0]):
                line = lab[r]
                if all((line == c).any() for c in (1, 2, 3)):
                    rows += 1
                    m = {c: np.nonzero(line == c)[0].mean() for c in (1, 2, 3)}
                    ordered += m[1] < m[2] < m[3]
        assert rows == 0 or ordered >= 0.6 * rows, seed
        # organs sit in the lower (caudal) part of the image
        rr = np.nonzero(labels[0] > 0)[0]
        assert rr.mean() > 0.4 * labels.shape[1]


def test_determinism(mod):
    a = small(mod, 2, n_frames=4, size=96)
    b = small(mod, 2, n_frames=4, size=96)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_manoeuvre_moves_organs(mod):
    seed = next(s for s in SEEDS if mod.draw_params(s)["motion"]["manoeuvre"] == "valsalva"
                and "cystocele" in mod.draw_params(s)["anatomy"]["pathology"])
    frames, labels, spacing, params = small(mod, seed, n_frames=16)
    rest, peak = params["rest_frame"], params["peak_frame"]
    assert peak != rest
    low = {}
    for t in (rest, peak):
        rows = np.nonzero(labels[t] == 1)[0]
        low[t] = np.percentile(rows, 95) * spacing[0]
    assert low[peak] - low[rest] > 5.0  # the bladder base descends by more than 5 mm
    assert np.abs(frames[peak] - frames[rest]).mean() > 0


def test_dicom_round_trip(mod, generate_one):
    case = generate_one(mod, "levelset", 9)
    params = json.loads((case / "params.json").read_text())
    truth = np.load(case / "truth.npy")
    series = read_series(case / "series")
    frames, labels, spacing, p2 = mod.generate(9)
    assert params == json.loads(json.dumps(p2))
    assert np.array_equal(truth, labels)
    assert series.frames.shape == frames.shape == truth.shape
    assert tuple(params["matrix"]) == frames.shape[1:]
    assert params["n_frames"] == frames.shape[0]
    tol = (frames.max() - min(frames.min(), 0)) / 65000 * 1.01 + 1e-6
    assert np.max(np.abs(series.frames - frames)) <= tol
    assert np.allclose(series.spacing_mm, spacing, rtol=1e-6)
    assert np.allclose(series.times_s, np.arange(frames.shape[0]) * params["frame_interval_s"])
    for key in ("rest_frame", "peak_frame", "labels", "anatomy", "imaging", "motion"):
        assert key in params
