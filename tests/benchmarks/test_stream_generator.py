"""Tests of benchmarks/stream_generator.py (seeds 0-39 only, small renders)."""

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

SEEDS = [0, 3, 7, 12, 20, 26, 34, 39]


@pytest.fixture(scope="module")
def sg(load_script):
    return load_script("stream_generator")


@pytest.fixture(scope="module")
def renders(sg, shrink):
    return {s: sg.render(shrink(sg.draw_params(s))) for s in SEEDS}


def test_interface(sg):
    assert sg.PREFIX == "stream"
    assert sg.LABELS == {"bladder": 1, "uterus_vagina": 2, "rectum": 3}
    for name in ("draw_params", "render", "generate", "_write_case", "main"):
        assert callable(getattr(sg, name))


def test_draw_params_deterministic_json_and_ranges(sg):
    for seed in range(40):
        p = sg.draw_params(seed)
        assert p == sg.draw_params(seed)
        assert json.loads(json.dumps(p)) == p
        h, w = p["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert all(1.1 <= s <= 1.5 for s in p["spacing_mm"])
        assert 16 <= p["n_frames"] <= 40
        assert 0.8 <= p["frame_interval_s"] <= 2.0
        im = p["imaging"]
        assert isinstance(im["sequence"], str)
        assert im["slice_thickness_mm"] > 0 and 4 <= im["snr"] <= 41
        assert {"uterus_state", "rectal_content", "bladder_fill"} <= set(p["anatomy"])
        assert p["motion"]["manoeuvre"] in sg.MANOEUVRES
        fov = (h * p["spacing_mm"][0], w * p["spacing_mm"][1])
        assert all(270 <= f <= 410 for f in fov)
    assert sg.draw_params(1) != sg.draw_params(2)


def test_variety(sg):
    ps = [sg.draw_params(s) for s in range(40)]
    assert len({p["imaging"]["sequence"] for p in ps}) >= 4
    assert len({p["motion"]["manoeuvre"] for p in ps}) >= 4
    assert len({p["anatomy"]["uterus_state"] for p in ps}) >= 5
    assert len({p["anatomy"]["rectal_content"] for p in ps}) >= 4


def test_shapes_and_dtypes(sg, renders):
    for _seed, (frames, labels, spacing, params) in renders.items():
        assert frames.dtype == np.float32 and labels.dtype == np.uint8
        assert frames.shape == labels.shape == (8, 128, params["matrix"][1])
        assert len(spacing) == 2 and tuple(spacing) == tuple(params["spacing_mm"])
        assert np.all(np.isfinite(frames))
        assert set(np.unique(labels)) <= {0, 1, 2, 3}
        json.dumps(params)


def test_labels_present_sized_connected(renders):
    for seed, (_, labels, spacing, params) in renders.items():
        px = spacing[0] * spacing[1]
        for t in range(labels.shape[0]):
            lab = labels[t]
            bl = (lab == 1).sum() * px
            if params["anatomy"]["bladder_fill"] >= 0.1:
                assert 300 <= bl <= 15000, (seed, t, bl)
            assert (lab == 2).sum() * px >= 150, (seed, t)
            assert (lab == 3).sum() * px >= 300, (seed, t)
            for k in (1, 2, 3):
                if (lab == k).any():
                    assert ndi.label(lab == k)[1] == 1, (seed, t, k)


def test_anatomy_order_at_rest(renders):
    for seed, (_, labels, _, _) in renders.items():
        lab = labels[0]
        col = {k: np.argwhere(lab == k)[:, 1].mean() for k in (1, 2, 3)}
        assert col[1] < col[3] and col[2] < col[3], (seed, col)
        rows = [r for r in range(lab.shape[0]) if (lab[r] == 1).any() and (lab[r] == 2).any()]
        ahead = [np.nonzero(lab[r] == 1)[0].mean() < np.nonzero(lab[r] == 2)[0].mean()
                 for r in rows]
        assert not rows or np.mean(ahead) >= 0.8, seed
        # rectum is the lowest structure (anal canal through the perineum)
        low = {k: np.argwhere(lab == k)[:, 0].max() for k in (1, 3)}
        assert low[3] > low[1], seed


def test_valsalva_moves_bladder_down(sg, shrink):
    seed = next(s for s in range(40) if sg.draw_params(s)["motion"]["manoeuvre"] == "valsalva"
                and sg.draw_params(s)["anatomy"]["bladder_fill"] > 0.3
                and sg.draw_params(s)["motion"]["descent_mm"] > 15)
    frames, labels, spacing, _ = sg.render(shrink(sg.draw_params(seed)))
    rows = [np.argwhere(labels[t] == 1)[:, 0].mean() * spacing[0] for t in range(len(labels))]
    assert max(rows) - rows[0] > 2.0, rows
    assert not np.array_equal(labels[0], labels[len(labels) // 2])


def test_render_deterministic(sg, shrink):
    p = shrink(sg.draw_params(7), rows=96, frames=4)
    f1, l1, _, _ = sg.render(p)
    f2, l2, _, _ = sg.render(p)
    assert np.array_equal(f1, f2) and np.array_equal(l1, l2)


def test_not_trivially_separable(renders):
    for seed, (frames, labels, _, _) in renders.items():
        f, lab = frames[0].astype(float), labels[0]
        for k in (1, 2, 3):
            r = np.corrcoef(f.ravel(), (lab == k).ravel().astype(float))[0, 1]
            assert abs(r) < 0.95, (seed, k, r)
        corner = f[:8, :8]
        assert corner.std() > 0  # noise in the background
        inside = f[lab == 2]
        assert inside.std() > 0.02 * inside.mean()


def test_write_case_and_main(sg, tmp_path, shrink):
    p = shrink(sg.draw_params(5), rows=96, frames=4)
    sg.draw_params, orig = (lambda seed: p), sg.draw_params
    try:
        line = sg._write_case(5, str(tmp_path))
        assert line.startswith("stream_005")
        assert sg.main(["--seeds", "5", "--out", str(tmp_path / "m")]) == 0
    finally:
        sg.draw_params = orig
    for case in (tmp_path / "stream_005", tmp_path / "m" / "stream_005"):
        truth = np.load(case / "truth.npy")
        assert truth.dtype == np.uint8 and truth.shape == (4, 96, p["matrix"][1])
        params = json.loads((case / "params.json").read_text())
        assert params["seed"] == 5 and params["matrix"] == p["matrix"]
        files = sorted((case / "series").iterdir())
        assert len(files) == 4
        import pydicom

        ds = pydicom.dcmread(files[0])
        assert (ds.Rows, ds.Columns) == tuple(p["matrix"])
