"""ViewData and AppState: arrays from tables, state signals (analytic disc)."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import N_POINTS, RADIUS_MM, STEP_MM

from app.gui.model import auto_levels, view_data_from_result
from app.gui.state import AppState


def test_view_data_pivots_tables_to_frame_arrays(disc_result):
    data = view_data_from_result(disc_result)
    assert data.organs == ("bladder",)
    kappa = data.point_values["curvature_per_mm"]["bladder"]
    disp = data.point_values["displacement_mm"]["bladder"]
    assert kappa.shape == (6, N_POINTS)
    # a circle of radius r has curvature 1/r (core.indices smooths; 2 % tolerance)
    np.testing.assert_allclose(kappa, 1.0 / RADIUS_MM, rtol=0.02)
    # every point of frame t moved t * STEP_MM straight down
    np.testing.assert_allclose(disp, np.arange(6)[:, None] * STEP_MM * np.ones((1, N_POINTS)),
                               atol=1e-9)
    area = data.frame_values["area_mm2"]["bladder"]
    np.testing.assert_allclose(area, np.pi * RADIUS_MM**2, rtol=0.05)
    lo, hi = data.index_range("curvature_per_mm")
    assert lo == -hi and hi == pytest.approx(1.0 / RADIUS_MM, rel=0.05)


def test_view_data_rejects_mismatched_labels(disc_result):
    import dataclasses

    bad = dataclasses.replace(disc_result, labels=np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(ValueError, match="labels shape"):
        view_data_from_result(bad)


def test_auto_levels_are_percentiles():
    frames = np.arange(1000, dtype=np.float32).reshape(10, 10, 10)
    lo, hi = auto_levels(frames)
    assert lo == pytest.approx(9.99, abs=0.1) and hi == pytest.approx(989.01, abs=0.1)


def test_state_signals_and_clamping(qtbot, disc_result):
    state = AppState()
    with qtbot.waitSignals([state.series_changed, state.result_changed]):
        state.set_result(disc_result, dirty=True)
    assert state.dirty and state.has_result
    with qtbot.waitSignal(state.frame_changed) as blocker:
        state.set_frame(99)
    assert blocker.args == [5] and state.frame == 5
    state.step(1, loop=True)
    assert state.frame == 0
    with qtbot.waitSignal(state.organ_visibility_changed) as blocker:
        state.set_organ_visible("bladder", False)
    assert blocker.args == ["bladder", False]
    with pytest.raises(ValueError, match="unknown point index"):
        state.set_point_index("nonsense")
    assert "*" in state.title()
