"""What an analysis result does with the user's lines and reference points: the
frame table's columns measured against them, recomputed when they change
(:class:`MeasuredAgainstPcl`, a mixin of :class:`core.pipeline.AnalysisResult`).
The geometry is :mod:`core.reference`'s."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.anorectal import with_junction
from core.indices import PCL_COLUMNS, frame_table
from core.measurements import without_measurements
from core.project import check_landmarks
from core.rectocele import ANAL_LANDMARKS, anal_lines
from core.reference import HIATUS_ORGAN, pcl_lines, reference_tracks
from core.track.contours import mask_contour


class MeasuredAgainstPcl:
    """What :class:`core.pipeline.AnalysisResult` does with its landmarks and reference
    points (a mixin: it uses the result's ``series``, ``labels``, ``organs``, ``tracks``,
    ``points``, ``frames``, ``settings``, ``landmarks`` and ``manual_frames``)."""

    @property
    def reference_points(self) -> dict[str, int]:
        """Organ -> index of the tracked point the user chose as its reference point."""
        return {str(o): int(i)
                for o, i in ((self.settings or {}).get("reference_points") or {}).items()}

    @property
    def junction_found(self) -> bool:
        """Whether the anorectal junction is found on each frame (an anal canal line is
        placed and no junction marked) rather than marked."""
        return (HIATUS_ORGAN in self.organs and HIATUS_ORGAN not in self.reference_points
                and all(k in (self.landmarks or {}) for k in ANAL_LANDMARKS))

    def set_landmarks(self, landmarks: Mapping[str, np.ndarray]) -> None:
        """Replace the landmarks (e.g. the PCL placed by the user) and recompute the
        frame table's columns that use them (in place; tracks and labels unchanged).

        Raises:
            ValueError: an array is not (T, 2).
        """
        self.set_references(landmarks, self.reference_points)

    def set_reference_points(self, chosen: Mapping[str, int]) -> None:
        """Choose each organ's reference point (organ -> tracked point index; the
        bladder base, cervix, anorectal junction) and recompute the columns that use it.

        Raises:
            ValueError: an organ without tracks or a point it does not have.
        """
        self.set_references(self.landmarks, chosen)

    def set_references(self, landmarks: Mapping[str, np.ndarray],
                       chosen: Mapping[str, int]) -> bool:
        """Both at once (one recomputation): see :meth:`set_landmarks` and
        :meth:`set_reference_points`.  Returns whether the frame table's columns were
        measured again (False when only measurements by hand changed)."""
        checked = check_landmarks(dict(landmarks), self.series.n_frames)
        chosen = {str(o): int(i) for o, i in chosen.items()}
        reference_tracks(self.tracks.points, self.tracks.valid, chosen, strict=True)
        lines_before = without_measurements(self.landmarks)
        lines_after = without_measurements(checked)
        unchanged = (chosen == self.reference_points and lines_before.keys() == lines_after.keys()
                     and all(np.array_equal(lines_before[k], lines_after[k], equal_nan=True)
                             for k in lines_after))
        if not unchanged:       # a measurement by hand changes none of the columns
            self._update_pcl_columns(checked, chosen)
        self.landmarks = checked
        self.settings = dict(self.settings or {})
        if chosen:
            self.settings["reference_points"] = chosen
        else:
            self.settings.pop("reference_points", None)
        return not unchanged

    def reference_tracks(self, chosen: Mapping[str, int] | None = None, found: bool = True
                         ) -> dict[str, np.ndarray]:
        """Each reference point's path, organ -> (T, 2) xy mm (NaN where not tracked);
        with ``found``, where no anorectal junction is marked and an anal canal line is
        placed, the junction found in each frame (:func:`core.anorectal.with_junction`),
        as the frame table measures it."""
        refs = reference_tracks(self.tracks.points, self.tracks.valid,
                                self.reference_points if chosen is None else chosen)
        anal = anal_lines(self.landmarks, self.series.n_frames)
        if not found or anal is None or HIATUS_ORGAN in refs or HIATUS_ORGAN not in self.organs:
            return refs
        return with_junction(refs, self._current_contours()[HIATUS_ORGAN], anal)

    def _current_contours(self) -> dict[str, list[np.ndarray | None]]:
        """The label contours of every organ and frame: the tracker's (frames corrected
        since traced again); traced once and kept in ``tracks.contours`` when it kept
        none (a result loaded from a project)."""
        sp = self.series.spacing_mm
        stored = self.tracks.contours
        for k, organ in enumerate(self.organs):
            if len(stored.get(organ, ())) != self.series.n_frames:
                stored[organ] = [mask_contour(lab == k + 1, sp) for lab in self.labels]
        out = {o: list(stored[o]) for o in self.organs}
        for t in self.manual_frames:
            for k, organ in enumerate(self.organs):
                out[organ][t] = mask_contour(self.labels[t] == k + 1, sp)
        return out

    def _update_pcl_columns(self, landmarks: Mapping[str, np.ndarray],
                            chosen: Mapping[str, int]) -> None:
        frames = self.frames.copy()
        if len(frames):
            # only the columns that use them: the rest of the table stays as it was
            table = frame_table(self.points.iloc[:0], self.series, self.labels, self.organs,
                                rest_frame=int((self.settings or {}).get("rest_frame", 0)),
                                contours=self._current_contours(),
                                pcl=pcl_lines(landmarks, self.series.n_frames),
                                anal=anal_lines(landmarks, self.series.n_frames),
                                reference=reference_tracks(self.tracks.points,
                                                           self.tracks.valid, chosen))
            keyed = table.set_index(["organ", "frame"])
            keys = pd.MultiIndex.from_arrays([frames["organ"], frames["frame"].astype(int)])
            for col in PCL_COLUMNS:
                frames[col] = keyed[col].reindex(keys).to_numpy(float)
            frames["reference_found"] = keyed["reference_found"].reindex(
                keys, fill_value=False).to_numpy(bool)
        self.frames = frames

