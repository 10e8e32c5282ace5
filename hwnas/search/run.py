"""One search run, in phases: prepare, train the supernet(s) (splitting where due), select, finalise.

Every phase ends in the run's checkpoint (``checkpoints/last.pt``, written atomically): the stage
(``train``, ``select``, ``done``), the epoch, the RNG, the split tree and, per leaf, its supernet (weights,
α, masks), optimizers and history, plus the selector's resumable state. A run killed at any moment
resumes from it with ``--resume``; in deterministic mode it ends where an uninterrupted run ends.
All leaves share that one file, so a kill can never leave them at different epochs. When training
ends, ``checkpoints/trained.pt`` keeps the trained supernets: ``hwnas select`` starts from it.

Under ``torchrun`` (see :mod:`hwnas.distributed`) every rank runs all of this on its share of the data:
gradients and measurements are averaged over the ranks, so weights, α, masks and every selection
decision are the same on all of them; rank 0 alone names and writes the run folder.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import apply_overrides, to_dict
from hwnas.api.errors import UserError
from hwnas.api.files import discard_unused_run_dir
from hwnas.distributed import (
    DistInfo,
    DistributedError,
    assert_same_on_ranks,
    broadcast_object,
    destroy_distributed,
    init_distributed,
)
from hwnas.search.checkpoint import (
    CheckpointError,
    find_resume_checkpoint,
    keep_copy,
    load_checkpoint,
    save_run_checkpoint,
)
from hwnas.search.config import SearchConfig
from hwnas.search.finalise import finalise
from hwnas.search.leaf import Leaf
from hwnas.search.pareto import seen_archs
from hwnas.search.prepare import RunContext, prepare_run, unique_run_dir
from hwnas.search.recipes import config_from_dict, read_run_config
from hwnas.search.reproducibility import capture_rng_state, restore_rng_state, seed_everything, set_deterministic
from hwnas.search.select_phase import choose_leaf, select_phase
from hwnas.search.threads import apply_threads
from hwnas.search.train_phase import EpochCallback, StepCallback, train_phase
from hwnas.splits.tree import ROOT, SplitTree

RUN_FORMAT = "hwnas.run/2"
#: The trained supernets, kept when training ends; selection starts from here.
TRAINED = "trained.pt"


@dataclass
class SearchResult:
    """What a finished search returns: the chosen architecture and where the run lives."""

    arch: ArchSpec
    run_dir: Path
    supernet: torch.nn.Module
    history: list[dict[str, float]]
    #: The split tree (one node without splits) and the leaf the architecture came from.
    tree: SplitTree = field(default_factory=SplitTree)
    leaf: str = ROOT


def load_run_config(run_dir: Path, overrides: tuple[str, ...] = ()) -> SearchConfig:
    """The resolved config saved in ``run_dir``, with ``overrides`` applied on top."""
    return config_from_dict(apply_overrides(read_run_config(run_dir, kind="search"), overrides))


class _Checkpointer:
    """Writes the run's state; ``stage`` and ``selection`` say where a resume continues."""

    def __init__(self, ctx: RunContext, tree: SplitTree) -> None:
        self.ctx, self.tree = ctx, tree
        self.leaves: list[Leaf] = []
        self.epoch = 0

    def save(self, *, stage: str, selection: dict[str, Any] | None = None, keep_epoch: bool = False) -> Path | None:
        dist = self.ctx.dist
        for leaf in self.leaves:  # a cheap guard: a checkpoint records the one state every rank holds
            assert_same_on_ranks(_arch_vector(leaf.supernet), info=dist, what=f"α and masks of leaf {leaf.id}")
        if not dist.is_main:
            return None
        cfg = self.ctx.cfg
        state = {
            "format": RUN_FORMAT,
            "stage": stage,
            "epoch": self.epoch,
            "rng": capture_rng_state(),
            "config": to_dict(cfg),
            "tree_json": self.tree.to_json(),
            "leaves": {leaf.id: leaf.state_dict() for leaf in self.leaves},
            "selection": selection or {},
        }
        keep = cfg.checkpoint.keep_last if keep_epoch else 0
        return save_run_checkpoint(self.ctx.out / "checkpoints", state, epoch=self.epoch if keep else None,
                                   keep_last=keep)

    def train_save(self, leaves: list[Leaf], epoch: int) -> None:
        self.leaves, self.epoch = leaves, epoch
        self.save(stage="train", keep_epoch=True)


