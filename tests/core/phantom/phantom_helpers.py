"""Shared helpers of the phantom tests."""

import numpy as np
import pytest
from scipy import ndimage

from core.phantom import generate_case

#: A small but complete case: 160² pixels, three frames.
SMALL = dict(shape=(160, 160), n_frames=3)


def option_pair(seed: int, key: str):
    """The case of ``seed`` drawn by default and with the opt-in ``key=True`` (each
    checked to record the option as asked)."""
    default, opted = generate_case(seed, **SMALL), generate_case(seed, **{key: True}, **SMALL)
    assert default.params[key] is False and opted.params[key] is True
    return default, opted


def pair_fixture(key: str, seeds: list[int]):
    """A module-scoped fixture giving :func:`option_pair` for each of ``seeds``."""

    @pytest.fixture(scope="module", params=seeds)
    def pair(request):
        return option_pair(request.param, key)

    return pair


def in_one_piece(mask: np.ndarray) -> bool:
    """Whether ``mask`` is a single connected piece."""
    return ndimage.label(mask)[1] == 1


def areas_mm2(case, label: int) -> np.ndarray:
    """Per frame, the area in mm² that ``label`` covers in ``case``."""
    px_mm2 = float(np.prod(case.series.spacing_mm))
    return np.array([(lab == label).sum() * px_mm2 for lab in case.labels])
