"""``hwnas train ARCH``: train an architecture from scratch with a paper's protocol (default: quick)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train an architecture from scratch",
        description="Train an architecture from scratch and write runs/<name>/ with model.pt, report.json, "
        "report.md and TensorBoard events. ARCH is a published name (e.g. darts_v2), an NAS-Bench-201 arch "
        "string (|nor_conv_3x3~0|+|...|) or an arch.json from any search or selection. The default recipe, "
        "quick, trains on the embedded data in a few CPU minutes; darts_cifar10, darts_imagenet, nb201, "
        "proxyless_imagenet and fbnet_imagenet are the papers' protocols. The test split is evaluated once, "
        "after the last epoch.",
    )
    p.add_argument("arch", metavar="ARCH", nargs="?", default=None,
                   help="architecture to train (omit with --resume: the run's own arch.json)")
    p.add_argument("--recipe", default=None, help="training recipe name or YAML file (default: quick)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set epochs=10 (repeatable)")
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the training run in RUN_DIR")
    p.add_argument("--list-recipes", action="store_true", help="list the shipped training recipes and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    return p


def run(args: argparse.Namespace) -> int:
    from hwnas.api.archspec import ArchSpec
    from hwnas.api.config import ConfigError
    from hwnas.search.report import resolve_arch
    from hwnas.train import list_train_recipes, load_train_config, load_train_run_config, run_training

    if args.list_recipes:
        print("\n".join(list_train_recipes()))
        return 0
    if args.resume is not None:
        if args.recipe is not None:
            raise ConfigError("--resume continues a run with its saved config; drop --recipe")
        run_dir = Path(args.resume)
        cfg = load_train_run_config(run_dir, tuple(args.overrides))
        arch = resolve_arch(args.arch) if args.arch else ArchSpec.load(run_dir / "arch.json")
        result = run_training(cfg, arch, resume_dir=run_dir, verbose=not args.quiet)
    else:
        if args.arch is None:
            raise ConfigError("hwnas train needs an ARCH: a published name (darts_v2), an NB201 string or an "
                              "arch.json, e.g. hwnas train runs/quickstart/arch.json")
        cfg = load_train_config(args.recipe, args.overrides)
        result = run_training(cfg, resolve_arch(args.arch), verbose=not args.quiet)
    r = result.report
    if r:
        print(f"{r['archid']}: test top-1 {r['test']['acc']:.4f} (once, after training), params {r['params']:,}, "
              f"flops {r['flops']:,}", file=sys.stdout)
    return 0
