"""Figures of a chosen architecture and the run's report.md."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec, ArchSpecError
from hwnas.api.config import dump_yaml
from hwnas.api.errors import UserError
from hwnas.api.freeze import freeze
from hwnas.api.registries import ARCHS, COST_MODELS
from hwnas.api.trace import count_macs, count_params
from hwnas.search.builders import resolve_space_class
from hwnas.search.checkpoint import write_text_atomic

#: Parameter-name prefixes that papers leave out of the count (DARTS's auxiliary head).
_EXCLUDED_FROM_PARAMS = ("auxiliary", "aux_head")


def fvcore_flops(model: nn.Module, x: torch.Tensor) -> int | None:
    """fvcore's FLOP count (one fused multiply-add = 1), or None when fvcore cannot trace the model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fvcore's import and tracer warn about torch.jit deprecation and skipped ops
        try:
            from fvcore.nn import FlopCountAnalysis
        except ImportError:  # pragma: no cover - fvcore is a dependency
            return None
        try:
            fca = FlopCountAnalysis(model.eval(), x)
            fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return int(fca.total())
        except (RuntimeError, TypeError, ValueError, AssertionError):  # some control flow defeats the tracer
            return None


def network_figures(model: nn.Module, input_size: tuple[int, ...]) -> dict[str, Any]:
    """Params (auxiliary head excluded), conv+linear MACs ("flops") and fvcore's count for one sample."""
    model = model.eval()
    x = torch.zeros(1, *input_size)
    return {
        "params": count_params(model, exclude=_EXCLUDED_FROM_PARAMS),
        "flops": count_macs(model, x),
        "fvcore_flops": fvcore_flops(model, x),
        "input_size": list(input_size),
    }


def arch_metrics(
    arch: ArchSpec, *, space_name: str, space_kwargs: dict[str, Any], input_size: tuple[int, ...]
) -> dict[str, Any]:
    """Figures of ``arch`` frozen in the space it was searched in (same widths, classes and input size)."""
    space = resolve_space_class(space_name)(**space_kwargs)
    return network_figures(freeze(space, arch), input_size)


def write_report(path: Path, *, cfg: Any, arch: ArchSpec, history: list[dict[str, float]],
                 sections: list[str] | None = None) -> None:
    """A short human-readable summary of the run; ``sections`` are extra Markdown blocks (selection, leaves)."""
    m = arch.metrics
    lines = [
        f"# hwnas search report: {cfg.name}",
        "",
        f"- space: `{arch.space}`, supernet: `{cfg.supernet.name}`, selection: `{cfg.selection.name}`",
        f"- archid: `{arch.archid}`",
        f"- params: {m.get('params', 0):,} · flops (conv+linear MACs): {m.get('flops', 0):,}"
        + (f" · fvcore flops: {m['fvcore_flops']:,}" if m.get("fvcore_flops") else ""),
        "",
        "## Epochs",
        "",
        "| epoch | train loss | train acc | valid loss | valid acc |",
        "|---|---|---|---|---|",
    ]
    for h in history:
        lines.append(
            f"| {int(h.get('epoch', 0))} | {h.get('train/loss', float('nan')):.4f} "
            f"| {h.get('train/acc', float('nan')):.4f}"
            f" | {h.get('valid/loss', float('nan')):.4f} | {h.get('valid/acc', float('nan')):.4f} |"
        )
    for block in sections or []:
        lines += ["", block.rstrip()]
    lines += [
        "",
        "## Architecture",
        "",
        "```json",
        arch.to_json(),
        "```",
        "",
        "## Config",
        "",
        "```yaml",
        dump_yaml(cfg).rstrip(),
        "```",
        "",
    ]
    write_text_atomic(path, "\n".join(lines))


SEARCH_REPORT_FORMAT = "hwnas.search_report/1"


def write_report_json(path: Path, *, cfg: Any, arch: ArchSpec, history: list[dict[str, Any]], seen: list[Any],
                      cost_label: str, leaves: dict[str, float | None] | None, selection: list[Any] | None,
                      targets: dict[str, Any] | None = None) -> None:
    """``report.json`` of a search or selection run: the chosen architecture's figures, its predicted costs on the
    run's targets (``hardware``: the cost terms' values; ``targets``: each target's full prediction for the
    network as searched), the architectures seen (accuracy vs cost, Pareto flags) and the per-epoch history."""
    import json

    from hwnas.search.pareto import pareto_front

    m = dict(arch.metrics)
    points = [s.to_dict() for s in seen]
    for i in pareto_front([(s.acc, s.cost) for s in seen]):
        points[i]["pareto"] = True
    doc = {
        "format": SEARCH_REPORT_FORMAT,
        "kind": "search",
        "name": cfg.name,
        "archid": arch.archid,
        "space": arch.space,
        "arch": arch.to_dict(),
        "params": m.get("params"),
        "flops": m.get("flops"),
        "fvcore_flops": m.get("fvcore_flops"),
        "supernet_valid_acc": m.get("supernet_valid_acc"),
        "hardware": {k.split("/", 1)[1]: v for k, v in m.items() if k.startswith("cost/")},
        "hardware_targets": [{"target": c.target, "metric": c.metric, "value": c.value} for c in cfg.cost],
        "targets": targets or {},
        "accuracy_note": "supernet accuracies on the held-out part of the training split; no test figure is "
                         "measured by a search (train the architecture: hwnas train)",
        "seen": {"cost": cost_label, "points": points},
        "leaves": leaves,
        "selection": selection or None,
        "history": [{k: v for k, v in h.items() if k != "arch"} for h in history],
    }
    write_text_atomic(path, json.dumps(doc, indent=2, default=float) + "\n")


