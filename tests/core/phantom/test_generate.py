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
    assert case.strain.shape == (6,) and case.strain.min() >= 0 and case.strain.max() <= 1
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
