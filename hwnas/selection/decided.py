"""How decided each choice of a selected architecture is.

Two figures per op choice, whichever the selection method:

* ``top_x_uniform``: the supernet's preference for the chosen candidate (softmax of α over the
  candidates it could pick, masks ignored) divided by the uniform 1/K. 1.0 means α said nothing
  (a quickstart whose α never moved); 2.0 means twice as likely as chance.
* ``margin`` (perturbation selection): how much more the held-out accuracy (or loss) suffered when
  the kept candidate was removed than when the next most needed one was; 0 is a coin toss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from hwnas.api.archspec import ArchSpec
from hwnas.api.graph import DecisionGraph


@dataclass(frozen=True)
class Decided:
    """One op choice: what was chosen and how clearly."""

    label: str
    chosen: str
    candidates: int
    top_x_uniform: float
    margin: float | None = None


def _margins(log: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    out = {}
    for e in log:
        if e.get("kind") != "op" or len(e["without"]) < 2:
            continue
        kept = float(e["without"][str(e["kept"])])
        others = [float(v) for k, v in e["without"].items() if k != str(e["kept"])]
        # acc: the kept one's removal gives the lowest accuracy; loss: the highest loss
        out[e["label"]] = (min(others) - kept) if kept <= min(others) else (kept - max(others))
    return out


def decidedness(supernet: Any, arch: ArchSpec, log: Sequence[Mapping[str, Any]] = ()) -> list[Decided]:
    """Per op choice kept in ``arch``: its preference against uniform and, after perturbation, its margin.

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import NB201Space
        >>> from hwnas.supernets import DartsSupernet
        >>> net = DartsSupernet(NB201Space(C=4, N=1), alpha_init_std=0.0)
        >>> d = decidedness(net, net.export())
        >>> d[0].label, d[0].top_x_uniform
        ('1<-0', 1.0)
    """
    graph = DecisionGraph.of(supernet.space)
    margins = _margins(log)
    out = []
    with torch.no_grad():
        for label, names in graph.choices.items():
            chosen = arch.choices.get(label)
            if not isinstance(chosen, str):
                continue
            pool = [i for i, n in enumerate(names) if n in graph.selectable(label)]
            alpha_of = getattr(supernet, "alpha_of", None)
            logits = alpha_of(label) if callable(alpha_of) else supernet.probabilities()[label].clamp_min(1e-12).log()
            p = torch.softmax(logits.detach().float().cpu()[pool], -1)
            share = float(p[pool.index(names.index(chosen))]) if names.index(chosen) in pool else 0.0
            out.append(Decided(label, chosen, len(pool), share * len(pool), margins.get(label)))
    return out


def summary(rows: Sequence[Decided]) -> dict[str, float]:
    """Min and mean of both figures, for ``arch.json`` and TensorBoard."""
    out: dict[str, float] = {}
    if rows:
        tops = [r.top_x_uniform for r in rows]
        out.update(top_x_uniform_min=round(min(tops), 4), top_x_uniform_mean=round(sum(tops) / len(tops), 4))
    margins = [r.margin for r in rows if r.margin is not None]
    if margins:
        out.update(margin_min=round(min(margins), 4), margin_mean=round(sum(margins) / len(margins), 4))
    return out


def table(rows: Sequence[Decided], *, markdown: bool = False) -> str:
    """The rows as a Markdown table, or as aligned text lines for the terminal."""
    if markdown:
        lines = ["| choice | chosen | preference × uniform | perturbation margin |", "|---|---|---|---|"]
        lines += [f"| {r.label} | {r.chosen} | {r.top_x_uniform:.2f} | "
                  f"{'' if r.margin is None else f'{r.margin:.4f}'} |" for r in rows]
        return "\n".join(lines)
    width = max((len(r.label) for r in rows), default=5)
    cw = max((len(r.chosen) for r in rows), default=5)
    return "\n".join(f"  {r.label:<{width}}  {r.chosen:<{cw}}  {r.top_x_uniform:5.2f}x uniform"
                     + ("" if r.margin is None else f"  margin {r.margin:+.4f}") for r in rows)
