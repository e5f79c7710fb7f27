"""Training of the segmentation U-Net as a generator of progress records.

``train(config, out_dir)`` builds (or resumes) a model, caches training frames
in memory (phantom cases and/or explicit sources), and yields
:class:`core.progress.Progress` records.  At the end of each epoch it writes a
checkpoint (``last.safetensors`` / ``last.json`` for the model, and
``last_state.safetensors`` / ``last_state.json`` for optimiser, loss and RNG
state — safetensors + JSON, never pickle) *before* yielding, so closing the
generator (cancel) always leaves the last good checkpoint.  The final model is
``model.safetensors`` / ``model.json``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.device import pick_device
from core.errors import ModelError
from core.organs import ORGANS
from core.progress import Progress
from core.segment.augment import AugmentConfig, augment_batch
from core.segment.data import FrameCache, Source, build_cache, check_overrides
from core.segment.hard_frames import hard_sampling, map_batches
from core.segment.losses import LOSSES, make_loss
from core.segment.model_io import load_model, read_tensors, save_model, write_json, write_tensors
from core.segment.unet import UNet, deepen_unet, prune_unet


@dataclass
class TrainConfig:
    """Everything that defines a training run (JSON-able except ``sources``).

    ``max_minutes`` stops training at the end of the first epoch past that wall
    time (``epochs_done`` in the model config says how far it got).

    ``init_model`` starts from the weights of a model file ("default" for the
    shipped model) instead of a random initialisation: fine-tuning, e.g. on
    corrected frames.  A wider model is first pruned to ``base_channels``
    (:func:`core.segment.unet.prune_unet`); depth, normalisation and organs must
    match.

    Phantom seeds: training uses ``case_seed0 .. case_seed0+cases-1``, or the
    explicit ``case_seeds`` when given (then ``cases`` is their number); validation
    ``val_seed0 ..``; evaluation should use seeds ≥ 1000, never trained on.
    ``sources_note`` records where explicit ``sources`` came from (they are not saved).
    ``stored_data`` names the data store entry (:mod:`core.segment.datastore`) the
    prepared frames were loaded from instead (``sources`` then stays empty).
    ``phantom_overrides`` (``generate_case`` keywords, or ranges drawn per case, see
    :func:`core.segment.data.resolve_overrides`) apply to ``override_share`` of the
    training and of the validation cases, spread evenly; the rest keep the defaults.

    ``hard_share`` (fine-tunes only): that share of each batch is drawn with a probability
    proportional to how badly the initial model segments the frame
    (:func:`core.segment.hard_frames.frame_difficulty`, capped at its 99th percentile);
    the rest of the batch is drawn uniformly, as always.  0 (the default) keeps plain
    uniform sampling.
    """

    loss: str = "dice_adaptive"
    loss_kw: dict[str, float] = field(default_factory=lambda: {"lam": 1.0})
    epochs: int = 20
    steps_per_epoch: int = 100
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    seed: int = 0
    cases: int = 40
    case_seed0: int = 0
    case_seeds: tuple[int, ...] | None = None
    val_cases: int = 3
    val_seed0: int = 500
    frames_per_case: int | None = 12
    phantom_overrides: dict[str, Any] = field(default_factory=dict)
    override_share: float = 1.0
    spacing_mm: float = 1.25
    canvas: int = 256
    crop: int = 224
    base_channels: int = 16
    depth: int = 4
    norm: str = "batch"
    organs: tuple[str, ...] = ORGANS
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    device: str = "auto"
    amp: bool = True
    workers: int = 0
    log_every: int = 10
    max_minutes: float | None = None
    init_model: str | None = None
    sources: Sequence[Source] = field(default_factory=list, repr=False)
    sources_note: str | None = None
    stored_data: str | None = None
    hard_share: float = 0.0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if isinstance(self.augment, dict):
            self.augment = AugmentConfig(**self.augment)
        m = 2**self.depth
        if self.crop % m or self.crop > self.canvas:
            raise ValueError(f"crop must be a multiple of {m} and <= canvas {self.canvas}, "
                             f"got {self.crop}")
        if self.epochs < 1 or self.steps_per_epoch < 1 or self.batch_size < 1:
            raise ValueError("epochs, steps_per_epoch and batch_size must be >= 1")
        self.organs = tuple(self.organs)
        if self.case_seeds is not None:
            self.case_seeds = tuple(int(s) for s in self.case_seeds)
            if len(set(self.case_seeds)) != len(self.case_seeds) or min(
                    self.case_seeds, default=0) < 0:
                raise ValueError("case_seeds must be distinct non-negative integers")
            self.cases = len(self.case_seeds)
        if not 0.0 <= self.override_share <= 1.0:
            raise ValueError(f"override_share must be in [0, 1], got {self.override_share}")
        if not 0.0 <= self.hard_share <= 1.0:
            raise ValueError(f"hard_share must be in [0, 1], got {self.hard_share}")
        if self.hard_share and not self.init_model:
            raise ValueError("hard_share needs init_model: the difficulty of a frame is "
                             "the initial model's error on it")
        check_overrides(self.phantom_overrides)
        self.build_loss()  # bad loss_kw fail here, before any folder or data is made

    def build_loss(self) -> torch.nn.Module:
        """The loss module of ``loss`` and ``loss_kw`` (``loss_kw`` unused by "dice")."""
        if "dice_first" in self.loss_kw and self.loss != "dice_adaptive":
            raise ValueError(f"dice_first needs loss dice_adaptive, not {self.loss}")
        return make_loss(self.loss, **(self.loss_kw if self.loss != "dice" else {}))

    def train_seeds(self) -> tuple[int, ...]:
        """The phantom seeds trained on."""
        if self.case_seeds is not None:
            return self.case_seeds
        return tuple(range(self.case_seed0, self.case_seed0 + self.cases))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (explicit sources are recorded by count only)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}
        d["augment"] = asdict(self.augment)
        d["loss_kw"] = dict(self.loss_kw)
        d["phantom_overrides"] = dict(self.phantom_overrides)
        d["n_sources"] = len(self.sources)
        d["organs"] = list(self.organs)
        if self.case_seeds is not None:
            d["case_seeds"] = seed_ranges(self.case_seeds)
        return d


def seed_ranges(seeds: Sequence[int]) -> list[list[int]]:
    """Sorted seeds as inclusive ``[first, last]`` runs: (1, 2, 3, 7) → [[1, 3], [7, 7]]."""
    runs: list[list[int]] = []
    for s in sorted(int(x) for x in seeds):
        if runs and s == runs[-1][1] + 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    return runs


def _lr_factor(step: int, cfg: TrainConfig) -> float:
    total = cfg.epochs * cfg.steps_per_epoch
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def _batch(cache: FrameCache, idx: torch.Tensor, crop: int, rng: np.random.Generator,
           device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s = cache.images.shape[-1]
    img, lab, sdf = [], [], []
    for i in idx.tolist():
        r, c = rng.integers(0, s - crop + 1, size=2)
        img.append(cache.images[i, :, r : r + crop, c : c + crop])
        lab.append(cache.labels[i, r : r + crop, c : c + crop])
        sdf.append(cache.sdf[i, :, r : r + crop, c : c + crop])
    return (torch.stack(img).to(device).float(), torch.stack(lab).to(device).long(),
            torch.stack(sdf).to(device).float())


def _dice_per_class(pred: torch.Tensor, true: torch.Tensor, n_classes: int) -> np.ndarray:
    out = []
    for c in range(1, n_classes):
        p, t = pred == c, true == c
        denom = int(p.sum() + t.sum())
        out.append(1.0 if denom == 0 else 2.0 * int((p & t).sum()) / denom)
    return np.array(out)


def validate(model: UNet, cache: FrameCache, organs: Sequence[str], spacing_mm: float,
             device: torch.device, amp: bool) -> dict[str, float]:
    """Per-organ mean DSC, HD95 and ASD (mm) on validation frames (no augmentation)."""
    from core.metrics import organ_metrics

    preds = map_batches(model, cache, device, lambda logits, _: logits.argmax(1).cpu(),
                        batch=16, amp=amp)
    pred = torch.cat(preds).numpy().astype(np.uint8)
    df = organ_metrics(pred, cache.labels.numpy(), tuple(organs), (spacing_mm, spacing_mm))
    metrics: dict[str, float] = {}
    for organ, g in df.groupby("organ"):
        metrics[f"dsc_{organ}"] = float(g["dsc"].mean())
        metrics[f"hd95_{organ}"] = float(g["hd95_mm"].replace(np.inf, np.nan).mean())
        metrics[f"asd_{organ}"] = float(g["asd_mm"].replace(np.inf, np.nan).mean())
    metrics["dsc_mean"] = float(np.mean([metrics[f"dsc_{o}"] for o in organs]))
    return metrics


def _save_state(out: Path, opt: torch.optim.Optimizer, loss_fn: torch.nn.Module,
                gen: torch.Generator, rng: np.random.Generator, meta: dict[str, Any]) -> None:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {"gen_state": gen.get_state()}
    for k, v in loss_fn.state_dict().items():
        tensors[f"loss.{k}"] = v
    scalars: dict[str, Any] = {}
    for pid, st in sd["state"].items():
        for name, val in st.items():
            if torch.is_tensor(val):
                tensors[f"opt.{pid}.{name}"] = val
            else:
                scalars[f"{pid}.{name}"] = val
    write_tensors(out / "last_state.safetensors", tensors)
    write_json(out / "last_state.json", {**meta, "param_groups": sd["param_groups"],
                                         "opt_scalars": scalars,
                                         "np_rng": rng.bit_generator.state})


def _load_state(out: Path, opt: torch.optim.Optimizer, loss_fn: torch.nn.Module,
                gen: torch.Generator, rng: np.random.Generator) -> dict[str, Any]:
    path = out / "last_state.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot resume ({exc})") from exc
    tensors = read_tensors(out / "last_state.safetensors")
    state: dict[int, dict[str, Any]] = {}
    for key, val in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = val
    for key, val in meta["opt_scalars"].items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = val
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    loss_fn.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("loss.")})
    gen.set_state(tensors["gen_state"])
    rng.bit_generator.state = meta["np_rng"]
    return meta


def _initial_weights(cfg: TrainConfig) -> tuple[UNet, str]:
    """The model named by ``cfg.init_model`` (pruned to ``cfg.base_channels`` if wider;
    a batch-norm model of lower depth deepened level by level, :func:`deepen_unet`), its id."""
    net, mcfg = load_model(cfg.init_model)
    name = cfg.init_model
    if tuple(mcfg.get("organs", ())) != tuple(cfg.organs):
        raise ModelError(f"{name}: its organs {mcfg.get('organs')} differ from the "
                         f"training organs {list(cfg.organs)}")
    while net.config["depth"] < cfg.depth and net.config["norm"] == cfg.norm == "batch":
        net = deepen_unet(net)
    arch = net.config
    if arch["depth"] != cfg.depth or arch["norm"] != cfg.norm:
        raise ModelError(f"{name}: depth {arch['depth']} / norm {arch['norm']!r} differ from "
                         f"the training config ({cfg.depth} / {cfg.norm!r})")
    model_id = str(mcfg.get("model_id", "unsaved"))
    if arch["base_channels"] == cfg.base_channels:
        return net, model_id
    if arch["base_channels"] < cfg.base_channels or cfg.norm != "batch":
        raise ModelError(f"{name}: width {arch['base_channels']} cannot start a width "
                         f"{cfg.base_channels} model (only narrower batch-norm models)")
    return prune_unet(net, cfg.base_channels), model_id


def build_caches(cfg: TrainConfig) -> tuple[FrameCache, FrameCache]:
    """The (training, validation) frame caches a run of ``cfg`` prepares: its sources and
    phantom seeds; its validation seeds (or its first source when it has none)."""
    common = dict(n_classes=len(cfg.organs) + 1, spacing_mm=cfg.spacing_mm,
                  canvas=cfg.canvas, frames_per_case=cfg.frames_per_case,
                  workers=cfg.workers, phantom_overrides=cfg.phantom_overrides,
                  override_share=cfg.override_share)
    train_cache = build_cache(cfg.sources, cfg.train_seeds(), **common)
    val_seeds = range(cfg.val_seed0, cfg.val_seed0 + cfg.val_cases)
    val_cache = (build_cache((), val_seeds, **common) if cfg.val_cases
                 else build_cache(cfg.sources[:1], (), **common))
    return train_cache, val_cache


def train(config: TrainConfig, out_dir: str | Path, resume: bool = False,
          data: tuple[FrameCache, FrameCache] | None = None) -> Iterator[Progress]:
    """Train a U-Net; yields progress, writes checkpoints and the final model in ``out_dir``.

    Args:
        config: the run's settings.
        out_dir: folder for checkpoints and the final model (``model.*``).
        resume: continue from ``out_dir/last_*`` if present.
        data: prebuilt (training, validation) frame caches (e.g. shared by the runs of
            a study); default: built from ``config``.

    Yields:
        ``Progress("data", ...)`` while caching, ``Progress("train", step, total,
        data={"loss", "dice", "lambda", "lr", "epoch"})`` every ``log_every`` steps,
        ``Progress("validate", epoch, epochs, data={metrics})`` after each epoch
        (checkpoint already written) and finally ``Progress("done", ...)`` with
        ``data["result"]`` the path stem of the final model.
    """
    cfg = config
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed)
    n_classes = len(cfg.organs) + 1
    model = UNet(1, n_classes, cfg.base_channels, cfg.depth, cfg.norm)
    loss_fn = cfg.build_loss()
    start_epoch = 0
    init_id = None
    resuming = resume and (out / "last_state.json").is_file()
    if resuming:
        loaded, last_cfg = load_model(out / "last")
        model.load_state_dict(loaded.state_dict())
        init_id = (last_cfg.get("training") or {}).get("init_model_id")
    elif cfg.init_model:
        init_net, init_id = _initial_weights(cfg)
        model.load_state_dict(init_net.state_dict())
    model.to(device)
    loss_fn.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if resuming:
        start_epoch = int(_load_state(out, opt, loss_fn, gen, rng)["epoch"])
    total = cfg.epochs * cfg.steps_per_epoch

    yield Progress("data", 0, 1, "preparing training frames")
    t0 = time.perf_counter()
    train_cache, val_cache = data if data is not None else build_caches(cfg)
    if device.type == "cuda":
        train_cache = train_cache.to(device)
    yield Progress("data", 1, 1, f"{len(train_cache)} training frames "
                   f"({time.perf_counter() - t0:.1f} s)", {"frames": len(train_cache)})
    hard_p = None
    n_hard = int(round(cfg.batch_size * cfg.hard_share))
    if cfg.hard_share:
        hard_p = yield from hard_sampling(model, train_cache, device, out, resuming)

    amp = cfg.amp and device.type == "cuda"
    metrics: dict[str, float] = {}
    model.train()
    t_start = time.perf_counter()
    epochs_done = start_epoch
    for epoch in range(start_epoch, cfg.epochs):
        for i in range(cfg.steps_per_epoch):
            step = epoch * cfg.steps_per_epoch + i
            for group in opt.param_groups:
                group["lr"] = cfg.lr * _lr_factor(step, cfg)
            if hard_p is None:
                idx = torch.from_numpy(rng.integers(0, len(train_cache), cfg.batch_size))
            else:
                idx = torch.from_numpy(np.concatenate([
                    rng.integers(0, len(train_cache), cfg.batch_size - n_hard),
                    rng.choice(len(train_cache), n_hard, p=hard_p)]))
            x, y, sdf = _batch(train_cache, idx, cfg.crop, rng, device)
            x, y, sdf = augment_batch(x, y, sdf, cfg.augment, gen)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(x)
            loss, parts = loss_fn(logits.float(), y, sdf)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            if (step + 1) % cfg.log_every == 0 or i == cfg.steps_per_epoch - 1:
                yield Progress("train", step + 1, total, f"epoch {epoch + 1}/{cfg.epochs}",
                               {"loss": float(loss.detach()), **parts,
                                "lr": opt.param_groups[0]["lr"], "epoch": epoch + 1})
        metrics = validate(model, val_cache, cfg.organs, cfg.spacing_mm, device, cfg.amp)
        model_cfg = _model_config(cfg, epoch + 1, metrics, init_id)
        save_model(model, model_cfg, out / "last")
        _save_state(out, opt, loss_fn, gen, rng, {"epoch": epoch + 1, "step": step + 1})
        epochs_done = epoch + 1
        yield Progress("validate", epoch + 1, cfg.epochs, f"epoch {epoch + 1} validated",
                       {"epoch": epoch + 1, **metrics})
        if cfg.max_minutes and time.perf_counter() - t_start > 60 * cfg.max_minutes:
            break
    model_cfg = _model_config(cfg, epochs_done, metrics, init_id)
    save_model(model.cpu().eval(), model_cfg, out / "model")
    yield Progress("done", cfg.epochs, cfg.epochs, "training done", {"result": out / "model"})


def _seed_record(seeds: Sequence[int]) -> list[int] | list[list[int]]:
    """``[first, last]`` for one run of seeds (the format of older models), else the runs."""
    runs = seed_ranges(seeds)
    return runs[0] if len(runs) == 1 else runs


def _model_config(cfg: TrainConfig, epoch: int, metrics: dict[str, float],
                  init_id: str | None = None) -> dict[str, Any]:
    return {
        "organs": list(cfg.organs),
        "spacing_mm": cfg.spacing_mm,
        "normalization": {"kind": "percentile", "percentiles": [1.0, 99.0]},
        "loss": cfg.loss,
        "training": {**cfg.to_dict(), "epochs_done": epoch, "init_model_id": init_id,
                     "train_phantom_seeds": _seed_record(cfg.train_seeds()),
                     "val_phantom_seeds": [cfg.val_seed0, cfg.val_seed0 + cfg.val_cases - 1]},
        "metrics": {"validation": metrics},
    }

