"""Phantom cases: shapes, determinism, organs present, truth consistency."""

import numpy as np
import pytest

from core.phantom import generate_case

SMALL = dict(shape=(96, 96), n_frames=6, spacing_mm=2.5)


@pytest.fixture(scope="module")
def case():
    return generate_case(3, **SMALL, motion_strength=1.0, peak_strain=1.0)


def test_shapes_and_types(case):
    t, h, w = case.series.frames.shape
    assert (t, h, w) == (6, 96, 96)
    assert case.labels.shape == (6, 96, 96) and case.labels.dtype == np.uint8
    assert case.organs == ("bladder", "uterus_vagina", "rectum")
    for organ in case.organs:
        assert case.trajectories[organ].shape == (6, 128, 2)
    for name in ("inferior_pubic_point", "coccyx_tip"):
        assert case.landmarks[name].shape == (6, 2)
    assert case.strain.shape == (6,) and case.strain.min() >= 0 and case.strain.max() == 1
    assert case.strain[0] == 0
    assert case.series.meta["subject_id"] == "phantom-0003"


def test_deterministic_by_seed():
    a = generate_case(7, **SMALL)
    b = generate_case(7, **SMALL)
    c = generate_case(8, **SMALL)
    np.testing.assert_array_equal(a.series.frames, b.series.frames)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.series.frames, c.series.frames)


def test_all_organs_at_rest(case):
    present = set(np.unique(case.labels[0]).tolist())
    assert {1, 2, 3} <= present


@pytest.mark.parametrize("seed", [0, 17, 42, 99, 123, 2024])
def test_every_organ_is_one_piece_at_rest(seed):
    from scipy import ndimage

    case = generate_case(seed, shape=(80, 80), n_frames=2)
    for k in (1, 2, 3):
        n_pieces = ndimage.label(case.labels[0] == k)[1]
        assert n_pieces == 1, (seed, k, n_pieces)
    assert (case.labels[0] == 0).mean() > 0.5  # organs are a small part of the view


def test_frames_look_like_mr_magnitude():
    case = generate_case(4, shape=(96, 96), n_frames=3, spacing_mm=2.5, contrast="t2",
                         snr=30.0, bias_strength=0.0, banding=0.0, ghosting=0.0)
    f = case.series.frames[0]
    bladder = f[case.labels[0] == 1].mean()
    corner = f[:6, :6] if f[:6, :6].mean() < f.mean() else f[-6:, :6]
    assert f.min() >= 0  # magnitude images
    assert bladder > 2 * f.mean()  # urine is bright on T2
    assert corner.std() > 0  # Rician noise floor in the air


@pytest.mark.parametrize("seed", [5, 31, 77])
def test_organs_stay_inside_the_view(seed):
    case = generate_case(seed, shape=(80, 80), n_frames=4, motion_strength=1.0, peak_strain=1.0)
    seen = case.labels.any(0)
    assert not (seen[0].any() or seen[-1].any() or seen[:, 0].any() or seen[:, -1].any())
    fov_mm = np.array(case.series.shape) * np.array(case.series.spacing_mm)
    assert fov_mm.min() >= 240 - 1e-6
