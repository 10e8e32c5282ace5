"""The search: typed config, bilevel loop and run orchestration."""

from hwnas.search.config import (
    CheckpointConfig,
    CostConfig,
    SearchConfig,
    SelectionConfig,
    SpaceConfig,
    SplitsConfig,
    SupernetConfig,
    TrainConfig,
)
from hwnas.search.loop import BilevelTrainer, NonFiniteLossError
from hwnas.search.recipes import list_recipes, load_search_config
from hwnas.search.run import SearchResult, load_run_config, run_search

__all__ = [
    "BilevelTrainer",
    "CheckpointConfig",
    "CostConfig",
    "NonFiniteLossError",
    "SearchConfig",
    "SearchResult",
    "SelectionConfig",
    "SpaceConfig",
    "SplitsConfig",
    "SupernetConfig",
    "TrainConfig",
    "list_recipes",
    "load_run_config",
    "load_search_config",
    "run_search",
]
