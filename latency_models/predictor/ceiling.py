"""How close to a device's measured latencies any architecture-based predictor can get: the ±10% bound.

A measured table limits the share of predictions within ±10% even for a predictor that sees thousands
of samples of the device: the device drifts over its measurement campaign, and phones report whole ms.
:func:`within_bounds` measures that limit per device with two fits far richer in data than a few-shot
predictor, both scored on rows they were **not** fitted on (k-fold; an in-sample fit would flatter the
bound with its own noise):

- ``linear``: the device's log latency regressed on every other device's log latency;
- ``rich``: the same plus each decision's one-hot candidate and, where the table has rows enough
  (at least 20 per parameter), the products of every two decisions' candidates (any function of two
  decisions). NB201 gets the products (375 of them for 15,625 rows); FBNet (18,711 for 5,000) does not.

The **bound** is the larger of the two held-out shares. It is the reference a few-shot predictor's share
is divided by. It is an empirical bound, not a proof: the fits minimise squared log error, not the
share within ±10%, so a predictor may land slightly above it on a device with coarse, skewed noise.

``spearman`` is the held-out rank correlation of the ``rich`` fit: the same kind of reference for a
predictor's Spearman (phones' whole-ms ties cap it well below 1).

``drift`` is the lag-1 autocorrelation of the ``rich`` residual along the table's row order. Where rows
are unrelated architectures (NB201's index order), a residual that persists from one row to the next is
the device drifting, which no function of the architecture can learn.

How much of the bound can a *few* samples reach? :func:`few_shot_reference` gives the share of an oracle
that knows the direction of the fit that sets the bound, from all of the device's rows, and takes only the
level (one number, the mean log residual) from the same ``shots`` samples a few-shot predictor gets. Where the
device's residual is wide or bimodal (a CPU switching clock states over the campaign), a level read off 10
random samples already costs share that no choice of head can win back: the oracle then stays below 95% of
the bound, and so must any predictor that learns the level from those samples.

Example:
    >>> import numpy as np
    >>> from hwnas.latency_models.predictor.ceiling import within_bounds
    >>> from hwnas.latency_models.predictor.data import LatencyTable
    >>> rng = np.random.default_rng(0)
    >>> index = rng.integers(0, 5, (400, 6))
    >>> base = np.exp(rng.normal(size=400))
    >>> t = LatencyTable("nb201", index, ["a", "b"], np.c_[base, 2 * base])
    >>> within_bounds(t)["b"].bound
    1.0
    >>> few_shot_reference(t, shots=10, seeds=2)["b"]
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwnas.latency_models.predictor.data import LatencyTable, full_devices
from hwnas.latency_models.predictor.schema import PredictorError, get_schema
from hwnas.latency_models.predictor.sweep import spearman

TOL = 0.10
_ROWS_PER_PARAM = 20  # pairwise products only when the table has this many rows per fitted parameter


@dataclass(frozen=True)
class DeviceBound:
    """Held-out shares within ±10% of the two reference fits of one device, their max, Spearman and drift."""

    device: str
    linear: float
    rich: float
    spearman: float
    drift: float

    @property
    def bound(self) -> float:
        return max(self.linear, self.rich)


def within_share(log_pred: np.ndarray, log_true: np.ndarray, tol: float = TOL) -> float:
    """Share of predictions within ``±tol`` of the truth, both given in log units."""
    return float(np.mean(np.abs(np.exp(log_pred - log_true) - 1.0) <= tol))


def _pairs(one_hot: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Products of the one-hot candidates of every two different decisions."""
    owner = np.repeat(np.arange(len(sizes)), sizes)
    cols = [(i, j) for i in range(len(owner)) for j in range(i + 1, len(owner)) if owner[i] != owner[j]]
    return np.stack([one_hot[:, i] * one_hot[:, j] for i, j in cols], axis=1)


def _arch_features(table: LatencyTable) -> np.ndarray:
    schema = get_schema(table.space)
    sizes = [len(c) for c in schema.candidates]
    one_hot = table.encode(schema).double().numpy()
    n_pairs = sum(a * b for i, a in enumerate(sizes) for b in sizes[i + 1:])
    if (n_pairs + one_hot.shape[1] + len(table.devices)) * _ROWS_PER_PARAM <= len(one_hot):
        return np.c_[one_hot, _pairs(one_hot, sizes)]
    return one_hot


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    # One-hot columns of each decision sum to the intercept column: a tiny ridge picks the minimum-norm
    # split (the predictions are unaffected) and keeps the normal equations solvable.
    reg = 1e-9 * max(float(np.trace(gram)) / len(gram), 1.0) * np.eye(len(gram))
    reg[0, 0] = 0.0
    return np.linalg.solve(gram + reg, rhs)


