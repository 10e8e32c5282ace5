"""``report.json`` and ``report.md`` of a training run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import dump_yaml
from hwnas.api.errors import UserError
from hwnas.search.checkpoint import write_text_atomic
from hwnas.search.report import hardware_figures, network_figures
from hwnas.train.config import TrainRunConfig

REPORT_FORMAT = "hwnas.train_report/1"


def train_report(out: Path, *, cfg: TrainRunConfig, arch: ArchSpec, built: Any, net: nn.Module,
                 history: list[dict[str, Any]], test: dict[str, float], test_ema: dict[str, float] | None,
                 data: Any) -> dict[str, Any]:
    """Write ``report.json`` and ``report.md``; returns the JSON object.

    Params exclude DARTS's auxiliary head (as the papers count), FLOPs are conv+linear multiply-accumulates
    of one image with fvcore's count beside them, the same figures ``hwnas report`` gives for this network.
    The test figures are labelled as measured once, after training.
    """
    figures = network_figures(net, built.input_size)
    last = history[-1] if history else {}
    valid = [h["valid/acc"] for h in history if "valid/acc" in h]
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "kind": "train",
        "name": cfg.name,
        "arch": arch.to_dict(),
        "archid": arch.archid,
        "space": arch.space,
        "setting": {k: v for k, v in sorted(built.space_kwargs.items())},
        "data": data.describe(),
        "params": figures["params"],
        "flops": figures["flops"],
        "fvcore_flops": figures["fvcore_flops"],
        "input_size": figures["input_size"],
        "epochs": cfg.epochs,
        "train": {"loss": last.get("train/loss"), "acc": last.get("train/acc")},
        "valid": ({"last_acc": valid[-1], "best_acc": max(valid), "note": "held-out part of the training split"}
                  if valid else None),
        "test": {**{k: test[k] for k in ("acc", "acc_top5", "loss")}, "images": int(test["images"]),
                 "note": "evaluated once, after the last epoch; never used for a decision"},
        "test_ema": ({k: test_ema[k] for k in ("acc", "acc_top5", "loss")} if test_ema is not None else None),
        "hardware": _hardware(arch, net, built.input_size, cfg.hardware),
        "history": history,
    }
    write_text_atomic(out / "report.json", json.dumps(report, indent=2, default=float) + "\n")
    write_text_atomic(out / "report.md", _markdown(report, cfg))
    return report


def _hardware(arch: ArchSpec, net: nn.Module, input_size: tuple[int, ...], targets: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in targets:
        try:
            out[t] = hardware_figures(arch, net, input_size, t)
        except UserError as e:  # a report must not lose a finished training over one target
            print(f"hwnas train: warning: no {t} figures: {e}", file=sys.stderr)
            out[t] = {"error": str(e)}
    return out


def _markdown(r: dict[str, Any], cfg: TrainRunConfig) -> str:
    fv = f" · fvcore flops: {r['fvcore_flops']:,}" if r.get("fvcore_flops") else ""
    setting = ", ".join(f"{k}={v}" for k, v in r["setting"].items())
    t = r["test"]
    lines = [
        f"# hwnas training report: {r['name']}",
        "",
        f"- architecture: `{r['archid']}` ({r['space']}; {setting})",
        f"- data: {r['data']}",
        f"- params: {r['params']:,} · flops (conv+linear MACs): {r['flops']:,}{fv}",
        f"- test top-1 {t['acc']:.4f}, top-5 {t['acc_top5']:.4f} on {t['images']:,} images "
        "(evaluated once, after the last epoch)",
    ]
    if r["valid"]:
        lines.append(f"- held-out (part of the training split): last {r['valid']['last_acc']:.4f}, "
                     f"best {r['valid']['best_acc']:.4f}")
    if r["test_ema"]:
        lines.append(f"- EMA weights: test top-1 {r['test_ema']['acc']:.4f}")
    for target, figs in r["hardware"].items():
        lines.append(f"- {target}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in figs.items()))
    lines += ["", "## Epochs", "", "| epoch | train loss | train acc | held-out acc | lr | img/s |",
              "|---|---|---|---|---|---|"]
    for h in r["history"]:
        lines.append(f"| {h['epoch'] + 1} | {h['train/loss']:.4f} | {_fmt(h.get('train/acc'))} "
                     f"| {_fmt(h.get('valid/acc'))} | {h['train/lr']:.4g} | {h['train/images_per_s']:.0f} |")
    lines += ["", "## Architecture", "", "```json", json.dumps(r["arch"], indent=2), "```", "", "## Config", "",
              "```yaml", dump_yaml(cfg).rstrip(), "```", ""]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)
