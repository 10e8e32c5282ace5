"""The typed search config: what a recipe YAML holds. Unknown keys are errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hwnas.data.config import DataConfig


@dataclass(frozen=True)
class SpaceConfig:
    """Which search space and its keyword arguments (``num_classes``/``in_channels`` come from the data)."""

    name: str = "darts"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SupernetConfig:
    """Which relaxation (``darts``, ``pc_darts``, ``proxyless``...) and its keyword arguments."""

    name: str = "darts"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    """The bilevel loop. Defaults are DARTS's (Liu et al., 2019)."""

    epochs: int = 50
    # weight step: SGD with cosine annealing
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_nesterov: bool = False
    w_weight_decay: float = 3e-4
    grad_clip: float = 5.0
    label_smoothing: float = 0.0
    # architecture step: Adam on the held-out part of the training data
    arch_optimizer: Literal["adam", "sgd"] = "adam"
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    arch_eps: float = 1e-8
    order: Literal["first", "second"] = "first"
    arch_start_epoch: int = 0
    arch_every: int = 1
    arch_steps: int = 1
    # execution
    amp: bool = False
    amp_dtype: Literal["float16", "bfloat16"] = "float16"
    channels_last: bool = False
    max_steps_per_epoch: int | None = None
    eval_batches: int | None = None
    log_every: int = 20
    log_images_every: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"train.epochs must be >= 1, got {self.epochs}")
        if self.arch_every < 1 or self.arch_steps < 1:
            raise ValueError("train.arch_every and train.arch_steps must be >= 1")
        if self.order == "second" and self.amp:
            raise ValueError("train.order=second does not support train.amp=true; use first order with AMP")


@dataclass(frozen=True)
class CostConfig:
    """A hardware cost term of the loss (see :class:`hwnas.losses.CostTerm`)."""

    target: str
    metric: str = "latency_ms"
    value: float = 1.0
    form: Literal["add", "mul", "mul_log"] = "mul"
    beta: float = 0.6
    weight: float = 0.1


@dataclass(frozen=True)
class SelectionConfig:
    """How the final architecture is picked from the trained supernet."""

    name: str = "magnitude"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckpointConfig:
    every_epochs: int = 1
    keep_last: int = 2


@dataclass(frozen=True)
class SearchConfig:
    """A whole search run. Load with :func:`hwnas.search.load_search_config`."""

    name: str = "quickstart"
    out_dir: str = "runs"
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    space: SpaceConfig = field(default_factory=SpaceConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    cost: tuple[CostConfig, ...] = ()
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
