"""Fork a run's leaves at a split epoch: each becomes sub-supernets restricted on the edge GM-NAS picks."""

from __future__ import annotations

import copy
import random
import sys
import warnings
from typing import Any

from hwnas.search.checkpoint import write_text_atomic
from hwnas.search.config import SplitsConfig
from hwnas.search.leaf import Leaf
from hwnas.search.prepare import RunContext
from hwnas.splits.decide import decide_split
from hwnas.splits.tree import SplitTree

#: Loader epochs used to draw the split batches: far from any training epoch.
_SPLIT_EPOCH_BASE = 10_000_000


def split_due(cfg: SplitsConfig, tree: SplitTree, epoch: int) -> bool:
    """Whether the run splits before training ``epoch`` (and has not yet: a resume may come after it)."""
    return epoch in cfg.epochs and epoch not in tree.split_epochs()


def split_batches(ctx: RunContext, epoch: int, n: int) -> list[Any]:
    """``n`` single training batches (R in GM-NAS), reproducible for the split at ``epoch``."""
    out: list[Any] = []
    k = 0
    while len(out) < n:
        ctx.train_loader.set_epoch(_SPLIT_EPOCH_BASE + 1000 * epoch + k)
        for batch in ctx.train_loader:
            out.append((batch[0], batch[1]))
            if len(out) == n:
                break
        k += 1
        if k > n:  # an empty loader would loop forever
            raise ValueError("the training split gave no batch to compute split gradients on")
    return out


def _child(ctx: RunContext, parent: Leaf, cid: str, label: str, group: tuple[str, ...], *, restart: bool,
           epoch: int) -> Leaf:
    cfg = ctx.cfg
    if restart:
        # GM-NAS's `restart final`: the parent's weights only served to decide the split.
        sn = ctx.build_supernet(seed=ctx.seed_for("restart", cid))
        sn.masks.load_state_dict(parent.supernet.masks.state_dict())  # the lineage's restrictions
        left = cfg.train.epochs - epoch
        child = ctx.build_leaf(cid, sn, schedule_epochs=left if cfg.splits.restart_schedule == "remaining" else None)
        child.trainer.global_step = parent.trainer.global_step
    else:
        child = ctx.build_leaf(cid, copy.deepcopy(parent.supernet))
        child.trainer.load_state_dict(parent.trainer.state_dict())  # momentum, Adam state, schedule, steps
    child.supernet.restrict(label, list(group))
    child.history = [dict(h) for h in parent.history]
    child.logger = ctx.logger(cid)
    return child


def split_leaves(ctx: RunContext, leaves: list[Leaf], tree: SplitTree, epoch: int) -> list[Leaf]:
    """Split every leaf (those with no edge left to split stay as they are); returns the new leaves."""
    cfg = ctx.cfg.splits
    batches = split_batches(ctx, epoch, cfg.repeats) if cfg.method == "gradient" else []
    restart = cfg.restart == "all" or (cfg.restart == "final" and epoch == cfg.epochs[-1])
    out: list[Leaf] = []
    for leaf in leaves:
        rng = random.Random(ctx.seed_for("split", leaf.id, epoch))
        decision = decide_split(leaf.supernet, cfg=cfg, lineage=tree.lineage_labels(leaf.id), batches=batches,
                                rng=rng, device=ctx.device, seed=ctx.seed_for("split-grad", epoch))
        if decision is None:
            warnings.warn(f"sub-supernet {leaf.id} has no edge left to split at epoch {epoch}; it stays whole",
                          stacklevel=2)
            out.append(leaf)
            continue
        groups = [list(g) for g in decision.groups]
        ids = tree.split(leaf.id, epoch=epoch, label=decision.label, groups=groups, names=list(decision.names),
                         distance=decision.distance)
        if decision.distance is not None:
            leaf.logger.matrix(f"splits/distance/{leaf.id}", decision.distance, decision.names, epoch,
                               title=f"{leaf.id}: 1 - cos of gradients on {decision.label}", groups=groups)
        if ctx.verbose:
            how = "restarting" if restart else "inheriting weights"
            print(f"split {leaf.id} at epoch {epoch} on {decision.label}: {' | '.join(map(', '.join, groups))} "
                  f"({how})", file=sys.stderr)
        out += [_child(ctx, leaf, cid, decision.label, g, restart=restart, epoch=epoch)
                for cid, g in zip(ids, decision.groups)]
    ctx.logger().split_tree(tree.rows(), epoch)
    write_text_atomic(ctx.out / "split_tree.json", tree.to_json())
    return out
