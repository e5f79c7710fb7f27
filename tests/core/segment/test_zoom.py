"""core.segment.zoom: where the later zoom passes run (rule 136)."""

import pytest

from core.segment.zoom import box_margin_on, check_zoom_roi_mm, stride_cut


def test_stride_cut_starts_and_ends_at_the_stride_and_covers_the_box():
    # 90 original rows resampled to 96 network rows, padded by 8 above (112 in all)
    crop, padded = (slice(8, 104), slice(0, 96)), (112, 96)
    cut, inner = stride_cut((slice(30, 60), slice(10, 20)), (90, 90), crop, padded, 16)
    assert cut == (slice(32, 80), slice(0, 32))
    assert all(s.start % 16 == 0 and s.stop % 16 == 0 for s in cut)
    # valid: original rows whose interpolation uses network rows 34-77 only
    # ((i + 0.5) * 96 / 90 - 0.5 + 8 within [34, 77]): 25-64; columns from the edge
    assert inner == (slice(25, 65), slice(0, 28))
    assert inner[0].start <= 30 and inner[0].stop >= 60 and inner[1].stop >= 20


def test_stride_cut_of_the_whole_frame_is_the_whole_input():
    crop, padded = (slice(8, 104), slice(0, 96)), (112, 96)
    cut, inner = stride_cut((slice(0, 90), slice(0, 90)), (90, 90), crop, padded, 16)
    assert cut == (slice(0, 112), slice(0, 96))
    assert inner == (slice(0, 90), slice(0, 90))


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "x"])
def test_zoom_roi_margin_must_be_a_finite_number_of_mm(bad):
    with pytest.raises(ValueError):
        check_zoom_roi_mm(bad)
    assert check_zoom_roi_mm("12.5") == 12.5


def test_the_box_pass_runs_on_the_cpu_only():
    # per-frame network calls pay where time follows pixels, not where a call costs more
    assert box_margin_on("cpu", 40.0) == 40.0
    assert box_margin_on("cpu", 0.0) == 0.0
    assert box_margin_on("cuda", 40.0) == 0.0
    assert box_margin_on("mps", 40.0) == 0.0
