"""The opt-in sigmoid colon: the rectum labelled up to S3, the bowel going on above it in
the image but not in the labels."""

import numpy as np
import pytest
from scipy import ndimage

from core.organs import ORGANS
from core.phantom import generate_case
from core.phantom.case import build_model
from core.phantom.opt_in import S3_ARC_MM

KW = dict(shape=(160, 160), n_frames=2)
SEEDS = (0, 3, 5, 42)
RECTUM = ORGANS.index("rectum")


def _sample(model, stack, pts_body):
    """Values of ``stack`` (canvas grid) at body-frame points (nearest canvas pixel)."""
    rc = np.rint(model.canvas.image_to_index(model.canvas.body_to_image(pts_body))).astype(int)
    return stack[rc[:, 0], rc[:, 1]]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_rectum_is_cut_at_s3(seed):
    model, _ = build_model(seed, sigmoid_colon=True, **KW)
    lay = model.layout
    cut = lay["rectum"]["cut"]
    spine = np.asarray(lay["spine"]["curve"])
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(spine, axis=0).T))])
    point = np.asarray(cut["point"])
    nearest = arc[np.argmin(np.hypot(*(spine - point).T))]
    # The cut lies in front of S3 (74.5-96.5 mm of spine above the coccyx tip).
    assert S3_ARC_MM[0] - 8 <= nearest <= S3_ARC_MM[1] + 8
    tangent = np.asarray(cut["tangent"])
    assert tangent[1] < 0  # pointing cranially (body-frame y grows caudally)
    level = model.soft_stack[1 + RECTUM]
    below, above = _sample(model, level, np.array([point - 3 * tangent, point + 2 * tangent]))
    assert below < 0 < above
    # The sigmoid, beyond the rectum's radius from the cut, is never labelled rectum.
    sig = np.asarray(lay["sigmoid"]["pts"])
    far = np.hypot(*(sig - point).T) > max(lay["rectum"]["radii"]) + 2
    assert far.sum() >= 6
    assert np.all(_sample(model, level, sig[far]) > 0)


@pytest.mark.parametrize("seed", (0, 3, 5, 7, 8))
def test_the_image_goes_on_across_the_cut(seed):
    model, _ = build_model(seed, sigmoid_colon=True, **KW)
    # Seeds with smooth content (gel or gas; stool is textured), so that one line of
    # samples along the centre line tells the content apart from a wall.
    assert model.layout["rectum"]["content"] in ("gel", "gas")
    cut = model.layout["rectum"]["cut"]
    point, tangent = np.asarray(cut["point"]), np.asarray(cut["tangent"])
    signal = model.soft_stack[0]
    steps = np.arange(1.0, 7.0)
    below = _sample(model, signal, point - steps[:, None] * tangent)
    above = _sample(model, signal, point + steps[:, None] * tangent)
    # Same content on both sides of the labelled end: the tube shows no border there.
    spread = float(np.ptp(signal))
    assert abs(float(np.median(above)) - float(np.median(below))) < 0.05 * spread


@pytest.mark.parametrize("seed", SEEDS)
def test_labels_stay_whole_and_the_sigmoid_adds_bowel_without_labels(seed):
    case = generate_case(seed, sigmoid_colon=True, **KW)
    assert case.params["sigmoid_colon"] is True
    for lab in case.labels:
        assert [ndimage.label(lab == k)[1] for k in (1, 2, 3)] == [1, 1, 1]


def test_drawn_from_its_own_stream():
    plain, opt = build_model(5, **KW)[0], build_model(5, sigmoid_colon=True, **KW)[0]
    for name in ("shape", "spacing_mm", "contrast", "snr"):
        assert plain.params[name] == opt.params[name]
    assert "sigmoid" not in plain.layout and "cut" not in plain.layout["rectum"]
