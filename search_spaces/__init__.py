"""hwnas.search_spaces: the built-in search spaces (DARTS cell, NAS-Bench-201, ProxylessNAS) and their ops.

Importing this package registers the ops in ``OPS``, the spaces in ``SPACES`` (``darts``, ``nb201``,
``proxyless``) and the published architectures in ``ARCHS`` (``darts_v1``, ``darts_v2``, ``pc_darts``,
``pc_darts_imagenet``, ``pdarts``, ``proxyless_mobile``, ``proxyless_gpu``, ``proxyless_cpu``, and with the
``fbnet`` space ``fbnet_a``, ``fbnet_b``, ``fbnet_c``).

Example:
    >>> from hwnas.api import ARCHS, SPACES
    >>> arch = ARCHS.get("darts_v2")
    >>> net = SPACES.get(arch.space)(**arch.space_kwargs).freeze(arch)  # the CIFAR-10 evaluation network
"""

from hwnas.api import SPACES
from hwnas.search_spaces import ops
from hwnas.search_spaces.darts_genotypes import (
    DARTS_V1,
    DARTS_V2,
    GENOTYPES,
    PC_DARTS,
    Genotype,
    arch_from_genotype,
    canonical_genotype,
    genotype_from_arch,
    genotype_from_str,
)
from hwnas.search_spaces.darts_network import DartsNetwork
from hwnas.search_spaces.darts_space import DARTS_OPS_NO_NONE, DartsSpace
from hwnas.search_spaces.nb201 import NB201Space, arch_to_nb201_str, nb201_str_to_arch
from hwnas.search_spaces.proxyless import ProxylessSpace, to_timm_arch_def

SPACES.register("darts", DartsSpace)
SPACES.register("nb201", NB201Space)
SPACES.register("proxyless", ProxylessSpace)

__all__ = [
    "DARTS_OPS_NO_NONE", "DARTS_V1", "DARTS_V2", "GENOTYPES", "PC_DARTS", "DartsNetwork", "DartsSpace", "Genotype",
    "NB201Space",
    "ProxylessSpace", "arch_from_genotype", "arch_to_nb201_str", "canonical_genotype",
    "genotype_from_arch", "genotype_from_str", "nb201_str_to_arch", "ops", "to_timm_arch_def",
]
from hwnas.search_spaces import fbnet  # noqa: E402, F401 - registers the "fbnet" space
