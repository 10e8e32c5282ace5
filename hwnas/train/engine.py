"""One epoch of training and one evaluation pass: AMP, channels_last, auxiliary head, drop-path, EMA, clipping."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from hwnas.distributed import all_reduce_sums, current_info
from hwnas.search.loop import NonFiniteLossError

StepHook = Callable[[int, dict[str, float]], None]


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP / torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def amp_dtype_for(setting: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype: None on the CPU or when ``off``; ``auto`` picks bfloat16 where CUDA supports it."""
    if device.type != "cuda" or setting == "off":
        return None
    if setting == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, setting)


class Trainer:
    """Trains a plain network with the papers' evaluation protocols.

    Args:
        model: The network (possibly DDP-wrapped). optimizer, scheduler: from :mod:`hwnas.train.parts`.
        criterion: Training loss; ``mixup`` (timm Mixup or None) turns targets soft first.
        ema: timm ModelEmaV3 or None. device: Where batches go.
        amp_dtype: Autocast dtype (None: full precision). channels_last: NHWC inputs (CUDA).
        grad_clip: Max gradient norm (None: no clipping). aux_weight: Weight of the auxiliary logits' loss.
        drop_path: Final drop-path probability, reached linearly at the last epoch (DARTS).
        epochs: Length of the schedule. per_step: The scheduler updates every optimizer step.
        max_steps: Cap on steps per epoch (smoke runs).

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> from hwnas.train.config import OptimConfig, SchedConfig
        >>> from hwnas.train.parts import build_optimizer, build_scheduler
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> opt = build_optimizer(net, OptimConfig(lr=0.1))
        >>> tr = Trainer(net, optimizer=opt, scheduler=build_scheduler(opt, SchedConfig(), epochs=2, steps_per_epoch=1),
        ...              criterion=nn.CrossEntropyLoss(), device=torch.device("cpu"), epochs=2)
        >>> loader = DataLoader(TensorDataset(torch.randn(8, 1, 2, 2), torch.randint(0, 2, (8,))), batch_size=8)
        >>> sorted(tr.train_epoch(loader, 0))
        ['acc', 'images_per_s', 'loss', 'lr', 'seconds']
    """

    def __init__(self, model: nn.Module, *, optimizer: torch.optim.Optimizer, scheduler: Any, criterion: nn.Module,
                 device: torch.device, epochs: int, mixup: Any = None, ema: Any = None,
                 amp_dtype: torch.dtype | None = None, channels_last: bool = False, grad_clip: float | None = None,
                 aux_weight: float = 0.0, drop_path: float = 0.0, per_step: bool = False,
                 max_steps: int | None = None) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.criterion, self.mixup, self.ema = criterion, mixup, ema
        self.device, self.epochs = device, epochs
        self.amp_dtype = amp_dtype
        self.channels_last = channels_last and device.type == "cuda"
        self.grad_clip, self.aux_weight, self.drop_path = grad_clip, aux_weight, drop_path
        self.per_step, self.max_steps = per_step, max_steps
        # float16 needs loss scaling; bfloat16 has float32's range and does not.
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype is torch.float16)
        self.global_step = 0
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)

    # -- state -------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        state = {"model": unwrap(self.model).state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                 "global_step": self.global_step}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.global_step = int(state["global_step"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])

    # -- training ----------------------------------------------------------------------------------

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def start_epoch(self, epoch: int) -> None:
        """Set the epoch's lr (epoch-wise schedules) and drop-path probability (DARTS: linear in the epoch)."""
        self.scheduler.step(epoch)
        net = unwrap(self.model)
        if hasattr(net, "drop_path_prob"):
            net.drop_path_prob = self.drop_path * epoch / self.epochs

    def train_epoch(self, loader: Iterable[Any], epoch: int, *, on_step: StepHook | None = None) -> dict[str, float]:
        """One pass over ``loader``; returns mean loss, accuracy (without Mixup), lr, images/s and seconds."""
        self.start_epoch(epoch)
        self.model.train()
        # Sums stay on the device: no host sync per step (the plain-loop throughput benchmark relies on it).
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.float64)
        seen = 0
        start, steps = time.perf_counter(), 0
        for x, y in loader:
            if self.max_steps is not None and steps >= self.max_steps:
                break
            x, y = self._inputs(x), y.to(self.device, non_blocking=True)
            hard = y
            if self.mixup is not None:
                x, y = self.mixup(x, y)
            with self._autocast():
                out = self.model(x)
                logits, aux = (out if isinstance(out, (tuple, list)) else (out, None))
                loss = self.criterion(logits, y)
                if aux is not None and self.aux_weight > 0:
                    loss = loss + self.aux_weight * self.criterion(aux, y)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if self.grad_clip:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.global_step += 1
            steps += 1
            if self.per_step:
                self.scheduler.step_update(self.global_step)
            if self.ema is not None:
                self.ema.update(unwrap(self.model), step=self.global_step)
            n = hard.shape[0]
            seen += n
            loss_sum += loss.detach().double() * n
            correct += (logits.detach().argmax(1) == hard).sum()
            # A NaN stays in the running sum, so checking it now and then (every step on the CPU, where it costs
            # no device sync) catches every non-finite loss before any checkpoint is written.
            if (self.device.type == "cpu" or steps % 50 == 0) and not bool(torch.isfinite(loss_sum)):
                raise NonFiniteLossError(
                    f"the training loss became non-finite at epoch {epoch} (by step {steps}); the last good "
                    "checkpoint is kept: lower optim.lr, set reg.grad_clip, or set amp=off"
                )
            if on_step is not None:
                on_step(steps, {"loss": loss.detach(), "lr": self.lr})
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - start
        if not bool(torch.isfinite(loss_sum)):
            raise NonFiniteLossError(f"the training loss became non-finite in epoch {epoch}; the last good checkpoint "
                                     "is kept: lower optim.lr, set reg.grad_clip, or set amp=off")
        sums = _all_reduce(torch.stack([loss_sum.cpu(), correct.cpu(), torch.tensor(float(seen), dtype=torch.float64)]))
        n = max(sums[2].item(), 1.0)
        stats = {"loss": sums[0].item() / n, "lr": self.lr, "seconds": seconds,
                 "images_per_s": sums[2].item() / max(seconds, 1e-9)}
        if self.mixup is None:
            stats["acc"] = sums[1].item() / n
        return stats

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # -- evaluation --------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, loader: Iterable[Any], *, model: nn.Module | None = None) -> dict[str, float]:
        """Cross-entropy, top-1 and top-5 accuracy of ``model`` (default: the trained one) over ``loader``."""
        net = model if model is not None else self.model
        was_training = net.training
        net.eval()
        sums = torch.zeros(4, dtype=torch.float64)  # loss*n, top1, top5, n
        try:
            for x, y in loader:
                x, y = self._inputs(x), y.to(self.device, non_blocking=True)
                with self._autocast():
                    out = net(x)
                logits = (out[0] if isinstance(out, (tuple, list)) else out).float()
                k = min(5, logits.shape[1])
                top = logits.topk(k, dim=1).indices
                sums += torch.tensor([
                    float(nn.functional.cross_entropy(logits, y, reduction="sum")),
                    float((top[:, 0] == y).sum()), float((top == y[:, None]).any(1).sum()), y.shape[0],
                ], dtype=torch.float64)
        finally:
            net.train(was_training)
        sums = _all_reduce(sums)
        n = max(sums[3].item(), 1.0)
        out = {"loss": sums[0].item() / n, "acc": sums[1].item() / n, "acc_top5": sums[2].item() / n,
               "images": sums[3].item()}
        if not math.isfinite(out["loss"]):
            out["loss"] = float("nan")
        return out


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    """Sum a 1-D float tensor of counts over the processes of a torchrun job (identity in a single process)."""
    summed = all_reduce_sums({str(i): float(v) for i, v in enumerate(t.tolist())}, info=current_info())
    return torch.tensor([summed[str(i)] for i in range(len(t))], dtype=torch.float64)
