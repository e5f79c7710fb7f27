"""Writing and reading phantom cases (DICOM + truth.h5) — being written."""

from __future__ import annotations


def write_case(*args, **kwargs):
    """Not written yet (next commit)."""
    raise NotImplementedError("write_case is not implemented yet")


def read_truth(*args, **kwargs):
    """Not written yet (next commit)."""
    raise NotImplementedError("read_truth is not implemented yet")
