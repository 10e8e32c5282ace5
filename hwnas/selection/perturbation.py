"""Perturbation-based selection (DARTS-PT: Wang et al., "Rethinking Architecture Selection in Differentiable
NAS", ICLR 2021), on any space and strategy, built on the supernet's masks.

α's magnitude does not say how much an op contributes to the supernet; its removal does. Faithful
to the official code (``ruocwang/darts-pt``) by default:

* **Operation projection.** Pick an undecided edge (random with the run's seed, the code's only
  option); for each of its candidates, perturb it away (its weight set to 0, the others *not*
  renormalised) and measure the supernet on the held-out split with BatchNorm in training mode;
  keep the candidate whose removal hurts most (``acc``: lowest accuracy, ties to the lower index;
  ``loss``: highest loss) and fix the edge to it. In cell spaces each round decides one edge per
  cell type (label group: ``normal`` then ``reduce``), as the code does.
* **Topology projection** of every InputChoice that keeps ``k`` of ``n`` inputs, after all op rounds:
  drop the input whose removal hurts least (highest accuracy, ties to the later input) until ``k``
  remain. The code re-measures the remaining inputs with the earlier drops *still present*
  (``topology="faithful"``, the default); ``"sequential"`` masks each drop before ranking the rest.
* **Schedule.** A decision at every tuning epoch ``e`` with ``e % proj_interval == 0`` or ``e == T-1``,
  each followed by one epoch of fine-tuning: a fresh SGD at ``lr_factor`` x the search lr, constant
  (the code builds a cosine schedule and never steps it), α trained with the search's Adam state
  unless ``fix_alpha``. ``T`` defaults to ``proj_interval * (rounds - 1) + 1`` (the DARTS-space code:
  17 rounds, 81 epochs); the NB201 code uses ``T = proj_interval * (rounds - 1)`` = 25 for its 6
  rounds, so the ``darts_pt_nb201`` recipe sets ``tune_epochs: 25``.

Where hwnas departs from the code, on purpose:

* The code measures each candidate on a fresh shuffle of the whole held-out split with fresh
  augmentations and leaves BatchNorm's running statistics polluted. hwnas gives every candidate
  of one decision the same batches and random draws (:func:`hwnas.selection.measure.measure`),
  restores the running statistics, and can bound a measurement to ``eval_batches`` batches.
* Because measurements are then reproducible, faithful topology projection measures each input
  once: re-measuring the same network gives the same numbers, so its rounds reduce to "keep the
  ``k`` inputs whose removal hurts most", the paper's description.
* A Choice that feeds an InputChoice never keeps a zero op (hwnas's rule for edges that are kept),
  so zero ops are not candidates of its projection.
"""

from __future__ import annotations

import dataclasses
import random
import sys
from collections.abc import Sequence
from typing import Any, Literal

import torch

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import ConfigError
from hwnas.api.derive import magnitude_arch
from hwnas.api.graph import DecisionGraph
from hwnas.api.protocols import SupernetLike
from hwnas.api.registries import SELECTORS
from hwnas.data.sampler import mix_seed
from hwnas.selection.base import SelectorBase
from hwnas.selection.connected import connected_arch, preference_of
from hwnas.selection.context import SelectionContext
from hwnas.selection.measure import Measurement, measure

_STATE_VERSION = 1
# Measurement keys: far above any training epoch, distinct per decision and per topology round.
_KEY_BASE = 1_000_000


