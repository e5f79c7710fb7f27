"""Fine-tuning a model on the frames users corrected by hand (the app's loop).

:func:`fine_tune_config` makes the :class:`~core.segment.train.TrainConfig` that the
app (Analysis ▸ Fine-tune…) and ``pelvitrack train --fine-tune`` run with
:func:`~core.segment.train.train`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.segment.data import project_source
from core.segment.model_io import read_config, resolve_model
from core.segment.train import TrainConfig

#: The fine-tuning recipe of docs/segmentation.md (lr 1e-4, batch 12, 192² crops, 20
#: warm-up steps, the adaptive loss's reference Dice fixed at 1), for corrected frames.
FINE_TUNE_RECIPE: dict[str, Any] = {
    "lr": 1e-4, "batch_size": 12, "crop": 192, "warmup_steps": 20,
    "loss": "dice_adaptive", "loss_kw": {"lam": 1.0, "dice_first": 1.0},
}


def fine_tune_config(projects: Sequence[str | Path], init_model: str | Path = "default", *,
                     epochs: int = 3, steps_per_epoch: int = 50, phantom_cases: int = 4,
                     seed: int = 0, device: str = "auto") -> TrainConfig:
    """A run that fine-tunes a model on the corrected frames of project files.

    The architecture and organs are the starting model's; the phantom cases (seeds
    0..) are mixed in so that the model keeps what it knew.  Validation: one phantom
    case, or the first project's corrected frames when no phantom case is mixed in.

    Args:
        projects: ``.pvt`` files with frames corrected by hand.
        init_model: the model to start from ("default" = the shipped one).
        epochs, steps_per_epoch: the training budget.
        phantom_cases: phantom cases mixed in (0: the corrected frames alone).
        seed, device: as in :class:`TrainConfig`.

    Raises:
        ValueError: no project, a project without corrected frames or with other organs.
        ModelError: the starting model cannot be read.
        ProjectError: a project cannot be read.
    """
    if not projects:
        raise ValueError("fine-tuning needs at least one project with corrected frames")
    mcfg = read_config(resolve_model(str(init_model)))
    arch = mcfg["architecture"]
    organs = tuple(mcfg["organs"])
    sources = [project_source(p, organs) for p in projects]
    return TrainConfig(
        **FINE_TUNE_RECIPE, epochs=int(epochs), steps_per_epoch=int(steps_per_epoch),
        cases=int(phantom_cases), val_cases=min(1, int(phantom_cases)), seed=int(seed),
        base_channels=int(arch["base_channels"]), depth=int(arch["depth"]),
        norm=str(arch["norm"]), organs=organs, device=device, init_model=str(init_model),
        sources=sources,
        sources_note=f"corrected frames of {len(sources)} project(s): "
                     + ", ".join(Path(p).name for p in projects),
    )
