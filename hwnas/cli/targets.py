"""``hwnas targets``: the hardware targets a search loss or a report can use, with examples and metrics."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "targets",
        help="list hardware targets (tpe:, lut:, measured:, nb201:, fbnet:, predictor:)",
        description="List the hardware target kinds usable as `cost: [{target: KIND:ARG, metric: ...}]` in a recipe "
        "and as `hwnas report ARCH --hardware KIND:ARG`, with examples and metrics.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list")
    return p


def _predictor_rows() -> list[dict[str, Any]]:
    from hwnas.latency_models.predictor import LatencyPredictor

    rows = []
    for kind, space in (("nb201", "NAS-Bench-201"), ("fbnet", "FBNet")):
        try:
            devices = list(LatencyPredictor.load(kind).devices)
        except Exception as e:  # noqa: BLE001 - a broken shipped file must not hide the other targets
            devices, note = [], f" (unavailable: {e})"
        else:
            note = ""
        rows.append({"kind": kind, "form": f"{kind}:DEVICE", "metrics": ["latency_ms"],
                     "examples": [f"{kind}:{d}" for d in devices[:3]], "devices": devices,
                     "description": f"learned predictor pretrained on HW-NAS-Bench's measured {space} data{note}"})
    rows.append({"kind": "predictor", "form": "predictor:PATH", "metrics": ["latency_ms", "energy_mj", "cycles"],
                 "examples": ["predictor:my_device.pt"],
                 "description": "a predictor fitted to your own device (hwnas predictor fit), or to any space on any "
                 "target (hwnas predictor sweep / train); its metric is the one it was fitted to"})
    return rows


def target_rows() -> list[dict[str, Any]]:
    """One row per registered target kind: kind, form, metrics, examples, description."""
    import hwnas.latency_models  # noqa: F401 - registers the target kinds
    from hwnas.api.registries import COST_MODELS
    from hwnas.latency_models.hardware_targets import HARDWARE_TARGETS

    forms = {"tpe": "tpe:ENGINE", "lut": "lut:PATH", "measured": "measured:cpu|cuda[:N]"}
    rows = [{"kind": t.kind, "form": forms.get(t.kind, f"{t.kind}:ARG"), "metrics": list(t.metrics),
             "examples": list(t.examples), "description": t.description} for t in HARDWARE_TARGETS.values()]
    rows += _predictor_rows()
    known = {r["kind"] for r in rows}
    for name in COST_MODELS.names():
        if name not in known:  # a plug-in's own kind
            f = COST_MODELS.get(name)
            rows.append({"kind": name, "form": str(getattr(f, "form", f"{name}:ARG")),
                         "metrics": list(getattr(f, "metrics", ())),
                         "examples": list(getattr(f, "examples", ())),
                         "description": str(getattr(f, "description", "") or (f.__doc__ or "").strip())})
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