def resolve_arch(text: str) -> ArchSpec:
    """A published architecture name, an NB201 arch string, or an ``arch.json`` path -> ArchSpec."""
    if text.startswith("|"):
        from hwnas.search_spaces.nb201 import nb201_str_to_arch

        return nb201_str_to_arch(text)
    p = Path(text)
    if p.suffix == ".json" or p.exists() or "/" in text:
        return ArchSpec.load(p)
    if text in ARCHS:
        return ARCHS.get(text)
    raise ArchSpecError(
        f"{text!r} is not a published architecture ({', '.join(ARCHS.names())}), "
        "an NB201 arch string (|op~0|+|...|) or an existing arch.json file"
    )


#: ``hwnas report --setting``: which network of an architecture the figures are for.
SETTINGS: dict[str, str] = {
    "paper": "the space's published evaluation network where the space defines one (its report_kwargs), "
    "else the searched network",
    "search": "exactly the network the architecture was searched as (its space_kwargs and input size)",
}


def evaluation_setting(arch: ArchSpec, setting: str = "paper") -> tuple[dict[str, Any], tuple[int, ...], str]:
    """The space kwargs of the network ``hwnas report`` measures, its input size, and a line saying which it is.

    One rule for every space. ``paper``: the space's published evaluation network where the space
    class defines one in ``report_kwargs`` (DARTS: C=36, 20 cells, CIFAR-10, or C=48, 14 cells for
    the ImageNet stem; NB201: C=16, N=5, CIFAR-10), at the space's default input size; a space
    without one (proxyless, fbnet, a user's) is reported as searched. ``search``: exactly the arch's
    ``space_kwargs``, at the input size the search recorded (``metrics.input_size``) or else the
    space's default.

    Example:
        >>> from hwnas.api import ARCHS
        >>> kwargs, size, described = evaluation_setting(ARCHS.get("darts_v2"))
        >>> kwargs["C"], kwargs["layers"], size, described.split(":")[0]
        (36, 20, (3, 32, 32), 'paper setting')
    """
    if setting not in SETTINGS:
        raise UserError(f"unknown report setting {setting!r}; choose one of: {', '.join(SETTINGS)}")
    cls = resolve_space_class(arch)
    kwargs = dict(arch.space_kwargs)
    published = getattr(cls, "report_kwargs", None) if setting == "paper" else None
    if published:
        kwargs.update(published(kwargs) if callable(published) else published)
    recorded = arch.metrics.get("input_size") if not published else None
    if recorded:
        input_size = tuple(int(v) for v in recorded)
    else:
        with torch.device("meta"):  # only the attribute is read
            input_size = tuple(getattr(cls(**kwargs), "default_input_size", (3, 32, 32)))
    if published:
        what = "paper setting"
    else:
        what = "search setting" + (" (the space defines no published evaluation network)" if setting == "paper" else "")
    described = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    size = "x".join(str(v) for v in input_size)
    return kwargs, input_size, f"{what}: {described}, input {size}"


def evaluation_network(arch: ArchSpec, setting: str = "paper") -> tuple[nn.Module, tuple[int, ...], str]:
    """The network whose figures ``hwnas report`` prints (see :func:`evaluation_setting`), its input size and
    the line describing it.

    Example:
        >>> from hwnas.api import ARCHS
        >>> _, size, described = evaluation_network(ARCHS.get("darts_v2"))
        >>> size, described.split(":")[0]
        ((3, 32, 32), 'paper setting')
    """
    kwargs, input_size, described = evaluation_setting(arch, setting)
    return freeze(resolve_space_class(arch)(**kwargs), arch), input_size, described


def hardware_figures(arch: ArchSpec, net: nn.Module, input_size: tuple[int, ...], target: str) -> dict[str, Any]:
    """Predicted cost of ``net`` on a hardware target (see ``hwnas targets``)."""
    factory = COST_MODELS.get(target.split(":", 1)[0])
    report = getattr(factory, "report", None)
    if report is None:
        raise UserError(f"target kind {target.split(':', 1)[0]!r} cannot report on a fixed network")
    return dict(report(target, arch=arch, network=net, input_size=input_size))
