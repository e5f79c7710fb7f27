"""Canonical orientation from ImageOrientationPatient (LPS direction cosines)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from io_dicom_factory import write_mr

from core.io import read_series
from core.io.orientation import (
    canonicalize,
    dicom_affine,
    parse_iop,
    plane_of,
    reorient_affine,
    reorient_spacing,
    undo_orientation,
)

ROW0 = np.array([0.0, 1.0, 0.0])  # canonical row direction: +y (posterior)
COL0 = np.array([0.0, 0.0, -1.0])  # canonical column direction: -z (feet)


def _stored_variant(canon: np.ndarray, transpose: bool, sr: int, sc: int):
    """Stored frames and their IOP for a canonical array seen another way.

    ``canon[:, ::sr, ::sc]`` has row direction sc*ROW0 and column direction
    sr*COL0; transposing it swaps the two directions.
    """
    stored = canon[:, ::sr, ::sc]
    row_dir, col_dir = sc * ROW0, sr * COL0
    if transpose:
        stored = np.swapaxes(stored, 1, 2)
        row_dir, col_dir = col_dir, row_dir
    return np.ascontiguousarray(stored), np.concatenate([row_dir, col_dir])


@pytest.mark.parametrize(
    ("transpose", "sr", "sc"), list(itertools.product([False, True], [1, -1], [1, -1]))
)
def test_every_sagittal_variant_comes_back_canonical(transpose, sr, sc):
    canon = np.random.default_rng(0).random((3, 5, 7))
    stored, iop = _stored_variant(canon, transpose, sr, sc)
    frames, ops, label = canonicalize(stored, iop)
    np.testing.assert_array_equal(frames, canon)
    assert label == "sagittal (canonical)"
    assert ("transpose" in ops) == transpose
    assert len(ops) == int(transpose) + int(sr < 0) + int(sc < 0)


def test_oblique_sagittal_still_canonical():
    canon = np.random.default_rng(1).random((2, 4, 6))
    stored, iop = _stored_variant(canon, True, -1, 1)
    a = np.deg2rad(12)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    iop = np.concatenate([rot @ iop[:3], rot @ iop[3:]])
    frames, ops, label = canonicalize(stored, iop)
    np.testing.assert_array_equal(frames, canon)
    assert ops == ["transpose", "flip rows"]


@pytest.mark.parametrize(
    ("iop", "label"),
    [
        ((1, 0, 0, 0, 1, 0), "axial (left as is)"),
        ((1, 0, 0, 0, 0, -1), "coronal (left as is)"),
        (None, "unknown (no orientation tag)"),
        ((0, 0, 0, 0, 0, 0), "unknown (invalid orientation tag)"),
        ((1, 0, 0, 1, 0, 0), "unknown (invalid orientation tag)"),
        ((1, 0, 0), "unknown (invalid orientation tag)"),
    ],
)
def test_other_planes_left_as_is(iop, label):
    frames = np.arange(24.0).reshape(2, 3, 4)
    out, ops, got = canonicalize(frames, iop)
    np.testing.assert_array_equal(out, frames)
    assert ops == [] and got == label


def test_helpers():
    assert plane_of((0, 1, 0, 0, 0, -1)) == "sagittal"
    assert plane_of(None) == "unknown"
    assert parse_iop(("a", 1, 2, 3, 4, 5)) is None
    assert reorient_spacing((0.8, 1.2), ["transpose", "flip rows"]) == (1.2, 0.8)
    assert reorient_spacing((0.8, 1.2), ["flip columns"]) == (0.8, 1.2)
    with pytest.raises(ValueError, match=r"expected \(T,H,W\)"):
        canonicalize(np.zeros((3, 4)), None)


def test_folder_reader_reorients_and_swaps_spacing(tmp_path):
    """A series stored transposed and upside down is read back canonical."""
    canon = (np.arange(3 * 6 * 4).reshape(3, 6, 4) * 7 % 1000).astype(np.uint16)
    stored, iop = _stored_variant(canon, True, -1, 1)
    for k in range(3):
        # Stored spacing (row, col) = (1.1, 0.6) → canonical (0.6, 1.1).
        write_mr(tmp_path / f"f{k}", stored[k], series_uid="3.3", instance=k + 1,
                 trigger_ms=300.0 * k, spacing=(1.1, 0.6), iop=iop)
    s = read_series(tmp_path)
    np.testing.assert_array_equal(s.frames, canon.astype(np.float32))
    assert s.spacing_mm == (0.6, 1.1)
    assert s.meta["orientation_ops"] == ["transpose", "flip rows"]
    assert s.meta["orientation"] == "sagittal (canonical)"


@pytest.mark.parametrize(
    ("transpose", "sr", "sc"), list(itertools.product([False, True], [1, -1], [1, -1]))
)
def test_the_reoriented_affine_puts_every_pixel_where_it_was(transpose, sr, sc):
    t, h, w = 1, 5, 7
    canon = np.arange(t * h * w, dtype=float).reshape(t, h, w)  # every pixel unique
    stored, iop = _stored_variant(canon, transpose, sr, sc)
    spacing = (0.8, 1.3)  # (row, col) of the stored frames
    ipp = (12.0, -30.0, 55.0)
    a_stored = dicom_affine(iop, ipp, spacing)
    frames, ops, _ = canonicalize(stored, iop)
    a_canon = reorient_affine(a_stored, stored.shape[1:], ops)
    for r, c in itertools.product(range(stored.shape[1]), range(stored.shape[2])):
        r2, c2 = np.argwhere(frames[0] == stored[0, r, c])[0]
        np.testing.assert_allclose(a_canon @ (c2, r2, 0, 1), a_stored @ (c, r, 0, 1))
    # the first stored pixel sits at ImagePositionPatient (LPS → RAS: x, y negated)
    np.testing.assert_allclose(a_stored[:3, 3], (-12.0, 30.0, 55.0))
    # canonical voxel steps: posterior (RAS -y) along a row, feet (-z) down a column
    new_spacing = reorient_spacing(spacing, ops)
    np.testing.assert_allclose(a_canon[:3, 0], (0, -new_spacing[1], 0), atol=1e-12)
    np.testing.assert_allclose(a_canon[:3, 1], (0, 0, -new_spacing[0]), atol=1e-12)


def test_dicom_affine_needs_orientation_and_position():
    assert dicom_affine(None, (0, 0, 0), (1, 1)) is None
    assert dicom_affine((0, 1, 0, 0, 0, -1), None, (1, 1)) is None
    assert dicom_affine((0, 1, 0, 0, 0, -1), (0, float("nan"), 0), (1, 1)) is None
    with pytest.raises(ValueError, match="unknown orientation operation"):
        reorient_affine(np.eye(4), (2, 2), ["rotate"])


@pytest.mark.parametrize(
    ("transpose", "sr", "sc"), list(itertools.product([False, True], [1, -1], [1, -1]))
)
def test_undo_orientation_gives_back_the_stored_frames_and_affine(transpose, sr, sc):
    canon = np.random.default_rng(2).random((2, 5, 7))
    stored, iop = _stored_variant(canon, transpose, sr, sc)
    a_stored = dicom_affine(iop, (1.0, 2.0, 3.0), (0.8, 1.3))
    frames, ops, _ = canonicalize(stored, iop)
    a_canon = reorient_affine(a_stored, stored.shape[1:], ops)
    back, a_back = undo_orientation(frames, a_canon, ops)
    np.testing.assert_array_equal(back, stored)
    np.testing.assert_allclose(a_back, a_stored, atol=1e-12)