def within_bounds(table: LatencyTable, *, devices: list[str] | None = None, folds: int = 5,
                  seed: int = 0) -> dict[str, DeviceBound]:
    """The held-out ±10% shares of the ``linear`` and ``rich`` fits per fully measured device.

    Args:
        table: A multi-device table; only its devices measured on every row are used (as targets and as
            regressors).
        devices: The targets (default: every fully measured device).
        folds: Folds of the held-out scoring (rows assigned at random with ``seed``).

    Returns:
        ``{device: DeviceBound}``; ``.bound`` is the fair reference for a few-shot predictor's share.
    """
    names = full_devices(table)
    if len(names) < 2:
        raise PredictorError(f"a bound needs at least 2 fully measured devices, the table has {len(names)}")
    if folds < 2:
        raise PredictorError(f"folds must be >= 2, got {folds}")
    targets = names if devices is None else list(devices)
    unknown = [d for d in targets if d not in names]
    if unknown:
        raise PredictorError(f"no fully measured column for {', '.join(unknown)}; devices: {', '.join(names)}")
    logs = np.log(np.stack([table.column(d) for d in names], axis=1))
    if not np.all(np.isfinite(logs)):
        raise PredictorError("latencies must be finite and > 0 to bound them")
    n, n_dev = logs.shape
    # Columns: intercept, every device's log latency, architecture features. A target's fit uses the
    # columns other than its own, so one Gram matrix per fold serves every device.
    a = np.c_[np.ones(n), logs, _arch_features(table)]
    fold = np.random.default_rng(seed).integers(0, folds, n)
    held = {kind: np.empty((n, n_dev)) for kind in ("linear", "rich")}
    for k in range(folds):
        train, test = fold != k, fold == k
        gram = a[train].T @ a[train]
        for j in (names.index(d) for d in targets):
            for kind, width in (("linear", 1 + n_dev), ("rich", a.shape[1])):
                cols = [c for c in range(width) if c != 1 + j]
                w = _solve(gram[np.ix_(cols, cols)], gram[cols, 1 + j])
                held[kind][test, j] = a[np.ix_(test, cols)] @ w
    out = {}
    for d in targets:
        j = names.index(d)
        resid = logs[:, j] - held["rich"][:, j]
        drift = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if np.std(resid) > 0 else 0.0
        out[d] = DeviceBound(d, within_share(held["linear"][:, j], logs[:, j]),
                             within_share(held["rich"][:, j], logs[:, j]),
                             spearman(held["rich"][:, j], logs[:, j]), drift)
    return out


def few_shot_reference(table: LatencyTable, *, shots: int = 10, seeds: int = 5, devices: list[str] | None = None,
                       bounds: dict[str, DeviceBound] | None = None) -> dict[str, float]:
    """Share within ±10% of the oracle that knows a device's direction and reads only its level off ``shots`` samples.

    The direction is the fit that sets the device's bound (``linear`` or ``rich`` of :func:`within_bounds`),
    fitted on every row of the device; the level is the mean of ``log y - direction`` over ``shots`` rows drawn
    as ``benchmarks/predictor_loo.py`` draws them (seed ``s``: ``numpy.random.default_rng(s).choice(n, shots,
    replace=False)``), and the share is scored on the other rows, averaged over seeds ``0 .. seeds - 1``.

    Args:
        bounds: The table's :func:`within_bounds` (computed when not given): which fit sets each bound.

    Returns:
        ``{device: share}`` for each fully measured target device.
    """
    names = full_devices(table)
    if shots < 1 or seeds < 1:
        raise PredictorError(f"shots and seeds must be >= 1, got shots={shots}, seeds={seeds}")
    if shots >= len(table.index):
        raise PredictorError(f"shots={shots} leaves no row to score ({len(table.index)} rows)")
    targets = names if devices is None else list(devices)
    bounds = within_bounds(table, devices=targets) if bounds is None else bounds
    missing = [d for d in targets if d not in bounds]
    if missing:
        raise PredictorError(f"bounds has no entry for {', '.join(missing)}: pass within_bounds(table) of the targets")
    logs = np.log(np.stack([table.column(d) for d in names], axis=1))
    n, n_dev = logs.shape
    a = np.c_[np.ones(n), logs, _arch_features(table)]
    gram = a.T @ a
    draws = [np.random.default_rng(s).choice(n, shots, replace=False) for s in range(seeds)]
    out = {}
    for d in targets:
        j = names.index(d)
        width = a.shape[1] if bounds[d].rich > bounds[d].linear else 1 + n_dev
        cols = [c for c in range(width) if c != 1 + j]
        direction = a[:, cols] @ _solve(gram[np.ix_(cols, cols)], gram[cols, 1 + j])
        resid = logs[:, j] - direction
        shares = []
        for idx in draws:
            rest = np.ones(n, dtype=bool)
            rest[idx] = False
            shares.append(within_share(direction[rest] + resid[idx].mean(), logs[rest, j]))
        out[d] = float(np.mean(shares))
    return out
