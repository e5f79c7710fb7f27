"""Tissue classes of the phantom and their randomized MR contrast.

The anatomy is painted as a map of tissue classes; a contrast draws one signal
level per class (relative units, at most 1) for a T2-weighted single-shot
(HASTE/SSFSE, fluid ≈ 1) or a balanced SSFP (TrueFISP/FIESTA, fluid ≈ 1) acquisition,
or, as an opt-in that the phantom never draws itself, a T1-weighted gradient echo (fat
≈ 1, urine and other fluid dark; with ``fat_suppressed`` the water image of a Dixon
series).
"""

from __future__ import annotations

import numpy as np

AIR, FAT, MUSCLE, SKIN, URINE, BLADDER_WALL = 0, 1, 2, 3, 4, 5
MYOMETRIUM, ENDOMETRIUM, STROMA, VAG_WALL, VAG_LUMEN = 6, 7, 8, 9, 10
RECT_WALL, BOWEL_WALL, FLUID, MIXED, GAS = 11, 12, 13, 14, 15
CORTEX, MARROW, DISC, CSF, FIBROUS, VESSEL, STOOL = 16, 17, 18, 19, 20, 21, 22
N_TISSUES = 23

NAMES = (
    "air", "fat", "muscle", "skin", "urine", "bladder_wall", "myometrium", "endometrium",
    "stroma", "vagina_wall", "vagina_lumen", "rectal_wall", "bowel_wall", "fluid", "mixed",
    "gas", "cortex", "marrow", "disc", "csf", "fibrous", "vessel", "stool",
)

#: (low, high) signal per tissue for each contrast family, fluid ≈ 1.
_RANGES: dict[str, dict[int, tuple[float, float]]] = {
    "t2": {
        AIR: (0.0, 0.0), FAT: (0.35, 0.7), MUSCLE: (0.07, 0.2), SKIN: (0.25, 0.5),
        URINE: (0.85, 1.0), BLADDER_WALL: (0.08, 0.25), MYOMETRIUM: (0.22, 0.45),
        ENDOMETRIUM: (0.55, 0.9), STROMA: (0.08, 0.22), VAG_WALL: (0.15, 0.4),
        VAG_LUMEN: (0.1, 0.9), RECT_WALL: (0.12, 0.35), BOWEL_WALL: (0.12, 0.3),
        FLUID: (0.65, 1.0), MIXED: (0.25, 0.6), GAS: (0.0, 0.05), CORTEX: (0.0, 0.05),
        MARROW: (0.3, 0.6), DISC: (0.35, 0.85), CSF: (0.8, 1.0), FIBROUS: (0.08, 0.25),
        VESSEL: (0.03, 0.35), STOOL: (0.15, 0.45),
    },
    "bssfp": {
        AIR: (0.0, 0.0), FAT: (0.6, 0.95), MUSCLE: (0.12, 0.3), SKIN: (0.3, 0.55),
        URINE: (0.8, 1.0), BLADDER_WALL: (0.12, 0.3), MYOMETRIUM: (0.3, 0.5),
        ENDOMETRIUM: (0.45, 0.8), STROMA: (0.15, 0.3), VAG_WALL: (0.2, 0.45),
        VAG_LUMEN: (0.15, 0.9), RECT_WALL: (0.18, 0.4), BOWEL_WALL: (0.18, 0.35),
        FLUID: (0.7, 1.0), MIXED: (0.3, 0.65), GAS: (0.0, 0.05), CORTEX: (0.0, 0.06),
        MARROW: (0.4, 0.8), DISC: (0.35, 0.8), CSF: (0.8, 1.0), FIBROUS: (0.12, 0.3),
        VESSEL: (0.7, 1.0), STOOL: (0.2, 0.5),
    },
    # T1-weighted spoiled gradient echo: fat and fatty marrow bright, soft tissue
    # intermediate and close together, urine, CSF and free fluid dark; vessels anywhere
    # from dark to bright inflow.
    "t1": {
        AIR: (0.0, 0.0), FAT: (0.75, 1.0), MUSCLE: (0.25, 0.45), SKIN: (0.45, 0.7),
        URINE: (0.03, 0.15), BLADDER_WALL: (0.25, 0.45), MYOMETRIUM: (0.3, 0.5),
        ENDOMETRIUM: (0.25, 0.45), STROMA: (0.25, 0.45), VAG_WALL: (0.3, 0.5),
        VAG_LUMEN: (0.1, 0.5), RECT_WALL: (0.3, 0.5), BOWEL_WALL: (0.3, 0.5),
        FLUID: (0.03, 0.2), MIXED: (0.2, 0.6), GAS: (0.0, 0.05), CORTEX: (0.0, 0.05),
        MARROW: (0.55, 0.9), DISC: (0.25, 0.45), CSF: (0.03, 0.15), FIBROUS: (0.1, 0.3),
        VESSEL: (0.2, 1.0), STOOL: (0.2, 0.6),
    },
}

