"""Learned latency predictors: pretrained on many devices, adapted to a new one from a few measurements.

A :class:`LatencyPredictor` maps an architecture encoding (one-hot per decision, or a supernet's
probabilities) through a *trunk* to the log latency on each pretraining device (see
:mod:`hwnas.latency_models.predictor.trunks`), standardizes those, and applies a linear *head*
that gives the log latency on one target device. For a pretraining device the head picks its
output; for a new device :meth:`LatencyPredictor.adapt` fits the head to a few (arch, latency)
samples of that device.

The adaptation follows HELP's idea (Lee et al., NeurIPS 2021) that a device is described by how it
times reference architectures, with a closed form in place of meta-learning: the head is the posterior
mean of a Bayesian linear model whose prior is learned from the pretraining devices, a mixture of
"a copy of one device" and "a combination of devices" weighted by the samples' marginal likelihood
(:mod:`~hwnas.latency_models.predictor.bayes`; ``method="pca"`` keeps the earlier head, the average of
a ridge on the leading principal components and a mixture of one-device fits weighted by their
leave-one-out error). Either is linear in the trunk outputs, so the adapted predictor stays one
differentiable function of the probabilities.

Example:
    >>> from hwnas.latency_models.predictor.model import LatencyPredictor
    >>> p = LatencyPredictor.load("nb201:pixel3")
    >>> s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    >>> round(float(p.predict([s])[0]), 2)
    17.24
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hwnas.api.files import make_dir, write_bytes_atomic
from hwnas.latency_models.predictor.bayes import bayes_head, device_heads, device_prior
from hwnas.latency_models.predictor.data import HERE, LatencyTable, match_device
from hwnas.latency_models.predictor.schema import ArchLike, PredictorError, Probs, SpaceSchema, get_schema
from hwnas.latency_models.predictor.tied import (
    blend_weight,
    evidence_weight,
    fit_tied,
    loo_log_error,
    tied_evidence,
    tied_matrix,
    tied_predict,
)
from hwnas.latency_models.predictor.trunks import AdditiveTrunk, MLPTrunk, TableTrunk, build_trunk

FORMAT = "hwnas.predictor/1"
SHIPPED = ("nb201", "fbnet")
_MIN_BLEND = 6  # fewer samples leave too little for leave-one-out errors (pca) or the tied costs to choose by
P_TIED = 0.1  # prior weight of the tied-cost model against the bayes head (chosen on NB201's development half)
METHODS = ("bayes", "pca")


class LatencyPredictor(nn.Module):
    """Device-conditioned latency predictor for one search space.

    Args:
        schema: The space's :class:`SpaceSchema` (or a built-in space name / a space module).
        trunk: Encoding -> log ms per pretraining device (a TableTrunk, AdditiveTrunk or MLPTrunk).
        devices: Names of the pretraining devices (one trunk output each).
        ref_index: ``[R, n_labels]`` candidate indices of reference archs (the pretraining archs),
            over which outputs are standardized and their principal axes taken.
        metric: What is predicted, with its unit (``latency_ms``; ``energy_mj`` works the same way).
    """

    def __init__(self, schema: SpaceSchema | str | nn.Module, trunk: nn.Module, devices: Sequence[str],
                 ref_index: np.ndarray | torch.Tensor, *, metric: str = "latency_ms") -> None:
        super().__init__()
        self.schema = get_schema(schema)
        self.trunk = trunk
        self.devices = [str(d) for d in devices]
        n = len(self.devices)
        if n == 0 or int(getattr(trunk, "n_out", n)) != n:
            raise PredictorError(f"trunk has {getattr(trunk, 'n_out', '?')} outputs for {n} devices")
        self.metric = str(metric)
        self.register_buffer("ref_index", torch.as_tensor(np.asarray(ref_index), dtype=torch.uint8))
        self.register_buffer("dev_mean", torch.zeros(n))
        self.register_buffer("dev_std", torch.ones(n))
        self.register_buffer("feat_mean", torch.zeros(n))
        self.register_buffer("feat_basis", torch.eye(n))
        self.register_buffer("feat_scale", torch.ones(n))
        # Head: log(ms) = head_b + features(x) @ head_w.
        self.register_buffer("head_w", torch.zeros(n))
        self.register_buffer("head_b", torch.zeros(()))
        # Blend with the tied-cost additive model (predictor.tied): ms = (1 - mix) * head + mix * tied.
        self.register_buffer("tied_map", tied_matrix(self.schema), persistent=False)
        self.register_buffer("tied_w", torch.zeros(self.tied_map.shape[1]))
        self.register_buffer("tied_b", torch.zeros(()))
        self.register_buffer("tied_floor", torch.ones(()))
        self.register_buffer("tied_mix", torch.zeros(()))
        # A host copy of the mix: forward branches on it without a device sync per search step.
        self._mix = 0.0
        self.register_load_state_dict_post_hook(lambda module, _keys: module._sync_mix())
        self.target: str | None = None
        self.meta: dict[str, Any] = {}
        # The bayes head's prior (mean, cov, heads), from the trunk; not saved.
        self._prior: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # ---- features ------------------------------------------------------------------------------------------
    def _ref_encoding(self) -> torch.Tensor:
        idx = self.ref_index.long()
        sizes = [len(c) for c in self.schema.candidates]
        offsets = torch.tensor(np.cumsum([0, *sizes[:-1]]), dtype=torch.long)
        x = torch.zeros(len(idx), self.schema.dim)
        x.scatter_(1, idx + offsets[None, :], 1.0)
        return x

    @torch.no_grad()
    def calibrate(self) -> LatencyPredictor:
        """Standardize the trunk outputs and take their principal axes over the reference archs."""
        f = self.trunk(self._ref_encoding()).double()
        mean, std = f.mean(0), f.std(0).clamp(min=1e-6)
        z = ((f - mean) / std).numpy()
        mu = z.mean(0)
        _, sv, vt = np.linalg.svd(z - mu, full_matrices=False)
        self.dev_mean.copy_(mean)
        self.dev_std.copy_(std)
        self.feat_mean.copy_(torch.as_tensor(mu))
        self.feat_basis.copy_(torch.as_tensor(vt))
        self.feat_scale.copy_(torch.as_tensor(np.clip(sv / math.sqrt(max(len(z) - 1, 1)), 1e-6, None)))
        self._prior = None
        return self

    @torch.no_grad()
    def _head_prior(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Computed on first use rather than stored: files saved before it existed adapt the same way.
        if self._prior is None:
            f = self.trunk(self._ref_encoding()).double().numpy()
            z = (f - self.dev_mean.double().numpy()) / self.dev_std.double().numpy()
            heads = device_heads(f, z)
            self._prior = (*device_prior(f, z, heads=heads), heads)
        return self._prior

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Standardized log latency on every pretraining device, ``[B, n_devices]``."""
        return (self.trunk(x) - self.dev_mean.to(x.dtype)) / self.dev_std.to(x.dtype)

    # ---- prediction ----------------------------------------------------------------------------------------
    def encode(self, archs: ArchLike | Sequence[ArchLike] | Probs) -> torch.Tensor:
        x = self.schema.encode(archs)
        return x if x.is_floating_point() else x.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log latency (log ms) of encodings ``x`` ``[B, dim]`` on the current target."""
        if self.target is None:
            raise PredictorError("the predictor has no target device yet: call adapt(archs, latencies) or "
                                 f"select_device(name) with one of {', '.join(self.devices)}")
        log_ms = self.head_b.to(x.dtype) + self.features(x) @ self.head_w.to(x.dtype)
        mix = self._mix
        if mix == 0.0:
            return log_ms
        counts = x @ self.tied_map.to(x.dtype)
        tied = torch.maximum(self.tied_b.to(x.dtype) + counts @ self.tied_w.to(x.dtype), self.tied_floor.to(x.dtype))
        return torch.log((1.0 - mix) * torch.exp(log_ms) + mix * tied)

    def _sync_mix(self) -> None:
        self._mix = float(self.tied_mix)

    def predict(self, archs: ArchLike | Sequence[ArchLike] | Probs, *, device: str | None = None) -> torch.Tensor:
        """Predicted latency in ms, ``[B]``: of ArchSpecs / arch strings, or of ``{label: probabilities}``.

        With probabilities the result is differentiable in them (a supernet's softmax(α)).
        ``device`` picks a pretraining device for this call; by default the adapted/selected target.
        """
        x = self.encode(archs)
        if device is None:
            return torch.exp(self.forward(x))
        d = self.devices.index(match_device(device, self.devices))
        return torch.exp(self.trunk(x)[:, d])

    def select_device(self, device: str) -> LatencyPredictor:
        """Make pretraining device ``device`` the target of :meth:`predict`; returns ``self``."""
        d = self.devices.index(match_device(device, self.devices))
        w = torch.zeros_like(self.head_w)
        w[d] = self.dev_std[d]
        self.head_w.copy_(w)
        self.head_b.copy_(self.dev_mean[d])
        self.tied_mix.zero_()
        self._sync_mix()
        self.target = self.devices[d]
        return self

    def without_device(self, device: str) -> LatencyPredictor:
        """A copy that knows nothing of ``device`` (its trunk column dropped, statistics recomputed).

        Only table and additive trunks fit each device on its own, so only they can forget one;
        an MLP trunk must be retrained without it (:func:`pretrain` on ``table.drop(device)``).
        """
        d = self.devices.index(match_device(device, self.devices))
        if not hasattr(self.trunk, "without"):
            raise PredictorError(f"a {getattr(self.trunk, 'kind', 'custom')} trunk cannot forget a device; "
                                 "pretrain a new predictor on a table without it")
        keep = [i for i in range(len(self.devices)) if i != d]
        out = LatencyPredictor(self.schema, self.trunk.without(keep), [self.devices[i] for i in keep],
                               self.ref_index.clone(), metric=self.metric)
        out.meta = {**self.meta, "pretrained_on": [self.devices[i] for i in keep]}
        return out.calibrate()

    # ---- adaptation ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def adapt(self, archs: Sequence[ArchLike], latencies: Sequence[float] | torch.Tensor, *, name: str = "target",
              method: str = "bayes", components: int = 5, ridge: float = 0.1, temperature: float = 3.0,
              blend: bool = True) -> LatencyPredictor:
        """Fit the head to a few measurements of a new device; returns ``self``.

        Args:
            archs: The measured architectures (ArchSpecs or arch strings).
            latencies: Their latencies (ms, > 0).
            name: A name for the adapted target.
            method: ``bayes`` (the posterior mean under a prior learned from the pretraining devices,
                :mod:`~hwnas.latency_models.predictor.bayes`) or ``pca`` (the earlier head: a PCA ridge
                averaged with one-device fits; ``components``, ``ridge`` set its ridge part).
            temperature: For ``pca``: sharpness of its blend with the tied-cost additive model (by
                leave-one-out error) and of the weights of its one-device fits.
            blend: Blend in the tied-cost additive model (:mod:`~hwnas.latency_models.predictor.tied`); needs
                6 or more samples. For ``bayes`` its weight is its posterior probability against the head,
                both judged by marginal likelihood of the samples with the same noise and outlier model
                (:func:`~hwnas.latency_models.predictor.tied.tied_evidence`; the earlier leave-one-out
                stacking was noisy at 10 shots and gave FBNet's layer-dependent costs weight they do not
                earn), for ``pca`` a softmax of the two leave-one-out errors.

        Example:
            >>> from hwnas.latency_models.predictor.model import LatencyPredictor
            >>> p = LatencyPredictor.load("fbnet").without_device("raspi4")
            >>> archs = ["-".join(["k3_e1"] * 22), "-".join(["k5_e6"] * 22), "-".join(["skip"] * 22)]
            >>> p = p.adapt(archs, [30.0, 120.0, 5.0], name="my_phone")
            >>> p.target
            'my_phone'
        """
        x = self.encode(archs)
        y = np.asarray(torch.as_tensor(latencies, dtype=torch.float64).cpu(), dtype=np.float64).reshape(-1)
        if method not in METHODS:
            raise PredictorError(f"unknown adapt method {method!r}; methods: {', '.join(METHODS)}")
        if len(y) != len(x):
            raise PredictorError(f"{len(x)} architectures but {len(y)} latencies")
        if len(y) == 0:
            raise PredictorError("adapt needs at least one (architecture, latency) sample")
        if not np.all(np.isfinite(y)) or np.any(y <= 0):
            raise PredictorError("latencies must be finite and > 0 (ms)")
        z = self.features(x.double()).cpu().numpy()

        def np64(t: torch.Tensor) -> np.ndarray:
            return t.double().cpu().numpy()

        stats = {k: np64(getattr(self, k)) for k in ("feat_mean", "feat_basis", "feat_scale", "dev_mean", "dev_std")}

        prior = self._head_prior() if method == "bayes" else None

        def head(rows: np.ndarray) -> tuple[np.ndarray, float]:
            return _fit_head(z[rows], np.log(y[rows]), mu=stats["feat_mean"], basis=stats["feat_basis"],
                             scale=stats["feat_scale"], dev_mean=stats["dev_mean"], dev_std=stats["dev_std"],
                             components=components, ridge=ridge, temperature=temperature)

        log_ev: float | None = None
        if prior is not None:
            w, b, log_ev = bayes_head(z, np.log(y), prior_mean=prior[0], prior_cov=prior[1], heads=prior[2],
                                      spread=stats["dev_std"], center=stats["feat_mean"])
        else:
            w, b = head(np.arange(len(y)))
        self.head_w.copy_(torch.as_tensor(w, dtype=self.head_w.dtype))
        self.head_b.copy_(torch.as_tensor(b, dtype=self.head_b.dtype))
        self.tied_mix.zero_()
        mix = 0.0
        if blend and len(y) >= _MIN_BLEND and self.tied_w.numel():
            mix = self._fit_blend(x, y, z, head, temperature, log_ev)
        self._sync_mix()
        self.target = str(name)
        self.meta = {**self.meta, "adapted_on": int(len(y)), "adapt_method": method, "tied_mix": round(mix, 6)}
        return self

    def _fit_blend(self, x: torch.Tensor, y: np.ndarray, z: np.ndarray, head: Any, temperature: float,
                   log_ev_head: float | None) -> float:
        """Fit the tied model and its weight: by evidence against ``log_ev_head`` (bayes), else by leave-one-out."""
        counts = (x.double() @ self.tied_map.double()).cpu().numpy()
        floor = 0.05 * float(y.min())
        if log_ev_head is not None:
            w, b, log_ev_tied = tied_evidence(counts, y)
            return self._set_tied(w, b, floor, evidence_weight(log_ev_head, log_ev_tied, prior=P_TIED))

        def head_ms(train: np.ndarray, test: np.ndarray) -> np.ndarray:
            w, b = head(train)
            return np.exp(b + z[test] @ w)

        def tied_ms(train: np.ndarray, test: np.ndarray) -> np.ndarray:
            w, b = fit_tied(counts[train], y[train])
            return tied_predict(counts[test], w, b, floor)

        n = len(y)
        mix = blend_weight(loo_log_error(head_ms, n, y), loo_log_error(tied_ms, n, y), temperature=temperature)
        w, b = fit_tied(counts, y)
        return self._set_tied(w, b, floor, mix)

    def _set_tied(self, w: np.ndarray, b: float, floor: float, mix: float) -> float:
        self.tied_w.copy_(torch.as_tensor(w, dtype=self.tied_w.dtype))
        self.tied_b.copy_(torch.as_tensor(b, dtype=self.tied_b.dtype))
        self.tied_floor.fill_(floor)
        self.tied_mix.fill_(mix)
        return mix

    # ---- persistence ---------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a file loadable with ``torch.load(path, weights_only=True)`` (atomic)."""
        path = Path(path)
        make_dir(path.parent, what="output folder", fix="pass another --out")
        payload = {
            "format": FORMAT, "schema": self.schema.to_dict(), "devices": list(self.devices),
            "trunk": self.trunk.config(), "metric": self.metric, "target": self.target, "meta": dict(self.meta),
            "state": {k: v.detach().cpu().clone() for k, v in self.state_dict().items()},
        }
        buf = io.BytesIO()
        torch.save(payload, buf)
        return write_bytes_atomic(path, buf.getbuffer(), what="predictor file")

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str]) -> LatencyPredictor:
        """Load a saved predictor, or a shipped one: ``nb201``, ``fbnet``, or ``SPACE:DEVICE`` (head selected).

        Example:
            >>> from hwnas.latency_models.predictor.model import LatencyPredictor
            >>> LatencyPredictor.load("fbnet:raspi4").target
            'raspi4'
        """
        text = str(name_or_path)
        space, _, device = text.partition(":")
        if space in SHIPPED and not Path(text).exists():
            shipped = HERE / f"{space}.pt"
            if not shipped.is_file():
                raise PredictorError(f"the shipped {space} predictor {str(shipped)!r} is missing; rebuild it with "
                                     "python -m hwnas.latency_models.predictor._train")
            pred = cls._from_file(shipped)
            return pred.select_device(device) if device else pred
        return cls._from_file(Path(text))

    @classmethod
    def _from_file(cls, path: Path) -> LatencyPredictor:
        if not path.is_file():
            raise PredictorError(f"predictor file {str(path)!r} does not exist; shipped predictors: "
                                 f"{', '.join(SHIPPED)} (optionally SPACE:DEVICE)")
        try:
            d = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
            raise PredictorError(f"{path}: not a valid hwnas predictor file ({type(e).__name__}; nothing in it ran): "
                                 "build one with hwnas predictor fit, sweep or train") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise PredictorError(f"{path}: not a valid hwnas predictor file (format {FORMAT!r} expected): build one "
                                 "with hwnas predictor fit, sweep or train")
        state = d["state"]
        pred = cls(SpaceSchema.from_dict(d["schema"]), build_trunk(d["trunk"]), d["devices"],
                   state["ref_index"], metric=d.get("metric", "latency_ms"))
        # Files written before the tied-cost blend existed lack its buffers: they load with the blend off.
        missing, unexpected = pred.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith("tied_") for k in missing):
            raise PredictorError(f"{path}: predictor state does not match its trunk "
                                 f"(missing {missing}, unexpected {unexpected})")
        pred.target = d.get("target")
        pred.meta = dict(d.get("meta") or {})
        return pred.eval()


