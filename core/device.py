"""Choosing the torch device for segmentation, training and tracking."""

from __future__ import annotations

import torch


def pick_device(device: str | torch.device | None = "auto",
                error: type[Exception] = ValueError) -> torch.device:
    """Resolve a device name.

    Args:
        device: ``"auto"`` (or None / "") → CUDA, then MPS, then CPU; a
            :class:`torch.device` or any other name (``"cpu"``, ``"cuda:1"`` …) is
            checked and returned.
        error: exception class raised for an unknown name or missing CUDA.

    Raises:
        error: the name is not a torch device, or CUDA is asked for but absent.
    """
    if isinstance(device, torch.device):
        return device
    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise error(f"unknown device {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise error(f"device {device!r} requested but CUDA is not available")
    return dev
