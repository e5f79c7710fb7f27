"""benchmarks/radial_generator.py: one case (seed 17) written, read back and checked."""

import json

import numpy as np
import pydicom
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 17
ORGANS = (1, 2, 3)


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("radial_generator")


@pytest.fixture(scope="module")
def case(script, generate_one):
    """The case folder written by the command line, with its truth and params."""
    folder = generate_one(script, "radial", SEED)
    return {
        "folder": folder,
        "truth": np.load(folder / "truth.npy"),
        "params": json.loads((folder / "params.json").read_text()),
    }


@pytest.fixture(scope="module")
def generated(script):
    return script.generate(SEED)


def test_read_back_matches_the_generated_case(case, generated):
    frames, labels, spacing, params = generated
    series = read_series(case["folder"] / "series.dcm")
    truth = case["truth"]
    assert series.frames.shape == truth.shape == frames.shape
    assert series.spacing_mm == pytest.approx(tuple(case["params"]["spacing_mm"]))
    assert series.spacing_mm == pytest.approx(spacing)
    slope = float(pydicom.dcmread(case["folder"] / "series.dcm", stop_before_pixels=True)
                  .SharedFunctionalGroupsSequence[0]
                  .PixelValueTransformationSequence[0].RescaleSlope)
    assert np.abs(series.frames - frames).max() <= slope * 1.001
    assert series.meta["orientation_ops"] == []
    interval = case["params"]["frame_interval_s"]
    assert np.allclose(series.times_s, np.arange(len(frames)) * interval, atol=1e-3)
    assert truth.dtype == np.uint8
    assert np.array_equal(labels, truth)
    assert params == case["params"]


def test_geometry_and_params_are_in_range(case):
    t_n, h, w = case["truth"].shape
    params = case["params"]
    assert 12 <= t_n <= 40
    assert 224 <= h <= 288 and 224 <= w <= 288
    assert all(1.1 <= s <= 1.5 for s in params["spacing_mm"])
    assert params["shape"] == [t_n, h, w]
    assert params["labels"] == {"1": "bladder", "2": "uterus_vagina", "3": "rectum"}
    assert params["sequence"] in ("bssfp", "gre", "haste")
    assert 5 <= params["snr"] <= 40
    assert 0.3 <= params["frame_interval_s"] <= 2
    assert params["seed"] == SEED and params["attempt"] >= 0


def test_every_organ_is_one_piece_in_every_frame(case):
    truth = case["truth"]
    assert set(np.unique(truth)) <= {0, 1, 2, 3}
    for t, frame in enumerate(truth):
        for organ in ORGANS:
            _, pieces = ndimage.label(frame == organ)
            assert pieces == 1, f"organ {organ} in {pieces} pieces in frame {t}"


def test_bladder_lies_anterior_to_the_rectum(case):
    for frame in case["truth"]:
        bladder_col = np.nonzero(frame == 1)[1].mean()
        rectum_col = np.nonzero(frame == 3)[1].mean()
        assert bladder_col < rectum_col


def test_organs_descend_during_the_manoeuvre(case):
    truth, params = case["truth"], case["params"]
    row_mm = params["spacing_mm"][0]
    lowest = np.array([np.nonzero((frame > 0).any(axis=1))[0].max() for frame in truth])
    descent = (lowest - lowest[0]) * row_mm
    assert 3.0 <= descent.max() <= 50.0
    strain = np.asarray(params["motion"]["strain"])
    assert strain[0] < 0.05 and strain[int(np.argmax(descent))] > 0.5
    bladder_low = np.array([np.nonzero((frame == 1).any(axis=1))[0].max() for frame in truth])
    assert 5.0 <= (bladder_low.max() - bladder_low[0]) * row_mm <= 60.0


def test_series_is_one_enhanced_mr_multiframe_file(case):
    ds = pydicom.dcmread(case["folder"] / "series.dcm")
    t_n, h, w = case["truth"].shape
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4.1"
    assert int(ds.NumberOfFrames) == t_n and (ds.Rows, ds.Columns) == (h, w)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.RLELossless
    assert len(ds.PerFrameFunctionalGroupsSequence) == t_n
    shared = ds.SharedFunctionalGroupsSequence[0]
    spacing = [float(s) for s in shared.PixelMeasuresSequence[0].PixelSpacing]
    assert spacing == pytest.approx(case["params"]["spacing_mm"])
    assert ds.PatientID == f"RADIAL-{SEED:03d}"


def test_undersampled_radial_frames_have_streaks(script):
    """The same smooth disc: fully sampled (400 spokes) it is reproduced with a clean
    background; from 16 golden-angle spokes the background outside it carries streaks."""
    m = 96
    yy, xx = np.indices((m, m)) - m / 2
    radius = np.hypot(yy, xx)
    disc = ndimage.gaussian_filter((radius < 28).astype(float), 1.0).astype(np.complex64)
    inside, outside = radius < 22, radius > 34

    def reconstruct(spokes):
        acq = script.Acquisition(m, spokes, 1, 111.246117975, 0.0)
        coils = next(script.acquire(lambda t: disc[None], 1, acq, np.random.default_rng(0)))
        return np.abs(coils[0])

    full, sparse = reconstruct(400), reconstruct(16)
    assert full[inside].mean() == pytest.approx(1.0, abs=0.03)
    assert sparse[inside].mean() == pytest.approx(1.0, abs=0.03)
    full_bg = np.sqrt(np.mean(full[outside] ** 2))
    sparse_bg = np.sqrt(np.mean(sparse[outside] ** 2))
    assert full_bg < 0.03
    assert sparse_bg > 3 * full_bg
    # streaks are directional: the background error varies strongly around the disc
    angle = np.arctan2(yy, xx)[outside]
    sectors = [np.abs(sparse[outside] - full[outside])[(angle >= a) & (angle < a + np.pi / 8)]
               .mean() for a in np.arange(-np.pi, np.pi, np.pi / 8)]
    assert max(sectors) > 1.3 * min(sectors)
