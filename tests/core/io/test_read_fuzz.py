"""Damaged DICOM input: the readers raise ReaderError or return a valid series.

Never another exception type and never a hang (hypothesis, ~50 examples each).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_dicom_factory import pattern, write_mr
from pydicom.data import get_testdata_file

from core.errors import ReaderError
from core.io import read_series
from core.series import CineSeries

# pydicom warns about every invalid value it meets in damaged files; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

EMRI_BYTES = Path(get_testdata_file("emri_small.dcm")).read_bytes()
FUZZ = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _frame_bytes() -> list[bytes]:
    tmp = Path(tempfile.mkdtemp())
    try:
        return [
            write_mr(tmp / f"f{k}", pattern(k, (8, 6)), series_uid="4.4", instance=k + 1,
                     trigger_ms=500.0 * k, slope=1.5, intercept=-3.0).read_bytes()
            for k in range(2)
        ]
    finally:
        shutil.rmtree(tmp)


FRAME_BYTES = _frame_bytes()


def _check(path: Path) -> None:
    try:
        s = read_series(path)
    except ReaderError as exc:
        assert str(path) in str(exc) or exc.path.startswith(str(path))
        return
    assert isinstance(s, CineSeries)
    assert s.n_frames >= 2 and np.all(np.isfinite(s.frames))
    assert np.all(np.diff(s.times_s) > 0)
    assert all(v > 0 for v in s.spacing_mm)


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for pos, value in flips:
        buf[pos % len(buf)] ^= value
    return bytes(buf)


# Mostly in the header (the first ~2 kB), where damage changes the structure.
_positions = st.one_of(st.integers(0, 2048), st.integers(0, 10**6))
_flips = st.lists(st.tuples(_positions, st.integers(1, 255)), min_size=1, max_size=8)


def _in_tmp(write) -> None:
    tmp = Path(tempfile.mkdtemp())
    try:
        _check(write(tmp))
    finally:
        shutil.rmtree(tmp)


@FUZZ
@given(cut=st.integers(0, len(EMRI_BYTES) - 1))
def test_truncated_enhanced_file(cut):
    def write(tmp: Path) -> Path:
        (tmp / "emri.dcm").write_bytes(EMRI_BYTES[:cut])
        return tmp / "emri.dcm"

    _in_tmp(write)


@FUZZ
@given(flips=_flips)
def test_byte_flips_in_enhanced_file(flips):
    def write(tmp: Path) -> Path:
        (tmp / "emri.dcm").write_bytes(_flip(EMRI_BYTES, flips))
        return tmp / "emri.dcm"

    _in_tmp(write)


@FUZZ
@given(cut=st.integers(0, len(FRAME_BYTES[1]) - 1), flips=st.one_of(st.none(), _flips))
def test_damaged_frame_in_a_two_file_folder(cut, flips):
    def write(tmp: Path) -> Path:
        folder = tmp / "cine"
        folder.mkdir()
        (folder / "a").write_bytes(FRAME_BYTES[0])
        bad = FRAME_BYTES[1][:cut] if flips is None else _flip(FRAME_BYTES[1], flips)
        (folder / "b").write_bytes(bad)
        return folder

    _in_tmp(write)


def test_undamaged_inputs_read():
    """The fuzzed originals themselves are valid (so the fuzzing starts from good files)."""
    tmp = Path(tempfile.mkdtemp())
    try:
        (tmp / "a").write_bytes(FRAME_BYTES[0])
        (tmp / "b").write_bytes(FRAME_BYTES[1])
        s = read_series(tmp)
        np.testing.assert_allclose(s.frames[1], pattern(1, (8, 6)) * 1.5 - 3.0)
        np.testing.assert_allclose(s.times_s, [0.0, 0.5])
    finally:
        shutil.rmtree(tmp)


def _nifti_and_tiff_bytes() -> dict[str, bytes]:
    import nibabel as nib
    import tifffile

    frames = np.random.default_rng(0).integers(0, 999, (4, 9, 7)).astype(np.int16)
    tmp = Path(tempfile.mkdtemp())
    try:
        nib.save(nib.Nifti1Image(np.transpose(frames, (2, 1, 0)), np.eye(4)), tmp / "c.nii.gz")
        tifffile.imwrite(tmp / "c.tif", frames, photometric="minisblack")
        return {"nii.gz": (tmp / "c.nii.gz").read_bytes(), "tif": (tmp / "c.tif").read_bytes()}
    finally:
        shutil.rmtree(tmp)


OTHER_BYTES = _nifti_and_tiff_bytes()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(OTHER_BYTES)), cut=st.integers(0, 10**6),
       flips=st.one_of(st.none(), st.lists(st.tuples(st.integers(0, 400), st.integers(1, 255)),
                                           min_size=1, max_size=6)))
def test_damaged_nifti_and_tiff(kind, cut, flips):
    data = OTHER_BYTES[kind]
    data = data[: cut % len(data)] if flips is None else _flip(data, flips)

    def write(tmp: Path) -> Path:
        (tmp / f"c.{kind}").write_bytes(data)
        return tmp / f"c.{kind}"

    _in_tmp(write)
