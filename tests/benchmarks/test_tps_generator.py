"""Tests of benchmarks/tps_generator.py (thin-plate-spline cine phantom), seeds 0-39 only."""

import json

import numpy as np
import pytest
from scipy import ndimage

SEEDS = list(range(40))
RENDER_SEEDS = [0, 1, 2, 3, 4, 5, 6, 7]
FOUR = ndimage.generate_binary_structure(2, 1)


@pytest.fixture(scope="module")
def tps(load_script):
    return load_script("tps_generator")


@pytest.fixture(scope="module")
def rendered(tps, shrink):
    return {s: tps.render(shrink(tps.draw_params(s))) for s in RENDER_SEEDS}


def test_interface(tps):
    assert tps.PREFIX == "tps"
    assert tps.LABELS == {"bladder": 1, "uterus_vagina": 2, "rectum": 3}
    for name in ("draw_params", "render", "generate", "_write_case", "main"):
        assert callable(getattr(tps, name))
    assert tps.__doc__.splitlines()[0].strip()


def test_params_json_deterministic_and_ranges(tps):
    all_params = [tps.draw_params(s) for s in SEEDS]
    for s, p in zip(SEEDS, all_params, strict=True):
        assert json.loads(json.dumps(p)) == p
        assert tps.draw_params(s) == p
        assert p["seed"] == s and p["generator"] == "tps"
        assert p["labels"] == tps.LABELS
        assert all(1.1 <= v <= 1.5 for v in p["spacing_mm"])
        assert all(224 <= v <= 288 for v in p["matrix"])
        assert 16 <= p["n_frames"] <= 40
        assert 0.8 <= p["frame_interval_s"] <= 2.0
        assert 6 <= p["imaging"]["snr"] <= 40
        assert 0 <= p["anatomy"]["bladder_fill"] <= 1
    assert len({p["anatomy"]["uterus_state"] for p in all_params}) >= 5
    assert len({p["anatomy"]["rectal_content"] for p in all_params}) >= 3
    assert len({p["imaging"]["sequence"] for p in all_params}) >= 4
    assert len({p["motion"]["manoeuvre"] for p in all_params}) >= 5
    assert len({tuple(p["matrix"]) for p in all_params}) > 20


def test_render_deterministic(tps, rendered, shrink):
    p = shrink(tps.draw_params(3))
    f, lab, sp, _ = tps.render(p)
    f0, lab0, sp0, _ = rendered[3]
    assert np.array_equal(f, f0) and np.array_equal(lab, lab0) and sp == sp0


def test_shapes_and_dtypes(tps, rendered):
    for s, (f, lab, sp, p) in rendered.items():
        assert f.dtype == np.float32 and lab.dtype == np.uint8
        assert f.shape == lab.shape == (8, *p["matrix"]), s
        assert tuple(sp) == tuple(p["spacing_mm"])
        assert np.isfinite(f).all() and f.min() >= 0 and f.max() > 0
        assert set(np.unique(lab)) <= {0, 1, 2, 3}


def test_every_label_one_piece_every_frame(rendered):
    for s, (_, lab, _, _) in rendered.items():
        for t in range(lab.shape[0]):
            for k in (1, 2, 3):
                _, n = ndimage.label(lab[t] == k, FOUR)
                assert n == 1, (s, t, k, n)


def test_anatomical_order(rendered):
    for s, (_, lab, sp, _) in rendered.items():
        cols = {k: np.nonzero(lab[0] == k)[1].mean() * sp[1] for k in (1, 2, 3)}
        assert cols[1] < cols[3], s
        assert cols[2] < cols[3], s
        assert cols[1] < cols[2] + 5, s


def test_organs_move_smoothly(rendered):
    moved = 0
    for s, (_, lab, sp, _) in rendered.items():
        for k in (1, 2, 3):
            m = lab == k
            area = m.sum((1, 2)).astype(float)
            assert (area.max() / area.min()) < 3, (s, k)
            ys, xs = [], []
            for t in range(len(m)):
                r, c = np.nonzero(m[t])
                ys.append(r.mean() * sp[0])
                xs.append(c.mean() * sp[1])
            step = np.hypot(np.diff(ys), np.diff(xs))
            assert step.max() < 20, (s, k, step.max())
            inter = (m[1:] & m[:-1]).sum((1, 2))
            union = (m[1:] | m[:-1]).sum((1, 2))
            assert (inter / union).min() > 0.3, (s, k)
            moved += np.ptp(ys) > 1.5
    assert moved >= 3


def test_labels_follow_image(rendered):
    ok = total = 0
    for _, (f, lab, _, _) in rendered.items():
        img, lb = f[0], lab[0]
        scale = np.percentile(img, 99)
        for k in (1, 2, 3):
            m = lb == k
            ring = ndimage.binary_dilation(m, iterations=3) & (lb == 0)
            total += 1
            ok += abs(img[m].mean() - img[ring].mean()) / scale > 0.04
    assert ok >= 0.65 * total, (ok, total)


def test_cli_writes_case(tps, generate_one):
    case = generate_one(tps, "tps", 2)
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    files = sorted((case / "series").glob("*.dcm"))
    assert truth.dtype == np.uint8
    assert truth.shape == (params["n_frames"], *params["matrix"]) == (len(files), *truth.shape[1:])
    pydicom = pytest.importorskip("pydicom")
    ds = pydicom.dcmread(files[0])
    assert (int(ds.Rows), int(ds.Columns)) == tuple(params["matrix"])
    assert str(ds.PatientName) == "TPS^002"
