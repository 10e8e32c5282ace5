"""Train the supernet(s): bilevel epochs for every leaf, with the splits of the run where they are due."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import torch

from hwnas.search.leaf import Leaf
from hwnas.search.loop import BilevelTrainer
from hwnas.search.prepare import RunContext
from hwnas.search.progress import epoch_progress
from hwnas.search.split_phase import split_due, split_leaves
from hwnas.search.tb_logging import decision_names
from hwnas.splits.tree import ROOT, SplitTree

StepCallback = Callable[[BilevelTrainer, int, int], None]
EpochCallback = Callable[[BilevelTrainer, int], None]
SaveFn = Callable[[list[Leaf], int], None]


def train_leaf_epoch(ctx: RunContext, leaf: Leaf, epoch: int, *, on_step: StepCallback | None = None,
                     show_id: bool = False) -> dict[str, float]:
    """One bilevel epoch of one leaf, then its held-out figures, logged and appended to its history."""
    cfg = ctx.cfg
    # Each epoch's order depends on (seed, epoch) only and workers are reseeded, so resume is exact.
    ctx.train_loader.set_epoch(epoch)
    ctx.valid_loader.set_epoch(epoch)
    leaf.supernet.on_epoch_start(epoch, cfg.train.epochs)  # e.g. GDAS anneals its temperature

    def step_hook(tr: BilevelTrainer, ep: int, step: int) -> None:
        if cfg.train.log_every > 0 and tr.global_step % cfg.train.log_every == 0:
            leaf.logger.scalars(tr.last_details, tr.global_step, prefix="step/")
        if on_step is not None:
            on_step(tr, ep, step)

    who = f" [{leaf.id}]" if show_id else ""
    bar = epoch_progress(leaf.trainer.steps_per_epoch(ctx.train_loader), f"epoch {epoch + 1}/{cfg.train.epochs}{who}",
                         enabled=ctx.verbose and cfg.train.progress)
    lr = leaf.trainer.w_opt.param_groups[0]["lr"]
    stats = leaf.trainer.train_epoch(epoch, ctx.train_loader, ctx.valid_loader, on_step=step_hook, progress=bar)
    bar.close()
    stats.update(leaf.trainer.evaluate(ctx.valid_loader, max_batches=cfg.train.eval_batches))
    stats["lr/weights"] = lr
    stats["lr/arch"] = leaf.trainer.a_opt.param_groups[0]["lr"]
    stats["arch/top_x_uniform_mean"] = _top_x_uniform(leaf.supernet)
    stats["epoch"] = epoch + 1
    leaf.history.append(stats)
    arch = leaf.supernet.export()
    step = leaf.trainer.global_step
    leaf.logger.scalars({k: v for k, v in stats.items() if k != "epoch"}, step)
    # The epoch's derived architecture, kept for the report's accuracy-vs-cost plot (not a scalar to log).
    stats["arch"] = {k: v if isinstance(v, str) else list(v) for k, v in arch.choices.items()}
    images = (epoch + 1) % cfg.train.log_images_every == 0 or epoch + 1 == cfg.train.epochs
    with torch.no_grad():
        leaf.logger.choice_probabilities(leaf.supernet.probabilities(), decision_names(leaf.supernet), step,
                                         input_weights=leaf.supernet.input_weights(), image=images)
        hardware = getattr(leaf.supernet, "hardware", None)
        if hardware is not None:  # co-search: the hardware decisions' distributions, like the network's
            values = {d.label: d.values for d in hardware.decisions}
            leaf.logger.hardware_probabilities(hardware.probabilities(), values, step, image=images)
    leaf.logger.derived_arch(arch, leaf.supernet.space, step, image=images)
    if ctx.verbose:
        print(
            f"epoch {epoch + 1}/{cfg.train.epochs}{who}  train loss {stats.get('train/loss', float('nan')):.3f} "
            f"acc {stats.get('train/acc', float('nan')):.3f}  valid acc {stats.get('valid/acc', float('nan')):.3f}"
            f"  arch {arch.archid}",
            file=sys.stderr,
        )
    return stats


def _top_x_uniform(supernet: Any) -> float:
    """Mean over op choices of the top probability times the number of allowed candidates (1 = undecided)."""
    with torch.no_grad():
        vals = [float(p.max()) * int((p > 0).sum()) for p in supernet.probabilities().values()]
    return sum(vals) / max(len(vals), 1)


def train_phase(ctx: RunContext, leaves: list[Leaf], tree: SplitTree, *, start_epoch: int, save: SaveFn,
                on_step: StepCallback | None = None, on_epoch_end: EpochCallback | None = None) -> list[Leaf]:
    """Train every leaf from ``start_epoch`` to ``train.epochs``, splitting where the config says.

    ``save(leaves, epoch)`` writes the run's checkpoint: after each split and at every checkpoint epoch,
    so a run killed at any moment resumes from a consistent state of every leaf.
    """
    cfg = ctx.cfg
    for epoch in range(start_epoch, cfg.train.epochs):
        if split_due(cfg.splits, tree, epoch):
            leaves = split_leaves(ctx, leaves, tree, epoch)
            save(leaves, epoch)
        for leaf in leaves:
            train_leaf_epoch(ctx, leaf, epoch, on_step=on_step, show_id=leaf.id != ROOT)
        if (epoch + 1) % cfg.checkpoint.every_epochs == 0 or epoch + 1 == cfg.train.epochs:
            save(leaves, epoch + 1)
        if on_epoch_end is not None:
            for leaf in leaves:
                on_epoch_end(leaf.trainer, epoch)
    return leaves


__all__ = ["EpochCallback", "StepCallback", "train_leaf_epoch", "train_phase"]
