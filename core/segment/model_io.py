"""Model files: safetensors weights + a JSON config, never pickle.

A model ``M`` is two files, ``M.safetensors`` (the U-Net weights) and
``M.json`` (architecture, organs, training spacing, normalisation, loss,
training data and seed, metrics and ``model_id``: the first 12 hex digits of
the SHA-256 of the weights file).  Anything missing, damaged or inconsistent
raises :class:`core.errors.ModelError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.atomic import replaced_atomically
from core.errors import ModelError
from core.organs import ORGANS
from core.segment.preprocess import DEFAULT_PERCENTILES
from core.segment.unet import UNet

#: Training spacing (mm per pixel) used when a config does not say.
DEFAULT_SPACING_MM = 1.25
CONFIG_VERSION = 1


def default_model_path() -> Path:
    """Stem of the shipped default model, ``models/default`` in the resources folder.

    Falls back to the repository's ``resources/models/default`` (which then does not
    exist) so that the error names a path.
    """
    from core.resources import resources_dir

    try:
        return resources_dir() / "models" / "default"
    except FileNotFoundError:
        return Path(__file__).resolve().parents[2] / "resources" / "models" / "default"


def resolve_model(path: str | os.PathLike | None) -> str | os.PathLike:
    """The shipped model's stem for None, or for "default" when the working folder has
    no ``default.json`` of its own; any other path unchanged."""
    if path is None or (str(path) == "default" and not Path("default.json").exists()):
        return default_model_path()
    return path


def model_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(weights, config) paths of a model given its stem, ``.json`` or ``.safetensors`` path."""
    p = Path(path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def file_hash(path: Path) -> str:
    """First 12 hex digits of the SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (temp file + rename)."""
    with replaced_atomically(Path(path)) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")


def write_tensors(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
) -> None:
    """Write tensors to a safetensors file atomically."""
    t = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with replaced_atomically(Path(path)) as tmp:
        save_file(t, str(tmp), metadata=metadata)


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file; ModelError naming the file if missing or damaged."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model weights file not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: damaged safetensors file ({exc})") from exc


def save_model(model: UNet, config: dict[str, Any], path_stem: str | os.PathLike
               ) -> tuple[Path, Path]:
    """Save a U-Net and its config.

    Args:
        model: the network (its ``config`` gives the architecture).
        config: extra config (organs, spacing_mm, loss, training, metrics …);
            ``architecture``, ``model_id`` and ``format`` are filled in here.
        path_stem: path without suffix; writes ``stem.safetensors`` and ``stem.json``.

    Returns:
        (weights_path, config_path).
    """
    weights, cfg_path = model_paths(path_stem)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    write_tensors(weights, state, metadata={"format": "pelvitrack-unet"})
    cfg = dict(config)
    cfg.setdefault("organs", list(ORGANS))
    cfg.setdefault("spacing_mm", DEFAULT_SPACING_MM)
    cfg.setdefault(
        "normalization", {"kind": "percentile", "percentiles": list(DEFAULT_PERCENTILES)}
    )
    cfg["architecture"] = {"name": "UNet", **model.config}
    cfg["format"] = {"name": "pelvitrack-model", "version": CONFIG_VERSION}
    cfg["model_id"] = file_hash(weights)
    write_json(cfg_path, cfg)
    return weights, cfg_path


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a model's JSON config; ModelError naming the file on problems."""
    _, cfg_path = model_paths(path)
    if not cfg_path.is_file():
        raise ModelError(f"{cfg_path}: model config file not found")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{cfg_path}: damaged model config ({exc})") from exc
    if not isinstance(cfg, dict):
        raise ModelError(
            f"{cfg_path}: model config must be a JSON object, got {type(cfg).__name__}"
        )
    arch = cfg.get("architecture")
    if not isinstance(arch, dict) or arch.get("name") != "UNet":
        raise ModelError(f"{cfg_path}: missing or unknown architecture {arch!r}")
    organs = cfg.get("organs")
    if not isinstance(organs, list) or not organs or not all(isinstance(o, str) for o in organs):
        raise ModelError(f"{cfg_path}: 'organs' must be a non-empty list of names, got {organs!r}")
    if int(arch.get("n_classes", -1)) != len(organs) + 1:
        raise ModelError(
            f"{cfg_path}: architecture has {arch.get('n_classes')} classes but "
            f"{len(organs)} organs + background"
        )
    sp = cfg.get("spacing_mm", DEFAULT_SPACING_MM)
    if not isinstance(sp, (int, float)) or not sp > 0:
        raise ModelError(f"{cfg_path}: spacing_mm must be a positive number, got {sp!r}")
    return cfg


