"""DARTS ``Genotype``: the papers' view of a DARTS-space ArchSpec, and the published genotypes.

A DARTS-space ArchSpec has, per cell type ``t`` in ``normal``/``reduce`` and node ``i`` (2 .. steps+1),
an input choice ``t/n{i}`` (two of the states 0 .. i-1) and, for each kept input ``j``, the op of
edge ``t/n{i}_e{j}``. ``genotype_from_arch`` lists each node's two edges in input order; published
genotypes keep the papers' order, so compare them through :func:`canonical_genotype`.

Example:
    >>> from hwnas.search_spaces.darts_genotypes import DARTS_V2, arch_from_genotype, genotype_from_arch
    >>> g = genotype_from_arch(arch_from_genotype(DARTS_V2))
    >>> g.normal[:2]
    [('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]
"""

from __future__ import annotations

import ast
import re
from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any

from hwnas.api import ARCHS, ArchSpec, ArchSpecError
from hwnas.search_spaces.ops import DARTS_OPS

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

CELL_TYPES = ("normal", "reduce")

#: The CIFAR-10 evaluation setting of the DARTS papers (C=36, 20 cells).
CIFAR_EVAL_KWARGS: dict[str, Any] = {"C": 36, "layers": 20, "num_classes": 10, "stem": "cifar", "in_channels": 3}
#: The ImageNet (mobile) evaluation setting (C=48, 14 cells).
IMAGENET_EVAL_KWARGS: dict[str, Any] = {
    "C": 48, "layers": 14, "num_classes": 1000, "stem": "imagenet", "in_channels": 3,
}

_NODE = re.compile(r"^(normal|reduce)/n(\d+)$")


def edge_label(cell: str, node: int, source: int) -> str:
    """Label of the edge ``source -> node`` of ``cell`` (shared by all cells of that type)."""
    return f"{cell}/n{node}_e{source}"


def node_label(cell: str, node: int) -> str:
    """Label of the input choice of ``node`` in ``cell``."""
    return f"{cell}/n{node}"


def canonical_genotype(g: Genotype) -> Genotype:
    """The genotype with each node's two edges ordered by input index and concat as a list."""

    def _cell(edges: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for k in range(0, len(edges), 2):
            out += sorted(((str(op), int(j)) for op, j in edges[k:k + 2]), key=lambda e: e[1])
        return out

    normal_concat, reduce_concat = [int(i) for i in g.normal_concat], [int(i) for i in g.reduce_concat]
    return Genotype(_cell(g.normal), normal_concat, _cell(g.reduce), reduce_concat)


def _steps_of(choices: Mapping[str, Any]) -> int:
    nodes = {int(m.group(2)) for k in choices if (m := _NODE.match(k)) and m.group(1) == "normal"}
    steps = len(nodes)
    if steps == 0 or nodes != set(range(2, steps + 2)):
        raise ArchSpecError(
            f"not a DARTS-space arch: expected input choices 'normal/n2' .. 'normal/n<steps+1>', got {sorted(nodes)}"
        )
    return steps


def genotype_from_arch(arch: ArchSpec, *, multiplier: int | None = None) -> Genotype:
    """The DARTS ``Genotype`` of a DARTS-space ArchSpec.

    Args:
        arch: ArchSpec of space ``darts``.
        multiplier: How many of the last states are concatenated; default ``arch.space_kwargs['multiplier']``
            or all intermediate nodes.
    """
    if arch.space != "darts":
        raise ArchSpecError(f"a DARTS genotype needs an ArchSpec of space 'darts', got {arch.space!r}")
    steps = _steps_of(arch.choices)
    mult = int(multiplier or arch.space_kwargs.get("multiplier", steps))
    cells: dict[str, list[tuple[str, int]]] = {}
    for cell in CELL_TYPES:
        edges: list[tuple[str, int]] = []
        for i in range(2, steps + 2):
            inputs = arch.choices.get(node_label(cell, i))
            if not isinstance(inputs, tuple) or len(inputs) != 2 or not all(0 <= j < i for j in inputs):
                raise ArchSpecError(
                    f"choice {node_label(cell, i)!r} must list 2 distinct input states in [0, {i}), got {inputs!r}"
                )
            for j in inputs:
                op = arch.choices.get(edge_label(cell, i, j))
                if op not in DARTS_OPS:
                    raise ArchSpecError(
                        f"choice {edge_label(cell, i, j)!r} = {op!r} is not a DARTS op; ops: {', '.join(DARTS_OPS)}"
                    )
                edges.append((str(op), int(j)))
        cells[cell] = edges
    concat = list(range(steps + 2 - mult, steps + 2))
    return Genotype(cells["normal"], concat, cells["reduce"], list(concat))


def arch_from_genotype(g: Genotype, **space_kwargs: Any) -> ArchSpec:
    """The ArchSpec of a DARTS ``Genotype`` (inverse of :func:`genotype_from_arch`).

    Raises:
        ArchSpecError: for an odd number of edges, an input that is not an earlier state, a node
            taking the same input twice, an unknown op, or a concat that is not the last states.
    """
    choices: dict[str, Any] = {}
    steps = None
    for cell, edges, concat in (("normal", g.normal, g.normal_concat), ("reduce", g.reduce, g.reduce_concat)):
        edges = list(edges)
        if len(edges) % 2 or not edges:
            raise ArchSpecError(f"genotype {cell} cell needs two (op, input) pairs per node, got {len(edges)} entries")
        n = len(edges) // 2
        if steps is not None and n != steps:
            raise ArchSpecError(f"normal and reduce cells have different node counts ({steps} and {n})")
        steps = n
        for k in range(n):
            i = k + 2
            pair = edges[2 * k:2 * k + 2]
            inputs = [int(j) for _, j in pair]
            if len(set(inputs)) != 2 or not all(0 <= j < i for j in inputs):
                raise ArchSpecError(f"genotype {cell} node {i} needs two different inputs in [0, {i}), got {inputs}")
            for op, j in pair:
                if op not in DARTS_OPS:
                    raise ArchSpecError(f"genotype {cell} node {i}: unknown op {op!r}; ops: {', '.join(DARTS_OPS)}")
                choices[edge_label(cell, i, int(j))] = str(op)
            choices[node_label(cell, i)] = tuple(sorted(inputs))
        concat = [int(c) for c in concat]
        if not concat or concat != list(range(n + 2 - len(concat), n + 2)):
            raise ArchSpecError(
                f"genotype {cell}_concat must be the last states (e.g. {list(range(2, n + 2))}), got {concat}"
            )
    kwargs = {"steps": steps, "multiplier": len(list(g.normal_concat)), **space_kwargs}
    if len(list(g.reduce_concat)) != kwargs["multiplier"]:
        raise ArchSpecError("normal_concat and reduce_concat must have the same length")
    return ArchSpec("darts", choices, kwargs)


def genotype_from_str(text: str) -> Genotype:
    """Parse a genotype as the papers' code prints it, e.g. ``Genotype(normal=[('sep_conv_3x3', 0), ...],
    normal_concat=range(2, 6), reduce=[...], reduce_concat=[2, 3, 4, 5])``, without evaluating code.

    Raises:
        ArchSpecError: if the text is not such a call with literal lists (or ``range(a, b)`` concats).
    """
    hint = "expected Genotype(normal=[(op, input), ...], normal_concat=..., reduce=[...], reduce_concat=...)"
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ArchSpecError(f"not a genotype ({e.msg}); {hint}") from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Genotype"):
        raise ArchSpecError(f"not a genotype: {hint}")
    if call.args or {k.arg for k in call.keywords} != set(Genotype._fields):
        raise ArchSpecError(f"a genotype needs exactly the keywords {', '.join(Genotype._fields)}; {hint}")
    fields: dict[str, Any] = {}
    for kw in call.keywords:
        node = kw.value
        try:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
                fields[str(kw.arg)] = list(range(*(ast.literal_eval(a) for a in node.args)))
            else:
                fields[str(kw.arg)] = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError):
            raise ArchSpecError(f"genotype field {kw.arg!r} must be a literal list or range(a, b); {hint}") from None
    for cell in ("normal", "reduce"):
        edges = fields[cell]
        if not isinstance(edges, (list, tuple)) or not all(
            isinstance(e, (list, tuple)) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], int)
            for e in edges
        ):
            raise ArchSpecError(f"genotype field {cell!r} must list (op name, input index) pairs; {hint}")
        fields[cell] = [(str(op), int(j)) for op, j in edges]
    return Genotype(**fields)


