"""Train a found architecture from scratch with a paper's protocol (``hwnas train``)."""

from hwnas.train.config import ModelConfig, OptimConfig, RegConfig, SchedConfig, TrainDataConfig, TrainRunConfig
from hwnas.train.recipes import list_train_recipes, load_train_config
from hwnas.train.run import TrainResult, load_train_run_config, run_training

__all__ = [
    "ModelConfig", "OptimConfig", "RegConfig", "SchedConfig", "TrainDataConfig", "TrainRunConfig", "TrainResult",
    "list_train_recipes", "load_train_config", "load_train_run_config", "run_training",
]
