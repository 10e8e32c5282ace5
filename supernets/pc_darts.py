"""PC-DARTS (Xu et al., 2020): partial channel connections and edge normalisation."""

from __future__ import annotations

import torch
from torch import nn

from hwnas.api import Choice, InputChoice
from hwnas.supernets._base import Mix, RelaxedChoice, Supernet, WeightedInputs, _Decisions, _param_keys
from hwnas.supernets._shared_relu import share_leading_relus
from hwnas.supernets.darts import build_candidates, mix


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave ``groups`` channel groups (ShuffleNet), so the next partial edge sees other channels."""
    if groups <= 1:
        return x
    n, c = x.shape[:2]
    return x.reshape(n, groups, c // groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)


def shuffled_cat(y: torch.Tensor, rest: torch.Tensor, groups: int) -> torch.Tensor:
    """``channel_shuffle(torch.cat([y, rest], 1), groups)`` written in one copy instead of two, in ``y``'s
    memory format; ``y`` is the first of ``groups`` equal channel groups and ``rest`` the others.

    Example:
        >>> y, rest = torch.randn(2, 2, 3, 3), torch.randn(2, 6, 3, 3)
        >>> torch.equal(shuffled_cat(y, rest, 4), channel_shuffle(torch.cat([y, rest], 1), 4))
        True
    """
    n, part, h, w = y.shape
    # NHWC only if y is not also NCHW (one channel is both), so a NCHW network never turns NHWC here
    if y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous():
        first = y.permute(0, 2, 3, 1).unsqueeze(-1)
        others = rest.permute(0, 2, 3, 1).reshape(n, h, w, groups - 1, part).transpose(3, 4)
        return torch.cat([first, others], dim=-1).reshape(n, h, w, part * groups).permute(0, 3, 1, 2)
    others = rest.reshape(n, groups - 1, part, h, w).transpose(1, 2)
    return torch.cat([y.unsqueeze(2), others], dim=2).reshape(n, part * groups, h, w)


class PartialMixedOp(RelaxedChoice):
    """Mixes candidates on ``1/K`` of the channels; the rest bypass the edge (max-pooled at stride > 1).

    The candidates are built at ``C/K`` channels. Output: ``shuffle(cat[Σ w_i op_i(x[:C/K]), bypass(x[C/K:])], K)``.
    Where partial channels do not apply — ``c_in != c_out`` (the bypass could not carry the input)
    or ``C`` not divisible by ``K`` — the op falls back to ``K = 1``, i.e. a full DARTS mixed op,
    and ``self.k`` says so.
    """

    def __init__(self, choice: Choice, decisions: _Decisions, *, k: int, shared_relu: bool = True) -> None:
        super().__init__(choice, decisions)
        c = choice.c_in
        self.k = int(k) if k > 1 and choice.c_in == choice.c_out and c % k == 0 else 1
        width = c // self.k if self.k > 1 else None
        self.ops, self._is_zero = build_candidates(choice, c_in=width, c_out=width)
        self._relus = share_leading_relus(self.ops) if shared_relu else None
        # The paper bypasses reduction edges with a 2x2 max pool; ceil_mode matches the ceil(H/s) size of
        # padded stride-s candidates on odd inputs too (identical to the paper's on even sizes).
        s = choice.stride
        self.bypass = nn.MaxPool2d(s, s, ceil_mode=True) if self.k > 1 and s > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.decision()
        if self.k == 1:
            return mix(self.ops, self._is_zero, w, x, c_out=self.c_out, stride=self.stride, relus=self._relus)
        part = x.shape[1] // self.k
        # One dense copy of the slice, in the input's layout, instead of one inside every candidate's kernel
        nhwc = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        xp = x[:, :part].contiguous(memory_format=torch.channels_last if nhwc else torch.contiguous_format)
        y = mix(self.ops, self._is_zero, w, xp, c_out=part, stride=self.stride, relus=self._relus)
        rest = self.bypass(x[:, part:])
        return shuffled_cat(y, rest, self.k)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", k={self.k}"


class PCDartsSupernet(Supernet):
    """PC-DARTS: partial-channel mixed ops plus edge normalisation β on every InputChoice.

    Each InputChoice output becomes ``Σ_j softmax(β)_j · h_j``; selection keeps the inputs with the
    largest ``softmax(β)_j · max_nonzero softmax(α_edge_j)`` (via :func:`hwnas.api.magnitude_arch`).

    Args:
        space: A module holding Choices; relaxed in place and owned by the supernet as ``self.space``.
        k: Channel fraction 1/K sent through the candidates (paper: 4). Choices with ``c_in != c_out``
            or a width not divisible by K use K = 1 (a full DARTS mixed op).
        alpha_init_std: α and β start as ``alpha_init_std * randn`` (paper: 1e-3).
        shared_relu: One ReLU per edge for the candidates that open with one (see :class:`DartsSupernet`).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> conv = lambda ci, co, s: nn.Conv2d(ci, co, 3, s, 1)
        >>> net = PCDartsSupernet(nn.Sequential(Choice({"a": conv, "b": conv}, label="op", c_in=8, c_out=8)))
        >>> net.space[0].k, net(torch.zeros(2, 8, 4, 4)).shape
        (4, torch.Size([2, 8, 4, 4]))
    """

    strategy = "pc_darts"

    def __init__(self, space: nn.Module, *, k: int = 4, alpha_init_std: float = 1e-3, shared_relu: bool = True) -> None:
        if int(k) < 1:
            raise ValueError(f"PC-DARTS needs k >= 1, got {k}")
        self._k = int(k)
        self._shared_relu = bool(shared_relu)
        super().__init__(space, alpha_init_std=alpha_init_std)

    def _init_strategy(self, alpha_init_std: float) -> None:
        self._beta_keys = _param_keys(list(self._input_sizes))
        self.beta = nn.ParameterDict(
            {
                self._beta_keys[label]: nn.Parameter(alpha_init_std * torch.randn(n))
                for label, n in self._input_sizes.items()
            }
        )

    def _relax_choice(self, choice: Choice) -> nn.Module:
        return PartialMixedOp(choice, self._decisions, k=self._k, shared_relu=self._shared_relu)

    def _relax_input(self, ic: InputChoice) -> nn.Module:
        return WeightedInputs(ic, self._decisions)

    def _input_mix(self, label: str) -> Mix:
        """softmax(β) over the allowed inputs, perturbed-away inputs zeroed without renormalising."""
        w = self._drop_perturbed(self._masked_softmax(self.beta[self._beta_keys[label]], label), label)
        return Mix(w, self.active(label))

    def beta_of(self, label: str) -> nn.Parameter:
        """The edge-normalisation parameter β of InputChoice ``label``."""
        try:
            return self.beta[self._beta_keys[label]]
        except KeyError:
            raise KeyError(f"no InputChoice label {label!r}; labels: {', '.join(self._beta_keys)}") from None

    def input_weights(self) -> dict[str, torch.Tensor]:
        """Per InputChoice label, softmax(β) over its allowed inputs (0 on masked ones)."""
        return {label: self._masked_softmax(self.beta[key], label) for label, key in self._beta_keys.items()}
