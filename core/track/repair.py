"""Replace bad segmentation frames by the rest-frame mask moved with the image motion.

The tracker flags a frame when an organ's mask disagrees with the rest mask moved
by the registration (:func:`core.track.tracker.flag_frames`): typically the model
lost or added a piece of the organ in that frame.  There the rest contour moved by
the field (``Tracks.propagated``) is usually a better outline than the model's: on
the six held-out 256² phantom cases it took model 7961176c0fc8's rectum HD95 from
6.16 to 2.98 mm, and on four held-out sets it changed nothing where no frame was flagged.
Where the registration itself fails (large deformation) the redrawn outline can be
worse than the model's; docs/segmentation.md gives both."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.draw import polygon as fill_polygon

from core.track.contours import mask_contour
from core.track.tracks import Tracks


def repair_labels(
    labels: np.ndarray, tracks: Tracks, organs: Sequence[str],
    spacing_mm: tuple[float, float],
) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Labels with each flagged organ frame redrawn from its propagated contour.

    In a repaired frame the organ's pixels outside the propagated outline become
    background and background pixels inside it become the organ; other organs'
    pixels are never taken.  ``tracks.contours`` is updated for those frames so
    that areas, perimeters and the drawn contours match the new labels.

    Args:
        labels: (T, H, W) uint8 labels (not modified).
        tracks: the tracker's result (``propagated`` and ``contours`` are used;
            ``contours`` is updated in place).
        organs: organ names in label order.
        spacing_mm: (row, col) pixel spacing.

    Returns:
        (new labels, organ -> repaired frame indices).
    """
    out = np.array(labels, dtype=np.uint8, copy=True)
    sr, sc = spacing_mm
    h, w = out.shape[1:]
    repaired: dict[str, list[int]] = {}
    for k, organ in enumerate(organs):
        for t, contour in sorted((tracks.propagated.get(organ) or {}).items()):
            rr, cc = fill_polygon(contour[:, 1] / sr, contour[:, 0] / sc, shape=(h, w))
            if rr.size == 0:
                continue
            inside = np.zeros((h, w), bool)
            inside[rr, cc] = True
            frame = out[t]
            frame[(frame == k + 1) & ~inside] = 0
            frame[inside & (frame == 0)] = k + 1
            if organ in tracks.contours:
                tracks.contours[organ][t] = mask_contour(frame == k + 1, spacing_mm)
            repaired.setdefault(organ, []).append(int(t))
    return out, repaired
