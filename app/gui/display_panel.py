"""Side panel: organ legend with visibility toggles, point index and overlay options."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.gui.model import POINT_INDICES
from app.gui.state import AppState
from app.gui.theme import organ_label, organ_qcolor

#: The Segmenter's default temporal weight (``core.segment.infer.DEFAULT_TEMPORAL_WEIGHT``,
#: a test checks it), kept here so that showing a project does not import torch: the
#: series panel names the weight only where an analysis used another one.
DEFAULT_TEMPORAL_WEIGHT = 0.15


class DisplayPanel(QWidget):
    """Organ legend (colour swatch + show/hide), colour-by index, rest contour and vectors.

    Signals:
        colour_requested(str): the user asked to change an organ's colour.
    """

    colour_requested = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(2)
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
        self.frame_box = current
        self.frame_title = QLabel("–", current)
        self.frame_title.setObjectName("muted")
        cl.addWidget(self.frame_title)
        self.frame_grid = QGridLayout()
        self.frame_grid.setHorizontalSpacing(10)
        self.frame_grid.setVerticalSpacing(2)
        cl.addLayout(self.frame_grid)
        self.cells = {}
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
            box.hide()  # deleted when the event loop next runs: not painted till then
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
            box.setToolTip("Show / hide. Right-click to choose the colour.")
            box.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            box.customContextMenuRequested.connect(
                lambda _pos, o=organ: self.colour_requested.emit(o))
            self.organ_layout.addWidget(box)
            self.organ_boxes[organ] = box
        self._build_readout()
        self._on_frame(self.state.frame)
        s = data.series
        h, w = s.shape
        model = getattr(data.result, "model_id", "") if data.result is not None else ""
        settings = getattr(data.result, "settings", None) or {}
        how = ""
        if model and settings.get("segmentation_backend"):
            zooms = settings.get("segmentation_scales") or [1.0]
            weight = settings.get("segmentation_temporal_weight")  # None: not recorded
            model += (f" ({settings['segmentation_backend']}, {len(zooms)} pass"
                      f"{'es' if len(zooms) > 1 else ''}"
                      + (f", temporal weight {weight:g}"
                         if weight not in (None, DEFAULT_TEMPORAL_WEIGHT) else "") + ")")
            how = "Segmentation settings of this analysis:\n" + "\n".join(
                f"{key.removeprefix('segmentation_').replace('_', ' ')}: {value}"
                for key, value in settings.items()
                if key.startswith("segmentation_") and value is not None)
        self.info_label.setToolTip(how)
        self.info_label.setText(
            f"{s.meta.get('series_description') or s.subject}\n"
            f"{s.n_frames} frames · {h}×{w} px\n"
            f"{s.spacing_mm[0]:.3g} × {s.spacing_mm[1]:.3g} mm · "
            f"{s.frame_interval_s:.3g} s/frame"
            + (f"\nmodel: {model}" if model else ""))

    #: Rows of the current-frame read-out: label, frame-table column, decimals.
    READOUT = (("Area (mm²)", "area_mm2", 0), ("Descent (mm)", "descent_mm", 1),
               ("Mean displ. (mm)", "mean_displacement_mm", 1),
               ("Max displ. (mm)", "max_displacement_mm", 1),
               ("Mean |κ| (1/mm)", "mean_abs_curvature_per_mm", 3),
               ("Below PCL (mm)", "below_pcl_mm", 1),
               ("Ref. pt below PCL", "ref_below_pcl_mm", 1),
               ("Ref. pt to pubis", "ref_to_pubis_mm", 1),
               ("Below H-line (mm)", "below_h_line_mm", 1),
               ("Rectocele (mm)", "rectocele_depth_mm", 1),
               ("Anorectal angle (°)", "anorectal_angle_deg", 0))

    def _build_readout(self) -> None:
        """One plain label per (index, organ): cheap to update during playback."""
        while self.frame_grid.count():
            item = self.frame_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        self.cells: dict[tuple[str, str], QLabel] = {}
        data = self.state.data
        if data is None or not data.frame_values:
            return
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for j, organ in enumerate(data.organs):
            head = QLabel(organ_label(organ).split(" ")[0], self.frame_box)
            head.setStyleSheet(f"color: {organ_qcolor(organ, j).name()}; font-weight: 600;")
            head.setAlignment(right)
            self.frame_grid.addWidget(head, 0, j + 1)
        for i, (name, col, _nd) in enumerate(self.READOUT):
            lab = QLabel(name, self.frame_box)
            lab.setObjectName("muted")
            self.frame_grid.addWidget(lab, i + 1, 0)
            for j, organ in enumerate(data.organs):
                cell = QLabel("", self.frame_box)
                cell.setAlignment(right)
                self.frame_grid.addWidget(cell, i + 1, j + 1)
                self.cells[(col, organ)] = cell

    def _on_frame(self, frame: int) -> None:
        data = self.state.data
        if data is None or not self.cells:
            self.frame_title.setText("–")
            return
        self.frame_title.setText(f"frame {frame + 1} · t = {data.times_s[frame]:.2f} s")
        for _name, col, nd in self.READOUT:
            for organ in data.organs:
                v = data.frame_values[col][organ][frame]
                self.cells[(col, organ)].setText(f"{v:.{nd}f}" if v == v else "–")

    def _on_visibility(self, organ: str, visible: bool) -> None:
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