#: Relative amplitude of the tissue texture (smooth multiplicative noise).
TEXTURE = np.full(N_TISSUES, 0.05)
TEXTURE[[FAT, MUSCLE]] = 0.12
TEXTURE[[MIXED, STOOL]] = 0.45
TEXTURE[[MYOMETRIUM, MARROW]] = 0.1
TEXTURE[[AIR, GAS, CORTEX]] = 0.0

CONTRASTS = tuple(_RANGES)


def draw_contrast(contrast: str, rng: np.random.Generator, fat_suppressed: bool = False,
                  gamma: float = 1.0) -> np.ndarray:
    """Draw one signal level per tissue class for a contrast family.

    Args:
        contrast: ``"t2"`` (HASTE/SSFSE-like), ``"bssfp"`` (TrueFISP/FIESTA-like) or
            ``"t1"`` (spoiled gradient echo, dark urine).
        rng: random generator.
        fat_suppressed: fat (and fatty marrow) dark, as with a fat-saturation pulse.
        gamma: power applied to all levels (global contrast variation).

    Returns:
        (N_TISSUES,) float64 signal levels, fluid ≈ 1.
    """
    if contrast not in _RANGES:
        raise ValueError(f"contrast must be one of {CONTRASTS}, got {contrast!r}")
    table = np.zeros(N_TISSUES)
    for tissue, (lo, hi) in _RANGES[contrast].items():
        table[tissue] = rng.uniform(lo, hi)
    dark_fluid = contrast == "t1"
    # Keep the contrasts that every pelvic image of the family shows.
    if not dark_fluid:
        table[URINE] = max(table[URINE], table[FAT] + 0.08)
    table[MUSCLE] = min(table[MUSCLE], table[FAT] - 0.2)
    if rng.random() < 0.25:  # wider domain: perturb every soft-tissue level
        soft = [t for t in range(N_TISSUES) if t not in (AIR, GAS, CORTEX, URINE, CSF)]
        table[soft] = np.clip(table[soft] * rng.uniform(0.6, 1.5, len(soft)), 0.02, 1.0)
        if dark_fluid:
            table[URINE] = min(table[URINE], float(np.percentile(table[soft], 20)))
        else:
            table[URINE] = max(table[URINE], float(np.percentile(table[soft], 80)))
    if rng.random() < 0.2:  # no visible zonal anatomy of the uterus
        table[STROMA] = table[MYOMETRIUM] * rng.uniform(0.8, 1.0)
        table[ENDOMETRIUM] = table[MYOMETRIUM] * rng.uniform(1.0, 1.3)
    if rng.random() < 0.15:  # organ walls barely darker than their surroundings
        for wall in (BLADDER_WALL, RECT_WALL, VAG_WALL):
            table[wall] = max(table[wall], table[MYOMETRIUM] * rng.uniform(0.7, 1.1))
    if fat_suppressed:
        table[FAT] = rng.uniform(0.06, 0.2)
        table[MARROW] = rng.uniform(0.05, 0.2)
        table[SKIN] = rng.uniform(0.1, 0.3)
        muscle = rng.uniform(0.1, 0.25)  # drawn in any case: one random stream per seed
        if not dark_fluid:  # a T1 water image keeps its soft tissue above the fluid
            table[MUSCLE] = muscle
    return table ** gamma


def iso_urine(table: np.ndarray, rng: np.random.Generator) -> None:
    """Urine as grey as the uterus (in place on a drawn ``table``): 0.7–1.3 times the
    myometrium's level, whatever the contrast.

    Concentrated urine on a proton-density or T1 image, or urine mixed with excreted
    contrast agent, is neither the brightest nor the darkest tissue, and an organ with
    the uterus's brightness lies in front of it.

    Args:
        table: signal levels from :func:`draw_contrast`.
        rng: its own random generator (the case's other draws stay unchanged).
    """
    table[URINE] = float(np.clip(table[MYOMETRIUM] * rng.uniform(0.7, 1.3), 0.02, 1.0))
