"""Pictures of selection and splits: one decision's measurements, a distance matrix, the split tree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hwnas.search.draw import new_figure, render_figure


def draw_decision(entry: Mapping[str, Any], *, criterion: str, dpi: int = 80) -> np.ndarray:
    """A bar per candidate: the held-out ``criterion`` with that candidate removed; the kept one highlighted,
    the unperturbed supernet as a dashed line.

    Example:
        >>> img = draw_decision({"label": "1<-0", "kind": "op", "kept": "conv", "base": 0.8,
        ...                      "without": {"skip": 0.79, "conv": 0.41}, "round": 0}, criterion="acc")
        >>> img.dtype.name, img.shape[2]
        ('uint8', 3)
    """
    names = [str(k) for k in entry["without"]]
    values = [float(v) for v in entry["without"].values()]
    kept = entry["kept"]
    kept_names = {str(k) for k in kept} if isinstance(kept, (list, tuple)) else {str(kept)}
    fig = new_figure(1.6 + 0.55 * len(names), 2.6, dpi)
    ax = fig.subplots()
    colors = ["#1f4e79" if n in kept_names else "#9fb7cf" for n in names]
    bars = ax.bar(range(len(names)), values, color=colors)
    ax.axhline(float(entry["base"]), color="#555555", ls="--", lw=1, label="nothing removed")
    for b, v in zip(bars, values):
        ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.3f}", ha="center", va="bottom", fontsize=6.5)
    lo, hi = min([*values, float(entry["base"])]), max([*values, float(entry["base"])])
    pad = max(hi - lo, 1e-3) * 0.25
    ax.set_ylim(lo - pad, hi + pad)
    what = "input" if entry.get("kind") == "input" else "candidate"
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(f"held-out {criterion} without it", fontsize=7)
    ax.set_xlabel(f"removed {what}", fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=6, loc="lower right")
    ax.set_title(f"round {int(entry.get('round', 0)) + 1}: {entry['label']} keeps {kept}", fontsize=8)
    return render_figure(fig)


def draw_matrix(matrix: Sequence[Sequence[float]], names: Sequence[str], *, title: str = "", dpi: int = 80,
                groups: Sequence[Sequence[str]] = ()) -> np.ndarray:
    """A square heatmap with its numbers (e.g. GM-NAS's 1 - cos gradient distances), groups listed below."""
    m = np.asarray(matrix, dtype=np.float64)
    fig = new_figure(1.8 + 0.55 * len(names), 1.6 + 0.5 * len(names), dpi)
    ax = fig.subplots()
    im = ax.imshow(m, cmap="magma_r", interpolation="nearest")
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    hi = float(np.nanmax(m)) if m.size else 1.0
    for r in range(len(names)):
        for c in range(len(names)):
            ax.text(c, r, f"{m[r, c]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if m[r, c] > 0.6 * hi else "black", in_layout=False)
    fig.colorbar(im, ax=ax, fraction=0.045, pad=0.03)
    if groups:
        title = "\n".join([title, *(f"group {i}: {', '.join(g)}" for i, g in enumerate(groups))])
    ax.set_title(title, fontsize=7, wrap=True)
    return render_figure(fig)


def draw_split_tree(nodes: Sequence[Mapping[str, Any]], *, dpi: int = 80, title: str = "split tree") -> np.ndarray:
    """The split tree: one box per sub-supernet (id, its restrictions), children below their parent.

    ``nodes`` are dicts with ``id``, ``parent`` (None for the root), ``label`` and ``group`` (the edge and
    candidates its split gave it) and optionally ``score`` (the leaf's held-out figure).
    """
    children: dict[Any, list[Mapping[str, Any]]] = {}
    for n in nodes:
        children.setdefault(n.get("parent"), []).append(n)
    pos: dict[str, tuple[float, float]] = {}
    leaves = [0]

    def place(node: Mapping[str, Any], depth: int) -> float:
        kids = children.get(node["id"], [])
        if not kids:
            x = float(leaves[0])
            leaves[0] += 1
        else:
            x = float(np.mean([place(k, depth + 1) for k in kids]))
        pos[node["id"]] = (x, -depth)
        return x

    for root in children.get(None, []):
        place(root, 0)
    depth = int(-min((p[1] for p in pos.values()), default=0))
    fig = new_figure(1.5 + 2.2 * max(leaves[0], 1), 1.2 + 1.3 * (depth + 1), dpi)
    ax = fig.subplots()
    ax.axis("off")
    ax.set_xlim(-0.7, max(leaves[0], 1) - 0.3)
    ax.set_ylim(-depth - 0.6, 0.6)
    for n in nodes:
        x, y = pos[n["id"]]
        if n.get("parent") is not None and n["parent"] in pos:
            px, py = pos[n["parent"]]
            ax.plot([px, x], [py, y], color="#888888", lw=1, zorder=1)
        text = f"{n['id']}"
        if n.get("label"):
            text += f"\n{n['label']}: {', '.join(map(str, n.get('group', ())))}"
        if n.get("split_label") and n.get("children"):
            text += f"\nsplits on {n['split_label']}"
        if n.get("score") is not None:
            text += f"\nheld-out {float(n['score']):.3f}"
        chosen = bool(n.get("chosen"))
        ax.text(x, y, text, ha="center", va="center", fontsize=6.5, zorder=2, in_layout=False,
                bbox={"boxstyle": "round,pad=0.3", "fc": "#d9ead3" if chosen else "#fff2cc",
                      "ec": "#38761d" if chosen else "#555555", "lw": 1.5 if chosen else 0.8})
    ax.set_title(title, fontsize=9)
    return render_figure(fig)
