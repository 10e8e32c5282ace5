"""Draw a chosen architecture as an RGB image, generically from the space's decisions.

Three pictures, picked from what the space declares (never from its class):

* **Cells** — every ``InputChoice`` with ``sources`` is an intermediate node; input ``i`` of a node
  is state ``i`` of its cell (the cell's inputs first, then the earlier nodes, in the order of the
  nodes' input counts), and the Choice named by ``sources[i]`` is that edge's op. Nodes are grouped
  into cells by the label prefix before the last ``/`` (``normal/n2`` -> ``normal``). The cell
  output is drawn as the concatenation of its intermediate nodes (the DARTS convention).
* **Edge labels** — Choices labelled ``[group/]j<-i`` (NAS-Bench-201) are the edge from node ``i``
  to node ``j``; node 0 is the input and the highest node the output.
* **Layer-wise** — the remaining Choices, in module order, as a strip of blocks labelled with the
  chosen candidate.

When none of these applies (e.g. an InputChoice without ``sources``), a table of the choices is
drawn instead. Rendering uses matplotlib's Agg canvas directly: no display, no pyplot state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from hwnas.api import ZERO_OPS, ArchSpec, InputChoice, collect_decisions

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_EDGE_LABEL = re.compile(r"^(?:(?P<group>.*)/)?(?P<dst>\d+)<-(?P<src>\d+)$")
_COLORS = {"input": "#cfe2f3", "node": "#fff2cc", "output": "#d9ead3"}
_STRIP_WRAP = 24


@dataclass
class _Edge:
    src: int
    dst: int
    op: str
    side: int = 1  # +1 above the node line, -1 below (set by the layout)
    apex: float = 0.0  # height of the arc's top, where its label sits (set by the layout)


@dataclass
class _Cell:
    name: str
    states: list[tuple[str, str]]  # (text, kind) per state, in order
    edges: list[_Edge] = field(default_factory=list)
    concat_output: bool = False  # draw an extra output node fed by every intermediate node


def draw_arch(arch: ArchSpec, space: nn.Module, *, dpi: int = 80, title: str | None = None) -> np.ndarray:
    """Draw ``arch`` on the structure of ``space`` and return an ``H x W x 3`` uint8 image.

    Args:
        arch: The architecture, e.g. ``supernet.export()``.
        space: The search space whose decisions ``arch`` fills (``supernet.space`` for a supernet).
        dpi: Resolution; images are about 500-900 pixels wide at the default.
        title: Figure title; defaults to the space name and archid.

    Example:
        >>> from torch import nn
        >>> from hwnas.api import ArchSpec, Choice
        >>> conv = lambda c_in, c_out, stride: nn.Conv2d(c_in, c_out, 3, stride, 1)
        >>> space = nn.Sequential(Choice({"conv": conv, "conv2": conv}, label="b0", c_in=4, c_out=4))
        >>> img = draw_arch(ArchSpec("demo", {"b0": "conv"}), space)
        >>> img.dtype, img.ndim, img.shape[2]
        (dtype('uint8'), 3, 3)
    """
    decisions = collect_decisions(space)
    choices = dict(arch.choices)
    title = title if title is not None else f"{arch.space}  {arch.archid}"
    try:
        cells, leftover = _infer_structure(decisions, choices)
    except _NoStructure:
        return _render(_table_figure(choices, title, dpi))
    return _render(_arch_figure(cells, leftover, decisions, choices, title, dpi))


def render_figure(fig: Figure) -> np.ndarray:
    """Rasterise a matplotlib Figure to an ``H x W x 3`` uint8 array (Agg, no display)."""
    return _render(fig)


def new_figure(width_in: float, height_in: float, dpi: int = 80) -> Figure:
    """A matplotlib Figure on an Agg canvas, detached from pyplot (safe in threads and headless)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def draw_probabilities(
    probs: Mapping[str, Any],
    candidate_names: Mapping[str, Sequence[str]] | None = None,
    *,
    dpi: int = 80,
    title: str | None = None,
    scale: str = "unit",
) -> np.ndarray:
    """A heatmap of every decision's distribution: rows = labels, columns = candidate names.

    Rows are grouped by the label prefix before the last ``/`` (``normal``/``reduce``), one panel per
    group; columns are the union of candidate names in first-seen order, and a label that lacks a
    candidate leaves that cell blank. A label without names gets ``#0, #1, ...``. Every cell shows its
    number. ``scale="unit"`` colours 0..1; ``"data"`` spans the values shown, so that a near-uniform
    search (all values within 0.12-0.13) still shows which candidate leads.

    Example:
        >>> import torch
        >>> img = draw_probabilities({"a/e0": torch.tensor([0.2, 0.8])}, {"a/e0": ("skip", "conv")})
        >>> img.dtype.name, img.shape[2]
        ('uint8', 3)
    """
    candidate_names = candidate_names or {}
    groups: dict[str, list[str]] = {}
    for lbl in probs:
        groups.setdefault(_group_of(lbl), []).append(lbl)
    rows = [lbl for g in groups.values() for lbl in g]
    row_names: list[list[str]] = []
    cols: list[str] = []
    values: list[np.ndarray] = []
    for lbl in rows:
        v = np.asarray(_as_numpy(probs[lbl]), dtype=np.float64).reshape(-1)
        names = [str(n) for n in candidate_names.get(lbl, ())] or [f"#{i}" for i in range(v.size)]
        if len(names) != v.size:
            raise ValueError(f"{lbl!r}: {v.size} probabilities but {len(names)} candidate names {names}")
        row_names.append(names)
        values.append(v)
        cols.extend(n for n in names if n not in cols)
    grid = np.full((len(rows), max(1, len(cols))), np.nan)
    for r, (names, v) in enumerate(zip(row_names, values)):
        for n, x in zip(names, v):
            grid[r, cols.index(n)] = x
    finite = grid[np.isfinite(grid)]
    lo, hi = (float(finite.min()), float(finite.max())) if scale == "data" and finite.size else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    # enough decimals to tell the cells apart (a near-uniform search differs in the fourth)
    digits = 2 if scale != "data" else int(min(4, max(2, np.ceil(-np.log10(max(hi - lo, 1e-12))) + 1)))
    label_w = 0.065 * max((len(r) for r in rows), default=4)
    group_rows = [[rows.index(lbl) for lbl in g] for g in groups.values()]
    heights = [0.35 + 0.2 * len(g) for g in group_rows]
    fig = new_figure(1.8 + label_w + 0.6 * len(cols), 1.0 + sum(heights), dpi)
    axes = fig.subplots(len(group_rows), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    im = None
    for ax, name, idx in zip(axes, groups, group_rows):
        sub = grid[idx]
        im = ax.imshow(np.ma.masked_invalid(sub), aspect="auto", cmap="viridis", vmin=lo, vmax=hi,
                       interpolation="nearest")
        ax.set_xticks(range(len(cols)), cols if ax is axes[-1] else [""] * len(cols), rotation=40, ha="right",
                      fontsize=7)
        ax.set_yticks(range(len(idx)), [rows[i].rsplit("/", 1)[-1] if name else rows[i] for i in idx],
                      fontsize=6.5 if len(idx) > 20 else 7.5)
        ax.set_facecolor("#dddddd")  # masked (absent) candidates
        if name:
            ax.set_title(name, fontsize=8, loc="left")
        for r in range(len(idx)):
            for c in range(len(cols)):
                v = sub[r, c]
                if not np.isnan(v):
                    # in_layout=False: the layout engine need not measure hundreds of in-axes labels
                    ax.text(c, r, f"{v:.{digits}f}", ha="center", va="center",
                            fontsize=5.5, color="black" if (v - lo) / (hi - lo) > 0.6 else "white", in_layout=False)
    fig.colorbar(im, ax=list(axes), fraction=0.04, pad=0.02)
    if title:
        fig.suptitle(title, fontsize=9)
    return _render(fig)


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


# --------------------------------------------------------------------------- structure inference


class _NoStructure(Exception):
    pass


def _group_of(label: str) -> str:
    return label.rsplit("/", 1)[0] if "/" in label else ""


def _input_names(m: int) -> list[str]:
    # matplotlib mathtext: drawn as c with a k-2 subscript (DARTS's names for the two previous cells' outputs)
    if m == 1:
        return ["$c_{k-1}$"]
    if m == 2:
        return ["$c_{k-2}$", "$c_{k-1}$"]
    return [f"in{i}" for i in range(m)]


def _infer_structure(decisions: Mapping[str, Any], choices: Mapping[str, Any]) -> tuple[list[_Cell], list[str]]:
    ics = [(lbl, d) for lbl, d in decisions.items() if isinstance(d, InputChoice)]
    if any(d.sources is None for _, d in ics):
        raise _NoStructure
    cells: list[_Cell] = []
    used: set[str] = set()
    groups: dict[str, list[tuple[str, InputChoice]]] = {}
    for lbl, d in ics:
        groups.setdefault(_group_of(lbl), []).append((lbl, d))
    for name, nodes in groups.items():
        cells.append(_cell_from_input_choices(name, nodes, choices))
        used.update(s for _, d in nodes for s in d.sources)
    edge_groups: dict[str, list[tuple[int, int, str]]] = {}
    for lbl, d in decisions.items():
        if isinstance(d, InputChoice) or lbl in used:
            continue
        m = _EDGE_LABEL.match(lbl)
        if m:
            edge_groups.setdefault(m.group("group") or "", []).append((int(m["src"]), int(m["dst"]), lbl))
    for name, edges in edge_groups.items():
        cells.append(_cell_from_edge_labels(name, edges, choices))
        used.update(lbl for _, _, lbl in edges)
    leftover = [lbl for lbl, d in decisions.items() if not isinstance(d, InputChoice) and lbl not in used]
    return cells, leftover


def _cell_from_input_choices(name: str, nodes: list[tuple[str, InputChoice]], choices: Mapping[str, Any]) -> _Cell:
    # Node k of a DAG cell sees the m cell inputs plus the k earlier nodes, so input counts grow.
    nodes = sorted(nodes, key=lambda t: t[1].n_candidates)  # stable: equal counts keep module order
    m = nodes[0][1].n_candidates
    # a node is named as its label names it (normal/n2 -> n2), as arch.json does
    states = [(s, "input") for s in _input_names(m)] + [(lbl.rsplit("/", 1)[-1], "node") for lbl, _ in nodes]
    cell = _Cell(name=name, states=states, concat_output=True)
    for k, (lbl, ic) in enumerate(nodes):
        if ic.n_candidates > m + k:
            raise _NoStructure  # an input would come from a later node: not a DAG we can read
        kept = choices.get(lbl)
        indices = list(kept) if isinstance(kept, (tuple, list)) else list(range(ic.n_candidates))
        for i in sorted(indices):
            cell.edges.append(_Edge(src=i, dst=m + k, op=str(choices.get(ic.sources[i], "?"))))
    return cell


def _cell_from_edge_labels(name: str, edges: list[tuple[int, int, str]], choices: Mapping[str, Any]) -> _Cell:
    n = max(max(s, d) for s, d, _ in edges) + 1
    states = [(str(i), "input" if i == 0 else "output" if i == n - 1 else "node") for i in range(n)]
    cell = _Cell(name=name, states=states)
    for s, d, lbl in sorted(edges, key=lambda t: (t[1], t[0])):
        cell.edges.append(_Edge(src=s, dst=d, op=str(choices.get(lbl, "?"))))
    return cell


# --------------------------------------------------------------------------- drawing


# Label geometry in data units (1 x-unit = one state, about _X_INCH wide; 1 y-unit = _Y_INCH high).
_X_INCH, _Y_INCH = 1.15, 0.8
_CHAR_W = 0.056  # a 7-pt character, in x-units
_LABEL_H = 0.24  # a 7-pt label with its box, in y-units
_NODE_W, _NODE_H = 0.42, 0.36
_STEP = 0.12  # how far a label moves out when it would cover another


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _layout_cell(cell: _Cell) -> tuple[float, float]:
    """Give every edge a side and an apex so that no label covers another label or a node; returns the
    y-range used. Short edges are placed first, each on the side where it needs to move out least."""
    n = len(cell.states) + (1 if cell.concat_output else 0)
    placed = [(x - _NODE_W / 2, x + _NODE_W / 2, -_NODE_H / 2, _NODE_H / 2) for x in range(n)]
    for e in sorted(cell.edges, key=lambda e: (abs(e.dst - e.src), e.dst, e.src)):
        mid, half = (e.src + e.dst) / 2, (len(e.op) * _CHAR_W + 0.08) / 2
        best: tuple[float, int, float] | None = None
        for side in (1, -1):
            apex = 0.35 + 0.18 * (abs(e.dst - e.src) - 1)
            while any(_overlaps((mid - half, mid + half, side * apex - _LABEL_H / 2, side * apex + _LABEL_H / 2), b)
                      for b in placed):
                apex += _STEP
            if best is None or apex < best[0] - 1e-9:
                best = (apex, side, apex)
        assert best is not None
        _, e.side, height = best
        e.apex = e.side * height
        placed.append((mid - half, mid + half, e.apex - _LABEL_H / 2, e.apex + _LABEL_H / 2))
    lo = min([0.0, *(e.apex for e in cell.edges)]) - _LABEL_H
    hi = max([0.0, *(e.apex for e in cell.edges)]) + _LABEL_H
    return lo, hi


def _arch_figure(
    cells: Sequence[_Cell],
    leftover: Sequence[str],
    decisions: Mapping[str, Any],
    choices: Mapping[str, Any],
    title: str,
    dpi: int,
) -> Figure:
    ranges = [_layout_cell(c) for c in cells]
    n_strip_rows = (len(leftover) + _STRIP_WRAP - 1) // _STRIP_WRAP
    heights = [0.35 + _Y_INCH * (hi - lo) for lo, hi in ranges] + [1.9] * n_strip_rows
    widths = [_X_INCH * (len(c.states) + (1 if c.concat_output else 0)) + 0.6 for c in cells]
    widths += [0.62 * min(len(leftover), _STRIP_WRAP) + 0.6] * n_strip_rows
    fig = new_figure(max(4.0, max(widths)), 0.5 + sum(heights), dpi)
    axes = fig.subplots(len(heights), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    fig.suptitle(title, fontsize=9)
    for ax, cell, yr in zip(axes, cells, ranges):
        _draw_cell(ax, cell, yr)
    names = _candidate_order(decisions, leftover)
    for r in range(n_strip_rows):
        _draw_strip(axes[len(cells) + r], leftover[r * _STRIP_WRAP : (r + 1) * _STRIP_WRAP], choices, names)
    return fig


def _quad(p0: tuple[float, float], c: tuple[float, float], p1: tuple[float, float]) -> Any:
    from matplotlib.path import Path

    return Path([p0, c, p1], [Path.MOVETO, Path.CURVE3, Path.CURVE3])


def _draw_cell(ax: Axes, cell: _Cell, yrange: tuple[float, float]) -> None:
    from matplotlib.patches import FancyArrowPatch

    xs = list(range(len(cell.states)))
    states = list(cell.states)
    if cell.concat_output:
        states.append(("$c_{k}$", "output"))
        xs.append(len(cell.states))
    span = max(1, len(states) - 1)
    ax.set_xlim(-0.6, span + 0.6)
    ax.set_ylim(*yrange)
    ax.axis("off")
    if cell.name:
        ax.set_title(cell.name, fontsize=9, loc="left")
    if cell.concat_output:
        out = len(cell.states)
        for s, (_, kind) in enumerate(cell.states):
            if kind == "node":
                d = out - s
                path = _quad((s, 0.0), ((s + out) / 2, -0.12 * d), (out, 0.0))
                ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=8, color="#aaaaaa",
                                             linestyle="--", lw=0.7, shrinkA=9, shrinkB=9))
    for e in cell.edges:
        zero = e.op in ZERO_OPS
        color = "#bbbbbb" if zero else "#1f4e79"
        # a quadratic Bezier peaks at half its control point's height
        path = _quad((e.src, 0.0), ((e.src + e.dst) / 2, 2 * e.apex), (e.dst, 0.0))
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=10, color=color,
                                     linestyle=":" if zero else "-", lw=1.2, shrinkA=10, shrinkB=10))
        ax.text((e.src + e.dst) / 2, e.apex, e.op, ha="center", va="center", fontsize=7, zorder=4,
                color="#888888" if zero else "black", in_layout=False,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.95})
    for x, (text, kind) in zip(xs, states):
        ax.text(x, 0.0, text, ha="center", va="center", fontsize=8, zorder=5, in_layout=False,
                bbox={"boxstyle": "round,pad=0.35", "fc": _COLORS[kind], "ec": "#555555"})


