"""Tests of benchmarks/sketch_generator.py (smoothed control-polygon sketches + landmark
piecewise-affine motion)."""

import json

import numpy as np
import pydicom
import pytest
from scipy import ndimage

SEEDS = (0, 3, 7)


@pytest.fixture(scope="module")
def sg(load_script):
    return load_script("sketch_generator")


@pytest.fixture(scope="module")
def cases(sg):
    return {s: sg.generate(s) for s in SEEDS}


def _components(mask):
    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    sizes = np.bincount(lab.ravel())[1:]
    return n, sizes


def test_deterministic_per_seed(sg, cases):
    series, truth, params = sg.generate(SEEDS[0])
    s0, t0, p0 = cases[SEEDS[0]]
    assert np.array_equal(series.frames, s0.frames)
    assert np.array_equal(truth, t0)
    assert params == p0
    other = cases[SEEDS[1]]
    assert other[1].shape != truth.shape or not np.array_equal(other[1], truth)


def test_shapes_dtypes_ranges(cases):
    for seed, (series, truth, params) in cases.items():
        t_n, h, w = series.frames.shape
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert 15 <= t_n <= 40
        assert truth.shape == (t_n, h, w) and truth.dtype == np.uint8
        assert series.frames.dtype == np.float32 and np.all(np.isfinite(series.frames))
        assert series.frames.min() >= 0
        assert all(1.1 <= sp <= 1.5 for sp in series.spacing_mm)
        assert 0.5 <= series.frame_interval_s <= 2.0
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert params["generator"] == "sketch" and params["seed"] == seed
        assert params["matrix"] == [h, w] and params["n_frames"] == t_n
        assert params["imaging"]["sequence"] in ("haste", "bssfp", "t1", "pd")


def test_every_organ_present_and_connected(cases):
    for _series, truth, _ in cases.values():
        for k in (1, 2, 3):
            n, _ = _components(truth[0] == k)
            assert n == 1, f"organ {k} in {n} pieces at rest"
        for i in range(truth.shape[0]):
            for k in (1, 2, 3):
                n, sizes = _components(truth[i] == k)
                assert n >= 1, f"organ {k} missing in frame {i}"
                assert sizes.max() >= 0.99 * sizes.sum()


def test_organs_move_with_image(cases):
    for series, truth, params in cases.values():
        strain = np.array(params["motion"]["strain_curve"])
        k = int(np.argmax(strain))
        assert strain[k] > 0.3
        # organs descend: centroid rows of bladder and rectum move caudally
        moved = 0.0
        for organ in (1, 2, 3):
            r0 = np.nonzero(truth[0] == organ)[0].mean()
            r1 = np.nonzero(truth[k] == organ)[0].mean()
            moved = max(moved, r1 - r0)
        assert moved > 1.0, "no organ moved caudally at peak strain"
        # the labels still describe the image: the organ's mean intensity matches at rest
        # and at peak, and the image inside the moving region changes
        f0, f1 = series.frames[0], series.frames[k]
        for organ in (1, 2, 3):
            m0, m1 = truth[0] == organ, truth[k] == organ
            a, b = np.median(f0[m0]), np.median(f1[m1])
            assert abs(a - b) <= 0.25 * max(a, b) + 1e-6
        changed = (truth[0] > 0) != (truth[k] > 0)
        assert changed.sum() > 20
        # the image pattern around the most moving organ shifts as its label does
        shifts = []
        for organ in (1, 2, 3):
            c0 = np.array(np.nonzero(truth[0] == organ)).mean(1)
            c1 = np.array(np.nonzero(truth[k] == organ)).mean(1)
            shifts.append((np.linalg.norm(c1 - c0), organ, c1 - c0))
        _, organ, d_lab = max(shifts, key=lambda x: x[0])
        rows, cols = np.nonzero(truth[0] == organ)
        r0, r1 = rows.min() - 4, rows.max() + 5
        q0, q1 = cols.min() - 4, cols.max() + 5
        g0 = ndimage.gaussian_filter(f0, 1.0)
        g1 = ndimage.gaussian_filter(f1, 1.0)
        best = None
        for dy in range(-20, 21):
            for dx in range(-20, 21):
                if r0 + dy < 0 or q0 + dx < 0 or r1 + dy > f0.shape[0] or q1 + dx > f0.shape[1]:
                    continue
                err = np.mean((g0[r0:r1, q0:q1] - g1[r0 + dy:r1 + dy, q0 + dx:q1 + dx]) ** 2)
                if best is None or err < best[0]:
                    best = (err, dy, dx)
        assert np.hypot(best[1] - d_lab[0], best[2] - d_lab[1]) <= 3.0 + 0.3 * np.linalg.norm(
            d_lab), (best, d_lab)


def test_anatomical_order(sg):
    """Bladder anterior to the vagina, rectum posterior to it (rest frame, rows of the
    lowest 40 % of uterus_vagina, i.e. the vagina)."""
    for seed in range(0, 40, 3):
        series, truth, params = sg.generate(seed, n_frames=2)
        r0 = truth[0]
        rb = np.nonzero(r0 == 1)[0].mean()
        rows2 = np.nonzero(r0 == 2)[0]
        vag = rows2.max() - 0.4 * (rows2.max() - rows2.min())  # lowest 40 %: vagina
        for r in range(r0.shape[0]):
            a, b, c = (np.nonzero(r0[r] == k)[0] for k in (1, 2, 3))
            if r > max(rb, vag) and len(a) and len(b):
                assert a.min() < b.min(), (seed, r)
            if r > vag and len(b) and len(c):
                assert c.max() > b.max(), (seed, r)
        assert np.median(np.nonzero(r0 == 1)[1]) < np.median(np.nonzero(r0 == 3)[1])


def test_sequences_and_anatomy_vary(sg):
    seqs, versions, contents, fills = set(), set(), set(), []
    for seed in range(40):
        case = sg.build_case(seed)
        seqs.add(sg.choose_sequence(seed)[0])
        versions.add("hyst" if case["params"]["anatomy"]["uterus"]["hysterectomy"]
                     else case["params"]["anatomy"]["uterus"]["version"])
        contents.add(case["params"]["anatomy"]["rectal_content"])
        fills.append(case["params"]["anatomy"]["bladder_fill"])
    assert seqs == {"haste", "bssfp", "t1", "pd"}
    assert {"anteverted", "retroverted"} <= versions
    assert contents == {"empty", "gas", "stool", "gel"}
    assert min(fills) < 0.2 and max(fills) > 0.8


def test_command_line_writes_readable_case(sg, generate_one):
    case = generate_one(sg, "sketch", 5)
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    files = sorted((case / "series").glob("*.dcm"))
    assert len(files) == truth.shape[0] == params["n_frames"]
    ds = pydicom.dcmread(files[0])
    assert (ds.Rows, ds.Columns) == truth.shape[1:] == tuple(params["matrix"])
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx(params["spacing_mm"], abs=1e-6)
    assert truth.dtype == np.uint8 and set(np.unique(truth)) == {0, 1, 2, 3}
    for key in ("generator", "seed", "matrix", "spacing_mm", "n_frames",
                "frame_interval_s", "imaging", "anatomy", "motion"):
        assert key in params
    assert params["generator"] == "sketch" and params["seed"] == 5
    assert "sequence" in params["imaging"]
