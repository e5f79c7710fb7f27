"""The result of tracking: N material points per organ through T frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Tracks:
    """Tracked boundary points of each organ.

    Attributes:
        points: organ -> (T, N, 2) float64 xy in mm; NaN where invalid.  Point i
            is the same material point of the wall in every frame.
        valid: organ -> (T, N) bool; False where the organ is missing in a frame.
        rest_frame: the reference frame where points are evenly spaced.
        n_points: N.
        contours: organ -> per frame the sub-pixel label contour (M, 2) xy mm or
            None (kept to avoid tracing twice; not part of the project file).
        flagged: organ -> (T,) bool, frames whose mask disagreed with the image
            motion, where the points follow the registration instead of the
            contour (not part of the project file).
        propagated: organ -> {frame: (M, 2) xy mm}, for flagged frames the rest
            contour moved by the registration (not part of the project file).
        warnings: human-readable notes (e.g. a rest-frame segmentation that looks
            incomplete).
    """

    points: dict[str, np.ndarray]
    valid: dict[str, np.ndarray]
    rest_frame: int = 0
    n_points: int = 128
    contours: dict[str, list[np.ndarray | None]] = field(default_factory=dict, repr=False)
    flagged: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    propagated: dict[str, dict[int, np.ndarray]] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for organ, p in self.points.items():
            p = np.asarray(p, dtype=np.float64)
            if p.ndim != 3 or p.shape[2] != 2:
                raise ValueError(f"{organ}: expected points (T,N,2), got {p.shape}")
            v = np.asarray(self.valid[organ], dtype=bool)
            if v.shape != p.shape[:2]:
                raise ValueError(f"{organ}: valid {v.shape} does not match points {p.shape}")
            self.points[organ] = p
            self.valid[organ] = v

    @property
    def organs(self) -> tuple[str, ...]:
        """Organ names in insertion order."""
        return tuple(self.points)

    def to_dict(self) -> dict[str, dict[str, np.ndarray]]:
        """organ -> {"points": (T,N,2), "valid": (T,N)}, the Project's ``tracks`` layout."""
        return {o: {"points": self.points[o], "valid": self.valid[o]} for o in self.points}

    @classmethod
    def from_dict(
        cls, tracks: dict[str, dict[str, np.ndarray]], rest_frame: int = 0
    ) -> Tracks:
        """Build from the Project's ``tracks`` layout."""
        points = {o: np.asarray(d["points"], dtype=np.float64) for o, d in tracks.items()}
        valid = {o: np.asarray(d["valid"], dtype=bool) for o, d in tracks.items()}
        n = next(iter(points.values())).shape[1] if points else 0
        return cls(points=points, valid=valid, rest_frame=rest_frame, n_points=n)
