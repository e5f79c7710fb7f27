"""The opt-in large uterus: a body grown ×1.4–1.9 along its axis and ×1.2–1.6 across,
reaching over the bladder into the space of the bowel."""

import numpy as np
import pytest
from scipy import ndimage

from core.phantom import generate_case
from core.phantom.case import build_model

KW = dict(shape=(160, 160), n_frames=2)
SEEDS = (0, 3, 5, 42)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_body_grows_and_the_uterus_label_with_it(seed):
    plain, big = generate_case(seed, **KW), generate_case(seed, large_uterus=True, **KW)
    assert big.params["large_uterus"] is True
    ub0 = build_model(seed, **KW)[0].layout["uterus_body"]
    ub = big.params["anatomy"]["uterus_body"]
    along, across = ub["radii"][0] / ub0["radii"][0], ub["radii"][1] / ub0["radii"][1]
    assert 1.4 - 1e-3 <= along <= 1.9 + 1e-3 and 1.2 - 1e-3 <= across <= 1.6 + 1e-3
    np.testing.assert_allclose(ub["axis"][0], ub0["axis"][0], atol=1e-3)  # the same pivot
    assert len(ub["fibroids"]) <= 3
    for lp, lb in zip(plain.labels, big.labels, strict=True):
        assert (lb == 2).sum() > 1.3 * (lp == 2).sum()
        assert [ndimage.label(lb == k)[1] for k in (1, 2, 3)] == [1, 1, 1]


def test_drawn_from_its_own_stream():
    plain, big = build_model(5, **KW)[0], build_model(5, large_uterus=True, **KW)[0]
    for name in ("shape", "spacing_mm", "contrast", "snr"):
        assert plain.params[name] == big.params[name]
    assert "large" not in plain.layout["uterus_body"]
    assert big.layout["uterus_body"]["large"] is True
