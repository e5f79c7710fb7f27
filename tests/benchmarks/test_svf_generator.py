"""Tests of the "svf" synthetic cine pelvic MRI generator (benchmarks/svf_generator.py).

Only development seeds 0-39 are drawn or rendered here; renders are made small (about
128 pixels a side over the same field of view, 8 frames) to keep the file fast.
"""

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

DEV_SEEDS = range(40)


def _small(params, n=128, frames=8):
    """The same case over the same field of view on a ~n-pixel matrix with few frames."""
    p = json.loads(json.dumps(params))
    h, w = p["matrix"]
    k = n / max(h, w)
    p["matrix"] = [max(round(h * k), 16), max(round(w * k), 16)]
    p["spacing_mm"] = [p["spacing_mm"][0] * h / p["matrix"][0],
                       p["spacing_mm"][1] * w / p["matrix"][1]]
    p["n_frames"] = frames
    return p


@pytest.fixture(scope="module")
def svf(load_script):
    return load_script("svf_generator")


@pytest.fixture(scope="module")
def drawn(svf):
    return {s: svf.draw_params(s) for s in DEV_SEEDS}


@pytest.fixture(scope="module")
def cases(svf, drawn):
    """Small renders of a few development seeds chosen to cover the variety."""
    picks: list[int] = []

    def first(pred):
        for s, p in drawn.items():
            if s not in picks and pred(p):
                picks.append(s)
                return

    an = lambda p: p["anatomy"]  # noqa: E731
    first(lambda p: an(p)["uterus"]["state"] == "hysterectomy")
    first(lambda p: an(p)["uterus"]["state"].startswith("retroverted"))
    first(lambda p: an(p)["uterus"]["state"] == "enlarged_fibroids")
    first(lambda p: p["imaging"]["contrast"] in ("T2", "T2FS") and an(p)["bladder_fill"] > 0.4
          and p["motion"]["manoeuvre"] != "rest")
    first(lambda p: p["imaging"]["contrast"] == "T1")
    first(lambda p: p["imaging"]["contrast"] == "bSSFP")
    first(lambda p: p["motion"]["manoeuvre"] == "rest")
    return {s: svf.render(_small(drawn[s])) for s in picks}


def test_interface(svf):
    assert svf.PREFIX == "svf"
    assert svf.LABELS == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
    for name in ("draw_params", "render", "generate", "_write_case", "main"):
        assert callable(getattr(svf, name))
    first = svf.__doc__.strip().splitlines()[0]
    assert first.endswith(".") and len(first) > 20


def test_params_json_and_keys(svf, drawn):
    for seed in (0, 1, 2):
        p = drawn[seed]
        assert json.loads(json.dumps(p)) == p
        assert p["seed"] == seed and p["generator"] == "svf"
        assert p["labels"] == svf.LABELS
        for key in ("spacing_mm", "matrix", "n_frames", "frame_interval_s", "snr", "anatomy",
                    "imaging", "motion"):
            assert key in p
        an = p["anatomy"]
        assert an["uterus"]["state"] in svf.UTERUS_STATES
        assert 0.0 <= an["bladder_fill"] <= 1.0
        assert an["rectal_content"] in ("empty", "stool", "gas", "gel")
        assert isinstance(an["pathology"], list)
        im = p["imaging"]
        for key in ("sequence", "contrast", "field_strength_T", "slice_thickness_mm"):
            assert key in im
        assert p["motion"]["manoeuvre"] in svf.MANOEUVRES


def test_draw_is_deterministic(svf):
    assert svf.draw_params(7) == svf.draw_params(7)
    assert svf.draw_params(7) != svf.draw_params(8)


def test_draw_ranges_and_variety(drawn):
    states, contrasts, manoeuvres, contents, fills = set(), set(), set(), set(), []
    for p in drawn.values():
        assert all(1.1 <= s <= 1.5 for s in p["spacing_mm"])
        assert all(224 <= m <= 288 for m in p["matrix"])
        assert 16 <= p["n_frames"] <= 40
        assert 0.5 <= p["frame_interval_s"] <= 2.0
        assert 4.0 <= p["imaging"]["slice_thickness_mm"] <= 10.0
        states.add(p["anatomy"]["uterus"]["state"])
        contrasts.add(p["imaging"]["contrast"])
        manoeuvres.add(p["motion"]["manoeuvre"])
        contents.add(p["anatomy"]["rectal_content"])
        fills.append(p["anatomy"]["bladder_fill"])
    assert "hysterectomy" in states and len(states) >= 5
    assert len(contrasts) >= 3
    assert len(manoeuvres) >= 4
    assert len(contents) >= 3
    assert min(fills) < 0.2 and max(fills) > 0.8
    assert len({tuple(p["matrix"]) for p in drawn.values()}) > 10


