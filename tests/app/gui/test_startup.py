"""Start-up: the Segmenter built before the window shows is the one analyses reuse."""

import pytest

from app.gui import application
from core.segment import infer


@pytest.fixture
def calls(monkeypatch):
    made = []
    monkeypatch.setattr(infer, "shared_segmenter",
                        lambda model=None, device="auto", backend="auto", scales=None,
                        temporal_weight=None, touch_mm=None, piece_weight=None,
                        zoom_roi_mm=None:
                        made.append((model, device, backend, scales, temporal_weight,
                                     touch_mm, piece_weight, zoom_roi_mm)))
    return made


def test_preload_builds_the_segmenter_of_the_window_options(calls):
    application.preload_analysis_stack({"device": "cpu", "backend": "torch",
                                        "scales": (1.0,), "temporal_weight": 0.15,
                                        "touch_mm": 0.0, "piece_weight": 0.0,
                                        "zoom_roi_mm": 24.0})
    application.preload_analysis_stack(None)
    assert calls == [(None, "cpu", "torch", (1.0,), 0.15, 0.0, 0.0, 24.0),
                     (None, "auto", "auto", None, None, None, None, None)]


def test_the_remembered_zoom_passes_pick_the_preloaded_segmenter(tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert application.window_analyze_options({"device": "cpu"}, settings) == {"device": "cpu"}
    settings.setValue("analysis/zoom_passes", False)
    assert application.window_analyze_options(None, settings) == {"scales": [1.0]}
    # zooms given on the command line win
    pair = list(infer.ZOOM_PAIR)
    assert application.window_analyze_options({"scales": pair}, settings) == {"scales": pair}


def test_preload_builds_nothing_when_labels_are_given(calls):
    application.preload_analysis_stack({"labels": object(), "device": "cpu"})
    assert calls == []


def test_preload_survives_a_bad_option(monkeypatch):
    def bad(*args, **kwargs):
        raise ValueError("backend 'onnx' runs on the CPU only")

    monkeypatch.setattr(infer, "shared_segmenter", bad)
    application.preload_analysis_stack({"backend": "onnx", "device": "cuda"})  # no raise


def test_splash_shows_a_message(qtbot):
    splash = application._splash("Loading")
    assert splash.isVisible() and "Loading" in splash.message()
    splash.close()
