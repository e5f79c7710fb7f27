"""Synthetic dynamic (cine) mid-sagittal pelvic MRI with exact truth.

``generate_case(seed, **overrides)`` draws a random anatomy, contrast, noise and
straining manoeuvre and returns a :class:`PhantomCase` with the frames, labels,
material-point trajectories of the organ boundaries and bony landmarks.
``write_case`` stores a case as DICOM + ``truth.h5``; ``read_truth`` reads the truth.
"""

from core.phantom.case import LANDMARKS, PhantomCase, generate_case
from core.phantom.truth import PhantomTruth, read_truth, write_case

__all__ = ["LANDMARKS", "PhantomCase", "PhantomTruth", "generate_case", "read_truth", "write_case"]
