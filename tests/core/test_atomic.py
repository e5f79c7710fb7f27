"""core.atomic: write beside, move into place, never leave a half-written file."""

import errno
import os

import pytest

import core.atomic
from core.atomic import io_reason, replaced_atomically, temp_beside, write_durable


def test_temp_name_is_hidden_beside_the_target_with_its_suffix(tmp_path):
    tmp = temp_beside(tmp_path / "table.csv")
    assert tmp.parent == tmp_path
    assert tmp.name.startswith(".table.tmp-") and tmp.name.endswith(".csv")
    gz = temp_beside(tmp_path / "labels.nii.gz", ".nii.gz")
    assert gz.name.startswith(".labels.tmp-") and gz.name.endswith(".nii.gz")
    assert temp_beside(tmp_path / "a.csv") != temp_beside(tmp_path / "a.csv")


def test_success_moves_the_new_file_into_place(tmp_path):
    target = tmp_path / "sub" / "out.txt"  # the folder is created
    with replaced_atomically(target) as tmp:
        assert not target.exists()
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert os.listdir(target.parent) == ["out.txt"]


def test_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="writer failed"):
        with replaced_atomically(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_writer_that_never_created_the_file_is_an_error_not_a_loss(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(FileNotFoundError):
        with replaced_atomically(target):
            pass  # nothing written: os.replace fails, the old file stays
    assert target.read_text() == "old"


def test_durable_write_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(core.atomic, "WRITE_CHUNK", 3)
    sizes = []
    real = core.atomic.write_chunk

    def spy(fh, chunk):
        sizes.append(len(chunk))
        real(fh, chunk)

    monkeypatch.setattr(core.atomic, "write_chunk", spy)
    write_durable(tmp_path / "f.bin", memoryview(b"abcdefgh"))
    assert (tmp_path / "f.bin").read_bytes() == b"abcdefgh"
    assert sizes == [3, 3, 2]


def test_io_reason_reads_errno_from_oserror_and_from_h5py_text():
    assert io_reason(OSError(errno.ENOSPC, "x")) == os.strerror(errno.ENOSPC)
    text = "Can't write data (file write failed: errno = 28, error message = 'x')"
    assert io_reason(RuntimeError(text)) == os.strerror(28)
    assert io_reason(RuntimeError()) == "RuntimeError"
