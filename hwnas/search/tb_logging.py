"""TensorBoard logging of a search: losses, architecture distributions, and the derived architecture.

Tags written (``step`` is the caller's: global step for losses, epoch for architecture pictures):

* ``<key>`` for every key given to :meth:`SearchLogger.scalars` (loss ``details``, accuracies, lrs);
* ``arch/probabilities`` (heatmap image), ``probs/<label>`` (histogram), ``entropy/<label>``,
  ``arch/entropy_mean`` and ``arch/entropy_norm_mean`` (entropy / log K, 1 = uniform);
* ``arch/param_free_ops`` (+ ``arch/param_free_ops/<group>``), ``ops/<name>`` (how often each
  candidate is picked), ``arch/changed_choices`` (decisions that differ from the previous call),
  ``arch/derived`` (the architecture drawn by :func:`hwnas.search.draw.draw_arch`), ``arch/spec`` (text);
* selection (step = decision number): ``select/decision/<label>`` (a bar chart of the held-out figure
  without each candidate), ``select/order`` (text table of the decisions so far), ``select/derived``
  and ``select/param_free_ops`` (the projected architecture after each decision), ``select/tune/...``;
* splits (step = epoch): ``splits/distance/<node>`` (the gradient-distance matrix), ``splits/tree``.
"""

from __future__ import annotations

import math
import numbers
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hwnas.api import ArchSpec, InputChoice, collect_decisions
from hwnas.search.draw import draw_arch, draw_probabilities

#: Candidate names that carry no weights; picking many of them is the DARTS collapse symptom.
DEFAULT_PARAM_FREE_OPS = frozenset(
    {"none", "zero", "skip_connect", "skip", "identity", "max_pool_3x3", "avg_pool_3x3", "max_pool_5x5", "avg_pool_5x5"}
)


def decision_names(space: nn.Module) -> dict[str, tuple[str, ...]]:
    """Label -> column names for :meth:`SearchLogger.choice_probabilities`: a Choice's candidate
    names, and ``in0, in1, ...`` for an InputChoice (whose weights, e.g. PC-DARTS's β, may be logged).

    Works on a space or on a supernet wrapping it (relaxed Choices are still Choices).
    """
    out: dict[str, tuple[str, ...]] = {}
    for label, d in collect_decisions(space).items():
        out[label] = tuple(f"in{i}" for i in range(d.n_candidates)) if isinstance(d, InputChoice) else tuple(d)
    return out


