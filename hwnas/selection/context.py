"""What a selector may use besides the supernet: data, loss, device, a trainer factory, a logger, resumable state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from hwnas.distributed import DistInfo


@dataclass
class SelectionContext:
    """Everything a selection method may need; fields a method does not use may stay ``None``.

    Attributes:
        loss: The search loss (its cost terms price architectures for ``constrained``).
        device: Where batches go.
        train_loader: The weight split (fine-tuning between perturbation decisions).
        valid_loader: The held-out architecture split of the training data; never the test split.
        probe_loader: The same held-out split with its own order, for measurements: ``set_epoch(k)``
            gives the same batches for every candidate of one decision.
        train_config: The search's ``TrainConfig`` (a selector derives its tuning settings from it).
        make_trainer: ``make_trainer(train_config) -> BilevelTrainer`` over the supernet and loss.
        trainer: The search's trainer: its architecture-optimizer state carries into fine-tuning.
        epoch_offset: Epochs the search already ran; tuning epochs continue the loaders' epoch count.
        logger: A :class:`hwnas.search.tb_logging.SearchLogger`, or None.
        checkpoint: ``checkpoint(state)`` saves the selector's resumable state (plain data) with the run.
        resume_state: The state last passed to ``checkpoint`` by an interrupted run, to continue from.
        seed: The run's seed (edge orders and measurement batches derive from it).
        verbose: Print one line per decision.
        input_size: One input sample's shape, to check that an architecture's output depends on its input
            (None: the space's ``default_input_size``).
        dist: The processes of a torchrun job: measurements are summed over them (see
            :func:`hwnas.selection.measure.measure`), so every rank takes the same decisions.
    """

    loss: Any = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    train_loader: Any = None
    valid_loader: Any = None
    probe_loader: Any = None
    train_config: Any = None
    make_trainer: Callable[[Any], Any] | None = None
    trainer: Any = None
    epoch_offset: int = 0
    logger: Any = None
    checkpoint: Callable[[dict[str, Any]], None] | None = None
    resume_state: dict[str, Any] | None = None
    seed: int = 0
    verbose: bool = False
    input_size: tuple[int, ...] | None = None
    dist: DistInfo = field(default_factory=DistInfo)

    def need(self, *names: str, method: str) -> None:
        """Raise a clear error when a selector is run without what it needs (e.g. from a bare Python call)."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            raise ValueError(f"selection method {method!r} needs {', '.join(missing)} in its SelectionContext "
                             "(hwnas search and hwnas select provide them)")
