"""Playback: a timer that advances the state's frame, and the transport bar.

Keys (window shortcuts, see :mod:`app.gui.main_window`): Space play/pause,
←/→ step, Home/End first/last.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

from app.gui.state import AppState


class Playback(QObject):
    """Advance :attr:`AppState.frame` at ``fps`` frames per second.

    Signals:
        playing_changed(bool): playback started or stopped.
        fps_changed(float): the speed changed.
    """

    playing_changed = Signal(bool)
    fps_changed = Signal(float)

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.fps = 2.0
        self.loop = True
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        state.series_changed.connect(self.stop)

    @property
    def playing(self) -> bool:
        """Whether playback runs."""
        return self.timer.isActive()

    def set_fps(self, fps: float) -> None:
        """Playback speed in frames per second (0.1–100)."""
        fps = float(min(max(fps, 0.1), 100.0))
        if fps != self.fps:
            self.fps = fps
            self.timer.setInterval(round(1000.0 / fps))
            self.fps_changed.emit(fps)

    def play(self) -> None:
        """Start playing (from the first frame if at the last one and not looping)."""
        data = self.state.data
        if data is None or self.playing:
            return
        if not self.loop and self.state.frame >= data.n_frames - 1:
            self.state.set_frame(0)
        self.timer.start(round(1000.0 / self.fps))
        self.playing_changed.emit(True)

    def stop(self) -> None:
        """Pause."""
        if self.playing:
            self.timer.stop()
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        """Play/pause."""
        self.stop() if self.playing else self.play()

    def _tick(self) -> None:
        data = self.state.data
        if data is None:
            self.stop()
            return
        if self.state.frame >= data.n_frames - 1 and not self.loop:
            self.stop()
            return
        self.state.step(1, loop=self.loop)


class TransportBar(QWidget):
    """Play/pause, step, frame slider with time read-out, speed and loop."""

    def __init__(self, state: AppState, playback: Playback, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.playback = playback
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 6)
        lay.setSpacing(4)

        style = self.style()
        sp = QStyle.StandardPixmap

        def button(pixmap: QStyle.StandardPixmap, tip: str, slot) -> QToolButton:  # noqa: ANN001
            b = QToolButton(self)
            b.setIcon(style.standardIcon(pixmap))
            b.setToolTip(tip)
            b.setAutoRaise(False)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setStyleSheet("padding: 3px 5px;")
            b.clicked.connect(slot)
            lay.addWidget(b)
            return b

        self.first_btn = button(sp.SP_MediaSkipBackward, "First frame (Home)",
                                lambda: state.set_frame(0))
        self.prev_btn = button(sp.SP_MediaSeekBackward, "Previous frame (←)",
                               lambda: state.step(-1))
        self.play_btn = button(sp.SP_MediaPlay, "Play / pause (Space)", playback.toggle)
        self.play_btn.setCheckable(True)
        self.next_btn = button(sp.SP_MediaSeekForward, "Next frame (→)", lambda: state.step(1))
        self.last_btn = button(sp.SP_MediaSkipForward, "Last frame (End)", self._last)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setMinimum(0)
        self.slider.setMaximum(0)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setMinimumWidth(100)
        self.slider.valueChanged.connect(state.set_frame)
        lay.addWidget(self.slider, 1)
        self.time_label = QLabel("– / –", self)
        self.time_label.setMinimumWidth(
            self.time_label.fontMetrics().horizontalAdvance("000.00 / 000.00 s · 000/000") + 8)
        lay.addWidget(self.time_label)
        self.fps_spin = QDoubleSpinBox(self)
        self.fps_spin.setRange(0.1, 100.0)
        self.fps_spin.setDecimals(1)
        self.fps_spin.setMaximumWidth(90)
        self.fps_spin.setSuffix(" fps")
        self.fps_spin.setToolTip("Playback speed (frames per second)")
        self.fps_spin.setValue(playback.fps)
        self.fps_spin.valueChanged.connect(playback.set_fps)
        lay.addWidget(self.fps_spin)
        self.loop_box = QCheckBox("Loop", self)
        self.loop_box.setChecked(playback.loop)
        self.loop_box.toggled.connect(lambda on: setattr(playback, "loop", on))
        lay.addWidget(self.loop_box)
        state.series_changed.connect(self._on_series)
        state.frame_changed.connect(self._on_frame)
        playback.playing_changed.connect(self._on_playing)
        playback.fps_changed.connect(self._on_fps)
        self.setEnabled(False)

    def _last(self) -> None:
        if self.state.data is not None:
            self.state.set_frame(self.state.data.n_frames - 1)

    def _on_series(self) -> None:
        data = self.state.data
        self.setEnabled(data is not None)
        if data is None:
            return
        self.slider.blockSignals(True)
        self.slider.setMaximum(data.n_frames - 1)
        self.slider.blockSignals(False)
        self._on_frame(self.state.frame)

    def _on_frame(self, frame: int) -> None:
        data = self.state.data
        if data is None:
            return
        if self.slider.value() != frame:
            self.slider.blockSignals(True)
            self.slider.setValue(frame)
            self.slider.blockSignals(False)
        t = data.times_s
        self.time_label.setText(f"{t[frame]:.2f} / {t[-1]:.2f} s · {frame + 1}/{len(t)}")

    def _on_playing(self, playing: bool) -> None:
        self.play_btn.setChecked(playing)
        pix = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_btn.setIcon(self.style().standardIcon(pix))

    def _on_fps(self, fps: float) -> None:
        if abs(self.fps_spin.value() - fps) > 1e-9:
            self.fps_spin.blockSignals(True)
            self.fps_spin.setValue(fps)
            self.fps_spin.blockSignals(False)
