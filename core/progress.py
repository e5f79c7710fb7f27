"""Progress records yielded by long work (training, segmentation, tracking).

Every long task in ``core`` is a generator yielding :class:`Progress` records,
so the CLI can draw a progress bar and the GUI can show one and cancel (by
closing the generator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One step of long work.

    Attributes:
        stage: short name of the stage (``"read"``, ``"segment"``, ``"track"`` ...).
        done: units of work finished in this stage.
        total: units of work in this stage (0 when unknown).
        message: a human-readable line.
        data: optional extra values (losses, metrics, the final result).
    """

    stage: str
    done: int
    total: int
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        """Fraction of the stage done, in [0, 1] (0 when the total is unknown)."""
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0
