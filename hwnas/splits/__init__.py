"""Gradient-matching supernet splits (GM-NAS): distances, partitions, the edge rule and the split tree."""

from hwnas.splits.decide import SplitDecision, decide_split, eligible_labels, split_candidates
from hwnas.splits.distance import cosine_distances, forced, gradient_distances, scope_parameters
from hwnas.splits.partition import Partition, best_partition, random_partition, set_partitions, singletons
from hwnas.splits.tree import ROOT, SplitNode, SplitTree

__all__ = [
    "ROOT", "Partition", "SplitDecision", "SplitNode", "SplitTree", "best_partition", "cosine_distances",
    "decide_split", "eligible_labels", "forced", "gradient_distances", "random_partition", "scope_parameters",
    "set_partitions", "singletons", "split_candidates",
]
