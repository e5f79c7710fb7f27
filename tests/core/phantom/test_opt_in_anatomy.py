"""Opt-in anatomy options: never drawn by the phantom, and asking them off changes nothing."""

import numpy as np
import pytest

from core.phantom import generate_case
from core.phantom.case import build_model

OPTIONS = ("hysterectomy", "empty_bladder", "fibroid_uterus", "neck_funnel", "sigmoid_colon",
           "large_uterus", "absent_bladder", "iso_urine")


@pytest.mark.parametrize("key", OPTIONS)
def test_off_by_default_and_never_drawn(key):
    for seed in range(20):
        model, _ = build_model(seed, shape=(64, 64), n_frames=2)
        assert model.params[key] is False


@pytest.mark.parametrize("key", OPTIONS)
def test_default_cases_are_unchanged_by_the_option(key):
    kw = dict(shape=(160, 160), n_frames=3)
    a = generate_case(7, **kw)
    b = generate_case(7, **{key: False}, **kw)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.series.frames, b.series.frames)
