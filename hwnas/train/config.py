"""The typed config of ``hwnas train``: what a training recipe YAML holds. Unknown keys are errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hwnas.api.config import check_ranges
from hwnas.search.config import CheckpointConfig, RunSettings


@dataclass(frozen=True)
class ModelConfig:
    """How an ArchSpec becomes the network that is trained.

    The network is ``space(**kwargs).freeze(arch, **freeze_kwargs)`` where ``kwargs`` are the arch's own
    ``space_kwargs`` updated with ``space_kwargs`` here (a paper's width and depth: DARTS C=36, 20 cells),
    and ``num_classes``/``in_channels`` come from the data unless given here.
    """

    space_kwargs: dict[str, Any] = field(default_factory=dict)
    freeze_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainDataConfig:
    """The ``data:`` section of a training recipe.

    ``randaugment`` and ``color_jitter`` add timm's RandAugment and torchvision's ColorJitter to the training
    transforms (:class:`hwnas.data.augment.Augment`). ``valid_portion`` holds out that share of the training
    split (stratified, seeded) to monitor each epoch; the test split is evaluated once, after the last epoch,
    and reported as such. The papers' protocols hold nothing out (``0``) and train on the whole training split.
    """

    name: str = "embedded"
    root: str | None = None
    download: bool = False
    image_size: int | None = None
    subset: int | None = None
    valid_portion: float = 0.0
    batch_size: int = 96
    eval_batch_size: int | None = None
    num_workers: int = 0
    cutout: int = 0
    #: timm RandAugment config string (``rand-m9-mstd0.5``), or None.
    randaugment: str | None = None
    #: (brightness, contrast, saturation, hue) replacing the dataset's colour jitter; None keeps its own.
    color_jitter: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.valid_portion < 1.0:
            raise ValueError(f"valid_portion must be in [0, 1), got {self.valid_portion}")
        if self.batch_size < 1 or (self.eval_batch_size is not None and self.eval_batch_size < 1):
            raise ValueError("batch_size and eval_batch_size must be positive")
        if self.subset is not None and self.subset < 1:
            raise ValueError(f"subset must be a positive number of images, got {self.subset}")
        if self.num_workers < 0 or self.cutout < 0:
            raise ValueError("num_workers and cutout must be >= 0")


@dataclass(frozen=True)
class OptimConfig:
    """The optimizer, built by ``timm.optim.create_optimizer_v2``.

    ``opt`` is timm's name: ``momentum`` (SGD with momentum: DARTS), ``nesterov`` (NB201, ProxylessNAS),
    ``rmsproptf``, ``adamw``... Beware that timm's ``sgd`` is Nesterov SGD, not torch's plain SGD. ``lr`` is for
    ``batch_size`` images per step summed over all processes; ``no_decay_bn`` exempts BN and bias parameters
    from weight decay (ProxylessNAS's ``no_decay_keys: bn``).
    """

    opt: str = "momentum"
    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 3e-4
    no_decay_bn: bool = False
    eps: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_ranges("optim", self, positive=("lr", "eps"), non_negative=("weight_decay",), unit=("momentum",))


@dataclass(frozen=True)
class SchedConfig:
    """The lr schedule, built by ``timm.scheduler.create_scheduler_v2``.

    ``cosine`` anneals from ``lr`` to ``min_lr`` over the epochs (DARTS, NB201, ProxylessNAS); ``step``
    multiplies by ``decay_rate`` every ``decay_epochs`` (DARTS ImageNet: 0.97 every epoch); ``per_step`` updates
    the lr every optimizer step instead of every epoch (ProxylessNAS's per-iteration cosine).
    """

    sched: Literal["cosine", "step", "linear", "constant"] = "cosine"
    min_lr: float = 0.0
    warmup_epochs: int = 0
    warmup_lr: float = 0.0
    decay_epochs: float = 1.0
    decay_rate: float = 0.97
    per_step: bool = False

    def __post_init__(self) -> None:
        check_ranges("sched", self, positive=("decay_epochs", "decay_rate"),
                     non_negative=("min_lr", "warmup_epochs", "warmup_lr"))


@dataclass(frozen=True)
class RegConfig:
    """Regularisation, from timm where it has the part.

    ``label_smoothing`` (timm's LabelSmoothingCrossEntropy), ``mixup``/``cutmix`` alphas (timm's Mixup, with
    soft-target cross-entropy), ``drop_path`` (the network's own drop-path, linearly increased from 0 to this
    value over training as DARTS does), ``aux_weight`` (DARTS's auxiliary head), ``grad_clip`` (max grad norm),
    ``ema_decay`` (timm's ModelEmaV3; the EMA weights are evaluated and saved beside the raw ones).
    """

    label_smoothing: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0
    drop_path: float = 0.0
    aux_weight: float = 0.0
    grad_clip: float | None = None
    ema_decay: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 <= self.drop_path < 1.0:
            raise ValueError(f"drop_path must be in [0, 1), got {self.drop_path}")
        if self.mixup < 0 or self.cutmix < 0 or self.aux_weight < 0:
            raise ValueError("mixup, cutmix and aux_weight must be >= 0")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        check_ranges("reg", self, positive=("grad_clip",))


@dataclass(frozen=True)
class TrainRunConfig(RunSettings):
    """A whole training run (``hwnas train``). Load with :func:`hwnas.train.load_train_config`."""

    name: str = "train"
    epochs: int = 600
    #: Mixed precision on CUDA (ignored on the CPU): ``auto`` = bfloat16 where supported, else float16.
    amp: Literal["auto", "off", "float16", "bfloat16"] = "auto"
    #: channels_last memory format on CUDA (ignored on the CPU).
    channels_last: bool = True
    #: Cap on optimizer steps per epoch, for smoke runs (None: the whole split).
    max_steps_per_epoch: int | None = None
    log_every: int = 50
    progress: bool = True
    #: Hardware targets (``hwnas targets``) whose predicted cost goes into the report.
    hardware: tuple[str, ...] = ()
    model: ModelConfig = field(default_factory=ModelConfig)
    data: TrainDataConfig = field(default_factory=TrainDataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    sched: SchedConfig = field(default_factory=SchedConfig)
    reg: RegConfig = field(default_factory=RegConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ValueError(f"max_steps_per_epoch must be >= 1 (or null), got {self.max_steps_per_epoch}")
        check_ranges("", self, at_least_one=("log_every",))
