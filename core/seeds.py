"""Seed lists as written on command lines: ``"1000-1009"``, ``"1,5,7"`` or a mix.

Kept free of heavy imports: the generators under ``benchmarks/`` and the CLI use it.
"""

from __future__ import annotations


def parse_seeds(text: str) -> list[int]:
    """``"1000-1009"`` or ``"1,5,7"`` or a mix → list of ints.

    Raises:
        ValueError: an empty range (``"9-3"``), a part that is not a number, or no seed.
    """
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            if int(b) < int(a):
                raise ValueError(f"empty seed range {part!r}")
            seeds.extend(range(int(a), int(b) + 1))
        else:
            seeds.append(int(part))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}")
    return seeds
