"""Tests of benchmarks/keyframe_generator.py: small renders (same field of view, 8 frames)
and one command-line case at the default size."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

SEEDS = (3, 11, 24)


@pytest.fixture(scope="module")
def kf(load_script):
    return load_script("keyframe_generator")


@pytest.fixture(scope="module")
def plist(kf):
    """Parameters only (no pixels) of twelve default cases."""
    return [kf.sample_params(s) for s in range(12)]


@pytest.fixture(scope="module")
def cases(kf):
    return {s: kf.generate(s, matrix=128, n_frames=8) for s in SEEDS}


def test_deterministic_per_seed_and_different_between_seeds(kf, cases):
    series, truth, params = kf.generate(SEEDS[0], matrix=128, n_frames=8)
    ref_series, ref_truth, ref_params = cases[SEEDS[0]]
    assert np.array_equal(series.frames, ref_series.frames)
    assert np.array_equal(truth, ref_truth)
    assert np.array_equal(series.times_s, ref_series.times_s)
    assert json.dumps(params, sort_keys=True) == json.dumps(ref_params, sort_keys=True)
    other_series, other_truth, other_params = cases[SEEDS[1]]
    assert not np.array_equal(other_truth, ref_truth)
    assert other_params["pose"] != ref_params["pose"]
    assert not np.allclose(other_series.frames, ref_series.frames)


def test_shapes_dtypes_ranges_and_field_of_view(kf, cases):
    for seed, (series, truth, params) in cases.items():
        assert series.frames.dtype == np.float32 and series.frames.shape == (8, 128, 128)
        assert truth.dtype == np.uint8 and truth.shape == series.frames.shape
        assert set(np.unique(truth)) <= {0, 1, 2, 3}
        assert np.all(np.isfinite(series.frames)) and series.frames.min() >= 0
        assert series.frames.max() > 0
        t = series.times_s
        assert t[0] == 0 and np.all(np.diff(t) > 0)
        assert 0.5 <= float(np.median(np.diff(t))) <= 2.0
        # the small render keeps the default field of view (spacing scaled)
        default = kf.sample_params(seed)
        fov = np.array(default["matrix"]) * np.array(default["spacing_mm"])
        assert np.allclose(np.array(series.spacing_mm) * 128, fov, rtol=1e-6)
        assert np.allclose(params["fov_mm"], fov)
        for key in ("generator", "seed", "matrix", "spacing_mm", "n_frames", "imaging",
                    "motion", "hysterectomy"):
            assert key in params
        assert params["generator"] == "keyframe" and params["seed"] == seed
        assert params["matrix"] == [128, 128] and params["n_frames"] == 8
        assert params["imaging"]["sequence"] in kf.SEQUENCES
        assert params["motion"]["maneuver"] in kf.MANEUVERS
        json.dumps(params)


def test_default_sizes_timing_and_spacing_ranges(plist):
    for p in plist:
        h, w = p["matrix"]
        assert 224 <= h <= 288 and 224 <= w <= 288
        assert all(1.1 <= s <= 1.5 for s in p["spacing_mm"])
        assert 20 <= p["n_frames"] <= 40
        assert 0.5 <= p["frame_interval_s"] <= 2.0
        assert all(240 <= f <= 435 for f in p["fov_mm"])
        assert -15 <= p["pose"]["tilt"] <= 15


def test_every_organ_present_and_one_piece_in_every_frame(cases, piece_sizes):
    for _, truth, _ in cases.values():
        for frame in truth:
            for label in (1, 2, 3):
                mask = frame == label
                assert mask.sum() >= 10
                assert piece_sizes(mask).max() >= 0.99 * mask.sum()


def test_organs_move_and_the_image_moves_with_them(cases):
    for series, truth, params in cases.values():
        j = params["max_strain_frame"]
        assert abs(params["motion"]["s"][j]) > 0.4
        changed = truth[0] != truth[j]
        assert changed.sum() >= 20
        moved = [bool(np.any((truth[0] == lab) != (truth[j] == lab))) for lab in (1, 2, 3)]
        assert sum(moved) >= 2
        f = series.frames
        diff = np.abs(f[j] - f[0])
        organs = (truth[0] > 0) | (truth[j] > 0)
        quiet = ~ndi.binary_dilation(organs, iterations=6)
        # where the labels change the image changes more than far from the organs
        assert diff[changed].mean() > 1.1 * diff[quiet].mean()


def test_anatomical_order_bladder_vagina_rectum(kf):
    for seed in (0, 5, 13, 21, 30):
        _, truth, _ = kf.generate(seed, matrix=96, n_frames=2)
        for frame in truth:
            bladder = np.argwhere(frame == 1)[:, 1].mean()
            rectum = np.argwhere(frame == 3)[:, 1].mean()
            uv = np.argwhere(frame == 2)
            low = uv[uv[:, 0] >= np.percentile(uv[:, 0], 70)]  # the vagina
            assert bladder < low[:, 1].mean() < rectum


def test_variety_over_seeds_from_parameters_only(plist):
    ps = plist
    seqs = {p["imaging"]["sequence"] for p in ps}
    assert len(seqs) >= 2 and "synth" in seqs and len(seqs - {"synth"}) >= 1
    assert {p["hysterectomy"] for p in ps} == {True, False}
    assert len({p["motion"]["maneuver"] for p in ps}) >= 3
    assert len({p["uterus"] for p in ps}) >= 2
    fills = [p["bladder_fill"] for p in ps]
    assert max(fills) - min(fills) > 0.4
    assert len({round(p["pose"]["tilt"], 3) for p in ps}) == 12
    assert len({tuple(p["matrix"]) for p in ps}) >= 6


def test_command_line_writes_a_readable_case(kf, generate_one):
    import pydicom

    case = generate_one(kf, "keyframe", 33)
    files = sorted((case / "series").iterdir())
    truth = np.load(case / "truth.npy")
    params = json.loads((case / "params.json").read_text())
    assert truth.dtype == np.uint8 and truth.ndim == 3
    assert len(files) == truth.shape[0] == params["n_frames"]
    ds = [pydicom.dcmread(f) for f in files]
    assert all((d.Rows, d.Columns) == truth.shape[1:] for d in ds)
    assert [int(d.InstanceNumber) for d in ds] == list(range(1, len(ds) + 1))
    assert ds[0].PatientID == "keyframe_033"
    assert tuple(params["matrix"]) == truth.shape[1:]
    for lab in (1, 2, 3):
        assert np.all((truth == lab).reshape(len(truth), -1).any(1))
