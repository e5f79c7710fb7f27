"""``pelvitrack evaluate``: accuracy of a model (DSC, HD95, ASD per organ)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from app.commands import add_inference_options, inference_kwargs
from core.errors import ReaderError
from core.metrics import organ_metrics, summarize
from core.pipeline import run_analyze
from core.seeds import parse_seeds
from core.segment.infer import Segmenter


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="measure a model's DSC, HD95 and ASD per organ")
    p.add_argument("--model", default=None, help="model (stem, .json or .safetensors); "
                   "default: the shipped model")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--phantom-seeds", help="phantom cases, e.g. 1000-1009 (never trained on)")
    src.add_argument("--series", help="a cine series (any readable format)")
    src.add_argument("--cases", metavar="DIR", help="every labelled case folder in DIR "
                     "(sub-folders with series.* or series/, and truth.npy, as the "
                     "generators under benchmarks/ write them); cases are named by their "
                     "folders")
    p.add_argument("--truth", help="truth labels for --series: .npy (T,H,W), NIfTI, or the "
                   "truth.h5 of a written phantom case")
    p.add_argument("--phantom-option", action="append", default=[], metavar="KEY=VALUE",
                   help="override of generate_case (JSON value), e.g. noise=0.08")
    p.add_argument("--out", help="write the per-frame table to this CSV file")
    p.add_argument("--device", default="auto")
    add_inference_options(p)
    p.add_argument("--batch-size", type=int, default=None, help="frames per network call "
                   "(default: the Segmenter's)")
    p.add_argument("--raw", action="store_true",
                   help="score the model's labels alone; default: the labels `analyze` "
                        "writes (after the tracker redraws frames that disagree with the "
                        "image motion)")
    p.set_defaults(func=run)


def _read_truth(path: str) -> np.ndarray:
    p = Path(path)
    if p.suffix == ".npy":
        return np.load(p, allow_pickle=False)
    if p.suffix in (".h5", ".hdf5"):
        from core.phantom import read_truth

        return np.asarray(read_truth(p).labels)
    if p.name.endswith((".nii", ".nii.gz")):
        from core.export import read_labels_nifti

        # the same order as the series read from a NIfTI with the same header
        return read_labels_nifti(p)
    raise ReaderError(p, "truth must be .npy, .nii(.gz) or a phantom truth.h5")


def cases(args: argparse.Namespace, n_classes: int):
    """Yield (case name, series, truth labels); ``n_classes`` counts background too."""
    if args.phantom_seeds:
        from core.phantom import generate_case
        from core.phantom.params import parse_overrides

        ov = parse_overrides(args.phantom_option)
        for seed in parse_seeds(args.phantom_seeds):
            c = generate_case(seed, **ov)
            yield f"phantom-{seed:04d}", c.series, c.labels
    elif args.cases:
        from core.segment.data import labelled_case_folders, read_labelled_case

        for folder in labelled_case_folders(args.cases):
            series, truth = read_labelled_case(folder, n_classes)
            yield folder.name, series, truth
    else:
        from core.io import read_series

        if not args.truth:
            raise ValueError("--series needs --truth")
        series = read_series(args.series)
        truth = _read_truth(args.truth)
        if truth.shape != series.frames.shape:
            raise ValueError(f"truth shape {truth.shape} != series {series.frames.shape}")
        yield series.subject, series, truth


def run(args: argparse.Namespace) -> int:
    seg = Segmenter(args.model, device=args.device, **inference_kwargs(args))
    tables = []
    for name, series, truth in cases(args, 1 + len(seg.organs)):
        if args.raw:
            labels = seg.predict(series, batch_size=args.batch_size).labels
        else:
            labels = run_analyze(series, segmenter=seg, device=args.device,
                                 batch_size=args.batch_size).labels
        df = organ_metrics(labels, truth, seg.organs, series.spacing_mm)
        df.insert(0, "case", name)
        tables.append(df)
        print(f"{name}: mean DSC {df['dsc'].mean():.3f}", file=sys.stderr)
    df = pd.concat(tables, ignore_index=True)
    summ = summarize(df)
    source = ""
    if args.phantom_seeds:
        from core.phantom.case import PHANTOM_REVISION

        source = f", phantom revision {PHANTOM_REVISION}"
    print(f"model {seg.model_id} on {df['case'].nunique()} case(s){source}, "
          f"{len(df) // len(seg.organs)} frames" + (" (model labels alone)" if args.raw else
                                                     " (labels as `analyze` writes them)"))
    print(f"{'organ':<15} {'DSC':>15} {'HD95 mm':>15} {'ASD mm':>15}")
    for _, r in summ.iterrows():
        print(f"{r['organ']:<15} {r['dsc_mean']:>7.3f} ± {r['dsc_sd']:<5.3f} "
              f"{r['hd95_mm_mean']:>7.2f} ± {r['hd95_mm_sd']:<5.2f} "
              f"{r['asd_mm_mean']:>7.2f} ± {r['asd_mm_sd']:<5.2f}"
              + (f"  ({r['n_undefined']} frame(s) with one mask empty: distances undefined)"
                 if r["n_undefined"] else ""))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.out, index=False)
        print(f"per-frame table: {args.out}")
    return 0
