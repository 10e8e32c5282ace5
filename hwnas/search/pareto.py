"""The architectures a search saw, on accuracy vs hardware cost, with the chosen one marked (``pareto.png``).

A search sees one derived (argmax) architecture per epoch and leaf, and each leaf's selection. At the end each
is run alone inside the trained supernet of its leaf (every decision fixed to it) on the held-out split: its
*supernet accuracy*, the proxy every differentiable search ranks by, never the test split. The cost axis is
the run's first hardware cost term (the cost model's prediction for the fixed architecture) or, without one,
the conv+linear multiply-accumulates of the searched network.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from hwnas.api.archspec import ArchSpec
from hwnas.search.report import arch_metrics
from hwnas.search.select_phase import LeafResult, fixed_to
from hwnas.selection.measure import measure
from hwnas.selection.pricing import price_arch

_PARETO_KEY = 9_100_000


@dataclass(frozen=True)
class SeenArch:
    """One architecture the run saw: where, its held-out supernet accuracy and its cost."""

    archid: str
    source: str
    acc: float
    cost: float
    chosen: bool
    choices: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"archid": self.archid, "source": self.source, "acc": self.acc, "cost": self.cost,
                "chosen": self.chosen, "pareto": False, "choices": self.choices}


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point dominates (higher-or-equal accuracy at lower-or-equal cost, one strictly).

    Example:
        >>> pareto_front([(0.9, 5.0), (0.8, 2.0), (0.7, 3.0), (0.9, 6.0)])
        [0, 1]
    """
    front = []
    for i, (a, c) in enumerate(points):
        if not any((a2 >= a and c2 <= c) and (a2 > a or c2 < c) for j, (a2, c2) in enumerate(points) if j != i):
            front.append(i)
    return front


def seen_archs(ctx: Any, results: list[LeafResult], chosen: LeafResult) -> tuple[list[SeenArch], str]:
    """Every distinct architecture of every leaf's epochs and selection, measured; returns them and the cost label."""
    terms = chosen.leaf.loss.terms
    cost_label = f"{terms[0].name} (predicted)" if terms else "flops (conv+linear MACs)"
    out: list[SeenArch] = []
    for r in results:
        candidates: dict[str, tuple[ArchSpec, str]] = {}
        for h in r.leaf.history:
            if "arch" in h:
                a = ArchSpec(ctx.cfg.space.name, h["arch"], r.arch.space_kwargs)
                candidates.setdefault(a.archid, (a, f"leaf {r.leaf.id} epoch {int(h['epoch'])}"))
        candidates[r.arch.archid] = (r.arch, f"leaf {r.leaf.id} selection")
        sn = r.leaf.supernet
        for archid, (arch, source) in candidates.items():
            with fixed_to(sn, arch):
                m = measure(sn, ctx.probe_loader, key=_PARETO_KEY, seed=ctx.cfg.seed,
                            max_batches=ctx.cfg.train.eval_batches, device=ctx.device, dist=ctx.dist)
            if terms:
                cost = price_arch(r.leaf.loss.terms[0].cost_fn, sn, arch)
            else:
                cost = float(arch_metrics(arch, space_name=ctx.cfg.space.name, space_kwargs=dict(arch.space_kwargs),
                                          input_size=tuple(ctx.example.shape[1:]))["flops"])
            out.append(SeenArch(archid, source, m.acc, cost, r is chosen and archid == chosen.arch.archid,
                                {k: v if isinstance(v, str) else list(v) for k, v in arch.choices.items()}))
    return out, cost_label


def pareto_png(seen: list[SeenArch], *, cost_label: str, title: str) -> tuple[bytes, np.ndarray]:
    """The plot as PNG bytes and as an RGB array (for TensorBoard)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 4.0), dpi=100)
    pts = [(s.acc, s.cost) for s in seen]
    front = set(pareto_front(pts))
    others = [s for i, s in enumerate(seen) if i not in front and not s.chosen]
    if others:
        ax.scatter([s.cost for s in others], [s.acc for s in others], s=22, c="#9aa5b1", label="seen, dominated")
    fr = sorted((seen[i] for i in front), key=lambda s: s.cost)
    ax.plot([s.cost for s in fr], [s.acc for s in fr], "-o", c="#1f6feb", ms=5, lw=1.2, label="Pareto front")
    for s in seen:
        if s.chosen:
            ax.scatter([s.cost], [s.acc], marker="*", s=220, c="#d1242f", edgecolors="black", linewidths=0.6,
                       zorder=5, label=f"chosen {s.archid[:8]}")
    ax.set_xlabel(cost_label)
    ax.set_ylabel("held-out supernet accuracy")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return buf.getvalue(), rgb
