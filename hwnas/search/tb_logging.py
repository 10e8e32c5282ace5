"""TensorBoard logging of a search: losses, architecture distributions, and the derived architecture.

Tags written (``step`` is the caller's: global step for losses, epoch for architecture pictures):

* ``<key>`` for every key given to :meth:`SearchLogger.scalars` (loss ``details``, accuracies, lrs);
* ``probs/<label>/<candidate>`` (one multi-line chart per choice in the Custom Scalars tab),
  ``arch/probabilities`` (heatmap of the op choices), ``arch/entropy_ops`` and ``arch/entropy_inputs``
  (normalised: 1 = uniform, 0 = decided), and for learned input weights ``inputs/<label>/in<i>`` and
  ``arch/input_weights``;
* ``arch/param_free_ops`` (+ ``arch/param_free_ops/<group>``), ``ops/<name>`` (how often each
  candidate is picked), ``arch/changed_choices`` (decisions that differ from the previous call),
  ``arch/derived`` (the architecture drawn by :func:`hwnas.search.draw.draw_arch`), ``arch/spec`` (text);
* selection (step = decision number): ``select/decision/<label>`` (a bar chart of the held-out figure
  without each candidate), ``select/order`` (text table of the decisions so far), ``select/derived``
  and ``select/param_free_ops`` (the projected architecture after each decision), ``select/tune/...``;
* splits (step = epoch): ``splits/distance/<node>`` (the gradient-distance matrix), ``splits/tree``;
* co-search: ``hw_probs/<label>/<value>`` (one multi-line chart per hardware decision, Custom Scalars category
  ``hardware decisions``), ``arch/hardware_probabilities`` (heatmap) and ``arch/entropy_hw``.
"""

from __future__ import annotations

import math
import numbers
import os
import re
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


def _normalised_entropy(p: torch.Tensor) -> float:
    """Entropy over the candidates with mass, divided by its maximum (1 = uniform, 0 = one candidate left)."""
    p = p[p > 0]
    if p.numel() <= 1:
        return 0.0
    p = p / p.sum()
    return float(-(p * p.log()).sum()) / math.log(p.numel())


