"""The opt-in pelvis after hysterectomy: uterus and cervix gone, the vagina alone to its vault."""

import numpy as np
import pytest
from scipy import ndimage

from core.phantom import generate_case

KW = dict(shape=(160, 160), n_frames=3)


@pytest.fixture(scope="module", params=[4, 11])
def pair(request):
    seed = request.param
    return generate_case(seed, **KW), generate_case(seed, hysterectomy=True, **KW)


def test_label_two_is_the_vagina_alone(pair):
    whole, after = pair
    assert after.params["hysterectomy"] is True and whole.params["hysterectomy"] is False
    for lw, la in zip(whole.labels, after.labels, strict=True):
        area_w, area_a = (lw == 2).sum(), (la == 2).sum()
        assert 0 < area_a < 0.6 * area_w
        assert ndimage.label(la == 2)[1] == 1  # one piece
        # No uterine body: the organ is a tube, far thinner than the body was.
        thick_w = ndimage.distance_transform_edt(lw == 2).max()
        thick_a = ndimage.distance_transform_edt(la == 2).max()
        assert thick_a < 0.75 * thick_w
        # The vault sits below where the fundus was.
        assert np.nonzero(la == 2)[0].min() > np.nonzero(lw == 2)[0].min() + 5
        for k in (1, 3):  # bladder and rectum are still there, each in one piece
            assert ndimage.label(la == k)[1] == 1
