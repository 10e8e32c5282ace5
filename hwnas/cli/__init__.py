"""The ``hwnas`` command. Each subcommand is a module here with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from hwnas.api.errors import UserError

#: Subcommand name -> module under hwnas.cli defining ``add_parser(subparsers)`` and ``run(args) -> int``.
SUBCOMMANDS: dict[str, str] = {
    "search": "hwnas.cli.search",
    "select": "hwnas.cli.select",
    "report": "hwnas.cli.report",
    "train": "hwnas.cli.train",
    "export": "hwnas.cli.export",
}


def _optional_subcommands() -> dict[str, str]:
    # Subcommands contributed by later issues; registered only when their module exists.
    extra = {
        "tpe": "hwnas.cli.tpe",
        "profile": "hwnas.cli.profile",
        "predictor": "hwnas.cli.predictor",
        "targets": "hwnas.cli.targets",
    }
    return {k: v for k, v in extra.items() if importlib.util.find_spec(v) is not None}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hwnas", description="Hardware-aware differentiable NAS for PyTorch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in {**SUBCOMMANDS, **_optional_subcommands()}.values():
        module = importlib.import_module(mod)
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hwnas`` console script. Returns the exit status."""
    from hwnas.cli._torchrun import job_guard

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with job_guard(args.command):  # under torchrun: a failed peer ends this rank with one clear line
            return int(args._run(args) or 0)
    except UserError as e:
        print(f"hwnas {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the file system said no (missing, full disk, permissions): one line naming the path
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"hwnas {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hwnas {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
