"""Train the shipped default model (resources/models/default.*), reproducibly.

    python benchmarks/train_default.py --out runs/default --device cuda --workers 14 \
        [--loss dice_adaptive] [--install resources/models]

The settings below are the documented recipe (see resources/models/MODEL_CARD.md):
phantom training seeds 0..cases-1, validation seeds 500..502, evaluation seeds
1000.. never trained on.  With ``--install DIR`` the final model is copied to
``DIR/default.safetensors`` / ``DIR/default.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from core.errors import ReaderError
from core.organs import ORGANS
from core.seeds import parse_seeds
from core.segment.data import labelled_case_folders, labelled_folder_source
from core.segment.datastore import data_key, data_settings, entry_exists, load_entry, save_entry
from core.segment.train import TrainConfig, build_caches, train

RECIPE = dict(
    loss="dice_adaptive", loss_kw={"lam": 1.0}, epochs=55, steps_per_epoch=100, batch_size=32,
    lr=2e-3, cases=300, val_cases=3, frames_per_case=10, crop=224, canvas=256,
    base_channels=16, depth=4, norm="batch", seed=0,
)

#: Phantom options drawn per shared training case: (flag, phantom parameter, value, help).
#: ``--FLAG P`` draws ``parameter=value`` with probability P in the shared cases.
PHANTOM_OPTIONS = (
    ("t1-prob", "contrast", "t1",
     "chance that a shared case is drawn with the T1 gradient-echo contrast (dark urine), "
     "which the phantom never draws itself"),
    ("fat-suppressed-prob", "fat_suppressed", True,
     "chance that a shared case is drawn fat-suppressed (on top of the phantom's own 10 %%)"),
    ("hysterectomy-prob", "hysterectomy", True,
     "chance that a shared case is drawn without uterus and cervix (the vagina alone, to "
     "its vault), which the phantom never draws itself"),
    ("empty-bladder-prob", "empty_bladder", True,
     "chance that a shared case is drawn with a nearly empty, flat bladder (thinner than "
     "any the phantom draws itself)"),
    ("fibroid-prob", "fibroid_uterus", True,
     "chance that a shared case is drawn with an enlarged uterus and fibroids bulging from "
     "its outline, which the phantom never draws itself"),
    ("funnel-prob", "neck_funnel", True,
     "chance that a shared case is drawn with its bladder lifted off its neck through a "
     "funnel, which the phantom never draws itself"),
    ("sigmoid-prob", "sigmoid_colon", True,
     "chance that a shared case is drawn with its rectum labelled to S3 and the sigmoid "
     "continuing above it unlabelled, which the phantom never draws itself"),
    ("large-uterus-prob", "large_uterus", True,
     "chance that a shared case is drawn with a large uterine body reaching over the "
     "bladder, which the phantom never draws itself"),
    ("absent-bladder-prob", "absent_bladder", True,
     "chance that a shared case is drawn with no bladder to see (a labelled speck above "
     "its neck, painted as fat), which the phantom never draws itself"),
    ("iso-urine-prob", "iso_urine", True,
     "chance that a shared case is drawn with urine as grey as the uterus, which the "
     "phantom never draws itself"),
)


def build_config(argv: list[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    """The training configuration of the command line ``argv`` (argparse exits on misuse)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--loss", default=RECIPE["loss"])
    ap.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    ap.add_argument("--cases", type=int, default=RECIPE["cases"])
    ap.add_argument("--case-seed0", type=int, default=0,
                    help="first phantom training seed (validation seeds 500-502, "
                         "evaluation seeds >= 1000 must stay outside)")
    ap.add_argument("--seeds", default=None,
                    help="explicit training seeds, e.g. 503-599,900-999 (instead of "
                         "--case-seed0/--cases)")
    ap.add_argument("--init-model", default=None,
                    help="fine-tune: start from this model (\"default\" = the shipped one)")
    ap.add_argument("--anatomy-variation", type=float, default=0.0,
                    help="widen the phantom anatomy (core.phantom.layout.vary_layout); "
                         "0 = the default anatomy")
    ap.add_argument("--gamma-range", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="draw the phantom's intensity gamma log-uniformly in [LO, HI] per "
                         "case (the phantom's own draw is 0.8-1.25)")
    for flag, _key, _value, text in PHANTOM_OPTIONS:
        ap.add_argument(f"--{flag}", type=float, default=0.0, help=text)
    ap.add_argument("--variation-share", type=float, default=1.0,
                    help="the share of training cases drawn with --anatomy-variation, "
                         "--gamma-range and the --*-prob options above (spread evenly); the "
                         "others keep the defaults")
    ap.add_argument("--labelled", action="append", default=[], metavar="DIR",
                    help="also train on the labelled cases in DIR (one sub-folder per case "
                         "with series.* or series/, and truth.npy, e.g. from "
                         "benchmarks/alt_generator.py)")
    ap.add_argument("--labelled-frames", type=int, default=10,
                    help="evenly spaced frames kept per labelled case")
    ap.add_argument("--band-prob", type=float, default=0.0,
                    help="share of training samples given bSSFP-like dark bands "
                         "(core.segment.augment.band_gain); 0 = none, as the recipe was")
    ap.add_argument("--lut-prob", type=float, default=0.0,
                    help="share of training samples whose intensity curve is a random "
                         "non-monotone one (reorders the tissues); 0 = none, as the recipe was")
    ap.add_argument("--decoy-prob", type=float, default=0.0,
                    help="share of training samples given organ-bright decoys in the "
                         "background (core.segment.distractors.paste_decoys); 0 = none, as the "
                         "recipe was")
    ap.add_argument("--copy-prob", type=float, default=0.0,
                    help="share of training samples given a moved, turned copy of one of "
                         "their own organs in the background "
                         "(core.segment.distractors.paste_organ_copies); 0 = none, as the "
                         "recipe was")
    ap.add_argument("--ghost-prob", type=float, default=0.0,
                    help="share of training samples given a faint copy of the whole image "
                         "shifted by half (or a third) of the field of view, as Nyquist "
                         "ghosts or parallel-imaging aliasing leave it "
                         "(core.segment.distractors.add_ghosts); 0 = none, as the recipe was")
    ap.add_argument("--swell-prob", type=float, default=0.0,
                    help="share of training samples with one organ enlarged by a radial zoom "
                         "about its centre, 1.2-2 times (core.segment.augment.swell_organs; "
                         "labels and distances follow); 0 = none, as the recipe was")
    ap.add_argument("--organ-prob", type=float, default=0.0,
                    help="share of training samples whose organs get their own smooth, "
                         "blotchy intensity gain (core.segment.augment.vary_organs; labels "
                         "and distances unchanged); 0 = none, as the recipe was")
    ap.add_argument("--bias", type=float, default=None,
                    help="largest log-amplitude of the augmentation's smooth bias field "
                         "(core.segment.augment.AugmentConfig.bias; the recipe's is 0.5)")
    ap.add_argument("--seed", type=int, default=RECIPE["seed"],
                    help="training seed (weights' init, batch order, augmentation draws)")
    ap.add_argument("--lr", type=float, default=RECIPE["lr"])
    ap.add_argument("--dice-first", type=float, default=None, metavar="D0",
                    help="fix the adaptive loss's reference Dice loss D0 (1.0: an "
                         "untrained network's) instead of taking the first batch's; "
                         "for fine-tunes (docs/segmentation.md, Losses)")
    ap.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    ap.add_argument("--crop", type=int, default=RECIPE["crop"])
    ap.add_argument("--depth", type=int, default=RECIPE["depth"],
                    help="U-Net levels; with --init-model of a lower depth, the model is "
                         "deepened first (core.segment.unet.deepen_unet); the crop must "
                         "be a multiple of 2**depth")
    ap.add_argument("--hard-share", type=float, default=0.0, metavar="SHARE",
                    help="with --init-model: draw this share of each batch in proportion "
                         "to the initial model's soft Dice loss on the frame (default 0: "
                         "uniform)")
    ap.add_argument("--steps-per-epoch", type=int, default=100)
    ap.add_argument("--warmup-steps", type=int, default=50)
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop after the first epoch past this wall time")
    ap.add_argument("--install", default=None, help="copy the result to DIR/default.*")
    ap.add_argument("--resume", action="store_true",
                    help="continue an interrupted run of the same command from the last "
                         "checkpoint in --out (OUT/last_*); without one, start afresh")
    ap.add_argument("--data-store", default=None, metavar="DIR",
                    help="keep the prepared training frames in DIR (core.segment.datastore), "
                         "keyed by the data settings, the labelled cases' files and the data "
                         "code; a later run with the same key loads them instead of preparing "
                         "them again (about 8 GB for 500 phantom and 1,800 labelled cases)")
    args = ap.parse_args(argv)
    recipe = {**RECIPE, "loss": args.loss, "epochs": args.epochs, "cases": args.cases,
              "case_seed0": args.case_seed0, "init_model": args.init_model, "lr": args.lr,
              "seed": args.seed, "batch_size": args.batch_size, "crop": args.crop,
              "depth": args.depth,
              "steps_per_epoch": args.steps_per_epoch, "warmup_steps": args.warmup_steps,
              "hard_share": args.hard_share}
    if args.dice_first is not None:  # checked by TrainConfig
        recipe["loss_kw"] = {**RECIPE["loss_kw"], "dice_first": args.dice_first}
    augment = {}
    for flag, key in (("band_prob", "p_band"), ("lut_prob", "p_lut"),
                      ("decoy_prob", "p_decoy"), ("copy_prob", "p_copy"),
                      ("ghost_prob", "p_ghost"), ("swell_prob", "p_swell"),
                      ("organ_prob", "p_organ")):
        value = getattr(args, flag)
        if not 0.0 <= value <= 1.0:
            ap.error(f"--{flag.replace('_', '-')} must be in [0, 1]")
        if value > 0:
            augment[key] = value
    if args.bias is not None:
        if args.bias < 0:
            ap.error("--bias must be >= 0")
        augment["bias"] = args.bias
    if augment:
        recipe["augment"] = augment
    if args.anatomy_variation < 0:
        ap.error("--anatomy-variation must be >= 0")
    if not 0.0 <= args.variation_share <= 1.0:
        ap.error("--variation-share must be in [0, 1]")
    if args.gamma_range is not None and not 0 < args.gamma_range[0] <= args.gamma_range[1]:
        ap.error("--gamma-range needs 0 < LO <= HI")
    overrides = {}
    if args.anatomy_variation > 0:
        overrides["anatomy_variation"] = args.anatomy_variation
    if args.gamma_range is not None:
        overrides["gamma"] = {"log_uniform": list(args.gamma_range)}
    for flag, key, value, _text in PHANTOM_OPTIONS:
        prob = getattr(args, flag.replace("-", "_"))
        if not 0.0 <= prob <= 1.0:
            ap.error(f"--{flag} must be in [0, 1]")
        if prob > 0:
            overrides[key] = {"with_probability": [value, prob]}
    if overrides:
        recipe["phantom_overrides"] = overrides
        recipe["override_share"] = args.variation_share
    if args.seeds:
        try:
            recipe["case_seeds"] = tuple(parse_seeds(args.seeds))
        except ValueError as exc:
            ap.error(f"--seeds: {exc}")
        seeds = recipe["case_seeds"]
    else:
        seeds = range(args.case_seed0, args.case_seed0 + args.cases)
    if any(500 <= s <= 502 or s >= 1000 for s in seeds):
        ap.error("training seeds must avoid the validation seeds 500-502 and seeds >= 1000")
    if args.labelled_frames < 1:
        ap.error("--labelled-frames must be >= 1")
    all_folders, notes = [], []
    for top in args.labelled:
        try:
            folders = labelled_case_folders(top)
        except (ValueError, OSError) as exc:
            ap.error(f"--labelled: {exc}")
        all_folders += folders
        notes.append(f"{top}: {len(folders)} cases ({folders[0].name}..{folders[-1].name}), "
                     f"{args.labelled_frames} frames each")
    if notes:
        recipe["sources_note"] = "; ".join(notes)
    try:
        cfg = TrainConfig(**recipe, device=args.device, workers=args.workers,
                          max_minutes=args.max_minutes)
    except ValueError as exc:
        ap.error(str(exc))
    args.data_key = None
    if args.data_store:
        args.data_key = data_key(data_settings(cfg), all_folders, args.labelled_frames)
        if entry_exists(args.data_store, args.data_key):
            cfg.stored_data = args.data_key
            return cfg, args  # the labelled cases are not read: their frames are stored
    try:
        cfg.sources = [labelled_folder_source(f, 1 + len(ORGANS), args.labelled_frames)
                       for f in all_folders]
    except (ValueError, OSError, ReaderError) as exc:
        ap.error(f"--labelled: {exc}")
    return cfg, args


