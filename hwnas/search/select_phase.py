"""Select an architecture in every leaf, then choose among the leaves on the held-out split (never the test split)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hwnas.api.archspec import ArchSpec
from hwnas.search.builders import build_selector
from hwnas.search.cosearch import select_pair
from hwnas.search.leaf import Leaf
from hwnas.search.prepare import RunContext
from hwnas.selection.context import SelectionContext
from hwnas.selection.measure import measure
from hwnas.splits.tree import SplitTree

#: Measurement key of leaf scores (distinct from perturbation and split keys).
_LEAF_KEY = 9_000_000

SaveSelection = Callable[[dict[str, Any]], None]


@dataclass
class LeafResult:
    """What selection gave in one leaf."""

    leaf: Leaf
    arch: ArchSpec
    log: list[dict[str, Any]]
    score: float | None = None


@contextlib.contextmanager
def fixed_to(supernet: Any, arch: ArchSpec) -> Iterator[None]:
    """Inside the block the supernet runs ``arch`` alone: every decision fixed to it (masks restored after)."""
    saved = {k: v.clone() for k, v in supernet.masks.state_dict().items()}
    try:
        for label, choice in arch.choices.items():
            supernet.fix(label, choice if isinstance(choice, str) else list(choice))
        yield
    finally:
        supernet.masks.load_state_dict(saved)


def leaf_score(ctx: RunContext, result: LeafResult) -> float:
    """The held-out accuracy that ranks a leaf (``splits.leaf_metric``): its architecture's inside it, or its own."""
    cfg = ctx.cfg.splits
    sn = result.leaf.supernet
    ctx_fixed = fixed_to(sn, result.arch) if cfg.leaf_metric == "arch_acc" else contextlib.nullcontext()
    with ctx_fixed:
        m = measure(sn, ctx.probe_loader, key=_LEAF_KEY, seed=ctx.cfg.seed, max_batches=cfg.eval_batches,
                    device=ctx.device, dist=ctx.dist)
    return m.acc


def _held_out_ce(ctx: RunContext, supernet: Any, arch: ArchSpec) -> float:
    """The cross-entropy of ``arch`` run alone in its supernet on the held-out probe batches."""
    with fixed_to(supernet, arch):
        m = measure(supernet, ctx.probe_loader, key=_LEAF_KEY, seed=ctx.cfg.seed,
                    max_batches=ctx.cfg.train.eval_batches, device=ctx.device, dist=ctx.dist)
    return m.loss


def select_phase(ctx: RunContext, leaves: list[Leaf], *, resume: dict[str, Any] | None,
                 save: SaveSelection) -> list[LeafResult]:
    """Run the configured selector in every leaf (resumable), returning each leaf's architecture."""
    done: dict[str, Any] = dict((resume or {}).get("done", {}))
    current = (resume or {}).get("current") or {}
    results: list[LeafResult] = []
    for leaf in leaves:
        if leaf.id in done:
            d = done[leaf.id]
            results.append(LeafResult(leaf, ArchSpec.from_json(d["arch_json"]), list(d["log"])))
            continue
        selector = build_selector(ctx.cfg)

        def checkpoint(state: dict[str, Any], leaf_id: str = leaf.id) -> None:
            save({"done": dict(done), "current": {"leaf": leaf_id, "state": state}})

        sctx = SelectionContext(
            loss=leaf.loss, device=ctx.device, train_loader=ctx.train_loader, valid_loader=ctx.valid_loader,
            probe_loader=ctx.probe_loader, train_config=ctx.cfg.train,
            make_trainer=lambda tc, lf=leaf: ctx.make_trainer(lf.supernet, lf.loss, tc), trainer=leaf.trainer,
            epoch_offset=ctx.cfg.train.epochs, logger=leaf.logger, checkpoint=checkpoint,
            resume_state=current.get("state") if current.get("leaf") == leaf.id else None,
            seed=ctx.cfg.seed, verbose=ctx.verbose, input_size=tuple(ctx.example.shape[1:]), dist=ctx.dist,
        )
        arch = selector.select(leaf.supernet, sctx)
        arch = select_pair(ctx.cfg.hardware, leaf.supernet, arch, ctx.example, loss=leaf.loss,
                           ce=lambda lf=leaf, a=arch: _held_out_ce(ctx, lf.supernet, a), verbose=ctx.verbose)
        log = list(getattr(selector, "log", []))
        done[leaf.id] = {"arch_json": arch.to_json(), "log": log}
        save({"done": dict(done), "current": None})
        results.append(LeafResult(leaf, arch, log))
    return results


def choose_leaf(ctx: RunContext, results: list[LeafResult], tree: SplitTree) -> LeafResult:
    """The leaf with the best held-out score (ties: the first); scores are recorded in the tree."""
    if len(results) == 1:
        return results[0]
    for r in results:
        r.score = leaf_score(ctx, r)
        tree.nodes[r.leaf.id].score = r.score
        if ctx.verbose:
            print(f"leaf {r.leaf.id}: held-out accuracy {r.score:.4f} ({ctx.cfg.splits.leaf_metric}), "
                  f"arch {r.arch.archid}", file=sys.stderr)
    best = max(results, key=lambda r: (r.score, -results.index(r)))
    tree.nodes[best.leaf.id].chosen = True
    return best
