"""Lookup tables: what every candidate of every Choice of a space costs where it sits, on one target.

- :func:`space_opspecs` / :func:`candidate_opspecs` (:mod:`.candidates`) — the per-candidate OpSpecs of a space.
- :class:`LatencyLUT` (:mod:`.table`) — the table (JSON), priced by a TPE engine with :func:`lut_from_tpe`.
- :func:`profile_lut` / :func:`time_module` (:mod:`.profiling`) — a table measured on this machine.

Example:
    >>> import torch
    >>> from hwnas.search_spaces import NB201Space
    >>> from hwnas.latency_models.lut import lut_from_tpe
    >>> from hwnas.latency_models.tpe import tpe_from_name
    >>> lut = lut_from_tpe(NB201Space(C=4, N=1), tpe_from_name("systolic-8x8-ws-int8"), torch.zeros(1, 3, 8, 8))
    >>> sorted(lut.metrics)
    ['cycles', 'energy_mj', 'latency_ms']
"""

from hwnas.latency_models.lut.candidates import SpaceSpecs, candidate_opspecs, space_opspecs
from hwnas.latency_models.lut.profiling import profile_lut, time_module
from hwnas.latency_models.lut.table import LatencyLUT, LUTError, lut_from_tpe

__all__ = ["LUTError", "LatencyLUT", "SpaceSpecs", "candidate_opspecs", "lut_from_tpe", "profile_lut", "space_opspecs",
           "time_module"]
