"""What a learned predictor sees of a search space: its decisions, and the encoding of archs or probabilities.

A :class:`SpaceSchema` lists the space's decision labels and each label's candidates, in a fixed
order. It encodes an ArchSpec as the concatenation of one one-hot vector per label, and a mapping
``{label: probabilities}`` (a supernet's softmax(α)) as the same concatenation of the probability
vectors, so one predictor prices both, differentiably in the probabilities.

The built-in schemas ``nb201`` and ``fbnet`` also read and write the benchmarks' own strings
(``|nor_conv_3x3~0|+|...|`` and ``k5_e6-skip-...``), with the labels the built-in spaces use
(``"1<-0"`` .. ``"3<-2"`` and ``l0`` .. ``l21``). Any other space gets its schema from its
``Choice`` and ``InputChoice`` blocks (an InputChoice is encoded as a multi-hot over its inputs).

Example:
    >>> from hwnas.latency_models.predictor.schema import get_schema
    >>> s = get_schema("nb201")
    >>> arch = s.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|")
    >>> s.encode([arch]).shape
    torch.Size([1, 30])
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hwnas.api import ArchSpec, ArchSpecError, InputChoice, UserError, collect_decisions, space_name

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_LABELS = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
FBNET_OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
FBNET_LABELS = tuple(f"l{i}" for i in range(22))

ArchLike = ArchSpec | str
Probs = Mapping[str, torch.Tensor]


class PredictorError(UserError, ValueError):
    """Bad input to a predictor (unknown arch string, wrong labels, bad latencies, unknown device)."""


@dataclass(frozen=True)
class SpaceSchema:
    """Decision labels of a space and the candidates of each, in encoding order.

    Args:
        space: The space name recorded in ArchSpecs (``nb201``, ``fbnet`` or a user's).
        labels: Decision labels, in encoding order.
        candidates: Per label, its candidate names (for an InputChoice: ``"0"``, ``"1"``, ...).
        multi: Per label, how many candidates are chosen at once (1 for a Choice).
    """

    space: str
    labels: tuple[str, ...]
    candidates: tuple[tuple[str, ...], ...]
    multi: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.candidates):
            raise ValueError("labels and candidates must have equal length")
        if not self.multi:
            object.__setattr__(self, "multi", tuple(1 for _ in self.labels))

    @property
    def dim(self) -> int:
        """Length of the encoding vector."""
        return sum(len(c) for c in self.candidates)

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space, "labels": list(self.labels), "candidates": [list(c) for c in self.candidates],
                "multi": list(self.multi)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SpaceSchema:
        return cls(str(d["space"]), tuple(d["labels"]), tuple(tuple(c) for c in d["candidates"]),
                   tuple(int(m) for m in d.get("multi", ())))

    # ---- archs <-> encodings -------------------------------------------------------------------------------
    def encode(self, archs: ArchLike | Sequence[ArchLike] | Probs) -> torch.Tensor:
        """Encode ArchSpecs / arch strings (one-hot) or ``{label: probabilities}`` (soft) as ``[B, dim]``.

        Probabilities may be ``[n_candidates]`` (one distribution, B = 1) or ``[B, n_candidates]``;
        the result keeps their autograd graph, dtype and device.
        """
        if isinstance(archs, Mapping):
            return self._encode_probs(archs)
        if isinstance(archs, (ArchSpec, str)):
            archs = [archs]
        rows = [self._one_hot(a if isinstance(a, ArchSpec) else self.parse(a)) for a in archs]
        if not rows:
            return torch.zeros(0, self.dim)
        return torch.stack(rows)

    def _one_hot(self, arch: ArchSpec) -> torch.Tensor:
        if arch.space != self.space:
            raise PredictorError(f"this predictor is for space {self.space!r}, got an ArchSpec of space {arch.space!r}")
        v = torch.zeros(self.dim)
        off = 0
        for label, cands, m in zip(self.labels, self.candidates, self.multi):
            if label not in arch.choices:
                # Edges that no kept input uses are dropped from canonical ArchSpecs; they cost nothing.
                off += len(cands)
                continue
            val = arch.choices[label]
            picks = [str(i) for i in val] if isinstance(val, tuple) else [val]
            for p in picks:
                if p not in cands:
                    raise PredictorError(
                        f"choice {label!r} = {val!r} is not a candidate; candidates: {', '.join(cands)}"
                    )
                v[off + cands.index(p)] = 1.0
            off += len(cands)
        unknown = sorted(set(arch.choices) - set(self.labels))
        if unknown:
            raise PredictorError(
                f"ArchSpec has label(s) {unknown[:5]} unknown to the {self.space!r} predictor; "
                f"labels: {', '.join(self.labels)}"
            )
        return v

    def _encode_probs(self, probs: Probs) -> torch.Tensor:
        missing = [lb for lb in self.labels if lb not in probs]
        if missing:
            raise PredictorError(f"no probabilities for label(s) {missing[:5]}; the predictor needs all of "
                                 f"{', '.join(self.labels)}")
        parts = []
        batch = None
        for label, cands in zip(self.labels, self.candidates):
            p = probs[label]
            if not isinstance(p, torch.Tensor):
                p = torch.as_tensor(p, dtype=torch.float32)
            if p.dim() == 1:
                p = p.unsqueeze(0)
            if p.dim() != 2 or p.shape[-1] != len(cands):
                raise PredictorError(f"probabilities of {label!r} must have {len(cands)} entries (one per candidate: "
                                     f"{', '.join(cands)}), got shape {tuple(p.shape)}")
            batch = p.shape[0] if batch is None else batch
            parts.append(p)
        b = max(q.shape[0] for q in parts)
        return torch.cat([q.expand(b, -1) for q in parts], dim=1)

    # ---- strings -------------------------------------------------------------------------------------------
    def parse(self, text: str) -> ArchSpec:
        """An ArchSpec from the space's string form (NB201 arch string, FBNet op string) or ArchSpec JSON."""
        if not isinstance(text, str):
            raise PredictorError(f"an architecture must be a string or an ArchSpec, got {type(text).__name__}")
        t = text.strip()
        if t.startswith("{"):
            try:
                return ArchSpec.from_json(t)
            except ArchSpecError as e:
                raise PredictorError(f"bad ArchSpec JSON: {e}") from None
        if self.space == "nb201":
            return _parse_nb201(t)
        if self.space == "fbnet":
            return _parse_fbnet(t)
        raise PredictorError(f"space {self.space!r} has no string form here; give ArchSpec JSON objects instead")

    def format(self, arch: ArchSpec) -> str:
        """The space's string form of ``arch`` (ArchSpec JSON for spaces without one)."""
        if self.space == "nb201" and arch.space == "nb201":
            parts, k = [], 0
            for node in range(1, 4):
                parts.append("|" + "|".join(f"{arch.choices.get(NB201_LABELS[k + j], 'none')}~{j}"
                                            for j in range(node)) + "|")
                k += node
            return "+".join(parts)
        if self.space == "fbnet" and arch.space == "fbnet":
            return "-".join(str(arch.choices[lb]) for lb in FBNET_LABELS)
        return json.dumps(arch.to_dict(), separators=(",", ":"))


def _parse_nb201(s: str) -> ArchSpec:
    hint = "expected e.g. '|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|'"
    nodes = s.split("+")
    if len(nodes) != 3:
        raise PredictorError(f"bad NB201 arch string {s!r}: {hint}")
    choices: dict[str, str] = {}
    k = 0
    for i, node in enumerate(nodes, start=1):
        toks = node.strip("|").split("|")
        if len(toks) != i or not (node.startswith("|") and node.endswith("|")):
            raise PredictorError(f"bad NB201 arch string {s!r}: node {i} needs {i} edge(s); {hint}")
        for j, tok in enumerate(toks):
            op, _, src = tok.partition("~")
            if src != str(j) or op not in NB201_OPS:
                raise PredictorError(f"bad NB201 arch string {s!r}: edge {tok!r}; ops: {', '.join(NB201_OPS)}")
            choices[NB201_LABELS[k]] = op
            k += 1
    return ArchSpec("nb201", choices)


def _parse_fbnet(s: str) -> ArchSpec:
    ops = s.split("-")
    if len(ops) != len(FBNET_LABELS) or any(op not in FBNET_OPS for op in ops):
        bad = [op for op in ops if op not in FBNET_OPS][:3]
        raise PredictorError(
            f"bad FBNet op string {s[:80]!r}: need {len(FBNET_LABELS)} ops joined by '-' (got {len(ops)}"
            f"{', unknown ' + ', '.join(map(repr, bad)) if bad else ''}); ops: {', '.join(FBNET_OPS)}"
        )
    return ArchSpec("fbnet", dict(zip(FBNET_LABELS, ops)))


#: The built-in schemas, by space name.
SCHEMAS: dict[str, SpaceSchema] = {
    "nb201": SpaceSchema("nb201", NB201_LABELS, tuple(NB201_OPS for _ in NB201_LABELS)),
    "fbnet": SpaceSchema("fbnet", FBNET_LABELS, tuple(FBNET_OPS for _ in FBNET_LABELS)),
}


def schema_from_module(space: nn.Module) -> SpaceSchema:
    """The schema of any space ``nn.Module``: its Choices (candidates) and InputChoices (inputs, multi-hot)."""
    labels, cands, multi = [], [], []
    for label, d in collect_decisions(space).items():
        labels.append(label)
        if isinstance(d, InputChoice):
            cands.append(tuple(str(i) for i in range(d.n_candidates)))
            multi.append(d.n_chosen)
        else:
            cands.append(tuple(d))
            multi.append(1)
    if not labels:
        raise PredictorError(f"space {space_name(space)!r} has no Choice or InputChoice to predict from")
    return SpaceSchema(space_name(space), tuple(labels), tuple(cands), tuple(multi))


def get_schema(space: str | nn.Module | SpaceSchema) -> SpaceSchema:
    """The schema of a built-in space name, a space module, or a schema itself."""
    if isinstance(space, SpaceSchema):
        return space
    if isinstance(space, nn.Module):
        name = space_name(space)
        sch = schema_from_module(space)
        builtin = SCHEMAS.get(name)
        return builtin if builtin is not None and set(builtin.labels) == set(sch.labels) else sch
    if isinstance(space, str):
        if space in SCHEMAS:
            return SCHEMAS[space]
        raise PredictorError(f"no built-in predictor schema for space {space!r}; built-in: {', '.join(SCHEMAS)}. "
                             "Pass the space module itself to predict for your own space")
    raise PredictorError(f"expected a space name, a space module or a SpaceSchema, got {type(space).__name__}")
