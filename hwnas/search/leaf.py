"""A leaf of a search: one supernet with its loss, trainer, logger and history (a run without splits has one)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hwnas.losses import SearchLoss
from hwnas.search.loop import BilevelTrainer
from hwnas.search.tb_logging import SearchLogger


@dataclass
class Leaf:
    """One (sub-)supernet being trained and selected.

    Attributes:
        id: Its node in the split tree (``"0"`` for the root).
        supernet: The strategy-wrapped space; its masks hold the leaf's restrictions.
        loss: The search loss, with cost terms bound to this supernet.
        trainer: Optimizers, schedule and step count.
        logger: Where its TensorBoard events go (the run folder for the root, ``leaves/<id>/`` else).
        history: Per-epoch figures, inherited from its parent.
    """

    id: str
    supernet: Any
    loss: SearchLoss
    trainer: BilevelTrainer
    logger: SearchLogger
    history: list[dict[str, float]] = field(default_factory=list)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.supernet.state_dict(), "trainer": self.trainer.state_dict(),
                "history_json": json.dumps(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.supernet.load_state_dict(state["model"])
        self.trainer.load_state_dict(state["trainer"])
        self.history = list(json.loads(state.get("history_json", "[]")))