def _varies(w: torch.Tensor) -> bool:
    """Whether input weights are learned: not all equal where non-zero (DARTS's are 1, or 0 when masked)."""
    w = w.detach().float().reshape(-1)
    w = w[w > 0]
    return w.numel() > 1 and bool((w.max() - w.min()) > 1e-12)


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
        >>> round(ent["arch/entropy_ops"], 6)  # uniform over two candidates
        1.0
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
        self._layout_written = False
        # The labels of the last layout written: TensorBoard shows a run's latest layout, so the hardware
        # decisions' charts are added by writing the whole layout again with them.
        self._layout: tuple[list[str], list[str], list[str]] = ([], [], [])

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
        input_weights: Mapping[str, torch.Tensor] | None = None,
        image: bool = True,
    ) -> dict[str, float]:
        """Log every op choice's distribution, and the input choices' weights apart from it.

        * ``probs/<label>/<candidate>``: one scalar per candidate, drawn as one multi-line chart per
          choice (a custom-scalars layout, grouped by cell type);
        * ``arch/entropy_ops`` and ``arch/entropy_inputs``: mean normalised entropy (1 = uniform over the
          allowed candidates, 0 = decided) of the op choices and of the input choices, separately;
        * ``arch/probabilities``: a heatmap of the op choices per cell type, numbers in the cells, its colour
          scale spanning the op probabilities only; ``arch/input_weights`` and ``inputs/<label>/in<i>``
          when the strategy learns input weights (PC-DARTS's β), so that constant weights draw nothing.

        Args:
            probs: Op-choice label -> probabilities (``supernet.probabilities()``).
            candidate_names: Label -> candidate names (:func:`decision_names`; ``in0, in1...`` for inputs).
            step: Usually the global step.
            input_weights: InputChoice label -> weights (``supernet.input_weights()``).
            image: Draw the heatmaps (the costly part; skip it on frequent calls).

        Returns:
            Normalised entropy per label, plus ``arch/entropy_ops`` and ``arch/entropy_inputs``.
        """
        input_weights = dict(input_weights or {})
        ent: dict[str, float] = {}
        for label, p in probs.items():
            p = p.detach().float().cpu().reshape(-1)
            ent[label] = _normalised_entropy(p)
            for name, v in zip(candidate_names[label], p.tolist()):
                self.writer.add_scalar(f"probs/{label}/{name}", v, step)
        learned = {k: w for k, w in input_weights.items() if _varies(w)}
        for label, w in input_weights.items():
            w = w.detach().float().cpu().reshape(-1)
            ent[label] = _normalised_entropy(w / w.sum().clamp_min(1e-12))
            if label in learned:
                for name, v in zip(candidate_names[label], w.tolist()):
                    self.writer.add_scalar(f"inputs/{label}/{name}", v, step)
        if not self._layout_written:
            self._write_layout(list(probs), list(learned), self._layout[2])
        for tag, labels in (("arch/entropy_ops", list(probs)), ("arch/entropy_inputs", list(input_weights))):
            if labels:
                ent[tag] = sum(ent[k] for k in labels) / len(labels)
                self.writer.add_scalar(tag, ent[tag], step)
        if image and probs:
            img = draw_probabilities(probs, candidate_names, dpi=self.dpi, scale="data",
                                     title=f"op probabilities @ {step}")
            self.image("arch/probabilities", img, step)
        if image and learned:
            img = draw_probabilities(learned, candidate_names, dpi=self.dpi, title=f"input weights @ {step}")
            self.image("arch/input_weights", img, step)
        return ent

    def hardware_probabilities(self, probs: Mapping[str, torch.Tensor], values: Mapping[str, Sequence[Any]],
                               step: int, *, image: bool = False) -> dict[str, float]:
        """Log a co-search's hardware decisions as the network's are logged: ``hw_probs/<label>/<value>`` per value
        (one multi-line chart per decision in Custom Scalars, category ``hardware decisions``), ``arch/entropy_hw``
        (mean normalised entropy of the decisions with more than one value) and, with ``image``, the heatmap
        ``arch/hardware_probabilities``.

        Returns:
            Normalised entropy per label, plus ``arch/entropy_hw``.
        """
        ent: dict[str, float] = {}
        for label, p in probs.items():
            p = p.detach().float().cpu().reshape(-1)
            for v, x in zip(values[label], p.tolist()):
                self.writer.add_scalar(f"hw_probs/{label}/{v}", x, step)
            if p.numel() > 1:
                ent[label] = _normalised_entropy(p)
        if ent:
            ent["arch/entropy_hw"] = sum(ent.values()) / len(ent)
            self.writer.add_scalar("arch/entropy_hw", ent["arch/entropy_hw"], step)
        if list(probs) != self._layout[2]:
            self._write_layout(self._layout[0], self._layout[1], list(probs))
        if image and probs:
            names = {label: [str(v) for v in values[label]] for label in probs}
            img = draw_probabilities(probs, names, dpi=self.dpi, title=f"hardware decisions @ {step}")
            self.image("arch/hardware_probabilities", img, step)
        return ent

    def _write_layout(self, op_labels: Sequence[str], input_labels: Sequence[str],
                      hw_labels: Sequence[str] = ()) -> None:
        """TensorBoard's custom-scalars layout: one multi-line chart per choice, a category per cell type, and one
        category for a co-search's hardware decisions."""
        layout: dict[str, dict[str, list[Any]]] = {}
        kinds = (("op probabilities", "probs", op_labels), ("input weights", "inputs", input_labels))
        for kind, prefix, labels in kinds:
            for label in labels:
                group = label.rsplit("/", 1)[0] if "/" in label else ""
                category = f"{kind}: {group}" if group else kind
                layout.setdefault(category, {})[label] = ["Multiline", [f"^{prefix}/{re.escape(label)}/"]]
        for label in hw_labels:
            layout.setdefault("hardware decisions", {})[label] = ["Multiline", [f"^hw_probs/{re.escape(label)}/"]]
        if layout:
            self.writer.add_custom_scalars(layout)
        self._layout_written = True
        self._layout = (list(op_labels), list(input_labels), list(hw_labels))

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
            previous = self._previous if self._previous is not None else current  # 0 at the first point
            out["arch/changed_choices"] = sum(current.get(k) != previous.get(k) for k in set(current) | set(previous))
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
