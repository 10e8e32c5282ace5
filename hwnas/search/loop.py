"""The bilevel loop: weight steps on the train split, architecture steps on the held-out split."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hwnas.api.errors import UserError
from hwnas.api.protocols import SupernetLike
from hwnas.distributed import DistInfo, all_reduce_grads, all_reduce_sums, average_buffers
from hwnas.losses import SearchLoss
from hwnas.search.config import TrainConfig
from hwnas.search.execution import apply_channels_last, step_execution, to_memory_format


class NonFiniteLossError(UserError):
    """The loss became NaN or infinite; the run stops and its last good checkpoint stays."""


@dataclass
class EpochStats:
    """Running means of one epoch's figures."""

    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, value: float, n: int = 1) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value * n
        self.counts[key] = self.counts.get(key, 0) + n

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / max(self.counts[k], 1) for k in self.sums}


def _logits(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(1) == y).float().mean())


@contextlib.contextmanager
def frozen(params: list[nn.Parameter]) -> Iterator[None]:
    """Inside the block ``params`` do not require grad, so autograd neither saves what only their gradient
    needs nor computes it (a convolution's weight gradient, a mixed op's candidate outputs for α)."""
    thawed = [p for p in params if p.requires_grad]
    for p in thawed:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in thawed:
            p.requires_grad_(True)


@contextlib.contextmanager
def phase(supernet: SupernetLike, name: str) -> Iterator[None]:
    """Tell the strategy what the forwards inside are for (ProxylessNAS samples differently per phase)."""
    previous = supernet.phase
    supernet.set_phase(name)
    try:
        yield
    finally:
        supernet.set_phase(previous)


