"""The training parts hwnas takes from timm: optimizer and scheduler factories, losses, Mixup/CutMix, EMA."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hwnas.api.config import ConfigError
from hwnas.train.config import OptimConfig, RegConfig, SchedConfig


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """``timm.optim.create_optimizer_v2`` with the recipe's settings.

    Weight decay applies to every parameter unless ``no_decay_bn`` (then timm exempts all 1-D parameters:
    BN weights and biases, and biases; ProxylessNAS's ``no_decay_keys: bn`` exempts BN only, and its networks
    have no conv biases, so the two differ only by the classifier's bias).

    Example:
        >>> opt = build_optimizer(nn.Linear(2, 2), OptimConfig(opt="nesterov", lr=0.1, weight_decay=5e-4))
        >>> type(opt).__name__, opt.param_groups[0]["nesterov"], opt.param_groups[0]["weight_decay"]
        ('SGD', True, 0.0005)
    """
    from timm.optim import create_optimizer_v2

    kwargs = dict(cfg.kwargs)
    if cfg.eps is not None:
        kwargs["eps"] = cfg.eps
    try:
        return create_optimizer_v2(model, opt=cfg.opt, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                   momentum=cfg.momentum, filter_bias_and_bn=cfg.no_decay_bn, **kwargs)
    except (AssertionError, ValueError, TypeError) as e:
        raise ConfigError(f"optim: timm cannot build optimizer {cfg.opt!r} ({e}); use a timm optimizer name "
                          "such as sgd, nesterov, momentum, rmsproptf, adamw") from None


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: SchedConfig, *, epochs: int,
                    steps_per_epoch: int) -> Any:
    """``timm.scheduler.create_scheduler_v2``; call ``step(epoch)`` before each epoch, and with ``per_step``
    also ``step_update(global_step)`` after each optimizer step.

    ``cosine`` with no warm-up gives lr(e) = min_lr + (lr - min_lr)(1 + cos(pi e / epochs)) / 2 at epoch e, the
    values of ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=epochs)`` stepped once per epoch (DARTS, NB201);
    ``linear`` is timm's ``poly`` with power 1; ``constant`` a step schedule with rate 1.
    """
    from timm.scheduler import create_scheduler_v2

    name, decay_rate = cfg.sched, cfg.decay_rate
    if name == "linear":
        name, decay_rate = "poly", 1.0
    elif name == "constant":
        name, decay_rate = "step", 1.0
    sched, _ = create_scheduler_v2(
        optimizer, sched=name, num_epochs=epochs, decay_epochs=cfg.decay_epochs, decay_rate=decay_rate,
        min_lr=cfg.min_lr, warmup_lr=cfg.warmup_lr, warmup_epochs=cfg.warmup_epochs,
        step_on_epochs=not cfg.per_step, updates_per_epoch=steps_per_epoch, cycle_limit=1,
    )
    return sched


def build_train_loss(cfg: RegConfig, *, num_classes: int) -> tuple[nn.Module, Any]:
    """(criterion, mixup): timm's SoftTargetCrossEntropy with timm's Mixup/CutMix when either alpha is > 0
    (label smoothing then goes into the soft targets), else timm's LabelSmoothingCrossEntropy, else plain CE."""
    from timm.data import Mixup
    from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy

    if cfg.mixup > 0 or cfg.cutmix > 0:
        mix = Mixup(mixup_alpha=cfg.mixup, cutmix_alpha=cfg.cutmix, label_smoothing=cfg.label_smoothing,
                    num_classes=num_classes)
        return SoftTargetCrossEntropy(), mix
    if cfg.label_smoothing > 0:
        return LabelSmoothingCrossEntropy(smoothing=cfg.label_smoothing), None
    return nn.CrossEntropyLoss(), None


def build_ema(model: nn.Module, decay: float | None) -> Any:
    """timm's ModelEmaV3 of ``model`` (None when ``decay`` is None)."""
    if decay is None:
        return None
    from timm.utils import ModelEmaV3

    return ModelEmaV3(model, decay=decay)
