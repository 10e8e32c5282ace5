"""``hwnas targets``: the hardware targets a search loss or a report can use, with examples and metrics."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "targets",
        help="list hardware targets (tpe:, lut:, measured:, nb201:, fbnet:, predictor:, cosearch)",
        description="List the hardware target kinds usable as `cost: [{target: KIND:ARG, metric: ...}]` in a recipe "
        "and as `hwnas report ARCH --hardware KIND:ARG`, with examples and metrics.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list")
    return p


def _devices(model: Any) -> tuple[list[str], str]:
    try:
        return list(getattr(model, "devices", ())), ""
    except Exception as e:  # noqa: BLE001 - a broken shipped file must not hide the other targets
        return [], f" (unavailable: {e})"


def target_rows() -> list[dict[str, Any]]:
    """One row per registered target kind (a :class:`hwnas.api.CostModel`): kind, form, metrics, examples, ..."""
    from hwnas.api.registries import COST_MODELS

    rows = []
    for kind, model in COST_MODELS.items():
        devices, note = _devices(model)
        examples = list(getattr(model, "examples", ())) or [f"{kind}:{d}" for d in devices[:3]]
        rows.append({"kind": kind, "form": str(getattr(model, "form", "") or f"{kind}:ARG"),
                     "metrics": list(getattr(model, "metrics", ())), "examples": examples,
                     "description": str(getattr(model, "description", "") or (model.__doc__ or "").strip()) + note,
                     **({"devices": devices} if devices else {})})
    return rows


def run(args: argparse.Namespace) -> int:
    rows = target_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['form']:<24} {r['description']}")
        print(f"{'':<24} metrics: {', '.join(r['metrics']) or '?'}")
        if r["examples"]:
            print(f"{'':<24} e.g. {', '.join(r['examples'])}")
        if r.get("devices"):
            print(f"{'':<24} devices: {', '.join(r['devices'])}")
    return 0