def test_render_is_deterministic(svf, drawn):
    p = _small(drawn[3], n=80, frames=3)
    f1, l1, s1, _ = svf.render(p)
    f2, l2, s2, _ = svf.render(p)
    assert s1 == s2
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(l1, l2)


def test_render_contract(cases, drawn):
    for seed, (frames, labels, spacing, params) in cases.items():
        small = _small(drawn[seed])
        t, (h, w) = small["n_frames"], small["matrix"]
        assert frames.shape == labels.shape == (t, h, w)
        assert frames.dtype == np.float32 and labels.dtype == np.uint8
        assert np.all(np.isfinite(frames)) and frames.min() >= 0 and frames.max() > 0
        assert set(np.unique(labels)) <= {0, 1, 2, 3}
        assert spacing == pytest.approx(tuple(small["spacing_mm"]))
        assert params["seed"] == seed and json.loads(json.dumps(params)) == params
        assert 0 <= params["derived"]["peak_frame"] < t


def test_every_label_in_every_frame_as_one_piece(cases):
    for seed, (_, labels, _, _) in cases.items():
        for t, lab in enumerate(labels):
            for k in (1, 2, 3):
                mask = lab == k
                assert mask.any(), (seed, t, k)
                assert ndi.label(mask)[1] == 1, (seed, t, k)


def test_anatomical_order_and_sizes(cases):
    for seed, (_, labels, spacing, _) in cases.items():
        lab = labels[0]
        rows, cols = {}, {}
        for k in (1, 2, 3):
            r, c = np.nonzero(lab == k)
            rows[k], cols[k] = r, c
            area = r.size * spacing[0] * spacing[1] / 100.0  # cm2
            assert 1.0 < area < 180.0, (seed, k, area)
        # bladder anterior of the rectum, uterus/vagina anterior of the rectum
        assert cols[1].mean() < cols[3].mean(), seed
        assert cols[2].mean() < cols[3].mean(), seed
        # the vagina reaches lower (more caudal) than the bladder, the bladder lies anterior
        assert rows[2].max() > rows[1].max(), seed
        assert cols[1].mean() < cols[2].mean(), seed


def test_organs_move_smoothly(cases):
    for seed, (_, labels, spacing, params) in cases.items():
        peak = params["derived"]["peak_frame"]
        assert (labels[0] != labels[peak]).sum() > 0, seed
        for k in (1, 2, 3):
            cen = np.array([np.argwhere(lab == k).mean(axis=0) * spacing for lab in labels])
            step = np.linalg.norm(np.diff(cen, axis=0), axis=1)
            assert step.max() < 30.0, (seed, k, step.max())
    moving = [s for s, c in cases.items() if c[3]["motion"]["manoeuvre"] != "rest"]
    assert moving
    for seed in moving:
        labels, params = cases[seed][1], cases[seed][3]
        peak = params["derived"]["peak_frame"]
        assert (labels[0] != labels[peak]).sum() >= 20, seed


def test_labels_follow_the_image(cases):
    checked = 0
    for seed, (frames, labels, _, params) in cases.items():
        contrast = params["imaging"]["contrast"]
        if params["anatomy"]["bladder_fill"] < 0.3 or contrast == "bSSFP":
            continue
        for t in (0, params["derived"]["peak_frame"]):
            bl = labels[t] == 1
            inner = ndi.binary_erosion(bl, iterations=2)
            ring = ndi.binary_dilation(bl, iterations=4) & ~ndi.binary_dilation(bl, iterations=1)
            ring &= labels[t] == 0
            if inner.sum() < 10:
                continue
            a, b = frames[t][inner].mean(), frames[t][ring].mean()
            if contrast in ("T2", "T2FS"):
                assert a > 1.3 * b, (seed, t, a, b)
            else:  # T1: dark urine
                assert a < b, (seed, t, a, b)
            checked += 1
    assert checked >= 2


def test_command_line_writes_a_readable_case(svf, drawn, generate_one):
    from core.io import read_series

    seed = min(DEV_SEEDS, key=lambda s: drawn[s]["n_frames"] * np.prod(drawn[s]["matrix"]))
    case = generate_one(svf, "svf", seed)
    p = drawn[seed]
    truth = np.load(case / "truth.npy")
    assert truth.dtype == np.uint8
    assert truth.shape == (p["n_frames"], *p["matrix"])
    series = read_series(case / "series")
    assert series.frames.shape == truth.shape
    assert series.spacing_mm == pytest.approx(tuple(p["spacing_mm"]), rel=1e-4)
    assert series.frame_interval_s == pytest.approx(p["frame_interval_s"], rel=1e-3)
    saved = json.loads((case / "params.json").read_text())
    assert saved["seed"] == seed and saved["generator"] == "svf"
    assert saved["labels"] == svf.LABELS
    for k in (1, 2, 3):
        assert np.all((truth == k).any(axis=(1, 2)))