def load_model(path: str | os.PathLike | None = None, check_id: bool = True
               ) -> tuple[UNet, dict[str, Any]]:
    """Load a model saved by :func:`save_model`.

    Args:
        path: stem, ``.json`` or ``.safetensors`` path; None (or the name "default"
            when no ``default.json`` is in the working folder) for the shipped model.
        check_id: require the weights' hash to match the config's ``model_id``.

    Returns:
        (model in eval mode on the CPU, config dict).

    Raises:
        ModelError: a file is missing, damaged, or weights and config do not match.
    """
    weights, cfg_path = model_paths(resolve_model(path))
    cfg = read_config(cfg_path)
    state = read_tensors(weights)
    if check_id and cfg.get("model_id") and file_hash(weights) != cfg["model_id"]:
        raise ModelError(
            f"{weights}: weights do not match {cfg_path.name} (model_id {cfg['model_id']})"
        )
    arch = {k: v for k, v in cfg["architecture"].items() if k != "name"}
    try:
        model = UNet(**arch)
        missing, unexpected = model.load_state_dict(state, strict=False)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(
            f"{weights}: weights do not fit the architecture in {cfg_path.name} ({exc})"
        ) from exc
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ModelError(
            f"{weights}: weights do not fit the architecture in {cfg_path.name} "
            f"(missing {missing[:3]}, unexpected {list(unexpected)[:3]})"
        )
    model.eval()
    return model, cfg


def average_models(paths: list[str | os.PathLike], weights: list[float] | None = None,
                   out_stem: str | os.PathLike | None = None
                   ) -> tuple[UNet, dict[str, Any]]:
    """Weighted element-wise average of models of one architecture (a "model soup").

    Meant for models fine-tuned from the same parent (weight-space ensembling,
    WiSE-FT); BatchNorm running statistics are averaged like the weights.  The
    config is the first model's, with ``training.averaged_from`` listing each
    parent's ``model_id``, weight and own ``training`` block (so the recipe of every
    parent, not only the first's, stays on record).

    Args:
        paths: two or more model paths (as :func:`load_model`).
        weights: one non-negative weight per model (normalised to sum 1); None = equal.
        out_stem: when given, the average is saved there (:func:`save_model`).

    Raises:
        ModelError: a file cannot be read, or the models differ in architecture,
            organs or spacing.
        ValueError: wrong number of weights, or negative / all-zero weights.
    """
    if len(paths) < 2:
        raise ValueError("average_models needs at least two models")
    w = [1.0] * len(paths) if weights is None else [float(x) for x in weights]
    if len(w) != len(paths) or min(w) < 0 or sum(w) <= 0:
        raise ValueError("give one non-negative weight per model, not all zero")
    w = [x / sum(w) for x in w]
    loaded = [load_model(p) for p in paths]
    model, cfg = loaded[0]
    for p, (_, c) in zip(paths[1:], loaded[1:], strict=True):
        for key in ("architecture", "organs", "spacing_mm"):
            if c.get(key) != cfg.get(key):
                raise ModelError(f"{p}: its {key} differs from {paths[0]}'s; "
                                 "only models of one architecture can be averaged")
    states = [m.state_dict() for m, _ in loaded]
    mixed = {k: (sum(wi * s[k].double() for wi, s in zip(w, states, strict=True)).to(v.dtype)
                 if v.is_floating_point() else v) for k, v in states[0].items()}
    model.load_state_dict(mixed)
    config = {k: v for k, v in cfg.items() if k not in ("model_id", "architecture", "format")}
    training = dict(config.get("training") or {})
    training["averaged_from"] = [
        {"model_id": c.get("model_id"), "weight": round(wi, 6),
         **({"training": c["training"]} if c.get("training") else {})}
        for (_, c), wi in zip(loaded, w, strict=True)]
    config["training"] = training
    config.pop("metrics", None)  # the parents' metrics do not describe the average
    if out_stem is not None:
        save_model(model, config, out_stem)
        config = read_config(out_stem)
    return model, config
