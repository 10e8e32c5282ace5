"""Masks on decisions: which candidates (or inputs) of each label a supernet may still use.

A mask is a boolean buffer per label, so it is part of ``state_dict()``, of checkpoints and of
``--resume``, and moves with ``.to(device)``. Every forward needs to know which candidates to run;
reading that from a device tensor would synchronise the device, so a host copy of each mask is
kept in step with the buffer: written together by :meth:`DecisionMasks.set`, and refreshed from
the buffers after ``load_state_dict``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn


class DecisionMasks(nn.Module):
    """One boolean buffer per decision label (``True`` = allowed), with a host copy.

    Args:
        sizes: Label -> number of candidates (or inputs).
        keys: Label -> buffer name (a sanitized, prefixed key; see ``supernets._base._param_keys``).
    """

    def __init__(self, sizes: Mapping[str, int], keys: Mapping[str, str]) -> None:
        super().__init__()
        self._keys = dict(keys)
        self._host: dict[str, tuple[bool, ...]] = {}
        for label, n in sizes.items():
            self.register_buffer(self._keys[label], torch.ones(int(n), dtype=torch.bool))
            self._host[label] = (True,) * int(n)
        self._register_load_state_dict_pre_hook(self._fill_missing)
        self.register_load_state_dict_post_hook(self._refresh)

    def allowed(self, label: str) -> tuple[bool, ...]:
        """The host copy of ``label``'s mask (no device access)."""
        return self._host[label]

    def all_allowed(self, label: str) -> bool:
        return all(self._host[label])

    def tensor(self, label: str) -> torch.Tensor:
        """The mask buffer of ``label`` (on the module's device)."""
        return getattr(self, self._keys[label])

    def set(self, label: str, allowed: Sequence[bool]) -> None:
        buf = self.tensor(label)
        if len(allowed) != buf.numel():
            raise ValueError(f"mask of {label!r} needs {buf.numel()} entries, got {len(allowed)}")
        with torch.no_grad():
            buf.copy_(torch.tensor([bool(a) for a in allowed], dtype=torch.bool))
        self._host[label] = tuple(bool(a) for a in allowed)

    # A checkpoint written before masks existed has none: load it as "everything allowed".
    def _fill_missing(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        for label, key in self._keys.items():
            state_dict.setdefault(prefix + key, torch.ones(len(self._host[label]), dtype=torch.bool))

    @staticmethod
    def _refresh(module: nn.Module, incompatible: Any) -> None:
        assert isinstance(module, DecisionMasks)
        for label, key in module._keys.items():
            module._host[label] = tuple(bool(v) for v in getattr(module, key).tolist())
