"""``hwnas select``: select again from a finished search's trained supernet(s), into a new run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "select",
        help="select an architecture from a finished search's supernet with another method",
        description="Select an architecture from the trained supernet(s) of a finished search (RUN_DIR/checkpoints/"
        "trained.pt) with a selection method, into a new run folder beside RUN_DIR. One trained supernet thus serves "
        "every method, and their results can be compared. Resume an interrupted selection with "
        "hwnas search --resume NEW_RUN_DIR.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished search's run folder (runs/<name>)")
    p.add_argument("--method", default=None,
                   help="selection method: perturbation, magnitude or constrained (default: the run's own)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set selection.kwargs.eval_batches=4 (repeatable)")
    p.add_argument("--name", default=None, help="name of the new run folder (default: <run name>-<method>)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def run(args: argparse.Namespace) -> int:
    from hwnas.api.config import ConfigError, apply_overrides, load_yaml
    from hwnas.search import run_search
    from hwnas.search.prepare import unique_run_dir
    from hwnas.search.recipes import config_from_dict
    from hwnas.search.run import TRAINED

    src = Path(args.run_dir)
    if not (src / "config.yaml").is_file():
        raise ConfigError(f"{src} is not a run folder: it has no config.yaml (hwnas select takes runs/<name>)")
    trained = src / "checkpoints" / TRAINED
    if not trained.is_file():
        raise ConfigError(f"{src} has no checkpoints/{TRAINED}: its search has not finished training; "
                          f"finish it with hwnas search --resume {src}")
    data = load_yaml(src / "config.yaml")
    selection = dict(data.get("selection") or {})
    method = args.method or selection.get("name", "magnitude")
    if method != selection.get("name"):
        data["selection"] = {"name": method, "kwargs": {}}  # the other method's settings do not apply
    cfg = config_from_dict(apply_overrides(data, args.overrides))
    from hwnas.api.registries import SELECTORS

    SELECTORS.get(cfg.selection.name)  # an unknown method fails here, listing the known ones
    out = unique_run_dir(str(src.parent), args.name or f"{src.name}-{method}")
    result = run_search(cfg, run_dir=out, init_from=trained, verbose=not args.quiet)  # rank 0's folder wins
    from hwnas.distributed import env_info

    if not env_info().is_main:  # under torchrun: rank 0 speaks for the job
        return 0
    arch = result.arch
    m = arch.metrics
    print(arch.to_json())
    print(f"params: {m.get('params', 0):,}  flops (conv+linear MACs): {m.get('flops', 0):,}", file=sys.stderr)
    print(f"run folder: {result.run_dir}  (selected from {src})", file=sys.stderr)
    return 0
