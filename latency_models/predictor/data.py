"""Measured latency tables for pretraining predictors: the shared CSVs and the compact copies shipped here.

A table is ``(archs, devices, latency_ms)``: ``archs[i]`` is an index row into the schema's candidates
(one candidate index per label), ``latency_ms[i, d]`` the latency of arch i on device d (NaN when not
measured). The package ships the NB201 and FBNet tables of ``../shared/data`` as
``<space>_table.npz`` (float16 latencies; see NOTICE.md for sources and licences).
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hwnas.latency_models.predictor.schema import PredictorError, SpaceSchema, get_schema

HERE = Path(__file__).resolve().parent
_KEY_COLUMN = {"nb201": "arch_str", "fbnet": "ops"}


@dataclass
class LatencyTable:
    """Latencies of many archs on many devices. ``index[i, k]``: candidate index of label k for arch i."""

    space: str
    index: np.ndarray  # [N, L] int
    devices: list[str]
    latency_ms: np.ndarray  # [N, D] float, NaN where not measured

    def encode(self, schema: SpaceSchema) -> torch.Tensor:
        """One-hot encodings ``[N, schema.dim]`` of the table's archs."""
        sizes = [len(c) for c in schema.candidates]
        offsets = np.cumsum([0, *sizes[:-1]])
        x = torch.zeros(len(self.index), schema.dim)
        cols = torch.as_tensor(self.index + offsets[None, :], dtype=torch.long)
        x.scatter_(1, cols, 1.0)
        return x

    def drop(self, device: str | None) -> LatencyTable:
        """The table without ``device``'s column (the target whose data must not be used)."""
        if device is None:
            return self
        d = match_device(device, self.devices)
        keep = [i for i, n in enumerate(self.devices) if n != d]
        return LatencyTable(self.space, self.index, [self.devices[i] for i in keep], self.latency_ms[:, keep])

    def column(self, device: str) -> np.ndarray:
        return self.latency_ms[:, self.devices.index(match_device(device, self.devices))]


def match_device(name: str, devices: list[str]) -> str:
    """``name`` (with or without the ``lat_ms_`` prefix) as one of ``devices``, or a PredictorError."""
    n = str(name).strip()
    n = n[len("lat_ms_"):] if n.startswith("lat_ms_") else n
    if n not in devices:
        raise PredictorError(f"unknown device {name!r}; known devices: {', '.join(devices)}")
    return n


def arch_index(schema: SpaceSchema, strings: list[str]) -> np.ndarray:
    """Candidate-index rows of arch strings."""
    out = np.zeros((len(strings), len(schema.labels)), dtype=np.int64)
    for i, s in enumerate(strings):
        arch = schema.parse(s)
        for k, (label, cands) in enumerate(zip(schema.labels, schema.candidates)):
            out[i, k] = cands.index(arch.choices[label])
    return out


def read_shared_table(space: str, data_dir: str | Path, *, include_partial: bool = True) -> LatencyTable:
    """Read ``<data_dir>/<space>_hw.csv.gz`` (the shared measured data) as a LatencyTable.

    Args:
        include_partial: Keep devices measured on only part of the archs (nn-Meter's, NaN elsewhere).
    """
    path = Path(data_dir) / f"{space}_hw.csv.gz"
    if space not in _KEY_COLUMN:
        raise PredictorError(f"no shared latency table for space {space!r}; known: {', '.join(_KEY_COLUMN)}")
    if not path.is_file():
        raise PredictorError(f"shared latency table {str(path)!r} not found")
    with gzip.open(path, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    key = header.index(_KEY_COLUMN[space])
    cols = [i for i, h in enumerate(header) if h.startswith("lat_ms_")]
    lat = np.array([[float(r[i]) if r[i] else np.nan for i in cols] for r in rows], dtype=np.float64)
    devices = [header[i][len("lat_ms_"):] for i in cols]
    if not include_partial:
        full = ~np.isnan(lat).any(0)
        lat, devices = lat[:, full], [d for d, k in zip(devices, full) if k]
    schema = get_schema(space)
    return LatencyTable(space, arch_index(schema, [r[key] for r in rows]), devices, lat)


def full_devices(table: LatencyTable) -> list[str]:
    """Devices measured on every arch of the table (the leave-one-device-out set)."""
    return [d for i, d in enumerate(table.devices) if not np.isnan(table.latency_ms[:, i]).any()]


def save_table(table: LatencyTable, path: str | Path) -> Path:
    """Write a compact npz (uint8 indices, float16 latencies); loadable without pickle."""
    path = Path(path)
    np.savez_compressed(path, space=np.array(table.space), index=table.index.astype(np.uint8),
                        devices=np.array(table.devices), latency_ms=table.latency_ms.astype(np.float16))
    return path


def load_table(path: str | Path) -> LatencyTable:
    with np.load(path, allow_pickle=False) as z:
        return LatencyTable(str(z["space"]), z["index"].astype(np.int64), [str(d) for d in z["devices"]],
                            z["latency_ms"].astype(np.float64))


def shipped_table(space: str) -> LatencyTable | None:
    """The table shipped in the package for ``space``, or None."""
    path = HERE / f"{space}_table.npz"
    return load_table(path) if path.is_file() else None