def _candidate_order(decisions: Mapping[str, Any], labels: Sequence[str]) -> list[str]:
    names: list[str] = []
    for lbl in labels:
        for n in decisions[lbl]:
            if n not in names:
                names.append(n)
    return names


def _draw_strip(ax: Axes, labels: Sequence[str], choices: Mapping[str, Any], names: Sequence[str]) -> None:
    from matplotlib import colormaps
    from matplotlib.patches import FancyBboxPatch

    cmap = colormaps["tab20"]
    ax.set_xlim(-0.1, len(labels) - 0.1)
    ax.set_ylim(-0.05, 1.05)
    ax.axis("off")
    for i, lbl in enumerate(labels):
        op = str(choices.get(lbl, "?"))
        zero = op in ZERO_OPS
        fc = "white" if zero or op not in names else cmap(names.index(op) % 20)
        ax.add_patch(
            FancyBboxPatch(
                (i + 0.06, 0.02),
                0.68,
                0.96,
                boxstyle="round,pad=0.0,rounding_size=0.08",
                fc=fc,
                ec="#555555",
                hatch="///" if zero else None,
                lw=0.8,
            )
        )
        ax.text(i + 0.4, 0.5, f"{lbl}\n{op}", rotation=90, ha="center", va="center", fontsize=6.5, in_layout=False)
        if i + 1 < len(labels):
            ax.annotate(
                "",
                xy=(i + 1.04, 0.5),
                xytext=(i + 0.76, 0.5),
                arrowprops={"arrowstyle": "-|>", "color": "#555555", "lw": 0.8},
            )


def _table_figure(choices: Mapping[str, Any], title: str, dpi: int) -> Figure:
    rows = [f"{k}: {v if isinstance(v, str) else list(v)}" for k, v in choices.items()] or ["(no choices)"]
    per_col = 30
    n_cols = (len(rows) + per_col - 1) // per_col
    width = max(len(r) for r in rows) * 0.075 + 0.3
    fig = new_figure(max(3.0, width * n_cols), max(1.5, 0.5 + 0.17 * min(len(rows), per_col)), dpi)
    fig.suptitle(title, fontsize=9)
    ax = fig.subplots()
    ax.axis("off")
    for c in range(n_cols):
        block = "\n".join(rows[c * per_col : (c + 1) * per_col])
        ax.text(c / n_cols, 1.0, block, family="monospace", fontsize=7, va="top", ha="left", transform=ax.transAxes)
    return fig


def _render(fig: Figure) -> np.ndarray:
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    fig.clear()
    return img
