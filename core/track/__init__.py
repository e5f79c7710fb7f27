"""Organ contours and point correspondence through time."""

from core.track.contours import mask_contour, resample_closed
from core.track.tracker import track_organs
from core.track.tracks import Tracks

__all__ = ["Tracks", "mask_contour", "resample_closed", "track_organs"]
