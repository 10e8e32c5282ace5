"""draw_arch infers cell DAGs / edge-labelled cells / layer strips from a space's decisions alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hwnas.api import ArchSpec, Choice, InputChoice, check_arch, collect_decisions
from hwnas.search.draw import _infer_structure, draw_arch, draw_probabilities

DARTS_OPS = ("none", "max_pool_3x3", "skip_connect", "sep_conv_3x3")
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
MB_OPS = ("mb_k3_e3", "mb_k5_e6", "zero")


def _conv(c_in: int, c_out: int, stride: int, **kw) -> nn.Module:
    return nn.Conv2d(c_in, c_out, 3, stride, 1)


def _factories(names):
    return {n: _conv for n in names}


class _Cell(nn.Module):
    """DARTS-like: node j (state j+2) sums 2 of its inputs; edge labels are the InputChoice's sources."""

    def __init__(self, prefix: str, n_nodes: int = 4) -> None:
        super().__init__()
        self.edges = nn.ModuleList()
        self.nodes = nn.ModuleList()
        for j in range(n_nodes):
            labels = [f"{prefix}/n{j + 2}_e{i}" for i in range(2 + j)]
            self.edges.extend(Choice(_factories(DARTS_OPS), label=lb, c_in=4, c_out=4) for lb in labels)
            self.nodes.append(InputChoice(n_candidates=2 + j, n_chosen=2, label=f"{prefix}/n{j + 2}", sources=labels))


def darts_like_space() -> nn.Module:
    return nn.ModuleList([_Cell("normal"), _Cell("reduce")])


def darts_like_arch(space: nn.Module, op: str = "sep_conv_3x3", **extra: str) -> ArchSpec:
    choices: dict = dict(extra)
    for prefix in ("normal", "reduce"):
        for j in range(4):
            choices[f"{prefix}/n{j + 2}"] = (0, j + 1)  # c_{k-2} and the newest state
            for i in range(2 + j):
                choices[f"{prefix}/n{j + 2}_e{i}"] = op if i == 0 else "skip_connect"
    return check_arch(space, ArchSpec("darts_like", choices))


def nb201_like_space() -> nn.Module:
    return nn.ModuleList(
        [Choice(_factories(NB201_OPS), label=f"{j}<-{i}", c_in=4, c_out=4) for j in range(1, 4) for i in range(j)]
    )


def layerwise_space(n: int = 7) -> nn.Module:
    return nn.Sequential(*[Choice(_factories(MB_OPS), label=f"stage{b // 3}/b{b}", c_in=4, c_out=4) for b in range(n)])


def _is_image(img: np.ndarray) -> None:
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert 100 <= img.shape[0] <= 2000 and 100 <= img.shape[1] <= 2500
    assert img.std() > 5  # not a blank canvas


def test_cell_space_structure_and_image() -> None:
    space = darts_like_space()
    arch = darts_like_arch(space)
    cells, leftover = _infer_structure(collect_decisions(space), arch.choices)
    assert leftover == []
    assert [c.name for c in cells] == ["normal", "reduce"]
    normal = cells[0]
    # inputs as mathtext (drawn as c with a subscript), nodes named as their labels name them (arch.json's n2..n5)
    assert [s for s, _ in normal.states] == ["$c_{k-2}$", "$c_{k-1}$", "n2", "n3", "n4", "n5"] and normal.concat_output
    # exactly the kept inputs, each labelled with the op of its source edge
    assert sorted((e.src, e.dst, e.op) for e in normal.edges) == sorted(
        [(0, j + 2, "sep_conv_3x3") for j in range(4)] + [(j + 1, j + 2, "skip_connect") for j in range(4)]
    )
    img = draw_arch(arch, space)
    _is_image(img)
    other = draw_arch(darts_like_arch(space, op="max_pool_3x3"), space, title=arch.space + "  " + arch.archid)
    assert other.shape == img.shape and not np.array_equal(other, img)  # the ops are what is drawn


def test_cell_labels_never_overlap() -> None:
    from hwnas.search.draw import _CHAR_W as cw
    from hwnas.search.draw import _LABEL_H, _NODE_H, _NODE_W, _layout_cell

    space = darts_like_space()
    for op in ("sep_conv_3x3", "max_pool_3x3"):
        cells, _ = _infer_structure(collect_decisions(space), darts_like_arch(space, op=op).choices)
        for cell in cells:
            _layout_cell(cell)
            n = len(cell.states) + 1
            boxes = [(x - _NODE_W / 2, x + _NODE_W / 2, -_NODE_H / 2, _NODE_H / 2) for x in range(n)]
            for e in cell.edges:
                mid, half = (e.src + e.dst) / 2, (len(e.op) * cw + 0.08) / 2
                box = (mid - half, mid + half, e.apex - _LABEL_H / 2, e.apex + _LABEL_H / 2)
                assert not any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3] for b in boxes)
                boxes.append(box)


def test_nb201_edge_labels() -> None:
    space = nb201_like_space()
    choices = {f"{j}<-{i}": NB201_OPS[(i + j) % 5] for j in range(1, 4) for i in range(j)}
    cells, leftover = _infer_structure(collect_decisions(space), choices)
    assert leftover == [] and len(cells) == 1
    cell = cells[0]
    assert [k for _, k in cell.states] == ["input", "node", "node", "output"] and not cell.concat_output
    assert sorted((e.src, e.dst) for e in cell.edges) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert {(e.src, e.dst): e.op for e in cell.edges}[(1, 2)] == NB201_OPS[3]
    _is_image(draw_arch(ArchSpec("nb201", choices), space))


def test_layerwise_strip_and_mixed_space() -> None:
    space = layerwise_space(7)
    arch = ArchSpec("lw", {f"stage{b // 3}/b{b}": MB_OPS[b % 3] for b in range(7)})
    cells, leftover = _infer_structure(collect_decisions(space), arch.choices)
    assert cells == [] and leftover == [f"stage{b // 3}/b{b}" for b in range(7)]
    img = draw_arch(arch, space)
    _is_image(img)
    assert img.shape[1] > img.shape[0]  # a horizontal strip
    # a cell space with one extra, un-fed Choice draws both the cells and the strip
    mixed = nn.ModuleList([darts_like_space(), Choice(_factories(MB_OPS), label="head", c_in=4, c_out=4)])
    march = darts_like_arch(mixed, head="zero")
    cells, leftover = _infer_structure(collect_decisions(mixed), march.choices)
    assert len(cells) == 2 and leftover == ["head"]
    _is_image(draw_arch(march, mixed))


def test_fallback_table_without_sources() -> None:
    space = nn.ModuleList(
        [Choice(_factories(MB_OPS), label="op", c_in=4, c_out=4), InputChoice(n_candidates=3, n_chosen=1, label="pick")]
    )
    img = draw_arch(ArchSpec("odd", {"op": "zero", "pick": (2,)}), space)
    _is_image(img)


def test_probability_heatmap() -> None:
    probs = {f"{g}/e{i}": torch.softmax(torch.randn(4), 0) for g in ("normal", "reduce") for i in range(3)}
    names = {k: DARTS_OPS for k in probs}
    probs["blk"] = torch.tensor([0.5, 0.5])  # another candidate set: blank cells elsewhere
    names["blk"] = ("mb_k3_e3", "zero")
    _is_image(draw_probabilities(probs, names, title="p"))
    with pytest.raises(ValueError, match="3 probabilities but 2 candidate names"):
        draw_probabilities({"x": torch.ones(3) / 3}, {"x": ("a", "b")})
