"""core.anorectal: the angle between the anal canal's axis and the rectum's posterior wall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapes_factory import bent_tube

from core.anorectal import ARM_MM, WALL_TO_MM, angle_of_arms, anorectal_angle, anorectal_arms
from core.summary import summary_table
from core.track.contours import mask_contour


@pytest.mark.parametrize("angle", [80.0, 95.0, 120.0, 150.0, 175.0])
@pytest.mark.parametrize("tilt", [0.0, -20.0, 25.0])
def test_the_angle_of_a_bent_tube_is_its_bend_whatever_the_tilt(angle, tilt):
    mask, line = bent_tube(angle, tilt)
    contour = mask_contour(mask, (1.0, 1.0))
    assert anorectal_angle(contour, line) == pytest.approx(angle, abs=1.5)


def test_anisotropic_pixels_and_the_arms_as_drawn():
    mask, line = bent_tube(110.0, 10.0, spacing=(0.8, 1.3), shape=(250, 160))
    arms = anorectal_arms(mask_contour(mask, (0.8, 1.3)), line)
    assert angle_of_arms(arms) == pytest.approx(110.0, abs=1.5)
    canal_end, vertex, wall_end = arms
    up = (line[1] - line[0]) / np.linalg.norm(line[1] - line[0])
    np.testing.assert_allclose(vertex - canal_end, ARM_MM * up, atol=1e-9)  # down the axis
    assert np.linalg.norm(wall_end - vertex) == pytest.approx(WALL_TO_MM, abs=3.0)
    # the vertex is at the junction's corner on the posterior wall (x = 105 at tilt 0 + 10°)
    assert np.linalg.norm(vertex - np.array([100.0, 120.0])) < 8.0


def test_no_angle_without_a_contour_a_line_or_a_rectum_above_the_canal():
    mask, line = bent_tube(110.0)
    contour = mask_contour(mask, (1.0, 1.0))
    short_canal = mask.copy()
    short_canal[:118] = False                  # only the canal: no wall above the junction
    for c, ln in ((None, line), (contour, None), (contour[:2], line),
                  (contour, np.array([[95.0, 158.0], [95.0, 155.0]])),      # too short
                  (contour, np.array([[95.0, 158.0], [np.nan, 122.0]])),
                  (mask_contour(short_canal, (1.0, 1.0)), line)):
        assert anorectal_arms(c, ln) is None
        assert np.isnan(anorectal_angle(c, ln))
    assert np.isnan(angle_of_arms(None))


def test_a_wider_ampulla_measures_its_wall_not_the_tube_axis():
    """The definition follows the posterior wall: an ampulla widening from the
    junction turns that wall further back than the rectum's axis."""
    mask, line = bent_tube(120.0)
    contour = mask_contour(mask, (1.0, 1.0))
    wide = mask | bent_tube(120.0, radius=9.0)[0] & (np.mgrid[0:200, 0:200][0] < 118)
    assert anorectal_angle(mask_contour(wide, (1.0, 1.0)), line) < anorectal_angle(
        contour, line) - 3.0


def test_summary_has_the_angle_at_rest_its_smallest_and_largest():
    frames = pd.DataFrame({
        "subject": "s", "organ": "rectum", "frame": [0, 1, 2, 3], "time_s": [0, 1, 2, 3.0],
        "area_mm2": 100.0, "descent_mm": [0, 1, 2, 3.0], "centroid_displacement_mm": 0.0,
        "max_displacement_mm": 0.0, "mean_abs_curvature_per_mm": 0.0, "flagged": False,
        "anorectal_angle_deg": [100.0, np.nan, 85.0, 140.0]})
    row = summary_table(frames, rest_frame=0).iloc[0]
    assert (row["rest_anorectal_angle_deg"], row["min_anorectal_angle_deg"],
            row["max_anorectal_angle_deg"]) == (100.0, 85.0, 140.0)
    row = summary_table(frames.drop(columns="anorectal_angle_deg")).iloc[0]  # older table
    assert np.isnan(row["rest_anorectal_angle_deg"]) and np.isnan(row["max_anorectal_angle_deg"])