class SearchLogger:
    """A thin TensorBoard writer for one run folder.

    Args:
        log_dir: The run folder; event files are written there.
        param_free_ops: Candidate names counted as parameter-free in :meth:`derived_arch`.
        purge_step: On resume, the step the run continues from: events at or after it left by the
            interrupted run are hidden, so curves do not fold back.
        flush_secs: How often pending events are written to disk.
        dpi: Resolution of the images.

    Example:
        >>> import tempfile, torch
        >>> with SearchLogger(tempfile.mkdtemp()) as log:
        ...     log.scalars({"loss/total": torch.tensor(1.5), "lr/w": 0.025, "form": "mul"}, step=0)
        ...     ent = log.choice_probabilities({"e0": torch.tensor([0.5, 0.5])}, {"e0": ("skip", "conv")}, step=0)
        ['loss/total', 'lr/w']
        >>> round(ent["arch/entropy_mean"], 4)  # log 2
        0.6931
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        *,
        param_free_ops: Iterable[str] = DEFAULT_PARAM_FREE_OPS,
        purge_step: int | None = None,
        flush_secs: int = 30,
        dpi: int = 80,
    ) -> None:
        from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: only when logging

        self.log_dir = Path(log_dir)
        self.param_free_ops = frozenset(param_free_ops)
        self.dpi = int(dpi)
        self.writer = SummaryWriter(log_dir=str(self.log_dir), purge_step=purge_step, flush_secs=flush_secs)
        self._previous: dict[str, Any] | None = None

    # -- plain values --------------------------------------------------------------------------

    def scalars(self, values: Mapping[str, Any], step: int, *, prefix: str = "") -> list[str]:
        """Log every numeric entry of ``values`` (e.g. a loss's ``details``) under ``prefix + key``.

        One-element tensors and NumPy/Python numbers become scalars, larger tensors histograms,
        nested mappings recurse with ``key/``. Other values (strings, None) are skipped: a search
        must not stop over a label in its loss details.

        Returns:
            The tags written.
        """
        written = []
        for key, v in values.items():
            tag = f"{prefix}{key}"
            if isinstance(v, Mapping):
                written += self.scalars(v, step, prefix=f"{tag}/")
            elif isinstance(v, torch.Tensor):
                v = v.detach()
                if v.numel() == 1:
                    self.writer.add_scalar(tag, float(v.float().item()), step)
                elif v.numel() > 1:
                    self.writer.add_histogram(tag, v.float().cpu(), step)
                else:
                    continue
                written.append(tag)
            elif isinstance(v, (numbers.Real, np.generic)) and not isinstance(v, (str, bytes)):
                self.writer.add_scalar(tag, float(v), step)
                written.append(tag)
        return written

    def text(self, tag: str, text: str, step: int = 0) -> None:
        """Log a text (rendered as Markdown by TensorBoard)."""
        self.writer.add_text(tag, text, step)

    def image(self, tag: str, img: np.ndarray, step: int) -> None:
        """Log an ``H x W x 3`` uint8 image."""
        self.writer.add_image(tag, img, step, dataformats="HWC")

    # -- architecture --------------------------------------------------------------------------

    def choice_probabilities(
        self,
        probs: Mapping[str, torch.Tensor],
        candidate_names: Mapping[str, Sequence[str]],
        step: int,
        *,
        image: bool = True,
    ) -> dict[str, float]:
        """Log each decision's distribution: heatmap, histograms and entropies.

        Args:
            probs: Label -> probability vector (``supernet.probabilities()``; InputChoice weights
                may be included with their own names).
            candidate_names: Label -> candidate names, in the order of ``probs[label]``
                (:func:`decision_names` gives them).
            step: Usually the epoch.
            image: Draw the heatmap (the costly part; skip it on frequent calls).

        Returns:
            Entropy (nats) per label, plus ``arch/entropy_mean``.
        """
        entropies: dict[str, float] = {}
        normed = []
        for label, p in probs.items():
            p = p.detach().float().cpu().reshape(-1)
            h = float(-(p * p.clamp_min(1e-12).log()).sum())
            entropies[label] = h
            if p.numel() > 1:
                normed.append(h / math.log(p.numel()))
            self.writer.add_histogram(f"probs/{label}", p, step)
            self.writer.add_scalar(f"entropy/{label}", h, step)
        if entropies:
            mean = sum(entropies.values()) / len(entropies)
            entropies["arch/entropy_mean"] = mean
            self.writer.add_scalar("arch/entropy_mean", mean, step)
        if normed:
            self.writer.add_scalar("arch/entropy_norm_mean", sum(normed) / len(normed), step)
        if image and probs:
            img = draw_probabilities(probs, candidate_names, dpi=self.dpi, title=f"architecture probabilities @ {step}")
            self.image("arch/probabilities", img, step)
        return entropies

    def derived_arch(
        self, arch: ArchSpec, space: nn.Module, step: int, *, image: bool = True, prefix: str = "arch"
    ) -> dict[str, int]:
        """Log what the current derived architecture picks, and draw it.

        Counts only the choices present in ``arch`` (a canonical ArchSpec, as ``export()`` and
        ``check_arch`` return, holds no unused edges). ``prefix`` separates the search's derived
        architecture (``arch``) from the one projected during selection (``select``).

        Returns:
            ``{"<prefix>/param_free_ops": n, "<prefix>/changed_choices": k, ...}`` as logged.
        """
        picked = {k: v for k, v in arch.choices.items() if isinstance(v, str)}
        out: dict[str, int] = {f"{prefix}/param_free_ops": sum(v in self.param_free_ops for v in picked.values())}
        per_group: Counter[str] = Counter()
        for k, v in picked.items():
            if "/" in k:
                per_group[k.rsplit("/", 1)[0]] += int(v in self.param_free_ops)
        for g, n in per_group.items():
            out[f"{prefix}/param_free_ops/{g}"] = n
        if prefix == "arch":
            for name, n in Counter(picked.values()).items():
                out[f"ops/{name}"] = n
            current = dict(arch.choices)
            if self._previous is not None:
                keys = set(current) | set(self._previous)
                out["arch/changed_choices"] = sum(current.get(k) != self._previous.get(k) for k in keys)
            self._previous = current
        for tag, n in out.items():
            self.writer.add_scalar(tag, n, step)
        self.text(f"{prefix}/spec", "\n".join("    " + line for line in arch.to_json().splitlines()), step)
        if image:
            img = draw_arch(arch, space, dpi=self.dpi, title=f"{arch.space} {arch.archid} @ {step}")
            self.image(f"{prefix}/derived", img, step)
        return out

    # -- selection and splits ------------------------------------------------------------------

    def decision(self, entry: Mapping[str, Any], *, criterion: str, step: int) -> None:
        """One perturbation decision: the held-out figure without each candidate, as a bar chart."""
        from hwnas.search.draw_selection import draw_decision

        self.image(f"select/decision/{entry['label']}", draw_decision(entry, criterion=criterion, dpi=self.dpi), step)

    def decision_order(self, log: Sequence[Mapping[str, Any]], step: int) -> None:
        """The decisions made so far, in order, as a Markdown table."""
        rows = ["| # | round | tuning epoch | decision | kept |", "|---|---|---|---|---|"]
        for i, e in enumerate(log, 1):
            rows.append(f"| {i} | {int(e['round']) + 1} | {e['epoch']} | {e['label']} | {e['kept']} |")
        self.text("select/order", "\n".join(rows), step)

    def matrix(self, tag: str, matrix: Sequence[Sequence[float]], names: Sequence[str], step: int, *,
               title: str = "", groups: Sequence[Sequence[str]] = ()) -> None:
        """A square matrix (e.g. a split's gradient distances) as an annotated heatmap."""
        from hwnas.search.draw_selection import draw_matrix

        self.image(tag, draw_matrix(matrix, names, title=title, groups=groups, dpi=self.dpi), step)

    def split_tree(self, nodes: Sequence[Mapping[str, Any]], step: int) -> None:
        """The split tree drawn as an image (``splits/tree``)."""
        from hwnas.search.draw_selection import draw_split_tree

        self.image("splits/tree", draw_split_tree(nodes, dpi=self.dpi), step)

    # -- lifetime ------------------------------------------------------------------------------

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> SearchLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
