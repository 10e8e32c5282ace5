"""``hwnas search``: run a recipe (default: quickstart on the embedded data)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "search",
        help="run an architecture search from a recipe",
        description="Run an architecture search. With no arguments: the quickstart recipe on the embedded "
        "Fashion-MNIST subset, on the CPU in a few minutes.",
    )
    p.add_argument("--recipe", default=None, help="shipped recipe name or YAML file (default: quickstart)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set train.epochs=5 (repeatable)",
    )
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    p.add_argument("--list-recipes", action="store_true", help="list the shipped recipes and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    return p


def run(args: argparse.Namespace) -> int:
    from hwnas.api.config import ConfigError
    from hwnas.distributed import env_info
    from hwnas.search import list_recipes, load_run_config, load_search_config, run_search

    if args.list_recipes:
        print("\n".join(list_recipes()))
        return 0
    if args.resume is not None:
        if args.recipe is not None:
            raise ConfigError("--resume continues a run with its saved config; drop --recipe")
        run_dir = Path(args.resume)
        cfg = load_run_config(run_dir, tuple(args.overrides))
        result = run_search(cfg, resume_dir=run_dir, verbose=not args.quiet)
    else:
        cfg = load_search_config(args.recipe, args.overrides)
        result = run_search(cfg, verbose=not args.quiet)
    if not env_info().is_main:  # under torchrun: rank 0 speaks for the job
        return 0
    arch = result.arch
    m = arch.metrics
    print(arch.to_json())
    fv = f"  (fvcore: {m['fvcore_flops']:,})" if m.get("fvcore_flops") else ""
    print(f"params: {m.get('params', 0):,}  flops (conv+linear MACs): {m.get('flops', 0):,}{fv}", file=sys.stderr)
    print(f"run folder: {result.run_dir}  (tensorboard --logdir {result.run_dir.parent})", file=sys.stderr)
    return 0