def _arch_vector(supernet: Any) -> torch.Tensor:
    parts = [p.detach().reshape(-1).float() for p in supernet.arch_parameters()]
    parts += [b.detach().reshape(-1).float() for b in supernet.masks.buffers()]
    return torch.cat(parts) if parts else torch.zeros(0)


def restore_leaves(ctx: RunContext, state: dict[str, Any], where: Path) -> tuple[list[Leaf], SplitTree]:
    """Rebuild the leaves (and the split tree) a run checkpoint holds, e.g. a finished run's ``trained.pt``."""
    if "leaves" in state:
        tree = SplitTree.from_json(state["tree_json"]) if state.get("tree_json") else SplitTree()
        saved = state["leaves"]
    elif "model" in state:  # a checkpoint written before runs had leaves
        tree, saved = SplitTree(), {ROOT: {k: state[k] for k in ("model", "trainer", "history_json") if k in state}}
    else:
        raise CheckpointError(f"checkpoint {str(where)!r} holds no supernet; it is not a hwnas run checkpoint")
    missing = [i for i in tree.leaves() if i not in saved]
    if missing:
        raise CheckpointError(f"checkpoint {str(where)!r} lacks leaves {missing} of its split tree; it is damaged")
    leaves = []
    for leaf_id in tree.leaves():
        leaf = ctx.build_leaf(leaf_id)
        try:
            leaf.load_state_dict(saved[leaf_id])
        except (RuntimeError, KeyError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise CheckpointError(
                f"checkpoint {str(where)!r} does not fit the supernet its config builds ({first}); it was written "
                "by another hwnas version or config: start a new run"
            ) from None
        leaves.append(leaf)
    return leaves, tree


def run_search(
    cfg: SearchConfig,
    *,
    resume_dir: str | Path | None = None,
    run_dir: str | Path | None = None,
    init_from: str | Path | None = None,
    on_step: StepCallback | None = None,
    on_epoch_end: EpochCallback | None = None,
    verbose: bool = True,
) -> SearchResult:
    """Run a whole search and write ``runs/<name>/``.

    Args:
        cfg: The typed config (see :func:`hwnas.search.load_search_config`).
        resume_dir: Continue the run in this folder from its last checkpoint (any stage).
        run_dir: Write here instead of ``<out_dir>/<name>`` (which gets a ``-2`` suffix if taken).
        init_from: Skip training: select from the trained supernets of this checkpoint (another run's
            ``checkpoints/trained.pt``; what ``hwnas select`` does).
        on_step / on_epoch_end: Hooks, e.g. for tests or custom logging.

    Example:
        >>> from hwnas.search import load_search_config, run_search
        >>> cfg = load_search_config("quickstart", ["train.epochs=1", "train.max_steps_per_epoch=2"])
        >>> # result = run_search(cfg); print(result.arch.to_json())
    """
    threads = apply_threads(cfg.threads)
    started = not _group_exists()
    dist, device = init_distributed(cfg.device)
    try:
        # Every rank seeds alike: the same initial weights and α, and the same draws of sampling strategies.
        seed_everything(cfg.seed)
        set_deterministic(cfg.deterministic)
        if dist.enabled and cfg.splits.epochs:
            raise DistributedError("splits are not supported under torchrun yet (their gradient matching reads "
                                   "one process's batches); run split searches in a single process")
        ckpt: Path | None = None
        if resume_dir is not None:
            out = Path(resume_dir)
            ckpt = find_resume_checkpoint(out)  # every rank reads the same file (one machine or a shared disk)
        else:
            # Rank 0 claims the folder (``-2`` when taken) and tells the others.
            name = None
            if dist.is_main:
                name = str(Path(run_dir) if run_dir is not None else unique_run_dir(cfg.out_dir, cfg.name))
            out = Path(broadcast_object(name, info=dist))
            if init_from is not None:
                ckpt = Path(init_from)
                if not ckpt.is_file():
                    raise CheckpointError(f"no trained supernet at {str(ckpt)!r}")
        try:
            ctx = prepare_run(cfg, out, verbose=verbose, dist=dist, device=device)
        except UserError:
            if resume_dir is None and run_dir is None and dist.is_main:
                discard_unused_run_dir(out)  # bad data settings: no empty run folder left behind
            raise
        try:
            return _run(ctx, ckpt, fresh=init_from is not None, on_step=on_step, on_epoch_end=on_epoch_end,
                        threads=threads)
        finally:
            ctx.close()
    finally:
        if started:
            destroy_distributed()


def _group_exists() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _run(ctx: RunContext, ckpt: Path | None, *, fresh: bool, on_step: StepCallback | None,
         on_epoch_end: EpochCallback | None, threads: str) -> SearchResult:
    cfg = ctx.cfg
    stage, selection, start_epoch = "train", None, 0
    if ckpt is None:
        leaves, tree = [ctx.build_leaf(ROOT)], SplitTree()
    else:
        state = load_checkpoint(ckpt, map_location=ctx.device)
        leaves, tree = restore_leaves(ctx, state, ckpt)
        restore_rng_state(state["rng"])
        start_epoch = int(state["epoch"])
        stage, selection = state.get("stage", "train"), state.get("selection") or None
        if fresh:  # selecting anew from another run's trained supernets
            if stage != "train" or start_epoch != cfg.train.epochs:
                raise CheckpointError(f"{str(ckpt)!r} is not a finished search's trained supernet (stage {stage!r}, "
                                      f"epoch {start_epoch} of {cfg.train.epochs}); resume that search first")
            selection = None
        if ctx.verbose:
            print(f"{'selecting from' if fresh else 'resuming'} {ckpt} (stage {stage}, epoch {start_epoch})",
                  file=sys.stderr)
    if ctx.verbose:  # once the supernet is built: bad input stays a one-line error
        ranks = f"; {ctx.dist.world_size} processes ({ctx.dist.backend}), batch per process" if ctx.dist.enabled else ""
        print(f"{ctx.out}: {ctx.data.describe()}; {threads}{ranks}", file=sys.stderr)
    for leaf in leaves:
        leaf.logger = ctx.logger(leaf.id, purge_step=leaf.trainer.global_step if ckpt is not None else None)
    ck = _Checkpointer(ctx, tree)
    ck.leaves, ck.epoch = leaves, start_epoch
    if fresh:
        ck.save(stage="train")  # the new run folder is resumable from its first moment
    if stage == "train":
        leaves = train_phase(ctx, leaves, tree, start_epoch=start_epoch, save=ck.train_save, on_step=on_step,
                             on_epoch_end=on_epoch_end)
        ck.leaves = leaves
        if ctx.dist.is_main:
            keep_copy(ctx.out / "checkpoints" / "last.pt", ctx.out / "checkpoints" / TRAINED)
        selection = None
    results = select_phase(ctx, leaves, resume=selection,
                           save=lambda sel: ck.save(stage="select", selection=sel))
    chosen = choose_leaf(ctx, results, tree)
    # Every rank selected the same architecture (its measurements are summed over the ranks); rank 0 writes
    # the outputs and the others take its figures.
    # The architectures seen are measured on every rank (summed over the shards), as selection measures.
    seen = seen_archs(ctx, results, chosen)
    arch = finalise(ctx, results, chosen, tree, seen=seen) if ctx.dist.is_main else chosen.arch
    arch = _same_arch(arch, ctx.dist)
    ck.save(stage="done", selection={"done": {r.leaf.id: {"arch_json": r.arch.to_json(), "log": r.log}
                                              for r in results}, "current": None})
    return SearchResult(arch=arch, run_dir=ctx.out, supernet=chosen.leaf.supernet, history=chosen.leaf.history,
                        tree=tree, leaf=chosen.leaf.id)


def _same_arch(arch: ArchSpec, dist: DistInfo) -> ArchSpec:
    if not dist.enabled:
        return arch
    main = ArchSpec.from_json(broadcast_object(arch.to_json(), info=dist))
    if main.archid != arch.archid:
        raise DistributedError(f"rank {dist.rank} selected {arch.archid} but rank 0 selected {main.archid}; "
                               "the ranks diverged (please report this with your config)")
    return main


__all__ = ["TRAINED", "SearchResult", "load_run_config", "restore_leaves", "run_search"]