class BilevelTrainer:
    """Owns the optimizers and runs one epoch of alternating architecture and weight steps.

    Args:
        supernet: A supernet strategy (see :class:`hwnas.api.SupernetLike`).
        loss: The search loss; its cost terms enter only the architecture step.
        train: The loop settings (``train.fix_alpha`` skips every architecture step).
        device: Where the batches go.
        schedule_epochs: Epochs the cosine lr schedule spans (default ``train.epochs``); a sub-supernet
            restarted part-way through a search spans the epochs left.
        dist: The processes of a torchrun job: every step averages its gradients over them (weights in the
            weight step, α in the architecture step) before the optimizer moves, so weights and α stay
            identical on every rank; epoch figures and BatchNorm statistics are averaged too.
    """

    def __init__(self, supernet: SupernetLike, *, loss: SearchLoss, train: TrainConfig, device: torch.device,
                 schedule_epochs: int | None = None, dist: DistInfo | None = None) -> None:
        self.supernet = supernet
        self.dist = dist or DistInfo()
        self.loss = loss
        self.cfg = train
        self.device = device
        self.w_params = list(supernet.weight_parameters())
        self.a_params = list(supernet.arch_parameters())
        w_ids = {id(p) for p in self.w_params}
        if any(id(p) in w_ids for p in self.a_params):
            raise RuntimeError("architecture parameters leaked into the weight parameters; the supernet is broken")
        self.w_opt = torch.optim.SGD(
            self.w_params,
            lr=train.w_lr,
            momentum=train.w_momentum,
            nesterov=train.w_nesterov,
            weight_decay=train.w_weight_decay,
        )
        self.w_sched: torch.optim.lr_scheduler.LRScheduler
        if train.w_schedule == "constant":
            self.w_sched = torch.optim.lr_scheduler.LambdaLR(self.w_opt, lambda _: 1.0)
        else:
            self.w_sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.w_opt, T_max=max(int(schedule_epochs or train.epochs), 1), eta_min=train.w_lr_min
            )
        if train.arch_optimizer == "adam":
            self.a_opt: torch.optim.Optimizer = torch.optim.Adam(
                self.a_params,
                lr=train.arch_lr,
                betas=train.arch_betas,
                eps=train.arch_eps,
                weight_decay=train.arch_weight_decay,
            )
        else:
            self.a_opt = torch.optim.SGD(self.a_params, lr=train.arch_lr, weight_decay=train.arch_weight_decay)
        self.amp_dtype, self.channels_last = step_execution(train, device)
        if self.channels_last:
            apply_channels_last(supernet)  # type: ignore[arg-type]
        use_scaler = self.amp_dtype is torch.float16
        self.w_scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)
        self.a_scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)
        self.global_step = 0
        #: The figures of the latest step (weight and architecture), for step-level logging.
        self.last_details: dict[str, float] = {}

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "w_opt": self.w_opt.state_dict(),
            "a_opt": self.a_opt.state_dict(),
            "w_sched": self.w_sched.state_dict(),
            "w_scaler": self.w_scaler.state_dict(),
            "a_scaler": self.a_scaler.state_dict(),
            "global_step": self.global_step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.w_opt.load_state_dict(state["w_opt"])
        self.a_opt.load_state_dict(state["a_opt"])
        self.w_sched.load_state_dict(state["w_sched"])
        self.w_scaler.load_state_dict(state["w_scaler"])
        self.a_scaler.load_state_dict(state["a_scaler"])
        self.global_step = int(state["global_step"])

    # -- steps ---------------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _frozen(self, params: list[nn.Parameter]) -> contextlib.AbstractContextManager[Any]:
        """Freeze what this step does not train (``train.grad_scope: trained``)."""
        return frozen(params) if self.cfg.grad_scope == "trained" else contextlib.nullcontext()

    def _to_device(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_memory_format(batch[0].to(self.device, non_blocking=True), self.channels_last)
        return x, batch[1].to(self.device, non_blocking=True)

    def _check_finite(self, loss: torch.Tensor, where: str) -> None:
        if not torch.isfinite(loss.detach()).all():
            raise NonFiniteLossError(
                f"the {where} loss became {float(loss.detach())} at step {self.global_step}; lower train.w_lr/"
                "train.arch_lr, keep train.grad_clip, or disable train.amp (the last good checkpoint is kept)"
            )

    def arch_step(self, train_batch: Any, valid_batch: Any) -> dict[str, float]:
        """One architecture update on a held-out batch (first or second order)."""
        xv, yv = self._to_device(valid_batch)
        self.a_opt.zero_grad(set_to_none=True)
        with phase(self.supernet, "arch"):
            if self.cfg.order == "second":
                from hwnas.search.unrolled import unrolled_arch_backward

                xt, yt = self._to_device(train_batch)
                lr = self.w_opt.param_groups[0]["lr"]

                def loss_fn(out: Any, y: torch.Tensor) -> torch.Tensor:
                    return self.loss(_logits(out), y, self.supernet)[0]

                total = unrolled_arch_backward(
                    self.supernet,
                    loss_fn,
                    (xt, yt),
                    (xv, yv),
                    lr=lr,
                    momentum=self.cfg.w_momentum,
                    weight_decay=self.cfg.w_weight_decay,
                    momentum_buffers=_momentum_buffers(self.w_opt),
                    reduce=self._mean_over_ranks if self.dist.enabled else None,
                )
                self._check_finite(torch.as_tensor(float(total)), "architecture")
                details = {"loss/total": float(total)}
            else:
                with self._frozen(self.w_params), self._autocast():
                    logits = _logits(self.supernet(xv))
                    total, details = self.loss(logits.float(), yv, self.supernet)
                self._check_finite(total, "architecture")
                if total.requires_grad:  # False only where nothing left to decide reaches the loss
                    self.a_scaler.scale(total).backward()
                all_reduce_grads(self.a_params, info=self.dist)
            self.a_scaler.step(self.a_opt)
            self.a_scaler.update()
            self.supernet.after_arch_step()
        return {f"arch/{k}": v for k, v in details.items() if isinstance(v, float)}

    def weight_step(self, batch: Any) -> dict[str, float]:
        """One weight update on a train batch (cross-entropy only: the cost does not depend on weights)."""
        x, y = self._to_device(batch)
        self.w_opt.zero_grad(set_to_none=True)
        with phase(self.supernet, "weight"), self._frozen(self.a_params), self._autocast():
            logits = _logits(self.supernet(x))
            ce = nn.functional.cross_entropy(logits.float(), y, label_smoothing=self.loss.label_smoothing)
        self._check_finite(ce, "weight")
        self.w_scaler.scale(ce).backward()
        # The same summed gradient on every rank (an inf on one reaches all, so every scaler skips alike).
        all_reduce_grads(self.w_params, info=self.dist)
        if self.cfg.grad_clip and self.cfg.grad_clip > 0:
            self.w_scaler.unscale_(self.w_opt)
            nn.utils.clip_grad_norm_(self.w_params, self.cfg.grad_clip)
        self.w_scaler.step(self.w_opt)
        self.w_scaler.update()
        self.global_step += 1
        return {"train/loss": float(ce.detach()), "train/acc": _accuracy(logits.detach(), y)}

    def arch_due(self, epoch: int, step: int) -> bool:
        if self.cfg.fix_alpha:
            return False
        return epoch >= self.cfg.arch_start_epoch and step % self.cfg.arch_every == 0

    def train_epoch(
        self, epoch: int, train_loader: Any, valid_loader: Any, *, on_step: Any = None, progress: Any = None
    ) -> dict[str, float]:
        """Run one epoch; ``on_step(trainer, epoch, step)`` is called after each weight step."""
        self.supernet.train()
        stats = EpochStats()
        n_steps = len(train_loader)
        if self.cfg.max_steps_per_epoch is not None:
            n_steps = min(n_steps, self.cfg.max_steps_per_epoch)
        valid_iter = _cycle(valid_loader)
        for step, batch in enumerate(train_loader):
            if step >= n_steps:
                break
            self.last_details = {}
            if self.arch_due(epoch, step):
                valid_batch = next(valid_iter)
                for _ in range(self.cfg.arch_steps):
                    self.last_details.update(self.arch_step(batch, valid_batch))
                for k, v in self.last_details.items():
                    stats.add(k, v)
            w_details = self.weight_step(batch)
            self.last_details.update(w_details)
            for k, v in w_details.items():
                stats.add(k, v, n=len(batch[1]))
            if progress is not None:
                progress.update(1)
                progress.set_postfix(loss=f"{stats.means()['train/loss']:.3f}", acc=f"{stats.means()['train/acc']:.3f}")
            if on_step is not None:
                on_step(self, epoch, step)
        self.w_sched.step()
        average_buffers(self.supernet, info=self.dist)  # each rank's BatchNorm saw its own shard
        return self._reduced_means(stats)

    @torch.no_grad()
    def evaluate(self, loader: Any, *, max_batches: int | None = None) -> dict[str, float]:
        """Loss and accuracy of the supernet on ``loader`` (eval mode)."""
        self.supernet.eval()
        stats = EpochStats()
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            x, y = self._to_device(batch)
            with self._autocast():
                logits = _logits(self.supernet(x)).float()
            loss = nn.functional.cross_entropy(logits, y)
            stats.add("valid/loss", float(loss), n=len(y))
            stats.add("valid/acc", _accuracy(logits, y), n=len(y))
        self.supernet.train()
        return self._reduced_means(stats)

    def _mean_over_ranks(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        flat = torch.cat([t.reshape(-1) for t in tensors])
        torch.distributed.all_reduce(flat)
        flat /= self.dist.world_size
        return [c.view_as(t) for c, t in zip(flat.split([t.numel() for t in tensors]), tensors)]

    def _reduced_means(self, stats: EpochStats) -> dict[str, float]:
        if not self.dist.enabled:
            return stats.means()
        sums = all_reduce_sums({**{f"s/{k}": v for k, v in stats.sums.items()},
                                **{f"n/{k}": float(v) for k, v in stats.counts.items()}}, info=self.dist)
        return {k: sums[f"s/{k}"] / max(sums[f"n/{k}"], 1.0) for k in stats.sums}

    def steps_per_epoch(self, train_loader: Any) -> int:
        n = len(train_loader)
        return n if self.cfg.max_steps_per_epoch is None else min(n, self.cfg.max_steps_per_epoch)


def _cycle(loader: Any) -> Iterator[Any]:
    # Re-iterating a loader with an epoch-seeded sampler gives the same order again; that is fine
    # for the held-out split, which only needs to be disjoint from the train split.
    while True:
        empty = True
        for b in loader:
            empty = False
            yield b
        if empty:
            raise UserError("the architecture (valid) split is empty; raise data.subset or lower data.train_portion")


def _momentum_buffers(opt: torch.optim.Optimizer) -> dict[int, torch.Tensor]:
    """The SGD momentum buffers by parameter id, for DARTS's virtual step."""
    return {
        id(p): opt.state[p]["momentum_buffer"]
        for g in opt.param_groups
        for p in g["params"]
        if p in opt.state and opt.state[p].get("momentum_buffer") is not None
    }
