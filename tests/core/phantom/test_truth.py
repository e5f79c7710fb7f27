"""Exact truth of the phantom: trajectories on the warped boundaries, rigid bones, descent."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from skimage.measure import find_contours

from core.phantom import generate_case
from core.phantom.case import build_model

MOVING = dict(shape=(96, 96), n_frames=6, spacing_mm=2.5, motion_strength=1.0, peak_strain=1.0)
STILL = dict(snr=float("inf"), bias_strength=0.0, flicker=0.0, ghosting=0.0, banding=0.0)


def _distance_to_iso(field, level, pts, spacing):
    """Distance (mm) from points (N, 2) xy mm to the iso-contour of a pixel field."""
    segs = []
    for c in find_contours(field, level):
        f = np.linspace(0, 1, 11)[:, None, None]
        segs.append((c[:-1][None] + (c[1:] - c[:-1])[None] * f).reshape(-1, 2))
    segs = np.concatenate(segs)
    tree = cKDTree(np.c_[segs[:, 1] * spacing[1], segs[:, 0] * spacing[0]])
    return tree.query(pts)[0]


@pytest.fixture(scope="module", params=[3, 8])
def moving(request):
    case = generate_case(request.param, **MOVING)
    model, _ = build_model(request.param, **MOVING)
    return case, model


def test_trajectories_lie_on_warped_level_set(moving):
    case, model = moving
    sp = case.series.spacing_mm
    for t in range(case.series.n_frames):
        _, _, levels = model.sample(t)
        for k, organ in enumerate(case.organs):
            d = _distance_to_iso(levels[k], 0.0, case.trajectories[organ][t], sp)
            assert d.max() < 0.5 * min(sp), (organ, t, d.max())


def test_trajectories_lie_on_label_boundary(moving):
    case, _ = moving
    sp = case.series.spacing_mm
    dists = []
    for t in range(case.series.n_frames):
        for k, organ in enumerate(case.organs):
            mask = (case.labels[t] == k + 1).astype(float)
            dists.append(_distance_to_iso(mask, 0.5, case.trajectories[organ][t], sp))
    d = np.concatenate(dists) / min(sp)
    assert np.percentile(d, 99) < 0.5 and d.max() < 1.0, (np.percentile(d, 99), d.max())


def test_rest_points_even_and_counter_clockwise(moving):
    case, _ = moving
    for organ in case.organs:
        pts = case.trajectories[organ][0]
        seg = np.hypot(*np.diff(np.vstack([pts, pts[:1]]), axis=0).T)
        assert seg.max() < 1.25 * seg.mean() and seg.min() > 0.75 * seg.mean()
        x, y = pts[:, 0], pts[:, 1]
        assert np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)) > 0


def test_organs_descend_at_peak_strain(moving):
    case, _ = moving
    peak = int(np.argmax(case.strain))
    assert case.strain[peak] > 0.5 and case.strain[0] == 0.0
    bl = case.trajectories["bladder"]
    assert bl[peak, :, 1].max() - bl[0, :, 1].max() > 3.0  # lowest point, mm caudal
    for organ in case.organs:
        tr = case.trajectories[organ]
        assert tr[peak, :, 1].mean() > tr[0, :, 1].mean()


def test_bones_move_only_with_the_jitter():
    case = generate_case(5, **MOVING, jitter_mm=1.0)
    jitter = np.asarray(case.params["jitter_path_mm"])
    assert np.hypot(*jitter.T).max() == pytest.approx(1.0, abs=1e-5)
    for name in ("inferior_pubic_point", "coccyx_tip"):
        lm = case.landmarks[name]
        np.testing.assert_allclose(lm - lm[0], jitter, atol=1e-5)
    # Same jitter for both bones: the pelvis is rigid.
    d = case.landmarks["coccyx_tip"] - case.landmarks["inferior_pubic_point"]
    np.testing.assert_allclose(d, np.broadcast_to(d[0], d.shape), atol=1e-9)


def test_bone_pixels_constant_without_jitter_and_noise():
    model, _ = build_model(5, **MOVING, jitter_mm=0.0, **STILL)
    samples = [model.sample(t) for t in range(model.params["n_frames"])]
    frames, covers = [s[0] for s in samples], [s[1] for s in samples]
    bone = covers[0] > 0.99
    assert bone.sum() > 20
    soft_max = float(model.soft_stack[0].max())
    for img, cov in zip(frames, covers, strict=True):
        np.testing.assert_array_equal(cov, covers[0])
        # Only the (1 - coverage) share of moving soft tissue may change under bone.
        allowed = (1.0 - cov[bone]) * soft_max + 1e-6
        assert np.all(np.abs(img[bone] - frames[0][bone]) <= allowed)


def test_no_motion_case_is_static():
    case = generate_case(2, shape=(80, 80), n_frames=4, spacing_mm=3.0, motion_strength=0.0,
                         jitter_mm=0.0, resp_mm=0.0, bowel_mm=0.0)
    for t in range(1, 4):
        np.testing.assert_array_equal(case.labels[t], case.labels[0])
        for organ in case.organs:
            np.testing.assert_allclose(case.trajectories[organ][t], case.trajectories[organ][0])


def test_organs_never_under_bone(moving):
    case, model = moving
    for t in range(case.series.n_frames):
        _, cover, levels = model.sample(t)
        labels = model.labels(levels)
        np.testing.assert_array_equal(labels, case.labels[t])
        assert not np.any((labels > 0) & (cover > 0.5)), t