# ---- head fitting (closed form, numpy float64) -----------------------------------------------------------------
def _ridge(a: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    reg = lam * np.eye(a.shape[1])
    reg[0, 0] = 0.0  # no penalty on the intercept
    return np.linalg.solve(a.T @ a + reg, a.T @ y)


def _fit_head(z: np.ndarray, y: np.ndarray, *, mu: np.ndarray, basis: np.ndarray, scale: np.ndarray,
              dev_mean: np.ndarray, dev_std: np.ndarray, components: int, ridge: float,
              temperature: float) -> tuple[np.ndarray, float]:
    n, n_dev = z.shape
    if n < 4:
        # Too few points to fit slopes: the average device, shifted to the samples.
        w = dev_std / n_dev
        b0 = float(dev_mean.mean())
        return w, b0 + float(np.mean(y - (b0 + z @ w)))
    # (a) ridge on the leading principal components of the trunk outputs.
    k = int(max(0, min(components, n - 2, n_dev)))
    v = basis[:k] / scale[:k, None]  # [k, n_dev]
    coef = _ridge(np.c_[np.ones(n), (z - mu) @ v.T], y, ridge)
    w_a = v.T @ coef[1:]
    b_a = coef[0] - mu @ w_a
    # (b) one-device fits y ~ a_j + s_j z_j, mixed by their leave-one-out error.
    zc = z - z.mean(0)
    sxx = (zc**2).sum(0)
    ok = sxx > 1e-12
    s = np.where(ok, (zc * (y - y.mean())[:, None]).sum(0) / np.where(ok, sxx, 1.0), 0.0)
    a = y.mean() - s * z.mean(0)
    resid = y[:, None] - (a[None, :] + s[None, :] * z)
    h = 1.0 / n + zc**2 / np.where(ok, sxx, 1.0)[None, :]
    loo = np.mean((resid / np.clip(1.0 - h, 1e-6, None)) ** 2, axis=0)
    loo = np.where(ok, loo, np.inf)
    best = float(loo.min())
    wt = np.exp(-(loo - best) / max(best, 1e-12) * temperature)
    wt /= wt.sum()
    w_b = wt * s
    b_b = float(wt @ a)
    return (w_a + w_b) / 2.0, float((b_a + b_b) / 2.0)


# ---- pretraining ----------------------------------------------------------------------------------------------
def _is_complete(table: LatencyTable, schema: SpaceSchema) -> bool:
    sizes = [len(c) for c in schema.candidates]
    if len(table.index) != math.prod(sizes):
        return False
    flat = np.ravel_multi_index(table.index.T, sizes)
    return len(np.unique(flat)) == len(flat)


def pretrain(schema: SpaceSchema | str | nn.Module, table: LatencyTable, *, trunk: str = "auto",
             seed: int = 0, verbose: bool = False, **trunk_kwargs: Any) -> LatencyPredictor:
    """Pretrain a predictor on every device column of ``table``.

    Args:
        trunk: ``table`` (the table is every arch of the space: exact), ``additive`` (per-decision costs
            fitted per device), ``mlp`` (SGD on all devices at once), or ``auto``: ``table`` when the
            table is complete, else ``additive``.
        trunk_kwargs: Passed to the trunk's fit (``ridge`` for additive; ``steps``, ``hidden``... for mlp).

    Example:
        >>> from hwnas.latency_models.predictor.model import pretrain
        >>> from hwnas.latency_models.predictor.data import LatencyTable
        >>> import numpy as np
        >>> t = LatencyTable("fbnet", np.random.default_rng(0).integers(0, 9, (50, 22)), ["dev"],
        ...                  np.random.default_rng(1).uniform(5, 9, (50, 1)))
        >>> pretrain("fbnet", t).devices
        ['dev']
    """
    schema = get_schema(schema)
    if table.space != schema.space:
        raise PredictorError(f"table of space {table.space!r} cannot pretrain a {schema.space!r} predictor")
    lat = np.asarray(table.latency_ms, dtype=np.float64)
    devices = list(table.devices)
    kind = trunk
    if kind == "auto":
        kind = "table" if _is_complete(table, schema) else "additive"
    x = table.encode(schema)
    if kind == "table":
        full = ~np.isnan(lat).any(0)
        if not _is_complete(table, schema) or not full.any():
            raise PredictorError("a table trunk needs every arch of the space measured on each device")
        sizes = [len(c) for c in schema.candidates]
        lat, devices = lat[:, full], [d for d, k in zip(devices, full) if k]
        order = np.argsort(np.ravel_multi_index(table.index.T, sizes))
        logt = torch.as_tensor(np.log(lat[order]).T.reshape(len(devices), *sizes), dtype=torch.float32)
        body: nn.Module = TableTrunk(sizes, logt)
    elif kind == "additive":
        body = AdditiveTrunk.fit(x, lat, **trunk_kwargs)
    elif kind == "mlp":
        body = MLPTrunk.fit(x, lat, seed=seed, verbose=verbose, **trunk_kwargs)
    else:
        raise PredictorError(f"unknown trunk kind {trunk!r}; kinds: auto, table, additive, mlp")
    pred = LatencyPredictor(schema, body, devices, table.index)
    pred.meta = {"pretrained_on": devices, "trunk": kind, "archs": int(len(x))}
    return pred.calibrate()


def train_direct(schema: SpaceSchema | str | nn.Module, archs: Sequence[ArchLike], latencies: Sequence[float], *,
                 trunk: str = "mlp", seed: int = 0, **trunk_kwargs: Any) -> LatencyPredictor:
    """A one-device predictor from (arch, latency) pairs alone (e.g. a TPE sweep or a measured LUT).

    Example:
        >>> from hwnas.latency_models.predictor.model import train_direct
        >>> p = train_direct("fbnet", ["-".join(["k3_e1"] * 22), "-".join(["skip"] * 22)], [20.0, 4.0],
        ...                  trunk="additive")
        >>> p.target
        'target'
    """
    schema = get_schema(schema)
    if any(m != 1 for m in schema.multi):
        raise PredictorError("train_direct supports spaces whose decisions are all single Choices")
    parsed = [a if not isinstance(a, str) else schema.parse(a) for a in archs]
    y = np.asarray(latencies, dtype=np.float64).reshape(-1, 1)
    if len(y) != len(parsed) or len(y) < 2:
        raise PredictorError(f"need >= 2 (architecture, latency) pairs of equal count, got {len(parsed)} / {len(y)}")
    x = schema.encode(parsed)
    index = np.zeros((len(x), len(schema.labels)), dtype=np.int64)
    off = 0
    for k, cands in enumerate(schema.candidates):
        index[:, k] = x[:, off:off + len(cands)].argmax(1).numpy()
        off += len(cands)
    table = LatencyTable(schema.space, index, ["target"], y)
    if trunk == "mlp":
        trunk_kwargs = {"steps": 2000, "hidden": 128, "batch": min(256, len(y)), "weight_decay": 1e-3, **trunk_kwargs}
    return pretrain(schema, table, trunk=trunk, seed=seed, **trunk_kwargs).select_device("target")


def _split_pairs(pairs: Sequence[tuple[ArchLike, float]] | Mapping[Any, float]) -> tuple[list[ArchLike], list[float]]:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    try:
        archs = [a for a, _ in items]
        lats = [float(v) for _, v in items]
    except (TypeError, ValueError) as e:
        raise PredictorError(f"training pairs must be (architecture, latency_ms) pairs: {e}") from None
    return archs, lats


def prepare_pretrained(schema: SpaceSchema, pretrained: LatencyPredictor | str | None,
                       exclude_device: str | None) -> LatencyPredictor | None:
    """The predictor :func:`fit_predictor` adapts: ``pretrained`` (``"shipped"``: the space's own, None where it
    has none; a name or path to load; a predictor) without ``exclude_device``. May return ``pretrained`` itself."""
    if pretrained == "shipped":
        pred = LatencyPredictor.load(schema.space) if schema.space in SHIPPED else None
    elif isinstance(pretrained, str):
        pred = LatencyPredictor.load(pretrained)
    else:
        pred = pretrained
    if pred is None:
        return None
    if pred.schema.space != schema.space:
        raise PredictorError(f"pretrained predictor is for space {pred.schema.space!r}, not {schema.space!r}")
    if exclude_device is not None and _strip(exclude_device) not in pred.meta.get("unused_devices", ()):
        pred = pred.without_device(exclude_device)
    return pred


def fit_predictor(space: SpaceSchema | str | nn.Module, train_pairs: Sequence[tuple[ArchLike, float]],
                  *, exclude_device: str | None = None, pretrained: LatencyPredictor | str | None = "shipped",
                  **adapt_kwargs: Any) -> LatencyPredictor:
    """A predictor for one device from a few of its ``(arch, latency_ms)`` pairs.

    With a pretrained predictor (by default the one shipped for ``nb201`` / ``fbnet``), ``exclude_device``
    is first removed from it (the target whose samples these are must not leak in through pretraining),
    then the head is adapted to ``train_pairs``. Without one (``pretrained=None``, or a space with
    nothing shipped), a one-device MLP is trained on ``train_pairs`` alone.

    Example:
        >>> from hwnas.latency_models.predictor.model import fit_predictor
        >>> pairs = [("-".join(["k3_e1"] * 22), 30.0), ("-".join(["k5_e6"] * 22), 120.0),
        ...          ("-".join(["skip"] * 22), 5.0), ("-".join(["k3_e3"] * 22), 60.0)]
        >>> p = fit_predictor("fbnet", pairs, exclude_device="raspi4")
        >>> "raspi4" in p.devices
        False
    """
    schema = get_schema(space)
    archs, lats = _split_pairs(train_pairs)
    if not archs:
        raise PredictorError("no training pairs given")
    pred = prepare_pretrained(schema, pretrained, exclude_device)
    if pred is None:
        return train_direct(schema, archs, lats)
    name = _strip(exclude_device) if exclude_device is not None else "target"
    return pred.adapt(archs, lats, name=name, **adapt_kwargs)


def _strip(name: str) -> str:
    n = str(name).strip()
    return n[len("lat_ms_"):] if n.startswith("lat_ms_") else n
