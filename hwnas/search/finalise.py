"""Finalise a run: the chosen architecture's figures and predicted costs, ``arch.json``, ``report.md``, logs."""

from __future__ import annotations

import json
import sys
from typing import Any

from hwnas.api.archspec import ArchSpec
from hwnas.api.files import write_bytes_atomic
from hwnas.api.freeze import freeze as freeze_network
from hwnas.search.checkpoint import write_text_atomic
from hwnas.search.pareto import SeenArch, pareto_front, pareto_png, seen_archs
from hwnas.search.prepare import RunContext
from hwnas.search.report import arch_metrics, write_report, write_report_json
from hwnas.search.select_phase import LeafResult
from hwnas.selection.decided import decidedness, summary, table
from hwnas.selection.pricing import price_terms
from hwnas.splits.tree import SplitTree


def _selection_section(log: list[dict[str, Any]]) -> str:
    rows = ["## Selection decisions", "",
            "| # | round | tuning epoch | decision | kept | held-out figure without each |",
            "|---|---|---|---|---|---|"]
    for i, e in enumerate(log, 1):
        without = ", ".join(f"{k}: {float(v):.4f}" for k, v in e["without"].items())
        rows.append(f"| {i} | {int(e['round']) + 1} | {e['epoch']} | {e['label']} | {e['kept']} | {without} |")
    return "\n".join(rows)


def _leaves_section(results: list[LeafResult], chosen: LeafResult, metric: str) -> str:
    rows = ["## Sub-supernets (splits)", "", f"Chosen by held-out accuracy ({metric}); never by test data.", "",
            "| leaf | held-out accuracy | archid | chosen |", "|---|---|---|---|"]
    for r in results:
        score = "" if r.score is None else f"{r.score:.4f}"
        rows.append(f"| {r.leaf.id} | {score} | `{r.arch.archid}` | {'yes' if r is chosen else ''} |")
    return "\n".join(rows)


def _pareto_section(seen: list[SeenArch], cost_label: str) -> str:
    rows = ["## Architectures seen", "", "Each run alone inside its leaf's trained supernet on the held-out split "
            f"(supernet accuracy); cost: {cost_label}. Plot: `pareto.png`.", "",
            "| archid | where | held-out supernet acc | cost | Pareto | chosen |", "|---|---|---|---|---|---|"]
    front = set(pareto_front([(s.acc, s.cost) for s in seen]))
    for i, s in enumerate(seen):
        rows.append(f"| `{s.archid}` | {s.source} | {s.acc:.4f} | {s.cost:.6g} | {'yes' if i in front else ''} "
                    f"| {'yes' if s.chosen else ''} |")
    return "\n".join(rows)


def _hardware_section(arch: ArchSpec) -> str:
    """The co-searched accelerator: its decisions and the pair's figures (``hw/`` metrics)."""
    assert arch.hardware is not None
    m = arch.metrics
    choices = ", ".join(f"{k} = {v}" for k, v in arch.hardware.choices.items())
    figs = " · ".join(f"{k.split('/', 1)[1]}: {m[k]:.6g}" for k in ("hw/latency_ms", "hw/energy_mj", "hw/area_mm2",
                                                                    "hw/power_w") if k in m)
    how = (f"the lowest search loss ({m['hw/objective']:.4g})" if m.get("hw/selected_by") == "objective"
           else "the most probable")
    return (f"## Hardware (co-search)\n\n- engine: `{m.get('hw/engine')}` ({choices})\n- {figs}\n"
            f"- chosen as {how} of {m.get('hw/feasible_configs')} configurations within the budgets; its "
            f"probability under the hardware α {m.get('hw/probability', 0):.3f}\n\n"
            "Price it again: `hwnas report arch.json --setting search --hardware`.")


