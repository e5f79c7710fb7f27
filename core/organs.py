"""Default organ set of PelviTrack models.

Organ sets come from a model's config; this default is used by the phantom and
by a model config that does not name its organs.
"""

from __future__ import annotations

#: Organs of the default model, label i+1 for ORGANS[i]; 0 is background.
ORGANS: tuple[str, ...] = ("bladder", "uterus_vagina", "rectum")

#: Display colours (RGB) per organ name; unknown organs get a colour from PALETTE.
ORGAN_COLOURS: dict[str, tuple[int, int, int]] = {
    "bladder": (255, 214, 0),
    "uterus_vagina": (255, 64, 160),
    "rectum": (0, 200, 255),
}
PALETTE: tuple[tuple[int, int, int], ...] = (
    (120, 255, 80), (255, 140, 0), (160, 120, 255), (255, 255, 255),
)


def organ_colour(name: str, index: int = 0) -> tuple[int, int, int]:
    """RGB colour of an organ: fixed for known organs, from a palette otherwise."""
    return ORGAN_COLOURS.get(name, PALETTE[index % len(PALETTE)])