def prepared_data(cfg: TrainConfig, args: argparse.Namespace):
    """The run's (training, validation) caches when ``--data-store`` is given: loaded
    from the store, or prepared and stored there; None without ``--data-store``."""
    if not args.data_store:
        return None
    if cfg.stored_data:
        print(f"prepared frames from {args.data_store}/{cfg.stored_data}", flush=True)
        return load_entry(args.data_store, cfg.stored_data)
    t0 = time.perf_counter()
    caches = build_caches(cfg)
    try:
        entry = save_entry(args.data_store, args.data_key, caches,
                           {"sources_note": cfg.sources_note, "n_sources": len(cfg.sources),
                            "prepare_s": round(time.perf_counter() - t0, 1)})
    except OSError as exc:  # a full disk costs the store, not the prepared frames
        print(f"warning: prepared frames not stored in {args.data_store}: {exc}", flush=True)
    else:
        print(f"[{time.perf_counter() - t0:7.1f} s] prepared {len(caches[0])} training "
              f"frames, stored in {entry}", flush=True)
    return caches


def main(argv: list[str] | None = None) -> int:
    cfg, args = build_config(argv)
    t0 = time.perf_counter()
    result = None
    data = prepared_data(cfg, args)
    for p in train(cfg, args.out, resume=args.resume, data=data):
        if p.stage in ("data", "validate", "done"):
            extra = {k: round(v, 3) for k, v in p.data.items() if isinstance(v, float)}
            print(f"[{time.perf_counter() - t0:7.1f} s] {p.stage} {p.done}/{p.total} "
                  f"{p.message} {extra}", flush=True)
        elif p.stage == "train" and (p.done % 500 == 0 or p.done == cfg.log_every):
            print(f"[{time.perf_counter() - t0:7.1f} s] step {p.done}/{p.total} "
                  f"loss {p.data['loss']:.4f} dice {p.data['dice']:.4f} "
                  f"lambda {p.data['lambda']:.2f}", flush=True)
        if p.stage == "done":
            result = Path(p.data["result"])
    if args.install and result is not None:
        dest = Path(args.install)
        dest.mkdir(parents=True, exist_ok=True)
        for suffix in (".safetensors", ".json"):
            shutil.copyfile(result.with_suffix(suffix), dest / f"default{suffix}")
        print(f"installed {dest}/default.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