@SELECTORS.register("perturbation")
class PerturbationSelector(SelectorBase):
    """DARTS-PT: decide one edge per cell type and round by the accuracy lost when each candidate is removed.

    Args:
        criterion: ``acc`` (keep the candidate whose removal lowers held-out accuracy most) or ``loss``
            (raises held-out loss most).
        edge_order: ``random`` (seeded by the run), ``fixed`` (network order) or a list of labels to
            decide first, in that order (the others follow in network order).
        proj_interval: Tuning epochs between decisions (paper: 5).
        tune_epochs: Total tuning epochs ``T`` (default ``proj_interval * (rounds - 1) + 1``).
        topology: ``faithful`` (the code: rank inputs without masking earlier drops) or ``sequential``.
        eval_batches: Held-out batches per measurement (None: the whole split, as the paper).
        lr_factor: Tuning lr = search lr x this (paper: 1/10).
        fix_alpha: Freeze α while tuning (DARTS-PT fix α); None: as the search (``train.fix_alpha``).
        bn: BatchNorm mode of measurements: ``train`` (the paper) or ``eval``.

    Example:
        >>> sel = PerturbationSelector(proj_interval=1, eval_batches=2)
        >>> # arch = sel.select(supernet, context)   # hwnas search / hwnas select build the context
    """

    def __init__(
        self,
        *,
        criterion: Literal["acc", "loss"] = "acc",
        edge_order: str | Sequence[str] = "random",
        proj_interval: int = 5,
        tune_epochs: int | None = None,
        topology: Literal["faithful", "sequential"] = "faithful",
        eval_batches: int | None = None,
        lr_factor: float = 0.1,
        fix_alpha: bool | None = None,
        bn: Literal["train", "eval"] = "train",
    ) -> None:
        if criterion not in ("acc", "loss"):
            raise ConfigError(f"selection.kwargs.criterion must be 'acc' or 'loss', got {criterion!r}")
        if topology not in ("faithful", "sequential"):
            raise ConfigError(f"selection.kwargs.topology must be 'faithful' or 'sequential', got {topology!r}")
        if bn not in ("train", "eval"):
            raise ConfigError(f"selection.kwargs.bn must be 'train' or 'eval', got {bn!r}")
        if isinstance(edge_order, str) and edge_order not in ("random", "fixed"):
            raise ConfigError(f"selection.kwargs.edge_order must be 'random', 'fixed' or a list of labels, "
                              f"got {edge_order!r}")
        if int(proj_interval) < 1:
            raise ConfigError(f"selection.kwargs.proj_interval must be >= 1, got {proj_interval}")
        if tune_epochs is not None and int(tune_epochs) < 1:
            raise ConfigError(f"selection.kwargs.tune_epochs must be >= 1, got {tune_epochs}")
        if eval_batches is not None and int(eval_batches) < 1:
            raise ConfigError(f"selection.kwargs.eval_batches must be >= 1, got {eval_batches}")
        if not float(lr_factor) > 0:
            raise ConfigError(f"selection.kwargs.lr_factor must be positive, got {lr_factor}")
        self.criterion = criterion
        self.edge_order = edge_order if isinstance(edge_order, str) else [str(x) for x in edge_order]
        self.proj_interval = int(proj_interval)
        self.tune_epochs = None if tune_epochs is None else int(tune_epochs)
        self.topology = topology
        self.eval_batches = None if eval_batches is None else int(eval_batches)
        self.lr_factor = float(lr_factor)
        self.fix_alpha = fix_alpha
        self.bn = bn
        #: One entry per decision: round, tuning epoch, label, kind, the measurement without each candidate.
        self.log: list[dict[str, Any]] = []

    # -- the plan ---------------------------------------------------------------------------------
    def _op_candidates(self, supernet: Any, graph: DecisionGraph, label: str) -> list[str]:
        allowed = supernet.allowed(label)
        return [c for c in graph.selectable(label) if c in allowed]

    def plan(self, supernet: Any, seed: int) -> dict[str, Any]:
        """The decisions to make, per label group and kind, and the tuning epochs at which rounds happen."""
        graph = supernet.graph
        known = set(graph.labels)
        if not isinstance(self.edge_order, str):
            unknown = [lb for lb in self.edge_order if lb not in known]
            if unknown:
                raise ConfigError(f"selection.kwargs.edge_order names unknown label(s) {unknown[:5]}; "
                                  f"labels: {', '.join(graph.labels)}")
        rng = random.Random(mix_seed(seed, 104_729))
        ops: dict[str, list[str]] = {}
        topo: dict[str, list[str]] = {}
        for group, labels in graph.groups().items():
            op = [lb for lb in labels if lb in graph.choices and len(self._op_candidates(supernet, graph, lb)) > 1]
            tp = [lb for lb in labels if lb in graph.inputs and len(supernet.allowed(lb)) > graph.inputs[lb].n_chosen]
            for queue in (op, tp):
                if self.edge_order == "random":
                    rng.shuffle(queue)
                elif not isinstance(self.edge_order, str):
                    first = [lb for lb in self.edge_order if lb in queue]
                    queue[:] = first + [lb for lb in queue if lb not in first]
            ops[group], topo[group] = op, tp
        n_op = max((len(v) for v in ops.values()), default=0)
        n_topo = max((len(v) for v in topo.values()), default=0)
        rounds = n_op + n_topo
        total = self.tune_epochs or self.proj_interval * max(rounds - 1, 0) + 1
        epochs = [e for e in range(total) if e % self.proj_interval == 0 or e == total - 1][:rounds]
        if len(epochs) < rounds:
            raise ConfigError(f"perturbation selection needs {rounds} decision rounds but tune_epochs={total} with "
                              f"proj_interval={self.proj_interval} gives {len(epochs)}; raise tune_epochs")
        return {"ops": ops, "topology": topo, "op_rounds": n_op, "rounds": rounds, "tune_epochs": total,
                "decision_epochs": epochs}

    # -- selection --------------------------------------------------------------------------------
    def select(self, supernet: SupernetLike, context: SelectionContext | None = None) -> ArchSpec:
        ctx = context or SelectionContext()
        ctx.need("probe_loader", "train_loader", "valid_loader", "make_trainer", "train_config", method="perturbation")
        sn: Any = supernet
        state = ctx.resume_state if (ctx.resume_state or {}).get("version") == _STATE_VERSION else None
        plan = state["plan"] if state else self.plan(sn, ctx.seed)
        self.log = list(state["log"]) if state else []
        start = int(state["epoch"]) if state else 0
        done = int(state["rounds_done"]) if state else 0
        fix = ctx.train_config.fix_alpha if self.fix_alpha is None else bool(self.fix_alpha)
        tune_cfg = dataclasses.replace(
            ctx.train_config, w_lr=ctx.train_config.w_lr * self.lr_factor, w_schedule="constant", fix_alpha=fix,
            arch_start_epoch=0, epochs=plan["tune_epochs"],
        )
        tuner = ctx.make_trainer(tune_cfg)
        if state:
            tuner.load_state_dict(state["tuner"])
        elif ctx.trainer is not None:  # α keeps its Adam state from the search, as the code restores it
            tuner.a_opt.load_state_dict(ctx.trainer.a_opt.state_dict())
        for epoch in range(start, plan["tune_epochs"]):
            if done < plan["rounds"] and plan["decision_epochs"][done] == epoch:
                self._round(sn, ctx, plan, done, epoch)
                done += 1
            loader_epoch = ctx.epoch_offset + epoch
            ctx.train_loader.set_epoch(loader_epoch)
            ctx.valid_loader.set_epoch(loader_epoch)
            stats = tuner.train_epoch(loader_epoch, ctx.train_loader, ctx.valid_loader)
            if ctx.logger is not None:
                ctx.logger.scalars(stats, epoch, prefix="select/tune/")
            if ctx.checkpoint is not None:
                ctx.checkpoint({"version": _STATE_VERSION, "plan": plan, "log": self.log, "epoch": epoch + 1,
                                "rounds_done": done, "tuner": tuner.state_dict()})
        with torch.no_grad():
            arch = magnitude_arch(sn.space, sn.probabilities(), sn.input_weights())
        # every edge kept `none` (the supernet depended on no candidate): never return a constant network
        arch = connected_arch(sn.space, arch, preference_of(sn), ctx.input_size)
        return arch.with_metrics(selection="perturbation", decisions=len(self.log))

    def _round(self, sn: Any, ctx: SelectionContext, plan: dict[str, Any], r: int, epoch: int) -> None:
        for group in plan["ops"]:
            if r < plan["op_rounds"]:
                queue, k, kind = plan["ops"][group], r, "op"
            else:
                queue, k, kind = plan["topology"][group], r - plan["op_rounds"], "input"
            if k >= len(queue):
                continue
            label = queue[k]
            entry = (self._decide_op if kind == "op" else self._decide_inputs)(sn, ctx, label, r)
            entry.update(round=r, epoch=epoch)
            self.log.append(entry)
            self._report(sn, ctx, entry)

    def _measure(self, sn: Any, ctx: SelectionContext, key: int) -> Measurement:
        return measure(sn, ctx.probe_loader, key=key, seed=ctx.seed, max_batches=self.eval_batches, dist=ctx.dist,
                       device=ctx.device, bn=self.bn)

    def _worse(self, a: float, b: float) -> bool:
        """Whether the removal giving ``a`` hurts strictly more than the one giving ``b``."""
        return a < b if self.criterion == "acc" else a > b

    def _decide_op(self, sn: Any, ctx: SelectionContext, label: str, r: int) -> dict[str, Any]:
        key = _KEY_BASE + 1000 * r
        cands = self._op_candidates(sn, sn.graph, label)
        base = self._measure(sn, ctx, key)
        scores: dict[str, float] = {}
        keep = None
        for c in cands:
            with sn.perturb(label, c):
                scores[c] = self._measure(sn, ctx, key).value(self.criterion)
            if keep is None or self._worse(scores[c], scores[keep]):
                keep = c
        assert keep is not None
        sn.fix(label, keep)
        return {"label": label, "kind": "op", "kept": keep, "without": scores, "base": base.value(self.criterion)}

    def _decide_inputs(self, sn: Any, ctx: SelectionContext, label: str, r: int) -> dict[str, Any]:
        key = _KEY_BASE + 1000 * r + 1
        k = sn.graph.inputs[label].n_chosen
        remaining = list(sn.allowed(label))
        base = self._measure(sn, ctx, key)
        scores: dict[int, float] = {}
        dropped: list[int] = []
        while len(remaining) > k:
            drop = None
            for i in remaining:
                if self.topology == "sequential" or i not in scores:
                    with sn.perturb(label, i):
                        scores[i] = self._measure(sn, ctx, key).value(self.criterion)
                # the code drops the removal that hurts least; ties go to the later input
                if drop is None or not self._worse(scores[i], scores[drop]):
                    drop = i
            assert drop is not None
            remaining.remove(drop)
            dropped.append(drop)
            if self.topology == "sequential":
                sn.restrict(label, remaining)
        sn.fix(label, remaining)
        return {"label": label, "kind": "input", "kept": remaining, "dropped": dropped,
                "without": {str(i): v for i, v in scores.items()}, "base": base.value(self.criterion)}

    def _report(self, sn: Any, ctx: SelectionContext, entry: dict[str, Any]) -> None:
        what = ", ".join(f"{c} {v:.4f}" for c, v in entry["without"].items())
        if ctx.verbose:
            print(f"perturbation round {entry['round'] + 1} (tuning epoch {entry['epoch']}): {entry['label']} keeps "
                  f"{entry['kept']}  ({self.criterion} without each: {what}; with all {entry['base']:.4f})",
                  file=sys.stderr)
        if ctx.logger is not None:
            ctx.logger.decision(entry, criterion=self.criterion, step=len(self.log))
            with torch.no_grad():
                arch = magnitude_arch(sn.space, sn.probabilities(), sn.input_weights())
            ctx.logger.derived_arch(arch, sn.space, len(self.log), prefix="select")
            ctx.logger.decision_order(self.log, step=len(self.log))
