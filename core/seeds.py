"""Seed lists as written on command lines (``"1000-1009"``, ``"1,5,7"`` or a mix), and
running one job per seed in order, in worker processes if asked.

Kept free of heavy imports: the generators under ``benchmarks/`` and the CLI use it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")


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


def map_jobs(fn: Callable[[J], R], jobs: Iterable[J], workers: int = 1) -> Iterator[R]:
    """``fn(job)`` for each job, yielded in the jobs' order as each finishes.

    With ``workers > 1`` and more than one job, the jobs run in a pool of at most
    ``workers`` processes (``fn`` must then be picklable: a module-level function or a
    ``functools.partial`` of one); otherwise they run here, one after the other.

    The pool's processes are spawned, not forked: a fork copies the caller's threads'
    locks in whatever state they are in (torch's and OpenMP's included), which can
    deadlock a child. So the calling script must guard its entry point with
    ``if __name__ == "__main__":`` and ``fn`` must not rely on globals set at run time.
    """
    jobs = list(jobs)
    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(workers, len(jobs))) as pool:
            yield from pool.imap(fn, jobs)
    else:
        yield from map(fn, jobs)
