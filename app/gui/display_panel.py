"""Side panel: organ legend with visibility toggles, point index and overlay options."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.gui.model import POINT_INDICES
from app.gui.state import AppState
from app.gui.theme import organ_label, organ_qcolor


class DisplayPanel(QWidget):
    """Organ legend (colour swatch + show/hide), colour-by index, rest contour and vectors."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        self.organ_group = QGroupBox("Organs", self)
        self.organ_layout = QVBoxLayout(self.organ_group)
        lay.addWidget(self.organ_group)
        self.organ_boxes: dict[str, QCheckBox] = {}

        opts = QGroupBox("Contour points", self)
        form = QFormLayout(opts)
        self.index_combo = QComboBox(opts)
        self.index_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.index_combo.setMinimumContentsLength(12)
        for key, label in POINT_INDICES.items():
            self.index_combo.addItem(label, key)
        self.index_combo.currentIndexChanged.connect(
            lambda _i: state.set_point_index(self.index_combo.currentData()))
        form.addRow("Colour by", self.index_combo)
        self.rest_box = QCheckBox("Rest contour (dashed)", opts)
        self.rest_box.toggled.connect(lambda on: state.set_options(show_rest=on))
        form.addRow(self.rest_box)
        self.vector_box = QCheckBox("Displacement vectors", opts)
        self.vector_box.toggled.connect(lambda on: state.set_options(show_vectors=on))
        form.addRow(self.vector_box)
        lay.addWidget(opts)

        current = QGroupBox("Current frame", self)
        cl = QVBoxLayout(current)
        self.frame_label = QLabel("–", current)
        self.frame_label.setTextFormat(Qt.TextFormat.RichText)
        cl.addWidget(self.frame_label)
        lay.addWidget(current)

        info = QGroupBox("Series", self)
        il = QVBoxLayout(info)
        self.info_label = QLabel("No series loaded.\nFile ▸ Open, or drop a file here.", info)
        self.info_label.setObjectName("muted")
        self.info_label.setWordWrap(True)
        il.addWidget(self.info_label)
        lay.addWidget(info)
        self.hover_label = QLabel("", self)
        self.hover_label.setObjectName("muted")
        self.hover_label.setWordWrap(True)
        lay.addWidget(self.hover_label)
        lay.addStretch(1)

        state.result_changed.connect(self._on_result)
        state.organ_visibility_changed.connect(self._on_visibility)
        state.index_changed.connect(self._on_index)
        state.options_changed.connect(self._on_options)
        state.frame_changed.connect(self._on_frame)

    def _on_result(self) -> None:
        for box in self.organ_boxes.values():
            self.organ_layout.removeWidget(box)
            box.deleteLater()
        self.organ_boxes = {}
        data = self.state.data
        if data is None:
            return
        for i, organ in enumerate(data.organs):
            c = organ_qcolor(organ, i)
            box = QCheckBox(organ_label(organ), self.organ_group)
            box.setStyleSheet(
                f"QCheckBox::indicator:checked {{ background: {c.name()}; border: 1px solid "
                f"{c.name()}; border-radius: 3px; }} QCheckBox::indicator:unchecked {{ "
                f"border: 1px solid {c.name()}; border-radius: 3px; }} "
                f"QCheckBox {{ color: {c.name()}; font-weight: 600; }}")
            box.setChecked(self.state.visible.get(organ, True))
            box.toggled.connect(lambda on, o=organ: self.state.set_organ_visible(o, on))
            self.organ_layout.addWidget(box)
            self.organ_boxes[organ] = box
        s = data.series
        h, w = s.shape
        model = getattr(data.result, "model_id", "") if data.result is not None else ""
        self.info_label.setText(
            f"{s.meta.get('series_description') or s.subject}\n"
            f"{s.n_frames} frames · {h}×{w} px\n"
            f"{s.spacing_mm[0]:.3g} × {s.spacing_mm[1]:.3g} mm · "
            f"{s.frame_interval_s:.3g} s/frame"
            + (f"\nmodel: {model}" if model else ""))

    def _on_frame(self, frame: int) -> None:
        data = self.state.data
        if data is None or not data.frame_values:
            self.frame_label.setText("–")
            return
        rows = [("Area", "area_mm2", "mm²", 0), ("Descent", "descent_mm", "mm", 1),
                ("Mean displ.", "mean_displacement_mm", "mm", 1),
                ("Max displ.", "max_displacement_mm", "mm", 1),
                ("Mean |κ|", "mean_abs_curvature_per_mm", "/mm", 3)]
        organs = [o for o in data.organs if self.state.visible.get(o, True)]
        head = "".join(
            f"<th align='right' style='color:{organ_qcolor(o, data.organs.index(o)).name()}'>"
            f"{organ_label(o).split(' ')[0]}</th>" for o in organs)
        body = []
        for name, col, unit, nd in rows:
            cells = "".join(
                f"<td align='right'>{data.frame_values[col][o][frame]:.{nd}f}</td>"
                for o in organs)
            body.append(f"<tr><td style='color:#8a91a0'>{name} ({unit})</td>{cells}</tr>")
        t = data.times_s[frame]
        self.frame_label.setText(
            f"<div style='color:#8a91a0'>frame {frame + 1} · t = {t:.2f} s</div>"
            f"<table cellspacing='0' cellpadding='2' width='100%'><tr><th></th>{head}</tr>"
            + "".join(body) + "</table>")

    def _on_visibility(self, organ: str, visible: bool) -> None:
        self._on_frame(self.state.frame)
        box = self.organ_boxes.get(organ)
        if box is not None and box.isChecked() != visible:
            box.setChecked(visible)

    def _on_index(self, column: str) -> None:
        i = self.index_combo.findData(column)
        if i >= 0 and i != self.index_combo.currentIndex():
            self.index_combo.setCurrentIndex(i)

    def _on_options(self) -> None:
        self.rest_box.setChecked(self.state.show_rest)
        self.vector_box.setChecked(self.state.show_vectors)
