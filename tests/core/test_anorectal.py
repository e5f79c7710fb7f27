"""core.anorectal: the angle between the anal canal's axis and the rectum's posterior wall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapes_factory import bent_tube, tube_analysis, tube_corner

from core.anorectal import (
    ARM_MM,
    LEVEL_MM,
    WALL_TO_MM,
    angle_of_arms,
    anorectal_angle,
    anorectal_arms,
    anorectal_junction,
    junction_and_angle,
    trace,
    with_junction,
)
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


@pytest.mark.parametrize("angle", [80.0, 95.0, 110.0, 120.0])
@pytest.mark.parametrize("tilt", [0.0, -20.0, 25.0])
def test_the_junction_of_a_bent_tube_is_the_corner_of_its_posterior_wall(angle, tilt):
    mask, line = bent_tube(angle, tilt)
    junction = anorectal_junction(mask_contour(mask, (1.0, 1.0)), line)
    assert np.linalg.norm(junction - tube_corner(angle, tilt)) < 1.6
    mask, line = bent_tube(angle, tilt, spacing=(0.8, 1.3), shape=(250, 160))
    junction = anorectal_junction(mask_contour(mask, (0.8, 1.3)), line)
    assert np.linalg.norm(junction - tube_corner(angle, tilt)) < 1.6


@pytest.mark.parametrize("angle", [135.0, 160.0, 178.0])
def test_an_obtuse_bend_puts_the_junction_on_the_posterior_wall_at_the_line_top(angle):
    """Without a turn of more than TURN_DEG the corner is where the posterior wall
    reaches the level of the line's upper end, which the user places just below the
    junction."""
    mask, line = bent_tube(angle, tilt=15.0)
    junction = anorectal_junction(mask_contour(mask, (1.0, 1.0)), line)
    up = (line[1] - line[0]) / np.linalg.norm(line[1] - line[0])
    back = np.array([-up[1], up[0]])                 # posterior, across the canal
    level, across = (junction - line[1]) @ up, (junction - line[1]) @ back
    assert -LEVEL_MM - 0.6 <= level <= 0.0
    assert across == pytest.approx(10.0, abs=0.8)    # the canal's other wall, 2 radii on


def test_a_junction_without_an_angle_and_none_without_a_canal():
    mask, line = bent_tube(110.0)
    contour = mask_contour(mask, (1.0, 1.0))
    short_canal = mask.copy()
    short_canal[:118] = False                  # no wall above the junction: no angle
    corner, arms = trace(mask_contour(short_canal, (1.0, 1.0)), line)
    assert arms is None and np.linalg.norm(corner - tube_corner(110.0)) < 3.0
    for c, ln in ((None, line), (contour, None),
                  (contour, np.array([[95.0, 158.0], [95.0, 155.0]]))):
        assert anorectal_junction(c, ln) is None
    contours = [contour, None, mask_contour(short_canal, (1.0, 1.0))]
    junction, angle = junction_and_angle(contours, np.stack([line] * 3))
    assert np.isfinite(junction[[0, 2]]).all() and np.isnan(junction[1]).all()
    assert angle[0] == pytest.approx(110.0, abs=1.5) and np.isnan(angle[1:]).all()


def test_with_junction_adds_the_junction_only_where_none_is_marked():
    mask, line = bent_tube(100.0)
    contours = [mask_contour(mask, (1.0, 1.0))] * 2
    anal = np.stack([line] * 2)
    found = with_junction({"bladder": np.zeros((2, 2))}, contours, anal)
    np.testing.assert_allclose(found["rectum"], [tube_corner(100.0)] * 2, atol=1.6)
    assert set(found) == {"bladder", "rectum"}
    marked = {"rectum": np.ones((2, 2))}
    assert with_junction(marked, contours, anal)["rectum"] is marked["rectum"]
    assert with_junction(None, contours, None) == {}
    assert with_junction({}, [None, None], anal) == {}      # nothing found, nothing added


PUBIS, COCCYX = (60.0, 100.0), (160.0, 95.0)


def test_the_h_and_m_lines_end_at_the_junction_found_in_each_frame():
    from core.reference import below_pcl, hmo_grade, pubis_distance

    angles = (95.0, 110.0, 120.0)
    result = tube_analysis(angles, pcl=(PUBIS, COCCYX))
    assert result.junction_found
    junction = result.reference_tracks()["rectum"]
    np.testing.assert_allclose(junction, [tube_corner(a) for a in angles], atol=1.6)
    assert "rectum" not in result.reference_tracks(found=False)
    rows = result.frames.sort_values("frame")
    line = np.array([PUBIS, COCCYX])
    np.testing.assert_allclose(rows["ref_to_pubis_mm"], pubis_distance(junction, line))
    np.testing.assert_allclose(rows["ref_below_pcl_mm"], below_pcl(junction, line))
    row = summary_table(result.frames).iloc[0]
    h, m = pubis_distance(junction, line).max(), below_pcl(junction, line).max()
    assert row["max_ref_to_pubis_mm"] == pytest.approx(h)
    assert 45 < h < 60 and 20 < m < 40                     # the junction near (105, 125)
    assert row["hmo_grade"] == f"H {hmo_grade(h, 'H')}, M {hmo_grade(m, 'M')}" == (
        "H normal, M mild")
    assert rows["reference_found"].all() and row["reference_point"] == "found"


def test_a_marked_junction_replaces_the_one_found():
    result = tube_analysis((100.0, 120.0), pcl=(PUBIS, COCCYX))
    found = result.frames["ref_to_pubis_mm"].to_numpy().copy()
    result.set_reference_points({"rectum": 5})
    assert not result.junction_found
    path = result.tracks.points["rectum"][:, 5]
    np.testing.assert_allclose(result.reference_tracks()["rectum"], path)
    marked = result.frames.sort_values("frame")["ref_to_pubis_mm"].to_numpy()
    np.testing.assert_allclose(marked, np.hypot(*(path - np.array(PUBIS)).T))
    assert not np.allclose(marked, found)
    assert not result.frames["reference_found"].any()
    assert summary_table(result.frames).iloc[0]["reference_point"] == "marked"
    result.set_reference_points({})                          # cleared: found again
    np.testing.assert_allclose(result.frames["ref_to_pubis_mm"], found)
    assert result.frames["reference_found"].all()
    result.set_landmarks({})                                 # no anal canal line: none
    assert summary_table(result.frames).iloc[0]["reference_point"] == ""
    assert not result.frames["reference_found"].any()
