"""Tests of benchmarks/gp_generator.py (Gaussian-process anatomy and motion)."""

import copy
import json

import numpy as np
import pytest
from scipy import ndimage

SEEDS = range(40)


@pytest.fixture(scope="module")
def gp(load_script):
    return load_script("gp_generator")


@pytest.fixture(scope="module")
def all_params(gp):
    return {s: gp.draw_params(s) for s in SEEDS}


def _first(all_params, **want):
    for s, p in all_params.items():
        if all(p[k1][k2] == v for (k1, k2), v in
               (((k.split("__")[0], k.split("__")[1]), v) for k, v in want.items())):
            return s, p
    raise AssertionError(f"no seed in 0-39 with {want}")


def test_draw_params_ranges_and_variety(gp, all_params):
    seqs, states, contents, mans = set(), set(), set(), set()
    for s, p in all_params.items():
        json.dumps(p)
        assert p["generator"] == gp.PREFIX == "gp" and p["seed"] == s
        h, w = p["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert all(1.1 <= v <= 1.5 for v in p["spacing_mm"])
        assert 15 <= p["n_frames"] <= 40 and 0.5 <= p["frame_interval_s"] <= 2.0
        assert 5 <= p["imaging"]["snr"] <= 40
        seqs.add(p["imaging"]["sequence"])
        states.add(p["anatomy"]["uterus_state"])
        contents.add(p["anatomy"]["rectal_content"])
        mans.add(p["motion"]["manoeuvre"])
    assert len(seqs) >= 5 and len(states) >= 5 and contents == set(gp.RECTAL_CONTENTS)
    assert len(mans) == 5
    assert gp.LABELS == {"bladder": 1, "uterus_vagina": 2, "rectum": 3}


def test_deterministic_and_shapes(gp, all_params, shrink):
    p = shrink(all_params[7], rows=64, frames=4)
    f1, l1, sp1, _ = gp.render(p)
    f2, l2, sp2, _ = gp.render(copy.deepcopy(p))
    assert f1.dtype == np.float32 and l1.dtype == np.uint8
    assert f1.shape == l1.shape == (4, 64, p["matrix"][1])
    assert sp1 == sp2 == tuple(p["spacing_mm"])
    assert np.array_equal(f1, f2) and np.array_equal(l1, l2)
    assert np.isfinite(f1).all() and f1.min() >= 0


def test_labels_present_connected_inside_body(gp, all_params, shrink):
    present = 0
    seeds = list(SEEDS)[:12]
    for s in seeds:
        p = shrink(all_params[s], rows=96, frames=3)
        out = gp._simulate(p, want_aux=True)
        lab, body = out["labels"], out["body"]
        assert not (lab[~body] > 0).any(), f"seed {s}: label outside the body"
        ok = True
        for t in range(lab.shape[0]):
            for k in (1, 2, 3):
                m = lab[t] == k
                if m.any():
                    assert ndimage.label(m)[1] == 1, f"seed {s} frame {t} label {k} split"
                else:
                    ok = False
        present += ok
    assert present >= 0.8 * len(seeds)


def test_straining_moves_labels_down_rest_stays(gp, all_params, shrink):
    s, p0 = _first(all_params, motion__manoeuvre="strain")
    p = shrink(p0, rows=96, frames=6)
    p["motion"].update(descent_mm=25.0, onset=0.1, ramp=0.3, release=2.0)
    rows_mm = p["spacing_mm"][0]

    def centroids(params):
        _, lab, _, _ = gp.render(params)
        return np.array([[ndimage.center_of_mass(lab[t] == k)[0] * rows_mm for k in (1, 3)]
                         for t in (0, lab.shape[0] - 1)])

    c = centroids(p)
    descent = c[1] - c[0]  # rows grow toward the feet
    assert descent.max() > 4.0 and descent.min() > -1.0, descent
    rest = copy.deepcopy(p)
    rest["motion"]["manoeuvre"] = "rest"
    c = centroids(rest)
    assert np.abs(c[1] - c[0]).max() < 3.0


def test_warp_is_diffeomorphic(gp, all_params, shrink):
    s, p0 = _first(all_params, motion__manoeuvre="defecation")
    p = shrink(p0, rows=64, frames=5)
    p["anatomy"]["prolapse"] = {"bladder": 1.0, "uterus": 1.0, "rectum": 1.0}
    assert gp._simulate(p)["jac_min"] > 0.05


def _with_sequence(p, seq):
    p = copy.deepcopy(p)
    im = p["imaging"]
    cs = 1000.0 / (3.4 * 42.58 * im["field_T"])
    im.update(sequence=seq, fat_sat=seq.endswith("_fs"), snr=40.0, ghost_px=0.0,
              nyquist_ghost=0.0, partial_fourier=1.0, pe_resolution=1.0)
    if seq.startswith("t1_gre"):
        im.update(tr_ms=150.0, te_ms=cs, flip_deg=70.0, t2_blur=0.0)
    else:
        im.update(tr_ms=3000.0, te_ms=90.0, flip_deg=90.0, t2_blur=0.3)
    p["anatomy"]["bladder_fill"] = 0.7
    return p


@pytest.mark.parametrize("seq,urine_brighter", [("t1_gre", False), ("t2_ssfse", True),
                                                 ("t2_ssfse_fs", True)])
def test_contrast_urine_vs_fat(gp, all_params, shrink, seq, urine_brighter):
    p = _with_sequence(shrink(all_params[11], rows=128, frames=2), seq)
    out = gp._simulate(p, want_aux=True)
    img, lab, aux = out["frames"][0], out["labels"][0], out["aux"][0]
    urine = ndimage.binary_erosion(lab == 1, iterations=3)
    fat = ndimage.binary_erosion(aux == gp.FAT, iterations=3)
    assert urine.sum() > 30 and fat.sum() > 200
    u, f = np.median(img[urine]), np.median(img[fat])
    assert (u > 1.3 * f) if urine_brighter else (u < 0.6 * f), (u, f)


def test_bowel_above_rectum_visible_and_unlabelled(gp, all_params, shrink):
    hits = 0
    for s in (0, 1, 2, 3, 4, 5):
        p = shrink(all_params[s], rows=128, frames=1)
        out = gp._simulate(p, want_aux=True)
        lab, aux = out["labels"][0], out["aux"][0]
        colon = aux == gp.COLON
        assert not (lab[colon] == 3).any()
        rect = lab == 3
        near = ndimage.binary_dilation(rect, iterations=3) & colon
        if near.sum() >= 5:
            top_rect = np.nonzero(rect)[0].min()
            hits += np.nonzero(near)[0].min() <= top_rect + 3
    assert hits >= 4


def test_hysterectomy_has_no_uterine_body(gp, all_params, shrink):
    s, p0 = _first(all_params, anatomy__uterus_state="anteverted")
    p = shrink(p0, rows=128, frames=1)
    _, lab_u, _, _ = gp.render(p)
    h = copy.deepcopy(p)
    h["anatomy"]["uterus_state"] = "hysterectomy"
    _, lab_h, _, _ = gp.render(h)
    mu, mh = lab_u[0] == 2, lab_h[0] == 2
    assert mh.any() and mh.sum() < 0.6 * mu.sum()
    assert np.nonzero(mh)[0].min() > np.nonzero(mu)[0].min() + 5  # vault lower than fundus


def test_written_case_reads_back(gp, generate_one):
    from core.io import read_series

    case = generate_one(gp, "gp", 0)
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    series = read_series(case / "series")
    assert truth.dtype == np.uint8 and series.frames.shape == truth.shape
    assert params["generator"] == "gp" and params["seed"] == 0
    assert list(truth.shape[1:]) == params["matrix"] and truth.shape[0] == params["n_frames"]
    assert set(np.unique(truth)) <= {0, 1, 2, 3} and (truth == 3).any()