def _target_figures(ctx: RunContext, arch: ArchSpec) -> dict[str, Any]:
    """Every cost target's full prediction (latency, energy...) for the chosen network as searched."""
    from hwnas.api.errors import UserError
    from hwnas.search.builders import resolve_space_class
    from hwnas.search.report import hardware_figures

    out: dict[str, Any] = {}
    targets = list(dict.fromkeys(c.target for c in ctx.cfg.cost))
    if not targets:
        return out
    net = freeze_network(resolve_space_class(arch)(**dict(arch.space_kwargs)), arch)
    for t in targets:
        try:
            out[t] = hardware_figures(arch, net, tuple(ctx.example.shape[1:]), t)
        except UserError as e:  # a target that prices only the supernet's distribution (a learned predictor)
            out[t] = {"note": str(e)}
    return out


def finalise(ctx: RunContext, results: list[LeafResult], chosen: LeafResult, tree: SplitTree, *,
             seen: tuple[list[SeenArch], str] | None = None) -> ArchSpec:
    """Write the run's outputs for the chosen leaf's architecture and return it with its metrics.

    ``seen``: the architectures the run saw and the cost axis (:func:`hwnas.search.pareto.seen_archs`), when the
    caller measured them already (on every rank of a torchrun job).
    """
    cfg, leaf = ctx.cfg, chosen.leaf
    metrics = arch_metrics(chosen.arch, space_name=cfg.space.name, space_kwargs=dict(chosen.arch.space_kwargs),
                           input_size=tuple(ctx.example.shape[1:]))
    if leaf.history:
        metrics["supernet_valid_acc"] = leaf.history[-1].get("valid/acc")
    metrics.update(price_terms(leaf.loss.terms, leaf.supernet, chosen.arch))
    decided = decidedness(leaf.supernet, chosen.arch, chosen.log)
    metrics["decided"] = summary(decided)
    sections = [f"## How decided\n\nPreference × uniform: softmax(α) of the chosen candidate over the ones it "
                f"could pick, times their number (1 = α said nothing). Perturbation margin: held-out "
                f"{'figure' if not chosen.log else 'accuracy'} lost by removing the kept candidate beyond the next "
                f"most needed one.\n\n{table(decided, markdown=True)}"]
    if chosen.log:
        sections.append(_selection_section(chosen.log))
        write_text_atomic(ctx.out / "selection.json", json.dumps(
            {r.leaf.id: r.log for r in results}, indent=1, default=float))
    if len(results) > 1:
        metrics["leaf"] = leaf.id
        metrics["leaf_scores"] = {r.leaf.id: r.score for r in results}
        sections.append(_leaves_section(results, chosen, cfg.splits.leaf_metric))
        for r in results:
            r.arch.save(ctx.leaf_dir(r.leaf.id) / "arch.json")
        write_text_atomic(ctx.out / "split_tree.json", tree.to_json())
        ctx.logger().split_tree(tree.rows(), cfg.train.epochs)
    arch = chosen.arch.with_metrics(**metrics)
    arch.save(ctx.out / "arch.json")
    if arch.hardware is not None:
        sections.insert(0, _hardware_section(arch))
    seen_list, cost_label = seen if seen is not None else seen_archs(ctx, results, chosen)
    png, rgb = pareto_png(seen_list, cost_label=cost_label, title=f"{cfg.name}: architectures seen")
    write_bytes_atomic(ctx.out / "pareto.png", png)
    ctx.logger().image("report/pareto", rgb, leaf.trainer.global_step)
    sections.append(_pareto_section(seen_list, cost_label))
    write_report(ctx.out / "report.md", cfg=cfg, arch=arch, history=leaf.history, sections=sections)
    write_report_json(ctx.out / "report.json", cfg=cfg, arch=arch, history=leaf.history, seen=seen_list,
                      targets=_target_figures(ctx, arch),
                      cost_label=cost_label, leaves={r.leaf.id: r.score for r in results} if len(results) > 1 else None,
                      selection=chosen.log)
    ctx.logger().text("arch", "```\n" + arch.to_json() + "\n```", leaf.trainer.global_step)
    ctx.logger().text("arch/decided", table(decided, markdown=True), leaf.trainer.global_step)
    if ctx.verbose:
        print("how decided each choice is (preference x uniform; perturbation margin):\n" + table(decided),
              file=sys.stderr)
    return arch
