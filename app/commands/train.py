"""``pelvitrack train --out MODEL_DIR``: train a segmentation U-Net.

Training data are phantom cases and, with ``--project``, the manually corrected
frames of project files; ``--init-model`` fine-tunes an existing model (the
shipped one with ``default``) instead of starting from random weights.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from core.segment.losses import LOSSES
from core.segment.train import TrainConfig, train


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a segmentation model on synthetic phantom cases")
    p.add_argument("--out", required=True, help="folder for checkpoints and the final model")
    p.add_argument("--loss", choices=LOSSES, default="dice_adaptive",
                   help="dice (L0), dice_fixed (L_OD) or dice_adaptive (L_p, default)")
    p.add_argument("--lam", type=float, default=1.0, help="weight (max) of the contour term")
    p.add_argument("--dice-first", type=float, default=None, metavar="D0",
                   help="dice_adaptive: fix the reference Dice loss (1.0 = an untrained "
                        "network's) instead of the first batch's; for --init-model runs")
    p.add_argument("--epochs", type=int, default=None, help="default 20 (3 with --fine-tune)")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="default 100 (50 with --fine-tune)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--cases", type=int, default=None,
                   help="phantom training cases (seeds 0..N-1); default 40 (4 with --fine-tune)")
    p.add_argument("--val-cases", type=int, default=3, help="validation cases (seeds 500..)")
    p.add_argument("--frames-per-case", type=int, default=12)
    p.add_argument("--base-channels", type=int, default=16)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--norm", choices=("batch", "instance", "group"), default="batch")
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="processes generating phantom cases")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps …")
    p.add_argument("--resume", action="store_true", help="continue from MODEL_DIR/last")
    p.add_argument("--init-model", default=None, metavar="MODEL",
                   help="start from this model ('default' = the shipped one; a wider "
                        "model is pruned to --base-channels, a shallower one deepened to "
                        "--depth) instead of random weights")
    p.add_argument("--project", action="append", default=[], metavar="FILE",
                   help="also train on the manually corrected frames of this project "
                        "file (repeatable)")
    p.add_argument("--fine-tune", action="store_true",
                   help="fine-tune --init-model (default: the shipped model) on the --project "
                        "files with the documented recipe (lr 1e-4, batch 12, 192² crops, "
                        "the architecture of the starting model), as the app does; "
                        "--epochs, --steps-per-epoch, --cases, --seed and --device apply")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """TrainConfig of parsed arguments (reads the ``--project`` files)."""
    from core.organs import ORGANS
    from core.segment.data import project_source

    if args.fine_tune:
        from core.segment.finetune import fine_tune_config

        if not args.project:
            raise ValueError("--fine-tune needs at least one --project with corrected frames")
        return fine_tune_config(
            args.project, args.init_model or "default",
            epochs=3 if args.epochs is None else args.epochs,
            steps_per_epoch=50 if args.steps_per_epoch is None else args.steps_per_epoch,
            phantom_cases=4 if args.cases is None else args.cases, seed=args.seed,
            device=args.device)
    sources = [project_source(path, ORGANS) for path in args.project]
    loss_kw = {"lam": args.lam}
    if args.dice_first is not None:
        loss_kw["dice_first"] = args.dice_first
    return TrainConfig(
        loss=args.loss, loss_kw=loss_kw, epochs=20 if args.epochs is None else args.epochs,
        steps_per_epoch=100 if args.steps_per_epoch is None else args.steps_per_epoch,
        batch_size=args.batch_size, lr=args.lr,
        cases=40 if args.cases is None else args.cases, val_cases=args.val_cases,
        frames_per_case=args.frames_per_case,
        base_channels=args.base_channels, depth=args.depth, norm=args.norm, crop=args.crop,
        seed=args.seed, workers=args.workers, device=args.device,
        init_model=args.init_model, sources=sources,
    )


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    bar = None
    result = None
    gen = train(cfg, args.out, resume=args.resume)
    try:
        for p in gen:
            if p.stage == "data":
                print(p.message, file=sys.stderr)
            elif p.stage == "train":
                if bar is None:
                    bar = tqdm(total=p.total, initial=p.done, unit="step", file=sys.stderr)
                bar.update(p.done - bar.n)
                bar.set_postfix(loss=f"{p.data['loss']:.3f}", dice=f"{p.data['dice']:.3f}",
                                lam=f"{p.data['lambda']:.2f}")
            elif p.stage == "validate":
                d = p.data
                msg = ", ".join(f"{k} {v:.3f}" for k, v in d.items() if k.startswith("dsc"))
                (bar.write if bar else print)(f"epoch {d['epoch']}: {msg}")
            elif p.stage == "done":
                result = p.data["result"]
    finally:
        gen.close()
        if bar is not None:
            bar.close()
    print(f"model written: {result}.safetensors / {result}.json")
    return 0