# Published genotypes (DARTS: Liu et al. 2019, quark0/darts cnn/genotypes.py; PC-DARTS: Xu et al. 2020,
# yuhuixu1993/PC-DARTS genotypes.py), in the papers' order.
DARTS_V1 = Genotype(
    normal=[("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
            ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)],
    reduce_concat=[2, 3, 4, 5],
)
DARTS_V2 = Genotype(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=[2, 3, 4, 5],
)
PC_DARTS = Genotype(
    normal=[("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 0), ("dil_conv_3x3", 1),
            ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("avg_pool_3x3", 0), ("dil_conv_3x3", 1)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("sep_conv_5x5", 1), ("max_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 2),
            ("sep_conv_3x3", 0), ("sep_conv_3x3", 3), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2)],
    reduce_concat=[2, 3, 4, 5],
)
PC_DARTS_IMAGENET = Genotype(
    normal=[("skip_connect", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 0), ("skip_connect", 1),
            ("sep_conv_3x3", 1), ("sep_conv_3x3", 3), ("sep_conv_3x3", 1), ("dil_conv_5x5", 4)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("sep_conv_3x3", 0), ("skip_connect", 1), ("dil_conv_5x5", 2), ("max_pool_3x3", 1),
            ("sep_conv_3x3", 2), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 3)],
    reduce_concat=[2, 3, 4, 5],
)
# P-DARTS (Chen et al. 2019, chenxin061/pdarts genotypes.py).
PDARTS = Genotype(
    normal=[("skip_connect", 0), ("dil_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("sep_conv_3x3", 3), ("sep_conv_3x3", 0), ("dil_conv_5x5", 4)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("avg_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("dil_conv_5x5", 2),
            ("max_pool_3x3", 0), ("dil_conv_3x3", 1), ("dil_conv_3x3", 1), ("dil_conv_5x5", 3)],
    reduce_concat=[2, 3, 4, 5],
)

#: Published genotypes by ARCHS name.
GENOTYPES: dict[str, Genotype] = {
    "darts_v1": DARTS_V1,
    "darts_v2": DARTS_V2,
    "pc_darts": PC_DARTS,
    "pc_darts_imagenet": PC_DARTS_IMAGENET,
    "pdarts": PDARTS,
}


def _register() -> None:
    for name, g in GENOTYPES.items():
        kwargs = IMAGENET_EVAL_KWARGS if name.endswith("imagenet") else CIFAR_EVAL_KWARGS
        ARCHS.register(name, arch_from_genotype(g, **kwargs))


_register()
