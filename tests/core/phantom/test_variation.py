"""Opt-in wider anatomy (``anatomy_variation``, :func:`core.phantom.layout.vary_layout`)."""

import copy

import numpy as np
import pytest
from scipy import ndimage

from core.phantom import generate_case
from core.phantom.layout import draw_layout, vary_layout
from core.phantom.shapes import fourier_radius

SMALL = dict(shape=(80, 80), n_frames=2)


def test_zero_variation_is_the_default_case():
    a = generate_case(5, **SMALL)
    b = generate_case(5, **SMALL, anatomy_variation=0.0)
    np.testing.assert_array_equal(a.series.frames, b.series.frames)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.params["anatomy_variation"] == 0.0


def test_variation_changes_the_organs_not_the_acquisition():
    a = generate_case(5, **SMALL)
    b = generate_case(5, **SMALL, anatomy_variation=1.0)
    c = generate_case(5, **SMALL, anatomy_variation=1.0)
    for key in ("spacing_mm", "snr", "contrast", "bias_strength", "tilt_deg", "gamma"):
        assert a.params[key] == b.params[key]
    assert not np.array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(b.labels, c.labels)  # still deterministic by seed
    np.testing.assert_array_equal(b.series.frames, c.series.frames)
    assert 0.3 <= b.params["anatomy"]["variation"] <= 1.0


@pytest.mark.parametrize("seed", [0, 11, 23, 31])
def test_varied_organs_are_present_and_one_piece(seed):
    case = generate_case(seed, **SMALL, anatomy_variation=1.0)
    for k in (1, 2, 3):
        assert ndimage.label(case.labels[0] == k)[1] == 1, (seed, k)


def test_vary_layout_bounds():
    lay = draw_layout(np.random.default_rng(3))
    same = copy.deepcopy(lay)
    assert vary_layout(same, np.random.default_rng(0), 0.0) == 0.0
    assert same == lay
    for seed in range(20):
        v = copy.deepcopy(lay)
        s = vary_layout(v, np.random.default_rng(seed), 1.0)
        assert 0.3 <= s <= 1.0 and v["variation"] == s
        theta = np.linspace(0, 2 * np.pi, 721)
        for organ in ("bladder", "uterus_body"):  # blobs keep a positive radial profile
            prof = fourier_radius(theta, np.asarray(v[organ]["coeffs"]),
                                  np.asarray(v[organ]["phases"]))
            assert prof.min() > 0.5
            assert min(v[organ]["radii"]) > 0
        # The anal canal and the bladder neck stay where they were.
        np.testing.assert_allclose(v["rectum"]["pts"][:4], lay["rectum"]["pts"][:4])
        np.testing.assert_allclose(v["rectum"]["radii"][:3], lay["rectum"]["radii"][:3])
        assert v["bladder"]["neck"] == lay["bladder"]["neck"]
        assert v["uterus_body"]["axis"][0] == lay["uterus_body"]["axis"][0]


def test_negative_variation_is_refused():
    with pytest.raises(ValueError, match="anatomy_variation"):
        generate_case(1, **SMALL, anatomy_variation=-0.5)
