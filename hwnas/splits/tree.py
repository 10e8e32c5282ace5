"""The split tree of a run: which sub-supernet came from which, by restricting which edge to which candidates."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

ROOT = "0"


@dataclass
class SplitNode:
    """One (sub-)supernet. ``label``/``group``: the restriction its parent's split gave it (None at the root);
    ``split_label``/``distance``/``names``: its own split, once it has one."""

    id: str
    parent: str | None = None
    epoch: int | None = None
    label: str | None = None
    group: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    split_label: str | None = None
    names: list[str] = field(default_factory=list)
    distance: list[list[float]] | None = None
    score: float | None = None
    chosen: bool = False


class SplitTree:
    """Nodes by id; the root is ``"0"``, children of ``p`` are ``p.0``, ``p.1``, ...

    Example:
        >>> t = SplitTree()
        >>> t.split("0", epoch=15, label="3<-1", groups=[["none", "skip_connect"], ["nor_conv_3x3"]])
        ['0.0', '0.1']
        >>> t.leaves(), sorted(t.lineage_labels("0.1"))
        (['0.0', '0.1'], ['3<-1'])
        >>> SplitTree.from_json(t.to_json()).leaves()
        ['0.0', '0.1']
    """

    def __init__(self) -> None:
        self.nodes: dict[str, SplitNode] = {ROOT: SplitNode(ROOT)}

    def leaves(self) -> list[str]:
        return [i for i, n in self.nodes.items() if not n.children]

    def split_epochs(self) -> set[int]:
        """Epochs at which a split already happened."""
        return {n.epoch for n in self.nodes.values() if n.epoch is not None}

    def lineage_labels(self, node_id: str) -> set[str]:
        """Labels already split on the path from the root to ``node_id`` (an edge splits once per lineage)."""
        out: set[str] = set()
        node: SplitNode | None = self.nodes[node_id]
        while node is not None:
            if node.label is not None:
                out.add(node.label)
            node = self.nodes[node.parent] if node.parent is not None else None
        return out

    def split(self, parent: str, *, epoch: int, label: str, groups: list[list[str]],
              names: list[str] | None = None, distance: list[list[float]] | None = None) -> list[str]:
        """Record the split of ``parent`` on ``label`` into ``groups``; returns the children's ids."""
        node = self.nodes[parent]
        if node.children:
            raise ValueError(f"sub-supernet {parent!r} was already split")
        node.split_label, node.names, node.distance = label, list(names or []), distance
        ids = []
        for i, g in enumerate(groups):
            cid = f"{parent}.{i}"
            self.nodes[cid] = SplitNode(cid, parent=parent, epoch=epoch, label=label, group=list(g))
            ids.append(cid)
        node.children = ids
        return ids

    def rows(self) -> list[dict[str, Any]]:
        """Plain dicts per node, as :func:`hwnas.search.draw_selection.draw_split_tree` takes them."""
        return [asdict(n) for n in self.nodes.values()]

    def to_json(self) -> str:
        return json.dumps({"format": "hwnas.splittree/1", "nodes": self.rows()}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SplitTree:
        data = json.loads(text)
        tree = cls()
        tree.nodes = {d["id"]: SplitNode(**d) for d in data["nodes"]}
        return tree
