"""The typed search config: what a recipe YAML holds. Unknown keys are errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hwnas.api.config import check_ranges
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
    #: Never update α (DARTS-PT's "fix α": the supernet trains at the initial, near-uniform α).
    fix_alpha: bool = False
    #: The weight lr schedule: cosine annealing to ``w_lr_min`` over the epochs, or constant (PT's tuning).
    w_schedule: Literal["cosine", "constant"] = "cosine"
    # execution: how a step is computed, never what it computes (hwnas.search.execution, benchmarks/peers.py)
    #: Autocast: ``auto`` is bfloat16 on CUDA where supported and on CPUs with native bfloat16, else off.
    amp: bool | Literal["auto"] = False
    amp_dtype: Literal["float16", "bfloat16"] = "float16"
    #: NHWC memory format: ``auto`` on the CPU and on CUDA with autocast.
    channels_last: bool | Literal["auto"] = "auto"
    #: ``trained``: each step differentiates only what it trains (the architecture step computes no weight
    #: gradient, the weight step none of α); ``all``: both, as DARTS's code does, the unused ones discarded.
    grad_scope: Literal["trained", "all"] = "trained"
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
        check_ranges("train", self, positive=("w_lr", "arch_lr", "arch_eps"),
                     non_negative=("w_lr_min", "w_weight_decay", "grad_clip", "arch_weight_decay", "arch_start_epoch",
                                   "log_every"),
                     unit=("w_momentum", "label_smoothing"), at_least_one=("max_steps_per_epoch", "eval_batches",
                                                                             "log_images_every"))
        if not all(0.0 <= b < 1.0 for b in self.arch_betas):
            raise ValueError(f"train.arch_betas must both lie in [0, 1), got {list(self.arch_betas)}")
        if self.order == "second" and self.amp is True:
            raise ValueError("train.order=second does not support train.amp=true; use first order with AMP")


@dataclass(frozen=True)
class CostConfig:
    """A hardware cost term of the loss (see :class:`hwnas.losses.CostTerm`)."""

    target: str
    metric: str = "latency_ms"
    value: float = 1.0
    form: Literal["add", "mul", "mul_log", "soft", "hard", "hinge"] = "mul"
    beta: float = 0.6
    weight: float = 0.1

    def __post_init__(self) -> None:
        check_ranges("cost", self, positive=("value",), non_negative=("beta", "weight"))


@dataclass(frozen=True)
class HardwareConfig:
    """Network-accelerator co-search: the hardware space searched with the network, and its budgets.

    With a ``name`` (a registered hardware space, e.g. ``tpe``) the space is attached to the supernet, its
    decisions get architecture parameters, cost terms with ``target: cosearch`` price the network on the hardware
    distribution, and selection adds the chosen configuration to ``arch.json``. Each budget adds a ``hinge``
    term ``penalty · max(0, E[x] / budget - 1)`` to the loss, and selection picks a configuration within it:
    by default (``select: objective``) the one with the lowest search loss for the selected network (its cost
    terms priced on the pair exactly), or (``probable``) the most probable under the hardware α.
    """

    #: Registered hardware-space name (``tpe``); empty: no co-search.
    name: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Area budget in mm² (None: none).
    area_mm2: float | None = None
    #: Power budget in W (energy / latency of the network on the configuration; None: none).
    power_w: float | None = None
    #: Weight of the budgets' hinge penalties in the loss.
    penalty: float = 1.0
    #: The configuration selected for the final network, among those within the budgets: ``objective`` (lowest
    #: search loss of the pair; the α steered the network's search) or ``probable`` (argmax of the hardware α).
    select: Literal["objective", "probable"] = "objective"

    def __post_init__(self) -> None:
        check_ranges("hardware", self, positive=("area_mm2", "power_w"), non_negative=("penalty",))
        if self.select not in ("objective", "probable"):
            raise ValueError(f"hardware.select must be objective or probable, got {self.select!r}")
        if not self.name and (self.kwargs or self.area_mm2 is not None or self.power_w is not None):
            raise ValueError("hardware.kwargs and the budgets need hardware.name (a hardware space, e.g. tpe)")


@dataclass(frozen=True)
class SelectionConfig:
    """How the final architecture is picked from the trained supernet."""

    name: str = "magnitude"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitsConfig:
    """Gradient-matching supernet splits (GM-NAS, Hu et al. 2022); see :mod:`hwnas.splits`.

    ``epochs`` lists when to split: after that many epochs of training (0 = before any). Each split
    turns every current supernet into ``groups`` sub-supernets whose copies of one edge are restricted to
    a group of its candidates. ``train.epochs`` counts all epochs, splits included (GM-NAS on NB201:
    ``epochs: [15, 30]`` with ``train.epochs: 60`` -> 4 leaves).
    """

    epochs: tuple[int, ...] = ()
    #: ``gradient`` (GM-NAS: minimise within-group gradient distance), ``random`` partition, or ``fewshot``
    #: (one sub-supernet per candidate of one edge, the few-shot NAS baseline).
    method: Literal["gradient", "random", "fewshot"] = "gradient"
    groups: int = 2
    min_group_size: int = 2
    #: Which edge to split: ``cross`` (largest cross-group distance of its best partition: the paper and its
    #: NB201 code), ``within`` (smallest within-group distance: its DARTS-space code), ``random``, ``first``.
    edge_rule: Literal["cross", "within", "random", "first"] = "cross"
    #: Glob patterns of the labels that may be split (empty: every Choice label with enough candidates).
    labels: tuple[str, ...] = ()
    #: Single training batches the gradient distances are averaged over (R; paper: 100).
    repeats: int = 100
    #: How a candidate is forced while its gradient is taken: ``hard`` (one-hot, the NB201 code) or ``soft``
    #: (the others' weights zeroed, its own kept: the DARTS-space code).
    force: Literal["hard", "soft"] = "hard"
    #: Whose gradients are compared: ``choices`` (every Choice's ops but the split edge's) and/or module
    #: paths inside the space (e.g. ``cells``: everything under ``space.cells`` but the split edge's ops).
    grad_scope: tuple[str, ...] = ("choices",)
    #: Which splits re-initialise the sub-supernets (weights, α, optimizers): none, the last (the papers'
    #: default), or all.
    restart: Literal["none", "final", "all"] = "final"
    #: The cosine schedule of a restarted sub-supernet spans the epochs left (``remaining``, the DARTS-space
    #: code's ``fix_sche``) or the whole search (``total``: the NB201 code, whose lr then never anneals fully).
    restart_schedule: Literal["remaining", "total"] = "remaining"
    #: How the leaf is chosen, on the held-out split: the accuracy of its selected architecture inside the
    #: leaf supernet (``arch_acc``), or the leaf supernet's own accuracy (``supernet_acc``).
    leaf_metric: Literal["arch_acc", "supernet_acc"] = "arch_acc"
    #: Held-out batches per leaf measurement (None: the whole split).
    eval_batches: int | None = None

    def __post_init__(self) -> None:
        if list(self.epochs) != sorted(set(self.epochs)) or any(e < 0 for e in self.epochs):
            raise ValueError(f"splits.epochs must be increasing epochs >= 0, got {list(self.epochs)}")
        if self.groups < 2 or self.min_group_size < 1 or self.repeats < 1:
            raise ValueError("splits.groups must be >= 2, splits.min_group_size and splits.repeats >= 1")
        if self.method != "gradient" and self.edge_rule in ("cross", "within"):
            raise ValueError(f"splits.edge_rule={self.edge_rule!r} needs gradient distances: use it with "
                             f"splits.method=gradient, or pick edge_rule random or first")
        if not self.grad_scope:
            raise ValueError("splits.grad_scope needs at least one entry ('choices' or a module path)")


@dataclass(frozen=True)
class CheckpointConfig:
    every_epochs: int = 1
    keep_last: int = 2

    def __post_init__(self) -> None:
        check_ranges("checkpoint", self, non_negative=("keep_last",), at_least_one=("every_epochs",))


@dataclass(frozen=True)
class RunSettings:
    """What every run (search or training) says first: its name and folder, seed, determinism, device, threads."""

    name: str = "run"
    out_dir: str = "runs"
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    #: Intra-op CPU threads (None: $HWNAS_THREADS, else half the cores, at most 4; see hwnas.search.threads).
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 (or null for the default), got {self.threads}")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {self.seed}")


@dataclass(frozen=True)
class SearchConfig(RunSettings):
    """A whole search run. Load with :func:`hwnas.search.load_search_config`."""

    name: str = "quickstart"
    space: SpaceConfig = field(default_factory=SpaceConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    cost: tuple[CostConfig, ...] = ()
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    splits: SplitsConfig = field(default_factory=SplitsConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        cosearch = [c.target for c in self.cost if c.target.split(":", 1)[0] == "cosearch"]
        if cosearch and not self.hardware.name:
            raise ValueError("a cost term with target 'cosearch' needs a hardware space: set hardware.name (e.g. tpe)")
        late = [e for e in self.splits.epochs if e >= self.train.epochs]
        if late:
            raise ValueError(f"splits.epochs {late} must come before the end of training (train.epochs = "
                             f"{self.train.epochs}); a split needs epochs after it")
